/*
 * parse.c: the parsers of untrusted HTTP input.  Pure C: no libmicrohttpd here, so unit tests and the fuzz
 * harnesses (tests/fuzz/fuzz_form.c, fuzz_cookie.c, fuzz_auth.c) link it alone.
 *
 *  - Forms and query strings: the WHATWG URL Standard §5.1 "application/x-www-form-urlencoded parsing"
 *    (split on '&', skip empty pieces, the first '=' splits name from value, '+' is a space, then %XX),
 *    made strict: a '%' not followed by two hex digits and any NUL byte, raw or decoded, reject the whole
 *    form, because RFC 6749 clients never send them and a value that two parsers read differently is a bug
 *    waiting for an attacker.
 *  - Cookie headers: RFC 6265 §4.2.1 (cookie-string = cookie-pair *( ";" SP cookie-pair )) and §5.4 (what
 *    user agents send), tolerant of missing and extra whitespace; §4.1.1 quoted values lose their quotes.
 *  - Authorization headers: RFC 7235 §2.1 (credentials = auth-scheme 1*SP token68, the scheme
 *    case-insensitive), RFC 7617 §2 (Basic: base64 of user-id ":" password, split at the first colon),
 *    RFC 6749 §2.3.1 (client_id and client_secret are form-urlencoded before Basic encoding), RFC 6750 §2.1
 *    (Bearer token68 syntax).
 *
 * Limits (SECURITY.md 15): at most HTTP_MAX_PAIRS pairs per form or Cookie header, counted before anything
 * is allocated; Authorization credentials of at most AUTH_MAX_TOKEN bytes.
 *
 * Memory: every name and every value is its own NUL-terminated heap string and the pairs array is sized by
 * the counting pass, so a form costs at most 2 * HTTP_MAX_PAIRS + 1 allocations and time linear in its
 * length; a struct form built elsewhere (server.c) with malloc'd names and values is released the same way.
 * Values can be secrets (client_secret, password), so form_release zeroes them before freeing.
 *
 * Errors: form_parse and cookie_parse set errno to EINVAL for bad input and leave ENOMEM (logged) for memory
 * failure, so a caller can tell 400 from 500.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define AUTH_MAX_TOKEN 16384 /* bytes of Basic or Bearer credentials: a JWT access token is a few KiB */

/* A piece of the input: ${len} bytes at ${p}, not NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/*
 * secure_free(p, n): zero ${n} bytes at ${p} and free it; NULL is a no-op.
 */
static void
secure_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

/*
 * urldecode(s, len, out): form-urldecode ${len} bytes of ${s} into ${out}, which has room for ${len} + 1
 * bytes, and NUL-terminate it: '+' is a space, %XX is a byte.  -1 on a '%' not followed by two hex digits
 * ("%G1", "%4", a trailing '%') and on a NUL byte, raw or decoded (a C string cannot carry it, and a value
 * cut short at a NUL reads differently to different code).  ${out} may hold garbage after -1.
 */
