#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ESP Echo (esp-echo.md, issue 17), two namespaces running espx:
#   1. the section 8 examples through the Python codec (espx_echo.py);
#   2. the initiator end to end (espx_genl echo in A probing A's outbound SA,
#      espx in B answering): transport, tunnel and BEET, IPv4 and IPv6, and
#      (with the patched ip) a WESPv2 nonce SA and a counter SA; the replies
#      captured on the veth decrypt with the SA key (espx_echo.py);
#   3. the initiator's outcomes: reply on the requested SA, reply on another
#      SA, timeout, one-way, rate limit, echo_rate=0, and the section 7
#      refusals with their errno;
#   4. the section 9 receiver checklist on one injected SA: every crafted
#      request (espx_pkt.py echo-craft: encrypted with the SA key and a fresh
#      SN) gives exactly the per-SA counter deltas it must, and a reply only
#      where one is due (out_echo_reply of B's outbound SAs, counted by espx
#      in B, and the frames B sends on the veth).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

T0=$(xt_now)
P=/sys/module/espx/parameters
ktap_header
if [ "$ESP_IMPL" != espx ] || ! out=$(xt_impl_prepare 2>&1); then
	ktap_plan 1
	ktap_skip "ESP Echo needs espx (ESP_IMPL=$ESP_IMPL): ${out:-}"
	ktap_finish
fi
if ! xt_genl_find || [ ! -e $P/echo_all ]; then
	ktap_plan 1
	ktap_skip "espx_genl not built or espx without ESP Echo"
	ktap_finish
fi
G=$XT_GENL
xt_dmesg_mark
echo_exit() {
	echo 0 >$P/echo_all 2>/dev/null
	echo 10 >$P/echo_rate 2>/dev/null
	echo 10 >$P/echo_burst 2>/dev/null
	xt_cleanup
}
trap echo_exit EXIT

# the patched ip knows the espx keywords: then WESPv2 and counter SAs too
EXT=0
if [ "$IP" != ip ] && "$IP" xfrm state help 2>&1 | grep -q seq-counters; then
	EXT=1
	XT_IP=$IP
fi

xt_case gcm128-16 transport 4 4;	T4=$XT_N
xt_case gcm128-16 transport 6 6;	T6=$XT_N
xt_case gcm128-16 tunnel 4 4;		U4=$XT_N
xt_case gcm128-16 tunnel 6 6;		U6=$XT_N
xt_case gcm128-16 beet 4 4;		B4=$XT_N
xt_case gcm128-16 beet 6 6;		B6=$XT_N
xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 (injected)"; I4=$XT_N
E2E="T4 T6 U4 U6 B4 B6"
if [ $EXT = 1 ]; then
	xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 WESPv2 nonce SA" \
		"wesp crypt-offset 0";	W4=$XT_N
	xt_case gcm128-16 tunnel 6 6 "gcm128-16 tunnel ipv6 counter SA" \
		"$(xt_ctr_opts 2)";	C6=$XT_N
	E2E+=" W4 C6"
fi

NE2E=$(wc -w <<<"$E2E")
ktap_plan $((1 + 2 * NE2E + 12 + 11 + 27 + 2 * EXT + 1))
ktap_info "kernel $(uname -r), patched ip: $EXT"

if out=$($XT_PKT echo-vectors 2>&1); then
	ktap_ok "espx_echo.py reproduces esp-echo.md section 8 octet for octet"
else
	ktap_fail "espx_echo.py reproduces esp-echo.md section 8 octet for octet"
	sed 's/^/#   /' <<<"$out"
fi

t=$(xt_now)
xt_topology || { ktap_fail "topology"; ktap_finish; }
# B's inbound SAs of T4 and I4 answer echo requests (ESPX_A_ECHO, a pending
# config taken by the SA when it is created); the others only with echo_all
for c in T4 I4; do
	n=${!c}
	"$G" -n "$NS_B" set --family 4 --daddr "$(xt_addr "$n" B outer 4)" \
		--spi "${XT_SPI1[n]}" --echo || ktap_info "echo config for $c failed"
