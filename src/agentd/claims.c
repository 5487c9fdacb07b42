/*
 * claims.c: `anchorid-agent claims set|get` (drafts/claims.md §5): the claims the agent holds for its users, in
 * its own database (store_claims_set / store_claims_get), which `anchorid-agent serve` releases claim by claim.
 *
 *   claims set IDENTIFIER name=VALUE...     VALUE a string
 *                         name:=JSON...     a JSON value (true, 42, {"country":"DE"}); null removes the claim
 *   claims get IDENTIFIER                   the claims as a JSON object
 *
 * Names follow drafts/claims.md §1 (at most 64 bytes of [A-Za-z0-9_.:-]); the members the authority or the
 * agent's answer set themselves (sub, iss, aud, ...) cannot be stored, and the standard claims of OIDC Core
 * §5.1 must have their types (email_verified a boolean, address an object, updated_at a number).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agentd_int.h"
#include "dns.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define CLAIMS_NAME_MAX 64  /* drafts/claims.md §1: a claim name over 64 bytes is refused */
#define CLAIMS_JSON_DEPTH 8 /* drafts/claims.md §1 nesting limit; an address object nests 1 */

/* Members that are not the user's data: the authority's own (drafts/claims.md §1) and the answer's (§5). */
static const char *const claims_reserved[] = { "sub", "iss", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce",
	"acr", "amr", "azp", "id4me.identifier", NULL };

/* OIDC Core §5.1: the standard claims that are not strings. */
static const struct {
	const char *name; /* the claim */
	json_type type;   /* JSON_TRUE: a boolean; JSON_OBJECT; JSON_INTEGER */
	const char *what; /* the message when the value has another type */
} claims_typed[] = {
	{ "email_verified", JSON_TRUE, "a boolean (email_verified:=true)" },
	{ "phone_number_verified", JSON_TRUE, "a boolean (phone_number_verified:=true)" },
	{ "address", JSON_OBJECT, "a JSON object (address:='{\"country\":\"DE\"}')" },
	{ "updated_at", JSON_INTEGER, "a number of seconds since 1970 (updated_at:=1795000000)" },
};

