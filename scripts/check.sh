#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build what the VMs need, boot each kernel of the matrix once under virtme-ng
# and run every selftest in it, while the static checks and the userspace unit tests run on
# the host at low priority. Every result is a test point; the last line is "N passed, N
# failed, N skipped".
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

kvers=$(echo ${KVER:-$(scripts/matrix.sh)})
[ -n "$kvers" ] || { point fail "kernel matrix installed"; finish; }
echo "# kernels: $kvers"

for k in $kvers; do
	step "build espx.ko for $k (W=1, no warnings)" "$res/build-$k.log" \
		bash -c "make --no-print-directory module KVER=$k >'$BUILD/.lastlog' 2>&1; rc=\$?;
			 cat '$BUILD/.lastlog'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog'"
	# Test-only modules (clash.sh, loadunload.sh, async.sh), next to espx.ko (the VM sees build/ read-only).
	step "build selftests/modules (espx_hold, espx_squat, espx_async, espx_clone) for $k (W=1, no warnings)" "$res/build-hold-$k.log" \
		bash -c "make --no-print-directory -C selftests/modules KVER=$k BUILD='$BUILD' >'$BUILD/.lastlog' 2>&1;
			 rc=\$?; cat '$BUILD/.lastlog'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog'"
done
step "build patched iproute2 ip" "$res/iproute2.log" make --no-print-directory iproute2
step "build selftest helpers" "$res/selftests-build.log" make --no-print-directory -C selftests

# The host checks the VMs do not need: they run in the background at nice 19 while the VMs
# run (each VM is one busy host thread, but the guests also wait: the checks take that time
# and the core the first VM to finish leaves) and their points follow the VMs' (replay_host).
host_checks() {
	step "espx_pkt.py's usage text lists every subcommand and option" "$res/pkt-usage.log" \
		python3 selftests/espx_pkt.py usage-check
	step "build tools/examples (libmnl, -Wall -Wextra -Werror)" "$res/examples.log" \
		make --no-print-directory examples
	local k u n np nf
	for k in $kvers; do
		[ -e "$BUILD/$k/espx.ko" ] || continue
		# make install then make uninstall in a throw-away staging root: esp4/esp6 come back.
		step "$k: make uninstall restores esp4/esp6 (staged, modprobe -R)" "$res/uninstall-$k.log" \
			scripts/install-test.sh "$k" "$BUILD/$k/espx.ko"
	done
	[ -z "$T" ] || return 0
	for k in $kvers; do
		step "sparse clean on $k" "$res/sparse-$k.log" \
			bash -c "make --no-print-directory sparse KVER=$k >'$BUILD/.lastlog-sparse' 2>&1; rc=\$?;
				 cat '$BUILD/.lastlog-sparse'; [ \$rc = 0 ] && ! grep -E '(warning|error):' '$BUILD/.lastlog-sparse'"
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
}
hostpid=
start_host_checks() {
	( renice -n 19 -p "$BASHPID" >/dev/null 2>&1; host_checks ) >"$res/host-checks.out" 2>&1 &
	hostpid=$!
}
# replay_host [wait]: once the background host checks are done (or after waiting for them),
# count and print their points
replay_host() {
	local line d
	[ -n "$hostpid" ] || return 0
	if [ "${1:-}" != wait ] && kill -0 "$hostpid" 2>/dev/null; then
		return 0
	fi
	wait "$hostpid"
	hostpid=
	while IFS= read -r line; do
		case $line in
		"not ok - "*) point fail "${line#not ok - }" ;;
		"ok - "*" # SKIP") d=${line#ok - }; point skip "${d% # SKIP}" ;;
		"ok - "*) point pass "${line#ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$res/host-checks.out"
}

