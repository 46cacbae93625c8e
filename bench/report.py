#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn one bench run into a markdown table (and a PNG chart of the ratios).

    report.py RUNDIR OUTBASE      writes OUTBASE.md (+ OUTBASE.png), prints the table

RUNDIR holds what bench/run-vm.sh wrote (results.tsv, marks.tsv, meta.txt), the
insn_count plugin's insn.log and scripts/bench.sh's host.txt. Mark n of marks.tsv is
the n-th "mark=" line of insn.log; "insn/pkt" is the guest kernel instructions,
summed over all vCPUs, between the markers, divided by the packets sent.
"""
import os
import shutil
import statistics
import subprocess
import sys
from collections import OrderedDict, defaultdict

IMPLS = ("stock", "espx")


def read_kv(path):
    kv = OrderedDict()
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if ":" in line:
                    k, v = line.rstrip("\n").split(":", 1)
                    kv[k.strip()] = v.strip()
    return kv


def read_marks(path):
    """mark number -> dict(kernel=, user=, per-vCPU k<i>/u<i>=)"""
    marks = {}
    if not os.path.exists(path):
        return marks
    with open(path) as f:
        for line in f:
            if not line.startswith("mark="):
                continue
            d = dict(w.split("=", 1) for w in line.split())
            marks[int(d["mark"])] = {k: int(v) for k, v in d.items()}
    return marks


def fmt(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


CTR_HEAD = ("| scenario | impl | senders | pps (all senders) | scaling | kernel insn/pkt "
            "| lost | replay drops: xfrm core / espx counters |")


def ctr_table(ctr, meta, host):
    """The sequence-counter scenarios (metric ctr): one SA, senders on one
    and on all vCPUs, aggregate pps, scaling, replay drops."""
    if not ctr:
        return []
    ncpu = meta.get("vcpus", "?")
    out = ["", "## Sequence counters: one SA, senders on 1 and on all vCPUs", "",
           "64 B UDP, `BENCH_N` datagrams per sender, one `udpblast` thread per vCPU "
           "(pinned, own socket and port: each flow stays on its CPU, veth receives on "
           "the sending CPU). pps = all datagrams that arrived / time from the first "
           "send to the last arrival; scaling = pps with %s senders / pps with 1; "
           "insn/pkt = guest kernel instructions (all vCPUs) per datagram sent; "
           "lost = sent - arrived, summed over the repeats; replay drops = deltas over "
           "the all-vCPU runs (their warm-ups of 200 datagrams per sender included, so "
           "they can exceed lost) of b's `XfrmInStateSeqError` (xfrm core: plain ESP's "
           "window) and of espx's per-SA `in_drop_ctr_replay` (counter windows). "
           "Windows: 32 (plain `replay-window 32`, counters `counter-window 32`). "
           "Target of issue #5: scaling >= 0.9 x vCPUs with counters." % ncpu, "",
           "Under TCG each vCPU is one host thread (MTTCG): with %s vCPUs on a %s-core "
           "host the scaling can be at most ~%s and less when other VMs or builds share "
           "the host (load at start/end: %s / %s; other QEMU VMs at start/end: %s / %s). "
           "Wall-clock numbers: noisy." %
           (ncpu, host.get("host_cores", "?"),
            min(int(ncpu), int(host.get("host_cores", "0") or 0)) if ncpu.isdigit() and
            host.get("host_cores", "").isdigit() else "?",
            host.get("host_load_start", "?"), host.get("host_load_end", "?"),
            host.get("host_other_vms_start", "not recorded"),
            host.get("host_other_vms_end", "not recorded")), "",
           CTR_HEAD, "|---|---|---:|---:|---:|---:|---:|---|"]
    for (scen, impl), m in ctr.items():
        if not any(x is not None for k, xs in m.items() if k.endswith(" pps") for x in xs):
            continue    # an implementation that cannot run the scenario

        def best(key, f):
            xs = [x for x in m.get(key, []) if x is not None]
            return f(xs) if xs else None

        ks = sorted({k.split()[1] for k in m if k.split()[1].isdigit()}, key=int)
        one = best("ctr 1 pps", max)
        for k in ks:
            pps = best("ctr %s pps" % k, max)
            xs = [x for x in m.get("ctr %s pps" % k, []) if x is not None]
            cell = fmt(pps)
            if len(xs) > 1:
                cell += " [r %.0f%%]" % ((max(xs) - min(xs)) / statistics.median(xs) * 100)
            lost = m.get("ctr %s lost" % k, [])
            lost = "%d" % sum(lost) if lost and None not in lost else "n/a"
            scal = drops = ""
            if k != "1":
                scal = "%.2f" % (pps / one) if pps is not None and one else "n/a"
                x, e = best("ctr xfrm_seqerr", max), best("ctr ctr_replay", max)
                drops = "%s / %s" % ("n/a" if x is None else "%d" % x,
                                     ("n/a" if e is None else "%d" % e) if impl == "espx" else "-")
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" %
                       (scen, impl, k, cell, scal, fmt(best("ctr %s insn/pkt" % k, min)),
                        lost, drops))
    out.append("")
    return out


def main():
    run, outbase = sys.argv[1], sys.argv[2]
    meta = read_kv(os.path.join(run, "meta.txt"))
    host = read_kv(os.path.join(run, "host.txt"))
    counts = read_marks(os.path.join(run, "insn.log"))

    # (scenario, metric) -> impl -> [values]; None for n/a
    vals = OrderedDict()

    def add(scen, metric, impl, v):
        vals.setdefault((scen, metric), {i: [] for i in IMPLS}).setdefault(impl, []).append(v)

    # ctr metric (sequence counters): (scenario, impl) -> metric -> [values]
    ctr = OrderedDict()

    def add_ctr(scen, metric, impl, v):
        ctr.setdefault((scen, impl), {}).setdefault(metric, []).append(v)

    with open(os.path.join(run, "results.tsv")) as f:
        for line in f:
            scen, metric, impl, v = line.rstrip("\n").split("\t")
            if metric.startswith("ctr "):
                if not metric.endswith(" insn/pkt"):
                    add_ctr(scen, metric, impl, None if v == "n/a" else float(v))
                continue
            if metric.endswith(" insn/pkt"):
                if v == "n/a":
                    add(scen, metric, impl, None)
                continue        # the numbers come from the marks
            add(scen, metric, impl, None if v == "n/a" else float(v))
            if metric.endswith(" pps"):
                # keep the insn/pkt row right after its pps row
                vals.setdefault((scen, metric.replace(" pps", " insn/pkt")), {i: [] for i in IMPLS})

    notes = []
    bases = []          # (scenario, plain scenario it extends)
    with open(os.path.join(run, "meta.txt")) as f:
        for line in f:
            if line.startswith("loss:"):
                notes.append("not counted (packets lost): " + line[5:].strip())
            elif line.startswith("base:"):
                bases.append(tuple(line[5:].split()[:2]))
    background = None
    with open(os.path.join(run, "marks.tsv")) as f:
        for line in f:
            mark, scen, metric, impl, pkts, rep = line.rstrip("\n").split("\t")
            c = counts.get(int(mark))
            if scen == "background":
                if c:
                    background = c
                continue
            if metric in ("check", "warm-up"):
                continue
            if metric.startswith("ctr "):
                add_ctr(scen, metric, impl, c["kernel"] / int(pkts) if c else None)
                continue
            if c is None:
                notes.append("mark %s (%s %s %s) missing from insn.log" % (mark, scen, metric, impl))
                add(scen, metric, impl, None)
                continue
            add(scen, metric, impl, c["kernel"] / int(pkts))

    # Fill n/a for rows an implementation never produced.
    rows = []
    for (scen, metric), per in vals.items():
        cells, stats = {}, {}
        for impl in IMPLS:
            xs = [x for x in per.get(impl, []) if x is not None]
            if xs:
                # Best of the repeats: noise only adds instructions (ticks,
                # other vCPU's work, spinning on a descheduled vCPU) and only
                # lowers rates (host contention).
                best = min(xs) if metric.endswith("insn/pkt") else max(xs)
                med = statistics.median(xs)
                cells[impl] = best
                stats[impl] = (len(xs), (max(xs) - min(xs)) / med * 100 if med else 0.0)
            else:
                cells[impl] = None
        ratio = None
        if cells["stock"] and cells["espx"] is not None:
            ratio = cells["espx"] / cells["stock"]
        rows.append((scen, metric, cells, stats, ratio))

    repeat = int(meta.get("udp_repeat", "1") or 1)
    lines = []
    lines.append("# espx benchmark: stock esp4/esp6 vs espx, %s" % meta.get("kernel", "?"))
    lines.append("")
    lines.append("Run `make bench [KVER=...]` (scripts/bench.sh, bench/run-vm.sh). "
                 "One VM boot: every scenario with the kernel's esp4/esp6, then "
                 "`rmmod esp4 esp6; insmod espx.ko` and the same scenarios with identical SAs "
                 "(same SPIs, keys, algorithms).")
    lines.append("")
    lines.append("| | |")
    lines.append("|---|---|")
    for k, label in (("kernel", "guest kernel"), ("vcpus", "vCPUs")):
        lines.append("| %s | %s |" % (label, meta.get(k, "?")))
    lines.append("| QEMU CPU model | %s (guest sees \"%s\", AES-NI: %s) |" %
                 (host.get("qemu_cpu", "?"), meta.get("cpu_model", "?"), meta.get("cpu_aes", "?")))
    lines.append("| QEMU | %s, TCG, insn_count plugin |" % host.get("qemu", "?"))
    lines.append("| host | %s cores, %s |" % (host.get("host_cores", "?"), host.get("host_cpu", "?")))
    lines.append("| host load (1/5/15 min) | start %s, end %s |" %
                 (host.get("host_load_start", "?"), host.get("host_load_end", "?")))
    if "host_other_vms_start" in host:
        lines.append("| other QEMU VMs on the host | %s at the start, %s at the end |" %
                     (host["host_other_vms_start"], host.get("host_other_vms_end", "?")))
    lines.append("| guest clocksource | %s |" % meta.get("clocksource", "?"))
    lines.append("| UDP packets per measurement | %s (x%s; best shown: min insn/pkt, max pps) |" %
                 (meta.get("udp_packets", "?"), repeat))
    lines.append("| TCP | one iperf3 stream, %s s |" % meta.get("tcp_secs", "?"))
    lines.append("| espx module | %s |" % host.get("espx_ko", "?"))
    lines.append("| tree | %s |" % host.get("espx_git", "?"))
    for impl in IMPLS:
        lines.append("| %s | load: %s; dmesg: %s |" %
                     (impl, meta.get("load_" + impl, "not run"), meta.get("dmesg_" + impl, "?")))
    lines.append("| VM wall time | %s s |" % host.get("vm_seconds", "?"))
    if host.get("note"):
        lines.append("| note | %s |" % host["note"])
    if background:
        lines.append("| background | %.2f M kernel insn/s while a vCPU busy-loops in user space "
                     "(timer ticks etc.; counted in insn/pkt too) |" % (background["kernel"] / 2e6))
    lines.append("")
    lines.append("Metrics: `pps` = UDP datagrams/s sent by one blocking socket through ESP out, veth, "
                 "ESP in, to the UDP socket in the peer namespace (wall clock under TCG: noisy); "
                 "`insn/pkt` = guest **kernel** instructions per datagram (all vCPUs summed, "
                 "insn_count plugin, deterministic to a few %); `tcp Mbit/s` = one iperf3 stream "
                 "(wall clock). Ratio = espx/stock: > 1 is better for pps and Mbit/s, "
                 "< 1 is better for insn/pkt.")
    if repeat > 1:
        lines.append("Cells show the best of the repeats (lowest insn/pkt, highest pps); "
                     "[r x%] is the range (max-min)/median of the repeats.")
    lines.append("")
    if rows:
        lines.append("| scenario | metric | stock | espx | espx/stock |")
        lines.append("|---|---|---:|---:|---:|")
    for scen, metric, cells, stats, ratio in rows:
        out = []
        for impl in IMPLS:
            s = fmt(cells[impl])
            if impl in stats and stats[impl][0] > 1:
                s += " [r %.1f%%]" % stats[impl][1]
            out.append(s)
        lines.append("| %s | %s | %s | %s | %s |" %
                     (scen, metric, out[0], out[1], "%.3f" % ratio if ratio is not None else "n/a"))
    lines.append("")
    for n in notes:
        lines.append("- " + n)
    # Extension scenarios (BASE=<plain scenario>): espx with the extension vs
    # espx on the plain SA.
    byname = {(s_, m_): c_ for s_, m_, c_, _, _ in rows}
    ext = []
    for scen, base in bases:
        for (s_, m_), c_ in byname.items():
            if s_ != scen:
                continue
            b = byname.get((base, m_), {}).get("espx")
            e = c_.get("espx")
            ext.append("| %s | %s | %s | %s | %s |" %
                       (scen, m_, fmt(b), fmt(e), "%.3f" % (e / b) if e is not None and b else "n/a"))
    if ext:
        lines.append("")
        lines.append("Extensions against the plain SA, both with espx:")
        lines.append("")
        lines.append("| scenario | metric | espx plain (base) | espx extension | extension/plain |")
        lines.append("|---|---|---:|---:|---:|")
        lines.extend(ext)
        lines.append("")

    lines.extend(ctr_table(ctr, meta, host))

    # Chart of the ratios.
    png = outbase + ".png"
    have = [(s, m, r) for s, m, _, _, r in rows if r is not None]
    insn = [(s, m, r) for s, m, r in have if m.endswith("insn/pkt")]
    wall = [(s, m, r) for s, m, r in have if not m.endswith("insn/pkt")]
    if have and shutil.which("gnuplot"):
        # Two panels: the deterministic instruction ratios on a linear scale
        # around 1, the noisy wall-clock ratios on a log scale.
        dats, plots = [], []
        for title, data, color, log in (
                ("insn/pkt espx/stock (instruction count; < 1 = espx cheaper)", insn, "#3366cc", False),
                ("pps, Mbit/s espx/stock (wall clock under TCG, noisy; > 1 = espx faster)",
                 wall, "#dd9933", True)):
            if not data:
                continue
            dat = "%s.%d.dat.tmp" % (outbase, len(dats))
            dats.append(dat)
            with open(dat, "w") as f:
                for i, (s_, m_, r_) in enumerate(data):
                    f.write('%d "%s %s" %f\n' % (i, s_, m_, r_))
            lo = min(r_ for _, _, r_ in data)
            hi = max(r_ for _, _, r_ in data)
            if log:
                yr = "set logscale y\nset yrange [%g:%g]\n" % (min(lo, 1) / 1.5, max(hi, 1) * 1.5)
            else:
                pad = max(0.02, (max(hi, 1) - min(lo, 1)) * 0.2)
                yr = "unset logscale y\nset yrange [%g:%g]\n" % (min(lo, 1) - pad, max(hi, 1) + pad)
            plots.append('set title "%s"\n%sset xrange [-0.6:%g]\n'
                         'plot "%s" using 1:3:xtic(2) with boxes lc rgb "%s" notitle, '
                         '1 with lines lw 2 lc rgb "black" notitle\n'
                         % (title, yr, len(data) - 0.4, dat, color))
        n = max(len(insn), len(wall))
        gp = ('set terminal pngcairo size %d,%d font ",9"\nset output "%s"\n'
              'set style fill solid 0.6\nset boxwidth 0.7\nset xtics rotate by -60 nomirror\n'
              'set grid ytics\nset multiplot layout %d,1 title "espx / stock, %s"\n%sunset multiplot\n'
              % (max(800, 30 * n + 200), 520 * len(plots), png, len(plots),
                 meta.get("kernel", "?"), "".join(plots)))
        r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        for dat in dats:
            os.unlink(dat)
        if r.returncode == 0:
            lines.append("![espx/stock ratios](%s)" % os.path.basename(png))
        else:
            lines.append("(gnuplot failed: %s)" % r.stderr.strip().splitlines()[-1:])
    elif rows and not have:
        lines.append("No ratio chart: no metric has both a stock and an espx number.")
    lines.append("")

    # Raw plugin lines, for the record.
    lines.append("<details><summary>raw instruction counts (insn_count plugin)</summary>")
    lines.append("")
    lines.append("```")
    mk = {}
    with open(os.path.join(run, "marks.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            mk[int(p[0])] = p
    for n in sorted(counts):
        c = counts[n]
        p = mk.get(n, [str(n), "?", "?", "?", "?", "?"])
        per = " ".join("%s=%d" % (k, v) for k, v in c.items() if k[0] in "ku" and k[1:].isdigit())
        lines.append("%-18s %-18s %-6s rep%s kernel=%d user=%d %s" %
                     (p[1], p[2], p[3], p[5], c["kernel"], c["user"], per))
    lines.append("```")
    lines.append("</details>")
    lines.append("")

    text = "\n".join(lines)
    with open(outbase + ".md", "w") as f:
        f.write(text)
    # The tables, on the terminal.
    for head in ("| scenario | metric | stock | espx | espx/stock |", CTR_HEAD):
        if head not in lines:
            continue
        print()
        for line in lines[lines.index(head):]:
            if not line.startswith("|"):
                break
            print(line)
    print("\nbench: wrote %s.md%s" % (outbase, " and .png" if os.path.exists(png) and have else ""))


if __name__ == "__main__":
    main()
