#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# espx under the IKE daemons gateways use (issue 18, section 2): Debian's
# strongSwan (charon + swanctl) in namespaces A and B, libreswan (pluto) in
# C and D, PSK, IKEv2, AES-GCM. The daemons know nothing of espx: they make
# their SAs with xfrm alone (ALLOCSPI + UPDSA inbound, NEWSA outbound), and
# espx's extension rules give the SAs their extensions.
#   1. stock esp4/esp6: strongSwan negotiates a tunnel and a transport
#      CHILD_SA, libreswan a tunnel; traffic; a CHILD_SA rekey of each and
#      an IKE rekey under continuous traffic, whose losses are the reference;
#   2. espx (esp4/esp6 unloaded), the same daemons and CHILD_SAs, no rules:
#      the SAs are espx's (bound, plain), plain ESP on the wire with the
#      daemons' SPIs, espx's per-SA packet counts; the same rekeys under the
#      same traffic lose no more than with esp4/esp6 (LOSS_SLACK below);
#      `swanctl --list-sas`
#      (and pluto's `whack --trafficstatus`) agree with `ip -s xfrm state`
#      (SPIs, bytes, packets);
#   3. with matching rules on both sides (`ip xfrm espx rule`, matching
#      the reqid each CHILD_SA has in the daemon's configuration): CHILD_SAs
#      over WESPv2, sequence counters (charon asks for replay window 32
#      and no oseq-may-wrap: the rule gives the SAs window 0 and the flag;
#      traffic from CPU 0 and CPU 1, both counters used, again after the
#      rekey) and Diet-ESP (truncated SPI only: strongSwan's outbound SAs
#      have no replay window, which a truncated SN needs), their protocol
#      and SPIs on the wire, the SAs made before the rules unchanged, a
#      transport CHILD_SA that a rule added later turns into WESPv2 at its
#      rekey, CHILD_SA rekeys under traffic again (no more losses than
#      stock), list-sas against ip again; libreswan with a WESPv2 rule
#      likewise, and with a counters rule (traffic from CPU 0 and CPU 1).
# The daemons start once (in private mount namespaces: their own /run, so
# their pid files, sockets and configs do not meet) and serve all phases.
# Skipped only when a daemon's binaries are missing (scripts/deps.sh
# installs strongSwan and unpacks libreswan, which conflicts with it as a
# Debian package, below /opt/espx/libreswan); a daemon that does not
# negotiate is a failure, with its log.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

CHARON=${CHARON:-/usr/lib/ipsec/charon}
SWANCTL=${SWANCTL:-/usr/sbin/swanctl}
# libreswan installed as a package, else unpacked by scripts/deps.sh
LSW_ROOT=${ESPX_LIBRESWAN:-/opt/espx/libreswan}
[ -x /usr/libexec/ipsec/pluto ] && LSW_ROOT=
LSX=/usr/libexec/ipsec		# where pluto runs addconn & co. from
FLOW="$XT_PY ike_flow"	# pyrun.py: from bytecode
PSK="espx selftest pre-shared key, issue 18"
DPROTO=$(cat /sys/module/espx/parameters/diet_proto 2>/dev/null || echo 253)
GENL=
xt_genl_find && GENL=$XT_GENL
RULES=		# the patched ip has "xfrm espx rule" (set below)

# ------------------------------------------------------------ KTAP plan --
# Each phase announces its points; phase_end fills those a failed step did
# not reach with failures, so the plan always matches.
PHASE_END=0 PHASE=
phase() { PHASE=$1 PHASE_END=$((__ktap_n + $2)); }
phase_end() {
	while [ "$__ktap_n" -lt "$PHASE_END" ]; do
		ktap_fail "$PHASE: not reached (an earlier step failed)"
	done
	[ "$__ktap_n" = "$PHASE_END" ] || ktap_fail "$PHASE: $__ktap_n points, planned $PHASE_END"
}
phase_skip() {		# phase_skip REASON: skip what is left of the phase
	while [ "$__ktap_n" -lt "$PHASE_END" ]; do
		ktap_skip "$PHASE: $1"
	done
}
P_STOCK=8 P_ESPX=12 P_RULES=21 P_END=2
ktap_header
ktap_plan $((P_STOCK + P_ESPX + P_RULES + P_END))

HAVE_SW=1 HAVE_LSW=1
[ -x "$CHARON" ] && [ -x "$SWANCTL" ] || HAVE_SW=
[ -x "$LSW_ROOT$LSX/pluto" ] && [ -x "$LSW_ROOT$LSX/whack" ] && command -v certutil >/dev/null ||
	HAVE_LSW=
if [ -z "$HAVE_SW$HAVE_LSW" ]; then
	for _ in $(seq $((P_STOCK + P_ESPX + P_RULES + P_END))); do
		ktap_skip "no strongSwan ($CHARON, $SWANCTL) and no libreswan (${LSW_ROOT:-/}$LSX/pluto, certutil): scripts/deps.sh installs them"
	done
	ktap_finish
fi
[ -n "$HAVE_SW" ] || ktap_info "no strongSwan ($CHARON, $SWANCTL): its points are skipped"
[ -n "$HAVE_LSW" ] || ktap_info "no libreswan (${LSW_ROOT:-/}$LSX/pluto, certutil): its points are skipped"
if "$IP" xfrm espx rule help 2>&1 | grep -q 'rule add'; then
	RULES=ip
elif [ -n "$GENL" ] && "$GENL" 2>&1 | grep -q 'rule-add'; then
	RULES=espx_genl
fi
ktap_info "kernel $(uname -r), strongSwan: ${HAVE_SW:+$CHARON}, libreswan: ${HAVE_LSW:+$LSW_ROOT$LSX/pluto}, rules: ${RULES:-no}"
xt_dmesg_mark
T0=$(xt_now)
tm() { ktap_info "t=$(xt_since "$T0") s: $*"; }

# -------------------------------------------------------------- topology --
# A-B (strongSwan): outer 10.90.0.1/.2; C-D (libreswan): outer 10.92.0.1/.2.
# Tunnel CHILD_SA k between inner 10.91.k.1/.2 (A-B) or 10.93.k.1/.2 (C-D)
# on lo, routed over veth0 (the daemons install no routes).
pair() {	# pair NS1 NS2 NET: veth0 between them, 10.NET.0.1/.2, static neighbours
	local ns h=1
	ip link add veth0 netns "$1" address $XT_MAC_A type veth \
		peer name veth0 netns "$2" address $XT_MAC_B || return 1
	for ns in "$1" "$2"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv4.ping_group_range="0 0" >/dev/null
		ip -n "$ns" addr add "10.$3.0.$h/24" dev veth0 &&
			ip -n "$ns" neigh replace "10.$3.0.$((3 - h))" dev veth0 nud permanent \
				lladdr "$([ $h = 1 ] && echo $XT_MAC_B || echo $XT_MAC_A)" &&
			ip -n "$ns" link set veth0 up || return 1
		h=2
	done
}
inner() {	# inner NS1 NS2 NET K: 10.NET.K.1 on NS1's lo, .2 on NS2's, routed
	ip -n "$1" addr add "10.$3.$4.1/32" dev lo && ip -n "$2" addr add "10.$3.$4.2/32" dev lo &&
		ip -n "$1" route add "10.$3.$4.2/32" dev veth0 src "10.$3.$4.1" &&
		ip -n "$2" route add "10.$3.$4.1/32" dev veth0 src "10.$3.$4.2"
}
NS_A=$(ns_new a) && NS_B=$(ns_new b) && NS_C=$(ns_new c) && NS_D=$(ns_new d) &&
	pair "$NS_A" "$NS_B" 90 && pair "$NS_C" "$NS_D" 92 ||
	{ ktap_fail "topology"; ktap_finish; }
