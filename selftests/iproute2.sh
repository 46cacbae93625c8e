#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The patched ip (tools/iproute2): espx keywords on `ip xfrm state add/update`, the espx
# line in `list/get` (text, -s, -j), cleanup of the pending config when NEWSA fails, and
# unchanged behaviour for plain commands; the sequence-counter keywords without traffic.
# Uses espx_genl to look at the kernel's table.
. "$(dirname "$0")/lib.sh"

ktap_header
ktap_plan 36

ns=$(ns_new ipr)
a=$(ns_new ipra); b=$(ns_new iprb)
in_ns() { ip netns exec "$ns" "$@"; }
K=0x0102030405060708090a0b0c0d0e0f1011121314
AEAD=(aead 'rfc4106(gcm(aes))' $K 128)
nentries() { in_ns espx_genl count; }

if [ "$IP" = ip ]; then
	ktap_info "patched ip not built (make iproute2)"
	for i in $(seq 36); do ktap_fail "patched ip available"; done
	ktap_finish
fi

check "plain SA add" in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 \
	reqid 1 mode transport "${AEAD[@]}"
check "plain SA with mark/mask and if_id" in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.3 \
	proto esp spi 0x1001 mode tunnel "${AEAD[@]}" mark 5 mask 0xff if_id 7
check "IPv6 SA" in_ns "$IP" xfrm state add src fd00::1 dst fd00::2 proto esp spi 0x2000 "${AEAD[@]}"
check "list shows 'espx status bound' for each ESP SA" \
	test "$(in_ns "$IP" xfrm state list | grep -c 'espx status bound')" = 3
check "get with mark shows the espx line" bash -c \
	"ip netns exec $ns $IP xfrm state get src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1001 mark 5 mask 0xff |
	 grep -q 'espx status bound'"
check "-s list names the espx counters" bash -c \
	"ip netns exec $ns $IP -s xfrm state list | grep -q 'in-drop-icv'"
check "-j -s list is valid JSON with an espx object per SA" bash -c \
	"ip netns exec $ns $IP -j -s xfrm state list | python3 -c '
