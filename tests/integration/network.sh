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