static int
urldecode(const char *s, size_t len, char *out)
{
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (len - i < 3 || (hi = hex_digit((unsigned char)s[i + 1])) == -1 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) == -1)
				return (-1);
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return (-1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

/*
 * urldecode_dup(s, len, out): the form-urldecoding of ${len} bytes of ${s} as a new string in *out, which
 * the caller frees.  -1 with *out NULL on bad input (errno EINVAL) or memory (errno ENOMEM, logged).
 */
static int
urldecode_dup(const char *s, size_t len, char **out)
{
	char *p;

	*out = NULL;
	if (len == SIZE_MAX) {
		errno = EINVAL;
		return (-1);
	}
	if ((p = malloc(len + 1)) == NULL) {
		log_warn("urldecode");
		return (-1);
	}
	if (urldecode(s, len, p) == -1) {
		secure_free(p, len + 1);
		errno = EINVAL;
		return (-1);
	}
	*out = p;
	return (0);
}

/*
 * span_dup(sp): ${sp} as a new NUL-terminated string (the caller frees it), or NULL (logged).
 */
static char *
span_dup(struct span sp)
{
	char *p;

	if (sp.len == SIZE_MAX || (p = malloc(sp.len + 1)) == NULL) {
		log_warn("span_dup");
		return (NULL);
	}
	memcpy(p, sp.p, sp.len);
	p[sp.len] = '\0';
	return (p);
}

/*
 * form_next(p, end, piece): the piece of [*p, end) up to the next '&' in ${piece}; advances *p past the '&'.
 * false when *p is at ${end}.
 */
static bool
form_next(const char **p, const char *end, struct span *piece)
{
	const char *amp;

	if (*p >= end)
		return (false);
	if ((amp = memchr(*p, '&', (size_t)(end - *p))) == NULL)
		amp = end;
	piece->p = *p;
	piece->len = (size_t)(amp - *p);
	*p = amp == end ? end : amp + 1;
	return (true);
}

/** form_parse(s, len, f): parse ${len} bytes of x-www-form-urlencoded text at ${s} (need not be
 * NUL-terminated; NULL when ${len} is 0) into ${f}, which it initialises.  Empty pieces ("a=1&&b=2") are
 * skipped, a name without '=' gets the value "", duplicates are all kept in order.  -1 on a bad %-escape, a
 * NUL byte (raw or %00) or more than HTTP_MAX_PAIRS pairs (errno EINVAL), or on memory failure (ENOMEM,
 * logged); ${f} is then empty.  The caller releases ${f} with form_release. */
int
form_parse(const char *s, size_t len, struct form *f)
{
	const char *p, *end, *eq;
	struct span piece;
	struct kv *kv;
	size_t n = 0;
	int ret = -1, saved_errno;

	if (f == NULL) {
		errno = EINVAL;
		return (-1);
	}
	f->pairs = NULL;
	f->n = 0;
	if (len == 0)
		return (0);
	if (s == NULL) {
		errno = EINVAL;
		return (-1);
	}
	end = s + len;

	/* SECURITY.md 15: count first, so an oversized form is refused before anything is allocated. */
	for (p = s; form_next(&p, end, &piece);) {
		if (piece.len > 0 && ++n > HTTP_MAX_PAIRS) {
			errno = EINVAL;
			goto out;
		}
	}
	if (n == 0)
		return (0);
	if ((f->pairs = calloc(n, sizeof(*f->pairs))) == NULL) {
		log_warn("form_parse");
		goto out;
	}

	for (p = s; form_next(&p, end, &piece);) {
		if (piece.len == 0)
			continue;
		kv = &f->pairs[f->n];
		/* WHATWG: split at the first '=' before decoding, so "%3D" never splits. */
		if ((eq = memchr(piece.p, '=', piece.len)) == NULL)
			eq = piece.p + piece.len;
		if (urldecode_dup(piece.p, (size_t)(eq - piece.p), &kv->name) == -1)
			goto out;
		f->n++; /* from here form_release frees the name */
		if (eq == piece.p + piece.len) {
			if ((kv->value = span_dup((struct span){ "", 0 })) == NULL)
				goto out;
		} else if (urldecode_dup(eq + 1, piece.len - (size_t)(eq - piece.p) - 1, &kv->value) == -1)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		saved_errno = errno;
		form_release(f);
		errno = saved_errno;
	}
	return (ret);
}

/** form_get(f, name): the first value of ${name} in ${f} (borrowed from ${f}), or NULL when absent or when
 * either argument is NULL. */
const char *
form_get(const struct form *f, const char *name)
{
	size_t i;

	if (f == NULL || name == NULL)
		return (NULL);
	for (i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, name) == 0)
			return (f->pairs[i].value);
	return (NULL);
}

/** form_count(f, name): how many times ${name} occurs in ${f} (RFC 6749 §3.1: parameters must not repeat);
 * 0 when either argument is NULL. */
size_t
form_count(const struct form *f, const char *name)
{
	size_t i, n = 0;

	if (f == NULL || name == NULL)
		return (0);
	for (i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, name) == 0)
			n++;
	return (n);
}

/** form_release(f): zero and free every name and value (each its own heap string; NULL entries are
 * skipped) and the pairs array; ${f} becomes empty.  NULL is a no-op, and so is releasing twice. */
void
form_release(struct form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		if (f->pairs[i].name != NULL)
			secure_free(f->pairs[i].name, strlen(f->pairs[i].name));
		if (f->pairs[i].value != NULL)
			secure_free(f->pairs[i].value, strlen(f->pairs[i].value));
	}
	free(f->pairs);
	f->pairs = NULL;
	f->n = 0;
}

