/*
 * agent_main.c: anchorid-agent, the reference identity agent (drafts/agent-provisioning.md §8).  Arguments and
 * dispatch only; the work is in src/agentd/.
 *
 *   anchorid-agent keygen [--alg ES256|ES384|RS256] KEYFILE
 *   anchorid-agent [--authority URL] [--name NAME] [--key KEYFILE] [--ca-file FILE] [--hook CMD]
 *                  [--wait SECONDS] provision|transfer|delete|status|setup-url IDENTIFIER
 *   anchorid-agent [--issuer URL] [--authority URL] [--key KEYFILE] [--ca-file FILE] [--listen ADDR] [--port N]
 *                  [--tls-cert FILE] [--tls-key FILE] [--database FILE] [--upstream ADDR@PORT]
 *                  [--trust-anchor FILE] [--dnssec require|allow-insecure] [--allow-private-authority] serve
 *   anchorid-agent [--database FILE] claims set IDENTIFIER name=VALUE|name:=JSON...
 *   anchorid-agent [--database FILE] claims get IDENTIFIER
 *
 * Every option but --alg may also come from the environment as ANCHORID_AGENT_<OPTION> (AUTHORITY, NAME, KEY,
 * CA_FILE, HOOK, WAIT, ISSUER, LISTEN, PORT, TLS_CERT, TLS_KEY, DATABASE, UPSTREAM, TRUST_ANCHOR, DNSSEC,
 * ALLOW_PRIVATE_AUTHORITY = yes|no, KEYS_REFETCH); a flag wins over its variable.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentd/agentd.h"
#include "util.h"

enum {
	OPT_AUTHORITY = 256,
	OPT_NAME,
	OPT_KEY,
	OPT_CA_FILE,
	OPT_HOOK,
	OPT_WAIT,
	OPT_ALG,
	OPT_ISSUER,
	OPT_LISTEN,
	OPT_PORT,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_DATABASE,
	OPT_UPSTREAM,
	OPT_TRUST_ANCHOR,
	OPT_DNSSEC,
	OPT_ALLOW_PRIVATE_AUTHORITY,
	OPT_KEYS_REFETCH,
};

static const struct option long_opts[] = {
	{ "authority", required_argument, NULL, OPT_AUTHORITY },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "hook", required_argument, NULL, OPT_HOOK },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "database", required_argument, NULL, OPT_DATABASE },
	{ "upstream", required_argument, NULL, OPT_UPSTREAM },
	{ "trust-anchor", required_argument, NULL, OPT_TRUST_ANCHOR },
	{ "dnssec", required_argument, NULL, OPT_DNSSEC },
	{ "allow-private-authority", no_argument, NULL, OPT_ALLOW_PRIVATE_AUTHORITY },
	{ "keys-refetch", required_argument, NULL, OPT_KEYS_REFETCH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: anchorid-agent keygen [--alg ES256|ES384|RS256] keyfile\n"
	    "       anchorid-agent [--authority url] [--name name] [--key keyfile] [--ca-file file] [--hook cmd]\n"
	    "                      [--wait seconds] provision|transfer|delete|status|setup-url identifier\n"
	    "       anchorid-agent --issuer url --authority url --key keyfile [--ca-file file] [--listen addr]\n"
	    "                      [--port n] [--tls-cert file] [--tls-key file] [--database file]\n"
	    "                      [--upstream addr@port] [--trust-anchor file] [--dnssec require|allow-insecure]\n"
	    "                      [--allow-private-authority] [--keys-refetch seconds] serve\n"
	    "       anchorid-agent [--database file] claims set identifier name=value|name:=json...\n"
	    "       anchorid-agent [--database file] claims get identifier\n"
	    "options also from the environment: ANCHORID_AGENT_AUTHORITY, _NAME, _KEY, _CA_FILE, _HOOK, _WAIT,\n"
	    "  _ISSUER, _LISTEN, _PORT, _TLS_CERT, _TLS_KEY, _DATABASE, _UPSTREAM, _TRUST_ANCHOR, _DNSSEC,\n"
	    "  _ALLOW_PRIVATE_AUTHORITY (yes or no), _KEYS_REFETCH\n");
	exit(2);
}

/* parse_wait(s, out): --wait / ANCHORID_AGENT_WAIT: whole seconds, 0..AGENTD_MAX_WAIT. */
static void
parse_wait(const char *s, int *out)
{
	int64_t v;

	if (str_parse_i64(s, 0, AGENTD_MAX_WAIT, &v) == -1) {
		fprintf(
		    stderr, "anchorid-agent: --wait: not a number of seconds from 0 to %d: %s\n", AGENTD_MAX_WAIT, s);
		exit(2);
	}
	*out = (int)v;
}

/* parse_keys_refetch(s, out): --keys-refetch / ANCHORID_AGENT_KEYS_REFETCH: 1..3600 seconds. */
static void
parse_keys_refetch(const char *s, int *out)
{
	int64_t v;

	if (str_parse_i64(s, 1, 3600, &v) == -1) {
		fprintf(stderr, "anchorid-agent: --keys-refetch: not a number of seconds from 1 to 3600: %s\n", s);
		exit(2);
	}
	*out = (int)v;
}

/* parse_port(s, out): --port / ANCHORID_AGENT_PORT: 1..65535. */
static void
parse_port(const char *s, int *out)
{
	int64_t v;

	if (str_parse_i64(s, 1, 65535, &v) == -1) {
		fprintf(stderr, "anchorid-agent: --port: not a port number from 1 to 65535: %s\n", s);
		exit(2);
	}
	*out = (int)v;
}

