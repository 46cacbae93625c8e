# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by virtme-ng's bash init (PID 1) before its first line, when the kernel command line
# has BASH_ENV=<this file> (the kernel hands unknown name=value parameters to init as its
# environment, and bash sources $BASH_ENV). vm.sh adds it with ESPX_VM_FASTINIT=1, which
# make check and make check-debug set.
#
# On the debug kernel (KASAN, kmemleak, lockdep, slub_debug) under TCG every exec takes
# seconds, and virtme-init's udev coldplug of every device does not settle in the 120 s
# `udevadm settle` waits: the /dev/virtio-ports/virtme.* links, made by a udev rule, are then
# missing and virtme-init powers the guest off ("cannot find script I/O ports") before the
# test command starts. Our tests need none of the coldplug: this hook replaces
#   udevadm trigger   by nothing (udevd still runs and handles later uevents: module loads),
#   udevadm settle    by making the virtio-ports links from sysfs, as the udev rule does
#                     (SYMLINK+="virtio-ports/$attr{name}" for each vport),
#   systemd-tmpfiles  by nothing (what it creates, nothing in the tests uses),
# mounts the host's /usr (vm.sh exports it as espx.usr) on /usr with cache=loose, before
# virtme-init lays its writable overlay over /usr (the root's 9p mount has no cache: each
# exec, library and Python module lookup went to the host, QEMU's 9p server and back; the
# host's /usr does not change while the guest runs), and mounts the checkout (espx_cached=,
# virtme-init's read-only --rodir mount) with cache=loose too (the host writes nothing in it
# that a running guest reads: results go to the separate /tmp/espx-out mount),
# and turns kmemleak's periodic scan off: a scan of the guest's memory takes minutes here,
# and vm-tests.sh scans explicitly after each test (an automatic scan would also log the
# boot's own leaks in the middle of a test).
[ "$$" = 1 ] || return 0
unset BASH_ENV

espx_hook_log() {
	echo "<6>virtme-init: espx hook: $*" >/dev/kmsg 2>/dev/null || true
}

espx_kmemleak_off() {
	local d=/dev/.espx-debugfs
	mkdir -p "$d" 2>/dev/null || return 0
	if mount -t debugfs debugfs "$d" 2>/dev/null; then
		if [ -w "$d/kmemleak" ]; then
			echo scan=off >"$d/kmemleak" && espx_hook_log "kmemleak automatic scan off"
		fi
		umount "$d"
	fi
	rmdir "$d" 2>/dev/null || true
}

espx_virtio_ports() {
	local p name n=0
	mkdir -p /dev/virtio-ports
	for p in /sys/class/virtio-ports/vport*; do
		[ -r "$p/name" ] || continue
		read -r name <"$p/name" || continue
		[ -n "$name" ] || continue
		ln -sfn "../${p##*/}" "/dev/virtio-ports/$name" && n=$((n + 1))
	done
	espx_hook_log "$n virtio-ports links made (no udev coldplug)"
}

udevadm() {
	case ${1:-} in
	trigger) espx_hook_log "udevadm $* skipped" ;;
	settle) espx_virtio_ports ;;
	*) command udevadm "$@" ;;
	esac
}

systemd-tmpfiles() {
	espx_hook_log "systemd-tmpfiles skipped"
}

espx_usr_cached() {
	mount -t 9p -o ro,version=9p2000.L,trans=virtio,access=any,cache=loose espx.usr /usr \
		2>/dev/null && espx_hook_log "/usr mounted with cache=loose"
}

# virtme-init mounts each --rodir/--rwdir as
#   mount -t 9p -o version=9p2000.L,trans=virtio,access=any virtme.initmountN DIR
mount() {
	if [ $# = 6 ] && [ "$2" = 9p ] && [ -n "${espx_cached:-}" ] && [ "$6" = "$espx_cached" ]; then
		command mount "$1" "$2" "$3" "$4,cache=loose" "$5" "$6" &&
			espx_hook_log "$6 mounted with cache=loose" && return 0
	fi
	command mount "$@"
}

espx_kmemleak_off
espx_usr_cached
