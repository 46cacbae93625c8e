#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Churn under traffic (issue #14 section 3). Namespaces A and B with SA pairs
# of every kind: plain ESP (transport IPv4, tunnel IPv6), WESPv2 (tunnel),
# a two-counter SA and Diet-ESP (transport). UDP floods from A pinned to
# CPU 0 and to CPU 1 (one process, a child per CPU), one datagram to every case per turn, each
# case on its own port (Diet: the port its selector names), and a ping from
# each CPU, into a sink in B counting per port. While they run, CHURN_ROUNDS
# rounds of:
#   - rmmod espx: must fail with "in use" (SAs hold the module);
#   - a namespace C holding a plain, a WESPv2, a counter and a Diet SA pair
#     and policies over lo, with a ping through them, deleted with
#     "ip netns del" while the ping runs;
#   - B's SAs flushed and put back (one ip batch);
#   - MIGRATE (xfrm_nl.py, same addresses: the kernel clones each SA and
#     deletes the old one) of one case's policies, out and in, in A and B;
#   - rekey: new SPIs and keys for every SA, the new ones added before the
#     old ones go, as an IKE daemon does;
#   - every case delivered datagrams during the round.
# Then every SA carries traffic, and the bulk part: CHURN_SAS SAs (a quarter
# each plain, WESPv2, two-counter, Diet) added to B under traffic; memory per
# SA = Slab (/proc/meminfo) growth / CHURN_SAS; then CHURN_SECS seconds of
# deleting and adding CHURN_BATCH SAs at a time (rate printed), traffic still
# delivered, all of them deleted: espx's live objects and Slab back near the
# start. No splat in the kernel log.
# CHURN_ROUNDS (default 2; make fuzz-vm: 100), CHURN_SAS (default 200;
# CHURN_LONG=1: 10000), CHURN_SECS (2; long: 20), CHURN_BATCH (100; long: 500),
# CHURN_GAP seconds between two flood turns (0.1; long: 0.02; under TCG a
# faster flood takes the CPUs the churn itself needs).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

XT_IP=$IP
if [ -n "${CHURN_LONG:-}" ]; then
	ROUNDS=${CHURN_ROUNDS:-100} NSAS=${CHURN_SAS:-10000}
	SECS=${CHURN_SECS:-20} BATCH=${CHURN_BATCH:-500}
	GAP=${CHURN_GAP:-0.02} PGAP=0.05
else
	ROUNDS=${CHURN_ROUNDS:-2} NSAS=${CHURN_SAS:-200}
	SECS=${CHURN_SECS:-2} BATCH=${CHURN_BATCH:-100}
	GAP=${CHURN_GAP:-0.1} PGAP=0.2
