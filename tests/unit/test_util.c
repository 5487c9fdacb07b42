/*
 * test_util.c: buffers, strings, the integer parser, encoders, randomness, constant-time comparison and the
 * hash functions against published vectors (RFC 4648 §10, FIPS 180-4 examples, RFC 4231 §4).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"
#include "util.h"

/* hex(p, n, out): lower-case hex of ${n} bytes into ${out} (2n + 1 bytes). */
static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static void
test_buf_basic(void)
{
	struct buf b;
	char *s;

	buf_init(&b);
	CHECK(b.data == NULL && b.len == 0 && !b.err);
	s = buf_steal(&b);
	CHECK_STR(s, "");
	free(s);
	CHECK(buf_puts(&b, "hello") == 0);
	CHECK(buf_append(&b, ", ", 2) == 0);
	CHECK(buf_printf(&b, "%s %d", "world", 42) == 0);
	CHECK_STR(b.data, "hello, world 42");
	CHECK(b.len == strlen("hello, world 42"));
	CHECK(buf_append(&b, "", 0) == 0);
	CHECK(b.len == 15);
	s = buf_steal(&b);
	CHECK_STR(s, "hello, world 42");
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	free(s);

	/* An empty append still makes the data a valid string. */
	CHECK(buf_append(&b, NULL, 0) == 0);
	CHECK_STR(b.data, "");
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0);
	buf_release(&b);	/* twice is harmless */
}

static void
test_buf_grow(void)
{
	struct buf b;
	size_t i;
	int ok = 1;

	buf_init(&b);
	for (i = 0; i < 100000; i++)
		if (buf_append(&b, "x", 1) == -1)
			ok = 0;
	CHECK(ok);
	CHECK(b.len == 100000 && b.cap > b.len && !b.err);
	CHECK(b.data[99999] == 'x' && b.data[100000] == '\0');
	for (i = 0; i < 100000; i++)
		if (b.data[i] != 'x')
			ok = 0;
	CHECK(ok);
	buf_release(&b);
}

static void
test_buf_limit(void)
{
	struct buf b;
	char big[64];

	memset(big, 'a', sizeof(big));
	buf_init(&b);
	b.max = 10;
	CHECK(buf_append(&b, "0123456789", 10) == 0);	/* exactly max is fine */
	CHECK(!b.err);
	CHECK(b.cap <= 11);
	CHECK(buf_append(&b, "x", 1) == -1);
	CHECK(b.err);
	CHECK_STR(b.data, "0123456789");	/* data kept */
	/* Sticky: even an append that would fit fails now. */
	CHECK(buf_append(&b, "", 0) == -1);
	CHECK(buf_puts(&b, "") == -1);
	CHECK(buf_printf(&b, "%s", "") == -1);
	buf_release(&b);
	CHECK(!b.err && b.max == 10);

	buf_init(&b);
	b.max = 10;
	CHECK(buf_printf(&b, "%.*s", 11, big) == -1);
	CHECK(b.err && b.len == 0);
	buf_release(&b);

	buf_init(&b);
	b.max = 10;
	CHECK(buf_puts(&b, "12345") == 0);
	CHECK(buf_printf(&b, "%s", "123456") == -1);
	CHECK_STR(b.data, "12345");
	buf_release(&b);

	/* Length arithmetic that would wrap is an overflow, not a small allocation. */
	buf_init(&b);
	CHECK(buf_puts(&b, "a") == 0);
	CHECK(buf_append(&b, big, SIZE_MAX) == -1);
	CHECK(b.err);
	buf_release(&b);

	/* max = 0 means the default limit. */
	buf_init(&b);
	CHECK(buf_append(&b, big, UTIL_BUF_DEFAULT_MAX + 1) == -1);	/* checked before reading big */
	buf_release(&b);
}

