# `cabin upload` against the real Debian keystone and glance-api on loopback
# (tests/integration/openstack.sh): the built image with password auth from OS_* (active,
# the properties, the manifest's version and sha256, downloaded back byte for byte); the
# interoperable import with an application credential from clouds.yaml + secure.yaml, and
# when the cloud refuses PUT /file; clouds.yaml searched in ./, ~/.config/openstack/ and
# /etc/openstack/ (where the test may create it), in that order; the region choosing the endpoint; OS_TOKEN;
# --property, --name, --visibility; an existing name refused, then --replace; and the
# faults, each a one-line error and exit 1 with nothing left in the cloud: a wrong
# password, a revoked token, an untrusted certificate (trusted with OS_CACERT), no image
# endpoint for the region, a size over the cloud's cap (413), a connection cut mid-upload
# by a proxy, a byte changed on the way (the hash check), plus bad input on our side.
source tests/integration/lib.sh
source tests/integration/openstack.sh
os_have || skip "keystone or glance-api not installed (Debian keystone, glance-api)"
command -v qemu-img >/dev/null || skip "qemu-img not installed"

CABIN=$(readlink -f "${CABIN_TEST_CABIN:-build/test/cabin}")
IMAGE=build/cabin.qcow2
[[ -s $IMAGE && -s build/cabin.manifest.json ]] || fail "no $IMAGE (run make)"
export HOME=$TMP/home	# no developer's own clouds.yaml
mkdir -p "$HOME"
GLANCE_SIZE_CAP=$((64 * 1024 * 1024))
openstack_start
note "keystone and glance up in $SECONDS s"
ks_user alice alice-pw demo >/dev/null
ALICE_TOKEN=$(ks_token alice alice-pw demo)

# up ARGS...: cabin upload; its stdout in $TMP/up.out, stderr in $TMP/up.err; sets RC.
up() {
	RC=0
	"$CABIN" upload "$@" >"$TMP/up.out" 2>"$TMP/up.err" || RC=$?
	cat "$TMP/up.err" >&2
}
# up_in DIR ARGS...: as up, run in DIR without OS_CLIENT_CONFIG_FILE/OS_CLIENT_SECURE_FILE
up_in() {
	local dir=$1
	shift
	RC=0
	(unset OS_CLIENT_CONFIG_FILE OS_CLIENT_SECURE_FILE; cd "$dir" && exec "$CABIN" upload "$@") \
		>"$TMP/up.out" 2>"$TMP/up.err" || RC=$?
	cat "$TMP/up.err" >&2
}
# image JSON as alice sees it
show() { GLANCE_TOKEN=$ALICE_TOKEN glance_image_show "$1"; }
prop() { show "$1" | os_json "j.get('$2', '')"; }
# names: the images named $1 that alice's project has
named() {
	local q
	q=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")
	GLANCE_TOKEN=$ALICE_TOKEN glance_api GET "/v2/images?name=$q"
	os_expect 200 "image list"
	os_body | os_json "' '.join(i['id'] for i in j['images'])"
}
small_qcow2() {	# FILE BYTES: a qcow2 holding BYTES random bytes
	head -c "$2" /dev/urandom >"$TMP/raw"
	qemu-img convert -f raw -O qcow2 "$TMP/raw" "$1"
}