fi
OBJ=/sys/kernel/debug/espx/sa_objects
xt_begin "the extensions need espx"
xt_need "patched ip without diet (make iproute2)" xt_ip_has 'diet spi-lsb'
ktap_plan 12
[ -e $OBJ ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
obj0=$(cat $OBJ 2>/dev/null)

DIET="diet spi-lsb 8 sn-lsb 16"
xt_case gcm128-16 transport 4 4 "plain transport ipv4"
xt_case chacha tunnel 6 6 "plain tunnel ipv6"
xt_case chacha tunnel 4 4 "wesp tunnel ipv4" "wesp crypt-offset 0"
xt_case gcm128-16 transport 4 4 "2 counters transport ipv4" "$(xt_ctr_opts 2 "" 2)"
xt_case gcm128-16 transport 4 4 "diet transport ipv4" "$DIET" \
	"up=proto,udp,dport,$XT_ECHO_PORT" "up=proto,udp,sport,$XT_ECHO_PORT"
DIETN=$XT_N
port() { [ "$1" = $DIETN ] && echo $XT_ECHO_PORT || echo $((7010 + $1)); }

t=$(xt_now)
ok=1
xt_setup || ok=
for n in $(seq 1 $XT_N); do
	[ -z "${XT_BAD[n]}" ] || { ok=; ktap_info "case $n (${XT_LABEL[n]}): ${XT_BAD[n]}"; }
done
# the generation of SAs in use: "xfrm state add" lines of each side
for s in A B; do
	grep '^xfrm state add ' "$XT_TMP/batch-all.$s" >"$XT_TMP/cur.$s"
done
ports=() to=()
for n in $(seq 1 $XT_N); do
	ports+=(--port "$(port $n)")
	to+=(--to "${XT_DST[n]},$(port $n)")
done
# the sink, the floods (one process, a sender pinned to each CPU), the pings
# and the xfrm_nl.py coprocess start together (a Python start takes seconds
# under TCG); then wait for the two "ready" lines
WAIT_READY=0 xt_bg "$NS_B" sink $XT_PKT sink "${ports[@]}"
SINK=$XT_LASTPID
WAIT_READY=0 xt_bg "$NS_A" flood $XT_PY espx_fuzz flood --cpus 0,1 --gap "$GAP" "${to[@]}"
FLOOD=$XT_LASTPID
for cpu in 0 1; do
	WAIT_READY=0 xt_bg "$NS_A" ping$cpu taskset -c $cpu ping -q -i "$PGAP" "${XT_DST[$((cpu * 2 + 1))]}"
	eval "PING$cpu=$XT_LASTPID"
done
coproc NL { $XT_PY xfrm_nl batch 2>&1; }
XT_PIDS+=("$NL_PID")
exec {ZZ}<> <(:)	# read -t on it: a sleep without a fork
ready() {	# ready LOG: its first line is "ready" (bash builtins only)
	local l=
	read -r l <"$1" 2>/dev/null
	[ "$l" = ready ]
}
for ((i = 0; i < 1200; i++)); do
	ready "$XT_TMP/sink.log" && ready "$XT_TMP/flood.log" && break
	kill -0 "$SINK" "$FLOOD" 2>/dev/null || break
	read -rt 0.1 -u "$ZZ"
done
ready "$XT_TMP/sink.log" && ready "$XT_TMP/flood.log" ||
	{ ok=; ktap_info "sink/flood: $(head -3 "$XT_TMP/sink.log" "$XT_TMP/flood.log" | tr '\n' ' ')"; }
if [ -z "$ok" ]; then
	ktap_fail "setup: $XT_N SA pairs, sink, floods from CPU 0 and 1"
	ktap_finish
fi
ktap_ok "setup: $XT_N SA pairs, sink, floods and pings from CPU 0 and 1 ($(xt_since "$t") s)"

# nl CMD...: one request to the xfrm_nl.py coprocess; its answer in NLOUT
nl() {
	NLOUT=
	echo "$*" >&"${NL[1]}"
	read -r -t 60 -u "${NL[0]}" NLOUT
	[ "$NLOUT" = ok ]
}
# counts: SEEN[port] = datagrams the sink got so far
declare -A SEEN
counts() {	# (bash builtins only: a fork costs up to a second on a loaded host)
	local l w x i
	kill -USR1 "$SINK"
	for ((i = 0; i < 50; i++)); do
		read -rt 0.1 -u "$ZZ"
		l=
		while read -r x; do [[ $x == count* ]] && l=$x; done <"$XT_TMP/sink.log"
		[ "$l" != "${LASTC:-}" ] && break
	done
	LASTC=$l
	for w in ${l#count }; do SEEN[${w%:*}]=${w#*:}; done
}
# rekey: next generation of cur.A/cur.B: SPI + 0x10010 (the Diet SA's low 8
# bits differ from the generation before), the key's first octet = round
rekey_gen() {	# rekey_gen SIDE ROUND: new.SIDE (adds), del.SIDE (deletes of cur.SIDE)
	local line w i spi
	: >"$XT_TMP/new.$1"; : >"$XT_TMP/del.$1"
	while read -r line; do
		read -ra w <<<"$line"
		for i in "${!w[@]}"; do
			case ${w[i]} in
			spi) j=$((i + 1)) spi=${w[i + 1]}; printf -v "w[$j]" 0x%x $((spi + 0x10010)) ;;
			aead) j=$((i + 2)); printf -v "w[$j]" '0x%02x%s' $(($2 % 256)) "${w[j]:4}" ;;
			esac
		done
		echo "${w[*]}" >>"$XT_TMP/new.$1"
		echo "xfrm state delete src ${w[4]} dst ${w[6]} proto esp spi $spi" >>"$XT_TMP/del.$1"
	done <"$XT_TMP/cur.$1"
}
# batch NS FILE: ip -batch, errors to the log
batch() {
	local o
	o=$($XT_IP -n "$1" -force -batch "$2" 2>&1)
	echo "${o:0:400}"
}

