/*
 * conf.c: the configuration: embedded defaults, the "key = value" file parser and the checks of the result.
 *
 * Every key is one row of conf_keys[] (name, type, offset into struct conf, range, default, validator), so
 * conf_init, conf_load, conf_check and anchorid.conf.example all follow the same table.
 *
 * OpenID Connect Discovery 1.0 §3 (issuer: https, no query or fragment), RFC 6749 §4.1.2 (codes live at
 * most 10 minutes), RFC 9106 §3.1 and the argon2 reference limits (m >= 8p KiB, t >= 1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "util.h"

enum conf_type {
	CONF_STR,   /* char *: a string the struct owns */
	CONF_BOOL,  /* bool: yes/no, true/false, on/off */
	CONF_INT,   /* int within [min, max] */
	CONF_I64,   /* int64_t within [min, max] */
	CONF_ADDRS, /* trusted_proxies: IP addresses, repeatable, space-separated lists allowed */
};

struct conf_key {
	const char *name; /* the key in the file, exactly the field name */
	enum conf_type type;
	size_t off;          /* offsetof(struct conf, field) */
	int64_t min, max;    /* CONF_INT, CONF_I64: the accepted range */
	int64_t def;         /* CONF_BOOL, CONF_INT, CONF_I64: the default */
	const char *def_str; /* CONF_STR: the default (NULL: unset) */
	/* CONF_STR: optional form check, applied when set and by conf_check: NULL when ${v} is acceptable,
	 * else what is wrong with it. */
	const char *(*check)(const char *v);
};

static const char *conf_check_issuer_form(const char *);
static const char *conf_check_listen(const char *);
static const char *conf_check_log_level(const char *);
static const char *conf_check_alg(const char *);
static const char *conf_check_sync(const char *);
static const char *conf_check_nonempty(const char *);
static const char *conf_check_upstreams(const char *);
static const char *conf_check_dnssec(const char *);
static const char *conf_check_login_dns(const char *);

/* One aligned row per key reads better than what the formatter makes of it. */
/* clang-format off */
#define DAY	86400
#define S(f, d, chk)		{ #f, CONF_STR, offsetof(struct conf, f), 0, 0, 0, d, chk }
#define B(f, d)			{ #f, CONF_BOOL, offsetof(struct conf, f), 0, 1, d, NULL, NULL }
#define I(f, lo, hi, d)		{ #f, CONF_INT, offsetof(struct conf, f), lo, hi, d, NULL, NULL }
#define L(f, lo, hi, d)		{ #f, CONF_I64, offsetof(struct conf, f), lo, hi, d, NULL, NULL }

