#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install: put espx.ko into the kernel's module tree (updates/ wins over the in-tree
# esp4/esp6 search order), refresh depmod and install the modprobe.d file that keeps
# esp4/esp6 away and points the kernel's ESP type autoload at espx.
#   [ESPX_ECHO=build/tools/espx-echo] install.sh KVER KO [DESTDIR]
set -euo pipefail
kver=$1 ko=$2 dest=${3:-${DESTDIR:-}}
top=$(dirname "$(dirname "$(readlink -f "$0")")")
install -D -m 0644 "$ko" "$dest/lib/modules/$kver/updates/espx.ko"
install -D -m 0644 "$top/tools/modprobe.d/espx.conf" "$dest/etc/modprobe.d/espx.conf"
install -D -m 0644 "$top/include/uapi/linux/espx.h" "$dest/usr/local/include/linux/espx.h"
# the user-space initiator of the unencrypted ESP Echo (make tools), if built
[ -z "${ESPX_ECHO:-}" ] || install -D -m 0755 "$ESPX_ECHO" "$dest/usr/local/sbin/espx-echo"
if [ -z "$dest" ]; then
	depmod -a "$kver"
else
	depmod -a -b "$dest" "$kver"
fi
echo "espx installed for $kver; esp4/esp6 will no longer load (see /etc/modprobe.d/espx.conf)"
if grep -qE '^esp[46] ' /proc/modules 2>/dev/null; then
	echo "note: esp4/esp6 are loaded now; flush ESP SAs and rmmod them (or reboot) before using espx"
fi
