#!/usr/bin/env bash
# tests/dns/update.sh: a dynamic update of example.test. in a running test bed (what an identity agent's DNS
# hook does), sent with knsupdate and the test bed's TSIG key.
#
#   update.sh [--no-tsig | --key KEYFILE] DIR add NAME TYPE VALUE...   add (TTL $UPDATE_TTL, default 60)
#   update.sh [--no-tsig | --key KEYFILE] DIR del NAME TYPE [VALUE...] delete one record, or the whole RRset
#
# DIR is a directory made by testbed.sh start.  NAME is relative to example.test. unless it ends in a dot or
# in "example.test" (then it is taken as absolute).  VALUE is the record data in zone-file syntax, e.g. for TXT
# '"v=OID1;iss=auth.example.net;clp=agent.example.org"' (several arguments are joined by spaces).
# --no-tsig sends the update unsigned (knot answers NOTAUTH); --key uses another key file (knsupdate -k format,
# e.g. a wrong secret: BADSIG).  Exit status 0 when the server accepted the update; otherwise knsupdate's
# message (e.g. "update failed: NOTAUTH") is on stderr and the status is non-zero.
set -euo pipefail

key=default
case "${1:-}" in
--no-tsig)
	key=""
	shift
	;;
--key)
	key=$2
	shift 2
	;;
esac
if [ $# -lt 4 ] || { [ "$2" != add ] && [ "$2" != del ]; } || { [ "$2" = add ] && [ $# -lt 5 ]; }; then
	echo "usage: $0 [--no-tsig | --key KEYFILE] DIR add|del NAME TYPE [VALUE...]" >&2
	exit 2
fi
DIR=$1 op=$2 name=$3 type=$4
shift 4
value="$*"
[ -r "$DIR/env" ] || {
	echo "update: no test bed in $DIR (missing env)" >&2
	exit 1
}
PORT=$(sed -n 's/^PORT=//p' "$DIR/env")
[ "$key" = default ] && key=$(sed -n 's/^TSIG_KEY_FILE=//p' "$DIR/env")

zone=example.test.
case "$name" in
*.) ;;
example.test | *.example.test) name=$name. ;;
*) name=$name.$zone ;;
esac
[ "$op" = add ] && ttl=${UPDATE_TTL:-60} || ttl=""

args=(-t 3 -r 0)
[ -n "$key" ] && args+=(-k "$key")
out=$(
	knsupdate "${args[@]}" 2>&1 <<EOF
server 127.0.0.1 $PORT
zone $zone
origin $zone
$op $name $ttl $type $value
send
answer
EOF
) && rc=0 || rc=$?
status=$(sed -n 's/^;; ->>HEADER<<-.*status: \([A-Z]*\).*$/\1/p' <<<"$out" | tail -n 1)
if [ "$rc" -ne 0 ] || [ "$status" != NOERROR ]; then
	printf '%s\n' "$out" >&2
	echo "update: $op $name $type refused: ${status:-no answer}" >&2
	exit $((rc ? rc : 1))
fi
exit 0
