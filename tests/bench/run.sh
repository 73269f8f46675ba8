#!/usr/bin/env bash
# `make bench` for the foundation: image size, boot-to-ready under QEMU TCG and `cabin build`
# time, each measured next to its reference in the same run and printed as one line with
# the value, the reference, the ratio and the target. Benchmarks report, they don't assert:
# a missed target still exits 0; a measurement that could not be taken exits 1.
#
# Knobs: CABIN_BENCH_RUNS (boots and builds per measurement, default 5),
# CABIN_BENCH_BOOT_TIMEOUT (seconds per boot, default 300); the KV part's below.
set -euo pipefail

cd "$(dirname "$0")/../.."
IMAGE=build/cabin.qcow2
MANIFEST=build/cabin.manifest.json
RUNS=${CABIN_BENCH_RUNS:-5}
BOOT_TIMEOUT=${CABIN_BENCH_BOOT_TIMEOUT:-300}

# Targets and the fixed reference figure (CirrOS 0.6.3 x86_64 qcow2, as published).
CIRROS_MIB=20.7
SIZE_TARGET_MIB=12
BOOT_TARGET_RATIO=1.3
BUILD_TARGET_S=2
SHUTDOWN_TARGET_S=10

# mtools reads the FAT inside the image; no user config, no geometry checks.
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null

# ---- scratch and clean-up ----------------------------------------------------------------
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cabin-bench.XXXXXX")
BOOTWAIT_PID=
cleanup() {
	local rc=$?
	# bootwait stops its QEMU when signalled (and QEMU dies with it in any case); the
	# pidfiles catch a QEMU that somehow outlived it.
	if [[ -n $BOOTWAIT_PID ]]; then
		kill "$BOOTWAIT_PID" 2>/dev/null || true
		wait "$BOOTWAIT_PID" 2>/dev/null || true
	fi
	local p
	for p in "$SCRATCH"/*.pid; do
		if [[ -s $p ]]; then
			kill "$(cat "$p")" 2>/dev/null || true
		fi
	done
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	printf 'bench: FAILED: %s\n' "$*" >&2
	exit 1
}

# ---- small arithmetic and formatting helpers (bash has integers only) ------------------
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
# three decimals: a ratio just over its target (0.104 against 0.1) must not round to "met"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
# le A B: succeeds when A <= B (decimals allowed).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if "$@"; then echo met; else echo MISSED; fi; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
# bytes FILE: its size.
bytes() { stat -c %s "$1"; }

SUMMARY=()
summary() { SUMMARY+=("$(printf '%-22s %-12s %-16s %s' "$@")"); }

for f in "$IMAGE" "$MANIFEST" build/cabin build/cabind; do
	[[ -f $f ]] || die "$f missing: run make first"
done
KERNELS=(build/kernel/boot/vmlinuz-*)
[[ ${#KERNELS[@]} -eq 1 && -f ${KERNELS[0]} ]] ||
	die "expected exactly one build/kernel/boot/vmlinuz-*, found: ${KERNELS[*]}"
KERNEL=${KERNELS[0]}
for tool in qemu-system-x86_64 qemu-img mcopy cpio gzip zstd musl-gcc gcc; do
	command -v "$tool" >/dev/null || die "$tool not installed"
done

# The load average goes into the header and the summary: timings on a busy host are noisy.
loadavg() { cut -d ' ' -f 1-3 /proc/loadavg; }
printf '== cabin bench (%s runs per timing; QEMU %s, TCG; %s CPUs, load %s)\n' "$RUNS" \
	"$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')" \
	"$(nproc)" "$(loadavg)"

# ---- 1. image size -------------------------------------------------------------------------
# Sizes of what is really in the image: convert it to a (sparse) raw disk, find the boot
# partition through the MBR and copy the boot files out of its FAT.
echo
echo '-- image size'
qemu-img convert -O raw "$IMAGE" "$SCRATCH/disk.raw" || die "qemu-img convert $IMAGE"
# mbr_start N: the first sector of partition N (1-based) from the MBR.
mbr_start() {
	od -An -tu4 -j $((446 + 16 * ($1 - 1) + 8)) -N 4 "$SCRATCH/disk.raw" | tr -d ' '
}
boot_off=$(($(mbr_start 1) * 512))
data_off=$(($(mbr_start 2) * 512))
mcopy -n -i "$SCRATCH/disk.raw@@$boot_off" ::/vmlinuz ::/initrd.img ::/ldlinux.sys \
	::/ldlinux.c32 "$SCRATCH/" || die "cannot copy the boot files out of $IMAGE"
cmp -s "$SCRATCH/vmlinuz" "$KERNEL" ||
	die "the image's vmlinuz is not $KERNEL: the boot reference would use another kernel"

img_b=$(bytes "$IMAGE")
vmlinuz_b=$(bytes "$SCRATCH/vmlinuz")
initrd_b=$(bytes "$SCRATCH/initrd.img")
initrd_raw_b=$(zstd -dc "$SCRATCH/initrd.img" | wc -c) || die "initrd.img is not zstd"
syslinux_b=$(($(bytes "$SCRATCH/ldlinux.sys") + $(bytes "$SCRATCH/ldlinux.c32")))
cabind_b=$(bytes build/cabind)
# Module count and total from the manifest, which lists every input with its size.
read -r mod_n mod_b < <(sed -n 's/.*"role": "module".*"size": \([0-9]*\).*/\1/p' "$MANIFEST" |
	awk '{ n++; s += $1 } END { print n + 0, s + 0 }')
