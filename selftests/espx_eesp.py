# SPDX-License-Identifier: GPL-2.0
"""EESP (eesp.md, draft-ietf-ipsecme-eesp-03) encode/decode for the espx selftests.

Written from the profile alone, independently of net/espx/codec/eesp_codec.c,
so that the selftests can check the kernel's packets with a second
implementation:

  EespSA(...)                   an SA: mode, outer family, AEAD, key or root key,
                                sub-sas / sskdf / key-bits, crypt-offset, iiv, W
  sskdf(hash, root, sid, L)     KEYMAT_sub = HKDF-Expand(root, be16(sid), L),
                                RFC 5869 written out with HMAC
  eesp_encode(sa, payload, sn, sid, nh, ...)   the EESP octets (base header
                                to ICV) and their AAD / nonce / plaintext /
                                key; keyword overrides craft the §11.6 variants
  EespRx(sa).decode(octets)     the receiver in the order of §6: returns the
                                payload or raises EespDrop(counter name);
                                per-Sub-SA windows made after the ICV
  ip4(...), ip6(...), eesp_of_ip(packet)   outer headers
  vectors(chk)                  eesp.md §11 octet for octet, both directions,
                                and every §11.6 variant with its counter

espx_pkt.py eesp-vectors [--ktap] runs vectors(); the unit tests run it on
the host (selftests/unit/Makefile: test_eesp_py).
"""
import hashlib
import hmac
import struct

EESP_PROTO = 254            # eesp_proto default (§1)
ESP_PROTO = 50
NH_DUMMY = 59
# ESP Echo (esp-echo.md) on EESP, espx's decision (README, ESP Echo,
# Decisions): PIH Next Header 144, with a PIH also on an Optimized SA, where
# a PIH is accepted only with this Next Header
NH_ECHO = 144
SALT_LEN = 4
HASHES = {'hkdf-sha256': 'sha256', 'hkdf-sha384': 'sha384', 'hkdf-sha512': 'sha512'}

# the profile's counter names (§2-§9); 'ok' and the dummy are not drops
HEADER, VERSION, TRUNCATED = 'in-drop-eesp-header', 'in-drop-eesp-version', 'in-drop-eesp-truncated'
OPTION, CRYPT_OFFSET = 'in-drop-eesp-option', 'in-drop-eesp-crypt-offset'
SUBSA, REPLAY, ICV = 'in-drop-eesp-subsa', 'in-drop-eesp-replay', 'in-drop-icv'
PIH, INNER = 'in-drop-eesp-pih', 'in-drop-eesp-inner'
NOT_EESP, PLAIN_SA, NO_SA = 'in-drop-eesp-not-eesp', 'in-drop-eesp-plain-sa', 'ns-eesp-no-sa'
DUMMY = 'in-eesp-dummy'


class EespDrop(Exception):
    """a receiver drop; args[0] is the counter name"""


def _aead(alg, key):
    try:
        from cryptography.hazmat.primitives.ciphers import aead
    except ImportError:     # python3 -S (fast start): add the site dirs
        import site
        site.main()
        from cryptography.hazmat.primitives.ciphers import aead
    return aead.ChaCha20Poly1305(key) if alg == 'chacha' else aead.AESGCM(key)


def sskdf(kdf, root, sid, length):
    """HKDF-Expand (RFC 5869 2.3) with info = be16(sid): T(i) = HMAC(root, T(i-1) | info | i)"""
    h = HASHES[kdf]
    if len(root) != hashlib.new(h).digest_size:
        raise ValueError('root key length does not match ' + kdf)
    info, t, out, i = struct.pack('!H', sid), b'', b'', 1
    while len(out) < length:
        t = hmac.new(root, t + info + bytes([i]), h).digest()
        out += t
        i += 1
    return out[:length]


class EespSA:
    """One EESP SA as both ends see it (§6, §8).

    mode transport|tunnel|beet, ipv6 = outer family, alg gcm|chacha, key = the
    xfrm AEAD key field (key | salt, or the root key with sub_sas), sub_sas N
    (0: none, Session ID 0 only), sskdf, key_bits (default 128 GCM, 256 ChaCha),
    co = crypt-offset N (words, 0 none), iiv, window W, icv octets, eesp False =
    an SA without eesp (for not-eesp)."""

    def __init__(self, spi, key, mode='transport', ipv6=False, alg='gcm', sub_sas=0,
                 sskdf='hkdf-sha256', key_bits=None, co=0, iiv=False, window=1024,
                 icv=16, eesp=True):
        self.spi, self.key, self.mode, self.ipv6, self.alg = spi, bytes(key), mode, ipv6, alg
        self.sub_sas, self.kdf, self.co, self.iiv = sub_sas, sskdf, co, iiv
        self.window, self.icv, self.eesp = window, icv, eesp
        self.key_bits = key_bits or (256 if alg == 'chacha' else 128)
        if (alg == 'chacha' and self.key_bits != 256) or self.key_bits not in (128, 256):
            raise ValueError('key-bits %d with %s' % (self.key_bits, alg))
        self._km = {}

    @property
    def n(self):
        return self.sub_sas or 1

    @property
    def full(self):
        """Full format (PIH): transport, BEET, or any SA with a Crypt Offset"""
        return self.mode != 'tunnel' or self.co > 0

    @property
    def ivlen(self):
        return 0 if self.iiv else 8

    def keymat_len(self):
        return self.key_bits // 8 + SALT_LEN

    def keymat(self, sid):
        """key | salt of Sub SA sid (cached: one derivation per Sub SA)"""
        if sid not in self._km:
            if self.sub_sas:
                self._km[sid] = sskdf(self.kdf, self.key, sid, self.keymat_len())
            else:
                if len(self.key) != self.keymat_len():
                    raise ValueError('key blob length')
                self._km[sid] = self.key
        return self._km[sid]

    def derived(self):
        return sorted(self._km)


