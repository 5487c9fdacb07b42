/*
 * fuzz_auth.c: libFuzzer harness for the Authorization header parsers auth_parse_basic and
 * auth_parse_bearer.  The input, cut at its first NUL, is the header; the results' invariants are checked.
 * Build: make build/fuzz/fuzz_auth.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header, *user = NULL, *pass = NULL, *token;
	size_t hlen;
	bool basic;

	if ((header = malloc(size + 1)) == NULL)
		return (0);
	memcpy(header, data, size);
	header[size] = '\0';
	hlen = strlen(header);

	if ((basic = auth_parse_basic(header, &user, &pass) == 0)) {
		if (user == NULL || pass == NULL || strlen(user) + strlen(pass) >= hlen)
			abort();
	} else if (user != NULL || pass != NULL)
		abort();
	free(user);
	str_secure_free(pass);

	if ((token = auth_parse_bearer(header)) != NULL) {
		/* The token is the tail of the header, and a header is never both Basic and Bearer. */
		if (token[0] == '\0' || strlen(token) > 16384 || strlen(token) >= hlen ||
		    strcmp(header + hlen - strlen(token), token) != 0 || basic)
			abort();
		str_secure_free(token);
	}
	free(header);
	return (0);
}