# Guest bytes the qcow2 stores, split at the data partition (qemu-img map: allocated runs).
read -r alloc_boot alloc_data < <(qemu-img map --output=json "$IMAGE" | awk -v d="$data_off" '
	/"data": true/ {
		match($0, /"start": [0-9]+/); s = substr($0, RSTART + 9, RLENGTH - 9) + 0
		match($0, /"length": [0-9]+/); l = substr($0, RSTART + 10, RLENGTH - 10) + 0
		if (s >= d) data += l; else boot += l
	}
	END { print boot + 0, data + 0 }')
[[ $alloc_boot -gt 0 ]] || die "qemu-img map found no data in $IMAGE"
qcow2_meta=$((img_b - alloc_boot - alloc_data))
boot_other=$((alloc_boot - vmlinuz_b - initrd_b - syslinux_b))

img_mib=$(mib "$img_b")
printf 'image size          %6s MiB  ref CirrOS 0.6.3 qcow2 %s MiB (published figure: this machine cannot download CirrOS)  ratio %s  target <= %s MiB: %s\n' \
	"$img_mib" "$CIRROS_MIB" "$(ratio "$img_mib" "$CIRROS_MIB")" "$SIZE_TARGET_MIB" \
	"$(verdict le "$img_mib" "$SIZE_TARGET_MIB")"
printf '  vmlinuz           %6s MiB  (%s)\n' "$(mib "$vmlinuz_b")" "${KERNEL##*/}"
printf '  initrd.img        %6s MiB  zstd, %s MiB unpacked: cabind %s MiB, %s modules %s MiB\n' \
	"$(mib "$initrd_b")" "$(mib "$initrd_raw_b")" "$(mib "$cabind_b")" "$mod_n" "$(mib "$mod_b")"
printf '  syslinux          %6s MiB  (ldlinux.sys + ldlinux.c32)\n' "$(mib "$syslinux_b")"
printf '  boot fs, MBR rest %6s MiB  (FAT tables, syslinux.cfg, MBR and gap)\n' "$(mib "$boot_other")"
printf '  data partition    %6s MiB  (ext4 metadata)\n' "$(mib "$alloc_data")"
printf '  qcow2 metadata    %6s MiB  (header, L1/L2 and refcount tables)\n' "$(mib "$qcow2_meta")"
summary "image size" "$img_mib MiB" "<= $SIZE_TARGET_MIB MiB" \
	"$(verdict le "$img_mib" "$SIZE_TARGET_MIB") (CirrOS ratio $(ratio "$img_mib" "$CIRROS_MIB"))"

# ---- 2. boot to ready under TCG --------------------------------------------------------
# cabin: the flags `cabin up` uses (qemu/up.c node_spawn) on a fresh copy of the image.
# Reference: the same QEMU, machine and memory booting the same kernel straight into a
# trivial static init. bootwait times QEMU start to the ready line in the serial log.
echo
echo '-- boot to ready (TCG)'
gcc -O2 -Wall -Wextra -Werror -o "$SCRATCH/bootwait" tests/bench/bootwait.c ||
	die "cannot build tests/bench/bootwait.c"
mkdir "$SCRATCH/ref"
musl-gcc -static -Os -s -Wall -Wextra -Werror -o "$SCRATCH/ref/init" tests/bench/trivial_init.c ||
	die "cannot build tests/bench/trivial_init.c"
# /dev/console comes from the kernel's built-in initramfs; the init mounts devtmpfs if not.
(cd "$SCRATCH/ref" && printf 'init\n' | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 -n >"$SCRATCH/ref.cpio.gz" || die "cannot pack the reference initramfs"

# The config drive `cabin up` gives a node (qemu/configdrive.c): FAT labelled config-2.
mkdir -p "$SCRATCH/cfg/openstack/latest"
printf '{"uuid": "00000000-0000-4000-8000-000000000001", "name": "node1", "hostname": "node1"}\n' \
	>"$SCRATCH/cfg/openstack/latest/meta_data.json"
truncate -s 16M "$SCRATCH/config-2.img"
mformat -i "$SCRATCH/config-2.img" -v config-2 :: && mcopy -s -i "$SCRATCH/config-2.img" \
	"$SCRATCH/cfg/openstack" ::/ || die "cannot write the config drive"

QEMU_COMMON=(qemu-system-x86_64 -machine "q35,accel=tcg" -m 256 -nodefaults -no-user-config
	-display none)

# boot KIND PATTERN QEMU_ARGS...: boots once; sets WALL_MS and GUEST_MS.
boot() {
	local kind=$1 pat=$2 rc=0
	shift 2
	local log=$SCRATCH/$kind.log out=$SCRATCH/$kind.out
	rm -f "$log"
	"$SCRATCH/bootwait" "$BOOT_TIMEOUT" "$log" "$pat" "${QEMU_COMMON[@]}" \
		-serial "file:$log" -pidfile "$SCRATCH/$kind.pid" "$@" \
		>"$out" 2>"$SCRATCH/$kind.err" &
	BOOTWAIT_PID=$!
	wait "$BOOTWAIT_PID" || rc=$?
	BOOTWAIT_PID=
	if [[ $rc -ne 0 ]]; then
		sed 's/^/    | /' "$SCRATCH/$kind.err" >&2
		tail -n 15 "$log" 2>/dev/null | sed 's/^/    serial| /' >&2
		die "$kind boot did not reach '$pat'"
	fi
	WALL_MS=$(sed -n 's/^wall_ms=\([0-9]*\) .*/\1/p' "$out")
	GUEST_MS=$(sed -n 's/.* boot_ms=\([0-9]*\).*/\1/p' "$out")
	[[ -n $WALL_MS && -n $GUEST_MS ]] || die "$kind: cannot parse '$(cat "$out")'"
}

cabin_wall=() cabin_guest=() ref_wall=() ref_guest=()
for ((i = 1; i <= RUNS; i++)); do
	cp "$IMAGE" "$SCRATCH/disk.qcow2"
	boot cabin 'cabin: ready ' \
		-qmp "unix:$SCRATCH/qmp.sock,server=on,wait=off" \
		-drive "file=$SCRATCH/disk.qcow2,format=qcow2,if=none,id=disk0" \
		-device virtio-blk-pci,drive=disk0,bootindex=1 \
		-drive "file=$SCRATCH/config-2.img,format=raw,if=none,id=cfg0,readonly=on" \
		-device virtio-blk-pci,drive=cfg0 \
		-netdev user,id=net0 -device virtio-net-pci,netdev=net0 -device virtio-rng-pci
	cabin_wall+=("$WALL_MS") cabin_guest+=("$GUEST_MS")
	printf '  run %d  cabin   wall %6s ms  boot_ms %6s\n' "$i" "$WALL_MS" "$GUEST_MS"
	boot ref 'trivial: ready ' -kernel "$KERNEL" -initrd "$SCRATCH/ref.cpio.gz" \
		-append 'console=ttyS0 quiet'
	ref_wall+=("$WALL_MS") ref_guest+=("$GUEST_MS")
	printf '  run %d  trivial wall %6s ms  boot_ms %6s\n' "$i" "$WALL_MS" "$GUEST_MS"
done
cw=$(median "${cabin_wall[@]}") rw=$(median "${ref_wall[@]}")
cg=$(median "${cabin_guest[@]}") rg=$(median "${ref_guest[@]}")
wall_ratio=$(ratio "$cw" "$rw") guest_ratio=$(ratio "$cg" "$rg")
printf 'boot wall (median)  %6s ms   ref bare kernel + trivial init %s ms  ratio %sx  target <= %sx: %s\n' \
	"$cw" "$rw" "$wall_ratio" "$BOOT_TARGET_RATIO" "$(verdict le "$wall_ratio" "$BOOT_TARGET_RATIO")"
printf 'boot_ms (median)    %6s ms   ref bare kernel + trivial init %s ms  ratio %sx  target <= %sx: %s\n' \
	"$cg" "$rg" "$guest_ratio" "$BOOT_TARGET_RATIO" "$(verdict le "$guest_ratio" "$BOOT_TARGET_RATIO")"
summary "boot wall ratio" "${wall_ratio}x" "<= ${BOOT_TARGET_RATIO}x" \
	"$(verdict le "$wall_ratio" "$BOOT_TARGET_RATIO") (${cw} vs ${rw} ms)"
summary "boot_ms ratio" "${guest_ratio}x" "<= ${BOOT_TARGET_RATIO}x" \
	"$(verdict le "$guest_ratio" "$BOOT_TARGET_RATIO") (${cg} vs ${rg} ms)"

# ---- 2b. clean shutdown: ACPI power button to QEMU exit --------------------------------
# `cabin up` boots a node under TCG; `cabin down` presses the power button through QMP and
# reports how long the node took to power itself off (cabind: stop, sync, unmount, off).
echo
echo "-- clean shutdown (TCG)"
state=$SCRATCH/shutdown-state
build/cabin up --accel tcg --state "$state" --image build/cabin.qcow2 >"$SCRATCH/up.out" 2>&1 ||
	{ cat "$SCRATCH/up.out"; die "cabin up failed"; }
build/cabin down --state "$state" --timeout 60 >"$SCRATCH/down.out" 2>&1 || true
down_s=$(sed -n 's/.*powered off cleanly in \([0-9.]*\) s.*/\1/p' "$SCRATCH/down.out")
[[ -n $down_s ]] || { cat "$SCRATCH/down.out"; die "the node did not power off cleanly"; }
grep -q 'cabin: shutdown complete, poweroff' "$state/node1/serial.log" ||
	die "no 'shutdown complete' on the console"
printf '%-20s %6s s    (power button to QEMU exit)  target <= %s s: %s\n' "shutdown" "$down_s" \
	"$SHUTDOWN_TARGET_S" "$(verdict le "$down_s" "$SHUTDOWN_TARGET_S")"
summary "clean shutdown" "$down_s s" "<= $SHUTDOWN_TARGET_S s" "$(verdict le "$down_s" "$SHUTDOWN_TARGET_S")"

# ---- 3. cabin build from cached inputs, and a no-op make ---------------------------------
echo
echo '-- cabin build (cached inputs)'
# The image's own epoch, so the timed build should reproduce build/cabin.qcow2 exactly.
epoch=$(sed -n 's/.*"source_date_epoch": \([0-9]*\).*/\1/p' "$MANIFEST")
build_ms=()
for ((i = 1; i <= RUNS; i++)); do
	t0=$(now_us)
	SOURCE_DATE_EPOCH=${epoch:-${SOURCE_DATE_EPOCH:-0}} build/cabin build -q \
		-o "$SCRATCH/x.qcow2" --cabind build/cabind --kernel-root build/kernel ||
		die "cabin build failed"
	build_ms+=($((($(now_us) - t0) / 1000)))
	printf '  run %d  %6s ms\n' "$i" "${build_ms[-1]}"
done
bm=$(median "${build_ms[@]}")
same=no
cmp -s "$SCRATCH/x.qcow2" "$IMAGE" && same=yes
printf 'cabin build (median) %5s s    target < %s s: %s  (output identical to %s: %s)\n' \
	"$(secs "$bm")" "$BUILD_TARGET_S" "$(verdict test "$bm" -lt $((BUILD_TARGET_S * 1000)))" \
	"$IMAGE" "$same"
summary "cabin build" "$(secs "$bm") s" "< $BUILD_TARGET_S s" \
	"$(verdict test "$bm" -lt $((BUILD_TARGET_S * 1000)))"

# A fresh make, as a user would type it: nothing inherited from the `make bench` around us.
# An untimed make settles anything stale first (under `make bench` it has nothing to do
# either); a timed run counts as a no-op only if it left every build output untouched.
MAKE_ENV=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SOURCE_DATE_EPOCH)
OUTPUTS=(build/cabind build/cabin "$IMAGE" "$MANIFEST" build/obj)
"${MAKE_ENV[@]}" make -s all >/dev/null || die "make all failed"
make_ms=() rebuilt=
for ((i = 1; i <= RUNS; i++)); do
	touch "$SCRATCH/mark"
	t0=$(now_us)
	"${MAKE_ENV[@]}" make -s all >/dev/null || die "no-op make failed"
	make_ms+=($((($(now_us) - t0) / 1000)))
	rebuilt=${rebuilt:-$(find "${OUTPUTS[@]}" -newer "$SCRATCH/mark" -print -quit)}
done
mm=$(median "${make_ms[@]}")
printf 'no-op make (median) %5s s    (bonus; runs: %s ms)%s\n' "$(secs "$mm")" "${make_ms[*]}" \
	"${rebuilt:+  NOT a no-op: it rewrote $rebuilt}"
summary "no-op make" "$(secs "$mm") s" "(no target)" "$([[ -z $rebuilt ]] && echo - || echo 'NOT a no-op')"

# ---- 4. the KV store against etcd 3.4 ----------------------------------------------------
# Both servers fresh, data on the same filesystem, driven by the same clients: kvload (our
# put load generator, etcd benchmark's flags) and etcdctl check perf. RSS is read after
# the check perf runs. CABIN_BENCH_KV=0 skips this part; CABIN_BENCH_KV_LOADS (default
# "l xl") names the check perf loads; CABIN_BENCH_KV_PUT_RUNS (default 3) how many kvload
# runs each server gets (the medians are compared), and each three-member cluster
# (tests/bench/kv_cluster.sh: put throughput at the leader, failover after kill -9).
if [[ ${CABIN_BENCH_KV:-1} != 0 ]]; then
	source tests/bench/kv.sh
	source tests/bench/kv_cluster.sh
fi

# ---- summary -------------------------------------------------------------------------
echo
printf '== summary (load at end %s)\n' "$(loadavg)"
printf '%-22s %-12s %-16s %s\n' measurement value target verdict
printf '%s\n' "${SUMMARY[@]}"
