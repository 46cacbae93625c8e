#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pending configs bind only where they belong (issue #13 §3):
#   0. a pending config belongs to the socket that made it: when that
#      process exits (or is killed) before its NEWSA, the config is gone and
#      a plain SA created for the id stays plain; while the socket is open the
#      config binds. espx_genl set --tied makes such configs (the patched ip
#      and IKE daemons do too); plain `set` sends ESPX_A_DETACHED;
#   1. a pending config (ESPX_CMD_SA_SET) lives pending_timeout seconds: a
#      plain SA created later for its id by a program that knows nothing of
#      espx (the system's ip) stays plain; the expiry is counted
#      (pending_expired) and the config is gone from GET and dumps; within
#      the timeout it still binds; the parameter refuses 0 and > 3600;
#   2. a pending config for a state whose live twin (same SPI and key) has
#      another config is refused: the new state would restart the twin's
#      counters under the same key. An equal config binds and shares them.

. "$(dirname "$0")/lib.sh"

ktap_header
PLAN=13
ktap_plan $PLAN
G=$ESPX_BIN/espx_genl
[ -x "$G" ] || G=$(command -v espx_genl)
PT=/sys/module/espx/parameters/pending_timeout
if [ -z "$G" ]; then
	for i in $(seq $PLAN); do ktap_skip "needs espx_genl (make -C selftests)"; done
	ktap_finish
fi
if [ -w "$PT" ]; then
	OLD_PT=$(cat $PT)
	restore() { echo "$OLD_PT" >$PT; __cleanup; }
	trap restore EXIT
fi

ns=$(ns_new pend)
g() { "$G" -n "$ns" "$@"; }
K=0x0102030405060708090a0b0c0d0e0f1011121314
sa_plain() {	# sa_plain DST SPI: with the system's ip, no espx keyword
	ip -n "$ns" xfrm state add src 10.0.0.1 dst "$1" proto esp spi "$2" mode transport \
		aead 'rfc4106(gcm(aes))' $K 128 replay-window 0 extra-flag oseq-may-wrap
}
sa_wesp() {	# sa_wesp DST SPI: a state a WESPv2 config (no counters) fits
	ip -n "$ns" xfrm state add src 10.0.0.1 dst "$1" proto esp spi "$2" mode transport \
		aead 'rfc4106(gcm(aes))' $K 128 replay-window 32
}
expired() { g info | sed -n 's/^ns_pending_expired=//p'; }

# -------------------------------------------------------- socket owner --
tied_gone() {
	g set --tied --daddr 10.0.0.7 --spi 0x107 --wesp 0 >/dev/null || return 1
	[ "$(g count)" = 0 ] || { echo "left behind: $(g dump)"; return 1; }
}
check "a tied config goes when its process exits" tied_gone
tied_binds() {
	g set --tied --daddr 10.0.0.8 --spi 0x108 --wesp 0 -- \
		ip -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.8 proto esp spi 0x108 \
		mode transport aead 'rfc4106(gcm(aes))' $K 128 &&
		g get --daddr 10.0.0.8 --spi 0x108 | grep -q 'status bound wesp 0'
}
check "while its socket is open a tied config binds to the NEWSA" tied_binds
crashed() {
	# the creator is killed before its NEWSA: nothing may bind later
	g set --tied --daddr 10.0.0.9 --spi 0x109 --wesp 0 -- sh -c 'kill -9 $PPID'
	sleep 0.5
	sa_plain 10.0.0.9 0x109 || return 1
	g get --daddr 10.0.0.9 --spi 0x109 | grep -q 'status bound' || return 1
	! g get --daddr 10.0.0.9 --spi 0x109 | grep -q ' wesp ' ||
		{ echo "the dead creator's config bound"; return 1; }
}
check "creator killed before its NEWSA: a later plain SA for the id stays plain" crashed
detached_stays() {
	g set --daddr 10.0.0.10 --spi 0x10a --wesp 0 >/dev/null &&
		g get --daddr 10.0.0.10 --spi 0x10a | grep -q 'status pending' &&
		g del --daddr 10.0.0.10 --spi 0x10a >/dev/null
}
check "a detached config (ESPX_A_DETACHED) outlives its process" detached_stays
ip -n "$ns" xfrm state flush

