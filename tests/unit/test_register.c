/*
 * test_register.c: client_metadata_validate (RFC 7591 metadata, SECURITY.md 1 redirect URI rules, one test per
 * rule), client_redirect_ok (exact match) and the discovery document (ID4ME.md "Interop traps").
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"
#include "test.h"

/* validate(text, code): client_metadata_validate over the JSON ${text}; *code gets the error code or NULL. */
static json_t *
validate(const char *text, const char **code)
{
	json_error_t jerr;
	json_t *in, *out;
	char err[160];

	*code = NULL;
	if ((in = json_loads(text, JSON_DECODE_ANY, &jerr)) == NULL) {
		fprintf(stderr, "bad test JSON: %s: %s\n", text, jerr.text);
		return (NULL);
	}
	out = client_metadata_validate(in, err, sizeof(err), code);
	if (out == NULL && err[0] == '\0')
		fprintf(stderr, "refusal without a message: %s\n", text);
	json_decref(in);
	return (out);
}

/* redirect_ok(uri, app_type): a registration with the single redirect URI ${uri} is accepted. */
static bool
redirect_ok(const char *uri, const char *app_type)
{
	json_t *meta, *wrap;
	const char *code;
	char *text;
	bool ok;

	wrap = json_pack("{s:[s]}", "redirect_uris", uri);
	if (app_type != NULL)
		json_object_set_new(wrap, "application_type", json_string(app_type));
	text = json_dumps(wrap, 0);
	json_decref(wrap);
	meta = validate(text, &code);
	free(text);
	ok = meta != NULL;
	json_decref(meta);
	return (ok);
}

/* redirect_refused(uri, app_type): refused, with invalid_redirect_uri. */
static bool
redirect_refused(const char *uri, const char *app_type)
{
	json_t *meta, *wrap;
	const char *code;
	char *text;
	bool refused;

	wrap = json_pack("{s:[s]}", "redirect_uris", uri);
	if (app_type != NULL)
		json_object_set_new(wrap, "application_type", json_string(app_type));
	text = json_dumps(wrap, 0);
	json_decref(wrap);
	meta = validate(text, &code);
	free(text);
	refused = meta == NULL && code != NULL && strcmp(code, "invalid_redirect_uri") == 0;
	if (!refused)
		fprintf(stderr, "  not refused as invalid_redirect_uri: %s\n", uri);
	json_decref(meta);
	return (refused);
}

/* refused_with(text, want): the metadata ${text} is refused with error ${want}. */
static bool
refused_with(const char *text, const char *want)
{
	const char *code;
	json_t *meta = validate(text, &code);
	bool ok = meta == NULL && code != NULL && strcmp(code, want) == 0;

	if (!ok)
		fprintf(stderr, "  not refused with %s: %s\n", want, text);
	json_decref(meta);
	return (ok);
}

/* ------------------------------------------------------------------- SECURITY.md 1, rule by rule */

static void
test_redirect_rejects_javascript_any_case(void)
{
	CHECK(redirect_refused("javascript:alert(1)", NULL));
	CHECK(redirect_refused("JavaScript:alert(1)", NULL));
	CHECK(redirect_refused("JAVASCRIPT:alert(1)//https://rp.example.com/", "native"));
	CHECK(redirect_refused("jAvAsCrIpT://rp.example.com/%0aalert(1)", "native"));
}

static void
test_redirect_rejects_data_vbscript_file_any_case(void)
{
	CHECK(redirect_refused("data:text/html,<script>alert(1)</script>", NULL));
	CHECK(redirect_refused("DATA:text/html;base64,PHNjcmlwdD4=", "native"));
	CHECK(redirect_refused("vbscript:msgbox(1)", "native"));
	CHECK(redirect_refused("VBScript:msgbox(1)", NULL));
	CHECK(redirect_refused("file:///etc/passwd", "native"));
	CHECK(redirect_refused("FILE://localhost/etc/passwd", NULL));
}

static void
test_redirect_rejects_fragment(void)
{
	CHECK(redirect_refused("https://rp.example.com/cb#frag", NULL));
	CHECK(redirect_refused("https://rp.example.com/cb#", NULL));
	CHECK(redirect_refused("http://127.0.0.1:8080/cb#x", "native"));
	CHECK(redirect_refused("com.example.app:/cb#x", "native"));
}

