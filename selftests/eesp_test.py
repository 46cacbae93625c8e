# SPDX-License-Identifier: GPL-2.0
"""eesp_test.py --a NS_A --b NS_B [--ip IP] [--only PART,...]: the EESP data
path between two namespaces joined by veth0 (eesp.md), for selftests/eesp.sh.

One process does everything (every fork costs 0.3 s under TCG): espx
generic netlink (ESPX_CMD_SA_SET with ESPX_A_EESP, stats, the per-Sub-SA
ESPX_CMD_CTR_GET), the xfrm states through "ip -batch", injection and
capture through AF_PACKET sockets on veth0, and the independent decoder
espx_eesp.py for every captured packet. Prints one "ok DESC" or
"not ok DESC" line per test point (eesp.sh turns them into KTAP), "# ..."
for details. Parts:
  refuse    §9 configuration refusals: the kernel's message, nothing built;
            a root key refused to one-SN and counter SAs and back
  seal      the §11 V1 vector sealed by the kernel octet for octet
  deliver   the V1 packet injected and delivered to a UDP socket
  variants  every §11.6 receiver variant: exact counter, nothing delivered
  echo      ESP Echo on EESP (README, ESP Echo, Decisions): transport, tunnel
            (Optimized: a PIH with Next Header 144) and BEET, probes from two
            CPUs (Sub SAs) answered, every request/reply decoded, no (key,
            nonce) repeated; tampered and replayed requests unanswered, an
            SA without the echo flag counts and does not answer (needs
            --genl: espx_genl)
  traffic   transport/tunnel/BEET, IPv4/IPv6, both formats, both AEADs,
            Sub SAs from two CPUs: decoded, keys/nonces/AAD checked, no
            (key, nonce) repeated, also across a MIGRATE under traffic and
            an SA deleted and re-created with the same root key
  ip        the patched ip's eesp keywords, its listing and -s -j per Sub
            SA (skipped with an ip without them)
  limits    (espx with test_knobs=1, not in the default list) the test knob
            ESPX_EESP_START: one soft expire per SA at 2^63, the last SN
            2^64 - 1, then a counted drop, the SA hard-expired and every
            Sub SA stopped, no SN 0 or SN again
"""
import argparse
import ctypes
import os
import socket
import struct
import subprocess
import sys
import time

import espx_eesp as E
from espx_py.netlink import Netlink, NlError
from xfrm_nl import nla, nla_parse

CLONE_NEWNET = 0x40000000
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLA_F_NESTED = 0x8000
HERE = os.path.dirname(os.path.abspath(__file__))
UAPI = os.path.join(HERE, '..', 'include', 'uapi', 'linux', 'espx.h')
MAC_A, MAC_B = bytes.fromhex('02000000000a'), bytes.fromhex('02000000000b')
GCM = '0x' + bytes(range(16)).hex() + 'a0a1a2a3'
libc = ctypes.CDLL(None, use_errno=True)
FAILS = 0


def uapi_enum(name):
    """{NAME: value} of an enum of the uapi header (so the numbers cannot drift)"""
    import re
    text = open(UAPI).read()
    body = re.search(r'enum %s \{(.*?)\};' % name, text, re.S).group(1)
    out, v = {}, -1
    for m in re.finditer(r'^\s*(\w+)\s*(?:=\s*(\w+))?\s*,', body, re.M):
        v = int(m.group(2), 0) if m.group(2) else v + 1
        out[m.group(1)] = v
    return out


A = uapi_enum('espx_attr')
ID = uapi_enum('espx_sa_id_attr')
EA = uapi_enum('espx_eesp_attr')
CMD = uapi_enum('espx_cmd')
CTR = uapi_enum('espx_ctr_attr')
STAT = {v: k[len('ESPX_STAT_'):].lower() for k, v in uapi_enum('espx_stat').items()}
NSTAT = {v: k[len('ESPX_NS_STAT_'):].lower() for k, v in uapi_enum('espx_ns_stat').items()}


def point(ok, desc, detail=''):
    global FAILS
    if not ok:
        FAILS += 1
    print('%s %s' % ('ok' if ok else 'not ok', desc), flush=True)
    if detail and not ok:
        for line in str(detail).splitlines():
            print('# ' + line, flush=True)


class NS:
    """with NS(name): the calling thread is in that network namespace"""

    def __init__(self, name):
        self.name = name
        self.fd = os.open('/run/netns/' + name, os.O_RDONLY)

    def __enter__(self):
        self.own = os.open('/proc/self/ns/net', os.O_RDONLY)
        if libc.setns(self.fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), 'setns ' + self.name)
        return self

    def __exit__(self, *a):
        libc.setns(self.own, CLONE_NEWNET)
        os.close(self.own)


class Genl:
    """espx generic netlink in one namespace, with extack messages"""

    def __init__(self, ns):
        with ns:
            self.nl = Netlink(16)
        err, msg, out = self.talk(0x10, 3, NLM_F_REQUEST | NLM_F_ACK, nla(2, b'espx\0'))
        if err:
            raise OSError(-err, 'no espx family')
        self.family = struct.unpack('=H', nla_parse(out[0])[1][:2])[0]

    def talk(self, typ, cmd, flags, attrs=b''):
        """(errno or 0, extack message, [payloads after the genl header])"""
        body = struct.pack('=BBH', cmd, 1, 0) + attrs
        try:
            out = self.nl.talk(typ, flags, body)
        except NlError as e:
            return e.err, e.msg, []
        return 0, '', [p[4:] for _, p in out]

    @staticmethod
    def sa_id(daddr, spi):
        fam = socket.AF_INET6 if ':' in daddr else socket.AF_INET
        return (nla(ID['ESPX_ID_FAMILY'], struct.pack('=H', fam)) +
                nla(ID['ESPX_ID_DADDR'], socket.inet_pton(fam, daddr)) +
                nla(ID['ESPX_ID_SPI'], struct.pack('!I', spi)))

    def set(self, daddr, spi, eesp=None, extra=b''):
        """ESPX_CMD_SA_SET; eesp: dict of ESPX_EESP_* short names -> value"""
        at = nla(A['ESPX_A_SA_ID'] | NLA_F_NESTED, self.sa_id(daddr, spi)) + extra
        if eesp is not None:
            e = b''
            for k, v in eesp.items():
                t = EA['ESPX_EESP_' + k.upper()]
                if k in ('sub_sas', 'key_bits'):
                    e += nla(t, struct.pack('=H', v))
                elif k in ('sskdf', 'crypt_offset'):
                    e += nla(t, bytes([v]))
                elif k == 'window':
                    e += nla(t, struct.pack('=I', v))
                elif k == 'start':
                    e += nla(t, struct.pack('=Q', v))
                elif v:
                    e += nla(t, b'')
            at += nla(A['ESPX_A_EESP'] | NLA_F_NESTED, e)
        at += nla(A['ESPX_A_DETACHED'], b'')
        err, msg, _ = self.talk(self.family, CMD['ESPX_CMD_SA_SET'],
                                NLM_F_REQUEST | NLM_F_ACK, at)
        return err, msg

    def stats(self):
        """{'0xSPI:stat': n, 'ns:stat': n}"""
        c = {}
        _, _, msgs = self.talk(self.family, CMD['ESPX_CMD_SA_GET'], NLM_F_REQUEST | NLM_F_DUMP)
        for m in msgs:
            at = nla_parse(m)
            if A['ESPX_A_STATS'] not in at:
                continue
            spi = struct.unpack('!I', nla_parse(at[A['ESPX_A_SA_ID']])[ID['ESPX_ID_SPI']][:4])[0]
            for t, v in nla_parse(at[A['ESPX_A_STATS']]).items():
                if t in STAT and len(v) >= 8 and t:
                    c['0x%x:%s' % (spi, STAT[t])] = struct.unpack('=Q', v[:8])[0]
        _, _, msgs = self.talk(self.family, CMD['ESPX_CMD_INFO_GET'], NLM_F_REQUEST | NLM_F_ACK)
        for m in msgs:
            info = nla_parse(nla_parse(m).get(A['ESPX_A_INFO'], b''))
            for t, v in nla_parse(info.get(3, b'')).items():
                if t in NSTAT and t and len(v) >= 8:
                    c['ns:%s' % NSTAT[t]] = struct.unpack('=Q', v[:8])[0]
        return c

    def subs(self, daddr, spi):
        """per Sub SA: {id: {field: value}}; in_top None without a window"""
        names = {v: k[len('ESPX_CTR_'):].lower() for k, v in CTR.items()}
        res = {}
        err, msg, msgs = self.talk(self.family, CMD['ESPX_CMD_CTR_GET'],
                                   NLM_F_REQUEST | NLM_F_DUMP,
                                   nla(A['ESPX_A_SA_ID'] | NLA_F_NESTED, self.sa_id(daddr, spi)))
        for m in msgs:
            c = nla_parse(nla_parse(m).get(A['ESPX_A_CTR'], b''))
            d = {'in_top': None}
            for t, v in c.items():
                if t == CTR['ESPX_CTR_ID']:
                    d['id'] = struct.unpack('=H', v[:2])[0]
                elif t in names and t != CTR['ESPX_CTR_PAD']:
                    d[names[t]] = struct.unpack('=Q', v[:8])[0]
            res[d.get('id')] = d
        return res


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


