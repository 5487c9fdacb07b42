/*
 * api.c: the agent provisioning API (drafts/agent-provisioning.md §2, §4, §6) under AGENT_PATH_PREFIX.
 *
 * One route serves the whole prefix and dispatches on a table of endpoints, so that every answer, 404 and
 * 405 included, is a §7 problem with Cache-Control: no-store and a fresh Replay-Nonce (RFC 8555 §6.5: "the
 * server MUST include a Replay-Nonce header field in every successful response to a POST request and SHOULD
 * provide it in error responses as well").  Signed endpoints are authenticated (§3) before they run.
 */
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "internal.h"

typedef void (*agent_fn)(struct agent_call *c);

/* One endpoint: its path below AGENT_PATH_PREFIX ("*" stands for one path segment, the {id} or {identifier}),
 * whether it is an unsigned GET (HEAD too) or a signed POST, and the payload a signed POST carries. */
struct endpoint {
	const char *pattern;
	bool get;
	enum agent_payload payload;
	agent_fn fn;
};

static void ep_nonce(struct agent_call *c);
static void ep_directory(struct agent_call *c);
static void ep_authz_new(struct agent_call *c);
static void ep_authz_get(struct agent_call *c);
static void ep_identifier(struct agent_call *c);
static void ep_setup_url(struct agent_call *c);

/* §2's table. */
static const struct endpoint endpoints[] = {
	{ "nonce", true, AGENT_PAYLOAD_EMPTY, ep_nonce },
	{ "directory", true, AGENT_PAYLOAD_EMPTY, ep_directory },
	{ "authz", false, AGENT_PAYLOAD_OBJECT, ep_authz_new },
	{ "authz/*", false, AGENT_PAYLOAD_EMPTY, ep_authz_get },
	{ "authz/*/finalize", false, AGENT_PAYLOAD_OBJECT, agent_finalize },
	{ "identifiers/*", false, AGENT_PAYLOAD_EMPTY, ep_identifier },
	{ "identifiers/*/setup-url", false, AGENT_PAYLOAD_OBJECT, ep_setup_url },
};

/* ------------------------------------------------------------------------------------------ helpers */

/** agent_identifier_arg(c, canon): the path's identifier in canonical form (drafts/dns-discovery.md §7). */
int
agent_identifier_arg(struct agent_call *c, char **canon)
{
	enum dns_rec_err why = DNS_REC_OK;

	if (dns_identifier_canonical(c->arg, canon, &why) == 0)
		return (0);
	if (why == DNS_REC_NOMEM)
		agent_internal(c->resp);
	else
		agent_problem(
		    c->resp, AP_INVALID_IDENTIFIER, 0, agent_identifier_extra(c->arg), "%s", dns_rec_strerror(why));
	return (-1);
}

/** agent_authz_load(c, out): the authorization c->arg of the calling agent; -1 with notFound answered for an
 * unknown id or another agent's (the same answer: ids are not for probing). */
