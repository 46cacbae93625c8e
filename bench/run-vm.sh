#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs INSIDE the bench VM (scripts/bench.sh boots it): every scenario of bench/scenarios.sh
# with the kernel's esp4/esp6, then with espx, in this one boot, with identical SAs.
#   run-vm.sh OUTDIR ESPX_KO [ESPX_KO_BEFORE]
# ESPX_KO_BEFORE: another espx.ko (e.g. of an older commit) that runs as the
# implementation "espx-before" (BENCH_IMPLS) every scenario espx can run that
# also matches BENCH_BEFORE_SCENARIOS (a regex, default all): a before/after
# comparison in one boot.
# Writes to OUTDIR:
#   results.tsv  scenario <TAB> metric <TAB> impl <TAB> value      ("n/a" when not obtainable)
#   marks.tsv    mark <TAB> scenario <TAB> metric <TAB> impl <TAB> packets <TAB> rep
#                (the n-th STOP marker seen by the insn_count plugin is mark n; the host
#                turns the plugin's counts into instructions/packet)
#   meta.txt     kernel, vCPUs, CPU model, clocksource, modules, dmesg verdict per impl
#   log.txt      everything that was run and its output
#   kallsyms-<impl>.txt  /proc/kallsyms with that implementation loaded
# Environment: BENCH_N (UDP packets per measurement, 5000), BENCH_WARMUP (200),
# BENCH_REPEAT (UDP measurements per metric, 1), BENCH_TCP_SECS (5),
# BENCH_SCENARIOS (regex on names), BENCH_IMPLS ("stock espx"), BENCH_ROUNDS
# (1: how many times the implementations take turns, stock espx stock espx ...),
# BENCH_METRICS (comma list: run only these of each scenario's metrics).
# Never fails because espx does: its column is "n/a" then.
set -uo pipefail
out=$1 ko=$2 ko_before=${3:-}
here=$(dirname "$(readlink -f "$0")")
top=$(dirname "$here")
BIN=${BENCH_BIN:-$top/build/bench}
N=${BENCH_N:-5000}
WARMUP=${BENCH_WARMUP:-200}
REPEAT=${BENCH_REPEAT:-1}
ROUNDS=${BENCH_ROUNDS:-1}
TCP_SECS=${BENCH_TCP_SECS:-5}
SEL=${BENCH_SCENARIOS:-.}
SEL_BEFORE=${BENCH_BEFORE_SCENARIOS:-.}
MSEL=${BENCH_METRICS:-}
IMPLS=${BENCH_IMPLS:-stock espx}
PATCHED_IP=$top/build/iproute2/ip/ip
ipbin=ip	# the ip that makes a scenario's SAs (IP=patched: PATCHED_IP)
NCPU=$(nproc)	# @NCPU@ in a scenario's EXTRA words
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption|rcu.*stall|hung_task'

# shellcheck source=bench/scenarios.sh
. "$here/scenarios.sh"

res=$out/results.tsv marks=$out/marks.tsv log=$out/log.txt meta=$out/meta.txt
: >"$res"; : >"$marks"; : >"$log"; : >"$meta"
mark=0

t_start=$(date +%s)
say() { echo "bench: [$(( $(date +%s) - t_start ))s] $*"; echo "== [$(( $(date +%s) - t_start ))s] $*" >>"$log"; }
run() { echo "\$ $*" >>"$log"; "$@" >>"$log" 2>&1; }
result() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$res"; }

# Topology: namespaces a (sender, SA "out") and b (receiver), one veth pair with fixed MACs
# and static neighbour entries (no ARP/ND timers or probes during a measurement), MTU 1600
# so that no scenario fragments (1400 B UDP in IPv6 tunnel mode is ~1530 B on the wire),
# and a backlog that holds a whole UDP measurement.
A4=10.81.0.1 B4=10.81.0.2 A6=2001:db8:81::1 B6=2001:db8:81::2
MACA=02:00:00:00:81:01 MACB=02:00:00:00:81:02
topology() {
	# veth delivers into the per-CPU backlog; when softirq work is deferred to
	# ksoftirqd (TCG timing on a loaded host) the default 1000 overflows.
	sysctl -qw net.core.netdev_max_backlog=$((N + WARMUP + 10000))
	ip netns add a && ip netns add b || return 1
	ip link add v0 netns a address $MACA mtu 1600 type veth peer name v0 netns b address $MACB mtu 1600
	for ns in a b; do
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
		ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
		ip -n $ns link set lo up
	done
	ip -n a addr add $A4/24 dev v0; ip -n b addr add $B4/24 dev v0
	ip -n a addr add $A6/64 dev v0 nodad; ip -n b addr add $B6/64 dev v0 nodad
	for ns in a b; do ip -n $ns link set v0 up; done
	ip -n a neigh replace $B4 lladdr $MACB dev v0 nud permanent
	ip -n a neigh replace $B6 lladdr $MACB dev v0 nud permanent
	ip -n b neigh replace $A4 lladdr $MACA dev v0 nud permanent
	ip -n b neigh replace $A6 lladdr $MACA dev v0 nud permanent
}

