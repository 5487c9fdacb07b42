/*
 * test_jwt_jwk.c: JWTs with keys outside the keyring (src/keys/jwt_jwk.c, drafts/claims.md §5): an agent's
 * UserInfo answers signed with its own JWK and published as a JWK Set, and agent tokens verified against an
 * authority's JWK Set.  Round trips for ES256, ES384 and RS256; every refusal of jwt_verify_jwks with its answer
 * (unknown kid, typ, alg allow-list, alg none, a key of another alg, tampering, crit, a broken JWK Set).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keys.h"
#include "log.h"
#include "test.h"
#include "util.h"

#define TYP "id4me-agent+jwt"
#define NKEYS 3

static const char *const ALGS[NKEYS] = { "ES256", "ES384", "RS256" };
static const char *const ALLOWED[] = { "ES256", "ES384", "RS256", "PS256", NULL };
static char *g_priv[NKEYS]; /* one private JWK per alg */

/* claims(): the agent token of drafts/claims.md §4; caller decrefs. */
static json_t *
claims(void)
{
	return (json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s,s],s:I,s:I}", "iss", "https://auth.example.net", "sub",
	    "q6Zb0cFvN9pEbfQkW0m3Lg", "aud", "https://agent.example.org", "client_id", "hN8m1PZ2Q3Kz7aQbYfVw5g",
	    "id4me.identifier", "alice.example.com", "clm", "email", "email_verified", "iat", (json_int_t)1795000000,
	    "exp", (json_int_t)1795000600));
}

/* sign(i, typ): a token of claims() signed with key ${i}; caller frees. */
static char *
sign(int i, const char *typ)
{
	json_t *c = claims();
	char *t = jwt_sign_jwk(g_priv[i], typ, c);

	json_decref(c);
	return (t);
}

/* verify(jwks, token, allowed, typ, unknown): jwt_verify_jwks's answer, the payload dropped. */
static enum jws_rc
verify(const char *jwks, const char *token, const char *const *allowed, const char *typ, bool *unknown)
{
	json_t *payload = (json_t *)1;
	bool u = true;
	enum jws_rc rc = jwt_verify_jwks(jwks, token, allowed, typ, &payload, &u);

	CHECK((rc == JWS_OK) == (payload != NULL));
	if (rc != JWS_OK)
		CHECK(payload == NULL);
	json_decref(payload);
	if (unknown != NULL)
		*unknown = u;
	return (rc);
}

/* segment(token, n): a copy of the ${n}th dot-separated segment of ${token}. */
static char *
segment(const char *token, int n)
{
	const char *p = token, *e;

	for (; n > 0; n--)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	return (xstrndup(p, e != NULL ? (size_t)(e - p) : strlen(p)));
}

/* compact(header, payload, sig): base64url(header) "." base64url(payload) "." sig; caller frees. */
static char *
compact(const char *header, const char *payload, const char *sig)
{
	char *h = b64url_encode(header, strlen(header)), *p = b64url_encode(payload, strlen(payload));
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return (buf_steal(&b));
}

/* with_header(token, header): ${token} with its header replaced by the JSON text ${header}, same payload
 * and signature; caller frees. */
static char *
with_header(const char *token, const char *header)
{
	char *h = b64url_encode(header, strlen(header)), *p = segment(token, 1), *s = segment(token, 2);
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return (buf_steal(&b));
}

/* header_of(token): the decoded header object; caller decrefs. */
static json_t *
header_of(const char *token)
{
	json_t *h = NULL, *p = NULL;

	if (jwt_decode_unverified(token, &h, &p) == -1)
		return (NULL);
	json_decref(p);
	return (h);
}

/* jwks_merge(sets): one JWK Set of the keys of every JWK Set text in the NULL-terminated ${sets}; caller frees. */
static char *
jwks_merge(const char *const *sets)
{
	json_t *out = json_pack("{s:[]}", "keys"), *o;
	char *s;

	for (; *sets != NULL; sets++) {
		o = json_loads(*sets, 0, NULL);
		json_array_extend(json_object_get(out, "keys"), json_object_get(o, "keys"));
		json_decref(o);
	}
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return (s);
}

/* jwks_edit(jwks, name, value): ${jwks} with member ${name} of its first key set to ${value} (NULL: removed). */
static char *
jwks_edit(const char *jwks, const char *name, json_t *value)
{
	json_t *o = json_loads(jwks, 0, NULL), *k = json_array_get(json_object_get(o, "keys"), 0);
	char *s;

	if (value != NULL)
		json_object_set_new(k, name, value);
	else
		json_object_del(k, name);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (s);
}

