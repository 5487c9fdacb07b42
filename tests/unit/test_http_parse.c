/*
 * test_http_parse.c: the parsers of untrusted HTTP input in src/http/parse.c: forms and query strings,
 * Cookie headers, and Basic and Bearer Authorization headers.  Inputs are copied into exactly-sized heap
 * buffers where the parser takes a length, so AddressSanitizer catches any read past the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "test.h"

#define BIG_TOKEN 16384		/* parse.c AUTH_MAX_TOKEN */

/* parse(s, len, f): form_parse over an exact heap copy of ${len} bytes of ${s} (no NUL after them). */
static int
parse(const char *s, size_t len, struct form *f)
{
	char *copy;
	int ret;

	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	memcpy(copy, s, len);
	ret = form_parse(copy, len, f);
	free(copy);
	return (ret);
}

/* parse_str(s, f): parse the string ${s}. */
static int
parse_str(const char *s, struct form *f)
{
	return (parse(s, strlen(s), f));
}

/* form_rejects(s): true when ${s} is refused with EINVAL and leaves the form empty. */
static bool
form_rejects(const char *s, size_t len)
{
	struct form f = { (struct kv *)&f, 99 };	/* garbage: form_parse must initialise */
	int ret;

	errno = 0;
	ret = parse(s, len, &f);
	return (ret == -1 && errno == EINVAL && f.pairs == NULL && f.n == 0);
}

/* pairs_text(n, sep): "p0=0<sep>p1=1..." with ${n} pairs; the caller frees. */
static char *
pairs_text(size_t n, const char *sep)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%sp%zu=%zu", i == 0 ? "" : sep, i, i);
	return (buf_steal(&b));
}

/* b64(p, n): standard padded base64 of ${n} bytes (RFC 4648 §4); the caller frees. */
static char *
b64(const void *p, size_t n)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = p;
	char *out, *q;
	unsigned v;
	size_t i;

	if ((out = q = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		abort();
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		*q++ = alpha[v >> 6 & 63];
		*q++ = alpha[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)in[i] << 16;
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		*q++ = '=';
		*q++ = '=';
	} else if (n - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		*q++ = alpha[v >> 6 & 63];
		*q++ = '=';
	}
	*q = '\0';
	return (out);
}

/* basic_header(prefix, cred, n): ${prefix} followed by the base64 of ${n} bytes of ${cred}; the caller frees. */
static char *
basic_header(const char *prefix, const char *cred, size_t n)
{
	struct buf b;
	char *enc = b64(cred, n);

	buf_init(&b);
	buf_puts(&b, prefix);
	buf_puts(&b, enc);
	free(enc);
	return (buf_steal(&b));
}

/* basic_ok(prefix, cred, user, pass): the header parses to ${user} and ${pass}. */
static bool
basic_ok(const char *prefix, const char *cred, const char *user, const char *pass)
{
	char *h = basic_header(prefix, cred, strlen(cred)), *u = NULL, *p = NULL;
	bool ok;

	ok = auth_parse_basic(h, &u, &p) == 0 && u != NULL && p != NULL && strcmp(u, user) == 0 &&
	    strcmp(p, pass) == 0;
	if (!ok)
		fprintf(stderr, "basic %s: user %s pass %s\n", h, u ? u : "(null)", p ? p : "(null)");
	free(h);
	free(u);
	str_secure_free(p);
	return (ok);
}

/* basic_rejects(h): auth_parse_basic refuses the header ${h} and leaves both outputs NULL. */
static bool
basic_rejects(const char *h)
{
	char *u = (char *)"x", *p = (char *)"y";

	return (auth_parse_basic(h, &u, &p) == -1 && u == NULL && p == NULL);
}

/* basic_rejects_cred(prefix, cred, n): the Basic header of ${n} bytes of ${cred} is refused. */
static bool
basic_rejects_cred(const char *prefix, const char *cred, size_t n)
{
	char *h = basic_header(prefix, cred, n);
	bool ok = basic_rejects(h);

	free(h);
	return (ok);
}

