#!/usr/bin/env bash
# Fetches the appliance's pinned dependency sources from Debian's source archive (private apt
# state under build/apt, orig tarball checked against its sha256 pin) and builds each one
# static against musl into build/musl. Pins live in appliance/sources.lock; see --help.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
LOCK=$HERE/sources.lock
B=$ROOT/build
APTD=$B/apt
DL=$B/dl
SRCD=$B/src
LOGD=$B/log
PREFIX=$B/musl
JOBS=${DEPS_JOBS:-2}

# Which other deps a dep compiles and links against; they are built first.
declare -A NEEDS=([curl]="mbedtls nghttp2")

UPDATED=0   # set once this run has refreshed the private apt lists
# What the private apt state indexes: source packages (deps) or, for the kernel, binary
# packages of this machine's own suites (cmd_kernel switches these).
APT_TYPES=deb-src
APT_INDEX=Sources
APT_TARGETS=
KLOCK=$HERE/kernel.lock
GET_TMP=""  # download directory of the fetch in progress, removed on exit
trap 'rm -rf "${GET_TMP:-/nonexistent}"' EXIT

usage() {
	cat <<EOF
usage: appliance/deps.sh COMMAND [NAME]

Fetches pinned upstream source tarballs from Debian's source archive and builds them static
with musl-gcc. Pins (upstream version, Debian source package, suite, sha256 of the orig
tarball) are in appliance/sources.lock; a dep is one line there.

commands:
  fetch NAME     download NAME's orig tarball into build/dl/ and check its sha256 against the
                 pin; no network when build/dl/ already holds a tarball that matches
  build NAME     unpack the checked tarball (pristine upstream, no Debian patches) into
                 build/src/NAME-VERSION/ and build it into build/musl/{include,lib}, after
                 the deps it links against; fetches first if needed; writes
                 build/musl/stamp/NAME and does nothing when that stamp is up to date
                 (same pin, same deps.sh, same compiler, same deps)
  all            fetch and build every dep in sources.lock, in file order
  kernel         fetch the pinned kernel package (appliance/kernel.lock) into build/dl/,
                 check its sha256, unpack it into build/kernel/ and run depmod there;
                 does nothing when build/kernel/ already holds that pin
  kernel-pin     point appliance/kernel.lock at the archive's current linux-image-amd64
  versions NAME  list the revisions of NAME's Debian source package in the private apt
                 lists and the sha256 of each orig tarball (for updating a pin)
  -h, --help     this text

apt runs with a private configuration and state in build/apt/: its deb-src list is derived
from this machine's own deb entries (same URIs, components and keyring; suites renamed to
the ones sources.lock names), and 'apt-get update' runs only when that list changed or the
lists are missing. The system's apt configuration and state are not touched.

Logs go to build/log/NAME.log (build) and build/log/NAME.fetch.log (fetch).
Environment: DEPS_JOBS (parallel make jobs, default 2).
EOF
}

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }
rel() { printf '%s' "${1#"$ROOT"/}"; }

