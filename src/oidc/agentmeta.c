/*
 * agentmeta.c: what the authority knows of an identity agent (drafts/claims.md §2): its OpenID configuration
 * (OIDC Discovery §4: <issuer>/.well-known/openid-configuration), fetched over HTTPS under SECURITY.md 12
 * (https only, a deadline, a size cap, no redirects, no loopback or private addresses unless configured) and
 * cached per agent issuer: a configuration for AGENT_META_TTL, a failure for AGENT_META_FAIL_TTL.
 *
 * Threads: the cache is shared by the worker threads under one mutex, never held during a fetch.  While one
 * thread refreshes an expired configuration the others keep using the old one; with nothing cached, concurrent
 * first requests may each fetch.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "internal.h"

#define AGENT_META_TTL 3600             /* drafts/claims.md §2: a configuration is kept an hour */
#define AGENT_META_FAIL_TTL 60          /* ... a failure a minute */
#define AGENT_META_MAX_BODY (64 * 1024) /* drafts/claims.md §2: the document's size cap */
#define AGENT_META_MAX_CLAIMS 256       /* claims_supported entries */
#define AGENT_META_MAX_DEPTH 16         /* a discovery document is flat: objects of strings and arrays */
#define AGENT_META_MAX_ENTRIES 1024     /* agents are contracted: a handful; a bound all the same */

struct agent_meta_entry {
	char *issuer;            /* the key: the agent's registered issuer */
	struct agent_meta *meta; /* NULL: nothing fetched yet, or the last fetch failed */
	uint64_t expires_ms;     /* time_mono_ms() after which the entry is stale */
	bool fetching;           /* a thread is refreshing it */
	struct agent_meta_entry *next;
};

struct agent_metas {
	pthread_mutex_t lock;
	struct agent_meta_entry *head;
	size_t n;
};

/** agent_meta_free(m): NULL is a no-op. */
void
agent_meta_free(struct agent_meta *m)
{
	if (m == NULL)
		return;
	free(m->issuer);
	free(m->userinfo_endpoint);
	free(m->jwks_uri);
	json_decref(m->claims_supported);
	free(m);
}

/* agent_meta_dup(m): a deep copy (jansson's reference counts are not shared across threads); NULL on memory
 * failure. */
static struct agent_meta *
agent_meta_dup(const struct agent_meta *m)
{
	struct agent_meta *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	if ((c->issuer = xstrdup(m->issuer)) == NULL ||
	    (c->userinfo_endpoint = xstrdup(m->userinfo_endpoint)) == NULL ||
	    (c->jwks_uri = xstrdup(m->jwks_uri)) == NULL ||
	    (c->claims_supported = json_deep_copy(m->claims_supported)) == NULL) {
		agent_meta_free(c);
		return (NULL);
	}
	return (c);
}

/** agent_meta_supports(m, claim): true when ${claim} is in m->claims_supported (NULL ${m}: false). */
bool
agent_meta_supports(const struct agent_meta *m, const char *claim)
{
	const json_t *v;
	size_t i;

	if (m == NULL || claim == NULL)
		return (false);
	json_array_foreach(m->claims_supported, i, v)
	{
		if (strcmp(json_string_value(v), claim) == 0)
			return (true);
	}
	return (false);
}

/** agent_metas_new(): an empty cache; NULL on failure (logged). */
struct agent_metas *
agent_metas_new(void)
{
	struct agent_metas *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("agents: out of memory");
		return (NULL);
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		log_warnx("agents: cannot create a mutex");
		free(c);
		return (NULL);
	}
	return (c);
}

static void
entry_free(struct agent_meta_entry *e)
{
	free(e->issuer);
	agent_meta_free(e->meta);
	free(e);
}

/** agent_metas_free(c): NULL is a no-op; no thread may use ${c} any more. */
void
agent_metas_free(struct agent_metas *c)
{
	struct agent_meta_entry *e, *next;

	if (c == NULL)
		return;
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* https_url_ok(s): an absolute https URL (RFC 3986 §4.3) with a host, no fragment, no userinfo, no space or
 * control character, no backslash (browsers read it as "/", so host and path could be read two ways), at most
 * OIDC_MAX_URI bytes. */
static bool
https_url_ok(const char *s)
{
	size_t i, host;

	if (s == NULL || strlen(s) > OIDC_MAX_URI || !str_has_prefix(s, "https://"))
		return (false);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '#' || s[i] == '\\')
			return (false);
	host = strlen("https://");
	i = host + strcspn(s + host, "/?");
	return (i > host && memchr(s + host, '@', i - host) == NULL);
}