done
xt_setup || ktap_info "setup: some cases failed"
xt_servers || { ktap_fail "servers"; ktap_finish; }
for c in $E2E I4; do
	n=${!c}
	[ -z "${XT_BAD[n]}" ] || ktap_info "$c: ${XT_BAD[n]}"
done
# T4 extra SAs: B->A 0x3xxx (another SA to the same peer, another reqid, so
# not the pair), B->A 0x4xxx with a mark (fails the same-peer test), and in A
# an inbound 0x5xxx that B does not have
n=$T4
a4=$(xt_addr "$n" A outer 4) b4=$(xt_addr "$n" B outer 4)
K3=0x$(printf '3%.0s' $(seq 40))
S3=$(printf 0x%x $((0x3000 + n))) S4=$(printf 0x%x $((0x4000 + n))) S5=$(printf 0x%x $((0x5000 + n)))
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" xfrm state add src "$b4" dst "$a4" proto esp spi "$S3" reqid 77 \
		mode transport aead 'rfc4106(gcm(aes))' "$K3" 128 replay-window 32
done
ip -n "$NS_B" xfrm state add src "$b4" dst "$a4" proto esp spi "$S4" reqid "$n" \
	mode transport mark 5 aead 'rfc4106(gcm(aes))' "$K3" 128
ip -n "$NS_A" xfrm state add src "$b4" dst "$a4" proto esp spi "$S5" reqid 78 \
	mode transport aead 'rfc4106(gcm(aes))' "$K3" 128 replay-window 32
ktap_info "setup: $(xt_since "$t") s"

# gstat NS SPI NAME: one espx counter of the SA SPI in NS
gstat() {
	"$G" -n "$1" dump | grep -i " spi $(printf '0x%08x' "$2") " | head -1 |
		awk -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}

# echo_run NS SA-ARGS... ECHO-ARGS...: espx_genl echo; output in EOUT, rc in ERC
echo_run() {
	local ns=$1
	shift
	EOUT=$(timeout 120 "$G" -n "$ns" echo "$@" 2>&1)
	ERC=$?
}

# sa_args n DIR: espx_genl SA id options of case n's SA (1: A->B, 2: B->A)
sa_args() {
	local n=$1 of=${XT_OF[$1]} d=B
	[ "$2" = 2 ] && d=A
	echo "--family $of --daddr $(xt_addr "$n" $d outer "$of") --spi $(xt_spi "$n" "$2")"
}

# ------------------------------------------------------ initiator, e2e --
echo 1 >$P/echo_all
t=$(xt_now)
# one capture on A's veth for every case (one tcpdump start under TCG)
xt_tcpdump "$NS_A" tde2e "$XT_TMP/e2e.pcap" 512 ip proto 50 or ip proto 141 \
	or ip6 proto 50 or ip6 proto 141 || ktap_info "tcpdump failed"
td=$XT_LASTPID
declare -A EO ER
for c in $E2E; do
	echo_run "$NS_A" $(sa_args "${!c}" 1) --count 2 --interval 100 --size 100
	EO[$c]=$EOUT ER[$c]=$ERC
done
sleep 0.3
xt_stop "$td"
# the wire: every request and reply decrypts with its SA's key (espx_echo.py)
sas=
for c in $E2E; do
	n=${!c}
	sas+=" --sa ${XT_SPI1[n]},$(xt_case_key "$n" 1) --sa ${XT_SPI2[n]},$(xt_case_key "$n" 2)"
