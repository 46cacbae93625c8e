#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hardware offload requests on espx SAs (README "Limits"). espx registers no
# xfrm_type_offload and esp4_offload/esp6_offload cannot load beside it (they
# need esp4/esp6, which espx's module notifier refuses), and x->xso is only
# set after init_state, so the xfrm core itself refuses an SA add with an
# offload device: "Type doesn't support offload" (EINVAL), on 6.1 and 6.12,
# whether the device exists, can offload or not. This test checks that:
#  - "ip xfrm state add ... offload dev DEV dir in|out" (IPv4, IPv6; a dummy
#    device, no netdevsim) fails with that message and leaves no state, no
#    espx object, no module reference; a plain SA still works after;
#  - esp4/esp6/esp4_offload/esp6_offload do not get loaded by the attempts;
#  - log spam: each attempt makes the core request esp4_offload (module
#    autoload), which espx vetoes; those 4 and 40 more attempts by an
#    unprivileged user in its own user and network namespace give at most 3
#    "refusing to load" lines a minute (at least one: the path was taken).
#    espx is reloaded first: the rate limit starts afresh.
. "$(dirname "$0")/lib.sh"

KEY=0x0123456789abcdef0123456789abcdef01234567
OBJ=/sys/kernel/debug/espx/sa_objects
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'
VETO='espx: refusing to load esp[46]'
# Each attempt makes the kernel run modprobe (about 1.5 s under emulation); 4 + 12 in less
# than a minute are more than the 3 lines a minute the log allows.
TRIES=12

loaded() { grep -q "^$1 " /proc/modules; }
mark() {
	MARK=$$-$(date +%s%N)
	echo "espx-selftest: offload mark $MARK" >/dev/kmsg
}
since_mark() { dmesg | sed -n "/espx-selftest: offload mark $MARK\$/,\$p"; }
refcnt() { cat /sys/module/espx/refcnt; }
objects() { cat "$OBJ" 2>/dev/null || echo 0; }

# offload_refused FAMILY DIR: the add fails with the core's message, nothing is left
offload_refused() {
	local fam=$1 dir=$2 src=192.0.2.1 dst=192.0.2.2 out r0 o0 i
	[ "$fam" = 6 ] && src=2001:db8::1 dst=2001:db8::2
	r0=$(refcnt) o0=$(objects)
	if out=$(ip -n "$NS" xfrm state add src $src dst $dst proto esp spi 0x100 mode transport \
		 aead 'rfc4106(gcm(aes))' $KEY 128 offload dev dummy0 dir "$dir" 2>&1); then
		echo "SA added: $(ip -n "$NS" xfrm state list)"
		ip -n "$NS" xfrm state flush
		return 1
	fi
	grep -qi "offload" <<<"$out" || { echo "ip: $out (want a message about offload)"; return 1; }
	[ -z "$(ip -n "$NS" xfrm state list)" ] || { echo "a state is left"; return 1; }
	for i in $(seq 50); do	# the failed state is destroyed by the xfrm GC work
		[ "$(refcnt)" = "$r0" ] && [ "$(objects)" = "$o0" ] && break
		sleep 0.1
	done
	[ "$(refcnt)" = "$r0" ] || { echo "espx refcnt $r0 -> $(refcnt)"; return 1; }
	[ "$(objects)" = "$o0" ] || { echo "espx objects $o0 -> $(objects)"; return 1; }
	echo "$out"
}

plain_sa() {
	local r0
	r0=$(refcnt)
	ip -n "$NS" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x101 mode transport \
		aead 'rfc4106(gcm(aes))' $KEY 128 || return 1
	[ "$(refcnt)" = $((r0 + 1)) ] || { echo "espx refcnt $r0 -> $(refcnt)"; return 1; }
	ip -n "$NS" xfrm state flush
}

no_rivals() {
	local m
	for m in esp4 esp6 esp4_offload esp6_offload; do
		! loaded $m || { echo "$m loaded"; return 1; }
	done
}

# userns_attempts: TRIES offload adds by nobody in a user + network namespace of its own
# (falls back to root's own user namespace without setpriv or unprivileged userns)
userns_attempts() {
	local body="ip link add dummy0 type dummy && ip link set dummy0 up &&
		for i in \$(seq $TRIES); do
			ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x200 \
				mode transport aead 'rfc4106(gcm(aes))' $KEY 128 \
				offload dev dummy0 dir in 2>/dev/null && exit 1
		done; exit 0"
	if [ "$WHO" = nobody ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn sh -c "$body"
	else
		unshare -Urn sh -c "$body"
	fi
}
WHO=root
command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn true 2>/dev/null && WHO=nobody

ktap_header
ktap_plan 9
loaded espx || { ktap_info "espx not loaded"; for _ in $(seq 9); do ktap_skip "no espx"; done; ktap_finish; }
# a fresh espx: no earlier refusal counts against the rate limit
for _ in $(seq 50); do	# the xfrm GC may still hold an SA of an earlier test
	rmmod espx 2>/dev/null && break
	sleep 0.2
done
loaded espx || { modprobe -a $(modinfo -F depends "$ESPX_KO" | tr , ' '); insmod "$ESPX_KO"; }

NS=$(ns_new off)
ip -n "$NS" link add dummy0 type dummy && ip -n "$NS" link set dummy0 up
ip -n "$NS" addr add 192.0.2.1/24 dev dummy0
ip -n "$NS" addr add 2001:db8::1/64 dev dummy0 nodad
mark
MARK0=$MARK T0=$SECONDS
for f in 4 6; do
	for d in in out; do
		out=$(offload_refused $f $d 2>&1)
		rc=$?
		if [ $rc = 0 ]; then
			ktap_ok "IPv$f offload dev dummy0 dir $d: refused ($(tr '\n' ' ' <<<"$out")), no state, no reference"
		else
			ktap_fail "IPv$f offload dev dummy0 dir $d: $out"
		fi
	done
done
check "a plain SA still gets espx's type afterwards" plain_sa
check "esp4, esp6, esp4_offload, esp6_offload not loaded by the attempts" no_rivals

out=$(userns_attempts 2>&1)
rc=$?
MARK=$MARK0
n=$(since_mark | grep -cE "$VETO")
# the limit: 3 lines in each minute that began with a refusal
max=$((3 * ((SECONDS - T0) / 60 + 1)))
ktap_info "4 + $TRIES attempts, $TRIES by $WHO (uid $([ $WHO = nobody ] && echo 65534 || echo 0)) in its own user namespace: $n line(s) '$VETO'"
if [ $rc = 0 ] && [ "$n" -ge 1 ] && [ "$n" -le $max ]; then
	ktap_ok "log spam: 4 + $TRIES offload adds in $((SECONDS - T0)) s, $TRIES from a user namespace: $n log line(s) (1..$max)"
else
	ktap_fail "log spam: 4 + $TRIES offload adds in $((SECONDS - T0)) s, $TRIES from a user namespace (rc $rc: $out): $n log lines, want 1..$max"
	since_mark | grep -E "$VETO" | tail -3 | sed 's/^/#   /'
fi
check "... and no rival module loaded" no_rivals
check "kernel log clean since the first attempt" bash -c "! dmesg | sed -n '/espx-selftest: offload mark/,\$p' | grep -E '$SPLAT'"
ktap_finish
