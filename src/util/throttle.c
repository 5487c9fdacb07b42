/*
 * throttle.c: progressive delays against brute force (SECURITY.md 10).  A chained hash table under one mutex;
 * see include/throttle.h for the policy.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "throttle.h"
#include "util.h"

#define THROTTLE_BUCKETS 8192

struct entry {
	struct entry *next;
	int64_t failures;
	int64_t until;     /* no attempt before this time */
	int64_t forget_at; /* the entry decays after this time */
	char key[];
};

struct throttle {
	pthread_mutex_t mu;
	size_t count;
	struct entry *buckets[THROTTLE_BUCKETS];
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h % THROTTLE_BUCKETS);
}

/** throttle_new(): an empty table. */
struct throttle *
throttle_new(void)
{
	struct throttle *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	pthread_mutex_init(&t->mu, NULL);
	return (t);
}

static void
sweep(struct throttle *t, int64_t now, bool all)
{
	for (size_t i = 0; i < THROTTLE_BUCKETS; i++) {
		struct entry **pp = &t->buckets[i], *e;

		while ((e = *pp) != NULL) {
			if (all || e->forget_at <= now) {
				*pp = e->next;
				free(e);
				t->count--;
			} else
				pp = &e->next;
		}
	}
}

/** throttle_free(t): NULL is a no-op. */
void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	sweep(t, 0, true);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static struct entry *
find(struct throttle *t, const char *key, int64_t now)
{
	struct entry *e;

	for (e = t->buckets[hash(key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return (e->forget_at > now ? e : NULL);
	return (NULL);
}

/** throttle_wait(t, key, now): seconds until ${key} may try again (0: now). */
int64_t
throttle_wait(struct throttle *t, const char *key, int64_t now)
{
	struct entry *e;
	int64_t wait = 0;

	pthread_mutex_lock(&t->mu);
	if ((e = find(t, key, now)) != NULL && e->until > now)
		wait = e->until - now;
	pthread_mutex_unlock(&t->mu);
	return (wait);
}

/** throttle_fail(t, key, now, max_failures, max_delay): count a failure for ${key}. */
void
throttle_fail(struct throttle *t, const char *key, int64_t now, int max_failures, int64_t max_delay)
{
	struct entry *e;
	int64_t delay = 0, over;
	size_t len = strlen(key);
	uint32_t h;

	pthread_mutex_lock(&t->mu);
	if ((e = find(t, key, now)) == NULL) {
		if (t->count >= THROTTLE_MAX_ENTRIES) {
			sweep(t, now, false);
			if (t->count >= THROTTLE_MAX_ENTRIES) {
				log_warnx("throttle table full: starting over");
				sweep(t, now, true);
			}
		}
		if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
			goto out;
		memcpy(e->key, key, len);
		h = hash(e->key);
		e->next = t->buckets[h];
		t->buckets[h] = e;
		t->count++;
	}
	e->failures++;
	over = e->failures - max_failures;
	if (over > 0)
		delay = over >= 30 ? max_delay : ((int64_t)1 << (over - 1));
	if (delay > max_delay)
		delay = max_delay;
	e->until = now + delay;
	/* Remember failures for a while even before delays start, so slow guessing still adds up. */
	e->forget_at = now + (delay > 0 ? 2 * delay : 0) + max_delay;
out:
	pthread_mutex_unlock(&t->mu);
}

/** throttle_clear(t, key): forget ${key}. */
void
throttle_clear(struct throttle *t, const char *key)
{
	struct entry **pp, *e;

	pthread_mutex_lock(&t->mu);
	for (pp = &t->buckets[hash(key)]; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			free(e);
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
}
