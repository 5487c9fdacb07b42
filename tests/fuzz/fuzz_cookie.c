/*
 * fuzz_cookie.c: libFuzzer harness for cookie_parse.  The input, cut at its first NUL, is a Cookie header;
 * the result's invariants are checked.  Build: make build/fuzz/fuzz_cookie.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;
	char *header;
	size_t i, hlen;
	const char *v;

	if ((header = malloc(size + 1)) == NULL)
		return (0);
	memcpy(header, data, size);
	header[size] = '\0';
	hlen = strlen(header);
	if (cookie_parse(header, &f) == -1) {
		if (f.pairs != NULL || f.n != 0)
			abort();
		goto out;
	}
	if (f.n > HTTP_MAX_PAIRS || (f.n == 0) != (f.pairs == NULL))
		abort();
	for (i = 0; i < f.n; i++) {
		/* Names are non-empty and trimmed; values are substrings of the header. */
		if (f.pairs[i].name[0] == '\0' || f.pairs[i].name[0] == ' ' || f.pairs[i].name[0] == '\t')
			abort();
		if (strchr(f.pairs[i].name, ';') != NULL || strchr(f.pairs[i].name, '=') != NULL ||
		    strchr(f.pairs[i].value, ';') != NULL)
			abort();
		if (strlen(f.pairs[i].name) + strlen(f.pairs[i].value) >= hlen)
			abort();
		if ((v = form_get(&f, f.pairs[i].name)) == NULL || form_count(&f, f.pairs[i].name) == 0)
			abort();
	}
	form_release(&f);
out:
	free(header);
	return (0);
}