/* Each alg: sign -> JWK Set -> verify; the header is {alg, kid = thumbprint, typ}, the payload unchanged. */
static void
test_round_trip(void)
{
	json_t *c = claims(), *h, *set, *k, *payload;
	char *token, *jwks, *pub, *tp;
	bool unknown = true;
	int i;

	for (i = 0; i < NKEYS; i++) {
		token = sign(i, TYP);
		jwks = jwks_of_jwk(g_priv[i]);
		CHECK(token != NULL && jwks != NULL);
		if (token == NULL || jwks == NULL) {
			free(token);
			free(jwks);
			continue;
		}
		pub = jwk_public_of(g_priv[i]);
		tp = jwk_thumbprint(pub);
		h = header_of(token);
		CHECK_STR(json_string_value(json_object_get(h, "alg")), ALGS[i]);
		CHECK_STR(json_string_value(json_object_get(h, "kid")), tp);
		CHECK_STR(json_string_value(json_object_get(h, "typ")), TYP);
		CHECK(json_object_size(h) == 3);
		json_decref(h);
		/* The JWK Set: one public key with kid, alg and use, no private member. */
		set = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
		CHECK(json_array_size(json_object_get(set, "keys")) == 1);
		k = json_array_get(json_object_get(set, "keys"), 0);
		CHECK_STR(json_string_value(json_object_get(k, "kid")), tp);
		CHECK_STR(json_string_value(json_object_get(k, "alg")), ALGS[i]);
		CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
		CHECK(json_object_get(k, "d") == NULL && json_object_get(k, "p") == NULL);
		json_decref(set);

		payload = NULL;
		CHECK(jwt_verify_jwks(jwks, token, ALLOWED, TYP, &payload, &unknown) == JWS_OK);
		CHECK(!unknown);
		CHECK(payload != NULL && json_equal(payload, c));
		json_decref(payload);
		/* RFC 7515 §4.1.9: "application/" may be left out of typ, and case does not matter. */
		CHECK(verify(jwks, token, ALLOWED, "application/ID4ME-AGENT+JWT", NULL) == JWS_OK);
		/* No typ asked: any typ. */
		CHECK(verify(jwks, token, ALLOWED, NULL, NULL) == JWS_OK);
		free(token);

		/* Signed without typ: accepted when none is asked, refused when one is. */
		token = sign(i, NULL);
		h = header_of(token);
		CHECK(json_object_get(h, "typ") == NULL);
		json_decref(h);
		CHECK(verify(jwks, token, ALLOWED, NULL, NULL) == JWS_OK);
		CHECK(verify(jwks, token, ALLOWED, TYP, &unknown) == JWS_MALFORMED && !unknown);
		free(token);
		free(jwks);
		free(pub);
		free(tp);
	}
	json_decref(c);
}

/* A JWK Set of several keys: each token verifies with the key its kid names, and only with it. */
static void
test_several_keys(void)
{
	const char *sets[NKEYS + 1];
	char *jwks_each[NKEYS], *all, *token, *two;
	bool unknown;
	int i;

	for (i = 0; i < NKEYS; i++)
		sets[i] = jwks_each[i] = jwks_of_jwk(g_priv[i]);
	sets[NKEYS] = NULL;
	all = jwks_merge(sets);
	sets[0] = jwks_each[1];
	sets[1] = jwks_each[2];
	sets[2] = NULL;
	two = jwks_merge(sets);
	for (i = 0; i < NKEYS; i++) {
		token = sign(i, TYP);
		CHECK(verify(all, token, ALLOWED, TYP, &unknown) == JWS_OK && !unknown);
		/* Without the key, the kid is unknown: the caller may fetch the set again. */
		unknown = false;
		CHECK(verify(two, token, ALLOWED, TYP, &unknown) == (i == 0 ? JWS_BAD_SIGNATURE : JWS_OK));
		CHECK(unknown == (i == 0));
		free(token);
	}
	for (i = 0; i < NKEYS; i++)
		free(jwks_each[i]);
	free(all);
	free(two);
}

