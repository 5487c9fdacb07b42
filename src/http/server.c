/*
 * server.c: the HTTP(S) server on libmicrohttpd: the only code that includes <microhttpd.h>.
 *
 * Requests are served by a pool of conf->threads workers (MHD's thread pool, epoll per worker); a handler runs
 * on the worker that read the request and no lock sits around handlers.  Limits are enforced while reading:
 * request line and headers within HTTP_MAX_HEADERS_MEM (MHD answers 431), bodies within HTTP_MAX_BODY (413).
 * Every request leaves one access-log line with its path (never the query: it may hold codes or tokens).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conf.h"
#include "http.h"
#include "log.h"

#define HTTP_MAX_PEM (64 * 1024) /* certificate chain or key file */
#define HTTP_STOP_WAIT_MS 10000  /* how long http_stop waits for in-flight requests */
#define HTTP_SLOW_QUEUE_MAX 256  /* queued password checks; beyond this, 503 at once */

struct http_server {
	struct MHD_Daemon *daemon;
	const struct conf *conf;
	const struct http_route *routes;
	size_t n_routes;
	void *ctx;
	atomic_int inflight;      /* requests between URI callback and completion */
	char *cert_pem, *key_pem; /* kept alive for MHD */

	/* The slow lane: handlers flagged HTTP_SLOW (password hashing) run on their own small pool so that
	 * a burst of logins never stalls the event loops that serve tokens, keys and discovery. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn_state *queue_head, *queue_tail;
	int queued;
	bool stopping;
	pthread_t *slow;
	int n_slow;
};

/* Per-request state, created by the URI callback when the request line arrives. */
struct conn_state {
	char *target;    /* raw request target (path and query), for our own query parser */
	struct buf body; /* request body, bounded by HTTP_MAX_BODY */
	bool started;    /* the first access-handler call (headers complete) happened */
	bool too_large;  /* body exceeded HTTP_MAX_BODY */
	bool handled;    /* resp holds the answer (slow lane done); send it on the next call */
	uint64_t start_ms;
	uint64_t enqueued_ms; /* when it entered the slow-lane queue */
	struct MHD_Connection *conn;
	struct request req;
	struct response resp;
	char ctype[96];
	struct form headers; /* copy of the request headers for slow-lane handlers (other thread) */
	const struct http_route *route;
	struct conn_state *next; /* slow-lane queue link */
};

static const char *
mhd_header(struct MHD_Connection *c, const char *name)
{
	return (MHD_lookup_connection_value(c, MHD_HEADER_KIND, name));
}

/** req_header(r, name): a request header value (name case-insensitive), or NULL. */
const char *
req_header(const struct request *r, const char *name)
{
	const struct conn_state *cs = r->impl;

	if (cs == NULL)
		return (NULL);
	if (cs->headers.n == 0)
		return (mhd_header(cs->conn, name));
	for (size_t i = 0; i < cs->headers.n; i++)
		if (strcasecmp(cs->headers.pairs[i].name, name) == 0)
			return (cs->headers.pairs[i].value);
	return (NULL);
}

/** req_param(r, name): the form value of ${name}, or else its query value. */
const char *
req_param(const struct request *r, const char *name)
{
	const char *v;

	if ((v = form_get(&r->form, name)) != NULL)
		return (v);
	return (form_get(&r->query, name));
}

static char *
read_file(const char *path, size_t max)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return (NULL);
	}
	buf_init(&b);
	b.max = max;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) == -1)
			break;
	close(fd);
	if (n < 0 || b.err) {
		log_warnx("%s: cannot read (or larger than %zu bytes)", path, max);
		buf_release(&b);
		return (NULL);
	}
	return (buf_steal(&b));
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("httpd: %s", msg);
}

static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_server *s = cls;
	struct conn_state *cs;

	(void)c;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return (NULL);
	cs->target = xstrdup(uri);
	buf_init(&cs->body);
	cs->body.max = HTTP_MAX_BODY;
	cs->start_ms = time_mono_ms();
	atomic_fetch_add(&s->inflight, 1);
	return (cs);
}

static void response_release(struct response *r);

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct conn_state *cs = *con_cls;

	(void)c;
	(void)toe;
	if (cs == NULL)
		return;
	free(cs->target);
	buf_release(&cs->body);
	response_release(&cs->resp);
	form_release(&cs->req.query);
	form_release(&cs->req.form);
	form_release(&cs->req.cookies);
	form_release(&cs->headers);
	free(cs);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static bool
is_trusted_proxy(const struct conf *conf, const char *addr)
{
	for (int i = 0; i < conf->n_trusted_proxies; i++)
		if (strcmp(conf->trusted_proxies[i], addr) == 0)
			return (true);
	return (false);
}

