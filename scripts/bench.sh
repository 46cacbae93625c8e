#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: stock esp4/esp6 against espx, side by side, in one VM boot.
#   KVER=<kver>   kernel to boot (default: Debian's 6.1 of the matrix)
#   ESPX_KO=path  the espx module (default build/<kver>/espx.ko; built if missing)
#   ESPX_KO_BEFORE=path  a second espx.ko (e.g. an older commit's) that runs, as the
#                 implementation "espx-before" (add it to BENCH_IMPLS), every espx scenario
#                 that matches BENCH_BEFORE_SCENARIOS (regex, default all)
#   BENCH_N, BENCH_REPEAT, BENCH_ROUNDS, BENCH_TCP_SECS, BENCH_SCENARIOS, BENCH_IMPLS,
#   BENCH_METRICS:
#   see bench/run-vm.sh
#   ESPX_VM_CPUS (2), ESPX_VM_MEM (2G), BENCH_TIMEOUT (seconds for the VM, 2400)
#   BENCH_TAG=x   result file name suffix
#   BENCH_NOTE=text  a line for the result file (e.g. what else ran on the host)
#   BENCH_PROFILE=1  also histogram kernel instructions by function (bench/profile.py),
#                 written to <run>/profile.txt; costs an atomic add per kernel TB
# Writes bench/results/<date>-<kver>[-<tag>].md (+ .png chart of the ratios when gnuplot is there)
# and prints the table. Never part of `make check`; the numbers are not a pass/fail.
set -euo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cd "$top"
BUILD=${BUILD:-$top/build}
bdir=$BUILD/bench
KVER=${KVER:-$(scripts/matrix.sh | sed -n 1p)}
kernel=/boot/vmlinuz-$KVER
[ -e "$kernel" ] || { echo "bench: no kernel $kernel (make deps)" >&2; exit 1; }
cpus=${ESPX_VM_CPUS:-2} mem=${ESPX_VM_MEM:-2G}

# 1. Host-side pieces: plugin (against QEMU 7.2's qemu-plugin.h) and the UDP sender.
scripts/bench-plugin-header.sh "$bdir"
make --no-print-directory -C bench OUT="$bdir" >/dev/null

# 2. espx.ko: the given one, or build/<kver>/espx.ko, built if missing. A build failure
#    only makes the espx column "n/a".
ko=${ESPX_KO:-$BUILD/$KVER/espx.ko}
if [ ! -e "$ko" ] && [ -z "${ESPX_KO:-}" ]; then
	make --no-print-directory module KVER="$KVER" >"$bdir/module-build.log" 2>&1 ||
		echo "bench: espx.ko does not build for $KVER (see $bdir/module-build.log): espx column n/a"
fi
[ -e "$ko" ] || echo "bench: no $ko: espx column n/a"

# The patched ip for the scenarios with IP=patched (WESPv2, counters, Diet-ESP);
# incremental when it is there. A failure only makes those scenarios "n/a".
make --no-print-directory iproute2 >"$bdir/iproute2-build.log" 2>&1 ||
	echo "bench: the patched ip does not build (see $bdir/iproute2-build.log): IP=patched scenarios n/a"

# 3. One boot: stock then espx. The guest writes into $run (its /tmp/espx-out).
stamp=$(date +%Y%m%d-%H%M%S)
run=$bdir/run-$stamp-$KVER
mkdir -p "$run"
plugin_opt="-plugin $bdir/insn_count.so,outfile=$run/insn.log"
[ "${BENCH_PROFILE:-0}" = 1 ] && plugin_opt+=",profile=$run/profile.log"
# Snapshot the module: another engineer may rebuild it while the VM runs.
[ -e "$ko" ] && cp "$ko" "$run/espx.ko" && ko_src=$ko && ko=$run/espx.ko
kob=${ESPX_KO_BEFORE:-}
if [ -n "$kob" ]; then
	[ -e "$kob" ] || { echo "bench: no $kob (ESPX_KO_BEFORE)" >&2; exit 1; }
	cp "$kob" "$run/espx-before.ko"
fi
{
	echo "host_cores: $(nproc)"
	echo "host_cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)"
	echo "host_load_start: $(cut -d' ' -f1-3 /proc/loadavg)"
	# other VMs (make check, other benches) share the cores: wall-clock numbers depend on it
	echo "host_other_vms_start: $(pgrep -c qemu-system || true)"
	echo "qemu: $(qemu-system-x86_64 --version | sed -n 1p)"
	echo "qemu_cpu: max (TCG, --disable-kvm)"
	echo "vm: $cpus vCPUs, $mem"
	echo "espx_ko: ${ko_src:-$ko}$( [ -e "$ko" ] && echo " ($(stat -c %y "${ko_src:-$ko}" | cut -d. -f1), sha256 $(sha256sum "$ko" | cut -c1-12))")"
	echo "espx_git: $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	[ -z "$kob" ] || echo "espx_ko_before: $kob ($(stat -c %y "$kob" | cut -d. -f1), sha256 $(sha256sum "$kob" | cut -c1-12))"
	[ -z "${BENCH_NOTE:-}" ] || echo "note: $BENCH_NOTE"
} >"$run/host.txt"
echo "bench: booting $KVER ($cpus vCPUs, TCG, insn_count plugin); results in $run"
t0=$(date +%s)
# vng's own stdout is the guest console: keep it in a file.
set +e
timeout --kill-after=30 "${BENCH_TIMEOUT:-2400}" \
	vng --run "$kernel" --disable-kvm --cpus "$cpus" --memory "$mem" \
	--qemu-opts="-cpu max $plugin_opt" --rodir "$top=$top" --rwdir "/tmp/espx-out=$run" \
	--exec "BENCH_N=${BENCH_N:-} BENCH_REPEAT=${BENCH_REPEAT:-} BENCH_ROUNDS=${BENCH_ROUNDS:-} BENCH_TCP_SECS=${BENCH_TCP_SECS:-} \
		BENCH_SCENARIOS='${BENCH_SCENARIOS:-}' BENCH_IMPLS='${BENCH_IMPLS:-}' \
		BENCH_BEFORE_SCENARIOS='${BENCH_BEFORE_SCENARIOS:-}' BENCH_METRICS='${BENCH_METRICS:-}' \
		$top/bench/run-vm.sh /tmp/espx-out /tmp/espx-out/espx.ko ${kob:+/tmp/espx-out/espx-before.ko}" </dev/null >"$run/console.txt" 2>&1
rc=$?
set -e
echo "vm_seconds: $(( $(date +%s) - t0 ))" >>"$run/host.txt"
echo "host_load_end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$run/host.txt"
echo "host_other_vms_end: $(pgrep -c qemu-system || true)" >>"$run/host.txt"
grep '^bench:' "$run/console.txt" || true
[ $rc -eq 0 ] || echo "bench: the VM exited with $rc (see $run/console.txt)"
[ -s "$run/results.tsv" ] || { echo "bench: no results" >&2; tail -n 30 "$run/console.txt" >&2; exit 1; }

# 4. Report.
mkdir -p bench/results
python3 bench/report.py "$run" "bench/results/$(date +%Y-%m-%d)-$KVER${BENCH_TAG:+-$BENCH_TAG}"
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
	python3 bench/profile.py "$run" >"$run/profile.txt" &&
		echo "bench: per-function profile in $run/profile.txt"
fi
