/*
 * agent_main.c: anchorid-agent, the reference identity agent (drafts/agent-provisioning.md §8).  Arguments and
 * dispatch only; the work is in src/agentd/.
 *
 *   anchorid-agent keygen [--alg ES256|ES384|RS256] KEYFILE
 *   anchorid-agent [--authority URL] [--name NAME] [--key KEYFILE] [--ca-file FILE] [--hook CMD]
 *                  [--wait SECONDS] provision|transfer|delete|status|setup-url IDENTIFIER
 *
 * Every option but --alg may also come from the environment as ANCHORID_AGENT_<OPTION> (AUTHORITY, NAME, KEY,
 * CA_FILE, HOOK, WAIT); a flag wins over its variable.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentd/agentd.h"
#include "util.h"

enum { OPT_AUTHORITY = 256, OPT_NAME, OPT_KEY, OPT_CA_FILE, OPT_HOOK, OPT_WAIT, OPT_ALG };

static const struct option long_opts[] = {
	{ "authority", required_argument, NULL, OPT_AUTHORITY },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "hook", required_argument, NULL, OPT_HOOK },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "alg", required_argument, NULL, OPT_ALG },
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
	    "options also from the environment: ANCHORID_AGENT_AUTHORITY, _NAME, _KEY, _CA_FILE, _HOOK, _WAIT\n");
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
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
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
