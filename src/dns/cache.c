/*
 * cache.c: the bounded TTL cache in front of the getdns stub (which caches nothing in getdns 1.6).
 *
 * RFC 1035 §3.2.1 and RFC 2181 §8 (TTLs, capped by the operator), RFC 2308 §5 (negative answers live the SOA
 * minimum), RFC 4035 §4.7 (bogus data is cached only briefly, so that a fixed zone is seen soon).
 *
 * A chained hash map of struct entry with a doubly linked LRU list, all behind one mutex: a hit costs a hash,
 * a short chain walk and a copy of a few hundred bytes, about a microsecond.  Full: the least recently used
 * entry goes.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "util.h"

struct entry {
	char *key;                         /* "type/name", the name in lower case */
	uint64_t hash;                     /* of key */
	uint64_t expires_ms;               /* clock value at which the entry dies */
	struct dns_answer *a;              /* the stored copy (from_cache false, ttl as stored) */
	struct entry *next;                /* hash chain */
	struct entry *lru_prev, *lru_next; /* most recently used first */
};

struct dns_cache {
	pthread_mutex_t mtx;
	struct entry **buckets;
	size_t n_buckets; /* a power of two >= max_entries */
	size_t n_entries;
	size_t max_entries;
	uint32_t max_ttl;
	struct entry *lru_head, *lru_tail;
	uint64_t (*now_ms)(void *);
	void *arg;
	struct dns_stats st; /* entries is n_entries, filled by dns_cache_stats */
};

/* cache_mono(arg): the default clock. */
static uint64_t
cache_mono(void *arg)
{
	(void)arg;
	return (time_mono_ms());
}

/** dns_cache_new(max_entries, max_ttl, now_ms, arg): an empty cache; ${now_ms}(${arg}) is the clock in
 * milliseconds (NULL: the monotonic clock).  NULL on memory failure or max_entries < 1. */
struct dns_cache *
dns_cache_new(int max_entries, int max_ttl, uint64_t (*now_ms)(void *), void *arg)
{
	struct dns_cache *c;
	size_t nb = 16;

	if (max_entries < 1 || max_ttl < 0)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	while (nb < (size_t)max_entries)
		nb <<= 1;
	if ((c->buckets = calloc(nb, sizeof(*c->buckets))) == NULL) {
		free(c);
		return (NULL);
	}
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c->buckets);
		free(c);
		return (NULL);
	}
	c->n_buckets = nb;
	c->max_entries = (size_t)max_entries;
	c->max_ttl = (uint32_t)max_ttl;
	c->now_ms = now_ms != NULL ? now_ms : cache_mono;
	c->arg = arg;
	return (c);
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->key);
	dns_answer_free(e->a);
	free(e);
}

/** dns_cache_free(c): free ${c} and its entries; NULL is a no-op. */
void
dns_cache_free(struct dns_cache *c)
{
	struct entry *e, *next;

	if (c == NULL)
		return;
	for (e = c->lru_head; e != NULL; e = next) {
		next = e->lru_next;
		entry_free(e);
	}
	pthread_mutex_destroy(&c->mtx);
	free(c->buckets);
	free(c);
}

/* cache_key(name, type, key): "type/name" in lower case into ${key}; -1 when too long. */
static int
cache_key(const char *name, int type, char key[DNS_CACHE_MAX_KEY + 1])
{
	int n;
	char *p;

	n = snprintf(key, DNS_CACHE_MAX_KEY + 1, "%d/%s", type, name);
	if (n < 0 || n > DNS_CACHE_MAX_KEY)
		return (-1);
	for (p = key; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* One trailing dot is the same name. */
	if (n > 0 && key[n - 1] == '.')
		key[n - 1] = '\0';
	return (0);
}

/* cache_hash(s): FNV-1a 64; the keys are names chosen by users, but the map is bounded and chains are short. */
static uint64_t
cache_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return (h);
}

/* answer_copy(a): a deep copy of ${a}, or NULL on memory failure. */
static struct dns_answer *
answer_copy(const struct dns_answer *a)
{
	struct dns_answer *c;
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->status = a->status;
	c->result = a->result;
	c->ttl = a->ttl;
	c->from_cache = a->from_cache;
	if (a->error != NULL && (c->error = strdup(a->error)) == NULL)
		goto fail;
	if (a->n_txt > 0) {
		if ((c->txt = calloc(a->n_txt, sizeof(*c->txt))) == NULL)
			goto fail;
		for (i = 0; i < a->n_txt; i++) {
			if ((c->txt[i] = strdup(a->txt[i])) == NULL)
				goto fail;
			c->n_txt++;
		}
	}
	return (c);
fail:
	dns_answer_free(c);
	return (NULL);
}

