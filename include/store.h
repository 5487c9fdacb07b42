/*
 * store.h: persistent state behind one engine-neutral contract.  src/store/sqlite.c is the first engine
 * (SQLite in WAL mode); PostgreSQL will be a second one behind this same header.
 *
 * Threads: one struct store is shared by every thread; the engine gives each thread its own connection with
 * its own cache of prepared statements, so no global lock sits around handlers.  Every function that changes
 * state runs in one transaction that is committed before the function returns.
 *
 * Secrets (client secrets, registration tokens, codes, refresh tokens, session ids, setup tokens) are never
 * stored: callers pass token_hash() of them and look them up by hash.
 *
 * Results: enum store_rc where callers must tell cases apart, otherwise 0 / -1.  Internal errors are logged
 * once by the engine.  Every struct returned is owned by the caller and freed with its *_free (NULL is a no-op).
 */
#ifndef ANCHORID_STORE_H
#define ANCHORID_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND, /* no such row (or expired) */
	STORE_CONFLICT, /* unique constraint, or the row is in a state that forbids the change */
	STORE_REPLAY,   /* a single-use secret was used again (code, refresh token, setup token) */
	STORE_ERROR,    /* internal error, already logged */
};

struct store;

/** store_open(path): open (creating if needed) the database at ${path}, enable WAL, run pending schema
 * migrations in one transaction each; NULL on failure (logged). */
struct store *store_open(const char *path);
/** store_set_sync(st, full): durability of commits.  full (the default): every commit is on disk before it
 * returns (an fsync of the WAL).  !full: a commit survives a crash of the process and the database stays
 * consistent after any crash, but the last commits before a power loss may be lost.  Call before other threads
 * use ${st}.  -1 on error. */
int store_set_sync(struct store *st, bool full);
/** store_close(st): close every per-thread connection and free ${st}; NULL is a no-op. */
void store_close(struct store *st);
/** store_schema_version(st): the applied migration number, or -1. */
int store_schema_version(struct store *st);
/** store_purge_expired(st, now): delete expired codes, sessions, setup tokens, refresh tokens, access-token
 * records, idle clients (unused since now - client_idle_ttl), deletion tokens and authorizations expired for
 * more than a day; returns rows deleted or -1. */
int64_t store_purge_expired(struct store *st, int64_t now, int64_t client_idle_ttl);

/* ------------------------------------------------------------------------------------------ identities */

enum identity_state { IDENTITY_INACTIVE = 0, IDENTITY_ACTIVE, IDENTITY_DISABLED, IDENTITY_DELETED };

struct identity {
	int64_t id;       /* internal row id */
	char *identifier; /* canonical form (lower case, A-labels, no trailing dot) */
	char *sub;        /* random, stable, never reused, even after deletion */
	enum identity_state state;
	char *password_hash; /* argon2id encoded string, NULL until set */
	int64_t created_at, updated_at;
	int64_t password_changed_at; /* 0 when never set */
	int64_t agent_id;            /* the agent that holds it (struct agent.id); 0 when created by the operator */
};

void identity_free(struct identity *id);
/** identity_state_name(s): "inactive", "active", "disabled", "deleted". */
const char *identity_state_name(enum identity_state s);
/** store_identity_create(st, identifier, sub, now, out): insert an inactive identity; STORE_CONFLICT when a
 * non-deleted identity already has ${identifier} or ${sub} was ever used.  *out (may be NULL) gets the row. */
enum store_rc store_identity_create(
    struct store *st, const char *identifier, const char *sub, int64_t now, struct identity **out);
/** store_identity_by_identifier(st, identifier, out): the non-deleted identity with ${identifier}. */
enum store_rc store_identity_by_identifier(struct store *st, const char *identifier, struct identity **out);
/** store_identity_by_id(st, id, out): any identity by row id, deleted ones included. */
enum store_rc store_identity_by_id(struct store *st, int64_t id, struct identity **out);
/** store_identity_list(st, out): every identity (deleted ones included) as a JSON array of objects
 * {identifier, sub, state, created_at, updated_at, agent (the holding agent's name, null for the operator)};
 * caller json_decref()s. */
