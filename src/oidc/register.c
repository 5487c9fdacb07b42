/*
 * register.c: open dynamic client registration and its management.
 *
 * RFC 7591 §2 (metadata), §3.1 (request: no initial access token here), §3.2.1 (client information response),
 * §3.2.2 (errors); OpenID Connect Dynamic Client Registration 1.0 §2 (application_type,
 * id_token_signed_response_alg, userinfo_signed_response_alg, post_logout_redirect_uris via RP-Initiated
 * Logout §3.1); RFC 7592 §2.1 (read), §2.2 (update), §2.3 (delete); RFC 8252 §7 (native redirect URIs);
 * SECURITY.md 1 (redirect URI rules), 8 (hashed, constant-time secrets) and 11 (open registration hardening).
 * drafts/registration.md describes the choices made here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define REG_CLIENT_ID_BYTES 16 /* 128-bit client_id: public, but unguessable so ids cannot be enumerated */
#define REG_MAX_DEPTH 8        /* JSON nesting: our members need 2; ignored members (jwks) may need a few more */
#define REG_MAX_SCHEME 32      /* URI scheme length; reverse-domain custom schemes stay far below */
#define REG_MAX_NAME 256       /* client_name bytes: shown on the consent page */
#define REG_MAX_CONTACTS 10    /* contacts entries */
#define REG_MAX_CONTACT 256    /* bytes of one contact */
#define REG_MAX_SCOPE 1024     /* bytes of the registered scope string */
#define REG_MAX_CLIENT_ID 64   /* longest client_id accepted in a registration_client_uri path */
#define REG_WINDOW 3600        /* conf->registration_per_hour counts registrations over this many seconds */
#define REG_RETRY_AFTER "3600" /* Retry-After of a 429: the window above */
#define REG_SOURCE_MAX (HTTP_MAX_ADDR + 4) /* a source key: an address, or an IPv6 /64 prefix */