int
agent_authz_load(struct agent_call *c, struct agent_authz **out)
{
	size_t n = strlen(c->arg);
	enum store_rc rc = STORE_NOTFOUND;

	*out = NULL;
	/* Ours are base64url of AGENT_ID_BYTES; anything else is not sent to the store. */
	if (n <= AGENT_MAX_ID &&
	    strspn(c->arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n)
		rc = store_authz_get(c->app->st, c->arg, out);
	if (rc == STORE_OK && (*out)->agent_id != c->agent->id)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		return (0);
	agent_authz_free(*out);
	*out = NULL;
	if (rc == STORE_NOTFOUND)
		agent_problem(c->resp, AP_NOT_FOUND, 0, NULL, "This agent has no authorization %s.", c->arg);
	else
		agent_internal(c->resp);
	return (-1);
}

/* pattern_match(pat, path, arg, arglen): ${path} has the shape of ${pat}; *arg and *arglen get the "*" segment. */
static bool
pattern_match(const char *pat, const char *path, const char **arg, size_t *arglen)
{
	size_t n;

	while (*pat != '\0') {
		if (*pat == '*') {
			if ((n = strcspn(path, "/")) == 0)
				return (false);
			*arg = path;
			*arglen = n;
			path += n;
			pat++;
		} else if (*pat++ != *path++)
			return (false);
	}
	return (*path == '\0');
}

/* ---------------------------------------------------------------------------------------- the route */

/**
 * h_agent(ctx, req, resp): every request under AGENT_PATH_PREFIX: a fresh Replay-Nonce, then the endpoint of
 * the table (404 notFound when none has the path, 405 malformed with Allow when the method is not its one, RFC
 * 8555 §6.3), authenticated first when it is a signed one.
 */
static void
h_agent(void *ctx, const struct request *req, struct response *resp)
{
	struct agent_call c;
	const struct endpoint *ep = NULL;
	const char *rest = req->path + strlen(AGENT_PATH_PREFIX), *arg = NULL;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	bool post = strcmp(req->method, "POST") == 0, allow_get = false, allow_post = false;
	size_t arglen = 0;

	memset(&c, 0, sizeof(c));
	c.app = ctx;
	c.req = req;
	c.resp = resp;
	c.now = time_now();
	resp->kind = RESP_API;
	if (agent_nonce_issue(c.app, resp) == -1) {
		agent_internal(resp);
		return;
	}
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		arg = NULL;
		if (!pattern_match(endpoints[i].pattern, rest, &arg, &arglen))
			continue;
		if (endpoints[i].get)
			allow_get = true;
		else
			allow_post = true;
		if (endpoints[i].get ? get : post) {
			ep = &endpoints[i];
			break;
		}
	}
	if (ep == NULL) {
		if (allow_get || allow_post) {
			resp_header(resp, "Allow", allow_get ? (allow_post ? "GET, HEAD, POST" : "GET, HEAD") : "POST");
			agent_problem(resp, AP_MALFORMED, 405, NULL, "Method %s is not allowed here.", req->method);
		} else
			agent_problem(resp, AP_NOT_FOUND, 0, NULL, "No endpoint of the agent API has this path.");
		return;
	}
	if (arg != NULL && (c.arg = xstrndup(arg, arglen)) == NULL) {
		agent_internal(resp);
		return;
	}
	if (ep->get || agent_authenticate(&c, ep->payload) == 0)
		ep->fn(&c);
	agent_free(c.agent);
	json_decref(c.payload);
	free(c.arg);
}

static const struct http_route routes[] = {
	/* HTTP_BIG_BODY: §3 checks the media type before the size, and answers both as problems. */
	{ AGENT_PATH_PREFIX, HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_DELETE, h_agent, HTTP_BIG_BODY },
};

/** agent_routes(n): the API's route table (static storage). */
const struct http_route *
agent_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return (routes);
}

/* ---------------------------------------------------------------------------------------- endpoints */

/* ep_nonce: GET, HEAD {prefix}nonce: RFC 8555 §7.2: 204 for GET, 200 for HEAD; the nonce is in the header. */
static void
ep_nonce(struct agent_call *c)
{
	c->resp->status = strcmp(c->req->method, "HEAD") == 0 ? 200 : 204;
	snprintf(c->resp->note, sizeof(c->resp->note), "nonce");
}

/* ep_directory: GET {prefix}directory: §2's document. */
static void
ep_directory(struct agent_call *c)
{
	static const char *const members[][2] = {
		{ "newNonce", "nonce" },
		{ "newAuthz", "authz" },
		{ "authz", "authz/{id}" },
		{ "finalize", "authz/{id}/finalize" },
		{ "identifier", "identifiers/{identifier}" },
		{ "setupUrl", "identifiers/{identifier}/setup-url" },
	};
	json_t *o;
	char *url;

	if ((o = json_object()) == NULL)
		goto fail;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if ((url = agent_api_url(c->app->conf, members[i][1])) == NULL ||
		    json_object_set_new(o, members[i][0], json_string(url)) == -1) {
			free(url);
			goto fail;
		} else
			free(url);
	agent_json_respond(c, 200, o, NULL);
	return;
fail:
	json_decref(o);
	agent_internal(c->resp);
}

/* action_parse(s, out): §4's actions. */
static int
action_parse(const char *s, enum agent_action *out)
{
	static const enum agent_action all[] = { AGENT_ACTION_CREATE, AGENT_ACTION_DELETE, AGENT_ACTION_TRANSFER };

	for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, agent_action_name(all[i])) == 0) {
			*out = all[i];
			return (0);
		}
	return (-1);
}

