/*
 * fuzz_http_response.c: libFuzzer harness for the HTTP/1.1 response parser of src/httpc/: httpc_parse_response,
 * and the resumable parser under it that httpc_request feeds as TLS records arrive.  The input is one response
 * as a server would send it, then the end of the connection.  Checked:
 *  - the contract: on success a status of 200..999 (interim responses are skipped), at most HTTPC_MAX_HEADERS
 *    headers whose names are tokens and whose values hold no CR, LF or NUL, a NUL-terminated body of at most
 *    the limit and of the input's size; on failure no response and a sentence;
 *  - the limit: with max_body 64 the parser accepts exactly what it accepts with the default limit when the
 *    body fits in 64 bytes (inputs under 16 KiB, so the framing allowance, which grows with the limit, is never
 *    what decides), and refuses the rest;
 *  - resumption: fed in pieces of 1, 2, 3, ... bytes, the parser gives the same answer as fed all at once.
 * Build: make fuzz-bins (build/fuzz/bin/fuzz_http_response).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/httpc/httpc_int.h"
#include "httpc.h"

#define SMALL_MAX 64 /* a body limit that fuzzed bodies often pass */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* token(s): true when ${s} is a non-empty RFC 9110 token. */
static bool
token(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~");

	return (n > 0 && s[n] == '\0');
}

/* check(rc, r, err, size, max): abort when a result of httpc_parse_response breaks its contract. */
static void
check(int rc, const struct httpc_response *r, const char *err, size_t size, size_t max)
{
	size_t i;

	if (rc == -1) {
		if (r != NULL || err[0] == '\0' || memchr(err, '\0', 256) == NULL)
			abort();
		return;
	}
	if (rc != 0 || r == NULL)
		abort();
	if (r->status < 200 || r->status > 999 || r->n_headers > HTTPC_MAX_HEADERS)
		abort();
	if (r->body == NULL || r->body_len > max || r->body_len > size || r->body[r->body_len] != '\0')
		abort();
	for (i = 0; i < r->n_headers; i++) {
		if (r->headers[i].name == NULL || r->headers[i].value == NULL || !token(r->headers[i].name))
			abort();
		if (strpbrk(r->headers[i].value, "\r\n") != NULL || strlen(r->headers[i].value) >= size)
			abort();
		if (httpc_header(r, r->headers[i].name) == NULL)
			abort();
	}
}

/* same(a, b): true when two parsed responses are equal. */
static bool
same(const struct httpc_response *a, const struct httpc_response *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return (a == b);
	if (a->status != b->status || a->n_headers != b->n_headers || a->body_len != b->body_len ||
	    memcmp(a->body, b->body, a->body_len + 1) != 0)
		return (false);
	for (i = 0; i < a->n_headers; i++)
		if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
		    strcmp(a->headers[i].value, b->headers[i].value) != 0)
			return (false);
	return (true);
}

/* pieces(buf, size): the response from feeding ${buf} in growing prefixes, then all of it with the end of data;
 * NULL when the parser fails. */
static struct httpc_response *
pieces(const char *buf, size_t size)
{
	struct httpc_response *r = NULL;
	struct httpc_parser p;
	char err[256];
	size_t len = 0, step = 1;
	int rc = HTTPC_PARSE_MORE;

	httpc_parser_init(&p, 0, false);
	while (len < size && rc == HTTPC_PARSE_MORE) {
		len += step < size - len ? step : size - len;
		step = step % 17 + 1;
		rc = httpc_parser_feed(&p, buf, len, false, err, sizeof(err));
		if (rc == HTTPC_PARSE_MORE && p.pos > len)
			abort();
	}
	if (rc != HTTPC_PARSE_ERROR) {
		rc = httpc_parser_feed(&p, buf, size, true, err, sizeof(err));
		if (rc == HTTPC_PARSE_MORE)
			abort(); /* never with the end of data */
		if (rc == HTTPC_PARSE_DONE && (r = httpc_parser_take(&p)) == NULL)
			abort();
	}
	httpc_parser_release(&p);
	return (r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpc_response *big = NULL, *small = NULL, *fed;
	char err[256], *copy;
	int rc;

	/* An exact-sized copy, so any read past ${size} is caught. */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(copy, data, size);

	memset(err, 0, sizeof(err));
	rc = httpc_parse_response(copy, size, 0, &big, err, sizeof(err));
	check(rc, big, err, size, HTTPC_DEFAULT_MAX_BODY);

	memset(err, 0, sizeof(err));
	rc = httpc_parse_response(copy, size, SMALL_MAX, &small, err, sizeof(err));
	check(rc, small, err, size, SMALL_MAX);
	if (size < HTTPC_MAX_HEADER_BYTES) {
		if (big != NULL && big->body_len <= SMALL_MAX ? !same(big, small) : small != NULL)
			abort();
	} else if (small != NULL && (big == NULL || !same(big, small)))
		abort();

	fed = pieces(copy, size);
	if (!same(big, fed))
		abort();

	httpc_response_free(fed);
	httpc_response_free(small);
	httpc_response_free(big);
	free(copy);
	return (0);
}