/* A placeholder hash compared when the client is unknown, so that unknown and known clients take the same time. */
static const char reg_dummy_hash[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/* --------------------------------------------------------------------------------- validation */

/* Where client_metadata_validate records why it refused. */
struct vctx {
	char *err; /* error_description buffer */
	size_t errlen;
	const char *code; /* RFC 7591 §3.2.2 error code, or "server_error" */
};

static int vfail(struct vctx *v, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* vfail(v, code, fmt, ...): record a refusal with error ${code}; returns -1. */
static int
vfail(struct vctx *v, const char *code, const char *fmt, ...)
{
	va_list ap;

	v->code = code;
	if (v->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(v->err, v->errlen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

static int
vnomem(struct vctx *v)
{
	return (vfail(v, "server_error", "out of memory"));
}

static bool
is_alpha(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static bool
is_digit(unsigned char c)
{
	return (c >= '0' && c <= '9');
}

static bool
is_hex(unsigned char c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* scheme_char(c, first): RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool
scheme_char(unsigned char c, bool first)
{
	if (is_alpha(c))
		return (true);
	return (!first && (is_digit(c) || c == '+' || c == '-' || c == '.'));
}

/* uri_chars_ok(s): RFC 3986 §2: only unreserved and reserved characters and well-formed %XX escapes.  Rejects
 * spaces, controls, non-ASCII, '\\', '"', '<', '>', '^', '`', '{', '|', '}': browsers "repair" those in ways
 * that differ from our byte comparison, and they have no place in a Location header. */
static bool
uri_chars_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return (false);
			p += 2;
		} else if (!is_alpha(*p) && !is_digit(*p) && strchr("-._~:/?#[]@!$&'()*+,;=", *p) == NULL)
			return (false);
	}
	return (true);
}

enum uri_use {
	URI_REDIRECT, /* redirect_uris, post_logout_redirect_uris: SECURITY.md 1 */
	URI_INFO,     /* client_uri, logo_uri, policy_uri, tos_uri: shown or linked, never redirected to */
};

/* uri_host_check(v, what, auth, alen, loopback): the authority ${auth} (${alen} bytes) of an http(s) URI: no
 * userinfo, no %-escapes, a host of LDH labels or a bracketed IPv6 literal, an optional port 1-65535.
 * *loopback tells whether the host is 127.0.0.1, [::1] or localhost. */
static int
uri_host_check(struct vctx *v, const char *what, const char *auth, size_t alen, bool *loopback)
{
	size_t hlen, i;
	int64_t port = 0;

	*loopback = false;
	/* SECURITY.md 1: userinfo tricks (http://good@evil, http://good%25@evil, http://good%40evil). */
	if (memchr(auth, '@', alen) != NULL)
		return (vfail(v, NULL, "%s: user information is not allowed", what));
	if (memchr(auth, '%', alen) != NULL)
		return (vfail(v, NULL, "%s: percent-encoding is not allowed in the host", what));
	if (alen == 0)
		return (vfail(v, NULL, "%s: the host is missing", what));
	if (auth[0] == '[') {
		for (hlen = 1; hlen < alen && auth[hlen] != ']'; hlen++)
			if (!is_hex((unsigned char)auth[hlen]) && auth[hlen] != ':' && auth[hlen] != '.')
				return (vfail(v, NULL, "%s: bad IPv6 literal", what));
		if (hlen == alen || hlen == 1)
			return (vfail(v, NULL, "%s: bad IPv6 literal", what));
		hlen++; /* the ']' */
	} else {
		for (hlen = 0; hlen < alen && auth[hlen] != ':'; hlen++)
			if (!is_alpha((unsigned char)auth[hlen]) && !is_digit((unsigned char)auth[hlen]) &&
			    auth[hlen] != '-' && auth[hlen] != '.')
				return (vfail(v, NULL, "%s: bad character in the host", what));
		if (hlen == 0)
			return (vfail(v, NULL, "%s: the host is missing", what));
	}
	if (hlen < alen) {
		if (auth[hlen] != ':' || alen - hlen < 2 || alen - hlen > 6)
			return (vfail(v, NULL, "%s: bad port", what));
		for (i = hlen + 1; i < alen; i++) {
			if (!is_digit((unsigned char)auth[i]))
				return (vfail(v, NULL, "%s: bad port", what));
			port = port * 10 + (auth[i] - '0');
		}
		if (port < 1 || port > 65535)
			return (vfail(v, NULL, "%s: bad port", what));
	}
	*loopback = (hlen == 9 && strncmp(auth, "127.0.0.1", 9) == 0) ||
	    (hlen == 5 && strncmp(auth, "[::1]", 5) == 0) || (hlen == 9 && strncasecmp(auth, "localhost", 9) == 0);
	return (0);
}

/* uri_check(v, what, uri, use, native): SECURITY.md 1 for one URI of the metadata (the refusal's error code is
 * left NULL for the caller to choose). */
static int
uri_check(struct vctx *v, const char *what, const char *uri, enum uri_use use, bool native)
{
	char scheme[REG_MAX_SCHEME + 1];
	const char *rest, *auth;
	size_t n, alen;
	bool loopback;

	if (uri[0] == '\0' || strlen(uri) > OIDC_MAX_URI)
		return (vfail(v, NULL, "%s: must be 1 to %d bytes", what, OIDC_MAX_URI));
	if (!uri_chars_ok(uri))
		return (vfail(v, NULL, "%s: characters not allowed in a URI", what));
	/* RFC 3986 §3.1: the scheme, compared case-insensitively. */
	for (n = 0; uri[n] != ':' && uri[n] != '\0'; n++) {
		if (n >= REG_MAX_SCHEME || !scheme_char((unsigned char)uri[n], n == 0))
			return (vfail(v, NULL, "%s: must be an absolute URI", what));
	}
	if (n == 0 || uri[n] != ':')
		return (vfail(v, NULL, "%s: must be an absolute URI", what));
	memcpy(scheme, uri, n);
	scheme[n] = '\0';
	str_lower(scheme);
	rest = uri + n + 1;
	/* SECURITY.md 1: script and local-content schemes, in any letter case. */
	if (strcmp(scheme, "javascript") == 0 || strcmp(scheme, "data") == 0 || strcmp(scheme, "vbscript") == 0 ||
	    strcmp(scheme, "file") == 0)
		return (vfail(v, NULL, "%s: the %s: scheme is not allowed", what, scheme));
	/* RFC 6749 §3.1.2: the redirection endpoint URI must not include a fragment component. */
	if (use == URI_REDIRECT && strchr(uri, '#') != NULL)
		return (vfail(v, NULL, "%s: a fragment is not allowed", what));
	if (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0) {
		if (strncmp(rest, "//", 2) != 0)
			return (vfail(v, NULL, "%s: must be an absolute URI with a host", what));
		auth = rest + 2;
		alen = strcspn(auth, "/?#");
		if (uri_host_check(v, what, auth, alen, &loopback) == -1)
			return (-1);
		/* SECURITY.md 1: https, except plain http to the loopback interface (RFC 8252 §7.3, development). */
		if (use == URI_REDIRECT && scheme[4] == '\0' && !loopback)
			return (vfail(v, NULL, "%s: must use https (http only for 127.0.0.1, [::1], localhost)", what));
		return (0);
	}
	if (use == URI_INFO)
		return (vfail(v, NULL, "%s: must be an http or https URI", what));
	/* A private-use scheme: native apps only, and reverse-domain based (RFC 8252 §7.1: com.example.app:/cb). */
	if (!native)
		return (vfail(v, NULL, "%s: custom schemes need application_type native", what));
	if (strchr(scheme, '.') == NULL || rest[0] == '\0')
		return (vfail(v, NULL, "%s: a custom scheme must be a reverse domain name (RFC 8252 7.1)", what));
	return (0);
}

/* text_ok(s): UTF-8 text (jansson guarantees well-formed) without C0/C1 controls, DEL or bidirectional
 * overrides and isolates (U+202A-202E, U+2066-2069), which could make a client name on the consent page read
 * differently from what it is. */
static bool
text_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return (false);
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return (false);
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
			return (false);
		if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
			return (false);
	}
	return (true);
}

/* scope_ok(s): RFC 6749 §3.3 scope tokens (NQCHAR: %x21 / %x23-5B / %x5D-7E) separated by spaces. */
static bool
scope_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (!(*p == ' ' || *p == 0x21 || (*p >= 0x23 && *p <= 0x5b) || (*p >= 0x5d && *p <= 0x7e)))
			return (false);
	return (true);
}

/* absent(v): a member that was not sent, or sent as null: the default applies. */
static bool
absent(const json_t *v)
{
	return (v == NULL || json_is_null(v));
}

/* opt_string(v, in, key, out): the optional string member ${key} of ${in} in *out; NULL when absent, null or
 * "" (some RP libraries send empty strings for unset metadata). */
static int
opt_string(struct vctx *v, json_t *in, const char *key, const char **out)
{
	json_t *j = json_object_get(in, key);

	*out = NULL;
	if (absent(j))
		return (0);
	if (!json_is_string(j))
		return (vfail(v, "invalid_client_metadata", "%s must be a string", key));
	if (json_string_length(j) > 0)
		*out = json_string_value(j);
	return (0);
}

/* one_of(s, list): ${s} is one of the NULL-terminated ${list}; returns the list's (static) copy or NULL. */
static const char *
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return (*list);
	return (NULL);
}

