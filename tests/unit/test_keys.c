/*
 * test_keys.c: src/keys against a real store in a temporary directory: RFC 7638 thumbprints (and the ACME
 * key authorization built on them), signing and verification, the attacks SECURITY.md 13 names (alg none,
 * algorithm confusion, unknown kid), the published JWKS, rotation with overlap, and argon2id passwords.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "keys.h"
#include "store.h"
#include "test.h"
#include "util.h"

static const char *const ALGS_BOTH[] = { "RS256", "ES256", NULL };
static const char *const ALGS_RS[] = { "RS256", NULL };

static struct conf conf;
static char tmpdir[] = "/tmp/anchorid-test-keys-XXXXXX";
static int ndb;
static struct keyring *g_kr, *g_other; /* two keyrings on two stores, made in main() */

#define TAG "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* 32 bytes, unpadded base64 */
#define SALT_TAG "$c29tZXNhbHRzb21lc2FsdA" TAG             /* 16-byte salt */

/* RFC 7638 §3.1 */
static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
    "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9"
    "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
    "jF44-csFCur-kEgU8awapJzKnqDKgw";

/* store_new(): a fresh SQLite store in the temporary directory. */
static struct store *
store_new(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/keys%d.db", tmpdir, ndb++);
	return (store_open(path));
}

/* seg(s): base64url of the string ${s}; caller frees. */
static char *
seg(const char *s)
{
	return (b64url_encode(s, strlen(s)));
}

/* join3(a, b, c): "a.b.c"; caller frees. */
static char *
join3(const char *a, const char *b, const char *c)
{
	struct buf bf;

	buf_init(&bf);
	buf_printf(&bf, "%s.%s.%s", a, b, c);
	return (buf_steal(&bf));
}

/* part(token, i): a copy of segment ${i} (0, 1, 2) of a compact JWS. */
static char *
part(const char *token, int i)
{
	const char *s = token, *e;

	while (i-- > 0 && s != NULL)
		s = (s = strchr(s, '.')) != NULL ? s + 1 : NULL;
	if (s == NULL)
		return (NULL);
	e = strchr(s, '.');
	return (e != NULL ? xstrndup(s, (size_t)(e - s)) : xstrdup(s));
}

/* header_kid(token): the kid of the token's header (copy) or NULL. */
static char *
header_kid(const char *token)
{
	json_t *h = NULL, *p = NULL;
	char *kid = NULL;

	if (jwt_decode_unverified(token, &h, &p) == 0)
		kid = xstrdup(json_string_value(json_object_get(h, "kid")));
	json_decref(h);
	json_decref(p);
	return (kid);
}

/* with_header(token, header): ${token} with its header segment replaced by ${header}; caller frees. */
static char *
with_header(const char *token, const char *header)
{
	char *h = seg(header), *p = part(token, 1), *s = part(token, 2), *t = join3(h, p, s);

	free(h);
	free(p);
	free(s);
	return (t);
}

static json_t *
claims(void)
{
	return (json_pack("{s:s, s:s, s:i, s:{s:[s]}}", "iss", "https://auth.example.test", "sub", "u1", "exp",
	    2000000000, "clm", "names", "email"));
}

/* verifies(kr, token, algs, typ): jwt_verify succeeded (and its payload is released). */
static int
verifies(struct keyring *kr, const char *token, const char *const *algs, const char *typ)
{
	json_t *p = jwt_verify(kr, token, algs, typ);
	int ok = p != NULL;

	json_decref(p);
	return (ok);
}

/* jwks_kids(kr, kids, max): the kids of the published set; returns how many. Caller frees each. */
static size_t
jwks_kids(struct keyring *kr, char **kids, size_t max)
{
	char *s = keyring_jwks(kr);
	json_t *o = s != NULL ? json_loads(s, 0, NULL) : NULL, *k;
	size_t i, n = 0;

	for (i = 0; (k = json_array_get(json_object_get(o, "keys"), i)) != NULL; i++) {
		if (n < max)
			kids[n++] = xstrdup(json_string_value(json_object_get(k, "kid")));
	}
	json_decref(o);
	free(s);
	return (n);
}

static bool
kid_in(char **kids, size_t n, const char *kid)
{
	size_t i;

	for (i = 0; kid != NULL && i < n; i++)
		if (kids[i] != NULL && strcmp(kids[i], kid) == 0)
			return (true);
	return (false);
}

static void
kids_free(char **kids, size_t n)
{
	while (n-- > 0)
		free(kids[n]);
}

