#!/usr/bin/env bash
# bench/run.sh: a benchmark (not a test) of a real anchorid over TLS, next to the machine's signing ceiling.
#
#   make bench            (builds build/anchorid and the dev certificates, then runs this)
#   bench/run.sh          (env: ANCHORID binary, BENCH_DURATION s per wrk run, BENCH_TOKEN_DURATION,
#                          BENCH_THREADS, BENCH_CONNECTIONS, BENCH_MINT_SECONDS time budget for minting codes,
#                          BENCH_DBDIR directory for the database instead of the temp dir (e.g. /dev/shm, to see
#                          the server without fsync), BENCH_SYNC full|normal (database_sync, default full),
#                          BENCH_KEEP=1 keeps the temp dir)
#
# 1. openssl speed -multi NCPU rsa2048 ecdsap256: sign/s over all cores.  The token endpoint signs one RS256 ID
#    token and one ES256 access token per request, so its ceiling is 1 / (1/rsa + 1/ecdsa) requests/s.
# 2. A server on a free loopback port with a temporary config and database: TLS with certs/server.pem, one worker
#    thread per CPU, log_level warn, the access log to a file (its cost is part of every request), code_ttl 600.
# 3. bench/prepare.mjs: identity, password, confidential client, one login, one access token, and pre-minted
#    authorization codes (one per token request).
# 4. wrk against discovery, JWKS, token (bench/token.lua: a fresh code per request) and userinfo.
# 5. A table on stdout and in build/bench.txt.  A token run whose codes ran out, or with any non-200 answer or
#    socket error, is marked INVALID (and the script exits 1).
# Every measurement also records how much of the machine other processes used meanwhile ("others": all CPU time
# in /proc/stat minus the server's and wrk's or openssl's): numbers taken on a busy machine are not comparable,
# and the table says so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BIN=${ANCHORID:-build/anchorid}
DUR=${BENCH_DURATION:-8}
TOKEN_DUR=${BENCH_TOKEN_DURATION:-10}
WRK_T=${BENCH_THREADS:-2}
WRK_C=${BENCH_CONNECTIONS:-32}
MINT_SECONDS=${BENCH_MINT_SECONDS:-30}
CODES_CAP=${BENCH_CODES_CAP:-120000}
REDIRECT=http://127.0.0.1:9/cb
NCPU=$(nproc)
OUT=build/bench.txt

die() { echo "bench: $*" >&2; exit 1; }
for tool in wrk node openssl awk; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps-test installs it)"
done
[ -x "$BIN" ] || die "no server binary at $BIN (run make all)"
if [ ! -s certs/server.pem ] || [ ! -s certs/server.key ] || [ ! -s certs/dev-ca.pem ]; then
	certs/mkdev.sh >/dev/null