static void
test_redirect_rejects_userinfo_trick(void)
{
	CHECK(redirect_refused("http://good%25@evil", NULL));
	CHECK(redirect_refused("https://good%25@evil.example/cb", NULL));
	CHECK(redirect_refused("https://good.example@evil.example/cb", NULL));
	CHECK(redirect_refused("https://user:pass@rp.example.com/cb", NULL));
	CHECK(redirect_refused("https://good.example%40evil.example/cb", NULL));
	CHECK(redirect_refused("http://127.0.0.1@evil.example/cb", "native"));
	CHECK(redirect_refused("http://localhost%2eevil.example/cb", "native"));
	/* '@' after the authority is only a path character. */
	CHECK(redirect_ok("https://rp.example.com/cb/@user", NULL));
}

static void
test_redirect_rejects_http_non_loopback(void)
{
	CHECK(redirect_refused("http://rp.example.com/cb", NULL));
	CHECK(redirect_refused("http://rp.example.com/cb", "native"));
	CHECK(redirect_refused("http://127.0.0.1.evil.example/cb", NULL));
	CHECK(redirect_refused("http://localhost.evil.example/cb", NULL));
	CHECK(redirect_refused("http://10.0.0.1/cb", NULL));
	CHECK(redirect_refused("http://[::2]/cb", NULL));
}

static void
test_redirect_allows_loopback_http(void)
{
	CHECK(redirect_ok("http://127.0.0.1/cb", NULL));
	CHECK(redirect_ok("http://127.0.0.1:8080/cb", "native"));
	CHECK(redirect_ok("http://[::1]:53124/cb", "native"));
	CHECK(redirect_ok("http://localhost:3000/auth/callback?x=1", NULL));
	CHECK(redirect_ok("http://LocalHost/cb", "native"));
}

static void
test_redirect_allows_https(void)
{
	CHECK(redirect_ok("https://rp.example.com/cb", NULL));
	CHECK(redirect_ok("HTTPS://rp.example.com:8443/index.php/apps/user_oidc/code?a=b", NULL));
	CHECK(redirect_ok("https://[2001:db8::1]/cb", NULL));
}

static void
test_redirect_requires_absolute_uri_with_host(void)
{
	CHECK(redirect_refused("/cb", NULL));
	CHECK(redirect_refused("rp.example.com/cb", NULL));
	CHECK(redirect_refused("https:/rp.example.com/cb", NULL));
	CHECK(redirect_refused("https:///cb", NULL));
	CHECK(redirect_refused("https://:443/cb", NULL));
	CHECK(redirect_refused("https://rp.example.com:0/cb", NULL));
	CHECK(redirect_refused("https://rp.example.com:99999/cb", NULL));
	CHECK(redirect_refused("https://rp.example.com:/cb", NULL));
	CHECK(redirect_refused("", NULL));
	CHECK(redirect_refused("1https://rp.example.com/cb", NULL));
}

static void
test_redirect_rejects_characters_outside_rfc3986(void)
{
	CHECK(redirect_refused("https://rp.example.com/c b", NULL));
	CHECK(redirect_refused("https://rp.example.com\\@evil.example/cb", NULL));
	CHECK(redirect_refused("https://rp.example.com/cb\r\nSet-Cookie:x=1", NULL));
	CHECK(redirect_refused("https://rp.example.com/caf\xc3\xa9", NULL));
	CHECK(redirect_refused("https://rp.example.com/cb?%zz", NULL));
	CHECK(redirect_refused("https://rp.example.com/<script>", NULL));
	CHECK(redirect_refused("https://r_p.example.com/cb", NULL));
	CHECK(redirect_ok("https://rp.example.com/cb?a=%20b&c=d", NULL));
}

static void
test_redirect_rejects_long_uri(void)
{
	char uri[OIDC_MAX_URI + 64];
	size_t n;

	n = (size_t)snprintf(uri, sizeof(uri), "https://rp.example.com/");
	memset(uri + n, 'a', OIDC_MAX_URI - n);
	uri[OIDC_MAX_URI] = '\0';
	CHECK(redirect_ok(uri, NULL));
	uri[OIDC_MAX_URI] = 'a';
	uri[OIDC_MAX_URI + 1] = '\0';
	CHECK(redirect_refused(uri, NULL));
}

