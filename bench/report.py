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
# ESPX_KO_BEFORE (scripts/bench.sh): another espx.ko in the same boot; its
# numbers appear in the Diet-ESP candidate walk table only
BEFORE = "espx-before"


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


def is_insn(metric):
    """An instruction count (insn/pkt, insn/SA, insn/op): noise only adds to it."""
    return " insn/" in metric


def fmt(v, metric=""):
    if v is None:
        return "n/a"
    if metric.endswith("B/pkt"):   # octets: exact, or a mean with other packets in it
        return "%d" % v if v == int(v) else "%.2f" % v
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


# ---- octets on the wire, from the scenario's words (diet-esp.md 3-5) ----
# Only what the bench sends is modelled: UDP in IPv4/IPv6 tunnel mode,
# AES-GCM (explicit IV 8, ICV 16, block 1: RFC 4303 pads to 4 octets),
# plain ESP or Diet-ESP. Anything else: None (no expected value).

def words_after(words, key):
    return words[words.index(key) + 1:] if key in words else []


def diet_opts(words):
    """The Diet options of an `ip xfrm state add` (defaults as ip's)."""
    o = {"align": 8, "trailer": "mandatory", "inner": "keep", "dscp": "not-compressed",
         "dscp_n": 0, "ecn": "not-compressed", "flowlabel": "not-compressed", "iiv": False}
    w = words_after(words, "diet")
    i = 0
    while i < len(w):
        k = w[i]
        if k in ("spi-lsb", "sn-lsb", "align"):
            o[k] = int(w[i + 1])
            i += 2
        elif k in ("trailer", "inner", "ecn", "flowlabel"):
            o[k] = w[i + 1]
            i += 2
        elif k == "dscp":
            o[k] = w[i + 1]
            i += 2
            if o[k] == "sa":
                o["dscp_n"] = len(w[i].split(","))
                i += 1
        elif k == "iiv":
            o[k] = True
            i += 1
        else:
            break
    return o


def selector(words):
    """The state selector's prefix lengths, protocol and ports (None = any)."""
    sel = {"src": 0, "dst": 0, "proto": None, "sport": None, "dport": None}
    w = words_after(words, "sel")
    for k, v in zip(w[::2], w[1::2]):
        if k in ("src", "dst"):
            sel[k] = int(v.split("/")[1]) if "/" in v else 128
        elif k in ("proto", "sport", "dport"):
            sel[k] = v
        else:
            break
    return sel


def residue_bits(fam, o, sel):
    """IIPC residue of an inner IPv6/IPv4 + UDP header, tunnel mode (5)."""
    alen = 128 if fam == "6" else 32
    dscp = {"not-compressed": 6, "lower": 0}.get(o["dscp"])
    if dscp is None:    # sa LIST: an index, ceil(log2 k) bits
        dscp = (o["dscp_n"] - 1).bit_length()
    bits = dscp + (2 if o["ecn"] == "not-compressed" else 0)
    label = o["flowlabel"] == "not-compressed"
    if fam == "6":
        bits += 20 if label else 0
    else:       # IHL, Identification (as the flow label), flags + offset
        bits += 4 + (16 if label else 0) + 16
    bits += 0 if sel["proto"] else 8
    bits += (alen - min(sel["src"], alen)) + (alen - min(sel["dst"], alen))
    bits += (0 if sel["sport"] else 16) + (0 if sel["dport"] else 16)
    return bits


