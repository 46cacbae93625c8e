#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extension rules (issue #18 section 1, uapi espx.h "Rules"): SAs that nobody
# sent an ESPX_CMD_SA_SET for (an IKE daemon's) get the config of the first
# rule they match.
#   1. RULE_ADD/GET/DEL/dump through espx_genl and the patched ip (text and
#      JSON); every refusal with its errno and extack message: bad prefix
#      (IPv4, IPv6), an address without its family or of the wrong length,
#      unknown attributes in the rule and match nests, a taken or bad name,
#      mark outside its mask, a reversed SPI range, a bad mode, a port without
#      a protocol, extension combinations SA_SET refuses too, too many rules
#      (1024), no CAP_NET_ADMIN and an unprivileged user namespace;
#   2. each match field (family, destination and source prefix, mode, reqid,
#      mark/mask, if_id, SPI range, selector prefix, protocol and port): an
#      SA that matches gets the rule's config, one that differs in that field
#      only stays plain; the crypt offset tells which rule applied;
#   3. priority order (lower first), first match wins, equal priorities in the
#      order added, a rule without extensions keeps its SAs plain; an explicit
#      SA_SET beats a rule;
#   4. a rule that cannot apply (a non-AEAD SA, UDP encapsulation) fails the
#      SA's creation with the rule's name in the message and leaves no state;
#      with fallback plain the SA is created plain and counted
#      (ns rule_fallback, the rule's fallbacks), without what a counter rule
#      sets on its SAs (oseq-may-wrap, replay window 0);
#   5. the way IKE daemons install SAs (xfrm_nl.py): ALLOCSPI + UPDSA inbound,
#      NEWSA outbound, no espx request at all, rules on both sides: WESPv2,
#      WESPv2 with two sequence counters and Diet-ESP (truncated SPI and SN)
#      SAs come up bound with their rule's config and carry pings (the
#      first counter SAs as strongSwan makes them, window 32 and no
#      oseq-may-wrap: the rule sets window 0 and the flag); a rekey
#      (new SPIs, new keys) after the rule changed: the new SAs take the new
#      rule, the old ones keep their config, pings flow over the new SAs;
#   6. a network namespace deleted with rules in it frees them, rmmod with
#      rules present reports no leak, no WARN in the kernel log.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_xfrm.sh"

XNL="$PYTHON -S $XT_DIR/xfrm_nl.py"
ROBJ=/sys/kernel/debug/espx/rule_objects
GCM='rfc4106(gcm(aes))'
KEY=0x0102030405060708090a0b0c0d0e0f1011121314
xt_begin "rules need espx"
xt_need "no espx_genl (make -C selftests)" xt_genl_find
G=$XT_GENL
HAVE_IP_RULE=
"$IP" xfrm espx rule help 2>&1 | grep -q 'rule add' && HAVE_IP_RULE=1

ktap_plan 68
ktap_info "kernel $(uname -r), ip $([ -n "$HAVE_IP_RULE" ] && echo with || echo without) espx rules"

C=$(ns_new c)
gc() { "$G" -n "$C" "$@"; }
# rc_msg DESC ERRNO REGEX CMD...: CMD exits with ERRNO and its stderr
# (the extack) matches REGEX
rc_msg() {
	local desc=$1 want=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -Eq -- "$re" <<<"$out"; then
		ktap_ok "$desc: errno $rc, $(tr '\n' ' ' <<<"$out" | cut -c1-100)"
	else
		ktap_fail "$desc: errno $rc (want $want), [$out]"
	fi
}
rules_count() { gc rule-dump | grep -c '^rule '; }

# ------------------------------------------------------------- 1. API --
check "espx_genl: RULE_ADD, dump shows it with the match as given (host bits off)" bash -c "
	$G -n $C rule-add --name web --prio 10 --m-family 4 --m-daddr 10.1.2.3/16 \
		--m-mode 1 --m-reqid 7 --wesp 3 &&
	$G -n $C rule-dump | grep -qx 'rule web prio 10 fallback 0 hits 0 fallbacks 0 family 4 daddr 10.1.0.0/16 mode 1 reqid 7 wesp 3'"