static void
test_redirect_custom_scheme_native_only(void)
{
	CHECK(redirect_ok("com.example.app:/cb", "native"));
	CHECK(redirect_ok("com.example.app://oauth/cb", "native"));
	CHECK(redirect_refused("com.example.app:/cb", NULL));
	CHECK(redirect_refused("com.example.app:/cb", "web"));
	/* RFC 8252 §7.1: reverse-domain schemes only. */
	CHECK(redirect_refused("myapp:/cb", "native"));
	CHECK(redirect_refused("com.example.app:", "native"));
}

static void
test_native_https_allowed(void)
{
	CHECK(redirect_ok("https://cloud.example.org/index.php/apps/user_oidc/code", "native"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"application_type\":\"desktop\"}",
	    "invalid_client_metadata"));
}

static void
test_redirect_uris_required(void)
{
	CHECK(refused_with("{}", "invalid_redirect_uri"));
	CHECK(refused_with("{\"redirect_uris\":null}", "invalid_redirect_uri"));
	CHECK(refused_with("{\"redirect_uris\":[]}", "invalid_redirect_uri"));
	CHECK(refused_with("{\"redirect_uris\":\"https://rp.example.com/cb\"}", "invalid_redirect_uri"));
	CHECK(refused_with("{\"redirect_uris\":[42]}", "invalid_redirect_uri"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\",null]}", "invalid_redirect_uri"));
}

static void
test_max_redirect_uris(void)
{
	json_t *in, *uris, *out;
	const char *code;
	char uri[64], err[160];
	int i;

	in = json_object();
	uris = json_array();
	json_object_set_new(in, "redirect_uris", uris);
	for (i = 0; i < OIDC_MAX_REDIRECT_URIS; i++) {
		snprintf(uri, sizeof(uri), "https://rp.example.com/cb%d", i);
		json_array_append_new(uris, json_string(uri));
	}
	out = client_metadata_validate(in, err, sizeof(err), &code);
	CHECK(out != NULL);
	CHECK(json_array_size(json_object_get(out, "redirect_uris")) == OIDC_MAX_REDIRECT_URIS);
	json_decref(out);
	json_array_append_new(uris, json_string("https://rp.example.com/one-too-many"));
	code = NULL;
	out = client_metadata_validate(in, err, sizeof(err), &code);
	CHECK(out == NULL);
	CHECK_STR(code, "invalid_redirect_uri");
	json_decref(in);
}

/* --------------------------------------------------------------------------- other metadata */

static void
test_defaults_filled_in(void)
{
	const char *code;
	json_t *m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"]}", &code);

	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "application_type")), "web");
	CHECK_STR(json_string_value(json_object_get(m, "token_endpoint_auth_method")), "client_secret_basic");
	CHECK_STR(json_string_value(json_object_get(m, "id_token_signed_response_alg")), "RS256");
	CHECK(json_object_get(m, "userinfo_signed_response_alg") == NULL);
	CHECK(json_array_size(json_object_get(m, "response_types")) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "response_types"), 0)), "code");
	CHECK(json_array_size(json_object_get(m, "grant_types")) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "grant_types"), 0)), "authorization_code");
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "redirect_uris"), 0)),
	    "https://rp.example.com/cb");
	json_decref(m);
}

static void
test_alg_allowlist(void)
{
	static const char *const bad[] = { "none", "HS256", "RS512", "PS256", "ES384", "rs256", NULL };
	const char *const *b;
	char text[256];
	const char *code;
	json_t *m;

	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"id_token_signed_response_alg\":\"ES256\","
	    "\"userinfo_signed_response_alg\":\"RS256\"}", &code);
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "id_token_signed_response_alg")), "ES256");
	CHECK_STR(json_string_value(json_object_get(m, "userinfo_signed_response_alg")), "RS256");
	json_decref(m);
	for (b = bad; *b != NULL; b++) {
		snprintf(text, sizeof(text), "{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
		    "\"id_token_signed_response_alg\":\"%s\"}", *b);
		CHECK(refused_with(text, "invalid_client_metadata"));
		snprintf(text, sizeof(text), "{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
		    "\"userinfo_signed_response_alg\":\"%s\"}", *b);
		CHECK(refused_with(text, "invalid_client_metadata"));
	}
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"id_token_signed_response_alg\":256}",
	    "invalid_client_metadata"));
}

