#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read or set an SA's replay state with XFRM_MSG_GETAE / XFRM_MSG_NEWAE.

An IKE daemon restoring SAs (or a buggy one) sets the output sequence number
with NEWAE; "ip xfrm" cannot, so nonce.sh uses this to set it back.

    xfrm_ae.py get --dst 10.96.1.2 --spi 0x1001
        prints "oseq N seq N" (ESN SAs: "oseq N seq N oseq_hi N seq_hi N
        window N")
    xfrm_ae.py set --dst 10.96.1.2 --spi 0x1001 --oseq 0 [--window W]
        non-ESN SAs: XFRMA_REPLAY_VAL; --window (or an ESN SA): the SA's
        XFRMA_REPLAY_ESN_VAL with oseq (and window) replaced

Prints "ok" / "error ERRNO MESSAGE" for set; exit status 0 or 1. Standard
library only: raw netlink, struct packing.

    xfrm_ae.py batch
        one get or set request per line of stdin (same arguments), its answer
        line (or "error ...") on stdout at once: one Python start for many
        requests (seconds each under emulation); "ns NAME" switches to network
        namespace NAME (answer "ok")
"""
import argparse
import shlex
import socket
import struct
import sys

NETLINK_XFRM = 6
XFRM_MSG_NEWAE = 0x1e
XFRM_MSG_GETAE = 0x1f
XFRMA_REPLAY_VAL = 10
XFRMA_REPLAY_ESN_VAL = 23
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLMSG_ERROR = 0x2
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
XFRM_AE_RVAL = 1


def addr(a):
    fam = socket.AF_INET6 if ':' in a else socket.AF_INET
    return fam, socket.inet_pton(fam, a).ljust(16, b'\0')


def aevent_id(dst, spi, flags=0):
    """struct xfrm_aevent_id: xfrm_usersa_id (daddr, spi, family, proto),
    saddr, flags, reqid"""
    fam, d = addr(dst)
    usersa = d + struct.pack('!I', spi) + struct.pack('=HBx', fam, 50)
    return usersa + b'\0' * 16 + struct.pack('=II', flags, 0)


def attr(typ, data):
    ln = 4 + len(data)
    return struct.pack('=HH', ln, typ) + data + b'\0' * (-ln % 4)


def talk(msgtype, flags, payload):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    try:
        s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    except OSError:
        pass
    s.bind((0, 0))
    s.send(struct.pack('=IHHII', 16 + len(payload), msgtype, flags, 1, 0) + payload)
    return s.recv(65536)


def attrs(buf):
    out = {}
    while len(buf) >= 4:
        ln, typ = struct.unpack('=HH', buf[:4])
        if ln < 4:
            break
        out[typ & 0x3fff] = buf[4:ln]
        buf = buf[(ln + 3) & ~3:]
    return out


def error(reply):
    """(errno, extack message) of an NLMSG_ERROR reply, None for another"""
    _, typ = struct.unpack('=IH', reply[:6])
    if typ != NLMSG_ERROR:
        return None
    err = -struct.unpack('=i', reply[16:20])[0]
    msg = ''
    if err:
        inner = struct.unpack('=I', reply[20:24])[0]
        tlv = reply[20 + 16:] if len(reply) < 20 + inner else reply[20 + inner:]
        m = attrs(tlv).get(NLMSGERR_ATTR_MSG, b'')
        msg = m.rstrip(b'\0').decode(errors='replace')
    return err, msg


def get(a):
    reply = talk(XFRM_MSG_GETAE, NLM_F_REQUEST, aevent_id(a.dst, a.spi, XFRM_AE_RVAL))
    e = error(reply)
    if e:
        raise SystemExit('error %d %s' % e)
    at = attrs(reply[16 + 48:])
    if XFRMA_REPLAY_ESN_VAL in at:
        esn = at[XFRMA_REPLAY_ESN_VAL]
        bmp_len, oseq, seq, oseq_hi, seq_hi, win = struct.unpack('=6I', esn[:24])
        return {'esn': esn, 'oseq': oseq, 'seq': seq, 'oseq_hi': oseq_hi,
                'seq_hi': seq_hi, 'window': win, 'bmp_len': bmp_len}
    oseq, seq, bitmap = struct.unpack('=III', at[XFRMA_REPLAY_VAL][:12])
    return {'oseq': oseq, 'seq': seq, 'bitmap': bitmap}


def request(a):
    """the answer line of one get or set request; SystemExit('error ...') if
    the SA cannot be read"""
    cur = get(a)
    if a.cmd == 'get':
        return ' '.join('%s %d' % (k, v) for k, v in cur.items() if k != 'esn')
    if 'esn' in cur:
        esn = bytearray(cur['esn'])
        if a.oseq is not None:
            struct.pack_into('=I', esn, 4, a.oseq & 0xffffffff)
            struct.pack_into('=I', esn, 12, a.oseq >> 32)
        if a.window is not None:
            struct.pack_into('=I', esn, 20, a.window)
        body = attr(XFRMA_REPLAY_ESN_VAL, bytes(esn))
    else:
        if a.window is not None:
            raise SystemExit('error 22 no replay-esn state: the window cannot change')
        oseq = cur['oseq'] if a.oseq is None else a.oseq
        body = attr(XFRMA_REPLAY_VAL, struct.pack('=III', oseq, cur['seq'], cur['bitmap']))
    e = error(talk(XFRM_MSG_NEWAE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE,
                   aevent_id(a.dst, a.spi) + body))
    if e and e[0]:
        return 'error %d %s' % e
    return 'ok'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('cmd', choices=('get', 'set', 'batch'))
    p.add_argument('--dst')
    p.add_argument('--spi', type=lambda x: int(x, 0))
    p.add_argument('--oseq', type=lambda x: int(x, 0))
    p.add_argument('--window', type=int)
    a = p.parse_args()
    if a.cmd != 'batch':
        if a.dst is None or a.spi is None:
            p.error('the following arguments are required: --dst, --spi')
        out = request(a)
        print(out)
        if out.startswith('error '):
            sys.exit(1)
        return
    for line in sys.stdin:
        words = shlex.split(line)
        if not words:
            continue
        if words[0] == 'ns' and len(words) == 2:
            from xfrm_nl import setns
            setns(words[1])
            print('ok', flush=True)
            continue
        try:
            b = p.parse_args(words)
            if b.cmd == 'batch' or b.dst is None or b.spi is None:
                raise SystemExit('error 22 bad request: %s' % line.strip())
            out = request(b)
        except SystemExit as e:
            out = str(e.code)
        print(out, flush=True)


if __name__ == '__main__':
    main()
