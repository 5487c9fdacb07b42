/*
 * test_store_agent.c: the agent part of the store contract (include/store.h "agents"), drafts/agent-provisioning.md
 * §1-§6, on a real SQLite file in a temporary directory: migrations 2 and later over a version-1 database,
 * agents, authorizations, and the finalize commits (create raced by 8 threads of two agents, transfer, delete with
 * its confirmation), each all or nothing.  The Replay-Nonces live in memory: tests/unit/test_agent_nonce.c.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
/* Only to build a database as a version-1 binary left it: the test of migration 2 needs SQLite itself. */
#include <sqlite3.h>

#include "../../src/store/schema.h"
#include "store.h"
#include "test.h"

#define NOW ((int64_t)1700000000)
#define TTL 3600 /* authorization lifetime in these tests */
#define NTHREADS 8
#define NROUNDS 25
#define PWHASH "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"

static char tmpdir[] = "/tmp/anchorid-test-store-agent-XXXXXX";
static int dbseq;

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

/* add_agent(st, name): a new active agent; its id, or -1. */
static int64_t
add_agent(struct store *st, const char *name)
{
	struct agent a = { 0 }, *got = NULL;
	char issuer[128], jwk[128], tp[128];
	int64_t id = -1;

	snprintf(issuer, sizeof(issuer), "https://%s.example.org", name);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x-%s\",\"y\":\"y-%s\"}", name, name);
	snprintf(tp, sizeof(tp), "tp-%s", name);
	a.name = (char *)name;
	a.issuer = issuer;
	a.jwk = jwk;
	a.thumbprint = tp;
	if (store_agent_create(st, &a, NOW) == STORE_OK && store_agent_get(st, name, &got) == STORE_OK)
		id = got->id;
	agent_free(got);
	return (id);
}

/* add_authz(st, id, agent_id, identifier, action, created_at): a pending authorization living TTL seconds. */
static enum store_rc
add_authz(struct store *st, const char *id, int64_t agent_id, const char *identifier, enum agent_action action,
    int64_t created_at)
{
	struct agent_authz a = { 0 };
	char token[128];

	snprintf(token, sizeof(token), "token-%s", id);
	a.id = (char *)id;
	a.agent_id = agent_id;
	a.identifier = (char *)identifier;
	a.action = action;
	a.token = token;
	a.thumbprint = (char *)"tp";
	a.created_at = created_at;
	a.expires_at = created_at + TTL;
	a.finalized_at = 12345; /* ignored */
	return (store_authz_create(st, &a));
}

/* pending(st, authz_id): the authorization exists and is not finalized. */
static bool
pending(struct store *st, const char *authz_id)
{
	struct agent_authz *a = NULL;
	bool r;

	r = store_authz_get(st, authz_id, &a) == STORE_OK && a->finalized_at == 0;
	agent_authz_free(a);
	return (r);
}

/* provision(st, authz_id, agent_id, identifier, sub): authorize and finalize a create; the identity id, or -1. */
static int64_t
provision(struct store *st, const char *authz_id, int64_t agent_id, const char *identifier, const char *sub)
{
	struct identity *id = NULL;
	char setup[128];
	int64_t r = -1;

	snprintf(setup, sizeof(setup), "setup-%s", sub);
	if (add_authz(st, authz_id, agent_id, identifier, AGENT_ACTION_CREATE, NOW) == STORE_OK &&
	    store_provision_create(st, authz_id, agent_id, sub, setup, NOW + 600, NOW + 1, &id, NULL) == STORE_OK)
		r = id->id;
	identity_free(id);
	return (r);
}

/* activate(st, sub): set the password of the identity provision() made with ${sub}; 0 or -1. */
static int
activate(struct store *st, const char *sub)
{
	char setup[128];

	snprintf(setup, sizeof(setup), "setup-%s", sub);
	return (store_setup_use(st, setup, PWHASH, NOW + 2, NULL) == STORE_OK ? 0 : -1);
}

/* count_identifier(st, identifier, live): identities with ${identifier} in store_identity_list (live ones only, or
 * deleted ones only). */
static int
count_identifier(struct store *st, const char *identifier, bool live)
{
	json_t *list = NULL, *o;
	size_t i;
	int n = 0;

	if (store_identity_list(st, &list) != STORE_OK)
		return (-1);
	json_array_foreach(list, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "identifier")), identifier) == 0 &&
		    (strcmp(json_string_value(json_object_get(o, "state")), "deleted") != 0) == live)
			n++;
	}
	json_decref(list);
	return (n);
}

/* add_grant(st, identity_id, n): a client, a code and the grant its redemption makes (access token "jti-<n>"). */
static int
add_grant(struct store *st, int64_t identity_id, int n)
{
	struct client cl = { 0 };
	struct authz_code ac = { 0 };
	struct grant_tokens t = { 0 };
	char cid[32], code[32], gid[32], rt[32], jti[32];
	enum store_rc rc;

	snprintf(cid, sizeof(cid), "rp-%d", n);
	snprintf(code, sizeof(code), "code-%d", n);
	snprintf(gid, sizeof(gid), "grant-%d", n);
	snprintf(rt, sizeof(rt), "rt-%d", n);
	snprintf(jti, sizeof(jti), "jti-%d", n);
	cl.client_id = cid;
	cl.metadata = json_pack("{s:[s]}", "redirect_uris", "https://rp.example/cb");
	cl.created_at = cl.updated_at = NOW;
	rc = store_client_create(st, &cl);
	json_decref(cl.metadata);
	if (rc != STORE_OK)
		return (-1);
	ac.code_hash = code;
	ac.client_id = cid;
	ac.identity_id = identity_id;
	ac.redirect_uri = (char *)"https://rp.example/cb";
	ac.scope = (char *)"openid";
	ac.amr = (char *)"[\"pwd\"]";
	ac.auth_time = NOW;
	ac.expires_at = NOW + 60;
	if (store_code_create(st, &ac) != STORE_OK)
		return (-1);
	t.grant_id = gid;
	t.refresh_hash = rt;
	t.refresh_expires_at = NOW + 86400;
	t.access_jti = jti;
	t.access_expires_at = NOW + 600;
	return (store_code_redeem(st, code, cid, NOW, &t, NULL) == STORE_OK ? 0 : -1);
}

