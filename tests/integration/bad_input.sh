# Bad input to `cabin build`, `cabin up` and friends: each gets a clear error naming the
# problem, a non-zero exit, and leaves nothing behind (no output, no work directory).
source tests/integration/lib.sh

OUT=$TMP/out
mkdir -p "$OUT"
common=(--cabind build/cabind --kernel-root build/kernel --size 256M -q)

nothing_left() {
	local left
	left=$(find "$OUT" -mindepth 1 | head -n 5)
	[[ -z $left ]] || fail "left behind in $OUT: $left"
}

note "unknown flags and bad values"
expect_fail 2 "unrecognized option '--bogus'" "$CABIN" build --bogus
expect_fail 2 "--size 12Q: expected" "$CABIN" build --size 12Q
expect_fail 2 "--size 1M: expected" "$CABIN" build --size 1M
expect_fail 2 "--source-date-epoch yesterday: expected" "$CABIN" build --source-date-epoch yesterday
expect_fail 2 "SOURCE_DATE_EPOCH=abc: expected" env SOURCE_DATE_EPOCH=abc "$CABIN" build
expect_fail 2 "--kernel and --modules go together" "$CABIN" build --kernel /boot/vmlinuz
expect_fail 2 "unknown command 'frobnicate'" "$CABIN" frobnicate
expect_fail 2 "unrecognized option" "$CABIN" up --bogus
expect_fail 2 "-n 0: expected" "$CABIN" up -n 0
expect_fail 2 "--accel warp: expected" "$CABIN" up --accel warp
expect_fail 2 "--network wifi: expected user, user,OPTS or isolated" "$CABIN" up --network wifi
expect_fail 2 "--memory 1: expected" "$CABIN" up --memory 1
expect_fail 2 "unrecognized option" "$CABIN" down --bogus
expect_fail 2 "--follow is for cabin console" "$CABIN" status --follow
expect_fail 2 "--user-data, --config-drive and --no-config-drive exclude each other" "$CABIN" up --user-data x --config-drive y
expect_fail 2 "--user-data, --config-drive and --no-config-drive exclude each other" "$CABIN" up --no-config-drive --user-data x
expect_fail 2 "more than 32 --qemu-arg" "$CABIN" up $(printf -- "--qemu-arg x %.0s" $(seq 33))
expect_fail 1 "user data $TMP/none.yaml: No such file" "$CABIN" up --state "$TMP/st" --user-data "$TMP/none.yaml"
expect_fail 2 "--timeout -1: expected 1-86400 seconds" "$CABIN" down --timeout -1
expect_fail 2 "--timeout 99999999999: expected" "$CABIN" down --timeout 99999999999
expect_fail 2 "-n 3: a cluster's nodes each need a config drive of their own" "$CABIN" up -n 3 --config-drive y
expect_fail 2 "--cluster a/b: expected 1-63 of \\[A-Za-z0-9._-\\]" "$CABIN" up -n 3 --cluster a/b
expect_fail 2 "--client-port-base 80: expected 1024-65526" "$CABIN" up --client-port-base 80
expect_fail 2 "--timeout 0: expected 1-86400 seconds" "$CABIN" start --timeout 0
expect_fail 1 "cabin start: no node 'node5' in $TMP/st" "$CABIN" start --state "$TMP/st" node5
printf '#!/bin/sh\necho hi\n' >"$TMP/script.sh"
expect_fail 1 "user data $TMP/script.sh: a cluster's nodes get it merged with their cabin: section, so it must be #cloud-config" \
	"$CABIN" up -n 2 --state "$TMP/st2" --user-data "$TMP/script.sh"
for cmd in build up start down kill status console; do
	"$CABIN" "$cmd" --help | grep -q "^Usage: cabin $cmd" || fail "cabin $cmd --help"
done
"$CABIN" --help | grep -q '^Usage: cabin COMMAND' || fail "cabin --help"

