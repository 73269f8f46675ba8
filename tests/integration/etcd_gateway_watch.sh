# The gateway's streaming routes: curl -N watches on /v3/watch (a key, a prefix, a
# from-key range, start_revision in the past, prev_kv, filters, two creates and a progress
# request in one body, a cancel, a compacted start) while etcdctl writes over gRPC, and
# keepalives, against etcd 3.4 and cabind, answers diffed after normalising the member
# ids. Then on cabind alone: a keepalive whose chunked body stays open is answered request
# by request, 200 watchers at once, clients that go away or stop reading mid-stream.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v curl >/dev/null || skip "curl not installed"

start_etcd_ref
start_cabind_kv

b64() { printf '%s' "$1" | base64 -w0; }
norm() { sed -E 's/"(cluster_id|member_id|raft_term)":"[0-9]+"/"\1":"0"/g'; }
# lines FILE N: FILE has at least N lines
lines() { [[ -f $1 && $(grep -c '' "$1") -ge $2 ]]; }
WATCHERS=()
CLEANUP+=('for p in "${WATCHERS[@]}"; do kill "$p" 2>/dev/null; done')
# watch_bg BASE FILE JSON...: a curl -N watch in the background, one request per JSON
# argument in its body, the answer in FILE
watch_bg() {
	local e=$1 out=$2
	shift 2
	: >"$out"
	printf '%s\n' "$@" | curl -sN -X POST "$e/v3/watch" --data-binary @- >"$out" &
	WATCHERS+=($!)
}
stop_watchers() {
	for p in "${WATCHERS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${WATCHERS[@]}"; do wait "$p" 2>/dev/null || true; done
	WATCHERS=()
}
create() { printf '{"create_request":{"key":"%s"%s}}' "$(b64 "$1")" "${2:-}"; }

script() {
	local e=$1 o=$2 ctl="etcdctl --endpoints ${1#http://}"
	$ctl put foo 0 >/dev/null	# revision 2
	$ctl put foo/a 1 >/dev/null	# 3
	watch_bg "$e" "$o.1" "$(create foo ',"start_revision":"2","prev_kv":true')"
	watch_bg "$e" "$o.2" "$(create foo/ ",\"range_end\":\"$(b64 foo0)\",\"filters\":[\"NODELETE\"]")"
	watch_bg "$e" "$o.3" "$(create bar ',"watch_id":"5"')" "$(create baz ',"watchId":6')" \
		'{"progress_request":{}}'
	watch_bg "$e" "$o.4" "$(create x ",\"range_end\":\"AA==\",\"prev_kv\":true")"
	watch_bg "$e" "$o.5" "$(create q ',"watch_id":9')" '{"cancel_request":{"watch_id":"9"}}'
	wait_for 10 "watch 1" lines "$o.1" 2
	wait_for 10 "watch 2" lines "$o.2" 1
	wait_for 10 "watch 3" lines "$o.3" 3
	wait_for 10 "watch 4" lines "$o.4" 1
	wait_for 10 "watch 5" lines "$o.5" 2
	$ctl put foo 1 >/dev/null	# 4
	$ctl put foo/b 2 >/dev/null	# 5
	$ctl del foo/a >/dev/null	# 6: not for watch 2 (NODELETE)
	$ctl put bar 3 >/dev/null	# 7
	$ctl put baz 4 >/dev/null	# 8
	$ctl put x 5 >/dev/null		# 9
	$ctl put y 6 >/dev/null		# 10
	$ctl put x 7 >/dev/null		# 11
	$ctl del foo >/dev/null		# 12
	$ctl put q 8 >/dev/null		# 13: watch 5 was canceled
	wait_for 10 "watch 1 events" lines "$o.1" 4
	wait_for 10 "watch 2 events" lines "$o.2" 2
	wait_for 10 "watch 3 events" lines "$o.3" 5
	wait_for 10 "watch 4 events" lines "$o.4" 4
	$ctl compaction 6 >/dev/null
	watch_bg "$e" "$o.6" "$(create foo ',"start_revision":"3"')"
	wait_for 10 "watch 6 (compacted)" lines "$o.6" 2
	local id
	id=$($ctl lease grant 60 | awk '{print $2}')
	printf '{"ID":"%d"}\n{"ID":"%d"}\n' "$((16#$id))" "$((16#$id))" |
		curl -sN -X POST "$e/v3/lease/keepalive" --data-binary @- |
		sed "s/\"$((16#$id))\"/\"L\"/g" >"$o.7"
	# the answer's head (Date aside), HTTP/1.1 and 1.0, and a first request that does not
	# decode
	{
		curl -s -D - -X POST "$e/v3/lease/keepalive" -d '{"ID":"1"}'
		curl -s -0 -D - -X POST "$e/v3/lease/keepalive" -d '{"ID":"2"}'	# not chunked
	} |
		sed -E 's/^Date: .*/Date: D/; s/"(cluster_id|member_id|raft_term)":"[0-9]+"/"\1":"0"/g' \
		>"$o.8"
	curl -s -o /dev/null -w '%{http_code}\n' -X POST "$e/v3/watch" -d 'nonsense' >>"$o.8"
	stop_watchers
	for i in 1 2 3 4 5 6 7 8; do
		echo "== $i"
		norm <"$o.$i"
	done
}

