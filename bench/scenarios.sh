# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# Benchmark scenarios, sourced by bench/run-vm.sh (bash, inside the VM).
#
# One line per scenario:  NAME  FAMILY  MODE  CRYPTO  IMPLS  [EXTRA...]
#   FAMILY  4 | 6
#   MODE    transport | tunnel | beet
#   CRYPTO  a key of CRYPTO_ARGS below (the algorithm part of `ip xfrm state add`)
#   IMPLS   comma list of the implementations that can run it: stock,espx
#           (a WESPv2 / Diet-ESP / multi-counter scenario is "espx" only; its stock
#           column then reads "n/a" and the report compares it with the plain
#           scenario named in its BASE= extra, if any)
#   EXTRA   words appended to every `ip xfrm state add` of the scenario, e.g. the
#           patched ip's `wesp crypt-offset 0`; `IP=patched` selects
#           build/iproute2/ip/ip instead of the system ip for the SAs;
#           `BASE=<scenario>` names the plain scenario to compare against;
#           `METRICS=<name>[,<name>...]` runs those metrics instead of METRICS below;
#           `SPORT=<port>` fixes the bench traffic's UDP source port (netns a's
#           local port range) for the scenario;
#           `SPEC=<example>` (report.py: the spec's figures for it, e.g. Diet-ESP
#           8 A) and `SPECREF=<scenario>` (the scenario that is the spec's
#           uncompressed reference; default BASE) only label the report;
#           `@NCPU@` in a word becomes the guest's number of vCPUs; `@SRC@`
#           `@DST@` the SA's own source and destination address and `@SPORT@`
#           `@DPORT@` the bench traffic's UDP ports in the SA's direction (the
#           b->a SA gets them mirrored): selectors that match the bench traffic.
#           `CAND=<n>` gives netns b n - 1 more inbound SAs for a->b (SPIs
#           0x2001, 0x3001, ...: with spi-lsb 8 they share 0x1001's truncated
#           SPI; other keys; newer than 0x1001), `FORGE=1` gives b's 0x1001
#           another key than a's (Diet-ESP candidate walk, below).
#           Upper-case KEY=value words are never passed to ip.
# Every scenario runs every metric of METRICS (bench/run-vm.sh: metric_<name>)
# unless it names its own. The ctr-* scenarios run metric ctr only (report.py
# shows them in a table of their own).
# BENCH_SCENARIOS (an extended regex on NAME) selects a subset.

# Algorithm arguments of `ip xfrm state add`, shell-quoted (they are eval'ed into
# words). Keys are fixed: both
# implementations get byte-identical SAs (same SPIs, keys, algorithms).
declare -A CRYPTO_ARGS=(
	# AES-GCM-128: 16 octets key + 4 octets salt, 128-bit ICV
	[gcm]="aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f10111213 128"
	# AES-GCM with a 32-octet HKDF-SHA256 root key (EESP sub-sas: each Sub SA's
	# AES-GCM-128 key and salt are derived from it)
	[gcmroot]="aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 128"
	# null encryption + null authentication (authenc): the pure data-path cost
	[null]="enc 'ecb(cipher_null)' \"\" auth digest_null \"\""
)

