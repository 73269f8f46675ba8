# The image `make` wrote: a clean qcow2 v3 that qemu-img reads as the same disk, an MBR
# with a bootable FAT partition holding syslinux, kernel and initramfs, an ext4 data
# partition that fsck finds clean, and a manifest whose hashes are true.
source tests/integration/lib.sh
command -v qemu-img >/dev/null || skip "qemu-img not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"

note "qemu-img check / info"
qemu-img check "$IMAGE" | tee "$TMP/check"
grep -q 'No errors were found on the image' "$TMP/check" || fail "qemu-img check"
qemu-img info --output=json "$IMAGE" >"$TMP/info"
/usr/bin/python3 - "$TMP/info" <<'PY' || fail "qemu-img info"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["format"] == "qcow2", i
assert i["format-specific"]["data"]["compat"] == "1.1", i
assert i["virtual-size"] == 1 << 30, i
assert i["actual-size"] < 64 << 20, i   # sparse
PY

note "raw disk: partitions"
qemu-img convert -O raw "$IMAGE" "$TMP/disk.raw"
qemu-img compare -f qcow2 -F raw "$IMAGE" "$TMP/disk.raw" | grep -q 'Images are identical' ||
	fail "qemu-img compare"
sfdisk --json "$TMP/disk.raw" >"$TMP/parts"
/usr/bin/python3 - "$TMP/parts" <<'PY' || fail "partition table"
import json, sys
t = json.load(open(sys.argv[1]))["partitiontable"]
assert t["label"] == "dos", t
p = t["partitions"]
assert len(p) == 2, p
assert p[0]["start"] == 2048 and p[0]["type"] == "e" and p[0].get("bootable"), p[0]
assert p[1]["type"] == "83" and p[1]["start"] == p[0]["start"] + p[0]["size"], p[1]
PY
cmp -n 440 "$TMP/disk.raw" /usr/lib/syslinux/mbr/mbr.bin || fail "MBR boot code is not syslinux's"

note "boot partition"
export MTOOLS_SKIP_CHECK=1
mdir -a -i "$TMP/disk.raw@@1048576" :: | tee "$TMP/dir"
for f in 'ldlinux +sys' 'ldlinux +c32' 'vmlinuz ' 'initrd +img' 'syslinux +cfg'; do
	grep -Eiq "^$f" "$TMP/dir" || fail "boot partition lacks $f"
done
mtype -i "$TMP/disk.raw@@1048576" ::/syslinux.cfg | grep -q 'APPEND console=tty0 console=ttyS0' ||
	fail "syslinux.cfg"
mcopy -i "$TMP/disk.raw@@1048576" ::/initrd.img "$TMP/initrd.zst"
zstd -dq "$TMP/initrd.zst" -o "$TMP/initrd.cpio"
cpio -it <"$TMP/initrd.cpio" 2>/dev/null >"$TMP/list"
for f in init dev/console sbin/poweroff lib/modules/cabin.list; do
	grep -qx "$f" "$TMP/list" || fail "initramfs lacks $f"
done
(cd "$TMP" && mkdir x && cd x && cpio -id 'lib/modules/cabin*.list' <../initrd.cpio 2>/dev/null)
n=$(wc -l <"$TMP/x/lib/modules/cabin.list")
note "initramfs: $(wc -l <"$TMP/list") entries, $n modules in the load list"
((n >= 15)) || fail "module list too short ($n)"
grep -q '/virtio_blk.ko$' "$TMP/x/lib/modules/cabin.list" || fail "virtio_blk not in the boot stage"
# overlay networking loads after the ready line, and nothing is in both stages
for m in vxlan bridge tun overlay; do
	grep -q "/$m.ko$" "$TMP/x/lib/modules/cabin-late.list" || fail "$m not loaded after ready"
done
! grep -q '/vxlan.ko$' "$TMP/x/lib/modules/cabin.list" || fail "vxlan in the boot stage"
for m in ahci ata_piix sr_mod; do
	grep -q "/$m.ko$" "$TMP/x/lib/modules/cabin-cdrom.list" || fail "$m not in the CD-ROM stage"
done
[[ -z $(sort "$TMP"/x/lib/modules/cabin*.list | uniq -d) ]] || fail "a module in both stages"
while read -r ko; do
	grep -qx "${ko#/}" "$TMP/list" || fail "listed module $ko is not in the initramfs"
done < <(cat "$TMP"/x/lib/modules/cabin*.list)
# ext4 loads in the data stage, in the background; crc32c_generic (its soft dependency)
# and jbd2 before it
awk '/crc32c_generic/ {c=NR} /jbd2.ko/ {j=NR} /\/ext4.ko/ {e=NR} END {exit !(c && j && c < e && j < e)}' \
	"$TMP/x/lib/modules/cabin-data.list" || fail "module order"
! grep -q '/ext4.ko$' "$TMP/x/lib/modules/cabin.list" || fail "ext4 in the boot stage"

note "data partition"
start=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["partitiontable"]["partitions"][1]["start"])' "$TMP/parts")
dd if="$TMP/disk.raw" of="$TMP/data.ext4" bs=512 skip="$start" conv=sparse status=none
e2fsck -fn "$TMP/data.ext4" || fail "e2fsck on the data partition"
dumpe2fs -h "$TMP/data.ext4" 2>/dev/null | grep -q 'volume name: *cabin-data' || fail "data label"

note "manifest"
/usr/bin/python3 - build/cabin.manifest.json "$IMAGE" <<'PY' || fail "manifest"
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
assert m["output"]["sha256"] == sha(sys.argv[2]), "output sha256"
roles = {e["role"] for e in m["inputs"]}
for r in ("cabind", "kernel", "module", "module-list", "mbr", "syslinux"):
    assert r in roles, r
for e in m["inputs"]:
    assert e["sha256"] == sha(e["path"]), e["path"]
    assert e["size"] == os.path.getsize(e["path"]), e["path"]
print(len(m["inputs"]), "inputs verified")
PY