def esp_parts(fam, mode, crypto, words, length):
    """ESP octets of one UDP datagram of LENGTH data as a dict of parts
    (EEC, IV, IIPC = its output or the inner headers, data, trailer, ICV),
    or None when not modelled."""
    if crypto != "gcm" or mode != "tunnel" or "wesp" in words:
        return None
    inner = (40 if fam == "6" else 20) + 8
    if "diet" not in words:
        return {"EEC": 8, "IV": 8, "IIPC": inner, "data": length,
                "trailer": 2 + (-(inner + length + 2)) % 4, "ICV": 16}
    o = diet_opts(words)
    if (o["spi-lsb"] + o["sn-lsb"]) % 8:
        return None
    if o["inner"] == "compress":
        inner = (residue_bits(fam, o, selector(words)) + 7) // 8
    unit = max(o["align"] // 8, 1)
    pay = inner + length
    if o["trailer"] == "mandatory":
        trailer = 2 + (-(pay + 2)) % unit
    elif unit == 1:     # optional: NH elided (tunnel), no Pad Length either
        trailer = 0
    else:
        trailer = 1 + (unit - pay - 1) % unit
    return {"EEC": (o["spi-lsb"] + o["sn-lsb"]) // 8, "IV": 0 if o["iiv"] else 8,
            "IIPC": inner, "data": length, "trailer": trailer, "ICV": 16}


def metric_len(metric):
    """UDP data octets of a B/pkt metric: udp64 -> 64, 'wire 10' -> 10."""
    head = metric.split()[0]
    if head == "wire":
        return int(metric.split()[1])
    return int(head[3:]) if head.startswith("udp") and head[3:].isdigit() else None


# diet-esp.md 8: octets of ESP (SPI ... ICV) for the example's data.
SPEC = {
    "A": {"data": 10, "ref": 84, "diet": 28, "saving": 56,
          "what": "8 A IoT: uncompressed ESP, same cipher (IIV) 84 -> Diet 28"},
    "B": {"data": 18, "ref": 100, "diet": 68, "saving": 32,
          "what": "8 B road warrior: ESP 100 -> 68"},
}


def diet_section(rows, scens, bases):
    """Diet-ESP scenarios against their plain base: octets per packet
    measured and expected, the spec's figures, pps and insn/pkt ratios."""
    cell = {(s_, m_): c_.get("espx") for s_, m_, c_, _, _ in rows}
    diet = [(s_, b_) for s_, b_ in bases if s_ in scens and "diet" in scens[s_][3] and
            any(m_.endswith("B/pkt") or m_.endswith(" insn/pkt") for s2, m_ in cell if s2 == s_)]
    if not diet:
        return []
    out = ["", "## Diet-ESP against plain ESP (both espx, same boot)", "",
           "Octets per packet = the outer IPv6 packet as it leaves netns a's veth "
           "(tx_bytes / tx_packets delta over the run, Ethernet header off); ESP = "
           "that minus the outer IPv6 header (40). Expected = diet-esp.md 3-5 "
           "applied to the scenario's words (AES-GCM: ICV 16, explicit IV 8, plain "
           "ESP padded to 4 octets). Parts of the saving: EEC = SPI+SN octets not "
           "sent, IV = implicit IV, IIPC = inner IPv6 + UDP header (48) minus the "
           "residue, trailer = Pad Length + Next Header + padding not sent.", "",
           "| scenario | UDP data | plain B/pkt | Diet B/pkt | saving | expected | "
           "parts of the expected saving |",
           "|---|---:|---:|---:|---:|---:|---|"]
    perf = []
    checks = []
    for scen, base in diet:
        fam, mode, crypto, words = scens[scen]
        bw = scens.get(base, (fam, mode, crypto, []))[3]
        metrics = [m_ for s_, m_ in cell if s_ == scen and m_.endswith("B/pkt")]
        for m in metrics:
            n = metric_len(m)
            b, d = cell.get((base, m)), cell.get((scen, m))
            pb = esp_parts(fam, mode, crypto, bw, n) if n is not None else None
            pd = esp_parts(fam, mode, crypto, words, n) if n is not None else None
            exp = parts = "n/a"
            if pb and pd:
                e = sum(pb.values()) - sum(pd.values())
                exp = "%d" % e
                parts = " + ".join("%s %d" % (k, pb[k] - pd[k]) for k in pb
                                   if pb[k] != pd[k])
            sav = "n/a" if b is None or d is None else fmt(b - d, "B/pkt")
            ok = ""
            if sav != "n/a" and exp != "n/a":
                ok = " (=)" if sav == exp else " (**differs**)"
                if sav != exp and abs(b - d - e) < 0.5:
                    # a stray packet (ND, ...) in a tx_bytes/tx_packets mean
                    ok = " (= but for a stray packet in the count)"
            out.append("| %s | %s | %s | %s | %s%s | %s | %s |" %
                       (scen, n if n is not None else "?", fmt(b, m), fmt(d, m), sav, ok,
                        exp, parts))
        for key in ("udp64", "udp1400"):
            pp = [cell.get((x, key + " pps")) for x in (base, scen)]
            ii = [cell.get((x, key + " insn/pkt")) for x in (base, scen)]
            if pp[1] is None and ii[1] is None:
                continue
            ok_i = None not in ii and ii[0] and ii[1]
            perf.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
                        (scen, key, fmt(pp[0]), fmt(pp[1]),
                         "%.3f" % (pp[1] / pp[0]) if None not in pp and pp[0] else "n/a",
                         fmt(ii[0]), fmt(ii[1]),
                         "%.3f" % (ii[1] / ii[0]) if ok_i else "n/a",
                         "%.3f" % (ii[0] / ii[1]) if ok_i else "n/a"))
        ex = next((w[5:] for w in words if w.startswith("SPEC=")), None)
        if ex in SPEC:
            sp = SPEC[ex]
            ref = next((w[8:] for w in words if w.startswith("SPECREF=")), base)
            m = "wire %d B/pkt" % sp["data"]
            r, d = cell.get((ref, m)), cell.get((scen, m))
            got = "n/a" if r is None or d is None else "ESP %s -> %s, saving %s" % (
                fmt(r - 40, m), fmt(d - 40, m), fmt(r - d, m))
            same = r is not None and d is not None and \
                (r - 40, d - 40) == (sp["ref"], sp["diet"])
            checks.append("- %s: diet-esp.md %s, saving %d; measured (%s vs %s, %d octets "
                          "of data): %s: %s" %
                          (scen, sp["what"], sp["saving"], scen, ref, sp["data"], got,
                           "not measured in this run" if got == "n/a" else
                           "**as the spec**" if same else "**not as the spec**"))
    out.append("")
    out.extend(checks)
    if perf:
        out += ["", "Packet rate and instructions (target of issue #6: at most 15 % packet-rate "
                "cost, Diet/plain rate >= 0.85). pps is wall clock under TCG and noisy; "
                "insn/pkt is the repeatable figure, and the rate it implies for a CPU-bound "
                "sender is plain insn/pkt / Diet insn/pkt (last column):", "",
                "| scenario | metric | plain pps | Diet pps | Diet/plain pps | plain insn/pkt | "
                "Diet insn/pkt | Diet/plain insn | rate from insn |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|"] + perf
    out.append("")
    return out


