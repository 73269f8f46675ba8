# Many watchers on cabind: 1,000 of them over 8 streams (single keys, a prefix, from a key,
# every key with prev_kv; a quarter starting in the past) see 450 revisions, and a stream
# of 20 watchers that stops reading while about 30 MB of events go by is caught up from
# history. Each watcher must get every event of its range exactly once, in order, whole
# revisions per response. The same check runs against etcd 3.4 first, to keep the test
# itself honest.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
/usr/bin/python3 -c 'import etcd3' 2>/dev/null || skip "python3-etcd3 not installed"
export ETCDCTL_API=3

start_etcd_ref
start_cabind_kv

note "etcd 3.4"
/usr/bin/python3 tests/integration/etcd_watch_load.py "127.0.0.1:$P_ETCD" 1000 ||
	fail "the load check fails against etcd itself"
note "cabind"
/usr/bin/python3 tests/integration/etcd_watch_load.py "127.0.0.1:$P_CABIN" 1000 ||
	fail "cabind's watchers missed, repeated or reordered events"
note "cabind's RSS after: $(awk '/VmRSS/ { print $2, $3 }' /proc/$CABIND_PID/status) (ASan build)"
kill -0 $CABIND_PID || fail "cabind died"
