# etcd's JSON gateway (HTTP/1.1 on the client port): the same curl requests against etcd
# 3.4 and cabind, responses and HTTP statuses diffed after normalising what differs
# between members by design (cluster and member ids, raft term, the server's version).
# Also /health, /version, /metrics and bad requests.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v curl >/dev/null || skip "curl not installed"

start_etcd_ref
start_cabind_kv

b64() { printf '%s' "$1" | base64 -w0; }
# post BASE PATH JSON: the body and the HTTP status
post() { curl -s -w ' %{http_code}\n' -X POST "$1/v3/$2" -d "$3"; }
norm() { sed -E 's/"(cluster_id|member_id|raft_term)":"[0-9]+"/"\1":"0"/g'; }

script() {
	local e=$1
	post "$e" kv/put "{\"key\":\"$(b64 foo)\",\"value\":\"$(b64 bar)\"}"
	post "$e" kv/put "{\"key\":\"$(b64 foo2)\",\"value\":\"$(b64 bar2)\",\"prevKv\":true}"
	post "$e" kv/put "{\"key\":\"$(b64 foo)\",\"value\":\"$(b64 baz)\",\"prev_kv\":true}"
	post "$e" kv/range "{\"key\":\"$(b64 foo)\"}"
	post "$e" kv/range "{\"key\":\"$(b64 foo)\",\"range_end\":\"$(b64 fop)\",\"sort_order\":\"DESCEND\",\"keysOnly\":true}"
	post "$e" kv/range "{\"key\":\"$(b64 foo)\",\"rangeEnd\":\"$(b64 fop)\",\"limit\":\"1\",\"countOnly\":false}"
	post "$e" kv/range "{\"key\":\"$(b64 foo)\",\"revision\":2}"
	post "$e" kv/range "{\"key\":\"$(b64 foo)\",\"revision\":\"99\"}"
	post "$e" kv/range "{\"key\":\"$(b64 nothing)\",\"unknownField\":1}"
	post "$e" kv/txn "{\"compare\":[{\"key\":\"$(b64 foo)\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"$(b64 baz)\"}],\"success\":[{\"requestPut\":{\"key\":\"$(b64 t)\",\"value\":\"$(b64 1)\"}},{\"request_range\":{\"key\":\"$(b64 foo)\"}}],\"failure\":[{\"requestDeleteRange\":{\"key\":\"$(b64 foo)\"}}]}"
	post "$e" kv/txn "{\"compare\":[{\"key\":\"$(b64 foo)\",\"target\":\"MOD\",\"result\":\"LESS\",\"mod_revision\":\"2\"}],\"failure\":[{\"request_txn\":{\"success\":[{\"request_put\":{\"key\":\"$(b64 n)\",\"value\":\"$(b64 2)\"}}]}}]}"
	post "$e" kv/deleterange "{\"key\":\"$(b64 foo)\",\"range_end\":\"$(b64 fop)\",\"prev_kv\":true}"
	post "$e" kv/compaction '{"revision":"4"}'
	post "$e" kv/range "{\"key\":\"$(b64 t)\",\"revision\":\"3\"}"
	post "$e" kv/compaction '{"revision":"3"}'
	post "$e" kv/range "{\"key\":\"\"}"
	post "$e" lease/revoke '{"ID":"12345"}'
	post "$e" kv/put "{\"key\":\"$(b64 l)\",\"value\":\"$(b64 v)\",\"lease\":\"777\"}"
	curl -s -w ' %{http_code}\n' -X POST "$e/v3beta/kv/range" -d "{\"key\":\"$(b64 t)\"}"
	curl -s -w ' %{http_code}\n' -X POST -H 'Transfer-Encoding: chunked' "$e/v3/kv/range" \
		-d "{\"key\":\"$(b64 t)\"}"
	curl -s -w ' %{http_code}\n' "$e/v3/kv/range"
	curl -s -w ' %{http_code}\n' -X POST "$e/v3/kv/nothing" -d '{}'
	local id
	id=$(curl -s -X POST "$e/v3/lease/grant" -d '{"TTL":60}' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
	printf '{"ID":"%s"}\n{"ID":"%s"}\n' "$id" "$id" |
		curl -s -w ' %{http_code}\n' -X POST "$e/v3/lease/keepalive" --data-binary @- |
		sed "s/\"$id\"/\"L\"/g"
	# which keys one Txn may write twice: etcd's checkIntervals, nested txns included
	local pa da
	pa="{\"request_put\":{\"key\":\"$(b64 dup)\",\"value\":\"$(b64 v)\"}}"
	da="{\"request_delete_range\":{\"key\":\"$(b64 dup)\"}}"
	nest() { printf '{"request_txn":{"success":[%s],"failure":[%s]}}' "$1" "$2"; }
	for ops in "$pa,$(nest "$pa" "")" "$(nest "$pa" ""),$(nest "$da" "")" \
		"$(nest "$da" ""),$(nest "$pa" "")" "$(nest "$pa" "$pa")" "$(nest "$da" ""),$pa" \
		"$da,$(nest "$pa" "")" "$(nest "" "$da"),$(nest "$pa" "")" \
		"$(nest "$pa" ""),$(nest "$pa" "")" "$pa,$da" "$da,$da"; do
		post "$e" kv/txn "{\"success\":[$ops]}"
	done
	post "$e" kv/txn "{\"success\":[$pa],\"failure\":[$pa]}"
	post "$e" kv/range "{\"key\":\"$(b64 dup)\"}"
	curl -s -w ' %{http_code}\n' "$e/health"
	curl -s "$e/version" | sed -E 's/"etcdserver":"[0-9.]+"/"etcdserver":"V"/'; echo
}

script "http://127.0.0.1:$P_ETCD" | norm >"$TMP/etcd.txt"
script "http://127.0.0.1:$P_CABIN" | norm >"$TMP/cabind.txt"
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind's gateway answers differently from etcd 3.4"
note "$(wc -l <"$TMP/etcd.txt") gateway responses identical"

note "bad requests: malformed JSON and base64 are 400 with code 3; the server keeps serving"
E=http://127.0.0.1:$P_CABIN
out=$(post "$E" kv/range 'nonsense')
[[ $out == '{"error":'*'"code":3} 400' ]] || fail "malformed JSON: $out"
out=$(post "$E" kv/range '{"key":"!!"}')
[[ $out == *'illegal base64 data at input byte 0'*' 400' ]] || fail "bad base64: $out"
# a request head without an end, then a close: nothing breaks
exec 3<>"/dev/tcp/127.0.0.1/$P_CABIN" || fail "connect"
printf 'POST /v3/kv/range HTTP/1.1\r\nContent-Length: 5' >&3
exec 3>&-
curl -sf "$E/health" >/dev/null || fail "server gone after a truncated request"
# keep-alive: two requests on one connection
out=$(curl -s "$E/health" "$E/version")
[[ $out == '{"health":"true"}{"etcdserver":"3.4.0","etcdcluster":"3.4.0"}' ]] || fail "keep-alive: $out"

note "metrics"
curl -s "$E/metrics" >"$TMP/metrics"
grep -Eq '^process_resident_memory_bytes [1-9][0-9]*$' "$TMP/metrics" || fail "no RSS in /metrics"
grep -q '^grpc_server_handled_total{grpc_service="etcdserverpb.KV",grpc_method="Range",grpc_code="OutOfRange"} [1-9]' \
	"$TMP/metrics" || fail "no request counters in /metrics"
grep -q '^grpc_server_handling_seconds_bucket{grpc_service="etcdserverpb.KV",grpc_method="Put",le="+Inf"} [1-9]' \
	"$TMP/metrics" || fail "no latency histogram in /metrics"
metric() { awk -v m="$1" '$1 == m {print $2}' "$TMP/metrics"; }
# the Raft log makes each write durable before it is answered; the store's own log, synced
# once a second under Raft, may not have been synced yet
walsize=$(cat "$TMP"/cabind/member/wal/*.wal | wc -c)
written=$(metric cabin_wal_written_bytes_total)
(( written > 0 && written <= walsize )) ||
	fail "store log counters: $written bytes written, $walsize bytes of segments"
rlogsize=$(cat "$TMP"/cabind/member/raft/*.rlog | wc -c)
syncs=$(metric cabin_raft_log_fsyncs_total) rwritten=$(metric cabin_raft_log_written_bytes_total)
(( syncs > 0 && rwritten > 0 && rwritten <= rlogsize )) ||
	fail "Raft log counters: $syncs fsyncs, $rwritten bytes written, $rlogsize bytes of segments"
[[ $(metric cabin_snapshots_total) == 0 ]] || fail "a snapshot before any was due"
post "$E" maintenance/defragment '{}' >/dev/null
curl -s "$E/metrics" >"$TMP/metrics"
[[ $(metric cabin_snapshots_total) == 1 ]] || fail "Defragment's snapshot not counted"
(( $(metric cabin_raft_log_fsyncs_total) >= syncs )) || fail "the fsync counter went back"
