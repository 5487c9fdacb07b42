/*
 * parse.c: the HTTP/1.1 response parser of the client.  Pure C, no sockets and no OpenSSL, so the unit test
 * and tests/fuzz/fuzz_http_response.c link it alone.
 *
 *  - RFC 9112 §2.2: lines end in CRLF; a bare LF is accepted as a line end, a bare CR anywhere is an error.
 *  - RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]; HTTP/1.0 and HTTP/1.1 only,
 *    a three-digit status 100..999 (RFC 9110 §15: 600..999 are not HTTP's but are still three digits); the SP
 *    before an empty reason phrase may be missing, as many servers omit it.
 *  - RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, no whitespace before the colon; §5.2
 *    obs-fold is rejected; §5.5 values with CR, LF, NUL or another control character (HTAB aside) are rejected.
 *  - RFC 9110 §15.2: 1xx interim responses are skipped (101 was never asked for and is an error).
 *  - RFC 9112 §6.3 message body length: no body for HEAD, 204 and 304; Transfer-Encoding chunked (the only
 *    coding we accept, since we never ask for others); Transfer-Encoding with Content-Length, or in an
 *    HTTP/1.0 response (§6.1), is faulty framing and rejected; Content-Length must be 1*DIGIT, and a list or
 *    repetition of one value is accepted as that value (RFC 9110 §8.6) while differing values are rejected;
 *    otherwise the body runs to the end of the connection.
 *  - RFC 9112 §7.1 chunked: chunk-size in hex (any other byte where a digit or extension may be is an error),
 *    chunk extensions checked against §7.1.1 and ignored, trailer fields (§7.1.2) checked and dropped (RFC 9110
 *    §6.5.1: never merged into the headers).
 *
 * Limits: HTTPC_MAX_HEADER_BYTES for all header sections together (interim ones included) and again for the
 * trailer section, HTTPC_MAX_HEADERS header lines per response, max_body decoded body bytes (a Content-Length
 * or chunk size that would pass it fails at once, before any of it is read), HTTPC_MAX_CHUNK_LINE bytes per
 * chunk-size line and httpc_framing_max() bytes of chunked framing in all.  The input is only ever scanned
 * forward: a response costs time linear in its size however it arrives.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc.h"
#include "httpc_int.h"
#include "util.h"

/* What one parsing step did, beside HTTPC_PARSE_MORE and HTTPC_PARSE_ERROR. */
#define STEP_NEXT 2 /* moved on; run the next step */

/* is_digit(c), is_hex(c): ASCII digits, hexadecimal digits (locale independent). */
static bool
is_digit(char c)
{
	return (c >= '0' && c <= '9');
}

/** httpc_tchar(c): RFC 9110 §5.6.2 tchar, the bytes of a token (a method, a field name). */
bool
httpc_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
		return (true);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* is_ows(c): RFC 9110 §5.6.3 OWS and BWS are made of SP and HTAB. */
static bool
is_ows(char c)
{
	return (c == ' ' || c == '\t');
}

/* is_text(c): RFC 9110 §5.5 field-vchar, SP and HTAB, which is also what a reason phrase may hold: VCHAR,
 * obs-text (0x80-0xff), SP, HTAB; no other control character and no DEL. */
static bool
is_text(char c)
{
	unsigned char u = (unsigned char)c;

	return (u == '\t' || (u >= 0x20 && u != 0x7f));
}

/** httpc_framing_max(max_body): the most chunked framing (size lines with extensions, CRLFs, trailers)
 * accepted beside a body limit of ${max_body}: a trailer section's worth plus half the body limit, enough for
 * chunks of 16 bytes on average ("10\r\n" + data + "\r\n"); a server dribbling one byte per chunk is refused. */
size_t
httpc_framing_max(size_t max_body)
{
	return (HTTPC_MAX_HEADER_BYTES + max_body / 2);
}

