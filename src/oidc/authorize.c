/*
 * authorize.c: the authorization endpoint, the login form and the consent form.
 *
 * OIDC Core 1.0 §3.1.2 (authorization code flow), RFC 6749 §4.1, RFC 7636 (PKCE), RFC 9207 (iss in the
 * response), OAuth 2.0 Form Post Response Mode, RFC 9700 §2.1 and §4.1 (redirect URIs), SECURITY.md 1-3, 6, 9, 10.
 *
 * Order of checks (SECURITY.md 2): client_id, then redirect_uri, each failing to an error page that never
 * redirects; only then may errors go back to the relying party as error=... with state and iss.
 *
 * The validated request travels through the login and consent forms as a signed blob (signed.c), so nothing is
 * stored before the user has authenticated.
 */
#include <string.h>

#include "internal.h"
#include "throttle.h"

#define AUTHZ_PURPOSE "authz"
#define AUTHZ_AMR_PWD "[\"pwd\"]"
#define AUTHZ_MAX_PASSWORD 1024 /* argon2 hashes any length; refuse absurd bodies early */
#define AUTHZ_MAX_CHALLENGE 128
#define AUTHZ_MAX_GET 8192    /* a POSTed request turned into a GET must fit a request line */
#define AUTHZ_MAX_MESSAGE 768 /* a sentence for the login page (the login re-check names the identifier twice) */

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
		    "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'");
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

/* Issue the code (RFC 6749 §4.1.2: bound to client, redirect_uri, PKCE challenge and nonce) and send it. */
static void
authz_issue(struct app *app, struct response *resp, json_t *areq, const struct session *sess)
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

static void
login_page(struct app *app, const struct request *req, struct response *resp, json_t *areq, const struct client *client,
    int status, const char *identifier, const char *error)
{
	char *csrf = NULL, *blob = NULL, host[256];
	json_t *copy = json_deep_copy(areq);

	if (copy == NULL || (csrf = csrf_token(app, req, resp)) == NULL ||
	    (blob = signed_pack(app, AUTHZ_PURPOSE, copy, app->conf->auth_request_ttl)) == NULL) {
		page_error(app, resp, 500, "Internal error", "The login page could not be prepared.");
		goto out;
	}
	{
		const struct tmpl_var v[] = { { "title", "Log in" }, { "identifier", identifier }, { "csrf", csrf },
			{ "req", blob }, { "error", error }, { "client_name", client_meta_str(client, "client_name") },
			{ "client_host", redirect_host(areq_str(areq, "redirect_uri"), host, sizeof(host)) } };

		page_render(app, resp, status, "login", v, sizeof(v) / sizeof(v[0]));
	}
	if (error != NULL)
		snprintf(resp->note, sizeof(resp->note), "login_failed");
out:
	json_decref(copy);
	free(csrf);
	free(blob);
}

static void
consent_page(struct app *app, const struct request *req, struct response *resp, json_t *areq,
    const struct client *client, const struct session *sess)
{
	struct identity *id = NULL;
	char *csrf = NULL, *blob = NULL, host[256];
	json_t *copy = json_deep_copy(areq);

	/* The consent decision is bound to the session's identity. */
	if (copy == NULL || json_object_set_new(copy, "identity", json_integer(sess->identity_id)) == -1 ||
	    store_identity_by_id(app->st, sess->identity_id, &id) != STORE_OK ||
	    (csrf = csrf_token(app, req, resp)) == NULL ||
	    (blob = signed_pack(app, AUTHZ_PURPOSE, copy, app->conf->auth_request_ttl)) == NULL) {
		page_error(app, resp, 500, "Internal error", "The consent page could not be prepared.");
		goto out;
	}
	{
		const char *name = client_meta_str(client, "client_name");
		const struct tmpl_var v[] = { { "title", "Allow access?" }, { "csrf", csrf }, { "req", blob },
			{ "identifier", id->identifier },
			{ "client_host", redirect_host(areq_str(areq, "redirect_uri"), host, sizeof(host)) },
			{ "client_name", name ? name : host } };

		page_render(app, resp, 200, "consent", v, sizeof(v) / sizeof(v[0]));
	}
out:
	identity_free(id);
	json_decref(copy);
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
	json_t *areq = NULL;
	char *canon = NULL;
	int64_t age;

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

/* With an authenticated session: consent when asked for, then the code. */
static void
authz_continue(struct app *app, const struct request *req, struct response *resp, json_t *areq,
    const struct client *client, const struct session *sess)
{
	if (prompt_has(areq, "consent"))
		consent_page(app, req, resp, areq, client, sess);
	else
		authz_issue(app, resp, areq, sess);
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
 * redirect_uri still valid (a client may have been deleted meanwhile).
 */
static json_t *
pending_request(struct app *app, const struct request *req, struct response *resp, struct client **clientp)
{
	json_t *areq;

	*clientp = NULL;
	if (!csrf_ok(app, req)) {
		page_forbidden(app, resp);
		return (NULL);
	}
	if ((areq = signed_unpack(app, AUTHZ_PURPOSE, form_get(&req->form, "req"), time_now())) == NULL) {
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
	const struct conf *conf = app->conf;
	struct client *client = NULL;
	struct identity *id = NULL;
	struct session *sess = NULL;
	const char *typed = form_get(&req->form, "identifier"), *pw = form_get(&req->form, "password");
	char *canon = NULL, *rehash = NULL, key_pair[512], key_src[128], msg[160], source[HTTP_MAX_ADDR + 4];
	char dmsg[AUTHZ_MAX_MESSAGE];
	int64_t wait, now = time_now();
	int status;
	enum pw_rc pr;
	json_t *areq;

	if ((areq = pending_request(app, req, resp, &client)) == NULL)
		return;
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
	source_key(req->remote, source, sizeof(source));
	snprintf(key_pair, sizeof(key_pair), "id:%s|%s", canon, source);
	snprintf(key_src, sizeof(key_src), "src:%s", source);
	wait = throttle_wait(app->throttle, key_pair, now);
	if (wait == 0)
		wait = throttle_wait(app->throttle, key_src, now);
	if (wait > 0) {
		snprintf(msg, sizeof(msg), "%lld", (long long)wait);
		resp_header(resp, "Retry-After", msg); /* RFC 9110 §10.2.3: seconds only */
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
		throttle_fail(app->throttle, key_pair, now, conf->login_max_failures, conf->login_max_delay);
		throttle_fail(app->throttle, key_src, now, conf->login_max_failures * 4, conf->login_max_delay);
		login_page(app, req, resp, areq, client, 401, canon, "The identifier or the password is wrong.");
		goto out;
	}
	throttle_clear(app->throttle, key_pair);
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

/** h_consent: POST /consent: the user's decision (the per-claim form comes with the consent issue). */
void
h_consent(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *client = NULL;
	struct session *sess = NULL;
	const char *decision = form_get(&req->form, "decision");
	json_t *areq;

	if ((areq = pending_request(app, req, resp, &client)) == NULL)
		return;
	/* The decision counts only in the session that was asked. */
	if (session_current(app, req, &sess) != STORE_OK ||
	    json_integer_value(json_object_get(areq, "identity")) != sess->identity_id) {
		page_error(app, resp, 400, "Session ended",
		    "Your session has ended. Go back to the website and "
		    "start again.");
		goto out;
	}
	if (decision != NULL && strcmp(decision, "allow") == 0)
		authz_issue(app, resp, areq, sess);
	else
		authz_error(app, resp, areq, "access_denied", "the user denied the request");
out:
	session_free(sess);
	client_free(client);
	json_decref(areq);
}
