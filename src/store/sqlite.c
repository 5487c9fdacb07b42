/*
 * sqlite.c: the SQLite engine behind include/store.h; the only code that includes <sqlite3.h>.
 *
 * Connections: struct store is shared by every thread; each thread gets its own sqlite3 connection on first use
 * (a pthread key whose destructor closes it when the thread exits), opened in multi-thread mode because only that
 * thread ever touches it.  Each connection caches its prepared statements in an array indexed by enum stmt_id:
 * prepared on first use, reset and unbound after every use.  There is no lock around queries: SQLite's own file
 * locking serialises writers, and in WAL mode readers never wait for them.  The mutex in struct store only guards
 * the list of connections, so that store_close() can close them all.
 *
 * Transactions (SECURITY.md 17): every function that changes state runs BEGIN IMMEDIATE ... COMMIT, rolling back
 * on any error, and has committed before it returns.  BEGIN IMMEDIATE takes the write lock before the first read,
 * so the rows a function checks cannot change before it writes: that is what makes store_code_redeem(),
 * store_refresh_rotate() and store_setup_use() single-use under concurrency (RFC 6749 §4.1.2, RFC 9700 §4.14.2),
 * likewise store_deletion_confirm() and the finalizes of drafts/agent-provisioning.md §5
 * (store_provision_*(): of two racing for one identifier exactly one succeeds; they commit only on success).
 * A busy database is waited for by the busy handler (STORE_BUSY_TIMEOUT_MS), then BEGIN and COMMIT are retried
 * STORE_BUSY_RETRIES times.  Functions that only read run one SELECT, which sees one consistent snapshot.
 *
 * Durability, group commit: with store_set_sync(st, true) (the default) a state-changing function returns only
 * once its commit is on disk, like PRAGMA synchronous = FULL, but the fsyncs are shared.  Connections run with
 * synchronous = NORMAL (a commit write()s its WAL frames without syncing them); after COMMIT the caller waits in
 * wal_sync() until one fdatasync() of the WAL file that started after its commit has finished.  One waiter syncs
 * for all who wait, so N commits in flight cost one fsync instead of N: on this project's test disk (fdatasync
 * 1.6-3 ms) that is what separates the token endpoint from the signing ceiling (bench/).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "schema.h"
#include "store.h"
#include "util.h"

#define STORE_BUSY_TIMEOUT_MS 5000 /* how long one statement waits for another connection's write lock */
#define STORE_BUSY_RETRIES 3       /* then BEGIN / COMMIT are retried this many more times */
#define STORE_BUSY_BACKOFF_MS 20   /* times the attempt number, between those retries */
#define STORE_TOUCH_INTERVAL 3600  /* store_client_touch() writes at most once per client per hour */
#define STORE_MIN_SQLITE 3037000   /* STRICT tables */
/* store_purge_expired() keeps an agent authorization this long after it expired: an agent that polls it meanwhile
 * reads "expired" instead of notFound (drafts/agent-provisioning.md §4). */
#define STORE_AUTHZ_KEEP 86400
/* store_session_list() shows a session as the first STORE_SESSION_HANDLE characters of its id_hash: 96 bits of a
 * hash of the cookie, enough to tell an identity's sessions apart, nothing to log in with. */
#define STORE_SESSION_HANDLE 16
/* store_consent_set(): decisions per call: one consent page, whose claims are at most the 32 a request may name
 * (drafts/claims.md §1) or the 20 the standard scopes expand to. */
#define STORE_CONSENT_MAX 64
/* store_claims_set(): members per call, and bytes per value as compact JSON: an identity's claims are a small
 * profile that the agent's signed UserInfo carries whole (drafts/claims.md §5). */
#define STORE_CLAIMS_MAX 64
#define STORE_CLAIM_VALUE_MAX 4096
/* Input over these limits or of the wrong type is STORE_CONFLICT: the caller's to fix, not an internal STORE_ERROR. */

/* The prepared statements, one slot per connection each. */
enum stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SCHEMA_VERSION,
	STMT_SCHEMA_VERSION_ADD,
	STMT_IDENTITY_INSERT,
	STMT_IDENTITY_BY_IDENTIFIER,
	STMT_IDENTITY_BY_ID,
	STMT_IDENTITY_LIST,
	STMT_IDENTITY_STATE,
	STMT_IDENTITY_SET_STATE,
	STMT_IDENTITY_DELETE,
	STMT_IDENTITY_SET_PASSWORD,
	STMT_IDENTITY_REHASH,
	STMT_SESSIONS_DELETE_IDENTITY,
	STMT_CODES_DELETE_IDENTITY,
	STMT_GRANTS_DELETE_IDENTITY,
	STMT_SETUP_DELETE_IDENTITY,
	STMT_DELETION_DELETE_IDENTITY,
	STMT_CONSENTS_DELETE_IDENTITY,
	STMT_IDENTITY_BY_IDENTIFIER_ANY,
	STMT_IDENTITY_SET_AGENT,
	STMT_SETUP_INSERT,
	STMT_SETUP_PEEK,
	STMT_SETUP_GET,
	STMT_SETUP_USE,
	STMT_CLIENT_INSERT,
	STMT_CLIENT_GET,
	STMT_CLIENT_UPDATE,
	STMT_CLIENT_DELETE,
	STMT_CLIENT_LAST_USED,
	STMT_CLIENT_TOUCH,
	STMT_CLIENT_COUNT_SOURCE,
	STMT_SESSION_INSERT,
	STMT_SESSION_GET,
	STMT_SESSION_DELETE,
	STMT_SESSION_LIST,
	STMT_SESSION_END,
	STMT_CONSENT_GET,
	STMT_CONSENT_UPSERT,
	STMT_CONSENT_LIST,
	STMT_CONSENT_REFUSE,
	STMT_CONSENT_DELETE_CLIENT,
	STMT_CODE_INSERT,
	STMT_CODE_GET,
	STMT_CODE_CLAIM,
	STMT_GRANT_INSERT,
	STMT_GRANT_GET,
	STMT_GRANT_REVOKE,
	STMT_GRANT_REVOKE_CODE,
	STMT_GRANT_REVOKE_CLIENT,
	STMT_REFRESH_INSERT,
	STMT_REFRESH_GET,
	STMT_REFRESH_RETIRE,
	STMT_ACCESS_INSERT,
	STMT_ACCESS_CHECK,
	STMT_REVOKE_REFRESH,
	STMT_REVOKE_ACCESS,
	STMT_KEY_LIST,
	STMT_KEY_RETIRE_OTHERS,
	STMT_KEY_INSERT,
	STMT_META_GET,
	STMT_META_INSERT,
	STMT_AGENT_INSERT,
	STMT_AGENT_GET,
	STMT_AGENT_BY_ID,
	STMT_AGENT_LIST,
	STMT_AGENT_SET_STATE,
	STMT_AGENT_SET_KEY,
	STMT_AUTHZ_INSERT,
	STMT_AUTHZ_GET,
	STMT_AUTHZ_COUNT,
	STMT_AUTHZ_OLDEST,
	STMT_AUTHZ_FINALIZE,
	STMT_DELETION_INSERT,
	STMT_DELETION_PEEK,
	STMT_DELETION_GET,
	STMT_DELETION_USE,
	STMT_CLAIMS_GET,
	STMT_CLAIMS_UPSERT,
	STMT_CLAIMS_DELETE,
	STMT_PURGE_CODES,
	STMT_PURGE_SESSIONS,
	STMT_PURGE_SETUP,
	STMT_PURGE_REFRESH,
	STMT_PURGE_ACCESS,
	STMT_PURGE_GRANTS,
	STMT_PURGE_CLIENTS,
	STMT_PURGE_KEYS,
	STMT_PURGE_DELETION,
	STMT_PURGE_AUTHZ,
	STMT_COUNT
};

