# Networking at boot when DHCP never answers: a NIC on a link of its own (cabin up
# --network isolated) must leave the node up, degraded, naming the link, after the bounded
# wait, and the node must still power off cleanly. The DHCP success path (10.0.2.15 from
# QEMU's user network, resolv.conf, release at shutdown) is covered by boot.sh.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"

STATE=$TMP/state
CLEANUP+=("'$CABIN' kill --state '$STATE' >/dev/null 2>&1")
rc=0
"$CABIN" up --state "$STATE" --image "$IMAGE" --accel tcg --timeout 600 --network isolated \
	>"$TMP/up" || rc=$?
cat "$TMP/up"
[[ $rc -eq 1 ]] || fail "cabin up exited $rc for a node without DHCP"
grep -Eq '^node1: cabin: degraded reason="eth0: no DHCP answer in 15 s" version=[^ ]+ hostname=node1 source=config-drive addrs=none boot_ms=[0-9]+$' \
	"$TMP/up" || fail "no degraded line naming the link"
"$CABIN" down --state "$STATE" | grep -q 'node1: powered off cleanly' ||
	fail "no clean power-off while DHCP keeps trying"

command -v genisoimage >/dev/null || skip "genisoimage not installed"
# boot NAME DRIVE ARGS...: a config drive and a second NIC (MAC 52:54:00:00:00:02) on a
# link of its own; console in $TMP/NAME.log
boot2() {
	local name=$1 drive=$2 state=$TMP/state-$1
	shift 2
	CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
	UP_RC=0
	"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 \
		--config-drive "$drive" --qemu-arg -netdev --qemu-arg hubport,id=net1,hubid=1 \
		--qemu-arg -device --qemu-arg virtio-net-pci,netdev=net1,mac=52:54:00:00:00:02 \
		>"$TMP/$name.up" || UP_RC=$?
	cat "$TMP/$name.up"
	cp "$state/node1/serial.log" "$TMP/$name.log"
	"$CABIN" kill --state "$state" >/dev/null
}

note "network_data.json: DHCP on the first NIC, a static address, route and MTU on the second"
d=$TMP/cd/openstack/latest
mkdir -p "$d"
echo '{"uuid": "u-net", "hostname": "net-1"}' >"$d/meta_data.json"
cat >"$d/network_data.json" <<'JSON'
{"links": [
   {"id": "tapA", "type": "ovs", "ethernet_mac_address": "52:54:00:12:34:56", "mtu": 1500},
   {"id": "tapB", "type": "phy", "ethernet_mac_address": "52:54:00:00:00:02", "mtu": 1400}],
 "networks": [
   {"id": "net0", "link": "tapA", "type": "ipv4_dhcp"},
   {"id": "net1", "link": "tapB", "type": "ipv4", "ip_address": "192.168.77.10",
    "netmask": "255.255.255.0",
    "routes": [{"network": "10.99.0.0", "netmask": "255.255.0.0", "gateway": "192.168.77.1"}]}],
 "services": [{"type": "dns", "address": "192.168.77.53"}]}
JSON
genisoimage -quiet -V config-2 -J -r -o "$TMP/net.iso" "$TMP/cd"
boot2 static "$TMP/net.iso"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -Eq '^node1: cabin: ready version=[^ ]+ hostname=net-1 source=config-drive addrs=10\.0\.2\.15,192\.168\.77\.10'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/static.up" || fail "no ready line with the DHCP and the static address"
grep -q 'net: eth1: 192.168.77.10/24 (network_data.json)' "$TMP/static.log" ||
	fail "static address not logged"
grep -q 'net: eth1: route 10.99.0.0/16 via 192.168.77.1' "$TMP/static.log" ||
	fail "static route not added"
grep -q 'net: eth1: MTU 1400' "$TMP/static.log" || fail "MTU not set"
grep -q 'net: /etc/resolv.conf from network_data.json' "$TMP/static.log" ||
	fail "DNS service from network_data.json not used"

