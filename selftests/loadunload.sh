#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# espx.ko load/unload: 20 cycles with the genetlink family appearing and disappearing with
# the module, unload with pending configs in several namespaces (freed, no leak report),
# unload refused while an SA uses espx's ESP type, and a clean kernel log. Leaves espx
# loaded, as the harness found it.
# Init order (ftrace of the registration calls insmod and rmmod make, ESPX_FTRACE=1): the per-netns
# tables and the genetlink family before the xfrm types and protocol handlers, exit in
# exact reverse; a load that fails at the genetlink family (espx_squat genl=1 holds the
# name) registers no type or handler, one that fails at the WESPv2 handler (espx_squat
# wesp=1) undoes every step in exact reverse, and both leave no family and no ESP owner
# (esp4/esp6 load afterwards). test_knobs is read-only at run time.
. "$(dirname "$0")/lib.sh"

G=$ESPX_BIN/espx_genl
CYCLES=20
SPLAT='WARNING:|BUG:|Oops|general protection|refcount_t|kernel BUG|UBSAN|KASAN|Call Trace|list_del corruption'
LEAK='espx: .*(leaked|still bound)'

# loaded: espx in /proc/modules (read by bash itself: an exec costs a quarter of a second
# under TCG, and the cycles below ask often)
loaded() {
	local m _
	while read -r m _; do
		[ "$m" = espx ] && return 0
	done </proc/modules
	return 1
}

# unload/load: the genetlink family must follow the module.
unload() {
	rmmod espx || return 1
	! loaded || { echo "espx still in /proc/modules"; return 1; }
	"$G" resolve >/dev/null 2>&1
	[ $? = 2 ] || { echo "family espx still resolvable after rmmod"; return 1; }
}

load() {
	# espx.ko needs its symbols; insmod does not load deps (rmmod espx leaves it loaded)
	[ -d /sys/module/xfrm_algo ] || modprobe -q xfrm_algo
	insmod "$ESPX_KO" || return 1
	"$G" resolve >/dev/null || { echo "family espx not resolvable after insmod"; return 1; }
}

