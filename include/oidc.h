/*
 * oidc.h: the OpenID Connect provider: its shared context, its route table, and the identity operations that
 * the command line uses now and the agent API will use later.
 *
 * OpenID Connect Core 1.0, Discovery 1.0, Dynamic Client Registration 1.0; RFC 6749, 6750, 7009, 7591, 7592,
 * 7636, 9068, 9207; OpenID Connect RP-Initiated Logout 1.0.
 */
#ifndef ANCHORID_OIDC_H
#define ANCHORID_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "http.h"

struct conf;
struct store;
struct keyring;
struct tmpl_set;
struct throttle;
struct dns_resolver;

/* Everything a handler needs; built once by main and shared read-only by all worker threads. */
struct app {
	const struct conf *conf;
	struct store *st;
	struct keyring *kr;
	struct tmpl_set *tmpl;
	struct throttle *throttle;         /* login / registration rate state, in memory */
	unsigned char secret[32];          /* server HMAC key (stored in the database): CSRF tokens, signed forms */
	char *discovery;                   /* the discovery document, serialised once at start */
	struct dns_resolver *dns;          /* DNS discovery: the login re-check and the agents' dns-01 checks */
	bool login_dns_check;              /* login_dns_check_on(conf) */
	struct agent_metas *agents;        /* cache of identity agents' configurations (agentmeta.c) */
	struct agent_nonces *agent_nonces; /* the agent API's Replay-Nonces, in memory (src/agent/nonce.c) */
};

struct agent_metas;
/** agent_metas_new() / agent_metas_free(c): the cache of app->agents (main makes it); NULL on memory failure. */
struct agent_metas *agent_metas_new(void);
void agent_metas_free(struct agent_metas *c);

/** oidc_routes(n): the route table of every endpoint (static storage); *n gets its length. */
const struct http_route *oidc_routes(size_t *n);
/** oidc_discovery(conf): the discovery document (OIDC Discovery §3) for ${conf}; caller frees. */
char *oidc_discovery(const struct conf *conf);

/** login_dns_check_on(conf): true when logins re-check the identifier's _openid record: login_dns_check = on,
 * or auto with an issuer whose host is not loopback (no record in real DNS can name https://localhost). */
bool login_dns_check_on(const struct conf *conf);

/* Endpoint paths, relative to the issuer. */
#define OIDC_PATH_DISCOVERY "/.well-known/openid-configuration"
#define OIDC_PATH_JWKS "/jwks.json"
#define OIDC_PATH_REGISTER "/register"
#define OIDC_PATH_AUTHORIZE "/authorize"
#define OIDC_PATH_LOGIN "/login"
#define OIDC_PATH_CONSENT "/consent"
#define OIDC_PATH_TOKEN "/token"
#define OIDC_PATH_USERINFO "/userinfo"
#define OIDC_PATH_REVOKE "/revoke"
#define OIDC_PATH_LOGOUT "/logout"
#define OIDC_PATH_SETUP "/setup"
#define OIDC_PATH_DELETE "/delete" /* the user's confirmation of a deletion an agent asked for */
/* The user's own page: decisions per relying party, sessions (drafts/claims.md §6). */
#define OIDC_PATH_ACCOUNT "/account"
#define OIDC_PATH_STATIC "/static/"

/* --------------------------------------------------------------------------------------- identities */

/** identifier_canonical(in, out): the canonical identifier (dns_identifier_canonical: IDN U-labels to A-labels,
 * lower case, trailing dot removed, 1-253 octets, LDH labels of 1-63, at least two labels).  Caller frees; -1
 * when ${in} is not a valid identifier. */
int identifier_canonical(const char *in, char **out);

/** identity_add(st, conf, identifier, setup_url): create an inactive identity with a fresh sub and a
 * one-time setup token; *setup_url gets issuer + "/setup?t=" + token (caller frees).  STORE_CONFLICT when the
 * identifier exists. */
int identity_add(struct store *st, const struct conf *conf, const char *identifier, char **setup_url);
/** identity_new_setup_url(st, conf, identity_id, setup_url): a fresh setup URL; the previous one dies. */
int identity_new_setup_url(struct store *st, const struct conf *conf, int64_t identity_id, char **setup_url);

/** identity_sub_new(): a fresh random sub (128 bits, base64url) for a new identity; caller frees; NULL on
 * failure.  The store refuses a sub that was ever used, so a collision can never hand out a second owner. */
char *identity_sub_new(void);
/** identity_token_new(conf, path, hash, url): a one-time 256-bit token for the page ${path} of the authority
 * (OIDC_PATH_SETUP, OIDC_PATH_DELETE): *hash gets token_hash(token) to store, *url gets issuer + path + "?t=" +
 * token to hand out.  The caller frees both (*url with str_secure_free); -1 (both NULL) on failure. */
int identity_token_new(const struct conf *conf, const char *path, char **hash, char **url);

#endif
