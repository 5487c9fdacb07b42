/*
 * fuzz_agent_meta.c: libFuzzer harness for agent_meta_parse (src/oidc/agentmeta.c), the check of an identity
 * agent's /.well-known/openid-configuration as fetched over HTTPS (drafts/claims.md §2).  The input's first line
 * is the agent issuer (cut at a NUL, as a C string), the rest the document, handed over as exactly its bytes in a
 * buffer of its own size (a read past them is an ASan report).
 *
 * Invariants (abort on breach):
 *   - success gives a configuration whose issuer is byte for byte the given one, whose userinfo_endpoint and
 *     jwks_uri are https URLs of at most OIDC_MAX_URI bytes with a host, without userinfo, fragment, space or
 *     control character, and whose claims_supported is an array of at most 256 strings, each one supported
 *     (agent_meta_supports); the configuration owes nothing to the document (checked after the document is freed);
 *   - failure gives no configuration and a sentence, and the same answer without a sentence buffer;
 *   - the answer is the same for the document copied into a bigger buffer, and a configuration written out again
 *     as a document (with the input's other members dropped) is accepted again, unchanged.
 *
 *   make fuzz-bins && build/fuzz/bin/fuzz_agent_meta tests/fuzz/corpus/fuzz_agent_meta
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CLAIMS 256 /* drafts/claims.md §2 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERROR, NULL);
	return (0);
}

/* url_ok(s): an https URL as the parser must give it: a host, no userinfo, fragment, space or control byte. */
static bool
url_ok(const char *s)
{
	size_t i, hostlen;

	if (s == NULL || strncmp(s, "https://", 8) != 0 || strlen(s) > OIDC_MAX_URI)
		return (false);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '#')
			return (false);
	hostlen = strcspn(s + 8, "/?");
	return (hostlen > 0 && memchr(s + 8, '@', hostlen) == NULL);
}

/* check_meta(m, issuer): the invariants of a configuration the parser gave for ${issuer}. */
static void
check_meta(const struct agent_meta *m, const char *issuer)
{
	json_t *v;
	size_t i;

	if (m == NULL || m->issuer == NULL || strcmp(m->issuer, issuer) != 0)
		abort();
	if (!url_ok(m->userinfo_endpoint) || !url_ok(m->jwks_uri))
		abort();
	if (!json_is_array(m->claims_supported) || json_array_size(m->claims_supported) > MAX_CLAIMS)
		abort();
	json_array_foreach(m->claims_supported, i, v)
	{
		if (!json_is_string(v) || !agent_meta_supports(m, json_string_value(v)))
			abort();
	}
}

/* check_again(m): ${m} written out as a document is accepted again, to the same values. */
static void
check_again(const struct agent_meta *m)
{
	struct agent_meta *m2 = NULL;
	char why[512], *text;
	json_t *o;

	if ((o = json_pack("{s:s, s:s, s:s, s:O}", "issuer", m->issuer, "userinfo_endpoint", m->userinfo_endpoint,
	         "jwks_uri", m->jwks_uri, "claims_supported", m->claims_supported)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	if (agent_meta_parse(text, strlen(text), m->issuer, &m2, why, sizeof(why)) != 0 ||
	    strcmp(m2->issuer, m->issuer) != 0 || strcmp(m2->userinfo_endpoint, m->userinfo_endpoint) != 0 ||
	    strcmp(m2->jwks_uri, m->jwks_uri) != 0 || !json_equal(m2->claims_supported, m->claims_supported))
		abort();
	agent_meta_free(m2);
	free(text);
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_meta *m = NULL, *m2 = NULL;
	const uint8_t *nl = memchr(data, '\n', size);
	char why[512], *issuer, *doc, *big;
	size_t ilen, dlen;
	int rc;

	if (nl == NULL)
		return (0);
	ilen = (size_t)(nl - data);
	dlen = size - ilen - 1;
	if ((issuer = malloc(ilen + 1)) == NULL || (doc = malloc(dlen > 0 ? dlen : 1)) == NULL ||
	    (big = malloc(dlen + 16)) == NULL)
		abort();
	memcpy(issuer, data, ilen);
	issuer[ilen] = '\0';
	memcpy(doc, nl + 1, dlen);
	memcpy(big, nl + 1, dlen);
	memcpy(big + dlen, "\0}]\"xxxxxxxxxxx", 16);

	why[0] = '\0';
	rc = agent_meta_parse(doc, dlen, issuer, &m, why, sizeof(why));
	free(doc);
	if (rc == 0) {
		if (m == NULL)
			abort();
		check_meta(m, issuer);
		check_again(m);
	} else if (rc != -1 || m != NULL || why[0] == '\0')
		abort();

	/* The same answer with the bytes after the document changed, and without a sentence buffer. */
	if (agent_meta_parse(big, dlen, issuer, &m2, NULL, 0) != rc || (m2 != NULL) != (m != NULL))
		abort();
	if (m2 != NULL &&
	    (strcmp(m2->userinfo_endpoint, m->userinfo_endpoint) != 0 || strcmp(m2->jwks_uri, m->jwks_uri) != 0 ||
	        !json_equal(m2->claims_supported, m->claims_supported)))
		abort();
	agent_meta_free(m2);
	agent_meta_free(m);
	free(big);
	free(issuer);
	return (0);
}
