#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU discovery through espx SAs. A host A, a router R and a host B are
# joined by veths:
#   A --1500-- R --1400-- B
# There are six cases: tunnel and BEET mode, over IPv4 and over IPv6, with
# AES-GCM-128 (IV 8, ICV 16), and WESPv2 tunnels (crypt-offset 2) over IPv4
# and IPv6, whose ICMP errors quote a protocol-141 header before the ESP one. Each case has its own outer addresses (so its
# own PMTU cache entry), inner addresses, SA pair and policies. A sends a
# too-big ping with DF set. R drops the ESP packet and answers with ICMP
# frag-needed or ICMPv6 packet-too-big (MTU 1400), which quotes the outer
# header and the ESP header. The ESP err handler must find the SA by that SPI
# and update the PMTU towards B's outer address, where "ip route get" then
# shows "mtu 1400". The inner path MTU is then xfrm_state_mtu(1400), so a ping
# one octet bigger fails locally and reports that MTU, and a ping of exactly
# that size passes. Before that, R sends A ICMP errors with bad quotes
# (truncated, unknown SPI, wrong address, bad header length). They must not
# change the PMTU, and they must not crash anything.
#
# ESP_IMPL=stock runs the same checks against the kernel's esp4/esp6, to
# validate the test itself. espx is loaded again at the end.
. "$(dirname "$0")/lib.sh"

KEY=0x0102030405060708090a0b0c0d0e0f10a0a1a2a3
FAR_MTU=1400
LOG=/tmp/espx-pmtu-$$.log
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

loaded() { grep -q "^$1 " /proc/modules; }

# xfrm_state_mtu() for AES-GCM (blksize 4, ICV 16) with esp4/esp6's
# header_len: 8 + IV 8, plus the outer header in tunnel mode, plus the BEET
# pseudo-header space for an IPv4 inner header. The result is the largest
# inner packet for a path MTU.
state_mtu() {	# FAMILY MODE PMTU [WESP]
	local fam=$1 mode=$2 mtu=$3 hl=16 adj=0 ohdr
	ohdr=$([ "$fam" = 4 ] && echo 20 || echo 40)
	# WESPv2: 4-octet header, plus a 4-octet PadN on IPv6 (8-alignment)
	[ -n "${4:-}" ] && hl=$((hl + ($fam == 4 ? 4 : 8)))
	case $mode in
	tunnel) hl=$((hl + ohdr)) ;;
	beet) adj=$ohdr ;;	# inner family = outer family here
	esac
	[ "$mode" = beet ] && [ "$fam" = 4 ] && hl=$((hl + 8))
	echo $(( ((mtu - hl - 16 - adj) & ~3) + adj - 2 ))
}

# topo: namespaces A, R, B. Per case n (1..4), A has outer .n and B has outer
# .n, in 192.168.10.0/24 (A-R) and 192.168.20.0/24 (R-B), or fd00:10::/64 and
# fd00:20::/64. The inner addresses are 10.1.n.1 (A) and 10.2.n.1 (B), or
# fd00:a:n::1 and fd00:b:n::1, on lo.
topo() {
	local ns l n
	A=$(ns_new a) && R=$(ns_new r) && B=$(ns_new b) || return 1
	ip link add veth0 netns "$A" type veth peer name ra netns "$R" || return 1
	ip link add veth0 netns "$B" type veth peer name rb netns "$R" || return 1
	ip -n "$R" link set rb mtu $FAR_MTU
	ip -n "$B" link set veth0 mtu $FAR_MTU
	for ns in "$A" "$R" "$B"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 \
			net.ipv6.icmp.ratelimit=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 || return 1
		for l in veth0 ra rb; do
			ip -n "$ns" link set dev $l up 2>/dev/null
		done
	done
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$R" addr add 192.168.10.254/24 dev ra
	ip -n "$R" addr add 192.168.20.254/24 dev rb
	ip -n "$R" addr add fd00:10::fe/64 dev ra nodad
	ip -n "$R" addr add fd00:20::fe/64 dev rb nodad
	# one ip process per namespace: every exec is slow under TCG
	for n in 1 2 3 4 5 6; do
		echo "addr add 192.168.10.$n/24 dev veth0"
		echo "addr add fd00:10::$n/64 dev veth0 nodad"
		echo "addr add 10.1.$n.1/32 dev lo"
		echo "addr add fd00:a:$n::1/128 dev lo nodad"
	done | ip -n "$A" -batch - || return 1
	for n in 1 2 3 4 5 6; do
		echo "addr add 192.168.20.$n/24 dev veth0"
		echo "addr add fd00:20::$n/64 dev veth0 nodad"
		echo "addr add 10.2.$n.1/32 dev lo"
		echo "addr add fd00:b:$n::1/128 dev lo nodad"
	done | ip -n "$B" -batch - || return 1
	printf '%s\n' "route add default via 192.168.10.254" \
		"route add ::/0 via fd00:10::fe" | ip -n "$A" -batch - || return 1
	printf '%s\n' "route add default via 192.168.20.254" \
		"route add ::/0 via fd00:20::fe" | ip -n "$B" -batch - || return 1
	# wait until both families route end to end
	for n in 1 2 3 4 5; do
		ip netns exec "$A" ping -c 1 -W 1 -q 192.168.20.1 >/dev/null 2>&1 &&
		ip netns exec "$A" ping -6 -c 1 -W 1 -q fd00:20::1 >/dev/null 2>&1 && return 0
	done
	echo "no route A -> B"
	return 1
}

