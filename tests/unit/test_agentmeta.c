/*
 * test_agentmeta.c: identity agents' configurations (drafts/claims.md §2, src/oidc/agentmeta.c) fetched from a
 * live `openssl s_server -WWW` started here (it serves the files of a temporary directory, so each agent issuer
 * is a path on it), with a certificate made here: the document's checks, the cache (an entry for an hour, a
 * failure for a minute), the outbound_* settings, and a redirect refused.  Then what they feed (drafts/claims.md
 * §4) over a real store and keyring: the access token's clm and UserInfo's distributed claims with the agent
 * token, before and after a revocation, and without a reachable agent.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/oidc/internal.h"
#include "test.h"

static char dir[] = "/tmp/anchorid-agentmeta-XXXXXX";
static char ca[300];
static int port;
static pid_t children[4];
static size_t n_children;

static pid_t
spawn(char *const argv[], int in_fd, const char *out_path)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in_fd == -1)
			in_fd = open("/dev/null", O_RDONLY);
		fd = open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in_fd == -1 || fd == -1 || dup2(in_fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(127);
		if (chdir(dir) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (n_children < sizeof(children) / sizeof(children[0]))
		children[n_children++] = pid;
	return (pid);
}

static void
reap(void)
{
	while (n_children > 0) {
		n_children--;
		(void)kill(children[n_children], SIGKILL);
		(void)waitpid(children[n_children], NULL, 0);
	}
}

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, p;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	p = ntohs(sin.sin_port);
	close(fd);
	return (p);
}

/* listening(pid, out): s_server said ACCEPT in ${out} within 5 s (false if it exited: its port was taken). */
static bool
listening(pid_t pid, const char *out)
{
	char buf[4096];
	ssize_t n;
	int i, fd;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return (false);
		if ((fd = open(out, O_RDONLY)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if (strstr(buf, "ACCEPT\n") != NULL)
				return (true);
		}
		usleep(50 * 1000);
	}
	return (false);
}

/* server(www, in_fd, p): s_server with the test certificate on a free port: -WWW (files of dir) or, with ${in_fd},
 * what is written there goes to the client. */
static bool
server(bool www, int in_fd, int *p)
{
	char accept_on[32], out[300];
	char *argv[] = { "openssl", "s_server", "-accept", accept_on, "-cert", "c.pem", "-key", "k.pem", "-WWW", NULL };
	pid_t pid;
	int attempt;

	if (!www)
		argv[8] = NULL;
	(void)snprintf(out, sizeof(out), "%s/%s.out", dir, www ? "www" : "raw");
	for (attempt = 0; attempt < 3; attempt++) {
		*p = free_port();
		(void)snprintf(accept_on, sizeof(accept_on), "127.0.0.1:%d", *p);
		pid = spawn(argv, in_fd, out);
		if (listening(pid, out))
			return (true);
		n_children--;
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
	return (false);
}

/* issuer(name): the agent issuer served from ${dir}/${name} (static buffer). */
static const char *
issuer(const char *name)
{
	static char s[128];

	(void)snprintf(s, sizeof(s), "https://127.0.0.1:%d/%s", port, name);
	return (s);
}

/* doc(name, text): serve ${text} as ${name}'s configuration; NULL text removes it. */
static void
doc(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof(path), "%s/%s/.well-known", dir, name);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof(path), "%s/%s/.well-known/openid-configuration", dir, name);
	if (text == NULL) {
		(void)unlink(path);
		return;
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* good_doc(name, claims): a valid configuration for ${name} with claims_supported ${claims} (JSON). */
static void
good_doc(const char *name, const char *claims)
{
	char text[8192];

	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://agent.example.org/userinfo\","
	    "\"jwks_uri\":\"https://agent.example.org/jwks.json\",\"claims_supported\":%s}",
	    issuer(name), claims);
	doc(name, text);
}

static struct conf conf;
static struct app app;

static bool
fetch_ok(const char *name)
{
	struct agent_meta *m = NULL;
	int rc = agent_meta_get(&app, issuer(name), &m);
	bool ok = rc == 0 && m != NULL;

	if (rc == -1)
		CHECK(m == NULL);
	agent_meta_free(m);
	return (ok);
}

