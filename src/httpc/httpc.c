/*
 * httpc.c: one HTTPS/1.1 request per connection (include/httpc.h), for SECURITY.md 12 (outbound fetches).
 * The only code that includes <openssl/ssl.h>; name resolution and sockets live here too.
 *
 *  - URLs (RFC 3986 §3): "https" only; host a DNS name, a dotted-quad IPv4 address or a bracketed IPv6
 *    address (no zone, no IPvFuture); an optional decimal port 1..65535; no userinfo (§3.2.1: deprecated, and
 *    a classic way to disguise a host); the fragment is dropped (§3.5: never sent); path and query become
 *    the origin-form request target (RFC 9112 §3.2.1), "/" when empty.
 *  - Addresses: getaddrinfo(3), then, unless allow_private, each address is checked against RFC 6890 and
 *    the IANA special-purpose registries (loopback, RFC 1918, link-local, CGNAT 100.64/10, unique-local,
 *    multicast, unspecified, documentation, reserved, and the IPv4 addresses inside IPv4-mapped, NAT64 and
 *    6to4 IPv6 addresses) and the socket connects to exactly that sockaddr, so a second answer from a
 *    rebinding DNS server never reaches connect(2).  Addresses are tried in getaddrinfo's order.
 *  - Deadline: one for the whole exchange.  getaddrinfo(3) blocks and cannot be interrupted: resolution is
 *    bounded by the resolver's own timeouts (resolv.conf), and the deadline is checked when it returns.
 *    Everything after it is non-blocking and polls against what remains.
 *  - TLS (RFC 8446, RFC 5246): 1.2 or later; the peer verified against opts->ca_file or the system's default
 *    paths; names checked with SSL_set1_host (RFC 6125: subjectAltName, no partial wildcards) and sent as SNI
 *    (RFC 6066 §3); address literals checked against iPAddress entries and not sent as SNI (§3 forbids it).
 *  - HTTP (RFC 9112): "METHOD target HTTP/1.1", Host (RFC 9110 §7.2, with the port unless 443), User-Agent,
 *    Connection: close, Content-Length when there is a body or the method is POST, PUT or PATCH (RFC 9110
 *    §8.6), then the caller's fields, which may not carry CR or LF nor set those four or Transfer-Encoding.
 *    The response is parsed as it arrives (parse.c), so reading stops at the end of a delimited response
 *    even when a server keeps the connection open; a close-delimited body must end with a TLS close_notify,
 *    since a bare TCP close could be a truncation (RFC 9112 §9.8).
 *  - SIGPIPE: writing to a connection the server has closed raises it; a library must not change the
 *    process's disposition, so the calling thread blocks it for the exchange and consumes one it caused.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "httpc.h"
#include "httpc_int.h"
#include "util.h"

#define HTTPC_MAX_URL 8192     /* bytes of a URL: ours are short; a long one is a mistake or an attack */
#define HTTPC_MAX_HOST 253     /* RFC 1035 §2.3.4: 255 octets on the wire, 253 characters in text */
#define HTTPC_MAX_LABEL 63     /* RFC 1035 §2.3.4 */
#define HTTPC_MAX_METHOD 32    /* a method is a short token */
#define HTTPC_READ_CHUNK 16384 /* one TLS record's worth of plaintext */
#define HTTPC_USER_AGENT "anchorid/1.0"

/* The parts of a URL we use. */
struct url {
	char host[HTTPC_MAX_HOST + 1]; /* lower-case name without a final dot, or an address without brackets */
	bool literal;                  /* ${host} is an IP address */
	bool v6;                       /* ... an IPv6 one: bracketed in Host and in messages */
	unsigned port;                 /* 1..65535 */
	char *target;                  /* path and query, at least "/" (heap) */
};

/* One exchange's connection state, released by conn_close. */
struct conn {
	int fd;          /* -1 while unconnected */
	SSL_CTX *ctx;    /* NULL until the TLS context is made */
	SSL *ssl;        /* NULL until the TLS session is made */
	int timeout_ms;  /* the whole exchange's budget, for messages */
	uint64_t expiry; /* time_mono_ms() at which it runs out */
};

/* A blocked SIGPIPE and whether one was pending before we blocked it. */
struct sigpipe_guard {
	sigset_t old;
	bool pending;
};

/*
 * sigpipe_block(g): block SIGPIPE in the calling thread until sigpipe_restore(${g}).
 */
static void
sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	g->pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

