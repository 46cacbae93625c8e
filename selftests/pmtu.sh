#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU discovery through espx SAs. A host A, a router R and a host B are
# joined by veths:
#   A --1500-- R --1400-- B
# A and B have an SA pair with policies for their inner addresses. The SAs are
# tested in tunnel and BEET mode, over IPv4 and IPv6, with AES-GCM-128 (IV 8,
# ICV 16). A sends a too-big ping with DF set. R drops the ESP packet and
# answers with ICMP frag-needed or ICMPv6 packet-too-big (MTU 1400), which
# quotes the outer header and the ESP header. espx's err handler must find the
# SA by that SPI and update the PMTU towards B's outer address, where
# "ip route get" shows "mtu 1400". The inner path MTU is then
# xfrm_state_mtu(1400), so a ping one octet bigger fails locally and reports
# that MTU, and a ping of exactly that size passes. Before that, ICMP errors
# with a bad quote (truncated, unknown SPI, wrong address) are injected: they
# must not change the PMTU, and they must not crash anything.
#
# PMTU_STOCK=1 runs the same checks with the kernel's esp4/esp6 instead of
# espx, to validate the test itself. espx is reloaded at the end.
. "$(dirname "$0")/lib.sh"

KEY=0x0102030405060708090a0b0c0d0e0f10a0a1a2a3
FAR_MTU=1400
LOG=/tmp/espx-pmtu-$$.log
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'

loaded() { grep -q "^$1 " /proc/modules; }

# xfrm_state_mtu() for AES-GCM (blksize 4, ICV 16) and esp4/esp6 header_len
# (8 + IV 8, + outer header in tunnel mode, + BEET pseudo-header space for an
# IPv4 inner header): the largest inner packet for a path MTU.
state_mtu() {	# FAMILY MODE PMTU
	local fam=$1 mode=$2 mtu=$3 hl=16 adj=0 ohdr
	ohdr=$([ "$fam" = 4 ] && echo 20 || echo 40)
	case $mode in
	tunnel) hl=$((hl + ohdr)) ;;
	beet) adj=$ohdr ;;	# same family inside: no IPv4-in-IPv6 extra
	esac
	[ "$mode" = beet ] && [ "$fam" = 4 ] && hl=$((hl + 8))
	echo $(( ((mtu - hl - 16 - adj) & ~3) + adj - 2 ))
}

# topo TAG FAMILY: namespaces A, R, B and addresses; sets globals.
topo() {
	local tag=$1 fam=$2 ns
	A=$(ns_new "a$tag") && R=$(ns_new "r$tag") && B=$(ns_new "b$tag") || return 1
	ip link add veth0 netns "$A" type veth peer name ra netns "$R" || return 1
	ip link add veth0 netns "$B" type veth peer name rb netns "$R" || return 1
	ip -n "$R" link set rb mtu $FAR_MTU
	ip -n "$B" link set veth0 mtu $FAR_MTU
	for ns in "$A" "$R" "$B"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 \
			net.ipv6.icmp.ratelimit=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
	if [ "$fam" = 4 ]; then
		OA=192.168.10.1 RA=192.168.10.254 RB=192.168.20.254 OB=192.168.20.1
		IA=10.1.1.1 IB=10.2.2.2 PL=24 IPL=32 V=-4 OHDR=28
	else
		OA=fd00:10::1 RA=fd00:10::fe RB=fd00:20::fe OB=fd00:20::1
		IA=fd00:a::1 IB=fd00:b::1 PL=64 IPL=128 V=-6 OHDR=48
	fi
	ip -n "$A" addr add $OA/$PL dev veth0 nodad
	ip -n "$R" addr add $RA/$PL dev ra nodad
	ip -n "$R" addr add $RB/$PL dev rb nodad
	ip -n "$B" addr add $OB/$PL dev veth0 nodad
	for ns in "$A" "$R" "$B"; do
		ip -n "$ns" link set dev lo up
		for l in veth0 ra rb; do
			ip -n "$ns" link set dev $l up 2>/dev/null
		done
	done
	ip -n "$A" addr add $IA/$IPL dev lo
	ip -n "$B" addr add $IB/$IPL dev lo
	ip -n "$A" $V route add default via $RA
	ip -n "$B" $V route add default via $RB
	# wait for the routes to be usable (IPv6 link-local setup)
	ip netns exec "$A" ping $V -c 1 -W 2 -q $OB >/dev/null 2>&1 ||
		ip netns exec "$A" ping $V -c 1 -W 3 -q $OB >/dev/null
}

