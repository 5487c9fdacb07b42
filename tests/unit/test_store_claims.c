/*
 * test_store_claims.c: the consent and agent-claims parts of the store contract (include/store.h "session",
 * "consents", "the agent's claims"), drafts/claims.md §3, §5 and §6, on a real SQLite file in a temporary
 * directory: migration 3 over a version-2 database, the account page's sessions (list, end), per-claim decisions
 * (set, get, list, revoke with the grants of the client), their deletion with the client and with the identity,
 * and the agent's claims (merge, delete with null, limits).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
/* Only to build a version-2 database and to look at rows the contract does not return. */
#include <sqlite3.h>

#include "../../src/store/schema.h"
#include "store.h"
#include "test.h"
#include "util.h"

#define NOW ((int64_t)1700000000)
#define PWHASH "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"

static char tmpdir[] = "/tmp/anchorid-test-store-claims-XXXXXX";
static int dbseq;

static void
fresh(char *path, size_t len)
{
	snprintf(path, len, "%s/db%d.sqlite", tmpdir, ++dbseq);
}

/* db_count(path, sql): the integer the one-row SELECT ${sql} gives on the database at ${path}, or -1. */
static int64_t
db_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (n);
}

/* active_identity(st, identifier, sub): an identity made active through a setup token; its id, or -1. */
static int64_t
active_identity(struct store *st, const char *identifier, const char *sub)
{
	struct identity *id = NULL;
	char tok[128];
	int64_t rowid, got = -1;

	if (store_identity_create(st, identifier, sub, NOW, &id) != STORE_OK)
		return (-1);
	rowid = id->id;
	identity_free(id);
	snprintf(tok, sizeof(tok), "setup-%s", sub);
	if (store_setup_create(st, rowid, tok, NOW + 3600) != STORE_OK ||
	    store_setup_use(st, tok, PWHASH, NOW, &got) != STORE_OK)
		return (-1);
	return (got == rowid ? rowid : -1);
}

/* add_client(st, client_id, name, uri1, uri2): a client whose metadata has ${name} as client_name (none when NULL)
 * and redirect_uris [${uri1}, ${uri2}]. */
static enum store_rc
add_client(struct store *st, const char *client_id, const char *name, const char *uri1, const char *uri2)
{
	struct client c = { 0 };
	enum store_rc rc;

	c.client_id = (char *)client_id;
	c.reg_token_hash = (char *)"reg-hash";
	c.metadata = json_pack("{s:[s,s], s:s}", "redirect_uris", uri1, uri2, "token_endpoint_auth_method", "none");
	if (name != NULL)
		json_object_set_new(c.metadata, "client_name", json_string(name));
	c.source = (char *)"192.0.2.1";
	c.created_at = c.updated_at = NOW;
	rc = store_client_create(st, &c);
	json_decref(c.metadata);
	return (rc);
}

/* add_grant(st, code, client_id, identity_id, jti): a code redeemed into a grant whose access token is ${jti} (and
 * refresh token "r-${jti}"). */
static enum store_rc
add_grant(struct store *st, const char *code, const char *client_id, int64_t identity_id, const char *jti)
{
	struct authz_code c = { 0 };
	struct grant_tokens t = { 0 };
	char grant_id[128], refresh[128];
	enum store_rc rc;

	c.code_hash = (char *)code;
	c.client_id = (char *)client_id;
	c.identity_id = identity_id;
	c.redirect_uri = (char *)"https://rp.example/cb";
	c.scope = (char *)"openid email";
	c.claims = (char *)"[\"email\"]";
	c.amr = (char *)"[\"pwd\"]";
	c.auth_time = NOW - 5;
	c.expires_at = NOW + 60;
	if ((rc = store_code_create(st, &c)) != STORE_OK)
		return (rc);
	snprintf(grant_id, sizeof(grant_id), "g-%s", jti);
	snprintf(refresh, sizeof(refresh), "r-%s", jti);
	t.grant_id = grant_id;
	t.refresh_hash = refresh;
	t.refresh_expires_at = NOW + 86400;
	t.access_jti = jti;
	t.access_expires_at = NOW + 600;
	return (store_code_redeem(st, code, client_id, NOW, &t, NULL));
}

static bool
access_ok(struct store *st, const char *jti)
{
	struct grant *g = NULL;
	enum store_rc rc;

	rc = store_access_check(st, jti, NOW + 1, &g);
	grant_free(g);
	return (rc == STORE_OK);
}