WALK_HEAD = ("| scenario | espx.ko | traffic | 64 B insn/pkt | 1400 B insn/pkt | AEAD passes/pkt "
             "(trials + xfrm_input) | trials/pkt (debugfs) | delivered/pkt | dropped/pkt |")


def walk_section(rows):
    """Diet-ESP candidate walk (issue #13 section 2): valid and forged
    traffic against several candidates, espx (and espx-before) only
    (metrics forged*, aead)."""
    scens = []
    for s_, m_, _, _, _ in rows:
        if (m_.startswith("forged") or m_.startswith("aead ")) and s_ not in scens:
            scens.append(s_)
    if not scens:
        return []
    # a scenario's valid-traffic rows (udp*) and its walk rows
    scens += [s_ for s_, m_, _, _, _ in rows if s_.startswith("diet-c") and s_ not in scens]

    def f3(v):
        return "n/a" if v is None else "%.3f" % v

    out = ["", "## Diet-ESP candidate walk (espx)", "",
           "Receiver b holds the scenario's candidates: inbound Diet SAs for a->b that "
           "share one truncated SPI (bench/scenarios.sh). insn/pkt = guest kernel "
           "instructions per datagram (sender, ESP output, veth, Diet receive and, for "
           "valid traffic, ESP input and UDP; best of the repeats); forged = no candidate "
           "authenticates the packet (metric forged*, whose rows also give b's "
           "xfrm error counters per packet). AEAD passes = kprobe hits on the trial "
           "transform's decrypt (crypto_gcm_decrypt) + on espx_input (the real pass), per packet, "
           "over an untimed run of 64 B datagrams (metric aead); trials (debugfs) = "
           "espx/diet_trials where the module has it. espx.ko: after = ESPX_KO, "
           "before = ESPX_KO_BEFORE (same boot).", "", WALK_HEAD,
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for sc in scens:
        for impl, label in ((BEFORE, "before"), ("espx", "after")):
            cell = {m_: c_.get(impl) for s_, m_, c_, _, _ in rows if s_ == sc}
            if all(v is None for v in cell.values()):
                continue
            forged = "forged64 insn/pkt" in cell
            pre = "forged" if forged else "udp"
            drop = cell.get("forged64 dropped/pkt") if forged else None
            if drop is None:
                drop = cell.get("aead dropped/pkt")
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
                       (sc, label, "forged" if forged else "valid",
                        fmt(cell.get(pre + "64 insn/pkt")),
                        fmt(cell.get(pre + "1400 insn/pkt")),
                        f3(cell.get("aead AEAD/pkt")),
                        f3(cell.get("aead debugfs trials/pkt")),
                        f3(cell.get("aead delivered/pkt")), f3(drop)))
    out.append("")
    return out


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
                else:   # "marked" (metric forged): the row's place
                    vals.setdefault((scen, metric), {i: [] for i in IMPLS})
                continue        # the numbers come from the marks
            add(scen, metric, impl, None if v == "n/a" else float(v))
            if metric.endswith(" pps"):
                # keep the insn/pkt and B/pkt rows right after their pps row
                # (an implementation that cannot run the scenario has none)
                for tail in (" insn/pkt", " B/pkt"):
                    vals.setdefault((scen, metric.replace(" pps", tail)), {i: [] for i in IMPLS})
            elif metric.endswith(" ops/s"):     # metric churn: insn/op after ops/s
                vals.setdefault((scen, metric.replace(" ops/s", " insn/op")), {i: [] for i in IMPLS})

    notes = []
    bases = []          # (scenario, plain scenario it extends)
    scens = {}          # scenario -> (family, mode, crypto, words)
    with open(os.path.join(run, "meta.txt")) as f:
        for line in f:
            if line.startswith("loss:"):
                notes.append("not counted (packets lost): " + line[5:].strip())
            elif line.startswith("base:"):
                bases.append(tuple(line[5:].split()[:2]))
            elif line.startswith("scenario:"):
                w = line[9:].split()
                scens[w[0]] = (w[1], w[2], w[3], w[5:])
            elif line.startswith(("drops:", "wire:")):
                notes.append(line.strip())
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
        if metric.endswith(" B/pkt") and not any(per.values()):
            continue    # a run from before the B/pkt rows
        cells, stats = {}, {}
        for impl in IMPLS + (BEFORE,):
            xs = [x for x in per.get(impl, []) if x is not None]
            if xs:
                # Best of the repeats: noise only adds instructions (ticks,
                # other vCPU's work, spinning on a descheduled vCPU) and only
                # lowers rates (host contention).
                best = min(xs) if is_insn(metric) else max(xs)
                if metric.endswith("B/pkt"):
                    # the usual size: a run with a stray packet in it (noted
                    # under the table) is the odd one out
                    best = max(sorted(xs), key=xs.count)
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
    rounds = int(meta.get("rounds", "1") or 1)
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
                 (meta.get("udp_packets", "?"), repeat * rounds))
    if rounds > 1:
        lines.append("| rounds | %d: the implementations took turns (stock, espx, stock, ...), "
                     "%d measurements each per turn |" % (rounds, repeat))
    lines.append("| TCP | one iperf3 stream, %s s |" % meta.get("tcp_secs", "?"))
    lines.append("| espx module | %s |" % host.get("espx_ko", "?"))
    lines.append("| tree | %s |" % host.get("espx_git", "?"))
    if "espx_ko_before" in host:
        lines.append("| %s module | %s |" % (BEFORE, host["espx_ko_before"]))
    for impl in IMPLS + ((BEFORE,) if "load_" + BEFORE in meta else ()):
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
            s = fmt(cells[impl], metric)
            if impl in stats and stats[impl][0] > 1 and not metric.endswith("B/pkt"):
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
                       (scen, m_, fmt(b, m_), fmt(e, m_),
                        "%.3f" % (e / b) if e is not None and b else "n/a"))
    if ext:
        lines.append("")
        lines.append("Extensions against the plain SA, both with espx:")
        lines.append("")
        lines.append("| scenario | metric | espx plain (base) | espx extension | extension/plain |")
        lines.append("|---|---|---:|---:|---:|")
        lines.extend(ext)
        lines.append("")

    lines.extend(diet_section(rows, scens, bases))
    lines.extend(walk_section(rows))
    lines.extend(ctr_table(ctr, meta, host))

    # Chart of the ratios.
    png = outbase + ".png"
    have = [(s, m, r) for s, m, _, _, r in rows if r is not None]
    insn = [(s, m, r) for s, m, r in have if is_insn(m)]
    wall = [(s, m, r) for s, m, r in have if not is_insn(m)]
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
    for head in ("| scenario | metric | stock | espx | espx/stock |", CTR_HEAD,
                 "## Diet-ESP against plain ESP (both espx, same boot)",
                 "## Diet-ESP candidate walk (espx)"):
        if head not in lines:
            continue
        print()
        if head.startswith("##"):       # the whole section
            i = lines.index(head)
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].startswith(("## ", "<details>"))), len(lines))
            print("\n".join(x for x in lines[i:end] if not x.startswith("![")))
            continue
        for line in lines[lines.index(head):]:
            if not line.startswith("|"):
                break
            print(line)
    print("\nbench: wrote %s.md%s" % (outbase, " and .png" if os.path.exists(png) and have else ""))


if __name__ == "__main__":
    main()
