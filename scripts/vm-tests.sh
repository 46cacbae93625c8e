#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs INSIDE the test VM: every selftest (or the ones named) with espx loaded, each in its
# own process, with a timeout, then looks at the kernel log for splats the test caused.
#   vm-tests.sh OUTDIR ESPX_KO [test ...]
# Writes OUTDIR/<test>.ktap (the test's KTAP) and OUTDIR/<test>.rc, plus OUTDIR/<test>.dmesg
# holding any splat. A test may declare a splat it provokes on purpose by printing
#   # espx-expect-splat: <extended regex>
# the harness then drops dmesg lines that match it (and only those) from the verdict.
set -uo pipefail
out=$1 ko=$2; shift 2
here=$(dirname "$(readlink -f "$0")")
top=$(dirname "$here")
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	# TEST_PROGS, continuation lines included
	mapfile -t tests < <(awk '/^TEST_PROGS[ \t]*[+:]?=/ { p = 1; sub(/^[^=]*=/, "") }
				  p { c = sub(/\\$/, ""); print; if (!c) p = 0 }' \
				  "$top/selftests/Makefile" | tr ' \t' '\n\n' | sed -n 's/\.sh$//p')
fi
timeout_s=${ESPX_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$top/selftests/settings")}
# make check-debug: a kernel with KASAN, lockdep, ... runs everything several times slower
timeout_s=$((timeout_s * ${ESPX_TIMEOUT_SCALE:-1}))
# check.sh's probe: a host directory the guest sees only if vm.sh mapped it
[ -z "${ESPX_VM_PROBE:-}" ] || cat "$ESPX_VM_PROBE/marker" >"$out/probe" 2>&1

export ESPX_KO=$ko
export ESPX_BIN=${ESPX_BIN:-$top/build/selftests}
export IP=${IP:-$top/build/iproute2/ip/ip}
[ -x "$IP" ] || IP=ip
export PATH=$top/build/selftests:$PATH

SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption|rcu.*stall|hung_task'
# The debug kernel's own reports (make check-debug, ESPX_VM_DEBUG=1): lockdep and RCU
# ("WARNING: possible circular locking ...", "BUG: sleeping function called from invalid
# context" match above), SLUB's slub_debug checks ("BUG kmalloc-64 (Not tainted): Redzone
# overwritten"), list and scatterlist debugging, kmemleak (read from debugfs below).
if [ -n "${ESPX_VM_DEBUG:-}" ]; then
	SPLAT+='|DEBUG_LOCKS_WARN_ON|INFO: |BUG [^ ]+ \((Not t|T)ainted|Redzone|Poison overwritten|Object padding|list_add corruption|kmemleak: .*leak'
fi
KMEMLEAK=/sys/kernel/debug/kmemleak
# kmemleak_report: the objects kmemleak finds unreferenced now (it reports only those older
# than 5 s), then forgets them. Two scans: an object that was only in flight (a pointer in a
# register, an skb on a queue) during the first one is referenced in the second.
# ESPX_KMEMLEAK=end: only after the final rmmod (two scans take about 5 minutes on the
# debug kernel under TCG at load 12: after every test they dominate a short test's time).
kmemleak_report() {
	[ -n "${ESPX_VM_DEBUG:-}" ] && [ -w "$KMEMLEAK" ] || return 0
	sleep 5
	echo scan >"$KMEMLEAK" && echo scan >"$KMEMLEAK" && cat "$KMEMLEAK"
	echo clear >"$KMEMLEAK"
}
if [ -n "${ESPX_VM_DEBUG:-}" ]; then
	# what check.sh verifies is on
	{
		grep -qw kasan_report /proc/kallsyms && echo kasan
		grep -qw __ubsan_handle_out_of_bounds /proc/kallsyms && echo ubsan
		[ -w "$KMEMLEAK" ] && echo kmemleak
		[ -e /proc/lockdep ] && echo lockdep
		grep -qw 'slub_debug[^ ]*' /proc/cmdline && echo slub_debug
	} >"$out/debug-features"
	if [ -w "$KMEMLEAK" ]; then
		# what booting leaked is not ours: kept for reference, not a verdict
		kmemleak_report >"$out/boot.kmemleak"
	else
		echo "no $KMEMLEAK: kernel without kmemleak or debugfs not mounted" >"$out/boot.kmemleak"
	fi
fi

ensure_espx() {
	local m
	for m in esp4_offload esp6_offload esp4 esp6; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
	grep -q '^espx ' /proc/modules && { pending_scale; return 0; }
	# insmod does not resolve dependencies (xfrm_algo, ...): load them first.
	modprobe -a $(modinfo -F depends "$ko" | tr , ' ') && insmod "$ko" && pending_scale
}
# A pending config lives 60 s (espx's pending_timeout); on the debug kernel genl.sh alone
# took longer than that between a SET and its DEL: scale it like the test timeout.
pending_scale() {
	local pt=/sys/module/espx/parameters/pending_timeout
	local v=$((60 * ${ESPX_TIMEOUT_SCALE:-1}))
	[ "$v" -gt 60 ] && [ -w "$pt" ] || return 0
	[ "$v" -le 3600 ] || v=3600	# the module's maximum
	echo "$v" >"$pt" || true
}

for t in "${tests[@]}"; do
	script=$top/selftests/$t.sh
	dmesg -c >/dev/null
	echo "espx-harness: start $t" >/dev/kmsg
	if ! ensure_espx 2>"$out/$t.ktap"; then
		echo "not ok 1 $t: insmod espx failed" >>"$out/$t.ktap"
		echo 1 >"$out/$t.rc"
		continue
	fi
	start=$(date +%s)
	if [ -n "${ESPX_TRACE:-}" ]; then
		# Profile: every command with its wall-clock time and source line, to
		# OUTDIR/<test>.trace (scripts/profile.py sums the time per line).
		timeout --kill-after=10 "$timeout_s" bash -c '
			exec 9>"$1"; set --; BASH_XTRACEFD=9
			PS4='\''+${EPOCHREALTIME} ${BASH_SOURCE[0]##*/}:${LINENO} '\''
			set -x; . "$0"' "$script" "$out/$t.trace" >"$out/$t.ktap" 2>&1
	else
		timeout --kill-after=10 "$timeout_s" bash "$script" >"$out/$t.ktap" 2>&1
	fi
	rc=$?
	echo "# $t: rc=$rc in $(( $(date +%s) - start ))s" >>"$out/$t.ktap"
	expect=$(sed -n 's/^# espx-expect-splat: //p' "$out/$t.ktap" | paste -sd'|')
	dmesg | grep -E "$SPLAT" | { if [ -n "$expect" ]; then grep -Ev "$expect"; else cat; fi; } \
		>"$out/$t.dmesg" || true
	# a leak is a splat too: its first lines (object, size, backtrace) in the verdict
	if [ "${ESPX_KMEMLEAK:-test}" = end ]; then
		: >"$out/$t.kmemleak"
	else
		start=$(date +%s)
		kmemleak_report >"$out/$t.kmemleak"
		[ -n "${ESPX_VM_DEBUG:-}" ] &&
			echo "# $t: kmemleak scans took $(( $(date +%s) - start ))s" >>"$out/$t.ktap"
	fi
	if [ -s "$out/$t.kmemleak" ]; then
		echo "kmemleak: $(grep -c '^unreferenced object' "$out/$t.kmemleak") unreferenced objects after $t:" >>"$out/$t.dmesg"
		head -n 40 "$out/$t.kmemleak" >>"$out/$t.dmesg"
	else
		rm -f "$out/$t.kmemleak"
	fi
	[ -s "$out/$t.dmesg" ] && dmesg >"$out/$t.dmesg.full"
	# last: check.sh reports a test as soon as its .rc exists
	echo "$rc" >"$out/$t.rc"
done
# Leave no trace of espx for the next boot's log; an unload problem is a failure too.
dmesg -c >/dev/null
grep -q '^espx ' /proc/modules && { rmmod espx || echo "rmmod espx failed" >"$out/final-rmmod.err"; }
dmesg | grep -E "$SPLAT" >"$out/final.dmesg" || true
# what espx still held when it was unloaded
kmemleak_report >"$out/final.kmemleak"
[ -s "$out/final.kmemleak" ] && head -n 40 "$out/final.kmemleak" >>"$out/final.dmesg"
echo done >"$out/finished"
exit 0