/* bearer_is(h, want): auth_parse_bearer(${h}) is ${want} (NULL: refused). */
static bool
bearer_is(const char *h, const char *want)
{
	char *t = auth_parse_bearer(h);
	bool ok = want == NULL ? t == NULL : t != NULL && strcmp(t, want) == 0;

	if (!ok)
		fprintf(stderr, "bearer \"%.40s\": got %.40s\n", h ? h : "(null)", t ? t : "(null)");
	free(t);
	return (ok);
}

static void
test_form_basic(void)
{
	struct form f = { (struct kv *)&f, 7 };

	CHECK(form_parse(NULL, 0, &f) == 0);
	CHECK(f.pairs == NULL && f.n == 0);
	CHECK(parse_str("", &f) == 0 && f.n == 0);
	CHECK(form_parse(NULL, 3, &f) == -1 && f.n == 0);
	CHECK(form_parse("a=1", 3, NULL) == -1);

	CHECK(parse_str("a=1&b=2", &f) == 0);
	CHECK(f.n == 2);
	CHECK_STR(f.pairs[0].name, "a");
	CHECK_STR(f.pairs[0].value, "1");
	CHECK_STR(f.pairs[1].name, "b");
	CHECK_STR(f.pairs[1].value, "2");
	CHECK_STR(form_get(&f, "a"), "1");
	CHECK_STR(form_get(&f, "b"), "2");
	CHECK(form_get(&f, "c") == NULL);
	CHECK(form_get(&f, "A") == NULL);
	CHECK(form_get(&f, NULL) == NULL);
	CHECK(form_get(NULL, "a") == NULL);
	CHECK(form_count(&f, "a") == 1);
	CHECK(form_count(&f, "c") == 0);
	CHECK(form_count(NULL, "a") == 0);
	form_release(&f);
	CHECK(f.pairs == NULL && f.n == 0);
	form_release(&f);	/* twice is harmless */
	form_release(NULL);

	/* Only ${len} bytes count. */
	CHECK(parse("a=1&b=2", 3, &f) == 0 && f.n == 1);
	CHECK_STR(form_get(&f, "a"), "1");
	form_release(&f);

	/* A real token request body. */
	CHECK(parse_str("grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"
	    "&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb", &f) == 0);
	CHECK(f.n == 3);
	CHECK_STR(form_get(&f, "grant_type"), "authorization_code");
	CHECK_STR(form_get(&f, "code"), "SplxlOBeZQQYbYS6WxSbIA");
	CHECK_STR(form_get(&f, "redirect_uri"), "https://client.example.com/cb");
	form_release(&f);
}

static void
test_form_duplicates(void)
{
	struct form f;

	/* RFC 6749 §3.1: handlers refuse repeated parameters, so every occurrence must be kept and counted. */
	CHECK(parse_str("a=1&a=2&b=3&a=", &f) == 0);
	CHECK(f.n == 4);
	CHECK(form_count(&f, "a") == 3);
	CHECK(form_count(&f, "b") == 1);
	CHECK_STR(form_get(&f, "a"), "1");
	CHECK_STR(f.pairs[1].value, "2");
	CHECK_STR(f.pairs[3].value, "");
	form_release(&f);

	/* Encodings of the same name are the same name after decoding. */
	CHECK(parse_str("scope=openid&sc%6Fpe=email&%73cope=x", &f) == 0);
	CHECK(form_count(&f, "scope") == 3);
	form_release(&f);
}

