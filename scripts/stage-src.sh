#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Mirror the module sources into a per-kernel build directory, so the matrix can build
# side by side; only changed files are copied, keeping kbuild's incremental builds.
set -euo pipefail
dst=$1; shift
mkdir -p "$dst"
for f in "$@"; do
	mkdir -p "$dst/$(dirname "$f")"
	cmp -s "$f" "$dst/$f" || cp "$f" "$dst/$f"
done
