#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ESP data path, negative cases (esp-baseline.md section 10, beet.md section 7):
# the receiver must drop replayed, tampered, truncated and malformed packets and
# count every drop. Valid for any ESP implementation (ESP_IMPL=stock|espx).
#
# How: A sends UDP datagrams through an SA while B does not know the SA yet, so
# the captured ESP packets (captured on A's veth0) are all fresh for B; then B
# gets the SA and espx_pkt.py, one process for the whole test, mutates or
# re-encrypts (with the SA key) a captured packet, injects it from A's side of
# the veth and reports the counter deltas the packet caused in B's namespace
# (/proc/net/xfrm_stat, snmp, netstat, snmp6; APP = datagrams B's UDP sink
# got; a sink, not an echo, so that B sends nothing back and A nothing again). Each test point checks that delta: the named counter rose and the
# application got nothing (drops), or the application got it and no error
# counter moved (accepts).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

xt_begin --any

xt_case gcm128-16 transport 4 4;	R4=$XT_N
xt_case gcm128-16 transport 6 6;	R6=$XT_N
xt_case sha256-cbc128 transport 4 4;	RC=$XT_N
xt_case gcm128-16 tunnel 4 4;		RT=$XT_N
xt_case gcm128-16 beet 4 4;		RB4=$XT_N
xt_case gcm128-16 beet 6 6;		RB6=$XT_N
xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 esn" "flag esn replay-window 64"
RE=$XT_N
xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 udp-encap" encap
RU=$XT_N

# Counter names a drop may be counted under when the spec names none: any xfrm
# input error, or the IP layer's header/truncation/protocol drops (Linux BEET
# rebuilds the inner header and leaves some checks to ip_rcv / ipv6_rcv).
ANYX='XfrmIn[A-Za-z]*Error|XfrmInNoStates|XfrmInStateInvalid|XfrmInStateMismatch'
IPDROP='IpInHdrErrors|IpExtInTruncatedPkts|IpInDiscards|IpInUnknownProtos'
IP6DROP='Ip6InHdrErrors|Ip6InTruncatedPkts|Ip6InDiscards|Ip6InUnknownProtos'
BEETPH_MAX=$(printf '01%.0s' $(seq 52))

