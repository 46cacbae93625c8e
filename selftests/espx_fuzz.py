#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""espx_fuzz: seeded, bounded fuzzers of espx in the test VM (issue 14 section 3).

  rx   receive path: valid ESP / WESPv2 / Diet-ESP frames of live SAs, mutated
       and injected through a veth (AF_PACKET), see cmd_rx
  nl   netlink: random and mutated espx genl messages interleaved with xfrm
       requests from several processes and namespaces, see cmd_nl
  flood  UDP traffic for churn.sh, see cmd_flood

Same seed, same SAs: same packets / messages. Run as root in the receiving
namespace (rx) or anywhere (nl); standard library only (python3 -S works).
"""
import argparse
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import espx_py.frames as F     # noqa: E402  (frame parsing)
import espx_py.netlink as NL   # noqa: E402  (counters, EspxGenl)

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
PROTO_NAME = {50: 'esp', 141: 'wesp', 253: 'diet'}


def in_netns(name, fn):
    """fn() run with the network namespace NAME (sockets keep it)"""
    return NL.in_netns(name if name.startswith('/') else '/var/run/netns/' + name, fn)


# ------------------------------------------------------------ building ----
def ip4(src, dst, proto, payload, opts=b'', ident=0, frag=0, tos=0, ttl=64, tlen=None):
    ihl = 5 + len(opts) // 4
    tl = 20 + len(opts) + len(payload) if tlen is None else tlen
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, tos, tl & 0xffff, ident, frag, ttl,
                    proto, 0, src, dst) + opts
    return h[:10] + struct.pack('!H', F.csum(h)) + h[12:] + payload


def ext6(chain, nh):
    """IPv6 extension headers: chain = [(type, body)]; an options header's
    body is 6, 14, 22... octets, a fragment header's 6"""
    out = b''
    for i in range(len(chain) - 1, -1, -1):
        t, body = chain[i]
        nxt = chain[i + 1][0] if i + 1 < len(chain) else nh
        hl = 0 if t == 44 else (len(body) + 2) // 8 - 1
        out = struct.pack('!BB', nxt, hl) + body + out
    return out


def opts_body(n):
    """n (6, 14, 22) octets of options a receiver skips: Linux refuses more
    than 7 octets of padding in a row, so an unknown option of action
    "skip" (type 0x1e) carries the rest, then a PadN"""
    if n <= 7:
        return b'\x01' + bytes([n - 2]) + bytes(n - 2)
    return b'\x1e' + bytes([n - 4]) + bytes(n - 4) + b'\x01\x00'


def ip6(src, dst, nh, payload, exts=(), hlim=64, flow=0, plen=None):
    e = ext6(list(exts), nh) if exts else b''
    first = exts[0][0] if exts else nh
    pl = len(e) + len(payload) if plen is None else plen
    return struct.pack('!IHBB16s16s', 0x60000000 | flow, pl & 0xffff, first, hlim,
                       src, dst) + e + payload


def icmp_msg(fam, src, dst, typ, code, rest, quoted):
    if fam == 4:
        m = struct.pack('!BBH', typ, code, 0) + rest + quoted
        m = m[:2] + struct.pack('!H', F.csum(m)) + m[4:]
        return ip4(src, dst, 1, m)
    m = struct.pack('!BBH', typ, code, 0) + rest + quoted
    ph = src + dst + struct.pack('!I3xB', len(m), 58)
    m = m[:2] + struct.pack('!H', F.csum(ph + m)) + m[4:]
    return ip6(src, dst, 58, m)


class Base:
    """One captured valid frame, split into the parts the mutators rebuild."""

    def __init__(self, frame, eth):
        e = F.Esp(frame)
        self.eth, self.fam = eth, e.family
        fr = bytes(frame)
        if e.family == 4:
            ihl = (fr[14] & 0xf) * 4
            self.src, self.dst = fr[26:30], fr[30:34]
            self.proto, self.l4 = fr[23], fr[14 + ihl:]
            self.ident = struct.unpack('!H', fr[18:20])[0]
        else:
            self.src, self.dst = fr[22:38], fr[38:54]
            self.proto, self.l4 = fr[20], fr[54:]
            self.ident = 0
        self.spi_off = None if e.off is None else e.off - e.l4
        self.eth = eth + (b'\x08\x00' if e.family == 4 else b'\x86\xdd')

    def build(self, l4=None, proto=None, **kw):
        l4 = self.l4 if l4 is None else l4
        proto = self.proto if proto is None else proto
        if self.fam == 4:
            return self.eth + ip4(self.src, self.dst, proto, l4, ident=self.ident, **kw)
        return self.eth + ip6(self.src, self.dst, proto, l4, **kw)


