# Configuration sources found on block devices: an OpenStack config drive as iso9660 on a
# CD-ROM with only dated version directories, a NoCloud seed on a FAT disk, and a
# truncated ISO whose
# label is intact but whose files are gone (the node must come up degraded, saying why).
# The user data written by `cabin up --user-data` is covered by boot.sh's config drive.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
command -v genisoimage >/dev/null || skip "genisoimage not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"
export MTOOLS_SKIP_CHECK=1

# boot NAME DRIVE: boots with DRIVE as the config disk; leaves the console in $TMP/NAME.log
boot() {
	local state=$TMP/state-$1
	CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
	UP_RC=0
	"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 \
		--config-drive "$2" >"$TMP/$1.up" || UP_RC=$?
	cat "$TMP/$1.up"
	"$CABIN" kill --state "$state" >/dev/null
	cp "$state/node1/serial.log" "$TMP/$1.log"
}

note "config drive, iso9660 on a CD-ROM (as OpenStack attaches it), dated version directory only"
mkdir -p "$TMP/cd/openstack/2018-08-27" "$TMP/cd/openstack/2015-10-15"
echo '{"uuid": "u-new", "hostname": "new"}' >"$TMP/cd/openstack/2018-08-27/meta_data.json"
echo '{"uuid": "u-old", "hostname": "old"}' >"$TMP/cd/openstack/2015-10-15/meta_data.json"
printf '#cloud-config\nhostname: iso\n' >"$TMP/cd/openstack/2018-08-27/user_data"
genisoimage -quiet -V config-2 -J -r -o "$TMP/cd.iso" "$TMP/cd"
boot iso "$TMP/cd.iso"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -q ' hostname=iso source=config-drive ' "$TMP/iso.up" || fail "iso9660 config drive not used"
sz() { stat -c %s "$1"; }
grep -q 'cabin: config: nothing on the disks; looking at CD-ROM drives' "$TMP/iso.log" ||
	fail "CD-ROM drivers were not loaded"
grep -q "cabin: config: config-drive on /dev/sr0, openstack/2018-08-27: meta data $(sz "$TMP/cd/openstack/2018-08-27/meta_data.json") bytes, user data $(sz "$TMP/cd/openstack/2018-08-27/user_data") bytes" \
	"$TMP/iso.log" || { grep 'cabin: config' "$TMP/iso.log"; fail "not the newest dated directory"; }

note "NoCloud seed on FAT"
truncate -s 4M "$TMP/seed.img"
mformat -i "$TMP/seed.img" -v cidata ::
printf 'instance-id: i-1\nlocal-hostname: seed\n' >"$TMP/meta-data"
printf '#cloud-config\nhostname: seed\n' >"$TMP/user-data"
mcopy -i "$TMP/seed.img" "$TMP/meta-data" "$TMP/user-data" ::/
boot nocloud "$TMP/seed.img"
[[ $UP_RC -eq 0 ]] || fail "cabin up exited $UP_RC"
grep -q ' hostname=seed source=nocloud ' "$TMP/nocloud.up" || fail "NoCloud seed not used"
grep -q "cabin: config: nocloud on /dev/vdb: meta data $(sz "$TMP/meta-data") bytes, user data $(sz "$TMP/user-data") bytes, network data 0 bytes" \
	"$TMP/nocloud.log" || { grep 'cabin: config' "$TMP/nocloud.log"; fail "NoCloud files"; }

note "truncated ISO: degraded, with the reason, and still up"
head -c 40960 "$TMP/cd.iso" >"$TMP/short.iso"
boot short "$TMP/short.iso"
[[ $UP_RC -eq 1 ]] || fail "cabin up should exit 1 for a degraded node, not $UP_RC"
grep -Eq '^node1: cabin: degraded reason="[^"]*(/dev/sr0|config drive)[^"]*" version=[^ ]+ hostname=[^ ]+ source=[a-z-]+ addrs=[^ ]+ boot_ms=[0-9]+$' \
	"$TMP/short.up" || fail "no degraded line naming the drive"

note "user data through cabin up: host name, write_files, keys that need a shell ignored"
cat >"$TMP/ud.yaml" <<'YAML'
#cloud-config
hostname: web-1
packages: [nginx]
write_files:
  - path: /etc/cabin/hello.txt
    encoding: b64
    content: aGVsbG8K
    permissions: '0600'
YAML
state=$TMP/state-ud
CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 --user-data "$TMP/ud.yaml" |
	tee "$TMP/ud.up"
grep -Eq '^node1: cabin: ready .* hostname=web-1 source=config-drive ' "$TMP/ud.up" ||
	fail "host name from user data"
log=$state/node1/serial.log
grep -q 'cabin: config: user_data:3: ignored: packages' "$log" || fail "packages not reported as ignored"
grep -q 'cabin: config: wrote /etc/cabin/hello.txt (6 bytes, mode 0600)' "$log" || fail "write_files"
"$CABIN" kill --state "$state" >/dev/null

note "without user data the node takes its name from the meta data"
"$CABIN" up --state "$TMP/state-meta" --image "$IMAGE" --accel tcg --timeout 600 | tee "$TMP/meta.up"
CLEANUP+=("'$CABIN' kill --state '$TMP/state-meta' >/dev/null 2>&1")
grep -Eq '^node1: cabin: ready .* hostname=node1 source=config-drive ' "$TMP/meta.up" ||
	fail "host name from meta_data.json"
"$CABIN" kill --state "$TMP/state-meta" >/dev/null

note "malformed user data: degraded, naming file, line and column; still up"
printf '#cloud-config\nhostname: ok\nwrite_files: [\n  - path: /x\n    bad: : :\n' >"$TMP/bad.yaml"
rc=0
"$CABIN" up --state "$TMP/state-bad" --image "$IMAGE" --accel tcg --timeout 600 \
	--user-data "$TMP/bad.yaml" >"$TMP/bad.up" || rc=$?
CLEANUP+=("'$CABIN' kill --state '$TMP/state-bad' >/dev/null 2>&1")
cat "$TMP/bad.up"
[[ $rc -eq 1 ]] || fail "cabin up exited $rc for malformed user data"
grep -Eq '^node1: cabin: degraded reason="user_data:[0-9]+:[0-9]+: [^"]+" .* addrs=10\.0\.2\.15'"$SLAAC"' ' \
	"$TMP/bad.up" || fail "no degraded line with file:line:col, or no network"

note "config drive on a SCSI CD-ROM (virtio-scsi), attached by hand"
state=$TMP/state-scsi
CLEANUP+=("'$CABIN' kill --state '$state' >/dev/null 2>&1")
"$CABIN" up --state "$state" --image "$IMAGE" --accel tcg --timeout 600 --no-config-drive \
	--qemu-arg -device --qemu-arg virtio-scsi-pci,id=scsi0 \
	--qemu-arg -drive --qemu-arg "file=$TMP/cd.iso,format=raw,if=none,id=cd1,media=cdrom,readonly=on" \
	--qemu-arg -device --qemu-arg scsi-cd,drive=cd1,bus=scsi0.0 | tee "$TMP/scsi.up"
grep -q ' hostname=iso source=config-drive ' "$TMP/scsi.up" || fail "SCSI CD-ROM config drive not used"
grep -q 'cabin: config: config-drive on /dev/sr0, openstack/2018-08-27' "$state/node1/serial.log" ||
	fail "not read from the SCSI CD-ROM"
"$CABIN" kill --state "$state" >/dev/null
