/*
 * tokens.c: access tokens (RFC 9068 JWT profile) and the ID token algorithm choice.
 *
 * Access token header: {alg, kid, typ: "at+jwt"}; claims: iss, sub, aud (the issuer: this authority's own
 * UserInfo is the resource), client_id, scope, jti, iat, exp, auth_time, id4me.identifier, clm (drafts/claims.md
 * §4, drafts/tokens.md §3: the claims of the token's grant that the user's decisions still grant).  Signed with
 * conf->access_token_alg (ES256 by default: an ECDSA signature costs a fraction of an RSA one, and only this
 * authority and agents verify access tokens).
 */
#include <string.h>

#include "internal.h"

/**
 * access_token_mint(app, s, jti, now): sign an access token with conf->access_token_alg; caller frees; NULL on
 * failure.  clm: the grant's claims still granted now, on code redemption and on every refresh alike.
 */
char *
access_token_mint(struct app *app, const struct token_subject *s, const char *jti, int64_t now)
{
	json_t *c = NULL, *clm;
	char *tok = NULL;

	if ((clm = claims_granted_now(app, s->identity->id, s->client_id, s->claims)) == NULL)
		goto out;
	c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:O}", "iss", app->conf->issuer, "sub",
	    s->identity->sub, "aud", app->conf->issuer, "client_id", s->client_id, "scope", s->scope, "jti", jti, "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + app->conf->access_token_ttl), "auth_time",
	    (json_int_t)s->auth_time, "id4me.identifier", s->identity->identifier, "clm", clm);
	if (c != NULL)
		tok = jwt_sign(app->kr, app->conf->access_token_alg, "at+jwt", c);
out:
	json_decref(c);
	json_decref(clm);
	return (tok);
}

/** access_token_check(app, token, now, grant, identity): verify an access token and its grant. */
json_t *
access_token_check(struct app *app, const char *token, int64_t now, struct grant **grant, struct identity **identity)
{
	static const char *const algs[] = { "ES256", "RS256", NULL };
	struct grant *g = NULL;
	struct identity *id = NULL;
	json_t *c;
	const char *iss, *jti, *sub;
	json_int_t exp;

	if ((c = jwt_verify(app->kr, token, algs, "at+jwt")) == NULL)
		return (NULL);
	iss = json_string_value(json_object_get(c, "iss"));
	jti = json_string_value(json_object_get(c, "jti"));
	sub = json_string_value(json_object_get(c, "sub"));
	exp = json_integer_value(json_object_get(c, "exp"));
	if (iss == NULL || strcmp(iss, app->conf->issuer) != 0 || jti == NULL || sub == NULL || exp <= now)
		goto fail;
	/* Revocation, code replay and identity state are checked in the store. */
	if (store_access_check(app->st, jti, now, &g) != STORE_OK)
		goto fail;
	if (store_identity_by_id(app->st, g->identity_id, &id) != STORE_OK || id->state != IDENTITY_ACTIVE ||
	    strcmp(id->sub, sub) != 0)
		goto fail;
	if (grant != NULL) {
		*grant = g;
		g = NULL;
	}
	if (identity != NULL) {
		*identity = id;
		id = NULL;
	}
	grant_free(g);
	identity_free(id);
	return (c);
fail:
	grant_free(g);
	identity_free(id);
	json_decref(c);
	return (NULL);
}

/** id_token_alg(c): the client's id_token_signed_response_alg, "RS256" by default. */
const char *
id_token_alg(const struct client *c)
{
	const char *alg = client_meta_str(c, "id_token_signed_response_alg");

	return (alg != NULL && strcmp(alg, "ES256") == 0 ? "ES256" : "RS256");
}
