# The Watch service: etcdctl 3.4 and python3-etcd3 against etcd 3.4 and against cabind,
# the same scenarios in the same order on empty stores; the transcripts, normalised only
# where members legitimately differ (cluster and member ids, raft term), must be
# identical. Background watchers get a start revision so that it does not matter when
# they come up; the one watcher started without one is last (its readiness is probed with
# writes, so revisions differ after it).
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl not installed (Debian etcd-client)"
/usr/bin/python3 -c 'import etcd3' 2>/dev/null || skip "python3-etcd3 not installed"
export ETCDCTL_API=3
PY=/usr/bin/python3
HERE=tests/integration

# progress notifications every second on both, for the progress_notify step
start_etcd_ref --experimental-watch-progress-notify-interval 1s
start_cabind_kv CABIND_WATCH_PROGRESS_MS=1000

ctl() {
	local ep=$1
	shift
	etcdctl --endpoints "$ep" --command-timeout=5s "$@" 2>&1 | grep -v '^{"level":' || true
}

norm() {
	sed -E 's/"(cluster_id|member_id|raft_term)":[0-9]+/"\1":0/g'
}

rev() {
	etcdctl --endpoints "$1" get x -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}

# bg NAME ENDPOINT ARGS...: etcdctl watch in the background into $TMP/NAME.out
bg() {
	local name=$1 ep=$2
	shift 2
	# emptied here, not by the child's redirection: the run against etcd used the same
	# file, and done_when must not find that run's output before the child starts
	: >"$TMP/$name.out"
	timeout 60 etcdctl --endpoints "$ep" watch "$@" >>"$TMP/$name.out" 2>&1 &
	echo $! >"$TMP/$name.pid"
}

# done_when NAME PATTERN: waits until the watcher's output has the pattern, stops it and
# prints its output
done_when() {
	wait_for 20 "$1 to print $2" grep -q -- "$2" "$TMP/$1.out"
	kill "$(cat "$TMP/$1.pid")" 2>/dev/null || true
	wait "$(cat "$TMP/$1.pid")" 2>/dev/null || true
	echo "== watch $1"
	{ grep -v '^{"level":' "$TMP/$1.out" || true; } | norm
	[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/$1.out" "$KEEP_OUT/"
}

# etcdctl prints a progress notification once per watcher of the stream
two_progress_lines() {
	[[ $(grep -c 'progress notify' "$TMP/inter.out") -eq 2 ]]
}

script() {
	local ep=$1 r
	r=$(rev "$ep")
	echo "== start at revision $r"
	bg key "$ep" --rev $((r + 1)) w/a
	bg prefix "$ep" --rev $((r + 1)) --prefix w/
	bg prevkv "$ep" --rev $((r + 1)) --prev-kv --prefix w/
	bg range "$ep" --rev $((r + 1)) w/b w/d
	ctl "$ep" put w/a 1
	ctl "$ep" put w/b 2
	ctl "$ep" put w/a 3
	printf '\nput w/c 4\nput w/d 5\ndel w/a\n\n\n' | ctl "$ep" txn -i
	ctl "$ep" del --prefix w/
	ctl "$ep" put w/end .
	done_when key DELETE
	done_when prefix w/end
	done_when prevkv w/end
	done_when range w/c

	echo "== from the past: --rev $((r + 2)) --prefix w/"
	bg past "$ep" --rev $((r + 2)) --prefix w/
	done_when past w/end
	# (a catch-up response carries the current revision: only from the past is the
	# header of -w json the same whenever the watcher comes up)
	bg json "$ep" --rev $((r + 1)) -w json --prev-kv w/a
	done_when json '"type":1'

	echo "== compacted"
	ctl "$ep" compaction $((r + 4))
	local rc=0
	timeout 20 etcdctl --endpoints "$ep" watch --rev $((r + 1)) w/a >"$TMP/c1.out" 2>&1 || rc=$?
	grep -v '^{"level":' "$TMP/c1.out" || true
	echo "exit $rc"
	rc=0
	timeout 20 etcdctl --endpoints "$ep" watch -w json --rev 2 w/a >"$TMP/c2.out" 2>&1 || rc=$?
	grep -v '^{"level":' "$TMP/c2.out" | norm || true
	echo "exit $rc"
	echo "== at the compacted revision: --rev $((r + 4)) --prefix w/"
	bg atc "$ep" --rev $((r + 4)) --prefix w/
	done_when atc w/end

	echo "== interactive"
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	: >"$TMP/inter.out"	# (as in bg)
	timeout 60 etcdctl --endpoints "$ep" watch -i <"$TMP/fifo" >>"$TMP/inter.out" 2>&1 &
	local ipid=$!
	exec 3>"$TMP/fifo"
	r=$(rev "$ep")
	echo "watch --rev $((r - 1)) w/end" >&3
	wait_for 20 "interactive watch" grep -q 'w/end' "$TMP/inter.out"
	echo "watch --prefix --rev $((r + 1)) i/" >&3
	ctl "$ep" put i/1 one
	wait_for 20 "interactive prefix watch" grep -q 'one' "$TMP/inter.out"
	echo "progress" >&3
	wait_for 20 "progress" two_progress_lines
	exec 3>&-
	wait $ipid 2>/dev/null || true
	grep -v '^{"level":' "$TMP/inter.out"

	echo "== python: raw Watch requests"
	$PY $HERE/etcd_watch.py "$ep" raw
	echo "== python: etcd3 client"
	$PY $HERE/etcd_watch.py "$ep" client

	echo "== live, no start revision"
	bg live "$ep" live/k
	wait_for 20 "the live watcher" sh -c "etcdctl --endpoints $ep put live/k ready >/dev/null && grep -q ready $TMP/live.out"
	ctl "$ep" put live/k 1
	ctl "$ep" del live/k
	done_when live DELETE | awk '$0 == "PUT" { getline k; getline v; if (v != "ready") print "PUT\n" k "\n" v; next } { print }'
}

# in the background so that errexit still holds inside (it would not under ||)
for side in etcd cabind; do
	[[ $side == etcd ]] && ep=127.0.0.1:$P_ETCD || ep=127.0.0.1:$P_CABIN
	script "$ep" >"$TMP/$side.txt" 2>&1 &
	wait $! || { tail -n 30 "$TMP/$side.txt"; fail "the watch scenario stopped on $side"; }
done
# KEEP_OUT=DIR keeps both transcripts for a look after the test
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind's watch differs from etcd 3.4's"
note "$(grep -c . "$TMP/etcd.txt") lines of watch transcript identical"
