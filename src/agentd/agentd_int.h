/*
 * agentd_int.h: what the files of src/agentd/ share and nothing outside it may use.  client.c speaks the signed
 * protocol of drafts/agent-provisioning.md §2-§3 and §7, key.c reads and writes the agent's key, hook.c runs the
 * DNS hook of §8, flow.c puts them together into the commands; claims.c keeps the users' claims and serve.c
 * releases them to relying parties (drafts/claims.md §5).
 */
#ifndef ANCHORID_AGENTD_INT_H
#define ANCHORID_AGENTD_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "agentd.h"
#include "httpc.h"

#define AGENTD_PROG "anchorid-agent"
#define AGENTD_HTTP_TIMEOUT_MS 10000 /* one request to the authority, connect to last byte */
#define AGENTD_MAX_KEY_FILE 16384    /* a JWK file longer than this is not a key agentd_keygen wrote */
#define AGENTD_MAX_JSON_DEPTH 16     /* the API's answers nest 2 levels */
#define AGENTD_HOOK_TIMEOUT_SEC 120  /* one DNS hook call; an RFC 2136 update takes milliseconds */
#define AGENTD_PROBLEM_PREFIX "urn:anchorid:agent:"
#define AGENTD_DIRECTORY_PATH "/agent/v1/directory"

/* Set by SIGINT/SIGTERM during a command: waits stop, cleanup (removing the challenge record) still runs. */
extern volatile sig_atomic_t agentd_interrupted;

/** agentd_errx(fmt, ...): print "anchorid-agent: " fmt "\n" on stderr. */
void agentd_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** agentd_need(value, flag, env): true when ${value} is set (not NULL, not empty); otherwise false after
 * "missing ${flag} (or ${env} in the environment)" on stderr. */
bool agentd_need(const char *value, const char *flag, const char *env);
/** agentd_print_text(f, s): ${s} on ${f} with bytes outside printable ASCII shown as '?': text from the network
 * never reaches a terminal as control sequences. */
void agentd_print_text(FILE *f, const char *s);

/* A session with one authority: the key, the directory, the next nonce. */
struct agentd_client {
	struct httpc_opts http; /* ca_file, timeout, allow_private */
	char *authority;        /* the issuer URL without a trailing slash */
	const char *name;       /* the kid (points into the caller's options) */
	char *key;              /* the private JWK text; zeroed when freed */
	const char *alg;        /* the JWS alg of the key (static storage) */
	char *thumbprint;       /* RFC 7638 thumbprint of the public key */
	char *new_nonce;        /* directory: newNonce */
	char *new_authz;        /* directory: newAuthz */
	char *identifier_tpl;   /* directory: identifier, with "{identifier}" */
	char *setup_tpl;        /* directory: setupUrl, with "{identifier}" */
	char *nonce;            /* the next nonce to sign with; NULL: fetch one from new_nonce */
};

/* One answer of the authority. */
struct agentd_answer {
	int status;        /* HTTP status */
	json_t *body;      /* the JSON object of the body, NULL when there is none or it is not a JSON object */
	char *location;    /* the Location header, or NULL */
	char *retry_after; /* the Retry-After header, or NULL */
};

enum agentd_rc {
	AGENTD_OK = 0,  /* a 2xx answer */
	AGENTD_PROBLEM, /* an error answer: agentd_problem_print tells it */
	AGENTD_FAIL,    /* no answer (transport or internal error), already reported */
};

/** agentd_client_new(opts): read the key of ${opts} and fetch the authority's directory.  A new client (free
 * with agentd_client_free), or NULL after a message on stderr. */
struct agentd_client *agentd_client_new(const struct agentd_opts *opts);
/** agentd_client_free(c): NULL is a no-op. */
void agentd_client_free(struct agentd_client *c);

/** agentd_post(c, url, payload, ans): POST ${payload} (JSON text, or "" for POST-as-GET) to ${url} as a JWS
 * signed with the client's key (kid, nonce, url = ${url}), retrying once with the fresh nonce on badNonce.
 * Fills *${ans} (release with agentd_answer_release) for AGENTD_OK and AGENTD_PROBLEM. */
enum agentd_rc agentd_post(struct agentd_client *c, const char *url, const char *payload, struct agentd_answer *ans);
/** agentd_answer_release(ans): free the members of ${ans} and zero it. */
void agentd_answer_release(struct agentd_answer *ans);

/** agentd_problem_name(ans): the <name> of a problem's type "urn:anchorid:agent:<name>" (pointing into
 * ans->body), or NULL when the answer is no problem document of this API. */
const char *agentd_problem_name(const struct agentd_answer *ans);
/** agentd_problem_print(ans, url, note): "anchorid-agent: <type>: <detail>" on stderr, ${note} appended when
 * not NULL, then the DNS members (name, dnssec, expected, found) and Retry-After on lines of their own. */
void agentd_problem_print(const struct agentd_answer *ans, const char *url, const char *note);

/** agentd_url_for(tpl, identifier): ${tpl} with "{identifier}" replaced by the percent-encoded ${identifier};
 * caller frees; NULL (reported) when the template has no such placeholder. */
char *agentd_url_for(const char *tpl, const char *identifier);

/** agentd_key_load(path, key, alg): read the private JWK in ${path} into a new *${key} (free with
 * str_secure_free) and its JWS alg into *${alg} (static storage).  -1 after a message on stderr. */
int agentd_key_load(const char *path, char **key, const char **alg);

/** agentd_store_open(path): the claims database ${path}, its directory created (mode 0700) when missing; NULL
 * after a message on stderr. */
struct store *agentd_store_open(const char *path);

/** agentd_hook(cmd, op, name, type, value): run the DNS hook "${cmd} ${op} ${name} ${type} [${value}]" through
 * sh -c, its stdout sent to our stderr (stdout carries the results), within AGENTD_HOOK_TIMEOUT_SEC.  0 when it
 * exits 0; -1 after a message on stderr. ${value} may be NULL (del of a whole RRset). */
int agentd_hook(const char *cmd, const char *op, const char *name, const char *type, const char *value);

#endif
