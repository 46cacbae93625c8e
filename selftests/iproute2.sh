#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The patched ip (tools/iproute2): espx keywords on `ip xfrm state add/update`, the espx
# line in `list/get` (text, -s, -j), cleanup of the pending config when NEWSA fails, and
# unchanged behaviour for plain commands. Uses espx_genl to look at the kernel's table.
. "$(dirname "$0")/lib.sh"

ktap_header
ktap_plan 19

ns=$(ns_new ipr)
a=$(ns_new ipra); b=$(ns_new iprb)
in_ns() { ip netns exec "$ns" "$@"; }
K=0x0102030405060708090a0b0c0d0e0f1011121314
AEAD=(aead 'rfc4106(gcm(aes))' $K 128)
nentries() { in_ns espx_genl count; }

if [ "$IP" = ip ]; then
	ktap_info "patched ip not built (make iproute2)"
	for i in $(seq 19); do ktap_fail "patched ip available"; done
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