# The test table: CASE FRAME accept|drop EXPECT ; DESCRIPTION ; OPERATION
# (EXPECT: a regex of counter names, one of which must rise)
# FRAME indexes the case's captured packets (SN = FRAME + 1). OPERATION: "raw"
# (as captured), "mutate ARGS" or "reseal ARGS" (espx_pkt.py; reseal gets the
# case's key and algorithm added).
TESTS=$(cat <<EOF
R4 0 accept - ; valid packet accepted ; raw
R4 0 drop XfrmInStateSeqError ; replayed packet ; raw
R4 1 drop XfrmInStateSeqError ; SN 0 (valid ICV) ; reseal --sn 0
R4 2 drop XfrmInNoStates ; SPI bit flipped (unknown SPI, no ICMP) ; mutate --flip spi --bit 0
R4 3 drop XfrmInStateProtoError ; SN bit flipped ; mutate --flip sn --bit 1
R4 4 drop XfrmInStateProtoError ; IV bit flipped ; mutate --flip iv
R4 5 drop XfrmInStateProtoError ; ciphertext bit flipped ; mutate --flip ct
R4 6 drop XfrmInStateProtoError ; ICV bit flipped ; mutate --flip icv
R4 7 accept - ; valid packet after the forgeries (window not advanced by them) ; raw
R4 8 drop XfrmInHdrError|XfrmInStateProtoError ; truncated to 8+8+16+1 octets (one short) ; mutate --truncate 33
R4 9 drop XfrmInHdrError|XfrmInStateProtoError ; truncated to SPI+SN+IV ; mutate --truncate 16
R4 10 drop XfrmInHdrError|XfrmInStateProtoError ; truncated to 6 octets ; mutate --truncate 6
R4 11 drop XfrmInStateProtoError ; Pad Length 255 (past the payload) ; reseal --pad-len 255
R4 12 drop XfrmInStateProtoError ; Pad Length covering the whole payload ; reseal --pad-len -1
R4 13 accept - ; valid SN 1000 (window jumps) ; reseal --sn 1000
R4 14 drop XfrmInStateSeqError ; SN 900, left of the window ; reseal --sn 900
R6 0 accept - ; valid packet accepted ; raw
R6 0 drop XfrmInStateSeqError ; replayed packet ; raw
R6 1 drop XfrmInNoStates ; SPI bit flipped ; mutate --flip spi --bit 0
R6 2 drop XfrmInStateProtoError ; ICV bit flipped ; mutate --flip icv
R6 3 drop XfrmInHdrError|XfrmInStateProtoError ; truncated to 8+8+16+1 octets ; mutate --truncate 33
RC 0 accept - ; valid packet accepted ; raw
RC 1 drop XfrmInStateProtoError ; ciphertext bit flipped ; mutate --flip ct --ivlen 16
RC 2 drop XfrmInStateProtoError ; ICV bit flipped ; mutate --flip icv
RC 3 drop XfrmInHdrError|XfrmInStateProtoError ; truncated to 8+16+16+1 octets ; mutate --truncate 41
RT 0 drop $ANYX ; tunnel mode, Next Header 17 instead of 4 ; reseal --next-header 17
RT 1 drop $ANYX|$IPDROP ; tunnel mode, inner packet shorter than its Total Length ; reseal --truncate-payload 4
RT 2 accept - ; valid packet accepted ; raw
RB4 0 accept - ; BEET pseudo-header with Router Alert accepted ; reseal --next-header 94 --prefix 1100000094040000
RB4 1 drop $ANYX|$IPDROP ; BEET NH 94 with 2 octets of payload ; reseal --next-header 94 --payload 1100
RB4 2 drop $ANYX|$IPDROP ; BEET pseudo-header PadLen 2 (odd optlen) ; reseal --next-header 94 --prefix 110002000101
RB4 3 drop $ANYX|$IPDROP ; BEET pseudo-header HdrLen 0 PadLen 8 (negative optlen) ; reseal --next-header 94 --prefix 110008000101010101010101
RB4 4 drop $ANYX|$IPDROP ; BEET pseudo-header HdrLen 6 (optlen 52 > 40) ; reseal --next-header 94 --prefix 11060000$BEETPH_MAX
RB4 5 drop $ANYX|$IPDROP ; BEET pseudo-header longer than the payload ; reseal --next-header 94 --payload 11020400010101019404
RB6 0 drop $ANYX|$IP6DROP ; BEET IPv6-inner SA receiving NH 94 ; reseal --next-header 94 --prefix 1100000094040000
RB6 1 accept - ; valid packet accepted ; raw
RE 0 accept - ; valid packet accepted ; raw
RE 1 drop XfrmInStateProtoError ; sender used SNhi 1, receiver infers 0 ; reseal --esn-hi 0 --seal-esn-hi 1
RE 0 drop XfrmInStateSeqError ; replayed packet ; raw
RU 0 accept - ; valid packet accepted ; raw
RU 1 drop XfrmInNoStates ; SPI bit flipped ; mutate --flip spi --bit 0
RU 2 drop XfrmInStateProtoError ; ICV bit flipped ; mutate --flip icv
EOF
)
declare -A NCAP=([R4]=16 [R6]=4 [RC]=4 [RT]=3 [RB4]=6 [RB6]=2 [RE]=3 [RU]=3)
CASES="R4 R6 RC RT RB4 RB6 RE RU"

# points: vectors, one capture per case, one reseal self-check per AEAD case kind
# (R4, RE), the table, IKE marker, espx stats, dmesg
ktap_plan $((1 + 8 + 2 + $(wc -l <<<"$TESTS") + 1 + 1 + 1))
ktap_info "ESP_IMPL=$ESP_IMPL kernel $(uname -r)"

out=$($XT_PKT vectors 2>&1)
if [ $? = 0 ]; then
	ktap_ok "espx_pkt.py AEAD code matches the spec's test vectors"
else
	ktap_fail "espx_pkt.py AEAD code matches the spec's test vectors"
	sed 's/^/#   /' <<<"$out"
fi