/**
 * agent_meta_parse(doc, len, agent_issuer, out, why, whylen): the ${len} bytes of ${doc} (not NUL-terminated) checked
 * as the configuration document of the agent at ${agent_issuer} (drafts/claims.md §2): at most AGENT_META_MAX_BODY
 * bytes of one duplicate-free JSON object nesting at most AGENT_META_MAX_DEPTH levels, its issuer byte for byte
 * ${agent_issuer}, userinfo_endpoint and jwks_uri absolute https URLs (https_url_ok), claims_supported an array of
 * at most AGENT_META_MAX_CLAIMS strings; other members are ignored.  0 and a new *${out} (agent_meta_free) holding
 * copies of those members, which owes nothing to ${doc}; otherwise -1, *${out} NULL and a sentence in ${why}.
 */
int
agent_meta_parse(
    const char *doc, size_t len, const char *agent_issuer, struct agent_meta **out, char *why, size_t whylen)
{
	struct agent_meta *m = NULL;
	json_t *o = NULL, *cs, *v;
	const char *iss, *ui, *jwks;
	size_t i;

	if (out == NULL) {
		str_errf(why, whylen, "internal error");
		return (-1);
	}
	*out = NULL;
	if (agent_issuer == NULL) {
		str_errf(why, whylen, "no agent issuer was given");
		return (-1);
	}
	/* The fetch stops at this size already; a document from elsewhere is held to it too. */
	if (doc == NULL || len > AGENT_META_MAX_BODY || !json_depth_ok(doc, len, AGENT_META_MAX_DEPTH) ||
	    (o = json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(o)) {
		str_errf(why, whylen, "the document is not one JSON object");
		goto fail;
	}
	/* OIDC Discovery §4.3: the issuer must be the one the document was fetched for, byte for byte. */
	if ((iss = json_string_value(json_object_get(o, "issuer"))) == NULL || strcmp(iss, agent_issuer) != 0) {
		str_errf(why, whylen, "its issuer is not %s", agent_issuer);
		goto fail;
	}
	ui = json_string_value(json_object_get(o, "userinfo_endpoint"));
	jwks = json_string_value(json_object_get(o, "jwks_uri"));
	if (!https_url_ok(ui) || !https_url_ok(jwks)) {
		str_errf(why, whylen, "userinfo_endpoint and jwks_uri must be absolute https URLs");
		goto fail;
	}
	cs = json_object_get(o, "claims_supported");
	if (!json_is_array(cs) || json_array_size(cs) > AGENT_META_MAX_CLAIMS) {
		str_errf(why, whylen, "claims_supported must be an array of at most %d strings", AGENT_META_MAX_CLAIMS);
		goto fail;
	}
	json_array_foreach(cs, i, v)
	{
		if (!json_is_string(v)) {
			str_errf(why, whylen, "claims_supported must hold strings only");
			goto fail;
		}
	}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->issuer = xstrdup(iss)) == NULL ||
	    (m->userinfo_endpoint = xstrdup(ui)) == NULL || (m->jwks_uri = xstrdup(jwks)) == NULL ||
	    (m->claims_supported = json_deep_copy(cs)) == NULL) {
		str_errf(why, whylen, "out of memory");
		goto fail;
	}
	json_decref(o);
	*out = m;
	return (0);
fail:
	agent_meta_free(m);
	json_decref(o);
	return (-1);
}

/* agent_meta_fetch(conf, issuer, why, whylen): GET ${issuer}/.well-known/openid-configuration under the
 * outbound_* settings; NULL with a sentence in ${why}. */
static struct agent_meta *
agent_meta_fetch(const struct conf *conf, const char *issuer, char *why, size_t whylen)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct httpc_opts opts;
	struct httpc_response *r = NULL;
	struct agent_meta *m = NULL;
	struct buf url;
	size_t ilen = strlen(issuer);
	char err[256];

	buf_init(&url);
	if (!https_url_ok(issuer)) {
		snprintf(why, whylen, "the agent's issuer is not an https URL");
		goto out;
	}
	/* OIDC Discovery §4.1: the path is appended to the issuer, a trailing slash removed first. */
	while (ilen > 0 && issuer[ilen - 1] == '/')
		ilen--;
	if (buf_append(&url, issuer, ilen) == -1 || buf_puts(&url, OIDC_PATH_DISCOVERY) == -1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	memset(&opts, 0, sizeof(opts));
	opts.ca_file =
	    conf->outbound_ca_file != NULL && conf->outbound_ca_file[0] != '\0' ? conf->outbound_ca_file : NULL;
	opts.timeout_ms = conf->outbound_timeout_ms;
	opts.max_body = AGENT_META_MAX_BODY;
	opts.allow_private = conf->outbound_allow_private;
	if (httpc_request("GET", url.data, headers, NULL, 0, &opts, &r, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "GET %s: %s", url.data, err);
		goto out;
	}
	/* SECURITY.md 12: redirects are not followed; a 3xx is a failure like any other status. */
	if (r->status != 200) {
		snprintf(why, whylen, "GET %s: HTTP %d%s", url.data, r->status,
		    r->status / 100 == 3 ? " (redirects are not followed)" : "");
		goto out;
	}
	(void)agent_meta_parse(r->body != NULL ? r->body : "", r->body_len, issuer, &m, why, whylen);
out:
	httpc_response_free(r);
	buf_release(&url);
	return (m);
}

