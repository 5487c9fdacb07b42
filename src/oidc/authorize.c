/*
 * authorize.c: the authorization endpoint, the login form and the consent form.
 *
 * OIDC Core 1.0 §3.1.2 (authorization code flow), §5.5 (claims parameter), RFC 6749 §4.1, RFC 7636 (PKCE),
 * RFC 9207 (iss in the response), OAuth 2.0 Form Post Response Mode, RFC 9700 §2.1 and §4.1 (redirect URIs),
 * drafts/claims.md §1 and §3 (per-claim consent), SECURITY.md 1-3, 6, 9, 10, 17.
 *
 * Order of checks (SECURITY.md 2): client_id, then redirect_uri, each failing to an error page that never
 * redirects; only then may errors go back to the relying party as error=... with state and iss.
 *
 * The validated request travels through the login and consent forms as a signed blob (signed.c), so nothing is
 * stored before the user has authenticated.  The account page's login (account.c) uses the same login form with
 * a blob of another purpose (ACCOUNT_PURPOSE): it names no client, can only lead back to the account page, and is
 * never accepted where an authorization request is expected.
 */
#include <string.h>

#include "internal.h"

#define AUTHZ_PURPOSE "authz"
#define ACCOUNT_PURPOSE "account" /* the account page's login: no client, ends at OIDC_PATH_ACCOUNT */
#define AUTHZ_AMR_PWD "[\"pwd\"]"
#define AUTHZ_MAX_PASSWORD 1024 /* argon2 hashes any length; refuse absurd bodies early */
#define AUTHZ_MAX_CHALLENGE 128
#define AUTHZ_MAX_GET 8192    /* a POSTed request turned into a GET must fit a request line */
#define AUTHZ_MAX_MESSAGE 768 /* a sentence for the login page (the login re-check names the identifier twice) */
/* JSON bytes of a validated request: with what the consent form adds (identity, "offered" marks, exp) its base64url
 * and MAC stay under signed.c's SIGNED_MAX_BLOB (16384); real requests are a fraction of this. */
#define AUTHZ_MAX_PENDING 10240

/* Parameters that must not appear twice (RFC 6749 §3.1). */
static const char *const authz_params[] = { "client_id", "redirect_uri", "response_type", "response_mode", "scope",
	"state", "nonce", "prompt", "max_age", "login_hint", "code_challenge", "code_challenge_method", "claims",
	"request", "request_uri", NULL };

/* ------------------------------------------------------------------------------------------ session */

/** session_current(app, req, out): the live session named by the request's cookie. */
enum store_rc
session_current(struct app *app, const struct request *req, struct session **out)
{
	const char *sid = form_get(&req->cookies, page_cookie_name(req, OIDC_SESSION_COOKIE, OIDC_SESSION_COOKIE_TLS));
	char *hash;
	enum store_rc rc;

	*out = NULL;
	if (sid == NULL || strlen(sid) > 128)
		return (STORE_NOTFOUND);
	if ((hash = token_hash(sid)) == NULL)
		return (STORE_ERROR);
	rc = store_session_get(app->st, hash, time_now(), out);
	free(hash);
	return (rc);
}

/* A new session after a password check: always a new id (no fixation); the old one is deleted. */
static int
session_start(
    struct app *app, const struct request *req, struct response *resp, int64_t identity_id, struct session **out)
{
	struct session s = { 0 };
	const char *name = page_cookie_name(req, OIDC_SESSION_COOKIE, OIDC_SESSION_COOKIE_TLS);
	const char *old = form_get(&req->cookies, name);
	char *sid = NULL, *hash = NULL;
	int ret = -1;

	if (old != NULL && strlen(old) <= 128 && (hash = token_hash(old)) != NULL) {
		store_session_delete(app->st, hash);
		free(hash);
	}
	if ((sid = rand_token(OIDC_TOKEN_BYTES)) == NULL || (s.id_hash = token_hash(sid)) == NULL)
		goto out;
	s.identity_id = identity_id;
	s.auth_time = s.created_at = time_now();
	s.expires_at = s.created_at + app->conf->session_ttl;
	s.amr = AUTHZ_AMR_PWD;
	if (store_session_create(app->st, &s) != STORE_OK)
		goto out;
	resp_set_cookie(resp, name, sid, app->conf->session_ttl, req->secure);
	if (store_session_get(app->st, s.id_hash, s.created_at, out) != STORE_OK)
		goto out;
	ret = 0;
out:
	str_secure_free(sid);
	free(s.id_hash);
	return (ret);
}

/* --------------------------------------------------------------------------------- responses to the RP */

static const char *
areq_str(json_t *areq, const char *key)
{
	return (json_string_value(json_object_get(areq, key)));
}

/* Append "&name=value" (the first separator is '?' or '&', then '&'); NULL values are skipped. */
static void
url_param(struct buf *b, const char *name, const char *value, char *sep)
{
	char *enc;

	if (value == NULL)
		return;
	if ((enc = url_encode(value)) == NULL) {
		b->err = true;
		return;
	}
	buf_printf(b, "%c%s=%s", *sep, name, enc);
	*sep = '&';
	free(enc);
}

