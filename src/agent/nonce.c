/*
 * nonce.c: the Replay-Nonces of the agent API (drafts/agent-provisioning.md §3, RFC 8555 §6.5), in memory.
 *
 * Every answer under AGENT_PATH_PREFIX carries a fresh nonce, unauthenticated ones and 404s included, so keeping
 * them in the store cost one committed write (an fsync with database_sync = full) per request of a flood.  As ACME
 * servers do, they live here instead: a chained hash table for the lookup, threaded on a list in issue order so
 * that the expired (lazily, on each call) and, when the set is full, the oldest are dropped from one end.  A
 * dropped nonce, or one issued before a restart, is simply unknown: the agent gets badNonce and retries with the
 * fresh Replay-Nonce of that answer.
 *
 * The nonces are kept as sent, not hashed: unlike the store's bearer secrets they are no secret once sent (the
 * signature, not the nonce, authenticates a request) and never reach a disk.  Their 128 random bits also make the
 * table safe from hash flooding without a keyed hash: only the server chooses what goes in.  Thread-safe: one
 * mutex, under which each call does a hash lookup and drops a few entries.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NONCE_LEN ((AGENT_NONCE_BYTES * 4 + 2) / 3) /* base64url without padding */

/* One live nonce. */
struct entry {
	struct entry *chain; /* the next entry in its bucket */
	struct entry *older; /* the previous issue, NULL for the oldest */
	struct entry *newer; /* the next issue, NULL for the newest */
	int64_t expires_at;  /* unusable from this time on */
	char nonce[NONCE_LEN + 1];
};

struct agent_nonces {
	pthread_mutex_t mu;     /* guards everything below */
	int64_t ttl;            /* seconds a nonce lives */
	size_t max;             /* entries held at most */
	size_t count;           /* entries held */
	size_t mask;            /* the number of buckets (a power of two, at least max) minus one */
	struct entry **buckets; /* hash chains */
	struct entry *oldest;   /* the issue-order list: dropped from this end */
	struct entry *newest;   /* ... and added at this one */
};

/* bucket(ns, s): FNV-1a of ${s}, masked. */
static size_t
bucket(const struct agent_nonces *ns, const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h & ns->mask);
}

/** agent_nonces_new(max, ttl): an empty set of at most ${max} nonces living ${ttl} seconds each. */
struct agent_nonces *
agent_nonces_new(size_t max, int64_t ttl)
{
	struct agent_nonces *ns;
	size_t n = 1;

	if (max == 0 || max > AGENT_NONCE_MAX || ttl <= 0) {
		log_warnx("agent: a nonce set of %zu for %lld s", max, (long long)ttl);
		return (NULL);
	}
	while (n < max)
		n <<= 1;
	if ((ns = calloc(1, sizeof(*ns))) == NULL || (ns->buckets = calloc(n, sizeof(*ns->buckets))) == NULL) {
		log_warn("agent: nonce set");
		free(ns);
		return (NULL);
	}
	ns->max = max;
	ns->ttl = ttl;
	ns->mask = n - 1;
	pthread_mutex_init(&ns->mu, NULL);
	return (ns);
}

/** agent_nonces_free(ns): NULL is a no-op. */
void
agent_nonces_free(struct agent_nonces *ns)
{
	struct entry *e, *next;

	if (ns == NULL)
		return;
	for (e = ns->oldest; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	pthread_mutex_destroy(&ns->mu);
	free(ns->buckets);
	free(ns);
}

/* drop(ns, e): unlink ${e} from its chain and the issue list, and free it.  Under the mutex. */
static void
drop(struct agent_nonces *ns, struct entry *e)
{
	struct entry **pp;

	for (pp = &ns->buckets[bucket(ns, e->nonce)]; *pp != e; pp = &(*pp)->chain)
		;
	*pp = e->chain;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		ns->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		ns->newest = e->older;
	ns->count--;
	free(e);
}

/* purge(ns, now): drop the expired entries at the old end (issue order is expiry order while the clock does not
 * step back; one missed here still fails its lookup and goes when it reaches that end).  Under the mutex. */
static void
purge(struct agent_nonces *ns, int64_t now)
{
	while (ns->oldest != NULL && ns->oldest->expires_at <= now)
		drop(ns, ns->oldest);
}

/** agent_nonces_issue(ns, now): a fresh nonce, usable once until ${now} + ttl; caller frees. */
char *
agent_nonces_issue(struct agent_nonces *ns, int64_t now)
{
	struct entry *e = NULL;
	char *nonce = NULL;
	size_t b;

	if ((nonce = rand_token(AGENT_NONCE_BYTES)) == NULL || strlen(nonce) != NONCE_LEN ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		log_warnx("agent: cannot make a nonce");
		free(nonce);
		return (NULL);
	}
	memcpy(e->nonce, nonce, NONCE_LEN + 1);
	e->expires_at = now + ns->ttl;
	pthread_mutex_lock(&ns->mu);
	purge(ns, now);
	/* Full: the oldest goes (its agent gets badNonce and retries with the nonce of that answer). */
	if (ns->count >= ns->max)
		drop(ns, ns->oldest);
	b = bucket(ns, e->nonce);
	e->chain = ns->buckets[b];
	ns->buckets[b] = e;
	e->older = ns->newest;
	if (ns->newest != NULL)
		ns->newest->newer = e;
	else
		ns->oldest = e;
	ns->newest = e;
	ns->count++;
	pthread_mutex_unlock(&ns->mu);
	return (nonce);
}

/** agent_nonces_use(ns, nonce, now): consume ${nonce}: true exactly once for a live one. */
bool
agent_nonces_use(struct agent_nonces *ns, const char *nonce, int64_t now)
{
	struct entry *e;
	bool ok = false;

	if (strlen(nonce) != NONCE_LEN)
		return (false);
	pthread_mutex_lock(&ns->mu);
	purge(ns, now);
	for (e = ns->buckets[bucket(ns, nonce)]; e != NULL; e = e->chain) {
		if (strcmp(e->nonce, nonce) == 0) {
			/* RFC 8555 §6.5.2: single use; found and removed under one lock, so one racer wins. */
			ok = e->expires_at > now;
			drop(ns, e);
			break;
		}
	}
	pthread_mutex_unlock(&ns->mu);
	return (ok);
}

/** agent_nonce_issue(app, resp): a fresh nonce of app->agent_nonces in a Replay-Nonce header of ${resp}. */
int
agent_nonce_issue(struct app *app, struct response *resp)
{
	char *nonce;

	if ((nonce = agent_nonces_issue(app->agent_nonces, time_now())) == NULL)
		return (-1);
	resp_header(resp, "Replay-Nonce", nonce);
	free(nonce);
	return (0);
}
