/*
 * token.c: the token endpoint.
 *
 * RFC 6749 §4.1.3 (authorization_code) and §6 (refresh_token), RFC 7636 §4.5-4.6 (PKCE), OIDC Core §3.1.3
 * (ID token), RFC 9700 §4.14 (refresh token rotation), SECURITY.md 3-5, 8.
 *
 * Cost per request, by design: one client lookup, one write transaction (code or refresh token consumed and the
 * new grant, refresh token and access-token record stored together), one identity lookup, one read of the user's
 * decisions when the grant carries claims (the access token's clm, drafts/claims.md §4), one RS256 signature (ID
 * token) and one ES256 signature (access token).  The RSA signature is the ceiling.
 */
#include <string.h>

#include "internal.h"

#define TOKEN_VERIFIER_MIN 43 /* RFC 7636 §4.1 */
#define TOKEN_VERIFIER_MAX 128

/* RFC 6749 §3.2: request parameters must not repeat. */
static const char *const token_params[] = { "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token",
	"scope" };

/* Everything minted for one response; the strings are freed by tokens_release. */
struct minted {
	char *grant_id;
	char *refresh; /* the refresh token itself (NULL when the client has no refresh grant) */
	char *refresh_hash;
	char *jti;
};

static void
minted_release(struct minted *m)
{
	free(m->grant_id);
	str_secure_free(m->refresh);
	free(m->refresh_hash);
	free(m->jti);
}

static int
mint_ids(
    struct app *app, const struct client *client, bool new_grant, struct minted *m, struct grant_tokens *t, int64_t now)
{
	memset(t, 0, sizeof(*t));
	if (new_grant && (m->grant_id = rand_token(16)) == NULL)
		return (-1);
	if ((m->jti = rand_token(16)) == NULL)
		return (-1);
	if (client_meta_has(client, "grant_types", "refresh_token")) {
		if ((m->refresh = rand_token(OIDC_TOKEN_BYTES)) == NULL ||
		    (m->refresh_hash = token_hash(m->refresh)) == NULL)
			return (-1);
		t->refresh_hash = m->refresh_hash;
		t->refresh_expires_at = now + app->conf->refresh_token_ttl;
	}
	t->grant_id = m->grant_id;
	t->access_jti = m->jti;
	t->access_expires_at = now + app->conf->access_token_ttl;
	return (0);
}

/* RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, in constant time; the verifier's syntax first. */
static bool
pkce_ok(const char *verifier, const char *challenge)
{
	unsigned char h[UTIL_SHA256_LEN];
	size_t len = strlen(verifier);
	char *enc;
	bool ok;

	if (len < TOKEN_VERIFIER_MIN || len > TOKEN_VERIFIER_MAX)
		return (false);
	for (const char *p = verifier; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		        *p == '.' || *p == '_' || *p == '~'))
			return (false);
	sha256(verifier, len, h);
	if ((enc = b64url_encode(h, sizeof(h))) == NULL)
		return (false);
	ok = ct_streq(enc, challenge);
	free(enc);
	return (ok);
}

/* OIDC Core §2: the ID token.  nonce only when the RP sent one (a client raises on an unexpected nonce). */
static char *
id_token_mint(struct app *app, const struct client *client, const struct identity *id, const char *nonce,
    const char *amr, int64_t auth_time, int64_t now)
{
	json_t *c, *amr_json;
	char *tok = NULL;

	amr_json = json_loads(amr ? amr : "[\"pwd\"]", 0, NULL);
	c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:s}", "iss", app->conf->issuer, "sub", id->sub, "aud",
	    client->client_id, "exp", (json_int_t)(now + app->conf->id_token_ttl), "iat", (json_int_t)now, "auth_time",
	    (json_int_t)auth_time, "amr", amr_json ? amr_json : json_array(), "id4me.identifier", id->identifier);
	if (c == NULL)
		return (NULL);
	if (nonce != NULL)
		json_object_set_new(c, "nonce", json_string(nonce));
	tok = jwt_sign(app->kr, id_token_alg(client), NULL, c);
	json_decref(c);
	return (tok);
}