/* uri_list(v, in, out, key, required, native, code): the array of URIs ${key}: 1..OIDC_MAX_REDIRECT_URIS
 * redirect URIs, each checked; copied into ${out}.  Refusals get error ${code}. */
static int
uri_list(struct vctx *v, json_t *in, json_t *out, const char *key, bool required, bool native, const char *code)
{
	json_t *j = json_object_get(in, key), *a, *e;
	char what[64];
	size_t i;

	if (absent(j) || (json_is_array(j) && json_array_size(j) == 0 && !required)) {
		if (required)
			return (vfail(v, code, "%s is required", key));
		return (0);
	}
	if (!json_is_array(j))
		return (vfail(v, code, "%s must be an array of URIs", key));
	if (json_array_size(j) < 1 || json_array_size(j) > OIDC_MAX_REDIRECT_URIS)
		return (vfail(v, code, "%s must hold 1 to %d URIs", key, OIDC_MAX_REDIRECT_URIS));
	if ((a = json_array()) == NULL || json_object_set_new(out, key, a) == -1)
		return (vnomem(v));
	for (i = 0; i < json_array_size(j); i++) {
		e = json_array_get(j, i);
		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		if (!json_is_string(e))
			return (vfail(v, code, "%s must be a string", what));
		if (uri_check(v, what, json_string_value(e), URI_REDIRECT, native) == -1) {
			v->code = code;
			return (-1);
		}
		if (json_array_append_new(a, json_string(json_string_value(e))) == -1)
			return (vnomem(v));
	}
	return (0);
}

/* grant_and_response_types(v, in, out): RFC 7591 §2: the server registers what it supports of what was asked and
 * returns that.  response_types must include "code" (others, such as mod_auth_openidc's "code id_token", are
 * dropped); grant_types keep authorization_code and refresh_token, and must include authorization_code when
 * given.  Absent or empty lists mean ["code"] and ["authorization_code"]. */
