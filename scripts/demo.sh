#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot the default kernel under virtme-ng and show espx at work (demo-vm.sh).
set -euo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cd "$top"
scripts/deps.sh
kver=${KVER:-$(scripts/matrix.sh | sed -n 1p)}
make --no-print-directory module KVER="$kver" >/dev/null
make --no-print-directory iproute2 >/dev/null
out=$top/build/demo
mkdir -p "$out"
echo "booting $kver under emulation (about 30 s)..."
scripts/vm.sh "$kver" "$out" "$top/scripts/demo-vm.sh $top/build/$kver/espx.ko"
