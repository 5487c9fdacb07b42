/*
 * keys_int.h: what the files of src/keys/ share and nothing outside it may use.  The keyring publishes
 * immutable snapshots (keyring.c); jwt.c signs and verifies with a snapshot it holds a reference to; jws.c
 * (agent requests) reuses jwt.c's strict JSON and base64url checks; jwt_jwk.c (JWTs with keys outside the
 * keyring) reuses jwt.c's compact-JWS parsing and signing and jws.c's agent keys and signature checks.
 */
#ifndef ANCHORID_KEYS_INT_H
#define ANCHORID_KEYS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "keys.h"

#define KEYS_MAX_JSON_DEPTH 32    /* JWT headers/payloads and JWKs nest 3-4 levels; 32 is generous */
#define KEYS_MAX_JWK 16384        /* a JWK text longer than this is not a key we made or accept */
#define KEYS_NALGS 2              /* the algorithms we sign with, see keys_algs[] */
#define KEYS_RSA_MIN_BITS 2048    /* RFC 7518 §3.3: 2048 or larger */
#define KEYS_RSA_MAX_BITS 8192    /* larger keys make every token cost tens of ms */
#define KEYS_MAX_JWKS (64 * 1024) /* a JWK Set of a few keys is 1-4 KiB; the agent fetches at most 64 KiB */

/* One signing algorithm we implement (RFC 7518 §3.1) and the key type it needs. */
struct keys_alg {
	const char *alg;      /* "RS256" */
	cjose_jwk_kty_t kty;  /* CJOSE_JWK_KTY_RSA */
	const char *kty_name; /* "RSA": the JWK "kty" */
};

extern const struct keys_alg keys_algs[KEYS_NALGS];

/* A key imported once from its stored JWK and shared, read-only, by every snapshot that lists it.  cjose's own
 * retain count is not atomic, so sharing across threads goes through ${refs} here and cjose's count stays 1. */
struct kr_key {
	atomic_uint refs;           /* snapshots holding it; freed at 0 */
	cjose_jwk_t *jwk;           /* the private key, imported once, never changed after publication */
	const struct keys_alg *alg; /* points into keys_algs[] */
	char *kid;                  /* as stored: the RFC 7638 thumbprint */
	unsigned char jwk_sha[32];  /* SHA-256 of the stored JWK text: a changed row is imported again */
	json_t *pub;                /* public JWK {kty, kid, use, alg, public members}: built by allow-list */
};

/* A key as listed by the store at the snapshot's creation: the shared material and this row's times. */
struct kr_entry {
	struct kr_key *key;  /* one reference owned by the snapshot */
	int64_t created_at;  /* published from here */
	int64_t activate_at; /* signs from here */
	int64_t retire_at;   /* 0, or stops signing from here */
	int64_t expire_at;   /* 0, or unpublished from here (the store stops listing it) */
};

/* An immutable view of the keyring.  Readers hold a reference; keyring_refresh() swaps in a new one.  Which
 * key signs is decided at signing time from the entries' times, so an activation needs no refresh; expiry
 * removes the row from the store's list, which changes the fingerprint. */
struct kr_snap {
	atomic_uint refs;      /* 1 for the keyring's pointer + 1 per reader */
	struct kr_entry *ents; /* published keys, in the store's order (oldest first) */
	size_t nents;
	char *jwks;                    /* {"keys":[...]} of every published key, public members only */
	unsigned char fingerprint[32]; /* SHA-256 over (kid, alg, JWK hash, times) of the listed rows */
};

/** keyring_snap_get(kr): a reference to the current snapshot (never NULL); release with keyring_snap_put. */
struct kr_snap *keyring_snap_get(struct keyring *kr);
/** keyring_snap_put(s): drop a reference; the last one frees ${s}.  NULL is a no-op. */
void keyring_snap_put(struct kr_snap *s);
/** keyring_snap_signer(s, alg, now): the key that signs ${alg} at ${now}: of the keys of that alg with
 * activate_at <= now and retire_at 0 or > now, the newest (latest activate_at, then created_at, then listed);
 * NULL for none. */
const struct kr_key *keyring_snap_signer(const struct kr_snap *s, const char *alg, int64_t now);
/** keyring_snap_find(s, kid): the published key named ${kid}, or NULL. */
const struct kr_key *keyring_snap_find(const struct kr_snap *s, const char *kid);

/** keys_alg_find(alg): the entry of keys_algs[] for ${alg}, or NULL when we do not implement it. */
const struct keys_alg *keys_alg_find(const char *alg);

/** jwt_json_load(p, n): parse ${n} bytes as one JSON object, rejecting duplicate members, NUL bytes and nesting
 * deeper than KEYS_MAX_JSON_DEPTH; a new reference or NULL. */