class Env:
    def __init__(self, a):
        self.ip = a.ip
        self.genl = a.genl
        self.na, self.nb = a.a, a.b
        self.A, self.B = NS(a.a), NS(a.b)
        if not a.no_setup:
            self.setup()
        self.ga, self.gb = Genl(self.A), Genl(self.B)
        self.open()

    def setup(self):
        self.run(self.na, """link set veth0 address 02:00:00:00:00:0a
addr add 192.0.2.1/24 dev veth0
addr add 2001:db8::1/64 dev veth0 nodad
addr add 10.1.0.1/32 dev lo
addr add fd00:a::1/128 dev lo nodad
route add 10.2.0.1/32 dev veth0 src 10.1.0.1
route add fd00:b::1/128 dev veth0 src fd00:a::1
neigh add 192.0.2.2 lladdr 02:00:00:00:00:0b dev veth0
neigh add 2001:db8::2 lladdr 02:00:00:00:00:0b dev veth0
neigh add fd00:b::1 lladdr 02:00:00:00:00:0b dev veth0
neigh add 10.2.0.1 lladdr 02:00:00:00:00:0b dev veth0""")
        self.run(self.nb, """link set veth0 address 02:00:00:00:00:0b
addr add 192.0.2.2/24 dev veth0
addr add 2001:db8::2/64 dev veth0 nodad
addr add 10.2.0.1/32 dev lo
addr add fd00:b::1/128 dev lo nodad
addr add 203.0.113.1/32 dev lo
addr add 2001:db8:b::1/128 dev lo nodad
route add 10.1.0.1/32 dev veth0
route add fd00:a::1/128 dev veth0
neigh add 192.0.2.1 lladdr 02:00:00:00:00:0a dev veth0
neigh add 2001:db8::1 lladdr 02:00:00:00:00:0a dev veth0
neigh add 10.1.0.1 lladdr 02:00:00:00:00:0a dev veth0
neigh add fd00:a::1 lladdr 02:00:00:00:00:0a dev veth0""")

    def open(self):
        with self.A:
            self.inj = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.inj.bind(('veth0', 0))
        with self.B:
            self.cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            self.cap.bind(('veth0', 0))
            self.cap.setblocking(False)
            self.rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            self.rx.bind(('::', 5000))
            self.rx.setblocking(False)

    def run(self, ns, cmds, check=True):
        p = subprocess.run([self.ip, '-n', ns, '-batch', '-'], input=cmds + '\n',
                           capture_output=True, text=True)
        if check and p.returncode:
            raise RuntimeError('ip -n %s: %s\n%s' % (ns, cmds, p.stderr))
        return p.returncode, p.stdout + p.stderr

    def drain(self):
        frames = []
        while True:
            try:
                frames.append(self.cap.recv(65535))
            except BlockingIOError:
                return frames

    def eesp_frames(self):
        """(proto, octets after the outer header, ipv6?) of captured EESP"""
        out = []
        for f in self.drain():
            et = struct.unpack('!H', f[12:14])[0]
            ip = f[14:]
            if et in (0x0800, 0x86dd) and len(ip) > 40:
                proto, b, v6 = E.eesp_of_ip(ip)
                if proto == E.EESP_PROTO:
                    out.append((ip, b, v6))
        return out

    def received(self):
        got = []
        while True:
            try:
                got.append(self.rx.recvfrom(65535))
            except BlockingIOError:
                return got

    def inject(self, pkt):
        et = 0x0800 if pkt[0] >> 4 == 4 else 0x86dd
        self.inj.send(MAC_B + MAC_A + struct.pack('!H', et) + pkt)

    def settle(self, g, before, timeout=2.0):
        """stats once they moved (or after timeout), and a short grace"""
        end = time.time() + timeout
        while time.time() < end:
            now = g.stats()
            if delta(before, now):
                time.sleep(0.05)
                return g.stats()
            time.sleep(0.02)
        return g.stats()


def state_line(src, dst, spi, mode='transport', aead=GCM, alg='rfc4106(gcm(aes))', sel='',
               extra='replay-window 0 extra-flag oseq-may-wrap'):
    return ("xfrm state add src %s dst %s proto esp spi 0x%x mode %s %s aead '%s' %s 128 %s" %
            (src, dst, spi, mode, sel, alg, aead, extra))


# ------------------------------------------------------------ refusals ----
def part_refuse(env):
    g = env.ga
    nl = [('sub-sas 0', {'sub_sas': 0}), ('sub-sas 1025', {'sub_sas': 1025}),
          ('crypt-offset 64', {'crypt_offset': 64}), ('crypt-offset 0', {'crypt_offset': 0}),
          ('window 16', {'window': 16}), ('window 8192', {'window': 8192}),
          ('window 100 (not x32)', {'window': 100}),
          ('key-bits 192', {'sub_sas': 2, 'key_bits': 192}),
          ('sskdf without sub-sas', {'sskdf': 1}), ('key-bits without sub-sas', {'key_bits': 256}),
          ('sskdf 3', {'sub_sas': 2, 'sskdf': 3})]
    for desc, e in nl:
        err, msg = g.set('192.0.2.2', 0x3001, e)
        # the policy's ranges answer ERANGE, espx's own checks EINVAL
        point(err in (22, 34) and msg, 'refuse: %s: refused with a message' % desc,
              'errno %d msg %r' % (err, msg))
        print('# %s: %s' % (desc, msg))
    wesp = nla(A['ESPX_A_WESP'] | NLA_F_NESTED, b'')
    diet = nla(A['ESPX_A_DIET'] | NLA_F_NESTED, nla(1, bytes([32])) + nla(2, bytes([32])))
    ctrs = nla(A['ESPX_A_COUNTERS'] | NLA_F_NESTED, nla(1, struct.pack('=H', 2)))
    for desc, extra in (('with wesp', wesp), ('with diet', diet), ('with counters', ctrs)):
        err, msg = g.set('192.0.2.2', 0x3001, {}, extra)
        point(err == 22 and 'exclusive' in msg, 'refuse: eesp %s: "%s"' % (desc, msg),
              'errno %d msg %r' % (err, msg))
    cc = '0x' + bytes(range(32)).hex()
    sa = [('sskdf not the root key length',
           {'sub_sas': 2, 'sskdf': 1}, state_line('192.0.2.1', '192.0.2.2', 0x3002,
                                                  aead=cc), 'root key length'),
          ('key-bits 128 with ChaCha20-Poly1305', {'sub_sas': 2, 'key_bits': 128},
           state_line('192.0.2.1', '192.0.2.2', 0x3003, alg='rfc7539esp(chacha20,poly1305)',
                      aead=cc), 'key-bits 128'),
          ('non-AEAD', {},
           "xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x3004 mode transport "
           "enc 'cbc(aes)' 0x%s auth 'hmac(sha256)' 0x%s replay-window 0 "
           "extra-flag oseq-may-wrap" % (bytes(16).hex(), bytes(32).hex()), 'EESP needs aead'),
          ('ESN', {}, state_line('192.0.2.1', '192.0.2.2', 0x3005,
                                 extra='replay-window 32 flag esn'), 'ESN'),
          ('replay-window 32', {}, state_line('192.0.2.1', '192.0.2.2', 0x3006,
                                              extra='replay-window 32 extra-flag oseq-may-wrap'),
           'replay-window 0'),
          ('no oseq-may-wrap', {}, state_line('192.0.2.1', '192.0.2.2', 0x3007,
                                              extra='replay-window 0'), 'oseq-may-wrap'),
          ('UDP encapsulation', {}, state_line('192.0.2.1', '192.0.2.2', 0x3008) +
           ' encap espinudp 4500 4500 0.0.0.0', 'UDP encapsulation'),
          # tunnel mode: the core refuses TFC padding in transport mode itself
          ('TFC padding', {}, state_line('192.0.2.1', '192.0.2.2', 0x3009, mode='tunnel') +
           ' tfcpad 200', 'TFC padding is not supported with EESP'),
          ('a 4-octet key without sub-sas (no room for key | salt)', {},
           state_line('192.0.2.1', '192.0.2.2', 0x300f, aead='0x01020304'),
           'key | 4-octet salt')]
    for desc, e, line, want in sa:
        spi = int(line.split(' spi ')[1].split()[0], 16)
        err, msg = g.set('192.0.2.2', spi, e)
        if err:
            point(False, 'refuse: %s: config accepted by netlink' % desc, msg)
            continue
        rc, out = env.run(env.na, line, check=False)
        _, st = env.run(env.na, 'xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x%x'
                        % spi, check=False)
        point(rc != 0 and want in out and 'spi' not in st,
              'refuse: %s: state refused with "%s", none left' % (desc, out.strip()[:100]),
              'rc %d out %r state %r' % (rc, out, st))
    refuse_numbering(env)
    refuse_start_knob(env)
    refuse_fewer(env)


