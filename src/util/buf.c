/*
 * buf.c: a growable, bounded byte buffer (after OpenBSD's ibuf and Redis's sds).
 *
 * Growth is geometric and never passes b->max, so an attacker-driven append cannot exhaust memory.  Growing
 * copies into a fresh allocation and zeroes the old one instead of realloc(3), so a buffer that held a secret
 * leaves no stale copy behind; buf_release zeroes too.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BUF_MIN_CAP 64 /* first allocation: most strings we build are short */

static size_t
buf_limit(const struct buf *b)
{
	return (b->max == 0 ? UTIL_BUF_DEFAULT_MAX : b->max);
}

/*
 * buf_reserve(b, n): make room for ${n} more bytes plus the NUL; -1 (and b->err) when that would pass the
 * limit or memory runs out.
 */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t limit = buf_limit(b), need, ncap;
	char *p;

	if (b->err)
		return (-1);
	if (n > limit || b->len > limit - n || b->len + n == SIZE_MAX) {
		b->err = true;
		return (-1);
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return (0);
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > need && ncap - 1 > limit)
		ncap = limit + 1; /* need - 1 <= limit, so this still fits */
	if ((p = malloc(ncap)) == NULL) {
		b->err = true;
		return (-1);
	}
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	} else
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return (0);
}

/** buf_init(b): make ${b} empty with the default limit. */
void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

/** buf_release(b): free the bytes of ${b} (zeroing them first); ${b} becomes empty (its max is kept). */
void
buf_release(struct buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = false;
}

/** buf_append(b, p, n): append ${n} bytes; -1 (and b->err) on overflow of b->max or memory.  Once b->err is
 * set every later append fails too, so the content never has a hole in it. */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

/** buf_puts(b, s): append the string ${s}. */
int
buf_puts(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}

/** buf_printf(b, fmt, ...): append formatted text; -1 (and b->err) on limit, memory or format error. */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;

	if (b->err)
		return (-1);
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1) {
		b->err = true;
		va_end(ap2);
		return (-1);
	}
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return (0);
}

/** buf_steal(b): return the NUL-terminated bytes (never NULL unless out of memory: "" for empty); the caller
 * frees them; ${b} becomes empty (err cleared, max kept).  The bytes are returned even when b->err is set:
 * callers that care check b->err first. */
char *
buf_steal(struct buf *b)
{
	char *p;

	if ((p = b->data) == NULL)
		p = strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = false;
	return (p);
}
