# Boots the real image under QEMU with `cabin up`, checks the ready line, `cabin status`
# and `cabin console`, then powers it off through QMP (ACPI power button) with
# `cabin down` and checks that cabind shut down cleanly and QEMU exited by itself.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"

STATE=$TMP/state
CLEANUP+=("'$CABIN' kill --state '$STATE' >/dev/null 2>&1")

note "cabin up"
"$CABIN" up --state "$STATE" --image "$IMAGE" --timeout 600 | tee "$TMP/up.out"
grep -Eq '^node1: cabin: ready version=[^ ]+ hostname=[a-z0-9.-]+ source=config-drive addrs=10\.0\.2\.15'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/up.out" || fail "cabin up did not print the ready line"
ms=$(sed -n 's/.*boot_ms=\([0-9]*\).*/\1/p' "$TMP/up.out")
note "boot_ms=$ms (guest time from kernel start)"

note "a second cabin up is refused while the node runs"
expect_fail 1 "already running" "$CABIN" up --state "$STATE" --image "$IMAGE"

note "cabin status"
"$CABIN" status --state "$STATE" | tee "$TMP/status"
grep -Eq '^node1 +running +[0-9]+ +(kvm|tcg) +127\.0\.0\.1:[0-9]+ +cabin: ready ' "$TMP/status" ||
	fail "status does not show node1 running and ready"

note "cabin console"
"$CABIN" console --state "$STATE" node1 >"$TMP/console"
grep -Eq 'cabin: modules: [0-9]+ loaded, 0 failed' "$TMP/console" ||
	fail "console: modules did not all load"
# boot, data (in the background before the data disk) and, once the node is ready,
# after-ready: three "loaded" lines
wait_for 60 "after-ready modules" bash -c "'$CABIN' console --state '$STATE' node1 |
	grep -Eq 'cabin: ready .*' && [ \$('$CABIN' console --state '$STATE' node1 |
	grep -Ec 'cabin: modules: [0-9]+ loaded, 0 failed') -eq 3 ]"
grep -q 'cabin: power: watching .*(Power Button)' "$TMP/console" ||
	fail "console: power button not watched"
grep -q 'cabin: dhcp: eth0: 10.0.2.15/24 from 10.0.2.2, lease 86400 s' "$TMP/console" ||
	fail "console: no DHCP lease from QEMU's user network"
grep -q 'cabin: net: /etc/resolv.conf from DHCP' "$TMP/console" ||
	fail "console: resolv.conf not written"
grep -q '^cabin: ready ' "$TMP/console" || fail "console: no ready line"
expect_fail 1 "no node 'node7'" "$CABIN" console --state "$STATE" node7

note "Ctrl-Alt-Del (QMP send-key) is a clean reboot, not an instant one"
/usr/bin/python3 - "$STATE/node1/qmp.sock" <<'PY' || fail "QMP send-key"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
def cmd(c):
    f.write(json.dumps(c) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
cmd({"execute": "qmp_capabilities"})
keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
r = cmd({"execute": "send-key", "arguments": {"keys": keys}})
assert "return" in r, r
PY
log=$STATE/node1/serial.log
wait_for 60 "reboot line" grep -q 'cabin: shutdown action=reboot reason="SIGINT from pid 0"' "$log"
wait_for 60 "restart" grep -q 'reboot: Restarting system' "$log"
wait_for 300 "ready after reboot" bash -c "[ \$(grep -c '^cabin: ready ' '$log') -ge 2 ]"

note "cabin down"
pid=$(cat "$STATE/node1/qemu.pid")
"$CABIN" down --state "$STATE" --timeout 120 | tee "$TMP/down.out"
grep -q 'node1: powered off cleanly' "$TMP/down.out" || fail "down was not clean"
! kill -0 "$pid" 2>/dev/null || fail "QEMU still running after down"
log=$STATE/node1/serial.log
grep -q 'cabin: shutdown action=poweroff reason="power button"' "$log" ||
	fail "cabind did not see the power button"
grep -q 'cabin: shutdown complete, poweroff' "$log" || fail "shutdown did not complete"
grep -q 'cabin: dhcp: eth0: lease gone, address removed' "$log" || fail "no DHCP release at shutdown"
grep -q 'reboot: Power down' "$log" || fail "kernel did not power down"
"$CABIN" status --state "$STATE" | grep -Eq '^node1 +stopped' || fail "status after down"
"$CABIN" down --state "$STATE" | grep -q 'node1: not running' || fail "second down"
