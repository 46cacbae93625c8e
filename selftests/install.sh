#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make install` on a gateway: espx.ko lands in updates/, the modprobe.d file points the
# kernel's ESP type autoload at espx and keeps esp4/esp6 away. The harness ran make install
# into a staging root on the host (depmod over the whole module tree is far too slow under
# emulation); this test puts that result in place in the VM (/lib/modules and /etc are
# throw-away overlays here), checks it as modprobe and the kernel see it, and undoes it.
. "$(dirname "$0")/lib.sh"
top=$(dirname "$(dirname "$(readlink -f "$0")")")
kver=$(uname -r)
stage=${ESPX_INSTROOT:-$top/build/$kver/instroot}
mods=/lib/modules/$kver
save=$(mktemp -d)

ktap_header
ktap_plan 9

if [ ! -e "$stage/lib/modules/$kver/updates/espx.ko" ]; then
	ktap_info "no staged install in $stage (the harness makes it)"
	for i in $(seq 9); do ktap_fail "staged make install present"; done
	ktap_finish
fi

undo() {
	cp -a "$save"/modules.* "$mods/" 2>/dev/null
	rm -f "$mods/updates/espx.ko" /etc/modprobe.d/espx.conf
	grep -q '^espx ' /proc/modules || { modprobe -a $(modinfo -F depends "$ESPX_KO" | tr , ' '); insmod "$ESPX_KO"; }
	rm -rf "$save"
}
trap 'undo; __cleanup' EXIT

cp -a "$mods"/modules.* "$save/"
check "staged modprobe.d file is the one in tools/" cmp "$stage/etc/modprobe.d/espx.conf" \
	"$top/tools/modprobe.d/espx.conf"
check "install the staged module, indexes and modprobe.d file" bash -c "
	mkdir -p $mods/updates && cp $stage$mods/updates/espx.ko $mods/updates/ &&
	for f in $stage$mods/modules.*; do [ -L \"\$f\" ] || cp \"\$f\" $mods/; done &&
	cp $stage/etc/modprobe.d/espx.conf /etc/modprobe.d/"
check "modinfo finds espx in updates/" bash -c "modinfo -n espx | grep -q '/updates/espx.ko'"
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
	ktap_fail "an ESP SA autoloads espx (loaded: $(cut -d' ' -f1 /proc/modules | grep -E '^esp' | tr '\n' ' '))"
fi
ip -n "$ns" xfrm state flush
ktap_finish
