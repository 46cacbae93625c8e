# SPDX-License-Identifier: GPL-2.0
"""espx_echo: the ESP Echo message of esp-echo.md in Python, independent of
net/espx/codec/echo_codec.c: the 12-octet header (§3), the reply made from a
request, and the §8 examples octet for octet (the encrypted one through
espx_py.codec.esp_seal, i.e. python3-cryptography's AES-GCM). Used by
espx_pkt.py's echo-* subcommands."""
import struct

NH_AGGFRAG = 144
HDR_LEN = 12
R = 0x80
SPI_REQ = 7
SPI_REP = 8


def header(subtype, flags, dlen, ident, seq, reply_spi):
    return struct.pack('!BBHHHI', subtype, flags, dlen, ident, seq, reply_spi)


def message(subtype=2, flags=R, ident=0x1234, seq=1, reply_spi=0, data=b'',
            dlen=None):
    """Header + Data; dlen overrides the Data Length field."""
    return header(subtype, flags, len(data) if dlen is None else dlen, ident,
                  seq, reply_spi) + data


def parse(p):
    """dict of the header fields and Data, or None if shorter than 12"""
    if len(p) < HDR_LEN:
        return None
    st, fl, dl, ident, seq, spi = struct.unpack('!BBHHHI', p[:HDR_LEN])
    return {'subtype': st, 'flags': fl, 'r': bool(fl & R), 'dlen': dl,
            'ident': ident, 'seq': seq, 'reply_spi': spi, 'data': p[HDR_LEN:],
            'length_ok': HDR_LEN + dl == len(p)}


def reply(req, rep_subtype=3, room=None):
    """The reply to request payload req: Sub-Type changed, Data cut to room."""
    n = len(req) if room is None else min(len(req), room)
    if n < HDR_LEN:
        return None
    return bytes([rep_subtype]) + req[1:2] + struct.pack('!H', n - HDR_LEN) + \
        req[4:n]


def trailer(n, blk=4):
    pl = -(n + 2) % blk
    return bytes(range(1, pl + 1)) + bytes([pl, NH_AGGFRAG])


def pattern(n):
    return bytes(i & 0xff for i in range(n))


def ipv4(src, dst, proto, payload):
    h = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0,
                              0x4000, 64, proto, 0, bytes(src), bytes(dst)))
    s = sum(struct.unpack('!10H', h))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    h[10:12] = struct.pack('!H', ~s & 0xffff)
    return bytes(h) + payload


def vectors(chk, esp_seal):
    """esp-echo.md §8; chk(name, got, want), esp_seal from espx_py.codec"""
    req = message(data=b'ping', reply_spi=0x2001)
    chk('§8 request plaintext', req + trailer(len(req)),
        bytes.fromhex('02800004123400010000200170696e6701020290'))
    chk('§8 reply plaintext', reply(req) + trailer(16),
        bytes.fromhex('03800004123400010000200170696e6701020290'))
    ow = message(flags=0, seq=2)
    chk('§8 one-way probe', ow + trailer(len(ow)),
        bytes.fromhex('0200000012340002000000000102' '0290'))
    key = bytes(range(16)) + bytes.fromhex('a0a1a2a3')
    esp = esp_seal('gcm', key, 16, 0x1001, 1, struct.pack('!Q', 1),
                   req + trailer(len(req)))
    a, b = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
    chk('§8 encrypted IPv4 request', ipv4(a, b, 50, esp), bytes.fromhex(
        '4500004800004000 4032b680c0000201 c000020200001001 0000000100000000'
        '0000000144f11cf6 7eb07751876c6616 ab6dfa0110f01b13 6a7a3a75b6130c7a'
        '54017a07f733c25c'.replace(' ', '')))
    plain = message(data=b'ping', reply_spi=SPI_REP)
    pkt = ipv4(a, b, 50, struct.pack('!II', SPI_REQ, 0) + plain +
               trailer(len(plain)))
    chk('§8 unencrypted SPI 7 request', pkt, bytes.fromhex(
        '4500003000004000 4032b698c0000201 c000020200000007 0000000002800004'
        '1234000100000008 70696e6701020290'.replace(' ', '')))
    rp = reply(plain)
    pkt = ipv4(b, a, 50, struct.pack('!II', SPI_REP, 0) + rp + trailer(len(rp)))
    chk('§8 unencrypted SPI 8 reply', pkt, bytes.fromhex(
        '4500003000004000 4032b698c0000202 c000020100000008 0000000003800004'
        '1234000100000008 70696e6701020290'.replace(' ', '')))
