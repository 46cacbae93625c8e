#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the kernel matrix: the newest installed Debian 12 6.1 and bookworm-backports 6.12
# amd64 kernels that have headers (both installed by scripts/deps.sh).
for glob in '6.1.0-*-amd64' '6.12.*+deb12-amd64'; do
	# shellcheck disable=SC2086
	ls -d /lib/modules/$glob/build/Makefile 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1
done
