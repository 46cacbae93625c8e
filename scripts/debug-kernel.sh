#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug kernel of `make check-debug`: Debian's linux-source-6.1 with KASAN, KMEMLEAK,
# PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, UBSAN, DEBUG_LIST (scripts/debug.config on top of
# virtme-ng's minimal config), built once and cached.
#   scripts/debug-kernel.sh [--print-key]
# Prints one line "KVER ROOT OBJ" on stdout: ROOT/boot/vmlinuz-KVER is the kernel,
# ROOT/lib/modules/KVER its modules (with depmod indexes), OBJ the build tree to build
# external modules against (make KDIR=OBJ). Progress goes to stderr, the build log to
# ROOT/../build.log.
# The cache is ESPX_CACHE (default ~/.cache/espx)/debug-kernel-KEY, KEY a hash of the source
# package version, the fragment, virtme-ng's version and the compiler: a second run, from any
# checkout, does not rebuild. Builds run with nice -n 19 and ESPX_DEBUG_JOBS (default 2) jobs.
set -euo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
frag=$top/scripts/debug.config
src=${ESPX_DEBUG_SRC:-/usr/src/linux-source-6.1}
tarball=${ESPX_DEBUG_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache=${ESPX_CACHE:-$HOME/.cache/espx}
jobs=${ESPX_DEBUG_JOBS:-2}
log() { echo "debug-kernel: $*" >&2; }

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(sha256sum "$tarball" 2>/dev/null | cut -c1-16) || true
[ -n "$srcver" ] || { log "no linux-source-6.1 (apt-get install linux-source-6.1)"; exit 1; }
key=$( { echo "src $srcver"; cat "$frag"; vng --version 2>&1; gcc --version | head -n 1; } |
	sha256sum | cut -c1-12)
[ "${1:-}" = --print-key ] && { echo "$key"; exit 0; }

dir=$cache/debug-kernel-$key
obj=$dir/obj root=$dir/root
mkdir -p "$dir"
exec 9>"$dir/lock"
if ! flock -n 9; then
	log "another build of $dir runs; waiting for it"
	flock 9
fi
if [ -e "$dir/done" ]; then
	read -r kver <"$dir/done"
	log "cached: $dir ($kver)"
	echo "$kver $root $obj"
	exit 0
fi

if [ ! -e "$src/Makefile" ]; then
	[ -e "$tarball" ] || { log "neither $src nor $tarball (apt-get install linux-source-6.1)"; exit 1; }
	log "unpacking $tarball"
	mkdir -p "$dir/src"
	tar -C "$dir/src" --strip-components=1 -xaf "$tarball"
	src=$dir/src
fi

# check_config: every option of the fragment survived olddefconfig (a typo or a missing
# dependency silently drops one)
check_config() {
	local missing
	missing=$(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=\(.*\)$/\1=\2/p; s/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1=n/p' "$frag" |
		while IFS="=" read -r opt val; do
			got=$(sed -n "s/^$opt=\(.*\)\$/\1/p" "$obj/.config")
			[ -n "$got" ] || got=n
			[ "$got" = "$val" ] || echo "  $opt=$val (got $got)"
		done)
	[ -z "$missing" ] || { log "the fragment did not apply:"; echo "$missing" >&2; return 1; }
}

t0=$(date +%s)
blog=$dir/build.log
log "building in $obj (log: $blog; about 2 hours on 2 busy cores)"
# an interrupted build resumes: kbuild rebuilds what the (re)generated config changes
rm -rf "$root"
mkdir -p "$obj"
(
	set -x
	cd "$src"
	# virtme-ng's own minimal config (what `vng --kconfig` writes); it appends its essentials
	# (debug info among them) after --custom, so the fragment is applied once more, last.
	virtme-configkernel --defconfig --custom "$frag" O="$obj" &&
	cat "$frag" >>"$obj/.config" &&
	make -C "$src" O="$obj" olddefconfig
) >"$blog" 2>&1 || { log "config failed, see $blog"; exit 1; }
check_config
(
	set -x
	nice -n 19 make -C "$src" O="$obj" -j"$jobs" bzImage modules
	nice -n 19 make -C "$src" O="$obj" INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 modules_install
) >>"$blog" 2>&1 || { log "build failed, see $blog"; tail -n 30 "$blog" >&2; exit 1; }

kver=$(make -s -C "$obj" kernelrelease)
install -D -m 0644 "$obj/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$kver"
cp "$obj/System.map" "$root/boot/System.map-$kver"
rm -f "$root/lib/modules/$kver/build" "$root/lib/modules/$kver/source"
ln -s "$obj" "$root/lib/modules/$kver/build"
t1=$(date +%s)
echo "built in $((t1 - t0)) s, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/build-time"
echo "$kver" >"$dir/done"
log "built $kver in $(((t1 - t0) / 60)) min"
echo "$kver $root $obj"
