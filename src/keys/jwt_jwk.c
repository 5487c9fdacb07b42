/*
 * jwt_jwk.c: JWTs with keys outside the keyring (drafts/claims.md §5).  The reference agent signs its UserInfo
 * answers with its own private JWK, publishes that key as a JWK Set, and verifies the authority's agent tokens
 * against the authority's published JWK Set.  RFC 7515 §5.2 (validation), RFC 7517 §4.5 and §5 (kid, JWK Set),
 * RFC 7518 §3.1 (alg), RFC 7638 (the kid is the key's thumbprint), RFC 8725 §3.1 (the alg comes from an
 * allow-list and must fit the key), §3.11 (explicit typing).
 *
 * The parsing is jwt.c's (strict compact form, duplicate-free JSON), the keys and signature checks are jws.c's
 * (agent keys: EC P-256/P-384, RSA 2048..8192).  Keys are imported per call: an agent signs one answer per
 * UserInfo request, and an import costs a few microseconds beside the signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "keys.h"
#include "keys_int.h"
#include "log.h"
#include "util.h"

#define JWT_JWK_WHY_LEN 128 /* a sentence of jwk_public_text */

/* An agent's own private key, imported for signing or for its JWK Set. */
struct own_key {
	cjose_jwk_t *jwk;          /* the private key */
	const struct jws_alg *alg; /* what it signs with: ES256 (P-256), ES384 (P-384), RS256 (RSA) */
	json_t *pub;               /* its public members (jwk_public_text) */
	char *kid;                 /* RFC 7638 thumbprint of pub */
};

/* own_key_release(k): free the members of ${k}; a zeroed struct is a no-op. */
static void
own_key_release(struct own_key *k)
{
	cjose_jwk_release(k->jwk);
	json_decref(k->pub);
	free(k->kid);
	memset(k, 0, sizeof(*k));
}

/*
 * own_key_load(private_jwk, fn, k): import the private JWK ${private_jwk} into *${k} (release with
 * own_key_release): an agent key (jwk_public_text) with its private member "d", the alg its key type signs with,
 * and an "alg" member, when present, naming that alg.  -1 (logged, prefixed with ${fn}) otherwise.
 */
