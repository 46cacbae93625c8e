#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# espx vs esp4/esp6: who owns the ESP xfrm type (see net/espx/proto.c).
#  (a) esp4 or esp6 loaded first: insmod espx fails with -EBUSY, a message
#      that names the module to unload, and no WARN; so does modprobe espx
#      (with -EEXIST modprobe would have said "already loaded" and exited 0
#      with nothing loaded). Once they are unloaded, espx loads.
#  (b) espx loaded, with SAs passing traffic:
#      - modprobe esp4/esp6 is refused by espx's module notifier before their
#        init runs. There is no WARN, and traffic and new SAs still work.
#      - With espx.guard_esp=0, esp4/esp6 do load. xfrm_register_type()
#        WARNs (one WARN each, expected: see the espx-expect-splat lines),
#        esp4/esp6 fail with EAGAIN and leave the ESP slot empty, and espx
#        logs "lost the ESP type" and registers again. Existing SAs pass
#        traffic, new SAs use espx, and unloading shows no WARN.
#      - ESPX_CMD_INFO_GET (espx_genl info) says type_lost_ipv4/6=0 while
#        espx owns the slots: before the intrusion, and after espx took them
#        back. (esp4/esp6 cannot keep the slot while espx holds the ESP
#        protocol handler: their init fails and espx re-registers in the same
#        modprobe. (d) uses a module that keeps it.)
#  (d) espx loaded, with SAs: the test-only module espx_hold
#      (selftests/modules/, built next to espx.ko) takes the ESP slot of
#      IPv4, IPv6 or both without a WARN and keeps it while loaded. espx logs
#      the loss and INFO_GET says type_lost=1 for that family only; existing
#      SAs keep passing traffic; new SAs of that family get espx_hold's type,
#      which refuses them (its extack), those of the other
#      family still get espx's. rmmod espx_hold empties the slot before espx's
#      GOING notifier runs, so espx registers again: type_lost=0, new SAs get
#      espx. The loss is reported again on the next load of the holder.
#  (c) rmmod espx with an SA is refused (EBUSY). After a flush it works, and
#      after a reload INFO_GET says type_lost=0 again.
#  (e) unload order "espx, then the holder": with espx_hold holding both
#      slots, rmmod espx (no SAs) leaves them alone (message, no WARN) and
#      insmod espx is refused (names espx_hold). rmmod espx_hold without espx
#      does not WARN, and then espx loads, owns ESP and carries traffic.
# ESPX_CLASH_NO_WARN=1 skips the part that provokes the core WARN. Without
# espx_hold.ko (ESPX_HOLD_KO, default: next to ESPX_KO) (d) and (e) are
# skipped. espx is left loaded.
. "$(dirname "$0")/lib.sh"

G=$ESPX_BIN/espx_genl
KEY=0x0102030405060708090a0b0c0d0e0f10a0a1a2a3
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'
REG_WARN='WARNING: CPU: [0-9]+ PID: [0-9]+ at net/xfrm/xfrm_state\.c:[0-9]+ xfrm_register_type\+'
MARK=none

loaded() { grep -q "^$1 " /proc/modules; }

# insmod does not load espx's dependencies (xfrm_algo, ...): do that first.
espx_load() {
	local deps
	deps=$(modinfo -F depends "$ESPX_KO" | tr , ' ')
	[ -z "$deps" ] || modprobe -a $deps
	insmod "$ESPX_KO"
}