static void
test_form_decoding(void)
{
	struct form f;

	CHECK(parse_str("q=a+b&p=a%2Bb&r=a%2bb&s=%20+%20", &f) == 0);
	CHECK_STR(form_get(&f, "q"), "a b");
	CHECK_STR(form_get(&f, "p"), "a+b");
	CHECK_STR(form_get(&f, "r"), "a+b");
	CHECK_STR(form_get(&f, "s"), "   ");
	form_release(&f);

	CHECK(parse_str("a+b=c&%41%42=%4a%4B&%25=%2525", &f) == 0);
	CHECK_STR(form_get(&f, "a b"), "c");
	CHECK_STR(form_get(&f, "AB"), "JK");
	CHECK_STR(form_get(&f, "%"), "%25");	/* decoded once, not twice */
	form_release(&f);

	/* The first raw '=' splits; an encoded one does not. */
	CHECK(parse_str("a=b=c&x%3Dy=z&k%3D=%3D", &f) == 0);
	CHECK(f.n == 3);
	CHECK_STR(form_get(&f, "a"), "b=c");
	CHECK_STR(form_get(&f, "x=y"), "z");
	CHECK_STR(form_get(&f, "k="), "=");
	form_release(&f);

	/* An encoded '&' does not split either. */
	CHECK(parse_str("a=1%262&b=2", &f) == 0 && f.n == 2);
	CHECK_STR(form_get(&f, "a"), "1&2");
	form_release(&f);

	/* Bytes are bytes: UTF-8 passes through, raw or encoded. */
	CHECK(parse_str("n=%C3%A9&m=\xc3\xa9&c=%7F%01", &f) == 0);
	CHECK_STR(form_get(&f, "n"), "\xc3\xa9");
	CHECK_STR(form_get(&f, "m"), "\xc3\xa9");
	CHECK_STR(form_get(&f, "c"), "\x7f\x01");
	form_release(&f);

	/* An escape right at the end of the input is complete. */
	CHECK(parse_str("a=%41", &f) == 0);
	CHECK_STR(form_get(&f, "a"), "A");
	form_release(&f);
}

static void
test_form_bad_escapes(void)
{
	CHECK(form_rejects("a=%G1", 5));
	CHECK(form_rejects("a=%1G", 5));
	CHECK(form_rejects("a=%4", 4));
	CHECK(form_rejects("a=%", 3));
	CHECK(form_rejects("a%=1", 4));
	CHECK(form_rejects("%", 1));
	CHECK(form_rejects("a=%%41", 6));
	CHECK(form_rejects("a=% 1", 5));
	CHECK(form_rejects("a=%+1", 5));
	CHECK(form_rejects("a=%-1", 5));
	CHECK(form_rejects("a=%0x1", 6));
	CHECK(form_rejects("%zz=1", 5));
	/* A truncated escape whose digits follow past ${len}. */
	CHECK(form_rejects("a=%41", 4));
	/* One bad pair poisons the whole form, after good ones were already decoded. */
	CHECK(form_rejects("a=1&b=2&c=%ZZ", 13));
	CHECK(form_rejects("a=1&b=2&%ZZ", 11));
}

static void
test_form_nul(void)
{
	CHECK(form_rejects("a=%00", 5));
	CHECK(form_rejects("%00=1", 5));
	CHECK(form_rejects("a=b%00c", 7));
	CHECK(form_rejects("a=b\0c", 5));
	CHECK(form_rejects("a\0=1", 4));
	CHECK(form_rejects("a=1&\0", 5));
	CHECK(form_rejects("\0", 1));
}

static void
test_form_empty_and_name_only(void)
{
	struct form f;

	CHECK(parse_str("&&a=1&&&b=2&", &f) == 0);
	CHECK(f.n == 2);
	CHECK_STR(f.pairs[0].name, "a");
	CHECK_STR(f.pairs[1].name, "b");
	form_release(&f);

	CHECK(parse_str("&", &f) == 0 && f.n == 0 && f.pairs == NULL);
	CHECK(parse_str("&&&&", &f) == 0 && f.n == 0 && f.pairs == NULL);

	CHECK(parse_str("a&b=&c", &f) == 0);
	CHECK(f.n == 3);
	CHECK_STR(form_get(&f, "a"), "");
	CHECK_STR(form_get(&f, "b"), "");
	CHECK_STR(form_get(&f, "c"), "");
	form_release(&f);

	/* WHATWG keeps an empty name: "=" is ("", ""), "=x" is ("", "x"). */
	CHECK(parse_str("=&=x&+", &f) == 0);
	CHECK(f.n == 3);
	CHECK_STR(f.pairs[0].name, "");
	CHECK_STR(f.pairs[0].value, "");
	CHECK_STR(f.pairs[1].name, "");
	CHECK_STR(f.pairs[1].value, "x");
	CHECK_STR(f.pairs[2].name, " ");
	CHECK_STR(f.pairs[2].value, "");
	CHECK(form_count(&f, "") == 2);
	form_release(&f);
}