static void
test_thumbprint(void)
{
	char jwk[1024], ka[256], *tp, *t2, *txt;
	unsigned char h[UTIL_SHA256_LEN];

	snprintf(jwk, sizeof(jwk),
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"RS256\","
	    "\"kid\":\"2011-04-29\"}",
	    RFC7638_N);
	tp = jwk_thumbprint(jwk);
	CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* Member order, whitespace and extra (even private) members do not change it. */
	snprintf(jwk, sizeof(jwk),
	    "{ \"d\": \"AAAA\", \"e\": \"AQAB\",\n\"use\":\"sig\", \"n\": \"%s\", \"kty\": \"RSA\" }", RFC7638_N);
	t2 = jwk_thumbprint(jwk);
	CHECK_STR(t2, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	free(t2);

	/* ID4ME.md, ACME dns-01 (RFC 8555 §8.1, §8.4): TXT = base64url(SHA-256(token "." thumbprint)). */
	snprintf(ka, sizeof(ka), "%s.%s", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", tp != NULL ? tp : "");
	sha256(ka, strlen(ka), h);
	txt = b64url_encode(h, sizeof(h));
	CHECK_STR(txt, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
	free(txt);
	free(tp);

	/* RFC 8037 Appendix A.3 (OKP) and an EC P-256 key (RFC 7517 A.1), checked with Python's hashlib. */
	tp = jwk_thumbprint(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	CHECK_STR(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	free(tp);
	tp = jwk_thumbprint("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
	                    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\",\"use\":\"enc\",\"kid\":\"1\"}");
	CHECK_STR(tp, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
	free(tp);

	/* Malformed JWKs. */
	CHECK(jwk_thumbprint(NULL) == NULL);
	CHECK(jwk_thumbprint("") == NULL);
	CHECK(jwk_thumbprint("[]") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":7}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ab\\\"cd\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ab cd\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"abcd\",\"n\":\"efgh\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"oct\",\"k\":\"AQAB\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAB\"}") == NULL);
	CHECK(jwk_thumbprint("{\"kty\":\"EC\",\"crv\":\"P_256\",\"x\":\"AQAB\",\"y\":\"AQAB\"}") == NULL);
}

static void
test_sign_verify(void)
{
	struct keyring *kr = g_kr;
	const char *algs[] = { "RS256", "ES256" };
	json_t *c = claims(), *h = NULL, *p = NULL, *v;
	char *tok, *kid;
	size_t i;

	CHECK(keyring_has_alg(kr, "RS256"));
	CHECK(keyring_has_alg(kr, "ES256"));
	CHECK(!keyring_has_alg(kr, "HS256"));
	CHECK(!keyring_has_alg(kr, "none"));
	CHECK(jwt_sign(kr, "none", NULL, c) == NULL);
	CHECK(jwt_sign(kr, "HS256", NULL, c) == NULL);
	CHECK(jwt_sign(kr, "RS256", NULL, NULL) == NULL);

	for (i = 0; i < 2; i++) {
		tok = jwt_sign(kr, algs[i], "at+jwt", c);
		CHECK(tok != NULL);
		if (tok == NULL)
			continue;
		/* Header: alg, kid (always), typ. */
		CHECK(jwt_decode_unverified(tok, &h, &p) == 0);
		CHECK_STR(json_string_value(json_object_get(h, "alg")), algs[i]);
		CHECK_STR(json_string_value(json_object_get(h, "typ")), "at+jwt");
		CHECK(json_string_length(json_object_get(h, "kid")) == 43);
		CHECK(json_object_size(h) == 3);
		CHECK(json_equal(p, c));
		json_decref(h);
		json_decref(p);

		v = jwt_verify(kr, tok, ALGS_BOTH, NULL);
		CHECK(v != NULL && json_equal(v, c));
		json_decref(v);
		/* RFC 8725 §3.11 explicit typing; RFC 7515 §4.1.9: "application/" may be left out, any case. */
		CHECK(verifies(kr, tok, ALGS_BOTH, "at+jwt"));
		CHECK(verifies(kr, tok, ALGS_BOTH, "application/AT+JWT"));
		CHECK(!verifies(kr, tok, ALGS_BOTH, "JWT"));
		CHECK(!verifies(kr, tok, ALGS_BOTH, "jwt"));
		/* The allow-list is the caller's: ES256 is refused where only RS256 is allowed. */
		CHECK(verifies(kr, tok, ALGS_RS, NULL) == (i == 0));
		free(tok);
	}

	/* typ omitted when NULL; then a required typ fails. */
	tok = jwt_sign(kr, "RS256", NULL, c);
	CHECK(tok != NULL && jwt_decode_unverified(tok, &h, &p) == 0);
	CHECK(h != NULL && json_object_get(h, "typ") == NULL);
	json_decref(h);
	json_decref(p);
	CHECK(verifies(kr, tok, ALGS_RS, NULL));
	CHECK(!verifies(kr, tok, ALGS_RS, "JWT"));
	kid = header_kid(tok);
	CHECK(kid != NULL);
	free(kid);
	free(tok);
	json_decref(c);
}

static void
test_verify_rejects(void)
{
	struct keyring *kr = g_kr, *other = g_other;
	const char *const with_hs[] = { "RS256", "ES256", "HS256", NULL };
	const char *const with_none[] = { "none", "RS256", NULL };
	json_t *c = claims(), *big;
	char *rs = jwt_sign(kr, "RS256", "JWT", c), *es = jwt_sign(kr, "ES256", "JWT", c);
	char *rs_kid = header_kid(rs), *es_kid = header_kid(es), *foreign = jwt_sign(other, "RS256", "JWT", c);
	char hdr[512], *t, *h, *p, *s, *jwks, *rsa_pub = NULL, *sig;
	unsigned char mac[UTIL_SHA256_LEN];
	json_t *set, *k;
	size_t i, len;

	CHECK(rs != NULL && es != NULL && foreign != NULL && rs_kid != NULL && es_kid != NULL);
	if (rs == NULL || es == NULL || foreign == NULL || rs_kid == NULL || es_kid == NULL)
		goto out;
	CHECK(verifies(kr, rs, ALGS_BOTH, "JWT") && verifies(kr, es, ALGS_BOTH, "JWT"));

	/* alg "none", any spelling, even when a careless caller allows it, with or without a signature. */
	p = part(rs, 1);
	h = seg("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	t = join3(h, p, "");
	CHECK(!verifies(kr, t, with_none, NULL));
	free(t);
	free(h);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"kid\":\"%s\"}", rs_kid);
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, with_none, NULL));
	free(t);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"None\",\"kid\":\"%s\"}", rs_kid);
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, with_none, NULL));
	free(t);

	/* Algorithm confusion: HS256 keyed with the RSA public key (its JWK text, and its modulus). */
	jwks = keyring_jwks(kr);
	set = jwks != NULL ? json_loads(jwks, 0, NULL) : NULL;
	for (i = 0; (k = json_array_get(json_object_get(set, "keys"), i)) != NULL; i++) {
		if (strcmp(json_string_value(json_object_get(k, "kid")), rs_kid) == 0)
			rsa_pub = json_dumps(k, JSON_COMPACT);
	}
	CHECK(rsa_pub != NULL);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", rs_kid);
	h = seg(hdr);
	for (i = 0; i < 2 && rsa_pub != NULL; i++) {
		json_t *pub = json_loads(rsa_pub, 0, NULL);
		const char *key = i == 0 ? rsa_pub : json_string_value(json_object_get(pub, "n"));
		struct buf in;

		buf_init(&in);
		buf_printf(&in, "%s.%s", h, p);
		hmac_sha256(key, strlen(key), in.data, in.len, mac);
		sig = b64url_encode(mac, sizeof(mac));
		t = join3(h, p, sig);
		CHECK(!verifies(kr, t, with_hs, NULL));
		CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
		free(t);
		free(sig);
		buf_release(&in);
		json_decref(pub);
	}
	free(h);
	free(rsa_pub);
	json_decref(set);
	free(jwks);

	/* Unknown kid (a valid token from another keyring), missing kid, kid of the other alg's key. */
	CHECK(verifies(other, foreign, ALGS_BOTH, NULL));
	CHECK(!verifies(kr, foreign, ALGS_BOTH, NULL));
	t = with_header(rs, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", es_kid);
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", rs_kid);
	t = with_header(es, hdr);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":%s,\"typ\":\"JWT\"}", "7");
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	/* Header tricks: duplicate alg, crit. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\",\"alg\":\"none\"}", rs_kid);
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"crit\":[\"exp\"],\"exp\":1}", rs_kid);
	t = with_header(rs, hdr);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);

	/* Tampered payload, tampered signature. */
	s = part(rs, 2);
	h = part(rs, 0);
	free(p);
	p = seg("{\"iss\":\"https://auth.example.test\",\"sub\":\"admin\",\"exp\":2000000000}");
	t = join3(h, p, s);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	free(p);
	p = part(rs, 1);
	s[5] = s[5] == 'A' ? 'B' : 'A';
	t = join3(h, p, s);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	t = join3(h, p, "");
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	free(h);
	free(p);
	free(s);

	/* Truncated tokens, stray bytes. */
	len = strlen(rs);
	t = xstrndup(rs, len - 4);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	t = xstrndup(rs, (size_t)(strrchr(rs, '.') - rs));
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	CHECK(!verifies(kr, "", ALGS_BOTH, NULL));
	CHECK(!verifies(kr, NULL, ALGS_BOTH, NULL));
	CHECK(!verifies(kr, "..", ALGS_BOTH, NULL));
	t = join3(rs, "", "");
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);
	t = malloc(len + 2);
	snprintf(t, len + 2, "%s=", rs);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	snprintf(t, len + 2, " %s", rs);
	CHECK(!verifies(kr, t, ALGS_BOTH, NULL));
	free(t);

	/* Size: just under KEYS_MAX_JWT verifies, over it is refused before parsing. */
	{
		char pad[KEYS_MAX_JWT];
		size_t n = (KEYS_MAX_JWT - len) * 3 / 4 - 40;

		memset(pad, 'x', n);
		pad[n] = '\0';
		big = claims();
		json_object_set_new(big, "pad", json_string(pad));
		t = jwt_sign(kr, "RS256", NULL, big);
		CHECK(t != NULL && strlen(t) <= KEYS_MAX_JWT && strlen(t) > KEYS_MAX_JWT - 200);
		CHECK(t != NULL && verifies(kr, t, ALGS_BOTH, NULL));
		free(t);
		memset(pad, 'x', KEYS_MAX_JWT * 3 / 4);
		pad[KEYS_MAX_JWT * 3 / 4] = '\0';
		json_object_set_new(big, "pad", json_string(pad));
		t = jwt_sign(kr, "RS256", NULL, big);
		CHECK(t != NULL && strlen(t) > KEYS_MAX_JWT);
		CHECK(t != NULL && !verifies(kr, t, ALGS_BOTH, NULL));
		free(t);
		json_decref(big);
	}
