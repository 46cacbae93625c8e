#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The uapi header include/uapi/linux/espx.h against the family's YNL spec.

    test_ynl_spec.py [--header H] [--spec S] [--no-selftest]

Prints KTAP. The names and values of every enum, attribute set, command list and
constant in the spec (Documentation/netlink/specs/espx.yaml, YNL rules: C names are
upper-cased name-prefix + name with '-' as '_'; enum entries count from value-start
(default 0), attributes and commands from 1, an explicit value restarts the count) are
looked up in the header by the C compiler; every enum of the header must be one of the
spec's, with the same members; the values of an enum must be unique (in the header and
in the spec). Then, unless --no-selftest, the same check must fail on copies of the
header with a drift planted in them (so that it can fail at all).
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def cname(s):
    return s.upper().replace("-", "_")


def spec_enums(spec):
    """{C enum name: [(C member name, value)]} and [(C const name, value)]."""
    fam = spec["name"]
    enums, consts = {}, []
    consts.append((cname(spec.get("c-family-name", fam + "-family-name")), fam))
    if "version" in spec:
        consts.append((cname(spec.get("c-version-name", fam + "-family-version")),
                       spec["version"]))
    for d in spec.get("definitions", []):
        if d["type"] == "const":
            consts.append((cname(fam + "-" + d["name"]), d["value"]))
        elif d["type"] in ("enum", "flags"):
            prefix = d.get("name-prefix", fam + "-" + d["name"] + "-")
            ename = cname(d.get("enum-name", fam + "-" + d["name"])).lower()
            val, members = d.get("value-start", 0), []
            for e in d["entries"]:
                if isinstance(e, dict):
                    val = e.get("value", val)
                    e = e["name"]
                members.append((cname(prefix + e), val))
                val += 1
            enums.setdefault(ename, []).extend(members)

    def counted(ename, prefix, items, cnt, mx):
        val, members = 1, []
        for it in items:
            val = it.get("value", val)
            members.append((cname(prefix + it["name"]), val))
            val += 1
        if cnt:
            members.append((cname(cnt), val))
        enums[ename] = members
        if mx:
            consts.append((cname(mx), val - 1))

    for a in spec.get("attribute-sets", []):
        counted(cname(a.get("enum-name", fam + "-" + a["name"])).lower(),
                a.get("name-prefix", fam + "-a-" + a["name"] + "-"), a["attributes"],
                a.get("attr-cnt-name"), a.get("attr-max-name"))
    ops = spec["operations"]
    counted(cname(ops.get("enum-name", fam + "-cmd")).lower(),
            ops.get("name-prefix", fam + "-cmd-"), ops["list"], ops.get("cmd-cnt-name"),
            ops.get("cmd-max-name"))
    return enums, consts