static void
test_str_misc(void)
{
	char s[] = "MiXeD-Case 123";
	char *p;

	CHECK_STR(str_lower(s), "mixed-case 123");
	CHECK(str_has_prefix("https://x", "https://"));
	CHECK(!str_has_prefix("http://x", "https://"));
	CHECK(str_has_prefix("abc", ""));
	CHECK(!str_has_prefix(NULL, "a"));
	CHECK(xstrdup(NULL) == NULL);
	p = xstrdup("abc");
	CHECK_STR(p, "abc");
	free(p);
	p = xstrndup("abcdef", 3);
	CHECK_STR(p, "abc");
	str_secure_free(p);
	str_secure_free(NULL);

	CHECK(str_list_contains("openid profile email", "openid"));
	CHECK(str_list_contains("openid profile email", "profile"));
	CHECK(str_list_contains("openid profile email", "email"));
	CHECK(str_list_contains("  openid   email ", "email"));
	CHECK(!str_list_contains("openid profile", "open"));
	CHECK(!str_list_contains("openid profile", "openidx"));
	CHECK(!str_list_contains("openid profile", "id profile"));
	CHECK(!str_list_contains("openid", ""));
	CHECK(!str_list_contains("", "openid"));
	CHECK(!str_list_contains(NULL, "openid"));
	CHECK(!str_list_contains("openid", NULL));
}

static void
test_parse_i64(void)
{
	int64_t v = 7;

	CHECK(str_parse_i64("0", 0, 10, &v) == 0 && v == 0);
	CHECK(str_parse_i64("10", 0, 10, &v) == 0 && v == 10);
	CHECK(str_parse_i64("007", 0, 10, &v) == 0 && v == 7);
	CHECK(str_parse_i64("11", 0, 10, &v) == -1 && v == 7);
	CHECK(str_parse_i64("", 0, 10, &v) == -1);
	CHECK(str_parse_i64(NULL, 0, 10, &v) == -1);
	CHECK(str_parse_i64("-", -10, 10, &v) == -1);
	CHECK(str_parse_i64("-1", 0, 10, &v) == -1);	/* no sign for >= 0 ranges */
	CHECK(str_parse_i64("-0", 0, 10, &v) == -1);
	CHECK(str_parse_i64("+1", 0, 10, &v) == -1);
	CHECK(str_parse_i64(" 1", 0, 10, &v) == -1);
	CHECK(str_parse_i64("1 ", 0, 10, &v) == -1);
	CHECK(str_parse_i64("1\n", 0, 10, &v) == -1);
	CHECK(str_parse_i64("1a", 0, 10, &v) == -1);
	CHECK(str_parse_i64("0x10", 0, 100, &v) == -1);
	CHECK(str_parse_i64("1e3", 0, 10000, &v) == -1);
	CHECK(str_parse_i64("1.0", 0, 10, &v) == -1);
	CHECK(str_parse_i64("--1", -10, 10, &v) == -1);
	CHECK(str_parse_i64("-10", -10, 10, &v) == 0 && v == -10);
	CHECK(str_parse_i64("-11", -10, 10, &v) == -1);
	CHECK(str_parse_i64("5", 6, 10, &v) == -1);
	CHECK(str_parse_i64("5", 10, 0, &v) == -1);	/* empty range */
	CHECK(str_parse_i64("9223372036854775807", 0, INT64_MAX, &v) == 0 && v == INT64_MAX);
	CHECK(str_parse_i64("9223372036854775808", 0, INT64_MAX, &v) == -1);
	CHECK(str_parse_i64("99999999999999999999", 0, INT64_MAX, &v) == -1);
	CHECK(str_parse_i64("18446744073709551616", 0, INT64_MAX, &v) == -1);	/* 2^64 must not wrap to 0 */
	CHECK(str_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MIN);
	CHECK(str_parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v) == -1);
	CHECK(str_parse_i64("0000000000000000000000000042", 0, 100, &v) == 0 && v == 42);
}

static void
test_url_encode(void)
{
	char *s;

	s = url_encode("AZaz09-._~");
	CHECK_STR(s, "AZaz09-._~");
	free(s);
	s = url_encode("a b&c=d/e?f#g+h%");
	CHECK_STR(s, "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25");
	free(s);
	s = url_encode("\xc3\xa9\x01\xff");
	CHECK_STR(s, "%C3%A9%01%FF");
	free(s);
	s = url_encode("");
	CHECK_STR(s, "");
	free(s);
	CHECK(url_encode(NULL) == NULL);
}