/*
 * Send the response parameters to the RP: a 303 to redirect_uri with a query (response_mode=query) or the
 * form_post page.  RFC 9207: iss always; state when the RP sent one.
 */
static void
authz_send(struct app *app, struct response *resp, json_t *areq, const char *code, const char *error, const char *desc)
{
	const char *ru = areq_str(areq, "redirect_uri"), *state = areq_str(areq, "state");
	const char *mode = areq_str(areq, "response_mode");
	struct buf b;
	char sep;

	if (mode != NULL && strcmp(mode, "form_post") == 0) {
		const struct tmpl_var v[] = { { "title", "Continue" }, { "action", ru }, { "code", code },
			{ "state", state }, { "iss", app->conf->issuer }, { "error", error },
			{ "error_description", desc } };

		page_render(app, resp, 200, "form_post", v, sizeof(v) / sizeof(v[0]));
		/* The page submits itself with one static script (no inline script: SECURITY.md 7). */
		resp_header(resp, "Content-Security-Policy",
		    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
		    "base-uri 'none'");
	} else {
		buf_init(&b);
		buf_puts(&b, ru);
		sep = strchr(ru, '?') == NULL ? '?' : '&';
		url_param(&b, "code", code, &sep);
		url_param(&b, "error", error, &sep);
		url_param(&b, "error_description", desc, &sep);
		url_param(&b, "state", state, &sep);
		url_param(&b, "iss", app->conf->issuer, &sep);
		if (b.err)
			page_error(app, resp, 500, "Internal error", "The response could not be built.");
		else
			resp_redirect(resp, b.data);
		buf_release(&b);
	}
	if (error != NULL)
		snprintf(resp->note, sizeof(resp->note), "%s", error);
}

static void
authz_error(struct app *app, struct response *resp, json_t *areq, const char *error, const char *desc)
{
	authz_send(app, resp, areq, NULL, error, desc);
}

/* Issue the code (RFC 6749 §4.1.2: bound to client, redirect_uri, PKCE challenge and nonce) and send it.
 * ${claims}: the JSON array text of the claims granted (drafts/claims.md §3), NULL when none were requested. */
static void
authz_issue(struct app *app, struct response *resp, json_t *areq, const struct session *sess, const char *claims)
{
	struct authz_code c = { 0 };
	char *code = NULL;

	if ((code = rand_token(OIDC_TOKEN_BYTES)) == NULL || (c.code_hash = token_hash(code)) == NULL)
		goto fail;
	c.client_id = (char *)areq_str(areq, "client_id");
	c.identity_id = sess->identity_id;
	c.redirect_uri = (char *)areq_str(areq, "redirect_uri");
	c.scope = (char *)areq_str(areq, "scope");
	c.nonce = (char *)areq_str(areq, "nonce");
	c.code_challenge = (char *)areq_str(areq, "code_challenge");
	c.claims = (char *)claims;
	c.amr = sess->amr;
	c.auth_time = sess->auth_time;
	c.expires_at = time_now() + app->conf->code_ttl;
	if (store_code_create(app->st, &c) != STORE_OK)
		goto fail;
	authz_send(app, resp, areq, code, NULL, NULL);
	goto out;
fail:
	authz_error(app, resp, areq, "server_error", NULL);
out:
	str_secure_free(code);
	free(c.code_hash);
}

/* ---------------------------------------------------------------------------------------------- pages */

static const char *
redirect_host(const char *uri, char *out, size_t outlen)
{
	const char *h = strstr(uri, "://");
	size_t n;

	h = h ? h + 3 : uri;
	n = strcspn(h, "/?#");
	snprintf(out, outlen, "%.*s", (int)n, h);
	return (out);
}

/*
 * The login form.  With a ${client}, for the authorization request ${areq}; without one (NULL), the account page's
 * login, whose blob is signed for ACCOUNT_PURPOSE and so can never pass for an authorization request.
 */
static void
login_page(struct app *app, const struct request *req, struct response *resp, json_t *areq, const struct client *client,
    int status, const char *identifier, const char *error)
{
	char *csrf = NULL, *blob = NULL, host[256] = "";
	json_t *copy = json_deep_copy(areq);

	if (copy == NULL || (csrf = csrf_token(app, req, resp)) == NULL ||
	    (blob = signed_pack(
	         app, client != NULL ? AUTHZ_PURPOSE : ACCOUNT_PURPOSE, copy, app->conf->auth_request_ttl)) == NULL) {
		page_error(app, resp, 500, "Internal error", "The login page could not be prepared.");
		goto out;
	}
	if (client != NULL)
		redirect_host(areq_str(areq, "redirect_uri"), host, sizeof(host));
	{
		const struct tmpl_var v[] = { { "title", "Log in" }, { "identifier", identifier }, { "csrf", csrf },
			{ "req", blob }, { "error", error }, { "client_name", client_meta_str(client, "client_name") },
			{ "client_host", host }, { "account", client == NULL ? "1" : NULL },
			{ "notice", areq_str(areq, "notice") } };

		page_render(app, resp, status, "login", v, sizeof(v) / sizeof(v[0]));
	}
	if (error != NULL)
		snprintf(resp->note, sizeof(resp->note), "login_failed");
out:
	json_decref(copy);
	free(csrf);
	free(blob);
}