/*
 * line_find(buf, len, from, seek, eol, next): find the LF that ends the line starting at ${from}, looking from
 * ${seek} on when that is further (the bytes before it are known to hold none); the line's content ends at
 * *${eol} (before a CR just ahead of the LF) and the next line starts at *${next}.  false while no LF has
 * arrived.
 */
static bool
line_find(const char *buf, size_t len, size_t from, size_t seek, size_t *eol, size_t *next)
{
	const char *lf;

	if (seek < from)
		seek = from;
	if (seek >= len || (lf = memchr(buf + seek, '\n', len - seek)) == NULL)
		return (false);
	*next = (size_t)(lf - buf) + 1;
	*eol = (size_t)(lf - buf);
	if (*eol > from && buf[*eol - 1] == '\r')
		(*eol)--;
	return (true);
}

/*
 * section_find(p, buf, len, limit, end): find the blank line that ends the field section starting at p->pos,
 * resuming at line p->scan.  HTTPC_PARSE_DONE with *${end} just past the blank line, HTTPC_PARSE_MORE, or
 * HTTPC_PARSE_ERROR when the section is longer than ${limit} bytes.
 */
static int
section_find(struct httpc_parser *p, const char *buf, size_t len, size_t limit, size_t *end)
{
	size_t eol, next;

	while (line_find(buf, len, p->scan, p->seek, &eol, &next)) {
		if (next - p->pos > limit)
			return (HTTPC_PARSE_ERROR);
		if (eol == p->scan) {
			*end = next;
			return (HTTPC_PARSE_DONE);
		}
		p->scan = next;
	}
	p->seek = len;
	if (len - p->pos > limit)
		return (HTTPC_PARSE_ERROR);
	return (HTTPC_PARSE_MORE);
}

/*
 * field_split(l, n, nlen, voff, vlen): split the field line of ${n} bytes at ${l} (RFC 9112 §5.1: field-name
 * ":" OWS field-value OWS) into a name of *${nlen} bytes and a value of *${vlen} bytes at offset *${voff}.
 * -1 when malformed.  Obs-fold (a line starting with SP or HTAB) is the caller's to reject first.
 */
static int
field_split(const char *l, size_t n, size_t *nlen, size_t *voff, size_t *vlen)
{
	size_t i = 0, e;

	while (i < n && httpc_tchar(l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return (-1);
	*nlen = i++;
	while (i < n && is_ows(l[i]))
		i++;
	for (e = n; e > i && is_ows(l[e - 1]); e--)
		;
	*voff = i;
	*vlen = e - i;
	for (; i < e; i++)
		if (!is_text(l[i]))
			return (-1);
	return (0);
}

/*
 * status_parse(l, n, minor, status): the status line of ${n} bytes at ${l} (RFC 9112 §4); -1 when malformed.
 */
static int
status_parse(const char *l, size_t n, int *minor, int *status)
{
	size_t i;

	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return (-1);
	if (l[9] < '1' || l[9] > '9' || !is_digit(l[10]) || !is_digit(l[11]))
		return (-1);
	if (n > 12 && l[12] != ' ')
		return (-1);
	for (i = 13; i < n; i++)
		if (!is_text(l[i]))
			return (-1);
	*minor = l[7] - '0';
	*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	return (0);
}

/*
 * headers_clear(r): drop the headers of ${r} (those of an interim response).
 */
static void
headers_clear(struct httpc_response *r)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
		r->headers[i].name = r->headers[i].value = NULL;
	}
	r->n_headers = 0;
}

/*
 * content_length_parse(v, have, out): fold the Content-Length value ${v} (1*DIGIT, or a comma-separated list
 * of them) into *${out}; *${have} says whether an earlier one was seen.  -1 when a value is not 1*DIGIT or too
 * large for 64 bits, -2 when two values differ.
 */
