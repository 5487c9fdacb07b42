/*
 * session.c: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, end_session_endpoint).
 *
 * GET (or a POST from an RP) shows a confirmation page; the page's POST, carrying the CSRF token, ends the
 * session and then returns to post_logout_redirect_uri when it is registered for the client named by client_id
 * or by the id_token_hint's audience, with state; otherwise it shows the logged-out page.
 */
#include <string.h>

#include "internal.h"

/* The client of a logout request: client_id, else the audience of id_token_hint (signature checked, expiry
 * not: RP-Initiated Logout §2 allows expired hints). */
static struct client *
logout_client(struct app *app, const struct request *req)
{
	static const char *const algs[] = { "RS256", "ES256", NULL };
	const char *client_id = req_param(req, "client_id"), *hint = req_param(req, "id_token_hint");
	struct client *c = NULL;
	json_t *claims = NULL;

	if (client_id == NULL && hint != NULL && (claims = jwt_verify(app->kr, hint, algs, NULL)) != NULL) {
		const char *iss = json_string_value(json_object_get(claims, "iss"));

		if (iss != NULL && strcmp(iss, app->conf->issuer) == 0)
			client_id = json_string_value(json_object_get(claims, "aud"));
	}
	if (client_id != NULL && strlen(client_id) <= 256)
		store_client_get(app->st, client_id, &c);
	json_decref(claims);
	return (c);
}

/** h_logout: GET/POST /logout. */
void
h_logout(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client = logout_client(app, req);
	const char *plr = req_param(req, "post_logout_redirect_uri"), *state = req_param(req, "state");
	const char *sid, *name = page_cookie_name(req, OIDC_SESSION_COOKIE, OIDC_SESSION_COOKIE_TLS);
	char *csrf = NULL, *hash = NULL;
	struct buf b;

	if (client == NULL || plr == NULL || !client_post_logout_ok(client, plr))
		plr = NULL;
	if (strcmp(req->method, "POST") != 0 || form_get(&req->form, "csrf") == NULL) {
		if ((csrf = csrf_token(app, req, resp)) == NULL) {
			page_error(app, resp, 500, "Internal error", "Please try again.");
			goto out;
		}
		const struct tmpl_var v[] = { { "title", "Log out" }, { "csrf", csrf },
			{ "post_logout_redirect_uri", plr }, { "state", plr ? state : NULL },
			{ "client_id", client ? client->client_id : NULL },
			{ "client_name", client ? client_meta_str(client, "client_name") : NULL } };

		page_render(app, resp, 200, "logout", v, sizeof(v) / sizeof(v[0]));
		goto out;
	}
	if (!csrf_ok(app, req)) {
		page_forbidden(app, resp);
		goto out;
	}
	if ((sid = form_get(&req->cookies, name)) != NULL && strlen(sid) <= 128 && (hash = token_hash(sid)) != NULL)
		store_session_delete(app->st, hash);
	resp_set_cookie(resp, name, "", 0, req->secure);
	if (plr != NULL) {
		buf_init(&b);
		buf_puts(&b, plr);
		if (state != NULL && *state != '\0') {
			char *enc = url_encode(state);

			buf_printf(&b, "%cstate=%s", strchr(plr, '?') ? '&' : '?', enc ? enc : "");
			free(enc);
		}
		resp_redirect(resp, b.data);
		buf_release(&b);
	} else {
		const struct tmpl_var v[] = { { "title", "Logged out" } };

		page_render(app, resp, 200, "logged_out", v, 1);
	}
out:
	free(csrf);
	free(hash);
	client_free(client);
}
