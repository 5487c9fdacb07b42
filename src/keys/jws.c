/*
 * jws.c: the signed requests of identity agents and their keys (drafts/agent-provisioning.md §3).
 * RFC 7515 §7.2.2 (flattened JSON serialization), §4.1 (header parameters), §5.2 (validation); RFC 7518 §3.1,
 * §3.3 (RS256), §3.4 (ES256/ES384: the signature is R || S), §3.5 (PS256), §6.2.1 and §6.3.1 (public key
 * members, Base64urlUInt); RFC 7517 §4.2, §4.3 (use, key_ops); RFC 7638 §3 (the public JWK we keep is the
 * thumbprint input); RFC 8555 §6.2 (the ACME protected header), §8.1 and §8.4 (dns-01 key authorization).
 *
 * Parsing and verifying are separate steps so that the caller can look the agent up by kid in between.  A
 * client's mistake is data: a sentence in ${why}, never logged; only internal failures are logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "keys.h"
#include "keys_int.h"
#include "log.h"
#include "util.h"

#define JWS_RSA_BITS 2048  /* jwk_generate: RFC 7518 §3.3's minimum, the cheapest key an agent may hold */
#define JWS_RSA_MAX_E 8    /* bytes of an RSA public exponent: OpenSSL refuses more than 64 bits past 3072 */
#define JWS_MAX_TOKEN 1024 /* an ACME token or thumbprint longer than this is not one (RFC 8555 §8.1) */
#define JWS_WHY_LEN 128    /* the scratch sentence of a helper, before the caller's prefix */

static const struct jws_alg jws_algs[] = {
	{ "ES256", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_256, "P-256", 32 },
	{ "ES384", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_384, "P-384", 48 },
	{ "RS256", CJOSE_JWK_KTY_RSA, CJOSE_JWK_EC_INVALID, NULL, 0 },
	{ "PS256", CJOSE_JWK_KTY_RSA, CJOSE_JWK_EC_INVALID, NULL, 0 },
};
#define JWS_NALGS (sizeof(jws_algs) / sizeof(jws_algs[0]))

/*
 * Protected header members a request must not have.  An agent is named by its kid alone: a key or certificate
 * in the request would let it choose the key that verifies it (RFC 8555 §6.2 forbids jwk beside kid too).
 */
static const struct {
	const char *name;
	const char *why;
} jws_refused[] = {
	{ "jwk", "agents are named by kid, never by an embedded key" },
	{ "jku", "agents are named by kid only" },
	{ "x5c", "agents are named by kid only" },
	{ "x5u", "agents are named by kid only" },
	{ "x5t", "agents are named by kid only" },
	{ "x5t#S256", "agents are named by kid only" },
	{ "crit", "no header extension is supported (RFC 7515 §4.1.11)" },
	{ "b64", "unencoded payloads (RFC 7797) are not supported" },
};

/* Members of a JWK that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
static const char *const jwk_private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL };

/** jws_alg_find(alg): our entry for ${alg}, or NULL (always for "none" and every HMAC alg). */
const struct jws_alg *
jws_alg_find(const char *alg)
{
	size_t i;

	for (i = 0; alg != NULL && i < JWS_NALGS; i++)
		if (strcmp(jws_algs[i].alg, alg) == 0)
			return (&jws_algs[i]);
	return (NULL);
}

/* ------------------------------------------------------------------------------------------- parsing */

/*
 * segment(o, name, nonempty, b64, b64len, out, outlen, why, whylen): the member ${name} of the flattened JWS
 * ${o}: a string of base64url without padding or whitespace (RFC 7515 §2, §7.2.1), empty only when not
 * ${nonempty}.  Its text in *${b64} (inside ${o}) and its bytes in a new *${out} (NUL-terminated).  -1 and a
 * sentence otherwise.
 */
static int
segment(json_t *o, const char *name, bool nonempty, const char **b64, size_t *b64len, unsigned char **out,
    size_t *outlen, char *why, size_t whylen)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL) {
		str_errf(why, whylen, "the JWS has no %s member", name);
		return (-1);
	}
	if ((*b64 = json_string_value(v)) == NULL) {
		str_errf(why, whylen, "the JWS member %s is not a string", name);
		return (-1);
	}
	*b64len = json_string_length(v);
	if (nonempty && *b64len == 0) {
		str_errf(why, whylen, "the JWS member %s is empty", name);
		return (-1);
	}
	if (!keys_b64url_ok(*b64, *b64len) || b64url_decode(*b64, *b64len, out, outlen) == -1) {
		str_errf(why, whylen, "the JWS member %s is not base64url (no padding, no whitespace)", name);
		return (-1);
	}
	return (0);
}

