#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The patched ip (tools/iproute2): espx keywords on `ip xfrm state add/update`, the espx
# line in `list/get` (text, -s, -j), cleanup of the pending config when NEWSA fails, and
# unchanged behaviour for plain commands; the sequence-counter keywords without traffic.
# Uses espx_genl to look at the kernel's table.
. "$(dirname "$0")/lib.sh"

ktap_header
PLAN=85
ktap_plan $PLAN

ns=$(ns_new ipr)
a=$(ns_new ipra); b=$(ns_new iprb)
K=0x0102030405060708090a0b0c0d0e0f1011121314
AEAD=(aead 'rfc4106(gcm(aes))' $K 128)
nentries() { espx_genl -n "$ns" count; }
# has_all TEXT PATTERN...: every pattern is in TEXT; a pattern "!P": P is not.
has_all() {
	local text=$1 p
	shift
	for p; do
		if [ "${p:0:1}" = '!' ]; then
			! grep -Eq -- "${p:1}" <<<"$text" || { echo "unexpected '${p:1}' in:"; echo "$text"; return 1; }
		else
			grep -Eq -- "$p" <<<"$text" || { echo "no '$p' in:"; echo "$text"; return 1; }
		fi
	done
}

if [ "$IP" = ip ]; then
	ktap_info "patched ip not built (make iproute2)"
	for i in $(seq $PLAN); do ktap_fail "patched ip available"; done
	ktap_finish
fi

check "plain SA add" "$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 \
	reqid 1 mode transport "${AEAD[@]}"
check "plain SA with mark/mask and if_id" "$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.3 \
	proto esp spi 0x1001 mode tunnel "${AEAD[@]}" mark 5 mask 0xff if_id 7
check "IPv6 SA" "$IP" -n "$ns" xfrm state add src fd00::1 dst fd00::2 proto esp spi 0x2000 "${AEAD[@]}"
check "list shows 'espx status bound' for each ESP SA" \
	test "$("$IP" -n "$ns" xfrm state list | grep -c 'espx status bound')" = 3
check "get with mark shows the espx line" bash -c \
	"$IP -n $ns xfrm state get src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1001 mark 5 mask 0xff |
	 grep -q 'espx status bound'"
check "-s -s list names every espx counter, 0 or not" bash -c \
	"$IP -n $ns -s -s xfrm state list | grep -q 'in-drop-icv 0'"
check "-s list leaves out the counters that are 0 (no traffic: no 'espx stats:')" has_all \
	"$("$IP" -n "$ns" -s xfrm state list 2>&1)" '!espx stats' '!in-drop-icv' 'espx status bound'
check "-j -s list is valid JSON with an espx object per SA" bash -c \
	"$IP -n $ns -j -s xfrm state list | python3 -c '
