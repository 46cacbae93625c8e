#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Diet-ESP (diet-esp.md, issue #6) through espx SAs:
#   1. traffic: tunnel, transport and BEET, IPv4/IPv6 inner and outer, UDP
#      (echo) and TCP (bulk), spi-lsb/sn-lsb from 0/8 to 32/32 (0 SPI bits:
#      the SA is found by its addresses; 32/32: IP protocol 50), trailer
#      mandatory/optional, inner compress/keep, iiv, AES-GCM and
#      ChaCha20-Poly1305;
#   2. the wire: every captured frame decoded in python (espx_pkt.py
#      diet-check): outer protocol (diet_proto or 50), EEC octets = the low
#      bits of SPI and SN, IV = be64(SN), ICV over the full SPI/SN, the
#      inner packet rebuilt in the selector with valid checksums, python's
#      compressor gives the same octets, size = plain ESP - the saving of the
#      spec's tables; three sizes checked against values computed by hand;
#   3. two SAs whose SPIs share their low bits (and, with 0 SPI bits, their
#      address pair) to one destination: both flows work, resolved by ICV,
#      retries counted on the newer SA only;
#   4. SN rebuild across 2^sn-lsb wraps: real traffic under netem loss and
#      reordering, and a crafted sequence (losses, reordering, 3 wraps) that
#      must all be accepted, then stale/too-far/replayed SNs that must not;
#   5. malformed and forged packets (diet-esp.md 9): too short, no SA, every
#      candidate failing its ICV, SN 0, protocol 50 vs diet_proto, Pad
#      Length / Next Header, residue short or with pad bits, DSCP index,
#      IPv4 IHL, TCP data offset: dropped, counted by reason (exact deltas),
#      a flood of them grows no slab, no splat;
#   6. configuration: a 5th SA sharing a truncated SPI refused (-EEXIST),
#      rules the kernel must refuse.
# SA configs are made over netlink by espx_pkt.py diet-set (ESPX_CMD_SA_SET +
# ESPX_A_DIET) before the SAs themselves, so the test does not depend on the
# ip grammar; their selectors carry the protocol/ports IIPC uses.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

[ "$IP" = ip ] || XT_IP=$IP
xt_begin "Diet-ESP needs espx"
xt_need "espx without Diet-ESP (no diet_proto parameter)" test -e /sys/module/espx/parameters/diet_proto
DPROTO=$(cat /sys/module/espx/parameters/diet_proto)
xt_genl_find

# ---------------------------------------------------------------- cases --
# dcase ALG MODE OF IF SPIL SNL OPTS UP_AB UP_BA [LABEL]: a Diet-ESP case.
# OPTS: diet-check keys (trailer=, iipc=, dscp=, dscpl=, ecn=, fl=, align=,
# iiv=); UP_*: the selector's upper-layer part, "proto,udp,dport,7000".
declare -A DOPT DUP
dcase() {
	local alg=$1 mode=$2 of=$3 if=$4 spil=$5 snl=$6 opts=$7 ab=$8 ba=$9 label
	label="$alg $mode $(xt_famname "$of" "$if") spi-lsb $spil sn-lsb $snl $opts${ab:+ $ab}${10:+ ${10}}"
	xt_case "$alg" "$mode" "$of" "$if" "$label" "" "${ab:+up=$ab}" "${ba:+up=$ba}"
	DOPT[$XT_N]="spil=$spil,snl=$snl,$opts"
	DUP[$XT_N.1]=$(up_spec "$ab") DUP[$XT_N.2]=$(up_spec "$ba")
}
up_spec() {	# "proto,udp,dport,7000" -> "proto=17,dport=7000"
	local w s="proto=0" IFS=,
	read -ra w <<<"$1"
	set -- "${w[@]}"
	while [ $# -gt 0 ]; do
		case $1 in
		proto) s="proto=$(case $2 in udp) echo 17 ;; tcp) echo 6 ;; *) echo "$2" ;; esac)" ;;
		sport|dport) s+=",$1=$2" ;;
		esac
		shift 2
	done
	echo "$s"
}
U7="proto,udp,dport,7000" R7="proto,udp,sport,7000"
U1="proto,udp,dport,7001" R1="proto,udp,sport,7001"
OPT_A="trailer=opt,iipc=1,dscp=sa,dscpl=0,ecn=lower,fl=lower,iiv=1"
dcase gcm128-16 tunnel 6 6 0 16 "$OPT_A" $U7 $R7 "(8 A)";			C_A=$XT_N
dcase gcm128-16 tunnel 6 6 16 16 "trailer=opt,iipc=1,dscp=sent,ecn=lower,fl=lower" "" "" "(8 B)"
C_B=$XT_N
dcase gcm128-16 tunnel 4 4 8 8 "trailer=mand,iipc=1,align=32" $U7 $R7
dcase chacha tunnel 6 4 4 12 "trailer=opt,iipc=1,dscp=lower,ecn=lower,fl=lower" $U7 $R7
dcase gcm128-16 tunnel 4 6 24 16 "trailer=opt,iipc=1,fl=zero,align=16" $U7 $R7
dcase gcm128-16 transport 4 4 8 16 "trailer=opt,iipc=1" $U7 $R7
dcase gcm128-16 transport 6 6 0 8 "trailer=mand,iipc=0,align=64" $U7 $R7
dcase gcm128-16 transport 4 4 32 32 "trailer=opt,iipc=1" $U7 $R7 "(protocol 50)"; C_50=$XT_N
dcase gcm128-16 beet 4 4 16 8 "trailer=opt,iipc=1" $U7 $R7
dcase chacha beet 6 6 8 24 "trailer=mand,iipc=1,iiv=1" "" ""
dcase gcm128-16 beet 6 4 2 6 "trailer=opt,iipc=1" $U7 $R7
dcase gcm128-16 beet 4 6 8 16 "trailer=opt,iipc=1,align=64" $U7 $R7
dcase gcm128-16 tunnel 4 4 16 16 "trailer=opt,iipc=1,dscp=lower,ecn=lower" "" "" "(TCP too)"
C_T4=$XT_N
dcase gcm128-16 transport 6 6 8 16 "trailer=opt,iipc=1" proto,tcp proto,tcp "(TCP only)"
C_T6=$XT_N
dcase gcm128-16 tunnel 4 4 8 8 "trailer=opt,iipc=1" $U7 $R7 "(shared SPI bits)";	C_S8=$XT_N
dcase gcm128-16 tunnel 6 6 0 16 "trailer=opt,iipc=1" $U7 $R7 "(shared address pair)"
C_S0=$XT_N
NTRAFFIC=$XT_N
dcase gcm128-16 transport 4 4 2 6 "trailer=opt,iipc=1" $U1 $R1 "(netem)";	C_WR=$XT_N
dcase gcm128-16 tunnel 4 4 8 8 "trailer=mand,iipc=1,dscp=sa,dscpl=0/10/46,ecn=lower,fl=sent" "" "" \
	"(inject)";								C_J=$XT_N
