/*
 * fuzz_claims.c: the claims request (drafts/claims.md §1): scope expansion and the claims parameter.  The input's
 * first line is the scope, the rest (cut at its first NUL) the claims parameter.
 * Invariants checked: a refusal writes a reason without '"' or '\\' (it becomes error_description); an accepted
 * request is an array of at most 19 + CLAIMS_MAX distinct claims, none of them the authority's own, each with a
 * name of 1..CLAIMS_MAX_NAME bytes of [A-Za-z0-9_.:-], a boolean essential, and a reason (when present) of valid
 * UTF-8, not empty, at most CLAIMS_MAX_REASON characters plus an ellipsis.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* utf8_chars(s): the number of characters of the valid UTF-8 string ${s}, or -1 when it is not valid UTF-8. */
static long
utf8_chars(const unsigned char *s)
{
	long n = 0;
	size_t i = 0, k, len;

	while (s[i] != '\0') {
		if (s[i] < 0x80)
			len = 1;
		else if ((s[i] & 0xe0) == 0xc0 && s[i] >= 0xc2)
			len = 2;
		else if ((s[i] & 0xf0) == 0xe0)
			len = 3;
		else if ((s[i] & 0xf8) == 0xf0 && s[i] <= 0xf4)
			len = 4;
		else
			return (-1);
		for (k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return (-1);
		i += len;
		n++;
	}
	return (n);
}

static void
check_entry(const json_t *e)
{
	static const char *const own[] = { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
		"id4me.identifier", NULL };
	const char *name = json_string_value(json_object_get(e, "name")), *reason;
	const json_t *r = json_object_get(e, "reason");
	size_t i, len;
	long chars;

	if (!json_is_object(e) || name == NULL || !json_is_boolean(json_object_get(e, "essential")))
		abort();
	if (json_object_size(e) != (r != NULL ? 3 : 2))
		abort();
	len = strlen(name);
	if (len == 0 || len > CLAIMS_MAX_NAME ||
	    strspn(name,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789_.:-") != len)
		abort();
	for (i = 0; own[i] != NULL; i++)
		if (strcmp(own[i], name) == 0)
			abort();
	if (r == NULL)
		return;
	if ((reason = json_string_value(r)) == NULL || reason[0] == '\0')
		abort();
	chars = utf8_chars((const unsigned char *)reason);
	if (chars < 1 || chars > CLAIMS_MAX_REASON + 1)
		abort();
	if (chars == CLAIMS_MAX_REASON + 1 && strcmp(reason + strlen(reason) - 3, "\xe2\x80\xa6") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *param, why[200];
	json_t *out = NULL;
	const json_t *e, *f;
	size_t i, j;

	if ((in = malloc(size + 1)) == NULL)
		return (0);
	memcpy(in, data, size);
	in[size] = '\0';
	if ((param = strchr(in, '\n')) != NULL)
		*param++ = '\0';
	memset(why, 'x', sizeof(why));
	if (claims_request(in, param, &out, why, sizeof(why)) == -1) {
		if (out != NULL || memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0' ||
		    strchr(why, '"') != NULL || strchr(why, '\\') != NULL)
			abort();
	} else {
		if (!json_is_array(out) || json_array_size(out) > 19 + CLAIMS_MAX)
			abort();
		json_array_foreach(out, i, e)
		{
			check_entry(e);
			for (j = i + 1; j < json_array_size(out); j++) {
				f = json_array_get(out, j);
				if (strcmp(json_string_value(json_object_get(e, "name")),
				        json_string_value(json_object_get(f, "name"))) == 0)
					abort();
			}
		}
		json_decref(out);
	}
	free(in);
	return (0);
}
