#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# EESP (eesp.md, issue #16) between two namespaces over veth, driven by one
# Python process (selftests/eesp_test.py: espx netlink, ip -batch, AF_PACKET
# injection and capture, the independent decoder espx_eesp.py):
#   1. §9 configuration refusals: each with its extack message, nothing
#      left behind; a key numbers its packets one way (an EESP root key
#      refused to a one-SN or counter SA, and back);
#   2. the §11 V1 vector sealed by the kernel octet for octet, and the V1
#      packet injected and delivered to a UDP socket;
#   3. every §11.6 receiver variant injected into a fresh SA: the exact drop
#      counter and nothing delivered (or accepted / dummy), no Sub SA window
#      for a Session ID >= N or a bad ICV, the same SN on two Sub SAs;
#   4. traffic in transport, tunnel (both formats, inter-family) and BEET,
#      IPv4 and IPv6, AES-GCM 128/256 and ChaCha20-Poly1305, iiv,
#      crypt-offset, Sub SAs with HKDF-SHA256/384/512 sent from two CPUs:
#      every captured packet decoded by espx_eesp.py (AAD, nonce, keys), no
#      (key, nonce) pair repeated, the per-Sub-SA counters; nor across a
#      MIGRATE under traffic or an SA deleted and re-added with its key.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

xt_begin "EESP needs espx"
xt_need --fail "espx has no eesp_proto parameter" test -e /sys/module/espx/parameters/eesp_proto
A=$(ns_new a) && B=$(ns_new b) && veth_pair "$A" "$B" || {
	ktap_plan 1
	ktap_fail "namespaces"
	ktap_finish
}
$XT_PY eesp_test --a "$A" --b "$B" --ip "$(command -v "$IP")" \
	>"$XT_TMP/out" 2>&1
rc=$?
n=$(grep -c -E '^(not )?ok ' "$XT_TMP/out")
ktap_plan $((n + 2))
while IFS= read -r l; do
	case $l in
	"not ok "*) ktap_fail "${l#not ok }" ;;
	"ok "*) ktap_ok "${l#ok }" ;;
	*) echo "# $l" ;;
	esac
done <"$XT_TMP/out"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
	ktap_ok "eesp_test.py ran to its end"
else
	ktap_fail "eesp_test.py ran to its end (exit $rc)"
fi
check "no WARN, BUG or splat in the kernel log" xt_dmesg_check
ktap_finish
