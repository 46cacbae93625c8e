#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one XFRM_MSG_MIGRATE, as an IKE daemon does for MOBIKE.

The request names a policy (selector and direction) and moves its template,
and the SA the template matches, from one address pair to another; the
kernel clones the SA with the new addresses and deletes the old one
(xfrm_migrate()). "ip xfrm" has no migrate command, so migrate.sh uses this.

    xfrm_migrate.py --dir out --sel-src 10.97.1.1/32 --sel-dst 10.97.1.2/32 \\
        --old 10.98.1.1,10.98.1.2 --new 10.96.1.1,10.96.1.2 --reqid 1

--old/--new are SRC,DST of the SA (the template), families may differ.
--encap SPORT,DPORT adds XFRMA_ENCAP (ESP in UDP), as a daemon does when MOBIKE
finds a NAT on the new path.
Prints "ok" or "error ERRNO MESSAGE" (the kernel's extack if any); the exit
status is 0 or 1. Only the standard library: raw netlink, struct packing.
"""
import argparse
import os
import socket
import struct
import sys

NETLINK_XFRM = 6
XFRM_MSG_MIGRATE = 0x21
XFRMA_ENCAP = 4
XFRMA_MIGRATE = 17
UDP_ENCAP_ESPINUDP = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 0x2
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
IPSEC_ULPROTO_ANY = 255
DIRS = {'in': 0, 'out': 1, 'fwd': 2}
MODES = {'transport': 0, 'tunnel': 1, 'beet': 4}
PROTOS = {'esp': 50, 'ah': 51, 'comp': 108}


def addr(a):
    """(family, xfrm_address_t octets) of an address."""
    if ':' in a:
        return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)
    return socket.AF_INET, socket.inet_pton(socket.AF_INET, a) + bytes(12)


def prefix(p):
    a, _, n = p.partition('/')
    fam, raw = addr(a)
    return fam, raw, int(n) if n else (32 if fam == socket.AF_INET else 128)


def pair(s):
    src, dst = s.split(',')
    fs, rs = addr(src)
    fd, rd = addr(dst)
    if fs != fd:
        raise SystemExit('%s: both addresses of a pair must be of one family' % s)
    return fs, rs, rd


def selector(src, dst):
    """struct xfrm_selector (56 octets) matching a policy by its addresses
    and prefix lengths only (proto IPSEC_ULPROTO_ANY)."""
    fs, rs, ls = prefix(src)
    fd, rd, ld = prefix(dst)
    if fs != fd:
        raise SystemExit('selector addresses of different families')
    # daddr, saddr, dport, dport_mask, sport, sport_mask, family,
    # prefixlen_d, prefixlen_s, proto, 3 pad, ifindex, user
    return struct.pack('=16s16sHHHHHBBB3xiI', rd, rs, 0, 0, 0, 0, fd, ld, ls,
                       IPSEC_ULPROTO_ANY, 0, 0)


def migrate_msg(a, seq):
    of, os_, od = pair(a.old)
    nf, ns, nd = pair(a.new)
    # struct xfrm_userpolicy_id: sel, index, dir, 3 pad
    body = selector(a.sel_src, a.sel_dst) + struct.pack('=IB3x', 0, DIRS[a.dir])
    # struct xfrm_user_migrate: old_daddr, old_saddr, new_daddr, new_saddr,
    # proto, mode, reserved, reqid, old_family, new_family
    m = struct.pack('=16s16s16s16sBBHIHH', od, os_, nd, ns, PROTOS[a.proto],
                    MODES[a.mode], 0, a.reqid, of, nf)
    body += struct.pack('=HH', 4 + len(m), XFRMA_MIGRATE) + m
    if a.encap:
        sport, dport = (int(v) for v in a.encap.split(','))
        # struct xfrm_encap_tmpl: type, sport, dport (network order), 2 pad, oa
        e = struct.pack('=H', UDP_ENCAP_ESPINUDP) + struct.pack('!HH', sport, dport) + bytes(18)
        body += struct.pack('=HH', 4 + len(e), XFRMA_ENCAP) + e
    return struct.pack('=IHHII', 16 + len(body), XFRM_MSG_MIGRATE,
                       NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def extack_msg(data, off, end):
    """NLMSGERR_ATTR_MSG from the attributes after the echoed request."""
    while off + 4 <= end:
        ln, typ = struct.unpack_from('=HH', data, off)
        if ln < 4:
            break
        if typ & 0x3fff == NLMSGERR_ATTR_MSG:
            return data[off + 4:off + ln].split(b'\0')[0].decode(errors='replace')
        off += (ln + 3) & ~3
    return ''


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dir', choices=DIRS, required=True)
    p.add_argument('--sel-src', required=True, help='policy selector source, ADDR/LEN')
    p.add_argument('--sel-dst', required=True, help='policy selector destination, ADDR/LEN')
    p.add_argument('--old', required=True, help='SRC,DST of the SA now')
    p.add_argument('--new', required=True, help='SRC,DST of the SA after')
    p.add_argument('--reqid', type=int, default=0)
    p.add_argument('--mode', choices=MODES, default='tunnel')
    p.add_argument('--proto', choices=PROTOS, default='esp')
    p.add_argument('--encap', help='SPORT,DPORT: ESP in UDP on the new path (XFRMA_ENCAP)')
    a = p.parse_args()

    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    s.settimeout(10)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.bind((0, 0))
    seq = os.getpid() & 0xffff
    s.send(migrate_msg(a, seq))
    while True:
        data = s.recv(65536)
        off = 0
        while off + 16 <= len(data):
            ln, typ, flags, rseq, _ = struct.unpack_from('=IHHII', data, off)
            if ln < 16:
                break
            if typ == NLMSG_ERROR and rseq == seq:
                err, = struct.unpack_from('=i', data, off + 16)
                if not err:
                    print('ok')
                    return 0
                # the echoed request: its header only when capped (flag 0x100)
                olen = struct.unpack_from('=I', data, off + 20)[0]
                skip = 16 if flags & 0x100 else (olen + 3) & ~3
                msg = extack_msg(data, off + 20 + skip, off + ln)
                print('error %d %s%s' % (-err, os.strerror(-err), ': ' + msg if msg else ''))
                return 1
            off += (ln + 3) & ~3


if __name__ == '__main__':
    sys.exit(main())