def _pad_opts(n):
    """n octets of padding options: Pad1 for one, PadN for more"""
    if n == 0:
        return b''
    if n == 1:
        return b'\0'
    return bytes([1, n - 2]) + bytes(n - 2)


def eesp_encode(sa, payload, sn, sid=0, nh=17, options=None, octet0=0x80, optlen=None,
                pih=None, clear_words=None, keymat=None, iv=None):
    """The EESP octets of one packet, base header to ICV, and how they were made.

    payload: the L4 segment (transport, BEET) or the inner packet (tunnel).
    Overrides for crafted packets: options (the options area, verbatim),
    octet0, optlen (the Opt Len field), pih (4 octets), clear_words (the
    CryptOffset to seal with), keymat (key | salt), iv (explicit IV octets).
    Return: dict(octets, aad, nonce, pt, keymat, clear_words, pad, hdr_size)."""
    align = 8 if sa.ipv6 else 4
    full = sa.full or nh == NH_ECHO
    pihlen = 4 if full else 0
    if clear_words is None:
        clear_words = min(sa.co, 1 + len(payload) // 4) if sa.co else 0
    if options is None:
        co = b''
        fixed = 8 + (4 if sa.co else 0) + 8 + sa.ivlen + pihlen
        poff = (fixed - pihlen) // 4 if sa.co else 0
        if sa.co:
            co = bytes([2, 2]) + struct.pack('!H', poff << 10 | clear_words << 4)
        options = co + _pad_opts(-fixed % align)
    pad = -(pihlen + len(payload)) % 4
    if iv is None:
        iv = struct.pack('!Q', sn)
    hdr = bytes([octet0, len(options) if optlen is None else optlen]) + \
        struct.pack('!HI', sid, sa.spi) + options + struct.pack('!Q', sn) + \
        (b'' if sa.iiv else iv)
    if full and pih is None:
        pih = bytes([0, 0, nh, pad])
    body = (pih if full else b'') + payload + bytes(pad)
    aad, pt = hdr + body[:4 * clear_words], body[4 * clear_words:]
    km = keymat if keymat is not None else sa.keymat(sid)
    nonce = km[-SALT_LEN:] + iv
    ct = _aead(sa.alg, km[:-SALT_LEN]).encrypt(nonce, pt, aad)
    return dict(octets=aad + ct[:len(pt) + sa.icv], aad=aad, nonce=nonce, pt=pt, keymat=km,
                clear_words=clear_words, pad=pad, hdr_size=len(hdr) + pihlen)


class Window:
    """one Sub SA's anti-replay window of W SNs below the highest accepted"""

    def __init__(self, size):
        self.size, self.top, self.seen = size, 0, set()

    def replayed(self, sn):
        return sn <= self.top and (self.top - sn >= self.size or sn in self.seen)

    def advance(self, sn):
        if sn > self.top:
            self.top = sn
            self.seen = {s for s in self.seen if self.top - s < self.size}
        self.seen.add(sn)


class EespRx:
    """The receiver of one SA, check by check in the order of eesp.md §6."""

    def __init__(self, sa):
        self.sa, self.windows = sa, {}

    def decode(self, b, proto=EESP_PROTO):
        """b: the octets after the outer IP header chain. Return a dict (sid,
        sn, nh, payload, dummy, aad, nonce, key) or raise EespDrop(counter)."""
        sa = self.sa
        if proto == ESP_PROTO:
            if len(b) >= 4 and struct.unpack('!I', b[:4])[0] == sa.spi and sa.eesp:
                raise EespDrop(PLAIN_SA)
            raise EespDrop(NO_SA)
        # base header (§2)
        if len(b) < 8:
            raise EespDrop(TRUNCATED)
        if not b[0] & 0x80:
            raise EespDrop(HEADER)
        if (b[0] >> 3) & 0xf:
            raise EespDrop(VERSION)
        if b[0] & 7:
            raise EespDrop(HEADER)
        optlen = b[1]
        sid, spi = struct.unpack('!HI', b[2:8])
        # SA lookup
        if spi != sa.spi:
            raise EespDrop(NO_SA)
        if not sa.eesp:
            raise EespDrop(NOT_EESP)
        # options (§3)
        if 8 + optlen > len(b):
            raise EespDrop(TRUNCATED)
        opts, i, co = b[8:8 + optlen], 0, None
        while i < len(opts):
            if opts[i] == 0:
                i += 1
                continue
            if i + 2 > len(opts) or i + 2 + opts[i + 1] > len(opts):
                raise EespDrop(OPTION)
            t, dl = opts[i], opts[i + 1]
            if t == 2:
                if co is not None or dl != 2:
                    raise EespDrop(OPTION)
                v = struct.unpack('!H', opts[i + 2:i + 4])[0]
                co = (v >> 10, (v >> 4) & 0x3f)
            i += 2 + dl
        # room for SN, IV, PIH, ICV
        sn_at = 8 + optlen
        pih_at = sn_at + 8 + sa.ivlen
        if pih_at + (4 if sa.full else 0) + sa.icv > len(b):
            raise EespDrop(TRUNCATED)
        # Crypt Offset (§5)
        clear = 0
        if co is not None:
            poff, clear = co
            if not sa.co or 4 * poff != pih_at or clear > sa.co or \
               pih_at + 4 * clear > len(b) - sa.icv:
                raise EespDrop(CRYPT_OFFSET)
        # Session ID, SN 0, replay (§6)
        if sid >= sa.n:
            raise EespDrop(SUBSA)
        sn = struct.unpack('!Q', b[sn_at:sn_at + 8])[0]
        w = self.windows.get(sid)
        if sn == 0 or (w and w.replayed(sn)):
            raise EespDrop(REPLAY)
        # AEAD (§7)
        aad_end = pih_at + 4 * clear
        iv = b[sn_at + 8:pih_at] if not sa.iiv else struct.pack('!Q', sn)
        km = sa.keymat(sid)
        nonce = km[-SALT_LEN:] + iv
        a = _aead(sa.alg, km[:-SALT_LEN])
        from cryptography.exceptions import InvalidTag      # loaded by _aead()
        try:
            pt = a.decrypt(nonce, b[aad_end:], b[:aad_end])
        except InvalidTag:
            raise EespDrop(ICV) from None
        if w and w.replayed(sn):
            raise EespDrop(REPLAY)
        data = b[pih_at:aad_end] + pt
        # PIH or inner header (§4, §5)
        dummy = False
        echo = len(data) >= 4 and not data[0] >> 4 and data[2] == NH_ECHO
        if sa.full or echo:
            if data[0] >> 4:
                raise EespDrop(PIH)
            nh, padlen = data[2], data[3]
            if padlen > len(data) - 4:
                raise EespDrop(PIH)
            payload = data[4:len(data) - padlen]
            dummy = nh == NH_DUMMY
            if not dummy and sa.mode == 'tunnel' and nh != NH_ECHO:
                want = {4: 4, 41: 6}.get(nh)
                if not payload or want is None or payload[0] >> 4 != want:
                    raise EespDrop(INNER)
        else:
            v = data[0] >> 4 if data else 0
            if v == 4 and len(data) >= 20:
                n, nh = struct.unpack('!H', data[2:4])[0], 4
                if n < 20:
                    raise EespDrop(INNER)
            elif v == 6 and len(data) >= 40:
                n, nh = 40 + struct.unpack('!H', data[4:6])[0], 41
            else:
                raise EespDrop(INNER)
            if n > len(data):
                raise EespDrop(INNER)
            payload = data[:n]
        # only now the window (first packet of the Sub SA)
        if w is None:
            w = self.windows[sid] = Window(sa.window)
        w.advance(sn)
        return dict(sid=sid, sn=sn, nh=nh, payload=payload, dummy=dummy,
                    aad=b[:aad_end], nonce=nonce, key=km)


# ------------------------------------------------------------ outer/inner ----
def _csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _addr(a):
    import socket
    return socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)


