#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch --strict on every source file of ours that is kernel C (module, codec, uapi,
# the selftests' test-only modules).
# Out of tree, checkpatch cannot see MAINTAINERS or the kernel tree: --no-tree.
# Two checks are meaningless here and are ignored, each only where it does not apply:
#  LINUX_VERSION_CODE    an out-of-tree module must build for 6.1 and 6.12 at once;
#  PREFER_KERNEL_TYPES   net/espx/codec/ is kernel-free C (stdint types) by design.
set -uo pipefail
top=$(dirname "$(dirname "$(readlink -f "$0")")")
cp=${CHECKPATCH:-/usr/src/linux-source-6.1/scripts/checkpatch.pl}
[ -x "$cp" ] || { echo "checkpatch: $cp missing (make deps)"; exit 1; }
cd "$top"
mapfile -t files < <(git ls-files 'net/espx/*.[ch]' 'include/uapi/linux/*.h' 2>/dev/null ||
		     find net include -name '*.[ch]'; find selftests/modules -name '*.[ch]' | sort)
rc=0
for f in "${files[@]}"; do
	[ -e "$f" ] || continue
	ignore=LINUX_VERSION_CODE
	case $f in net/espx/codec/*) ignore=$ignore,PREFER_KERNEL_TYPES ;; esac
	if ! out=$("$cp" --strict --no-tree --quiet --show-types --terse --ignore "$ignore" -f "$f" 2>&1); then
		echo "$out"; rc=1
	fi
done
[ $rc = 0 ] && echo "checkpatch: ${#files[@]} files clean"
exit $rc