static bool
access_ok(struct store *st, int n)
{
	struct grant *g = NULL;
	char jti[32];
	enum store_rc rc;

	snprintf(jti, sizeof(jti), "jti-%d", n);
	rc = store_access_check(st, jti, NOW, &g);
	grant_free(g);
	return (rc == STORE_OK);
}

static int
add_session(struct store *st, const char *id_hash, int64_t identity_id)
{
	struct session s = { 0 };

	s.id_hash = (char *)id_hash;
	s.identity_id = identity_id;
	s.auth_time = NOW;
	s.amr = (char *)"[\"pwd\"]";
	s.created_at = NOW;
	s.expires_at = NOW + 1000;
	return (store_session_create(st, &s) == STORE_OK ? 0 : -1);
}

static bool
session_ok(struct store *st, const char *id_hash)
{
	struct session *s = NULL;
	enum store_rc rc;

	rc = store_session_get(st, id_hash, NOW, &s);
	session_free(s);
	return (rc == STORE_OK);
}

/* found_row: sqlite3_exec() callback that notes that a row came. */
static int
found_row(void *arg, int ncol, char **vals, char **cols)
{
	(void)ncol;
	(void)vals;
	(void)cols;
	*(bool *)arg = true;
	return (0);
}

/* A database as a version-1 binary left it, with an identity; store_open() applies migration 2 over it. */
static void
test_migration_from_v1(void)
{
	struct store *st;
	struct identity *id = NULL;
	json_t *list = NULL;
	sqlite3 *db = NULL;
	char path[256], *err = NULL;
	int64_t agent;
	bool found = false;

	fresh(path, sizeof(path));
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	/* The schema_version table as store_open() creates it, then migration 1 exactly as released. */
	CHECK(sqlite3_exec(db,
	          "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;"
	          "INSERT INTO schema_version(version, applied_at) VALUES (1, 1700000000);",
	          NULL, NULL, &err) == SQLITE_OK);
	CHECK(sqlite3_exec(db, schema_migrations[0], NULL, NULL, &err) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "INSERT INTO identities(identifier, sub, state, password_hash, created_at, updated_at, "
	          "password_changed_at) VALUES ('old.example', 'sub-old', 'active', 'hash', 1700000000, 1700000000, "
	          "1700000000)",
	          NULL, NULL, &err) == SQLITE_OK);
	if (err != NULL)
		fprintf(stderr, "sqlite3_exec: %s\n", err);
	sqlite3_free(err);
	sqlite3_close(db);

	CHECK((st = store_open(path)) != NULL);
	if (st == NULL)
		return;
	CHECK(store_schema_version(st) == (int)schema_nmigrations);
	CHECK(schema_nmigrations >= 2);
	CHECK(store_identity_by_identifier(st, "old.example", &id) == STORE_OK);
	CHECK(id != NULL && id->agent_id == 0 && id->state == IDENTITY_ACTIVE);
	CHECK_STR(id ? id->sub : NULL, "sub-old");
	CHECK_STR(id ? id->password_hash : NULL, "hash");
	identity_free(id);
	id = NULL;
	CHECK(store_identity_list(st, &list) == STORE_OK && json_array_size(list) == 1);
	CHECK(json_is_null(json_object_get(json_array_get(list, 0), "agent")));
	json_decref(list);
	/* The new tables work over the old data: an agent takes the operator's identity over. */
	CHECK((agent = add_agent(st, "registrar-one")) > 0);
	CHECK(add_authz(st, "az-t", agent, "old.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t", agent, NOW + 1, &id, NULL) == STORE_OK);
	CHECK(id != NULL && id->agent_id == agent);
	identity_free(id);
	store_close(st);

	/* Reopening applies nothing again. */
	CHECK((st = store_open(path)) != NULL);
	CHECK(store_schema_version(st) == (int)schema_nmigrations);
	store_close(st);

	/* Migration 4 dropped the table migration 2 made for the Replay-Nonces (now in memory). */
	CHECK(schema_nmigrations >= 4);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "SELECT 1 FROM sqlite_master WHERE name = 'agent_nonces'", found_row, &found, &err) ==
	    SQLITE_OK);
	CHECK(!found);
	sqlite3_free(err);
	sqlite3_close(db);
}