static void
test_html_escape(void)
{
	struct buf b;

	buf_init(&b);
	CHECK(html_escape(&b, "<script>alert(\"x\" + 'y') && 1</script>") == 0);
	CHECK_STR(b.data, "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;) &amp;&amp; 1&lt;/script&gt;");
	buf_release(&b);
	CHECK(html_escape(&b, "plain") == 0);
	CHECK_STR(b.data, "plain");
	CHECK(html_escape(&b, "") == 0);
	CHECK(html_escape(&b, NULL) == 0);
	CHECK_STR(b.data, "plain");
	buf_release(&b);
	CHECK(html_escape(&b, "&amp;") == 0);
	CHECK_STR(b.data, "&amp;amp;");
	buf_release(&b);

	/* The limit applies to the escaped length. */
	buf_init(&b);
	b.max = 8;
	CHECK(html_escape(&b, "<<") == 0);
	CHECK(html_escape(&b, "<") == -1);
	CHECK(b.err);
	buf_release(&b);
}

static void
test_ct(void)
{
	CHECK(ct_equal("abc", "abc", 3));
	CHECK(!ct_equal("abc", "abd", 3));
	CHECK(ct_equal("abc", "abd", 2));
	CHECK(ct_equal("", "", 0));
	CHECK(ct_streq("secret", "secret"));
	CHECK(!ct_streq("secret", "secreT"));
	CHECK(!ct_streq("secret", "secret2"));
	CHECK(!ct_streq("secret", "secre"));
	CHECK(ct_streq("", ""));
	CHECK(!ct_streq(NULL, "a"));
	CHECK(!ct_streq("a", NULL));
	CHECK(!ct_streq(NULL, NULL));
}

/* RFC 4648 §10 test vectors. */
static const struct {
	const char *raw, *b64, *b64url;
} b64_vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static int
decodes_to(int (*dec)(const char *, size_t, unsigned char **, size_t *), const char *s, const void *want,
    size_t wantlen)
{
	unsigned char *out = NULL;
	size_t outlen = 99;
	int ok;

	if (dec(s, strlen(s), &out, &outlen) == -1)
		return (0);
	ok = outlen == wantlen && memcmp(out, want, wantlen) == 0 && out[outlen] == '\0';
	free(out);
	return (ok);
}

static int
rejects(int (*dec)(const char *, size_t, unsigned char **, size_t *), const char *s)
{
	unsigned char *out = (unsigned char *)"x";
	size_t outlen;

	return (dec(s, strlen(s), &out, &outlen) == -1 && out == NULL);
}