# The UDP port of every bench datagram's destination (udpblast -p; the ctr
# metric uses its own ports).
DPORT=9000
# sa_words SRC DST SPORT DPORT WORD...: a scenario's EXTRA words for the SA
# from SRC to DST: @NCPU@, and @SRC@ @DST@ @SPORT@ @DPORT@ = that SA's own
# addresses and the bench traffic's UDP ports in its direction (so that the
# b->a SA gets the mirrored selector); upper-case KEY=value words are the
# bench's own and are left out.
sa_words() {
	local s=$1 d=$2 sp=$3 dp=$4 w
	shift 4
	for w in "$@"; do
		[[ $w =~ ^[A-Z]+= ]] && continue
		w=${w//@NCPU@/$NCPU} w=${w//@SRC@/$s} w=${w//@DST@/$d}
		w=${w//@SPORT@/$sp} w=${w//@DPORT@/$dp}
		printf '%s\n' "$w"
	done
}

# xfrm_setup FAMILY MODE CRYPTO EXTRA...: the same SA pair (SPI 0x1001 a->b, 0x1002 b->a)
# and policies (out + in, both directions) in both namespaces. SPORT=<port>
# pins the sender's UDP source port (netns a's local port range: udpblast's
# connected socket gets it, and so does every other autobound socket in a)
# for SAs whose selector names it (@SPORT@); xfrm_flush undoes it.
#
# Diet-ESP SAs get a salt of their own per setup: espx continues a key's SNs
# across states (one SN counter per key, tombstones included), while a new
# Diet SA in b rebuilds SNs from its own window starting at 0, so a key
# reused by a later scenario or round would send SNs that b's fresh SAs
# rebuild wrongly once they pass 2^sn-lsb. SAs with sequence counters too:
# espx refuses a key that numbered its packets one way (one SN) for SAs
# that number them another (counters), and the key stays known after its
# SAs are gone. CAND=<n>: b also gets n - 1
# inbound SAs for a->b with SPIs 0x2001, 0x3001, ... and their own keys,
# made after 0x1001 (newer: Diet-ESP tries them first); FORGE=1: b's 0x1001
# gets another key than a's, so b authenticates none of a's packets.
nsetup=0
xfrm_setup() {
	local fam=$1 mode=$2 crypto=$3 a b sel w sport='' cand=1 forge=0 i
	shift 3
	ipbin=ip
	nsetup=$((nsetup + 1))
	for w in "$@"; do
		case $w in
		IP=patched) ipbin=$PATCHED_IP ;;
		SPORT=*) sport=${w#SPORT=} ;;
		CAND=*) cand=${w#CAND=} ;;
		FORGE=*) forge=${w#FORGE=} ;;
		esac
	done
	if [ -n "$sport" ]; then
		pinned=1
		run ip netns exec a sysctl -w net.ipv4.ip_local_port_range="$sport $sport" || return 1
	fi
	if [ "$fam" = 4 ]; then a=$A4 b=$B4 sel=32; else a=$A6 b=$B6 sel=128; fi
	local -a alg ex1 ex2 algb more=()
	eval "alg=(${CRYPTO_ARGS[$crypto]})"
	mapfile -t ex1 < <(sa_words "$a" "$b" "$sport" "$DPORT" "$@")
	mapfile -t ex2 < <(sa_words "$b" "$a" "$DPORT" "$sport" "$@")
	# AEAD key words are 0x + 16 octets of key + 4 of salt (CRYPTO_ARGS)
	if [ "${alg[0]}" = aead ] && [[ " ${ex1[*]} " =~ \ (diet|seq-counters)\  ]]; then
		alg[2]=${alg[2]:0:34}$(printf '%08x' "$nsetup")
	fi
	algb=("${alg[@]}")
	if [ "$forge" = 1 ]; then
		[ "${alg[0]}" = aead ] || return 1
		algb[2]=0xff${alg[2]:4}
	fi
	# One `ip -batch` per namespace (each exec is slow under TCG with a 9p root).
	local sa1=(xfrm state add src "$a" dst "$b" proto esp spi 0x1001 reqid 1 mode "$mode" "${alg[@]}" "${ex1[@]}")
	local sa2=(xfrm state add src "$b" dst "$a" proto esp spi 0x1002 reqid 2 mode "$mode" "${alg[@]}" "${ex2[@]}")
	local sa1b=(xfrm state add src "$a" dst "$b" proto esp spi 0x1001 reqid 1 mode "$mode" "${algb[@]}" "${ex1[@]}")
	for ((i = 2; i <= cand; i++)); do
		[ "${alg[0]}" = aead ] || return 1
		algb[2]=0x$(printf '%02x' "$i")${alg[2]:4}
		more+=(xfrm state add src "$a" dst "$b" proto esp spi "$(printf '0x%x001' "$i")" reqid 1 \
			mode "$mode" "${algb[@]}" "${ex1[@]}" --)
	done
	batch a "${sa1[@]}" -- "${sa2[@]}" -- \
		xfrm policy add src $a/$sel dst $b/$sel dir out tmpl src $a dst $b proto esp reqid 1 mode "$mode" -- \
		xfrm policy add src $b/$sel dst $a/$sel dir in tmpl src $b dst $a proto esp reqid 2 mode "$mode" || return 1
	batch b "${sa1b[@]}" -- "${sa2[@]}" -- "${more[@]}" \
		xfrm policy add src $b/$sel dst $a/$sel dir out tmpl src $b dst $a proto esp reqid 2 mode "$mode" -- \
		xfrm policy add src $a/$sel dst $b/$sel dir in tmpl src $a dst $b proto esp reqid 1 mode "$mode" || return 1
	[ "$cand" = 1 ] || [ "$(ip -n b xfrm state list | grep -c '^src')" = $((cand + 1)) ]
}

# batch NS WORDS... [-- WORDS...]...: run the commands with one `ip -n NS -batch -`
# (words are quoted for ip's batch parser; an empty word becomes "").
batch() {
	local ns=$1 w line="" text=""
	shift
	for w in "$@" --; do
		if [ "$w" = -- ]; then
			text+="$line"$'\n'
			line=""
		elif [ -z "$w" ]; then
			line+=' ""'
		else
			line+=" $w"
		fi
	done
	printf '$ ip -n %s -batch -\n%s' "$ns" "$text" >>"$log"
	"$ipbin" -n "$ns" -batch - <<<"$text" >>"$log" 2>&1
}

xfrm_flush() {
	local ns
	for ns in a b; do
		printf 'xfrm policy flush\nxfrm state flush\n' | ip -n $ns -batch - >>"$log" 2>&1
	done
	if [ "$pinned" = 1 ]; then	# SPORT=: back to the default range
		run ip netns exec a sysctl -w net.ipv4.ip_local_port_range="32768 60999"
		pinned=0
	fi
}
pinned=0

# tx_stats: "BYTES PACKETS" sent by a's veth so far (the whole frame, Ethernet
# header included).
tx_stats() {
	ip -n a -s link show dev v0 | awk '$1 == "TX:" { getline; print $1, $2; exit }'
}

# wire_result METRIC BEFORE AFTER EXPECT: the outer IP packet's octets per
# packet a sent (Ethernet header off) over a run of EXPECT datagrams; any
# other packet a sent in the meantime would be averaged in, so a packet count
# other than EXPECT is noted for the report.
wire_result() {
	local m=$1 before=$2 after=$3 expect=$4 db dp
	db=$(( ${after% *} - ${before% *} )) dp=$(( ${after#* } - ${before#* } ))
	if [ "$dp" -le 0 ]; then
		result "$scen" "$m B/pkt" "$impl" n/a
		return
	fi
	result "$scen" "$m B/pkt" "$impl" "$(awk -v b="$db" -v p="$dp" 'BEGIN { printf "%.2f", b / p - 14 }')"
	[ "$dp" -eq "$expect" ] ||
		echo "wire: $scen $m $impl: a sent $dp packets for $expect datagrams" >>"$meta"
}

# udp METRICNAME LEN: pps and kernel instructions/packet, BENCH_REPEAT times.
udp() {
	local m=$1 len=$2 r line v before after
	for r in $(seq 1 "$REPEAT"); do
		echo "\$ udpblast -l $len -n $N ($scen/$impl rep $r)" >>"$log"
		before=$(tx_stats)
		line=$(timeout 600 "$BIN/udpblast" -d "$dst" -p $DPORT -l "$len" -n "$N" \
			-w "$WARMUP" -A a -N b -c 0 2>>"$log")
		after=$(tx_stats)
		echo "$line" >>"$log"
		case $line in
		sent=*)	mark=$((mark + 1))
			local sent arrived pps
			sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$line")
			arrived=$(sed -n 's/.*arrived=\([0-9]*\).*/\1/p' <<<"$line")
			pps=$(sed -n 's/.*pps=\([0-9]*\).*/\1/p' <<<"$line")
			# Every packet must have gone through both ESP paths to the sink.
			# Every packet must have gone through both ESP paths to the sink;
			# a run with losses is not a measurement of the same work.
			if [ "$sent" -eq "$N" ] && [ "$arrived" -eq "$N" ]; then
				result "$scen" "$m pps" "$impl" "$pps"
				wire_result "$m" "$before" "$after" $((N + WARMUP))
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "$m insn/pkt" "$impl" "$N" "$r" >>"$marks"
			else
				say "$scen/$impl $m rep $r: sent $sent of $N, $arrived arrived: not counted"
				result "$scen" "$m pps" "$impl" n/a
				result "$scen" "$m insn/pkt" "$impl" n/a
				echo "loss: $scen $m $impl rep $r: sent $sent of $N, arrived $arrived" >>"$meta"
				# nothing at all went through: the SAs do not work
				[ "$arrived" -gt 0 ] || return 1
			fi ;;
		*)	result "$scen" "$m pps" "$impl" n/a
			result "$scen" "$m insn/pkt" "$impl" n/a
			return 1 ;;
		esac
	done
}

metric_udp64() { udp udp64 64; }
metric_udp1400() { udp udp1400 1400; }

# Diet-ESP candidate walk (issue #13 section 2). b_stats: the xfrm core's
# error counters of netns b (/proc/net/xfrm_stat, "NAME VALUE" lines: every
# drop of the walk is one of them, an ICV failure of the last candidate
# XfrmInStateProtoError, a walk that passes over every candidate
# XfrmInNoStates; cheap to read, unlike espx's own counters, which
# espx_drops dumps once per scenario); stat_delta BEFORE AFTER REGEX: the
# growth of the counters whose names match REGEX; trials: espx's trial
# decryptions so far (debugfs espx/diet_trials; "none" where the module has
# no such file).
b_stats() { ip netns exec b cat /proc/net/xfrm_stat; }
stat_delta() {
	# shellcheck disable=SC2016
	awk -v re="$3" 'NR == FNR { if ($1 ~ re) s -= $2; next } $1 ~ re { s += $2 } END { print s + 0 }' \
		<(echo "$1") <(echo "$2")
}
DROPS_RE='^Xfrm'
TRIALS=/sys/kernel/debug/espx/diet_trials
trials() { cat "$TRIALS" 2>/dev/null || echo none; }
# per_pkt COUNT PACKETS: COUNT / PACKETS with 3 decimals ("n/a" for none)
per_pkt() {
	case $1 in
	none|'') echo n/a ;;
	*) awk -v c="$1" -v p="$2" 'BEGIN { printf "%.3f", c / p }' ;;
	esac
}

