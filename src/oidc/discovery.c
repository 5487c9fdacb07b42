/*
 * discovery.c: what the authority publishes about itself.
 *
 * OpenID Connect Discovery 1.0 §3 (provider metadata) and §4 (the /.well-known/openid-configuration document),
 * RFC 8414 §2 (revocation_endpoint_auth_methods_supported, code_challenge_methods_supported), RFC 9207 §3
 * (authorization_response_iss_parameter_supported), RFC 7517 §5 (the JWK Set), and the static assets of www/.
 *
 * ID4ME.md "Interop traps": advertise only what is implemented (an advertised RS512 or JWE algorithm makes the
 * Python client use it; without claims_parameter_supported clients fall back to scopes), and no space inside any
 * string value (the PHP client strips every space from the document before parsing it).  drafts/claims.md §1:
 * claims_parameter_supported and claims_supported.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DISCOVERY_MAX_AGE "public, max-age=300" /* the document changes only with the configuration */
#define JWKS_MAX_AGE "public, max-age=60"       /* rotation publishes the next key key_activation_delay ahead */
#define STATIC_MAX_AGE "public, max-age=3600"   /* assets change only with a deployment */
#define STATIC_MAX_NAME 64                      /* asset names are short file names of www/ */

/* add_strings(o, key, values): set ${key} of ${o} to the JSON array of the NULL-terminated ${values}. */
static int
add_strings(json_t *o, const char *key, const char *const *values)
{
	json_t *a;

	if ((a = json_array()) == NULL)
		return (-1);
	for (; *values != NULL; values++) {
		if (json_array_append_new(a, json_string(*values)) == -1) {
			json_decref(a);
			return (-1);
		}
	}
	return (json_object_set_new(o, key, a));
}

/* add_endpoint(o, key, issuer, ilen, path): set ${key} of ${o} to the first ${ilen} bytes of ${issuer} then
 * ${path}. */
static int
add_endpoint(json_t *o, const char *key, const char *issuer, size_t ilen, const char *path)
{
	struct buf b;
	int ret = -1;

	buf_init(&b);
	if (buf_append(&b, issuer, ilen) == -1 || buf_puts(&b, path) == -1)
		goto out;
	ret = json_object_set_new(o, key, json_string(b.data));
out:
	buf_release(&b);
	return (ret);
}

/**
 * oidc_discovery(conf): the discovery document (OIDC Discovery §3) for ${conf}, compact JSON; caller frees.
 * NULL (logged) on memory failure or when the issuer would put a space into the document.
 */
