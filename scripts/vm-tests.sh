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
# ESPX_VM_PART=.N: this is VM N of several sharing OUTDIR (check.sh's ESPX_VM_SPLIT): the
# files of the VM itself (probe, finished, final.dmesg, ...) carry it, final.N.dmesg
sfx=${ESPX_VM_PART:-}
timeout_s=${ESPX_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$top/selftests/settings")}
# make check-debug: a kernel with KASAN, lockdep, ... runs everything several times slower
timeout_s=$((timeout_s * ${ESPX_TIMEOUT_SCALE:-1}))
# knob_scale FILE BASE [MAX]: a kernel's wait (a sysctl, a module parameter) set to
# ESPX_TIMEOUT_SCALE times BASE, at most MAX; unchanged when that is no longer (scale 1, or
# a wait of 0 that means off)
knob_scale() {
	local v=$(($2 * ${ESPX_TIMEOUT_SCALE:-1}))
	[ "$v" -gt "$2" ] && [ -w "$1" ] || return 1
	[ -z "${3:-}" ] || [ "$v" -le "$3" ] || v=$3
	echo "$v" >"$1"
}
# The kernel's own wait scales too: the hung-task detector's 120 s. On the debug kernel
# under TCG (36 times slower), ike's rekeys under traffic kept the xfrm GC and hash-resize
# workers in synchronize_rcu() for up to 610 s (2026-12-07, rcu_watch below): no grace
# period took over 12 s and no stall was reported, but RCU's softirq, which invokes the
# callbacks that wake such waiters, ran 1-4 times a second per CPU (250 when quiet), its
# ksoftirqd runnable and not running 62-73% of the time at load 7-12; every wait ended. A
# deadlock still shows, a scaled timeout later, and the test's own timeout ends it.
hung=/proc/sys/kernel/hung_task_timeout_secs
knob_scale "$hung" "$(cat "$hung" 2>/dev/null || echo 0)" &&
	echo "vm-tests: hung-task timeout $(cat "$hung") s"
# check.sh's probe: a host directory the guest sees only if vm.sh mapped it
[ -z "${ESPX_VM_PROBE:-}" ] || cat "$ESPX_VM_PROBE/marker" >"$out/probe$sfx" 2>&1

export ESPX_KO=$ko
export ESPX_BIN=${ESPX_BIN:-$top/build/selftests}
export IP=${IP:-$top/build/iproute2/ip/ip}
[ -x "$IP" ] || IP=ip
export PATH=$top/build/selftests:$PATH
# a KASAN kernel (make check-debug), detected once for every test (lib_xfrm.sh xt_slab)
grep -qw kasan_report /proc/kallsyms 2>/dev/null && ESPX_KASAN=1 || ESPX_KASAN=0
export ESPX_KASAN

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
# crypto_warm: instantiate once every AEAD and enc/auth pair the tests use, through
# throw-away SAs (esp4 loads on demand and is unloaded again). On the debug kernel a
# template's first instantiation (modprobe, self-tests under KASAN) outlasts the crypto
# API's 60 s larval wait at times, and "ip xfrm state add" then fails with "Requested AEAD
# algorithm not found" (genl.sh and every traffic test skipped in the first debug run of
# the suite); a retry finds the finished instance.
crypto_warm() {
	local ns=espx-warm-$$ a i n=0 start=$SECONDS k16 k20 k36
	k16=0x$(printf '%032d' 0) k20=0x$(printf '%040d' 0) k36=0x$(printf '%072d' 0)
	ip netns add "$ns" || return 0
	while read -r a; do
		for i in 1 2 3 4 5; do
			# shellcheck disable=SC2086 # the algorithm words
			ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp \
				spi $((0x100 + n)) mode transport $a && break
			echo "crypto warm-up: try $i of '$a' failed"
		done
		n=$((n + 1))
	done <<-EOF
		aead rfc4106(gcm(aes)) $k20 128
		aead rfc4106(gcm(aes)) $k36 128
		aead rfc7539esp(chacha20,poly1305) $k36 128
		aead rfc4309(ccm(aes)) ${k20:0:40} 128
		aead rfc4543(gcm(aes)) $k20 128
		enc cbc(aes) $k16 auth-trunc hmac(sha256) ${k36:0:66} 128
		enc cbc(aes) $k16 auth-trunc hmac(sha1) $k20 96 flag esn replay-window 128
	EOF
	ip -n "$ns" xfrm state flush
	ip netns del "$ns"
	for i in $(seq 60); do	# the SAs hold esp4 until the xfrm GC has run
		grep -qE '^esp[46] ' /proc/modules || break
		rmmod esp4 esp6 2>/dev/null
		sleep 1
	done
	echo "crypto warm-up: $n algorithm sets in $((SECONDS - start)) s"
}

if [ -n "${ESPX_VM_DEBUG:-}" ]; then
	# what check.sh verifies is on
	{
		[ "$ESPX_KASAN" = 1 ] && echo kasan
		grep -qw __ubsan_handle_out_of_bounds /proc/kallsyms && echo ubsan
		[ -w "$KMEMLEAK" ] && echo kmemleak
		[ -e /proc/lockdep ] && echo lockdep
		grep -qw 'slub_debug[^ ]*' /proc/cmdline && echo slub_debug
	} >"$out/debug-features$sfx"
	if [ -w "$KMEMLEAK" ]; then
		# what booting leaked is not ours: kept for reference, not a verdict
		kmemleak_report >"$out/boot$sfx.kmemleak"
	else
		echo "no $KMEMLEAK: kernel without kmemleak or debugfs not mounted" >"$out/boot$sfx.kmemleak"
	fi
	crypto_warm >"$out/crypto-warm$sfx.log" 2>&1
fi

# rcu_watch T (debug kernel only, in the background while test T runs): every 30 s RCU's
# and the network's softirq counts per CPU and the run time of the softirq and RCU threads,
# to OUTDIR/T.rcuwatch; at each new hung-task report (three at most) sysrq w, l and y
# (blocked tasks, every CPU's stack, RCU's grace-period state: rcutree.sysrq_rcu=1), the
# kernel log then, and 10 s of RCU's trace events (grace periods, callback batches with their
# queue length), to OUTDIR/T.hung.N. What ike's hung xfrm workers on this kernel need told
# apart: a grace period that does not end, or callbacks that are not invoked after it.
rcu_watch() {
	local f=$out/$1.rcuwatch tr=/sys/kernel/debug/tracing seen=0 dumps=0 n k p e
	while sleep 30; do
		{
			echo "t=$(cut -d' ' -f1 /proc/uptime) load=$(cut -d' ' -f1-3 /proc/loadavg)"
			grep -E '^ *(RCU|NET_RX|TIMER):' /proc/softirqs
			for p in $(pgrep -x 'ksoftirqd/[0-9]+|rcu_preempt|rcu_sched|rcuc/[0-9]+'); do
				# run and wait ns, slices; state
				echo "$(cat "/proc/$p/comm") $(cat "/proc/$p/schedstat") $(cut -d' ' -f3 "/proc/$p/stat")"
			done 2>/dev/null
		} >>"$f"
		n=$(dmesg | grep -c 'blocked for more than')
		if [ "$n" -le "$seen" ] || [ "$dumps" -ge 3 ]; then
			seen=$n
			continue
		fi
		seen=$n dumps=$((dumps + 1))
		k=$out/$1.hung.$dumps
		for e in w l y; do echo "$e" >/proc/sysrq-trigger; done
		sleep 2
		dmesg >"$k.dmesg"
		[ -d "$tr/events/rcu" ] || continue
		echo 8192 >"$tr/buffer_size_kb"
		echo >"$tr/trace"
		for e in rcu_grace_period rcu_batch_start rcu_batch_end rcu_quiescent_state_report; do
			echo 1 >"$tr/events/rcu/$e/enable"
		done
		sleep 10; rcu_trace_off
		cat "$tr/trace" >"$k.rcutrace"
		echo >"$tr/trace"
	done 2>>"$f"
}
# rcu_trace_off: rcu_watch's trace events off (also when the test ended during its 10 s)
rcu_trace_off() {
	local tr=/sys/kernel/debug/tracing
	[ -d "$tr/events/rcu" ] || return 0
	echo 0 >"$tr/events/rcu/enable"
}

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
	# 3600: the module's maximum
	knob_scale /sys/module/espx/parameters/pending_timeout 60 3600 || true
}