static int
grant_and_response_types(struct vctx *v, json_t *in, json_t *out)
{
	json_t *j, *e;
	bool code = false, refresh = false;
	const char *s;
	size_t i;

	j = json_object_get(in, "response_types");
	if (!absent(j) && !json_is_array(j))
		return (vfail(v, "invalid_client_metadata", "response_types must be an array"));
	for (i = 0; i < json_array_size(j); i++) {
		e = json_array_get(j, i);
		if ((s = json_string_value(e)) == NULL)
			return (vfail(v, "invalid_client_metadata", "response_types must hold strings"));
		if (strcmp(s, "code") == 0)
			code = true;
	}
	if (json_array_size(j) > 0 && !code)
		return (vfail(v, "invalid_client_metadata", "response_types must include code"));
	if (json_object_set_new(out, "response_types", json_pack("[s]", "code")) == -1)
		return (vnomem(v));

	code = false;
	j = json_object_get(in, "grant_types");
	if (!absent(j) && !json_is_array(j))
		return (vfail(v, "invalid_client_metadata", "grant_types must be an array"));
	for (i = 0; i < json_array_size(j); i++) {
		e = json_array_get(j, i);
		if ((s = json_string_value(e)) == NULL)
			return (vfail(v, "invalid_client_metadata", "grant_types must hold strings"));
		if (strcmp(s, "authorization_code") == 0)
			code = true;
		else if (strcmp(s, "refresh_token") == 0)
			refresh = true;
	}
	if (json_array_size(j) > 0 && !code)
		return (vfail(v, "invalid_client_metadata",
		    "grant_types must include authorization_code for response type code"));
	if (json_object_set_new(out, "grant_types",
	        refresh ? json_pack("[ss]", "authorization_code", "refresh_token")
	                : json_pack("[s]", "authorization_code")) == -1)
		return (vnomem(v));
	return (0);
}

/* enum_member(v, in, out, key, allowed, dflt): a string member whose value must be one of ${allowed}; ${dflt}
 * (may be NULL: then nothing is stored) when absent. */
static int
enum_member(struct vctx *v, json_t *in, json_t *out, const char *key, const char *const *allowed, const char *dflt)
{
	const char *s, *val;

	if (opt_string(v, in, key, &s) == -1)
		return (-1);
	if (s == NULL)
		val = dflt;
	else if ((val = one_of(s, allowed)) == NULL)
		return (vfail(v, "invalid_client_metadata", "unsupported %s", key));
	if (val != NULL && json_object_set_new(out, key, json_string(val)) == -1)
		return (vnomem(v));
	return (0);
}

/* info_members(v, in, out): client_name, the informational URIs, contacts and scope, checked and copied. */
static int
info_members(struct vctx *v, json_t *in, json_t *out)
{
	static const char *const info_uris[] = { "client_uri", "logo_uri", "policy_uri", "tos_uri", NULL };
	const char *const *k;
	const char *s;
	json_t *j, *e, *a;
	size_t i;

	if (opt_string(v, in, "client_name", &s) == -1)
		return (-1);
	if (s != NULL) {
		if (strlen(s) > REG_MAX_NAME || !text_ok(s))
			return (vfail(v, "invalid_client_metadata",
			    "client_name must be at most %d bytes of text without control characters", REG_MAX_NAME));
		if (json_object_set_new(out, "client_name", json_string(s)) == -1)
			return (vnomem(v));
	}
	for (k = info_uris; *k != NULL; k++) {
		if (opt_string(v, in, *k, &s) == -1)
			return (-1);
		if (s == NULL)
			continue;
		if (uri_check(v, *k, s, URI_INFO, false) == -1) {
			v->code = "invalid_client_metadata";
			return (-1);
		}
		if (json_object_set_new(out, *k, json_string(s)) == -1)
			return (vnomem(v));
	}
	j = json_object_get(in, "contacts");
	if (!absent(j)) {
		if (!json_is_array(j) || json_array_size(j) > REG_MAX_CONTACTS)
			return (vfail(v, "invalid_client_metadata", "contacts must be an array of at most %d strings",
			    REG_MAX_CONTACTS));
		if (json_array_size(j) > 0) {
			if ((a = json_array()) == NULL || json_object_set_new(out, "contacts", a) == -1)
				return (vnomem(v));
			for (i = 0; i < json_array_size(j); i++) {
				e = json_array_get(j, i);
				if ((s = json_string_value(e)) == NULL || s[0] == '\0' || strlen(s) > REG_MAX_CONTACT ||
				    !text_ok(s))
					return (vfail(v, "invalid_client_metadata",
					    "contacts[%zu] must be 1 to %d bytes of text", i, REG_MAX_CONTACT));
				if (json_array_append_new(a, json_string(s)) == -1)
					return (vnomem(v));
			}
		}
	}
	if (opt_string(v, in, "scope", &s) == -1)
		return (-1);
	if (s != NULL) {
		if (strlen(s) > REG_MAX_SCOPE || !scope_ok(s))
			return (vfail(v, "invalid_client_metadata", "scope must be RFC 6749 3.3 scope tokens"));
		if (json_object_set_new(out, "scope", json_string(s)) == -1)
			return (vnomem(v));
	}
	return (0);
}

