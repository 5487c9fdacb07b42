#!/usr/bin/env bash
# tests/e2e/run.sh: the end-to-end tests against real relying parties (openid-client, Apache
# mod_auth_openidc, headless Chromium).  Env: ANCHORID (binary, default build/anchorid), ANCHORID_WRAP (command
# prefix, e.g. valgrind), E2E_FILES (test files to run instead of all), E2E_KEEP=1 (keep temp dirs).
set -euo pipefail
cd "$(dirname "$0")/../.."

export ANCHORID=${ANCHORID:-build/anchorid}
if [ ! -x "$ANCHORID" ]; then
	echo "e2e: no server binary at $ANCHORID (run make all)" >&2
	exit 1
fi

# Pinned npm packages; reinstall when node_modules is missing or older than the lockfile.
e2e=tests/e2e
if [ ! -d "$e2e/node_modules" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
	(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

# One certificate set per checkout, remade when missing or expiring within a day.
certs=build/e2e-certs
if ! { [ -s "$certs/dev-ca.pem" ] && [ -s "$certs/server.pem" ] && [ -s "$certs/server.key" ] &&
	openssl x509 -checkend 86400 -noout -in "$certs/server.pem" >/dev/null 2>&1; }; then
	rm -rf "$certs"
	mkdir -p "$certs"
	if [ -x certs/mkdev.sh ] && certs/mkdev.sh "$certs" >/dev/null &&
		[ -s "$certs/dev-ca.pem" ] && [ -s "$certs/server.pem" ] && [ -s "$certs/server.key" ]; then
		:
	else
		echo "e2e: certs/mkdev.sh missing or failed; using tests/e2e/lib/mkcerts-fallback.sh" >&2
		"$e2e/lib/mkcerts-fallback.sh" "$certs"
	fi
fi
export E2E_CERTS=$PWD/$certs
export NODE_EXTRA_CA_CERTS=$PWD/$certs/dev-ca.pem
mkdir -p build/screenshots

if [ -n "${E2E_FILES:-}" ]; then
	# shellcheck disable=SC2206
	files=($E2E_FILES)
else
	files=("$e2e"/*.test.mjs)
fi
# Under a wrapper (valgrind) the servers are slow: one file at a time.
conc=2
[ -n "${ANCHORID_WRAP:-}" ] && conc=1
exec node --test --test-concurrency="$conc" --test-timeout="${E2E_TIMEOUT_MS:-300000}" "${files[@]}"
