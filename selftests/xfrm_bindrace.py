#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Two binds of one SPI and key at once: an xfrm netlink NEWSA beside a clone.

Issue #13 §3: a state's sequence counters must be set under the lock that
makes it visible to other binds. In 6.1 and 6.12 the core runs every ESP
init_state of a namespace under its xfrm_cfg_mutex (xfrm netlink and PF_KEY
alike), so the clone comes from espx_clone.ko, which migrates a state the
way XFRM_MSG_MIGRATE does without that lock, while an xfrm netlink NEWSA is
still in its init_state. Each round (run inside the test's namespace, which
has dummy0):

  C   plain ESP state 10.66.0.1 -> 10.66.0.20, SPI S, key K (no espx config),
      with an outbound tunnel policy 10.56.0.1 -> 10.56.0.2 for it;
  A   ESPX_CMD_SA_SET (WESPv2, 2 counters) + XFRM_MSG_NEWSA for
      10.66.0.1 -> 10.66.0.11, SPI S, key K, policy 10.57.0.1 -> 10.57.0.2;
  B   as soon as espx reports A bound (ESPX_CMD_SA_GET polled from a second
      thread), espx_clone moves C to 10.66.0.30: the clone B has A's SPI and
      key, so espx makes it A's twin, and it must share A's counter set. The
      round raced if the clone was done before A's NEWSA returned.

Then C's policy is pointed at B, 2 UDP packets go out through A and 1
through B, and ESPX_CMD_CTR_GET of A and of B must show one counter set: the
same counters, 3 packets in all. With the old code B inherited A's counters
while they were still NULL and got a set of its own. espx's test knob
bind_delay_ms (with test_knobs=1) holds A's init_state right after its bind
so that the clone lands in that window.

Usage: xfrm_bindrace.py ROUNDS
Prints one line per round ("round N raced|missed ..." or "round N FAIL ...")
and a last line "raced R missed M failed F"; exit status 1 if a round failed.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xfrm_nl as xn  # noqa: E402

ESPX_CMD_SA_GET, ESPX_CMD_CTR_GET = 2, 5
ESPX_A_STATUS, ESPX_A_COUNTERS, ESPX_A_CTR = 2, 7, 8
ESPX_STATUS_BOUND = 2
ESPX_CTR_ID, ESPX_CTR_OUT_SEQ, ESPX_CTR_OUT_PACKETS = 1, 2, 3

CLONE = '/sys/module/espx_clone/parameters/clone'
XFRM_MSG_FLUSHSA, XFRM_MSG_FLUSHPOLICY = 0x1c, 0x1d

LOCAL = '10.66.0.1'
C_DST, A_DST, B_DST = '10.66.0.20', '10.66.0.11', '10.66.0.30'
A_SEL, C_SEL = ('10.57.0.1', '10.57.0.2'), ('10.56.0.1', '10.56.0.2')
A_REQID, C_REQID = 1, 2
AEAD = 'rfc4106(gcm(aes))'


class Args:
    """The attributes xfrm_nl.Client.sa/policy/espx_set read."""

    def __init__(self, **kw):
        self.__dict__.update(dict(
            op='add', src=LOCAL, mode='tunnel', reqid=0, aead=None, enc=None,
            auth=None, replay_window=0, replay_esn=None, oseq_may_wrap=True,
            sel_src=None, sel_dst=None, pcpu=None, sa_dir=None, wesp=None,
            counters=None, ctr_window=None, diet=None, diet_iiv=False,
            priority=0, cpu_acquire=False))
        self.__dict__.update(kw)


def sa_id(dst, spi):
    fam, raw = xn.addr(dst)
    return xn.nla(xn.ESPX_A_SA_ID | xn.NLA_F_NESTED,
                  xn.nla(xn.ESPX_ID_FAMILY, struct.pack('=H', fam)) +
                  xn.nla(xn.ESPX_ID_DADDR, raw[:4]) +
                  xn.nla(xn.ESPX_ID_SPI, struct.pack('>I', spi)))


def espx_get(g, gid, dst, spi):
    """(status, has counters) of an SA id; (None, False) if espx has none."""
    try:
        rep = g.talk(gid, xn.NLM_F_ACK,
                     struct.pack('=BBH', ESPX_CMD_SA_GET, 1, 0) + sa_id(dst, spi))
    except xn.NlError:
        return None, False
    at = xn.nla_parse(rep[0][1], 4)
    st = struct.unpack('=I', at[ESPX_A_STATUS][:4])[0] if ESPX_A_STATUS in at else None
    return st, ESPX_A_COUNTERS in at


def espx_ctrs(g, gid, dst, spi):
    """[(id, out_seq, out_packets)] of an SA's counters (CTR_GET dump)."""
    rep = g.talk(gid, xn.NLM_F_DUMP,
                 struct.pack('=BBH', ESPX_CMD_CTR_GET, 1, 0) + sa_id(dst, spi))
    out = []
    for _, p in rep:
        c = xn.nla_parse(xn.nla_parse(p, 4).get(ESPX_A_CTR, b''))
        if ESPX_CTR_ID not in c:
            continue
        out.append((struct.unpack('=H', c[ESPX_CTR_ID][:2])[0],
                    struct.unpack('=Q', c.get(ESPX_CTR_OUT_SEQ, bytes(8))[:8])[0],
                    struct.unpack('=Q', c.get(ESPX_CTR_OUT_PACKETS, bytes(8))[:8])[0]))
    return sorted(out)


