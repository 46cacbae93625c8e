#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# XFRM_MSG_MIGRATE (MOBIKE) of SAs with extensions (issue #5 follow-up): the
# kernel clones a migrated SA for its new addresses; espx must build the
# clone with the old SA's config and, for counter SAs, its counters (same
# key: the sequences continue, no IV is used twice).
#   1. a WESPv2 tunnel SA pair with 2 sequence counters and a Diet-ESP
#      tunnel SA pair (spi-lsb 8, sn-lsb 16) carry traffic on the old
#      address pairs;
#   2. both SAs and both policies of each pair are migrated in A and in B
#      (xfrm_migrate.py: XFRM_MSG_MIGRATE per policy direction, as an IKE
#      daemon does), the kernel deletes the old states;
#   3. the espx config is found under the new SA ids (and nothing under the
#      old ones), the counters are the old ones (out_seq kept), traffic
#      flows on the new addresses as protocol 141 with the Sub-SA option
#      (counter SAs) and as diet_proto (Diet-ESP), every counter's sequence
#      goes on without a gap or a repeated IV across the migration;
#   4. a new SA with the same SPI to another address: with another key it is
#      plain ESP, with the same key it is treated as the live SA's clone;
#   5. after a flush nothing is left (espx sa_objects back to the baseline).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

MIG="$XT_PY xfrm_migrate"
OBJ=/sys/kernel/debug/espx/sa_objects
xt_begin "migration of extension SAs needs espx"
xt_need "patched ip without seq-counters/diet (make iproute2)" xt_ip_has 'diet spi-lsb'
xt_need "no espx_genl (make -C selftests)" xt_genl_find
DPROTO=$(cat /sys/module/espx/parameters/diet_proto)
objects() { cat "$OBJ" 2>/dev/null || echo unknown; }
BASE=$(objects)

ktap_plan 23
ktap_info "kernel $(uname -r), $(nproc) CPUs, diet_proto $DPROTO"

# ------------------------------------------------------------- topology --
# Pair n (1: counters, 2: Diet-ESP): inner 10.97.n.1 <-> 10.97.n.2 on lo,
# tunnel endpoints first 10.98.n.1 <-> 10.98.n.2 ("old"), then
# 10.96.n.1 <-> 10.96.n.2 ("new"), all on veth0. SPIs 0x100n (A->B) and
# 0x200n (B->A), reqid n.
KEY1=0x$(printf '%02x' $(seq 1 20) | tr -d '\n')
KEY2=0x$(printf '%02x' $(seq 21 40) | tr -d '\n')
KEY3=0x$(printf '%02x' $(seq 41 60) | tr -d '\n')
KEY4=0x$(printf '%02x' $(seq 61 80) | tr -d '\n')
KEYX=0x$(printf '%02x' $(seq 81 100) | tr -d '\n')
GCM="aead rfc4106(gcm(aes))"
OPTS1=$(xt_ctr_opts 2)
OPTS2="replay-window 32 diet spi-lsb 8 sn-lsb 16"
PLAIN="replay-window 0 extra-flag oseq-may-wrap"	# no espx keyword: no pending config
declare -A KEY
KEY[1.1]=$KEY1 KEY[1.2]=$KEY2 KEY[2.1]=$KEY3 KEY[2.2]=$KEY4
OLD=98 NEW=96

o() { echo "10.$1.$2.$3"; }	# o OLD|NEW n 1|2: an outer address
in_a() { echo "10.97.$1.$2"; }

# sa_add NS n DIR NET: the SA of pair n, direction DIR (1 A->B, 2 B->A)
sa_add() {
	local ns=$1 n=$2 d=$3 net=$4 s=1 t=2 opts=OPTS$2
	[ "$d" = 2 ] && s=2 t=1
	"$IP" -n "$ns" xfrm state add src "$(o "$net" "$n" $s)" dst "$(o "$net" "$n" $t)" \
		proto esp spi "0x${d}00$n" reqid "$n" mode tunnel $GCM "${KEY[$n.$d]}" 128 \
		${!opts} sel src "$(in_a "$n" $s)/32" dst "$(in_a "$n" $t)/32"
}

