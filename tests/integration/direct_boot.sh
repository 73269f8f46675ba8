# A direct QEMU boot (-kernel, -initrd, -append: no boot loader, no cabin up) with the
# configuration named on the kernel command line: cabin.config=URL is fetched over the
# network and wins over the config-less disk; a cabin.config= URL that answers 404 leaves
# the node up and degraded, naming the URL.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[[ -f $IMAGE ]] || fail "$IMAGE missing: run make first"
export MTOOLS_SKIP_CHECK=1

qemu-img convert -O raw "$IMAGE" "$TMP/disk.raw"
off=$(sfdisk -J "$TMP/disk.raw" | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"]*512)')
mcopy -i "$TMP/disk.raw@@$off" ::vmlinuz ::initrd.img "$TMP/"

mkdir -p "$TMP/www"
cat >"$TMP/www/user-data" <<'YAML'
#cloud-config
hostname: direct-1
write_files:
  - path: /run/direct
    content: from cabin.config
resolv_conf:
  nameservers: [10.0.2.3, 192.0.2.53]
  searchdomains: [lab.example]
YAML
python3 -u -m http.server --bind 127.0.0.1 --directory "$TMP/www" 0 >"$TMP/http.log" 2>&1 &
HTTP_PID=$!
CLEANUP+=("kill $HTTP_PID 2>/dev/null")
wait_for 10 "HTTP server port" grep -q 'Serving HTTP on' "$TMP/http.log"
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TMP/http.log" | head -1)

# direct NAME APPEND: boots; the console goes to $TMP/NAME.log, the ready line to $TMP/NAME.ready
direct() {
	local name=$1 log=$TMP/$1.log
	qemu-system-x86_64 -machine q35,accel=tcg -m 256 -nodefaults -no-user-config \
		-display none -serial "file:$log" -kernel "$TMP/vmlinuz" -initrd "$TMP/initrd.img" \
		-append "console=ttyS0,115200n8 quiet $2" \
		-drive "file=$TMP/disk.raw,format=raw,if=virtio" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 -device virtio-rng-pci &
	local pid=$!
	CLEANUP+=("kill $pid 2>/dev/null")
	# the whole line, to its CR: QEMU writes the serial log as the bytes come
	wait_for 600 "a ready or degraded line from $name" \
		grep -Eq $'cabin: (ready|degraded) .* boot_ms=[0-9]+\r' "$log"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	tr -d '\r' <"$log" | grep -E 'cabin: (ready|degraded) ' >"$TMP/$name.ready"
	cat "$TMP/$name.ready"
}

note "cabin.config=URL on the kernel command line"
direct ok "cabin.config=http://10.0.2.2:$port/user-data"
grep -Eq '^cabin: ready version=[^ ]+ hostname=direct-1 source=cabin.config addrs=10\.0\.2\.15'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/ok.ready" || fail "no ready line with the host name from cabin.config"
grep -q 'drives not consulted' "$TMP/ok.log" || fail "the command line did not take precedence"
grep -q 'cabin: config: wrote /run/direct (17 bytes' "$TMP/ok.log" || fail "write_files not applied"
grep -q '"GET /user-data HTTP/1.1" 200' "$TMP/http.log" || fail "the server saw no GET"
grep -q 'cabin: net: /etc/resolv.conf from user data (resolv_conf)' "$TMP/ok.log" ||
	fail "resolv_conf of fetched user data not applied"

note "cabin.config=URL answering 404: degraded, naming the URL, up"
direct missing "cabin.config=http://10.0.2.2:$port/nothing-here"
grep -Eq '^cabin: degraded reason="cabin.config http://10\.0\.2\.2:[0-9]+/nothing-here: HTTP 404" version=[^ ]+ hostname=cabin source=none addrs=10\.0\.2\.15'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/missing.ready" || fail "no degraded line naming the URL"

note "cabin.config=https://...: refused at once (no CA certificates in the appliance), node up"
direct https "cabin.config=https://10.0.2.2:$port/user-data"
grep -Eq '^cabin: degraded reason="cabin.config=https://10\.0\.2\.2:[0-9]+/user-data: https:// needs CA certificates[^"]*" version=[^ ]+ hostname=cabin source=none addrs=10\.0\.2\.15'"$SLAAC"' boot_ms=[0-9]+$' \
	"$TMP/https.ready" || fail "no degraded line refusing https"