/*
 * is_ows(c): RFC 7230 §3.2.3 optional whitespace: SP or HTAB.
 */
static bool
is_ows(char c)
{
	return (c == ' ' || c == '\t');
}

/*
 * span_trim(sp): ${sp} without leading and trailing whitespace.
 */
static struct span
span_trim(struct span sp)
{
	while (sp.len > 0 && is_ows(sp.p[0])) {
		sp.p++;
		sp.len--;
	}
	while (sp.len > 0 && is_ows(sp.p[sp.len - 1]))
		sp.len--;
	return (sp);
}

/*
 * cookie_next(p, name, value): the next ';'-separated piece of the NUL-terminated *p, advancing *p past it;
 * false at the end of the string.  When the piece is a cookie-pair, ${name} and ${value} hold it trimmed,
 * with one pair of surrounding double quotes removed from the value (RFC 6265 §4.1.1 cookie-value); when it
 * has no '=' or an empty name it is not one, and name->len is 0.
 */
static bool
cookie_next(const char **p, struct span *name, struct span *value)
{
	const char *semi, *eq;
	struct span piece;

	if (**p == '\0')
		return (false);
	if ((semi = strchr(*p, ';')) == NULL)
		semi = *p + strlen(*p);
	piece.p = *p;
	piece.len = (size_t)(semi - *p);
	*p = *semi == ';' ? semi + 1 : semi;

	name->p = piece.p;
	name->len = 0;
	value->p = piece.p;
	value->len = 0;
	if ((eq = memchr(piece.p, '=', piece.len)) == NULL)
		return (true);
	*name = span_trim((struct span){ piece.p, (size_t)(eq - piece.p) });
	*value = span_trim((struct span){ eq + 1, piece.len - (size_t)(eq - piece.p) - 1 });
	if (value->len >= 2 && value->p[0] == '"' && value->p[value->len - 1] == '"') {
		value->p++;
		value->len -= 2;
	}
	return (true);
}

/** cookie_parse(header, f): parse the Cookie header ${header} ("a=1; b=2"; NULL means no header) into ${f},
 * which it initialises: names and values trimmed of whitespace, one pair of surrounding double quotes
 * removed from values, values not %-decoded; pieces without '=' or with an empty name are skipped;
 * duplicates are kept in order (RFC 6265 §5.4: the most specific path first, so form_get takes that one).
 * -1 on more than HTTP_MAX_PAIRS pairs (errno EINVAL) or on memory failure (ENOMEM, logged); ${f} is then
 * empty.  The caller releases ${f} with form_release. */
int
cookie_parse(const char *header, struct form *f)
{
	struct span name, value;
	const char *p;
	struct kv *kv;
	size_t n = 0;
	int ret = -1, saved_errno;

	if (f == NULL) {
		errno = EINVAL;
		return (-1);
	}
	f->pairs = NULL;
	f->n = 0;
	if (header == NULL)
		return (0);

	/* SECURITY.md 15: count first, so an oversized header is refused before anything is allocated. */
	for (p = header; cookie_next(&p, &name, &value);) {
		if (name.len > 0 && ++n > HTTP_MAX_PAIRS) {
			errno = EINVAL;
			goto out;
		}
	}
	if (n == 0)
		return (0);
	if ((f->pairs = calloc(n, sizeof(*f->pairs))) == NULL) {
		log_warn("cookie_parse");
		goto out;
	}

	for (p = header; cookie_next(&p, &name, &value);) {
		if (name.len == 0)
			continue;
		kv = &f->pairs[f->n];
		if ((kv->name = span_dup(name)) == NULL)
			goto out;
		f->n++; /* from here form_release frees the name */
		if ((kv->value = span_dup(value)) == NULL)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		saved_errno = errno;
		form_release(f);
		errno = saved_errno;
	}
	return (ret);
}

/*
 * auth_credentials(header, scheme): RFC 7235 §2.1: when ${header} starts with the auth-scheme ${scheme}
 * (ASCII case-insensitive) followed by at least one SP, the rest after the spaces; else NULL.
 */