#define IDENTITY_COLS "id, identifier, sub, state, password_hash, created_at, updated_at, password_changed_at, agent_id"
#define CLIENT_COLS "client_id, secret_hash, reg_token_hash, metadata, source, created_at, updated_at, last_used_at"
#define GRANT_COLS "g.grant_id, g.client_id, g.identity_id, g.scope, g.claims, g.amr, g.auth_time, g.revoked"
#define KEY_COLS "kid, alg, jwk, created_at, activate_at, retire_at, expire_at"
#define AGENT_COLS "id, name, issuer, jwk, thumbprint, state, created_at, updated_at"
#define AUTHZ_COLS "id, agent_id, identifier, action, token, thumbprint, created_at, expires_at, finalized_at"
/* Every revocation of grants is one of these statements, run by grants_revoke(). */
#define GRANT_REVOKE_SQL "UPDATE grants SET revoked = 1 WHERE "

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
	[STMT_SCHEMA_VERSION_ADD] = "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)",

	[STMT_IDENTITY_INSERT] = "INSERT INTO identities(identifier, sub, state, created_at, updated_at, agent_id) "
	                         "VALUES (?, ?, 'inactive', ?, ?, ?)",
	[STMT_IDENTITY_BY_IDENTIFIER] = "SELECT " IDENTITY_COLS " FROM identities "
	                                "WHERE identifier = ? AND state <> 'deleted'",
	[STMT_IDENTITY_BY_ID] = "SELECT " IDENTITY_COLS " FROM identities WHERE id = ?",
	[STMT_IDENTITY_LIST] = "SELECT i.identifier, i.sub, i.state, i.created_at, i.updated_at, a.name "
	                       "FROM identities i LEFT JOIN agents a ON a.id = i.agent_id ORDER BY i.id",
	[STMT_IDENTITY_STATE] = "SELECT state, agent_id FROM identities WHERE id = ?",
	[STMT_IDENTITY_SET_STATE] = "UPDATE identities SET state = ?, updated_at = ? WHERE id = ?",
	[STMT_IDENTITY_DELETE] = "UPDATE identities SET state = 'deleted', password_hash = NULL, updated_at = ? "
	                         "WHERE id = ? AND state <> 'deleted'",
	[STMT_IDENTITY_SET_PASSWORD] = "UPDATE identities SET password_hash = ?, state = 'active', updated_at = ?, "
	                               "password_changed_at = ? WHERE id = ?",
	[STMT_IDENTITY_REHASH] = "UPDATE identities SET password_hash = ?, updated_at = ? "
	                         "WHERE id = ? AND state = 'active' AND password_hash = ?",
	[STMT_SESSIONS_DELETE_IDENTITY] = "DELETE FROM sessions WHERE identity_id = ?",
	[STMT_CODES_DELETE_IDENTITY] = "DELETE FROM codes WHERE identity_id = ?",
	[STMT_GRANTS_DELETE_IDENTITY] = "DELETE FROM grants WHERE identity_id = ?",
	[STMT_SETUP_DELETE_IDENTITY] = "DELETE FROM setup_tokens WHERE identity_id = ?",
	/* Used deletion tokens stay until they expire: store_deletion_confirm() tells a replay from an unknown one. */
	[STMT_DELETION_DELETE_IDENTITY] = "DELETE FROM deletion_tokens WHERE identity_id = ? AND used_at IS NULL",
	[STMT_CONSENTS_DELETE_IDENTITY] = "DELETE FROM consents WHERE identity_id = ?",
	/* The live identity, else the agent's most recently deleted one: one SELECT, one snapshot, each half on an
	 * index (identities_identifier_live, identities_agent). */
	[STMT_IDENTITY_BY_IDENTIFIER_ANY] =
	    "SELECT " IDENTITY_COLS " FROM ("
	    "SELECT " IDENTITY_COLS ", 0 AS k FROM identities WHERE identifier = ?1 AND state <> 'deleted' "
	    "UNION ALL SELECT " IDENTITY_COLS ", 1 AS k FROM identities "
	    "WHERE agent_id = ?2 AND identifier = ?1 AND state = 'deleted') ORDER BY k, id DESC LIMIT 1",
	[STMT_IDENTITY_SET_AGENT] = "UPDATE identities SET agent_id = ?, updated_at = ? WHERE id = ?",

	[STMT_SETUP_INSERT] = "INSERT INTO setup_tokens(token_hash, identity_id, expires_at) VALUES (?, ?, ?)",
	[STMT_SETUP_PEEK] = "SELECT identity_id FROM setup_tokens "
	                    "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
	[STMT_SETUP_GET] = "SELECT identity_id, expires_at, used_at FROM setup_tokens WHERE token_hash = ?",
	[STMT_SETUP_USE] = "UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",

	[STMT_CLIENT_INSERT] = "INSERT INTO clients(" CLIENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?",
	[STMT_CLIENT_UPDATE] = "UPDATE clients SET metadata = ?, secret_hash = ?, reg_token_hash = ?, updated_at = ? "
	                       "WHERE client_id = ?",
	[STMT_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = ?",
	[STMT_CLIENT_LAST_USED] = "SELECT last_used_at FROM clients WHERE client_id = ?",
	[STMT_CLIENT_TOUCH] = "UPDATE clients SET last_used_at = ?1 WHERE client_id = ?2 AND last_used_at <= ?1 - ?3",
	[STMT_CLIENT_COUNT_SOURCE] = "SELECT COUNT(*), COALESCE(SUM(created_at >= ?), 0) FROM clients "
	                             "WHERE source = ?",

	[STMT_SESSION_INSERT] = "INSERT INTO sessions(id_hash, identity_id, auth_time, amr, created_at, expires_at) "
	                        "VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_SESSION_GET] = "SELECT s.id_hash, s.identity_id, s.auth_time, s.amr, s.created_at, s.expires_at "
	                     "FROM sessions s JOIN identities i ON i.id = s.identity_id "
	                     "WHERE s.id_hash = ? AND s.expires_at > ? AND i.state = 'active'",
	[STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE id_hash = ?",
	[STMT_SESSION_LIST] = "SELECT substr(id_hash, 1, ?1), auth_time, created_at, expires_at FROM sessions "
	                      "WHERE identity_id = ?2 AND expires_at > ?3 ORDER BY created_at DESC, rowid DESC",
	/* The handle compared as a string, on the identity's sessions only (the sessions_identity index). */
	[STMT_SESSION_END] = "DELETE FROM sessions WHERE identity_id = ?1 AND substr(id_hash, 1, ?2) = ?3",

	[STMT_CONSENT_GET] = "SELECT claim, granted FROM consents WHERE identity_id = ? AND client_id = ? "
	                     "ORDER BY claim",
	[STMT_CONSENT_UPSERT] = "INSERT INTO consents(identity_id, client_id, claim, granted, updated_at) "
	                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity_id, client_id, claim) "
	                        "DO UPDATE SET granted = excluded.granted, updated_at = excluded.updated_at",
	/* One row per decision, grouped by client, the client most recently decided for first: one SELECT, one
	 * snapshot. */
	[STMT_CONSENT_LIST] =
	    "SELECT m.client_id, cl.metadata, m.updated_at, k.claim, k.granted FROM ("
	    "SELECT client_id, MAX(updated_at) AS updated_at FROM consents WHERE identity_id = ?1 "
	    "GROUP BY client_id) m "
	    "JOIN consents k ON k.identity_id = ?1 AND k.client_id = m.client_id "
	    "JOIN clients cl ON cl.client_id = m.client_id ORDER BY m.updated_at DESC, m.client_id, k.claim",
	[STMT_CONSENT_REFUSE] = "UPDATE consents SET granted = 0, updated_at = ?1 "
	                        "WHERE identity_id = ?2 AND client_id = ?3 AND claim = ?4 AND granted = 1",
	[STMT_CONSENT_DELETE_CLIENT] = "DELETE FROM consents WHERE identity_id = ? AND client_id = ?",

	[STMT_CODE_INSERT] =
	    "INSERT INTO codes(code_hash, client_id, identity_id, redirect_uri, scope, nonce, "
	    "code_challenge, claims, amr, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_CODE_GET] = "SELECT c.code_hash, c.client_id, c.identity_id, c.redirect_uri, c.scope, c.nonce, "
	                  "c.code_challenge, c.claims, c.amr, c.auth_time, c.expires_at, c.used_at, i.state "
	                  "FROM codes c JOIN identities i ON i.id = c.identity_id WHERE c.code_hash = ?",
	[STMT_CODE_CLAIM] = "UPDATE codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",

	[STMT_GRANT_INSERT] = "INSERT INTO grants(grant_id, code_hash, client_id, identity_id, scope, claims, amr, "
	                      "auth_time, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_GRANT_GET] = "SELECT " GRANT_COLS " FROM grants g WHERE g.grant_id = ?",
	[STMT_GRANT_REVOKE] = GRANT_REVOKE_SQL "grant_id = ?",
	[STMT_GRANT_REVOKE_CODE] = GRANT_REVOKE_SQL "code_hash = ?",
	[STMT_GRANT_REVOKE_CLIENT] = GRANT_REVOKE_SQL "identity_id = ? AND client_id = ? AND revoked = 0",
	[STMT_REFRESH_INSERT] = "INSERT INTO refresh_tokens(refresh_hash, grant_id, expires_at) VALUES (?, ?, ?)",
	[STMT_REFRESH_GET] = "SELECT r.grant_id, r.expires_at, r.retired_at, g.client_id, g.revoked, i.state "
	                     "FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id "
	                     "JOIN identities i ON i.id = g.identity_id WHERE r.refresh_hash = ?",
	[STMT_REFRESH_RETIRE] =
	    "UPDATE refresh_tokens SET retired_at = ? WHERE refresh_hash = ? AND retired_at IS NULL",
	[STMT_ACCESS_INSERT] = "INSERT INTO access_tokens(jti, grant_id, expires_at) VALUES (?, ?, ?)",
	[STMT_ACCESS_CHECK] = "SELECT " GRANT_COLS " FROM access_tokens a JOIN grants g ON g.grant_id = a.grant_id "
	                      "JOIN identities i ON i.id = g.identity_id "
	                      "WHERE a.jti = ? AND a.expires_at > ? AND g.revoked = 0 AND i.state = 'active'",
	[STMT_REVOKE_REFRESH] = GRANT_REVOKE_SQL "grant_id = (SELECT grant_id FROM refresh_tokens "
	                                         "WHERE refresh_hash = ?) AND client_id = ?",
	[STMT_REVOKE_ACCESS] = "DELETE FROM access_tokens "
	                       "WHERE jti = ? AND grant_id IN (SELECT grant_id FROM grants WHERE client_id = ?)",

	[STMT_KEY_LIST] = "SELECT " KEY_COLS " FROM signing_keys WHERE expire_at = 0 OR expire_at > ? "
	                  "ORDER BY created_at, rowid",
	[STMT_KEY_RETIRE_OTHERS] =
	    "UPDATE signing_keys SET "
	    "retire_at = CASE WHEN ?1 <> 0 THEN ?1 ELSE retire_at END, "
	    "expire_at = CASE WHEN ?2 <> 0 THEN ?2 ELSE expire_at END WHERE alg = ?3 AND retire_at = 0",
	[STMT_KEY_INSERT] = "INSERT INTO signing_keys(" KEY_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)",

	[STMT_META_GET] = "SELECT value FROM meta WHERE name = ?",
	[STMT_META_INSERT] = "INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)",

	[STMT_AGENT_INSERT] = "INSERT INTO agents(name, issuer, jwk, thumbprint, state, created_at, updated_at) "
	                      "VALUES (?, ?, ?, ?, 'active', ?, ?)",
	[STMT_AGENT_GET] = "SELECT " AGENT_COLS " FROM agents WHERE name = ?",
	[STMT_AGENT_BY_ID] = "SELECT " AGENT_COLS " FROM agents WHERE id = ?",
	[STMT_AGENT_LIST] = "SELECT a.name, a.issuer, a.thumbprint, a.state, a.created_at, a.updated_at, "
	                    "(SELECT COUNT(*) FROM identities i WHERE i.agent_id = a.id AND i.state <> 'deleted') "
	                    "FROM agents a ORDER BY a.id",
	[STMT_AGENT_SET_STATE] = "UPDATE agents SET state = ?, updated_at = ? WHERE name = ?",
	[STMT_AGENT_SET_KEY] = "UPDATE agents SET jwk = ?, thumbprint = ?, updated_at = ? WHERE name = ?",
	[STMT_AUTHZ_INSERT] = "INSERT INTO agent_authz(id, agent_id, identifier, action, token, thumbprint, "
	                      "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_AUTHZ_GET] = "SELECT " AUTHZ_COLS " FROM agent_authz WHERE id = ?",
	[STMT_AUTHZ_COUNT] = "SELECT COUNT(*) FROM agent_authz WHERE agent_id = ? AND created_at >= ?",
	[STMT_AUTHZ_OLDEST] = "SELECT MIN(created_at) FROM agent_authz WHERE agent_id = ? AND created_at >= ?",
	[STMT_AUTHZ_FINALIZE] = "UPDATE agent_authz SET finalized_at = ? WHERE id = ? AND finalized_at IS NULL",
	[STMT_DELETION_INSERT] = "INSERT INTO deletion_tokens(token_hash, identity_id, expires_at) VALUES (?, ?, ?)",
	[STMT_DELETION_PEEK] = "SELECT identity_id FROM deletion_tokens "
	                       "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
	[STMT_DELETION_GET] = "SELECT identity_id, expires_at, used_at FROM deletion_tokens WHERE token_hash = ?",
	[STMT_DELETION_USE] = "UPDATE deletion_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",

	[STMT_CLAIMS_GET] = "SELECT name, value FROM agent_claims WHERE identifier = ? ORDER BY name",
	[STMT_CLAIMS_UPSERT] = "INSERT INTO agent_claims(identifier, name, value, updated_at) VALUES (?, ?, ?, ?) "
	                       "ON CONFLICT (identifier, name) DO UPDATE SET value = excluded.value, "
	                       "updated_at = excluded.updated_at",
	[STMT_CLAIMS_DELETE] = "DELETE FROM agent_claims WHERE identifier = ? AND name = ?",

	[STMT_PURGE_CODES] = "DELETE FROM codes WHERE expires_at <= ?",
	[STMT_PURGE_SESSIONS] = "DELETE FROM sessions WHERE expires_at <= ?",
	[STMT_PURGE_SETUP] = "DELETE FROM setup_tokens WHERE expires_at <= ?",
	[STMT_PURGE_REFRESH] = "DELETE FROM refresh_tokens WHERE expires_at <= ?",
	[STMT_PURGE_ACCESS] = "DELETE FROM access_tokens WHERE expires_at <= ?",
	[STMT_PURGE_GRANTS] = "DELETE FROM grants WHERE revoked = 1 OR ("
	                      "NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.grant_id) AND "
	                      "NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.grant_id))",
	[STMT_PURGE_CLIENTS] = "DELETE FROM clients "
	                       "WHERE (CASE WHEN last_used_at > 0 THEN last_used_at ELSE created_at END) < ?",
	[STMT_PURGE_KEYS] = "DELETE FROM signing_keys WHERE expire_at <> 0 AND expire_at <= ?",
	[STMT_PURGE_DELETION] = "DELETE FROM deletion_tokens WHERE expires_at <= ?",
	[STMT_PURGE_AUTHZ] = "DELETE FROM agent_authz WHERE expires_at < ?",
};

/* One thread's connection. */
struct conn {
	sqlite3 *db;                    /* opened by conn_open(), used by one thread only */
	int64_t changes_at_begin;       /* sqlite3_total_changes64() when the transaction began */
	sqlite3_stmt *stmt[STMT_COUNT]; /* prepared on first use; NULL until then */
	struct store *st;               /* the store whose list holds this connection */
	struct conn *next;              /* in st->conns */
};

struct store {
	char *path;           /* the database file */
	pthread_key_t key;    /* this thread's struct conn */
	pthread_mutex_t lock; /* guards conns (and nothing else) */
	struct conn *conns;   /* every open connection, for store_close() */
	/* Writers of this process queue here instead of polling SQLite's lock: the busy handler sleeps 1, 2, 5 ...
	 * 100 ms between tries, which measured as 1-3 s token-endpoint p99 under load (bench/); the mutex hands
	 * the write lock over the moment it is free.  Other processes (the CLI) still meet SQLite's own lock. */
	pthread_mutex_t wlock;
	bool sync_full; /* commits durable before returning (group commit) or not; see store_set_sync() */
	/* Group commit (wal_sync): commits counted, the count the last finished fdatasync covers, and whether a
	 * thread is syncing now; guarded by sync_mu. */
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	uint64_t sync_wanted, sync_done;
	bool syncing;
	int wal_fd; /* the -wal file, opened on first sync (-1 until then) */
};

/* A statement parameter: text (NULL binds SQL NULL) or a 64-bit integer.  QT(), QI() and QARGS() build arrays of
 * them in place, so that every parameter is converted to its column type by the compiler. */
struct qarg {
	const char *t;
	int64_t i;
	bool is_int;
};
#define QT(x) ((struct qarg){ .t = (x), .i = 0, .is_int = false })
#define QI(x) ((struct qarg){ .t = NULL, .i = (x), .is_int = true })
#define QARGS(...)                                                                                                     \
	(const struct qarg[]){ __VA_ARGS__ }, (sizeof((const struct qarg[]){ __VA_ARGS__ }) / sizeof(struct qarg))
#define QNONE NULL, 0

/* qref(id): a reference to a row id that may be absent: 0 binds SQL NULL (identities.agent_id of the operator's). */
static struct qarg
qref(int64_t id)
{
	return (id != 0 ? QI(id) : QT(NULL));
}

/* What q_exec() returns besides a change count. */
#define Q_ERROR (-1)  /* logged */
#define Q_UNIQUE (-2) /* a UNIQUE or PRIMARY KEY constraint failed: not logged */
#define Q_FKEY (-3)   /* a FOREIGN KEY constraint failed: not logged */

static void
db_warnx(sqlite3 *db, const char *what)
{
	log_warnx("store: %s: %s (%d)", what, sqlite3_errmsg(db), sqlite3_extended_errcode(db));
}

static void
backoff(int attempt)
{
	struct timespec ts;

	ts.tv_sec = 0;
	ts.tv_nsec = (long)STORE_BUSY_BACKOFF_MS * 1000000L * (attempt + 1);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
is_busy(int rc)
{
	return ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED);
}

/* ----------------------------------------------------------------------------------------- statements */

/* q_bind(c, id, args, n): the cached statement ${id} of ${c} (prepared now if needed) with ${args} bound; NULL on
 * error (logged). */
static sqlite3_stmt *
q_bind(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((s = c->stmt[id]) == NULL) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL) !=
		    SQLITE_OK) {
			log_warnx("store: prepare \"%s\": %s", stmt_sql[id], sqlite3_errmsg(c->db));
			return (NULL);
		}
		s = c->stmt[id];
	}
	if ((size_t)sqlite3_bind_parameter_count(s) != n) {
		log_warnx("store: \"%s\": %zu parameters given, %d expected", stmt_sql[id], n,
		    sqlite3_bind_parameter_count(s));
		return (NULL);
	}
	for (i = 0; i < n; i++) {
		/* SQLITE_STATIC: the values outlive the statement's use, which ends with q_done(). */
		if (args[i].is_int)
			rc = sqlite3_bind_int64(s, (int)i + 1, args[i].i);
		else if (args[i].t == NULL)
			rc = sqlite3_bind_null(s, (int)i + 1);
		else
			rc = sqlite3_bind_text(s, (int)i + 1, args[i].t, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			db_warnx(c->db, "bind");
			sqlite3_clear_bindings(s);
			return (NULL);
		}
	}
	return (s);
}

/* q_done(s): reset ${s} and drop its bindings, ending its use; NULL is a no-op. */
static void
q_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* q_step(c, s): step ${s}: SQLITE_ROW or SQLITE_DONE; on error -1 (logged, ${s} done).  A statement outside an
 * explicit transaction that finds the database busy is retried (inside one the transaction must be rolled back
 * instead, which the caller does). */
static int
q_step(struct conn *c, sqlite3_stmt *s)
{
	int attempt, rc;

	for (attempt = 0;; attempt++) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			return (rc);
		if (is_busy(rc) && attempt < STORE_BUSY_RETRIES && sqlite3_get_autocommit(c->db)) {
			sqlite3_reset(s);
			backoff(attempt);
			continue;
		}
		log_warnx(
		    "store: \"%s\": %s (%d)", sqlite3_sql(s), sqlite3_errmsg(c->db), sqlite3_extended_errcode(c->db));
		q_done(s);
		return (-1);
	}
}

/* q_exec(c, id, args, n): run a statement that returns no rows: the number of rows it changed, or Q_UNIQUE /
 * Q_FKEY (not logged), or Q_ERROR (logged). */
static int64_t
q_exec(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = q_bind(c, id, args, n)) == NULL)
		return (Q_ERROR);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		q_done(s);
		return ((int64_t)sqlite3_changes64(c->db));
	}
	rc = sqlite3_extended_errcode(c->db);
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		q_done(s);
		return (Q_UNIQUE);
	}
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		q_done(s);
		return (Q_FKEY);
	}
	log_warnx("store: \"%s\": %s (%d)", stmt_sql[id], sqlite3_errmsg(c->db), rc);
	q_done(s);
	return (Q_ERROR);
}

/* q_int(c, id, args, n, out): run a SELECT of one integer column: 1 with *out set, 0 when there is no row, -1 on
 * error (logged). */
static int
q_int(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = q_bind(c, id, args, n)) == NULL)
		return (-1);
	if ((rc = q_step(c, s)) == -1)
		return (-1);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	q_done(s);
	return (rc == SQLITE_ROW ? 1 : 0);
}

/* col_str(s, i, oom): a copy of text column ${i}, NULL for SQL NULL; sets *oom when out of memory. */
static char *
col_str(sqlite3_stmt *s, int i, bool *oom)
{
	const unsigned char *t;
	char *r;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return (NULL);
	if ((t = sqlite3_column_text(s, i)) == NULL || (r = xstrdup((const char *)t)) == NULL) {
		*oom = true;
		return (NULL);
	}
	return (r);
}

