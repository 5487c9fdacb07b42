/*
 * internal.h: what the files of src/oidc/ share with each other (not exported beyond the module).
 */
#ifndef ANCHORID_OIDC_INTERNAL_H
#define ANCHORID_OIDC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "oidc.h"
#include "store.h"
#include "tmpl.h"
#include "util.h"

#define OIDC_TOKEN_BYTES 32           /* 256-bit codes, refresh tokens, sessions, secrets, setup tokens */
#define OIDC_MAX_REDIRECT_URIS 10     /* SECURITY.md 11 */
#define OIDC_MAX_URI 2048             /* any single URI in metadata or a request */
#define OIDC_MAX_METADATA (16 * 1024) /* registration request body */
#define OIDC_MAX_STATE 2048           /* state and nonce */
#define OIDC_MAX_QUEUE_MS 2000        /* a password check that waited longer for the slow lane gets "busy" */
#define OIDC_UNNAMED_CLIENT "A website that did not give its name" /* consent and account pages: no client_name */

/* Handlers (one per endpoint), all of type http_handler with ctx = struct app *. */
void h_discovery(void *ctx, const struct request *req, struct response *resp);       /* discovery.c */
void h_jwks(void *ctx, const struct request *req, struct response *resp);            /* discovery.c */
void h_static(void *ctx, const struct request *req, struct response *resp);          /* discovery.c */
void h_register(void *ctx, const struct request *req, struct response *resp);        /* register.c: POST */
void h_register_manage(void *ctx, const struct request *req, struct response *resp); /* register.c: 7592 */
void h_authorize(void *ctx, const struct request *req, struct response *resp);       /* authorize.c */
void h_login(void *ctx, const struct request *req, struct response *resp);           /* authorize.c: POST */
void h_consent(void *ctx, const struct request *req, struct response *resp);         /* authorize.c */
void h_token(void *ctx, const struct request *req, struct response *resp);           /* token.c */
void h_userinfo(void *ctx, const struct request *req, struct response *resp);        /* userinfo.c */
void h_revoke(void *ctx, const struct request *req, struct response *resp);          /* revoke.c */
void h_logout(void *ctx, const struct request *req, struct response *resp);          /* session.c */

/* claims.c: claims requests (drafts/claims.md §1). */
#define CLAIMS_MAX_PARAM 4096 /* bytes of the claims parameter */
#define CLAIMS_MAX 32         /* distinct claims in one request */
#define CLAIMS_MAX_NAME 64    /* bytes of one claim name */
#define CLAIMS_MAX_REASON 200 /* characters of a reason kept */
/** claims_request(scope, claims_param, out, why, whylen): the claims requested by ${scope} (expanded per OIDC Core
 * §5.4) and the claims parameter ${claims_param} (NULL when absent), as a new JSON array of {"name", "essential"
 * (bool), "reason" (string, only when given)}: scope claims first in the order of drafts/claims.md §1, then the
 * parameter's in order of appearance, each name once, the authority's own claims left out.  -1 and a sentence in
 * ${why} when the parameter is invalid (invalid_request). */
int claims_request(const char *scope, const char *claims_param, json_t **out, char *why, size_t whylen);
/** claims_granted_now(app, identity_id, client_id, claims): the names of ${claims} (JSON array text: the claims
 * granted with a code, or NULL) that the identity's decisions for ${client_id} still grant, in their order: a
 * revoked claim leaves every later token and UserInfo answer (drafts/claims.md §4).  New array; NULL on a store
 * or memory failure (logged). */
json_t *claims_granted_now(struct app *app, int64_t identity_id, const char *client_id, const char *claims);
/** claim_label(name): the standard claim's name in words ("E-mail address"), or NULL for another claim. */
const char *claim_label(const char *name);

/* agentmeta.c: identity agents' configurations (drafts/claims.md §2), fetched with httpc and cached. */
struct agent_meta {
	char *issuer;             /* as the document says; must equal the agent's registered issuer */
	char *userinfo_endpoint;  /* https */
	char *jwks_uri;           /* https */
	json_t *claims_supported; /* array of strings (owned) */
};
void agent_meta_free(struct agent_meta *m);
/** agent_meta_get(app, agent_issuer, out): the configuration of the agent at ${agent_issuer} (its registered
 * https URL), from app->agents or fetched from ${agent_issuer}/.well-known/openid-configuration under the
 * outbound_* settings; a copy in a new *${out}.  -1 (logged once per cache period) when it cannot be had. */