# use_case N FAMILY MODE [wesp]: set the globals of case N.
use_case() {
	local n=$1
	FAM=$2 MODE=$3 SPI=$((0x100 + 2 * n)) WESP=${4:-}
	if [ "$FAM" = 4 ]; then
		OA=192.168.10.$n RA=192.168.10.254 OB=192.168.20.$n
		IA=10.1.$n.1 IB=10.2.$n.1 IPL=32 V=-4 OHDR=28
	else
		OA=fd00:10::$n RA=fd00:10::fe OB=fd00:20::$n
		IA=fd00:a:$n::1 IB=fd00:b:$n::1 IPL=128 V=-6 OHDR=48
	fi
}

# sas: SA pair (SPI A->B, SPI+1 B->A) and policies on A and B.
sas() {
	local ns sab=() sba=() ipb=ip
	if [ -n "$WESP" ]; then
		ipb=$IP
		sab=(wesp crypt-offset 2)
		sba=(wesp crypt-offset 2)
	fi
	if [ "$MODE" = beet ]; then
		sab=(sel src "$IA" dst "$IB")
		sba=(sel src "$IB" dst "$IA")
	fi
	for ns in "$A" "$B"; do
		$ipb -n "$ns" xfrm state add src $OA dst $OB proto esp spi $SPI \
			reqid $SPI mode $MODE aead 'rfc4106(gcm(aes))' $KEY 128 \
			"${sab[@]}" || return 1
		$ipb -n "$ns" xfrm state add src $OB dst $OA proto esp spi $((SPI + 1)) \
			reqid $((SPI + 1)) mode $MODE aead 'rfc4106(gcm(aes))' $KEY 128 \
			"${sba[@]}" || return 1
	done
	pol "$A" out $IA $IB $OA $OB $SPI && pol "$A" in $IB $IA $OB $OA $((SPI + 1)) &&
	pol "$B" in $IA $IB $OA $OB $SPI && pol "$B" out $IB $IA $OB $OA $((SPI + 1))
}

pol() {	# NS DIR SRC DST TSRC TDST REQID
	ip -n "$1" xfrm policy add dir "$2" src "$3/$IPL" dst "$4/$IPL" \
		tmpl src "$5" dst "$6" proto esp reqid "$7" mode $MODE
}

ping_a() {	# SIZE [ping args]: DF pings from A's inner to B's inner address
	local s=$1
	shift
	ip netns exec "$A" ping $V -M "do" -s "$s" -c 1 -W 2 -I $IA "$@" $IB 2>&1
}

learned_mtu() {	# the PMTU A has cached towards B's outer address, or nothing
	ip -n "$A" $V route get $OB | sed -n 's/.* mtu \([0-9]*\).*/\1/p'
}