def ip4(src, dst, proto, payload, ident=1, ttl=64):
    """IPv4 header (DF, TOS 0, checksum) + payload"""
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                    _addr(src), _addr(dst))
    return h[:10] + struct.pack('!H', _csum(h)) + h[12:] + payload


def ip6(src, dst, nh, payload, hlim=64):
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), nh, hlim, _addr(src),
                       _addr(dst)) + payload


def udp(src, dst, sport, dport, data):
    """UDP segment with its checksum over the IPv4/IPv6 pseudo-header"""
    n = 8 + len(data)
    seg = struct.pack('!HHHH', sport, dport, n, 0) + data
    s, d = _addr(src), _addr(dst)
    ph = s + d + (struct.pack('!BBH', 0, 17, n) if len(s) == 4 else struct.pack('!I3xB', n, 17))
    c = _csum(ph + seg) or 0xffff
    return seg[:6] + struct.pack('!H', c) + seg[8:]


def eesp_of_ip(pkt):
    """(protocol, octets after the outer header, IPv6?) of a whole IP packet
    without extension headers / options"""
    if pkt[0] >> 4 == 4:
        hl, n = (pkt[0] & 15) * 4, struct.unpack('!H', pkt[2:4])[0]
        return pkt[9], pkt[hl:n], False
    return pkt[6], pkt[40:40 + struct.unpack('!H', pkt[4:6])[0]], True


def wrap(sa, octets, proto=EESP_PROTO):
    """the outer header of the §11 vectors around EESP octets"""
    if sa.ipv6:
        return ip6('2001:db8::1', '2001:db8::2', proto, octets)
    return ip4('192.0.2.1', '192.0.2.2', proto, octets)


def nonce_key_unique(seen, info):
    """record (key, nonce) of a decoded/encoded packet; False if it repeats"""
    k = (bytes(info['key'] if 'key' in info else info['keymat']), bytes(info['nonce']))
    if k in seen:
        return False
    seen.add(k)
    return True


# --------------------------------------------------------------- vectors ----
H = bytes.fromhex


def _sas():
    gcm = bytes(range(16)) + H('a0a1a2a3')
    cc = bytes(range(32)) + H('a0a1a2a3')
    return dict(
        V1=EespSA(0x1001, gcm),
        V2=EespSA(0x1002, bytes(range(32)), mode='tunnel', ipv6=True, sub_sas=4),
        V3=EespSA(0x1003, gcm, mode='tunnel', co=8),
        V4=EespSA(0x1004, cc, ipv6=True, alg='chacha', iiv=True),
        V5=EespSA(0x1005, bytes(range(48)), mode='beet', ipv6=True, sub_sas=2,
                  sskdf='hkdf-sha384', key_bits=256))


def _payloads():
    a6, b6 = '2001:db8:a::1', '2001:db8:b::1'
    i4 = ip4('198.51.100.1', '203.0.113.1', 17,
             udp('198.51.100.1', '203.0.113.1', 1234, 5678, b'eesp vector three'), ident=0)
    return dict(
        V1=udp('192.0.2.1', '192.0.2.2', 4000, 5000, b'eesp vector one'),
        V2=ip6(a6, b6, 17, udp(a6, b6, 1234, 5678, b'eesp vector two')),
        V3=i4,
        V4=udp('2001:db8::1', '2001:db8::2', 1234, 5678, b'eesp vector four'),
        V5=udp(a6, b6, 1234, 5678, b'eesp vector five'))