int agent_meta_get(struct app *app, const char *agent_issuer, struct agent_meta **out);
/** agent_meta_parse(doc, len, agent_issuer, out, why, whylen): check the ${len} bytes of ${doc} (untrusted, not
 * NUL-terminated) as the configuration document of the agent at ${agent_issuer} (drafts/claims.md §2): one
 * duplicate-free JSON object of at most 64 KiB, its issuer byte for byte ${agent_issuer}, userinfo_endpoint and
 * jwks_uri absolute https URLs, claims_supported an array of at most 256 strings.  0 and a new *${out}
 * (agent_meta_free) independent of ${doc}; else -1, *${out} NULL and a sentence in ${why}.  agent_meta_get's
 * check of what it fetched. */
int agent_meta_parse(
    const char *doc, size_t len, const char *agent_issuer, struct agent_meta **out, char *why, size_t whylen);
/** agent_meta_supports(m, claim): true when ${claim} is in m->claims_supported (NULL ${m}: false). */
bool agent_meta_supports(const struct agent_meta *m, const char *claim);

/* account.c: the account page (drafts/claims.md §6). */
void h_account(void *ctx, const struct request *req, struct response *resp);
/** login_page_account(app, req, resp, notice): the login form of the account page (authorize.c). */
void login_page_account(struct app *app, const struct request *req, struct response *resp, const char *notice);

/* dnscheck.c: the login re-check of _openid (drafts/dns-discovery.md §12). */
/** login_dns_check(app, id, msg, msglen): 0 when the _openid record of identity ${id} lets it log in here (iss
 * names this issuer; clp names its agent, if it has one); else the HTTP status (403 refused, 503 DNS unavailable,
 * 500) and a sentence for the person. */
int login_dns_check(struct app *app, const struct identity *id, char *msg, size_t msglen);
void h_setup(void *ctx, const struct request *req, struct response *resp);  /* setup.c */
void h_delete(void *ctx, const struct request *req, struct response *resp); /* delete.c */

/* client.c */
/** client_authenticate(app, req, resp): RFC 6749 §2.3: client_secret_basic, client_secret_post (Basic plus
 * identical body credentials tolerated), or none (public client: client_id only).  Secrets compared in constant
 * time by hash.  On failure writes 401 invalid_client (or 400 invalid_request for conflicting methods) into
 * ${resp} and returns NULL.  Caller frees the client. */
struct client *client_authenticate(struct app *app, const struct request *req, struct response *resp);
/** source_key(remote, out, outlen): the key per-source limits count under: the address, for IPv6 its /64. */
void source_key(const char *remote, char *out, size_t outlen);

/* Wrong-password counting (SECURITY.md 10), shared by every page that checks a password (login, deletion): one
 * count per identifier and source, one per source alone, so one password has one count whatever the page. */
struct pw_guard {
	char pair[512]; /* "id:<identifier>|<source>": an identifier is at most 253 bytes */
	char src[128];  /* "src:<source>" */
};
/** pw_guard_init(g, req, identifier): the counters of ${identifier} (canonical) tried from ${req}'s source. */
void pw_guard_init(struct pw_guard *g, const struct request *req, const char *identifier);
/** pw_guard_wait(app, g, now, resp): seconds the next try must wait (0: none); when > 0, Retry-After is set on
 * ${resp} and its note says "throttled". */
int64_t pw_guard_wait(struct app *app, const struct pw_guard *g, int64_t now, struct response *resp);
/** pw_guard_fail(app, g, now) / pw_guard_ok(app, g): a wrong password counts; a right one clears the pair. */
void pw_guard_fail(struct app *app, const struct pw_guard *g, int64_t now);
void pw_guard_ok(struct app *app, const struct pw_guard *g);
/** param_repeated(req, name): RFC 6749 §3.2: ${name} appears more than once in the body or the query string. */
bool param_repeated(const struct request *req, const char *name);
/** client_meta_str(c, key): a string member of the client's metadata, or NULL. */
const char *client_meta_str(const struct client *c, const char *key);
/** client_meta_has(c, key, value): ${value} is byte for byte an element of the metadata array ${key}
 * (registration stores every array it accepts, defaults included). */
bool client_meta_has(const struct client *c, const char *key, const char *value);
/** client_is_public(c): token_endpoint_auth_method is "none". */
bool client_is_public(const struct client *c);
/** client_redirect_ok(c, uri): SECURITY.md 1: ${uri} is byte-for-byte one of the registered redirect_uris. */
bool client_redirect_ok(const struct client *c, const char *uri);

/* tokens.c: RFC 9068 access tokens (typ "at+jwt"): iss, sub, aud (= issuer), client_id, scope, jti, iat, exp,
 * auth_time, id4me.identifier, clm (the consented claim names still granted, drafts/claims.md §4). */
