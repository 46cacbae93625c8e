#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by every espx selftest script. A test script:
#   . "$(dirname "$0")/lib.sh"
#   ktap_header; ktap_plan N
#   ... ktap_ok/ktap_fail/ktap_skip "description" (or check "desc" cmd...) ...
#   ktap_finish            # exits 0 (all passed), 1 (a failure) or 4 (all skipped)
# It runs as root inside the test VM with espx.ko already loaded. It creates its own
# namespaces with ns_new (removed automatically on exit) and only ever sends traffic to
# addresses it configured itself. Environment from the harness:
#   IP        the patched ip binary (falls back to the system's)
#   ESPX_KO   path of espx.ko for the running kernel
#   ESPX_BIN  directory of the built test helpers (C programs)

IP=${IP:-ip}
ESPX_BIN=${ESPX_BIN:-$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")}
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

__ktap_n=0
__ktap_pass=0
__ktap_fail=0
__ktap_skip=0

ktap_header() { echo "TAP version 13"; }
ktap_plan() { __ktap_plan=$1; echo "1..$1"; }
# ktap_skip_rest DESC: skip every point the plan still promises
ktap_skip_rest() {
	while [ "$__ktap_n" -lt "${__ktap_plan:-0}" ]; do ktap_skip "$*"; done
}
ktap_info() { echo "# $*"; }

ktap_ok() {
	__ktap_n=$((__ktap_n + 1)); __ktap_pass=$((__ktap_pass + 1))
	echo "ok $__ktap_n $*"
}

ktap_fail() {
	__ktap_n=$((__ktap_n + 1)); __ktap_fail=$((__ktap_fail + 1))
	echo "not ok $__ktap_n $*"
}

ktap_skip() {
	__ktap_n=$((__ktap_n + 1)); __ktap_skip=$((__ktap_skip + 1))
	echo "ok $__ktap_n $* # SKIP"
}

# TSCALE: the factor every wait and timeout of a test takes (ESPX_TIMEOUT_SCALE:
# 1 on Debian's kernels, more on a debug kernel, as vm-tests.sh's per-test timeout)
TSCALE=${ESPX_TIMEOUT_SCALE:-1}
# HELPER_TMO: seconds a helper tool (espx_genl, ip xfrm state echo, the Python
# traffic tools, socat) may run before the test takes it for hung: 120 on
# Debian's kernels
HELPER_TMO=$((120 * TSCALE))

# check DESC CMD...: one test point from a command's exit status; output on failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
	fi
}

# check_fail DESC CMD...: the command must fail.
check_fail() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_fail "$desc (unexpectedly succeeded)"
		[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
	else
		ktap_ok "$desc"
	fi
}

ktap_finish() {
	echo "# totals: pass:$__ktap_pass fail:$__ktap_fail skip:$__ktap_skip"
	[ "$__ktap_fail" -eq 0 ] || exit $KSFT_FAIL
	[ "$__ktap_pass" -gt 0 ] || [ "$__ktap_skip" -eq 0 ] || exit $KSFT_SKIP
	exit $KSFT_PASS
}

# Every namespace this script made ends in -$$ (ns_new runs in a subshell, so the names are
# found again by that suffix rather than kept in a variable).
__cleanup() {
	local ns
	[ -n "${PENDING_T0:-}" ] && [ -w "$PENDING_T" ] && echo "$PENDING_T0" >"$PENDING_T"
	for ns in $(ip netns list | awk '{print $1}' | grep -- "^espx-.*-$$\$"); do
		ip netns del "$ns" 2>/dev/null
	done
}
trap __cleanup EXIT

# pending_hold [SECONDS]: pending configs live SECONDS (default 900) until the test ends
# (__cleanup restores the module's value). A test that sets its configs first and adds the
# SAs much later needs it: under emulation on a loaded machine diet.sh's setup took 106 s,
# longer than the default 60 s pending_timeout, and its twin configs expired before their
# SAs came.
PENDING_T=/sys/module/espx/parameters/pending_timeout
pending_hold() {
	[ -w "$PENDING_T" ] || return 0
	[ -n "${PENDING_T0:-}" ] || PENDING_T0=$(cat "$PENDING_T")
	echo "${1:-900}" >"$PENDING_T"
}

# Under TCG an exec costs a quarter of a second of the guest's one host thread, and
# the poll loops (grep + sleep until a server is ready) took that from the very
# process they waited for. sleep SECONDS is therefore bash's own here: read times out
# on a pipe only we hold (as churn.sh did; /usr/bin/sleep when it is an argument,
# "ip netns exec NS sleep ...").
exec {__sleep_fd}<> <(:)
sleep() { read -r -t "$1" -u "$__sleep_fd" _; return 0; }
# file_has FILE REGEX: a line of FILE matches the extended regex (bash's own; no grep)
file_has() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l =~ $2 ]] && return 0
	done <"$1"
	return 1
}

# kernel_nf_less: the kernel has no netfilter (CONFIG_NETFILTER=n: no
# /proc/sys/net/netfilter), as make check-debug's kernel. There 6.1's
# xfrm6_transport_finish (net/ipv6/xfrm6_input.c) returns 1 for a packet decrypted
# synchronously, and udpv6_queue_rcv_one_skb takes 1 from the encap hook for "not ESP":
# a transport-mode ESP-in-UDP packet over IPv6 goes to the encap socket as a datagram
# instead of up the stack. Kernel xfrm code below the ESP type: esp6 loses it alike.
# NF_LESS_V6ENCAP_WHY is the reason a test skips such a case with.
kernel_nf_less() { [ ! -d /proc/sys/net/netfilter ]; }
NF_LESS_V6ENCAP_WHY="transport-mode ESP-in-UDP over IPv6 on a kernel without CONFIG_NETFILTER: its xfrm6_transport_finish hands the packet back to UDP (esp6 too)"

# ns_new NAME: a fresh namespace (unique per test run), lo up; echoes its name.
ns_new() {
	local ns="espx-$1-$$"
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	echo "$ns"
}

# rmmod_retry MOD...: SAs drop their module reference in the xfrm GC work, so a
# module may stay busy briefly after its last SA: try for 10 s.
rmmod_retry() {
	local _
	for _ in $(seq 50); do
		rmmod "$@" 2>/dev/null && return 0
		sleep 0.2
	done
	rmmod "$@"
}

# veth_pair NS_A NS_B: veth "veth0" in each namespace, joined, both up.
veth_pair() {
	ip link add veth0 netns "$1" type veth peer name veth0 netns "$2" || return 1
	ip -n "$1" link set veth0 up
	ip -n "$2" link set veth0 up
}