# forged METRICNAME LEN: a's packets that no candidate in b authenticates
# (diet-forged-v6): kernel instructions per forged packet, BENCH_REPEAT times.
# Nothing arrives, so the window ends FORGED_QUIET ms after the last send
# (udpblast -q; the receive softirq runs on the sending vCPU, before send()
# returns). Rows: "M insn/pkt" (marks), "M dropped/pkt" (growth of b's xfrm
# error counters per datagram, udpblast's own warm-up included: 1.000 = every
# one dropped and counted), "M trials/pkt" (diet_trials, when the module has
# it), "M arrived". A run in which something arrived or not every packet was
# counted as a drop is not counted.
FORGED_QUIET=200
forged() {
	local m=$1 len=$2 r line sent arrived s0 s1 t0 t1 tot drops
	for r in $(seq 1 "$REPEAT"); do
		echo "\$ udpblast -l $len -n $N -q $FORGED_QUIET ($scen/$impl rep $r, forged)" >>"$log"
		s0=$(b_stats) t0=$(trials)
		line=$(timeout 600 "$BIN/udpblast" -d "$dst" -p $DPORT -l "$len" -n "$N" \
			-w "$WARMUP" -q "$FORGED_QUIET" -A a -N b -c 0 2>>"$log")
		s1=$(b_stats) t1=$(trials)
		echo "$line" >>"$log"
		case $line in
		sent=*) mark=$((mark + 1))
			# the row's place in the table; the number comes from the marks
			result "$scen" "$m insn/pkt" "$impl" marked ;;
		*) result "$scen" "$m insn/pkt" "$impl" n/a; return 1 ;;
		esac
		sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$line")
		arrived=$(sed -n 's/.*arrived=\([0-9]*\).*/\1/p' <<<"$line")
		tot=$((sent + WARMUP))
		drops=$(stat_delta "$s0" "$s1" "$DROPS_RE")
		echo "forged: b's drops +$drops for $tot datagrams: $(awk 'NR == FNR { a[$1] = $2; next }
			$2 != a[$1] { printf " %s+%d", $1, $2 - a[$1] }' <(echo "$s0") <(echo "$s1"))" >>"$log"
		result "$scen" "$m dropped/pkt" "$impl" "$(per_pkt "$drops" "$tot")"
		if [ "$t0" = none ] || [ "$t1" = none ]; then
			result "$scen" "$m trials/pkt" "$impl" n/a
		else
			result "$scen" "$m trials/pkt" "$impl" "$(per_pkt $((t1 - t0)) "$tot")"
		fi
		result "$scen" "$m arrived" "$impl" "$arrived"
		if [ "$sent" -eq "$N" ] && [ "$arrived" -eq 0 ] && [ "$drops" -eq "$tot" ]; then
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "$m insn/pkt" "$impl" "$N" "$r" >>"$marks"
		else
			say "$scen/$impl $m rep $r: sent $sent of $N, $arrived arrived, $drops of $tot dropped: not counted"
			result "$scen" "$m insn/pkt" "$impl" n/a
			echo "loss: $scen $m $impl rep $r: sent $sent of $N, arrived $arrived, dropped $drops of $tot" >>"$meta"
		fi
	done
}
metric_forged64() { forged forged64 64; }
metric_forged1400() { forged forged1400 1400; }

