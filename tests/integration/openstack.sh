# The real Debian keystone (22) and glance-api (25) on loopback, for the tests of `cabin
# upload` (sourced after lib.sh). All state (sqlite databases, fernet and credential keys,
# image and staging stores, logs) lives under $TMP/openstack; the servers are children of the
# test, killed by CLEANUP. Each server gets its own config files there: nothing is read from
# /etc/keystone or /etc/glance (which only the services' users may read anyway).
#
# Inputs, set before the start: GLANCE_SIZE_CAP (bytes; glance's [DEFAULT] image_size_cap),
# GLANCE_POLICY (YAML for glance's policy file; empty: the built-in defaults, under which
# publicize_image is "role:admin", so admin may publish and a member gets 403; e.g.
# GLANCE_POLICY='"publicize_image": "role:member"' lets members publish).
# Exported: KS_URL, KS_ADMIN_PASSWORD, KS_ADMIN_TOKEN, GLANCE_URL. After every os_http:
# HTTP_CODE, the body in $OPENSTACK_DIR/http.body (os_body), the headers (os_header).
#
# Use: openstack_start (or keystone_start, then glance_start); ks_user NAME PASSWORD
# PROJECT for a member of another project, ks_appcred for an application credential;
# os_env_password, os_env_appcred or os_clouds_yaml + os_env_cloud for the client under
# test; glance_images, glance_image_show, glance_image_field, glance_wait_status to check.
# Keystone is served by wsgiref: HTTP/1.0, one request at a time, a connection per request.

OPENSTACK_DIR=$TMP/openstack
KS_REGION=RegionOne
# on_exit evaluates CLEANUP where its $rc is the exit status
CLEANUP+=('((rc == 0 || rc == 77)) || os_logs')
KS_ADMIN_PASSWORD=admin-pw-$RANDOM$RANDOM
GLANCE_SERVICE_PASSWORD=glance-pw-$RANDOM$RANDOM
GLANCE_SIZE_CAP=${GLANCE_SIZE_CAP:-}
GLANCE_POLICY=${GLANCE_POLICY:-}

# os_have: keystone and glance-api (with their tools) are installed.
os_have() {
	command -v keystone-manage && command -v keystone-wsgi-public &&
		command -v glance-api && command -v glance-manage && command -v curl
} >/dev/null

# ---- HTTP and JSON -----------------------------------------------------------------------

# os_http METHOD URL [CURL_ARGS...]: one request; sets HTTP_CODE, leaves the body in
# $HTTP_OUT (default $OPENSTACK_DIR/http.body) and the headers in
# $OPENSTACK_DIR/http.headers. Fails only if curl cannot talk.
os_http() {
	local method=$1 url=$2
	shift 2
	HTTP_CODE=$(curl -sS -X "$method" -o "${HTTP_OUT:-$OPENSTACK_DIR/http.body}" \
		-D "$OPENSTACK_DIR/http.headers" -w '%{http_code}' --max-time 60 "$@" "$url") ||
		fail "curl $method $url failed"
}
# os_body: the last response's body (unless it went to $HTTP_OUT).
os_body() { cat "$OPENSTACK_DIR/http.body"; }
# os_header NAME: the last response's header NAME (value only, no CR).
os_header() {
	awk -v h="$1" 'BEGIN { IGNORECASE = 1 } tolower($0) ~ "^" tolower(h) ":" {
		sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print; exit }' "$OPENSTACK_DIR/http.headers"
}
# os_expect CODE WHAT: the last response had status CODE, else fails with its body.
os_expect() {
	[[ $HTTP_CODE == "$1" ]] ||
		{ os_body >&2; echo >&2; fail "$2: HTTP $HTTP_CODE, expected $1"; }
}
# os_json EXPR: evaluates the Python expression EXPR with j = the JSON document on stdin and
# prints the result (strings bare, everything else as JSON).
os_json() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# sqlite_wal FILE: switches the sqlite database FILE to write-ahead logging (the mode stays
# in the file). Keystone 22 leaves a read open somewhere: in the default rollback journal
# mode, the third or so write through its API (POST /v3/endpoints) then waits 5 s for the
# lock and fails with 500 "database is locked". In WAL mode readers never block the writer.
sqlite_wal() {
	/usr/bin/python3 -c 'import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute("pragma journal_mode=wal")' "$1"
}

