# Snapshots sent to members the leader's log no longer covers. Three cabind members with
# --snapshot-count 50 (the log is compacted every 50 entries, keeping 50): one member is
# killed, hundreds of writes, a lease, a compaction and a deletion go on without it, and
# when it comes back the leader's log starts after its own. It must take the leader's
# snapshot: its log says it received and installed one, and then its store is the
# leader's (the same keys, the same HashKV at the same revision, the lease), it serves
# writes, and it restarts from the installed state. A member added afterwards, with an
# empty log, starts from a snapshot too.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
export ETCDCTL_API=3

cluster_ports 4
FULL_IC=$IC
IC=$(cut -d, -f1-3 <<<"$FULL_IC")
for i in 1 2 3; do start_member $i --snapshot-count 50; done
THREE="$(ep 1),$(ep 2),$(ep 3)"
wait_for 30 "every member to follow one leader" all_follow "$THREE"
for i in $(seq 1 20); do E 1 put "k$i" "before$i" >/dev/null || fail "put k$i"; done

note "member 3 down while 300 writes, a lease, a compaction and a deletion go on"
kill -9 "${PID[3]}"
wait "${PID[3]}" 2>/dev/null || true
# member 3 may have led: the two others elect a leader first
wait_for 30 "a leader of members 1 and 2" all_follow "$(ep 1),$(ep 2)"
put_many() { # put_many MEMBER FROM TO PREFIX: one etcdctl txn per ten keys
	local i j ops
	for ((i = $2; i <= $3; i += 10)); do
		ops=
		for ((j = i; j < i + 10 && j <= $3; j++)); do ops+="put $4$j v$j"$'\n'; done
		printf '\n%s\n\n' "$ops" | E "$1" txn >/dev/null || return 1
	done
}
for ((b = 1; b <= 300; b += 50)); do put_many 1 $b $((b + 49)) w || fail "writes from $b"; done
for i in $(seq 1 200); do E 2 put hot "$i" >/dev/null || fail "put hot $i"; done
lease=$(E 1 lease grant 600 | grep -o 'lease [0-9a-f]* granted' | cut -d' ' -f2)
E 1 put --lease="$lease" leased yes >/dev/null || fail "put with the lease"
E 1 del k1 >/dev/null || fail "delete k1"
rev=$(E 1 get hot -w json | grep -o '"revision":[0-9]*' | head -n 1 | cut -d: -f2)
E 1 compact "$((rev - 5))" >/dev/null || fail "compact"
grep -q "kv: raft: sending a snapshot" "$TMP/m1.log" "$TMP/m2.log" &&
	fail "a snapshot was sent while every member was up"

note "member 3 comes back: it takes the leader's snapshot"
start_member 3 --snapshot-count 50
installed() { grep -q "kv: installed the leader's snapshot" "$TMP/m3.log"; }
wait_for 60 "member 3 to install a snapshot" installed
grep "kv: raft: sending a snapshot" "$TMP/m1.log" "$TMP/m2.log" | head -n 3
grep "kv: raft: received a snapshot\|kv: installed the leader's snapshot" "$TMP/m3.log"
same_keys() {
	local a b
	a=$(E 1 get "" --prefix --consistency=s -w json | grep -o '"count":[0-9]*')
	b=$(E 3 get "" --prefix --consistency=s -w json 2>/dev/null | grep -o '"count":[0-9]*')
	[[ -n $a && $a == "$b" ]]
}
wait_for 30 "member 3 to hold every key" same_keys
E 3 get k1 --consistency=s --print-value-only | grep -q . && fail "k1, deleted, is back at member 3"
[[ $(E 3 get w300 --consistency=s --print-value-only) == v300 ]] || fail "w300 at member 3"
[[ $(E 3 get hot --consistency=s --print-value-only) == 200 ]] || fail "hot at member 3"
E 3 lease list | grep -q "$lease" || fail "the lease is not at member 3"
E 3 lease timetolive "$lease" --keys | grep -q "leased" || fail "the lease's key at member 3"

note "the same store: HashKV at the same revision"
rev=$(E 1 get hot -w json | grep -o '"revision":[0-9]*' | head -n 1 | cut -d: -f2)
hash_at() { etcdctl --endpoints "$(ep "$1")" endpoint hashkv --rev "$rev" -w json | grep -o '"hash":[0-9]*'; }
h1=$(hash_at 1)
wait_for 10 "member 3's hash" eval '[[ -n $(hash_at 3) ]]'
[[ $(hash_at 3) == "$h1" && $(hash_at 2) == "$h1" ]] ||
	fail "HashKV at $rev differs: m1 $h1, m2 $(hash_at 2), m3 $(hash_at 3)"

note "member 3 serves writes, and restarts from the installed state"
E 3 put after yes >/dev/null || fail "put through member 3"
for i in 1 2; do
	wait_for 5 "the write at member $i" eval '[[ $(E '$i' get after --consistency=s --print-value-only) == yes ]]'
done
kill -9 "${PID[3]}"
wait "${PID[3]}" 2>/dev/null || true
start_member 3 --snapshot-count 50
wait_for 30 "member 3 to serve after a restart" same_keys
wait_for 30 "every member to follow one leader" all_follow "$THREE"
[[ $(E 3 get after --print-value-only) == yes ]] || fail "a linearizable read at member 3"

note "a new member, its log empty, starts from a snapshot"
E 1 member add m4 --peer-urls="http://127.0.0.1:${PP[4]}" >/dev/null || fail "member add"
IC=$FULL_IC
start_member 4 --snapshot-count 50 --initial-cluster-state existing
installed4() { grep -q "kv: installed the leader's snapshot" "$TMP/m4.log"; }
wait_for 60 "member 4 to install a snapshot" installed4
wait_for 30 "member 4 to hold every key" eval '[[ $(E 4 get "" --prefix --consistency=s -w json | grep -o "\"count\":[0-9]*") == $(E 1 get "" --prefix --consistency=s -w json | grep -o "\"count\":[0-9]*") ]]'
# restarted to take the snapshot, it hears from the leader again within a heartbeat or a
# reconnection's pause: until then it answers "no leader", as etcd does
put4() { E 4 put from4 yes >/dev/null 2>&1; }
wait_for 30 "a put through member 4" put4
[[ $(E 4 member list | grep -c started) == 4 ]] || fail "member 4 does not list four started members"
etcdctl --endpoints "$THREE,$(ep 4)" endpoint status -w table