/* Locked helpers. */

static void
lru_unlink(struct dns_cache *c, struct entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(struct dns_cache *c, struct entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

/* cache_remove(c, e): unlink ${e} from its chain and the LRU list and free it. */
static void
cache_remove(struct dns_cache *c, struct entry *e)
{
	struct entry **pp;

	for (pp = &c->buckets[e->hash & (c->n_buckets - 1)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	lru_unlink(c, e);
	c->n_entries--;
	entry_free(e);
}

static struct entry *
cache_find(struct dns_cache *c, const char *key, uint64_t h)
{
	struct entry *e;

	for (e = c->buckets[h & (c->n_buckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return (e);
	return (NULL);
}

/** dns_cache_get(c, name, type, out): a live entry as a new *${out} (from_cache set, ttl = seconds left,
 * caller frees): 1; 0 and *${out} = NULL on a miss (counted); -1 on memory failure. */
int
dns_cache_get(struct dns_cache *c, const char *name, int type, struct dns_answer **out)
{
	char key[DNS_CACHE_MAX_KEY + 1];
	struct entry *e;
	uint64_t h, now;
	int ret = 0;

	*out = NULL;
	if (cache_key(name, type, key) == -1)
		return (0);
	h = cache_hash(key);
	pthread_mutex_lock(&c->mtx);
	now = c->now_ms(c->arg);
	if ((e = cache_find(c, key, h)) != NULL && e->expires_ms <= now) {
		cache_remove(c, e);
		e = NULL;
	}
	if (e == NULL) {
		c->st.misses++;
		goto out;
	}
	if ((*out = answer_copy(e->a)) == NULL) {
		ret = -1;
		goto out;
	}
	(*out)->from_cache = true;
	/* Seconds left, rounded up so that a live entry never claims 0. */
	(*out)->ttl = (uint32_t)((e->expires_ms - now + 999) / 1000);
	c->st.hits++;
	lru_unlink(c, e);
	lru_push_front(c, e);
	ret = 1;
out:
	pthread_mutex_unlock(&c->mtx);
	return (ret);
}

/** dns_cache_put(c, name, type, a): store a copy of ${a} under the rules in dns.h; 0 (also when the rules say
 * not to store), -1 on memory failure. */
int
dns_cache_put(struct dns_cache *c, const char *name, int type, const struct dns_answer *a)
{
	char key[DNS_CACHE_MAX_KEY + 1];
	struct entry *e = NULL, *old;
	uint32_t ttl = a->ttl;
	uint64_t h;

	if (a->result == DNS_ERROR)
		return (0);
	if (ttl > c->max_ttl)
		ttl = c->max_ttl;
	/* RFC 4035 §4.7: bogus data only briefly; indeterminate likewise. */
	if ((a->status == DNS_BOGUS || a->status == DNS_INDETERMINATE) && ttl > DNS_CACHE_BAD_TTL)
		ttl = DNS_CACHE_BAD_TTL;
	if (ttl == 0 || cache_key(name, type, key) == -1)
		return (0);
	h = cache_hash(key);
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = strdup(key)) == NULL || (e->a = answer_copy(a)) == NULL) {
		entry_free(e);
		return (-1);
	}
	e->a->from_cache = false;
	e->a->ttl = ttl;
	e->hash = h;
	pthread_mutex_lock(&c->mtx);
	e->expires_ms = c->now_ms(c->arg) + (uint64_t)ttl * 1000;
	if ((old = cache_find(c, key, h)) != NULL)
		cache_remove(c, old);
	while (c->n_entries >= c->max_entries && c->lru_tail != NULL) {
		if (c->lru_tail->expires_ms > c->now_ms(c->arg))
			c->st.evictions++;
		cache_remove(c, c->lru_tail);
	}
	e->next = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = e;
	lru_push_front(c, e);
	c->n_entries++;
	c->st.inserts++;
	pthread_mutex_unlock(&c->mtx);
	return (0);
}

/** dns_cache_count(c, a): count the result ${a} returned to a caller in the per-status counters. */
void
dns_cache_count(struct dns_cache *c, const struct dns_answer *a)
{
	pthread_mutex_lock(&c->mtx);
	if ((unsigned)a->status < DNS_STATUS_COUNT)
		c->st.by_status[a->status]++;
	if (a->result == DNS_ERROR)
		c->st.errors++;
	pthread_mutex_unlock(&c->mtx);
}

/** dns_cache_stats(c, out): a snapshot of ${c}'s counters. */
void
dns_cache_stats(struct dns_cache *c, struct dns_stats *out)
{
	pthread_mutex_lock(&c->mtx);
	*out = c->st;
	out->entries = c->n_entries;
	pthread_mutex_unlock(&c->mtx);
}
