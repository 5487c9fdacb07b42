#!/usr/bin/env bash
# tests/demo/run.sh (make demo): the whole ID4me federation on loopback, for a person with a browser.
#
#   1. the DNSSEC test bed (tests/dns/testbed.sh: knotd, a signed root and example.test with TSIG updates)
#   2. the authority (build/anchorid) at https://localhost:PORT, resolving through the bed, the login DNS check on
#   3. the identity agent (build/anchorid-agent serve) at https://localhost:PORT, registered at the authority
#   4. demo.example.test provisioned by the agent (the shipped RFC 2136 hook writes its records into the bed),
#      its claims set at the agent, its password set through the authority's real setup page
#   5. a demo relying party (tests/demo/rp.mjs) at https://localhost:PORT
# then prints the relying party's URL, the identifier and the password, and runs until Ctrl-C (or SIGTERM), which
# stops everything; so does any failure on the way.
#
# Ports are free loopback ports chosen at start.  State lives in build/demo/run.XXXXXX, removed on exit.
# Env: DEMO_KEEP=1 keeps the state directory; DEMO_NONINTERACTIVE=1 also prints one line
#   "DEMO READY rp=URL identifier=ID password=PW authority=URL agent=URL state=DIR pids=NAME:PID,..."
# (for tests/e2e/demo.test.mjs); DEMO_CERTS=DIR takes dev-ca.pem, server.pem and server.key from DIR instead of
# certs/ (made by certs/mkdev.sh when missing); ANCHORID, ANCHORID_AGENT: the binaries (default build/...).
# shellcheck disable=SC2317 # stop_pid, cleanup and agent_up run from traps and wait_for
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

ANCHORID=$(realpath -m "${ANCHORID:-build/anchorid}")
AGENT=$(realpath -m "${ANCHORID_AGENT:-build/anchorid-agent}")
HOOK=$ROOT/src/agentd/dns-hook-rfc2136
IDENTIFIER=demo.example.test
AGENT_NAME=demo-agent

