# Pinned inputs: a tampered source tarball, a pin that does not match the tarball, and a
# kernel package that does not match its pin each stop deps.sh with an error naming the
# file, the expected and the actual sha256. Works on a copy of appliance/ and build/dl,
# so no network is needed and the real tree is untouched.
source tests/integration/lib.sh
ls build/dl/libyaml_*.orig.tar.* build/dl/linux-image-*.deb >/dev/null 2>&1 ||
	fail "build/dl lacks the fetched files: run make first"

W=$TMP/tree
mkdir -p "$W/build/dl"
cp -a appliance "$W/"
cp build/dl/libyaml_*.orig.tar.* build/dl/linux-image-*.deb "$W/build/dl/"
tarball=$(ls "$W"/build/dl/libyaml_*.orig.tar.*)

note "an intact tarball passes"
"$W/appliance/deps.sh" fetch libyaml || fail "fetch of the intact tarball"

note "a tampered tarball is refused"
cp "$tarball" "$TMP/orig"
printf 'x' >>"$tarball"
expect_fail 1 "sha256 mismatch for libyaml" "$W/appliance/deps.sh" fetch libyaml
grep -q "expected: $(awk '$1 == "libyaml" { print $5 }' appliance/sources.lock)" "$TMP/cmd.err" ||
	fail "the error does not show the pinned hash"
grep -q "actual: *$(sha256sum "$tarball" | cut -c1-64)" "$TMP/cmd.err" ||
	fail "the error does not show the actual hash"
cp "$TMP/orig" "$tarball"

note "a pin that does not match is refused"
sed -i 's/^\(libyaml .*\) [0-9a-f]\{64\}$/\1 0000000000000000000000000000000000000000000000000000000000000000/' \
	"$W/appliance/sources.lock"
expect_fail 1 "sha256 mismatch for libyaml" "$W/appliance/deps.sh" fetch libyaml
cp appliance/sources.lock "$W/appliance/sources.lock"

note "a malformed pin is refused"
sed -i 's/^\(libyaml .*\) [0-9a-f]\{64\}$/\1 not-a-hash/' "$W/appliance/sources.lock"
expect_fail 1 "'not-a-hash' is not a sha256" "$W/appliance/deps.sh" fetch libyaml
cp appliance/sources.lock "$W/appliance/sources.lock"

note "a kernel package that does not match its pin is refused"
deb=$(ls "$W"/build/dl/linux-image-*.deb)
printf 'x' >>"$deb"
expect_fail 1 "sha256 mismatch for the kernel package" "$W/appliance/deps.sh" kernel
[[ ! -e $W/build/kernel ]] || fail "a kernel tree was unpacked from a bad package"
expect_fail 1 "unknown command 'frob'" "$W/appliance/deps.sh" frob
