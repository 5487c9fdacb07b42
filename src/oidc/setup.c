/*
 * setup.c: the password-setup page behind the one-time URL that `anchorid identity add` (and later the agent
 * API) hands out.  Setting the password activates the identity (SECURITY.md 6, 17).
 */
#include <string.h>

#include "internal.h"

#define SETUP_MAX_PASSWORD 1024
#define SETUP_MAX_TOKEN 128

static void
setup_page(struct app *app, const struct request *req, struct response *resp, int status, const char *token,
    const char *identifier, const char *error)
{
	char *csrf, minlen[16];

	if ((csrf = csrf_token(app, req, resp)) == NULL) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		return;
	}
	snprintf(minlen, sizeof(minlen), "%d", app->conf->password_min_length);
	{
		const struct tmpl_var v[] = { { "title", "Set your password" }, { "token", token },
			{ "identifier", identifier }, { "csrf", csrf }, { "min_length", minlen }, { "error", error } };

		page_render(app, resp, status, "setup", v, sizeof(v) / sizeof(v[0]));
	}
	free(csrf);
}

static void
setup_gone(struct app *app, struct response *resp)
{
	page_error(app, resp, 410, "This link cannot be used",
	    "The password-setup link has expired or was already used. Ask your identity provider for a new one.");
}

/** h_setup: GET shows the form for a live token; POST sets the password. */
void
h_setup(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	bool post = strcmp(req->method, "POST") == 0;
	const char *token = post ? form_get(&req->form, "t") : form_get(&req->query, "t");
	const char *pw = form_get(&req->form, "password"), *pw2 = form_get(&req->form, "password2");
	struct identity *id = NULL;
	char *hash = NULL, *pwhash = NULL;
	int64_t identity_id = 0, now = time_now();
	enum store_rc rc;
	enum pw_rc pr;

	if (post && !csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return;
	}
	if (token == NULL || strlen(token) > SETUP_MAX_TOKEN || (hash = token_hash(token)) == NULL ||
	    store_setup_peek(app->st, hash, now, &identity_id) != STORE_OK ||
	    store_identity_by_id(app->st, identity_id, &id) != STORE_OK) {
		setup_gone(app, resp);
		goto out;
	}
	if (!post) {
		setup_page(app, req, resp, 200, token, id->identifier, NULL);
		goto out;
	}
	if (pw == NULL || pw2 == NULL || strcmp(pw, pw2) != 0) {
		setup_page(app, req, resp, 400, token, id->identifier, "The two passwords are not the same.");
		goto out;
	}
	if (strlen(pw) < (size_t)app->conf->password_min_length || strlen(pw) > SETUP_MAX_PASSWORD) {
		setup_page(app, req, resp, 400, token, id->identifier,
		    "The password is too short (or longer than 1024 characters).");
		goto out;
	}
	if (req->queued_ms > OIDC_MAX_QUEUE_MS || (pr = pw_hash(pw, &pwhash)) != PW_OK) {
		setup_page(app, req, resp, 503, token, id->identifier, "The service is busy. Please try again.");
		goto out;
	}
	/* One transaction: token consumed, password stored, identity active, old sessions gone. */
	rc = store_setup_use(app->st, hash, pwhash, now, &identity_id);
	if (rc == STORE_OK) {
		const struct tmpl_var v[] = { { "title", "Password set" }, { "identifier", id->identifier } };

		page_render(app, resp, 200, "setup_done", v, 2);
	} else if (rc == STORE_ERROR)
		page_error(app, resp, 500, "Internal error", "Please try again.");
	else
		setup_gone(app, resp);
out:
	str_secure_free(pwhash);
	free(hash);
	identity_free(id);
}
