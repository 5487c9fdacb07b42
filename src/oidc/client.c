/*
 * client.c: client authentication and the questions other files ask about a registered client.
 *
 * RFC 6749 §2.3.1 (client_secret_basic and client_secret_post), §3.2 (parameters must not repeat), §5.2
 * (invalid_client); OIDC Core §9 (token_endpoint_auth_method "none" for public clients); RFC 7591 §2
 * (metadata); SECURITY.md 1 (exact redirect URI match) and 8 (secrets hashed, compared in constant time).
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Compared instead of a stored hash when the client is unknown, so that unknown client_ids take as long as
 * wrong secrets (token_hash output is 43 base64url characters). */
static const char client_dummy_hash[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** client_meta_str(c, key): a string member of the client's metadata, or NULL. */
const char *
client_meta_str(const struct client *c, const char *key)
{
	if (c == NULL)
		return (NULL);
	return (json_string_value(json_object_get(c->metadata, key)));
}

/** client_is_public(c): token_endpoint_auth_method is "none". */
bool
client_is_public(const struct client *c)
{
	const char *m = client_meta_str(c, "token_endpoint_auth_method");

	return (m != NULL && strcmp(m, "none") == 0);
}

/** client_meta_has(c, key, value): ${value} is byte for byte an element of the metadata array ${key}. */
bool
client_meta_has(const struct client *c, const char *key, const char *value)
{
	json_t *a, *e;
	size_t i;

	if (c == NULL || value == NULL)
		return (false);
	a = json_object_get(c->metadata, key);
	for (i = 0; i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		if (json_is_string(e) && strcmp(json_string_value(e), value) == 0)
			return (true);
	}
	return (false);
}

/** client_redirect_ok(c, uri): SECURITY.md 1: ${uri} is byte-for-byte one of the registered redirect_uris
 * (no normalisation, no prefix or wildcard matching). */
bool
client_redirect_ok(const struct client *c, const char *uri)
{
	return (client_meta_has(c, "redirect_uris", uri));
}

/** client_post_logout_ok(c, uri): ${uri} is byte-for-byte one of the registered post_logout_redirect_uris. */
bool
client_post_logout_ok(const struct client *c, const char *uri)
{
	return (client_meta_has(c, "post_logout_redirect_uris", uri));
}

/** param_repeated(req, name): RFC 6749 §3.2: ${name} appears more than once in the body or the query string. */
bool
param_repeated(const struct request *req, const char *name)
{
	return (form_count(&req->form, name) + form_count(&req->query, name) > 1);
}

/**
 * client_authenticate(app, req, resp): RFC 6749 §2.3: the client identified and authenticated by the request.
 *   - Basic header (client_secret_basic), and/or client_id and client_secret as parameters (client_secret_post;
 *     req_param also reads the query string for the RP that sends token parameters there).
 *   - Basic plus parameters that repeat the same credentials is accepted (Nextcloud sends both); different
 *     values are 400 invalid_request.
 *   - Confidential clients may use either secret method whatever they registered (ID4ME.md: RPs mix them up);
 *     the secret is compared by hash in constant time.  Public clients ("none") send client_id only: a secret
 *     from them is 401 invalid_client (an empty Basic password is taken as none).
 * On failure writes the error into ${resp} and returns NULL.  Caller frees the client with client_free().
 */
struct client *
client_authenticate(struct app *app, const struct request *req, struct response *resp)
{
	const char *hdr, *p_id, *p_secret, *id, *secret;
	char *b_id = NULL, *b_secret = NULL, *hash = NULL;
	struct client *c = NULL;
	bool ok;

	if (param_repeated(req, "client_id") || param_repeated(req, "client_secret")) {
		resp_oauth_error(resp, 400, "invalid_request", "client_id or client_secret repeated");
		return (NULL);
	}
	p_id = req_param(req, "client_id");
	p_secret = req_param(req, "client_secret");
	/* RFC 7617: the scheme is case-insensitive; any other scheme is not client authentication. */
	hdr = req_header(req, "Authorization");
	if (hdr != NULL && strncasecmp(hdr, "Basic", 5) == 0 && (hdr[5] == ' ' || hdr[5] == '\t')) {
		if (auth_parse_basic(hdr, &b_id, &b_secret) == -1 || b_id[0] == '\0') {
			resp_oauth_error(resp, 401, "invalid_client", "malformed Basic credentials");
			goto fail;
		}
		/* Both methods at once (RFC 6749 §2.3 says MUST NOT): tolerated only when they agree. */
		if ((p_id != NULL && strcmp(p_id, b_id) != 0) || (p_secret != NULL && !ct_streq(p_secret, b_secret))) {
			resp_oauth_error(resp, 400, "invalid_request", "conflicting client credentials");
			goto fail;
		}
		id = b_id;
		secret = b_secret[0] != '\0' ? b_secret : NULL;
	} else if (p_id != NULL && p_id[0] != '\0') {
		id = p_id;
		secret = p_secret != NULL && p_secret[0] != '\0' ? p_secret : NULL;
	} else {
		resp_oauth_error(resp, 401, "invalid_client", "client authentication required");
		goto fail;
	}

	switch (store_client_get(app->st, id, &c)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		c = NULL;
		break;
	default:
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto fail;
	}
	if (c != NULL && client_is_public(c)) {
		/* OIDC Core §9 "none": nothing to compare; a secret means the RP is confused or probing. */
		ok = secret == NULL;
	} else {
		/* SECURITY.md 8: constant time, and the same work for unknown clients. */
		hash = token_hash(secret != NULL ? secret : "");
		ok = ct_streq(hash, c != NULL && c->secret_hash != NULL ? c->secret_hash : client_dummy_hash) &&
		    c != NULL && c->secret_hash != NULL && secret != NULL;
	}
	if (!ok) {
		resp_oauth_error(resp, 401, "invalid_client", NULL);
		goto fail;
	}
	store_client_touch(app->st, c->client_id, time_now()); /* failure logged by the store; not fatal */
	goto out;
fail:
	client_free(c);
	c = NULL;
out:
	free(b_id);
	str_secure_free(b_secret);
	free(hash);
	return (c);
}

/** source_key(remote, out, outlen): the key that per-source limits (SECURITY.md 10, 11) count under: the address,
 * but for IPv6 its /64 (one host usually holds a whole /64, so per-address counting would be no limit). */
void
source_key(const char *remote, char *out, size_t outlen)
{
	struct in6_addr a;
	char txt[INET6_ADDRSTRLEN];

	if (strchr(remote, ':') != NULL && inet_pton(AF_INET6, remote, &a) == 1 && !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(&a.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &a, txt, sizeof(txt)) != NULL) {
			snprintf(out, outlen, "%s/64", txt);
			return;
		}
	}
	snprintf(out, outlen, "%s", remote);
}
