#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make fuzz-vm: the long robustness runs in the test VM, one kernel after the other (not part
# of make check, which runs the same tests with short budgets):
#   fuzz_rx  FUZZ_COUNT packets per protocol (default 1000000), seed FUZZ_SEED (default: a new
#            one per run, printed with the line that replays it)
#   fuzz_nl  FUZZ_NL_COUNT netlink requests (default 200000) from FUZZ_NL_PROCS processes
#   churn    CHURN_ROUNDS rounds (default 100), then 10 000 SAs and their churn
# KVER=<kver> one kernel; T="fuzz_rx" only those tests. Results, KTAP and dmesg in
# $ESPX_CHECK_OUT (default build/fuzz-vm)/vm-<kver>/; the last line is "N passed, N failed".
set -uo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cd "$top"
BUILD=${BUILD:-$top/build}
res=${ESPX_CHECK_OUT:-$BUILD/fuzz-vm}
tests=${T:-fuzz_rx fuzz_nl churn}
seed=${FUZZ_SEED:-$(( $(date +%s) % 1000000 ))}
echo "# seed $seed; replay: FUZZ_SEED=$seed make fuzz-vm${KVER:+ KVER=$KVER} T=\"$tests\""
env="FUZZ_SEED=$seed FUZZ_COUNT=${FUZZ_COUNT:-1000000} FUZZ_POOL=${FUZZ_POOL:-3000}"
env+=" FUZZ_NL_COUNT=${FUZZ_NL_COUNT:-200000} FUZZ_NL_PROCS=${FUZZ_NL_PROCS:-4}"
env+=" CHURN_LONG=1 CHURN_ROUNDS=${CHURN_ROUNDS:-100}"
env+=" ESPX_TEST_TIMEOUT=${ESPX_TEST_TIMEOUT:-21600} FUZZ_TRACE=${FUZZ_TRACE:-0}"
# virtme-ng's init without udev coldplug, /usr and the checkout cached (as make check)
export ESPX_VM_FASTINIT=${ESPX_VM_FASTINIT-1}
pass=0 fail=0
mkdir -p "$res"
make --no-print-directory -C selftests >"$res/build.log" 2>&1 &&
	{ [ -x "$BUILD/iproute2/ip/ip" ] || make --no-print-directory iproute2 >>"$res/build.log" 2>&1; } ||
	{ tail -20 "$res/build.log"; echo "0 passed, 1 failed"; exit 1; }
for k in ${KVER:-$(scripts/matrix.sh)}; do
	out=$res/vm-$k
	rm -rf "$out"; mkdir -p "$out"
	make --no-print-directory module KVER="$k" >"$res/build-$k.log" 2>&1 ||
		{ echo "not ok - build espx.ko for $k"; fail=$((fail + 1)); continue; }
	echo "# $k: $tests ($env)"
	t0=$(date +%s)
	ESPX_VM_CONSOLE=$out/console.log scripts/vm.sh "$k" "$out" \
		"$env $top/scripts/vm-tests.sh /tmp/espx-out $BUILD/$k/espx.ko $tests" >"$out/vm.log" 2>&1
	for t in $tests; do
		f=$out/$t.ktap
		grep -E '^(not )?ok |^# (rate|seed|counted|total|memory|[0-9]+ rounds|fuzz|churn)' "$f" 2>/dev/null |
			sed "s/^/$k: $t: /"
		if [ "$(cat "$out/$t.rc" 2>/dev/null)" = 0 ] && ! grep -q '^not ok' "$f" && [ ! -s "$out/$t.dmesg" ]; then
			pass=$((pass + 1)); echo "ok - $k: $t"
		else
			fail=$((fail + 1)); echo "not ok - $k: $t (rc $(cat "$out/$t.rc" 2>/dev/null || echo none))"
			head -n 20 "$out/$t.dmesg" 2>/dev/null | sed 's/^/#   /'
		fi
	done
	echo "# $k: $(( $(date +%s) - t0 )) s"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
