#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Inbound SAs the way IKE daemons install them (issue #13, section 5):
# XFRM_MSG_ALLOCSPI makes a larval state with an SPI the kernel picks, the
# daemon tells the peer, and once the keys are known XFRM_MSG_UPDSA turns the
# larval state into the SA. espx's config comes with ESPX_CMD_SA_SET for the
# SA's id, sent by the same process just before the UPDSA (uapi espx.h,
# "Lifecycle"). xfrm_nl.py (this directory) plays the daemon in A and B.
#   1. ALLOCSPI in A and B for every case: larval states, kernel-chosen SPIs;
#   2. each side: NEWSA of its outbound SA (SPI allocated by the peer, with
#      SA_SET first) and SA_SET + UPDSA of its inbound SA, for plain ESP (no
#      SA_SET: a plain SA), WESPv2 (CryptOffset 2), WESPv2 with 2 sequence
#      counters, Diet-ESP with a truncated SPI and SN (spi-lsb 8, sn-lsb 8:
#      IP protocol diet_proto) and Diet-ESP with full fields and an implicit
#      IV (spi-lsb 32, sn-lsb 32, iiv); tunnel mode, AES-GCM, IPv4 and IPv6;
#   3. espx has each inbound SA bound with its config (SA_GET), the larval
#      state is gone, pings from A reach B and come back through the inbound
#      SAs (xfrm and espx packet counts) with each case's IP protocol on the
#      wire;
#   3b. the counter SAs were made with their window as XFRMA_REPLAY_ESN_VAL
#      (64, as IKE daemons send windows over 32): espx keeps the core's
#      window of a counter SA at 0 after NEWSA/UPDSA and after a NEWAE that
#      raises it (GETAE), so pings sent on CPU 0 then on CPU 1 (two counters
#      with the same SNs) all come back;
#   4. an UPDSA whose config does not fit the SA (counters with a replay
#      window, Diet-ESP with a truncated SN and no window, WESPv2 on a
#      non-AEAD SA; IPv4 and IPv6) fails with espx's extack message and
#      leaves the larval state, and no espx config or object (sa_objects back
#      to where it was); the larval state then takes a valid UPDSA;
#   5. a flush leaves no espx object, no WARN/BUG in the kernel log.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

XNL="$XT_PY xfrm_nl"
OBJ=/sys/kernel/debug/espx/sa_objects
GCM='rfc4106(gcm(aes))'
xt_begin "espx configs on ALLOCSPI/UPDSA SAs need espx"
xt_need "no espx_genl (make -C selftests)" xt_genl_find
DPROTO=$(cat /sys/module/espx/parameters/diet_proto)
objects() { cat "$OBJ" 2>/dev/null || echo unknown; }
BASE=$(objects)

# ---------------------------------------------------------------- cases --
# kind: espx options of xfrm_nl.py, the SA's own options, what espx_genl
# shows (extended regex; "" = a plain SA), IP protocol on the wire
declare -A KEXT KOPT KRE KPROTO KOPT_OUT KOPT_IN
KEXT[plain]="" KOPT[plain]="--replay-window 32" KRE[plain]="" KPROTO[plain]=50
KEXT[wesp]="--wesp 2" KOPT[wesp]="--replay-window 32" KRE[wesp]=" wesp 2 " KPROTO[wesp]=141
KEXT[ctr]="--wesp 0 --counters 2" KOPT[ctr]="--replay-esn 4,64 --oseq-may-wrap"
KRE[ctr]=" wesp 0 counters 2 " KPROTO[ctr]=141
KEXT[diet8]="--diet 8,8" KOPT[diet8]="--replay-window 32" KRE[diet8]=" diet spi_lsb 8 sn_lsb 8 "
KPROTO[diet8]=$DPROTO
KEXT[diet32]="--diet 32,32 --diet-iiv" KOPT[diet32]="--replay-window 32"
KRE[diet32]=" diet spi_lsb 32 sn_lsb 32 .* iiv( |$)" KPROTO[diet32]=50
# With XFRMA_SA_DIR (6.10+; IKE daemons set it where the kernel has it) the
# kernel wants replay window 0 on an output SA and refuses oseq-may-wrap on
# an input SA: the options of each side of such a case
for k in plain wesp diet8 diet32; do
	KOPT_OUT[$k]="--replay-window 0" KOPT_IN[$k]="--replay-window 32"
