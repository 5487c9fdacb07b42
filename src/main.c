/*
 * main.c: arguments, configuration, store, keys, the server, signals.  Nothing else.
 *
 *   anchorid [-c FILE] [-n]                     serve (-n: check the configuration and exit)
 *   anchorid [-c FILE] identity add|list|disable|enable|delete|setup-url [IDENTIFIER]
 *   anchorid [-c FILE] keys rotate|list
 *   anchorid [-c FILE] agent add|list|disable|enable|rotate-key [NAME] [--issuer URL] [--jwk FILE]
 *   anchorid [-c FILE] discover [--upstream ADDR@PORT] [--trust-anchor FILE] IDENTIFIER
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "conf.h"
#include "dns.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "oidc.h"
#include "store.h"
#include "throttle.h"
#include "tmpl.h"
#include "util.h"

#define MAIN_TICK_SEC 5    /* keyring refresh period: a rotated key is published within this (SIGHUP: at once) */
#define MAIN_PURGE_SEC 600 /* expired-row purge period */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: anchorid [-c file] [-n]\n"
	    "       anchorid [-c file] identity add|list|disable|enable|delete|setup-url [identifier]\n"
	    "       anchorid [-c file] keys rotate|list\n"
	    "       anchorid [-c file] agent add name --issuer url --jwk file\n"
	    "       anchorid [-c file] agent list | disable name | enable name | rotate-key name --jwk file\n"
	    "       anchorid [-c file] discover [--upstream addr@port] [--trust-anchor file] identifier\n");
	exit(2);
}