/** login_page_account(app, req, resp, notice): the login form of the account page (no session yet), with an
 * optional one-line ${notice} above it.  Used by account.c. */
void
login_page_account(struct app *app, const struct request *req, struct response *resp, const char *notice)
{
	json_t *areq = json_pack("{s:b}", "account", 1);

	if (areq == NULL || (notice != NULL && json_object_set_new(areq, "notice", json_string(notice)) == -1)) {
		page_error(app, resp, 500, "Internal error", "The login page could not be prepared.");
		json_decref(areq);
		return;
	}
	login_page(app, req, resp, areq, NULL, 200, NULL, NULL);
	json_decref(areq);
}

/* -------------------------------------------------------------------------------------------- consent */

/* What a consent decision is about (drafts/claims.md §3): the requested claims, what the identity's agent can
 * deliver of them, and the decisions already stored for this client. */
struct consent_view {
	struct identity *id;
	json_t *req;             /* areq's claims_req (borrowed): [{name, essential, reason}], NULL when none */
	json_t *decisions;       /* store_consent_get: {claim: true | false}; NULL when no claims were requested */
	struct agent *agent;     /* the identity's agent, NULL for an identity created by the operator */
	struct agent_meta *meta; /* its configuration; NULL when there is no usable agent: nothing is deliverable */
	char why[256];           /* why the undeliverable claims are, for the page */
};

static void
consent_release(struct consent_view *cv)
{
	identity_free(cv->id);
	json_decref(cv->decisions);
	agent_free(cv->agent);
	agent_meta_free(cv->meta);
	memset(cv, 0, sizeof(*cv));
}

static const char *
agent_host(const struct agent *a)
{
	return (str_has_prefix(a->issuer, "https://") ? a->issuer + strlen("https://") : a->issuer);
}

/* Load what the decision of ${sess}'s identity about ${areq} needs.  -1 on an internal error (logged). */
static int
consent_load(struct app *app, json_t *areq, const struct session *sess, struct consent_view *cv)
{
	const char *client_id = areq_str(areq, "client_id");

	memset(cv, 0, sizeof(*cv));
	if (store_identity_by_id(app->st, sess->identity_id, &cv->id) != STORE_OK)
		return (-1);
	if (json_array_size(cv->req = json_object_get(areq, "claims_req")) == 0) {
		cv->req = NULL;
		return (0);
	}
	if (store_consent_get(app->st, cv->id->id, client_id, &cv->decisions) != STORE_OK)
		return (-1);
	/* drafts/claims.md §2: only what the identity's agent lists in claims_supported can be delegated. */
	if (cv->id->agent_id == 0) {
		snprintf(cv->why, sizeof(cv->why),
		    "Your identifier has no identity provider that holds such information, so none can be shared.");
		return (0);
	}
	if (store_agent_by_id(app->st, cv->id->agent_id, &cv->agent) == STORE_ERROR)
		return (-1);
	if (cv->agent == NULL || cv->agent->state != AGENT_ACTIVE) {
		snprintf(cv->why, sizeof(cv->why),
		    "Your identity provider is not active at this authority, so nothing can be shared.");
		return (0);
	}
	if (agent_meta_get(app, cv->agent->issuer, &cv->meta) == -1) {
		cv->meta = NULL;
		snprintf(cv->why, sizeof(cv->why),
		    "Your identity provider %s cannot be reached right now, so nothing can be shared.",
		    agent_host(cv->agent));
		return (0);
	}
	snprintf(cv->why, sizeof(cv->why), "Your identity provider %s does not offer these.", agent_host(cv->agent));
	return (0);
}

static const char *
claim_name(json_t *c)
{
	return (json_string_value(json_object_get(c, "name")));
}

/* Is some deliverable requested claim still undecided? */
static bool
consent_missing(const struct consent_view *cv)
{
	size_t i;
	json_t *c;

	json_array_foreach(cv->req, i, c)
	{
		if (agent_meta_supports(cv->meta, claim_name(c)) &&
		    !json_is_boolean(json_object_get(cv->decisions, claim_name(c))))
			return (true);
	}
	return (false);
}

/* The claims a code carries (clm): the requested ones that ${decisions} grants, as JSON array text in the order of
 * the request; caller frees; NULL on memory failure.  Whether the agent delivers them is checked again at UserInfo
 * (drafts/claims.md §4), so an agent unreachable at login does not strip them from a grant that lives for weeks. */
static char *
consent_granted(const struct consent_view *cv, json_t *decisions)
{
	json_t *names = json_array(), *c;
	char *text = NULL;
	size_t i;

	if (names == NULL)
		return (NULL);
	json_array_foreach(cv->req, i, c)
	{
		if (json_is_true(json_object_get(decisions, claim_name(c))) &&
		    json_array_append_new(names, json_string(claim_name(c))) == -1)
			goto out;
	}
	text = json_dumps(names, JSON_COMPACT);
out:
	json_decref(names);
	return (text);
}