dcase gcm128-16 transport 4 4 2 6 "trailer=opt,iipc=1" $U1 $R1 "(inject SN)";	C_JW=$XT_N
TWINS="$C_S8 $C_S0"
TWINKEY=0x5a5b5c5d5e5f606162636465666768696a6b6c6d

# the malformed table: CASE VERDICT COUNTER ; DESCRIPTION ; diet-craft ARGS
# VERDICT sa (espx counter of the case's A->B SA; the /proc/net/xfrm_stat one
# after a colon, XfrmInStateProtoError without), ns (netns counter, with
# the /proc/net/xfrm_stat one after the colon); each row injects 2 packets
# with fresh SNs
MALFORMED=$(cat <<'EOF'
J ns diet_truncated:XfrmInHdrError ; nothing after the IP header ; --truncate 0
J sa in_drop_truncated:XfrmInHdrError ; 3 octets: EEC, no room for IV + ICV (its SA found) ; --truncate 3
J sa in_drop_truncated:XfrmInHdrError ; 25 octets: one short of EEC + IV + ICV (its SA found) ; --truncate 25
J ns diet_no_sa:XfrmInNoStates ; truncated SPI 0xee names no SA ; --spi 0xee
J sa in_drop_diet_proto ; full ESP header as IP protocol 50 for a truncated SA (valid ICV) ; --full-esp --proto 50
50 sa in_drop_diet_proto ; diet_proto packet for a 32/32 SA (valid ICV) ; --proto DPROTO
J sa in_drop_icv ; ICV flipped ; --flip-icv
J sa in_drop_diet_residue ; IIPC output cut to 5 octets: residue short (valid ICV) ; --cut 5
J sa in_drop_diet_residue ; nothing but the trailer (valid ICV) ; --cut 0
J sa in_drop_diet_residue ; residue pad bits not zero (valid ICV) ; --pad 1
J sa in_drop_diet_dscp ; DSCP index 3 with 3 values (valid ICV) ; --dscp-index 3
J sa in_drop_diet_length ; inner IPv4 IHL 6 (valid ICV) ; --ihl 6
J sa in_drop_diet_length ; TCP data offset 15 past the segment (valid ICV) ; --tcp 5 --tcp-off 15
J sa in_drop_diet_length ; TCP data offset 4 (valid ICV) ; --tcp 5 --tcp-off 4
J sa in_drop_diet_trailer ; Next Header 17, the tunnel SA implies 4 (valid ICV) ; --nh 17
J sa in_drop_diet_trailer ; Pad Length 200 past the plaintext (valid ICV) ; --padlen 200
EOF
)
NMAL=$(wc -l <<<"$MALFORMED")
NCONF=6

# vectors, setup, 2 per traffic case, 3 sizes, 2 twins, no drops, ip -s, 2 netem,
# 5 SN sequences, malformed (+ SN 0 and 2 untouched), 2 drop reasons,
# 2 candidates, 2 flood, config, dmesg
ktap_plan $((1 + 1 + 2 * NTRAFFIC + 3 + 2 + 1 + 1 + 2 + 5 + NMAL + 3 + 2 + 2 + 2 + NCONF + 1))
ktap_info "kernel $(uname -r), diet_proto $DPROTO, $XT_N cases ($NTRAFFIC with traffic)"

# ------------------------------------------------------------- vectors --
out=$($XT_PKT diet-vectors 2>&1)
if [ $? = 0 ]; then
	ktap_ok "espx_pkt.py reproduces diet-esp.md 8 A and B octet for octet (+ SN rebuild, shapes)"
else
	ktap_fail "espx_pkt.py reproduces diet-esp.md 8 A and B"
	grep -v '^ok' <<<"$out" | sed 's/^/#   /'
fi

# ---------------------------------------------------------------- specs --
declare -A XKEY DSPEC
while read -r n d k; do
	XKEY[$n.$d]=$k
done < <(xt_case_lines | awk -v what=key "$XT_GEN")
# spec n DIR [SPI KEY INNER_SRC INNER_DST]: DSPEC[n.DIR] (or SPEC for a twin)
spec() {
	local n=$1 d=$2 s=A r=B alg=gcm spi key src dst
	[ "$d" = 2 ] && s=B r=A
	spi=${3:-$(xt_spi "$n" "$d")} key=${4:-${XKEY[$n.$d]}}
	[ "${XT_ALG[n]}" = chacha ] && alg=chacha
	SPEC="spi=$spi,alg=$alg,key=$key,icv=16,${DOPT[$n]},${DUP[$n.$d]},mode=${XT_MODE[n]}"
	SPEC+=",outer=${XT_OF[n]},inner=${XT_IF[n]},w=32"
	SPEC+=",osrc=$(xt_addr "$n" $s outer "${XT_OF[n]}"),odst=$(xt_addr "$n" $r outer "${XT_OF[n]}")"
	if [ "${XT_MODE[n]}" != transport ]; then
		src=${5:-$(xt_addr "$n" $s inner "${XT_IF[n]}")} dst=${6:-$(xt_addr "$n" $r inner "${XT_IF[n]}")}
		local pl=32
		[ "${XT_IF[n]}" = 6 ] && pl=128
		SPEC+=",src=$src/$pl,dst=$dst/$pl"
	fi
	[ -n "${3:-}" ] || DSPEC[$n.$d]=$SPEC
}
for n in $(seq 1 $XT_N); do
	spec "$n" 1
	spec "$n" 2