static void
test_form_limits(void)
{
	struct form f;
	struct buf b;
	char *s;
	size_t i;

	s = pairs_text(HTTP_MAX_PAIRS, "&");
	CHECK(parse_str(s, &f) == 0);
	CHECK(f.n == HTTP_MAX_PAIRS);
	CHECK_STR(form_get(&f, "p0"), "0");
	CHECK_STR(form_get(&f, "p63"), "63");
	form_release(&f);
	free(s);

	s = pairs_text(HTTP_MAX_PAIRS + 1, "&");
	CHECK(form_rejects(s, strlen(s)));
	free(s);

	/* Empty pieces are not pairs: 64 pairs among many '&' are fine. */
	s = pairs_text(HTTP_MAX_PAIRS, "&&&&");
	CHECK(parse_str(s, &f) == 0 && f.n == HTTP_MAX_PAIRS);
	form_release(&f);
	free(s);

	/* Name-only pairs count. */
	buf_init(&b);
	for (i = 0; i <= HTTP_MAX_PAIRS; i++)
		buf_puts(&b, "x&");
	s = buf_steal(&b);
	CHECK(form_rejects(s, strlen(s)));
	CHECK(parse(s, 2 * HTTP_MAX_PAIRS, &f) == 0 && f.n == HTTP_MAX_PAIRS);
	CHECK(form_count(&f, "x") == HTTP_MAX_PAIRS);
	form_release(&f);
	free(s);

	/* A pair past the limit is refused even when it is also malformed or huge. */
	s = pairs_text(HTTP_MAX_PAIRS + 1000, "&");
	CHECK(form_rejects(s, strlen(s)));
	free(s);

	/* One long value is fine: the body limit bounds it, not this parser. */
	buf_init(&b);
	buf_puts(&b, "v=");
	for (i = 0; i < 20000; i++)
		buf_puts(&b, "%41");
	s = buf_steal(&b);
	CHECK(parse_str(s, &f) == 0 && f.n == 1 && strlen(form_get(&f, "v")) == 20000);
	form_release(&f);
	free(s);
}

static void
test_cookie_basic(void)
{
	struct form f = { (struct kv *)&f, 5 };

	CHECK(cookie_parse(NULL, &f) == 0 && f.n == 0 && f.pairs == NULL);
	CHECK(cookie_parse("", &f) == 0 && f.n == 0 && f.pairs == NULL);
	CHECK(cookie_parse(";;; ; ", &f) == 0 && f.n == 0 && f.pairs == NULL);
	CHECK(cookie_parse("a=1", NULL) == -1);

	CHECK(cookie_parse("a=1; b=2", &f) == 0);
	CHECK(f.n == 2);
	CHECK_STR(f.pairs[0].name, "a");
	CHECK_STR(f.pairs[0].value, "1");
	CHECK_STR(f.pairs[1].name, "b");
	CHECK_STR(f.pairs[1].value, "2");
	form_release(&f);

	/* Missing and extra whitespace, tabs, a trailing ';'. */
	CHECK(cookie_parse("a=1;b=2;  c = 3 ;\td=4\t;  ", &f) == 0);
	CHECK(f.n == 4);
	CHECK_STR(form_get(&f, "a"), "1");
	CHECK_STR(form_get(&f, "b"), "2");
	CHECK_STR(form_get(&f, "c"), "3");
	CHECK_STR(form_get(&f, "d"), "4");
	form_release(&f);

	/* Inner whitespace stays. */
	CHECK(cookie_parse("a b=c d", &f) == 0 && f.n == 1);
	CHECK_STR(form_get(&f, "a b"), "c d");
	form_release(&f);
}

static void
test_cookie_values(void)
{
	struct form f;

	CHECK(cookie_parse("a=\"xyz\"; b=\"\"; c=\"; d=\"\"x\"\"; e=\"x; f= \"y\" ", &f) == 0);
	CHECK(f.n == 6);
	CHECK_STR(form_get(&f, "a"), "xyz");
	CHECK_STR(form_get(&f, "b"), "");
	CHECK_STR(form_get(&f, "c"), "\"");	/* a lone quote is not a pair of them */
	CHECK_STR(form_get(&f, "d"), "\"x\"");	/* only one pair is removed */
	CHECK_STR(form_get(&f, "e"), "\"x");
	CHECK_STR(form_get(&f, "f"), "y");
	form_release(&f);

	/* Values are not %-decoded and may hold '='. */
	CHECK(cookie_parse("a=%41+b; b=x=y==", &f) == 0);
	CHECK_STR(form_get(&f, "a"), "%41+b");
	CHECK_STR(form_get(&f, "b"), "x=y==");
	form_release(&f);

	CHECK(cookie_parse("a=; b= ;c", &f) == 0 && f.n == 2);
	CHECK_STR(form_get(&f, "a"), "");
	CHECK_STR(form_get(&f, "b"), "");
	form_release(&f);
}

