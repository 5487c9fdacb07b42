/*
 * finalize.c: drafts/agent-provisioning.md §5: the authorization's state, the dns-01 TXT record (RFC 8555
 * §8.4), the _openid record (drafts/dns-discovery.md §9, §10), then the store's one-transaction commit of the
 * action.  The lookups bypass the cache (records the agent has just published must be seen at once) and their
 * answers refresh it for the login re-check.  DNS failures answer 422 (503 when no answer came) and leave the
 * authorization pending, so that the agent can fix its records and finalize again.
 */
#include <string.h>

#include "dns.h"
#include "keys.h"
#include "internal.h"

/* What a finalize knows while it checks. */
struct fin {
	struct agent_call *c;
	struct agent_authz *a;
	char *expected; /* the dns-01 value */
	char *openid;   /* the _openid record the agent was asked to publish */
};

static bool
dnssec_required(const struct conf *conf)
{
	return (strcmp(conf->dnssec, "allow-insecure") != 0);
}

/* dns_extra(f, name, status, expected, ans): §7's DNS members: identifier, name, dnssec, expected, and found
 * (the TXT records, when there are any). */
static json_t *
dns_extra(
    const struct fin *f, const char *name, enum dns_status status, const char *expected, const struct dns_answer *ans)
{
	json_t *o, *found = NULL;

	o = json_pack("{s:s,s:s,s:s}", "identifier", f->a->identifier, "name", name, "dnssec", dns_status_name(status));
	if (o == NULL)
		return (NULL);
	if (expected != NULL)
		json_object_set_new(o, "expected", json_string(expected));
	if (ans != NULL && ans->result == DNS_ANSWER && ans->n_txt > 0 && (found = json_array()) != NULL) {
		for (size_t i = 0; i < ans->n_txt; i++)
			json_array_append_new(found, json_string(ans->txt[i]));
		json_object_set_new(o, "found", found);
	}
	return (o);
}

/* lookup_failed(f, name, ans, expected): the lookup-level failures shared by both names: bogus, no usable
 * answer, unsigned when DNSSEC is required.  true with the problem answered. */
static bool
lookup_failed(struct fin *f, const char *name, const struct dns_answer *ans, const char *expected)
{
	struct response *resp = f->c->resp;

	/* SECURITY.md 14: a bogus answer always fails, whatever the policy. */
	if (ans->status == DNS_BOGUS)
		agent_problem(resp, AP_ANSWER_BOGUS, 0, dns_extra(f, name, ans->status, expected, NULL),
		    "DNSSEC validation of %s failed.", name);
	else if (ans->result == DNS_ERROR || ans->status == DNS_INDETERMINATE)
		agent_problem(resp, AP_DNS_UNAVAILABLE, 0, dns_extra(f, name, ans->status, expected, NULL),
		    "No usable answer for %s: %s.", name, ans->error != NULL ? ans->error : "no DNSSEC status");
	else if (ans->status == DNS_INSECURE && dnssec_required(f->c->app->conf))
		agent_problem(resp, AP_ZONE_INSECURE, 0, dns_extra(f, name, ans->status, expected, ans),
		    "The answer for %s is not DNSSEC-signed, and this authority requires it.", name);
	else
		return (false);
	return (true);
}

/* check_challenge(f): §5.2: a TXT record at _acme-challenge.<identifier> equals the expected value.  -1 with
 * the problem answered. */
static int
check_challenge(struct fin *f)
{
	struct dns_answer *ans = NULL;
	char *name = NULL;
	int ret = -1;

	if ((name = agent_strf("_acme-challenge.%s", f->a->identifier)) == NULL ||
	    dns_lookup_txt_fresh(f->c->app->dns, name, &ans) == -1) {
		log_warnx("agent: cannot look up the challenge of %s", f->a->identifier);
		agent_internal(f->c->resp);
		goto out;
	}
	if (lookup_failed(f, name, ans, f->expected))
		goto out;
	if (ans->result == DNS_NXDOMAIN || ans->result == DNS_NODATA) {
		agent_problem(f->c->resp, AP_CHALLENGE_RECORD_MISSING, 0,
		    dns_extra(f, name, ans->status, f->expected, NULL), "%s has no TXT record (%s).", name,
		    dns_result_name(ans->result));
		goto out;
	}
	/* RFC 8555 §8.4: any TXT record at the name that matches counts. */
	for (size_t i = 0; i < ans->n_txt; i++)
		if (strcmp(ans->txt[i], f->expected) == 0) {
			ret = 0;
			goto out;
		}
	agent_problem(f->c->resp, AP_CHALLENGE_VALUE_MISMATCH, 0, dns_extra(f, name, ans->status, f->expected, ans),
	    "%s has TXT records, but none is the expected value.", name);
out:
	dns_answer_free(ans);
	free(name);
	return (ret);
}

/* check_openid(f): §5.3: the identifier's _openid record by the discovery rules names this issuer and, in clp,
 * this agent.  -1 with the problem answered. */
