# Shared helpers for the integration tests (sourced). Tests run from the repository root
# and exit 0 (pass), 77 (skip) or anything else (fail).
set -euo pipefail

ROOT=${CABIN_ROOT:-$(pwd)}
CABIN=${CABIN_TEST_CABIN:-$ROOT/build/test/cabin}
CABIND=${CABIN_TEST_CABIND:-$ROOT/build/test/cabind}
IMAGE=$ROOT/build/cabin.qcow2
# The ready line lists every address the node has when it is printed. QEMU's user network
# sends IPv6 router advertisements, so a SLAAC address (fec0::...) on eth0 may or may not be
# there yet. The kernel lists all IPv4 addresses first, then IPv6 interface by interface, so
# it comes after the IPv4 ones and before the IPv6 ones of eth1 and later. Splice it there.
SLAAC='(,fec0::[0-9a-f:]+)?'

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
note() { printf '== %s\n' "$*"; }

# A scratch directory removed at exit (after the test's own cleanup hooks).
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cabin-test.XXXXXX")
CLEANUP=()
on_exit() {
	local rc=$?
	for c in "${CLEANUP[@]}"; do eval "$c" || true; done
	rm -rf "$TMP"
	exit $rc
}
trap on_exit EXIT
# stopped by tests/run.sh's time limit (or ^C): clean up all the same
trap 'exit 143' TERM
trap 'exit 130' INT
# sfdisk, e2fsck, dumpe2fs and ip live in /usr/sbin, not on a non-root user's PATH
PATH=$PATH:/usr/sbin:/sbin

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
		sleep 0.2
	done
}

# expect_fail EXPECTED_STATUS PATTERN COMMAND...: the command must exit with that status
# and its stderr must match the (grep -E) pattern.
expect_fail() {
	local want=$1 pat=$2 rc=0
	shift 2
	# bounded: a command that should fail but serves instead must not hang the run
	timeout 300 "$@" >"$TMP/cmd.out" 2>"$TMP/cmd.err" || rc=$?
	[[ $rc -eq $want ]] || { cat "$TMP/cmd.out" "$TMP/cmd.err"; fail "'$*' exited $rc, expected $want"; }
	grep -Eq -- "$pat" "$TMP/cmd.err" || { cat "$TMP/cmd.err"; fail "'$*' stderr lacks /$pat/"; }
	printf 'ok: %s -> %s\n' "$*" "$(head -n 1 "$TMP/cmd.err")"
}

