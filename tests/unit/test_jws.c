/*
 * test_jws.c: the agent side of src/keys (jws.c): flattened JWS requests (RFC 7515 §7.2.2,
 * drafts/agent-provisioning.md §3) signed, parsed and verified for every alg; each reason jws_parse refuses a
 * request; the forgeries jws_verify must refuse; agent JWKs (jwk_public_import, jwk_public_of, jwk_generate);
 * the ACME dns-01 value of ID4ME.md (RFC 8555 §8.4) on the RFC 7638 §3.1 key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keys.h"
#include "log.h"
#include "test.h"
#include "util.h"

static const char *const ALGS[] = { "ES256", "ES384", "RS256", "PS256" };
#define NALGS 4

static char *g_priv[NALGS], *g_pub[NALGS]; /* one key per alg (RS256 and PS256 get one RSA key each) */
static char *g_other_es256;                /* a second P-256 public key */

#define URL "https://auth.example.test/agent/identifiers"
#define PAYLOAD "{\"identifier\":\"alice.example\"}"

/* RFC 7638 §3.1 */
static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
    "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9"
    "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
    "jF44-csFCur-kEgU8awapJzKnqDKgw";

/* RFC 7520 §3.1: a P-521 public key. */
#define P521_X "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt"
#define P521_Y "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"

/* seg(s): base64url of the string ${s}; caller frees. */
static char *
seg(const char *s)
{
	return (b64url_encode(s, strlen(s)));
}

/* flat_b64(prot, payload, sig): the flattened JWS {"protected":prot,"payload":payload,"signature":sig} of
 * three base64url texts; caller frees. */
static char *
flat_b64(const char *prot, const char *payload, const char *sig)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", prot, payload, sig);
	return (buf_steal(&b));
}

/* flat(header, payload): a flattened JWS of the JSON text ${header} and ${payload}, with a made-up signature. */
static char *
flat(const char *header, const char *payload)
{
	char *h = seg(header), *p = seg(payload), *t = flat_b64(h, p, "c2lnbmF0dXJl");

	free(h);
	free(p);
	return (t);
}

/* member(jws, name): a copy of the string member ${name} of the flattened JWS text ${jws}. */
static char *
member(const char *jws, const char *name)
{
	json_t *o = json_loads(jws, 0, NULL);
	char *s = xstrdup(json_string_value(json_object_get(o, name)));

	json_decref(o);
	return (s);
}

/* with_member(jws, name, value): ${jws} with its member ${name} set to the string ${value}; caller frees. */
static char *
with_member(const char *jws, const char *name, const char *value)
{
	json_t *o = json_loads(jws, 0, NULL);
	char *s;

	json_object_set_new(o, name, json_string(value));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return (s);
}

/* with_header(jws, header): ${jws} with its protected header replaced by the JSON text ${header}. */
static char *
with_header(const char *jws, const char *header)
{
	char *h = seg(header), *t = with_member(jws, "protected", h);

	free(h);
	return (t);
}

/* parse_rc(text, why, whylen): jws_parse of the string ${text}, the request freed. */
static enum jws_rc
parse_rc(const char *text, char *why, size_t whylen)
{
	struct jws_request *r = NULL;
	enum jws_rc rc;

	rc = jws_parse(text, text != NULL ? strlen(text) : 0, &r, why, whylen);
	if ((rc == JWS_OK) != (r != NULL))
		rc = JWS_ERROR; /* a broken contract fails the calling CHECK */
	jws_request_free(r);
	return (rc);
}

/* refused(text, rc, words): jws_parse gives ${rc} and a sentence that contains ${words}. */
static bool
refused(const char *text, enum jws_rc rc, const char *words)
{
	char why[256];
	enum jws_rc got = parse_rc(text, why, sizeof(why));

	if (got != rc || strstr(why, words) == NULL) {
		fprintf(stderr, "  jws_parse gave %d \"%s\", expected %d \"...%s...\"\n", got, why, rc, words);
		return (false);
	}
	return (true);
}

/* verify_rc(text, jwk): jws_parse then jws_verify with ${jwk}; JWS_MALFORMED when the parse fails. */
static enum jws_rc
verify_rc(const char *text, const char *jwk)
{
	struct jws_request *r = NULL;
	enum jws_rc rc;

	if (text == NULL || jws_parse(text, strlen(text), &r, NULL, 0) != JWS_OK)
		return (JWS_MALFORMED);
	rc = jws_verify(r, jwk);
	jws_request_free(r);
	return (rc);
}

