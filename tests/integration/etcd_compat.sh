# etcdctl 3.4 against etcd 3.4 and against cabind, the same commands in the same order on
# empty stores: the outputs, normalised only where members legitimately differ (cluster
# and member ids, raft term), must be identical.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl not installed (Debian etcd-client)"
export ETCDCTL_API=3

start_etcd_ref
start_cabind_kv

# ctl ENDPOINT ARGS...: etcdctl, stdout and stderr together, without the client's own
# retry warnings (they carry times and addresses)
ctl() {
	local ep=$1
	shift
	etcdctl --endpoints "$ep" --command-timeout=5s "$@" 2>&1 | grep -v '^{"level":' || true
}

# norm: ids that differ between members by design
norm() {
	sed -E 's/"(cluster_id|member_id|raft_term)":[0-9]+/"\1":0/g'
}

script() {
	local ep=$1
	echo "== put and get"
	ctl "$ep" put foo bar
	ctl "$ep" put foo2 bar2
	ctl "$ep" put foo3 bar3
	ctl "$ep" put zoo zar
	ctl "$ep" put --prev-kv foo bar-again
	ctl "$ep" get foo
	ctl "$ep" get --prefix foo
	ctl "$ep" get --from-key foo2
	ctl "$ep" get --prefix --limit 2 foo
	ctl "$ep" get --prefix --sort-by=KEY --order=DESCEND foo
	ctl "$ep" get --prefix --sort-by=MODIFY --order=ASCEND foo
	ctl "$ep" get --prefix --keys-only foo
	ctl "$ep" get --prefix --print-value-only foo
	ctl "$ep" get --rev 2 foo
	ctl "$ep" get -w json foo | norm
	ctl "$ep" get nothing-here
	ctl "$ep" get --prefix -w json foo | norm
	echo "== delete"
	ctl "$ep" del --prev-kv foo3
	ctl "$ep" del nothing-here
	ctl "$ep" del --prefix fo
	ctl "$ep" get --prefix ""
	echo "== txn"
	printf 'value("zoo") = "zar"\n\nput zoo won\nget zoo\n\nput zoo lost\n\n' | ctl "$ep" txn -i
	printf 'mod("zoo") < "3"\n\nput x 1\n\nput y 2\nget zoo\n\n' | ctl "$ep" txn -i -w json | norm
	echo "== compaction"
	ctl "$ep" put c 1
	ctl "$ep" put c 2
	ctl "$ep" compaction 9
	ctl "$ep" get --rev 3 zoo
	ctl "$ep" get --rev 99 zoo
	ctl "$ep" compaction 5
	ctl "$ep" get c -w json | norm
}

script "127.0.0.1:$P_ETCD" >"$TMP/etcd.txt"
script "127.0.0.1:$P_CABIN" >"$TMP/cabind.txt"
# KEEP_OUT=DIR keeps both transcripts for a look after the test
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind answers etcdctl differently from etcd 3.4"
note "$(grep -c . "$TMP/etcd.txt") lines of etcdctl output identical"

note "endpoint health, status, hashkv and member list"
ctl "127.0.0.1:$P_CABIN" endpoint health | grep -q '127.0.0.1:[0-9]* is healthy: successfully committed proposal' ||
	fail "endpoint health"
ctl "127.0.0.1:$P_CABIN" endpoint status -w json >"$TMP/status.json"
python3 - "$TMP/status.json" <<'PY' || fail "endpoint status"
import json, sys
s = json.load(open(sys.argv[1]))[0]["Status"]
assert s["version"] == "3.4.0", s
assert s["leader"] == s["header"]["member_id"], s
assert s["header"]["revision"] == 12 and s["raftIndex"] >= 12, s
PY
# the same history hashes the same on both
h_etcd=$(ctl "127.0.0.1:$P_ETCD" endpoint hashkv -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["HashKV"]["hash"])')
h_cabin=$(ctl "127.0.0.1:$P_CABIN" endpoint hashkv -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["HashKV"]["hash"])')
[[ -n $h_etcd && $h_etcd == "$h_cabin" ]] || fail "hashkv: etcd $h_etcd, cabind $h_cabin"
ctl "127.0.0.1:$P_CABIN" member list | grep -Eq '^[0-9a-f]+, started, ref, http://localhost:2380, http://localhost:2379, false$' ||
	{ ctl "127.0.0.1:$P_CABIN" member list; fail "member list"; }

note "snapshot save"
# etcdctl's own checks (size % 512 == 32) pass on both; the stream's shape is etcd's: the
# bytes remaining after each piece, then remaining 0 with the SHA-256 of everything sent
for ep in "127.0.0.1:$P_ETCD" "127.0.0.1:$P_CABIN"; do
	ctl "$ep" snapshot save "$TMP/snap.db" 2>/dev/null | grep -q "^Snapshot saved at $TMP/snap.db$" ||
		fail "snapshot save from $ep"
	/usr/bin/python3 - "$TMP/snap.db" "${ep#*:}" <<'PY' || fail "snapshot from $ep"
import hashlib, sys, etcd3
from etcd3.etcdrpc import rpc_pb2 as pb
d = open(sys.argv[1], "rb").read()
assert len(d) % 512 == 32 and hashlib.sha256(d[:-32]).digest() == d[-32:], len(d)
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[2]))
rs = [(r.remaining_bytes, len(r.blob)) for r in c.maintenancestub.Snapshot(pb.SnapshotRequest(), 10)]
total = sum(n for _, n in rs[:-1])
left = total
for rem, n in rs[:-1]:
    left -= n
    assert rem == left, rs
assert rs[-1] == (0, 32) and total % 512 == 0, rs
PY
done
grep -q '^cabinSNP' "$TMP/snap.db" || fail "cabind's snapshot is not in its own format"

note "move-leader (one member: to itself only), defrag gives the compacted log's disk back"
for ep in "127.0.0.1:$P_ETCD" "127.0.0.1:$P_CABIN"; do
	id=$(ctl "$ep" member list | cut -d, -f1)
	ctl "$ep" move-leader "$id" | grep -q "^Leadership transferred from $id to $id$" ||
		fail "move-leader to itself on $ep"
	ctl "$ep" move-leader 1234 2>&1 | grep -q '^Error: etcdserver: bad leader transferee$' ||
		fail "move-leader to a stranger on $ep"
done
big=$(head -c 3000 /dev/zero | tr '\0' b)
for i in $(seq 40); do ctl "127.0.0.1:$P_CABIN" put "big$i" "$big" >/dev/null; done
ctl "127.0.0.1:$P_CABIN" del --prefix big >/dev/null
rev=$(ctl "127.0.0.1:$P_CABIN" endpoint status -w json | grep -o '"revision":[0-9]*' | cut -d: -f2)
ctl "127.0.0.1:$P_CABIN" compaction "$rev" >/dev/null
before=$(du -sk "$TMP/cabind/member" | cut -f1)
ctl "127.0.0.1:$P_CABIN" defrag >/dev/null || fail "defrag"
after=$(du -sk "$TMP/cabind/member" | cut -f1)
((after + 60 < before)) || fail "defrag kept the disk: ${before} KiB before, ${after} KiB after"
# and the files the snapshot replaced are closed, not kept open for their values
if ls -l "/proc/$CABIND_PID/fd" | grep -q '(deleted)'; then
	ls -l "/proc/$CABIND_PID/fd"
	fail "cabind keeps deleted log files open after a snapshot"
fi