done
KOPT_OUT[ctr]="--replay-window 0 --oseq-may-wrap" KOPT_IN[ctr]="--replay-esn 4,64"

xt_topology || { ktap_plan 1; ktap_fail "topology"; ktap_finish; }
# SA_DIR: a kernel without it ignores the attribute and does not report it
HAVE_DIR=
probe=$(ip netns exec "$NS_A" $XNL batch 2>&1 <<EOF
allocspi --src 10.9.9.2 --dst 10.9.9.1 --reqid 9 --min 0x999 --max 0x999 --sa-dir in
dump-sa
sa delete --dst 10.9.9.1 --spi 0x999
EOF
)
grep -q '^spi 0x00000999 .* dir in$' <<<"$probe" && HAVE_DIR=1

N=0 NCTR=0
declare -A FAM KIND LABEL SADIR
for sd in "" ${HAVE_DIR:+dir}; do
	for f in 4 6; do
		for k in plain wesp ctr diet8 diet32; do
			N=$((N + 1))
			FAM[$N]=$f KIND[$N]=$k SADIR[$N]=$sd
			[ $k = ctr ] && NCTR=$((NCTR + 1))
			case $k in
			plain) LABEL[$N]="plain (no SA_SET)" ;;
			wesp) LABEL[$N]="WESPv2 crypt-offset 2" ;;
			ctr) LABEL[$N]="WESPv2 seq-counters 2" ;;
			diet8) LABEL[$N]="Diet-ESP spi-lsb 8 sn-lsb 8" ;;
			diet32) LABEL[$N]="Diet-ESP spi-lsb 32 sn-lsb 32 iiv" ;;
			esac
			LABEL[$N]+=" IPv$f${sd:+ SA_DIR}"
		done
	done
done
BADN=6

ktap_plan $((2 + 2 * N + NCTR + BADN + 1 + 2))
ktap_info "kernel $(uname -r), diet_proto $DPROTO, $N cases${HAVE_DIR:+ (half with XFRMA_SA_DIR)}"

# O[n.1|2]: outer address of A (1) or B (2) in case n; I[n.1|2]: inner (lo); PLEN[n]: the
# inner prefix length. Arrays, not functions: a $(...) forks, ~0.3 s each under emulation.
declare -A O I PLEN
for n in $(seq $N); do
	for me in 1 2; do
		if [ "${FAM[$n]}" = 6 ]; then
			O[$n.$me]=fd00:96:$n::$me I[$n.$me]=fd00:95:$n::$me PLEN[$n]=128
		else
			O[$n.$me]=10.96.$n.$me I[$n.$me]=10.95.$n.$me PLEN[$n]=32
		fi
	done
done
# key n DIR: 20 octets (AES-128 + salt), one per SA
KEY_TAIL=$(printf '%02x' $(seq 3 20))
key() { printf '0x%02x%02x%s' "$1" "$2" "$KEY_TAIL"; }

# a larval state lives net.core.xfrm_acq_expires seconds (30): longer than
# this test takes under emulation from ALLOCSPI to UPDSA
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.core.xfrm_acq_expires=900
done
for n in $(seq $N); do
	for me in 1 2; do
		ns=$NS_A peer=2 mac=$XT_MAC_B
		[ $me = 2 ] && ns=$NS_B peer=1 mac=$XT_MAC_A
		if [ "${FAM[$n]}" = 6 ]; then
			ip -n "$ns" addr add "${O[$n.$me]}/64" dev veth0 nodad
			ip -n "$ns" addr add "${I[$n.$me]}/128" dev lo nodad
		else
			ip -n "$ns" addr add "${O[$n.$me]}/24" dev veth0
			ip -n "$ns" addr add "${I[$n.$me]}/32" dev lo
		fi
		ip -n "$ns" neigh replace "${O[$n.$peer]}" lladdr $mac dev veth0 nud permanent
		ip -n "$ns" route add "${I[$n.$peer]}/${PLEN[$n]}" dev veth0 src "${I[$n.$me]}"
	done
done