/* header_string(hdr, name, out, why, whylen): the protected header's member ${name}, a non-empty string. */
static int
header_string(json_t *hdr, const char *name, const char **out, char *why, size_t whylen)
{
	json_t *v = json_object_get(hdr, name);

	if (v == NULL) {
		str_errf(why, whylen, "the protected header has no %s", name);
		return (-1);
	}
	if ((*out = json_string_value(v)) == NULL) {
		str_errf(why, whylen, "the protected header's %s is not a string", name);
		return (-1);
	}
	if ((*out)[0] == '\0') {
		str_errf(why, whylen, "the protected header's %s is empty", name);
		return (-1);
	}
	return (0);
}

/** jws_parse(body, len, out, why, whylen): parse (not verify) a flattened JWS of at most KEYS_MAX_JWS bytes.
 * JWS_OK and a new *${out} (free with jws_request_free); else NULL, JWS_MALFORMED or JWS_BAD_ALG and a sentence
 * in ${why}.  The payload is bytes here (it may hold anything, NUL bytes included): the caller parses it.
 * Every JWS_MALFORMED cause is checked before the alg, so that the answer follows the order of the draft's §3. */
enum jws_rc
jws_parse(const char *body, size_t len, struct jws_request **out, char *why, size_t whylen)
{
	struct jws_request *r = NULL;
	json_t *o = NULL, *v;
	const char *key, *prot = NULL, *pay = NULL, *sigb = NULL;
	unsigned char *hdr = NULL, *pl = NULL;
	size_t plen = 0, paylen = 0, siglen = 0, hdrlen = 0, i;
	char jwhy[JWS_WHY_LEN];
	enum jws_rc rc = JWS_MALFORMED;

	str_errf(why, whylen, "%s", "");
	if (out == NULL) {
		log_warnx("jws_parse: bad arguments");
		return (JWS_ERROR);
	}
	*out = NULL;
	if (body == NULL || len == 0) {
		str_errf(why, whylen, "the request body is empty");
		goto out;
	}
	if (len > KEYS_MAX_JWS) {
		str_errf(why, whylen, "the request body is longer than %d bytes", KEYS_MAX_JWS);
		goto out;
	}
	if ((o = keys_json_load(body, len, KEYS_MAX_JWS, jwhy, sizeof(jwhy))) == NULL) {
		str_errf(why, whylen, "the request body %s", jwhy);
		goto out;
	}
	/* RFC 7515 §7.2.2 and the draft's §3: the flattened form, exactly protected, payload and signature. */
	if (json_object_get(o, "header") != NULL) {
		str_errf(
		    why, whylen, "an unprotected header is not accepted: every header parameter goes in protected");
		goto out;
	}
	if (json_object_get(o, "signatures") != NULL) {
		str_errf(why, whylen, "the general JWS serialization is not accepted: use the flattened one");
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "protected") != 0 && strcmp(key, "payload") != 0 && strcmp(key, "signature") != 0) {
			str_errf(why, whylen, "the JWS has a member other than protected, payload and signature");
			goto out;
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("jws_parse: calloc");
		rc = JWS_ERROR;
		goto out;
	}
	if (segment(o, "protected", true, &prot, &plen, &hdr, &hdrlen, why, whylen) == -1 ||
	    segment(o, "payload", false, &pay, &paylen, &pl, &r->payload_len, why, whylen) == -1 ||
	    segment(o, "signature", true, &sigb, &siglen, &r->sig, &r->sig_len, why, whylen) == -1)
		goto out;
	r->payload = (char *)pl;
	pl = NULL;
	if ((r->header = keys_json_load((const char *)hdr, hdrlen, KEYS_MAX_JWS, jwhy, sizeof(jwhy))) == NULL) {
		str_errf(why, whylen, "the protected header %s", jwhy);
		goto out;
	}
	for (i = 0; i < sizeof(jws_refused) / sizeof(jws_refused[0]); i++) {
		if (json_object_get(r->header, jws_refused[i].name) != NULL) {
			str_errf(why, whylen, "the protected header must not have %s: %s", jws_refused[i].name,
			    jws_refused[i].why);
			goto out;
		}
	}
	/* RFC 8555 §6.2, the draft's §3: alg, kid, nonce and url, all protected. */
	if ((v = json_object_get(r->header, "alg")) == NULL) {
		str_errf(why, whylen, "the protected header has no alg");
		goto out;
	}
	if ((r->alg = json_string_value(v)) == NULL) {
		str_errf(why, whylen, "the protected header's alg is not a string");
		goto out;
	}
	if (header_string(r->header, "kid", &r->kid, why, whylen) == -1 ||
	    header_string(r->header, "nonce", &r->nonce, why, whylen) == -1 ||
	    header_string(r->header, "url", &r->url, why, whylen) == -1)
		goto out;
	/* RFC 7515 §5.2 step 8 (RFC 8725 §3.1): the alg comes from our list; "none" is never on it. */
	if (strcasecmp(r->alg, "none") == 0) {
		str_errf(why, whylen, "alg none is not accepted: requests must be signed");
		rc = JWS_BAD_ALG;
		goto out;
	}
	if (jws_alg_find(r->alg) == NULL) {
		str_errf(why, whylen, "the alg is not one of ES256, ES384, RS256 and PS256");
		rc = JWS_BAD_ALG;
		goto out;
	}
	/* RFC 7515 §5.1 step 5: the signing input is the two strings as they were sent. */
	if ((r->signing_input = malloc(plen + 1 + paylen + 1)) == NULL) {
		log_warn("jws_parse: malloc");
		rc = JWS_ERROR;
		goto out;
	}
	memcpy(r->signing_input, prot, plen);
	r->signing_input[plen] = '.';
	memcpy(r->signing_input + plen + 1, pay, paylen);
	r->signing_input[plen + 1 + paylen] = '\0';
	*out = r;
	r = NULL;
	rc = JWS_OK;
