# Leases: the same etcdctl 3.4 lease scenario on etcd 3.4 and on cabind (grant, put
# --lease, timetolive --keys, list, keep-alive, revoke, expiry of a minimum-TTL lease, the
# errors for unknown leases), outputs diffed with lease ids mapped to L1, L2... in order of
# appearance; then python3-etcd3 (lease, put with a lease, refresh, revoke, lock) on both.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl not installed (Debian etcd-client)"
export ETCDCTL_API=3

start_etcd_ref
start_cabind_kv

# ctl ENDPOINT ARGS...: etcdctl, stdout and stderr together, without the client's retry
# warnings (they carry times and addresses)
ctl() {
	local ep=$1
	shift
	timeout 20 etcdctl --endpoints "$ep" --command-timeout=5s "$@" 2>&1 | grep -v '^{"level":' || true
}
# the id (hex) in "lease ID granted with TTL(...)"
grant() { ctl "$1" lease grant "$2" | awk '/granted/ { print $2 }'; }

# norm: what differs by design: member ids, raft term, and the remaining seconds of a
# TTL (checked on their own below), plus the random order of etcd's attached keys
norm() {
	sed -E -e 's/"(cluster_id|member_id|raft_term)":[0-9]+/"\1":0/g' \
		-e 's/remaining\([0-9]+s\)/remaining(Rs)/; s/"ttl":[0-9]+,"granted/"ttl":R,"granted/' \
		-e 's/\[([^]]*)\]\)$/[\n\1\n])/' | awk '
		/\[$/ { print; inkeys = 1; next }
		inkeys { n = split($0, k, " "); for (i = 1; i <= n; i++) print "  " k[i] | "sort"; close("sort"); inkeys = 0; next }
		{ print }'
}

script() {
	local ep=$1 l1 l2 l3
	echo "== grant"
	l1=$(grant "$ep" 600)
	l2=$(grant "$ep" 300)
	echo "granted $l1 $l2"
	l3=$(ctl "$ep" lease grant 1)	# raised to the minimum TTL
	echo "$l3"
	ctl "$ep" lease revoke "$(echo "$l3" | awk '{ print $2 }')"
	ctl "$ep" lease grant 9000000001
	echo "== put --lease"
	ctl "$ep" put --lease="$l1" lk1 v1
	ctl "$ep" put --lease="$l1" lk2 v2
	ctl "$ep" put --lease="$l1" lk4 v4
	ctl "$ep" put --lease="$l2" lk3 v3
	ctl "$ep" put lk2 no-lease-now	# leaves l1
	ctl "$ep" put --lease="$l2" lk1 moved	# from l1 to l2
	ctl "$ep" get --prefix lk -w json | norm
	echo "== timetolive"
	ctl "$ep" lease timetolive "$l1" | norm
	ctl "$ep" lease timetolive --keys "$l1" | norm
	ctl "$ep" lease timetolive --keys "$l2" | norm
	ctl "$ep" lease timetolive -w json "$l2" | norm
	echo "== list"
	ctl "$ep" lease list
	echo "== keep-alive"
	ctl "$ep" lease keep-alive --once "$l2"
	ctl "$ep" lease keep-alive --once -w json "$l2" | norm
	echo "== txn with a lease"
	printf '\nput --lease=%s lk5 in-txn\n\n\n' "$l2" | ctl "$ep" txn -i
	printf '\nput --lease=1234 lk6 unknown\n\n\n' | ctl "$ep" txn -i
	ctl "$ep" del lk4	# leaves l1 by deletion
	ctl "$ep" lease timetolive --keys "$l1" | norm
	echo "== revoke"
	ctl "$ep" get lk3 -w json | norm
	ctl "$ep" lease revoke "$l2"
	ctl "$ep" get --prefix lk
	ctl "$ep" get lk3 -w json | norm	# the revision moved by one for three keys
	ctl "$ep" lease revoke "$l2"
	ctl "$ep" lease timetolive "$l2"
	echo "== unknown leases"
	ctl "$ep" put --lease=1234 x y
	ctl "$ep" lease revoke 1234
	ctl "$ep" lease timetolive 1234
	ctl "$ep" lease timetolive -w json 1234 | norm
	ctl "$ep" lease keep-alive --once 1234
	echo "== expiry"
	l3=$(grant "$ep" 1)
	ctl "$ep" put --lease="$l3" short-lived 1
	ctl "$ep" lease timetolive --keys "$l3" | norm
	local deadline=$((SECONDS + 15))
	while [[ -n $(ctl "$ep" get --print-value-only short-lived) ]]; do
		((SECONDS < deadline)) || { echo "short-lived never expired"; break; }
		sleep 0.2
	done
	ctl "$ep" get short-lived -w json | norm
	ctl "$ep" lease timetolive "$l3"
	ctl "$ep" lease list
	ctl "$ep" lease revoke "$l1"
	ctl "$ep" lease list
}

# ids: each lease id (16 hex digits, or 4660 = 0x1234 in JSON) as L1, L2... in order of
# first appearance, decimal ids too
ids() {
	python3 -c '
import re, sys
seen = {}
def name(v):
    return seen.setdefault(v, "L%d" % (len(seen) + 1))
def hexid(m):
    return name(int(m.group(0), 16))
def decid(m):
    return m.group(1) + name(int(m.group(2))) + m.group(3)
for line in sys.stdin:
    line = re.sub(r"\b[0-9a-f]{16}\b", hexid, line)
    line = re.sub(r"(\"(?:ID|id|lease)\":)(\d{5,})([,}])", decid, line)
    sys.stdout.write(line)
'
}

script "127.0.0.1:$P_ETCD" | ids >"$TMP/etcd.txt"
script "127.0.0.1:$P_CABIN" | ids >"$TMP/cabind.txt"
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind answers etcdctl's lease commands differently from etcd 3.4"
grep -q 'granted with TTL(2s)' "$TMP/cabind.txt" || fail "lease grant 1: not raised to 2 s"
grep -q 'never expired' "$TMP/cabind.txt" && fail "the short lease never expired"
note "$(grep -c . "$TMP/etcd.txt") lines of etcdctl lease output identical"

note "remaining TTLs as etcd counts them (truncated: 599 just after a grant of 600)"
for ep in "127.0.0.1:$P_ETCD" "127.0.0.1:$P_CABIN"; do
	id=$(grant "$ep" 600)
	out=$(ctl "$ep" lease timetolive "$id")
	[[ $out =~ remaining\((59[0-9])s\) ]] || fail "$ep: $out"
	ctl "$ep" lease revoke "$id" >/dev/null
done

note "lease keep-alive: one stream, renewed until stopped, the keys stay"
id=$(grant "127.0.0.1:$P_CABIN" 2)
ctl "127.0.0.1:$P_CABIN" put --lease="$id" kept 1 >/dev/null
timeout 6 etcdctl --endpoints "127.0.0.1:$P_CABIN" lease keep-alive "$id" >"$TMP/ka.out" 2>&1 || true
n=$(grep -c "lease $id keepalived with TTL(2)" "$TMP/ka.out" || true)
((n >= 3)) || { cat "$TMP/ka.out"; fail "keep-alive: $n answers in 6 s"; }
[[ $(ctl "127.0.0.1:$P_CABIN" get --print-value-only kept) == 1 ]] || fail "kept key gone while kept alive"
note "$n keep-alive answers; the key outlived its 2 s TTL"

note "python3-etcd3: lease, put with a lease, refresh, revoke, lock"
cat >"$TMP/py.py" <<'PY'
import sys, time
import etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]))
l = c.lease(30)
print("granted", l.granted_ttl)
c.put("/py/a", "1", lease=l)
c.put("/py/b", "2", lease=l.id)
v, meta = c.get("/py/a")
print("attached", v, meta.lease_id == l.id)
r = list(c.refresh_lease(l.id))
print("refresh", [x.TTL for x in r], r[0].ID == l.id)
print("keys", sorted(l.keys), "granted", l.granted_ttl, "remaining<=30", 25 <= l.remaining_ttl <= 30)
l.revoke()
print("after revoke", c.get("/py/a")[0], c.get("/py/b")[0], c.get_lease_info(l.id).TTL)
try:
    c.put("/py/c", "3", lease=l.id)
