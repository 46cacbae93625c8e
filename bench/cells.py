#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Median and spread of every instruction count of bench runs.

    cells.py [--base] RUNDIR...

For each run (scripts/bench.sh's run directory: marks.tsv, insn.log,
meta.txt) and each (scenario, metric) with an instruction count: per
implementation the number of measurements, their median, min and max, the
spread (max - min) / median, and the ratios espx/stock of the medians and
of the minima (report.py's "best"). With BENCH_ROUNDS > 1 also the ratio
of each round's medians (the implementations took turns, so a change of
the host's load hits both columns of a round alike). With --base, the
scenarios that have a BASE= (meta.txt "base:") are compared with their
base, both espx. Prints markdown.
"""
import os
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


def stat(xs):
    m = statistics.median(xs)
    return len(xs), m, min(xs), max(xs), (max(xs) - min(xs)) / m * 100


def main():
    args = sys.argv[1:]
    base_mode = bool(args) and args[0] == "--base"
    if base_mode:
        args = args[1:]
    for run in args:
        meta, bases, vals = load(run)
        print("### %s (%s)\n" % (meta.get("kernel", "?"), os.path.basename(run.rstrip("/"))))
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


if __name__ == "__main__":
    main()