/* import_refused(text, words): jwk_public_import refuses ${text} with a sentence that contains ${words}. */
static bool
import_refused(const char *text, const char *words)
{
	char why[256], *out = NULL;
	int rc = jwk_public_import(text, &out, why, sizeof(why));
	bool ok = rc == -1 && out == NULL && strstr(why, words) != NULL;

	if (!ok)
		fprintf(stderr, "  jwk_public_import gave %d \"%s\", expected -1 \"...%s...\"\n", rc, why, words);
	free(out);
	return (ok);
}

static void
test_generate(void)
{
	json_t *o;
	char *pub2, *tp;
	int i;

	for (i = 0; i < NALGS; i++) {
		CHECK(g_priv[i] != NULL && g_pub[i] != NULL);
		if (g_priv[i] == NULL || g_pub[i] == NULL)
			continue;
		o = json_loads(g_priv[i], JSON_REJECT_DUPLICATES, NULL);
		CHECK_STR(json_string_value(json_object_get(o, "alg")), ALGS[i]);
		CHECK(json_is_string(json_object_get(o, "d")));
		CHECK_STR(json_string_value(json_object_get(o, "kty")), i < 2 ? "EC" : "RSA");
		if (i < 2)
			CHECK_STR(json_string_value(json_object_get(o, "crv")), i == 0 ? "P-256" : "P-384");
		else
			CHECK(json_string_length(json_object_get(o, "n")) == 342); /* 2048 bits */
		json_decref(o);
		/* The public half has public members only, and jwk_public_import gives it back unchanged. */
		CHECK(strstr(g_pub[i], "\"d\"") == NULL && strstr(g_pub[i], "\"p\"") == NULL);
		CHECK(strstr(g_pub[i], "\"alg\"") == NULL);
		CHECK(jwk_public_import(g_pub[i], &pub2, NULL, 0) == 0);
		CHECK_STR(pub2, g_pub[i]);
		free(pub2);
		/* Sorted and compact: the text is the RFC 7638 thumbprint input itself. */
		tp = jwk_thumbprint(g_pub[i]);
		CHECK(tp != NULL && strlen(tp) == 43);
		free(tp);
	}
	CHECK(jwk_generate("HS256") == NULL);
	CHECK(jwk_generate("none") == NULL);
	CHECK(jwk_generate("ES512") == NULL);
	CHECK(jwk_generate(NULL) == NULL);
	CHECK(jwk_public_of(NULL) == NULL);
	CHECK(jwk_public_of("{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}") == NULL);
	CHECK(jwk_public_of("not json") == NULL);
}