# mark: a new dmesg marker; since_mark: the kernel log after it.
mark() {	# unique: check runs its command in a subshell, so no counter
	MARK=$$-$(date +%s%N)
	echo "espx-selftest: clash mark $MARK" >/dev/kmsg
}
since_mark() { dmesg | sed -n "/espx-selftest: clash mark $MARK\$/,\$p"; }
no_splat() {	# since_mark | grep -E "$SPLAT" in one awk (a fork less, ~0.3 s under TCG)
	local s
	s=$(dmesg | awk -v m="espx-selftest: clash mark $MARK" -v re="$SPLAT" '
		!f && length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m { f = 1 }
		f && $0 ~ re')
	[ -n "$s" ] || return 0
	echo "$s"
	return 1
}
log_has() { since_mark | grep -qE -- "$1" || { echo "no '$1' in the kernel log"; return 1; }; }

refcnt() { cat /sys/module/espx/refcnt; }
load_clean() { espx_load && no_splat; }

# new_sa SPI [4|6]: one more SA (in B); it must take a reference on espx's type.
new_sa() {
	local src=10.9.9.9 dst=$B4 r0
	[ "${2:-4}" = 6 ] && src=fd00:99::9 dst=$B6
	r0=$(refcnt)
	ip -n "$B" xfrm state add src $src dst $dst proto esp spi "$1" mode transport \
		aead 'rfc4106(gcm(aes))' $KEY 128 || return 1
	[ "$(refcnt)" = $((r0 + 1)) ] || { echo "espx refcnt $r0 -> $(refcnt)"; return 1; }
}

# rmmod_busy: rmmod espx fails with EBUSY ("in use") and espx stays.
rmmod_busy() {
	local out
	if out=$(rmmod espx 2>&1); then
		echo "rmmod espx succeeded"
		return 1
	fi
	grep -q "in use" <<<"$out" || { echo "rmmod: $out"; return 1; }
	loaded espx
}

# insmod_fails FAMILY MODULE: espx refuses to load, names MODULE, no WARN.
insmod_fails() {
	local fam=$1 mod=$2 out
	mark
	if out=$(espx_load 2>&1); then
		echo "insmod espx succeeded with $mod loaded"
		return 1
	fi
	grep -q "Device or resource busy" <<<"$out" || { echo "insmod: $out (want EBUSY)"; return 1; }
	log_has "espx: ESP for $fam is owned by module $mod: unload it first" &&
	! loaded espx && no_splat
}

# modprobe_espx_fails FAMILY MODULE: modprobe espx (from a module tree that holds only
# espx.ko) exits non-zero, the log names MODULE, espx is not loaded.
modprobe_espx_fails() {
	local fam=$1 mod=$2 out rc d kver deps
	kver=$(uname -r) d=$(mktemp -d)
	mkdir -p "$d/lib/modules/$kver" && cp "$ESPX_KO" "$d/lib/modules/$kver/" &&
		depmod -b "$d" "$kver" 2>/dev/null || { rm -rf "$d"; echo "depmod failed"; return 1; }
	deps=$(modinfo -F depends "$ESPX_KO" | tr , ' ')
	[ -z "$deps" ] || modprobe -a $deps
	mark
	out=$(modprobe -d "$d" espx 2>&1)
	rc=$?
	rm -rf "$d"
	[ $rc != 0 ] || { echo "modprobe espx exited 0 with $mod loaded: $out"; return 1; }
	log_has "espx: ESP for $fam is owned by module $mod: unload it first \(rmmod " &&
	! loaded espx && no_splat
}

# --- topology for (b) and (c): A and B, transport SAs for IPv4 and IPv6
A4=192.168.30.1 B4=192.168.30.2 A6=fd00:30::1 B6=fd00:30::2
setup() {
	A=$(ns_new a) && B=$(ns_new b) || return 1
	veth_pair "$A" "$B" || return 1
	ip -n "$A" addr add $A4/24 dev veth0
	ip -n "$B" addr add $B4/24 dev veth0
	ip -n "$A" addr add $A6/64 dev veth0 nodad
	ip -n "$B" addr add $B6/64 dev veth0 nodad
	# static neighbours: ND must not depend on the policies under test
	ip -n "$A" neigh replace $B6 lladdr "$(mac "$B")" dev veth0 nud permanent
	ip -n "$B" neigh replace $A6 lladdr "$(mac "$A")" dev veth0 nud permanent
}
mac() { ip -n "$1" -br link show veth0 | awk '{print $3}'; }

# sa_pair SPI_BASE SRC DST: SAs + policies for SRC<->DST in both namespaces.
sa_pair() {
	local s=$1 a=$2 b=$3 ns pl=32
	[[ $a == *:* ]] && pl=128
	for ns in "$A" "$B"; do
		ip -n "$ns" xfrm state add src $a dst $b proto esp spi $s mode transport \
			aead 'rfc4106(gcm(aes))' $KEY 128 || return 1
		ip -n "$ns" xfrm state add src $b dst $a proto esp spi $((s + 1)) \
			mode transport aead 'rfc4106(gcm(aes))' $KEY 128 || return 1
	done
	ip -n "$A" xfrm policy add dir out src $a/$pl dst $b/$pl tmpl proto esp mode transport &&
	ip -n "$A" xfrm policy add dir in src $b/$pl dst $a/$pl tmpl proto esp mode transport &&
	ip -n "$B" xfrm policy add dir out src $b/$pl dst $a/$pl tmpl proto esp mode transport &&
	ip -n "$B" xfrm policy add dir in src $a/$pl dst $b/$pl tmpl proto esp mode transport
}

# pkts SRC DST: packets counted by A's SA(s) SRC -> DST.
pkts() {
	ip -n "$A" -s xfrm state list src "$1" dst "$2" |
		awk '{ for (i = NF; i > 0; i--) if ($i ~ /^[0-9]+\(packets\)/) { sub(/\(.*/, "", $i); n += $i; break } }
		     END { print n + 0 }'
}

# traffic: IPv4 and IPv6 pings through the SAs, and the outbound SAs counted
# them (not a policy bypass).
traffic() {
	local b4 b6
	b4=$(pkts $A4 $B4) b6=$(pkts $A6 $B6)
	ip netns exec "$A" ping -c 2 -i 0.3 -W 2 -q $B4 >/dev/null || { echo "ping $B4 failed"; return 1; }
	ip netns exec "$A" ping -6 -c 2 -i 0.3 -W 2 -q $B6 >/dev/null || { echo "ping $B6 failed"; return 1; }
	[ "$(pkts $A4 $B4)" -ge $((b4 + 2)) ] || { echo "IPv4 SA: $b4 -> $(pkts $A4 $B4) packets"; return 1; }
	[ "$(pkts $A6 $B6)" -ge $((b6 + 2)) ] || { echo "IPv6 SA: $b6 -> $(pkts $A6 $B6) packets"; return 1; }
}

# lost_flags V4 [V6]: the netlink view of espx_type_lost() (ESPX_CMD_INFO_GET) is V4 for
# IPv4 and V6 (default V4) for IPv6. A module without INFO_GET fails here (EOPNOTSUPP).
lost_flags() {
	local out
	out=$("$G" status 2>&1) || { echo "espx_genl status: $out"; return 1; }
	grep -qx "type_lost_ipv4=$1" <<<"$out" && grep -qx "type_lost_ipv6=${2:-$1}" <<<"$out" ||
		{ echo "$out"; return 1; }
}

# modprobe_refused MODULE FAMILY: espx's notifier stops MODULE before its init.
modprobe_refused() {
	local mod=$1 fam=$2 out
	mark
	if out=$(modprobe "$mod" 2>&1); then
		echo "modprobe $mod succeeded"
		return 1
	fi
	grep -q "Device or resource busy" <<<"$out" || { echo "modprobe: $out (want EBUSY)"; return 1; }
	log_has "espx: refusing to load $mod: espx provides ESP for $fam" &&
	! loaded "$mod" && no_splat
}

# intrude MODULE FAMILY: guard off; MODULE's init WARNs in xfrm_register_type,
# fails, and espx takes the type back. Exactly that one WARN since the mark.
intrude() {
	local mod=$1 fam=$2 out n
	mark
	if out=$(modprobe "$mod" 2>&1); then
		echo "modprobe $mod succeeded"
		return 1
	fi
	grep -q "Resource temporarily unavailable" <<<"$out" || { echo "modprobe: $out"; return 1; }
	! loaded "$mod" || { echo "$mod loaded"; return 1; }
	n=$(since_mark | grep -cE 'WARNING:')
	[ "$n" = 1 ] || { echo "$n WARNINGs, want exactly 1"; since_mark; return 1; }
	log_has "$REG_WARN" || return 1
	since_mark | sed -n '/Call Trace:/,/end trace/p' | grep -q " ${mod}_init+" ||
		{ echo "the WARN is not from ${mod}_init"; since_mark; return 1; }
	n=$(since_mark | grep -cE "$SPLAT")
	[ "$n" = 2 ] || { echo "$n splat lines, want 2 (WARNING, Call Trace)"; since_mark; return 1; }
	log_has "${mod}_init: can't add protocol" &&
	log_has "espx: lost the ESP type for $fam: the slot was emptied while module $mod was loading or unloading .*; registering espx's type again"
}

# ---------------------------------------------------------------- espx_hold
HOLD_KO=${ESPX_HOLD_KO:-$(dirname "${ESPX_KO:-.}")/espx_hold.ko}
HOLD_MSG='espx_hold: test module holding the ESP type: no SA accepted'
fams() { case $1 in 4) echo IPv4 ;; 6) echo IPv6 ;; 46) echo IPv4 IPv6 ;; esac; }
others() { case $1 in 4) echo IPv6 ;; 6) echo IPv4 ;; esac; }
log_lacks() { ! since_mark | grep -qE -- "$1" || { echo "unexpected '$1' in the kernel log"; return 1; }; }

