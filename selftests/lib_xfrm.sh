#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SA/policy helpers for the ESP data-path selftests; source after lib.sh.
#
# A test registers "cases" (algorithm x mode x outer family x inner family, plus
# extra SA options), then xt_setup builds two namespaces A and B joined by a veth
# and installs every case at once: case n gets its own addresses, so its traffic
# only ever matches its own policies and SAs:
#   outer (veth0)  10.98.n.1/24 fd00:98:n::1/64  (B: .2 / ::2)
#   inner (lo)     10.97.n.1/32 fd00:97:n::1/128 (B: .2 / ::2), routed via veth0
# Transport mode talks between the outer addresses; tunnel and BEET between the
# inner ones. SPIs: A->B 0x1000+n, B->A 0x2000+n. Keys are derived from n, so the
# same case always has the same SAs (wirecompat.sh relies on that). Neighbours are
# static (no ARP/ND on the wire, only the test's own packets).
#
# Environment: ESP_IMPL=stock|espx (default espx) says which ESP implementation
# the test runs against: stock = the kernel's esp4/esp6, espx = espx.ko.

ESP_IMPL=${ESP_IMPL:-espx}
# The ip binary the SA batches run with; a test whose cases carry espx keywords
# (e.g. "wesp crypt-offset 2" in SA_OPTS) sets XT_IP=$IP (the patched ip).
XT_IP=${XT_IP:-ip}
XT_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
if [ -z "${PYTHON:-}" ]; then
	# scapy/cryptography come from Debian's python3, not from a pyenv shim
	PYTHON=python3
	[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
fi
# -S: no site module, a much faster start under TCG (espx_pkt.py adds the
# site directories itself when it needs python3-cryptography)
# pyrun.py: the tools load from bytecode compiled on the host (selftests/Makefile)
XT_PY="$PYTHON -S $XT_DIR/pyrun.py"
XT_PKT="$XT_PY espx_pkt"
XT_TMP=$(mktemp -d /tmp/espx-xt.XXXXXX)
XT_PIDS=()
XT_MAC_A=02:00:00:00:00:0a
XT_MAC_B=02:00:00:00:00:0b
XT_ECHO_PORT=7000
XT_SINK_PORT=7001

xt_cleanup() {
	local p
	for p in "${XT_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${XT_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	__cleanup
	xt_dropmon_stop 2>/dev/null
	rm -rf "$XT_TMP"
}
trap xt_cleanup EXIT

# xt_now: seconds since the epoch, with milliseconds (bash's own clock: date
# and cut were two forks, up to a second under TCG)
xt_now() { echo "${EPOCHREALTIME:0:14}"; }
xt_since() { awk -v a="$1" -v b="$(xt_now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- modules --
xt_mod_loaded() { [ -d "/sys/module/$1" ]; }

# xt_use_stock: make esp4/esp6 the ESP implementation (espx must be unloadable).
xt_use_stock() {
	xt_mod_loaded espx && { xt_rmmod espx || return 1; }
	modprobe esp4 && modprobe esp6
}

# xt_use_espx: make espx.ko the ESP implementation (module parameters: XT_ESPX_PARAMS).
xt_use_espx() {
	local m
	xt_mod_loaded espx && return 0
	[ -n "${ESPX_KO:-}" ] && [ -e "$ESPX_KO" ] || { echo "no ESPX_KO"; return 1; }
	for m in esp4_offload esp6_offload esp4 esp6; do
		xt_mod_loaded $m && { xt_rmmod $m || return 1; }
	done
	# insmod does not load dependencies (xfrm_algo, ...)
	m=$(modinfo -F depends "$ESPX_KO" | tr , ' ')
	[ -z "$m" ] || modprobe -a $m
	# shellcheck disable=SC2086 # word splitting wanted: several parameters
	insmod "$ESPX_KO" ${XT_ESPX_PARAMS:-}
}

# xt_rmmod MOD: SAs are freed by a deferred GC, so the module may stay busy briefly.
xt_rmmod() {
	local i
	for i in $(seq 50); do
		rmmod "$1" 2>/dev/null && return 0
		xt_mod_loaded "$1" || return 0
		sleep 0.2
	done
	rmmod "$1"
}

# xt_impl_prepare: load the implementation ESP_IMPL names, or skip the whole test.
xt_impl_prepare() {
	case $ESP_IMPL in
	stock)
		if xt_mod_loaded espx; then
			ktap_info "ESP_IMPL=stock but espx is loaded"
			return 1
		fi
		modprobe esp4 && modprobe esp6 ;;
	espx)
		xt_mod_loaded espx || xt_use_espx ;;
	*)
		ktap_info "ESP_IMPL must be stock or espx"
		return 1 ;;
	esac
}

# ------------------------------------------------------------- algorithms --
XT_ALGS="gcm128-16 gcm192-12 gcm256-8 ccm128-16 chacha gmac128 \
sha1-cbc128 sha256-cbc128 sha384-cbc192 sha512-cbc256 null-sha256"

