/*
 * test_conf.c: the defaults, every class of error with its exact "file:line:" prefix, quoting, the
 * cross-field checks (plain HTTP, issuer form, argon2) and anchorid.conf.example.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "test.h"

static char tmpdir[] = "/tmp/anchorid-test-conf.XXXXXX";
static char cfpath[64];

/* write_file(path, text, len): replace ${path} with ${len} bytes of ${text}. */
static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
}

/* load(c, text, err): conf_init ${c}, then conf_load the file holding ${text}; conf_load's result. */
static int
load(struct conf *c, const char *text, char *err, size_t errlen)
{
	write_file(cfpath, text, strlen(text));
	if (conf_init(c) == -1) {
		fprintf(stderr, "conf_init failed\n");
		exit(2);
	}
	err[0] = '\0';
	return (conf_load(c, cfpath, err, errlen));
}

/* fails_with(text, want): loading ${text} fails with exactly "<path>${want}" (want starts with ":line: "
 * or ": "). */
static bool
fails_with(const char *text, const char *want)
{
	char err[512], exp[512];
	struct conf c;
	int r;

	r = load(&c, text, err, sizeof(err));
	conf_release(&c);
	snprintf(exp, sizeof(exp), "%s%s", cfpath, want);
	if (r != -1 || strcmp(err, exp) != 0) {
		fprintf(stderr, "  loading [%s]: rc %d, err \"%s\", expected \"%s\"\n", text, r, err, exp);
		return (false);
	}
	return (true);
}

/* loads(text): loading ${text} succeeds. */
static bool
loads(const char *text)
{
	char err[512];
	struct conf c;
	int r;

	r = load(&c, text, err, sizeof(err));
	conf_release(&c);
	if (r != 0)
		fprintf(stderr, "  loading [%s]: %s\n", text, err);
	return (r == 0);
}

static void
test_defaults(void)
{
	char err[256];
	struct conf c;

	CHECK(conf_init(&c) == 0);
	CHECK_STR(c.issuer, "https://localhost:8443");
	CHECK_STR(c.listen, "127.0.0.1");
	CHECK(c.port == 8443);
	CHECK(c.tls);
	CHECK_STR(c.tls_cert, "certs/server.pem");
	CHECK_STR(c.tls_key, "certs/server.key");
	CHECK(c.n_trusted_proxies == 0 && c.trusted_proxies[0] == NULL);
	CHECK(c.threads == 0);
	CHECK(c.max_connections == 1024);
	CHECK(c.conn_timeout == 30);
	CHECK_STR(c.www_dir, "www");
	CHECK_STR(c.database, "var/anchorid.db");
	CHECK_STR(c.access_log, "-");
	CHECK_STR(c.log_level, "info");
	CHECK(!c.registration_200);
	CHECK(c.code_ttl == 60);
	CHECK(c.id_token_ttl == 900);
	CHECK(c.access_token_ttl == 600);
	CHECK(c.refresh_token_ttl == 2592000);
	CHECK(c.session_ttl == 28800);
	CHECK(c.setup_ttl == 86400);
	CHECK(c.client_idle_ttl == 7776000);
	CHECK(c.key_activation_delay == 3600);
	CHECK(c.auth_request_ttl == 900);
	CHECK_STR(c.access_token_alg, "ES256");
	CHECK(c.rsa_bits == 2048);
	CHECK(c.argon2_t_cost == 3);
	CHECK(c.argon2_m_cost == 65536);
	CHECK(c.argon2_parallelism == 1);
	CHECK(c.argon2_max_concurrent == 4);
	CHECK(c.password_min_length == 10);
	CHECK(c.login_max_failures == 5);
	CHECK(c.login_max_delay == 900);
	CHECK(c.registration_per_hour == 20);
	CHECK(c.max_clients_per_source == 200);
	CHECK(conf_check(&c, err, sizeof(err)) == 0);
	conf_release(&c);
	CHECK(c.issuer == NULL && c.log_level == NULL);
	conf_release(&c); /* twice is harmless */
}

