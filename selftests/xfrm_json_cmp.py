#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Does `ip -j xfrm state` (the patched ip) carry every field of the text output?

    xfrm_json_cmp.py TEXT JSON [--espx N]

TEXT is the output of Debian's unpatched ip 6.1 (`ip [-s] xfrm state ...`, which has
no JSON of its own), JSON the output of the patched ip with -j and the same options.
Every field of every SA in TEXT is parsed into the key the patched ip uses for it; the
JSON object of the same SA (same src, dst, proto, spi) must hold that key with the
same value. --espx N: exactly N SAs have an "espx" object. Prints what differs, exits 1.
"""
import json
import re
import sys
import time

FLAGS = ("noecn", "decap-dscp", "nopmtudisc", "wildrecv", "icmp", "af-unspec",
         "align4", "esn", "dont-encap-dscp", "oseq-may-wrap")


def words(s):
    """Flag words; ip 6.1 glues the last flag to the next keyword (no space)."""
    out = []
    for w in s.split():
        while w:
            for f in sorted(FLAGS, key=len, reverse=True):
                if w.startswith(f):
                    out.append(f)
                    w = w[len(f):]
                    break
            else:
                out.append(w)
                w = ""
    return out


def epoch(s):
    """ip prints times with localtime; "-" is 0."""
    if s == "-":
        return 0
    return int(time.mktime(time.strptime(s, "%Y-%m-%d %H:%M:%S")))


def limit(s):
    return 2**64 - 1 if s == "(INF)" else int(s)


def parse_line(sa, line, it):
    t = line.strip()
    m = re.match(r"proto (\S+) (?:spi 0x([0-9a-f]+)(?:\(\d+\))? )?reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)$", t)
    if m:
        sa["proto"] = m[1]
        if m[2] is not None:
            sa["spi"] = int(m[2], 16)
        sa["reqid"] = int(m[3])
        sa["mode"] = m[4]
        return
    m = re.match(r"replay-window (\d+) ?(?:seq 0x(\d+) )?(.*)$", t)
    if m:
        sa["replay_window"] = int(m[1])
        if m[2] is not None:
            sa["seq"] = int(m[2], 10)	# ip prints it with "0x%08u"
        rest = re.sub(r" ?\(0x[01]+\)$", "", m[3])
        ex = None
        if "extra_flag " in rest:
            rest, ex = rest.split("extra_flag ", 1)
        if rest.startswith("flag"):
            sa["flag"] = words(rest[4:])
        if ex is not None:
            sa["extra_flag"] = words(ex)
        return
    m = re.match(r"(?:mark (0x[0-9a-f]+|0)/(0x[0-9a-f]+|0) ?)?(?:output-mark (0x[0-9a-f]+)(?:/(0x[0-9a-f]+))?)?$", t)
    if m and (m[1] or m[3]):
        if m[1]:
            sa["mark"] = {"value": int(m[1], 16), "mask": int(m[2], 16)}
        if m[3]:
            sa["output_mark"] = {"value": int(m[3], 16)}
            if m[4]:
                sa["output_mark"]["mask"] = int(m[4], 16)
        return
    m = re.match(r"(enc|auth|auth-trunc|aead|comp) (\S+) ?(0x[0-9a-f]+|<<Keys hidden>>)?(?: \((\d+) bits\))?(?: (\d+))?$", t)
    if m:
        a = {"name": m[2]}
        if m[3] and m[3].startswith("0x"):
            a["key"] = m[3]
        if m[4]:
            a["key_bits"] = int(m[4])
        if m[5]:
            a["icv_len" if m[1] == "aead" else "trunc_len"] = int(m[5])
        sa[m[1].replace("-", "_")] = a
        return
    m = re.match(r"encap type (\S+) sport (\d+) dport (\d+) addr (\S+)$", t)
    if m:
        sa["encap"] = {"type": m[1], "sport": int(m[2]), "dport": int(m[3]), "addr": m[4]}
        return
    m = re.match(r"(coa|if_id|tfcpad|lastused) (.+)$", t)
    if m:
        v = m[2]
        sa[m[1]] = {"coa": str, "if_id": lambda x: int(x, 16), "tfcpad": int,
                    "lastused": epoch}[m[1]](v)
        return
    m = re.match(r"anti-replay context: seq (0x[0-9a-f]+), oseq (0x[0-9a-f]+), bitmap (0x[0-9a-f]+)$", t)
    if m:
        sa["anti_replay_context"] = {"seq": int(m[1], 16), "oseq": int(m[2], 16),
                                     "bitmap": int(m[3], 16)}
        return
    if t == "anti-replay esn context:":
        m = re.match(r"seq-hi (0x[0-9a-f]+), seq (0x[0-9a-f]+), oseq-hi (0x[0-9a-f]+), oseq (0x[0-9a-f]+)$",
                     next(it).strip())
        e = {"seq_hi": int(m[1], 16), "seq": int(m[2], 16), "oseq_hi": int(m[3], 16),
             "oseq": int(m[4], 16)}
        m = re.match(r"replay_window (\d+), bitmap-length (\d+)$", next(it).strip())
        e["replay_window"], e["bitmap_length"] = int(m[1]), int(m[2])
        bm = []
        while len(bm) < e["bitmap_length"]:
            bm += next(it).split()
        e["bitmap"] = bm
        sa["anti_replay_esn_context"] = e
        return
    m = re.match(r"crypto offload parameters: dev (\S+) dir (\S+)$", t)
    if m:
        sa["crypto_offload_parameters"] = {"dev": m[1], "dir": m[2]}
        return
    if t.startswith("sel "):
        toks = t.split()[1:]
        sel = {}
        i = 0
        while i < len(toks):
            k, v = toks[i], toks[i + 1]
            sel[k] = v if k in ("src", "dst", "proto", "dev") else int(v)
            i += 2
        sa["sel"] = sel
        return
    if t == "lifetime config:":
        c = {}
        for kind in ("byte", "packet"):
            m = re.match(r"limit: soft (\S+)\(\w+\), hard (\S+)\(\w+\)$", next(it).strip())
            c["soft_%s_limit" % kind], c["hard_%s_limit" % kind] = limit(m[1]), limit(m[2])
        for kind in ("add", "use"):
            m = re.match(r"expire \w+: soft (\d+)\(sec\), hard (\d+)\(sec\)$", next(it).strip())
            c["soft_%s_expires_seconds" % kind] = int(m[1])
            c["hard_%s_expires_seconds" % kind] = int(m[2])
        sa["lifetime_config"] = c
        return
    if t == "lifetime current:":
        m = re.match(r"(\d+)\(bytes\), (\d+)\(packets\)$", next(it).strip())
        c = {"bytes": int(m[1]), "packets": int(m[2])}
        m = re.match(r"add (.+) use (.+)$", next(it).strip())
        c["add_time"], c["use_time"] = epoch(m[1]), epoch(m[2])
        sa["lifetime_current"] = c
        return
    if t == "stats:":
        m = re.match(r"replay-window (\d+) replay (\d+) failed (\d+)$", next(it).strip())
        sa["stats"] = {"replay_window": int(m[1]), "replay": int(m[2]), "failed": int(m[3])}
        return
    m = re.match(r"security context (.*?) ?$", t)
    if m:
        sa["security_context"] = m[1]
        return
    raise ValueError("unparsed line: %r" % line)


def parse_text(text):
    sas = []
    it = iter(text.splitlines())
    for line in it:
        if not line.strip():
            continue
        m = re.match(r"src (\S+) dst (\S+)$", line)
        if m:
            sas.append({"src": m[1], "dst": m[2]})
            continue
        if not sas or not line.startswith("\t"):
            raise ValueError("unexpected line: %r" % line)
        parse_line(sas[-1], line, it)
    return sas


def norm(key, v):
    """JSON values as the text parser holds them (hex strings are numbers)."""
    if isinstance(v, dict):
        return {k: norm(k, x) for k, x in v.items()}
    if isinstance(v, str) and re.fullmatch(r"0x[0-9a-f]+|0", v) and key != "key":
        return int(v, 16)	# print_0xhex() prints 0 as "0"
    return v


def main():
    text = open(sys.argv[1]).read()
    try:
        js = json.load(open(sys.argv[2]))
    except ValueError as e:
        print("JSON output is not valid JSON: %s" % e)
        return 1
    want_espx = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--espx" else None
    sas = parse_text(text)
    if isinstance(js, dict):
        js = [js]
    bad = []
    if len(js) != len(sas):
        bad.append("%d SAs in the text, %d in the JSON" % (len(sas), len(js)))
    nespx = 0
    for sa in sas:
        ident = (sa["src"], sa["dst"], sa["proto"], sa.get("spi"))
        cand = [j for j in js if (j.get("src"), j.get("dst"), j.get("proto"),
                                  norm("spi", j.get("spi"))) == ident]
        if len(cand) != 1:
            bad.append("SA %s: %d JSON objects" % (ident, len(cand)))
            continue
        j = {k: norm(k, v) for k, v in cand[0].items()}
        nespx += "espx" in j
        for k, v in sa.items():
            jv = j.get(k)
            if isinstance(v, dict) and isinstance(jv, dict):
                for kk, vv in v.items():
                    if jv.get(kk, "<missing>") != vv:
                        bad.append("SA %s: %s.%s: text %r, JSON %r" % (ident, k, kk, vv, jv.get(kk, "<missing>")))
            elif jv != v:
                bad.append("SA %s: %s: text %r, JSON %r" % (ident, k, v, jv if k in j else "<missing>"))
    if want_espx is not None and nespx != want_espx:
        bad.append("%d SAs with an espx object, want %d" % (nespx, want_espx))
    for b in bad:
        print(b)
    print("%d SAs, %d fields compared, %d with espx" % (len(sas), sum(len(s) for s in sas), nespx))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