done
wire=$($XT_PKT echo-check "$XT_TMP/e2e.pcap" $sas 2>&1)
for c in $E2E; do
	n=${!c} of=${XT_OF[n]}
	label="$c (${XT_LABEL[n]})"
	spi1=$(printf '0x%08x' "${XT_SPI1[n]}") spi2=$(printf '0x%08x' "${XT_SPI2[n]}")
	EOUT=${EO[$c]} ERC=${ER[$c]}
	replies=$(grep -c "^reply from $(xt_addr "$n" B outer "$of") spi $spi2 .* len 100 " <<<"$EOUT")
	if [ "$ERC" = 0 ] && [ "$replies" = 2 ] &&
	   grep -q '^2 sent, 2 received, 0% loss' <<<"$EOUT"; then
		ktap_ok "$label: 2 probes, 2 replies on $spi2"
	else
		ktap_fail "$label: 2 probes, 2 replies on $spi2 (rc $ERC)"
		sed 's/^/#   /' <<<"$EOUT"
	fi
	# section 3: the requests carry Sub-Type 2, R, the reply SPI and the
	# Data pattern; the replies the same header with Sub-Type 3
	if [ "$(grep -c "^spi $spi1 .* nh 144 subtype 2 flags 0x80 dlen 100 .* reply_spi $spi2 data_ok 1 " <<<"$wire")" = 2 ] &&
	   [ "$(grep -c "^spi $spi2 .* nh 144 subtype 3 flags 0x80 dlen 100 .* reply_spi $spi2 data_ok 1 " <<<"$wire")" = 2 ]; then
		ktap_ok "$label: the captured requests and replies decrypt as section 3 says"
	else
		ktap_fail "$label: the captured requests and replies decrypt as section 3 says"
		grep -E "^spi ($spi1|$spi2) " <<<"$wire" | sed 's/^/#   /'
	fi
done
ktap_info "e2e: $(xt_since "$t") s"

# ------------------------------------------------- initiator outcomes --
n=$T4
echo 0 >$P/echo_all
SA1="--family 4 --daddr $b4 --spi ${XT_SPI1[n]}"
spi1=$(printf '0x%08x' "${XT_SPI1[n]}") spi2=$(printf '0x%08x' "${XT_SPI2[n]}")

check_echo() {	# DESC REGEX [RC]: EOUT matches REGEX (grep -E), rc RC (0)
	if [ "$ERC" = "${3:-0}" ] && grep -qE "$2" <<<"$EOUT"; then
		ktap_ok "$1"
	else
		ktap_fail "$1 (rc $ERC)"
		sed 's/^/#   /' <<<"$EOUT"
	fi
}

echo_run "$NS_A" $SA1 --reply-spi "$S3"
check_echo "T4: reply on the requested SA $S3 (not the pair)" \
	"^reply from $b4 spi $(printf '0x%08x' "$S3") "
echo_run "$NS_A" $SA1 --reply-spi "$S5"
check_echo "T4: reply-spi $S5 unknown to B: the reply comes on the pair, REPLY_OTHER_SA" \
	"^seq 1 reply on spi $spi2 \(requested $(printf '0x%08x' "$S5")\)"
fb=$(gstat "$NS_B" "${XT_SPI1[n]}" echo_reply_fallback)
if [ "$fb" = 1 ]; then
	ktap_ok "T4: B counted echo_reply_fallback 1"
else
	ktap_fail "T4: B counted echo_reply_fallback 1 (${fb:-none})"
fi
echo_run "$NS_A" $SA1 --one-way
check_echo "T4: one-way probe sent, no reply" "^seq 1 sent \(one-way\)"
ow=$(gstat "$NS_B" "${XT_SPI1[n]}" in_echo_oneway)
[ "$ow" = 1 ] && ktap_ok "T4: B counted in_echo_oneway 1" ||
	ktap_fail "T4: B counted in_echo_oneway 1 (${ow:-none})"
echo_run "$NS_A" --family 6 --daddr "$(xt_addr "$T6" B outer 6)" --spi "${XT_SPI1[T6]}" \
	--timeout 300
check_echo "T6 without echo (echo_all=0): timeout, with the liveness hint" \
	"^seq 1 timeout \(inbound spi $(printf '0x%08x' "${XT_SPI2[T6]}"): \+[0-9]+ packets since start\)" 0
dis=$(gstat "$NS_B" "${XT_SPI1[T6]}" in_drop_echo_disabled)
[ "$dis" = 1 ] && ktap_ok "T6: B counted in_drop_echo_disabled 1" ||
	ktap_fail "T6: B counted in_drop_echo_disabled 1 (${dis:-none})"