/* col_is(s, i, v): text column ${i} equals ${v} (false when either is NULL). */
static bool
col_is(sqlite3_stmt *s, int i, const char *v)
{
	const unsigned char *t;

	return (v != NULL && (t = sqlite3_column_text(s, i)) != NULL && strcmp((const char *)t, v) == 0);
}

/* ---------------------------------------------------------------------------------------- connections */

static void
conn_free(struct conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		db_warnx(c->db, "close");
	free(c);
}

/* conn_destroy(p): the pthread key destructor: unlink this exiting thread's connection and close it. */
static void
conn_destroy(void *p)
{
	struct conn *c = p, **pp;

	pthread_mutex_lock(&c->st->lock);
	for (pp = &c->st->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&c->st->lock);
	conn_free(c);
}

/* conn_exec(c, sql): run pragmas and other fixed SQL; -1 on error (logged). */
static int
conn_exec(struct conn *c, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("store: %s: %s", sql, err != NULL ? err : sqlite3_errmsg(c->db));
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

/* conn_open(st): a new connection to ${st}'s database, set up and linked into st->conns; NULL on error (logged). */
static struct conn *
conn_open(struct store *st)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("store: calloc");
		return (NULL);
	}
	c->st = st;
	/* NOMUTEX: the connection is used by one thread only, so SQLite's per-connection mutex is not needed. */
	if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (c->db != NULL)
			db_warnx(c->db, st->path);
		else
			log_warnx("store: %s: cannot open", st->path);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	if (sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		db_warnx(c->db, "busy_timeout");
		goto fail;
	}
	/*
	 * synchronous=NORMAL: a commit write()s its WAL frames and returns; durability comes from wal_sync() (group
	 * commit, see the top of this file), because a lost commit here is a security event, not just lost work: a
	 * redeemed code or a rotated refresh token would be valid again, a password change undone (SECURITY.md 17).
	 * trusted_schema=OFF: the schema is ours; SQL functions in it cannot come from a tampered file.
	 * secure_delete=FAST: deleted rows (wiped password hashes, tokens) are zeroed when that costs no extra I/O.
	 */
	if (conn_exec(c,
	        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA trusted_schema = OFF; "
	        "PRAGMA secure_delete = FAST") == -1)
		goto fail;
	pthread_mutex_lock(&st->lock);
	c->next = st->conns;
	st->conns = c;
	pthread_mutex_unlock(&st->lock);
	return (c);
fail:
	conn_free(c);
	return (NULL);
}

/* conn_get(st): this thread's connection to ${st}, opened on first use; NULL on error (logged). */
static struct conn *
conn_get(struct store *st)
{
	struct conn *c;

	if (st == NULL) {
		log_warnx("store: no store");
		return (NULL);
	}
	if ((c = pthread_getspecific(st->key)) != NULL)
		return (c);
	if ((c = conn_open(st)) == NULL)
		return (NULL);
	if (pthread_setspecific(st->key, c) != 0) {
		log_warnx("store: pthread_setspecific failed");
		conn_destroy(c);
		return (NULL);
	}
	return (c);
}

/* ------------------------------------------------------------------------------------------ transactions */

/* wal_open(st): (re)open the WAL file when it is not open or is no longer the file at its path. */
static int
wal_open(struct store *st)
{
	struct stat a, b;
	char path[4096];

	snprintf(path, sizeof(path), "%s-wal", st->path);
	if (st->wal_fd != -1 && fstat(st->wal_fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		return (0);
	if (st->wal_fd != -1)
		close(st->wal_fd);
	if ((st->wal_fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("store: %s", path);
		return (-1);
	}
	return (0);
}

/* wal_sync(st): group commit: return once an fdatasync() of the WAL that began after the caller's commit has
 * finished; the first waiter syncs for everyone.  0, or -1 when the sync failed (logged). */
static int
wal_sync(struct store *st)
{
	uint64_t mine, target;
	int ret = 0, rc;

	if (!st->sync_full)
		return (0);
	pthread_mutex_lock(&st->sync_mu);
	mine = ++st->sync_wanted;
	while (st->sync_done < mine) {
		if (st->syncing) {
			pthread_cond_wait(&st->sync_cv, &st->sync_mu);
			continue;
		}
		st->syncing = true;
		target = st->sync_wanted;
		pthread_mutex_unlock(&st->sync_mu);
		rc = wal_open(st) == 0 && fdatasync(st->wal_fd) == 0 ? 0 : -1;
		if (rc == -1)
			log_warn("store: %s-wal: fdatasync", st->path);
		pthread_mutex_lock(&st->sync_mu);
		st->syncing = false;
		if (rc == 0 && target > st->sync_done)
			st->sync_done = target;
		pthread_cond_broadcast(&st->sync_cv);
		if (rc == -1) {
			ret = -1;
			break;
		}
	}
	pthread_mutex_unlock(&st->sync_mu);
	return (ret);
}

/* tx_begin(st): this thread's connection, inside BEGIN IMMEDIATE (the write lock held); NULL on error (logged). */
static struct conn *
tx_begin(struct store *st)
{
	struct conn *c;
	sqlite3_stmt *s;
	int attempt, rc;

	if ((c = conn_get(st)) == NULL)
		return (NULL);
	pthread_mutex_lock(&st->wlock);
	if ((s = q_bind(c, STMT_BEGIN, QNONE)) == NULL) {
		pthread_mutex_unlock(&st->wlock);
		return (NULL);
	}
	for (attempt = 0;; attempt++) {
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc == SQLITE_DONE) {
			c->changes_at_begin = sqlite3_total_changes64(c->db);
			return (c);
		}
		if (!is_busy(rc) || attempt >= STORE_BUSY_RETRIES)
			break;
		backoff(attempt);
	}
	db_warnx(c->db, "BEGIN IMMEDIATE");
	pthread_mutex_unlock(&st->wlock);
	return (NULL);
}

static void
tx_rollback(struct conn *c)
{
	sqlite3_stmt *s;

	/* Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) have already rolled the transaction back. */
	if (!sqlite3_get_autocommit(c->db)) {
		if ((s = q_bind(c, STMT_ROLLBACK, QNONE)) == NULL || sqlite3_step(s) != SQLITE_DONE)
			db_warnx(c->db, "ROLLBACK");
		if (s != NULL)
			sqlite3_reset(s);
	}
	pthread_mutex_unlock(&c->st->wlock); /* taken by tx_begin */
}

/* tx_end(c, rc): end the transaction of tx_begin(): roll back when ${rc} is STORE_ERROR, commit otherwise (the
 * other results may have written: STORE_REPLAY revokes).  Returns ${rc}, or STORE_ERROR if the commit failed. */
static enum store_rc
tx_end(struct conn *c, enum store_rc rc)
{
	sqlite3_stmt *s;
	int attempt, r;

	if (rc == STORE_ERROR)
		goto fail;
	if ((s = q_bind(c, STMT_COMMIT, QNONE)) == NULL)
		goto fail;
	for (attempt = 0;; attempt++) {
		r = sqlite3_step(s);
		sqlite3_reset(s);
		if (r == SQLITE_DONE) {
			pthread_mutex_unlock(&c->st->wlock); /* taken by tx_begin */
			/* The commit is visible now; it is durable once wal_sync() returns (SECURITY.md 17).  A transaction
			 * that wrote nothing (an unknown code, say) needs no sync: floods of bad input cost no fsync. */
			if (sqlite3_total_changes64(c->db) == c->changes_at_begin)
				return (rc);
			return (wal_sync(c->st) == 0 ? rc : STORE_ERROR);
		}
		/* A COMMIT that finds the database busy may be retried (sqlite3_step(3)). */
		if (!is_busy(r) || attempt >= STORE_BUSY_RETRIES)
			break;
		backoff(attempt);
	}
	db_warnx(c->db, "COMMIT");
fail:
	tx_rollback(c);
	return (STORE_ERROR);
}

/* tx_end_ok(c, rc): end the transaction of tx_begin() all or nothing: commit only when ${rc} is STORE_OK, roll
 * back anything else, for functions whose other results follow writes that must not stay.  Returns ${rc}, or
 * STORE_ERROR if the commit failed. */
static enum store_rc
tx_end_ok(struct conn *c, enum store_rc rc)
{
	if (rc != STORE_OK && rc != STORE_ERROR) {
		tx_rollback(c);
		return (rc);
	}
	return (tx_end(c, rc));
}

/* q_rc(n): the store_rc of a q_exec() result that should have changed one row. */
static enum store_rc
q_rc(int64_t n)
{
	if (n == Q_UNIQUE)
		return (STORE_CONFLICT);
	if (n == Q_FKEY || n == 0)
		return (STORE_NOTFOUND);
	if (n < 0)
		return (STORE_ERROR);
	return (STORE_OK);
}

/* q_new(n, what): the store_rc of a q_exec() that inserts one row of fresh random values (or values checked under
 * the write lock just before): a clash is not the caller's business but an internal error, logged. */
static enum store_rc
q_new(int64_t n, const char *what)
{
	if (n == 1)
		return (STORE_OK);
	if (n != Q_ERROR)
		log_warnx("store: new %s clashes with a stored one", what);
	return (STORE_ERROR);
}

/* grants_revoke(c, id, args, n): inside the caller's transaction, revoke the grants that ${id}, one of the
 * GRANT_REVOKE_SQL statements, selects: their refresh and access tokens fail every check from now on
 * (store_refresh_rotate(), store_access_check()) and store_purge_expired() deletes the rows.  STORE_OK when it
 * matched a grant, STORE_NOTFOUND when none.  Every revocation goes through here. */
static enum store_rc
grants_revoke(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n)
{
	return (q_rc(q_exec(c, id, args, n)));
}

/* ------------------------------------------------------------------------------------------------ open */

/* migrate(c): apply the migrations the database lacks, each with its schema_version row in one transaction;
 * -1 on error (logged). */
static int
migrate(struct conn *c)
{
	int64_t v;
	enum store_rc rc;
	char *err;

	if (conn_exec(c,
	        "CREATE TABLE IF NOT EXISTS schema_version ("
	        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT") == -1)
		return (-1);
	for (;;) {
		if (tx_begin(c->st) == NULL)
			return (-1);
		/* Read under the write lock: another process may have migrated since the last round. */
		if (q_int(c, STMT_SCHEMA_VERSION, QNONE, &v) != 1) {
			tx_end(c, STORE_ERROR);
			return (-1);
		}
		if (v > (int64_t)schema_nmigrations) {
			log_warnx("store: %s: schema version %lld is newer than this program's %zu", c->st->path,
			    (long long)v, schema_nmigrations);
			tx_end(c, STORE_ERROR);
			return (-1);
		}
		if (v == (int64_t)schema_nmigrations)
			return (tx_end(c, STORE_OK) == STORE_OK ? 0 : -1);
		rc = STORE_ERROR;
		err = NULL;
		if (sqlite3_exec(c->db, schema_migrations[v], NULL, NULL, &err) != SQLITE_OK)
			log_warnx("store: migration %lld: %s", (long long)v + 1, err != NULL ? err : "failed");
		else if (q_exec(c, STMT_SCHEMA_VERSION_ADD, QARGS(QI(v + 1), QI(time_now()))) == 1)
			rc = STORE_OK;
		sqlite3_free(err);
		if (tx_end(c, rc) != STORE_OK)
			return (-1);
		log_info("store: %s: schema migrated to version %lld", c->st->path, (long long)v + 1);
	}
}

/** store_open(path): open (creating if needed, mode 0600) the database at ${path}, enable WAL, run pending
 * schema migrations in one transaction each; NULL on failure (logged). */
struct store *
store_open(const char *path)
{
	struct store *st = NULL;
	struct conn *c;
	sqlite3_stmt *s = NULL;
	bool key = false, lock = false;
	int fd;

	if (path == NULL || *path == '\0' || strcmp(path, ":memory:") == 0 || str_has_prefix(path, "file:")) {
		/* Every thread opens the path again: an in-memory database would be a different one per thread. */
		log_warnx("store: a database file path is required");
		return (NULL);
	}
	if (sqlite3_libversion_number() < STORE_MIN_SQLITE || !sqlite3_threadsafe()) {
		log_warnx("store: SQLite %s is too old or not thread-safe", sqlite3_libversion());
		return (NULL);
	}
	/* The file holds password hashes and private keys: create it 0600; SQLite gives -wal and -shm its mode. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_warn("store: %s", path);
		return (NULL);
	}
	close(fd);
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = xstrdup(path)) == NULL) {
		log_warn("store: calloc");
		goto fail;
	}
	if (pthread_key_create(&st->key, conn_destroy) != 0) {
		log_warnx("store: pthread_key_create failed");
		goto fail;
	}
	key = true;
	st->wal_fd = -1;
	if (pthread_mutex_init(&st->lock, NULL) != 0 || pthread_mutex_init(&st->wlock, NULL) != 0 ||
	    pthread_mutex_init(&st->sync_mu, NULL) != 0 || pthread_cond_init(&st->sync_cv, NULL) != 0) {
		log_warnx("store: pthread_mutex_init failed");
		goto fail;
	}
	lock = true;
	st->sync_full = true;
	if ((c = conn_get(st)) == NULL)
		goto fail;
	/* WAL is a property of the file: set once here, it holds for every connection. */
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		db_warnx(c->db, "journal_mode");
		goto fail;
	}
	if (sqlite3_column_text(s, 0) == NULL || strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		log_warnx("store: %s: cannot enable WAL mode", path);
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (migrate(c) == -1)
		goto fail;
	return (st);
fail:
	sqlite3_finalize(s);
	if (lock) {
		store_close(st);
		return (NULL);
	}
	if (key)
		pthread_key_delete(st->key);
	if (st != NULL)
		free(st->path);
	free(st);
	return (NULL);
}

/** store_close(st): close every per-thread connection and free ${st}; NULL is a no-op.  No other thread may use
 * ${st} any more; threads that still hold a connection are not called back (the key is deleted first). */
void
store_close(struct store *st)
{
	struct conn *c, *next;

	if (st == NULL)
		return;
	pthread_key_delete(st->key);
	pthread_mutex_lock(&st->lock);
	c = st->conns;
	st->conns = NULL;
	pthread_mutex_unlock(&st->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->wlock);
	pthread_mutex_destroy(&st->sync_mu);
	pthread_cond_destroy(&st->sync_cv);
	if (st->wal_fd != -1)
		close(st->wal_fd);
	free(st->path);
	free(st);
}

/** store_set_sync(st, full): commits durable before the function returns (group commit, the default) or only
 * written to the OS (consistent after any crash, but the last commits may be lost on power loss). */
int
store_set_sync(struct store *st, bool full)
{
	st->sync_full = full;
	return (0);
}

/** store_schema_version(st): the applied migration number, or -1. */
int
store_schema_version(struct store *st)
{
	struct conn *c;
	int64_t v;

	if ((c = conn_get(st)) == NULL || q_int(c, STMT_SCHEMA_VERSION, QNONE, &v) != 1)
		return (-1);
	return ((int)v);
}

/** store_purge_expired(st, now, client_idle_ttl): in one transaction delete expired codes, sessions, setup
 * tokens, refresh tokens, access-token records, unpublished signing keys and deletion tokens, agent authorizations
 * expired more than STORE_AUTHZ_KEEP seconds ago, grants that are revoked or have no token left, and clients
 * unused (or, never used, created) more than ${client_idle_ttl} seconds ago (none when it is <= 0), with their
 * codes and grants; returns the number of rows deleted (cascades not counted) or -1. */
int64_t
store_purge_expired(struct store *st, int64_t now, int64_t client_idle_ttl)
{
	static const enum stmt_id expired[] = { STMT_PURGE_CODES, STMT_PURGE_SESSIONS, STMT_PURGE_SETUP,
		STMT_PURGE_REFRESH, STMT_PURGE_ACCESS, STMT_PURGE_KEYS, STMT_PURGE_DELETION };
	struct conn *c;
	int64_t n, total = 0;
	size_t i;
	enum store_rc rc = STORE_ERROR;

	if ((c = tx_begin(st)) == NULL)
		return (-1);
	/* Clients first: their codes and grants go with them by cascade. */
	if (client_idle_ttl > 0) {
		if ((n = q_exec(c, STMT_PURGE_CLIENTS, QARGS(QI(now - client_idle_ttl)))) < 0)
			goto out;
		total += n;
	}
	for (i = 0; i < sizeof(expired) / sizeof(expired[0]); i++) {
		if ((n = q_exec(c, expired[i], QARGS(QI(now)))) < 0)
			goto out;
		total += n;
	}
	if ((n = q_exec(c, STMT_PURGE_AUTHZ, QARGS(QI(now - STORE_AUTHZ_KEEP)))) < 0)
		goto out;
	total += n;
	/* After the tokens: a grant whose last token expired is gone. */
	if ((n = q_exec(c, STMT_PURGE_GRANTS, QNONE)) < 0)
		goto out;
	total += n;
	rc = STORE_OK;
out:
	return (tx_end(c, rc) == STORE_OK ? total : -1);
}

/* --------------------------------------------------------------------------------------------- identities */

static int
state_parse(const char *s, enum identity_state *out)
{
	enum identity_state i;

	for (i = IDENTITY_INACTIVE; s != NULL && i <= IDENTITY_DELETED; i++) {
		if (strcmp(s, identity_state_name(i)) == 0) {
			*out = i;
			return (0);
		}
	}
	return (-1);
}

/* identity_query(c, id, args, n, out): the identity the SELECT ${id} of IDENTITY_COLS finds on ${c} (inside a
 * transaction or not); *out (may be NULL) gets it. */
static enum store_rc
identity_query(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n, struct identity **out)
{
	sqlite3_stmt *s = NULL;
	struct identity *r = NULL;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	if ((s = q_bind(c, id, args, n)) == NULL)
		return (STORE_ERROR);
	if ((step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_DONE) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("store: calloc");
		goto out;
	}
	r->id = sqlite3_column_int64(s, 0);
	r->identifier = col_str(s, 1, &oom);
	r->sub = col_str(s, 2, &oom);
	if (state_parse((const char *)sqlite3_column_text(s, 3), &r->state) == -1) {
		log_warnx("store: identity %lld has an unknown state", (long long)r->id);
		goto out;
	}
	r->password_hash = col_str(s, 4, &oom);
	r->created_at = sqlite3_column_int64(s, 5);
	r->updated_at = sqlite3_column_int64(s, 6);
	r->password_changed_at = sqlite3_column_int64(s, 7);
	r->agent_id = sqlite3_column_int64(s, 8); /* NULL (the operator's) reads as 0 */
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	if (out != NULL) {
		*out = r;
		r = NULL;
	}
	rc = STORE_OK;
out:
	q_done(s);
	identity_free(r);
	return (rc);
}

/* identity_get(st, id, args, n, out): identity_query() on this thread's connection. */
static enum store_rc
identity_get(struct store *st, enum stmt_id id, const struct qarg *args, size_t n, struct identity **out)
{
	struct conn *c;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	return (identity_query(c, id, args, n, out));
}

/** store_identity_create(st, identifier, sub, now, out): insert an inactive identity; STORE_CONFLICT when a
 * non-deleted identity already has ${identifier} or ${sub} was ever used.  *out (may be NULL) gets the row. */
enum store_rc
store_identity_create(struct store *st, const char *identifier, const char *sub, int64_t now, struct identity **out)
{
	struct conn *c;
	struct identity *r = NULL;
	enum store_rc rc;
	int64_t id = 0;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	rc = q_rc(q_exec(c, STMT_IDENTITY_INSERT, QARGS(QT(identifier), QT(sub), QI(now), QI(now), qref(0))));
	if (rc == STORE_OK)
		id = sqlite3_last_insert_rowid(c->db);
	if ((rc = tx_end(c, rc)) != STORE_OK || out == NULL)
		return (rc);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->identifier = xstrdup(identifier)) == NULL ||
	    (r->sub = xstrdup(sub)) == NULL) {
		/* Committed: the caller can still look the row up. */
		log_warn("store: calloc");
		identity_free(r);
		return (STORE_ERROR);
	}
	r->id = id;
	r->state = IDENTITY_INACTIVE;
	r->created_at = r->updated_at = now;
	*out = r;
	return (STORE_OK);
}

/** store_identity_by_identifier(st, identifier, out): the non-deleted identity with ${identifier}. */
enum store_rc
store_identity_by_identifier(struct store *st, const char *identifier, struct identity **out)
{
	return (identity_get(st, STMT_IDENTITY_BY_IDENTIFIER, QARGS(QT(identifier)), out));
}

/** store_identity_by_id(st, id, out): any identity by row id, deleted ones included. */
enum store_rc
store_identity_by_id(struct store *st, int64_t id, struct identity **out)
{
	return (identity_get(st, STMT_IDENTITY_BY_ID, QARGS(QI(id)), out));
}

/** store_identity_list(st, out): every identity (deleted ones included), oldest first, as a JSON array of
 * objects {identifier, sub, state, created_at, updated_at, agent (the holding agent's name, null for the
 * operator)}; caller json_decref()s. */
enum store_rc
store_identity_list(struct store *st, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *a = NULL, *o;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_IDENTITY_LIST, QNONE)) == NULL)
		return (STORE_ERROR);
	if ((a = json_array()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s?}", "identifier", (const char *)sqlite3_column_text(s, 0),
		    "sub", (const char *)sqlite3_column_text(s, 1), "state", (const char *)sqlite3_column_text(s, 2),
		    "created_at", (json_int_t)sqlite3_column_int64(s, 3), "updated_at",
		    (json_int_t)sqlite3_column_int64(s, 4), "agent", (const char *)sqlite3_column_text(s, 5));
		if (o == NULL || json_array_append_new(a, o) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = a;
	a = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: identity list: out of memory");
out:
	q_done(s);
	json_decref(a);
	return (rc);
}