# eesp.md §11.1-§11.5: (SN, Session ID, NH, header size, AAD, nonce, plaintext,
# ciphertext || ICV, outer IP header, {Session ID: KEYMAT_sub})
VECTORS = {
    'V1': (1, 0, 17, 28, '800000000000100100000000000000010000000000000001',
           'a0a1a2a3' '0000000000000001',
           '000011010fa0138800173ee66565737020766563746f72206f6e6500',
           '46710df3632464d8877b78f1be61e71631847ce0e29af282029fee101ba1626e'
           'b9f4226a74383cb0e2a0bde0',
           '450000580001400040feb5a3c0000201c0000202', None),
    'V2': (5, 2, 41, 24, '800000020000100200000000000000050000000000000005',
           '2adf5677' '0000000000000005',
           '6000000000171140' '20010db8000a0000000000000000000120010db8000b0000'
           '000000000000000104d2162e0017608065657370207665637' '46f722074776f00',
           '6621b85205101b6f87fda0f6075531ea5068c8a55a728bb390003ae68fc3f25f'
           'dfdce9152b94c080ee098f5c9ff1e81c3d2f8caadfe02abd43e53ad47f763af5'
           '060ac296a1f799e02a8220cad58cb78c',
           '600000000068fe40' '20010db8000000000000000000000001' '20010db8000000000000000000000002',
           {0: '472a557f71f01e8d125da03ec21f6b77' '0f62b36f',
            1: 'bfb9feca177e0964367d975ca7e41bd6' '4f44224a',
            2: 'ff310692d434706c1b4f90b350c5b194' '2adf5677',
            3: '4738d113cd2ec25b5b4ae1eba194d287' '6d74b7a7'}),
    'V3': (0x100000001, 0, 4, 32,
           '800400000000100302021c800000000100000001000000010000000100000403'
           '4500002d000040004011d489c6336401cb00710104d2162e0019ed77',
           'a0a1a2a3' '0000000100000001',
           '6565737020766563746f72207468726565000000',
           'f60da77bf58f3fc1a380e2d66dfb61c6dccdfe63a354c982f05e9a7eca1fc699'
           '2887d6b7',
           '450000740001400040feb587c0000201c0000202', None),
    'V4': (7, 0, 17, 24, '8004000000001004010200000000000000000007',
           'a0a1a2a3' '0000000000000007',
           '0000110004d2162e001868286565737020766563746f7220666f7572',
           'ac9bab97bbde83f72fa05ec49895a0490cee950eaaf530f60bcf592a80c90566'
           '68881f4069cfbdd72f1fa469',
           '600000000040fe40' '20010db8000000000000000000000001' '20010db8000000000000000000000002', None),
    'V5': (1, 1, 17, 32, '80040001000010050102000000000000000000010000000000000001',
           '58d74111' '0000000000000001',
           '0000110004d2162e001867276565737020766563746f722066697665',
           '8a2c68dca91d2ecc06cd7ea1e1ea6261366dd22f422f9199dce07e712dabd523'
           '96e5d27f58694d12c26a7885',
           '600000000048fe40' '20010db8000000000000000000000001' '20010db8000000000000000000000002',
           {0: 'd3266d3e311626f32d13ab1919138a35fb33f3f7a465df1d5cd222528563feb2'
               '239dacf5',
            1: 'bc435472e3a65f445e39ed5960b0f5c1f3a2e83994592b3a52d3cc860f9e6c42'
               '58d74111'}),
}