static int
content_length_parse(const char *v, bool *have, uint64_t *out)
{
	const char *p = v;
	uint64_t x;

	for (;;) {
		while (is_ows(*p))
			p++;
		if (!is_digit(*p))
			return (-1);
		for (x = 0; is_digit(*p); p++) {
			if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
				return (-1);
			x = x * 10 + (uint64_t)(*p - '0');
		}
		while (is_ows(*p))
			p++;
		if (*have && x != *out)
			return (-2);
		*have = true;
		*out = x;
		if (*p == '\0')
			return (0);
		if (*p++ != ',')
			return (-1);
	}
}

/*
 * te_chunked(v, n): count into *${n} the transfer codings of the Transfer-Encoding value ${v} (empty list
 * elements skipped, RFC 9110 §5.6.1); true while every one is exactly "chunked" (no parameters).
 */
static bool
te_chunked(const char *v, size_t *n)
{
	const char *p = v, *s, *e;

	while (*p != '\0') {
		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (s = p; *p != '\0' && *p != ','; p++)
			;
		for (e = p; e > s && is_ows(e[-1]); e--)
			;
		(*n)++;
		if ((size_t)(e - s) != 7 || strncasecmp(s, "chunked", 7) != 0)
			return (false);
	}
	return (true);
}

/*
 * head_parse(p, buf, end, err, errlen): parse the header section from p->pos to ${end} (which includes the
 * blank line) into p->resp and choose how the body is delimited.  STEP_NEXT or HTTPC_PARSE_ERROR.
 */
static int
head_parse(struct httpc_parser *p, const char *buf, size_t end, char *err, size_t errlen)
{
	struct httpc_response *r = p->resp;
	size_t at = p->pos, eol = 0, next = 0, nlen, voff, vlen, i, n_te = 0;
	uint64_t clen = 0;
	bool have_clen = false, chunked = true, have_te = false;
	int minor, status, rc;

	headers_clear(r);
	(void)line_find(buf, end, at, 0, &eol, &next);
	if (status_parse(buf + at, eol - at, &minor, &status) == -1) {
		str_errf(err, errlen, "malformed status line");
		return (HTTPC_PARSE_ERROR);
	}
	for (at = next; line_find(buf, end, at, 0, &eol, &next) && eol > at; at = next) {
		if (is_ows(buf[at])) {
			str_errf(err, errlen, "obsolete line folding in the response headers");
			return (HTTPC_PARSE_ERROR);
		}
		if (field_split(buf + at, eol - at, &nlen, &voff, &vlen) == -1) {
			str_errf(err, errlen, "malformed header line");
			return (HTTPC_PARSE_ERROR);
		}
		if (r->n_headers == HTTPC_MAX_HEADERS) {
			str_errf(err, errlen, "more than %d header lines", HTTPC_MAX_HEADERS);
			return (HTTPC_PARSE_ERROR);
		}
		if ((r->headers[r->n_headers].name = xstrndup(buf + at, nlen)) == NULL ||
		    (r->headers[r->n_headers].value = xstrndup(buf + at + voff, vlen)) == NULL) {
			free(r->headers[r->n_headers].name);
			r->headers[r->n_headers].name = NULL;
			str_errf(err, errlen, "out of memory");
			return (HTTPC_PARSE_ERROR);
		}
		r->n_headers++;
	}
	p->head_bytes += end - p->pos;
	p->pos = p->scan = end;
	r->status = status;

	/* RFC 9110 §15.2: interim responses come before the final one and have no body. */
	if (status < 200) {
		if (status == 101) {
			str_errf(err, errlen, "unexpected 101 Switching Protocols");
			return (HTTPC_PARSE_ERROR);
		}
		headers_clear(r);
		return (STEP_NEXT);
	}

	/* RFC 9112 §6.3: how long is the body? */
	for (i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->headers[i].name, "Content-Length") == 0) {
			if ((rc = content_length_parse(r->headers[i].value, &have_clen, &clen)) != 0) {
				str_errf(err, errlen,
				    rc == -2 ? "conflicting Content-Length values" : "invalid Content-Length");
				return (HTTPC_PARSE_ERROR);
			}
		} else if (strcasecmp(r->headers[i].name, "Transfer-Encoding") == 0) {
			have_te = true;
			if (!te_chunked(r->headers[i].value, &n_te))
				chunked = false;
		}
	}
	if (have_te && minor == 0) {
		str_errf(err, errlen, "Transfer-Encoding in an HTTP/1.0 response");
		return (HTTPC_PARSE_ERROR);
	}
	if (have_te && have_clen) {
		str_errf(err, errlen, "both Transfer-Encoding and Content-Length");
		return (HTTPC_PARSE_ERROR);
	}
	if (have_te && (!chunked || n_te != 1)) {
		str_errf(err, errlen, "unsupported Transfer-Encoding");
		return (HTTPC_PARSE_ERROR);
	}
	if (p->no_body || status == 204 || status == 304)
		p->state = HTTPC_PS_DONE;
	else if (have_te)
		p->state = HTTPC_PS_CHUNK_SIZE;
	else if (have_clen) {
		if (clen > p->max_body) {
			str_errf(err, errlen, "response body larger than %zu bytes", p->max_body);
			return (HTTPC_PARSE_ERROR);
		}
		p->expect = p->left = clen;
		p->state = clen == 0 ? HTTPC_PS_DONE : HTTPC_PS_LENGTH;
	} else
		p->state = HTTPC_PS_CLOSE;
	return (STEP_NEXT);
}

