# SPDX-License-Identifier: GPL-2.0
"""Ethernet frames and pcap files: where the ESP packet sits in a captured
frame, and the outer IP/UDP headers of crafted ones (standard library only)."""
import socket
import struct
import time


ETH_P_ALL = 3
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
IPPROTO_ESP = 50
IPPROTO_WESP = 141
IPPROTO_UDP = 17
UDP_ENCAP = 100
UDP_ENCAP_ESPINUDP = 2
ENCAP_PORT = 4500
# the Ethernet addresses of crafted Diet-ESP frames (diet-craft --mac-src/--mac-dst)
DIET_MAC_SRC, DIET_MAC_DST = '02:00:00:00:00:0a', '02:00:00:00:00:0b'


# ---------------------------------------------------------------- pcap ----
def pcap_read(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        raise SystemExit('%s: not a pcap file' % path)
    linktype = struct.unpack(end + 'I', data[20:24])[0]
    if linktype != 1:
        raise SystemExit('%s: link type %d, want Ethernet' % (path, linktype))
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def pcap_write(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        now = time.time()
        for fr in frames:
            f.write(struct.pack('<IIII', int(now), int(now * 1e6) % 1000000,
                                len(fr), len(fr)))
            f.write(fr)


# ------------------------------------------------------- frame parsing ----
class Esp:
    """Where the ESP packet sits in an Ethernet frame."""

    def __init__(self, frame):
        self.frame = bytearray(frame)
        self.family = 0
        self.ip_off = 14
        self.udp_off = None     # offset of the UDP header (UDP encap)
        self.wesp_off = None    # offset of the WESPv2 header (IP protocol 141)
        self.nh_pos = None      # offset of the protocol field naming ESP/WESPv2
        self.frag = False       # an IP fragment (the header may not be there)
        self.off = None         # offset of the SPI
        self._parse()

    def _parse(self):
        fr = self.frame
        if len(fr) < 14:
            return
        etype = struct.unpack('!H', fr[12:14])[0]
        off = 14
        if etype == ETH_P_IP and len(fr) >= off + 20:
            self.family = 4
            ihl = (fr[off] & 0xf) * 4
            proto = fr[off + 9]
            self.nh_pos = off + 9
            self.frag = struct.unpack('!H', fr[off + 6:off + 8])[0] & 0x3fff != 0
            l4 = off + ihl
        elif etype == ETH_P_IPV6 and len(fr) >= off + 40:
            self.family = 6
            proto = fr[off + 6]
            self.nh_pos = off + 6
            l4 = off + 40
            while proto in (0, 43, 60) and len(fr) >= l4 + 8:
                self.nh_pos = l4
                proto, l4 = fr[l4], l4 + (fr[l4 + 1] + 1) * 8
            if proto == 44:
                self.frag = True
                self.nh_pos = l4
                proto, l4 = fr[l4], l4 + 8
        else:
            return
        self.l4 = l4
        if proto == IPPROTO_ESP:
            self.off = l4
        elif proto == IPPROTO_WESP:
            # WESPv2: the ESP header follows the 4-octet header and OptLen
            # octets of options; frames too short to reach the SN have no SPI
            self.wesp_off = l4
            if len(fr) >= l4 + 4 and len(fr) >= l4 + 4 + (fr[l4 + 3] & 0x3f) + 8:
                self.off = l4 + 4 + (fr[l4 + 3] & 0x3f)
        elif (proto == IPPROTO_UDP and len(fr) >= l4 + 12 and
              struct.unpack('!H', fr[l4 + 2:l4 + 4])[0] == ENCAP_PORT and
              fr[l4 + 8:l4 + 12] != b'\0\0\0\0'):
            self.udp_off = l4
            self.off = l4 + 8

    @property
    def spi(self):
        return struct.unpack('!I', self.frame[self.off:self.off + 4])[0]

    @property
    def seq(self):
        return struct.unpack('!I', self.frame[self.off + 4:self.off + 8])[0]

    def esp(self):
        return bytes(self.frame[self.off:])

    def replace_esp(self, esp):
        self.frame = self.frame[:self.off] + bytearray(esp)
        self.fix_lengths()

    def fix_lengths(self):
        fr, ip = self.frame, self.ip_off
        if self.family == 4:
            fr[ip + 2:ip + 4] = struct.pack('!H', len(fr) - ip)
            fr[ip + 10:ip + 12] = b'\0\0'
            ihl = (fr[ip] & 0xf) * 4
            fr[ip + 10:ip + 12] = struct.pack('!H', csum(fr[ip:ip + ihl]))
        else:
            fr[ip + 4:ip + 6] = struct.pack('!H', len(fr) - ip - 40)
        if self.udp_off is not None:
            u = self.udp_off
            fr[u + 4:u + 6] = struct.pack('!H', len(fr) - u)
            fr[u + 6:u + 8] = b'\0\0'
            if self.family == 6:
                ph = (bytes(fr[ip + 8:ip + 40]) +
                      struct.pack('!I3xB', len(fr) - u, IPPROTO_UDP))
                c = csum(ph + bytes(fr[u:])) or 0xffff
                fr[u + 6:u + 8] = struct.pack('!H', c)


def csum(data):
    if len(data) % 2:
        data = bytes(data) + b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), bytes(data)))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def esp_frames(path):
    out = []
    for fr in pcap_read(path):
        e = Esp(fr)
        if e.off is not None:
            out.append(e)
    return out


