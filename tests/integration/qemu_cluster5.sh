# A five-node cluster of the real image under QEMU (`cabin up -n 5`): every node is ready
# with its segment address, the member list names all five, a write through node1 is read
# through node5; then two nodes, the leader among them, are killed at once (a minority of
# five), and the three survivors elect a leader and go on writing without losing the
# write from before; `cabin down` powers the three off cleanly.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
command -v etcdctl >/dev/null || skip "etcdctl is not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"
export ETCDCTL_API=3

cluster_up 5

wait_for 180 "a leader" has_a_leader
has_all_members() {
	ec 3 member list >"$TMP/members" || return 1
	for i in 1 2 3 4 5; do
		grep -q "started, node$i, http://10.99.0.$i:2380, http://10.99.0.$i:2379, false" \
			"$TMP/members" || return 1
	done
}
wait_for 180 "all five nodes in the member list" has_all_members
cat "$TMP/members"

note "a write through node1 is read through node5"
ec 1 put greeting hello-five >/dev/null || fail "put through node1"
[[ $(ec 5 get greeting --print-value-only) == hello-five ]] || fail "node5 does not read node1's write"

lead=$(leader_node)
other=$((lead % 5 + 1))
survivors=()
for i in 1 2 3 4 5; do ((i == lead || i == other)) || survivors+=("$i"); done
note "node$lead leads; killing it and node$other"
t0=$SECONDS
"$CABIN" kill --state "$STATE" "node$lead" "node$other"
put_until_accepted after-kill "${survivors[@]}"
note "write accepted $((SECONDS - t0)) s after the kill began ($TRIES refused before it)"
for k in $(seq 1 10); do
	ec "${survivors[k % 3]}" put "key-$k" "value-$k" >/dev/null || fail "put key-$k"
done
for i in "${survivors[@]}"; do
	[[ $(ec "$i" get key-10 --print-value-only) == value-10 ]] || fail "key-10 through node$i"
	[[ $(ec "$i" get greeting --print-value-only) == hello-five ]] ||
		fail "the write from before the kill is lost at node$i"
done

note "cabin down: the three left power off cleanly"
"$CABIN" down --state "$STATE" --timeout 120 | tee "$TMP/down.out" || fail "cabin down exited $?"
[[ $(grep -c 'powered off cleanly' "$TMP/down.out") -eq 3 ]] || fail "not the three nodes powered off cleanly"
"$CABIN" status --state "$STATE" | tee "$TMP/status"
[[ $(grep -Ec '^node[1-5] +stopped' "$TMP/status") -eq 5 ]] || fail "status after down"
