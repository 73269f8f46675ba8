# Reproducibility: the tree is copied into two directories of different names and built
# from scratch there (dependencies, cabind, cabin, image) at different times with the
# same SOURCE_DATE_EPOCH; the qcow2 images (and cabind) must be bit-for-bit identical.
# Downloads are shared (build/dl) so the copies need no network.
source tests/integration/lib.sh
[[ -d build/dl ]] || fail "build/dl missing: run make first"

A=$TMP/a
B=$TMP/build-tree-with-a-longer-name
for d in "$A" "$B"; do
	mkdir -p "$d/build"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$d"
	else
		tar --exclude=./build -cf - . | tar -xf - -C "$d"
	fi
	cp -a build/dl "$d/build/dl"
done

export SOURCE_DATE_EPOCH=1700000000
note "build in $A"
make -C "$A" -j2 build/cabin.qcow2 >"$TMP/a.log" 2>&1 || { tail -n 30 "$TMP/a.log"; fail "build A"; }
sleep 2 # a different wall clock for the second build
note "build in $B"
make -C "$B" -j2 build/cabin.qcow2 >"$TMP/b.log" 2>&1 || { tail -n 30 "$TMP/b.log"; fail "build B"; }

sha() { sha256sum "$1" | cut -c1-64; }
for f in build/cabind build/cabin.qcow2; do
	a=$(sha "$A/$f") b=$(sha "$B/$f")
	note "$f: $a / $b"
	[[ $a == "$b" ]] || fail "$f differs between the two builds"
done
grep -q "\"sha256\": \"$(sha "$A/build/cabin.qcow2")\"" "$B/build/cabin.manifest.json" ||
	fail "manifest output sha256"