# ---- keystone ----------------------------------------------------------------------------

# ks_conf: writes $OPENSTACK_DIR/keystone/keystone.conf (sqlite, fernet tokens; keys and
# policy under $OPENSTACK_DIR/keystone too).
ks_conf() {
	local d=$OPENSTACK_DIR/keystone
	mkdir -p "$d/policy.d"
	cat >"$d/keystone.conf" <<-EOF
		[DEFAULT]
		log_file = $d/keystone.log
		[database]
		connection = sqlite:///$d/keystone.db
		[identity]
		# bcrypt's fewest rounds: a password check then costs ~1 ms instead of ~0.3 s
		password_hash_rounds = 4
		[token]
		provider = fernet
		[fernet_tokens]
		key_repository = $d/fernet-keys
		[fernet_receipts]
		key_repository = $d/fernet-keys
		[credential]
		key_repository = $d/credential-keys
		[oslo_policy]
		policy_file = $d/policy.yaml
		policy_dirs = $d/policy.d
	EOF
}
# ks_manage ARGS...: keystone-manage on our config; its output goes to the log.
ks_manage() {
	keystone-manage --config-file "$OPENSTACK_DIR/keystone/keystone.conf" "$@" \
		>>"$OPENSTACK_DIR/keystone/manage.out" 2>&1 || {
		tail -n 20 "$OPENSTACK_DIR/keystone/manage.out" >&2
		fail "keystone-manage $1 failed"
	}
}
# ks_keys DIR: a key repository as `keystone-manage fernet_setup` (or credential_setup)
# leaves it: key 0 staged, key 1 primary, each 32 random bytes in URL-safe base64 (the Fernet
# key format). Writing them here saves two Python start-ups (~2 s each).
ks_keys() {
	mkdir -p "$1" && chmod 700 "$1"
	local k
	for k in 0 1; do
		(umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$1/$k")
	done
}
# os_alive PID NAME URL: NAME (process PID) is running and URL answers 2xx; fails at once
# if the process has exited.
os_alive() {
	kill -0 "$1" 2>/dev/null || fail "$2 exited (logs above)"
	curl -sf --max-time 5 -o /dev/null "$3"
}
# keystone_start: keystone on a free loopback port (or $KS_PORT), bootstrapped with user
# "admin" (password $KS_ADMIN_PASSWORD, role admin on project "admin"; roles member and
# reader exist too), region RegionOne and the identity endpoints (public, internal, admin:
# $KS_URL); sets KS_URL, KS_PORT, KS_PID and KS_ADMIN_TOKEN once /v3 answers.
keystone_start() {
	local d=$OPENSTACK_DIR/keystone
	KS_PORT=${KS_PORT:-$(free_port)}
	KS_URL=http://127.0.0.1:$KS_PORT/v3
	ks_conf
	ks_keys "$d/fernet-keys"
	ks_keys "$d/credential-keys"
	ks_manage db_sync
	ks_manage bootstrap --bootstrap-username admin --bootstrap-password "$KS_ADMIN_PASSWORD" \
		--bootstrap-project-name admin --bootstrap-role-name admin \
		--bootstrap-service-name keystone --bootstrap-region-id "$KS_REGION" \
		--bootstrap-public-url "$KS_URL" --bootstrap-internal-url "$KS_URL" \
		--bootstrap-admin-url "$KS_URL"
	sqlite_wal "$d/keystone.db"
	# the pbr script serves with wsgiref: HTTP/1.0, one request at a time, no keep-alive
	OS_KEYSTONE_CONFIG_FILES=$d/keystone.conf keystone-wsgi-public --host 127.0.0.1 \
		--port "$KS_PORT" >"$d/wsgi.out" 2>&1 &
	KS_PID=$!
	CLEANUP+=("kill $KS_PID 2>/dev/null")
	wait_for 60 "keystone on $KS_URL" os_alive "$KS_PID" keystone "$KS_URL"
	KS_ADMIN_TOKEN=$(ks_token admin "$KS_ADMIN_PASSWORD" admin)
	export KS_URL KS_ADMIN_PASSWORD KS_ADMIN_TOKEN
}
# ks_auth USER PASSWORD [PROJECT]: POST /v3/auth/tokens with the password method (domain
# Default), scoped to PROJECT if given; leaves the response for os_expect/os_header.
ks_auth() {
	local scope=
	[[ -n ${3:-} ]] && scope=',"scope":{"project":{"name":"'$3'","domain":{"id":"default"}}}'
	os_http POST "$KS_URL/auth/tokens" -H 'Content-Type: application/json' -d @- <<-EOF
		{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"$1",
		"domain":{"id":"default"},"password":"$2"}}}$scope}}
	EOF
}
# ks_token USER PASSWORD [PROJECT]: prints a token for USER (project-scoped if PROJECT).
ks_token() {
	ks_auth "$@"
	os_expect 201 "keystone token for $1"
	os_header X-Subject-Token
}
# ks_appcred_auth ID SECRET: POST /v3/auth/tokens with the application_credential method.
ks_appcred_auth() {
	os_http POST "$KS_URL/auth/tokens" -H 'Content-Type: application/json' -d @- <<-EOF
		{"auth":{"identity":{"methods":["application_credential"],
		"application_credential":{"id":"$1","secret":"$2"}}}}
	EOF
}
# ks_api METHOD PATH [JSON]: keystone's API (PATH below /v3) as admin; prints the body and
# fails unless the status is 2xx.
ks_api() {
	local args=(-H "X-Auth-Token: $KS_ADMIN_TOKEN")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' -d "$3")
	os_http "$1" "$KS_URL$2" "${args[@]}"
	[[ $HTTP_CODE == 2?? ]] || { os_body >&2; echo >&2; fail "keystone $1 $2: HTTP $HTTP_CODE"; }
	os_body
}
# ks_id KIND NAME: the id of the project/user/role/service named NAME (empty if none).
ks_id() { ks_api GET "/${1}s?name=$2" | os_json "j['${1}s'][0]['id'] if j['${1}s'] else ''"; }
# ks_project NAME: creates project NAME (domain Default) unless it exists; prints its id.
ks_project() {
	local id
	id=$(ks_id project "$1")
	[[ -n $id ]] || id=$(ks_api POST /projects \
		'{"project":{"name":"'"$1"'","domain_id":"default"}}' | os_json "j['project']['id']")
	echo "$id"
}
# ks_user NAME PASSWORD PROJECT [ROLE]: creates user NAME (domain Default, default project
# PROJECT) with ROLE (default member) on PROJECT, creating the project if needed; prints the
# user's id.
ks_user() {
	local pid uid rid
	pid=$(ks_project "$3")
	uid=$(ks_api POST /users '{"user":{"name":"'"$1"'","password":"'"$2"'",
		"domain_id":"default","default_project_id":"'"$pid"'"}}' | os_json "j['user']['id']")
	rid=$(ks_id role "${4:-member}")
	[[ -n $rid ]] || fail "keystone has no role ${4:-member}"
	ks_api PUT "/projects/$pid/users/$uid/roles/$rid" >/dev/null
	echo "$uid"
}
# ks_appcred USER PASSWORD PROJECT NAME: an application credential NAME of USER, scoped to
# PROJECT (created with USER's own token, as keystone's policy requires); prints "ID SECRET".
ks_appcred() {
	local token uid
	token=$(ks_token "$1" "$2" "$3")
	uid=$(ks_id user "$1")
	os_http POST "$KS_URL/users/$uid/application_credentials" -H "X-Auth-Token: $token" \
		-H 'Content-Type: application/json' -d '{"application_credential":{"name":"'"$4"'"}}'
	os_expect 201 "application credential $4 for $1"
	os_body | os_json "(j['application_credential']['id'] + ' ' +
		j['application_credential']['secret'])"
}
# ks_region ID: creates region ID (RegionOne exists from the bootstrap).
ks_region() { ks_api POST /regions '{"region":{"id":"'"$1"'"}}' >/dev/null; }
# ks_endpoints SERVICE_ID REGION URL INTERFACE...: catalog endpoints (public, internal or
# admin) of the service in REGION, all with URL. E.g. a decoy image endpoint for a test of
# region or interface selection: ks_region RegionTwo; ks_endpoints "$GLANCE_SERVICE_ID"
# RegionTwo http://127.0.0.1:9/ public.
ks_endpoints() {
	local sid=$1 region=$2 url=$3 itf
	shift 3
	for itf; do
		ks_api POST /endpoints '{"endpoint":{"service_id":"'"$sid"'","interface":"'"$itf"'",
			"url":"'"$url"'","region_id":"'"$region"'"}}' >/dev/null
	done
}

