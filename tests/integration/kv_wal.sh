# The KV store's write-ahead log on disk, damaged on purpose: a torn tail (a record cut
# short, as a crash mid-write leaves it) is cut off with a warning naming the file and
# offset and start-up goes on; a corrupt record in the middle, a corrupt snapshot and a
# newer format stop start-up (exit 1) with the file and offset named. Leases (in a snapshot
# and in the log) come back after a crash with their keys attached. Then a full disk
# (a 4 MiB tmpfs in a private mount namespace): the waiting write fails cleanly, the
# NOSPACE alarm is raised, reads go on, puts are refused with etcd's error; with room
# again and the alarm disarmed, writes work, and after a kill -9 nothing acknowledged is
# missing.
source tests/integration/lib.sh

command -v etcdctl >/dev/null || skip "etcdctl is not installed"
export ETCDCTL_API=3
PID=
CLEANUP+=('[[ -n $PID ]] && kill -9 $PID 2>/dev/null')

# Starts cabind on data dir $1; sets PID and E.
start() {
	: >"$TMP/log"
	"$CABIND" --data-dir "$1" --listen-client-urls http://127.0.0.1:0 "${@:2}" \
		>>"$TMP/out" 2>"$TMP/log" &
	PID=$!
	local deadline=$((SECONDS + 30))
	until grep -q 'serving clients on' "$TMP/log"; do
		kill -0 $PID 2>/dev/null || { cat "$TMP/log"; fail "cabind did not start"; }
		((SECONDS < deadline)) || fail "cabind is not serving after 30 s"
		sleep 0.05
	done
	E=(etcdctl --endpoints=127.0.0.1:$(grep -o 'serving clients on http://127.0.0.1:[0-9]*' \
		"$TMP/log" | grep -o '[0-9]*$'))
}

crash() {
	kill -9 $PID
	wait $PID 2>/dev/null || true
	PID=
}

# The value of key now, or fail.
value_is() {
	local got
	got=$("${E[@]}" get "$1" --print-value-only) || fail "get $1"
	[[ $got == "$2" ]] || fail "$1 is '$got', expected '$2'"
}

D=$TMP/data
SEG=$D/member/wal/0000000000000000-0000000000000001.wal
start "$D"
for i in 1 2 3 4 5; do "${E[@]}" put k$i v$i >/dev/null; done
crash
[[ -f $SEG ]] || fail "no segment $SEG"
size=$(stat -c %s "$SEG")
# where its records end: the zeros of the room written ahead follow (each record: a u32
# payload length, then 12 more header bytes and the payload)
read -r good rev_at < <(/usr/bin/python3 - "$SEG" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off, rev = 16, 0
while off + 16 <= len(b) and b[off:off + 16] != bytes(16):
    if b[off + 4] == 2 and not rev:
        rev = off
    off += 16 + struct.unpack("<I", b[off:off + 4])[0]
print(off, rev)
PY
)
((good < size)) || fail "no room written ahead: records end at $good, the file at $size"

note "a torn tail is cut off and start-up goes on"
# the first 25 bytes of the first REV record written after the last: a whole record
# header whose payload never made it
dd if="$SEG" bs=1 skip="$rev_at" count=25 status=none |
	dd of="$SEG" bs=1 seek="$good" conv=notrunc status=none
start "$D"
grep -q "kv: $SEG: torn record at offset $good ($((size - good)) bytes cut off)" "$TMP/log" ||
	{ cat "$TMP/log"; fail "no warning about the torn record"; }
# cut at $good; what follows now is the APPLIED record (type 6) of the new leader's
# first entry, written over the torn one
# (written once the entry is applied, which may be just after the "serving" line)
applied_over_torn() { [[ $(od -An -tu1 -j $((good + 4)) -N1 "$SEG" | tr -d ' ') == 6 ]]; }
wait_for 10 "the APPLIED record over the torn tail" applied_over_torn
value_is k5 v5
"${E[@]}" put k6 v6 >/dev/null
crash

note "a corrupt record in the middle stops start-up, naming the file and offset"
cp "$SEG" "$TMP/seg.bak"
printf '\x55' | dd of="$SEG" bs=1 seek=70 conv=notrunc status=none
expect_fail 1 "^cabin: kv: $SEG: corrupt record at offset 48: record checksum mismatch\$" \
	"$CABIND" --data-dir "$D" --listen-client-urls http://127.0.0.1:0
cp "$TMP/seg.bak" "$SEG"

note "a log written by a newer version stops start-up"
# format version 3 in the file header, its checksum (CRC-32C) made right
/usr/bin/python3 - "$SEG" <<'PY'
import struct, sys
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
with open(sys.argv[1], "r+b") as f:
    h = bytearray(f.read(16))
    h[8:12] = struct.pack("<I", 3)
    h[12:16] = struct.pack("<I", crc32c(bytes(h[:12])))
    f.seek(0)
    f.write(h)
