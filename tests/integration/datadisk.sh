# The data disk: on a disk larger than the image (as cloud flavors give), cabind grows
# partition 2 to the end of the disk and the ext4 on it online, and mounts it; the result
# must be a clean filesystem filling the disk. Without a data filesystem the node comes up
# degraded, on tmpfs.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
command -v qemu-img >/dev/null || skip "qemu-img not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"

note "a 2 GiB disk"
qemu-img convert -O qcow2 "$IMAGE" "$TMP/big.qcow2"
qemu-img resize -q "$TMP/big.qcow2" 2G
STATE=$TMP/state
CLEANUP+=("'$CABIN' kill --state '$STATE' >/dev/null 2>&1")
"$CABIN" up --state "$STATE" --image "$TMP/big.qcow2" --accel tcg --timeout 600 | tee "$TMP/up"
grep -q '^node1: cabin: ready ' "$TMP/up" || fail "not ready"
log=$STATE/node1/serial.log
grep -q 'cabin: data: partition vda2 grown from 959 to 1983 MiB' "$log" || fail "partition not grown"
grep -q 'cabin: data: ext4 resized to 1983 MiB' "$log" || fail "ext4 not resized"
grep -q 'cabin: data: /dev/vda2 (cabin-data, 1983 MiB) mounted on /var/lib/cabin' "$log" ||
	fail "not mounted"
"$CABIN" down --state "$STATE" | grep -q 'powered off cleanly' || fail "unclean shutdown"

note "the disk afterwards: partition to the end, clean ext4 filling it"
qemu-img convert -O raw "$STATE/node1/disk.qcow2" "$TMP/disk.raw"
sfdisk --json "$TMP/disk.raw" >"$TMP/parts"
read -r start size < <(/usr/bin/python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["partitiontable"]["partitions"][1]
print(p["start"], p["size"])' "$TMP/parts")
disk=$(($(stat -c %s "$TMP/disk.raw") / 512))
((start + size <= disk && start + size > disk - 8)) ||
	fail "partition 2 ends at $((start + size)), disk has $disk sectors"
dd if="$TMP/disk.raw" of="$TMP/data.ext4" bs=512 skip="$start" count="$size" conv=sparse status=none
e2fsck -fn "$TMP/data.ext4" || fail "e2fsck after the online resize"
blocks=$(dumpe2fs -h "$TMP/data.ext4" 2>/dev/null | sed -n 's/^Block count: *//p')
((blocks * 8 == size)) || fail "ext4 has $blocks blocks for a $size-sector partition"

note "no data filesystem: degraded, on tmpfs"
qemu-img convert -O raw "$IMAGE" "$TMP/nodata.raw"
read -r start size < <(sfdisk --json "$TMP/nodata.raw" | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][1]
print(p["start"], p["size"])')
dd if=/dev/zero of="$TMP/nodata.raw" bs=512 seek=$((start + 2)) count=2 conv=notrunc status=none
qemu-img convert -O qcow2 "$TMP/nodata.raw" "$TMP/nodata.qcow2"
rc=0
"$CABIN" up --state "$TMP/state2" --image "$TMP/nodata.qcow2" --accel tcg --timeout 600 \
	>"$TMP/up2" || rc=$?
CLEANUP+=("'$CABIN' kill --state '$TMP/state2' >/dev/null 2>&1")
cat "$TMP/up2"
[[ $rc -eq 1 ]] || fail "cabin up exited $rc for a degraded node"
grep -q '^node1: cabin: degraded reason="no ext4 filesystem labelled cabin-data: data on tmpfs"' \
	"$TMP/up2" || fail "no degraded line for the missing data filesystem"
