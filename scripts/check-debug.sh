#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-debug: every VM selftest on a debug build of Debian's 6.1 (KASAN, KMEMLEAK,
# PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, UBSAN, DEBUG_LIST: scripts/debug.config) booted with
# slub_debug. Any report in the guest's log fails the test that caused it (scripts/vm-tests.sh
# with ESPX_VM_DEBUG=1), so does a kmemleak report after a test or after the final rmmod.
#   T="a b"   only those selftests (default: all of selftests/Makefile's TEST_PROGS)
#   ESPX_KMEMLEAK=end   kmemleak scans only after the final rmmod, not after each test
#                       (two scans take minutes on this kernel)
# The kernel is built on the first run (scripts/debug-kernel.sh, cached in ~/.cache/espx);
# espx.ko and the test modules are built against its tree. Output as make check's (KTAP,
# last line "N passed, N failed, N skipped"); results in ESPX_CHECK_OUT (default
# build/check-debug)/vm-KVER/.
set -uo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cd "$top" || exit 1
BUILD=${BUILD:-$top/build}

echo "# make check-debug: building or reusing the debug kernel (first build: hours)"
line=$(scripts/debug-kernel.sh) || { echo "not ok - debug kernel built"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
read -r kver root obj <<<"$line"
echo "# debug kernel $kver: $root/boot/vmlinuz-$kver, build tree $obj"
# The guest writes to its module tree through an overlay that vm.sh mounts on it; the
# checkout, mapped in read-only after the overlays, would hide it (and the guest's tmpfs
# dirs, /tmp, /var/tmp, /run, would hide the whole tree).
case $root/ in
"$top"/* | /tmp/* | /var/tmp/* | /run/* | /var/cache/*)
	echo "not ok - the debug kernel's cache $root is visible in the VM (set ESPX_CACHE elsewhere)"
	echo "0 passed, 1 failed, 0 skipped"; exit 1 ;;
esac

if [ -z "${T:-}" ]; then
	T=$(awk '/^TEST_PROGS[ \t]*[+:]?=/ { p = 1; sub(/^[^=]*=/, "") }
		p { c = sub(/\\$/, ""); print; if (!c) p = 0 }' selftests/Makefile | tr ' \t' '\n\n' |
		sed -n 's/\.sh$//p' | paste -sd' ')
fi

# KDIR: espx.ko and selftests/modules against the debug tree (both Makefiles take it from
# the environment); the guest links ROOT/lib/modules/KVER as its module tree.
export KVER=$kver KDIR=$obj T
export ESPX_MODROOT=$root
export ESPX_VM_KERNEL=$root/boot/vmlinuz-$kver
# rcutree.sysrq_rcu: sysrq y prints RCU's grace-period state (vm-tests.sh's rcu_watch)
export ESPX_VM_APPEND=${ESPX_VM_APPEND:-"slub_debug kasan_multi_shot rcutree.sysrq_rcu=1"}
export ESPX_VM_DEBUG=1
# virtme-ng's init without its udev coldplug: it does not settle on this kernel (vm-init-hook.sh)
export ESPX_VM_FASTINIT=${ESPX_VM_FASTINIT-1}
# KASAN's shadow and slub_debug's red zones need room; all of it is several times slower
export ESPX_VM_MEM=${ESPX_VM_MEM:-3G}
# counters took 4 723 s there (2026-12-07): 10 times selftests/settings' 900 s
export ESPX_TIMEOUT_SCALE=${ESPX_TIMEOUT_SCALE:-10}
# the expected time printed at boot: the debug kernel ran the 24 tests timed on it by
# 2026-12-07 in 30 300 s against 839 s on Debian's 6.1 (36 times; 6-84 per test)
export ESPX_CHECK_SLOWDOWN=${ESPX_CHECK_SLOWDOWN:-36}
export ESPX_CHECK_OUT=${ESPX_CHECK_OUT:-$BUILD/check-debug}
exec scripts/check.sh
