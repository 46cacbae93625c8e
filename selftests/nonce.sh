#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# No (key, nonce) pair twice on nonce SAs (issue #13 §1). WESPv2 SAs without
# counters and Diet-ESP SAs build the AEAD nonce as salt | be64(SN); the SN
# must never repeat under one key, whatever the xfrm core does to the state:
#   1. four tunnel SA pairs carry a continuous ping flood: WESPv2 over IPv4,
#      WESPv2 over IPv6, Diet-ESP with an explicit IV, Diet-ESP with `iiv`
#      (spi-lsb 32 sn-lsb 32: ESP format, so every frame can be opened);
#   2. under the flood, in A and B: XFRM_MSG_MIGRATE of both SAs of every pair
#      to new addresses (the clone gets a copy of the old state's oseq while
#      the old state still sends), UPDSA of A's outbound SAs, NEWAE setting
#      A's outbound oseq back to 0, and DELSA + NEWSA of A's outbound SAs with
#      the same key (oseq 0 again);
#   3. every captured frame of the 8 SAs is opened by the independent Python
#      codec (espx_pkt.py nonce-check): all authenticate, no (key, nonce) pair
#      appears twice; traffic works after each step;
#   4. a counter SA whose counters are exhausted expires, and so does the
#      state that shares its counters (same SPI and key elsewhere);
#   5. a counter SA deleted and created again with the same key continues
#      its counters after the last sequence number sent under the key;
#   6. nothing left after a flush.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

MIG="$XT_PY xfrm_migrate"
AE="$XT_PY xfrm_ae"
OBJ=/sys/kernel/debug/espx/sa_objects
xt_begin "nonce SAs need espx"
xt_need "patched ip without wesp/diet (make iproute2)" xt_ip_has 'diet spi-lsb'
xt_genl_find || true
# counter-start (part 4) is a test knob: espx with test_knobs=1, as before after
KNOBS=/sys/module/espx/parameters/test_knobs
KNOBS_WAS=$(cat $KNOBS)
knobs() {	# knobs 0|1: load espx with test_knobs=0|1 (read-only at run time)
	local i
	[ "$(cat $KNOBS)" = "$([ "$1" = 1 ] && echo Y || echo N)" ] && return 0
	for i in $(seq 50); do	# flushed states go in the xfrm GC work
		rmmod espx 2>/dev/null && break
		sleep 0.2
	done
	insmod "$ESPX_KO" test_knobs="$1"
}
knobs 1 || ktap_info "cannot load espx with test_knobs=1"
xt_dmesg_mark
objects() { cat "$OBJ" 2>/dev/null || echo unknown; }
BASE=$(objects)
PLAN=23
ktap_plan $PLAN
ktap_info "kernel $(uname -r), $(nproc) CPUs"

# ------------------------------------------------------------- topology --
# Pair n: inner 10.97.n.1 <-> 10.97.n.2 on lo; tunnel endpoints first on
# net OLD, then NEW: pairs 1, 3, 4 over IPv4 (10.OLD.n.x), pair 2 over IPv6
# (fd00:OLD:n::x). SPIs 0x100n (A->B), 0x200n (B->A), reqid n.
GCM="aead rfc4106(gcm(aes))"
declare -A KEY OPTS KIND
for n in 1 2 3 4; do
	for d in 1 2; do
		KEY[$n.$d]=0x$(printf '%02x' $(seq $((n * 40 + d * 20)) $((n * 40 + d * 20 + 19))) | tr -d '\n')
	done
done
OPTS[1]="wesp" OPTS[2]="wesp"
OPTS[3]="diet spi-lsb 32 sn-lsb 32" OPTS[4]="diet spi-lsb 32 sn-lsb 32 iiv"
KIND[1]=wesp KIND[2]=wesp KIND[3]=diet KIND[4]="diet,iiv=1"
OLD=98 NEW=96

o() {	# o OLD|NEW n 1|2: an outer address
	if [ "$2" = 2 ]; then echo "fd00:$1:$2::$3"; else echo "10.$1.$2.$3"; fi
}
plen() { if [ "$1" = 2 ]; then echo 64; else echo 24; fi; }
in_a() { echo "10.97.$1.$2"; }

