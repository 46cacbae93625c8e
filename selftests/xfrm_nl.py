#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A small raw-netlink xfrm client for the espx selftests, as an IKE daemon uses the API.

"ip xfrm" (iproute2 6.1) has no per-CPU SAs (XFRMA_SA_PCPU, RFC 9611), no
XFRM_POLICY_CPU_ACQUIRE and no SA direction (XFRMA_SA_DIR, 6.10+), and ip's
"allocspi"/"update" cannot keep an espx config socket open across the xfrm
request. This client speaks xfrm netlink
itself (standard library only: struct packing). One process may run many
requests ("batch": one command a line on stdin) and keeps one xfrm and one
espx generic netlink socket open for all of them, so a config it sets with
ESPX_CMD_SA_SET is made by the same process, just before the NEWSA/UPDSA
that binds it (as the patched ip does).

Commands (ADDR: IPv4 or IPv6; PFX: ADDR[/LEN]; SPI: 0x... or decimal):
  allocspi --src ADDR --dst ADDR [--mode M] [--reqid N] [--min SPI --max SPI]
           [--sa-dir in|out] [--pcpu CPU]
        XFRM_MSG_ALLOCSPI (a larval state); prints "ok spi 0x%08x"
  sa add|update --src ADDR --dst ADDR --spi SPI [--mode M] [--reqid N]
           --aead NAME KEYHEX ICVBITS | --enc NAME KEYHEX --auth NAME KEYHEX TRUNCBITS
           [--replay-window N | --replay-esn BMP_LEN,WINDOW] [--oseq-may-wrap]
           [--sel-src PFX --sel-dst PFX] [--sa-dir in|out] [--pcpu CPU]
           [ESPX OPTIONS]
        XFRM_MSG_NEWSA / XFRM_MSG_UPDSA; with an ESPX OPTION first
        --replay-esn: the window as XFRMA_REPLAY_ESN_VAL (bitmap of BMP_LEN
        u32s), as IKE daemons send windows over 32, without the ESN flag;
        ESPX_CMD_SA_SET for the SA's id (the config is not deleted when the
        xfrm request fails: the test looks at what the kernel left)
        ESPX OPTIONS: --wesp CRYPT_OFFSET, --counters N [--ctr-window W],
        --diet SPI_LSB,SN_LSB [--diet-iiv]
  sa delete --dst ADDR --spi SPI
  policy add|update --dir in|out|fwd --sel-src PFX --sel-dst PFX
           --tmpl-src ADDR --tmpl-dst ADDR [--reqid N] [--mode M] [--cpu-acquire]
        XFRM_MSG_NEWPOLICY / UPDPOLICY, one ESP template; --cpu-acquire sets
        XFRM_POLICY_CPU_ACQUIRE (per-CPU SAs on output)
  dump-sa
        one line per state: "spi 0x.. dst A src A reqid N mode M pcpu N|-
        alg NAME|- packets N bytes N dir in|out|-" (a larval state has no
        algorithm)
  acquire [--timeout S] [--count N]
        listen to XFRMNLGRP_ACQUIRE: "ready", then per XFRM_MSG_ACQUIRE
        "acquire dst A src A pcpu N|- seq N" until N arrived or S seconds
  flush [--policy]
        XFRM_MSG_FLUSHSA (every ESP state of the namespace); --policy:
        XFRM_MSG_FLUSHPOLICY as well
  migrate --dir D --sel-src PFX --sel-dst PFX --old SRC,DST --new SRC,DST
           [--reqid N] [--mode M]
        XFRM_MSG_MIGRATE as xfrm_migrate.py sends it (MOBIKE)
  newae --dst ADDR --spi SPI --oseq N [--seq N]
        XFRM_MSG_NEWAE with XFRMA_REPLAY_VAL (non-ESN SAs), as xfrm_ae.py set
  ns NAME
        the following requests in network namespace NAME (/var/run/netns/NAME
        or a path): new sockets there
  batch
        run the commands on stdin, one a line (no "batch", no "acquire")