# The batch generator: one awk process writes every line (bash loops are very
# slow under TCG). Input: one case per line "n|alg|mode|of|if|encap|opt|optA|optB";
# -v what=all|sa|key side=A|B. Output: batch lines, each followed by a tab and its
# case number (stripped before ip sees it); what=key prints "n dir key-blob".
XT_GEN='
function key(n, seed,   i, k) {
	k = "0x"
	for (i = 0; i < n; i++)
		k = k sprintf("%02x", (seed * 29 + i * 7 + int(seed / 256)) % 256)
	return k
}
function alg(a, s,   icv, auth, enc) {
	icv = a; sub(/^[^-]*-/, "", icv); icv = icv * 8
	if (a ~ /^gcm128-/) return "aead rfc4106(gcm(aes)) " key(20, s) " " icv
	if (a ~ /^gcm192-/) return "aead rfc4106(gcm(aes)) " key(28, s) " " icv
	if (a ~ /^gcm256-/) return "aead rfc4106(gcm(aes)) " key(36, s) " " icv
	if (a ~ /^ccm128-/) return "aead rfc4309(ccm(aes)) " key(19, s) " " icv
	if (a ~ /^ccm256-/) return "aead rfc4309(ccm(aes)) " key(35, s) " " icv
	if (a == "chacha") return "aead rfc7539esp(chacha20,poly1305) " key(36, s) " 128"
	if (a == "gmac128") return "aead rfc4543(gcm(aes)) " key(20, s) " 128"
	if (a ~ /^sha1-/) auth = "auth-trunc hmac(sha1) " key(20, s + 1) " 96"
	if (a ~ /^(sha256-|null-sha256)/) auth = "auth-trunc hmac(sha256) " key(32, s + 1) " 128"
	if (a ~ /^sha384-/) auth = "auth-trunc hmac(sha384) " key(48, s + 1) " 192"
	if (a ~ /^sha512-/) auth = "auth-trunc hmac(sha512) " key(64, s + 1) " 256"
	if (a ~ /-cbc128$/) enc = "enc cbc(aes) " key(16, s)
	if (a ~ /-cbc192$/) enc = "enc cbc(aes) " key(24, s)
	if (a ~ /-cbc256$/) enc = "enc cbc(aes) " key(32, s)
	if (a ~ /^null-/) enc = "enc ecb(cipher_null) \"\""
	if (enc == "" || auth == "") return "BAD-ALGORITHM " a
	return enc " " auth
}
function addr(n, side, kind, fam,   h) {
	h = side == "A" ? 1 : 2
	if (kind fam == "outer4") return "10.98." n "." h
	if (kind fam == "outer6") return "fd00:98:" n "::" h
	if (kind fam == "inner4") return "10.97." n "." h
	return "fd00:97:" n "::" h
}
function emit(l) { print l "\t" N }
BEGIN { FS = "|"; peer = side == "A" ? "B" : "A"; mac = side == "A" ? macb : maca }
{
	N = $1; a = $2; mode = $3; of = $4; inf = $5; enc = $6
	if (what == "key") {
		for (dir = 1; dir <= 2; dir++) {
			split(alg(a, N * 4 + dir * 2), w, " ")
			print N, dir, w[3]
		}
		next
	}
	if (what == "all") {
		if (of == 4) emit("addr add " addr(N, side, "outer", 4) "/24 dev veth0")
		else emit("addr add " addr(N, side, "outer", 6) "/64 dev veth0 nodad")
		emit("neigh replace " addr(N, peer, "outer", of) " lladdr " mac " dev veth0 nud permanent")
		if (mode != "transport") {
			pl = inf == 4 ? 32 : 128
			emit("addr add " addr(N, side, "inner", inf) "/" pl " dev lo" (inf == 6 ? " nodad" : ""))
			emit("route add " addr(N, peer, "inner", inf) "/" pl " dev veth0 src " addr(N, side, "inner", inf))
		}
	}
	for (dir = 1; dir <= 2; dir++) {
		s = dir == 1 ? "A" : "B"; d = dir == 1 ? "B" : "A"
		opt = $7
		if (opt !~ /replay-window/) opt = opt " replay-window 32"
		if (enc == 1) sub(/encap/, "encap espinudp 4500 4500 " (of == 4 ? "0.0.0.0" : "::"), opt)
		l = sprintf("xfrm state add src %s dst %s proto esp spi 0x%x reqid %d mode %s %s %s %s",
			addr(N, s, "outer", of), addr(N, d, "outer", of), (dir == 1 ? 4096 : 8192) + N,
			N, mode, alg(a, N * 4 + dir * 2), opt, dir == 1 ? $8 : $9)
		pl = inf == 4 ? 32 : 128
		if (mode != "transport")
			l = l " sel src " addr(N, s, "inner", inf) "/" pl " dst " addr(N, d, "inner", inf) "/" pl
		emit(l)
	}
	k = mode == "transport" ? "outer" : "inner"
	for (i = 1; i <= 2; i++) {
		dir = i == 1 ? "out" : "in"
		s = i == 1 ? side : peer; d = i == 1 ? peer : side
		emit("xfrm policy add src " addr(N, s, k, inf) "/" pl " dst " addr(N, d, k, inf) "/" pl \
			" dir " dir " tmpl src " addr(N, s, "outer", of) " dst " addr(N, d, "outer", of) \
			" proto esp reqid " N " mode " mode)
	}
}'