# sa_args n DIR NET: the state of pair n, direction DIR (1 A->B, 2 B->A)
sa_args() {
	local n=$1 d=$2 net=$3 s=1 t=2
	[ "$d" = 2 ] && s=2 t=1
	echo "src $(o "$net" "$n" $s) dst $(o "$net" "$n" $t) proto esp spi 0x${d}00$n reqid $n" \
		"mode tunnel replay-window 32 $GCM ${KEY[$n.$d]} 128" \
		"sel src $(in_a "$n" $s)/32 dst $(in_a "$n" $t)/32"
}
sa_add() {	# sa_add NS n DIR NET: with the pair's espx keywords (patched ip)
	# shellcheck disable=SC2046
	ip netns exec "$1" "$IP" xfrm state add $(sa_args "$2" "$3" "$4") ${OPTS[$2]}
}

pol_add() {	# pol_add NS n SELF PEER
	local ns=$1 n=$2 me=$3 peer=$4 dir s t
	for dir in out in; do
		s=$me t=$peer
		[ $dir = in ] && s=$peer t=$me
		ip -n "$ns" xfrm policy add src "$(in_a "$n" $s)/32" dst "$(in_a "$n" $t)/32" \
			dir $dir tmpl src "$(o $OLD "$n" $s)" dst "$(o $OLD "$n" $t)" proto esp \
			reqid "$n" mode tunnel || return 1
	done
}

setup() {
	local n ns me peer mac net
	xt_topology || return 1
	for n in 1 2 3 4; do
		for me in 1 2; do
			peer=$((3 - me)) ns=$NS_A mac=$XT_MAC_B
			[ $me = 2 ] && ns=$NS_B mac=$XT_MAC_A
			for net in $OLD $NEW; do
				ip -n "$ns" addr add "$(o $net "$n" $me)/$(plen "$n")" dev veth0 nodad ||
					return 1
				ip -n "$ns" neigh replace "$(o $net "$n" $peer)" lladdr $mac dev veth0 \
					nud permanent || return 1
			done
			ip -n "$ns" addr add "$(in_a "$n" $me)/32" dev lo || return 1
			ip -n "$ns" route add "$(in_a "$n" $peer)/32" dev veth0 \
				src "$(in_a "$n" $me)" || return 1
			sa_add "$ns" "$n" 1 $OLD && sa_add "$ns" "$n" 2 $OLD || return 1
			pol_add "$ns" "$n" $me $peer || return 1
		done
	done
}

# migrate NS n SELF PEER FROM TO: both policies of pair n and their SAs
migrate() {
	local ns=$1 n=$2 me=$3 peer=$4 from=$5 to=$6 dir s t out
	for dir in out in; do
		s=$me t=$peer
		[ $dir = in ] && s=$peer t=$me
		out=$(ip netns exec "$ns" $MIG --dir $dir --sel-src "$(in_a "$n" $s)/32" \
			--sel-dst "$(in_a "$n" $t)/32" --reqid "$n" \
			--old "$(o "$from" "$n" $s),$(o "$from" "$n" $t)" \
			--new "$(o "$to" "$n" $s),$(o "$to" "$n" $t)" 2>&1)
		[ "$out" = ok ] || { echo "$ns pair $n dir $dir: $out"; return 1; }
	done
}

# all_pairs CMD...: CMD n for n = 1..4, all must succeed
all_pairs() {
	local n rc=0
	for n in 1 2 3 4; do
		"$@" "$n" || rc=1
	done
	return $rc
}
ping_ok() { xt_ping "$NS_A" "$(in_a "$1" 2)" 3; }	# all answered

t=$(xt_now)
if setup >"$XT_TMP/setup.log" 2>&1; then
	ktap_ok "setup: WESPv2 over IPv4 and IPv6, Diet-ESP with explicit IV and iiv, tunnel pairs"
else
	ktap_fail "setup"
	sed 's/^/#   /' "$XT_TMP/setup.log"
	ktap_finish
fi
check "traffic on every pair before the flood" all_pairs ping_ok

XT_TCPDUMP_OPTS= xt_tcpdump "$NS_A" cap "$XT_TMP/all.pcap" 0 \
	ip proto 141 or ip proto 50 or ip6 proto 141 or ip6 proto 50
CAP=$XT_LASTPID
# the flood: 5 echo requests a second per pair, each answered on B's SA
FLOOD=()
for n in 1 2 3 4; do
	ip netns exec "$NS_A" ping -n -q -i 0.2 -w 600 "$(in_a "$n" 2)" >/dev/null 2>&1 &
	FLOOD+=($!)
	XT_PIDS+=($!)
done
sleep 1

