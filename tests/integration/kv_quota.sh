# --quota-backend-bytes against etcd 3.4, same script, outputs compared: puts of 1 KiB go
# in until the store would pass the quota, then the put fails with etcd's error and the
# NOSPACE alarm is raised; puts, txns with puts and lease grants are refused and reads
# work; the alarm is still raised after a restart; after delete, compaction, defrag and
# `alarm disarm` puts work again. A damaged alarms file stops cabind's start-up with the
# file and line named.
source tests/integration/lib.sh

command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd is not installed"
export ETCDCTL_API=3
QUOTA=200000
VAL=$(head -c 1024 /dev/zero | tr '\0' v)

# try CMD...: its output, or its error as etcdctl prints it (the command may fail)
try() { { "$@" 2>&1 || true; } | sed '/"level":"warn"/d; s/.*Error: //; s/memberID:[0-9]*/memberID:M/'; }

# fill NAME PORT: the scenario's first half against one server; output in $TMP/NAME.1
fill() {
	local e=(etcdctl --endpoints "127.0.0.1:$2") i out
	for ((i = 0; i < 2000; i++)); do
		out=$("${e[@]}" put "k$i" "$VAL" 2>&1) || break
	done
	((i > 20 && i < 2000)) || fail "$1: the quota stopped puts after $i"
	{
		echo "put failed: ${out#*Error: }"
		try "${e[@]}" alarm list
		try "${e[@]}" put more x
		try "${e[@]}" txn <<<$'\nput t x\n\n'
		try "${e[@]}" lease grant 60
		"${e[@]}" get k0 --print-value-only | wc -c
	} >"$TMP/$1.1"
	echo "$1: $i puts before NOSPACE" >&2
}
# after a restart: the alarm holds; then it is cleared
clear_it() {
	local e=(etcdctl --endpoints "127.0.0.1:$2")
	{
		try "${e[@]}" alarm list
		try "${e[@]}" put more x
		"${e[@]}" del --prefix k | grep -c .
		rev=$("${e[@]}" endpoint status -w json | grep -o '"revision":[0-9]*' | cut -d: -f2)
		"${e[@]}" compact "$rev" >/dev/null && echo compacted
		"${e[@]}" defrag | sed 's/member\[[^]]*\]/member[ADDR]/'
		try "${e[@]}" alarm disarm
		try "${e[@]}" put more x
		try "${e[@]}" alarm list
	} >"$TMP/$1.2"
}

start_etcd_ref --quota-backend-bytes "$QUOTA"
fill etcd "$P_ETCD"
pkill -f -- "--data-dir $TMP/etcd" || true
sleep 1
start_etcd_ref --quota-backend-bytes "$QUOTA"
clear_it etcd "$P_ETCD"

start_cabind_kv
kill "$CABIND_PID"
wait "$CABIND_PID" 2>/dev/null || true
# the quota flag is cabind's own too; start_cabind_kv passes none, so start by hand
cabind_q() {
	P_CABIN=$(free_port)
	"$CABIND" --name ref --data-dir "$TMP/cabind" --quota-backend-bytes "$QUOTA" \
		--listen-client-urls "http://127.0.0.1:$P_CABIN" >>"$TMP/cabind.out" 2>"$TMP/cabind.log" &
	CABIND_PID=$!
	CLEANUP+=("kill $CABIND_PID 2>/dev/null")
	wait_for 30 "cabind" grep -q 'cabin: ready' "$TMP/cabind.log"
}
cabind_q
fill cabind "$P_CABIN"
grep -q 'would pass --quota-backend-bytes' "$TMP/cabind.log" || fail "no quota line in the log"
kill "$CABIND_PID"
wait "$CABIND_PID" 2>/dev/null || true
cabind_q
grep -q 'alarm(s) raised before the restart are still raised' "$TMP/cabind.log" ||
	fail "the restart did not say the alarm holds"
clear_it cabind "$P_CABIN"

for part in 1 2; do
	diff -u "$TMP/etcd.$part" "$TMP/cabind.$part" || fail "cabind differs from etcd (part $part)"
done
grep -q 'database space exceeded' "$TMP/cabind.1" || fail "no NOSPACE error"
grep -q 'alarm:NOSPACE' "$TMP/cabind.2" || fail "the alarm did not survive the restart"
echo "PASS: quota, NOSPACE and its alarm as etcd's, across a restart"

# a damaged alarms file stops start-up, naming it
kill "$CABIND_PID"
wait "$CABIND_PID" 2>/dev/null || true
echo "not an alarm" >>"$TMP/cabind/member/alarms"
if "$CABIND" --name ref --data-dir "$TMP/cabind" --listen-client-urls http://127.0.0.1:0 \
	>/dev/null 2>"$TMP/bad.log"; then
	fail "cabind started with a damaged alarms file"
fi
grep -q "member/alarms:1: expected" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no file:line"; }
echo "PASS: a damaged alarms file is named with its line"