# xt_case_lines [CASES...]: the generator's input for CASES (default all)
xt_case_lines() {
	local n cases=("$@")
	[ ${#cases[@]} -gt 0 ] || cases=($(seq 1 $XT_N))
	for n in "${cases[@]}"; do
		echo "$n|${XT_ALG[n]}|${XT_MODE[n]}|${XT_OF[n]}|${XT_IF[n]}|${XT_ENCAP[n]}|${XT_OPT[n]}|${XT_OPT_A[n]}|${XT_OPT_B[n]}"
	done
}

# xt_case_key n DIR: the key blob (0x...) of case n's SA (DIR 1 = A->B, 2 = B->A)
xt_case_key() {
	xt_case_lines "$1" | awk -v what=key "$XT_GEN" | awk -v d="$2" '$2 == d { print $3 }'
}

# xt_alg_py ALG: "espx_pkt.py --alg --icv" words for an AEAD ALG (none for others)
xt_alg_py() {
	case $1 in
	gcm*) echo "--alg gcm --icv $((${1#*-} + 0))" ;;
	ccm*) echo "--alg ccm --icv $((${1#*-} + 0))" ;;
	chacha) echo "--alg chacha --icv 16" ;;
	gmac128) echo "--alg gmac --icv 16" ;;
	*) return 1 ;;
	esac
}

# ------------------------------------------------------------------ cases --
XT_N=0
XT_ALG=() XT_MODE=() XT_OF=() XT_IF=() XT_OPT=() XT_OPT_A=() XT_OPT_B=()
XT_LABEL=() XT_ENCAP=() XT_BAD=() XT_DST=() XT_SRC=() XT_SPI1=() XT_SPI2=()

# xt_case ALG MODE OUTER_FAM INNER_FAM [LABEL [SA_OPTS [OPTS_FOR_A->B [B->A]]]]
# Registers a case; its number is left in XT_N. SA_OPTS go on both SAs (e.g.
# "flag esn replay-window 128" or "encap"), OPTS_FOR_A->B on the A->B SA only (in
# both namespaces), B->A likewise. The word "encap" in SA_OPTS means
# ESP-in-UDP on port 4500.
xt_case() {
	local n=$((XT_N + 1)) enc=0
	[ $n -lt 250 ] || { echo "too many cases" >&2; return 1; }
	XT_N=$n
	XT_ALG[n]=$1 XT_MODE[n]=$2 XT_OF[n]=$3 XT_IF[n]=$4
	[ "$2" = transport ] && XT_IF[n]=$3
	XT_LABEL[n]=${5:-$1 $2 $(xt_famname "$3" "${XT_IF[n]}")}
	XT_OPT[n]=${6:-}
	XT_OPT_A[n]=${7:-}
	XT_OPT_B[n]=${8:-}
	[[ " ${XT_OPT[n]} " == *" encap "* ]] && enc=1
	XT_ENCAP[n]=$enc
	XT_BAD[n]=
	local k=inner
	[ "$2" = transport ] && k=outer
	xt_a $n B $k "${XT_IF[n]}"
	XT_DST[n]=$XA
	xt_a $n A $k "${XT_IF[n]}"
	XT_SRC[n]=$XA
	printf -v XT_SPI1[n] 0x%x $((0x1000 + n))
	printf -v XT_SPI2[n] 0x%x $((0x2000 + n))
}

# xt_nf_less_v6encap N: case N is transport mode over IPv6 with ESP-in-UDP on a kernel
# without netfilter, which loses it in its own xfrm code (lib.sh, kernel_nf_less)
xt_nf_less_v6encap() {
	[ "${XT_MODE[$1]}" = transport ] && [ "${XT_OF[$1]}" = 6 ] && [ "${XT_ENCAP[$1]}" = 1 ] &&
		kernel_nf_less
}

xt_famname() {
	if [ "$1" = "$2" ]; then echo "ipv$1"; else echo "ipv$2-in-ipv$1"; fi
}

# xt_a n A|B outer|inner FAM: sets XA to that address of case n
xt_a() {
	local h=1
	[ "$2" = B ] && h=2
	case $3$4 in
	outer4) XA=10.98.$1.$h ;;
	outer6) XA=fd00:98:$1::$h ;;
	inner4) XA=10.97.$1.$h ;;
	inner6) XA=fd00:97:$1::$h ;;
	esac
}
xt_addr() { xt_a "$@"; echo "$XA"; }

