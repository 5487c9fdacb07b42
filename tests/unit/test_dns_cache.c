/*
 * test_dns_cache.c: the DNS answer cache (src/dns/cache.c) with an injected clock: TTL expiry, the max_ttl
 * cap, negative answers, short life of bogus and indeterminate results, no caching of errors, the LRU bound,
 * counters, and a resolver that fails loudly on a missing trust-anchor file.  No network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "test.h"

static uint64_t fake_now = 1000000;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return (fake_now);
}

/* answer(status, result, ttl, txt): a heap answer with zero or one TXT string. */
static struct dns_answer *
answer(enum dns_status status, enum dns_result result, uint32_t ttl, const char *txt)
{
	struct dns_answer *a = calloc(1, sizeof(*a));

	if (a == NULL)
		abort();
	a->status = status;
	a->result = result;
	a->ttl = ttl;
	if (txt != NULL) {
		a->txt = calloc(1, sizeof(*a->txt));
		a->txt[0] = strdup(txt);
		a->n_txt = 1;
	}
	return (a);
}

/* A positive answer lives its TTL and no longer; the copy says from_cache and the seconds left. */
static void
test_ttl_expiry(void)
{
	struct dns_cache *c = dns_cache_new(10, 3600, fake_clock, NULL);
	struct dns_answer *a = answer(DNS_SECURE, DNS_ANSWER, 300, "v=OID1;iss=a.example"), *got = NULL;

	CHECK(c != NULL);
	CHECK(dns_cache_get(c, "_openid.alice.example", 16, &got) == 0 && got == NULL);
	CHECK(dns_cache_put(c, "_openid.alice.example", 16, a) == 0);
	fake_now += 100 * 1000;
	CHECK(dns_cache_get(c, "_openid.alice.example", 16, &got) == 1);
	CHECK(got != NULL && got->from_cache && got->ttl == 200 && got->n_txt == 1 && got->status == DNS_SECURE);
	if (got != NULL)
		CHECK_STR(got->txt[0], "v=OID1;iss=a.example");
	dns_answer_free(got);
	/* Names are case-insensitive and one trailing dot does not matter; the type does. */
	CHECK(dns_cache_get(c, "_OPENID.Alice.Example.", 16, &got) == 1);
	dns_answer_free(got);
	CHECK(dns_cache_get(c, "_openid.alice.example", 1, &got) == 0);
	fake_now += 200 * 1000;
	CHECK(dns_cache_get(c, "_openid.alice.example", 16, &got) == 0 && got == NULL);
	dns_answer_free(a);
	dns_cache_free(c);
}

/* No entry lives longer than max_ttl, whatever its TTL. */
static void
test_max_ttl_cap(void)
{
	struct dns_cache *c = dns_cache_new(10, 60, fake_clock, NULL);
	struct dns_answer *a = answer(DNS_SECURE, DNS_ANSWER, 86400, "x"), *got = NULL;

	CHECK(dns_cache_put(c, "n.example", 16, a) == 0);
	CHECK(dns_cache_get(c, "n.example", 16, &got) == 1 && got->ttl == 60);
	dns_answer_free(got);
	fake_now += 61 * 1000;
	CHECK(dns_cache_get(c, "n.example", 16, &got) == 0);
	dns_answer_free(a);
	dns_cache_free(c);
}