sleep 1
counts
declare -A PREV
for p in "${!SEEN[@]}"; do PREV[$p]=${SEEN[$p]}; done
rm_busy=0 rm_bad= nsdel=0 ns_bad= flush_bad= mig=0 mig_bad= rk_bad= rounds_dry=
t=$(xt_now)
for r in $(seq 1 "$ROUNDS"); do
	# rmmod: the SAs hold the module
	out=$(rmmod espx 2>&1)
	if [ $? = 0 ]; then
		rm_bad+=" round $r: unloaded"
		xt_use_espx
	elif [[ $out == *"in use"* ]]; then
		rm_busy=$((rm_busy + 1))
	else
		rm_bad+=" round $r: $out"
	fi
	# a namespace holding SAs, deleted while a ping runs through them
	nsc=$(ns_new "c$r")
	{
		echo "addr add 10.93.0.1/32 dev lo"
		echo "addr add 10.93.0.2/32 dev lo"
		# one key per SA: espx refuses a key that numbered its packets
		# one way (one SN) for an SA numbering them another (counters)
		for i in 1 2; do
			[ $i = 1 ] && s=10.93.0.1 d=10.93.0.2 || s=10.93.0.2 d=10.93.0.1
			k() { printf '0x%02x%02x%02x0405060708090a0b0c0d0e0f1011121314' "$r" "$1" "$i"; }
			echo "xfrm state add src $s dst $d proto esp spi 0x$((5000 + i)) reqid 1 mode transport aead rfc4106(gcm(aes)) $(k 1) 128 replay-window 32"
			echo "xfrm state add src $s dst $d proto esp spi 0x$((5100 + i)) reqid 2 mode transport aead rfc4106(gcm(aes)) $(k 2) 128 replay-window 32 wesp crypt-offset 0"
			echo "xfrm state add src $s dst $d proto esp spi 0x$((5200 + i)) reqid 3 mode transport aead rfc4106(gcm(aes)) $(k 3) 128 $(xt_ctr_opts 2)"
			echo "xfrm state add src $s dst $d proto esp spi 0x$((5300 + i)) reqid 4 mode transport aead rfc4106(gcm(aes)) $(k 4) 128 replay-window 32 $DIET"
			echo "xfrm policy add src $s/32 dst $d/32 dir out tmpl src $s dst $d proto esp reqid 1 mode transport"
		done
	} >"$XT_TMP/c.batch"
	out=$(batch "$nsc" "$XT_TMP/c.batch")
	[ -z "$out" ] || ns_bad+=" round $r: $out"
	WAIT_READY=0 xt_bg "$nsc" pingc ping -q -i 0.02 10.93.0.2
	pc=$XT_LASTPID
	sleep 0.3
	if ip netns del "$nsc"; then nsdel=$((nsdel + 1)); else ns_bad+=" round $r: netns del"; fi
	xt_stop "$pc"
	# flush B's SAs and put them back
	{ echo "xfrm state flush"; cat "$XT_TMP/cur.B"; } >"$XT_TMP/flush.B"
	out=$(batch "$NS_B" "$XT_TMP/flush.B")
	[ -z "$out" ] || flush_bad+=" round $r: $out"
	# MIGRATE one case (in turn) in place, its out and in policies, A and B
	n=$(( (r - 1) % XT_N + 1 ))
	k=inner
	[ "${XT_MODE[n]}" = transport ] && k=outer
	pl=$([ "${XT_IF[n]}" = 6 ] && echo 128 || echo 32)
	oa=$(xt_addr $n A outer "${XT_OF[n]}") ob=$(xt_addr $n B outer "${XT_OF[n]}")
	ia=$(xt_addr $n A $k "${XT_IF[n]}") ib=$(xt_addr $n B $k "${XT_IF[n]}")
	for side in A B; do
		[ $side = A ] && nsx=$NS_A || nsx=$NS_B
		nl ns "$nsx" || mig_bad+=" ns: $NLOUT"
		for dir in out in; do
			if [ "$side$dir" = Aout ] || [ "$side$dir" = Bin ]; then
				ss=$ia sd=$ib os="$oa,$ob"
			else
				ss=$ib sd=$ia os="$ob,$oa"
			fi
			if nl migrate --dir $dir --sel-src "$ss/$pl" --sel-dst "$sd/$pl" --old "$os" --new "$os" \
				--reqid "$n" --mode "${XT_MODE[n]}"; then
				mig=$((mig + 1))
			else
				mig_bad+=" round $r case $n $side $dir: $NLOUT"
			fi
		done
	done
	# rekey: new SAs in B, in A (and A's old ones go), then B's old ones
	rekey_gen A "$r"
	rekey_gen B "$r"
	out=$(batch "$NS_B" "$XT_TMP/new.B")
	out+=$(cat "$XT_TMP/new.A" "$XT_TMP/del.A" >"$XT_TMP/rk.A"; batch "$NS_A" "$XT_TMP/rk.A")
	out+=$(batch "$NS_B" "$XT_TMP/del.B")
	[ -z "$out" ] || rk_bad+=" round $r: $out"
	mv "$XT_TMP/new.A" "$XT_TMP/cur.A"
	mv "$XT_TMP/new.B" "$XT_TMP/cur.B"
	# every case delivered during the round
	sleep 0.5
	counts
	for n in $(seq 1 $XT_N); do
		p=$(port $n)
		[ "${SEEN[$p]:-0}" -gt "${PREV[$p]:-0}" ] || rounds_dry+=" r$r:case$n"
		PREV[$p]=${SEEN[$p]:-0}
	done