/* parse_dnssec(s, out): --dnssec / ANCHORID_AGENT_DNSSEC: require (the default) or allow-insecure. */
static void
parse_dnssec(const char *s, bool *out)
{
	if (strcmp(s, "require") != 0 && strcmp(s, "allow-insecure") != 0) {
		fprintf(stderr, "anchorid-agent: --dnssec: require or allow-insecure, not %s\n", s);
		exit(2);
	}
	*out = strcmp(s, "allow-insecure") == 0;
}

/* parse_flag(name, s, out): a yes/no environment variable (yes, no, 1, 0, true, false). */
static void
parse_flag(const char *name, const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
		*out = false;
	else {
		fprintf(stderr, "anchorid-agent: %s: yes or no, not %s\n", name, s);
		exit(2);
	}
}

/* env(name): the variable ${name}, NULL when unset or empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

int
main(int argc, char **argv)
{
	struct agentd_opts opts;
	const char *alg = AGENTD_DEFAULT_ALG, *w;
	int ch;

	memset(&opts, 0, sizeof(opts));
	opts.authority = env("ANCHORID_AGENT_AUTHORITY");
	opts.name = env("ANCHORID_AGENT_NAME");
	opts.key_file = env("ANCHORID_AGENT_KEY");
	opts.ca_file = env("ANCHORID_AGENT_CA_FILE");
	opts.hook = env("ANCHORID_AGENT_HOOK");
	opts.wait_sec = AGENTD_DEFAULT_WAIT;
	if ((w = env("ANCHORID_AGENT_WAIT")) != NULL)
		parse_wait(w, &opts.wait_sec);
	opts.issuer = env("ANCHORID_AGENT_ISSUER");
	opts.listen = (w = env("ANCHORID_AGENT_LISTEN")) != NULL ? w : AGENTD_DEFAULT_LISTEN;
	opts.port = AGENTD_DEFAULT_PORT;
	if ((w = env("ANCHORID_AGENT_PORT")) != NULL)
		parse_port(w, &opts.port);
	opts.tls_cert = (w = env("ANCHORID_AGENT_TLS_CERT")) != NULL ? w : AGENTD_DEFAULT_TLS_CERT;
	opts.tls_key = (w = env("ANCHORID_AGENT_TLS_KEY")) != NULL ? w : AGENTD_DEFAULT_TLS_KEY;
	opts.database = (w = env("ANCHORID_AGENT_DATABASE")) != NULL ? w : AGENTD_DEFAULT_DATABASE;
	opts.upstream = env("ANCHORID_AGENT_UPSTREAM");
	opts.trust_anchor = env("ANCHORID_AGENT_TRUST_ANCHOR");
	if ((w = env("ANCHORID_AGENT_DNSSEC")) != NULL)
		parse_dnssec(w, &opts.allow_insecure);
	if ((w = env("ANCHORID_AGENT_ALLOW_PRIVATE_AUTHORITY")) != NULL)
		parse_flag("ANCHORID_AGENT_ALLOW_PRIVATE_AUTHORITY", w, &opts.allow_private_authority);
	opts.keys_refetch_sec = AGENTD_DEFAULT_KEYS_REFETCH;
	if ((w = env("ANCHORID_AGENT_KEYS_REFETCH")) != NULL)
		parse_keys_refetch(w, &opts.keys_refetch_sec);

	while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_AUTHORITY:
			opts.authority = optarg;
			break;
		case OPT_NAME:
			opts.name = optarg;
			break;
		case OPT_KEY:
			opts.key_file = optarg;
			break;
		case OPT_CA_FILE:
			opts.ca_file = optarg;
			break;
		case OPT_HOOK:
			opts.hook = optarg;
			break;
		case OPT_WAIT:
			parse_wait(optarg, &opts.wait_sec);
			break;
		case OPT_ALG:
			alg = optarg;
			break;
		case OPT_ISSUER:
			opts.issuer = optarg;
			break;
		case OPT_LISTEN:
			opts.listen = optarg;
			break;
		case OPT_PORT:
			parse_port(optarg, &opts.port);
			break;
		case OPT_TLS_CERT:
			opts.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			opts.tls_key = optarg;
			break;
		case OPT_DATABASE:
			opts.database = optarg;
			break;
		case OPT_UPSTREAM:
			opts.upstream = optarg;
			break;
		case OPT_TRUST_ANCHOR:
			opts.trust_anchor = optarg;
			break;
		case OPT_DNSSEC:
			parse_dnssec(optarg, &opts.allow_insecure);
			break;
		case OPT_ALLOW_PRIVATE_AUTHORITY:
			opts.allow_private_authority = true;
			break;
		case OPT_KEYS_REFETCH:
			parse_keys_refetch(optarg, &opts.keys_refetch_sec);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "serve") == 0)
		return (agentd_serve(&opts));
	if (argc >= 1 && strcmp(argv[0], "claims") == 0) {
		if (argc < 3)
			usage();
		return (agentd_claims(&opts, argc - 1, argv + 1));
	}
	if (argc != 2)
		usage();
	if (strcmp(argv[0], "keygen") == 0) {
		if (!agentd_alg_ok(alg)) {
			fprintf(stderr, "anchorid-agent: --alg: ES256, ES384 or RS256, not %s\n", alg);
			return (2);
		}
		return (agentd_keygen(alg, argv[1]));
	}
	if (!agentd_command_ok(argv[0]))
		usage();
	return (agentd_run(&opts, argv[0], argv[1]));
}