check "espx_genl: RULE_GET by name" bash -c "
	$G -n $C rule-get --name web | grep -q '^rule web prio 10 .* wesp 3$'"
check "espx_genl: RULE_DEL, then GET is ENOENT and the dump empty" bash -c "
	$G -n $C rule-del --name web; $G -n $C rule-get --name web; [ \$? = 2 ] &&
	[ -z \"\$($G -n $C rule-dump)\" ]"

rc_msg "IPv4 prefix /33" 22 'prefix length above 32' \
	gc rule-add --name x --m-family 4 --m-daddr 10.0.0.0/33 --wesp 0
rc_msg "IPv6 prefix /129" 22 'prefix length above 128' \
	gc rule-add --name x --m-family 6 --m-saddr 2001:db8::/129 --wesp 0
rc_msg "selector prefix /40" 22 'prefix length above 32' \
	gc rule-add --name x --sel-family 4 --sel-src 10.0.0.0/40 --wesp 0
rc_msg "address without its family" 22 'needs its family' \
	gc rule-add --name x --m-daddr 10.0.0.1 --wesp 0
rc_msg "IPv4 address for family 6" 22 'does not match the family' \
	gc rule-add --name x --m-family 6 --m-daddr 10.0.0.1 --wesp 0
rc_msg "unknown attribute in the rule nest" 22 'nknown|unexpected' \
	gc rule-add --name x --rule-unknown --wesp 0
rc_msg "unknown attribute in the match nest" 22 'nknown|unexpected' \
	gc rule-add --name x --match-unknown --wesp 0
rc_msg "no name" 22 'lacks its name' gc rule-add --wesp 0
rc_msg "bad name" 22 'rule name' gc rule-add --name 'a/b' --wesp 0
rc_msg "mark outside its mask" 22 'outside its mask' \
	gc rule-add --name x --m-mark 0x100 --m-mark-mask 0xff --wesp 0
rc_msg "SPI range reversed" 22 'SPI range' \
	gc rule-add --name x --m-spi-min 0x200 --m-spi-max 0x100 --wesp 0
rc_msg "mode 2 (route optimization)" 22 'mode must be' \
	gc rule-add --name x --m-mode 2 --wesp 0
rc_msg "selector port without protocol" 22 'needs the protocol' \
	gc rule-add --name x --sel-dport 53 --wesp 0
rc_msg "counters without WESPv2 (the SA_SET checks)" 22 'need WESPv2' \
	gc rule-add --name x --counters 2
rc_msg "Diet-ESP with WESPv2" 22 'exclusive' \
	gc rule-add --name x --wesp 0 --diet 8,8
gc rule-add --name dup --wesp 0
rc_msg "a taken name" 17 'exists' gc rule-add --name dup --wesp 1
rc_msg "DEL of no rule" 2 'no rule' gc rule-del --name nosuch
check "the refused requests added nothing" bash -c "[ \$($G -n $C rule-dump | wc -l) = 1 ]"
gc rule-del --name dup
out=$(gc rule-add --name many --count 1100 --wesp 0 2>&1)
rc=$?
if [ $rc = 28 ] && grep -q 'added 1024' <<<"$out" && grep -q 'too many rules' <<<"$out"; then
	ktap_ok "1024 rules per namespace, the next is ENOSPC: $(tr '\n' ' ' <<<"$out" | cut -c1-100)"
else
	ktap_fail "rule limit: errno $rc [$out]"
fi
check "rule-flush deletes the 1024" bash -c "$G -n $C rule-flush | grep -qx 'flushed 1024' &&
	[ -z \"\$($G -n $C rule-dump)\" ]"
check "no CAP_NET_ADMIN: RULE_ADD and the dump are EPERM" bash -c "
	ip netns exec $C setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		$G rule-add --name x --wesp 0; [ \$? = 1 ] &&
	ip netns exec $C setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		$G rule-dump; [ \$? = 1 ]"
check "unprivileged user namespace over the netns: RULE_ADD is EPERM" bash -c "
	ip netns exec $C unshare -U $G rule-add --name x --wesp 0; [ \$? = 1 ] &&
	[ -z \"\$($G -n $C rule-dump)\" ]"
check "user namespace owning its own netns: its rules, invisible outside" bash -c "
	unshare -Urn sh -c '$G rule-add --name own --wesp 0 && $G rule-dump | grep -q \"^rule own \"' &&
	[ -z \"\$($G -n $C rule-dump)\" ]"

# the patched ip
if [ -n "$HAVE_IP_RULE" ]; then
	check "ip: rule add with state's selector keywords, list shows it" bash -c "
		$IP -n $C xfrm espx rule add web prio 5 dst 10.1.2.0/24 src 10.2.0.0/16 \
			mode tunnel reqid 9 mark 0x10 mask 0xf0 if_id 3 spi 0x100-0x1ff \
			sel src 10.8.0.0/16 dst 10.9.0.0/16 proto 17 dport 4789 \
			wesp crypt-offset 2 fallback plain &&
		$IP -n $C xfrm espx rule list | tr -s ' \t\n' ' ' | grep -Eq \
			'rule web prio 5 fallback plain match dst 10.1.2.0/24 src 10.2.0.0/16 mode tunnel reqid 9 mark 0x10/0xf0 if_id 3 spi 0x100-0x1ff sel src 10.8.0.0/16 dst 10.9.0.0/16 proto (udp|17) dport 4789 espx wesp crypt-offset 2 hits 0 fallbacks 0'"
	json_ok() {
		$IP -j -n "$C" xfrm espx rule list | $PYTHON -c '
import json, sys
r = json.load(sys.stdin)
assert len(r) == 1, r
r = r[0]
m = r["match"]
assert r["name"] == "web" and r["prio"] == 5 and r["fallback"] is True, r
assert m["dst"] == "10.1.2.0/24" and m["src"] == "10.2.0.0/16", m
assert m["mode"] == "tunnel" and m["reqid"] == 9 and m["if_id"] == 3, m
assert m["mark"] == 16 and m["mask"] == 240, m
assert m["spi_min"] == 256 and m["spi_max"] == 511, m
s = m["sel"]
assert s["src"] == "10.8.0.0/16" and s["dst"] == "10.9.0.0/16", s
assert s["proto"] in ("udp", "17") and s["dport"] == 4789, s
assert r["espx"]["wesp"]["crypt_offset"] == 2, r
assert r["hits"] == 0 and r["fallbacks"] == 0, r
'
	}
	check "ip -j: the rule as JSON, every field" json_ok
	check_fail "ip: a bad prefix is refused" \
		"$IP" -n "$C" xfrm espx rule add bad dst 10.0.0.0/33 wesp
	check "ip: rule del, list empty" bash -c "$IP -n $C xfrm espx rule del web &&
		[ -z \"\$($IP -n $C xfrm espx rule list)\" ] &&
		[ \"\$($IP -j -n $C xfrm espx rule list)\" = '[]' ]"
else
	for i in 1 2 3 4; do ktap_skip "ip xfrm espx rule: not in $IP"; done
fi

# ------------------------------------------------------ 2. match fields --
SPI=0x100
# sa_add DST [src=SRC] ARGS...: an AEAD SA in C to DST (IPv4 or IPv6), next SPI
sa_add() {
	local dst=$1 src=10.66.0.1
	shift
	[[ $dst == *:* ]] && src=fd00:66::1
	[[ ${1:-} == src=* ]] && { src=${1#src=}; shift; }
	SPI=$((SPI + 1))
	ip -n "$C" xfrm state add src "$src" dst "$dst" proto esp spi "$SPI" \
		aead "$GCM" $KEY 128 "$@"
}
# cfg_of: "wesp N" of the config of the SA with SPI $SPI, "plain" or "none"
cfg_of() {
	local g
	g=$(gc dump | grep " spi $(printf 0x%08x "$SPI") ") || { echo none; return; }
	if [[ $g =~ \ wesp\ ([0-9]+) ]]; then echo "wesp ${BASH_REMATCH[1]}"; else echo plain; fi
}
# mcase DESC "RULE OPTS" "DST MATCH-SA-ARGS" "DST OTHER-SA-ARGS"
mcase() {
	local desc=$1 ropts=$2 m=($3) o=($4) got1 got2 out
	# shellcheck disable=SC2086
	out=$(gc rule-add --name m --wesp 5 $ropts 2>&1) || { ktap_fail "$desc: rule-add: $out"; return; }
	sa_add "${m[@]}" && got1=$(cfg_of "${m[0]}") || got1="SA add failed"
	sa_add "${o[@]}" && got2=$(cfg_of "${o[0]}") || got2="SA add failed"
	if [ "$got1" = "wesp 5" ] && [ "$got2" = plain ]; then
		ktap_ok "match $desc: matching SA $got1, other SA $got2"
	else
		ktap_fail "match $desc: matching SA [$got1], other SA [$got2]"
	fi
	gc rule-del --name m
	ip -n "$C" xfrm state flush
}
mcase "family" "--m-family 6" "fd00:66::2" "10.66.0.2"
mcase "destination prefix" "--m-family 4 --m-daddr 10.66.4.0/24" "10.66.4.9" "10.66.5.9"
mcase "source prefix" "--m-family 4 --m-saddr 10.66.0.0/24" "10.66.0.2" "10.66.0.2 src=10.66.9.1"
mcase "mode" "--m-mode 1" "10.66.0.2 mode tunnel" "10.66.0.2 mode transport"
mcase "reqid" "--m-reqid 42" "10.66.0.2 reqid 42" "10.66.0.2 reqid 43"
mcase "mark/mask" "--m-mark 0x500 --m-mark-mask 0xf00" "10.66.0.2 mark 0x5aa mask 0xfff" \
	"10.66.0.2 mark 0x6aa mask 0xfff"
mcase "if_id" "--m-if-id 7" "10.66.0.2 if_id 7" "10.66.0.2 if_id 8"
SPI=0x2ff
mcase "SPI range" "--m-spi-min 0x300 --m-spi-max 0x300" "10.66.0.2" "10.66.0.3"
mcase "selector prefix" "--sel-family 4 --sel-dst 10.80.0.0/16" \
	"10.66.0.2 sel src 10.70.0.1/32 dst 10.80.1.0/24" \
	"10.66.0.2 sel src 10.70.0.1/32 dst 10.0.0.0/8"
mcase "selector protocol and port" "--sel-proto 17 --sel-dport 4789" \
	"10.66.0.2 sel src 10.70.0.1 dst 10.80.0.1 proto udp dport 4789" \
	"10.66.0.2 sel src 10.70.0.1 dst 10.80.0.1 proto udp dport 4790"

# ---------------------------------------------------- 3. order, SA_SET --
gc rule-add --name broad --prio 20 --m-family 4 --m-daddr 10.66.0.0/16 --wesp 2
gc rule-add --name narrow --prio 10 --m-family 4 --m-daddr 10.66.1.0/24 --wesp 1
gc rule-add --name tie --prio 10 --m-family 4 --m-daddr 10.66.1.0/24 --wesp 3
gc rule-add --name keep-plain --prio 1 --m-family 4 --m-daddr 10.66.1.9
check "dump lists the rules by priority, equal ones in the order added" bash -c "
	[ \"\$($G -n $C rule-dump | awk '{ print \$2 }' | tr '\n' ' ')\" = 'keep-plain narrow tie broad ' ]"
sa_add 10.66.1.5 && a=$(cfg_of 10.66.1.5)
sa_add 10.66.2.5 && b=$(cfg_of 10.66.2.5)
sa_add 10.66.1.9 && c=$(cfg_of 10.66.1.9)
check "lower priority first, first match wins: 10.66.1.5 narrow ($a), 10.66.2.5 broad ($b)" \
	test "$a $b" = "wesp 1 wesp 2"
check "a rule without extensions keeps its SAs plain ($c)" test "$c" = plain
check "hits counted per rule: keep-plain 1, narrow 1, tie 0, broad 1" bash -c "
	$G -n $C rule-dump | awk '{ printf \"%s=%s \", \$2, \$8 }' |
	grep -qx 'keep-plain=1 narrow=1 tie=0 broad=1 '"
SPI=$((SPI + 1))
gc set --daddr 10.66.1.6 --spi $SPI --wesp 7 >/dev/null
SPI=$((SPI - 1))
sa_add 10.66.1.6 && a=$(cfg_of 10.66.1.6)
check "an explicit SA_SET beats the rules ($a)" test "$a" = "wesp 7"
ip -n "$C" xfrm state flush
gc rule-flush >/dev/null

# -------------------------------------------- 4. cannot apply, fallback --
gc rule-add --name strict --m-family 4 --m-daddr 10.66.3.0/24 --wesp 0
gc rule-add --name lenient --m-family 4 --m-daddr 10.66.4.0/24 --wesp 0 --counters 2 --fallback
CBC="enc cbc(aes) 0x000102030405060708090a0b0c0d0e0f auth hmac(sha256) 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
sa_cbc() {
	SPI=$((SPI + 1))
	# shellcheck disable=SC2086
	ip -n "$C" xfrm state add src 10.66.0.1 dst "$1" proto esp spi $SPI $CBC "${@:2}"
}
left() { ip -n "$C" xfrm state list | grep -c '^src'; }
rc_msg "non-AEAD SA under a rule: creation fails naming the rule" 2 \
	'rule strict: WESPv2 needs an AEAD' sa_cbc 10.66.3.1
rc_msg "UDP-encapsulated SA under a rule: fails naming the rule" 2 \
	'rule strict: WESPv2 with UDP encap' sa_add 10.66.3.2 encap espinudp 4500 4500 0.0.0.0
check "the refused SAs left no state" test "$(left)" = 0
check "the refusal is logged with the rule's name" bash -c "
	dmesg | tail -n +$((XT_DMESG_LINES + 1)) | grep -q 'rule strict cannot apply'"
SPI=$((SPI + 2))	# the two refused SAs above ran in subshells
sa_cbc 10.66.4.1 replay-window 32 >"$XT_TMP/cbc.out" 2>&1 && a=$(cfg_of) ||
	a="failed: $(cat "$XT_TMP/cbc.out")"
check "fallback plain: the non-AEAD SA is created plain ($a)" test "$a" = plain
# what a counter rule sets on its SAs (oseq-may-wrap, window 0) is undone
# (-s shows the extra flags; "replay-window N seq" is the config, not stats)
a=$(ip -s -n "$C" xfrm state get src 10.66.0.1 dst 10.66.4.1 proto esp spi $SPI 2>&1)
plain_props() { [[ $1 == *"replay-window 32 seq "* && $1 != *oseq-may-wrap* ]] || { echo "$1"; return 1; }; }
check "fallback plain: the counter rule left the plain SA its window 32, no oseq-may-wrap" \
	plain_props "$a"
check "fallback counted: ns rule_fallback 1, rule lenient fallbacks 1 hits 0" bash -c "
	$G -n $C info | grep -qx 'ns_rule_fallback=1' &&
	$G -n $C rule-get --name lenient | grep -q ' hits 0 fallbacks 1'"
sa_add 10.66.4.2 && a=$(cfg_of 10.66.4.2)
check "the fallback rule still configures an SA it fits ($a)" test "$a" = "wesp 0"
ip -n "$C" xfrm state flush
gc rule-flush >/dev/null

# ------------------------------------------ 5. IKE-style SAs, rekey --
xt_topology || { ktap_fail "topology"; ktap_finish; }
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.core.xfrm_acq_expires=900
done
o() { echo "10.96.$1.$2"; }	# outer of case n, side 1 (A) / 2 (B)
i() { echo "10.95.$1.$2"; }	# inner (lo)
key() { printf '0x%02x%02x%02x%s' "$1" "$2" "$3" "$(printf '%02x' $(seq 4 20))"; }
NAME=([1]="WESPv2" [2]="WESPv2 seq-counters 2" [3]="Diet-ESP spi-lsb 16 sn-lsb 16")
ROPT=([1]="--wesp 0" [2]="--wesp 0 --counters 2" [3]="--diet 16,16")
RE=([1]=" wesp 0 " [2]=" wesp 0 counters 2 " [3]=" diet spi_lsb 16 sn_lsb 16 ")
SOPT=([1]="--replay-window 32" [2]="--replay-esn 4,64 --oseq-may-wrap" [3]="--replay-window 32")
# the first counter SAs as strongSwan makes them: a window of 32, no flag
CTR1="--replay-window 32"
for me in 1 2; do
	ns=$NS_A peer=2 mac=$XT_MAC_B
	[ $me = 2 ] && ns=$NS_B peer=1 mac=$XT_MAC_A
	for n in 1 2 3; do
		ip -n "$ns" addr add "$(o $n $me)/24" dev veth0
		ip -n "$ns" addr add "$(i $n $me)/32" dev lo
		ip -n "$ns" neigh replace "$(o $n $peer)" lladdr $mac dev veth0 nud permanent
		ip -n "$ns" route add "$(i $n $peer)/32" dev veth0 src "$(i $n $me)"
		"$G" -n "$ns" rule-add --name "case$n" --m-family 4 --m-mode 1 --m-reqid $n \
			--sel-family 4 --sel-src 10.95.$n.0/24 ${ROPT[$n]}
	done
done
declare -A SPIS
# ike_sas GEN: ALLOCSPI in both, then NEWSA out + UPDSA in (keys of GEN);
# the SPIs in SPIS[GEN.n.side], what failed in IKE_BAD (run it in this shell)
ike_sas() {
	local gen=$1 me ns peer n opt bad=
	for me in 1 2; do
		ns=$NS_A peer=2
		[ $me = 2 ] && ns=$NS_B peer=1
		for n in 1 2 3; do
			echo "allocspi --src $(o $n $peer) --dst $(o $n $me) --reqid $n --min 0x10000 --max 0x7fffffff"
		done >"$XT_TMP/alloc.$me"
		n=0
		while read -r r w s; do
			n=$((n + 1))
			[ "$r $w" = "ok spi" ] && SPIS[$gen.$n.$me]=$s || bad+=" alloc $me/$n: $r $w $s"
		done < <(ip netns exec "$ns" $XNL batch <"$XT_TMP/alloc.$me" 2>&1)
	done
	for me in 1 2; do
		ns=$NS_A peer=2
		[ $me = 2 ] && ns=$NS_B peer=1
		for n in 1 2 3; do
			[ "$gen" = 1 ] && echo "policy add --dir out --sel-src $(i $n $me)/32" \
				"--sel-dst $(i $n $peer)/32 --tmpl-src $(o $n $me) --tmpl-dst $(o $n $peer) --reqid $n" &&
				echo "policy add --dir in --sel-src $(i $n $peer)/32" \
				"--sel-dst $(i $n $me)/32 --tmpl-src $(o $n $peer) --tmpl-dst $(o $n $me) --reqid $n"
			opt=${SOPT[$n]}
			[ "$gen.$n" = 1.2 ] && opt=$CTR1
			echo "sa add --src $(o $n $me) --dst $(o $n $peer) --spi ${SPIS[$gen.$n.$peer]}" \
				"--reqid $n --aead '$GCM' $(key $gen $n $me) 128 $opt" \
				"--sel-src $(i $n $me)/32 --sel-dst $(i $n $peer)/32"
			echo "sa update --src $(o $n $peer) --dst $(o $n $me) --spi ${SPIS[$gen.$n.$me]}" \
				"--reqid $n --aead '$GCM' $(key $gen $n $peer) 128 $opt" \
				"--sel-src $(i $n $peer)/32 --sel-dst $(i $n $me)/32"
		done >"$XT_TMP/sa.$me"
		ip netns exec "$ns" $XNL batch <"$XT_TMP/sa.$me" >"$XT_TMP/sa.$me.out" 2>&1 ||
			bad+=" sa $me: $(grep -v '^ok' "$XT_TMP/sa.$me.out" | head -3 | tr '\n' ' ')"
	done
	IKE_BAD=$bad
}
# bound NS DST SPI REGEX: that SA is bound with a config matching REGEX
bound() {
	local g
	g=$("$G" -n "$1" get --daddr "$2" --spi "$3" 2>&1)
	grep -q 'status bound' <<<"$g" && grep -Eq -- "$4" <<<"$g" || { echo "$2 $3: $g"; return 1; }
}
ein() { "$G" -n "$1" get --daddr "$2" --spi "$3" | sed -n 's/.* in_packets \([0-9]*\).*/\1/p'; }
ike_sas 1
bad=$IKE_BAD
if [ -z "$bad" ]; then
	ktap_ok "ALLOCSPI + UPDSA inbound, NEWSA outbound, no espx request, A and B"
else
	ktap_fail "IKE-style SAs:$(cut -c1-300 <<<"$bad")"
fi
for n in 1 2 3; do
	out=$(bound "$NS_A" "$(o $n 1)" "${SPIS[1.$n.1]}" "${RE[$n]}" &&
	      bound "$NS_B" "$(o $n 2)" "${SPIS[1.$n.2]}" "${RE[$n]}" &&
	      bound "$NS_A" "$(o $n 2)" "${SPIS[1.$n.2]}" "${RE[$n]}")
	p=$(ip netns exec "$NS_A" ping -n -q -c 3 -i 0.2 -W 3 "$(i $n 2)" 2>&1 |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
	e=$(ein "$NS_B" "$(o $n 2)" "${SPIS[1.$n.2]}")
	if [ -z "$out" ] && [ "$p" = 3 ] && [ "${e:-0}" -ge 3 ]; then
		ktap_ok "${NAME[$n]} only through rules: UPDSA'd inbound and NEWSA outbound SAs bound, 3/3 pings, B in_packets $e"
	else
		ktap_fail "${NAME[$n]} through rules: [$out] pings ${p:-?}/3 B in_packets ${e:-?}"
	fi
done
# the daemon could not ask for oseq-may-wrap and window 0: the rule did
a=$(ip -s -n "$NS_A" xfrm state get src "$(o 2 1)" dst "$(o 2 2)" proto esp spi "${SPIS[1.2.2]}" 2>&1)
b=$(ip -s -n "$NS_A" xfrm state get src "$(o 2 2)" dst "$(o 2 1)" proto esp spi "${SPIS[1.2.1]}" 2>&1)
ctr_props() {
	local s
	for s in "$@"; do
		[[ $s == *"replay-window 0 seq "* && $s == *oseq-may-wrap* ]] || { echo "$s"; return 1; }
	done
}
check "counter rule: A's SAs made with window 32, no flag, have window 0 and oseq-may-wrap" \
	ctr_props "$a" "$b"
# the WESPv2 rule changes before the rekey: new SAs get crypt offset 1
for ns in "$NS_A" "$NS_B"; do
	"$G" -n "$ns" rule-del --name case1
	"$G" -n "$ns" rule-add --name case1b --m-family 4 --m-mode 1 --m-reqid 1 --wesp 1
done
ike_sas 2
bad=$IKE_BAD
[ -z "$bad" ] && ktap_ok "rekey: new SPIs and keys through ALLOCSPI + UPDSA and NEWSA" ||
	ktap_fail "rekey:$(cut -c1-300 <<<"$bad")"
out=$(bound "$NS_B" "$(o 1 2)" "${SPIS[2.1.2]}" " wesp 1 " && bound "$NS_A" "$(o 1 2)" "${SPIS[2.1.2]}" " wesp 1 " &&
      bound "$NS_B" "$(o 1 2)" "${SPIS[1.1.2]}" " wesp 0 " && bound "$NS_A" "$(o 1 2)" "${SPIS[1.1.2]}" " wesp 0 ")
check "rekey: the new SAs took the changed rule (crypt offset 1), the old keep theirs (0) ${out:+: $out}" \
	test -z "$out"
# as a daemon does after a rekey: the old outbound SAs go (the old
# inbound ones stay a while), so traffic takes the new ones
for n in 1 2 3; do
	ip -n "$NS_A" xfrm state delete src "$(o $n 1)" dst "$(o $n 2)" proto esp spi "${SPIS[1.$n.2]}"
	ip -n "$NS_B" xfrm state delete src "$(o $n 2)" dst "$(o $n 1)" proto esp spi "${SPIS[1.$n.1]}"
done
e0=$(ein "$NS_B" "$(o 1 2)" "${SPIS[1.1.2]}")
p=$(ip netns exec "$NS_A" ping -n -q -c 3 -i 0.2 -W 3 "$(i 1 2)" 2>&1 |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
e1=$(ein "$NS_B" "$(o 1 2)" "${SPIS[2.1.2]}")
e2=$(ein "$NS_B" "$(o 1 2)" "${SPIS[1.1.2]}")
check "rekey: pings ($p/3) over the new WESPv2 SA (in_packets $e1), the old SA's count stays ($e0 -> $e2)" \
	test "$p" = 3 -a "${e1:-0}" -ge 3 -a "$e0" = "$e2"
out=$(bound "$NS_B" "$(o 2 2)" "${SPIS[2.2.2]}" " counters 2 " &&
      bound "$NS_B" "$(o 3 2)" "${SPIS[2.3.2]}" " diet spi_lsb 16 ")
p=$(for n in 2 3; do ip netns exec "$NS_A" ping -n -q -c 2 -i 0.2 -W 3 "$(i $n 2)" 2>&1 |
	sed -n 's/.* \([0-9]*\) received.*/\1/p'; done | tr '\n' ' ')
check "rekey: counter and Diet-ESP SAs rekeyed under their rules, pings $p ${out:+: $out}" \
	test -z "$out" -a "$p" = "2 2 "
xt_flush

# --------------------------------------------- 6. netns exit, rmmod --
rules_base=$(cat "$ROBJ" 2>/dev/null || echo x)
D=$(ns_new d)
"$G" -n "$D" rule-add --name d --count 10 --wesp 0 >/dev/null
check "10 rules in a new netns: rule_objects $rules_base + 10" \
	test "$(cat "$ROBJ" 2>/dev/null)" = "$((rules_base + 10))"
ip netns del "$D"
wait_rules() {
	local _
	for _ in $(seq 50); do
		[ "$(cat "$ROBJ" 2>/dev/null)" = "$1" ] && return 0
		sleep 0.2
	done
	echo "rule_objects $(cat "$ROBJ" 2>/dev/null), want $1"
	return 1
}
check "netns deleted: its rules are freed" wait_rules "$rules_base"
gc rule-add --name left --count 5 --wesp 0 >/dev/null
"$G" -n "$NS_A" rule-add --name left --wesp 0
ip -n "$C" xfrm state flush
xt_mark=$XT_DMESG_LINES
xt_dmesg_mark
if out=$(xt_rmmod espx 2>&1) && ! xt_mod_loaded espx; then
	ktap_ok "rmmod espx with rules present in three namespaces"
else
	ktap_fail "rmmod espx with rules present: $out"
fi
check "no leak reported at module unload" bash -c "
	! dmesg | tail -n +$((XT_DMESG_LINES + 1)) | grep -E 'espx: .*(leaked|still bound)'"
XT_DMESG_LINES=$xt_mark
check "no WARN/BUG in the kernel log" xt_dmesg_check
out=$(xt_use_espx 2>&1)
check "espx loads again ${out:+: $out}" xt_mod_loaded espx
ktap_finish
