#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Copy what DKMS needs (and nothing else) from the espx tree $1 to the source dir $2.
set -euo pipefail
src=$1 dst=$2
cd "$src"
mkdir -p "$dst"
cp dkms.conf Kbuild COPYING "$dst/"
find net include -name '*.[ch]' | cpio -pdm --quiet "$dst"