t=$(xt_now)
xt_setup || { ktap_fail "topology"; ktap_finish; }
xt_servers || { ktap_fail "servers"; ktap_finish; }
ktap_info "setup: $(xt_since "$t") s"

# The injector/crafter: one espx_pkt.py process in A for the whole test.
XT_SERVE_ESPX='' xt_serve_start "$NS_A" "$XT_ECHO_PID_B" "$XT_TMP/udpB.rx" 2 ||
	ktap_info "espx_pkt.py serve: $XT_PKOUT"

# Capture: B forgets its A->B SAs, A sends NCAP[C] datagrams per case (captured
# on A's veth0), B gets the SAs back: every captured packet is fresh for B.
t=$(xt_now)
declare -A CAP KEY PYALG
total=0 dels='' adds='' sends=''
for c in $CASES; do
	n=${!c}
	total=$((total + NCAP[$c]))
	dels+="xfrm state delete src $(xt_addr "$n" A outer "${XT_OF[n]}")"
	dels+=" dst $(xt_addr "$n" B outer "${XT_OF[n]}") proto esp spi ${XT_SPI1[n]}"$'\n'
	adds+=$(grep -m1 "^xfrm state add .* spi ${XT_SPI1[n]} " "$XT_TMP/batch-all.B")$'\n'
	sends+="for i in \$(seq ${NCAP[$c]}); do echo reject-$c-\$i > /dev/udp/${XT_DST[n]}/$XT_SINK_PORT; done; "
	KEY[$c]=$(xt_case_key "$n" 1)
	PYALG[$c]=$(xt_alg_py "${XT_ALG[n]}")
done
ip -n "$NS_B" -batch - <<<"$dels"
WAIT_READY=1 xt_bg "$NS_A" cap $XT_PKT capture --dev veth0 --out "$XT_TMP/cap.pcap" \
	--count $total --dir out --timeout 120
ip netns exec "$NS_A" bash -c "$sends"
wait "$XT_LASTPID"
ip -n "$NS_B" -batch - <<<"$adds"
xt_pk split "$XT_TMP/cap.pcap" "$XT_TMP/cap"
for c in $CASES; do
	n=${!c} cnt=${NCAP[$c]}
	got=$(awk -v s="${XT_SPI1[n]}" '$1 == s { print $2 }' <<<"$XT_PKOUT")
	if [ "${got:-0}" = "$cnt" ]; then
		ktap_ok "$c (${XT_LABEL[n]}): captured $cnt ESP packets, SN 1..$cnt"
		CAP[$c]=$XT_TMP/cap-${XT_SPI1[n]}.pcap
	else
		ktap_fail "$c (${XT_LABEL[n]}): captured ${got:-0} of $cnt ESP packets"
		sed 's/^/#   /' <<<"$XT_PKOUT"
	fi
done
ktap_info "captures: $(xt_since "$t") s"

# reseal without changes must give back the kernel's packet octet for octet
for c in R4 RE; do
	n=${!c} hi=
	[ $c = RE ] && hi="--esn-hi 0"
	xt_pk reseal "${CAP[$c]:-none}" "$XT_TMP/same.pcap" --index 0 ${PYALG[$c]} --key "${KEY[$c]}" $hi
	if grep -q identical <<<"$XT_PKOUT"; then
		ktap_ok "$c: espx_pkt.py decrypts the kernel's packet and re-encrypts it identically"
	else
		ktap_fail "$c: espx_pkt.py decrypts the kernel's packet and re-encrypts it identically"
		sed 's/^/#   /' <<<"$XT_PKOUT"
	fi
done