# The VM tests to run: T, or every TEST_PROGS entry (as vm-tests.sh finds them).
vm_tests=$T
[ -n "$vm_tests" ] || vm_tests=$(awk '/^TEST_PROGS[ \t]*[+:]?=/ { p = 1; sub(/^[^=]*=/, "") }
	p { c = sub(/\\$/, ""); print; if (!c) p = 0 }' selftests/Makefile | tr ' \t' '\n\n' | sed -n 's/\.sh$//p')
# Expected seconds per test and kernel series, measured (selftests/durations).
expected() {	# expected KVER [TESTS]: seconds for TESTS (default vm_tests) on that kernel series
	local series
	series=$(cut -d. -f1-2 <<<"${1%%-*}")
	awk -v s="$series" -v t=" $(echo ${2-$vm_tests}) " '
		!/^#/ && NF == 3 && $2 == s && index(t, " " $1 " ") { n += $3 }
		END { print n + 0 }' selftests/durations 2>/dev/null || echo 0
}
# Each kernel's tests run in one VM (ESPX_VM_SPLIT=N: N VMs per kernel at once, each its own
# kernel, so tests that load and unload espx or change its parameters never meet another
# test). One VM per kernel is the fastest on two cores: a VM keeps about 1.1 cores busy
# (guest, QEMU's 9p thread), and with four VMs on two cores every test took 3-4 times as
# long as alone, not 2.2 times (2026-12-07: the whole make check 1135 s with one VM per
# kernel, 1408 s with two, same harness).
# split KVER N: N lines, the tests of each VM: longest first to the VM with the least
# expected time (a test without a measured duration counts 60 s); each keeps the
# Makefile's order.
split() {
	local series
	series=$(cut -d. -f1-2 <<<"${1%%-*}")
	awk -v s="$series" -v n="$2" -v t="$(echo $vm_tests)" '
		!/^#/ && NF == 3 && $2 == s { d[$1] = $3 }
		END {
			m = split(t, name, " ")
			for (i = 1; i <= m; i++) { ord[i] = i; sec[i] = name[i] in d ? d[name[i]] : 60 }
			for (i = 2; i <= m; i++)	# insertion sort, longest first
				for (j = i; j > 1 && sec[ord[j]] > sec[ord[j - 1]]; j--) {
					x = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = x
				}
			for (i = 1; i <= m; i++) {
				b = 0
				for (v = 1; v < n; v++) if (load[v] < load[b]) b = v
				load[b] += sec[ord[i]]; vm[ord[i]] = b
			}
			for (v = 0; v < n; v++) {
				line = ""
				for (i = 1; i <= m; i++) if (vm[i] == v) line = line " " name[i]
				if (line != "") print substr(line, 2)
			}
		}' selftests/durations
}
vm_split=${ESPX_VM_SPLIT:-1}
[ "$vm_split" -ge 1 ] 2>/dev/null || vm_split=1
# virtme-ng's init without its udev coldplug and systemd-tmpfiles (scripts/vm-init-hook.sh):
# the tests need neither, and the guest is up in about 20 s instead of 50-70 s (load 5-9).
# ESPX_VM_FASTINIT= (empty): virtme-ng's full init.
export ESPX_VM_FASTINIT=${ESPX_VM_FASTINIT-1}

# A host directory under /var/tmp, which the guest only sees when vm.sh maps it (virtme-ng
# mounts tmpfs over /var/tmp): proves that the harness works from a checkout anywhere.
probe=$(mktemp -d /var/tmp/espx-probe.XXXXXX)
echo "espx-probe $$" >"$probe/marker"
rodirs=$probe
case $BUILD in "$top"/*) ;; *) rodirs+=" $BUILD" ;; esac
case $res in "$top"/*) ;; *) rodirs+=" $res" ;; esac

# report_test K OUT T: the test points of one finished VM test
report_test() {
	local k=$1 out=$2 t=$3 f=$2/$3.ktap rc npoints plan line secs
	rc=$(cat "$out/$t.rc" 2>/dev/null || echo missing)
	while read -r line; do
		case $line in
		"not ok "*) point fail "$k: $t: ${line#not ok }" "$k" ;;
		"ok "*"# SKIP"*) line=${line#ok }; point skip "$k: $t: ${line% # SKIP*}" "$k" ;;
		"ok "*) point pass "$k: $t: ${line#ok }" "$k" ;;
		esac
	done < <(grep -E '^(not )?ok ' "$f")
	npoints=$(grep -cE '^(not )?ok ' "$f")
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$f" | head -n 1)
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] || [ "$npoints" = 0 ]; then
		point fail "$k: $t exited rc=$rc with $npoints test points" "$k"
		tail -n 30 "$f" | sed 's/^/#   /'
	elif grep -q '^not ok ' "$f"; then
		grep -E '^#' "$f" | tail -n 30 | sed 's/^/#   /'
	fi
	if [ "${plan:-none}" = "$npoints" ]; then
		point pass "$k: $t: its plan 1..$plan matches the $npoints points it printed" "$k"
	else
		point fail "$k: $t: plan 1..${plan:-missing} but $npoints points printed" "$k"
	fi
	if [ -s "$out/$t.dmesg" ]; then
		point fail "$k: $t: kernel log clean (oops/WARN/BUG/refcount)" "$k"
		head -n 20 "$out/$t.dmesg" | sed 's/^/#   /'
	else
		point pass "$k: $t: kernel log clean" "$k"
	fi
	secs=$(sed -n "s/^# $t: rc=[0-9]* in \([0-9]*\)s\$/\1/p" "$f" | tail -n 1)
	echo "# $k: $t finished: $npoints points, rc $rc, ${secs:-?} s"
}

# ESPX_VM_SPLIT VM boots per kernel (see split), the kernels' VMs all at the same time
# (ESPX_VM_SERIAL=1: one kernel after the other). All VMs of a kernel write their tests'
# results to OUT=$res/vm-KVER; what belongs to one VM (vm.log, console.log, probe,
# finished, final.dmesg, ...) carries its number when there are several: vm.2.log.
# Each test's points are reported as soon as it finishes (the VM writes OUT/<test>.rc last).
declare -A vmpid vmstart vmtests done_t
declare -A staged vmparts
stage() {	# stage KVER: make install into its staging root
	local k=$1 out=$res/vm-$1 ko=$BUILD/$1/espx.ko stage=$BUILD/$1/instroot
	rm -rf "$out"; mkdir -p "$out"
	[ -e "$ko" ] || { point fail "$k: espx.ko built" "$k"; return; }
	# make install into a staging root whose module tree mirrors the kernel's (symlinks):
	# depmod runs here, natively; selftests/install.sh puts the result in the VM's overlay.
	rm -rf "$stage"; mkdir -p "$stage/lib/modules"
	cp -as "${ESPX_MODROOT:-}/lib/modules/$k" "$stage/lib/modules/"
	step "$k: make install (staged, depmod)" "$res/install-$k.log" scripts/install.sh "$k" "$ko" "$stage"
	staged[$k]=1
}
# vm_sfx KVER P: the suffix of VM P's own files ("" when the kernel has one VM)
vm_sfx() { [ "${vmparts[$1]}" -gt 1 ] && echo ".$2"; }
# vm_name KVER P: how points name VM P of a kernel
vm_name() { [ "${vmparts[$1]}" -gt 1 ] && echo "$1 (VM $2 of ${vmparts[$1]})" || echo "$1"; }
plan_vms() {	# plan_vms KVER: the tests of each of its VMs
	local k=$1 p=0 line
	vmparts[$k]=0
	[ -n "${staged[$k]:-}" ] || return 0
	while read -r line; do
		p=$((p + 1))
		vmtests[$k/$p]=$line
	done < <(split "$k" "$vm_split")
	vmparts[$k]=$p
}
boot() {	# boot KVER P: start its (staged) VM P in the background
	local k=$1 p=$2 out=$res/vm-$1 ko=$BUILD/$1/espx.ko exp sfx tests
	tests=${vmtests[$k/$p]}
	sfx=$(vm_sfx "$k" "$p")
	exp=$(( $(expected "$k" "$tests") * ${ESPX_CHECK_SLOWDOWN:-1} ))	# make check-debug: slower kernel
	echo "# booting $(vm_name "$k" "$p"): $(wc -w <<<"$tests") tests, expected about $(( (exp + 90) / 60 )) min"
	vmstart[$k/$p]=$(date +%s)
	# The guest's console (warnings and worse) goes to console.log: a panic or a dead QEMU
	# leaves no other trace (vng then just exits 255).
	ESPX_VM_CONSOLE=$out/console$sfx.log ESPX_VM_RODIRS=$rodirs scripts/vm.sh "$k" "$out" \
		"ESPX_VM_PART=$sfx ESPX_VM_PROBE=$probe ESPX_TRACE=${ESPX_TRACE:-} ESPX_FTRACE=${ESPX_FTRACE:-} ESPX_VM_DEBUG=${ESPX_VM_DEBUG:-} ESPX_TIMEOUT_SCALE=${ESPX_TIMEOUT_SCALE:-1} ESPX_KMEMLEAK=${ESPX_KMEMLEAK:-} $top/scripts/vm-tests.sh /tmp/espx-out $ko $tests" >"$out/vm$sfx.log" 2>&1 &
	vmpid[$k/$p]=$!
}
# boot_all KVERS: every VM of these kernels, the longest expected run first
boot_all() {
	local k p kp
	for k in "$@"; do
		for p in $(seq "${vmparts[$k]}"); do
			echo "$(expected "$k" "${vmtests[$k/$p]}") $k/$p"
		done
	done | sort -rn | while read -r _ kp; do echo "$kp"; done >"$res/.boot-order"
	while read -r kp; do
		boot "${kp%/*}" "${kp##*/}"
	done <"$res/.boot-order"
	rm -f "$res/.boot-order"
}
# watch_vms KVERS: report tests as they finish until these VMs have exited
watch_vms() {
	local k p t running
	while :; do
		running=0
		for k in "$@"; do
			for p in $(seq "${vmparts[$k]}"); do
				[ -n "${vmpid[$k/$p]:-}" ] || continue
				kill -0 "${vmpid[$k/$p]}" 2>/dev/null && running=1
			done
			for t in $vm_tests; do
				[ -z "${done_t[$k/$t]:-}" ] && [ -e "$res/vm-$k/$t.rc" ] || continue
				done_t[$k/$t]=1
				report_test "$k" "$res/vm-$k" "$t"
			done
		done
		replay_host
		[ $running = 1 ] || break
		sleep 5
	done
}
# conclude KVER: the VMs' own verdicts once they have exited
conclude() {
	local k=$1 out=$res/vm-$1 t p sfx n
	[ "${vmparts[$k]}" -gt 0 ] || return
	for p in $(seq "${vmparts[$k]}"); do
		[ -n "${vmpid[$k/$p]:-}" ] || continue
		sfx=$(vm_sfx "$k" "$p") n=$(vm_name "$k" "$p")
		if ! wait "${vmpid[$k/$p]}"; then
			point fail "$n: VM boot and test run (see below)" "$k"
			tail -n 30 "$out/vm$sfx.log" | sed 's/^/#   vm: /'
			tail -n 80 "$out/console$sfx.log" 2>/dev/null | sed 's/^/#   console: /'
		fi
		echo "# $n: VM run took $(( $(date +%s) - vmstart[$k/$p] ))s"
		if [ "$(cat "$out/probe$sfx" 2>/dev/null)" = "espx-probe $$" ]; then
			point pass "$n: the VM sees host directories under /var/tmp (a checkout anywhere works)" "$k"
		else
			point fail "$n: the VM does not see $probe (virtme-ng tmpfs over /var/tmp?)" "$k"
		fi
		if [ -n "${ESPX_VM_DEBUG:-}" ]; then	# make check-debug: the debug kernel checks are on
			local feat
			feat=$(paste -sd' ' "$out/debug-features$sfx" 2>/dev/null)
			if [ "$feat" = "kasan ubsan kmemleak lockdep slub_debug" ]; then
				point pass "$n: KASAN, UBSAN, kmemleak, lockdep and slub_debug active in the guest" "$k"
			else
				point fail "$n: KASAN, UBSAN, kmemleak, lockdep and slub_debug active in the guest (only: ${feat:-none})" "$k"
			fi
		fi
		if [ ! -e "$out/finished$sfx" ]; then
			point fail "$n: the test run inside the VM did not finish" "$k"
		elif [ -s "$out/final$sfx.dmesg" ] || [ -e "$out/final-rmmod$sfx.err" ]; then
			point fail "$n: espx unloads cleanly at the end" "$k"
			cat "$out/final$sfx.dmesg" "$out/final-rmmod$sfx.err" 2>/dev/null | head -n 20 | sed 's/^/#   /'
		else
			point pass "$n: espx unloads cleanly at the end" "$k"
		fi
	done
	for t in $vm_tests; do
		[ -n "${done_t[$k/$t]:-}" ] || point fail "$k: $t did not run (no result from the VM)" "$k"
	done
}
vm_t0=$(date +%s)
if [ -n "${ESPX_VM_SERIAL:-}" ]; then
	start_host_checks
	for k in $kvers; do
		stage "$k"; plan_vms "$k"; boot_all "$k"; watch_vms "$k"; conclude "$k"
	done
else
	for k in $kvers; do
		stage "$k"; plan_vms "$k"
	done
	boot_all $kvers
	start_host_checks
	watch_vms $kvers
	for k in $kvers; do
		conclude "$k"
	done
fi
echo "# VM tests took $(( $(date +%s) - vm_t0 ))s"
replay_host wait
rm -rf "$probe"
finish