# inject: ICMP errors with bad quotes, sent by R to A with MTU 1300. The ICMP
# layer drops some of them, and the ESP err handler sees the others. None of
# them may teach A a PMTU. Raw sockets only (scapy takes ~40 s to import under
# TCG). For ICMPv6 the kernel computes the checksum.
inject() {
	ip netns exec "$R" $PYTHON - "$FAM" $OA $OB $RA $SPI <<'EOF'
import socket, struct, sys
fam, a, b, r, spi = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
esp_ok = struct.pack("!II", spi, 1)
esp_bad = struct.pack("!II", 0xdead, 1)

def csum(d):
    d += b"\0" * (len(d) & 1)
    s = sum(struct.unpack("!%dH" % (len(d) // 2), d))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

if fam == "4":
    def ip4(src, dst, vihl=0x45):
        return struct.pack("!BBHHHBBH4s4s", vihl, 0, 1500, 0, 0x4000, 64, 50, 0,
                           socket.inet_aton(src), socket.inet_aton(dst))
    quotes = [ip4(a, b) + esp_ok[:4],		# cut after the SPI
              ip4(a, b),			# no ESP header
              ip4(a, b) + esp_bad,		# unknown SPI
              ip4(a, r) + esp_ok,		# SPI known, wrong destination
              ip4(a, b, 0x4f) + esp_ok,		# ihl 15, quote too short
              ip4(a, b, 0x41) + esp_ok]		# ihl 1
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for q in quotes:
        h = struct.pack("!BBHHH", 3, 4, 0, 0, 1300)	# frag needed, mtu 1300
        h = h[:2] + struct.pack("!H", csum(h + q)) + h[4:]
        s.sendto(h + q, (a, 0))
else:
    def ip6(src, dst):
        return struct.pack("!IHBB16s16s", 6 << 28, 1460, 50, 64,
                           socket.inet_pton(socket.AF_INET6, src),
                           socket.inet_pton(socket.AF_INET6, dst))
    quotes = [ip6(a, b) + esp_ok[:4],
              ip6(a, b),
              ip6(a, b) + esp_bad,
              ip6(a, r) + esp_ok,
              ip6(a, b)[:20]]			# half an IPv6 header
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    for q in quotes:
        s.sendto(struct.pack("!BBHI", 2, 0, 0, 1300) + q, (a, 0))	# packet too big
EOF
}

inject_nothing() {
	local out
	inject || return 1
	sleep 0.5
	out=$(learned_mtu)
	[ -z "$out" ] || { echo "learned mtu $out"; return 1; }
}

case_run() {	# N FAMILY MODE [wesp]
	local name="IPv$2 $3${4:+ $4}" m big out
	use_case "$@"
	m=$(state_mtu $FAM $MODE $FAR_MTU $WESP)
	big=$(( $(state_mtu $FAM $MODE 1500 $WESP) - OHDR ))	# fits A-R, not R-B
	if ! sas >"$LOG" 2>&1; then
		ktap_fail "$name: SAs and policies"
		sed 's/^/#   /' "$LOG"
		for _ in 1 2 3 4 5; do ktap_fail "$name: no SAs"; done
		return
	fi
	check "$name: small ping through the SA" ping_a 100
	check "$name: ICMP errors with bad quotes teach nothing" inject_nothing
	# too big for R-B: lost at R, which answers with frag-needed / PTB
	ping_a "$big" -c 2 -i 0.5 >/dev/null
	out=$(learned_mtu)
	if [ "$out" = $FAR_MTU ]; then
		ktap_ok "$name: A learned PMTU $FAR_MTU towards B's outer address"
	else
		ktap_fail "$name: A learned PMTU '$out' towards B's outer address, want $FAR_MTU"
		{ ip -n "$A" $V route get $OB
		  ip netns exec "$A" nstat -az | grep -E 'Icmp6?In(Msgs|Errors|DestUnreachs|PktTooBigs) '
		} | sed 's/^/#   /'
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
	check "$name: and again after 1 s" ping_a $((m - OHDR))
}

ktap_header
ktap_plan 39
trap 'rm -f "$LOG"; __cleanup' EXIT

if [ "${ESP_IMPL:-espx}" = stock ]; then
	ktap_info "ESP_IMPL=stock: testing the kernel's esp4/esp6, not espx"
	loaded espx && rmmod_retry espx
	modprobe esp4 && modprobe esp6
	check "esp4 and esp6 loaded, espx not" bash -c "! grep -q '^espx ' /proc/modules"
else
	check "espx loaded, esp4/esp6 not" \
		bash -c "grep -q '^espx ' /proc/modules && ! grep -qE '^esp[46] ' /proc/modules"
fi
echo "espx-selftest: pmtu start" >/dev/kmsg

if topo >"$LOG" 2>&1; then
	ktap_ok "topology A - R - B, IPv4 and IPv6"
	case_run 1 4 tunnel
	case_run 2 4 beet
	case_run 3 6 tunnel
	case_run 4 6 beet
	if [ "${ESP_IMPL:-espx}" = stock ]; then
		for _ in $(seq 12); do ktap_skip "WESPv2 cases need espx"; done
	else
		case_run 5 4 tunnel wesp
		case_run 6 6 tunnel wesp
	fi
else
	ktap_fail "topology A - R - B, IPv4 and IPv6"
	sed 's/^/#   /' "$LOG"
	for _ in $(seq 36); do ktap_fail "no topology"; done
fi

check "kernel log clean" bash -c \
	"! dmesg | sed -n '/espx-selftest: pmtu start/,\$p' | grep -E '$SPLAT'"

if [ "${ESP_IMPL:-espx}" = stock ]; then
	for ns in "$A" "$R" "$B"; do ip netns del "$ns"; done
	rmmod_retry esp4 esp6
	if [ -n "${ESPX_KO:-}" ]; then
		deps=$(modinfo -F depends "$ESPX_KO" | tr , ' ')
		[ -z "$deps" ] || modprobe -a $deps
		insmod "$ESPX_KO"
	fi
fi
ktap_finish
