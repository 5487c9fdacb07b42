/*
 * str.c: string helpers, the bounded integer parser that replaces atoi, and the two output encoders:
 * percent-encoding (RFC 3986 §2.1, §2.3) and HTML escaping (HTML 5 §13.1.2.6 character references).
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/** xstrdup(s): strdup that returns NULL for NULL (and on memory failure). */
char *
xstrdup(const char *s)
{
	return (s == NULL ? NULL : strdup(s));
}

/** xstrndup(s, n): copy at most ${n} bytes of ${s} plus a NUL; NULL for NULL or on memory failure. */
char *
xstrndup(const char *s, size_t n)
{
	return (s == NULL ? NULL : strndup(s, n));
}

/** str_lower(s): lower-case ASCII letters of ${s} in place (locale independent); returns ${s}. */
char *
str_lower(char *s)
{
	char *p;

	if (s == NULL)
		return (NULL);
	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return (s);
}

/** str_has_prefix(s, prefix): true when ${s} starts with ${prefix}; false when either is NULL. */
bool
str_has_prefix(const char *s, const char *prefix)
{
	if (s == NULL || prefix == NULL)
		return (false);
	return (strncmp(s, prefix, strlen(prefix)) == 0);
}

/** str_parse_i64(s, min, max, out): strict decimal parse of ${s} into *${out}: ASCII digits only, one leading
 * '-' only when ${min} < 0, no '+', no spaces, no trailing bytes, at least one digit (leading zeros are
 * accepted: the base is always 10).  -1, with *${out} untouched, when invalid or outside [${min}, ${max}]. */
int
str_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *p;
	uint64_t v = 0, lim;
	bool neg = false;

	if (s == NULL || min > max)
		return (-1);
	p = s;
	if (*p == '-') {
		if (min >= 0)
			return (-1);
		neg = true;
		p++;
	}
	if (*p == '\0')
		return (-1);
	/* Magnitude limit: |INT64_MIN| = INT64_MAX + 1. */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (-1);
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (neg) {
		int64_t r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;

		if (r < min || r > max)
			return (-1);
		*out = r;
	} else {
		if (v > (uint64_t)INT64_MAX || (int64_t)v < min || (int64_t)v > max)
			return (-1);
		*out = (int64_t)v;
	}
	return (0);
}

/** str_list_contains(list, word): true when ${word} is one of the items of the space-separated ${list}
 * (exact, case-sensitive match); false for NULL or an empty ${word}. */
bool
str_list_contains(const char *list, const char *word)
{
	const char *p, *e;
	size_t wlen;

	if (list == NULL || word == NULL || (wlen = strlen(word)) == 0)
		return (false);
	for (p = list; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if ((size_t)(e - p) == wlen && memcmp(p, word, wlen) == 0)
			return (true);
	}
	return (false);
}

/** str_secure_free(s): zero and free the string ${s}; NULL is a no-op. */
void
str_secure_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static bool
str_unreserved(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	    c == '_' || c == '~');
}

/** url_encode(s): percent-encode every byte of ${s} but the unreserved characters (RFC 3986 §2.3), with
 * upper-case hex digits (§2.1); the caller frees the result; NULL for NULL or on memory failure. */
char *
url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;
	char *out, *q;

	if (s == NULL)
		return (NULL);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		n += str_unreserved(*p) ? 1 : 3;
	if ((out = malloc(n + 1)) == NULL)
		return (NULL);
	for (p = (const unsigned char *)s, q = out; *p != '\0'; p++) {
		if (str_unreserved(*p))
			*q++ = (char)*p;
		else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 0x0f];
		}
	}
	*q = '\0';
	return (out);
}

/** html_escape(b, s): append ${s} to ${b} with & < > " ' replaced by &amp; &lt; &gt; &quot; &#39;, safe in
 * element content and in quoted attribute values; NULL appends nothing.  -1 (and b->err) on failure. */
int
html_escape(struct buf *b, const char *s)
{
	const char *p, *run, *rep;

	if (s == NULL)
		return (b->err ? -1 : 0);
	for (p = run = s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (buf_append(b, run, (size_t)(p - run)) == -1 || buf_puts(b, rep) == -1)
			return (-1);
		run = p + 1;
	}
	return (buf_append(b, run, (size_t)(p - run)));
}

/** json_depth_ok(s, len, max): true when brackets outside strings nest at most ${max} deep. */
bool
json_depth_ok(const char *s, size_t len, int max)
{
	bool in_str = false, esc = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (s[i] == '\\')
				esc = true;
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"')
			in_str = true;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > max)
				return (false);
		} else if (s[i] == ']' || s[i] == '}')
			depth--;
	}
	return (true);
}

/** hex_digit(c): the value of the hexadecimal digit ${c}, or -1. */
int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/** str_errf(buf, len, fmt, ...): format a sentence into ${buf} when there is room for one. */
void
str_errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/** json_wipe_str(o, key): zero the string member ${key} of ${o}. */
void
json_wipe_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		explicit_bzero((char *)(uintptr_t)json_string_value(v), json_string_length(v));
}