static void
test_base64(void)
{
	static const unsigned char bin[] = { 0xfb, 0xff, 0xbf, 0x00, 0x3e, 0x3f };
	char *s;
	size_t i;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		s = b64url_encode(b64_vectors[i].raw, strlen(b64_vectors[i].raw));
		CHECK_STR(s, b64_vectors[i].b64url);
		free(s);
		CHECK(decodes_to(b64url_decode, b64_vectors[i].b64url, b64_vectors[i].raw,
		    strlen(b64_vectors[i].raw)));
		CHECK(decodes_to(b64url_decode, b64_vectors[i].b64, b64_vectors[i].raw,
		    strlen(b64_vectors[i].raw)));	/* padding tolerated */
		CHECK(decodes_to(b64_decode, b64_vectors[i].b64, b64_vectors[i].raw,
		    strlen(b64_vectors[i].raw)));
	}
	/* The two alphabets differ in 62 and 63. */
	s = b64url_encode(bin, sizeof(bin));
	CHECK_STR(s, "-_-_AD4_");
	free(s);
	CHECK(decodes_to(b64url_decode, "-_-_AD4_", bin, sizeof(bin)));
	CHECK(decodes_to(b64_decode, "+/+/AD4/", bin, sizeof(bin)));
	CHECK(rejects(b64url_decode, "+/+/AD4/"));
	CHECK(rejects(b64_decode, "-_-_AD4_"));

	/* Nothing else is tolerated. */
	CHECK(rejects(b64url_decode, "Z"));		/* a lone 6 bits */
	CHECK(rejects(b64url_decode, "Zm9vY"));
	CHECK(rejects(b64url_decode, "Zh"));		/* non-zero trailing bits */
	CHECK(rejects(b64url_decode, "Zm9"));
	CHECK(rejects(b64url_decode, "Zm9"));
	CHECK(rejects(b64url_decode, "Zg="));		/* short padding */
	CHECK(rejects(b64url_decode, "Zg==="));
	CHECK(rejects(b64url_decode, "Zm8=="));		/* too much padding */
	CHECK(rejects(b64url_decode, "Zm9v===="));
	CHECK(rejects(b64url_decode, "===="));
	CHECK(rejects(b64url_decode, "Zg==Zg=="));	/* padding in the middle */
	CHECK(rejects(b64url_decode, "Zm9v\n"));
	CHECK(rejects(b64url_decode, " Zm9v"));
	CHECK(rejects(b64url_decode, "Zm 9v"));
	CHECK(rejects(b64url_decode, "Zm9v.Zm9v"));
	CHECK(rejects(b64_decode, "Zg"));		/* padding required */
	CHECK(rejects(b64_decode, "Zm8"));
	CHECK(rejects(b64_decode, "Zh=="));
	{
		unsigned char *out = NULL;
		size_t outlen;

		/* slen bounds the input: bytes past it are not read. */
		CHECK(b64url_decode("Zm9vXXXX", 4, &out, &outlen) == 0 && outlen == 3);
		free(out);
		CHECK(b64url_decode("Zm9v\0Zm9v", 9, &out, &outlen) == -1);	/* embedded NUL */
	}
}

