# Sourced by tests/bench/run.sh (its helpers: die, summary, ratio, le, verdict, SCRATCH).
echo
echo '-- KV store against etcd 3.4 (same clients, same filesystem)'
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	die "etcd and etcdctl are needed (make test installs them: appliance/test-packages.txt)"
make -s build/bench/kvload >/dev/null || die "cannot build kvload"
KV_PUT_RATIO_TARGET=2
KV_RSS_RATIO_TARGET=0.1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_etcd / start_cabind: fresh servers; set E_PORT / C_PORT and pidfiles
start_etcd() {
	E_PORT=$(free_port)
	local peer
	peer=$(free_port)
	rm -rf "$SCRATCH/etcd.data"
	etcd --name b --data-dir "$SCRATCH/etcd.data" --listen-client-urls "http://127.0.0.1:$E_PORT" \
		--advertise-client-urls "http://127.0.0.1:$E_PORT" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "b=http://127.0.0.1:$peer" >"$SCRATCH/etcd.log" 2>&1 &
	echo $! >"$SCRATCH/etcd.pid"
	wait_up "$E_PORT" || die "etcd did not start"
}
start_cabind() {
	C_PORT=$(free_port)
	rm -rf "$SCRATCH/cabind.data"
	build/cabind --name b --data-dir "$SCRATCH/cabind.data" \
		--listen-client-urls "http://127.0.0.1:$C_PORT" >"$SCRATCH/cabind.log" 2>&1 &
	echo $! >"$SCRATCH/cabind.pid"
	wait_up "$C_PORT" || die "cabind did not start"
}
wait_up() {
	for _ in $(seq 100); do
		etcdctl --endpoints "127.0.0.1:$1" endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
stop() { kill "$(cat "$SCRATCH/$1.pid")" 2>/dev/null; wait "$(cat "$SCRATCH/$1.pid")" 2>/dev/null || true; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$(cat "$SCRATCH/$1.pid")/status"; }
# field FILE KEY: a value of kvload's output
field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# put throughput and latency at saturation (etcd benchmark's usual shape); the servers
# take turns CABIN_BENCH_KV_PUT_RUNS times (default 3), fresh each time, and the medians
# are compared: one pair of runs moves by several percent on a shared 2-core machine
LOAD=(--conns 100 --clients 1000 --total 100000 --key-size 8 --val-size 256 --key-space 100000)
e_tps=() c_tps=() e_p99s=() c_p99s=()
for ((i = 1; i <= ${CABIN_BENCH_KV_PUT_RUNS:-3}; i++)); do
	start_etcd
	build/bench/kvload --endpoint "127.0.0.1:$E_PORT" "${LOAD[@]}" >"$SCRATCH/etcd.load" ||
		die "kvload against etcd failed"
	stop etcd
	start_cabind
	build/bench/kvload --endpoint "127.0.0.1:$C_PORT" "${LOAD[@]}" >"$SCRATCH/cabind.load" ||
		die "kvload against cabind failed"
	stop cabind
	e_tps+=("$(field "$SCRATCH/etcd.load" throughput)")
	c_tps+=("$(field "$SCRATCH/cabind.load" throughput)")
	e_p99s+=("$(field "$SCRATCH/etcd.load" p99_ms)")
	c_p99s+=("$(field "$SCRATCH/cabind.load" p99_ms)")
	printf 'put run %d: cabind %s/s p99 %s ms, etcd %s/s p99 %s ms\n' "$i" "${c_tps[-1]}" \
		"${c_p99s[-1]}" "${e_tps[-1]}" "${e_p99s[-1]}"
done
e_tp=$(median "${e_tps[@]}") c_tp=$(median "${c_tps[@]}")
e_p99=$(median "${e_p99s[@]}") c_p99=$(median "${c_p99s[@]}")
printf 'put throughput      %8s/s  etcd %8s/s  ratio %sx (medians; kvload %s)\n' "$c_tp" \
	"$e_tp" "$(ratio "$c_tp" "$e_tp")" "${LOAD[*]}"
printf 'put p99 latency     %8s ms  etcd %8s ms (medians)\n' "$c_p99" "$e_p99"
summary "put throughput" "$(ratio "$c_tp" "$e_tp")x etcd" ">= ${KV_PUT_RATIO_TARGET}x" \
	"$(verdict le "$KV_PUT_RATIO_TARGET" "$(ratio "$c_tp" "$e_tp")") ($c_tp vs $e_tp/s)"
summary "put p99 latency" "$c_p99 ms" "< etcd's" \
	"$(verdict le "$c_p99" "$e_p99") (etcd $e_p99 ms)"

# etcdctl check perf: pass/fail as etcdctl judges it, then RSS
perf() {	# perf PORT LOAD -> PASS or FAIL (output kept in SCRATCH)
	etcdctl --endpoints "127.0.0.1:$1" check perf --load="$2" >"$SCRATCH/perf-$1-$2" 2>&1
	grep -q '^PASS' "$SCRATCH/perf-$1-$2" && echo PASS || echo FAIL
}
for load in ${CABIN_BENCH_KV_LOADS:-l xl}; do
	start_etcd
	e=$(perf "$E_PORT" "$load")
	e_rss=$(rss_mib etcd)
	stop etcd
	start_cabind
	c=$(perf "$C_PORT" "$load")
	c_rss=$(rss_mib cabind)
	stop cabind
	printf 'check perf --load=%-2s cabind %s  etcd %s   RSS after: cabind %s MiB, etcd %s MiB\n' \
		"$load" "$c" "$e" "$c_rss" "$e_rss"
	summary "check perf $load" "$c" "PASS" "$([[ $c == PASS ]] && echo met || echo MISSED) (etcd $e)"
	summary "RSS after perf $load" "$(ratio "$c_rss" "$e_rss")x etcd" "<= ${KV_RSS_RATIO_TARGET}x" \
		"$(verdict le "$(ratio "$c_rss" "$e_rss")" "$KV_RSS_RATIO_TARGET") ($c_rss vs $e_rss MiB)"
done