# ------------------------------------------------------------ the table --
t=$(xt_now)
i=0
while IFS=';' read -r head desc op; do
	read -r c frame kind expect <<<"$head"
	desc=${desc# } desc=${desc% } op=${op# }
	n=${!c} i=$((i + 1))
	label="$c (${XT_LABEL[n]}) $desc"
	if [ -z "${CAP[$c]:-}" ]; then
		ktap_fail "$label: no capture"
		continue
	fi
	f=${CAP[$c]} sendargs="--index $frame"
	case $op in
	raw*) ;;
	mutate*|reseal*)
		extra=
		[[ $op == reseal* ]] && extra="${PYALG[$c]} --key ${KEY[$c]}"
		[ $c = RE ] && [[ $op == reseal* ]] && [[ $op != *esn-hi* ]] && extra+=" --esn-hi 0"
		xt_pk ${op%% *} "$f" "$XT_TMP/t$i.pcap" --index "$frame" ${op#* } $extra
		if [[ $XT_PKOUT == *error* ]]; then
			ktap_fail "$label: crafting failed"
			sed 's/^/#   /' <<<"$XT_PKOUT"
			continue
		fi
		f=$XT_TMP/t$i.pcap sendargs= ;;
	esac
	xt_pk send --dev veth0 "$f" $sendargs
	delta=
	[[ $XT_PKOUT =~ delta\ ([^$'\n']*) ]] && delta=${BASH_REMATCH[1]}
	d=" $delta "
	if [ "$kind" = accept ]; then
		if [[ $d == *" APP+1 "* ]] && ! [[ $d =~ \ Xfrm[A-Za-z]+\+ ]]; then
			ktap_ok "$label"
		else
			ktap_fail "$label: got [$delta]"
		fi
	else
		ok=1
		[[ $d =~ \ ($expect)\+ ]] || ok=0
		[[ $d == *" APP+"* ]] && ok=0
		# unknown SPI: no ICMP error back (esp-baseline.md 10)
		[[ $expect == XfrmInNoStates ]] && [[ $d =~ \ Icmp6?OutMsgs\+ ]] && ok=0
		if [ $ok = 1 ]; then
			ktap_ok "$label [$delta]"
		else
			ktap_fail "$label: want +[$expect], got [$delta]"
		fi
	fi
done <<<"$TESTS"
ktap_info "table: $(xt_since "$t") s"

# UDP encapsulation: a datagram starting with 4 zero octets (non-ESP marker) is IKE:
# it goes to the socket, never to ESP input
n=$RU
before=$(xt_errs "$NS_B")
ip netns exec "$NS_A" bash -c "printf '\\0\\0\\0\\0ike-marker-$$\\n' > /dev/udp/${XT_DST[n]}/4500"
for w in $(seq 30); do
	grep -q "ike-marker-$$" "$XT_TMP/ikeB.rx" 2>/dev/null && break
	sleep 0.1
done
after=$(xt_errs "$NS_B")
if grep -q "ike-marker-$$" "$XT_TMP/ikeB.rx" 2>/dev/null && [ "$before" = "$after" ]; then
	ktap_ok "RU: UDP-encap datagram with the non-ESP marker goes to the IKE socket"
else
	ktap_fail "RU: UDP-encap datagram with the non-ESP marker goes to the IKE socket (xfrm errors '$before' -> '$after')"
fi

# espx's own per-SA drop statistics (espx_genl dump in B's namespace)
GENL=
for g in "${ESPX_BIN:-}/espx_genl" "$XT_DIR/espx_genl" "$XT_DIR/../build/selftests/espx_genl"; do
	[ -x "$g" ] && { GENL=$g; break; }
done
if [ "$ESP_IMPL" != espx ]; then
	ktap_skip "espx per-SA statistics: ESP_IMPL=$ESP_IMPL"
elif [ -z "$GENL" ]; then
	ktap_skip "espx per-SA statistics: espx_genl not built"
else
	# R4's ICV failures: its rows with a bit flipped under a valid SN
	want=$(grep -cE '^R4 [0-9]+ drop XfrmInStateProtoError ; .* bit flipped ;' <<<"$TESTS")
	out=$("$GENL" -n "$NS_B" dump 2>&1)
	line=$(grep -i "spi ${XT_SPI1[R4]} \|spi $(printf '0x%08x' "${XT_SPI1[R4]}") " <<<"$out" | head -1)
	got=$(awk '{ for (i = 1; i < NF; i++) if ($i == "in_drop_icv") print $(i + 1) }' <<<"$line")
	if [ "$got" = "$want" ]; then
		ktap_ok "espx per-SA statistics count the $want ICV drops of R4"
	else
		ktap_fail "espx per-SA statistics count the $want ICV drops of R4: in_drop_icv ${got:-none}"
		sed 's/^/#   /' <<<"$out"
	fi
fi

xt_end