out:
	if (rc == JWS_ERROR)
		str_errf(why, whylen, "internal error");
	free(hdr);
	free(pl);
	jws_request_free(r);
	json_decref(o);
	return (rc);
}

/** jws_request_free(r): NULL is a no-op.  The payload is zeroed first (it may carry a secret). */
void
jws_request_free(struct jws_request *r)
{
	if (r == NULL)
		return;
	if (r->payload != NULL) {
		explicit_bzero(r->payload, r->payload_len);
		free(r->payload);
	}
	free(r->signing_input);
	free(r->sig);
	json_decref(r->header);
	free(r);
}

/* ----------------------------------------------------------------------------------------- verifying */

/** jws_key_fit(jwk, a, siglen): JWS_OK when ${a} signs with the imported key ${jwk} (RFC 7518 §3.4: ES256 on
 * P-256 only, ES384 on P-384 only; RS256 and PS256 on RSA), with the length of its signatures in *${siglen} (R || S
 * for ECDSA, the modulus length for RSA); JWS_BAD_ALG when ${a} does not fit; JWS_ERROR for a key no agent may
 * have (another kty or curve, an RSA modulus outside 2048..8192 bits). */
enum jws_rc
jws_key_fit(const cjose_jwk_t *jwk, const struct jws_alg *a, size_t *siglen)
{
	cjose_jwk_kty_t kty;
	cjose_jwk_ec_curve crv;
	size_t bits;
	cjose_err err;

	kty = cjose_jwk_get_kty(jwk, &err);
	if (kty == CJOSE_JWK_KTY_EC) {
		crv = cjose_jwk_EC_get_curve(jwk, &err);
		if (crv != CJOSE_JWK_EC_P_256 && crv != CJOSE_JWK_EC_P_384)
			return (JWS_ERROR);
		if (a->kty != CJOSE_JWK_KTY_EC || a->crv != crv)
			return (JWS_BAD_ALG);
		*siglen = 2 * a->coord_len;
	} else if (kty == CJOSE_JWK_KTY_RSA) {
		bits = cjose_jwk_get_keysize(jwk, &err);
		if (bits < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS)
			return (JWS_ERROR);
		if (a->kty != CJOSE_JWK_KTY_RSA)
			return (JWS_BAD_ALG);
		*siglen = (bits + 7) / 8;
	} else
		return (JWS_ERROR);
	return (JWS_OK);
}

