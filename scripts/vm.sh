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
[ -n "${ESPX_VM_FASTINIT:-}" ] && extra+=(--append "BASH_ENV=$top/scripts/vm-init-hook.sh")
mkdir -p "$rwdir"
# The guest console (loglevel 5: warnings and worse) goes to ESPX_VM_CONSOLE (default: our stderr).
[ -n "${ESPX_VM_CONSOLE:-}" ] && exec 2>>"$ESPX_VM_CONSOLE"
exec vng --verbose --append loglevel=5 --run "$kernel" --disable-kvm --cpus "${ESPX_VM_CPUS:-2}" --memory "${ESPX_VM_MEM:-2G}" \
	--qemu-opts="-cpu max -accel tcg,thread=${ESPX_VM_TCG_THREAD:-single}" "${rodirs[@]}" --rwdir "/tmp/espx-out=$rwdir" ${extra[@]+"${extra[@]}"} --exec "$*" </dev/null