static void
test_response_and_grant_types(void)
{
	const char *code;
	json_t *m;

	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"response_types\":[\"token\"]}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"response_types\":[\"code id_token\"]}", "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"grant_types\":[\"implicit\"]}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"grant_types\":[\"refresh_token\"]}",
	    "invalid_client_metadata"));
	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"response_types\":[\"code\"],"
	    "\"grant_types\":[\"refresh_token\",\"authorization_code\"]}", &code);
	CHECK(m != NULL);
	CHECK(json_array_size(json_object_get(m, "grant_types")) == 2);
	json_decref(m);
	/* RFC 7591 §2: unsupported values next to supported ones are dropped, and the response says what was
	 * registered (mod_auth_openidc asks for several response types). */
	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"response_types\":[\"code\",\"code id_token\"],"
	    "\"grant_types\":[\"client_credentials\",\"authorization_code\"]}", &code);
	CHECK(m != NULL);
	CHECK(json_array_size(json_object_get(m, "response_types")) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "response_types"), 0)), "code");
	CHECK(json_array_size(json_object_get(m, "grant_types")) == 1);
	json_decref(m);
}

static void
test_token_endpoint_auth_method(void)
{
	const char *code;
	json_t *m;

	m = validate("{\"redirect_uris\":[\"http://127.0.0.1/cb\"],\"application_type\":\"native\","
	    "\"token_endpoint_auth_method\":\"none\"}", &code);
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "token_endpoint_auth_method")), "none");
	json_decref(m);
	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"token_endpoint_auth_method\":\"client_secret_post\"}", &code);
	CHECK(m != NULL);
	json_decref(m);
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"token_endpoint_auth_method\":\"private_key_jwt\"}", "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"token_endpoint_auth_method\":\"client_secret_jwt\"}", "invalid_client_metadata"));
}

static void
test_unknown_members_dropped(void)
{
	const char *code;
	json_t *m;

	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_secret\":\"mine\","
	    "\"client_id\":\"chosen\",\"jwks_uri\":\"https://rp.example.com/jwks\",\"x\":{\"y\":[1,2]},"
	    "\"subject_type\":\"pairwise\",\"logo_uri\":\"\",\"tos_uri\":null}", &code);
	CHECK(m != NULL);
	CHECK(json_object_get(m, "client_secret") == NULL);
	CHECK(json_object_get(m, "client_id") == NULL);
	CHECK(json_object_get(m, "jwks_uri") == NULL);
	CHECK(json_object_get(m, "x") == NULL);
	CHECK(json_object_get(m, "subject_type") == NULL);
	CHECK(json_object_get(m, "logo_uri") == NULL);
	CHECK(json_object_get(m, "tos_uri") == NULL);
	json_decref(m);
}

static void
test_informational_members(void)
{
	const char *code;
	json_t *m;

	m = validate("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_name\":\"Caf\xc3\xa9 RP\","
	    "\"client_uri\":\"https://rp.example.com/\",\"logo_uri\":\"https://rp.example.com/logo.png\","
	    "\"policy_uri\":\"https://rp.example.com/privacy#top\",\"tos_uri\":\"http://rp.example.com/tos\","
	    "\"contacts\":[\"admin@rp.example.com\"],\"scope\":\"openid email\","
	    "\"post_logout_redirect_uris\":[\"https://rp.example.com/bye\"]}", &code);
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "client_name")), "Caf\xc3\xa9 RP");
	CHECK_STR(json_string_value(json_object_get(m, "policy_uri")), "https://rp.example.com/privacy#top");
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "contacts"), 0)), "admin@rp.example.com");
	CHECK_STR(json_string_value(json_object_get(m, "scope")), "openid email");
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "post_logout_redirect_uris"), 0)),
	    "https://rp.example.com/bye");
	json_decref(m);
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_uri\":\"javascript:x\"}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"logo_uri\":\"data:image/png,x\"}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_name\":\"a\\u0007b\"}",
	    "invalid_client_metadata"));
	/* U+202E RIGHT-TO-LEFT OVERRIDE would make the consent page show another name. */
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_name\":\"Bank\\u202eliaP\"}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"client_name\":42}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"contacts\":\"a@b\"}",
	    "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],\"scope\":\"openid \\\"x\"}",
	    "invalid_client_metadata"));
}

