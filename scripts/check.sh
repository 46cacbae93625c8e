#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build everything, run the static checks and the userspace unit tests on the
# host, then boot each kernel of the matrix once under virtme-ng and run every selftest in
# it. Every result is a test point; the last line is "N passed, N failed, N skipped".
#   KVER=<kver>   only that kernel       T="a b"   only those VM tests (no static checks)
set -uo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cd "$top"
BUILD=${BUILD:-$top/build}
# ESPX_CHECK_OUT: where logs and VM results go (parallel runs need their own)
res=${ESPX_CHECK_OUT:-$BUILD/check}
T=${T:-}
pass=0 fail=0 skip=0
declare -A kpass kfail kskip

point() {	# point pass|fail|skip DESC [KVER]
	local k=${3:-host}
	case $1 in
	pass) pass=$((pass + 1)); kpass[$k]=$((${kpass[$k]:-0} + 1)); echo "ok - $2" ;;
	fail) fail=$((fail + 1)); kfail[$k]=$((${kfail[$k]:-0} + 1)); echo "not ok - $2" ;;
	skip) skip=$((skip + 1)); kskip[$k]=$((${kskip[$k]:-0} + 1)); echo "ok - $2 # SKIP" ;;
	esac
}

step() {	# step DESC LOG CMD...: a host step is one test point; its log is shown on failure
	local desc=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		point pass "$desc"
	else
		point fail "$desc"
		tail -n 40 "$log" | sed 's/^/#   /'
	fi
}

finish() {
	local k
	echo "# summary"
	for k in "${!kpass[@]}" "${!kfail[@]}" "${!kskip[@]}"; do echo "$k"; done | sort -u | while read -r k; do
		echo "#   $k: ${kpass[$k]:-0} passed, ${kfail[$k]:-0} failed, ${kskip[$k]:-0} skipped"
	done
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}

mkdir -p "$res" "$BUILD"
if ! scripts/deps.sh >"$res/deps.log" 2>&1; then
	cat "$res/deps.log"
	point fail "dependencies installed (make deps)"
	finish
fi

kvers=${KVER:-$(scripts/matrix.sh)}
[ -n "$kvers" ] || { point fail "kernel matrix installed"; finish; }
echo "# kernels: $kvers"

for k in $kvers; do
	step "build espx.ko for $k (W=1, no warnings)" "$res/build-$k.log" \
		bash -c "make --no-print-directory module KVER=$k >'$BUILD/.lastlog' 2>&1; rc=\$?;
			 cat '$BUILD/.lastlog'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog'"
	# Test-only module for clash.sh, next to espx.ko (the VM sees build/ read-only).
	step "build selftests/modules (espx_hold.ko) for $k (W=1, no warnings)" "$res/build-hold-$k.log" \
		bash -c "make --no-print-directory -C selftests/modules KVER=$k BUILD='$BUILD' >'$BUILD/.lastlog' 2>&1;
			 rc=\$?; cat '$BUILD/.lastlog'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog'"
done
step "build patched iproute2 ip" "$res/iproute2.log" make --no-print-directory iproute2
step "build selftest helpers" "$res/selftests-build.log" make --no-print-directory -C selftests

if [ -z "$T" ]; then
	for k in $kvers; do
		step "sparse clean on $k" "$res/sparse-$k.log" \
			bash -c "make --no-print-directory sparse KVER=$k >'$BUILD/.lastlog' 2>&1; rc=\$?;
				 cat '$BUILD/.lastlog'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog'"
		step "dkms build for $k" "$res/dkms-$k.log" scripts/dkms-test.sh "$k"
	done
	step "checkpatch --strict clean" "$res/checkpatch.log" scripts/checkpatch.sh
	if [ -d selftests/unit ]; then
		step "build unit tests" "$res/unit-build.log" make --no-print-directory -C selftests/unit
		for u in "$BUILD"/unit/test_*; do
			[ -x "$u" ] || continue
			n=$(basename "$u")
			"$u" >"$res/$n.ktap" 2>&1
			echo $? >"$res/$n.rc"
			grep -E '^(not )?ok ' "$res/$n.ktap" | sed "s/^/# $n: /"
			np=$(grep -cE '^ok ' "$res/$n.ktap"); nf=$(grep -cE '^not ok ' "$res/$n.ktap")
			if [ "$(cat "$res/$n.rc")" = 0 ] && [ "$nf" = 0 ] && [ "$np" -gt 0 ]; then
				point pass "unit: $n ($np points)"
			else
				point fail "unit: $n"; tail -n 20 "$res/$n.ktap" | sed 's/^/#   /'
			fi
		done
	fi