declare -A NSOF=([A]=$NS_A [B]=$NS_B [C]=$NS_C [D]=$NS_D)

# CHILD_SAs of strongSwan: reqid and inner net (tunnel) or "-" (transport,
# ICMP between the IKE addresses); libreswan's conns likewise
declare -A REQID=([plain]=11 [tr]=12 [wesp]=13 [ctr]=14 [diet]=15 [ltun]=21 [lwesp]=25 [lctr]=24)
declare -A NET=([plain]=1 [tr]=- [wesp]=3 [ctr]=4 [diet]=5 [ltun]=1 [lwesp]=2 [lctr]=4)
for c in plain wesp ctr diet; do inner "$NS_A" "$NS_B" 91 "${NET[$c]}" || ktap_info "inner $c failed"; done
for c in ltun lwesp lctr; do inner "$NS_C" "$NS_D" 93 "${NET[$c]}" || ktap_info "inner $c failed"; done
# the flow endpoints of a CHILD_SA: "NS SRC DST" from the initiator's side
ends() {
	case $1 in
	tr) echo "$NS_A 10.90.0.1 10.90.0.2" ;;
	l*) echo "$NS_C 10.93.${NET[$1]}.1 10.93.${NET[$1]}.2" ;;
	*) echo "$NS_A 10.91.${NET[$1]}.1 10.91.${NET[$1]}.2" ;;
	esac
}

# ------------------------------------------------------------ strongSwan --
# sw_conf SIDE: strongswan.conf (own log, no syslog, the plugins a PSK IKEv2
# with AES/SHA2/MODP needs) and swanctl.conf of side A (initiator) or B
sw_conf() {
	local s=$1 d=$XT_TMP/sw$1 l=1 r=2 c
	[ "$s" = B ] && l=2 r=1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
		load = random nonce aes sha1 sha2 hmac gmp kdf kernel-netlink socket-default vici
		install_routes = no
		retransmit_base = 1.4
		retransmit_timeout = 2.0
		filelog {
			log {
				path = $d/charon.log
				time_format = %T
				default = 1
				knl = 2
				append = no
				flush_line = yes
			}
		}
		syslog {
			daemon {
				default = -1
			}
		}
	}
	swanctl {
		load = random nonce aes sha1 sha2 hmac gmp
	}
	EOF
	{
		cat <<-EOF
		connections {
			ike {
				local_addrs = 10.90.0.$l
				remote_addrs = 10.90.0.$r
				proposals = aes128-sha256-modp2048
				rekey_time = 0
				reauth_time = 0
				dpd_delay = 0
				mobike = no
				local {
					auth = psk
					id = side$l
				}
				remote {
					auth = psk
					id = side$r
				}
				children {
		EOF
		for c in plain tr wesp ctr diet; do
			local lts rts mode=tunnel
			if [ "$c" = tr ]; then
				lts="dynamic[icmp]" rts="dynamic[icmp]" mode=transport
			else
				lts=10.91.${NET[$c]}.$l/32 rts=10.91.${NET[$c]}.$r/32
			fi
			# replay_window 32 (strongSwan's default) for ctr too: its
			# rule gives the counter SAs window 0 and oseq-may-wrap
			cat <<-EOF
					$c {
						local_ts = $lts
						remote_ts = $rts
						mode = $mode
						esp_proposals = aes128gcm16
						reqid = ${REQID[$c]}
						replay_window = 32
						rekey_time = 0
						life_time = 0
					}
			EOF
		done
		cat <<-EOF
				}
			}
		}
		secrets {
			ike-psk {
				id-1 = side1
				id-2 = side2
				secret = "$PSK"
			}
		}
		EOF
	} >"$d/swanctl.conf"
}

declare -A DPID
# sw_start SIDE: charon in SIDE's netns and a mount namespace of its own
# with a private /run (pid file, VICI socket); STRONGSWAN_CONF names its
# configuration
sw_start() {
	local d=$XT_TMP/sw$1
	sw_conf "$1"
	ip netns exec "${NSOF[$1]}" unshare -m --propagation private sh -c \
		"mount -t tmpfs espx-ike /run && exec env STRONGSWAN_CONF=$d/strongswan.conf $CHARON" \
		>"$d/stdout" 2>&1 &
	DPID[$1]=$!
	XT_PIDS+=("$!")
}
# sw SIDE ARGS...: swanctl in that charon's namespaces
sw() {
	local s=$1
	shift
	nsenter -t "${DPID[$s]}" -m -n env STRONGSWAN_CONF="$XT_TMP/sw$s/strongswan.conf" \
		"$SWANCTL" "$@"
}
# sw_ready SIDE: VICI's socket is there (60 s at most; seen through the
# daemon's root, no swanctl per try), configuration loaded in one call
sw_ready() {
	local i
	for i in $(seq 300); do
		[ -S "/proc/${DPID[$1]}/root/run/charon.vici" ] && break
		kill -0 "${DPID[$1]}" 2>/dev/null || return 1
		sleep 0.2
	done
	sw "$1" --load-all --noprompt --file "$XT_TMP/sw$1/swanctl.conf" >"$XT_TMP/sw$1/load" 2>&1 ||
		{ cat "$XT_TMP/sw$1/load"; return 1; }
}
sw_log() {	# the end of both charons' logs (and espx's), as KTAP comments
	local s
	dmesg | grep 'espx' | tail -n 3 | awk '{ print "# kernel: " $0 }'
	for s in A B; do
		echo "# charon $s (pid ${DPID[$s]:-none}): $(tail -n 3 "$XT_TMP/sw$s/stdout" 2>/dev/null | tr '\n' ' ')"
		tail -n "${1:-25}" "$XT_TMP/sw$s/charon.log" 2>/dev/null | awk -v s="$s" '{ print "#   " s ": " $0 }'
	done
}
# sw_sas SIDE: "CHILD DIR SPI BYTES PACKETS" per installed CHILD_SA direction
sw_sas() {
	sw "$1" --list-sas 2>&1 | awk '
		/^  [^ ].*: #[0-9]+, reqid [0-9]+, / { c = $1; sub(/:$/, "", c); ok = $0 ~ /INSTALLED/; next }
		ok && /^    (in|out) +[0-9a-f]+[,_]/ { s = $2; sub(/[,_].*/, "", s)
			printf "%s %s 0x%s %d %d\n", c, $1, s, $3, $5 }'
}
sw_spis() { sw_sas "$1" | awk -v c="$2" '$1 == c { print $3 }' | sort | paste -sd' '; }
sw_ikeid() { sw "$1" --list-sas --ike ike 2>&1 | sed -n 's/^ike: #\([0-9]*\), ESTABLISHED.*/\1/p' | paste -sd' '; }