/** store_identity_set_state(st, id, state, now): set ${state} (inactive, active or disabled); deleting goes
 * through store_identity_delete.  STORE_CONFLICT if the identity is deleted, STORE_NOTFOUND if absent. */
enum store_rc
store_identity_set_state(struct store *st, int64_t id, enum identity_state state, int64_t now)
{
	struct conn *c;
	sqlite3_stmt *s;
	enum store_rc rc = STORE_ERROR;
	int step;

	if (state != IDENTITY_INACTIVE && state != IDENTITY_ACTIVE && state != IDENTITY_DISABLED) {
		log_warnx("store: identity %lld: cannot set state %d", (long long)id, (int)state);
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((s = q_bind(c, STMT_IDENTITY_STATE, QARGS(QI(id)))) == NULL || (step = q_step(c, s)) == -1)
		goto out;
	if (step == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else if (col_is(s, 0, identity_state_name(IDENTITY_DELETED)))
		rc = STORE_CONFLICT;
	else
		rc = STORE_OK;
	q_done(s);
	if (rc == STORE_OK)
		rc = q_rc(q_exec(c, STMT_IDENTITY_SET_STATE, QARGS(QT(identity_state_name(state)), QI(now), QI(id))));
out:
	return (tx_end(c, rc));
}

/* identity_wipe(c, id, now): inside the caller's transaction, mark identity ${id} deleted (identifier freed for
 * re-use, sub kept as a tombstone), wipe the password hash, and delete its sessions, codes, grants (with their
 * refresh and access tokens, by cascade), consents, setup tokens and pending deletion tokens.  STORE_NOTFOUND
 * (nothing written) if absent or already deleted.  The one deletion of store_identity_delete(),
 * store_provision_delete() and store_deletion_confirm(). */
static enum store_rc
identity_wipe(struct conn *c, int64_t id, int64_t now)
{
	static const enum stmt_id deps[] = { STMT_SESSIONS_DELETE_IDENTITY, STMT_CODES_DELETE_IDENTITY,
		STMT_GRANTS_DELETE_IDENTITY, STMT_CONSENTS_DELETE_IDENTITY, STMT_SETUP_DELETE_IDENTITY,
		STMT_DELETION_DELETE_IDENTITY };
	enum store_rc rc;
	size_t i;

	rc = q_rc(q_exec(c, STMT_IDENTITY_DELETE, QARGS(QI(now), QI(id))));
	for (i = 0; rc == STORE_OK && i < sizeof(deps) / sizeof(deps[0]); i++)
		if (q_exec(c, deps[i], QARGS(QI(id))) < 0)
			rc = STORE_ERROR;
	return (rc);
}

/** store_identity_delete(st, id, now): in one transaction mark the identity deleted (identifier freed for re-use,
 * sub kept as a tombstone), wipe the password hash, and delete its sessions, codes, grants (with their refresh
 * and access tokens, by cascade), consents, setup tokens and deletion tokens (identity_wipe()).  STORE_NOTFOUND if
 * absent or already deleted. */
enum store_rc
store_identity_delete(struct store *st, int64_t id, int64_t now)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, identity_wipe(c, id, now)));
}

/* setup_create(st, identity_id, agent_id, token_hash, expires_at): store_setup_create(), and when ${agent_id} is
 * not 0, STORE_CONFLICT (nothing written) unless that agent holds the identity inside the transaction. */
static enum store_rc
setup_create(struct store *st, int64_t identity_id, int64_t agent_id, const char *token_hash, int64_t expires_at)
{
	struct conn *c;
	sqlite3_stmt *s;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((s = q_bind(c, STMT_IDENTITY_STATE, QARGS(QI(identity_id)))) == NULL || (step = q_step(c, s)) == -1)
		goto out;
	if (step == SQLITE_DONE || col_is(s, 0, identity_state_name(IDENTITY_DELETED)))
		rc = STORE_NOTFOUND;
	else if (agent_id != 0 && sqlite3_column_int64(s, 1) != agent_id)
		rc = STORE_CONFLICT;
	else
		rc = STORE_OK;
	q_done(s);
	if (rc != STORE_OK)
		goto out;
	if (q_exec(c, STMT_SETUP_DELETE_IDENTITY, QARGS(QI(identity_id))) < 0) {
		rc = STORE_ERROR;
		goto out;
	}
	rc = q_rc(q_exec(c, STMT_SETUP_INSERT, QARGS(QT(token_hash), QI(identity_id), QI(expires_at))));
out:
	return (tx_end(c, rc));
}

/** store_setup_create(st, identity_id, token_hash, expires_at): a one-time password-setup token; any older setup
 * token of the identity dies in the same transaction.  STORE_NOTFOUND if the identity is absent or deleted. */
enum store_rc
store_setup_create(struct store *st, int64_t identity_id, const char *token_hash, int64_t expires_at)
{
	return (setup_create(st, identity_id, 0, token_hash, expires_at));
}

/** store_setup_create_agent(st, identity_id, agent_id, token_hash, expires_at): store_setup_create() for the
 * agent ${agent_id}, which must hold the identity when the transaction runs: STORE_CONFLICT, nothing written,
 * when it does not (a transfer committed since the caller looked: drafts/agent-provisioning.md §5 transfer). */
enum store_rc
store_setup_create_agent(
    struct store *st, int64_t identity_id, int64_t agent_id, const char *token_hash, int64_t expires_at)
{
	return (setup_create(st, identity_id, agent_id, token_hash, expires_at));
}

/* One-time tokens (setup_tokens, deletion_tokens): a used one stays, used_at set, until it expires, so that a
 * second use is told apart (STORE_REPLAY) from an unknown or expired token (STORE_NOTFOUND). */

/* one_time_peek(st, peek, hash, now, identity_id): the identity of a live, unused token, read only. */
static enum store_rc
one_time_peek(struct store *st, enum stmt_id peek, const char *hash, int64_t now, int64_t *identity_id)
{
	struct conn *c;
	int64_t id;
	int r;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	if ((r = q_int(c, peek, QARGS(QT(hash), QI(now)), &id)) == -1)
		return (STORE_ERROR);
	if (r == 0)
		return (STORE_NOTFOUND);
	if (identity_id != NULL)
		*identity_id = id;
	return (STORE_OK);
}

/* one_time_check(c, get, hash, now, id): inside a transaction, the identity of a live, unused token in *${id};
 * STORE_NOTFOUND for an unknown or expired one, STORE_REPLAY for a used one (even once it has expired too). */
static enum store_rc
one_time_check(struct conn *c, enum stmt_id get, const char *hash, int64_t now, int64_t *id)
{
	sqlite3_stmt *s;
	int64_t expires_at = 0;
	bool used = false;
	int step;

	if ((s = q_bind(c, get, QARGS(QT(hash)))) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		expires_at = sqlite3_column_int64(s, 1);
		used = sqlite3_column_type(s, 2) != SQLITE_NULL;
	}
	q_done(s);
	if (step == SQLITE_DONE)
		return (STORE_NOTFOUND);
	if (used)
		return (STORE_REPLAY);
	return (expires_at <= now ? STORE_NOTFOUND : STORE_OK);
}

/* one_time_use(c, use, hash, now): mark the token used.  The conditional UPDATE is the claim; under BEGIN
 * IMMEDIATE it cannot lose, but it is what says so (STORE_REPLAY). */
static enum store_rc
one_time_use(struct conn *c, enum stmt_id use, const char *hash, int64_t now)
{
	enum store_rc rc = q_rc(q_exec(c, use, QARGS(QI(now), QT(hash))));

	return (rc == STORE_NOTFOUND ? STORE_REPLAY : rc);
}

/** store_setup_peek(st, token_hash, now, identity_id): the identity of a live, unused setup token;
 * STORE_NOTFOUND for any other. */
enum store_rc
store_setup_peek(struct store *st, const char *token_hash, int64_t now, int64_t *identity_id)
{
	return (one_time_peek(st, STMT_SETUP_PEEK, token_hash, now, identity_id));
}