static void
test_agents(void)
{
	struct store *st;
	struct agent a = { 0 }, *got = NULL;
	json_t *list = NULL, *o;
	int64_t one, two;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "registrar-one")) > 0);
	CHECK((two = add_agent(st, "registrar-two")) > 0 && two != one);
	/* The name is unique; id, state and times given are ignored. */
	a.id = 99;
	a.name = (char *)"registrar-one";
	a.issuer = (char *)"https://elsewhere.example";
	a.jwk = (char *)"{}";
	a.thumbprint = (char *)"tp";
	a.state = AGENT_DISABLED;
	CHECK(store_agent_create(st, &a, NOW) == STORE_CONFLICT);

	CHECK(store_agent_get(st, "registrar-one", &got) == STORE_OK);
	CHECK(got != NULL && got->id == one && got->state == AGENT_ACTIVE);
	CHECK(got != NULL && got->created_at == NOW && got->updated_at == NOW);
	CHECK_STR(got ? got->issuer : NULL, "https://registrar-one.example.org");
	CHECK_STR(got ? got->thumbprint : NULL, "tp-registrar-one");
	CHECK_STR(got ? got->jwk : NULL,
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x-registrar-one\",\"y\":\"y-registrar-one\"}");
	agent_free(got);
	got = NULL;
	CHECK(store_agent_by_id(st, two, &got) == STORE_OK);
	CHECK_STR(got ? got->name : NULL, "registrar-two");
	agent_free(got);
	got = NULL;
	CHECK(store_agent_get(st, "nobody", &got) == STORE_NOTFOUND && got == NULL);
	CHECK(store_agent_by_id(st, 4242, &got) == STORE_NOTFOUND && got == NULL);

	/* disable / enable */
	CHECK(store_agent_set_state(st, "registrar-two", AGENT_DISABLED, NOW + 5) == STORE_OK);
	CHECK(store_agent_get(st, "registrar-two", &got) == STORE_OK);
	CHECK(got != NULL && got->state == AGENT_DISABLED && got->updated_at == NOW + 5);
	agent_free(got);
	got = NULL;
	CHECK(store_agent_set_state(st, "nobody", AGENT_DISABLED, NOW) == STORE_NOTFOUND);
	CHECK(store_agent_set_state(st, "registrar-two", (enum agent_state)7, NOW) == STORE_ERROR);

	/* key rotation */
	CHECK(store_agent_set_key(st, "registrar-one", "{\"kty\":\"RSA\"}", "tp-new", NOW + 6) == STORE_OK);
	CHECK(store_agent_get(st, "registrar-one", &got) == STORE_OK);
	CHECK_STR(got ? got->jwk : NULL, "{\"kty\":\"RSA\"}");
	CHECK_STR(got ? got->thumbprint : NULL, "tp-new");
	CHECK(got != NULL && got->updated_at == NOW + 6 && got->created_at == NOW);
	agent_free(got);
	got = NULL;
	CHECK(store_agent_set_key(st, "nobody", "{}", "tp", NOW) == STORE_NOTFOUND);

	/* list, with the live identities each holds */
	CHECK(provision(st, "az-1", one, "a.example", "sub-a") > 0);
	CHECK(provision(st, "az-2", one, "b.example", "sub-b") > 0);
	CHECK(store_identity_create(st, "op.example", "sub-op", NOW, NULL) == STORE_OK);
	CHECK(store_agent_list(st, &list) == STORE_OK && json_array_size(list) == 2);
	o = json_array_get(list, 0);
	CHECK_STR(json_string_value(json_object_get(o, "name")), "registrar-one");
	CHECK_STR(json_string_value(json_object_get(o, "issuer")), "https://registrar-one.example.org");
	CHECK_STR(json_string_value(json_object_get(o, "thumbprint")), "tp-new");
	CHECK_STR(json_string_value(json_object_get(o, "state")), "active");
	CHECK(json_integer_value(json_object_get(o, "created_at")) == NOW);
	CHECK(json_integer_value(json_object_get(o, "updated_at")) == NOW + 6);
	CHECK(json_integer_value(json_object_get(o, "identifiers")) == 2);
	CHECK(json_object_size(o) == 7);
	o = json_array_get(list, 1);
	CHECK_STR(json_string_value(json_object_get(o, "state")), "disabled");
	CHECK(json_integer_value(json_object_get(o, "identifiers")) == 0);
	json_decref(list);
	list = NULL;

	/* store_identity_list names the holder */
	CHECK(store_identity_list(st, &list) == STORE_OK && json_array_size(list) == 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "agent")), "registrar-one");
	CHECK(json_is_null(json_object_get(json_array_get(list, 2), "agent")));
	json_decref(list);
	agent_free(NULL);
	store_close(st);
}