done
el=$(xt_since "$t")
ktap_info "$ROUNDS rounds in $el s"
if [ "$rm_busy" = "$ROUNDS" ] && [ -z "$rm_bad" ]; then
	ktap_ok "rmmod espx under traffic: 'in use' $rm_busy times"
else
	ktap_fail "rmmod espx: in use $rm_busy of $ROUNDS;$rm_bad"
fi
if [ "$nsdel" = "$ROUNDS" ] && [ -z "$ns_bad" ]; then
	ktap_ok "ip netns del of a namespace with 4 SA pairs under a ping: $nsdel times"
else
	ktap_fail "netns with SAs: $nsdel deleted;$ns_bad"
fi
if [ -z "$flush_bad" ]; then
	ktap_ok "B's SAs flushed and put back under traffic: $ROUNDS times"
else
	ktap_fail "flush:$flush_bad"
fi
if [ "$mig" = $((ROUNDS * 4)) ] && [ -z "$mig_bad" ]; then
	ktap_ok "MIGRATE under traffic: $mig policies"
else
	ktap_fail "MIGRATE: $mig of $((ROUNDS * 4));$(cut -c1-300 <<<"$mig_bad")"
fi
if [ -z "$rk_bad" ]; then
	ktap_ok "rekey (new SPIs and keys, make before break): $ROUNDS times"
else
	ktap_fail "rekey:$(cut -c1-300 <<<"$rk_bad")"
fi
if [ -z "$rounds_dry" ]; then
	ktap_ok "every case delivered datagrams in every round"
else
	ktap_fail "rounds without a delivery:$(cut -c1-300 <<<"$rounds_dry")"
fi

# every case still carries traffic: quiet floods, then a burst per case
before=()
counts
for n in $(seq 1 $XT_N); do before[n]=${SEEN[$(port $n)]:-0}; done
sleep 1
counts
dry=
for n in $(seq 1 $XT_N); do
	[ "${SEEN[$(port $n)]:-0}" -gt "${before[n]}" ] || dry+=" ${XT_LABEL[n]}"
done
if [ -z "$dry" ]; then
	ktap_ok "after the churn every case carries traffic"
else
	ktap_fail "after the churn no traffic:$dry"
fi

# ---------------------------------------------------------------- bulk --
slab() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
# bulk_lines FROM TO GEN: "xfrm state add" lines of SAs FROM..TO-1 in B (a
# quarter each plain, WESPv2, two counters, Diet; each its own destination)
bulk_lines() {
	awk -v a="$1" -v b="$2" -v g="$3" -v diet="$DIET" -v ctr="$(xt_ctr_opts 2)" 'BEGIN {
		for (i = a; i < b; i++) {
			o = ""
			if (i % 4 == 1) o = " replay-window 32 wesp crypt-offset 0"
			else if (i % 4 == 2) o = " " ctr
			else if (i % 4 == 3) o = " replay-window 32 " diet
			else o = " replay-window 32"
			printf "xfrm state add src 10.95.0.1 dst 10.94.%d.%d proto esp spi 0x%x reqid 9 mode transport aead rfc4106(gcm(aes)) 0x%02x0102030405060708090a0b0c0d0e0f10111213 128%s\n",
				int(i / 250), i % 250 + 1, 1073741824 + g * 1048576 + i, i % 256, o
		}
	}'
}
bulk_del() {
	awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN {
		for (i = a; i < b; i++)
			printf "xfrm state delete src 10.95.0.1 dst 10.94.%d.%d proto esp spi 0x%x\n",
				int(i / 250), i % 250 + 1, 1073741824 + g * 1048576 + i
	}'
}
sleep 1
s0=$(slab) o0=$(cat $OBJ 2>/dev/null)
t=$(xt_now)
bulk_lines 0 "$NSAS" 0 >"$XT_TMP/bulk"
out=$(batch "$NS_B" "$XT_TMP/bulk")
el=$(xt_since "$t")
sleep 1
s1=$(slab) o1=$(cat $OBJ 2>/dev/null)
have=$(ip -n "$NS_B" xfrm state count 2>/dev/null | awk '{ print $NF }')
[ -n "$have" ] || have=$(ip -n "$NS_B" xfrm state | grep -c '^src')
per=$(( (s1 - s0) * 1024 / NSAS ))
ktap_info "memory per SA: $per octets (Slab $s0 -> $s1 KiB for $NSAS SAs, a quarter each plain, WESPv2, 2 counters, Diet; espx objects $o0 -> $o1)"
if [ -z "$out" ] && [ "$have" -ge "$NSAS" ] && [ "$per" -gt 0 ]; then
	ktap_ok "bulk: $NSAS SAs added to B under traffic in $el s, $per octets of slab each"