import json, sys
sas = json.load(sys.stdin)
assert len(sas) == 3, sas
assert all(s[\"espx\"][\"status\"] == \"bound\" and \"out_packets\" in s[\"espx\"][\"stats\"] for s in sas), sas'"

# A WESPv2 SA is listed with its settings; one the kernel refuses (WESPv2 needs
# an AEAD) shows espx's message and leaves nothing behind.
check "WESPv2 SA added and listed with its crypt-offset" bash -c \
	"ip netns exec $ns $IP xfrm state add src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 \
	 aead 'rfc4106(gcm(aes))' $K 128 wesp crypt-offset 3 &&
	 ip netns exec $ns $IP xfrm state get src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 |
	 grep -q 'wesp crypt-offset 3' &&
	 ip netns exec $ns $IP xfrm state delete src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007"
out=$(in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.7 proto esp spi 0x1007 \
	enc 'cbc(aes)' $K auth 'hmac(sha256)' $K wesp crypt-offset 3 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q 'espx' <<<"$out"; then
	ktap_ok "SA refused by espx: kernel message shown ($out)"
else
	ktap_fail "SA refused by espx with its message (rc=$rc: $out)"
fi
check "no config left behind by the refused SA" test "$(nentries)" = 3
out=$(in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.8 proto esp spi 0x1008 \
	aead 'rfc4106(gcm(nosuch))' $K 128 wesp 2>&1)
check "NEWSA failing before espx sees it: ip fails" test $? -ne 0
check "... and deletes its pending config" test "$(nentries)" = 3
check_fail "crypt-offset 64 rejected" in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.9 \
	proto esp spi 0x1009 "${AEAD[@]}" wesp crypt-offset 64
check_fail "wesp on an AH SA rejected" in_ns "$IP" xfrm state add src 10.0.0.1 dst 10.0.0.9 \
	proto ah spi 0x1009 auth 'hmac(sha1)' $K wesp
check "a pending config (set by another client) is listed as pending" bash -c \
	"ip netns exec $ns espx_genl set --daddr 10.0.0.10 --spi 0x100a >/dev/null &&
	 ip netns exec $ns $IP xfrm state list | grep -q 'espx status pending'"
in_ns espx_genl del --daddr 10.0.0.10 --spi 0x100a >/dev/null
check "flush removes every config" bash -c \
	"ip netns exec $ns $IP xfrm state flush && sleep 1 && test \$(ip netns exec $ns espx_genl count) = 0"

# Sequence counters (multi-counters.md): the keywords, what list shows before any traffic,
# and the SAs ip or the kernel refuses, each leaving nothing in the kernel's table.
CSA=(src 10.0.0.1 dst 10.0.0.20 proto esp spi 0x1020)
CREQ=("${AEAD[@]}" replay-window 0 extra-flag oseq-may-wrap)
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

check "counter SA added (wesp seq-counters 4 counter-window 64)" in_ns "$IP" xfrm state add \
	"${CSA[@]}" mode transport "${CREQ[@]}" wesp seq-counters 4 counter-window 64
check "get shows 'seq-counters 4 counter-window 64 windows 0'" has_all \
	"$(in_ns "$IP" xfrm state get "${CSA[@]}" 2>&1)" \
	'espx status bound wesp crypt-offset 0 seq-counters 4 counter-window 64 windows 0$' \
	'!counter-start'
check "-j list: counters object (count, window, start, windows; no per_counter)" bash -c \
	"ip netns exec $ns $IP -j xfrm state list | python3 -c '
import json, sys
sa = [s for s in json.load(sys.stdin) if s[\"spi\"] == \"0x1020\"][0]
c = sa[\"espx\"][\"counters\"]
assert c == {\"count\": 4, \"window\": 64, \"start\": 0, \"windows\": 0}, c'"
check "-s: counter drops named, 'espx counters:' block, '4 of 4 counters idle'" has_all \
	"$(in_ns "$IP" -s xfrm state get "${CSA[@]}" 2>&1)" \
	'out-drop-ctr-exhausted 0 in-drop-ctr-range 0 in-drop-ctr-seq 0 in-drop-ctr-iv 0' \
	'in-drop-ctr-replay 0 in-drop-ctr-nomem 0' '^	espx counters:$' \
	'^	  4 of 4 counters idle$' '!counter [0-9]+:'
check "-j -s: per_counter lists the 4 idle counters, in_top null" bash -c \
	"ip netns exec $ns $IP -j -s xfrm state get ${CSA[*]} | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
pc = d[\"espx\"][\"counters\"][\"per_counter\"]
assert [c[\"id\"] for c in pc] == [0, 1, 2, 3], pc
assert all(c[\"in_top\"] is None and c[\"out_packets\"] == 0 and c[\"out_seq\"] == 0
           for c in pc), pc
assert d[\"espx\"][\"stats\"][\"in_drop_ctr_range\"] == 0, d'"
check "espx_genl dump shows the counters nest" has_all "$(in_ns espx_genl dump 2>&1)" \
	'spi 0x00001020 .* counters 4 ctr_window 64 ctr_start 0 ctr_windows 0 stats'
out=$(in_ns espx_genl ctr --daddr 10.0.0.20 --spi 0x1020 2>&1)
check "espx_genl ctr: 4 counters, no window allocated" test \
	"$(grep -Ec '^id=[0-3] out_seq=0 out_packets=0 out_bytes=0 in_top=- in_packets=0 ' \
	   <<<"$out")" = 4
ctr_sa_delete() { in_ns "$IP" xfrm state delete "${CSA[@]}" && entries_become 0; }
check "counter SA deleted, its config with it" ctr_sa_delete

bad_ok=1
for v in "seq-counters 0" "seq-counters 1025" "seq-counters 4 counter-window 48" \
	 "seq-counters 4 counter-window 4128" "seq-counters 4 counter-window 16" \
	 "seq-counters 4 counter-start 281474976710656" "counter-window 64 seq-counters 4" \
	 "seq-counters 4 counter-window 64 counter-window 64"; do
	# shellcheck disable=SC2086 # $v is a list of words
	if out=$(in_ns "$IP" xfrm state add "${CSA[@]}" "${CREQ[@]}" wesp $v 2>&1); then
		bad_ok=0; ktap_info "'$v' accepted"
	elif ! grep -Eq 'must be|must follow|duplicate' <<<"$out"; then
		bad_ok=0; ktap_info "'$v': $out"
	fi
done
check "bad counter values refused by ip with a message" test $bad_ok = 1
check "... and nothing reaches the kernel" test "$(nentries)" = 0
out=$(in_ns "$IP" xfrm state add "${CSA[@]}" "${CREQ[@]}" seq-counters 4 2>&1)
check "seq-counters without wesp refused with espx's message" refused $? "$out" 'WESPv2'
check "... no pending config left" test "$(nentries)" = 0
# counter-start is a test knob: refused (EPERM) unless espx has test_knobs=1.
knobs=/sys/module/espx/parameters/test_knobs
if old=$(cat $knobs 2>/dev/null) && echo N >$knobs 2>/dev/null; then
	out=$(in_ns "$IP" xfrm state add "${CSA[@]}" "${CREQ[@]}" wesp seq-counters 4 \
	      counter-start 1000 2>&1)
	check "counter-start refused without test_knobs=1" refused $? "$out" 'test_knobs'
	echo "$old" >$knobs
else
	ktap_fail "counter-start refused without test_knobs=1 ($knobs not writable)"
fi
check "... no pending config left" test "$(nentries)" = 0
out=$(in_ns "$IP" xfrm state add "${CSA[@]}" "${AEAD[@]}" replay-window 0 wesp seq-counters 4 2>&1)
check "counter SA without oseq-may-wrap refused with espx's message" refused $? "$out" \
	'oseq-may-wrap'
check "... and leaves no config" entries_become 0
check "... nor SA" test -z "$(in_ns ip xfrm state list)"

# Counters move with real traffic between two namespaces.
veth_pair "$a" "$b"
ip -n "$a" addr add 10.1.0.1/24 dev veth0; ip -n "$b" addr add 10.1.0.2/24 dev veth0
for n in "$a" "$b"; do
	ip netns exec "$n" "$IP" xfrm state add src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 \
		reqid 1 mode transport "${AEAD[@]}"
	ip netns exec "$n" "$IP" xfrm state add src 10.1.0.2 dst 10.1.0.1 proto esp spi 0x200 \
		reqid 2 mode transport "${AEAD[@]}"
done
ip -n "$a" xfrm policy add src 10.1.0.1 dst 10.1.0.2 dir out tmpl src 10.1.0.1 dst 10.1.0.2 \
	proto esp reqid 1 mode transport
check "ping through the SA" ip netns exec "$a" ping -c 3 -i 0.2 -W 2 10.1.0.2
check "sender's out-packets counted (-s)" bash -c \
	"ip netns exec $a $IP -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 |
	 grep -Eq 'out-packets [3-9]'"
check "receiver's in_packets counted (-j -s)" bash -c \
	"ip netns exec $b $IP -j -s xfrm state get src 10.1.0.1 dst 10.1.0.2 proto esp spi 0x100 |
	 python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; assert d[\"espx\"][\"stats\"][\"in_packets\"] >= 3, d'"
ktap_finish