fi
if [ ! -d tests/e2e/node_modules ]; then
	(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
export NODE_EXTRA_CA_CERTS=$ROOT/certs/dev-ca.pem

TMP=$(mktemp -d "${TMPDIR:-/tmp}/anchorid-bench.XXXXXX")
SRV_PID=
cleanup() {
	local rc=$?
	if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
		kill -TERM "$SRV_PID" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$SRV_PID" 2>/dev/null && { echo "bench: server $SRV_PID ignored SIGTERM, killing" >&2; kill -KILL "$SRV_PID"; }
		wait "$SRV_PID" 2>/dev/null || true
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HZ=$(getconf CLK_TCK)
# machine_ticks: "busy total" CPU ticks of the whole machine (/proc/stat, all CPUs).
machine_ticks() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat; }
# child_ticks: set CT to the CPU ticks used by this shell's finished children (bash's "times", second line; it
# must run in this shell, not in a pipe or $(...), whose fork starts from zero).
child_ticks() {
	times >"$TMP/times.txt"
	CT=$(awk -v hz="$HZ" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { v = $i; m = v; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", v); sub(/s$/, "", v); t += m * 60 + v }
		printf "%d", t * hz }' "$TMP/times.txt")
}
# others_pct BUSY0 TOTAL0 BUSY1 TOTAL1 OWN: percent of the machine's CPU used by anything but OWN ticks.
others_pct() {
	awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" -v own="$5" 'BEGIN {
		o = (t1 > t0) ? (b1 - b0 - own) / (t1 - t0) * 100 : 0; printf "%.0f", (o < 0 ? 0 : o) }'
}

# ---------------------------------------------------------------------------------------- 1. signing ceiling
echo "bench: openssl speed -seconds 3 -multi $NCPU rsa2048 ecdsap256 ..."
# openssl speed -multi does not reap its workers, so their CPU time cannot be told apart from other processes':
# sample the machine for a second before instead.
read -r mb0 mt0 < <(machine_ticks)
sleep 1
read -r mb1 mt1 < <(machine_ticks)
SPEED_OTHERS=$(others_pct "$mb0" "$mt0" "$mb1" "$mt1" 0)
openssl speed -seconds 3 -multi "$NCPU" rsa2048 ecdsap256 >"$TMP/speed.txt" 2>&1 || die "openssl speed failed: $(tail -5 "$TMP/speed.txt")"
RSA=$(awk '/^rsa 2048 bits/ { print $(NF-1) }' "$TMP/speed.txt")
ECDSA=$(awk '/ecdsa \(nistp256\)/ { print $(NF-1) }' "$TMP/speed.txt")
{ [ -n "$RSA" ] && [ -n "$ECDSA" ]; } || die "could not parse openssl speed output: $(tail -5 "$TMP/speed.txt")"
CEIL=$(awk -v r="$RSA" -v e="$ECDSA" 'BEGIN { printf "%.1f", 1 / (1 / r + 1 / e) }')
# Codes for twice the ceiling over the token run, capped; minting also stops after MINT_SECONDS.
NCODES=$(awk -v c="$CEIL" -v d="$TOKEN_DUR" -v cap="$CODES_CAP" 'BEGIN { n = int(2 * c * d); print (n > cap ? cap : n) }')

# ------------------------------------------------------------------------------------------------ 2. server
free_port() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
start_server() {
	PORT=$(free_port)
	ISSUER=https://127.0.0.1:$PORT
	cat >"$TMP/anchorid.conf" <<-EOF
		# written by bench/run.sh
		issuer = $ISSUER
		listen = 127.0.0.1
		port = $PORT
		tls = yes
		tls_cert = "$ROOT/certs/server.pem"
		tls_key = "$ROOT/certs/server.key"
		threads = $NCPU
		database = "${BENCH_DBDIR:-$TMP}/anchorid.db"
		database_sync = ${BENCH_SYNC:-full}
		www_dir = "$ROOT/www"
		access_log = "$TMP/access.log"
		log_level = warn
		code_ttl = 600
		argon2_t_cost = 1
		argon2_m_cost = 1024
	EOF
	"$BIN" -c "$TMP/anchorid.conf" >"$TMP/stdout.log" 2>"$TMP/stderr.log" &
	SRV_PID=$!
	for _ in $(seq 200); do
		grep -q '^anchorid: ready' "$TMP/stdout.log" 2>/dev/null && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
	return 1
}
started=
for _ in 1 2 3; do
	if start_server; then started=1; break; fi
	grep -qiE 'in use|bind' "$TMP/stderr.log" || break   # only a lost race for the port is worth a retry
done
[ -n "$started" ] || die "server did not start:
$(cat "$TMP/stdout.log" "$TMP/stderr.log" | tail -20)"
echo "bench: server pid $SRV_PID at $ISSUER ($NCPU threads)"

# ------------------------------------------------------------------------------------------------ 3. prepare
echo "bench: preparing (identity, client, login, up to $NCODES codes within ${MINT_SECONDS}s) ..."
node bench/prepare.mjs "$ISSUER" "$TMP/anchorid.conf" "$TMP" "$NCODES" "$MINT_SECONDS"
# shellcheck disable=SC1091
. "$TMP/env.sh"

# --------------------------------------------------------------------------------------------------- 4. wrk
# cpu_ticks: the server's user+system CPU time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SRV_PID/stat"; }

# to_ms VALUE: a wrk duration ("850.00us", "12.3ms", "1.10s", "2.00m") in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
		else printf "?" }'
}

