#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make uninstall: undo make install (and the files make dkms-install adds): remove espx.ko
# from updates/, the modprobe.d file and the header, and refresh depmod, so that the
# kernel's ESP type autoload (xfrm-type-2-50, xfrm-type-10-50) finds esp4/esp6 again.
#   uninstall.sh KVER [DESTDIR]
set -euo pipefail
kver=$1 dest=${2:-${DESTDIR:-}}
rm -f "$dest/lib/modules/$kver/updates/espx.ko" "$dest/etc/modprobe.d/espx.conf" \
	"$dest/usr/local/include/linux/espx.h" "$dest/usr/local/sbin/espx-echo"
if [ -z "$dest" ]; then
	depmod -a "$kver"
else
	depmod -a -b "$dest" "$kver"
fi
echo "espx uninstalled for $kver; esp4/esp6 load again on demand"
if [ -z "$dest" ] && find "/lib/modules/$kver" -name 'espx.ko*' 2>/dev/null | grep -q .; then
	echo "note: an espx.ko is still installed (DKMS? run make dkms-uninstall):"
	find "/lib/modules/$kver" -name 'espx.ko*'
fi
if [ -z "$dest" ] && grep -q '^espx ' /proc/modules 2>/dev/null; then
	echo "note: espx is loaded now; flush the ESP SAs and rmmod espx (or reboot) to use esp4/esp6"
fi