else
	ktap_fail "bulk: $have SAs in B after adding $NSAS: $out"
fi
# delete and add BATCH at a time for SECS seconds, generation g replacing g-1
t=$(xt_now) ops=0 g=0 bad= lo=0
end=$((EPOCHSECONDS + SECS))
while [ "$EPOCHSECONDS" -lt "$end" ]; do
	hi=$((lo + BATCH))
	[ $hi -le "$NSAS" ] || { lo=0; hi=$BATCH; g=$((g + 1)); }
	{ bulk_del $lo $hi $g; bulk_lines $lo $hi $((g + 1)); } >"$XT_TMP/bulk.churn"
	out=$(batch "$NS_B" "$XT_TMP/bulk.churn")
	[ -z "$out" ] || { bad+=" $out"; break; }
	ops=$((ops + 2 * BATCH))
	lo=$hi
	[ $lo -lt "$NSAS" ] || { lo=0; g=$((g + 1)); }
done
el=$(xt_since "$t")
rate=$(awk -v o=$ops -v e="$el" 'BEGIN { printf "%d", o / (e > 0 ? e : 1) }')
counts
for n in $(seq 1 $XT_N); do before[n]=${SEEN[$(port $n)]:-0}; done
sleep 1
counts
dry=
for n in $(seq 1 $XT_N); do
	[ "${SEEN[$(port $n)]:-0}" -gt "${before[n]}" ] || dry+=" ${XT_LABEL[n]}"
done
if [ -z "$bad" ] && [ -z "$dry" ] && [ "$ops" -gt 0 ]; then
	ktap_ok "bulk churn: $ops adds/deletes in $el s ($rate/s) among $NSAS SAs, traffic still delivered"
else
	ktap_fail "bulk churn: $ops ops;$(cut -c1-200 <<<"$bad") no traffic:$dry"
fi
# everything goes (nothing of ours may hold a namespace): objects and Slab back
for p in "$FLOOD" "$PING0" "$PING1" "$SINK" "$NL_PID"; do xt_stop "$p"; done
ip netns del "$NS_A"; ip netns del "$NS_B"
for _ in $(seq 40); do
	[ "$(cat $OBJ 2>/dev/null)" = "$obj0" ] && break
	sleep 0.5
done
obj1=$(cat $OBJ 2>/dev/null)
s2=$(slab)
if [ -n "$obj0" ] && [ "$obj1" = "$obj0" ] && [ $((s2 - s0)) -lt $(( (s1 - s0) / 4 + 2048 )) ]; then
	ktap_ok "all gone: espx objects $obj1 (start $obj0), Slab $s2 KiB (before the bulk $s0, with it $s1)"
else
	ktap_fail "left behind: espx objects ${obj1:-?} (start ${obj0:-?}), Slab $s0 -> $s1 -> $s2 KiB"
fi
if xt_dmesg_check >"$XT_TMP/dmesg" 2>&1; then
	ktap_ok "kernel log clean (no WARN/BUG/KASAN/refcount)"
else
	ktap_fail "kernel log: $(head -3 "$XT_TMP/dmesg" | tr '\n' ' ')"
fi
ktap_info "churn: $(xt_since "$T0") s"
ktap_finish