note "the same watches and writes on etcd 3.4 and cabind"
script "http://127.0.0.1:$P_ETCD" "$TMP/etcd" >"$TMP/etcd.txt"
script "http://127.0.0.1:$P_CABIN" "$TMP/cabind" >"$TMP/cabind.txt"
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind's gateway streams differ from etcd 3.4's"
note "$(grep -vc '^==' "$TMP/etcd.txt") streamed answers identical"

E=http://127.0.0.1:$P_CABIN
CTL="etcdctl --endpoints 127.0.0.1:$P_CABIN"
metric() { curl -s "$E/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
watchers_are() { [[ $(metric etcd_debugging_mvcc_watcher_total) == "$1" ]]; }
wait_for 10 "the comparison's watchers to go" watchers_are 0

note "a keepalive whose chunked body stays open: each request answered as it arrives"
# (python, not curl: curl -T - blocks reading stdin and reads answers only in between)
id=$($CTL lease grant 60 | awk '{print $2}')
python3 - "$P_CABIN" "$((16#$id))" <<'PY' || fail "streaming keepalive"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(b"POST /v3/lease/keepalive HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
          b"Expect: 100-continue\r\n\r\n")
got = b""
def until(done):
    global got
    while not done():
        d = s.recv(65536)
        assert d, "closed after %r" % got
        got += d
until(lambda: b"100 Continue\r\n\r\n" in got)
req = b'{"ID":"%s"}\n' % sys.argv[2].encode()
for i in (1, 2):
    s.sendall(b"%x\r\n%s\r\n" % (len(req), req))
    until(lambda: got.count(b'"TTL":"60"') >= i)
s.sendall(b"0\r\n\r\n")
until(lambda: got.endswith(b"\r\n0\r\n\r\n"))
assert b"Transfer-Encoding: chunked" in got and got.count(b'{"result":') == 2, got
PY
curl -sf "$E/health" >/dev/null || fail "server gone after the keepalive stream"

note "200 gateway watchers see one put made over gRPC"
for i in $(seq 1 200); do
	watch_bg "$E" "$TMP/many.$i" "$(create many)"
done
for i in $(seq 1 200); do wait_for 20 "watcher $i" lines "$TMP/many.$i" 1; done
wait_for 10 "200 watchers in /metrics" watchers_are 200
$CTL put many v >/dev/null
for i in $(seq 1 200); do
	wait_for 20 "watcher $i's event" lines "$TMP/many.$i" 2
	grep -q '"value":"dg=="' "$TMP/many.$i" || fail "watcher $i: $(cat "$TMP/many.$i")"
done

note "clients that close mid-stream: their watchers go, the server goes on"
stop_watchers
wait_for 10 "no watchers left in /metrics" watchers_are 0
[[ $(metric etcd_debugging_mvcc_watch_stream_total) == 0 ]] || fail "watch streams left"
curl -sf "$E/health" >/dev/null || fail "server gone after the clients closed"

note "a client that stops reading: held back, then caught up with no gap"
python3 - "$P_CABIN" "$CTL" <<'PY' || fail "slow gateway client"
import base64, json, socket, subprocess, sys, time
port, ctl = int(sys.argv[1]), sys.argv[2].split()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
body = json.dumps({"create_request": {"key": base64.b64encode(b"slow").decode()}})
s.sendall(b"POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
          % (len(body), body.encode()))
value = "v" * 200000
n = 30	# 6 MB of values, more than 8 MB of JSON: past what the server holds back
for i in range(n):
    subprocess.run(ctl + ["put", "slow"], input=(value + str(i)).encode(), check=True,
                   stdout=subprocess.DEVNULL)
m = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/metrics" % port], capture_output=True)
assert m.returncode == 0, "server not answering while a client does not read"
slow = [l for l in m.stdout.decode().splitlines()
        if l.startswith("etcd_debugging_mvcc_slow_watcher_total ")]
assert slow == ["etcd_debugging_mvcc_slow_watcher_total 1"], "not held back: %s" % slow
buf, revs = b"", []
s.settimeout(20)
while len(revs) < n:
    d = s.recv(1 << 20)
    assert d, "connection closed after %d events" % len(revs)
    buf += d
    for line in buf.split(b"\n")[:-1]:
        if b'"events"' in line:
            r = json.loads(line[line.index(b"{"):])["result"]
            revs += [int(e["kv"]["mod_revision"]) for e in r["events"]]
    buf = buf.split(b"\n")[-1]
assert revs == list(range(revs[0], revs[0] + n)), "gap or duplicate: %s" % revs
print("%d events in order after the client read again" % n)
PY
wait_for 10 "the slow client's watcher to go" watchers_are 0
curl -sf "$E/health" >/dev/null || fail "server gone"
