# SPDX-License-Identifier: GPL-2.0
"""The spec vectors: ESP, WESPv2, counter SAs, Diet-ESP, EESP and ESP Echo
codecs checked octet for octet against the pinned specs."""
import struct
import sys
from .frames import (IPPROTO_UDP, IPPROTO_WESP, outer_ip, pton, ipv4_header, ipv6_header,
                     udp_datagram)
from .codec import (ALGS, CTR_SEQ_MAX, echo_codec, ctr_build, ctr_fields, esp_open, esp_seal,
                    trailer, wesp_aad, wesp_build, wesp_open)
from .diet import (DIET_PROTO, DietDrop, DietSA, beet_addrs, diet_aad, diet_ctec, diet_decode,
                   diet_eec, diet_encode, diet_iipc_compress, diet_inner, diet_plain_len,
                   diet_residue_bits, diet_saving, diet_sn_rebuild)


def cmd_echo_vectors(a):
    """esp-echo.md section 8 through espx_echo.py"""
    chk = Checker()
    echo_codec().vectors(chk, esp_seal)
    if chk.fails:
        raise SystemExit(1)


class Checker:
    """chk(name, got, want) of the *-vectors commands: one ok/FAIL line each,
    both values in hex on a failure; .fails counts them"""

    def __init__(self):
        self.fails = 0

    def __call__(self, name, got, want):
        ok = got == want
        self.fails += not ok
        print('%s %s' % ('ok' if ok else 'FAIL', name))
        if not ok:
            print('  got  ' + (got.hex() if isinstance(got, bytes) else repr(got)))
            print('  want ' + (want.hex() if isinstance(want, bytes) else repr(want)))


class KtapChecker:
    """Checker with KTAP output: the points are printed at the end, plan
    first (the host's unit-test runner counts them)"""

    def __init__(self):
        self.fails, self.lines = 0, []

    def __call__(self, name, got, want):
        ok = got == want
        self.fails += not ok
        self.lines.append('%sok %d %s' % ('' if ok else 'not ', len(self.lines) + 1, name))
        if not ok:
            self.lines.append('# got  ' + (got.hex() if isinstance(got, bytes) else repr(got)))
            self.lines.append('# want ' + (want.hex() if isinstance(want, bytes) else repr(want)))

    def done(self):
        n = sum(1 for x in self.lines if not x.startswith('#'))
        print('TAP version 13\n1..%d' % n)
        print('\n'.join(self.lines))
        print('# totals: pass:%d fail:%d' % (n - self.fails, self.fails))


def cmd_eesp_vectors(a):
    """eesp.md section 11 through the independent Python codec (espx_eesp.py)"""
    import espx_eesp
    chk = KtapChecker() if a.ktap else Checker()
    espx_eesp.vectors(chk)
    if a.ktap:
        chk.done()
    sys.exit(1 if chk.fails else 0)


def cmd_vectors(a):
    h = bytes.fromhex
    key16 = bytes(range(16))
    chk = Checker()
    udp = h('04d2162e000c8201') + b'ping'
    pt = udp + trailer(len(udp), 17)
    chk('trailer', pt[-4:], h('01020211'))
    pkt = h('0000100000000001' '0000000000000001' '42a30adc6c88f551f7052870'
            'da0696770f88d35cca33ab6f3a4d12c9438a1050')
    blob = key16 + h('a0a1a2a3')
    iv1 = h('0000000000000001')
    chk('gcm128 esp-baseline 9', esp_seal('gcm', blob, 16, 0x1000, 1, iv1, pt), pkt)
    chk('gcm128 open', esp_open('gcm', blob, 16, pkt) or b'', pt)
    esn = esp_seal('gcm', blob, 16, 0x1000, 5, h('0000000100000005'), pt, esn_hi=1)
    chk('gcm128 esn', esn[16:], h('dcbcd31918ac5ce222df9c5570b923c2'
                                  '566431f018901320 24d0ac1f7a037b35'.replace(' ', '')))
    cc = esp_seal('chacha', bytes(range(32)) + h('a0a1a2a3'), 16, 0x1000, 1, iv1, pt)
    chk('chacha20poly1305', cc[16:], h('230e23e05ab9d87179faa5731dcbc2bf'
                                       '483f0a4b720e7463024fcfd61f1d3b2d'))
    beet = h('04d2162e000cf202') + b'ping'
    chk('beet A', esp_seal('gcm', blob, 16, 0x5000, 1, iv1,
                           beet + trailer(len(beet), 17))[16:],
        h('42a30adc6c888552f7052870da069677f3d807699c7e4ef2f8f596186974ceb6'))
    for alg, kl in (('ccm', 16), ('gmac', 16), ('gcm', 32)):
        b = bytes(range(kl)) + h('a0a1a2a3')[:ALGS[alg][0]]
        for icv in ((8, 12, 16) if alg != 'gmac' else (16,)):
            p = esp_seal(alg, b, icv, 0x77, 9, iv1, pt)
            chk('%s-%d icv %d round trip' % (alg, kl * 8, icv),
                esp_open(alg, b, icv, p) or b'', pt)
    sys.exit(1 if chk.fails else 0)


