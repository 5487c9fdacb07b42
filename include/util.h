/*
 * util.h: buffers, strings, numbers, time, randomness, constant-time
 * comparison, base64url and SHA-256.  No third-party headers leak from here;
 * src/util/ is the only code that includes OpenSSL (for hashing only).
 */
#ifndef ANCHORID_UTIL_H
#define ANCHORID_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A growable byte buffer, always NUL-terminated after a successful append. */
struct buf {
	char *data; /* heap bytes, NUL-terminated; NULL while empty */
	size_t len; /* bytes in use, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len; 0 means UTIL_BUF_DEFAULT_MAX */
	bool err;   /* sticky: an append failed (memory or max); data kept */
};

#define UTIL_BUF_DEFAULT_MAX (16u * 1024 * 1024) /* no response is ever this big */

/** buf_init(b): make ${b} empty with the default limit. */
void buf_init(struct buf *b);
/** buf_release(b): free the bytes of ${b} (zeroing them first); ${b} becomes empty. */
void buf_release(struct buf *b);
/** buf_append(b, p, n): append ${n} bytes; -1 (and b->err) on overflow of b->max or memory. */
int buf_append(struct buf *b, const void *p, size_t n);
/** buf_puts(b, s): append the string ${s}. */
int buf_puts(struct buf *b, const char *s);
/** buf_printf(b, fmt, ...): append formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** buf_steal(b): return the NUL-terminated bytes (never NULL unless out of memory: "" for empty);
 * the caller frees them; ${b} becomes empty. */
char *buf_steal(struct buf *b);

/** xstrdup(s): strdup that returns NULL for NULL. */
char *xstrdup(const char *s);
/** xstrndup(s, n). */
char *xstrndup(const char *s, size_t n);
/** str_lower(s): lower-case ASCII letters of ${s} in place; returns ${s}. */
char *str_lower(char *s);
/** str_has_prefix(s, prefix). */
bool str_has_prefix(const char *s, const char *prefix);
/** str_parse_i64(s, min, max, out): strict decimal parse (no sign for >= 0 ranges unless min < 0,
 * no spaces, no trailing bytes); -1 when invalid or out of range. Replaces atoi. */
int str_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/** str_list_contains(space_separated, word): true when ${word} is one of the space-separated items. */
bool str_list_contains(const char *list, const char *word);
/** str_errf(buf, len, fmt, ...): format a sentence into ${buf} when there is room for one (${buf} may be NULL:
 * the caller did not ask why). */
void str_errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** str_secure_free(s): zero and free the string ${s}; NULL is a no-op. */
void str_secure_free(char *s);
/** hex_digit(c): the value of the hexadecimal digit ${c} (either case), or -1. */
int hex_digit(unsigned char c);
/** url_encode(s): percent-encode everything but unreserved characters (RFC 3986 §2.3); caller frees. */
char *url_encode(const char *s);
/** json_wipe_str(o, key): zero the string member ${key} of ${o} before ${o} is freed: jansson holds its own copy
 * of a secret put into an object and frees it without zeroing.  Anything else is left alone. */
void json_wipe_str(json_t *o, const char *key);
/** json_depth_ok(s, len, max): true when the JSON text ${s} nests arrays and objects (brackets outside strings)
 * at most ${max} deep; checked before parsing, since jansson's own limit is 2048.  Malformed text is left for the
 * parser to reject. */
bool json_depth_ok(const char *s, size_t len, int max);
/** html_escape(b, s): append ${s} to ${b} with & < > " ' escaped. */
int html_escape(struct buf *b, const char *s);

/** time_now(): seconds since the epoch (wall clock). */
int64_t time_now(void);
/** time_mono_ms(): monotonic milliseconds, for durations. */
uint64_t time_mono_ms(void);

/** rand_bytes(p, n): fill with cryptographically secure random bytes (getrandom); -1 on failure. */
int rand_bytes(void *p, size_t n);
/** rand_token(nbytes): base64url (no padding) of ${nbytes} random bytes; caller frees; NULL on failure. */
char *rand_token(size_t nbytes);

/** ct_equal(a, b, n): constant-time comparison of ${n} bytes. */
bool ct_equal(const void *a, const void *b, size_t n);
/** ct_streq(a, b): constant-time string equality (time depends only on the lengths); NULL never equals. */
bool ct_streq(const char *a, const char *b);

/** b64url_encode(p, n): base64url without padding; caller frees; NULL on memory failure. */
char *b64url_encode(const void *p, size_t n);
/** b64url_decode(s, slen, out, outlen): decode base64url (padding tolerated, nothing else); the caller frees
 * *out (NUL-terminated for convenience); -1 on bad input. */
int b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);
/** b64_decode(s, slen, out, outlen): the same for standard base64 (RFC 4648 §4), padding required. */
int b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);

#define UTIL_SHA256_LEN 32
/** sha256(p, n, out): SHA-256 of ${n} bytes. */
void sha256(const void *p, size_t n, unsigned char out[UTIL_SHA256_LEN]);
/** hmac_sha256(key, klen, p, n, out). */
void hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[UTIL_SHA256_LEN]);
/** token_hash(s): base64url(SHA-256(${s})): how every bearer secret is stored and looked up; caller frees. */
char *token_hash(const char *s);

#endif