# aead: AEAD passes per packet, untimed (kprobes cost instructions): AEAD_N
# datagrams of 64 octets with two kprobe events counting (kprobe_profile)
#   trial  crypto_gcm_decrypt (gcm.ko): the gcm template's decrypt, which
#          only the Diet trial transform uses: espx allocates it as gcm(aes)
#          (it builds the nonce) synchronous, CRYPTO_ALG_ASYNC masked, so not
#          AES-NI's simd generic-gcm-aesni (the real pass's) but
#          gcm_base(ctr(aes-aesni),ghash-generic), see /proc/crypto in the
#          log; the same in both module versions
#   pass   espx_input (espx.ko): the xfrm type's input, the real pass
# Rows "aead trials/pkt", "aead passes/pkt", "aead AEAD/pkt" (their sum),
# "aead debugfs trials/pkt" (diet_trials, new modules only: a cross-check),
# "aead delivered/pkt", "aead dropped/pkt".
AEAD_N=1000
kp_hits() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
metric_aead() {
	local tr=/sys/kernel/tracing line sent arrived s0 s1 t0 t1 h0 h1 n ok=1
	[ -e $tr/kprobe_events ] || mount -t tracefs nodev $tr 2>>"$log"
	echo "-- /proc/crypto gcm drivers:" >>"$log"
	awk '/^name/ { n = $3 } /^driver/ && n ~ /gcm/ { print "  " n, $3 }' /proc/crypto >>"$log"
	run sh -c "echo 'p:espxb/espxb_trial gcm:crypto_gcm_decrypt' >>$tr/kprobe_events" || ok=
	run sh -c "echo 'p:espxb/espxb_pass espx:espx_input' >>$tr/kprobe_events" || ok=
	run sh -c "echo 1 >$tr/events/espxb/enable" || ok=
	h0=$(cat $tr/kprobe_profile 2>/dev/null)
	s0=$(b_stats) t0=$(trials)
	line=$(timeout 300 "$BIN/udpblast" -d "$dst" -p $DPORT -l 64 -n $AEAD_N -w 0 -q 300 \
		-A a -N b -c 0 2>>"$log")
	s1=$(b_stats) t1=$(trials)
	h1=$(cat $tr/kprobe_profile 2>/dev/null)
	echo "aead: $line" >>"$log"
	printf -- '-- kprobe_profile before:\n%s\n-- after:\n%s\n' "$h0" "$h1" >>"$log"
	run sh -c "echo 0 >$tr/events/espxb/enable"
	run sh -c "echo '-:espxb/espxb_trial' >>$tr/kprobe_events"
	run sh -c "echo '-:espxb/espxb_pass' >>$tr/kprobe_events"
	case $line in
	sent=*) mark=$((mark + 1))
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "check" "$impl" $AEAD_N 1 >>"$marks" ;;
	*) result "$scen" "aead AEAD/pkt" "$impl" n/a; return 1 ;;
	esac
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$line")
	arrived=$(sed -n 's/.*arrived=\([0-9]*\).*/\1/p' <<<"$line")
	local tri pas
	if [ -n "$ok" ] && [ -n "$(kp_hits "$h1" espxb_trial)" ] && [ -n "$(kp_hits "$h1" espxb_pass)" ]; then
		tri=$(( $(kp_hits "$h1" espxb_trial) - $(kp_hits "$h0" espxb_trial) ))
		pas=$(( $(kp_hits "$h1" espxb_pass) - $(kp_hits "$h0" espxb_pass) ))
		result "$scen" "aead trials/pkt" "$impl" "$(per_pkt "$tri" "$sent")"
		result "$scen" "aead passes/pkt" "$impl" "$(per_pkt "$pas" "$sent")"
		result "$scen" "aead AEAD/pkt" "$impl" "$(per_pkt $((tri + pas)) "$sent")"
	else
		result "$scen" "aead AEAD/pkt" "$impl" n/a
	fi
	if [ "$t0" = none ] || [ "$t1" = none ]; then
		result "$scen" "aead debugfs trials/pkt" "$impl" n/a
	else
		result "$scen" "aead debugfs trials/pkt" "$impl" "$(per_pkt $((t1 - t0)) "$sent")"
	fi
	result "$scen" "aead delivered/pkt" "$impl" "$(per_pkt "$arrived" "$sent")"
	n=$(stat_delta "$s0" "$s1" "$DROPS_RE")
	result "$scen" "aead dropped/pkt" "$impl" "$(per_pkt "$n" "$sent")"
}

