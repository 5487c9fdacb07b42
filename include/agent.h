/*
 * agent.h: the provisioning API for identity agents (drafts/agent-provisioning.md), the authority's side.
 * src/agent/ holds the JWS-authenticated endpoints under /agent/v1/, the dns-01 and _openid checks of a
 * finalize, and the `anchorid agent ...` commands.  Handlers take the shared struct app of oidc.h as context.
 */
#ifndef ANCHORID_AGENT_H
#define ANCHORID_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct conf;
struct store;

#define AGENT_PATH_PREFIX "/agent/v1/"
#define AGENT_NONCE_TTL 600 /* seconds a Replay-Nonce stays usable */
/* Replay-Nonces held at most, about 64 bytes each: 109 answers a second for the whole TTL; past that the oldest
 * are dropped, and their agents retry after badNonce. */
#define AGENT_NONCE_MAX 65536

/** agent_routes(n): the API's route table (static storage); *n gets its length.  main serves it beside
 * oidc_routes(). */
const struct http_route *agent_routes(size_t *n);

struct agent_nonces;
/** agent_nonces_new(max, ttl): the Replay-Nonces of the API (src/agent/nonce.c), kept in memory only, so a
 * restart forgets them: an empty set holding at most ${max} (1..AGENT_NONCE_MAX) nonces, each usable once for
 * ${ttl} seconds.  main makes app->agent_nonces with (AGENT_NONCE_MAX, AGENT_NONCE_TTL).  NULL on failure
 * (logged); the caller frees it with agent_nonces_free(). */
struct agent_nonces *agent_nonces_new(size_t max, int64_t ttl);
/** agent_nonces_free(ns): free ${ns} and its nonces; NULL is a no-op. */
void agent_nonces_free(struct agent_nonces *ns);

/** agent_cli(st, conf, argc, argv): `anchorid agent add NAME --issuer URL --jwk FILE | list | disable NAME |
 * enable NAME | rotate-key NAME --jwk FILE` (argv[0] is the subcommand).  Prints the outcome; returns the exit
 * status (0 success, 1 failure, 2 usage). */
int agent_cli(struct store *st, const struct conf *conf, int argc, char **argv);

#endif
