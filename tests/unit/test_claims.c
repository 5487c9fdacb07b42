/*
 * test_claims.c: claims requests (drafts/claims.md §1), one test per rule, and the claims' names in words.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"
#include "test.h"

/* req(scope, param): claims_request's array, or NULL when it refused (the reason is printed on demand). */
static json_t *
req(const char *scope, const char *param)
{
	char why[200];
	json_t *out = (json_t *)1;
	int rc = claims_request(scope, param, &out, why, sizeof(why));

	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		CHECK(out == NULL);
		CHECK(why[0] != '\0');
		/* error_description (RFC 6749 §5.2) may not hold '"' or '\\'. */
		CHECK(strchr(why, '"') == NULL && strchr(why, '\\') == NULL);
		return (NULL);
	}
	CHECK(json_is_array(out));
	return (out);
}

/* names(a): the names of ${a} joined by spaces (static buffer). */
static const char *
names(const json_t *a)
{
	static char s[2048];
	const json_t *e;
	size_t i;

	s[0] = '\0';
	json_array_foreach(a, i, e)
	{
		if (i > 0)
			strncat(s, " ", sizeof(s) - strlen(s) - 1);
		strncat(s, json_string_value(json_object_get(e, "name")), sizeof(s) - strlen(s) - 1);
	}
	return (s);
}

static json_t *
entry(const json_t *a, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return ((json_t *)e);
	}
	return (NULL);
}

static void
invalid(const char *param)
{
	json_t *a = req("openid", param);

	CHECK(a == NULL);
	if (a != NULL)
		fprintf(stderr, "  accepted: %.120s\n", param);
	json_decref(a);
}

static void
valid(const char *param)
{
	json_t *a = req("openid", param);

	CHECK(a != NULL);
	if (a == NULL)
		fprintf(stderr, "  refused: %.120s\n", param);
	json_decref(a);
}

/* §1: profile, email, address, phone expand to their standard claims, in the order of the draft. */
static void
test_scopes_expand_to_standard_claims(void)
{
	json_t *a;

	a = req("openid profile", NULL);
	CHECK_STR(names(a),
	    "name family_name given_name middle_name nickname preferred_username profile picture "
	    "website gender birthdate zoneinfo locale updated_at");
	json_decref(a);
	a = req("phone openid address email", NULL);
	CHECK_STR(names(a), "email email_verified address phone_number phone_number_verified");
	CHECK(json_is_false(json_object_get(json_array_get(a, 0), "essential")));
	CHECK(json_object_get(json_array_get(a, 0), "reason") == NULL);
	json_decref(a);
	a = req("openid profile email address phone", NULL);
	CHECK(json_array_size(a) == 19);
	json_decref(a);
}

/* §1: other scopes are ignored. */
static void
test_other_scopes_are_ignored(void)
{
	json_t *a;

	a = req("openid offline_access emails profile_x", NULL);
	CHECK(a != NULL && json_array_size(a) == 0);
	json_decref(a);
	a = req(NULL, NULL);
	CHECK(a != NULL && json_array_size(a) == 0);
	json_decref(a);
}

/* §1: members userinfo and id_token (others ignored), each claim null or an object; order of appearance. */
static void
test_userinfo_and_id_token_members_others_ignored(void)
{
	json_t *a;

	a = req("openid",
	    "{\"userinfo\":{\"given_name\":null,\"email\":{\"essential\":true}},"
	    "\"id_token\":{\"locale\":{}},\"access_token\":{\"phone_number\":null},\"x\":[1]}");
	CHECK_STR(names(a), "given_name email locale");
	CHECK(json_is_false(json_object_get(entry(a, "given_name"), "essential")));
	CHECK(json_is_true(json_object_get(entry(a, "email"), "essential")));
	CHECK(json_is_false(json_object_get(entry(a, "locale"), "essential")));
	json_decref(a);
	/* Scope claims first, then the parameter's. */
	a = req("openid email", "{\"userinfo\":{\"name\":null,\"email\":null}}");
	CHECK_STR(names(a), "email email_verified name");
	json_decref(a);
	/* A non-standard claim is a request too (the agent may deliver it). */
	a = req("openid", "{\"userinfo\":{\"https://x\":null}}");
	CHECK(a == NULL);
	a = req("openid", "{\"userinfo\":{\"org.example:member-no\":null}}");
	CHECK_STR(names(a), "org.example:member-no");
	json_decref(a);
}

