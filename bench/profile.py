#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Per-function kernel instructions/packet, stock vs espx, from one bench run.

    profile.py RUNDIR [--top N] [--scen REGEX] [--metric REGEX] [--base SCEN]

RUNDIR is a `BENCH_PROFILE=1 make bench` run (scripts/bench.sh): the insn_count
plugin's profile.log ("P <mark> <tb vaddr> <insns> <executions>" per kernel TB
executed between the markers of measurement <mark>), marks.tsv (which
measurement a mark was) and kallsyms-<impl>.txt (the guest's /proc/kallsyms
with that implementation's modules loaded). A TB is charged to the text symbol
at or below its start address; a TB never spans a function's end except by
falling through, which compilers do not emit between functions. Repeats of a
measurement are averaged. For each scenario and instruction metric (insn/pkt,
churn's insn/op) with both columns, prints the functions sorted by
|espx - stock| instructions per packet or operation. With --base, espx
against espx: each matching scenario against the plain scenario SCEN (an
extension's cost, e.g. --scen diet-rw --base gcm-tunnel-v6-rw32).
"""
import argparse
import bisect
import os
import re
import sys
from collections import defaultdict


def read_kallsyms(path):
    """sorted start addresses and their names ("sym [module]")"""
    syms = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 3 or w[1] not in "tTwW":
                continue
            addr = int(w[0], 16)
            if not addr:
                continue        # addresses hidden (kptr_restrict)
            name = w[2] + (" " + w[3] if len(w) > 3 else "")
            syms.append((addr, name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def read_marks(path):
    """mark -> (scenario, metric, impl, packets)"""
    marks = {}
    with open(path) as f:
        for line in f:
            w = line.rstrip("\n").split("\t")
            if len(w) >= 5:
                marks[int(w[0])] = (w[1], w[2], w[3], int(w[4]))
    return marks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--scen", default=".")
    ap.add_argument("--metric", default=" insn/")   # insn/pkt, insn/op, ...
    ap.add_argument("--base", default=None)
    a = ap.parse_args()

    marks = read_marks(os.path.join(a.run, "marks.tsv"))
    syms = {}
    for impl in ("stock", "espx"):
        p = os.path.join(a.run, "kallsyms-%s.txt" % impl)
        if os.path.exists(p):
            syms[impl] = read_kallsyms(p)
    if not syms:
        sys.exit("profile: no kallsyms-<impl>.txt in %s" % a.run)

    # (scenario, metric) -> impl -> function -> instructions; and packet totals
    prof = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    pkts = defaultdict(lambda: defaultdict(int))
    seen = set()
    with open(os.path.join(a.run, "profile.log")) as f:
        for line in f:
            w = line.split()
            if len(w) != 5 or w[0] != "P":
                continue
            m = marks.get(int(w[1]))
            if not m:
                continue
            scen, metric, impl, n = m
            wanted = re.search(a.scen, scen) or scen == a.base
            if impl not in syms or not wanted or \
               not re.search(a.metric, metric):
                continue
            key = (scen, metric)
            if a.base and impl != "espx":
                continue
            if (key, impl, w[1]) not in seen:
                seen.add((key, impl, w[1]))
                pkts[key][impl] += n
            addrs, names = syms[impl]
            i = bisect.bisect_right(addrs, int(w[2], 16)) - 1
            fn = names[i] if i >= 0 else "?"
            prof[key][impl][fn] += int(w[3]) * int(w[4])

    left, right = ("stock", "espx") if not a.base else ("base", "espx")
    for key in sorted(prof):
        if a.base:
            if key[0] == a.base:
                continue
            s = prof.get((a.base, key[1]), {}).get("espx", {})
            ps = pkts.get((a.base, key[1]), {}).get("espx", 0)
        else:
            s, ps = prof[key].get("stock", {}), pkts[key].get("stock", 0)
        e, pe = prof[key].get("espx", {}), pkts[key].get("espx", 0)
        if not ps or not pe:
            continue
        ts, te = sum(s.values()) / ps, sum(e.values()) / pe
        print("## %s %s: %s %.0f, espx %.0f %s (%+.0f, %.3f)\n" %
              (key[0], key[1], a.base or left, ts, te, key[1].split()[-1], te - ts,
               te / ts if ts else 0))
        print("| function | %s | espx | espx-%s |" % (left, left))
        print("|---|---:|---:|---:|")
        rows = []
        for fn in set(s) | set(e):
            vs, ve = s.get(fn, 0) / ps, e.get(fn, 0) / pe
            rows.append((ve - vs, fn, vs, ve))
        rows.sort(key=lambda r: -abs(r[0]))
        for d, fn, vs, ve in rows[:a.top]:
            print("| %s | %.1f | %.1f | %+.1f |" % (fn, vs, ve, d))
        print()


if __name__ == "__main__":
    main()