# cpu_ticks: the guest's total and idle (idle + iowait) CPU ticks, all CPUs
cpu_ticks() {
	local _ u n s i w q sq st
	read -r _ u n s i w q sq st _ </proc/stat
	echo "$((u + n + s + i + w + q + sq + st)) $((i + w))"
}
# idle_pct T0 I0 T1 I1: percent of the guest's CPU time spent idle in between
idle_pct() { [ "$3" -gt "$1" ] && echo $(( ($4 - $2) * 100 / ($3 - $1) )) || echo 0; }

echo "vm-tests: guest up $(cut -d' ' -f1 /proc/uptime) s, ${#tests[@]} tests to run"
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
	watch=
	if [ -n "${ESPX_VM_DEBUG:-}" ]; then
		rcu_watch "$t" </dev/null >/dev/null 2>&1 &
		watch=$!
	fi
	read -r tick0 idle0 < <(cpu_ticks)
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
	[ -n "$watch" ] && { kill "$watch"; wait "$watch"; rcu_trace_off; } 2>/dev/null
	read -r tick1 idle1 < <(cpu_ticks)
	echo "# $t: rc=$rc in $(( $(date +%s) - start ))s" >>"$out/$t.ktap"
	# The share of the guest's CPU time its CPUs were idle: sleeps, timeouts, netem, 9p
	# reads. A busy guest CPU may still be waiting for the host (TCG runs both vCPUs
	# on one host thread, shared with the other VMs): it is a lower bound of the waiting.
	echo "# $t: guest idle $(idle_pct "$tick0" "$idle0" "$tick1" "$idle1")% of $(nproc) CPUs" >>"$out/$t.ktap"
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
grep -q '^espx ' /proc/modules && { rmmod espx || echo "rmmod espx failed" >"$out/final-rmmod$sfx.err"; }
dmesg | grep -E "$SPLAT" >"$out/final$sfx.dmesg" || true
# what espx still held when it was unloaded
kmemleak_report >"$out/final$sfx.kmemleak"
[ -s "$out/final$sfx.kmemleak" ] && head -n 40 "$out/final$sfx.kmemleak" >>"$out/final$sfx.dmesg"
echo done >"$out/finished$sfx"
exit 0