/* same_json(got, want, what): ${got} is the JSON of the text ${want}; both printed when not. */
static bool
same_json(json_t *got, const char *want, const char *what)
{
	json_t *w;
	char *t;
	bool r;

	w = json_loads(want, 0, NULL);
	if (!(r = got != NULL && w != NULL && json_equal(got, w))) {
		t = got != NULL ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		fprintf(stderr, "%s: %s, expected %s\n", what, t != NULL ? t : "(none)", want);
		free(t);
	}
	json_decref(w);
	return (r);
}

/* consent_is(st, identity_id, client_id, want): store_consent_get gives exactly the JSON ${want}. */
static bool
consent_is(struct store *st, int64_t identity_id, const char *client_id, const char *want)
{
	json_t *got = NULL;
	bool r;

	r = store_consent_get(st, identity_id, client_id, &got) == STORE_OK && same_json(got, want, "consent");
	json_decref(got);
	return (r);
}

/* consent_set(st, identity_id, client_id, json, now): store_consent_set with the decisions in ${json}. */
static enum store_rc
consent_set(struct store *st, int64_t identity_id, const char *client_id, const char *json, int64_t now)
{
	json_t *d;
	enum store_rc rc;

	if ((d = json_loads(json, JSON_DECODE_ANY, NULL)) == NULL)
		return (STORE_ERROR);
	rc = store_consent_set(st, identity_id, client_id, d, now);
	json_decref(d);
	return (rc);
}

/* claims_set(st, identifier, json, now) and claims_are(st, identifier, want): as consent_set and consent_is. */
static enum store_rc
claims_set(struct store *st, const char *identifier, const char *json, int64_t now)
{
	json_t *d;
	enum store_rc rc;

	if ((d = json_loads(json, JSON_DECODE_ANY, NULL)) == NULL)
		return (STORE_ERROR);
	rc = store_claims_set(st, identifier, d, now);
	json_decref(d);
	return (rc);
}

static bool
claims_are(struct store *st, const char *identifier, const char *want)
{
	json_t *got = NULL;
	bool r;

	r = store_claims_get(st, identifier, &got) == STORE_OK && same_json(got, want, "claims");
	json_decref(got);
	return (r);
}

/* add_session(st, cookie, identity_id, created_at, expires_at): a session stored by token_hash(${cookie}); the
 * hash, which the caller frees (NULL on failure). */
static char *
add_session(struct store *st, const char *cookie, int64_t identity_id, int64_t created_at, int64_t expires_at)
{
	struct session s = { 0 };
	char *h;

	if ((h = token_hash(cookie)) == NULL)
		return (NULL);
	s.id_hash = h;
	s.identity_id = identity_id;
	s.auth_time = created_at - 1;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = created_at;
	s.expires_at = expires_at;
	if (store_session_create(st, &s) != STORE_OK) {
		free(h);
		return (NULL);
	}
	return (h);
}

static bool
session_live(struct store *st, const char *id_hash)
{
	struct session *s = NULL;
	enum store_rc rc;

	rc = store_session_get(st, id_hash, NOW + 1, &s);
	session_free(s);
	return (rc == STORE_OK);
}

/* A database as a version-2 binary left it, with an identity, a client and a session; store_open() applies
 * migration 3 over it and the new tables work with the old rows. */