char *
oidc_discovery(const struct conf *conf)
{
	static const char *const scopes[] = { "openid", NULL };
	static const char *const response_types[] = { "code", NULL };
	static const char *const response_modes[] = { "query", "form_post", NULL };
	static const char *const grant_types[] = { "authorization_code", "refresh_token", NULL };
	static const char *const subject_types[] = { "public", NULL };
	static const char *const algs[] = { "RS256", "ES256", NULL };
	static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post", "none", NULL };
	static const char *const pkce_methods[] = { "S256", NULL }; /* RFC 7636 §4.2: never "plain" */
	/* drafts/claims.md §1: the authority's own, then the standard claims an agent may deliver (OIDC Core §5.1). */
	static const char *const claims[] = { "sub", "iss", "id4me.identifier", "name", "family_name", "given_name",
		"middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate",
		"zoneinfo", "locale", "updated_at", "email", "email_verified", "address", "phone_number",
		"phone_number_verified", NULL };
	static const char *const prompts[] = { "none", "login", "consent", NULL };
	static const struct {
		const char *key;
		const char *path;
	} endpoints[] = {
		{ "authorization_endpoint", OIDC_PATH_AUTHORIZE },
		{ "token_endpoint", OIDC_PATH_TOKEN },
		{ "userinfo_endpoint", OIDC_PATH_USERINFO },
		{ "jwks_uri", OIDC_PATH_JWKS },
		{ "registration_endpoint", OIDC_PATH_REGISTER },
		{ "revocation_endpoint", OIDC_PATH_REVOKE },
		{ "end_session_endpoint", OIDC_PATH_LOGOUT },
	};
	json_t *o = NULL;
	char *out = NULL;
	size_t ilen, i;
	int rc = 0;

	if (conf == NULL || conf->issuer == NULL || conf->issuer[0] == '\0') {
		log_warnx("discovery: no issuer configured");
		return (NULL);
	}
	/* Discovery §3 and ID4ME.md: issuer is https:// + iss with no trailing slash, compared byte for byte. */
	ilen = strlen(conf->issuer);
	while (ilen > 0 && conf->issuer[ilen - 1] == '/')
		ilen--;
	if ((o = json_object()) == NULL)
		goto fail;
	rc |= add_endpoint(o, "issuer", conf->issuer, ilen, "");
	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		rc |= add_endpoint(o, endpoints[i].key, conf->issuer, ilen, endpoints[i].path);
	rc |= add_strings(o, "scopes_supported", scopes);
	rc |= add_strings(o, "response_types_supported", response_types);
	rc |= add_strings(o, "response_modes_supported", response_modes);
	rc |= add_strings(o, "grant_types_supported", grant_types);
	rc |= add_strings(o, "subject_types_supported", subject_types);
	rc |= add_strings(o, "id_token_signing_alg_values_supported", algs);
	rc |= add_strings(o, "userinfo_signing_alg_values_supported", algs);
	rc |= add_strings(o, "token_endpoint_auth_methods_supported", auth_methods);
	rc |= add_strings(o, "revocation_endpoint_auth_methods_supported", auth_methods);
	rc |= add_strings(o, "code_challenge_methods_supported", pkce_methods);
	rc |= add_strings(o, "claims_supported", claims);
	rc |= add_strings(o, "prompt_values_supported", prompts);
	rc |= json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
	rc |= json_object_set_new(o, "claims_parameter_supported", json_true()); /* OIDC Core §5.5: claims.c */
	/* Not implemented yet, so advertised as false (Discovery §3 defaults request_uri_parameter_supported to
	 * true, so it must be said explicitly).  Front- and back-channel logout are not advertised at all. */
	rc |= json_object_set_new(o, "request_parameter_supported", json_false());
	rc |= json_object_set_new(o, "request_uri_parameter_supported", json_false());
	if (rc != 0)
		goto fail;
	if ((out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto fail;
	json_decref(o);
	/* Compact output has no space outside strings, so any space is inside a value: refuse to publish it. */
	if (strchr(out, ' ') != NULL) {
		log_warnx("discovery: the issuer contains a space; refusing to publish it");
		free(out);
		return (NULL);
	}
	return (out);
fail:
	log_warnx("discovery: out of memory");
	json_decref(o);
	return (NULL);
}

/** h_discovery(ctx, req, resp): GET OIDC_PATH_DISCOVERY: the document built at start (app->discovery). */
void
h_discovery(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;

	(void)req;
	if (app->discovery == NULL) {
		log_warnx("discovery: no document built");
		resp_oauth_error(resp, 500, "server_error", NULL);
		return;
	}
	resp_text(resp, 200, "application/json", app->discovery);
	resp->kind = RESP_PUBLIC;
	resp_header(resp, "Cache-Control", DISCOVERY_MAX_AGE);
}

/** h_jwks(ctx, req, resp): GET OIDC_PATH_JWKS: every published public key (RFC 7517 §5). */
void
h_jwks(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	char *jwks;

	(void)req;
	if ((jwks = keyring_jwks(app->kr)) == NULL) {
		log_warnx("jwks: cannot serialise the key set");
		resp_oauth_error(resp, 500, "server_error", NULL);
		return;
	}
	resp_text(resp, 200, "application/json", jwks);
	free(jwks);
	resp->kind = RESP_PUBLIC;
	resp_header(resp, "Cache-Control", JWKS_MAX_AGE);
}

/* static_name_ok(name): a plain file name: 1..STATIC_MAX_NAME of [A-Za-z0-9._-], not starting with '.'. */
static bool
static_name_ok(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.')
		return (false);
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= STATIC_MAX_NAME)
			return (false);
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		        (name[i] >= '0' && name[i] <= '9') || name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return (false);
	}
	return (true);
}

/** h_static(ctx, req, resp): GET OIDC_PATH_STATIC<name>: an asset loaded from www/ at start, else 404.  Assets
 * are looked up by name in memory, never opened from the path, so ".." cannot reach the file system. */
void
h_static(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	const char *name, *data, *ctype = NULL;
	size_t len = 0;

	name = req->path;
	if (!str_has_prefix(name, OIDC_PATH_STATIC) || !static_name_ok(name + strlen(OIDC_PATH_STATIC)) ||
	    (data = tmpl_asset(app->tmpl, name + strlen(OIDC_PATH_STATIC), &len, &ctype)) == NULL) {
		resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n");
		return;
	}
	resp->status = 200;
	resp->content_type = ctype != NULL ? ctype : "application/octet-stream";
	buf_release(&resp->body);
	if (buf_append(&resp->body, data, len) == -1) {
		log_warnx("static: cannot copy %s", name);
		resp_oauth_error(resp, 500, "server_error", NULL);
		return;
	}
	resp->kind = RESP_PUBLIC;
	resp_header(resp, "Cache-Control", STATIC_MAX_AGE);
}