/*
 * sigpipe_restore(g): consume a SIGPIPE the exchange raised, then restore the thread's signal mask.
 */
static void
sigpipe_restore(struct sigpipe_guard *g)
{
	struct timespec zero = { 0, 0 };
	sigset_t set, pend;
	int save = errno;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!g->pending && sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) == -1 && errno == EINTR)
			;
	(void)pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = save;
}

/*
 * ms_left(c): milliseconds until the deadline of ${c}, 0 once it has passed.
 */
static int
ms_left(const struct conn *c)
{
	uint64_t now = time_mono_ms();

	if (now >= c->expiry)
		return (0);
	return (c->expiry - now > INT_MAX ? INT_MAX : (int)(c->expiry - now));
}

/*
 * fd_wait(fd, events, expiry): poll ${fd} for ${events} until time_mono_ms() reaches ${expiry}.  1 when ready
 * (or in error: the next call says which), 0 on timeout, -1 on a poll error.
 */
static int
fd_wait(int fd, short events, uint64_t expiry)
{
	struct pollfd pfd;
	uint64_t now;
	int rc, ms;

	for (;;) {
		if ((now = time_mono_ms()) >= expiry)
			return (0);
		ms = expiry - now > INT_MAX ? INT_MAX : (int)(expiry - now);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		if ((rc = poll(&pfd, 1, ms)) > 0)
			return (1);
		if (rc == -1 && errno != EINTR)
			return (-1);
	}
}

/*
 * host_name_ok(s): true when ${s} is a DNS host name in text form (RFC 1123 §2.1 letters, digits, hyphens;
 * underscores tolerated, as names of services use them), labels of 1..63 characters, no final dot.
 */
static bool
host_name_ok(const char *s)
{
	size_t label = 0;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return (false);
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			if (++label > HTTPC_MAX_LABEL)
				return (false);
		} else
			return (false);
	}
	return (label > 0);
}

/*
 * last_label_numeric(s): true when the last label of ${s} is all digits: then it is meant as an IPv4 address
 * (no top-level domain is numeric, RFC 3696 §2), and must be a valid one.
 */
static bool
last_label_numeric(const char *s)
{
	const char *p = strrchr(s, '.');

	p = p == NULL ? s : p + 1;
	if (*p == '\0')
		return (false);
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return (false);
	return (true);
}

/*
 * url_parse(s, u, err, errlen): split the URL ${s} into *${u} (the caller frees u->target).  -1 and a
 * sentence in ${err} when it is not an https URL we accept.
 */
static int
url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *p, *auth_end, *host_end, *colon, *frag;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n, i;
	unsigned port = 0;

	memset(u, 0, sizeof(*u));
	u->port = 443;
	if ((n = strlen(s)) > HTTPC_MAX_URL) {
		str_errf(err, errlen, "URL longer than %d bytes", HTTPC_MAX_URL);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			str_errf(err, errlen, "URL contains a space, a control or a non-ASCII character");
			return (-1);
		}
	}
	if (strncasecmp(s, "https://", 8) != 0) {
		if (strncasecmp(s, "http://", 7) == 0)
			str_errf(err, errlen, "plain http URLs are not allowed: use https");
		else
			str_errf(err, errlen, "not an https URL");
		return (-1);
	}
	p = s + 8;
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p)) != NULL) {
		str_errf(err, errlen, "URL must not contain user information");
		return (-1);
	}
	if (*p == '[') {
		if ((host_end = memchr(p, ']', (size_t)(auth_end - p))) == NULL ||
		    (size_t)(host_end - p - 1) >= sizeof(u->host) || (host_end + 1 != auth_end && host_end[1] != ':')) {
			str_errf(err, errlen, "bad IPv6 address in URL");
			return (-1);
		}
		memcpy(u->host, p + 1, (size_t)(host_end - p - 1));
		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			str_errf(err, errlen, "bad IPv6 address in URL");
			return (-1);
		}
		u->literal = u->v6 = true;
		colon = host_end + 1 == auth_end ? NULL : host_end + 1;
	} else {
		colon = memchr(p, ':', (size_t)(auth_end - p));
		host_end = colon != NULL ? colon : auth_end;
		n = (size_t)(host_end - p);
		if (n > 0 && p[n - 1] == '.')
			n--; /* an absolute name: the same host */
		if (n == 0 || n >= sizeof(u->host)) {
			str_errf(err, errlen, n == 0 ? "URL has no host" : "host name in URL too long");
			return (-1);
		}
		memcpy(u->host, p, n);
		str_lower(u->host);
		if (!host_name_ok(u->host)) {
			str_errf(err, errlen, "bad host name in URL");
			return (-1);
		}
		if (last_label_numeric(u->host)) {
			if (inet_pton(AF_INET, u->host, &a4) != 1) {
				str_errf(err, errlen, "bad IPv4 address in URL");
				return (-1);
			}
			u->literal = true;
		}
	}
	if (colon != NULL) {
		for (p = colon + 1; p < auth_end && *p >= '0' && *p <= '9' && port <= 65535; p++)
			port = port * 10 + (unsigned)(*p - '0');
		if (p == colon + 1 || p != auth_end || port == 0 || port > 65535) {
			str_errf(err, errlen, "bad port in URL");
			return (-1);
		}
		u->port = port;
	}
	/* RFC 3986 §3.5: the fragment stays with the client. */
	frag = auth_end + strcspn(auth_end, "#");
	n = (size_t)(frag - auth_end);
	if ((u->target = malloc(n + 2)) == NULL) {
		str_errf(err, errlen, "out of memory");
		return (-1);
	}
	i = 0;
	if (n == 0 || *auth_end != '/')
		u->target[i++] = '/';
	memcpy(u->target + i, auth_end, n);
	u->target[i + n] = '\0';
	return (0);
}

