/*
 * store.c: the engine-neutral part of include/store.h: destructors of the structs the engines return, and
 * identity state and agent action names.  Every engine links this file.
 */
#include <stdlib.h>

#include "store.h"
#include "util.h"

static const char *const identity_state_names[] = {
	[IDENTITY_INACTIVE] = "inactive",
	[IDENTITY_ACTIVE] = "active",
	[IDENTITY_DISABLED] = "disabled",
	[IDENTITY_DELETED] = "deleted",
};

/** identity_state_name(s): "inactive", "active", "disabled", "deleted" ("unknown" for any other value). */
const char *
identity_state_name(enum identity_state s)
{
	if ((unsigned)s >= sizeof(identity_state_names) / sizeof(identity_state_names[0]))
		return ("unknown");
	return (identity_state_names[s]);
}

static const char *const agent_action_names[] = {
	[AGENT_ACTION_CREATE] = "create",
	[AGENT_ACTION_DELETE] = "delete",
	[AGENT_ACTION_TRANSFER] = "transfer",
};

/** agent_action_name(a): "create", "delete", "transfer" ("unknown" for any other value). */
const char *
agent_action_name(enum agent_action a)
{
	if ((unsigned)a >= sizeof(agent_action_names) / sizeof(agent_action_names[0]))
		return ("unknown");
	return (agent_action_names[a]);
}

/** identity_free(id): free ${id} (the password hash zeroed first); NULL is a no-op. */
void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	free(id->identifier);
	free(id->sub);
	str_secure_free(id->password_hash);
	free(id);
}

/** client_free(c): free ${c} and its metadata; NULL is a no-op. */
void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	free(c->client_id);
	free(c->secret_hash);
	free(c->reg_token_hash);
	json_decref(c->metadata);
	free(c->source);
	free(c);
}

/** session_free(s): free ${s}; NULL is a no-op. */
void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	free(s->id_hash);
	free(s->amr);
	free(s);
}

/** authz_code_free(c): free ${c}; NULL is a no-op. */
void
authz_code_free(struct authz_code *c)
{
	if (c == NULL)
		return;
	free(c->code_hash);
	free(c->client_id);
	free(c->redirect_uri);
	free(c->scope);
	free(c->nonce);
	free(c->code_challenge);
	free(c->claims);
	free(c->amr);
	free(c->grant_id);
	free(c);
}

/** grant_free(g): free ${g}; NULL is a no-op. */
void
grant_free(struct grant *g)
{
	if (g == NULL)
		return;
	free(g->grant_id);
	free(g->client_id);
	free(g->scope);
	free(g->claims);
	free(g->amr);
	free(g);
}

/** stored_key_free(k): free ${k}, zeroing the private JWK first; NULL is a no-op. */
void
stored_key_free(struct stored_key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	free(k->alg);
	str_secure_free(k->jwk);
	free(k);
}

/** stored_keys_free(keys, n): free the ${n} keys of the array ${keys} and the array; NULL is a no-op. */
void
stored_keys_free(struct stored_key **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		stored_key_free(keys[i]);
	free(keys);
}

/** agent_free(a): free ${a}; NULL is a no-op. */
void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->issuer);
	free(a->jwk);
	free(a->thumbprint);
	free(a);
}

/** agent_authz_free(a): free ${a}; NULL is a no-op. */
void
agent_authz_free(struct agent_authz *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->identifier);
	free(a->token);
	free(a->thumbprint);
	free(a);
}