echo 1 >$P/echo_rate
echo 3 >$P/echo_burst
before=$(gstat "$NS_B" "${XT_SPI1[n]}" in_echo_ratelimited)
echo_run "$NS_A" $SA1 --count 5 --interval 10 --timeout 500
rl=$(($(gstat "$NS_B" "${XT_SPI1[n]}" in_echo_ratelimited) - before))
if grep -q '^5 sent, 3 received' <<<"$EOUT" && [ $rl = 2 ]; then
	ktap_ok "T4: echo_rate=1 echo_burst=3: 5 probes, 3 replies, 2 rate-limited"
else
	ktap_fail "T4: echo_rate=1 echo_burst=3: 5 probes, 3 replies, 2 rate-limited ($rl)"
	sed 's/^/#   /' <<<"$EOUT"
fi
echo 0 >$P/echo_rate
echo_run "$NS_A" $SA1 --count 2 --interval 10 --timeout 300
check_echo "T4: echo_rate=0: no reply" "^2 sent, 0 received, 100% loss"
echo 10 >$P/echo_rate
echo 10 >$P/echo_burst
echo_run "$NS_A" $SA1 --size 65000
check_echo "T4: a probe larger than the path MTU: send error EMSGSIZE" \
	"^seq 1 send error: Message too long"
# a reply is never larger than its request: B's reply SA has the mark SA's
# overhead... here the same: the reply Data equals the request's
echo_run "$NS_A" $SA1 --size 1400
check_echo "T4: 1400 octets of Data (1472 on the wire): the whole Data comes back" \
	"^reply from $b4 .* len 1400 "
echo_run "$NS_A" $SA1 --ident 0x4242 --count 3 --interval 1000 &
bg=$!
sleep 0.5
echo_run "$NS_A" $SA1 --ident 0x4242
check_echo "section 7: ident in use: EBUSY" "in use" 16
wait $bg

# section 7 refusals: errno and extack
refuse() {	# DESC RC REGEX ARGS...
	local d=$1 rc=$2 re=$3
	shift 3
	echo_run "$NS_A" "$@"
	check_echo "section 7: $d: errno $rc" "$re" "$rc"
}
refuse "count 0" 34 "" $SA1 --count 0
refuse "count 1001" 34 "" $SA1 --count 1001
refuse "interval 9" 34 "" $SA1 --interval 9
refuse "timeout 99" 34 "" $SA1 --timeout 99
refuse "size 65524" 34 "" $SA1 --size 65524
refuse "unknown SA" 2 "no espx SA" --family 4 --daddr "$b4" --spi 0x7777
refuse "an inbound SA" 22 "not an outbound SA" --family 4 --daddr "$a4" --spi "${XT_SPI2[n]}"
refuse "reply-spi and one-way" 22 "exclude" $SA1 --reply-spi "$S3" --one-way
refuse "reply-spi of no inbound SA" 22 "reply-spi names no" $SA1 --reply-spi 0x7777
out=$("$G" -n "$NS_B" set --family 4 --daddr 10.96.0.1 --spi 0x777 --echo \
	--diet 8,8 2>&1)
rc=$?
[ $rc = 95 ] && grep -q "Diet-ESP" <<<"$out" &&
	ktap_ok "section 7: echo on a Diet-ESP config: EOPNOTSUPP" ||
	ktap_fail "section 7: echo on a Diet-ESP config: EOPNOTSUPP (rc $rc: $out)"
# no paired inbound SA: a lone outbound SA in A
ip -n "$NS_A" xfrm state add src "$a4" dst "$b4" proto esp spi 0x6001 reqid 99 \
	mode transport aead 'rfc4106(gcm(aes))' "$K3" 128
refuse "no paired inbound SA" 22 "no paired inbound SA" --family 4 --daddr "$b4" --spi 0x6001