/* The peer address, or the client a trusted proxy names (right-most X-Forwarded-For entry). */
static void
request_origin(struct http_server *s, struct MHD_Connection *c, struct request *r)
{
	const union MHD_ConnectionInfo *ci;
	const char *xff, *proto, *last;
	const struct sockaddr *sa;

	snprintf(r->remote, sizeof(r->remote), "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->remote,
			    sizeof(r->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->remote,
			    sizeof(r->remote));
	}
	r->secure = s->conf->tls;
	if (!is_trusted_proxy(s->conf, r->remote))
		return;
	if ((proto = mhd_header(c, "X-Forwarded-Proto")) != NULL)
		r->secure = strcasecmp(proto, "https") == 0;
	if ((xff = mhd_header(c, "X-Forwarded-For")) != NULL) {
		last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ')
			last++;
		if (*last != '\0' && strlen(last) < sizeof(r->remote))
			snprintf(r->remote, sizeof(r->remote), "%s", last);
	}
}

/* Media type in lower case without parameters. */
static void
media_type(const char *ct, char *out, size_t outlen)
{
	size_t n;

	out[0] = '\0';
	if (ct == NULL)
		return;
	n = strcspn(ct, "; \t");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, ct, n);
	out[n] = '\0';
	str_lower(out);
}

static const struct http_route *
route_find(struct http_server *s, const char *path, const char *method, bool *path_matched, unsigned *allow)
{
	unsigned m = 0;
	size_t len;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		m = HTTP_GET;
	else if (strcmp(method, "POST") == 0)
		m = HTTP_POST;
	else if (strcmp(method, "PUT") == 0)
		m = HTTP_PUT;
	else if (strcmp(method, "DELETE") == 0)
		m = HTTP_DELETE;
	*path_matched = false;
	*allow = 0;
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct http_route *rt = &s->routes[i];

		len = strlen(rt->path);
		if (rt->path[len - 1] == '/' ? strncmp(path, rt->path, len) != 0 : strcmp(path, rt->path) != 0)
			continue;
		*path_matched = true;
		*allow |= rt->methods;
		if (rt->methods & m)
			return (rt);
	}
	return (NULL);
}

static bool
has_header(const struct response *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return (true);
	return (false);
}

static void
add_default_headers(struct MHD_Response *mr, const struct request *req, const struct response *resp)
{
	switch (resp->kind) {
	case RESP_HTML:
		MHD_add_response_header(mr, "Cache-Control", "no-store");
		MHD_add_response_header(mr, "X-Frame-Options", "DENY");
		/* SECURITY.md 7: no inline script anywhere; form-action is left open because a login POST ends
		 * in a redirect to the relying party, which browsers check against form-action. */
		if (!has_header(resp, "Content-Security-Policy"))
			MHD_add_response_header(mr, "Content-Security-Policy",
			    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri "
			    "'none'");
		MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
		break;
	case RESP_API:
		MHD_add_response_header(mr, "Cache-Control", "no-store");
		MHD_add_response_header(mr, "Pragma", "no-cache");
		break;
	case RESP_PUBLIC:
		MHD_add_response_header(mr, "Access-Control-Allow-Origin", "*");
		break;
	}
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	if (req->secure)
		MHD_add_response_header(mr, "Strict-Transport-Security", "max-age=31536000");
}

static void
access_log_line(const struct request *req, const struct response *resp, size_t bytes, uint64_t ms)
{
	char line[512], path[160];

	snprintf(path, sizeof(path), "%s", req->path);
	for (char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '"' || (unsigned char)*p >= 0x7f)
			*p = '?';
	snprintf(line, sizeof(line), "%s \"%s %s\" %d %zu %llums%s%s", req->remote, req->method, path, resp->status,
	    bytes, (unsigned long long)ms, resp->note[0] ? " " : "", resp->note);
	log_access(line);
}

static enum MHD_Result
send_response(struct MHD_Connection *c, const struct request *req, struct response *resp, uint64_t start_ms)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	size_t len = resp->body.len;
	char *body = buf_steal(&resp->body);

	if (body == NULL)
		return (MHD_NO);
	mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(body);
		return (MHD_NO);
	}
	MHD_add_response_header(
	    mr, "Content-Type", resp->content_type ? resp->content_type : "text/plain; charset=utf-8");
	add_default_headers(mr, req, resp);
	for (size_t i = 0; i < resp->n_headers; i++)
		MHD_add_response_header(mr, resp->headers[i].name, resp->headers[i].value);
	ret = MHD_queue_response(c, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	access_log_line(req, resp, len, time_mono_ms() - start_ms);
	return (ret);
}

static void
response_release(struct response *r)
{
	buf_release(&r->body);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->n_headers = 0;
}