static void
token_respond(struct app *app, struct response *resp, const struct client *client, const struct identity *id,
    const struct minted *m, const char *scope, const char *nonce, const char *amr, const char *claims,
    int64_t auth_time, int64_t now)
{
	struct token_subject s = { id, client->client_id, scope, auth_time, amr, claims };
	char *at = NULL, *idt = NULL;
	json_t *o = NULL;

	if ((at = access_token_mint(app, &s, m->jti, now)) == NULL ||
	    (idt = id_token_mint(app, client, id, nonce, amr, auth_time, now)) == NULL)
		goto fail;
	o = json_pack("{s:s,s:s,s:I,s:s,s:s}", "access_token", at, "token_type", "Bearer", "expires_in",
	    (json_int_t)app->conf->access_token_ttl, "id_token", idt, "scope", scope);
	if (o == NULL)
		goto fail;
	if (m->refresh != NULL)
		json_object_set_new(o, "refresh_token", json_string(m->refresh));
	resp_json(resp, 200, o);
	goto out;
fail:
	log_warnx("token: signing failed");
	resp_oauth_error(resp, 500, "server_error", NULL);
out:
	json_decref(o);
	str_secure_free(at);
	str_secure_free(idt);
}

static void
grant_code(struct app *app, const struct request *req, struct response *resp, const struct client *client)
{
	const char *code = req_param(req, "code"), *ru = req_param(req, "redirect_uri");
	const char *verifier = req_param(req, "code_verifier");
	struct authz_code *c = NULL;
	struct identity *id = NULL;
	struct grant_tokens t;
	struct minted m = { 0 };
	char *hash = NULL;
	int64_t now = time_now();
	enum store_rc rc;
	bool pkce_pass;

	if (code == NULL || strlen(code) > 256) {
		resp_oauth_error(resp, 400, "invalid_request", "code is required");
		goto out;
	}
	if ((hash = token_hash(code)) == NULL || mint_ids(app, client, true, &m, &t, now) == -1) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	/* RFC 6749 §4.1.2: single use, atomically; a replay revokes what the code issued (SECURITY.md 4). */
	rc = store_code_redeem(app->st, hash, client->client_id, now, &t, &c);
	if (rc == STORE_REPLAY) {
		log_info("token: authorization code replayed by client %s; its grant is revoked", client->client_id);
		resp_oauth_error(resp, 400, "invalid_grant", "the code was already used");
		goto out;
	}
	if (rc != STORE_OK) {
		resp_oauth_error(resp, rc == STORE_ERROR ? 500 : 400,
		    rc == STORE_ERROR ? "server_error" : "invalid_grant",
		    rc == STORE_ERROR ? NULL : "unknown or expired code");
		goto out;
	}
	/* The checks that need the code itself come after it is consumed; failing them revokes the grant. */
	if (ru == NULL || strcmp(ru, c->redirect_uri) != 0) {
		resp_oauth_error(resp, 400, "invalid_grant", "redirect_uri does not match the authorization request");
		goto revoke;
	}
	/* SECURITY.md 3: a verifier without a stored challenge is a downgrade attempt. */
	if (c->code_challenge != NULL)
		pkce_pass = verifier != NULL && pkce_ok(verifier, c->code_challenge);
	else
		pkce_pass = verifier == NULL;
	if (!pkce_pass) {
		resp_oauth_error(resp, 400, "invalid_grant", "PKCE verification failed");
		goto revoke;
	}
	if (store_identity_by_id(app->st, c->identity_id, &id) != STORE_OK || id->state != IDENTITY_ACTIVE) {
		resp_oauth_error(resp, 400, "invalid_grant", "the identity is not active");
		goto revoke;
	}
	token_respond(app, resp, client, id, &m, c->scope, c->nonce, c->amr, c->claims, c->auth_time, now);
	goto out;
revoke:
	store_grant_revoke(app->st, m.grant_id);
out:
	identity_free(id);
	authz_code_free(c);
	free(hash);
	minted_release(&m);
}

