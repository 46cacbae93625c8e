#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The espx generic netlink family: config round trip (SET/GET/DUMP/DEL), INFO_GET (type
# ownership flags, per-netns counters), bad input (espx_genl badinput), permissions, netns
# isolation and cleanup, and the lifecycle of configs bound to SAs (ip xfrm state
# add/delete/flush, failed adds, netns exit).
. "$(dirname "$0")/lib.sh"

G=$ESPX_BIN/espx_genl
KEY=0x0123456789abcdef0123456789abcdef01234567	# rfc4106: 16-octet key + 4-octet salt
OBJ=/sys/kernel/debug/espx/sa_objects

# objects: live espx_sa allocations (pending + bound + awaiting RCU free).
objects() { cat "$OBJ" 2>/dev/null || echo unknown; }

# wait_objects N: up to 10 s for the count to reach N (SA destruction and netns exit are
# deferred to work queues).
wait_objects() {
	local i
	for i in $(seq 50); do
		[ "$(objects)" = "$1" ] && return 0
		sleep 0.2
	done
	echo "objects $(objects), want $1"
	return 1
}

# rc_is WANT CMD...: the command exits with status WANT (espx_genl exits with the errno).
rc_is() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] || { echo "exit status $rc, want $want"; return 1; }
}

# out_has PATTERN CMD...: the command succeeds and its output matches the regex.
out_has() {
	local pat=$1 out
	shift
	out=$("$@") || { echo "failed: $out"; return 1; }
	grep -Eq -- "$pat" <<<"$out" || { echo "output: $out"; echo "wanted: $pat"; return 1; }
}

count_is() { # count_is NS N
	local n
	n=$("$G" -n "$1" count) || return 1
	[ "$n" = "$2" ] || { echo "count $n, want $2"; return 1; }
}

sa_add() { # sa_add NS DST SPI [extra ip args...]: transport-mode AEAD SA, src is 192.0.2.1
	local ns=$1 dst=$2 spi=$3 src=192.0.2.1
	shift 3
	[[ $dst == *:* ]] && src=2001:db8::1
	ip -n "$ns" xfrm state add src "$src" dst "$dst" proto esp spi "$spi" mode transport \
		aead 'rfc4106(gcm(aes))' "$KEY" 128 "$@"
}

# info_is NS LOST TRUNCATED NO_SA: INFO_GET in NS says type_lost_ipv4/6=LOST and these
# WESPv2 namespace counters, the Diet-ESP ones 0, and names every counter it got (no
# ns_stat_<id> line).
info_is() {
	local out l
	out=$("$G" -n "$1" info) || { echo "info failed: $out"; return 1; }
	for l in "type_lost_ipv4=$2" "type_lost_ipv6=$2" "ns_wesp_truncated=$3" \
		 "ns_wesp_no_sa=$4" ns_diet_truncated=0 ns_diet_no_sa=0; do
		grep -qx -- "$l" <<<"$out" || { echo "no line '$l' in:"; echo "$out"; return 1; }
	done
	! grep -q '^ns_stat_' <<<"$out" || { echo "unnamed counter: $out"; return 1; }
}

# wesp_no_sa NS: protocol-141 packets over lo that no SA can be charged with. IPv4: one
# too short to reach the SPI, two with the SPI of no SA; IPv6: one of each. The module
# counts them per namespace: truncated 2, no SA 3.
wesp_no_sa() {
	ip netns exec "$1" python3 -c '
import socket
hdr = bytes([59, 12, 0, 0x40])                  # NH, HdrLen, CryptOffset|R, V=01|OptLen 0
esp = (0xdead0001).to_bytes(4, "big") + bytes(4)  # SPI (no such SA), SN
for fam, dst, pkts in ((socket.AF_INET, "127.0.0.1", (hdr[:3], hdr + esp, hdr + esp)),
                       (socket.AF_INET6, "::1", (hdr[:3], hdr + esp))):
    s = socket.socket(fam, socket.SOCK_RAW, 141)
    for p in pkts:
        s.sendto(p, (dst, 0))
    s.close()' || return 1
	for _ in $(seq 10); do
		info_is "$1" 0 2 3 >/dev/null && break
		sleep 0.2
	done
	info_is "$1" 0 2 3
}