/*
 * v4_refusal(a): why the IPv4 address ${a} (host order) is not a public unicast one, or NULL.
 * RFC 6890 §2.2.2 and the IANA IPv4 special-purpose address registry.
 */
static const char *
v4_refusal(uint32_t a)
{
	static const struct {
		uint32_t net;     /* network, host order */
		int bits;         /* prefix length */
		const char *kind; /* for "... addresses are not allowed" */
	} ranges[] = {
		{ 0x00000000, 8, "unspecified" },     /* 0.0.0.0/8 "this network" (RFC 791) */
		{ 0x0a000000, 8, "private" },         /* 10/8 (RFC 1918) */
		{ 0x64400000, 10, "shared (CGNAT)" }, /* 100.64/10 (RFC 6598) */
		{ 0x7f000000, 8, "loopback" },        /* 127/8 */
		{ 0xa9fe0000, 16, "link-local" },     /* 169.254/16 (RFC 3927), cloud metadata among them */
		{ 0xac100000, 12, "private" },        /* 172.16/12 (RFC 1918) */
		{ 0xc0000000, 24, "reserved" },       /* 192.0.0/24 IETF protocol assignments */
		{ 0xc0000200, 24, "documentation" },  /* 192.0.2/24 TEST-NET-1 (RFC 5737) */
		{ 0xc0586300, 24, "reserved" },       /* 192.88.99/24 6to4 relay anycast (RFC 7526) */
		{ 0xc0a80000, 16, "private" },        /* 192.168/16 (RFC 1918) */
		{ 0xc6120000, 15, "benchmarking" },   /* 198.18/15 (RFC 2544) */
		{ 0xc6336400, 24, "documentation" },  /* 198.51.100/24 TEST-NET-2 */
		{ 0xcb007100, 24, "documentation" },  /* 203.0.113/24 TEST-NET-3 */
		{ 0xe0000000, 4, "multicast" },       /* 224/4 */
		{ 0xf0000000, 4, "reserved" },        /* 240/4 (RFC 1112), 255.255.255.255 broadcast among them */
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if ((a & (0xffffffffu << (32 - ranges[i].bits))) == ranges[i].net)
			return (ranges[i].kind);
	return (NULL);
}

/*
 * v4_at(p): the IPv4 address in the four bytes at ${p}, host order.
 */
static uint32_t
v4_at(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/*
 * v6_refusal(a): why the IPv6 address ${a} is not a public unicast one, or NULL.  RFC 6890 §2.2.3 and the
 * IANA IPv6 special-purpose address registry; addresses that carry an IPv4 address (IPv4-mapped, NAT64 well-
 * known prefix, 6to4) are judged by it, and everything outside 2000::/3, the global unicast space (RFC 4291
 * §2.4), is reserved.
 */
static const char *
v6_refusal(const unsigned char a[16])
{
	static const unsigned char zero[12];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

	if (memcmp(a, zero, 12) == 0) {
		if (v4_at(a + 12) == 0)
			return ("unspecified");
		if (v4_at(a + 12) == 1)
			return ("loopback");
		return ("reserved"); /* ::/96 IPv4-compatible, deprecated (RFC 4291 §2.5.5.1) */
	}
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) /* RFC 4291 §2.5.5.2, RFC 6052 §2.1 */
		return (v4_refusal(v4_at(a + 12)));
	if ((a[0] & 0xfe) == 0xfc)
		return ("unique-local"); /* fc00::/7 (RFC 4193) */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return ("link-local"); /* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return ("site-local"); /* fec0::/10, deprecated (RFC 3879) */
	if (a[0] == 0xff)
		return ("multicast"); /* ff00::/8 */
	if ((a[0] & 0xe0) != 0x20)
		return ("reserved"); /* outside 2000::/3: 100::/64 discard, 64:ff9b:1::/48 local NAT64, ... */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02)
		return ("reserved"); /* 2001::/23 IETF protocol assignments: Teredo, ORCHID, benchmarking */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return ("documentation"); /* 2001:db8::/32 (RFC 3849) */
	if (a[0] == 0x20 && a[1] == 0x02)
		return (v4_refusal(v4_at(a + 2))); /* 2002::/16 6to4 (RFC 3056) */
	if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0)
		return ("documentation"); /* 3fff::/20 (RFC 9637) */
	return (NULL);
}