def refuse_numbering(env):
    """a key numbers its packets one way: an EESP SA's root key refused to a
    one-SN (WESPv2) or counter SA and the other way round, with a message"""
    g = env.ga
    ke = '0x' + bytes(range(0xe0, 0xf4)).hex()
    kw = '0x' + bytes(range(0xc0, 0xd4)).hex()
    wesp = nla(A['ESPX_A_WESP'] | NLA_F_NESTED, b'')
    ctrs = wesp + nla(A['ESPX_A_COUNTERS'] | NLA_F_NESTED, nla(1, struct.pack('=H', 2)))
    steps = [('EESP SA with key E', 0x300a, {}, b'', ke, None),
             ('one-SN WESPv2 SA with key E', 0x300b, None, wesp, ke, 'replay-window 0'),
             ('counter SA with key E', 0x300c, None, ctrs, ke, None),
             ('one-SN WESPv2 SA with key W', 0x300d, None, wesp, kw, 'replay-window 0'),
             ('EESP SA with key W', 0x300e, {}, b'', kw, None)]
    for desc, spi, e, extra, key, xf in steps:
        err, msg = g.set('192.0.2.2', spi, e, extra)
        if err:
            point(False, 'refuse: key numbering: %s: config accepted' % desc, msg)
            continue
        kw_ = {'extra': xf} if xf else {}
        rc, out = env.run(env.na, state_line('192.0.2.1', '192.0.2.2', spi, aead=key, **kw_),
                          check=False)
        _, st = env.run(env.na, 'xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x%x'
                        % spi, check=False)
        if spi in (0x300a, 0x300d):
            point(rc == 0 and 'spi' in st, 'refuse: key numbering: %s added' % desc, out)
        else:
            point(rc != 0 and 'numbered its packets differently' in out and 'EESP' in out and
                  'spi' not in st,
                  'refuse: key numbering: %s refused with "%s", none left' %
                  (desc, out.strip()[:120]), 'rc %d out %r state %r' % (rc, out, st))
    env.run(env.na, 'xfrm state flush')


KNOBS = '/sys/module/espx/parameters/test_knobs'
OBJECTS = '/sys/kernel/debug/espx/sa_objects'


def read_or(path, dflt=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return dflt


def refuse_start_knob(env):
    """ESPX_EESP_START is a test knob: refused without test_knobs=1"""
    if read_or(KNOBS) != 'N':
        print('# start knob refusal: espx loaded with test_knobs=%s, point in part limits'
              % read_or(KNOBS))
        return
    err, msg = env.ga.set('192.0.2.2', 0x3020, {'sub_sas': 2, 'start': 1 << 40})
    st = entries(env.ga, 0x3020)
    point(err == 1 and msg == 'EESP start is a test knob: load espx with test_knobs=1' and
          not st, 'refuse: eesp start without test_knobs=1: EPERM "%s", no config' % msg,
          'errno %d msg %r entries %r' % (err, msg, st))


def entries(g, spi):
    """[ESPX_A_STATUS of each espx entry (pending config or SA) with @spi]"""
    out = []
    _, _, msgs = g.talk(g.family, CMD['ESPX_CMD_SA_GET'], NLM_F_REQUEST | NLM_F_DUMP)
    for m in msgs:
        at = nla_parse(m)
        sid = nla_parse(at.get(A['ESPX_A_SA_ID'], b''))
        if struct.unpack('!I', sid.get(ID['ESPX_ID_SPI'], bytes(4))[:4])[0] == spi:
            out.append(struct.unpack('=I', at.get(A['ESPX_A_STATUS'], bytes(4))[:4])[0])
    return out


def refuse_fewer(env):
    """sa.c espx_sa_bind_eesp(): a state sends on the Sub SA counters of the
    bound states of its root key, so it may not have more Sub SAs than they
    have: refused with a message and nothing built (no state, no SA entry,
    its config still pending and usable with a fresh key). With as many or
    fewer it is accepted and sends on their counters (no SN restarts); once
    every state of the key went, more Sub SAs are fine and start above the
    highest SN the key sent."""
    g, d = env.ga, '192.0.2.2'
    k1 = '0x' + bytes(range(0x40, 0x60)).hex()
    k2 = '0x' + bytes(range(0x60, 0x80)).hex()
    pending, bound = 1, 2
    want = 'espx: another SA with this root key, still bound, has fewer Sub SAs: use a fresh key'

    def add(spi, key):
        rc, out = env.run(env.na, state_line('192.0.2.1', d, spi, aead=key), check=False)
        _, st = env.run(env.na, 'xfrm state get src 192.0.2.1 dst %s proto esp spi 0x%x'
                        % (d, spi), check=False)
        return rc, out.strip(), 'spi' in st

    e1 = g.set(d, 0x3010, {'sub_sas': 2})
    rc, out, have = add(0x3010, k1)
    point(not e1[0] and rc == 0 and have, 'refuse fewer: SA sub-sas 2 with root key K added',
          (e1, out))
    e2 = g.set(d, 0x3011, {'sub_sas': 4})
    obj0 = read_or(OBJECTS)
    rc, out, have = add(0x3011, k1)
    obj1 = read_or(OBJECTS)
    st = entries(g, 0x3011)
    point(not e2[0] and rc != 0 and want in out and not have and st == [pending] and
          obj0 == obj1,
          'refuse fewer: sub-sas 4 with K while the sub-sas 2 SA is bound: "%s", no state, '
          'config still pending, espx objects %s -> %s' % (want, obj0, obj1),
          'set %r rc %d out %r state %r entries %r' % (e2, rc, out, have, st))
    rc, out, have = add(0x3011, k2)
    point(rc == 0 and have and entries(g, 0x3011) == [bound],
          'refuse fewer: the same pending config with a fresh root key binds', out)
    # converse: as many or fewer Sub SAs than the bound state of the key
    env.run(env.na, 'xfrm policy add src 192.0.2.1 dst %s proto udp dir out tmpl src '
            '192.0.2.1 dst %s proto esp spi 0x3010 mode transport' % (d, d))
    os.sched_setaffinity(0, {0})
    with env.A:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('192.0.2.1', 4010))
    s.sendto(b'f', (d, 5000))
    s.close()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    e3 = g.set(d, 0x3012, {'sub_sas': 1})
    rc, out, have = add(0x3012, k1)
    subs = g.subs(d, 0x3012)
    seqs = {k: v.get('out_seq') for k, v in subs.items()}
    point(not e3[0] and rc == 0 and have and seqs == {0: 1},
          'refuse fewer: converse, sub-sas 1 with K accepted, sends on the key\'s Sub SA 0 '
          '(out_seq 1 after 1 packet of the sub-sas 2 SA)', (e3, out, subs))
    # every state of K gone: 4 Sub SAs now start above K's highest SN
    env.run(env.na, 'xfrm policy flush\nxfrm state flush')
    err = g.set(d, 0x3013, {'sub_sas': 4})
    for tries in range(1, 51):  # the old states unbind when the xfrm GC runs
        rc, out = env.run(env.na, state_line('192.0.2.1', d, 0x3013, aead=k1), check=False)
        if rc == 0:
            break
        time.sleep(0.2)
    print('# refuse fewer: sub-sas 4 with K bound at try %d' % tries)
    seqs = {k: v.get('out_seq') for k, v in g.subs(d, 0x3013).items()}
    point(not err[0] and rc == 0 and seqs == {0: 1, 1: 1, 2: 1, 3: 1},
          'refuse fewer: with every state of K gone, sub-sas 4 with K accepted, its Sub SAs '
          'start above K\'s highest SN (1)', (err, out, seqs))
    env.run(env.na, 'xfrm state flush')


# ---------------------------------------------------------------- V1 ------
def v1_octets():
    sas, pl = E._sas(), E._payloads()
    return E.wrap(sas['V1'], E.eesp_encode(sas['V1'], pl['V1'], 1)['octets'])