/* Each alg: sign_flat -> parse -> verify, with a payload and empty (POST-as-GET). */
static void
test_round_trip(void)
{
	struct jws_request *r;
	char why[256], *t, *kid;
	const char *payload;
	int i, j;

	for (i = 0; i < NALGS; i++) {
		for (j = 0; j < 2; j++) {
			payload = j == 0 ? PAYLOAD : "";
			t = jws_sign_flat(g_priv[i], ALGS[i], "agent-1", "nonce-abc", URL, payload);
			CHECK(t != NULL);
			if (t == NULL)
				continue;
			r = NULL;
			CHECK(jws_parse(t, strlen(t), &r, why, sizeof(why)) == JWS_OK && r != NULL);
			CHECK_STR(why, "");
			if (r == NULL) {
				free(t);
				continue;
			}
			CHECK_STR(r->alg, ALGS[i]);
			CHECK_STR(r->kid, "agent-1");
			CHECK_STR(r->nonce, "nonce-abc");
			CHECK_STR(r->url, URL);
			CHECK_STR(r->payload, payload);
			CHECK(r->payload_len == strlen(payload));
			CHECK(json_object_size(r->header) == 4);
			CHECK(r->sig_len == (i == 0 ? 64u : i == 1 ? 96u : 256u));
			CHECK(jws_verify(r, g_pub[i]) == JWS_OK);
			/* The private JWK verifies too (its public members are there). */
			CHECK(jws_verify(r, g_priv[i]) == JWS_OK);
			jws_request_free(r);
			free(t);
		}
	}
	/* ECDSA signatures are R || S of fixed length (RFC 7518 §3.4), also when R or S has leading zeros. */
	for (i = 0; i < 300; i++) {
		t = jws_sign_flat(g_priv[0], "ES256", "agent-1", "n", URL, "");
		CHECK(verify_rc(t, g_pub[0]) == JWS_OK);
		free(t);
	}
	/* The alg must fit the key; kid, nonce and url must not be empty; a public key cannot sign. */
	CHECK(jws_sign_flat(g_priv[0], "ES384", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[1], "ES256", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[2], "ES256", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[0], "RS256", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[2], "HS256", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[2], "none", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[0], "ES256", "", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[0], "ES256", "a", "", URL, "") == NULL);
	CHECK(jws_sign_flat(g_priv[0], "ES256", "a", "n", "", "") == NULL);
	CHECK(jws_sign_flat(g_priv[0], "ES256", "a", "n", URL, NULL) == NULL);
	CHECK(jws_sign_flat(g_pub[0], "ES256", "a", "n", URL, "") == NULL);
	CHECK(jws_sign_flat(NULL, "ES256", "a", "n", URL, "") == NULL);
	/* A key file as the agent writes it (a newline after the JSON). */
	{
		struct buf b;

		buf_init(&b);
		buf_printf(&b, "%s\n", g_priv[1]);
		t = jws_sign_flat(b.data, "ES384", "a", "n", URL, PAYLOAD);
		CHECK(verify_rc(t, g_pub[1]) == JWS_OK);
		free(t);
		buf_release(&b);
	}
	/* An RSA key signs both RS256 and PS256. */
	t = jws_sign_flat(g_priv[2], "PS256", "a", "n", URL, PAYLOAD);
	CHECK(verify_rc(t, g_pub[2]) == JWS_OK);
	free(t);
	/* Strings that need escaping survive. */
	t = jws_sign_flat(g_priv[0], "ES256", "agent \"\\ \xc3\xa9", "n/\x01", URL "?a=\"b\"", "\xe2\x82\xac\n");
	r = NULL;
	CHECK(t != NULL && jws_parse(t, strlen(t), &r, NULL, 0) == JWS_OK);
	kid = r != NULL ? xstrdup(r->kid) : NULL;
	CHECK_STR(kid, "agent \"\\ \xc3\xa9");
	CHECK(r != NULL && strcmp(r->nonce, "n/\x01") == 0 && strcmp(r->payload, "\xe2\x82\xac\n") == 0);
	CHECK(r != NULL && jws_verify(r, g_pub[0]) == JWS_OK);
	free(kid);
	jws_request_free(r);
	free(t);
}

/* refused_flat(header, payload, rc, words): refused() of flat(header, payload). */
static bool
refused_flat(const char *header, const char *payload, enum jws_rc rc, const char *words)
{
	char *t = flat(header, payload);
	bool ok = refused(t, rc, words);

	free(t);
	return (ok);
}

static bool refusedf(enum jws_rc rc, const char *words, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* refusedf(rc, words, fmt, ...): refused() of the formatted body. */
static bool
refusedf(enum jws_rc rc, const char *words, const char *fmt, ...)
{
	char t[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t)) {
		fprintf(stderr, "  refusedf: body too long for the test buffer\n");
		return (false);
	}
	return (refused(t, rc, words));
}

#define HDR(extra) "{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"" extra "}"

