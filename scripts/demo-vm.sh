#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the demo VM: two namespaces joined by veth, an SA pair and policies made
# with the patched ip, traffic through them, then the SAs with their espx lines; then a
# WESPv2 SA pair with two sequence counters, its per-counter state and a packet; then a
# Diet-ESP SA (the draft's IoT example) and its 28-octet packet; then ESP Echo probes
# of the first SA, answered by the peer on its pair.
set -euo pipefail
ko=$1
top=$(dirname "$(dirname "$(readlink -f "$0")")")
IP=$top/build/iproute2/ip/ip
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { echo "\$ $*"; "$@"; }

# insmod does not resolve dependencies (xfrm_algo, ...): load them first.
modprobe -a $(modinfo -F depends "$ko" | tr , ' ')
insmod "$ko"
say "espx loaded"
grep -E '^espx ' /proc/modules
dmesg | grep espx | tail -n 2

ip netns add left; ip netns add right
ip link add veth0 netns left type veth peer name veth0 netns right
for ns in left right; do ip -n $ns link set lo up; ip -n $ns link set veth0 up; done
ip -n left addr add 192.0.2.1/24 dev veth0
ip -n right addr add 192.0.2.2/24 dev veth0
ip -n left addr add 2001:db8::1/64 dev veth0 nodad
ip -n right addr add 2001:db8::2/64 dev veth0 nodad

key=0x$(printf '%02x' $(seq 0 19) | tr -d '\n')	# 16 octets AES key + 4 octets salt
sa() {	# sa NS SRC DST SPI [echo]
	run ip netns exec "$1" "$IP" xfrm state add src "$2" dst "$3" proto esp spi "$4" \
		reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' "$key" 128 sel src 0.0.0.0/0 dst 0.0.0.0/0 \
		${5:-}
}
pol() {	# pol NS SRC DST DIR
	run ip netns exec "$1" "$IP" xfrm policy add src "$2/32" dst "$3/32" dir "$4" \
		tmpl src "$2" dst "$3" proto esp reqid 1 mode tunnel
}
say "SA pair and policies (tunnel mode, AES-GCM-128), made with the patched ip"
# right's inbound SA answers ESP Echo requests (the last act)
sa left 192.0.2.1 192.0.2.2 0x1001
sa right 192.0.2.1 192.0.2.2 0x1001 echo
for ns in left right; do
	sa $ns 192.0.2.2 192.0.2.1 0x1002
done
pol left 192.0.2.1 192.0.2.2 out; pol left 192.0.2.2 192.0.2.1 in
pol right 192.0.2.2 192.0.2.1 out; pol right 192.0.2.1 192.0.2.2 in

say "traffic"
run ip netns exec left ping -c 3 -i 0.2 192.0.2.2
ip netns exec right iperf3 -s -1 -D >/dev/null
sleep 1
run ip netns exec left iperf3 -c 192.0.2.2 -t 3 -f m | grep -E 'sender|receiver'

say "the SAs, as espx sees them (ip -s xfrm state)"
run ip netns exec left "$IP" -s xfrm state list
say "the same as JSON (ip -j xfrm state)"
ip netns exec left "$IP" -j xfrm state list | python3 -m json.tool | head -n 40

say "an ESP packet on the wire"
# tcpdump takes a while to start under emulation: ping until it has caught one packet.
ip netns exec right timeout 60 tcpdump -c 1 -nn -l -i veth0 -X esp 2>/dev/null &
dump=$!
for _ in $(seq 60); do
	ip netns exec left ping -c 1 -W 1 192.0.2.2 >/dev/null
	kill -0 $dump 2>/dev/null || break
	sleep 0.5
done
wait $dump || true
say "WESPv2 with two sequence counters (IPv6 transport): one counter per sending CPU"
# Counter SAs: replay-window 0 (espx keeps a window per counter), oseq-may-wrap (the
# core's shared counter is unused); crypt-offset 2 leaves the UDP/ICMP header in clear.
for ns in left right; do
	for d in "2001:db8::1 2001:db8::2 0x2001" "2001:db8::2 2001:db8::1 0x2002"; do
		set -- $d
		run ip netns exec $ns "$IP" xfrm state add src "$1" dst "$2" proto esp spi "$3" \
			mode transport aead 'rfc4106(gcm(aes))' "$key" 128 \
			extra-flag oseq-may-wrap wesp crypt-offset 2 seq-counters 2
	done
done
# static neighbours: neighbour discovery is ICMPv6 too and must not wait for the SAs
ip -n left neigh replace 2001:db8::2 dev veth0 nud permanent \
	lladdr "$(ip -n right -br link show veth0 | awk '{print $3}')"
ip -n right neigh replace 2001:db8::1 dev veth0 nud permanent \
	lladdr "$(ip -n left -br link show veth0 | awk '{print $3}')"