Every request prints "ok ..." or "error ERRNO STRERROR[: EXTACK]" (in a batch
followed by " [line N]"); the exit status is 1 if one failed.
"""
import argparse
import os
import select
import shlex
import socket
import struct
import sys
import time

from espx_py.netlink import (GENL_ID_CTRL, NETLINK_GENERIC, NLA_F_NESTED, NLM_F_ACK,  # noqa: F401
                            NLM_F_DUMP, NlError, Netlink, nla, nla_parse)

NETLINK_XFRM = 6
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200

XFRM_MSG = {'newsa': 0x10, 'delsa': 0x11, 'getsa': 0x12, 'newpolicy': 0x13,
            'allocspi': 0x16, 'acquire': 0x17, 'updpolicy': 0x19, 'updsa': 0x1a,
            'flushsa': 0x1c, 'flushpolicy': 0x1d, 'newae': 0x1e, 'migrate': 0x21}
XFRMA_REPLAY_VAL, XFRMA_MIGRATE = 10, 17
XFRM_AE_RVAL = 1
NLM_F_REPLACE = 0x100
IPSEC_ULPROTO_ANY = 255
CLONE_NEWNET = 0x40000000
XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_CRYPT, XFRMA_ALG_AEAD = 20, 2, 18
XFRMA_TMPL, XFRMA_SA_EXTRA_FLAGS, XFRMA_REPLAY_ESN_VAL = 5, 24, 23
XFRMA_SA_DIR = 33           # 6.10+
XFRMA_SA_PCPU = 35          # 6.13+, Debian's 6.12
SA_DIRS = {'in': 1, 'out': 2}
SA_DIR_NAMES = {v: k for k, v in SA_DIRS.items()}
XFRMNLGRP_ACQUIRE = 1
XFRM_SA_XFLAG_OSEQ_MAY_WRAP = 2
XFRM_POLICY_CPU_ACQUIRE = 4
XFRM_INF = (1 << 64) - 1
IPPROTO_ESP = 50
DIRS = {'in': 0, 'out': 1, 'fwd': 2}
MODES = {'transport': 0, 'tunnel': 1, 'beet': 4}
MODE_NAMES = {v: k for k, v in MODES.items()}

# espx generic netlink (include/uapi/linux/espx.h)
ESPX_CMD_SA_SET = 1
ESPX_A_SA_ID, ESPX_A_WESP, ESPX_A_COUNTERS, ESPX_A_DIET = 1, 3, 7, 9
ESPX_ID_FAMILY, ESPX_ID_DADDR, ESPX_ID_SPI, ESPX_ID_PROTO = 1, 2, 3, 4
ESPX_WESP_CRYPT_OFFSET = 1
ESPX_COUNTERS_COUNT, ESPX_COUNTERS_WINDOW = 1, 2
ESPX_DIET_SPI_LSB, ESPX_DIET_SN_LSB, ESPX_DIET_IIV = 1, 2, 10

USERSA_INFO_LEN = 224       # struct xfrm_usersa_info on x86_64 (u64 aligned)


# ------------------------------------------------------------ structures --
def addr(a):
    """(family, xfrm_address_t octets) of an address."""
    if ':' in a:
        return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)
    return socket.AF_INET, socket.inet_pton(socket.AF_INET, a) + bytes(12)


def addr_str(fam, raw):
    if fam == socket.AF_INET6:
        return socket.inet_ntop(fam, raw[:16])
    return socket.inet_ntop(socket.AF_INET, raw[:4])


def prefix(p):
    a, _, n = p.partition('/')
    fam, raw = addr(a)
    return fam, raw, int(n) if n else (32 if fam == socket.AF_INET else 128)


def selector(src=None, dst=None):
    """struct xfrm_selector (56 octets): addresses and prefix lengths only,
    any upper-layer protocol (0); all zero (any) without addresses."""
    if src is None:
        return bytes(56)
    fs, rs, ls = prefix(src)
    fd, rd, ld = prefix(dst)
    if fs != fd:
        raise SystemExit('selector addresses of different families')
    # daddr, saddr, dport, dport_mask, sport, sport_mask, family,
    # prefixlen_d, prefixlen_s, proto, 3 pad, ifindex, user
    return struct.pack('=16s16sHHHHHBBB3xiI', rd, rs, 0, 0, 0, 0, fd, ld, ls,
                       0, 0, 0)


def lft_cfg():
    """struct xfrm_lifetime_cfg: no byte/packet limits, no expiry times."""
    return struct.pack('=8Q', XFRM_INF, XFRM_INF, XFRM_INF, XFRM_INF, 0, 0, 0, 0)


def xfrm_id(daddr, spi, proto=IPPROTO_ESP):
    return daddr + struct.pack('>I', spi) + struct.pack('=B3x', proto)


def usersa_info(a, spi, sel=None):
    """struct xfrm_usersa_info: sel, id, saddr, lft, curlft, stats, seq,
    reqid, family, mode, replay_window, flags, 7 pad."""
    fs, rs = addr(a.src)
    fd, rd = addr(a.dst)
    if fs != fd:
        raise SystemExit('--src and --dst of different families')
    b = (sel or bytes(56)) + xfrm_id(rd, spi) + rs + lft_cfg() + bytes(32) + bytes(12)
    b += struct.pack('=IIHBBB7x', 0, a.reqid, fs, MODES[a.mode],
                     getattr(a, 'replay_window', 0), 0)
    assert len(b) == USERSA_INFO_LEN
    return b


def parse_usersa(p):
    """dict of a NEWSA-type message (struct xfrm_usersa_info + attributes)."""
    fam, = struct.unpack_from('=H', p, 212)
    spi, = struct.unpack_from('>I', p, 72)
    by, pk = struct.unpack_from('=QQ', p, 160)
    reqid, = struct.unpack_from('=I', p, 208)
    at = nla_parse(p, USERSA_INFO_LEN)
    alg = '-'
    for t in (XFRMA_ALG_AEAD, XFRMA_ALG_CRYPT):
        if t in at:
            alg = at[t][:64].split(b'\0')[0].decode()
            break
    pcpu = ('%d' % struct.unpack('=I', at[XFRMA_SA_PCPU][:4])[0]
            if XFRMA_SA_PCPU in at else '-')
    sdir = SA_DIR_NAMES.get(at[XFRMA_SA_DIR][0], '?') if XFRMA_SA_DIR in at else '-'
    return {'dir': sdir, 'spi': spi, 'dst': addr_str(fam, p[56:72]), 'src': addr_str(fam, p[80:96]),
            'reqid': reqid, 'mode': MODE_NAMES.get(p[214], str(p[214])), 'pcpu': pcpu,
            'alg': alg, 'packets': pk, 'bytes': by}


# ---------------------------------------------------------------- client --
class Client:
    def __init__(self):
        self.x = Netlink(NETLINK_XFRM)
        self.g = None

    def espx_family(self):
        if self.g is None:
            self.g = Netlink(NETLINK_GENERIC)
            body = struct.pack('=BBH', 3, 1, 0) + nla(2, b'espx\0')  # GETFAMILY, NAME
            rep = self.g.talk(GENL_ID_CTRL, NLM_F_ACK, body)
            self.gid = struct.unpack('=H', nla_parse(rep[0][1], 4)[1][:2])[0]
        return self.gid

    def espx_set(self, a):
        """ESPX_CMD_SA_SET for the id of SA a, with a's espx options."""
        fam, raw = addr(a.dst)
        sid = (nla(ESPX_ID_FAMILY, struct.pack('=H', fam)) +
               nla(ESPX_ID_DADDR, raw[:16 if fam == socket.AF_INET6 else 4]) +
               nla(ESPX_ID_SPI, struct.pack('>I', a.spi)) +
               nla(ESPX_ID_PROTO, struct.pack('=B', IPPROTO_ESP)))
        at = nla(ESPX_A_SA_ID | NLA_F_NESTED, sid)
        if a.wesp is not None:
            at += nla(ESPX_A_WESP | NLA_F_NESTED,
                      nla(ESPX_WESP_CRYPT_OFFSET, struct.pack('=B', a.wesp)))
        if a.counters is not None:
            c = nla(ESPX_COUNTERS_COUNT, struct.pack('=H', a.counters))
            if a.ctr_window is not None:
                c += nla(ESPX_COUNTERS_WINDOW, struct.pack('=I', a.ctr_window))
            at += nla(ESPX_A_COUNTERS | NLA_F_NESTED, c)
        if a.diet is not None:
            spi_lsb, sn_lsb = (int(v) for v in a.diet.split(','))
            d = (nla(ESPX_DIET_SPI_LSB, struct.pack('=B', spi_lsb)) +
                 nla(ESPX_DIET_SN_LSB, struct.pack('=B', sn_lsb)))
            if a.diet_iiv:
                d += nla(ESPX_DIET_IIV, b'')
            at += nla(ESPX_A_DIET | NLA_F_NESTED, d)
        body = struct.pack('=BBH', ESPX_CMD_SA_SET, 1, 0) + at
        gid = self.espx_family()
        self.g.talk(gid, NLM_F_ACK, body)

    def allocspi(self, a):
        # struct xfrm_userspi_info: info, min, max
        body = usersa_info(a, 0) + struct.pack('=II', a.min, a.max)
        body += sa_dir_pcpu(a)
        for t, p in self.x.talk(XFRM_MSG['allocspi'], NLM_F_ACK, body):
            if t == XFRM_MSG['newsa']:
                return 'ok spi 0x%08x' % parse_usersa(p)['spi']
        raise NlError(0, 'no state in the reply')

    def sa(self, a):
        if a.op == 'delete':
            fam, raw = addr(a.dst)
            # struct xfrm_usersa_id: daddr, spi, family, proto, pad
            body = raw + struct.pack('>I', a.spi) + struct.pack('=HB1x', fam, IPPROTO_ESP)
            self.x.talk(XFRM_MSG['delsa'], NLM_F_ACK, body)
            return 'ok'
        sel = selector(a.sel_src, a.sel_dst) if a.sel_src else None
        body = usersa_info(a, a.spi, sel)
        if a.aead:
            name, key, icv = a.aead
            k = bytes.fromhex(key[2:] if key.startswith('0x') else key)
            body += nla(XFRMA_ALG_AEAD, struct.pack('=64sII', name.encode(), len(k) * 8,
                                                    int(icv)) + k)
        if a.enc:
            name, key = a.enc
            k = bytes.fromhex(key[2:] if key.startswith('0x') else key)
            body += nla(XFRMA_ALG_CRYPT, struct.pack('=64sI', name.encode(), len(k) * 8) + k)
        if a.auth:
            name, key, trunc = a.auth
            k = bytes.fromhex(key[2:] if key.startswith('0x') else key)
            body += nla(XFRMA_ALG_AUTH_TRUNC, struct.pack('=64sII', name.encode(), len(k) * 8,
                                                          int(trunc)) + k)
        if a.replay_esn:
            bmp_len, win = (int(v) for v in a.replay_esn.split(','))
            # struct xfrm_replay_state_esn: bmp_len, oseq, seq, oseq_hi,
            # seq_hi, replay_window, bmp[bmp_len]
            body += nla(XFRMA_REPLAY_ESN_VAL,
                        struct.pack('=6I', bmp_len, 0, 0, 0, 0, win) + bytes(4 * bmp_len))
        if a.oseq_may_wrap:
            body += nla(XFRMA_SA_EXTRA_FLAGS, struct.pack('=I', XFRM_SA_XFLAG_OSEQ_MAY_WRAP))
        body += sa_dir_pcpu(a)
        if a.wesp is not None or a.counters is not None or a.diet is not None:
            self.espx_set(a)
        if a.op == 'add':
            self.x.talk(XFRM_MSG['newsa'], NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)
        else:
            self.x.talk(XFRM_MSG['updsa'], NLM_F_ACK, body)
        return 'ok'

    def policy(self, a):
        fs, rs = addr(a.tmpl_src)
        fd, rd = addr(a.tmpl_dst)
        # struct xfrm_userpolicy_info: sel, lft, curlft, priority, index,
        # dir, action, flags, share, 4 pad
        flags = XFRM_POLICY_CPU_ACQUIRE if a.cpu_acquire else 0
        body = selector(a.sel_src, a.sel_dst) + lft_cfg() + bytes(32)
        body += struct.pack('=IIBBBB4x', a.priority, 0, DIRS[a.dir], 0, flags, 0)
        # struct xfrm_user_tmpl: id, family, saddr, reqid, mode, share,
        # optional, pad, aalgos, ealgos, calgos
        tmpl = xfrm_id(rd, 0) + struct.pack('=H2x16sIBBBxIII', fd, rs, a.reqid,
                                            MODES[a.mode], 0, 0, 0xffffffff,
                                            0xffffffff, 0xffffffff)
        body += nla(XFRMA_TMPL, tmpl)
        typ = XFRM_MSG['newpolicy' if a.op == 'add' else 'updpolicy']
        self.x.talk(typ, NLM_F_ACK, body)
        return 'ok'

    def flush(self, a):
        # struct xfrm_usersa_flush: proto
        self.x.talk(XFRM_MSG['flushsa'], NLM_F_ACK, struct.pack('=B3x', IPPROTO_ESP))
        if a.policy:
            self.x.talk(XFRM_MSG['flushpolicy'], NLM_F_ACK, b'')
        return 'ok'

    def migrate(self, a):
        of, os_ = addr(a.old.split(',')[0])
        _, od = addr(a.old.split(',')[1])
        nf, ns = addr(a.new.split(',')[0])
        _, nd = addr(a.new.split(',')[1])
        sel = bytearray(selector(a.sel_src, a.sel_dst))
        sel[44] = IPSEC_ULPROTO_ANY     # proto: any (xfrm_migrate_selector_match)
        # struct xfrm_userpolicy_id: sel, index, dir, 3 pad; then
        # struct xfrm_user_migrate: old_daddr, old_saddr, new_daddr,
        # new_saddr, proto, mode, reserved, reqid, old_family, new_family
        body = bytes(sel) + struct.pack('=IB3x', 0, DIRS[a.dir])
        body += nla(XFRMA_MIGRATE, struct.pack('=16s16s16s16sBBHIHH', od, os_, nd, ns,
                                               IPPROTO_ESP, MODES[a.mode], 0, a.reqid, of, nf))
        self.x.talk(XFRM_MSG['migrate'], NLM_F_ACK, body)
        return 'ok'

    def newae(self, a):
        fam, raw = addr(a.dst)
        # struct xfrm_aevent_id: xfrm_usersa_id (daddr, spi, family, proto,
        # pad), saddr, flags, reqid; struct xfrm_replay_state: oseq, seq, bitmap
        body = raw + struct.pack('>I', a.spi) + struct.pack('=HBx', fam, IPPROTO_ESP)
        body += bytes(16) + struct.pack('=II', XFRM_AE_RVAL, 0)
        body += nla(XFRMA_REPLAY_VAL, struct.pack('=III', a.oseq, a.seq, 0))
        self.x.talk(XFRM_MSG['newae'], NLM_F_ACK | NLM_F_REPLACE, body)
        return 'ok'

    def ns(self, a):
        setns(a.name)
        self.__init__()
        return 'ok'

    def dump_sa(self, a):
        lines = []
        for t, p in self.x.talk(XFRM_MSG['getsa'], NLM_F_DUMP, b''):
            if t == XFRM_MSG['newsa'] and len(p) >= USERSA_INFO_LEN:
                s = parse_usersa(p)
                lines.append('spi 0x%08x dst %s src %s reqid %d mode %s pcpu %s alg %s '
                             'packets %d bytes %d dir %s' %
                             (s['spi'], s['dst'], s['src'], s['reqid'], s['mode'], s['pcpu'],
                              s['alg'], s['packets'], s['bytes'], s['dir']))
        return '\n'.join(lines) if lines else 'none'