/* The ranges are what a sane deployment could want; anchorid.conf.example documents each. */
static const struct conf_key conf_keys[] = {
	/* [server] */
	S(issuer, "https://localhost:8443", conf_check_issuer_form),
	S(listen, "127.0.0.1", conf_check_listen),
	I(port, 1, 65535, 8443),
	B(tls, 1),
	S(tls_cert, "certs/server.pem", NULL),
	S(tls_key, "certs/server.key", NULL),
	{ "trusted_proxies", CONF_ADDRS, offsetof(struct conf, trusted_proxies), 0, CONF_MAX_PROXIES, 0, NULL,
	    NULL },
	I(threads, 0, 1024, 0),
	I(max_connections, 1, 65536, 1024),
	I(conn_timeout, 1, 3600, 30),
	S(www_dir, "www", conf_check_nonempty),
	S(database, "var/anchorid.db", conf_check_nonempty),
	S(database_sync, "full", conf_check_sync),
	S(access_log, "-", conf_check_nonempty),
	S(log_level, "info", conf_check_log_level),
	B(registration_200, 0),

	/* [lifetimes] seconds */
	L(code_ttl, 1, 600, 60),
	L(id_token_ttl, 60, DAY, 900),
	L(access_token_ttl, 60, DAY, 600),
	L(refresh_token_ttl, 60, 365 * DAY, 30 * DAY),
	L(session_ttl, 60, 30 * DAY, 8 * 3600),
	L(setup_ttl, 300, 30 * DAY, DAY),
	L(client_idle_ttl, DAY, 2 * 365 * DAY, 90 * DAY),
	L(key_activation_delay, 0, 7 * DAY, 3600),
	L(auth_request_ttl, 60, DAY, 900),

	/* [crypto] */
	S(access_token_alg, "ES256", conf_check_alg),
	I(rsa_bits, 2048, 4096, 2048),

	/* [passwords] argon2id */
	I(argon2_t_cost, 1, 100, 3),
	I(argon2_m_cost, 8, 4 * 1024 * 1024, 65536),
	I(argon2_parallelism, 1, 64, 1),
	I(argon2_max_concurrent, 1, 1024, 4),
	I(password_min_length, 8, 256, 10),

	/* [limits] */
	I(login_max_failures, 1, 1000, 5),
	L(login_max_delay, 0, DAY, 900),
	I(registration_per_hour, 1, 100000, 20),
	I(max_clients_per_source, 1, 1000000, 200),

	/* [dns] */
	S(dns_upstreams, "", conf_check_upstreams),
	S(dns_trust_anchor, "/usr/share/dns/root.key", conf_check_nonempty),
	I(dns_timeout_ms, 100, 60000, 2000),
	B(dns_tcp_fallback, 1),
	I(dns_cache_entries, 0, 10000000, 10000),
	I(dns_cache_max_ttl, 0, DAY, 3600),
	S(dnssec, "require", conf_check_dnssec),
	S(login_dns_check, "auto", conf_check_login_dns),

	/* [agents] */
	L(agent_authz_ttl, 1, DAY, 3600),
	I(agent_authz_per_hour, 1, 1000000, 600),

	/* [outbound] */
	S(outbound_ca_file, "", NULL),
	B(outbound_allow_private, 0),
	I(outbound_timeout_ms, 100, 60000, 10000),
};

#undef S
#undef B
#undef I
#undef L
/* clang-format on */

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))
#define CFIELD(c, k, type) ((const type *)(const void *)((const char *)(c) + (k)->off))

/** conf_init(c): fill ${c} with the embedded defaults; -1 on memory failure (${c} is then released).
 * Release with conf_release. */
int
conf_init(struct conf *c)
{
	const struct conf_key *k;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_STR:
			if (k->def_str != NULL && (*FIELD(c, k, char *) = strdup(k->def_str)) == NULL) {
				conf_release(c);
				return (-1);
			}
			break;
		case CONF_BOOL:
			*FIELD(c, k, bool) = k->def != 0;
			break;
		case CONF_INT:
			*FIELD(c, k, int) = (int)k->def;
			break;
		case CONF_I64:
			*FIELD(c, k, int64_t) = k->def;
			break;
		case CONF_ADDRS:
			break;
		}
	}
	return (0);
}

/* conf_clear_proxies(c): forget every trusted proxy. */
static void
conf_clear_proxies(struct conf *c)
{
	int i;

	for (i = 0; i < CONF_MAX_PROXIES; i++) {
		free(c->trusted_proxies[i]);
		c->trusted_proxies[i] = NULL;
	}
	c->n_trusted_proxies = 0;
}

/** conf_release(c): free every string ${c} owns and set the pointers to NULL; a zeroed ${c} is fine. */
void
conf_release(struct conf *c)
{
	size_t i;
	char **p;

	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].type == CONF_STR) {
			p = FIELD(c, &conf_keys[i], char *);
			free(*p);
			*p = NULL;
		}
	conf_clear_proxies(c);
}

/** conf_is_loopback(addr): true for 127.0.0.0/8, ::1 (and its IPv4-mapped form ::ffff:127.x.y.z) and
 * "localhost"; false for NULL or anything else. */