def part_seal(env):
    """A seals V1 (SN 1, Sub SA 0): the EESP octets must be the vector's"""
    err, msg = env.ga.set('192.0.2.2', 0x1001, {})
    point(err == 0, 'seal: EESP config for the sender', msg)
    env.run(env.na, state_line('192.0.2.1', '192.0.2.2', 0x1001) + '\n' +
            'xfrm policy add src 192.0.2.1 dst 192.0.2.2 proto udp dir out '
            'tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode transport')
    env.drain()
    b0 = env.gb.stats()
    with env.A:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('192.0.2.1', 4000))
        s.sendto(b'eesp vector one', ('192.0.2.2', 5000))
        s.close()
    time.sleep(0.3)
    fr = env.eesp_frames()
    want = v1_octets()
    got = fr[0][0] if fr else b''
    point(len(fr) == 1 and got[9] == 254 and got[20:] == want[20:],
          'seal: V1 sealed by the kernel octet for octet (protocol 254, SN 1, Session ID 0)',
          'got  %s\nwant %s' % (got.hex(), want.hex()))
    d = delta(b0, env.gb.stats())
    point(d.get('ns:eesp_no_sa') == 1, 'seal: no SA at the receiver: ns eesp_no_sa +1', d)
    env.run(env.na, 'xfrm state flush\nxfrm policy flush')


def part_deliver(env):
    err, msg = env.gb.set('192.0.2.2', 0x1001, {})
    env.run(env.nb, state_line('192.0.2.1', '192.0.2.2', 0x1001))
    env.received()
    b0 = env.gb.stats()
    env.inject(v1_octets())
    b1 = env.settle(env.gb, b0)
    time.sleep(0.1)
    got = env.received()
    point(err == 0 and len(got) == 1 and got[0][0] == b'eesp vector one' and
          got[0][1][1] == 4000,
          'deliver: the V1 packet injected and delivered to the UDP socket', (err, msg, got))
    d = delta(b0, b1)
    point(d.get('0x1001:in_packets') == 1 and not [k for k in d if 'drop' in k],
          'deliver: counted in-packets, no drop', d)
    env.run(env.nb, 'xfrm state flush')


# ----------------------------------------------------------- variants -----
# base SA of a variant: (eesp attrs or None for a plain ESP SA, state line)
def variant_bases():
    cc = '0x' + bytes(range(32)).hex() + 'a0a1a2a3'
    v4, v6 = ('192.0.2.1', '192.0.2.2'), ('2001:db8::1', '2001:db8::2')
    return {
        'V1': (v4, 0x1001, {}, state_line(*v4, 0x1001)),
        'V1w64': (v4, 0x1001, {'window': 64}, state_line(*v4, 0x1001)),
        'V1plain': (v4, 0x1001, None, state_line(*v4, 0x1001, extra='replay-window 0')),
        'V2': (v6, 0x1002, {'sub_sas': 4}, state_line(*v6, 0x1002, mode='tunnel',
                                                       aead='0x' + bytes(range(32)).hex())),
        'V3': (v4, 0x1003, {'crypt_offset': 8}, state_line(*v4, 0x1003, mode='tunnel')),
        'V3opt': (v4, 0x1003, {}, state_line(*v4, 0x1003, mode='tunnel')),
        'V4': (v6, 0x1004, {'iiv': True},
               state_line(*v6, 0x1004, alg='rfc7539esp(chacha20,poly1305)', aead=cc)),
        'V5': (v6, 0x1005, {'sub_sas': 2, 'sskdf': 1, 'key_bits': 256},
               state_line(*v6, 0x1005, mode='beet', aead='0x' + bytes(range(48)).hex(),
                          sel='sel src 2001:db8:a::1/128 dst 2001:db8:b::1/128')),
    }


def counter_key(name):
    if name == E.NO_SA:
        return 'ns:eesp_no_sa'
    return name.replace('-', '_')


def part_variants(env):
    bases = variant_bases()
    sas, pl = E._variant_sas(), E._payloads()
    crafted = E._crafted(sas, pl)
    pkts = {k: bytes.fromhex(v) for k, v in E.PACKETS.items()}
    preps = {'V1': E.wrap(sas['V1'], E.eesp_encode(sas['V1'], pl['V1'], 1)['octets']),
             'V2': E.wrap(sas['V2'], E.eesp_encode(sas['V2'], pl['V2'], 5, sid=2)['octets']),
             'N14': pkts['N14'], 'N15prep': pkts['N15prep']}
    for vid, (base, prep, want) in sorted(E.VARIANTS.items()):
        (src, dst), spi, eesp, line = bases[base]
        pkt = pkts.get(vid) or crafted[vid]
        env.run(env.nb, 'xfrm state flush')
        if eesp is not None:
            err, msg = env.gb.set(dst, spi, eesp)
            if err:
                point(False, 'variant %s: config: %s' % (vid, msg))
                continue
        env.run(env.nb, line)
        for p in prep:
            b0 = env.gb.stats()
            env.inject(preps[p])
            env.settle(env.gb, b0)
        env.received()
        b0 = env.gb.stats()
        env.inject(pkt)
        b1 = env.settle(env.gb, b0)
        d = delta(b0, b1)
        ins = d.get('0x%x:in_packets' % spi, 0)
        drops = {k: v for k, v in d.items() if 'drop' in k or k.startswith('ns:') or
                 'dummy' in k}
        if want == 'ok':
            ok = ins == 1 and not drops
        elif want == E.DUMMY:
            ok = ins == 0 and drops == {'0x%x:in_eesp_dummy' % spi: 1}
        elif vid == 'N4':
            ok = ins == 0 and drops == {'ns:eesp_truncated': 1}
        else:
            ok = ins == 0 and drops == {'0x%x:%s' % (spi, counter_key(want)): 1}
        point(ok, 'variant %s: %s%s' % (vid, want, '' if want in ('ok', E.DUMMY)
                                         else ', nothing delivered'), d)
        if vid in ('N12', 'N12b', 'N16c'):
            subs = env.gb.subs(dst, spi)
            point(len(subs) == 4 and all(s['in_top'] is None for s in subs.values()),
                  'variant %s: no Sub SA window allocated, 4 Sub SAs only' % vid, subs)
        if vid == 'P16':
            subs = env.gb.subs(dst, spi)
            point(subs.get(0, {}).get('in_top') == 5 and subs.get(2, {}).get('in_top') == 5,
                  'variant P16: SN 5 accepted on Sub SAs 0 and 2', subs)
        if vid == 'N16':
            b0 = b1
            env.inject(pkts['N24'])
            d = delta(b0, env.settle(env.gb, b0))
            point(d.get('0x%x:in_packets' % spi) == 1,
                  'variant N16: window unchanged, the genuine SN 2 accepted afterwards', d)
    env.run(env.nb, 'xfrm state flush')


# --------------------------------------------------------------- echo -----
# ESP Echo (esp-echo.md) on EESP SAs, espx's decision (README, ESP Echo,
# Decisions): the echo message is the payload with PIH Next Header 144, a
# PIH also on an Optimized (tunnel) SA. (label, outer v6, mode, eesp attrs,
# key octets, selector)
ECHO_CASES = [
    ('transport ipv4 sub-sas 2', False, 'transport', {'sub_sas': 2}, 32, ''),
    ('tunnel ipv6 optimized', True, 'tunnel', {}, 20,
     'sel src fd00:a::1/128 dst fd00:b::1/128'),
    ('beet ipv4 iiv', False, 'beet', {'iiv': True}, 20,
     'sel src 10.1.0.1/32 dst 10.2.0.1/32'),
]


def echo_probe(env, cpu, v6, daddr, spi, n=2):
    """espx_genl echo in A on the outbound SA, pinned to @cpu (the timer
    that sends the probes runs there): (rc, output)"""
    ncpu = os.cpu_count() or 1
    os.sched_setaffinity(0, {cpu % ncpu})
    try:
        p = subprocess.run([env.genl, '-n', env.na, 'echo', '--family', '6' if v6 else '4',
                            '--daddr', daddr, '--spi', '0x%x' % spi, '--count', str(n),
                            '--interval', '50', '--size', '100', '--timeout', '3000'],
                           capture_output=True, text=True, timeout=60)
    finally:
        os.sched_setaffinity(0, set(range(ncpu)))
    return p.returncode, p.stdout + p.stderr


def echo_decode(frames, rxs, seen):
    """the captured EESP frames of the SAs in @rxs ({spi: EespRx}) decoded:
    ([(spi, decoded, echo message)], [problems], no (key, nonce) repeated)"""
    import espx_echo as EC
    out, bad, uniq = [], [], True
    for _ip, b, _v6 in frames:
        spi = struct.unpack('!I', b[4:8])[0]
        if spi not in rxs:
            continue
        try:
            r = rxs[spi].decode(b)
        except E.EespDrop as e:
            bad.append('0x%x: %s' % (spi, e.args[0]))
            continue
        uniq &= E.nonce_key_unique(seen, r)
        if not b.startswith(r['aad']) or r['nonce'][4:] != struct.pack('!Q', r['sn']):
            bad.append('0x%x: aad/nonce' % spi)
        m = EC.parse(r['payload']) if r['nh'] == EC.NH_AGGFRAG else None
        if not m or not m['length_ok']:
            bad.append('0x%x: nh %d not an echo message' % (spi, r['nh']))
            continue
        out.append((spi, r, m))
    return out, bad, uniq