/* Copy the request headers so that a slow-lane handler never touches the connection from another thread. */
static enum MHD_Result
copy_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value, size_t value_size)
{
	struct form *f = cls;
	struct kv *grown;

	(void)kind;
	if (f->n >= HTTP_MAX_PAIRS)
		return (MHD_NO);
	if ((grown = realloc(f->pairs, (f->n + 1) * sizeof(*grown))) == NULL)
		return (MHD_NO);
	f->pairs = grown;
	f->pairs[f->n].name = xstrndup(key, key_size);
	f->pairs[f->n].value = xstrndup(value ? value : "", value ? value_size : 0);
	if (f->pairs[f->n].name == NULL || f->pairs[f->n].value == NULL) {
		free(f->pairs[f->n].name);
		free(f->pairs[f->n].value);
		return (MHD_NO);
	}
	f->n++;
	return (MHD_YES);
}

static void *
slow_worker(void *arg)
{
	struct http_server *s = arg;
	struct conn_state *cs;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->queue_head == NULL && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if ((cs = s->queue_head) == NULL) {
			pthread_mutex_unlock(&s->mu);
			return (NULL);
		}
		if ((s->queue_head = cs->next) == NULL)
			s->queue_tail = NULL;
		s->queued--;
		pthread_mutex_unlock(&s->mu);
		cs->req.queued_ms = time_mono_ms() - cs->enqueued_ms;
		cs->route->fn(s->ctx, &cs->req, &cs->resp);
		cs->handled = true;
		MHD_resume_connection(cs->conn);
	}
}

/* Queue a slow request and suspend its connection; -1 when the queue is full. */
static int
slow_enqueue(struct http_server *s, struct conn_state *cs)
{
	int ret = -1;

	MHD_get_connection_values_n(cs->conn, MHD_HEADER_KIND, copy_header, &cs->headers);
	pthread_mutex_lock(&s->mu);
	if (s->queued < HTTP_SLOW_QUEUE_MAX && !s->stopping) {
		cs->next = NULL;
		cs->enqueued_ms = time_mono_ms();
		if (s->queue_tail != NULL)
			s->queue_tail->next = cs;
		else
			s->queue_head = cs;
		s->queue_tail = cs;
		s->queued++;
		MHD_suspend_connection(cs->conn);
		pthread_cond_signal(&s->cv);
		ret = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return (ret);
}

/* Parse what every handler needs and find the route; false when the response is already decided. */
static bool
request_prepare(struct http_server *s, struct conn_state *cs, const char *url, const char *method)
{
	struct request *req = &cs->req;
	struct response *resp = &cs->resp;
	const char *q, *cookie;
	char allow[64];
	unsigned allowed;
	bool path_matched;

	buf_init(&resp->body);
	resp->status = 200;
	req->method = method;
	req->path = url;
	req->impl = cs;
	req->body = cs->body.data ? cs->body.data : "";
	req->body_len = cs->body.len;
	request_origin(s, cs->conn, req);
	media_type(mhd_header(cs->conn, "Content-Type"), cs->ctype, sizeof(cs->ctype));
	req->content_type = cs->ctype;

	if (cs->too_large) {
		cs->route = route_find(s, url, method, &path_matched, &allowed);
		if (cs->route == NULL || !(cs->route->flags & HTTP_BIG_BODY)) {
			resp_oauth_error(resp, 413, "invalid_request", "request body too large");
			return (false);
		}
		req->too_large = true;
		req->body = "";
		req->body_len = 0;
	}
	q = cs->target ? strchr(cs->target, '?') : NULL;
	if (q != NULL && form_parse(q + 1, strlen(q + 1), &req->query) == -1) {
		resp_oauth_error(resp, 400, "invalid_request", "malformed query string");
		return (false);
	}
	if (strcmp(cs->ctype, "application/x-www-form-urlencoded") == 0 &&
	    form_parse(req->body, req->body_len, &req->form) == -1) {
		resp_oauth_error(resp, 400, "invalid_request", "malformed form body");
		return (false);
	}
	if ((cookie = mhd_header(cs->conn, "Cookie")) != NULL && cookie_parse(cookie, &req->cookies) == -1) {
		resp_oauth_error(resp, 400, "invalid_request", "too many cookies");
		return (false);
	}
	if ((cs->route = route_find(s, url, method, &path_matched, &allowed)) == NULL) {
		if (path_matched) {
			snprintf(allow, sizeof(allow), "%s%s%s%s", allowed & HTTP_GET ? ", GET, HEAD" : "",
			    allowed & HTTP_POST ? ", POST" : "", allowed & HTTP_PUT ? ", PUT" : "",
			    allowed & HTTP_DELETE ? ", DELETE" : "");
			memmove(allow, allow + 2, strlen(allow + 2) + 1); /* drop the leading ", " */
			resp_header(resp, "Allow", allow);
			resp_oauth_error(resp, 405, "invalid_request", "method not allowed");
		} else
			resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n");
		return (false);
	}
	return (true);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct conn_state *cs = *con_cls;
	const char *cl;
	int64_t clen;

	(void)version;
	if (cs == NULL)
		return (MHD_NO);
	if (cs->handled) /* back from the slow lane */
		return (send_response(c, &cs->req, &cs->resp, cs->start_ms));
	if (!cs->started) {
		cs->started = true;
		cs->conn = c;
		/* Refuse an announced oversized body before reading it. */
		cl = mhd_header(c, "Content-Length");
		if (cl != NULL && (str_parse_i64(cl, 0, INT64_MAX, &clen) == -1 || clen > HTTP_MAX_BODY))
			cs->too_large = true;
		if (!cs->too_large)
			return (MHD_YES);
	}
	if (*upload_data_size != 0) {
		if (!cs->too_large && buf_append(&cs->body, upload_data, *upload_data_size) == -1)
			cs->too_large = true;
		*upload_data_size = 0;
		return (MHD_YES);
	}
	if (request_prepare(s, cs, url, method)) {
		if (!(cs->route->flags & HTTP_SLOW)) {
			cs->route->fn(s->ctx, &cs->req, &cs->resp);
		} else if (slow_enqueue(s, cs) == 0) {
			return (MHD_YES);
		} else {
			resp_text(&cs->resp, 503, "text/plain; charset=utf-8", "busy: too many logins at once\n");
			resp_header(&cs->resp, "Retry-After", "2");
		}
	}
	return (send_response(c, &cs->req, &cs->resp, cs->start_ms));
}

static int
listen_addr(const struct conf *conf, struct sockaddr_storage *ss, bool *v6)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *a = strcmp(conf->listen, "localhost") == 0 ? "127.0.0.1" : conf->listen;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)conf->port);
		*v6 = false;
		return (0);
	}
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)conf->port);
		*v6 = true;
		return (0);
	}
	log_warnx("listen: not an IP address: %s", conf->listen);
	return (-1);
}