# wire: octets on the wire per packet for the UDP payload sizes of WIRE_LENS
# (bench/scenarios.sh), WIRE_N datagrams each, no timing or instruction
# count (rows "wire LEN B/pkt"). The first packets are decoded into the log
# (tcpdump -v -x: outer protocol, lengths), when tcpdump is there.
WIRE_N=100
metric_wire() {
	local len line before after tpid=
	for len in "${WIRE_LENS[@]}"; do
		if [ -z "$tpid" ] && command -v tcpdump >/dev/null; then
			ip netns exec a timeout 30 tcpdump -i v0 -nn -v -x -c 2 -l \
				>"$out/tcpdump.tmp" 2>&1 &
			tpid=$!
			sleep 2	# slow to start under TCG
		fi
		before=$(tx_stats)
		line=$(timeout 120 "$BIN/udpblast" -d "$dst" -p $DPORT -l "$len" -n $WIRE_N \
			-w 0 -A a -N b -c 0 2>>"$log")
		after=$(tx_stats)
		echo "wire $len: $line" >>"$log"
		case $line in
		sent=*) mark=$((mark + 1))
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "check" "$impl" $WIRE_N 1 >>"$marks" ;;
		*) result "$scen" "wire $len B/pkt" "$impl" n/a; continue ;;
		esac
		if [ "$(sed -n 's/.*arrived=\([0-9]*\).*/\1/p' <<<"$line")" = $WIRE_N ]; then
			wire_result "wire $len" "$before" "$after" $WIRE_N
		else
			result "$scen" "wire $len B/pkt" "$impl" n/a
			echo "loss: $scen wire $len $impl: $line" >>"$meta"
		fi
		if [ -n "$tpid" ]; then
			wait "$tpid"
			{ echo "--- tcpdump ($scen/$impl, $len B)"; cat "$out/tcpdump.tmp"; } >>"$log"
			rm -f "$out/tcpdump.tmp"
			tpid=none
		fi
	done
}

# Replay drops of the a->b SA (SPI 0x1001) in b, "NAME VALUE" a line: the
# kernel's (XfrmInStateSeqError in b's xfrm_stat; the SA's own statistics
# "replay-window" = too old, "replay" = seen before) and espx's per-SA
# in_drop_ctr_replay (0 for stock: no espx).
replay_counters() {
	# shellcheck disable=SC2016
	ip netns exec b awk '$1 == "XfrmInStateSeqError" { print "xfrm_seqerr", $2 }' /proc/net/xfrm_stat
	ip -n b -s xfrm state get src "$src" dst "$dst" proto esp spi 0x1001 2>/dev/null |
		awk '$1 == "replay-window" && $3 == "replay" && $5 == "failed" { w = $2; r = $4 }
			END { print "sa_replay_window", w + 0; print "sa_replay", r + 0 }'
	if [ "$kind" = espx ]; then
		ip netns exec b python3 -S "$top/selftests/espx_pkt.py" espx-stats --spi 0x1001 2>>"$log" |
			awk '$1 ~ /^espx:.*:in_drop_(ctr|eesp)_replay$/ { v += $2 } END { print "ctr_replay", v + 0 }'
	else
		echo "ctr_replay 0"
	fi
}

# ctr: one SA, 64 B UDP from one sender on vCPU 0, then from one sender per
# vCPU at once (udpblast -c 0,1,..: own socket and port each, so each flow
# stays on its CPU); aggregate pps, kernel insn/pkt, losses and replay drops
# of the all-vCPU runs. Rows "ctr K pps", "ctr K insn/pkt", "ctr K lost" for K
# = 1 and NCPU senders, "ctr NAME" for the replay counters (deltas over the
# all-vCPU runs). Losses do not make a run invalid here: they are the point.
metric_ctr() {
	local k cpus r line sent arrived pps src before after name v
	if [ "$fam" = 4 ]; then src=$A4; else src=$A6; fi
	before=$(replay_counters)
	for k in 1 "$NCPU"; do
		cpus=$(seq -s, 0 $((k - 1)))
		for r in $(seq 1 "$REPEAT"); do
			[ "$k" = "$NCPU" ] && [ "$r" = 1 ] && before=$(replay_counters)
			echo "\$ udpblast -l 64 -n $N -c $cpus ($scen/$impl rep $r)" >>"$log"
			line=$(timeout 600 "$BIN/udpblast" -d "$dst" -p 9100 -l 64 -n "$N" \
				-w "$WARMUP" -A a -N b -c "$cpus" 2>>"$log")
			echo "$line" >>"$log"
			case $line in
			sent=*) ;;
			*) result "$scen" "ctr $k pps" "$impl" n/a; return 1 ;;
			esac
			mark=$((mark + 1))
			sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$line")
			arrived=$(sed -n 's/.*arrived=\([0-9]*\).*/\1/p' <<<"$line")
			pps=$(sed -n 's/.*pps=\([0-9]*\).*/\1/p' <<<"$line")
			[ "$arrived" -gt 0 ] || { result "$scen" "ctr $k pps" "$impl" n/a; return 1; }
			result "$scen" "ctr $k pps" "$impl" "$pps"
			result "$scen" "ctr $k lost" "$impl" $((sent - arrived))
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "ctr $k insn/pkt" "$impl" "$sent" "$r" >>"$marks"
		done
	done
	after=$(replay_counters)
	echo "replay counters before: $(tr '\n' ' ' <<<"$before") after: $(tr '\n' ' ' <<<"$after")" >>"$log"
	while read -r name v; do
		result "$scen" "ctr $name" "$impl" $((v - $(awk -v k="$name" '$1 == k { print $2 + 0 }' <<<"$before")))
	done <<<"$after"
	run ip -n b -s xfrm state
}