static void
test_agent_meta(void)
{
	static const char canned[] = "HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/\r\nContent-Length: 0\r\n\r\n";
	char argv_cert[300], argv_key[300], text[80000], url[128];
	char *req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", argv_key, "-out", argv_cert, "-days", "1", "-subj", "/CN=anchorid test", "-addext",
		"subjectAltName=IP:127.0.0.1", NULL };
	struct agent_meta *m = NULL;
	int hold[2] = { -1, -1 }, raw_port, st;
	size_t n;
	size_t i;
	pid_t pid;

	(void)snprintf(argv_cert, sizeof(argv_cert), "%s/c.pem", dir);
	(void)snprintf(argv_key, sizeof(argv_key), "%s/k.pem", dir);
	(void)snprintf(ca, sizeof(ca), "%s/c.pem", dir);
	pid = spawn(req, -1, NULL);
	n_children--;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (pipe2(hold, O_CLOEXEC) == -1)
		abort();
	if (!server(true, -1, &port) || !server(false, hold[0], &raw_port)) {
		CHECK(!"openssl s_server did not start");
		goto out;
	}
	CHECK(conf_init(&conf) == 0);
	free(conf.outbound_ca_file);
	conf.outbound_ca_file = xstrdup(ca);
	conf.outbound_allow_private = true;
	conf.outbound_timeout_ms = 5000;
	app.conf = &conf;
	CHECK((app.agents = agent_metas_new()) != NULL);

	/* A valid document: its members copied out. */
	good_doc("good", "[\"email\",\"email_verified\",\"name\"]");
	CHECK(agent_meta_get(&app, issuer("good"), &m) == 0);
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->issuer, issuer("good"));
		CHECK_STR(m->userinfo_endpoint, "https://agent.example.org/userinfo");
		CHECK_STR(m->jwks_uri, "https://agent.example.org/jwks.json");
		CHECK(json_array_size(m->claims_supported) == 3);
		CHECK(agent_meta_supports(m, "email"));
		CHECK(agent_meta_supports(m, "name"));
		CHECK(!agent_meta_supports(m, "phone_number"));
		CHECK(!agent_meta_supports(m, NULL));
	}
	CHECK(!agent_meta_supports(NULL, "email"));
	agent_meta_free(m);
	agent_meta_free(NULL);

	/* Cached for an hour: the agent's document changing or vanishing is not seen. */
	doc("good", NULL);
	CHECK(fetch_ok("good"));

	/* The document's checks. */
	doc("mismatch",
	    "{\"issuer\":\"https://127.0.0.1/other\",\"userinfo_endpoint\":\"https://a.example/u\","
	    "\"jwks_uri\":\"https://a.example/j\",\"claims_supported\":[]}");
	CHECK(!fetch_ok("mismatch"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s/\",\"userinfo_endpoint\":\"https://a.example/u\",\"jwks_uri\":\"https://a.example/j\","
	    "\"claims_supported\":[]}",
	    issuer("slash"));
	doc("slash", text); /* the issuer must be byte for byte the registered one */
	CHECK(!fetch_ok("slash"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"http://a.example/u\",\"jwks_uri\":\"https://a.example/j\","
	    "\"claims_supported\":[]}",
	    issuer("http"));
	doc("http", text);
	CHECK(!fetch_ok("http"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://a.example/u\",\"jwks_uri\":\"/jwks.json\","
	    "\"claims_supported\":[]}",
	    issuer("relative"));
	doc("relative", text);
	CHECK(!fetch_ok("relative"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://user@a.example/u\",\"jwks_uri\":\"https://a.example/"
	    "j\","
	    "\"claims_supported\":[]}",
	    issuer("userinfo"));
	doc("userinfo", text);
	CHECK(!fetch_ok("userinfo"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://a.example/u\",\"jwks_uri\":\"https://a.example/j\"}",
	    issuer("noclaims"));
	doc("noclaims", text);
	CHECK(!fetch_ok("noclaims"));
	good_doc("number", "[\"email\",1]");
	CHECK(!fetch_ok("number"));
	good_doc("string", "\"email\"");
	CHECK(!fetch_ok("string"));
	(void)snprintf(text, sizeof(text), "[");
	for (i = 0; i < 257; i++)
		(void)snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\"c%zu\"", i ? "," : "", i);
	(void)snprintf(text + strlen(text), sizeof(text) - strlen(text), "]");
	good_doc("many", text); /* 257 claims */
	CHECK(!fetch_ok("many"));
	text[strlen(text) - strlen(",\"c256\"]")] = '\0';
	(void)snprintf(text + strlen(text), sizeof(text) - strlen(text), "]");
	good_doc("enough", text); /* 256 claims */
	CHECK(fetch_ok("enough"));
	doc("array", "[]");
	CHECK(!fetch_ok("array"));
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://a.example/u\","
	    "\"jwks_uri\":\"https://a.example/j\",\"claims_supported\":[]}",
	    issuer("dup"), issuer("dup"));
	doc("dup", text);
	CHECK(!fetch_ok("dup"));
	CHECK(!fetch_ok("absent"));
	/* Over 64 KiB. */
	(void)snprintf(text, sizeof(text),
	    "{\"issuer\":\"%s\",\"userinfo_endpoint\":\"https://a.example/u\",\"jwks_uri\":\"https://a.example/j\","
	    "\"claims_supported\":[],\"pad\":\"",
	    issuer("big"));
	n = strlen(text);
	memset(text + n, 'x', sizeof(text) - 3 - n); /* the buffer holds well over 64 KiB */
	text[sizeof(text) - 3] = '\0';
	(void)snprintf(text + strlen(text), sizeof(text) - strlen(text), "\"}");
	doc("big", text);
	CHECK(!fetch_ok("big"));

	/* A failure is cached for a minute; a new cache fetches again. */
	CHECK(!fetch_ok("later"));
	good_doc("later", "[]");
	CHECK(!fetch_ok("later"));
	agent_metas_free(app.agents);
	CHECK((app.agents = agent_metas_new()) != NULL);
	CHECK(fetch_ok("later"));
	/* Without a cache, every call fetches. */
	agent_metas_free(app.agents);
	app.agents = NULL;
	CHECK(fetch_ok("later"));
	CHECK(!fetch_ok("good")); /* removed above: seen at once */
	CHECK((app.agents = agent_metas_new()) != NULL);

	/* SECURITY.md 12: outbound_allow_private off refuses loopback; http and garbage issuers fail. */
	conf.outbound_allow_private = false;
	CHECK(!fetch_ok("enough"));
	conf.outbound_allow_private = true;
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/enough", port);
	CHECK(agent_meta_get(&app, url, &m) == -1 && m == NULL);
	CHECK(agent_meta_get(&app, "not a url", &m) == -1 && m == NULL);
	CHECK(agent_meta_get(&app, NULL, &m) == -1 && m == NULL);
	/* Without the CA file the certificate is not trusted. */
	free(conf.outbound_ca_file);
	conf.outbound_ca_file = xstrdup("");
	CHECK(!fetch_ok("enough2"));
	free(conf.outbound_ca_file);
	conf.outbound_ca_file = xstrdup(ca);

	/* A redirect is a failure (not followed). */
	CHECK(write(hold[1], canned, sizeof(canned) - 1) == (ssize_t)sizeof(canned) - 1);
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d", raw_port);
	CHECK(agent_meta_get(&app, url, &m) == -1 && m == NULL);
out:
	agent_metas_free(app.agents);
	agent_metas_free(NULL);
	app.agents = NULL;
	if (hold[0] != -1) {
		close(hold[0]);
		close(hold[1]);
	}
}

/* payload(jwt): the payload of a compact JWS, unverified (caller decrefs). */
static json_t *
payload(const char *jwt)
{
	json_t *h = NULL, *p = NULL;

	if (jwt == NULL || jwt_decode_unverified(jwt, &h, &p) == -1)
		return (NULL);
	json_decref(h);
	return (p);
}

/* clm_is(app, s, jti, want): the access token minted now for ${s} carries clm ${want} (JSON text). */
static bool
clm_is(const struct token_subject *s, const char *jti, const char *want)
{
	char *tok = access_token_mint(&app, s, jti, time_now());
	json_t *p = payload(tok), *w = json_loads(want, 0, NULL);
	bool ok = p != NULL && json_equal(json_object_get(p, "clm"), w);

	if (!ok) {
		char *got = p != NULL ? json_dumps(json_object_get(p, "clm"), JSON_ENCODE_ANY) : NULL;

		fprintf(stderr, "  clm %s, expected %s\n", got != NULL ? got : "-", want);
		free(got);
	}
	free(tok);
	json_decref(p);
	json_decref(w);
	return (ok);
}

/* The store and keys behind the token and UserInfo: an agent, an active identity it holds, a client's code with
 * claims and the user's decisions; then the access token's clm and UserInfo's distributed claims. */
static void
test_clm_and_distributed_claims(void)
{
	static const char *const algs[] = { "ES256", NULL };
	char db[300], *setup_hash = NULL, *tok;
	struct agent ag = { 0 };
	struct client cl = { 0 };
	struct agent_authz az = { 0 };
	struct authz_code code = { 0 }, *redeemed = NULL;
	struct grant_tokens t = { 0 };
	struct identity *id = NULL;
	struct agent *a = NULL;
	struct grant *g = NULL;
	struct token_subject s;
	json_t *ui = NULL, *at = NULL, *dec;
	const char *src_tok;
	int64_t now = time_now(), iid, held;
	void *it;
	size_t n;

	(void)snprintf(db, sizeof(db), "%s/authority.db", dir);
	CHECK(conf_init(&conf) == 0);
	free(conf.issuer);
	conf.issuer = xstrdup("https://auth.example.net");
	free(conf.outbound_ca_file);
	conf.outbound_ca_file = xstrdup(ca);
	conf.outbound_allow_private = true;
	conf.rsa_bits = 2048;
	app.conf = &conf;
	if ((app.st = store_open(db)) == NULL || (app.kr = keyring_open(app.st, &conf)) == NULL ||
	    (app.agents = agent_metas_new()) == NULL) {
		CHECK(!"store, keyring and cache");
		goto out;
	}
	/* The agent and the identity it provisioned, made active. */
	good_doc("agent", "[\"email\",\"email_verified\",\"name\"]");
	ag.name = "agent1";
	ag.issuer = (char *)issuer("agent");
	ag.jwk = "{\"kty\":\"EC\"}";
	ag.thumbprint = "tp";
	CHECK(store_agent_create(app.st, &ag, now) == STORE_OK);
	CHECK(store_agent_get(app.st, "agent1", &a) == STORE_OK);
	if (a == NULL)
		goto out;
	az.id = "authz1";
	az.agent_id = a->id;
	az.identifier = "alice.example.com";
	az.action = AGENT_ACTION_CREATE;
	az.token = "tok";
	az.thumbprint = "tp";
	az.created_at = now;
	az.expires_at = now + 600;
	CHECK(store_authz_create(app.st, &az) == STORE_OK);
	setup_hash = token_hash("setup-token");
	CHECK(store_provision_create(app.st, "authz1", a->id, "sub-alice", setup_hash, now + 600, now, NULL, &held) ==
	    STORE_OK);
	CHECK(store_setup_use(app.st, setup_hash, "$argon2id$x", now, &iid) == STORE_OK);
	CHECK(store_identity_by_id(app.st, iid, &id) == STORE_OK);
	if (id == NULL)
		goto out;
	CHECK(id->agent_id == a->id && id->state == IDENTITY_ACTIVE);

	/* A client's code carrying email, email_verified, phone_number and locale; the user granted the first three
	 * only, and the agent delivers no phone number. */
	cl.client_id = "client1";
	cl.secret_hash = "sh";
	cl.reg_token_hash = "rh";
	cl.metadata = json_pack("{s:[s]}", "redirect_uris", "https://rp.example/cb");
	cl.source = "127.0.0.1";
	cl.created_at = cl.updated_at = cl.last_used_at = now;
	CHECK(store_client_create(app.st, &cl) == STORE_OK);
	json_decref(cl.metadata);
	dec = json_pack("{s:b,s:b,s:b,s:b}", "email", 1, "email_verified", 1, "phone_number", 1, "locale", 0);
	CHECK(store_consent_set(app.st, id->id, "client1", dec, now) == STORE_OK);
	json_decref(dec);
	code.code_hash = "codehash";
	code.client_id = "client1";
	code.identity_id = id->id;
	code.redirect_uri = "https://rp.example/cb";
	code.scope = "openid email";
	code.claims = "[\"email\",\"email_verified\",\"phone_number\",\"locale\"]";
	code.amr = "[\"pwd\"]";
	code.auth_time = now;
	code.expires_at = now + 60;
	t.grant_id = "grant1";
	t.access_jti = "jti1";
	t.access_expires_at = now + 600;
	CHECK(store_code_create(app.st, &code) != STORE_ERROR);
	CHECK(store_code_redeem(app.st, "codehash", "client1", now, &t, &redeemed) == STORE_OK);
	CHECK(store_access_check(app.st, "jti1", now, &g) == STORE_OK);
	if (g == NULL)
		goto out;

	/* drafts/tokens.md §3: clm is the code's claims still granted. */
	s.identity = id;
	s.client_id = "client1";
	s.scope = "openid email";
	s.auth_time = now;
	s.amr = "[\"pwd\"]";
	s.claims = g->claims;
	CHECK(clm_is(&s, "jti1", "[\"email\",\"email_verified\",\"phone_number\"]"));

	/* drafts/claims.md §4: the granted claims the agent supports, as distributed claims. */
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(ui != NULL);
	CHECK(json_object_size(ui) == 4);
	CHECK_STR(json_string_value(json_object_get(ui, "sub")), "sub-alice");
	CHECK_STR(json_string_value(json_object_get(ui, "id4me.identifier")), "alice.example.com");
	CHECK(json_object_size(json_object_get(ui, "_claim_names")) == 2);
	CHECK_STR(json_string_value(json_object_get(json_object_get(ui, "_claim_names"), "email")), "agent");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ui, "_claim_names"), "email_verified")), "agent");
	CHECK(json_object_size(json_object_get(ui, "_claim_sources")) == 1);
	CHECK(json_object_size(json_object_get(json_object_get(ui, "_claim_sources"), "agent")) == 2);
	CHECK_STR(json_string_value(
	              json_object_get(json_object_get(json_object_get(ui, "_claim_sources"), "agent"), "endpoint")),
	    "https://agent.example.org/userinfo");
	src_tok = json_string_value(
	    json_object_get(json_object_get(json_object_get(ui, "_claim_sources"), "agent"), "access_token"));
	/* The agent token: typ id4me-agent+jwt, verifiable with the authority's keys, exactly the members of the
	 * agent_token example. */
	at = src_tok != NULL ? jwt_verify(app.kr, src_tok, algs, "id4me-agent+jwt") : NULL;
	CHECK(at != NULL);
	if (at != NULL) {
		n = 0;
		for (it = json_object_iter(at); it != NULL; it = json_object_iter_next(at, it))
			n++;
		CHECK(n == 10);
		CHECK_STR(json_string_value(json_object_get(at, "iss")), "https://auth.example.net");
		CHECK_STR(json_string_value(json_object_get(at, "sub")), "sub-alice");
		CHECK_STR(json_string_value(json_object_get(at, "aud")), issuer("agent"));
		CHECK_STR(json_string_value(json_object_get(at, "client_id")), "client1");
		CHECK_STR(json_string_value(json_object_get(at, "id4me.identifier")), "alice.example.com");
		CHECK_STR(json_string_value(json_object_get(at, "scope")), "openid email");
		CHECK(json_array_size(json_object_get(at, "clm")) == 2);
		CHECK(json_string_length(json_object_get(at, "jti")) >= 16);
		CHECK(json_integer_value(json_object_get(at, "exp")) - json_integer_value(json_object_get(at, "iat")) ==
		    conf.access_token_ttl);
		CHECK(json_integer_value(json_object_get(at, "iat")) >= now);
	}
	json_decref(at);
	at = NULL;
	json_decref(ui);

	/* A claim revoked leaves the next token and UserInfo at once. */
	CHECK(store_consent_revoke(app.st, id->id, "client1", "email", now) == STORE_OK);
	CHECK(clm_is(&s, "jti1", "[\"email_verified\",\"phone_number\"]"));
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(json_object_size(json_object_get(ui, "_claim_names")) == 1);
	CHECK(json_object_get(json_object_get(ui, "_claim_names"), "email_verified") != NULL);
	tok = (char *)json_string_value(
	    json_object_get(json_object_get(json_object_get(ui, "_claim_sources"), "agent"), "access_token"));
	at = payload(tok);
	CHECK(json_array_size(json_object_get(at, "clm")) == 1);
	json_decref(at);
	at = NULL;
	json_decref(ui);

	/* Only claims the agent delivers: none of the rest. */
	CHECK(store_consent_revoke(app.st, id->id, "client1", "email_verified", now) == STORE_OK);
	CHECK(clm_is(&s, "jti1", "[\"phone_number\"]"));
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(ui != NULL && json_object_size(ui) == 2);
	json_decref(ui);

	dec = json_pack("{s:b}", "email", 1);
	CHECK(store_consent_set(app.st, id->id, "client1", dec, now) == STORE_OK);
	json_decref(dec);
	/* A disabled agent is handed nothing, as the consent page says (authorize.c consent_load); enabled again, it
	 * is. */
	CHECK(store_agent_set_state(app.st, "agent1", AGENT_DISABLED, now) == STORE_OK);
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(ui != NULL && json_object_size(ui) == 2);
	json_decref(ui);
	CHECK(store_agent_set_state(app.st, "agent1", AGENT_ACTIVE, now) == STORE_OK);
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(ui != NULL && json_object_size(ui) == 4);
	json_decref(ui);

	/* An agent that cannot be reached: the subject and identifier only. */
	agent_metas_free(app.agents);
	app.agents = agent_metas_new();
	doc("agent", NULL);
	ui = userinfo_claims(&app, g, id, NULL);
	CHECK(ui != NULL && json_object_size(ui) == 2);
	json_decref(ui);