static void
test_cookie_skips_and_duplicates(void)
{
	struct form f;

	/* No '=' or an empty name: skipped. */
	CHECK(cookie_parse("flag; a=1; =v;  = w ; b=2; justname", &f) == 0);
	CHECK(f.n == 2);
	CHECK_STR(f.pairs[0].name, "a");
	CHECK_STR(f.pairs[1].name, "b");
	CHECK(form_get(&f, "") == NULL);
	CHECK(form_get(&f, "flag") == NULL);
	form_release(&f);

	/* RFC 6265 §5.4: duplicates in order, the most specific first. */
	CHECK(cookie_parse("sid=new; other=x; sid=old", &f) == 0);
	CHECK(form_count(&f, "sid") == 2);
	CHECK_STR(form_get(&f, "sid"), "new");
	form_release(&f);
}

static void
test_cookie_limits(void)
{
	struct form f;
	struct buf b;
	char *s;

	s = pairs_text(HTTP_MAX_PAIRS, "; ");
	CHECK(cookie_parse(s, &f) == 0 && f.n == HTTP_MAX_PAIRS);
	CHECK_STR(form_get(&f, "p63"), "63");
	form_release(&f);
	free(s);

	s = pairs_text(HTTP_MAX_PAIRS + 1, ";");
	f.pairs = (struct kv *)&f;
	f.n = 3;
	errno = 0;
	CHECK(cookie_parse(s, &f) == -1 && errno == EINVAL && f.n == 0 && f.pairs == NULL);
	free(s);

	/* Skipped pieces do not count. */
	buf_init(&b);
	buf_puts(&b, "junk; =x; ");
	s = pairs_text(HTTP_MAX_PAIRS, "; noeq; ");
	buf_puts(&b, s);
	free(s);
	s = buf_steal(&b);
	CHECK(cookie_parse(s, &f) == 0 && f.n == HTTP_MAX_PAIRS);
	form_release(&f);
	free(s);
}

static void
test_basic_ok(void)
{
	CHECK(basic_ok("Basic ", "client:secret", "client", "secret"));
	/* RFC 7617 §2 example. */
	CHECK(basic_ok("Basic ", "Aladdin:open sesame", "Aladdin", "open sesame"));
	/* RFC 7235 §2.1: the scheme is case-insensitive, followed by 1*SP. */
	CHECK(basic_ok("basic ", "c:s", "c", "s"));
	CHECK(basic_ok("BASIC ", "c:s", "c", "s"));
	CHECK(basic_ok("bAsIc ", "c:s", "c", "s"));
	CHECK(basic_ok("Basic    ", "c:s", "c", "s"));
	/* RFC 6749 §2.3.1: both parts are form-urlencoded, so a secret may carry an encoded ':'. */
	CHECK(basic_ok("Basic ", "client:se%3Acret", "client", "se:cret"));
	CHECK(basic_ok("Basic ", "my%3Aclient:x", "my:client", "x"));
	CHECK(basic_ok("Basic ", "client:a+b%2Bc%20d", "client", "a b+c d"));
	CHECK(basic_ok("Basic ", "s6BhdRkqt3:7Fjfp0ZBr1KtDRbnfVdmIw", "s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw"));
	/* Only the first raw colon splits. */
	CHECK(basic_ok("Basic ", "client:a:b:", "client", "a:b:"));
	/* Empty parts are syntactically valid; the client lookup refuses them. */
	CHECK(basic_ok("Basic ", ":", "", ""));
	CHECK(basic_ok("Basic ", "c:", "c", ""));
	CHECK(basic_ok("Basic ", ":s", "", "s"));
	/* Every padding length. */
	CHECK(basic_ok("Basic ", "a:b", "a", "b"));
	CHECK(basic_ok("Basic ", "a:bc", "a", "bc"));
	CHECK(basic_ok("Basic ", "a:bcd", "a", "bcd"));
	/* Non-ASCII bytes (RFC 7617 §2.1 charset UTF-8). */
	CHECK(basic_ok("Basic ", "\xc3\xa9:%C3%A9", "\xc3\xa9", "\xc3\xa9"));
}

