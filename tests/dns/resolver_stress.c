/*
 * tests/dns/resolver_stress.c: many threads share ONE struct dns_resolver (include/dns.h: "one struct
 * dns_resolver serves every worker") against the test bed of tests/dns/testbed.sh, and every answer must be
 * the right one for its name.  Run by tests/e2e/dnsbed.test.mjs; built by `make $(BUILD)/resolver_stress`.
 *
 *   resolver_stress UPSTREAM TRUST_ANCHOR [THREADS [LOOKUPS]]     (defaults 16 threads, 50 lookups each)
 *
 * Two rounds, each with a new resolver: "small-cache" (RESOLVER_STRESS_CACHE entries, far fewer than the names
 * asked for, so threads evict each other's entries while others read them) and "no-cache" (every lookup goes to
 * the network, validating the chain, so the getdns context pool grows and is shared).  Each thread walks the
 * name table from its own offset and adds a fresh NXDOMAIN name now and then: secure, insecure, bogus (DS
 * mismatch), bogus (expired signatures), NODATA, NXDOMAIN in a signed and in an unsigned zone, a two-record
 * set and the 21-record _openid.big that only TCP delivers.
 *
 * Every answer is checked against the table (status, result, records, error set exactly when the answer is
 * unusable, from_cache never without a cache); the first wrong answers are printed with their name.  Then the
 * counters of dns_resolver_stats are checked against what the threads saw: hits + misses = lookups, the
 * by_status counts, hits = answers from_cache, errors = 0, no entries and no inserts without a cache, at most
 * RESOLVER_STRESS_CACHE entries and some evictions with one.
 * Exit status: 0 all right, 1 a wrong answer or counter, 2 bad usage or no resolver.  One "round ..." summary
 * line per round on stdout; diagnostics on stderr.
 */
#include "dns.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RESOLVER_STRESS_CACHE 4 /* cache entries in the small-cache round: the table has 11 names */
#define RESOLVER_STRESS_MAX_THREADS 256
#define RESOLVER_STRESS_MAX_LOOKUPS 100000
#define RESOLVER_STRESS_NX_EVERY 4 /* every 4th lookup of a thread asks a fresh NXDOMAIN name */
#define RESOLVER_STRESS_MAX_REPORTS 20

#define RECORD "v=OID1;iss=auth.example.net;clp=agent.example.org"
#define OTHER "v=OID1;iss=other-issuer.example.com;clp=agent.example.org"

/* What the test bed serves at a name (tests/dns/testbed.sh). */
struct expect {
	const char *name;
	enum dns_status status;
	enum dns_result result;
	size_t n_txt;     /* records expected (0 for a bogus answer: the data is dropped) */
	const char *txt0; /* a record that must be among them, or NULL */
	const char *txt1; /* a second one, or NULL */
	const char *pad;  /* every other record starts with this, or NULL (then there are no others) */
};

static const struct expect table[] = {
	{ "_openid.alice.example.test", DNS_SECURE, DNS_ANSWER, 1, RECORD, NULL, NULL },
	{ "_openid.multi.example.test", DNS_SECURE, DNS_ANSWER, 1, RECORD, NULL, NULL },
	{ "_openid.other.example.test", DNS_SECURE, DNS_ANSWER, 1, OTHER, NULL, NULL },
	{ "_openid.twice.example.test", DNS_SECURE, DNS_ANSWER, 2, RECORD, OTHER, NULL },
	{ "_openid.big.example.test", DNS_SECURE, DNS_ANSWER, 21, RECORD, NULL, "pad-" },
	{ "www.example.test", DNS_SECURE, DNS_NODATA, 0, NULL, NULL, NULL },
	{ "_openid.nobody.example.test", DNS_SECURE, DNS_NXDOMAIN, 0, NULL, NULL, NULL },
	{ "_openid.alice.insecure.test", DNS_INSECURE, DNS_ANSWER, 1, RECORD, NULL, NULL },
	{ "_openid.nobody.insecure.test", DNS_INSECURE, DNS_NXDOMAIN, 0, NULL, NULL, NULL },
	{ "_openid.alice.bogus.test", DNS_BOGUS, DNS_ANSWER, 0, NULL, NULL, NULL },
	{ "_openid.alice.expired.test", DNS_BOGUS, DNS_ANSWER, 0, NULL, NULL, NULL },
};
#define N_TABLE (sizeof(table) / sizeof(table[0]))

/* One worker's share and what it saw. */
struct worker {
	pthread_t tid;
	struct dns_resolver *r;               /* the one resolver of the round, shared */
	pthread_barrier_t *start;             /* every thread starts at once */
	const char *round;                    /* "small-cache" or "no-cache", for messages and NXDOMAIN names */
	bool cached;                          /* the round has a cache */
	int id;                               /* thread number, 0.. */
	int lookups;                          /* lookups to make */
	uint64_t done;                        /* lookups that returned an answer */
	uint64_t from_cache;                  /* answers with from_cache set */
	uint64_t errors;                      /* answers with DNS_ERROR */
	uint64_t by_status[DNS_STATUS_COUNT]; /* answers by DNSSEC status */
	int wrong;                            /* wrong answers */
};