static void
test_authz(void)
{
	struct store *st;
	struct agent_authz *a = NULL;
	int64_t one, two;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	CHECK((two = add_agent(st, "two")) > 0);
	CHECK(add_authz(st, "az-1", one, "alice.example", AGENT_ACTION_CREATE, NOW - 7200) == STORE_OK);
	CHECK(add_authz(st, "az-2", one, "alice.example", AGENT_ACTION_DELETE, NOW - 3600) == STORE_OK);
	CHECK(add_authz(st, "az-3", one, "bob.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(add_authz(st, "az-4", two, "bob.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(add_authz(st, "az-1", two, "carol.example", AGENT_ACTION_CREATE, NOW) == STORE_CONFLICT);
	CHECK(add_authz(st, "az-x", 4242, "carol.example", AGENT_ACTION_CREATE, NOW) == STORE_NOTFOUND);
	CHECK(add_authz(st, "az-y", one, "carol.example", (enum agent_action)9, NOW) == STORE_ERROR);

	CHECK(store_authz_get(st, "az-3", &a) == STORE_OK);
	CHECK_STR(a ? a->id : NULL, "az-3");
	CHECK_STR(a ? a->identifier : NULL, "bob.example");
	CHECK_STR(a ? a->token : NULL, "token-az-3");
	CHECK_STR(a ? a->thumbprint : NULL, "tp");
	CHECK(a != NULL && a->agent_id == one && a->action == AGENT_ACTION_TRANSFER);
	CHECK(a != NULL && a->created_at == NOW && a->expires_at == NOW + TTL && a->finalized_at == 0);
	agent_authz_free(a);
	a = NULL;
	/* expired ones too */
	CHECK(store_authz_get(st, "az-1", &a) == STORE_OK && a->action == AGENT_ACTION_CREATE);
	agent_authz_free(a);
	a = NULL;
	CHECK(store_authz_get(st, "az-2", &a) == STORE_OK && a->action == AGENT_ACTION_DELETE);
	agent_authz_free(a);
	a = NULL;
	CHECK(store_authz_get(st, "nope", &a) == STORE_NOTFOUND && a == NULL);

	/* the rate limit's count: at or after since, per agent */
	CHECK(store_authz_count_since(st, one, NOW - 7200) == 3);
	CHECK(store_authz_count_since(st, one, NOW - 3600) == 2);
	CHECK(store_authz_count_since(st, one, NOW - 3599) == 1);
	CHECK(store_authz_count_since(st, two, NOW - 7200) == 1);
	CHECK(store_authz_count_since(st, 4242, 0) == 0);

	CHECK_STR(agent_action_name(AGENT_ACTION_CREATE), "create");
	CHECK_STR(agent_action_name(AGENT_ACTION_DELETE), "delete");
	CHECK_STR(agent_action_name(AGENT_ACTION_TRANSFER), "transfer");
	CHECK_STR(agent_action_name((enum agent_action)9), "unknown");
	agent_authz_free(NULL);
	store_close(st);
}

static void
test_provision_create(void)
{
	struct store *st;
	struct identity *id = NULL;
	struct agent_authz *a = NULL;
	int64_t one, two, held = -1, rowid, got = 0;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	CHECK((two = add_agent(st, "two")) > 0);
	CHECK(add_authz(st, "az-1", one, "alice.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(store_provision_create(st, "az-1", one, "sub-a", "setup-a", NOW + 600, NOW + 5, &id, &held) == STORE_OK);
	CHECK(id != NULL && id->id > 0 && id->state == IDENTITY_INACTIVE && id->agent_id == one);
	CHECK(id != NULL && id->password_hash == NULL && id->created_at == NOW + 5);
	CHECK_STR(id ? id->identifier : NULL, "alice.example");
	CHECK_STR(id ? id->sub : NULL, "sub-a");
	CHECK(held == -1); /* only set on STORE_CONFLICT */
	rowid = id ? id->id : 0;
	identity_free(id);
	id = NULL;
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_OK && id->agent_id == one);
	identity_free(id);
	id = NULL;
	CHECK(store_setup_peek(st, "setup-a", NOW, &got) == STORE_OK && got == rowid);
	CHECK(store_authz_get(st, "az-1", &a) == STORE_OK && a->finalized_at == NOW + 5);
	agent_authz_free(a);
	a = NULL;

	/* A second finalize of the same authorization: a replay, whatever else holds. */
	CHECK(store_provision_create(st, "az-1", one, "sub-a2", "setup-a2", NOW + 600, NOW + 6, &id, &held) ==
	    STORE_REPLAY);
	CHECK(id == NULL);
	CHECK(store_provision_create(st, "az-1", one, "sub-a2", "setup-a2", NOW + 600, NOW + TTL + 1, NULL, NULL) ==
	    STORE_REPLAY);
	/* Another agent's authorization, an unknown or an expired one: not found, and still pending. */
	CHECK(add_authz(st, "az-2", one, "bob.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(
	    store_provision_create(st, "az-2", two, "sub-b", "setup-b", NOW + 600, NOW, NULL, NULL) == STORE_NOTFOUND);
	CHECK(
	    store_provision_create(st, "nope", one, "sub-b", "setup-b", NOW + 600, NOW, NULL, NULL) == STORE_NOTFOUND);
	CHECK(store_provision_create(st, "az-2", one, "sub-b", "setup-b", NOW + 600, NOW + TTL, NULL, NULL) ==
	    STORE_NOTFOUND);
	CHECK(pending(st, "az-2"));
	CHECK(count_identifier(st, "bob.example", true) == 0);
	/* An authorization for another action is a caller's bug. */
	CHECK(add_authz(st, "az-d", one, "carol.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_create(st, "az-d", one, "sub-c", "setup-c", NOW + 600, NOW, NULL, NULL) == STORE_ERROR);
	CHECK(pending(st, "az-d"));

	/* The precondition again at finalize: a live identity has the identifier.  held_by says whose; the
	 * authorization stays pending (nothing changed). */
	CHECK(add_authz(st, "az-3", one, "alice.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(store_provision_create(st, "az-3", one, "sub-x", "setup-x", NOW + 600, NOW + 7, &id, &held) ==
	    STORE_CONFLICT);
	CHECK(held == one && id == NULL);
	CHECK(pending(st, "az-3"));
	CHECK(add_authz(st, "az-4", two, "alice.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	held = -1;
	CHECK(store_provision_create(st, "az-4", two, "sub-x", "setup-x", NOW + 600, NOW + 7, NULL, &held) ==
	    STORE_CONFLICT);
	CHECK(held == one);
	CHECK(store_identity_create(st, "op.example", "sub-op", NOW, NULL) == STORE_OK);
	CHECK(add_authz(st, "az-5", two, "op.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	held = -1;
	CHECK(store_provision_create(st, "az-5", two, "sub-y", "setup-y", NOW + 600, NOW + 7, NULL, &held) ==
	    STORE_CONFLICT);
	CHECK(held == 0);
	CHECK(pending(st, "az-5"));
	CHECK(store_setup_peek(st, "setup-x", NOW, &got) == STORE_NOTFOUND);

	/* All or nothing: a failing last step (the setup token clashes) leaves no identity and the authorization
	 * pending; so does a clashing sub. */
	CHECK(
	    store_provision_create(st, "az-2", one, "sub-b", "setup-a", NOW + 600, NOW + 8, NULL, NULL) == STORE_ERROR);
	CHECK(pending(st, "az-2"));
	CHECK(count_identifier(st, "bob.example", true) == 0);
	CHECK(
	    store_provision_create(st, "az-2", one, "sub-a", "setup-b", NOW + 600, NOW + 8, NULL, NULL) == STORE_ERROR);
	CHECK(pending(st, "az-2"));
	CHECK(store_setup_peek(st, "setup-b", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_provision_create(st, "az-2", one, "sub-b", "setup-b", NOW + 600, NOW + 8, NULL, NULL) == STORE_OK);
	CHECK(count_identifier(st, "bob.example", true) == 1);
	store_close(st);
}

/* 8 threads of two agents finalize a create of one identifier at once, each with its own authorization. */
struct prov_race {
	struct store *st;
	int64_t agents[2];
	pthread_barrier_t barrier;
	enum store_rc rc[NROUNDS][NTHREADS];
	int64_t held[NROUNDS][NTHREADS];
	int64_t agent_of[NROUNDS][NTHREADS];
};

struct prov_racer {
	struct prov_race *race;
	int n;
};

static void *
prov_racer_main(void *arg)
{
	struct prov_racer *r = arg;
	struct identity *id = NULL;
	char authz[32], sub[32], setup[32];
	int round;

	for (round = 0; round < NROUNDS; round++) {
		snprintf(authz, sizeof(authz), "az-%d-%d", round, r->n);
		snprintf(sub, sizeof(sub), "sub-%d-%d", round, r->n);
		snprintf(setup, sizeof(setup), "setup-%d-%d", round, r->n);
		r->race->held[round][r->n] = -1;
		pthread_barrier_wait(&r->race->barrier);
		r->race->rc[round][r->n] = store_provision_create(r->race->st, authz, r->race->agents[r->n % 2], sub,
		    setup, NOW + 600, NOW + 1, &id, &r->race->held[round][r->n]);
		if (id != NULL)
			r->race->agent_of[round][r->n] = id->agent_id;
		identity_free(id);
		id = NULL;
	}
	return (NULL);
}

static void
test_provision_race(void)
{
	static struct prov_race race;
	struct prov_racer racers[NTHREADS];
	pthread_t tid[NTHREADS];
	char name[64];
	int i, round, ok, conflict, winner;
	int64_t got;

	memset(&race, 0, sizeof(race));
	if ((race.st = open_fresh()) == NULL) {
		CHECK(race.st != NULL);
		return;
	}
	CHECK((race.agents[0] = add_agent(race.st, "one")) > 0);
	CHECK((race.agents[1] = add_agent(race.st, "two")) > 0);
	for (round = 0; round < NROUNDS; round++) {
		snprintf(name, sizeof(name), "race-%d.example", round);
		for (i = 0; i < NTHREADS; i++) {
			char authz[32];

			snprintf(authz, sizeof(authz), "az-%d-%d", round, i);
			CHECK(
			    add_authz(race.st, authz, race.agents[i % 2], name, AGENT_ACTION_CREATE, NOW) == STORE_OK);
		}
	}
	pthread_barrier_init(&race.barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		racers[i].race = &race;
		racers[i].n = i;
		CHECK(pthread_create(&tid[i], NULL, prov_racer_main, &racers[i]) == 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&race.barrier);
	for (round = 0; round < NROUNDS; round++) {
		winner = -1;
		for (ok = conflict = i = 0; i < NTHREADS; i++) {
			if (race.rc[round][i] == STORE_OK) {
				ok++;
				winner = i;
			}
			conflict += race.rc[round][i] == STORE_CONFLICT;
		}
		CHECK(ok == 1);
		CHECK(conflict == NTHREADS - 1);
		if (winner == -1)
			continue;
		CHECK(race.agent_of[round][winner] == race.agents[winner % 2]);
		for (i = 0; i < NTHREADS; i++) {
			char authz[32], setup[32];

			snprintf(authz, sizeof(authz), "az-%d-%d", round, i);
			snprintf(setup, sizeof(setup), "setup-%d-%d", round, i);
			if (i == winner) {
				CHECK(!pending(race.st, authz));
				CHECK(store_setup_peek(race.st, setup, NOW, &got) == STORE_OK);
				continue;
			}
			/* The losers changed nothing: authorization pending, no setup token. */
			CHECK(race.held[round][i] == race.agents[winner % 2]);
			CHECK(pending(race.st, authz));
			CHECK(store_setup_peek(race.st, setup, NOW, &got) == STORE_NOTFOUND);
		}
		snprintf(name, sizeof(name), "race-%d.example", round);
		CHECK(count_identifier(race.st, name, true) == 1);
		CHECK(count_identifier(race.st, name, false) == 0);
	}
	store_close(race.st);
}

/* A deleted identifier can be created again, with a new sub; the old one stays a tombstone. */
static void
test_provision_after_delete(void)
{
	struct store *st;
	struct identity *id = NULL;
	bool deleted = false;
	int64_t one, two, first, second;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	CHECK((two = add_agent(st, "two")) > 0);
	CHECK((first = provision(st, "az-1", one, "alice.example", "sub-1")) > 0);
	CHECK(add_authz(st, "az-d", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d", one, "confirm-1", NOW + 600, NOW + 2, NULL, &deleted) == STORE_OK);
	CHECK(deleted);

	/* For its agent's status request the deleted identity is still found; not for another agent. */
	CHECK(store_identity_by_identifier_any(st, "alice.example", one, &id) == STORE_OK);
	CHECK(id != NULL && id->id == first && id->state == IDENTITY_DELETED && id->agent_id == one);
	identity_free(id);
	id = NULL;
	CHECK(store_identity_by_identifier_any(st, "alice.example", two, &id) == STORE_NOTFOUND && id == NULL);
	CHECK(store_identity_by_identifier_any(st, "alice.example", 0, &id) == STORE_NOTFOUND);
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_NOTFOUND);

	/* Created again, by the other agent: a new identity and sub. */
	CHECK((second = provision(st, "az-2", two, "alice.example", "sub-2")) > 0);
	CHECK(second != first);
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_OK);
	CHECK(id != NULL && id->id == second && id->agent_id == two);
	CHECK_STR(id ? id->sub : NULL, "sub-2");
	identity_free(id);
	id = NULL;
	/* The live one comes first, for any agent. */
	CHECK(store_identity_by_identifier_any(st, "alice.example", one, &id) == STORE_OK && id->id == second);
	identity_free(id);
	id = NULL;
	CHECK(store_identity_by_identifier_any(st, "nobody.example", one, &id) == STORE_NOTFOUND);
	/* The old sub is a tombstone: still there, never issued again. */
	CHECK(store_identity_by_id(st, first, &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_DELETED);
	CHECK_STR(id ? id->sub : NULL, "sub-1");
	identity_free(id);
	id = NULL;
	CHECK(add_authz(st, "az-3", one, "other.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(
	    store_provision_create(st, "az-3", one, "sub-1", "setup-3", NOW + 600, NOW + 3, NULL, NULL) == STORE_ERROR);
	CHECK(pending(st, "az-3"));
	CHECK(count_identifier(st, "alice.example", true) == 1);
	CHECK(count_identifier(st, "alice.example", false) == 1);

	/* Of two deleted ones the agent held, the most recent. */
	CHECK(add_authz(st, "az-d2", two, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d2", two, "confirm-2", NOW + 600, NOW + 4, NULL, &deleted) == STORE_OK);
	CHECK((first = provision(st, "az-4", two, "alice.example", "sub-3")) > 0);
	CHECK(add_authz(st, "az-d3", two, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d3", two, "confirm-3", NOW + 600, NOW + 5, NULL, &deleted) == STORE_OK);
	CHECK(store_identity_by_identifier_any(st, "alice.example", two, &id) == STORE_OK && id->id == first);
	identity_free(id);
	store_close(st);
}

static void
test_provision_transfer(void)
{
	struct store *st;
	struct identity *id = NULL;
	bool deleted = true;
	int64_t one, two, alice, op, previous = -1, got;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	CHECK((two = add_agent(st, "two")) > 0);
	CHECK((alice = provision(st, "az-1", one, "alice.example", "sub-a")) > 0);
	CHECK(activate(st, "sub-a") == 0);
	CHECK(add_session(st, "sess-a", alice) == 0);
	CHECK(add_grant(st, alice, 1) == 0);
	/* The losing agent's pending URLs: a fresh setup token and a pending deletion. */
	CHECK(store_setup_create(st, alice, "setup-new", NOW + 600) == STORE_OK);
	CHECK(add_authz(st, "az-d", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d", one, "confirm-a", NOW + 600, NOW + 3, NULL, &deleted) == STORE_OK);
	CHECK(!deleted);
	CHECK(store_deletion_peek(st, "confirm-a", NOW, &got) == STORE_OK && got == alice);

	/* Transfer to the current holder: a conflict, nothing changed. */
	CHECK(add_authz(st, "az-t1", one, "alice.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t1", one, NOW + 4, &id, &previous) == STORE_CONFLICT);
	CHECK(id == NULL && previous == -1);
	CHECK(pending(st, "az-t1"));
	CHECK(store_deletion_peek(st, "confirm-a", NOW, &got) == STORE_OK);

	CHECK(add_authz(st, "az-t2", two, "alice.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t2", two, NOW + 5, &id, &previous) == STORE_OK);
	CHECK(previous == one);
	CHECK(id != NULL && id->id == alice && id->agent_id == two && id->state == IDENTITY_ACTIVE);
	CHECK(id != NULL && id->updated_at == NOW + 5);
	CHECK_STR(id ? id->sub : NULL, "sub-a");
	CHECK_STR(id ? id->password_hash : NULL, PWHASH);
	identity_free(id);
	id = NULL;
	/* The losing agent's URLs died; the user's sessions and grants did not. */
	CHECK(store_setup_peek(st, "setup-new", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_peek(st, "confirm-a", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_confirm(st, "confirm-a", NOW, &got) == STORE_NOTFOUND);
	CHECK(session_ok(st, "sess-a"));
	CHECK(access_ok(st, 1));
	/* The losing agent's setup-url that read the identity before the transfer committed: refused inside the
	 * transaction, nothing written; the gaining agent's goes through. */
	CHECK(store_setup_create_agent(st, alice, one, "setup-late", NOW + 600) == STORE_CONFLICT);
	CHECK(store_setup_peek(st, "setup-late", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_create_agent(st, alice, two, "setup-two", NOW + 600) == STORE_OK);
	CHECK(store_setup_peek(st, "setup-two", NOW, &got) == STORE_OK && got == alice);
	CHECK(store_setup_create_agent(st, 424242, two, "setup-none", NOW + 600) == STORE_NOTFOUND);
	/* Replayed, and the old holder's own transfer or delete now: held by another. */
	CHECK(store_provision_transfer(st, "az-t2", two, NOW + 6, NULL, NULL) == STORE_REPLAY);
	CHECK(add_authz(st, "az-d2", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d2", one, "confirm-b", NOW + 600, NOW + 6, NULL, NULL) == STORE_CONFLICT);
	CHECK(pending(st, "az-d2"));
	CHECK(store_provision_transfer(st, "az-t1", one, NOW + 6, NULL, &previous) == STORE_OK && previous == two);

	/* From the operator: previous 0.  Of no live identity: not found. */
	CHECK(store_identity_create(st, "op.example", "sub-op", NOW, &id) == STORE_OK);
	op = id ? id->id : 0;
	identity_free(id);
	id = NULL;
	CHECK(add_authz(st, "az-t3", two, "op.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t3", two, NOW + 7, &id, &previous) == STORE_OK);
	CHECK(previous == 0 && id != NULL && id->id == op && id->agent_id == two);
	identity_free(id);
	id = NULL;
	CHECK(add_authz(st, "az-t4", two, "nobody.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t4", two, NOW + 7, &id, &previous) == STORE_NOTFOUND && id == NULL);
	CHECK(pending(st, "az-t4"));
	/* Expired */
	CHECK(add_authz(st, "az-t5", one, "op.example", AGENT_ACTION_TRANSFER, NOW) == STORE_OK);
	CHECK(store_provision_transfer(st, "az-t5", one, NOW + TTL, NULL, NULL) == STORE_NOTFOUND);
	store_close(st);
}

static void
test_provision_delete(void)
{
	struct store *st;
	struct identity *id = NULL;
	bool deleted;
	int64_t one, two, fresh_id, alice, got = 0;

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	CHECK((two = add_agent(st, "two")) > 0);

	/* Inactive (no password: no credentials to confirm with): deleted at once, with its setup token. */
	CHECK((fresh_id = provision(st, "az-1", one, "new.example", "sub-new")) > 0);
	CHECK(add_authz(st, "az-d1", one, "new.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	deleted = false;
	CHECK(store_provision_delete(st, "az-d1", one, "confirm-0", NOW + 600, NOW + 3, &id, &deleted) == STORE_OK);
	CHECK(deleted);
	CHECK(id != NULL && id->id == fresh_id && id->state == IDENTITY_DELETED && id->updated_at == NOW + 3);
	identity_free(id);
	id = NULL;
	CHECK(store_setup_peek(st, "setup-sub-new", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_peek(st, "confirm-0", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_provision_delete(st, "az-d1", one, "confirm-0", NOW + 600, NOW + 4, NULL, NULL) == STORE_REPLAY);
	/* No live identity any more. */
	CHECK(add_authz(st, "az-d2", one, "new.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d2", one, "confirm-0", NOW + 600, NOW + 4, NULL, NULL) == STORE_NOTFOUND);
	CHECK(pending(st, "az-d2"));

	/* Active (a password): a deletion token to be confirmed by the user; nothing deleted yet. */
	CHECK((alice = provision(st, "az-2", one, "alice.example", "sub-a")) > 0);
	CHECK(activate(st, "sub-a") == 0);
	CHECK(add_session(st, "sess-a", alice) == 0);
	CHECK(add_grant(st, alice, 1) == 0);
	CHECK(add_authz(st, "az-d3", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	deleted = true;
	CHECK(store_provision_delete(st, "az-d3", one, "confirm-1", NOW + 600, NOW + 5, &id, &deleted) == STORE_OK);
	CHECK(!deleted);
	CHECK(id != NULL && id->id == alice && id->state == IDENTITY_ACTIVE);
	identity_free(id);
	id = NULL;
	CHECK(store_deletion_peek(st, "confirm-1", NOW, &got) == STORE_OK && got == alice);
	CHECK(store_deletion_peek(st, "confirm-1", NOW + 600, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_peek(st, "unknown", NOW, &got) == STORE_NOTFOUND);
	CHECK(session_ok(st, "sess-a"));
	/* Another agent: held by another; the operator's identity too. */
	CHECK(add_authz(st, "az-d4", two, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d4", two, "confirm-x", NOW + 600, NOW + 5, NULL, NULL) == STORE_CONFLICT);
	CHECK(pending(st, "az-d4"));
	CHECK(store_deletion_peek(st, "confirm-x", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_identity_create(st, "op.example", "sub-op", NOW, NULL) == STORE_OK);
	CHECK(add_authz(st, "az-d5", two, "op.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d5", two, "confirm-y", NOW + 600, NOW + 5, NULL, NULL) == STORE_CONFLICT);

	/* A new deletion replaces the earlier token. */
	CHECK(add_authz(st, "az-d6", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d6", one, "confirm-2", NOW + 600, NOW + 6, NULL, &deleted) == STORE_OK);
	CHECK(store_deletion_peek(st, "confirm-1", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_confirm(st, "confirm-1", NOW, &got) == STORE_NOTFOUND);
	/* Expired, unknown */
	CHECK(store_deletion_confirm(st, "confirm-2", NOW + 600, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_confirm(st, "unknown", NOW, &got) == STORE_NOTFOUND);
	CHECK(session_ok(st, "sess-a"));

	/* Confirmed: the identity is wiped in one go; the sub stays a tombstone. */
	got = 0;
	CHECK(store_deletion_confirm(st, "confirm-2", NOW + 10, &got) == STORE_OK && got == alice);
	CHECK(store_identity_by_id(st, alice, &id) == STORE_OK);
	CHECK(id != NULL && id->state == IDENTITY_DELETED && id->password_hash == NULL && id->updated_at == NOW + 10);
	CHECK_STR(id ? id->sub : NULL, "sub-a");
	identity_free(id);
	id = NULL;
	CHECK(!session_ok(st, "sess-a"));
	CHECK(store_session_delete(st, "sess-a") == STORE_NOTFOUND);
	CHECK(!access_ok(st, 1));
	CHECK(store_identity_by_identifier(st, "alice.example", &id) == STORE_NOTFOUND);
	CHECK(store_identity_create(st, "x.example", "sub-a", NOW, NULL) == STORE_CONFLICT);
	/* Single use, even once expired too. */
	CHECK(store_deletion_confirm(st, "confirm-2", NOW + 11, &got) == STORE_REPLAY);
	CHECK(store_deletion_confirm(st, "confirm-2", NOW + 700, &got) == STORE_REPLAY);
	CHECK(store_deletion_peek(st, "confirm-2", NOW, &got) == STORE_NOTFOUND);

	/* A disabled identity with a password is confirmed too; store_identity_delete() takes its pending deletion
	 * token along. */
	CHECK((alice = provision(st, "az-3", one, "alice.example", "sub-a2")) > 0);
	CHECK(activate(st, "sub-a2") == 0);
	CHECK(store_identity_set_state(st, alice, IDENTITY_DISABLED, NOW) == STORE_OK);
	CHECK(add_authz(st, "az-d7", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	deleted = true;
	CHECK(store_provision_delete(st, "az-d7", one, "confirm-3", NOW + 600, NOW + 6, NULL, &deleted) == STORE_OK);
	CHECK(!deleted);
	CHECK(store_identity_delete(st, alice, NOW + 7) == STORE_OK);
	CHECK(store_deletion_peek(st, "confirm-3", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_deletion_confirm(st, "confirm-3", NOW, &got) == STORE_NOTFOUND);

	/* Disabled by the operator before its user ever set a password: nobody could confirm, so deleted at once
	 * (the rule is the password, not the state), its setup token with it. */
	CHECK((fresh_id = provision(st, "az-4", one, "bob.example", "sub-b")) > 0);
	CHECK(store_identity_set_state(st, fresh_id, IDENTITY_DISABLED, NOW + 2) == STORE_OK);
	CHECK(add_authz(st, "az-d8", one, "bob.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	deleted = false;
	CHECK(store_provision_delete(st, "az-d8", one, "confirm-5", NOW + 600, NOW + 8, &id, &deleted) == STORE_OK);
	CHECK(deleted);
	CHECK(id != NULL && id->id == fresh_id && id->state == IDENTITY_DELETED && id->updated_at == NOW + 8);
	identity_free(id);
	id = NULL;
	CHECK(store_deletion_peek(st, "confirm-5", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_setup_peek(st, "setup-sub-b", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_identity_by_identifier(st, "bob.example", &id) == STORE_NOTFOUND);

	/* An authorization of another action is a caller's bug. */
	CHECK(add_authz(st, "az-c", one, "op.example", AGENT_ACTION_CREATE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-c", one, "confirm-4", NOW + 600, NOW, NULL, NULL) == STORE_ERROR);
	CHECK(store_provision_transfer(st, "az-c", one, NOW, NULL, NULL) == STORE_ERROR);
	CHECK(pending(st, "az-c"));
	store_close(st);
}

static void
test_purge(void)
{
	struct store *st;
	struct agent_authz *a = NULL;
	int64_t one, alice, got;
	const int64_t T = NOW + 10000; /* purge time */

	if ((st = open_fresh()) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK((one = add_agent(st, "one")) > 0);
	/* az-1 (provision()) and az-d expire at NOW + TTL, less than a day before T: kept. */
	CHECK((alice = provision(st, "az-1", one, "alice.example", "sub-a")) > 0);
	CHECK(activate(st, "sub-a") == 0);
	CHECK(add_authz(st, "az-old", one, "b.example", AGENT_ACTION_CREATE, T - 86400 - TTL - 1) == STORE_OK);
	CHECK(add_authz(st, "az-day", one, "b.example", AGENT_ACTION_CREATE, T - 86400 - TTL) == STORE_OK);
	CHECK(add_authz(st, "az-d", one, "alice.example", AGENT_ACTION_DELETE, NOW) == STORE_OK);
	CHECK(store_provision_delete(st, "az-d", one, "confirm-old", T, NOW + 1, NULL, NULL) == STORE_OK);

	/* the used setup token (expires NOW + 600), deletion token 1, authorization 1 */
	CHECK(store_purge_expired(st, T, 0) == 3);
	CHECK(store_deletion_peek(st, "confirm-old", NOW, &got) == STORE_NOTFOUND);
	CHECK(store_authz_get(st, "az-old", &a) == STORE_NOTFOUND);
	CHECK(store_authz_get(st, "az-day", &a) == STORE_OK); /* expired exactly a day ago: kept */
	agent_authz_free(a);
	a = NULL;
	CHECK(store_authz_get(st, "az-1", &a) == STORE_OK);
	agent_authz_free(a);
	CHECK(store_purge_expired(st, T, 0) == 0);
	CHECK(store_purge_expired(st, T + 1, 0) == 1); /* az-day */
	CHECK(store_authz_count_since(st, one, 0) == 2);
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

/* §4 rate limit: counted in the insert's transaction, so 8 threads asking at once never exceed it. */
struct limit_race {
	struct store *st;
	int64_t agent;
	pthread_barrier_t barrier;
	enum store_rc rc[NTHREADS];
};

struct limit_racer {
	struct limit_race *race;
	int n;
};

static struct agent_authz
limit_authz(const char *id, int64_t agent, int64_t created_at)
{
	struct agent_authz a = { 0 };

	a.id = (char *)id;
	a.agent_id = agent;
	a.identifier = (char *)"limit.example";
	a.action = AGENT_ACTION_CREATE;
	a.token = (char *)id;
	a.thumbprint = (char *)"tp";
	a.created_at = created_at;
	a.expires_at = created_at + TTL;
	return (a);
}

static void *
limit_racer_main(void *arg)
{
	struct limit_racer *r = arg;
	char id[32];
	struct agent_authz a;

	snprintf(id, sizeof(id), "lim-%d", r->n);
	a = limit_authz(id, r->race->agent, NOW);
	pthread_barrier_wait(&r->race->barrier);
	r->race->rc[r->n] = store_authz_create_limited(r->race->st, &a, NOW - 3600, 3, NULL);
	return (NULL);
}

static void
test_authz_limit(void)
{
	static struct limit_race race;
	struct limit_racer racers[NTHREADS];
	pthread_t tid[NTHREADS];
	struct agent_authz a;
	int64_t other, retry_at = 0;
	int i, ok = 0, limited = 0;

	memset(&race, 0, sizeof(race));
	if ((race.st = open_fresh()) == NULL) {
		CHECK(race.st != NULL);
		return;
	}
	CHECK((race.agent = add_agent(race.st, "limited")) > 0);
	CHECK((other = add_agent(race.st, "other")) > 0);
	pthread_barrier_init(&race.barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		racers[i].race = &race;
		racers[i].n = i;
		CHECK(pthread_create(&tid[i], NULL, limit_racer_main, &racers[i]) == 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&race.barrier);
	for (i = 0; i < NTHREADS; i++) {
		ok += race.rc[i] == STORE_OK;
		limited += race.rc[i] == STORE_CONFLICT;
	}
	CHECK(ok == 3 && limited == NTHREADS - 3);
	CHECK(store_authz_count_since(race.st, race.agent, 0) == 3);
	/* Retry-After: when the oldest of the hour stops counting; another agent is not limited. */
	a = limit_authz("lim-late", race.agent, NOW + 100);
	CHECK(store_authz_create_limited(race.st, &a, NOW + 100 - 3600, 3, &retry_at) == STORE_CONFLICT);
	CHECK(retry_at == NOW + 3600);
	a = limit_authz("lim-other", other, NOW + 100);
	CHECK(store_authz_create_limited(race.st, &a, NOW + 100 - 3600, 3, NULL) == STORE_OK);
	/* An hour later the window has moved on. */
	a = limit_authz("lim-next", race.agent, NOW + 3601);
	CHECK(store_authz_create_limited(race.st, &a, NOW + 1, 3, NULL) == STORE_OK);
	store_close(race.st);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	TEST_RUN(test_migration_from_v1);
	TEST_RUN(test_agents);
	TEST_RUN(test_authz);
	TEST_RUN(test_authz_limit);
	TEST_RUN(test_provision_create);
	TEST_RUN(test_provision_race);
	TEST_RUN(test_provision_after_delete);
	TEST_RUN(test_provision_transfer);
	TEST_RUN(test_provision_delete);
	TEST_RUN(test_purge);
	cleanup();
	return (TEST_EXIT());
}