def setns(name):
    """enter network namespace NAME (/var/run/netns/NAME or a path)"""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(name if '/' in name else '/var/run/netns/' + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), 'setns ' + name)
    finally:
        os.close(fd)


def sa_dir_pcpu(a):
    """XFRMA_SA_DIR and XFRMA_SA_PCPU of a request, as asked."""
    b = b''
    if a.sa_dir:
        b += nla(XFRMA_SA_DIR, struct.pack('=B', SA_DIRS[a.sa_dir]))
    if a.pcpu is not None:
        b += nla(XFRMA_SA_PCPU, struct.pack('=I', a.pcpu))
    return b


def acquire(a):
    n = Netlink(NETLINK_XFRM, 1 << (XFRMNLGRP_ACQUIRE - 1))
    print('ready', flush=True)
    end = time.monotonic() + a.timeout
    got = 0
    while got < a.count:
        left = end - time.monotonic()
        if left <= 0 or not select.select([n.s], [], [], left)[0]:
            break
        data = n.s.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            ln, t = struct.unpack_from('=IH', data, off)
            if ln < 16:
                break
            p = data[off + 16:off + ln]
            if t == XFRM_MSG['acquire'] and len(p) >= 280:
                # struct xfrm_user_acquire: id, saddr, sel, policy, aalgos,
                # ealgos, calgos, seq (280 octets); then attributes
                fam, = struct.unpack_from('=H', p, 40 + 32)    # sel.family
                seq, = struct.unpack_from('=I', p, 276)
                at = nla_parse(p, 280)
                pcpu = ('%d' % struct.unpack('=I', at[XFRMA_SA_PCPU][:4])[0]
                        if XFRMA_SA_PCPU in at else '-')
                fam = fam or (socket.AF_INET6 if any(p[4:16]) else socket.AF_INET)
                print('acquire dst %s src %s pcpu %s seq %d' %
                      (addr_str(fam, p[0:16]), addr_str(fam, p[24:40]), pcpu, seq),
                      flush=True)
                got += 1
            off += (ln + 3) & ~3
    print('done %d' % got, flush=True)
    return 0