/** store_setup_use(st, token_hash, password_hash, now, identity_id): atomically consume the token, store the
 * password hash, make the identity active (unless disabled/deleted: STORE_CONFLICT, the token left unused) and
 * delete the identity's sessions.  STORE_NOTFOUND for unknown or expired tokens, STORE_REPLAY for used ones. */
enum store_rc
store_setup_use(struct store *st, const char *token_hash, const char *password_hash, int64_t now, int64_t *identity_id)
{
	struct conn *c;
	sqlite3_stmt *s;
	enum store_rc rc;
	int64_t id = 0;
	int step;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = one_time_check(c, STMT_SETUP_GET, token_hash, now, &id)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((s = q_bind(c, STMT_IDENTITY_STATE, QARGS(QI(id)))) == NULL || (step = q_step(c, s)) == -1)
		goto out;
	rc = STORE_OK;
	if (step == SQLITE_DONE || col_is(s, 0, identity_state_name(IDENTITY_DISABLED)) ||
	    col_is(s, 0, identity_state_name(IDENTITY_DELETED)))
		rc = STORE_CONFLICT;
	q_done(s);
	if (rc != STORE_OK)
		goto out;
	if ((rc = one_time_use(c, STMT_SETUP_USE, token_hash, now)) != STORE_OK)
		goto out;
	rc = q_rc(q_exec(c, STMT_IDENTITY_SET_PASSWORD, QARGS(QT(password_hash), QI(now), QI(now), QI(id))));
	/* A new password ends what the old one opened: sessions, and grants with their refresh and access tokens
	 * (identity setup-url is also the recovery path after a compromise). */
	if (rc == STORE_OK &&
	    (q_exec(c, STMT_SESSIONS_DELETE_IDENTITY, QARGS(QI(id))) < 0 ||
	        q_exec(c, STMT_GRANTS_DELETE_IDENTITY, QARGS(QI(id))) < 0))
		rc = STORE_ERROR;
out:
	/* Only STORE_OK has written anything: roll the rest back. */
	if ((rc = tx_end_ok(c, rc)) == STORE_OK && identity_id != NULL)
		*identity_id = id;
	return (rc);
}

/* -------------------------------------------------------------------------------------------------- clients */

/** store_client_create(st, c): insert; STORE_CONFLICT if client_id exists. */
enum store_rc
store_client_create(struct store *st, const struct client *cl)
{
	struct conn *c;
	char *meta = NULL;
	enum store_rc rc = STORE_ERROR;

	if ((meta = cl->metadata != NULL ? json_dumps(cl->metadata, JSON_COMPACT) : xstrdup("{}")) == NULL) {
		log_warnx("store: client metadata: out of memory");
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		goto out;
	rc = q_rc(q_exec(c, STMT_CLIENT_INSERT,
	    QARGS(QT(cl->client_id), QT(cl->secret_hash), QT(cl->reg_token_hash), QT(meta), QT(cl->source),
	        QI(cl->created_at), QI(cl->updated_at), QI(cl->last_used_at))));
	rc = tx_end(c, rc);
out:
	free(meta);
	return (rc);
}

/** store_client_get(st, client_id, out): the client ${client_id}; STORE_NOTFOUND if there is none. */
enum store_rc
store_client_get(struct store *st, const char *client_id, struct client **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	struct client *r = NULL;
	json_error_t jerr;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_CLIENT_GET, QARGS(QT(client_id)))) == NULL)
		return (STORE_ERROR);
	if ((step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_DONE) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("store: calloc");
		goto out;
	}
	r->client_id = col_str(s, 0, &oom);
	r->secret_hash = col_str(s, 1, &oom);
	r->reg_token_hash = col_str(s, 2, &oom);
	r->source = col_str(s, 4, &oom);
	r->created_at = sqlite3_column_int64(s, 5);
	r->updated_at = sqlite3_column_int64(s, 6);
	r->last_used_at = sqlite3_column_int64(s, 7);
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	if ((r->metadata = json_loads((const char *)sqlite3_column_text(s, 3), 0, &jerr)) == NULL) {
		log_warnx("store: client metadata: %s", jerr.text);
		goto out;
	}
	*out = r;
	r = NULL;
	rc = STORE_OK;
out:
	q_done(s);
	client_free(r);
	return (rc);
}

/** store_client_update(st, c): replace metadata, secret_hash, reg_token_hash, updated_at; STORE_NOTFOUND if the
 * client is gone. */
enum store_rc
store_client_update(struct store *st, const struct client *cl)
{
	struct conn *c;
	char *meta = NULL;
	enum store_rc rc = STORE_ERROR;

	if ((meta = cl->metadata != NULL ? json_dumps(cl->metadata, JSON_COMPACT) : xstrdup("{}")) == NULL) {
		log_warnx("store: client metadata: out of memory");
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		goto out;
	rc = q_rc(q_exec(c, STMT_CLIENT_UPDATE,
	    QARGS(QT(meta), QT(cl->secret_hash), QT(cl->reg_token_hash), QI(cl->updated_at), QT(cl->client_id))));
	rc = tx_end(c, rc);
out:
	free(meta);
	return (rc);
}

/** store_client_delete(st, client_id): delete the client with its codes, grants and tokens (by cascade). */
enum store_rc
store_client_delete(struct store *st, const char *client_id)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_CLIENT_DELETE, QARGS(QT(client_id))))));
}

/** store_client_touch(st, client_id, now): record use, writing at most once per client per
 * STORE_TOUCH_INTERVAL: the common case is one read and no write lock.  STORE_NOTFOUND for unknown clients. */
enum store_rc
store_client_touch(struct store *st, const char *client_id, int64_t now)
{
	struct conn *c;
	int64_t last;
	int r;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	if ((r = q_int(c, STMT_CLIENT_LAST_USED, QARGS(QT(client_id)), &last)) == -1)
		return (STORE_ERROR);
	if (r == 0)
		return (STORE_NOTFOUND);
	if (last > now - STORE_TOUCH_INTERVAL)
		return (STORE_OK);
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	/* Conditional: a parallel touch may have written since the read; then this one changes nothing. */
	if (q_exec(c, STMT_CLIENT_TOUCH, QARGS(QI(now), QT(client_id), QI(STORE_TOUCH_INTERVAL))) < 0)
		return (tx_end(c, STORE_ERROR));
	return (tx_end(c, STORE_OK));
}

/** store_client_count_source(st, source, since, total, recent): live clients registered from ${source}, and how
 * many of them since ${since}. */
enum store_rc
store_client_count_source(struct store *st, const char *source, int64_t since, int64_t *total, int64_t *recent)
{
	struct conn *c;
	sqlite3_stmt *s;

	if ((c = conn_get(st)) == NULL ||
	    (s = q_bind(c, STMT_CLIENT_COUNT_SOURCE, QARGS(QI(since), QT(source)))) == NULL)
		return (STORE_ERROR);
	if (q_step(c, s) != SQLITE_ROW) {
		/* An aggregate always has a row: SQLITE_DONE would be a bug; -1 is logged and done. */
		q_done(s);
		return (STORE_ERROR);
	}
	if (total != NULL)
		*total = sqlite3_column_int64(s, 0);
	if (recent != NULL)
		*recent = sqlite3_column_int64(s, 1);
	q_done(s);
	return (STORE_OK);
}

/* -------------------------------------------------------------------------------------------------- sessions */

/** store_session_create(st, s): insert ${s}; STORE_CONFLICT if its id_hash exists, STORE_NOTFOUND if its
 * identity does not. */
enum store_rc
store_session_create(struct store *st, const struct session *se)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c,
	    q_rc(q_exec(c, STMT_SESSION_INSERT,
	        QARGS(QT(se->id_hash), QI(se->identity_id), QI(se->auth_time), QT(se->amr), QI(se->created_at),
	            QI(se->expires_at))))));
}

/** store_session_get(st, id_hash, now, out): a live session of an active identity. */
enum store_rc
store_session_get(struct store *st, const char *id_hash, int64_t now, struct session **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	struct session *r = NULL;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_SESSION_GET, QARGS(QT(id_hash), QI(now)))) == NULL)
		return (STORE_ERROR);
	if ((step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_DONE) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("store: calloc");
		goto out;
	}
	r->id_hash = col_str(s, 0, &oom);
	r->identity_id = sqlite3_column_int64(s, 1);
	r->auth_time = sqlite3_column_int64(s, 2);
	r->amr = col_str(s, 3, &oom);
	r->created_at = sqlite3_column_int64(s, 4);
	r->expires_at = sqlite3_column_int64(s, 5);
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	*out = r;
	r = NULL;
	rc = STORE_OK;
out:
	q_done(s);
	session_free(r);
	return (rc);
}

/** store_session_delete(st, id_hash): delete the session; STORE_NOTFOUND if there is none. */
enum store_rc
store_session_delete(struct store *st, const char *id_hash)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_SESSION_DELETE, QARGS(QT(id_hash))))));
}

/** store_session_list(st, identity_id, now, out): the live sessions of ${identity_id} (expiring after ${now}),
 * newest first, as a JSON array of {id (the handle: the first STORE_SESSION_HANDLE characters of id_hash),
 * auth_time, created_at, expires_at}; caller json_decref()s. */