/* RFC 2308: NXDOMAIN and NODATA are cached for the TTL the lookup derived from the SOA; none without one. */
static void
test_negative_caching(void)
{
	struct dns_cache *c = dns_cache_new(10, 3600, fake_clock, NULL);
	struct dns_answer *nx = answer(DNS_SECURE, DNS_NXDOMAIN, 60, NULL);
	struct dns_answer *nodata = answer(DNS_SECURE, DNS_NODATA, 30, NULL);
	struct dns_answer *nosoa = answer(DNS_SECURE, DNS_NXDOMAIN, 0, NULL), *got = NULL;

	CHECK(dns_cache_put(c, "nx.example", 16, nx) == 0);
	CHECK(dns_cache_put(c, "nodata.example", 16, nodata) == 0);
	CHECK(dns_cache_put(c, "nosoa.example", 16, nosoa) == 0);
	CHECK(dns_cache_get(c, "nx.example", 16, &got) == 1 && got->result == DNS_NXDOMAIN && got->n_txt == 0);
	dns_answer_free(got);
	CHECK(dns_cache_get(c, "nosoa.example", 16, &got) == 0);
	fake_now += 31 * 1000;
	CHECK(dns_cache_get(c, "nodata.example", 16, &got) == 0);
	CHECK(dns_cache_get(c, "nx.example", 16, &got) == 1);
	dns_answer_free(got);
	fake_now += 30 * 1000;
	CHECK(dns_cache_get(c, "nx.example", 16, &got) == 0);
	dns_answer_free(nx);
	dns_answer_free(nodata);
	dns_answer_free(nosoa);
	dns_cache_free(c);
}

/* Bogus and indeterminate results live at most DNS_CACHE_BAD_TTL seconds; errors are never stored. */
static void
test_bogus_short_errors_never(void)
{
	struct dns_cache *c = dns_cache_new(10, 3600, fake_clock, NULL);
	struct dns_answer *bogus = answer(DNS_BOGUS, DNS_ANSWER, 300, NULL);
	struct dns_answer *ind = answer(DNS_INDETERMINATE, DNS_NXDOMAIN, 300, NULL);
	struct dns_answer *err = answer(DNS_INDETERMINATE, DNS_ERROR, 300, NULL), *got = NULL;
	struct dns_stats st;

	CHECK(dns_cache_put(c, "bogus.example", 16, bogus) == 0);
	CHECK(dns_cache_put(c, "ind.example", 16, ind) == 0);
	CHECK(dns_cache_put(c, "err.example", 16, err) == 0);
	CHECK(dns_cache_get(c, "err.example", 16, &got) == 0);
	CHECK(dns_cache_get(c, "bogus.example", 16, &got) == 1 && got->status == DNS_BOGUS &&
	    got->ttl == DNS_CACHE_BAD_TTL);
	dns_answer_free(got);
	fake_now += DNS_CACHE_BAD_TTL * 1000;
	CHECK(dns_cache_get(c, "bogus.example", 16, &got) == 0);
	CHECK(dns_cache_get(c, "ind.example", 16, &got) == 0);
	dns_cache_stats(c, &st);
	CHECK(st.inserts == 2 && st.entries == 0);
	dns_answer_free(bogus);
	dns_answer_free(ind);
	dns_answer_free(err);
	dns_cache_free(c);
}

/* At most max_entries: the least recently used goes first; a re-put replaces. */
static void
test_bound_lru(void)
{
	struct dns_cache *c = dns_cache_new(3, 3600, fake_clock, NULL);
	struct dns_answer *a = answer(DNS_SECURE, DNS_ANSWER, 300, "x"), *got = NULL;
	struct dns_stats st;
	char name[32];
	int i;

	for (i = 0; i < 3; i++) {
		(void)snprintf(name, sizeof(name), "n%d.example", i);
		CHECK(dns_cache_put(c, name, 16, a) == 0);
	}
	/* Use n0, so n1 is the least recently used. */
	CHECK(dns_cache_get(c, "n0.example", 16, &got) == 1);
	dns_answer_free(got);
	CHECK(dns_cache_put(c, "n0.example", 16, a) == 0);
	dns_cache_stats(c, &st);
	CHECK(st.entries == 3 && st.evictions == 0);
	CHECK(dns_cache_put(c, "n3.example", 16, a) == 0);
	dns_cache_stats(c, &st);
	CHECK(st.entries == 3 && st.evictions == 1);
	CHECK(dns_cache_get(c, "n1.example", 16, &got) == 0);
	CHECK(dns_cache_get(c, "n0.example", 16, &got) == 1);
	dns_answer_free(got);
	CHECK(dns_cache_get(c, "n2.example", 16, &got) == 1);
	dns_answer_free(got);
	CHECK(dns_cache_get(c, "n3.example", 16, &got) == 1);
	dns_answer_free(got);
	/* Many more names than room: the bound holds. */
	for (i = 0; i < 1000; i++) {
		(void)snprintf(name, sizeof(name), "m%d.example", i);
		CHECK(dns_cache_put(c, name, 16, a) == 0);
	}
	dns_cache_stats(c, &st);
	CHECK(st.entries == 3);
	dns_answer_free(a);
	dns_cache_free(c);
}