out:
	grant_free(g);
	authz_code_free(redeemed);
	identity_free(id);
	agent_free(a);
	free(setup_hash);
	agent_metas_free(app.agents);
	keyring_free(app.kr);
	store_close(app.st);
	conf_release(&conf);
	memset(&app, 0, sizeof(app));
}

/* drafts/claims.md §2: the endpoints must be plain absolute https URLs; a backslash (read as "/" by browsers) or
 * userinfo could make the host ambiguous. */
static void
test_parse_urls(void)
{
	static const char *const bad[] = { "https://a.example\\@b.example/u", "https://a.example\\u",
		"https://user@a.example/u", "https:///u", "http://a.example/u", "https://a.example/u#f" };
	struct agent_meta *m = NULL;
	char doc[512], why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(doc, sizeof(doc),
		    "{\"issuer\":\"https://agent.example\",\"userinfo_endpoint\":\"%s\",\"jwks_uri\":"
		    "\"https://agent.example/j\",\"claims_supported\":[]}",
		    bad[i]);
		CHECK(agent_meta_parse(doc, strlen(doc), "https://agent.example", &m, why, sizeof(why)) == -1);
		CHECK(m == NULL);
	}
	(void)snprintf(doc, sizeof(doc),
	    "{\"issuer\":\"https://agent.example\",\"userinfo_endpoint\":\"https://agent.example/u\",\"jwks_uri\":"
	    "\"https://agent.example/j\",\"claims_supported\":[\"email\"]}");
	CHECK(agent_meta_parse(doc, strlen(doc), "https://agent.example", &m, why, sizeof(why)) == 0);
	CHECK(agent_meta_supports(m, "email") && !agent_meta_supports(m, "name"));
	agent_meta_free(m);
}

int
main(void)
{
	char cmd[128];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		abort();
	TEST_RUN(test_parse_urls);
	TEST_RUN(test_agent_meta);
	conf_release(&conf);
	TEST_RUN(test_clm_and_distributed_claims);
	reap();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	rc = TEST_EXIT();
	return (rc);
}