# ---- client-side configuration -----------------------------------------------------------

# os_env_clear: unsets every OS_* variable (so a test controls exactly what a client sees).
os_env_clear() {
	local v
	for v in $(compgen -v OS_); do
		unset "$v"
	done
}
# os_env_password USER PASSWORD PROJECT: exports the OS_* variables of password auth
# (domain Default, region RegionOne, public interface), after os_env_clear.
os_env_password() {
	os_env_clear
	export OS_AUTH_URL=$KS_URL OS_AUTH_TYPE=password OS_IDENTITY_API_VERSION=3
	export OS_USERNAME=$1 OS_PASSWORD=$2 OS_PROJECT_NAME=$3
	export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
	export OS_REGION_NAME=$KS_REGION OS_INTERFACE=public
}
# os_env_appcred ID SECRET: exports the OS_* variables of application credential auth.
os_env_appcred() {
	os_env_clear
	export OS_AUTH_URL=$KS_URL OS_AUTH_TYPE=v3applicationcredential OS_IDENTITY_API_VERSION=3
	export OS_APPLICATION_CREDENTIAL_ID=$1 OS_APPLICATION_CREDENTIAL_SECRET=$2
	export OS_REGION_NAME=$KS_REGION OS_INTERFACE=public
}
# os_env_cloud DIR CLOUD: exports OS_CLOUD=CLOUD and points OS_CLIENT_CONFIG_FILE and
# OS_CLIENT_SECURE_FILE at DIR/clouds.yaml and DIR/secure.yaml (openstacksdk takes the two
# overrides separately: it does not look for secure.yaml next to an OS_CLIENT_CONFIG_FILE),
# after os_env_clear. Without the overrides the search is ./, ~/.config/openstack/,
# /etc/openstack/, first file found wins: set HOME to keep a developer's own out.
os_env_cloud() {
	os_env_clear
	export OS_CLOUD=$2 OS_CLIENT_CONFIG_FILE=$1/clouds.yaml
	export OS_CLIENT_SECURE_FILE=$1/secure.yaml
}
# os_clouds_yaml DIR CLOUD password USER PASSWORD PROJECT
# os_clouds_yaml DIR CLOUD appcred ID SECRET
#   appends the entry CLOUD to DIR/clouds.yaml, its password or secret going to
#   DIR/secure.yaml instead (both files are created with a "clouds:" line if missing).
os_clouds_yaml() {
	local dir=$1 cloud=$2 kind=$3
	mkdir -p "$dir"
	local f
	for f in clouds secure; do
		[[ -s $dir/$f.yaml ]] || echo 'clouds:' >"$dir/$f.yaml"
	done
	case $kind in
	password)
		cat >>"$dir/clouds.yaml" <<-EOF
			  $cloud:
			    auth_type: password
			    auth:
			      auth_url: $KS_URL
			      username: $4
			      project_name: $6
			      user_domain_name: Default
			      project_domain_name: Default
			    region_name: $KS_REGION
			    interface: public
			    identity_api_version: 3
		EOF
		printf '  %s:\n    auth:\n      password: %s\n' "$cloud" "$5" >>"$dir/secure.yaml" ;;
	appcred)
		cat >>"$dir/clouds.yaml" <<-EOF
			  $cloud:
			    auth_type: v3applicationcredential
			    auth:
			      auth_url: $KS_URL
			      application_credential_id: $4
			    region_name: $KS_REGION
			    interface: public
			    identity_api_version: 3
		EOF
		printf '  %s:\n    auth:\n      application_credential_secret: %s\n' "$cloud" "$5" \
			>>"$dir/secure.yaml" ;;
	*) fail "os_clouds_yaml: unknown kind $kind" ;;
	esac
}

