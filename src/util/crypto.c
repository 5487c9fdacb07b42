/*
 * crypto.c: randomness (getrandom(2)), constant-time comparison, base64 and base64url (RFC 4648 §4, §5),
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104, RFC 4231 vectors in the tests).
 *
 * This file is the only place that includes OpenSSL, and only for the two hash functions.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "util.h"

/** rand_bytes(p, n): fill ${p} with ${n} cryptographically secure random bytes from getrandom(2), blocking
 * until the kernel pool is initialised; -1 (logged) on failure. */
int
rand_bytes(void *p, size_t n)
{
	unsigned char *q = p;
	ssize_t r;

	while (n > 0) {
		/* Reads over 256 bytes may be short, and any read may be interrupted by a signal. */
		if ((r = getrandom(q, n, 0)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("getrandom");
			return (-1);
		}
		q += r;
		n -= (size_t)r;
	}
	return (0);
}

/** rand_token(nbytes): base64url (no padding) of ${nbytes} random bytes; the caller frees it (with
 * str_secure_free when it is a secret); NULL on failure. */
char *
rand_token(size_t nbytes)
{
	unsigned char *raw;
	char *tok = NULL;

	if (nbytes == 0 || (raw = malloc(nbytes)) == NULL)
		return (NULL);
	if (rand_bytes(raw, nbytes) == 0)
		tok = b64url_encode(raw, nbytes);
	explicit_bzero(raw, nbytes);
	free(raw);
	return (tok);
}

/** ct_equal(a, b, n): compare ${n} bytes of ${a} and ${b} in time that depends only on ${n}. */
bool
ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return (d == 0);
}

/** ct_streq(a, b): string equality in time that depends only on the lengths of ${a} and ${b} (a length
 * mismatch returns early); NULL never equals anything, not even NULL. */
bool
ct_streq(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return (false);
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return (false);
	return (ct_equal(a, b, la));
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* b64_value(c, alpha): the 6-bit value of ${c} in ${alpha}, or -1. */
static int
b64_value(unsigned char c, const char *alpha)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == (unsigned char)alpha[62])
		return (62);
	if (c == (unsigned char)alpha[63])
		return (63);
	return (-1);
}

/** b64url_encode(p, n): base64url (RFC 4648 §5) of ${n} bytes without padding; the caller frees it; NULL on
 * memory failure. */
char *
b64url_encode(const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t i, olen;
	char *out, *q;
	uint32_t v;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return (NULL);
	olen = n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
	if ((out = malloc(olen + 1)) == NULL)
		return (NULL);
	q = out;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*q++ = b64_url[v >> 18 & 0x3f];
		*q++ = b64_url[v >> 12 & 0x3f];
		*q++ = b64_url[v >> 6 & 0x3f];
		*q++ = b64_url[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*q++ = b64_url[v >> 18 & 0x3f];
		*q++ = b64_url[v >> 12 & 0x3f];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*q++ = b64_url[v >> 18 & 0x3f];
		*q++ = b64_url[v >> 12 & 0x3f];
		*q++ = b64_url[v >> 6 & 0x3f];
	}
	*q = '\0';
	return (out);
}

/*
 * b64_decode_alpha(s, slen, alpha, pad_required, out, outlen): the common decoder.  Accepts only characters
 * of ${alpha}, then '=' padding to a multiple of 4 (required or optional); rejects a length that leaves one
 * lone character and non-zero bits after the last byte (RFC 4648 §3.5: canonical encoding), so every byte
 * string has exactly one accepted encoding.
 */
static int
b64_decode_alpha(const char *s, size_t slen, const char *alpha, bool pad_required, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t i, n, npad = 0, rem, o = 0;
	uint32_t v = 0;
	int c, ret = -1;

	*out = NULL;
	*outlen = 0;
	if (s == NULL)
		goto out;
	/* Strip the padding: at most two '=', and only if it brings the length to a multiple of 4. */
	n = slen;
	while (n > 0 && s[n - 1] == '=' && npad < 2) {
		n--;
		npad++;
	}
	if (npad > 0 && slen % 4 != 0)
		goto out;
	if (pad_required && slen % 4 != 0)
		goto out;
	rem = n % 4;
	if (rem == 1)
		goto out;
	if (npad > 0 && npad != (4 - rem) % 4)
		goto out;
	if ((buf = malloc(n / 4 * 3 + 3)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((c = b64_value((unsigned char)s[i], alpha)) == -1)
			goto out;
		v = v << 6 | (uint32_t)c;
		if (i % 4 == 3) {
			buf[o++] = (unsigned char)(v >> 16);
			buf[o++] = (unsigned char)(v >> 8);
			buf[o++] = (unsigned char)v;
			v = 0;
		}
	}
	if (rem == 2) {
		if ((v & 0x0f) != 0)
			goto out;
		buf[o++] = (unsigned char)(v >> 4);
	} else if (rem == 3) {
		if ((v & 0x03) != 0)
			goto out;
		buf[o++] = (unsigned char)(v >> 10);
		buf[o++] = (unsigned char)(v >> 2);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	return (ret);
}

/** b64url_decode(s, slen, out, outlen): decode ${slen} bytes of base64url (RFC 4648 §5); correct '=' padding
 * is tolerated, nothing else (no whitespace, no '+' or '/', no non-canonical trailing bits).  On success *out
 * is NUL-terminated for convenience and the caller frees it; -1 with *out NULL on bad input or memory. */
int
b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	return (b64_decode_alpha(s, slen, b64_url, false, out, outlen));
}

/** b64_decode(s, slen, out, outlen): the same for standard base64 (RFC 4648 §4), padding required. */
int
b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	return (b64_decode_alpha(s, slen, b64_std, true, out, outlen));
}

/** sha256(p, n, out): SHA-256 of ${n} bytes into ${out}; a libcrypto failure is fatal (it cannot happen
 * short of a broken installation, and returning garbage would be worse). */
void
sha256(const void *p, size_t n, unsigned char out[UTIL_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != UTIL_SHA256_LEN)
		fatalx("sha256: EVP_Digest failed");
}

/** hmac_sha256(key, klen, p, n, out): HMAC-SHA-256 (RFC 2104) of ${n} bytes under a ${klen}-byte key;
 * a libcrypto failure is fatal, as for sha256. */
void
hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[UTIL_SHA256_LEN])
{
	static const unsigned char empty;
	unsigned int len = 0;

	if (klen > INT32_MAX)
		fatalx("hmac_sha256: key too long");
	/* HMAC() treats a NULL key as "reuse the previous key"; an empty key must be a real pointer. */
	if (key == NULL)
		key = &empty;
	if (p == NULL)
		p = &empty;
	if (HMAC(EVP_sha256(), key, (int)klen, p, n, out, &len) == NULL || len != UTIL_SHA256_LEN)
		fatalx("hmac_sha256: HMAC failed");
}

/** token_hash(s): base64url(SHA-256(${s})), how every bearer secret is stored and looked up; the caller
 * frees it; NULL for NULL or on memory failure. */
char *
token_hash(const char *s)
{
	unsigned char h[UTIL_SHA256_LEN];
	char *r;

	if (s == NULL)
		return (NULL);
	sha256(s, strlen(s), h);
	r = b64url_encode(h, sizeof(h));
	explicit_bzero(h, sizeof(h));
	return (r);
}
