#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Wire compatibility between the kernel's esp4/esp6 and espx, inside one boot:
#  1. stock esp4/esp6: every case (algorithm x transport/tunnel/BEET x IPv4/IPv6,
#     BEET between families, ESP in UDP, ESN) sends a ping and a UDP datagram
#     A -> B; the ESP packets arriving at B are captured.
#  2. SAs flushed, esp4/esp6 unloaded, espx.ko loaded, identical SAs installed
#     (same SPIs and keys), the captured packets replayed into B: B's SA must
#     count every one of them, B's UDP server must get the datagrams again, and
#     no xfrm error counter may move.
#  3. Same the other way: espx's output captured, back to esp4/esp6, replayed.
# The script switches modules itself and leaves espx loaded at the end.
# ESP_IMPL=stock: "espx" is esp4/esp6 again (stock -> stock), which validates
# the test itself; then stock is left loaded. Without ESPX_KO (and ESP_IMPL
# not stock) every point is skipped: nothing about espx was tested.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

T0=$(xt_now)
ktap_header

OTHER=espx
if [ "$ESP_IMPL" = stock ] || [ -z "${ESPX_KO:-}" ] || [ ! -e "${ESPX_KO:-}" ]; then
	OTHER=stock
fi

# switch_to stock|espx: no SA may exist (flush first); loads that implementation
switch_to() {
	local m
	if [ "$1" = stock ]; then
		xt_mod_loaded espx && { xt_rmmod espx || return 1; }
		if [ "$OTHER" = stock ]; then	# stock -> stock: reload to prove nothing is kept
			for m in esp4_offload esp6_offload esp4 esp6; do
				xt_mod_loaded $m && { xt_rmmod $m || return 1; }
			done
		fi
		modprobe esp4 && modprobe esp6
	else
		xt_use_espx
	fi
}

for alg in $XT_ALGS; do
	for mode in transport tunnel beet; do
		for f in 4 6; do
			xt_case "$alg" $mode $f $f
		done
	done
done
xt_case gcm128-16 beet 6 4
xt_case chacha beet 4 6
xt_case sha256-cbc128 beet 6 4
for mode in transport tunnel beet; do
	xt_case gcm128-16 $mode 4 4 "gcm128-16 $mode ipv4 udp-encap" encap
done
xt_case gcm128-16 tunnel 6 6 "gcm128-16 tunnel ipv6 udp-encap" encap
xt_case gcm128-16 transport 4 4 "gcm128-16 transport ipv4 esn" "flag esn replay-window 128"
xt_case sha256-cbc128 tunnel 6 6 "sha256-cbc128 tunnel ipv6 esn" "flag esn replay-window 128"
xt_case chacha beet 4 4 "chacha beet ipv4 esn" "flag esn replay-window 128"

ktap_plan $((2 * XT_N + 2))
ktap_info "ESP_IMPL=$ESP_IMPL: stock -> $OTHER -> stock, kernel $(uname -r), $XT_N cases"

# espx claims without espx.ko: not tested (ESP_IMPL=stock asks for stock -> stock)
if [ "$ESP_IMPL" != stock ] && [ "$OTHER" = stock ]; then
	for n in $(seq 1 $((2 * XT_N + 2))); do
		ktap_skip "esp4/esp6 <-> espx: no espx.ko (ESPX_KO=${ESPX_KO:-unset})"
	done
	ktap_finish
fi

# (stop here, cleanly, if the first module switch is impossible)
xt_dmesg_mark
if ! out=$(switch_to stock 2>&1); then
	ktap_info "cannot load esp4/esp6: $out"
	for n in $(seq 1 $((2 * XT_N + 1))); do ktap_skip "esp4/esp6 not loadable"; done
	xt_dmesg_point
	ktap_finish
fi

t=$(xt_now)
xt_setup || { ktap_fail "topology"; ktap_finish; }
xt_servers || { ktap_fail "servers"; ktap_finish; }
ktap_info "setup: $(xt_since "$t") s"
for n in $(seq 1 $XT_N); do
	[ -n "${XT_BAD[n]}" ] && ktap_info "case $n (${XT_LABEL[n]}): ${XT_BAD[n]}"
done

coproc PK { ip netns exec "$NS_A" $XT_PKT serve 2>&1; }
XT_PIDS+=("$PK_PID")
pk() {
	local l
	PKOUT=
	echo "$*" >&"${PK[1]}"
	while read -r -t 300 -u "${PK[0]}" l; do
		[ "$l" = . ] && return 0
		PKOUT+="$l"$'\n'
	done
	PKOUT+="espx_pkt.py serve did not answer"
	return 1
}

DSTS=()
for n in $(seq 1 $XT_N); do
	[ -n "${XT_BAD[n]}" ] || DSTS+=("${XT_DST[n]}")
done

