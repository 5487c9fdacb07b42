/*
 * bench/dns_bench.c: the DNS lookup benchmark of `make bench` (run by bench/dns.sh against tests/dns/testbed.sh).
 *
 *   dns_bench UPSTREAM TRUST_ANCHOR [THREADS [N [SECONDS]]]
 *
 * (a) cold: a resolver without a cache (cache_max_entries 0), so every dns_lookup_txt goes to the network and
 *     validates the chain: N lookups of SECURE answers (the _openid names of example.test. in turn) and N of
 *     SECURE NXDOMAINs (distinct names n<i>.example.test), latency p50/p99/max in ms.
 * (b) cached: a resolver with a cache, warmed with one name; THREADS threads (0: one per CPU) call
 *     dns_lookup_txt on it in a loop for SECONDS s.  Lookups/s over all threads and ns per lookup per thread.
 * Every answer is checked (status, result, from_cache, record count) and the counters of dns_resolver_stats are
 * checked against the number of lookups made; any mismatch is printed and the exit status is 1.
 * Output: "key value" lines on stdout (bench/dns.sh turns them into its table), diagnostics on stderr.
 */
#include "dns.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHED_NAME "_openid.alice.example.test"

static const char *const secure_names[] = {
	"_openid.alice.example.test", "_openid.multi.example.test",  "_openid.other.example.test",
	"_openid.legacy.example.test", "_openid.port.example.test",  "_openid.twice.example.test",
	"_openid.noise.example.test", "_openid.bad.example.test",
};
#define N_SECURE_NAMES (sizeof secure_names / sizeof secure_names[0])

static int failures;

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* percentile(sorted, n, p): the nearest-rank p-th percentile of the ${n} sorted values. */
static uint64_t
percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void
fail(const char *what, const char *name, const struct dns_answer *a)
{
	if (failures++ < 10)
		fprintf(stderr, "dns_bench: %s: %s: %s %s%s n_txt=%zu%s%s\n", what, name,
		    a ? dns_status_name(a->status) : "-", a ? dns_result_name(a->result) : "-",
		    a && a->from_cache ? " from_cache" : "", a ? a->n_txt : 0, a && a->error ? " error: " : "",
		    a && a->error ? a->error : "");
}

/* cold(r, n, nx): ${n} uncached lookups of SECURE answers (nx false) or SECURE NXDOMAINs (nx true). */
static int
cold(struct dns_resolver *r, size_t n, bool nx, const char *label, unsigned run)
{
	uint64_t *lat = calloc(n, sizeof *lat);
	char name[DNS_MAX_NAME + 1];
	if (!lat)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (nx)
			snprintf(name, sizeof name, "n%u-%zu.example.test", run, i);
		else
			snprintf(name, sizeof name, "%s", secure_names[i % N_SECURE_NAMES]);
		struct dns_answer *a = NULL;
		uint64_t t0 = now_ns();
		int rc = dns_lookup_txt(r, name, &a);
		lat[i] = now_ns() - t0;
		if (rc != 0 || !a || a->status != DNS_SECURE || a->from_cache ||
		    (nx ? a->result != DNS_NXDOMAIN : (a->result != DNS_ANSWER || a->n_txt == 0)))
			fail(label, name, a);
		dns_answer_free(a);
	}
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("%s_n %zu\n", label, n);
	printf("%s_p50_ms %.3f\n", label, (double)percentile(lat, n, 50) / 1e6);
	printf("%s_p99_ms %.3f\n", label, (double)percentile(lat, n, 99) / 1e6);
	printf("%s_max_ms %.3f\n", label, (double)lat[n - 1] / 1e6);
	free(lat);
	return 0;
}

struct worker {
	pthread_t tid;
	struct dns_resolver *r;
	pthread_barrier_t *start;
	atomic_bool *stop;
	uint64_t lookups, bad, ns;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(w->start);
	uint64_t t0 = now_ns();
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			struct dns_answer *a = NULL;
			if (dns_lookup_txt(w->r, CACHED_NAME, &a) != 0 || !a || a->status != DNS_SECURE ||
			    a->result != DNS_ANSWER || !a->from_cache || a->n_txt != 1)
				w->bad++;
			dns_answer_free(a);
		}
		w->lookups += 64;
	}
	w->ns = now_ns() - t0;
	return NULL;
}