say() { printf 'demo: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

for b in "$ANCHORID" "$AGENT"; do [ -x "$b" ] || die "no binary at $b (run make all)"; done
for t in node curl openssl; do command -v "$t" >/dev/null || die "$t not found (make deps-test)"; done

# The relying party's npm packages are the end-to-end tests'.
if [ ! -d tests/e2e/node_modules/openid-client ] || [ ! -d tests/e2e/node_modules/jose ]; then
	say "installing the npm packages of tests/e2e"
	(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# Certificates: the development CA and the localhost server certificate (certs/mkdev.sh).
CERTS=$(realpath -m "${DEMO_CERTS:-certs}")
if ! [ -s "$CERTS/dev-ca.pem" ] || ! [ -s "$CERTS/server.pem" ] || ! [ -s "$CERTS/server.key" ]; then
	certs/mkdev.sh "$CERTS" >&2
fi
CA=$CERTS/dev-ca.pem
CERT=$CERTS/server.pem
KEY=$CERTS/server.key
export NODE_EXTRA_CA_CERTS=$CA

mkdir -p build/demo
STATE=$(mktemp -d "$ROOT/build/demo/run.XXXXXX")
BED=$STATE/bed

# ------------------------------------------------------------------------------------------------ stopping

AUTH_PID="" AGENT_PID="" RP_PID=""
STOPPING=""

# stop_pid PID NAME [kill]: SIGTERM, wait up to 10 s, then SIGKILL; reaps it.  With "kill": SIGKILL at once, for
# the stateless demo RP (a loaded machine once saw node's own exit take over 10 s after its SIGTERM handler ran).
stop_pid() {
	local pid=$1 name=$2 i
	[ -n "$pid" ] || return 0
	if [ "${3:-}" = kill ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			# A zombie (exited, not yet reaped) still answers kill -0.
			[ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null && [ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
			say "$name ($pid) did not stop within 10 s; killing it"
			grep -l "" "$STATE"/*.err 2>/dev/null | while read -r f; do say "--- $f:"; tail -n 5 "$f" >&2; done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	local st=0
	wait "$pid" 2>/dev/null || st=$?
	[ "$st" -eq 0 ] || [ "$st" -eq 127 ] || say "$name exited with status $st" # 127: reaped already
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	trap '' INT TERM HUP # a second Ctrl-C must not interrupt the cleanup
	[ -n "$STOPPING" ] || say "stopping"
	stop_pid "$RP_PID" "relying party" kill
	stop_pid "$AGENT_PID" "agent"
	stop_pid "$AUTH_PID" "authority"
	if [ -d "$BED" ]; then
		tests/dns/testbed.sh stop "$BED" >&2 || say "testbed.sh stop failed"
	fi
	if [ -n "${DEMO_KEEP:-}" ]; then
		say "state kept in $STATE"
	else
		rm -rf "$STATE"
	fi
	say "stopped"
	exit "$rc"
}
trap cleanup EXIT
trap 'STOPPING=1; say "interrupted, stopping"; exit 130' INT
trap 'STOPPING=1; say "terminated, stopping"; exit 143' TERM HUP

# show_log FILE...: the last lines of each log, for a failure.
show_log() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last lines)\n' "${f#"$STATE"/}" >&2
		tail -n 25 "$f" >&2
	done
}

# ------------------------------------------------------------------------------------------------ ports

# Three distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
read -r AUTH_PORT AGENT_PORT RP_PORT < <(node -e '
const net = require("net");
const servers = [0, 1, 2].map(() => net.createServer());
Promise.all(servers.map((s) => new Promise((ok, ko) => { s.once("error", ko); s.listen(0, "127.0.0.1", ok); })))
  .then(() => { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); })
  .catch((e) => { console.error(e.message); process.exit(1); });')
[ -n "${RP_PORT:-}" ] || die "no free ports"
AUTHORITY=https://localhost:$AUTH_PORT
AGENT_ISS=https://localhost:$AGENT_PORT
RP=https://localhost:$RP_PORT/

say "state in $STATE"
say "ports: authority $AUTH_PORT, agent $AGENT_PORT, relying party $RP_PORT"

# ------------------------------------------------------------------------------------------------ 1. DNS

say "starting the DNSSEC test bed (knotd)"
tests/dns/testbed.sh start "$BED" >"$STATE/testbed.out" 2>&1 || {
	cat "$STATE/testbed.out" >&2
	die "the test bed did not start"
}
BED_PORT=$(sed -n 's/^PORT=//p' "$BED/env")
BED_PID=$(sed -n 's/^PID=//p' "$BED/env")
UPSTREAM=127.0.0.1@$BED_PORT
ANCHOR=$BED/root.key
TSIG=$BED/tsig.key
say "DNS: knotd on $UPSTREAM (pid $BED_PID), trust anchor $ANCHOR"

# ------------------------------------------------------------------------------------------------ 2. authority

cat >"$STATE/anchorid.conf" <<EOF
# written by tests/demo/run.sh
issuer = $AUTHORITY
listen = 127.0.0.1
port = $AUTH_PORT
tls = yes
tls_cert = "$CERT"
tls_key = "$KEY"
database = "$STATE/anchorid.db"
www_dir = "$ROOT/www"
access_log = "$STATE/access.log"
login_dns_check = on
dns_upstreams = "$UPSTREAM"
dns_trust_anchor = "$ANCHOR"
dns_cache_max_ttl = 5
outbound_allow_private = yes
outbound_ca_file = "$CA"
EOF
anchorid() { "$ANCHORID" -c "$STATE/anchorid.conf" "$@"; }

# wait_for WHAT PID SECONDS TEST...: poll TEST until it succeeds; fail when PID exits or time runs out.
wait_for() {
	local what=$1 pid=$2 secs=$3 i
	shift 3
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	say "$what: not ready within $secs s"
	return 1
}

say "starting the authority at $AUTHORITY"
"$ANCHORID" -c "$STATE/anchorid.conf" >"$STATE/anchorid.out" 2>"$STATE/anchorid.err" </dev/null &
AUTH_PID=$!
wait_for authority "$AUTH_PID" 30 grep -q '^anchorid: ready' "$STATE/anchorid.out" || {
	show_log "$STATE/anchorid.out" "$STATE/anchorid.err"
	die "the authority did not start"
}

# ------------------------------------------------------------------------------------------------ 3. agent

say "making the agent's key and registering it as $AGENT_NAME ($AGENT_ISS)"
"$AGENT" keygen "$STATE/agent.jwk" >"$STATE/agent.pub.jwk" 2>"$STATE/keygen.err" || {
	show_log "$STATE/keygen.err"
	die "anchorid-agent keygen failed"
}
anchorid agent add "$AGENT_NAME" --issuer "$AGENT_ISS" --jwk "$STATE/agent.pub.jwk" >"$STATE/agent-add.out" 2>&1 || {
	show_log "$STATE/agent-add.out"
	die "anchorid agent add failed"
}

AGENT_OPTS=(--authority "$AUTHORITY" --name "$AGENT_NAME" --key "$STATE/agent.jwk" --ca-file "$CA")
say "starting the agent at $AGENT_ISS"
"$AGENT" "${AGENT_OPTS[@]}" --issuer "$AGENT_ISS" --port "$AGENT_PORT" --tls-cert "$CERT" --tls-key "$KEY" \
	--database "$STATE/agent.db" --upstream "$UPSTREAM" --trust-anchor "$ANCHOR" --allow-private-authority \
	serve >"$STATE/agent.out" 2>"$STATE/agent.err" </dev/null &
AGENT_PID=$!
agent_up() { curl -sf --cacert "$CA" -o /dev/null "$AGENT_ISS/.well-known/openid-configuration"; }
wait_for agent "$AGENT_PID" 30 agent_up || {
	show_log "$STATE/agent.out" "$STATE/agent.err"
	die "the agent did not start"
}

# ------------------------------------------------------------------------------------------------ 4. identity

say "provisioning $IDENTIFIER through the agent (dns-01 and _openid records via the RFC 2136 hook)"
export DNS_HOOK_SERVER=$UPSTREAM DNS_HOOK_ZONE=example.test DNS_HOOK_TSIG=$TSIG
if ! "$AGENT" "${AGENT_OPTS[@]}" --hook "$HOOK" --wait 30 provision "$IDENTIFIER" \
	>"$STATE/provision.out" 2>"$STATE/provision.err"; then
	show_log "$STATE/provision.out" "$STATE/provision.err" "$STATE/anchorid.err"
	die "provisioning $IDENTIFIER failed"
fi
SETUP_URL=$(head -n 1 "$STATE/provision.out")
case "$SETUP_URL" in
"$AUTHORITY"/setup\?*) ;;
*)
	show_log "$STATE/provision.out"
	die "no setup URL from anchorid-agent provision"
	;;
esac

say "setting the claims of $IDENTIFIER at the agent"
if ! "$AGENT" --database "$STATE/agent.db" --key "$STATE/agent.jwk" claims set "$IDENTIFIER" name="Demo User" given_name=Demo \
	family_name=User email=demo@example.test email_verified:=true >"$STATE/claims.out" 2>"$STATE/claims.err"; then
	show_log "$STATE/claims.out" "$STATE/claims.err"
	die "anchorid-agent claims set failed"
fi

PASSWORD=demo-$(head -c 12 /dev/urandom | base64 | tr '+/' 'xy')
say "setting the password through the setup page"
DEMO_PASSWORD=$PASSWORD node tests/demo/setup-password.mjs "$SETUP_URL" 2>"$STATE/setup.err" || {
	show_log "$STATE/setup.err" "$STATE/anchorid.err"
	die "the setup page did not accept the password"
}

# ------------------------------------------------------------------------------------------------ 5. RP

say "starting the demo relying party at $RP"
node tests/demo/rp.mjs --port "$RP_PORT" --cert "$CERT" --key "$KEY" --anchorid "$ANCHORID" \
	--upstream "$UPSTREAM" --trust-anchor "$ANCHOR" \
	>"$STATE/rp.out" 2>"$STATE/rp.err" </dev/null &
RP_PID=$!
wait_for "relying party" "$RP_PID" 30 grep -q '^rp: ready' "$STATE/rp.out" || {
	show_log "$STATE/rp.out" "$STATE/rp.err"
	die "the relying party did not start"
}

# ------------------------------------------------------------------------------------------------ ready

RECORD=$("$ANCHORID" discover --upstream "$UPSTREAM" --trust-anchor "$ANCHOR" "$IDENTIFIER" 2>/dev/null |
	sed -n 's/^record: *//p') || true
cat <<EOF

  ID4me demo federation on loopback, all running:
    DNS (knotd, DNSSEC)   $UPSTREAM   _openid.$IDENTIFIER TXT "$RECORD"
    authority             $AUTHORITY
    identity agent        $AGENT_ISS
    relying party         $RP

  Open   $RP
  Log in as  $IDENTIFIER
  Password   $PASSWORD

  Your browser must trust $CA
  (import it as an authority, for localhost only: it is name-constrained), or accept the certificate warning
  on each of the three https://localhost pages (relying party, authority, agent).

  Logs and databases: $STATE$([ -n "${DEMO_KEEP:-}" ] && echo " (kept)" || echo " (removed at exit; DEMO_KEEP=1 keeps them)")
  Ctrl-C stops everything.

EOF
if [ -n "${DEMO_NONINTERACTIVE:-}" ]; then
	echo "DEMO READY rp=$RP identifier=$IDENTIFIER password=$PASSWORD authority=$AUTHORITY agent=$AGENT_ISS" \
		"state=$STATE pids=knotd:$BED_PID,anchorid:$AUTH_PID,agent:$AGENT_PID,rp:$RP_PID"
fi

# Run until a signal (the traps above) or until one of the servers dies.
set +e
wait -n "$AUTH_PID" "$AGENT_PID" "$RP_PID"
rc=$?
set -e
for p in "authority:$AUTH_PID:anchorid" "agent:$AGENT_PID:agent" "relying party:$RP_PID:rp"; do
	IFS=: read -r name pid log <<<"$p"
	if ! kill -0 "$pid" 2>/dev/null || [ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
		say "the $name stopped unexpectedly (status $rc)"
		show_log "$STATE/$log.out" "$STATE/$log.err"
	fi
done
exit 1
