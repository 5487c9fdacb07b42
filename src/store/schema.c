/*
 * schema.c: the SQLite schema, as migrations applied in order by store_open() (src/store/sqlite.c).
 *
 * Tables are STRICT (SQLite >= 3.37) so that a value bound with the wrong type is an error, not a silent
 * conversion.  Times are seconds since the epoch.  Secrets never appear here: columns named *_hash hold
 * token_hash() of the secret (SECURITY.md 8).  Columns that reference another table are indexed, so that the
 * cascades of store_client_delete() and store_identity_delete() do not scan.
 */
#include "schema.h"

const char *const schema_migrations[] = {
	/* 1: the initial schema. */
	/* Identities are never deleted: a deleted one stays as a tombstone whose sub (UNIQUE over every row) can
     * never be issued again, while its identifier is unique only among the rows that are not deleted. */
	"CREATE TABLE identities ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  identifier TEXT NOT NULL,"
	"  sub TEXT NOT NULL UNIQUE,"
	"  state TEXT NOT NULL CHECK (state IN ('inactive', 'active', 'disabled', 'deleted')),"
	"  password_hash TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  password_changed_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE UNIQUE INDEX identities_identifier_live ON identities(identifier) WHERE state <> 'deleted';"

	/* One-time password-setup tokens; a used one stays (used_at set) until it expires so that a second use
     * is told apart (STORE_REPLAY) from an unknown token. */
	"CREATE TABLE setup_tokens ("
	"  token_hash TEXT PRIMARY KEY,"
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER"
	") STRICT;"
	"CREATE INDEX setup_tokens_identity ON setup_tokens(identity_id);"

	/* Registered clients.  last_used_at is 0 until the first use. */
	"CREATE TABLE clients ("
	"  client_id TEXT PRIMARY KEY,"
	"  secret_hash TEXT,"
	"  reg_token_hash TEXT,"
	"  metadata TEXT NOT NULL,"
	"  source TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  last_used_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX clients_source ON clients(source, created_at);"

	"CREATE TABLE sessions ("
	"  id_hash TEXT PRIMARY KEY,"
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  auth_time INTEGER NOT NULL,"
	"  amr TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX sessions_identity ON sessions(identity_id);"

	/* Authorization codes (RFC 6749 §4.1.2).  A redeemed code keeps its row, used_at set, until it expires,
     * so that a replay is recognised and revokes the grant whose code_hash it is. */
	"CREATE TABLE codes ("
	"  code_hash TEXT PRIMARY KEY,"
	"  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,"
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  redirect_uri TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  nonce TEXT,"
	"  code_challenge TEXT,"
	"  claims TEXT,"
	"  amr TEXT NOT NULL,"
	"  auth_time INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER"
	") STRICT;"
	"CREATE INDEX codes_client ON codes(client_id);"
	"CREATE INDEX codes_identity ON codes(identity_id);"

	/* A grant: what one code redemption created.  Its refresh tokens (the current one has retired_at NULL,
     * rotated ones are kept until they expire to detect reuse, RFC 9700 §4.14.2) and access-token records
     * go with it. */
	"CREATE TABLE grants ("
	"  grant_id TEXT PRIMARY KEY,"
	"  code_hash TEXT NOT NULL,"
	"  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,"
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  scope TEXT NOT NULL,"
	"  claims TEXT,"
	"  amr TEXT NOT NULL,"
	"  auth_time INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))"
	") STRICT;"
	"CREATE INDEX grants_code ON grants(code_hash);"
	"CREATE INDEX grants_client ON grants(client_id);"
	"CREATE INDEX grants_identity ON grants(identity_id);"

	"CREATE TABLE refresh_tokens ("
	"  refresh_hash TEXT PRIMARY KEY,"
	"  grant_id TEXT NOT NULL REFERENCES grants(grant_id) ON DELETE CASCADE,"
	"  expires_at INTEGER NOT NULL,"
	"  retired_at INTEGER"
	") STRICT;"
	"CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);"

	"CREATE TABLE access_tokens ("
	"  jti TEXT PRIMARY KEY,"
	"  grant_id TEXT NOT NULL REFERENCES grants(grant_id) ON DELETE CASCADE,"
	"  expires_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX access_tokens_grant ON access_tokens(grant_id);"

	/* Signing keys (struct stored_key); 0 in retire_at / expire_at means "not set". */
	"CREATE TABLE signing_keys ("
	"  kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL,"
	"  jwk TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  activate_at INTEGER NOT NULL,"
	"  retire_at INTEGER NOT NULL DEFAULT 0,"
	"  expire_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX signing_keys_alg ON signing_keys(alg, retire_at);"

	"CREATE TABLE meta ("
	"  name TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT;",

	/* 2: identity agents (drafts/agent-provisioning.md).  Agents are never deleted (disabled instead), so the
     * identities they hold, deleted ones included, always name one.  identities.agent_id is NULL for the
     * identities the operator created; its index (agent_id, identifier) also finds an agent's deleted
     * identifier for store_identity_by_identifier_any(), which the partial identities_identifier_live cannot. */
	"CREATE TABLE agents ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  issuer TEXT NOT NULL,"
	"  jwk TEXT NOT NULL,"
	"  thumbprint TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('active', 'disabled')),"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"ALTER TABLE identities ADD COLUMN agent_id INTEGER REFERENCES agents(id);"
	"CREATE INDEX identities_agent ON identities(agent_id, identifier);"

	/* Replay-Nonces of the agent API (by hash): a use deletes the row, so each is used once. */
	"CREATE TABLE agent_nonces ("
	"  nonce_hash TEXT PRIMARY KEY,"
	"  expires_at INTEGER NOT NULL"
	") STRICT;"

	/* Authorizations (dns-01 challenges); finalized_at is NULL while pending.  The index serves both the
     * foreign key and the per-agent rate limit (store_authz_count_since). */
	"CREATE TABLE agent_authz ("
	"  id TEXT PRIMARY KEY,"
	"  agent_id INTEGER NOT NULL REFERENCES agents(id),"
	"  identifier TEXT NOT NULL,"
	"  action TEXT NOT NULL CHECK (action IN ('create', 'delete', 'transfer')),"
	"  token TEXT NOT NULL,"
	"  thumbprint TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  finalized_at INTEGER"
	") STRICT;"
	"CREATE INDEX agent_authz_agent ON agent_authz(agent_id, created_at);"

	/* One-time deletion-confirmation tokens, kept like setup_tokens: a used one stays (used_at set) until it
     * expires so that a second use is STORE_REPLAY. */
	"CREATE TABLE deletion_tokens ("
	"  token_hash TEXT PRIMARY KEY,"
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER"
	") STRICT;"
	"CREATE INDEX deletion_tokens_identity ON deletion_tokens(identity_id);",

	/* 3: per-claim consent and the agent's claims (drafts/claims.md §3, §5).  A consent is the user's decision
     * for one identity, client and claim (granted 1, refused 0); it goes with the client by cascade and with the
     * identity by identity_wipe() (identities are never deleted, only marked).  The primary key serves the
     * identity foreign key, consents_client the client one.  agent_claims is the reference agent's own store
     * (its database, opened with the same schema): one JSON text value per identifier and claim name. */
	"CREATE TABLE consents ("
	"  identity_id INTEGER NOT NULL REFERENCES identities(id),"
	"  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,"
	"  claim TEXT NOT NULL,"
	"  granted INTEGER NOT NULL CHECK (granted IN (0, 1)),"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (identity_id, client_id, claim)"
	") STRICT;"
	"CREATE INDEX consents_client ON consents(client_id);"

	"CREATE TABLE agent_claims ("
	"  identifier TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (identifier, name)"
	") STRICT;",

	/* 4: the agent API's Replay-Nonces moved to memory (src/agent/nonce.c): one committed row per answer made every
     * request, unauthenticated ones included, cost a disk write.  Outstanding nonces die with the table, as they
     * do with every restart now. */
	"DROP TABLE agent_nonces;",
};

const size_t schema_nmigrations = sizeof(schema_migrations) / sizeof(schema_migrations[0]);
