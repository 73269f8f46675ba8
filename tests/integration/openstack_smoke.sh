# The OpenStack harness itself (tests/integration/openstack.sh), with curl only: keystone's
# password, application credential and failed logins; glance's upload, import, download and
# size cap; so that a failure of the `cabin upload` tests points at cabin, not at the harness.
source tests/integration/lib.sh
source tests/integration/openstack.sh
os_have || skip "keystone or glance-api not installed (Debian keystone, glance-api)"
command -v qemu-img >/dev/null || skip "qemu-img not installed"

# the cap sits between the two images below
GLANCE_SIZE_CAP=$((1024 * 1024))
openstack_start
note "keystone and glance up in $SECONDS s"

# glance: the version document needs no token, the API does
os_http GET "$GLANCE_URL/"
os_expect 300 "glance version document"
os_http GET "$GLANCE_URL/v2/images"
os_expect 401 "glance without a token"
[[ $(os_header WWW-Authenticate) == "Keystone uri=\"$KS_URL\"" ]] ||
	fail "glance's 401 WWW-Authenticate: $(os_header WWW-Authenticate)"

# ---- keystone ----------------------------------------------------------------------------
ks_auth admin "$KS_ADMIN_PASSWORD" admin
os_expect 201 "password token"
[[ -n $(os_header X-Subject-Token) ]] || fail "no X-Subject-Token"
url=$(os_body | os_json "[e['url'] for s in j['token']['catalog'] if s['type'] == 'image'
	for e in s['endpoints'] if e['interface'] == 'public' and e['region_id'] == 'RegionOne']")
[[ $url == "[\"$GLANCE_URL\"]" ]] || fail "catalog's public image endpoint: $url"
ks_auth admin wrong-password admin
os_expect 401 "wrong password"

ks_user alice alice-pw demo >/dev/null
appcred=$(ks_appcred alice alice-pw demo upload)
read -r ac_id ac_secret <<<"$appcred"
ks_appcred_auth "$ac_id" "$ac_secret"
os_expect 201 "application credential token"
GLANCE_TOKEN=$(os_header X-Subject-Token)
[[ $(os_body | os_json "j['token']['project']['name']") == demo ]] ||
	fail "application credential token not scoped to demo"
ks_appcred_auth "$ac_id" wrong-secret
os_expect 401 "wrong application credential secret"
note "keystone: password 201, catalog, 401s, application credential"

# ---- glance: a small real qcow2 -----------------------------------------------------------
head -c 65536 /dev/urandom >"$TMP/data.raw"
qemu-img convert -f raw -O qcow2 "$TMP/data.raw" "$TMP/small.qcow2"
qemu-img resize -q "$TMP/small.qcow2" 16M
size=$(stat -c %s "$TMP/small.qcow2")
sha=$(sha512sum "$TMP/small.qcow2" | cut -d' ' -f1)

# as alice (member of demo) through her application credential's token
glance_api POST /v2/images -H 'Content-Type: application/json' -d '{"name":"smoke",
	"disk_format":"qcow2","container_format":"bare","visibility":"private","min_disk":1,
	"min_ram":64,"tags":["cabin"],"hw_disk_bus":"virtio","os_type":"linux"}'
os_expect 201 "create image"
id=$(os_body | os_json "j['id']")
[[ $(glance_image_field "$id" status) == queued ]] || fail "new image not queued"
glance_api PUT "/v2/images/$id/file" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$TMP/small.qcow2"
os_expect 204 "upload"
glance_wait_status "$id" active
glance_image_show "$id" >"$TMP/image.json"
check() {	# EXPR WANT: a field of the image
	local got
	got=$(os_json "$1" <"$TMP/image.json")
	[[ $got == "$2" ]] || fail "image $1 = $got, expected $2"
}
check "j['os_hash_algo']" sha512
check "j['os_hash_value']" "$sha"
check "j['size']" "$size"
check "j['virtual_size']" $((16 * 1024 * 1024))
check "j['hw_disk_bus']" virtio
check "j['tags']" '["cabin"]'
check "j['min_disk']" 1
HTTP_OUT=$TMP/back.qcow2 glance_api GET "/v2/images/$id/file"
os_expect 200 "download"
cmp "$TMP/small.qcow2" "$TMP/back.qcow2" || fail "downloaded image differs"
[[ $(glance_image_by_name smoke) == "$id" ]] || fail "image not found by name"
note "glance: create, PUT /file, active, sha512, download"