def clone(dst, spi, new):
    """espx_clone: migrate the state (dst, spi) to new, outside the xfrm
    config lock; None or an error string."""
    try:
        with open(CLONE, 'w') as f:
            f.write('%s 0x%x %s' % (dst, spi, new))
    except OSError as e:
        return 'espx_clone: %s' % e
    return None


def flush(cl):
    cl.x.talk(XFRM_MSG_FLUSHSA, xn.NLM_F_ACK, struct.pack('=B3x', xn.IPPROTO_ESP))
    cl.x.talk(XFRM_MSG_FLUSHPOLICY, xn.NLM_F_ACK, b'')


def send(src, dst, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for _ in range(n):
        s.sendto(b'bindrace', (dst, 9))
    s.close()


def states(cl):
    return {(s['dst'], s['spi']) for s in
            (xn.parse_usersa(p) for t, p in cl.x.talk(xn.XFRM_MSG['getsa'], xn.NLM_F_DUMP, b'')
             if t == xn.XFRM_MSG['newsa'] and len(p) >= xn.USERSA_INFO_LEN)}


def one_round(cl, gid, r):
    """'raced ...', 'missed ...' or 'FAIL ...'."""
    spi = 0x3000 + r
    key = '0x' + bytes((r * 7 + i) & 0xff for i in range(20)).hex()
    aead = (AEAD, key, '128')
    flush(cl)
    cl.sa(Args(dst=C_DST, spi=spi, reqid=C_REQID, aead=aead))
    cl.policy(Args(dir='out', sel_src=C_SEL[0], sel_dst=C_SEL[1],
                   tmpl_src=LOCAL, tmpl_dst=C_DST, reqid=C_REQID))
    cl.policy(Args(dir='out', sel_src=A_SEL[0], sel_dst=A_SEL[1],
                   tmpl_src=LOCAL, tmpl_dst=A_DST, reqid=A_REQID))
    a = Args(dst=A_DST, spi=spi, reqid=A_REQID, aead=aead, wesp=0, counters=2)
    cl.espx_set(a)

    g2 = xn.Netlink(xn.NETLINK_GENERIC)
    a_done = threading.Event()
    res = {}

    def racer():
        end = time.monotonic() + 20
        while time.monotonic() < end and not a_done.is_set():
            if espx_get(g2, gid, A_DST, spi)[0] == ESPX_STATUS_BOUND:
                break
        res['early'] = a_done.is_set()
        res['err'] = clone(C_DST, spi, B_DST)
        res['late'] = a_done.is_set()

    t = threading.Thread(target=racer)
    t.start()
    try:
        a_err = None
        a.op = 'add'
        cl.x.talk(xn.XFRM_MSG['newsa'], xn.NLM_F_ACK | xn.NLM_F_CREATE | xn.NLM_F_EXCL,
                  a_body(a))
    except xn.NlError as e:
        a_err = str(e)
    a_done.set()
    t.join()
    g2.s.close()
    if a_err:
        return 'FAIL NEWSA of A: %s' % a_err
    if res['err']:
        return 'FAIL %s' % res['err']
    have = states(cl)
    if (B_DST, spi) not in have or (C_DST, spi) in have:
        return 'FAIL the clone did not replace C by B: states %s' % sorted(have)
    # B made before A bound or after A's NEWSA returned: not the window
    # this test is about
    how = 'missed' if res['early'] or res['late'] else 'raced'
    st, has_ctrs = espx_get(cl.g, gid, B_DST, spi)
    if st != ESPX_STATUS_BOUND or not has_ctrs:
        # B bound before A existed (plain) is no defect, only a miss
        if how == 'raced':
            return 'FAIL raced: B has no counters: status %s' % st
        return how + ' (B plain)'
    cl.policy(Args(op='update', dir='out', sel_src=C_SEL[0], sel_dst=C_SEL[1],
                   tmpl_src=LOCAL, tmpl_dst=B_DST, reqid=C_REQID))
    send(A_SEL[0], A_SEL[1], 2)
    send(C_SEL[0], C_SEL[1], 1)
    ca = espx_ctrs(cl.g, gid, A_DST, spi)
    cb = espx_ctrs(cl.g, gid, B_DST, spi)
    total = sum(c[2] for c in ca)
    if len(ca) != 2 or ca != cb or total != 3:
        return ('FAIL %s: B does not share A\'s counters (2 packets out through A, 1 '
                'through B): A %s B %s' % (how, ca, cb))
    return how + ' (shared: %s)' % ca


def a_body(a):
    """The NEWSA body xfrm_nl.Client.sa() would send for @a (its espx config
    is already set)."""
    body = xn.usersa_info(a, a.spi)
    name, key, icv = a.aead
    kb = bytes.fromhex(key[2:])
    body += xn.nla(xn.XFRMA_ALG_AEAD, struct.pack('=64sII', name.encode(), len(kb) * 8,
                                                  int(icv)) + kb)
    body += xn.nla(xn.XFRMA_SA_EXTRA_FLAGS, struct.pack('=I', xn.XFRM_SA_XFLAG_OSEQ_MAY_WRAP))
    return body


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    cl = xn.Client()
    gid = cl.espx_family()
    raced = missed = failed = 0
    for r in range(1, rounds + 1):
        try:
            out = one_round(cl, gid, r)
        except (xn.NlError, OSError) as e:
            out = 'FAIL %s' % e
        print('round %d %s' % (r, out), flush=True)
        if out.startswith('FAIL'):
            failed += 1
            raced += out.startswith('FAIL raced')
        elif out.startswith('raced'):
            raced += 1
        else:
            missed += 1
    flush(cl)
    print('raced %d missed %d failed %d' % (raced, missed, failed), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