# record IMPL: capture at B what A's traffic (a ping, and a UDP datagram tagged
# wc-IMPL to B's sink port: B must not answer it, or the replay would make A
# send an ICMP error with an SN B has seen already) brings; the pcap is
# $XT_TMP/IMPL.pcap; TRAFFIC[dst] = the traffic tool's verdict
declare -A TRAFFIC
record() {
	local f=$XT_TMP/$1.pcap r d rest
	WAIT_READY=1 xt_bg "$NS_B" cap-$1 $XT_PKT capture --dev veth0 --dir in --out "$f" --timeout 600 ||
		return 1
	local cap=$XT_LASTPID
	TRAFFIC=()
	while read -r r d rest; do
		TRAFFIC[$d]="$r $rest"
	done < <(ip netns exec "$NS_A" timeout 300 $XT_PKT traffic --port $XT_SINK_PORT \
		--no-reply --pings 1 --tag "wc-$1" "${DSTS[@]}")
	sleep 0.5
	xt_stop "$cap"
	ktap_info "$1: $(tail -1 "$XT_TMP/cap-$1.log")"
}

# app_count TAG: APP[dst] = datagrams tagged TAG that B's UDP server got so far
declare -A APP
app_count() {
	local k v
	APP=()
	while read -r k v; do
		APP[$k]=$v
	done < <(awk -v t="wc-$1" '$1 == t { c[$2]++ } END { for (k in c) print k, c[k] }' \
		"$XT_TMP/udpB.rx")
}

# replay FROM TO: capture of FROM replayed into fresh SAs under TO; one point per case
replay() {
	local from=$1 to=$2 n spi idx fam len s seq rest why errs0 errs1
	declare -A FRAMES APP0
	pk info "$XT_TMP/$from.pcap"
	while read -r idx fam len s seq rest; do
		[[ $idx =~ ^[0-9]+$ ]] || continue
		printf -v s 0x%x "$s"
		FRAMES[$s]=$((${FRAMES[$s]:-0} + 1))
	done <<<"$PKOUT"
	app_count "$from"
	for k in "${!APP[@]}"; do APP0[$k]=${APP[$k]}; done
	errs0=$(xt_errs "$NS_B")
	pk send --dev veth0 "$XT_TMP/$from.pcap"
	sleep 1
	errs1=$(xt_errs "$NS_B")
	declare -A SAB
	xt_sa_load "$NS_B" SAB
	app_count "$from"
	[ "$errs0" = "$errs1" ] || ktap_info "xfrm errors at B during the replay: '$errs0' -> '$errs1'"
	for n in $(seq 1 $XT_N); do
		local d=${XT_DST[n]} spi=${XT_SPI1[n]} why=
		if [ -n "${XT_BAD[n]}" ]; then
			ktap_fail "$from -> $to: ${XT_LABEL[n]}: ${XT_BAD[n]}"
			continue
		fi
		[[ ${TRAFFIC[$d]:-} == ok* ]] || why+=" (capture traffic: ${TRAFFIC[$d]:-none})"
		[ "${FRAMES[$spi]:-0}" -gt 0 ] || why+=" no packets captured"
		[ "${SAB[$spi]:-0}" = "${FRAMES[$spi]:-0}" ] ||
			why+=" B's SA accepted ${SAB[$spi]:-none} of ${FRAMES[$spi]:-0}"
		[ "${APP[$d]:-0}" -gt "${APP0[$d]:-0}" ] || why+=" UDP datagram not delivered again"
		if [ -z "$why" ]; then
			ktap_ok "$from -> $to: ${XT_LABEL[n]} (${FRAMES[$spi]} packets)"
		else
			ktap_fail "$from -> $to: ${XT_LABEL[n]}:$why"
		fi
	done
}

# fresh_sas: flush and reinstall every SA/policy (fresh counters and windows)
fresh_sas() {
	xt_flush
	xt_sa_install
}

# 1. stock output
t=$(xt_now)
record stock || { ktap_fail "capture"; ktap_finish; }
ktap_info "stock capture: $(xt_since "$t") s"

# 2. to the other implementation, replay
xt_flush
if ! out=$(switch_to "$OTHER" 2>&1); then
	ktap_info "cannot switch to $OTHER: $out"
	for n in $(seq 1 $((2 * XT_N))); do ktap_fail "switch to $OTHER failed"; done
	xt_dmesg_point
	ktap_finish
fi
t=$(xt_now)
xt_sa_install
replay stock "$OTHER"
ktap_info "replay into $OTHER: $(xt_since "$t") s"

# 3. the other implementation's output, back to stock, replay
t=$(xt_now)
fresh_sas
record "$OTHER-out"
xt_flush
if out=$(switch_to stock 2>&1); then
	xt_sa_install
	replay "$OTHER-out" stock
else	# the replay would run $OTHER against itself
	for n in $(seq 1 $XT_N); do
		ktap_fail "$OTHER-out -> stock: ${XT_LABEL[n]}: cannot switch back to stock: $out"
	done
fi
ktap_info "$OTHER output replayed into stock: $(xt_since "$t") s"

errs="A: $(xt_errs "$NS_A") B: $(xt_errs "$NS_B")"
if [ "$errs" = "A:  B: " ]; then
	ktap_ok "no xfrm error counters in either namespace"
else
	ktap_fail "no xfrm error counters in either namespace: $errs"
fi

# leave espx loaded (the harness expects it), stock in stock -> stock mode
xt_flush
ip -n "$NS_A" xfrm state flush; ip -n "$NS_B" xfrm state flush
[ "$OTHER" = espx ] && { switch_to espx || ktap_info "could not reload espx"; }

xt_dmesg_point
ktap_info "wirecompat.sh: $(xt_since "$T0") s"
ktap_finish
