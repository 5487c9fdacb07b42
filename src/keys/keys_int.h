/*
 * keys_int.h: what the files of src/keys/ share and nothing outside it may use.  The keyring publishes
 * immutable snapshots (keyring.c); jwt.c signs and verifies with a snapshot it holds a reference to; jws.c
 * (agent requests) reuses jwt.c's strict JSON and base64url checks.
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

#define KEYS_MAX_JSON_DEPTH 32 /* JWT headers/payloads and JWKs nest 3-4 levels; 32 is generous */
#define KEYS_MAX_JWK 16384     /* a JWK text longer than this is not a key we made or accept */
#define KEYS_NALGS 2           /* the algorithms we sign with, see keys_algs[] */
#define KEYS_RSA_MIN_BITS 2048 /* RFC 7518 §3.3: 2048 or larger */
#define KEYS_RSA_MAX_BITS 8192 /* larger keys make every token cost tens of ms */

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

#endif