declare -A RPS P50 P99 ERRS SOCK CPUMS CPUPCT REQS OTHERS
# measure NAME DURATION wrk-args...: run wrk, record requests/s, p50, p99, errors and server CPU per request.
measure() {
	local name=$1 dur=$2
	shift 2
	local log="$TMP/wrk-$name.txt" t0 t1 c0 c1 b0 m0 b1 m1 reqs non2xx sock
	echo "bench: wrk $name (${dur}s) ..."
	read -r b0 m0 < <(machine_ticks)
	child_ticks; c0=$CT
	t0=$(cpu_ticks)
	wrk -t"$WRK_T" -c"$WRK_C" -d"${dur}s" --timeout 10s --latency "$@" >"$log" 2>&1 || die "wrk $name failed: $(cat "$log")"
	t1=$(cpu_ticks)
	child_ticks; c1=$CT
	read -r b1 m1 < <(machine_ticks)
	OTHERS[$name]=$(others_pct "$b0" "$m0" "$b1" "$m1" "$((t1 - t0 + c1 - c0))")
	RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$log")
	P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$log")")
	P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$log")")
	reqs=$(awk '/requests in/ { print $1 }' "$log")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$log")
	sock=$(awk '/Socket errors:/ { n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n }' "$log")
	REQS[$name]=$reqs
	SOCK[$name]=${sock:-0}
	ERRS[$name]=$(( ${non2xx:-0} + ${sock:-0} ))
	CPUMS[$name]=$(awk -v d="$((t1 - t0))" -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1000 / n : 0) }')
	CPUPCT[$name]=$(awk -v d="$((t1 - t0))" -v hz="$HZ" -v s="$dur" -v c="$NCPU" 'BEGIN { printf "%.0f", d / hz / s / c * 100 }')
}

URL=https://127.0.0.1:$PORT
measure discovery "$DUR" "$URL/.well-known/openid-configuration"
measure jwks "$DUR" "$URL/jwks.json"
measure token "$TOKEN_DUR" -H "Authorization: $BENCH_BASIC" -s bench/token.lua "$URL/token" -- "$TMP/codes.txt" "$WRK_T" "$REDIRECT"
measure userinfo "$DUR" -H "Authorization: Bearer $BENCH_AT" "$URL/userinfo"

# The token run's own accounting (bench/token.lua): codes that ran out and non-200 answers make it invalid.
TOKLINE=$(grep '^token-result:' "$TMP/wrk-token.txt" || true)
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$TOKLINE"; }
TOK_EXHAUSTED=$(kv exhausted)
TOK_NON200=$(kv non200)
TOK_STATUSES=$(kv statuses)
TOK_VALID=yes
TOK_WHY=
if [ -z "$TOKLINE" ]; then TOK_VALID=no; TOK_WHY="no result line from bench/token.lua"; fi
if [ "${TOK_EXHAUSTED:-0}" -gt 0 ]; then TOK_VALID=no; TOK_WHY="$TOK_WHY codes ran out ($TOK_EXHAUSTED requests without a code);"; fi
if [ "${TOK_NON200:-0}" -gt 0 ]; then TOK_VALID=no; TOK_WHY="$TOK_WHY $TOK_NON200 non-200 answers ($TOK_STATUSES);"; fi
if [ "${SOCK[token]}" -gt 0 ]; then TOK_VALID=no; TOK_WHY="$TOK_WHY ${SOCK[token]} socket errors;"; fi