# ------------------------------------------------------------- timeout --
ttl_part() {
	check_fail "pending_timeout 0 refused" sh -c "echo 0 >$PT"
	check_fail "pending_timeout 3601 refused" sh -c "echo 3601 >$PT"
	echo 2 >$PT
	e0=$(expired)
	g set --daddr 10.0.0.2 --spi 0x101 --wesp 0 >/dev/null
	g set --daddr 10.0.0.3 --spi 0x102 --wesp 0 >/dev/null
	sleep 4
	e1=$(expired)
	stale_plain() {
		sa_plain 10.0.0.2 0x101 || return 1
		g get --daddr 10.0.0.2 --spi 0x101 | grep -q 'status bound' || return 1
		! g get --daddr 10.0.0.2 --spi 0x101 | grep -q ' wesp ' ||
			{ echo "the stale config bound: $(g get --daddr 10.0.0.2 --spi 0x101)"; return 1; }
	}
	check "a plain SA created after the timeout stays plain (no stale WESPv2 config)" stale_plain
	gone() {
		local out rc
		out=$(g get --daddr 10.0.0.3 --spi 0x102 2>&1); rc=$?
		[ $rc = 2 ] || { echo "GET: rc $rc $out"; return 1; }
		! g dump | grep -q 'spi 0x00000102' || { echo "still in the dump"; return 1; }
	}
	check "the other expired config: GET is ENOENT, not in the dump" gone
	e2=$(expired)
	if [ "$((e2 - e0))" = 2 ] && [ "$e1" -ge "$e0" ]; then
		ktap_ok "pending_expired counted both ($e0 -> $e1 -> $e2)"
	else
		ktap_fail "pending_expired $e0 -> $e1 -> $e2, want +2"
	fi
	echo 30 >$PT
	in_time() {
		g set --daddr 10.0.0.4 --spi 0x103 --wesp 0 >/dev/null &&
			sa_wesp 10.0.0.4 0x103 &&
			g get --daddr 10.0.0.4 --spi 0x103 | grep -q 'status bound wesp 0'
	}
	check "within the timeout the config binds" in_time
}
if [ -w "$PT" ]; then
	ttl_part
else
	for i in 1 2 3 4 5 6; do ktap_fail "no pending_timeout parameter (pending configs never expire)"; done
fi

# --------------------------------------------------- live twin, same key --
# counter SA 10.0.0.5/0x200 with 2 counters; a state with the same SPI and
# key at 10.0.0.6 is its twin: a pending config with 4 counters is refused,
# one with 2 binds and shares the twin's counters. A key of their own: the
# WESPv2 SAs above numbered their packets with one SN under K, and espx
# refuses counters under such a key.
K=0x2122232425262728292a2b2c2d2e2f3031323334
twin_refused() {
	local out
	g set --daddr 10.0.0.5 --spi 0x200 --wesp 0 --counters 2 >/dev/null &&
		sa_plain 10.0.0.5 0x200 || return 1
	g set --daddr 10.0.0.6 --spi 0x200 --wesp 0 --counters 4 >/dev/null || return 1
	if out=$(sa_plain 10.0.0.6 0x200 2>&1); then
		echo "accepted: $(g get --daddr 10.0.0.6 --spi 0x200)"
		return 1
	fi
	grep -q 'live SA with this SPI and key has another espx config' <<<"$out" ||
		{ echo "no message: $out"; return 1; }
	g del --daddr 10.0.0.6 --spi 0x200 >/dev/null 2>&1
	return 0
}
check "pending config unlike the live same-key twin's: SA refused with a message" twin_refused
twin_equal() {
	g set --daddr 10.0.0.6 --spi 0x200 --wesp 0 --counters 2 >/dev/null &&
		sa_plain 10.0.0.6 0x200 &&
		g get --daddr 10.0.0.6 --spi 0x200 | grep -q 'status bound wesp 0 counters 2'
}
check "pending config equal to the twin's binds" twin_equal
ip -n "$ns" xfrm state flush
check "nothing left after a flush" test "$(g count)" = 0
ktap_finish