/*
 * addr_refusal(sa): why connecting to ${sa} is refused by default, or NULL when it is a public address.
 */
static const char *
addr_refusal(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (v4_refusal(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr)));
	if (sa->sa_family == AF_INET6)
		return (v6_refusal(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr));
	return ("non-IP");
}

/*
 * addr_format(sa, s, n): "192.0.2.1:443" or "[2001:db8::1]:443" into ${s}.
 */
static void
addr_format(const struct sockaddr *sa, char *s, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a)) == NULL)
			(void)snprintf(a, sizeof(a), "?");
		(void)snprintf(s, n, "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		if (inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a)) == NULL)
			(void)snprintf(a, sizeof(a), "?");
		(void)snprintf(s, n, "%s:%u", a, (unsigned)ntohs(s4->sin_port));
	}
}

/*
 * connect_one(c, ai, expiry, where, err, errlen): a non-blocking connect to exactly ${ai}, waiting until
 * ${expiry}; 0 with c->fd set, or -1 and a sentence.
 */
static int
connect_one(struct conn *c, const struct addrinfo *ai, uint64_t expiry, const char *where, char *err, size_t errlen)
{
	socklen_t len = sizeof(int);
	int fd, rc, soerr = 0;

	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)) == -1) {
		str_errf(err, errlen, "cannot connect to %s: %s", where, strerror(errno));
		return (-1);
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS) {
		str_errf(err, errlen, "cannot connect to %s: %s", where, strerror(errno));
		goto fail;
	}
	if ((rc = fd_wait(fd, POLLOUT, expiry)) == 0) {
		if (expiry >= c->expiry)
			str_errf(err, errlen, "timed out after %d ms connecting to %s", c->timeout_ms, where);
		else
			str_errf(err, errlen, "cannot connect to %s: timed out", where);
		goto fail;
	}
	if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1 || soerr != 0) {
		str_errf(err, errlen, "cannot connect to %s: %s", where, strerror(soerr != 0 ? soerr : errno));
		goto fail;
	}
ok:
	c->fd = fd;
	return (0);
fail:
	close(fd);
	return (-1);
}

/*
 * candidates(ai, allow_private): true when ${ai} or an address after it may be tried.
 */
static bool
candidates(const struct addrinfo *ai, bool allow_private)
{
	for (; ai != NULL; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    (allow_private || addr_refusal(ai->ai_addr) == NULL))
			return (true);
	return (false);
}

/*
 * tcp_connect(c, u, allow_private, err, errlen): resolve u->host and connect to the first of its addresses
 * that is allowed and answers.  An address with another allowed one after it may use half of what remains of
 * the deadline, so one that drops packets leaves time for the next.  0 with c->fd set, or -1 and a sentence
 * (the last failure's).
 */