static void
test_migration_from_v2(void)
{
	struct store *st;
	struct identity *id = NULL;
	struct client *cl = NULL;
	json_t *list = NULL;
	sqlite3 *db = NULL;
	char path[256], *err = NULL;
	int64_t old = 0;

	CHECK(schema_nmigrations >= 3);
	fresh(path, sizeof(path));
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	/* The schema_version table as store_open() creates it, then migrations 1 and 2 exactly as released. */
	CHECK(sqlite3_exec(db,
	          "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;"
	          "INSERT INTO schema_version(version, applied_at) VALUES (1, 1700000000), (2, 1700000001);",
	          NULL, NULL, &err) == SQLITE_OK);
	CHECK(sqlite3_exec(db, schema_migrations[0], NULL, NULL, &err) == SQLITE_OK);
	CHECK(sqlite3_exec(db, schema_migrations[1], NULL, NULL, &err) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "INSERT INTO identities(identifier, sub, state, password_hash, created_at, updated_at, "
	          "password_changed_at) VALUES ('old.example', 'sub-old', 'active', 'hash', 1700000000, 1700000000, "
	          "1700000000);"
	          "INSERT INTO clients(client_id, metadata, created_at, updated_at) VALUES ('rp-old', "
	          "'{\"client_name\":\"Old RP\",\"redirect_uris\":[\"https://old.example/cb\"]}', 1700000000, "
	          "1700000000);"
	          "INSERT INTO sessions(id_hash, identity_id, auth_time, amr, created_at, expires_at) VALUES "
	          "('0123456789abcdefXYZ', 1, 1700000000, '[\"pwd\"]', 1700000000, 1700009999);",
	          NULL, NULL, &err) == SQLITE_OK);
	if (err != NULL)
		fprintf(stderr, "sqlite3_exec: %s\n", err);
	sqlite3_free(err);
	sqlite3_close(db);
	CHECK(db_count(path, "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('consents', 'agent_claims')") == 0);

	CHECK((st = store_open(path)) != NULL);
	if (st == NULL)
		return;
	CHECK(store_schema_version(st) == (int)schema_nmigrations);
	/* The old rows are all there. */
	CHECK(store_identity_by_identifier(st, "old.example", &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_ACTIVE);
	CHECK_STR(id ? id->sub : NULL, "sub-old");
	CHECK_STR(id ? id->password_hash : NULL, "hash");
	if (id != NULL)
		old = id->id;
	identity_free(id);
	CHECK(store_client_get(st, "rp-old", &cl) == STORE_OK);
	CHECK_STR(cl ? json_string_value(json_object_get(cl->metadata, "client_name")) : NULL, "Old RP");
	client_free(cl);
	CHECK(session_live(st, "0123456789abcdefXYZ"));
	/* The new tables work with them. */
	CHECK(consent_set(st, old, "rp-old", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(consent_is(st, old, "rp-old", "{\"email\":true}"));
	CHECK(store_consent_list(st, old, &list) == STORE_OK && json_array_size(list) == 1);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(list, 0), "redirect_uri")), "https://old.example/cb");
	json_decref(list);
	list = NULL;
	CHECK(store_session_list(st, old, NOW, &list) == STORE_OK && json_array_size(list) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "id")), "0123456789abcdef");
	json_decref(list);
	CHECK(claims_set(st, "old.example", "{\"email\":\"old@example.com\"}", NOW) == STORE_OK);
	CHECK(claims_are(st, "old.example", "{\"email\":\"old@example.com\"}"));
	store_close(st);

	/* Reopening applies nothing again and keeps the new rows. */
	CHECK((st = store_open(path)) != NULL);
	if (st == NULL)
		return;
	CHECK(store_schema_version(st) == (int)schema_nmigrations);
	CHECK(consent_is(st, old, "rp-old", "{\"email\":true}"));
	CHECK(claims_are(st, "old.example", "{\"email\":\"old@example.com\"}"));
	store_close(st);
}

/* drafts/claims.md §6: the account page lists the live sessions of its identity, newest first, by handle, and ends
 * one only for that identity. */