ktap_header
ktap_plan 61

grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null
a=$(ns_new a)
b=$(ns_new b)
ga() { "$G" -n "$a" "$@"; }
gb() { "$G" -n "$b" "$@"; }

# --- round trip --------------------------------------------------------------------------
check "family espx is registered" "$G" resolve
check "SET v4 with WESP crypt offset 5" ga set --daddr 10.1.0.2 --spi 0x101 --wesp 5
check "GET v4: pending, WESP 5, no stats" \
	out_has '^family 4 daddr 10\.1\.0\.2 spi 0x00000101 proto 50 mark 0x0/0x0 if_id 0 status pending wesp 5$' \
	ga get --daddr 10.1.0.2 --spi 0x101
check "SET v6 with mark/mask and if_id" \
	ga set --family 6 --daddr 2001:db8::2 --spi 0x102 --mark 7 --mask 0xff --if-id 3
check "GET v6 returns the full id" \
	out_has '^family 6 daddr 2001:db8::2 spi 0x00000102 proto 50 mark 0x7/0xff if_id 3 status pending$' \
	ga get --family 6 --daddr 2001:db8::2 --spi 0x102 --mark 7 --mask 0xff --if-id 3
check "GET with another mark is a different id (ENOENT)" \
	rc_is 2 ga get --family 6 --daddr 2001:db8::2 --spi 0x102 --if-id 3
check "DUMP lists both configs" count_is "$a" 2
check "duplicate SET: EEXIST" rc_is 17 ga set --daddr 10.1.0.2 --spi 0x101
check "DEL v4" ga del --daddr 10.1.0.2 --spi 0x101
check "GET after DEL: ENOENT" rc_is 2 ga get --daddr 10.1.0.2 --spi 0x101
check "DEL again: ENOENT" rc_is 2 ga del --daddr 10.1.0.2 --spi 0x101
check "DEL v6, DUMP empty" bash -c "$G -n $a del --family 6 --daddr 2001:db8::2 \
	--spi 0x102 --mark 7 --mask 0xff --if-id 3 && [ \$($G -n $a count) = 0 ]"

# --- Diet-ESP config round trip (diet-esp.md §7; the refusals are in badinput) -----------
D6=(--family 6 --daddr 2001:db8::5 --spi 0x105)
check "SET v6 with every Diet-ESP attribute" ga set "${D6[@]}" --diet 8,16 --diet-align 1 \
	--diet-trailer 1 --diet-iipc 1 --diet-dscp 2 --diet-dscp-list 0,10,46 --diet-ecn 1 \
	--diet-fl 3 --diet-iiv
check "GET: every Diet-ESP attribute reads back" \
	out_has '^family 6 daddr 2001:db8::5 spi 0x00000105 .* status pending diet spi_lsb 8 sn_lsb 16 align 1 trailer 1 iipc 1 dscp 2 dscp_list 0,10,46 ecn 1 flowlabel 3 iiv$' \
	ga get "${D6[@]}"
check "SET v4 with SPI/SN bits only" ga set --daddr 10.1.0.5 --spi 0x105 --diet 0,8
check "GET: the defaults (8 bit, mandatory trailer, nothing compressed, no list, no IIV)" \
	out_has '^family 4 daddr 10\.1\.0\.5 spi 0x00000105 .* status pending diet spi_lsb 0 sn_lsb 8 align 0 trailer 0 iipc 0 dscp 0 ecn 0 flowlabel 0$' \
	ga get --daddr 10.1.0.5 --spi 0x105