enum store_rc
store_session_list(struct store *st, int64_t identity_id, int64_t now, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *a = NULL, *o;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL ||
	    (s = q_bind(c, STMT_SESSION_LIST, QARGS(QI(STORE_SESSION_HANDLE), QI(identity_id), QI(now)))) == NULL)
		return (STORE_ERROR);
	if ((a = json_array()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		o = json_pack("{s:s, s:I, s:I, s:I}", "id", (const char *)sqlite3_column_text(s, 0), "auth_time",
		    (json_int_t)sqlite3_column_int64(s, 1), "created_at", (json_int_t)sqlite3_column_int64(s, 2),
		    "expires_at", (json_int_t)sqlite3_column_int64(s, 3));
		if (o == NULL || json_array_append_new(a, o) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = a;
	a = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: session list: out of memory");
out:
	q_done(s);
	json_decref(a);
	return (rc);
}

/** store_session_end(st, identity_id, handle): delete the session of ${identity_id} whose handle (see
 * store_session_list()) is ${handle}; STORE_NOTFOUND when it has none.  A handle is compared as a string of
 * exactly STORE_SESSION_HANDLE characters, never as a pattern, and only against that identity's sessions. */
enum store_rc
store_session_end(struct store *st, int64_t identity_id, const char *handle)
{
	struct conn *c;
	enum store_rc rc;

	if (handle == NULL || strlen(handle) != STORE_SESSION_HANDLE)
		return (STORE_NOTFOUND);
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	rc = q_rc(q_exec(c, STMT_SESSION_END, QARGS(QI(identity_id), QI(STORE_SESSION_HANDLE), QT(handle))));
	return (tx_end(c, rc));
}

/* -------------------------------------------------------------------------------------------------- consents */

/** store_consent_get(st, identity_id, client_id, out): the decisions of ${identity_id} for ${client_id} as a JSON
 * object {claim: true (granted) | false (refused)}, {} when there are none; caller json_decref()s. */
enum store_rc
store_consent_get(struct store *st, int64_t identity_id, const char *client_id, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *o = NULL;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL ||
	    (s = q_bind(c, STMT_CONSENT_GET, QARGS(QI(identity_id), QT(client_id)))) == NULL)
		return (STORE_ERROR);
	if ((o = json_object()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		if (json_object_set_new(o, (const char *)sqlite3_column_text(s, 0),
		        json_boolean(sqlite3_column_int64(s, 1) != 0)) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = o;
	o = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: consent: out of memory");
out:
	q_done(s);
	json_decref(o);
	return (rc);
}

/** store_consent_set(st, identity_id, client_id, decisions, now): upsert every {claim: bool} of the JSON object
 * ${decisions} (true: granted, false: refused) in one transaction, all or nothing.  STORE_CONFLICT for more than
 * STORE_CONSENT_MAX decisions, a value that is not a boolean, or ${decisions} not an object; STORE_NOTFOUND when
 * the identity is absent or deleted or the client absent. */
enum store_rc
store_consent_set(struct store *st, int64_t identity_id, const char *client_id, json_t *decisions, int64_t now)
{
	struct conn *c;
	sqlite3_stmt *s;
	const char *claim;
	json_t *v;
	enum store_rc rc = STORE_ERROR;
	int step;

	if (!json_is_object(decisions) || json_object_size(decisions) > STORE_CONSENT_MAX)
		return (STORE_CONFLICT);
	json_object_foreach(decisions, claim, v)
	{
		if (!json_is_boolean(v))
			return (STORE_CONFLICT);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	/* Under the write lock: no decisions outlive a deletion that commits first (identity_wipe()). */
	if ((s = q_bind(c, STMT_IDENTITY_STATE, QARGS(QI(identity_id)))) == NULL || (step = q_step(c, s)) == -1)
		goto out;
	rc = step == SQLITE_DONE || col_is(s, 0, identity_state_name(IDENTITY_DELETED)) ? STORE_NOTFOUND : STORE_OK;
	q_done(s);
	json_object_foreach(decisions, claim, v)
	{
		if (rc != STORE_OK)
			break;
		rc = q_rc(q_exec(c, STMT_CONSENT_UPSERT,
		    QARGS(QI(identity_id), QT(client_id), QT(claim), QI(json_is_true(v) ? 1 : 0), QI(now))));
	}
out:
	return (tx_end_ok(c, rc));
}

/* consent_entry(client_id, metadata, updated_at): a new store_consent_list() entry, its claims still {}, with
 * client_name and the first redirect_uri taken from the registered ${metadata} (JSON text), null when absent. */
static json_t *
consent_entry(const char *client_id, const char *metadata, int64_t updated_at)
{
	json_t *meta, *name, *uri, *e;
	json_error_t jerr;

	if ((meta = json_loads(metadata != NULL ? metadata : "", 0, &jerr)) == NULL) {
		log_warnx("store: client %s metadata: %s", client_id, jerr.text);
		return (NULL);
	}
	name = json_object_get(meta, "client_name");
	uri = json_array_get(json_object_get(meta, "redirect_uris"), 0);
	e = json_pack("{s:s, s:O?, s:O?, s:I, s:{}}", "client_id", client_id, "client_name",
	    json_is_string(name) ? name : NULL, "redirect_uri", json_is_string(uri) ? uri : NULL, "updated_at",
	    (json_int_t)updated_at, "claims");
	if (e == NULL)
		log_warnx("store: consent list: out of memory");
	json_decref(meta);
	return (e);
}

/** store_consent_list(st, identity_id, out): a JSON array, one entry per client ${identity_id} has decisions for,
 * the most recently decided for first: {client_id, client_name (null when the metadata has none), redirect_uri
 * (the first registered, or null), updated_at (the latest decision), claims: {claim: bool}}; caller
 * json_decref()s. */
enum store_rc
store_consent_list(struct store *st, int64_t identity_id, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *a = NULL, *e = NULL;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_CONSENT_LIST, QARGS(QI(identity_id)))) == NULL)
		return (STORE_ERROR);
	if ((a = json_array()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		/* Rows come grouped by client: a new client_id starts a new entry. */
		if (e == NULL || !col_is(s, 0, json_string_value(json_object_get(e, "client_id")))) {
			if ((e = consent_entry((const char *)sqlite3_column_text(s, 0),
			         (const char *)sqlite3_column_text(s, 1), sqlite3_column_int64(s, 2))) == NULL)
				goto out;
			if (json_array_append_new(a, e) == -1)
				goto oom;
		}
		if (json_object_set_new(json_object_get(e, "claims"), (const char *)sqlite3_column_text(s, 3),
		        json_boolean(sqlite3_column_int64(s, 4) != 0)) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = a;
	a = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: consent list: out of memory");
out:
	q_done(s);
	json_decref(a);
	return (rc);
}

/** store_consent_revoke(st, identity_id, client_id, claim, now): with a ${claim}, mark that granted claim refused;
 * with NULL, delete every decision of ${identity_id} for ${client_id} and revoke the identity's grants of that
 * client (grants_revoke(): their refresh and access tokens die), in one transaction.  STORE_NOTFOUND when nothing
 * changed (no such granted claim; no decision and no live grant). */
enum store_rc
store_consent_revoke(struct store *st, int64_t identity_id, const char *client_id, const char *claim, int64_t now)
{
	struct conn *c;
	enum store_rc rc;
	int64_t n;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if (claim != NULL) {
		rc = q_rc(q_exec(c, STMT_CONSENT_REFUSE, QARGS(QI(now), QI(identity_id), QT(client_id), QT(claim))));
		goto out;
	}
	if ((n = q_exec(c, STMT_CONSENT_DELETE_CLIENT, QARGS(QI(identity_id), QT(client_id)))) < 0) {
		rc = STORE_ERROR;
		goto out;
	}
	rc = grants_revoke(c, STMT_GRANT_REVOKE_CLIENT, QARGS(QI(identity_id), QT(client_id)));
	if (rc == STORE_NOTFOUND && n > 0)
		rc = STORE_OK;
out:
	return (tx_end_ok(c, rc));
}

/* ------------------------------------------------------------------------------------------ codes and grants */

/** store_code_create(st, c): insert the code ${c} (its grant_id is ignored); STORE_CONFLICT if its hash exists,
 * STORE_NOTFOUND if its client or identity does not. */
enum store_rc
store_code_create(struct store *st, const struct authz_code *ac)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c,
	    q_rc(q_exec(c, STMT_CODE_INSERT,
	        QARGS(QT(ac->code_hash), QT(ac->client_id), QI(ac->identity_id), QT(ac->redirect_uri), QT(ac->scope),
	            QT(ac->nonce), QT(ac->code_challenge), QT(ac->claims), QT(ac->amr), QI(ac->auth_time),
	            QI(ac->expires_at))))));
}

/* tokens_insert(c, grant_id, toks): store the refresh token (if any) and access-token record of ${toks} for
 * ${grant_id}. */
static enum store_rc
tokens_insert(struct conn *c, const char *grant_id, const struct grant_tokens *toks)
{
	enum store_rc rc = STORE_OK;

	if (toks->refresh_hash != NULL)
		rc = q_rc(q_exec(
		    c, STMT_REFRESH_INSERT, QARGS(QT(toks->refresh_hash), QT(grant_id), QI(toks->refresh_expires_at))));
	if (rc == STORE_OK)
		rc = q_rc(q_exec(
		    c, STMT_ACCESS_INSERT, QARGS(QT(toks->access_jti), QT(grant_id), QI(toks->access_expires_at))));
	/* A clash of fresh random values is not the caller's business: it is an internal error. */
	if (rc != STORE_OK && rc != STORE_ERROR) {
		log_warnx("store: new token of grant clashes with a stored one");
		rc = STORE_ERROR;
	}
	return (rc);
}

/** store_code_redeem(st, code_hash, client_id, now, toks, out): RFC 6749 §4.1.2 single use, atomically: if the
 * code is live, unused, belongs to ${client_id} and its identity is active, mark it used, create the grant
 * ${toks->grant_id} with its refresh token and access-token record, commit, and return STORE_OK with the code in
 * *out.  A code used before returns STORE_REPLAY and revokes, in the same transaction, the grant issued from it.
 * Anything else: STORE_NOTFOUND, nothing changed.  Parallel callers: exactly one STORE_OK. */
enum store_rc
store_code_redeem(struct store *st, const char *code_hash, const char *client_id, int64_t now,
    const struct grant_tokens *toks, struct authz_code **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	struct authz_code *r = NULL;
	enum store_rc rc = STORE_ERROR;
	bool used, oom = false, active;
	int step;

	if (toks == NULL || toks->grant_id == NULL) {
		log_warnx("store: code redeem without a grant id");
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((s = q_bind(c, STMT_CODE_GET, QARGS(QT(code_hash)))) == NULL || (step = q_step(c, s)) == -1) {
		s = NULL;
		goto out;
	}
	/* RFC 6749 §4.1.3: a code is bound to the client it was issued to; another client learns nothing. */
	if (step == SQLITE_DONE || !col_is(s, 1, client_id)) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	used = sqlite3_column_type(s, 11) != SQLITE_NULL;
	active = col_is(s, 12, identity_state_name(IDENTITY_ACTIVE));
	/* RFC 6749 §4.1.2: a second use revokes what the first one issued (SECURITY.md 4), even after expiry. */
	if (used) {
		q_done(s);
		s = NULL;
		if ((rc = grants_revoke(c, STMT_GRANT_REVOKE_CODE, QARGS(QT(code_hash)))) != STORE_ERROR)
			rc = STORE_REPLAY;
		goto out;
	}
	if (sqlite3_column_int64(s, 10) <= now || !active) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("store: calloc");
		goto out;
	}
	r->code_hash = col_str(s, 0, &oom);
	r->client_id = col_str(s, 1, &oom);
	r->identity_id = sqlite3_column_int64(s, 2);
	r->redirect_uri = col_str(s, 3, &oom);
	r->scope = col_str(s, 4, &oom);
	r->nonce = col_str(s, 5, &oom);
	r->code_challenge = col_str(s, 6, &oom);
	r->claims = col_str(s, 7, &oom);
	r->amr = col_str(s, 8, &oom);
	r->auth_time = sqlite3_column_int64(s, 9);
	r->expires_at = sqlite3_column_int64(s, 10);
	if ((r->grant_id = xstrdup(toks->grant_id)) == NULL)
		oom = true;
	q_done(s);
	s = NULL;
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	/* The claim: exactly one transaction changes used_at from NULL. */
	if ((rc = q_rc(q_exec(c, STMT_CODE_CLAIM, QARGS(QI(now), QT(code_hash))))) != STORE_OK) {
		if (rc == STORE_NOTFOUND)
			rc = STORE_REPLAY;
		goto out;
	}
	rc = q_rc(q_exec(c, STMT_GRANT_INSERT,
	    QARGS(QT(toks->grant_id), QT(code_hash), QT(r->client_id), QI(r->identity_id), QT(r->scope), QT(r->claims),
	        QT(r->amr), QI(r->auth_time), QI(now))));
	if (rc == STORE_CONFLICT || rc == STORE_NOTFOUND) {
		log_warnx("store: new grant clashes with a stored one");
		rc = STORE_ERROR;
	}
	if (rc == STORE_OK)
		rc = tokens_insert(c, toks->grant_id, toks);
out:
	q_done(s);
	if ((rc = tx_end(c, rc)) == STORE_OK && out != NULL) {
		*out = r;
		r = NULL;
	}
	authz_code_free(r);
	return (rc);
}

/* grant_read(s, out): the grant in the current row of ${s} (GRANT_COLS). */
static enum store_rc
grant_read(sqlite3_stmt *s, struct grant **out)
{
	struct grant *g;
	bool oom = false;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("store: calloc");
		return (STORE_ERROR);
	}
	g->grant_id = col_str(s, 0, &oom);
	g->client_id = col_str(s, 1, &oom);
	g->identity_id = sqlite3_column_int64(s, 2);
	g->scope = col_str(s, 3, &oom);
	g->claims = col_str(s, 4, &oom);
	g->amr = col_str(s, 5, &oom);
	g->auth_time = sqlite3_column_int64(s, 6);
	g->revoked = sqlite3_column_int64(s, 7) != 0;
	if (oom) {
		log_warnx("store: out of memory");
		grant_free(g);
		return (STORE_ERROR);
	}
	*out = g;
	return (STORE_OK);
}

/* grant_get(c, id, args, n, out): the grant the SELECT ${id} of GRANT_COLS finds; STORE_NOTFOUND if none. */
static enum store_rc
grant_get(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n, struct grant **out)
{
	sqlite3_stmt *s;
	enum store_rc rc;
	int step;

	if ((s = q_bind(c, id, args, n)) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	rc = step == SQLITE_ROW ? grant_read(s, out) : STORE_NOTFOUND;
	q_done(s);
	return (rc);
}

/** store_refresh_rotate(st, refresh_hash, client_id, now, toks, out): if ${refresh_hash} is the current token
 * of a live, unrevoked grant of ${client_id} whose identity is active, retire it and store ${toks} (new refresh
 * token and access record; toks->grant_id is not used) for the same grant, returning the grant.  A retired token:
 * STORE_REPLAY and the whole grant is revoked (RFC 9700 §4.14.2).  Anything else: STORE_NOTFOUND. */
enum store_rc
store_refresh_rotate(struct store *st, const char *refresh_hash, const char *client_id, int64_t now,
    const struct grant_tokens *toks, struct grant **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	struct grant *g = NULL;
	char *grant_id = NULL;
	enum store_rc rc = STORE_ERROR;
	bool retired, revoked, active, oom = false;
	int64_t expires_at;
	int step;

	if (toks == NULL) {
		log_warnx("store: refresh rotation without tokens");
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((s = q_bind(c, STMT_REFRESH_GET, QARGS(QT(refresh_hash)))) == NULL || (step = q_step(c, s)) == -1) {
		s = NULL;
		goto out;
	}
	/* RFC 6749 §6: the token is bound to the client it was issued to. */
	if (step == SQLITE_DONE || !col_is(s, 3, client_id)) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	grant_id = col_str(s, 0, &oom);
	expires_at = sqlite3_column_int64(s, 1);
	retired = sqlite3_column_type(s, 2) != SQLITE_NULL;
	revoked = sqlite3_column_int64(s, 4) != 0;
	active = col_is(s, 5, identity_state_name(IDENTITY_ACTIVE));
	q_done(s);
	s = NULL;
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	/* RFC 9700 §4.14.2: a rotated token used again means it leaked: revoke the whole family (again, if it was
	 * already: every reuse is reported). */
	if (retired) {
		if ((rc = grants_revoke(c, STMT_GRANT_REVOKE, QARGS(QT(grant_id)))) != STORE_ERROR)
			rc = STORE_REPLAY;
		goto out;
	}
	if (revoked || expires_at <= now || !active) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((rc = q_rc(q_exec(c, STMT_REFRESH_RETIRE, QARGS(QI(now), QT(refresh_hash))))) != STORE_OK) {
		if (rc == STORE_NOTFOUND)
			rc = STORE_REPLAY;
		goto out;
	}
	if ((rc = tokens_insert(c, grant_id, toks)) != STORE_OK)
		goto out;
	if ((rc = grant_get(c, STMT_GRANT_GET, QARGS(QT(grant_id)), &g)) == STORE_NOTFOUND)
		rc = STORE_ERROR; /* it was there a moment ago, under the write lock */
out:
	q_done(s);
	free(grant_id);
	if ((rc = tx_end(c, rc)) == STORE_OK && out != NULL) {
		*out = g;
		g = NULL;
	}
	grant_free(g);
	return (rc);
}

/** store_identity_rehash(st, id, old_hash, new_hash, now): replace the password hash of an active identity with
 * the same password hashed under new parameters, only if it is still ${old_hash} (a password changed meanwhile
 * wins); STORE_NOTFOUND otherwise. */
enum store_rc
store_identity_rehash(struct store *st, int64_t id, const char *old_hash, const char *new_hash, int64_t now)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_IDENTITY_REHASH, QARGS(QT(new_hash), QI(now), QI(id), QT(old_hash))))));
}

/** store_refresh_peek(st, refresh_hash, client_id, out): the grant of ${refresh_hash} if that token belongs to
 * ${client_id}, without changing anything (the caller's checks come before rotation); STORE_NOTFOUND otherwise.
 * Whether the token is still current is for store_refresh_rotate to decide, atomically. */
enum store_rc
store_refresh_peek(struct store *st, const char *refresh_hash, const char *client_id, struct grant **out)
{
	struct conn *c;
	sqlite3_stmt *s;
	char *grant_id = NULL;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	*out = NULL;
	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	if ((s = q_bind(c, STMT_REFRESH_GET, QARGS(QT(refresh_hash)))) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_DONE || !col_is(s, 3, client_id)) {
		q_done(s);
		return (STORE_NOTFOUND);
	}
	grant_id = col_str(s, 0, &oom);
	q_done(s);
	if (!oom)
		rc = grant_get(c, STMT_GRANT_GET, QARGS(QT(grant_id)), out);
	free(grant_id);
	return (rc);
}

/** store_grant_revoke(st, grant_id): revoke the grant ${grant_id}: its refresh and access tokens stop working
 * at once (the rows go at the next purge); STORE_NOTFOUND if there is no such grant. */
enum store_rc
store_grant_revoke(struct store *st, const char *grant_id)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, grants_revoke(c, STMT_GRANT_REVOKE, QARGS(QT(grant_id)))));
}

/** store_access_check(st, jti, now, out): the grant of a live, unrevoked access token whose identity is active;
 * STORE_NOTFOUND otherwise. */
enum store_rc
store_access_check(struct store *st, const char *jti, int64_t now, struct grant **out)
{
	struct conn *c;
	struct grant *g = NULL;
	enum store_rc rc;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = grant_get(c, STMT_ACCESS_CHECK, QARGS(QT(jti), QI(now)), &g)) == STORE_OK && out != NULL) {
		*out = g;
		g = NULL;
	}
	grant_free(g);
	return (rc);
}

/** store_revoke_refresh(st, refresh_hash, client_id): RFC 7009 §2.1: revoke the grant the token (current or
 * rotated) belongs to, if it is ${client_id}'s; STORE_NOTFOUND otherwise (the caller still answers 200). */
enum store_rc
store_revoke_refresh(struct store *st, const char *refresh_hash, const char *client_id)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, grants_revoke(c, STMT_REVOKE_REFRESH, QARGS(QT(refresh_hash), QT(client_id)))));
}

/** store_revoke_access(st, jti, client_id): revoke (delete the record of) one access token of ${client_id};
 * STORE_NOTFOUND if there is no such token of that client. */
enum store_rc
store_revoke_access(struct store *st, const char *jti, const char *client_id)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_REVOKE_ACCESS, QARGS(QT(jti), QT(client_id))))));
}

/* ---------------------------------------------------------------------------------------------- signing keys */