static void
test_sessions(void)
{
	struct store *st;
	json_t *list = NULL, *o;
	char path[256], handle[32], *h1 = NULL, *h2 = NULL, *h3 = NULL, *hb = NULL;
	int64_t alice, bob;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(
	    store_session_list(st, alice, NOW, &list) == STORE_OK && json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
	list = NULL;

	CHECK((h1 = add_session(st, "cookie-1", alice, NOW - 20, NOW + 100)) != NULL);
	CHECK((h2 = add_session(st, "cookie-2", alice, NOW - 10, NOW + 100)) != NULL);
	CHECK((h3 = add_session(st, "cookie-3", alice, NOW - 5, NOW)) != NULL); /* expired at NOW */
	CHECK((hb = add_session(st, "cookie-b", bob, NOW - 1, NOW + 100)) != NULL);
	if (h1 == NULL || h2 == NULL || h3 == NULL || hb == NULL)
		goto out;

	/* Live ones of alice only, newest first, each by the first 16 characters of its id_hash. */
	CHECK(store_session_list(st, alice, NOW, &list) == STORE_OK && json_array_size(list) == 2);
	o = json_array_get(list, 0);
	CHECK(strlen(json_string_value(json_object_get(o, "id"))) == 16);
	CHECK(strncmp(json_string_value(json_object_get(o, "id")), h2, 16) == 0);
	CHECK(json_integer_value(json_object_get(o, "created_at")) == NOW - 10);
	CHECK(json_integer_value(json_object_get(o, "auth_time")) == NOW - 11);
	CHECK(json_integer_value(json_object_get(o, "expires_at")) == NOW + 100);
	CHECK(json_object_size(o) == 4);
	o = json_array_get(list, 1);
	CHECK(strncmp(json_string_value(json_object_get(o, "id")), h1, 16) == 0);
	json_decref(list);
	list = NULL;
	CHECK(store_session_list(st, alice, NOW - 1, &list) == STORE_OK && json_array_size(list) == 3);
	json_decref(list);
	list = NULL;

	/* Ending: another identity's handle, a shorter prefix, the whole hash or a pattern end nothing. */
	snprintf(handle, sizeof(handle), "%.16s", h1);
	CHECK(store_session_end(st, bob, handle) == STORE_NOTFOUND);
	CHECK(session_live(st, h1));
	snprintf(handle, sizeof(handle), "%.15s", h1);
	CHECK(store_session_end(st, alice, handle) == STORE_NOTFOUND);
	CHECK(store_session_end(st, alice, h1) == STORE_NOTFOUND);
	CHECK(store_session_end(st, alice, "%%%%%%%%%%%%%%%%") == STORE_NOTFOUND);
	CHECK(store_session_end(st, alice, "________________") == STORE_NOTFOUND);
	CHECK(store_session_end(st, alice, "") == STORE_NOTFOUND);
	CHECK(session_live(st, h1));
	snprintf(handle, sizeof(handle), "%.16s", hb);
	CHECK(store_session_end(st, alice, handle) == STORE_NOTFOUND);
	CHECK(session_live(st, hb));

	/* The right one ends, once; the others stay. */
	snprintf(handle, sizeof(handle), "%.16s", h1);
	CHECK(store_session_end(st, alice, handle) == STORE_OK);
	CHECK(!session_live(st, h1));
	CHECK(store_session_end(st, alice, handle) == STORE_NOTFOUND);
	CHECK(session_live(st, h2));
	CHECK(session_live(st, hb));
	CHECK(store_session_list(st, alice, NOW, &list) == STORE_OK && json_array_size(list) == 1);
	CHECK(strncmp(json_string_value(json_object_get(json_array_get(list, 0), "id")), h2, 16) == 0);
	json_decref(list);
	list = NULL;
	CHECK(db_count(path, "SELECT COUNT(*) FROM sessions") == 3);
out:
	free(h1);
	free(h2);
	free(h3);
	free(hb);
	store_close(st);
}

/* drafts/claims.md §3: a decision per identity, client and claim; set is an upsert, all or nothing. */
static void
test_consent_set_get(void)
{
	struct store *st;
	json_t *d;
	char path[256], name[32];
	int64_t alice, bob;
	int i;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(add_client(st, "rp-a", "RP A", "https://a.example/cb", "https://a.example/cb2") == STORE_OK);
	CHECK(add_client(st, "rp-b", "RP B", "https://b.example/cb", "https://b.example/cb2") == STORE_OK);

	CHECK(consent_is(st, alice, "rp-a", "{}"));
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"phone_number\":false}", NOW) == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{\"email\":true,\"phone_number\":false}"));
	/* Per client and per identity. */
	CHECK(consent_is(st, alice, "rp-b", "{}"));
	CHECK(consent_is(st, bob, "rp-a", "{}"));
	/* Set overwrites the claims it names and keeps the others. */
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":false,\"address\":true}", NOW + 1) == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{\"email\":false,\"phone_number\":false,\"address\":true}"));
	CHECK(consent_set(st, alice, "rp-a", "{}", NOW + 2) == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{\"email\":false,\"phone_number\":false,\"address\":true}"));

	/* Refused: not booleans, not an object, too many; nothing of such a call is stored. */
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"name\":\"yes\"}", NOW) == STORE_CONFLICT);
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"name\":1}", NOW) == STORE_CONFLICT);
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"name\":null}", NOW) == STORE_CONFLICT);
	CHECK(consent_set(st, alice, "rp-a", "[\"email\"]", NOW) == STORE_CONFLICT);
	CHECK(consent_set(st, alice, "rp-a", "true", NOW) == STORE_CONFLICT);
	CHECK(store_consent_set(st, alice, "rp-a", NULL, NOW) == STORE_CONFLICT);
	d = json_object();
	for (i = 0; i < 65; i++) {
		snprintf(name, sizeof(name), "claim_%d", i);
		json_object_set_new(d, name, json_true());
	}
	CHECK(store_consent_set(st, alice, "rp-b", d, NOW) == STORE_CONFLICT);
	CHECK(consent_is(st, alice, "rp-b", "{}"));
	json_object_del(d, "claim_64");
	CHECK(store_consent_set(st, alice, "rp-b", d, NOW) == STORE_OK);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents WHERE client_id = 'rp-b'") == 64);
	json_decref(d);
	CHECK(consent_is(st, alice, "rp-a", "{\"email\":false,\"phone_number\":false,\"address\":true}"));

	/* Unknown client or identity, deleted identity: nothing stored. */
	CHECK(consent_set(st, alice, "rp-x", "{\"email\":true}", NOW) == STORE_NOTFOUND);
	CHECK(consent_set(st, 424242, "rp-a", "{\"email\":true}", NOW) == STORE_NOTFOUND);
	CHECK(store_identity_delete(st, bob, NOW) == STORE_OK);
	CHECK(consent_set(st, bob, "rp-a", "{\"email\":true}", NOW) == STORE_NOTFOUND);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents") == 3 + 64);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents WHERE client_id = 'rp-x' OR identity_id <> 1") == 0);
	store_close(st);
}

