/*
 * cli.c: `anchorid agent ...`: the operator registers and manages identity agents (drafts/agent-provisioning.md
 * §1).  Agents are contracted parties: nobody registers one over the network.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "keys.h"
#include "internal.h"

#define CLI_MAX_JWK_FILE (64 * 1024) /* a public JWK is under 1 KiB (RSA 4096: about 800 bytes) */

static int
cli_usage(void)
{
	fprintf(stderr,
	    "usage: anchorid [-c file] agent add NAME --issuer URL --jwk FILE\n"
	    "       anchorid [-c file] agent list\n"
	    "       anchorid [-c file] agent disable|enable NAME\n"
	    "       anchorid [-c file] agent rotate-key NAME --jwk FILE\n");
	return (2);
}

/* name_check(name): §1: 1..64 of a-z 0-9 - _ . (the JWS kid); -1 with a message. */
static int
name_check(const char *name)
{
	if (agent_name_ok(name))
		return (0);
	fprintf(stderr, "anchorid: agent name must be 1..%d of a-z 0-9 - _ . : %s\n", AGENT_MAX_NAME, name);
	return (-1);
}

/* issuer_check(url): §1: an absolute https URL whose host[:port][/path] can be named by clp: no query, fragment
 * or user information, no trailing slash.  -1 with a message. */
static int
issuer_check(const char *url)
{
	const char *why = NULL;

	if (!str_has_prefix(url, "https://"))
		why = "must start with https://";
	else if (url[strlen("https://")] == '\0' || url[strlen("https://")] == '/')
		why = "has no host";
	else if (strpbrk(url, "?#") != NULL)
		why = "must have no query or fragment";
	else if (strchr(url, '@') != NULL)
		why = "must have no user information";
	else if (url[strlen(url) - 1] == '/')
		why = "must not end in /";
	else if (!openid_host_syntax_ok(url + strlen("https://")))
		why = "must be https:// followed by host[:port][/path] as the clp tag of an _openid record names it";
	if (why == NULL)
		return (0);
	fprintf(stderr, "anchorid: --issuer %s: %s\n", why, url);
	return (-1);
}

/* read_jwk(path, jwk, thumbprint): the public JWK in the file ${path} (private keys refused) and its RFC 7638
 * thumbprint; the caller frees both.  -1 with a message. */