# eesp.md §11.6 packets (whole IP packets, hex)
PACKETS = {
    'N1': '450000580001400040feb5a3c0000201c0000202000000000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ace504a6cf8f3322ec6e373cae39e7bddb',
    'N2': '450000580001400040feb5a3c0000201c0000202880000000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac48a2594d4df8ca5b3fa928bbe2f0fa1d',
    'N3': '450000580001400040feb5a3c0000201c0000202810000000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac06105b6833b53c62bc2bdaf64e3b1ea5',
    'N4': '4500001b0001400040feb5e0c0000201c000020280000000000010',
    'N5': '450000580001400040feb5a3c0000201c000020280ff00000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac8132c51e03400925cf013da7776cc5ff',
    'N5b': '450000360001400040feb5c5c0000201c000020280000000000010010000000000000001000000000000000146710df3632464d8877b',
    'N6': '600000000040fe4020010db800000000000000000000000120010db800000000000000000000000280040000000010040103000000000000000000080726506d535beea8b02332467771f1027b65a3922c0cfd9cef43d71426ef091507f8d5bf50bd81044bacac25',
    'N6b': '600000000040fe4020010db800000000000000000000000120010db800000000000000000000000280040000000010040000000100000000000000080726506d535beea8b02332467771f1027b65a3922c0cfd9cef43d71480a1bcc1c047e77bd7b04742e2f99b75',
    'N7': '450000780001400040feb583c0000201c00002028008000000001003020220800202208000000000000000020000000000000002000004034500002d000040004011d489c6336401cb00710104d2162e0019ed77c443150d9130cea479cfc916e96afe6c2083512dc8da32d9646870abe6217c4146da1b19',
    'N8': '4500005c0001400040feb59fc0000201c0000202800400000000100102021c100000000000000002000000000000000200001101ae8675f5b151952168c5c846bd74e96a31ec230d54f9df67123fdabfd8fd283694cf1d17cc2947dc',
    'N9': '450000740001400040feb587c0000201c0000202800400000000100302021c9000000000000000020000000000000002000004034500002d000040004011d489c6336401cb00710104d2162e0019ed77656573708150031ec529d9e779c8c953f8028c091cceffab5abcce4c905a6d050c3ee664',
    'N10': '450000740001400040feb587c0000201c000020280040000000010030202188000000000000000020000000000000002000004034500002d000040004011d489c6336401cb00710104d2162e0019ed77c443150d9130cea479cfc916e96afe6c2083512d8dad4a8cce6c24661eb86cb9a2c3fcd5',
    'N11': '450000580001400040feb5a3c0000201c0000202800400000000100302021c8000000000000000020000000000000002000004004500001400004000403bd478c6336401cb00710102f6fa1b9222415950d663944d2527a2',
    'N12': '600000000068fe4020010db800000000000000000000000120010db8000000000000000000000002800000040000100200000000000000010000000000000001b5660431f455519f0687f5079013727a0ea90a2a3b126ccc66c182c762bb38adc3e871e800596b2c4bc24fd98c562decf45cddc48892b2bdc4e7a05dafbe3cacff570c33ecb62b066192c8896abc8a31',
    'N12b': '600000000068fe4020010db800000000000000000000000120010db80000000000000000000000028000ffff0000100200000000000000010000000000000001e7527924ad7eb9265f0ac3b3d1b2bf01801682a3e40bf3d32a6dc979d51dd71b81c6f47ea7d801fb7a28d01f6930db5917ec9ae2d68544f02302d5082e437975b342e93a7c50a2e9fcd77e4a27d719cd',
    'N12c': '450000580001400040feb5a3c0000201c0000202800000010000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac602ec9069fbddadda6b6e45a0275f683',
    'N13': '450000580001400040feb5a3c0000201c00002028000000000001001000000000000000000000000000000008a5ddf9c482f27e753d114c514af08d04cfeb094670fd15510d649a80583d82d2659025ec6c409fa3a7d1f47',
    'N14': '450000580001400040feb5a3c0000201c000020280000000000010010000000000000001000000000000000146710df3632464d8877b78f1be61e71631847ce0e29af282029fee101ba1626eb9f4226a74383cb0e2a0bde0',
    'N15prep': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000c800000000000000c82fe43d54cbd2dd266095b71f2747a57aec7421d201f739327054eef16e4d0fdbc70fd6297ed8eef7de15a021',
    'N15': '450000580001400040feb5a3c0000201c00002028000000000001001000000000000008800000000000000885839baf0d0603340ee4540db89922c2f2de1af63b078a9d6f600a2df9b3e08ee994b51e8a1e45dd2858632d1',
    'P15': '450000580001400040feb5a3c0000201c00002028000000000001001000000000000008900000000000000890322c0d76d47dd281f0a44f2f5c0d6ec99b76433b81b9402a8be5ab2272579a423f2bc2914fe586123928291',
    'P16': '600000000068fe4020010db800000000000000000000000120010db80000000000000000000000028000000000001002000000000000000500000000000000050427e34d761407eac0ac3c3156b2bd682bd7462ae5b620af8d8da4aa729136f440fddaec32783062dbc071681bcc18c6dc519e01a379cdadf5139f8a3908068b815ed4bd9c2d82b280f6ca8d88aaf971',
    'N16': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128acb0dfedfe500b4cbe18c638feef97fe23',
    'N16b': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000003a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128acb0dfedfe500b4cbe18c638feef97fe22',
    'N16c': '600000000068fe4020010db800000000000000000000000120010db80000000000000000000000028000000300001002000000000000000100000000000000016fdbabf7d8226636145f0f0eaf4129c024db564a945aa718d514bd3d938f42bca6b913792982dc425c093e78f0463a9d853413036415028098d8bd367edaf86ed10aa5aa531e96eaef1001a773b65dfd',
    'N17': '600000000068fe4020010db800000000000000000000000120010db800000000000000000000000280000002000010020000000000000006000000000000000603662633938ceae29dda3f809e4a115c7a5a4bcdca044dece7c6db10917c2e881a2bd3fa00d827d4ceaca9a5428cc0117ca9fcf6147502eb470ba2bb6de31ece510ddad8d38ba2873788ba53d57d99bf',
    'N18': '600000000068fe4020010db800000000000000000000000120010db8000000000000000000000002800000020000100200000000000000060000000000000006672ccea93a7031aa3d48ec477f858f9a418f72cd33e030cb5c21ecea9f8c788069f6592c661b13cf9995c4a57cac3c2102bef21d181e95f49f44647e51313c9c7fe00414aa62a600b40d15492d09136f',
    'N18b': '600000000048fe4020010db800000000000000000000000120010db8000000000000000000000002800400010000100501020000000000000000000200000000000000023a636343baa53bf8a061cd6b045439b0b6e26dfc4c9286ff73a5a39d5a4be99302f4c89df21c373d5a82dbeb',
    'N19': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002b126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac6f00435a67111f197adab346578d7263',
    'N19b': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002e126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac4ba1576e8c62022390b4161c0ffdcf24',
    'N20': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002a1267764bee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128aca92db0ad6072ba928fbc4c2dfd599ac6',
    'P21': '450000480001400040feb5b3c0000201c0000202800000000000100100000000000000020000000000000002a1265d7db146abc70da0bb3695efd57b679390768278b2644726352d',
    'N22': '600000000068fe4020010db800000000000000000000000120010db800000000000000000000000280000002000010020000000000000006000000000000000676bf7e551b21a77aadf5b3a2473a29af5658818e8ed591027f06468546477da3cd929fcd5a489c804195c01a56605527b5baca3521c6d1f0d65fd063eacee50724f3648dc780ac17fcb967c59219d8a6',
    'N23': '600000000068fe4020010db800000000000000000000000120010db800000000000000000000000280000002000010020000000000000006000000000000000646bf7e551b2fa77aadf5b3a2473a29af5658818e8ed591027f06468546477da3cd929fcd5a489c804195c01a56605527b5baca3521c6d1f0d65fd063eacee507750e4376bf569c55f623b92c5d2530f7',
    'N23b': '600000000044fe4020010db800000000000000000000000120010db800000000000000000000000280000002000010020000000000000006000000000000000616bf6f551feaa0148de3de9a22555adf762ee4edfabae3232b70243dd1829d896bd4736d5d228c29b3859c6c',
    'N24': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128acb0dfedfe500b4cbe18c638feef97fe22',
    'N25': '45000044000140004032b683c0000201c0000202000010010000000200000000000000020000000000000000000000000000000000000000000000000000000000000000',
    'P26': '600000000040fe4020010db800000000000000000000000120010db800000000000000000000000280040000000010040102abcd00000000000000080726506d535beea8b02332467771f1027b65a3922c0cfd9cef43d714d3dc6ec46683e11d1683e8cbbb9096d7',
    'P27': '4500005c0001400040feb59fc0000201c00002028004000000001001e002123400000000000000020000000000000002a126777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128ac9d7b4df37a3973977a98c366f3a636cf',
    'P27b': '600000000040fe4020010db800000000000000000000000120010db800000000000000000000000280040000000010040301ff0000000000000000080726506d535beea8b02332467771f1027b65a3922c0cfd9cef43d714f76633d03369c758230860b996b2643e',
    'P28': '450000580001400040feb5a3c0000201c0000202800000000000100100000000000000020000000000000002ab9a777cbee6b84f0db785d0f867ff7965f5344e4ff8c8470c1128aca36acac2fb9298cdad54a4f39ae31999',
    'P29': '450000740001400040feb587c0000201c0000202800400000000100302021c8f00000000000000020000000000000002000004034500002d000040004011d489c6336401cb00710104d2162e0019ed77c443150d9130cea479cfc916e96afe6c2083512da92efb31635e57debe17a620e3ce1da2',
    'P30': '450000580001400040feb5a3c0000201c0000202800400000000100302021c6000000000000000020000000000000002000004004500001400004000403bd478c6336401cb00710102f6fa1b9222415950d663944d2527a2',
    'X1': '450000780001400040feb583c0000201c00002028008000000001003020320800001010000000000000000020000000000000002000004034500002d000040004011d489c6336401cb00710104d2162e0019ed77c443150d9130cea479cfc916e96afe6c2083512d3b6a01d682d2d20c851fe4202eef1b5c',
    'X2': '450000740001400040feb587c0000201c0000202800400000000100302021c8000000000000000020000000000000002000011034500002d000040004011d489c6336401cb00710104d2162e0019ed77c443150d9130cea479cfc916e96afe6c2083512d1af4e0c5399ab7b8f04b4494b24c4f1d',
    'X3': '4500006c0001400040feb58fc0000201c0000202800000000000100300000000000000020000000000000002e4266671b146ebc74db16fbf5b31e8088e83202c3f45ac496366a0db8dc3c14c5caaa1a4d4f651e4c06e860e1b3f3f1dff3d6b96b2bc023471dc20a23570c93f',
}