/* drafts/claims.md §6: a revoked claim is refused from then on; revoking a relying party removes its decisions and
 * revokes its tokens (those of that identity and that client only). */
static void
test_consent_revoke(void)
{
	struct store *st;
	struct grant *g = NULL;
	struct grant_tokens t = { 0 };
	char path[256];
	int64_t alice, bob;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(add_client(st, "rp-a", "RP A", "https://a.example/cb", "https://a.example/cb2") == STORE_OK);
	CHECK(add_client(st, "rp-b", "RP B", "https://b.example/cb", "https://b.example/cb2") == STORE_OK);
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"email_verified\":true,\"phone_number\":false}", NOW) ==
	    STORE_OK);
	CHECK(consent_set(st, alice, "rp-b", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(consent_set(st, bob, "rp-a", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(add_grant(st, "code-a1", "rp-a", alice, "j-a1") == STORE_OK);
	CHECK(add_grant(st, "code-a2", "rp-a", alice, "j-a2") == STORE_OK);
	CHECK(add_grant(st, "code-b", "rp-b", alice, "j-b") == STORE_OK);
	CHECK(add_grant(st, "code-bob", "rp-a", bob, "j-bob") == STORE_OK);

	/* One claim: refused from now on; the grant stays (its clm is filtered by the caller, drafts/claims.md §4). */
	CHECK(store_consent_revoke(st, alice, "rp-a", "email", NOW + 1) == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{\"email\":false,\"email_verified\":true,\"phone_number\":false}"));
	CHECK(store_consent_revoke(st, alice, "rp-a", "email", NOW + 2) == STORE_NOTFOUND);        /* refused already */
	CHECK(store_consent_revoke(st, alice, "rp-a", "phone_number", NOW + 2) == STORE_NOTFOUND); /* never granted */
	CHECK(store_consent_revoke(st, alice, "rp-a", "address", NOW + 2) == STORE_NOTFOUND);      /* never decided */
	CHECK(store_consent_revoke(st, bob, "rp-b", "email", NOW + 2) == STORE_NOTFOUND);
	CHECK(consent_is(st, bob, "rp-a", "{\"email\":true}"));
	CHECK(access_ok(st, "j-a1"));

	/* The whole client: decisions gone and both of alice's grants of rp-a revoked, in one transaction. */
	CHECK(store_consent_revoke(st, alice, "rp-a", NULL, NOW + 3) == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{}"));
	CHECK(store_access_check(st, "j-a1", NOW + 4, &g) == STORE_NOTFOUND && g == NULL);
	CHECK(store_access_check(st, "j-a2", NOW + 4, &g) == STORE_NOTFOUND && g == NULL);
	t.refresh_hash = "r-new";
	t.refresh_expires_at = NOW + 86400;
	t.access_jti = "j-new";
	t.access_expires_at = NOW + 600;
	CHECK(store_refresh_rotate(st, "r-j-a1", "rp-a", NOW + 4, &t, &g) == STORE_NOTFOUND && g == NULL);
	/* Other clients' grants and decisions, other identities' grants of the same client: untouched. */
	CHECK(access_ok(st, "j-b"));
	CHECK(consent_is(st, alice, "rp-b", "{\"email\":true}"));
	CHECK(access_ok(st, "j-bob"));
	CHECK(consent_is(st, bob, "rp-a", "{\"email\":true}"));
	/* Again: nothing left to revoke. */
	CHECK(store_consent_revoke(st, alice, "rp-a", NULL, NOW + 5) == STORE_NOTFOUND);
	CHECK(store_consent_revoke(st, alice, "rp-x", NULL, NOW + 5) == STORE_NOTFOUND);

	/* Grants without decisions are still revoked (and that counts as a change), decisions without grants too. */
	CHECK(store_consent_revoke(st, bob, "rp-a", "email", NOW + 6) == STORE_OK);
	CHECK(consent_is(st, bob, "rp-a", "{\"email\":false}"));
	CHECK(add_client(st, "rp-c", "RP C", "https://c.example/cb", "https://c.example/cb2") == STORE_OK);
	CHECK(add_grant(st, "code-c", "rp-c", bob, "j-c") == STORE_OK);
	CHECK(store_consent_revoke(st, bob, "rp-c", NULL, NOW + 6) == STORE_OK);
	CHECK(!access_ok(st, "j-c"));
	CHECK(store_consent_revoke(st, bob, "rp-c", NULL, NOW + 6) == STORE_NOTFOUND);
	CHECK(store_consent_revoke(st, alice, "rp-b", NULL, NOW + 7) == STORE_OK);
	CHECK(!access_ok(st, "j-b"));
	CHECK(access_ok(st, "j-bob"));
	store_close(st);
}

/* drafts/claims.md §6: the account page's list, one entry per relying party, newest first. */
static void
test_consent_list(void)
{
	struct store *st;
	json_t *list = NULL, *e, *want;
	char path[256];
	int64_t alice, bob;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(add_client(st, "rp-a", "Example Shop", "https://shop.example/cb", "https://shop.example/other") ==
	    STORE_OK);
	CHECK(add_client(st, "rp-b", NULL, "https://b.example/cb", "https://b.example/cb2") == STORE_OK);
	CHECK(add_client(st, "rp-c", "RP C", "https://c.example/cb", "https://c.example/cb2") == STORE_OK);
	CHECK(store_consent_list(st, alice, &list) == STORE_OK && json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
	list = NULL;

	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true,\"phone_number\":false}", NOW) == STORE_OK);
	CHECK(consent_set(st, alice, "rp-b", "{\"address\":true}", NOW + 5) == STORE_OK);
	CHECK(consent_set(st, bob, "rp-c", "{\"email\":true}", NOW + 9) == STORE_OK);
	CHECK(store_consent_list(st, alice, &list) == STORE_OK && json_array_size(list) == 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "client_id")), "rp-b");
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "client_id")), "rp-a");
	json_decref(list);
	list = NULL;

	/* A later decision for rp-a brings it to the top. */
	CHECK(store_consent_revoke(st, alice, "rp-a", "email", NOW + 10) == STORE_OK);
	CHECK(store_consent_list(st, alice, &list) == STORE_OK && json_array_size(list) == 2);
	e = json_array_get(list, 0);
	want = json_pack("{s:s, s:s, s:s, s:I, s:{s:b, s:b}}", "client_id", "rp-a", "client_name", "Example Shop",
	    "redirect_uri", "https://shop.example/cb", "updated_at", (json_int_t)(NOW + 10), "claims", "email", 0,
	    "phone_number", 0);
	CHECK(json_equal(e, want));
	json_decref(want);
	/* No client_name in the metadata: null. */
	e = json_array_get(list, 1);
	want = json_pack("{s:s, s:n, s:s, s:I, s:{s:b}}", "client_id", "rp-b", "client_name", "redirect_uri",
	    "https://b.example/cb", "updated_at", (json_int_t)(NOW + 5), "claims", "address", 1);
	CHECK(json_equal(e, want));
	json_decref(want);
	json_decref(list);
	list = NULL;

	CHECK(store_consent_list(st, bob, &list) == STORE_OK && json_array_size(list) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "client_id")), "rp-c");
	json_decref(list);
	store_close(st);
}