def cmd_wesp_vectors(a):
    """wespv2.md §10 A and B, byte for byte, both directions"""
    h = bytes.fromhex
    chk = Checker()
    gcm16 = bytes(range(16)) + h('a0a1a2a3')
    # A: IPv4 transport, CryptOffset 0, no options
    udp = udp_datagram('192.0.2.1', '192.0.2.2', 1234, 5678, b'ping')
    chk('A udp', udp, h('04d2162e000c8201') + b'ping')
    w = wesp_build('gcm', gcm16, 16, udp, 17, 0x2000, 1, 0, False)
    chk('A header', w[:4], h('3b140040'))
    chk('A aad', wesp_aad(w[:4], 0x2000, 1, b''), h('3b14004000002000 00000001'.replace(' ', '')))
    pkt_a = h('4500004800014000408db624c0000201c00002023b1400400000200000000001'
              '000000000000000142a30adc6c88f551f7052870da0696772b1745ebccb9bc1a'
              'ddbe79220ced89bc')
    chk('A packet', ipv4_header('192.0.2.1', '192.0.2.2', IPPROTO_WESP, len(w)) + w, pkt_a)
    f, pt = wesp_open('gcm', gcm16, 16, pkt_a[20:])
    chk('A open', pt, udp + trailer(len(udp), 17))
    # B: IPv6 tunnel, CryptOffset 2, PadN option
    s6, d6 = '2001:db8:1::1', '2001:db8:2::1'
    inner = ipv6_header(s6, d6, IPPROTO_UDP, 12) + udp_datagram(s6, d6, 1234, 5678, b'ping')
    w = wesp_build('gcm', gcm16, 16, inner, 41, 0x3000, 1, 2, True)
    chk('B header', w[:8], h('2918084401020000'))
    chk('B aad', wesp_aad(w[:8], 0x3000, 1, inner[:8]),
        h('291808440102000000003000000000016000000000 0c1140'.replace(' ', '')))
    pkt_b = h('6000000000608d4020010db8000000000000000000000001'
              '20010db80000000000000000000000022918084401020000'
              '000030000000000100000000000000016000000000 0c1140'.replace(' ', '') +
              '66 70 11 4a 6c 85 77 50 87 6c 46 17 db 04 94 67 31 f3 14 3b 96 f7 80 a2'
              '6d f1 8b 10 1c a6 5f 13 ef 29 d8 85 25 3d 3a 59 40 63 8a df ce 2e bd 3d'
              'b7 a0 85 56 e9 b4 a6 2d 91 ed b9 1f b9 7c e4 32'.replace(' ', ''))
    chk('B packet', ipv6_header('2001:db8::1', '2001:db8::2', IPPROTO_WESP, len(w)) + w, pkt_b)
    f, pt = wesp_open('gcm', gcm16, 16, pkt_b[40:])
    chk('B open', (f['clear'] + pt) if pt else b'', inner + trailer(len(inner) - 8, 41))
    # the helpers for the other AEADs and ICV lengths: round trips, and a
    # flipped AAD octet must fail
    for alg, kl, icvs in (('gcm', 16, (8, 12, 16)), ('gcm', 32, (16,)), ('chacha', 32, (16,))):
        b = bytes(range(kl)) + h('a0a1a2a3')
        for icv in icvs:
            w = bytearray(wesp_build(alg, b, icv, inner, 41, 0x77, 5, 63, True, esn_hi=3))
            f, pt = wesp_open(alg, b, icv, w, esn_hi=3)
            name = '%s-%d icv %d' % (alg, kl * 8, icv)
            chk(name + ' round trip', (f['clear'] + pt) if pt else b'',
                inner + trailer(len(inner) - 4 * f['c'], 41))
            chk(name + ' IV = be64(SN64)', f['iv'], struct.pack('!II', 3, 5))
            w[2] ^= 1
            chk(name + ' R bit authenticated', wesp_open(alg, b, icv, w, esn_hi=3)[1] or b'', b'')
    sys.exit(1 if chk.fails else 0)


