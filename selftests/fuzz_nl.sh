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
#   - first, one fixed case: MIGRATE of a larval state (ALLOCSPI) is
#     refused without a WARN (the clone xfrm_state_migrate() makes of it has
#     no algorithm; the fuzzer met this path now and then);
#   - witness SAs (plain, WESPv2, two counters, Diet; both directions) in a
#     third namespace the fuzzer does not touch: the same SAs after;
#   - no SA lost or leaked: once the workers (and their pending configs)
#     are gone, espx's live objects (debugfs espx/sa_objects) = the objects
#     before + the witnesses + the full (non-larval) SAs the dumps of the two
#     fuzzed namespaces list;
#   - the namespaces are deleted: espx's live objects (debugfs
#     espx/sa_objects) back to the number before, espx unloads (it WARNs
#     on a leaked object at exit) and loads again;
#   - kmalloc memory (the kmalloc-* caches of /proc/slabinfo) back near where
#     it was (FUZZ_NL_SLACK_KB, default 2048: a namespace's own caches take
#     time to be freed);
#   - no splat in the kernel log.
# FUZZ_SEED (default 1), FUZZ_NL_COUNT (default 1200), FUZZ_NL_PROCS (4).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

SEED=${FUZZ_SEED:-1}
COUNT=${FUZZ_NL_COUNT:-1200}
PROCS=${FUZZ_NL_PROCS:-4}
SLACK=${FUZZ_NL_SLACK_KB:-2048}
OBJ=/sys/kernel/debug/espx/sa_objects
xt_begin "needs espx"
ktap_plan 9
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
# dumps NS...: the full SAs (with an algorithm; larval ones have none) of
# each NS, from one xfrm_nl.py (a Python start takes seconds under TCG): one
# line each "K spi .. dst .. src .. alg ..", K the NS's place (1, 2, ...)
dumps() {
	local ns
	for ns in "$@"; do echo "ns $ns"; echo dump-sa; done | $XT_PY xfrm_nl batch |
		awk '$0 == "ok" { k++; next } $1 == "spi" && $14 != "-" { print k, $1, $2, $3, $4, $5, $6, $14 }'
}
settle 0
obj0=$(cat $OBJ 2>/dev/null)
slab0=$(kmalloc_kb)
NS1=$(ns_new nl1) && NS2=$(ns_new nl2) && NS3=$(ns_new nlw) ||
	{ ktap_fail "namespaces"; ktap_finish; }
# witnesses in NS3: 8 SAs, each kind with its espx config set just before
K="rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128"
# counters under a key one-SN SAs use are refused (their IVs could collide)
KC="rfc4106(gcm(aes)) 0x2122232425262728292a2b2c2d2e2f3031323334 128"
for d in 1 2; do
	s=10.88.0.$d t=10.88.0.$((3 - d))
	echo "sa add --src $s --dst $t --spi 0x30$d --mode transport --reqid 1 --aead $K --replay-window 32"
	echo "sa add --src $s --dst $t --spi 0x31$d --mode transport --reqid 2 --aead $K --replay-window 32 --wesp 0"
	echo "sa add --src $s --dst $t --spi 0x32$d --mode transport --reqid 3 --aead $KC --replay-window 0 --oseq-may-wrap --wesp 0 --counters 2"
	echo "sa add --src $s --dst $t --spi 0x33$d --mode transport --reqid 4 --aead $K --replay-window 32 --diet 8,16"
done >"$XT_TMP/witness"
{ echo "ns $NS3"; cat "$XT_TMP/witness"; echo dump-sa; } | $XT_PY xfrm_nl batch >"$XT_TMP/w.out" 2>&1
wout=$(grep -v '^ok\|^spi ' "$XT_TMP/w.out")
awk '$1 == "spi" && $14 != "-" { print 1, $1, $2, $3, $4, $5, $6, $14 }' "$XT_TMP/w.out" >"$XT_TMP/w0"

# a larval state migrated in place: espx refuses the clone, which must die quietly
{
	echo "allocspi --src 10.77.0.1 --dst 10.77.0.2 --mode tunnel --reqid 7"
	echo "policy add --dir out --sel-src 10.77.9.1/32 --sel-dst 10.77.9.2/32 --tmpl-src 10.77.0.1 --tmpl-dst 10.77.0.2 --reqid 7"
	echo "migrate --dir out --sel-src 10.77.9.1/32 --sel-dst 10.77.9.2/32 --old 10.77.0.1,10.77.0.2 --new 10.77.0.3,10.77.0.2 --reqid 7"
} >"$XT_TMP/larval"
mapfile -t L < <(ip netns exec "$NS1" $XT_PY xfrm_nl batch <"$XT_TMP/larval" 2>&1)
lout="${L[*]}"
if [[ ${L[0]} == "ok spi "* ]] && [ "${L[1]}" = ok ] && [ -n "${L[2]}" ] && [ "${L[2]}" != ok ] &&
	xt_dmesg_check >"$XT_TMP/dmesg" 2>&1; then
	ktap_ok "MIGRATE of a larval state refused without a WARN: ${lout:0:120}"
else
	ktap_fail "MIGRATE of a larval state: ${lout:0:160}; log: $(head -2 "$XT_TMP/dmesg" | tr '\n' ' ')"
fi
xt_dmesg_mark

t=$(xt_now)
ktap_info "seed $SEED, $COUNT requests from $PROCS processes"
ns_args=()
for ns in "$NS1" "$NS2"; do ns_args+=(--ns "$ns"); done
$XT_PY espx_fuzz nl --seed "$SEED" --count "$COUNT" --procs "$PROCS" \
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
dumps "$NS3" "$NS1" "$NS2" >"$XT_TMP/d"
grep '^1 ' "$XT_TMP/d" >"$XT_TMP/w1"
nw=$(wc -l <"$XT_TMP/w0")
if [ -z "$wout" ] && [ "$nw" = 8 ] && cmp -s "$XT_TMP/w0" "$XT_TMP/w1"; then
	ktap_ok "witnesses: the 8 SAs of the untouched namespace all there, unchanged"
else
	ktap_fail "witnesses: $nw of 8 set up (${wout:0:200}); after: $(diff "$XT_TMP/w0" "$XT_TMP/w1" | grep -c '^[<>]') lines differ"
fi
# every SA espx holds is one the dumps list (RCU frees: poll)
for i in $(seq 20); do
	[ "$i" = 1 ] || dumps "$NS3" "$NS1" "$NS2" >"$XT_TMP/d"
	n1=$(grep -c '^2 ' "$XT_TMP/d") n2=$(grep -c '^3 ' "$XT_TMP/d")
	obj=$(cat $OBJ 2>/dev/null)
	want=$((${obj0:-0} + nw + n1 + n2))
	[ "$obj" = "$want" ] && break
	sleep 0.5
done
if [ -n "$obj0" ] && [ "$obj" = "$want" ]; then
	ktap_ok "no SA lost or leaked: espx objects $obj = $obj0 before + $nw witnesses + $n1 + $n2 SAs in the dumps"
else
	ktap_fail "espx objects ${obj:-?}, want ${obj0:-?} before + $nw witnesses + $n1 + $n2 SAs in the dumps = $want"
fi

ip netns del "$NS1"
ip netns del "$NS2"
ip netns del "$NS3"
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
