/*
 * pages.c: HTML pages and the CSRF synchroniser token (SECURITY.md 6, 7).
 *
 * CSRF: every browser gets a random "browser" cookie on its first page; the token embedded in forms is
 * base64url(HMAC-SHA256(server secret, "csrf|" cookie)).  A POST must carry the cookie and the matching token.
 * The cookie is HttpOnly, SameSite=Lax, and over TLS Secure with the __Host- prefix.
 */
#include <string.h>

#include "internal.h"
#include "throttle.h"

#define PAGE_BROWSER_COOKIE "anchorid_b"
#define PAGE_BROWSER_COOKIE_TLS "__Host-anchorid_b"
#define PAGE_BROWSER_MAX_AGE (400LL * 86400) /* RFC 6265bis caps cookie lifetimes at 400 days */

/** page_render(app, resp, status, name, vars, n): render a www/ template as an HTML response. */
void
page_render(struct app *app, struct response *resp, int status, const char *name, const struct tmpl_var *vars, size_t n)
{
	resp->kind = RESP_HTML;
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_release(&resp->body);
	if (tmpl_render(app->tmpl, name, vars, n, &resp->body) == -1) {
		log_warnx("page %s: render failed", name);
		buf_release(&resp->body);
		resp->status = 500;
		resp->content_type = "text/plain; charset=utf-8";
		buf_puts(&resp->body, "internal error\n");
	}
}

/** page_error(app, resp, status, title, message): the error page (never a redirect). */
void
page_error(struct app *app, struct response *resp, int status, const char *title, const char *message)
{
	const struct tmpl_var v[] = { { "title", title }, { "message", message } };

	page_render(app, resp, status, "error", v, 2);
	snprintf(resp->note, sizeof(resp->note), "%s", title);
}

/** page_cookie_name(req, base): the cookie name for this request: __Host-anchorid_<base> over TLS. */
const char *
page_cookie_name(const struct request *req, const char *plain, const char *tls)
{
	return (req->secure ? tls : plain);
}

static char *
csrf_for(struct app *app, const char *browser)
{
	unsigned char mac[UTIL_SHA256_LEN];
	struct buf b;
	char *tok;

	buf_init(&b);
	buf_puts(&b, "csrf|");
	buf_puts(&b, browser);
	hmac_sha256(app->secret, sizeof(app->secret), b.data, b.len, mac);
	buf_release(&b);
	tok = b64url_encode(mac, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	return (tok);
}

/** csrf_token(app, req, resp): the token bound to this browser; sets the browser cookie when absent. */
char *
csrf_token(struct app *app, const struct request *req, struct response *resp)
{
	const char *name = page_cookie_name(req, PAGE_BROWSER_COOKIE, PAGE_BROWSER_COOKIE_TLS);
	const char *browser = form_get(&req->cookies, name);
	char *fresh = NULL, *tok;

	if (browser == NULL || strlen(browser) < 32) {
		if ((fresh = rand_token(OIDC_TOKEN_BYTES)) == NULL)
			return (NULL);
		resp_set_cookie(resp, name, fresh, PAGE_BROWSER_MAX_AGE, req->secure);
		browser = fresh;
	}
	tok = csrf_for(app, browser);
	free(fresh);
	return (tok);
}

/** csrf_ok(app, req): the POST's "csrf" field matches the browser cookie's token (constant time). */
bool
csrf_ok(struct app *app, const struct request *req)
{
	const char *browser =
	    form_get(&req->cookies, page_cookie_name(req, PAGE_BROWSER_COOKIE, PAGE_BROWSER_COOKIE_TLS));
	const char *sent = form_get(&req->form, "csrf");
	char *want;
	bool ok;

	if (browser == NULL || sent == NULL || strcmp(req->method, "POST") != 0)
		return (false);
	if ((want = csrf_for(app, browser)) == NULL)
		return (false);
	ok = ct_streq(want, sent);
	free(want);
	return (ok);
}

/** page_forbidden(app, resp): the 403 page for a POST without a valid CSRF token. */
void
page_forbidden(struct app *app, struct response *resp)
{
	page_error(app, resp, 403, "Request refused",
	    "This form was not sent from this site's own page, or your browser blocked its cookie. "
	    "Go back, reload the page and try again.");
	snprintf(resp->note, sizeof(resp->note), "csrf");
}

/** pw_guard_init(g, req, identifier): the wrong-password counters of ${identifier} from ${req}'s source. */
void
pw_guard_init(struct pw_guard *g, const struct request *req, const char *identifier)
{
	char source[HTTP_MAX_ADDR + 4];

	source_key(req->remote, source, sizeof(source));
	snprintf(g->pair, sizeof(g->pair), "id:%s|%s", identifier, source);
	snprintf(g->src, sizeof(g->src), "src:%s", source);
}

/** pw_guard_wait(app, g, now, resp): the delay still running, per identifier and source, then per source. */
int64_t
pw_guard_wait(struct app *app, const struct pw_guard *g, int64_t now, struct response *resp)
{
	char secs[24];
	int64_t wait;

	if ((wait = throttle_wait(app->throttle, g->pair, now)) == 0)
		wait = throttle_wait(app->throttle, g->src, now);
	if (wait > 0) {
		snprintf(secs, sizeof(secs), "%lld", (long long)wait);
		resp_header(resp, "Retry-After", secs); /* RFC 9110 §10.2.3: seconds only */
		snprintf(resp->note, sizeof(resp->note), "throttled");
	}
	return (wait);
}

/** pw_guard_fail(app, g, now): a wrong password: the pair counts login_max_failures, the source four times that. */
void
pw_guard_fail(struct app *app, const struct pw_guard *g, int64_t now)
{
	const struct conf *conf = app->conf;

	throttle_fail(app->throttle, g->pair, now, conf->login_max_failures, conf->login_max_delay);
	throttle_fail(app->throttle, g->src, now, conf->login_max_failures * 4, conf->login_max_delay);
}

/** pw_guard_ok(app, g): the right password clears the identifier's count from this source. */
void
pw_guard_ok(struct app *app, const struct pw_guard *g)
{
	throttle_clear(app->throttle, g->pair);
}