enum store_rc store_identity_list(struct store *st, json_t **out);
/** store_identity_set_state(st, id, state, now): disable or re-enable. Deleting goes through
 * store_identity_delete. STORE_CONFLICT if the identity is deleted. */
enum store_rc store_identity_set_state(struct store *st, int64_t id, enum identity_state state, int64_t now);
/** store_identity_delete(st, id, now): in one transaction mark the identity deleted (identifier freed for
 * re-use, sub kept as a tombstone), wipe the password hash, and delete its sessions, codes, grants, refresh and
 * access tokens, setup tokens, deletion tokens and consents.  STORE_NOTFOUND if absent or already deleted. */
enum store_rc store_identity_delete(struct store *st, int64_t id, int64_t now);

/** store_identity_rehash(st, id, old_hash, new_hash, now): after a successful login, store the password hashed
 * under the current parameters, if the hash is still ${old_hash}; STORE_NOTFOUND otherwise. */
enum store_rc store_identity_rehash(
    struct store *st, int64_t id, const char *old_hash, const char *new_hash, int64_t now);
/** store_setup_create(st, identity_id, token_hash, expires_at): a one-time password-setup token; any older
 * setup token of the identity dies in the same transaction. */
enum store_rc store_setup_create(struct store *st, int64_t identity_id, const char *token_hash, int64_t expires_at);
/** store_setup_create_agent(st, identity_id, agent_id, token_hash, expires_at): store_setup_create() for the agent
 * ${agent_id}, checked to hold the identity inside the transaction: STORE_CONFLICT, nothing written, otherwise. */
enum store_rc store_setup_create_agent(
    struct store *st, int64_t identity_id, int64_t agent_id, const char *token_hash, int64_t expires_at);
/** store_setup_peek(st, token_hash, now, identity_id): the identity of a live, unused setup token. */
enum store_rc store_setup_peek(struct store *st, const char *token_hash, int64_t now, int64_t *identity_id);
/** store_setup_use(st, token_hash, password_hash, now, identity_id): atomically consume the token, store the
 * password hash, make the identity active (unless disabled/deleted: STORE_CONFLICT) and delete the identity's
 * sessions and grants (with their refresh and access tokens).  STORE_NOTFOUND for unknown or expired tokens, STORE_REPLAY for used ones. */
enum store_rc store_setup_use(
    struct store *st, const char *token_hash, const char *password_hash, int64_t now, int64_t *identity_id);

/* --------------------------------------------------------------------------------------------- clients */

struct client {
	char *client_id;      /* random, public */
	char *secret_hash;    /* token_hash(client_secret); NULL for public clients (auth method "none") */
	char *reg_token_hash; /* token_hash(registration_access_token) */
	json_t *metadata;     /* the registered metadata as returned to the client (no secrets) */
	char *source;         /* address that registered it */
	int64_t created_at, updated_at, last_used_at;
};

void client_free(struct client *c);
/** store_client_create(st, c): insert; STORE_CONFLICT if client_id exists. */
enum store_rc store_client_create(struct store *st, const struct client *c);
/** store_client_get(st, client_id, out). */
enum store_rc store_client_get(struct store *st, const char *client_id, struct client **out);
/** store_client_update(st, c): replace metadata, secret_hash, reg_token_hash, updated_at. */
enum store_rc store_client_update(struct store *st, const struct client *c);
/** store_client_delete(st, client_id): delete the client with its codes, grants and tokens. */
enum store_rc store_client_delete(struct store *st, const char *client_id);
/** store_client_touch(st, client_id, now): record use (at most one write per client per hour). */
enum store_rc store_client_touch(struct store *st, const char *client_id, int64_t now);
/** store_client_count_source(st, source, since, total, recent): live clients registered from ${source}, and
 * how many of them since ${since}. */
enum store_rc store_client_count_source(
    struct store *st, const char *source, int64_t since, int64_t *total, int64_t *recent);