/* The page's lists: one row per deliverable claim ({name, label, essential, reason, checked}), essential ones first,
 * and one per other claim ({label}); and in ${offer} (the pending request's claims_req) the deliverable ones marked
 * "offered": only those count when the form comes back. */
static int
consent_rows(const struct consent_view *cv, json_t *offer, json_t **rows, json_t **unavailable)
{
	const char *name, *label;
	json_t *c, *d, *row;
	bool essential;
	size_t i;
	int pass;

	*rows = json_array();
	*unavailable = json_array();
	if (*rows == NULL || *unavailable == NULL)
		return (-1);
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(cv->req, i, c)
		{
			name = claim_name(c);
			label = claim_label(name) != NULL ? claim_label(name) : name;
			if ((essential = json_is_true(json_object_get(c, "essential"))) != (pass == 0))
				continue;
			if (!agent_meta_supports(cv->meta, name)) {
				json_object_del(json_array_get(offer, i), "offered");
				if (json_array_append_new(*unavailable, json_pack("{s:s}", "label", label)) == -1)
					return (-1);
				continue;
			}
			/* Essential claims start checked; a decision the user already made shows as made. */
			d = json_object_get(cv->decisions, name);
			row = json_pack("{s:s,s:s,s:b,s:b}", "name", name, "label", label, "essential", essential,
			    "checked", json_is_boolean(d) ? json_is_true(d) : essential);
			if (row == NULL ||
			    (json_is_string(json_object_get(c, "reason")) &&
			        json_object_set(row, "reason", json_object_get(c, "reason")) == -1)) {
				json_decref(row);
				return (-1);
			}
			if (json_array_append_new(*rows, row) == -1 ||
			    json_object_set_new(json_array_get(offer, i), "offered", json_true()) == -1)
				return (-1);
		}
	}
	return (0);
}

/* The consent page (drafts/claims.md §3).  With no claims requested (prompt=consent alone), Allow and Deny. */
static void
consent_page(struct app *app, const struct request *req, struct response *resp, json_t *areq,
    const struct client *client, const struct session *sess, const struct consent_view *cv)
{
	char *csrf = NULL, *blob = NULL, *rows_text = NULL, *unav_text = NULL, host[256];
	json_t *copy = json_deep_copy(areq), *rows = NULL, *unav = NULL;

	/* The consent decision is bound to the session's identity. */
	if (copy == NULL || json_object_set_new(copy, "identity", json_integer(sess->identity_id)) == -1)
		goto fail;
	if (cv->req != NULL) {
		if (consent_rows(cv, json_object_get(copy, "claims_req"), &rows, &unav) == -1 ||
		    (json_array_size(rows) > 0 && (rows_text = json_dumps(rows, JSON_COMPACT)) == NULL) ||
		    (json_array_size(unav) > 0 && (unav_text = json_dumps(unav, JSON_COMPACT)) == NULL))
			goto fail;
	}
	if ((csrf = csrf_token(app, req, resp)) == NULL ||
	    (blob = signed_pack(app, AUTHZ_PURPOSE, copy, app->conf->auth_request_ttl)) == NULL)
		goto fail;
	{
		const struct tmpl_var v[] = { { "title", "Allow access?" }, { "csrf", csrf }, { "req", blob },
			{ "identifier", cv->id->identifier },
			{ "client_host", redirect_host(areq_str(areq, "redirect_uri"), host, sizeof(host)) },
			{ "client_name", client_meta_str(client, "client_name") }, { "unnamed", OIDC_UNNAMED_CLIENT },
			{ "claims", rows_text }, { "unavailable", unav_text }, { "unavailable_why", cv->why } };

		page_render(app, resp, 200, "consent", v, sizeof(v) / sizeof(v[0]));
	}
	goto out;
fail:
	page_error(app, resp, 500, "Internal error", "The consent page could not be prepared.");
out:
	json_decref(copy);
	json_decref(rows);
	json_decref(unav);
	free(rows_text);
	free(unav_text);
	free(csrf);
	free(blob);
}

/* ------------------------------------------------------------------------------------------- requests */

static bool
prompt_has(json_t *areq, const char *value)
{
	const char *p = areq_str(areq, "prompt");

	return (p != NULL && str_list_contains(p, value));
}

static bool
is_b64url(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		        *s == '_'))
			return (false);
	return (true);
}

/*
 * Validate an authorization request.  Returns the normalised request (caller decrefs) and the client, or NULL
 * with the response written: an error page for a bad client or redirect_uri, an error redirect otherwise.
 */