/* §1: essential (boolean), value, values and reason; unknown members ignored. */
static void
test_claim_members_and_unknown_ignored(void)
{
	json_t *a;

	a = req("openid",
	    "{\"userinfo\":{\"email\":{\"essential\":false,\"reason\":\"receipts\",\"purpose\":\"x\","
	    "\"foo\":{\"bar\":[1,2]}}}}");
	CHECK_STR(names(a), "email");
	CHECK(json_is_false(json_object_get(entry(a, "email"), "essential")));
	CHECK_STR(json_string_value(json_object_get(entry(a, "email"), "reason")), "receipts");
	CHECK(json_object_size(entry(a, "email")) == 3);
	json_decref(a);
	/* The members' types: essential a boolean, reason a string, the claim null or an object. */
	invalid("{\"userinfo\":{\"email\":{\"essential\":\"yes\"}}}");
	invalid("{\"userinfo\":{\"email\":{\"essential\":1}}}");
	invalid("{\"userinfo\":{\"email\":{\"reason\":5}}}");
	invalid("{\"userinfo\":{\"email\":true}}");
	invalid("{\"userinfo\":{\"email\":\"essential\"}}");
	invalid("{\"userinfo\":[\"email\"]}");
	invalid("{\"userinfo\":null}");
	invalid("{\"id_token\":\"email\"}");
	/* An empty reason is no reason. */
	a = req("openid", "{\"userinfo\":{\"email\":{\"reason\":\"\"}}}");
	CHECK(json_object_get(entry(a, "email"), "reason") == NULL);
	json_decref(a);
}

/* §1: a claim asked in both places is one request; essential if either says so. */
static void
test_claim_in_both_places_is_one_request(void)
{
	json_t *a;

	a = req("openid email",
	    "{\"id_token\":{\"email\":{\"essential\":true,\"reason\":\"login\"}},"
	    "\"userinfo\":{\"email\":{\"essential\":false,\"reason\":\"receipts\"},\"name\":null}}");
	CHECK_STR(names(a), "email email_verified name");
	CHECK(json_is_true(json_object_get(entry(a, "email"), "essential")));
	/* The first reason given is kept, in order of appearance. */
	CHECK_STR(json_string_value(json_object_get(entry(a, "email"), "reason")), "login");
	json_decref(a);
	a = req("openid",
	    "{\"id_token\":{\"name\":null},\"userinfo\":{\"email\":null},"
	    "\"id_token\":{\"email\":{\"essential\":true}}}");
	CHECK(a == NULL); /* a repeated member */
	a = req("openid",
	    "{\"id_token\":{\"name\":null,\"email\":{\"essential\":true}},\"userinfo\":{\"email\":null,"
	    "\"locale\":null}}");
	CHECK_STR(names(a), "name email locale");
	CHECK(json_is_true(json_object_get(entry(a, "email"), "essential")));
	json_decref(a);
}

/* §1: value and values are accepted and not acted on. */
static void
test_value_and_values_accepted_not_acted_on(void)
{
	json_t *a;

	a = req("openid",
	    "{\"userinfo\":{\"email\":{\"value\":\"a@b.example\"},\"locale\":{\"values\":[\"de\",\"en\"]},"
	    "\"name\":{\"value\":{\"deep\":[null]},\"values\":3}}}");
	CHECK_STR(names(a), "email locale name");
	CHECK(json_object_get(entry(a, "email"), "value") == NULL);
	CHECK(json_object_get(entry(a, "locale"), "values") == NULL);
	json_decref(a);
}