json_t *jwt_json_load(const char *p, size_t n);
/** keys_json_load(p, n, max, why, whylen): jwt_json_load for texts of at most ${max} bytes; when it fails, the
 * end of a sentence ("has a duplicate member") in ${why} (when not NULL) for the caller to begin ("the protected
 * header "). */
json_t *keys_json_load(const char *p, size_t n, size_t max, char *why, size_t whylen);
/** keys_b64url_ok(s, n): true when the ${n} bytes of ${s} are all in the base64url alphabet (RFC 7515 §2: no
 * padding, no whitespace); true for n == 0. */
bool keys_b64url_ok(const char *s, size_t n);
/** keys_json_scrub(o): zero the string values of ${o}'s members before it is freed (private key members). */
void keys_json_scrub(json_t *o);

/* ------------------------------------------------------------------------------- jwt.c: compact JWS */

/* The three segments of a compact JWS, pointing into the caller's string. */
struct jwt_parts {
	const char *hdr, *payload, *sig;
	size_t hdr_len, payload_len, sig_len;
	size_t len; /* the whole token */
};

/** jwt_split(token, p): RFC 7515 §7.1: exactly three base64url segments separated by two dots, header and
 * payload non-empty, the whole no longer than KEYS_MAX_JWT.  -1 otherwise. */
int jwt_split(const char *token, struct jwt_parts *p);
/** jwt_segment_json(s, n): base64url-decode one segment and parse it as a JSON object; NULL when malformed. */
json_t *jwt_segment_json(const char *s, size_t n);
/** jwt_sign_compact(jwk, alg, kid, typ, claims, fn): the compact JWS of ${claims} signed with the imported private
 * key ${jwk} under ${alg}, protected header {alg, kid, typ (omitted when NULL)}.  Caller frees; NULL on failure
 * (logged, prefixed with ${fn}). */
char *jwt_sign_compact(
    const cjose_jwk_t *jwk, const char *alg, const char *kid, const char *typ, json_t *claims, const char *fn);
/** jwt_typ_equal(htyp, typ): the header typ ${htyp} (NULL: absent) names the media type ${typ} (RFC 7515 §4.1.9:
 * case-insensitive, "application/" optional). */
bool jwt_typ_equal(const char *htyp, const char *typ);
/** jwt_alg_allowed(alg, allowed): ${alg} is one of the NULL-terminated ${allowed}, and never "none". */
bool jwt_alg_allowed(const char *alg, const char *const *allowed);

/* ------------------------------------------------------------------------- jws.c: agent keys and algs */

/* An algorithm an agent may sign with (drafts/agent-provisioning.md §3) and the key it needs. */
struct jws_alg {
	const char *alg;        /* "ES256" */
	cjose_jwk_kty_t kty;    /* CJOSE_JWK_KTY_EC */
	cjose_jwk_ec_curve crv; /* EC: the one curve the alg is defined for (RFC 7518 §3.4); else INVALID */
	const char *crv_name;   /* EC: the JWK "crv"; else NULL */
	size_t coord_len;       /* EC: bytes of a coordinate, and of R and of S in a signature; else 0 */
};

/** jws_alg_find(alg): the entry for ${alg} (ES256, ES384, RS256, PS256), or NULL (always for "none" and every
 * HMAC alg). */
const struct jws_alg *jws_alg_find(const char *alg);
/** jws_key_fit(jwk, a, siglen): JWS_OK when ${a} signs with the imported key ${jwk}, with the length of its
 * signatures in *${siglen}; JWS_BAD_ALG when ${a} does not fit; JWS_ERROR for a key no agent may have (another kty
 * or curve, an RSA modulus outside KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS). */
enum jws_rc jws_key_fit(const cjose_jwk_t *jwk, const struct jws_alg *a, size_t *siglen);
/** jws_verify_compact(compact, len, jwk, a, sig_len, out): JWS_OK when the compact JWS ${compact} (${len} bytes,
 * decoded signature of ${sig_len} octets) verifies with the imported public key ${jwk} under ${a}, the alg its
 * header names; with ${out} not NULL the imported JWS in *${out} (cjose_jws_release).  JWS_BAD_ALG, JWS_ERROR (a
 * key no agent may have, or no memory) or JWS_BAD_SIGNATURE otherwise. */
enum jws_rc jws_verify_compact(const char *compact, size_t len, const cjose_jwk_t *jwk, const struct jws_alg *a,
    size_t sig_len, cjose_jws_t **out);
/** jwk_public_text(o, private_ok, why, whylen): check the parsed JWK ${o} as an agent key (EC P-256/P-384, RSA
 * 2048..8192; private members only when ${private_ok}; alg, use and key_ops allowing signatures) and give its
 * public members only, compact with sorted keys (the RFC 7638 thumbprint input); caller frees.  NULL and a
 * sentence in ${why} otherwise. */
char *jwk_public_text(json_t *o, bool private_ok, char *why, size_t whylen);

#endif