list64=$(seq -s, 63 -1 0)
check "SET with 64 DSCP values (63..0), untruncated SPI and SN, 64-bit alignment, LOWER/GENERATED" \
	ga set --daddr 10.1.0.6 --spi 0x106 --diet 32,32 --diet-align 3 --diet-iipc 1 \
	--diet-dscp 2 --diet-dscp-list "$list64" --diet-ecn 1 --diet-fl 2
check "GET: the 64 values in their order, the other values" \
	out_has "status pending diet spi_lsb 32 sn_lsb 32 align 3 trailer 0 iipc 1 dscp 2 dscp_list $list64 ecn 1 flowlabel 2\$" \
	ga get --daddr 10.1.0.6 --spi 0x106
diet_dump() {
	local out
	out=$(ga dump) || return 1
	[ "$(grep -c ' diet spi_lsb ' <<<"$out")" = 3 ] || { echo "$out"; return 1; }
	count_is "$a" 3
}
check "DUMP shows the three Diet-ESP configs" diet_dump
check "DEL of the Diet-ESP configs, DUMP empty" bash -c "
	$G -n $a del ${D6[*]} && $G -n $a del --daddr 10.1.0.5 --spi 0x105 &&
	$G -n $a del --daddr 10.1.0.6 --spi 0x106 && [ \$($G -n $a count) = 0 ]"

# --- INFO_GET ------------------------------------------------------------------------------
check "INFO_GET: ESP type not lost (IPv4, IPv6), namespace counters named and 0" \
	info_is "$a" 0 0 0
status_alias() { [ "$(ga status)" = "$(ga info)" ]; }
check "'status' is the same request as 'info'" status_alias
w=$(ns_new wesp)
wesp_counted() { wesp_no_sa "$w" && info_is "$a" 0 0 0; }
check "protocol-141 packets without an SA: INFO_GET counts them in their netns only" \
	wesp_counted

# --- bad input -----------------------------------------------------------------------------
if out=$("$G" -n "$a" badinput 2>&1); then
	ktap_ok "bad input: every crafted request refused with errno + extack, nothing changed"
	sed 's/^/#   /' <<<"$out"
else
	ktap_fail "bad input: every crafted request refused with errno + extack, nothing changed"
	sed 's/^/#   /' <<<"$out"
fi

# --- permissions ---------------------------------------------------------------------------
check "SET as root in the netns works (reference)" ga set --daddr 10.1.0.9 --spi 0x109
check "no CAP_NET_ADMIN (bounding set): SET is EPERM" \
	rc_is 1 ip netns exec "$a" setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
	"$G" set --daddr 10.1.0.8 --spi 0x108
check "no CAP_NET_ADMIN: GET and DUMP are EPERM too" \
	bash -c "ip netns exec $a setpriv --bounding-set=-net_admin $G get --daddr 10.1.0.9 \
		--spi 0x109; [ \$? = 1 ] && ip netns exec $a setpriv --bounding-set=-net_admin \
		$G dump; [ \$? = 1 ]"
check "no CAP_NET_ADMIN: DEL is EPERM" \
	rc_is 1 ip netns exec "$a" setpriv --bounding-set=-net_admin "$G" del \
	--daddr 10.1.0.9 --spi 0x109
check "no CAP_NET_ADMIN: INFO_GET is EPERM" \
	rc_is 1 ip netns exec "$a" setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
	"$G" info
check "unprivileged user namespace over netns A: EPERM" \
	rc_is 1 ip netns exec "$a" unshare -U "$G" set --daddr 10.1.0.7 --spi 0x107
check "unprivileged user namespace over netns A: INFO_GET is EPERM" \
	rc_is 1 ip netns exec "$a" unshare -U "$G" info
check "nothing changed by the refused requests" count_is "$a" 1
base0=$(objects)
check "user namespace owning its own netns: SET + DUMP work there, not seen in A" \
	bash -c "unshare -Urn sh -c '$G set --daddr 10.1.0.9 --spi 0x109 && [ \$($G count) = 1 ]' &&
		 [ \$($G -n $a count) = 1 ]"