/* The database's directory is created on first start so that `make run` needs no set-up. */
static void
make_parent_dir(const char *path)
{
	char *copy = xstrdup(path);
	char *dir;

	if (copy == NULL)
		return;
	dir = dirname(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warn("mkdir %s", dir);
	free(copy);
}

static struct store *
open_store(const struct conf *conf)
{
	struct store *st;

	make_parent_dir(conf->database);
	if ((st = store_open(conf->database)) != NULL &&
	    store_set_sync(st, strcmp(conf->database_sync, "full") == 0) == -1) {
		store_close(st);
		st = NULL;
	}
	return (st);
}

static int
cmd_identity(const struct conf *conf, int argc, char **argv)
{
	struct store *st = NULL;
	struct identity *id = NULL;
	json_t *list = NULL;
	char *canon = NULL, *url = NULL, *s;
	enum store_rc rc;
	int ret = 1;

	if (argc < 1 || (strcmp(argv[0], "list") != 0 && argc != 2))
		usage();
	if ((st = open_store(conf)) == NULL)
		goto out;
	if (strcmp(argv[0], "list") == 0) {
		if (store_identity_list(st, &list) != STORE_OK)
			goto out;
		s = json_dumps(list, JSON_INDENT(2));
		printf("%s\n", s ? s : "[]");
		free(s);
		ret = 0;
		goto out;
	}
	if (identifier_canonical(argv[1], &canon) == -1) {
		fprintf(stderr, "anchorid: not a valid identifier: %s\n", argv[1]);
		goto out;
	}
	if (strcmp(argv[0], "add") == 0) {
		if ((rc = identity_add(st, conf, canon, &url)) == STORE_CONFLICT)
			fprintf(stderr, "anchorid: identifier exists: %s\n", canon);
		else if (rc == STORE_OK) {
			printf("identity %s created (inactive); one-time password-setup URL, valid %llds:\n%s\n", canon,
			    (long long)conf->setup_ttl, url);
			ret = 0;
		}
		goto out;
	}
	if ((rc = store_identity_by_identifier(st, canon, &id)) != STORE_OK) {
		fprintf(stderr, "anchorid: no such identity: %s\n", canon);
		goto out;
	}
	if (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0) {
		rc = store_identity_set_state(st, id->id,
		    argv[0][0] == 'd' ? IDENTITY_DISABLED : (id->password_hash ? IDENTITY_ACTIVE : IDENTITY_INACTIVE),
		    time_now());
	} else if (strcmp(argv[0], "delete") == 0) {
		rc = store_identity_delete(st, id->id, time_now());
	} else if (strcmp(argv[0], "setup-url") == 0) {
		if ((rc = identity_new_setup_url(st, conf, id->id, &url)) == STORE_OK)
			printf("one-time password-setup URL for %s, valid %llds:\n%s\n", canon,
			    (long long)conf->setup_ttl, url);
	} else
		usage();
	if (rc == STORE_OK) {
		if (url == NULL)
			printf("%s: %s done\n", canon, argv[0]);
		ret = 0;
	} else
		fprintf(stderr, "anchorid: %s %s failed\n", argv[0], canon);
out:
	json_decref(list);
	identity_free(id);
	free(canon);
	free(url);
	store_close(st);
	return (ret);
}

/* Exit codes of `anchorid discover`, one per outcome (README.md documents them). */
static const int discover_exit[DNS_DISC_ERR_COUNT] = {
	[DNS_DISC_OK] = 0,
	[DNS_DISC_BAD_NAME] = 2,
	[DNS_DISC_NOT_FOUND] = 3,
	[DNS_DISC_INVALID_RECORD] = 4,
	[DNS_DISC_INSECURE] = 5,
	[DNS_DISC_BOGUS] = 6,
	[DNS_DISC_ERROR] = 7,
};

/* dns_config_of(conf, cfg): the resolver settings of ${conf}. */
static void
dns_config_of(const struct conf *conf, struct dns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->upstreams = conf->dns_upstreams;
	cfg->trust_anchor_file = conf->dns_trust_anchor;
	cfg->timeout_ms = conf->dns_timeout_ms;
	cfg->tcp_fallback = conf->dns_tcp_fallback;
	cfg->cache_max_entries = conf->dns_cache_entries;
	cfg->cache_max_ttl = conf->dns_cache_max_ttl;
	cfg->allow_insecure = strcmp(conf->dnssec, "allow-insecure") == 0;
}

/*
 * cmd_discover(conf, argc, argv): look up and check the _openid record of an identifier as login would, and
 * print what was found.  --upstream and --trust-anchor override dns_upstreams and dns_trust_anchor.
 */
static int
cmd_discover(const struct conf *conf, int argc, char **argv)
{
	struct dns_config cfg;
	struct dns_resolver *r = NULL;
	struct dns_discovery *d = NULL;
	const char *identifier = NULL;
	size_t i;
	int ret = 7;

	dns_config_of(conf, &cfg);
	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--upstream") == 0 && k + 1 < argc)
			cfg.upstreams = argv[++k];
		else if (strcmp(argv[k], "--trust-anchor") == 0 && k + 1 < argc)
			cfg.trust_anchor_file = argv[++k];
		else if (argv[k][0] == '-' || identifier != NULL)
			usage();
		else
			identifier = argv[k];
	}
	if (identifier == NULL)
		usage();
	if ((r = dns_resolver_new(&cfg)) == NULL) {
		fprintf(stderr, "anchorid: cannot set up the DNS resolver (see above)\n");
		goto out;
	}
	if (dns_discover(r, identifier, &d) == -1) {
		fprintf(stderr, "anchorid: out of memory\n");
		goto out;
	}
	printf("identifier: %s\n", identifier);
	if (d->name != NULL)
		printf("name:       %s TXT\n", d->name);
	printf("upstream:   %s\n", dns_resolver_upstreams(r));
	if (d->err == DNS_DISC_OK) {
		printf("record:     %s\n", d->txt ? d->txt : "");
		printf("issuer:     %s\n", d->issuer);
		printf("agent:      %s\n", d->record->clp ? d->record->clp : "(none)");
		if (d->record->legacy)
			printf("legacy:     yes (iau/iag tags)\n");
	} else if (d->answer != NULL) {
		for (i = 0; i < d->answer->n_txt; i++)
			printf("txt:        %s\n", d->answer->txt[i]);
	}
	printf("dnssec:     %s\n", dns_status_name(d->status));
	if (d->answer != NULL)
		printf("result:     %s, ttl %u\n", dns_result_name(d->result), (unsigned)d->answer->ttl);
	printf("time:       %llu ms\n", (unsigned long long)d->elapsed_ms);
	if (d->err != DNS_DISC_OK) {
		printf("error:      %s\n", dns_disc_name(d->err));
		fprintf(stderr, "anchorid: %s: %s\n", dns_disc_name(d->err), d->error);
	}
	ret = discover_exit[d->err];
out:
	dns_discovery_free(d);
	dns_resolver_free(r);
	return (ret);
}