# xt_dst n: the address traffic of case n is sent to (B's), also in XT_DST[n];
# XT_SRC[n] is A's. SPIs: XT_SPI1[n] (A->B), XT_SPI2[n] (B->A).
xt_dst() { echo "${XT_DST[$1]}"; }

xt_spi() { printf '0x%x' $((($2 == 1 ? 0x1000 : 0x2000) + $1)); }

# xt_topology: namespaces NS_A/NS_B with veth0 (static MACs), no DAD, no rp_filter
xt_topology() {
	local ns
	NS_A=$(ns_new a) && NS_B=$(ns_new b) || return 1
	ip link add veth0 netns "$NS_A" address $XT_MAC_A type veth \
		peer name veth0 netns "$NS_B" address $XT_MAC_B || return 1
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.disable_ipv6=0 \
			net.ipv4.ping_group_range="0 0" >/dev/null
		ip -n "$ns" link set veth0 up || return 1
	done
}

# xt_batch NS FILE: run an ip batch with -force; each failed line's case
# (second column of FILE.map) is marked bad with the error.
xt_batch() {
	local ns=$1 f=$2 out line prev=
	out=$($XT_IP -n "$ns" -force -batch "$f" 2>&1)
	[ -z "$out" ] && return 0
	while read -r line; do
		if [[ $line =~ Command\ failed\ .*:([0-9]+) ]]; then
			local c
			c=$(sed -n "${BASH_REMATCH[1]}p" "$f.map" | cut -f2)
			[ -n "$c" ] && [ -z "${XT_BAD[c]}" ] && XT_BAD[c]="setup: $(sed -n "${BASH_REMATCH[1]}p" "$f" | cut -c1-60)...: $prev"
		fi
		prev=$line
	done <<<"$out"
	return 1
}

# xt_setup [CASES...]: topology (first call only) + addresses, SAs, policies of
# CASES (default all). Per-case failures end up in XT_BAD[n].
xt_setup() {
	[ -n "${NS_A:-}" ] || xt_topology || return 1
	xt_install all "$@"
}

# xt_sa_install [CASES...]: only the SAs and policies again (after a flush)
xt_sa_install() { xt_install sa "$@"; }

# ---- SA selectors with an upper-layer part (diet.sh) ------------------------
# A case's SA_OPTS / OPTS_FOR_A->B / B->A may carry one word "up=proto,udp,dport,7000":
# xt_install moves it to the end of the SA's selector (commas become spaces;
# lines without it pass unchanged), making the selector ("sel src S/32 dst D/32" from the
# line's own addresses) for transport mode, which has none otherwise. Diet-ESP
# takes its traffic selector (protocol, ports) from there.
XT_UP_AWK='
BEGIN { FS = OFS = "\t" }
$1 ~ /^xfrm state add / && match($1, / up=[^ ]+/) {
	up = substr($1, RSTART + 4, RLENGTH - 4)
	gsub(/,/, " ", up)
	l = substr($1, 1, RSTART - 1) substr($1, RSTART + RLENGTH)
	if (l !~ / sel /) {
		split(l, w, " ")
		pl = w[5] ~ /:/ ? 128 : 32
		l = l " sel src " w[5] "/" pl " dst " w[7] "/" pl
	}
	$1 = l " " up
}
{ print }'

xt_install() {
	local what=$1 side f ns
	shift
	for side in A B; do
		f=$XT_TMP/batch-$what.$side
		xt_case_lines "$@" | awk -v what="$what" -v side=$side -v maca=$XT_MAC_A \
			-v macb=$XT_MAC_B "$XT_GEN" >"$f.gen" || return 1
		awk "$XT_UP_AWK" "$f.gen" >"$f.map" || return 1
		cut -f1 "$f.map" >"$f"
		ns=$NS_A
		[ $side = B ] && ns=$NS_B
		local t=$(xt_now)
		xt_batch "$ns" "$f"
		[ -z "${XT_VERBOSE:-}" ] || ktap_info "ip batch $what $side: $(wc -l <"$f") lines, $(xt_since "$t") s"
	done
	return 0
}

xt_flush() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm policy flush
		ip -n "$ns" xfrm state flush
	done
}

# ------------------------------------------------------------ processes --
# xt_bg NS NAME CMD...: start CMD in NS in the background, output in
# $XT_TMP/NAME.log; wait (60 s max) for a "ready" line if WAIT_READY=1.
xt_bg() {
	local ns=$1 name=$2 i
	shift 2
	# emptied here, not only by the child's redirection: the loop below (and
	# xt_tcpdump's) must not find an earlier NAME's "ready" before the child ran
	: >"$XT_TMP/$name.log"
	ip netns exec "$ns" "$@" >"$XT_TMP/$name.log" 2>&1 &
	XT_LASTPID=$!
	XT_PIDS+=("$XT_LASTPID")
	[ "${WAIT_READY:-1}" = 1 ] || return 0
	for ((i = 0; i < 600; i++)); do
		file_has "$XT_TMP/$name.log" '^ready' && return 0
		kill -0 "$XT_LASTPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$XT_TMP/$name.log" >&2
	return 1
}