/* Every reason to refuse a request, one CHECK each. */
static void
test_parse_rejects(void)
{
	char *ok = jws_sign_flat(g_priv[0], "ES256", "a", "n", URL, PAYLOAD), *hb = seg(HDR("")), *big, *pb;
	struct jws_request *r = (struct jws_request *)1;
	char why[256];
	size_t len;
	int i;

	CHECK(ok != NULL && hb != NULL);
	if (ok == NULL || hb == NULL)
		goto out;
	CHECK(refused(ok, JWS_OK, ""));
	CHECK(refusedf(JWS_OK, "", "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"c2ln\"}", hb));

	/* Not a flattened JWS. */
	CHECK(jws_parse(NULL, 0, &r, why, sizeof(why)) == JWS_MALFORMED && r == NULL);
	CHECK(refused("", JWS_MALFORMED, "empty"));
	CHECK(refused("[]", JWS_MALFORMED, "not a JSON object"));
	CHECK(refused("{\"protected\":", JWS_MALFORMED, "not valid JSON"));
	CHECK(refused("eyJhbGciOiJFUzI1NiJ9.e30.c2ln", JWS_MALFORMED, "not valid JSON")); /* the compact form */
	CHECK(jws_parse("{\"a\":1}\0{}", 10, &r, why, sizeof(why)) == JWS_MALFORMED && strstr(why, "NUL") != NULL);

	/* Exactly protected, payload and signature: none missing, none more, no unprotected header. */
	CHECK(refusedf(JWS_MALFORMED, "no protected member", "{\"payload\":\"\",\"signature\":\"c2ln\"}"));
	CHECK(refusedf(JWS_MALFORMED, "no payload member", "{\"protected\":\"%s\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "no signature member", "{\"protected\":\"%s\",\"payload\":\"\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "a member other than protected, payload and signature",
	    "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"c2ln\",\"extra\":\"x\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "unprotected header",
	    "{\"protected\":\"%s\",\"header\":{},\"payload\":\"\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "general JWS serialization",
	    "{\"payload\":\"\",\"signatures\":[{\"protected\":\"%s\",\"signature\":\"c2ln\"}]}", hb));
	CHECK(refusedf(JWS_MALFORMED, "duplicate member",
	    "{\"protected\":\"%s\",\"payload\":\"\",\"payload\":\"e30\",\"signature\":\"c2ln\"}", hb));
	/* Members that are not strings, or empty where they may not be. */
	CHECK(refusedf(
	    JWS_MALFORMED, "protected is not a string", "{\"protected\":7,\"payload\":\"\",\"signature\":\"c2ln\"}"));
	CHECK(refusedf(JWS_MALFORMED, "payload is not a string",
	    "{\"protected\":\"%s\",\"payload\":{},\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(
	    JWS_MALFORMED, "protected is empty", "{\"protected\":\"\",\"payload\":\"\",\"signature\":\"c2ln\"}"));
	CHECK(refusedf(
	    JWS_MALFORMED, "signature is empty", "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"\"}", hb));

	/* Base64url (RFC 7515 §2): no padding, no whitespace, no standard-alphabet characters, canonical. */
	CHECK(refusedf(JWS_MALFORMED, "protected is not base64url",
	    "{\"protected\":\"%s=\",\"payload\":\"\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "payload is not base64url",
	    "{\"protected\":\"%s\",\"payload\":\"e30=\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "payload is not base64url",
	    "{\"protected\":\"%s\",\"payload\":\"e3 0\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "payload is not base64url",
	    "{\"protected\":\"%s\",\"payload\":\"e30\\n\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "payload is not base64url", /* non-zero trailing bits */
	    "{\"protected\":\"%s\",\"payload\":\"e31\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "payload is not base64url", /* one character is no octet */
	    "{\"protected\":\"%s\",\"payload\":\"e\",\"signature\":\"c2ln\"}", hb));
	CHECK(refusedf(JWS_MALFORMED, "signature is not base64url",
	    "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"c2l+\"}", hb));
	/* JSON escapes in the strings are JSON's business: "\u0065\u0033\u0030" is "e30". */
	CHECK(refusedf(
	    JWS_OK, "", "{\"protected\":\"%s\",\"payload\":\"\\u0065\\u0033\\u0030\",\"signature\":\"c2ln\"}", hb));

	/* The protected header: a JSON object without duplicates, with alg, kid, nonce and url. */
	CHECK(refused_flat("[]", "", JWS_MALFORMED, "protected header is not a JSON object"));
	CHECK(refused_flat("{\"alg\":\"ES256\",", "", JWS_MALFORMED, "protected header is not valid JSON"));
	CHECK(refused_flat(HDR(",\"alg\":\"none\""), "", JWS_MALFORMED, "protected header has a duplicate member"));
	CHECK(refused_flat(
	    "{\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_MALFORMED, "the protected header has no alg"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_MALFORMED, "the protected header has no kid"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES256\",\"kid\":\"a\",\"url\":\"u\"}", "", JWS_MALFORMED, "the protected header has no nonce"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"n\"}", "", JWS_MALFORMED, "the protected header has no url"));
	CHECK(refused_flat("{\"alg\":[\"ES256\"],\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_MALFORMED,
	    "alg is not a string"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES256\",\"kid\":7,\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_MALFORMED, "kid is not a string"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"\",\"url\":\"u\"}", "", JWS_MALFORMED, "nonce is empty"));
	CHECK(refused_flat("{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":null}", "", JWS_MALFORMED,
	    "url is not a string"));
	/* Members that would let a request name its own key, extensions, unencoded payloads. */
	CHECK(refused_flat(HDR(",\"jwk\":{\"kty\":\"EC\"}"), "", JWS_MALFORMED, "must not have jwk:"));
	CHECK(refused_flat(HDR(",\"crit\":[\"exp\"],\"exp\":1"), "", JWS_MALFORMED, "must not have crit:"));
	CHECK(refused_flat(HDR(",\"b64\":false"), "", JWS_MALFORMED, "must not have b64:"));
	CHECK(refused_flat(HDR(",\"x5c\":[]"), "", JWS_MALFORMED, "must not have x5c:"));
	CHECK(refused_flat(HDR(",\"x5u\":\"https://x\""), "", JWS_MALFORMED, "must not have x5u:"));
	CHECK(refused_flat(HDR(",\"jku\":\"https://x\""), "", JWS_MALFORMED, "must not have jku:"));
	CHECK(refused_flat(HDR(",\"x5t#S256\":\"AAAA\""), "", JWS_MALFORMED, "must not have x5t#S256:"));
	/* Other members are let through (typ, for one). */
	CHECK(refused_flat(HDR(",\"typ\":\"x\""), "", JWS_OK, ""));

	/* The alg, after every syntax check: JWS_BAD_ALG. */
	CHECK(refused_flat(
	    "{\"alg\":\"none\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG, "alg none"));
	CHECK(refused_flat(
	    "{\"alg\":\"NONE\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG, "alg none"));
	CHECK(refused_flat("{\"alg\":\"HS256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG,
	    "not one of ES256, ES384, RS256 and PS256"));
	CHECK(refused_flat(
	    "{\"alg\":\"ES512\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG, "not one of"));
	CHECK(refused_flat(
	    "{\"alg\":\"es256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG, "not one of"));
	CHECK(
	    refused_flat("{\"alg\":\"\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_BAD_ALG, "not one of"));
	/* Syntax comes first (the draft's §3 order): alg none without a kid is malformed. */
	CHECK(refused_flat("{\"alg\":\"none\",\"nonce\":\"n\",\"url\":\"u\"}", "", JWS_MALFORMED, "no kid"));

	/* Nesting: the body and the header are capped before jansson's recursive parser sees them. */
	{
		struct buf b;

		buf_init(&b);
		for (i = 0; i < 100; i++)
			buf_puts(&b, "[");
		for (i = 0; i < 100; i++)
			buf_puts(&b, "]");
		big = buf_steal(&b);
		CHECK(refusedf(JWS_MALFORMED, "request body nests arrays or objects too deeply",
		    "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"c2ln\",\"d\":%s}", hb, big));
		free(big);
		buf_puts(&b, "{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"u\",\"d\":");
		for (i = 0; i < 100; i++)
			buf_puts(&b, "{\"a\":");
		buf_puts(&b, "1");
		for (i = 0; i < 101; i++)
			buf_puts(&b, "}");
		big = buf_steal(&b);
		CHECK(refused_flat(big, "", JWS_MALFORMED, "protected header nests"));
		free(big);
	}

	/* The payload is bytes at this layer: not JSON, or with a NUL inside, it parses (the caller checks it). */
	CHECK(refused_flat(HDR(""), "not json", JWS_OK, ""));
	pb = b64url_encode("a\0b", 3);
	big = flat_b64(hb, pb, "c2ln");
	r = NULL;
	CHECK(jws_parse(big, strlen(big), &r, NULL, 0) == JWS_OK && r != NULL && r->payload_len == 3 &&
	    memcmp(r->payload, "a\0b", 4) == 0);
	jws_request_free(r);
	free(big);
	free(pb);

	/* Size: KEYS_MAX_JWS bytes are read, one more is refused before parsing. */
	len = strlen(ok);
	CHECK(len < KEYS_MAX_JWS && (big = malloc(KEYS_MAX_JWS + 2)) != NULL);
	if (big != NULL) {
		memset(big, ' ', KEYS_MAX_JWS + 1);
		memcpy(big, ok, len);
		big[KEYS_MAX_JWS + 1] = '\0';
		r = NULL;
		CHECK(jws_parse(big, KEYS_MAX_JWS, &r, why, sizeof(why)) == JWS_OK);
		CHECK(r != NULL && jws_verify(r, g_pub[0]) == JWS_OK);
		jws_request_free(r);
		CHECK(refused(big, JWS_MALFORMED, "longer than 65536 bytes"));
		free(big);
	}
	/* why may be NULL; out may not. */
	CHECK(jws_parse(ok, strlen(ok), &r, NULL, 0) == JWS_OK);
	jws_request_free(r);
	CHECK(jws_parse(ok, strlen(ok), NULL, why, sizeof(why)) == JWS_ERROR);
	jws_request_free(NULL);
out:
	free(hb);
	free(ok);
}

/* What jws_verify must refuse. */
static void
test_verify_rejects(void)
{
	char *es = jws_sign_flat(g_priv[0], "ES256", "a", "n", URL, PAYLOAD);
	char *es384 = jws_sign_flat(g_priv[1], "ES384", "a", "n", URL, PAYLOAD);
	char *rs = jws_sign_flat(g_priv[2], "RS256", "a", "n", URL, PAYLOAD);
	char *ps = jws_sign_flat(g_priv[3], "PS256", "a", "n", URL, PAYLOAD);
	char *t, *pl, *sig, rsa1024[512], *n1024;
	unsigned char *raw = NULL, nb[128];
	size_t rawlen = 0;
	struct jws_request *r = NULL;

	CHECK(es != NULL && es384 != NULL && rs != NULL && ps != NULL);
	if (es == NULL || es384 == NULL || rs == NULL || ps == NULL)
		goto out;
	CHECK(verify_rc(es, g_pub[0]) == JWS_OK);

	/* A modified payload (also the empty one), a modified header. */
	pl = seg("{\"identifier\":\"mallory.example\"}");
	t = with_member(es, "payload", pl);
	CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
	free(t);
	free(pl);
	t = with_member(es, "payload", "");
	CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
	free(t);
	t = with_header(es, "{\"alg\":\"ES256\",\"kid\":\"a\",\"nonce\":\"m\",\"url\":\"" URL "\"}");
	CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
	free(t);
	/* The same header with other whitespace is another signing input. */
	pl = member(es, "protected");
	CHECK(b64url_decode(pl, strlen(pl), &raw, &rawlen) == 0);
	free(pl);
	if (raw != NULL) {
		struct buf b;

		buf_init(&b);
		buf_printf(&b, " %s", raw);
		pl = buf_steal(&b);
		t = with_header(es, pl);
		CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
		free(t);
		free(pl);
		free(raw);
	}

	/* Another key of the same kind; the other RSA key. */
	CHECK(verify_rc(es, g_other_es256) == JWS_BAD_SIGNATURE);
	CHECK(verify_rc(rs, g_pub[3]) == JWS_BAD_SIGNATURE);
	CHECK(verify_rc(ps, g_pub[2]) == JWS_BAD_SIGNATURE);

	/* An ES256 signature claimed as ES384: the P-256 key does not fit ES384; the P-384 key rejects its length. */
	t = with_header(es, "{\"alg\":\"ES384\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"" URL "\"}");
	CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_ALG);
	CHECK(verify_rc(t, g_pub[1]) == JWS_BAD_SIGNATURE);
	free(t);
	CHECK(verify_rc(es384, g_pub[0]) == JWS_BAD_ALG);
	/* An RSA key with alg ES256, an EC key with RS256 or PS256. */
	CHECK(verify_rc(es, g_pub[2]) == JWS_BAD_ALG);
	CHECK(verify_rc(rs, g_pub[0]) == JWS_BAD_ALG);
	CHECK(verify_rc(ps, g_pub[1]) == JWS_BAD_ALG);
	/* RS256 relabelled PS256 and back, with the right key. */
	t = with_header(rs, "{\"alg\":\"PS256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"" URL "\"}");
	CHECK(verify_rc(t, g_pub[2]) == JWS_BAD_SIGNATURE);
	free(t);
	t = with_header(ps, "{\"alg\":\"RS256\",\"kid\":\"a\",\"nonce\":\"n\",\"url\":\"" URL "\"}");
	CHECK(verify_rc(t, g_pub[3]) == JWS_BAD_SIGNATURE);
	free(t);

	/* Signatures of the wrong length or with a flipped bit. */
	sig = member(es, "signature");
	CHECK(b64url_decode(sig, strlen(sig), &raw, &rawlen) == 0 && rawlen == 64);
	free(sig);
	if (raw != NULL) {
		unsigned char longer[65];

		memcpy(longer, raw, 64);
		longer[64] = 0;
		sig = b64url_encode(longer, 65);
		t = with_member(es, "signature", sig);
		CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
		free(t);
		free(sig);
		sig = b64url_encode(raw, 63);
		t = with_member(es, "signature", sig);
		CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
		free(t);
		free(sig);
		raw[10] ^= 1;
		sig = b64url_encode(raw, 64);
		t = with_member(es, "signature", sig);
		CHECK(verify_rc(t, g_pub[0]) == JWS_BAD_SIGNATURE);
		free(t);
		free(sig);
		free(raw);
		raw = NULL;
	}
	sig = member(rs, "signature");
	CHECK(b64url_decode(sig, strlen(sig), &raw, &rawlen) == 0 && rawlen == 256);
	free(sig);
	if (raw != NULL) {
		sig = b64url_encode(raw, 255);
		t = with_member(rs, "signature", sig);
		CHECK(verify_rc(t, g_pub[2]) == JWS_BAD_SIGNATURE);
		free(t);
		free(sig);
		free(raw);
	}

	/* Keys no agent may have: not a JWK, P-521, RSA 1024, oct. */
	CHECK(verify_rc(es, "not a key") == JWS_ERROR);
	CHECK(verify_rc(es, NULL) == JWS_ERROR);
	CHECK(
	    verify_rc(es, "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" P521_X "\",\"y\":\"" P521_Y "\"}") == JWS_ERROR);
	memset(nb, 0x5a, sizeof(nb));
	nb[0] = 0xc1;
	nb[127] = 0x5b;
	n1024 = b64url_encode(nb, sizeof(nb));
	snprintf(rsa1024, sizeof(rsa1024), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n1024);
	CHECK(verify_rc(rs, rsa1024) == JWS_ERROR);
	CHECK(verify_rc(es, "{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}") == JWS_ERROR);
	CHECK(jws_verify(NULL, g_pub[0]) == JWS_ERROR);
	/* A request whose alg jws_parse never lets through. */
	CHECK(jws_parse(es, strlen(es), &r, NULL, 0) == JWS_OK && r != NULL);
	if (r != NULL) {
		r->alg = "HS256";
		CHECK(jws_verify(r, g_pub[0]) == JWS_BAD_ALG);
		jws_request_free(r);
	}
	free(n1024);
out:
	free(es);
	free(es384);
	free(rs);
	free(ps);
}

static void
test_jwk_import(void)
{
	char jwk[2048], *out = NULL, why[256], *n1024, *n_lead, *ec;
	unsigned char nb[257], h[UTIL_SHA256_LEN];
	json_t *o;
	char *tp;

	/* The RFC 7638 §3.1 key: alg and kid stripped; the output is the thumbprint input (RFC 7638 §3.3). */
	snprintf(jwk, sizeof(jwk),
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}", RFC7638_N);
	CHECK(jwk_public_import(jwk, &out, why, sizeof(why)) == 0 && out != NULL);
	CHECK_STR(why, "");
	if (out != NULL) {
		CHECK(strncmp(out, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"", 28) == 0);
		sha256(out, strlen(out), h);
		tp = b64url_encode(h, sizeof(h));
		CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
		free(tp);
		tp = jwk_thumbprint(out);
		CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
		free(tp);
		free(out);
		out = NULL;
	}
	/* Extra public members (use, alg, kid, key_ops, x5t) go; EC keys keep crv, kty, x, y. */
	o = json_loads(g_pub[0], 0, NULL);
	json_object_set_new(o, "use", json_string("sig"));
	json_object_set_new(o, "alg", json_string("ES256"));
	json_object_set_new(o, "kid", json_string("agent-1"));
	json_object_set_new(o, "key_ops", json_pack("[s]", "verify"));
	json_object_set_new(o, "x5t", json_string("AAAA"));
	ec = json_dumps(o, JSON_INDENT(2));
	CHECK(jwk_public_import(ec, &out, NULL, 0) == 0);
	CHECK_STR(out, g_pub[0]);
	free(out);
	out = NULL;
	free(ec);

	/* alg, use and key_ops that do not allow signing with this key. */
	json_object_set_new(o, "alg", json_string("none"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "alg is not one of"));
	free(ec);
	json_object_set_new(o, "alg", json_string("ES384"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "alg is not one of"));
	free(ec);
	json_object_set_new(o, "alg", json_string("RS256"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "alg is not one of"));
	free(ec);
	json_object_set_new(o, "alg", json_string("ES256"));
	json_object_set_new(o, "use", json_string("enc"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "use is not sig"));
	free(ec);
	json_object_set_new(o, "use", json_string("sig"));
	json_object_set_new(o, "key_ops", json_pack("[s]", "encrypt"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "key_ops"));
	free(ec);
	json_object_del(o, "key_ops");
	/* A point that is not on the curve; coordinates of the wrong length. */
	json_object_set(o, "y", json_object_get(o, "x"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "cannot be imported"));
	free(ec);
	json_object_set_new(o, "y", json_string("AAAA"));
	ec = json_dumps(o, JSON_COMPACT);
	CHECK(import_refused(ec, "32 octets each"));
	free(ec);
	json_decref(o);

	/* Private keys as jwk_generate makes them (d present), and an RSA key with a CRT member only. */
	CHECK(import_refused(g_priv[0], "private member d"));
	CHECK(import_refused(g_priv[1], "private member d"));
	CHECK(import_refused(g_priv[2], "private member d"));
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"p\":\"AQAB\"}", RFC7638_N);
	CHECK(import_refused(jwk, "private member p"));
	/* RSA: 1024 bits, a leading zero octet, an even or tiny exponent. */
	memset(nb, 0x5a, sizeof(nb));
	nb[0] = 0xc1;
	nb[127] = 0x5b;
	n1024 = b64url_encode(nb, 128);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n1024);
	CHECK(import_refused(jwk, "1024 bits"));
	free(n1024);
	nb[0] = 0;
	nb[1] = 0xc1;
	n_lead = b64url_encode(nb, 257);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n_lead);
	CHECK(import_refused(jwk, "leading zero octet"));
	free(n_lead);
	nb[0] = 0xc1;
	nb[255] = 0x5a;
	n_lead = b64url_encode(nb, 256);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n_lead);
	CHECK(import_refused(jwk, "modulus n is even"));
	free(n_lead);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}", RFC7638_N);
	CHECK(import_refused(jwk, "exponent"));
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}", RFC7638_N);
	CHECK(import_refused(jwk, "exponent"));
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQABAQABAQAB\"}", RFC7638_N);
	CHECK(import_refused(jwk, "exponent"));
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\"}", RFC7638_N);
	CHECK(import_refused(jwk, "no e string"));

	/* Other kinds of keys and things that are not one JWK. */
	CHECK(import_refused("{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}", "oct"));
	CHECK(import_refused(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	    "OKP keys are not supported"));
	CHECK(import_refused(
	    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" P521_X "\",\"y\":\"" P521_Y "\"}", "P-521 is not supported"));
	CHECK(import_refused("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}", "crv is not"));
	snprintf(jwk, sizeof(jwk), "{\"keys\":[%s]}", g_pub[0]);
	CHECK(import_refused(jwk, "JWK Set"));
	CHECK(import_refused("{\"kty\":\"RSA\",\"kty\":\"EC\"}", "duplicate member"));
	CHECK(import_refused("[]", "not a JSON object"));
	CHECK(import_refused("", "no JWK"));
	CHECK(import_refused(NULL, "no JWK"));
	CHECK(import_refused("{}", "no kty"));
	CHECK(jwk_public_import(g_pub[0], NULL, why, sizeof(why)) == -1);
	{
		char *big = malloc(20000);

		if (big != NULL) {
			memset(big, ' ', 19999);
			big[0] = '{';
			big[19998] = '}';
			big[19999] = '\0';
			CHECK(import_refused(big, "longer than"));
			free(big);
		}
	}
}

/* ID4ME.md "Identifier lifecycle": the dns-01 TXT value of RFC 8555 §8.4 for the RFC 7638 §3.1 key. */
static void
test_dns01(void)
{
	char jwk[1024], *pub = NULL, *tp, *v;

	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", RFC7638_N);
	CHECK(jwk_public_import(jwk, &pub, NULL, 0) == 0);
	tp = jwk_thumbprint(pub);
	CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	v = acme_dns01_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", tp);
	CHECK_STR(v, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
	free(v);
	free(tp);
	free(pub);
	/* Tokens and thumbprints are base64url: anything else (a ".", padding, empty) has no key authorization. */
	CHECK(acme_dns01_value("a.b", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == NULL);
	CHECK(acme_dns01_value("abc=", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == NULL);
	CHECK(acme_dns01_value("", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == NULL);
	CHECK(acme_dns01_value("abc", "") == NULL);
	CHECK(acme_dns01_value(NULL, "abc") == NULL);
	CHECK(acme_dns01_value("abc", NULL) == NULL);
}

int
main(void)
{
	char *other;
	int i;

	log_init(LOG_LVL_ERROR, NULL);
	for (i = 0; i < NALGS; i++) {
		g_priv[i] = jwk_generate(ALGS[i]);
		g_pub[i] = jwk_public_of(g_priv[i]);
	}
	other = jwk_generate("ES256");
	g_other_es256 = jwk_public_of(other);
	str_secure_free(other);

	TEST_RUN(test_generate);
	if (g_pub[0] != NULL && g_pub[1] != NULL && g_pub[2] != NULL && g_pub[3] != NULL && g_other_es256 != NULL) {
		TEST_RUN(test_round_trip);
		TEST_RUN(test_parse_rejects);
		TEST_RUN(test_verify_rejects);
		TEST_RUN(test_jwk_import);
	}
	TEST_RUN(test_dns01);

	for (i = 0; i < NALGS; i++) {
		str_secure_free(g_priv[i]);
		free(g_pub[i]);
	}
	free(g_other_es256);
	return (TEST_EXIT());
}