/*
 * step_head(p, buf, len, err, errlen): find and parse the next header section.
 */
static int
step_head(struct httpc_parser *p, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t end;
	int rc;

	rc = section_find(p, buf, len, HTTPC_MAX_HEADER_BYTES - p->head_bytes, &end);
	if (rc == HTTPC_PARSE_ERROR)
		str_errf(err, errlen, "response headers longer than %d bytes", HTTPC_MAX_HEADER_BYTES);
	if (rc != HTTPC_PARSE_DONE)
		return (rc);
	return (head_parse(p, buf, end, err, errlen));
}

/*
 * body_add(p, s, n, err, errlen): append ${n} decoded body bytes.
 */
static int
body_add(struct httpc_parser *p, const char *s, size_t n, char *err, size_t errlen)
{
	if (n > p->max_body - p->body.len) {
		str_errf(err, errlen, "response body larger than %zu bytes", p->max_body);
		return (-1);
	}
	if (buf_append(&p->body, s, n) == -1) {
		str_errf(err, errlen, "out of memory");
		return (-1);
	}
	return (0);
}

/*
 * step_data(p, buf, len, next, err, errlen): take up to p->left body bytes, then go to state ${next}.
 */
static int
step_data(struct httpc_parser *p, const char *buf, size_t len, enum httpc_pstate next, char *err, size_t errlen)
{
	size_t take = len - p->pos;

	if (take > p->left)
		take = (size_t)p->left;
	if (body_add(p, buf + p->pos, take, err, errlen) == -1)
		return (HTTPC_PARSE_ERROR);
	p->pos += take;
	p->left -= take;
	if (p->left > 0)
		return (HTTPC_PARSE_MORE);
	p->state = next;
	return (STEP_NEXT);
}

/*
 * framing_add(p, n, err, errlen): count ${n} bytes of chunked framing against httpc_framing_max().
 */
static int
framing_add(struct httpc_parser *p, size_t n, char *err, size_t errlen)
{
	if (n > httpc_framing_max(p->max_body) - p->framing) {
		str_errf(err, errlen, "chunked encoding overhead over %zu bytes", httpc_framing_max(p->max_body));
		return (-1);
	}
	p->framing += n;
	return (0);
}

/*
 * chunk_ext_ok(s, n): true when the ${n} bytes at ${s} are RFC 9112 §7.1.1 chunk extensions:
 * *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), a value being a token or a quoted-string
 * (RFC 9110 §5.6.4).  Trailing whitespace is tolerated.
 */
