#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Diet-ESP candidate resolution (diet-esp.md 6 step 1, issue #13 section 2):
#   1. the candidate index is per namespace and keyed by (destination,
#      spi-lsb, truncated SPI): 40 Diet SAs with spi-lsb 0 in 3 namespaces,
#      2 destinations each, 4 outbound SAs among them; one crafted packet
#      per inbound SA reaches that SA (none is hidden behind the others);
#      a 5th SA for one truncated SPI (address pair with spi-lsb 0) is
#      refused with a message, while another namespace holds 4 of its own;
#   2. a candidate whose SN rebuild fails does not end the walk: during a
#      rekey (old and new SA share their low 8 SPI bits, the new one has
#      received nothing) packets of the old SA whose SN is 0 mod 2^8 are
#      accepted (in N3, with fewer than 16 SAs of spi-lsb 0: the old
#      index's limit of 16 SPIs does not hide the pair there);
#   3. the cost of a forged packet against 4 candidates: one AEAD pass per
#      candidate at most (espx/diet_trials in debugfs counts the trial
#      decryptions; the last candidate's pass is xfrm_input()'s), a replayed
#      SN skips its candidate without a trial, nothing delivered, exact
#      counters (candidate retries, no-SA drops, ICV), no slab growth over a
#      flood.
# Packets are crafted by espx_pkt.py diet-craft (transport mode, sn-lsb 8)
# and sent from an injector namespace over one veth per target namespace.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

xt_begin "Diet-ESP needs espx"
xt_need "espx without Diet-ESP (no diet_proto parameter)" test -e /sys/module/espx/parameters/diet_proto
ktap_plan 11
grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null
TRIALS=/sys/kernel/debug/espx/diet_trials
trials() { cat "$TRIALS" 2>/dev/null || echo none; }
ktap_info "kernel $(uname -r), diet_proto $(cat /sys/module/espx/parameters/diet_proto)"

# ------------------------------------------------------------ topology --
# injector I, targets N1..N3; veth viN (I) <-> veth0 (Nn), MAC 02::0b in Nn
# local destinations 10.90.1.1 (D1), 10.90.2.1 (D2), 10.90.3.1 (D3)
NS_I=$(ns_new dci)
declare -a NS SLEEP
setup_ok=1
pending_hold
for i in 1 2 3; do
	NS[i]=$(ns_new "dc$i")
	ip link add "vi$i" netns "$NS_I" type veth peer name veth0 netns "${NS[i]}" || setup_ok=
	ip -n "$NS_I" link set "vi$i" address 02:00:00:00:00:0a up
	ip -n "${NS[i]}" link set veth0 address 02:00:00:00:00:0b up
	for d in 1 2 3; do
		ip -n "${NS[i]}" addr add "10.90.$d.1/32" dev veth0
	done
	ip -n "${NS[i]}" route add 10.91.0.0/16 dev veth0
	ip -n "${NS[i]}" route add 10.92.0.0/16 dev veth0
	ip netns exec "${NS[i]}" sleep 100000 &
	SLEEP[i]=$!
	XT_PIDS+=("${SLEEP[i]}")
done

# SA table: NS SPI SRC DST SPI-LSB DIR; keys differ per namespace and SA
SAS=()
sa() { SAS+=("$*"); }
key() { printf '0x%02x%06x%032x' "$1" "$(($2 & 0xffffff))" 0x5a5b5c5d; }
# N1: 2 SAs for each of 4 sources at D1 and at D2, then 4 outbound SAs
# (newest): 20 SAs with spi-lsb 0 in one namespace
for d in 1 2; do
	for s in 1 2 3 4; do
		for t in 1 2; do
			sa 1 "0x1$d$s$t" "10.91.0.$s" "10.90.$d.1" 0 in
		done
	done
done
for o in 1 2 3 4; do
	sa 1 "0x19${o}0" 10.90.1.1 "10.92.0.$o" 0 out
done
# N2 and N3, the same SPIs and addresses: 4 SAs for one address pair at D1,
# 2 for each of 3 sources at D2
for i in 2 3; do
	for t in 1 2 3 4; do
		sa "$i" "0x210$t" 10.91.0.1 10.90.1.1 0 in
	done
	for s in 1 2 3; do
		for t in 1 2; do
			sa "$i" "0x22$s$t" "10.91.0.$s" 10.90.2.1 0 in
		done
	done
