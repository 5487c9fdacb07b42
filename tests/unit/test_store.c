/*
 * test_store.c: the store contract (include/store.h) on a real SQLite file in a temporary directory: migrations,
 * identities and their tombstones, setup tokens, clients, sessions, single-use codes (also redeemed by 8 threads
 * at once, SECURITY.md 4), refresh rotation and reuse (SECURITY.md 5), revocation, signing keys, meta, purge.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "store.h"
#include "test.h"

#define NOW ((int64_t)1700000000)
#define NTHREADS 8
#define NROUNDS 25

static char tmpdir[] = "/tmp/anchorid-test-store-XXXXXX";
static int dbseq;

/* fresh(path, len): a path for a new database file in the temporary directory. */
static void
fresh(char *path, size_t len)
{
	snprintf(path, len, "%s/db%d.sqlite", tmpdir, ++dbseq);
}

static struct store *
open_fresh(void)
{
	char path[256];

	fresh(path, sizeof(path));
	return (store_open(path));
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
	    store_setup_use(st, tok, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", NOW, &got) != STORE_OK)
		return (-1);
	return (got == rowid ? rowid : -1);
}

static enum store_rc
add_client(struct store *st, const char *client_id, const char *source, int64_t created_at)
{
	struct client c = { 0 };
	enum store_rc rc;

	c.client_id = (char *)client_id;
	c.secret_hash = (char *)"secret-hash";
	c.reg_token_hash = (char *)"reg-hash";
	c.metadata = json_pack("{s:s, s:[s]}", "client_name", client_id, "redirect_uris", "https://rp.example/cb");
	c.source = (char *)source;
	c.created_at = c.updated_at = created_at;
	rc = store_client_create(st, &c);
	json_decref(c.metadata);
	return (rc);
}

static enum store_rc
add_code(struct store *st, const char *hash, const char *client_id, int64_t identity_id, int64_t expires_at)
{
	struct authz_code c = { 0 };

	c.code_hash = (char *)hash;
	c.client_id = (char *)client_id;
	c.identity_id = identity_id;
	c.redirect_uri = (char *)"https://rp.example/cb";
	c.scope = (char *)"openid profile";
	c.nonce = (char *)"n-0S6_WzA2Mj";
	c.code_challenge = (char *)"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	c.amr = (char *)"[\"pwd\"]";
	c.auth_time = NOW - 5;
	c.expires_at = expires_at;
	return (store_code_create(st, &c));
}

/* redeem(st, code, client, now, grant_id, refresh, jti): store_code_redeem with tokens named by the caller. */
static enum store_rc
redeem(struct store *st, const char *code, const char *client, int64_t now, const char *grant_id, const char *refresh,
    const char *jti, struct authz_code **out)
{
	struct grant_tokens t = { 0 };

	t.grant_id = grant_id;
	t.refresh_hash = refresh;
	t.refresh_expires_at = now + 86400;
	t.access_jti = jti;
	t.access_expires_at = now + 600;
	return (store_code_redeem(st, code, client, now, &t, out));
}

static enum store_rc
rotate(struct store *st, const char *refresh, const char *client, int64_t now, const char *new_refresh, const char *jti,
    struct grant **out)
{
	struct grant_tokens t = { 0 };

	t.refresh_hash = new_refresh;
	t.refresh_expires_at = now + 86400;
	t.access_jti = jti;
	t.access_expires_at = now + 600;
	return (store_refresh_rotate(st, refresh, client, now, &t, out));
}

static bool
access_ok(struct store *st, const char *jti, int64_t now)
{
	struct grant *g = NULL;
	enum store_rc rc;

	rc = store_access_check(st, jti, now, &g);
	grant_free(g);
	return (rc == STORE_OK);
}

static void
test_open_migrations(void)
{
	struct store *st;
	struct identity *id = NULL;
	struct stat sb;
	char path[256], wal[300];
	int v;

	fresh(path, sizeof(path));
	CHECK((st = store_open(path)) != NULL);
	if (st == NULL)
		return;
	v = store_schema_version(st);
	CHECK(v >= 1);
	CHECK(store_identity_create(st, "alice.example", "sub-alice", NOW, NULL) == STORE_OK);
	/* WAL mode: the -wal file exists while the database is open; the files are private. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(wal, &sb) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 0);
	store_close(st);

	/* Reopening applies nothing twice and keeps the data. */
	CHECK((st = store_open(path)) != NULL);
	if (st == NULL)
		return;
	CHECK(store_schema_version(st) == v);
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_INACTIVE);
	identity_free(id);
	store_close(st);
	CHECK((st = store_open(path)) != NULL);
	CHECK(store_schema_version(st) == v);
	store_close(st);

	/* Every thread opens the path: an in-memory database cannot be shared. */
	CHECK(store_open(":memory:") == NULL);
	CHECK(store_open("") == NULL);
	CHECK(store_open(NULL) == NULL);
	snprintf(path, sizeof(path), "%s/no/such/dir/db", tmpdir);
	CHECK(store_open(path) == NULL);
	store_close(NULL);
}

static void
test_identity(void)
{
	struct store *st;
	struct identity *id = NULL, *id2 = NULL;
	json_t *list = NULL, *o;
	int64_t rowid;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_identity_create(st, "alice.example", "sub-a", NOW, &id) == STORE_OK);
	CHECK(id != NULL && id->id > 0 && id->state == IDENTITY_INACTIVE && id->password_hash == NULL);
	CHECK(id != NULL && id->created_at == NOW && id->updated_at == NOW && id->password_changed_at == 0);
	CHECK_STR(id ? id->identifier : NULL, "alice.example");
	CHECK_STR(id ? id->sub : NULL, "sub-a");
	rowid = id ? id->id : 0;
	identity_free(id);
	id = NULL;

	/* identifier unique among live identities, sub unique for ever */
	CHECK(store_identity_create(st, "alice.example", "sub-b", NOW, NULL) == STORE_CONFLICT);
	CHECK(store_identity_create(st, "bob.example", "sub-a", NOW, NULL) == STORE_CONFLICT);
	CHECK(store_identity_create(st, "bob.example", "sub-b", NOW + 1, NULL) == STORE_OK);

	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_OK);
	CHECK(id != NULL && id->id == rowid);
	identity_free(id);
	id = NULL;
	CHECK(store_identity_by_identifier(st, "carol.example", &id) == STORE_NOTFOUND && id == NULL);
	CHECK(store_identity_by_id(st, rowid, &id) == STORE_OK);
	CHECK_STR(id ? id->sub : NULL, "sub-a");
	identity_free(id);
	id = NULL;
	CHECK(store_identity_by_id(st, 424242, &id) == STORE_NOTFOUND);

	CHECK(store_identity_set_state(st, rowid, IDENTITY_DISABLED, NOW + 10) == STORE_OK);
	CHECK(store_identity_by_id(st, rowid, &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_DISABLED && id->updated_at == NOW + 10);
	identity_free(id);
	id = NULL;
	CHECK(store_identity_set_state(st, rowid, IDENTITY_INACTIVE, NOW + 11) == STORE_OK);
	CHECK(store_identity_set_state(st, 424242, IDENTITY_DISABLED, NOW) == STORE_NOTFOUND);
	CHECK(store_identity_set_state(st, rowid, IDENTITY_DELETED, NOW) == STORE_ERROR);

	/* Deletion: a tombstone keeps the sub; the identifier is free again. */
	CHECK(store_identity_delete(st, rowid, NOW + 20) == STORE_OK);
	CHECK(store_identity_delete(st, rowid, NOW + 21) == STORE_NOTFOUND);
	CHECK(store_identity_delete(st, 424242, NOW + 21) == STORE_NOTFOUND);
	CHECK(store_identity_set_state(st, rowid, IDENTITY_ACTIVE, NOW + 22) == STORE_CONFLICT);
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_NOTFOUND);
	CHECK(store_identity_by_id(st, rowid, &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_DELETED && id->password_hash == NULL);
	CHECK_STR(id ? id->identifier : NULL, "alice.example");
	identity_free(id);
	id = NULL;
	CHECK(store_identity_create(st, "other.example", "sub-a", NOW + 30, NULL) == STORE_CONFLICT);
	CHECK(store_identity_create(st, "alice.example", "sub-c", NOW + 30, &id2) == STORE_OK);
	CHECK(id2 != NULL && id2->id != rowid);
	identity_free(id2);

	CHECK(store_identity_list(st, &list) == STORE_OK);
	CHECK(json_is_array(list) && json_array_size(list) == 3);
	o = json_array_get(list, 0);
	CHECK_STR(json_string_value(json_object_get(o, "identifier")), "alice.example");
	CHECK_STR(json_string_value(json_object_get(o, "sub")), "sub-a");
	CHECK_STR(json_string_value(json_object_get(o, "state")), "deleted");
	CHECK(json_integer_value(json_object_get(o, "created_at")) == NOW);
	CHECK(json_integer_value(json_object_get(o, "updated_at")) == NOW + 20);
	CHECK(json_is_null(json_object_get(o, "agent"))); /* the operator's */
	CHECK(json_object_size(o) == 6);
	o = json_array_get(list, 2);
	CHECK_STR(json_string_value(json_object_get(o, "sub")), "sub-c");
	CHECK_STR(json_string_value(json_object_get(o, "state")), "inactive");
	json_decref(list);

	CHECK_STR(identity_state_name(IDENTITY_ACTIVE), "active");
	CHECK_STR(identity_state_name(IDENTITY_DELETED), "deleted");
	CHECK_STR(identity_state_name((enum identity_state)42), "unknown");
	identity_free(NULL);
	store_close(st);
}

