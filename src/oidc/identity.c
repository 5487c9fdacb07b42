/*
 * identity.c: identifiers and identity creation, shared by the command line and (later) the agent API.
 */
#include <string.h>

#include "dns.h"
#include "internal.h"

#define SUB_BYTES 16 /* 128 random bits: never guessable, never reused (unique in the store) */

/** identifier_canonical(in, out): the canonical identifier (the DNS module's rules: IDN to A-labels, lower case,
 * no trailing dot, LDH labels, at least two), or -1 when ${in} is not one. */
int
identifier_canonical(const char *in, char **out)
{
	return (dns_identifier_canonical(in, out, NULL));
}

/** identity_new_setup_url(st, conf, identity_id, setup_url): a fresh setup URL; the previous one dies. */
int
identity_new_setup_url(struct store *st, const struct conf *conf, int64_t identity_id, char **setup_url)
{
	char *token = NULL, *hash = NULL;
	struct buf b;
	int rc = STORE_ERROR;

	*setup_url = NULL;
	if ((token = rand_token(OIDC_TOKEN_BYTES)) == NULL || (hash = token_hash(token)) == NULL)
		goto out;
	if ((rc = store_setup_create(st, identity_id, hash, time_now() + conf->setup_ttl)) != STORE_OK)
		goto out;
	buf_init(&b);
	buf_printf(&b, "%s%s?t=%s", conf->issuer, OIDC_PATH_SETUP, token);
	*setup_url = b.err ? NULL : buf_steal(&b);
	buf_release(&b);
	if (*setup_url == NULL)
		rc = STORE_ERROR;
out:
	str_secure_free(token);
	free(hash);
	return (rc);
}

/** identity_add(st, conf, identifier, setup_url): create an inactive identity and its first setup URL. */
int
identity_add(struct store *st, const struct conf *conf, const char *identifier, char **setup_url)
{
	struct identity *id = NULL;
	char *sub = NULL;
	int rc = STORE_ERROR;

	*setup_url = NULL;
	if ((sub = rand_token(SUB_BYTES)) == NULL)
		goto out;
	if ((rc = store_identity_create(st, identifier, sub, time_now(), &id)) != STORE_OK)
		goto out;
	rc = identity_new_setup_url(st, conf, id->id, setup_url);
out:
	identity_free(id);
	free(sub);
	return (rc);
}