SCENARIOS=(
	"gcm-transport-v4   4 transport gcm  stock,espx"
	"gcm-transport-v6   6 transport gcm  stock,espx"
	"gcm-tunnel-v4      4 tunnel    gcm  stock,espx"
	# wire: the base of the Diet-ESP scenarios; tcp last, as its teardown
	# packets would be averaged into wire's octets per packet
	"gcm-tunnel-v6      6 tunnel    gcm  stock,espx METRICS=udp64,udp1400,wire,tcp"
	"null-transport-v4  4 transport null stock,espx"
	"null-transport-v6  6 transport null stock,espx"
	"null-tunnel-v4     4 tunnel    null stock,espx"
	"null-tunnel-v6     6 tunnel    null stock,espx"
	# WESPv2 (issue #4) against plain espx ESP with the same key and mode
	"wesp0-transport-v4 4 transport gcm espx IP=patched BASE=gcm-transport-v4 wesp crypt-offset 0"
	"wesp2-transport-v4 4 transport gcm espx IP=patched BASE=gcm-transport-v4 wesp crypt-offset 2"
	"wesp0-tunnel-v6    6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6 wesp crypt-offset 0"
	"wesp2-tunnel-v6    6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6 wesp crypt-offset 2"
	# Diet-ESP (issue #6, diet-esp.md 8) against plain espx ESP in the same
	# IPv6 tunnel with the same key. The inner packet of the bench traffic is
	# a->b UDP (the addresses of the tunnel ends, source port SPORT, port
	# DPORT), so the selectors below match it. Diet SAs need a replay window
	# <= 2^(sn-lsb - 1), so their base is the plain tunnel with the same
	# window (gcm-tunnel-v6-rw32: an IKE daemon's SA always has one; the
	# core's replay bookkeeping is then the same on both sides).
	"gcm-tunnel-v6-rw32 6 tunnel    gcm espx METRICS=udp64,udp1400,wire,tcp replay-window 32"
	# A "IoT": single addresses, UDP, single ports: nothing of the inner
	# IPv6 + UDP header is sent; SN 16 bits only, implicit IV. UDP only, so
	# no tcp metric.
	"diet-iot-v6        6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6-rw32 SPEC=A SPECREF=diet-iivref-v6 SPORT=49152 METRICS=udp64,udp1400,wire replay-window 32 sel src @SRC@/128 dst @DST@/128 proto udp sport @SPORT@ dport @DPORT@ diet spi-lsb 0 sn-lsb 16 align 8 trailer optional inner compress dscp sa 0 ecn lower flowlabel lower iiv"
	# B "road warrior": the source address fixed, anything else sent
	# (DSCP, Next Header, destination, ports); SPI and SN 16 bits, explicit IV.
	"diet-rw-v6         6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6-rw32 SPEC=B METRICS=udp64,udp1400,wire,tcp replay-window 32 sel src @SRC@/128 dst ::/0 diet spi-lsb 16 sn-lsb 16 align 8 trailer optional inner compress dscp not-compressed ecn lower flowlabel lower"
	# Uncompressed ESP with an implicit IV (RFC 8750) as a Diet SA that
	# compresses nothing: the spec's reference for A (84 octets for 10 of
	# data), which plain espx cannot make (its IV is explicit). Wire only.
	"diet-iivref-v6     6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6-rw32 METRICS=wire replay-window 32 diet spi-lsb 32 sn-lsb 32 align 32 trailer mandatory inner keep dscp not-compressed ecn not-compressed flowlabel not-compressed iiv"
	# Diet-ESP candidate walk (issue #13 section 2): netns b holds CAND=4
	# inbound Diet SAs for a->b that share the truncated SPI 0x01 (spi-lsb
	# 8: SPIs 0x1001 and, newer and so tried first, 0x2001 0x3001 0x4001,
	# each with its own key). diet-c1-v6: the same SA alone (1 candidate);
	# diet-c4-v6: valid traffic of 0x1001, the candidate tried last (3 trial
	# decryptions, then xfrm_input()'s own pass); diet-forged-v6 (FORGE=1):
	# b's 0x1001 has another key than a's, so no candidate authenticates
	# a packet and b drops every one (metrics forged64/forged1400: insn per
	# forged packet; aead: AEAD passes per packet, bench/run-vm.sh).
	"diet-c1-v6         6 tunnel    gcm espx IP=patched METRICS=udp64,udp1400,aead replay-window 32 sel src @SRC@/128 dst ::/0 diet spi-lsb 8 sn-lsb 16 align 8 trailer optional inner compress dscp not-compressed ecn lower flowlabel lower"
	"diet-c4-v6         6 tunnel    gcm espx IP=patched CAND=4 METRICS=udp64,udp1400,aead replay-window 32 sel src @SRC@/128 dst ::/0 diet spi-lsb 8 sn-lsb 16 align 8 trailer optional inner compress dscp not-compressed ecn lower flowlabel lower"
	"diet-forged-v6     6 tunnel    gcm espx IP=patched CAND=4 FORGE=1 METRICS=forged64,forged1400,aead replay-window 32 sel src @SRC@/128 dst ::/0 diet spi-lsb 8 sn-lsb 16 align 8 trailer optional inner compress dscp not-compressed ecn lower flowlabel lower"
	# Sequence counters (issue #5): one SA, 64 B UDP from 1 and from all vCPUs
	# (metric ctr only), replay windows of 32 so that cross-CPU reordering
	# shows as replay drops. Plain ESP (stock and espx) with the core's window;
	# WESPv2 with one counter per vCPU (@NCPU@ = the guest's nproc) and with
	# one counter for all, the counter SAs as multi-counters.md wants them.
	"ctr-esp-v4         4 transport gcm stock,espx METRICS=ctr replay-window 32"
	"ctr-n-v4           4 transport gcm espx IP=patched METRICS=ctr replay-window 0 extra-flag oseq-may-wrap wesp crypt-offset 0 seq-counters @NCPU@ counter-window 32"
	"ctr-1-v4           4 transport gcm espx IP=patched METRICS=ctr replay-window 0 extra-flag oseq-may-wrap wesp crypt-offset 0 seq-counters 1 counter-window 32"
	# EESP (issue #16 item 7) against plain espx ESP with the same cipher
	# (AES-GCM-128, 16 octets ICV) and mode: one Sub SA per vCPU, keys
	# derived by HKDF-SHA256 from a 32-octet root key, the default window
	# (1024 per Sub SA; the plain SAs check none). Transport is the Full
	# format (Payload Info Header), tunnel the Optimized one.
	"eesp-transport-v4  4 transport gcmroot espx IP=patched BASE=gcm-transport-v4 METRICS=udp64,udp1400 replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	"eesp-transport-v6  6 transport gcmroot espx IP=patched BASE=gcm-transport-v6 METRICS=udp64,udp1400 replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	"eesp-tunnel-v4     4 tunnel    gcmroot espx IP=patched BASE=gcm-tunnel-v4 METRICS=udp64,udp1400 replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	"eesp-tunnel-v6     6 tunnel    gcmroot espx IP=patched BASE=gcm-tunnel-v6 METRICS=udp64,udp1400 replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	# EESP Sub SAs from 1 and all vCPUs (metric ctr, as ctr-n-v4), the first
	# packet on a Sub SA (subsa) and the SA's set-up with 1 and 64 Sub SAs
	# (saadd: bench/run-vm.sh)
	"ctr-eesp-v4        4 transport gcmroot espx IP=patched METRICS=ctr replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	"eesp-subsa-v4      4 transport gcmroot espx IP=patched METRICS=subsa,saadd replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
	# SA churn (issue #14's bulk churn; metric churn only, no traffic in the
	# measurement): b holds BENCH_CHURN_SAS SAs with the scenario's words, one
	# `ip -batch` deletes half of BENCH_CHURN_OPS of them and adds as many.
	# Plain SAs for stock and espx, then each extension against espx's plain.
	"churn-v4           4 transport gcm stock,espx METRICS=churn replay-window 32"
	"churn-wesp-v4      4 transport gcm espx IP=patched BASE=churn-v4 METRICS=churn replay-window 32 wesp crypt-offset 0"
	"churn-ctr-v4       4 transport gcm espx IP=patched BASE=churn-v4 METRICS=churn replay-window 0 extra-flag oseq-may-wrap wesp crypt-offset 0 seq-counters @NCPU@ counter-window 32"
	"churn-diet-v4      4 transport gcm espx IP=patched BASE=churn-v4 METRICS=churn replay-window 32 diet spi-lsb 8 sn-lsb 16"
	"churn-eesp-v4      4 transport gcmroot espx IP=patched BASE=churn-v4 METRICS=churn replay-window 0 extra-flag oseq-may-wrap eesp sub-sas @NCPU@ sskdf hkdf-sha256 key-bits 128"
)

# Metrics, in the order they run for each scenario (functions metric_<name>).
METRICS=(udp64 udp1400 tcp)

# UDP payload sizes of metric wire (octets on the wire only): the data of
# diet-esp.md 8 A (10 octets) and B (18 octets).
WIRE_LENS=(10 18)
