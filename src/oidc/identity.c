/*
 * identity.c: identifiers and identity creation, shared by the command line and (later) the agent API.
 */
#include <string.h>

#include "internal.h"

#define IDENTIFIER_MAX 253 /* RFC 1035 §2.3.4, without the trailing dot */
#define LABEL_MAX 63
#define SUB_BYTES 16 /* 128 random bits: never guessable, never reused (unique in the store) */

/** identifier_canonical(in, out): the canonical identifier, or -1 when ${in} is not one. */
int
identifier_canonical(const char *in, char **out)
{
	size_t len, label = 0, labels = 0;
	char *s;

	*out = NULL;
	if (in == NULL)
		return (-1);
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > IDENTIFIER_MAX)
		return (-1);
	if ((s = xstrndup(in, len)) == NULL)
		return (-1);
	str_lower(s);
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			/* RFC 952/1123 LDH labels: no empty label, no '-' at either end. */
			if (label == 0 || label > LABEL_MAX || s[i - 1] == '-' || s[i - label] == '-')
				goto bad;
			labels++;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			label++;
		else
			goto bad;
	}
	if (labels < 2)
		goto bad;
	*out = s;
	return (0);
bad:
	free(s);
	return (-1);
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