static void
grant_refresh(struct app *app, const struct request *req, struct response *resp, const struct client *client)
{
	const char *rt = req_param(req, "refresh_token"), *scope = req_param(req, "scope");
	struct grant *g = NULL;
	struct identity *id = NULL;
	struct grant_tokens t;
	struct minted m = { 0 };
	char *hash = NULL, *word, *copy = NULL, *save;
	int64_t now = time_now();
	enum store_rc rc;

	if (rt == NULL || strlen(rt) > 256) {
		resp_oauth_error(resp, 400, "invalid_request", "refresh_token is required");
		goto out;
	}
	if ((hash = token_hash(rt)) == NULL || mint_ids(app, client, false, &m, &t, now) == -1) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	/* RFC 6749 §6: a narrower scope may be asked for, never a wider one.  Checked before rotation, so that a
	 * refused request leaves the client's refresh token valid. */
	if (scope != NULL) {
		if ((rc = store_refresh_peek(app->st, hash, client->client_id, &g)) != STORE_OK) {
			resp_oauth_error(resp, rc == STORE_ERROR ? 500 : 400,
			    rc == STORE_ERROR ? "server_error" : "invalid_grant", NULL);
			goto out;
		}
		if ((copy = xstrdup(scope)) == NULL) {
			resp_oauth_error(resp, 500, "server_error", NULL);
			goto out;
		}
		for (word = strtok_r(copy, " ", &save); word != NULL; word = strtok_r(NULL, " ", &save))
			if (!str_list_contains(g->scope, word)) {
				resp_oauth_error(resp, 400, "invalid_scope", "scope exceeds the original grant");
				goto out;
			}
		grant_free(g);
		g = NULL;
	}
	/* RFC 9700 §4.14.2: rotation; a retired token coming back revokes the whole family. */
	rc = store_refresh_rotate(app->st, hash, client->client_id, now, &t, &g);
	if (rc == STORE_REPLAY)
		log_info("token: refresh token reused by client %s; its grant is revoked", client->client_id);
	if (rc != STORE_OK) {
		resp_oauth_error(
		    resp, rc == STORE_ERROR ? 500 : 400, rc == STORE_ERROR ? "server_error" : "invalid_grant", NULL);
		goto out;
	}
	if (store_identity_by_id(app->st, g->identity_id, &id) != STORE_OK || id->state != IDENTITY_ACTIVE) {
		store_grant_revoke(app->st, g->grant_id);
		resp_oauth_error(resp, 400, "invalid_grant", "the identity is not active");
		goto out;
	}
	token_respond(app, resp, client, id, &m, scope ? scope : g->scope, NULL, g->amr, g->claims, g->auth_time, now);
out:
	free(copy);
	identity_free(id);
	grant_free(g);
	free(hash);
	minted_release(&m);
}

/** h_token: POST /token. */
void
h_token(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client;
	const char *gt;

	if ((client = client_authenticate(app, req, resp)) == NULL)
		return;
	gt = req_param(req, "grant_type");
	for (size_t i = 0; i < sizeof(token_params) / sizeof(token_params[0]); i++)
		if (param_repeated(req, token_params[i])) {
			resp_oauth_error(resp, 400, "invalid_request", "a parameter is repeated");
			client_free(client);
			return;
		}
	if (gt == NULL)
		resp_oauth_error(resp, 400, "invalid_request", "grant_type is required");
	else if (strcmp(gt, "authorization_code") != 0 && strcmp(gt, "refresh_token") != 0)
		resp_oauth_error(resp, 400, "unsupported_grant_type", NULL);
	else if (!client_meta_has(client, "grant_types", gt))
		resp_oauth_error(resp, 400, "unauthorized_client", "the client did not register this grant type");
	else if (strcmp(gt, "authorization_code") == 0)
		grant_code(app, req, resp, client);
	else
		grant_refresh(app, req, resp, client);
	client_free(client);
}