done
# twins: a second flow over the same outer address pair, inner 10.96.n.x /
# fd00:96:n::x, SPIs 0x3000 + n / 0x4000 + n (low 8 bits = the case's)
twin_addr() {	# twin_addr n A|B
	local h=1
	[ "$2" = B ] && h=2
	if [ "${XT_IF[$1]}" = 4 ]; then echo "10.96.$1.$h"; else echo "fd00:96:$1::$h"; fi
}
declare -A TSPEC
for n in $TWINS; do
	spec "$n" 1 "$(printf 0x%x $((0x3000 + n)))" $TWINKEY "$(twin_addr "$n" A)" "$(twin_addr "$n" B)"
	TSPEC[$n.1]=$SPEC
	spec "$n" 2 "$(printf 0x%x $((0x4000 + n)))" $TWINKEY "$(twin_addr "$n" B)" "$(twin_addr "$n" A)"
	TSPEC[$n.2]=$SPEC
done

# twin_lines n SIDE: the ip batch of a twin flow (after the case's own SAs:
# the twin SAs are the newer candidates)
twin_lines() {
	local n=$1 side=$2 peer=B pl=32 f=${XT_IF[$1]} o a k dir s d spi
	[ "$side" = B ] && peer=A
	[ "$f" = 6 ] && pl=128
	a=$(twin_addr "$n" "$side")
	if [ "$f" = 4 ]; then echo "addr add $a/32 dev lo"; else echo "addr add $a/128 dev lo nodad"; fi
	echo "route add $(twin_addr "$n" $peer)/$pl dev veth0 src $a"
	for dir in 1 2; do
		s=A d=B spi=$((0x3000 + n)) o=${DUP[$n.1]}
		[ $dir = 2 ] && s=B d=A spi=$((0x4000 + n)) o=${DUP[$n.2]}
		up=$(sed 's/proto=17/proto udp/; s/,/ /g; s/=/ /g; s/proto 0//' <<<"$o")
		printf 'xfrm state add src %s dst %s proto esp spi 0x%x reqid %d mode tunnel aead rfc4106(gcm(aes)) %s 128 replay-window 32 sel src %s/%d dst %s/%d %s\n' \
			"$(xt_addr "$n" $s outer "${XT_OF[n]}")" "$(xt_addr "$n" $d outer "${XT_OF[n]}")" \
			$spi $((100 + n)) $TWINKEY "$(twin_addr "$n" $s)" $pl "$(twin_addr "$n" $d)" $pl "$up"
	done
	for dir in out in; do
		s=$side d=$peer
		[ $dir = in ] && s=$peer d=$side
		echo "xfrm policy add src $(twin_addr "$n" $s)/$pl dst $(twin_addr "$n" $d)/$pl dir $dir" \
			"tmpl src $(xt_addr "$n" $s outer "${XT_OF[n]}") dst $(xt_addr "$n" $d outer "${XT_OF[n]}")" \
			"proto esp reqid $((100 + n)) mode tunnel"
	done
}

# --------------------------------------------------------------- setup --
t=$(xt_now)
setup_ok=1
pending_hold
xt_topology || setup_ok=
specs=()
for n in $(seq 1 $XT_N); do
	specs+=(--sa "${DSPEC[$n.1]}" --sa "${DSPEC[$n.2]}")
done
for n in $TWINS; do
	specs+=(--sa "${TSPEC[$n.1]}" --sa "${TSPEC[$n.2]}")
done
for ns in "$NS_A" "$NS_B"; do
	out=$(ip netns exec "$ns" $XT_PKT diet-set "${specs[@]}" 2>&1) ||
		{ setup_ok=; ktap_info "diet-set: $(grep -v '^ok' <<<"$out" | head -3 | tr '\n' ' ')"; }
done
if [ -z "$setup_ok" ] || ! xt_setup || ! xt_servers; then
	ktap_fail "topology, Diet configs, SAs and servers"
	ktap_finish
fi
for side in A B; do
	ns=$NS_A
	[ $side = B ] && ns=$NS_B
	for n in $TWINS; do
		twin_lines "$n" $side
	done >"$XT_TMP/twins.$side"
	out=$(ip -n "$ns" -batch "$XT_TMP/twins.$side" 2>&1) || { setup_ok=; ktap_info "twins $side: $out"; }
done
bad=
for n in $(seq 1 $XT_N); do
	[ -n "${XT_BAD[n]}" ] && { bad+=" $n"; ktap_info "case $n (${XT_LABEL[n]}): ${XT_BAD[n]}"; }
done
nsa=$(ip -n "$NS_B" xfrm state list | grep -c '^src')
want=$((2 * XT_N + 4))
if [ -z "$bad" ] && [ -n "$setup_ok" ] && [ "$nsa" = $want ]; then
	ktap_ok "setup: $XT_N Diet cases + 2 twin flows, $nsa SAs per namespace ($(xt_since "$t") s)"
else
	ktap_fail "setup: $nsa of $want SAs in B, bad cases:$bad"
fi

# one espx_pkt.py for the rest of the test (python starts slowly under TCG):
# it crafts and injects into B from A and reports B's counter deltas
xt_serve_start "$NS_A" "$XT_ECHO_PID_B" "$XT_TMP/udpB.rx" 8 || ktap_info "espx_pkt.py serve: $XT_PKOUT"
# stats NS: ST = espx's counters of NS, "NAME VALUE" lines; stat STATS KEY
stats() {
	local pid=$XT_ECHO_PID_A
	[ "$1" = "$NS_B" ] && pid=$XT_ECHO_PID_B
	xt_pk espx-stats --pid "$pid"
	ST=$XT_PKOUT
}
stat() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' <<<"$1"; }
# sum STATS REGEX: sum of the counters whose name matches
sum() { awk -v re="$2" '$1 ~ re { s += $2 } END { print s + 0 }' <<<"$1"; }