# the reference client (python3-openstackclient, a dependency of both packages) reads the
# clouds.yaml/secure.yaml and OS_* variables the helpers write, and finds glance in the
# catalog past a decoy endpoint of another region (port 9, discard: nothing listens)
ks_region RegionTwo
ks_endpoints "$GLANCE_SERVICE_ID" RegionTwo http://127.0.0.1:9 public internal
n=$(ks_token alice alice-pw demo >/dev/null && os_body | os_json "len([e for s in
	j['token']['catalog'] if s['type'] == 'image' for e in s['endpoints']])")
[[ $n == 4 ]] || fail "catalog has $n image endpoints, expected 4"
os_clouds_yaml "$TMP/cfg" demo password alice alice-pw demo
os_clouds_yaml "$TMP/cfg" demo-app appcred "$ac_id" "$ac_secret"
got=$(os_env_cloud "$TMP/cfg" demo && HOME=$TMP/home openstack image show smoke -f value -c id)
[[ $got == "$id" ]] || fail "openstack CLI, clouds.yaml password entry: '$got'"
got=$(os_env_cloud "$TMP/cfg" demo-app && HOME=$TMP/home openstack image list -f value -c ID)
[[ $got == "$id" ]] || fail "openstack CLI, clouds.yaml application credential entry: '$got'"
got=$(os_env_password alice alice-pw demo && HOME=$TMP/home openstack image list -f value -c ID)
[[ $got == "$id" ]] || fail "openstack CLI, OS_* password variables: '$got'"
note "openstack CLI: clouds.yaml + secure.yaml (password, application credential), OS_*"

# ---- glance: the interoperable import (glance-direct) -----------------------------------
glance_api GET /v2/info/import
os_expect 200 "import info"
[[ $(os_body | os_json "j['import-methods']['value']") == '["glance-direct"]' ]] ||
	fail "import methods: $(os_body)"
glance_api POST /v2/images -H 'Content-Type: application/json' \
	-d '{"name":"smoke-import","disk_format":"qcow2","container_format":"bare"}'
os_expect 201 "create image to import"
id2=$(os_body | os_json "j['id']")
glance_api PUT "/v2/images/$id2/stage" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$TMP/small.qcow2"
os_expect 204 "stage"
[[ $(glance_image_field "$id2" status) == uploading ]] || fail "staged image not uploading"
glance_api POST "/v2/images/$id2/import" -H 'Content-Type: application/json' \
	-d '{"method":{"name":"glance-direct"}}'
os_expect 202 "import"
glance_wait_status "$id2" active
[[ $(glance_image_field "$id2" os_hash_value) == "$sha" ]] || fail "imported image's hash"
note "glance: stage, import, active"

# ---- glance: public images need admin; the size cap --------------------------------------
publicize='[{"op":"replace","path":"/visibility","value":"public"}]'
patch=(-H 'Content-Type: application/openstack-images-v2.1-json-patch' -d "$publicize")
glance_api PATCH "/v2/images/$id" "${patch[@]}"
os_expect 403 "member publicizing"
GLANCE_TOKEN='' glance_api PATCH "/v2/images/$id" "${patch[@]}"
os_expect 200 "admin publicizing"

head -c $((2 * 1024 * 1024)) /dev/urandom >"$TMP/big.raw"
qemu-img convert -f raw -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2"
for how in file stage; do
	glance_api POST /v2/images -H 'Content-Type: application/json' \
		-d '{"name":"too-big","disk_format":"qcow2","container_format":"bare"}'
	os_expect 201 "create image too big"
	id3=$(os_body | os_json "j['id']")
	glance_api PUT "/v2/images/$id3/$how" -H 'Content-Type: application/octet-stream' \
		--data-binary @"$TMP/big.qcow2"
	os_expect 413 "PUT /$how over image_size_cap"
	[[ $(glance_image_field "$id3" status) == queued ]] || fail "image not back to queued"
done
note "glance: 403 publicizing as member, 413 over the cap (file and stage)"
note "total $SECONDS s"