# pol_add NS n SELF PEER: out and in policies of pair n (SELF/PEER 1 or 2)
pol_add() {
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
	for n in 1 2; do
		for me in 1 2; do
			peer=$((3 - me)) ns=$NS_A mac=$XT_MAC_B
			[ $me = 2 ] && ns=$NS_B mac=$XT_MAC_A
			for net in $OLD $NEW; do
				ip -n "$ns" addr add "$(o $net "$n" $me)/24" dev veth0 || return 1
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

# genl NS ARGS...: espx_genl in NS
genl() { "$XT_GENL" -n "$1" "${@:2}"; }
# ctr_seqs NS DADDR SPI: "ID:OUT_SEQ ..." of the SA's counters; seq_sum: their sum
ctr_seqs() {
	genl "$1" ctr --daddr "$2" --spi "$3" 2>&1 |
		sed -n 's/^id=\([0-9]*\) out_seq=\([0-9]*\) .*/\1:\2/p' | tr '\n' ' '
}
seq_sum() { tr ' ' '\n' <<<"$1" | awk -F: 'NF == 2 { s += $2 } END { print s + 0 }'; }

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

# states NS: "SRC DST SPI" of every SA of NS
states() {
	ip -n "$1" xfrm state list | awk '/^src / { s = $2; d = $4 } /proto esp spi/ { print s, d, $4 }'
}

# ---------------------------------------------------------------- setup --
t=$(xt_now)
if setup >"$XT_TMP/setup.log" 2>&1; then
	ktap_ok "setup: counter pair (wesp seq-counters 2) and Diet-ESP pair (spi-lsb 8 sn-lsb 16), tunnel"
else
	ktap_fail "setup"
	sed 's/^/#   /' "$XT_TMP/setup.log"
	ktap_finish
fi
before_cfg=$(genl "$NS_A" get --daddr "$(o $OLD 1 2)" --spi 0x1001 2>&1)
ktap_info "A's 0x1001 before: $(cut -c1-160 <<<"$before_cfg")"

xt_tcpdump "$NS_A" cap "$XT_TMP/all.pcap" 128 ip proto 141 or ip proto "$DPROTO"
CAP=$XT_LASTPID

# --------------------------------------------------- traffic, old addresses --
# pinned to CPU 0: the echo and its reply stay on one CPU (veth), so one
# counter per SA carries both phases and must go on from 4 to 8
ping0() { taskset -c 0 ip netns exec "$NS_A" ping -n -q -c 4 -i 0.1 -W 2 -w 8 "$(in_a 1 2)" >/dev/null; }
check "counter pair: ping on the old addresses" ping0
check "Diet-ESP pair: ping on the old addresses" xt_ping "$NS_A" "$(in_a 2 2)" 4
seqA=$(ctr_seqs "$NS_A" "$(o $OLD 1 2)" 0x1001)
seqB=$(ctr_seqs "$NS_B" "$(o $OLD 1 1)" 0x2001)
ktap_info "counters before: A 0x1001 [$seqA] B 0x2001 [$seqB]"

# -------------------------------------------------------------- migrate --
out=$(migrate "$NS_A" 1 1 2 $OLD $NEW && migrate "$NS_B" 1 2 1 $OLD $NEW &&
	migrate "$NS_A" 2 1 2 $OLD $NEW && migrate "$NS_B" 2 2 1 $OLD $NEW)
check "XFRM_MSG_MIGRATE of both policies and SAs of both pairs in A and B" test -z "$out"
[ -z "$out" ] || sed 's/^/#   /' <<<"$out"

sA=$(states "$NS_A") sB=$(states "$NS_B")
if [ "$(grep -c "^10\.$NEW\.[^ ]* 10\.$NEW\." <<<"$sA"$'\n'"$sB")" = 8 ] &&
	! grep -q "10\.$OLD\." <<<"$sA$sB"; then
	ktap_ok "states: the 4 SAs of each namespace on the new addresses, the old ones deleted"
else
	ktap_fail "states: A [$(tr '\n' ';' <<<"$sA")] B [$(tr '\n' ';' <<<"$sB")]"
fi

# ------------------------------------------------------- espx config kept --
cfg_ok() {	# cfg_ok NS DADDR SPI REGEX: the entry of that id is bound and matches
	local g
	g=$(genl "$1" get --daddr "$2" --spi "$3" 2>&1)
	grep -q "status bound" <<<"$g" && grep -Eq "$4" <<<"$g" && return 0
	echo "$1 $2 $3: $g"
	return 1
}
CTR_RE=" wesp 0 counters 2 "
DIET_RE=" diet spi_lsb 8 sn_lsb 16 "
cfg_all() {	# cfg_all n REGEX: the 4 new ids of pair n, in A and in B
	cfg_ok "$NS_A" "$(o $NEW "$1" 2)" "0x100$1" "$2" && cfg_ok "$NS_A" "$(o $NEW "$1" 1)" "0x200$1" "$2" &&
		cfg_ok "$NS_B" "$(o $NEW "$1" 2)" "0x100$1" "$2" && cfg_ok "$NS_B" "$(o $NEW "$1" 1)" "0x200$1" "$2"
}
check "counter pair: espx config (wesp, counters 2) under the 4 new SA ids" cfg_all 1 "$CTR_RE"
check "Diet-ESP pair: espx config (diet spi-lsb 8 sn-lsb 16) under the 4 new SA ids" cfg_all 2 "$DIET_RE"
old=
for n in 1 2; do
	for d in 1 2; do
		genl "$NS_A" get --daddr "$(o $OLD $n $((3 - d)))" --spi "0x${d}00$n" >/dev/null 2>&1 &&
			old+=" 0x${d}00$n"
	done
done
nA=$(genl "$NS_A" count 2>&1) nB=$(genl "$NS_B" count 2>&1)
if [ -z "$old" ] && [ "$nA" = 4 ] && [ "$nB" = 4 ]; then
	ktap_ok "no espx entry left under the old SA ids (4 entries per namespace)"
else
	ktap_fail "espx entries: old ids still found:${old:- none}; count A $nA B $nB"
fi
dump=$(genl "$NS_A" dump 2>&1)
if [ "$(grep -c "daddr 10\.$NEW\..*$CTR_RE" <<<"$dump")" = 2 ] &&
	[ "$(grep -c "daddr 10\.$NEW\..*$DIET_RE" <<<"$dump")" = 2 ]; then
	ktap_ok "dump of A: the new ids with their configs"
else
	ktap_fail "dump of A: $(cut -c1-120 <<<"$dump" | tr '\n' ';')"
fi

# ---------------------------------------------------------- counters kept --
mA=$(ctr_seqs "$NS_A" "$(o $NEW 1 2)" 0x1001)
mB=$(ctr_seqs "$NS_B" "$(o $NEW 1 1)" 0x2001)
if [ -n "$mA" ] && [ "$mA" = "$seqA" ] && [ "$mB" = "$seqB" ] && [ "$(seq_sum "$mA")" -gt 0 ]; then
	ktap_ok "counters: the migrated SAs have the old ones (A [$mA] B [$mB])"
else
	ktap_fail "counters: before A [$seqA] B [$seqB], migrated A [$mA] B [$mB]"
fi

# --------------------------------------------------- traffic, new addresses --
check "counter pair: ping on the new addresses" ping0
if xt_ping "$NS_A" "$(in_a 2 2)" 4; then
	ktap_ok "Diet-ESP pair: ping on the new addresses"
else
	ktap_fail "Diet-ESP pair: ping on the new addresses"
	for ns in "$NS_B" "$NS_A"; do	# what the SAs and the netns counted
		genl "$ns" dump 2>&1 | awk '/spi 0x0000[12]002/ { l = $2 " " $4 " " $6
			for (i = 1; i < NF; i++) if ($i == "stats") break
			for (i++; i < NF; i += 2) if ($(i + 1) != 0) l = l " " $i "=" $(i + 1)
			print "#   " l }'
		echo "#   ns: $(genl "$ns" info 2>&1 | grep -v '=0$' | tr '\n' ' ')"
	done
