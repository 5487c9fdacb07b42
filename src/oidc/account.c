/*
 * account.c: the user's own page, {issuer}/account (drafts/claims.md §6): every relying party the user has decided
 * for, with each claim granted or refused, a Revoke button per granted claim and per relying party; the user's
 * live sessions with End; a link to log out.
 *
 * Without a session the page is the login form (authorize.c, ACCOUNT_PURPOSE), which comes back here.  Every
 * button is a POST carrying the CSRF token (SECURITY.md 6) and acting only on the session's identity; the change is
 * committed (SECURITY.md 17) before the 303 back to the page, whose query names one of the fixed notices below
 * (never text from the request).  Pages carry the SECURITY.md 7 headers (RESP_HTML).
 */
#include <string.h>
#include <time.h>

#include "internal.h"

#define ACCOUNT_MAX_FIELD 256 /* a client_id, claim name or session handle sent back by the page */

/* The one-line notices after a change, named in the query by their code. */
static const struct {
	const char *code;
	const char *text;
} account_notices[] = {
	{ "revoked", "Revoked: the website no longer receives that information." },
	{ "revoked_all", "Revoked: the website no longer receives anything, and its access has ended." },
	{ "ended", "The session has ended." },
	{ "ended_self", "You ended this session, so you are logged out." },
	{ "unchanged", "Nothing to change: it was already so." },
};

static const char *
account_notice(const char *code)
{
	size_t i;

	for (i = 0; code != NULL && i < sizeof(account_notices) / sizeof(account_notices[0]); i++)
		if (strcmp(account_notices[i].code, code) == 0)
			return (account_notices[i].text);
	return (NULL);
}

/* The host of a redirect URI: what the user may recognise. */
static json_t *
host_of(const char *uri)
{
	const char *h;

	if (uri == NULL)
		return (json_null());
	h = strstr(uri, "://");
	h = h != NULL ? h + 3 : uri;
	return (json_stringn(h, strcspn(h, "/?#")));
}