# subsa (EESP with sub-sas >= 2): what the first packet on a Sub SA that has
# carried none costs against the next ones. Per repeat the scenario's SAs are
# made anew; 20 datagrams from vCPU 1 (Sub SA 1: the bundle, the policy
# lookups and everything else a new SA pair does once) and then single
# datagrams from vCPU 0 (Sub SA 0 mod N): "subsa first" = its first packet
# (b allocates that Sub SA's replay window), "subsa next" = the two after it.
# The Sub SAs' keys and transforms are made with the SA (metric saadd), so
# no key derivation is in the data path.
metric_subsa() {
	local r k line
	for r in $(seq 1 "$REPEAT"); do
		xfrm_flush
		xfrm_setup "$fam" "$mode" "$crypto" "${extra[@]}" || return 1
		line=$(timeout 120 "$BIN/udpblast" -d "$dst" -p $DPORT -l 64 -n 20 -w 0 \
			-A a -N b -c 1 2>>"$log")
		echo "subsa vCPU 1: $line" >>"$log"
		case $line in sent=*) mark=$((mark + 1)) ;; *) return 1 ;; esac
		for k in first next next; do
			line=$(timeout 120 "$BIN/udpblast" -d "$dst" -p $DPORT -l 64 -n 1 -w 0 \
				-A a -N b -c 0 2>>"$log")
			echo "subsa $k vCPU 0: $line" >>"$log"
			case $line in
			sent=1*arrived=1\ *) mark=$((mark + 1))
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "subsa $k insn/pkt" "$impl" 1 "$r" >>"$marks" ;;
			sent=*) mark=$((mark + 1))
				result "$scen" "subsa $k insn/pkt" "$impl" n/a ;;
			*) return 1 ;;
			esac
		done
	done
}

# saadd (EESP with sub-sas): kernel instructions of one `ip xfrm state add`
# of the scenario's a->b SA (patched ip, as a process between the markers:
# udpblast -x) with sub-sas 1 and with SAADD_N, BENCH_REPEAT times each,
# alternating; rows "saadd N insn/SA". (SAADD_N - 1) Sub SAs more cost the
# difference: one HKDF-Expand and one AEAD transform (allocation, setkey)
# each, plus their share of the SA's memory.
SAADD_N=64
metric_saadd() {
	local r n line a b
	local -a alg ex1 w2
	if [ "$fam" = 4 ]; then a=$A4 b=$B4; else a=$A6 b=$B6; fi
	eval "alg=(${CRYPTO_ARGS[$crypto]})"
	mapfile -t ex1 < <(sa_words "$a" "$b" "" "$DPORT" "${extra[@]}")
	for r in $(seq 1 "$REPEAT"); do
		for n in 1 $SAADD_N; do
			xfrm_flush
			w2=()
			for w in "${ex1[@]}"; do
				[ "${w2[-1]:-}" = sub-sas ] && w=$n
				w2+=("$w")
			done
			echo "\$ udpblast -x ip -n a xfrm state add ... ${w2[*]} ($scen/$impl rep $r)" >>"$log"
			line=$(timeout 120 "$BIN/udpblast" -x "$ipbin" -n a xfrm state add src "$a" dst "$b" \
				proto esp spi 0x1001 reqid 1 mode "$mode" "${alg[@]}" "${w2[@]}" 2>>"$log")
			echo "$line" >>"$log"
			case $line in
			exec\ status=0*) mark=$((mark + 1))
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "saadd $n insn/SA" "$impl" 1 "$r" >>"$marks" ;;
			exec*) mark=$((mark + 1)); result "$scen" "saadd $n insn/SA" "$impl" n/a; return 1 ;;
			*) result "$scen" "saadd $n insn/SA" "$impl" n/a; return 1 ;;
			esac
		done
	done
	run ip -n a xfrm state
}