def spi_arg(v):
    return int(v, 0)


def parser():
    p = argparse.ArgumentParser(prog='xfrm_nl.py', description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)

    def common(c, mode_default='tunnel'):
        c.add_argument('--mode', choices=MODES, default=mode_default)
        c.add_argument('--reqid', type=int, default=0)

    c = sub.add_parser('allocspi')
    c.add_argument('--src', required=True)
    c.add_argument('--dst', required=True)
    c.add_argument('--min', type=spi_arg, default=0x100)
    c.add_argument('--max', type=spi_arg, default=0x0fffffff)
    c.add_argument('--pcpu', type=int)
    c.add_argument('--sa-dir', choices=SA_DIRS)
    common(c)

    c = sub.add_parser('sa')
    c.add_argument('op', choices=('add', 'update', 'delete'))
    c.add_argument('--src', default='0.0.0.0')
    c.add_argument('--dst', required=True)
    c.add_argument('--spi', type=spi_arg, required=True)
    c.add_argument('--aead', nargs=3, metavar=('NAME', 'KEY', 'ICV'))
    c.add_argument('--enc', nargs=2, metavar=('NAME', 'KEY'))
    c.add_argument('--auth', nargs=3, metavar=('NAME', 'KEY', 'TRUNC'))
    c.add_argument('--replay-window', type=int, default=0)
    c.add_argument('--replay-esn', metavar='BMP_LEN,WINDOW')
    c.add_argument('--oseq-may-wrap', action='store_true')
    c.add_argument('--sel-src')
    c.add_argument('--sel-dst')
    c.add_argument('--pcpu', type=int)
    c.add_argument('--sa-dir', choices=SA_DIRS)
    c.add_argument('--wesp', type=int)
    c.add_argument('--counters', type=int)
    c.add_argument('--ctr-window', type=int)
    c.add_argument('--diet', metavar='SPI_LSB,SN_LSB')
    c.add_argument('--diet-iiv', action='store_true')
    common(c)

    c = sub.add_parser('policy')
    c.add_argument('op', choices=('add', 'update'))
    c.add_argument('--dir', choices=DIRS, required=True)
    c.add_argument('--sel-src', required=True)
    c.add_argument('--sel-dst', required=True)
    c.add_argument('--tmpl-src', required=True)
    c.add_argument('--tmpl-dst', required=True)
    c.add_argument('--priority', type=int, default=0)
    c.add_argument('--cpu-acquire', action='store_true')
    common(c)

    sub.add_parser('dump-sa')

    c = sub.add_parser('flush')
    c.add_argument('--policy', action='store_true')

    c = sub.add_parser('migrate')
    c.add_argument('--dir', choices=DIRS, required=True)
    c.add_argument('--sel-src', required=True)
    c.add_argument('--sel-dst', required=True)
    c.add_argument('--old', required=True, metavar='SRC,DST')
    c.add_argument('--new', required=True, metavar='SRC,DST')
    common(c)

    c = sub.add_parser('newae')
    c.add_argument('--dst', required=True)
    c.add_argument('--spi', type=spi_arg, required=True)
    c.add_argument('--oseq', type=int, required=True)
    c.add_argument('--seq', type=int, default=0)

    c = sub.add_parser('ns')
    c.add_argument('name')

    c = sub.add_parser('acquire')
    c.add_argument('--timeout', type=float, default=30)
    c.add_argument('--count', type=int, default=1 << 30)

    sub.add_parser('batch')
    return p


