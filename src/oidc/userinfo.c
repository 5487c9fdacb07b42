/*
 * userinfo.c: the UserInfo endpoint of the authority.
 *
 * OIDC Core §5.3 (request, response, signed response when userinfo_signed_response_alg is registered:
 * §5.3.2 "SHOULD contain iss and aud"), §5.6.2 (distributed claims: _claim_names, _claim_sources), RFC 6750 §2.1
 * (Authorization: Bearer), §2.2 (form-encoded body parameter), §3 (errors, WWW-Authenticate); SECURITY.md 7
 * (Cache-Control: no-store, by RESP_API); drafts/claims.md §4 (what is released, and the agent token).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define USERINFO_SOURCE "agent" /* the one claims source: the identity's agent */

/* agent_token_mint(app, g, id, aud, clm, now): drafts/claims.md §4: the agent token, a JWT of typ id4me-agent+jwt
 * signed with access_token_alg for the agent whose registered issuer is ${aud}, carrying exactly iss, sub, aud,
 * client_id, id4me.identifier, clm, scope, jti, iat, exp.  Caller frees; NULL on failure. */
static char *
agent_token_mint(
    struct app *app, const struct grant *g, const struct identity *id, const char *aud, json_t *clm, int64_t now)
{
	json_t *c = NULL;
	char *jti = NULL, *tok = NULL;

	if ((jti = rand_token(16)) == NULL)
		goto out;
	c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:I,s:I}", "iss", app->conf->issuer, "sub", id->sub, "aud", aud,
	    "client_id", g->client_id, "id4me.identifier", id->identifier, "clm", clm, "scope", g->scope, "jti", jti,
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + app->conf->access_token_ttl));
	if (c != NULL)
		tok = jwt_sign(app->kr, app->conf->access_token_alg, "id4me-agent+jwt", c);
out:
	json_decref(c);
	free(jti);
	return (tok);
}

/* userinfo_distributed(app, g, id, o): OIDC Core §5.6.2: add _claim_names and _claim_sources to ${o} for the
 * claims still granted that the identity's agent can deliver.  Without an active agent, without such claims, or when
 * the agent's configuration cannot be had (logged by agent_meta_get), ${o} is left as it is.  -1 on a store,
 * signing or memory failure (logged). */
static int
userinfo_distributed(struct app *app, const struct grant *g, const struct identity *id, json_t *o)
{
	struct agent *a = NULL;
	struct agent_meta *m = NULL;
	json_t *granted = NULL, *clm = NULL, *names = NULL, *sources = NULL, *v;
	char *tok = NULL;
	const char *name;
	enum store_rc rc;
	size_t i;
	int ret = -1;

	if (id->agent_id == 0) /* created by the operator: delegates nothing (drafts/claims.md §2) */
		return (0);
	if ((granted = claims_granted_now(app, g->identity_id, g->client_id, g->claims)) == NULL)
		goto out;
	if (json_array_size(granted) == 0) {
		ret = 0;
		goto out;
	}
	if ((rc = store_agent_by_id(app->st, id->agent_id, &a)) != STORE_OK) {
		if (rc == STORE_NOTFOUND) {
			log_warnx("userinfo: identity %s is held by an unknown agent", id->identifier);
			ret = 0;
		}
		goto out;
	}
	/* As on the consent page (authorize.c consent_load): a disabled agent is handed nothing. */
	if (a->state != AGENT_ACTIVE) {
		ret = 0;
		goto out;
	}
	if (agent_meta_get(app, a->issuer, &m) == -1) {
		log_debug("userinfo: no distributed claims for %s: agent %s unavailable", id->identifier, a->name);
		ret = 0;
		goto out;
	}
	if ((clm = json_array()) == NULL || (names = json_object()) == NULL)
		goto oom;
	json_array_foreach(granted, i, v)
	{
		if (!agent_meta_supports(m, (name = json_string_value(v))))
			continue;
		if (json_array_append(clm, v) == -1 ||
		    json_object_set_new(names, name, json_string(USERINFO_SOURCE)) == -1)
			goto oom;
	}
	if (json_array_size(clm) == 0) {
		ret = 0;
		goto out;
	}
	if ((tok = agent_token_mint(app, g, id, a->issuer, clm, time_now())) == NULL) {
		log_warnx("userinfo: cannot sign an agent token with %s", app->conf->access_token_alg);
		goto out;
	}
	sources = json_pack("{s:{s:s,s:s}}", USERINFO_SOURCE, "endpoint", m->userinfo_endpoint, "access_token", tok);
	if (sources == NULL || json_object_set(o, "_claim_names", names) == -1 ||
	    json_object_set(o, "_claim_sources", sources) == -1)
		goto oom;
	ret = 0;
	goto out;
oom:
	log_warnx("userinfo: out of memory");
out:
	str_secure_free(tok);
	json_decref(sources);
	json_decref(names);
	json_decref(clm);
	json_decref(granted);
	agent_meta_free(m);
	agent_free(a);
	return (ret);
}