# id: (SA, prep packets, expected counter or 'ok' / DUMMY)
VARIANTS = {
    'N1': ('V1', (), HEADER), 'N2': ('V1', (), VERSION), 'N3': ('V1', (), HEADER),
    'N4': ('V1', (), TRUNCATED), 'N5': ('V1', (), TRUNCATED), 'N5b': ('V1', (), TRUNCATED),
    'N6': ('V4', (), OPTION), 'N6b': ('V4', (), OPTION), 'N7': ('V3', (), OPTION),
    'N8': ('V1', (), CRYPT_OFFSET), 'N9': ('V3', (), CRYPT_OFFSET),
    'N10': ('V3', (), CRYPT_OFFSET), 'N11': ('V3', (), CRYPT_OFFSET),
    'N12': ('V2', (), SUBSA), 'N12b': ('V2', (), SUBSA), 'N12c': ('V1', (), SUBSA),
    'N13': ('V1', (), REPLAY), 'N14': ('V1', ('N14',), REPLAY),
    'N15': ('V1w64', ('N15prep',), REPLAY), 'P15': ('V1w64', ('N15prep',), 'ok'),
    'P16': ('V2', ('V2',), 'ok'), 'N16': ('V1', ('V1',), ICV), 'N16b': ('V1', (), ICV),
    'N16c': ('V2', (), ICV), 'N17': ('V2', (), ICV), 'N18': ('V2', (), ICV),
    'N18b': ('V5', (), ICV), 'N19': ('V1', (), PIH), 'N19b': ('V1', (), PIH),
    'N20': ('V1', (), PIH), 'P21': ('V1', (), DUMMY), 'N22': ('V2', (), INNER),
    'N23': ('V2', (), INNER), 'N23b': ('V2', (), INNER), 'N24': ('V1plain', (), NOT_EESP),
    'N25': ('V1', (), PLAIN_SA), 'P26': ('V4', (), 'ok'), 'P27': ('V1', (), 'ok'),
    'P27b': ('V4', (), 'ok'), 'P28': ('V1', (), 'ok'), 'P29': ('V3', (), 'ok'),
    'P30': ('V3', (), 'ok'), 'X1': ('V3', (), OPTION), 'X2': ('V3', (), INNER),
    'X3': ('V3opt', (), INNER),
}


