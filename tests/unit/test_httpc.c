/*
 * test_httpc.c: src/httpc/.  The response parser (Content-Length, chunked with extensions and trailers,
 * close-delimited bodies, interim responses, every malformed case, the limits, resumption byte by byte as the
 * client feeds it), the URL and request checks that fail before any network use, the refusal of non-public
 * addresses (checked to happen before connecting), and live exchanges with `openssl s_server` processes started
 * here, on free ports, with certificates made here: success with the right CA, a certificate error without it,
 * a host-name mismatch, a timeout against a server that never answers (which also records the request bytes we
 * sent), a chunked response on a connection the server keeps open.  Parser inputs are copied into
 * exactly-sized heap buffers, so AddressSanitizer catches any read past the end.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/httpc/httpc_int.h"
#include "httpc.h"
#include "test.h"
#include "util.h"

#define SLACK_MS 1500 /* how late a timeout may fire on a loaded machine */
#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" /* a chunked head */
#define LIT(s) s, sizeof(s) - 1 /* a string literal and its length, NULs inside included */

static char err[512];
static struct httpc_response *resp;

/* parse_n(s, len, max): httpc_parse_response over an exact heap copy of ${len} bytes of ${s}, into resp and
 * err. */
static int
parse_n(const char *s, size_t len, size_t max)
{
	char *copy;
	int ret;

	httpc_response_free(resp);
	resp = NULL;
	err[0] = '\0';
	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	memcpy(copy, s, len);
	ret = httpc_parse_response(copy, len, max, &resp, err, sizeof(err));
	free(copy);
	return (ret);
}

/* parse(s): parse the string ${s} with the default body limit. */
static int
parse(const char *s)
{
	return (parse_n(s, strlen(s), 0));
}

/* rejects_n(s, len, max, why): true when parsing fails, leaves no response and says ${why}. */
static bool
rejects_n(const char *s, size_t len, size_t max, const char *why)
{
	if (parse_n(s, len, max) != -1 || resp != NULL)
		return (false);
	if (strstr(err, why) == NULL) {
		fprintf(stderr, "  error \"%s\", expected \"%s\"\n", err, why);
		return (false);
	}
	return (true);
}

/* rejects(s, why): the same for the string ${s} with the default body limit. */
static bool
rejects(const char *s, const char *why)
{
	return (rejects_n(s, strlen(s), 0, why));
}

/* body_is(s): the parsed response has the body ${s}, NUL-terminated. */
static bool
body_is(const char *s)
{
	return (resp != NULL && resp->body != NULL && resp->body_len == strlen(s) && strcmp(resp->body, s) == 0);
}