note "the built image, password auth from OS_*: active, its properties, the bytes back"
os_env_password alice alice-pw demo
up
[[ $RC == 0 ]] || fail "cabin upload exited $RC"
id=$(cat "$TMP/up.out")
[[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "stdout is not an image id: '$id'"
version=$(os_json "j['cabin_version']" <build/cabin.manifest.json)
sha=$(os_json "j['output']['sha256']" <build/cabin.manifest.json)
show "$id" >"$TMP/img.json"
check_prop() { [[ $(os_json "j.get('$1')" <"$TMP/img.json") == "$2" ]] ||
	fail "property $1 is '$(os_json "j.get('$1')" <"$TMP/img.json")', not '$2'"; }
check_prop status active
check_prop name "cabin-$version"
check_prop disk_format qcow2
check_prop container_format bare
check_prop visibility private
check_prop min_disk 1
check_prop hw_disk_bus virtio
check_prop hw_vif_model virtio
check_prop os_type linux
check_prop img_config_drive mandatory
check_prop cabin_version "$version"
check_prop cabin_sha256 "$sha"
check_prop size "$(stat -c %s "$IMAGE")"
check_prop os_hash_value "$(sha512sum "$IMAGE" | cut -d' ' -f1)"
HTTP_OUT=$TMP/back.qcow2 GLANCE_TOKEN=$ALICE_TOKEN glance_api GET "/v2/images/$id/file"
os_expect 200 "download"
cmp "$IMAGE" "$TMP/back.qcow2" || fail "the image downloaded back differs"
grep -q "openstack server create --image $id" "$TMP/up.err" || fail "no server create line"

note "an existing name is refused; --replace replaces it"
up
[[ $RC == 1 ]] || fail "a second upload of the same name exited $RC"
grep -q "an image named 'cabin-$version' exists already ($id); use --replace" "$TMP/up.err" ||
	fail "no clear error for the name taken"
up --replace
[[ $RC == 0 ]] || fail "--replace exited $RC"
new=$(cat "$TMP/up.out")
[[ $(named "cabin-$version") == "$new" && $new != "$id" ]] ||
	fail "after --replace the images named cabin-$version are '$(named "cabin-$version")'"

note "the interoperable import, an application credential from clouds.yaml + secure.yaml"
read -r ac_id ac_secret <<<"$(ks_appcred alice alice-pw demo upload)"
os_clouds_yaml "$TMP/cfg" lab appcred "$ac_id" "$ac_secret"
os_env_cloud "$TMP/cfg" lab
grep -q "$ac_secret" "$TMP/cfg/clouds.yaml" && fail "the secret is in clouds.yaml"
small_qcow2 "$TMP/s1.qcow2" 300000
up "$TMP/s1.qcow2" --import --name imported --property os_distro=cabin \
	--property hw_disk_bus=scsi --min-ram 512 --visibility shared
[[ $RC == 0 ]] || fail "the import exited $RC"
id=$(cat "$TMP/up.out")
show "$id" >"$TMP/img.json"
check_prop status active
check_prop name imported
check_prop os_distro cabin
check_prop hw_disk_bus scsi
check_prop min_ram 512
check_prop visibility shared
check_prop os_hash_value "$(sha512sum "$TMP/s1.qcow2" | cut -d' ' -f1)"
grep -q '"cabin_version"' "$TMP/img.json" && fail "a manifest's version on an image without one"

note "password auth from clouds.yaml"
os_clouds_yaml "$TMP/cfg" pw password alice alice-pw demo
os_env_cloud "$TMP/cfg" pw
up "$TMP/s1.qcow2" --name from-clouds-pw --no-wait
[[ $RC == 0 ]] || fail "clouds.yaml password auth exited $RC"
note "a progress bar on a terminal"
script -qec "$CABIN upload $TMP/s1.qcow2 --name on-a-tty --no-wait" /dev/null >"$TMP/tty.out" ||
	fail "the upload on a terminal failed: $(cat "$TMP/tty.out")"
grep -aq $'\r\[##############################\] 100%  0.6 of 0.6 MiB  [0-9.]* MiB/s  ETA 0:00' \
	"$TMP/tty.out" || fail "no progress bar: $(cat -v "$TMP/tty.out")"
# the search without OS_CLIENT_CONFIG_FILE: ~/.config/openstack/ (./ comes first)
mkdir -p "$HOME/.config/openstack"
cp "$TMP/cfg/clouds.yaml" "$TMP/cfg/secure.yaml" "$HOME/.config/openstack/"
up_in "$TMP" s1.qcow2 --name found --no-wait
[[ $RC == 0 && $(named found) ]] || fail "clouds.yaml in ~/.config/openstack was not found"
# ./ comes before ~/.config/openstack/, whose password is now wrong
sed -i 's/password: alice-pw/password: wrong-pw/' "$HOME/.config/openstack/secure.yaml"
up_in "$TMP" s1.qcow2 --name home-wrong --no-wait
[[ $RC == 1 ]] && grep -q "HTTP 401" "$TMP/up.err" || fail "the wrong password at home: exit $RC"
mkdir -p "$TMP/wd"
cp "$TMP/cfg/clouds.yaml" "$TMP/cfg/secure.yaml" "$TMP/s1.qcow2" "$TMP/wd/"
up_in "$TMP/wd" s1.qcow2 --name found-here --no-wait
[[ $RC == 0 && $(named found-here) ]] || fail "clouds.yaml in ./ was not found first"
# /etc/openstack/ last: only where the test may create it (as root, when absent)
if [[ $EUID == 0 && ! -e /etc/openstack ]]; then
	CLEANUP+=("rm -rf /etc/openstack")
	mkdir /etc/openstack
	cp "$TMP/cfg/clouds.yaml" "$TMP/cfg/secure.yaml" /etc/openstack/
	rm "$HOME/.config/openstack/clouds.yaml" "$HOME/.config/openstack/secure.yaml"
	up_in "$TMP" s1.qcow2 --name found-etc --no-wait
	rm -rf /etc/openstack
	[[ $RC == 0 && $(named found-etc) ]] || fail "clouds.yaml in /etc/openstack was not found"
else
	echo "not tried: clouds.yaml in /etc/openstack/ (the test is not root, or it exists)"
fi
os_env_appcred "$ac_id" "$ac_secret"
up "$TMP/s1.qcow2" --name from-env-appcred
[[ $RC == 0 ]] || fail "OS_* application credential auth exited $RC"
os_env_cloud "$TMP/cfg" pw
OS_CLOUD=nope up "$TMP/s1.qcow2"
[[ $RC == 1 ]] && grep -q "no cloud named 'nope' (it has: lab, pw)" "$TMP/up.err" ||
	fail "an unknown cloud: exit $RC"

note "a cloud that refuses PUT /file to members: the import is used instead"
# oslo.policy reads the policy file again when it changes
printf '%s\n' '"upload_image": "role:admin"' >"$OPENSTACK_DIR/glance/policy.yaml"
os_env_password alice alice-pw demo
up "$TMP/s1.qcow2" --name fell-back
[[ $RC == 0 ]] || fail "the upload with PUT /file refused exited $RC"
grep -q "the cloud refuses PUT /file (HTTP 403); using the interoperable import" "$TMP/up.err" ||
	fail "PUT /file was not refused, or no fallback said so"
[[ $(prop "$(cat "$TMP/up.out")" status) == active ]] || fail "the imported image is not active"
printf '%s\n' '"upload_image": ""' >"$OPENSTACK_DIR/glance/policy.yaml"	# anyone again

note "the region picks the endpoint; a token and endpoint given as they are"
ks_region RegionTwo
ks_endpoints "$GLANCE_SERVICE_ID" RegionTwo http://127.0.0.1:9/ public
up "$TMP/s1.qcow2" --name region-one --no-wait
[[ $RC == 0 ]] || fail "RegionOne's endpoint was not the one used"
grep -q "the cloud refuses PUT /file" "$TMP/up.err" && fail "the policy file was not taken back"
OS_REGION_NAME=RegionTwo up "$TMP/s1.qcow2" --name region-two
[[ $RC == 1 ]] && grep -q "listing the images at http://127.0.0.1:9/v2: " "$TMP/up.err" ||
	fail "RegionTwo's endpoint was not used"
os_env_clear
OS_TOKEN=$ALICE_TOKEN OS_IMAGE_URL=$GLANCE_URL up "$TMP/s1.qcow2" --name by-token
[[ $RC == 0 ]] || fail "OS_TOKEN with OS_IMAGE_URL exited $RC"

# ---- faults: a clear error, exit 1, nothing left ------------------------------------------
count() { GLANCE_TOKEN=$ALICE_TOKEN glance_api GET /v2/images; os_body | os_json "len(j['images'])"; }

before=$(count)

note "a wrong password"
os_env_password alice wrong-pw demo
up "$TMP/s1.qcow2" --name never
[[ $RC == 1 ]] || fail "a wrong password exited $RC"
grep -q "refused the credentials of the OS_\* variables (HTTP 401" "$TMP/up.err" ||
	fail "no clear error for a wrong password"

note "a revoked token with OS_IMAGE_URL"
tok=$(ks_token alice alice-pw demo)
os_http DELETE "$KS_URL/auth/tokens" -H "X-Auth-Token: $KS_ADMIN_TOKEN" -H "X-Subject-Token: $tok"
os_expect 204 "revoking the token"
os_env_clear
OS_TOKEN=$tok OS_IMAGE_URL=$GLANCE_URL up "$TMP/s1.qcow2" --name never
[[ $RC == 1 ]] || fail "a revoked token exited $RC"
grep -q "HTTP 401.*the token is expired or not valid" "$TMP/up.err" ||
	fail "no clear error for a revoked token"

note "no image endpoint for the region"
os_env_password alice alice-pw demo
OS_REGION_NAME=Nowhere up "$TMP/s1.qcow2" --name never
[[ $RC == 1 ]] || fail "an unknown region exited $RC"
grep -q "no image endpoint for interface public in region Nowhere (it has: public in RegionOne" \
	"$TMP/up.err" || fail "no clear error for a missing endpoint"

note "over the cloud's size cap (413): the image is deleted"
small_qcow2 "$TMP/big.qcow2" $((70 * 1024 * 1024))
up "$TMP/big.qcow2" --name too-big
[[ $RC == 1 ]] || fail "413 exited $RC"
grep -q "HTTP 413.*; the image [0-9a-f-]* was deleted" "$TMP/up.err" || fail "no clear error for 413"
[[ -z $(named too-big) ]] || fail "the refused image is left behind"

note "the connection cut mid-upload: the image is deleted"
PROXY_PORT=$(free_port)
start_proxy() {	# MODE [CERT KEY]: cut (a PUT .../file is cut after 1 MB), flip (one byte of
	# it flipped) or tls (HTTPS with CERT and KEY in front of glance's HTTP)
	PROXY_PORT=$(free_port)
	/usr/bin/python3 - "$PROXY_PORT" "$GLANCE_PORT" 1000000 "$@" <<'PY' >"$TMP/proxy.log" 2>&1 &
# forwards to glance; a PUT .../file has its connection cut after CUT bytes of it, or the
# byte there flipped; or serves TLS, relaying from one thread (an SSL object is not for two)
import select, socket, ssl, sys, threading
port, target, cut, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
def relay(c, u):
    try:
        while True:
            r = [c] if c.pending() else select.select([c, u], [], [], 60)[0]
            if not r: return
            for s in r:
                d = s.recv(65536)
                if not d: return
                (u if s is c else c).sendall(d)
    except (OSError, ssl.SSLError) as e:
        print("relay:", e, flush=True)
def pipe(a, b, limit):
    n = 0
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            if limit and n == 0 and not (d.startswith(b"PUT ") and b"/file " in d.split(b"\r\n")[0]):
                limit = 0
            if limit and n <= limit < n + len(d):
                if mode == "cut":
                    print("cut after", limit, flush=True); break
                i = limit - n
                d = d[:i] + bytes([d[i] ^ 0xff]) + d[i + 1:]
                print("flipped byte", limit, flush=True)
            n += len(d)
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    if mode == "tls":
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("TLS handshake failed:", e, flush=True)
            return c.close()
    u = socket.create_connection(("127.0.0.1", target))
    if mode == "tls":
        return relay(c, u)
    threading.Thread(target=pipe, args=(u, c, 0), daemon=True).start()
    pipe(c, u, cut)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(16)
while True:
    c, _ = l.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	PROXY_PID=$!
	CLEANUP+=("kill $PROXY_PID 2>/dev/null")
	wait_for 10 "the proxy" bash -c "echo >/dev/tcp/127.0.0.1/$PROXY_PORT" 2>/dev/null
}
start_proxy cut
small_qcow2 "$TMP/mid.qcow2" $((8 * 1024 * 1024))
up "$TMP/mid.qcow2" --name cut-off --os-image-url "http://127.0.0.1:$PROXY_PORT"
[[ $RC == 1 ]] || fail "a cut connection exited $RC"
grep -q "cut after" "$TMP/proxy.log" || fail "the proxy cut nothing"
grep -q "the connection to http://127.0.0.1:$PROXY_PORT/v2 was lost after [0-9]* of [0-9]* bytes.*; the image [0-9a-f-]* was deleted" \
	"$TMP/up.err" || fail "no clear error for the cut"
[[ -z $(named cut-off) ]] || fail "the half-uploaded image is left behind"
kill "$PROXY_PID"

note "a byte changed on the way: the hash check fails, the image is deleted"
start_proxy flip
up "$TMP/mid.qcow2" --name flipped --os-image-url "http://127.0.0.1:$PROXY_PORT"
[[ $RC == 1 ]] || fail "a changed byte exited $RC"
grep -q "flipped byte" "$TMP/proxy.log" || fail "the proxy changed nothing"
grep -q "hash mismatch: Glance's sha512 is .*; the image [0-9a-f-]* was deleted" "$TMP/up.err" ||
	fail "no clear error for the hash mismatch"
[[ -z $(named flipped) ]] || fail "the image with the wrong hash is left behind"
kill "$PROXY_PID"

note "an HTTPS image endpoint: trusted through OS_CACERT, refused without it"
C=$TMP/pki
mkdir -p "$C"
tls_ca ca
tls_cert glance ca 'subjectAltName=IP:127.0.0.1'
start_proxy tls "$C/glance.pem" "$C/glance.key"
up "$TMP/s1.qcow2" --name over-tls --os-image-url "https://127.0.0.1:$PROXY_PORT"
[[ $RC == 1 ]] && grep -q "listing the images at https://127.0.0.1:$PROXY_PORT/v2: .*certificate" \
	"$TMP/up.err" || fail "an untrusted certificate was not refused"
OS_CACERT=$C/ca.pem up "$TMP/s1.qcow2" --name over-tls --os-image-url "https://127.0.0.1:$PROXY_PORT"
[[ $RC == 0 ]] || fail "the upload over TLS with OS_CACERT exited $RC"
[[ $(prop "$(cat "$TMP/up.out")" status) == active ]] || fail "the image sent over TLS is not active"

[[ $(count) == "$((before + 1))" ]] ||
	fail "images left behind by the faults: $(count), not $before and the one over TLS"

note "bad input"
expect_rc() { local want=$1; shift; up "$@"; [[ $RC == "$want" ]] || fail "cabin upload $*: exit $RC"; }
printf 'not an image\n' >"$TMP/text.qcow2"
expect_rc 1 "$TMP/text.qcow2"
grep -q "text.qcow2: not a qcow2 image" "$TMP/up.err" || fail "a file that is not qcow2"
expect_rc 1 "$TMP/none.qcow2"
grep -q "none.qcow2: No such file or directory" "$TMP/up.err" || fail "a missing file"
expect_rc 2 --visibility everyone
grep -q "visibility 'everyone': expected private" "$TMP/up.err" || fail "a bad visibility"
expect_rc 2 --property novalue
os_env_clear
expect_rc 1 "$TMP/s1.qcow2"
grep -q "OS_AUTH_URL is not set" "$TMP/up.err" || fail "no credentials at all"
"$CABIN" upload --help | grep -q "Usage: cabin upload" || fail "--help"