static const char *
auth_credentials(const char *header, const char *scheme)
{
	size_t i;
	char c;

	if (header == NULL)
		return (NULL);
	for (i = 0; scheme[i] != '\0'; i++) {
		c = header[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != scheme[i]) /* ${scheme} is lower case; also stops at the header's NUL */
			return (NULL);
	}
	if (header[i] != ' ')
		return (NULL);
	while (header[i] == ' ')
		i++;
	return (header + i);
}

/*
 * token68_len(s, extra): the length of the token68 (RFC 7235 §2.1: 1*( ALPHA / DIGIT / ${extra} ) *"=")
 * that is the whole NUL-terminated ${s}, or 0 when ${s} is not one or is longer than AUTH_MAX_TOKEN.
 * Reads at most AUTH_MAX_TOKEN + 1 bytes.
 */
static size_t
token68_len(const char *s, const char *extra)
{
	size_t i = 0;
	char c;

	for (; i <= AUTH_MAX_TOKEN && (c = s[i]) != '\0'; i++) {
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        strchr(extra, c) != NULL))
			break;
	}
	if (i == 0)
		return (0);
	while (i <= AUTH_MAX_TOKEN && s[i] == '=')
		i++;
	if (i > AUTH_MAX_TOKEN || s[i] != '\0')
		return (0);
	return (i);
}

/** auth_parse_basic(header, user, pass): the RFC 7617 Basic credentials of the Authorization header
 * ${header}: scheme case-insensitive, one or more SP, standard padded base64 of at most AUTH_MAX_TOKEN
 * bytes and nothing after; the decoded text is split at its first ':' and each part form-urldecoded
 * (RFC 6749 §2.3.1: '+' is a space, %XX a byte, so a secret may hold an encoded ':').  On success *user and
 * *pass are new strings the caller frees (zeroing *pass, e.g. with str_secure_free).  -1 with both NULL when
 * the header is absent or not valid Basic (no colon, bad base64 or %-escape, a NUL byte) or on memory
 * failure.  The decoded intermediate is zeroed before it is freed. */
int
auth_parse_basic(const char *header, char **user, char **pass)
{
	unsigned char *dec = NULL;
	const char *tok, *colon;
	char *u = NULL, *pw = NULL;
	size_t declen = 0, tlen, ulen;
	int ret = -1;

	if (user != NULL)
		*user = NULL;
	if (pass != NULL)
		*pass = NULL;
	if (user == NULL || pass == NULL)
		goto out;
	if ((tok = auth_credentials(header, "basic")) == NULL)
		goto out;
	/* RFC 4648 §4: the standard alphabet only; b64_decode checks padding and canonical bits. */
	if ((tlen = token68_len(tok, "+/")) == 0)
		goto out;
	if (b64_decode(tok, tlen, &dec, &declen) == -1)
		goto out;
	if (memchr(dec, '\0', declen) != NULL)
		goto out;
	/* RFC 7617 §2: the user-id cannot contain a colon, so the first one splits. */
	if ((colon = memchr(dec, ':', declen)) == NULL)
		goto out;
	ulen = (size_t)(colon - (const char *)dec);
	if (urldecode_dup((const char *)dec, ulen, &u) == -1 || urldecode_dup(colon + 1, declen - ulen - 1, &pw) == -1)
		goto out;
	*user = u;
	*pass = pw;
	u = pw = NULL;
	ret = 0;
out:
	secure_free(dec, declen);
	if (u != NULL)
		secure_free(u, strlen(u));
	if (pw != NULL)
		secure_free(pw, strlen(pw));
	return (ret);
}

/** auth_parse_bearer(header): the RFC 6750 §2.1 token of the Authorization header ${header}: "Bearer"
 * (case-insensitive), one or more SP, then a token68 of 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
 * "/" ) *"=" of at most AUTH_MAX_TOKEN bytes and nothing after.  A new string the caller frees (it is a
 * secret: zero it first, e.g. with str_secure_free); NULL when ${header} is NULL or not valid Bearer, or on
 * memory failure (logged). */
char *
auth_parse_bearer(const char *header)
{
	const char *tok;
	size_t tlen;

	if ((tok = auth_credentials(header, "bearer")) == NULL)
		return (NULL);
	if ((tlen = token68_len(tok, "-._~+/")) == 0)
		return (NULL);
	return (span_dup((struct span){ tok, tlen }));
}
