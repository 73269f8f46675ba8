# Client TLS on the KV port (https:// listen URLs, --cert-file --key-file
# --trusted-ca-file --client-cert-auth) against etcd 3.4: the same etcdctl, curl and
# python3-etcd3 checks on both, outputs diffed after normalising ports and member ids;
# start-up errors; clients without a certificate or with one from another CA refused by
# both; bad input to the TLS port leaves cabind serving.
source tests/integration/lib.sh
command -v etcd >/dev/null || skip "etcd not installed (Debian etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl not installed (Debian etcd-client)"
command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
export ETCDCTL_API=3

note "certificates: a CA, a server (IP:127.0.0.1, DNS:localhost), a client, and a client of another CA"
C=$TMP/pki
mkdir -p "$C"
for ca in ca other-ca; do tls_ca $ca; done
tls_cert server ca $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'
tls_cert client ca 'extendedKeyUsage=clientAuth'
tls_cert stranger other-ca 'extendedKeyUsage=clientAuth'
[[ -s $C/server.pem && -s $C/client.pem && -s $C/stranger.pem ]] || fail "openssl made no certificates"

# ---- start-up errors --------------------------------------------------------------------
# refuses NAME CMD...: CMD must exit (not serve) with a non-zero status; its output is
# in $TMP/NAME.err
refuses() {
	local name=$1 rc=0
	shift
	timeout 30 "$@" >"$TMP/$name.err" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] || { cat "$TMP/$name.err"; fail "$name: started (exit $rc)"; }
}
P=$(free_port)
URL=https://127.0.0.1:$P
etcd_bad() { refuses "etcd-$1" etcd --data-dir "$TMP/etcd-$1" --listen-client-urls "$URL" \
	--advertise-client-urls "$URL" "${@:2}"; }
cabind_bad() { refuses "cabind-$1" "$CABIND" --name ref --data-dir "$TMP/cabind-$1" \
	--listen-client-urls "$URL" "${@:2}"; }
# has NAME PATTERN: NAME's output matches the (grep -E) pattern
has() { grep -Eq -- "$2" "$TMP/$1.err" || { cat "$TMP/$1.err"; fail "$1: no /$2/"; }; }

note "https:// without --cert-file/--key-file: the same message as etcd"
etcd_bad nocert
cabind_bad nocert
msg="TLS key/cert \(--cert-file, --key-file\) must be provided for client url https://127.0.0.1:$P with HTTPS scheme"
has etcd-nocert "$msg"
has cabind-nocert "$msg"
note "a missing certificate file: both name it"
etcd_bad nofile --cert-file "$C/none.pem" --key-file "$C/server.key"
cabind_bad nofile --cert-file "$C/none.pem" --key-file "$C/server.key"
has etcd-nofile "$C/none.pem: no such file or directory"
has cabind-nofile "--cert-file $C/none.pem: No such file or directory"
note "an invalid certificate, an invalid key, a key of another certificate: cabind names the file and why"
echo junk >"$C/junk.pem"
cabind_bad badcert --cert-file "$C/junk.pem" --key-file "$C/server.key"
has cabind-badcert "--cert-file $C/junk.pem: X509 - "
cabind_bad badkey --cert-file "$C/server.pem" --key-file "$C/junk.pem"
has cabind-badkey "--key-file $C/junk.pem: PK - "
cabind_bad wrongkey --cert-file "$C/server.pem" --key-file "$C/client.key"
has cabind-wrongkey "--key-file $C/client.key is not the key of --cert-file $C/server.pem"
note "--client-cert-auth without --trusted-ca-file: cabind refuses (etcd 3.4 starts and checks against the system's CAs)"
cabind_bad noca --cert-file "$C/server.pem" --key-file "$C/server.key" --client-cert-auth
has cabind-noca "--client-cert-auth needs --trusted-ca-file"
cat "$TMP"/cabind-*.err

# ---- the same clients against both ------------------------------------------------------
SRV=(--cert-file "$C/server.pem" --key-file "$C/server.key" --trusted-ca-file "$C/ca.pem"
	--client-cert-auth)