static struct agent_meta_entry *
entry_find(struct agent_metas *c, const char *issuer)
{
	struct agent_meta_entry *e;

	for (e = c->head; e != NULL; e = e->next)
		if (strcmp(e->issuer, issuer) == 0)
			return (e);
	return (NULL);
}

/* entry_add(c, issuer, now): a new empty entry for ${issuer}, room made by dropping stale entries; NULL when the
 * cache is full of live ones or on memory failure (the caller then works without the cache). */
static struct agent_meta_entry *
entry_add(struct agent_metas *c, const char *issuer, uint64_t now)
{
	struct agent_meta_entry *e, **pp;

	if (c->n >= AGENT_META_MAX_ENTRIES) {
		for (pp = &c->head; (e = *pp) != NULL;) {
			if (!e->fetching && e->expires_ms <= now) {
				*pp = e->next;
				entry_free(e);
				c->n--;
			} else
				pp = &e->next;
		}
		if (c->n >= AGENT_META_MAX_ENTRIES)
			return (NULL);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->issuer = xstrdup(issuer)) == NULL) {
		free(e);
		return (NULL);
	}
	e->next = c->head;
	c->head = e;
	c->n++;
	return (e);
}

/**
 * agent_meta_get(app, agent_issuer, out): the configuration of the agent at ${agent_issuer}, from app->agents
 * when fresh there, else fetched (and cached: AGENT_META_TTL, a failure AGENT_META_FAIL_TTL); a copy in a new
 * *${out} (free with agent_meta_free).  -1 (*${out} NULL) when it cannot be had: a warning is logged once per
 * failure and cache period.  Without app->agents, every call fetches.
 */
int
agent_meta_get(struct app *app, const char *agent_issuer, struct agent_meta **out)
{
	struct agent_metas *c = app->agents;
	struct agent_meta_entry *e;
	struct agent_meta *m = NULL;
	uint64_t now;
	char why[512];
	bool log = true;

	*out = NULL;
	if (agent_issuer == NULL)
		return (-1);
	if (c != NULL) {
		pthread_mutex_lock(&c->lock);
		now = time_mono_ms();
		e = entry_find(c, agent_issuer);
		if (e != NULL && (now < e->expires_ms || (e->fetching && e->meta != NULL))) {
			/* Fresh (a failure included: already logged), or stale while another thread refreshes it. */
			if (e->meta != NULL && (*out = agent_meta_dup(e->meta)) == NULL)
				log_warnx("agents: out of memory");
			pthread_mutex_unlock(&c->lock);
			return (*out != NULL ? 0 : -1);
		}
		if (e != NULL || (e = entry_add(c, agent_issuer, now)) != NULL)
			e->fetching = true;
		pthread_mutex_unlock(&c->lock);
	}

	m = agent_meta_fetch(app->conf, agent_issuer, why, sizeof(why));

	if (c != NULL) {
		pthread_mutex_lock(&c->lock);
		now = time_mono_ms();
		/* The entry may have been dropped meanwhile: look it up again. */
		if ((e = entry_find(c, agent_issuer)) == NULL)
			e = entry_add(c, agent_issuer, now);
		if (e != NULL) {
			e->fetching = false;
			if (m != NULL) {
				agent_meta_free(e->meta);
				e->meta = agent_meta_dup(m);
				e->expires_ms = e->meta != NULL ? now + AGENT_META_TTL * 1000 : 0;
			} else {
				/* Another thread recorded this period's failure already: it logged it. */
				log = e->meta != NULL || now >= e->expires_ms;
				agent_meta_free(e->meta);
				e->meta = NULL;
				if (log)
					e->expires_ms = now + AGENT_META_FAIL_TTL * 1000;
			}
		}
		pthread_mutex_unlock(&c->lock);
	}
	if (m == NULL) {
		if (log)
			log_warnx("agents: no configuration for %s (retried in %d s): %s", agent_issuer,
			    AGENT_META_FAIL_TTL, why);
		return (-1);
	}
	*out = m;
	return (0);
}