# churn: the control-plane cost of SAs (issue #14's bulk churn), without the
# scenario's traffic. Per repeat b's SAs are flushed and CHURN_SAS SAs made
# (one `ip -batch`, not measured): inbound transport SAs from 10.95.0.1 to
# their own destinations 10.94.x.y, each with its own key and the
# scenario's algorithm and EXTRA words. Then one batch deletes the first
# CHURN_OPS / 2 of them and adds as many new ones (other SPIs and keys), as
# a process between the markers (udpblast -x): "churn insn/op" = guest
# kernel instructions per add or delete (the ip process's own system calls,
# the netlink work, crypto transform set-up and the xfrm GC's frees that
# fall in the window), "churn ops/s" = adds and deletes per wall-clock
# second (noisy under TCG). The rows of stock and espx are the same SAs.
CHURN_SAS=${BENCH_CHURN_SAS:-1000}
CHURN_OPS=${BENCH_CHURN_OPS:-1000}
churn_lines() {	# churn_lines add|delete FROM TO GEN
	local -a alg ex
	local i k id
	if [ "$1" = add ]; then
		eval "alg=(${CRYPTO_ARGS[$crypto]})"
		mapfile -t ex < <(sa_words 10.95.0.1 10.94.0.1 "" "$DPORT" "${extra[@]}")
	fi
	for ((i = $2; i < $3; i++)); do
		printf -v id 'src 10.95.0.1 dst 10.94.%d.%d proto esp spi 0x%x' \
			$((i / 250)) $((i % 250 + 1)) $((0x40000000 + $4 * 0x100000 + i))
		if [ "$1" = delete ]; then
			echo "xfrm state delete $id"
			continue
		fi
		# a key of its own: SA, generation, setup (a key stays known to
		# espx after its SAs go, with how it numbered its packets)
		printf -v k '%04x%02x%02x' $((i % 65536)) $(($4 % 256)) $((nsetup % 256))
		echo "xfrm state add $id reqid 9 mode transport ${alg[0]} ${alg[1]} 0x$k${alg[2]:10} ${alg[*]:3} ${ex[*]}"
	done
}
b_states() { ip -n b xfrm state count | awk '{ print $NF }'; }
metric_churn() {
	local r half=$((CHURN_OPS / 2)) line ns have
	[ "$crypto" = null ] && return 1	# churn_lines writes AEAD keys
	for r in $(seq 1 "$REPEAT"); do
		printf 'xfrm state flush\n' | ip -n b -batch - >>"$log" 2>&1
		churn_lines add 0 "$CHURN_SAS" 0 >"$out/churn.base"
		{ churn_lines delete 0 $half 0; churn_lines add 0 $half 1; } >"$out/churn.ops"
		echo "\$ ip -n b -batch churn.base: $CHURN_SAS SAs, $(head -n1 "$out/churn.base") ($scen/$impl rep $r)" >>"$log"
		"$ipbin" -n b -batch "$out/churn.base" >>"$log" 2>&1 || return 1
		have=$(b_states)
		[ "$have" = "$CHURN_SAS" ] || { echo "churn: $have SAs in b, not $CHURN_SAS" >>"$log"; return 1; }
		line=$(timeout 600 "$BIN/udpblast" -x "$ipbin" -n b -batch "$out/churn.ops" 2>>"$log")
		echo "churn $CHURN_OPS ops: $line" >>"$log"
		have=$(b_states)
		case $line in
		exec\ status=0*) mark=$((mark + 1))
			[ "$have" = "$CHURN_SAS" ] || { echo "churn: $have SAs in b after, not $CHURN_SAS" >>"$log"; return 1; }
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "churn insn/op" "$impl" "$CHURN_OPS" "$r" >>"$marks"
			ns=${line##*ns=}
			result "$scen" "churn ops/s" "$impl" "$(awk -v o="$CHURN_OPS" -v t="$ns" 'BEGIN { printf "%.0f", o * 1e9 / t }')" ;;
		exec*) mark=$((mark + 1)); return 1 ;;
		*) return 1 ;;
		esac
	done
	printf 'xfrm state flush\n' | ip -n b -batch - >>"$log" 2>&1
}

# One TCP stream, iperf3 -t BENCH_TCP_SECS, receiver's goodput in Mbit/s.
metric_tcp() {
	local v pidf=$out/iperf3-server.pid
	rm -f "$pidf"
	if ! ip netns exec b iperf3 -s -1 -D -p 5201 -I "$pidf" --logfile "$out/iperf3-server.log"; then
		result "$scen" "tcp Mbit/s" "$impl" n/a
		return 1
	fi
	sleep 0.5
	echo "\$ iperf3 -c $dst -t $TCP_SECS ($scen/$impl)" >>"$log"
	v=$(timeout $((TCP_SECS + 30)) ip netns exec a iperf3 -c "$dst" -p 5201 -t "$TCP_SECS" -f m 2>&1 |
		tee -a "$log" | awk '/ receiver$/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }')
	sleep 0.2
	# the one-off server exits after its test; stop it if the client never got there
	[ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	if [ -n "$v" ]; then result "$scen" "tcp Mbit/s" "$impl" "$v"; else result "$scen" "tcp Mbit/s" "$impl" n/a; fi
}

# espx's drop and error counters of both namespaces that grew during the
# scenario (e.g. out_drop_diet_nomatch; per-SA counters are new with each
# scenario's SAs, netns-wide ones are compared with the previous dump): into
# the log, and a "drops:" line for the report.
espx_drops() {
	local ns d prev
	for ns in a b; do
		prev=$out/espx-stats-$ns.prev
		[ -e "$prev" ] || : >"$prev"
		ip netns exec $ns python3 -S "$top/selftests/espx_pkt.py" espx-stats \
			>"$prev.new" 2>>"$log"
		{ echo "--- espx-stats $ns ($scen)"; cat "$prev.new"; } >>"$log"
		# shellcheck disable=SC2016
		d=$(awk 'NR == FNR { if ($1 !~ /^espx:/) old[$1] = $2; next }
			$1 ~ /drop|err|nosa|nomatch|icv|trunc/ && $2 - old[$1] > 0 {
				printf " %s=%d", $1, $2 - old[$1] }' "$prev" "$prev.new")
		mv "$prev.new" "$prev"
		[ -z "$d" ] || echo "drops: $scen $impl netns $ns:$d" >>"$meta"
	done
}

# Mark a metric (or all metrics) of the scenario n/a for this implementation.
na_metric() {
	case $1 in
	tcp) result "$scen" "tcp Mbit/s" "$impl" n/a ;;
	udp*) result "$scen" "$1 pps" "$impl" n/a; result "$scen" "$1 insn/pkt" "$impl" n/a
		result "$scen" "$1 B/pkt" "$impl" n/a ;;
	wire) for l in "${WIRE_LENS[@]}"; do result "$scen" "wire $l B/pkt" "$impl" n/a; done ;;
	ctr) result "$scen" "ctr 1 pps" "$impl" n/a; result "$scen" "ctr $NCPU pps" "$impl" n/a ;;
	forged*) result "$scen" "$1 insn/pkt" "$impl" n/a ;;
	aead) result "$scen" "aead AEAD/pkt" "$impl" n/a ;;
	churn) result "$scen" "churn ops/s" "$impl" n/a; result "$scen" "churn insn/op" "$impl" n/a ;;
	*) result "$scen" "$1" "$impl" n/a ;;
	esac
}
all_na() {
	local m
	for m in "${metrics[@]}"; do na_metric "$m"; done
}