static int
tcp_connect(struct conn *c, const struct url *u, bool allow_private, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8], where[INET6_ADDRSTRLEN + 16];
	const char *kind;
	uint64_t expiry;
	int rc, ret = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (u->literal ? AI_NUMERICHOST : 0);
	(void)snprintf(port, sizeof(port), "%u", u->port);
	/* Blocking, without a timeout of its own: see the file comment. */
	if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0) {
		str_errf(err, errlen, "cannot resolve %s: %s", u->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		goto out;
	}
	if (ms_left(c) == 0) {
		str_errf(err, errlen, "timed out after %d ms resolving %s", c->timeout_ms, u->host);
		goto out;
	}
	str_errf(err, errlen, "cannot resolve %s: no IPv4 or IPv6 address", u->host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		addr_format(ai->ai_addr, where, sizeof(where));
		if (!allow_private && (kind = addr_refusal(ai->ai_addr)) != NULL) {
			str_errf(err, errlen, "connection to %s refused: %s addresses are not allowed", where, kind);
			continue;
		}
		expiry = c->expiry;
		if (candidates(ai->ai_next, allow_private))
			expiry -= (uint64_t)ms_left(c) / 2;
		if (connect_one(c, ai, expiry, where, err, errlen) == 0) {
			ret = 0;
			goto out;
		}
		if (ms_left(c) == 0)
			goto out;
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	return (ret);
}

/*
 * tls_reason(ssl, rc, s, n): what went wrong in the last OpenSSL call (on ${ssl}, which returned ${rc}, when
 * ${ssl} is not NULL), into ${s}.
 */
static void
tls_reason(SSL *ssl, int rc, char *s, size_t n)
{
	unsigned long code = ERR_peek_last_error();
	const char *r;
	int save = errno, e = ssl != NULL ? SSL_get_error(ssl, rc) : SSL_ERROR_SSL;

	if (code != 0) {
		if ((r = ERR_reason_error_string(code)) != NULL)
			(void)snprintf(s, n, "%s", r);
		else
			ERR_error_string_n(code, s, n);
	} else if (e == SSL_ERROR_SYSCALL && save != 0)
		(void)snprintf(s, n, "%s", strerror(save));
	else
		(void)snprintf(s, n, "connection closed by the server");
}

/*
 * tls_wait(c, ssl_err): wait for what the TLS call that failed with ${ssl_err} needs.  1 when it may be
 * retried, 0 on timeout, -1 when it failed for good.
 */
static int
tls_wait(struct conn *c, int ssl_err)
{
	if (ssl_err == SSL_ERROR_WANT_READ)
		return (fd_wait(c->fd, POLLIN, c->expiry));
	if (ssl_err == SSL_ERROR_WANT_WRITE)
		return (fd_wait(c->fd, POLLOUT, c->expiry));
	return (-1);
}

/*
 * tls_start(c, u, ca_file, err, errlen): the TLS handshake over c->fd, the peer verified for u->host.
 */
static int
tls_start(struct conn *c, const struct url *u, const char *ca_file, char *err, size_t errlen)
{
	char why[256];
	long vr;
	int rc, w;

	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		str_errf(err, errlen, "cannot make a TLS context");
		return (-1);
	}
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
			tls_reason(NULL, 0, why, sizeof(why));
			str_errf(err, errlen, "cannot load CA file %s: %s", ca_file, why);
			return (-1);
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		str_errf(err, errlen, "cannot load the system's trusted certificates");
		return (-1);
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/* RFC 7301: say which protocol we speak, so a server that also offers HTTP/2 does not guess. */
	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x08http/1.1", 9) != 0) {
		str_errf(err, errlen, "cannot make a TLS session");
		return (-1);
	}
	if (u->literal) {
		/* RFC 6066 §3: no SNI for an address; RFC 6125 §1.7.2: match an iPAddress subjectAltName. */
		rc = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		rc = SSL_set1_host(c->ssl, u->host) == 1 && SSL_set_tlsext_host_name(c->ssl, u->host) == 1;
	}
	if (rc != 1) {
		str_errf(err, errlen, "cannot set the TLS peer name %s", u->host);
		return (-1);
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((rc = SSL_connect(c->ssl)) == 1)
			return (0);
		if ((w = tls_wait(c, SSL_get_error(c->ssl, rc))) == 1)
			continue;
		if (w == 0) {
			str_errf(
			    err, errlen, "timed out after %d ms in the TLS handshake with %s", c->timeout_ms, u->host);
			return (-1);
		}
		if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
			str_errf(err, errlen, "certificate verify failed for %s: %s", u->host,
			    X509_verify_cert_error_string(vr));
			return (-1);
		}
		tls_reason(c->ssl, rc, why, sizeof(why));
		str_errf(err, errlen, "TLS handshake with %s failed: %s", u->host, why);
		return (-1);
	}
}

