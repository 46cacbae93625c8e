#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Netlink fuzzing (issue #14 section 3): seeded and bounded. espx_fuzz.py nl
# forks FUZZ_NL_PROCS processes over two namespaces (round robin); each sends
# FUZZ_NL_COUNT / FUZZ_NL_PROCS requests, half of them random or mutated espx
# genl messages (every command, unknown ones, dumps, attributes of every type
# with wrong types and lengths, missing NLA_F_NESTED, deep nesting, huge
# values and a huge attribute, mangled encodings), half xfrm requests
# (xfrm_nl.py's client: NEWSA/UPDSA with WESPv2, counter or Diet-ESP configs
# set just before over genl, ALLOCSPI, DELSA, NEWAE, MIGRATE, NEWPOLICY/
# UPDPOLICY, FLUSH, dumps) on a small space of addresses and SPIs, so that
# requests of the processes meet on the same SAs. Then:
#   - every process finished, none hung (30 s socket timeout) or died;
#   - the requests reached espx: some genl requests were taken, some
#     refused, some NEWSA/UPDSA were taken;
#   - the namespaces are deleted: espx's live objects (debugfs
#     espx/sa_objects) back to the number before, espx unloads (it WARNs
#     on a leaked object at exit) and loads again;
#   - kmalloc memory (the kmalloc-* caches of /proc/slabinfo) back near where
#     it was (FUZZ_NL_SLACK_KB, default 2048: a namespace's own caches take
#     time to be freed);
#   - no splat in the kernel log.
# FUZZ_SEED (default 1), FUZZ_NL_COUNT (default 2000), FUZZ_NL_PROCS (4).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

T0=$(xt_now)
SEED=${FUZZ_SEED:-1}
COUNT=${FUZZ_NL_COUNT:-2000}
PROCS=${FUZZ_NL_PROCS:-4}
SLACK=${FUZZ_NL_SLACK_KB:-2048}
OBJ=/sys/kernel/debug/espx/sa_objects
ktap_header
if [ "$ESP_IMPL" != espx ] || ! out=$(xt_impl_prepare 2>&1); then
	ktap_plan 1
	ktap_skip "needs espx (ESP_IMPL=$ESP_IMPL): ${out:-}"
	ktap_finish
fi
ktap_plan 6
xt_dmesg_mark
[ -e $OBJ ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null

# kmalloc_kb: KiB in the kmalloc caches (active objects x object size)
kmalloc_kb() {
	awk 'NR > 2 && $1 ~ /^kmalloc-/ { s += $2 * $4 } END { printf "%d", s / 1024 }' /proc/slabinfo
}
# settle: RCU and the xfrm GC free asynchronously
settle() {
	local i
	for i in $(seq 20); do
		[ "$(cat $OBJ 2>/dev/null)" = "${1:-0}" ] && break
		sleep 0.5
	done
}
settle 0
obj0=$(cat $OBJ 2>/dev/null)
slab0=$(kmalloc_kb)
NS1=$(ns_new nl1) && NS2=$(ns_new nl2) || { ktap_fail "namespaces"; ktap_finish; }

t=$(xt_now)
ns_args=()
for ns in "$NS1" "$NS2"; do ns_args+=(--ns "$ns"); done
$PYTHON -S "$XT_DIR/espx_fuzz.py" nl --seed "$SEED" --count "$COUNT" --procs "$PROCS" \
	"${ns_args[@]}" >"$XT_TMP/nl.out" 2>&1
rc=$?
grep -v '^result ' "$XT_TMP/nl.out" | sed 's/^/# /' | cut -c1-600
for k in workers reached; do
	l=$(grep "^result $k " "$XT_TMP/nl.out")
	if [[ $l == "result $k ok "* ]]; then
		ktap_ok "$k: ${l#result $k ok } ($(xt_since "$t") s)"
	else
		ktap_fail "$k: ${l:-no result} (rc $rc)"
		[ -n "$l" ] || tail -5 "$XT_TMP/nl.out" | sed 's/^/#   /'
	fi
done
ktap_info "left behind: $(ip -n "$NS1" xfrm state | grep -c ^src) + $(ip -n "$NS2" xfrm state | grep -c ^src) SAs, espx objects $(cat $OBJ 2>/dev/null)"

ip netns del "$NS1"
ip netns del "$NS2"
settle "$obj0"
obj1=$(cat $OBJ 2>/dev/null)
if [ -n "$obj0" ] && [ "$obj1" = "$obj0" ]; then
	ktap_ok "namespaces deleted: espx objects back to $obj0"
else
	ktap_fail "espx objects: ${obj0:-no $OBJ} before, ${obj1:-?} after the namespaces went"
fi
if xt_rmmod espx && xt_use_espx; then
	ktap_ok "espx unloads and loads again"
else
	ktap_fail "espx unload/reload: $(grep espx /proc/modules)"
fi
slab1=$(kmalloc_kb)
for _ in $(seq 10); do
	[ $((slab1 - slab0)) -le "$SLACK" ] && break
	sleep 1
	slab1=$(kmalloc_kb)
done
if [ $((slab1 - slab0)) -le "$SLACK" ]; then
	ktap_ok "kmalloc caches back near the start: $slab0 -> $slab1 KiB (slack $SLACK)"
else
	ktap_fail "kmalloc caches grew: $slab0 -> $slab1 KiB (slack $SLACK)"
fi
if xt_dmesg_check >"$XT_TMP/dmesg" 2>&1; then
	ktap_ok "kernel log clean (no WARN/BUG/KASAN/refcount)"
else
	ktap_fail "kernel log: $(head -3 "$XT_TMP/dmesg" | tr '\n' ' ')"
fi
ktap_info "fuzz_nl: $(xt_since "$T0") s"
ktap_finish