note "network_data.json naming a MAC no NIC has: degraded, naming file, link and MAC; still up"
sed -i 's/52:54:00:00:00:02/52:54:00:99:99:99/' "$d/network_data.json"
genisoimage -quiet -V config-2 -J -r -o "$TMP/badmac.iso" "$TMP/cd"
boot2 badmac "$TMP/badmac.iso"
[[ $UP_RC -eq 1 ]] || fail "cabin up should exit 1 for a degraded node, not $UP_RC"
grep -Eq '^node1: cabin: degraded reason="network_data.json: links\[1\]: no interface with 52:54:00:99:99:99" version=[^ ]+ hostname=net-1 source=config-drive addrs=10\.0\.2\.15[^ ]* boot_ms=[0-9]+$' \
	"$TMP/badmac.up" || fail "no degraded line naming the unknown MAC"

note "NoCloud network-config v2 on a FAT seed: DHCP on eth0 by MAC, static on the second NIC by name"
export MTOOLS_SKIP_CHECK=1
truncate -s 4M "$TMP/seed.img"
mformat -i "$TMP/seed.img" -v cidata ::
printf 'instance-id: i-v2\nlocal-hostname: v2-node\n' >"$TMP/meta-data"
cat >"$TMP/network-config" <<'YAML'
network:
  version: 2
  ethernets:
    first:
      match: {macaddress: "52:54:00:12:34:56"}
      dhcp4: true
    eth1:
      addresses: [192.168.88.20/24, "fd00:88::20/64"]
      routes:
        - {to: 10.77.0.0/16, via: 192.168.88.1, metric: 50}
      nameservers: {addresses: [192.168.88.53], search: [lab.example]}
YAML
mcopy -i "$TMP/seed.img" "$TMP/meta-data" "$TMP/network-config" ::/
boot2 v2 "$TMP/seed.img"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -Eq '^node1: cabin: ready version=[^ ]+ hostname=v2-node source=nocloud addrs=10\.0\.2\.15,192\.168\.88\.20'"$SLAAC"',fd00:88::20 boot_ms=[0-9]+$' \
	"$TMP/v2.up" || fail "no ready line with the network-config addresses"
grep -q 'net: eth1: route 10.77.0.0/16 via 192.168.88.1' "$TMP/v2.log" || fail "v2 route not added"
grep -q 'net: /etc/resolv.conf from network-config' "$TMP/v2.log" || fail "v2 name servers not used"

note "carrier lost and back (QMP set_link): the DHCP client goes quiet, then confirms its lease"
state=$TMP/state-flap
CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 >"$TMP/flap.up" ||
	fail "cabin up exited $?"
log=$state/node1/serial.log
qmp() {
	/usr/bin/python3 - "$state/node1/qmp.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
for cmd in ({"execute": "qmp_capabilities"}, json.loads(sys.argv[2])):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while "return" not in (r := json.loads(f.readline())) and "error" not in r:
        pass
    assert "return" in r, r
PY
}
leases=$(grep -c 'dhcp: eth0: 10.0.2.15/24 from 10.0.2.2' "$log")
qmp '{"execute": "set_link", "arguments": {"name": "net0", "up": false}}' || fail "QMP set_link off"
wait_for 60 "carrier lost" grep -q 'dhcp: eth0: carrier lost' "$log"
qmp '{"execute": "set_link", "arguments": {"name": "net0", "up": true}}' || fail "QMP set_link on"
wait_for 60 "carrier up" grep -q 'dhcp: eth0: carrier up; confirming the lease' "$log"
confirmed() { test "$(grep -c 'dhcp: eth0: 10.0.2.15/24 from 10.0.2.2' "$log")" -gt "$leases"; }
for _ in $(seq 300); do confirmed && break; sleep 0.2; done
confirmed || { grep -a 'dhcp\|net:' "$log"; fail "the lease was not confirmed after the carrier came back"; }
"$CABIN" kill --state "$state" >/dev/null