for d in "left 2001:db8::1 2001:db8::2" "right 2001:db8::2 2001:db8::1"; do
	set -- $d
	ip -n "$1" xfrm policy add src "$2/128" dst "$3/128" proto ipv6-icmp dir out \
		tmpl src "$2" dst "$3" proto esp mode transport
	ip -n "$1" xfrm policy add src "$3/128" dst "$2/128" proto ipv6-icmp dir in \
		tmpl src "$3" dst "$2" proto esp mode transport
done
run ip netns exec left taskset -c 0 ping -6 -c 3 -i 0.2 2001:db8::2
if [ "$(nproc)" -gt 1 ]; then
	run ip netns exec left taskset -c 1 ping -6 -c 3 -i 0.2 2001:db8::2
fi
say "the counters of the SA left -> right (ip -s xfrm state get)"
run ip netns exec left "$IP" -s xfrm state get src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x2001 |
	sed -n '/espx status/,$p'
say "a WESPv2 packet on the wire: protocol 141, Sub-SA ID option 1b 02 <counter>"
ip netns exec right timeout 60 tcpdump -c 1 -nn -l -i veth0 -X 'ip6 proto 141' 2>/dev/null &
dump=$!
for _ in $(seq 60); do
	ip netns exec left ping -6 -c 1 -W 1 2001:db8::2 >/dev/null
	kill -0 $dump 2>/dev/null || break
	sleep 0.5
done
wait $dump || true

say "Diet-ESP (diet-esp.md 8 A): 10 octets of UDP in an IPv6 tunnel, header compression"
# inner hosts 2001:db8:a::1 -> 2001:db8:b::1, UDP 49152 -> 5683; the selector fixes every
# inner header field, so none is sent; 16 SN bits, no SPI, implicit IV, no trailer
ip -n left addr add 2001:db8:a::1/128 dev lo
ip -n right addr add 2001:db8:b::1/128 dev lo
ip -n left route add 2001:db8:b::1/128 via 2001:db8::2 dev veth0
for ns in left right; do
	run ip netns exec $ns "$IP" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp \
		spi 0xa001 reqid 7 mode tunnel replay-window 32 aead 'rfc4106(gcm(aes))' "$key" 128 \
		sel src 2001:db8:a::1 dst 2001:db8:b::1 proto udp sport 49152 dport 5683 \
		diet spi-lsb 0 sn-lsb 16 trailer optional inner compress dscp sa 0 ecn lower \
		flowlabel lower iiv
done
for d in "left out" "right in"; do
	set -- $d
	ip -n "$1" xfrm policy add src 2001:db8:a::1/128 dst 2001:db8:b::1/128 proto udp \
		sport 49152 dport 5683 dir "$2" tmpl src 2001:db8::1 dst 2001:db8::2 proto esp \
		reqid 7 mode tunnel
done
ip netns exec right timeout 60 socat -u UDP6-RECV:5683 STDOUT > /tmp/espx-demo-udp &
ip netns exec right timeout 60 tcpdump -c 1 -nn -l -i veth0 -X 'ip6 proto 253' 2>/dev/null &
dump=$!
for _ in $(seq 60); do
	printf 'temp=21.5C' | ip netns exec left socat -u - \
		'UDP6-SENDTO:[2001:db8:b::1]:5683,bind=[2001:db8:a::1]:49152'
	kill -0 $dump 2>/dev/null || break
	sleep 0.5
done
wait $dump || true
echo "received by 2001:db8:b::1 port 5683: $(head -c 10 /tmp/espx-demo-udp)"
echo "(the packet above: IPv6 header, then 2 octets of SN, 10 octets of ciphertext and the"
echo " 16-octet ICV: 28 octets where plain ESP with the same cipher needs 84)"
run ip netns exec right "$IP" -s xfrm state get src 2001:db8::1 dst 2001:db8::2 proto esp \
	spi 0xa001 | sed -n '/espx status/,$p'

say "ESP Echo (esp-echo.md): is the SA left -> right 0x1001 alive? The reply comes on 0x1002"
# espx sends the requests from a timer; right answers on its inbound SA (echo flag)
run ip netns exec left "$IP" xfrm state echo src 192.0.2.1 dst 192.0.2.2 proto esp \
	spi 0x1001 count 3 interval 200 || true	# exit status 1: none answered
echo "\$ ip -j xfrm state echo ... count 1 | python3 -m json.tool"
ip netns exec left "$IP" -j xfrm state echo src 192.0.2.1 dst 192.0.2.2 proto esp \
	spi 0x1001 | python3 -m json.tool || true
say "right's SA: the echo flag, the requests it answered (ip -s xfrm state get)"
run ip netns exec right "$IP" -s xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp \
	spi 0x1001 | sed -n '/espx status/,$p'
ip netns del left; ip netns del right