static void
test_setup_tokens(void)
{
	struct store *st;
	struct identity *id = NULL;
	struct session s = { 0 }, *sp = NULL;
	int64_t rowid, got = 0;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_identity_create(st, "alice.example", "sub-a", NOW, &id) == STORE_OK);
	rowid = id ? id->id : 0;
	identity_free(id);
	id = NULL;
	CHECK(store_setup_create(st, rowid, "tok1", NOW + 100) == STORE_OK);
	CHECK(store_setup_peek(st, "tok1", NOW, &got) == STORE_OK && got == rowid);
	CHECK(store_setup_peek(st, "tok1", NOW + 100, &got) == STORE_NOTFOUND);
	CHECK(store_setup_peek(st, "nope", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_create(st, 424242, "tokx", NOW + 100) == STORE_NOTFOUND);

	/* A new token kills the old one. */
	CHECK(store_setup_create(st, rowid, "tok2", NOW + 100) == STORE_OK);
	CHECK(store_setup_peek(st, "tok1", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_use(st, "tok1", "hash-1", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_use(st, "nope", "hash-1", NOW, &got) == STORE_NOTFOUND);
	/* Expired */
	CHECK(store_setup_use(st, "tok2", "hash-1", NOW + 100, &got) == STORE_NOTFOUND);

	/* Disabled identity: refused, and the token stays usable. */
	CHECK(store_identity_set_state(st, rowid, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(store_setup_use(st, "tok2", "hash-1", NOW, &got) == STORE_CONFLICT);
	CHECK(store_setup_peek(st, "tok2", NOW, &got) == STORE_OK);
	CHECK(store_identity_set_state(st, rowid, IDENTITY_INACTIVE, NOW) == STORE_OK);

	got = 0;
	CHECK(store_setup_use(st, "tok2", "hash-1", NOW + 5, &got) == STORE_OK && got == rowid);
	CHECK(store_identity_by_id(st, rowid, &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_ACTIVE && id->password_changed_at == NOW + 5);
	CHECK_STR(id ? id->password_hash : NULL, "hash-1");
	identity_free(id);
	id = NULL;
	/* One time only. */
	CHECK(store_setup_use(st, "tok2", "hash-2", NOW + 6, &got) == STORE_REPLAY);
	CHECK(store_setup_peek(st, "tok2", NOW + 6, &got) == STORE_NOTFOUND);

	/* Setting a password ends the identity's sessions. */
	s.id_hash = (char *)"sess-1";
	s.identity_id = rowid;
	s.auth_time = NOW;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = NOW;
	s.expires_at = NOW + 1000;
	CHECK(store_session_create(st, &s) == STORE_OK);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_OK);
	session_free(sp);
	sp = NULL;
	CHECK(store_setup_create(st, rowid, "tok3", NOW + 100) == STORE_OK);
	CHECK(store_setup_use(st, "tok3", "hash-3", NOW + 7, NULL) == STORE_OK);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_NOTFOUND);
	CHECK(store_identity_by_id(st, rowid, &id) == STORE_OK);
	CHECK_STR(id ? id->password_hash : NULL, "hash-3");
	identity_free(id);
	store_close(st);
}

static void
test_clients(void)
{
	struct store *st;
	struct client *c = NULL;
	int64_t total = -1, recent = -1;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(add_client(st, "c1", "192.0.2.1", NOW - 300) == STORE_OK);
	CHECK(add_client(st, "c1", "192.0.2.1", NOW) == STORE_CONFLICT);
	CHECK(add_client(st, "c2", "192.0.2.1", NOW - 200) == STORE_OK);
	CHECK(add_client(st, "c3", "192.0.2.1", NOW - 100) == STORE_OK);
	CHECK(add_client(st, "c4", "192.0.2.9", NOW - 100) == STORE_OK);

	CHECK(store_client_get(st, "c1", &c) == STORE_OK);
	CHECK_STR(c ? c->client_id : NULL, "c1");
	CHECK_STR(c ? c->secret_hash : NULL, "secret-hash");
	CHECK_STR(c ? c->reg_token_hash : NULL, "reg-hash");
	CHECK_STR(c ? c->source : NULL, "192.0.2.1");
	CHECK_STR(c ? json_string_value(json_object_get(c->metadata, "client_name")) : NULL, "c1");
	CHECK(c != NULL && c->created_at == NOW - 300 && c->last_used_at == 0);
	CHECK(store_client_get(st, "nope", &c) == STORE_NOTFOUND);

	/* update */
	if (c != NULL) {
		json_object_set_new(c->metadata, "client_name", json_string("renamed"));
		free(c->secret_hash);
		c->secret_hash = NULL; /* now a public client */
		c->updated_at = NOW;
		CHECK(store_client_update(st, c) == STORE_OK);
	}
	client_free(c);
	c = NULL;
	CHECK(store_client_get(st, "c1", &c) == STORE_OK);
	CHECK(c != NULL && c->secret_hash == NULL && c->updated_at == NOW);
	CHECK_STR(c ? json_string_value(json_object_get(c->metadata, "client_name")) : NULL, "renamed");
	if (c != NULL) {
		free(c->client_id);
		c->client_id = strdup("nope");
		CHECK(store_client_update(st, c) == STORE_NOTFOUND);
	}
	client_free(c);
	c = NULL;

	/* touch: at most one write per hour */
	CHECK(store_client_touch(st, "c1", NOW) == STORE_OK);
	CHECK(store_client_get(st, "c1", &c) == STORE_OK && c->last_used_at == NOW);
	client_free(c);
	CHECK(store_client_touch(st, "c1", NOW + 3599) == STORE_OK);
	CHECK(store_client_get(st, "c1", &c) == STORE_OK && c->last_used_at == NOW);
	client_free(c);
	CHECK(store_client_touch(st, "c1", NOW + 3600) == STORE_OK);
	CHECK(store_client_get(st, "c1", &c) == STORE_OK && c->last_used_at == NOW + 3600);
	client_free(c);
	c = NULL;
	CHECK(store_client_touch(st, "nope", NOW) == STORE_NOTFOUND);

	CHECK(store_client_count_source(st, "192.0.2.1", NOW - 250, &total, &recent) == STORE_OK);
	CHECK(total == 3 && recent == 2);
	CHECK(store_client_count_source(st, "198.51.100.7", NOW - 250, &total, &recent) == STORE_OK);
	CHECK(total == 0 && recent == 0);

	CHECK(store_client_delete(st, "c2") == STORE_OK);
	CHECK(store_client_delete(st, "c2") == STORE_NOTFOUND);
	CHECK(store_client_get(st, "c2", &c) == STORE_NOTFOUND);
	CHECK(store_client_count_source(st, "192.0.2.1", NOW - 250, &total, &recent) == STORE_OK);
	CHECK(total == 2 && recent == 1);
	client_free(NULL);
	store_close(st);
}

static void
test_sessions(void)
{
	struct store *st;
	struct session s = { 0 }, *sp = NULL;
	int64_t alice;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	s.id_hash = (char *)"sess-1";
	s.identity_id = alice;
	s.auth_time = NOW - 1;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = NOW;
	s.expires_at = NOW + 100;
	CHECK(store_session_create(st, &s) == STORE_OK);
	CHECK(store_session_create(st, &s) == STORE_CONFLICT);
	s.id_hash = (char *)"sess-2";
	s.identity_id = 424242;
	CHECK(store_session_create(st, &s) == STORE_NOTFOUND);

	CHECK(store_session_get(st, "sess-1", NOW + 99, &sp) == STORE_OK);
	CHECK(sp != NULL && sp->identity_id == alice && sp->auth_time == NOW - 1 && sp->expires_at == NOW + 100);
	CHECK_STR(sp ? sp->amr : NULL, "[\"pwd\"]");
	CHECK_STR(sp ? sp->id_hash : NULL, "sess-1");
	session_free(sp);
	sp = NULL;
	CHECK(store_session_get(st, "sess-1", NOW + 100, &sp) == STORE_NOTFOUND && sp == NULL);
	CHECK(store_session_get(st, "sess-9", NOW, &sp) == STORE_NOTFOUND);

	/* Only sessions of active identities count. */
	CHECK(store_identity_set_state(st, alice, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_NOTFOUND);
	CHECK(store_identity_set_state(st, alice, IDENTITY_ACTIVE, NOW) == STORE_OK);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_OK);
	session_free(sp);
	sp = NULL;

	CHECK(store_session_delete(st, "sess-1") == STORE_OK);
	CHECK(store_session_delete(st, "sess-1") == STORE_NOTFOUND);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_NOTFOUND);
	session_free(NULL);
	store_close(st);
}

static void
test_code_redeem(void)
{
	struct store *st;
	struct authz_code *c = NULL;
	struct grant *g = NULL;
	int64_t alice, bob;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK((bob = active_identity(st, "bob.example", "sub-b")) > 0);
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_client(st, "rp2", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_code(st, "code-1", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(add_code(st, "code-1", "rp1", alice, NOW + 60) == STORE_CONFLICT);
	CHECK(add_code(st, "code-x", "nope", alice, NOW + 60) == STORE_NOTFOUND);
	CHECK(add_code(st, "code-x", "rp1", 424242, NOW + 60) == STORE_NOTFOUND);

	/* Bound to its client: another client learns nothing and changes nothing. */
	CHECK(redeem(st, "code-1", "rp2", NOW, "g-x", "r-x", "j-x", &c) == STORE_NOTFOUND && c == NULL);
	CHECK(redeem(st, "code-9", "rp1", NOW, "g-x", "r-x", "j-x", &c) == STORE_NOTFOUND);
	CHECK(redeem(st, "code-1", "rp1", NOW, "g-1", "r-1", "j-1", &c) == STORE_OK);
	CHECK(c != NULL && c->identity_id == alice && c->auth_time == NOW - 5 && c->expires_at == NOW + 60);
	CHECK_STR(c ? c->client_id : NULL, "rp1");
	CHECK_STR(c ? c->redirect_uri : NULL, "https://rp.example/cb");
	CHECK_STR(c ? c->scope : NULL, "openid profile");
	CHECK_STR(c ? c->nonce : NULL, "n-0S6_WzA2Mj");
	CHECK_STR(c ? c->code_challenge : NULL, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	CHECK_STR(c ? c->amr : NULL, "[\"pwd\"]");
	CHECK_STR(c ? c->grant_id : NULL, "g-1");
	CHECK(c != NULL && c->claims == NULL);
	authz_code_free(c);
	c = NULL;

	CHECK(store_access_check(st, "j-1", NOW + 1, &g) == STORE_OK);
	CHECK(g != NULL && g->identity_id == alice && !g->revoked && g->auth_time == NOW - 5);
	CHECK_STR(g ? g->grant_id : NULL, "g-1");
	CHECK_STR(g ? g->client_id : NULL, "rp1");
	CHECK_STR(g ? g->scope : NULL, "openid profile");
	grant_free(g);
	g = NULL;
	CHECK(!access_ok(st, "j-1", NOW + 600)); /* expired */
	CHECK(!access_ok(st, "j-9", NOW));

	/* RFC 6749 §4.1.2: the replay fails and revokes what the first redemption issued. */
	CHECK(redeem(st, "code-1", "rp1", NOW + 2, "g-2", "r-2", "j-2", &c) == STORE_REPLAY && c == NULL);
	CHECK(!access_ok(st, "j-1", NOW + 3));
	CHECK(!access_ok(st, "j-2", NOW + 3));
	CHECK(rotate(st, "r-1", "rp1", NOW + 3, "r-3", "j-3", &g) == STORE_NOTFOUND && g == NULL);
	/* Even after the code expired, as long as it is stored. */
	CHECK(redeem(st, "code-1", "rp1", NOW + 61, "g-2", "r-2", "j-2", &c) == STORE_REPLAY);

	/* Expired codes */
	CHECK(add_code(st, "code-2", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-2", "rp1", NOW + 60, "g-3", NULL, "j-3", &c) == STORE_NOTFOUND);

	/* Codes of an identity that is no longer active */
	CHECK(add_code(st, "code-3", "rp1", bob, NOW + 60) == STORE_OK);
	CHECK(store_identity_set_state(st, bob, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(redeem(st, "code-3", "rp1", NOW, "g-4", NULL, "j-4", &c) == STORE_NOTFOUND);
	CHECK(store_identity_set_state(st, bob, IDENTITY_ACTIVE, NOW) == STORE_OK);

	/* Without a refresh token; the access check follows the identity's state. */
	CHECK(redeem(st, "code-3", "rp1", NOW, "g-4", NULL, "j-4", NULL) == STORE_OK);
	CHECK(access_ok(st, "j-4", NOW));
	CHECK(store_identity_set_state(st, bob, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(!access_ok(st, "j-4", NOW));
	CHECK(store_identity_set_state(st, bob, IDENTITY_ACTIVE, NOW) == STORE_OK);
	CHECK(access_ok(st, "j-4", NOW));

	/* A fresh grant id that clashes is an internal error, and nothing is consumed. */
	CHECK(add_code(st, "code-4", "rp1", bob, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-4", "rp1", NOW, "g-4", NULL, "j-5", NULL) == STORE_ERROR);
	CHECK(redeem(st, "code-4", "rp1", NOW, "g-5", NULL, "j-5", NULL) == STORE_OK);

	/* store_grant_revoke */
	CHECK(store_grant_revoke(st, "g-4") == STORE_OK);
	CHECK(!access_ok(st, "j-4", NOW));
	CHECK(access_ok(st, "j-5", NOW));
	CHECK(store_grant_revoke(st, "g-404") == STORE_NOTFOUND);
	authz_code_free(NULL);
	grant_free(NULL);
	store_close(st);
}

/* The parallel redemption test (SECURITY.md 4): NTHREADS threads, each with its own connection, redeem the same
 * code at once, NROUNDS times. */
struct race {
	struct store *st;
	pthread_barrier_t barrier;
	enum store_rc rc[NROUNDS][NTHREADS];
	bool refresh; /* rotate the same refresh token instead */
};

struct racer {
	struct race *race;
	int n;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	struct grant *g = NULL;
	struct authz_code *c = NULL;
	char code[32], grant[32], rt[32], jti[32];
	int round;

	for (round = 0; round < NROUNDS; round++) {
		snprintf(code, sizeof(code), "race-%d", round);
		/* Every thread issues its own tokens, named apart from those of the other race. */
		snprintf(grant, sizeof(grant), "g-%d-%d", round, r->n);
		snprintf(rt, sizeof(rt), "%s-r-%d-%d", r->race->refresh ? "f" : "c", round, r->n);
		snprintf(jti, sizeof(jti), "%s-j-%d-%d", r->race->refresh ? "f" : "c", round, r->n);
		pthread_barrier_wait(&r->race->barrier);
		if (r->race->refresh) {
			snprintf(code, sizeof(code), "r-%d", round);
			r->race->rc[round][r->n] = rotate(r->race->st, code, "rp1", NOW, rt, jti, &g);
			grant_free(g);
			g = NULL;
		} else {
			r->race->rc[round][r->n] = redeem(r->race->st, code, "rp1", NOW, grant, rt, jti, &c);
			authz_code_free(c);
			c = NULL;
		}
	}
	return (NULL);
}

static void
race_run(struct store *st, bool refresh)
{
	static struct race race;
	struct racer racers[NTHREADS];
	pthread_t tid[NTHREADS];
	int i, round, ok, replay;

	memset(&race, 0, sizeof(race));
	race.st = st;
	race.refresh = refresh;
	pthread_barrier_init(&race.barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		racers[i].race = &race;
		racers[i].n = i;
		CHECK(pthread_create(&tid[i], NULL, racer_main, &racers[i]) == 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&race.barrier);
	for (round = 0; round < NROUNDS; round++) {
		for (ok = replay = i = 0; i < NTHREADS; i++) {
			ok += race.rc[round][i] == STORE_OK;
			replay += race.rc[round][i] == STORE_REPLAY;
		}
		CHECK(ok == 1);
		CHECK(replay == NTHREADS - 1);
	}
}

static void
test_code_parallel(void)
{
	struct store *st;
	char name[32];
	int64_t alice;
	int round, i;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK);
	for (round = 0; round < NROUNDS; round++) {
		snprintf(name, sizeof(name), "race-%d", round);
		CHECK(add_code(st, name, "rp1", alice, NOW + 60) == STORE_OK);
	}
	race_run(st, false);
	/* The losers' replays revoked the winner's grant. */
	for (round = 0; round < NROUNDS; round++)
		for (i = 0; i < NTHREADS; i++) {
			snprintf(name, sizeof(name), "c-j-%d-%d", round, i);
			CHECK(!access_ok(st, name, NOW));
		}

	/* The same for refresh rotation (SECURITY.md 5): one refresh token per round, rotated by every thread. */
	for (round = 0; round < NROUNDS; round++) {
		char code[32], grant[32], rt[32], jti[32];

		snprintf(code, sizeof(code), "rcode-%d", round);
		snprintf(grant, sizeof(grant), "rg-%d", round);
		snprintf(rt, sizeof(rt), "r-%d", round);
		snprintf(jti, sizeof(jti), "rj-%d", round);
		CHECK(add_code(st, code, "rp1", alice, NOW + 60) == STORE_OK);
		CHECK(redeem(st, code, "rp1", NOW, grant, rt, jti, NULL) == STORE_OK);
	}
	race_run(st, true);
	for (round = 0; round < NROUNDS; round++) {
		snprintf(name, sizeof(name), "rj-%d", round);
		CHECK(!access_ok(st, name, NOW));
	}
	store_close(st);
}

static void
test_refresh(void)
{
	struct store *st;
	struct grant *g = NULL;
	int64_t alice;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_client(st, "rp2", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_code(st, "code-1", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-1", "rp1", NOW, "g-1", "r-1", "j-1", NULL) == STORE_OK);

	CHECK(rotate(st, "r-1", "rp2", NOW + 1, "r-x", "j-x", &g) == STORE_NOTFOUND && g == NULL);
	CHECK(rotate(st, "r-404", "rp1", NOW + 1, "r-x", "j-x", &g) == STORE_NOTFOUND);
	CHECK(rotate(st, "r-1", "rp1", NOW + 1, "r-2", "j-2", &g) == STORE_OK);
	CHECK(g != NULL && g->identity_id == alice && !g->revoked);
	CHECK_STR(g ? g->grant_id : NULL, "g-1");
	CHECK_STR(g ? g->scope : NULL, "openid profile");
	CHECK_STR(g ? g->amr : NULL, "[\"pwd\"]");
	grant_free(g);
	g = NULL;
	CHECK(access_ok(st, "j-1", NOW + 2));
	CHECK(access_ok(st, "j-2", NOW + 2));
	CHECK(rotate(st, "r-2", "rp1", NOW + 2, "r-3", "j-3", &g) == STORE_OK);
	grant_free(g);
	g = NULL;

	/* Not while the identity is disabled (and nothing retired by the attempt). */
	CHECK(store_identity_set_state(st, alice, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(rotate(st, "r-3", "rp1", NOW + 3, "r-4", "j-4", &g) == STORE_NOTFOUND);
	CHECK(store_identity_set_state(st, alice, IDENTITY_ACTIVE, NOW) == STORE_OK);

	/* RFC 9700 §4.14.2: a rotated token coming back revokes the family. */
	CHECK(rotate(st, "r-1", "rp1", NOW + 3, "r-4", "j-4", &g) == STORE_REPLAY && g == NULL);
	CHECK(!access_ok(st, "j-3", NOW + 4));
	CHECK(rotate(st, "r-3", "rp1", NOW + 4, "r-5", "j-5", &g) == STORE_NOTFOUND);
	CHECK(rotate(st, "r-2", "rp1", NOW + 4, "r-5", "j-5", &g) == STORE_REPLAY); /* every reuse is one */

	/* An expired refresh token */
	CHECK(add_code(st, "code-2", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-2", "rp1", NOW, "g-2", "r-20", "j-20", NULL) == STORE_OK);
	CHECK(rotate(st, "r-20", "rp1", NOW + 86400, "r-21", "j-21", &g) == STORE_NOTFOUND);
	/* Rotation without a new refresh token */
	CHECK(rotate(st, "r-20", "rp1", NOW + 10, NULL, "j-21", &g) == STORE_OK);
	grant_free(g);
	g = NULL;
	CHECK(access_ok(st, "j-21", NOW + 11));
	store_close(st);
}

static void
test_revoke(void)
{
	struct store *st;
	struct grant *g = NULL;
	int64_t alice;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_client(st, "rp2", "192.0.2.1", NOW) == STORE_OK);
	CHECK(add_code(st, "code-1", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-1", "rp1", NOW, "g-1", "r-1", "j-1", NULL) == STORE_OK);
	CHECK(rotate(st, "r-1", "rp1", NOW + 1, "r-2", "j-2", &g) == STORE_OK);
	grant_free(g);
	g = NULL;

	/* RFC 7009: only the client's own tokens */
	CHECK(store_revoke_access(st, "j-1", "rp2") == STORE_NOTFOUND);
	CHECK(access_ok(st, "j-1", NOW + 2));
	CHECK(store_revoke_access(st, "j-1", "rp1") == STORE_OK);
	CHECK(store_revoke_access(st, "j-1", "rp1") == STORE_NOTFOUND);
	CHECK(!access_ok(st, "j-1", NOW + 2));
	CHECK(access_ok(st, "j-2", NOW + 2));

	CHECK(store_revoke_refresh(st, "r-2", "rp2") == STORE_NOTFOUND);
	CHECK(store_revoke_refresh(st, "r-404", "rp1") == STORE_NOTFOUND);
	CHECK(access_ok(st, "j-2", NOW + 2));
	/* A rotated token revokes its grant too. */
	CHECK(store_revoke_refresh(st, "r-1", "rp1") == STORE_OK);
	CHECK(!access_ok(st, "j-2", NOW + 2));
	CHECK(rotate(st, "r-2", "rp1", NOW + 3, "r-3", "j-3", &g) == STORE_NOTFOUND);

	/* Deleting a client takes its grants along. */
	CHECK(add_code(st, "code-2", "rp2", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-2", "rp2", NOW, "g-2", "r-20", "j-20", NULL) == STORE_OK);
	CHECK(access_ok(st, "j-20", NOW));
	CHECK(store_client_delete(st, "rp2") == STORE_OK);
	CHECK(!access_ok(st, "j-20", NOW));
	CHECK(rotate(st, "r-20", "rp2", NOW + 3, "r-21", "j-21", &g) == STORE_NOTFOUND);
	store_close(st);
}

static void
test_identity_delete_cascade(void)
{
	struct store *st;
	struct session s = { 0 }, *sp = NULL;
	struct grant *g = NULL;
	int64_t alice, got;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK);
	s.id_hash = (char *)"sess-1";
	s.identity_id = alice;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = NOW;
	s.expires_at = NOW + 100;
	CHECK(store_session_create(st, &s) == STORE_OK);
	CHECK(add_code(st, "code-1", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(add_code(st, "code-2", "rp1", alice, NOW + 60) == STORE_OK);
	CHECK(redeem(st, "code-1", "rp1", NOW, "g-1", "r-1", "j-1", NULL) == STORE_OK);
	CHECK(store_setup_create(st, alice, "tok-1", NOW + 100) == STORE_OK);

	CHECK(store_identity_delete(st, alice, NOW + 1) == STORE_OK);
	CHECK(store_session_get(st, "sess-1", NOW, &sp) == STORE_NOTFOUND);
	CHECK(redeem(st, "code-2", "rp1", NOW, "g-2", "r-2", "j-2", NULL) == STORE_NOTFOUND);
	CHECK(!access_ok(st, "j-1", NOW));
	CHECK(rotate(st, "r-1", "rp1", NOW, "r-3", "j-3", &g) == STORE_NOTFOUND);
	CHECK(store_setup_peek(st, "tok-1", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_create(st, alice, "tok-2", NOW + 100) == STORE_NOTFOUND);
	/* The session rows are gone, not just hidden. */
	CHECK(store_session_delete(st, "sess-1") == STORE_NOTFOUND);
	store_close(st);
}

static void
test_keys(void)
{
	struct store *st;
	struct stored_key k = { 0 }, **keys = NULL;
	size_t n = 0;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_keys_list(st, NOW, &keys, &n) == STORE_OK && n == 0);
	stored_keys_free(keys, n);

	k.kid = (char *)"rsa-1";
	k.alg = (char *)"RS256";
	k.jwk = (char *)"{\"kty\":\"RSA\",\"d\":\"secret\"}";
	k.created_at = k.activate_at = NOW;
	CHECK(store_key_add(st, &k, 0, 0) == STORE_OK);
	k.kid = (char *)"ec-1";
	k.alg = (char *)"ES256";
	k.created_at = k.activate_at = NOW + 1;
	CHECK(store_key_add(st, &k, 0, 0) == STORE_OK);
	/* Rotation: the new RSA key retires and expires the current RSA key, not the EC one. */
	k.kid = (char *)"rsa-2";
	k.alg = (char *)"RS256";
	k.created_at = NOW + 2;
	k.activate_at = NOW + 500;
	CHECK(store_key_add(st, &k, NOW + 500, NOW + 2000) == STORE_OK);
	/* A duplicate kid changes nothing, the other keys included. */
	k.created_at = NOW + 3;
	CHECK(store_key_add(st, &k, NOW + 700, NOW + 3000) == STORE_CONFLICT);

	CHECK(store_keys_list(st, NOW + 10, &keys, &n) == STORE_OK && n == 3);
	if (n == 3) {
		CHECK_STR(keys[0]->kid, "rsa-1");
		CHECK(keys[0]->retire_at == NOW + 500 && keys[0]->expire_at == NOW + 2000);
		CHECK_STR(keys[0]->jwk, "{\"kty\":\"RSA\",\"d\":\"secret\"}");
		CHECK_STR(keys[1]->kid, "ec-1");
		CHECK_STR(keys[1]->alg, "ES256");
		CHECK(keys[1]->retire_at == 0 && keys[1]->expire_at == 0 && keys[1]->activate_at == NOW + 1);
		CHECK_STR(keys[2]->kid, "rsa-2");
		CHECK(keys[2]->retire_at == 0 && keys[2]->expire_at == 0 && keys[2]->created_at == NOW + 2);
		CHECK(keys[2]->activate_at == NOW + 500);
	}
	stored_keys_free(keys, n);
	keys = NULL;
	/* Unpublished from expire_at on */
	CHECK(store_keys_list(st, NOW + 2000, &keys, &n) == STORE_OK && n == 2);
	if (n == 2)
		CHECK_STR(keys[0]->kid, "ec-1");
	stored_keys_free(keys, n);
	stored_keys_free(NULL, 0);
	stored_key_free(NULL);
	store_close(st);
}

static void
test_meta(void)
{
	struct store *st;
	char *v = NULL;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_meta_get(st, "server_secret", &v) == STORE_NOTFOUND && v == NULL);
	CHECK(store_meta_set_if_absent(st, "server_secret", "first", &v) == STORE_OK);
	CHECK_STR(v, "first");
	free(v);
	v = NULL;
	CHECK(store_meta_set_if_absent(st, "server_secret", "second", &v) == STORE_OK);
	CHECK_STR(v, "first");
	free(v);
	v = NULL;
	CHECK(store_meta_get(st, "server_secret", &v) == STORE_OK);
	CHECK_STR(v, "first");
	free(v);
	store_close(st);
}

static void
test_purge(void)
{
	struct store *st;
	struct session s = { 0 }, *sp = NULL;
	struct client *c = NULL;
	struct stored_key k = { 0 }, **keys = NULL;
	struct grant *g = NULL;
	size_t n = 0;
	int64_t alice, got, deleted;
	const int64_t T = NOW + 1000; /* purge time */

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((alice = active_identity(st, "alice.example", "sub-a")) > 0);
	/* active_identity() used its setup token: 1 setup row, expiring NOW + 3600 (live at T). */
	CHECK(add_client(st, "idle", "192.0.2.1", NOW - 5000) == STORE_OK); /* never used: purged */
	CHECK(add_client(st, "used", "192.0.2.1", NOW - 5000) == STORE_OK);
	CHECK(store_client_touch(st, "used", NOW) == STORE_OK);     /* used recently: kept */
	CHECK(add_client(st, "rp1", "192.0.2.1", NOW) == STORE_OK); /* new: kept */

	s.id_hash = (char *)"sess-old";
	s.identity_id = alice;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = NOW;
	s.expires_at = T; /* purged */
	CHECK(store_session_create(st, &s) == STORE_OK);
	s.id_hash = (char *)"sess-new";
	s.expires_at = T + 1; /* kept */
	CHECK(store_session_create(st, &s) == STORE_OK);
	CHECK(store_setup_create(st, alice, "tok-old", T - 1) == STORE_OK); /* replaces the used one: purged */

	CHECK(add_code(st, "code-old", "rp1", alice, NOW + 60) == STORE_OK); /* purged */
	CHECK(add_code(st, "code-new", "rp1", alice, T + 60) == STORE_OK);   /* kept */
	/* A grant whose tokens all expire (access NOW + 600, refresh NOW + 86400 is still live: rotate it away). */
	CHECK(add_code(st, "code-a", "rp1", alice, NOW + 60) == STORE_OK);             /* used; purged too */
	CHECK(redeem(st, "code-a", "rp1", NOW, "g-a", NULL, "j-a", NULL) == STORE_OK); /* j-a, g-a purged */
	CHECK(add_code(st, "code-b", "rp1", alice, T + 60) == STORE_OK);
	CHECK(redeem(st, "code-b", "rp1", NOW, "g-b", "r-b", "j-b", NULL) == STORE_OK); /* j-b purged; g-b kept */
	k.kid = (char *)"old";
	k.alg = (char *)"RS256";
	k.jwk = (char *)"{}";
	k.created_at = k.activate_at = NOW - 10;
	CHECK(store_key_add(st, &k, 0, 0) == STORE_OK);
	k.kid = (char *)"new";
	k.created_at = k.activate_at = NOW;
	CHECK(store_key_add(st, &k, NOW, T) == STORE_OK); /* "old" expires at T: purged */

	/* idle client 1, session 1, setup 1, codes 2, access 2, grant 1, key 1 */
	deleted = store_purge_expired(st, T, 4000);
	CHECK(deleted == 9);

	/* Look with an earlier "now", at which the purged rows would still be live. */
	CHECK(store_client_get(st, "idle", &c) == STORE_NOTFOUND);
	CHECK(store_client_get(st, "used", &c) == STORE_OK);
	client_free(c);
	c = NULL;
	CHECK(store_client_get(st, "rp1", &c) == STORE_OK);
	client_free(c);
	CHECK(store_session_get(st, "sess-old", NOW, &sp) == STORE_NOTFOUND);
	CHECK(store_session_get(st, "sess-new", NOW, &sp) == STORE_OK);
	session_free(sp);
	CHECK(store_setup_peek(st, "tok-old", NOW, &got) == STORE_NOTFOUND);
	CHECK(redeem(st, "code-old", "rp1", NOW, "g-x", NULL, "j-x", NULL) == STORE_NOTFOUND);
	CHECK(redeem(st, "code-a", "rp1", NOW, "g-y", NULL, "j-y", NULL) == STORE_NOTFOUND); /* not REPLAY */
	CHECK(!access_ok(st, "j-a", NOW));
	CHECK(!access_ok(st, "j-b", NOW));
	CHECK(rotate(st, "r-b", "rp1", NOW + 1, "r-b2", "j-b2", &g) == STORE_OK); /* g-b survived */
	grant_free(g);
	CHECK(store_keys_list(st, NOW, &keys, &n) == STORE_OK && n == 1);
	if (n == 1)
		CHECK_STR(keys[0]->kid, "new");
	stored_keys_free(keys, n);
	/* code-new is still redeemable */
	CHECK(redeem(st, "code-new", "rp1", NOW, "g-n", NULL, "j-n", NULL) == STORE_OK);

	/* A second purge finds nothing; client_idle_ttl 0 keeps every client. */
	CHECK(store_purge_expired(st, T, 0) > 0); /* the tokens issued since */
	CHECK(store_purge_expired(st, T, 0) == 0);
	CHECK(store_purge_expired(st, NOW + 100000000, 0) > 0);
	CHECK(store_client_get(st, "used", &c) == STORE_OK);
	client_free(c);
	store_close(st);
}

/* Connections of threads that exit are closed at once (ASan/valgrind see a leak otherwise). */
static void *
reader_main(void *arg)
{
	struct store *st = arg;
	struct identity *id = NULL;

	if (store_identity_by_identifier(st, "alice.example", &id) != STORE_OK)
		return ((void *)1);
	identity_free(id);
	return (NULL);
}

static void
test_threads(void)
{
	struct store *st;
	pthread_t tid[NTHREADS];
	void *res;
	int i, round;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_identity_create(st, "alice.example", "sub-a", NOW, NULL) == STORE_OK);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < NTHREADS; i++)
			CHECK(pthread_create(&tid[i], NULL, reader_main, st) == 0);
		for (i = 0; i < NTHREADS; i++) {
			res = (void *)1;
			pthread_join(tid[i], &res);
			CHECK(res == NULL);
		}
	}
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
	TEST_RUN(test_open_migrations);
	TEST_RUN(test_identity);
	TEST_RUN(test_setup_tokens);
	TEST_RUN(test_clients);
	TEST_RUN(test_sessions);
	TEST_RUN(test_code_redeem);
	TEST_RUN(test_code_parallel);
	TEST_RUN(test_refresh);
	TEST_RUN(test_revoke);
	TEST_RUN(test_identity_delete_cascade);
	TEST_RUN(test_keys);
	TEST_RUN(test_meta);
	TEST_RUN(test_purge);
	TEST_RUN(test_threads);
	cleanup();
	return (TEST_EXIT());
}