/* Every refusal, with its answer. */
static void
test_refusals(void)
{
	static const char *const only_es256[] = { "ES256", NULL };
	static const char *const with_none[] = { "none", "ES256", NULL };
	static const char *const with_hs[] = { "HS256", "ES256", NULL };
	char *jwks = jwks_of_jwk(g_priv[0]), *rs_jwks = jwks_of_jwk(g_priv[2]), *token = sign(0, TYP);
	char *rs_token = sign(2, TYP), *t, *p, *s, *edited, *pub, *kid, *flat, *hdr;
	json_t *h, *o;
	struct buf b;
	bool unknown;

	pub = jwk_public_of(g_priv[0]);
	kid = jwk_thumbprint(pub);

	/* A key of the same kind but another kid: unknown_kid. */
	CHECK(verify(rs_jwks, token, ALLOWED, TYP, &unknown) == JWS_BAD_SIGNATURE && unknown);

	/* Another typ. */
	h = header_of(token);
	json_object_set_new(h, "typ", json_string("at+jwt"));
	hdr = json_dumps(h, JSON_COMPACT);
	t = with_header(token, hdr);
	CHECK(verify(jwks, t, ALLOWED, TYP, &unknown) == JWS_MALFORMED && !unknown);
	free(t);
	free(hdr);
	json_decref(h);
	/* The token says it is an agent token; a plain JWT typ is no agent token either. */
	t = sign(0, "JWT");
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);

	/* The alg allow-list: RS256 not in it; "none" and HMAC never, even when listed. */
	CHECK(verify(rs_jwks, rs_token, only_es256, TYP, &unknown) == JWS_BAD_ALG && !unknown);
	CHECK(verify(jwks, token, only_es256, TYP, NULL) == JWS_OK);
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"" TYP "\"}", kid);
	p = segment(token, 1);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, with_none, TYP, NULL) == JWS_BAD_ALG);
	free(t);
	/* alg none with an empty signature (the classic forgery): not even a signed JWT. */
	hdr = b64url_encode(b.data, b.len);
	buf_release(&b);
	buf_init(&b);
	buf_printf(&b, "%s.%s.", hdr, p);
	CHECK(verify(jwks, b.data, with_none, TYP, NULL) == JWS_MALFORMED);
	buf_release(&b);
	free(hdr);
	free(p);
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"NONE\",\"kid\":\"%s\",\"typ\":\"" TYP "\"}", kid);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, with_none, TYP, NULL) == JWS_BAD_ALG);
	free(t);
	buf_release(&b);
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"" TYP "\"}", kid);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, with_hs, TYP, NULL) == JWS_BAD_ALG);
	free(t);
	buf_release(&b);

	/* RFC 8725 §3.1: the key fixes the alg.  ES384 named on a P-256 key whose JWK says ES256, or says nothing. */
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"ES384\",\"kid\":\"%s\",\"typ\":\"" TYP "\"}", kid);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, ALLOWED, TYP, &unknown) == JWS_BAD_ALG && !unknown);
	edited = jwks_edit(jwks, "alg", NULL);
	CHECK(verify(edited, t, ALLOWED, TYP, NULL) == JWS_BAD_ALG);
	CHECK(verify(edited, token, ALLOWED, TYP, NULL) == JWS_OK);
	free(edited);
	free(t);
	buf_release(&b);
	/* A JWK whose alg differs from the header's, though the key type fits (RS256 token, PS256 JWK). */
	edited = jwks_edit(rs_jwks, "alg", json_string("PS256"));
	CHECK(verify(edited, rs_token, ALLOWED, TYP, NULL) == JWS_BAD_ALG);
	free(edited);

	/* Tampering: another payload under the same signature; a changed signature; a cut one. */
	h = header_of(token);
	hdr = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	s = segment(token, 2);
	t = compact(hdr, "{\"sub\":\"mallory\"}", s);
	CHECK(verify(jwks, t, ALLOWED, TYP, &unknown) == JWS_BAD_SIGNATURE && !unknown);
	free(t);
	t = xstrdup(token);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_BAD_SIGNATURE);
	t[strlen(t) - 10] = '\0';
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_BAD_SIGNATURE);
	free(t);
	/* The RSA signature moved onto the EC token. */
	free(s);
	s = segment(rs_token, 2);
	t = compact(hdr, "{}", s);
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_BAD_SIGNATURE);
	free(t);
	free(s);
	free(hdr);

	/* Header rules: crit, no kid, an empty kid, duplicate members, not JSON. */
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"" TYP "\",\"crit\":[\"exp\"],\"exp\":1}", kid);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);
	buf_release(&b);
	t = with_header(token, "{\"alg\":\"ES256\",\"typ\":\"" TYP "\"}");
	CHECK(verify(jwks, t, ALLOWED, TYP, &unknown) == JWS_MALFORMED && !unknown);
	free(t);
	t = with_header(token, "{\"alg\":\"ES256\",\"kid\":\"\",\"typ\":\"" TYP "\"}");
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"" TYP "\"}", kid);
	t = with_header(token, b.data);
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);
	buf_release(&b);
	t = with_header(token, "not json");
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);
	CHECK(verify(jwks, "", ALLOWED, TYP, NULL) == JWS_MALFORMED);
	CHECK(verify(jwks, "a.b", ALLOWED, TYP, NULL) == JWS_MALFORMED);
	CHECK(verify(jwks, "a.b.c.d", ALLOWED, TYP, NULL) == JWS_MALFORMED);
	CHECK(verify(jwks, NULL, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	/* Longer than KEYS_MAX_JWT. */
	t = malloc(KEYS_MAX_JWT + 10);
	memset(t, 'A', KEYS_MAX_JWT + 9);
	t[10] = '.';
	t[20] = '.';
	t[KEYS_MAX_JWT + 9] = '\0';
	CHECK(verify(jwks, t, ALLOWED, TYP, NULL) == JWS_MALFORMED);
	free(t);

	/* A payload that verifies but is no JSON object (signed by hand with jws_sign_flat, no typ asked). */
	flat = jws_sign_flat(g_priv[0], "ES256", kid, "n", "u", "[1,2]");
	o = json_loads(flat, 0, NULL);
	buf_init(&b);
	buf_printf(&b, "%s.%s.%s", json_string_value(json_object_get(o, "protected")),
	    json_string_value(json_object_get(o, "payload")), json_string_value(json_object_get(o, "signature")));
	CHECK(verify(jwks, b.data, ALLOWED, NULL, NULL) == JWS_MALFORMED);
	buf_release(&b);
	json_decref(o);
	free(flat);

	/* A broken JWK Set, and a key named by kid but unusable. */
	CHECK(verify("not json", token, ALLOWED, TYP, NULL) == JWS_ERROR);
	CHECK(verify("{\"keys\":{}}", token, ALLOWED, TYP, NULL) == JWS_ERROR);
	CHECK(verify("[]", token, ALLOWED, TYP, NULL) == JWS_ERROR);
	CHECK(verify(NULL, token, ALLOWED, TYP, NULL) == JWS_ERROR);
	CHECK(verify("{\"keys\":[]}", token, ALLOWED, TYP, &unknown) == JWS_BAD_SIGNATURE && unknown);
	edited = jwks_edit(jwks, "d", json_string("AAAA"));
	CHECK(verify(edited, token, ALLOWED, TYP, &unknown) == JWS_ERROR && !unknown);
	free(edited);
	edited = jwks_edit(jwks, "use", json_string("enc"));
	CHECK(verify(edited, token, ALLOWED, TYP, NULL) == JWS_ERROR);
	free(edited);
	edited = jwks_edit(jwks, "x", json_string("AAAA"));
	CHECK(verify(edited, token, ALLOWED, TYP, NULL) == JWS_ERROR);
	free(edited);

	free(kid);
	free(pub);
	free(token);
	free(rs_token);
	free(jwks);
	free(rs_jwks);
}

/* What jwt_sign_jwk and jwks_of_jwk refuse: a public key, a key whose alg is not the one its type signs with
 * here, no key, claims that are no object. */
static void
test_sign_refusals(void)
{
	json_t *c = claims(), *arr = json_array();
	char *pub = jwk_public_of(g_priv[0]), *ps = jwk_generate("PS256");

	CHECK(jwt_sign_jwk(pub, TYP, c) == NULL);
	CHECK(jwks_of_jwk(pub) == NULL);
	CHECK(jwt_sign_jwk(ps, TYP, c) == NULL);
	CHECK(jwks_of_jwk(ps) == NULL);
	CHECK(jwt_sign_jwk(NULL, TYP, c) == NULL);
	CHECK(jwt_sign_jwk("not json", TYP, c) == NULL);
	CHECK(jwt_sign_jwk(g_priv[0], TYP, arr) == NULL);
	CHECK(jwt_sign_jwk(g_priv[0], TYP, NULL) == NULL);
	CHECK(jwks_of_jwk(NULL) == NULL);
	CHECK(jwt_sign_jwk("{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}", TYP, c) == NULL);
	free(pub);
	str_secure_free(ps);
	json_decref(arr);
	json_decref(c);
}

int
main(void)
{
	bool ok = true;
	int i;

	log_init(LOG_LVL_ERROR, NULL);
	for (i = 0; i < NKEYS; i++)
		ok = (g_priv[i] = jwk_generate(ALGS[i])) != NULL && ok;
	CHECK(ok);
	if (ok) {
		TEST_RUN(test_round_trip);
		TEST_RUN(test_several_keys);
		TEST_RUN(test_refusals);
		TEST_RUN(test_sign_refusals);
	}
	for (i = 0; i < NKEYS; i++)
		str_secure_free(g_priv[i]);
	return (TEST_EXIT());
}
