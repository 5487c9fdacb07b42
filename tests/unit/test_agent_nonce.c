/*
 * test_agent_nonce.c: the in-memory Replay-Nonces of the agent API (src/agent/nonce.c, drafts/agent-provisioning.md
 * §3, RFC 8555 §6.5): single use, expiry, the bound with its oldest-first eviction, and 8 threads racing for one
 * nonce.  The clock is the ${now} every call takes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/agent/internal.h"
#include "test.h"

#define NOW ((int64_t)1700000000)
#define NTHREADS 8
#define NROUNDS 200

static void
test_single_use(void)
{
	struct agent_nonces *ns;
	char *a = NULL, *b = NULL, c;

	CHECK((ns = agent_nonces_new(AGENT_NONCE_MAX, AGENT_NONCE_TTL)) != NULL);
	if (ns == NULL)
		return;
	CHECK((a = agent_nonces_issue(ns, NOW)) != NULL);
	CHECK((b = agent_nonces_issue(ns, NOW)) != NULL);
	if (a == NULL || b == NULL)
		goto out;
	/* 128 random bits, base64url: 22 characters, never the same twice. */
	CHECK(strlen(a) == 22 && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 22);
	CHECK(strcmp(a, b) != 0);
	CHECK(agent_nonces_use(ns, a, NOW));
	CHECK(!agent_nonces_use(ns, a, NOW));
	CHECK(!agent_nonces_use(ns, a, NOW + 1));
	/* Unknown ones, of the right length or not; a failed use consumes nothing. */
	CHECK(!agent_nonces_use(ns, "AAAAAAAAAAAAAAAAAAAAAA", NOW));
	CHECK(!agent_nonces_use(ns, "", NOW));
	CHECK(!agent_nonces_use(ns, "short", NOW));
	c = b[0];
	b[0] = c == 'A' ? 'B' : 'A';
	CHECK(!agent_nonces_use(ns, b, NOW));
	b[0] = c;
	CHECK(agent_nonces_use(ns, b, NOW));
out:
	free(a);
	free(b);
	agent_nonces_free(ns);
	agent_nonces_free(NULL);
}

static void
test_expiry(void)
{
	struct agent_nonces *ns;
	char *n[4] = { NULL };
	int i;

	CHECK((ns = agent_nonces_new(16, 10)) != NULL);
	if (ns == NULL)
		return;
	for (i = 0; i < 4; i++)
		CHECK((n[i] = agent_nonces_issue(ns, NOW + i)) != NULL);
	if (n[3] == NULL)
		goto out;
	/* Live until issue + ttl, dead from then on. */
	CHECK(agent_nonces_use(ns, n[0], NOW + 9));
	CHECK(!agent_nonces_use(ns, n[1], NOW + 11));
	/* n[2] expired too (the lazy purge at NOW + 12 drops it); a later clock never revives one. */
	CHECK(!agent_nonces_use(ns, n[2], NOW + 12));
	CHECK(!agent_nonces_use(ns, n[2], NOW));
	CHECK(agent_nonces_use(ns, n[3], NOW + 12));
out:
	for (i = 0; i < 4; i++)
		free(n[i]);
	agent_nonces_free(ns);
	/* Refused sizes. */
	CHECK(agent_nonces_new(0, 10) == NULL);
	CHECK(agent_nonces_new(AGENT_NONCE_MAX + 1, 10) == NULL);
	CHECK(agent_nonces_new(4, 0) == NULL);
}

static void
test_capacity(void)
{
	struct agent_nonces *ns;
	char *n[7] = { NULL };
	int i;

	CHECK((ns = agent_nonces_new(4, 600)) != NULL);
	if (ns == NULL)
		return;
	/* Full at four: the fifth drops the first, the sixth the second. */
	for (i = 0; i < 6; i++)
		CHECK((n[i] = agent_nonces_issue(ns, NOW)) != NULL);
	if (n[5] == NULL)
		goto out;
	CHECK(!agent_nonces_use(ns, n[0], NOW));
	CHECK(!agent_nonces_use(ns, n[1], NOW));
	/* A used one frees its place: two more fit without dropping n[3]..n[5]. */
	CHECK(agent_nonces_use(ns, n[2], NOW));
	CHECK((n[6] = agent_nonces_issue(ns, NOW)) != NULL);
	CHECK(agent_nonces_use(ns, n[3], NOW));
	CHECK(agent_nonces_use(ns, n[4], NOW));
	CHECK(agent_nonces_use(ns, n[5], NOW));
	CHECK(n[6] != NULL && agent_nonces_use(ns, n[6], NOW));
out:
	for (i = 0; i < 7; i++)
		free(n[i]);
	agent_nonces_free(ns);
}

/* 8 threads use one nonce at once, NROUNDS times: exactly one wins each round. */
struct race {
	struct agent_nonces *ns;
	pthread_barrier_t barrier;
	char *nonce[NROUNDS];
	bool won[NROUNDS][NTHREADS];
};

struct racer {
	struct race *race;
	int n;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	int round;

	for (round = 0; round < NROUNDS; round++) {
		pthread_barrier_wait(&r->race->barrier);
		r->race->won[round][r->n] = agent_nonces_use(r->race->ns, r->race->nonce[round], NOW);
	}
	return (NULL);
}

static void
test_race(void)
{
	static struct race race;
	struct racer racers[NTHREADS];
	pthread_t tid[NTHREADS];
	int i, round, wins;
	bool issued = true;

	memset(&race, 0, sizeof(race));
	CHECK((race.ns = agent_nonces_new(AGENT_NONCE_MAX, AGENT_NONCE_TTL)) != NULL);
	if (race.ns == NULL)
		return;
	for (round = 0; round < NROUNDS; round++)
		issued &= (race.nonce[round] = agent_nonces_issue(race.ns, NOW)) != NULL;
	CHECK(issued);
	if (!issued)
		goto out;
	pthread_barrier_init(&race.barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		racers[i].race = &race;
		racers[i].n = i;
		CHECK(pthread_create(&tid[i], NULL, racer_main, &racers[i]) == 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&race.barrier);
	for (round = 0; round < NROUNDS; round++) {
		for (wins = i = 0; i < NTHREADS; i++)
			wins += race.won[round][i];
		CHECK(wins == 1);
	}
out:
	for (round = 0; round < NROUNDS; round++)
		free(race.nonce[round]);
	agent_nonces_free(race.ns);
}

int
main(void)
{
	TEST_RUN(test_single_use);
	TEST_RUN(test_expiry);
	TEST_RUN(test_capacity);
	TEST_RUN(test_race);
	return (TEST_EXIT());
}