def ipv4_header(src, dst, proto, plen, ident=1, ttl=64):
    h = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + plen, ident, 0x4000, ttl,
                              proto, 0, socket.inet_pton(socket.AF_INET, src),
                              socket.inet_pton(socket.AF_INET, dst)))
    h[10:12] = struct.pack('!H', csum(h))
    return bytes(h)


def ipv6_header(src, dst, nh, plen, hlim=64):
    return (struct.pack('!IHBB', 0x60000000, plen, nh, hlim) +
            socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst))


def udp_datagram(src, dst, sport, dport, data):
    """UDP header + data with the checksum over the pseudo-header"""
    n = 8 + len(data)
    u = struct.pack('!HHHH', sport, dport, n, 0) + data
    if ':' in src:
        ph = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack('!I3xB', n, IPPROTO_UDP))
    else:
        ph = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) +
              struct.pack('!xBH', IPPROTO_UDP, n))
    c = csum(ph + u) or 0xffff
    return u[:6] + struct.pack('!H', c) + u[8:]


def frame_set_proto(e, proto):
    e.frame[e.nh_pos] = proto


def frame_add_ext(e):
    """Outer IPv4: 4 octets of options (NOP NOP NOP EOL); outer IPv6: an
    8-octet Destination Options header (PadN) in front of what followed"""
    fr, ip = e.frame, e.ip_off
    if e.family == 4:
        at = ip + (fr[ip] & 0xf) * 4
        fr[ip] += 1
        e.frame = fr[:at] + bytearray(b'\x01\x01\x01\x00') + fr[at:]
    else:
        at = ip + 40
        e.frame = fr[:at] + bytearray([fr[ip + 6], 0, 1, 4, 0, 0, 0, 0]) + fr[at:]
        e.frame[ip + 6] = 60
    e.fix_lengths()


def frame_replace_l4(e, data):
    """Replace everything after the outer IP header chain, fix the lengths"""
    e.frame = e.frame[:e.l4] + bytearray(data)
    e.udp_off = None
    e.fix_lengths()


def pick(a):
    frames = esp_frames(a.inp)
    if a.index >= len(frames):
        raise SystemExit('%s: no ESP frame %d (have %d)' % (a.inp, a.index,
                                                         len(frames)))
    return frames[a.index]


def outer_ip(fr):
    """outer IP facts of an Ethernet frame, or None"""
    if len(fr) < 34:
        return None
    et = struct.unpack('!H', fr[12:14])[0]
    ip = fr[14:]
    if et == ETH_P_IP:
        ihl = (ip[0] & 15) * 4
        return {'fam': 4, 'proto': ip[9], 'src': bytes(ip[12:16]), 'dst': bytes(ip[16:20]),
                'l4': 14 + ihl, 'lower': {'dscp': ip[1] >> 2, 'ecn': ip[1] & 3, 'hl': ip[8],
                                          'flow': struct.unpack('!H', ip[4:6])[0]},
                'frag': struct.unpack('!H', ip[6:8])[0] & 0x3fff}
    if et == ETH_P_IPV6 and len(fr) >= 54:
        v = struct.unpack('!I', ip[:4])[0]
        return {'fam': 6, 'proto': ip[6], 'src': bytes(ip[8:24]), 'dst': bytes(ip[24:40]),
                'l4': 54, 'lower': {'dscp': v >> 22 & 63, 'ecn': v >> 20 & 3, 'hl': ip[7],
                                    'flow': v & 0xfffff}, 'frag': 0}
    return None


def pton(a):
    return socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)
