# SPDX-License-Identifier: GPL-2.0
"""Diet-ESP (diet-esp.md): the SA spec, header compression (IIPC, CTEC, EEC),
SN rebuild, and the test packets of an SA, independent of the kernel codec."""
import socket
import struct
from .frames import (IPPROTO_ESP, IPPROTO_UDP, pton, csum, ipv4_header, ipv6_header, udp_datagram)
from .codec import (aead_open, aead_seal)


# ------------------------------------------------------------ Diet-ESP ----
# diet-esp.md (draft-ietf-ipsecme-diet-esp-07): EEC (truncated SPI/SN), CTEC
# (trailer elision), IIPC (inner IPv4/IPv6 + UDP/TCP compression); AEAD over
# the full SPI/SN, nonce = salt | be64(SN), IV on the wire be64(SN) or none
# (iiv). Written from the spec, independently of net/espx/codec/diet_codec.c.
DIET_PROTO = 253
DIET_CDA = {'sent': 0, 'lower': 1, 'sa': 2, 'gen': 2, 'zero': 3}
DIET_MODES = {'transport': 0, 'tunnel': 1, 'beet': 4}


class DietDrop(Exception):
    """a packet the receiver must drop: args[0] is the espx reason
    (truncated, nosa, proto, sn, icv, trailer, residue, dscp, length) or
    nomatch (sender)"""


