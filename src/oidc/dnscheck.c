/*
 * dnscheck.c: the login re-check of an identifier's _openid record (drafts/dns-discovery.md §12).
 *
 * In ID4me the DNS decides which authority an identifier belongs to.  Before a password login completes, and
 * before a live session yields a code, the authority looks up _openid.<identifier> (through the resolver's
 * cache) and lets the login through only when the record is valid, DNSSEC-secure (or insecure and allowed by
 * dnssec = allow-insecure) and its iss names this issuer.  Otherwise the person is told why in plain words.
 */
#include <string.h>

#include "dns.h"
#include "internal.h"

/* The issuer without its scheme: what an _openid record's iss names. */
static const char *
issuer_host(const struct conf *conf)
{
	const char *p = strstr(conf->issuer, "://");

	return (p != NULL ? p + 3 : conf->issuer);
}

/* Is ${host} (the issuer's host, maybe with ":port" or "/path") a loopback name or address? */
static bool
host_is_loopback(const char *host)
{
	size_t n;

	if (strncmp(host, "[::1]", 5) == 0)
		return (true);
	n = strcspn(host, ":/");
	if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0))
		return (true);
	return (strncmp(host, "127.", 4) == 0);
}

/** login_dns_check_on(conf): true when logins re-check _openid: login_dns_check = on, or auto with an issuer
 * that is not on loopback (no _openid record in real DNS can name https://localhost). */
bool
login_dns_check_on(const struct conf *conf)
{
	if (strcmp(conf->login_dns_check, "auto") != 0)
		return (strcmp(conf->login_dns_check, "on") == 0);
	return (!host_is_loopback(issuer_host(conf)));
}

/* Does the record's clp name the identity's agent (drafts/claims.md §2)?  Always true for an identity that no
 * agent holds. */
static bool
clp_names_agent(struct app *app, const struct identity *id, const char *clp)
{
	struct agent *a = NULL;
	const char *host;
	bool ok;

	if (id->agent_id == 0)
		return (true);
	if (clp == NULL || store_agent_by_id(app->st, id->agent_id, &a) != STORE_OK)
		return (false);
	host = strstr(a->issuer, "://");
	ok = openid_host_equal(clp, host != NULL ? host + 3 : a->issuer);
	agent_free(a);
	return (ok);
}

/** login_dns_check(app, id, msg, msglen): 0 when identity ${id} may log in here; else the HTTP status to answer
 * with (403 refused, 503 DNS unavailable, 500 no memory) and a sentence for the person in ${msg}.  Always 0 when
 * the check is off. */
int
login_dns_check(struct app *app, const struct identity *id, char *msg, size_t msglen)
{
	const char *self = issuer_host(app->conf), *identifier = id->identifier;
	struct dns_discovery *d = NULL;
	int status = 403;

	if (!app->login_dns_check)
		return (0);
	if (dns_discover(app->dns, identifier, &d) == -1) {
		snprintf(msg, msglen, "The identifier could not be checked. Please try again.");
		return (500);
	}
	switch (d->err) {
	case DNS_DISC_OK:
		if (!openid_host_equal(d->record->iss, self))
			snprintf(msg, msglen,
			    "%s belongs to another identity authority (%s), not to this one. Log in there, or ask "
			    "your identity agent to move it here.",
			    identifier, d->issuer);
		else if (!clp_names_agent(app, id, d->record->clp))
			snprintf(msg, msglen,
			    "The DNS record of %s names another identity agent (%s) than the one that set it up here. "
			    "Ask your identity agent to correct the record, or to transfer the identifier.",
			    identifier, d->record->clp != NULL ? d->record->clp : "none");
		else
			status = 0;
		break;
	case DNS_DISC_NOT_FOUND:
		snprintf(msg, msglen,
		    "%s has no ID4me record in DNS (%s), so it cannot be used to log in. Ask your identity agent "
		    "to publish it.",
		    identifier, d->name);
		break;
	case DNS_DISC_INVALID_RECORD:
		snprintf(msg, msglen,
		    "The ID4me record of %s in DNS is not valid (%s), so it cannot be used to log in. Ask your "
		    "identity agent to correct it.",
		    identifier, dns_rec_strerror(d->rec_err));
		break;
	case DNS_DISC_INSECURE:
		snprintf(msg, msglen,
		    "The DNS domain of %s is not protected by DNSSEC, so nobody can be sure that it points to "
		    "this identity authority. Ask your domain provider to sign it.",
		    identifier);
		break;
	case DNS_DISC_BOGUS:
		snprintf(msg, msglen,
		    "The DNS answer for %s failed its DNSSEC security check: it may have been tampered with. "
		    "Logging in with it is blocked until the domain's DNS is repaired.",
		    identifier);
		break;
	default:
		snprintf(msg, msglen,
		    "The DNS record of %s could not be read just now, so the login cannot be checked. Please try "
		    "again in a moment.",
		    identifier);
		status = 503;
		break;
	}
	if (status != 0)
		log_info("login refused for %s: %s: %s", identifier, dns_disc_name(d->err),
		    d->error != NULL ? d->error : "the record names another issuer or agent");
	dns_discovery_free(d);
	return (status);
}