# ------------------------------------------------------------- libreswan --
# lsw_conf SIDE: ipsec.conf, ipsec.secrets and an empty NSS db for C or D
lsw_conf() {
	local d=$XT_TMP/lsw$1 l=1 r=2 c
	[ "$1" = D ] && l=2 r=1
	mkdir -p "$d/run"
	[ -e "$d/nss/cert9.db" ] || { cat "$d/certutil"; return 1; }
	# ipsec.conf: a section's options must be indented (a heredoc with <<- would not be)
	{
		printf 'config setup\n'
		printf '\t%s\n' "logfile=$d/pluto.log" logappend=no plutodebug=none "dumpdir=$d/run"
		printf '\nconn base\n'
		printf '\t%s\n' authby=secret "left=10.92.0.$l" "leftid=@side$l" "right=10.92.0.$r" \
			"rightid=@side$r" ikev2=insist "ike=aes128-sha2_256;modp2048" esp=aes_gcm128 \
			pfs=no esn=no replay-window=32 leftupdown=%disabled
		for c in ltun lwesp lctr; do
			printf '\nconn %s\n' "$c"
			printf '\t%s\n' also=base "leftsubnet=10.93.${NET[$c]}.$l/32" \
				"rightsubnet=10.93.${NET[$c]}.$r/32" "reqid=${REQID[$c]}" auto=add
		done
	} >"$d/ipsec.conf"
	echo "@side1 @side2 : PSK \"$PSK\"" >"$d/ipsec.secrets"
}
# lsw_nss SIDE: pluto's (empty) NSS database
lsw_nss() {
	mkdir -p "$XT_TMP/lsw$1/nss"
	certutil -N -d "sql:$XT_TMP/lsw$1/nss" --empty-password >"$XT_TMP/lsw$1/certutil" 2>&1
}
# lsw_start SIDE: pluto in SIDE's netns and a mount namespace of its own; an
# unpacked libreswan is overlaid on /usr/libexec there (pluto runs its
# helpers from $LSX)
lsw_start() {
	local d=$XT_TMP/lsw$1 ov=
	lsw_conf "$1" || return 1
	[ -z "$LSW_ROOT" ] ||
		ov="mount -t overlay espx-lsw -o lowerdir=$LSW_ROOT/usr/libexec:/usr/libexec /usr/libexec &&"
	ip netns exec "${NSOF[$1]}" unshare -m --propagation private sh -c \
		"mount -t tmpfs espx-ike /run && $ov exec $LSX/pluto --nofork --config $d/ipsec.conf \
		--secretsfile $d/ipsec.secrets --nssdir $d/nss --rundir $d/run --ipsecdir $d \
		--dumpdir $d/run" >"$d/stdout" 2>&1 &
	DPID[$1]=$!
	XT_PIDS+=("$!")
}
wh() {		# wh SIDE ARGS...: whack to that pluto
	local s=$1
	shift
	nsenter -t "${DPID[$s]}" -m -n "$LSX/whack" --ctlsocket "$XT_TMP/lsw$s/run/pluto.ctl" "$@"
}
lsw_ready() {
	local i c
	for i in $(seq 300); do
		wh "$1" --status >/dev/null 2>&1 && break
		kill -0 "${DPID[$1]}" 2>/dev/null || return 1
		sleep 0.2
	done
	for c in ltun lwesp lctr; do
		nsenter -t "${DPID[$1]}" -m -n "$LSX/addconn" --config "$XT_TMP/lsw$1/ipsec.conf" \
			--ctlsocket "$XT_TMP/lsw$1/run/pluto.ctl" "$c" >>"$XT_TMP/lsw$1/load" 2>&1 || return 1
	done
}
lsw_log() {
	local s
	for s in C D; do
		echo "# pluto $s (pid ${DPID[$s]:-none}): $(tail -n 3 "$XT_TMP/lsw$s/stdout" 2>/dev/null | tr '\n' ' ')"
		tail -n "${1:-25}" "$XT_TMP/lsw$s/pluto.log" 2>/dev/null | awk -v s="$s" '{ print "#   " s ": " $0 }'
	done
}

