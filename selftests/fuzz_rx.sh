#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Receive-path fuzzing (issue #14 section 3): bounded, seeded, reproducible.
# Namespaces A and B joined by a veth; SA pairs of each protocol espx
# receives: plain ESP (AES-GCM transport IPv4, ChaCha20 tunnel IPv6), WESPv2
# (CryptOffset 0 and 2, and a two-counter SA) and Diet-ESP (truncated SPI/SN,
# transport IPv4, tunnel IPv6 with implicit IV). espx_fuzz.py rx, one process
# in B:
#   - pool: A sends FUZZ_POOL UDP datagrams per SA while B's veth has another
#     MAC (B drops them as PACKET_OTHERHOST before any counter); the ESP,
#     WESPv2 and Diet frames A put on the wire are captured in A: valid frames
#     B has not seen;
#   - FUZZ_COUNT packets per protocol, injected from A's veth (AF_PACKET), a
#     third each: plain; with a tap (AF_PACKET socket) on B's veth, so the IP
#     layer gets cloned skbs; with GRO on B's veth (veth NAPI: the packets go
#     through napi_gro_receive; espx has no GRO offload, so ESP is not merged,
#     see offload.sh). Mutations: bit flips, truncation at every offset (with
#     the IP lengths fixed, and raw), length fields (IPv4 total length, IPv6
#     payload length, WESPv2 HdrLen/OptLen, Diet EEC octets), IPv4 options and
#     IPv6 extension headers (hop-by-hop, destination options, atomic
#     fragment) before the header, fragments (2-4, random order), ICMP errors
#     from a router quoting them, another protocol number, SN/SPI boundary
#     values, broken outer headers, replays, and the frames intact;
# and then:
#   - delivered: B's sink got exactly the datagrams of the fresh frames sent
#     intact (directly, with options/extension headers, or as fragments),
#     each once (replay protection), nothing else;
#   - accounting: injected = delivered + XfrmIn* (xfrm_stat: espx counts its
#     own header drops there too, so its genl drop counters, printed, are not
#     added again) + IP-level drops (InHdrErrors, InTruncatedPkts,
#     InAddrErrors, InUnknownProtos, InDiscards, InNoRoutes, ReasmFails, v4
#     and v6) + ICMP messages taken (IcmpInMsgs, Icmp6InMsgs less ND/MLD);
#     a fragment set is one packet;
#   - espx's in_packets = delivered; every SA still carries traffic; no
#     splat in the kernel log.
# FUZZ_SEED (default 1), FUZZ_COUNT per protocol (default 3000, 9 k in all),
# FUZZ_POOL per SA (default 80). make fuzz-vm runs it with 1 M per protocol.
# FUZZ_TRACE=N: the first N packets one at a time, printing any whose counters
# do not add up (for finding what a failed accounting point counted twice).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

XT_IP=$IP
SEED=${FUZZ_SEED:-1}
COUNT=${FUZZ_COUNT:-3000}
POOL=${FUZZ_POOL:-80}
PORT=$XT_ECHO_PORT
xt_begin "the extensions need espx"
xt_need "patched ip without seq-counters (make iproute2)" xt_ip_has seq-counters
ktap_plan 12

declare -A DIETOPT
xt_case gcm128-16 transport 4 4 "esp gcm transport ipv4"
xt_case chacha tunnel 6 6 "esp chacha tunnel ipv6"
xt_case chacha tunnel 4 4 "wesp co 0 tunnel ipv4" "wesp crypt-offset 0"
xt_case gcm128-16 transport 6 6 "wesp co 2 transport ipv6" "wesp crypt-offset 2"
xt_case gcm128-16 transport 4 4 "wesp 2 counters transport ipv4" "$(xt_ctr_opts 2 "" 2)"
xt_case gcm128-16 transport 4 4 "diet transport ipv4" "" "up=proto,udp,dport,$PORT" "up=proto,udp,sport,$PORT"
DIETOPT[$XT_N]="spil=8,snl=16,trailer=opt,iipc=1,iiv=0,outer=4"
xt_case chacha tunnel 6 6 "diet iiv tunnel ipv6" "" "up=proto,udp,dport,$PORT" "up=proto,udp,sport,$PORT"
DIETOPT[$XT_N]="spil=8,snl=16,trailer=mand,iipc=1,iiv=1,outer=6"

