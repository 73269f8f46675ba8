# Crash safety of the KV store's write-ahead log: concurrent writers put keys, cabind is
# killed with SIGKILL at a random moment (after a random number of acknowledged puts),
# restarted on the same data dir, and every acknowledged put must be readable at its
# revision with its value; repeated, with snapshots and segment deletion in between
# (--snapshot-count 300); half the writers use keys over 128 bytes, which cabind reads back
# from its files. Then a compaction survives a crash (HashKV and the compacted
# revision unchanged). KV_CRASH_SEED replays a run, KV_CRASH_RUNS sets how many.
source tests/integration/lib.sh

PY=/usr/bin/python3
$PY -c 'import etcd3' 2>/dev/null || skip "python3-etcd3 is not installed"
command -v etcdctl >/dev/null || skip "etcdctl is not installed"
export ETCDCTL_API=3
RUNS=${KV_CRASH_RUNS:-10}
SEED=${KV_CRASH_SEED:-$RANDOM}
RANDOM=$SEED
note "seed $SEED (KV_CRASH_SEED=$SEED replays it), $RUNS runs"

DATA=$TMP/data
ACKS=$TMP/acks
: >"$ACKS"
PID=
WPID=
CLEANUP+=('[[ -n $WPID ]] && kill $WPID 2>/dev/null' '[[ -n $PID ]] && kill -9 $PID 2>/dev/null')

# Starts cabind on $DATA; sets PID, PORT and E (etcdctl for it).
start() {
	: >"$TMP/log"
	"$CABIND" --data-dir "$DATA" --listen-client-urls http://127.0.0.1:0 \
		--snapshot-count 300 >>"$TMP/out" 2>"$TMP/log" &
	PID=$!
	local deadline=$((SECONDS + 30))
	until grep -q 'serving clients on' "$TMP/log"; do
		kill -0 $PID 2>/dev/null || { cat "$TMP/log"; fail "cabind did not start"; }
		((SECONDS < deadline)) || fail "cabind is not serving after 30 s"
		sleep 0.05
	done
	PORT=$(grep -o 'serving clients on http://127.0.0.1:[0-9]*' "$TMP/log" | grep -o '[0-9]*$')
	E=(etcdctl --endpoints=127.0.0.1:$PORT)
}

crash() {
	kill -9 $PID
	wait $PID 2>/dev/null || true
	PID=
}

total=0
for ((run = 1; run <= RUNS; run++)); do
	start
	if ((run > 1)); then	# what the last run acknowledged, and a sample of the rest
		out=$($PY tests/integration/kv_crash.py check $PORT "$ACKS" $from 200) ||
			{ cat "$TMP/log"; fail "run $((run - 1)): $out"; }
		note "after crash $((run - 1)): $out"
		total=$((total + $(wc -l <"$ACKS") - from))
	fi
	grep -q 'torn record' "$TMP/log" && note "$(grep 'torn record' "$TMP/log")"
	from=$(wc -l <"$ACKS")
	want=$((from + 50 + RANDOM % 1500))
	$PY tests/integration/kv_crash.py write $PORT "$ACKS" 8 run$run 60 >"$TMP/writer" 2>&1 &
	WPID=$!
	deadline=$((SECONDS + 30))
	until (($(wc -l <"$ACKS") >= want)); do
		kill -0 $WPID 2>/dev/null || { cat "$TMP/writer"; fail "the writers stopped early"; }
		((SECONDS < deadline)) || fail "fewer than $((want - from)) puts in 30 s"
		sleep 0.01
	done
	crash
	wait $WPID || true
	WPID=
done
start
out=$($PY tests/integration/kv_crash.py check $PORT "$ACKS" $from 1000000) ||
	{ cat "$TMP/log"; fail "last run: $out"; }
note "after crash $RUNS, all acknowledged writes: $out"
total=$((total + $(wc -l <"$ACKS") - from))
ls "$DATA/member/snap" | grep -q '\.snap$' || fail "no snapshot was written"

note "a compaction survives a crash"
rev=$("${E[@]}" endpoint status -w json | grep -o '"revision":[0-9]*' | grep -o '[0-9]*$')
"${E[@]}" compact $((rev - 5)) >/dev/null
before=$("${E[@]}" endpoint hashkv -w json | grep -o '"hash":[0-9]*,"compact_revision":[0-9]*')
crash
start
after=$("${E[@]}" endpoint hashkv -w json | grep -o '"hash":[0-9]*,"compact_revision":[0-9]*')
[[ $before == "$after" ]] || fail "HashKV before the crash $before, after $after"
[[ $after == *"\"compact_revision\":$((rev - 5))" ]] || fail "compacted revision lost: $after"
expect_fail 1 "required revision has been compacted" "${E[@]}" get crash/0/00 --rev $((rev - 6))
crash
note "$RUNS crashes, $total acknowledged writes checked, none lost"