/** jws_verify_compact(compact, len, jwk, a, sig_len, out): JWS_OK when the compact JWS ${compact} (${len} bytes),
 * whose decoded signature is ${sig_len} octets long, verifies with the imported public key ${jwk} under ${a}, which
 * must be the alg its protected header names.  With ${out} not NULL the imported JWS is left in *${out} (release
 * with cjose_jws_release) for its payload.  JWS_BAD_ALG when ${a} does not fit the key; JWS_ERROR for a key no
 * agent may have (not logged: the caller names the key) or no memory (logged); JWS_BAD_SIGNATURE otherwise.  The
 * signature check is cjose's (OpenSSL's ECDSA_do_verify, RSA_verify and RSA_verify_PKCS1_PSS); it handles only
 * public data, so its timing reveals nothing secret. */
enum jws_rc
jws_verify_compact(
    const char *compact, size_t len, const cjose_jwk_t *jwk, const struct jws_alg *a, size_t sig_len, cjose_jws_t **out)
{
	cjose_jws_t *jws = NULL;
	const char *alg;
	size_t siglen = 0;
	cjose_err err;
	enum jws_rc rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = jws_key_fit(jwk, a, &siglen)) != JWS_OK)
		goto out;
	/* RFC 7518 §3.4: R || S of exactly twice the coordinate length; RFC 8017 §8.1.2: k octets for RSA. */
	rc = JWS_BAD_SIGNATURE;
	if (sig_len != siglen)
		goto out;
	if ((jws = cjose_jws_import(compact, len, &err)) == NULL) {
		if (err.code == CJOSE_ERR_NO_MEMORY) {
			log_warnx("jws_verify: cjose: out of memory");
			rc = JWS_ERROR;
		}
		goto out;
	}
	/* The callers refused duplicate members, so cjose read the same alg; check rather than trust. */
	if ((alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &err)) == NULL ||
	    strcmp(alg, a->alg) != 0)
		goto out;
	if (!cjose_jws_verify(jws, jwk, &err)) {
		if (err.code == CJOSE_ERR_NO_MEMORY) {
			log_warnx("jws_verify: cjose: out of memory");
			rc = JWS_ERROR;
		}
		goto out;
	}
	rc = JWS_OK;
	if (out != NULL) {
		*out = jws;
		jws = NULL;
	}
out:
	cjose_jws_release(jws);
	return (rc);
}

/** jws_verify(req, jwk_json): JWS_OK when ${req}'s signature verifies with the public JWK ${jwk_json} under
 * req->alg (JWS_BAD_ALG when the alg does not fit the key type or curve; JWS_ERROR, logged, when the key cannot
 * be imported or is no agent key). */