static int
own_key_load(const char *private_jwk, const char *fn, struct own_key *k)
{
	char why[JWT_JWK_WHY_LEN], *pub = NULL;
	const char *kty, *crv, *alg;
	json_t *o = NULL;
	size_t len, siglen;
	cjose_err err;
	int ret = -1;

	memset(k, 0, sizeof(*k));
	if (private_jwk == NULL || (len = strnlen(private_jwk, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (o = keys_json_load(private_jwk, len, KEYS_MAX_JWK, NULL, 0)) == NULL) {
		log_warnx("%s: the key is not a JWK", fn);
		goto out;
	}
	if (!json_is_string(json_object_get(o, "d"))) {
		log_warnx("%s: the key is not a private JWK", fn);
		goto out;
	}
	if ((pub = jwk_public_text(o, true, why, sizeof(why))) == NULL) {
		log_warnx("%s: %s", fn, why);
		goto out;
	}
	if ((k->pub = jwt_json_load(pub, strlen(pub))) == NULL || (k->kid = jwk_thumbprint(pub)) == NULL) {
		log_warnx("%s: out of memory", fn);
		goto out;
	}
	/* jwk_public_text admitted EC on P-256 or P-384 and RSA only. */
	kty = json_string_value(json_object_get(k->pub, "kty"));
	crv = json_string_value(json_object_get(k->pub, "crv"));
	k->alg = jws_alg_find(strcmp(kty, "RSA") == 0 ? "RS256" : strcmp(crv, "P-256") == 0 ? "ES256" : "ES384");
	if ((alg = json_string_value(json_object_get(o, "alg"))) != NULL && strcmp(alg, k->alg->alg) != 0) {
		log_warnx("%s: the key's alg is %s; this key type signs with %s", fn, alg, k->alg->alg);
		goto out;
	}
	if ((k->jwk = cjose_jwk_import(private_jwk, len, &err)) == NULL ||
	    jws_key_fit(k->jwk, k->alg, &siglen) != JWS_OK) {
		log_warnx("%s: the key cannot be imported", fn);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		own_key_release(k);
	keys_json_scrub(o);
	json_decref(o);
	free(pub);
	return (ret);
}

/** jwt_sign_jwk(private_jwk, typ, claims): compact JWS of ${claims} signed with ${private_jwk} (alg from the key:
 * P-256 ES256, P-384 ES384, RSA RS256), header {alg, kid (the key's RFC 7638 thumbprint), typ (omitted when
 * NULL)}.  Caller frees; NULL on failure (logged). */
char *
jwt_sign_jwk(const char *private_jwk, const char *typ, json_t *claims)
{
	struct own_key k;
	char *ret;

	if (!json_is_object(claims)) {
		log_warnx("jwt_sign_jwk: bad arguments");
		return (NULL);
	}
	if (own_key_load(private_jwk, "jwt_sign_jwk", &k) == -1)
		return (NULL);
	ret = jwt_sign_compact(k.jwk, k.alg->alg, k.kid, typ, claims, "jwt_sign_jwk");
	own_key_release(&k);
	return (ret);
}

/** jwks_of_jwk(private_jwk): the JWK Set {"keys": [the public key with kid (its thumbprint), alg, use "sig"]} of
 * ${private_jwk} for publishing (RFC 7517 §5); caller frees; NULL on failure (logged). */
char *
jwks_of_jwk(const char *private_jwk)
{
	struct own_key k;
	json_t *set = NULL;
	char *ret = NULL;

	if (own_key_load(private_jwk, "jwks_of_jwk", &k) == -1)
		return (NULL);
	if (json_object_set_new(k.pub, "kid", json_string(k.kid)) == -1 ||
	    json_object_set_new(k.pub, "alg", json_string(k.alg->alg)) == -1 ||
	    json_object_set_new(k.pub, "use", json_string("sig")) == -1 ||
	    (set = json_pack("{s:[O]}", "keys", k.pub)) == NULL || (ret = json_dumps(set, JSON_COMPACT)) == NULL)
		log_warnx("jwks_of_jwk: out of memory");
	json_decref(set);
	own_key_release(&k);
	return (ret);
}

/*
 * jwks_key(set, kid, a, out): the public key of the JWK Set ${set} named ${kid} that ${a} can verify with,
 * imported into *${out} (cjose_jwk_release).  A member of the set is a candidate when its kid matches; it must be
 * an agent-grade public key (jwk_public_text: EC P-256/P-384 or RSA 2048..8192, no private member, use and
 * key_ops allowing signatures), its "alg", when present, must be exactly ${a} (RFC 8725 §3.1: the key fixes the
 * alg), and its type must fit ${a}.  JWS_OK; JWS_BAD_SIGNATURE and *${unknown} when no member has that kid;
 * JWS_BAD_ALG when one does but for another alg; JWS_ERROR (logged) when the ones that do are unusable.
 */
static enum jws_rc
jwks_key(json_t *set, const char *kid, const struct jws_alg *a, cjose_jwk_t **out, bool *unknown)
{
	char why[JWT_JWK_WHY_LEN], *pub = NULL;
	const char *kalg;
	json_t *k;
	size_t i, siglen;
	bool other_alg = false;
	cjose_err err;
	enum jws_rc fit;

	*out = NULL;
	*unknown = true;
	snprintf(why, sizeof(why), "no usable key");
	json_array_foreach(json_object_get(set, "keys"), i, k)
	{
		if (!json_is_object(k) || !json_is_string(json_object_get(k, "kid")) ||
		    strcmp(json_string_value(json_object_get(k, "kid")), kid) != 0)
			continue;
		*unknown = false;
		if ((kalg = json_string_value(json_object_get(k, "alg"))) != NULL && strcmp(kalg, a->alg) != 0) {
			other_alg = true;
			continue;
		}
		free(pub);
		if ((pub = jwk_public_text(k, false, why, sizeof(why))) == NULL)
			continue;
		if ((*out = cjose_jwk_import(pub, strlen(pub), &err)) == NULL) {
			snprintf(why, sizeof(why), "the key cannot be imported");
			continue;
		}
		if ((fit = jws_key_fit(*out, a, &siglen)) == JWS_OK)
			break;
		cjose_jwk_release(*out);
		*out = NULL;
		if (fit == JWS_BAD_ALG)
			other_alg = true;
		else
			snprintf(why, sizeof(why), "the key is no EC P-256/P-384 or RSA 2048..8192 key");
	}
	free(pub);
	if (*out != NULL)
		return (JWS_OK);
	if (*unknown)
		return (JWS_BAD_SIGNATURE);
	if (other_alg)
		return (JWS_BAD_ALG);
	log_warnx("jwt_verify_jwks: the JWK Set's key %s is unusable: %s", kid, why);
	return (JWS_ERROR);
}

/** jwt_verify_jwks(jwks_json, token, allowed_algs, typ, payload, unknown_kid): verify the compact JWS ${token}
 * against the key of the JWKS document ${jwks_json} whose kid matches the header's (kid required; alg in the
 * NULL-terminated ${allowed_algs}, never "none"; header typ equal to ${typ} when not NULL).  JWS_OK and the
 * payload object in *${payload} (caller decrefs); otherwise *${payload} = NULL and *${unknown_kid} tells whether
 * no key had that kid (the caller may fetch the JWKS again).  The answers: JWS_MALFORMED for a token that is no
 * compact JWS of JSON objects, lacks a kid, has a crit header or another typ; JWS_BAD_ALG for an alg outside
 * ${allowed_algs} and ES256, ES384, RS256, PS256, or that the key named does not fit; JWS_BAD_SIGNATURE for an
 * unknown kid or a signature that does not verify; JWS_ERROR (logged) for a JWK Set that is no JSON object with
 * a "keys" array, an unusable key, or no memory.  Does NOT check claims. */
enum jws_rc
jwt_verify_jwks(const char *jwks_json, const char *token, const char *const *allowed_algs, const char *typ,
    json_t **payload, bool *unknown_kid)
{
	struct jwt_parts p;
	const struct jws_alg *a;
	const char *alg, *kid;
	json_t *hdr = NULL, *set = NULL;
	cjose_jwk_t *jwk = NULL;
	cjose_jws_t *jws = NULL;
	unsigned char *sig = NULL;
	uint8_t *pt = NULL;
	size_t len, sig_len = 0, ptlen = 0;
	cjose_err err;
	enum jws_rc rc = JWS_MALFORMED;

	if (payload == NULL || unknown_kid == NULL || allowed_algs == NULL) {
		log_warnx("jwt_verify_jwks: bad arguments");
		return (JWS_ERROR);
	}
	*payload = NULL;
	*unknown_kid = false;
	if (jwt_split(token, &p) == -1 || p.sig_len == 0 || (hdr = jwt_segment_json(p.hdr, p.hdr_len)) == NULL ||
	    (alg = json_string_value(json_object_get(hdr, "alg"))) == NULL)
		goto out;
	/* RFC 8725 §3.1: the algorithm comes from our allow-list, never from the token alone. */
	if (!jwt_alg_allowed(alg, allowed_algs) || (a = jws_alg_find(alg)) == NULL) {
		rc = JWS_BAD_ALG;
		goto out;
	}
	/* RFC 7515 §4.1.11: we implement no extension, so any "crit" must be rejected; RFC 8725 §3.11: typ. */
	if (json_object_get(hdr, "crit") != NULL ||
	    (typ != NULL && !jwt_typ_equal(json_string_value(json_object_get(hdr, "typ")), typ)) ||
	    (kid = json_string_value(json_object_get(hdr, "kid"))) == NULL || kid[0] == '\0')
		goto out;
	if (jwks_json == NULL || (len = strnlen(jwks_json, KEYS_MAX_JWKS + 1)) > KEYS_MAX_JWKS ||
	    (set = keys_json_load(jwks_json, len, KEYS_MAX_JWKS, NULL, 0)) == NULL ||
	    !json_is_array(json_object_get(set, "keys"))) {
		log_warnx("jwt_verify_jwks: the JWK Set is not a JSON object with a keys array");
		rc = JWS_ERROR;
		goto out;
	}
	if ((rc = jwks_key(set, kid, a, &jwk, unknown_kid)) != JWS_OK)
		goto out;
	rc = JWS_BAD_SIGNATURE;
	if (b64url_decode(p.sig, p.sig_len, &sig, &sig_len) == -1)
		goto out;
	if ((rc = jws_verify_compact(token, p.len, jwk, a, sig_len, &jws)) != JWS_OK)
		goto out;
	rc = JWS_MALFORMED;
	if (!cjose_jws_get_plaintext(jws, &pt, &ptlen, &err) ||
	    (*payload = jwt_json_load((const char *)pt, ptlen)) == NULL)
		goto out;
	rc = JWS_OK;
out:
	cjose_jws_release(jws);
	cjose_jwk_release(jwk);
	json_decref(set);
	json_decref(hdr);
	free(sig);
	return (rc);
}
