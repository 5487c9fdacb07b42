/*
 * revoke.c: token revocation.
 *
 * RFC 7009 §2.1 (request: client authentication, token, token_type_hint), §2.2 (200 whether or not the token
 * was known or valid), §2.2.1 (errors); the hint is only a hint (§2.1: the server extends its search to other
 * token types), so an unknown hint is ignored rather than answered with unsupported_token_type.
 * Access tokens are RFC 9068 JWTs revoked by jti; refresh tokens are opaque and looked up by token_hash()
 * (SECURITY.md 8).  Revoking a refresh token revokes its whole grant (store_revoke_refresh).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* looks_like_jwt(t): three base64url parts separated by two dots, within KEYS_MAX_JWT (refresh tokens are
 * rand_token() output and never contain a dot). */
static bool
looks_like_jwt(const char *t)
{
	size_t i, dots = 0;

	for (i = 0; t[i] != '\0'; i++) {
		if (i >= KEYS_MAX_JWT)
			return (false);
		if (t[i] == '.')
			dots++;
	}
	return (dots == 2);
}

/* revoke_access(app, token, client_id): RFC 7009 for an access token of ours: verified with our keys (an
 * unverifiable JWT is not one of ours: nothing to do), revoked by jti when it was issued to ${client_id}.
 * -1 only on store errors. */
static int
revoke_access(struct app *app, const char *token, const char *client_id)
{
	static const char *const algs[] = { "RS256", "ES256", NULL };
	const char *jti, *cid;
	json_t *claims;
	int ret = 0;

	if ((claims = jwt_verify(app->kr, token, algs, "at+jwt")) == NULL)
		return (0);
	jti = json_string_value(json_object_get(claims, "jti"));
	cid = json_string_value(json_object_get(claims, "client_id"));
	/* RFC 7009 §2.1: a client may revoke only its own tokens. */
	if (jti != NULL && cid != NULL && strcmp(cid, client_id) == 0 &&
	    store_revoke_access(app->st, jti, client_id) == STORE_ERROR)
		ret = -1;
	json_decref(claims);
	return (ret);
}

/**
 * h_revoke(ctx, req, resp): POST OIDC_PATH_REVOKE: authenticate the client, revoke ${token} if it is one of the
 * client's, answer 200 with an empty body (also for unknown or foreign tokens).  400 invalid_request without a
 * token; client authentication errors from client_authenticate.
 */
void
h_revoke(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *c = NULL;
	const char *token;
	char *hash = NULL;

	if ((c = client_authenticate(app, req, resp)) == NULL)
		goto out;
	if (form_count(&req->form, "token") + form_count(&req->query, "token") > 1) {
		resp_oauth_error(resp, 400, "invalid_request", "token repeated");
		goto out;
	}
	if ((token = req_param(req, "token")) == NULL || token[0] == '\0') {
		resp_oauth_error(resp, 400, "invalid_request", "token is required");
		goto out;
	}
	/* The token's shape tells access from refresh tokens, whatever token_type_hint says. */
	if (looks_like_jwt(token)) {
		if (revoke_access(app, token, c->client_id) == -1) {
			resp_oauth_error(resp, 500, "server_error", NULL);
			goto out;
		}
	} else {
		if ((hash = token_hash(token)) == NULL) {
			log_warnx("revoke: out of memory");
			resp_oauth_error(resp, 500, "server_error", NULL);
			goto out;
		}
		if (store_revoke_refresh(app->st, hash, c->client_id) == STORE_ERROR) {
			resp_oauth_error(resp, 500, "server_error", NULL);
			goto out;
		}
	}
	resp->status = 200; /* RFC 7009 §2.2: the content of the body is ignored by the client */
out:
	free(hash);
	client_free(c);
}
