/*
 * http.h: requests, responses, the route table and the server.  src/http/ is the only code that includes
 * <microhttpd.h>; handlers see plain structs.  Also the parsers of untrusted HTTP input: forms and query
 * strings (application/x-www-form-urlencoded), cookies (RFC 6265 §4.2) and Authorization headers
 * (RFC 7617 Basic with RFC 6749 §2.3.1 form-encoding, RFC 6750 Bearer).  Each has a fuzz harness.
 */
#ifndef ANCHORID_HTTP_H
#define ANCHORID_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

#define HTTP_MAX_BODY (64 * 1024)        /* no OAuth/OIDC request body needs more; larger gets 413 */
#define HTTP_MAX_HEADERS_MEM (32 * 1024) /* per-connection memory for request line + headers: larger gets 431 */
#define HTTP_MAX_PAIRS 64                /* form / query / cookie pairs; more is a 400 */
#define HTTP_MAX_RESP_HEADERS 16
#define HTTP_MAX_ADDR 64 /* textual address of the peer */

/* ----------------------------------------------------------------------------------------- forms */

struct kv {
	char *name;
	char *value;
};

/* Parsed name=value pairs in order of appearance, decoded ('+' is space, %XX). */
struct form {
	struct kv *pairs;
	size_t n;
};

/** form_parse(s, len, f): parse ${len} bytes of x-www-form-urlencoded text into ${f} (which it initialises).
 * Empty pairs ("a=1&&b=2") are skipped, a name without '=' has value "".  -1 on bad %-escapes, NUL bytes, or
 * more than HTTP_MAX_PAIRS pairs; ${f} is then empty. */
int form_parse(const char *s, size_t len, struct form *f);
/** form_get(f, name): the first value of ${name}, or NULL. */
const char *form_get(const struct form *f, const char *name);
/** form_count(f, name): how many times ${name} occurs (RFC 6749 §3.1: parameters must not repeat). */
size_t form_count(const struct form *f, const char *name);
/** form_release(f): free the pairs; ${f} becomes empty. */
void form_release(struct form *f);

/** cookie_parse(header, f): parse a Cookie header ("a=1; b=2") into ${f}; -1 on too many pairs. Quoted values
 * lose their quotes; values are not %-decoded. */
int cookie_parse(const char *header, struct form *f);

/** auth_parse_basic(header, user, pass): RFC 7617 Basic credentials, each part form-urldecoded per RFC 6749
 * §2.3.1; the caller frees both (zeroing *pass).  -1 when the header is not valid Basic. */
int auth_parse_basic(const char *header, char **user, char **pass);
/** auth_parse_bearer(header): the RFC 6750 §2.1 token of a "Bearer" header (scheme case-insensitive, token68
 * syntax), or NULL; caller frees. */
char *auth_parse_bearer(const char *header);

/* -------------------------------------------------------------------------------------- requests */

struct request {
	const char *method;  /* "GET", "POST", ... */
	const char *path;    /* decoded path, no query */
	struct form query;   /* the query string */
	struct form form;    /* the body, when it is application/x-www-form-urlencoded */
	struct form cookies; /* the Cookie header */
	const char *body;    /* raw body bytes (NUL-terminated), "" when none */
	size_t body_len;
	const char *content_type;   /* media type, lower case, without parameters; "" when absent */
	char remote[HTTP_MAX_ADDR]; /* peer address, or the client named by a trusted proxy */
	bool secure;                /* arrived over TLS, or over https at a trusted proxy */
	uint64_t queued_ms;         /* HTTP_SLOW routes: how long the request waited for the slow lane */
	bool too_large;             /* HTTP_BIG_BODY routes: the body exceeded HTTP_MAX_BODY and was dropped */
	void *impl;                 /* the server's connection, for req_header */
};

/** req_header(r, name): a request header value (name case-insensitive), or NULL. */
const char *req_header(const struct request *r, const char *name);
/** req_param(r, name): the form value of ${name}, or else its query value (one RP sends token parameters in the
 * query string with an empty body). */