def _variant_sas():
    s = _sas()
    gcm = bytes(range(16)) + H('a0a1a2a3')
    s['V1w64'] = EespSA(0x1001, gcm, window=64)
    s['V1plain'] = EespSA(0x1001, gcm, eesp=False)
    s['V3opt'] = EespSA(0x1003, gcm, mode='tunnel')
    return s


def _outcome(rx, pkt):
    proto, b, _ = eesp_of_ip(pkt)
    try:
        r = rx.decode(b, proto)
    except EespDrop as e:
        return e.args[0], None
    return DUMMY if r['dummy'] else 'ok', r


def _crafted(sas, pl):
    """the §11.6 packets rebuilt from their construction rows (isolated ones
    and the sealed structural ones): id -> whole IP packet"""
    v1, v2, v3, v4, v5 = (sas[k] for k in ('V1', 'V2', 'V3', 'V4', 'V5'))
    w, e = wrap, eesp_encode
    i20 = bytearray(ip4('198.51.100.1', '203.0.113.1', 59, b'', ident=0))
    i2 = bytearray(pl['V2'])
    c = {
        'N1': w(v1, e(v1, pl['V1'], 2, octet0=0x00)['octets']),
        'N2': w(v1, e(v1, pl['V1'], 2, octet0=0x88)['octets']),
        'N3': w(v1, e(v1, pl['V1'], 2, octet0=0x81)['octets']),
        'N4': w(v1, e(v1, pl['V1'], 1)['octets'][:7]),
        'N5': w(v1, e(v1, pl['V1'], 2, optlen=255)['octets']),
        'N5b': w(v1, e(v1, pl['V1'], 1)['octets'][:34]),
        'N6': w(v4, e(v4, pl['V4'], 8, options=H('01030000'))['octets']),
        'N6b': w(v4, e(v4, pl['V4'], 8, options=H('00000001'))['octets']),
        'N7': w(v3, e(v3, pl['V3'], 2, nh=4, options=H('0202208002022080'))['octets']),
        'N8': w(v1, e(v1, pl['V1'], 2, options=H('02021c10'), clear_words=1)['octets']),
        'N9': w(v3, e(v3, pl['V3'], 2, nh=4, options=H('02021c90'), clear_words=9)['octets']),
        'N10': w(v3, e(v3, pl['V3'], 2, nh=4, options=H('02021880'))['octets']),
        'N12': w(v2, e(v2, pl['V2'], 1, sid=4, keymat=sskdf(v2.kdf, v2.key, 4, 20))['octets']),
        'N12b': w(v2, e(v2, pl['V2'], 1, sid=0xffff,
                        keymat=sskdf(v2.kdf, v2.key, 0xffff, 20))['octets']),
        'N12c': w(v1, e(v1, pl['V1'], 2, sid=1)['octets']),
        'N13': w(v1, e(v1, pl['V1'], 0)['octets']),
        'N14': w(v1, e(v1, pl['V1'], 1)['octets']),
        'N15prep': w(v1, e(v1, pl['V1'], 200)['octets']),
        'N15': w(v1, e(v1, pl['V1'], 136)['octets']),
        'P15': w(v1, e(v1, pl['V1'], 137)['octets']),
        'P16': w(v2, e(v2, pl['V2'], 5, sid=0)['octets']),
        'N17': w(v2, e(v2, pl['V2'], 6, sid=2, keymat=v2.keymat(1))['octets']),
        'N18': w(v2, e(v2, pl['V2'], 6, sid=2, keymat=v2.key[:20])['octets']),
        'N18b': w(v5, e(v5, pl['V5'], 2, sid=1, keymat=v5.key[:36])['octets']),
        'N19': w(v1, e(v1, pl['V1'], 2, pih=H('10001101'))['octets']),
        'N19b': w(v1, e(v1, pl['V1'], 2, pih=H('40001101'))['octets']),
        'N20': w(v1, e(v1, pl['V1'], 2, pih=H('00001119'))['octets']),
        'P21': w(v1, e(v1, bytes(8), 2, nh=59)['octets']),
        'N24': w(v1, e(v1, pl['V1'], 2)['octets']),
        'P26': w(v4, e(v4, pl['V4'], 8, options=H('0102abcd'))['octets']),
        'P27': w(v1, e(v1, pl['V1'], 2, options=H('e0021234'))['octets']),
        'P27b': w(v4, e(v4, pl['V4'], 8, options=H('0301ff00'))['octets']),
        'P28': w(v1, e(v1, pl['V1'], 2, pih=H('0abc1101'))['octets']),
        'P29': w(v3, e(v3, pl['V3'], 2, nh=4, options=H('02021c8f'))['octets']),
        'P30': w(v3, e(v3, bytes(i20), 2, nh=4)['octets']),
        'X1': w(v3, e(v3, pl['V3'], 2, nh=4, options=H('0203208000010100'), clear_words=8)['octets']),
        'X2': w(v3, e(v3, pl['V3'], 2, nh=17)['octets']),
    }
    i2[4:6] = struct.pack('!H', 25)
    c['N22'] = w(v2, e(v2, bytes(i2), 6, sid=2)['octets'])
    i2 = bytearray(pl['V2'])
    i2[0] = 0x50
    c['N23'] = w(v2, e(v2, bytes(i2), 6, sid=2)['octets'])
    c['N23b'] = w(v2, e(v2, H('00001100') + pl['V2'][40:], 6, sid=2)['octets'])
    i3 = bytearray(pl['V3'])
    i3[2:4] = struct.pack('!H', 12)     # the header checksum is left as it was
    c['X3'] = w(sas['V3opt'], e(sas['V3opt'], bytes(i3), 2)['octets'])
    b = bytearray(e(v3, bytes(i20), 2, nh=4)['octets'])
    b[10:12] = H('1c80')
    c['N11'] = w(v3, bytes(b))
    b = bytearray(c['N24'])
    b[-1] ^= 1                          # the last ICV bit
    c['N16'] = bytes(b)
    b[-1] ^= 1
    b[20 + 23] ^= 1                     # the last IV bit: AAD and nonce
    c['N16b'] = bytes(b)
    b = bytearray(e(v2, pl['V2'], 1, sid=3)['octets'])
    b[24] ^= 1                          # the first ciphertext octet's bit 0
    c['N16c'] = w(v2, bytes(b))
    esp = struct.pack('!IIQ', 0x1001, 2, 2) + bytes(32)
    c['N25'] = wrap(v1, esp, proto=ESP_PROTO)
    return c