def part_echo(env):
    """ESP Echo on EESP SAs: A's initiator probes its outbound SA from two
    CPUs, B answers on the requested SA; every request and reply decoded by
    espx_eesp.py + espx_echo.py, no (key, nonce) repeated; requests crafted
    in Python: tampered (no reply), genuine (a reply), replayed (none), to
    an SA without the echo flag (counted, none)"""
    import espx_echo as EC
    if not env.genl:
        point(False, 'echo: espx_genl not found')
        return
    echo = nla(A['ESPX_A_ECHO'] | NLA_F_NESTED, b'')
    tm = '/proc/sys/kernel/timer_migration'
    old_tm = None
    if os.path.exists(tm):      # the probe timer stays on the CPU it was armed on
        old_tm = open(tm).read().strip()
        open(tm, 'w').write('0')
    ncpu = min(2, os.cpu_count() or 1)
    seen = set()
    try:
        for i, (label, v6, mode, eesp, klen, sel) in enumerate(ECHO_CASES):
            echo_case(env, EC, echo, seen, ncpu, i, label, v6, mode, eesp, klen, sel)
    finally:
        if old_tm is not None:
            open(tm, 'w').write(old_tm)
        env.run(env.na, 'xfrm state flush')
        env.run(env.nb, 'xfrm state flush')


def echo_case(env, EC, echo, seen, ncpu, i, label, v6, mode, eesp, klen, sel):
    a, b = ('2001:db8::1', '2001:db8::2') if v6 else ('192.0.2.1', '192.0.2.2')
    s1, s2, s3 = 0x3101 + 0x10 * i, 0x3102 + 0x10 * i, 0x3103 + 0x10 * i
    k1 = bytes((0x31 + i * 5 + j) & 0xff for j in range(klen))
    k2 = bytes((0x77 + i * 3 + j) & 0xff for j in range(klen))
    # B -> A: the selector the other way round
    sel2 = 'sel src %s dst %s' % (sel.split()[4], sel.split()[2]) if sel else ''
    lines = '\n'.join(state_line(src, dst, spi, mode=mode, aead='0x' + k.hex(), sel=sl)
                      for src, dst, spi, k, sl in ((a, b, s1, k1, sel), (b, a, s2, k2, sel2)))
    errs = [env.ga.set(b, s1, eesp), env.ga.set(a, s2, eesp),
            env.gb.set(b, s1, eesp, echo), env.gb.set(a, s2, eesp)]
    if [e for e in errs if e[0]]:
        point(False, 'echo %s: EESP configs, the echo flag accepted' % label, errs)
        return
    env.run(env.na, lines)
    env.run(env.nb, lines)

    def rx_of(spi, key):
        return E.EespRx(E.EespSA(spi, key, mode=mode, ipv6=v6, sub_sas=eesp.get('sub_sas', 0),
                                 key_bits=None if eesp.get('sub_sas') else (klen - 4) * 8,
                                 iiv=eesp.get('iiv', False)))
    rxs = {s1: rx_of(s1, k1), s2: rx_of(s2, k2)}
    # the kernel's initiator in A from two CPUs, B's responder
    env.drain()
    b0 = env.gb.stats()
    outs = [echo_probe(env, cpu, v6, b, s1) for cpu in range(ncpu)]
    time.sleep(0.3)
    d = delta(b0, env.gb.stats())
    want = 2 * ncpu
    good = all(rc == 0 and '2 sent, 2 received, 0% loss' in o and
               o.count('reply from %s spi 0x%08x ' % (b, s2)) == 2 for rc, o in outs)
    point(good and d.get('0x%x:in_echo_request' % s1) == want and
          d.get('0x%x:out_echo_reply' % s2) == want and
          not [k for k in d if 'drop' in k],
          'echo %s: %d probes from %d CPUs, %d replies on the requested SA 0x%x' %
          (label, want, ncpu, want, s2), (outs, d))
    msgs, bad, uniq = echo_decode(env.eesp_frames(), rxs, seen)
    reqs = [(r, m) for spi, r, m in msgs if spi == s1]
    reps = [(r, m) for spi, r, m in msgs if spi == s2]
    shape = all(m['subtype'] == 2 and m['r'] and m['reply_spi'] == s2 and m['dlen'] == 100 and
                m['data'] == EC.pattern(100) for _, m in reqs) and \
        all(m['subtype'] == 3 and m['r'] and m['reply_spi'] == s2 and m['dlen'] == 100 and
            m['data'] == EC.pattern(100) for _, m in reps) and \
        sorted((m['ident'], m['seq']) for _, m in reqs) == \
        sorted((m['ident'], m['seq']) for _, m in reps)
    point(len(reqs) == want and len(reps) == want and not bad and uniq and shape,
          'echo %s: requests and replies decoded by espx_eesp.py and espx_echo.py '
          '(PIH Next Header 144, sub-types 2/3, R, reply SPI, Data), no (key, nonce) '
          'repeated' % label, (len(reqs), len(reps), bad, uniq, msgs))
    if eesp.get('sub_sas') and ncpu > 1:
        rq = sorted({r['sid'] for r, _ in reqs})
        rp = sorted({r['sid'] for r, _ in reps})
        point(rq == [0, 1] and rp == [0, 1],
              'echo %s: requests sent on Sub SAs 0 and 1 (two CPUs), replies from both' %
              label, (rq, rp))
    # crafted requests: tampered, genuine, replayed
    sa1 = rxs[s1].sa
    sid = 1 if eesp.get('sub_sas') else 0
    msg = EC.message(ident=0x4242 + i, seq=7, reply_spi=s2, data=b'eesp crafted echo')
    pkt = E.wrap(sa1, E.eesp_encode(sa1, msg, 1000, sid=sid, nh=EC.NH_AGGFRAG)['octets'])
    bad_pkt = bytearray(pkt)
    bad_pkt[-20] ^= 0x10
    for desc, p, want_d in (
            ('a tampered request (one ciphertext bit): in_drop_icv, no reply', bytes(bad_pkt),
             {'0x%x:in_drop_icv' % s1: 1}),
            ('a request crafted in Python: answered', pkt,
             {'0x%x:in_echo_request' % s1: 1, '0x%x:out_echo_reply' % s2: 1}),
            ('the same request replayed: in_drop_eesp_replay, no reply', pkt,
             {'0x%x:in_drop_eesp_replay' % s1: 1})):
        env.drain()
        b0 = env.gb.stats()
        env.inject(p)
        time.sleep(0.1)
        d = delta(b0, env.settle(env.gb, b0))
        d = {k: v for k, v in d.items() if 'echo' in k or 'drop' in k}
        # B's replies only (the capture also sees what was injected)
        msgs, bad, uniq = echo_decode(env.eesp_frames(), {s2: rxs[s2]}, seen)
        reps = [m for _spi, _r, m in msgs]
        if 'out_echo_reply' in ''.join(want_d):
            ok = len(reps) == 1 and reps[0]['subtype'] == 3 and \
                reps[0]['ident'] == 0x4242 + i and reps[0]['seq'] == 7 and \
                reps[0]['data'] == b'eesp crafted echo'
        else:
            ok = not reps
        point(d == want_d and ok and not bad and uniq, 'echo %s: %s' % (label, desc),
              (d, msgs, bad, uniq))
    if i:
        return
    # an EESP SA at B without the echo flag: counted, not answered
    err = env.gb.set(b, s3, eesp)
    env.run(env.nb, state_line(a, b, s3, mode=mode, aead='0x' + k1.hex(), sel=sel))
    sa3 = E.EespSA(s3, k1, mode=mode, ipv6=v6, sub_sas=eesp.get('sub_sas', 0))
    msg = EC.message(ident=0x4343, seq=1, reply_spi=s2, data=b'no echo flag')
    pkt = E.wrap(sa3, E.eesp_encode(sa3, msg, 5, nh=EC.NH_AGGFRAG)['octets'])
    env.drain()
    b0 = env.gb.stats()
    env.inject(pkt)
    time.sleep(0.1)
    d = delta(b0, env.settle(env.gb, b0))
    d = {k: v for k, v in d.items() if 'echo' in k or 'drop' in k}
    reps = [f for f in env.eesp_frames() if struct.unpack('!I', f[1][4:8])[0] == s2]
    point(not err[0] and not reps and
          d == {'0x%x:in_echo_request' % s3: 1, '0x%x:in_drop_echo_disabled' % s3: 1},
          'echo %s: a request to an EESP SA without the echo flag: counted '
          'in_drop_echo_disabled, not answered' % label, (err, d, len(reps)))