/**
 * client_metadata_validate(in, err, errlen, err_code): check and normalise registration metadata ${in}
 * (borrowed).  A new object holding only what we store and echo (caller decrefs), or NULL with ${err} and
 * *err_code set ("invalid_redirect_uri", "invalid_client_metadata", or "server_error" on memory failure).
 */
json_t *
client_metadata_validate(json_t *in, char *err, size_t errlen, const char **err_code)
{
	static const char *const app_types[] = { "web", "native", NULL };
	static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post", "none", NULL };
	/* SECURITY.md 13 / ID4ME.md: only the algorithms we sign with; never "none", never HS*. */
	static const char *const algs[] = { "RS256", "ES256", NULL };
	struct vctx v = { err, errlen, "invalid_client_metadata" };
	json_t *out = NULL;
	bool native;

	if (errlen > 0)
		err[0] = '\0';
	if (!json_is_object(in)) {
		vfail(&v, "invalid_client_metadata", "metadata must be a JSON object");
		goto fail;
	}
	if ((out = json_object()) == NULL) {
		vnomem(&v);
		goto fail;
	}
	/* OIDC Registration §2: application_type web (default) or native; native may use https redirect URIs
	 * (ID4ME.md: Nextcloud and the Python client register native with https). */
	if (enum_member(&v, in, out, "application_type", app_types, "web") == -1)
		goto fail;
	native = strcmp(json_string_value(json_object_get(out, "application_type")), "native") == 0;
	if (uri_list(&v, in, out, "redirect_uris", true, native, "invalid_redirect_uri") == -1)
		goto fail;
	if (grant_and_response_types(&v, in, out) == -1)
		goto fail;
	if (enum_member(&v, in, out, "token_endpoint_auth_method", auth_methods, "client_secret_basic") == -1)
		goto fail;
	if (enum_member(&v, in, out, "id_token_signed_response_alg", algs, "RS256") == -1)
		goto fail;
	if (enum_member(&v, in, out, "userinfo_signed_response_alg", algs, NULL) == -1)
		goto fail;
	if (info_members(&v, in, out) == -1)
		goto fail;
	if (uri_list(&v, in, out, "post_logout_redirect_uris", false, native, "invalid_client_metadata") == -1)
		goto fail;
	return (out);
fail:
	if (err_code != NULL)
		*err_code = v.code != NULL ? v.code : "invalid_client_metadata";
	json_decref(out);
	return (NULL);
}

/* ----------------------------------------------------------------------------------- handlers */

/** reg_parse_body(req, resp): SECURITY.md 11/15: the request body as a JSON object (application/json, at most
 * OIDC_MAX_METADATA bytes, REG_MAX_DEPTH deep, no duplicate members); NULL with a 400/413 written. */