def cmd_ctr_vectors(a):
    """multi-counters.md §8, octet for octet, and the inference cases"""
    h = bytes.fromhex
    chk = Checker()
    gcm16 = bytes(range(16)) + h('a0a1a2a3')
    s6, d6 = '2001:db8::1', '2001:db8::2'
    seq = 0x100000002
    udp = udp_datagram(s6, d6, 1234, 5678, b'ping')
    w = ctr_build('gcm', gcm16, 16, udp, 17, 0x4000, 5, seq, 0)
    chk('8 WESPv2 header', w[:8], h('3b1800441b020005'))
    chk('8 ESP header', w[8:16], h('0000400000000002'))
    chk('8 IV', w[16:24], h('0005000100000002'))
    chk('8 AAD', wesp_aad(w[:8], 0x4000, seq & 0xffffffff, b'', seq >> 32),
        h('3b1800441b0200050000400000000001 00000002'.replace(' ', '')))
    pkt = h('6000000000388d4020010db8000000000000000000000001'
            '20010db80000000000000000000000023b1800441b020005'
            '000040000000000200050001000000020993974a7c4dfd0a'
            'b175dab7acba6eda993bcd4af6513a5b50d810d6fa2fb881')
    chk('8 packet (96 octets)', ipv6_header(s6, d6, IPPROTO_WESP, len(w)) + w, pkt)
    f, pt = wesp_open('gcm', gcm16, 16, pkt[40:], esn_hi=seq >> 32)
    chk('8 open', pt, udp + trailer(len(udp), 17))
    chk('8 fields', ctr_fields(pkt[40:]), (5, 2, h('0005000100000002'), seq))
    f, pt = wesp_open('gcm', gcm16, 16, pkt[40:], esn_hi=0)
    chk('8 SNhi is authenticated', pt, None)

    def infer(top, w, lo):
        th, tl = top >> 32, top & 0xffffffff
        bottom = (tl - w + 1) % (1 << 32)
        if tl >= w - 1:
            hi = th + 1 if lo < bottom else th
        else:
            hi = th - 1 if lo >= bottom else th
        s = hi << 32 | lo
        return None if hi < 0 or not s or s > CTR_SEQ_MAX else hi
    chk('8 infer straddling', infer(0x100000010, 1024, 0xfffffff0), 0)
    chk('8 infer next block', infer(0x180000000, 1024, 5), 2)
    chk('8 infer same block', infer(0x180000000, 1024, 0x80000001), 1)
    chk('8 infer fresh invalid', infer(0, 1024, 0xffffff00), None)
    for alg, kl in (('gcm', 32), ('chacha', 32)):
        b = bytes(range(kl)) + h('a0a1a2a3')
        w = ctr_build(alg, b, 16, udp, 17, 0x77, 1023, CTR_SEQ_MAX, 2)
        f, pt = wesp_open(alg, b, 16, w, esn_hi=0xffff)
        chk('%s round trip, id 1023, seq 2^48-1' % alg, (f['clear'] + pt) if pt else b'',
            udp + trailer(len(udp) - 8, 17))
    sys.exit(1 if chk.fails else 0)


