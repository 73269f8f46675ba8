# Peer TLS: three cabind members whose peer URLs are https://, each with a certificate of
# one CA (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file,
# --peer-client-cert-auth), form a cluster and replicate. A member whose certificate
# another CA signed is added but cannot join: the others refuse its connections, and it
# never sees the cluster's writes. Nor does one whose certificate, of the right CA, is for
# another address than its peer URL's: the members dialling it refuse it, as etcd's do. A
# client without a certificate is refused on the peer port.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
command -v openssl >/dev/null || skip "openssl not installed"
export ETCDCTL_API=3

C=$TMP/pki
mkdir -p "$C"
ext=$'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'	# server and client
for ca in ca other-ca; do tls_ca $ca; done
for i in 1 2 3; do tls_cert "m$i" ca "$ext"; done
tls_cert m4 other-ca "$ext"
tls_cert m5 ca $'subjectAltName=IP:10.9.9.9,DNS:elsewhere.example\nextendedKeyUsage=serverAuth,clientAuth'
[[ -s $C/m1.pem && -s $C/m4.pem ]] || fail "openssl made no certificates"

cluster_ports 5
IC=$(sed 's/http:/https:/g' <<<"$IC" | cut -d, -f1-3)
start_tls_member() {	# I [FLAGS...]
	local i=$1
	shift
	"$CABIND" --name "m$i" --data-dir "$TMP/m$i" \
		--listen-client-urls "http://127.0.0.1:${CP[i]}" \
		--advertise-client-urls "http://127.0.0.1:${CP[i]}" \
		--listen-peer-urls "https://127.0.0.1:${PP[i]}" \
		--initial-advertise-peer-urls "https://127.0.0.1:${PP[i]}" \
		--peer-cert-file "$C/m$i.pem" --peer-key-file "$C/m$i.key" \
		--peer-trusted-ca-file "$C/ca.pem" --peer-client-cert-auth \
		--initial-cluster "$IC" "$@" >>"$TMP/m$i.out" 2>>"$TMP/m$i.log" &
	PID[i]=$!
	CLEANUP+=("kill -9 ${PID[i]} 2>/dev/null")
}
THREE="$(ep 1),$(ep 2),$(ep 3)"
for i in 1 2 3; do start_tls_member $i; done
wait_for 30 "a leader over peer TLS" all_follow "$THREE"
grep -q "listening for peers on https://127.0.0.1:${PP[1]}" "$TMP/m1.log" || fail "no https peer port"
E 1 put k v >/dev/null || fail "put"
at() { [[ $(E "$1" get k --consistency=s --print-value-only) == v ]]; }
for i in 2 3; do wait_for 5 "the write at member $i" at $i; done

note "the peer port refuses a client without a certificate"
# with TLS 1.3 the client may finish its side before the server's refusal reaches it: the
# server's log says whether it refused
timeout 5 openssl s_client -connect "127.0.0.1:${PP[1]}" -CAfile "$C/ca.pem" </dev/null \
	>"$TMP/s_client.out" 2>&1 || true
no_cert_refused() { grep -q "TLS handshake: .*No client certification received" "$TMP/m1.log"; }
wait_for 5 "member 1 to refuse a client without a certificate" no_cert_refused

note "a member with another CA's certificate cannot join"
E 1 member add m4 --peer-urls="https://127.0.0.1:${PP[4]}" >/dev/null || fail "member add"
IC="$IC,m4=https://127.0.0.1:${PP[4]}"
"$CABIND" --name m4 --data-dir "$TMP/m4" \
	--listen-client-urls "http://127.0.0.1:${CP[4]}" --advertise-client-urls "http://127.0.0.1:${CP[4]}" \
	--listen-peer-urls "https://127.0.0.1:${PP[4]}" --initial-advertise-peer-urls "https://127.0.0.1:${PP[4]}" \
	--peer-cert-file "$C/m4.pem" --peer-key-file "$C/m4.key" --peer-trusted-ca-file "$C/other-ca.pem" \
	--peer-client-cert-auth --initial-cluster "$IC" --initial-cluster-state existing \
	>"$TMP/m4.out" 2>"$TMP/m4.log" &
CLEANUP+=("kill -9 $! 2>/dev/null")
refused() { cat "$TMP"/m[123].log "$TMP/m4.log" | grep -q "TLS handshake"; }
wait_for 15 "a refused TLS handshake" refused
sleep 2
[[ -z $(E 4 get k --consistency=s --print-value-only 2>/dev/null) ]] ||
	fail "the member with the stranger's certificate got the cluster's data"
grep -h "TLS handshake" "$TMP"/m[1234].log | head -n 2
E 2 put k2 v2 >/dev/null || fail "the cluster stops writing while a stranger knocks"

note "a member whose certificate is for another address cannot join"
E 1 member add m5 --peer-urls="https://127.0.0.1:${PP[5]}" >/dev/null || fail "member add m5"
IC="$IC,m5=https://127.0.0.1:${PP[5]}"
start_tls_member 5 --initial-cluster-state existing
wrong_name() { grep -q "connection to 127.0.0.1 refused: TLS handshake: .*X509 - Certificate verification failed.*Common Name" "$TMP"/m[123].log; }
wait_for 15 "a member to refuse m5's certificate for 10.9.9.9" wrong_name
grep -h "connection to 127.0.0.1 refused.*Common Name" "$TMP"/m[123].log | head -n 1
sleep 2
[[ -z $(E 5 get k --consistency=s --print-value-only 2>/dev/null) ]] ||
	fail "the member with a certificate for another address got the cluster's data"
E 3 put k3 v3 >/dev/null || fail "the cluster stops writing while m5 knocks"