static int
cmd_keys(const struct conf *conf, int argc, char **argv)
{
	struct store *st = NULL;
	struct keyring *kr = NULL;
	struct stored_key **keys = NULL;
	size_t n = 0;
	char msg[1024];
	int ret = 1;

	if (argc != 1)
		usage();
	if ((st = open_store(conf)) == NULL)
		goto out;
	/* Both commands start from a keyring: the first run generates the initial keys. */
	if ((kr = keyring_open(st, conf)) == NULL)
		goto out;
	if (strcmp(argv[0], "rotate") == 0) {
		if (keys_rotate(st, conf, time_now(), msg, sizeof(msg)) == -1)
			goto out;
		printf("%s\n", msg);
	} else if (strcmp(argv[0], "list") == 0) {
		if (store_keys_list(st, time_now(), &keys, &n) != STORE_OK)
			goto out;
		printf("%-44s %-6s %-20s %-20s %s\n", "kid", "alg", "activate_at", "retire_at", "expire_at");
		for (size_t i = 0; i < n; i++)
			printf("%-44s %-6s %-20lld %-20lld %lld\n", keys[i]->kid, keys[i]->alg,
			    (long long)keys[i]->activate_at, (long long)keys[i]->retire_at,
			    (long long)keys[i]->expire_at);
	} else
		usage();
	ret = 0;
out:
	stored_keys_free(keys, n);
	keyring_free(kr);
	store_close(st);
	return (ret);
}

/* cmd_agent(conf, argc, argv): `anchorid agent ...` (drafts/agent-provisioning.md §1). */
static int
cmd_agent(const struct conf *conf, int argc, char **argv)
{
	struct store *st;
	int ret;

	if (argc < 1)
		usage();
	if ((st = open_store(conf)) == NULL)
		return (1);
	ret = agent_cli(st, conf, argc, argv);
	store_close(st);
	return (ret);
}

static void
print_endpoints(const struct conf *conf)
{
	static const char *const paths[][2] = {
		{ "discovery", OIDC_PATH_DISCOVERY },
		{ "jwks", OIDC_PATH_JWKS },
		{ "registration", OIDC_PATH_REGISTER },
		{ "authorization", OIDC_PATH_AUTHORIZE },
		{ "token", OIDC_PATH_TOKEN },
		{ "userinfo", OIDC_PATH_USERINFO },
		{ "revocation", OIDC_PATH_REVOKE },
		{ "end_session", OIDC_PATH_LOGOUT },
		{ "agents", AGENT_PATH_PREFIX "directory" },
	};

	printf("anchorid: issuer %s\n", conf->issuer);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		printf("  %-14s %s%s\n", paths[i][0], conf->issuer, paths[i][1]);
}

/* The server secret (CSRF tokens, signed login forms) lives in the database so restarts keep sessions valid. */
static int
load_secret(struct store *st, unsigned char out[32])
{
	unsigned char fresh[32], *dec = NULL;
	char *enc = NULL, *stored = NULL;
	size_t declen = 0;
	int ret = -1;

	if (rand_bytes(fresh, sizeof(fresh)) == -1 || (enc = b64url_encode(fresh, sizeof(fresh))) == NULL)
		goto out;
	if (store_meta_set_if_absent(st, "server_secret", enc, &stored) != STORE_OK)
		goto out;
	if (b64url_decode(stored, strlen(stored), &dec, &declen) == -1 || declen != 32)
		goto out;
	memcpy(out, dec, 32);
	ret = 0;
out:
	explicit_bzero(fresh, sizeof(fresh));
	str_secure_free(enc);
	str_secure_free(stored);
	if (dec != NULL) {
		explicit_bzero(dec, declen);
		free(dec);
	}
	return (ret);
}