/** store_keys_list(st, now, out, n): every key not yet unpublished (expire_at == 0 or > ${now}), oldest first, as
 * an array the caller frees with stored_keys_free(*out, *n). */
enum store_rc
store_keys_list(struct store *st, int64_t now, struct stored_key ***out, size_t *n)
{
	struct conn *c;
	sqlite3_stmt *s;
	struct stored_key **keys = NULL, **nk, *k;
	size_t len = 0, cap = 0;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_KEY_LIST, QARGS(QI(now)))) == NULL)
		return (STORE_ERROR);
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((nk = reallocarray(keys, cap, sizeof(*keys))) == NULL) {
				log_warn("store: reallocarray");
				goto out;
			}
			keys = nk;
		}
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			log_warn("store: calloc");
			goto out;
		}
		keys[len++] = k;
		k->kid = col_str(s, 0, &oom);
		k->alg = col_str(s, 1, &oom);
		k->jwk = col_str(s, 2, &oom);
		k->created_at = sqlite3_column_int64(s, 3);
		k->activate_at = sqlite3_column_int64(s, 4);
		k->retire_at = sqlite3_column_int64(s, 5);
		k->expire_at = sqlite3_column_int64(s, 6);
		if (oom) {
			log_warnx("store: out of memory");
			goto out;
		}
	}
	if (step == -1) {
		s = NULL;
		goto out;
	}
	*out = keys;
	*n = len;
	keys = NULL;
	rc = STORE_OK;
out:
	q_done(s);
	stored_keys_free(keys, len);
	return (rc);
}

/** store_key_add(st, k, retire_others_at, expire_others_at): insert ${k} and, in the same transaction, set
 * retire_at/expire_at on every other current key (retire_at == 0) of the same alg (0 leaves them untouched).
 * STORE_CONFLICT if the kid exists. */
enum store_rc
store_key_add(struct store *st, const struct stored_key *k, int64_t retire_others_at, int64_t expire_others_at)
{
	struct conn *c;
	enum store_rc rc = STORE_OK;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	/* Before the insert, so that ${k} itself is not among the "others". */
	if ((retire_others_at != 0 || expire_others_at != 0) &&
	    q_exec(c, STMT_KEY_RETIRE_OTHERS, QARGS(QI(retire_others_at), QI(expire_others_at), QT(k->alg))) < 0)
		rc = STORE_ERROR;
	if (rc == STORE_OK)
		rc = q_rc(q_exec(c, STMT_KEY_INSERT,
		    QARGS(QT(k->kid), QT(k->alg), QT(k->jwk), QI(k->created_at), QI(k->activate_at), QI(k->retire_at),
		        QI(k->expire_at))));
	/* A CONFLICT must not leave the other keys retired. */
	return (tx_end_ok(c, rc));
}

/* ------------------------------------------------------------------------------------------------------ meta */

/* meta_get(c, name, out): the value of ${name} in *out (caller frees). */
static enum store_rc
meta_get(struct conn *c, const char *name, char **out)
{
	sqlite3_stmt *s;
	enum store_rc rc = STORE_NOTFOUND;
	bool oom = false;
	char *v;
	int step;

	if ((s = q_bind(c, STMT_META_GET, QARGS(QT(name)))) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_ROW) {
		v = col_str(s, 0, &oom);
		if (oom || v == NULL) {
			log_warnx("store: out of memory");
			rc = STORE_ERROR;
		} else {
			*out = v;
			rc = STORE_OK;
		}
	}
	q_done(s);
	return (rc);
}

/** store_meta_get(st, name, out): the value named ${name}; *out is freed by the caller. */
enum store_rc
store_meta_get(struct store *st, const char *name, char **out)
{
	struct conn *c;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	return (meta_get(c, name, out));
}

/** store_meta_set_if_absent(st, name, value, stored): insert ${value} under ${name} unless the name exists, and
 * return in *stored (caller frees) the value stored now: ${value} or the older one.  Two processes that race get
 * the same answer. */
enum store_rc
store_meta_set_if_absent(struct store *st, const char *name, const char *value, char **stored)
{
	struct conn *c;
	char *v = NULL;
	enum store_rc rc = STORE_ERROR;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if (q_exec(c, STMT_META_INSERT, QARGS(QT(name), QT(value))) >= 0 &&
	    (rc = meta_get(c, name, &v)) == STORE_NOTFOUND) {
		log_warnx("store: meta value vanished");
		rc = STORE_ERROR;
	}
	if ((rc = tx_end(c, rc)) == STORE_OK) {
		*stored = v;
		v = NULL;
	}
	str_secure_free(v);
	return (rc);
}

/* ---------------------------------------------------------------------------------------------------- agents */

static const char *const agent_state_names[] = {
	[AGENT_ACTIVE] = "active",
	[AGENT_DISABLED] = "disabled",
};

/* agent_state_sql(s): the agents.state text of ${s}, NULL for an unknown value. */
static const char *
agent_state_sql(enum agent_state s)
{
	if ((unsigned)s >= sizeof(agent_state_names) / sizeof(agent_state_names[0]))
		return (NULL);
	return (agent_state_names[s]);
}

/* agent_query(c, id, args, n, out): the agent the SELECT ${id} of AGENT_COLS finds. */
static enum store_rc
agent_query(struct conn *c, enum stmt_id id, const struct qarg *args, size_t n, struct agent **out)
{
	sqlite3_stmt *s;
	struct agent *r = NULL;
	enum store_rc rc = STORE_ERROR;
	bool oom = false;
	int step;

	if ((s = q_bind(c, id, args, n)) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	if (step == SQLITE_DONE) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("store: calloc");
		goto out;
	}
	r->id = sqlite3_column_int64(s, 0);
	r->name = col_str(s, 1, &oom);
	r->issuer = col_str(s, 2, &oom);
	r->jwk = col_str(s, 3, &oom);
	r->thumbprint = col_str(s, 4, &oom);
	if (col_is(s, 5, agent_state_sql(AGENT_ACTIVE)))
		r->state = AGENT_ACTIVE;
	else if (col_is(s, 5, agent_state_sql(AGENT_DISABLED)))
		r->state = AGENT_DISABLED;
	else {
		log_warnx("store: agent %lld has an unknown state", (long long)r->id);
		goto out;
	}
	r->created_at = sqlite3_column_int64(s, 6);
	r->updated_at = sqlite3_column_int64(s, 7);
	if (oom) {
		log_warnx("store: out of memory");
		goto out;
	}
	if (out != NULL) {
		*out = r;
		r = NULL;
	}
	rc = STORE_OK;
out:
	q_done(s);
	agent_free(r);
	return (rc);
}

/** store_agent_create(st, a, now): insert ${a} (its id, state and times are ignored: the new agent is active,
 * created and updated at ${now}).  STORE_CONFLICT when the name exists. */
enum store_rc
store_agent_create(struct store *st, const struct agent *a, int64_t now)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c,
	    q_rc(q_exec(c, STMT_AGENT_INSERT,
	        QARGS(QT(a->name), QT(a->issuer), QT(a->jwk), QT(a->thumbprint), QI(now), QI(now))))));
}

/** store_agent_get(st, name, out): the agent named ${name}, any state; STORE_NOTFOUND if there is none. */
enum store_rc
store_agent_get(struct store *st, const char *name, struct agent **out)
{
	struct conn *c;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	return (agent_query(c, STMT_AGENT_GET, QARGS(QT(name)), out));
}

/** store_agent_by_id(st, id, out): the agent with row id ${id}, any state; STORE_NOTFOUND if there is none. */
enum store_rc
store_agent_by_id(struct store *st, int64_t id, struct agent **out)
{
	struct conn *c;

	if ((c = conn_get(st)) == NULL)
		return (STORE_ERROR);
	return (agent_query(c, STMT_AGENT_BY_ID, QARGS(QI(id)), out));
}

/** store_agent_list(st, out): every agent, oldest first, as a JSON array of objects {name, issuer, thumbprint,
 * state, created_at, updated_at, identifiers (the number of live identities it holds)}; caller json_decref()s. */
enum store_rc
store_agent_list(struct store *st, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *a = NULL, *o;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_AGENT_LIST, QNONE)) == NULL)
		return (STORE_ERROR);
	if ((a = json_array()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "name", (const char *)sqlite3_column_text(s, 0),
		    "issuer", (const char *)sqlite3_column_text(s, 1), "thumbprint",
		    (const char *)sqlite3_column_text(s, 2), "state", (const char *)sqlite3_column_text(s, 3),
		    "created_at", (json_int_t)sqlite3_column_int64(s, 4), "updated_at",
		    (json_int_t)sqlite3_column_int64(s, 5), "identifiers", (json_int_t)sqlite3_column_int64(s, 6));
		if (o == NULL || json_array_append_new(a, o) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = a;
	a = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: agent list: out of memory");
out:
	q_done(s);
	json_decref(a);
	return (rc);
}

/** store_agent_set_state(st, name, state, now): enable or disable the agent ${name}.  STORE_NOTFOUND for an
 * unknown name. */
enum store_rc
store_agent_set_state(struct store *st, const char *name, enum agent_state state, int64_t now)
{
	struct conn *c;
	const char *sql;

	if ((sql = agent_state_sql(state)) == NULL) {
		log_warnx("store: agent %s: cannot set state %d", name, (int)state);
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_AGENT_SET_STATE, QARGS(QT(sql), QI(now), QT(name))))));
}

/** store_agent_set_key(st, name, jwk, thumbprint, now): replace the key of the agent ${name} at once (requests
 * signed with the old one fail from now on).  STORE_NOTFOUND for an unknown name. */
enum store_rc
store_agent_set_key(struct store *st, const char *name, const char *jwk, const char *thumbprint, int64_t now)
{
	struct conn *c;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c, q_rc(q_exec(c, STMT_AGENT_SET_KEY, QARGS(QT(jwk), QT(thumbprint), QI(now), QT(name))))));
}

/* ------------------------------------------------------------------------------------------- authorizations */

/* authz_read(s, out): the authorization in the current row of ${s} (AUTHZ_COLS). */
static enum store_rc
authz_read(sqlite3_stmt *s, struct agent_authz **out)
{
	struct agent_authz *a;
	enum agent_action act;
	bool oom = false, known = false;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("store: calloc");
		return (STORE_ERROR);
	}
	a->id = col_str(s, 0, &oom);
	a->agent_id = sqlite3_column_int64(s, 1);
	a->identifier = col_str(s, 2, &oom);
	for (act = AGENT_ACTION_CREATE; !known && act <= AGENT_ACTION_TRANSFER; act++) {
		if (col_is(s, 3, agent_action_name(act))) {
			a->action = act;
			known = true;
		}
	}
	a->token = col_str(s, 4, &oom);
	a->thumbprint = col_str(s, 5, &oom);
	a->created_at = sqlite3_column_int64(s, 6);
	a->expires_at = sqlite3_column_int64(s, 7);
	a->finalized_at = sqlite3_column_int64(s, 8); /* NULL (pending) reads as 0 */
	if (oom || !known) {
		if (oom)
			log_warnx("store: out of memory");
		else
			log_warnx("store: authorization %s has an unknown action", a->id != NULL ? a->id : "?");
		agent_authz_free(a);
		return (STORE_ERROR);
	}
	*out = a;
	return (STORE_OK);
}

/** store_authz_create(st, a): insert ${a} (its finalized_at is ignored: the new authorization is pending).
 * STORE_CONFLICT on a duplicate id, STORE_NOTFOUND if the agent does not exist. */
enum store_rc
store_authz_create(struct store *st, const struct agent_authz *a)
{
	struct conn *c;
	const char *action;

	if ((unsigned)a->action > AGENT_ACTION_TRANSFER) {
		log_warnx("store: authorization with an unknown action %d", (int)a->action);
		return (STORE_ERROR);
	}
	action = agent_action_name(a->action);
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	return (tx_end(c,
	    q_rc(q_exec(c, STMT_AUTHZ_INSERT,
	        QARGS(QT(a->id), QI(a->agent_id), QT(a->identifier), QT(action), QT(a->token), QT(a->thumbprint),
	            QI(a->created_at), QI(a->expires_at))))));
}

/** store_authz_get(st, id, out): the authorization ${id}, expired or finalized ones included; STORE_NOTFOUND if
 * there is none. */
enum store_rc
store_authz_get(struct store *st, const char *id, struct agent_authz **out)
{
	struct conn *c;
	sqlite3_stmt *s;
	struct agent_authz *a = NULL;
	enum store_rc rc;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_AUTHZ_GET, QARGS(QT(id)))) == NULL ||
	    (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	rc = step == SQLITE_ROW ? authz_read(s, &a) : STORE_NOTFOUND;
	q_done(s);
	if (rc == STORE_OK && out != NULL) {
		*out = a;
		a = NULL;
	}
	agent_authz_free(a);
	return (rc);
}

/** store_authz_create_limited(st, a, since, max, retry_at): store_authz_create under the rate limit, counted in
 * the same transaction so that parallel requests cannot exceed it (include/store.h). */
enum store_rc
store_authz_create_limited(struct store *st, const struct agent_authz *a, int64_t since, int64_t max, int64_t *retry_at)
{
	struct conn *c;
	enum store_rc rc = STORE_ERROR;
	int64_t n = 0, oldest = 0;

	if ((unsigned)a->action > AGENT_ACTION_TRANSFER) {
		log_warnx("store: authorization with an unknown action %d", (int)a->action);
		return (STORE_ERROR);
	}
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if (q_int(c, STMT_AUTHZ_COUNT, QARGS(QI(a->agent_id), QI(since)), &n) != 1)
		goto out;
	if (n >= max) {
		if (q_int(c, STMT_AUTHZ_OLDEST, QARGS(QI(a->agent_id), QI(since)), &oldest) != 1)
			goto out;
		if (retry_at != NULL)
			*retry_at = oldest + (a->created_at - since);
		rc = STORE_CONFLICT;
		goto out;
	}
	rc = q_rc(q_exec(c, STMT_AUTHZ_INSERT,
	    QARGS(QT(a->id), QI(a->agent_id), QT(a->identifier), QT(agent_action_name(a->action)), QT(a->token),
	        QT(a->thumbprint), QI(a->created_at), QI(a->expires_at))));
	if (rc == STORE_CONFLICT) { /* a duplicate id: 256 random bits never collide; treat it as the error it is */
		log_warnx("store: duplicate authorization id");
		rc = STORE_ERROR;
	}
out:
	return (tx_end_ok(c, rc));
}

/** store_authz_count_since(st, agent_id, since): the authorizations agent ${agent_id} created at or after
 * ${since} (the rate limit of drafts/agent-provisioning.md §4); -1 on error. */
int64_t
store_authz_count_since(struct store *st, int64_t agent_id, int64_t since)
{
	struct conn *c;
	int64_t n;

	if ((c = conn_get(st)) == NULL || q_int(c, STMT_AUTHZ_COUNT, QARGS(QI(agent_id), QI(since)), &n) != 1)
		return (-1);
	return (n);
}