# ------------------------------------------------------ the patched ip --
if [ $EXT = 1 ]; then
	n=$T4	# its inbound SA in B has the echo flag (echo_all is 0 here)
	out=$(timeout 120 "$IP" -n "$NS_A" xfrm state echo src "$(xt_addr "$n" A outer 4)" \
		dst "$(xt_addr "$n" B outer 4)" proto esp spi "${XT_SPI1[n]}" count 2 \
		interval 100 2>&1)
	rc=$?
	if [ $rc = 0 ] &&
	   [ "$(grep -c "^reply from $(xt_addr "$n" B outer 4) spi $(printf '0x%08x' "${XT_SPI2[n]}") ident 0x[0-9a-f]* seq [12] len 56 time " <<<"$out")" = 2 ] &&
	   grep -qE '^2 sent, 2 received, 0% loss, rtt min/avg/max [0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out"; then
		ktap_ok "ip xfrm state echo: a line per reply and the summary"
	else
		ktap_fail "ip xfrm state echo: a line per reply and the summary (rc $rc)"
		sed 's/^/#   /' <<<"$out"
	fi
	"$IP" -n "$NS_B" xfrm state add src "$b4" dst "$a4" proto esp spi 0x4400 \
		reqid 92 mode transport aead 'rfc4106(gcm(aes))' "$K3" 128 echo
	out=$("$IP" -n "$NS_B" xfrm state get src "$b4" dst "$a4" proto esp spi 0x4400 2>&1)
	g=$("$G" -n "$NS_B" get --family 4 --daddr "$a4" --spi 0x4400 2>&1)
	if grep -q 'espx status bound echo$' <<<"$out" && grep -q ' status bound echo ' <<<"$g"; then
		ktap_ok "ip xfrm state add ... echo: the SA answers echo (ip and espx_genl show it)"
	else
		ktap_fail "ip xfrm state add ... echo: the SA answers echo (ip and espx_genl show it)"
		sed 's/^/#   /' <<<"$out"$'\n'"$g"
	fi
fi

# -------------------------------------------- receiver checklist (I4) --
n=$I4
t=$(xt_now)
ia=$(xt_addr "$n" A outer 4) ib=$(xt_addr "$n" B outer 4)
IS1=${XT_SPI1[n]} IS2=${XT_SPI2[n]}
WAIT_READY=1 xt_bg "$NS_A" cap $XT_PKT capture --dev veth0 --out "$XT_TMP/cap.pcap" \
	--count 1 --dir out --spi "$IS1" --timeout 60
ip netns exec "$NS_A" bash -c "echo x > /dev/udp/$ib/$XT_SINK_PORT"
wait "$XT_LASTPID"
# B->A extra SAs for I4: another peer's address cannot be named; a mark
ip -n "$NS_B" xfrm state add src "$ib" dst "$ia" proto esp spi 0x4100 reqid "$n" \
	mode transport mark 7 aead 'rfc4106(gcm(aes))' "$K3" 128
ip -n "$NS_B" xfrm state add src "$ib" dst "$ia" proto esp spi 0x4200 reqid 90 \
	mode transport if_id 3 aead 'rfc4106(gcm(aes))' "$K3" 128 2>/dev/null
ip -n "$NS_B" xfrm state add src "$ib" dst "$ia" proto esp spi 0x4300 reqid 91 \
	mode transport aead 'rfc4106(gcm(aes))' "$K3" 128
xt_serve_start "$NS_A" "$XT_ECHO_PID_B" "$XT_TMP/udpB.rx" 3 ||
	ktap_info "serve: $XT_PKOUT"
PYI=$(xt_alg_py "${XT_ALG[n]}")
KEYI=$(xt_case_key "$n" 1)
SN=100000
s1=$(printf 0x%x "$IS1") s2=$(printf 0x%x "$IS2")

# inj DESC WANT FORBID CRAFT-ARGS...: craft (fresh SN), send, compare the
# deltas: every "name+N" of WANT exactly (names are B's espx counters
# espx:SPI:NAME or others), none matching the regex FORBID
inj() {
	local desc=$1 want=$2 forbid=$3 w bad=
	shift 3
	xt_pk echo-craft "$XT_TMP/cap.pcap" "$XT_TMP/e.pcap" --index 0 $PYI --key "$KEYI" \
		--sn $SN "$@"
	SN=$((SN + 1))
	if [[ $XT_PKOUT == *error* ]]; then
		ktap_fail "$desc: crafting failed"
		sed 's/^/#   /' <<<"$XT_PKOUT"
		return
	fi
	xt_pk send --dev veth0 "$XT_TMP/e.pcap"
	xt_dload
	for w in $want; do
		[ "${XT_DELTA[${w%+*}]:-0}" = "${w##*+}" ] || bad+=" ${w}"
	done
	[ -n "$forbid" ] && [[ " $XT_D " =~ $forbid ]] && bad+=" forbidden:${BASH_REMATCH[0]}"
	if [ -z "$bad" ]; then
		ktap_ok "I4: $desc"
	else
		ktap_fail "I4: $desc: want [$want] got [$XT_D] (${bad# })"
	fi
}
NOREPLY=':out_echo_reply\+'
REQ="espx:$s1:in_echo_request+1"
R2="espx:$s2:out_echo_reply+1"