# ---- glance ------------------------------------------------------------------------------

# glance_conf: writes $OPENSTACK_DIR/glance/glance-api.conf. One file store ("local") plus
# the reserved stores that the interoperable import needs (staging, tasks), all under
# $OPENSTACK_DIR/glance; tokens checked against keystone by keystonemiddleware as "glance".
#
# image_size_cap: PUT /file or /stage of more bytes is cut off once glance has read one byte
# past the cap (with or without Content-Length, chunked too): 413 with the message "The
# incoming image is too large: The provided image is too large." (an HTML page; JSON
# {"message","code","title"} when the request says Accept: application/json); the image
# goes back to "queued" (staged data deleted). curl reads that 413 cleanly even while it
# still has megabytes of body to send.
glance_conf() {
	local d=$OPENSTACK_DIR/glance
	mkdir -p "$d/policy.d" "$d/images" "$d/staging" "$d/tasks" "$d/lock"
	printf '%s\n' "$GLANCE_POLICY" >"$d/policy.yaml"
	glance_paste >"$d/glance-api-paste.ini"
	cat >"$d/glance-api.conf" <<-EOF
		[DEFAULT]
		bind_host = 127.0.0.1
		bind_port = $GLANCE_PORT
		workers = 0
		log_file = $d/glance-api.log
		enabled_backends = local:file
		enabled_import_methods = [glance-direct]
		${GLANCE_SIZE_CAP:+image_size_cap = $GLANCE_SIZE_CAP}
		[glance_store]
		default_backend = local
		[local]
		filesystem_store_datadir = $d/images
		[os_glance_staging_store]
		filesystem_store_datadir = $d/staging
		[os_glance_tasks_store]
		filesystem_store_datadir = $d/tasks
		[database]
		connection = sqlite:///$d/glance.db
		[paste_deploy]
		flavor = keystone
		config_file = $d/glance-api-paste.ini
		[keystone_authtoken]
		www_authenticate_uri = $KS_URL
		auth_url = $KS_URL
		auth_type = password
		username = glance
		password = $GLANCE_SERVICE_PASSWORD
		project_name = service
		user_domain_name = Default
		project_domain_name = Default
		region_name = $KS_REGION
		[oslo_policy]
		policy_file = $d/policy.yaml
		policy_dirs = $d/policy.d
		[oslo_concurrency]
		lock_path = $d/lock
	EOF
}
# glance_paste: glance-api's WSGI pipeline (PasteDeploy), for [paste_deploy] flavor
# "keystone": the app "glance-api" + "-keystone". /healthcheck and the version documents
# (GET /, /versions) answer before authtoken; authtoken only marks a request as confirmed
# or not (delay_auth_decision) and glance's context filter answers 401 for the latter.
glance_paste() {
	cat <<-EOF
		[pipeline:glance-api-keystone]
		pipeline = healthcheck versionnegotiation authtoken context rootapp
		[composite:rootapp]
		paste.composite_factory = glance.api:root_app_factory
		/: apiversions
		/v2: apiv2app
		[app:apiversions]
		paste.app_factory = glance.api.versions:create_resource
		[app:apiv2app]
		paste.app_factory = glance.api.v2.router:API.factory
		[filter:healthcheck]
		paste.filter_factory = oslo_middleware:Healthcheck.factory
		[filter:versionnegotiation]
		paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory
		[filter:authtoken]
		paste.filter_factory = keystonemiddleware.auth_token:filter_factory
		delay_auth_decision = true
		[filter:context]
		paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
	EOF
}
# glance_spawn: picks GLANCE_PORT (unless set), then in the background writes the config,
# creates glance's database and execs glance-api (which does not talk to keystone before
# the first request); sets GLANCE_URL and GLANCE_PID. Needs KS_URL or KS_PORT only.
glance_spawn() {
	local d=$OPENSTACK_DIR/glance
	GLANCE_PORT=${GLANCE_PORT:-$(free_port)}
	GLANCE_URL=http://127.0.0.1:$GLANCE_PORT
	KS_URL=${KS_URL:-http://127.0.0.1:$KS_PORT/v3}
	(
		glance_conf
		glance-manage --config-file "$d/glance-api.conf" db_sync >"$d/manage.out" 2>&1 ||
			fail "glance-manage db_sync failed (see glance/manage.out)"
		sqlite_wal "$d/glance.db"
		exec glance-api --config-file "$d/glance-api.conf" >"$d/api.out" 2>&1
	) &
	GLANCE_PID=$!
	CLEANUP+=("kill $GLANCE_PID 2>/dev/null")
}
# glance_start: glance-api on a free loopback port behind keystone (keystone_start first;
# glance_spawn unless done): creates the service user "glance" (admin on project "service")
# and the catalog's image service with public and internal endpoints in RegionOne; returns
# once /healthcheck answers and an image list as admin succeeds (which proves glance's own
# credentials too). Sets GLANCE_URL (unversioned, as in the catalog), GLANCE_PORT, GLANCE_PID
# and GLANCE_SERVICE_ID (the catalog's service).
glance_start() {
	[[ -n ${KS_ADMIN_TOKEN:-} ]] || fail "glance_start: keystone_start first"
	[[ -n ${GLANCE_PID:-} ]] || glance_spawn
	ks_user glance "$GLANCE_SERVICE_PASSWORD" service admin >/dev/null
	GLANCE_SERVICE_ID=$(ks_api POST /services '{"service":{"type":"image","name":"glance"}}' |
		os_json "j['service']['id']")
	ks_endpoints "$GLANCE_SERVICE_ID" "$KS_REGION" "$GLANCE_URL" public internal
	wait_for 60 "glance-api on $GLANCE_URL" os_alive "$GLANCE_PID" glance-api \
		"$GLANCE_URL/healthcheck"
	glance_api GET /v2/images
	os_expect 200 "glance GET /v2/images as admin"
	export GLANCE_URL GLANCE_SERVICE_ID
}
# openstack_start: keystone_start and glance_start, glance's database and start-up
# overlapping keystone's (~7 s instead of ~10 s on 2 cores).
openstack_start() {
	KS_PORT=${KS_PORT:-$(free_port)}
	glance_spawn
	keystone_start
	glance_start
}
# glance_api METHOD PATH [CURL_ARGS...]: glance's API with $GLANCE_TOKEN (default: the admin
# token); leaves the response for os_expect/os_body.
glance_api() {
	local method=$1 path=$2
	shift 2
	os_http "$method" "$GLANCE_URL$path" \
		-H "X-Auth-Token: ${GLANCE_TOKEN:-$KS_ADMIN_TOKEN}" "$@"
}
# glance_image_show ID: prints the image's JSON (fails unless 200).
glance_image_show() {
	glance_api GET "/v2/images/$1"
	os_expect 200 "glance image $1"
	os_body
}
# glance_images [QUERY]: prints the JSON list of images (GET /v2/images?QUERY).
glance_images() {
	glance_api GET "/v2/images${1:+?$1}"
	os_expect 200 "glance images"
	os_body
}
# glance_image_field ID FIELD: prints one field of the image ("" if absent or null).
glance_image_field() {
	glance_image_show "$1" | os_json "'' if j.get('$2') is None else j['$2']"
}
# glance_image_by_name NAME: prints the id of the only image named NAME (fails otherwise).
glance_image_by_name() {
	glance_images "name=$1" | os_json "(j['images'][0]['id'] if len(j['images']) == 1
		else sys.exit('want one image named $1, have %d' % len(j['images'])))"
}
# glance_wait_status ID STATUS [SECONDS]: waits (default 30 s) until the image has STATUS.
glance_wait_status() {
	wait_for "${3:-30}" "image $1 to become $2" glance_status_is "$1" "$2"
}
glance_status_is() { [[ $(glance_image_field "$1" status) == "$2" ]]; }

# os_logs: the tail of every server log, on stderr (run by CLEANUP when the test fails).
os_logs() {
	local f
	for f in "$OPENSTACK_DIR"/*/*.log "$OPENSTACK_DIR"/*/*.out; do
		[[ -s $f ]] || continue
		printf '==== %s\n' "${f#"$OPENSTACK_DIR"/}" >&2
		grep -v '^\s*$' "$f" | tail -n 12 >&2
	done
}