except Exception as e:
    print("put on a revoked lease:", e.code(), e.details())
lock = c.lock("job", ttl=5)
print("acquire", lock.acquire(timeout=5), lock.is_acquired())
other = c.lock("job", ttl=5)
print("other acquire", other.acquire(timeout=0))
print("refresh lock", [x.TTL for x in lock.refresh()])
print("release", lock.release(), lock.is_acquired())
print("other acquire", other.acquire(timeout=0))
print("other release", other.release())
# a lock whose lease is left to expire is taken over once the key is gone
short = c.lock("short", ttl=1)
print("short acquire", short.acquire(timeout=0), short.lease.granted_ttl)
deadline = time.time() + 10
while c.get("/locks/short")[0] is not None and time.time() < deadline:
    time.sleep(0.2)
print("short expired", c.get("/locks/short")[0] is None)
print("next acquire", c.lock("short", ttl=5).acquire(timeout=0))
PY
/usr/bin/python3 "$TMP/py.py" "$P_ETCD" >"$TMP/py_etcd.txt" 2>&1 || { cat "$TMP/py_etcd.txt"; fail "python3-etcd3 against etcd"; }
/usr/bin/python3 "$TMP/py.py" "$P_CABIN" >"$TMP/py_cabind.txt" 2>&1 || { cat "$TMP/py_cabind.txt"; fail "python3-etcd3 against cabind"; }
diff -u "$TMP/py_etcd.txt" "$TMP/py_cabind.txt" || fail "python3-etcd3 sees cabind differently from etcd 3.4"
note "$(grep -c . "$TMP/py_etcd.txt") lines of python3-etcd3 output identical"