# Step timings, from bash's microsecond clock.
now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$((10#$t))"; }
since() { local d=$(($(now_us) - $1)); printf '%d.%d s' $((d / 1000000)) $((d / 100000 % 10)); }

# Prints the last lines of a log and its path, then fails.
die_log() {
	printf 'deps: error: %s\n--- last lines of %s:\n' "$1" "$(rel "$2")" >&2
	tail -n 30 "$2" >&2
	printf -- '--- full log: %s\n' "$2" >&2
	exit 1
}

# ---- pins ------------------------------------------------------------------------------

lock_lines() { awk '!/^[[:space:]]*(#|$)/' "$LOCK"; }
lock_names() { lock_lines | awk '{ print $1 }' | xargs; }
lock_suites() { lock_lines | awk '{ print $4 }' | sort -u | xargs; }

# Sets L_NAME L_VER L_SRC L_SUITE L_SHA L_LINE from NAME's pin.
lock_read() {
	local n v s su h rest
	while read -r n v s su h rest; do
		[[ $n == "$1" ]] || continue
		[[ -n $h && -z $rest ]] ||
			die "$(rel "$LOCK"): line for $1 must be: name version source suite sha256"
		[[ $h =~ ^[0-9a-f]{64}$ ]] || die "$(rel "$LOCK"): $1: '$h' is not a sha256"
		L_NAME=$n L_VER=$v L_SRC=$s L_SUITE=$su L_SHA=$h L_LINE="$n $v $s $su $h"
		return 0
	done < <(lock_lines)
	die "$1: no such dep in $(rel "$LOCK") (known: $(lock_names))"
}

# Prints the path of the kept orig tarball for the current pin, if there is one.
dl_file() {
	local f
	for f in "$DL/${L_SRC}_${L_VER}".orig.tar.{gz,xz,bz2,lzma,zst}; do
		[[ -f $f ]] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}

# Fails with the file, expected and actual hash unless FILE ($1) has the pinned sha256.
# $2 says where the file came from, $3 what to do about a mismatch.
check_sha() {
	local got
	got=$(sha256sum "$1")
	got=${got%% *}
	[[ $got == "$L_SHA" ]] && return 0
	die "sha256 mismatch for $L_NAME $L_VER
  file:     $(rel "$1")${2:+ ($2)}
  expected: $L_SHA (pinned in appliance/sources.lock)
  actual:   $got
  $3"
}

KEPT_ADVICE="This is not the pinned tarball. Remove it to fetch it again, or update the pin on purpose."
ARCHIVE_ADVICE="Debian's archive serves a different orig tarball for this upstream version; nothing was kept. Check the pin (deps.sh versions NAME)."

# ---- private apt state -----------------------------------------------------------------

papt() { APT_CONFIG=$APTD/apt.conf "$@"; }

# Rewrites the machine's deb entries (one-line .list files and deb822 .sources files) as
# deb822 deb-src stanzas. Suites are this machine's codename and its -updates/-security
# pockets, renamed to every suite the lock needs. Entries signed by a non-Debian keyring are
# skipped: a third-party repository has no Debian suites to rename.
# shellcheck disable=SC2016 # an awk program
DERIVE_AWK='
function map_suites(list,   n, a, i, j, s, sfx, out, seen) {
	n = split(list, a, /[ \t\n]+/)
	for (i = 1; i <= n; i++) {
		s = a[i]
		if (s == codename) sfx = ""
		else if (index(s, codename "-") == 1) sfx = substr(s, length(codename) + 1)
		else continue
		for (j = 1; j <= nt; j++)
			if (!((t[j] sfx) in seen)) { seen[t[j] sfx]; out = out (out == "" ? "" : " ") t[j] sfx }
	}
	return out
}
function emit(uris, suites, comps, signedby, trusted,   m) {
	if (signedby != "" && signedby !~ /debian-archive/) return
	m = map_suites(suites)
	if (m == "" || uris == "" || comps == "") return
	print "Types: " types
	print "URIs: " uris
	print "Suites: " m
	print "Components: " comps
	if (signedby != "") print "Signed-By: " signedby
	if (trusted != "") print "Trusted: " trusted
	print ""
	found++
}
function end_stanza() {
	if (("types" in f) && f["types"] ~ /(^|[ \t])deb([ \t]|$)/ && tolower(f["enabled"]) != "no")
		emit(f["uris"], f["suites"], f["components"], f["signed-by"], f["trusted"])
	delete f
	key = ""
}
function one_line(line,   w, n, i, o, sb, tr, comps) {
	sub(/^[ \t]+/, "", line)
	n = split(line, w, /[ \t]+/)
	if (w[1] != "deb") return
	i = 2
	if (w[2] ~ /^\[/) {
		for (; i <= n; i++) {
			o = w[i]; gsub(/[\[\]]/, "", o)
			if (o ~ /^signed-by=/) sb = substr(o, 11)
			if (o ~ /^trusted=/) tr = substr(o, 9)
			if (w[i] ~ /\]$/) { i++; break }
		}
	}
	for (j = i + 2; j <= n; j++) if (w[j] != "") comps = comps (comps == "" ? "" : " ") w[j]
	emit(w[i], w[i + 1], comps, sb, tr)
}
BEGIN { nt = split(targets, t, " ") }
FNR == 1 { end_stanza() }
FILENAME !~ /\.sources$/ { sub(/#.*/, ""); if ($0 !~ /^[ \t]*$/) one_line($0); next }
/^#/ { next }
/^[ \t]*$/ { end_stanza(); next }
/^[ \t]/ { if (key != "") f[key] = f[key] "\n" $0; next }
{
	key = tolower($0); sub(/:.*/, "", key)
	val = $0; sub(/^[^:]*:[ \t]*/, "", val)
	f[key] = val
}
END { end_stanza(); if (!found) exit 3 }
'

# Writes the private apt configuration and deb-src list. The system's apt.conf.d is kept
# (proxies, validity checks) through symlinks, but its update/dpkg hooks are cleared so a
# private update cannot act on the system (e.g. refresh the system's AppStream cache).
apt_setup() {
	local parts main list listd codename f
	local -a inputs=()
	eval "$(apt-config shell parts Dir::Etc::Parts/d main Dir::Etc::Main/f \
		list Dir::Etc::SourceList/f listd Dir::Etc::SourceParts/d)"
	mkdir -p "$APTD"/{conf.d,sources.list.d,lists/partial,cache/archives/partial,state,preferences.d} "$LOGD"
	rm -f "$APTD"/conf.d/*
	for f in "$parts"*; do
		[[ -f $f ]] && ln -s "$f" "$APTD/conf.d/"
	done
	[[ -f $main ]] && ln -s "$main" "$APTD/conf.d/zz-system-apt.conf"
	cat >"$APTD/conf.d/zzz-deps" <<-EOF
		// Written by appliance/deps.sh: private state for fetching dependency sources.
		#clear APT::Update::Pre-Invoke;
		#clear APT::Update::Post-Invoke;
		#clear APT::Update::Post-Invoke-Success;
		#clear DPkg::Pre-Invoke;
		#clear DPkg::Post-Invoke;
		#clear DPkg::Pre-Install-Pkgs;
		Dir::Etc::SourceList "$APTD/sources.list";
		Dir::Etc::SourceParts "$APTD/sources.list.d";
		Dir::Etc::Preferences "$APTD/preferences";
		Dir::Etc::PreferencesParts "$APTD/preferences.d";
		Dir::State "$APTD/state";
		Dir::State::Lists "$APTD/lists";
		Dir::State::status "/dev/null";
		Dir::Cache "$APTD/cache";
		Acquire::Languages "none";
	EOF
	printf 'Dir::Etc::Parts "%s/conf.d";\nDir::Etc::Main "/dev/null";\n' "$APTD" >"$APTD/apt.conf"

	# shellcheck source=/dev/null
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "cannot tell this machine's Debian codename (VERSION_CODENAME in /etc/os-release)"
	[[ -f $list ]] && inputs+=("$list")
	for f in "$listd"*.list "$listd"*.sources; do
		[[ -f $f ]] && inputs+=("$f")
	done
	((${#inputs[@]})) || die "no apt source files found ($list, ${listd}*)"
	awk -v codename="$codename" -v targets="${APT_TARGETS:-$(lock_suites)}" \
		-v types="$APT_TYPES" "$DERIVE_AWK" "${inputs[@]}" \
		>"$APTD/sources.list.d/deps.sources.tmp" ||
		die "found no Debian 'deb' entry for $codename in: ${inputs[*]}"
	mv "$APTD/sources.list.d/deps.sources.tmp" "$APTD/sources.list.d/deps.sources"
}

apt_update() {
	local t log=$LOGD/apt-update.log
	t=$(now_us)
	papt apt-get -q update >"$log" 2>&1 || die_log "apt-get update (private state) failed" "$log"
	sha256sum <"$APTD/sources.list.d/deps.sources" >"$APTD/updated"
	UPDATED=1
	say "apt: private source lists updated ($(since "$t"))"
}

# Updates the private lists only when they are missing or the derived deb-src list changed.
apt_ready() {
	apt_setup
	if [[ -f $APTD/updated ]] && compgen -G "$APTD/lists/*_$APT_INDEX*" >/dev/null &&
		sha256sum <"$APTD/sources.list.d/deps.sources" | cmp -s - "$APTD/updated"; then
		return 0
	fi
	apt_update
}

# Prints "VERSION SHA256-OF-ORIG" for every revision of the pinned source package in the
# private lists, newest first. The hashes come from the signed Sources index.
apt_revisions() {
	papt apt-cache showsrc --only-source "$L_SRC" 2>/dev/null | awk -v p="$L_SRC" '
		/^Package: / { pk = $2; v = ""; sec = ""; next }
		/^Version: / { v = $2; next }
		/^[^ ]/ { sec = $1; next }
		sec == "Checksums-Sha256:" && pk == p && $3 ~ /\.orig\.tar\.[a-z0-9]+$/ { print v, $1 }
	' | sort -u | ver_sort_desc
}

# Sorts "VERSION ..." lines by Debian version, newest first (few lines: insertion sort).
ver_sort_desc() {
	local -a out=()
	local line i
	while read -r line; do
		for ((i = ${#out[@]}; i > 0; i--)); do
			dpkg --compare-versions "${out[i - 1]%% *}" ge "${line%% *}" && break
			out[i]=${out[i - 1]}
		done
		out[i]=$line
	done
	((${#out[@]})) && printf '%s\n' "${out[@]}"
	return 0
}

# Prints the revisions whose upstream part is the pinned upstream version.
apt_candidates() {
	local v h u
	apt_revisions | while read -r v h; do
		u=${v#*:}
		u=${u%-*}
		[[ $u == "$L_VER" ]] && printf '%s %s\n' "$v" "$h"
	done
	return 0
}

# Tries each revision of the pinned upstream version, newest first; some revisions listed in
# an index can be gone from the mirror (404), and any of them carries the same orig tarball.
fetch_from_archive() {
	local log=$1 v h tmp f
	local -a tried=()
	while read -r v h; do
		tried+=("$v")
		tmp=$(mktemp -d "$APTD/get.XXXXXX")
		GET_TMP=$tmp
		# apt downloads as _apt when run as root; let it write here.
		[[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1 && chown _apt "$tmp"
		echo "== apt-get source --download-only $L_SRC=$v" >>"$log"
		if ! (cd "$tmp" && papt apt-get -q source --download-only --only-source "$L_SRC=$v") \
			>>"$log" 2>&1 </dev/null; then
			say "fetch $L_NAME: revision $v is not downloadable, trying the next one"
			rm -rf "$tmp"
			continue
		fi
		f=$(compgen -G "$tmp/${L_SRC}_${L_VER}.orig.tar.*[a-z0-9]" | grep -v '\.asc$' | head -n 1) ||
			die "apt-get source $L_SRC=$v gave no ${L_SRC}_${L_VER}.orig.tar.* (see $(rel "$log"))"
		check_sha "$f" "from Debian $L_SRC $v" "$ARCHIVE_ADVICE"
		mkdir -p "$DL"
		cp "$f" "$DL/.${f##*/}.tmp"
		mv "$DL/.${f##*/}.tmp" "$DL/${f##*/}"
		rm -rf "$tmp"
		FETCHED_FROM=$v
		return 0
	done < <(apt_candidates)
	TRIED="${tried[*]}"
	return 1
}

cmd_fetch() {
	local have t log
	lock_read "$1"
	have=$(dl_file)
	if [[ -n $have ]]; then
		check_sha "$have" "" "$KEPT_ADVICE"
		return 0
	fi
	t=$(now_us)
	FETCHED_FROM='' TRIED=''
	log=$LOGD/$L_NAME.fetch.log
	mkdir -p "$APTD" "$LOGD"
	exec 9>"$APTD/.lock"
	flock 9
	have=$(dl_file) # a concurrent fetch may have got it while we waited
	if [[ -n $have ]]; then
		check_sha "$have" "" "$KEPT_ADVICE"
		return 0
	fi
	apt_ready
	: >"$log"
	if ! fetch_from_archive "$log"; then
		if ((!UPDATED)); then
			say "fetch $L_NAME: no usable revision in the private lists; refreshing them"
			apt_update
			fetch_from_archive "$log" || true
		fi
	fi
	exec 9>&-
	[[ -n ${FETCHED_FROM:-} ]] || {
		[[ -n $TRIED ]] && die_log "no revision of $L_SRC $L_VER could be downloaded (tried: $TRIED)" "$log"
		die "Debian source package $L_SRC has no revision with upstream version $L_VER in the private lists (pinned suite $L_SUITE, lists: $(lock_suites)); available: $(apt_revisions | awk '{ print $1 }' | xargs)"
	}
	say "fetch $L_NAME $L_VER: ok, $(basename "$(dl_file)") from Debian $FETCHED_FROM ($(since "$t"))"
}

cmd_versions() {
	lock_read "$1"
	mkdir -p "$APTD" "$LOGD"
	exec 9>"$APTD/.lock"
	flock 9
	apt_ready
	printf '%s (Debian source %s), pinned %s %s\n' "$L_NAME" "$L_SRC" "$L_VER" "$L_SHA"
	apt_revisions | while read -r v h; do
		printf '  %-28s orig sha256 %s%s\n' "$v" "$h" "$([[ $h == "$L_SHA" ]] && echo ' (pinned)')"
	done
}

# ---- builds ----------------------------------------------------------------------------

# musl-gcc runs with -nostdinc, so the kernel's uapi headers need a directory of their own.
kernel_headers() {
	local k=$PREFIX/kinc multiarch l
	multiarch=$(gcc -print-multiarch)
	mkdir -p "$k"
	for l in linux:/usr/include/linux asm-generic:/usr/include/asm-generic \
		asm:/usr/include/$multiarch/asm; do
		[[ -e ${l#*:} ]] || die "${l#*:} missing: install linux-libc-dev (appliance/install-packages.sh)"
		[[ -L $k/${l%%:*} ]] || ln -s "${l#*:}" "$k/${l%%:*}" 2>/dev/null || [[ -L $k/${l%%:*} ]]
	done
}

# What a build's result depends on: the pin, this script, the compiler, and the deps it links.
stamp_key() {
	local n=$1 d
	lock_read "$n"
	printf 'pin %s\n' "$L_LINE"
	printf 'recipe %s\n' "$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-64)"
	printf 'cc %s\n' "$(musl-gcc -dumpfullversion 2>/dev/null) $(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || true)"
	for d in ${NEEDS[$n]:-}; do
		printf 'needs %s %s\n' "$d" "$(stamp_key "$d" | sha256sum | cut -c1-64)"
	done
}

build_flags() {
	# The calling make's flags and variable overrides (CC=..., -n) are meant for our
	# Makefile, not for the deps' build systems; submake picks out only its jobserver.
	TOP_MAKEFLAGS=${MAKEFLAGS:-}
	unset MAKEFLAGS MFLAGS
	export CC=musl-gcc AR=ar RANLIB=ranlib PKG_CONFIG=false
	export CFLAGS="-Os -ffunction-sections -fdata-sections -ffile-prefix-map=$ROOT/="
	export CPPFLAGS="-isystem $PREFIX/kinc -I$PREFIX/include"
	export LDFLAGS="-static -L$PREFIX/lib"
	unset CXXFLAGS LIBS
}

# Runs make inside the calling make's jobserver when it handed one down (a '+' rule in the
# Makefile), so 'make -jN' bounds the whole build; otherwise with -j$JOBS.
submake() {
	local js="" r w
	if [[ $TOP_MAKEFLAGS =~ --jobserver-(auth|fds)=([^ ]+) ]]; then
		js=${BASH_REMATCH[2]}
		case $js in
		fifo:*) [[ -p ${js#fifo:} ]] || js="" ;;
		*,*)
			r=${js%%,*} w=${js##*,}
			[[ $(readlink "/proc/$BASHPID/fd/$r") == pipe:* &&
				$(readlink "/proc/$BASHPID/fd/$w") == pipe:* ]] || js="" ;;
		*) js="" ;;
		esac
	fi
	if [[ -n $js ]]; then
		MAKEFLAGS="-j --jobserver-auth=$js" make "$@"
	else
		make -j"$JOBS" "$@"
	fi
}

# Compiles C files ($3...) with the common flags plus EXTRA ($2, split on blanks), JOBS at a
# time, and archives the objects into LIB ($1).
cc_lib() {
	local lib=$1 extra=$2
	shift 2
	mkdir -p obj
	# shellcheck disable=SC2016 # expanded by sh, not here
	printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh -c \
		'o=obj/$(basename "$2" .c).o; echo "$0 $1 -c $2 -o $o"; $0 $1 -c "$2" -o "$o"' \
		"$CC" "$CFLAGS $CPPFLAGS $extra" {}
	rm -f "$lib"
	"$AR" rcs "$lib" obj/*.o
}

# mbedtls 3.6 release tarballs carry their generated sources, so the library's own
# Makefile needs neither Python nor Perl. Default configuration (mbedtls_config.h).
build_mbedtls() {
	submake -C library CC="$CC" AR="$AR" CFLAGS="$CFLAGS $CPPFLAGS" static
	rm -rf "$PREFIX/include/mbedtls" "$PREFIX/include/psa"
	cp -R include/mbedtls include/psa "$PREFIX/include/"
	cp library/libmbedcrypto.a library/libmbedx509.a library/libmbedtls.a "$PREFIX/lib/"
}

# Debian's orig tarball is the git tag: no configure script. The library is plain C with a
# handful of feature macros, so compile it directly (no autotools needed on the host).
build_nghttp2() {
	local maj min pat
	IFS=. read -r maj min pat <<<"$L_VER"
	grep -q "AC_INIT(\[nghttp2\], \[$L_VER\]" configure.ac ||
		{ echo "configure.ac does not say nghttp2 $L_VER"; return 1; }
	sed -e "s/@PACKAGE_VERSION@/$L_VER/" \
		-e "s/@PACKAGE_VERSION_NUM@/$(printf '0x%02x%02x%02x' "$maj" "$min" "$pat")/" \
		lib/includes/nghttp2/nghttp2ver.h.in >lib/includes/nghttp2/nghttp2ver.h
	cc_lib libnghttp2.a "-Ilib/includes -DBUILDING_NGHTTP2 -DNGHTTP2_STATICLIB
		-DHAVE_ARPA_INET_H=1 -DHAVE_NETINET_IN_H=1 -DHAVE_CLOCK_GETTIME=1
		-DHAVE_DECL_CLOCK_MONOTONIC=1" lib/*.c
	rm -rf "$PREFIX/include/nghttp2"
	mkdir -p "$PREFIX/include/nghttp2"
	cp lib/includes/nghttp2/nghttp2.h lib/includes/nghttp2/nghttp2ver.h "$PREFIX/include/nghttp2/"
	cp libnghttp2.a "$PREFIX/lib/"
}

# libyaml's orig tarball has no configure either; its only configuration is the version.
build_libyaml() {
	local maj min pat
	IFS=. read -r maj min pat <<<"$L_VER"
	cc_lib libyaml.a "-Iinclude -DYAML_VERSION_MAJOR=$maj -DYAML_VERSION_MINOR=$min
		-DYAML_VERSION_PATCH=$pat -DYAML_VERSION_STRING=\"$L_VER\"" src/*.c
	cp include/yaml.h "$PREFIX/include/"
	cp libyaml.a "$PREFIX/lib/"
}

# cJSON is one C89 file; headers go to include/cjson/ as upstream's own install does.
build_cjson() {
	cc_lib libcjson.a "-std=c89" cJSON.c
	mkdir -p "$PREFIX/include/cjson"
	cp cJSON.h "$PREFIX/include/cjson/"
	cp libcjson.a "$PREFIX/lib/"
}

# libcurl for HTTP(S) and unix sockets only: TLS from mbedtls, HTTP/2 from nghttp2, no CA
# store (the appliance passes its CAs as blobs), nothing else from the host. A unity build
# of lib/ takes half the time of the file-by-file one here and gives a smaller archive.
build_curl() {
	./configure --prefix="$PREFIX" --disable-shared --enable-static \
		--disable-dependency-tracking --disable-silent-rules \
		--with-mbedtls="$PREFIX" --with-nghttp2="$PREFIX" \
		--without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 \
		--without-libssh2 --without-libssh --without-librtmp --without-libgsasl \
		--without-nghttp3 --without-ngtcp2 --without-quiche --without-msh3 \
		--without-ca-bundle --without-ca-path --without-ca-fallback --without-ca-embed \
		--disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
		--disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-ipfs \
		--enable-unix-sockets --disable-manual --disable-docs --disable-libcurl-option \
		--enable-unity
	submake -C lib
	make -C lib install
	make -C include install
	rm -f "$PREFIX/lib/libcurl.la"
}

cmd_build() {
	local n=$1 d key stamp tarball log t
	lock_read "$n"
	declare -F "build_$n" >/dev/null || die "$n: deps.sh has no build recipe for it"
	for d in ${NEEDS[$n]:-}; do
		cmd_build "$d"
	done
	lock_read "$n"
	stamp=$PREFIX/stamp/$n
	key=$(stamp_key "$n")
	if [[ -f $stamp ]] && [[ $(<"$stamp") == "$key" ]]; then
		# Up to date; keep make's view (stamp newer than its prerequisites) in line.
		if [[ $stamp -ot $LOCK || $stamp -ot ${BASH_SOURCE[0]} ]]; then touch "$stamp"; fi
		return 0
	fi
	tarball=$(dl_file)
	if [[ -z $tarball ]]; then
		cmd_fetch "$n"
		tarball=$(dl_file)
	fi
	check_sha "$tarball" "" "$KEPT_ADVICE"
	[[ $ROOT != *[[:space:]]* ]] || die "the build path must not contain spaces: $ROOT"
	command -v musl-gcc >/dev/null || die "musl-gcc not found: run appliance/install-packages.sh"
	t=$(now_us)
	rm -f "$stamp"
	mkdir -p "$SRCD" "$LOGD" "$PREFIX/include" "$PREFIX/lib" "$PREFIX/stamp"
	kernel_headers
	local s=$SRCD/$n-$L_VER
	rm -rf "$s"
	mkdir -p "$s"
	log=$LOGD/$n.log
	tar -xf "$tarball" -C "$s" --strip-components=1 --no-same-owner ||
		die "$n: cannot unpack $(rel "$tarball")"
	# errexit is off inside a subshell whose status is tested, so test it afterwards.
	set +e
	(
		set -ex
		build_flags
		cd "$s"
		"build_$n"
	) >"$log" 2>&1 </dev/null
	local rc=$?
	set -e
	((rc == 0)) || die_log "build of $n $L_VER failed" "$log"
	printf '%s\n' "$key" >"$stamp.tmp"
	mv "$stamp.tmp" "$stamp"
	say "build $n $L_VER: ok ($(since "$t"), log $(rel "$log"))"
}

cmd_all() {
	local n t
	t=$(now_us)
	for n in $(lock_names); do
		cmd_fetch "$n"
	done
	for n in $(lock_names); do
		cmd_build "$n"
	done
	say "all: done ($(since "$t"))"
}

# ---- kernel ----------------------------------------------------------------------------

# Switches apt to a second private state that indexes this machine's own binary suites.
kernel_apt() {
	local codename
	# shellcheck source=/dev/null
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	APTD=$B/apt-kernel APT_TYPES=deb APT_INDEX=Packages
	APT_TARGETS=$codename
	mkdir -p "$APTD" "$LOGD"
	exec 9>"$APTD/.lock"
	flock 9
	apt_ready
}

# Sets K_PKG K_VER K_SHA from appliance/kernel.lock.
klock_read() {
	local line
	line=$(awk '!/^[[:space:]]*(#|$)/' "$KLOCK")
	read -r K_PKG K_VER K_SHA rest <<<"$line"
	[[ -n ${K_SHA:-} && -z ${rest:-} && $(wc -l <<<"$line") -eq 1 ]] ||
		die "$(rel "$KLOCK") must hold one line: package version sha256"
	[[ $K_SHA =~ ^[0-9a-f]{64}$ ]] || die "$(rel "$KLOCK"): '$K_SHA' is not a sha256"
}

kernel_deb() { printf '%s/%s_%s_amd64.deb' "$DL" "$K_PKG" "${K_VER#*:}"; }

kernel_fetch() {
	local deb tmp log=$LOGD/kernel.fetch.log got
	deb=$(kernel_deb)
	if [[ ! -f $deb ]]; then
		kernel_apt
		tmp=$(mktemp -d "$APTD/get.XXXXXX")
		[[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1 && chown _apt "$tmp"
		if ! (cd "$tmp" && papt apt-get -q download "$K_PKG=$K_VER") >"$log" 2>&1 </dev/null; then
			rm -rf "$tmp"
			((UPDATED)) || { apt_update; kernel_fetch; return; }
			die_log "cannot download the pinned kernel $K_PKG=$K_VER; if the archive has moved on, run 'appliance/deps.sh kernel-pin' and commit appliance/kernel.lock" "$log"
		fi
		mkdir -p "$DL"
		mv "$tmp"/*.deb "$deb.tmp"
		rm -rf "$tmp"
		got=$(sha256sum <"$deb.tmp" | cut -c1-64)
		[[ $got == "$K_SHA" ]] || { rm -f "$deb.tmp"; die "sha256 mismatch for the kernel package $K_PKG $K_VER from the archive
  expected: $K_SHA (pinned in appliance/kernel.lock)
  actual:   $got"; }
		mv "$deb.tmp" "$deb"
	fi
	got=$(sha256sum <"$deb" | cut -c1-64)
	[[ $got == "$K_SHA" ]] || die "sha256 mismatch for the kernel package
  file:     $(rel "$deb")
  expected: $K_SHA (pinned in appliance/kernel.lock)
  actual:   $got
  $KEPT_ADVICE"
}

cmd_kernel() {
	local t deb kdir=$B/kernel tmp kver
	t=$(now_us)
	klock_read
	deb=$(kernel_deb)
	if [[ -f $kdir/.stamp && $(cat "$kdir/.stamp") == "$K_PKG $K_VER $K_SHA" && -f $deb ]]; then
		return 0
	fi
	kernel_fetch
	tmp=$B/kernel.tmp
	rm -rf "$tmp"
	dpkg-deb -x "$deb" "$tmp" || die "$(rel "$deb"): dpkg-deb cannot unpack it"
	kver=$(basename "$(compgen -G "$tmp/lib/modules/*" || compgen -G "$tmp/usr/lib/modules/*")")
	[[ -n $kver ]] || die "$(rel "$deb") has no lib/modules/VERSION"
	depmod -b "$tmp" "$kver" || die "depmod -b failed for $kver"
	printf '%s %s %s\n' "$K_PKG" "$K_VER" "$K_SHA" >"$tmp/.stamp"
	rm -rf "$kdir"
	mv "$tmp" "$kdir"
	say "kernel $K_PKG $K_VER ($kver): unpacked into $(rel "$kdir") ($(since "$t"))"
}

cmd_kernel_pin() {
	local meta pkg ver tmp sha
	kernel_apt
	meta=$(papt apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	[[ -n $meta ]] || die "the archive has no linux-image-amd64 for this machine's suites"
	pkg=$meta
	ver=$(papt apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
	tmp=$(mktemp -d "$APTD/get.XXXXXX")
	[[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1 && chown _apt "$tmp"
	(cd "$tmp" && papt apt-get -q download "$pkg=$ver") >/dev/null 2>&1 </dev/null ||
		die "cannot download $pkg=$ver"
	sha=$(sha256sum "$tmp"/*.deb | cut -c1-64)
	mkdir -p "$DL"
	mv "$tmp"/*.deb "$DL/${pkg}_${ver#*:}_amd64.deb"
	rm -rf "$tmp"
	awk -v l="$(printf '%-29s %-12s %s' "$pkg" "$ver" "$sha")" \
		'/^[[:space:]]*(#|$)/ { print; next } { print l }' "$KLOCK" >"$KLOCK.tmp"
	mv "$KLOCK.tmp" "$KLOCK"
	say "kernel pin: $pkg $ver $sha"
}

main() {
	[[ -f $LOCK ]] || die "missing $LOCK"
	case ${1:-} in
	-h | --help | help) usage ;;
	fetch | build | versions)
		[[ $# -eq 2 ]] || die "usage: deps.sh $1 NAME (one of: $(lock_names))"
		"cmd_$1" "$2" ;;
	all)
		[[ $# -eq 1 ]] || die "usage: deps.sh all"
		cmd_all ;;
	kernel) cmd_kernel ;;
	kernel-pin) cmd_kernel_pin ;;
	'') usage >&2; exit 2 ;;
	*) die "unknown command '$1' (see deps.sh --help)" ;;
	esac
}

main "$@"