static int
read_jwk(const char *path, char **jwk, char **thumbprint)
{
	FILE *fp = NULL;
	char *text = NULL, why[160];
	size_t n;
	int ret = -1;

	*jwk = *thumbprint = NULL;
	why[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "anchorid: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((text = malloc(CLI_MAX_JWK_FILE + 1)) == NULL)
		goto out;
	n = fread(text, 1, CLI_MAX_JWK_FILE + 1, fp);
	if (ferror(fp) || n > CLI_MAX_JWK_FILE) {
		fprintf(stderr, "anchorid: %s: cannot read (or larger than %d bytes)\n", path, CLI_MAX_JWK_FILE);
		goto out;
	}
	text[n] = '\0';
	if (jwk_public_import(text, jwk, why, sizeof(why)) == -1) {
		fprintf(stderr, "anchorid: %s: %s\n", path, why[0] ? why : "not a usable public JWK");
		goto out;
	}
	if ((*thumbprint = jwk_thumbprint(*jwk)) == NULL) {
		fprintf(stderr, "anchorid: %s: cannot compute the JWK thumbprint\n", path);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		free(*jwk);
		*jwk = NULL;
	}
	if (text != NULL) {
		/* A private key given by mistake must not linger in memory. */
		explicit_bzero(text, CLI_MAX_JWK_FILE + 1);
		free(text);
	}
	if (fp != NULL)
		fclose(fp);
	return (ret);
}

/* option(argc, argv, known, name, bad): the value of the option ${name} ("--jwk") among the arguments after the
 * agent's name, or NULL; *${bad} is set when an argument there is not one of the NULL-terminated ${known}
 * options followed by its value, or ${name} is repeated. */
static const char *
option(int argc, char **argv, const char *const *known, const char *name, bool *bad)
{
	const char *val = NULL;
	bool ok;

	for (int i = 2; i < argc; i += 2) {
		ok = false;
		for (size_t k = 0; known[k] != NULL; k++)
			ok |= strcmp(argv[i], known[k]) == 0;
		if (!ok || i + 1 >= argc) {
			*bad = true;
			return (NULL);
		}
		if (strcmp(argv[i], name) == 0) {
			if (val != NULL)
				*bad = true;
			val = argv[i + 1];
		}
	}
	return (val);
}

static int
cmd_add(struct store *st, int argc, char **argv)
{
	static const char *const known[] = { "--issuer", "--jwk", NULL };
	struct agent a;
	const char *issuer, *path;
	char *jwk = NULL, *thumbprint = NULL;
	bool bad = false;
	enum store_rc rc;
	int ret = 1;

	issuer = option(argc, argv, known, "--issuer", &bad);
	path = option(argc, argv, known, "--jwk", &bad);
	if (argc < 2 || bad || issuer == NULL || path == NULL)
		return (cli_usage());
	if (name_check(argv[1]) == -1 || issuer_check(issuer) == -1 || read_jwk(path, &jwk, &thumbprint) == -1)
		goto out;
	memset(&a, 0, sizeof(a));
	a.name = argv[1];
	a.issuer = (char *)(uintptr_t)issuer;
	a.jwk = jwk;
	a.thumbprint = thumbprint;
	if ((rc = store_agent_create(st, &a, time_now())) == STORE_CONFLICT)
		fprintf(stderr, "anchorid: agent exists: %s\n", argv[1]);
	else if (rc == STORE_OK) {
		printf("agent %s added; key thumbprint %s\n"
		       "its identifiers' _openid records must carry clp=%s\n",
		    argv[1], thumbprint, agent_url_host(issuer));
		ret = 0;
	} else
		fprintf(stderr, "anchorid: agent add %s failed\n", argv[1]);
out:
	free(jwk);
	free(thumbprint);
	return (ret);
}

static int
cmd_rotate(struct store *st, int argc, char **argv)
{
	static const char *const known[] = { "--jwk", NULL };
	const char *path;
	char *jwk = NULL, *thumbprint = NULL;
	bool bad = false;
	enum store_rc rc;
	int ret = 1;

	path = option(argc, argv, known, "--jwk", &bad);
	if (argc < 2 || bad || path == NULL)
		return (cli_usage());
	if (name_check(argv[1]) == -1 || read_jwk(path, &jwk, &thumbprint) == -1)
		goto out;
	/* §1: at once: requests signed with the old key fail from now on. */
	if ((rc = store_agent_set_key(st, argv[1], jwk, thumbprint, time_now())) == STORE_NOTFOUND)
		fprintf(stderr, "anchorid: no such agent: %s\n", argv[1]);
	else if (rc == STORE_OK) {
		printf("agent %s: new key, thumbprint %s\n", argv[1], thumbprint);
		ret = 0;
	} else
		fprintf(stderr, "anchorid: agent rotate-key %s failed\n", argv[1]);
out:
	free(jwk);
	free(thumbprint);
	return (ret);
}

static int
cmd_state(struct store *st, int argc, char **argv)
{
	enum agent_state state = strcmp(argv[0], "disable") == 0 ? AGENT_DISABLED : AGENT_ACTIVE;
	enum store_rc rc;

	if (argc != 2)
		return (cli_usage());
	if (name_check(argv[1]) == -1)
		return (1);
	if ((rc = store_agent_set_state(st, argv[1], state, time_now())) == STORE_NOTFOUND) {
		fprintf(stderr, "anchorid: no such agent: %s\n", argv[1]);
		return (1);
	} else if (rc != STORE_OK) {
		fprintf(stderr, "anchorid: agent %s %s failed\n", argv[0], argv[1]);
		return (1);
	}
	printf("agent %s: %sd\n", argv[1], argv[0]);
	return (0);
}

static int
cmd_list(struct store *st, int argc)
{
	json_t *list = NULL;
	char *s;

	if (argc != 1)
		return (cli_usage());
	if (store_agent_list(st, &list) != STORE_OK) {
		fprintf(stderr, "anchorid: agent list failed\n");
		return (1);
	}
	s = json_dumps(list, JSON_INDENT(2));
	printf("%s\n", s ? s : "[]");
	free(s);
	json_decref(list);
	return (0);
}

/** agent_cli(st, conf, argc, argv): `anchorid agent ...`; the exit status. */
int
agent_cli(struct store *st, const struct conf *conf, int argc, char **argv)
{
	(void)conf;
	if (argc < 1)
		return (cli_usage());
	if (strcmp(argv[0], "add") == 0)
		return (cmd_add(st, argc, argv));
	if (strcmp(argv[0], "list") == 0)
		return (cmd_list(st, argc));
	if (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0)
		return (cmd_state(st, argc, argv));
	if (strcmp(argv[0], "rotate-key") == 0)
		return (cmd_rotate(st, argc, argv));
	return (cli_usage());
}
