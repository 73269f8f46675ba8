# Three cabind members on loopback form one cluster from --initial-cluster: one leader, the
# same term everywhere, the member list with every name and URL; a write through any
# member is read through the others. Then kill -9 of the leader while a writer keeps
# writing through the survivors: a new leader, and every acknowledged write is on both
# survivors; the killed member comes back and catches up from the log. A lease kept alive
# through a follower lives past its TTL; one not kept alive expires everywhere. A
# connection to the peer port that never says HELLO is closed after 5 s.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
export ETCDCTL_API=3

cluster_ports 3
for i in 1 2 3; do start_member $i; done
wait_for 30 "every member to follow one leader" all_follow "$ALL"
note "one leader, one term"
status=$(etcdctl --endpoints "$ALL" endpoint status)
echo "$status"
[[ $(awk -F', ' '$5 == "true"' <<<"$status" | wc -l) == 1 ]] || fail "not exactly one leader"
[[ $(awk -F', ' '{ print $7 }' <<<"$status" | sort -u | wc -l) == 1 ]] || fail "terms differ"

note "the member list: names, peer and client URLs"
has_all_members() {
	local list
	list=$(E 1 member list) || return 1
	for i in 1 2 3; do
		grep -q "started, m$i, http://127.0.0.1:${PP[i]}, http://127.0.0.1:${CP[i]}, false" \
			<<<"$list" || return 1
	done
}
wait_for 10 "every member's client URLs in the list" has_all_members
E 2 member list

note "endpoint status --cluster: every member from the list, one leader, one term"
status=$(E 2 endpoint status --cluster) || fail "endpoint status --cluster: $status"
echo "$status"
[[ $(grep -c '^http://127.0.0.1:' <<<"$status") == 3 ]] || fail "not three members"
[[ $(awk -F', ' '$5 == "true"' <<<"$status" | wc -l) == 1 ]] || fail "not exactly one leader"
[[ $(awk -F', ' '{ print $7 }' <<<"$status" | sort -u | wc -l) == 1 ]] || fail "terms differ"

note "writes through each member, read through the others"
value_at() { [[ $(E "$1" get "$2" --print-value-only --consistency=s) == "$3" ]]; }
for i in 1 2 3; do
	E $i put "from$i" "v$i" >/dev/null || fail "put through member $i"
	for j in 1 2 3; do
		wait_for 5 "from$i at member $j" value_at $j "from$i" "v$i"
	done
done

note "leases: kept alive through a follower, expired by the leader"
L=$(leader_of "$ALL" | head -n 1)
LI=$(member_of "$L")
FI=$((LI % 3 + 1))
kept=$(E $FI lease grant 3 | grep -o 'lease [0-9a-f]* granted' | cut -d' ' -f2)
dies=$(E $FI lease grant 3 | grep -o 'lease [0-9a-f]* granted' | cut -d' ' -f2)
E $FI put --lease="$kept" kept yes >/dev/null && E $FI put --lease="$dies" dies yes >/dev/null ||
	fail "puts with leases"
# the keep-alive runs until every check is done: a lease stopped being kept alive expires
# within its TTL, which could fall between the checks
etcdctl --endpoints "$(ep $FI)" lease keep-alive "$kept" >"$TMP/ka.out" 2>&1 &
KA=$!
CLEANUP+=("kill $KA 2>/dev/null")
for i in 1 2 3; do
	wait_for 10 "the key of the expired lease gone at member $i" value_at $i dies ""
done
# kept was granted before dies, so it too is past its first TTL now
for i in 1 2 3; do
	value_at $i kept yes || fail "the key of the lease kept alive through member $FI is gone at $i"
done
kill $KA 2>/dev/null || true	# (it may have stopped: its answers tell)
grep -q "keepalived with TTL(3)" "$TMP/ka.out" || { cat "$TMP/ka.out"; fail "no keepalive answers"; }

if /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	# python-etcd3's refresh sends one keepalive and half-closes: the answer comes first
	ttl=$(/usr/bin/python3 -c '
import sys, etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=5)
l = c.lease(30)
print(l.refresh()[0].TTL)' "${CP[FI]}") || fail "python-etcd3 refresh through member $FI"
	[[ $ttl == 30 ]] || fail "refresh through member $FI answered TTL '$ttl'"
	E $FI endpoint health >/dev/null || fail "member $FI after a keepalive and a half-close"
fi

note "kill -9 of the leader during writes"
L=$(leader_of "$ALL" | head -n 1)
LI=$(member_of "$L")
S1=$((LI % 3 + 1))
S2=$((S1 % 3 + 1))
: >"$TMP/acked"
(
	n=0
	while [[ ! -e $TMP/stop ]]; do
		n=$((n + 1))
		for s in $S1 $S2; do
			if etcdctl --endpoints "$(ep $s)" --command-timeout=1s put "w$n" "$n" \
				>/dev/null 2>&1; then
				echo "w$n" >>"$TMP/acked"
				break
			fi
		done
	done
) &
WRITER=$!
CLEANUP+=("kill $WRITER 2>/dev/null")
wait_for 10 "writes before the kill" test -s "$TMP/acked"
kill -9 "${PID[LI]}"
killed_at=$(wc -l <"$TMP/acked")
new_leader() { local l; l=$(leader_of "$(ep $S1),$(ep $S2)"); [[ -n $l && $l != "$L" ]]; }
wait_for 15 "a new leader" new_leader
more_writes() { (($(wc -l <"$TMP/acked") >= killed_at + 20)); }
wait_for 30 "writes after the new leader" more_writes
touch "$TMP/stop"
wait $WRITER || true
echo "acknowledged writes: $(wc -l <"$TMP/acked") ($killed_at before the kill); new leader $(leader_of "$(ep $S1),$(ep $S2)")"
for s in $S1 $S2; do
	E $s get w --prefix --keys-only --consistency=s | grep -v '^$' | sort >"$TMP/have$s"
	missing=$(sort "$TMP/acked" | comm -23 - "$TMP/have$s" | head -n 5)
	[[ -z $missing ]] || fail "member $s lacks acknowledged writes: $missing"
done

note "the killed member comes back and catches up"
start_member "$LI"
caught_up() {
	E "$LI" get w --prefix --keys-only --consistency=s | grep -v '^$' | sort >"$TMP/back"
	cmp -s "$TMP/back" "$TMP/have$S1"
}
wait_for 30 "member $LI to catch up" caught_up
E "$LI" put back yes >/dev/null || fail "put through the member that came back"
for s in $S1 $S2; do wait_for 5 "the write at member $s" value_at $s back yes; done
etcdctl --endpoints "$ALL" endpoint status -w table

note "a follower restarted with nothing to catch up answers a linearizable read"
L=$(leader_of "$ALL" | head -n 1)
F=$(( $(member_of "$L") % 3 + 1 ))
kill -9 "${PID[F]}"
wait "${PID[F]}" 2>/dev/null || true
start_member "$F"
serving() { E "$F" get back --consistency=s >/dev/null 2>&1; }
wait_for 30 "member $F to serve again" serving
E "$F" get back --print-value-only | grep -qx yes || fail "a linearizable read at the restarted member $F"

note "a connection to the peer port that says no HELLO is closed"
/usr/bin/python3 - "${PP[F]}" <<'PY' || fail "the silent peer connection stayed open"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
t = time.time()
sys.exit("data came" if s.recv(1) else print("closed after %.1f s" % (time.time() - t)))
PY
grep -q "a peer connection closed: no HELLO in 5 s" "$TMP/m$F.log" || fail "no log line for it"