# xt_stop PID: stop one background process started by xt_bg
xt_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# xt_servers: UDP echo servers (port $XT_ECHO_PORT; $XT_SINK_PORT takes and logs
# datagrams without answering) in A and B and UDP-encap
# sockets (port 4500) in both, needed by any case with "encap". Payloads the
# echo servers got are logged, one a line, in $XT_TMP/udpA.rx / udpB.rx, what the
# encap sockets got (IKE, non-ESP) in ikeA.rx / ikeB.rx; the echo servers' PIDs
# (a process in each netns) are XT_ECHO_PID_A / XT_ECHO_PID_B.
xt_servers() {
	local s ns pids=() i
	for s in A B; do
		ns=$NS_A
		[ $s = B ] && ns=$NS_B
		WAIT_READY=0 xt_bg "$ns" srv$s $XT_PKT servers --echo-port $XT_ECHO_PORT \
			--sink-port $XT_SINK_PORT --echo-log "$XT_TMP/udp$s.rx" --encap-log "$XT_TMP/ike$s.rx"
		printf -v "XT_ECHO_PID_$s" %s "$XT_LASTPID"
	done
	for ((i = 0; i < 600; i++)); do
		file_has "$XT_TMP/srvA.log" '^ready' && file_has "$XT_TMP/srvB.log" '^ready' && return 0
		kill -0 "$XT_ECHO_PID_A" && kill -0 "$XT_ECHO_PID_B" || break
		sleep 0.1
	done
	cat "$XT_TMP/srvA.log" "$XT_TMP/srvB.log" >&2
	return 1
}

# ---------------------------------------------------------------- traffic --
# xt_ping FROM_NS DST [COUNT]: COUNT echo requests, all must be answered (no
# deadline: ping would send more until COUNT replies came); on failure
# ping's summary as a "# " line
xt_ping() {
	local c=${3:-2} out
	out=$(ip netns exec "$1" ping -n -q -c "$c" -i 0.1 -W 5 "$2" 2>&1)
	[[ $out =~ ([0-9]+)\ packets\ transmitted,\ ([0-9]+)\ received ]] &&
		[ "${BASH_REMATCH[1]}" = "$c" ] && [ "${BASH_REMATCH[2]}" = "$c" ] && return 0
	echo "# xt_ping $2: $(grep -m1 'transmitted' <<<"$out" || tail -1 <<<"$out")"
	return 1
}

# xt_udp FROM_NS DST...: one UDP exchange with the echo server per DST; output
# lines "ok DST" / "fail DST"
xt_udp() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout "$HELPER_TMO" $XT_PKT udp-ping --port $XT_ECHO_PORT "$@"
}

# xt_traffic FROM_NS DST...: 2 pings and a UDP echo exchange with every DST,
# all at once; lines "ok|fail DST icmp n/2 udp 0|1"
xt_traffic() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout "$HELPER_TMO" $XT_PKT traffic --port $XT_ECHO_PORT "$@"
}

# xt_tcp SRV_NS DST CLI_NS MB: MB MiB TCP transfer CLI -> SRV:DST; sha256 must match
xt_tcp() {
	local srv=$1 dst=$2 cli=$3 mb=$4 port=$((20000 + RANDOM % 10000)) l c pid tmo
	[ -e "$XT_TMP/data.$mb" ] || head -c "${mb}M" /dev/urandom >"$XT_TMP/data.$mb"
	if [[ $dst == *:* ]]; then
		l="TCP6-LISTEN:$port,bind=[$dst],reuseaddr" c="TCP6:[$dst]:$port"
	else
		l="TCP4-LISTEN:$port,bind=$dst,reuseaddr" c="TCP4:$dst:$port"
	fi
	rm -f "$XT_TMP/tcp.rx"
	# 150 s (times TSCALE)
	tmo=$((150 * TSCALE))
	ip netns exec "$srv" timeout $tmo socat -u "$l" "OPEN:$XT_TMP/tcp.rx,creat,trunc" &
	pid=$!
	ip netns exec "$cli" timeout $tmo socat -u "OPEN:$XT_TMP/data.$mb" "$c,retry=50,interval=0.1" ||
		{ kill $pid 2>/dev/null; wait $pid; echo "tcp client failed (timeout $tmo s," \
			"$(stat -c %s "$XT_TMP/tcp.rx" 2>/dev/null || echo 0) octets received)"; return 1; }
	wait $pid || { echo "tcp server failed"; return 1; }
	[ "$(sha256sum <"$XT_TMP/data.$mb")" = "$(sha256sum <"$XT_TMP/tcp.rx")" ] ||
		{ echo "sha256 differs ($(stat -c %s "$XT_TMP/tcp.rx") octets received)"; return 1; }
}