/*
 * tls_write(c, host, p, n, err, errlen): send ${n} bytes at ${p}.
 */
static int
tls_write(struct conn *c, const char *host, const void *p, size_t n, char *err, size_t errlen)
{
	const char *s = p;
	char why[256];
	int rc, w, chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		ERR_clear_error();
		errno = 0;
		/* Without SSL_MODE_ENABLE_PARTIAL_WRITE, success means all ${chunk} bytes went. */
		if ((rc = SSL_write(c->ssl, s, chunk)) > 0) {
			s += rc;
			n -= (size_t)rc;
			continue;
		}
		if ((w = tls_wait(c, SSL_get_error(c->ssl, rc))) == 1)
			continue;
		if (w == 0) {
			str_errf(err, errlen, "timed out after %d ms sending the request to %s", c->timeout_ms, host);
			return (-1);
		}
		tls_reason(c->ssl, rc, why, sizeof(why));
		str_errf(err, errlen, "sending the request to %s failed: %s", host, why);
		return (-1);
	}
	return (0);
}

/*
 * header_line_ok(h): true when ${h} is "Name: value" with a token name, no CR or LF (RFC 9112 §2.2: they
 * would let a value inject fields or a second request), and a name httpc does not set itself.
 */
static bool
header_line_ok(const char *h, char *err, size_t errlen)
{
	static const char *const ours[] = { "Host", "Content-Length", "Connection", "User-Agent", "Transfer-Encoding" };
	size_t n, i;

	if (strpbrk(h, "\r\n") != NULL) {
		str_errf(err, errlen, "request header contains CR or LF");
		return (false);
	}
	for (n = 0; httpc_tchar(h[n]); n++)
		;
	if (n == 0 || h[n] != ':') {
		str_errf(err, errlen, "malformed request header");
		return (false);
	}
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		if (strlen(ours[i]) == n && strncasecmp(h, ours[i], n) == 0) {
			str_errf(err, errlen, "request header %s is set by the client itself", ours[i]);
			return (false);
		}
	}
	return (true);
}

/*
 * method_ok(m): true when ${m} is a token (RFC 9110 §9.1) of reasonable length.
 */
static bool
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (i == HTTPC_MAX_METHOD || !httpc_tchar(m[i]))
			return (false);
	return (i > 0);
}

/*
 * request_head(b, method, u, headers, body, body_len): the request line and header section into ${b}.
 */
static int
request_head(struct buf *b, const char *method, const struct url *u, const char *const *headers, const void *body,
    size_t body_len)
{
	size_t i;

	buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s%s%s", method, u->target, u->v6 ? "[" : "", u->host, u->v6 ? "]" : "");
	if (u->port != 443)
		buf_printf(b, ":%u", u->port);
	buf_puts(b, "\r\nUser-Agent: " HTTPC_USER_AGENT "\r\nConnection: close\r\n");
	if (body != NULL || body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0)
		buf_printf(b, "Content-Length: %zu\r\n", body_len);
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		buf_printf(b, "%s\r\n", headers[i]);
	buf_puts(b, "\r\n");
	return (b->err ? -1 : 0);
}

/*
 * response_read(c, host, head, max_body, out, err, errlen): read and parse the response until it is complete
 * or the connection ends.
 */
static int
response_read(
    struct conn *c, const char *host, bool head, size_t max_body, struct httpc_response **out, char *err, size_t errlen)
{
	struct httpc_parser p;
	struct buf raw;
	char chunk[HTTPC_READ_CHUNK], why[256], perr[256];
	unsigned long code;
	bool eof = false, clean = true;
	int rc, e, w, st, ret = -1;