KV_TLS=(--cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key")
start_etcd_ref "${SRV[@]}"
start_cabind_kv -- "${SRV[@]}"

ctl() {
	local ep=$1
	shift
	etcdctl --endpoints "$ep" --dial-timeout=3s --command-timeout=5s "$@" 2>&1 |
		grep -v '^{"level":' || true
}
norm() {
	sed -E -e 's/"(cluster_id|member_id|raft_term)":"?[0-9]+"?/"\1":0/g' \
		-e 's/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/g' -e 's/took = [^ ]+/took = T/'
}
# the watcher's output, once it holds the event
watch_one() {
	local ep=$1 out=$2
	etcdctl --endpoints "$ep" "${KV_TLS[@]}" watch --rev 1 w1 >"$out" 2>/dev/null &
	local pid=$!
	wait_for 15 "the watch event" grep -qx v1 "$out"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	cat "$out"
}

script() {
	local ep=$1 base=$2 out=$3
	echo "== etcdctl"
	ctl "$ep" "${KV_TLS[@]}" put foo bar
	ctl "$ep" "${KV_TLS[@]}" put --prev-kv foo baz
	ctl "$ep" "${KV_TLS[@]}" get foo
	ctl "$ep" "${KV_TLS[@]}" get -w json foo
	ctl "$ep" "${KV_TLS[@]}" put w1 v1
	watch_one "$ep" "$out.watch"
	ctl "$ep" "${KV_TLS[@]}" del --prev-kv foo
	ctl "$ep" "${KV_TLS[@]}" get --prefix ""
	ctl "$ep" "${KV_TLS[@]}" lease grant 60 | sed -E 's/lease [0-9a-f]+ granted/lease L granted/'
	ctl "$ep" "${KV_TLS[@]}" endpoint health
	ctl "$ep" "${KV_TLS[@]}" endpoint status -w json |
		/usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(s["Endpoint"], s["Status"]["leader"] == s["Status"]["header"]["member_id"], s["Status"]["header"]["revision"])'
	echo "== refused: no client certificate, a certificate of another CA, a server of another CA"
	ctl "$ep" --cacert "$C/ca.pem" get foo | tail -n 1
	ctl "$ep" --cacert "$C/ca.pem" --cert "$C/stranger.pem" --key "$C/stranger.key" get foo |
		tail -n 1
	ctl "$ep" --cacert "$C/other-ca.pem" --cert "$C/client.pem" --key "$C/client.key" get foo |
		tail -n 1
	echo "== the JSON gateway over TLS (curl's ALPN offer, --http1.1, --http2)"
	local cu=(curl -sS --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key")
	"${cu[@]}" -w ' %{http_code}\n' -X POST "$base/v3/kv/range" -d '{"key":"dzE="}'
	"${cu[@]}" -w ' %{http_code}\n' --http1.1 -X POST "$base/v3/kv/put" \
		-d '{"key":"Zm9v","value":"YmFy"}'
	"${cu[@]}" -w ' %{http_code}\n' --http2 -X POST "$base/v3/kv/range" -d '{"key":"Zm9v"}'
	"${cu[@]}" -w ' %{http_code}\n' --http1.1 "$base/health"
	"${cu[@]}" -w ' %{http_code}\n' "$base/health"
	curl -sS --cacert "$C/ca.pem" "$base/health" 2>/dev/null && echo "served without a client certificate"
	echo "== python3-etcd3"
	/usr/bin/python3 - "${base##*:}" "$C" <<'PY' 2>&1
import sys
import etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10,
                 ca_cert=sys.argv[2] + "/ca.pem", cert_key=sys.argv[2] + "/client.key",
                 cert_cert=sys.argv[2] + "/client.pem")
c.put("/py/a", "1")
c.put("/py/b", b"\x00\xff")
print("get", c.get("/py/a")[0], [(v, m.key) for v, m in c.get_prefix("/py/")])
print("delete", c.delete("/py/a"), c.get("/py/a"))
PY
}

script "https://127.0.0.1:$P_ETCD" "https://127.0.0.1:$P_ETCD" "$TMP/etcd" | norm >"$TMP/etcd.txt"
script "https://127.0.0.1:$P_CABIN" "https://127.0.0.1:$P_CABIN" "$TMP/cabind" | norm >"$TMP/cabind.txt"
[[ -z ${KEEP_OUT:-} ]] || cp "$TMP/etcd.txt" "$TMP/cabind.txt" "$KEEP_OUT/"
cat "$TMP/cabind.txt"
diff -u "$TMP/etcd.txt" "$TMP/cabind.txt" || fail "cabind answers TLS clients differently from etcd 3.4"
note "$(grep -c . "$TMP/etcd.txt") lines identical"
grep -q '^PUT$' "$TMP/cabind.txt" || fail "no watch event"
grep -q 'is healthy' "$TMP/cabind.txt" || fail "endpoint health"
[[ $(grep -c 'context deadline exceeded' "$TMP/cabind.txt") -eq 3 ]] || fail "a refused client got through"

note "ALPN: gRPC clients get h2; curl, offering h2 and http/1.1, gets http/1.1 from cabind (etcd: h2)"
ver() {
	curl -s -o /dev/null -w '%{http_version}' --cacert "$C/ca.pem" --cert "$C/client.pem" \
		--key "$C/client.key" "$@"
}
printf 'etcd %s, cabind %s (curl --http2)\n' "$(ver --http2 "https://127.0.0.1:$P_ETCD/health")" \
	"$(ver --http2 "https://127.0.0.1:$P_CABIN/health")"
[[ $(ver --http2 "https://127.0.0.1:$P_CABIN/health") == 1.1 ]] || fail "curl did not get HTTP/1.1"
alpn=$(openssl s_client -connect "127.0.0.1:$P_CABIN" -alpn h2 -CAfile "$C/ca.pem" \
	-cert "$C/client.pem" -key "$C/client.key" </dev/null 2>/dev/null | grep -a '^ALPN protocol')
[[ $alpn == 'ALPN protocol: h2' ]] || fail "a client offering only h2 got: $alpn"

# ---- bad input ----------------------------------------------------------------------------
note "bad input to the TLS port: plain HTTP, random bytes, a handshake that stalls"
EP=https://127.0.0.1:$P_CABIN
out=$(curl -s -m 5 "http://127.0.0.1:$P_CABIN/health" 2>&1) && fail "plain HTTP was answered: $out"
/usr/bin/python3 - "$P_CABIN" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
for first in (b"\x16\x03\x01\x00\x05", b""):  # a record header with junk after it, pure junk
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(first + os.urandom(4096))
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
PY
# a client that sends half a ClientHello and waits: others are served meanwhile
exec 3<>"/dev/tcp/127.0.0.1/$P_CABIN" || fail "connect"
printf '\x16\x03\x01\x02\x00\x01' >&3
ctl "$EP" "${KV_TLS[@]}" put after-bad-input yes | grep -qx OK || fail "not served while a handshake stalls"
exec 3>&-
ctl "$EP" "${KV_TLS[@]}" get after-bad-input | grep -qx yes || fail "not served after bad input"
note "a client that connects and sends nothing is dropped after 10 s"
exec 4<>"/dev/tcp/127.0.0.1/$P_CABIN" || fail "connect"
wait_for 30 "the silent connection to be dropped" \
	grep -q 'closing a TLS connection that sent no request within 10 s' "$TMP/cabind.log"
exec 4>&-
ctl "$EP" "${KV_TLS[@]}" get after-bad-input | grep -qx yes || fail "not served after a silent client"
kill -0 "$CABIND_PID" || fail "cabind died"
grep 'rejected connection' "$TMP/cabind.log" | sed -E 's/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/' | sort | uniq -c
grep -q 'rejected connection from 127.0.0.1:[0-9]*: TLS handshake: .*No client certification' \
	"$TMP/cabind.log" || fail "no log line for a client without a certificate"

# ---- https and http side by side, server-only TLS -----------------------------------------
note "mixed URLs: https (no client certificates asked) and http on one cabind"
kill "$CABIND_PID"
wait "$CABIND_PID" 2>/dev/null || true
P1=$(free_port)
P2=$(free_port)
"$CABIND" --name ref --data-dir "$TMP/cabind-mixed" \
	--listen-client-urls "https://127.0.0.1:$P1,http://127.0.0.1:$P2" \
	--cert-file "$C/server.pem" --key-file "$C/server.key" >/dev/null 2>"$TMP/mixed.log" &
MIXED=$!
CLEANUP+=("kill $MIXED 2>/dev/null")
wait_for 30 "cabind (mixed)" grep -q 'cabin: ready' "$TMP/mixed.log"
grep -q "serving clients on https://127.0.0.1:$P1" "$TMP/mixed.log" || fail "no https listener"
grep -q "serving clients on http://127.0.0.1:$P2" "$TMP/mixed.log" || fail "no http listener"
ctl "https://127.0.0.1:$P1" --cacert "$C/ca.pem" put mixed 1 | grep -qx OK || fail "https put"
ctl "http://127.0.0.1:$P2" get --print-value-only mixed | grep -qx 1 || fail "http get"
out=$(curl -sS --cacert "$C/ca.pem" "https://127.0.0.1:$P1/health")
[[ $out == '{"health":"true"}' ]] || fail "https /health: $out"
out=$(/usr/bin/python3 -c 'import sys, etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), ca_cert=sys.argv[2], timeout=10)
print(c.get("mixed")[0])' "$P1" "$C/ca.pem")
[[ $out == "b'1'" ]] || fail "python3-etcd3 with a CA only: $out"
note "all TLS checks passed"