# ------------------------------------------------------------ kernel SAs --
# xs NS: "SPI SRC DST REQID BYTES PACKETS" per ESP state (ip -s xfrm state)
xs() {
	ip -n "$1" -s xfrm state | awk '
		/^src / { src = $2; dst = $4 }
		/proto esp spi/ { spi = $4; sub(/\(.*/, "", spi); rq = $6; sub(/\(.*/, "", rq) }
		/lifetime current:/ { cur = 1; next }
		cur && /\(bytes\)/ { b = $1; p = $2; sub(/\(.*/, "", b); sub(/\(.*/, "", p)
			print spi, src, dst, rq, b, p; cur = 0 }'
}
# xs_spis NS CHILD: the SPIs of CHILD's states in NS (its reqid), sorted
xs_spis() {
	local rq=${REQID[$2]}
	xs "$1" | awk -v r="$rq" '$4 == r { print $1 }' | sort | paste -sd' '
}
# no_sas NS...: wait (20 s) until those namespaces have no ESP state
no_sas() {
	local i ns n
	for i in $(seq 100); do
		n=0
		for ns in "$@"; do n=$((n + $(ip -n "$ns" xfrm state | grep -c '^src'))); done
		[ "$n" = 0 ] && return 0
		sleep 0.2
	done
	echo "$n states left"
	return 1
}
# bound NS CHILD REGEX: every SA of CHILD in NS is a bound espx SA whose
# config matches REGEX ("" = plain: no extension)
bound() {
	local ns=$1 c=$2 re=$3 spis s l n=0 dump
	spis=$(xs_spis "$ns" "$c")
	[ -n "$spis" ] || { echo "no SA of $c in $ns"; return 1; }
	dump=$("$GENL" -n "$ns" dump 2>&1)
	for s in $spis; do
		l=$(grep "spi $(printf '0x%08x' "$s") " <<<"$dump")
		if ! grep -q 'status bound' <<<"$l" ||
			{ [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$l"; } ||
			{ [ -z "$re" ] && grep -Eq ' (wesp|diet|counters) ' <<<"$l"; }; then
			echo "$c spi $s in ${ns%-*}: ${l:-not an espx SA}" | cut -c1-220
			n=$((n + 1))
		fi
	done
	[ $n = 0 ]
}
# espx_pkts NS SPI NAME: an espx per-SA counter (e.g. out_packets)
espx_pkts() {
	"$GENL" -n "$1" dump 2>&1 | grep "spi $(printf '0x%08x' "$2") " |
		awk -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}

# ---------------------------------------------------------------- traffic --
declare -A FPID FOUT
# flow_start NAME CHILD: a counted ICMP flow over CHILD (ike_flow.py);
# flow_ready NAME: wait until it sends
flow_start() {
	local n=$1 ns src dst
	read -r ns src dst <<<"$(ends "$2")"
	FOUT[$n]=$XT_TMP/flow.$n
	ip netns exec "$ns" $FLOW "$dst" --src "$src" --interval "${FLOW_INTERVAL:-0.1}" \
		--drain 3 >"${FOUT[$n]}" 2>&1 &
	FPID[$n]=$!
	XT_PIDS+=("$!")
}
flow_ready() {
	local i
	for i in $(seq 300); do
		grep -q '^ready' "${FOUT[$1]}" && return 0
		kill -0 "${FPID[$1]}" 2>/dev/null || break
		sleep 0.2
	done
	cat "${FOUT[$1]}"
	return 1
}
# flow_stop NAME: FRES="SENT RECEIVED LOST" of the flow (not in a subshell:
# wait only waits for a child of this shell)
flow_stop() {
	local rc
	kill -USR1 "${FPID[$1]}" 2>/dev/null
	wait "${FPID[$1]}" 2>/dev/null
	rc=$?
	FRES=$(sed -n 's/^sent \([0-9]*\) received \([0-9]*\) lost \([0-9]*\)$/\1 \2 \3/p' "${FOUT[$1]}")
	[ $rc = 0 ] || echo "exit status $rc" >>"${FOUT[$1]}"
}
# burst CHILD N [CPU]: N pings over CHILD (sent from CPU), all answered
burst() {
	local ns src dst out
	read -r ns src dst <<<"$(ends "$1")"
	out=$(ip netns exec "$ns" ${3:+taskset -c $3} ping -n -q -c "$2" -i 0.05 -W 3 -I "$src" "$dst" 2>&1)
	grep -q "^$2 packets transmitted, $2 received" <<<"$out" && return 0
	echo "$1${3:+ from CPU $3}: $(grep -m1 transmitted <<<"$out" || tail -n 1 <<<"$out")"
	return 1
}
# wire_start: capture the A-B and C-D links (on B and D) from now on, packet
# by packet; wire_snap: summarise what they caught so far
wire_start() {
	xt_tcpdump "$NS_B" capB "$XT_TMP/wireB.pcap" 80 "ip proto 50 or ip proto 141 or ip proto $DPROTO" &&
		xt_tcpdump "$NS_D" capD "$XT_TMP/wireD.pcap" 80 "ip proto 50 or ip proto 141 or ip proto $DPROTO"
}
wire_snap() {
	sleep 0.3
	$FLOW wire "$DPROTO" "$XT_TMP/wireB.pcap" "$XT_TMP/wireD.pcap" >"$XT_TMP/wire.sum"
}
# on_wire CHILD PROTO: every SPI of CHILD (B's or D's view) was seen with
# PROTO and never with another protocol (Diet-ESP: the SPI's low octet)
on_wire() {
	local c=$1 p=$2 ns=$NS_B s k bad= seen=0
	[[ $c == l* ]] && ns=$NS_D
	for s in $(xs_spis "$ns" "$c"); do
		k=$s
		[ "$p" = "$DPROTO" ] && printf -v k '0x%02x' $((s & 0xff))
		if awk -v p="$p" -v s="$k" '$1 == p && $2 == s { f = 1 } END { exit !f }' "$XT_TMP/wire.sum"; then
			seen=$((seen + 1))
		else
			bad+=" $s(not as $p)"
		fi
		[ "$p" = "$DPROTO" ] && continue
		awk -v p="$p" -v s="$k" '$1 != p && $2 == s { f = 1 } END { exit !f }' "$XT_TMP/wire.sum" &&
			bad+=" $s(also $(awk -v s="$k" '$2 == s { printf "%s ", $1 }' "$XT_TMP/wire.sum"))"
	done
	[ -z "$bad" ] && [ "$seen" -ge 2 ] && return 0
	echo "$c: $seen SPIs seen as protocol $p;$bad; capture: $(tr '\n' ';' <"$XT_TMP/wire.sum")"
	return 1
}

# ----------------------------------------------------------------- rekeys --
# spis_of FILE CHILD: CHILD's SPIs in a saved xs listing, sorted
spis_of() { awk -v r="${REQID[$2]}" '$4 == r { print $1 }' "$1" | sort | paste -sd' '; }
# The rekey polls, without a fork beyond ip's and awk's per listing:
# rq_map FILE MAP: MAP[reqid]="SPI SPI ..." of a saved xs listing;
# same_set "W..." "W...": the same words in any order; none_of "W..." "W...":
# no word of the first is in the second
rq_map() {
	local -n m=$2
	local spi src dst rq b p
	m=()
	while read -r spi src dst rq b p; do m[$rq]+="$spi "; done <"$1"
}
same_set() {
	local a=($1) b=($2) w
	[ ${#a[@]} = ${#b[@]} ] || return 1
	for w in "${a[@]}"; do [[ " $2 " == *" $w "* ]] || return 1; done
}
none_of() {
	local w
	for w in $1; do [[ " $2 " != *" $w "* ]] || return 1; done
}
# rekeyed NEW OLD PEER: NEW has two SPIs, none of OLD, the same as PEER
rekeyed() {
	local n=($1)
	[ ${#n[@]} = 2 ] && none_of "$1" "$2" && same_set "$1" "$3"
}
# sw_rekey_children CHILD...: rekey them (A initiates, all at once), wait
# until each one's new SAs replaced the old ones in A and B (one listing of
# each namespace per second), then swanctl must list the new SAs
sw_rekey_children() {
	local c new i err=
	declare -A old=() fin=()
	for c in "$@"; do
		old[$c]=$(xs_spis "$NS_A" "$c")
		sw A --rekey --child "$c" >"$XT_TMP/rekey.$c" 2>&1 &
	done
	wait	# for those swanctl only: this runs in rekeys' subshell
	declare -A ma mb
	for i in $(seq 240); do
		xs "$NS_A" >"$XT_TMP/rkA"
		xs "$NS_B" >"$XT_TMP/rkB"
		rq_map "$XT_TMP/rkA" ma
		rq_map "$XT_TMP/rkB" mb
		for c in "$@"; do
			[ -n "${fin[$c]:-}" ] && continue
			new=${ma[${REQID[$c]}]:-}
			rekeyed "$new" "${old[$c]}" "${mb[${REQID[$c]}]:-}" && fin[$c]=$new
		done
		[ ${#fin[@]} = $# ] && break
		sleep 0.25
	done
	sw_sas A >"$XT_TMP/rkS"
	for c in "${!fin[@]}"; do fin[$c]=$(spis_of "$XT_TMP/rkA" "$c"); done
	for c in "$@"; do
		if [ -z "${fin[$c]:-}" ]; then
			err+=" $c not rekeyed: SPIs ${old[$c]} -> A $(xs_spis "$NS_A" "$c"), B $(xs_spis "$NS_B" "$c"): $(tr '\n' ' ' <"$XT_TMP/rekey.$c");"
		elif [ "$(awk -v c="$c" '$1 == c { print $3 }' "$XT_TMP/rkS" | sort | paste -sd' ')" != "${fin[$c]}" ]; then
			err+=" $c: swanctl lists $(awk -v c="$c" '$1 == c { print $3 }' "$XT_TMP/rkS" | paste -sd' '), xfrm ${fin[$c]};"
		fi
	done
	[ -z "$err" ] || { echo "$err"; return 1; }
}
# sw_rekey_ike: rekey the IKE_SA, wait for charon A to log it (no swanctl
# per try), then swanctl must list one new established IKE_SA
sw_rekey_ike() {
	local old new i n0 re='IKE_SA ike\[[0-9]*\] rekeyed between'
	old=$(sw_ikeid A)
	n0=$(grep -c "$re" "$XT_TMP/swA/charon.log")
	sw A --rekey --ike ike >"$XT_TMP/rekey.ike" 2>&1 || { cat "$XT_TMP/rekey.ike"; return 1; }
	for i in $(seq 240); do
		[ "$(grep -c "$re" "$XT_TMP/swA/charon.log")" -gt "$n0" ] && break
		sleep 0.25
	done
	new=$(sw_ikeid A)
	[ -n "$new" ] && [ "$new" != "$old" ] && [[ $new != *" "* ]] && return 0
	echo "IKE_SA not rekeyed: #$old -> #${new:-none}"
	return 1
}
# lsw_rekey_child CONN: whack --rekey-ipsec (it waits for the exchange),
# then the new SAs must have replaced the old ones in C and D
lsw_rekey_child() {
	local c=$1 old new i
	old=$(xs_spis "$NS_C" "$c")
	wh C --name "$c" --rekey-ipsec >"$XT_TMP/rekey.$c" 2>&1 || { cat "$XT_TMP/rekey.$c"; return 1; }
	declare -A mc md
	for i in $(seq 240); do
		xs "$NS_C" >"$XT_TMP/rkC"
		xs "$NS_D" >"$XT_TMP/rkD"
		rq_map "$XT_TMP/rkC" mc
		rq_map "$XT_TMP/rkD" md
		new=${mc[${REQID[$c]}]:-}
		rekeyed "$new" "$old" "${md[${REQID[$c]}]:-}" && return 0
		sleep 0.25
	done
	echo "$c not rekeyed: SPIs $old -> ${new:-none}: $(tail -n 2 "$XT_TMP/rekey.$c" | tr '\n' ' ')"
	return 1
}
# lsw_ike CONN: serial of the newest established IKE SA of CONN in C
lsw_ike() { wh C --status 2>&1 | sed -n "s/.* #\([0-9]*\): \"$1\".*ESTABLISHED_IKE_SA.*/\1/p" | sort -n | tail -n 1; }
# lsw_rekey_ike CONN: likewise, pluto C's log says when
lsw_rekey_ike() {
	local c=$1 old new i n0 re="\"$1\" #[0-9]*: initiator rekeyed IKE SA"
	old=$(lsw_ike "$c")
	n0=$(grep -c "$re" "$XT_TMP/lswC/pluto.log")
	wh C --name "$c" --rekey-ike >"$XT_TMP/rekey.ike$c" 2>&1 || { cat "$XT_TMP/rekey.ike$c"; return 1; }
	for i in $(seq 240); do
		[ "$(grep -c "$re" "$XT_TMP/lswC/pluto.log")" -gt "$n0" ] && break
		sleep 0.25
	done
	new=$(lsw_ike "$c")
	[ -n "$new" ] && [ "$new" != "$old" ] && return 0
	echo "IKE SA of $c not rekeyed: #${old:-none} -> #${new:-none}: $(tail -n 2 "$XT_TMP/rekey.ike$c" | tr '\n' ' ')"
	return 1
}

declare -A LOST SENT
# flows LABEL CHILD...: start rekeys' flows early (python starts slowly under
# emulation): they run through the checks that come before the rekeys
flows() {
	local label=$1 c
	shift
	for c in "$@"; do flow_start "$label.$c" "$c"; done
}
# rekeys LABEL SPEC...: one flow per CHILD of the specs, running while the
# specs are done in order; SPEC = sw:CHILD, ike:sw, lsw:CHILD, ike:lsw:CHILD.
# LOST[LABEL.CHILD] / SENT[LABEL.CHILD] are the flows' counts
rekeys() {
	local label=$1 spec c err= r swc=() lswc=() swike= lswike=()
	shift
	declare -A seen=()
	for spec in "$@"; do
		case $spec in
		sw:*) swc+=("${spec#sw:}") ;;
		ike:sw) swike=1 ;;
		lsw:*) lswc+=("${spec#lsw:}") ;;
		ike:lsw:*) lswike+=("${spec#ike:lsw:}") ;;
		esac
	done
	for c in "${swc[@]}" "${lswc[@]}"; do
		seen[$c]=1
		[ -n "${FPID[$label.$c]:-}" ] || flow_start "$label.$c" "$c"
	done
	for c in "${!seen[@]}"; do
		flow_ready "$label.$c" >/dev/null || err+="$(dm "$c"): flow $c did not start"$'\n'
	done
	sleep 0.5	# traffic on the old SAs first
	# the two daemons' rekeys at the same time: strongSwan's CHILD_SAs, then
	# its IKE_SA; libreswan's, then its IKE SA
	{
		[ ${#swc[@]} = 0 ] || r=$(sw_rekey_children "${swc[@]}") || echo "sw: $r"
		[ -z "$swike" ] || r=$(sw_rekey_ike) || echo "sw: ike: $r"
	} >"$XT_TMP/rk.$label.sw" 2>&1 &
	local p1=$!
	{
		for c in "${lswc[@]}"; do r=$(lsw_rekey_child "$c") || echo "lsw: $c: $r"; done
		for c in "${lswike[@]}"; do r=$(lsw_rekey_ike "$c") || echo "lsw: ike $c: $r"; done
	} >"$XT_TMP/rk.$label.lsw" 2>&1 &
	wait $p1 $!
	err+=$(cat "$XT_TMP/rk.$label.sw" "$XT_TMP/rk.$label.lsw")
	[ -z "$err" ] || err+=$'\n'
	sleep 1		# and on the new ones
	# stop them all first: their drains for late replies overlap
	for c in "${!seen[@]}"; do
		kill -0 "${FPID[$label.$c]}" 2>/dev/null ||
			err+="$(dm "$c"): flow $c ended before the rekeys did: $(tail -n 2 "${FOUT[$label.$c]}" | tr '\n' ' ')"$'\n'
		kill -USR1 "${FPID[$label.$c]}" 2>/dev/null
	done
	for c in "${!seen[@]}"; do
		flow_stop "$label.$c"
		read -r SENT[$label.$c] r LOST[$label.$c] <<<"$FRES"
		[ -n "${SENT[$label.$c]}" ] && [ "${SENT[$label.$c]}" -gt 0 ] && [ "$r" -gt 0 ] ||
			err+="$(dm "$c"): flow $c: sent ${SENT[$label.$c]:-?} received ${r:-?}: $(tail -n 3 "${FOUT[$label.$c]}" | tr '\n' ' ')"$'\n'
	done
	printf %s "$err"
	[ -z "$err" ]
}
dm() { if [[ $1 == l* ]]; then echo lsw; else echo sw; fi; }
# loss_ok LABEL CHILD REF_LABEL REF_CHILD: no more lost than the reference,
# give or take LOSS_SLACK packets: the daemons' own rekey timing varies from
# run to run (libreswan 4.10 loses a few packets per rekey with esp4/esp6
# too, 0 to 4 in our runs), a rekey espx gets wrong loses far more (every
# packet from the switch to the new SAs on)
LOSS_SLACK=${IKE_LOSS_SLACK:-3}
loss_ok() {
	local l=${LOST[$1.$2]:-} r=${LOST[$3.$4]:-}
	[ -n "$l" ] && [ -n "$r" ] && [ "$l" -le $((r + LOSS_SLACK)) ] && return 0
	echo "$1 $2 lost ${l:-?} of ${SENT[$1.$2]:-?}, $3 $4 lost ${r:-?} of ${SENT[$3.$4]:-?}"
	return 1
}
loss_str() { echo "${LOST[$1.$2]:-?}/${SENT[$1.$2]:-?}"; }

# agree_sw SIDE: swanctl --list-sas and ip -s xfrm state agree on every
# CHILD_SA: same SPIs, bytes and packets, no state swanctl does not list
agree_sw() {
	local s=$1 ns=${NSOF[$1]} err= c d spi b p xb xp n=0 rq xn
	xs "$ns" >"$XT_TMP/xs.$s"
	sw_sas "$s" >"$XT_TMP/sas.$s"
	while read -r c d spi b p; do
		n=$((n + 1))
		read -r xb xp <<<"$(awk -v s="$spi" '$1 == s { print $5, $6 }' "$XT_TMP/xs.$s")"
		[ "$xb $xp" = "$b $p" ] || err+=" $c $d $spi: swanctl $b B $p pkts, xfrm ${xb:-none} B ${xp:-none} pkts;"
	done <"$XT_TMP/sas.$s"
	rq="${REQID[plain]}|${REQID[tr]}|${REQID[wesp]}|${REQID[ctr]}|${REQID[diet]}"
	xn=$(awk -v re="^($rq)\$" '$4 ~ re' "$XT_TMP/xs.$s" | wc -l)
	[ "$xn" = "$n" ] || err+=" swanctl lists $n SAs, xfrm has $xn;"
	[ "$n" -gt 0 ] || err+=" no CHILD_SA;"
	[ -z "$err" ] && { echo "$n SAs"; return 0; }
	echo "$err"
	return 1
}
# agree_lsw SIDE CONN: whack --trafficstatus bytes = ip -s xfrm state's
agree_lsw() {
	local s=$1 c=$2 ns=${NSOF[$1]} ts in out me xin xout
	me=10.92.0.1
	[ "$s" = D ] && me=10.92.0.2
	ts=$(wh "$s" --trafficstatus 2>&1 | grep "\"$c\"")
	in=$(sed -n 's/.*inBytes=\([0-9]*\).*/\1/p' <<<"$ts")
	out=$(sed -n 's/.*outBytes=\([0-9]*\).*/\1/p' <<<"$ts")
	xin=$(xs "$ns" | awk -v r="${REQID[$c]}" -v me=$me '$4 == r && $3 == me { print $5 }')
	xout=$(xs "$ns" | awk -v r="${REQID[$c]}" -v me=$me '$4 == r && $2 == me { print $5 }')
	[ -n "$in" ] && [ "$in" = "$xin" ] && [ "$out" = "$xout" ] && [ "$in" -gt 0 ] &&
		{ echo "in $in out $out"; return 0; }
	echo "whack: in ${in:-?} out ${out:-?}; xfrm: in ${xin:-?} out ${xout:-?}; [$ts]"
	return 1
}

# up: establish CHILD_SAs (strongSwan: sw:CHILD, A initiates; libreswan:
# lsw:CONN, C initiates)
up() {
	local spec err=
	for spec in "$@"; do
		case $spec in
		sw:*) sw A --initiate --child "${spec#sw:}" --timeout $((60 * TSCALE)) >"$XT_TMP/init.${spec#sw:}" 2>&1 ||
			err+=" $spec: $(tail -n 1 "$XT_TMP/init.${spec#sw:}");" ;;
		lsw:*) wh C --name "${spec#lsw:}" --initiate >"$XT_TMP/init.${spec#lsw:}" 2>&1 ||
			err+=" $spec: $(tail -n 1 "$XT_TMP/init.${spec#lsw:}");"
			[ "$(xs_spis "$NS_C" "${spec#lsw:}" | wc -w)" = 2 ] ||
				err+=" $spec: no SAs: $(tail -n 2 "$XT_TMP/init.${spec#lsw:}" | tr '\n' ' ');" ;;
		esac
	done
	[ -z "$err" ] && return 0
	echo "$err"
	return 1
}
# down: every IKE SA terminated, no ESP state left in any namespace
down() {
	[ -z "$HAVE_SW" ] || sw A --terminate --ike ike --timeout $((30 * TSCALE)) >/dev/null 2>&1
	if [ -n "$HAVE_LSW" ]; then
		wh C --name ltun --terminate >/dev/null 2>&1
		wh C --name lwesp --terminate >/dev/null 2>&1
	fi
	no_sas "$NS_A" "$NS_B" "$NS_C" "$NS_D"
}
# sw_check DESC CMD...: check, with the charon logs on the first failure
SW_LOGGED= LSW_LOGGED=
sw_check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		sed 's/^/#   /' <<<"$out"
		[ -n "$SW_LOGGED" ] || sw_log
		SW_LOGGED=1
	fi
}
lsw_check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		sed 's/^/#   /' <<<"$out"
		[ -n "$LSW_LOGGED" ] || lsw_log
		LSW_LOGGED=1
	fi
}
pt() {		# pt HAVE DESC CMD...: a point that needs daemon HAVE (sw|lsw)
	local h=$1
	shift
	if [ "$h" = sw ] && [ -z "$HAVE_SW" ]; then ktap_skip "$1: no strongSwan"; return; fi
	if [ "$h" = lsw ] && [ -z "$HAVE_LSW" ]; then ktap_skip "$1: no libreswan"; return; fi
	if [ "$h" = sw ]; then sw_check "$@"; else lsw_check "$@"; fi
}
# pt_info: "# " line of a point's output on success too
pt_note() { ktap_info "$*"; }

SW_UP=() LSW_UP=()
[ -n "$HAVE_SW" ] && SW_UP=(sw:plain sw:tr)
[ -n "$HAVE_LSW" ] && LSW_UP=(lsw:ltun)

# rule_add NS NAME IP-ARGS -- GENL-ARGS: an espx rule, with the patched ip's
# "xfrm espx rule add" (the words of README's example) when it has it, else
# with espx_genl rule-add
rule_add() {
	local ns=$1 name=$2 ipa=()
	shift 2
	while [ "$1" != -- ]; do ipa+=("$1"); shift; done
	shift
	if [ "$RULES" = ip ]; then
		"$IP" -n "$ns" xfrm espx rule add "$name" "${ipa[@]}"
	else
		"$GENL" -n "$ns" rule-add --name "$name" "$@"
	fi
}
pkts_ok() {	# pkts_ok CHILD N: A's out SA and B's in SA of CHILD counted >= N in espx
	local spi o i
	spi=$(xs "$NS_A" | awk -v r="${REQID[$1]}" '$4 == r && $2 == "10.90.0.1" { print $1 }')
	[ -n "$spi" ] || { echo "$1: no outbound SA in A"; return 1; }
	o=$(espx_pkts "$NS_A" "$spi" out_packets)
	i=$(espx_pkts "$NS_B" "$spi" in_packets)
	[ "${o:-0}" -ge "$2" ] && [ "${i:-0}" -ge "$2" ] && return 0
	echo "$1 spi $spi: espx out_packets in A ${o:-none}, in_packets in B ${i:-none}, want >= $2"
	return 1
}
ctr_ok() {	# ctr_ok [lctr]: counters 0 and 1 of the ctr SA A->B (lctr: C->D) both carried packets
	local c=${1:-ctr} s=$NS_A d=$NS_B o=10.90.0 spi a b
	[ "$c" = lctr ] && s=$NS_C d=$NS_D o=10.92.0
	spi=$(xs "$s" | awk -v r="${REQID[$c]}" -v me=$o.1 '$4 == r && $2 == me { print $1 }')
	[ -n "$spi" ] || { echo "no counter SA"; return 1; }
	a=$("$GENL" -n "$s" ctr --family 4 --daddr $o.2 --spi "$spi" 2>&1)
	b=$("$GENL" -n "$d" ctr --family 4 --daddr $o.2 --spi "$spi" 2>&1)
	grep -Eq '^id=0 .*out_packets=[1-9]' <<<"$a" && grep -Eq '^id=1 .*out_packets=[1-9]' <<<"$a" &&
		grep -Eq '^id=0 .*in_packets=[1-9]' <<<"$b" && grep -Eq '^id=1 .*in_packets=[1-9]' <<<"$b" &&
		return 0
	echo "spi $spi, A (sender): $(tr '\n' ';' <<<"$a") B: $(tr '\n' ';' <<<"$b")"
	return 1
}
# ctr_props NS [CHILD]: every counter SA in NS has the core's replay window 0 and
# oseq-may-wrap, which charon (pluto) did not ask for (window 32, no flag): the rule
ctr_props() {
	local sas
	sas=$(ip -s -n "$1" xfrm state list reqid "${REQID[${2:-ctr}]}" | awk '
		function out() { if (spi != "") print spi, w, f }
		/^src / { out(); spi = "?"; w = "window=?"; f = "no-flag" }
		/proto esp spi/ { spi = $4; sub(/\(.*/, "", spi) }
		# the first replay-window is the config, -s adds a stats one
		{ for (i = 1; i < NF; i++) if ($i == "replay-window" && w == "window=?") w = "window=" $(i + 1) }
		/oseq-may-wrap/ { f = "oseq-may-wrap" }
		END { out() }')
	[ "$(grep -c . <<<"$sas")" -ge 2 ] && ! grep -v ' window=0 oseq-may-wrap$' <<<"$sas" >/dev/null &&
		return 0
	echo "${1%-*}: $(tr '\n' ';' <<<"$sas")"
	return 1
}
all() { local f; for f in "$@"; do eval "$f" || return 1; done; }
# rk_ok LABEL sw|lsw: that daemon's rekeys of the run all happened, under traffic
rk_ok() { ! grep "^$2: " "$XT_TMP/rk.$1"; }

# start every daemon now: their start-up overlaps
[ -z "$HAVE_SW" ] || { sw_start A; sw_start B; }
if [ -n "$HAVE_LSW" ]; then
	lsw_nss C &
	p1=$!
	lsw_nss D
	wait $p1
	lsw_start C
	lsw_start D
fi

# ======================================================== 1. esp4/esp6 ==
phase stock $P_STOCK
T=$(xt_now)
stock_on() { xt_use_stock && ! xt_mod_loaded espx && xt_mod_loaded esp4 && xt_mod_loaded esp6; }
espx_on() { xt_use_espx && xt_mod_loaded espx && ! xt_mod_loaded esp4 && ! xt_mod_loaded esp6; }
check "stock: esp4/esp6 are the ESP implementation (espx unloaded)" stock_on
pt sw "strongSwan: charon runs in A and B, configuration loaded" all "sw_ready A" "sw_ready B"
pt lsw "libreswan: pluto runs in C and D, connections loaded" all "lsw_ready C" "lsw_ready D"
tm "daemons ready"
pt sw "stock: strongSwan tunnel and transport CHILD_SAs up, traffic flows" \
	all "up ${SW_UP[*]}" "burst plain 5" "burst tr 5"
pt lsw "stock: libreswan tunnel up, traffic flows" all "up ${LSW_UP[*]}" "burst ltun 5"
tm "stock CHILD_SAs up"
SPECS=()
[ -n "$HAVE_SW" ] && SPECS+=(sw:plain sw:tr ike:sw)
[ -n "$HAVE_LSW" ] && SPECS+=(lsw:ltun ike:lsw:ltun)
rekeys stock "${SPECS[@]}" >"$XT_TMP/rk.stock" 2>&1
tm "stock rekeys done"
pt sw "stock: strongSwan CHILD_SA and IKE rekeys under traffic (reference losses: tunnel $(loss_str stock plain), transport $(loss_str stock tr))" \
	rk_ok stock sw
pt lsw "stock: libreswan CHILD_SA and IKE rekeys under traffic (reference losses: $(loss_str stock ltun))" \
	rk_ok stock lsw
check "stock: the daemons removed every SA (terminate)" down
ktap_info "stock phase: $(xt_since "$T") s"
phase_end

# ============================================================= 2. espx ==
phase espx $P_ESPX
T=$(xt_now)
check "espx is the ESP implementation (esp4/esp6 unloaded)" espx_on
wire_start || ktap_info "no capture"	# until the end, for this and the rules phase
pt sw "espx: strongSwan tunnel and transport CHILD_SAs up, traffic flows" \
	all "up ${SW_UP[*]}" "burst plain 5" "burst tr 5"
pt lsw "espx: libreswan tunnel up, traffic flows" all "up ${LSW_UP[*]}" "burst ltun 5"
flows espx ${HAVE_SW:+plain tr} ${HAVE_LSW:+ltun}
wire_snap
pt sw "espx: strongSwan's SAs (ALLOCSPI+UPDSA in, NEWSA out) are bound plain espx SAs in A and B" \
	all "bound $NS_A plain ''" "bound $NS_B plain ''" "bound $NS_A tr ''" "bound $NS_B tr ''"
pt lsw "espx: libreswan's SAs are bound plain espx SAs in C and D" \
	all "bound $NS_C ltun ''" "bound $NS_D ltun ''"
pt sw "espx: strongSwan's SPIs on the wire as ESP (protocol 50), both ways" \
	all "on_wire plain 50" "on_wire tr 50"
pt lsw "espx: libreswan's SPIs on the wire as ESP (protocol 50), both ways" on_wire ltun 50
pt sw "espx: espx's per-SA counters saw the traffic (A out, B in)" all "pkts_ok plain 5" "pkts_ok tr 5"
SPECS=()
[ -n "$HAVE_SW" ] && SPECS+=(sw:plain sw:tr ike:sw)
[ -n "$HAVE_LSW" ] && SPECS+=(lsw:ltun ike:lsw:ltun)
tm "espx CHILD_SAs up and checked"
rekeys espx "${SPECS[@]}" >"$XT_TMP/rk.espx" 2>&1
tm "espx rekeys done"
pt sw "espx: strongSwan CHILD_SA + IKE rekeys under traffic lose no more than esp4 (tunnel $(loss_str espx plain) vs $(loss_str stock plain), transport $(loss_str espx tr) vs $(loss_str stock tr))" \
	all "rk_ok espx sw" "loss_ok espx plain stock plain" "loss_ok espx tr stock tr" \
	"bound $NS_A plain ''" "bound $NS_B tr ''"
pt lsw "espx: libreswan CHILD_SA + IKE rekeys under traffic lose no more than esp4 ($(loss_str espx ltun) vs $(loss_str stock ltun))" \
	all "rk_ok espx lsw" "loss_ok espx ltun stock ltun" "bound $NS_C ltun ''"
pt sw "espx: swanctl --list-sas and ip -s xfrm state agree (SPIs, bytes, packets) in A and B" \
	all "agree_sw A" "agree_sw B"
pt lsw "espx: whack --trafficstatus and ip -s xfrm state agree (bytes) in C and D" \
	all "agree_lsw C ltun" "agree_lsw D ltun"
ktap_info "espx phase: $(xt_since "$T") s"
phase_end

# ============================================================ 3. rules ==
phase rules $P_RULES
T=$(xt_now)
if [ -z "$RULES" ]; then
	phase_skip "neither the patched ip nor espx_genl has rules (issue 18 section 1)"
elif [ -z "$GENL" ]; then
	phase_skip "no espx_genl (make -C selftests)"
else
	# both peers need the same rules: no IKE negotiation of the drafts yet
	addrules() {
		local ns
		for ns in "$NS_A" "$NS_B"; do
			rule_add "$ns" ike-wesp prio 10 reqid "${REQID[wesp]}" wesp crypt-offset 2 \
				-- --prio 10 --m-reqid "${REQID[wesp]}" --wesp 2 &&
			rule_add "$ns" ike-ctr prio 10 reqid "${REQID[ctr]}" wesp seq-counters 2 counter-window 128 \
				-- --prio 10 --m-reqid "${REQID[ctr]}" --wesp 0 --counters 2 --ctr-window 128 &&
			rule_add "$ns" ike-diet prio 10 reqid "${REQID[diet]}" diet spi-lsb 8 sn-lsb 32 trailer optional \
				-- --prio 10 --m-reqid "${REQID[diet]}" --diet 8,32 --diet-trailer 1 &&
			rule_add "$ns" ike-transport prio 20 mode transport wesp crypt-offset 1 \
				-- --prio 20 --m-mode 0 --wesp 1 || return 1
		done
		for ns in "$NS_C" "$NS_D"; do
			rule_add "$ns" lsw-wesp reqid "${REQID[lwesp]}" wesp -- --m-reqid "${REQID[lwesp]}" --wesp 0 &&
			rule_add "$ns" lsw-ctr reqid "${REQID[lctr]}" wesp seq-counters 2 counter-window 128 \
				-- --m-reqid "${REQID[lctr]}" --wesp 0 --counters 2 --ctr-window 128 || return 1
		done
	}
	check "rules: the same rules in A and B (WESPv2, counters, Diet-ESP by reqid; WESPv2 for transport) and C and D" addrules
	pt sw "rules: strongSwan WESPv2 and Diet-ESP CHILD_SAs up, traffic flows" \
		all "up sw:wesp sw:diet" "burst wesp 5" "burst diet 5"
	pt sw "rules: strongSwan counter CHILD_SA up, traffic from CPU 0 and CPU 1" \
		all "up sw:ctr" "burst ctr 4 0" "burst ctr 4 1"
	CTR_UP=
	[ "$(xs_spis "$NS_A" ctr | wc -w)" = 2 ] && CTR_UP=1
	pt lsw "rules: libreswan WESPv2 tunnel up, traffic flows" all "up lsw:lwesp" "burst lwesp 5"
	pt lsw "rules: libreswan counter tunnel up, traffic from CPU 0 and CPU 1" \
		all "up lsw:lctr" "burst lctr 4 0" "burst lctr 4 1"
	flows rules ${HAVE_SW:+wesp diet tr ${CTR_UP:+ctr}} ${HAVE_LSW:+lwesp}
	wire_snap
	pt sw "rules: WESPv2 SAs bound with the rule's config (wesp 2) in A and B" \
		all "bound $NS_A wesp ' wesp 2( |$)'" "bound $NS_B wesp ' wesp 2( |$)'"
	pt sw "rules: Diet-ESP SAs bound (spi-lsb 8, sn-lsb 32) in A and B" \
		all "bound $NS_A diet ' diet spi_lsb 8 sn_lsb 32 '" "bound $NS_B diet ' diet spi_lsb 8 sn_lsb 32 '"
	pt sw "rules: counter SAs bound with 2 counters in A and B" \
		all "bound $NS_A ctr ' counters 2 ctr_window 128 '" "bound $NS_B ctr ' counters 2 ctr_window 128 '"
	pt sw "rules: the counter SAs got window 0 and oseq-may-wrap from the rule (charon: window 32, no flag)" \
		all "ctr_props $NS_A" "ctr_props $NS_B"
	pt sw "rules: SAs made before the rules stay plain (tunnel, transport)" \
		all "bound $NS_A plain ''" "bound $NS_B plain ''" "bound $NS_A tr ''" "bound $NS_B tr ''"
	pt sw "rules: on the wire: WESPv2 (141) for wesp, Diet-ESP ($DPROTO) for diet, both ways" \
		all "on_wire wesp 141" "on_wire diet $DPROTO"
	pt sw "rules: counter SA: 141 on the wire, both counters carried packets (CPU 0 and 1)" \
		all "on_wire ctr 141" ctr_ok
	pt lsw "rules: libreswan's SAs bound WESPv2 in C and D, protocol 141 on the wire" \
		all "bound $NS_C lwesp ' wesp 0( |$)'" "bound $NS_D lwesp ' wesp 0( |$)'" "on_wire lwesp 141"
	pt lsw "rules: libreswan's counter SAs bound with 2 counters, window 0 and oseq-may-wrap from the rule (pluto: 32, no flag), 141 on the wire, both counters carried packets, whack agrees" \
		all "bound $NS_C lctr ' counters 2 ctr_window 128 '" "bound $NS_D lctr ' counters 2 ctr_window 128 '" \
		"ctr_props $NS_C lctr" "ctr_props $NS_D lctr" "on_wire lctr 141" "ctr_ok lctr" \
		"agree_lsw C lctr" "agree_lsw D lctr"
	SPECS=()
	# CHILD_SA rekeys only: the IKE rekeys were in the espx phase
	[ -n "$HAVE_SW" ] && SPECS+=(sw:wesp sw:diet sw:tr ${CTR_UP:+sw:ctr})
	[ -n "$HAVE_LSW" ] && SPECS+=(lsw:lwesp)
	tm "rules CHILD_SAs up and checked"
	rekeys rules "${SPECS[@]}" >"$XT_TMP/rk.rules" 2>&1
	tm "rules rekeys done"
	wire_snap
	pt sw "rules: CHILD_SA rekeys under traffic lose no more than esp4 (wesp $(loss_str rules wesp), diet $(loss_str rules diet) vs $(loss_str stock plain); transport $(loss_str rules tr) vs $(loss_str stock tr))" \
		all "rk_ok rules sw" "loss_ok rules wesp stock plain" "loss_ok rules diet stock plain" \
		"loss_ok rules tr stock tr"
	pt sw "rules: counter CHILD_SA rekey under traffic loses no more than esp4 ($(loss_str rules ctr) vs $(loss_str stock plain)), new SAs: 2 counters, both carry traffic (CPU 0 and 1)" \
		all "[ -n '$CTR_UP' ] || { echo 'the counter CHILD_SA is not up'; false; }" \
		"loss_ok rules ctr stock plain" "bound $NS_A ctr ' counters 2 '" "bound $NS_B ctr ' counters 2 '" \
		"ctr_props $NS_A" "burst ctr 4 0" "burst ctr 4 1" ctr_ok
	pt sw "rules: the rekeyed SAs got their rule again; the transport CHILD_SA's new SAs WESPv2 (rule added after its first SAs)" \
		all "bound $NS_A wesp ' wesp 2( |$)'" "bound $NS_B diet ' diet spi_lsb 8 '" \
		"bound $NS_A tr ' wesp 1( |$)'" "bound $NS_B tr ' wesp 1( |$)'"
	pt sw "rules: the new SAs on the wire: 141 for wesp and transport, $DPROTO for diet" \
		all "on_wire wesp 141" "on_wire diet $DPROTO" "on_wire tr 141"
	pt lsw "rules: libreswan CHILD_SA rekey under traffic loses no more than esp4 ($(loss_str rules lwesp) vs $(loss_str stock ltun)), new SAs WESPv2" \
		all "rk_ok rules lsw" "loss_ok rules lwesp stock ltun" "bound $NS_C lwesp ' wesp 0( |$)'" "on_wire lwesp 141"
	pt sw "rules: swanctl --list-sas and ip -s xfrm state agree in A and B" all "agree_sw A" "agree_sw B"
	pt lsw "rules: whack --trafficstatus and ip -s xfrm state agree in C and D" \
		all "agree_lsw C lwesp" "agree_lsw D lwesp"
fi
ktap_info "rules phase: $(xt_since "$T") s"
phase_end

# ============================================================== 4. end ==
phase end $P_END
stop_all() {
	local s
	for s in "${!DPID[@]}"; do kill "${DPID[$s]}" 2>/dev/null; done
	for s in "${!DPID[@]}"; do wait "${DPID[$s]}" 2>/dev/null; done
	for s in "$NS_A" "$NS_B" "$NS_C" "$NS_D"; do
		ip -n "$s" xfrm state flush
		ip -n "$s" xfrm policy flush
	done
	no_sas "$NS_A" "$NS_B" "$NS_C" "$NS_D" || return 1
	[ -z "$GENL" ] && return 0
	for s in "$NS_A" "$NS_B" "$NS_C" "$NS_D"; do
		[ "$("$GENL" -n "$s" count 2>&1)" = 0 ] || { echo "espx SAs left in $s"; return 1; }
	done
}
check "the daemons stop, no SA and no espx SA left" stop_all
check "no WARN/BUG/oops in the kernel log" xt_dmesg_check
phase_end
ktap_finish