fi

# One VM boot per kernel; every selftest inside it.
for k in $kvers; do
	out=$res/vm-$k
	rm -rf "$out"; mkdir -p "$out"
	ko=$BUILD/$k/espx.ko
	[ -e "$ko" ] || { point fail "$k: espx.ko built" "$k"; continue; }
	# make install into a staging root whose module tree mirrors the kernel's (symlinks):
	# depmod runs here, natively; selftests/install.sh puts the result in the VM's overlay.
	stage=$BUILD/$k/instroot
	rm -rf "$stage"; mkdir -p "$stage/lib/modules"
	cp -as "/lib/modules/$k" "$stage/lib/modules/"
	step "$k: make install (staged, depmod)" "$res/install-$k.log" scripts/install.sh "$k" "$ko" "$stage"
	echo "# booting $k"
	start=$(date +%s)
	# The guest's console (warnings and worse) goes to console.log: a panic or a dead QEMU
	# leaves no other trace (vng then just exits 255).
	if ! ESPX_VM_CONSOLE=$out/console.log scripts/vm.sh "$k" "$out" \
		"$top/scripts/vm-tests.sh /tmp/espx-out $ko $T" >"$out/vm.log" 2>&1; then
		point fail "$k: VM boot and test run (see below; the tests that did run follow)" "$k"
		tail -n 30 "$out/vm.log" | sed 's/^/#   vm: /'
		tail -n 80 "$out/console.log" 2>/dev/null | sed 's/^/#   console: /'
	fi
	echo "# $k: VM run took $(( $(date +%s) - start ))s"
	for f in "$out"/*.ktap; do
		[ -e "$f" ] || { point fail "$k: no test ran" "$k"; break; }
		t=$(basename "$f" .ktap)
		rc=$(cat "$out/$t.rc" 2>/dev/null || echo missing)
		while read -r line; do
			case $line in
			"not ok "*) point fail "$k: $t: ${line#not ok }" "$k" ;;
			"ok "*"# SKIP"*) point skip "$k: $t: ${line#ok }" "$k" ;;
			"ok "*) point pass "$k: $t: ${line#ok }" "$k" ;;
			esac
		done < <(grep -E '^(not )?ok ' "$f")
		npoints=$(grep -cE '^(not )?ok ' "$f")
		if [ "$rc" != 0 ] && [ "$rc" != 4 ] || [ "$npoints" = 0 ]; then
			point fail "$k: $t exited rc=$rc with $npoints test points" "$k"
			tail -n 30 "$f" | sed 's/^/#   /'
		elif grep -q '^not ok ' "$f"; then
			grep -E '^#' "$f" | tail -n 30 | sed 's/^/#   /'
		fi
		if [ -s "$out/$t.dmesg" ]; then
			point fail "$k: $t: kernel log clean (oops/WARN/BUG/refcount)" "$k"
			head -n 20 "$out/$t.dmesg" | sed 's/^/#   /'
		else
			point pass "$k: $t: kernel log clean" "$k"
		fi
	done
	if [ ! -e "$out/finished" ]; then
		point fail "$k: the test run inside the VM did not finish" "$k"
	elif [ -s "$out/final.dmesg" ] || [ -e "$out/final-rmmod.err" ]; then
		point fail "$k: espx unloads cleanly at the end" "$k"
		cat "$out/final.dmesg" "$out/final-rmmod.err" 2>/dev/null | head -n 20 | sed 's/^/#   /'
	else
		point pass "$k: espx unloads cleanly at the end" "$k"
	fi
done
finish