static json_t *
authz_parse(struct app *app, const struct request *req, struct response *resp, struct client **clientp)
{
	const struct form *f = strcmp(req->method, "POST") == 0 ? &req->form : &req->query;
	const char *client_id = form_get(f, "client_id"), *ru = form_get(f, "redirect_uri");
	const char *rt, *mode, *scope, *state, *nonce, *prompt, *max_age, *hint, *cc, *ccm;
	struct client *client = NULL;
	json_t *areq = NULL, *creq = NULL;
	char *canon = NULL, *text = NULL, why[256];
	int64_t age;
	bool big;

	*clientp = NULL;
	/* SECURITY.md 2: client_id, then redirect_uri, before anything else; failures never redirect. */
	if (client_id == NULL || form_count(f, "client_id") != 1 || strlen(client_id) > 256 ||
	    store_client_get(app->st, client_id, &client) != STORE_OK) {
		page_error(app, resp, 400, "Unknown website",
		    "The website that sent you here is not registered with this identity authority. "
		    "Nothing was sent back to it.");
		return (NULL);
	}
	if (ru == NULL || form_count(f, "redirect_uri") != 1 || !client_redirect_ok(client, ru)) {
		page_error(app, resp, 400, "Invalid return address",
		    "The website asked to send you back to an address it has not registered. "
		    "For your safety you were not redirected.");
		client_free(client);
		return (NULL);
	}
	state = form_get(f, "state");
	mode = form_get(f, "response_mode");
	/* From here on errors go back to the client; build the minimum needed for that first. */
	areq = json_pack("{s:s,s:s}", "client_id", client_id, "redirect_uri", ru);
	if (areq == NULL)
		goto fail500;
	if (state != NULL && strlen(state) <= OIDC_MAX_STATE)
		json_object_set_new(areq, "state", json_string(state));
	if (mode != NULL && strcmp(mode, "form_post") == 0)
		json_object_set_new(areq, "response_mode", json_string("form_post"));

	for (size_t i = 0; authz_params[i] != NULL; i++)
		if (form_count(f, authz_params[i]) > 1) {
			authz_error(app, resp, areq, "invalid_request", "a parameter is repeated");
			goto fail;
		}
	if (state != NULL && strlen(state) > OIDC_MAX_STATE) {
		authz_error(app, resp, areq, "invalid_request", "state is too long");
		goto fail;
	}
	if (mode != NULL && strcmp(mode, "query") != 0 && strcmp(mode, "form_post") != 0) {
		authz_error(app, resp, areq, "invalid_request", "unsupported response_mode");
		goto fail;
	}
	if (form_get(f, "request") != NULL) {
		authz_error(app, resp, areq, "request_not_supported", NULL);
		goto fail;
	}
	if (form_get(f, "request_uri") != NULL) {
		authz_error(app, resp, areq, "request_uri_not_supported", NULL);
		goto fail;
	}
	if ((rt = form_get(f, "response_type")) == NULL) {
		authz_error(app, resp, areq, "invalid_request", "response_type is required");
		goto fail;
	}
	if (strcmp(rt, "code") != 0) {
		authz_error(app, resp, areq, "unsupported_response_type", "only response_type=code is supported");
		goto fail;
	}
	scope = form_get(f, "scope");
	if (scope == NULL || !str_list_contains(scope, "openid") || strlen(scope) > 1024) {
		authz_error(app, resp, areq, "invalid_scope", "scope must include openid");
		goto fail;
	}
	json_object_set_new(areq, "scope", json_string(scope));
	/* drafts/claims.md §1: the claims the scope and the claims parameter ask for. */
	if (claims_request(scope, form_get(f, "claims"), &creq, why, sizeof(why)) == -1) {
		authz_error(app, resp, areq, "invalid_request", why);
		goto fail;
	}
	if (json_array_size(creq) > 0)
		json_object_set_new(areq, "claims_req", creq);
	else
		json_decref(creq);
	if ((nonce = form_get(f, "nonce")) != NULL) {
		if (strlen(nonce) > OIDC_MAX_STATE) {
			authz_error(app, resp, areq, "invalid_request", "nonce is too long");
			goto fail;
		}
		json_object_set_new(areq, "nonce", json_string(nonce));
	}
	if ((prompt = form_get(f, "prompt")) != NULL) {
		if (str_list_contains(prompt, "none") && strcmp(prompt, "none") != 0) {
			authz_error(app, resp, areq, "invalid_request", "prompt=none cannot be combined");
			goto fail;
		}
		json_object_set_new(areq, "prompt", json_string(prompt));
	}
	if ((max_age = form_get(f, "max_age")) != NULL) {
		if (str_parse_i64(max_age, 0, INT32_MAX, &age) == -1) {
			authz_error(app, resp, areq, "invalid_request", "max_age must be a non-negative integer");
			goto fail;
		}
		json_object_set_new(areq, "max_age", json_integer(age));
	}
	/* login_hint: the identifier; a hint that is not a valid identifier is ignored. */
	if ((hint = form_get(f, "login_hint")) != NULL && identifier_canonical(hint, &canon) == 0)
		json_object_set_new(areq, "login_hint", json_string(canon));
	/* RFC 7636 and SECURITY.md 3: S256 only; required for public clients. */
	cc = form_get(f, "code_challenge");
	ccm = form_get(f, "code_challenge_method");
	if (cc != NULL) {
		if (ccm == NULL || strcmp(ccm, "S256") != 0) {
			authz_error(app, resp, areq, "invalid_request", "code_challenge_method must be S256");
			goto fail;
		}
		if (strlen(cc) != 43 || !is_b64url(cc)) {
			authz_error(app, resp, areq, "invalid_request", "code_challenge is not a S256 challenge");
			goto fail;
		}
		json_object_set_new(areq, "code_challenge", json_string(cc));
	} else if (ccm != NULL) {
		authz_error(app, resp, areq, "invalid_request", "code_challenge_method without code_challenge");
		goto fail;
	} else if (client_is_public(client)) {
		authz_error(app, resp, areq, "invalid_request", "PKCE (S256) is required for public clients");
		goto fail;
	}
	/* The request travels signed through the login and consent forms: it must fit them. */
	if ((text = json_dumps(areq, JSON_COMPACT)) == NULL)
		goto fail500;
	big = strlen(text) > AUTHZ_MAX_PENDING;
	free(text);
	if (big) {
		authz_error(app, resp, areq, "invalid_request", "the request is too large");
		goto fail;
	}
	free(canon);
	*clientp = client;
	return (areq);
fail500:
	page_error(app, resp, 500, "Internal error", "The request could not be processed.");
fail:
	free(canon);
	json_decref(areq);
	client_free(client);
	return (NULL);
}