bool
conf_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (addr == NULL)
		return (false);
	if (strcmp(addr, "localhost") == 0)
		return (true);
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return (true);
		return (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	}
	return (false);
}

/* conf_is_ip(s): true for an IPv4 or IPv6 address literal. */
static bool
conf_is_ip(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1);
}

static const char *
conf_check_nonempty(const char *v)
{
	return (*v == '\0' ? "must not be empty" : NULL);
}

static const char *
conf_check_listen(const char *v)
{
	if (strcmp(v, "localhost") == 0 || conf_is_ip(v))
		return (NULL);
	return ("must be an IPv4 or IPv6 address or \"localhost\"");
}

static const char *
conf_check_log_level(const char *v)
{
	enum log_level l;

	return (log_level_parse(v, &l) == 0 ? NULL : "must be one of error, warn, info, debug");
}

static const char *
conf_check_sync(const char *v)
{
	if (strcmp(v, "full") == 0 || strcmp(v, "normal") == 0)
		return (NULL);
	return ("must be full or normal");
}

static const char *
conf_check_alg(const char *v)
{
	if (strcmp(v, "ES256") == 0 || strcmp(v, "RS256") == 0)
		return (NULL);
	return ("must be ES256 or RS256");
}

/*
 * conf_check_issuer_form(v): the issuer is compared byte for byte by relying parties (OpenID Connect Core
 * §3.1.3.7 step 2), so it must be one canonical absolute URL: lower-case scheme, a host, an optional port
 * and path, no userinfo, query, fragment or trailing slash.  Whether http is allowed is decided by
 * conf_check, which knows tls and listen.
 */
static const char *
conf_check_issuer_form(const char *v)
{
	const char *host, *p;

	if (str_has_prefix(v, "https://"))
		host = v + strlen("https://");
	else if (str_has_prefix(v, "http://"))
		host = v + strlen("http://");
	else
		return ("must be an absolute https URL");
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return ("must not contain spaces, control or non-ASCII characters");
	if (strchr(v, '?') != NULL)
		return ("must not have a query");
	if (strchr(v, '#') != NULL)
		return ("must not have a fragment");
	if (*host == '\0' || *host == '/' || *host == ':')
		return ("must have a host");
	p = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(p - host)) != NULL)
		return ("must not contain userinfo");
	if (v[strlen(v) - 1] == '/')
		return ("must not end with a slash");
	return (NULL);
}

static const char *
conf_check_dnssec(const char *v)
{
	if (strcmp(v, "require") == 0 || strcmp(v, "allow-insecure") == 0)
		return (NULL);
	return ("must be require or allow-insecure");
}

static const char *
conf_check_login_dns(const char *v)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
		return (NULL);
	return ("must be auto, on or off");
}

/* conf_check_upstreams(v): "" or space-separated "ADDR" / "ADDR@PORT" (IPv4 or IPv6, port 1..65535). */
static const char *
conf_check_upstreams(const char *v)
{
	char buf[CONF_MAX_LINE + 1], *w, *at, *save = NULL;
	int64_t port;
	int n = 0;

	if (strlen(v) > CONF_MAX_LINE)
		return ("too long");
	memcpy(buf, v, strlen(v) + 1);
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (++n > 8)
			return ("at most 8 upstreams");
		if ((at = strrchr(w, '@')) != NULL) {
			*at = '\0';
			if (str_parse_i64(at + 1, 1, 65535, &port) == -1)
				return ("must be IPv4 or IPv6 addresses, each optionally followed by @PORT (1..65535)");
		}
		if (!conf_is_ip(w))
			return ("must be IPv4 or IPv6 addresses, each optionally followed by @PORT (1..65535)");
	}
	return (NULL);
}

/* conf_parse_bool(v, out): yes/no, true/false, on/off (any case); -1 otherwise. */
static int
conf_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on" }, *const no[] = { "no", "false", "off" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return (0);
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return (0);
		}
	}
	return (-1);
}