# hold_load 4|6|46: espx_hold takes those slots, espx reports each loss
# (once per loss), and nothing else; no WARN.
hold_load() {
	local f
	mark
	insmod "$HOLD_KO" family="$1" || return 1
	loaded espx_hold || { echo "espx_hold not loaded"; return 1; }
	for f in $(fams "$1"); do
		log_has "espx_hold: holding the ESP type for $f\$" &&
		log_has "espx: lost the ESP type for $f to module espx_hold: new $f ESP SAs no longer use espx, existing ones still do" ||
			return 1
	done
	for f in $(others "$1"); do
		log_lacks "(holding|lost) the ESP type for $f" || return 1
	done
	no_splat
}

# hold_unload 4|6|46: the holder's exit empties its slots, then espx's GOING
# notifier sees them empty and registers again (the order the test relies on).
hold_unload() {
	local f
	mark
	rmmod_retry espx_hold || return 1
	for f in $(fams "$1"); do
		log_has "espx: module espx_hold no longer holds the ESP type for $f: registering espx's type again" ||
			return 1
	done
	for f in $(others "$1"); do
		log_lacks "ESP type for $f" || return 1
	done
	no_splat
}

new_sas() { new_sa "$1" 4 && new_sa "$2" 6; }	# new_sas SPI4 SPI6