static atomic_int reports;

/* wrong(w, name, why, a): report a wrong answer (the first few in full) and count it. */
static void
wrong(struct worker *w, const char *name, const char *why, const struct dns_answer *a)
{
	w->wrong++;
	if (atomic_fetch_add(&reports, 1) >= RESOLVER_STRESS_MAX_REPORTS)
		return;
	fprintf(stderr, "resolver_stress: %s round, thread %d: %s: %s (got %s %s, %zu records%s%s%s)\n", w->round,
	    w->id, name, why, a ? dns_status_name(a->status) : "-", a ? dns_result_name(a->result) : "-",
	    a ? a->n_txt : 0, a && a->from_cache ? ", from cache" : "", a && a->error ? ", error: " : "",
	    a && a->error ? a->error : "");
}

/* has(a, txt): ${a} holds the record ${txt}. */
static bool
has(const struct dns_answer *a, const char *txt)
{
	size_t i;

	for (i = 0; i < a->n_txt; i++)
		if (strcmp(a->txt[i], txt) == 0)
			return (true);
	return (false);
}

/* check(w, e, a): ${a} is what the bed serves at e->name; wrong() otherwise. */
static void
check(struct worker *w, const struct expect *e, const struct dns_answer *a)
{
	bool usable = (a->status == DNS_SECURE || a->status == DNS_INSECURE) && a->result != DNS_ERROR;
	size_t i, others = 0;

	if (a->status != e->status)
		wrong(w, e->name, "wrong DNSSEC status", a);
	else if (a->result != e->result)
		wrong(w, e->name, "wrong result", a);
	else if (a->n_txt != e->n_txt)
		wrong(w, e->name, "wrong number of records", a);
	else if ((e->txt0 != NULL && !has(a, e->txt0)) || (e->txt1 != NULL && !has(a, e->txt1)))
		wrong(w, e->name, "a record is missing", a);
	else if ((a->error != NULL) == usable)
		wrong(w, e->name, usable ? "error set on a usable answer" : "no error on an unusable answer", a);
	else if (a->from_cache && !w->cached)
		wrong(w, e->name, "from_cache without a cache", a);
	else if (e->pad != NULL) {
		for (i = 0; i < a->n_txt; i++)
			if (strncmp(a->txt[i], e->pad, strlen(e->pad)) == 0)
				others++;
		if (others + 1 != a->n_txt)
			wrong(w, e->name, "unexpected records", a);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct expect nx = { NULL, DNS_SECURE, DNS_NXDOMAIN, 0, NULL, NULL, NULL };
	const struct expect *e;
	struct dns_answer *a;
	char name[DNS_MAX_NAME + 1];
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < w->lookups; i++) {
		if (i % RESOLVER_STRESS_NX_EVERY == RESOLVER_STRESS_NX_EVERY - 1) {
			(void)snprintf(name, sizeof(name), "_openid.nx-%s-%d-%d.example.test", w->round, w->id, i);
			nx.name = name;
			e = &nx;
		} else
			e = &table[((size_t)w->id * 5 + (size_t)i) % N_TABLE];
		a = NULL;
		if (dns_lookup_txt(w->r, e->name, &a) != 0 || a == NULL) {
			wrong(w, e->name, "dns_lookup_txt failed", NULL);
			continue;
		}
		w->done++;
		if ((unsigned)a->status < DNS_STATUS_COUNT)
			w->by_status[a->status]++;
		w->from_cache += a->from_cache;
		w->errors += a->result == DNS_ERROR;
		check(w, e, a);
		dns_answer_free(a);
	}
	return (NULL);
}