/*
 * conf_add_proxies(c, v, msg): append the space- or tab-separated addresses of ${v} to the trusted proxies;
 * -1 with *${msg} set on a bad address or too many.
 */
static int
conf_add_proxies(struct conf *c, char *v, const char **msg)
{
	char *w, *save = NULL;
	int n = 0;

	for (w = strtok_r(v, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (!conf_is_ip(w)) {
			*msg = "bad value for trusted_proxies: must be IPv4 or IPv6 addresses";
			return (-1);
		}
		if (c->n_trusted_proxies >= CONF_MAX_PROXIES) {
			*msg = "too many trusted_proxies (at most 16)";
			return (-1);
		}
		if ((c->trusted_proxies[c->n_trusted_proxies] = strdup(w)) == NULL) {
			*msg = "out of memory";
			return (-1);
		}
		c->n_trusted_proxies++;
		n++;
	}
	if (n == 0) {
		*msg = "bad value for trusted_proxies: empty";
		return (-1);
	}
	return (0);
}

/*
 * conf_set(c, k, v, msgbuf, msglen): parse ${v} as the value of ${k} into ${c}; -1 with a message in
 * ${msgbuf} when the value is bad.  ${v} may be modified.
 */
static int
conf_set(struct conf *c, const struct conf_key *k, char *v, char *msgbuf, size_t msglen)
{
	const char *msg = NULL;
	int64_t n;
	char *s, **sp;

	switch (k->type) {
	case CONF_STR:
		if (k->check != NULL && (msg = k->check(v)) != NULL) {
			str_errf(msgbuf, msglen, "bad value for %s: %s", k->name, msg);
			return (-1);
		}
		if ((s = strdup(v)) == NULL) {
			str_errf(msgbuf, msglen, "out of memory");
			return (-1);
		}
		sp = FIELD(c, k, char *);
		free(*sp);
		*sp = s;
		return (0);
	case CONF_BOOL:
		if (conf_parse_bool(v, FIELD(c, k, bool)) == -1) {
			str_errf(msgbuf, msglen, "bad value for %s: must be yes/no, true/false or on/off", k->name);
			return (-1);
		}
		return (0);
	case CONF_INT:
	case CONF_I64:
		if (str_parse_i64(v, k->min, k->max, &n) == -1) {
			str_errf(msgbuf, msglen, "bad value for %s: must be an integer in %lld..%lld", k->name,
			    (long long)k->min, (long long)k->max);
			return (-1);
		}
		if (k->type == CONF_INT)
			*FIELD(c, k, int) = (int)n;
		else
			*FIELD(c, k, int64_t) = n;
		return (0);
	case CONF_ADDRS:
		if (conf_add_proxies(c, v, &msg) == -1) {
			str_errf(msgbuf, msglen, "%s", msg);
			return (-1);
		}
		return (0);
	}
	return (-1);
}

/*
 * conf_read_line(fp, line, size, len): read one line without its newline into ${line} (NUL-terminated);
 * 1 on a line, 0 at end of file, -1 when the line is longer than ${size} - 1 bytes (the rest of it is
 * consumed), -2 when it contains a NUL byte, -3 on a read error.
 */
static int
conf_read_line(FILE *fp, char *line, size_t size, size_t *len)
{
	size_t n = 0;
	bool toolong = false, nul = false;
	int ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (ch == '\0')
			nul = true;
		if (n < size - 1)
			line[n++] = (char)ch;
		else
			toolong = true;
	}
	line[n] = '\0';
	*len = n;
	if (ferror(fp))
		return (-3);
	if (ch == EOF && n == 0 && !toolong && !nul)
		return (0);
	if (toolong)
		return (-1);
	if (nul)
		return (-2);
	return (1);
}

