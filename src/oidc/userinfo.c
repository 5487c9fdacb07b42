/*
 * userinfo.c: the UserInfo endpoint of the authority.
 *
 * OIDC Core §5.3 (request, response, signed response when userinfo_signed_response_alg is registered:
 * §5.3.2 "SHOULD contain iss and aud"), RFC 6750 §2.1 (Authorization: Bearer), §2.2 (form-encoded body
 * parameter), §3 (errors, WWW-Authenticate); SECURITY.md 7 (Cache-Control: no-store, by RESP_API).
 * The claims come from userinfo_claims(), the one path that per-claim consent and distributed claims
 * (ID4ME.md "Tokens") will extend.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/**
 * userinfo_claims(app, g, id, c): the claims released for grant ${g} of identity ${id} to client ${c}: "sub"
 * and "id4me.identifier" for now.  New object, caller decrefs; NULL on memory failure.
 */
json_t *
userinfo_claims(struct app *app, const struct grant *g, const struct identity *id, const struct client *c)
{
	(void)app;
	(void)g;
	(void)c;
	if (id == NULL || id->sub == NULL || id->identifier == NULL)
		return (NULL);
	return (json_pack("{s:s,s:s}", "sub", id->sub, "id4me.identifier", id->identifier));
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