/*
 * With an authenticated session: consent (drafts/claims.md §3), then the code.  No page when no claims are asked
 * for, or when every deliverable one is decided, unless prompt=consent; prompt=none with a decision missing is
 * consent_required.
 */
static void
authz_continue(struct app *app, const struct request *req, struct response *resp, json_t *areq,
    const struct client *client, const struct session *sess)
{
	bool claims = json_array_size(json_object_get(areq, "claims_req")) > 0;
	struct consent_view cv;
	char *clm = NULL;

	if (!claims && !prompt_has(areq, "consent")) {
		authz_issue(app, resp, areq, sess, NULL);
		return;
	}
	if (consent_load(app, areq, sess, &cv) == -1)
		authz_error(app, resp, areq, "server_error", NULL);
	else if (claims && !prompt_has(areq, "consent") && !consent_missing(&cv)) {
		if ((clm = consent_granted(&cv, cv.decisions)) == NULL)
			authz_error(app, resp, areq, "server_error", NULL);
		else
			authz_issue(app, resp, areq, sess, clm);
	} else if (prompt_has(areq, "none"))
		authz_error(app, resp, areq, "consent_required", NULL);
	else
		consent_page(app, req, resp, areq, client, sess, &cv);
	free(clm);
	consent_release(&cv);
}

/* Does the session satisfy the request?  prompt=login, max_age and a login_hint naming someone else say no. */
static bool
session_fits(struct app *app, json_t *areq, const struct session *sess)
{
	struct identity *id = NULL;
	json_t *ma = json_object_get(areq, "max_age");
	const char *hint = areq_str(areq, "login_hint");
	bool fits;

	if (sess == NULL || prompt_has(areq, "login"))
		return (false);
	/* OIDC Core §3.1.2.1: re-authenticate when more than max_age has passed; max_age=0 always does. */
	if (ma != NULL && (json_integer_value(ma) == 0 || time_now() - sess->auth_time > json_integer_value(ma)))
		return (false);
	if (hint == NULL)
		return (true);
	fits = store_identity_by_id(app->st, sess->identity_id, &id) == STORE_OK && strcmp(id->identifier, hint) == 0;
	identity_free(id);
	return (fits);
}

/* A live session yields a code only while the identifier's _openid record still lets it log in here. */
static bool
session_dns_ok(struct app *app, const struct request *req, struct response *resp, json_t *areq,
    const struct client *client, const struct session *sess)
{
	struct identity *id = NULL;
	char msg[AUTHZ_MAX_MESSAGE];
	int status;

	if (!app->login_dns_check)
		return (true);
	if (store_identity_by_id(app->st, sess->identity_id, &id) != STORE_OK) {
		authz_error(app, resp, areq, "server_error", NULL);
		return (false);
	}
	if ((status = login_dns_check(app, id, msg, sizeof(msg))) != 0) {
		if (prompt_has(areq, "none"))
			authz_error(app, resp, areq, status == 503 ? "temporarily_unavailable" : "access_denied",
			    "the identifier's DNS record does not let it log in at this authority");
		else
			login_page(app, req, resp, areq, client, status, id->identifier, msg);
		snprintf(resp->note, sizeof(resp->note), "dns_refused");
	}
	identity_free(id);
	return (status == 0);
}

/* The authorization request of a POST, sent back as a 303 to GET /authorize with the same parameters. */
static void
authz_post_to_get(struct app *app, const struct request *req, struct response *resp)
{
	struct buf b;
	char *name, *value;

	buf_init(&b);
	b.max = AUTHZ_MAX_GET;
	buf_puts(&b, OIDC_PATH_AUTHORIZE);
	for (size_t i = 0; i < req->form.n; i++) {
		name = url_encode(req->form.pairs[i].name);
		value = url_encode(req->form.pairs[i].value);
		if (name == NULL || value == NULL)
			b.err = true;
		else
			buf_printf(&b, "%c%s=%s", i == 0 ? '?' : '&', name, value);
		free(name);
		free(value);
	}
	if (b.err)
		page_error(app, resp, 400, "Request too large",
		    "The website sent an authorization request that is too "
		    "large. Nothing was sent back to it.");
	else
		resp_redirect(resp, b.data);
	buf_release(&b);
}

