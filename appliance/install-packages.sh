#!/usr/bin/env bash
# Installs the Debian packages listed in a list file (default appliance/packages.txt; `make
# test` passes appliance/test-packages.txt) that are not installed yet: as root directly,
# else through passwordless sudo, else prints the command to run. Silent when nothing is
# missing.
set -euo pipefail

list=${1:-$(dirname "${BASH_SOURCE[0]}")/packages.txt}
[[ -r $list ]] || { echo "install-packages: $list: cannot read" >&2; exit 2; }
missing=()
while read -r pkg _; do
	[[ -z $pkg || $pkg == \#* ]] && continue
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done <"$list"
((${#missing[@]})) || exit 0

install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}")
if [[ $EUID -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "install-packages: missing ${missing[*]}; as root, run:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
# Packages with daemons (keystone, glance-api, etcd) must not start them: the tests run their
# own on free ports. invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d; exit
# status 101 means "action forbidden". Put one there for the install unless the machine has
# its own (containers usually do), and take it away afterwards.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
	"${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
	trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
echo "install-packages: installing ${missing[*]}"
"${sudo[@]}" apt-get -q update
"${sudo[@]}" "${install[@]}"
# ...nor at the next boot: the services of the packages just installed are disabled (the
# packages stay; `systemctl enable UNIT` undoes it). systemctl works on the unit files even
# where systemd does not run.
if command -v systemctl >/dev/null; then
	for pkg in "${missing[@]}"; do
		for unit in $(dpkg-query -L "$pkg" 2>/dev/null |
			grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.service$' || true); do
			unit=${unit##*/}
			systemctl is-enabled --quiet "$unit" 2>/dev/null || continue
			if "${sudo[@]}" systemctl disable --quiet "$unit" 2>/dev/null; then
				echo "install-packages: disabled $unit (installed for the tests, which start their own)"
			fi
		done
	done
fi
