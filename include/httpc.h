/*
 * httpc.h: a small HTTPS/1.1 client for the outbound requests of this project: the reference agent talking to
 * the authority (drafts/agent-provisioning.md), and later the authority fetching an agent's configuration and
 * the agent fetching the authority's keys (SECURITY.md 12).  src/httpc/ is the only code that includes
 * <openssl/ssl.h>.
 *
 * One request per connection (Connection: close), HTTPS only, the server certificate verified against the
 * system's trust store or a CA file, host name checked, SNI sent.  Bounded: a deadline for the whole exchange,
 * a cap on header and body size.  Redirects are not followed (the caller sees the 3xx).  By default connections
 * to loopback, private, link-local and other non-public addresses are refused (after resolving the name, and
 * the address that passed the check is the one connected to); allow_private lifts that for tests and for the
 * agent CLI talking to an authority on the same machine.
 */
#ifndef ANCHORID_HTTPC_H
#define ANCHORID_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_MAX_HEADERS 64               /* response header lines kept */
#define HTTPC_MAX_HEADER_BYTES (16 * 1024) /* status line and headers together */
#define HTTPC_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTPC_DEFAULT_TIMEOUT_MS 10000

struct httpc_opts {
	const char *ca_file; /* PEM bundle to trust; NULL: the system's default paths */
	int timeout_ms;      /* whole exchange; name resolution counts against it but may overrun it; 0: default */
	size_t max_body;     /* 0: HTTPC_DEFAULT_MAX_BODY; a longer body fails the request */
	bool allow_private;  /* allow loopback and private addresses */
};

struct httpc_header {
	char *name; /* as received */
	char *value;
};

struct httpc_response {
	int status;
	struct httpc_header headers[HTTPC_MAX_HEADERS];
	size_t n_headers;
	char *body; /* NUL-terminated (the NUL not counted in body_len) */
	size_t body_len;
};

/** httpc_request(method, url, headers, body, body_len, opts, out, err, errlen): one request.  ${headers} is a
 * NULL-terminated array of "Name: value" lines (may be NULL); Host, Content-Length, Connection and User-Agent
 * are added.  0 and a new *${out} (free with httpc_response_free) whatever the HTTP status; -1 and a sentence in
 * ${err} on any transport failure (bad URL, not https, name resolution, refused address, connect, TLS or
 * certificate, timeout, malformed or oversized response).  Chunked and Content-Length bodies are read. */
int httpc_request(const char *method, const char *url, const char *const *headers, const void *body, size_t body_len,
    const struct httpc_opts *opts, struct httpc_response **out, char *err, size_t errlen);

/** httpc_header(r, name): the first value of header ${name} (case-insensitive), or NULL. */
const char *httpc_header(const struct httpc_response *r, const char *name);

/** httpc_response_free(r): NULL is a no-op. */
void httpc_response_free(struct httpc_response *r);

/** httpc_parse_response(buf, len, max_body, out, err, errlen): parse one complete HTTP/1.1 response held in
 * ${buf} (status line, headers, body by Content-Length, chunked encoding or end of data); ${max_body} 0 means
 * HTTPC_DEFAULT_MAX_BODY.  For the client and
 * its fuzz harness.  0 and a new *${out}; -1 and a sentence in ${err} when malformed or over a limit. */
int httpc_parse_response(
    const char *buf, size_t len, size_t max_body, struct httpc_response **out, char *err, size_t errlen);

#endif