def flip(b, rng, lo, n):
    b = bytearray(b)
    if len(b) <= lo:
        return bytes(b)
    for _ in range(n):
        i = rng.randrange(lo, len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def mutate(b, rng):
    """1-8 bit flips (never none: a bit flipped twice is flipped once more)"""
    out = flip(b, rng, 0, rng.choice((1, 1, 2, 3, 8)))
    while out == b and b:
        out = flip(b, rng, 0, 1)
    return out


def fragments(base, l4, rng, exts=()):
    """the IP packet carrying l4 as 2-4 fragments (non-overlapping, random order)"""
    n = rng.randint(2, 4)
    cuts = sorted(set((rng.randrange(8, max(9, len(l4))) // 8) * 8 for _ in range(n - 1)))
    cuts = [c for c in cuts if 0 < c < len(l4)] or [8 if len(l4) > 8 else 0]
    if cuts == [0]:
        return [base.build(l4)]
    bounds = [0] + cuts + [len(l4)]
    ident = rng.getrandbits(32)
    out = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        mf = 1 if b < len(l4) else 0
        if base.fam == 4:
            out.append(base.eth + ip4(base.src, base.dst, base.proto, l4[a:b],
                                      ident=ident & 0xffff, frag=(a // 8) | (mf << 13)))
        else:
            fh = (44, struct.pack('!HI', (a // 8) << 3 | mf, ident))
            out.append(base.eth + ip6(base.src, base.dst, base.proto, l4[a:b],
                                      exts=list(exts) + [fh]))
    rng.shuffle(out)
    return out


def ip_options(rng):
    """IPv4 options a receiver accepts: NOPs, then EOL padding"""
    n = rng.randint(1, 10) * 4
    k = rng.randrange(n)
    return b'\x01' * k + b'\x00' * (n - k)


def exts6(rng, frag=True):
    """1-3 IPv6 extension headers before the ESP header (PadN options only,
    an atomic fragment header)"""
    out = []
    if rng.random() < 0.5:
        out.append((0, opts_body(rng.choice((6, 14, 22)))))       # hop-by-hop
    for _ in range(rng.randint(1, 2)):
        out.append((60, opts_body(rng.choice((6, 14, 30)))))      # destination options
    if frag and rng.random() < 0.3:
        out.append((44, struct.pack('!HI', 0, rng.getrandbits(32))))   # atomic fragment
    return out


# ------------------------------------------------------------ the fuzzer --
# Operations: DELIVER ones leave the ESP octets intact (a fresh frame is then
# delivered, a used one is a replay); the others change what the ICV covers,
# the lengths or the headers (a drop, whatever frame they use).
OPS = (('valid', 3), ('flip', 24), ('outer', 6), ('trunc', 12), ('truncraw', 5),
       ('len', 8), ('ext', 8), ('frag', 8), ('icmp', 8), ('proto', 5), ('sn', 5),
       ('spi', 4), ('replay', 4))


class RxFuzz:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.pools = {}         # proto -> [Base]
        self.cursor = {}        # proto -> index of the next fresh frame
        self.used = {}          # proto -> frames sent intact (delivered once)
        self.expect = 0         # datagrams the sink must get
        self.units = 0
        self.frames = 0
        self.ops = {}
        self.sent_tags = set()
        self.got = {}
        self.tap_n = 0
        self.tap = None
        self.t_gen = self.t_send = 0.0
        self.inj = in_netns(a.inject_ns, lambda: self.packet_sock(0))
        self.sinks = []
        for port in set(c[2] for c in a.cases):
            for fam, any_ in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
                s = socket.socket(fam, socket.SOCK_DGRAM)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
                s.bind((any_, port))
                s.setblocking(False)
                self.sinks.append(s)

    def packet_sock(self, proto=ETH_P_ALL):
        """an AF_PACKET socket on the device (proto 0: sends only)"""
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        if proto:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        s.bind((self.a.dev, proto))
        return s

    def drain(self):
        for s in self.sinks:
            while True:
                try:
                    d = s.recv(65535)
                except OSError:
                    break
                self.got[d] = self.got.get(d, 0) + 1
        if self.tap:
            while True:
                try:
                    self.tap.recv(65535, socket.MSG_DONTWAIT)
                    self.tap_n += 1
                except OSError:
                    break

    # -- the pool: valid frames the receiver has not seen yet -------------
    def make_pool(self):
        a = self.a
        mac = open('/sys/class/net/%s/address' % a.dev).read().strip()
        eth = bytes.fromhex(mac.replace(':', '')) + bytes.fromhex(a.src_mac.replace(':', ''))
        # A sends to a MAC that is not B's: B drops the frames as
        # PACKET_OTHERHOST before any counter; we keep them for later
        subprocess.run(['ip', 'link', 'set', a.dev, 'address', '02:00:00:00:00:fe'], check=True)
        cap = in_netns(a.inject_ns, self.packet_sock)
        try:
            send = {}
            for fam in (socket.AF_INET, socket.AF_INET6):
                send[fam] = in_netns(a.inject_ns, lambda: socket.socket(fam, socket.SOCK_DGRAM))
            raw = []
            for ci, (dst, fam, port) in enumerate(a.cases):
                s = send[socket.AF_INET6 if fam == 6 else socket.AF_INET]
                for i in range(a.pool):
                    tag = b'fz %d %d ' % (ci, i)
                    tag += b'.' * self.rng.randrange(0, 120)
                    self.sent_tags.add(tag)
                    s.sendto(tag, (dst, port))
                    if i % 32 == 31:
                        raw += self._capture(cap, 0.0)
                raw += self._capture(cap, 0.0)
            end = time.time() + 3
            want = a.pool * len(a.cases)
            while len(raw) < want and time.time() < end:
                raw += self._capture(cap, 0.2)
        finally:
            subprocess.run(['ip', 'link', 'set', a.dev, 'address', mac], check=True)
            cap.close()
        for fr in raw:
            b = Base(fr, eth)
            self.pools.setdefault(b.proto, []).append(b)
        for p in self.pools:
            self.cursor[p] = 0
            self.used[p] = []
        return len(raw)

    @staticmethod
    def _capture(s, wait):
        out = []
        while True:
            r = select.select([s], [], [], wait)[0]
            if not r:
                return out
            fr, addr = s.recvfrom(65535)
            wait = 0.0
            if addr[2] != PACKET_OUTGOING or len(fr) < 34:
                continue
            e = F.Esp(fr)
            proto = fr[23] if e.family == 4 else fr[20] if e.family == 6 else 0
            if proto in PROTO_NAME:
                out.append(fr)

    # -- one operation ------------------------------------------------------
    def fresh(self, p):
        """the next frame the receiver has not seen (None when all are used)"""
        c = self.cursor[p]
        if c < len(self.pools[p]):
            self.cursor[p] = c + 1
            return self.pools[p][c]
        return None

    def sent_intact(self, p, b):
        self.used[p].append(b)
        self.expect += 1

    def any_used(self, p):
        """a frame sent intact before (a replay); the callers make sure
        there is one"""
        return self.rng.choice(self.used[p])

    def target(self, p):
        """a frame for an ICV-breaking op: mostly a fresh one ahead of the
        window (it then reaches the decryption), else a used one"""
        c, pool = self.cursor[p], self.pools[p]
        if c < len(pool) and (self.rng.random() < 0.75 or not self.used[p]):
            return pool[min(len(pool) - 1, c + self.rng.randrange(16))]
        return self.any_used(p) if self.used[p] else pool[-1]

    def op(self, p, name):
        rng = self.rng
        if name in ('valid', 'ext', 'frag') or (name == 'outer' and rng.random() < 0.5):
            # the ESP octets intact: a fresh frame is delivered (once), a
            # used one is a replay; 'ext' and 'frag' also carry mutated ones
            # (a replay needs a frame sent before)
            fb = self.fresh(p) if rng.random() < 0.8 or not self.used[p] else None
            b = fb or self.any_used(p)
            l4 = b.l4
            if name in ('ext', 'frag') and rng.random() < 0.3:
                l4 = mutate(l4, rng)
            elif fb is not None:
                self.sent_intact(p, fb)
            if name == 'valid':
                return [b.build(l4)]
            if name == 'ext':
                if b.fam == 4:
                    return [b.build(l4, opts=ip_options(rng))]
                return [b.build(l4, exts=exts6(rng))]
            if name == 'outer':
                # fields no ICV covers and the receiver accepts
                if b.fam == 4:
                    return [b.build(l4, ttl=rng.randint(1, 255))]
                return [b.build(l4, hlim=rng.randint(0, 255), flow=rng.getrandbits(20))]
            return fragments(b, l4, rng, exts6(rng, False) if b.fam == 6 and rng.random() < 0.3 else ())
        b = self.target(p)
        l4 = b.l4
        if name == 'outer':     # a broken outer header: checksum or version
            fr = bytearray(b.build())
            if b.fam == 4:      # one bit: the checksum cannot match
                fr[14 + rng.randrange(20)] ^= 1 << rng.randrange(8)
            else:
                fr[14] = (fr[14] & 0x0f) | rng.choice((0x40, 0x70, 0xe0, 0x00))
            return [bytes(fr)]
        if name == 'flip':
            return [b.build(mutate(l4, rng))]
        if name == 'trunc':
            return [b.build(l4[:self.units % max(1, len(l4))])]
        if name == 'truncraw':
            fr = b.build()
            return [fr[:15 + self.units % max(1, len(fr) - 15)]]
        if name == 'len':
            fr = bytearray(b.build())
            if rng.randrange(3) == 0 or p not in (141, 253):
                pos = 16 if b.fam == 4 else 18
                good = len(fr) - 14 - (0 if b.fam == 4 else 40)
                v = rng.choice((0, 1, 8, 19, 20, 39, 40, good - 1, good + 1, good - 8,
                                0xffff, rng.getrandbits(16)))
                if v == good:
                    v += 1
                fr[pos:pos + 2] = struct.pack('!H', v & 0xffff)
                if b.fam == 4:
                    fr[24:26] = b'\0\0'
                    fr[24:26] = struct.pack('!H', F.csum(bytes(fr[14:34])))
            else:       # the WESPv2 / Diet header's first octets (HdrLen, OptLen, EEC)
                pos = len(fr) - len(l4) + rng.randrange(min(4, len(l4)))
                v = rng.choice((0, 1, 3, 4, 8, 12, 63, 64, 0xff, rng.getrandbits(8)))
                fr[pos] = v if v != fr[pos] else v ^ 1
            return [bytes(fr)]
        if name == 'proto':
            return [b.build(proto=rng.choice([x for x in PROTO_NAME if x != p]))]
        if name == 'sn' and b.spi_off is not None and len(l4) >= b.spi_off + 8:
            o = b.spi_off + 4
            sn = struct.unpack('!I', l4[o:o + 4])[0]
            v = rng.choice((0, 1, 0xffffffff, 0x7fffffff, sn + 1, sn - 1, sn + 32,
                            sn + (1 << 31), rng.getrandbits(32))) & 0xffffffff
            v = v if v != sn else v ^ 1
            return [b.build(l4[:o] + struct.pack('!I', v) + l4[o + 4:])]
        if name in ('spi', 'sn') and b.spi_off is not None and len(l4) >= b.spi_off + 4:
            o = b.spi_off
            spi = struct.unpack('!I', l4[o:o + 4])[0]
            v = rng.choice((0, 1, 255, spi ^ 0x3000, spi ^ 1, rng.getrandbits(32)))
            v = v if v != spi else v ^ 2
            return [b.build(l4[:o] + struct.pack('!I', v) + l4[o + 4:])]
        if name == 'icmp':
            # an error about a packet B sent to A (quoted: addresses swapped,
            # the SPI of B's outbound SA half of the time), from a router
            q4 = l4
            if b.spi_off is not None and len(l4) >= b.spi_off + 4 and rng.random() < 0.5:
                o = b.spi_off
                q4 = l4[:o] + struct.pack('!I', struct.unpack('!I', l4[o:o + 4])[0] ^ 0x3000) + \
                    l4[o + 4:]
            if rng.random() < 0.3:
                q4 = mutate(q4, rng)
            if b.fam == 4:
                q = ip4(b.dst, b.src, b.proto, q4)[:20 + rng.choice((0, 4, 8, 12, 16, 64, 2000))]
                typ, code = rng.choice(((3, 4), (3, 4), (3, 1), (5, 1), (11, 0), (3, 3)))
                rest = struct.pack('!HH', 0, rng.choice((0, 68, 576, 1280, 1400, 65535)))
                router = b.dst[:3] + b'\x63'
            else:
                q = ip6(b.dst, b.src, b.proto, q4)[:40 + rng.choice((0, 4, 8, 12, 16, 64, 2000))]
                typ, code = rng.choice(((2, 0), (2, 0), (1, 0), (1, 4), (3, 0), (4, 0)))
                rest = struct.pack('!I', rng.choice((0, 68, 1280, 1400, 0xffffffff)))
                router = b.dst[:15] + b'\x63'
            return [b.eth + icmp_msg(b.fam, router, b.dst, typ, code, rest, q)]
        # replay (and sn/spi without a header to change: Diet-ESP)
        if not self.used[p]:
            b = self.fresh(p)
            self.sent_intact(p, b)
            return [b.build()]
        return [self.any_used(p).build()]

    # -- phases -------------------------------------------------------------
    def set_gro(self, on):
        subprocess.run(['ethtool', '-K', self.a.dev, 'gro', 'on' if on else 'off'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run(['ethtool', '-k', self.a.dev], capture_output=True, text=True).stdout
        return ('generic-receive-offload: %s' % ('on' if on else 'off')) in out

    def traced(self, p, name, frames, exp0):
        """--trace-ops: the counters one op moved; print it unless exactly
        one counted event (and the delivery it promised) happened"""
        got0 = sum(self.got.values())
        before = self.tc
        for fr in frames:
            self.inj.send(fr)
        end, after = time.time() + 2, None
        while time.time() < end:
            time.sleep(0.02)
            self.drain()
            after = NL.counters(os.getpid(), None, self.genl)
            d = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
            x, ip, icmp, _, _ = stat_sums(d)
            got = sum(self.got.values()) - got0
            if x + ip + icmp + got >= 1 and (got or self.expect == exp0):
                break
        self.tc = after
        want = self.expect - exp0
        if x + ip + icmp + got != 1 or got != want:
            print('# trace %s proto %d fam %d frames %d deliver %d/%d: %s' % (
                name, p, 6 if frames[0][12:14] == b'\x86\xdd' else 4, len(frames), got, want,
                ' '.join('%s+%d' % (k, v) for k, v in sorted(d.items())
                         if NL.interesting(k) or k.startswith('Icmp') or 'Reasm' in k or
                         k.startswith('Ip'))), flush=True)
            print('#   %s' % frames[0][14:].hex()[:240], flush=True)

    def run(self, p, n, phase):
        names = [o for o, w in OPS for _ in range(w)]
        for i in range(n):
            name = self.rng.choice(names)
            exp0 = self.expect
            t = time.perf_counter()
            frames = self.op(p, name)
            self.t_gen += time.perf_counter() - t
            if self.trace > 0:
                self.trace -= 1
                self.ops[name] = self.ops.get(name, 0) + 1
                self.units += 1
                self.frames += len(frames)
                self.traced(p, name, frames, exp0)
                continue
            self.ops[name] = self.ops.get(name, 0) + 1
            self.units += 1
            t = time.perf_counter()
            for fr in frames:
                try:
                    self.inj.send(fr)
                    self.frames += 1
                except OSError as e:
                    print('# send %s %d octets: %s' % (name, len(fr), e))
                    self.units -= 1
                    break
            self.t_send += time.perf_counter() - t
            if i % 128 == 127:
                self.drain()


def parse_case(t):
    dst, port = t.rsplit(',', 1)
    return (dst, 6 if ':' in dst else 4, int(port))


def stat_sums(c):
    """(xfrm drops, IP-level drops, ICMP messages taken, espx decrypted,
    espx drops) from a counters() snapshot"""
    x = sum(v for k, v in c.items() if k.startswith('XfrmIn'))
    ipk = ('IpInHdrErrors', 'IpInAddrErrors', 'IpInUnknownProtos', 'IpInDiscards',
           'IpExtInTruncatedPkts', 'IpExtInNoRoutes', 'IpReasmFails', 'Ip6InHdrErrors',
           'Ip6InTruncatedPkts', 'Ip6InAddrErrors', 'Ip6InUnknownProtos', 'Ip6InDiscards',
           'Ip6InNoRoutes', 'Ip6ReasmFails')
    ip = sum(c.get(k, 0) for k in ipk)
    nd = sum(c.get('Icmp6InType%d' % t, 0) for t in (130, 131, 132, 133, 134, 135, 136, 143))
    icmp = c.get('IcmpInMsgs', 0) + c.get('Icmp6InMsgs', 0) - nd
    dec = sum(v for k, v in c.items() if k.startswith('espx:') and k.endswith(':in_packets'))
    edrop = sum(v for k, v in c.items() if (k.startswith('espx:') and ':in_drop_' in k) or
                (k.startswith('espxns:') and k != 'espxns:pending_expired'))
    return x, ip, icmp, dec, edrop


def cmd_rx(a):
    a.cases = [parse_case(t) for t in a.case]
    fz = RxFuzz(a)
    genl = NL.EspxGenl(os.getpid())
    fz.genl, fz.trace = genl, 0
    npool = fz.make_pool()
    print('pool %d frames %s' % (npool, ' '.join(
        '%s:%d' % (PROTO_NAME[p], len(v)) for p, v in sorted(fz.pools.items()))), flush=True)
    before = NL.counters(os.getpid(), None, genl)
    fz.tc = before
    t0 = time.time()
    gro_ok = tap_ok = True
    per = {}
    for p in sorted(fz.pools):
        for phase in ('plain', 'tap', 'gro'):
            n = a.count // 3 + (a.count % 3 if phase == 'gro' else 0)
            if phase == 'plain':
                fz.trace = a.trace_ops
            if phase == 'tap':
                fz.tap = fz.packet_sock()
            if phase == 'gro':
                gro_ok &= fz.set_gro(True)
            t = time.time()
            u0, tap0 = fz.units, fz.tap_n
            fz.run(p, n, phase)
            fz.drain()
            dt = time.time() - t
            per.setdefault(p, [0, 0.0])
            per[p][0] += fz.units - u0
            per[p][1] += dt
            if phase == 'tap':
                time.sleep(0.2)
                fz.drain()
                # the tap saw (nearly) every injected frame: the IP layer got clones
                if fz.tap_n - tap0 < (fz.units - u0) * 9 // 10:
                    tap_ok = False
                    print('# tap saw %d frames of %d units' % (fz.tap_n - tap0, fz.units - u0))
                fz.tap.close()
                fz.tap = None
            if phase == 'gro':
                fz.set_gro(False)
    dur = time.time() - t0
    for p, (n, dt) in sorted(per.items()):
        print('rate %s %d units in %.1f s: %.0f packets/s' % (PROTO_NAME[p], n, dt, n / max(dt, 1e-6)))
    # settle: counters stable for 1 s (async completions, reassembly)
    last, since, end = None, time.time(), time.time() + 30
    while time.time() < end:
        time.sleep(0.2)
        fz.drain()
        c = NL.counters(os.getpid(), None, genl)
        snap = stat_sums(c) + (sum(fz.got.values()),)
        if snap != last:
            last, since = snap, time.time()
        elif time.time() - since >= 1.0:
            break
    after = NL.counters(os.getpid(), None, genl)
    delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    x, ip, icmp, dec, edrop = stat_sums(delta)
    got = sum(fz.got.values())
    dup = sum(v - 1 for v in fz.got.values() if v > 1)
    alien = sum(v for d, v in fz.got.items() if d not in fz.sent_tags)
    print('ops ' + ' '.join('%s:%d' % kv for kv in sorted(fz.ops.items())))
    print('seed %d units %d frames %d in %.1f s (%.0f frames/s; making them %.1f s, sending '
          'them, the receiver included, %.1f s)' % (a.seed, fz.units, fz.frames, dur,
                                                     fz.frames / max(dur, 1e-6), fz.t_gen, fz.t_send))
    print('counted delivered %d xfrm %d ip %d icmp %d sum %d (espx decrypted %d, espx drops %d)' % (
        got, x, ip, icmp, got + x + ip + icmp, dec, edrop))
    print('delta ' + ' '.join('%s+%d' % (k, v) for k, v in sorted(delta.items())
                              if NL.interesting(k) or k.startswith('Icmp') or 'Reasm' in k))
    res = []
    res.append(('delivered', got == fz.expect and dup == 0 and alien == 0,
                'delivered %d, expected %d (fresh frames sent intact), duplicates %d, unknown payloads %d'
                % (got, fz.expect, dup, alien)))
    res.append(('accounting', got + x + ip + icmp == fz.units,
                'injected %d = delivered %d + xfrm_stat XfrmIn* %d + IP-level drops %d + ICMP taken %d (= %d)'
                % (fz.units, got, x, ip, icmp, got + x + ip + icmp)))
    res.append(('decrypted', dec == got,
                'espx in_packets %d = delivered %d' % (dec, got)))
    res.append(('clones', tap_ok, 'a tap on %s saw the frames of the tap phase' % a.dev))
    res.append(('gro', gro_ok, 'GRO on %s during the gro phase' % a.dev))
    # the SAs still carry traffic: one fresh datagram per case
    fz.got.clear()
    tags = []
    for ci, (dst, fam, port) in enumerate(a.cases):
        s = in_netns(a.inject_ns, lambda: socket.socket(
            socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_DGRAM))
        tag = b'after %d' % ci
        tags.append(tag)
        s.sendto(tag, (dst, port))
        s.close()
    end = time.time() + 10
    while time.time() < end and not all(t in fz.got for t in tags):
        time.sleep(0.1)
        fz.drain()
    miss = [a.case[i] for i, t in enumerate(tags) if t not in fz.got]
    res.append(('traffic', not miss, 'every SA carries traffic after the fuzz%s' %
                (': missing ' + ' '.join(miss) if miss else '')))
    for k, ok, msg in res:
        print('result %s %s %s' % (k, 'ok' if ok else 'FAIL', msg), flush=True)


# ------------------------------------------------------------- netlink ----
# espx genl attribute grammar (include/uapi/linux/espx.h): kind per type
G_ID = {1: 'fam', 2: 'addr', 3: 'be32', 4: 'u8', 5: 'u32', 6: 'u32', 7: 'u32'}
G_WESP = {1: 'u8'}
G_CTRS = {1: 'u16', 2: 'u32', 3: 'u32', 4: 'u32', 5: 'u64'}
G_DIET = {1: 'u8', 2: 'u8', 3: 'u8', 4: 'u8', 5: 'u8', 6: 'u8', 7: 'bin', 8: 'u8', 9: 'u8',
          10: 'flag'}
G_TOP = {1: ('nest', G_ID), 2: 'u32', 3: ('nest', G_WESP), 4: ('nest', {}), 5: 'u64',
         6: ('nest', {}), 7: ('nest', G_CTRS), 8: ('nest', {}), 9: ('nest', G_DIET), 10: 'flag'}
NL_PAIRS = (('10.99.0.1', '10.99.0.2'), ('10.99.0.2', '10.99.0.1'),
            ('fd00:99::1', 'fd00:99::2'), ('10.99.1.1', '10.99.1.2'))
NL_SPIS = tuple(range(0x100, 0x108))


class NlFuzz:
    def __init__(self, rng):
        import xfrm_nl as X
        self.X, self.rng = X, rng
        self.cl = X.Client()
        self.gid = self.cl.espx_family()
        self.stats = {}

    def val(self, kind, depth=0):
        r = self.rng
        if r.random() < 0.08:       # wrong length / type
            return bytes(r.getrandbits(8) for _ in range(r.choice((0, 1, 2, 3, 5, 8, 17, 64, 300))))
        if kind == 'u8':
            return struct.pack('=B', r.choice((0, 1, 2, 4, 7, 8, 16, 32, 63, 64, 255, r.getrandbits(8))))
        if kind in ('u16', 'fam'):
            v = r.choice((2, 10, 2, 10, 0, 1, 0xffff)) if kind == 'fam' else \
                r.choice((0, 1, 2, 4, 64, 65, 256, 0xffff, r.getrandbits(16)))
            return struct.pack('=H', v)
        if kind == 'u32':
            return struct.pack('=I', r.choice((0, 1, 32, 64, 4096, 1 << 16, 1 << 31, 0xffffffff,
                                               r.getrandbits(32))))
        if kind == 'u64':
            return struct.pack('=Q', r.choice((0, 1, 1 << 63, (1 << 64) - 1, r.getrandbits(64))))
        if kind == 'be32':
            return struct.pack('>I', r.choice(NL_SPIS + (0, 0xffffffff, r.getrandbits(32))))
        if kind == 'addr':
            a = r.choice(NL_PAIRS)[1]
            return socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)
        if kind == 'bin':
            return bytes(r.getrandbits(8) for _ in range(r.choice((0, 1, 2, 8, 64, 65))))
        if kind == 'flag':
            return b''
        if isinstance(kind, tuple):     # nest
            return self.attrs(kind[1], depth + 1)
        return b''

    @staticmethod
    def nla(t, v):
        """an attribute; one longer than nla_len can say (a huge attribute
        nested in another) gets its length modulo 2^16: a lying length the
        kernel must refuse like any other"""
        return struct.pack('=HH', (4 + len(v)) & 0xffff, t) + v + b'\0' * (-len(v) % 4)

    def attrs(self, grammar, depth=0):
        r, X = self.rng, self.X
        out = b''
        keys = list(grammar) or [1, 2, 3]
        n = r.choice((0, 1, 2, 3, len(keys), len(keys) + 2))
        for _ in range(n):
            t = r.choice(keys) if r.random() < 0.9 else r.randrange(0, 40)
            kind = grammar.get(t, 'bin')
            v = self.val(kind, depth)
            if r.random() < 0.03 and depth < 6:         # deep nesting
                v = self.attrs(grammar, depth + 1)
            flag = X.NLA_F_NESTED if isinstance(kind, tuple) and r.random() < 0.9 else 0
            out += self.nla(t | flag, v)
        if r.random() < 0.01:       # one huge attribute
            out += self.nla(r.choice(keys), bytes(r.choice((4000, 16000, 60000))))
        return out

    def sa_id(self):
        r, X = self.rng, self.X
        dst = r.choice(NL_PAIRS)[1]
        fam, raw = X.addr(dst)
        return X.nla(1 | X.NLA_F_NESTED, X.nla(1, struct.pack('=H', fam)) +
                     X.nla(2, raw[:16 if fam == socket.AF_INET6 else 4]) +
                     X.nla(3, struct.pack('>I', r.choice(NL_SPIS))) +
                     (X.nla(4, struct.pack('=B', 50)) if r.random() < 0.5 else b''))

    def genl(self):
        r, X = self.rng, self.X
        cmd = r.choice((1, 1, 1, 2, 2, 3, 3, 4, 5, 0, 6, 7, r.getrandbits(8)))
        at = self.sa_id() if r.random() < 0.7 else b''
        at += self.attrs(G_TOP)
        if r.random() < 0.1 and at:     # mutate the encoding
            b = bytearray(at)
            for _ in range(r.randint(1, 4)):
                b[r.randrange(len(b))] = r.getrandbits(8)
            at = bytes(b)
        flags = X.NLM_F_ACK | (X.NLM_F_DUMP if r.random() < 0.2 else 0)
        body = struct.pack('=BBH', cmd, r.choice((1, 1, 1, 0, 2)), 0) + at
        return lambda: self.cl.g.talk(self.gid, flags, body)

    def sa_args(self, op):
        r = self.rng
        src, dst = r.choice(NL_PAIRS)
        a = argparse.Namespace(op=op, src=src, dst=dst, spi=r.choice(NL_SPIS),
                               mode=r.choice(('transport', 'tunnel', 'beet')), reqid=r.randrange(4),
                               aead=None, enc=None, auth=None, replay_window=r.choice((0, 32, 255)),
                               replay_esn=None, oseq_may_wrap=r.random() < 0.3, sel_src=None,
                               sel_dst=None, sa_dir=None, pcpu=None, wesp=None, counters=None,
                               ctr_window=None, diet=None, diet_iiv=False, min=0x100, max=0x107)
        k = r.random()
        if k < 0.5:
            a.aead = ('rfc4106(gcm(aes))', '0x' + '11' * r.choice((20, 20, 36, 5)), '128')
        elif k < 0.8:
            a.aead = ('rfc7539esp(chacha20,poly1305)', '0x' + '22' * 36, '128')
        else:
            a.enc = ('cbc(aes)', '0x' + '33' * 16)
            a.auth = ('hmac(sha256)', '0x' + '44' * 32, '128')
        f = r.random()
        if f < 0.2:
            a.wesp = r.choice((0, 2, 4, 63, 255))
        elif f < 0.35:
            a.wesp, a.counters = 0, r.choice((1, 2, 4, 0, 5000))
            a.ctr_window = r.choice((None, 64, 0, 1 << 20))
        elif f < 0.5:
            a.diet = r.choice(('8,16', '0,8', '32,32', '4,4', '8,0'))
            a.diet_iiv = r.random() < 0.5
        if a.mode != 'transport' and r.random() < 0.5:
            a.sel_src, a.sel_dst = src + ('/128' if ':' in src else '/32'), \
                dst + ('/128' if ':' in dst else '/32')
        return a

    def xfrm(self):
        r, cl = self.rng, self.cl
        k = r.random()
        if k < 0.3:
            a = self.sa_args('add')
            return 'newsa', lambda: cl.sa(a)
        if k < 0.42:
            a = self.sa_args('update')
            return 'updsa', lambda: cl.sa(a)
        if k < 0.5:
            a = self.sa_args('add')
            return 'allocspi', lambda: cl.allocspi(a)
        if k < 0.65:
            a = self.sa_args('delete')
            return 'delsa', lambda: cl.sa(a)
        if k < 0.73:
            a = argparse.Namespace(dst=r.choice(NL_PAIRS)[1], spi=r.choice(NL_SPIS),
                                   oseq=r.choice((0, 1, 1 << 31, 0xffffffff)),
                                   seq=r.choice((0, 100, 0xffffffff)))
            return 'newae', lambda: cl.newae(a)
        if k < 0.83:
            # the same destination (a new source): the kernel inserts the
            # clone in place of the SA. Another destination would let
            # xfrm_state_add() fail on an SA already there (EEXIST), whose
            # error path in xfrm_state_migrate() frees the clone without
            # marking it dead: WARN in __xfrm_state_destroy() on 6.1, an
            # xfrm core bug (fixed upstream in 2025). The same path is
            # still reached in place when the clone's init_state fails
            # (selftests/README)
            o = r.choice(NL_PAIRS[:2] + NL_PAIRS[3:])
            n = (r.choice(('10.99.0.1', '10.99.0.2', '10.99.1.1')), o[1])
            a = argparse.Namespace(dir=r.choice(('in', 'out')), sel_src='10.99.9.1/32',
                                   sel_dst='10.99.9.2/32', old=','.join(o), new=','.join(n),
                                   reqid=r.randrange(4), mode='tunnel')
            return 'migrate', lambda: cl.migrate(a)
        if k < 0.93:
            src, dst = r.choice(NL_PAIRS[:2] + NL_PAIRS[3:])
            a = argparse.Namespace(op=r.choice(('add', 'update')), dir=r.choice(('in', 'out')),
                                   sel_src='10.99.9.1/32', sel_dst='10.99.9.2/32', tmpl_src=src,
                                   tmpl_dst=dst, reqid=r.randrange(4), mode='tunnel', priority=0,
                                   cpu_acquire=False)
            return 'policy', lambda: cl.policy(a)
        if k < 0.96:
            return 'flush', lambda: cl.flush(argparse.Namespace(policy=r.random() < 0.3))
        return 'dump', lambda: (cl.dump_sa(None), cl.g.talk(self.gid, self.X.NLM_F_DUMP,
                                                             struct.pack('=BBH', 2, 1, 0)))

    def step(self):
        if self.rng.random() < 0.5:
            name, fn = 'genl', self.genl()
        else:
            name, fn = self.xfrm()
        try:
            fn()
            res = 'ok'
        except self.X.NlError as e:
            res = 'e%d' % e.err
        except socket.timeout:
            res = 'timeout'
        except OSError as e:
            res = 'os%d' % (e.errno or 0)
        key = '%s:%s' % (name, res)
        self.stats[key] = self.stats.get(key, 0) + 1
        return res != 'timeout'


def nl_worker(a, i, ns, wfd):
    import xfrm_nl as X
    X.setns(ns)
    fz = NlFuzz(random.Random(a.seed * 1000 + i))
    ok = True
    for _ in range(a.count // a.procs):
        if not fz.step():
            ok = False
            break
    line = 'worker %d ns %s steps %d %s %s\n' % (i, ns, sum(fz.stats.values()), 'ok' if ok else 'HUNG',
                                               ' '.join('%s=%d' % kv for kv in sorted(fz.stats.items())))
    os.write(wfd, line.encode())


def cmd_nl(a):
    t0 = time.time()
    pids = []
    r, w = os.pipe()
    for i in range(a.procs):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                nl_worker(a, i, a.ns[i % len(a.ns)], w)
                code = 0
            except BaseException as e:      # noqa: B036 (report anything)
                os.write(w, ('worker %d died: %r\n' % (i, e)).encode())
            os._exit(code)
        pids.append(pid)
    os.close(w)
    bad = 0
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        bad += st != 0
    out = b''
    while True:
        d = os.read(r, 65536)
        if not d:
            break
        out += d
    text = out.decode()
    sys.stdout.write(text)
    tot = {}
    for line in text.splitlines():
        for w_ in line.split()[7:] if line.startswith('worker') else []:
            k, _, v = w_.rpartition('=')
            if v.isdigit():
                tot[k] = tot.get(k, 0) + int(v)
    steps = sum(tot.values())
    dt = time.time() - t0
    print('total steps %d in %.1f s (%.0f/s): %s' % (steps, dt, steps / max(dt, 1e-6), ' '.join(
        '%s=%d' % kv for kv in sorted(tot.items()))))
    okg = sum(v for k, v in tot.items() if k.startswith('genl:ok'))
    errg = sum(v for k, v in tot.items() if k.startswith('genl:e'))
    okx = sum(v for k, v in tot.items() if k.startswith('newsa:ok') or k.startswith('updsa:ok'))
    hung = 'HUNG' in text or 'died' in text
    print('result workers %s %d processes in %d namespaces, %d failed or hung' % (
        'ok' if not bad and not hung else 'FAIL', a.procs, len(set(a.ns)), bad + hung))
    print('result reached %s espx genl: %d accepted, %d refused; xfrm NEWSA/UPDSA accepted %d' % (
        'ok' if okg and errg and okx else 'FAIL', okg, errg, okx))
    return 0 if not bad and not hung else 1


def flood_loop(a, stop):
    socks = []
    for t in a.to:
        dst, fam, port = parse_case(t)
        s = socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append((s, (dst, port)))
    sent = errs = 0
    while not stop:
        for s, d in socks:
            try:
                s.sendto(b'churn %d' % sent, d)
                sent += 1
            except OSError:
                errs += 1
        time.sleep(a.gap)
    return sent, errs


def cmd_flood(a):
    """UDP datagrams to every DST,PORT in turn, one every GAP seconds (errors
    while SAs come and go are counted, not fatal), from one child process
    pinned to each CPU of --cpus (one Python start for all of them: seconds
    under emulation), until SIGTERM; then prints 'sent N errors E' (all)"""
    import signal
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    cpus = [int(c) for c in a.cpus.split(',')] if a.cpus else [None]
    kids = []
    r, w = os.pipe()
    for cpu in cpus:
        pid = os.fork()
        if pid == 0:
            os.close(r)
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
            sent, errs = flood_loop(a, stop)
            os.write(w, b'%d %d\n' % (sent, errs))
            os._exit(0)
        kids.append(pid)
    os.close(w)
    print('ready', flush=True)
    while not stop:
        time.sleep(0.2)
    for pid in kids:
        os.kill(pid, signal.SIGTERM)
    for pid in kids:
        os.waitpid(pid, 0)
    sent = errs = 0
    for line in os.fdopen(r).read().split('\n'):
        if line:
            sent += int(line.split()[0])
            errs += int(line.split()[1])
    print('sent %d errors %d' % (sent, errs), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('rx')
    c.add_argument('--inject-ns', required=True, help='netns of the sending side (A)')
    c.add_argument('--dev', default='veth0')
    c.add_argument('--src-mac', default='02:00:00:00:00:0a')
    c.add_argument('--seed', type=int, default=1)
    c.add_argument('--count', type=int, default=1000, help='packets per protocol')
    c.add_argument('--pool', type=int, default=64, help='fresh frames per case')
    c.add_argument('--case', action='append', required=True, help='DST,PORT (A->B)')
    c.add_argument('--trace-ops', type=int, default=0,
                   help='the first N ops one at a time, each one\'s counters checked')
    c = sub.add_parser('nl')
    c.add_argument('--seed', type=int, default=1)
    c.add_argument('--count', type=int, default=2000, help='requests in all')
    c.add_argument('--procs', type=int, default=4)
    c.add_argument('--ns', action='append', required=True, help='namespaces (round robin)')
    c = sub.add_parser('flood')
    c.add_argument('--to', action='append', required=True, help='DST,PORT')
    c.add_argument('--gap', type=float, default=0.01)
    c.add_argument('--cpus', help='CPU,CPU...: one sender pinned to each')
    a = ap.parse_args()
    if a.cmd == 'flood':
        cmd_flood(a)
    elif a.cmd == 'rx':
        cmd_rx(a)
    elif a.cmd == 'nl':
        sys.exit(cmd_nl(a))


if __name__ == '__main__':
    main()