/* counter(round, what, got, want): 0 when ${got} == ${want}, else 1 and a message. */
static int
counter(const char *round, const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return (0);
	fprintf(stderr, "resolver_stress: %s round: counter %s is %" PRIu64 ", expected %" PRIu64 "\n", round, what,
	    got, want);
	return (1);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* round_run(base, round, cache_entries, threads, lookups): one round; the number of failures, -1 on setup
 * failure. */
static int
round_run(const struct dns_config *base, const char *round, int cache_entries, int threads, int lookups)
{
	struct dns_config cfg = *base;
	struct dns_resolver *r;
	struct worker *w;
	struct dns_stats st;
	pthread_barrier_t start;
	uint64_t t0, lookups_done = 0, from_cache = 0, errors = 0, by_status[DNS_STATUS_COUNT] = { 0 };
	int i, s, bad = 0;

	cfg.cache_max_entries = cache_entries;
	if ((r = dns_resolver_new(&cfg)) == NULL) {
		fprintf(stderr, "resolver_stress: dns_resolver_new failed\n");
		return (-1);
	}
	if ((w = calloc((size_t)threads, sizeof(*w))) == NULL ||
	    pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0) {
		free(w);
		dns_resolver_free(r);
		return (-1);
	}
	for (i = 0; i < threads; i++) {
		w[i].r = r;
		w[i].start = &start;
		w[i].round = round;
		w[i].cached = cache_entries > 0;
		w[i].id = i;
		w[i].lookups = lookups;
		if ((errno = pthread_create(&w[i].tid, NULL, worker_main, &w[i])) != 0) {
			perror("resolver_stress: pthread_create");
			exit(2);
		}
	}
	pthread_barrier_wait(&start);
	t0 = now_ms();
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		lookups_done += w[i].done;
		from_cache += w[i].from_cache;
		errors += w[i].errors;
		bad += w[i].wrong;
		for (s = 0; s < DNS_STATUS_COUNT; s++)
			by_status[s] += w[i].by_status[s];
	}
	pthread_barrier_destroy(&start);
	dns_resolver_stats(r, &st);

	bad += counter(round, "lookups made", lookups_done, (uint64_t)threads * (uint64_t)lookups);
	bad += counter(round, "hits + misses", st.hits + st.misses, lookups_done);
	bad += counter(round, "hits", st.hits, from_cache);
	bad += counter(round, "errors", st.errors, errors);
	bad += counter(round, "errors seen", errors, 0);
	bad += counter(round, "by_status sum",
	    st.by_status[DNS_SECURE] + st.by_status[DNS_INSECURE] + st.by_status[DNS_BOGUS] +
	        st.by_status[DNS_INDETERMINATE],
	    lookups_done);
	for (s = 0; s < DNS_STATUS_COUNT; s++)
		bad += counter(round, dns_status_name((enum dns_status)s), st.by_status[s], by_status[s]);
	if (cache_entries == 0) {
		bad += counter(round, "hits (no cache)", st.hits, 0);
		bad += counter(round, "inserts (no cache)", st.inserts, 0);
		bad += counter(round, "entries (no cache)", st.entries, 0);
	} else {
		/* Every miss is stored (no answer here is an error or has TTL 0); the small cache must evict. */
		bad += counter(round, "inserts", st.inserts, st.misses);
		if (st.entries > (size_t)cache_entries || st.evictions == 0 || st.entries + st.evictions > st.inserts) {
			fprintf(stderr,
			    "resolver_stress: %s round: %zu entries, %" PRIu64 " evictions, %" PRIu64
			    " inserts with %d entries allowed\n",
			    round, st.entries, st.evictions, st.inserts, cache_entries);
			bad++;
		}
	}
	printf("round %s: %d threads x %d lookups in %" PRIu64 " ms: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
	       " evictions, secure %" PRIu64 " insecure %" PRIu64 " bogus %" PRIu64 ", %d wrong\n",
	    round, threads, lookups, now_ms() - t0, st.hits, st.misses, st.evictions, st.by_status[DNS_SECURE],
	    st.by_status[DNS_INSECURE], st.by_status[DNS_BOGUS], bad);
	free(w);
	dns_resolver_free(r);
	return (bad);
}

/* number(s, min, max, out): the decimal ${s} in [min, max] into *${out}; -1 otherwise. */
static int
number(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return (-1);
	*out = (int)v;
	return (0);
}

int
main(int argc, char **argv)
{
	struct dns_config cfg;
	int threads = 16, lookups = 50, a, b;

	if (argc < 3 || argc > 5 || (argc > 3 && number(argv[3], 1, RESOLVER_STRESS_MAX_THREADS, &threads) == -1) ||
	    (argc > 4 && number(argv[4], 1, RESOLVER_STRESS_MAX_LOOKUPS, &lookups) == -1)) {
		fprintf(stderr, "usage: resolver_stress UPSTREAM TRUST_ANCHOR [THREADS (1-%d) [LOOKUPS (1-%d)]]\n",
		    RESOLVER_STRESS_MAX_THREADS, RESOLVER_STRESS_MAX_LOOKUPS);
		return (2);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.upstreams = argv[1];
	cfg.trust_anchor_file = argv[2];
	cfg.timeout_ms = 5000;
	cfg.tcp_fallback = true;
	cfg.cache_max_ttl = 300;
	if ((a = round_run(&cfg, "small-cache", RESOLVER_STRESS_CACHE, threads, lookups)) == -1 ||
	    (b = round_run(&cfg, "no-cache", 0, threads, lookups)) == -1)
		return (2);
	if (a + b > 0) {
		fprintf(stderr, "resolver_stress: %d wrong answers or counters\n", a + b);
		return (1);
	}
	return (0);
}