	httpc_parser_init(&p, max_body, head);
	buf_init(&raw);
	/* A backstop: the parser refuses more than this before it could arrive. */
	raw.max = HTTPC_MAX_HEADER_BYTES + httpc_framing_max(p.max_body) + HTTPC_READ_CHUNK;
	raw.max = p.max_body > SIZE_MAX - raw.max ? SIZE_MAX - 1 : raw.max + p.max_body;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((rc = SSL_read(c->ssl, chunk, sizeof(chunk))) <= 0) {
			e = SSL_get_error(c->ssl, rc);
			if ((w = tls_wait(c, e)) == 1)
				continue;
			if (w == 0) {
				str_errf(err, errlen, "timed out after %d ms waiting for the response from %s",
				    c->timeout_ms, host);
				goto out;
			}
			code = ERR_peek_error();
			if (e == SSL_ERROR_ZERO_RETURN)
				eof = true;
			else if ((e == SSL_ERROR_SYSCALL && code == 0 && errno == 0) ||
			    (e == SSL_ERROR_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
				eof = true;
				clean = false;
			} else {
				tls_reason(c->ssl, rc, why, sizeof(why));
				str_errf(err, errlen, "reading the response from %s failed: %s", host, why);
				goto out;
			}
		} else if (buf_append(&raw, chunk, (size_t)rc) == -1) {
			str_errf(err, errlen, "response from %s larger than %zu bytes", host, raw.max);
			goto out;
		}
		/* RFC 9112 §9.8: without close_notify, the end of a close-delimited body may be an attacker's. */
		if (eof && !clean && p.state == HTTPC_PS_CLOSE) {
			str_errf(
			    err, errlen, "%s closed the connection without close_notify: body may be truncated", host);
			goto out;
		}
		if ((st = httpc_parser_feed(&p, raw.data, raw.len, eof, perr, sizeof(perr))) == HTTPC_PARSE_ERROR) {
			str_errf(err, errlen, "bad response from %s: %s", host, perr);
			goto out;
		}
		if (st == HTTPC_PARSE_DONE)
			break;
	}
	if ((*out = httpc_parser_take(&p)) == NULL) {
		str_errf(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	buf_release(&raw);
	httpc_parser_release(&p);
	return (ret);
}

/*
 * conn_close(c): say goodbye (close_notify, without waiting for the answer) and free everything.
 */
static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		if (SSL_is_init_finished(c->ssl))
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	ERR_clear_error();
}

/** httpc_request(method, url, headers, body, body_len, opts, out, err, errlen): one request.  ${headers} is a
 * NULL-terminated array of "Name: value" lines (may be NULL); Host, Content-Length, Connection and User-Agent
 * are added.  0 and a new *${out} (free with httpc_response_free) whatever the HTTP status; -1, *${out} NULL
 * and a sentence in ${err} on any transport failure (bad URL, not https, name resolution, refused address,
 * connect, TLS or certificate, timeout, malformed or oversized response).  ${opts} may be NULL for the
 * defaults; a timeout_ms of 0 or less means HTTPC_DEFAULT_TIMEOUT_MS.  Name resolution blocks the thread
 * (getaddrinfo(3)); the deadline is checked when it returns. */
int
httpc_request(const char *method, const char *url, const char *const *headers, const void *body, size_t body_len,
    const struct httpc_opts *opts, struct httpc_response **out, char *err, size_t errlen)
{
	static const struct httpc_opts defaults = { NULL, 0, 0, false };
	struct conn c = { -1, NULL, NULL, 0, 0 };
	struct sigpipe_guard guard;
	struct url u = { .target = NULL };
	struct buf req;
	bool blocked = false;
	size_t i;
	int ret = -1;

	buf_init(&req);
	if (out != NULL)
		*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	c.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS;
	c.expiry = time_mono_ms() + (uint64_t)c.timeout_ms;
	if (method == NULL || url == NULL || out == NULL || (body == NULL && body_len > 0)) {
		str_errf(err, errlen, "httpc_request: bad arguments");
		goto out;
	}
	if (!method_ok(method)) {
		str_errf(err, errlen, "bad request method");
		goto out;
	}
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		if (!header_line_ok(headers[i], err, errlen))
			goto out;
	if (url_parse(url, &u, err, errlen) == -1)
		goto out;
	if (request_head(&req, method, &u, headers, body, body_len) == -1) {
		str_errf(err, errlen, "request headers too large");
		goto out;
	}
	sigpipe_block(&guard);
	blocked = true;
	if (tcp_connect(&c, &u, opts->allow_private, err, errlen) == -1 ||
	    tls_start(&c, &u, opts->ca_file, err, errlen) == -1 ||
	    tls_write(&c, u.host, req.data, req.len, err, errlen) == -1 ||
	    (body_len > 0 && tls_write(&c, u.host, body, body_len, err, errlen) == -1))
		goto out;
	if (response_read(&c, u.host, strcmp(method, "HEAD") == 0, opts->max_body, out, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	conn_close(&c);
	if (blocked)
		sigpipe_restore(&guard);
	buf_release(&req);
	free(u.target);
	return (ret);
}