/* hits, misses and per-status counts. */
static void
test_stats(void)
{
	struct dns_cache *c = dns_cache_new(10, 3600, fake_clock, NULL);
	struct dns_answer *a = answer(DNS_SECURE, DNS_ANSWER, 300, "x");
	struct dns_answer *e = answer(DNS_INDETERMINATE, DNS_ERROR, 0, NULL), *got = NULL;
	struct dns_stats st;

	CHECK(dns_cache_get(c, "s.example", 16, &got) == 0);
	CHECK(dns_cache_put(c, "s.example", 16, a) == 0);
	dns_cache_count(c, a);
	CHECK(dns_cache_get(c, "s.example", 16, &got) == 1);
	dns_cache_count(c, got);
	dns_answer_free(got);
	dns_cache_count(c, e);
	dns_cache_stats(c, &st);
	CHECK(st.hits == 1 && st.misses == 1 && st.inserts == 1 && st.entries == 1);
	CHECK(st.by_status[DNS_SECURE] == 2 && st.by_status[DNS_INDETERMINATE] == 1 && st.errors == 1);
	CHECK(st.by_status[DNS_BOGUS] == 0 && st.by_status[DNS_INSECURE] == 0);
	dns_answer_free(a);
	dns_answer_free(e);
	dns_cache_free(c);
}

/* max_ttl 0 (caching off) stores nothing but still counts. */
static void
test_cache_off(void)
{
	struct dns_cache *c = dns_cache_new(1, 0, fake_clock, NULL);
	struct dns_answer *a = answer(DNS_SECURE, DNS_ANSWER, 300, "x"), *got = NULL;
	struct dns_stats st;

	CHECK(dns_cache_put(c, "s.example", 16, a) == 0);
	CHECK(dns_cache_get(c, "s.example", 16, &got) == 0);
	dns_cache_stats(c, &st);
	CHECK(st.entries == 0 && st.misses == 1);
	CHECK(dns_cache_new(0, 60, NULL, NULL) == NULL);
	dns_answer_free(a);
	dns_cache_free(c);
}

/* A missing or empty trust-anchor file fails at dns_resolver_new, not at the first lookup. */
static void
test_resolver_anchor_missing(void)
{
	struct dns_config cfg = { "127.0.0.1@1", "/nonexistent/root.key", 500, true, 10, 60, false };

	CHECK(dns_resolver_new(&cfg) == NULL);
	cfg.trust_anchor_file = "/dev/null";
	CHECK(dns_resolver_new(&cfg) == NULL);
	cfg.trust_anchor_file = "/usr/share/dns/root.key";
	cfg.upstreams = "not-an-address";
	CHECK(dns_resolver_new(&cfg) == NULL);
	CHECK(strcmp(dns_status_name(DNS_BOGUS), "bogus") == 0 && strcmp(dns_disc_name(DNS_DISC_INSECURE), "insecure") == 0);
	dns_resolver_free(NULL);
	dns_cache_free(NULL);
	dns_answer_free(NULL);
	dns_discovery_free(NULL);
}

int
main(void)
{
	TEST_RUN(test_ttl_expiry);
	TEST_RUN(test_max_ttl_cap);
	TEST_RUN(test_negative_caching);
	TEST_RUN(test_bogus_short_errors_never);
	TEST_RUN(test_bound_lru);
	TEST_RUN(test_stats);
	TEST_RUN(test_cache_off);
	TEST_RUN(test_resolver_anchor_missing);
	return (TEST_EXIT());
}