# ---- ftrace of the registrations: what insmod/rmmod call, in order
TR=/sys/kernel/tracing
REGS="register_pernet_subsys genl_register_family register_module_notifier xfrm_register_type
xfrm4_protocol_register xfrm6_protocol_register inet_add_protocol inet6_add_protocol"
UNREGS="unregister_pernet_subsys genl_unregister_family unregister_module_notifier
xfrm_unregister_type xfrm4_protocol_deregister xfrm6_protocol_deregister inet_del_protocol
inet6_del_protocol"
# trace_init: the filter, once (each name written to set_ftrace_filter is matched against
# every function of the kernel, over a second per name under TCG: 16 names at each of the
# four traced steps took 76 s of the test's 170); trace_start/trace_stop only switch the
# function tracer on and off, trace_done clears the filter at the end.
trace_init() {
	[ -e $TR/trace ] || mount -t tracefs nodev $TR || return 1
	local f
	echo 0 >$TR/tracing_on && echo nop >$TR/current_tracer && echo >$TR/trace || return 1
	echo >$TR/set_ftrace_filter
	for f in $REGS $UNREGS; do
		echo "$f" >>$TR/set_ftrace_filter 2>/dev/null ||
			{ echo "cannot trace $f"; return 1; }
	done
}
trace_start() {
	local l want=($REGS $UNREGS)
	echo 0 >$TR/tracing_on && echo nop >$TR/current_tracer && echo >$TR/trace || return 1
	# the filter is still trace_init's (an empty one would trace every function)
	mapfile -t l <$TR/set_ftrace_filter
	[ ${#l[@]} = ${#want[@]} ] || { echo "set_ftrace_filter: ${l[*]}"; return 1; }
	echo function >$TR/current_tracer && echo 1 >$TR/tracing_on
}
trace_done() { echo >$TR/set_ftrace_filter; }
# trace_stop: the traced calls made by insmod/rmmod, one "reg NAME" or "unreg NAME" a
# line, NAME the registering function's; calls nested in xfrm[46]_protocol_(de)register
# (their inet_add/del_protocol) are theirs, not espx's
trace_stop() {
	echo 0 >$TR/tracing_on
	awk '$1 ~ /^(insmod|rmmod)-[0-9]+$/ && !/<-xfrm[46]_protocol_(de)?register/ {
		for (i = 1; i < NF; i++) if ($(i + 1) ~ /^<-/) { print $i; break } }' $TR/trace |
	sed -E 's/^unregister_(pernet_subsys|module_notifier)$/unreg register_\1/;
		s/^genl_unregister_family$/unreg genl_register_family/;
		s/^xfrm_unregister_type$/unreg xfrm_register_type/;
		s/^(xfrm[46]_protocol)_deregister$/unreg \1_register/;
		s/^(inet6?)_del_protocol$/unreg \1_add_protocol/;
		/^unreg /!s/^/reg /'
	echo nop >$TR/current_tracer
}
# undone_in_reverse TRACE [FAILED]: the unregistrations are the registrations in exact
# reverse (FAILED=1: the last registration failed and is not undone)
undone_in_reverse() {
	local r u
	r=$(grep '^reg ' <<<"$1" | cut -d' ' -f2)
	[ "${2:-0}" = 1 ] && r=$(sed '$d' <<<"$r")
	u=$(grep '^unreg ' <<<"$1" | cut -d' ' -f2 | tac)
	[ -n "$r" ] && [ "$r" = "$u" ] || { echo "registered:" $r; echo "undone (reversed):" $u; return 1; }
}
# tables_first TRACE: the tables (pernet: SAs and configs, rules) and the family before
# any type or handler
tables_first() {
	local r
	r=$(grep '^reg ' <<<"$1" | cut -d' ' -f2 | tr '\n' ' ')
	[[ $r =~ ^(register_pernet_subsys )+genl_register_family\  ]] &&
	[[ $r == *xfrm_register_type* ]] || { echo "registered: $r"; return 1; }
}
SQUAT_KO=$(dirname "${ESPX_KO:-.}")/espx_squat.ko

ktap_header
ktap_plan 16

if [ -z "${ESPX_KO:-}" ] || [ ! -r "$ESPX_KO" ]; then
	for i in $(seq 16); do ktap_skip "load/unload: ESPX_KO not set or not readable"; done
	ktap_finish
fi
loaded || insmod "$ESPX_KO"
echo "espx-selftest: loadunload start" >/dev/kmsg

bad=0
for i in $(seq $CYCLES); do
	if ! out=$(unload 2>&1) || ! out=$(load 2>&1); then
		bad=$i
		break
	fi
done
if [ "$bad" = 0 ]; then
	ktap_ok "$CYCLES unload/load cycles: family gone after each unload, back after each load"
else
	ktap_fail "unload/load cycle $bad: $out"
	loaded || insmod "$ESPX_KO"
fi

check "one genetlink family espx after the cycles" "$G" resolve

a=$(ns_new a)
b=$(ns_new b)
pending() {
	local i
	for i in $(seq 10); do
		"$G" set --daddr 10.2.0.$i --spi $((0x400 + i)) || return 1
		"$G" -n "$a" set --family 6 --daddr 2001:db8::$i --spi $i --wesp 3 ||
			return 1
	done
	"$G" -n "$b" set --daddr 10.2.1.1 --spi 0x500 &&
	[ "$("$G" count)" = 10 ] && [ "$("$G" -n "$a" count)" = 10 ]
}
check "21 pending configs in three namespaces" pending
check "unload with pending configs" unload
check "no leak reported by the module at exit" bash -c "! dmesg | grep -E '$LEAK'"
check "reload: no config survives the unload" bash -c \
	"insmod $ESPX_KO && [ \$($G count) = 0 ] && [ \$($G -n $a count) = 0 ]"

# An SA holds a reference on espx's ESP type: rmmod must refuse until it is gone.
if ip -n "$b" xfrm state add src 192.0.2.1 dst 10.2.1.1 proto esp spi 0x500 mode transport \
	aead 'rfc4106(gcm(aes))' 0x0123456789abcdef0123456789abcdef01234567 128 2>/dev/null; then
	busy() {
		! rmmod espx 2>/dev/null && loaded &&
		ip -n "$b" xfrm state flush && rmmod_retry espx && load
	}
	check "rmmod refused while an SA uses the type, works after flush" busy
else
	ktap_skip "rmmod refused while an SA uses the type: no ESP type (ip xfrm state add failed)"
fi

# ---- init order, failed loads
knobs=/sys/module/espx/parameters/test_knobs
check_fail "test_knobs is read-only at run time" bash -c "echo Y >$knobs"
# The function tracer patches kernel text (int3, then the call): under multi-threaded
# TCG that once crashed 6.12 (int3 oops in __schedule), taking the whole VM run down;
# scripts/vm.sh now runs the vCPUs on one host thread, where patching is safe.
# ESPX_FTRACE=0 (make check passes it on) skips the tracing; the failed loads run
# either way.
tracing=
why="ESPX_FTRACE=0 (the function tracer patches kernel text, unsafe under multi-threaded TCG)"
if [ "${ESPX_FTRACE:-1}" != 0 ]; then
	if out=$(trace_init 2>&1) && out=$(trace_start 2>&1); then
		tracing=1
		trace_stop >/dev/null
	else
		why="no ftrace ($TR): $out"
	fi
fi
tstart() { [ -z "$tracing" ] || trace_start; }
tstop() { [ -z "$tracing" ] || trace_stop; }
# tcheck DESC CMD...: a check that needs the trace
tcheck() {
	if [ -n "$tracing" ]; then
		check "$@"
	else
		ktap_skip "$1: $why"
	fi
}
if [ -n "$tracing" ]; then
	ip -n "$b" xfrm state flush
	rmmod_retry espx >/dev/null 2>&1
	trace_start
	load >/dev/null 2>&1
	unload >/dev/null 2>&1
	t=$(trace_stop)
	load >/dev/null 2>&1
	ktap_info "load + unload:" $t
fi
tcheck "init: per-netns tables, then the genetlink family, then types and handlers" \
	tables_first "${t:-}"
tcheck "exit: every registration undone in exact reverse" undone_in_reverse "${t:-}"

if [ ! -r "$SQUAT_KO" ]; then
	for i in $(seq 5); do ktap_skip "failed load: no $SQUAT_KO"; done
else
	# fail_load PARAM: insmod espx fails while espx_squat PARAM holds a resource
	fail_load() {
		local t
		! loaded || rmmod_retry espx || return 1
		insmod "$SQUAT_KO" "$1" || return 1
		tstart
		insmod "$ESPX_KO" 2>/dev/null && { tstop >/dev/null; echo "insmod succeeded"; return 1; }
		t=$(tstop)
		rmmod espx_squat || return 1
		echo "$t"
		! loaded || { echo "espx loaded"; return 1; }
		"$G" resolve >/dev/null 2>&1
		[ $? = 2 ] || { echo "family espx resolvable"; return 1; }
		# nothing owns ESP: esp4/esp6 load (they fail while espx's type or handler stays)
		modprobe esp4 && modprobe esp6 && rmmod esp4 esp6
	}
	out=$(fail_load genl=1 2>&1)
	rc=$?
	ktap_info "genl taken:" $(grep -E '^(un)?reg ' <<<"$out")
	if [ $rc = 0 ]; then
		ktap_ok "failed load (genl family name taken): no family, esp4/esp6 load after"
	else
		ktap_fail "failed load (genl family name taken): $out"
	fi
	tr=$(grep -E '^(un)?reg ' <<<"$out")
	tcheck "... no type, protocol handler or notifier was ever registered" bash -c \
		"! grep -qE 'xfrm|inet|notifier' <<<'$tr'"
	tcheck "... the tables undone" undone_in_reverse "$tr" 1
	out=$(fail_load wesp=1 2>&1)
	rc=$?
	ktap_info "protocol 141 taken:" $(grep -E '^(un)?reg ' <<<"$out")
	if [ $rc = 0 ]; then
		ktap_ok "failed load (WESPv2 protocol 141 taken): no family, esp4/esp6 load after"
	else
		ktap_fail "failed load (WESPv2 protocol 141 taken): $out"
	fi
	tcheck "... every step before it undone in exact reverse" \
		undone_in_reverse "$(grep -E '^(un)?reg ' <<<"$out")" 1
	loaded || load >/dev/null
fi
[ -z "$tracing" ] || trace_done
loaded || insmod "$ESPX_KO"

check "kernel log clean (no splat, no leak)" bash -c \
	"! dmesg | sed -n '/espx-selftest: loadunload start/,\$p' | grep -E '$SPLAT|$LEAK'"
loaded || insmod "$ESPX_KO"
ktap_finish