# ------------------------------------------------------- 1 + 2: traffic --
t=$(xt_now)
xt_tcpdump "$NS_A" captraffic "$XT_TMP/traffic.pcap" 0 ip proto "$DPROTO" or ip6 proto "$DPROTO" or esp
CAP=$XT_LASTPID
dsts=()
for n in $(seq 1 $NTRAFFIC); do
	[ -n "${XT_BAD[n]}" ] || [ "$n" = "$C_T6" ] || dsts+=("${XT_DST[n]}")
done
for n in $TWINS; do
	dsts+=("$(twin_addr "$n" B)")
done
declare -A RES
# every echo once with its usual datagram, once with 10 octets (the sizes
# computed by hand below)
while read -r r d; do
	RES[$d]=$r
done < <(xt_udp "$NS_A" "${dsts[@]}")
while read -r r d; do
	[ "$r" = ok ] || RES[$d]="$r (10 octets)"
done < <(xt_udp "$NS_A" --len 10 "${dsts[@]}")
sleep 0.5
xt_stop "$CAP"
ktap_info "UDP traffic: $(xt_since "$t") s"
# TCP: C_T4 (tunnel, protocol any) and C_T6 (transport, protocol tcp)
declare -A TCPRES
for n in $C_T4 $C_T6; do
	t=$(xt_now)
	xt_tcpdump "$NS_A" captcp$n "$XT_TMP/tcp$n.pcap" 0 -c 60 host "$(xt_addr "$n" B outer "${XT_OF[n]}")"
	c=$XT_LASTPID
	if out=$(xt_tcp "$NS_B" "${XT_DST[n]}" "$NS_A" 1 2>&1); then
		TCPRES[$n]="ok ($(xt_since "$t") s)"
	else
		TCPRES[$n]="fail: $out"
	fi
	sleep 0.5
	xt_stop "$c"
done
t=$(xt_now)
declare -A SA_A SA_B
xt_sa_load "$NS_A" SA_A
xt_sa_load "$NS_B" SA_B
specs=()
for n in $(seq 1 $NTRAFFIC); do
	specs+=(--sa "${DSPEC[$n.1]}" --sa "${DSPEC[$n.2]}")
done
for n in $TWINS; do
	specs+=(--sa "${TSPEC[$n.1]}" --sa "${TSPEC[$n.2]}")
done
declare -A WIRE
# the UDP frames, then the TCP ones (a UDP echo of C_T4 came first)
xt_pk diet-check "$XT_TMP/traffic.pcap" "$XT_TMP/tcp$C_T4.pcap" "$XT_TMP/tcp$C_T6.pcap" \
	--port $XT_ECHO_PORT --tag espx --probe-len 10 "${specs[@]}"
while read -r v spi rest; do
	[[ $spi == 0x* ]] && WIRE[$spi]="$v $rest"