/*
 * conf_parse_line(line, key, val, msg): split one line in place.  0 with *${key} NULL for a blank or comment
 * line, 0 with *${key} and *${val} set for "key = value", -1 with *${msg} on a syntax error.
 */
static int
conf_parse_line(char *line, char **key, char **val, const char **msg)
{
	char *p, *q, *end;

	*key = *val = NULL;
	p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\r')
		goto blank;
	*key = p;
	/* Keys are lower-case, but any word is read as one so that "Port = 1" is an unknown key. */
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
	    *p == '-' || *p == '.')
		p++;
	if (p == *key) {
		*msg = "syntax error: expected \"key = value\"";
		return (-1);
	}
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=') {
		*msg = "syntax error: expected \"key = value\"";
		return (-1);
	}
	*end = '\0';
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		/* Quoted: \" and \\ are the only escapes; after the closing quote only a comment may follow. */
		*val = q = ++p;
		for (;; p++) {
			if (*p == '\0') {
				*msg = "unterminated quoted value";
				return (-1);
			}
			if (*p == '"')
				break;
			if (*p == '\\') {
				if (p[1] != '"' && p[1] != '\\') {
					*msg = "bad escape in quoted value (only \\\" and \\\\)";
					return (-1);
				}
				p++;
			}
			*q++ = *p;
		}
		*q = '\0';
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p != '\0' && *p != '#') {
			*msg = "unexpected text after quoted value";
			return (-1);
		}
	} else {
		/* Unquoted: up to a '#', trailing whitespace trimmed. */
		*val = p;
		p += strcspn(p, "#");
		*p = '\0';
		while (p > *val && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
			*--p = '\0';
		if (**val == '\0') {
			*msg = "missing value (use \"\" for an empty string)";
			return (-1);
		}
	}
	for (p = *val; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			*msg = "control character in value";
			return (-1);
		}
	return (0);
blank:
	*key = NULL;
	return (0);
}

/** conf_load(c, path, err, errlen): apply the file at ${path} over the values already in ${c} (the first
 * trusted_proxies line of the file replaces the list, later ones append), then check the result as a whole
 * (conf_check).  On error writes "path:line: message" (or "path: message" when no line is to blame) into
 * ${err} and returns -1; ${c} may then hold some of the file's values and must still be conf_release'd. */
int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[CONF_MAX_LINE + 1], msgbuf[256], chk[512];
	bool seen[CONF_NKEYS];
	const struct conf_key *k;
	const char *msg;
	char *key, *val;
	FILE *fp = NULL;
	size_t len, i;
	int lineno = 0, r, ret = -1;

	memset(seen, 0, sizeof(seen));
	if ((fp = fopen(path, "re")) == NULL) {
		str_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((r = conf_read_line(fp, line, sizeof(line), &len)) != 0) {
		lineno++;
		if (r == -3) {
			str_errf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == -1) {
			str_errf(err, errlen, "%s:%d: line too long (at most %d bytes)", path, lineno, CONF_MAX_LINE);
			goto out;
		}
		if (r == -2) {
			str_errf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
			goto out;
		}
		if (conf_parse_line(line, &key, &val, &msg) == -1) {
			str_errf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto out;
		}
		if (key == NULL)
			continue;
		for (i = 0; i < CONF_NKEYS; i++)
			if (strcmp(conf_keys[i].name, key) == 0)
				break;
		if (i == CONF_NKEYS) {
			str_errf(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, key);
			goto out;
		}
		k = &conf_keys[i];
		if (seen[i] && k->type != CONF_ADDRS) {
			str_errf(err, errlen, "%s:%d: duplicate key \"%s\"", path, lineno, key);
			goto out;
		}
		if (!seen[i] && k->type == CONF_ADDRS)
			conf_clear_proxies(c);
		seen[i] = true;
		if (conf_set(c, k, val, msgbuf, sizeof(msgbuf)) == -1) {
			str_errf(err, errlen, "%s:%d: %s", path, lineno, msgbuf);
			goto out;
		}
	}
	if (conf_check(c, chk, sizeof(chk)) == -1) {
		str_errf(err, errlen, "%s: %s", path, chk);
		goto out;
	}
	ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return (ret);
}