/* ---------------------------------------------------------------------------------------------- session */

struct session {
	char *id_hash; /* token_hash(cookie value) */
	int64_t identity_id;
	int64_t auth_time; /* when the password was last checked */
	char *amr;         /* JSON array text, e.g. ["pwd"] */
	int64_t created_at, expires_at;
};

void session_free(struct session *s);
enum store_rc store_session_create(struct store *st, const struct session *s);
/** store_session_get(st, id_hash, now, out): a live session of an active identity. */
enum store_rc store_session_get(struct store *st, const char *id_hash, int64_t now, struct session **out);
enum store_rc store_session_delete(struct store *st, const char *id_hash);
/** store_session_list(st, identity_id, now, out): the identity's live sessions as a JSON array of {id (a short
 * public handle: the first 16 characters of id_hash), auth_time, created_at, expires_at}, newest first. */
enum store_rc store_session_list(struct store *st, int64_t identity_id, int64_t now, json_t **out);
/** store_session_end(st, identity_id, handle): delete the identity's session whose handle (see
 * store_session_list) is ${handle}; STORE_NOTFOUND when it has none. */
enum store_rc store_session_end(struct store *st, int64_t identity_id, const char *handle);

/* ------------------------------------------------------------------------------------------- consents */

/* The user's decisions, per identity, client and claim: granted or refused (drafts/claims.md §3).  Deleted with
 * the identity (the shared wipe) and with the client (cascade). */

/** store_consent_get(st, identity_id, client_id, out): a JSON object {claim: true (granted) | false (refused)}
 * of the decisions made for ${client_id}; {} when none. */
enum store_rc store_consent_get(struct store *st, int64_t identity_id, const char *client_id, json_t **out);
/** store_consent_set(st, identity_id, client_id, decisions, now): upsert every {claim: bool} of ${decisions} in
 * one transaction. */
enum store_rc store_consent_set(
    struct store *st, int64_t identity_id, const char *client_id, json_t *decisions, int64_t now);
/** store_consent_list(st, identity_id, out): a JSON array, one entry per client with decisions, newest first:
 * {client_id, client_name (or null), redirect_uri (the first registered), updated_at, claims: {claim: bool}}. */
enum store_rc store_consent_list(struct store *st, int64_t identity_id, json_t **out);
/** store_consent_revoke(st, identity_id, client_id, claim, now): with a ${claim}, mark it refused; with NULL,
 * delete every decision for ${client_id} and revoke the identity's grants of that client (their refresh and
 * access tokens die), in one transaction.  STORE_NOTFOUND when there was nothing to revoke. */
enum store_rc store_consent_revoke(
    struct store *st, int64_t identity_id, const char *client_id, const char *claim, int64_t now);

/* ------------------------------------------------------------------------------------ codes and grants */

/* An authorization code and everything it is bound to (RFC 6749 §4.1.2, RFC 7636, OIDC Core §3.1.2). */
struct authz_code {
	char *code_hash;
	char *client_id;
	int64_t identity_id;
	char *redirect_uri;
	char *scope;
	char *nonce;          /* NULL when the RP sent none */
	char *code_challenge; /* S256 challenge, NULL when none */
	char *claims;         /* JSON array text of the granted claim names (clm, drafts/claims.md §3), or NULL */
	char *amr;            /* JSON array text */
	int64_t auth_time;
	int64_t expires_at;
	char *grant_id; /* filled by store_code_redeem: the grant created from this code */
};

void authz_code_free(struct authz_code *c);
enum store_rc store_code_create(struct store *st, const struct authz_code *c);

/* What a successful redemption or refresh issues, stored in the same transaction as the code's consumption. */
struct grant_tokens {
	const char *grant_id;     /* new random id (code redemption) or the existing one (refresh) */
	const char *refresh_hash; /* token_hash of the new refresh token, NULL for none */
	int64_t refresh_expires_at;
	const char *access_jti; /* jti of the access token issued */
	int64_t access_expires_at;
};