check "user namespace owning its own netns: INFO_GET works there" \
	bash -c "unshare -Urn $G info | grep -qx 'type_lost_ipv4=0'"

# --- netns isolation and cleanup -----------------------------------------------------------
check "config of netns A invisible from netns B" \
	bash -c "[ \$($G -n $b count) = 0 ] &&
		 $G -n $b get --daddr 10.1.0.9 --spi 0x109; [ \$? = 2 ]"
check "same id in netns B is independent (SET, DEL)" \
	bash -c "$G -n $b set --daddr 10.1.0.9 --spi 0x109 &&
		 $G -n $b del --daddr 10.1.0.9 --spi 0x109 &&
		 [ \$($G -n $a count) = 1 ]"
ga del --daddr 10.1.0.9 --spi 0x109
if [ -r "$OBJ" ]; then
	base=$((base0 - 1))	# A's config was deleted just above
	check "unshare'd netns gone: its config is freed" wait_objects "$base"
	c=$(ns_new c)
	for i in 1 2 3 4 5; do "$G" -n "$c" set --daddr 10.1.0.$i --spi $i; done
	check "5 pending configs in netns C: 5 more objects" wait_objects $((base + 5))
	ip netns del "$c"
	check "netns C deleted: its configs are freed" wait_objects "$base"
else
	ktap_skip "debugfs object count settles: no $OBJ (debugfs)"
	ktap_skip "5 pending configs in netns C: no debugfs"
	ktap_skip "netns C deleted: its configs are freed: no debugfs"
fi

# --- configs and SAs -----------------------------------------------------------------------
if ! err=$(sa_add "$b" 10.9.9.9 0x999 2>&1); then
	ktap_skip_rest "SA lifecycle: 'ip xfrm state add ... rfc4106' fails: $err"
	ktap_finish
fi
ip -n "$b" xfrm state flush