static void
test_basic_rejects(void)
{
	CHECK(basic_rejects(NULL));
	CHECK(basic_rejects(""));
	CHECK(basic_rejects("Basic"));
	CHECK(basic_rejects("Basic "));
	CHECK(basic_rejects("Basic    "));
	CHECK(auth_parse_basic("Basic YTpi", NULL, NULL) == -1);
	/* Not Basic. */
	CHECK(basic_rejects_cred("Bearer ", "a:b", 3));
	CHECK(basic_rejects_cred("Basicx ", "a:b", 3));
	CHECK(basic_rejects_cred("Basi ", "a:b", 3));
	CHECK(basic_rejects_cred(" Basic ", "a:b", 3));
	/* RFC 7235 §2.1: 1*SP, not a tab, not nothing. */
	CHECK(basic_rejects_cred("Basic", "a:b", 3));
	CHECK(basic_rejects_cred("Basic\t", "a:b", 3));
	/* No colon. */
	CHECK(basic_rejects_cred("Basic ", "client", 6));
	CHECK(basic_rejects_cred("Basic ", "client%3Asecret", 15));
	CHECK(basic_rejects_cred("Basic ", "", 0));
	/* NUL bytes, raw or encoded, and bad escapes. */
	CHECK(basic_rejects_cred("Basic ", "a\0:b", 4));
	CHECK(basic_rejects_cred("Basic ", "a:b\0", 4));
	CHECK(basic_rejects_cred("Basic ", "a:b%00", 6));
	CHECK(basic_rejects_cred("Basic ", "a%00:b", 6));
	CHECK(basic_rejects_cred("Basic ", "a:b%G1", 6));
	CHECK(basic_rejects_cred("Basic ", "a:b%4", 5));
	CHECK(basic_rejects_cred("Basic ", "a%:b", 4));
	/* Bad base64: wrong alphabet, no padding, bad padding, whitespace, trailing bytes. */
	CHECK(basic_rejects("Basic !!!!"));
	CHECK(basic_rejects("Basic YTpi="));	/* "a:b" is YTpi; a fifth character */
	CHECK(basic_rejects("Basic YTpiYw"));	/* "a:bc" unpadded */
	CHECK(basic_rejects("Basic YTpiYw="));
	CHECK(basic_rejects("Basic YTpiYw==="));
	CHECK(basic_rejects("Basic =YTpiYw=="));
	CHECK(basic_rejects("Basic YTpi "));
	CHECK(basic_rejects("Basic YTpi\t"));
	CHECK(basic_rejects("Basic YT pi"));
	CHECK(basic_rejects("Basic YTpi,"));
	CHECK(basic_rejects("Basic YTpi YTpi"));
	CHECK(basic_rejects("Basic YT-i"));	/* base64url alphabet */
	CHECK(basic_rejects("Basic YT_i"));
	CHECK(basic_rejects("Basic \"YTpi\""));
	CHECK(basic_rejects("Basic ===="));
}

static void
test_basic_limits(void)
{
	struct buf b;
	char *h, *cred, *u = NULL, *p = NULL;
	size_t n;

	/* 16383 credential bytes encode to 21844 characters: refused.  12288 bytes encode to 16384: fine. */
	for (n = 12286; n <= 12290; n++) {
		if ((cred = malloc(n)) == NULL)
			abort();
		memset(cred, 'x', n);
		cred[0] = ':';
		h = basic_header("Basic ", cred, n);
		CHECK((auth_parse_basic(h, &u, &p) == 0) == (n <= 12288));
		CHECK(n > 12288 || (u != NULL && p != NULL && strlen(p) == n - 1));
		free(u);
		str_secure_free(p);
		u = p = NULL;
		free(h);
		free(cred);
	}

	/* A huge header is refused without decoding it. */
	buf_init(&b);
	buf_puts(&b, "Basic ");
	for (n = 0; n < 100000; n++)
		buf_puts(&b, "YTpi");
	h = buf_steal(&b);
	CHECK(basic_rejects(h));
	free(h);
}

