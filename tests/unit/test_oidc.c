/*
 * test_oidc.c: identifier canonicalisation, signed browser blobs, and the brute-force throttle.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"
#include "test.h"
#include "throttle.h"

static void
canon_is(const char *in, const char *want)
{
	char *out = NULL;
	int rc = identifier_canonical(in, &out);

	if (want == NULL) {
		CHECK(rc == -1 && out == NULL);
		if (rc != -1)
			fprintf(stderr, "  accepted: \"%s\"\n", in);
	} else {
		CHECK(rc == 0);
		CHECK_STR(out, want);
	}
	free(out);
}

static void
test_identifier_canonical_form(void)
{
	canon_is("alice.example.com", "alice.example.com");
	canon_is("Alice.Example.COM.", "alice.example.com");
	canon_is("a-b.c0.example", "a-b.c0.example");
	canon_is("xn--bcher-kva.example", "xn--bcher-kva.example");
	canon_is("Bücher.Example", "xn--bcher-kva.example"); /* IDN: U-labels become A-labels */
}

static void
test_identifier_rejects_malformed(void)
{
	char big[300], label[70];

	canon_is(NULL, NULL);
	canon_is("", NULL);
	canon_is(".", NULL);
	canon_is("localhost", NULL); /* one label: not an identifier */
	canon_is("a..example", NULL);
	canon_is(".a.example", NULL);
	canon_is("-a.example", NULL);
	canon_is("a-.example", NULL);
	canon_is("a_b.example", NULL);
	canon_is("a b.example", NULL);
	canon_is("alice@example.com", NULL);
	canon_is("a.example..", NULL);
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(big, sizeof(big), "%s.example", label);
	canon_is(big, NULL); /* label of 64 */
	label[63] = '\0';
	snprintf(big, sizeof(big), "%s.example", label);
	canon_is(big, big); /* label of 63 */
	memset(big, 'a', sizeof(big));
	for (size_t i = 10; i < 260; i += 10)
		big[i] = '.';
	big[254] = '\0';
	canon_is(big, NULL); /* 254 octets */
}

static void
test_signed_blob_roundtrip_and_tamper(void)
{
	struct app app;
	json_t *o = json_pack("{s:s}", "client_id", "abc"), *back;
	char *blob;

	memset(&app, 0, sizeof(app));
	memset(app.secret, 7, sizeof(app.secret));
	blob = signed_pack(&app, "authz", o, 60);
	CHECK(blob != NULL);
	back = signed_unpack(&app, "authz", blob, time_now());
	CHECK(back != NULL);
	CHECK_STR(json_string_value(json_object_get(back, "client_id")), "abc");
	json_decref(back);
	/* Another purpose, an expired blob, a changed byte, another key: all refused. */
	CHECK(signed_unpack(&app, "other", blob, time_now()) == NULL);
	CHECK(signed_unpack(&app, "authz", blob, time_now() + 61) == NULL);
	blob[3] = blob[3] == 'A' ? 'B' : 'A';
	CHECK(signed_unpack(&app, "authz", blob, time_now()) == NULL);
	blob[3] = blob[3] == 'A' ? 'B' : 'A';
	app.secret[0] = 8;
	CHECK(signed_unpack(&app, "authz", blob, time_now()) == NULL);
	CHECK(signed_unpack(&app, "authz", "", time_now()) == NULL);
	CHECK(signed_unpack(&app, "authz", "nodot", time_now()) == NULL);
	CHECK(signed_unpack(&app, "authz", NULL, time_now()) == NULL);
	free(blob);
	json_decref(o);
}

static void
test_throttle_progressive_delay(void)
{
	struct throttle *t = throttle_new();
	int64_t now = 1000;

	CHECK(t != NULL);
	for (int i = 0; i < 5; i++) {
		CHECK(throttle_wait(t, "k", now) == 0);
		throttle_fail(t, "k", now, 5, 900);
	}
	/* Five failures allowed without delay; then 1, 2, 4 ... seconds. */
	CHECK(throttle_wait(t, "k", now) == 0);
	throttle_fail(t, "k", now, 5, 900);
	CHECK(throttle_wait(t, "k", now) == 1);
	throttle_fail(t, "k", now, 5, 900);
	CHECK(throttle_wait(t, "k", now) == 2);
	throttle_fail(t, "k", now, 5, 900);
	CHECK(throttle_wait(t, "k", now) == 4);
	for (int i = 0; i < 40; i++)
		throttle_fail(t, "k", now, 5, 900);
	CHECK(throttle_wait(t, "k", now) == 900);   /* capped */
	CHECK(throttle_wait(t, "other", now) == 0); /* keys are independent */
	CHECK(throttle_wait(t, "k", now + 900) == 0);
	throttle_clear(t, "k");
	CHECK(throttle_wait(t, "k", now) == 0);
	throttle_free(t);
	throttle_free(NULL);
}

static void
test_throttle_bounded(void)
{
	struct throttle *t = throttle_new();
	char key[32];

	for (int i = 0; i < THROTTLE_MAX_ENTRIES + 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		throttle_fail(t, key, 1000, 0, 60);
	}
	/* The table started over when full: the newest keys are tracked, memory stays bounded. */
	snprintf(key, sizeof(key), "k%d", THROTTLE_MAX_ENTRIES + 9);
	CHECK(throttle_wait(t, key, 1000) == 1);
	throttle_free(t);
}

int
main(void)
{
	TEST_RUN(test_identifier_canonical_form);
	TEST_RUN(test_identifier_rejects_malformed);
	TEST_RUN(test_signed_blob_roundtrip_and_tamper);
	TEST_RUN(test_throttle_progressive_delay);
	TEST_RUN(test_throttle_bounded);
	return (TEST_EXIT());
}