out:
	free(rs);
	free(es);
	free(foreign);
	free(rs_kid);
	free(es_kid);
	json_decref(c);
}

static void
test_decode_unverified(void)
{
	char *h = seg("{\"alg\":\"RS256\",\"kid\":\"k\"}"), *p, *t;
	json_t *oh = NULL, *op = NULL;
	struct buf deep;
	int i;

	p = seg("{\"iss\":\"x\"}");
	t = join3(h, p, "c2ln");
	CHECK(jwt_decode_unverified(t, &oh, &op) == 0);
	CHECK_STR(json_string_value(json_object_get(oh, "kid")), "k");
	CHECK_STR(json_string_value(json_object_get(op, "iss")), "x");
	json_decref(oh);
	json_decref(op);
	free(t);
	t = join3(h, p, "");
	CHECK(jwt_decode_unverified(t, &oh, &op) == 0); /* the signature is not looked at */
	json_decref(oh);
	json_decref(op);
	free(t);
	free(p);

	/* Not objects, duplicates, garbage, NUL bytes, nesting past the cap. */
	const char *bad[] = { "[]", "\"x\"", "{\"a\":1,\"a\":2}", "{\"a\":1} x", "{", "", "{\"a\":\"\\u0000\"}" };
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		p = seg(bad[i]);
		t = join3(h, p, "c2ln");
		CHECK(jwt_decode_unverified(t, &oh, &op) == -1 && oh == NULL && op == NULL);
		free(t);
		free(p);
	}
	p = b64url_encode("{\"a\":\0}", 7);
	t = join3(h, p, "c2ln");
	CHECK(jwt_decode_unverified(t, &oh, &op) == -1);
	free(t);
	free(p);
	for (i = 0; i < 2; i++) {
		int d, depth = i == 0 ? 31 : 33;

		buf_init(&deep);
		buf_puts(&deep, "{\"a\":");
		for (d = 1; d < depth; d++)
			buf_puts(&deep, "[");
		for (d = 1; d < depth; d++)
			buf_puts(&deep, "]");
		buf_puts(&deep, "}");
		p = seg(deep.data);
		t = join3(h, p, "c2ln");
		CHECK(jwt_decode_unverified(t, &oh, &op) == (i == 0 ? 0 : -1));
		json_decref(oh);
		json_decref(op);
		free(t);
		free(p);
		buf_release(&deep);
	}
	CHECK(jwt_decode_unverified("a.b", &oh, &op) == -1);
	CHECK(jwt_decode_unverified("a.b.c.d.e", &oh, &op) == -1);
	CHECK(jwt_decode_unverified("!!!.b.c", &oh, &op) == -1);
	CHECK(jwt_decode_unverified(NULL, &oh, &op) == -1);
	free(h);
}