# ------------------------------------------------------------- ALLOCSPI --
declare -A SPI	# SPI[n.1]: A's inbound (B->A), SPI[n.2]: B's inbound (A->B)
bad=
for me in 1 2; do
	ns=$NS_A peer=2
	[ $me = 2 ] && ns=$NS_B peer=1
	for n in $(seq $N); do
		echo "allocspi --src ${O[$n.$peer]} --dst ${O[$n.$me]} --reqid $n --min 0x10000" \
			"--max 0x7fffffff ${SADIR[$n]:+--sa-dir in}"
	done >"$XT_TMP/alloc.$me"
	ip netns exec "$ns" $XNL batch <"$XT_TMP/alloc.$me" >"$XT_TMP/alloc.$me.out" 2>&1
	n=0
	while read -r r w s; do
		n=$((n + 1))
		[ "$r $w" = "ok spi" ] && SPI[$n.$me]=$s || bad+=" $me/$n:[$r $w $s]"
	done <"$XT_TMP/alloc.$me.out"
	ip netns exec "$ns" $XNL dump-sa >"$XT_TMP/larval.$me" 2>&1
	for n in $(seq $N); do
		grep -q "^spi ${SPI[$n.$me]:-none} dst ${O[$n.$me]} src ${O[$n.$peer]} reqid $n .* alg - " \
			"$XT_TMP/larval.$me" || bad+=" no-larval:$me/$n"
	done
done
if [ -z "$bad" ]; then
	ktap_ok "ALLOCSPI: $((2 * N)) larval states with kernel-chosen SPIs (e.g. ${SPI[1.1]}, ${SPI[1.2]})"
else
	ktap_fail "ALLOCSPI:$(cut -c1-300 <<<"$bad")"
	ktap_finish
fi

# ------------------------------------------------- NEWSA out, UPDSA in --
sa_line() {	# sa_line add|update n DIR SPI: DIR 1 = A->B, 2 = B->A; add = out
	local s=1 t=2 k=${KIND[$2]} opt
	[ "$3" = 2 ] && s=2 t=1
	opt=${KOPT[$k]}
	if [ -n "${SADIR[$2]}" ] && [ "$1" = add ]; then
		opt="${KOPT_OUT[$k]} --sa-dir out"
	elif [ -n "${SADIR[$2]}" ]; then
		opt="${KOPT_IN[$k]} --sa-dir in"
	fi
	echo "sa $1 --src ${O[$2.$s]} --dst ${O[$2.$t]} --spi $4 --reqid $2 --aead '$GCM'" \
		"$(key "$2" "$3") 128 $opt --sel-src ${I[$2.$s]}/${PLEN[$2]}" \
		"--sel-dst ${I[$2.$t]}/${PLEN[$2]} ${KEXT[$k]}"
}
bad=
for me in 1 2; do
	ns=$NS_A peer=2
	[ $me = 2 ] && ns=$NS_B peer=1
	for n in $(seq $N); do
		echo "policy add --dir out --sel-src ${I[$n.$me]}/${PLEN[$n]}" \
			"--sel-dst ${I[$n.$peer]}/${PLEN[$n]} --tmpl-src ${O[$n.$me]}" \
			"--tmpl-dst ${O[$n.$peer]} --reqid $n"
		echo "policy add --dir in --sel-src ${I[$n.$peer]}/${PLEN[$n]}" \
			"--sel-dst ${I[$n.$me]}/${PLEN[$n]} --tmpl-src ${O[$n.$peer]}" \
			"--tmpl-dst ${O[$n.$me]} --reqid $n"
		sa_line add "$n" "$me" "${SPI[$n.$peer]}"	# out: the peer's SPI
		sa_line update "$n" "$peer" "${SPI[$n.$me]}"	# in: the larval state
	done >"$XT_TMP/sa.$me"
	ip netns exec "$ns" $XNL batch <"$XT_TMP/sa.$me" >"$XT_TMP/sa.$me.out" 2>&1 ||
		bad+=" $me: $(grep -v '^ok' "$XT_TMP/sa.$me.out" | head -4 | tr '\n' ' ')"
done
if [ -z "$bad" ]; then
	ktap_ok "policies, NEWSA of the outbound SAs, SA_SET + UPDSA of the inbound larval states, in A and B"
else
	ktap_fail "SAs:$(cut -c1-300 <<<"$bad")"
fi

