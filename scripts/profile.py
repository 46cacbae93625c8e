#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a selftest spends its time: sums a trace of `make check ESPX_TRACE=1`.

    scripts/profile.py build/check/vm-KVER/TEST.trace [...] [-n 30]

Each trace line is '+<epoch seconds> <file>:<line> <command>' (bash -x, PS4 set by
vm-tests.sh). The time from one traced command to the next is charged to the first
(its own time, children that bash does not trace included), summed per source line.
Background jobs interleave with the foreground, so treat the figures as a guide.
"""
import argparse
import collections
import re

LINE = re.compile(r'^\++(\d+\.\d+) (\S*):(\d+) (.*)$')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('traces', nargs='+')
    ap.add_argument('-n', type=int, default=30, help='lines to show')
    args = ap.parse_args()
    total = collections.Counter()
    count = collections.Counter()
    text = {}
    for path in args.traces:
        prev = None
        with open(path, errors='replace') as f:
            for raw in f:
                m = LINE.match(raw)
                if not m:
                    continue
                t, where = float(m.group(1)), f'{m.group(2)}:{m.group(3)}'
                if prev:
                    total[prev[1]] += t - prev[0]
                    count[prev[1]] += 1
                text.setdefault(where, m.group(4)[:90])
                prev = (t, where)
    whole = sum(total.values())
    print(f'{whole:8.1f} s in all')
    for where, secs in total.most_common(args.n):
        print(f'{secs:8.1f} s {count[where]:6d}x  {where:24s} {text[where]}')


if __name__ == '__main__':
    main()
