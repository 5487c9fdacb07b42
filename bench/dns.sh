#!/usr/bin/env bash
# bench/dns.sh: a benchmark (not a test) of the DNS discovery lookups against the local DNSSEC test bed.
#
#   make bench            (runs this last)
#   bench/dns.sh          (env: BENCH_DNS_THREADS cached-lookup threads, default one per CPU; BENCH_DNS_N cold
#                          lookups of each kind, default 200; BENCH_DNS_SECONDS cached run, default 2;
#                          BENCH_KEEP=1 keeps the temp dir)
#
# 1. tests/dns/testbed.sh start in a temp dir (one knotd on 127.0.0.1, a signed . / test. / example.test.).
# 2. build/dns_bench from bench/dns_bench.c and build/libanchorid.a, with the Makefile's flags.
# 3. cold: a resolver without a cache, so every lookup validates the whole chain: N SECURE answers and N SECURE
#    NXDOMAINs (distinct names), latency p50/p99/max.  cached: one warmed name, T threads in a loop; every answer
#    must be SECURE and from_cache, and the cache's hit counter must match the lookups made.
# 4. A table on stdout and in build/bench-dns.txt.  Any wrong answer makes the run INVALID (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${BENCH_DNS_THREADS:-$(nproc)}
N=${BENCH_DNS_N:-200}
SECS=${BENCH_DNS_SECONDS:-2}
PKGS="libmicrohttpd cjose jansson libargon2 sqlite3 libcrypto getdns"
OUT=build/bench-dns.txt
BIN=build/dns_bench

die() { echo "bench-dns: $*" >&2; exit 1; }
for tool in knotd kdig cc pkg-config; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps-test installs it)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/anchorid-bench-dns.XXXXXX")
cleanup() {
	local rc=$?
	tests/dns/testbed.sh stop "$TMP/bed" >/dev/null 2>&1 || echo "bench-dns: could not stop the test bed in $TMP/bed" >&2
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench-dns: kept $TMP" >&2; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------ 1. build
make -s build/libanchorid.a
# shellcheck disable=SC2046,SC2086
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Iinclude $(pkg-config --cflags $PKGS) \
	-o "$BIN" bench/dns_bench.c build/libanchorid.a $(pkg-config --libs $PKGS) -lpthread

# ------------------------------------------------------------------------------------------------ 2. test bed
echo "bench-dns: starting the test bed ..."
tests/dns/testbed.sh start "$TMP/bed" >/dev/null
PORT=$(sed -n 's/^PORT=//p' "$TMP/bed/env")
ANCHOR=$(sed -n 's/^TRUST_ANCHOR=//p' "$TMP/bed/env")
{ [ -n "$PORT" ] && [ -s "$ANCHOR" ]; } || die "no PORT or TRUST_ANCHOR in $TMP/bed/env"

# ------------------------------------------------------------------------------------------------ 3. run
echo "bench-dns: $BIN 127.0.0.1@$PORT ($N cold lookups of each kind, $THREADS threads for ${SECS}s cached) ..."
rc=0
"$BIN" "127.0.0.1@$PORT" "$ANCHOR" "$THREADS" "$N" "$SECS" >"$TMP/result.txt" 2>"$TMP/stderr.txt" || rc=$?
[ -s "$TMP/stderr.txt" ] && cat "$TMP/stderr.txt" >&2
grep -q '^failures ' "$TMP/result.txt" || die "dns_bench did not finish (exit $rc)"
v() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/result.txt"; }

# ------------------------------------------------------------------------------------------------ 4. report
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	echo "anchorid bench-dns $(date -u '+%Y-%m-%dT%H:%M:%SZ')  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo '+dirty')"
	echo "machine: $(nproc) x $cpu; getdns stub validating against the test bed's knotd at 127.0.0.1@$PORT (UDP, loopback)"
	printf '%-26s %8s %9s %9s %9s\n' 'cold (no cache)' lookups 'p50 ms' 'p99 ms' 'max ms'
	printf '%-26s %8s %9s %9s %9s\n' 'SECURE answer' "$(v cold_secure_n)" "$(v cold_secure_p50_ms)" \
		"$(v cold_secure_p99_ms)" "$(v cold_secure_max_ms)"
	printf '%-26s %8s %9s %9s %9s\n' 'SECURE NXDOMAIN' "$(v cold_nxdomain_n)" "$(v cold_nxdomain_p50_ms)" \
		"$(v cold_nxdomain_p99_ms)" "$(v cold_nxdomain_max_ms)"
	printf '%-26s %8s %12s %12s %12s\n' 'cached (one name)' threads 'lookups/s' 'ns/lookup' 'ns max thr'
	printf '%-26s %8s %12s %12s %12s\n' "SECURE from_cache, $(v cached_seconds) s" "$(v cached_threads)" \
		"$(v cached_per_s)" "$(v cached_ns_mean)" "$(v cached_ns_max)"
	echo "cached: $(v cached_lookups) lookups, $(v cached_hits) cache hits, $(v cached_misses) misses, $(v cached_bad) wrong answers;" \
		"cold: $(v cold_misses) misses"
	if [ "$(v failures)" = 0 ] && [ "$rc" = 0 ]; then
		echo "run: valid (every answer had the expected status, result and cache origin)"
	else
		echo "run: INVALID: $(v failures) failures (dns_bench exit $rc; see stderr)"
	fi
} >"$TMP/table.txt"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/table.txt" "$OUT"
echo
cat "$OUT"
[ "$rc" = 0 ] || exit 1