enum jws_rc
jws_verify(const struct jws_request *req, const char *jwk_json)
{
	const struct jws_alg *a;
	cjose_jwk_t *jwk = NULL;
	char *sigb = NULL;
	struct buf compact;
	size_t len, siglen;
	cjose_err err;
	enum jws_rc rc = JWS_ERROR;

	buf_init(&compact);
	if (req == NULL || req->signing_input == NULL || req->sig == NULL || req->header == NULL) {
		log_warnx("jws_verify: bad arguments");
		goto out;
	}
	if ((a = jws_alg_find(req->alg)) == NULL) {
		rc = JWS_BAD_ALG;
		goto out;
	}
	if (jwk_json == NULL || (len = strnlen(jwk_json, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (jwk = cjose_jwk_import(jwk_json, len, &err)) == NULL) {
		log_warnx("jws_verify: the agent's key cannot be imported");
		goto out;
	}
	if ((rc = jws_key_fit(jwk, a, &siglen)) != JWS_OK) {
		if (rc == JWS_ERROR)
			log_warnx("jws_verify: the agent's key is not an EC P-256/P-384 or RSA 2048..8192 key");
		goto out;
	}
	rc = JWS_ERROR;
	/* cjose verifies the compact form: the signing input as received, a dot, the signature. */
	if ((sigb = b64url_encode(req->sig, req->sig_len)) == NULL) {
		log_warnx("jws_verify: out of memory");
		goto out;
	}
	buf_printf(&compact, "%s.%s", req->signing_input, sigb);
	if (compact.err) {
		log_warnx("jws_verify: out of memory");
		goto out;
	}
	rc = jws_verify_compact(compact.data, compact.len, jwk, a, req->sig_len, NULL);
out:
	cjose_jwk_release(jwk);
	buf_release(&compact);
	free(sigb);
	return (rc);
}

/* ------------------------------------------------------------------------------------------- signing */

/** jws_sign_flat(private_jwk, alg, kid, nonce, url, payload): the flattened JWS JSON text of ${payload} (a string,
 * "" for POST-as-GET) signed with ${private_jwk} under ${alg}, which must fit the key; protected header {alg, kid,
 * nonce, url}, none of them empty.  The caller frees the text; NULL on failure (logged). */
char *
jws_sign_flat(
    const char *private_jwk, const char *alg, const char *kid, const char *nonce, const char *url, const char *payload)
{
	const struct jws_alg *a;
	cjose_jwk_t *jwk = NULL;
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	json_t *priv = NULL, *o = NULL;
	const char *compact, *d1, *d2;
	char *ret = NULL;
	size_t len, siglen;
	cjose_err err;

	if (private_jwk == NULL || kid == NULL || kid[0] == '\0' || nonce == NULL || nonce[0] == '\0' || url == NULL ||
	    url[0] == '\0' || payload == NULL) {
		log_warnx("jws_sign_flat: bad arguments");
		goto out;
	}
	if ((a = jws_alg_find(alg)) == NULL) {
		log_warnx("jws_sign_flat: alg is not one of ES256, ES384, RS256 and PS256");
		goto out;
	}
	if ((len = strnlen(private_jwk, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (priv = keys_json_load(private_jwk, len, KEYS_MAX_JWK, NULL, 0)) == NULL ||
	    !json_is_string(json_object_get(priv, "d")) || (jwk = cjose_jwk_import(private_jwk, len, &err)) == NULL) {
		log_warnx("jws_sign_flat: the key is not a private JWK");
		goto out;
	}
	if (jws_key_fit(jwk, a, &siglen) != JWS_OK) {
		log_warnx("jws_sign_flat: %s does not fit the key", a->alg);
		goto out;
	}
	if ((hdr = cjose_header_new(&err)) == NULL || !cjose_header_set(hdr, CJOSE_HDR_ALG, a->alg, &err) ||
	    !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err) || !cjose_header_set(hdr, "nonce", nonce, &err) ||
	    !cjose_header_set(hdr, "url", url, &err)) {
		log_warnx("jws_sign_flat: header: %s", err.message);
		goto out;
	}
	if ((jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &err)) == NULL ||
	    !cjose_jws_export(jws, &compact, &err)) {
		log_warnx("jws_sign_flat: %s: %s", a->alg, err.message);
		goto out;
	}
	/* RFC 7515 §7.2.2: the three parts of the compact form become the members. */
	if ((d1 = strchr(compact, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL) {
		log_warnx("jws_sign_flat: cjose gave no compact JWS");
		goto out;
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "protected", json_stringn(compact, (size_t)(d1 - compact))) == -1 ||
	    json_object_set_new(o, "payload", json_stringn(d1 + 1, (size_t)(d2 - d1 - 1))) == -1 ||
	    json_object_set_new(o, "signature", json_string(d2 + 1)) == -1 ||
	    (ret = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		log_warnx("jws_sign_flat: out of memory");
out:
	json_decref(o);
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	cjose_jwk_release(jwk);
	keys_json_scrub(priv);
	json_decref(priv);
	return (ret);
}

/* ---------------------------------------------------------------------------------------------- keys */

/*
 * b64_member(o, name, out, outlen, why, whylen): the JWK member ${name}, a non-empty base64url string, decoded
 * into a new *${out}.  -1 and a sentence otherwise.
 */
static int
b64_member(json_t *o, const char *name, unsigned char **out, size_t *outlen, char *why, size_t whylen)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	*out = NULL;
	*outlen = 0;
	if (s == NULL) {
		str_errf(why, whylen, "the JWK has no %s string", name);
		return (-1);
	}
	if (n == 0 || !keys_b64url_ok(s, n) || b64url_decode(s, n, out, outlen) == -1 || *outlen == 0) {
		free(*out);
		*out = NULL;
		str_errf(why, whylen, "the JWK's %s is not base64url", name);
		return (-1);
	}
	return (0);
}

/* bits_of(p, len): the length in bits of the big-endian number ${p} of ${len} > 0 octets, the first not zero. */
static size_t
bits_of(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	size_t bits = (len - 1) * 8;

	while (c != 0) {
		bits++;
		c >>= 1;
	}
	return (bits);
}

/* use_ok(o, a, why, whylen): "alg", "use" and "key_ops" of the JWK ${o} (each optional) allow ${a}'s signatures. */
static bool
use_ok(json_t *o, const struct jws_alg *a, char *why, size_t whylen)
{
	const struct jws_alg *ka;
	const char *s;
	json_t *v, *op;
	size_t i;
	bool ok = false;

	if ((v = json_object_get(o, "alg")) != NULL) {
		/* RFC 7517 §4.4: the alg the key is meant for; ours fit by kty and curve (RS256 and PS256 share RSA). */
		if ((s = json_string_value(v)) == NULL || strcasecmp(s, "none") == 0 ||
		    (ka = jws_alg_find(s)) == NULL || ka->kty != a->kty || ka->crv != a->crv) {
			str_errf(
			    why, whylen, "the JWK's alg is not one of ES256, ES384, RS256 and PS256 that fits the key");
			return (false);
		}
	}
	if ((v = json_object_get(o, "use")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0)) {
		str_errf(why, whylen, "the JWK's use is not sig");
		return (false);
	}
	if ((v = json_object_get(o, "key_ops")) != NULL) {
		/* RFC 7517 §4.3: an array of strings; one of them must allow signatures. */
		for (i = 0; json_is_array(v) && (op = json_array_get(v, i)) != NULL; i++) {
			if ((s = json_string_value(op)) != NULL && (strcmp(s, "sign") == 0 || strcmp(s, "verify") == 0))
				ok = true;
		}
		if (!ok) {
			str_errf(why, whylen, "the JWK's key_ops allow neither sign nor verify");
			return (false);
		}
	}
	return (true);
}

/**
 * jwk_public_text(o, private_ok, why, whylen): check the parsed JWK ${o} as an agent key: kty EC on P-256 or
 * P-384 with full-length x and y (RFC 7518 §6.2.1.2), or RSA with a modulus of 2048..8192 bits and an odd
 * exponent of at most JWS_RSA_MAX_E octets, both without leading zero octets (RFC 7518 §2, Base64urlUInt); no
 * private member unless ${private_ok}; "alg", "use" and "key_ops", when present, allowing signatures with that
 * key.  Returns the public members only (crv, kty, x, y or e, kty, n), compact with sorted keys: exactly the
 * RFC 7638 §3.2 thumbprint input.  The caller frees it.  NULL and a sentence otherwise.  The result is imported
 * once by cjose, which checks (through OpenSSL) that an EC point lies on its curve.
 */
char *
jwk_public_text(json_t *o, bool private_ok, char *why, size_t whylen)
{
	static const struct jws_alg *const ec_algs[] = { &jws_algs[0], &jws_algs[1] };
	const struct jws_alg *a = NULL;
	const char *kty, *crv, *const *m;
	unsigned char *x = NULL, *y = NULL, *n = NULL, *e = NULL;
	size_t xlen, ylen, nlen, elen, i, bits;
	json_t *pub = NULL;
	char *text = NULL, *ret = NULL;
	cjose_jwk_t *jwk = NULL;
	cjose_err err;

	if ((kty = json_string_value(json_object_get(o, "kty"))) == NULL) {
		if (json_object_get(o, "keys") != NULL)
			str_errf(why, whylen, "a JWK Set is not accepted: send one JWK");
		else
			str_errf(why, whylen, "the JWK has no kty string");
		goto out;
	}
	if (strcmp(kty, "oct") == 0) {
		str_errf(why, whylen, "symmetric (oct) keys are not accepted");
		goto out;
	}
	if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0) {
		str_errf(why, whylen, "the JWK's kty is not EC or RSA (OKP keys are not supported)");
		goto out;
	}
	for (m = jwk_private_members; !private_ok && *m != NULL; m++) {
		if (json_object_get(o, *m) != NULL) {
			str_errf(why, whylen, "the JWK has the private member %s: send the public key only", *m);
			goto out;
		}
	}
	if (strcmp(kty, "EC") == 0) {
		if ((crv = json_string_value(json_object_get(o, "crv"))) == NULL) {
			str_errf(why, whylen, "the EC JWK has no crv string");
			goto out;
		}
		for (i = 0; i < sizeof(ec_algs) / sizeof(ec_algs[0]); i++)
			if (strcmp(ec_algs[i]->crv_name, crv) == 0)
				a = ec_algs[i];
		if (a == NULL) {
			str_errf(why, whylen, "the JWK's crv is not P-256 or P-384 (P-521 is not supported)");
			goto out;
		}
		/* RFC 7518 §6.2.1.2, §6.2.1.3: each coordinate has the full size of the curve, leading zeros kept. */
		if (b64_member(o, "x", &x, &xlen, why, whylen) == -1 ||
		    b64_member(o, "y", &y, &ylen, why, whylen) == -1)
			goto out;
		if (xlen != a->coord_len || ylen != a->coord_len) {
			str_errf(
			    why, whylen, "the JWK's x and y must be %zu octets each for %s", a->coord_len, a->crv_name);
			goto out;
		}
		if ((pub = json_pack("{s:s, s:s, s:s, s:s}", "crv", a->crv_name, "kty", "EC", "x",
		         json_string_value(json_object_get(o, "x")), "y",
		         json_string_value(json_object_get(o, "y")))) == NULL)
			goto nomem;
	} else {
		a = &jws_algs[2];
		if (b64_member(o, "n", &n, &nlen, why, whylen) == -1 ||
		    b64_member(o, "e", &e, &elen, why, whylen) == -1)
			goto out;
		if (n[0] == 0 || e[0] == 0) {
			str_errf(why, whylen, "the JWK's n or e has a leading zero octet (RFC 7518 §2)");
			goto out;
		}
		if ((n[nlen - 1] & 1) == 0) {
			str_errf(why, whylen, "the RSA modulus n is even");
			goto out;
		}
		if ((bits = bits_of(n, nlen)) < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS) {
			str_errf(why, whylen, "the RSA key has %zu bits: %d to %d are accepted", bits,
			    KEYS_RSA_MIN_BITS, KEYS_RSA_MAX_BITS);
			goto out;
		}
		if (elen > JWS_RSA_MAX_E || (e[elen - 1] & 1) == 0 || (elen == 1 && e[0] < 3)) {
			str_errf(why, whylen, "the RSA key's exponent e is not an odd number from 3 to 2^64 - 1");
			goto out;
		}
		if ((pub = json_pack("{s:s, s:s, s:s}", "e", json_string_value(json_object_get(o, "e")), "kty", "RSA",
		         "n", json_string_value(json_object_get(o, "n")))) == NULL)
			goto nomem;
	}
	if (!use_ok(o, a, why, whylen))
		goto out;
	if ((text = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto nomem;
	/* cjose 0.6 reports a point off the curve as "out of memory": every failure here is the key's. */
	if ((jwk = cjose_jwk_import(text, strlen(text), &err)) == NULL) {
		str_errf(why, whylen, "the key cannot be imported (an EC point must lie on its curve)");
		goto out;
	}
	ret = text;
	text = NULL;
	goto out;
nomem:
	log_warnx("jwk: out of memory");
	str_errf(why, whylen, "internal error");
out:
	cjose_jwk_release(jwk);
	free(text);
	json_decref(pub);
	free(x);
	free(y);
	free(n);
	free(e);
	return (ret);
}

/** jwk_public_import(text, out, why, whylen): check that ${text} is one public JWK usable by an agent (EC P-256
 * or P-384, RSA of 2048 to 8192 bits; no private members; "alg", "use" and "key_ops" allowing signatures when
 * present, so never "none") and give its public members only (crv, kty, x, y / e, kty, n), compact with sorted
 * keys (the RFC 7638 thumbprint input), in a new *${out} that the caller frees.  -1 and a sentence in ${why}
 * otherwise. */
int
jwk_public_import(const char *text, char **out, char *why, size_t whylen)
{
	char jwhy[JWS_WHY_LEN];
	json_t *o = NULL;
	size_t len;
	int ret = -1;

	str_errf(why, whylen, "%s", "");
	if (out == NULL) {
		log_warnx("jwk_public_import: bad arguments");
		return (-1);
	}
	*out = NULL;
	if (text == NULL || (len = strnlen(text, KEYS_MAX_JWK + 1)) == 0) {
		str_errf(why, whylen, "no JWK was given");
		goto out;
	}
	if (len > KEYS_MAX_JWK) {
		str_errf(why, whylen, "the JWK is longer than %d bytes", KEYS_MAX_JWK);
		goto out;
	}
	if ((o = keys_json_load(text, len, KEYS_MAX_JWK, jwhy, sizeof(jwhy))) == NULL) {
		str_errf(why, whylen, "the JWK %s", jwhy);
		goto out;
	}
	if ((*out = jwk_public_text(o, false, why, whylen)) != NULL)
		ret = 0;
out:
	/* A private key sent by mistake is still a secret. */
	keys_json_scrub(o);
	json_decref(o);
	return (ret);
}

/** jwk_public_of(private_jwk): the public JWK (as jwk_public_import gives it) of a private one; the caller frees
 * it; NULL (logged) when ${private_jwk} is not a key jwk_public_import would accept the public half of. */
char *
jwk_public_of(const char *private_jwk)
{
	char why[JWS_WHY_LEN], *ret = NULL;
	json_t *o = NULL;
	size_t len;

	if (private_jwk == NULL || (len = strnlen(private_jwk, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (o = keys_json_load(private_jwk, len, KEYS_MAX_JWK, NULL, 0)) == NULL) {
		log_warnx("jwk_public_of: not a JWK");
		goto out;
	}
	if ((ret = jwk_public_text(o, true, why, sizeof(why))) == NULL)
		log_warnx("jwk_public_of: %s", why);
out:
	keys_json_scrub(o);
	json_decref(o);
	return (ret);
}

/** jwk_generate(alg): a new private JWK as JSON text ("ES256": P-256, "ES384": P-384, "RS256"/"PS256": RSA
 * 2048 with e = 65537), with "alg" set; the caller frees it with str_secure_free; NULL on failure (logged). */
char *
jwk_generate(const char *alg)
{
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	const struct jws_alg *a;
	cjose_jwk_t *jwk = NULL;
	char *priv = NULL, *ret = NULL;
	struct buf b;
	cjose_err err;

	buf_init(&b);
	if ((a = jws_alg_find(alg)) == NULL) {
		log_warnx("jwk_generate: alg is not one of ES256, ES384, RS256 and PS256");
		goto out;
	}
	if (a->kty == CJOSE_JWK_KTY_RSA)
		jwk = cjose_jwk_create_RSA_random(JWS_RSA_BITS, e65537, sizeof(e65537), &err);
	else
		jwk = cjose_jwk_create_EC_random(a->crv, &err);
	if (jwk == NULL || (priv = cjose_jwk_to_json(jwk, true, &err)) == NULL) {
		log_warnx("jwk_generate: %s: %s", a->alg, err.message);
		goto out;
	}
	/* cjose gives {"kty":...}: put "alg" first by hand, in a buf, which zeroes every copy it drops. */
	if (priv[0] != '{' || priv[1] != '"') {
		log_warnx("jwk_generate: cjose gave no JWK object");
		goto out;
	}
	buf_printf(&b, "{\"alg\":\"%s\",", a->alg);
	buf_puts(&b, priv + 1);
	if (b.err) {
		log_warnx("jwk_generate: out of memory");
		goto out;
	}
	ret = buf_steal(&b);
out:
	buf_release(&b);
	if (priv != NULL) {
		explicit_bzero(priv, strlen(priv));
		cjose_get_dealloc()(priv);
	}
	cjose_jwk_release(jwk);
	return (ret);
}

/** acme_dns01_value(token, thumbprint): RFC 8555 §8.4: base64url(SHA-256(token "." thumbprint)), the key
 * authorization of §8.1 hashed; the caller frees it.  NULL (logged) when either is empty, longer than
 * JWS_MAX_TOKEN or not base64url (RFC 8555 §8.1: a token holds base64url only, so the "." is unambiguous). */
char *
acme_dns01_value(const char *token, const char *thumbprint)
{
	unsigned char h[UTIL_SHA256_LEN];
	size_t tlen, plen;
	struct buf b;
	char *ret = NULL;

	buf_init(&b);
	if (token == NULL || thumbprint == NULL || (tlen = strnlen(token, JWS_MAX_TOKEN + 1)) == 0 ||
	    tlen > JWS_MAX_TOKEN || (plen = strnlen(thumbprint, JWS_MAX_TOKEN + 1)) == 0 || plen > JWS_MAX_TOKEN ||
	    !keys_b64url_ok(token, tlen) || !keys_b64url_ok(thumbprint, plen)) {
		log_warnx("acme_dns01_value: token and thumbprint must be base64url");
		goto out;
	}
	buf_append(&b, token, tlen);
	buf_puts(&b, ".");
	buf_append(&b, thumbprint, plen);
	if (b.err) {
		log_warnx("acme_dns01_value: out of memory");
		goto out;
	}
	sha256(b.data, b.len, h);
	if ((ret = b64url_encode(h, sizeof(h))) == NULL)
		log_warnx("acme_dns01_value: out of memory");
out:
	buf_release(&b);
	return (ret);
}