# ---- the KV peers: etcd 3.4 as the reference, and cabind ----------------------------------
# free_port: a TCP port on loopback that nothing listens on (now), and that no earlier
# call of this test handed out (the kernel may give a port back twice in a row, and the
# ports of members not started yet are not bound).
free_port() {
	local p
	while :; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		grep -qx "$p" "$TMP/.ports" 2>/dev/null || break
	done
	echo "$p" >>"$TMP/.ports"
	echo "$p"
}
# KV_TLS=(etcdctl TLS flags: --cacert F [--cert F --key F]): both helpers below listen on
# https:// instead and check readiness with these flags; the server's own TLS flags go in
# their arguments.
KV_TLS=()
kv_scheme() { if ((${#KV_TLS[@]})); then echo https; else echo http; fi; }
# start_etcd_ref [ETCD_FLAGS...]: etcd (member "ref", data in $TMP/etcd) on loopback; sets
# P_ETCD and returns once it answers.
start_etcd_ref() {
	P_ETCD=$(free_port)
	local peer url
	peer=$(free_port)
	url=$(kv_scheme)://127.0.0.1:$P_ETCD
	etcd --name ref --data-dir "$TMP/etcd" --listen-client-urls "$url" \
		--advertise-client-urls "$url" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "ref=http://127.0.0.1:$peer" "$@" >"$TMP/etcd.log" 2>&1 &
	CLEANUP+=("kill $! 2>/dev/null")
	wait_for 30 "etcd" etcdctl --endpoints "$url" "${KV_TLS[@]}" endpoint health
}
# start_cabind_kv [VAR=VALUE...] [-- CABIND_FLAGS...]: $CABIND (member "ref", data in
# $TMP/cabind) on loopback, with those variables in its environment; sets P_CABIN and
# CABIND_PID and returns once it is ready. Its log is $TMP/cabind.log.
start_cabind_kv() {
	local vars=()
	while (($#)) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
	(($#)) && shift
	P_CABIN=$(free_port)
	env "${vars[@]}" "$CABIND" --name ref --data-dir "$TMP/cabind" \
		--listen-client-urls "$(kv_scheme)://127.0.0.1:$P_CABIN" "$@" \
		>"$TMP/cabind.out" 2>"$TMP/cabind.log" &
	CABIND_PID=$!
	CLEANUP+=("kill $CABIND_PID 2>/dev/null")
	wait_for 30 "cabind" grep -q 'cabin: ready' "$TMP/cabind.log"
}

# ---- test certificates, in $C ------------------------------------------------------------

tls_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/$1.key" 2>/dev/null; }
tls_ca() {	# NAME: a self-signed CA, $C/NAME.pem and $C/NAME.key
	tls_key "$1"
	openssl req -x509 -new -key "$C/$1.key" -subj "/CN=$1" -days 2 -out "$C/$1.pem" 2>/dev/null
}
tls_cert() {	# NAME CA EXTENSIONS: $C/NAME.pem signed by $C/CA.pem
	tls_key "$1"
	openssl req -new -key "$C/$1.key" -subj "/CN=$1" -out "$C/$1.csr" 2>/dev/null
	printf '%s\n' "$3" >"$C/$1.ext"
	openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial \
		-days 2 -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null
}

# ---- a cabind cluster on loopback -----------------------------------------------------------
# cluster_ports N: free client and peer ports for members 1..N (CP[i], PP[i]), the
# --initial-cluster string IC (members m1..mN) and ALL, every client endpoint.
cluster_ports() {
	declare -ga CP PP PID
	IC=
	ALL=
	for ((i = 1; i <= $1; i++)); do
		CP[i]=$(free_port)
		PP[i]=$(free_port)
		IC+="${IC:+,}m$i=http://127.0.0.1:${PP[i]}"
		ALL+="${ALL:+,}127.0.0.1:${CP[i]}"
	done
}
# start_member I [FLAGS...]: member I in $TMP/mI (log $TMP/mI.log); sets PID[I].
start_member() {
	local i=$1
	shift
	"$CABIND" --name "m$i" --data-dir "$TMP/m$i" \
		--listen-client-urls "http://127.0.0.1:${CP[i]}" \
		--advertise-client-urls "http://127.0.0.1:${CP[i]}" \
		--listen-peer-urls "http://127.0.0.1:${PP[i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${PP[i]}" \
		--initial-cluster "$IC" "$@" >>"$TMP/m$i.out" 2>>"$TMP/m$i.log" &
	PID[i]=$!
	CLEANUP+=("kill -9 ${PID[i]} 2>/dev/null")
}
ep() { echo "127.0.0.1:${CP[$1]}"; }
# E I ARGS...: etcdctl against member I.
E() { local i=$1; shift; etcdctl --endpoints "$(ep "$i")" --command-timeout=3s "$@"; }
# leader_of ENDPOINTS: the leader's endpoint (host:port) as those members report it.
leader_of() {
	# a member that does not answer (killed, busy) makes etcdctl fail: the others count
	{ etcdctl --endpoints "$1" endpoint status 2>/dev/null || true; } |
		awk -F', ' '$5 == "true" { print $1 }'
}
has_leader() { [[ -n $(leader_of "$1") ]]; }
# all_follow ENDPOINTS: every one of them answers, and all name the same leader in the same
# term. has_leader is not enough before a first write: a member that has not heard from the
# new leader yet answers a put with "no leader", which etcdctl does not retry.
all_follow() {
	local n
	n=$(tr ',' '\n' <<<"$1" | grep -c .)
	{ etcdctl --endpoints "$1" --command-timeout=3s endpoint status -w json 2>/dev/null || true; } |
		/usr/bin/python3 -c '
import json, sys
text = sys.stdin.read().strip()
st = [s["Status"] for s in json.loads(text)] if text else []
seen = {(s.get("leader", 0), s.get("raftTerm", 0)) for s in st}
sys.exit(not (len(st) == int(sys.argv[1]) and len(seen) == 1 and 0 not in seen.pop()))' "$n"
}
# member_of ENDPOINT: the member number I whose endpoint it is.
member_of() { for i in "${!CP[@]}"; do [[ $1 == "$(ep "$i")" ]] && echo "$i"; done; true; }
# leader_member WHY: waits (10 s) for a leader among $ALL; sets L (its endpoint) and LI
# (its member number), or fails with "no leader to WHY".
leader_member() {
	wait_for 10 "a leader to $1" has_leader "$ALL"
	L=$(leader_of "$ALL" | head -n 1)
	LI=$(member_of "$L")
	[[ -n $LI ]] || fail "no leader to $1"
}

# ---- clusters under QEMU (cabin up -n N) --------------------------------------------------
# The caller sets EP (node I's forwarded client endpoint at EP[I-1]) and ALL (them joined
# with commas).
# cluster_up N [ARGS...]: `cabin up -n N ARGS` in $STATE (killed at exit), its output in
# $TMP/up.out; fails unless every node printed its ready line with its segment address and
# ETCDCTL_ENDPOINTS names N endpoints, which it sets ALL and EP to.
cluster_up() {
	local n=$1 t0=$SECONDS i
	shift
	STATE=$TMP/state
	CLEANUP+=("'$CABIN' kill --state '$STATE' >/dev/null 2>&1")
	note "cabin up -n $n"
	"$CABIN" up -n "$n" --state "$STATE" --image "$IMAGE" --timeout 600 "$@" | tee "$TMP/up.out"
	note "$n nodes ready in $((SECONDS - t0)) s"
	for ((i = 1; i <= n; i++)); do
		grep -Eq "^node$i: cabin: ready version=[^ ]+ hostname=node$i source=config-drive addrs=10\.0\.2\.15,10\.99\.0\.$i$SLAAC boot_ms=[0-9]+$" \
			"$TMP/up.out" || fail "no ready line of node$i with its segment address"
	done
	ALL=$(sed -n 's/^export ETCDCTL_ENDPOINTS=//p' "$TMP/up.out")
	IFS=, read -ra EP <<<"$ALL"
	[[ ${#EP[@]} -eq $n ]] || fail "cabin up printed no ETCDCTL_ENDPOINTS for $n nodes: '$ALL'"
}
# ec I ARGS...: etcdctl through node I.
ec() { local i=$1; shift; etcdctl --endpoints "${EP[i - 1]}" --command-timeout=5s "$@"; }
# statuses: `endpoint status -w json` of the nodes that answer.
statuses() { etcdctl --endpoints "$ALL" --command-timeout=5s endpoint status -w json 2>/dev/null || true; }
# leader_ep: the endpoint of the node that the answering nodes call their leader.
leader_ep() {
	statuses | /usr/bin/python3 -c '
import json, sys
text = sys.stdin.read().strip()
for s in json.loads(text) if text else []:
    st = s["Status"]
    if st["header"]["member_id"] == st["leader"]:
        print(s["Endpoint"])'
}
has_a_leader() { [[ -n $(leader_ep) ]]; }
# leader_node: the number I of the leading node, or fail.
leader_node() {
	local l i
	l=$(leader_ep)
	for i in "${!EP[@]}"; do [[ ${EP[i]} == "$l" ]] && { echo $((i + 1)); return; }; done
	fail "leader endpoint '$l' is none of $ALL"
}
# put_until_accepted KEY NODE...: puts KEY (value try-N) through the nodes in turn until one
# accepts, for 180 s at most; sets TRIES to the puts refused before it.
put_until_accepted() {
	local key=$1 deadline=$((SECONDS + 180))
	shift
	TRIES=0
	until ec "${@:TRIES % $# + 1:1}" put "$key" "try-$TRIES" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "no write accepted by nodes $* within 180 s"
		TRIES=$((TRIES + 1))
		sleep 0.2
	done
}