PY
expect_fail 1 "kv: $SEG: written by a newer cabind \(format version 3; this one reads version 2\)" \
	"$CABIND" --data-dir "$D" --listen-client-urls http://127.0.0.1:0
cp "$TMP/seg.bak" "$SEG"

note "snapshots: written every --snapshot-count revisions, loaded, checked"
start "$D" --snapshot-count 10
for i in $(seq 7 30); do "${E[@]}" put k$i v$i >/dev/null; done
crash
SNAP=$(ls "$D"/member/snap/*.snap | tail -n 1)
[[ -f $SNAP ]] || fail "no snapshot"
[[ ! -e $SEG ]] || fail "the segment the snapshot covers is still there"
start "$D"
for i in 1 6 17 30; do value_is k$i v$i; done
crash
printf '\x55' | dd of="$SNAP" bs=1 seek=100 conv=notrunc status=none
expect_fail 1 "kv: $SNAP: corrupt record at offset [0-9]+: " \
	"$CABIND" --data-dir "$D" --listen-client-urls http://127.0.0.1:0

note "leases survive a crash: grants in a snapshot, a revoke in the log, keys attached"
L=$TMP/leases
start "$L" --snapshot-count 5
lease_id() { "${E[@]}" lease grant "$1" | grep -o 'lease [0-9a-f]* granted' | cut -d' ' -f2; }
id1=$(lease_id 300)
id2=$(lease_id 600)
"${E[@]}" put --lease="$id1" lk1 v >/dev/null
"${E[@]}" put --lease="$id2" lk2 v >/dev/null
for i in 1 2 3 4 5 6; do "${E[@]}" put filler$i x >/dev/null; done
ls "$L"/member/snap/*.snap >/dev/null 2>&1 || fail "no snapshot with the leases in it"
"${E[@]}" lease revoke "$id2" >/dev/null
crash
start "$L"
"${E[@]}" lease timetolive "$id1" --keys | grep -q "granted with TTL(300s), .*attached keys(\[lk1\])" ||
	fail "lease $id1 or its key lost: $("${E[@]}" lease timetolive "$id1" --keys)"
"${E[@]}" lease timetolive "$id2" | grep -q "already expired" || fail "revoked lease $id2 is back"
value_is lk2 ""
"${E[@]}" lease revoke "$id1" >/dev/null	# its key goes with it, in the log
crash
start "$L"
value_is lk1 ""
[[ -z $("${E[@]}" lease list | grep -v '^found') ]] || fail "leases left: $("${E[@]}" lease list)"
crash

note "a full disk: the write fails cleanly, NOSPACE alarm, reads go on"
command -v unshare >/dev/null || skip "unshare is not installed"
unshare -m true 2>/dev/null || skip "cannot make a mount namespace"
# The rest runs in a private mount namespace with a small tmpfs as the data dir.
export CABIND TMP
unshare -m --propagation private bash -euo pipefail -c "$(declare -f start crash value_is fail \
	expect_fail)"'
cleanup() {
	set +e
	[[ -n ${PID:-} ]] && { kill -9 $PID; wait $PID; } 2>/dev/null
	umount -l "$TMP/full" 2>/dev/null
	return 0
}
trap cleanup EXIT
mkdir -p "$TMP/full"
mount -t tmpfs -o size=4m tmpfs "$TMP/full"
PID=
F=$TMP/full/data
start "$F"
"${E[@]}" put before ok >/dev/null
# more than the room the log has written ahead (1 MiB), so that it needs the disk
head -c 1200000 /dev/zero | tr "\0" x >"$TMP/big"
dd if=/dev/zero of="$TMP/full/filler" bs=4k status=none 2>/dev/null || true
rc=0
"${E[@]}" put wanted <"$TMP/big" >"$TMP/put.out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a put on a full disk succeeded"
grep -q "could not be made durable (No space left on device)" "$TMP/put.out" ||
	{ cat "$TMP/put.out"; fail "the put did not fail with the disk error"; }
grep -q "cannot write the log: No space left on device" "$TMP/log" || fail "nothing logged"
"${E[@]}" alarm list | grep -q "alarm:NOSPACE" || fail "no NOSPACE alarm"
value_is before ok
expect_fail 1 "etcdserver: mvcc: database space exceeded" "${E[@]}" put refused x
expect_fail 1 "etcdserver: mvcc: database space exceeded" "${E[@]}" lease grant 60
echo "== full disk: put failed, alarm raised, reads served, puts refused"
rm "$TMP/full/filler"
deadline=$((SECONDS + 10))
until grep -q "the log is written again" "$TMP/log"; do
	((SECONDS < deadline)) || fail "the log was not written again after space came back"
	sleep 0.1
done
"${E[@]}" alarm disarm >/dev/null
"${E[@]}" alarm list | grep -q NOSPACE && fail "the alarm is still raised"
"${E[@]}" put after ok >/dev/null
kill -9 $PID; wait $PID 2>/dev/null || true; PID=
start "$F"
value_is before ok
value_is after ok
echo "== space back: the log written again, alarm disarmed, writes acknowledged and kept"
'
