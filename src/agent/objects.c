/*
 * objects.c: the JSON bodies of the agent API (drafts/agent-provisioning.md §4 authorization, §6 identifier
 * status) and the URLs they name.  The draft's examples are checked against these by tests/e2e/agent.test.mjs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "internal.h"

/** agent_strf(fmt, ...): the formatted text in a new string. */
char *
agent_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		log_warnx("agent: out of memory");
		return (NULL);
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return (s);
}

/** agent_api_url(conf, rest): issuer + AGENT_PATH_PREFIX + ${rest}. */
char *
agent_api_url(const struct conf *conf, const char *rest)
{
	return (agent_strf("%s%s%s", conf->issuer, AGENT_PATH_PREFIX, rest));
}

/** agent_url_host(url): ${url} without its scheme. */
const char *
agent_url_host(const char *url)
{
	if (str_has_prefix(url, "https://"))
		return (url + strlen("https://"));
	if (str_has_prefix(url, "http://")) /* a loopback issuer (make run, tests) */
		return (url + strlen("http://"));
	return (url);
}

/** agent_openid_value(conf, ag): "v=OID1;iss=<issuer>;clp=<agent>" (drafts/dns-discovery.md §3). */
char *
agent_openid_value(const struct conf *conf, const struct agent *ag)
{
	return (agent_strf("v=OID1;iss=%s;clp=%s", agent_url_host(conf->issuer), agent_url_host(ag->issuer)));
}

/** agent_authz_status(a, now): §4: pending, then valid once finalized, or expired. */
const char *
agent_authz_status(const struct agent_authz *a, int64_t now)
{
	if (a->finalized_at != 0)
		return ("valid");
	return (now >= a->expires_at ? "expired" : "pending");
}

/** agent_authz_json(conf, a, ag, now): the §4 authorization object. */
json_t *
agent_authz_json(const struct conf *conf, const struct agent_authz *a, const struct agent *ag, int64_t now)
{
	char *url = NULL, *fin = NULL, *value = NULL, *chname = NULL, *oname = NULL, *ovalue = NULL;
	json_t *o = NULL;

	/* RFC 8555 §8.4: the value derives from the thumbprint the authorization was created under. */
	if ((url = agent_strf("%s%sauthz/%s", conf->issuer, AGENT_PATH_PREFIX, a->id)) == NULL ||
	    (fin = agent_strf("%s/finalize", url)) == NULL ||
	    (value = acme_dns01_value(a->token, a->thumbprint)) == NULL ||
	    (chname = agent_strf("_acme-challenge.%s", a->identifier)) == NULL ||
	    (oname = agent_strf("_openid.%s", a->identifier)) == NULL ||
	    (ovalue = agent_openid_value(conf, ag)) == NULL)
		goto out;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s},s:s}", "url", url, "identifier",
	    a->identifier, "action", agent_action_name(a->action), "status", agent_authz_status(a, now), "expires",
	    (json_int_t)a->expires_at, "challenge", "type", "dns-01", "token", a->token, "name", chname, "value", value,
	    "openid", "name", oname, "value", ovalue, "finalize", fin);
out:
	if (o == NULL)
		log_warnx("agent: cannot build an authorization object");
	free(url);
	free(fin);
	free(value);
	free(chname);
	free(oname);
	free(ovalue);
	return (o);
}

/** agent_status_json(id, agent_name): the §6 status object. */
json_t *
agent_status_json(const struct identity *id, const char *agent_name)
{
	json_t *o;
	bool deleted = id->state == IDENTITY_DELETED;

	o = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I}", "identifier", id->identifier, "status",
	    identity_state_name(id->state), "sub", id->sub, "agent", agent_name, "created_at",
	    (json_int_t)id->created_at, "updated_at", (json_int_t)id->updated_at);
	if (o == NULL)
		goto fail;
	/* A deletion is the identity's last change: its updated_at is when it was deleted. */
	if (deleted ? json_object_set_new(o, "deleted_at", json_integer(id->updated_at)) == -1
	            : json_object_set_new(o, "password_set_at",
	                  id->password_changed_at != 0 ? json_integer(id->password_changed_at) : json_null()) == -1)
		goto fail;
	return (o);
fail:
	log_warnx("agent: cannot build a status object");
	json_decref(o);
	return (NULL);
}

/** agent_json_respond(c, status, o, location_rest): answer ${o} (stolen) with an optional Location. */
void
agent_json_respond(struct agent_call *c, int status, json_t *o, const char *location_rest)
{
	char *loc = NULL;

	if (o == NULL) {
		agent_internal(c->resp);
		return;
	}
	if (location_rest != NULL) {
		if ((loc = agent_api_url(c->app->conf, location_rest)) == NULL) {
			agent_internal(c->resp);
			goto out;
		}
		resp_header(c->resp, "Location", loc);
	}
	resp_json(c->resp, status, o);
	c->resp->kind = RESP_API;
out:
	free(loc);
	json_wipe_str(o, "setup_url");
	json_wipe_str(o, "confirm_url");
	json_decref(o);
}

/** agent_identifier_extra(identifier): {"identifier": ...} or NULL on memory failure. */
json_t *
agent_identifier_extra(const char *identifier)
{
	return (json_pack("{s:s}", "identifier", identifier));
}