def cmd_diet_vectors(a):
    """diet-esp.md §8 A and B octet for octet, both directions, plus the
    saving the spec states"""
    h = bytes.fromhex
    chk = Checker()
    key = bytes(range(16)).hex() + 'a0a1a2a3'
    # A: IPv6-in-IPv6 tunnel, UDP, SN only, IIV
    sa = DietSA('spi=0xa001,key=%s,spil=0,snl=16,trailer=opt,iipc=1,dscp=sa,dscpl=0,'
                'ecn=lower,fl=lower,iiv=1,mode=tunnel,inner=6,outer=6,osrc=2001:db8::100,'
                'odst=2001:db8::1,src=2001:db8:a::1/128,dst=2001:db8:b::1/128,proto=17,'
                'sport=49152,dport=5683' % key)
    s6, d6 = '2001:db8:a::1', '2001:db8:b::1'
    data = b'temp=21.5C'
    inner = ipv6_header(s6, d6, IPPROTO_UDP, 18) + udp_datagram(s6, d6, 49152, 5683, data)
    chk('A inner (58 octets, UDP checksum 4894)', inner[40:48], h('c00016330012 4894'.replace(' ', '')))
    res, rest, lower, hl = diet_iipc_compress(sa, inner, 41)
    chk('A residue 0 bits', res, b'')
    chk('A IIPC out', rest, data)
    chk('A CTEC: trailer elided', diet_ctec(sa, 10, 41), b'')
    chk('A EEC', diet_eec(sa, 0xa001, 7), h('0007'))
    chk('A AAD', diet_aad(sa, 0xa001, 7), h('0000a00100000007'))
    esp, lower = diet_encode(sa, inner, 41, 7)
    want = h('000748d28e80e2e2c65d443a5cec0ef6088426ee38c4254b192cea25')
    chk('A Diet-ESP octets', esp, want)
    pkt = ipv6_header('2001:db8::100', '2001:db8::1', DIET_PROTO, len(esp), hlim=lower['hl']) + esp
    chk('A packet', pkt, h('60000000001cfd40') + pton('2001:db8::100') + pton('2001:db8::1') + want)
    o = outer_ip(b'\0' * 12 + b'\x86\xdd' + pkt)
    sn, back, proto, _, _ = diet_decode(sa, pkt[40:], 6, o['lower'])
    chk('A decode: SN 7 from top 6, inner packet back', (sn, back), (7, inner))
    chk('A saving 56 (84 -> 28)', (diet_saving(sa, inner, IPPROTO_UDP), 84 - len(esp)), (56, 56))
    # B: road warrior, explicit IV
    sa = DietSA('spi=0x8765c0de,key=%s,spil=16,snl=16,trailer=opt,iipc=1,dscp=sent,'
                'ecn=lower,fl=lower,mode=tunnel,inner=6,outer=6,osrc=2001:db8:c::7,'
                'odst=2001:db8::1,src=2001:db8:c::7/128,dst=::/0,proto=0' % key)
    s6, d6 = '2001:db8:c::7', '2001:db8:ffff::53'
    data = b'0123456789abcdefgh'
    inner = ipv6_header(s6, d6, IPPROTO_UDP, 26) + udp_datagram(s6, d6, 40000, 53, data)
    res, rest, lower, hl = diet_iipc_compress(sa, inner, 41)
    chk('B residue (22 octets)', res, h('0044800436e3fffc000000000000000001 4e710000d4'.replace(' ', '')))
    chk('B residue bits 174 by the table', diet_residue_bits(sa, IPPROTO_UDP), 174)
    esp, lower = diet_encode(sa, inner, 41, 0x12345)
    want = h('600000000044fd4020010db8000c00000000000000000007'
             '20010db8000000000000000000000001c0de234500000000'
             '000123457f71136fb12835545c6c8f4ba2e3db4461af20f4'
             '7f61a3264c011f118d5d9d57822695c0ded0de716ecf3c5d'
             'dee041269e780b355ccbe6ec')
    pkt = ipv6_header('2001:db8:c::7', '2001:db8::1', DIET_PROTO, len(esp), hlim=lower['hl']) + esp
    chk('B packet', pkt, want)
    o = outer_ip(b'\0' * 12 + b'\x86\xdd' + want)
    sn, back, proto, _, _ = diet_decode(sa, want[40:], 0x12340, o['lower'])
    chk('B decode: SN 0x12345 from top 0x12340, inner packet back', (sn, back), (0x12345, inner))
    chk('B saving 32 (100 -> 68)', (diet_saving(sa, inner, IPPROTO_UDP), 100 - len(esp)), (32, 32))
    # SN rebuild (§6 step 2) across a wrap, and the receiver's drops
    sa = DietSA('spi=0x1,spil=2,snl=6,w=32,key=%s' % key)
    chk('SN rebuild: top 62, bits 1 -> 65', diet_sn_rebuild(sa, 1, 62), 65)
    chk('SN rebuild: top 65, bits 62 -> 62 (reordered)', diet_sn_rebuild(sa, 62, 65), 62)
    chk('SN rebuild: top 100, bits 4 -> 132 (32 ahead)', diet_sn_rebuild(sa, 4, 100), 132)
    chk('SN rebuild: top 100, bits 5 -> 69 (oldest in the window)', diet_sn_rebuild(sa, 5, 100), 69)
    try:
        diet_sn_rebuild(sa, 0, 3)
        chk('SN rebuild: 0 dropped', 'accepted', 'sn')
    except DietDrop as e:
        chk('SN rebuild: 0 dropped', e.args[0], 'sn')
    # the other shapes: round trips through encode/decode
    shapes = (
        'mode=tunnel,inner=4,outer=4,osrc=10.0.0.1,odst=10.0.0.2,src=10.1.0.0/16,'
        'dst=10.2.0.9/32,proto=0,spil=8,snl=8,align=32,trailer=mand,dscp=sa,dscpl=0/10/46,ecn=sent',
        'mode=tunnel,inner=4,outer=6,osrc=fd00::1,odst=fd00::2,src=10.1.0.1/32,dst=10.2.0.9/32,'
        'proto=17,spil=4,snl=12,trailer=opt,dscp=lower,ecn=lower,fl=lower,alg=chacha',
        'mode=tunnel,inner=6,outer=4,osrc=10.0.0.1,odst=10.0.0.2,src=fd00:1::/64,dst=fd00:2::1/128,'
        'proto=6,spil=24,snl=16,trailer=opt,fl=zero,align=64',
        'mode=transport,outer=4,osrc=10.0.0.1,odst=10.0.0.2,proto=17,dport=7000,spil=8,snl=16,trailer=opt',
        'mode=transport,outer=6,osrc=fd00::1,odst=fd00::2,proto=0,spil=0,snl=8,trailer=mand,align=64,iiv=1',
        'mode=beet,inner=6,outer=4,osrc=10.0.0.1,odst=10.0.0.2,src=fd00:1::1/128,dst=fd00:2::1/128,'
        'proto=6,spil=32,snl=32,trailer=opt,align=16,esn=1',
        'mode=transport,outer=4,osrc=10.0.0.1,odst=10.0.0.2,proto=17,spil=2,snl=6,iipc=0,trailer=opt')
    for i, sh in enumerate(shapes):
        k = key if 'chacha' not in sh else bytes(range(32)).hex() + 'a0a1a2a3'
        sa = DietSA('spi=0x4321,key=%s,iipc=1,%s' % (k, sh) if 'iipc=' not in sh else
                    'spi=0x4321,key=%s,%s' % (k, sh))
        for tcp in ((None, 5, 7) if sa.proto in (0, 6) else (None,)):
            if tcp is None and sa.proto == 6:
                continue
            pkt, proto = diet_inner(sa, b'round trip %d' % i, tcp=tcp, dport=sa.ts['dport'][0] or 7000)
            sn = 1000 + i
            esp, lower = diet_encode(sa, pkt, proto, sn)
            lower.setdefault('hl', 64)
            addrs = ((pton(sa.osrc), pton(sa.odst)) if sa.mode == 'transport' else
                     beet_addrs(sa))
            got = diet_decode(sa, esp, sn - 3, lower, addrs)
            plain = diet_plain_len(sa, pkt)
            chk('shape %d%s: round trip, size = plain %d - saving %d' % (
                i, ' tcp doff %d' % tcp if tcp else '', plain, diet_saving(sa, pkt, proto)),
                (got[0], got[1], len(esp)), (sn, pkt, plain - diet_saving(sa, pkt, proto)))
    sys.exit(1 if chk.fails else 0)
