#!/usr/bin/env bash
# mkcerts-fallback.sh DIR: a throw-away development CA and a server certificate for localhost, 127.0.0.1 and
# ::1, written as DIR/dev-ca.pem, DIR/server.pem (leaf + CA), DIR/server.key.  Used by the e2e harness only
# when certs/mkdev.sh is missing; the files are the same names mkdev.sh writes.
set -euo pipefail
dir=${1:?usage: mkcerts-fallback.sh DIR}
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.mk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=anchorid e2e test CA" -keyout ca.key -out dev-ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
	-keyout server.key -out server.csr 2>/dev/null
cat > ext.cnf <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in server.csr -CA dev-ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile ext.cnf -out leaf.pem 2>/dev/null
cat leaf.pem dev-ca.pem > server.pem
chmod 644 dev-ca.pem server.pem
chmod 600 server.key
mv server.key server.pem dev-ca.pem "$dir"/