def run(cl, a, where=''):
    """Result line(s) of one request; False if it failed."""
    fn = {'allocspi': cl.allocspi, 'sa': cl.sa, 'policy': cl.policy,
          'dump-sa': cl.dump_sa, 'flush': cl.flush, 'migrate': cl.migrate,
          'newae': cl.newae, 'ns': cl.ns}[a.cmd]
    try:
        print(fn(a), flush=True)
        return True
    except NlError as e:
        print('%s%s' % (e, where), flush=True)
    except OSError as e:
        print('error %d %s%s' % (e.errno or 0, e.strerror, where), flush=True)
    return False


def main():
    p = parser()
    a = p.parse_args()
    if a.cmd == 'acquire':
        return acquire(a)
    cl = Client()
    if a.cmd != 'batch':
        return 0 if run(cl, a) else 1
    ok = True
    for n, line in enumerate(sys.stdin, 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        try:
            b = p.parse_args(words)
        except SystemExit:
            print('error line %d: bad command: %s' % (n, line.strip()), flush=True)
            ok = False
            continue
        if b.cmd in ('batch', 'acquire'):
            print('error line %d: %s not in a batch' % (n, b.cmd), flush=True)
            ok = False
            continue
        ok &= run(cl, b, ' [line %d]' % n)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