json_t *
reg_parse_body(const struct request *req, struct response *resp)
{
	json_error_t jerr;
	json_t *in;
	char msg[96];

	if (strcmp(req->content_type, "application/json") != 0) {
		resp_oauth_error(resp, 400, "invalid_client_metadata", "Content-Type must be application/json");
		return (NULL);
	}
	if (req->body_len > OIDC_MAX_METADATA) {
		snprintf(msg, sizeof(msg), "metadata larger than %d bytes", OIDC_MAX_METADATA);
		resp_oauth_error(resp, 413, "invalid_client_metadata", msg);
		return (NULL);
	}
	if (!json_depth_ok(req->body, req->body_len, REG_MAX_DEPTH)) {
		snprintf(msg, sizeof(msg), "metadata nested deeper than %d levels", REG_MAX_DEPTH);
		resp_oauth_error(resp, 400, "invalid_client_metadata", msg);
		return (NULL);
	}
	if ((in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		resp_oauth_error(
		    resp, 400, "invalid_client_metadata", "metadata must be one JSON object without duplicate members");
		return (NULL);
	}
	if (!json_is_object(in)) {
		json_decref(in);
		resp_oauth_error(resp, 400, "invalid_client_metadata", "metadata must be a JSON object");
		return (NULL);
	}
	return (in);
}

/* reg_validate(in, resp): client_metadata_validate with its refusal written as RFC 7591 §3.2.2 (400) or 500. */
static json_t *
reg_validate(json_t *in, struct response *resp)
{
	char err[160];
	const char *code = NULL;
	json_t *meta;

	if ((meta = client_metadata_validate(in, err, sizeof(err), &code)) != NULL)
		return (meta);
	if (code != NULL && strcmp(code, "server_error") == 0) {
		log_warnx("register: out of memory validating metadata");
		resp_oauth_error(resp, 500, "server_error", NULL);
	} else
		resp_oauth_error(resp, 400, code != NULL ? code : "invalid_client_metadata", err);
	return (NULL);
}

/* reg_new_secret(c, secret): RFC 7591 §3.2.1: a fresh client_secret for confidential clients (NULL for
 * token_endpoint_auth_method "none"), its hash stored in ${c}.  -1 on failure (logged). */
static int
reg_new_secret(struct client *c, char **secret)
{
	char *hash;

	*secret = NULL;
	free(c->secret_hash);
	c->secret_hash = NULL;
	if (client_is_public(c))
		return (0);
	if ((*secret = rand_token(OIDC_TOKEN_BYTES)) == NULL || (hash = token_hash(*secret)) == NULL) {
		log_warnx("register: cannot make a client secret");
		str_secure_free(*secret);
		*secret = NULL;
		return (-1);
	}
	c->secret_hash = hash;
	return (0);
}

/* reg_respond(app, resp, status, c, secret, reg_token): RFC 7591 §3.2.1 / RFC 7592 §3 client information
 * response: the identifiers, the secrets just issued (NULL ones are left out) and the metadata. */
static void
reg_respond(struct app *app, struct response *resp, int status, const struct client *c, const char *secret,
    const char *reg_token)
{
	json_t *o = NULL;
	struct buf uri;
	int rc = 0;

	buf_init(&uri);
	buf_printf(&uri, "%s%s/%s", app->conf->issuer, OIDC_PATH_REGISTER, c->client_id);
	if (uri.err || (o = json_object()) == NULL)
		goto fail;
	rc |= json_object_set_new(o, "client_id", json_string(c->client_id));
	if (secret != NULL)
		rc |= json_object_set_new(o, "client_secret", json_string(secret));
	/* ID4ME.md: always send client_secret_expires_at (0: never); RPs re-register when it is near. */
	rc |= json_object_set_new(o, "client_secret_expires_at", json_integer(0));
	rc |= json_object_set_new(o, "client_id_issued_at", json_integer(c->created_at));
	if (reg_token != NULL)
		rc |= json_object_set_new(o, "registration_access_token", json_string(reg_token));
	rc |= json_object_set_new(o, "registration_client_uri", json_string(uri.data));
	rc |= json_object_update_missing(o, c->metadata);
	if (rc != 0)
		goto fail;
	resp_json(resp, status, o);
	goto out;
fail:
	log_warnx("register: out of memory building the response");
	resp_oauth_error(resp, 500, "server_error", NULL);
out:
	json_wipe_str(o, "client_secret");
	json_wipe_str(o, "registration_access_token");
	json_decref(o);
	buf_release(&uri);
}

/**
 * h_register(ctx, req, resp): POST OIDC_PATH_REGISTER: RFC 7591 open registration (no initial access token).
 * 201 (200 with conf->registration_200) with the client information response; 400 invalid_redirect_uri or
 * invalid_client_metadata; 413 for oversized metadata; 429 when the source is over its limits.
 */
void
h_register(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	const struct conf *conf = app->conf;
	struct client c;
	json_t *in = NULL;
	char *secret = NULL, *reg_token = NULL, source[REG_SOURCE_MAX];
	int64_t now = time_now(), total = 0, recent = 0;

	memset(&c, 0, sizeof(c));
	/*
	 * SECURITY.md 11: registrations per source per hour and live clients per source (0 disables a limit).
	 * RFC 7591 has no error code for this, so the answer is HTTP 429 with Retry-After and the RFC 6749 §4.1.2.1
	 * code "temporarily_unavailable", which RP libraries already know and which does not blame the metadata.
	 * Counting and inserting are not one transaction: parallel requests can pass the limit by a few.
	 */
	source_key(req->remote, source, sizeof(source));
	if (store_client_count_source(app->st, source, now - REG_WINDOW, &total, &recent) != STORE_OK) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	if ((conf->registration_per_hour > 0 && recent >= conf->registration_per_hour) ||
	    (conf->max_clients_per_source > 0 && total >= conf->max_clients_per_source)) {
		log_info("register: %s over its registration limit (%lld this hour, %lld live)", source,
		    (long long)recent, (long long)total);
		resp_oauth_error(resp, 429, "temporarily_unavailable",
		    "too many client registrations from this "
		    "address; retry later");
		resp_header(resp, "Retry-After", REG_RETRY_AFTER);
		goto out;
	}
	if ((in = reg_parse_body(req, resp)) == NULL || (c.metadata = reg_validate(in, resp)) == NULL)
		goto out;
	if ((c.client_id = rand_token(REG_CLIENT_ID_BYTES)) == NULL ||
	    (reg_token = rand_token(OIDC_TOKEN_BYTES)) == NULL || (c.reg_token_hash = token_hash(reg_token)) == NULL ||
	    reg_new_secret(&c, &secret) == -1 || (c.source = xstrdup(source)) == NULL) {
		log_warnx("register: cannot make client credentials");
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	c.created_at = c.updated_at = c.last_used_at = now; /* the idle clock starts at registration */
	if (store_client_create(app->st, &c) != STORE_OK) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	log_info("register: client %s from %s", c.client_id, source);
	reg_respond(app, resp, conf->registration_200 ? 200 : 201, &c, secret, reg_token);
out:
	str_secure_free(secret);
	str_secure_free(reg_token);
	free(c.client_id);
	free(c.secret_hash);
	free(c.reg_token_hash);
	free(c.source);
	json_decref(c.metadata);
	json_decref(in);
}

/* reg_client_id_ok(s): the shape of our client_ids (base64url, 1..REG_MAX_CLIENT_ID): anything else cannot be
 * ours and is not sent to the store. */
static bool
reg_client_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= REG_MAX_CLIENT_ID ||
		    !(is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
			return (false);
	return (i > 0);
}

/* reg_manage_auth(app, req, resp): RFC 7592 §2: the client named by the path, authenticated by its registration
 * access token (RFC 6750 Bearer) compared by hash in constant time (SECURITY.md 8).  NULL with 401 invalid_token
 * written for a missing or wrong token or an unknown client (same answer, similar time), 500 on store errors. */
static struct client *
reg_manage_auth(struct app *app, const struct request *req, struct response *resp)
{
	const char *hdr, *id;
	struct client *c = NULL;
	char *token = NULL, *hash = NULL;
	bool ok;

	id = req->path + strlen(OIDC_PATH_REGISTER);
	if (*id == '/')
		id++;
	if ((hdr = req_header(req, "Authorization")) != NULL)
		token = auth_parse_bearer(hdr);
	if (reg_client_id_ok(id) && store_client_get(app->st, id, &c) == STORE_ERROR) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		goto out;
	}
	hash = token_hash(token != NULL ? token : "");
	ok = ct_streq(hash, c != NULL ? c->reg_token_hash : reg_dummy_hash);
	if (token == NULL || c == NULL || !ok) {
		client_free(c);
		c = NULL;
		resp_bearer_error(
		    resp, 401, "invalid_token", token == NULL ? "registration access token required" : NULL);
	}
out:
	str_secure_free(token);
	free(hash);
	return (c);
}

/* reg_rotate(app, resp, c, now, secret): RFC 7592 §2.1/§2.2: issue a fresh client_secret and store ${c} with it.
 * -1 with the error written on failure (401 when the client was deleted meanwhile, else 500). */
static int
reg_rotate(struct app *app, struct response *resp, struct client *c, int64_t now, char **secret)
{
	if (reg_new_secret(c, secret) == -1) {
		resp_oauth_error(resp, 500, "server_error", NULL);
		return (-1);
	}
	c->updated_at = now;
	switch (store_client_update(app->st, c)) {
	case STORE_OK:
		return (0);
	case STORE_NOTFOUND: /* deleted meanwhile */
		resp_bearer_error(resp, 401, "invalid_token", NULL);
		break;
	default:
		resp_oauth_error(resp, 500, "server_error", NULL);
		break;
	}
	str_secure_free(*secret);
	*secret = NULL;
	return (-1);
}

/* reg_update(app, req, resp, c, now, secret): RFC 7592 §2.2: replace ${c}'s metadata with the validated body.
 * The body's client_id must be the client's; a client_secret, if sent, must be the current one.  The
 * registration_access_token, registration_client_uri, client_secret_expires_at and client_id_issued_at members
 * are ignored, like any member we do not store.  -1 with the error written on refusal. */
static int
reg_update(
    struct app *app, const struct request *req, struct response *resp, struct client *c, int64_t now, char **secret)
{
	json_t *in = NULL, *meta = NULL, *j;
	char *hash = NULL;
	int ret = -1;

	if ((in = reg_parse_body(req, resp)) == NULL)
		goto out;
	j = json_object_get(in, "client_id");
	if (!json_is_string(j) || strcmp(json_string_value(j), c->client_id) != 0) {
		resp_oauth_error(resp, 400, "invalid_client_metadata", "client_id must be the client's own");
		goto out;
	}
	j = json_object_get(in, "client_secret");
	if (!absent(j)) {
		if (!json_is_string(j) || c->secret_hash == NULL || (hash = token_hash(json_string_value(j))) == NULL ||
		    !ct_streq(hash, c->secret_hash)) {
			resp_oauth_error(
			    resp, 400, "invalid_client_metadata", "client_secret must be the current secret");
			goto out;
		}
	}
	if ((meta = reg_validate(in, resp)) == NULL)
		goto out;
	json_decref(c->metadata);
	c->metadata = meta;
	meta = NULL;
	/* The secret rotates as on a read; this also gives a secret to a client that moved away from "none" and
	 * drops it for one that moved to "none". */
	if (reg_rotate(app, resp, c, now, secret) == -1)
		goto out;
	ret = 0;
out:
	json_wipe_str(in, "client_secret");
	json_decref(in);
	json_decref(meta);
	free(hash);
	return (ret);
}

/**
 * h_register_manage(ctx, req, resp): RFC 7592 at OIDC_PATH_REGISTER "/<client_id>" with the registration access
 * token as Bearer: GET reads, PUT replaces, DELETE deprovisions (204).
 *
 * Only the hash of the client secret is stored, so the current secret cannot be shown again.  RFC 7592 §2.1
 * lets the server issue a new client_secret on a read ("the client MUST immediately discard the previous
 * client secret"), and that is what GET and PUT do: each answers with a freshly rotated client_secret (public
 * clients get none).  The registration access token itself is not rotated and therefore not returned.
 */
void
h_register_manage(void *ctx, const struct request *req, struct response *resp)
{
	struct app *app = ctx;
	struct client *c = NULL;
	char *secret = NULL;
	int64_t now = time_now();

	if ((c = reg_manage_auth(app, req, resp)) == NULL)
		goto out;
	if (strcmp(req->method, "GET") == 0) {
		if (reg_rotate(app, resp, c, now, &secret) == -1)
			goto out;
		reg_respond(app, resp, 200, c, secret, NULL);
	} else if (strcmp(req->method, "PUT") == 0) {
		if (reg_update(app, req, resp, c, now, &secret) == -1)
			goto out;
		log_info("register: client %s updated", c->client_id);
		reg_respond(app, resp, 200, c, secret, NULL);
	} else if (strcmp(req->method, "DELETE") == 0) {
		switch (store_client_delete(app->st, c->client_id)) {
		case STORE_OK:
			log_info("register: client %s deleted", c->client_id);
			resp->status = 204; /* RFC 7592 §2.3: No Content */
			break;
		case STORE_NOTFOUND: /* deleted meanwhile */
			resp_bearer_error(resp, 401, "invalid_token", NULL);
			break;
		default:
			resp_oauth_error(resp, 500, "server_error", NULL);
			break;
		}
	} else {
		resp_header(resp, "Allow", "GET, PUT, DELETE");
		resp_oauth_error(resp, 405, "invalid_request", "method not allowed");
	}
out:
	str_secure_free(secret);
	client_free(c);
}