static int
serve(const struct conf *conf)
{
	struct app app;
	struct dns_config dcfg;
	struct http_server *srv = NULL;
	const struct http_route *oidc, *agent;
	struct http_route *routes = NULL;
	struct timespec tick = { MAIN_TICK_SEC, 0 };
	sigset_t set;
	int64_t last_purge = 0;
	size_t n_oidc, n_agent;
	int sig, ret = 1;

	memset(&app, 0, sizeof(app));
	app.conf = conf;
	/* Block the signals in every thread; the main thread waits for them below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((app.st = open_store(conf)) == NULL || pw_init(conf) == -1 ||
	    (app.kr = keyring_open(app.st, conf)) == NULL || (app.tmpl = tmpl_load(conf->www_dir)) == NULL ||
	    load_secret(app.st, app.secret) == -1 || (app.discovery = oidc_discovery(conf)) == NULL ||
	    (app.throttle = throttle_new()) == NULL || (app.agents = agent_metas_new()) == NULL ||
	    (app.agent_nonces = agent_nonces_new(AGENT_NONCE_MAX, AGENT_NONCE_TTL)) == NULL)
		goto out;
	dns_config_of(conf, &dcfg);
	if ((app.dns = dns_resolver_new(&dcfg)) == NULL)
		goto out;
	if ((app.login_dns_check = login_dns_check_on(conf)) == false)
		log_warnx("login_dns_check is off (issuer %s): logins do not check the identifier's _openid record",
		    conf->issuer);
	/* One table: the OpenID provider's routes, then the agent API's prefix. */
	oidc = oidc_routes(&n_oidc);
	agent = agent_routes(&n_agent);
	if ((routes = calloc(n_oidc + n_agent, sizeof(*routes))) == NULL)
		goto out;
	memcpy(routes, oidc, n_oidc * sizeof(*routes));
	memcpy(routes + n_oidc, agent, n_agent * sizeof(*routes));
	if ((srv = http_start(conf, routes, n_oidc + n_agent, &app)) == NULL)
		goto out;
	print_endpoints(conf);
	printf("anchorid: ready\n");
	fflush(stdout);

	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		keyring_refresh(app.kr);
		if (time_now() - last_purge >= MAIN_PURGE_SEC) {
			last_purge = time_now();
			store_purge_expired(app.st, last_purge, conf->client_idle_ttl);
		}
	}
	log_info("shutting down");
	ret = 0;
out:
	http_stop(srv);
	free(routes);
	throttle_free(app.throttle);
	agent_metas_free(app.agents);
	agent_nonces_free(app.agent_nonces);
	dns_resolver_free(app.dns);
	free(app.discovery);
	tmpl_free(app.tmpl);
	keyring_free(app.kr);
	store_close(app.st);
	explicit_bzero(app.secret, sizeof(app.secret));
	return (ret);
}

int
main(int argc, char **argv)
{
	struct conf conf;
	enum log_level level = LOG_LVL_INFO;
	const char *path = NULL;
	char err[512];
	bool check_only = false;
	int ch, ret = 1;

	while ((ch = getopt(argc, argv, "+c:n")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (conf_init(&conf) == -1)
		fatalx("out of memory");
	if (path != NULL ? conf_load(&conf, path, err, sizeof(err)) == -1 : conf_check(&conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (check_only) {
		printf("%s: configuration OK\n", path ? path : "(defaults)");
		ret = 0;
		goto out;
	}
	if (log_level_parse(conf.log_level, &level) == -1 || log_init(level, conf.access_log) == -1) {
		fprintf(stderr, "anchorid: cannot set up logging\n");
		goto out;
	}
	if (argc == 0)
		ret = serve(&conf);
	else if (strcmp(argv[0], "identity") == 0)
		ret = cmd_identity(&conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "keys") == 0)
		ret = cmd_keys(&conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "agent") == 0)
		ret = cmd_agent(&conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "discover") == 0)
		ret = cmd_discover(&conf, argc - 1, argv + 1);
	else
		usage();
	log_close();
out:
	conf_release(&conf);
	return (ret);
}