done
NIDX=${#SAS[@]}
# rekey overlap in N3 at D3 (spi-lsb 8): old 0x10ab, then new 0x20ab
sa 3 0x10ab 10.91.0.9 10.90.3.1 8 in
sa 3 0x20ab 10.91.0.9 10.90.3.1 8 in
# 4 candidates in N2 at D3 (spi-lsb 8): 0x1cd oldest ... 0x4cd newest
for t in 1 2 3 4; do
	sa 2 "0x${t}cd" 10.91.0.9 10.90.3.1 8 in
done

declare -A SPEC
# spec IDX: the diet-craft / diet-set spec of SAS[IDX]
for idx in "${!SAS[@]}"; do
	read -r n spi src dst k dir <<<"${SAS[idx]}"
	SPEC[$n.$spi.$dst]="spi=$spi,alg=gcm,key=$(key "$n" "$spi"),icv=16,spil=$k,snl=8,trailer=opt,iipc=0"
	SPEC[$n.$spi.$dst]+=",mode=transport,outer=4,osrc=$src,odst=$dst,w=32"
done
for i in 1 2 3; do
	specs=() batch=
	for idx in "${!SAS[@]}"; do
		read -r n spi src dst k dir <<<"${SAS[idx]}"
		[ "$n" = "$i" ] || continue
		specs+=(--sa "${SPEC[$n.$spi.$dst]}")
		batch+="xfrm state add src $src dst $dst proto esp spi $spi reqid 1 mode transport"
		batch+=" aead rfc4106(gcm(aes)) $(key "$n" "$spi") 128 replay-window 32"$'\n'
	done
	out=$(ip netns exec "${NS[i]}" $XT_PKT diet-set "${specs[@]}" 2>&1) ||
		{ setup_ok=; ktap_info "diet-set N$i: $(grep -v '^ok' <<<"$out" | head -3 | tr '\n' ' ')"; }
	# one SA per ip call: the order of creation is the order of the table
	while read -r line; do
		[ -n "$line" ] || continue
		# shellcheck disable=SC2086
		o=$(ip -n "${NS[i]}" $line 2>&1) || { setup_ok=; ktap_info "N$i: $line: $o"; }
	done <<<"$batch"
done
nsa=0
for i in 1 2 3; do
	nsa=$((nsa + $(ip -n "${NS[i]}" xfrm state list | grep -c '^src')))
done
if [ -n "$setup_ok" ] && [ "$nsa" = "${#SAS[@]}" ]; then
	ktap_ok "setup: $NIDX Diet SAs with spi-lsb 0 in 3 namespaces (20 in N1, 4 of them outbound), $((nsa - NIDX)) more with spi-lsb 8 ($(xt_since "$T0") s)"
else
	ktap_fail "setup: $nsa of ${#SAS[@]} SAs"
fi

touch "$XT_TMP/app.log"
xt_serve_start "$NS_I" "${SLEEP[2]}" "$XT_TMP/app.log" 2 || ktap_info "espx_pkt.py serve: $XT_PKOUT"
# snap N: ST = espx counters of namespace Nn ("NAME VALUE" lines)
snap() { xt_pk espx-stats --pid "${SLEEP[$1]}"; ST=$XT_PKOUT; }
stat() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' <<<"$1"; }
sum() { awk -v re="$2" '$1 ~ re { s += $2 } END { print s + 0 }' <<<"$1"; }
# craft SPECKEY ARGS...: diet-craft into $XT_TMP/c.pcap (--append to add)
craft() {
	local k=$1
	shift
	xt_pk diet-craft "$XT_TMP/c.pcap" --sa "${SPEC[$k]}" --dport 9 "$@"
	[[ $XT_PKOUT != *error* ]] || { ktap_info "diet-craft: $XT_PKOUT"; return 1; }
}
# settle N REGEX WANT: wait (10 s at most) until the counters of Nn whose
# names match REGEX sum to WANT; ST holds the last snapshot
settle() {
	local end=$((SECONDS + 8))
	while :; do
		snap "$1"
		[ "$(sum "$ST" "$2")" -ge "$3" ] && break
		[ $SECONDS -lt $end ] || return 0
		sleep 0.2
	done
	sleep 0.3
	snap "$1"
}

# ------------------------------------------- 1: the per-namespace index --
t=$(xt_now)
for i in 1 2 3; do
	rm -f "$XT_TMP/c.pcap"
	nin=0
	for idx in $(seq 0 $((NIDX - 1))); do
		read -r n spi src dst k dir <<<"${SAS[idx]}"
		[ "$n" = "$i" ] && [ "$dir" = in ] || continue
		craft "$n.$spi.$dst" --sn 1 --append --tag "dc$i" || true
		nin=$((nin + 1))
	done
	xt_pk send --dev "vi$i" "$XT_TMP/c.pcap"
	NIN[i]=$nin
done
why=
for i in 1 2 3; do
	settle "$i" ':in_packets$|^espxns:|:in_drop_' "${NIN[i]}"
	for idx in $(seq 0 $((NIDX - 1))); do
		read -r n spi src dst k dir <<<"${SAS[idx]}"
		[ "$n" = "$i" ] || continue
		want=1
		[ "$dir" = out ] && want=0
		got=$(stat "$ST" "espx:$spi:in_packets")
		[ "$got" = $want ] || why+=" N$i $spi ($src > $dst, $dir): in $got;"
	done
	d=$(awk '($1 ~ /^espxns:/ || $1 ~ /:in_drop_/) && $2 != 0 { printf " %s=%s", $1, $2 }' <<<"$ST")
	[ -z "$d" ] || why+=" N$i drops:$d;"
done
if [ -z "$why" ]; then
	ktap_ok "index: each of the $((NIN[1] + NIN[2] + NIN[3])) inbound SAs got its packet, outbound SAs none, no drop ($(xt_since "$t") s)"
else
	ktap_fail "index:$why"
fi
# a 5th SA for the pair 10.91.0.1 > 10.90.1.1 in N2 (N3 holds 4 of its own)
out=$(ip netns exec "${NS[2]}" $XT_PKT diet-set --sa "${SPEC[2.0x2101.10.90.1.1]/0x2101/0x2105}" 2>&1 &&
	ip -n "${NS[2]}" xfrm state add src 10.91.0.1 dst 10.90.1.1 proto esp spi 0x2105 reqid 1 \
		mode transport aead 'rfc4106(gcm(aes))' "$(key 2 0x2105)" 128 replay-window 32 2>&1)
rc=$?
left=$(ip -n "${NS[2]}" xfrm state list | grep -c 'spi 0x00002105')
if [ $rc != 0 ] && grep -qi 'already share' <<<"$out" && [ "$left" = 0 ]; then
	ktap_ok "index: a 5th SA for one address pair (spi-lsb 0) refused: $(tr '\n' ' ' <<<"$out" | cut -c1-80)"
else
	ktap_fail "index: 5th SA for one address pair: rc $rc, left $left: $(tr '\n' ' ' <<<"$out" | cut -c1-120)"
fi

# ------------------------------------------------- 2: rekey overlap --
t=$(xt_now)
SNS=1,2,100,200,255,256,257,300,400,511,512,513,600,700,768,769
NSNS=16
snap 3
s0=$ST
craft 3.0x10ab.10.90.3.1 --sns $SNS --tag dc-old
xt_pk send --dev vi3 "$XT_TMP/c.pcap"
settle 3 '^espx:0x(10|20)ab:(in_packets|in_drop_.*)$|^espxns:' $(( $(sum "$s0" '^espx:0x(10|20)ab:(in_packets|in_drop_.*)$|^espxns:') + NSNS ))
old=$(( $(stat "$ST" espx:0x10ab:in_packets) - $(stat "$s0" espx:0x10ab:in_packets) ))
drops=$(( $(sum "$ST" '^espx:0x(10|20)ab:in_drop_|^espxns:') - $(sum "$s0" '^espx:0x(10|20)ab:in_drop_|^espxns:') ))
new=$(( $(stat "$ST" espx:0x20ab:in_packets) - $(stat "$s0" espx:0x20ab:in_packets) ))
sn=$(( $(stat "$ST" espx:0x20ab:in_drop_diet_sn) - $(stat "$s0" espx:0x20ab:in_drop_diet_sn) ))
if [ "$old" = $NSNS ] && [ "$drops" = 0 ] && [ "$new" = 0 ]; then
	ktap_ok "rekey: $NSNS packets of the old SA (SNs 256, 512, 768 among them) accepted past the fresh new SA"
else
	ktap_fail "rekey: old SA accepted $old of $NSNS (SNs $SNS), new SA $new, drops $drops (new SA diet-sn $sn)"
fi
s0=$ST
craft 3.0x20ab.10.90.3.1 --sns 1,2 --tag dc-new
xt_pk send --dev vi3 "$XT_TMP/c.pcap"
settle 3 '^espx:0x20ab:in_packets$' $(( $(stat "$s0" espx:0x20ab:in_packets) + 2 ))
new=$(( $(stat "$ST" espx:0x20ab:in_packets) - $(stat "$s0" espx:0x20ab:in_packets) ))
drops=$(( $(sum "$ST" '^espx:0x(10|20)ab:in_drop_|^espxns:') - $(sum "$s0" '^espx:0x(10|20)ab:in_drop_|^espxns:') ))
if [ "$new" = 2 ] && [ "$drops" = 0 ]; then
	ktap_ok "rekey: then the new SA's own SNs 1 and 2 accepted"
else
	ktap_fail "rekey: new SA accepted $new of 2, drops $drops"
fi
ktap_info "rekey: $(xt_since "$t") s"
t=$(xt_now)

# ------------------------------------ 3: cost of a forged packet --
# inject FILE WANT: send into N2, wait for WANT verdicts there (per-SA
# in_packets and drops, netns drops); XT_DELTA = the counter deltas of N2
VERD='^espx:.*:(in_packets|in_drop_.*)$|^espxns:'
inject() {
	local s0 k
	snap 2
	s0=$ST
	xt_pk send --dev vi2 "$1"
	settle 2 "$VERD" $(( $(sum "$s0" "$VERD") + $2 ))
	XT_D=$(awk 'NR == FNR { a[$1] = $2; next } $2 != a[$1] { printf " %s+%d", $1, $2 - a[$1] }' \
		<(echo "$s0") <(echo "$ST"))
	XT_DELTA=()
	for k in $XT_D; do
		XT_DELTA[${k%+*}]=${k##*+}
	done
}
d() { echo "${XT_DELTA[$1]:-0}"; }
# tdelta BEFORE: trial decryptions since BEFORE (none: no debugfs counter)
tdelta() {
	local a
	a=$(trials)
	if [ "$a" = none ] || [ "$1" = none ]; then echo none; else echo $((a - $1)); fi
}
# the candidates' retries (newest first), the oldest's ICV drops, no-SA drops
cand() {
	echo "retry $(d espx:0x4cd:in_diet_candidate_retry)/$(d espx:0x3cd:in_diet_candidate_retry)/$(d espx:0x2cd:in_diet_candidate_retry)/$(d espx:0x1cd:in_diet_candidate_retry)" \
		"icv $(d espx:0x1cd:in_drop_icv) nosa $(d espxns:diet_no_sa) trials $TR"
}
F=20
tr0=$(trials)
craft 2.0x1cd.10.90.3.1 --sn 1 --count $F --flip-icv --tag dc-forged
inject "$XT_TMP/c.pcap" $F
xt_dsum "^espx:.*:in_drop_|^espxns:"; drops=$XT_DSUM
xt_dsum ":in_packets$"; pk=$XT_DSUM
TR=$(tdelta "$tr0")
c=$(cand)
if [ "$c" = "retry $F/$F/$F/0 icv $F nosa 0 trials $((3 * F))" ] && [ "$drops" = $F ] && [ "$pk" = 0 ]; then
	ktap_ok "forged: $F bad-ICV packets against 4 candidates: 3 trials + the last one's own pass each, counted [$c]"
else
	ktap_fail "forged: want retry $F/$F/$F/0 icv $F nosa 0 trials $((3 * F)), drops $F, in 0: [$c] drops $drops in $pk [$XT_D]"
fi
tr0=$(trials)
craft 2.0x1cd.10.90.3.1 --sns 256,512,768,1024,1280 --tag dc-sn0
inject "$XT_TMP/c.pcap" 5
xt_dsum "^espx:.*:in_drop_"; sadrops=$XT_DSUM
xt_dsum ":in_packets$"; pk=$XT_DSUM
TR=$(tdelta "$tr0")
c=$(cand)
if [ "$c" = "retry 5/5/5/0 icv 0 nosa 5 trials 0" ] && [ "$sadrops" = 0 ] && [ "$pk" = 0 ]; then
	ktap_ok "forged: 5 packets whose SN bits rebuild 0 on every candidate: walked through, no trial, counted against no SA [$c]"
else
	ktap_fail "forged: SN bits 0 on 4 candidates: want retry 5/5/5/0 nosa 5 trials 0, no per-SA drop: [$c] per-SA drops $sadrops in $pk [$XT_D]"
fi
# a valid packet of 0x2cd, then the same again: 0x2cd's window says
# replayed, so it is skipped without a trial; the last candidate's pass fails
craft 2.0x2cd.10.90.3.1 --sn 5 --tag dc-replay
tr0=$(trials)
inject "$XT_TMP/c.pcap" 1
TR1=$(tdelta "$tr0")
ok1=$(d espx:0x2cd:in_packets)
tr0=$(trials)
inject "$XT_TMP/c.pcap" 1
TR=$(tdelta "$tr0")
xt_dsum ":in_packets$"; pk=$XT_DSUM
c=$(cand)
if [ "$ok1" = 1 ] && [ "$TR1" = 3 ] && [ "$c" = "retry 1/1/1/0 icv 1 nosa 0 trials 2" ] && [ "$pk" = 0 ]; then
	ktap_ok "forged: a replayed packet of the 3rd candidate: skipped without a trial (2 trials, not 3) [$c]"
else
	ktap_fail "forged: replay: first copy in $ok1 after $TR1 trials (want 1, 3); again: want retry 1/1/1/0 icv 1 nosa 0 trials 2: [$c] in $pk"
fi
# a flood
FLOOD=1000
craft 2.0x1cd.10.90.3.1 --sn 100 --flip-icv --copies $FLOOD --tag dc-flood
SLABRE='^(skbuff_head_cache|skbuff_fclone_cache|kmalloc-(cg-|rnd-[0-9]+-)?(64|128|192|256|512|1k|2k|4k|8k))$'
slab0=$(xt_slab "$SLABRE")
tr0=$(trials)
inject "$XT_TMP/c.pcap" $FLOOD
sleep 1
slab1=$(xt_slab "$SLABRE")
TR=$(tdelta "$tr0")
xt_dsum ":in_packets$"; pk=$XT_DSUM
c=$(cand)
ktap_info "forged: $(xt_since "$t") s"
ktap_info "flood: $FLOOD packets: [$c], slab objects $slab0 -> $slab1"
if [ "$c" = "retry $FLOOD/$FLOOD/$FLOOD/0 icv $FLOOD nosa 0 trials $((3 * FLOOD))" ] && [ "$pk" = 0 ] &&
	[ $((slab1 - slab0)) -lt 300 ]; then
	ktap_ok "forged: a flood of $FLOOD: $((3 * FLOOD)) trials, $FLOOD ICV drops, nothing delivered, slab $slab0 -> $slab1"
else
	ktap_fail "forged: flood of $FLOOD: [$c] in $pk, slab $slab0 -> $slab1"
fi
out=$(ip netns exec "${NS[2]}" $XT_PKT diet-set --sa "${SPEC[2.0x1cd.10.90.3.1]/0x1cd/0x5cd}" 2>&1 &&
	ip -n "${NS[2]}" xfrm state add src 10.91.0.9 dst 10.90.3.1 proto esp spi 0x5cd reqid 1 \
		mode transport aead 'rfc4106(gcm(aes))' "$(key 2 0x5cd)" 128 replay-window 32 2>&1)
rc=$?
left=$(ip -n "${NS[2]}" xfrm state list | grep -c 'spi 0x000005cd')
if [ $rc != 0 ] && grep -qi 'already share' <<<"$out" && [ "$left" = 0 ]; then
	ktap_ok "config: a 5th SA sharing the truncated SPI 0xcd at 10.90.3.1 refused"
else
	ktap_fail "config: 5th SA sharing 0xcd: rc $rc, left $left: $(tr '\n' ' ' <<<"$out" | cut -c1-120)"
fi

xt_end