/** conf_check(c, err, errlen): the checks that need the whole configuration: every number within its range,
 * every string key set and well-formed, issuer form (https, or http only when tls is off and listen is
 * loopback or a trusted proxy is configured), tls_cert/tls_key named when tls is on, plain HTTP only on
 * loopback or behind a trusted proxy, argon2 m_cost >= 8 * parallelism.  -1 with a message on error. */
int
conf_check(const struct conf *c, char *err, size_t errlen)
{
	const struct conf_key *k;
	const char *s, *msg;
	int64_t n;
	size_t i;
	int j;

	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_STR:
			s = *CFIELD(c, k, char *);
			if (k->check == NULL)
				break;
			if (s == NULL) {
				str_errf(err, errlen, "%s is not set", k->name);
				return (-1);
			}
			if ((msg = k->check(s)) != NULL) {
				str_errf(err, errlen, "bad value for %s: %s", k->name, msg);
				return (-1);
			}
			break;
		case CONF_INT:
		case CONF_I64:
			n = k->type == CONF_INT ? *CFIELD(c, k, int) : *CFIELD(c, k, int64_t);
			if (n < k->min || n > k->max) {
				str_errf(err, errlen, "bad value for %s: must be an integer in %lld..%lld", k->name,
				    (long long)k->min, (long long)k->max);
				return (-1);
			}
			break;
		case CONF_BOOL:
			break;
		case CONF_ADDRS:
			if (c->n_trusted_proxies < 0 || c->n_trusted_proxies > CONF_MAX_PROXIES) {
				str_errf(err, errlen, "too many trusted_proxies (at most %d)", CONF_MAX_PROXIES);
				return (-1);
			}
			for (j = 0; j < c->n_trusted_proxies; j++)
				if (c->trusted_proxies[j] == NULL || !conf_is_ip(c->trusted_proxies[j])) {
					str_errf(err, errlen,
					    "bad value for trusted_proxies: must be IPv4 or IPv6 "
					    "addresses");
					return (-1);
				}
			break;
		}
	}
	if (c->tls) {
		if (c->tls_cert == NULL || *c->tls_cert == '\0' || c->tls_key == NULL || *c->tls_key == '\0') {
			str_errf(err, errlen, "tls is on but tls_cert or tls_key is not set");
			return (-1);
		}
	} else if (!conf_is_loopback(c->listen) && c->n_trusted_proxies == 0) {
		/* Passwords and tokens must not cross a network in clear text. */
		str_errf(err, errlen,
		    "plain HTTP (tls = no) is only allowed when listen is a loopback address "
		    "or trusted_proxies is set");
		return (-1);
	}
	/* OpenID Connect Discovery 1.0 §3: the issuer uses https; http only for local development (plain HTTP
	 * on loopback) or behind a TLS-terminating proxy. */
	if (!str_has_prefix(c->issuer, "https://") && c->tls) {
		str_errf(err, errlen, "bad value for issuer: must be an https URL when tls is on");
		return (-1);
	}
	if (!str_has_prefix(c->issuer, "https://") && !conf_is_loopback(c->listen) && c->n_trusted_proxies == 0) {
		str_errf(err, errlen,
		    "bad value for issuer: http is only allowed on loopback or behind a "
		    "trusted proxy");
		return (-1);
	}
	/* Argon2 needs at least 8 KiB of memory per lane (2 blocks per sync point, 4 sync points). */
	if ((int64_t)c->argon2_m_cost < 8 * (int64_t)c->argon2_parallelism) {
		str_errf(err, errlen, "argon2_m_cost must be at least 8 * argon2_parallelism");
		return (-1);
	}
	return (0);
}