# sas MODE: SA pair (SPI 0x100 A->B, 0x101 B->A) and policies on A and B.
sas() {
	local mode=$1 ns sab=() sba=()
	if [ "$mode" = beet ]; then
		sab=(sel src $IA dst $IB)
		sba=(sel src $IB dst $IA)
	fi
	for ns in "$A" "$B"; do
		ip -n "$ns" xfrm state add src $OA dst $OB proto esp spi 0x100 \
			reqid 1 mode "$mode" aead 'rfc4106(gcm(aes))' $KEY 128 \
			"${sab[@]}" || return 1
		ip -n "$ns" xfrm state add src $OB dst $OA proto esp spi 0x101 \
			reqid 2 mode "$mode" aead 'rfc4106(gcm(aes))' $KEY 128 \
			"${sba[@]}" || return 1
	done
	pol "$A" out $IA $IB $OA $OB 1 "$mode" && pol "$A" in $IB $IA $OB $OA 2 "$mode" &&
	pol "$B" in $IA $IB $OA $OB 1 "$mode" && pol "$B" out $IB $IA $OB $OA 2 "$mode"
}

pol() {	# NS DIR SRC DST TSRC TDST REQID MODE
	ip -n "$1" xfrm policy add dir "$2" src "$3/$IPL" dst "$4/$IPL" \
		tmpl src "$5" dst "$6" proto esp reqid "$7" mode "$8"
}

ping_a() {	# SIZE [more ping args]: one DF ping from A's inner to B's inner
	local s=$1
	shift
	ip netns exec "$A" ping $V -M do -s "$s" -c 1 -W 2 -I $IA "$@" $IB 2>&1
}

learned_mtu() {	# the PMTU A has cached towards B's outer address, or nothing
	ip -n "$A" $V route get $OB | sed -n 's/.* mtu \([0-9]*\).*/\1/p'
}

# inject FAMILY: ICMP errors with bad quotes, sent by R to A. The ICMP
# layer drops some of them, espx's handler sees the others; none may teach
# A a PMTU (1300 would show).
inject() {
	ip netns exec "$R" python3 - "$1" $RA $OA $OB <<'EOF'
import sys
from scapy.all import IP, IPv6, ICMP, ICMPv6PacketTooBig, Raw, send, conf
conf.verb = 0
fam, r, a, b = sys.argv[1:5]
spi_ok = bytes.fromhex("00000100") + bytes(4)
spi_bad = bytes.fromhex("0000dead") + bytes(4)
if fam == "4":
    q = lambda src, dst: IP(src=src, dst=dst, proto=50, flags="DF", len=1500)
    err = lambda quote: IP(src=r, dst=a) / ICMP(type=3, code=4, nexthopmtu=1300) / quote
    pkts = [err(Raw(bytes(q(a, b))[:20] + spi_ok[:4])),	# quote cut after SPI
            err(Raw(bytes(q(a, b))[:20])),		# no ESP header at all
            err(q(a, b) / Raw(spi_bad)),		# unknown SPI
            err(q(a, r) / Raw(spi_ok)),			# wrong destination
            err(Raw(b"\x4f" + bytes(q(a, b))[1:20] + spi_ok)),  # ihl 15, short
            err(Raw(b"\x41" + bytes(q(a, b))[1:20] + spi_ok))]  # ihl 1
else:
    q = lambda src, dst: IPv6(src=src, dst=dst, nh=50, plen=1460)
    err = lambda quote: IPv6(src=r, dst=a) / ICMPv6PacketTooBig(mtu=1300) / quote
    pkts = [err(Raw(bytes(q(a, b))[:40] + spi_ok[:4])),
            err(Raw(bytes(q(a, b))[:40])),
            err(q(a, b) / Raw(spi_bad)),
            err(q(a, r) / Raw(spi_ok)),
            err(Raw(bytes(q(a, b))[:20]))]		# half an IPv6 header
for p in pkts:
    send(p)
EOF
}