inj "valid request: one reply on the requested SA $s2" "$REQ $R2 espx:$s1:echo_reply_fallback+0" "" \
	--reply-spi "$IS2"
cp "$XT_TMP/e.pcap" "$XT_TMP/valid.pcap"
xt_pk send --dev veth0 "$XT_TMP/valid.pcap"
xt_dload
if [ "${XT_DELTA[espx:$s1:in_drop_echo_replay]:-0}" = 1 ] &&
   ! [[ " $XT_D " =~ $NOREPLY ]]; then
	ktap_ok "I4: the same request again: in_drop_echo_replay, no reply"
else
	ktap_fail "I4: the same request again: in_drop_echo_replay, no reply [$XT_D]"
fi
inj "two copies at once: exactly one reply" "$REQ $R2 espx:$s1:in_drop_echo_replay+1" "" \
	--reply-spi "$IS2" --copies 2
# esp-echo.md §9 asks in-drop-echo-truncated for this one; the RFC 4303
# trailer check of esp-baseline.md §5 (like Linux: at least one payload
# octet) comes first and drops it as in-drop-padding
inj "NH 144 with a 0-octet payload: dropped by the trailer check, no reply" \
	"espx:$s1:in_drop_padding+1 espx:$s1:in_echo_request+0" "$NOREPLY" --payload empty
inj "11-octet echo: in_drop_echo_truncated, no reply" "espx:$s1:in_drop_echo_truncated+1" \
	"$NOREPLY" --payload 0280000012340001000020
inj "Data Length one more than the payload: in_drop_echo_length" \
	"espx:$s1:in_drop_echo_length+1" "$NOREPLY" --reply-spi "$IS2" --dlen 17
inj "Data Length one less than the payload: in_drop_echo_length" \
	"espx:$s1:in_drop_echo_length+1" "$NOREPLY" --reply-spi "$IS2" --dlen 15
inj "-03 style 8-octet R=0 header with 4 octets of Data: in_drop_echo_length" \
	"espx:$s1:in_drop_echo_length+1" "$NOREPLY" --payload 020000041234000170696e67
for st in 0 1 7; do
	inj "Sub-Type $st: in_drop_aggfrag, not delivered, no ICMP" "espx:$s1:in_drop_aggfrag+1" \
		"$NOREPLY|IcmpOut|APP" --subtype $st --reply-spi "$IS2"
done
inj "a flipped ciphertext bit: in_drop_icv, no reply" "espx:$s1:in_drop_icv+1" "$NOREPLY" \
	--reply-spi "$IS2" --flip 20
inj "a flipped ICV bit: in_drop_icv, no reply" "espx:$s1:in_drop_icv+1" "$NOREPLY" \
	--reply-spi "$IS2" --flip -1
inj "R=0: in_echo_oneway, no reply" "espx:$s1:in_echo_oneway+1" "$NOREPLY" --flags 0
inj "reserved bits set: answered" "$REQ $R2" "" --flags 0xff --reply-spi "$IS2"
inj "Reply path SPI unknown: the pair answers, echo_reply_fallback" \
	"$REQ $R2 espx:$s1:echo_reply_fallback+1" "" --reply-spi 0x7777
inj "Reply path SPI 0: the pair answers, echo_reply_fallback" \
	"$REQ $R2 espx:$s1:echo_reply_fallback+1" "" --reply-spi 0
