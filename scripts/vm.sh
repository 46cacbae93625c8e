#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel of the matrix under virtme-ng and run a command in it.
#   scripts/vm.sh KVER RWDIR 'command'
# The host's / is the guest's root, read-only; RWDIR is writable in the guest at /tmp/espx-out
# (virtme-ng can only mount it below one of its overlays).
# Software emulation only (KVM does not work on our machines); '-cpu max' so the guest kernel
# uses the AES-NI/AVX crypto drivers (and their cryptd async path) like a real gateway.
# Single-threaded TCG (ESPX_VM_TCG_THREAD=multi for one host thread per vCPU): the guest
# still has ESPX_VM_CPUS CPUs (per-CPU counters, taskset), run in turn by one host thread.
# With one host thread per vCPU, QEMU 7.2 let a vCPU run code another vCPU was patching
# (static keys, ftrace: the kernel's int3 text poking), and the guest died with
# "Oops: int3" in __netif_receive_skb_core or __schedule; and make check boots two VMs
# on two cores anyway, so more threads only compete.
# The checkout is mapped into the guest at its own path (read-only): the host's / is the
# guest's root, but virtme-ng's init mounts empty tmpfs over /run, /var/tmp, /var/log,
# /var/cache and a few more, so a checkout there would otherwise be invisible. Further
# host directories the guest must see: ESPX_VM_RODIRS (space-separated).
# Another kernel than Debian's (make check-debug): ESPX_VM_KERNEL=ROOT/boot/vmlinuz-KVER with
# its modules in ROOT/lib/modules/KVER (virtme-ng links them in the guest; an overlay makes
# them writable there, as /lib/modules is for a Debian kernel); ESPX_VM_APPEND: more kernel
# command line. ESPX_VM_FASTINIT=1: virtme-ng's init without its udev coldplug and
# systemd-tmpfiles (scripts/vm-init-hook.sh says why; make check-debug needs it, make check
# sets it too: the guest is up in about 20 s instead of 50-70 s).
set -euo pipefail
kver=$1 rwdir=$2; shift 2
top=$(dirname "$(dirname "$(readlink -f "$0")")")
rodirs=()
for d in "$top" ${ESPX_VM_RODIRS:-}; do
	rodirs+=(--rodir "$d=$d")	# guest path = host path
done
kernel=${ESPX_VM_KERNEL:-/boot/vmlinuz-$kver}
[ -e "$kernel" ] || { echo "vm: no kernel $kernel (run 'make deps')" >&2; exit 1; }
extra=()
if [ -n "${ESPX_VM_KERNEL:-}" ]; then
	mods=$(dirname "$(dirname "$(readlink -f "$kernel")")")/lib/modules/$kver
	[ -d "$mods" ] && extra+=(--overlay-rwdir "$mods")
fi
[ -n "${ESPX_VM_APPEND:-}" ] && extra+=(--append "$ESPX_VM_APPEND")
qopts=()
if [ -n "${ESPX_VM_FASTINIT:-}" ]; then
	# espx_cached=DIR: the hook mounts the checkout with cache=loose (the guest only
	# reads it; Python imports and sourced scripts stop asking the host each time).
	extra+=(--append "BASH_ENV=$top/scripts/vm-init-hook.sh espx_cached=$top")
	# The host's /usr once more, as its own read-only 9p export: the hook mounts it on /usr
	# with cache=loose before virtme-init's overlays (the root 9p mount caches nothing,
	# so every exec and every library or Python module lookup was a 9p round trip).
	qopts+=(-virtfs "local,path=/usr,mount_tag=espx.usr,security_model=none,readonly=on,multidevs=remap")
fi
if [ "${ESPX_VM_TUNE:-1}" = 1 ]; then
	# Cheaper processes under TCG, where the suite's time goes (fork, exec, ld.so, python3):
	#   norandmaps      the same virtual addresses for ld.so and libc in every process:
	#                   TCG finds the code it translated for the last process instead of
	#                   translating it again (it looks translated code up by address)
	#   no5lvl          4-level page tables: shorter page walks in QEMU's soft TLB fills
	#   init_on_alloc=0 Debian's kernels zero every page and slab object they allocate
	# Host CPU seconds of a boot plus 200 execs, 5 python3, 40 ip and 10 netns (two VMs
	# side by side, 2026-12-07): 45-48 without them, 31-35 with norandmaps, 23-26 with all
	# three and the cached /usr (the boot alone takes about 17). No test depends on them
	# (address-space randomisation, 5-level paging and init-on-alloc are not espx's
	# concern); ESPX_VM_TUNE=0 boots without them.
	extra+=(--append "norandmaps no5lvl init_on_alloc=0")
fi
mkdir -p "$rwdir"
# The guest console (loglevel 5: warnings and worse) goes to ESPX_VM_CONSOLE (default: our stderr).
[ -n "${ESPX_VM_CONSOLE:-}" ] && exec 2>>"$ESPX_VM_CONSOLE"
exec vng --verbose --append loglevel=5 --run "$kernel" --disable-kvm --cpus "${ESPX_VM_CPUS:-2}" --memory "${ESPX_VM_MEM:-2G}" \
	--qemu-opts="-cpu max -accel tcg,thread=${ESPX_VM_TCG_THREAD:-single}${qopts[*]:+ ${qopts[*]}}" "${rodirs[@]}" --rwdir "/tmp/espx-out=$rwdir" ${extra[@]+"${extra[@]}"} --exec "$*" </dev/null
