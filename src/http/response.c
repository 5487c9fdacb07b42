/*
 * response.c: building responses: JSON, OAuth errors (RFC 6749 §5.2, RFC 6750 §3), problem details
 * (RFC 9457), redirects and cookies (RFC 6265).  No libmicrohttpd here: server.c turns a struct response into
 * bytes on the wire.
 */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"

/** resp_header(r, name, value): add a header (copied); ignored past HTTP_MAX_RESP_HEADERS. */
void
resp_header(struct response *r, const char *name, const char *value)
{
	char *n, *v;

	if (r->n_headers >= HTTP_MAX_RESP_HEADERS) {
		log_warnx("response header dropped: %s", name);
		return;
	}
	n = xstrdup(name);
	v = xstrdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return;
	}
	r->headers[r->n_headers].name = n;
	r->headers[r->n_headers].value = v;
	r->n_headers++;
}

/** resp_json(r, status, obj): serialise ${obj} (borrowed) compactly as application/json. */
void
resp_json(struct response *r, int status, json_t *obj)
{
	char *s;

	r->status = status;
	r->content_type = "application/json";
	buf_release(&r->body);
	if ((s = json_dumps(obj, JSON_COMPACT)) == NULL) {
		r->status = 500;
		buf_puts(&r->body, "{\"error\":\"server_error\"}");
		return;
	}
	buf_puts(&r->body, s);
	/* The text may hold secrets (registration responses, tokens). */
	str_secure_free(s);
}

/** resp_text(r, status, ctype, text): a literal body. */
void
resp_text(struct response *r, int status, const char *ctype, const char *text)
{
	r->status = status;
	r->content_type = ctype;
	buf_release(&r->body);
	buf_puts(&r->body, text);
}

static void
error_body(struct response *r, int status, const char *error, const char *description)
{
	json_t *o;

	o = json_pack("{s:s}", "error", error);
	if (o != NULL && description != NULL)
		json_object_set_new(o, "error_description", json_string(description));
	resp_json(r, status, o);
	json_decref(o);
	snprintf(r->note, sizeof(r->note), "%s", error);
}

/** resp_oauth_error(r, status, error, description): RFC 6749 §5.2 JSON error; 401 gets WWW-Authenticate Basic. */
void
resp_oauth_error(struct response *r, int status, const char *error, const char *description)
{
	r->kind = RESP_API;
	error_body(r, status, error, description);
	if (status == 401)
		resp_header(r, "WWW-Authenticate", "Basic realm=\"anchorid\"");
}

/** resp_bearer_error(r, status, error, description): RFC 6750 §3 error with WWW-Authenticate: Bearer. */
void
resp_bearer_error(struct response *r, int status, const char *error, const char *description)
{
	char hdr[256];

	r->kind = RESP_API;
	error_body(r, status, error, description);
	snprintf(hdr, sizeof(hdr), "Bearer realm=\"anchorid\", error=\"%s\"", error);
	resp_header(r, "WWW-Authenticate", hdr);
}

/** resp_problem(r, status, type, title, detail): RFC 9457 application/problem+json. */
void
resp_problem(struct response *r, int status, const char *type, const char *title, const char *detail)
{
	json_t *o;

	o = json_pack("{s:s,s:s,s:i}", "type", type, "title", title, "status", status);
	if (o != NULL && detail != NULL)
		json_object_set_new(o, "detail", json_string(detail));
	resp_json(r, status, o);
	json_decref(o);
	r->kind = RESP_API;
	r->content_type = "application/problem+json";
	snprintf(r->note, sizeof(r->note), "%s", title);
}

/** resp_redirect(r, url): 303 See Other to ${url}. */
void
resp_redirect(struct response *r, const char *url)
{
	r->status = 303;
	r->kind = RESP_HTML;
	r->content_type = "text/plain; charset=utf-8";
	buf_release(&r->body);
	resp_header(r, "Location", url);
}

/** resp_set_cookie(r, name, value, max_age, secure): HttpOnly; SameSite=Lax; Path=/. */
void
resp_set_cookie(struct response *r, const char *name, const char *value, int64_t max_age, bool secure)
{
	char hdr[512], age[40] = "";

	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%lld", (long long)max_age);
	snprintf(
	    hdr, sizeof(hdr), "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", name, value, age, secure ? "; Secure" : "");
	resp_header(r, "Set-Cookie", hdr);
}