static int
check_openid(struct fin *f)
{
	const struct conf *conf = f->c->app->conf;
	const char *issuer = agent_url_host(conf->issuer), *agent = agent_url_host(f->c->agent->issuer);
	struct dns_discovery *d = NULL;
	struct response *resp = f->c->resp;
	const char *name;
	int ret = -1;

	if (dns_discover_fresh(f->c->app->dns, f->a->identifier, &d) == -1) {
		log_warnx("agent: cannot discover %s", f->a->identifier);
		agent_internal(resp);
		goto out;
	}
	name = d->name != NULL ? d->name : f->a->identifier;
	switch (d->err) {
	case DNS_DISC_OK:
		break;
	case DNS_DISC_BAD_NAME:
		agent_problem(resp, AP_INVALID_IDENTIFIER, 0, agent_identifier_extra(f->a->identifier), "%s",
		    dns_rec_strerror(d->rec_err));
		goto out;
	case DNS_DISC_NOT_FOUND:
		agent_problem(resp, AP_OPENID_RECORD_MISSING, 0, dns_extra(f, name, d->status, f->openid, NULL),
		    "%s has no TXT record (%s).", name, dns_result_name(d->result));
		goto out;
	case DNS_DISC_INVALID_RECORD:
		agent_problem(resp, AP_OPENID_RECORD_INVALID, 0, dns_extra(f, name, d->status, f->openid, d->answer),
		    "%s: %s: %s", name, dns_rec_name(d->rec_err), dns_rec_strerror(d->rec_err));
		goto out;
	case DNS_DISC_INSECURE:
		agent_problem(resp, AP_ZONE_INSECURE, 0, dns_extra(f, name, d->status, f->openid, d->answer),
		    "The answer for %s is not DNSSEC-signed, and this authority requires it.", name);
		goto out;
	case DNS_DISC_BOGUS:
		agent_problem(resp, AP_ANSWER_BOGUS, 0, dns_extra(f, name, d->status, f->openid, NULL),
		    "DNSSEC validation of %s failed.", name);
		goto out;
	default:
		agent_problem(resp, AP_DNS_UNAVAILABLE, 0, dns_extra(f, name, d->status, f->openid, NULL),
		    "No usable answer for %s: %s", name, d->error != NULL ? d->error : "lookup failed");
		goto out;
	}
	if (!openid_host_equal(d->record->iss, issuer)) {
		agent_problem(resp, AP_WRONG_ISSUER, 0, dns_extra(f, name, d->status, f->openid, d->answer),
		    "The record at %s names the authority %s, not %s.", name, d->record->iss, issuer);
		goto out;
	}
	if (d->record->clp == NULL || !openid_host_equal(d->record->clp, agent)) {
		agent_problem(resp, AP_WRONG_AGENT, 0, dns_extra(f, name, d->status, f->openid, d->answer),
		    "The record at %s must name the agent %s in clp.", name, agent);
		goto out;
	}
	ret = 0;
out:
	dns_discovery_free(d);
	return (ret);
}

/* commit_refused(f, rc, held_by): a store_provision_* refusal as its §5 problem.  The store's STORE_NOTFOUND
 * covers both the authorization (expired meanwhile) and the identity (gone meanwhile). */
static void
commit_refused(struct fin *f, enum store_rc rc, int64_t held_by)
{
	struct response *resp = f->c->resp;
	const char *ident = f->a->identifier;

	switch (rc) {
	case STORE_REPLAY:
		agent_problem(resp, AP_ALREADY_FINALIZED, 0, NULL, "The authorization was finalized meanwhile.");
		break;
	case STORE_NOTFOUND:
		if (time_now() >= f->a->expires_at)
			agent_problem(
			    resp, AP_CHALLENGE_EXPIRED, 0, NULL, "The authorization expired; create a new one.");
		else
			agent_identifier_problem(resp, AP_NOT_FOUND, ident);
		break;
	case STORE_CONFLICT:
		/* §5.4: of two finalizes racing for one identifier, the loser lands here. */
		agent_identifier_problem(resp,
		    f->a->action == AGENT_ACTION_TRANSFER ||
		            (f->a->action == AGENT_ACTION_CREATE && held_by == f->c->agent->id)
		        ? AP_IDENTIFIER_EXISTS
		        : AP_IDENTIFIER_HELD,
		    ident);
		break;
	default:
		agent_internal(resp);
		break;
	}
}

/* do_create(f): §5 create: a new inactive identity with a fresh sub, held by the agent, and its setup URL (201). */
static void
do_create(struct fin *f)
{
	struct agent_call *c = f->c;
	struct identity *id = NULL;
	char *sub = NULL, *hash = NULL, *url = NULL, *rest = NULL;
	int64_t held_by = 0, now = time_now(), expires = now + c->app->conf->setup_ttl;
	enum store_rc rc;

	if ((sub = identity_sub_new()) == NULL ||
	    identity_token_new(c->app->conf, OIDC_PATH_SETUP, &hash, &url) == -1 ||
	    (rest = agent_strf("identifiers/%s", f->a->identifier)) == NULL) {
		agent_internal(c->resp);
		goto out;
	}
	rc = store_provision_create(c->app->st, f->a->id, c->agent->id, sub, hash, expires, now, &id, &held_by);
	if (rc != STORE_OK) {
		commit_refused(f, rc, held_by);
		goto out;
	}
	log_info("agent %s: created %s", c->agent->name, id->identifier);
	agent_json_respond(c, 201,
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "identifier", id->identifier, "status",
	        identity_state_name(id->state), "sub", id->sub, "agent", c->agent->name, "setup_url", url,
	        "setup_expires", (json_int_t)expires),
	    rest);