done <<<"$XT_PKOUT"
for n in $(seq 1 $NTRAFFIC); do
	why=
	if [ -n "${XT_BAD[n]}" ]; then
		ktap_fail "${XT_LABEL[n]}: traffic: ${XT_BAD[n]}"
		ktap_fail "${XT_LABEL[n]}: wire: not set up"
		continue
	fi
	what=UDP
	[ "$n" = "$C_T6" ] || [ "${RES[${XT_DST[n]}]:-}" = ok ] || why+=" UDP echo: ${RES[${XT_DST[n]}]:-none}"
	if [ "$n" = "$C_T4" ] || [ "$n" = "$C_T6" ]; then
		[[ ${TCPRES[$n]} == ok* ]] || why+=" TCP 1 MiB: ${TCPRES[$n]}"
		what="UDP + TCP 1 MiB ${TCPRES[$n]}"
		[ "$n" = "$C_T6" ] && what="TCP 1 MiB ${TCPRES[$n]}"
	fi
	for spi in ${XT_SPI1[n]} ${XT_SPI2[n]}; do
		[ "${SA_A[$spi]:--1}" -gt 0 ] || why+=" sa-$spi@A=${SA_A[$spi]:-none}"
		[ "${SA_B[$spi]:--1}" -gt 0 ] || why+=" sa-$spi@B=${SA_B[$spi]:-none}"
	done
	if [ -z "$why" ]; then
		ktap_ok "${XT_LABEL[n]}: $what"
	else
		ktap_fail "${XT_LABEL[n]}:$why"
	fi
	why=
	for spi in ${XT_SPI1[n]} ${XT_SPI2[n]}; do
		w=${WIRE[$spi]:-none}
		[[ $w == ok* ]] || why+=" $spi: $w"
		# TCP: full-size segments (A sends the data) among the frames checked
		[[ $n != "$C_T4" && $n != "$C_T6" ]] || [ "$spi" != "${XT_SPI1[n]}" ] ||
			[[ $w == *" sizes="*1[0-9][0-9][0-9]:* ]] ||
			why+=" $spi: no TCP segment checked: $w"
	done
	if [ -z "$why" ]; then
		w=${WIRE[${XT_SPI1[n]}]}
		ktap_ok "${XT_LABEL[n]}: wire: $(cut -d' ' -f3-6,9-10 <<<"${w#ok }")"
	else
		ktap_fail "${XT_LABEL[n]}: wire:$why"
	fi
done
ktap_info "wire check: $(xt_since "$t") s"
# the sizes of a 10-octet datagram, by hand (diet-esp.md 8):
#  8 A-like: plain 8 + 58 + 2 + 16 = 84 (IIV); Diet: EEC 2 + residue 2 (the
#    ephemeral port) + 10 + 16 = 30
#  8 B-like: plain 8 + 8 + 58 + 2 + 16 = 92; Diet: EEC 4 + IV 8 + residue
#    6 (DSCP 6 + NH 8 + ports 32 = 46 bits) + 10 + 16 = 44
#  32/32 transport: plain 8 + 8 + 18 + 2 + 16 = 52; Diet: 8 + 8 + residue 2
#    (source port) + 10 + 16 = 44, NH elided
for x in "$C_A 84:30 protocol $DPROTO, EEC 2 octets" "$C_B 92:44 protocol $DPROTO, EEC 4 octets" \
	"$C_50 52:44 protocol 50, full SPI/SN"; do
	read -r n sz why <<<"$x"
	w1=${WIRE[${XT_SPI1[n]}]:-} w2=${WIRE[${XT_SPI2[n]}]:-}
	p=$DPROTO
	[ "$n" = "$C_50" ] && p=50
	if [[ $w1 == ok*" proto=$p "*" probe=$sz"* ]] && [[ $w2 == ok*" proto=$p "*" probe=$sz"* ]]; then
		ktap_ok "${XT_LABEL[n]}: a 10-octet datagram is $sz octets (plain:Diet) both ways, $why"
	else
		ktap_fail "${XT_LABEL[n]}: want probe=$sz proto=$p: A->B [$w1] B->A [$w2]"
	fi
done

# ------------------------------------------- 3: shared truncated SPIs --
stats "$NS_A"
sA=$ST
stats "$NS_B"
sB=$ST
for n in $TWINS; do
	d=$(twin_addr "$n" B) why=
	[ "${RES[$d]:-}" = ok ] || why+=" twin UDP echo ${RES[$d]:-none}"
	[ "${RES[${XT_DST[n]}]:-}" = ok ] || why+=" case UDP echo ${RES[${XT_DST[n]}]:-none}"
	for side in B A; do
		st=$sB old=${XT_SPI1[n]} new=$(printf 0x%x $((0x3000 + n)))
		[ $side = A ] && st=$sA old=${XT_SPI2[n]} new=$(printf 0x%x $((0x4000 + n)))
		pold=$(stat "$st" "espx:$old:in_packets") pnew=$(stat "$st" "espx:$new:in_packets")
		rnew=$(stat "$st" "espx:$new:in_diet_candidate_retry")
		rold=$(stat "$st" "espx:$old:in_diet_candidate_retry")
		icv=$(( $(stat "$st" "espx:$old:in_drop_icv") + $(stat "$st" "espx:$new:in_drop_icv") ))
		[ "$pold" -gt 0 ] && [ "$pnew" -gt 0 ] && [ "$rnew" = "$pold" ] && [ "$rold" = 0 ] &&
			[ "$icv" = 0 ] ||
			why+=" at $side: old $old in $pold retry $rold, new $new in $pnew retry $rnew, icv $icv"
	done
	if [ -z "$why" ]; then
		ktap_ok "${XT_LABEL[n]}: both flows work; each packet of the older SA retried once on the newer, no ICV drop"
	else
		ktap_fail "${XT_LABEL[n]}:$why"
	fi
done
# nothing dropped anywhere by the traffic. One exception: the 1 MiB TCP
# transfers reorder across the two vCPUs' backlogs, and on a loaded host a
# packet may arrive more than the window (32) late; Diet rebuilds its SN
# ahead of the window, so it fails its ICV where plain ESP would count a
# replay (README, Limits). Those, on the TCP SAs only, are reported, not
# failed: the transfers themselves are checked byte for byte above.
tcpre=
for n in $C_T4 $C_T6; do
	tcpre+="|espx:${XT_SPI1[n]}:in_drop_icv|espx:${XT_SPI2[n]}:in_drop_icv"
done
tcpre="^(${tcpre#|})\$"
stale=$(awk -v re="$tcpre" '$1 ~ re { s += $2 } END { print s + 0 }' <<<"$sA"$'\n'"$sB")
drops=$(awk -v re="$tcpre" '$1 ~ re { next }
	$1 ~ /:(in|out)_drop_/ && $2 != 0 { printf " %s=%s", $1, $2 }
	$1 ~ /^espxns:/ && $2 != 0 { printf " %s=%s", $1, $2 }' <<<"$sA"$'\n'"$sB")
errs="$(xt_errs "$NS_A" "XfrmInStateSeqError|XfrmInStateProtoError")$(xt_errs "$NS_B" "XfrmInStateSeqError|XfrmInStateProtoError")"
perr=$(( $(xt_stat "$NS_A" XfrmInStateProtoError) + $(xt_stat "$NS_B" XfrmInStateProtoError) ))
[ "$perr" = "$stale" ] || errs+=" XfrmInStateProtoError=$perr (TCP stale $stale)"
[ "$stale" = 0 ] || ktap_info "TCP: $stale packet(s) later than the window dropped (ICV), see README"
if [ -z "$drops" ] && [ -z "$errs" ]; then
	ktap_ok "traffic: no espx drop counter and no xfrm error in A or B (TCP stale: $stale)"
else
	ktap_fail "traffic: drops:$drops xfrm: $errs"
fi
if [ "$IP" != ip ]; then
	g=$("$IP" -n "$NS_B" -s xfrm state get src "$(xt_addr "$C_A" A outer 6)" \
		dst "$(xt_addr "$C_A" B outer 6)" proto esp spi "${XT_SPI1[C_A]}" 2>&1)
	if grep -qi 'diet' <<<"$g"; then
		ktap_ok "ip -s xfrm state get shows the Diet config: $(grep -i -m1 diet <<<"$g" | tr -s ' \t' ' ')"
	else
		ktap_fail "ip -s xfrm state get: no Diet line: $(tr '\n\t' '  ' <<<"$g" | cut -c1-300)"
	fi
else
	ktap_skip "ip -s xfrm state get: patched ip not built"
fi

# ----------------------------------------- 4a: SN wraps under netem --
t=$(xt_now)
n=$C_WR
NWR=150
spi=${XT_SPI1[n]}
stats "$NS_B"
s0=$ST e0=$(xt_stat "$NS_B" XfrmInStateSeqError)
xt_tcpdump "$NS_B" capwr "$XT_TMP/wr.pcap" 0 ip proto "$DPROTO" and dst host "$(xt_addr "$n" B outer 4)"
CAP=$XT_LASTPID
ip netns exec "$NS_A" tc qdisc add dev veth0 root netem loss 10% delay 20ms reorder 30% 50% 2>&1 |
	sed 's/^/# tc: /'
ip netns exec "$NS_A" $XT_PKT blast --dst "${XT_DST[n]}" --port $XT_SINK_PORT --count $NWR --gap 0.002 \
	--tag diet-wrap >"$XT_TMP/wr.log" 2>&1
sleep 1.5
ip netns exec "$NS_A" tc qdisc del dev veth0 root
xt_stop "$CAP"
stats "$NS_B"
s1=$ST e1=$(xt_stat "$NS_B" XfrmInStateSeqError)
frames=$(tcpdump -r "$XT_TMP/wr.pcap" 2>/dev/null | wc -l)
got=$(grep -c '^diet-wrap *$' "$XT_TMP/udpB.rx")
pin=$(( $(stat "$s1" "espx:$spi:in_packets") - $(stat "$s0" "espx:$spi:in_packets") ))
dr=$(( $(sum "$s1" "^espx:$spi:in_drop_") - $(sum "$s0" "^espx:$spi:in_drop_") ))
xt_pk diet-check "$XT_TMP/wr.pcap" --sa "${DSPEC[$n.1]}" --tag diet-wrap
w=$(grep "$spi" <<<"$XT_PKOUT")
ktap_info "netem: sent $(sed -n 's/^sent \([0-9]*\) .*/\1/p' "$XT_TMP/wr.log"), B received $frames frames, accepted $pin," \
	"delivered $got, drops $dr, replay $((e1 - e0)), $(xt_since "$t") s"
if [ "$frames" -gt 0 ] && [ "$frames" -lt $NWR ] && [ "$pin" = "$frames" ] && [ "$got" = "$frames" ] &&
	[ "$dr" = 0 ] && [ $((e1 - e0)) = 0 ]; then
	ktap_ok "netem loss 10% + reordering: every one of the $frames frames that reached B accepted and delivered"
else
	ktap_fail "netem: $frames frames reached B (of $NWR), accepted $pin, delivered $got, drops $dr, replay $((e1 - e0))"
fi
if [[ $w == ok*" wraps="[2-9]* ]] && [[ $w != *" late=0 "* ]]; then
	ktap_ok "netem: the capture crosses 2^6 at least twice with reordered frames ($(cut -d' ' -f3,7-9 <<<"$w"))"
else
	ktap_fail "netem: want >= 2 wraps and late frames: $w"
fi

# ------------------------------------------------ injection helpers --
DROPRE='^espxns:|^espx:.*:in_drop_'
# inject FILE COUNT VERDICT COUNTER SPI DESC: send a crafted set into B and
# judge it (as counters.sh); VERDICT accept | sa | ns
inject() {
	local f=$1 cnt=$2 verdict=$3 ctr=$4 spi=$5 desc=$6 want="--want $2" app drops pkts hit x xk
	[ "$verdict" = accept ] && want+=" --want-app $cnt"
	xt_pk send --dev veth0 $want "$f"
	xt_dload
	xt_dsum '^APP$'; app=$XT_DSUM
	xt_dsum "$DROPRE"; drops=$XT_DSUM
	xt_dsum ':in_packets$'; pkts=$XT_DSUM
	case $verdict in
	accept)
		xt_dsum "^espx:$spi:in_packets\$"
		if [ "$app" = "$cnt" ] && [ "$XT_DSUM" = "$cnt" ] && [ "$drops" = 0 ]; then
			ktap_ok "$desc: accepted [$XT_D]"
		else
			ktap_fail "$desc: not accepted as it should: [$XT_D]"
		fi ;;
	sa|ns)
		# sa: COUNTER[:XFRM], XFRM by default XfrmInStateProtoError (an ESP input error)
		[ "$verdict" = sa ] && [[ $ctr != *:* ]] && ctr+=:XfrmInStateProtoError
		if [ "$verdict" = sa ]; then
			xt_dsum "^espx:$spi:${ctr%%:*}\$"; hit=$XT_DSUM
		else
			xt_dsum "^espxns:${ctr%%:*}\$"; hit=$XT_DSUM
		fi
		xk=${ctr#*:}
		xt_dsum "^$xk\$"; x=$XT_DSUM
		if [ "$hit" = "$cnt" ] && [ "$drops" = "$cnt" ] && [ "$app" = 0 ] && [ "$pkts" = 0 ] &&
			[ "$x" = "$cnt" ]; then
			ktap_ok "$desc: dropped, ${ctr/:/ and } +$cnt [$XT_D]"
		else
			ktap_fail "$desc: want ${ctr/:/ and } +$cnt only, got [$XT_D]"
		fi ;;
	esac
}
# craft n SPEC ARGS...: diet-craft into $XT_TMP/c.pcap
craft() {
	local spec=$1
	shift
	rm -f "$XT_TMP/c.pcap"
	xt_pk diet-craft "$XT_TMP/c.pcap" --sa "$spec" --dport $XT_SINK_PORT "$@"
	[[ $XT_PKOUT != *error* ]] || { ktap_info "diet-craft: $XT_PKOUT"; return 1; }
}

# ----------------------------------------- 4b: crafted SN sequences --
t=$(xt_now)
n=$C_JW
spi=${XT_SPI1[n]}
SEQ=1,2,3,4,5,6,7,8,9,10,12,11,40,35,64,63,65,97,96,128,129,150,140,180,200
craft "${DSPEC[$n.1]}" --sns $SEQ --tag diet-seq
inject "$XT_TMP/c.pcap" 25 accept - "$spi" \
	"SN rebuild, sn-lsb 6, W 32: 25 packets, 3 wraps, losses up to W - 4 and reordering within W"
craft "${DSPEC[$n.1]}" --sn 240 --tag diet-seq
inject "$XT_TMP/c.pcap" 1 sa in_drop_icv "$spi" "SN rebuild: SN 240 with top 200 (past W ahead) rebuilt as 176: ICV"
craft "${DSPEC[$n.1]}" --sn 150 --tag diet-seq
inject "$XT_TMP/c.pcap" 1 sa in_drop_icv "$spi" "SN rebuild: SN 150 (stale, before the window) rebuilt as 214: ICV"
craft "${DSPEC[$n.1]}" --sn 180 --tag diet-seq
xt_pk send --dev veth0 "$XT_TMP/c.pcap"
xt_dload
xt_dsum '^APP$|:in_packets$'
if [ "$XT_DSUM" = 0 ] && [ "${XT_DELTA[XfrmInStateSeqError]:-0}" = 1 ]; then
	ktap_ok "SN rebuild: SN 180 again (in the window, seen): a replay drop [$XT_D]"
else
	ktap_fail "SN rebuild: SN 180 replayed: want XfrmInStateSeqError +1 only, got [$XT_D]"
fi
craft "${DSPEC[$n.1]}" --sns 201,232 --tag diet-seq
inject "$XT_TMP/c.pcap" 2 accept - "$spi" "SN rebuild: 201 and 232 (W ahead) after the failures: no state changed"
ktap_info "SN sequences: $(xt_since "$t") s"

# ---------------------------------------------------- 5: malformed --
t=$(xt_now)
n=$C_J
JSPEC=${DSPEC[$n.1]}
JSN=1
craft "$JSPEC" --sn 0
inject "$XT_TMP/c.pcap" 1 sa in_drop_diet_sn:XfrmInStateSeqError "${XT_SPI1[n]}" \
	"SN 0 (low bits 0 with top 0) (valid ICV)"
craft "$JSPEC" --sn $JSN
inject "$XT_TMP/c.pcap" 1 accept - "${XT_SPI1[n]}" "the untouched packet, SN 1"
JSN=$((JSN + 1))
i=0
while IFS=';' read -r head desc args; do
	read -r c verdict ctr <<<"$head"
	desc=${desc# } desc=${desc% } args=${args//DPROTO/$DPROTO}
	i=$((i + 1))
	if [ "$c" = 50 ]; then
		spec=${DSPEC[$C_50.1]} spi=${XT_SPI1[C_50]} sn=$((1000 + i)) args+=" --dport $XT_ECHO_PORT"
	else
		spec=$JSPEC spi=${XT_SPI1[n]} sn=$JSN
		JSN=$((JSN + 2))
	fi
	if ! craft "$spec" --sn $sn --count 2 $args; then
		ktap_fail "forged: $desc: crafting failed"
		continue
	fi
	inject "$XT_TMP/c.pcap" 2 "$verdict" "$ctr" "$spi" "forged: $desc"
	# an accepted packet now and then: the window moves on whatever the
	# drops above did to it
	if [ $((i % 6)) = 0 ]; then
		craft "$JSPEC" --sn $JSN
		JSN=$((JSN + 1))
		xt_pk send --dev veth0 --want 1 --want-app 1 "$XT_TMP/c.pcap"
	fi
done <<<"$MALFORMED"
craft "$JSPEC" --sn $JSN
inject "$XT_TMP/c.pcap" 1 accept - "${XT_SPI1[n]}" "forged: an untouched packet (SN $JSN) after all forgeries"
JSN=$((JSN + 1))

# the diet_proto handler's drops carry a drop reason (kfree_skb tracepoint):
# two of the forgeries above again, cut before IV + ICV / for a 32/32 SA
for what in "PKT_TOO_SMALL|$JSPEC|--truncate 3|3 octets, its SA found" \
	"INVALID_PROTO|${DSPEC[$C_50.1]}|--proto $DPROTO --dport $XT_ECHO_PORT|diet_proto for a 32/32 SA"; do
	IFS='|' read -r reason spec args desc <<<"$what"
	if ! craft "$spec" --sn 3000 --count 2 $args; then
		ktap_fail "forged: $desc: drop reason $reason: crafting failed"
	elif ! xt_dropmon_start; then
		ktap_skip "forged: $desc: drop reason $reason: no kfree_skb tracepoint"
	else
		xt_pk send --dev veth0 --want 2 "$XT_TMP/c.pcap"
		got=$(xt_dropmon_count "$reason")
		xt_dropmon_stop
		if [ "$got" = 2 ]; then
			ktap_ok "forged: $desc: dropped with reason $reason (2 of 2)"
		else
			ktap_fail "forged: $desc: dropped with reason $reason: $got of 2"
		fi
	fi
done

# every candidate failing its ICV: the shared-bits case at B (2 candidates)
n=$C_S8
craft "${DSPEC[$n.1]}" --sn 20 --count 2 --flip-icv --dport $XT_ECHO_PORT
xt_pk send --dev veth0 --want 2 "$XT_TMP/c.pcap"
xt_dload
xt_dsum ':in_drop_icv$'; icv=$XT_DSUM
xt_dsum ':in_diet_candidate_retry$'; retry=$XT_DSUM
xt_dsum "$DROPRE"; drops=$XT_DSUM
xt_dsum '^APP$|:in_packets$'
if [ "$icv" = 2 ] && [ "$retry" = 2 ] && [ "$drops" = 2 ] && [ "$XT_DSUM" = 0 ]; then
	ktap_ok "forged: bad ICV for both candidates sharing the SPI bits: 2 tried twice, in_drop_icv +2, retry +2 [$XT_D]"
else
	ktap_fail "forged: every candidate failing: want in_drop_icv +2 and candidate retry +2, got [$XT_D]"
fi
craft "${DSPEC[$n.1]}" --sn 22 --dport $XT_ECHO_PORT --tag espx-cand
xt_pk send --dev veth0 --want 1 "$XT_TMP/c.pcap"
xt_dload
if [ "${XT_DELTA[espx:${XT_SPI1[n]}:in_packets]:-0}" = 1 ] &&
	[ "${XT_DELTA[espx:$(printf 0x%x $((0x3000 + n))):in_diet_candidate_retry]:-0}" = 1 ]; then
	ktap_ok "forged: a valid packet of the older candidate after them: accepted after one retry [$XT_D]"
else
	ktap_fail "forged: valid packet of the older candidate: [$XT_D]"
fi

# a flood: bad ICVs and unknown SPIs, no memory kept
n=$C_J
FLOOD=2000
craft "$JSPEC" --sn $JSN --flip-icv --copies $((FLOOD / 2))
cp "$XT_TMP/c.pcap" "$XT_TMP/flood1.pcap"
craft "$JSPEC" --sn $JSN --spi 0xee --copies $((FLOOD / 2))
SLABRE='^(skbuff_head_cache|skbuff_fclone_cache|kmalloc-(cg-|rnd-[0-9]+-)?(64|128|192|256|512|1k|2k))$'
slab0=$(xt_slab "$SLABRE") mem0=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
xt_pk send --dev veth0 --want $((FLOOD / 2)) "$XT_TMP/flood1.pcap"
xt_dload
f1=$XT_D
xt_pk send --dev veth0 --want $((FLOOD / 2)) "$XT_TMP/c.pcap"
xt_dload
sleep 1
slab1=$(xt_slab "$SLABRE") mem1=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
if [ "${XT_DELTA[espxns:diet_no_sa]:-0}" = $((FLOOD / 2)) ] &&
	[[ " $f1 " == *" espx:${XT_SPI1[n]}:in_drop_icv+$((FLOOD / 2)) "* ]]; then
	ktap_ok "flood: $((FLOOD / 2)) bad-ICV + $((FLOOD / 2)) unknown-SPI packets all counted"
else
	ktap_fail "flood: want in_drop_icv +$((FLOOD / 2)) then diet_no_sa +$((FLOOD / 2)): [$f1] [$XT_D]"
fi
if [ $((slab1 - slab0)) -lt 300 ]; then
	ktap_ok "flood: skb/kmalloc slab objects $slab0 -> $slab1, MemAvailable $mem0 -> $mem1 kB"
else
	ktap_fail "flood: skb/kmalloc slab objects grew $slab0 -> $slab1 (MemAvailable $mem0 -> $mem1 kB)"
fi
ktap_info "malformed: $(xt_since "$t") s"

# ------------------------------------------------- 6: configuration --
# B, destination of the shared-bits case: 2 SAs share the low 8 bits; 2 more
# may, a 5th is refused with -EEXIST (and leaves nothing behind)
n=$C_S8
ok=1 out=
for k in 5 6 7; do
	sp=$(printf 0x%x $((k * 0x1000 + n)))
	spec "$n" 1 "$sp" $TWINKEY "10.95.$n.$k" "10.95.$n.9"
	o=$(ip netns exec "$NS_B" $XT_PKT diet-set --sa "$SPEC" 2>&1 &&
		ip -n "$NS_B" xfrm state add src "$(xt_addr "$n" A outer 4)" dst "$(xt_addr "$n" B outer 4)" \
			proto esp spi "$sp" reqid 99 mode tunnel aead 'rfc4106(gcm(aes))' $TWINKEY 128 \
			replay-window 32 sel src "10.95.$n.$k/32" dst "10.95.$n.9/32" 2>&1)
	rc=$?
	out+=" $sp: rc $rc $(tr '\n' ' ' <<<"$o" | cut -c1-80);"
	[ $k != 7 ] && [ $rc != 0 ] && ok=
	[ $k = 7 ] && { [ $rc != 0 ] && grep -qiE 'exist|already share' <<<"$o" || ok=; }
done
left=$(ip -n "$NS_B" xfrm state list | grep -c "spi $(printf 0x%08x $((0x7000 + n)))")
if [ -n "$ok" ] && [ "$left" = 0 ]; then
	ktap_ok "config: 4 SAs may share a truncated SPI at one destination, a 5th is refused (EEXIST)"
else
	ktap_fail "config: 5th candidate:$out left $left"
fi
for k in 5 6; do
	ip -n "$NS_B" xfrm state delete src "$(xt_addr "$n" A outer 4)" dst "$(xt_addr "$n" B outer 4)" \
		proto esp spi "$(printf 0x%x $((k * 0x1000 + n)))" 2>/dev/null
done
NS_C=$(ns_new c)
XT_CONF_GENL=$XT_GENL
K20=0x0102030405060708090a0b0c0d0e0f1011121314
GCM="aead rfc4106(gcm(aes)) $K20 128"
if "$IP" xfrm state help 2>&1 | grep -q 'diet spi-lsb'; then
	xt_conf_reject "spi-lsb 3 + sn-lsb 8 (not x8)" 'multiple of 8|x ?8' spi 0x200 mode transport $GCM \
		replay-window 32 diet spi-lsb 3 sn-lsb 8
	xt_conf_reject "sn-lsb 4 with replay-window 32 (> 2^3)" 'window' spi 0x201 mode transport $GCM \
		replay-window 32 diet spi-lsb 4 sn-lsb 4
	xt_conf_reject "cbc(aes) + hmac(sha256)" 'AEAD|rfc4106|rfc7539' spi 0x202 mode transport \
		enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f \
		auth-trunc 'hmac(sha256)' 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128 \
		replay-window 32 diet spi-lsb 8 sn-lsb 8
	xt_conf_reject "diet + wesp" 'WESP|wesp|exclusive' spi 0x203 mode transport $GCM replay-window 32 \
		wesp diet spi-lsb 8 sn-lsb 8
else
	for x in 1 2 3 4; do	# the xt_conf_reject points above
		ktap_skip "config: ip without the diet grammar"
	done
fi
# the same ranges through netlink, where ip cannot refuse them first: EINVAL
# (espx_genl's exit status) with the kernel's extack message
if [ -n "$XT_GENL" ]; then
	out=$("$XT_GENL" -n "$NS_C" set --daddr 10.9.0.2 --spi 0x204 --diet 5,8 2>&1)
	rc=$?
	left=$(xt_left_c)
	if [ $rc = 22 ] && grep -qi 'multiple of 8' <<<"$out" && [ -z "$left" ]; then
		ktap_ok "config: spi-lsb 5 + sn-lsb 8 over netlink refused (errno $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-90))"
	else
		ktap_fail "config: spi-lsb 5 + sn-lsb 8 over netlink: want EINVAL 'multiple of 8', rc $rc [$(tr '\n' ' ' <<<"$out")] $left"
	fi
else
	ktap_skip "config: spi-lsb 5 + sn-lsb 8 over netlink: no espx_genl"
fi
ip -n "$NS_C" xfrm state flush

# ------------------------------------------------------------------ end --
xt_end
