/*
 * keys.h: signing keys, JWTs and password hashing.  src/keys/ is the only code that includes cjose and
 * argon2.  RFC 7515 (JWS), RFC 7517 (JWK), RFC 7519 (JWT), RFC 7638 (thumbprints), RFC 9106 (argon2id).
 *
 * Key life cycle (SECURITY.md 13): a key is published in the JWKS from its creation, signs from activate_at,
 * stops signing when a newer key of the same alg activates, and stays published until every token it signed
 * has expired.  The keyring holds an immutable snapshot that keyring_refresh() swaps atomically, so signing
 * and verification take no lock beyond a reader count.
 */
#ifndef ANCHORID_KEYS_H
#define ANCHORID_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;
struct conf;
struct keyring;

#define KEYS_MAX_JWT 16384 /* a JWT longer than this is rejected before parsing */

/** keyring_open(st, conf): load the keys from ${st}; on first start generate one RS256 (conf->rsa_bits) and
 * one ES256 key, active at once, and store them.  NULL on failure (logged). */
struct keyring *keyring_open(struct store *st, const struct conf *conf);
/** keyring_refresh(kr): reload from the store if anything changed (new key, activation or expiry time
 * reached); cheap when nothing did.  Called periodically by the server. */
int keyring_refresh(struct keyring *kr);
void keyring_free(struct keyring *kr);
/** keyring_jwks(kr): the public JWK Set as a JSON string (every published key, each with kid, alg, use=sig);
 * the caller frees it. */
char *keyring_jwks(struct keyring *kr);
/** keyring_has_alg(kr, alg): true when a key can sign with ${alg} now. */
bool keyring_has_alg(struct keyring *kr, const char *alg);

/** keys_rotate(st, conf, now, out, outlen): CLI "keys rotate": add a new key for each alg, activating at
 * now + conf->key_activation_delay; the old keys retire at that moment and expire after the longest token
 * lifetime.  Writes a human summary to ${out}.  -1 on failure. */
int keys_rotate(struct store *st, const struct conf *conf, int64_t now, char *out, size_t outlen);

/** jwt_sign(kr, alg, typ, claims): compact JWS of ${claims} signed with the active ${alg} key, protected header
 * {alg, kid, typ (omitted when NULL)}.  Caller frees.  NULL on failure. */
char *jwt_sign(struct keyring *kr, const char *alg, const char *typ, json_t *claims);
/** jwt_verify(kr, token, allowed_algs, typ): verify a compact JWS against the published keys: header alg in the
 * NULL-terminated ${allowed_algs} (never "none"), kid present and known, signature valid, and the header typ
 * equal to ${typ} when not NULL.  Returns the payload object (caller decrefs) or NULL.  Does NOT check claims. */
json_t *jwt_verify(struct keyring *kr, const char *token, const char *const *allowed_algs, const char *typ);

/** jwt_decode_unverified(token, header, payload): parse a compact JWS's header and payload as JSON objects
 * without checking anything else (for the fuzz harness and for peeking at "iss" before choosing keys).
 * The caller decrefs both; -1 on malformed input. */
int jwt_decode_unverified(const char *token, json_t **header, json_t **payload);

/** jwk_thumbprint(jwk_json): RFC 7638 SHA-256 thumbprint of a public JWK (RSA, EC or OKP) as base64url;
 * caller frees; NULL when the JWK is malformed. */
char *jwk_thumbprint(const char *jwk_json);

/* --------------------------------------------------------------------------- agent JWS (ACME style) */

/* Requests of identity agents: one JWS in the flattened JSON serialization (RFC 7515 §7.2.2), protected header
 * {alg, kid, nonce, url}, drafts/agent-provisioning.md §3.  Parsing and verifying are separate steps so that the
 * caller can look the agent up by kid in between. */

#define KEYS_MAX_JWS (64 * 1024) /* a request body longer than this is refused before parsing */

enum jws_rc {
	JWS_OK = 0,
	JWS_MALFORMED,     /* not a flattened JWS with exactly protected/payload/signature, bad base64url or JSON,
	                    * a missing or non-string kid/nonce/url, a jwk/crit/b64 header, an unprotected header */
	JWS_BAD_ALG,       /* alg not in ES256, ES384, RS256, PS256, or not usable with the key */
	JWS_BAD_SIGNATURE, /* the signature does not verify with the key */
	JWS_ERROR,         /* out of memory, or the key itself is unusable */
};

struct jws_request {
	json_t *header;                      /* the protected header (owned) */
	const char *alg, *kid, *nonce, *url; /* strings inside header */
	char *payload;                       /* the decoded payload, NUL-terminated (may be "") */
	size_t payload_len;
	char *signing_input; /* BASE64URL(protected) "." BASE64URL(payload), as received */
	unsigned char *sig;
	size_t sig_len;
};