# ------------------------------------------------- MIGRATE under traffic --
mig_pair() { migrate "$NS_A" "$1" 1 2 $OLD $NEW && migrate "$NS_B" "$1" 2 1 $OLD $NEW; }
check "XFRM_MSG_MIGRATE of every pair in A and B under traffic" all_pairs mig_pair
sleep 1
check "traffic on every pair after MIGRATE" all_pairs ping_ok

# ---------------------------------------------------- UPDSA under traffic --
# the unpatched ip: no espx keyword, the state inherits from its live twin
upd() {	# shellcheck disable=SC2046
	ip -n "$NS_A" xfrm state update $(sa_args "$1" 1 $NEW)
}
check "UPDSA of A's outbound SAs under traffic" all_pairs upd
sleep 1
check "traffic on every pair after UPDSA" all_pairs ping_ok

# -------------------------------------------------- NEWAE: oseq set back --
rewind() {
	local out
	out=$(ip netns exec "$NS_A" $AE set --dst "$(o $NEW "$1" 2)" --spi "0x100$1" --oseq 0 2>&1)
	[ "$out" = ok ] || { echo "pair $1: $out"; return 1; }
}
check "XFRM_MSG_NEWAE sets oseq of A's outbound SAs back to 0 under traffic" all_pairs rewind
sleep 1
check "traffic on every pair after the rewind" all_pairs ping_ok

# ------------------------------------- DELSA + NEWSA with the same key --
readd() {
	# shellcheck disable=SC2046
	ip -n "$NS_A" xfrm state delete $(sa_args "$1" 1 $NEW | cut -d' ' -f1-8) &&
		sa_add "$NS_A" "$1" 1 $NEW
}
check "DELSA + NEWSA of A's outbound SAs with the same key under traffic" all_pairs readd
sleep 1
check "traffic on every pair after the re-creation" all_pairs ping_ok

for p in "${FLOOD[@]}"; do
	xt_stop "$p"
done
sleep 1
xt_stop "$CAP"

# --------------------------------------------------------------- the wire --
SAS=()
for n in 1 2 3 4; do
	for d in 1 2; do
		SAS+=(--sa "spi=0x${d}00$n,key=${KEY[$n.$d]},kind=${KIND[$n]}")
	done