/** h_authorize: GET/POST /authorize. */
void
h_authorize(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client = NULL;
	struct session *sess = NULL;
	struct identity *id = NULL;
	const char *hint;
	json_t *areq;

	if ((areq = authz_parse(app, req, resp, &client)) == NULL)
		return;
	/* A cross-site POST carries no SameSite=Lax cookie: once it is known valid (SECURITY.md 2), answer it with
	 * the same request as a GET, which does. */
	if (strcmp(req->method, "POST") == 0) {
		authz_post_to_get(app, req, resp);
		goto out;
	}
	if (session_current(app, req, &sess) == STORE_ERROR) {
		authz_error(app, resp, areq, "server_error", NULL);
		goto out;
	}
	if (session_fits(app, areq, sess)) {
		if (session_dns_ok(app, req, resp, areq, client, sess))
			authz_continue(app, req, resp, areq, client, sess);
		goto out;
	}
	if (prompt_has(areq, "none")) {
		authz_error(app, resp, areq, "login_required", NULL);
		goto out;
	}
	/* Re-authentication of a live session (prompt=login, max_age) offers the session's identifier. */
	if (areq_str(areq, "login_hint") == NULL && sess != NULL &&
	    store_identity_by_id(app->st, sess->identity_id, &id) == STORE_OK)
		hint = id->identifier;
	else
		hint = areq_str(areq, "login_hint");
	login_page(app, req, resp, areq, client, 200, hint, NULL);
out:
	identity_free(id);
	session_free(sess);
	client_free(client);
	json_decref(areq);
}

/*
 * The pending request from a login or consent form: signed by us, not expired, and its client and
 * redirect_uri still valid (a client may have been deleted meanwhile).  With ${account} (the login form only),
 * the account page's login is accepted too: *account is then true, *clientp NULL, and the caller may do nothing
 * with it but start a session and go back to the account page.
 */
static json_t *
pending_request(
    struct app *app, const struct request *req, struct response *resp, struct client **clientp, bool *account)
{
	const char *blob = form_get(&req->form, "req");
	json_t *areq;

	*clientp = NULL;
	if (account != NULL)
		*account = false;
	if (!csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return (NULL);
	}
	/* The purposes differ in the MAC: an account blob never passes for an authorization request. */
	if (account != NULL && (areq = signed_unpack(app, ACCOUNT_PURPOSE, blob, time_now())) != NULL) {
		*account = true;
		return (areq);
	}
	if ((areq = signed_unpack(app, AUTHZ_PURPOSE, blob, time_now())) == NULL) {
		page_error(app, resp, 400, "This page has expired",
		    "The login took too long or the form was changed. Go back to the website and start again.");
		return (NULL);
	}
	if (store_client_get(app->st, areq_str(areq, "client_id"), clientp) != STORE_OK ||
	    !client_redirect_ok(*clientp, areq_str(areq, "redirect_uri"))) {
		page_error(app, resp, 400, "Unknown website", "The website is no longer registered.");
		client_free(*clientp);
		*clientp = NULL;
		json_decref(areq);
		return (NULL);
	}
	return (areq);
}

/** h_login: POST /login: check the identifier and password (SECURITY.md 9, 10). */
void
h_login(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client = NULL;
	struct identity *id = NULL;
	struct session *sess = NULL;
	const char *typed = form_get(&req->form, "identifier"), *pw = form_get(&req->form, "password");
	struct pw_guard guard;
	char *canon = NULL, *rehash = NULL, msg[160];
	char dmsg[AUTHZ_MAX_MESSAGE];
	int64_t wait, now = time_now();
	int status;
	enum pw_rc pr;
	bool account;
	json_t *areq;

	if ((areq = pending_request(app, req, resp, &client, &account)) == NULL)
		return;
	json_object_del(areq, "notice"); /* the account page's notice was for the first showing only */
	if (typed == NULL || identifier_canonical(typed, &canon) == -1) {
		login_page(app, req, resp, areq, client, 400, typed,
		    "Enter your identifier, a domain name such as alice.example.com.");
		goto out;
	}
	if (pw == NULL || *pw == '\0' || strlen(pw) > AUTHZ_MAX_PASSWORD) {
		login_page(app, req, resp, areq, client, 400, canon, "Enter your password.");
		goto out;
	}
	/* Delays per identifier and source, and per source alone; keyed by the typed identifier so unknown
	 * identifiers are delayed exactly like known ones.  The real user from another address is not affected. */
	pw_guard_init(&guard, req, canon);
	if ((wait = pw_guard_wait(app, &guard, now, resp)) > 0) {
		snprintf(msg, sizeof(msg), "Too many failed attempts. Try again in %lld seconds.", (long long)wait);
		login_page(app, req, resp, areq, client, 429, canon, msg);
		snprintf(resp->note, sizeof(resp->note), "throttled");
		goto out;
	}
	if (store_identity_by_identifier(app->st, canon, &id) == STORE_ERROR) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		goto out;
	}
	/* SECURITY.md 10: under a flood the slow lane queues; a request that waited too long is told so at once
	 * instead of hashing for a user who may have given up. */
	if (req->queued_ms > OIDC_MAX_QUEUE_MS) {
		login_page(
		    app, req, resp, areq, client, 503, canon, "The service is busy. Please try again in a moment.");
		goto out;
	}
	/* SECURITY.md 9: unknown, inactive and disabled identities cost one hash too and get the same page. */
	pr = pw_verify(id != NULL && id->state == IDENTITY_ACTIVE ? id->password_hash : NULL, pw);
	if (pr == PW_BUSY || pr == PW_ERROR) {
		login_page(
		    app, req, resp, areq, client, 503, canon, "The service is busy. Please try again in a moment.");
		goto out;
	}
	if (pr != PW_OK) {
		pw_guard_fail(app, &guard, now);
		login_page(app, req, resp, areq, client, 401, canon, "The identifier or the password is wrong.");
		goto out;
	}
	pw_guard_ok(app, &guard);
	/* Hashes follow the configured argon2 cost: otherwise raising it would make known identifiers answer faster
	 * than unknown ones (SECURITY.md 9), and old hashes would stay weak. */
	if (pw_needs_rehash(id->password_hash) && pw_hash(pw, &rehash) == PW_OK)
		store_identity_rehash(app->st, id->id, id->password_hash, rehash, now);
	/* The DNS has the last word: the record must still name this authority (drafts/dns-discovery.md §12). */
	if ((status = login_dns_check(app, id, dmsg, sizeof(dmsg))) != 0) {
		login_page(app, req, resp, areq, client, status, canon, dmsg);
		snprintf(resp->note, sizeof(resp->note), "dns_refused");
		goto out;
	}
	if (session_start(app, req, resp, id->id, &sess) == -1) {
		page_error(app, resp, 500, "Internal error", "Please try again.");
		goto out;
	}
	if (account) {
		resp_redirect(resp, OIDC_PATH_ACCOUNT);
		goto out;
	}
	/* The user may have typed another identifier than the hint: the session's identity is what counts. */
	json_object_del(areq, "login_hint");
	authz_continue(app, req, resp, areq, client, sess);
