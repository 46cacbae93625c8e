#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# WESPv2 (wespv2.md, issue #4) through espx SAs:
#   - traffic: transport, tunnel, BEET (also 4-in-6, 6-in-4) over IPv4 and
#     IPv6, AES-GCM (rfc4106) and ChaCha20-Poly1305, CryptOffset 0, 2 and 63,
#     ESN with a 2^32 rollover; ping + UDP for all, 3000-octet pings
#     (fragments) for four, TCP bulk (TCP_MB MiB, default 2) for two;
#   - the wire: every WESPv2 frame the kernels sent is checked in python
#     (espx_pkt.py wesp-check): header octets, ESP header alignment from the
#     outer IP header, per-packet CryptOffset, clear window = the first 4c
#     octets of the inner packet, AAD and nonce layout (decrypted with the key
#     and re-encrypted octet for octet), IV = be64(SN), IVs distinct (also
#     over 64 packets of one SA);
#   - tampering: every bit of every WESPv2 header/option octet and of the
#     clear octets, plus SPI/SN/IV/ciphertext/ICV: dropped and counted;
#   - malformed packets (wespv2.md section 11), crafted from captured ones
#     and injected from the peer: dropped, the named espx counter up by the
#     injected count and no other; accepted variants (skip option, Pad1,
#     R bits, smaller CryptOffset, outer IPv4 options / IPv6 Destination
#     Options header in front of WESPv2) delivered;
#   - configuration rejects: no AEAD, rfc4543/rfc4309, UDP encapsulation,
#     CryptOffset 64: clear error, nothing left behind.
#
# One espx_pkt.py process ("serve", in A) crafts and injects the packets and
# reports counter deltas in B: /proc counters and espx's own (netlink).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

XT_IP=$IP
xt_begin "WESPv2 needs espx"
xt_need "patched ip not built (make iproute2)" [ "$IP" != ip ]
GENL=
for g in "${ESPX_BIN:-}/espx_genl" "$XT_DIR/espx_genl" "$XT_DIR/../build/selftests/espx_genl"; do
	[ -x "$g" ] && { GENL=$g; break; }
done

# ---------------------------------------------------------------- cases --
declare -A WCO		# case -> configured CryptOffset ("" = plain ESP SA)
wcase() {	# wcase CO ALG MODE OF IF [LABEL-SUFFIX [EXTRA-OPTS [OPT-A [OPT-B]]]]
	local co=$1 label
	shift
	label="ipv$4"
	[ "$3" = "$4" ] || label+="-in-ipv$3"
	label="$1 $2 $label co $co${5:+ $5}"
	xt_case "$1" "$2" "$3" "$4" "$label" "${6:+$6 }wesp crypt-offset $co" "${7:-}" "${8:-}"
	WCO[$XT_N]=$co
}

for alg in gcm128-16 chacha; do
	for mode in transport tunnel beet; do
		for f in 4 6; do
			for co in 0 2 63; do
				wcase $co $alg $mode $f $f
			done
		done
	done
	for fam in "6 4" "4 6"; do
		for co in 0 2 63; do
			wcase $co $alg beet $fam
		done
	done
done
wcase 2 gcm256-12 tunnel 6 6
wcase 2 gcm128-8 transport 4 4
ro="replay-seq 0xfffffffd replay-oseq 0xfffffffd"
wcase 2 gcm128-16 tunnel 4 4 "esn rollover" "flag esn replay-window 128" "$ro" "$ro"
ROLL=$XT_N
wcase 63 chacha beet 6 4 "esn" "flag esn replay-window 128"
NTRAFFIC=$XT_N

# crafting/injection cases: no traffic, B learns the A->B SA after the capture
wcase 2 gcm128-16 transport 4 4 "(inject)";	J4=$XT_N
wcase 2 chacha tunnel 6 6 "(inject)";		J6=$XT_N
wcase 0 gcm128-16 transport 4 4 "(inject)";	J0=$XT_N
wcase 63 gcm128-16 transport 4 4 "(inject)";	J63=$XT_N
xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 plain ESP SA (inject)"; JP=$XT_N
wcase 2 gcm128-16 transport 6 6 "(inject)";	J6T=$XT_N
wcase 2 gcm128-16 tunnel 4 4 "(nonces)";	NU=$XT_N
NONCES=64
declare -A NCAP=([J4]=5 [J6]=4 [J0]=1 [J63]=3 [JP]=1 [J6T]=1 [NU]=$NONCES)
CAPCASES="J4 J6 J0 J63 JP J6T NU"
# wcase_find LABEL: the case number of the traffic case with that label
wcase_find() {
	local n
	for n in $(seq 1 $NTRAFFIC); do
		[ "${XT_LABEL[n]}" = "$1" ] && { echo "$n"; return; }
	done
}
TCP=("$(wcase_find "gcm128-16 transport ipv4 co 2")"
     "$(wcase_find "chacha beet ipv4-in-ipv6 co 63")")