fi
sleep 0.5
xt_stop "$CAP"
aA=$(ctr_seqs "$NS_A" "$(o $NEW 1 2)" 0x1001)
aB=$(ctr_seqs "$NS_B" "$(o $NEW 1 1)" 0x2001)
grew() {	# grew BEFORE AFTER: none went back, one used before went on
	awk -v b="$1" -v a="$2" 'BEGIN { n = split(b, q, " "); split(a, p, " "); on = 0
		for (k = 1; k <= n; k++) {
			split(q[k], r, ":"); split(p[k], s, ":")
			if (r[1] != s[1] || s[2] < r[2]) exit 1
			if (r[2] > 0 && s[2] > r[2]) on = 1
		}
		exit !on }'
}
if grew "$seqA" "$aA" && grew "$seqB" "$aB"; then
	ktap_ok "counters: out_seq went on (A [$seqA] -> [$aA], B [$seqB] -> [$aB])"
else
	ktap_fail "counters: A [$seqA] -> [$aA], B [$seqB] -> [$aB]"
fi

# -------------------------------------------------------------- the wire --
# frames_on PCAP PROTO NET: frames of IP protocol PROTO between addresses of 10.NET.*
frames_on() { tcpdump -nr "$1" "ip proto $2 and net 10.$3.0.0/16" 2>/dev/null | wc -l; }
f141o=$(frames_on "$XT_TMP/all.pcap" 141 $OLD) f141n=$(frames_on "$XT_TMP/all.pcap" 141 $NEW)
fdo=$(frames_on "$XT_TMP/all.pcap" "$DPROTO" $OLD) fdn=$(frames_on "$XT_TMP/all.pcap" "$DPROTO" $NEW)
ktap_info "frames old/new addresses: proto 141 $f141o/$f141n, proto $DPROTO $fdo/$fdn"
if [ "$f141o" -ge 8 ] && [ "$f141n" -ge 8 ]; then
	ktap_ok "wire: the counter pair is protocol 141 on the old and on the new addresses"
