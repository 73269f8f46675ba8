# Membership changes under load: while a writer keeps putting through every member that
# is in the cluster (each write acknowledged or not), a member is added and started, a
# learner is added, started and promoted, a follower is removed and then the leader is
# removed. Afterwards every acknowledged write is on every remaining member, they hold
# the same store (HashKV at the same revision), and the member list is what the changes
# made it. The removed members stop serving, and one started again refuses to. --snapshot-count 100 keeps the logs short: members catch up by log or by a
# snapshot, whichever the leader still has.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
export ETCDCTL_API=3

cluster_ports 5
FULL_IC=$IC
IC=$(cut -d, -f1-3 <<<"$FULL_IC")
for i in 1 2 3; do start_member $i --snapshot-count 100; done
wait_for 30 "every member to follow one leader" all_follow "$(ep 1),$(ep 2),$(ep 3)"

# the members the writer goes through, one number per line
echo $'1\n2\n3' >"$TMP/in"
: >"$TMP/acked"
(
	n=0
	while [[ ! -e $TMP/stop ]]; do
		n=$((n + 1))
		for s in $(shuf "$TMP/in"); do
			if etcdctl --endpoints "$(ep "$s")" --command-timeout=2s put "w$n" "$n" \
				>/dev/null 2>&1; then
				echo "w$n" >>"$TMP/acked"
				break
			fi
		done
	done
) &
WRITER=$!
CLEANUP+=("kill $WRITER 2>/dev/null")
acked() { wc -l <"$TMP/acked"; }
more() { local want=$(($1 + 20)); (($(acked) >= want)); }
wait_for 20 "writes" more 0

id_of() { E "$1" member list | awk -F', ' -v n="m$2" '$3 == n { print $1 }'; }
live() { tr '\n' ' ' <"$TMP/in"; }
any() { head -n 1 "$TMP/in"; }

note "member 4 added and started during the writes"
E "$(any)" member add m4 --peer-urls="http://127.0.0.1:${PP[4]}" >/dev/null || fail "member add m4"
IC=$(cut -d, -f1-4 <<<"$FULL_IC")
start_member 4 --snapshot-count 100 --initial-cluster-state existing
serves() { E "$1" get w1 --consistency=s --print-value-only | grep -qx 1; }
wait_for 30 "member 4 to catch up" serves 4
echo 4 >>"$TMP/in"
a=$(acked); wait_for 20 "writes after adding member 4" more "$a"

note "a learner, member 5, added, started and promoted during the writes"
E "$(any)" member add m5 --peer-urls="http://127.0.0.1:${PP[5]}" --learner >/dev/null ||
	fail "member add m5 --learner"
IC=$FULL_IC
start_member 5 --snapshot-count 100 --initial-cluster-state existing
wait_for 30 "member 5 to catch up" serves 5
id5=$(id_of 1 5)
promoted() { E "$(any)" member promote "$id5" >/dev/null 2>&1; }
wait_for 30 "member 5 to be promoted" promoted
echo 5 >>"$TMP/in"
a=$(acked); wait_for 20 "writes after promoting member 5" more "$a"

note "a follower removed during the writes"
L=$(leader_of "$(for i in $(live); do printf '%s,' "$(ep "$i")"; done)" | head -n 1)
LI=$(member_of "$L")
F=$(grep -vx "$LI" "$TMP/in" | head -n 1)
grep -vx "$F" "$TMP/in" >"$TMP/in.new" && mv "$TMP/in.new" "$TMP/in"
E "$LI" member remove "$(id_of "$LI" "$F")" >/dev/null || fail "member remove m$F"
a=$(acked); wait_for 20 "writes after removing member $F" more "$a"

note "the leader removed during the writes"
grep -vx "$LI" "$TMP/in" >"$TMP/in.new" && mv "$TMP/in.new" "$TMP/in"
E "$(any)" member remove "$(id_of "$(any)" "$LI")" >/dev/null || fail "member remove m$LI (the leader)"
new_leader() { local l; l=$(leader_of "$(for i in $(live); do printf '%s,' "$(ep "$i")"; done)"); [[ -n $l && $l != "$L" ]]; }
wait_for 20 "a new leader" new_leader
a=$(acked); wait_for 30 "writes after removing the leader" more "$a"
touch "$TMP/stop"
wait "$WRITER" || true
echo "acknowledged writes: $(acked); members now: $(live)"

note "every acknowledged write on every remaining member; the same store"
sort "$TMP/acked" >"$TMP/acked.sorted"
last=$(tail -n 1 "$TMP/acked")
for s in $(live); do
	wait_for 20 "the last write at member $s" eval "E $s get $last --consistency=s --print-value-only | grep -q ."
	E "$s" get w --prefix --keys-only --consistency=s | grep -v '^$' | sort >"$TMP/have$s"
	missing=$(comm -23 "$TMP/acked.sorted" "$TMP/have$s" | head -n 5)
	[[ -z $missing ]] || fail "member $s lacks acknowledged writes: $missing"
done
rev=$(E "$(any)" get "$last" -w json | grep -o '"revision":[0-9]*' | head -n 1 | cut -d: -f2)
h=
for s in $(live); do
	hs=$(etcdctl --endpoints "$(ep "$s")" endpoint hashkv --rev "$rev" -w json | grep -o '"hash":[0-9]*')
	[[ -n $hs ]] || fail "no HashKV from member $s"
	[[ -z $h || $hs == "$h" ]] || fail "HashKV at $rev differs at member $s: $hs, not $h"
	h=$hs
done

note "the member list: the three that remain, all voters"
list=$(E "$(any)" member list)
echo "$list"
[[ $(grep -c ', started, ' <<<"$list") == 3 ]] || fail "not three members"
grep -q ', true$' <<<"$list" && fail "a learner remains"
for s in $F $LI; do grep -q ", m$s, " <<<"$list" && fail "m$s is still listed"; done
for s in $(live); do grep -q ", m$s, " <<<"$list" || fail "m$s is not listed"; done

note "the removed members stop serving, and do not start again"
for s in $F $LI; do
	grep -q "kv: this member was removed from the cluster" "$TMP/m$s.log" ||
		fail "member $s did not say it was removed"
	gone() { ! etcdctl --endpoints "$(ep "$1")" --command-timeout=1s endpoint health >/dev/null 2>&1; }
	wait_for 10 "member $s to stop serving" gone "$s"
done
kill -9 "${PID[F]}"
wait "${PID[F]}" 2>/dev/null || true
start_member "$F"
wait "${PID[F]}" && fail "removed member $F started again"
grep "was removed from the cluster: start it" "$TMP/m$F.log" || fail "no reason given for not starting"
true