TCP_MB=${TCP_MB:-2}
# 3000-octet pings: fragments inside or outside the WESPv2 packets
LARGE=()
for l in "gcm128-16 transport ipv4 co 63" "gcm128-16 transport ipv6 co 63" \
	"chacha tunnel ipv6 co 2" "gcm128-16 beet ipv4-in-ipv6 co 2"; do
	LARGE+=("$(wcase_find "$l")")
done

# The malformed-packet table: CASE FRAME COUNT VERDICT COUNTER ; DESCRIPTION ; CRAFT
# VERDICT: sa (espx per-SA counter of the case's A->B SA, and XfrmInStateProtoError
# as for an ESP input error), ns (espx netns counter, also XFRM is the
# /proc/net/xfrm_stat one), accept. CRAFT: arguments
# of espx_pkt.py wesp-craft; header edits are re-encrypted with the SA's key
# (valid ICV) unless --raw. COUNT copies of the packet are injected at once.
MALFORMED=$(cat <<'EOF'
J4 0 2 ns wesp_truncated:XfrmInHdrError ; nothing after the IPv4 header ; --truncate 0
J4 0 2 ns wesp_truncated:XfrmInHdrError ; 3 octets (base header cut) ; --truncate 3
J4 0 2 ns wesp_truncated:XfrmInHdrError ; base header + SPI, no SN (11 octets) ; --truncate 11
J4 0 2 ns wesp_truncated:XfrmInHdrError ; OptLen 60 past the end of the packet ; --raw --optlen 60
J4 0 2 sa in_drop_wesp_hdrlen ; HdrLen 8 (< 12) ; --hdrlen 8
J4 0 2 sa in_drop_wesp_hdrlen ; HdrLen 22 (not x4) ; --hdrlen 22
J4 0 2 sa in_drop_wesp_hdrlen ; HdrLen 24, the SA implies 20 ; --hdrlen 24
J4 0 2 sa in_drop_wesp_version ; V = 00 ; --v 0
J4 0 2 sa in_drop_wesp_version ; V = 10 ; --v 2
J4 0 2 sa in_drop_wesp_version ; V = 11 ; --v 3
J4 0 2 sa in_drop_wesp_align ; IPv4 OptLen 2 (ESP header not 4-aligned) ; --options 0100
J4 0 2 sa in_drop_wesp_option ; option TLV past OptLen (PadN of 4 in 4) ; --options 01040000
J4 0 2 sa in_drop_wesp_option ; option length octet past OptLen (Pad1 x3, 01) ; --options 00000001
J4 0 2 sa in_drop_wesp_option ; PadN with non-zero data ; --options 01020001
J4 0 2 sa in_drop_wesp_option ; option 0x3b (may-change bit set) ; --options 3b020000
J4 0 2 sa in_drop_wesp_opt_unknown ; unknown option 0x42 (action 01) ; --options 42020000
J4 0 2 sa in_drop_wesp_opt_unknown ; unknown option 0x82 (action 10, no ICMP) ; --options 82020000
J4 0 2 sa in_drop_wesp_opt_unknown ; unknown option 0xc2 (action 11, no ICMP) ; --options c2020000
J4 0 2 sa in_drop_wesp_subsa ; Sub-SA ID option on an SA without counters ; --options 1b020000
J4 0 2 sa in_drop_wesp_subsa ; Sub-SA ID option with data length 1 ; --options 1b010000
J4 1 1 accept - ; unknown option 0x05 (action 00) skipped, valid ICV ; --options 05020000
J4 2 1 accept - ; IPv4 with 4 Pad1 options (HdrLen 24), valid ICV ; --options 00000000
J4 3 1 accept - ; R bits 11: authenticated, otherwise ignored ; --r 3
J4 0 2 sa in_drop_wesp_crypt_offset ; CryptOffset 3 > configured 2 (valid ICV) ; --co 3
J4 0 2 sa in_drop_wesp_nexthdr ; CryptOffset 0 with NH 17, not 59 (valid ICV) ; --co 0 --nh 17
J4 0 2 sa in_drop_wesp_nexthdr ; NH 6 != trailer NH 17 with CryptOffset 2 (valid ICV) ; --nh 6
J4 0 2 sa in_drop_wesp_not_wesp ; plain ESP (protocol 50) for the WESPv2 SA ; --strip
J4 0 2 ns wesp_no_sa:XfrmInNoStates ; unknown SPI (no ICMP) ; --spi 0x7e57
J0 0 2 sa in_drop_wesp_nexthdr ; CryptOffset 0 SA: NH 17, not 59 (valid ICV) ; --nh 17
J0 0 2 sa in_drop_wesp_crypt_offset ; CryptOffset 1 on a crypt-offset 0 SA (valid ICV) ; --co 1
J63 0 2 sa in_drop_wesp_crypt_offset ; CryptOffset 63 past the end of the packet ; --raw --co 63
J63 1 1 accept - ; CryptOffset 1, below the configured 63 (valid ICV) ; --co 1
J63 2 1 accept - ; CryptOffset 0 with NH 59 on a crypt-offset 63 SA (valid ICV) ; --co 0
JP 0 2 sa in_drop_wesp_plain_sa ; WESPv2 packet for a plain ESP SA ; --wrap 3b140040
J6 0 2 ns wesp_truncated:XfrmInHdrError ; IPv6: header, PadN, SPI, 3 octets of SN ; --truncate 15
J6 0 2 sa in_drop_wesp_align ; IPv6 without options (ESP header not 8-aligned) ; --options ''
J6 0 2 sa in_drop_wesp_align ; IPv6 OptLen 8 (4 + 8 not x8) ; --options 0106000000000000
J6 0 2 sa in_drop_wesp_hdrlen ; IPv6 HdrLen 28 (x4, not x8) ; --hdrlen 28
J6 0 2 sa in_drop_wesp_hdrlen ; IPv6 HdrLen 32, the SA implies 24 ; --hdrlen 32
J6 0 2 sa in_drop_wesp_version ; IPv6 V = 00 ; --v 0
J6 0 2 sa in_drop_wesp_option ; IPv6 PadN with non-zero data ; --options 01028000
J6 0 2 sa in_drop_wesp_opt_unknown ; IPv6 unknown option 0x42 ; --options 42020000
J6 1 1 accept - ; IPv6 unknown option 0x05 skipped, valid ICV ; --options 05020000
J6 2 1 accept - ; IPv6 OptLen 12 (PadN 12, HdrLen 32), valid ICV ; --options 010a00000000000000000000
J6 0 2 sa in_drop_wesp_crypt_offset ; IPv6 CryptOffset 3 > configured 2 (valid ICV) ; --co 3
J4 4 1 accept - ; outer IPv4 options (IHL 6) in front of WESPv2 ; --ext
J6 3 1 accept - ; outer IPv6 Destination Options header in front of WESPv2 ; --ext
J6T 0 1 accept - ; IPv6 transport mode, Destination Options header in front of WESPv2 ; --ext
J6 0 2 sa in_drop_wesp_nexthdr ; IPv6 NH 4 != trailer NH 41 (valid ICV) ; --nh 4
J6 0 2 sa in_drop_wesp_not_wesp ; IPv6 plain ESP for the WESPv2 SA ; --strip
J6 0 2 ns wesp_no_sa:XfrmInNoStates ; IPv6 unknown SPI ; --spi 0x7e57
EOF
)
NMAL=$(wc -l <<<"$MALFORMED")

