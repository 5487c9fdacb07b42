/*
 * agent.h: the provisioning API for identity agents (drafts/agent-provisioning.md), the authority's side.
 * src/agent/ holds the JWS-authenticated endpoints under /agent/v1/, the dns-01 and _openid checks of a
 * finalize, and the `anchorid agent ...` commands.  Handlers take the shared struct app of oidc.h as context.
 */
#ifndef ANCHORID_AGENT_H
#define ANCHORID_AGENT_H

#include <stddef.h>

#include "http.h"

struct conf;
struct store;

#define AGENT_PATH_PREFIX "/agent/v1/"
#define AGENT_NONCE_TTL 600 /* seconds a Replay-Nonce stays usable */

/** agent_routes(n): the API's route table (static storage); *n gets its length.  main serves it beside
 * oidc_routes(). */
const struct http_route *agent_routes(size_t *n);

/** agent_cli(st, conf, argc, argv): `anchorid agent add NAME --issuer URL --jwk FILE | list | disable NAME |
 * enable NAME | rotate-key NAME --jwk FILE` (argv[0] is the subcommand).  Prints the outcome; returns the exit
 * status (0 success, 1 failure, 2 usage). */
int agent_cli(struct store *st, const struct conf *conf, int argc, char **argv);

#endif