# ---------------------------------------------------------------- counters --
# xt_stat NS NAME: one /proc/net/xfrm_stat counter of NS
xt_stat() { ip netns exec "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/xfrm_stat; }

# xt_stats NS: "NAME VALUE" for every xfrm_stat counter and the IP-level drop
# counters (snmp / netstat / snmp6) of NS
xt_stats() {
	ip netns exec "$1" sh -c 'cat /proc/net/xfrm_stat
		awk "NR % 2 == 1 { split(\$0, h) } NR % 2 == 0 { for (i = 2; i <= NF; i++) print h[1] h[i], \$i }" /proc/net/snmp /proc/net/netstat
		cat /proc/net/snmp6' | sed 's/: */:/'
}

# xt_stat_delta BEFORE AFTER: "NAME +D" for every counter that changed
xt_stat_delta() {
	awk 'NR == FNR { v[$1] = $2; next } ($1 in v) && $2 != v[$1] { printf "%s +%d\n", $1, $2 - v[$1] }' "$1" "$2"
}

# xt_errs NS [IGNORE_REGEX]: the xfrm_stat counters that are not zero (except
# those whose name matches IGNORE_REGEX), "NAME=VALUE ..."
xt_errs() {
	ip netns exec "$1" awk -v ign="${2:-^$}" '$2 != 0 && $1 !~ ign { printf "%s=%s ", $1, $2 }' \
		/proc/net/xfrm_stat
}

# xt_sa_dump NS: "SPI DST PACKETS" per SA (from ip -s xfrm state)
xt_sa_dump() {
	ip -n "$1" -s xfrm state | awk '
		/^src / { dst = $4 }
		/proto esp spi/ { spi = $4; sub(/\(.*/, "", spi) }
		/lifetime current:/ { cur = 1; next }
		cur && /\(packets\)/ { sub(/\(packets\)/, "", $2); print spi, dst, $2 + 0; cur = 0 }'
}

# xt_sa_pkts DUMPFILE SPI: packet count of SPI in a dump made by xt_sa_dump
xt_sa_pkts() {
	awk -v s="$(printf '0x%08x' "$2")" '$1 == s { print $3; f = 1 } END { if (!f) print -1 }' "$1"
}

# xt_sa_load NS ARRAY: ARRAY[spi] = packets for every SA of NS (ARRAY declared -A;
# spi as 0x%x, the form of XT_SPI1/XT_SPI2)
xt_sa_load() {
	local -n __arr=$2
	local spi dst p k
	__arr=()
	while read -r spi dst p; do
		printf -v k 0x%x "$spi"
		__arr[$k]=$p
	done < <(xt_sa_dump "$1")
}

# ------------------------------------------------------------------ dmesg --
xt_dmesg_mark() { XT_DMESG_LINES=$(dmesg | wc -l); }

# xt_dmesg_check: WARN/BUG/oops/refcount splats logged since xt_dmesg_mark
xt_dmesg_check() {
	dmesg | tail -n +$((${XT_DMESG_LINES:-0} + 1)) |
		grep -E 'WARNING:|BUG:|Oops|refcount_t|UBSAN|KASAN|general protection|list_add corruption' &&
		return 1
	return 0
}

# xt_dmesg_point: one point, that nothing in the kernel log since
# xt_dmesg_mark is a WARN/BUG/oops (the lines if there are)
xt_dmesg_point() {
	local out
	if out=$(xt_dmesg_check); then
		ktap_ok "dmesg: no WARN/BUG/oops"
	else
		ktap_fail "dmesg: no WARN/BUG/oops"
		sed 's/^/#   /' <<<"$out"
	fi
}

# xt_begin [--any] DESC: a script's start: T0 (xt_end's time), the KTAP
# header, the ESP implementation loaded (xt_impl_prepare) and the dmesg mark
# xt_end's last point looks from. An extension test needs ESP_IMPL=espx, and
# skips with DESC ("WESPv2 needs espx") otherwise; --any: any ESP_IMPL. When
# the implementation does not load: one skipped point and the end.
xt_begin() {
	local any='' out=''
	[ "$1" = --any ] && { any=1; shift; }
	T0=$(xt_now)
	ktap_header
	if [ -n "$any" ]; then
		if ! out=$(xt_impl_prepare 2>&1); then
			ktap_plan 1
			ktap_skip "ESP implementation '$ESP_IMPL' not available: $out"
			ktap_finish
		fi
	elif [ "$ESP_IMPL" != espx ] || ! out=$(xt_impl_prepare 2>&1); then
		ktap_plan 1
		ktap_skip "$1 (ESP_IMPL=$ESP_IMPL): $out"
		ktap_finish
	fi
	xt_dmesg_mark
}

# xt_need [--fail] DESC CMD...: unless CMD succeeds, one skipped point DESC
# (--fail: a failed one) and the end; CMD runs in this shell (xt_genl_find
# sets XT_GENL)
xt_need() {
	local res=ktap_skip
	[ "$1" = --fail ] && { res=ktap_fail; shift; }
	local desc=$1
	shift
	"$@" && return 0
	ktap_plan 1
	$res "$desc"
	ktap_finish
}

# xt_ip_has WORD: the patched ip ($IP) is built and its "xfrm state help" has WORD
xt_ip_has() { [ "$IP" != ip ] && "$IP" xfrm state help 2>&1 | grep -q "$1"; }

# xt_end: a script's last point (xt_dmesg_point), its time since $T0 (set
# by xt_begin, or with T0=$(xt_now)), and ktap_finish.
xt_end() {
	xt_dmesg_point
	ktap_info "$(basename "$0"): $(xt_since "${T0:?T0 unset}") s"
	ktap_finish
}

# ------------------------------------------------------ drop reasons --
# xt_dropmon_start: record the kfree_skb tracepoint (every freed-as-dropped skb
# and its drop reason) in a trace instance of this script's own; 1 if tracefs
# or the event is missing. xt_dropmon_count REASON: how many drops with that
# reason (its name, e.g. INVALID_PROTO) were recorded. xt_dropmon_stop.
xt_dropmon_start() {
	local t=/sys/kernel/tracing
	[ -e $t/events ] || mount -t tracefs nodev $t 2>/dev/null
	[ -e $t/events/skb/kfree_skb/enable ] || return 1
	XT_DROPMON=$t/instances/espx-$$
	mkdir "$XT_DROPMON" && echo 1 >"$XT_DROPMON/events/skb/kfree_skb/enable"
}
xt_dropmon_count() { grep -c "reason: $1\$" "$XT_DROPMON/trace"; }
xt_dropmon_stop() {
	[ -n "${XT_DROPMON:-}" ] || return 0
	echo 0 >"$XT_DROPMON/events/skb/kfree_skb/enable"
	rmdir "$XT_DROPMON"
	XT_DROPMON=
}

# ------------------------------------------------------- counter SAs --
# xt_ctr_opts N [W [CO [EXTRA]]]: SA_OPTS of a counter SA (multi-counters.md):
# the core's replay window 0, no ESN, oseq-may-wrap; WESPv2 with CryptOffset
# CO (default 0), N counters, window W (default: the kernel's)
xt_ctr_opts() {
	local o="replay-window 0 extra-flag oseq-may-wrap wesp crypt-offset ${3:-0} seq-counters $1"
	[ -z "${2:-}" ] || o+=" counter-window $2"
	[ -z "${4:-}" ] || o+=" $4"
	echo "$o"
}

# xt_genl_find: sets XT_GENL to the espx_genl binary ("" if none)
xt_genl_find() {
	local g
	XT_GENL=
	for g in "${ESPX_BIN:-}/espx_genl" "$XT_DIR/espx_genl" "$XT_DIR/../build/selftests/espx_genl"; do
		[ -x "$g" ] && { XT_GENL=$g; return 0; }
	done
	return 1
}

# xt_tcpdump NS NAME FILE SNAPLEN FILTER...: capture on NS's veth0 (both
# directions) into FILE in the background until xt_stop $XT_LASTPID; waits
# until tcpdump listens. Its summary ("N packets dropped by kernel") ends up
# in $XT_TMP/NAME.log. XT_TCPDUMP_OPTS (default: immediate mode, so that a
# packet never waits in a ring block when tcpdump stops) go on its command
# line; a big capture sets it empty and waits a second before xt_stop.
xt_tcpdump() {
	local ns=$1 name=$2 f=$3 snap=$4 i
	shift 4
	WAIT_READY=0 xt_bg "$ns" "$name" tcpdump -i veth0 -n -s "$snap" -B 16384 \
		${XT_TCPDUMP_OPTS---immediate-mode -U} -w "$f" "$@"
	for ((i = 0; i < 300; i++)); do
		file_has "$XT_TMP/$name.log" 'listening on' && return 0
		kill -0 "$XT_LASTPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$XT_TMP/$name.log" >&2
	return 1
}

# xt_serve_start NS STATS_PID APP_LOG [SETTLE [SERVE-ARGS...]]: one
# "espx_pkt.py serve" in NS as a coprocess (XT_PK), reporting counter deltas
# of STATS_PID's netns (espx's included unless XT_SERVE_ESPX is set empty)
# after every "send"; talk to it with xt_pk. SERVE-ARGS e.g. --ctr-spi SPI
# (per-counter deltas of that SA).
xt_serve_start() {
	local ns=$1 pid=$2 log=$3 settle=${4:-3}
	shift 4
	coproc XT_PK { ip netns exec "$ns" $XT_PKT serve --stats-pid "$pid" --app-log "$log" \
		--settle "$settle" ${XT_SERVE_ESPX---espx-stats} --out "$XT_TMP/pk.out" "$@" 2>&1; }
	XT_PIDS+=("$XT_PK_PID")
	XT_PKOUT=
	read -r -t 120 -u "${XT_PK[0]}" XT_PKOUT
	[ "$XT_PKOUT" = ready ]
}

# xt_pk SUBCOMMAND...: run it in the serve process; its output in XT_PKOUT (the
# answer is in pk.out; lines on the pipe before "." are what a child printed)
xt_pk() {
	local l
	XT_PKOUT=
	echo "$*" >&"${XT_PK[1]}"
	while read -r -t 300 -u "${XT_PK[0]}" l; do
		if [ "$l" = . ]; then
			l=$(<"$XT_TMP/pk.out")
			[ -z "$l" ] || XT_PKOUT+="$l"$'\n'
			return 0
		fi
		XT_PKOUT+="$l"$'\n'
	done
	XT_PKOUT+="espx_pkt.py serve did not answer"
	return 1
}

# xt_dload: XT_D = the delta line of the last xt_pk send, XT_DELTA[name] its values
declare -A XT_DELTA
xt_dload() {
	local w
	XT_DELTA=() XT_D=
	[[ $XT_PKOUT =~ delta\ ([^$'\n']*) ]] && XT_D=${BASH_REMATCH[1]}
	for w in $XT_D; do
		XT_DELTA[${w%+*}]=${w##*+}
	done
}

# xt_dsum REGEX: XT_DSUM = sum of the deltas whose name matches REGEX
xt_dsum() {
	local k
	XT_DSUM=0
	for k in "${!XT_DELTA[@]}"; do
		[[ $k =~ $1 ]] && XT_DSUM=$((XT_DSUM + XT_DELTA[$k]))
	done
	return 0
}

# xt_slab REGEX: active objects of the slab caches whose name matches, summed
# A KASAN kernel (make check-debug) keeps freed objects in its quarantine, where
# /proc/slabinfo still counts them as active (diet.sh's flood check on the debug
# kernel: 10795 -> 17474 objects after 2000 dropped packets): there each matching
# cache is shrunk first, which empties its part of the quarantine (kmem_cache_shrink
# -> kasan_cache_shrink). vm-tests.sh detects KASAN once (ESPX_KASAN); a test run
# by hand looks for itself.
xt_slab() {
	local name _ n=0
	[ -n "${ESPX_KASAN:-}" ] || { grep -qw kasan_report /proc/kallsyms 2>/dev/null && ESPX_KASAN=1 || ESPX_KASAN=0; }
	if [ "$ESPX_KASAN" = 1 ]; then
		while read -r name _; do
			n=$((n + 1))
			[ $n -gt 2 ] && [[ $name =~ $1 ]] && [ -w "/sys/kernel/slab/$name/shrink" ] &&
				echo 1 >"/sys/kernel/slab/$name/shrink"
		done </proc/slabinfo
	fi
	awk -v re="$1" 'NR > 2 && $1 ~ re { s += $2 } END { print s + 0 }' /proc/slabinfo
}

# ---- configuration rejects (wesp.sh, counters.sh) --------------------------
# SA adds in namespace $NS_C that must fail with a message and leave nothing
# behind; $XT_CONF_GENL (espx_genl, may be empty) counts the espx configs.
xt_sa_c() { "$IP" -n "$NS_C" xfrm state add src 10.9.0.1 dst 10.9.0.2 proto esp "$@"; }
xt_left_c() {	# nothing left behind in C: no SA, no espx config
	local s e=0
	s=$(ip -n "$NS_C" xfrm state list | grep -c '^src')
	[ -n "${XT_CONF_GENL:-}" ] && e=$(ip netns exec "$NS_C" "$XT_CONF_GENL" count 2>&1)
	[ "$s" = 0 ] && [ "$e" = 0 ] && return 0
	echo "left behind: $s SAs, $e espx configs"
	return 1
}
xt_conf_reject() {	# xt_conf_reject DESC REGEX ARGS...: must fail with a message matching REGEX
	local desc=$1 re=$2 out rc left
	shift 2
	out=$(xt_sa_c "$@" 2>&1)
	rc=$?
	left=$(xt_left_c)
	if [ $rc != 0 ] && grep -Eqi "$re" <<<"$out" && [ -z "$left" ]; then
		ktap_ok "config: $desc rejected: $(tr '\n' ' ' <<<"$out" | cut -c1-110)"
	else
		ktap_fail "config: $desc: rc $rc [$out] $left"
	fi
	ip -n "$NS_C" xfrm state flush
}

