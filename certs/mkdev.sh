#!/bin/sh
# mkdev.sh [-f] [dir]: make a development CA and a localhost server certificate signed by it.
#
#   dir/dev-ca.pem, dir/dev-ca.key   EC P-256 CA, 10 years, CA:TRUE, keyCertSign; name-constrained to localhost,
#                                    127.0.0.0/8 and ::1 so that trusting it cannot vouch for any real site
#   dir/server.pem, dir/server.key   EC P-256 leaf, 825 days, serverAuth, SAN DNS:localhost IP:127.0.0.1 IP:::1
#
# dir defaults to the directory of this script.  Existing files are kept (an existing CA is reused to sign a
# missing server certificate) unless -f is given, which makes everything new.  Private keys are mode 600.
# Nothing made here is ever committed (see .gitignore).
set -eu

usage() {
	echo "usage: $0 [-f] [dir]" >&2
	exit 2
}

force=0
while getopts f opt; do
	case $opt in
	f) force=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage

if [ $# -eq 1 ]; then
	dir=$1
else
	dir=$(dirname -- "$0")
fi
mkdir -p -- "$dir"
dir=$(CDPATH='' cd -- "$dir" && pwd)

command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 1; }

ca_pem=$dir/dev-ca.pem
ca_key=$dir/dev-ca.key
srv_pem=$dir/server.pem
srv_key=$dir/server.key

if [ "$force" -eq 0 ] && [ -s "$ca_pem" ] && [ -s "$ca_key" ] && [ -s "$srv_pem" ] && [ -s "$srv_key" ]; then
	echo "$0: $dir already has dev-ca.pem and server.pem (use -f to make new ones)"
	exit 0
fi

# Work in a private directory beside the results, so that keys never leave ${dir} and each file appears by an
# atomic rename, complete or not at all.
umask 077
tmp=$(mktemp -d "$dir/.mkdev.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# run cmd...: run an openssl command quietly, showing its messages only when it fails.
run() {
	if ! "$@" >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		echo "$0: failed: $*" >&2
		exit 1
	fi
}

cat >"$tmp/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = dn_ca
prompt = no
utf8 = yes

[ dn_ca ]
O = anchorid development
CN = anchorid development CA

[ v3_ca ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

newkey() {
	run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
		-out "$1"
}

# A random positive 127-bit serial (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets), no .srl file.
serial() {
	printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

# The CA: reused unless -f or a part of it is missing.
if [ "$force" -eq 1 ] || [ ! -s "$ca_pem" ] || [ ! -s "$ca_key" ]; then
	newkey "$tmp/ca.key"
	run openssl req -new -x509 -config "$tmp/openssl.cnf" -extensions v3_ca -key "$tmp/ca.key" -sha256 \
		-days 3650 -set_serial "$(serial)" -out "$tmp/ca.pem"
	chmod 600 "$tmp/ca.key"
	chmod 644 "$tmp/ca.pem"
	mv -f -- "$tmp/ca.key" "$ca_key"
	mv -f -- "$tmp/ca.pem" "$ca_pem"
	echo "$0: made $ca_pem"
fi

# The server certificate, always new here (it is missing, or the CA is new, or -f).
newkey "$tmp/server.key"
run openssl req -new -config "$tmp/openssl.cnf" -subj "/O=anchorid development/CN=localhost" -key "$tmp/server.key" \
	-out "$tmp/server.csr"
run openssl x509 -req -in "$tmp/server.csr" -CA "$ca_pem" -CAkey "$ca_key" -set_serial "$(serial)" -days 825 \
	-sha256 -extfile "$tmp/openssl.cnf" -extensions v3_server -out "$tmp/server.pem"
run openssl verify -CAfile "$ca_pem" -purpose sslserver "$tmp/server.pem"
chmod 600 "$tmp/server.key"
chmod 644 "$tmp/server.pem"
mv -f -- "$tmp/server.key" "$srv_key"
mv -f -- "$tmp/server.pem" "$srv_pem"
echo "$0: made $srv_pem (trust $ca_pem, see README.md)"
