/*
 * fuzz_form.c: libFuzzer harness for form_parse (application/x-www-form-urlencoded bodies and query
 * strings).  The input is parsed as a body, then the part after its first '?' (up to a '#') as the query
 * string of a request target, as server.c would; on success every name is looked up with form_get and
 * form_count and the invariants checked.  Build: make build/fuzz/fuzz_form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check(s, len): parse ${len} bytes of ${s}; abort when a result breaks the form_parse contract. */
static void
check(const char *s, size_t len)
{
	struct form f;
	size_t i, j, n;

	if (form_parse(s, len, &f) == -1) {
		if (f.pairs != NULL || f.n != 0)
			abort();
		return;
	}
	if (f.n > HTTP_MAX_PAIRS || (f.n == 0) != (f.pairs == NULL))
		abort();
	for (i = 0; i < f.n; i++) {
		if (f.pairs[i].name == NULL || f.pairs[i].value == NULL)
			abort();
		/* Decoding never lengthens, and a NUL never survives it. */
		if (strlen(f.pairs[i].name) + strlen(f.pairs[i].value) >= len + 1)
			abort();
		n = 0;
		for (j = 0; j < f.n; j++)
			n += strcmp(f.pairs[i].name, f.pairs[j].name) == 0;
		if (form_count(&f, f.pairs[i].name) != n)
			abort();
		for (j = 0; strcmp(f.pairs[j].name, f.pairs[i].name) != 0; j++)
			;
		if (form_get(&f, f.pairs[i].name) != f.pairs[j].value)
			abort();
	}
	form_release(&f);
	if (f.pairs != NULL || f.n != 0)
		abort();
	form_release(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *q, *hash;
	char *copy;

	/* An exact-sized copy, so any read past ${size} is caught. */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(copy, s, size);
	check(copy, size);
	if ((q = memchr(copy, '?', size)) != NULL) {
		q++;
		if ((hash = memchr(q, '#', size - (size_t)(q - copy))) == NULL)
			hash = copy + size;
		check(q, (size_t)(hash - q));
	}
	free(copy);
	return (0);
}
