#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Median and spread of every instruction count of bench runs.

    cells.py [--base] RUNDIR...
    cells.py --profile RUNDIR...

For each run (scripts/bench.sh's run directory: marks.tsv, insn.log,
meta.txt) and each (scenario, metric) with an instruction count: per
implementation the number of measurements, their median, min and max, the
spread (max - min) / median, and the ratios espx/stock of the medians and
of the minima (report.py's "best"). With BENCH_ROUNDS > 1 also the ratio
of each round's medians (the implementations took turns, so a change of
the host's load hits both columns of a round alike). With --base, the
scenarios that have a BASE= (meta.txt "base:") are compared with their
base, both espx. With --profile (a BENCH_PROFILE=1 run: profile.log,
kallsyms-<impl>.txt, as bench/profile.py reads them): per (scenario,
metric) the instructions per packet in the ESP module's own functions
([espx] against [esp4]/[esp6]: deterministic), and the sum over all
functions of each function's median over the measurements (a burst of
scheduler or timer work in one measurement moves its median little),
each as espx/stock. Prints markdown.
"""
import bisect
import os
import re
import statistics
import sys
from collections import defaultdict


def read_counts(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("mark="):
                d = dict(w.split("=", 1) for w in line.split())
                out[int(d["mark"])] = int(d["kernel"])
    return out


def load(run):
    counts = read_counts(os.path.join(run, "insn.log"))
    meta = {}
    bases = []
    with open(os.path.join(run, "meta.txt")) as f:
        for line in f:
            if line.startswith("base:"):
                bases.append(tuple(line[5:].split()[:2]))
            elif ":" in line:
                k, v = line.split(":", 1)
                meta.setdefault(k.strip(), v.strip())
    repeat = int(meta.get("udp_repeat", "1") or 1)
    # (scen, metric) -> impl -> [(round, value)]
    vals = defaultdict(lambda: defaultdict(list))
    seen = defaultdict(int)
    with open(os.path.join(run, "marks.tsv")) as f:
        for line in f:
            mark, scen, metric, impl, pkts, rep = line.rstrip("\n").split("\t")
            if not metric.endswith(("insn/pkt", "insn/SA")) or metric.startswith("ctr "):
                continue
            c = counts.get(int(mark))
            if c is None:
                continue
            # the n-th measurement of (scen, metric, impl): its round
            i = seen[(scen, metric, impl)]
            seen[(scen, metric, impl)] += 1
            vals[(scen, metric)][impl].append((i // repeat, c / int(pkts)))
    return meta, bases, vals


def profile_cells(run):
    """(scen, metric) -> impl -> [{function: insn/pkt} per measurement]"""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from profile import read_kallsyms, read_marks as prof_marks
    marks = prof_marks(os.path.join(run, "marks.tsv"))
    syms = {}
    for impl in ("stock", "espx"):
        p = os.path.join(run, "kallsyms-%s.txt" % impl)
        if os.path.exists(p):
            syms[impl] = read_kallsyms(p)
    per = defaultdict(lambda: defaultdict(int))
    with open(os.path.join(run, "profile.log")) as f:
        for line in f:
            w = line.split()
            if len(w) != 5 or w[0] != "P" or int(w[1]) not in marks:
                continue
            scen, metric, impl, n = marks[int(w[1])]
            if impl not in syms or not metric.endswith("insn/pkt"):
                continue
            addrs, names = syms[impl]
            i = bisect.bisect_right(addrs, int(w[2], 16)) - 1
            per[int(w[1])][names[i] if i >= 0 else "?"] += int(w[3]) * int(w[4])
    cells = defaultdict(lambda: defaultdict(list))
    for m, fns in per.items():
        scen, metric, impl, n = marks[m]
        cells[(scen, metric)][impl].append({k: v / n for k, v in fns.items()})
    return cells


MODULE = re.compile(r"\[(espx|esp4|esp6)\]$")


def profile_table(run, spread=1.0):
    """Per cell: the module's own functions, then every function split into
    "steady" (its insn/pkt varies by less than SPREAD % over the
    measurements of each column that runs it: the data path) and "varying"
    (the rest: scheduler, timers, load tracking, kworkers; time-driven).
    Sums of per-function medians."""
    cells = profile_cells(run)
    print("| scenario | metric | n | module stock | module espx | steady stock | steady espx | "
          "steady espx-stock | steady espx/stock | varying stock | varying espx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(cells):
        c = cells[key]
        if "stock" not in c or "espx" not in c:
            continue
        mod, det, var = {}, {"stock": 0.0, "espx": 0.0}, {"stock": 0.0, "espx": 0.0}
        for impl in ("stock", "espx"):
            mod[impl] = statistics.median([sum(v for k, v in m.items() if MODULE.search(k))
                                           for m in c[impl]])
        for fn in set().union(*c["stock"], *c["espx"]):
            med, steady = {}, True
            for impl in ("stock", "espx"):
                xs = [m.get(fn, 0) for m in c[impl]]
                med[impl] = statistics.median(xs)
                if max(xs) == 0:
                    continue
                if med[impl] == 0 or (max(xs) - min(xs)) / med[impl] * 100 > spread:
                    steady = False
            for impl in ("stock", "espx"):
                (det if steady else var)[impl] += med[impl]
        print("| %s | %s | %d/%d | %.0f | %.0f | %.0f | %.0f | %+.0f | %.4f | %.0f | %.0f |" %
              (key[0], key[1], len(c["stock"]), len(c["espx"]), mod["stock"], mod["espx"],
               det["stock"], det["espx"], det["espx"] - det["stock"],
               det["espx"] / det["stock"], var["stock"], var["espx"]))
    print()


def stat(xs):
    m = statistics.median(xs)
    return len(xs), m, min(xs), max(xs), (max(xs) - min(xs)) / m * 100


def main():
    args = sys.argv[1:]
    base_mode = bool(args) and args[0] == "--base"
    prof_mode = bool(args) and args[0] == "--profile"
    if base_mode or prof_mode:
        args = args[1:]
    for run in args:
        meta, bases, vals = load(run)
        print("### %s (%s)\n" % (meta.get("kernel", "?"), os.path.basename(run.rstrip("/"))))
        if prof_mode:
            profile_table(run)
            continue
        if base_mode:
            print("| scenario | metric | n | plain median | ext median [min-max] | ext/plain median | ext/plain min |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for scen, base in bases:
                for (s, m), per in vals.items():
                    if s != scen or "espx" not in per:
                        continue
                    b = [v for _, v in vals.get((base, m), {}).get("espx", [])]
                    e = [v for _, v in per["espx"]]
                    if not b or not e:
                        continue
                    nb, mb, lb, hb, sb = stat(b)
                    ne, me, le, he, se = stat(e)
                    print("| %s | %s | %d/%d | %.0f [r %.1f%%] | %.0f [%.0f-%.0f, r %.1f%%] | %.3f | %.3f |" %
                          (scen, m, nb, ne, mb, sb, me, le, he, se, me / mb, le / lb))
            print()
            continue
        print("| scenario | metric | n | stock median [min-max] r | espx median [min-max] r | "
              "espx/stock median | min | per round |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for (s, m), per in vals.items():
            if "stock" not in per or "espx" not in per:
                continue
            st = stat([v for _, v in per["stock"]])
            ex = stat([v for _, v in per["espx"]])
            rounds = sorted({r for r, _ in per["stock"]} & {r for r, _ in per["espx"]})
            pr = []
            if len(rounds) > 1:
                for r in rounds:
                    a = statistics.median([v for q, v in per["stock"] if q == r])
                    b = statistics.median([v for q, v in per["espx"] if q == r])
                    pr.append("%.3f" % (b / a))
            print("| %s | %s | %d/%d | %.0f [%.0f-%.0f] %.1f%% | %.0f [%.0f-%.0f] %.1f%% | **%.3f** | %.3f | %s |" %
                  (s, m, st[0], ex[0], st[1], st[2], st[3], st[4], ex[1], ex[2], ex[3], ex[4],
                   ex[1] / st[1], ex[2] / st[2], " ".join(pr)))
        print()
        only = [(k, per["espx"]) for k, per in vals.items()
                if "stock" not in per and "espx" in per and k[0] not in dict(bases)]
        if only:
            print("| scenario | metric (espx only) | n | median | min | max |")
            print("|---|---|---:|---:|---:|---:|")
            for (s, m), xs in only:
                n, med, lo, hi, _ = stat([v for _, v in xs])
                print("| %s | %s | %d | %.0f | %.0f | %.0f |" % (s, m, n, med, lo, hi))
            print()


if __name__ == "__main__":
    main()