inject_nothing() {
	local out
	inject "$1" || return 1
	sleep 0.5
	out=$(learned_mtu)
	[ -z "$out" ] || { echo "learned mtu $out"; return 1; }
}

case_run() {	# FAMILY MODE
	local fam=$1 mode=$2 name="IPv$1 $2" m big out
	# not in $(...): topo sets globals
	if ! topo "$fam${mode:0:1}" "$fam" >"$LOG" 2>&1 || ! sas "$mode" >>"$LOG" 2>&1; then
		ktap_fail "$name: setup"
		sed 's/^/#   /' "$LOG"
		for _ in 1 2 3 4 5; do ktap_fail "$name: no setup"; done
		return
	fi
	m=$(state_mtu "$fam" "$mode" $FAR_MTU)
	big=$(( $(state_mtu "$fam" "$mode" 1500) - OHDR ))	# fits A's link, not B's
	check "$name: small ping through the SA" ping_a 100
	if command -v python3 >/dev/null && python3 -c 'import scapy' 2>/dev/null; then
		check "$name: ICMP errors with bad quotes teach nothing" \
			inject_nothing "$fam"
	else
		ktap_skip "$name: ICMP errors with bad quotes: no python3-scapy"
	fi
	# too big for the far link: lost, R answers with frag-needed / PTB
	ping_a "$big" -c 2 -i 0.5 >/dev/null
	out=$(learned_mtu)
	if [ "$out" = $FAR_MTU ]; then
		ktap_ok "$name: A learned PMTU $FAR_MTU towards B's outer address"
	else
		ktap_fail "$name: A learned PMTU '$out' towards B's outer address, want $FAR_MTU"
		{ ip -n "$A" $V route get $OB; ip netns exec "$A" nstat -az | grep -E 'Icmp6?In(Msgs|Errors|DestUnreachs|PktTooBigs)'; } |
			sed 's/^/#   /'
	fi
	out=$(ping_a $((m - OHDR + 1)))
	if grep -qE "mtu[=:] ?$m\b" <<<"$out"; then
		ktap_ok "$name: inner packet of $((m + 1)) refused locally, mtu $m = xfrm_state_mtu($FAR_MTU)"
	else
		ktap_fail "$name: inner packet of $((m + 1)): want a local error with mtu $m"
		sed 's/^/#   /' <<<"$out"
	fi
	check "$name: inner packet of $m (the new PMTU) passes" ping_a $((m - OHDR))
	sleep 1
	check "$name: and again after 1 s (route stays usable)" ping_a $((m - OHDR))
	ip netns del "$A"; ip netns del "$R"; ip netns del "$B"
}

ktap_header
ktap_plan 26
trap 'rm -f "$LOG"; __cleanup' EXIT

if [ "${PMTU_STOCK:-0}" = 1 ]; then
	ktap_info "PMTU_STOCK=1: testing the kernel's esp4/esp6, not espx"
	ip -all netns exec ip xfrm state flush 2>/dev/null
	ip xfrm state flush
	for _ in $(seq 50); do ! loaded espx || rmmod espx 2>/dev/null || sleep 0.2; done
	modprobe esp4 && modprobe esp6
	check "esp4 and esp6 loaded, espx not" bash -c "! grep -q '^espx ' /proc/modules"
else
	check "espx loaded, esp4/esp6 not" \
		bash -c "grep -q '^espx ' /proc/modules && ! grep -qE '^esp[46] ' /proc/modules"
fi
echo "espx-selftest: pmtu start" >/dev/kmsg

for c in ${PMTU_CASES:-4t 4b 6t 6b}; do
	case $c in
	4t) case_run 4 tunnel ;;
	4b) case_run 4 beet ;;
	6t) case_run 6 tunnel ;;
	6b) case_run 6 beet ;;
	esac
done

check "kernel log clean" bash -c \
	"! dmesg | sed -n '/espx-selftest: pmtu start/,\$p' | grep -E '$SPLAT'"

if [ "${PMTU_STOCK:-0}" = 1 ]; then
	# the deleted namespaces' SAs go away with the xfrm GC
	for _ in $(seq 50); do rmmod esp4 esp6 2>/dev/null && break; sleep 0.2; done
	[ -n "${ESPX_KO:-}" ] && insmod "$ESPX_KO"
fi
ktap_finish