class DietBits:
    """MSB-first bit string writer"""

    def __init__(self):
        self.v, self.n = 0, 0

    def put(self, val, n):
        self.v = self.v << n | (val & ((1 << n) - 1))
        self.n += n

    def octets(self, pad=0):
        k = -self.n % 8
        return (self.v << k | (pad & ((1 << k) - 1))).to_bytes((self.n + k) // 8, 'big')


class DietBitReader:
    def __init__(self, data):
        self.v, self.bits, self.pos = int.from_bytes(data, 'big'), 8 * len(data), 0

    def get(self, n):
        if self.pos + n > self.bits:
            raise DietDrop('residue')
        self.pos += n
        return self.v >> (self.bits - self.pos) & ((1 << n) - 1)


def _plen(a, b):
    """common prefix bits of two equal-length big-endian octet strings"""
    x = int.from_bytes(a, 'big') ^ int.from_bytes(b, 'big')
    return 8 * len(a) - x.bit_length()


class DietSA:
    """One Diet-ESP SA from a spec string (keys: see diet_spec_help)"""

    def __init__(self, text):
        d = dict(kv.split('=', 1) for kv in text.split(','))
        self.d = d
        self.spi = int(d['spi'], 0)
        self.alg = d.get('alg', 'gcm')
        self.icv = int(d.get('icv', 16))
        self.blob = bytes.fromhex(d.get('key', '00' * 20).replace('0x', ''))
        self.spil, self.snl = int(d.get('spil', 32)), int(d.get('snl', 32))
        self.align = {'8': 0, '16': 1, '32': 2, '64': 3}[d.get('align', '8')]
        self.trailer = 1 if d.get('trailer', 'mand').startswith('opt') else 0
        self.iipc = int(d.get('iipc', 0))
        self.dscp = DIET_CDA[d.get('dscp', 'sent')]
        self.dscpl = [int(x) for x in d['dscpl'].split('/')] if d.get('dscpl') else []
        self.ecn = DIET_CDA[d.get('ecn', 'sent')]
        self.fl = DIET_CDA[d.get('fl', 'sent')]
        self.iiv = d.get('iiv', '0') == '1'
        self.mode = d.get('mode', 'tunnel')
        self.outer = int(d.get('outer', 4))
        self.inner = self.outer if self.mode == 'transport' else int(d.get('inner', self.outer))
        self.osrc, self.odst = d.get('osrc'), d.get('odst')
        self.w = int(d.get('w', 32))
        self.esn = d.get('esn', '0') == '1'
        self.proto = int(d.get('proto', 0))
        self.blksize = 1
        fam = socket.AF_INET if self.inner == 4 else socket.AF_INET6
        alen = 4 if self.inner == 4 else 16
        self.ts = {}
        for k in ('src', 'dst'):
            v = d.get(k, '0.0.0.0/0' if self.inner == 4 else '::/0')
            a, pl = v.split('/') if '/' in v else (v, 8 * alen)
            a = int.from_bytes(socket.inet_pton(fam, a), 'big')
            m = ((1 << 8 * alen) - 1) ^ ((1 << (8 * alen - int(pl))) - 1)
            self.ts[k] = ((a & m).to_bytes(alen, 'big'), (a | ~m & ((1 << 8 * alen) - 1)).to_bytes(alen, 'big'))
        for k in ('sport', 'dport'):
            v = d.get(k, '0/0')
            p, m = v.split('/') if '/' in v else (v, '0xffff')
            p, m = int(p, 0), int(m, 0)
            self.ts[k] = (p & m, p | ~m & 0xffff)
        self.plen = {k: _plen(*self.ts[k]) for k in ('src', 'dst')}
        self.plen.update({k: _plen(*(x.to_bytes(2, 'big') for x in self.ts[k]))
                          for k in ('sport', 'dport')})
        self.dscp_bits = (len(self.dscpl) - 1).bit_length() if self.dscpl else 0

    @property
    def truncated(self):
        return self.spil < 32 or self.snl < 32

    @property
    def outer_proto(self):
        return DIET_PROTO if self.truncated else IPPROTO_ESP

    @property
    def eec_len(self):
        return (self.spil + self.snl) // 8

    @property
    def key(self):
        return self.blob[:-4]

    @property
    def salt(self):
        return self.blob[-4:]

    def sa_nh(self):
        if self.mode == 'tunnel':
            return 4 if self.inner == 4 else 41
        return self.proto


# -- IIPC (§5) --
def _diet_put_tail(w, v, plen):
    n = 8 * len(v) - plen
    w.put(int.from_bytes(v, 'big'), n)


def _diet_get_tail(b, tv, plen):
    n = 8 * len(tv) - plen
    return (int.from_bytes(tv, 'big') & ~((1 << n) - 1) | b.get(n)).to_bytes(len(tv), 'big')


def diet_in_pfx(v, tv, plen):
    n = 8 * len(v)
    return (int.from_bytes(v, 'big') ^ int.from_bytes(tv, 'big')) >> (n - plen) == 0


def _diet_c_dscp(sa, w, dscp, ov):
    if sa.dscp == 0:
        w.put(dscp, 6)
    elif sa.dscp == 2:
        if dscp not in sa.dscpl:
            raise DietDrop('nomatch')
        w.put(ov.get('dscp_index', sa.dscpl.index(dscp)), sa.dscp_bits)


def _diet_d_dscp(sa, b, lower):
    if sa.dscp == 0:
        return b.get(6)
    if sa.dscp == 2:
        i = b.get(sa.dscp_bits)
        if i >= len(sa.dscpl):
            raise DietDrop('dscp')
        return sa.dscpl[i]
    return lower['dscp']


def _diet_outer_flow(sa, v):
    return v & (0xffff if sa.outer == 4 else 0xfffff)


def _diet_c_proto(sa, w, proto):
    if not sa.proto:
        w.put(proto, 8)
    elif proto != sa.proto:
        raise DietDrop('nomatch')


def _diet_c_addrs(sa, w, src, dst):
    if not (diet_in_pfx(src, sa.ts['src'][0], sa.plen['src']) and
            diet_in_pfx(dst, sa.ts['dst'][0], sa.plen['dst'])):
        raise DietDrop('nomatch')
    _diet_put_tail(w, src, sa.plen['src'])
    _diet_put_tail(w, dst, sa.plen['dst'])


def _diet_c_ports(sa, w, seg):
    sp, dp = struct.unpack('!HH', seg[:4])
    for k, p in (('sport', sp), ('dport', dp)):
        if (p ^ sa.ts[k][0]) >> (16 - sa.plen[k]):
            raise DietDrop('nomatch')
        w.put(p, 16 - sa.plen[k])


def diet_iipc_compress(sa, pkt, proto, ov=None):
    """(residue, rest, lower, hdr_len): tunnel: pkt is the inner IP packet;
    transport/BEET: the L4 segment of protocol proto. ov: forged residue
    fields (ihl, dscp_index, tcp_off, pad)"""
    ov = ov or {}
    lower = {}
    if not sa.iipc:
        return b'', bytes(pkt), lower, 0
    w, off, l4 = DietBits(), 0, True
    p = bytes(pkt)
    if sa.mode == 'tunnel' and sa.inner == 6:
        if len(p) < 40 or p[0] >> 4 != 6 or struct.unpack('!H', p[4:6])[0] != len(p) - 40:
            raise DietDrop('nomatch')
        dscp, ecn = (p[0] & 15) << 2 | p[1] >> 6, p[1] >> 4 & 3
        fl = (p[1] & 15) << 16 | struct.unpack('!H', p[2:4])[0]
        lower.update(dscp=dscp, ecn=ecn, hl=p[7], flow=_diet_outer_flow(sa, fl))
        _diet_c_dscp(sa, w, dscp, ov)
        if sa.ecn == 0:
            w.put(ecn, 2)
        if sa.fl == 0:
            w.put(fl, 20)
        _diet_c_proto(sa, w, p[6])
        _diet_c_addrs(sa, w, p[8:24], p[24:40])
        proto, off = p[6], 40
    elif sa.mode == 'tunnel':
        if len(p) < 20 or p[0] != 0x45 or struct.unpack('!H', p[2:4])[0] != len(p):
            raise DietDrop('nomatch')
        ident, frag = struct.unpack('!HH', p[4:8])
        lower.update(dscp=p[1] >> 2, ecn=p[1] & 3, hl=p[8], flow=ident)
        w.put(ov.get('ihl', 5), 4)
        _diet_c_dscp(sa, w, p[1] >> 2, ov)
        if sa.ecn == 0:
            w.put(p[1] & 3, 2)
        if sa.fl == 0:
            w.put(ident, 16)
        w.put(frag, 16)
        _diet_c_proto(sa, w, p[9])
        _diet_c_addrs(sa, w, p[12:16], p[16:20])
        proto, off, l4 = p[9], 20, not frag & 0x3fff
    elif sa.proto and proto != sa.proto:
        raise DietDrop('nomatch')
    seg = p[off:]
    if l4 and proto == IPPROTO_UDP:
        if len(seg) < 8 or struct.unpack('!H', seg[4:6])[0] != len(seg):
            raise DietDrop('nomatch')
        _diet_c_ports(sa, w, seg)
        off += 8
    elif l4 and proto == 6:
        if len(seg) < 20 or not 5 <= seg[12] >> 4 <= len(seg) // 4:
            raise DietDrop('nomatch')
        _diet_c_ports(sa, w, seg)
        for o in (4, 8):
            w.put(struct.unpack('!I', seg[o:o + 4])[0], 32)
        offfl = struct.unpack('!H', seg[12:14])[0]
        if 'tcp_off' in ov:
            offfl = ov['tcp_off'] << 12 | offfl & 0xfff
        w.put(offfl, 16)
        w.put(struct.unpack('!H', seg[14:16])[0], 16)
        w.put(struct.unpack('!H', seg[18:20])[0], 16)
        off += 20
    return w.octets(ov.get('pad', 0)), p[off:], lower, off


def _l4_csum(src, dst, proto, seg):
    """UDP/TCP checksum of seg (checksum field zero) over the pseudo-header"""
    if len(src) == 16:
        ph = src + dst + struct.pack('!I3xB', len(seg), proto)
    else:
        ph = src + dst + struct.pack('!xBH', proto, len(seg))
    c = csum(ph + seg)
    return 0xffff if c == 0 and proto == IPPROTO_UDP else c


def diet_iipc_decompress(sa, data, proto, lower, addrs=None):
    """The inner packet (tunnel) or L4 segment (transport/BEET: addrs =
    (src, dst) of the pseudo-header) from the CTEC payload; (packet, proto)"""
    if not sa.iipc:
        return bytes(data), proto
    b = DietBitReader(bytes(data[:64]))
    hdr, l4 = b'', True
    if sa.mode == 'tunnel' and sa.inner == 6:
        dscp = _diet_d_dscp(sa, b, lower)
        ecn = b.get(2) if sa.ecn == 0 else lower['ecn']
        fl = {0: lambda: b.get(20), 1: lambda: lower['flow'] & 0xfffff,
              2: lambda: lower.get('flow_gen', 0), 3: lambda: 0}[sa.fl]()
        proto = sa.proto or b.get(8)
        src = _diet_get_tail(b, sa.ts['src'][0], sa.plen['src'])
        dst = _diet_get_tail(b, sa.ts['dst'][0], sa.plen['dst'])
        hdr = struct.pack('!IHBB', 6 << 28 | dscp << 22 | ecn << 20 | fl, 0, proto,
                          lower['hl']) + src + dst
        addrs = (src, dst)
    elif sa.mode == 'tunnel':
        ihl = b.get(4)
        dscp = _diet_d_dscp(sa, b, lower)
        ecn = b.get(2) if sa.ecn == 0 else lower['ecn']
        ident = {0: lambda: b.get(16), 1: lambda: lower['flow'] & 0xffff,
                 2: lambda: lower.get('flow_gen', 0) & 0xffff, 3: lambda: 0}[sa.fl]()
        frag = b.get(16)
        proto = sa.proto or b.get(8)
        src = _diet_get_tail(b, sa.ts['src'][0], sa.plen['src'])
        dst = _diet_get_tail(b, sa.ts['dst'][0], sa.plen['dst'])
        if ihl != 5:
            raise DietDrop('length')
        hdr = struct.pack('!BBHHHBBH', 0x45, dscp << 2 | ecn, 0, ident, frag, lower['hl'],
                          proto, 0) + src + dst
        addrs, l4 = (src, dst), not frag & 0x3fff
    l4h = b''
    if l4 and proto in (IPPROTO_UDP, 6):
        ports = []
        for k in ('sport', 'dport'):
            n = 16 - sa.plen[k]
            ports.append(sa.ts[k][0] & ~((1 << n) - 1) & 0xffff | b.get(n))
        if proto == IPPROTO_UDP:
            l4h = struct.pack('!HHHH', ports[0], ports[1], 0, 0)
        else:
            sq, ack, offfl, win, urg = b.get(32), b.get(32), b.get(16), b.get(16), b.get(16)
            l4h = struct.pack('!HHIIHHHH', ports[0], ports[1], sq, ack, offfl, win, 0, urg)
    if b.pos % 8 and b.get(8 - b.pos % 8):
        raise DietDrop('residue')
    rest = bytes(data[b.pos // 8:])
    seg = bytearray(l4h + rest)
    if l4h and proto == IPPROTO_UDP:
        if len(seg) > 0xffff:
            raise DietDrop('length')
        seg[4:6] = struct.pack('!H', len(seg))
    if l4h and proto == 6:
        doff = seg[12] >> 4
        if doff < 5 or doff * 4 > len(seg):
            raise DietDrop('length')
    if l4h:
        o = 6 if proto == IPPROTO_UDP else 16
        seg[o:o + 2] = struct.pack('!H', _l4_csum(addrs[0], addrs[1], proto, bytes(seg)))
    if not hdr:
        return bytes(seg), proto
    h = bytearray(hdr)
    if len(h) == 40:
        if len(seg) > 0xffff:
            raise DietDrop('length')
        h[4:6] = struct.pack('!H', len(seg))
    else:
        if len(seg) + 20 > 0xffff:
            raise DietDrop('length')
        h[2:4] = struct.pack('!H', 20 + len(seg))
        h[10:12] = struct.pack('!H', csum(h))
    return bytes(h) + bytes(seg), proto


# -- CTEC (§4) --
def diet_ctec_shape(sa):
    """(has PadLen, has NH)"""
    if sa.trailer == 0:
        return True, True
    return sa.align != 0 or sa.blksize != 1, not sa.sa_nh()


def diet_ctec(sa, plen, nh):
    """the trailer octets after a payload of plen octets"""
    sa_nh = sa.sa_nh()
    if sa_nh and nh != sa_nh:
        raise DietDrop('nomatch')
    has_pl, has_nh = diet_ctec_shape(sa)
    align = max(1 << sa.align, sa.blksize)
    pad = (align - (plen % align + 1 + has_nh) % align) % align if has_pl else 0
    return bytes(range(1, pad + 1)) + (bytes([pad]) if has_pl else b'') + \
        (bytes([nh]) if has_nh else b'')


def diet_ctec_strip(sa, pt):
    """(payload, NH) of a plaintext"""
    has_pl, has_nh = diet_ctec_shape(sa)
    need = has_pl + has_nh
    if len(pt) < need:
        raise DietDrop('trailer')
    nh = pt[-1] if has_nh else sa.sa_nh()
    if has_nh and sa.sa_nh() and nh != sa.sa_nh():
        raise DietDrop('trailer')
    pad = pt[-1 - has_nh] if has_pl else 0
    if pad + need > len(pt):
        raise DietDrop('trailer')
    return bytes(pt[:len(pt) - pad - need]), nh


# -- EEC (§3), SN rebuild (§6) --
def diet_eec(sa, spi, sn):
    w = DietBits()
    w.put(spi, sa.spil)
    w.put(sn & 0xffffffff, sa.snl)
    return w.octets()


def diet_sn_rebuild(sa, bits, top):
    base = max(top - (sa.w - 1), 0)
    sn = base + ((bits - base) % (1 << sa.snl))
    if not sa.esn and sn > 0xffffffff:
        raise DietDrop('sn')
    if not sn:
        raise DietDrop('sn')
    return sn


def diet_aad(sa, spi, sn):
    if sa.esn:
        return struct.pack('!III', spi, sn >> 32, sn & 0xffffffff)
    return struct.pack('!II', spi, sn & 0xffffffff)


def diet_encode(sa, pkt, proto, sn, ov=None, nh=None):
    """The Diet-ESP octets after the outer IP header and the values the
    outer header carries (lower). ov: forgeries (see diet_iipc_compress;
    plus cut: IIPC output cut to N octets, nh/padlen: trailer octets,
    residue: replaces the residue)"""
    ov = ov or {}
    res, rest, lower, _ = diet_iipc_compress(sa, pkt, proto, ov)
    if 'residue' in ov:
        res = ov['residue']
    payload = res + rest
    if 'cut' in ov:
        payload = payload[:ov['cut']]
    nh = (sa.sa_nh() if sa.mode == 'tunnel' else proto) if nh is None else nh
    tr = bytearray(diet_ctec(sa, len(payload), sa.sa_nh() or nh))
    has_pl, has_nh = diet_ctec_shape(sa)
    if has_nh:
        tr[-1] = ov.get('nh', nh)
    if has_pl and 'padlen' in ov:
        tr[-1 - has_nh] = ov['padlen']
    iv = struct.pack('!Q', sn)
    ct = aead_seal(sa.alg, sa.key, sa.icv, sa.salt + iv, payload + bytes(tr),
                   diet_aad(sa, sa.spi, sn))
    if ov.get('full_esp'):
        hdr = struct.pack('!II', sa.spi, sn & 0xffffffff)
    else:
        hdr = diet_eec(sa, ov.get('spi', sa.spi), sn)
    return hdr + (b'' if sa.iiv and not ov.get('full_esp') else iv) + ct, lower


def diet_decode(sa, data, top, lower, addrs=None):
    """(SN, packet, proto, payload, plaintext) of the octets after the outer
    IP header; raises DietDrop"""
    n = sa.eec_len
    ivl = 0 if sa.iiv else 8
    if len(data) < n + ivl + sa.icv:
        raise DietDrop('truncated')
    b = DietBitReader(bytes(data[:n]))
    spi_bits, sn_bits = b.get(sa.spil), b.get(sa.snl)
    if spi_bits != sa.spi & ((1 << sa.spil) - 1):
        raise DietDrop('nosa')
    sn = diet_sn_rebuild(sa, sn_bits, top)
    iv = struct.pack('!Q', sn) if sa.iiv else bytes(data[n:n + 8])
    ct, tag = bytes(data[n + ivl:len(data) - sa.icv]), bytes(data[len(data) - sa.icv:])
    pt = aead_open(sa.alg, sa.key, sa.icv, sa.salt + iv, ct, tag, diet_aad(sa, sa.spi, sn))
    if pt is None:
        raise DietDrop('icv')
    payload, nh = diet_ctec_strip(sa, pt)
    pkt, proto = diet_iipc_decompress(sa, payload, nh, lower, addrs)
    return sn, pkt, proto, payload, pt


def diet_residue_bits(sa, proto, frag=False):
    """§5 table: residue bits of one header, counted field by field"""
    if not sa.iipc:
        return 0
    bits = 0
    dscp = {0: 6, 1: 0, 2: sa.dscp_bits}[sa.dscp]
    ecn = 2 if sa.ecn == 0 else 0
    if sa.mode == 'tunnel':
        alen = 32 if sa.inner == 4 else 128
        bits += dscp + ecn + (8 if not sa.proto else 0)
        bits += 2 * alen - sa.plen['src'] - sa.plen['dst']
        if sa.inner == 6:
            bits += 20 if sa.fl == 0 else 0
        else:
            bits += 4 + (16 if sa.fl == 0 else 0) + 16
    if frag:
        return bits
    ports = 32 - sa.plen['sport'] - sa.plen['dport']
    if proto == IPPROTO_UDP:
        bits += ports
    elif proto == 6:
        bits += ports + 32 + 32 + 16 + 16 + 16
    return bits


def diet_saving(sa, inner, proto, frag=False):
    """octets Diet-ESP saves against plain ESP (IV 8, 4-octet alignment) for
    one inner packet/segment, from the spec's tables (not the encoder); the
    IV is the same in both (explicit, or none with iiv)"""
    eec = 8 - sa.eec_len
    hdr = 0
    if sa.iipc:
        if sa.mode == 'tunnel':
            hdr += 20 if sa.inner == 4 else 40
        if not frag:
            hdr += {IPPROTO_UDP: 8, 6: 20}.get(proto, 0)
    res = -(-diet_residue_bits(sa, proto, frag) // 8)
    plain_tr = -(len(inner) + 2) % 4 + 2
    has_pl, has_nh = diet_ctec_shape(sa)
    clen = len(inner) - hdr + res
    align = max(1 << sa.align, sa.blksize)
    diet_tr = has_pl + has_nh + ((-(clen + 1 + has_nh)) % align if has_pl else 0)
    return eec + (hdr - res) + (plain_tr - diet_tr)


def diet_plain_len(sa, inner):
    """plain ESP with the same cipher (IV 8, none with iiv), 4-octet aligned"""
    return 8 + (0 if sa.iiv else 8) + len(inner) + (-(len(inner) + 2) % 4) + 2 + sa.icv


def beet_addrs(sa):
    return sa.ts['src'][0], sa.ts['dst'][0]


def diet_inner(sa, data, tcp=None, dport=None, sport=40000):
    """A test packet in sa's selector: tunnel: inner IP + UDP/TCP; else the
    segment. (packet, proto)"""
    src, dst = sa.ts['src'][0], sa.ts['dst'][0]
    fam = socket.AF_INET if sa.inner == 4 else socket.AF_INET6
    s, d = socket.inet_ntop(fam, src), socket.inet_ntop(fam, dst)
    if sa.mode == 'transport':
        s, d = sa.osrc, sa.odst
    sp = sa.ts['sport'][0] if sa.plen['sport'] == 16 else sport
    dp = dport if dport is not None else sa.ts['dport'][0]
    if tcp is not None:
        proto = 6
        seg = bytearray(struct.pack('!HHIIHHHH', sp, dp, 1000, 0, tcp << 12 | 0x18, 512, 0, 0) + data)
        seg[16:18] = struct.pack('!H', _l4_csum(pton(s), pton(d), 6, bytes(seg)))
        seg = bytes(seg)
    else:
        proto = IPPROTO_UDP
        seg = udp_datagram(s, d, sp, dp, data)
    if sa.mode != 'tunnel':
        return seg, proto
    if sa.inner == 4:
        return ipv4_header(s, d, proto, len(seg)) + seg, proto
    return ipv6_header(s, d, proto, len(seg)) + seg, proto