# ------------------------------------------------------------ traffic -----
def decode_frames(rx, frames, seen):
    """every captured EESP frame through the independent decoder @rx:
    ([(octets, decoded)], [drop reasons], no (key, nonce) pair repeated,
    also against the pairs already in @seen, which gets the new ones)"""
    recs, bad, uniq = [], [], True
    for _ip, b, _v6 in frames:
        try:
            r = rx.decode(b)
        except E.EespDrop as e:
            bad.append(e.args[0])
            continue
        recs.append((b, r))
        uniq &= E.nonce_key_unique(seen, r)
    return recs, bad, uniq


# (label, mode, outer v6?, inner v6?, alg, eesp attrs, key octets)
TRAFFIC = [
    ('transport ipv4 gcm128', 'transport', False, False, 'gcm', {}, 20),
    ('transport ipv6 chacha iiv', 'transport', True, True, 'chacha', {'iiv': True}, 36),
    ('tunnel ipv4 gcm256 optimized', 'tunnel', False, False, 'gcm', {}, 36),
    ('tunnel ipv6 gcm128 crypt-offset 8', 'tunnel', True, True, 'gcm', {'crypt_offset': 8}, 20),
    ('tunnel ipv4-in-ipv6 gcm128 crypt-offset 3 iiv', 'tunnel', True, False, 'gcm',
     {'crypt_offset': 3, 'iiv': True}, 20),
    ('beet ipv4 gcm128 sub-sas 4', 'beet', False, False, 'gcm', {'sub_sas': 4}, 32),
    ('beet ipv6 gcm256 sub-sas 2 hkdf-sha384 key-bits 256', 'beet', True, True, 'gcm',
     {'sub_sas': 2, 'sskdf': 1, 'key_bits': 256}, 48),
    ('transport ipv6 chacha sub-sas 3 hkdf-sha512', 'transport', True, True, 'chacha',
     {'sub_sas': 3, 'sskdf': 2}, 64),
]
KDF = {0: 'hkdf-sha256', 1: 'hkdf-sha384', 2: 'hkdf-sha512'}


def tcp_transfer(env, fam, src, dst, size=65536):
    """A -> B over TCP through the SA: TCP sends clones of its skbs (the
    output path must not keep pointers across skb_cow_data())"""
    import threading
    data = bytes(range(256)) * (size // 256)
    got = bytearray()
    with env.B:
        ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((dst, 6000))
    ls.listen(1)
    ls.settimeout(20)

    def serve():
        try:
            c, _ = ls.accept()
            c.settimeout(20)
            while len(got) < size:
                b = c.recv(65536)
                if not b:
                    break
                got.extend(b)
            c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve)
    t.start()
    ok = False
    try:
        with env.A:
            cs = socket.socket(fam, socket.SOCK_STREAM)
        cs.settimeout(20)
        cs.bind((src, 0))
        cs.connect((dst, 6000))
        cs.sendall(data)
        cs.close()
        ok = True
    except OSError as e:
        print('# tcp: %s' % e)
    t.join(30)
    ls.close()
    return ok and bytes(got) == data


def part_traffic(env):
    seen = set()
    for i, (label, mode, o6, i6, alg, eesp, klen) in enumerate(TRAFFIC):
        spi = 0x2000 + i
        key = bytes((i * 7 + j) & 0xff for j in range(klen))
        osrc, odst = ('2001:db8::1', '2001:db8::2') if o6 else ('192.0.2.1', '192.0.2.2')
        if mode == 'transport':
            isrc, idst = osrc, odst
        else:
            isrc, idst = ('fd00:a::1', 'fd00:b::1') if i6 else ('10.1.0.1', '10.2.0.1')
        plen = 128 if i6 else 32
        sel = ''
        if mode != 'transport':
            # BEET needs it; so does an inter-family tunnel (the selector's
            # family would be the outer one's)
            sel = 'sel src %s/%d dst %s/%d' % (isrc, plen, idst, plen)
        an = 'rfc7539esp(chacha20,poly1305)' if alg == 'chacha' else 'rfc4106(gcm(aes))'
        line = state_line(osrc, odst, spi, mode=mode, alg=an, aead='0x' + key.hex(), sel=sel)
        pol = ''.join('xfrm policy add src %s/%d dst %s/%d proto %s dir out tmpl src %s '
                      'dst %s proto esp mode %s\n' % (isrc, plen, idst, plen, pr, osrc, odst,
                                                      mode) for pr in ('udp', 'tcp')).strip()
        ea, eb = env.ga.set(odst, spi, eesp), env.gb.set(odst, spi, eesp)
        if ea[0] or eb[0]:
            point(False, 'traffic %s: config' % label, (ea, eb))
            continue
        env.run(env.na, line + '\n' + pol)
        # a tunnel/BEET secpath needs an inbound policy to be let in
        env.run(env.nb, line + '\n' + pol.replace('dir out', 'dir in'))
        env.drain()
        env.received()
        sent = []
        fam = socket.AF_INET6 if i6 else socket.AF_INET
        ncpu = min(2, os.cpu_count() or 1)
        for n in range(16):
            cpu = n % ncpu
            os.sched_setaffinity(0, {cpu})
            data = bytes([n]) * (1 + n * 13)
            with env.A:
                s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((isrc, 4000 + n))
            s.sendto(data, (idst, 5000))
            s.close()
            sent.append(data)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        time.sleep(0.5)
        got = [d for d, _ in env.received()]
        point(sorted(got) == sorted(sent), 'traffic %s: 16 datagrams delivered' % label,
              '%d of %d' % (len(got), len(sent)))
        sa = E.EespSA(spi, key, mode=mode, ipv6=o6, alg=alg, sub_sas=eesp.get('sub_sas', 0),
                      sskdf=KDF[eesp.get('sskdf', 0)],
                      key_bits=eesp.get('key_bits') or
                      (None if eesp.get('sub_sas') else (klen - 4) * 8),
                      co=eesp.get('crypt_offset', 0), iiv=eesp.get('iiv', False))
        rx = E.EespRx(sa)
        frames = env.eesp_frames()
        recs, bad, uniq = decode_frames(rx, frames, seen)
        sids = {r['sid'] for _, r in recs}
        # the AAD is the packet from the base header to the first
        # encrypted octet, the nonce salt | IV (explicit or be64(SN))
        bad += ['aad/nonce' for b, r in recs
                if not b.startswith(r['aad']) or r['nonce'][4:] != struct.pack('!Q', r['sn'])]
        point(len(frames) == 16 and not bad and uniq,
              'traffic %s: 16 packets decoded by espx_eesp.py, AAD/nonce/key as the profile, '
              'no (key, nonce) repeated' % label, (len(frames), bad, uniq))
        if i in (0, 3):
            point(tcp_transfer(env, fam, isrc, idst),
                  'traffic %s: a 64 KiB TCP transfer (cloned skbs) delivered' % label)
            env.drain()
        if eesp.get('sub_sas') and ncpu > 1:
            subs = env.ga.subs(odst, spi)
            outp = {k: v.get('out_packets', 0) for k, v in subs.items()}
            point(sids == {0, 1} and outp.get(0) == 8 and outp.get(1) == 8,
                  'traffic %s: two CPUs sent on Sub SAs 0 and 1 (8 packets each)' % label,
                  (sids, outp))
            subs = env.gb.subs(odst, spi)
            inp = {k: v.get('in_packets', 0) for k, v in subs.items()}
            point(inp.get(0) == 8 and inp.get(1) == 8 and
                  all(v['in_top'] is None for k, v in subs.items() if k > 1),
                  'traffic %s: receiver windows for Sub SAs 0 and 1 only' % label, subs)
        if mode == 'tunnel' and not o6:
            migrate_check(env, rx, seen, label, (osrc, odst), (isrc, idst, fam))
        if eesp.get('sub_sas') == 4:
            readd_check(env, rx, seen, line, label, (osrc, odst, spi), eesp, (isrc, idst, fam))
            spi2 = spi + 0x100
            line2 = line.replace(' spi 0x%x ' % spi, ' spi 0x%x ' % spi2)
            rx2 = E.EespRx(E.EespSA(spi2, key, mode=mode, ipv6=o6, alg=alg, sub_sas=4,
                                    sskdf=KDF[eesp.get('sskdf', 0)],
                                    key_bits=eesp.get('key_bits'),
                                    co=eesp.get('crypt_offset', 0),
                                    iiv=eesp.get('iiv', False)))
            other_spi_check(env, rx2, seen, (line, line2), label, (osrc, odst, spi, spi2),
                            eesp, (isrc, idst, fam))
        env.run(env.na, 'xfrm state flush\nxfrm policy flush')
        env.run(env.nb, 'xfrm state flush\nxfrm policy flush')


