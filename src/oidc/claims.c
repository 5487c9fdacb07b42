/*
 * claims.c: what a relying party asks for (drafts/claims.md §1).
 *
 * OIDC Core §5.1 (standard claims), §5.4 (scope values standing for claims), §5.5 (the claims request parameter:
 * "userinfo" and "id_token" members, each claim null or {essential, value, values}), and the ID4me member
 * "reason" (ID4ME.md "Claims request"), kept short and shown escaped by the pages (ID4ME.md "Security notes").
 * RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
 */
#include <string.h>

#include "internal.h"

#define CLAIMS_MAX_DEPTH 8             /* drafts/claims.md §1: nesting of the claims parameter */
#define CLAIMS_ELLIPSIS "\xe2\x80\xa6" /* U+2026, after a cut reason */

/* OIDC Core §5.4: the claims each scope value stands for, in the order of drafts/claims.md §1. */
static const struct {
	const char *scope;
	const char *claims[15]; /* NULL-terminated */
} claims_scopes[] = {
	{ "profile",
	    { "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
	        "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at", NULL } },
	{ "email", { "email", "email_verified", NULL } },
	{ "address", { "address", NULL } },
	{ "phone", { "phone_number", "phone_number_verified", NULL } },
};

/* drafts/claims.md §1: the authority's own claims; asking for them asks for nothing. */
static const char *const claims_own[] = { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
	"id4me.identifier", NULL };

/* OIDC Core §5.1: every standard claim in words, for the consent and account pages. */
static const struct {
	const char *name;
	const char *label;
} claims_labels[] = {
	{ "sub", "Identifier of your account" },
	{ "name", "Full name" },
	{ "given_name", "Given name" },
	{ "family_name", "Family name" },
	{ "middle_name", "Middle name" },
	{ "nickname", "Nickname" },
	{ "preferred_username", "Preferred user name" },
	{ "profile", "Profile page" },
	{ "picture", "Picture" },
	{ "website", "Web site" },
	{ "email", "E-mail address" },
	{ "email_verified", "Whether the e-mail address is verified" },
	{ "gender", "Gender" },
	{ "birthdate", "Date of birth" },
	{ "zoneinfo", "Time zone" },
	{ "locale", "Language and country" },
	{ "phone_number", "Telephone number" },
	{ "phone_number_verified", "Whether the telephone number is verified" },
	{ "address", "Postal address" },
	{ "updated_at", "When your profile was last updated" },
};

/** claim_label(name): the standard claim's name in words, or NULL for another claim. */
const char *
claim_label(const char *name)
{
	size_t i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < sizeof(claims_labels) / sizeof(claims_labels[0]); i++)
		if (strcmp(claims_labels[i].name, name) == 0)
			return (claims_labels[i].label);
	return (NULL);
}

static bool
claims_is_own(const char *name)
{
	const char *const *p;

	for (p = claims_own; *p != NULL; p++)
		if (strcmp(*p, name) == 0)
			return (true);
	return (false);
}

/* drafts/claims.md §1: 1..CLAIMS_MAX_NAME bytes of [A-Za-z0-9_.:-]. */
static bool
claims_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CLAIMS_MAX_NAME)
			return (false);
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		        (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '.' || name[i] == ':' ||
		        name[i] == '-'))
			return (false);
	}
	return (i > 0);
}

/* claims_reason_cut(s): ${s} (UTF-8, as jansson guarantees) kept to CLAIMS_MAX_REASON characters: cut before the
 * first lead byte beyond them, then CLAIMS_ELLIPSIS.  New JSON string; NULL on memory failure. */
static json_t *
claims_reason_cut(const char *s)
{
	size_t i, chars = 0;
	struct buf b;
	json_t *j = NULL;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue; /* a continuation byte */
		if (chars++ == CLAIMS_MAX_REASON)
			break;
	}
	if (s[i] == '\0')
		return (json_string(s));
	buf_init(&b);
	if (buf_append(&b, s, i) == 0 && buf_puts(&b, CLAIMS_ELLIPSIS) == 0)
		j = json_string(b.data);
	buf_release(&b);
	return (j);
}

/* claims_add(out, name, essential, reason): one request for ${name} in ${out}: a new entry, or the earlier one
 * made essential when this one is, and given ${reason} when it had none.  -1 on memory failure. */
static int
claims_add(json_t *out, const char *name, bool essential, const char *reason)
{
	json_t *e = NULL, *r;
	size_t i;

	json_array_foreach(out, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			break;
	}
	if (i == json_array_size(out)) {
		if ((e = json_pack("{s:s,s:b}", "name", name, "essential", essential)) == NULL ||
		    json_array_append_new(out, e) == -1)
			return (-1);
	} else if (essential && json_object_set_new(e, "essential", json_true()) == -1)
		return (-1);
	if (reason != NULL && reason[0] != '\0' && json_object_get(e, "reason") == NULL) {
		if ((r = claims_reason_cut(reason)) == NULL || json_object_set_new(e, "reason", r) == -1)
			return (-1);
	}
	return (0);
}

/* claims_parse(out, param, why, whylen): add the requests of the claims parameter ${param} to ${out}.  -1 with a
 * sentence in ${why} (never quoting the input: it goes into error_description) when the parameter is invalid. */