static void
test_post_logout_uris_same_rules(void)
{
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"post_logout_redirect_uris\":[\"javascript:alert(1)\"]}", "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"post_logout_redirect_uris\":[\"http://rp.example.com/bye\"]}", "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"post_logout_redirect_uris\":[\"https://rp.example.com/bye#x\"]}", "invalid_client_metadata"));
	CHECK(refused_with("{\"redirect_uris\":[\"https://rp.example.com/cb\"],"
	    "\"post_logout_redirect_uris\":[\"https://good%25@evil\"]}", "invalid_client_metadata"));
}

static void
test_not_an_object(void)
{
	CHECK(refused_with("[]", "invalid_client_metadata"));
	CHECK(refused_with("\"https://rp.example.com/cb\"", "invalid_client_metadata"));
}

/* ------------------------------------------------------------------------- client_redirect_ok */

static void
test_client_redirect_exact_match(void)
{
	struct client c;

	memset(&c, 0, sizeof(c));
	c.metadata = json_pack("{s:[ss],s:[s]}", "redirect_uris", "https://rp.example.com/cb",
	    "http://127.0.0.1:8080/cb", "post_logout_redirect_uris", "https://rp.example.com/bye");
	CHECK(client_redirect_ok(&c, "https://rp.example.com/cb"));
	CHECK(client_redirect_ok(&c, "http://127.0.0.1:8080/cb"));
	CHECK(!client_redirect_ok(&c, "https://rp.example.com/cb/"));
	CHECK(!client_redirect_ok(&c, "https://RP.example.com/cb"));
	CHECK(!client_redirect_ok(&c, "https://rp.example.com/cb?x=1"));
	CHECK(!client_redirect_ok(&c, "https://rp.example.com/c"));
	CHECK(!client_redirect_ok(&c, "https://rp.example.com/bye"));
	CHECK(!client_redirect_ok(&c, NULL));
	CHECK(!client_redirect_ok(NULL, "https://rp.example.com/cb"));
	CHECK(client_post_logout_ok(&c, "https://rp.example.com/bye"));
	CHECK(!client_post_logout_ok(&c, "https://rp.example.com/cb"));
	CHECK(!client_is_public(&c));
	json_object_set_new(c.metadata, "token_endpoint_auth_method", json_string("none"));
	CHECK(client_is_public(&c));
	CHECK_STR(client_meta_str(&c, "token_endpoint_auth_method"), "none");
	CHECK(client_meta_str(&c, "redirect_uris") == NULL);
	json_decref(c.metadata);
}

/* --------------------------------------------------------------------------------- discovery */

/* discovery(issuer, text): the parsed discovery document for ${issuer} (its text in *text), or NULL. */
static json_t *
discovery(const char *issuer, char **text)
{
	struct conf conf;
	json_t *doc;

	memset(&conf, 0, sizeof(conf));
	conf.issuer = (char *)(uintptr_t)issuer;
	if ((*text = oidc_discovery(&conf)) == NULL)
		return (NULL);
	doc = json_loads(*text, JSON_REJECT_DUPLICATES, NULL);
	return (doc);
}

static void
test_discovery_issuer_no_trailing_slash(void)
{
	char *text;
	json_t *doc;

	doc = discovery("https://auth.example.net", &text);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "issuer")), "https://auth.example.net");
	json_decref(doc);
	free(text);
	doc = discovery("https://auth.example.net/", &text);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "issuer")), "https://auth.example.net");
	CHECK_STR(json_string_value(json_object_get(doc, "token_endpoint")), "https://auth.example.net/token");
	json_decref(doc);
	free(text);
}

static void
test_discovery_no_space_in_strings(void)
{
	char *text;
	json_t *doc;

	doc = discovery("https://auth.example.net:8443/id4me", &text);
	CHECK(doc != NULL);
	CHECK(text != NULL && strchr(text, ' ') == NULL);
	CHECK(text != NULL && strchr(text, '\n') == NULL);
	json_decref(doc);
	free(text);
	/* An issuer with a space would break the PHP client: refused rather than published. */
	CHECK(discovery("https://auth.example.net/a b", &text) == NULL);
}