/** jws_parse(body, len, out, why, whylen): parse (not verify) a flattened JWS of at most KEYS_MAX_JWS bytes.
 * JWS_OK and a new *${out} (free with jws_request_free); else NULL, JWS_MALFORMED or JWS_BAD_ALG and a sentence
 * in ${why}. */
enum jws_rc jws_parse(const char *body, size_t len, struct jws_request **out, char *why, size_t whylen);
/** jws_verify(req, jwk_json): JWS_OK when ${req}'s signature verifies with the public JWK ${jwk_json} under
 * req->alg (JWS_BAD_ALG when the alg does not fit the key type or curve). */
enum jws_rc jws_verify(const struct jws_request *req, const char *jwk_json);
/** jws_request_free(r): NULL is a no-op. */
void jws_request_free(struct jws_request *r);

/** jws_sign_flat(private_jwk, alg, kid, nonce, url, payload): the flattened JWS JSON text of ${payload} (a string,
 * "" for POST-as-GET) signed with ${private_jwk}; caller frees; NULL on failure. (The agent's side.) */
char *jws_sign_flat(
    const char *private_jwk, const char *alg, const char *kid, const char *nonce, const char *url, const char *payload);

/** jwk_public_import(text, out, why, whylen): check that ${text} is one public JWK usable by an agent (EC P-256
 * or P-384, RSA of at least 2048 bits; no private members, no "none"), and give its public members only
 * (kty, crv, x, y / kty, n, e), re-serialised, in a new *${out}.  RSA is capped at 8192 bits; alg, use and
 * key_ops, when present, must allow signing with the key.  -1 and a sentence in ${why} otherwise. */
int jwk_public_import(const char *text, char **out, char *why, size_t whylen);
/** jwk_generate(alg): a new private JWK as JSON text ("ES256": P-256, "ES384": P-384, "RS256"/"PS256": RSA
 * 2048), with "alg" set; caller frees (str_secure_free); NULL on failure. */
char *jwk_generate(const char *alg);
/** jwk_public_of(private_jwk): the public JWK (as jwk_public_import gives it) of a private one; caller frees. */
char *jwk_public_of(const char *private_jwk);
/** acme_dns01_value(token, thumbprint): RFC 8555 §8.4: base64url(SHA-256(token "." thumbprint)); caller frees;
 * NULL when either is empty, over 1024 characters or not base64url. */
char *acme_dns01_value(const char *token, const char *thumbprint);

/* ------------------------------------------------------------------ JWTs with keys outside the keyring */

/* The reference agent signs its UserInfo answers with its own key and verifies the authority's agent tokens
 * against the authority's published JWKS (drafts/claims.md §5). */

/** jwt_sign_jwk(private_jwk, typ, claims): compact JWS of ${claims} signed with ${private_jwk} (alg from the key:
 * P-256 ES256, P-384 ES384, RSA RS256), header {alg, kid (the key's RFC 7638 thumbprint), typ (omitted when
 * NULL)}.  Caller frees; NULL on failure. */
char *jwt_sign_jwk(const char *private_jwk, const char *typ, json_t *claims);
/** jwks_of_jwk(private_jwk): a JWKS document {"keys": [public key + kid (thumbprint), alg, use "sig"]} for
 * publishing; caller frees; NULL on failure. */
char *jwks_of_jwk(const char *private_jwk);
/** jwt_verify_jwks(jwks_json, token, allowed_algs, typ, payload, unknown_kid): verify the compact JWS ${token}
 * against the key of the JWKS document ${jwks_json} whose kid matches the header's (kid required; alg in the
 * NULL-terminated ${allowed_algs}, never "none"; header typ equal to ${typ} when not NULL).  JWS_OK and the
 * payload object in *${payload} (caller decrefs); otherwise *${payload} = NULL and *${unknown_kid} tells whether
 * no key had that kid (the caller may fetch the JWKS again).  Does NOT check claims. */
enum jws_rc jwt_verify_jwks(const char *jwks_json, const char *token, const char *const *allowed_algs, const char *typ,
    json_t **payload, bool *unknown_kid);

/* ----------------------------------------------------------------------------------------- passwords */

enum pw_rc { PW_OK = 0, PW_MISMATCH, PW_BUSY, PW_ERROR };

/** pw_init(conf): argon2id parameters and the concurrency cap (a counting semaphore).  Call once. */
int pw_init(const struct conf *conf);
/** pw_hash(password, out): argon2id-encode ${password} with a fresh salt; caller frees *out.  PW_BUSY when the
 * cap stays full for 2 s. */
enum pw_rc pw_hash(const char *password, char **out);
/** pw_verify(encoded, password): check ${password}; with ${encoded} NULL it hashes a dummy so that unknown
 * identities take the same time, and returns PW_MISMATCH.  Constant-time comparison inside argon2. */
enum pw_rc pw_verify(const char *encoded, const char *password);
/** pw_needs_rehash(encoded): true when ${encoded} used other parameters than the configured ones. */
bool pw_needs_rehash(const char *encoded);

#endif