/* cached(base, threads, seconds): the cached run; 0 done, 1 not run (the warm-up failed), -1 no resources. */
static int
cached(const struct dns_config *base, int threads, double seconds)
{
	struct dns_config cfg = *base;
	cfg.cache_max_entries = 1024;
	cfg.cache_max_ttl = 3600;
	struct dns_resolver *r = dns_resolver_new(&cfg);
	if (!r)
		return -1;
	struct dns_answer *a = NULL;
	if (dns_lookup_txt(r, CACHED_NAME, &a) != 0 || !a || a->status != DNS_SECURE || a->result != DNS_ANSWER ||
	    a->from_cache)
		fail("warm-up", CACHED_NAME, a);
	dns_answer_free(a);
	a = NULL;
	if (dns_lookup_txt(r, CACHED_NAME, &a) != 0 || !a || !a->from_cache) {
		fail("warm-up not cached", CACHED_NAME, a);
		dns_answer_free(a);
		dns_resolver_free(r);
		return 1; /* every loop iteration would go to the network: nothing to measure */
	}
	dns_answer_free(a);

	struct dns_stats s0, s1;
	dns_resolver_stats(r, &s0);
	struct worker *w = calloc((size_t)threads, sizeof *w);
	pthread_barrier_t start;
	atomic_bool stop = false;
	if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0) {
		free(w);
		dns_resolver_free(r);
		return -1;
	}
	for (int i = 0; i < threads; i++) {
		w[i].r = r;
		w[i].start = &start;
		w[i].stop = &stop;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "dns_bench: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&start);
	uint64_t t0 = now_ns();
	struct timespec d = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&d, NULL);
	atomic_store(&stop, true);
	uint64_t total = 0, bad = 0;
	double ns_sum = 0, ns_max = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		double per = w[i].lookups ? (double)w[i].ns / (double)w[i].lookups : 0;
		total += w[i].lookups;
		bad += w[i].bad;
		ns_sum += per;
		if (per > ns_max)
			ns_max = per;
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	dns_resolver_stats(r, &s1);
	pthread_barrier_destroy(&start);
	uint64_t hits = s1.hits - s0.hits, misses = s1.misses - s0.misses;
	if (bad) {
		failures++;
		fprintf(stderr, "dns_bench: cached: %" PRIu64 " of %" PRIu64 " answers were not SECURE from_cache\n", bad,
		    total);
	}
	if (hits != total || misses != 0) {
		failures++;
		fprintf(stderr, "dns_bench: cached: stats say %" PRIu64 " hits, %" PRIu64 " misses for %" PRIu64
		    " lookups\n", hits, misses, total);
	}
	printf("cached_threads %d\n", threads);
	printf("cached_seconds %.3f\n", elapsed);
	printf("cached_lookups %" PRIu64 "\n", total);
	printf("cached_bad %" PRIu64 "\n", bad);
	printf("cached_hits %" PRIu64 "\n", hits);
	printf("cached_misses %" PRIu64 "\n", misses);
	printf("cached_per_s %.0f\n", (double)total / elapsed);
	printf("cached_ns_mean %.0f\n", ns_sum / threads);
	printf("cached_ns_max %.0f\n", ns_max);
	free(w);
	dns_resolver_free(r);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: %s UPSTREAM TRUST_ANCHOR [THREADS [N [SECONDS]]]\n", argv[0]);
		return 2;
	}
	int threads = argc > 3 ? atoi(argv[3]) : 0;
	long n = argc > 4 ? atol(argv[4]) : 200;
	double seconds = argc > 5 ? atof(argv[5]) : 2.0;
	if (threads <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? (int)c : 1;
	}
	if (n < 1 || seconds <= 0) {
		fprintf(stderr, "dns_bench: N must be >= 1 and SECONDS > 0\n");
		return 2;
	}

	struct dns_config cfg = {
		.upstreams = argv[1],
		.trust_anchor_file = argv[2],
		.timeout_ms = 2000,
		.tcp_fallback = true,
		.cache_max_entries = 0, /* cold: every lookup goes to the network */
		.cache_max_ttl = 300,
		.allow_insecure = false,
	};
	struct dns_resolver *r = dns_resolver_new(&cfg);
	if (!r) {
		fprintf(stderr, "dns_bench: dns_resolver_new failed\n");
		return 1;
	}
	/* One lookup first, not measured: the first one creates the context (sockets, anchors). */
	struct dns_answer *a = NULL;
	if (dns_lookup_txt(r, CACHED_NAME, &a) != 0 || !a || a->status != DNS_SECURE || a->result != DNS_ANSWER)
		fail("first lookup", CACHED_NAME, a);
	dns_answer_free(a);
	unsigned run = (unsigned)(now_ns() % 1000000u);
	struct dns_stats s0, s1;
	dns_resolver_stats(r, &s0);
	if (cold(r, (size_t)n, false, "cold_secure", run) != 0 || cold(r, (size_t)n, true, "cold_nxdomain", run) != 0) {
		fprintf(stderr, "dns_bench: out of memory\n");
		return 1;
	}
	dns_resolver_stats(r, &s1);
	if (s1.hits != s0.hits || s1.misses - s0.misses != 2 * (uint64_t)n) {
		failures++;
		fprintf(stderr, "dns_bench: cold: stats say %" PRIu64 " hits, %" PRIu64 " misses for %ld lookups\n",
		    s1.hits - s0.hits, s1.misses - s0.misses, 2 * n);
	}
	printf("cold_misses %" PRIu64 "\n", s1.misses - s0.misses);
	dns_resolver_free(r);

	int crc = cached(&cfg, threads, seconds);
	if (crc < 0) {
		fprintf(stderr, "dns_bench: cached run could not start\n");
		return 1;
	}
	printf("failures %d\n", failures);
	return failures ? 1 : 0;
}