/** store_code_redeem(st, code_hash, client_id, now, toks, out): RFC 6749 §4.1.2 single use, atomically: if the
 * code is live, unused, belongs to ${client_id} and its identity is active, mark it used, create the grant
 * ${toks->grant_id} with its refresh token and access-token record, commit, and return STORE_OK with the code in
 * *out.  A code used before returns STORE_REPLAY and revokes, in the same transaction, the grant issued from it
 * (RFC 6749 §4.1.2 SHOULD).  Unknown, expired or other client's codes, inactive identity: STORE_NOTFOUND.
 * Parallel callers: exactly one STORE_OK. */
enum store_rc store_code_redeem(struct store *st, const char *code_hash, const char *client_id, int64_t now,
    const struct grant_tokens *toks, struct authz_code **out);

/* A grant: what one code redemption created; refresh tokens and access tokens belong to it. */
struct grant {
	char *grant_id;
	char *client_id;
	int64_t identity_id;
	char *scope;
	char *claims; /* JSON array text of the claim names granted with the code (clm), or NULL */
	char *amr;
	int64_t auth_time;
	bool revoked;
};

void grant_free(struct grant *g);
/** store_refresh_rotate(st, refresh_hash, client_id, now, toks, out): if ${refresh_hash} is the current token of
 * a live grant of ${client_id} whose identity is active, retire it and store ${toks} (new refresh token and access
 * record) for the same grant, returning the grant.  A retired token: STORE_REPLAY and the whole grant is revoked
 * (RFC 9700 §4.14.2).  Unknown/expired/other client/revoked grant/inactive identity: STORE_NOTFOUND. */
enum store_rc store_refresh_rotate(struct store *st, const char *refresh_hash, const char *client_id, int64_t now,
    const struct grant_tokens *toks, struct grant **out);
/** store_refresh_peek(st, refresh_hash, client_id, out): the grant a refresh token of ${client_id} belongs to,
 * read only (for checks that must come before rotation); STORE_NOTFOUND for unknown or other client's tokens. */
enum store_rc store_refresh_peek(struct store *st, const char *refresh_hash, const char *client_id, struct grant **out);
/** store_grant_revoke(st, grant_id): revoke a grant (its refresh and access tokens die with it). */
enum store_rc store_grant_revoke(struct store *st, const char *grant_id);
/** store_access_check(st, jti, now, out): the grant of a live, unrevoked access token whose identity is active;
 * STORE_NOTFOUND otherwise. */
enum store_rc store_access_check(struct store *st, const char *jti, int64_t now, struct grant **out);
/** store_revoke_refresh(st, refresh_hash, client_id): RFC 7009: revoke the grant the token belongs to, if it is
 * ${client_id}'s; STORE_NOTFOUND otherwise (the caller still answers 200). */
enum store_rc store_revoke_refresh(struct store *st, const char *refresh_hash, const char *client_id);
/** store_revoke_access(st, jti, client_id): revoke one access token of ${client_id}. */
enum store_rc store_revoke_access(struct store *st, const char *jti, const char *client_id);

/* ------------------------------------------------------------------------------------------ signing keys */

struct stored_key {
	char *kid;
	char *alg; /* "RS256" or "ES256" */
	char *jwk; /* private JWK JSON text */
	int64_t created_at;
	int64_t activate_at; /* signs from this time on (published from created_at) */
	int64_t retire_at;   /* 0 = current; else no longer signs from this time */
	int64_t expire_at;   /* 0 = published until retired + token lifetimes; else unpublished from here */
};

void stored_key_free(struct stored_key *k);
/** store_keys_list(st, out, n): every key not yet unpublished (expire_at == 0 or > now), oldest first. */
enum store_rc store_keys_list(struct store *st, int64_t now, struct stored_key ***out, size_t *n);
void stored_keys_free(struct stored_key **keys, size_t n);
/** store_key_add(st, k, retire_others_at, expire_others_at): insert ${k} and, in the same transaction, set
 * retire_at/expire_at on every other current key of the same alg (0 leaves them untouched). */
