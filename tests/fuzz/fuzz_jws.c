/*
 * fuzz_jws.c: libFuzzer harness for the agent request parser of src/keys/jws.c (jws_parse, then jws_verify with
 * three keys made at start: P-256, P-384, RSA 2048) and the agent key checks (jwk_public_import, jwk_public_of).
 * The input is handed to jws_parse as exactly ${size} bytes, not NUL-terminated, as the HTTP layer holds a body;
 * an input with a newline is also read as "header JSON \n payload \n signature bytes" and encoded into a flattened
 * JWS, so that mutations reach the protected header's JSON under its base64url.
 *
 * Invariants (abort on breach):
 *   - jws_parse gives JWS_OK with a request, or JWS_MALFORMED / JWS_BAD_ALG with no request and a sentence;
 *     a request has an alg of ours, non-empty kid, nonce and url, no refused header member, a NUL after the
 *     payload, a non-empty signature and a signing input of two base64url parts;
 *   - jws_verify never accepts (the keys are fresh, so nothing the fuzzer makes is signed by them), answers
 *     JWS_BAD_ALG exactly when the alg does not fit the key, and never fails internally on a good key;
 *   - the parsed header and payload, signed again with our key (jws_sign_flat), parse to the same values and
 *     verify;
 *   - jwk_public_import either refuses with a sentence or gives public members only, which it accepts again
 *     unchanged and which have an RFC 7638 thumbprint.
 *
 *   make fuzz-bins && build/fuzz/bin/fuzz_jws tests/fuzz/corpus/fuzz_jws
 *   FUZZ_JWS_WRITE_SEEDS=dir build/fuzz/bin/fuzz_jws -runs=0 $(mktemp -d)   writes signed requests of each alg
 *   and the public keys to dir (keys of that run only: replayed by a later run they fail to verify, as they must)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keys.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS 3
static const char *const key_algs[NKEYS] = { "ES256", "ES384", "RS256" }; /* what each key is made for */
static char *priv[NKEYS], *pub[NKEYS];

/* key_for(alg): the index of the key ${alg} signs with. */
static int
key_for(const char *alg)
{
	if (strcmp(alg, "ES256") == 0)
		return (0);
	if (strcmp(alg, "ES384") == 0)
		return (1);
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0)
		return (2);
	return (-1);
}

static void
fuzz_cleanup(void)
{
	int i;

	for (i = 0; i < NKEYS; i++) {
		str_secure_free(priv[i]);
		free(pub[i]);
	}
}

/* write_seeds(dir): one signed request per alg, with a payload and empty (POST-as-GET), and the public keys. */
static void
write_seeds(const char *dir)
{
	static const char *const algs[] = { "ES256", "ES384", "RS256", "PS256" };
	char path[1024], *t;
	FILE *f;
	size_t i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 2; j++) {
			t = jws_sign_flat(priv[key_for(algs[i])], algs[i], "agent.example", "oFvnlFP1wIhRlYS2jTaXbA",
			    "https://auth.example.test/agent/identifiers",
			    j == 0 ? "{\"identifier\":\"alice.example\",\"agent_name\":\"Example Agent\"}" : "");
			snprintf(path, sizeof(path), "%s/signed_%s%s", dir, algs[i], j == 0 ? "" : "_post_as_get");
			if (t == NULL || (f = fopen(path, "w")) == NULL || fputs(t, f) == EOF || fclose(f) == EOF)
				abort();
			free(t);
		}
	}
	for (i = 0; i < NKEYS; i++) {
		snprintf(path, sizeof(path), "%s/jwk_public_%s", dir, i == 0 ? "P256" : i == 1 ? "P384" : "RSA");
		if ((f = fopen(path, "w")) == NULL || fputs(pub[i], f) == EOF || fclose(f) == EOF)
			abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir;
	int i;

	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERROR, NULL);
	for (i = 0; i < NKEYS; i++) {
		if ((priv[i] = jwk_generate(key_algs[i])) == NULL || (pub[i] = jwk_public_of(priv[i])) == NULL) {
			fprintf(stderr, "fuzz_jws: cannot make a %s key\n", key_algs[i]);
			abort();
		}
	}
	atexit(fuzz_cleanup);
	if ((dir = getenv("FUZZ_JWS_WRITE_SEEDS")) != NULL)
		write_seeds(dir);
	return (0);
}

/* check_request(r): the invariants of a request jws_parse accepted. */
static void
check_request(const struct jws_request *r)
{
	static const char *const refused[] = { "jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256", "crit", "b64" };
	const char *dot;
	size_t i;

	if (r->header == NULL || !json_is_object(r->header) || key_for(r->alg) == -1)
		abort();
	if (r->kid == NULL || r->kid[0] == '\0' || r->nonce == NULL || r->nonce[0] == '\0' || r->url == NULL ||
	    r->url[0] == '\0')
		abort();
	if (strcmp(r->kid, json_string_value(json_object_get(r->header, "kid"))) != 0 ||
	    strcmp(r->url, json_string_value(json_object_get(r->header, "url"))) != 0)
		abort();
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (json_object_get(r->header, refused[i]) != NULL)
			abort();
	if (r->payload == NULL || r->payload[r->payload_len] != '\0' || r->sig == NULL || r->sig_len == 0)
		abort();
	if (r->signing_input == NULL || (dot = strchr(r->signing_input, '.')) == NULL || dot == r->signing_input)
		abort();
	for (i = 0; r->signing_input[i] != '\0'; i++) {
		unsigned char c = (unsigned char)r->signing_input[i];

		if (r->signing_input + i != dot &&
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		        c == '_'))
			abort();
	}
}