# tampering: octets of the WESPv2 header and options, and the clear octets
# (4c = 8 for both cases), each with all 8 bits flipped one at a time
TAMPER_J4="0 1 2 3 20 21 22 23 24 25 26 27"
TAMPER_J6="0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31"
NTAMPER=$(( $(wc -w <<<"$TAMPER_J4 $TAMPER_J6") + 5 + 2 ))
NCONF=9

# points: vectors, setup, ping+UDP and wire per traffic case, large pings,
# 2 clear-window facts, rollover, TCP, no drops, captures, nonces, tampering,
# malformed, 2 drop reasons, config, dmesg
ktap_plan $((1 + 1 + 2 * NTRAFFIC + ${#LARGE[@]} + 2 + 1 + ${#TCP[@]} + 1 + \
	$(wc -w <<<"$CAPCASES") + 1 + NTAMPER + NMAL + 2 + NCONF + 1))
ktap_info "kernel $(uname -r), $XT_N cases ($NTRAFFIC with traffic)"

# ------------------------------------------------------------- vectors --
out=$($XT_PKT wesp-vectors 2>&1)
if [ $? = 0 ]; then
	ktap_ok "espx_pkt.py reproduces wespv2.md 10 A and B octet for octet"
else
	ktap_fail "espx_pkt.py reproduces wespv2.md 10 A and B octet for octet"
	grep -v '^ok' <<<"$out" | sed 's/^/#   /'
fi

# --------------------------------------------------------------- setup --
t=$(xt_now)
if ! xt_setup || ! xt_servers; then
	ktap_fail "topology, SAs and servers"
	ktap_finish
fi
bad=
for n in $(seq 1 $XT_N); do
	[ -n "${XT_BAD[n]}" ] && { bad+=" $n"; ktap_info "case $n (${XT_LABEL[n]}): ${XT_BAD[n]}"; }
done
nsa=$(ip -n "$NS_B" xfrm state list | grep -c '^src')
if [ -z "$bad" ] && [ "$nsa" = $((2 * XT_N)) ]; then
	ktap_ok "setup: $XT_N cases, $nsa SAs per namespace ($(xt_since "$t") s)"
else
	ktap_fail "setup: $nsa of $((2 * XT_N)) SAs in B, bad cases:$bad"
	"$IP" -n "$NS_B" xfrm state list 2>&1 | grep -c 'espx status bound wesp' |
		sed 's/^/#   WESPv2 SAs: /'
fi

# The crafter/injector: counter deltas of B, espx's included.
coproc PK { ip netns exec "$NS_A" $XT_PKT serve --stats-pid "$XT_ECHO_PID_B" \
	--app-log "$XT_TMP/udpB.rx" --espx-stats 2>&1; }
XT_PIDS+=("$PK_PID")
PKOUT=
read -r -t 120 -u "${PK[0]}" PKOUT
[ "$PKOUT" = ready ] || ktap_info "espx_pkt.py serve: $PKOUT"
pk() {
	local l
	PKOUT=
	echo "$*" >&"${PK[1]}"
	while read -r -t 300 -u "${PK[0]}" l; do
		[ "$l" = . ] && return 0
		PKOUT+="$l"$'\n'
	done
	PKOUT+="espx_pkt.py serve did not answer"
	return 1
}

# every SA's key blob, from one awk run (a process per SA is slow under TCG)
declare -A XKEY
while read -r n d k; do
	XKEY[$n.$d]=$k
done < <(xt_case_lines | awk -v what=key "$XT_GEN")

# sa_spec n DIR: wesp-check's description of case n's SA (DIR 1 = A->B) in
# SPEC (no subshell: they are slow under TCG)
sa_spec() {
	local n=$1 d=$2 spi alg icv esn=0
	spi=${XT_SPI1[n]}
	[ "$d" = 2 ] && spi=${XT_SPI2[n]}
	case ${XT_ALG[n]} in
	chacha) alg=chacha icv=16 ;;
	*) alg=gcm icv=${XT_ALG[n]#*-} ;;
	esac
	[[ ${XT_OPT[n]} == *"flag esn"* ]] && esn=1
	SPEC="spi=$spi,alg=$alg,key=${XKEY[$n.$d]},icv=$icv,co=${WCO[$n]},esn=$esn"
	SPEC+=",mode=${XT_MODE[n]},inner=${XT_IF[n]}"
}