/** http_start(conf, routes, n, ctx): listen and serve on a pool of conf->threads workers. */
struct http_server *
http_start(const struct conf *conf, const struct http_route *routes, size_t n, void *ctx)
{
	struct http_server *s = NULL;
	struct sockaddr_storage ss;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	unsigned threads;
	long ncpu;
	bool v6;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->conf = conf;
	s->routes = routes;
	s->n_routes = n;
	s->ctx = ctx;
	atomic_init(&s->inflight, 0);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((s->slow = calloc((size_t)conf->argon2_max_concurrent, sizeof(*s->slow))) == NULL)
		goto fail;
	for (; s->n_slow < conf->argon2_max_concurrent; s->n_slow++)
		if (pthread_create(&s->slow[s->n_slow], NULL, slow_worker, s) != 0) {
			log_warnx("cannot start the slow-lane threads");
			goto fail;
		}
	if (listen_addr(conf, &ss, &v6) == -1)
		goto fail;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (conf->tls) {
		flags |= MHD_USE_TLS;
		if ((s->cert_pem = read_file(conf->tls_cert, HTTP_MAX_PEM)) == NULL ||
		    (s->key_pem = read_file(conf->tls_key, HTTP_MAX_PEM)) == NULL)
			goto fail;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	threads = conf->threads > 0 ? (unsigned)conf->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)conf->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MAX_HEADERS_MEM, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,
	    conf->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
	    MHD_OPTION_END);
	if (s->daemon == NULL) {
		log_warnx("cannot listen on %s port %d (in use, or TLS files invalid)", conf->listen, conf->port);
		goto fail;
	}
	return (s);
fail:
	http_stop(s);
	return (NULL);
}

/** http_stop(s): stop accepting, let in-flight requests finish (up to 10 s), free ${s}. */
void
http_stop(struct http_server *s)
{
	uint64_t deadline;

	if (s == NULL)
		return;
	if (s->daemon != NULL) {
		MHD_quiesce_daemon(s->daemon);
		deadline = time_mono_ms() + HTTP_STOP_WAIT_MS;
		while (atomic_load(&s->inflight) > 0 && time_mono_ms() < deadline)
			usleep(10000);
	}
	/* The slow lane drains its queue, resuming every connection, before the daemon goes. */
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->n_slow; i++)
		pthread_join(s->slow[i], NULL);
	free(s->slow);
	if (s->daemon != NULL)
		MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	str_secure_free(s->key_pem);
	free(s->cert_pem);
	free(s);
}
