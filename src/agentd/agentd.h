/*
 * agentd.h: the reference identity agent's library (drafts/agent-provisioning.md §8), used by src/agent_main.c
 * (the anchorid-agent command).  It is the client side of the provisioning API of §2-§7: key generation, signed
 * ACME-style requests, the provision/transfer/delete flows with a DNS hook, and the status commands.  It is
 * also the agent's claims provider (drafts/claims.md §5): `serve` answers UserInfo requests carrying the
 * authority's agent tokens with the claims that `claims set` stored.
 *
 * Everything here prints: results on stdout, problems on stderr as "anchorid-agent: <problem type>: <detail>"
 * (the type is urn:anchorid:agent:<name>, drafts/agent-provisioning.md §7).
 */
#ifndef ANCHORID_AGENTD_H
#define ANCHORID_AGENTD_H

#include <stdbool.h>

#define AGENTD_DEFAULT_WAIT 60         /* seconds of finalize retries while DNS records propagate (§8) */
#define AGENTD_DEFAULT_KEYS_REFETCH 60 /* seconds: an unknown kid refetches the authority's keys at most this often */
#define AGENTD_MAX_WAIT 86400          /* a day; an authorization lives an hour by default (agent_authz_ttl) */
#define AGENTD_DEFAULT_ALG "ES256"
#define AGENTD_DEFAULT_LISTEN "127.0.0.1"
#define AGENTD_DEFAULT_PORT 9443
#define AGENTD_DEFAULT_TLS_CERT "certs/server.pem"
#define AGENTD_DEFAULT_TLS_KEY "certs/server.key"
#define AGENTD_DEFAULT_DATABASE "var/agent.db"

/* What anchorid-agent was told on its command line or in its environment. */
struct agentd_opts {
	const char *authority; /* the authority's issuer URL (https://...) */
	const char *name;      /* the agent's registered name: the kid of every request */
	const char *key_file;  /* the private JWK written by agentd_keygen */
	const char *ca_file;   /* PEM bundle for the authority's certificate; NULL: the system's trust store */
	const char *hook;      /* the DNS hook command (run with sh -c); needed by provision/transfer/delete */
	int wait_sec;          /* finalize retries stop after this many seconds (0: one attempt) */

	/* serve and claims (drafts/claims.md §5) */
	const char *issuer;           /* serve: the agent's own https URL, what its clp names */
	const char *listen;           /* serve: the address to bind */
	int port;                     /* serve: the TCP port */
	const char *tls_cert;         /* serve: PEM certificate chain */
	const char *tls_key;          /* serve: PEM private key */
	const char *database;         /* the claims database (store_open); its directory is created */
	const char *upstream;         /* serve: DNS upstreams "ADDR[@PORT] ..."; NULL: /etc/resolv.conf */
	const char *trust_anchor;     /* serve: DNSSEC trust anchors; NULL: the resolver's default */
	bool allow_insecure;          /* serve: --dnssec allow-insecure (bogus still fails) */
	bool allow_private_authority; /* serve: fetch the authority's keys from loopback/private addresses */
	int keys_refetch_sec;         /* serve: an unknown kid fetches the authority's keys at most this often */
};

/** agentd_keygen(alg, path): generate a private JWK for ${alg} (ES256, ES384 or RS256), write it to the new file
 * ${path} with mode 0600 (an existing file is never overwritten) and print the public JWK on stdout.  Returns
 * the exit status: 0, or 1 after a message on stderr. */
int agentd_keygen(const char *alg, const char *path);

/** agentd_alg_ok(alg): true when ${alg} is one agentd_keygen accepts. */
bool agentd_alg_ok(const char *alg);

/** agentd_serve(opts): `anchorid-agent serve`: the HTTPS claims provider of drafts/claims.md §5 until SIGTERM
 * or SIGINT.  Needs opts->issuer, authority and key_file.  Returns the exit status: 0 after a graceful stop, 1
 * when it cannot start (reported on stderr), 2 for a missing option. */
int agentd_serve(const struct agentd_opts *opts);

/** agentd_claims(opts, argc, argv): `anchorid-agent claims set IDENTIFIER name=VALUE|name:=JSON...` and `claims
 * get IDENTIFIER` on the database of ${opts}; ${argv} starts after "claims".  Prints the identifier's claims as
 * JSON.  Returns the exit status: 0, 1 after a message on stderr, 2 for a usage error. */
int agentd_claims(const struct agentd_opts *opts, int argc, char **argv);

/** agentd_command_ok(cmd): true when ${cmd} is provision, transfer, delete, status or setup-url. */
bool agentd_command_ok(const char *cmd);

/** agentd_run(opts, cmd, identifier): run the command ${cmd} (see agentd_command_ok) for ${identifier} against
 * the authority of ${opts}.  Returns the exit status: 0 success, 1 failure (reported on stderr), 2 a missing
 * option (reported on stderr). */
int agentd_run(const struct agentd_opts *opts, const char *cmd, const char *identifier);

#endif