# ------------------------------------------------------------- traffic --
t=$(xt_now)
WAIT_READY=1 xt_bg "$NS_A" captraffic $XT_PKT capture --dev veth0 --out "$XT_TMP/traffic.pcap" \
	--timeout 600
CAP=$XT_LASTPID
declare -A RES
dsts=()
for n in $(seq 1 $NTRAFFIC); do
	[ -n "${XT_BAD[n]}" ] || dsts+=("${XT_DST[n]}")
done
while read -r r d rest; do
	RES[$d]="$r $rest"
done < <(xt_traffic "$NS_A" "${dsts[@]}")
for n in "${LARGE[@]}"; do
	if ip netns exec "$NS_A" ping -n -q -c 2 -i 0.3 -W 3 -w 10 -s 3000 "${XT_DST[n]}" \
		>/dev/null 2>&1; then
		RES[large$n]=ok
	else
		RES[large$n]=fail
	fi
done
sleep 0.3
xt_stop "$CAP"
ktap_info "traffic: $(xt_since "$t") s, $(tail -1 "$XT_TMP/captraffic.log")"

declare -A SA_A SA_B
xt_sa_load "$NS_A" SA_A
xt_sa_load "$NS_B" SA_B
for n in $(seq 1 $NTRAFFIC); do
	d=${XT_DST[n]} why=
	if [ -n "${XT_BAD[n]}" ]; then
		ktap_fail "${XT_LABEL[n]}: ping + UDP: ${XT_BAD[n]}"
		continue
	fi
	[[ ${RES[$d]:-} == ok* ]] || why+=" traffic: ${RES[$d]:-none}"
	for spi in ${XT_SPI1[n]} ${XT_SPI2[n]}; do
		[ "${SA_A[$spi]:--1}" -gt 0 ] || why+=" sa-$spi@A=${SA_A[$spi]:-none}"
		[ "${SA_B[$spi]:--1}" -gt 0 ] || why+=" sa-$spi@B=${SA_B[$spi]:-none}"
	done
	if [ -z "$why" ]; then
		ktap_ok "${XT_LABEL[n]}: ping + UDP"
	else
		ktap_fail "${XT_LABEL[n]}: ping + UDP:$why"
	fi
done

for n in "${LARGE[@]}"; do
	if [ "${RES[large$n]}" = ok ]; then
		ktap_ok "${XT_LABEL[n]}: 3000-octet pings (fragments)"
	else
		ktap_fail "${XT_LABEL[n]}: 3000-octet pings (fragments)"
	fi
done