enum store_rc store_key_add(
    struct store *st, const struct stored_key *k, int64_t retire_others_at, int64_t expire_others_at);

/* ------------------------------------------------------------------------------------------------ agents */

/* Identity agents and their provisioning state (drafts/agent-provisioning.md). */

enum agent_state { AGENT_ACTIVE = 0, AGENT_DISABLED };

struct agent {
	int64_t id;
	char *name;       /* the JWS kid: 1..64 of a-z 0-9 - _ . */
	char *issuer;     /* the agent's https URL; its host[:port][/path] is what clp must name */
	char *jwk;        /* public JWK, JSON text */
	char *thumbprint; /* RFC 7638 thumbprint of jwk */
	enum agent_state state;
	int64_t created_at, updated_at;
};

void agent_free(struct agent *a);
/** store_agent_create(st, a, now): insert ${a} (id, state, times ignored: new, active, now).  STORE_CONFLICT when
 * the name exists. */
enum store_rc store_agent_create(struct store *st, const struct agent *a, int64_t now);
/** store_agent_get(st, name, out) / store_agent_by_id(st, id, out): one agent, any state. */
enum store_rc store_agent_get(struct store *st, const char *name, struct agent **out);
enum store_rc store_agent_by_id(struct store *st, int64_t id, struct agent **out);
/** store_agent_list(st, out): a JSON array of {name, issuer, thumbprint, state, created_at, updated_at,
 * identifiers (live identities held)}; caller json_decref()s. */
enum store_rc store_agent_list(struct store *st, json_t **out);
/** store_agent_set_state(st, name, state, now): enable or disable.  STORE_NOTFOUND for an unknown name. */
enum store_rc store_agent_set_state(struct store *st, const char *name, enum agent_state state, int64_t now);
/** store_agent_set_key(st, name, jwk, thumbprint, now): replace the agent's key. */
enum store_rc store_agent_set_key(
    struct store *st, const char *name, const char *jwk, const char *thumbprint, int64_t now);

enum agent_action { AGENT_ACTION_CREATE = 0, AGENT_ACTION_DELETE, AGENT_ACTION_TRANSFER };
/** agent_action_name(a): "create", "delete", "transfer". */
const char *agent_action_name(enum agent_action a);

/* An authorization: a dns-01 challenge for one identifier and one action of one agent. */
struct agent_authz {
	char *id; /* random, base64url: the last path segment of its URL */
	int64_t agent_id;
	char *identifier; /* canonical */
	enum agent_action action;
	char *token;      /* the dns-01 token (not a secret: the agent publishes what it yields) */
	char *thumbprint; /* the agent key's thumbprint when created: the challenge value derives from it */
	int64_t created_at, expires_at;
	int64_t finalized_at; /* 0 while pending */
};

void agent_authz_free(struct agent_authz *a);
/** store_authz_create(st, a): insert ${a} (finalized_at ignored).  STORE_CONFLICT on a duplicate id. */
enum store_rc store_authz_create(struct store *st, const struct agent_authz *a);
/** store_authz_get(st, id, out): any authorization, expired or finalized ones included. */
enum store_rc store_authz_get(struct store *st, const char *id, struct agent_authz **out);
/** store_authz_count_since(st, agent_id, since): authorizations the agent created at or after ${since}; -1 on
 * error. */
int64_t store_authz_count_since(struct store *st, int64_t agent_id, int64_t since);
/** store_authz_create_limited(st, a, since, max, retry_at): store_authz_create, counted in the same transaction:
 * when the agent already created ${max} or more authorizations at or after ${since}, nothing is stored,
 * *${retry_at} (may be NULL) gets the time the oldest of them stops counting, and STORE_CONFLICT is returned.
 * Parallel callers never exceed ${max}. */
enum store_rc store_authz_create_limited(
    struct store *st, const struct agent_authz *a, int64_t since, int64_t max, int64_t *retry_at);