static void
test_sha256(void)
{
	unsigned char h[UTIL_SHA256_LEN];
	char x[2 * UTIL_SHA256_LEN + 1];
	char *s;

	sha256("", 0, h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256("abc", 3, h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* ID4ME.md: the hash of the identity agent's challenge. */
	s = token_hash("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	CHECK_STR(s, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
	free(s);
	CHECK(token_hash(NULL) == NULL);
}

static void
test_hmac(void)
{
	unsigned char key[131], data[50], h[UTIL_SHA256_LEN];
	char x[2 * UTIL_SHA256_LEN + 1];
	const char *msg;

	/* RFC 4231 §4.2 test case 1. */
	memset(key, 0x0b, 20);
	hmac_sha256(key, 20, "Hi There", 8, h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* §4.3 test case 2: a key shorter than the output. */
	msg = "what do ya want for nothing?";
	hmac_sha256("Jefe", 4, msg, strlen(msg), h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* §4.4 test case 3. */
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	hmac_sha256(key, 20, data, 50, h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	/* §4.7 test case 6: a key longer than the block is hashed first. */
	memset(key, 0xaa, 131);
	msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key, 131, msg, strlen(msg), h);
	hex(h, sizeof(h), x);
	CHECK_STR(x, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_random(void)
{
	unsigned char a[64], b[64], zero[64] = { 0 };
	unsigned char *dec = NULL;
	size_t declen = 0;
	char *t1, *t2;

	CHECK(rand_bytes(a, sizeof(a)) == 0);
	CHECK(rand_bytes(b, sizeof(b)) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
	CHECK(rand_bytes(a, 0) == 0);
	t1 = rand_token(32);
	t2 = rand_token(32);
	CHECK(t1 != NULL && t2 != NULL);
	CHECK(t1 != NULL && strlen(t1) == 43);
	CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) != 0);
	CHECK(t1 != NULL && b64url_decode(t1, strlen(t1), &dec, &declen) == 0 && declen == 32);
	free(dec);
	str_secure_free(t1);
	str_secure_free(t2);
	CHECK(rand_token(0) == NULL);
	{
		/* Large requests may come back short from getrandom; rand_bytes must loop. */
		unsigned char *big = calloc(1, 1 << 20);

		CHECK(big != NULL && rand_bytes(big, 1 << 20) == 0);
		CHECK(big != NULL && memcmp(big + (1 << 20) - 64, zero, 64) != 0);
		free(big);
	}
}

static void
test_time(void)
{
	uint64_t m1, m2;

	CHECK(time_now() > 1700000000);	/* after November 2023 */
	m1 = time_mono_ms();
	m2 = time_mono_ms();
	CHECK(m2 >= m1);
}

static void
test_log(void)
{
	char dir[] = "/tmp/anchorid-test-log.XXXXXX", path[64], line[256];
	enum log_level l = LOG_LVL_ERROR;
	FILE *fp;

	CHECK(log_level_parse("error", &l) == 0 && l == LOG_LVL_ERROR);
	CHECK(log_level_parse("warn", &l) == 0 && l == LOG_LVL_WARN);
	CHECK(log_level_parse("info", &l) == 0 && l == LOG_LVL_INFO);
	CHECK(log_level_parse("debug", &l) == 0 && l == LOG_LVL_DEBUG);
	CHECK(log_level_parse("DEBUG", &l) == -1);
	CHECK(log_level_parse("", &l) == -1);
	CHECK(log_level_parse(NULL, &l) == -1);

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/access.log", dir);
	CHECK(log_init(LOG_LVL_ERROR, "/nonexistent/dir/access.log") == -1);
	CHECK(log_init(LOG_LVL_ERROR, path) == 0);
	log_warnx("not shown at level error");
	log_access("GET /authorize 302");
	log_access("GET /x\r\nforged line 200");	/* control characters cannot forge a line */
	log_close();
	log_access("after close: to stderr");
	CHECK(log_init(LOG_LVL_INFO, "-") == 0);
	if ((fp = fopen(path, "r")) == NULL) {
		CHECK(!"access log written");
	} else {
		CHECK(fgets(line, sizeof(line), fp) != NULL);
		CHECK_STR(line, "GET /authorize 302\n");
		CHECK(fgets(line, sizeof(line), fp) != NULL);
		CHECK_STR(line, "GET /x??forged line 200\n");
		CHECK(fgets(line, sizeof(line), fp) == NULL);
		fclose(fp);
	}
	unlink(path);
	rmdir(dir);
}

static void
test_json_depth(void)
{
	CHECK(json_depth_ok("{}", strlen("{}"), 1));
	CHECK(json_depth_ok("{\"a\":[1]}", strlen("{\"a\":[1]}"), 2));
	CHECK(!json_depth_ok("{\"a\":[1]}", strlen("{\"a\":[1]}"), 1));
	/* Brackets inside strings, also after escaped quotes and backslashes, do not count. */
	CHECK(json_depth_ok("{\"a\":\"[[[[\"}", strlen("{\"a\":\"[[[[\"}"), 1));
	CHECK(json_depth_ok("{\"a\":\"\\\"[[[\"}", strlen("{\"a\":\"\\\"[[[\"}"), 1));
	CHECK(!json_depth_ok("{\"a\":\"\\\\\",\"b\":[[1]]}", strlen("{\"a\":\"\\\\\",\"b\":[[1]]}"), 2));
	CHECK(json_depth_ok("", strlen(""), 0));
}

int
main(void)
{
	TEST_RUN(test_buf_basic);
	TEST_RUN(test_buf_grow);
	TEST_RUN(test_buf_limit);
	TEST_RUN(test_str_misc);
	TEST_RUN(test_parse_i64);
	TEST_RUN(test_url_encode);
	TEST_RUN(test_html_escape);
	TEST_RUN(test_ct);
	TEST_RUN(test_base64);
	TEST_RUN(test_sha256);
	TEST_RUN(test_hmac);
	TEST_RUN(test_json_depth);
	TEST_RUN(test_random);
	TEST_RUN(test_time);
	TEST_RUN(test_log);
	return (TEST_EXIT());
}