static void
test_bearer(void)
{
	CHECK(bearer_is("Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"));	/* RFC 6750 §2.1 */
	CHECK(bearer_is("bearer abc", "abc"));
	CHECK(bearer_is("BEARER abc", "abc"));
	CHECK(bearer_is("bEaReR abc", "abc"));
	CHECK(bearer_is("Bearer     abc", "abc"));
	CHECK(bearer_is("Bearer A-._~+/9z", "A-._~+/9z"));
	CHECK(bearer_is("Bearer a=", "a="));
	CHECK(bearer_is("Bearer a==", "a=="));
	CHECK(bearer_is("Bearer a====", "a===="));
	CHECK(bearer_is("Bearer x", "x"));
	CHECK(bearer_is("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));

	CHECK(bearer_is(NULL, NULL));
	CHECK(bearer_is("", NULL));
	CHECK(bearer_is("Bearer", NULL));
	CHECK(bearer_is("Bearer ", NULL));
	CHECK(bearer_is("Bearer    ", NULL));
	CHECK(bearer_is("Bearerabc", NULL));
	CHECK(bearer_is("Bearer\tabc", NULL));
	CHECK(bearer_is(" Bearer abc", NULL));
	CHECK(bearer_is("Bearers abc", NULL));
	CHECK(bearer_is("Beare abc", NULL));
	CHECK(bearer_is("Basic abc", NULL));
	CHECK(bearer_is("Bearer =", NULL));
	CHECK(bearer_is("Bearer ==abc", NULL));
	CHECK(bearer_is("Bearer a=b", NULL));
	CHECK(bearer_is("Bearer a=b=", NULL));
	CHECK(bearer_is("Bearer abc ", NULL));
	CHECK(bearer_is("Bearer abc\t", NULL));
	CHECK(bearer_is("Bearer abc def", NULL));
	CHECK(bearer_is("Bearer abc,", NULL));
	CHECK(bearer_is("Bearer \"abc\"", NULL));
	CHECK(bearer_is("Bearer a%20b", NULL));
	CHECK(bearer_is("Bearer a!b", NULL));
	CHECK(bearer_is("Bearer a\x01", NULL));
	CHECK(bearer_is("Bearer \xc3\xa9", NULL));
	CHECK(bearer_is("Bearer abc\r\n", NULL));
	CHECK(bearer_is("Bearer realm=\"x\"", NULL));
}

static void
test_bearer_limits(void)
{
	char *h;
	size_t hl = strlen("Bearer ");

	if ((h = malloc(hl + BIG_TOKEN + 2)) == NULL)
		abort();
	memcpy(h, "Bearer ", hl);

	memset(h + hl, 'a', BIG_TOKEN);
	h[hl + BIG_TOKEN] = '\0';
	CHECK(bearer_is(h, h + hl));
	h[hl + BIG_TOKEN - 1] = '=';
	CHECK(bearer_is(h, h + hl));

	memset(h + hl, 'a', BIG_TOKEN + 1);
	h[hl + BIG_TOKEN + 1] = '\0';
	CHECK(bearer_is(h, NULL));
	h[hl + BIG_TOKEN] = '=';
	CHECK(bearer_is(h, NULL));
	memset(h + hl + 1, '=', BIG_TOKEN);
	CHECK(bearer_is(h, NULL));
	free(h);
}

int
main(void)
{
	TEST_RUN(test_form_basic);
	TEST_RUN(test_form_duplicates);
	TEST_RUN(test_form_decoding);
	TEST_RUN(test_form_bad_escapes);
	TEST_RUN(test_form_nul);
	TEST_RUN(test_form_empty_and_name_only);
	TEST_RUN(test_form_limits);
	TEST_RUN(test_cookie_basic);
	TEST_RUN(test_cookie_values);
	TEST_RUN(test_cookie_skips_and_duplicates);
	TEST_RUN(test_cookie_limits);
	TEST_RUN(test_basic_ok);
	TEST_RUN(test_basic_rejects);
	TEST_RUN(test_basic_limits);
	TEST_RUN(test_bearer);
	TEST_RUN(test_bearer_limits);
	return (TEST_EXIT());
}
