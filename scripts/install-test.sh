#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install, then make uninstall, into a staging root whose module tree mirrors the
# kernel's (symlinks), run natively on the host: after the install the ESP type autoload
# (xfrm-type-2-50, -10-50) resolves to espx only and esp4/esp6 are refused; after the
# uninstall it resolves to esp4/esp6 again and no espx file is left. modprobe reads the
# staged module indexes (-d) and the staged modprobe.d (-C), nothing of the host.
#   install-test.sh KVER KO
set -uo pipefail
kver=$1 ko=$2
top=$(dirname "$(dirname "$(readlink -f "$0")")")
st=$(mktemp -d)
trap 'rm -rf "$st"' EXIT
mkdir -p "$st/lib/modules" "$st/etc/modprobe.d"
cp -as "${ESPX_MODROOT:-}/lib/modules/$kver" "$st/lib/modules/"	# ESPX_MODROOT: make check-debug
fail=0
res() { modprobe -d "$st" -C "$st/etc/modprobe.d" -S "$kver" -R "$1" 2>&1 | sort | paste -sd' '; }
is() {	# is DESC GOT WANT
	if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: '$2', want '$3'"; fail=1; fi
}
is "before: xfrm-type-2-50 resolves to esp4" "$(res xfrm-type-2-50)" esp4
echo_bin=$top/build/selftests/espx-echo	# the tool make check builds (make tools: build/tools/)
[ -x "$echo_bin" ] && export ESPX_ECHO=$echo_bin
"$top/scripts/install.sh" "$kver" "$ko" "$st" >/dev/null || { echo "FAIL: install.sh"; exit 1; }
[ -z "${ESPX_ECHO:-}" ] || is "installed: /usr/local/sbin/espx-echo" \
	"$(test -x "$st/usr/local/sbin/espx-echo" && echo yes)" yes
is "installed: xfrm-type-2-50 resolves to espx" "$(res xfrm-type-2-50)" espx
is "installed: xfrm-type-10-50 resolves to espx" "$(res xfrm-type-10-50)" espx
is "installed: esp4 refused by an install command" \
	"$(modprobe -d "$st" -C "$st/etc/modprobe.d" -S "$kver" --show-depends esp4 2>&1 | grep -c '^install ')" 1
"$top/scripts/uninstall.sh" "$kver" "$st" >/dev/null || { echo "FAIL: uninstall.sh"; exit 1; }
is "uninstalled: xfrm-type-2-50 resolves to esp4 again" "$(res xfrm-type-2-50)" esp4
is "uninstalled: xfrm-type-10-50 resolves to esp6 again" "$(res xfrm-type-10-50)" esp6
is "uninstalled: esp4 loads as a module again" \
	"$(modprobe -d "$st" -C "$st/etc/modprobe.d" -S "$kver" --show-depends esp4 2>&1 | grep -c '^install ')" 0
is "uninstalled: no espx file left" "$(find "$st" -name '*espx*' -type f | paste -sd' ')" ""	# not dirs: a kernel release may say espx
is "uninstalled: modules.alias has no espx" "$(grep -c espx "$st/lib/modules/$kver/modules.alias")" 0
exit $fail
