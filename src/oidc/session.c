/*
 * session.c: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, end_session_endpoint).
 *
 * GET (or a POST from a relying party) shows a confirmation page; the page's POST, carrying the CSRF token,
 * ends the session.  The user is sent back to post_logout_redirect_uri only when an id_token_hint issued by
 * this authority proves which client asks (its aud; a client_id sent beside it must be the same) and that client
 * registered the URI: with open registration, a client_id alone would make this endpoint an open redirect
 * (RP-Initiated Logout §2).  The validated address travels through the confirmation form signed.
 */
#include <string.h>

#include "internal.h"

#define LOGOUT_PURPOSE "logout"
#define LOGOUT_TTL 900 /* the confirmation page stays usable this long */

/* The client proven by a valid id_token_hint (signature checked, expiry not: §2 allows expired hints). */
static struct client *
logout_client(struct app *app, const struct request *req)
{
	static const char *const algs[] = { "RS256", "ES256", NULL };
	const char *client_id = req_param(req, "client_id"), *hint = req_param(req, "id_token_hint");
	const char *iss, *aud;
	struct client *c = NULL;
	json_t *claims;

	if (hint == NULL || (claims = jwt_verify(app->kr, hint, algs, NULL)) == NULL)
		return (NULL);
	iss = json_string_value(json_object_get(claims, "iss"));
	aud = json_string_value(json_object_get(claims, "aud"));
	if (iss != NULL && strcmp(iss, app->conf->issuer) == 0 && aud != NULL && strlen(aud) <= 256 &&
	    (client_id == NULL || strcmp(client_id, aud) == 0))
		store_client_get(app->st, aud, &c);
	json_decref(claims);
	return (c);
}

static void
logout_confirm(struct app *app, const struct request *req, struct response *resp)
{
	struct client *client = logout_client(app, req);
	const char *plr = req_param(req, "post_logout_redirect_uri"), *state = req_param(req, "state");
	char *csrf = NULL, *blob = NULL;
	json_t *o = NULL;

	if (client != NULL && plr != NULL && client_post_logout_ok(client, plr)) {
		if ((o = json_pack("{s:s}", "uri", plr)) == NULL)
			goto fail;
		if (state != NULL && strlen(state) <= OIDC_MAX_STATE)
			json_object_set_new(o, "state", json_string(state));
		if ((blob = signed_pack(app, LOGOUT_PURPOSE, o, LOGOUT_TTL)) == NULL)
			goto fail;
	}
	if ((csrf = csrf_token(app, req, resp)) == NULL)
		goto fail;
	{
		const struct tmpl_var v[] = { { "title", "Log out" }, { "csrf", csrf }, { "req", blob },
			{ "client_name", client ? client_meta_str(client, "client_name") : NULL } };

		page_render(app, resp, 200, "logout", v, sizeof(v) / sizeof(v[0]));
	}
	goto out;
fail:
	page_error(app, resp, 500, "Internal error", "Please try again.");
out:
	json_decref(o);
	free(csrf);
	free(blob);
	client_free(client);
}

/** h_logout: GET/POST /logout. */
void
h_logout(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	const char *sid, *name = page_cookie_name(req, OIDC_SESSION_COOKIE, OIDC_SESSION_COOKIE_TLS);
	const char *uri, *state;
	char *hash = NULL;
	json_t *back = NULL;
	struct buf b;

	if (strcmp(req->method, "POST") != 0 || form_get(&req->form, "csrf") == NULL) {
		logout_confirm(app, req, resp);
		return;
	}
	if (!csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return;
	}
	if ((sid = form_get(&req->cookies, name)) != NULL && strlen(sid) <= 128) {
		if ((hash = token_hash(sid)) == NULL || store_session_delete(app->st, hash) == STORE_ERROR) {
			/* Never say "logged out" while the session still works. */
			page_error(app, resp, 500, "Internal error", "You are not logged out yet. Please try again.");
			goto out;
		}
	}
	resp_set_cookie(resp, name, "", 0, req->secure);
	back = signed_unpack(app, LOGOUT_PURPOSE, form_get(&req->form, "req"), time_now());
	if (back != NULL && (uri = json_string_value(json_object_get(back, "uri"))) != NULL) {
		buf_init(&b);
		buf_puts(&b, uri);
		if ((state = json_string_value(json_object_get(back, "state"))) != NULL && *state != '\0') {
			char *enc = url_encode(state);

			buf_printf(&b, "%cstate=%s", strchr(uri, '?') ? '&' : '?', enc ? enc : "");
			free(enc);
		}
		resp_redirect(resp, b.data);
		buf_release(&b);
	} else {
		const struct tmpl_var v[] = { { "title", "Logged out" } };

		page_render(app, resp, 200, "logged_out", v, 1);
	}
out:
	json_decref(back);
	free(hash);
}
