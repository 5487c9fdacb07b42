/*
 * fuzz_jwt.c: libFuzzer harness for the JWT and JWK parsers of src/keys: jwt_decode_unverified, jwt_verify
 * (against a keyring made once in a temporary store) and jwk_thumbprint.  Inputs are treated as C strings, as
 * the HTTP layer hands them over.  The keyring's kids are random, so a token whose header names kid "rs" or
 * "es" is also verified with that kid replaced by the keyring's RS256 / ES256 kid: that way the fuzzer reaches
 * cjose's import and signature check, not only our header checks.
 *
 *   make fuzz-bins && build/fuzz/bin/fuzz_jwt tests/fuzz/corpus/fuzz_jwt
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/anchorid-fuzz-jwt-XXXXXX";
static char path[sizeof(dir) + 16];
static struct conf conf;
static struct store *st;
static struct keyring *kr;
static char *kid_rs, *kid_es; /* the keyring's kids */

static void
fuzz_cleanup(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[sizeof(path) + 16];
	size_t i;

	free(kid_rs);
	free(kid_es);
	keyring_free(kr);
	store_close(st);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	conf_release(&conf);
}

/* signing_kid(alg): the kid the keyring signs ${alg} with. */
static char *
signing_kid(const char *alg)
{
	json_t *c = json_object(), *h = NULL, *p = NULL;
	char *t = jwt_sign(kr, alg, NULL, c), *kid = NULL;

	if (t != NULL && jwt_decode_unverified(t, &h, &p) == 0)
		kid = xstrdup(json_string_value(json_object_get(h, "kid")));
	json_decref(c);
	json_decref(h);
	json_decref(p);
	free(t);
	return (kid);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERROR, NULL);
	if (mkdtemp(dir) == NULL || conf_init(&conf) == -1) {
		fprintf(stderr, "fuzz_jwt: cannot make a temporary directory\n");
		abort();
	}
	snprintf(path, sizeof(path), "%s/keys.db", dir);
	if ((st = store_open(path)) == NULL || (kr = keyring_open(st, &conf)) == NULL ||
	    (kid_rs = signing_kid("RS256")) == NULL || (kid_es = signing_kid("ES256")) == NULL) {
		fprintf(stderr, "fuzz_jwt: cannot set up a keyring in %s\n", dir);
		fuzz_cleanup();
		abort();
	}
	atexit(fuzz_cleanup);
	return (0);
}

/* rekeyed(token, header): ${token} with its header replaced by ${header} with kid "rs"/"es" made real. */
static char *
rekeyed(const char *token, json_t *header)
{
	const char *kid = json_string_value(json_object_get(header, "kid")), *rest;
	char *h = NULL, *hb = NULL, *out = NULL;
	struct buf b;

	if (kid == NULL || (strcmp(kid, "rs") != 0 && strcmp(kid, "es") != 0) || (rest = strchr(token, '.')) == NULL)
		return (NULL);
	json_object_set_new(header, "kid", json_string(strcmp(kid, "rs") == 0 ? kid_rs : kid_es));
	if ((h = json_dumps(header, JSON_COMPACT)) != NULL && (hb = b64url_encode(h, strlen(h))) != NULL) {
		buf_init(&b);
		buf_puts(&b, hb);
		buf_puts(&b, rest);
		out = buf_steal(&b);
	}
	free(h);
	free(hb);
	return (out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const algs[] = { "RS256", "ES256", "HS256", "none", NULL };
	json_t *h = NULL, *p = NULL, *v;
	char *s, *tp, *t2 = NULL;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if (jwt_decode_unverified(s, &h, &p) == 0) {
		if (h == NULL || p == NULL || !json_is_object(h) || !json_is_object(p))
			abort();
		if ((t2 = rekeyed(s, h)) != NULL && (v = jwt_verify(kr, t2, algs, NULL)) != NULL)
			abort();
		free(t2);
	}
	json_decref(h);
	json_decref(p);
	/* Nothing the fuzzer makes can carry a valid signature of our keys. */
	if ((v = jwt_verify(kr, s, algs, NULL)) != NULL)
		abort();
	if ((v = jwt_verify(kr, s, algs, "at+jwt")) != NULL)
		abort();
	tp = jwk_thumbprint(s);
	if (tp != NULL && strlen(tp) != 43)
		abort();
	free(tp);
	free(s);
	return (0);
}
