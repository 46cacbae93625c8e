#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel of the matrix under virtme-ng and run a command in it.
#   scripts/vm.sh KVER RWDIR 'command'
# The host's / is the guest's root, read-only; RWDIR is writable in the guest at /tmp/espx-out
# (virtme-ng can only mount it below one of its overlays).
# Software emulation only (KVM does not work on our machines); '-cpu max' so the guest kernel
# uses the AES-NI/AVX crypto drivers (and their cryptd async path) like a real gateway.
set -euo pipefail
kver=$1 rwdir=$2; shift 2
kernel=/boot/vmlinuz-$kver
[ -e "$kernel" ] || { echo "vm: no kernel $kernel (run 'make deps')" >&2; exit 1; }
mkdir -p "$rwdir"
# The guest console (loglevel 5: warnings and worse) goes to ESPX_VM_CONSOLE (default: our stderr).
[ -n "${ESPX_VM_CONSOLE:-}" ] && exec 2>>"$ESPX_VM_CONSOLE"
exec vng --verbose --append loglevel=5 --run "$kernel" --disable-kvm --cpus "${ESPX_VM_CPUS:-2}" --memory "${ESPX_VM_MEM:-2G}" \
	--qemu-opts='-cpu max' --rwdir "/tmp/espx-out=$rwdir" --exec "$*" </dev/null
