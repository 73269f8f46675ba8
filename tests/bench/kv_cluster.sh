# Sourced by tests/bench/run.sh after kv.sh (its helpers: die, summary, ratio, le, verdict,
# median, SCRATCH, field, free_port): three-member clusters of cabind and of etcd 3.4 on
# loopback, the same flags (etcd's default 100 ms heartbeat, 1000 ms election timeout),
# data on the same filesystem. Put throughput and latency with kvload against the leader,
# and failover: the time from kill -9 of the leader to the first write a survivor accepts.
echo
echo '-- three-member clusters: cabind against etcd 3.4'
KV_CLUSTER_RATIO_TARGET=2
FAILOVER_TARGET_MS=2000

# start_cluster KIND (cabind|etcd): a fresh cluster in $SCRATCH/KIND.N; sets CL_CP (client
# ports), CL_PID and CL_LEADER (the leader's member number, 1..3).
start_cluster() {
	local kind=$1 bin ic= i
	[[ $kind == cabind ]] && bin=build/cabind || bin=etcd
	CL_CP=() CL_PP=() CL_PID=()
	for i in 1 2 3; do
		CL_CP[i]=$(free_port)
		CL_PP[i]=$(free_port)
		ic+="${ic:+,}n$i=http://127.0.0.1:${CL_PP[i]}"
	done
	for i in 1 2 3; do
		rm -rf "$SCRATCH/$kind.$i"
		"$bin" --name "n$i" --data-dir "$SCRATCH/$kind.$i" \
			--listen-client-urls "http://127.0.0.1:${CL_CP[i]}" \
			--advertise-client-urls "http://127.0.0.1:${CL_CP[i]}" \
			--listen-peer-urls "http://127.0.0.1:${CL_PP[i]}" \
			--initial-advertise-peer-urls "http://127.0.0.1:${CL_PP[i]}" \
			--initial-cluster "$ic" --initial-cluster-token bench \
			>"$SCRATCH/$kind.$i.log" 2>&1 &
		CL_PID[i]=$!
		echo $! >"$SCRATCH/$kind-$i.pid"
	done
	for _ in $(seq 150); do
		CL_LEADER=$(cluster_leader)
		[[ -n $CL_LEADER ]] && return 0
		sleep 0.1
	done
	die "the $kind cluster elected no leader"
}
cluster_leader() {
	local eps i l
	eps="127.0.0.1:${CL_CP[1]},127.0.0.1:${CL_CP[2]},127.0.0.1:${CL_CP[3]}"
	l=$(etcdctl --endpoints "$eps" endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { print $1 }')
	for i in 1 2 3; do [[ $l == "127.0.0.1:${CL_CP[i]}" ]] && echo "$i"; done
	true
}
stop_cluster() {
	local i
	for i in 1 2 3; do kill -9 "${CL_PID[i]}" 2>/dev/null || true; done
	for i in 1 2 3; do wait "${CL_PID[i]}" 2>/dev/null || true; done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# failover KIND -> milliseconds from kill -9 of the leader to the first acknowledged put
# through a survivor (each attempt bounded to 200 ms, the survivors taken in turn)
failover() {
	local kind=$1 t0 s i=0
	start_cluster "$kind"
	etcdctl --endpoints "127.0.0.1:${CL_CP[CL_LEADER]}" put warm up >/dev/null ||
		die "put against the $kind cluster"
	local s1=$((CL_LEADER % 3 + 1)) s2=$(((CL_LEADER + 1) % 3 + 1))
	t0=$(now_ms)
	kill -9 "${CL_PID[CL_LEADER]}"
	while :; do
		i=$((i + 1))
		s=$s1
		((i % 2)) || s=$s2
		if etcdctl --endpoints "127.0.0.1:${CL_CP[s]}" --command-timeout=200ms \
			put failover "$i" >/dev/null 2>&1; then
			break
		fi
		(($(now_ms) - t0 < 20000)) || die "$kind: no write accepted 20 s after the leader died"
	done
	echo $(($(now_ms) - t0))
	stop_cluster
}

LOAD3=(--conns 100 --clients 1000 --total 50000 --key-size 8 --val-size 256 --key-space 100000)
e_tps=() c_tps=() e_p99s=() c_p99s=() e_fos=() c_fos=()
for ((i = 1; i <= ${CABIN_BENCH_KV_PUT_RUNS:-3}; i++)); do
	for kind in etcd cabind; do
		start_cluster "$kind"
		build/bench/kvload --endpoint "127.0.0.1:${CL_CP[CL_LEADER]}" "${LOAD3[@]}" \
			>"$SCRATCH/$kind.cluster.load" || die "kvload against the $kind cluster failed"
		stop_cluster
	done
	e_tps+=("$(field "$SCRATCH/etcd.cluster.load" throughput)")
	c_tps+=("$(field "$SCRATCH/cabind.cluster.load" throughput)")
	e_p99s+=("$(field "$SCRATCH/etcd.cluster.load" p99_ms)")
	c_p99s+=("$(field "$SCRATCH/cabind.cluster.load" p99_ms)")
	e_fos+=("$(failover etcd)")
	c_fos+=("$(failover cabind)")
	printf '3-member run %d: cabind %s/s p99 %s ms failover %s ms, etcd %s/s p99 %s ms failover %s ms\n' \
		"$i" "${c_tps[-1]}" "${c_p99s[-1]}" "${c_fos[-1]}" "${e_tps[-1]}" "${e_p99s[-1]}" \
		"${e_fos[-1]}"
done
e_tp=$(median "${e_tps[@]}") c_tp=$(median "${c_tps[@]}")
e_p99=$(median "${e_p99s[@]}") c_p99=$(median "${c_p99s[@]}")
e_fo=$(median "${e_fos[@]}") c_fo=$(median "${c_fos[@]}")
printf '3-member put        %8s/s  etcd %8s/s  ratio %sx (medians; kvload %s, at the leader)\n' \
	"$c_tp" "$e_tp" "$(ratio "$c_tp" "$e_tp")" "${LOAD3[*]}"
printf '3-member put p99    %8s ms  etcd %8s ms (medians)\n' "$c_p99" "$e_p99"
printf 'failover            %8s ms  etcd %8s ms (medians: kill -9 of the leader to a write)\n' \
	"$c_fo" "$e_fo"
summary "3-member put" "$(ratio "$c_tp" "$e_tp")x etcd" ">= ${KV_CLUSTER_RATIO_TARGET}x" \
	"$(verdict le "$KV_CLUSTER_RATIO_TARGET" "$(ratio "$c_tp" "$e_tp")") ($c_tp vs $e_tp/s)"
summary "3-member put p99" "$c_p99 ms" "< etcd's" "$(verdict le "$c_p99" "$e_p99") (etcd $e_p99 ms)"
summary "failover" "$c_fo ms" "< $FAILOVER_TARGET_MS ms" \
	"$(verdict le "$c_fo" "$FAILOVER_TARGET_MS") (etcd $e_fo ms)"