/* authz_claim(c, authz_id, agent_id, action, now, identifier): inside the caller's transaction, mark the
 * authorization ${authz_id} finalized if it is ${agent_id}'s, pending and live, and give its identifier
 * (*identifier, the caller frees it).  STORE_NOTFOUND: unknown, another agent's (which learns nothing more), or
 * expired; STORE_REPLAY: already finalized, expired since or not (drafts/agent-provisioning.md §5 step 1 checks
 * alreadyFinalized first); STORE_ERROR (logged) when it is not an authorization for ${action}: the caller
 * dispatches on the stored action, so that is a bug. */
static enum store_rc
authz_claim(
    struct conn *c, const char *authz_id, int64_t agent_id, enum agent_action action, int64_t now, char **identifier)
{
	sqlite3_stmt *s;
	struct agent_authz *a = NULL;
	enum store_rc rc;
	int step;

	if ((s = q_bind(c, STMT_AUTHZ_GET, QARGS(QT(authz_id)))) == NULL || (step = q_step(c, s)) == -1)
		return (STORE_ERROR);
	rc = step == SQLITE_ROW ? authz_read(s, &a) : STORE_NOTFOUND;
	q_done(s);
	if (rc != STORE_OK)
		goto out;
	if (a->agent_id != agent_id) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if (a->action != action) {
		log_warnx("store: authorization %s is for %s, not %s", authz_id, agent_action_name(a->action),
		    agent_action_name(action));
		rc = STORE_ERROR;
		goto out;
	}
	if (a->finalized_at != 0) {
		rc = STORE_REPLAY;
		goto out;
	}
	if (a->expires_at <= now) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	/* The claim: exactly one transaction changes finalized_at from NULL. */
	if ((rc = q_rc(q_exec(c, STMT_AUTHZ_FINALIZE, QARGS(QI(now), QT(authz_id))))) == STORE_NOTFOUND)
		rc = STORE_REPLAY;
	if (rc != STORE_OK)
		goto out;
	*identifier = a->identifier;
	a->identifier = NULL;
out:
	agent_authz_free(a);
	return (rc);
}

/* ---------------------------------------------------------------------------------------------- provisioning */

/** store_provision_create(st, authz_id, agent_id, sub, setup_hash, setup_expires, now, out, held_by): in one
 * transaction, finalize the create authorization ${authz_id} of ${agent_id} (authz_claim()), check that no live
 * identity has its identifier, and insert the identity (inactive, ${sub}, held by ${agent_id}) with the setup
 * token ${setup_hash} expiring at ${setup_expires}.  *out (may be NULL) gets the identity.  STORE_CONFLICT when a
 * live identity has the identifier: *held_by (may be NULL) gets its agent_id (0 for the operator's).  Nothing is
 * changed unless STORE_OK; of callers racing for one identifier exactly one gets STORE_OK.  A clash of ${sub} or
 * ${setup_hash} (fresh random values) with stored ones is STORE_ERROR. */
enum store_rc
store_provision_create(struct store *st, const char *authz_id, int64_t agent_id, const char *sub,
    const char *setup_hash, int64_t setup_expires, int64_t now, struct identity **out, int64_t *held_by)
{
	struct conn *c;
	struct identity *live = NULL, *r = NULL;
	char *identifier = NULL;
	enum store_rc rc;
	int64_t id;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = authz_claim(c, authz_id, agent_id, AGENT_ACTION_CREATE, now, &identifier)) != STORE_OK)
		goto out;
	/* §4 create, checked again under the write lock: no live identity has the identifier. */
	if ((rc = identity_query(c, STMT_IDENTITY_BY_IDENTIFIER, QARGS(QT(identifier)), &live)) != STORE_NOTFOUND) {
		if (rc == STORE_OK) {
			if (held_by != NULL)
				*held_by = live->agent_id;
			rc = STORE_CONFLICT;
		}
		goto out;
	}
	rc = q_new(q_exec(c, STMT_IDENTITY_INSERT, QARGS(QT(identifier), QT(sub), QI(now), QI(now), qref(agent_id))),
	    "identity");
	if (rc != STORE_OK)
		goto out;
	id = sqlite3_last_insert_rowid(c->db);
	if ((rc = q_new(q_exec(c, STMT_SETUP_INSERT, QARGS(QT(setup_hash), QI(id), QI(setup_expires))),
	         "setup token")) != STORE_OK)
		goto out;
	if ((rc = identity_query(c, STMT_IDENTITY_BY_ID, QARGS(QI(id)), &r)) == STORE_NOTFOUND)
		rc = STORE_ERROR; /* inserted a moment ago, under the write lock */
out:
	free(identifier);
	identity_free(live);
	if ((rc = tx_end_ok(c, rc)) == STORE_OK && out != NULL) {
		*out = r;
		r = NULL;
	}
	identity_free(r);
	return (rc);
}

/** store_provision_transfer(st, authz_id, agent_id, now, out, previous): in one transaction, finalize the
 * transfer authorization ${authz_id} of ${agent_id} (authz_claim()) and make ${agent_id} the holder of the live
 * identity with its identifier, keeping its sub, password, sessions and grants; its setup and deletion tokens
 * die (the losing agent's URLs).  *out (may be NULL) gets the identity, *previous (may be NULL) the losing
 * agent's id (0 for the operator).  STORE_NOTFOUND when no live identity has the identifier, STORE_CONFLICT when
 * ${agent_id} already holds it; nothing is changed unless STORE_OK. */
enum store_rc
store_provision_transfer(
    struct store *st, const char *authz_id, int64_t agent_id, int64_t now, struct identity **out, int64_t *previous)
{
	struct conn *c;
	struct identity *r = NULL;
	char *identifier = NULL;
	enum store_rc rc;
	int64_t id = 0, prev = 0;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = authz_claim(c, authz_id, agent_id, AGENT_ACTION_TRANSFER, now, &identifier)) != STORE_OK)
		goto out;
	/* §4 transfer: a live identity has the identifier and this agent does not hold it. */
	if ((rc = identity_query(c, STMT_IDENTITY_BY_IDENTIFIER, QARGS(QT(identifier)), &r)) != STORE_OK)
		goto out;
	id = r->id;
	prev = r->agent_id;
	identity_free(r);
	r = NULL;
	if (prev == agent_id) {
		rc = STORE_CONFLICT;
		goto out;
	}
	if ((rc = q_rc(q_exec(c, STMT_IDENTITY_SET_AGENT, QARGS(qref(agent_id), QI(now), QI(id))))) != STORE_OK)
		goto out;
	if (q_exec(c, STMT_SETUP_DELETE_IDENTITY, QARGS(QI(id))) < 0 ||
	    q_exec(c, STMT_DELETION_DELETE_IDENTITY, QARGS(QI(id))) < 0) {
		rc = STORE_ERROR;
		goto out;
	}
	if ((rc = identity_query(c, STMT_IDENTITY_BY_ID, QARGS(QI(id)), &r)) == STORE_NOTFOUND)
		rc = STORE_ERROR;
out:
	free(identifier);
	if ((rc = tx_end_ok(c, rc)) == STORE_OK) {
		if (previous != NULL)
			*previous = prev;
		if (out != NULL) {
			*out = r;
			r = NULL;
		}
	}
	identity_free(r);
	return (rc);
}

/** store_provision_delete(st, authz_id, agent_id, confirm_hash, confirm_expires, now, out, deleted): in one
 * transaction, finalize the delete authorization ${authz_id} of ${agent_id} (authz_claim()); then an identity
 * held by ${agent_id} without a password (password_hash NULL, whatever its state: no credentials to confirm with)
 * is deleted at once as by store_identity_delete() (*deleted = true), and any other gets the deletion token
 * ${confirm_hash}, expiring at ${confirm_expires}, in place of its earlier ones (*deleted = false).  *out (may be NULL) gets the identity after
 * the change.  STORE_NOTFOUND when no live identity has the identifier, STORE_CONFLICT when another agent (or the
 * operator) holds it; nothing is changed unless STORE_OK. */
enum store_rc
store_provision_delete(struct store *st, const char *authz_id, int64_t agent_id, const char *confirm_hash,
    int64_t confirm_expires, int64_t now, struct identity **out, bool *deleted)
{
	struct conn *c;
	struct identity *r = NULL;
	char *identifier = NULL;
	enum store_rc rc;
	bool gone = false;
	int64_t id = 0;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = authz_claim(c, authz_id, agent_id, AGENT_ACTION_DELETE, now, &identifier)) != STORE_OK)
		goto out;
	/* §4 delete: this agent holds the identifier. */
	if ((rc = identity_query(c, STMT_IDENTITY_BY_IDENTIFIER, QARGS(QT(identifier)), &r)) != STORE_OK)
		goto out;
	id = r->id;
	/* §5 delete: the user confirms with the password; without one there is nobody to ask. */
	gone = r->password_hash == NULL;
	if (r->agent_id != agent_id) {
		rc = STORE_CONFLICT;
		goto out;
	}
	identity_free(r);
	r = NULL;
	if (gone) {
		/* Found live under the write lock a moment ago: NOTFOUND here would be a bug. */
		if ((rc = identity_wipe(c, id, now)) == STORE_NOTFOUND)
			rc = STORE_ERROR;
	} else if (q_exec(c, STMT_DELETION_DELETE_IDENTITY, QARGS(QI(id))) < 0)
		rc = STORE_ERROR;
	else
		rc = q_new(q_exec(c, STMT_DELETION_INSERT, QARGS(QT(confirm_hash), QI(id), QI(confirm_expires))),
		    "deletion token");
	if (rc != STORE_OK)
		goto out;
	if ((rc = identity_query(c, STMT_IDENTITY_BY_ID, QARGS(QI(id)), &r)) == STORE_NOTFOUND)
		rc = STORE_ERROR;
out:
	free(identifier);
	if ((rc = tx_end_ok(c, rc)) == STORE_OK) {
		if (deleted != NULL)
			*deleted = gone;
		if (out != NULL) {
			*out = r;
			r = NULL;
		}
	}
	identity_free(r);
	return (rc);
}

/** store_deletion_peek(st, confirm_hash, now, identity_id): the identity of a live, unused deletion token;
 * STORE_NOTFOUND for any other. */
enum store_rc
store_deletion_peek(struct store *st, const char *confirm_hash, int64_t now, int64_t *identity_id)
{
	return (one_time_peek(st, STMT_DELETION_PEEK, confirm_hash, now, identity_id));
}

/** store_deletion_confirm(st, confirm_hash, now, identity_id): in one transaction consume the deletion token
 * and delete its identity as store_identity_delete() does; *identity_id (may be NULL) gets the identity's id.
 * STORE_NOTFOUND for an unknown or expired token, STORE_REPLAY for a used one (the used token is kept until it
 * expires to tell the two apart); nothing is changed unless STORE_OK. */
enum store_rc
store_deletion_confirm(struct store *st, const char *confirm_hash, int64_t now, int64_t *identity_id)
{
	struct conn *c;
	enum store_rc rc;
	int64_t id = 0;

	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	if ((rc = one_time_check(c, STMT_DELETION_GET, confirm_hash, now, &id)) != STORE_OK ||
	    (rc = one_time_use(c, STMT_DELETION_USE, confirm_hash, now)) != STORE_OK)
		goto out;
	/* A token whose identity is gone would have died with it (identity_wipe): NOTFOUND, nothing changed. */
	rc = identity_wipe(c, id, now);
out:
	if ((rc = tx_end_ok(c, rc)) == STORE_OK && identity_id != NULL)
		*identity_id = id;
	return (rc);
}

/** store_identity_by_identifier_any(st, identifier, agent_id, out): the live identity with ${identifier}, or else
 * the most recently deleted one that ${agent_id} held (for the agent's status request); STORE_NOTFOUND if
 * neither exists. */
enum store_rc
store_identity_by_identifier_any(struct store *st, const char *identifier, int64_t agent_id, struct identity **out)
{
	return (identity_get(st, STMT_IDENTITY_BY_IDENTIFIER_ANY, QARGS(QT(identifier), QI(agent_id)), out));
}

/* --------------------------------------------------------------------------------------------- agent claims */

/** store_claims_set(st, identifier, claims, now): merge the members of the JSON object ${claims} into the claims
 * of ${identifier} (a member whose value is null removes the claim; any other value is stored as compact JSON
 * text), in one transaction, all or nothing.  STORE_CONFLICT for ${claims} not an object, more than
 * STORE_CLAIMS_MAX members, or a value over STORE_CLAIM_VALUE_MAX bytes serialised. */
enum store_rc
store_claims_set(struct store *st, const char *identifier, json_t *claims, int64_t now)
{
	struct conn *c;
	const char *name;
	json_t *v;
	char *text = NULL;
	enum store_rc rc = STORE_OK;

	if (!json_is_object(claims) || json_object_size(claims) > STORE_CLAIMS_MAX)
		return (STORE_CONFLICT);
	if ((c = tx_begin(st)) == NULL)
		return (STORE_ERROR);
	json_object_foreach(claims, name, v)
	{
		if (json_is_null(v)) {
			if (q_exec(c, STMT_CLAIMS_DELETE, QARGS(QT(identifier), QT(name))) < 0)
				rc = STORE_ERROR;
		} else if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
			log_warnx("store: claim %s: out of memory", name);
			rc = STORE_ERROR;
		} else if (strlen(text) > STORE_CLAIM_VALUE_MAX)
			rc = STORE_CONFLICT;
		else
			rc = q_rc(q_exec(c, STMT_CLAIMS_UPSERT, QARGS(QT(identifier), QT(name), QT(text), QI(now))));
		free(text);
		text = NULL;
		if (rc != STORE_OK)
			break;
	}
	return (tx_end_ok(c, rc));
}

/** store_claims_get(st, identifier, out): the claims of ${identifier} as a JSON object ({} when none); caller
 * json_decref()s. */
enum store_rc
store_claims_get(struct store *st, const char *identifier, json_t **out)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	json_t *o = NULL, *v;
	json_error_t jerr;
	enum store_rc rc = STORE_ERROR;
	int step;

	if ((c = conn_get(st)) == NULL || (s = q_bind(c, STMT_CLAIMS_GET, QARGS(QT(identifier)))) == NULL)
		return (STORE_ERROR);
	if ((o = json_object()) == NULL)
		goto oom;
	while ((step = q_step(c, s)) == SQLITE_ROW) {
		if ((v = json_loads((const char *)sqlite3_column_text(s, 1), JSON_DECODE_ANY, &jerr)) == NULL) {
			log_warnx("store: claim %s of %s: %s", (const char *)sqlite3_column_text(s, 0), identifier,
			    jerr.text);
			goto out;
		}
		if (json_object_set_new(o, (const char *)sqlite3_column_text(s, 0), v) == -1)
			goto oom;
	}
	if (step == -1) {
		s = NULL; /* done by q_step() */
		goto out;
	}
	*out = o;
	o = NULL;
	rc = STORE_OK;
	goto out;
oom:
	log_warnx("store: claims: out of memory");
out:
	q_done(s);
	json_decref(o);
	return (rc);
}