/* ${t} as "2026-11-21 14:05 UTC". */
static json_t *
time_text(json_int_t t)
{
	char out[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, sizeof(out), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		return (json_string("?"));
	return (json_string(out));
}

/* The page's list of relying parties, from store_consent_list: [{client_id, rp_name, host, claims: [{name, label,
 * granted}]}]. */
static json_t *
account_rps(json_t *list)
{
	json_t *rps = json_array(), *e, *claims, *d, *rp;
	const char *name, *label;
	size_t i;

	if (rps == NULL)
		return (NULL);
	json_array_foreach(list, i, e)
	{
		if ((claims = json_array()) == NULL)
			goto fail;
		json_object_foreach(json_object_get(e, "claims"), name, d)
		{
			label = claim_label(name) != NULL ? claim_label(name) : name;
			if (json_array_append_new(claims,
			        json_pack("{s:s,s:s,s:b}", "name", name, "label", label, "granted", json_is_true(d))) ==
			    -1) {
				json_decref(claims);
				goto fail;
			}
		}
		rp = json_pack("{s:O,s:O,s:o,s:o}", "client_id", json_object_get(e, "client_id"), "rp_name",
		    json_is_string(json_object_get(e, "client_name")) ? json_object_get(e, "client_name") : json_null(),
		    "host", host_of(json_string_value(json_object_get(e, "redirect_uri"))), "claims", claims);
		if (rp == NULL || json_array_append_new(rps, rp) == -1)
			goto fail;
	}
	return (rps);
fail:
	json_decref(rps);
	return (NULL);
}

/* Is ${handle} (store_session_list's short form of a session id) the handle of ${sess}? */
static bool
session_is(const struct session *sess, const char *handle)
{
	return (handle[0] != '\0' && strncmp(sess->id_hash, handle, strlen(handle)) == 0);
}

/* The page's list of sessions: [{id, auth_time, expires, current}], ${sess} marked current. */
static json_t *
account_sessions(json_t *list, const struct session *sess)
{
	json_t *out = json_array(), *e;
	const char *handle;
	size_t i;

	if (out == NULL)
		return (NULL);
	json_array_foreach(list, i, e)
	{
		handle = json_string_value(json_object_get(e, "id"));
		if (handle == NULL)
			continue;
		if (json_array_append_new(out,
		        json_pack("{s:s,s:o,s:o,s:b}", "id", handle, "auth_time",
		            time_text(json_integer_value(json_object_get(e, "auth_time"))), "expires",
		            time_text(json_integer_value(json_object_get(e, "expires_at"))), "current",
		            session_is(sess, handle))) == -1) {
			json_decref(out);
			return (NULL);
		}
	}
	return (out);
}

static void
account_page(struct app *app, const struct request *req, struct response *resp, const struct session *sess)
{
	struct identity *id = NULL;
	json_t *consents = NULL, *sessions = NULL, *rps = NULL, *mine = NULL;
	char *csrf = NULL, *rps_text = NULL, *sessions_text = NULL;

	if (store_identity_by_id(app->st, sess->identity_id, &id) != STORE_OK ||
	    store_consent_list(app->st, sess->identity_id, &consents) != STORE_OK ||
	    store_session_list(app->st, sess->identity_id, time_now(), &sessions) != STORE_OK ||
	    (rps = account_rps(consents)) == NULL || (mine = account_sessions(sessions, sess)) == NULL ||
	    (json_array_size(rps) > 0 && (rps_text = json_dumps(rps, JSON_COMPACT)) == NULL) ||
	    (sessions_text = json_dumps(mine, JSON_COMPACT)) == NULL || (csrf = csrf_token(app, req, resp)) == NULL) {
		page_error(
		    app, resp, 500, "Internal error", "Your account page could not be prepared. Please try again.");
		goto out;
	}
	{
		const struct tmpl_var v[] = { { "title", "Your account" }, { "identifier", id->identifier },
			{ "csrf", csrf }, { "notice", account_notice(form_get(&req->query, "notice")) },
			{ "rps", rps_text }, { "sessions", sessions_text }, { "unnamed", OIDC_UNNAMED_CLIENT } };

		page_render(app, resp, 200, "account", v, sizeof(v) / sizeof(v[0]));
	}
out:
	identity_free(id);
	json_decref(consents);
	json_decref(sessions);
	json_decref(rps);
	json_decref(mine);
	free(csrf);
	free(rps_text);
	free(sessions_text);
}

/* One field the page sends back, or NULL when absent or oversized. */
static const char *
account_field(const struct request *req, const char *name)
{
	const char *v = form_get(&req->form, name);

	return (v != NULL && *v != '\0' && strlen(v) <= ACCOUNT_MAX_FIELD ? v : NULL);
}

/* A button of the page: revoke one claim, revoke a relying party, end a session.  Returns the notice's code, or
 * NULL after an internal error (the 500 page written). */
static const char *
account_change(
    struct app *app, const struct request *req, struct response *resp, const struct session *sess, bool *self)
{
	const char *client_id = account_field(req, "client_id"), *claim = account_field(req, "revoke");
	const char *all = account_field(req, "revoke_all"), *handle = account_field(req, "end");
	enum store_rc rc;

	*self = false;
	if (handle != NULL) {
		if ((rc = store_session_end(app->st, sess->identity_id, handle)) == STORE_OK) {
			*self = session_is(sess, handle);
			return (*self ? "ended_self" : "ended");
		}
	} else if (client_id != NULL && (claim != NULL || all != NULL)) {
		/* drafts/claims.md §6: a relying party's Revoke removes its decisions and revokes its tokens. */
		rc =
		    store_consent_revoke(app->st, sess->identity_id, client_id, all != NULL ? NULL : claim, time_now());
		if (rc == STORE_OK)
			return (all != NULL ? "revoked_all" : "revoked");
	} else
		return ("unchanged");
	if (rc == STORE_ERROR) {
		page_error(app, resp, 500, "Internal error", "Nothing was changed. Please try again.");
		return (NULL);
	}
	return ("unchanged");
}

/** h_account: GET/POST OIDC_PATH_ACCOUNT. */
void
h_account(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct session *sess = NULL;
	const char *notice;
	char url[64];
	enum store_rc rc;
	bool self;

	if (strcmp(req->method, "POST") == 0 && !csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return;
	}
	if ((rc = session_current(app, req, &sess)) == STORE_ERROR) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		return;
	}
	if (rc != STORE_OK) {
		/* A button pressed after the session ended: nothing to act on; log in first. */
		if (strcmp(req->method, "POST") == 0)
			resp_redirect(resp, OIDC_PATH_ACCOUNT);
		else
			login_page_account(app, req, resp, account_notice(form_get(&req->query, "notice")));
		goto out;
	}
	if (strcmp(req->method, "GET") == 0) {
		account_page(app, req, resp, sess);
		goto out;
	}
	if ((notice = account_change(app, req, resp, sess, &self)) == NULL)
		goto out;
	if (self)
		resp_set_cookie(
		    resp, page_cookie_name(req, OIDC_SESSION_COOKIE, OIDC_SESSION_COOKIE_TLS), "", 0, req->secure);
	snprintf(url, sizeof(url), "%s?notice=%s", OIDC_PATH_ACCOUNT, notice);
	resp_redirect(resp, url);
	snprintf(resp->note, sizeof(resp->note), "%s", notice);
out:
	session_free(sess);
}