/* check_verify(r): no key accepts; BAD_ALG exactly when the alg does not fit the key. */
static void
check_verify(const struct jws_request *r)
{
	enum jws_rc rc;
	int i, k = key_for(r->alg);

	for (i = 0; i < NKEYS; i++) {
		rc = jws_verify(r, pub[i]);
		if (rc != (i == k ? JWS_BAD_SIGNATURE : JWS_BAD_ALG))
			abort();
	}
}

/* check_resign(r): the parsed values, signed with our key, come back the same and verify. */
static void
check_resign(const struct jws_request *r)
{
	struct jws_request *r2 = NULL;
	int k = key_for(r->alg);
	char *t;

	if (strlen(r->payload) != r->payload_len)
		return; /* a payload with a NUL byte is no C string for jws_sign_flat */
	if ((t = jws_sign_flat(priv[k], r->alg, r->kid, r->nonce, r->url, r->payload)) == NULL)
		abort();
	if (strlen(t) <= KEYS_MAX_JWS) {
		if (jws_parse(t, strlen(t), &r2, NULL, 0) != JWS_OK || strcmp(r2->alg, r->alg) != 0 ||
		    strcmp(r2->kid, r->kid) != 0 || strcmp(r2->nonce, r->nonce) != 0 || strcmp(r2->url, r->url) != 0 ||
		    r2->payload_len != r->payload_len || memcmp(r2->payload, r->payload, r->payload_len) != 0 ||
		    jws_verify(r2, pub[k]) != JWS_OK)
			abort();
		jws_request_free(r2);
	}
	free(t);
}

/* check_jwk(s): jwk_public_import and jwk_public_of of the C string ${s}. */
static void
check_jwk(const char *s)
{
	static const char *const public_members[] = { "crv", "e", "kty", "n", "x", "y" };
	char why[256], *out = NULL, *again = NULL, *tp, *of;
	const char *key;
	json_t *o, *v;
	size_t i;
	int rc;

	why[0] = '\0';
	rc = jwk_public_import(s, &out, why, sizeof(why));
	if ((rc == 0) != (out != NULL) || (rc == -1 && why[0] == '\0'))
		abort();
	if (out != NULL) {
		if (jwk_public_import(out, &again, NULL, 0) != 0 || strcmp(again, out) != 0)
			abort();
		if ((tp = jwk_thumbprint(out)) == NULL || strlen(tp) != 43)
			abort();
		if ((o = json_loads(out, 0, NULL)) == NULL)
			abort();
		json_object_foreach(o, key, v)
		{
			for (i = 0; i < sizeof(public_members) / sizeof(public_members[0]); i++)
				if (strcmp(key, public_members[i]) == 0)
					break;
			if (i == sizeof(public_members) / sizeof(public_members[0]) || !json_is_string(v))
				abort();
		}
		json_decref(o);
		free(tp);
		free(again);
		free(out);
	}
	/* The public half of anything jwk_public_of takes is a key jwk_public_import takes. */
	if ((of = jwk_public_of(s)) != NULL) {
		if (jwk_public_import(of, &out, NULL, 0) != 0 || strcmp(out, of) != 0)
			abort();
		free(out);
		free(of);
	}
}

/* check_body(data, size): jws_parse of exactly ${size} bytes (a read past them is an ASan report), and more. */
static void
check_body(const void *data, size_t size)
{
	struct jws_request *r = NULL;
	char why[256], *body;
	enum jws_rc rc;

	if ((body = malloc(size > 0 ? size : 1)) == NULL)
		return;
	memcpy(body, data, size);
	why[0] = 'x';
	why[1] = '\0';
	rc = jws_parse(body, size, &r, why, sizeof(why));
	if (rc == JWS_OK) {
		if (r == NULL || why[0] != '\0')
			abort();
		check_request(r);
		check_verify(r);
		check_resign(r);
	} else if ((rc != JWS_MALFORMED && rc != JWS_BAD_ALG) || r != NULL || why[0] == '\0')
		abort();
	if (size > KEYS_MAX_JWS && rc != JWS_MALFORMED)
		abort();
	jws_request_free(r);
	free(body);
}

/*
 * check_parts(data, size): the input read as "header JSON \n payload \n signature bytes", each part
 * base64url-encoded into a flattened JWS, so that mutations reach the header's JSON under the encoding.
 */
static void
check_parts(const char *data, size_t size)
{
	const char *nl1, *nl2;
	char *h = NULL, *p = NULL, *g = NULL;
	struct buf b;

	if ((nl1 = memchr(data, '\n', size)) == NULL)
		return;
	if ((nl2 = memchr(nl1 + 1, '\n', size - (size_t)(nl1 + 1 - data))) == NULL)
		nl2 = data + size;
	h = b64url_encode(data, (size_t)(nl1 - data));
	p = b64url_encode(nl1 + 1, (size_t)(nl2 - nl1 - 1));
	g = nl2 < data + size ? b64url_encode(nl2 + 1, size - (size_t)(nl2 + 1 - data)) : xstrdup("");
	if (h != NULL && p != NULL && g != NULL) {
		buf_init(&b);
		buf_printf(&b, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", h, p, g);
		if (!b.err)
			check_body(b.data, b.len);
		buf_release(&b);
	}
	free(h);
	free(p);
	free(g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *v;

	check_body(data, size);
	check_parts((const char *)data, size);
	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	check_jwk(s);
	/* The dns-01 value: 43 characters whenever there is one. */
	if ((v = acme_dns01_value(s, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")) != NULL && strlen(v) != 43)
		abort();
	free(v);
	free(s);
	return (0);
}