bound_with_stats() { # bound_with_stats DST SPI: SA add binds the pending config
	sa_add "$a" "$1" "$2" &&
	out_has 'status bound stats out_packets 0 .* in_drop_icv 0 .* in_drop_wesp_plain_sa 0 .* in_drop_ctr_nomem 0 .* in_diet_candidate_retry 0 in_drop_crypto 0 in_drop_aggfrag 0 .* out_drop_echo 0 in_drop_eesp_header 0 .* out_drop_eesp_exhausted 0$' \
		ga get --daddr "$1" --spi "$2" &&
	! ga get --daddr "$1" --spi "$2" | grep -E ' stat_[0-9]+ ' ||
		{ echo "a stat id espx_genl has no name for"; return 1; }
}
plain_sa() {
	sa_add "$a" 10.1.1.3 0x202 &&
	out_has '^family 4 daddr 10\.1\.1\.3 .* status bound stats out_packets 0' \
		ga get --daddr 10.1.1.3 --spi 0x202
}
# CTR_GET (dump only): errno + extack for an unknown id, a pending config and a plain SA.
ctr_errors() {
	local out rc
	out=$(ga ctr --daddr 10.1.1.99 --spi 0x2ff 2>&1); rc=$?
	[ $rc = 2 ] && grep -q 'no SA with this id' <<<"$out" ||
		{ echo "unknown id: rc $rc: $out"; return 1; }
	out=$(ga ctr --daddr 10.1.1.3 --spi 0x202 2>&1); rc=$?
	[ $rc = 22 ] && grep -q 'no sequence counters' <<<"$out" ||
		{ echo "plain SA: rc $rc: $out"; return 1; }
	ga set --daddr 10.1.1.98 --spi 0x2fe --wesp 0 --counters 4 || return 1
	out=$(ga ctr --daddr 10.1.1.98 --spi 0x2fe 2>&1); rc=$?
	ga del --daddr 10.1.1.98 --spi 0x2fe || return 1
	[ $rc = 2 ] || { echo "pending config: rc $rc: $out"; return 1; }
}
marked_sa() {
	ga set --family 6 --daddr 2001:db8::3 --spi 0x203 --mark 7 --mask 0xff --if-id 3 &&
	sa_add "$a" 2001:db8::3 0x203 mark 7 mask 0xff if_id 3 &&
	out_has 'mark 0x7/0xff if_id 3 status bound' \
		ga get --family 6 --daddr 2001:db8::3 --spi 0x203 --mark 7 --mask 0xff --if-id 3
}
one_bound_left() {
	count_is "$a" 3 &&
	out_has 'status bound' ga get --daddr 10.1.1.2 --spi 0x201
}
deleted_hidden() {
	ip -n "$a" xfrm state delete src 192.0.2.1 dst 10.1.1.3 proto esp spi 0x202 &&
	rc_is 2 ga get --daddr 10.1.1.3 --spi 0x202
}
set_after_delete() {
	ga set --daddr 10.1.1.3 --spi 0x202 &&
	out_has 'status pending' ga get --daddr 10.1.1.3 --spi 0x202 &&
	ga del --daddr 10.1.1.3 --spi 0x202
}
wesp_sa() {
	ga set --daddr 10.1.1.4 --spi 0x204 --wesp 2 || return 1
	if sa_add "$a" 10.1.1.4 0x204 2>/dev/null; then
		ktap_info "WESP SA accepted by esp.c"
		out_has 'status bound wesp 2' ga get --daddr 10.1.1.4 --spi 0x204
	else
		ktap_info "WESP SA refused by esp.c"
		rc_is 2 ga get --daddr 10.1.1.4 --spi 0x204
	fi
}
flushed() {
	ip -n "$a" xfrm state flush && count_is "$a" 0
}
netns_d() {
	"$G" -n "$d" set --daddr 10.1.2.2 --spi 0x301 &&
	"$G" -n "$d" set --daddr 10.1.2.9 --spi 0x309 &&
	sa_add "$d" 10.1.2.2 0x301 && sa_add "$d" 10.1.2.3 0x302 &&
	count_is "$d" 3
}
refcnt_zero() {
	local i
	for i in $(seq 50); do
		[ "$(cat /sys/module/espx/refcnt)" = 0 ] && return 0
		sleep 0.2
	done
	echo "refcnt $(cat /sys/module/espx/refcnt)"
	return 1
}

check "SET pending config for SA 10.1.1.2/0x201" ga set --daddr 10.1.1.2 --spi 0x201
check "SA add binds it (status bound, every stat present and named)" bound_with_stats 10.1.1.2 0x201
check "SET on the id of an existing SA: EEXIST" rc_is 17 ga set --daddr 10.1.1.2 --spi 0x201
check "DEL of a bound config: EBUSY" rc_is 16 ga del --daddr 10.1.1.2 --spi 0x201
check "plain SA (no config) is listed as bound with stats" plain_sa
check "CTR_GET: ENOENT (unknown id, pending config), EINVAL (no counters), with extack" \
	ctr_errors
check "SA with mark/mask and if_id binds its config" marked_sa
check_fail "duplicate SA add fails" sa_add "$a" 10.1.1.2 0x201
check "... and leaves the entries as they were" one_bound_left
check "SA delete: GET is ENOENT at once (dead SA hidden before GC)" deleted_hidden
check "SET again on the deleted SA's id works (pending)" set_after_delete
check "WESP config + SA add: bound with WESP, or the add fails and leaves nothing" wesp_sa
check "state flush removes every bound entry" flushed
if [ -r "$OBJ" ]; then
	check "after flush and GC no object is left" wait_objects "$base"
else
	ktap_skip "after flush and GC no object is left: no debugfs"
fi