static void
test_load_values(void)
{
	char err[256];
	struct conf c;

	CHECK(load(&c,
	          "# a comment\n"
	          "\n"
	          "   \t\n"
	          "issuer = https://id.example.org/anchor\n"
	          "listen=::\n"
	          "  port\t=\t443   # trailing comment\n"
	          "tls = On\n"
	          "tls_cert = /etc/anchorid/cert.pem\r\n"
	          "tls_key = \"/etc/anchorid/key.pem\"\n"
	          "threads = 8\n"
	          "registration_200 = true\n"
	          "code_ttl = 30\n"
	          "refresh_token_ttl = 31536000\n"
	          "access_token_alg = RS256\n"
	          "rsa_bits = 4096\n"
	          "argon2_m_cost = 16\n"
	          "argon2_parallelism = 2\n"
	          "log_level = debug\n"
	          "login_max_delay = 0\n",
	          err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK_STR(c.issuer, "https://id.example.org/anchor");
	CHECK_STR(c.listen, "::");
	CHECK(c.port == 443);
	CHECK(c.tls);
	CHECK_STR(c.tls_cert, "/etc/anchorid/cert.pem");
	CHECK_STR(c.tls_key, "/etc/anchorid/key.pem");
	CHECK(c.threads == 8);
	CHECK(c.registration_200);
	CHECK(c.code_ttl == 30);
	CHECK(c.refresh_token_ttl == 31536000);
	CHECK_STR(c.access_token_alg, "RS256");
	CHECK(c.rsa_bits == 4096);
	CHECK(c.argon2_m_cost == 16 && c.argon2_parallelism == 2);
	CHECK_STR(c.log_level, "debug");
	CHECK(c.login_max_delay == 0);
	/* Untouched keys keep their defaults. */
	CHECK(c.max_connections == 1024);
	CHECK_STR(c.database, "var/anchorid.db");
	conf_release(&c);

	/* An empty file changes nothing; so does a file of comments without a final newline. */
	CHECK(loads(""));
	CHECK(loads("# only a comment"));
	CHECK(loads("port = 1"));
}

static void
test_quoting(void)
{
	char err[256];
	struct conf c;

	CHECK(load(&c,
	          "database = \"var/a b#c.db\"   # the '#' inside quotes is kept\n"
	          "www_dir = \"dir \\\"quoted\\\" back\\\\slash\"\n"
	          "access_log = unquoted value with spaces   \t\n"
	          "tls_cert = \"\"\n"
	          "tls = no\n",
	          err, sizeof(err)) == 0);
	CHECK_STR(c.database, "var/a b#c.db");
	CHECK_STR(c.www_dir, "dir \"quoted\" back\\slash");
	CHECK_STR(c.access_log, "unquoted value with spaces");
	CHECK_STR(c.tls_cert, "");
	conf_release(&c);

	/* Quotes are optional around numbers and booleans too. */
	CHECK(load(&c, "port = \"8080\"\ntls = \"yes\"\n", err, sizeof(err)) == 0);
	CHECK(c.port == 8080 && c.tls);
	conf_release(&c);

	CHECK(fails_with("www_dir = \"abc\n", ":1: unterminated quoted value"));
	CHECK(fails_with("\nwww_dir = \"a\\nb\"\n", ":2: bad escape in quoted value (only \\\" and \\\\)"));
	CHECK(fails_with("www_dir = \"abc\\\"\n", ":1: unterminated quoted value"));
	CHECK(fails_with("www_dir = \"abc\" def\n", ":1: unexpected text after quoted value"));
	CHECK(loads("www_dir = \"a\tb\"\n")); /* a tab is not a control character here */
	CHECK(loads("www_dir = \"abc\"   # fine\n"));
	CHECK(fails_with("www_dir = \"\"\n", ":1: bad value for www_dir: must not be empty"));
}

static void
test_errors(void)
{
	char line[CONF_MAX_LINE + 16], err[512], exp[512];
	struct conf c;
	int r;

	/* Cannot open: "path: strerror". */
	CHECK(conf_init(&c) == 0);
	r = conf_load(&c, "/nonexistent/anchorid.conf", err, sizeof(err));
	CHECK(r == -1);
	CHECK_STR(err, "/nonexistent/anchorid.conf: No such file or directory");
	/* A directory opens but cannot be read. */
	r = conf_load(&c, tmpdir, err, sizeof(err));
	snprintf(exp, sizeof(exp), "%s: Is a directory", tmpdir);
	CHECK(r == -1);
	CHECK_STR(err, exp);
	/* A NULL or empty err buffer is allowed. */
	CHECK(conf_load(&c, "/nonexistent/anchorid.conf", NULL, 0) == -1);
	conf_release(&c);

	CHECK(fails_with("port = 1\n\n# c\nnosuchkey = 1\n", ":4: unknown key \"nosuchkey\""));
	CHECK(fails_with("Port = 1\n", ":1: unknown key \"Port\""));
	CHECK(fails_with("trusted-proxies = ::1\n", ":1: unknown key \"trusted-proxies\""));
	CHECK(fails_with("port = 1\nthreads = 2\nport = 1\n", ":3: duplicate key \"port\""));
	CHECK(
	    fails_with("issuer = \"https://a.example\"\nissuer = https://a.example\n", ":2: duplicate key \"issuer\""));
	CHECK(fails_with("port\n", ":1: syntax error: expected \"key = value\""));
	CHECK(fails_with("port 8443\n", ":1: syntax error: expected \"key = value\""));
	CHECK(fails_with("= 8443\n", ":1: syntax error: expected \"key = value\""));
	CHECK(fails_with("port =\n", ":1: missing value (use \"\" for an empty string)"));
	CHECK(fails_with("port = # nothing\n", ":1: missing value (use \"\" for an empty string)"));
	CHECK(fails_with("www_dir = a\x01"
	                 "b\n",
	    ":1: control character in value"));

	/* Bad values, one per type. */
	CHECK(fails_with("port = 0\n", ":1: bad value for port: must be an integer in 1..65535"));
	CHECK(fails_with("port = 65536\n", ":1: bad value for port: must be an integer in 1..65535"));
	CHECK(fails_with("port = 84a3\n", ":1: bad value for port: must be an integer in 1..65535"));
	CHECK(fails_with("port = -1\n", ":1: bad value for port: must be an integer in 1..65535"));
	CHECK(fails_with("port = 99999999999999999999999\n", ":1: bad value for port: must be an integer in 1..65535"));
	CHECK(fails_with("code_ttl = 601\n", ":1: bad value for code_ttl: must be an integer in 1..600"));
	CHECK(fails_with("rsa_bits = 1024\n", ":1: bad value for rsa_bits: must be an integer in 2048..4096"));
	CHECK(fails_with("argon2_m_cost = 7\n", ":1: bad value for argon2_m_cost: must be an integer in 8..4194304"));
	CHECK(fails_with("tls = maybe\n", ":1: bad value for tls: must be yes/no, true/false or on/off"));
	CHECK(fails_with("tls = 1\n", ":1: bad value for tls: must be yes/no, true/false or on/off"));
	CHECK(fails_with(
	    "log_level = verbose\n", ":1: bad value for log_level: must be one of error, warn, info, debug"));
	CHECK(fails_with("access_token_alg = HS256\n", ":1: bad value for access_token_alg: must be ES256 or RS256"));
	CHECK(fails_with("access_token_alg = none\n", ":1: bad value for access_token_alg: must be ES256 or RS256"));
	CHECK(fails_with(
	    "listen = example.org\n", ":1: bad value for listen: must be an IPv4 or IPv6 address or \"localhost\""));
	CHECK(fails_with("trusted_proxies = 10.0.0.1 proxy.example\n",
	    ":1: bad value for trusted_proxies: must be IPv4 or IPv6 addresses"));
	CHECK(fails_with(
	    "trusted_proxies = 10.0.0.0/8\n", ":1: bad value for trusted_proxies: must be IPv4 or IPv6 addresses"));
	CHECK(fails_with("trusted_proxies = \"\"\n", ":1: bad value for trusted_proxies: empty"));
	CHECK(fails_with(
	    "trusted_proxies = 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 "
	    "10.0.0.8\ntrusted_proxies = 10.0.0.9 10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 "
	    "10.0.0.16 10.0.0.17\n",
	    ":2: too many trusted_proxies (at most 16)"));
	CHECK(fails_with("issuer = ftp://a.example\n", ":1: bad value for issuer: must be an absolute https URL"));

	/* Line length: CONF_MAX_LINE bytes are fine, one more is not. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "www_dir = x", 11);
	line[CONF_MAX_LINE] = '\0';
	CHECK(loads(line));
	line[CONF_MAX_LINE] = '\n';
	line[CONF_MAX_LINE + 1] = '\0';
	CHECK(loads(line));
	line[CONF_MAX_LINE] = ' ';
	line[CONF_MAX_LINE + 1] = '\n';
	line[CONF_MAX_LINE + 2] = '\0';
	snprintf(exp, sizeof(exp), ":1: line too long (at most %d bytes)", CONF_MAX_LINE);
	CHECK(fails_with(line, exp));
	{
		/* The error names the line, not the first line that was too long to read whole. */
		char two[CONF_MAX_LINE + 64];

		snprintf(two, sizeof(two), "port = 1\n#%s\n", line);
		snprintf(exp, sizeof(exp), ":2: line too long (at most %d bytes)", CONF_MAX_LINE);
		CHECK(fails_with(two, exp));
	}

	/* A NUL byte in a line. */
	write_file(cfpath, "port = 1\nthreads = 2\0\n", 22);
	CHECK(conf_init(&c) == 0);
	CHECK(conf_load(&c, cfpath, err, sizeof(err)) == -1);
	snprintf(exp, sizeof(exp), "%s:2: NUL byte in line", cfpath);
	CHECK_STR(err, exp);
	conf_release(&c);

	/* A short err buffer is truncated, never overrun. */
	write_file(cfpath, "nosuchkey = 1\n", 14);
	CHECK(conf_init(&c) == 0);
	memset(err, 'Z', sizeof(err));
	CHECK(conf_load(&c, cfpath, err, 8) == -1);
	CHECK(strlen(err) == 7 && err[8] == 'Z');
	conf_release(&c);
}

static void
test_check(void)
{
	char err[512];
	struct conf c;

	/* Plain HTTP: only on loopback or behind a trusted proxy. */
	CHECK(loads("tls = no\nissuer = http://localhost:8080\n"));
	CHECK(loads("tls = no\nlisten = ::1\nissuer = http://localhost:8080\n"));
	CHECK(loads("tls = no\nlisten = 127.1.2.3\n"));
	CHECK(loads("tls = no\nlisten = localhost\n"));
	CHECK(fails_with("tls = no\nlisten = 0.0.0.0\n",
	    ": plain HTTP (tls = no) is only allowed when listen is a loopback address or trusted_proxies is set"));
	CHECK(fails_with("tls = no\nlisten = ::\nissuer = http://id.example\n",
	    ": plain HTTP (tls = no) is only allowed when listen is a loopback address or trusted_proxies is set"));
	CHECK(fails_with("tls = no\nlisten = 192.0.2.1\n",
	    ": plain HTTP (tls = no) is only allowed when listen is a loopback address or trusted_proxies is set"));
	CHECK(loads("tls = no\nlisten = 0.0.0.0\ntrusted_proxies = 10.0.0.1\nissuer = https://id.example\n"));
	CHECK(loads("tls = no\nlisten = 0.0.0.0\ntrusted_proxies = 10.0.0.1\nissuer = http://id.example\n"));
	CHECK(fails_with(
	    "issuer = http://localhost:8443\n", ": bad value for issuer: must be an https URL when tls is on"));

	/* TLS needs its files. */
	CHECK(fails_with("tls_cert = \"\"\n", ": tls is on but tls_cert or tls_key is not set"));
	CHECK(fails_with("tls_key = \"\"\n", ": tls is on but tls_cert or tls_key is not set"));

	/* Issuer form (OpenID Connect Discovery §3). */
	CHECK(loads("issuer = https://id.example\n"));
	CHECK(loads("issuer = https://id.example:8443/path/x\n"));
	CHECK(fails_with("issuer = https://id.example/\n", ":1: bad value for issuer: must not end with a slash"));
	CHECK(fails_with("issuer = https://id.example/a/\n", ":1: bad value for issuer: must not end with a slash"));
	CHECK(fails_with("issuer = https://id.example?x=1\n", ":1: bad value for issuer: must not have a query"));
	CHECK(fails_with("issuer = https://id.example/?\n", ":1: bad value for issuer: must not have a query"));
	CHECK(fails_with("issuer = \"https://id.example#f\"\n", ":1: bad value for issuer: must not have a fragment"));
	CHECK(fails_with("issuer = https://\n", ":1: bad value for issuer: must have a host"));
	CHECK(fails_with("issuer = https:///x\n", ":1: bad value for issuer: must have a host"));
	CHECK(fails_with("issuer = https://user@id.example\n", ":1: bad value for issuer: must not contain userinfo"));
	CHECK(fails_with("issuer = \"https://id.example/a b\"\n",
	    ":1: bad value for issuer: must not contain spaces, control or non-ASCII characters"));
	CHECK(fails_with("issuer = HTTPS://id.example\n", ":1: bad value for issuer: must be an absolute https URL"));
	CHECK(fails_with("issuer = id.example\n", ":1: bad value for issuer: must be an absolute https URL"));

	/* Argon2: at least 8 KiB per lane. */
	CHECK(loads("argon2_m_cost = 64\nargon2_parallelism = 8\n"));
	CHECK(fails_with(
	    "argon2_m_cost = 63\nargon2_parallelism = 8\n", ": argon2_m_cost must be at least 8 * argon2_parallelism"));

	/* conf_check also guards values set by code rather than by a file. */
	CHECK(conf_init(&c) == 0);
	c.port = 0;
	CHECK(conf_check(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "bad value for port: must be an integer in 1..65535");
	c.port = 443;
	c.session_ttl = 0;
	CHECK(conf_check(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "bad value for session_ttl: must be an integer in 60..2592000");
	c.session_ttl = 60;
	free(c.access_token_alg);
	c.access_token_alg = NULL;
	CHECK(conf_check(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "access_token_alg is not set");
	conf_release(&c);
}

static void
test_proxies(void)
{
	char err[256];
	struct conf c;

	CHECK(load(&c, "trusted_proxies = 10.0.0.1\ntrusted_proxies = 10.0.0.2  2001:db8::1\t::1\n", err,
	          sizeof(err)) == 0);
	CHECK(c.n_trusted_proxies == 4);
	CHECK_STR(c.trusted_proxies[0], "10.0.0.1");
	CHECK_STR(c.trusted_proxies[1], "10.0.0.2");
	CHECK_STR(c.trusted_proxies[2], "2001:db8::1");
	CHECK_STR(c.trusted_proxies[3], "::1");
	CHECK(c.trusted_proxies[4] == NULL);
	/* A second file replaces the list instead of appending to it; other values stay. */
	write_file(cfpath, "trusted_proxies = 192.0.2.7\n", 28);
	CHECK(conf_load(&c, cfpath, err, sizeof(err)) == 0);
	CHECK(c.n_trusted_proxies == 1);
	CHECK_STR(c.trusted_proxies[0], "192.0.2.7");
	CHECK(c.trusted_proxies[1] == NULL);
	/* A file without the key keeps the list. */
	write_file(cfpath, "port = 9\n", 9);
	CHECK(conf_load(&c, cfpath, err, sizeof(err)) == 0);
	CHECK(c.n_trusted_proxies == 1 && c.port == 9);
	conf_release(&c);
	CHECK(c.n_trusted_proxies == 0 && c.trusted_proxies[0] == NULL);

	/* Exactly CONF_MAX_PROXIES is fine. */
	CHECK(loads("trusted_proxies = 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8 "
	            "10.0.0.9 10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 10.0.0.16\n"));
}

static void
test_loopback(void)
{
	CHECK(conf_is_loopback("127.0.0.1"));
	CHECK(conf_is_loopback("127.255.0.9"));
	CHECK(conf_is_loopback("::1"));
	CHECK(conf_is_loopback("0:0:0:0:0:0:0:1"));
	CHECK(conf_is_loopback("::ffff:127.0.0.1"));
	CHECK(conf_is_loopback("localhost"));
	CHECK(!conf_is_loopback("0.0.0.0"));
	CHECK(!conf_is_loopback("::"));
	CHECK(!conf_is_loopback("128.0.0.1"));
	CHECK(!conf_is_loopback("10.127.0.1"));
	CHECK(!conf_is_loopback("::2"));
	CHECK(!conf_is_loopback("localhost.example"));
	CHECK(!conf_is_loopback("127.0.0.1 "));
	CHECK(!conf_is_loopback(""));
	CHECK(!conf_is_loopback(NULL));
}

/*
 * The example file loads as it is, and with every commented-out "#key = value" line enabled it still loads
 * and yields exactly the defaults: the documentation cannot drift from the code.
 */
static void
test_example(void)
{
	char err[512], buf[16384], *out, *p, *nl;
	struct conf d, c;
	FILE *fp;
	size_t n;
	int keys = 0;

	CHECK(conf_init(&c) == 0);
	err[0] = '\0';
	CHECK(conf_load(&c, "anchorid.conf.example", err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "  %s (run the test from the top of the tree)\n", err);
	conf_release(&c);

	if ((fp = fopen("anchorid.conf.example", "r")) == NULL) {
		CHECK(!"anchorid.conf.example readable from the current directory");
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	CHECK(n < sizeof(buf) - 1);
	buf[n] = '\0';
	out = calloc(1, n + 1);
	CHECK(out != NULL);
	if (out == NULL)
		return;
	/* Uncomment lines that look like "#key = value". */
	for (p = buf; *p != '\0'; p = nl) {
		nl = p + strcspn(p, "\n");
		if (*nl == '\n')
			nl++;
		if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z' && strstr(p, " = ") != NULL && strstr(p, " = ") < nl) {
			strncat(out, p + 1, (size_t)(nl - p - 1));
			keys++;
		} else
			strncat(out, p, (size_t)(nl - p));
	}
	/* conf_keys[] has 49 keys (trusted_proxies included): every one is documented. */
	CHECK(keys == 49);
	write_file(cfpath, out, strlen(out));
	free(out);
	CHECK(conf_init(&d) == 0);
	CHECK(conf_init(&c) == 0);
	CHECK(conf_load(&c, cfpath, err, sizeof(err)) == 0);
	if (c.n_trusted_proxies != 0) {
		/* The example shows a list rather than the (empty) default. */
		CHECK(c.n_trusted_proxies == 2);
		free(c.trusted_proxies[0]);
		free(c.trusted_proxies[1]);
		c.trusted_proxies[0] = c.trusted_proxies[1] = NULL;
		c.n_trusted_proxies = 0;
	}
#define SAME_STR(f) CHECK_STR(c.f, d.f)
#define SAME(f) CHECK(c.f == d.f)
	SAME_STR(issuer);
	SAME_STR(listen);
	SAME(port);
	SAME(tls);
	SAME_STR(tls_cert);
	SAME_STR(tls_key);
	SAME(threads);
	SAME(max_connections);
	SAME(conn_timeout);
	SAME_STR(www_dir);
	SAME_STR(database);
	SAME_STR(access_log);
	SAME_STR(log_level);
	SAME(registration_200);
	SAME(code_ttl);
	SAME(id_token_ttl);
	SAME(access_token_ttl);
	SAME(refresh_token_ttl);
	SAME(session_ttl);
	SAME(setup_ttl);
	SAME(client_idle_ttl);
	SAME(key_activation_delay);
	SAME(auth_request_ttl);
	SAME_STR(access_token_alg);
	SAME(rsa_bits);
	SAME(argon2_t_cost);
	SAME(argon2_m_cost);
	SAME(argon2_parallelism);
	SAME(argon2_max_concurrent);
	SAME(password_min_length);
	SAME(login_max_failures);
	SAME(login_max_delay);
	SAME(registration_per_hour);
	SAME(max_clients_per_source);
	SAME_STR(dns_upstreams);
	SAME_STR(dns_trust_anchor);
	SAME(dns_timeout_ms);
	SAME(dns_tcp_fallback);
	SAME(dns_cache_entries);
	SAME(dns_cache_max_ttl);
	SAME_STR(dnssec);
	SAME_STR(login_dns_check);
	SAME(agent_authz_ttl);
	SAME(agent_authz_per_hour);
	SAME_STR(outbound_ca_file);
	SAME(outbound_allow_private);
	SAME(outbound_timeout_ms);
#undef SAME
#undef SAME_STR
	conf_release(&c);
	conf_release(&d);
}

/* The [dns] keys: defaults, upstream syntax, the dnssec policy words. */
static void
test_dns_keys(void)
{
	struct conf c;

	CHECK(conf_init(&c) == 0);
	CHECK_STR(c.dns_upstreams, "");
	CHECK_STR(c.dns_trust_anchor, "/usr/share/dns/root.key");
	CHECK(c.dns_timeout_ms == 2000 && c.dns_tcp_fallback && c.dns_cache_entries == 10000);
	CHECK(c.dns_cache_max_ttl == 3600);
	CHECK_STR(c.dnssec, "require");
	conf_release(&c);
	CHECK(loads("dns_upstreams = \"127.0.0.1@5353 ::1 192.0.2.1@53\"\ndnssec = allow-insecure\n"));
	CHECK(loads("dns_upstreams = \"\"\ndns_cache_entries = 0\n"));
	CHECK(fails_with("dns_upstreams = dns.example\n",
	    ":1: bad value for dns_upstreams: must be IPv4 or IPv6 addresses, each optionally followed by @PORT "
	    "(1..65535)"));
	CHECK(fails_with("dns_upstreams = 127.0.0.1@0\n",
	    ":1: bad value for dns_upstreams: must be IPv4 or IPv6 addresses, each optionally followed by @PORT "
	    "(1..65535)"));
	CHECK(fails_with("dnssec = off\n", ":1: bad value for dnssec: must be require or allow-insecure"));
	CHECK(fails_with("login_dns_check = yes\n", ":1: bad value for login_dns_check: must be auto, on or off"));
	CHECK(loads("login_dns_check = off\n"));
	CHECK(fails_with("dns_trust_anchor = \"\"\n", ":1: bad value for dns_trust_anchor: must not be empty"));
	CHECK(
	    fails_with("dns_timeout_ms = 10\n", ":1: bad value for dns_timeout_ms: must be an integer in 100..60000"));
}

int
main(void)
{
	int ret;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	snprintf(cfpath, sizeof(cfpath), "%s/test.conf", tmpdir);
	TEST_RUN(test_defaults);
	TEST_RUN(test_load_values);
	TEST_RUN(test_quoting);
	TEST_RUN(test_errors);
	TEST_RUN(test_check);
	TEST_RUN(test_proxies);
	TEST_RUN(test_loopback);
	TEST_RUN(test_example);
	TEST_RUN(test_dns_keys);
	ret = TEST_EXIT();
	unlink(cfpath);
	rmdir(tmpdir);
	return (ret);
}
