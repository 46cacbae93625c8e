#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Put qemu-plugin.h of the installed QEMU (Debian bookworm's 7.2) into DIR, taken from
# Debian's qemu source package (deb-src for bookworm: scripts/deps.sh). Only the header is
# extracted. Also checks that QEMU is 7.x and accepts -plugin.
#   scripts/bench-plugin-header.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
ver=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p')
case $ver in
7.2*) ;;
*) echo "bench: QEMU $ver found; the plugin is built against the 7.2 API (bookworm)" >&2; exit 1 ;;
esac
qemu-system-x86_64 -help | grep -q '^-plugin' ||
	{ echo "bench: this qemu-system-x86_64 has no -plugin (TCG plugins disabled)" >&2; exit 1; }
[ -s "$dir/qemu-plugin.h" ] && exit 0

# The source version matching the installed binary package (epoch stripped).
pkgver=$(dpkg-query -W -f '${source:Version}' qemu-system-x86)
src=$dir/qemu-src
mkdir -p "$src"
if ! ls "$src"/qemu_*.orig.tar.* >/dev/null 2>&1; then
	(cd "$src" && apt-get source --download-only "qemu=$pkgver") ||
		{ echo "bench: apt-get source qemu=$pkgver failed (deb-src for bookworm: make deps)" >&2; exit 1; }
fi
tarball=$(find "$src" -name "qemu_*.orig.tar.*" | sed -n 1p)
tar xf "$tarball" -C "$dir" --strip-components=3 --wildcards '*/include/qemu/qemu-plugin.h'
[ -s "$dir/qemu-plugin.h" ]
echo "bench: qemu-plugin.h from $(basename "$tarball")"