t=$(xt_now)
setup_ok=1
pending_hold
xt_topology || setup_ok=
specs=()
for n in "${!DIETOPT[@]}"; do
	specs+=(--sa "spi=${XT_SPI1[n]},${DIETOPT[$n]},odst=$(xt_addr "$n" B outer "${XT_OF[n]}")")
	specs+=(--sa "spi=${XT_SPI2[n]},${DIETOPT[$n]},odst=$(xt_addr "$n" A outer "${XT_OF[n]}")")
done
# both namespaces at once (a Python start takes seconds under TCG)
dpids=()
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" $XT_PKT diet-set "${specs[@]}" >"$XT_TMP/diet-$ns" 2>&1 &
	dpids+=($!)
done
for i in 0 1; do
	wait "${dpids[i]}" ||
		{ setup_ok=; ktap_info "diet-set: $(grep -v '^ok' "$XT_TMP/diet-"* | head -3 | tr '\n' ' ')"; }
done
[ -n "$setup_ok" ] && xt_setup || setup_ok=
cases=()
for n in $(seq 1 $XT_N); do
	[ -z "${XT_BAD[n]}" ] || { setup_ok=; ktap_info "case $n (${XT_LABEL[n]}): ${XT_BAD[n]}"; }
	cases+=(--case "${XT_DST[n]},$PORT")
done
if [ -z "$setup_ok" ]; then
	ktap_fail "setup: topology, Diet configs, $XT_N SA pairs"
	ktap_finish
fi
ktap_ok "setup: $XT_N SA pairs ($(xt_since "$t") s)"

ktap_info "seed $SEED, $COUNT packets per protocol, pool $POOL frames per SA"
ip netns exec "$NS_B" $XT_PY espx_fuzz rx --inject-ns "$NS_A" --seed "$SEED" \
	--count "$COUNT" --pool "$POOL" --src-mac $XT_MAC_A --trace-ops "${FUZZ_TRACE:-0}" "${cases[@]}" \
	>"$XT_TMP/fuzz.out" 2>&1
rc=$?
grep -v '^result ' "$XT_TMP/fuzz.out" | sed 's/^/# /' | cut -c1-2000
pool=$(sed -n 's/^pool //p' "$XT_TMP/fuzz.out")
# ESP 2 SAs, WESPv2 3, Diet 2: at least 90 % of the frames of each
want="esp:$((POOL * 2 * 9 / 10)) wesp:$((POOL * 3 * 9 / 10)) diet:$((POOL * 2 * 9 / 10))"
bad=
for w in $want; do
	got=$(grep -o " ${w%:*}:[0-9]*" <<<"$pool" | cut -d: -f2)
	[ "${got:-0}" -ge "${w#*:}" ] || bad+=" ${w%:*} ${got:-0} < ${w#*:}"
done
if [ $rc = 0 ] && [ -n "$pool" ] && [ -z "$bad" ]; then
	ktap_ok "pool: valid frames captured: $pool"
else
	ktap_fail "pool: rc $rc [$pool]$bad"
	tail -5 "$XT_TMP/fuzz.out" | sed 's/^/#   /'
fi
for p in esp wesp diet; do
	l=$(grep "^rate $p " "$XT_TMP/fuzz.out")
	n=$(awk '{ print $3 }' <<<"$l")
	if [ "${n:-0}" = "$COUNT" ]; then
		ktap_ok "fuzz $p: ${l#rate $p }"
	else
		ktap_fail "fuzz $p: ${l:-no run} (want $COUNT)"
	fi
done
for k in delivered accounting decrypted clones gro traffic; do
	l=$(grep "^result $k " "$XT_TMP/fuzz.out")
	if [[ $l == "result $k ok "* ]]; then
		ktap_ok "$k: ${l#result $k ok }"
	else
		ktap_fail "$k: ${l:-no result}"
	fi
done
if xt_dmesg_check >"$XT_TMP/dmesg" 2>&1; then
	ktap_ok "kernel log clean (no WARN/BUG/KASAN/refcount)"
else
	ktap_fail "kernel log: $(head -3 "$XT_TMP/dmesg" | tr '\n' ' ')"
fi
ktap_info "fuzz_rx: $(xt_since "$T0") s"
ktap_finish