else
	ktap_fail "wire: protocol 141 frames old $f141o new $f141n (want >= 8 each)"
fi
if [ "$fdo" -ge 8 ] && [ "$fdn" -ge 8 ]; then
	ktap_ok "wire: the Diet-ESP pair is protocol $DPROTO on the old and on the new addresses"
else
	ktap_fail "wire: protocol $DPROTO frames old $fdo new $fdn (want >= 8 each)"
fi
# ctr_cont SPI: the Sub-SA option on every frame, every counter's seqs 1, 2, ...
# without a hole, one counter past 4 (both phases), no IV twice
ctr_cont() {
	local w
	w=$($XT_PKT ctr-ivs "$XT_TMP/all.pcap" --spi "$1" --n 2 --seqs 2>&1)
	if [[ $w == ok*" repeats=0 bad=0 "* ]] && ! grep -q 'holes=[1-9]' <<<"$w" &&
		[ -z "$(awk '/^seqs / { split($3, v, ","); if (v[1] != 1) print }' <<<"$w")" ] &&
		grep -Eq ':[0-9]+:1-([5-9]|[1-9][0-9]+):' <<<"$w"; then
		ktap_ok "wire: SA $1: Sub-SA option on every frame, seqs 1.. without a gap or repeat across the migration ($(head -1 <<<"$w" | cut -d' ' -f2-))"
	else
		ktap_fail "wire: SA $1: $(tr '\n' ' ' <<<"$w" | cut -c1-300)"
	fi
}
ctr_cont 0x1001
ctr_cont 0x2001