static bool
chunk_ext_ok(const char *s, size_t n)
{
	size_t i = 0, start;

	for (;;) {
		while (i < n && is_ows(s[i]))
			i++;
		if (i == n)
			return (true);
		if (s[i++] != ';')
			return (false);
		while (i < n && is_ows(s[i]))
			i++;
		for (start = i; i < n && httpc_tchar(s[i]); i++)
			;
		if (i == start)
			return (false);
		while (i < n && is_ows(s[i]))
			i++;
		if (i == n || s[i] != '=')
			continue;
		i++;
		while (i < n && is_ows(s[i]))
			i++;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && ++i == n)
					return (false);
				if (!is_text(s[i]))
					return (false);
			}
			if (i++ == n)
				return (false);
		} else {
			for (start = i; i < n && httpc_tchar(s[i]); i++)
				;
			if (i == start)
				return (false);
		}
	}
}

/*
 * step_chunk_size(p, buf, len, err, errlen): read a chunk-size line (RFC 9112 §7.1).
 */
static int
step_chunk_size(struct httpc_parser *p, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t eol, next, i, room;
	uint64_t size = 0;
	int d;

	if (!line_find(buf, len, p->pos, p->seek, &eol, &next)) {
		p->seek = len;
		if (len - p->pos > HTTPC_MAX_CHUNK_LINE) {
			str_errf(err, errlen, "chunk-size line longer than %d bytes", HTTPC_MAX_CHUNK_LINE);
			return (HTTPC_PARSE_ERROR);
		}
		return (HTTPC_PARSE_MORE);
	}
	if (next - p->pos > HTTPC_MAX_CHUNK_LINE) {
		str_errf(err, errlen, "chunk-size line longer than %d bytes", HTTPC_MAX_CHUNK_LINE);
		return (HTTPC_PARSE_ERROR);
	}
	room = p->max_body - p->body.len;
	for (i = p->pos; i < eol && (d = hex_digit((unsigned char)buf[i])) != -1; i++) {
		/* size <= room / 16 keeps size * 16 + d from wrapping. */
		if (size > room / 16 || (size = size * 16 + (uint64_t)d) > room) {
			str_errf(err, errlen, "response body larger than %zu bytes", p->max_body);
			return (HTTPC_PARSE_ERROR);
		}
	}
	if (i == p->pos || !chunk_ext_ok(buf + i, eol - i)) {
		str_errf(err, errlen, "invalid chunk size");
		return (HTTPC_PARSE_ERROR);
	}
	if (framing_add(p, next - p->pos, err, errlen) == -1)
		return (HTTPC_PARSE_ERROR);
	p->pos = next;
	if (size == 0) {
		p->state = HTTPC_PS_TRAILERS;
		p->scan = p->pos;
	} else {
		p->expect = p->left = size;
		p->state = HTTPC_PS_CHUNK_DATA;
	}
	return (STEP_NEXT);
}

/*
 * step_chunk_crlf(p, buf, len, err, errlen): the line end after chunk-data.
 */
static int
step_chunk_crlf(struct httpc_parser *p, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t n;

	if (len - p->pos == 0 || (buf[p->pos] == '\r' && len - p->pos == 1))
		return (HTTPC_PARSE_MORE);
	if (buf[p->pos] == '\n')
		n = 1;
	else if (buf[p->pos] == '\r' && buf[p->pos + 1] == '\n')
		n = 2;
	else {
		str_errf(err, errlen, "chunk data not followed by CRLF");
		return (HTTPC_PARSE_ERROR);
	}
	if (framing_add(p, n, err, errlen) == -1)
		return (HTTPC_PARSE_ERROR);
	p->pos += n;
	p->state = HTTPC_PS_CHUNK_SIZE;
	return (STEP_NEXT);
}

/*
 * step_trailers(p, buf, len, err, errlen): the trailer section (RFC 9112 §7.1.2), checked and dropped.
 */
