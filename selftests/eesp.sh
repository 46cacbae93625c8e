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
#      MIGRATE under traffic or an SA deleted and re-added with its key;
#   5. (espx reloaded with test_knobs=1, part limits) Sub SAs started near
#      the §6 limits by the test knob ESPX_EESP_START: one soft expire per
#      SA at 2^63, the last SN 2^64 - 1, then a counted drop, the SA
#      hard-expired and all its Sub SAs stopped (each expiry logged once);
#   6. ESP Echo on EESP SAs (espx_genl echo in A, espx answering in B):
#      transport, tunnel (Optimized: the echo message with a PIH) and BEET,
#      probes from two CPUs, every request and reply decoded, tampered,
#      replayed and echo-flag-less requests unanswered.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

xt_begin "EESP needs espx"
xt_need --fail "espx has no eesp_proto parameter" test -e /sys/module/espx/parameters/eesp_proto
xt_genl_find || true
A=$(ns_new a) && B=$(ns_new b) && veth_pair "$A" "$B" || {
	ktap_plan 1
	ktap_fail "namespaces"
	ktap_finish
}
# run_py OUT ARGS...: eesp_test.py; its exit status
run_py() {
	local out=$1
	shift
	$XT_PY eesp_test --a "$A" --b "$B" --ip "$(command -v "$IP")" \
		--genl "$XT_GENL" "$@" >"$out" 2>&1
}
run_py "$XT_TMP/out"
rc=$?
# test_knobs (ESPX_EESP_START) is read-only at run time: the limits part
# runs with espx reloaded with it, and espx is loaded without it again at
# the end
KNOBS=/sys/module/espx/parameters/test_knobs
eesp_exit() {
	xt_cleanup
	[ "$(cat "$KNOBS" 2>/dev/null)" = Y ] && xt_rmmod espx && xt_use_espx
}
trap eesp_exit EXIT
if out=$(xt_rmmod espx && XT_ESPX_PARAMS="${XT_ESPX_PARAMS:-} test_knobs=1" \
	xt_use_espx 2>&1) && [ "$(cat "$KNOBS")" = Y ]; then
	run_py "$XT_TMP/out2" --only limits --no-setup
	rc2=$?
else
	echo "not ok reload espx with test_knobs=1: $out" >"$XT_TMP/out2"
	rc2=2
fi
cat "$XT_TMP/out2" >>"$XT_TMP/out"
n=$(grep -c -E '^(not )?ok ' "$XT_TMP/out")
ktap_plan $((n + 3))
while IFS= read -r l; do
	case $l in
	"not ok "*) ktap_fail "${l#not ok }" ;;
	"ok "*) ktap_ok "${l#ok }" ;;
	*) echo "# $l" ;;
	esac
done <"$XT_TMP/out"
if [ "$rc" -le 1 ] && [ "$rc2" -le 1 ]; then
	ktap_ok "eesp_test.py ran to its end (twice)"
else
	ktap_fail "eesp_test.py ran to its end (exit $rc, limits $rc2)"
fi
logs() {	# logs SPI WHY: kernel log lines of that expiry since the mark
	dmesg | tail -n +$((${XT_DMESG_LINES:-0} + 1)) | grep -c -F "SA spi $1: $2"
}
soft=$(logs 0x00005001 "an EESP Sub SA's SN reached 2^63, soft expire")
hard=$(logs 0x00005002 "an EESP Sub SA's SN reached 2^64 - 1, hard expire")
if [ "$soft" = 1 ] && [ "$hard" = 1 ]; then
	ktap_ok "limits: the soft (2^63) and the hard (past 2^64 - 1) expiry logged once each"
else
	ktap_fail "limits: logged $soft soft (SA 0x5001), $hard hard (SA 0x5002) expiries"
fi
check "no WARN, BUG or splat in the kernel log" xt_dmesg_check
ktap_finish