/* Decisions die with their client (cascade) and with their identity (identity_wipe, on every deletion path). */
static void
test_consent_cascade(void)
{
	struct store *st;
	struct agent a = { 0 }, *ag = NULL;
	struct agent_authz az = { 0 };
	struct identity *id = NULL;
	json_t *list = NULL;
	char path[256];
	int64_t alice, bob, carol = 0, agent = 0, gone = 0;
	bool deleted = true;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(add_client(st, "rp-a", "RP A", "https://a.example/cb", "https://a.example/cb2") == STORE_OK);
	CHECK(add_client(st, "rp-b", "RP B", "https://b.example/cb", "https://b.example/cb2") == STORE_OK);
	CHECK(consent_set(st, alice, "rp-a", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(consent_set(st, alice, "rp-b", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(consent_set(st, bob, "rp-a", "{\"email\":true,\"address\":false}", NOW) == STORE_OK);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents") == 4);

	/* store_client_delete: the client's decisions go, by cascade; a client registered again with the same id
	 * (cannot happen with random ids, but the rows must be gone, not hidden) starts with none. */
	CHECK(store_client_delete(st, "rp-a") == STORE_OK);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents") == 1);
	CHECK(consent_is(st, alice, "rp-b", "{\"email\":true}"));
	CHECK(add_client(st, "rp-a", "RP A", "https://a.example/cb", "https://a.example/cb2") == STORE_OK);
	CHECK(consent_is(st, alice, "rp-a", "{}"));
	CHECK(consent_is(st, bob, "rp-a", "{}"));
	CHECK(store_consent_list(st, alice, &list) == STORE_OK && json_array_size(list) == 1);
	json_decref(list);
	list = NULL;

	/* store_identity_delete: the identity's decisions go; others stay. */
	CHECK(consent_set(st, bob, "rp-a", "{\"email\":true}", NOW) == STORE_OK);
	CHECK(store_identity_delete(st, alice, NOW + 1) == STORE_OK);
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents WHERE identity_id = 1") == 0);
	CHECK(consent_is(st, alice, "rp-b", "{}"));
	CHECK(store_consent_list(st, alice, &list) == STORE_OK && json_array_size(list) == 0);
	json_decref(list);
	list = NULL;
	CHECK(consent_is(st, bob, "rp-a", "{\"email\":true}"));

	/* store_deletion_confirm (the agent's deletion, confirmed by the user) goes through the same wipe. */
	a.name = (char *)"registrar";
	a.issuer = (char *)"https://registrar.example.org";
	a.jwk = (char *)"{\"kty\":\"EC\"}";
	a.thumbprint = (char *)"tp";
	CHECK(store_agent_create(st, &a, NOW) == STORE_OK && store_agent_get(st, "registrar", &ag) == STORE_OK);
	if (ag != NULL)
		agent = ag->id;
	agent_free(ag);
	az.agent_id = agent;
	az.token = (char *)"token";
	az.thumbprint = (char *)"tp";
	az.created_at = NOW;
	az.expires_at = NOW + 3600;
	az.identifier = (char *)"carol.example";
	az.id = (char *)"az-create";
	az.action = AGENT_ACTION_CREATE;
	CHECK(store_authz_create(st, &az) == STORE_OK);
	CHECK(
	    store_provision_create(st, "az-create", agent, "sub-c", "setup-c", NOW + 600, NOW, &id, NULL) == STORE_OK);
	if (id != NULL)
		carol = id->id;
	identity_free(id);
	id = NULL;
	CHECK(store_setup_use(st, "setup-c", PWHASH, NOW, NULL) == STORE_OK);
	CHECK(consent_set(st, carol, "rp-b", "{\"email\":true,\"name\":false}", NOW) == STORE_OK);
	az.id = (char *)"az-delete";
	az.action = AGENT_ACTION_DELETE;
	CHECK(store_authz_create(st, &az) == STORE_OK);
	CHECK(store_provision_delete(st, "az-delete", agent, "confirm-c", NOW + 600, NOW, &id, &deleted) == STORE_OK);
	CHECK(!deleted);
	identity_free(id);
	CHECK(consent_is(st, carol, "rp-b", "{\"email\":true,\"name\":false}"));
	CHECK(store_deletion_confirm(st, "confirm-c", NOW + 1, &gone) == STORE_OK && gone == carol);
	CHECK(consent_is(st, carol, "rp-b", "{}"));
	CHECK(db_count(path, "SELECT COUNT(*) FROM consents") == 1);
	store_close(st);
}

/* drafts/claims.md §5: the agent's claims, merged per identifier; null deletes; compact JSON text; limits. */
static void
test_claims(void)
{
	struct store *st;
	json_t *d;
	char path[256], name[32], *big;
	int i;

	fresh(path, sizeof(path));
	if ((st = store_open(path)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(claims_are(st, "alice.example", "{}"));
	CHECK(claims_set(st, "alice.example",
	          "{\"email\": \"alice@example.com\", \"email_verified\": true, "
	          "\"address\": {\"country\": \"DE\", \"locality\": \"Köln\"}, \"n\": 1.5, \"l\": [1, \"x\", null]}",
	          NOW) == STORE_OK);
	CHECK(claims_are(st, "alice.example",
	    "{\"email\":\"alice@example.com\",\"email_verified\":true,\"address\":{\"country\":\"DE\","
	    "\"locality\":\"Köln\"},\"n\":1.5,\"l\":[1,\"x\",null]}"));
	CHECK(db_count(path,
	          "SELECT COUNT(*) FROM agent_claims WHERE identifier = 'alice.example' AND name = 'address' AND "
	          "value = '{\"country\":\"DE\",\"locality\":\"Köln\"}' AND updated_at = 1700000000") == 1);
	CHECK(db_count(path,
	          "SELECT COUNT(*) FROM agent_claims WHERE name = 'email' AND value = "
	          "'\"alice@example.com\"'") == 1);
	CHECK(claims_are(st, "bob.example", "{}"));

	/* Merge: named members replaced or added, the others kept; null removes (also one that is not there). */
	CHECK(claims_set(st, "alice.example", "{\"email\":\"a2@example.com\",\"phone_number\":\"+49 221 1\"}",
	          NOW + 1) == STORE_OK);
	CHECK(claims_set(st, "alice.example", "{\"l\":null,\"n\":null,\"nickname\":null}", NOW + 2) == STORE_OK);
	CHECK(claims_are(st, "alice.example",
	    "{\"email\":\"a2@example.com\",\"email_verified\":true,\"address\":{\"country\":\"DE\","
	    "\"locality\":\"Köln\"},\"phone_number\":\"+49 221 1\"}"));
	CHECK(claims_set(st, "alice.example", "{}", NOW + 3) == STORE_OK);
	CHECK(claims_set(st, "bob.example", "{\"email\":\"bob@example.com\"}", NOW + 3) == STORE_OK);
	CHECK(claims_are(st, "bob.example", "{\"email\":\"bob@example.com\"}"));
	CHECK(claims_set(st, "alice.example", "{\"email\":null}", NOW + 4) == STORE_OK);
	CHECK(claims_are(st, "bob.example", "{\"email\":\"bob@example.com\"}"));

	/* Refused, nothing of the call stored: not an object, more than 64 members, a value over 4096 bytes. */
	CHECK(claims_set(st, "alice.example", "[1]", NOW) == STORE_CONFLICT);
	CHECK(claims_set(st, "alice.example", "\"x\"", NOW) == STORE_CONFLICT);
	CHECK(store_claims_set(st, "alice.example", NULL, NOW) == STORE_CONFLICT);
	d = json_object();
	for (i = 0; i < 65; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		json_object_set_new(d, name, json_integer(i));
	}
	CHECK(store_claims_set(st, "carol.example", d, NOW) == STORE_CONFLICT);
	CHECK(claims_are(st, "carol.example", "{}"));
	json_object_del(d, "c64");
	CHECK(store_claims_set(st, "carol.example", d, NOW) == STORE_OK);
	CHECK(db_count(path, "SELECT COUNT(*) FROM agent_claims WHERE identifier = 'carol.example'") == 64);
	json_decref(d);

	if ((big = malloc(4096)) == NULL) {
		CHECK(big != NULL);
		store_close(st);
		return;
	}
	memset(big, 'x', 4094); /* with its quotes: 4096 bytes serialised */
	big[4094] = '\0';
	d = json_pack("{s:s, s:s}", "website", "https://alice.example", "picture", big);
	CHECK(store_claims_set(st, "alice.example", d, NOW) == STORE_OK);
	json_decref(d);
	big[4093] = '"'; /* escaped: 4097 */
	d = json_pack("{s:s, s:s}", "zoneinfo", "Europe/Berlin", "picture", big);
	CHECK(store_claims_set(st, "alice.example", d, NOW) == STORE_CONFLICT);
	json_decref(d);
	d = json_pack("{s:s, s:[s]}", "zoneinfo", "Europe/Berlin", "picture", big);
	CHECK(store_claims_set(st, "alice.example", d, NOW) == STORE_CONFLICT);
	json_decref(d);
	free(big);
	CHECK(db_count(path,
	          "SELECT COUNT(*) FROM agent_claims WHERE identifier = 'alice.example' AND "
	          "name = 'picture' AND length(value) = 4096") == 1);
	CHECK(db_count(path, "SELECT COUNT(*) FROM agent_claims WHERE name = 'zoneinfo'") == 0);
	CHECK(db_count(path, "SELECT COUNT(*) FROM agent_claims WHERE identifier = 'alice.example'") == 5);
	store_close(st);
}

static void
cleanup(void)
{
	char path[300];
	int i;

	for (i = 1; i <= dbseq; i++) {
		snprintf(path, sizeof(path), "%s/db%d.sqlite", tmpdir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/db%d.sqlite-wal", tmpdir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/db%d.sqlite-shm", tmpdir, i);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	TEST_RUN(test_migration_from_v2);
	TEST_RUN(test_sessions);
	TEST_RUN(test_consent_set_get);
	TEST_RUN(test_consent_revoke);
	TEST_RUN(test_consent_list);
	TEST_RUN(test_consent_cascade);
	TEST_RUN(test_claims);
	cleanup();
	return (TEST_EXIT());
}