/* §1: not JSON (duplicates included), or not an object: invalid_request. */
static void
test_not_json_or_not_object_is_invalid_request(void)
{
	invalid("email");
	invalid("{\"userinfo\":{\"email\":null}");
	invalid("{\"userinfo\":{\"email\":null}} x");
	invalid("{\"userinfo\":{\"email\":null,\"email\":{\"essential\":true}}}");
	invalid("{\"userinfo\":{},\"userinfo\":{\"email\":null}}");
	invalid("[]");
	invalid("\"userinfo\"");
	invalid("null");
	invalid("42");
	invalid("{\"userinfo\":{\"em\\u0000ail\":null}}");
	valid("{}");
	valid("{\"userinfo\":{}}");
	valid(" {\"userinfo\" : { \"email\" : null } } ");
}

/* RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
static void
test_empty_parameter_is_absent(void)
{
	json_t *a = req("openid email", "");

	CHECK_STR(names(a), "email email_verified");
	json_decref(a);
}

/* §1: more than 32 claims: invalid_request (distinct names of the parameter, the authority's own included). */
static void
test_more_than_32_claims_is_invalid_request(void)
{
	struct buf b;
	json_t *a;
	int i;

	buf_init(&b);
	buf_puts(&b, "{\"userinfo\":{");
	for (i = 0; i < CLAIMS_MAX; i++)
		buf_printf(&b, "%s\"c%d\":null", i ? "," : "", i);
	buf_puts(&b, "},\"id_token\":{\"c0\":null,\"c31\":{\"essential\":true}}}");
	a = req("openid profile email address phone", b.data);
	CHECK(a != NULL && json_array_size(a) == 19 + CLAIMS_MAX);
	json_decref(a);
	buf_release(&b);

	buf_init(&b);
	buf_puts(&b, "{\"userinfo\":{");
	for (i = 0; i < CLAIMS_MAX; i++)
		buf_printf(&b, "%s\"c%d\":null", i ? "," : "", i);
	buf_puts(&b, "},\"id_token\":{\"c32\":null}}");
	invalid(b.data);
	buf_release(&b);

	/* The authority's own count: they are named all the same. */
	buf_init(&b);
	buf_puts(&b, "{\"userinfo\":{\"sub\":null,");
	for (i = 0; i < CLAIMS_MAX; i++)
		buf_printf(&b, "%s\"c%d\":null", i ? "," : "", i);
	buf_puts(&b, "}}");
	invalid(b.data);
	buf_release(&b);
}

/* §1: a claim name over 64 bytes: invalid_request. */
static void
test_claim_name_over_64_bytes_is_invalid_request(void)
{
	char name[80], param[200];

	memset(name, 'a', CLAIMS_MAX_NAME);
	name[CLAIMS_MAX_NAME] = '\0';
	snprintf(param, sizeof(param), "{\"userinfo\":{\"%s\":null}}", name);
	valid(param);
	memset(name, 'a', CLAIMS_MAX_NAME + 1);
	name[CLAIMS_MAX_NAME + 1] = '\0';
	snprintf(param, sizeof(param), "{\"userinfo\":{\"%s\":null}}", name);
	invalid(param);
}

/* §1: a claim name outside [A-Za-z0-9_.:-]: invalid_request. */
static void
test_claim_name_outside_charset_is_invalid_request(void)
{
	valid("{\"userinfo\":{\"Az09_.:-\":null}}");
	invalid("{\"userinfo\":{\"\":null}}");
	invalid("{\"userinfo\":{\"e mail\":null}}");
	invalid("{\"userinfo\":{\"email<script>\":null}}");
	invalid("{\"userinfo\":{\"\\u00e9\":null}}");
	invalid("{\"id_token\":{\"a/b\":null}}");
	invalid("{\"userinfo\":{\"a\\\"b\":null}}");
	invalid("{\"userinfo\":{\"a\\nb\":null}}");
	/* Unknown members are not claim names: not checked. */
	valid("{\"x y\":{\"e mail\":null}}");
}