# ------------------------------------------------------------------------------------------------ 5. report
SRV_STOP=
if kill -TERM "$SRV_PID" 2>/dev/null; then
	for _ in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SRV_PID" 2>/dev/null; then SRV_STOP="did not stop within 10 s of SIGTERM"; else
		rc=0; wait "$SRV_PID" || rc=$?; SRV_STOP="exit $rc after SIGTERM"; fi
	kill -0 "$SRV_PID" 2>/dev/null || SRV_PID=
fi
WARNINGS=$(grep -c . "$TMP/stderr.log" || true)
LOGLINES=$(wc -l <"$TMP/access.log" 2>/dev/null || echo 0)

fstype=$(df -PT "${BENCH_DBDIR:-$TMP}" | awk 'NR == 2 { print $2 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
# The token endpoint's signing cost on one core: NCPU/rsa + NCPU/ecdsa seconds.
SIGN_MS=$(awk -v r="$RSA" -v e="$ECDSA" -v c="$NCPU" 'BEGIN { printf "%.2f", (c / r + c / e) * 1000 }')
PCT_CEIL=$(awk -v t="${RPS[token]}" -v c="$CEIL" 'BEGIN { printf "%.1f", t / c * 100 }')
PCT_RSA=$(awk -v t="${RPS[token]}" -v r="$RSA" 'BEGIN { printf "%.1f", t / r * 100 }')

{
	echo "anchorid bench $(date -u '+%Y-%m-%dT%H:%M:%SZ')  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo '+dirty')"
	echo "machine: $NCPU x $cpu; server $NCPU threads, TLS, database on $fstype (database_sync ${BENCH_SYNC:-full}); wrk -t$WRK_T -c$WRK_C on the same CPUs"
	printf 'openssl speed -multi %s: rsa2048 sign %s/s, ecdsa p256 sign %s/s -> token ceiling %s/s (%s ms CPU/req); others %s%% just before\n' \
		"$NCPU" "$RSA" "$ECDSA" "$CEIL" "$SIGN_MS" "$SPEED_OTHERS"
	printf '%-10s %9s %9s %9s %7s %12s %8s %7s\n' endpoint 'req/s' 'p50 ms' 'p99 ms' errors 'srv CPU/req' 'srv CPU' others
	for n in discovery jwks token userinfo; do
		printf '%-10s %9s %9s %9s %7s %9s ms %7s%% %6s%%\n' "$n" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" "${ERRS[$n]}" \
			"${CPUMS[$n]}" "${CPUPCT[$n]}" "${OTHERS[$n]}"
	done
	[ "$TOK_VALID" = yes ] || printf 'INVALID '
	echo "token: ${PCT_CEIL}% of the signing ceiling, ${PCT_RSA}% of the bare RSA-2048 sign rate; ${REQS[token]} requests," \
		"$BENCH_CODES codes minted at $BENCH_MINT_RPS/s (/authorize)"
	if awk -v p="$PCT_CEIL" -v c="${CPUPCT[token]}" 'BEGIN { exit !(p < 50 && c < 50) }'; then
		echo "token: far below the ceiling with the server ${CPUPCT[token]}% busy: it waits (fsync, locks), it does not compute"
	fi
	if [ "$TOK_VALID" = yes ]; then
		echo "token run: valid (every request had its own code, every answer was 200)"
	else
		echo "token run: INVALID:$TOK_WHY"
	fi
	echo "server: $SRV_STOP; $WARNINGS stderr lines; $LOGLINES access log lines"
	busy=$(printf '%s\n' "$SPEED_OTHERS" "${OTHERS[@]}" | sort -n | tail -1)
	if [ "$busy" -gt 10 ]; then
		echo "WARNING: other processes used up to ${busy}% of the CPUs during the run: these numbers are not comparable"
	fi
} >"$TMP/table.txt"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/table.txt" "$OUT"
echo
cat "$OUT"
[ "$TOK_VALID" = yes ] || exit 1