out:
	session_free(sess);
	identity_free(id);
	client_free(client);
	json_decref(areq);
	free(canon);
	str_secure_free(rehash);
}

/* Was the box of claim ${name} checked?  (Each checked box sends claim=<name>.) */
static bool
form_checked(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, "claim") == 0 && strcmp(f->pairs[i].value, name) == 0)
			return (true);
	return (false);
}

/*
 * "Allow selected" (drafts/claims.md §3): a decision for every claim the page offered (checked: granted,
 * unchecked: refused), stored in one transaction, then the code with the claims granted.  Only the claims the
 * signed request marks "offered" count: a box for anything else is ignored.
 */
static void
consent_allow(
    struct app *app, const struct request *req, struct response *resp, json_t *areq, const struct session *sess)
{
	json_t *creq = json_object_get(areq, "claims_req"), *decisions = NULL, *granted = NULL, *c;
	const char *name;
	char *clm = NULL;
	bool on;
	size_t i;

	if (json_array_size(creq) == 0) {
		authz_issue(app, resp, areq, sess, NULL);
		return;
	}
	if ((decisions = json_object()) == NULL || (granted = json_array()) == NULL)
		goto fail;
	json_array_foreach(creq, i, c)
	{
		if (!json_is_true(json_object_get(c, "offered")) || (name = claim_name(c)) == NULL)
			continue;
		on = form_checked(&req->form, name);
		if (json_object_set_new(decisions, name, json_boolean(on)) == -1 ||
		    (on && json_array_append_new(granted, json_string(name)) == -1))
			goto fail;
	}
	/* SECURITY.md 17: the decisions are committed before the code goes out. */
	if (json_object_size(decisions) > 0 &&
	    store_consent_set(app->st, sess->identity_id, areq_str(areq, "client_id"), decisions, time_now()) !=
	        STORE_OK)
		goto fail;
	if ((clm = json_dumps(granted, JSON_COMPACT)) == NULL)
		goto fail;
	authz_issue(app, resp, areq, sess, clm);
	goto out;
fail:
	authz_error(app, resp, areq, "server_error", NULL);
out:
	free(clm);
	json_decref(decisions);
	json_decref(granted);
}

/** h_consent: POST /consent: the user's decision. */
void
h_consent(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client = NULL;
	struct session *sess = NULL;
	const char *decision = form_get(&req->form, "decision");
	json_t *areq;

	if ((areq = pending_request(app, req, resp, &client, NULL)) == NULL)
		return;
	/* The decision counts only in the session that was asked. */
	if (session_current(app, req, &sess) != STORE_OK ||
	    json_integer_value(json_object_get(areq, "identity")) != sess->identity_id) {
		page_error(app, resp, 400, "Session ended",
		    "Your session has ended. Go back to the website and "
		    "start again.");
		goto out;
	}
	/* Deny stores nothing. */
	if (decision != NULL && strcmp(decision, "allow") == 0)
		consent_allow(app, req, resp, areq, sess);
	else
		authz_error(app, resp, areq, "access_denied", "the user denied the request");
out:
	session_free(sess);
	client_free(client);
	json_decref(areq);
}