/* OIDC Core §5.1: the standard claims that are strings. */
static const char *const claims_strings[] = { "name", "family_name", "given_name", "middle_name", "nickname",
	"preferred_username", "profile", "picture", "website", "email", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", NULL };

/*
 * agentd_store_open(path): the claims database, its directory created first (mode 0700: it holds personal
 * data); NULL after a message.
 */
struct store *
agentd_store_open(const char *path)
{
	struct store *st;
	char *copy, *dir;

	if ((copy = xstrdup(path)) == NULL) {
		agentd_errx("out of memory");
		return (NULL);
	}
	dir = dirname(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		agentd_errx("mkdir %s: %s", dir, strerror(errno));
	free(copy);
	if ((st = store_open(path)) == NULL)
		agentd_errx("cannot open the database %s (see above)", path);
	return (st);
}

/* name_ok(name): drafts/claims.md §1: 1..CLAIMS_NAME_MAX bytes of [A-Za-z0-9_.:-]. */
static bool
name_ok(const char *name)
{
	size_t n = strlen(name);

	return (n > 0 && n <= CLAIMS_NAME_MAX &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n);
}

/* type_ok(name, v): null (removal) always; a standard claim of OIDC Core §5.1 only with its type.  Otherwise
 * false after a message. */
static bool
type_ok(const char *name, json_t *v)
{
	size_t i;

	if (json_is_null(v))
		return (true);
	for (i = 0; i < sizeof(claims_typed) / sizeof(claims_typed[0]); i++) {
		if (strcmp(name, claims_typed[i].name) != 0)
			continue;
		if ((claims_typed[i].type == JSON_TRUE && json_is_boolean(v)) ||
		    (claims_typed[i].type == JSON_OBJECT && json_is_object(v)) ||
		    (claims_typed[i].type == JSON_INTEGER && json_is_integer(v)))
			return (true);
		agentd_errx("%s is %s", name, claims_typed[i].what);
		return (false);
	}
	for (i = 0; claims_strings[i] != NULL; i++) {
		if (strcmp(name, claims_strings[i]) == 0 && !json_is_string(v)) {
			agentd_errx("%s is a string (%s=VALUE)", name, name);
			return (false);
		}
	}
	return (true);
}

/*
 * parse_pair(arg, claims): add "name=VALUE" (a string) or "name:=JSON" (any JSON value, null removing the
 * claim) to the object ${claims}.  -1 after a message.
 */
static int
parse_pair(const char *arg, json_t *claims)
{
	const char *eq = strchr(arg, '='), *text;
	json_error_t jerr;
	json_t *v = NULL;
	char *name = NULL;
	bool raw;
	size_t i;
	int ret = -1;

	if (eq == NULL || eq == arg) {
		agentd_errx("not name=VALUE or name:=JSON: %s", arg);
		goto out;
	}
	raw = eq[-1] == ':';
	text = eq + 1;
	if ((name = xstrndup(arg, (size_t)(eq - arg) - (raw ? 1 : 0))) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	if (!name_ok(name)) {
		agentd_errx("not a claim name (1 to %d of A-Z a-z 0-9 _ . : -): %s", CLAIMS_NAME_MAX, name);
		goto out;
	}
	for (i = 0; claims_reserved[i] != NULL; i++) {
		if (strcmp(name, claims_reserved[i]) == 0) {
			agentd_errx("%s is not a user's claim: the authority or the agent's answer sets it", name);
			goto out;
		}
	}
	if (json_object_get(claims, name) != NULL) {
		agentd_errx("%s is given twice", name);
		goto out;
	}
	if (raw) {
		if (!json_depth_ok(text, strlen(text), CLAIMS_JSON_DEPTH) ||
		    (v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			agentd_errx("%s: not JSON (nested at most %d deep): %s", name, CLAIMS_JSON_DEPTH, text);
			goto out;
		}
	} else if ((v = json_string(text)) == NULL) {
		agentd_errx("%s: the value is not UTF-8", name);
		goto out;
	}
	if (!type_ok(name, v))
		goto out;
	if (json_object_set(claims, name, v) == -1) {
		agentd_errx("out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(v);
	free(name);
	return (ret);
}

/* print_claims(st, identifier): the identifier's claims as indented JSON on stdout; the exit status. */
static int
print_claims(struct store *st, const char *identifier)
{
	json_t *held = NULL;
	char *text = NULL;
	int ret = 1;

	if (store_claims_get(st, identifier, &held) != STORE_OK) {
		agentd_errx("cannot read the claims of %s (see above)", identifier);
		goto out;
	}
	if ((text = json_dumps(held, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	printf("%s\n", text);
	if (fflush(stdout) == EOF) {
		agentd_errx("stdout: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(text);
	json_decref(held);
	return (ret);
}

/*
 * agentd_claims(opts, argc, argv): `claims set IDENTIFIER pairs...` (all or nothing, in one transaction) or
 * `claims get IDENTIFIER`; prints the claims held afterwards.  The exit status.
 */
int
agentd_claims(const struct agentd_opts *opts, int argc, char **argv)
{
	struct store *st = NULL;
	json_t *claims = NULL;
	enum dns_rec_err why = DNS_REC_OK;
	enum store_rc rc;
	char *canon = NULL;
	bool set;
	int i, ret = 2;

	if (argc < 2 || (strcmp(argv[0], "set") != 0 && strcmp(argv[0], "get") != 0))
		goto usage;
	set = strcmp(argv[0], "set") == 0;
	if ((set && argc < 3) || (!set && argc != 2))
		goto usage;
	/* Informational lines of the store (schema migrations) would only clutter a command's output. */
	log_init(LOG_LVL_WARN, NULL);
	if (dns_identifier_canonical(argv[1], &canon, &why) == -1) {
		agentd_errx("not a valid identifier: %s: %s", argv[1], dns_rec_strerror(why));
		ret = 1;
		goto out;
	}
	if ((claims = json_object()) == NULL) {
		agentd_errx("out of memory");
		ret = 1;
		goto out;
	}
	for (i = 2; i < argc; i++)
		if (parse_pair(argv[i], claims) == -1)
			goto out;
	ret = 1;
	if ((st = agentd_store_open(opts->database)) == NULL)
		goto out;
	if (set && (rc = store_claims_set(st, canon, claims, time_now())) != STORE_OK) {
		if (rc == STORE_CONFLICT)
			agentd_errx("claims of %s not stored: too many at once, or a value too long", canon);
		else
			agentd_errx("claims of %s not stored (see above)", canon);
		goto out;
	}
	ret = print_claims(st, canon);
	goto out;
usage:
	agentd_errx("usage: claims set IDENTIFIER name=VALUE|name:=JSON... | claims get IDENTIFIER");
out:
	store_close(st);
	json_decref(claims);
	free(canon);
	return (ret);
}