done
out=$($XT_PKT nonce-check "$XT_TMP/all.pcap" "${SAS[@]}" 2>&1)
rc=$?
ktap_info "nonce-check: $(tr '\n' ' ' <<<"$out" | cut -c1-400)"
for n in 1 2 3 4; do
	for d in 1 2; do
		l=$(grep "^[a-z]* 0x${d}00$n " <<<"$out")
		if [[ $l == ok* ]] && [[ $l =~ frames=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 20 ]; then
			ktap_ok "wire: SA 0x${d}00$n (${OPTS[$n]}): every frame authenticates ($l)"
		else
			ktap_fail "wire: SA 0x${d}00$n (${OPTS[$n]}): ${l:-no frames} (want ok, >= 20 frames)"
		fi
	done
done
if [ $rc = 0 ] && grep -q '^nonces=[0-9]* repeats=0$' <<<"$out"; then
	ktap_ok "wire: no (key, nonce) pair twice across MIGRATE, UPDSA, NEWAE and re-creation"
else
	ktap_fail "wire: (key, nonce) pairs repeat: $(grep -A5 '^nonces=' <<<"$out" | tr '\n' ' ')"
fi

# ----------------------------------------- exhausted counters expire twins --
# A counter SA started 2 below 2^48 - 1, and a state with the same SPI and
# key at another address (its twin: it shares the counters). Three packets
# on the first use the counter up; the twin then finds it exhausted and must
# expire too instead of dropping every packet forever.
# (keys 0x3c.. to 0xdb.. are the pairs': a key numbers one way only)
KC=0x$(printf '%02x' $(seq 220 239) | tr -d '\n')
S=$(((1 << 48) - 3))
exhaust() {
	local ns=$NS_A i
	[ "$(cat $KNOBS)" = Y ] || { echo "espx without test_knobs=1"; return 1; }
	ip -n "$ns" addr add 10.93.0.1/24 dev veth0 && ip -n "$ns" addr add 10.92.0.1/24 dev veth0 &&
		ip -n "$ns" neigh replace 10.93.0.2 lladdr $XT_MAC_B dev veth0 nud permanent &&
		ip -n "$ns" neigh replace 10.92.0.2 lladdr $XT_MAC_B dev veth0 nud permanent || return 1
	for a in 93 92; do
		"$IP" -n "$ns" xfrm state add src 10.$a.0.1 dst 10.$a.0.2 proto esp \
			spi 0x3001 mode transport $GCM $KC 128 replay-window 0 extra-flag oseq-may-wrap \
			sel src 10.$a.0.1 dst 10.$a.0.2 proto udp wesp seq-counters 1 counter-start $S ||
			return 1
		ip -n "$ns" xfrm policy add src 10.$a.0.1 dst 10.$a.0.2 proto udp dir out \
			tmpl src 10.$a.0.1 dst 10.$a.0.2 proto esp mode transport || return 1
	done
	for i in 1 2 3 4; do
		ip netns exec "$ns" $XT_PKT udp-ping --port 9 --timeout 0.2 --tries 1 10.93.0.2 >/dev/null
	done
	for i in 1 2; do
		ip netns exec "$ns" $XT_PKT udp-ping --port 9 --timeout 0.2 --tries 1 10.92.0.2 >/dev/null
	done
	for i in $(seq 50); do
		[ -z "$(ip -n "$ns" xfrm state list spi 0x3001)" ] && return 0
		sleep 0.1
	done
	echo "still there: $(ip -n "$ns" xfrm state list spi 0x3001 | grep '^src' | tr '\n' ' ')"
	return 1
}
check "exhausted counters: the SA and its twin sharing them both hard-expire" exhaust

# ------------------------------ counter SA deleted and re-added, same key --
# A counter SA (2 counters) with a fixed key sends, is deleted and created
# again with the same key (ip xfrm state delete + add, a key manager's
# delete/re-add) and sends again: its counters must not restart under the
# key. The sender is pinned to CPU 0, so both rounds use counter 0.
KR=0x$(printf '%02x' $(seq 20 39) | tr -d '\n')
ctr_sa() {
	"$IP" -n "$NS_A" xfrm state add src 10.91.0.1 dst 10.91.0.2 proto esp spi 0x3002 \
		mode transport $GCM $KR 128 replay-window 0 extra-flag oseq-may-wrap \
		sel src 10.91.0.1 dst 10.91.0.2 proto udp wesp seq-counters 2
}
ctr_send() {
	local i
	for i in 1 2 3 4 5; do
		ip netns exec "$NS_A" taskset -c 0 $XT_PKT udp-ping --port 9 --timeout 0.1 \
			--tries 1 10.91.0.2 >/dev/null
	done
}
ctr_readd() {
	local out n
	ip -n "$NS_A" addr add 10.91.0.1/24 dev veth0 &&
		ip -n "$NS_A" neigh replace 10.91.0.2 lladdr $XT_MAC_B dev veth0 nud permanent &&
		ip -n "$NS_A" xfrm policy add src 10.91.0.1 dst 10.91.0.2 proto udp dir out \
			tmpl src 10.91.0.1 dst 10.91.0.2 proto esp mode transport || return 1
	ctr_sa || return 1
	xt_tcpdump "$NS_A" capctr "$XT_TMP/ctr.pcap" 0 ip proto 141 || return 1
	n=$XT_LASTPID
	ctr_send
	ip -n "$NS_A" xfrm state delete src 10.91.0.1 dst 10.91.0.2 proto esp spi 0x3002 &&
		ctr_sa || { xt_stop "$n"; return 1; }
	ctr_send
	sleep 0.5
	xt_stop "$n"
	out=$($XT_PKT nonce-check "$XT_TMP/ctr.pcap" --sa "spi=0x3002,key=$KR,kind=ctr" 2>&1)
	if [ $? = 0 ] && [[ $out =~ frames=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 10 ] &&
		grep -q '^nonces=[0-9]* repeats=0$' <<<"$out"; then
		return 0
	fi
	tr '\n' ' ' <<<"$out" | cut -c1-400
	return 1
}
check "counter SA deleted and re-added with the same key: no (key, nonce) twice" ctr_readd

# ---------------------------------------------------------------- leaks --
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" xfrm policy flush
	ip -n "$ns" xfrm state flush
done
wait_base() {
	local i
	for i in $(seq 100); do
		[ "$(objects)" = "$BASE" ] && return 0
		sleep 0.1
	done
	echo "sa_objects $(objects), baseline $BASE"
	return 1
}
knobs "$([ "$KNOBS_WAS" = Y ] && echo 1 || echo 0)" || ktap_info "test_knobs not restored"
if [ "$BASE" = unknown ]; then
	ktap_skip "leaks: no debugfs espx/sa_objects"
else
	check "leaks: after a flush espx sa_objects is back to the baseline ($BASE)" wait_base
fi
xt_end
