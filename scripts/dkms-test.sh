#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build espx through DKMS for one kernel, in a private DKMS tree (nothing installed on the
# host), exactly as `dkms install` would on a gateway: proves dkms.conf and the source list.
set -euo pipefail
kver=$1
top=$(dirname "$(dirname "$(readlink -f "$0")")")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/espx-$ver" "$tmp/tree"
"$top/scripts/dkms-files.sh" "$top" "$tmp/src/espx-$ver"
dkms build -m espx -v "$ver" -k "$kver" --dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
	--no-depmod --no-initrd 2>&1
ko=$(find "$tmp/tree/espx/$ver/$kver" -name 'espx.ko*' | head -n 1)
[ -n "$ko" ] || { echo "dkms-test: no espx.ko built for $kver"; exit 1; }
modinfo -F vermagic "$ko" | grep -q "^$kver " || { echo "dkms-test: wrong vermagic"; exit 1; }
echo "dkms-test: built $(basename "$ko") for $kver"
