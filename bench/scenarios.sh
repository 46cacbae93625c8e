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
#           `BASE=<scenario>` names the plain scenario to compare against.
# Every scenario runs every metric of METRICS (bench/run-vm.sh: metric_<name>).
# BENCH_SCENARIOS (an extended regex on NAME) selects a subset.

# Algorithm arguments of `ip xfrm state add`, shell-quoted (they are eval'ed into
# words). Keys are fixed: both
# implementations get byte-identical SAs (same SPIs, keys, algorithms).
declare -A CRYPTO_ARGS=(
	# AES-GCM-128: 16 octets key + 4 octets salt, 128-bit ICV
	[gcm]="aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f10111213 128"
	# null encryption + null authentication (authenc): the pure data-path cost
	[null]="enc 'ecb(cipher_null)' \"\" auth digest_null \"\""
)

SCENARIOS=(
	"gcm-transport-v4   4 transport gcm  stock,espx"
	"gcm-transport-v6   6 transport gcm  stock,espx"
	"gcm-tunnel-v4      4 tunnel    gcm  stock,espx"
	"gcm-tunnel-v6      6 tunnel    gcm  stock,espx"
	"null-transport-v4  4 transport null stock,espx"
	"null-transport-v6  6 transport null stock,espx"
	"null-tunnel-v4     4 tunnel    null stock,espx"
	"null-tunnel-v6     6 tunnel    null stock,espx"
	# WESPv2 (issue #4) against plain espx ESP with the same key and mode
	"wesp0-transport-v4 4 transport gcm espx IP=patched BASE=gcm-transport-v4 wesp crypt-offset 0"
	"wesp2-transport-v4 4 transport gcm espx IP=patched BASE=gcm-transport-v4 wesp crypt-offset 2"
	"wesp0-tunnel-v6    6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6 wesp crypt-offset 0"
	"wesp2-tunnel-v6    6 tunnel    gcm espx IP=patched BASE=gcm-tunnel-v6 wesp crypt-offset 2"
)

# Metrics, in the order they run for each scenario (functions metric_<name>).
METRICS=(udp64 udp1400 tcp)
