#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# espx.ko load/unload: 20 cycles with the genetlink family appearing and disappearing with
# the module, unload with pending configs in several namespaces (freed, no leak report),
# unload refused while an SA uses espx's ESP type, and a clean kernel log. Leaves espx
# loaded, as the harness found it. test_knobs is read-only at run time.
. "$(dirname "$0")/lib.sh"

G=$ESPX_BIN/espx_genl
CYCLES=20
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'
LEAK='espx: .*(leaked|still bound)'

loaded() { grep -q '^espx ' /proc/modules; }

# unload/load: the genetlink family must follow the module.
unload() {
	rmmod espx || return 1
	! loaded || { echo "espx still in /proc/modules"; return 1; }
	"$G" resolve >/dev/null 2>&1
	[ $? = 2 ] || { echo "family espx still resolvable after rmmod"; return 1; }
}

load() {
	modprobe -q xfrm_algo	# espx.ko needs its symbols; insmod does not load deps
	insmod "$ESPX_KO" || return 1
	"$G" resolve >/dev/null || { echo "family espx not resolvable after insmod"; return 1; }
}

# rmmod may have to wait for the xfrm GC to drop the last SA's reference to the type.
unload_retry() {
	local i
	for i in $(seq 50); do
		rmmod espx 2>/dev/null && return 0
		sleep 0.2
	done
	rmmod espx
}

ktap_header
ktap_plan 9

if [ -z "${ESPX_KO:-}" ] || [ ! -r "$ESPX_KO" ]; then
	for i in $(seq 9); do ktap_skip "load/unload: ESPX_KO not set or not readable"; done
	ktap_finish
fi
loaded || insmod "$ESPX_KO"
echo "espx-selftest: loadunload start" >/dev/kmsg

bad=0
for i in $(seq $CYCLES); do
	if ! out=$(unload 2>&1) || ! out=$(load 2>&1); then
		bad=$i
		break
	fi
done
if [ "$bad" = 0 ]; then
	ktap_ok "$CYCLES unload/load cycles: family gone after each unload, back after each load"
else
	ktap_fail "unload/load cycle $bad: $out"
	loaded || insmod "$ESPX_KO"
fi

check "one genetlink family espx after the cycles" "$G" resolve

a=$(ns_new a)
b=$(ns_new b)
pending() {
	local i
	for i in $(seq 10); do
		"$G" set --daddr 10.2.0.$i --spi $((0x400 + i)) || return 1
		ip netns exec "$a" "$G" set --family 6 --daddr 2001:db8::$i --spi $i --wesp 3 ||
			return 1
	done
	ip netns exec "$b" "$G" set --daddr 10.2.1.1 --spi 0x500 &&
	[ "$("$G" count)" = 10 ] && [ "$(ip netns exec "$a" "$G" count)" = 10 ]
}
check "21 pending configs in three namespaces" pending
check "unload with pending configs" unload
check "no leak reported by the module at exit" bash -c "! dmesg | grep -E '$LEAK'"
check "reload: no config survives the unload" bash -c \
	"insmod $ESPX_KO && [ \$($G count) = 0 ] && [ \$(ip netns exec $a $G count) = 0 ]"

# An SA holds a reference on espx's ESP type: rmmod must refuse until it is gone.
if ip -n "$b" xfrm state add src 192.0.2.1 dst 10.2.1.1 proto esp spi 0x500 mode transport \
	aead 'rfc4106(gcm(aes))' 0x0123456789abcdef0123456789abcdef01234567 128 2>/dev/null; then
	busy() {
		! rmmod espx 2>/dev/null && loaded &&
		ip -n "$b" xfrm state flush && unload_retry && load
	}
	check "rmmod refused while an SA uses the type, works after flush" busy
else
	ktap_skip "rmmod refused while an SA uses the type: no ESP type (ip xfrm state add failed)"
fi

knobs=/sys/module/espx/parameters/test_knobs
check_fail "test_knobs is read-only at run time" bash -c "echo Y >$knobs"

check "kernel log clean (no splat, no leak)" bash -c \
	"! dmesg | sed -n '/espx-selftest: loadunload start/,\$p' | grep -E '$SPLAT|$LEAK'"
loaded || insmod "$ESPX_KO"
ktap_finish