# ------------------------------------------------------------ the wire --
t=$(xt_now)
specs=
for n in $(seq 1 $NTRAFFIC); do
	sa_spec "$n" 1
	specs+=" --sa $SPEC"
	sa_spec "$n" 2
	specs+=" --sa $SPEC"
done
pk wesp-check "$XT_TMP/traffic.pcap" --port $XT_ECHO_PORT $specs
declare -A WIRE
while read -r v spi rest; do
	[[ $spi == 0x* ]] && WIRE[$spi]="$v $rest"
done <<<"$PKOUT"
[[ $PKOUT =~ (\# [^$'\n']*) ]] && ktap_info "wesp-check: ${BASH_REMATCH[1]#\# }"
for n in $(seq 1 $NTRAFFIC); do
	why=
	for spi in ${XT_SPI1[n]} ${XT_SPI2[n]}; do
		[[ ${WIRE[$spi]:-none} == ok* ]] || why+=" $spi: ${WIRE[$spi]:-none}"
	done
	if [ -z "$why" ]; then
		w=${WIRE[${XT_SPI1[n]}]} back=${WIRE[${XT_SPI2[n]}]#ok }
		ktap_ok "${XT_LABEL[n]}: wire format, AAD, nonce (${w#ok }) ${back%% *} back"
	else
		ktap_fail "${XT_LABEL[n]}: wire format:$why"
	fi
done
ktap_info "wire check: $(xt_since "$t") s"

# explicit clear-window facts (wesp-check verified them for every frame; its
# "clear=NH:HEX" shows the longest clear window per trailer NH)
n=$(wcase_find "gcm128-16 tunnel ipv4 co 2")
w=${WIRE[${XT_SPI1[n]}]:-}
if [[ $w == ok*" c=2 "*" clear=4:45"* ]]; then
	ktap_ok "${XT_LABEL[n]}: the clear window is the inner IPv4 header's first 8 octets (${w##*clear=})"
else
	ktap_fail "${XT_LABEL[n]}: the clear window is the inner IPv4 header's first 8 octets: $w"
fi
# transport, c = 2: the UDP header in clear, destination port 7000 = 0x1b58
n=$(wcase_find "gcm128-16 transport ipv4 co 2")
w=${WIRE[${XT_SPI1[n]}]:-}
if [[ $w =~ ^ok.*\ clear=.*17:[0-9a-f]{4}1b58 ]]; then
	ktap_ok "${XT_LABEL[n]}: the clear window is the UDP header, ports in clear (${w##*clear=})"
else
	ktap_fail "${XT_LABEL[n]}: the clear window is the UDP header: $w"
fi

# ESN rollover: the IVs are be64(SN) across 2^32 on both sides
n=$ROLL
if [[ ${WIRE[${XT_SPI1[n]}]:-} == ok*"snhi=0,1 "* || ${WIRE[${XT_SPI1[n]}]:-} == ok*"snhi=1 "* ]] &&
	[[ ${RES[${XT_DST[n]}]:-} == ok* ]]; then
	ktap_ok "${XT_LABEL[n]}: IV = be64(SN) with SNhi 1 after the rollover, AAD with SNhi"
else
	ktap_fail "${XT_LABEL[n]}: rollover: ${WIRE[${XT_SPI1[n]}]:-none} ${RES[${XT_DST[n]}]:-}"
fi

# TCP bulk
for n in "${TCP[@]}"; do
	t=$(xt_now)
	if [ -n "${XT_BAD[n]}" ]; then
		ktap_fail "${XT_LABEL[n]}: TCP ${TCP_MB} MiB (case not set up)"
	elif out=$(xt_tcp "$NS_B" "${XT_DST[n]}" "$NS_A" "$TCP_MB" 2>&1); then
		ktap_ok "${XT_LABEL[n]}: TCP ${TCP_MB} MiB, sha256 equal ($(xt_since "$t") s)"
	else
		ktap_fail "${XT_LABEL[n]}: TCP ${TCP_MB} MiB: $out"
	fi
done

# espx accounted everything: no drop on the traffic SAs (both namespaces), no
# xfrm error; a bulk TCP may see a few replay-window drops (reordering).
ign="XfrmInStateSeqError"
errs="A: $(xt_errs "$NS_A" "$ign") B: $(xt_errs "$NS_B" "$ign")"
drops=
[ -n "$GENL" ] || drops=" espx_genl not built"
for ns in ${GENL:+"$NS_A" "$NS_B"}; do
	if ! out=$("$GENL" -n "$ns" dump 2>&1) || ! grep -q ' stats ' <<<"$out"; then
		drops+=" ${ns%%-[0-9]*}: dump failed or without stats: $(head -c 100 <<<"$out")"
		continue
	fi
	drops+=$(awk '{ for (i = 1; i < NF; i++) if ($i ~ /^in_drop_|^out_drop_/ && $(i + 1) != 0)
		printf " %s:%s=%s", $6, $i, $(i + 1) }' <<<"$out")
done
if [ "$errs" = "A:  B: " ] && [ -z "$drops" ]; then
	ktap_ok "no xfrm error and no espx drop counter after the traffic"
else
	ktap_fail "no xfrm error and no espx drop counter after the traffic: $errs$drops"
fi

# -------------------------------------------------- captures to inject --
# B forgets all its SAs (fewer SAs: cheaper counter dumps from here on), A
# sends NCAP datagrams per injection case to B's sink (captured on A's veth0),
# B gets the A->B SAs of those cases back: every captured packet is fresh for B.
t=$(xt_now)
declare -A CAPF KEY PYALG
total=0 adds='' sends=''
for c in $CAPCASES; do
	n=${!c}
	total=$((total + NCAP[$c]))
	adds+=$(grep -m1 "^xfrm state add .* spi ${XT_SPI1[n]} " "$XT_TMP/batch-all.B")$'\n'
	sends+="for i in \$(seq ${NCAP[$c]}); do echo wesp-$c-\$i > /dev/udp/${XT_DST[n]}/$XT_SINK_PORT; done; "
	KEY[$c]=${XKEY[$n.1]}
	PYALG[$c]="--alg gcm --icv 16"
	[ "${XT_ALG[n]}" = chacha ] && PYALG[$c]="--alg chacha --icv 16"
done
ip -n "$NS_B" xfrm state flush
WAIT_READY=1 xt_bg "$NS_A" capinj $XT_PKT capture --dev veth0 --out "$XT_TMP/inj.pcap" \
	--count $total --dir out --timeout 120
ip netns exec "$NS_A" bash -c "$sends"
wait "$XT_LASTPID"
out=$($IP -n "$NS_B" -batch - <<<"$adds" 2>&1) || ktap_info "re-adding B's SAs: $out"
pk split "$XT_TMP/inj.pcap" "$XT_TMP/inj"
for c in $CAPCASES; do
	n=${!c} cnt=${NCAP[$c]}
	got=$(awk -v s="${XT_SPI1[n]}" '$1 == s { print $2 }' <<<"$PKOUT")
	if [ "${got:-0}" = "$cnt" ]; then
		ktap_ok "$c (${XT_LABEL[n]}): captured $cnt packets for injection"
		CAPF[$c]=$XT_TMP/inj-${XT_SPI1[n]}.pcap
	else
		ktap_fail "$c (${XT_LABEL[n]}): captured ${got:-0} of $cnt packets"
		sed 's/^/#   /' <<<"$PKOUT"
	fi
done
ktap_info "captures: $(xt_since "$t") s"

# nonce uniqueness: NONCES packets, IV = be64(SN) for SN 1..NONCES, all distinct
n=$NU
sa_spec "$n" 1
pk wesp-check "${CAPF[NU]:-none}" --port $XT_SINK_PORT --sa "$SPEC"
if [[ $PKOUT == "ok ${XT_SPI1[n]} frames=$NONCES "*" sn=1-$NONCES snhi=0 distinct-ivs=$NONCES "* ]]; then
	ktap_ok "NU: $NONCES packets, IVs distinct and = be64(SN), SN 1..$NONCES"
else
	ktap_fail "NU: $NONCES packets, IVs distinct and = be64(SN): $PKOUT"
fi

# -------------------------------------------------------- verdict check --
# Pure bash from here on: a fork costs ~0.1 s under TCG.
# dload: D = the delta line of the last pk send, DELTA[name] = its values
declare -A DELTA
dload() {
	local w
	DELTA=() D=
	[[ $PKOUT =~ delta\ ([^$'\n']*) ]] && D=${BASH_REMATCH[1]}
	for w in $D; do
		DELTA[${w%+*}]=${w##*+}
	done
}
# dsum REGEX: DSUM = sum of the deltas whose name matches REGEX
dsum() {
	local k
	DSUM=0
	for k in "${!DELTA[@]}"; do
		[[ $k =~ $1 ]] && DSUM=$((DSUM + DELTA[$k]))
	done
	return 0
}
DROPRE='^espxns:|^espx:.*:in_drop_'

# inject C FILE COUNT VERDICT COUNTER DESC: send and judge one crafted set
inject() {
	local c=$1 f=$2 cnt=$3 verdict=$4 ctr=$5 desc=$6 n=${!1} key xk drops app pkts hit xhit
	local spi=${XT_SPI1[n]} want="--want $cnt"
	[ "$verdict" = accept ] && want="--want $cnt --want-app $cnt"
	pk send --dev veth0 $want "$f"
	dload
	dsum '^APP$'; app=$DSUM
	dsum "$DROPRE"; drops=$DSUM
	dsum ':in_packets$'; pkts=$DSUM
	case $verdict in
	accept)
		dsum "^espx:$spi:in_packets\$"
		if [ "$app" = "$cnt" ] && [ "$DSUM" = "$cnt" ] && [ "$drops" = 0 ] &&
			! [[ " $D" =~ \ Xfrm[A-Za-z]+\+ ]]; then
			ktap_ok "$c: $desc: accepted [$D]"
		else
			ktap_fail "$c: $desc: not accepted as it should: [$D]"
		fi ;;
	sa|ns)
		if [ "$verdict" = sa ]; then
			key="^espx:$spi:$ctr\$" xk=XfrmInStateProtoError ctr+=:$xk
		else
			key="^espxns:${ctr%%:*}\$" xk=${ctr#*:}
		fi
		dsum "$key"; hit=$DSUM
		dsum "^$xk\$"; xhit=$DSUM
		if [ "$hit" = "$cnt" ] && [ "$drops" = "$cnt" ] && [ "$app" = 0 ] && [ "$pkts" = 0 ] &&
			[ "$xhit" = "$cnt" ] && ! [[ " $D" =~ \ Icmp6?OutMsgs\+ ]]; then
			ktap_ok "$c: $desc: dropped, ${ctr%%:*} +$cnt [$D]"
		else
			ktap_fail "$c: $desc: want ${ctr/:/ and } +$cnt only, got [$D]"
		fi ;;
	esac
}

# ----------------------------------------------------------- tampering --
t=$(xt_now)
for c in J4 J6; do
	n=${!c}
	offs=TAMPER_$c
	for off in ${!offs}; do
		if [ -z "${CAPF[$c]:-}" ]; then
			ktap_fail "$c: tamper octet $off: no capture"
			continue
		fi
		pk wesp-craft "${CAPF[$c]}" "$XT_TMP/tamper.pcap" --index 0 --flip-all "$off"
		pk send --dev veth0 --want 8 "$XT_TMP/tamper.pcap"
		dload
		dsum "$DROPRE"; drops=$DSUM
		dsum '^APP$|:in_packets$'
		if [ "$drops" = 8 ] && [ "$DSUM" = 0 ]; then
			ktap_ok "$c: each of the 8 bits of WESPv2 octet $off flipped: all dropped and counted [$D]"
		else
			ktap_fail "$c: each of the 8 bits of WESPv2 octet $off flipped: want 8 counted drops, got [$D]"
		fi
	done
done
# J4: the ESP part; SN flipped in its top bit (a fresh, larger SN) fails the ICV
n=$J4
for what in "SPI:4:ns wesp_no_sa:XfrmInNoStates" "SN:8:sa in_drop_icv" "IV:12:sa in_drop_icv" \
	"ciphertext:28:sa in_drop_icv" "ICV:-1:sa in_drop_icv"; do
	IFS=: read -r name off verdict <<<"$what"
	if [ "$off" = -1 ]; then
		flip="--flip -1:7"
	else
		flip="--flip $off:0"
	fi
	pk wesp-craft "${CAPF[J4]:-none}" "$XT_TMP/tamper.pcap" --index 0 $flip
	inject J4 "$XT_TMP/tamper.pcap" 1 ${verdict% *} "${verdict#* }" "$name bit flipped"
done
ktap_info "tampering: $(xt_since "$t") s"

# ----------------------------------------------------------- malformed --
t=$(xt_now)
i=0
while IFS=';' read -r head desc craft; do
	read -r c frame cnt verdict ctr <<<"$head"
	desc=${desc# } desc=${desc% } craft=${craft# }
	n=${!c} i=$((i + 1))
	if [ -z "${CAPF[$c]:-}" ]; then
		ktap_fail "$c: $desc: no capture"
		continue
	fi
	extra="${PYALG[$c]} --key ${KEY[$c]}"
	[[ $craft == *--wrap* || $craft == *--strip* || $craft == *--truncate* || $craft == *--spi* ]] &&
		extra=
	pk wesp-craft "${CAPF[$c]}" "$XT_TMP/m$i.pcap" --index "$frame" --copies "$cnt" $craft $extra
	if [[ $PKOUT == *error* ]]; then
		ktap_fail "$c: $desc: crafting failed"
		sed 's/^/#   /' <<<"$PKOUT"
		continue
	fi
	inject "$c" "$XT_TMP/m$i.pcap" "$cnt" "$verdict" "$ctr" "$desc"
done <<<"$MALFORMED"
# the header drops carry a drop reason (kfree_skb tracepoint): two of the
# forgeries above again, refused by the SA / cut before the SPI
for what in "INVALID_PROTO|V = 00" "PKT_TOO_SMALL|3 octets (base header cut)"; do
	reason=${what%%|*} desc=${what#*|}
	i=$(grep -nF -m1 "; $desc ;" <<<"$MALFORMED" | cut -d: -f1)
	if ! xt_dropmon_start; then
		ktap_skip "J4: drop reason $reason: no kfree_skb tracepoint"
		continue
	fi
	pk send --dev veth0 --want 2 "$XT_TMP/m$i.pcap"
	got=$(xt_dropmon_count "$reason")
	xt_dropmon_stop
	if [ "$got" = 2 ]; then
		ktap_ok "J4: $desc: dropped with reason $reason (2 of 2)"
	else
		ktap_fail "J4: $desc: dropped with reason $reason: $got of 2"
	fi
done
# frame 0 of J4 and J6 was the base of every forgery above: none of them may
# have moved the replay window
for c in J4 J6; do
	pk wesp-craft "${CAPF[$c]:-none}" "$XT_TMP/orig.pcap" --index 0
	inject $c "$XT_TMP/orig.pcap" 1 accept - "the untouched packet (SN 1) after all forgeries"
done
ktap_info "malformed: $(xt_since "$t") s"

# -------------------------------------------------- configuration rejects --
NS_C=$(ns_new c)
K20=0x0102030405060708090a0b0c0d0e0f1011121314
XT_CONF_GENL=$GENL
xt_conf_reject "wesp with cbc(aes) + hmac(sha256)" 'AEAD|rfc4106|espx' spi 0x101 mode transport \
	enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f \
	auth-trunc 'hmac(sha256)' 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128 wesp
xt_conf_reject "wesp with rfc4543(gcm(aes))" 'AEAD|rfc4106|espx' spi 0x102 mode transport \
	aead 'rfc4543(gcm(aes))' $K20 128 wesp
xt_conf_reject "wesp with rfc4309(ccm(aes))" 'AEAD|rfc4106|espx' spi 0x103 mode transport \
	aead 'rfc4309(ccm(aes))' 0x0102030405060708090a0b0c0d0e0f101112 128 wesp crypt-offset 2
xt_conf_reject "wesp with encap espinudp" 'not supported|encapsulation' spi 0x104 mode transport \
	aead 'rfc4106(gcm(aes))' $K20 128 encap espinudp 4500 4500 0.0.0.0 wesp
xt_conf_reject "crypt-offset 64 (ip)" '0\.\.63|crypt-offset' spi 0x105 mode transport \
	aead 'rfc4106(gcm(aes))' $K20 128 wesp crypt-offset 64
if [ -n "$GENL" ]; then
	out=$("$GENL" -n "$NS_C" set --daddr 10.9.0.2 --spi 0x106 --wesp 64 2>&1)
	rc=$?
	left=$(xt_left_c)
	if [ $rc != 0 ] && [ -z "$left" ]; then
		ktap_ok "config: crypt-offset 64 rejected by the netlink policy (errno $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-80))"
	else
		ktap_fail "config: crypt-offset 64 over netlink: rc $rc [$out] $left"
	fi
else
	ktap_skip "config: crypt-offset 64 over netlink: espx_genl not built"
fi
out=$(xt_sa_c spi 0x107 mode tunnel aead 'rfc4106(gcm(aes))' $K20 96 flag esn replay-window 64 \
	wesp crypt-offset 5 2>&1 && "$IP" -n "$NS_C" xfrm state list)
if grep -q 'espx status bound wesp crypt-offset 5' <<<"$out"; then
	ktap_ok "config: rfc4106 ICV 96 + flag esn + wesp crypt-offset 5 accepted and listed"
else
	ktap_fail "config: rfc4106 ICV 96 + flag esn + wesp crypt-offset 5: $out"
fi
out=$(xt_sa_c spi 0x108 mode beet aead 'rfc7539esp(chacha20,poly1305)' \
	0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223 128 wesp \
	sel src 10.8.0.1 dst 10.8.0.2 2>&1 &&
	"$IP" -n "$NS_C" xfrm state get src 10.9.0.1 dst 10.9.0.2 proto esp spi 0x108)
if grep -q 'espx status bound wesp crypt-offset 0' <<<"$out"; then
	ktap_ok "config: rfc7539esp + wesp (default crypt-offset 0) accepted"
else
	ktap_fail "config: rfc7539esp + wesp: $out"
fi
ip -n "$NS_C" xfrm state flush
sleep 0.5
if out=$(xt_left_c); then
	ktap_ok "config: flush leaves no SA and no espx config"
else
	ktap_fail "config: flush: $out"
fi

# ------------------------------------------------------------------ end --
if [ -n "$GENL" ]; then
	out=$("$GENL" -n "$NS_B" info 2>&1)
	ktap_info "B netns counters: $(tr '\n' ' ' <<<"$out")"
fi
"$IP" -n "$NS_B" -s xfrm state get src "$(xt_addr "$J4" A outer 4)" dst "$(xt_addr "$J4" B outer 4)" \
	proto esp spi "${XT_SPI1[J4]}" 2>&1 | grep -A4 'espx' | sed 's/^/# J4 at B: /'
xt_end