/* §1: nesting deeper than 8: invalid_request. */
static void
test_nesting_deeper_than_8_is_invalid_request(void)
{
	valid("{\"userinfo\":{\"email\":{\"value\":[[[[[1]]]]]}}}");
	invalid("{\"userinfo\":{\"email\":{\"value\":[[[[[[1]]]]]]}}}");
	invalid("{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	/* Brackets inside strings do not count. */
	valid("{\"userinfo\":{\"email\":{\"reason\":\"[[[[[[[[[[[[{{{{{{{{{{{{\"}}}");
}

/* §1: the claims parameter is at most 4096 bytes. */
static void
test_parameter_over_4096_bytes_is_invalid_request(void)
{
	char param[CLAIMS_MAX_PARAM + 2], *p;
	const char *head = "{\"userinfo\":{\"email\":{\"reason\":\"", *tail = "\"}}}";
	size_t fill;

	fill = CLAIMS_MAX_PARAM - strlen(head) - strlen(tail);
	p = param;
	memcpy(p, head, strlen(head));
	p += strlen(head);
	memset(p, 'r', fill);
	p += fill;
	memcpy(p, tail, strlen(tail) + 1);
	CHECK(strlen(param) == CLAIMS_MAX_PARAM);
	valid(param);
	memmove(param + 1, param, CLAIMS_MAX_PARAM + 1);
	param[0] = ' ';
	invalid(param);
}

/* §1: the authority's own claims are left out: requesting them asks for nothing. */
static void
test_own_claims_ask_for_nothing(void)
{
	json_t *a;

	a = req("openid",
	    "{\"userinfo\":{\"sub\":{\"essential\":true},\"iss\":null,\"aud\":null,\"exp\":null,"
	    "\"iat\":null,\"auth_time\":{\"essential\":true},\"nonce\":null,\"acr\":{\"values\":[\"x\"]},"
	    "\"amr\":null,\"azp\":null,\"id4me.identifier\":null},\"id_token\":{\"email\":null}}");
	CHECK_STR(names(a), "email");
	json_decref(a);
}

/* §1: reason is kept to 200 characters, cut at a character boundary, then "…". */
static void
test_reason_kept_to_200_characters(void)
{
	char param[2048], reason[1024];
	struct buf b;
	const char *r;
	json_t *a;
	size_t i;

	/* 200 ASCII characters: kept whole. */
	memset(reason, 'x', CLAIMS_MAX_REASON);
	reason[CLAIMS_MAX_REASON] = '\0';
	snprintf(param, sizeof(param), "{\"userinfo\":{\"email\":{\"reason\":\"%s\"}}}", reason);
	a = req("openid", param);
	CHECK_STR(json_string_value(json_object_get(entry(a, "email"), "reason")), reason);
	json_decref(a);
	/* 201: cut to 200, then the ellipsis. */
	memset(reason, 'x', CLAIMS_MAX_REASON + 1);
	reason[CLAIMS_MAX_REASON + 1] = '\0';
	snprintf(param, sizeof(param), "{\"userinfo\":{\"email\":{\"reason\":\"%s\"}}}", reason);
	a = req("openid", param);
	r = json_string_value(json_object_get(entry(a, "email"), "reason"));
	CHECK(r != NULL && strlen(r) == CLAIMS_MAX_REASON + 3);
	CHECK(r != NULL && strcmp(r + CLAIMS_MAX_REASON, "\xe2\x80\xa6") == 0);
	json_decref(a);
	/* Multi-byte characters count once and are never split: "a" and 250 x "é" (2 bytes): 200 kept. */
	for (i = 0; i < 250; i++)
		memcpy(reason + 2 * i, "\xc3\xa9", 2);
	reason[500] = '\0';
	snprintf(param, sizeof(param), "{\"userinfo\":{\"email\":{\"reason\":\"a%s\"}}}", reason);
	a = req("openid", param);
	r = json_string_value(json_object_get(entry(a, "email"), "reason"));
	CHECK(r != NULL && strlen(r) == 1 + 199 * 2 + 3);
	CHECK(r != NULL && r[0] == 'a' && memcmp(r + 1 + 198 * 2, "\xc3\xa9\xe2\x80\xa6", 5) == 0);
	json_decref(a);
	/* 4-byte characters (escaped in JSON as a surrogate pair) likewise. */
	buf_init(&b);
	buf_puts(&b, "{\"userinfo\":{\"email\":{\"reason\":\"");
	for (i = 0; i < 201; i++)
		buf_puts(&b, i % 2 ? "\\ud83d\\ude00" : "\xf0\x9f\x98\x80");
	buf_puts(&b, "\"}}}");
	a = req("openid", b.data);
	buf_release(&b);
	r = json_string_value(json_object_get(entry(a, "email"), "reason"));
	CHECK(r != NULL && strlen(r) == 200 * 4 + 3);
	json_decref(a);
	/* Shown escaped: the pages escape it; here it is kept as given. */
	a = req("openid", "{\"userinfo\":{\"email\":{\"reason\":\"<b>&amp;</b>\"}}}");
	CHECK_STR(json_string_value(json_object_get(entry(a, "email"), "reason")), "<b>&amp;</b>");
	json_decref(a);
}

/* §3: every claim has its name in words; other claims have none. */
static void
test_claim_labels(void)
{
	const char *all = "name family_name given_name middle_name nickname preferred_username profile picture website "
	                  "gender birthdate zoneinfo locale updated_at email email_verified address phone_number "
	                  "phone_number_verified sub";
	char copy[512], *w, *save;

	snprintf(copy, sizeof(copy), "%s", all);
	for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		CHECK(claim_label(w) != NULL);
		if (claim_label(w) == NULL)
			fprintf(stderr, "  no label: %s\n", w);
	}
	CHECK_STR(claim_label("email"), "E-mail address");
	CHECK_STR(claim_label("email_verified"), "Whether the e-mail address is verified");
	CHECK_STR(claim_label("name"), "Full name");
	CHECK_STR(claim_label("address"), "Postal address");
	CHECK(claim_label("org.example:member-no") == NULL);
	CHECK(claim_label("") == NULL);
	CHECK(claim_label(NULL) == NULL);
}

int
main(void)
{
	TEST_RUN(test_scopes_expand_to_standard_claims);
	TEST_RUN(test_other_scopes_are_ignored);
	TEST_RUN(test_userinfo_and_id_token_members_others_ignored);
	TEST_RUN(test_claim_members_and_unknown_ignored);
	TEST_RUN(test_claim_in_both_places_is_one_request);
	TEST_RUN(test_value_and_values_accepted_not_acted_on);
	TEST_RUN(test_not_json_or_not_object_is_invalid_request);
	TEST_RUN(test_empty_parameter_is_absent);
	TEST_RUN(test_more_than_32_claims_is_invalid_request);
	TEST_RUN(test_claim_name_over_64_bytes_is_invalid_request);
	TEST_RUN(test_claim_name_outside_charset_is_invalid_request);
	TEST_RUN(test_nesting_deeper_than_8_is_invalid_request);
	TEST_RUN(test_parameter_over_4096_bytes_is_invalid_request);
	TEST_RUN(test_own_claims_ask_for_nothing);
	TEST_RUN(test_reason_kept_to_200_characters);
	TEST_RUN(test_claim_labels);
	return (TEST_EXIT());
}