inj "Reply path SPI of another peer address ($(printf 0x%x "${XT_SPI2[T4]}")): the pair" \
	"$REQ $R2 espx:$s1:echo_reply_fallback+1 espx:$(printf 0x%x "${XT_SPI2[T4]}"):out_echo_reply+0" \
	"" --reply-spi "${XT_SPI2[T4]}"
inj "Reply path SPI with another mark (0x4100): the pair" \
	"$REQ $R2 espx:$s1:echo_reply_fallback+1 espx:0x4100:out_echo_reply+0" "" --reply-spi 0x4100
if ip -n "$NS_B" xfrm state get src "$ib" dst "$ia" proto esp spi 0x4200 >/dev/null 2>&1; then
	inj "Reply path SPI with another if_id (0x4200): the pair" \
		"$REQ $R2 espx:$s1:echo_reply_fallback+1 espx:0x4200:out_echo_reply+0" "" \
		--reply-spi 0x4200
else
	ktap_skip "I4: Reply path SPI with another if_id: ip lacks if_id"
fi
inj "Reply path SPI of a valid SA of the peer (0x4300, no pair): that SA, its next SN" \
	"$REQ espx:0x4300:out_echo_reply+1 espx:$s1:echo_reply_fallback+0 espx:$s2:out_echo_reply+0" \
	"" --reply-spi 0x4300
sn43=$(ip -n "$NS_B" -s xfrm state get src "$ib" dst "$ia" proto esp spi 0x4300 |
	grep -o 'oseq 0x[0-9a-f]*' | head -1)
[ "$sn43" = "oseq 0x1" ] && ktap_ok "I4: 0x4300's output SN is 1 after its first reply" ||
	ktap_fail "I4: 0x4300's output SN is 1 after its first reply (${sn43:-none})"
# expired: a hard byte limit reached on 0x4300
ip -n "$NS_B" xfrm state update src "$ib" dst "$ia" proto esp spi 0x4300 reqid 91 \
	mode transport aead 'rfc4106(gcm(aes))' "$K3" 128 limit byte-hard 1 2>/dev/null
inj "Reply path SPI of an SA past its hard limit: the pair answers" \
	"$REQ $R2 espx:0x4300:out_echo_reply+0 espx:$s1:echo_reply_fallback+1" "" --reply-spi 0x4300
# echo flag off (I4's inbound has it; echo_all=0): T6 tested above; rate
echo 0 >$P/echo_rate
inj "echo_rate=0: no reply, in_echo_ratelimited" "$REQ espx:$s1:in_echo_ratelimited+1" \
	"$NOREPLY" --reply-spi "$IS2"
echo 10 >$P/echo_rate
inj "a reply's Sub-Type with no probe outstanding: in_drop_echo_unsolicited" \
	"espx:$s1:in_drop_echo_unsolicited+1" "$NOREPLY" --subtype 3
# unencrypted mode: never answered, counted per namespace
for spi in 7 8; do
	xt_pk echo-plain "$XT_TMP/cap.pcap" "$XT_TMP/p.pcap" --spi $spi
	xt_pk send --dev veth0 "$XT_TMP/p.pcap"
	xt_dload
	if [ "${XT_DELTA[espxns:echo_plain]:-0}" = 1 ] &&
	   [ "${XT_DELTA[XfrmInNoStates]:-0}" = 1 ] && ! [[ " $XT_D " =~ $NOREPLY ]]; then
		ktap_ok "I4: SPI $spi over protocol 50: never answered, ns echo_plain counted"
	else
		ktap_fail "I4: SPI $spi over protocol 50: never answered, ns echo_plain counted [$XT_D]"
	fi
done
# a truncated-to-MTU reply: a 1400-octet request answered on 0x4100's... the
# pair; Data Length of the reply = what B sent (checked by echo-check above)
ktap_info "receiver checklist: $(xt_since "$t") s"

if out=$(xt_dmesg_check); then
	ktap_ok "dmesg: no WARN/BUG/oops"
else
	ktap_fail "dmesg: no WARN/BUG/oops"
	sed 's/^/#   /' <<<"$out"
fi
ktap_info "echo.sh: $(xt_since "$T0") s"
ktap_finish