static int
step_trailers(struct httpc_parser *p, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t limit, end, at, eol, next, nlen, voff, vlen;
	int rc;

	limit = httpc_framing_max(p->max_body) - p->framing;
	if (limit > HTTPC_MAX_HEADER_BYTES)
		limit = HTTPC_MAX_HEADER_BYTES;
	if ((rc = section_find(p, buf, len, limit, &end)) == HTTPC_PARSE_ERROR)
		str_errf(err, errlen, "trailer section longer than %zu bytes", limit);
	if (rc != HTTPC_PARSE_DONE)
		return (rc);
	for (at = p->pos; line_find(buf, end, at, 0, &eol, &next) && eol > at; at = next) {
		if (is_ows(buf[at]) || field_split(buf + at, eol - at, &nlen, &voff, &vlen) == -1) {
			str_errf(err, errlen, "malformed trailer field");
			return (HTTPC_PARSE_ERROR);
		}
	}
	p->framing += end - p->pos;
	p->pos = end;
	p->state = HTTPC_PS_DONE;
	return (STEP_NEXT);
}

/*
 * truncated(p, len, err, errlen): the sentence for a connection that ended before the response did.
 */
static void
truncated(const struct httpc_parser *p, size_t len, char *err, size_t errlen)
{
	switch (p->state) {
	case HTTPC_PS_HEAD:
		if (len == 0)
			str_errf(err, errlen, "empty response");
		else
			str_errf(err, errlen, "connection closed before the end of the response headers");
		break;
	case HTTPC_PS_LENGTH:
		str_errf(err, errlen, "response body truncated: %llu of %llu bytes",
		    (unsigned long long)(p->expect - p->left), (unsigned long long)p->expect);
		break;
	default:
		str_errf(err, errlen, "chunked response body truncated");
		break;
	}
}

/** httpc_parser_init(p, max_body, head): an empty parser; ${max_body} 0 means HTTPC_DEFAULT_MAX_BODY; ${head}:
 * the request was HEAD.  Release with httpc_parser_release. */
void
httpc_parser_init(struct httpc_parser *p, size_t max_body, bool head)
{
	memset(p, 0, sizeof(*p));
	p->state = HTTPC_PS_HEAD;
	p->max_body = max_body == 0 ? HTTPC_DEFAULT_MAX_BODY : max_body;
	p->no_body = head;
	buf_init(&p->body);
	p->body.max = p->max_body;
}

/** httpc_parser_feed(p, buf, len, eof, err, errlen): go on parsing the ${len} bytes at ${buf}, of which the
 * first p->pos are the ones fed before (unchanged); ${eof}: nothing more will come.  HTTPC_PARSE_DONE when a
 * response is complete (bytes after it are an error), HTTPC_PARSE_MORE when it needs more input (never with
 * ${eof}), HTTPC_PARSE_ERROR and a sentence in ${err}.  The response is allocated on the first call. */
