# Linearizability under faults: six python3-etcd3 clients put, get (linearizable) and
# compare-and-set four keys through the three members of a cabind cluster for 20 s while
# the leader is killed (kill -9) and brought back, a follower is killed and brought back,
# and then the leader is paused (SIGSTOP) for 4 s, long enough for the others to elect
# another, and resumed: it still takes itself for the leader, and the reads its clients
# left with it must not be answered from its stale state. The history is checked by lincheck.py (Wing & Gong search, written here); any
# violation fails the test. The checker's own self-test runs first: histories known to be
# linearizable or not must be judged so.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
/usr/bin/python3 -c 'import etcd3' 2>/dev/null || skip "python3-etcd3 is not installed"
export ETCDCTL_API=3

note "the checker judges known histories right"
/usr/bin/python3 tests/integration/lincheck.py --selftest || fail "lincheck.py's self-test"

cluster_ports 3
for i in 1 2 3; do start_member $i; done
wait_for 30 "a leader" has_leader "$ALL"

note "20 s of concurrent clients; the leader, then a follower killed and brought back; the leader paused"
/usr/bin/python3 tests/integration/kv_linear.py "$TMP/history" 20 $(ep 1) $(ep 2) $(ep 3) \
	>"$TMP/clients.out" 2>&1 &
CLIENTS=$!
CLEANUP+=("kill $CLIENTS 2>/dev/null")
sleep 3
leader_member kill
echo "killing the leader, member $LI"
kill -9 "${PID[LI]}"
sleep 3
start_member "$LI"
sleep 2
F=$((LI % 3 + 1))
[[ $(leader_of "$ALL" | head -n 1) == "$(ep $F)" ]] && F=$((F % 3 + 1))
echo "killing a follower, member $F"
kill -9 "${PID[F]}"
sleep 2
start_member "$F"
sleep 2
leader_member pause
echo "pausing the leader, member $LI, for 4 s"
kill -STOP "${PID[LI]}"
CLEANUP+=("kill -CONT ${PID[LI]} 2>/dev/null")
sleep 4
kill -CONT "${PID[LI]}"
wait $CLIENTS || { cat "$TMP/clients.out"; fail "the clients failed"; }
cat "$TMP/clients.out"
answered=$(grep -o '^[0-9]*' "$TMP/clients.out")
((answered >= 100)) || fail "only $answered operations answered: too few to tell"

note "checking the history"
cp "$TMP/history" build/test/logs/kv_linear.history 2>/dev/null || true
rc=0
/usr/bin/python3 tests/integration/lincheck.py "$TMP/history" || rc=$?
case $rc in
0) ;;
1) fail "not linearizable (history in build/test/logs/kv_linear.history)" ;;
2) fail "the checker could not decide (history in build/test/logs/kv_linear.history)" ;;
*) fail "the checker failed with status $rc (history in build/test/logs/kv_linear.history)" ;;
esac