def migrate_check(env, rx, seen, label, outer, flow):
    """XFRM_MSG_MIGRATE of A's SA (to the same addresses: the kernel clones
    it and deletes the old one) while two CPUs send: the clone must go on
    with the old state's Sub SA SNs, so no (key, nonce) comes twice."""
    import re
    import threading
    (osrc, odst), (isrc, idst, fam) = outer, flow
    env.drain()
    env.received()
    ncpu = min(2, os.cpu_count() or 1)
    socks = []
    for cpu in range(ncpu):
        with env.A:
            s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((isrc, 4200 + cpu))
        socks.append(s)
    # XFRM_MSG_MIGRATE names a policy by its addresses (6.12 finds none of
    # the proto udp/tcp ones): one for any protocol, as an IKE daemon has
    env.run(env.na, 'xfrm policy add src %s/32 dst %s/32 dir out priority 10 tmpl src %s '
            'dst %s proto esp mode tunnel' % (isrc, idst, osrc, odst))
    stop, sent = threading.Event(), [0] * ncpu

    def sender(cpu):
        os.sched_setaffinity(0, {cpu})
        while not stop.is_set():
            socks[cpu].sendto(b'm' * 24, (idst, 5000))
            sent[cpu] += 1
            time.sleep(0.01)
    th = [threading.Thread(target=sender, args=(c,)) for c in range(ncpu)]
    for t in th:
        t.start()
    time.sleep(0.3)
    with env.A:
        p = subprocess.run([sys.executable, '-S', os.path.join(HERE, 'xfrm_migrate.py'),
                            '--dir', 'out', '--sel-src', isrc + '/32', '--sel-dst', idst + '/32',
                            '--old', '%s,%s' % (osrc, odst), '--new', '%s,%s' % (osrc, odst)],
                           capture_output=True, text=True)
    time.sleep(0.3)
    stop.set()
    for t in th:
        t.join()
    for s in socks:
        s.close()
    time.sleep(0.3)
    frames = env.eesp_frames()
    env.received()
    recs, bad, uniq = decode_frames(rx, frames, seen)
    sids = {r['sid'] for _, r in recs}
    _, st = env.run(env.na, 'xfrm state list', check=False)
    # states only: the patched ip also lists pending espx configs (no reqid)
    nst = len(re.findall(r'^\s+proto esp spi \S+ reqid ', st, re.M))
    point(p.stdout.strip() == 'ok' and nst == 1 and len(frames) >= 10 and not bad and uniq,
          'traffic %s: A\'s SA MIGRATEd while two CPUs send: every packet decoded, '
          'no (key, nonce) repeated' % label,
          (p.stdout + p.stderr, nst, sent, len(frames), bad, uniq, sids, st))


def readd_check(env, rx, seen, line, label, sa_id, eesp, flow):
    """A's state deleted and created again with the same root key (what
    ip xfrm state deleteall; add with a fixed key does): its Sub SAs must go
    on above every SN sent under that key, so no (key, nonce) comes twice."""
    osrc, odst, spi = sa_id
    env.run(env.na, 'xfrm state delete src %s dst %s proto esp spi 0x%x' % (osrc, odst, spi))
    err = (1, 'not tried')
    for _ in range(50):		# the old state unbinds when the xfrm GC runs
        err = env.ga.set(odst, spi, eesp)
        if not err[0]:
            break
        time.sleep(0.1)
    env.run(env.na, line)
    got, nf, bad, uniq, sns = send_decode(env, rx, seen, flow, 4100)
    point(not err[0] and nf == 8 and not bad and uniq and got == 8,
          "traffic %s: A's SA deleted and re-created with the same root key: 8 more "
          'packets delivered, no (key, nonce) repeated' % label,
          (err, nf, bad, uniq, got, sns))


def send_decode(env, rx, seen, flow, port):
    """8 datagrams from two CPUs; (delivered, frames, undecodable, unique, SNs)"""
    isrc, idst, fam = flow
    env.drain()
    env.received()
    ncpu = min(2, os.cpu_count() or 1)
    for n in range(8):
        os.sched_setaffinity(0, {n % ncpu})
        with env.A:
            s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((isrc, port + n))
        s.sendto(b'o' * (n + 1), (idst, 5000))
        s.close()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    time.sleep(0.5)
    got = env.received()
    frames = env.eesp_frames()
    recs, bad, uniq = decode_frames(rx, frames, seen)
    return len(got), len(frames), bad, uniq, sorted((r['sid'], r['sn']) for _, r in recs)


def other_spi_check(env, rx2, seen, lines, label, ids, eesp, flow):
    """A's SA deleted and at once replaced by one with another SPI and the
    same root key, the old state maybe not destroyed yet (the xfrm GC runs
    later): the new one sends on the key's Sub SA counters, no SN again."""
    (_, line2), (osrc, odst, spi, spi2) = lines, ids
    ea, eb = env.ga.set(odst, spi2, eesp), env.gb.set(odst, spi2, eesp)
    env.run(env.nb, line2)
    env.run(env.na, 'xfrm state delete src %s dst %s proto esp spi 0x%x\n%s' %
            (osrc, odst, spi, line2))
    got, nf, bad, uniq, sns = send_decode(env, rx2, seen, flow, 4300)
    point(not ea[0] and not eb[0] and got == 8 and nf == 8 and not bad and uniq,
          "traffic %s: A's SA replaced at once by another SPI with the same root key: "
          '8 packets delivered, no (key, nonce) repeated' % label,
          (ea, eb, got, nf, bad, uniq, sns))


# ------------------------------------------------------------- limits -----
XFRM_MSG_EXPIRE, XFRMNLGRP_EXPIRE = 0x18, 2
USERSA_INFO_LEN = 224       # struct xfrm_usersa_info on x86_64


class Expires:
    """XFRM_MSG_EXPIRE messages of one namespace: (spi, hard)"""

    def __init__(self, ns):
        with ns:
            self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 6)
        self.s.bind((0, 1 << (XFRMNLGRP_EXPIRE - 1)))
        self.s.setblocking(False)
        self.got = []

    def poll(self, spi, want=0, timeout=0.3):
        """[hard] of the expires of @spi so far, once there are @want of
        them, else after @timeout"""
        end = time.time() + timeout
        while True:
            while True:
                try:
                    data = self.s.recv(65536)
                except BlockingIOError:
                    break
                off = 0
                while off + 16 <= len(data):
                    ln, t = struct.unpack_from('=IH', data, off)
                    if ln < 16:
                        break
                    if t == XFRM_MSG_EXPIRE and ln >= 16 + USERSA_INFO_LEN + 1:
                        spi_, = struct.unpack_from('!I', data, off + 16 + 72)
                        self.got.append((spi_, data[off + 16 + USERSA_INFO_LEN]))
                    off += (ln + 3) & ~3
            mine = [h for s_, h in self.got if s_ == spi]
            if (want and len(mine) >= want) or time.time() >= end:
                return mine
            time.sleep(0.02)

    def close(self):
        self.s.close()


def xfrm_stat(ns, name):
    with ns:
        for line in open('/proc/thread-self/net/xfrm_stat'):
            f = line.split()
            if f and f[0] == name:
                return int(f[1])
    return None


def limits_sa(env, spi, start, key):
    """an EESP SA sub-sas 2 from A to B; A's Sub SAs send after @start
    (test knob), B's is an ordinary receiver. Its decoder, or None."""
    d = '192.0.2.2'
    ea = env.ga.set(d, spi, {'sub_sas': 2, 'start': start})
    eb = env.gb.set(d, spi, {'sub_sas': 2})
    if ea[0] or eb[0]:
        point(False, 'limits: config of SA 0x%x' % spi, (ea, eb))
        return None
    line = state_line('192.0.2.1', d, spi, aead='0x' + key.hex())
    env.run(env.na, line + '\nxfrm policy add src 192.0.2.1 dst %s proto udp dir out tmpl '
            'src 192.0.2.1 dst %s proto esp spi 0x%x mode transport' % (d, d, spi))
    env.run(env.nb, line)
    return E.EespRx(E.EespSA(spi, key, mode='transport', ipv6=False, alg='gcm', sub_sas=2,
                             sskdf='hkdf-sha256', key_bits=None))


def limits_send(env, cpu, n, port):
    """@n datagrams from CPU @cpu (Sub SA @cpu); how many sendto() took"""
    ok = 0
    os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
    with env.A:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('192.0.2.1', port))
    for i in range(n):
        try:
            s.sendto(b'L' * (8 + i), ('192.0.2.2', 5000))
            ok += 1
        except OSError:
            pass
    s.close()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return ok


