# Configuration over the network, with no config drive: the OpenStack metadata service at
# 169.254.169.254 (served from the host through QEMU's guestfwd, answering 503 at first as
# one that is still starting), its EC2 paths when there is no OpenStack tree, a metadata
# service that never answers (degraded after the bounded wait, node up), and a NoCloud seed
# named by ds=nocloud;s=URL in the SMBIOS serial, served by an HTTP server on the host.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"
SERVER=$PWD/tests/integration/metadata_server.py

# boot NAME ARGS...: cabin up without a config drive; console in $TMP/NAME.log
boot() {
	local name=$1 state=$TMP/state-$1
	shift
	CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
	UP_RC=0
	"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 \
		--no-config-drive "$@" >"$TMP/$name.up" || UP_RC=$?
	cat "$TMP/$name.up"
	cp "$state/node1/serial.log" "$TMP/$name.log"
	"$CABIN" kill --state "$state" >/dev/null
}

note "OpenStack metadata service, starting slowly (two 503s first)"
os=$TMP/os/root/openstack/latest
mkdir -p "$os"
cat >"$os/meta_data.json" <<'JSON'
{"uuid": "8c6c1a2e-0000-4000-8000-000000000001", "name": "Meta Node",
 "hostname": "meta-1.example.org", "availability_zone": "nova",
 "public_keys": {"k": "ssh-ed25519 AAAA"}}
JSON
cat >"$os/network_data.json" <<'JSON'
{"links": [{"id": "tap1", "type": "ovs", "ethernet_mac_address": "52:54:00:12:34:56",
            "mtu": 1500}],
 "networks": [{"id": "n1", "link": "tap1", "type": "ipv4_dhcp"}],
 "services": [{"type": "dns", "address": "169.254.169.3"}]}
JSON
cat >"$os/user_data" <<'YAML'
#cloud-config
write_files:
  - path: /run/from-metadata
    content: hello from the metadata service
runcmd: [echo ignored]
YAML
boot os --network "user,net=169.254.169.0/24,guestfwd=tcp:169.254.169.254:80-cmd:python3 $SERVER $TMP/os/root --fail-first 2"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -Eq '^node1: cabin: ready version=[^ ]+ hostname=meta-1 source=metadata-service addrs=169\.254\.169\.15'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/os.up" || fail "no ready line with the metadata service's host name"
cat "$TMP/os/requests.log"
[[ $(grep -c 'GET /openstack/latest/meta_data.json' "$TMP/os/requests.log") -eq 3 ]] ||
	fail "meta_data.json not asked for three times (two 503s, then 200)"
grep -q 'GET /openstack/latest/user_data' "$TMP/os/requests.log" || fail "user_data not fetched"
grep -q 'GET /openstack/latest/network_data.json' "$TMP/os/requests.log" ||
	fail "network_data.json not fetched"
grep -q 'HTTP 503; again in' "$TMP/os.log" || fail "the 503s were not retried with a pause"
grep -q 'cabin: config: wrote /run/from-metadata (31 bytes' "$TMP/os.log" ||
	fail "write_files from the metadata service's user data not applied"
grep -q 'ignored: runcmd' "$TMP/os.log" || { grep 'config:' "$TMP/os.log"; fail "runcmd not noted as ignored"; }
grep -q 'net: /etc/resolv.conf from network_data.json' "$TMP/os.log" ||
	fail "DNS from network_data.json not used"

note "EC2 paths when the service has no OpenStack tree"
ec2=$TMP/ec2/root/2009-04-04
mkdir -p "$ec2/meta-data/placement"
echo i-0abc >"$ec2/meta-data/instance-id"
echo ec2-node.internal >"$ec2/meta-data/local-hostname"
echo zone-a >"$ec2/meta-data/placement/availability-zone"
printf '#cloud-config\nwrite_files:\n  - {path: /run/ec2, content: x}\n' >"$ec2/user-data"
boot ec2 --network "user,net=169.254.169.0/24,guestfwd=tcp:169.254.169.254:80-cmd:python3 $SERVER $TMP/ec2/root"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -q ' hostname=ec2-node source=metadata-service ' "$TMP/ec2.up" ||
	fail "EC2 meta data not used"
grep -q '(EC2 paths)' "$TMP/ec2.log" || fail "EC2 fallback not logged"
grep -q 'cabin: config: wrote /run/ec2 (1 bytes' "$TMP/ec2.log" || fail "EC2 user-data not applied"

note "NoCloud seed from ds=nocloud;s=URL in the SMBIOS serial"
mkdir -p "$TMP/seed"
printf 'instance-id: iid-seed\nlocal-hostname: seeded\n' >"$TMP/seed/meta-data"
printf '#cloud-config\nfqdn: seeded.example.net\n' >"$TMP/seed/user-data"
python3 -u -m http.server --bind 127.0.0.1 --directory "$TMP/seed" 0 >"$TMP/http.log" 2>&1 &
HTTP_PID=$!
CLEANUP+=("kill $HTTP_PID 2>/dev/null")
wait_for 10 "HTTP server port" grep -q 'Serving HTTP on' "$TMP/http.log"
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TMP/http.log" | head -1)
boot seed --qemu-arg -smbios --qemu-arg "type=1,serial=ds=nocloud;s=http://10.0.2.2:$port/"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -q ' hostname=seeded source=nocloud-net ' "$TMP/seed.up" || fail "NoCloud seed URL not used"
grep -q 'in the SMBIOS serial' "$TMP/seed.log" || fail "SMBIOS serial not named as the origin"
grep -q '"GET /network-config HTTP/1.1" 404' "$TMP/http.log" ||
	fail "the optional network-config was not asked for"

note "no metadata service at all (restrict=on: nothing leaves QEMU): degraded after the bounded wait, node up"
boot none --network user,restrict=on
[[ $UP_RC -eq 1 ]] || fail "cabin up should exit 1 for a degraded node, not $UP_RC"
grep -Eq '^node1: cabin: degraded reason="metadata-service http://169\.254\.169\.254/: no answer after [0-9]+ attempts in [0-9]+ s \(last: [^"]+\)" version=[^ ]+ hostname=cabin source=none addrs=10\.0\.2\.15[^ ]* boot_ms=[0-9]+$' \
	"$TMP/none.up" || fail "no degraded line naming the metadata service"