out:
	identity_free(id);
	str_secure_free(url);
	free(sub);
	free(hash);
	free(rest);
}

/* do_transfer(f): §5 transfer: the agent holds the identity from now on; the status object plus
 * previous_agent (200). */
static void
do_transfer(struct fin *f)
{
	struct agent_call *c = f->c;
	struct identity *id = NULL;
	struct agent *prev = NULL;
	json_t *o = NULL;
	int64_t previous = 0;
	enum store_rc rc;

	rc = store_provision_transfer(c->app->st, f->a->id, c->agent->id, time_now(), &id, &previous);
	if (rc != STORE_OK) {
		commit_refused(f, rc, 0);
		goto out;
	}
	if (previous != 0 && store_agent_by_id(c->app->st, previous, &prev) == STORE_ERROR) {
		agent_internal(c->resp);
		goto out;
	}
	log_info("agent %s: took over %s from %s", c->agent->name, id->identifier, prev ? prev->name : "the operator");
	if ((o = agent_status_json(id, c->agent->name)) != NULL &&
	    json_object_set_new(o, "previous_agent", prev != NULL ? json_string(prev->name) : json_null()) == -1) {
		json_decref(o);
		o = NULL;
	}
	agent_json_respond(c, 200, o, NULL);
out:
	agent_free(prev);
	identity_free(id);
}

/* do_delete(f): §5 delete: an identity without a password goes at once (200, the status object); one whose user
 * set a password waits for the user's confirmation at the URL answered (202). */
static void
do_delete(struct fin *f)
{
	struct agent_call *c = f->c;
	struct identity *id = NULL;
	char *hash = NULL, *url = NULL;
	int64_t now = time_now(), expires = now + c->app->conf->setup_ttl;
	enum store_rc rc;
	bool deleted = false;

	if (identity_token_new(c->app->conf, OIDC_PATH_DELETE, &hash, &url) == -1) {
		agent_internal(c->resp);
		goto out;
	}
	rc = store_provision_delete(c->app->st, f->a->id, c->agent->id, hash, expires, now, &id, &deleted);
	if (rc != STORE_OK) {
		commit_refused(f, rc, 0);
		goto out;
	}
	if (deleted) {
		log_info("agent %s: deleted %s", c->agent->name, id->identifier);
		agent_json_respond(c, 200, agent_status_json(id, c->agent->name), NULL);
		goto out;
	}
	log_info("agent %s: deletion of %s waits for the user", c->agent->name, id->identifier);
	agent_json_respond(c, 202,
	    json_pack("{s:s,s:s,s:s,s:s,s:I}", "identifier", id->identifier, "status", identity_state_name(id->state),
	        "deletion", "pending_confirmation", "confirm_url", url, "confirm_expires", (json_int_t)expires),
	    NULL);
out:
	identity_free(id);
	str_secure_free(url);
	free(hash);
}

/** agent_finalize(c): POST {prefix}authz/{id}/finalize: §5 in its order. */
void
agent_finalize(struct agent_call *c)
{
	struct fin f;

	memset(&f, 0, sizeof(f));
	f.c = c;
	/* §5.1: the authorization. */
	if (agent_authz_load(c, &f.a) == -1)
		goto out;
	if (f.a->finalized_at != 0) {
		agent_problem(c->resp, AP_ALREADY_FINALIZED, 0, NULL, "The authorization was already finalized.");
		goto out;
	}
	if (c->now >= f.a->expires_at) {
		agent_problem(c->resp, AP_CHALLENGE_EXPIRED, 0, NULL, "The authorization expired; create a new one.");
		goto out;
	}
	if ((f.expected = acme_dns01_value(f.a->token, f.a->thumbprint)) == NULL ||
	    (f.openid = agent_openid_value(c->app->conf, c->agent)) == NULL) {
		agent_internal(c->resp);
		goto out;
	}
	/* §5.2 and §5.3 (the existing _openid record of an identifier being deleted is not checked). */
	if (check_challenge(&f) == -1 || (f.a->action != AGENT_ACTION_DELETE && check_openid(&f) == -1))
		goto out;
	/* §5.4: the precondition again and the change, in one transaction with the authorization's use. */
	switch (f.a->action) {
	case AGENT_ACTION_CREATE:
		do_create(&f);
		break;
	case AGENT_ACTION_TRANSFER:
		do_transfer(&f);
		break;
	case AGENT_ACTION_DELETE:
		do_delete(&f);
		break;
	}
out:
	free(f.expected);
	free(f.openid);
	agent_authz_free(f.a);
}