int
httpc_parser_feed(struct httpc_parser *p, const char *buf, size_t len, bool eof, char *err, size_t errlen)
{
	int rc;

	if (p->state == HTTPC_PS_FAILED || len < p->pos || (buf == NULL && len > 0)) {
		str_errf(err, errlen, "malformed response");
		goto fail;
	}
	if (p->resp == NULL && (p->resp = calloc(1, sizeof(*p->resp))) == NULL) {
		str_errf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		switch (p->state) {
		case HTTPC_PS_HEAD:
			rc = step_head(p, buf, len, err, errlen);
			break;
		case HTTPC_PS_LENGTH:
			rc = step_data(p, buf, len, HTTPC_PS_DONE, err, errlen);
			break;
		case HTTPC_PS_CLOSE:
			if (body_add(p, buf + p->pos, len - p->pos, err, errlen) == -1)
				goto fail;
			p->pos = len;
			if (!eof)
				return (HTTPC_PARSE_MORE);
			p->state = HTTPC_PS_DONE;
			rc = STEP_NEXT;
			break;
		case HTTPC_PS_CHUNK_SIZE:
			rc = step_chunk_size(p, buf, len, err, errlen);
			break;
		case HTTPC_PS_CHUNK_DATA:
			rc = step_data(p, buf, len, HTTPC_PS_CHUNK_CRLF, err, errlen);
			break;
		case HTTPC_PS_CHUNK_CRLF:
			rc = step_chunk_crlf(p, buf, len, err, errlen);
			break;
		case HTTPC_PS_TRAILERS:
			rc = step_trailers(p, buf, len, err, errlen);
			break;
		case HTTPC_PS_DONE:
			/* One request per connection: anything after the response is not ours to ignore. */
			if (p->pos < len) {
				str_errf(err, errlen, "%zu bytes of extra data after the response", len - p->pos);
				goto fail;
			}
			return (HTTPC_PARSE_DONE);
		default:
			str_errf(err, errlen, "malformed response");
			goto fail;
		}
		if (rc == HTTPC_PARSE_ERROR)
			goto fail;
		if (rc == HTTPC_PARSE_MORE) {
			if (!eof)
				return (HTTPC_PARSE_MORE);
			truncated(p, len, err, errlen);
			goto fail;
		}
	}
fail:
	p->state = HTTPC_PS_FAILED;
	return (HTTPC_PARSE_ERROR);
}

/** httpc_parser_take(p): the response after HTTPC_PARSE_DONE (the caller frees it with httpc_response_free),
 * NULL on memory failure or when no response is complete. */
struct httpc_response *
httpc_parser_take(struct httpc_parser *p)
{
	struct httpc_response *r;

	if (p->state != HTTPC_PS_DONE || p->resp == NULL || p->body.err)
		return (NULL);
	r = p->resp;
	r->body_len = p->body.len;
	if ((r->body = buf_steal(&p->body)) == NULL)
		return (NULL);
	p->resp = NULL;
	return (r);
}

/** httpc_parser_release(p): free what ${p} holds. */
void
httpc_parser_release(struct httpc_parser *p)
{
	httpc_response_free(p->resp);
	p->resp = NULL;
	buf_release(&p->body);
}

/** httpc_parse_response(buf, len, max_body, out, err, errlen): parse one complete HTTP/1.1 response held in
 * ${buf} (status line, headers, body by Content-Length, chunked encoding or end of data; no bytes after it).
 * ${max_body} 0 means HTTPC_DEFAULT_MAX_BODY, as in struct httpc_opts.  0 and a new *${out} (free it with
 * httpc_response_free); -1, *${out} NULL and a sentence in ${err} when malformed or over a limit. */
int
httpc_parse_response(
    const char *buf, size_t len, size_t max_body, struct httpc_response **out, char *err, size_t errlen)
{
	struct httpc_parser p;
	int ret = -1;

	*out = NULL;
	httpc_parser_init(&p, max_body, false);
	if (httpc_parser_feed(&p, buf, len, true, err, errlen) != HTTPC_PARSE_DONE)
		goto out;
	if ((*out = httpc_parser_take(&p)) == NULL) {
		str_errf(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	httpc_parser_release(&p);
	return (ret);
}

/** httpc_header(r, name): the first value of header ${name} (case-insensitive), or NULL. */
const char *
httpc_header(const struct httpc_response *r, const char *name)
{
	size_t i;

	if (r == NULL || name == NULL)
		return (NULL);
	for (i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return (r->headers[i].value);
	return (NULL);
}

/** httpc_response_free(r): free ${r}, its headers and its body (zeroed first: it may hold tokens); NULL is a
 * no-op. */
void
httpc_response_free(struct httpc_response *r)
{
	if (r == NULL)
		return;
	headers_clear(r);
	if (r->body != NULL) {
		explicit_bzero(r->body, r->body_len);
		free(r->body);
	}
	free(r);
}