def limits_frames(env, rx, seen):
    """[(sid, sn)] of the EESP frames captured since the last call, every
    one decoded; undecodable ones as ('bad', reason); uniqueness of (key,
    nonce) against @seen"""
    time.sleep(0.3)
    recs, bad, uniq = decode_frames(rx, env.eesp_frames(), seen)
    return [(r['sid'], r['sn']) for _, r in recs] + [('bad', b) for b in bad], uniq


def part_limits(env):
    """eesp.md §6 limits, with the test knob ESPX_EESP_START (test_knobs=1):
    the first SN at 2^63 raises one soft expire for the whole SA; a Sub SA
    sends up to 2^64 - 1, then its next packet is dropped
    (out-drop-eesp-exhausted, XfrmOutStateProtoError) and the SA
    hard-expires: no SN 0, no SN again, and its other Sub SAs stop too."""
    if read_or(KNOBS) != 'Y':
        point(False, 'limits: espx loaded with test_knobs=1', read_or(KNOBS))
        return
    seen = set()
    if os.cpu_count() < 2:
        print('# limits: one CPU: Sub SA 1 is not reached')
    # -- soft expire at 2^63 --
    spi, s63 = 0x5001, 1 << 63
    rx = limits_sa(env, spi, s63 - 2, bytes(range(0x90, 0xb0)))
    if not rx:
        return
    mon = Expires(env.A)
    env.drain()
    env.received()
    limits_send(env, 0, 1, 4500)
    fr1, u1 = limits_frames(env, rx, seen)
    exp1 = mon.poll(spi)
    limits_send(env, 0, 1, 4501)
    fr2, u2 = limits_frames(env, rx, seen)
    exp2 = mon.poll(spi, 1, 2.0)
    point(fr1 == [(0, s63 - 1)] and exp1 == [] and fr2 == [(0, s63)] and exp2 == [0],
          'limits: start 2^63 - 2: SN 2^63 - 1 without an expire, SN 2^63 raises one soft '
          'expire (XFRM_MSG_EXPIRE hard 0)', (fr1, exp1, fr2, exp2))
    limits_send(env, 0, 2, 4502)
    limits_send(env, 1, 2, 4503)
    fr3, u3 = limits_frames(env, rx, seen)
    exp3 = mon.poll(spi, 2, 0.5)
    got = len(env.received())
    subs = env.ga.subs('192.0.2.2', spi)
    seqs = {k: v.get('out_seq') for k, v in subs.items()}
    point(fr3 == [(0, s63 + 1), (0, s63 + 2), (1, s63 - 1), (1, s63)] and exp3 == [0] and
          got == 6 and u1 and u2 and u3 and seqs == {0: s63 + 2, 1: s63},
          'limits: the SA sends on past 2^63 on both Sub SAs, Sub SA 1 crossing 2^63 raises '
          'no second expire (soft expire is per SA), 6 delivered, no (key, nonce) repeated',
          (fr3, exp3, got, u1, u2, u3, seqs))
    mon.close()
    env.run(env.na, 'xfrm state flush\nxfrm policy flush')
    env.run(env.nb, 'xfrm state flush')
    # -- hard stop after 2^64 - 1 --
    spi, top = 0x5002, (1 << 64) - 1
    rx = limits_sa(env, spi, top - 2, bytes(range(0xb0, 0xd0)))
    if not rx:
        return
    mon = Expires(env.A)
    env.drain()
    env.received()
    limits_send(env, 1, 1, 4510)
    limits_send(env, 0, 2, 4511)
    fr1, u1 = limits_frames(env, rx, seen)
    exp1 = mon.poll(spi, 1, 0.5)
    p0 = xfrm_stat(env.A, 'XfrmOutStateProtoError')
    limits_send(env, 0, 1, 4512)
    p1 = xfrm_stat(env.A, 'XfrmOutStateProtoError')
    exp2 = mon.poll(spi, 2, 3.0)
    fr2, u2 = limits_frames(env, rx, seen)
    point(fr1 == [(1, top - 1), (0, top - 1), (0, top)] and exp1 == [0] and u1,
          'limits: start 2^64 - 3: Sub SA 1 sends 2^64 - 2, Sub SA 0 sends 2^64 - 2 and '
          '2^64 - 1 (the last SN), one soft expire', (fr1, exp1, u1))
    point(fr2 == [] and p1 is not None and p1 - p0 == 1 and exp2 == [0, 1],
          'limits: Sub SA 0\'s next packet dropped (XfrmOutStateProtoError +1), nothing on '
          'the wire, the SA hard-expires (XFRM_MSG_EXPIRE hard 1, once)',
          (fr2, p0, p1, exp2))
    limits_send(env, 1, 2, 4513)
    limits_send(env, 0, 2, 4514)
    fr3, u3 = limits_frames(env, rx, seen)
    time.sleep(0.5)
    exp3 = mon.poll(spi)
    got = len(env.received())
    _, st = env.run(env.na, 'xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x%x'
                    % spi, check=False)
    point(fr3 == [] and exp3 == [0, 1] and got == 3 and 'spi' not in st and u2 and u3,
          'limits: after the hard expire Sub SA 1 (2 SNs left) and Sub SA 0 send nothing: '
          'no SN 0, no SN again (the expiry is per SA), 3 delivered in all, the SA is gone',
          (fr3, exp3, got, st))
    mon.close()
    env.run(env.na, 'xfrm state flush\nxfrm policy flush')
    env.run(env.nb, 'xfrm state flush')


# ---------------------------------------------------------- patched ip ----
def part_ip(env):
    """the eesp keywords of the patched ip: config, listing, -s per Sub SA"""
    import json
    rc, out = env.run(env.na, 'xfrm state help', check=False)
    if 'eesp' not in out:
        print('# ip without the eesp keywords: part skipped')
        return
    root = '0x' + bytes(range(32)).hex()
    line = ("xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x4001 mode transport "
            "aead 'rfc4106(gcm(aes))' %s 128 replay-window 0 extra-flag oseq-may-wrap "
            "eesp sub-sas 2 sskdf hkdf-sha256 key-bits 128 window 128" % root)
    pol = ('xfrm policy add src 192.0.2.1 dst 192.0.2.2 proto udp dir out '
           'tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode transport')
    rc, out = env.run(env.na, line + '\n' + pol, check=False)
    point(rc == 0, 'ip: state add ... eesp sub-sas 2 sskdf hkdf-sha256 key-bits 128 window 128',
          out)
    rc, out = env.run(env.na, 'xfrm state list', check=False)
    point('eesp sub-sas 2 sskdf hkdf-sha256 key-bits 128 window 128' in out,
          'ip: the espx line shows the EESP parameters', out)
    with env.A:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('192.0.2.1', 4100))
    for cpu in (0, 1):
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
        s.sendto(b'x', ('192.0.2.2', 5000))
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    s.close()
    p = subprocess.run([env.ip, '-n', env.na, '-s', '-j', 'xfrm', 'state', 'list'],
                       capture_output=True, text=True)
    try:
        e = json.loads(p.stdout)[0]['espx']['eesp']
        rows = e.get('per_sub_sa', [])
        ok = (e['sub_sas'] == 2 and e['window'] == 128 and len(rows) == 2 and
              sum(r['out_packets'] for r in rows) == 2)
    except (ValueError, KeyError, IndexError, TypeError) as x:
        ok, e = False, '%r: %s' % (x, p.stdout[:400])
    point(ok, 'ip -s -j: eesp object with one row per Sub SA, 2 packets sent', e)
    rc, out = env.run(env.na, 'xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi '
                      '0x4002 mode transport aead \'rfc4106(gcm(aes))\' %s 128 '
                      'eesp sub-sas 0' % root, check=False)
    point(rc != 0 and 'sub-sas' in out, 'ip: eesp sub-sas 0 refused by ip', out)
    env.run(env.na, 'xfrm state flush\nxfrm policy flush')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--a', required=True)
    ap.add_argument('--b', required=True)
    ap.add_argument('--ip', default='ip')
    ap.add_argument('--genl', default='', help='espx_genl (part echo)')
    ap.add_argument('--only', default='refuse,seal,deliver,variants,echo,traffic,ip')
    ap.add_argument('--no-setup', action='store_true',
                    help='the namespaces are set up already (a second run)')
    a = ap.parse_args()
    env = Env(a)
    for part in a.only.split(','):
        t0 = time.time()
        try:
            globals()['part_' + part](env)
        except Exception as e:      # a broken part is a failed point, not a crash
            import traceback
            point(False, 'part %s ran to its end' % part, traceback.format_exc())
            del e
        print('# part %s: %.1f s' % (part, time.time() - t0), flush=True)
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