/* precondition(c, identifier, action): §4's precondition of ${action} on ${identifier}, answered as its problem
 * when it does not hold (-1).  The store checks it again in the finalize transaction. */
static int
precondition(struct agent_call *c, const char *identifier, enum agent_action action)
{
	struct identity *id = NULL;
	enum agent_problem p = AP_COUNT;
	enum store_rc rc;
	bool mine;

	if ((rc = store_identity_by_identifier(c->app->st, identifier, &id)) == STORE_ERROR) {
		agent_internal(c->resp);
		return (-1);
	}
	mine = rc == STORE_OK && id->agent_id == c->agent->id;
	switch (action) {
	case AGENT_ACTION_CREATE:
		if (rc == STORE_OK)
			p = mine ? AP_IDENTIFIER_EXISTS : AP_IDENTIFIER_HELD;
		break;
	case AGENT_ACTION_DELETE:
		if (rc != STORE_OK)
			p = AP_NOT_FOUND;
		else if (!mine)
			p = AP_IDENTIFIER_HELD;
		break;
	case AGENT_ACTION_TRANSFER:
		if (rc != STORE_OK)
			p = AP_NOT_FOUND;
		else if (mine)
			p = AP_IDENTIFIER_EXISTS;
		break;
	}
	identity_free(id);
	if (p == AP_COUNT)
		return (0);
	agent_identifier_problem(c->resp, p, identifier);
	return (-1);
}

/* rate_limited(c, retry_at): §4: the answer when the agent already has conf->agent_authz_per_hour authorizations
 * this hour: 429 rateLimited with Retry-After until the oldest of them stops counting. */
static void
rate_limited(struct agent_call *c, int64_t retry_at)
{
	char secs[24];

	log_info(
	    "agent %s: over its authorization limit (%d an hour)", c->agent->name, c->app->conf->agent_authz_per_hour);
	snprintf(secs, sizeof(secs), "%lld", (long long)(retry_at > c->now ? retry_at - c->now : 1));
	resp_header(c->resp, "Retry-After", secs);
	agent_problem(c->resp, AP_RATE_LIMITED, 0, NULL, "Agent %s may create %d authorizations per hour.",
	    c->agent->name, c->app->conf->agent_authz_per_hour);
}

/* ep_authz_new: POST {prefix}authz: §4: a new authorization with its dns-01 challenge (201). */
static void
ep_authz_new(struct agent_call *c)
{
	const char *identifier = json_string_value(json_object_get(c->payload, "identifier"));
	const char *action = json_string_value(json_object_get(c->payload, "action"));
	struct agent_authz a;
	enum dns_rec_err why = DNS_REC_OK;
	char *canon = NULL, *rest = NULL;
	int64_t retry_at = 0;

	memset(&a, 0, sizeof(a));
	if (identifier == NULL || action_parse(action, &a.action) == -1) {
		agent_problem(c->resp, AP_MALFORMED, 0, NULL,
		    "The payload must hold an identifier (a string) and an action: create, delete or transfer.");
		goto out;
	}
	if (dns_identifier_canonical(identifier, &canon, &why) == -1) {
		if (why == DNS_REC_NOMEM)
			agent_internal(c->resp);
		else
			agent_problem(c->resp, AP_INVALID_IDENTIFIER, 0, agent_identifier_extra(identifier), "%s",
			    dns_rec_strerror(why));
		goto out;
	}
	if (precondition(c, canon, a.action) == -1)
		goto out;
	if ((a.id = rand_token(AGENT_ID_BYTES)) == NULL || (a.token = rand_token(AGENT_TOKEN_BYTES)) == NULL) {
		log_warnx("agent: cannot make an authorization id");
		agent_internal(c->resp);
		goto out;
	}
	a.agent_id = c->agent->id;
	a.identifier = canon;
	a.thumbprint = c->agent->thumbprint;
	a.created_at = c->now;
	a.expires_at = c->now + c->app->conf->agent_authz_ttl;
	switch (store_authz_create_limited(
	    c->app->st, &a, c->now - AGENT_RATE_WINDOW, c->app->conf->agent_authz_per_hour, &retry_at)) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		rate_limited(c, retry_at);
		goto out;
	default:
		agent_internal(c->resp);
		goto out;
	}
	log_info("agent %s: authorization to %s %s", c->agent->name, agent_action_name(a.action), canon);
	if ((rest = agent_strf("authz/%s", a.id)) == NULL) {
		agent_internal(c->resp);
		goto out;
	}
	agent_json_respond(c, 201, agent_authz_json(c->app->conf, &a, c->agent, c->now), rest);