struct token_subject {
	const struct identity *identity;
	const char *client_id;
	const char *scope;
	int64_t auth_time;
	const char *amr;    /* JSON array text */
	const char *claims; /* the grant's claims (JSON array text of names, or NULL) */
};
/** access_token_mint(app, s, jti, now): sign an access token with conf->access_token_alg; caller frees. */
char *access_token_mint(struct app *app, const struct token_subject *s, const char *jti, int64_t now);
/** access_token_check(app, token, now, grant, identity): verify signature/typ/iss/exp, then that the token's
 * grant is live and its identity active (store_access_check).  Returns the claims (caller decrefs) and, when the
 * pointers are not NULL, the grant and identity; NULL when the token is not valid. */
json_t *access_token_check(
    struct app *app, const char *token, int64_t now, struct grant **grant, struct identity **identity);
/** id_token_alg(c): the client's id_token_signed_response_alg, "RS256" by default. */
const char *id_token_alg(const struct client *c);

/* pages.c */
/** page_render(app, resp, status, name, vars, n): render a www/ template as an HTML response. */
void page_render(
    struct app *app, struct response *resp, int status, const char *name, const struct tmpl_var *vars, size_t n);
/** page_error(app, resp, status, title, message): the error page (never a redirect). */
void page_error(struct app *app, struct response *resp, int status, const char *title, const char *message);
/** csrf_token(app, req, resp): SECURITY.md 6: the synchroniser token bound to this browser: HMAC(secret, browser
 * cookie); sets the browser cookie when absent.  Caller frees. */
char *csrf_token(struct app *app, const struct request *req, struct response *resp);
/** csrf_ok(app, req): the POST's "csrf" field matches the browser cookie's token (constant time). */
bool csrf_ok(struct app *app, const struct request *req);
/** page_forbidden(app, resp): the 403 page for a POST without a valid CSRF token. */
void page_forbidden(struct app *app, struct response *resp);
/** page_cookie_name(req, plain, tls): ${tls} (a __Host- name) over TLS, else ${plain}. */
const char *page_cookie_name(const struct request *req, const char *plain, const char *tls);

/* authorize.c: the session cookie. */
#define OIDC_SESSION_COOKIE "anchorid_sid"
#define OIDC_SESSION_COOKIE_TLS "__Host-anchorid_sid"
/** session_current(app, req, out): the live session named by the request's cookie. */
enum store_rc session_current(struct app *app, const struct request *req, struct session **out);

/* signed.c: tamper-proof, expiring blobs carried through the browser (the pending authorization request in the
 * login and consent forms): base64url(JSON) "." base64url(HMAC-SHA256(secret, purpose "|" payload)). */
/** signed_pack(app, purpose, obj, ttl): sign ${obj} (borrowed; "exp" is added) for ${ttl} seconds; caller frees. */
char *signed_pack(struct app *app, const char *purpose, json_t *obj, int64_t ttl);
/** signed_unpack(app, purpose, blob, now): the object when the MAC matches and it has not expired, else NULL. */
json_t *signed_unpack(struct app *app, const char *purpose, const char *blob, int64_t now);

/* ---- Added for discovery.c, register.c, client.c, userinfo.c, revoke.c (registration engineer). ---- */

/* client.c */
/** client_post_logout_ok(c, uri): ${uri} is byte-for-byte one of the registered post_logout_redirect_uris
 * (OpenID Connect RP-Initiated Logout 1.0 §2; same exact-match rule as SECURITY.md 1). */
bool client_post_logout_ok(const struct client *c, const char *uri);

/* register.c */
/** client_metadata_validate(in, err, errlen, err_code): RFC 7591 §2 / OIDC Registration §2 metadata ${in}
 * (borrowed) checked against SECURITY.md 1 and 11 and normalised: defaults filled in, unknown members dropped,
 * null or "" optional members treated as absent.  Returns a new object (caller decrefs) holding only the
 * members we store and echo.  On rejection returns NULL, writes a message for error_description into ${err}
 * and sets *err_code to "invalid_redirect_uri" or "invalid_client_metadata" (RFC 7591 §3.2.2); on memory
 * failure *err_code is "server_error". */
json_t *client_metadata_validate(json_t *in, char *err, size_t errlen, const char **err_code);
/** reg_parse_body(req, resp): the registration body as one JSON object (media type, size, depth, duplicate
 * members checked); NULL with a 400/413 written into ${resp}.  Fuzzed by tests/fuzz/fuzz_json.c. */
json_t *reg_parse_body(const struct request *req, struct response *resp);

/* userinfo.c */
/** userinfo_claims(app, g, id, c): the claims the UserInfo endpoint releases for grant ${g} of identity ${id} to
 * client ${c} (OIDC Core §5.3.2): sub and id4me.identifier for now; the per-claim consent and distributed-claims
 * work extends this function.  New object, caller decrefs; NULL on memory failure. */
json_t *userinfo_claims(struct app *app, const struct grant *g, const struct identity *id, const struct client *c);

/* ---- end of registration engineer's block ---- */

#endif
