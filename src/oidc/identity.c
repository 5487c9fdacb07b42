/*
 * identity.c: identifiers, subs and one-time page tokens, shared by the command line and the agent API
 * (src/agent/).
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

/** identity_sub_new(): a fresh random sub (128 bits, base64url); caller frees. */
char *
identity_sub_new(void)
{
	return (rand_token(SUB_BYTES));
}

/** identity_token_new(conf, path, hash, url): a one-time token for ${path}: its hash to store, its URL to hand
 * out. */
int
identity_token_new(const struct conf *conf, const char *path, char **hash, char **url)
{
	char *token = NULL;
	struct buf b;
	int ret = -1;

	*hash = *url = NULL;
	buf_init(&b);
	if ((token = rand_token(OIDC_TOKEN_BYTES)) == NULL || (*hash = token_hash(token)) == NULL)
		goto out;
	buf_printf(&b, "%s%s?t=%s", conf->issuer, path, token);
	if (b.err || (*url = buf_steal(&b)) == NULL)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		free(*hash);
		*hash = NULL;
	}
	buf_release(&b);
	str_secure_free(token);
	return (ret);
}

/** identity_new_setup_url(st, conf, identity_id, setup_url): a fresh setup URL; the previous one dies. */
int
identity_new_setup_url(struct store *st, const struct conf *conf, int64_t identity_id, char **setup_url)
{
	char *hash = NULL, *url = NULL;
	int rc = STORE_ERROR;

	*setup_url = NULL;
	if (identity_token_new(conf, OIDC_PATH_SETUP, &hash, &url) == -1)
		goto out;
	if ((rc = store_setup_create(st, identity_id, hash, time_now() + conf->setup_ttl)) != STORE_OK)
		goto out;
	*setup_url = url;
	url = NULL;
out:
	str_secure_free(url);
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
	if ((sub = identity_sub_new()) == NULL)
		goto out;
	if ((rc = store_identity_create(st, identifier, sub, time_now(), &id)) != STORE_OK)
		goto out;
	rc = identity_new_setup_url(st, conf, id->id, setup_url);
out:
	identity_free(id);
	free(sub);
	return (rc);
}
