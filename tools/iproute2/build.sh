#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build Debian 12's iproute2 (6.1.0) with espx's patch series, for "ip" only.
#
#   tools/iproute2/build.sh OUTDIR        -> OUTDIR/ip/ip
#   tools/iproute2/build.sh --refresh-uapi
#        rewrite patch 1 from include/uapi/linux/espx.h (after changing it)
#
# OUTDIR is a tree owned by this script: the Debian source package is fetched
# once with apt-get source into OUTDIR/.espx/dl, unpacked once with
# dpkg-source (which applies Debian's own debian/patches) into
# OUTDIR/.espx/pristine, and the working tree OUTDIR is a copy of it with
# tools/iproute2/*.patch applied on top. The working tree is recreated only
# when the patches, the uapi header or this script change; otherwise a run is
# an incremental make. Nothing is installed: the system's ip is untouched.
#
# Needs (scripts/deps.sh): deb-src for bookworm in the apt sources, dpkg-dev,
# build-essential, bison, flex, pkg-config, libmnl-dev, libelf-dev,
# libcap-dev, libbsd-dev; git for --refresh-uapi only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
UAPI=$TOP/include/uapi/linux/espx.h
SRCPKG=iproute2
SUITE=bookworm
UPSTREAM=6.1.0

log() { echo "iproute2: $*"; }
die() { echo "iproute2: error: $*" >&2; exit 1; }

# Patch 1 carries a verbatim copy of the uapi header: --refresh-uapi rewrites
# its diff from the header, keeping the commit message, exactly as git
# format-patch makes it. The build below checks that they still match.
refresh_uapi() {
	local patch tmp path=include/uapi/linux/espx.h

	patch=$(ls "$HERE"/0001-*.patch 2>/dev/null | head -n1)
	[ -n "$patch" ] || die "no patch 0001-*.patch in $HERE"
	tmp=$(mktemp -d)
	mkdir -p "$tmp/$(dirname "$path")"
	cp "$UAPI" "$tmp/$path"
	git -C "$tmp" init -q
	git -C "$tmp" add "$path"
	git -C "$tmp" -c user.name=espx -c user.email=espx@example.invalid \
		commit -q -m uapi
	{
		sed -n '1,/^---$/p' "$patch" | sed '$d'
		git -C "$tmp" format-patch -1 --stdout | sed -n '/^---$/,$p'
	} > "$patch.new"
	rm -rf "$tmp"
	mv "$patch.new" "$patch"
	log "rewrote $(basename "$patch") from $path"
}

if [ "${1:-}" = "--refresh-uapi" ]; then
	refresh_uapi
	exit 0
fi

[ $# -eq 1 ] || die "usage: $0 OUTDIR | --refresh-uapi"
OUT=$1
META=$OUT/.espx

# OUTDIR is wiped and rebuilt: refuse a directory this script did not make.
if [ -d "$OUT" ] && [ ! -d "$META" ] && [ -n "$(ls -A "$OUT")" ]; then
	die "$OUT exists and is not an espx iproute2 build directory"
fi
mkdir -p "$META"
OUT=$(cd "$OUT" && pwd)
META=$OUT/.espx

for tool in apt-get dpkg-source patch make gcc bison flex pkg-config; do
	command -v "$tool" >/dev/null || die "$tool not found; run scripts/deps.sh"
done

# 1. The Debian source package, fetched once. apt verifies it against the
# signed Sources index; dpkg-source checks it against the .dsc. The
# download runs as the invoking user (no _apt sandbox warning as root).
dsc=$(ls "$META"/dl/${SRCPKG}_${UPSTREAM}-*.dsc 2>/dev/null | tail -n1 || true)
if [ -z "$dsc" ]; then
	log "fetching the $SRCPKG source package from $SUITE"
	# bookworm's version; backports has newer ones, which we do not want.
	ver=$(apt-cache showsrc "$SRCPKG" 2>/dev/null |
	      awk -v up="$UPSTREAM" '/^Version:/ && index($2, up "-") == 1 { print $2 }' |
	      sort -V | tail -n1)
	[ -n "$ver" ] ||
		die "no $SRCPKG $UPSTREAM source in apt: run scripts/deps.sh (deb-src for $SUITE)"
	rm -rf "$META/dl.tmp"
	mkdir -p "$META/dl.tmp"
	(cd "$META/dl.tmp" &&
	 apt-get -q -o APT::Sandbox::User=root source --download-only \
		"$SRCPKG=$ver" >/dev/null) ||
		die "apt-get source $SRCPKG=$ver failed"
	rm -rf "$META/dl"
	mv "$META/dl.tmp" "$META/dl"
	dsc=$(ls "$META"/dl/${SRCPKG}_"$ver".dsc)
fi

# 2. Unpacked once, with Debian's own patches (3.0 quilt) applied.
if [ ! -e "$META/pristine.ok" ]; then
	log "unpacking $(basename "$dsc") (with Debian's patches)"
	rm -rf "$META/pristine"
	# gpgv cannot check the uploader's signature without debian-keyring:
	# drop its lines, apt checked the files against the signed archive.
	dpkg-source -q --no-copy -x "$dsc" "$META/pristine" >/dev/null \
		2>"$META/unpack.log" || { cat "$META/unpack.log" >&2; die "dpkg-source failed"; }
	grep -v '^gpgv:' "$META/unpack.log" >&2 || true
	basename "$dsc" > "$META/pristine.ok"
fi

# 3. The working tree: pristine + our series. Recreated when an input changes.
patches=("$HERE"/*.patch)
[ -e "${patches[0]}" ] || die "no patches in $HERE"
stamp=$(cat "$META/pristine.ok" "$HERE/build.sh" "$UAPI" "${patches[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$META/tree.ok" 2>/dev/null)" != "$stamp" ]; then
	log "preparing the tree and applying ${#patches[@]} patches"
	rm -f "$META/tree.ok"
	find "$OUT" -mindepth 1 -maxdepth 1 ! -name .espx -exec rm -rf {} +
	cp -a "$META/pristine/." "$OUT/"
	for p in "${patches[@]}"; do
		patch -d "$OUT" -p1 -s -N --no-backup-if-mismatch -i "$p" ||
			die "$(basename "$p") does not apply"
	done
	cmp -s "$UAPI" "$OUT/include/uapi/linux/espx.h" ||
		die "patch 1 does not match include/uapi/linux/espx.h: run $0 --refresh-uapi"
	log "configuring"
	(cd "$OUT" && ./configure --libbpf_force off >"$META/configure.log" 2>&1) ||
		die "configure failed, see $META/configure.log"
	echo "$stamp" > "$META/tree.ok"
fi

# The copy in the tree must still be the repository's header.
cmp -s "$UAPI" "$OUT/include/uapi/linux/espx.h" ||
	die "$OUT/include/uapi/linux/espx.h differs from include/uapi/linux/espx.h"

# 4. ip only, and the libraries it links: the top-level make passes the
# flags (include paths, defines) that a bare make -C ip would lack.
jobs=$(nproc 2>/dev/null || echo 2)
log "building ip (log: $META/build.log)"
make -s -C "$OUT" -j"$jobs" SUBDIRS="lib ip" NETNS_RUN_DIR=/run/netns \
	>"$META/build.log" || { tail -n 20 "$META/build.log" >&2; die "build failed"; }
[ -x "$OUT/ip/ip" ] || die "no $OUT/ip/ip after the build"
log "built $OUT/ip/ip ($("$OUT/ip/ip" -V))"
