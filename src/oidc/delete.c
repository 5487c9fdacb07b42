/*
 * delete.c: the user's confirmation of a deletion an identity agent asked for (drafts/agent-provisioning.md §5
 * "delete"): the one-time URL the agent handed to the user shows the identifier and the agent, and asks for the
 * password.  The right password deletes the identity in one transaction (store_deletion_confirm: the password,
 * sessions, consents, codes and tokens wiped, the sub kept as a tombstone).  Wrong passwords are throttled like
 * logins (SECURITY.md 10); the form carries the CSRF token (SECURITY.md 6).
 */
#include <string.h>

#include "internal.h"

#define DELETE_MAX_PASSWORD 1024
#define DELETE_MAX_TOKEN 128

/* What the page shows. */
struct delete_view {
	const char *token;
	const char *identifier;
	const char *agent;      /* the agent that asked, NULL when unknown */
	const char *agent_host; /* its URL without the scheme: what the user may recognise */
};

static void
delete_page(struct app *app, const struct request *req, struct response *resp, int status, const struct delete_view *v,
    const char *error)
{
	char *csrf;

	if ((csrf = csrf_token(app, req, resp)) == NULL) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		return;
	}
	{
		const struct tmpl_var vars[] = { { "title", "Delete your identifier" }, { "token", v->token },
			{ "identifier", v->identifier }, { "agent", v->agent }, { "agent_host", v->agent_host },
			{ "csrf", csrf }, { "error", error } };

		page_render(app, resp, status, "delete", vars, sizeof(vars) / sizeof(vars[0]));
	}
	free(csrf);
}

static void
delete_gone(struct app *app, struct response *resp)
{
	page_error(app, resp, 410, "This link cannot be used",
	    "The deletion link has expired or was already used. If your identifier still exists and you want it "
	    "deleted, ask your identity provider for a new link.");
}

/** h_delete: GET OIDC_PATH_DELETE?t=TOKEN shows the confirmation form for a live deletion token; POST (t,
 * password, csrf) deletes the identity when the password is right. */
void
h_delete(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	bool post = strcmp(req->method, "POST") == 0;
	const char *token = post ? form_get(&req->form, "t") : form_get(&req->query, "t");
	const char *pw = form_get(&req->form, "password");
	struct identity *id = NULL;
	struct agent *agent = NULL;
	struct delete_view v;
	struct pw_guard guard;
	char *hash = NULL, msg[96];
	int64_t wait;
	int64_t identity_id = 0, now = time_now();
	enum store_rc rc;
	enum pw_rc pr;

	if (post && !csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return;
	}
	if (token == NULL || strlen(token) > DELETE_MAX_TOKEN || (hash = token_hash(token)) == NULL ||
	    store_deletion_peek(app->st, hash, now, &identity_id) != STORE_OK ||
	    store_identity_by_id(app->st, identity_id, &id) != STORE_OK || id->state == IDENTITY_DELETED) {
		delete_gone(app, resp);
		goto out;
	}
	if (id->agent_id != 0 && store_agent_by_id(app->st, id->agent_id, &agent) == STORE_ERROR) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		goto out;
	}
	v.token = token;
	v.identifier = id->identifier;
	v.agent = agent != NULL ? agent->name : NULL;
	v.agent_host = agent != NULL ? agent->issuer : NULL;
	if (v.agent_host != NULL && str_has_prefix(v.agent_host, "https://"))
		v.agent_host += strlen("https://");
	if (!post) {
		delete_page(app, req, resp, 200, &v, NULL);
		goto out;
	}
	if (pw == NULL || *pw == '\0' || strlen(pw) > DELETE_MAX_PASSWORD) {
		delete_page(app, req, resp, 400, &v, "Enter your password.");
		goto out;
	}
	/* The login's counters: one password, one count of wrong guesses at either page. */
	pw_guard_init(&guard, req, id->identifier);
	if ((wait = pw_guard_wait(app, &guard, now, resp)) > 0) {
		snprintf(msg, sizeof(msg), "Too many failed attempts. Try again in %lld seconds.", (long long)wait);
		delete_page(app, req, resp, 429, &v, msg);
		snprintf(resp->note, sizeof(resp->note), "throttled");
		goto out;
	}
	if (req->queued_ms > OIDC_MAX_QUEUE_MS) {
		delete_page(app, req, resp, 503, &v, "The service is busy. Please try again in a moment.");
		goto out;
	}
	if ((pr = pw_verify(id->password_hash, pw)) == PW_BUSY || pr == PW_ERROR) {
		delete_page(app, req, resp, 503, &v, "The service is busy. Please try again in a moment.");
		goto out;
	}
	if (pr != PW_OK) {
		pw_guard_fail(app, &guard, now);
		delete_page(app, req, resp, 401, &v, "The password is wrong.");
		snprintf(resp->note, sizeof(resp->note), "bad_password");
		goto out;
	}
	pw_guard_ok(app, &guard);
	/* One transaction: the token consumed, the identity deleted and wiped (SECURITY.md 17). */
	if ((rc = store_deletion_confirm(app->st, hash, now, &identity_id)) == STORE_OK) {
		const struct tmpl_var vars[] = { { "title", "Identifier deleted" }, { "identifier", id->identifier },
			{ "deleted", "1" } };

		log_info("delete: %s deleted by its user (asked by agent %s)", id->identifier, v.agent ? v.agent : "-");
		page_render(app, resp, 200, "delete", vars, sizeof(vars) / sizeof(vars[0]));
	} else if (rc == STORE_ERROR)
		page_error(app, resp, 500, "Internal error", "Please try again.");
	else
		delete_gone(app, resp);
out:
	free(hash);
	agent_free(agent);
	identity_free(id);
}