d=$(ns_new d)
check "netns D: one configured SA, one plain SA, one pending config" netns_d
ip netns del "$d"
if [ -r "$OBJ" ]; then
	check "netns D deleted with live SAs: everything freed" wait_objects "$base"
else
	ktap_skip "netns D deleted with live SAs: everything freed: no debugfs"
fi
# Config changes, SA add/flush and dumps at the same time, then the netns goes away.
stress() {
	local e end=$((SECONDS + 5)) i
	e=$(ns_new e) || return 1
	(while [ $SECONDS -lt $end ]; do
		for i in 1 2 3; do
			"$G" -n "$e" set --daddr 10.3.0.$i --spi $i
			"$G" -n "$e" del --daddr 10.3.0.$i --spi $i
		done
	done) >/dev/null 2>&1 &
	(while [ $SECONDS -lt $end ]; do
		sa_add "$e" 10.3.0.1 1; sa_add "$e" 10.3.0.2 2
		ip -n "$e" xfrm state flush
	done) >/dev/null 2>&1 &
	(while [ $SECONDS -lt $end ]; do "$G" -n "$e" dump; done) >/dev/null 2>&1 &
	wait
	"$G" -n "$e" set --daddr 10.3.0.9 --spi 9 && sa_add "$e" 10.3.0.1 1 || return 1
	ip netns del "$e"
	[ ! -r "$OBJ" ] || wait_objects "$base"
}
check "concurrent SET/DEL, SA add/flush, dump, then netns exit: all freed" stress

# --- dumps while the table changes: NLM_F_DUMP_INTR -----------------------------------------
# espx_genl dumpintr reads 4 KiB at a time, so a dump takes several rounds. With --poke it
# adds and deletes a config from a second socket after the first round of each dump, so every
# dump spans a change and must say so; a dump that nothing disturbs never does. (A race with
# another process, as in the stress part above, would only make the INTR likely.)
f=$(ns_new f)
gf() { "$G" -n "$f" "$@"; }
# the 150 pending configs must outlive the dumps (slow under emulation)
pending_hold 3600
for i in $(seq 150); do echo "set --daddr 10.5.$((i / 100)).$((i % 100)) --spi $((0x500 + i))"; done |
	gf batch
gf set --daddr 10.5.9.1 --spi 0x5ff --wesp 0 --counters 1024 >/dev/null
sa_add "$f" 10.5.9.1 0x5ff replay-window 0 extra-flag oseq-may-wrap
CID=(--daddr 10.5.9.1 --spi 0x5ff)
# intr_all OUT N: each of the N dumps was marked
intr_all() {
	[[ $1 =~ ^dumps\ $2\ intr\ $2\ entries ]] || { echo "$1"; return 1; }
}
# intr_never OUT N: every dump returned exactly N entries, none marked
intr_never() { [ "$1" = "dumps 50 intr 0 entries $2-$2" ] || { echo "$1"; return 1; }; }
out=$(gf dumpintr 20 --poke 10.5.8.8 2>&1)
ktap_info "SA_GET with a change between rounds: $out"
check "SA_GET dump spanning a SET/DEL: NLM_F_DUMP_INTR on each of 20 dumps" intr_all "$out" 20
out=$(gf dumpintr 50 2>&1)
check "undisturbed SA_GET dumps: never NLM_F_DUMP_INTR, all 151 entries" intr_never "$out" 151
out=$(gf dumpintr 20 "${CID[@]}" --poke 10.5.8.8 2>&1)
ktap_info "CTR_GET with a change between rounds: $out"
check "CTR_GET dump (1024 counters) spanning a SET/DEL: NLM_F_DUMP_INTR on each of 20" \
	intr_all "$out" 20
out=$(gf dumpintr 50 "${CID[@]}" 2>&1)
check "undisturbed CTR_GET dumps: never NLM_F_DUMP_INTR, all 1024 counters" intr_never "$out" 1024
ip netns del "$f"
check "module not pinned by freed SAs (refcount back to 0)" refcnt_zero

ktap_finish