/**
 * userinfo_claims(app, g, id, c): the claims released for grant ${g} of identity ${id} to client ${c}: "sub",
 * "id4me.identifier" and, when claims granted with ${g} are still granted and the identity's agent can deliver
 * some, their distributed form (drafts/claims.md §4).  New object, caller decrefs; NULL on a store, signing or
 * memory failure (logged).
 */
json_t *
userinfo_claims(struct app *app, const struct grant *g, const struct identity *id, const struct client *c)
{
	json_t *o;

	(void)c;
	if (id == NULL || id->sub == NULL || id->identifier == NULL)
		return (NULL);
	if ((o = json_pack("{s:s,s:s}", "sub", id->sub, "id4me.identifier", id->identifier)) == NULL)
		return (NULL);
	if (g != NULL && userinfo_distributed(app, g, id, o) == -1) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/* userinfo_token(req, resp, out): RFC 6750 §2: the access token of the request, from the Authorization header or
 * (POST, form-encoded) the access_token body parameter, in *out (caller frees).  -1 with the error written when
 * there is none, it is malformed, or both methods are used (§2: "MUST NOT use more than one method"). */
static int
userinfo_token(const struct request *req, struct response *resp, char **out)
{
	const char *hdr, *form = NULL;
	char *bearer = NULL;

	*out = NULL;
	if ((hdr = req_header(req, "Authorization")) != NULL && (bearer = auth_parse_bearer(hdr)) == NULL &&
	    strncasecmp(hdr, "Bearer", 6) == 0) {
		resp_bearer_error(resp, 401, "invalid_token", "malformed bearer token");
		return (-1);
	}
	if (strcmp(req->method, "POST") == 0 && strcmp(req->content_type, "application/x-www-form-urlencoded") == 0) {
		if (form_count(&req->form, "access_token") > 1) {
			str_secure_free(bearer);
			resp_bearer_error(resp, 400, "invalid_request", "access_token repeated");
			return (-1);
		}
		form = form_get(&req->form, "access_token");
	}
	if (bearer != NULL && form != NULL) {
		str_secure_free(bearer);
		resp_bearer_error(resp, 400, "invalid_request", "more than one way of sending the access token");
		return (-1);
	}
	if (bearer == NULL && (form == NULL || form[0] == '\0')) {
		resp_bearer_error(resp, 401, "invalid_token", "access token required");
		return (-1);
	}
	if (bearer == NULL && (bearer = xstrdup(form)) == NULL) {
		log_warnx("userinfo: out of memory");
		resp_oauth_error(resp, 500, "server_error", NULL);
		return (-1);
	}
	*out = bearer;
	return (0);
}

/**
 * h_userinfo(ctx, req, resp): GET or POST OIDC_PATH_USERINFO with an access token: the claims as JSON, or as a
 * JWT signed with the client's userinfo_signed_response_alg (with iss and aud added).  401 invalid_token for
 * a missing, invalid, expired or revoked token; 403 insufficient_scope without "openid".
 */
void
h_userinfo(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct grant *g = NULL;
	struct identity *id = NULL;
	struct client *c = NULL;
	json_t *at = NULL, *claims = NULL;
	char *token = NULL, *jwt = NULL;
	const char *alg;

	if (userinfo_token(req, resp, &token) == -1)
		goto out;
	if ((at = access_token_check(app, token, time_now(), &g, &id)) == NULL) {
		resp_bearer_error(resp, 401, "invalid_token", NULL);
		goto out;
	}
	if (g == NULL || id == NULL) {
		log_warnx("userinfo: access_token_check returned no grant or identity");
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	/* OIDC Core §5.3: UserInfo serves access tokens obtained through an OpenID Connect request. */
	if (!str_list_contains(g->scope, "openid")) {
		resp_bearer_error(resp, 403, "insufficient_scope", "the access token lacks scope openid");
		goto out;
	}
	switch (store_client_get(app->st, g->client_id, &c)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND: /* the client was deleted: its tokens die with it */
		resp_bearer_error(resp, 401, "invalid_token", NULL);
		goto out;
	default:
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	if ((claims = userinfo_claims(app, g, id, c)) == NULL) {
		log_warnx("userinfo: cannot build the claims");
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	if ((alg = client_meta_str(c, "userinfo_signed_response_alg")) == NULL) {
		resp_json(resp, 200, claims);
		goto out;
	}
	/* OIDC Core §5.3.2: a signed response carries iss and aud (the client). */
	if (json_object_set_new(claims, "iss", json_string(app->conf->issuer)) == -1 ||
	    json_object_set_new(claims, "aud", json_string(c->client_id)) == -1 ||
	    (jwt = jwt_sign(app->kr, alg, NULL, claims)) == NULL) {
		log_warnx("userinfo: cannot sign the response with %s", alg);
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	resp_text(resp, 200, "application/jwt", jwt);
out:
	free(jwt);
	json_decref(claims);
	json_decref(at);
	client_free(c);
	identity_free(id);
	grant_free(g);
	str_secure_free(token);
}
