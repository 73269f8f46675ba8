# A network partition, made with network namespaces: three cabind members, each in its
# own namespace on a bridge (10.77.0.0/24). The leader's link goes down, leaving it alone:
# it cannot write, and it serves no linearizable read (while the majority elects a new
# leader and writes a newer value, the old one must not come back from it); serializable
# reads there still answer, from what it has. The link comes back: the old leader steps
# down and catches up from the log.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
command -v ip >/dev/null || skip "iproute2 is not installed"
export ETCDCTL_API=3
NS=cabpart$$
ip netns add "${NS}br" 2>/dev/null || skip "cannot make network namespaces (not root?)"
CLEANUP+=("ip netns del ${NS}br")
ip -n "${NS}br" link add br0 type bridge
ip -n "${NS}br" link set br0 up
for i in 1 2 3; do
	ip netns add "$NS$i"
	CLEANUP+=("ip netns del $NS$i")
	ip link add "v$i" netns "$NS$i" type veth peer name "p$i" netns "${NS}br"
	ip -n "$NS$i" addr add "10.77.0.$i/24" dev "v$i"
	ip -n "$NS$i" link set "v$i" up
	ip -n "$NS$i" link set lo up
	ip -n "${NS}br" link set "p$i" master br0 up
done

IC="m1=http://10.77.0.1:2380,m2=http://10.77.0.2:2380,m3=http://10.77.0.3:2380"
declare -a PID
for i in 1 2 3; do
	ip netns exec "$NS$i" "$CABIND" --name "m$i" --data-dir "$TMP/m$i" \
		--listen-client-urls "http://10.77.0.$i:2379" \
		--advertise-client-urls "http://10.77.0.$i:2379" \
		--listen-peer-urls "http://10.77.0.$i:2380" \
		--initial-advertise-peer-urls "http://10.77.0.$i:2380" \
		--initial-cluster "$IC" >"$TMP/m$i.out" 2>"$TMP/m$i.log" &
	PID[i]=$!
	CLEANUP+=("kill -9 ${PID[i]} 2>/dev/null")
done
# X I ARGS...: etcdctl inside member I's namespace, against member I
X() {
	local i=$1
	shift
	ip netns exec "$NS$i" etcdctl --endpoints "10.77.0.$i:2379" --command-timeout=2s "$@"
}
leader() {
	local i
	for i in 1 2 3; do
		X "$i" endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { found = 1 } END { exit !found }' &&
			echo "$i"
	done
	true
}
one_leader() { [[ $(leader | wc -l) == 1 ]]; }
wait_for 30 "a leader" one_leader
L=$(leader)
A=$((L % 3 + 1))
B=$((A % 3 + 1))
# member A may not have heard from the new leader yet ("no leader"): the same put again
wait_for 10 "a put through member $A before the partition" X "$A" put k old
caught() { [[ $(X "$1" get k --consistency=s --print-value-only) == "$2" ]]; }
wait_for 5 "the old value at the leader" caught "$L" old

note "the leader, member $L, is cut off"
ip -n "${NS}br" link set "p$L" down
majority_writes() { X "$A" put k new >/dev/null 2>&1; }
wait_for 15 "a write through the majority" majority_writes
X "$B" get k --print-value-only | grep -qx new || fail "the majority does not read the new value"
expect_fail 1 "" ip netns exec "$NS$L" etcdctl --endpoints "10.77.0.$L:2379" \
	--command-timeout=2s put k minority
out=$(X "$L" get k --print-value-only 2>&1) && fail "a linearizable read at the cut-off member answered: '$out'"
echo "linearizable read at the cut-off member: refused ($(tail -n 1 <<<"$out"))"
[[ $(X "$L" get k --consistency=s --print-value-only) == old ]] ||
	fail "a serializable read at the cut-off member does not answer from what it has"

note "the link comes back: the old leader steps down and catches up"
ip -n "${NS}br" link set "p$L" up
wait_for 15 "member $L to catch up" caught "$L" new
wait_for 15 "one leader" one_leader
[[ $(leader) != "$L" ]] || fail "the cut-off member leads again at once"
X "$L" put k healed >/dev/null || fail "a write through the healed member"
for i in 1 2 3; do wait_for 5 "the write at member $i" caught "$i" healed; done
for i in 1 2 3; do X "$i" endpoint status; done