load_impl() {
	local m
	xfrm_flush
	for m in esp4_offload esp6_offload esp4 esp6 espx; do
		grep -q "^$m " /proc/modules && run rmmod $m
	done
	case $1 in
	stock) run modprobe esp4 && run modprobe esp6 ;;
	espx) [ -e "$ko" ] && run insmod "$ko" ;;
	espx-before) [ -n "$ko_before" ] && [ -e "$ko_before" ] && run insmod "$ko_before" ;;
	esac
}

# Meta data for the report.
{
	echo "kernel: $(uname -r)"
	echo "vcpus: $(nproc)"
	echo "cpu_model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "cpu_aes: $(grep -qw aes /proc/cpuinfo && echo yes || echo no)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "udp_packets: $N"
	echo "udp_repeat: $REPEAT"
	echo "rounds: $ROUNDS"
	echo "tcp_secs: $TCP_SECS"
	echo "mtu: 1600"
	echo "netdev_max_backlog: $((N + WARMUP + 10000))"
} >>"$meta"

topology >>"$log" 2>&1 || { say "topology setup failed"; exit 1; }
grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>>"$log"
say "background: user-space busy loop of 2 s between markers"
line=$("$BIN/udpblast" -s 2000)
mark=$((mark + 1))
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "background" "busy 2s" "-" "2" "1" >>"$marks"

# Rounds: the implementations take turns, so that a change of the host's
# load during the boot (other VMs, builds) is not charged to one of them.
declare -A splat_total
for round in $(seq 1 "$ROUNDS"); do
	for impl in $IMPLS; do
		first=0
		kind=${impl%-before}	# espx-before runs what espx runs
		[ "$round" = 1 ] && [ "$impl" = "${IMPLS%% *}" ] && first=1
		dmesg -c >/dev/null
		if ! load_impl "$impl"; then
			say "$impl: could not load (see log): all n/a"
			echo "load_$impl: failed" >>"$meta"
			loaded=0
		else
			echo "load_$impl: ok ($(grep -E '^(esp4|esp6|espx) ' /proc/modules | cut -d' ' -f1 | tr '\n' ' '))" >>"$meta"
			loaded=1
		fi
		for spec in "${SCENARIOS[@]}"; do
			read -r scen fam mode crypto impls extra <<<"$spec"
			[[ $scen =~ $SEL ]] || continue
			# shellcheck disable=SC2206
			extra=($extra)
			metrics=("${METRICS[@]}")
			for w in "${extra[@]}"; do
				[[ $w = BASE=* ]] && [ $first = 1 ] && echo "base: $scen ${w#BASE=}" >>"$meta"
				# shellcheck disable=SC2206
				[[ $w = METRICS=* ]] && w=${w#METRICS=} && metrics=(${w//,/ })
			done
			if [ -n "$MSEL" ]; then	# BENCH_METRICS: only those of the scenario's
				sel_m=()
				for w in "${metrics[@]}"; do
					[[ ,$MSEL, = *,$w,* ]] && sel_m+=("$w")
				done
				metrics=("${sel_m[@]}")
			fi
			# the scenario itself, for the report's expected wire sizes
			[ $first = 1 ] && echo "scenario: $spec" | tr -s ' ' >>"$meta"
			if [[ ,$impls, != *,$kind,* ]] || [ $loaded = 0 ] ||
				{ [ "$impl" = espx-before ] && ! [[ $scen =~ $SEL_BEFORE ]]; }; then
				all_na
				continue
			fi
			if [ "$fam" = 4 ]; then dst=$B4; else dst=$B6; fi
			say "$impl: $scen (round $round of $ROUNDS)"
			if ! xfrm_setup "$fam" "$mode" "$crypto" "${extra[@]}"; then
				say "$impl: $scen: SA setup failed: n/a"
				all_na; xfrm_flush; continue
			fi
			# A throw-away run first: connectivity check, and whatever the first
			# packets of a new SA pair trigger (bundle creation, crypto instance
			# set-up, module autoload helpers) stays out of the measurements.
			line=$(timeout 120 "$BIN/udpblast" -d "$dst" -p 9000 -l 64 -n "$WARMUP" -w 0 -A a -N b -c 0 2>>"$log")
			echo "warm-up: $line" >>"$log"
			case $line in
			sent=*) mark=$((mark + 1))
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mark" "$scen" "warm-up" "$impl" "$WARMUP" 1 >>"$marks" ;;
			esac
			sleep 0.2
			# The first metric that gets no traffic through makes the rest n/a.
			failed=0
			for m in "${metrics[@]}"; do
				if [ $failed = 1 ]; then na_metric "$m"; continue; fi
				"metric_$m" || failed=1
			done
			if [ $failed = 1 ]; then
				run ip -n b -s xfrm state; run ip netns exec b nstat -az
			fi
			[ "$kind" = espx ] && espx_drops
			xfrm_flush
		done
		# symbols for bench/profile.py, modules included: now, so that the
		# crypto modules the SAs autoloaded are there, and before the next rmmod
		cat /proc/kallsyms >"$out/kallsyms-$impl.txt" 2>/dev/null
		splats=$(dmesg | grep -Ec "$SPLAT")
		splat_total[$impl]=$(( ${splat_total[$impl]:-0} + splats ))
		[ "$round" = "$ROUNDS" ] &&
			echo "dmesg_$impl: ${splat_total[$impl]} splat lines" >>"$meta"
		[ "$splats" -gt 0 ] && { echo "--- dmesg ($impl, round $round)"; dmesg; } >>"$log"
	done
done
say "done"