# ----------------------------------------- same SPI elsewhere: new SA or clone --
# no pending config; A->10.95.1.2 with SPI 0x1001: another key is plain ESP,
# the counter SA's key makes it the live SA's clone (shared counters)
ip -n "$NS_A" addr add 10.95.1.1/24 dev veth0
out=$("$IP" -n "$NS_A" xfrm state add src 10.95.1.1 dst 10.95.1.2 proto esp spi 0x1001 \
	reqid 9 mode tunnel $GCM "$KEYX" 128 $PLAIN 2>&1)
g=$(genl "$NS_A" get --daddr 10.95.1.2 --spi 0x1001 2>&1)
if [ -z "$out" ] && grep -q "status bound" <<<"$g" && ! grep -q " wesp \| counters " <<<"$g"; then
	ktap_ok "same SPI, other key, other address: a plain ESP SA (nothing inherited)"
else
	ktap_fail "same SPI, other key: [$out] $(cut -c1-160 <<<"$g")"
fi
ip -n "$NS_A" xfrm state delete src 10.95.1.1 dst 10.95.1.2 proto esp spi 0x1001 2>/dev/null
out=$("$IP" -n "$NS_A" xfrm state add src 10.95.1.1 dst 10.95.1.2 proto esp spi 0x1001 \
	reqid 9 mode tunnel $GCM "$KEY1" 128 $PLAIN 2>&1)
g=$(genl "$NS_A" get --daddr 10.95.1.2 --spi 0x1001 2>&1)
c=$(ctr_seqs "$NS_A" 10.95.1.2 0x1001)
if [ -z "$out" ] && grep -Eq "status bound.*$CTR_RE" <<<"$g" && [ "$c" = "$aA" ]; then
	ktap_ok "same SPI and key, other address: the live SA's config and counters ([$c])"
else
	ktap_fail "same SPI and key: [$out] $(cut -c1-160 <<<"$g") counters [$c] want [$aA]"
fi
ip -n "$NS_A" xfrm state delete src 10.95.1.1 dst 10.95.1.2 proto esp spi 0x1001 2>/dev/null
check "traffic after the extra SAs went away" xt_ping "$NS_A" "$(in_a 1 2)" 2

# ------------------------------------------------ a MIGRATE espx refuses --
# MOBIKE found a NAT: the daemon migrates the counter SA with XFRMA_ENCAP (ESP in UDP),
# which an extension SA cannot carry, so espx refuses the clone XFRM_MSG_MIGRATE builds;
# the migration fails (the core passes no extack to init_state: its own ENODATA) and the
# SA stays where it is and works. The
# core puts a clone whose init_state failed without marking it dead, and
# __xfrm_state_destroy() WARNs (6.1, 6.12): espx marks it dead first (dmesg point).
refused_migrate() {
	local out
	out=$(ip netns exec "$NS_A" $MIG --dir out --sel-src "$(in_a 1 1)/32" \
		--sel-dst "$(in_a 1 2)/32" --reqid 1 --old "$(o $NEW 1 1),$(o $NEW 1 2)" \
		--new "$(o $OLD 1 1),$(o $OLD 1 2)" --encap 4500,4500 2>&1)
	[[ $out == error* ]] || { echo "MIGRATE with encap: $out"; return 1; }
	states "$NS_A" | grep -qx "$(o $NEW 1 1) $(o $NEW 1 2) 0x00001001" ||
		{ echo "SA 0x1001 not at its address: $(states "$NS_A" | tr '\n' ' ')"; return 1; }
	xt_ping "$NS_A" "$(in_a 1 2)" 2
}
check "MIGRATE with encap on a counter SA: an error, the SA stays and works" refused_migrate

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
if [ "$BASE" = unknown ]; then
	ktap_skip "leaks: no debugfs espx/sa_objects"
else
	check "leaks: after a flush espx sa_objects is back to the baseline ($BASE)" wait_base
fi
xt_end
