/*
 * fuzz_jwt.c: libFuzzer harness for the JWT and JWK parsers of src/keys: jwt_decode_unverified, jwt_verify
 * (against a keyring made once in a temporary store) and jwk_thumbprint.  Inputs are treated as C strings, as
 * the HTTP layer hands them over.
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/anchorid-fuzz-jwt-XXXXXX";
static char path[sizeof(dir) + 16];
static struct conf conf;
static struct store *st;
static struct keyring *kr;

static void
fuzz_cleanup(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[sizeof(path) + 16];
	size_t i;

	keyring_free(kr);
	store_close(st);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	conf_release(&conf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERROR, NULL);
	if (mkdtemp(dir) == NULL || conf_init(&conf) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/keys.db", dir);
	if ((st = store_open(path)) == NULL || (kr = keyring_open(st, &conf)) == NULL)
		abort();
	atexit(fuzz_cleanup);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const algs[] = { "RS256", "ES256", "HS256", "none", NULL };
	json_t *h = NULL, *p = NULL, *v;
	char *s, *tp;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if (jwt_decode_unverified(s, &h, &p) == 0 && (h == NULL || p == NULL || !json_is_object(h) ||
	    !json_is_object(p)))
		abort();
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