# ------------------------------------------------------- bound configs --
for me in 1 2; do
	ns=$NS_A
	[ $me = 2 ] && ns=$NS_B
	ip netns exec "$ns" $XNL dump-sa >"$XT_TMP/x0.$me" 2>&1
	"$XT_GENL" -n "$ns" dump >"$XT_TMP/g0.$me" 2>&1
done
# bound_ok NS n ME: ME's inbound SA of case n is bound with its kind's config
# and is the only state with its SPI (the larval one is gone)
bound_ok() {
	local ns=$1 n=$2 me=$3 s=${SPI[$2.$3]} g re=${KRE[${KIND[$2]}]} st
	g=$("$XT_GENL" -n "$ns" get --family "${FAM[$n]}" --daddr "${O[$n.$me]}" \
		--spi "$s" 2>&1)
	st=$(grep -c "^spi $s " "$XT_TMP/x0.$me")
	if ! grep -q 'status bound' <<<"$g" || [ "$st" != 1 ] ||
		! grep -q "^spi $s .* alg $GCM " "$XT_TMP/x0.$me" ||
		{ [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$g"; } ||
		{ [ -z "$re" ] && grep -Eq ' (wesp|diet|counters) ' <<<"$g"; }; then
		echo "ns $me spi $s: $st states; espx: $(cut -c1-150 <<<"$g")"
		return 1
	fi
}

# ------------------------------------------------------------- traffic --
xt_tcpdump "$NS_B" cap "$XT_TMP/wire.pcap" 96
CAP=$XT_LASTPID
declare -A PINGS
for n in $(seq $N); do
	PINGS[$n]=$(ip netns exec "$NS_A" ping -n -q -c 3 -i 0.2 -W 3 "${I[$n.2]}" 2>&1 |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
done
sleep 0.5
xt_stop "$CAP"
for me in 1 2; do
	ns=$NS_A
	[ $me = 2 ] && ns=$NS_B
	ip netns exec "$ns" $XNL dump-sa >"$XT_TMP/x1.$me" 2>&1
	"$XT_GENL" -n "$ns" dump >"$XT_TMP/g1.$me" 2>&1
done
# pk FILE SPI: xfrm packets of SPI; ein FILE SPI: espx in_packets of SPI
pk() { awk -v s="$2" '$1 == "spi" && $2 == s { print $16; f = 1 } END { if (!f) print "none" }' "$1"; }
ein() {
	awk -v s="$2" '{ for (k = 1; k < NF; k++) if ($k == "spi" && $(k + 1) == s) f = 1 }
		f { for (k = 1; k < NF; k++) if ($k == "in_packets") { print $(k + 1); exit } }
		END { if (!f) print "none" }' "$1"
}
frames() {	# frames n PROTO: frames between case n's outer addresses with PROTO
	local p=ip
	[ "${FAM[$1]}" = 6 ] && p=ip6
	tcpdump -nr "$XT_TMP/wire.pcap" "$p proto $2 and host ${O[$1.1]} and host ${O[$1.2]}" \
		2>/dev/null | wc -l
}

for n in $(seq $N); do
	if out=$(bound_ok "$NS_A" "$n" 1 && bound_ok "$NS_B" "$n" 2); then
		ktap_ok "${LABEL[$n]}: ALLOCSPI + UPDSA: inbound SAs of A and B bound ${KRE[${KIND[$n]}]:+with its config}${KRE[${KIND[$n]}]:-as plain ESP}, larval states replaced"
	else
		ktap_fail "${LABEL[$n]}: $out"
	fi
	pa=$(pk "$XT_TMP/x1.1" "${SPI[$n.1]}") pb=$(pk "$XT_TMP/x1.2" "${SPI[$n.2]}")
	ea=$(ein "$XT_TMP/g1.1" "${SPI[$n.1]}") eb=$(ein "$XT_TMP/g1.2" "${SPI[$n.2]}")
	pr=${KPROTO[${KIND[$n]}]}
	fr=$(frames "$n" "$pr")
	if [ "${PINGS[$n]}" = 3 ] && [ "$pa" = 3 ] && [ "$pb" = 3 ] && [ "$ea" = 3 ] &&
		[ "$eb" = 3 ] && [ "$fr" = 6 ]; then
		ktap_ok "${LABEL[$n]}: 3 pings A->B and back through the UPDSA'd inbound SAs (xfrm, espx), IP protocol $pr on the wire"
	else
		ktap_fail "${LABEL[$n]}: pings ${PINGS[$n]:-0}/3, inbound packets xfrm A $pa B $pb espx A $ea B $eb, protocol $pr frames $fr/6"
	fi
done

# ----------------------------------------- counter SAs: the core's window --
XAE="$XT_PY xfrm_ae"
# wv LINE: WV = the window of a GETAE answer line (xfrm_ae.py get), "" if none
wv() { WV=; [[ $1 =~ \ window\ ([0-9]*) ]] && WV=${BASH_REMATCH[1]}; }
# pings pinned to CPU 0, then CPU 1: answered (6 expected)
cpu_pings() {
	local c got=0 r
	for c in 0 1; do
		r=$(taskset -c $c ip netns exec "$NS_A" ping -n -q -c 3 -i 0.2 -W 3 "${I[$1.2]}" 2>&1 |
			sed -n 's/.* \([0-9]*\) received.*/\1/p')
		got=$((got + ${r:-0}))
	done
	echo $got
}
# For every counter case, in one xfrm_ae.py (one Python start, not 16): the core's window
# of A's and B's inbound SA (GETAE), NEWAE window 128 on B's, B's window again; then the
# pings of each case
for n in $(seq $N); do
	[ "${KIND[$n]}" = ctr ] || continue
	echo "ns $NS_A"
	echo "get --dst ${O[$n.1]} --spi ${SPI[$n.1]}"
	echo "ns $NS_B"
	echo "get --dst ${O[$n.2]} --spi ${SPI[$n.2]}"
	echo "set --dst ${O[$n.2]} --spi ${SPI[$n.2]} --window 128"
	echo "get --dst ${O[$n.2]} --spi ${SPI[$n.2]}"
done >"$XT_TMP/ae.in"
mapfile -t AE < <($XAE batch <"$XT_TMP/ae.in" 2>&1)
j=0
for n in $(seq $N); do
	[ "${KIND[$n]}" = ctr ] || continue
	wv "${AE[j + 1]:-}"; w0a=$WV
	wv "${AE[j + 3]:-}"; w0b=$WV
	wv "${AE[j + 5]:-}"; w1b=$WV
	ae=${AE[j + 4]:-}
	j=$((j + 6))
	got=$(cpu_pings "$n")
	if [ "$w0a $w0b $ae $w1b $got" = "0 0 ok 0 6" ]; then
		ktap_ok "${LABEL[$n]}: ESN_VAL window 64 at UPDSA and NEWAE window 128 leave the core's window 0; pings on CPU 0 then CPU 1 all answered"
	else
		ktap_fail "${LABEL[$n]}: core windows after UPDSA A ${w0a:-?} B ${w0b:-?}, NEWAE 128 [$ae] then B ${w1b:-?}; pings on CPU 0 then 1: $got/6 answered"
	fi
done

# ----------------------------------------------- a config that does not fit --
# bad k F: name, the SA's options, espx options, extack regex, the valid retry
BAD_NAME=(counters-with-window diet-sn8-no-window wesp-on-cbc)
BAD_SA=("--aead '$GCM' $(key 99 1) 128 --replay-window 32"
	"--aead '$GCM' $(key 99 2) 128 --replay-window 0"
	"--enc 'cbc(aes)' 0x$(printf '%02x' $(seq 16)) --auth 'hmac(sha256)' 0x$(printf '%02x' $(seq 32)) 128")
BAD_EXT=("--wesp 0 --counters 2" "--diet 8,8" "--wesp 2")
BAD_RE=("replay-window 0" "truncated SN needs a replay window" "WESPv2 needs an AEAD")
GOOD_SA=("--aead '$GCM' $(key 99 1) 128 --replay-window 0 --oseq-may-wrap"
	 "--aead '$GCM' $(key 99 2) 128 --replay-window 32"
	 "--aead '$GCM' $(key 99 3) 128 --replay-window 32")
GOOD_RE=(" wesp 0 counters 2 " " diet spi_lsb 8 sn_lsb 8 " " wesp 2 ")
wait_objects() {	# wait_objects N: sa_objects back to N (deferred SA destruction)
	local w
	for w in $(seq 100); do
		[ "$(objects)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# A's xfrm_nl.py for this section: one process answering a request per line (a Python
# start takes seconds under emulation; 24 of them here). nl CMD: its answer in NLOUT;
# nl_dump: the dump-sa lines, ended by the "ok" of an "ns" request (never a dump line).
coproc XN { ip netns exec "$NS_A" $XNL batch 2>&1; }
XT_PIDS+=("$XN_PID")
nl() {
	NLOUT=
	echo "$*" >&"${XN[1]}"
	read -r -t 120 -u "${XN[0]}" NLOUT
	NLOUT=${NLOUT% \[line [0-9]*\]}	# what a batch adds to an error
}
nl_dump() {
	local l
	NLOUT=
	echo "dump-sa" >&"${XN[1]}"
	echo "ns $NS_A" >&"${XN[1]}"
	while read -r -t 120 -u "${XN[0]}" l && [ "$l" != ok ]; do
		NLOUT+=$l$'\n'
	done
}
declare -A BSPI
retry_bad=
for f in 4 6; do
	for k in 0 1 2; do
		j=$((k + 1))	# (no 0 group: inet_ntop would compress it)
		if [ $f = 4 ]; then me=10.94.$j.1 peer=10.94.$j.2; else me=fd00:94:$j::1 peer=fd00:94:$j::2; fi
		r=$((200 + k))
		cnt0=$("$XT_GENL" -n "$NS_A" count 2>&1)
		ob0=$(objects)
		nl allocspi --src $peer --dst $me --reqid $r --min 0x10000 --max 0x7fffffff
		s=
		[[ $NLOUT == "ok spi "* ]] && s=${NLOUT#ok spi }
		BSPI[$f.$k]=$s
		nl "sa update --src $peer --dst $me --spi ${s:-0} --reqid $r ${BAD_SA[k]} ${BAD_EXT[k]}"
		out=$NLOUT
		wait_objects "$ob0"
		ob1=$(objects)
		cnt1=$("$XT_GENL" -n "$NS_A" count 2>&1)
		g=$("$XT_GENL" -n "$NS_A" get --family $f --daddr $me --spi "${s:-0}" 2>&1)
		grc=$?
		nl_dump
		lv=$(grep -c "^spi ${s:-none} dst $me src $peer reqid $r .* alg - " <<<"$NLOUT")
		if [ -n "$s" ] && [[ $out == error\ * ]] && grep -Eq -- "${BAD_RE[k]}" <<<"$out" &&
			[ "$lv" = 1 ] && [ "$grc" = 2 ] && [ "$cnt1" = "$cnt0" ] && [ "$ob1" = "$ob0" ]; then
			ktap_ok "bad config IPv$f ${BAD_NAME[k]}: UPDSA refused [${out#error }], larval state kept, no espx config/object left"
		else
			ktap_fail "bad config IPv$f ${BAD_NAME[k]}: spi ${s:-none} UPDSA [$out] larval $lv, espx get rc $grc [$(cut -c1-80 <<<"$g")], configs $cnt0 -> $cnt1, sa_objects $ob0 -> $ob1"
		fi
		# the larval state takes a valid UPDSA
		nl "sa update --src $peer --dst $me --spi ${s:-0} --reqid $r ${GOOD_SA[k]} ${BAD_EXT[k]}"
		out=$NLOUT
		g=$("$XT_GENL" -n "$NS_A" get --family $f --daddr $me --spi "${s:-0}" 2>&1)
		[ "$out" = ok ] && grep -q 'status bound' <<<"$g" && grep -q -- "${GOOD_RE[k]}" <<<"$g" ||
			retry_bad+=" IPv$f ${BAD_NAME[k]}: [$out] $(cut -c1-100 <<<"$g");"
	done
done
if [ -z "$retry_bad" ]; then
	ktap_ok "bad configs: each larval state then took a valid SA_SET + UPDSA (bound with its config)"
else
	ktap_fail "bad configs, valid retry:$(cut -c1-300 <<<"$retry_bad")"
fi

# ---------------------------------------------------------------- leaks --
xt_flush
if [ "$BASE" = unknown ]; then
	ktap_skip "leaks: no debugfs espx/sa_objects"
elif wait_objects "$BASE"; then
	ktap_ok "leaks: after a flush espx sa_objects is back to the baseline ($BASE)"
else
	ktap_fail "leaks: sa_objects $(objects), baseline $BASE"
fi
xt_end