static int
claims_parse(json_t *out, const char *param, char *why, size_t whylen)
{
	json_t *root = NULL, *seen = NULL, *where, *spec, *ess, *reason;
	const char *member, *name;
	size_t len = strlen(param);
	int ret = -1;

	if (len > CLAIMS_MAX_PARAM) {
		snprintf(why, whylen, "the claims parameter is longer than %d bytes", CLAIMS_MAX_PARAM);
		goto out;
	}
	if (!json_depth_ok(param, len, CLAIMS_MAX_DEPTH)) {
		snprintf(why, whylen, "the claims parameter nests deeper than %d levels", CLAIMS_MAX_DEPTH);
		goto out;
	}
	if ((root = json_loadb(param, len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		snprintf(why, whylen, "the claims parameter is not JSON without duplicate members");
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "the claims parameter is not a JSON object");
		goto out;
	}
	if ((seen = json_object()) == NULL)
		goto oom;
	/* OIDC Core §5.5: userinfo and id_token, in the order given (jansson keeps it); other members are ignored. */
	json_object_foreach(root, member, where)
	{
		if (strcmp(member, "userinfo") != 0 && strcmp(member, "id_token") != 0)
			continue;
		if (!json_is_object(where)) {
			snprintf(why, whylen, "claims.%s is not a JSON object", member);
			goto out;
		}
		json_object_foreach(where, name, spec)
		{
			if (!claims_name_ok(name)) {
				snprintf(why, whylen,
				    "a claim name is empty, longer than %d bytes or not made of A-Z a-z 0-9 _ . : -",
				    CLAIMS_MAX_NAME);
				goto out;
			}
			if (!json_is_null(spec) && !json_is_object(spec)) {
				snprintf(why, whylen, "a claim of claims.%s is neither null nor an object", member);
				goto out;
			}
			ess = json_object_get(spec, "essential");
			reason = json_object_get(spec, "reason");
			if ((ess != NULL && !json_is_boolean(ess)) || (reason != NULL && !json_is_string(reason))) {
				snprintf(why, whylen, "essential must be a boolean and reason a string");
				goto out;
			}
			if (json_object_set(seen, name, json_true()) == -1)
				goto oom;
			if (json_object_size(seen) > CLAIMS_MAX) {
				snprintf(why, whylen, "the claims parameter names more than %d claims", CLAIMS_MAX);
				goto out;
			}
			/* value and values are accepted and not acted on: the authority holds no values. */
			if (!claims_is_own(name) &&
			    claims_add(out, name, json_is_true(ess), json_string_value(reason)) == -1)
				goto oom;
		}
	}
	ret = 0;
	goto out;
oom:
	log_warnx("claims: out of memory");
	snprintf(why, whylen, "server error");
out:
	json_decref(seen);
	json_decref(root);
	return (ret);
}

/**
 * claims_request(scope, claims_param, out, why, whylen): the claims asked for by ${scope} and the claims
 * parameter ${claims_param} (NULL or "" when absent) as a new JSON array of {"name", "essential", "reason"?}
 * in *${out} (caller decrefs): scope claims first in the order of drafts/claims.md §1, then the parameter's, each
 * name once, the authority's own claims left out.  -1 (*${out} NULL) and a sentence in ${why} when the parameter
 * is invalid (invalid_request), or on memory failure (logged).
 */
int
claims_request(const char *scope, const char *claims_param, json_t **out, char *why, size_t whylen)
{
	json_t *a;
	size_t i, j;

	*out = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if ((a = json_array()) == NULL)
		goto oom;
	for (i = 0; scope != NULL && i < sizeof(claims_scopes) / sizeof(claims_scopes[0]); i++) {
		if (!str_list_contains(scope, claims_scopes[i].scope))
			continue;
		for (j = 0; claims_scopes[i].claims[j] != NULL; j++)
			if (claims_add(a, claims_scopes[i].claims[j], false, NULL) == -1)
				goto oom;
	}
	if (claims_param != NULL && claims_param[0] != '\0' && claims_parse(a, claims_param, why, whylen) == -1) {
		json_decref(a);
		return (-1);
	}
	*out = a;
	return (0);
oom:
	log_warnx("claims: out of memory");
	snprintf(why, whylen, "server error");
	json_decref(a);
	return (-1);
}

/** claims_granted_now(app, identity_id, client_id, claims): the claims still granted now (internal.h). */
json_t *
claims_granted_now(struct app *app, int64_t identity_id, const char *client_id, const char *claims)
{
	json_t *names = NULL, *decisions = NULL, *out, *v;
	const char *name;
	size_t i;

	if ((out = json_array()) == NULL)
		goto oom;
	if (claims == NULL || (names = json_loads(claims, 0, NULL)) == NULL || json_array_size(names) == 0)
		goto done;
	if (store_consent_get(app->st, identity_id, client_id, &decisions) != STORE_OK)
		goto fail;
	json_array_foreach(names, i, v)
	{
		if ((name = json_string_value(v)) != NULL && json_is_true(json_object_get(decisions, name)) &&
		    json_array_append_new(out, json_string(name)) == -1)
			goto oom;
	}
done:
	json_decref(names);
	json_decref(decisions);
	return (out);
oom:
	log_warnx("claims: out of memory");
fail:
	json_decref(names);
	json_decref(decisions);
	json_decref(out);
	return (NULL);
}