out:
	free(rest);
	free(a.id);
	free(a.token);
	free(canon);
}

/* ep_authz_get: POST-as-GET {prefix}authz/{id}: §4: the authorization object (200). */
static void
ep_authz_get(struct agent_call *c)
{
	struct agent_authz *a = NULL;

	if (agent_authz_load(c, &a) == -1)
		return;
	agent_json_respond(c, 200, agent_authz_json(c->app->conf, a, c->agent, c->now), NULL);
	agent_authz_free(a);
}

/* ep_identifier: POST-as-GET {prefix}identifiers/{identifier}: §6: the status object, for the agent that holds
 * the identifier (or held it when it was deleted). */
static void
ep_identifier(struct agent_call *c)
{
	struct identity *id = NULL;
	char *canon = NULL;
	enum store_rc rc;

	if (agent_identifier_arg(c, &canon) == -1)
		return;
	rc = store_identity_by_identifier_any(c->app->st, canon, c->agent->id, &id);
	if (rc == STORE_NOTFOUND)
		agent_identifier_problem(c->resp, AP_NOT_FOUND, canon);
	else if (rc != STORE_OK)
		agent_internal(c->resp);
	else if (id->agent_id != c->agent->id)
		agent_identifier_problem(c->resp, AP_IDENTIFIER_HELD, canon);
	else
		agent_json_respond(c, 200, agent_status_json(id, c->agent->name), NULL);
	identity_free(id);
	free(canon);
}

/* ep_setup_url: POST {prefix}identifiers/{identifier}/setup-url: §6: a new one-time password-setup URL; the
 * identity's earlier ones die with it (store_setup_create_agent). */
static void
ep_setup_url(struct agent_call *c)
{
	struct identity *id = NULL;
	char *canon = NULL, *hash = NULL, *url = NULL;
	int64_t expires = c->now + c->app->conf->setup_ttl;
	enum store_rc rc;

	if (agent_identifier_arg(c, &canon) == -1)
		return;
	rc = store_identity_by_identifier(c->app->st, canon, &id);
	if (rc == STORE_NOTFOUND) {
		agent_identifier_problem(c->resp, AP_NOT_FOUND, canon);
		goto out;
	} else if (rc != STORE_OK) {
		agent_internal(c->resp);
		goto out;
	}
	if (id->agent_id != c->agent->id) {
		agent_identifier_problem(c->resp, AP_IDENTIFIER_HELD, canon);
		goto out;
	}
	if (id->state == IDENTITY_DISABLED) {
		agent_identifier_problem(c->resp, AP_IDENTIFIER_DISABLED, canon);
		goto out;
	}
	if (identity_token_new(c->app->conf, OIDC_PATH_SETUP, &hash, &url) == -1) {
		agent_internal(c->resp);
		goto out;
	}
	/* Held by this agent again inside the transaction: a transfer may have committed since the read above. */
	if ((rc = store_setup_create_agent(c->app->st, id->id, c->agent->id, hash, expires)) != STORE_OK) {
		if (rc == STORE_ERROR)
			agent_internal(c->resp);
		else
			agent_identifier_problem(
			    c->resp, rc == STORE_CONFLICT ? AP_IDENTIFIER_HELD : AP_NOT_FOUND, canon);
		goto out;
	}
	log_info("agent %s: new setup URL for %s", c->agent->name, canon);
	agent_json_respond(c, 200,
	    json_pack("{s:s,s:s,s:I}", "identifier", canon, "setup_url", url, "setup_expires", (json_int_t)expires),
	    NULL);
out:
	identity_free(id);
	str_secure_free(url);
	free(hash);
	free(canon);
}