static void
test_content_length(void)
{
	static const char binary[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b";

	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}") == 0);
	CHECK(resp != NULL && resp->status == 200 && resp->n_headers == 2);
	CHECK(body_is("{}"));
	CHECK_STR(httpc_header(resp, "content-type"), "application/json");
	CHECK_STR(httpc_header(resp, "CONTENT-LENGTH"), "2");
	CHECK_STR(resp->headers[0].name, "Content-Type");
	CHECK(httpc_header(resp, "Location") == NULL);
	CHECK(httpc_header(NULL, "Location") == NULL);

	/* Zero, leading zeros, a repeated value, a list of one value: all one length. */
	CHECK(parse("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") == 0 && body_is(""));
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabc") == 0 && body_is("abc"));
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc") == 0 && body_is("abc"));
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3 , 3,3\r\n\r\nabc") == 0 && body_is("abc"));
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length:3\r\n\r\nabc") == 0 && body_is("abc"));

	/* Binary bodies keep their NULs; body_len counts them. */
	CHECK(parse_n(binary, sizeof(binary) - 1, 0) == 0);
	CHECK(resp != NULL && resp->body_len == 3 && memcmp(resp->body, "a\0b", 4) == 0);

	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", "conflicting"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabc", "conflicting"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nabc", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 3,\r\n\r\nabc", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "invalid Content-Length"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", "larger than"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "truncated: 3 of 5 bytes"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", "1 bytes of extra data"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 200 OK\r\n\r\n", "extra data"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_chunked(void)
{
	/* RFC 9112 §7.1, with extensions (token and quoted values), upper-case hex, leading zeros, trailers. */
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
	            "4\r\nWiki\r\n"
	            "5;name=value\r\npedia\r\n"
	            "00E ; a ; b = \"q\\\"x;y\" ;c=d\r\n in\r\n\r\nchunks.\r\n"
	            "0;last\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n") == 0);
	CHECK(resp != NULL && resp->status == 200 && body_is("Wikipedia in\r\n\r\nchunks."));
	/* RFC 9110 §6.5.1: trailers are not headers. */
	CHECK(resp != NULL && resp->n_headers == 2 && httpc_header(resp, "Expires") == NULL);
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
	            "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n") == 0);
	CHECK(body_is("0123456789abcdefghij"));
	/* Empty list elements are ignored (RFC 9110 §5.6.1); bare LF line ends are accepted (RFC 9112 §2.2). */
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n") == 0 &&
	    body_is("abc"));
	CHECK(parse("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n") == 0 && body_is("abc"));
	CHECK(parse(CHUNKED "0\r\n\r\n") == 0 && body_is(""));

	/* Malformed chunk sizes. */
	CHECK(rejects(CHUNKED "g\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "0x3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED " 3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "-3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3g\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3 3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3\rx\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	/* Malformed extensions. */
	CHECK(rejects(CHUNKED "3;\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;=x\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;a=\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;a=\"x\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;a=\"x\\\"\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;a b\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects(CHUNKED "3;a=b=c\r\nabc\r\n0\r\n\r\n", "invalid chunk size"));
	CHECK(rejects_n(LIT(CHUNKED "3;a=\"\1\"\r\nabc\r\n0\r\n\r\n"), 0, "invalid chunk size"));
	/* Data not followed by CRLF, or longer than its size. */
	CHECK(rejects(CHUNKED "3\r\nabcd\r\n0\r\n\r\n", "not followed by CRLF"));
	CHECK(rejects(CHUNKED "3\r\nabc\rX0\r\n\r\n", "not followed by CRLF"));
	/* Trailers: field syntax, no obs-fold, then the blank line. */
	CHECK(rejects(CHUNKED "0\r\nbad trailer\r\n\r\n", "malformed trailer"));
	CHECK(rejects(CHUNKED "0\r\nA: b\r\n c\r\n\r\n", "malformed trailer"));
	CHECK(rejects(CHUNKED "0\r\nA: b\r\n", "truncated"));
	CHECK(rejects(CHUNKED "0\r\n", "truncated"));
	CHECK(rejects(CHUNKED "3\r\nabc\r\n", "truncated"));
	CHECK(rejects(CHUNKED "3\r\nab", "truncated"));
	CHECK(rejects(CHUNKED "3\r\nabc\r", "truncated"));
	CHECK(rejects(CHUNKED "3", "truncated"));
	CHECK(rejects(CHUNKED "0\r\n\r\nX", "extra data"));
	/* RFC 9112 §6.1 and §6.3: faulty framing. */
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    "both Transfer-Encoding and Content-Length"));
	CHECK(rejects("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.0"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "unsupported"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "unsupported"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    "unsupported"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", "unsupported"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nabc", "unsupported"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\nabc", "unsupported"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_close_delimited(void)
{
	CHECK(parse("HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<HTML>\r\n</HTML>\r\n") == 0);
	CHECK(resp != NULL && resp->status == 200 && body_is("<HTML>\r\n</HTML>\r\n"));
	CHECK(parse("HTTP/1.1 500 Internal Server Error\r\n\r\n") == 0 && resp->status == 500 && body_is(""));
	CHECK(parse_n(LIT("HTTP/1.1 200 OK\r\n\r\n0123456789"), 10) == 0 && body_is("0123456789"));
	CHECK(rejects_n(LIT("HTTP/1.1 200 OK\r\n\r\n0123456789X"), 10, "larger than 10 bytes"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_interim(void)
{
	/* RFC 9110 §15.2: 100 and 103 skipped, their fields dropped. */
	CHECK(parse("HTTP/1.1 100 Continue\r\n\r\n"
	            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
	            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx") == 0);
	CHECK(resp != NULL && resp->status == 200 && resp->n_headers == 1 && httpc_header(resp, "Link") == NULL);
	CHECK(body_is("x"));
	/* An interim response's framing fields mean nothing. */
	CHECK(parse("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n") == 0 &&
	    resp->status == 204);
	CHECK(rejects("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "101"));
	CHECK(rejects("HTTP/1.1 100 Continue\r\n\r\n", "before the end of the response headers"));
	CHECK(rejects("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", "before the end of the response headers"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_no_body(void)
{
	/* RFC 9112 §6.3 rule 1: whatever the fields say. */
	CHECK(
	    parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n") == 0 && resp->status == 204 && body_is(""));
	CHECK(parse("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n") == 0 && resp->status == 304 &&
	    body_is(""));
	CHECK(rejects("HTTP/1.1 204 No Content\r\n\r\nbody", "extra data"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_status_line(void)
{
	CHECK(parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == 0 && resp->status == 200);
	CHECK(parse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n") == 0 && resp->status == 404);
	CHECK(
	    parse("HTTP/1.0 999 Whatever you say\t(really)\r\nContent-Length: 0\r\n\r\n") == 0 && resp->status == 999);
	CHECK(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 599 \xc3\xa9t\xc3\xa9\r\n\r\n") == 0 && resp->status == 599);

	CHECK(rejects("", "empty response"));
	CHECK(rejects("HTTP/1.1 200 OK", "before the end of the response headers"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\r\n", "before the end of the response headers"));
	CHECK(rejects("HTTP/1.2 200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/2 200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("http/1.1 200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 20 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 099 Low\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 2x0 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1  200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 200OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1\t200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("\r\nHTTP/1.1 200 OK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 200 O\x01K\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 200 O\x7fK\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\r\n\r\n", "malformed status line"));
	CHECK(rejects("HTTP/1.1 200 O\rK\r\n\r\n", "malformed status line"));
	CHECK(rejects("ICY 200 OK\r\n\r\n", "malformed status line"));
	httpc_response_free(resp);
	resp = NULL;
}

static void
test_header_syntax(void)
{
	CHECK(parse("HTTP/1.1 200 OK\r\nX-Pad: \t value with  spaces \t \r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n"
	            "!#$%&'*+-.^_`|~09azAZ: tchars\r\nContent-Length: 0\r\n\r\n") == 0);
	CHECK_STR(httpc_header(resp, "x-pad"), "value with  spaces");
	CHECK_STR(httpc_header(resp, "X-Empty"), "");
	CHECK_STR(httpc_header(resp, "X-Obs"), "caf\xc3\xa9");
	CHECK_STR(httpc_header(resp, "!#$%&'*+-.^_`|~09azaz"), "tchars");
	/* The first of a repeated field. */
	CHECK(parse("HTTP/1.1 200 OK\r\nLink: <a>\r\nLink: <b>\r\n\r\n") == 0 && resp->n_headers == 2);
	CHECK_STR(httpc_header(resp, "link"), "<a>");

	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "obsolete line folding"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", "obsolete line folding"));
	CHECK(rejects("HTTP/1.1 200 OK\r\n A: b\r\n\r\n", "obsolete line folding"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\n: b\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n", "malformed header line"));
	CHECK(rejects("HTTP/1.1 200 OK\r\nA: b\x1b[0m\r\n\r\n", "malformed header line"));
	CHECK(rejects_n(LIT("HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n"), 0, "malformed header line"));
	CHECK(rejects_n(LIT("HTTP/1.1 200 OK\r\nA\0: b\r\n\r\n"), 0, "malformed header line"));
	httpc_response_free(resp);
	resp = NULL;
}

/* head_of(b, n_fields, pad): a status line and ${n_fields} fields, the last padded with ${pad} bytes. */
static void
head_of(struct buf *b, size_t n_fields, size_t pad)
{
	size_t i;

	buf_init(b);
	buf_puts(b, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < n_fields; i++)
		buf_printf(b, "X-%zu: v\r\n", i);
	buf_puts(b, "X-Pad: ");
	for (i = 0; i < pad; i++)
		buf_puts(b, "p");
	buf_puts(b, "\r\n\r\n");
}

static void
test_limits(void)
{
	struct buf b;
	size_t i, pad;

	/* HTTPC_MAX_HEADERS lines, the padding one included. */
	head_of(&b, HTTPC_MAX_HEADERS - 1, 1);
	CHECK(parse_n(b.data, b.len, 0) == 0 && resp->n_headers == HTTPC_MAX_HEADERS);
	buf_release(&b);
	head_of(&b, HTTPC_MAX_HEADERS, 1);
	CHECK(rejects_n(b.data, b.len, 0, "more than 64 header lines"));
	buf_release(&b);

	/* HTTPC_MAX_HEADER_BYTES exactly, then one more. */
	head_of(&b, 0, 0);
	pad = HTTPC_MAX_HEADER_BYTES - b.len;
	buf_release(&b);
	head_of(&b, 0, pad);
	CHECK(b.len == HTTPC_MAX_HEADER_BYTES && parse_n(b.data, b.len, 0) == 0);
	buf_release(&b);
	head_of(&b, 0, pad + 1);
	CHECK(rejects_n(b.data, b.len, 0, "response headers longer than 16384 bytes"));
	buf_release(&b);
	/* ... found before the end of the section arrives, and counted over interim responses too. */
	head_of(&b, 0, pad + 100);
	CHECK(rejects_n(b.data, b.len - 4, 0, "response headers longer than 16384 bytes"));
	buf_release(&b);
	buf_init(&b);
	for (i = 0; i < HTTPC_MAX_HEADER_BYTES / 25 + 1; i++)
		buf_puts(&b, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_puts(&b, "HTTP/1.1 200 OK\r\n\r\n");
	CHECK(rejects_n(b.data, b.len, 0, "response headers longer than"));
	buf_release(&b);

	/* Bodies: a Content-Length or a chunk size over the limit fails before its data. */
	CHECK(parse_n(LIT("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"), 4) == 0 && body_is("abcd"));
	CHECK(rejects_n(LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 4, "larger than 4 bytes"));
	CHECK(rejects_n(LIT(CHUNKED "5\r\n"), 4, "larger than 4 bytes"));
	CHECK(rejects(CHUNKED "ffffffffffffffffffff\r\n", "larger than"));
	CHECK(parse_n(LIT(CHUNKED "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"), 4) == 0);
	CHECK(body_is("abcd"));
	CHECK(rejects_n(LIT(CHUNKED "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"), 4, "larger than 4 bytes"));
	/* Leading zeros do not count against the size, only against the line. */
	buf_init(&b);
	buf_puts(&b, CHUNKED);
	for (i = 0; i < 1000; i++)
		buf_puts(&b, "0");
	buf_puts(&b, "1\r\nx\r\n0\r\n\r\n");
	CHECK(parse_n(b.data, b.len, 0) == 0 && body_is("x"));
	buf_release(&b);
	/* A chunk-size line of more than HTTPC_MAX_CHUNK_LINE (1024) bytes, complete or not. */
	buf_init(&b);
	buf_puts(&b, CHUNKED "1;x=");
	for (i = 0; i < 1100; i++)
		buf_puts(&b, "y");
	CHECK(rejects_n(b.data, b.len, 0, "chunk-size line longer than 1024 bytes"));
	buf_puts(&b, "\r\nx\r\n0\r\n\r\n");
	CHECK(rejects_n(b.data, b.len, 0, "chunk-size line longer than 1024 bytes"));
	buf_release(&b);
	/* Framing overhead: 16 KiB + max_body / 2 at most, so long extensions on tiny chunks are refused. */
	buf_init(&b);
	buf_puts(&b, CHUNKED);
	for (i = 0; i < 20; i++) {
		buf_puts(&b, "1;e=");
		for (pad = 0; pad < 1000; pad++)
			buf_puts(&b, "e");
		buf_puts(&b, "\r\nx\r\n");
	}
	buf_puts(&b, "0\r\n\r\n");
	CHECK(parse_n(b.data, b.len, 64 * 1024) == 0 && resp->body_len == 20);
	CHECK(rejects_n(b.data, b.len, 64, "chunked encoding overhead over"));
	buf_release(&b);
	/* Trailer section: at most HTTPC_MAX_HEADER_BYTES. */
	buf_init(&b);
	buf_puts(&b, CHUNKED "0\r\n");
	for (i = 0; i < HTTPC_MAX_HEADER_BYTES / 10 + 1; i++)
		buf_printf(&b, "T-%04zu: v\r\n", i);
	buf_puts(&b, "\r\n");
	CHECK(rejects_n(b.data, b.len, 0, "trailer section longer than"));
	buf_release(&b);
	/* max_body 0 means the default. */
	CHECK(parse_n(LIT("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"), 0) == -1 && strstr(err, "truncated"));
	CHECK(rejects_n(LIT("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n"), 0, "larger than 1048576 bytes"));
	httpc_response_free(resp);
	resp = NULL;
}

/* feed_bytes(s, done_at_end): feed ${s} to a parser one byte at a time, without the end of data; true when it
 * asks for more before the last byte and then says DONE (${done_at_end}: a delimited response) or MORE (a
 * close-delimited one, which the end of data then completes), with the same response as a single parse. */
static bool
feed_bytes(const char *text, bool done_at_end)
{
	struct httpc_response *one = NULL, *r = NULL;
	struct httpc_parser p;
	size_t len = strlen(text), i;
	bool ok = false;
	int rc = HTTPC_PARSE_MORE;
	char *s;

	if ((s = malloc(len)) == NULL)
		abort();
	memcpy(s, text, len);
	httpc_parser_init(&p, 0, false);
	if (httpc_parse_response(s, len, 0, &one, err, sizeof(err)) == -1)
		goto out;
	for (i = 1; i <= len && rc == HTTPC_PARSE_MORE; i++)
		rc = httpc_parser_feed(&p, s, i, false, err, sizeof(err));
	if (i != len + 1 || rc != (done_at_end ? HTTPC_PARSE_DONE : HTTPC_PARSE_MORE))
		goto out;
	if (!done_at_end && httpc_parser_feed(&p, s, len, true, err, sizeof(err)) != HTTPC_PARSE_DONE)
		goto out;
	if ((r = httpc_parser_take(&p)) == NULL || r->status != one->status || r->n_headers != one->n_headers ||
	    r->body_len != one->body_len || memcmp(r->body, one->body, r->body_len + 1) != 0)
		goto out;
	ok = true;
out:
	httpc_parser_release(&p);
	httpc_response_free(r);
	httpc_response_free(one);
	free(s);
	return (ok);
}

/* The parser under httpc_request resumes where it stopped, and knows when a delimited response is complete. */
static void
test_resumable(void)
{
	struct httpc_parser p;

	CHECK(feed_bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true));
	CHECK(feed_bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", true));
	CHECK(feed_bytes(CHUNKED "5;a=\"b\"\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n", true));
	CHECK(feed_bytes("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n", true));
	CHECK(feed_bytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", false));
	/* An error is final. */
	httpc_parser_init(&p, 0, false);
	CHECK(httpc_parser_feed(&p, LIT("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), false, err, sizeof(err)) ==
	    HTTPC_PARSE_ERROR);
	CHECK(httpc_parser_feed(&p, LIT("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), true, err, sizeof(err)) ==
	    HTTPC_PARSE_ERROR);
	CHECK(httpc_parser_take(&p) == NULL);
	httpc_parser_release(&p);
	/* A HEAD response has no body whatever it announces. */
	httpc_parser_init(&p, 0, true);
	CHECK(httpc_parser_feed(&p, LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), false, err, sizeof(err)) ==
	    HTTPC_PARSE_DONE);
	httpc_parser_release(&p);
}

/* request(method, url, headers, body, opts): httpc_request with a string body (or none); the response, if any,
 * in resp, the sentence in err. */
static int
request(
    const char *method, const char *url, const char *const *headers, const char *body, const struct httpc_opts *opts)
{
	httpc_response_free(resp);
	resp = NULL;
	err[0] = '\0';
	return (
	    httpc_request(method, url, headers, body, body == NULL ? 0 : strlen(body), opts, &resp, err, sizeof(err)));
}

/* request_fails(url, why): GET ${url} with the default options fails before any network use, saying ${why}. */
static bool
request_fails(const char *url, const char *why)
{
	if (request("GET", url, NULL, NULL, NULL) != -1 || resp != NULL)
		return (false);
	if (strstr(err, why) == NULL) {
		fprintf(stderr, "  %s: error \"%s\", expected \"%s\"\n", url, err, why);
		return (false);
	}
	return (true);
}

static void
test_url(void)
{
	char url[300];
	size_t i;

	CHECK(request_fails("http://example.com/", "plain http URLs are not allowed"));
	CHECK(request_fails("HTTP://example.com/", "plain http URLs are not allowed"));
	CHECK(request_fails("ftp://example.com/", "not an https URL"));
	CHECK(request_fails("example.com/", "not an https URL"));
	CHECK(request_fails("https:example.com/", "not an https URL"));
	CHECK(request_fails("https://user:pw@example.com/", "must not contain user information"));
	CHECK(request_fails("https://user@127.0.0.1/", "must not contain user information"));
	CHECK(request_fails("https://@example.com/", "must not contain user information"));
	CHECK(request_fails("https://example.com:0/", "bad port"));
	CHECK(request_fails("https://example.com:65536/", "bad port"));
	CHECK(request_fails("https://example.com:99999999999999999999/", "bad port"));
	CHECK(request_fails("https://example.com:abc/", "bad port"));
	CHECK(request_fails("https://example.com:/", "bad port"));
	CHECK(request_fails("https://example.com:-1/", "bad port"));
	CHECK(request_fails("https://example.com:44 3/", "space"));
	CHECK(request_fails("https://example.com:443:443/", "bad port"));
	CHECK(request_fails("https://[::1/", "bad IPv6 address"));
	CHECK(request_fails("https://[::1]x/", "bad IPv6 address"));
	CHECK(request_fails("https://[fe80::1%25eth0]/", "bad IPv6 address"));
	CHECK(request_fails("https://[v1.x]/", "bad IPv6 address"));
	CHECK(request_fails("https://[127.0.0.1]/", "bad IPv6 address"));
	CHECK(request_fails("https://[::1]:0/", "bad port"));
	CHECK(request_fails("https:///path", "no host"));
	CHECK(request_fails("https://", "no host"));
	CHECK(request_fails("https://:443/", "no host"));
	CHECK(request_fails("https://?q", "no host"));
	CHECK(request_fails("https://exa mple.com/", "space"));
	CHECK(request_fails("https://example.com/a b", "space"));
	CHECK(request_fails("https://example.com/\r\nX: y", "control"));
	CHECK(request_fails("https://example.com/caf\xc3\xa9", "non-ASCII"));
	CHECK(request_fails("https://256.1.1.1/", "bad IPv4 address"));
	CHECK(request_fails("https://1.2.3.04/", "bad IPv4 address"));
	CHECK(request_fails("https://1.2.3/", "bad IPv4 address"));
	CHECK(request_fails("https://2130706433/", "bad IPv4 address"));
	CHECK(request_fails("https://bad!host/", "bad host name"));
	CHECK(request_fails("https://a..b/", "bad host name"));
	CHECK(request_fails("https://.a/", "bad host name"));
	/* Labels of at most 63 characters, names of at most 253. */
	memset(url, 'a', sizeof(url));
	memcpy(url, "https://", 8);
	memcpy(url + 8 + 64, ".example/", 10);
	CHECK(request_fails(url, "bad host name"));
	memset(url, 'a', sizeof(url));
	memcpy(url, "https://", 8);
	for (i = 8 + 63; i < 8 + 254; i += 64)
		url[i] = '.';
	memcpy(url + 8 + 254, "/", 2);
	CHECK(request_fails(url, "host name in URL too long"));
}

static void
test_request_checks(void)
{
	const char *crlf[] = { "Accept: a\r\nX-Injected: 1", NULL };
	const char *lf[] = { "Accept: a\nb", NULL };
	const char *host[] = { "host: evil.example", NULL };
	const char *length[] = { "Content-Length: 5", NULL };
	const char *te[] = { "Transfer-Encoding: chunked", NULL };
	const char *bad[] = { "Accept", NULL };
	const char *space[] = { "Bad Name: x", NULL };
	char url[9000];

	CHECK(request("GET", "https://127.0.0.1/", crlf, NULL, NULL) == -1 && strstr(err, "CR or LF") != NULL);
	CHECK(request("GET", "https://127.0.0.1/", lf, NULL, NULL) == -1 && strstr(err, "CR or LF") != NULL);
	CHECK(request("GET", "https://127.0.0.1/", host, NULL, NULL) == -1 &&
	    strstr(err, "request header Host is set by the client") != NULL);
	CHECK(request("GET", "https://127.0.0.1/", length, NULL, NULL) == -1 && strstr(err, "Content-Length") != NULL);
	CHECK(request("GET", "https://127.0.0.1/", te, NULL, NULL) == -1 && strstr(err, "Transfer-Encoding") != NULL);
	CHECK(request("GET", "https://127.0.0.1/", bad, NULL, NULL) == -1 && strstr(err, "malformed request header"));
	CHECK(request("GET", "https://127.0.0.1/", space, NULL, NULL) == -1 && strstr(err, "malformed request header"));
	CHECK(request("GE T", "https://127.0.0.1/", NULL, NULL, NULL) == -1 && strstr(err, "bad request method"));
	CHECK(request("", "https://127.0.0.1/", NULL, NULL, NULL) == -1 && strstr(err, "bad request method"));
	CHECK(request("GET\r\n", "https://127.0.0.1/", NULL, NULL, NULL) == -1 && strstr(err, "bad request method"));
	CHECK(httpc_request("POST", "https://127.0.0.1/", NULL, NULL, 3, NULL, &resp, err, sizeof(err)) == -1 &&
	    resp == NULL && strstr(err, "bad arguments"));
	CHECK(httpc_request("GET", NULL, NULL, NULL, 0, NULL, &resp, err, sizeof(err)) == -1);
	CHECK(httpc_request("GET", "http://x/", NULL, NULL, 0, NULL, &resp, NULL, 0) == -1); /* no room for err */
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "https://", 8);
	CHECK(request("GET", url, NULL, NULL, NULL) == -1 && strstr(err, "URL longer than 8192 bytes"));
	httpc_response_free(NULL);
}

/* refused(url, sentence): GET ${url} with the default options fails with exactly ${sentence}. */
static bool
refused(const char *url, const char *sentence)
{
	if (request("GET", url, NULL, NULL, NULL) != -1 || resp != NULL)
		return (false);
	if (strcmp(err, sentence) != 0) {
		fprintf(stderr, "  %s: error \"%s\", expected \"%s\"\n", url, err, sentence);
		return (false);
	}
	return (true);
}

static void
test_private_refused(void)
{
	CHECK(refused("https://127.0.0.1:1/", "connection to 127.0.0.1:1 refused: loopback addresses are not allowed"));
	CHECK(refused(
	    "https://127.255.0.9/x", "connection to 127.255.0.9:443 refused: loopback addresses are not allowed"));
	CHECK(refused("https://[::1]:8443/", "connection to [::1]:8443 refused: loopback addresses are not allowed"));
	CHECK(refused("https://0.0.0.0/", "connection to 0.0.0.0:443 refused: unspecified addresses are not allowed"));
	CHECK(refused("https://0.1.2.3/", "connection to 0.1.2.3:443 refused: unspecified addresses are not allowed"));
	CHECK(refused("https://[::]/", "connection to [::]:443 refused: unspecified addresses are not allowed"));
	CHECK(refused("https://10.1.2.3/", "connection to 10.1.2.3:443 refused: private addresses are not allowed"));
	CHECK(
	    refused("https://172.16.0.1/", "connection to 172.16.0.1:443 refused: private addresses are not allowed"));
	CHECK(refused(
	    "https://172.31.255.255/", "connection to 172.31.255.255:443 refused: private addresses are not allowed"));
	CHECK(refused(
	    "https://192.168.1.1/", "connection to 192.168.1.1:443 refused: private addresses are not allowed"));
	CHECK(refused(
	    "https://100.64.0.1/", "connection to 100.64.0.1:443 refused: shared (CGNAT) addresses are not allowed"));
	CHECK(refused("https://100.127.255.254/",
	    "connection to 100.127.255.254:443 refused: shared (CGNAT) addresses are not allowed"));
	CHECK(refused("https://169.254.169.254/latest/meta-data/",
	    "connection to 169.254.169.254:443 refused: link-local addresses are not allowed"));
	CHECK(
	    refused("https://224.0.0.1/", "connection to 224.0.0.1:443 refused: multicast addresses are not allowed"));
	CHECK(refused("https://255.255.255.255/",
	    "connection to 255.255.255.255:443 refused: reserved addresses are not allowed"));
	CHECK(refused(
	    "https://192.0.2.7/", "connection to 192.0.2.7:443 refused: documentation addresses are not allowed"));
	CHECK(refused(
	    "https://198.18.0.1/", "connection to 198.18.0.1:443 refused: benchmarking addresses are not allowed"));
	CHECK(refused(
	    "https://[fd00::1]/", "connection to [fd00::1]:443 refused: unique-local addresses are not allowed"));
	CHECK(refused(
	    "https://[fc00::1]/", "connection to [fc00::1]:443 refused: unique-local addresses are not allowed"));
	CHECK(
	    refused("https://[fe80::1]/", "connection to [fe80::1]:443 refused: link-local addresses are not allowed"));
	CHECK(
	    refused("https://[fec0::1]/", "connection to [fec0::1]:443 refused: site-local addresses are not allowed"));
	CHECK(
	    refused("https://[ff02::1]/", "connection to [ff02::1]:443 refused: multicast addresses are not allowed"));
	CHECK(refused("https://[2001:db8::1]/",
	    "connection to [2001:db8::1]:443 refused: documentation addresses are not allowed"));
	CHECK(refused("https://[2001::1]/", "connection to [2001::1]:443 refused: reserved addresses are not allowed"));
	CHECK(refused("https://[100::1]/", "connection to [100::1]:443 refused: reserved addresses are not allowed"));
	/* IPv6 forms that carry an IPv4 address are judged by it. */
	CHECK(refused("https://[::ffff:127.0.0.1]/",
	    "connection to [::ffff:127.0.0.1]:443 refused: loopback addresses are not allowed"));
	CHECK(refused("https://[::ffff:a00:1]/",
	    "connection to [::ffff:10.0.0.1]:443 refused: private addresses are not allowed"));
	CHECK(refused("https://[::ffff:169.254.169.254]/",
	    "connection to [::ffff:169.254.169.254]:443 refused: link-local addresses are not allowed"));
	CHECK(refused("https://[64:ff9b::7f00:1]/",
	    "connection to [64:ff9b::7f00:1]:443 refused: loopback addresses are not allowed"));
	CHECK(refused("https://[2002:c0a8:101::1]/",
	    "connection to [2002:c0a8:101::1]:443 refused: private addresses are not allowed"));
	CHECK(refused(
	    "https://[::127.0.0.1]/", "connection to [::127.0.0.1]:443 refused: reserved addresses are not allowed"));
	/* A name is checked after resolution (localhost comes from /etc/hosts, no DNS needed). */
	CHECK(request("GET", "https://localhost:8443/", NULL, NULL, NULL) == -1 &&
	    strstr(err, "refused: loopback addresses are not allowed") != NULL);
	httpc_response_free(resp);
	resp = NULL;
}

/* listener(port): a TCP socket listening on 127.0.0.1 that nobody accepts from; its port in *${port}. */
static int
listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	*port = ntohs(sin.sin_port);
	return (fd);
}

/* No connection is even attempted to a refused address. */
static void
test_not_connected(void)
{
	char url[64], want[128];
	int fd, port, c;

	fd = listener(&port);
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	(void)snprintf(
	    want, sizeof(want), "connection to 127.0.0.1:%d refused: loopback addresses are not allowed", port);
	CHECK(refused(url, want));
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
	c = accept(fd, NULL, NULL);
	CHECK(c == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
	if (c != -1)
		close(c);
	close(fd);
}

/* A server that completes the TCP handshake (the kernel does) but never speaks TLS. */
static void
test_timeout_handshake(void)
{
	struct httpc_opts o = { NULL, 400, 0, true };
	char url[64], want[128];
	uint64_t t0, ms;
	int fd, port;

	fd = listener(&port);
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	(void)snprintf(want, sizeof(want), "timed out after 400 ms in the TLS handshake with 127.0.0.1");
	t0 = time_mono_ms();
	CHECK(request("GET", url, NULL, NULL, &o) == -1 && resp == NULL);
	ms = time_mono_ms() - t0;
	CHECK_STR(err, want);
	CHECK(ms >= 390 && ms <= 400 + SLACK_MS);
	close(fd);
}

/* The children of the live test: killed at the end, and by the kernel if this process dies first. */
#define MAX_CHILDREN 8
static pid_t children[MAX_CHILDREN];
static size_t n_children;

/* spawn(argv, in_fd, out_path): run ${argv} (openssl ...) with stdin ${in_fd} (-1: /dev/null) and stdout and
 * stderr into ${out_path} (NULL: /dev/null). */
static pid_t
spawn(char *const argv[], int in_fd, const char *out_path)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in_fd == -1)
			in_fd = open("/dev/null", O_RDONLY);
		fd = open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in_fd == -1 || fd == -1 || dup2(in_fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (n_children < MAX_CHILDREN)
		children[n_children++] = pid;
	return (pid);
}

/* run(argv): run ${argv} to completion; true when it exits 0. */
static bool
run(char *const argv[])
{
	pid_t pid = spawn(argv, -1, NULL);
	int st;

	n_children--;
	return (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* reap(): kill and wait for every child still running. */
static void
reap(void)
{
	int st;

	while (n_children > 0) {
		n_children--;
		(void)kill(children[n_children], SIGKILL);
		(void)waitpid(children[n_children], &st, 0);
	}
}

/* free_port(): a port on 127.0.0.1 that was free a moment ago. */
static int
free_port(void)
{
	int fd, port;

	fd = listener(&port);
	close(fd);
	return (port);
}

/* file_text(path): the contents of ${path} (at most 64 KiB), NUL-terminated; the caller frees. */
static char *
file_text(const char *path)
{
	size_t len = 0;
	ssize_t n;
	char *s;
	int fd;

	if ((s = calloc(1, 65536 + 1)) == NULL)
		abort();
	if ((fd = open(path, O_RDONLY)) != -1) {
		while (len < 65536 && (n = read(fd, s + len, 65536 - len)) > 0)
			len += (size_t)n;
		close(fd);
	}
	return (s);
}

/* wait_ready(pid, out_path): wait up to 5 s for s_server to say ACCEPT in ${out_path} (it listens then); false
 * if it exits first (its port was taken).  No probe connection: s_server would answer it. */
static bool
wait_ready(pid_t pid, const char *out_path)
{
	bool ready;
	char *text;
	int i;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return (false);
		text = file_text(out_path);
		ready = strstr(text, "ACCEPT\n") != NULL;
		free(text);
		if (ready)
			return (true);
		usleep(50 * 1000);
	}
	return (false);
}

/* server(dir, name, www, in_fd, out_path, port): start `openssl s_server` with ${dir}/${name}.pem and its key
 * on a free port (retried if another process takes it first), its stdin ${in_fd}, its output into
 * ${out_path}; its port in *${port}.  Without -quiet, so it says when it listens; with ${in_fd} a pipe, what
 * is written there goes to the client (interactive mode: no -www). */
static bool
server(const char *dir, const char *name, bool www, int in_fd, const char *out_path, int *port)
{
	char cert[256], key[256], accept_on[32];
	char *argv[] = { "openssl", "s_server", "-accept", accept_on, "-cert", cert, "-key", key, "-www", NULL };
	pid_t pid;
	int attempt;

	(void)snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	(void)snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (!www)
		argv[8] = NULL;
	for (attempt = 0; attempt < 3; attempt++) {
		*port = free_port();
		(void)snprintf(accept_on, sizeof(accept_on), "127.0.0.1:%d", *port);
		pid = spawn(argv, in_fd, out_path);
		if (wait_ready(pid, out_path))
			return (true);
		n_children--;
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
	return (false);
}

/* make_cert(dir, name, san): a self-signed P-256 certificate for ${san} into ${dir}/${name}.pem and .key. */
static bool
make_cert(const char *dir, const char *name, const char *san)
{
	char cert[256], key[256], ext[256];
	char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=anchorid test", "-addext", ext, NULL };

	(void)snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	(void)snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	(void)snprintf(ext, sizeof(ext), "subjectAltName=%s", san);
	return (run(argv));
}

/* out_path(s, n, dir, name): "${dir}/${name}.out" into ${s}; returns ${s}. */
static char *
out_path(char *s, size_t n, const char *dir, const char *name)
{
	(void)snprintf(s, n, "%s/%s.out", dir, name);
	return (s);
}

static void
test_live(void)
{
	static const char canned[] = "HTTP/1.1 100 Continue\r\n\r\n"
	                             "HTTP/1.1 201 Created\r\nLocation: /authz/1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                             "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n";
	char dir[] = "/tmp/anchorid-httpc-XXXXXX", url[256], want[512], path[300], ca[300], other_ca[300], *got;
	const char *const accept_json[] = { "Accept: application/json", NULL };
	struct httpc_opts o = { NULL, 5000, 0, true };
	int port_a, port_b, port_c, port_d, hold_c[2] = { -1, -1 }, hold_d[2] = { -1, -1 };
	uint64_t t0, ms;
	size_t i;

	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(ca, sizeof(ca), "%s/good.pem", dir);
	(void)snprintf(other_ca, sizeof(other_ca), "%s/other.pem", dir);
	CHECK(make_cert(dir, "good", "DNS:localhost,IP:127.0.0.1"));
	CHECK(make_cert(dir, "other", "DNS:other.test"));
	/* A: answers GET with a close-delimited page (-www); B: the same with a certificate for another name;
	 * C: records what it receives and never answers (its stdin a pipe we never write to); D: sends what we
	 * write to its stdin and keeps the connection open. */
	if (pipe2(hold_c, O_CLOEXEC) == -1 || pipe2(hold_d, O_CLOEXEC) == -1)
		abort();
	if (!server(dir, "good", true, -1, out_path(path, sizeof(path), dir, "a"), &port_a) ||
	    !server(dir, "other", true, -1, out_path(path, sizeof(path), dir, "b"), &port_b) ||
	    !server(dir, "good", false, hold_c[0], out_path(path, sizeof(path), dir, "c"), &port_c) ||
	    !server(dir, "good", false, hold_d[0], out_path(path, sizeof(path), dir, "d"), &port_d)) {
		CHECK(!"openssl s_server did not start");
		goto out;
	}

	o.ca_file = ca;
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port_a);
	CHECK(request("GET", url, accept_json, NULL, &o) == 0);
	CHECK(resp != NULL && resp->status == 200 && resp->body_len == strlen(resp->body) &&
	    strstr(resp->body, "s_server") != NULL);
	if (resp == NULL)
		fprintf(stderr, "  %s: %s\n", url, err);
	/* By name: SNI and the dNSName check. */
	(void)snprintf(url, sizeof(url), "https://LocalHost:%d/index.html?x=1#frag", port_a);
	CHECK(request("GET", url, NULL, NULL, &o) == 0 && resp->status == 200);
	if (resp == NULL)
		fprintf(stderr, "  %s: %s\n", url, err);
	/* A body limit below the page's size. */
	o.max_body = 16;
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port_a);
	CHECK(request("GET", url, NULL, NULL, &o) == -1);
	CHECK_STR(err, "bad response from 127.0.0.1: response body larger than 16 bytes");
	o.max_body = 0;

	/* Without the CA: the system's trust store does not know our certificate. */
	o.ca_file = NULL;
	CHECK(request("GET", url, NULL, NULL, &o) == -1 &&
	    str_has_prefix(err, "certificate verify failed for 127.0.0.1: "));
	o.ca_file = other_ca;
	CHECK(request("GET", url, NULL, NULL, &o) == -1 &&
	    str_has_prefix(err, "certificate verify failed for 127.0.0.1: "));
	(void)snprintf(want, sizeof(want), "%s/missing.pem", dir);
	o.ca_file = want;
	CHECK(request("GET", url, NULL, NULL, &o) == -1 && str_has_prefix(err, "cannot load CA file"));
	/* allow_private off: refused before connecting, even with everything else right. */
	o.ca_file = ca;
	o.allow_private = false;
	(void)snprintf(
	    want, sizeof(want), "connection to 127.0.0.1:%d refused: loopback addresses are not allowed", port_a);
	CHECK(refused(url, want));
	(void)request("GET", url, NULL, NULL, &o);
	CHECK_STR(err, want);
	o.allow_private = true;

	/* B: a valid certificate, for another name. */
	o.ca_file = other_ca;
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port_b);
	CHECK(request("GET", url, NULL, NULL, &o) == -1);
	CHECK_STR(err, "certificate verify failed for 127.0.0.1: IP address mismatch");
	(void)snprintf(url, sizeof(url), "https://localhost:%d/", port_b);
	CHECK(request("GET", url, NULL, NULL, &o) == -1);
	CHECK_STR(err, "certificate verify failed for localhost: hostname mismatch");

	/* C: the TLS handshake completes, the request goes out, no answer comes. */
	o.ca_file = ca;
	o.timeout_ms = 600;
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/submit?q=1#frag", port_c);
	t0 = time_mono_ms();
	CHECK(request("POST", url, accept_json, "a=b", &o) == -1 && resp == NULL);
	ms = time_mono_ms() - t0;
	CHECK_STR(err, "timed out after 600 ms waiting for the response from 127.0.0.1");
	CHECK(ms >= 590 && ms <= 600 + SLACK_MS);
	(void)snprintf(want, sizeof(want),
	    "POST /submit?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: anchorid/1.0\r\nConnection: close\r\n"
	    "Content-Length: 3\r\nAccept: application/json\r\n\r\na=b",
	    port_c);
	for (i = 0, got = NULL; i < 40; i++) { /* s_server writes it out as it reads it */
		free(got);
		got = file_text(out_path(path, sizeof(path), dir, "c"));
		if (strstr(got, want) != NULL)
			break;
		usleep(25 * 1000);
	}
	CHECK(strstr(got, want) != NULL);
	if (strstr(got, want) == NULL)
		fprintf(stderr, "  s_server received:\n%s\n", got);
	free(got);

	/* D: an interim response, then a chunked one with an extension and a trailer, on a connection the server
	 * keeps open: the client stops at the end of the response, long before the deadline. */
	CHECK(write(hold_d[1], canned, sizeof(canned) - 1) == (ssize_t)sizeof(canned) - 1);
	o.timeout_ms = 5000;
	(void)snprintf(url, sizeof(url), "https://localhost:%d/authz", port_d);
	t0 = time_mono_ms();
	CHECK(request("POST", url, NULL, NULL, &o) == 0);
	ms = time_mono_ms() - t0;
	CHECK(resp != NULL && resp->status == 201 && resp->body_len == 5 && strcmp(resp->body, "hello") == 0);
	CHECK(resp != NULL && resp->n_headers == 2 && httpc_header(resp, "X-Trailer") == NULL);
	CHECK_STR(httpc_header(resp, "location"), "/authz/1");
	CHECK(ms < 2500);
	if (resp == NULL)
		fprintf(stderr, "  %s: %s\n", url, err);
out:
	reap();
	for (i = 0; i < 2; i++) {
		if (hold_c[i] != -1)
			close(hold_c[i]);
		if (hold_d[i] != -1)
			close(hold_d[i]);
	}
	(void)snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	httpc_response_free(resp);
	resp = NULL;
}

int
main(void)
{
	TEST_RUN(test_content_length);
	TEST_RUN(test_chunked);
	TEST_RUN(test_close_delimited);
	TEST_RUN(test_interim);
	TEST_RUN(test_no_body);
	TEST_RUN(test_status_line);
	TEST_RUN(test_header_syntax);
	TEST_RUN(test_limits);
	TEST_RUN(test_resumable);
	TEST_RUN(test_url);
	TEST_RUN(test_request_checks);
	TEST_RUN(test_private_refused);
	TEST_RUN(test_not_connected);
	TEST_RUN(test_timeout_handshake);
	TEST_RUN(test_live);
	return (TEST_EXIT());
}
