/*
 * internal.h: what the files of src/agent/ share with each other (not exported beyond the module).
 *
 *   problem.c   the one table of §7 problems and the problem+json writer
 *   nonce.c     Replay-Nonces: the in-memory set and the header
 *   jws_auth.c  the §3 checks of a signed request
 *   objects.c   the JSON bodies of §4 and §6 and the API's URLs
 *   api.c       the route, the endpoint table and the endpoints of §2, §4 and §6
 *   finalize.c  §5: the DNS checks and the provisioning commit
 *   cli.c       `anchorid agent ...` (§1)
 */
#ifndef ANCHORID_AGENT_INTERNAL_H
#define ANCHORID_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "oidc.h"
#include "store.h"
#include "util.h"

#define AGENT_NONCE_BYTES 16   /* 128-bit Replay-Nonces (RFC 8555 §6.5: unpredictable) */
#define AGENT_ID_BYTES 32      /* 256-bit authorization ids: a URL must not be guessable */
#define AGENT_TOKEN_BYTES 32   /* 256-bit dns-01 tokens (RFC 8555 §8.4 asks for at least 128) */
#define AGENT_MAX_ID 64        /* longest authorization id looked up (ours are 43 characters) */
#define AGENT_MAX_NAME 64      /* an agent's name (the JWS kid): 1..64 of a-z 0-9 - _ . */
#define AGENT_MAX_DEPTH 4      /* JSON nesting of a payload: ours are flat objects */
#define AGENT_RATE_WINDOW 3600 /* conf->agent_authz_per_hour counts authorizations over this many seconds */

/* ------------------------------------------------------------------------------------ problem.c */

/* The problems of drafts/agent-provisioning.md §7, in the order of its table. */
enum agent_problem {
	AP_MALFORMED = 0,
	AP_BAD_NONCE,
	AP_BAD_SIGNATURE_ALGORITHM,
	AP_UNAUTHORIZED,
	AP_UNKNOWN_AGENT,
	AP_BAD_SIGNATURE,
	AP_AGENT_DISABLED,
	AP_INVALID_IDENTIFIER,
	AP_NOT_FOUND,
	AP_IDENTIFIER_HELD,
	AP_IDENTIFIER_EXISTS,
	AP_IDENTIFIER_DISABLED,
	AP_ALREADY_FINALIZED,
	AP_CHALLENGE_EXPIRED,
	AP_CHALLENGE_RECORD_MISSING,
	AP_CHALLENGE_VALUE_MISMATCH,
	AP_OPENID_RECORD_MISSING,
	AP_OPENID_RECORD_INVALID,
	AP_WRONG_ISSUER,
	AP_WRONG_AGENT,
	AP_ZONE_INSECURE,
	AP_ANSWER_BOGUS,
	AP_DNS_UNAVAILABLE,
	AP_RATE_LIMITED,
	AP_SERVER_INTERNAL,
	AP_COUNT
};

/** agent_problem(resp, p, status, extra, fmt, ...): answer the RFC 9457 problem ${p}: type
 * "urn:anchorid:agent:<name>", the table's title, the table's status unless ${status} is not 0 (malformed
 * answers 405, 413 or 415 too), the formatted detail sentence, then the members of ${extra} (an object,
 * stolen; NULL for none: identifier, name, dnssec, expected, found). */