note "missing and corrupt kernel package"
expect_fail 1 "kernel-package.*No such file|$TMP/none.deb: No such file" \
	"$CABIN" build -o "$OUT/a.qcow2" --cabind build/cabind --kernel-deb "$TMP/none.deb" -q
nothing_left
deb=$(ls build/dl/linux-image-*.deb | head -n 1)
head -c 1000000 "$deb" >"$TMP/truncated.deb"
expect_fail 1 "kernel package .*truncated.deb is not a usable .deb" \
	"$CABIN" build -o "$OUT/a.qcow2" --cabind build/cabind --kernel-deb "$TMP/truncated.deb" -q
nothing_left
printf 'not a kernel\n' >"$TMP/vmlinuz"
expect_fail 1 "not a Linux bzImage" "$CABIN" build -o "$OUT/a.qcow2" --cabind build/cabind \
	--kernel "$TMP/vmlinuz" --modules "$(ls -d build/kernel/lib/modules/*)" -q
nothing_left
expect_fail 1 "modules.dep: No such file" "$CABIN" build -o "$OUT/a.qcow2" --cabind build/cabind \
	--kernel "$(ls build/kernel/boot/vmlinuz-*)" --modules "$TMP" -q
nothing_left

note "bad module list"
printf 'virtio_net\nno_such_mod\n' >"$TMP/mods.txt"
expect_fail 1 "module 'no_such_mod' is in neither modules.dep nor modules.builtin" \
	"$CABIN" build -o "$OUT/a.qcow2" "${common[@]}" --module-list "$TMP/mods.txt"
nothing_left
printf 'virtio_net\nsome/path.ko\n' >"$TMP/mods.txt"
expect_fail 1 "mods.txt:2: 'some/path.ko' is not a module name" \
	"$CABIN" build -o "$OUT/a.qcow2" "${common[@]}" --module-list "$TMP/mods.txt"
nothing_left

note "missing cabind"
expect_fail 1 "$TMP/no-cabind: No such file" "$CABIN" build -o "$OUT/a.qcow2" \
	--cabind "$TMP/no-cabind" --kernel-root build/kernel -q
nothing_left

note "output is a directory, or not writable"
mkdir "$OUT/dir.qcow2"
expect_fail 1 "output $OUT/dir.qcow2 is a directory" "$CABIN" build -o "$OUT/dir.qcow2" "${common[@]}"
rmdir "$OUT/dir.qcow2"
expect_fail 1 "cannot create a work directory in /proc" "$CABIN" build -o /proc/cabin.qcow2 "${common[@]}"
expect_fail 1 "cannot create a work directory in $OUT/nodir" \
	"$CABIN" build -o "$OUT/nodir/x.qcow2" "${common[@]}"
nothing_left

note "an existing image survives a failed build"
printf 'old image\n' >"$OUT/keep.qcow2"
expect_fail 1 "not a Linux bzImage" "$CABIN" build -o "$OUT/keep.qcow2" --cabind build/cabind \
	--kernel "$TMP/vmlinuz" --modules "$(ls -d build/kernel/lib/modules/*)" -q
[[ $(cat "$OUT/keep.qcow2") == "old image" ]] || fail "old image was touched"
rm "$OUT/keep.qcow2"
nothing_left

note "cabin up with a missing image"
expect_fail 1 "image $TMP/none.qcow2: No such file" "$CABIN" up --image "$TMP/none.qcow2" --state "$TMP/st"

note "a stale pid file naming some other process is not taken for a running node"
cp "$(command -v sleep)" "$TMP/qemu-system-x86_64"
"$TMP/qemu-system-x86_64" 300 &
bystander=$!
CLEANUP+=("kill $bystander")
mkdir -p "$TMP/st/node1"
echo "$bystander" >"$TMP/st/node1/qemu.pid"
"$CABIN" status --state "$TMP/st" | grep -Eq '^node1 +stopped' || fail "stale pid file: status"
"$CABIN" kill --state "$TMP/st" | grep -q 'node1: not running' || fail "stale pid file: kill"
kill -0 "$bystander" || fail "cabin kill killed a process that was not its QEMU"
