#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make dkms-install / dkms-uninstall: espx under DKMS (rebuilt for every new kernel), plus
# what DKMS cannot install itself: the modprobe.d file that gives the ESP type autoload to
# espx and keeps esp4/esp6 away, and the uapi header.
#   dkms-install.sh install|uninstall [KVER]
set -euo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
kver=${2:-$(uname -r)}
src=/usr/src/espx-$ver
case ${1:-} in
install)
	rm -rf "$src"
	"$top/scripts/dkms-files.sh" "$top" "$src"
	dkms add -m espx -v "$ver" 2>/dev/null || true	# already added: fine
	dkms install -m espx -v "$ver" -k "$kver" --force
	install -D -m 0644 "$top/tools/modprobe.d/espx.conf" /etc/modprobe.d/espx.conf
	install -D -m 0644 "$top/include/uapi/linux/espx.h" /usr/local/include/linux/espx.h
	depmod -a "$kver"
	echo "espx $ver installed with DKMS for $kver; esp4/esp6 will no longer load (see /etc/modprobe.d/espx.conf)"
	;;
uninstall)
	dkms remove -m espx -v "$ver" --all 2>/dev/null || true	# not added: fine
	rm -rf "$src"
	rm -f /etc/modprobe.d/espx.conf /usr/local/include/linux/espx.h
	depmod -a "$kver"
	echo "espx removed from DKMS; esp4/esp6 load again on demand"
	;;
*)
	echo "usage: $0 install|uninstall [KVER]" >&2
	exit 2
	;;
esac