def vectors(chk):
    """eesp.md §11 both ways; chk(name, got, want) records one point each"""
    sas, pl = _sas(), _payloads()
    _aead('gcm', bytes(16))             # imports cryptography (python3 -S: site dirs)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    for name, (sn, sid, nh, hsize, aad, nonce, pt, ct, outer, kms) in VECTORS.items():
        sa = sas[name]
        for s, km in sorted((kms or {}).items()):
            chk('%s KEYMAT_sub(%d)' % (name, s), sskdf(sa.kdf, sa.key, s, sa.keymat_len()), H(km))
            ref = HKDFExpand({'hkdf-sha256': hashes.SHA256(), 'hkdf-sha384': hashes.SHA384()}[
                sa.kdf], sa.keymat_len(), struct.pack('!H', s)).derive(sa.key)
            chk('%s KEYMAT_sub(%d) = cryptography HKDFExpand' % (name, s), H(km), ref)
        r = eesp_encode(sa, pl[name], sn, sid, nh)
        pkt = wrap(sa, r['octets'])
        chk(name + ' header size', r['hdr_size'], hsize)
        chk(name + ' AAD', r['aad'], H(aad))
        chk(name + ' nonce', r['nonce'], H(nonce))
        chk(name + ' plaintext', r['pt'], H(pt))
        chk(name + ' ciphertext || ICV', r['octets'][len(r['aad']):], H(ct))
        chk(name + ' packet = outer IP | AAD | ciphertext || ICV', pkt,
            H(outer) + H(aad) + H(ct))
        rx = EespRx(sa)
        got, d = _outcome(rx, pkt)
        chk(name + ' decode', (got, d and d['payload'], d and d['nh'], d and d['sid'],
                               d and d['sn']), ('ok', pl[name], nh, sid, sn))
        chk(name + ' decode again: replay', _outcome(rx, pkt)[0], REPLAY)
    # §11.6: the spec's packets through the receiver
    vsas = _variant_sas()
    vpk = dict((k, H(v)) for k, v in PACKETS.items())
    for k in ('V1', 'V2'):
        vpk[k] = wrap(vsas[k], eesp_encode(vsas[k], pl[k], VECTORS[k][0], VECTORS[k][1],
                                           VECTORS[k][2])['octets'])
    for vid, (san, prep, want) in VARIANTS.items():
        rx = EespRx(_variant_sas()[san])
        ok = all(_outcome(rx, vpk[p])[0] == 'ok' for p in prep)
        chk('%s (%s SA): %s' % (vid, san, want), _outcome(rx, vpk[vid])[0] if ok else 'prep',
            want)
    # the rows' side conditions
    sa = _variant_sas()['V2']
    rx = EespRx(sa)
    _outcome(rx, vpk['N12'])
    chk('N12: no key derivation, no window for Session ID 4', (sa.derived(), rx.windows), ([], {}))
    sa5 = EespSA(0x1002, bytes(range(32)), mode='tunnel', ipv6=True, sub_sas=5)
    chk('N12 isolated: with N = 5 it is accepted', _outcome(EespRx(sa5), vpk['N12'])[0], 'ok')
    rx = EespRx(_variant_sas()['V1'])
    good = bytearray(vpk['N16'])
    good[-1] ^= 1
    chk('N16: window unchanged, the genuine SN 2 accepted after',
        [_outcome(rx, p)[0] for p in (vpk['V1'], vpk['N16'], bytes(good))], ['ok', ICV, 'ok'])
    rx = EespRx(_variant_sas()['V2'])
    chk('N16c: no window for Session ID 3', (_outcome(rx, vpk['N16c'])[0], rx.windows), (ICV, {}))
    rx = EespRx(_variant_sas()['V2'])
    chk('P16: one window per Sub SA', ([_outcome(rx, vpk[p])[0] for p in ('V2', 'P16')],
                                       sorted(rx.windows)), (['ok', 'ok'], [0, 2]))
    rx = EespRx(_variant_sas()['V1'])
    chk('P21: the dummy advances the window',
        [_outcome(rx, vpk['P21'])[0], _outcome(rx, vpk['P21'])[0]], [DUMMY, REPLAY])
    # the crafted packets rebuilt from their construction rows
    for vid, pkt in _crafted(_variant_sas(), pl).items():
        chk('%s rebuilt from its construction' % vid, pkt, vpk[vid])
    # no (key, nonce) pair twice over every vector and variant that opens
    seen, dup = set(), 0
    for k in ('V1', 'V2', 'V3', 'V4', 'V5'):
        dup += not nonce_key_unique(seen, eesp_encode(sas[k], pl[k], *VECTORS[k][:3]))
    chk('vectors: no (key, nonce) pair twice', dup, 0)