static void
test_jwks(void)
{
	struct keyring *kr = g_kr;
	static const char *const private[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	char *s = keyring_jwks(kr), *one, *tp;
	json_t *o = s != NULL ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL, *k;
	const char *kty;
	size_t i, j, nrsa = 0, nec = 0;

	CHECK(o != NULL && json_array_size(json_object_get(o, "keys")) == 2);
	CHECK(s != NULL && strchr(s, ' ') == NULL); /* compact */
	for (i = 0; (k = json_array_get(json_object_get(o, "keys"), i)) != NULL; i++) {
		kty = json_string_value(json_object_get(k, "kty"));
		CHECK(kty != NULL);
		CHECK(json_is_string(json_object_get(k, "kid")));
		CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
		for (j = 0; j < sizeof(private) / sizeof(private[0]); j++)
			CHECK(json_object_get(k, private[j]) == NULL);
		if (kty != NULL && strcmp(kty, "RSA") == 0) {
			nrsa++;
			CHECK_STR(json_string_value(json_object_get(k, "alg")), "RS256");
			CHECK(json_object_size(k) == 6); /* kty kid use alg n e */
			/* 2048-bit modulus: 256 bytes, 342 base64url characters. */
			CHECK(json_string_length(json_object_get(k, "n")) == 342);
			CHECK_STR(json_string_value(json_object_get(k, "e")), "AQAB");
		} else if (kty != NULL && strcmp(kty, "EC") == 0) {
			nec++;
			CHECK_STR(json_string_value(json_object_get(k, "alg")), "ES256");
			CHECK_STR(json_string_value(json_object_get(k, "crv")), "P-256");
			CHECK(json_object_size(k) == 7); /* kty kid use alg crv x y */
		}
		/* kid = RFC 7638 thumbprint of the published key. */
		one = json_dumps(k, 0);
		tp = jwk_thumbprint(one);
		CHECK_STR(tp, json_string_value(json_object_get(k, "kid")));
		free(tp);
		free(one);
	}
	CHECK(nrsa == 1 && nec == 1);
	json_decref(o);
	free(s);
}

static void
test_rotation(void)
{
	struct store *st = store_new();
	struct keyring *kr = NULL, *kr2 = NULL;
	json_t *c = claims();
	char out[1024], *kids[8], *old_rs = NULL, *old_es = NULL, *tok_rs = NULL, *tok_es = NULL, *t, *kid;
	size_t n, i;
	int64_t now;

	CHECK(st != NULL && (kr = keyring_open(st, &conf)) != NULL);
	if (kr == NULL)
		goto out;
	tok_rs = jwt_sign(kr, "RS256", NULL, c);
	tok_es = jwt_sign(kr, "ES256", NULL, c);
	old_rs = header_kid(tok_rs);
	old_es = header_kid(tok_es);
	CHECK(old_rs != NULL && old_es != NULL);
	CHECK(keyring_refresh(kr) == 0); /* nothing changed */

	/* 1. Rotation with a long activation delay: published at once, signing only later. */
	conf.key_activation_delay = 3600;
	now = time_now();
	CHECK(keys_rotate(st, &conf, now, out, sizeof(out)) == 0);
	CHECK(strstr(out, "RS256") != NULL && strstr(out, "ES256") != NULL);
	n = jwks_kids(kr, kids, 8);
	CHECK(n == 2); /* the snapshot changes only on refresh */
	kids_free(kids, n);
	CHECK(keyring_refresh(kr) == 0);
	n = jwks_kids(kr, kids, 8);
	CHECK(n == 4 && kid_in(kids, n, old_rs) && kid_in(kids, n, old_es));
	kids_free(kids, n);
	t = jwt_sign(kr, "RS256", NULL, c);
	kid = header_kid(t);
	CHECK(kid != NULL && old_rs != NULL && strcmp(kid, old_rs) == 0);
	free(kid);
	free(t);
	t = jwt_sign(kr, "ES256", NULL, c);
	kid = header_kid(t);
	CHECK(kid != NULL && old_es != NULL && strcmp(kid, old_es) == 0);
	free(kid);
	free(t);
	CHECK(keyring_refresh(kr) == 0);

	/* 2. Rotation taking effect at once: the newest key signs, the old ones still verify. */
	conf.key_activation_delay = 0;
	CHECK(keys_rotate(st, &conf, time_now(), out, sizeof(out)) == 0);
	CHECK(keyring_refresh(kr) == 0);
	n = jwks_kids(kr, kids, 8);
	CHECK(n == 6);
	t = jwt_sign(kr, "RS256", NULL, c);
	kid = header_kid(t);
	CHECK(kid != NULL && old_rs != NULL && strcmp(kid, old_rs) != 0 && kid_in(kids, n, kid));
	/* Another process (a second keyring on the same store) verifies the new key's tokens. */
	CHECK((kr2 = keyring_open(st, &conf)) != NULL);
	CHECK(kr2 != NULL && verifies(kr2, t, ALGS_BOTH, NULL));
	free(kid);
	free(t);
	t = jwt_sign(kr, "ES256", NULL, c);
	kid = header_kid(t);
	CHECK(kid != NULL && old_es != NULL && strcmp(kid, old_es) != 0 && kid_in(kids, n, kid));
	free(kid);
	free(t);
	kids_free(kids, n);
	CHECK(verifies(kr, tok_rs, ALGS_BOTH, NULL));
	CHECK(verifies(kr, tok_es, ALGS_BOTH, NULL));
	keyring_free(kr2);
	kr2 = NULL;
	keyring_free(kr);
	kr = NULL;
	store_close(st);

	/*
	 * 3. Expiry: rotate "in the past" on a fresh store, so the first keys retired long ago and their last
	 * token has expired: they leave the JWKS and their tokens no longer verify.
	 */
	st = store_new();
	CHECK(st != NULL && (kr = keyring_open(st, &conf)) != NULL);
	if (kr == NULL)
		goto out;
	free(tok_rs);
	free(old_rs);
	tok_rs = jwt_sign(kr, "RS256", NULL, c);
	old_rs = header_kid(tok_rs);
	CHECK(verifies(kr, tok_rs, ALGS_BOTH, NULL));
	CHECK(keys_rotate(st, &conf, time_now() - 10000, out, sizeof(out)) == 0);
	CHECK(keyring_refresh(kr) == 0);
	n = jwks_kids(kr, kids, 8);
	CHECK(n == 2 && !kid_in(kids, n, old_rs));
	kids_free(kids, n);
	CHECK(!verifies(kr, tok_rs, ALGS_BOTH, NULL));
	t = jwt_sign(kr, "RS256", NULL, c);
	kid = header_kid(t);
	CHECK(kid != NULL && old_rs != NULL && strcmp(kid, old_rs) != 0);
	CHECK(verifies(kr, t, ALGS_BOTH, NULL));
	free(kid);
	free(t);
	for (i = 0; i < 3; i++)
		CHECK(keyring_refresh(kr) == 0);
out:
	conf.key_activation_delay = 3600;
	keyring_free(kr2);
	keyring_free(kr);
	store_close(st);
	free(tok_rs);
	free(tok_es);
	free(old_rs);
	free(old_es);
	json_decref(c);
}

/* Rows the keyring cannot use are skipped (and never published); an alg left without a key gets a new one. */
static void
test_bad_rows(void)
{
	struct store *st = store_new();
	struct keyring *kr = NULL;
	struct stored_key rows[4];
	char pubjwk[1024], *kids[8], *jwks = NULL;
	size_t i, n;
	int64_t now = time_now();

	snprintf(pubjwk, sizeof(pubjwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", RFC7638_N);
	memset(rows, 0, sizeof(rows));
	rows[0].kid = "bad-hs";
	rows[0].alg = "HS256";
	rows[0].jwk = "{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}";
	rows[1].kid = "bad-public-only";
	rows[1].alg = "RS256";
	rows[1].jwk = pubjwk; /* no private members: cannot sign */
	rows[2].kid = "bad-json";
	rows[2].alg = "ES256";
	rows[2].jwk = "{\"kty\":\"EC\",";
	rows[3].kid = "bad-kty";
	rows[3].alg = "ES256";
	rows[3].jwk = pubjwk; /* an RSA key filed as ES256 */
	for (i = 0; i < 4; i++) {
		rows[i].created_at = rows[i].activate_at = now;
		CHECK(st != NULL && store_key_add(st, &rows[i], 0, 0) == STORE_OK);
	}
	CHECK((kr = keyring_open(st, &conf)) != NULL);
	if (kr == NULL)
		goto out;
	CHECK(keyring_has_alg(kr, "RS256") && keyring_has_alg(kr, "ES256"));
	n = jwks_kids(kr, kids, 8);
	CHECK(n == 2);
	for (i = 0; i < 4; i++)
		CHECK(!kid_in(kids, n, rows[i].kid));
	kids_free(kids, n);
	jwks = keyring_jwks(kr);
	CHECK(jwks != NULL && strstr(jwks, "c2VjcmV0") == NULL && strstr(jwks, "oct") == NULL);
	CHECK(keyring_refresh(kr) == 0);
out:
	free(jwks);
	keyring_free(kr);
	store_close(st);
}

/* Concurrency: signers on several threads while another thread keeps rotating and refreshing. */
struct race {
	struct keyring *kr;
	struct store *st;
	atomic_int stop;
	atomic_int failures;
	atomic_int signed_ok;
};

static void *
race_signer(void *arg)
{
	struct race *r = arg;
	json_t *c = claims();
	unsigned i = 0;
	char *t;

	while (!atomic_load(&r->stop)) {
		t = jwt_sign(r->kr, i++ % 4 == 0 ? "RS256" : "ES256", NULL, c);
		if (t == NULL || !verifies(r->kr, t, ALGS_BOTH, NULL))
			atomic_fetch_add(&r->failures, 1);
		else
			atomic_fetch_add(&r->signed_ok, 1);
		free(t);
		usleep(200); /* leave the rotating thread some CPU (valgrind runs one thread at a time) */
	}
	json_decref(c);
	return (NULL);
}

static void
test_refresh_race(void)
{
	struct race r;
	pthread_t th[3];
	char out[512];
	int i;

	memset(&r, 0, sizeof(r));
	r.st = store_new();
	CHECK(r.st != NULL && (r.kr = keyring_open(r.st, &conf)) != NULL);
	if (r.kr == NULL)
		goto out;
	conf.key_activation_delay = 0;
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, race_signer, &r);
	for (i = 0; i < 2; i++) {
		CHECK(keys_rotate(r.st, &conf, time_now(), out, sizeof(out)) == 0);
		CHECK(keyring_refresh(r.kr) == 0);
	}
	atomic_store(&r.stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&r.failures) == 0);
	CHECK(atomic_load(&r.signed_ok) > 0);
out:
	conf.key_activation_delay = 3600;
	keyring_free(r.kr);
	store_close(r.st);
}

/* ------------------------------------------------------------------------------------------ passwords */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
pw_params(int t, int m, int cap)
{
	conf.argon2_t_cost = t;
	conf.argon2_m_cost = m;
	conf.argon2_parallelism = 1;
	conf.argon2_max_concurrent = cap;
	CHECK(pw_init(&conf) == 0);
}

static void
test_passwords(void)
{
	char *h1 = NULL, *h2 = NULL, *h3 = NULL;
	double t0, t_real, t_dummy;
	int i;

	pw_params(1, 16384, 2);
	CHECK(pw_hash("correct horse battery staple", &h1) == PW_OK);
	CHECK(pw_hash("correct horse battery staple", &h2) == PW_OK);
	CHECK(h1 != NULL && h2 != NULL);
	if (h1 == NULL || h2 == NULL)
		goto out;
	CHECK(strncmp(h1, "$argon2id$v=19$m=16384,t=1,p=1$", 31) == 0);
	CHECK(strcmp(h1, h2) != 0); /* fresh salt */
	CHECK(pw_verify(h1, "correct horse battery staple") == PW_OK);
	CHECK(pw_verify(h2, "correct horse battery staple") == PW_OK);
	CHECK(pw_verify(h1, "correct horse battery stapl") == PW_MISMATCH);
	CHECK(pw_verify(h1, "") == PW_MISMATCH);
	CHECK(pw_verify(NULL, "correct horse battery staple") == PW_MISMATCH);
	CHECK(pw_verify("$argon2id$v=19$garbage", "x") == PW_ERROR);
	CHECK(pw_verify(h1, NULL) == PW_ERROR);
	CHECK(pw_hash("", &h3) == PW_OK && h3 != NULL && pw_verify(h3, "") == PW_OK);

	/* Unknown identities cost a hash with the same parameters (SECURITY.md 9): best of 3 against noise. */
	for (t_real = t_dummy = 1e300, i = 0; i < 3; i++) {
		t0 = now_s();
		CHECK(pw_verify(h1, "wrong password") == PW_MISMATCH);
		if (now_s() - t0 < t_real)
			t_real = now_s() - t0;
		t0 = now_s();
		CHECK(pw_verify(NULL, "wrong password") == PW_MISMATCH);
		if (now_s() - t0 < t_dummy)
			t_dummy = now_s() - t0;
	}
	CHECK(t_dummy > t_real / 2 && t_dummy < t_real * 2);

	/* Rehash when the configuration changed; old hashes still verify. */
	CHECK(!pw_needs_rehash(h1));
	pw_params(2, 16384, 2);
	CHECK(pw_needs_rehash(h1));
	CHECK(pw_verify(h1, "correct horse battery staple") == PW_OK);
	pw_params(1, 8192, 2);
	CHECK(pw_needs_rehash(h1));
	pw_params(1, 16384, 2);
	CHECK(!pw_needs_rehash(h1));
	CHECK(pw_needs_rehash(NULL));
	CHECK(pw_needs_rehash(""));
	CHECK(pw_needs_rehash("$argon2i$v=19$m=16384,t=1,p=1" SALT_TAG));
	CHECK(pw_needs_rehash("$argon2id$v=16$m=16384,t=1,p=1" SALT_TAG));
	CHECK(pw_needs_rehash("$argon2id$v=19$m=016384,t=1,p=1" SALT_TAG));
	CHECK(pw_needs_rehash("$argon2id$v=19$m=16384,t=1,p=1$c29tZXNhbHQ" TAG));
	CHECK(!pw_needs_rehash("$argon2id$v=19$m=16384,t=1,p=1" SALT_TAG));
	CHECK(pw_needs_rehash("$argon2id$v=19$m=16384,t=1,p=99999999999" SALT_TAG));
	/* Bad configurations are refused. */
	conf.argon2_max_concurrent = 0;
	CHECK(pw_init(&conf) == -1);
	conf.argon2_max_concurrent = 2;
	conf.argon2_t_cost = 0;
	CHECK(pw_init(&conf) == -1);
	pw_params(1, 16384, 2);
out:
	free(h1);
	free(h2);
	free(h3);
}

struct slow {
	atomic_int *go; /* both threads start together */
	double begin, end;
	enum pw_rc rc;
};

static void *
slow_hash(void *arg)
{
	struct slow *s = arg;
	char *h = NULL;

	while (!atomic_load(s->go))
		;
	s->begin = now_s();
	s->rc = pw_hash("a slow password", &h);
	s->end = now_s();
	free(h);
	return (NULL);
}

/*
 * PW_BUSY: with a cap of 1, two slow hashes start together; whichever gets the slot hashes for about 3.5 s
 * (calibrated on this machine), the other must give up after 2 s.  The attempt only counts when the first
 * finished hash did outlast the 2 s wait (otherwise the machine was faster than calibrated, and the cost
 * doubles); a broken cap then shows as two PW_OK.
 */
static void
test_pw_busy(void)
{
	struct slow s[2];
	pthread_t th[2];
	atomic_int go;
	char *h = NULL;
	double t0, per_pass, start, first_ok_end;
	int i, t_cost, attempt, judged = 0, nok, nbusy;

	pw_params(4, 8192, 1);
	t0 = now_s();
	CHECK(pw_hash("calibration", &h) == PW_OK);
	per_pass = (now_s() - t0) / 4;
	free(h);
	h = NULL;
	t_cost = (int)(3.5 / (per_pass > 1e-4 ? per_pass : 1e-4)) + 1;
	for (attempt = 0; attempt < 3 && !judged; attempt++, t_cost *= 2) {
		pw_params(t_cost, 8192, 1);
		memset(s, 0, sizeof(s));
		atomic_init(&go, 0);
		for (i = 0; i < 2; i++) {
			s[i].go = &go;
			pthread_create(&th[i], NULL, slow_hash, &s[i]);
		}
		atomic_store(&go, 1);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		start = s[0].begin > s[1].begin ? s[0].begin : s[1].begin;
		first_ok_end = 1e300;
		for (nok = nbusy = i = 0; i < 2; i++) {
			if (s[i].rc == PW_OK) {
				nok++;
				if (s[i].end < first_ok_end)
					first_ok_end = s[i].end;
			} else if (s[i].rc == PW_BUSY) {
				nbusy++;
				CHECK(s[i].end - s[i].begin > 1.9); /* waited the 2 s */
			}
		}
		if (first_ok_end - start < 2.3)
			continue; /* the hash ended before the other's wait did: inconclusive */
		judged = 1;
		CHECK(nok == 1 && nbusy == 1);
	}
	CHECK(judged);
	/* The slot is free again. */
	pw_params(1, 8192, 1);
	CHECK(pw_hash("after", &h) == PW_OK);
	CHECK(pw_verify(h, "after") == PW_OK);
	free(h);
}

static void
cleanup(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[300];
	int i;
	size_t j;

	for (i = 0; i < ndb; i++) {
		for (j = 0; j < sizeof(suffix) / sizeof(suffix[0]); j++) {
			snprintf(path, sizeof(path), "%s/keys%d.db%s", tmpdir, i, suffix[j]);
			unlink(path);
		}
	}
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
}

int
main(void)
{
	struct store *st = NULL, *st_other = NULL;

	if (mkdtemp(tmpdir) == NULL || conf_init(&conf) == -1) {
		perror("setup");
		return (1);
	}
	conf.key_activation_delay = 3600;
	st = store_new();
	st_other = store_new();
	CHECK(st != NULL && st_other != NULL);
	CHECK((g_kr = keyring_open(st, &conf)) != NULL);
	CHECK((g_other = keyring_open(st_other, &conf)) != NULL);
	/* A second open finds the stored keys and generates nothing. */
	{
		struct keyring *again = keyring_open(st, &conf);
		char *a = keyring_jwks(g_kr), *b = keyring_jwks(again);

		CHECK_STR(a, b);
		free(a);
		free(b);
		keyring_free(again);
	}

	TEST_RUN(test_thumbprint);
	if (g_kr != NULL && g_other != NULL) {
		TEST_RUN(test_sign_verify);
		TEST_RUN(test_verify_rejects);
		TEST_RUN(test_jwks);
	}
	TEST_RUN(test_decode_unverified);
	TEST_RUN(test_rotation);
	TEST_RUN(test_bad_rows);
	TEST_RUN(test_refresh_race);
	TEST_RUN(test_passwords);
	TEST_RUN(test_pw_busy);

	keyring_free(g_kr);
	keyring_free(g_other);
	store_close(st);
	store_close(st_other);
	conf_release(&conf);
	cleanup();
	return (TEST_EXIT());
}