# sa_refused SPI 4|6: with espx_hold in the slot, a new SA fails cleanly in
# espx_hold's init_state (which returns EPROTONOSUPPORT; ip shows only the
# extack, not the errno): its extack, no state, espx's refcount unchanged, no
# WARN.
sa_refused() {
	local spi=$1 src=10.9.9.9 dst=$B4 r0 out
	[ "$2" = 6 ] && src=fd00:99::9 dst=$B6
	r0=$(refcnt)
	mark
	if out=$(ip -n "$B" xfrm state add src $src dst $dst proto esp spi "$spi" mode transport \
		 aead 'rfc4106(gcm(aes))' $KEY 128 2>&1); then
		echo "SA $spi added"
		return 1
	fi
	grep -qF "Error: $HOLD_MSG" <<<"$out" || { echo "ip: $out (want espx_hold's extack)"; return 1; }
	[ -z "$(ip -n "$B" xfrm state list spi "$spi")" ] || { echo "state $spi exists"; return 1; }
	[ "$(refcnt)" = "$r0" ] || { echo "espx refcnt $r0 -> $(refcnt)"; return 1; }
	no_splat
}

NPLAN=63 ND=26 NE=8
ktap_header
ktap_plan $NPLAN

if [ -z "${ESPX_KO:-}" ] || [ ! -r "$ESPX_KO" ]; then
	for _ in $(seq $NPLAN); do ktap_skip "ESPX_KO not set or not readable"; done
	ktap_finish
fi
loaded espx || espx_load
echo "espx-selftest: clash start" >/dev/kmsg
HOLD=1
[ -r "$HOLD_KO" ] || { HOLD=0; ktap_info "no $HOLD_KO (make -C selftests/modules): (d), (e) skipped"; }

# ---------------------------------------------------------------- (a)
check "(a) rmmod espx" rmmod_retry espx
modprobe esp4
check "(a) esp4 loaded, espx refuses to load: names esp4, EBUSY, no WARN" insmod_fails IPv4 esp4
check "(a) esp4 loaded, modprobe espx exits non-zero, the log says what to rmmod" \
	modprobe_espx_fails IPv4 esp4
rmmod esp4
modprobe esp6
check "(a) esp6 loaded, espx refuses to load: names esp6, EBUSY, no WARN" insmod_fails IPv6 esp6
check "(a) esp6 loaded, modprobe espx exits non-zero, the log says what to rmmod" \
	modprobe_espx_fails IPv6 esp6
check "(a) esp6 unloads" rmmod esp6
mark
check "(a) espx loads once esp4/esp6 are gone, no WARN" load_clean

