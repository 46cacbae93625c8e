#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make install` on a gateway: espx.ko lands in updates/, the modprobe.d file points the
# kernel's ESP type autoload at espx and keeps esp4/esp6 away. Runs in the test VM, whose
# /lib/modules and /etc are throw-away overlays; everything installed is removed again.
. "$(dirname "$0")/lib.sh"
top=$(dirname "$(dirname "$(readlink -f "$0")")")
kver=$(uname -r)

ktap_header
ktap_plan 8

undo() {
	rm -f "/lib/modules/$kver/updates/espx.ko" /etc/modprobe.d/espx.conf
	depmod -a "$kver"
	grep -q '^espx ' /proc/modules || insmod "$ESPX_KO"
}
trap 'undo; __cleanup' EXIT

check "make install's script installs espx for $kver" "$top/scripts/install.sh" "$kver" "$ESPX_KO"
check "modinfo finds the installed espx" modinfo -n espx
check "xfrm-type-2-50 (IPv4 ESP autoload) resolves to espx only" \
	test "$(modprobe -R xfrm-type-2-50 2>&1)" = espx
check "xfrm-type-10-50 (IPv6 ESP autoload) resolves to espx only" \
	test "$(modprobe -R xfrm-type-10-50 2>&1)" = espx

rmmod espx
check_fail "modprobe esp4 is refused" modprobe esp4
check_fail "modprobe esp6 is refused" modprobe esp6
check "esp4/esp6 not loaded" bash -c "! grep -qE '^esp[46] ' /proc/modules"

# The kernel's own autoload: the first ESP SA makes the core request xfrm-type-2-50.
ns=$(ns_new inst)
key=0x$(printf '%02x' $(seq 0 19) | tr -d '\n')
if ip -n "$ns" xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0x100 \
	mode transport aead 'rfc4106(gcm(aes))' "$key" 128 2>/dev/null &&
   grep -q '^espx ' /proc/modules; then
	ktap_ok "an ESP SA autoloads espx"
else
	ktap_fail "an ESP SA autoloads espx ($(cut -d' ' -f1 /proc/modules | grep -E '^esp' | tr '\n' ' '))"
fi
ip -n "$ns" xfrm state flush
ktap_finish