const char *req_param(const struct request *r, const char *name);

/* ------------------------------------------------------------------------------------- responses */

enum resp_kind {
	RESP_API = 0, /* JSON/JWT responses: Cache-Control: no-store, Pragma: no-cache */
	RESP_HTML,    /* pages: no-store plus the SECURITY.md 7 page headers (CSP, frame, referrer, nosniff) */
	RESP_PUBLIC,  /* discovery, JWKS, static assets: cacheable (Cache-Control set by the handler) */
};

struct response {
	int status; /* 200 unless set */
	enum resp_kind kind;
	const char *content_type; /* static string */
	struct buf body;
	struct kv headers[HTTP_MAX_RESP_HEADERS]; /* extra headers, owned */
	size_t n_headers;
	char note[48]; /* short tag for the access log (an error code), never a secret */
};

/** resp_header(r, name, value): add a header (copied); silently ignored past HTTP_MAX_RESP_HEADERS. */
void resp_header(struct response *r, const char *name, const char *value);
/** resp_json(r, status, obj): serialise ${obj} (borrowed) compactly as application/json. */
void resp_json(struct response *r, int status, json_t *obj);
/** resp_text(r, status, ctype, text): a literal body. */
void resp_text(struct response *r, int status, const char *ctype, const char *text);
/** resp_oauth_error(r, status, error, description): RFC 6749 §5.2 JSON error (description may be NULL);
 * 401 responses get WWW-Authenticate: Basic. */
void resp_oauth_error(struct response *r, int status, const char *error, const char *description);
/** resp_bearer_error(r, status, error, description): RFC 6750 §3 error with WWW-Authenticate: Bearer. */
void resp_bearer_error(struct response *r, int status, const char *error, const char *description);
/** resp_problem(r, status, type, title, detail): RFC 9457 application/problem+json. */
void resp_problem(struct response *r, int status, const char *type, const char *title, const char *detail);
/** resp_redirect(r, url): 303 See Other to ${url} (HTML kind, no body). */
void resp_redirect(struct response *r, const char *url);
/** resp_set_cookie(r, name, value, max_age, secure): HttpOnly; SameSite=Lax; Path=/; Secure when ${secure};
 * max_age < 0 omits Max-Age (session cookie), 0 deletes. */
void resp_set_cookie(struct response *r, const char *name, const char *value, int64_t max_age, bool secure);

/* ---------------------------------------------------------------------------------------- server */

#define HTTP_GET 1u
#define HTTP_POST 2u
#define HTTP_PUT 4u
#define HTTP_DELETE 8u

typedef void (*http_handler)(void *ctx, const struct request *req, struct response *resp);

#define HTTP_SLOW 1u /* route flag: the handler hashes passwords; run it on the slow lane (see http_start) */
/* Route flag: a body over HTTP_MAX_BODY reaches the handler as req->too_large (with body "") instead of the
 * server's own 413, for an API that answers in its own error format (the agent API's problem documents). */
#define HTTP_BIG_BODY 2u

/* The route table: exact paths, or prefixes when the path ends in '/'.  A path that matches with a method not
 * in ${methods} answers 405 with Allow; no match answers 404. */
struct http_route {
	const char *path;
	unsigned methods;
	http_handler fn;
	unsigned flags; /* HTTP_SLOW, HTTP_BIG_BODY or 0 */
};

struct conf;
struct http_server;

/** http_start(conf, routes, n, ctx): listen and serve on a thread pool of conf->threads workers (TLS when
 * conf->tls); handlers run concurrently with ${ctx}.  Routes flagged HTTP_SLOW run instead on a lane of
 * conf->argon2_max_concurrent threads (their connections suspended meanwhile), with a bounded queue that answers
 * 503 when full, so that password hashing never blocks the event loops.  NULL on failure (logged). */
struct http_server *http_start(const struct conf *conf, const struct http_route *routes, size_t n, void *ctx);
/** http_stop(s): stop accepting, let in-flight requests finish, free ${s}; NULL is a no-op. */
void http_stop(struct http_server *s);

#endif