static void
test_discovery_endpoints_under_issuer(void)
{
	static const char *const keys[] = { "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
		"jwks_uri", "registration_endpoint", "revocation_endpoint", "end_session_endpoint", NULL };
	const char *const *k;
	const char *iss = "https://auth.example.net:8443", *v;
	char *text;
	json_t *doc;

	doc = discovery(iss, &text);
	CHECK(doc != NULL);
	for (k = keys; *k != NULL; k++) {
		v = json_string_value(json_object_get(doc, *k));
		CHECK(v != NULL && strncmp(v, iss, strlen(iss)) == 0 && v[strlen(iss)] == '/');
	}
	CHECK_STR(json_string_value(json_object_get(doc, "registration_endpoint")),
	    "https://auth.example.net:8443" OIDC_PATH_REGISTER);
	CHECK_STR(json_string_value(json_object_get(doc, "jwks_uri")), "https://auth.example.net:8443" OIDC_PATH_JWKS);
	json_decref(doc);
	free(text);
}

static void
test_discovery_algs_allowlist(void)
{
	const char *key, *alg;
	json_t *doc, *v, *e;
	char *text;
	size_t i, n = 0;

	doc = discovery("https://auth.example.net", &text);
	CHECK(doc != NULL);
	json_object_foreach(doc, key, v) {
		if (strstr(key, "alg_values_supported") == NULL && strstr(key, "enc_values_supported") == NULL)
			continue;
		/* ID4ME.md: no JWE algorithms, nothing beyond RS256 and ES256. */
		CHECK(strstr(key, "encryption") == NULL && strstr(key, "enc_values") == NULL);
		json_array_foreach(v, i, e) {
			alg = json_string_value(e);
			CHECK(alg != NULL && (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0));
			n++;
		}
	}
	CHECK(n == 4);
	CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "id_token_signing_alg_values_supported"), 0)),
	    "RS256");
	json_decref(doc);
	free(text);
}

static void
test_discovery_advertises_only_what_is_implemented(void)
{
	json_t *doc, *e;
	char *text;
	size_t i;

	doc = discovery("https://auth.example.net", &text);
	CHECK(doc != NULL);
	CHECK(json_is_true(json_object_get(doc, "claims_parameter_supported"))); /* drafts/claims.md §1 */
	CHECK(!json_is_true(json_object_get(doc, "request_parameter_supported")));
	CHECK(json_is_false(json_object_get(doc, "request_uri_parameter_supported")));
	CHECK(json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported")));
	CHECK(json_object_get(doc, "frontchannel_logout_supported") == NULL);
	CHECK(json_object_get(doc, "backchannel_logout_supported") == NULL);
	json_array_foreach(json_object_get(doc, "code_challenge_methods_supported"), i, e)
		CHECK(strcmp(json_string_value(e), "plain") != 0);
	CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "response_types_supported"), 0)), "code");
	CHECK(json_array_size(json_object_get(doc, "response_types_supported")) == 1);
	json_decref(doc);
	free(text);
}

int
main(void)
{
	TEST_RUN(test_redirect_rejects_javascript_any_case);
	TEST_RUN(test_redirect_rejects_data_vbscript_file_any_case);
	TEST_RUN(test_redirect_rejects_fragment);
	TEST_RUN(test_redirect_rejects_userinfo_trick);
	TEST_RUN(test_redirect_rejects_http_non_loopback);
	TEST_RUN(test_redirect_allows_loopback_http);
	TEST_RUN(test_redirect_allows_https);
	TEST_RUN(test_redirect_requires_absolute_uri_with_host);
	TEST_RUN(test_redirect_rejects_characters_outside_rfc3986);
	TEST_RUN(test_redirect_rejects_long_uri);
	TEST_RUN(test_redirect_custom_scheme_native_only);
	TEST_RUN(test_native_https_allowed);
	TEST_RUN(test_redirect_uris_required);
	TEST_RUN(test_max_redirect_uris);
	TEST_RUN(test_defaults_filled_in);
	TEST_RUN(test_alg_allowlist);
	TEST_RUN(test_response_and_grant_types);
	TEST_RUN(test_token_endpoint_auth_method);
	TEST_RUN(test_unknown_members_dropped);
	TEST_RUN(test_informational_members);
	TEST_RUN(test_post_logout_uris_same_rules);
	TEST_RUN(test_not_an_object);
	TEST_RUN(test_client_redirect_exact_match);
	TEST_RUN(test_discovery_issuer_no_trailing_slash);
	TEST_RUN(test_discovery_no_space_in_strings);
	TEST_RUN(test_discovery_endpoints_under_issuer);
	TEST_RUN(test_discovery_algs_allowlist);
	TEST_RUN(test_discovery_advertises_only_what_is_implemented);
	return (TEST_EXIT());
}