void agent_problem(struct response *resp, enum agent_problem p, int status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** agent_identifier_problem(resp, p, identifier): the identifier problem ${p} (notFound, identifierHeld,
 * identifierExists, identifierDisabled) about ${identifier}: its sentence and the identifier member. */
void agent_identifier_problem(struct response *resp, enum agent_problem p, const char *identifier);
/** agent_internal(resp): serverInternal (500): the cause was logged where it was detected. */
void agent_internal(struct response *resp);
/** agent_problem_name(p): the table's name of ${p} ("badNonce"); static storage. */
const char *agent_problem_name(enum agent_problem p);

/* -------------------------------------------------------------------------------------- nonce.c */

/** agent_nonces_issue(ns, now): RFC 8555 §6.5: a fresh nonce (AGENT_NONCE_BYTES random bytes, base64url) added
 * to ${ns}, usable once until ${now} + its ttl; when ${ns} is full its oldest nonce is dropped.  A new string the
 * caller frees; NULL on failure (logged). */
char *agent_nonces_issue(struct agent_nonces *ns, int64_t now);
/** agent_nonces_use(ns, nonce, now): consume ${nonce}: true exactly once, however many threads race, for a nonce
 * of ${ns} issued and not dropped, used or expired at ${now}; false otherwise.  Expired nonces are dropped
 * lazily, by this call and agent_nonces_issue(). */
bool agent_nonces_use(struct agent_nonces *ns, const char *nonce, int64_t now);
/** agent_nonce_issue(app, resp): a fresh nonce of app->agent_nonces in a Replay-Nonce header of ${resp}.  -1 on
 * failure (logged). */
int agent_nonce_issue(struct app *app, struct response *resp);

/* ----------------------------------------------------------------------------------- jws_auth.c */

/* What an endpoint wants in the payload of its signed request (§3). */
enum agent_payload {
	AGENT_PAYLOAD_EMPTY = 0, /* POST-as-GET: "" */
	AGENT_PAYLOAD_OBJECT,    /* a JSON object */
};

/* One API call as the endpoints see it. */
struct agent_call {
	struct app *app;
	const struct request *req;
	struct response *resp;
	struct agent *agent; /* the authenticated agent (signed endpoints) */
	json_t *payload;     /* the payload object (AGENT_PAYLOAD_OBJECT), else NULL */
	char *arg;           /* the path's {id} or {identifier} segment as received (decoded), else NULL */
	int64_t now;
};

/** agent_authenticate(c, want): the checks of §3 in their order, the first failure answered as its problem.
 * 0 with c->agent (and c->payload for AGENT_PAYLOAD_OBJECT) set; -1 with the problem written.  The nonce is
 * consumed only once the signature has verified. */
int agent_authenticate(struct agent_call *c, enum agent_payload want);
/** agent_name_ok(s): ${s} is a possible agent name: 1..AGENT_MAX_NAME of a-z 0-9 - _ . */
bool agent_name_ok(const char *s);

/* ------------------------------------------------------------------------------------ objects.c */

/** agent_strf(fmt, ...): the formatted text in a new string; caller frees; NULL on memory failure (logged). */
char *agent_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** agent_api_url(conf, rest): issuer + AGENT_PATH_PREFIX + ${rest}; caller frees; NULL on memory failure. */
char *agent_api_url(const struct conf *conf, const char *rest);
/** agent_url_host(url): what follows "https://" (or "http://") in ${url}: the host[:port][/path] form that iss
 * and clp use (drafts/dns-discovery.md §6); ${url} itself when it has neither scheme. */
const char *agent_url_host(const char *url);
/** agent_openid_value(conf, ag): the _openid record ${ag} must publish: "v=OID1;iss=<issuer>;clp=<agent>";
 * caller frees. */
char *agent_openid_value(const struct conf *conf, const struct agent *ag);
/** agent_authz_status(a, now): "valid" (finalized), "expired" or "pending". */
const char *agent_authz_status(const struct agent_authz *a, int64_t now);
/** agent_authz_json(conf, a, ag, now): the authorization object of §4; new object, NULL on memory failure. */
json_t *agent_authz_json(const struct conf *conf, const struct agent_authz *a, const struct agent *ag, int64_t now);
/** agent_status_json(id, agent_name): the identifier status object of §6 (deleted_at for a deleted identity,
 * else password_set_at, null while no password was set); new object, NULL on memory failure. */
json_t *agent_status_json(const struct identity *id, const char *agent_name);
/** agent_json_respond(c, status, o, location_rest): answer ${o} (stolen; NULL answers serverInternal) as
 * application/json with ${status}, and Location: agent_api_url(location_rest) unless that is NULL.  The
 * one-time URLs in ${o} (setup_url, confirm_url) are zeroed before it is freed. */
void agent_json_respond(struct agent_call *c, int status, json_t *o, const char *location_rest);
/** agent_identifier_extra(identifier): {"identifier": ${identifier}} for a problem's extra members. */
json_t *agent_identifier_extra(const char *identifier);

/* --------------------------------------------------------------------------------------- api.c */

/** agent_authz_load(c, out): the authorization c->arg of the calling agent in a new *${out}; -1 with notFound
 * (unknown id, or another agent's) or serverInternal answered. */
int agent_authz_load(struct agent_call *c, struct agent_authz **out);
/** agent_identifier_arg(c, canon): the path's identifier canonicalised into a new *${canon}; -1 with
 * invalidIdentifier answered. */
int agent_identifier_arg(struct agent_call *c, char **canon);

/* ---------------------------------------------------------------------------------- finalize.c */

/** agent_finalize(c): POST {finalize}: §5 for the authorization c->arg. */
void agent_finalize(struct agent_call *c);

#endif