/*
 * The commits of a successful finalize (drafts/agent-provisioning.md §5).  Each runs in ONE transaction that
 * first marks the authorization finalized, only if it is still pending and unexpired and belongs to ${agent_id}
 * (STORE_REPLAY: already finalized; STORE_NOTFOUND: unknown, expired or another agent's), then re-checks the
 * action's precondition and makes the change; on any failure nothing is changed.
 */
/** store_provision_create: a new inactive identity (fresh ${sub}, held by the agent) and its setup token.
 * STORE_CONFLICT when a live identity has the identifier (*held_by gets its agent_id, 0 for the operator). */
enum store_rc store_provision_create(struct store *st, const char *authz_id, int64_t agent_id, const char *sub,
    const char *setup_hash, int64_t setup_expires, int64_t now, struct identity **out, int64_t *held_by);
/** store_provision_transfer: the live identity with the identifier is held by ${agent_id} from now on; its setup
 * tokens and deletion tokens are deleted (the losing agent's URLs die).  *previous gets the losing agent's id
 * (0 for the operator).  STORE_NOTFOUND when no live identity has it; STORE_CONFLICT when ${agent_id} already
 * holds it. */
enum store_rc store_provision_transfer(
    struct store *st, const char *authz_id, int64_t agent_id, int64_t now, struct identity **out, int64_t *previous);
/** store_provision_delete: for an identity held by ${agent_id} that has no password (password_hash NULL: no
 * credentials to confirm with, whatever its state), delete it at once as store_identity_delete does
 * (*deleted = true); for any other, store a deletion token (by hash, expiring at ${confirm_expires}; earlier ones
 * of the identity die) to be confirmed by the user with the password (*deleted = false).  STORE_NOTFOUND when no live identity has the identifier; STORE_CONFLICT when another
 * agent holds it.  *out gets the identity (after the change). */
enum store_rc store_provision_delete(struct store *st, const char *authz_id, int64_t agent_id, const char *confirm_hash,
    int64_t confirm_expires, int64_t now, struct identity **out, bool *deleted);
/** store_deletion_peek(st, confirm_hash, now, identity_id): the identity of a live deletion token. */
enum store_rc store_deletion_peek(struct store *st, const char *confirm_hash, int64_t now, int64_t *identity_id);
/** store_deletion_confirm(st, confirm_hash, now, identity_id): consume the token and delete its identity as
 * store_identity_delete does, in one transaction.  STORE_NOTFOUND for an unknown or expired token, STORE_REPLAY
 * for a used one. */
enum store_rc store_deletion_confirm(struct store *st, const char *confirm_hash, int64_t now, int64_t *identity_id);
/** store_identity_by_identifier_any(st, identifier, agent_id, out): the live identity with ${identifier}, or
 * else the most recently deleted one that ${agent_id} held (for the agent's status request). */
enum store_rc store_identity_by_identifier_any(
    struct store *st, const char *identifier, int64_t agent_id, struct identity **out);

/* ------------------------------------------------------------------------------- the agent's claims */

/* The reference agent (anchorid-agent serve) keeps its users' claims in its own database, opened with
 * store_open like the authority's (the same schema; the authority never uses these rows). */

/** store_claims_set(st, identifier, claims, now): merge the members of the JSON object ${claims} into the
 * identifier's claims (a member whose value is null removes the claim), in one transaction. */
enum store_rc store_claims_set(struct store *st, const char *identifier, json_t *claims, int64_t now);
/** store_claims_get(st, identifier, out): the identifier's claims as a JSON object ({} when none). */
enum store_rc store_claims_get(struct store *st, const char *identifier, json_t **out);

/* ----------------------------------------------------------------------------------------------- misc */

/** store_meta_get / store_meta_set: small named values (e.g. the server's HMAC secret). *out is freed by the
 * caller. store_meta_set_if_absent inserts only when the name is new and returns the stored value. */
enum store_rc store_meta_get(struct store *st, const char *name, char **out);
enum store_rc store_meta_set_if_absent(struct store *st, const char *name, const char *value, char **stored);

#endif