# ---------------------------------------------------------------- (b)
LOG=/tmp/espx-clash-$$.log
trap 'rm -f "$LOG"; loaded espx_hold && rmmod_retry espx_hold; __cleanup' EXIT
if ! setup >"$LOG" 2>&1 || ! sa_pair 0x100 $A4 $B4 >>"$LOG" 2>&1 ||
   ! sa_pair 0x200 $A6 $B6 >>"$LOG" 2>&1; then
	ktap_fail "(b) setup"
	sed 's/^/#   /' "$LOG"
else
	ktap_ok "(b) namespaces and SAs (IPv4, IPv6) set up"
fi
check "(b) traffic through the espx SAs" traffic
check "(b) modprobe esp4 refused (EBUSY) by espx, before its init: no WARN" modprobe_refused esp4 IPv4
check "(b) modprobe esp6 refused (EBUSY) by espx, before its init: no WARN" modprobe_refused esp6 IPv6
check "(b) traffic still passes" traffic
check "(b) a new SA still gets espx's type (espx refcount +1)" new_sa 0x999
check "(b) netlink: type not lost (IPv4, IPv6)" lost_flags 0

if [ "${ESPX_CLASH_NO_WARN:-0}" = 1 ]; then
	for _ in $(seq 6); do ktap_skip "(b) guard_esp=0: ESPX_CLASH_NO_WARN=1"; done
else
	# The harness drops exactly these lines from its splat check (scripts/vm-tests.sh).
	echo "# espx-expect-splat: $REG_WARN"
	echo "# espx-expect-splat: \] Call Trace:\$"
	echo N >/sys/module/espx/parameters/guard_esp
	check "(b) guard_esp=0, modprobe esp4: one WARN in xfrm_register_type from esp4_init, esp4 fails, espx says it lost IPv4 and re-registers" \
		intrude esp4 IPv4
	check "(b) guard_esp=0, modprobe esp6: same for IPv6" intrude esp6 IPv6
	echo Y >/sys/module/espx/parameters/guard_esp
	check "(b) existing SAs still pass traffic" traffic
	check "(b) a new SA gets espx's type again (espx refcount +1)" new_sa 0x998
	check "(b) netlink: type not lost after re-registering (IPv4, IPv6)" lost_flags 0
	check "(b) esp4/esp6 not left loaded" bash -c "! grep -qE '^esp[46] ' /proc/modules"
fi

# ---------------------------------------------------------------- (d)
if [ $HOLD = 0 ]; then
	for _ in $(seq $ND); do ktap_skip "(d) no espx_hold.ko"; done
else
	check "(d) insmod espx_hold family=4: takes the IPv4 slot, espx logs the loss of IPv4 only, no WARN" \
		hold_load 4
	check "(d) netlink: type_lost_ipv4=1, type_lost_ipv6=0" lost_flags 1 0
	check "(d) existing IPv4 and IPv6 espx SAs still pass traffic (SA counters grow)" traffic
	check "(d) new IPv4 SA refused by espx_hold's init_state (its extack, no state, espx refcount unchanged, no WARN)" \
		sa_refused 0x901 4
	check "(d) new IPv6 SA still gets espx's type (espx refcount +1)" new_sa 0x902 6
	check "(d) rmmod espx_hold: espx's GOING notifier finds IPv4 empty and registers again, no WARN" \
		hold_unload 4
	check "(d) netlink: type not lost (IPv4, IPv6)" lost_flags 0
	check "(d) new IPv4 SA gets espx's type again (espx refcount +1)" new_sa 0x903 4

	check "(d) insmod espx_hold family=6: takes the IPv6 slot, espx logs the loss of IPv6 only, no WARN" \
		hold_load 6
	check "(d) netlink: type_lost_ipv4=0, type_lost_ipv6=1" lost_flags 0 1
	check "(d) new IPv6 SA refused by espx_hold (its extack, no state, no WARN)" \
		sa_refused 0x904 6
	check "(d) new IPv4 SA still gets espx's type (espx refcount +1)" new_sa 0x905 4
	check "(d) existing SAs still pass traffic" traffic
	check "(d) rmmod espx_hold: espx registers IPv6 again, no WARN" hold_unload 6
	check "(d) netlink: type not lost (IPv4, IPv6)" lost_flags 0
	check "(d) new IPv6 SA gets espx's type again (espx refcount +1)" new_sa 0x906 6

	check "(d) insmod espx_hold family=46: both slots; espx logs both losses (IPv4 again: the report re-arms), no WARN" \
		hold_load 46
	check "(d) netlink: type_lost_ipv4=1, type_lost_ipv6=1" lost_flags 1
	check "(d) new IPv4 SA refused by espx_hold" sa_refused 0x907 4
	check "(d) new IPv6 SA refused by espx_hold" sa_refused 0x908 6
	check "(d) existing SAs still pass traffic" traffic
	check_fail "(d) rmmod espx with SAs is still refused" rmmod espx
	check "(d) rmmod espx_hold: espx registers IPv4 and IPv6 again, no WARN" hold_unload 46
	check "(d) netlink: type not lost (IPv4, IPv6)" lost_flags 0
	check "(d) new IPv4 and IPv6 SAs get espx's type" new_sas 0x909 0x90a
	check "(d) traffic after the holder is gone" traffic