import json, sys
sas = json.load(sys.stdin)
assert len(sas) == 3, sas
assert all(s[\"espx\"][\"status\"] == \"bound\" and \"out_packets\" in s[\"espx\"][\"stats\"] for s in sas), sas'"

# A WESPv2 SA is listed with its settings; one the kernel refuses (WESPv2 needs
# an AEAD) shows espx's message and leaves nothing behind.
check "WESPv2 SA added and listed with its crypt-offset" bash -c \
	"$IP -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 \
	 aead 'rfc4106(gcm(aes))' $K 128 wesp crypt-offset 3 &&
	 $IP -n $ns xfrm state get src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 |
	 grep -q 'wesp crypt-offset 3' &&
	 $IP -n $ns xfrm state delete src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007"
out=$("$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 \
	enc 'cbc(aes)' $K auth 'hmac(sha256)' $K wesp crypt-offset 3 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q 'espx' <<<"$out"; then
	ktap_ok "SA refused by espx: kernel message shown ($out)"
else
	ktap_fail "SA refused by espx with its message (rc=$rc: $out)"
fi
check "no config left behind by the refused SA" test "$(nentries)" = 3
out=$("$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.8 proto esp spi 0x1008 \
	aead 'rfc4106(gcm(nosuch))' $K 128 wesp 2>&1)
check "NEWSA failing before espx sees it: ip fails" test $? -ne 0
check "... and deletes its pending config" test "$(nentries)" = 3
check_fail "crypt-offset 64 rejected" "$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.9 \
	proto esp spi 0x1009 "${AEAD[@]}" wesp crypt-offset 64
check_fail "wesp on an AH SA rejected" "$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.9 \
	proto ah spi 0x1009 auth 'hmac(sha1)' $K wesp
check "a pending config (set by another client) is listed as pending" bash -c \
	"espx_genl -n $ns set --daddr 10.0.0.10 --spi 0x100a >/dev/null &&
	 $IP -n $ns xfrm state list | grep -q 'espx status pending'"
espx_genl -n "$ns" del --daddr 10.0.0.10 --spi 0x100a >/dev/null
check "flush removes every config" bash -c \
	"$IP -n $ns xfrm state flush && sleep 1 && test \$(espx_genl -n $ns count) = 0"

# Sequence counters (multi-counters.md): the keywords, what list shows before any traffic,
# and the SAs ip or the kernel refuses, each leaving nothing in the kernel's table.
CSA=(src 10.0.0.1 dst 10.0.0.20 proto esp spi 0x1020)
# a key of their own: espx refuses counters under a key that numbered its
# packets with one SN before (the WESPv2 SAs above used K)
CAEAD=(aead 'rfc4106(gcm(aes))' 0x2122232425262728292a2b2c2d2e2f3031323334 128)
CREQ=("${CAEAD[@]}" replay-window 0 extra-flag oseq-may-wrap)
# refused RC OUT PATTERN: the command failed and said PATTERN.
refused() { [ "$1" -ne 0 ] || echo "exit status 0: $2"; [ "$1" -ne 0 ] && has_all "$2" "$3"; }
# entries_become N: the kernel's table has N entries (SA destruction is deferred).
entries_become() {
	local _
	for _ in $(seq 20); do
		[ "$(nentries)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "espx_genl count: $(nentries), want $1"
	return 1
}

check "counter SA added (wesp seq-counters 4 counter-window 64)" "$IP" -n "$ns" xfrm state add \
	"${CSA[@]}" mode transport "${CREQ[@]}" wesp seq-counters 4 counter-window 64
check "get shows 'seq-counters 4 counter-window 64 windows 0'" has_all \
	"$("$IP" -n "$ns" xfrm state get "${CSA[@]}" 2>&1)" \
	'espx status bound wesp crypt-offset 0 seq-counters 4 counter-window 64 windows 0$' \
	'!counter-start'
check "-j list: counters object (count, window, start, windows; no per_counter)" bash -c \
	"$IP -n $ns -j xfrm state list | python3 -c '
import json, sys
sa = [s for s in json.load(sys.stdin) if s[\"spi\"] == \"0x1020\"][0]
c = sa[\"espx\"][\"counters\"]
assert c == {\"count\": 4, \"window\": 64, \"start\": 0, \"windows\": 0}, c'"
check "-s -s: counter drops named, 'espx counters:' block, '4 of 4 counters idle'" has_all \
	"$("$IP" -n "$ns" -s -s xfrm state get "${CSA[@]}" 2>&1)" \
	'out-drop-ctr-exhausted 0 in-drop-ctr-range 0 in-drop-ctr-seq 0 in-drop-ctr-iv 0' \
	'in-drop-ctr-replay 0 in-drop-ctr-nomem 0' '^	espx counters:$' \
	'^	  4 of 4 counters idle$' '!counter [0-9]+:'
check "-j -s: per_counter lists the 4 idle counters, in_top null" bash -c \
	"$IP -n $ns -j -s xfrm state get ${CSA[*]} | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
pc = d[\"espx\"][\"counters\"][\"per_counter\"]
assert [c[\"id\"] for c in pc] == [0, 1, 2, 3], pc
assert all(c[\"in_top\"] is None and c[\"out_packets\"] == 0 and c[\"out_seq\"] == 0
           for c in pc), pc
assert d[\"espx\"][\"stats\"][\"in_drop_ctr_range\"] == 0, d'"
check "espx_genl dump shows the counters nest" has_all "$(espx_genl -n "$ns" dump 2>&1)" \
	'spi 0x00001020 .* counters 4 ctr_window 64 ctr_start 0 ctr_windows 0 stats'
out=$(espx_genl -n "$ns" ctr --daddr 10.0.0.20 --spi 0x1020 2>&1)
check "espx_genl ctr: 4 counters, no window allocated" test \
	"$(grep -Ec '^id=[0-3] out_seq=0 out_packets=0 out_bytes=0 in_top=- in_packets=0 ' \
	   <<<"$out")" = 4
ctr_sa_delete() { "$IP" -n "$ns" xfrm state delete "${CSA[@]}" && entries_become 0; }
check "counter SA deleted, its config with it" ctr_sa_delete

bad_ok=1
for v in "seq-counters 0" "seq-counters 1025" "seq-counters 4 counter-window 48" \
	 "seq-counters 4 counter-window 4128" "seq-counters 4 counter-window 16" \
	 "seq-counters 4 counter-start 281474976710656" "counter-window 64 seq-counters 4" \
	 "seq-counters 4 counter-window 64 counter-window 64"; do
	# shellcheck disable=SC2086 # $v is a list of words
	if out=$("$IP" -n "$ns" xfrm state add "${CSA[@]}" "${CREQ[@]}" wesp $v 2>&1); then
		bad_ok=0; ktap_info "'$v' accepted"
	elif ! grep -Eq 'must be|must follow|duplicate' <<<"$out"; then
		bad_ok=0; ktap_info "'$v': $out"
	fi
done
check "bad counter values refused by ip with a message" test $bad_ok = 1
check "... and nothing reaches the kernel" test "$(nentries)" = 0
out=$("$IP" -n "$ns" xfrm state add "${CSA[@]}" "${CREQ[@]}" seq-counters 4 2>&1)
check "seq-counters without wesp refused with espx's message" refused $? "$out" 'WESPv2'
check "... no pending config left" test "$(nentries)" = 0
# counter-start is a test knob: refused (EPERM) unless espx was loaded with
# test_knobs=1 (read-only at run time; the harness loads espx without it).
knobs=/sys/module/espx/parameters/test_knobs
if [ "$(cat $knobs 2>/dev/null)" = N ]; then
	out=$("$IP" -n "$ns" xfrm state add "${CSA[@]}" "${CREQ[@]}" wesp seq-counters 4 \
	      counter-start 1000 2>&1)
	check "counter-start refused without test_knobs=1" refused $? "$out" 'test_knobs'
else
	ktap_fail "counter-start refused without test_knobs=1 (espx loaded with test_knobs=$(cat $knobs))"
fi
check "... no pending config left" test "$(nentries)" = 0
out=$("$IP" -n "$ns" xfrm state add "${CSA[@]}" "${CAEAD[@]}" replay-window 0 wesp seq-counters 4 2>&1)
check "counter SA without oseq-may-wrap refused with espx's message" refused $? "$out" \
	'oseq-may-wrap'
check "... and leaves no config" entries_become 0
check "... nor SA" test -z "$(ip -n "$ns" xfrm state list)"

# Diet-ESP (diet-esp.md §7): every keyword on an SA ip makes, read back in the text line,
# JSON and the kernel's table (espx_genl); the defaults; the names of the counters; values
# ip refuses itself and configs the kernel refuses, each leaving nothing behind. The SA is
# the spec's IoT case (§8 A) with a 3-value DSCP list and 16-bit alignment: valid for
# espx's Diet-ESP data path, so it must bind.
DSA=(src 2001:db8::100 dst 2001:db8::1 proto esp spi 0xa001)
DREQ=(mode tunnel reqid 5 replay-window 32 "${AEAD[@]}" sel src 2001:db8:a::1/128
      dst 2001:db8:b::1/128 proto udp sport 49152 dport 5683)
DKW=(diet spi-lsb 8 sn-lsb 16 align 16 trailer optional inner compress dscp sa "0,10,46"
     ecn lower flowlabel zero iiv)
DLINE='espx status bound diet spi-lsb 8 sn-lsb 16 align 16 trailer optional inner compress dscp sa 0,10,46 ecn lower flowlabel zero iiv$'
out=$("$IP" -n "$ns" xfrm state add "${DSA[@]}" "${DREQ[@]}" "${DKW[@]}" 2>&1)
check "Diet-ESP SA added with every diet keyword ($out)" test $? = 0
dget=(xfrm state get "${DSA[@]}")
check "list/get: the espx line has every diet value" has_all \
	"$("$IP" -n "$ns" "${dget[@]}" 2>&1)" "^	$DLINE"
check "-j: the diet object" bash -c "$IP -n $ns -j ${dget[*]} | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = [s for s in (d if isinstance(d, list) else [d]) if \"diet\" in s.get(\"espx\", {})]
assert len(d) == 1, d
want = {\"spi_lsb\": 8, \"sn_lsb\": 16, \"align\": 16, \"trailer\": \"optional\",
        \"inner\": \"compress\", \"dscp\": \"sa\", \"dscp_list\": [0, 10, 46], \"ecn\": \"lower\",
        \"flowlabel\": \"zero\", \"iiv\": True}
assert d[0][\"espx\"][\"diet\"] == want, d[0]'"
check "espx_genl get: the kernel has every value" has_all \
	"$(espx_genl -n "$ns" get --family 6 --daddr 2001:db8::1 --spi 0xa001 2>&1)" \
	'diet spi_lsb 8 sn_lsb 16 align 1 trailer 1 iipc 1 dscp 2 dscp_list 0,10,46 ecn 1 flowlabel 3 iiv( |$)'
"$IP" -n "$ns" xfrm state flush
espx_genl -n "$ns" del --family 6 --daddr 2001:db8::1 --spi 0xa001 >/dev/null 2>&1
check "... flushed, nothing left" entries_become 0

# The defaults: only spi-lsb and sn-lsb given (32/32: nothing truncated, plain protocol 50).
DSA2=(src 10.0.0.1 dst 10.0.0.30 proto esp spi 0x1030)
DLINE2='diet spi-lsb 32 sn-lsb 32 align 8 trailer mandatory inner keep dscp not-compressed ecn not-compressed flowlabel not-compressed$'
out=$("$IP" -n "$ns" xfrm state add "${DSA2[@]}" mode transport "${AEAD[@]}" \
	diet sn-lsb 32 spi-lsb 32 2>&1)
check "defaults: SA with only spi-lsb/sn-lsb added ($out)" test $? = 0
dget=(xfrm state get "${DSA2[@]}")
check "defaults: every value printed (8, mandatory, keep, not-compressed), no iiv" has_all \
	"$("$IP" -n "$ns" "${dget[@]}" 2>&1)" "$DLINE2"
check "-j defaults: strings, align 8, iiv false, no dscp_list" bash -c \
	"$IP -n $ns -j ${dget[*]} | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = [s[\"espx\"][\"diet\"] for s in (d if isinstance(d, list) else [d]) if \"diet\" in s.get(\"espx\", {})]
assert d == [{\"spi_lsb\": 32, \"sn_lsb\": 32, \"align\": 8, \"trailer\": \"mandatory\",
              \"inner\": \"keep\", \"dscp\": \"not-compressed\", \"ecn\": \"not-compressed\",
              \"flowlabel\": \"not-compressed\", \"iiv\": False}], d'"
# -s: the Diet-ESP counters on a line of their own, on any bound SA (a plain one if need be).
"$IP" -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.31 proto esp spi 0x1031 mode transport \
	"${AEAD[@]}"
check "-s -s: the Diet-ESP counters named, on their own line" has_all \
	"$("$IP" -n "$ns" -s -s xfrm state get src 10.0.0.1 dst 10.0.0.31 proto esp spi 0x1031 2>&1)" \
	'^	  out-drop-diet-nomatch 0 in-drop-diet-proto 0 in-drop-diet-sn 0 in-drop-diet-trailer 0 in-drop-diet-residue 0 in-drop-diet-dscp 0 in-drop-diet-length 0 in-diet-candidate-retry 0$' \
	'!stat-[0-9]'
check "-j -s: the Diet-ESP counters in stats" bash -c \
	"$IP -n $ns -j -s xfrm state get src 10.0.0.1 dst 10.0.0.31 proto esp spi 0x1031 |
	 python3 -c '
import json, sys
d = json.load(sys.stdin)
st = (d[0] if isinstance(d, list) else d)[\"espx\"][\"stats\"]
for k in (\"out_drop_diet_nomatch\", \"in_drop_diet_proto\", \"in_drop_diet_sn\",
          \"in_drop_diet_trailer\", \"in_drop_diet_residue\", \"in_drop_diet_dscp\",
          \"in_drop_diet_length\", \"in_diet_candidate_retry\"):
    assert st[k] == 0, (k, st)'"
"$IP" -n "$ns" xfrm state flush
espx_genl -n "$ns" del --daddr 10.0.0.30 --spi 0x1030 >/dev/null 2>&1
check "... flushed, nothing left" entries_become 0

# Values ip refuses itself: a message, nothing sent.
DSA3=(src 10.0.0.1 dst 10.0.0.32 proto esp spi 0x1032 mode transport "${AEAD[@]}")
bad_ok=1
for v in "diet" "diet spi-lsb 8" "diet sn-lsb 8" "diet spi-lsb 33 sn-lsb 7" \
	 "diet spi-lsb x sn-lsb 8" "diet spi-lsb 8 sn-lsb 0" "diet spi-lsb 0 sn-lsb 40" \
	 "diet spi-lsb 8 sn-lsb 8 align 12" "diet spi-lsb 8 sn-lsb 8 align" \
	 "diet spi-lsb 8 sn-lsb 8 trailer maybe" "diet spi-lsb 8 sn-lsb 8 inner yes" \
	 "diet spi-lsb 8 sn-lsb 8 dscp sa" "diet spi-lsb 8 sn-lsb 8 dscp sa 1,64" \
	 "diet spi-lsb 8 sn-lsb 8 dscp sa 1,,2" "diet spi-lsb 8 sn-lsb 8 dscp sa ,1" \
	 "diet spi-lsb 8 sn-lsb 8 dscp sa a" "diet spi-lsb 8 sn-lsb 8 dscp sa $(seq -s, 0 64)" \
	 "diet spi-lsb 8 sn-lsb 8 dscp some" "diet spi-lsb 8 sn-lsb 8 ecn sa" \
	 "diet spi-lsb 8 sn-lsb 8 flowlabel zeroes" "diet spi-lsb 8 sn-lsb 8 iiv iiv" \
	 "diet spi-lsb 8 sn-lsb 8 align 8 align 16" "align 16 diet spi-lsb 8 sn-lsb 8" \
	 "iiv diet spi-lsb 8 sn-lsb 8" "diet spi-lsb 8 sn-lsb 8 diet spi-lsb 8 sn-lsb 8" \
	 "diet spi-lsb 8 sn-lsb 8 bogus"; do
	# shellcheck disable=SC2086 # $v is a list of words
	if out=$("$IP" -n "$ns" xfrm state add "${DSA3[@]}" $v 2>&1); then
		bad_ok=0; ktap_info "'$v' accepted"
	elif ! grep -Eq 'must be|must follow|duplicate|needs|at most|not complete|is wrong' \
		<<<"$out"; then
		bad_ok=0; ktap_info "'$v': $out"
	fi
done
check "bad diet keywords and values refused by ip with a message" test $bad_ok = 1
check "... and nothing reaches the kernel" bash -c \
	"test \$(espx_genl -n $ns count) = 0 && test -z \"\$(ip -n $ns xfrm state list)\""

# Configs the kernel refuses (how the values combine): espx's message, nothing left.
out=$("$IP" -n "$ns" xfrm state add "${DSA3[@]}" diet spi-lsb 4 sn-lsb 8 2>&1)
check "spi-lsb 4 + sn-lsb 8 refused by the kernel (whole octets)" refused $? "$out" \
	'multiple of 8'
out=$("$IP" -n "$ns" xfrm state add "${DSA3[@]}" diet spi-lsb 8 sn-lsb 8 inner compress \
	dscp sa 10,46,10 2>&1)
check "a DSCP value twice refused by the kernel" refused $? "$out" 'twice'
out=$("$IP" -n "$ns" xfrm state add "${DSA3[@]}" wesp diet spi-lsb 8 sn-lsb 8 2>&1)
check "diet with wesp refused by the kernel" refused $? "$out" 'exclusive'
check "... no config, no SA left" bash -c \
	"test \$(espx_genl -n $ns count) = 0 && test -z \"\$(ip -n $ns xfrm state list)\""

# Counters move with real traffic between two namespaces.
veth_pair "$a" "$b"
ip -n "$a" addr add 10.1.0.1/24 dev veth0; ip -n "$b" addr add 10.1.0.2/24 dev veth0
for n in "$a" "$b"; do
	"$IP" -n "$n" xfrm state add src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 \
		reqid 1 mode transport "${AEAD[@]}"
	"$IP" -n "$n" xfrm state add src 10.1.0.2 dst 10.1.0.1 proto esp spi 0x200 \
		reqid 2 mode transport "${AEAD[@]}"
done
ip -n "$a" xfrm policy add src 10.1.0.1 dst 10.1.0.2 dir out tmpl src 10.1.0.1 dst 10.1.0.2 \
	proto esp reqid 1 mode transport
check "ping through the SA" ip netns exec "$a" ping -c 3 -i 0.2 -W 2 10.1.0.2
check "sender's out-packets counted (-s)" bash -c \
	"$IP -n $a -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 |
	 grep -Eq 'out-packets [3-9]'"
check "receiver's in_packets counted (-j -s)" bash -c \
	"$IP -n $b -j -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 |
	 python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; assert d[\"espx\"][\"stats\"][\"in_packets\"] >= 3, d'"
check "-s: only the sender's counters that are not 0 (out-packets, out-bytes)" has_all \
	"$("$IP" -n "$a" -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100)" \
	'^	espx stats:$' '^	  out-packets [3-9] out-bytes [0-9]+$' '!in-packets' '!drop'
check "-s: the receiver's: in-packets, in-bytes" has_all \
	"$("$IP" -n "$b" -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100)" \
	'^	  in-packets [3-9] in-bytes [0-9]+$' '!out-packets' '!drop'
# One name per counter: the uapi's (ESPX_STAT_IN_DROP_ICV), in-drop-icv in the text and
# in_drop_icv in JSON; -s -s prints every counter, JSON -s every counter too.
uapi_stats=$(sed -n 's/^\tESPX_STAT_\([A-Z0-9_]*\),$/\1/p' \
	"$(dirname "$(readlink -f "$0")")/../include/uapi/linux/espx.h" | grep -v '^UNSPEC$' |
	tr '[:upper:]' '[:lower:]' | sort)
text_stats=$("$IP" -n "$b" -s -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp \
	spi 0x100 | sed -n '/^	espx stats:$/,/^	[^ ]/p' | grep '^	  ' | tr ' ' '\n' |
	grep -E '^[a-z]' | tr '-' '_' | sort)
json_stats=$("$IP" -n "$b" -j -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp \
	spi 0x100 | python3 -c 'import json, sys; d = json.load(sys.stdin); d = d[0] if isinstance(d, list) else d
print("\n".join(sorted(d["espx"]["stats"])))')
check "uapi header lists $(wc -w <<<"$uapi_stats") stats" test "$(wc -w <<<"$uapi_stats")" -ge 36
check "-s -s: the text names every uapi stat, by its uapi name" \
	diff <(echo "$uapi_stats") <(echo "$text_stats")
check "-j -s: the JSON keys are the uapi names" diff <(echo "$uapi_stats") <(echo "$json_stats")
ip -n "$a" xfrm policy flush
ip -n "$a" xfrm state flush; ip -n "$b" xfrm state flush

# JSON (-j) with espx: every field the unpatched ip (Debian's, which has no JSON for xfrm
# and prints its text) shows, plus an espx object on the ESP SAs; AH and IPComp SAs, which
# espx does not handle, get the same text from both, byte for byte.
UIP=/sbin/ip
[ "$(readlink -f "$UIP")" != "$(readlink -f "$IP")" ] || ktap_info "$UIP is the patched ip!"
J=$(ns_new iprj)
jadd() { "$UIP" -n "$J" xfrm state add "$@"; }
K16=0x000102030405060708090a0b0c0d0e0f
jsa_ok=1
jadd src 10.2.0.1 dst 10.2.0.2 proto esp spi 0x3001 reqid 9 mode tunnel "${AEAD[@]}" \
	replay-window 32 flag esn flag noecn extra-flag dont-encap-dscp mark 5 mask 0xff \
	output-mark 0x10 mask 0xf0 if_id 7 tfcpad 64 limit time-soft 300 limit byte-hard 1000000 \
	sel src 10.3.0.0/24 dst 10.4.0.1/32 proto udp sport 1000 dport 2000 || jsa_ok=0
jadd src 10.2.0.1 dst 10.2.0.3 proto esp spi 0x3002 mode transport enc 'cbc(aes)' $K16 \
	auth-trunc 'hmac(sha256)' $K16${K16#0x} 128 encap espinudp 4500 4500 0.0.0.0 || jsa_ok=0
jadd src fd00::1 dst fd00::3 proto esp spi 0x3003 mode tunnel "${AEAD[@]}" \
	sel src fd01::/64 dst fd02::/64 proto ipv6-icmp type 128 || jsa_ok=0
"$IP" -n "$J" xfrm state add src 10.2.0.1 dst 10.2.0.4 proto esp spi 0x3004 \
	mode transport "${AEAD[@]}" wesp crypt-offset 2 || jsa_ok=0
jadd src 10.2.0.1 dst 10.2.0.5 proto ah spi 0x3005 mode transport auth 'hmac(sha1)' $K || jsa_ok=0
jadd src 10.2.0.1 dst 10.2.0.6 proto comp spi 0x3006 mode tunnel comp deflate || jsa_ok=0
check "ESP (AEAD, ESN, marks, sel; CBC + auth-trunc + encap; IPv6; WESPv2), AH and IPComp SAs" \
	test $jsa_ok = 1
jcmp() {	# jcmp OPTS...: unpatched text vs patched -j, same options, 4 ESP SAs with espx
	"$UIP" -n "$J" "$@" xfrm state list >/tmp/ipr-text.$$ &&
	"$IP" -n "$J" -j "$@" xfrm state list >/tmp/ipr-json.$$ &&
	python3 "$(dirname "$(readlink -f "$0")")/xfrm_json_cmp.py" /tmp/ipr-text.$$ \
		/tmp/ipr-json.$$ --espx 4
}
check "-j list: every field of the text output, espx on the 4 ESP SAs" jcmp
check "-j -s list: every field (lifetimes, stats, seq, flags, key bits)" jcmp -s
check "-j -s -s list: the same" jcmp -s -s
check "-j get: the AH SA, every field, no espx" bash -c "
	ip netns exec $J $UIP xfrm state get src 10.2.0.1 dst 10.2.0.5 proto ah spi 0x3005 >/tmp/ipr-t.$$ &&
	$IP -n $J -j xfrm state get src 10.2.0.1 dst 10.2.0.5 proto ah spi 0x3005 >/tmp/ipr-j.$$ &&
	python3 $(dirname "$(readlink -f "$0")")/xfrm_json_cmp.py /tmp/ipr-t.$$ /tmp/ipr-j.$$ --espx 0"
# same_out DESC ARGS...: patched and unpatched ip print the same bytes, and nothing on stderr
same_out() {
	local desc=$1 u p e
	shift
	u=$("$UIP" -n "$J" "$@" 2>&1; echo "rc=$?")
	p=$("$IP" -n "$J" "$@" 2>/tmp/ipr-err.$$; echo "rc=$?")
	e=$(cat /tmp/ipr-err.$$)
	if [ "$u" = "$p" ] && [ -z "$e" ]; then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		diff <(echo "$u") <(echo "$p") | sed 's/^/#   /'
		[ -z "$e" ] || echo "# stderr: $e"
	fi
}
same_out "AH and IPComp: list (text) as unpatched" xfrm state list proto ah
same_out "... -s list proto comp as unpatched" -s xfrm state list proto comp
same_out "... -s get of the AH SA as unpatched" -s xfrm state get src 10.2.0.1 dst 10.2.0.5 \
	proto ah spi 0x3005
same_out "... get of the IPComp SA as unpatched" xfrm state get src 10.2.0.1 dst 10.2.0.6 \
	proto comp spi 0x3006
esp_text() {	# the unpatched text of ESP SAs plus an espx line each, -s or not
	local u p
	u=$("$UIP" -n "$J" "$@" xfrm state list proto esp)
	p=$("$IP" -n "$J" "$@" xfrm state list proto esp)
	# the espx lines: "espx ..." and the counter lines under "espx stats:" or "espx counters:"
	diff <(echo "$u") <(awk '/^\tespx /{e = 1; next} e && /^\t  /{next} {e = 0; print}' <<<"$p") &&
	test "$(grep -c '^	espx status bound' <<<"$p")" = 4
}
check "text list of ESP SAs: the unpatched text plus the espx lines" esp_text
check "-s list of ESP SAs: the same" esp_text -s
"$IP" -n "$J" xfrm state flush

# tools/examples/espx-sa.c: what an IKE daemon adds, ESPX_CMD_SA_SET then XFRM_MSG_NEWSA
# (libmnl); the SA it makes is bound with its WESPv2 config.
EX=$(dirname "$(readlink -f "$0")")/../build/examples/espx-sa
out=$(ip netns exec "$J" "$EX" 10.2.0.1 10.2.0.7 0x3007 2 $K 2>&1)
check "tools/examples/espx-sa creates an SA ($out)" test $? = 0
check "... bound by espx with WESPv2 crypt-offset 2" has_all \
	"$("$IP" -n "$J" xfrm state get src 10.2.0.1 dst 10.2.0.7 proto esp spi 0x3007)" \
	'^	aead rfc4106\(gcm\(aes\)\) 0x0102030405060708090a0b0c0d0e0f1011121314 128$' \
	'^	espx status bound wesp crypt-offset 2$'
out=$(ip netns exec "$J" "$EX" 10.2.0.1 10.2.0.7 0x3007 2 $K 2>&1)
check "... and refuses the same SA again with espx's error ($out)" \
	bash -c "[ $? != 0 ] && [ \$(ip netns exec $J espx_genl count) = 1 ]"
"$IP" -n "$J" xfrm state flush

# Without espx: no espx module loaded by listing (the kernel loads a genl family's module
# when one asks for it by name: a probe alias shows it), nothing on stderr, and the output
# of the unpatched ip byte for byte, text and -j (ip 6.1 prints text with -j), for ESP
# (then esp4/esp6), AH and IPComp SAs.
probe=/etc/modprobe.d/espx-autoload-probe.conf
mark=/tmp/espx-autoload-probe.$$
printf '%s\n' "alias net-pf-16-proto-16-family-espx espx_autoload_probe" \
	"install espx_autoload_probe /bin/sh -c 'echo loaded >>$mark; exit 1'" >$probe
check "espx unloaded" rmmod_retry espx
jadd src 10.2.0.1 dst 10.2.0.2 proto esp spi 0x4001 reqid 9 mode tunnel "${AEAD[@]}" \
	replay-window 32 mark 5 mask 0xff if_id 7 sel src 10.3.0.0/24 dst 10.4.0.1/32
jadd src fd00::1 dst fd00::2 proto esp spi 0x4002 mode transport enc 'cbc(aes)' $K16 \
	auth 'hmac(sha1)' $K
jadd src 10.2.0.1 dst 10.2.0.5 proto ah spi 0x4005 mode transport auth 'hmac(sha1)' $K
jadd src 10.2.0.1 dst 10.2.0.6 proto comp spi 0x4006 mode transport comp deflate
check "4 SAs (ESP by esp4/esp6, AH, IPComp) without espx" \
	test "$(ip -n "$J" xfrm state list | grep -c '^src')" = 4
same_out "no espx: list as unpatched" xfrm state list
same_out "no espx: -s list as unpatched" -s xfrm state list
same_out "no espx: -j list as unpatched (text)" -j xfrm state list
same_out "no espx: -j -s -s list as unpatched" -j -s -s xfrm state list
same_out "no espx: get (ESP) as unpatched" xfrm state get src 10.2.0.1 dst 10.2.0.2 proto esp \
	spi 0x4001 mark 5 mask 0xff
same_out "no espx: -j get (AH) as unpatched" -j xfrm state get src 10.2.0.1 dst 10.2.0.5 \
	proto ah spi 0x4005
check "no espx: listing did not ask the kernel to load espx" test ! -e $mark
check "... and espx is not loaded" bash -c "! grep -q '^espx ' /proc/modules"
out=$("$IP" -n "$J" xfrm state add src 10.2.0.1 dst 10.2.0.9 proto esp spi 0x4009 \
	"${AEAD[@]}" wesp 2>&1)
check "no espx: an espx keyword may load it, and says it is missing ($out)" \
	bash -c "test -e $mark && grep -q 'espx module not loaded' <<<'$out'"
rm -f $probe $mark
"$UIP" -n "$J" xfrm state flush
for m in esp4 esp6; do
	for _ in $(seq 50); do grep -q "^$m " /proc/modules || break; rmmod $m 2>/dev/null || sleep 0.2; done
done
modprobe -q xfrm_algo
check "espx loaded again" insmod "$ESPX_KO"
ktap_finish