def header_enums(text):
    """{enum name: [member names]} of a C header (comments removed)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*\{(.*?)\}\s*;", text, flags=re.S):
        out[m[1]] = [re.match(r"\s*(\w+)", x)[1] for x in m[2].split(",") if x.strip()]
    return out


def compile_values(header, names):
    """{name: value} for each C name, as the compiler sees it in the header."""
    src = ['#include <stdio.h>', '#include "%s"' % header, "int main(void) {"]
    for n in names:
        src.append('printf("%%s %%lld\\n", "%s", (long long)(%s));' % (n, n))
    src.append("return 0; }")
    with tempfile.TemporaryDirectory() as d:
        c, exe = os.path.join(d, "v.c"), os.path.join(d, "v")
        with open(c, "w") as f:
            f.write("\n".join(src))
        r = subprocess.run([os.environ.get("CC", "cc"), "-Wall", "-Werror",
                            "-I" + os.path.join(TOP, "include/uapi"), "-o", exe, c],
                           capture_output=True, text=True)
        if r.returncode:
            return None, r.stderr
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    return {l.split()[0]: int(l.split()[1]) for l in out.splitlines()}, ""


def check(header, spec, points):
    """Append (ok, description, details) to points; True if all passed."""
    enums, consts = spec_enums(spec)
    with open(header) as f:
        htext = f.read()
    henums = header_enums(htext)
    ok_all = True

    def point(ok, desc, detail=""):
        nonlocal ok_all
        ok_all &= bool(ok)
        points.append((bool(ok), desc, detail))

    # Header enums <-> spec enums, member for member, in order.
    for e in sorted(set(henums) | set(enums)):
        h = henums.get(e)
        s = [n for n, _ in enums.get(e, [])]
        if h is None:
            point(False, "enum %s of the spec is in the header" % e)
        elif e not in enums:
            point(False, "enum %s of the header is in the spec" % e)
        else:
            point(h == s, "enum %s: the same %d members as the spec" % (e, len(s)),
                  "header %s\nspec   %s" % (h, s) if h != s else "")

    # Values, by the compiler (strings: the family name).
    names = [n for m in enums.values() for n, _ in m] + \
        [n for n, v in consts if not isinstance(v, str)]
    vals, err = compile_values(header, names)
    point(vals is not None, "every spec name compiles against the header", err)
    if vals is None:
        return ok_all
    for e, members in sorted(enums.items()):
        bad = ["%s = %d, spec %d" % (n, vals[n], v) for n, v in members if vals[n] != v]
        point(not bad, "enum %s: values as in the spec" % e, "\n".join(bad))
        hv = [vals[n] for n, _ in members]
        dup = sorted({v for v in hv if hv.count(v) > 1})
        point(not dup, "enum %s: values unique" % e,
              "value %s used twice" % dup if dup else "")
        sv = [v for _, v in members]
        point(len(set(sv)) == len(sv), "enum %s: spec values unique" % e)
    bad = []
    for n, v in consts:
        if isinstance(v, str):
            m = re.search(r"#define\s+%s\s+\"([^\"]*)\"" % n, htext)
            if not m or m[1] != v:
                bad.append("%s: %s, spec %r" % (n, m[1] if m else "missing", v))
        elif vals[n] != v:
            bad.append("%s = %d, spec %d" % (n, vals[n], v))
    point(not bad, "%d constants (family name, version, limits, max) as in the spec"
          % len(consts), "\n".join(bad))
    return ok_all


def selftest(header, spec):
    """Drifts the check must catch: [(description, edit of the header text)]."""
    text = open(header).read()
    drifts = [
        ("two stats swapped", lambda t: t.replace(
            "\tESPX_STAT_IN_DROP_ICV,\n\tESPX_STAT_IN_DROP_PADDING,",
            "\tESPX_STAT_IN_DROP_PADDING,\n\tESPX_STAT_IN_DROP_ICV,")),
        ("an attribute added before the end", lambda t: t.replace(
            "\tESPX_A_DETACHED,", "\tESPX_A_NEW,\n\tESPX_A_DETACHED,")),
        ("a command renamed", lambda t: t.replace("ESPX_CMD_CTR_GET,", "ESPX_CMD_CTRS_GET,")),
        ("an enum value set twice", lambda t: t.replace(
            "ESPX_STATUS_BOUND,", "ESPX_STATUS_BOUND = 1,")),
        ("a limit changed", lambda t: t.replace(
            "#define ESPX_COUNTERS_WINDOW_MAX 4096", "#define ESPX_COUNTERS_WINDOW_MAX 8192")),
        ("a new enum not in the spec", lambda t: t.replace(
            "#endif /* _UAPI_LINUX_ESPX_H */",
            "enum espx_new { ESPX_NEW_A, };\n#endif /* _UAPI_LINUX_ESPX_H */")),
    ]
    res = []
    with tempfile.TemporaryDirectory() as d:
        for desc, edit in drifts:
            t = edit(text)
            h = os.path.join(d, "espx.h")
            with open(h, "w") as f:
                f.write(t)
            caught = t != text and not check(h, spec, [])
            res.append((caught, "a drift is caught: %s" % desc, ""))
    return res


def main():
    args = sys.argv[1:]
    header = os.path.join(TOP, "include/uapi/linux/espx.h")
    specf = os.path.join(TOP, "Documentation/netlink/specs/espx.yaml")
    if "--header" in args:
        header = args[args.index("--header") + 1]
    if "--spec" in args:
        specf = args[args.index("--spec") + 1]
    with open(specf) as f:
        spec = yaml.safe_load(f)
    points = []
    check(header, spec, points)
    if "--no-selftest" not in args:
        points += selftest(header, spec)
    print("TAP version 13")
    print("1..%d" % len(points))
    fails = 0
    for i, (ok, desc, detail) in enumerate(points, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, desc))
        if not ok:
            fails += 1
            for l in detail.splitlines():
                print("#   " + l)
    print("# totals: pass:%d fail:%d" % (len(points) - fails, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