fi

# ---------------------------------------------------------------- (c)
mark
check_fail "(c) rmmod espx with SAs present is refused" rmmod espx
check "(c) ... with EBUSY ('in use'), espx still loaded" rmmod_busy
check "(c) traffic after the refused rmmod" traffic
ip -n "$A" xfrm state flush
ip -n "$B" xfrm state flush
check "(c) after ip xfrm state flush, rmmod espx works" rmmod_retry espx
check "(c) esp4/esp6 load and unload cleanly without espx (slots were left empty)" \
	bash -c "modprobe esp4 && modprobe esp6 && rmmod esp4 esp6"
check "(c) espx loads again" espx_load
check "(c) netlink: type not lost after the reload (IPv4, IPv6)" lost_flags 0
check "(c) no splat since the rmmod" no_splat

# ---------------------------------------------------------------- (e)
# rmmod_leaves: espx (no SAs) unloads while espx_hold holds both slots and
# leaves them alone: it says so, and the core does not WARN.
rmmod_leaves() {
	mark
	rmmod_retry espx || return 1
	log_has "espx: leaving the ESP type for IPv4 to module espx_hold" &&
	log_has "espx: leaving the ESP type for IPv6 to module espx_hold" &&
	no_splat
}
# hold_gone: espx_hold unloads without espx (empty slots), no WARN.
hold_gone() {
	mark
	rmmod_retry espx_hold && ! loaded espx_hold && no_splat
}
# fresh_sas: new SAs and policies through the reloaded espx carry traffic.
fresh_sas() {
	sa_pair 0x300 $A4 $B4 && sa_pair 0x400 $A6 $B6 || return 1
	traffic
}

if [ $HOLD = 0 ]; then
	for _ in $(seq $NE); do ktap_skip "(e) no espx_hold.ko"; done
else
	ip -n "$A" xfrm policy flush
	ip -n "$B" xfrm policy flush
	check "(e) insmod espx_hold family=46 (espx loaded, no SAs): both losses logged, no WARN" hold_load 46
	check "(e) rmmod espx first: it leaves both slots to espx_hold (message), no WARN" rmmod_leaves
	check "(e) insmod espx refused while espx_hold holds ESP: names espx_hold, EBUSY, no WARN" \
		insmod_fails IPv4 espx_hold
	check "(e) then rmmod espx_hold (without espx): no WARN" hold_gone
	mark
	check "(e) espx loads again, no WARN" load_clean
	check "(e) netlink: type not lost (IPv4, IPv6)" lost_flags 0
	check "(e) new SAs through the reloaded espx carry IPv4 and IPv6 traffic" fresh_sas
	ip -n "$A" xfrm state flush
	ip -n "$B" xfrm state flush
	check "(e) after a flush espx drops every SA reference (refcnt 0)" \
		bash -c 'for _ in $(seq 50); do [ "$(cat /sys/module/espx/refcnt)" = 0 ] && exit 0; sleep 0.2; done; exit 1'
fi

only_expected_splats() {
	local s
	s=$(dmesg | sed -n '/espx-selftest: clash start/,$p' | grep -E "$SPLAT" |
	    grep -vE "$REG_WARN|\] Call Trace:\$") || return 0
	echo "$s"
	return 1
}
check "kernel log: no splat other than the expected xfrm_register_type WARNs" only_expected_splats
loaded espx || espx_load
ktap_finish
