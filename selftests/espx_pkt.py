#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""espx_pkt: the one packet tool of the espx selftests.

Capture ESP frames, mutate or re-encrypt them, and inject them again; plus the
small sockets the shell tests need. Subcommands that only move bytes use the
standard library (fast start under TCG); the crypto ones import `cryptography`
lazily (falling back to scapy's SecurityAssociation is not needed on Debian 12,
where python3-cryptography is a dependency of python3-scapy).

  capture  --dev D --out F [--count N] [--timeout S] [--dir in|out|any] [--spi S]
           write ESP frames (IP proto 50, or UDP 4500 with a non-zero SPI) seen
           on D to the pcap F; prints "ready" on stdout once the socket is bound;
           stops after N frames, S seconds or SIGTERM
  send     --dev D FILE.pcap [--index I ...] [--gap S]   inject frames
  serve    [--stats-pid PID --app-log F]  run subcommands read from stdin (one
           process for a whole test); "send" then also prints the counter
           deltas (xfrm_stat, snmp, netstat, snmp6 of PID's netns; APP = lines
           added to F) its frames caused
  info     FILE.pcap        one line per frame: index family outer-len spi seq esp-len
  split    FILE.pcap PREFIX one pcap per SPI: PREFIX-0x<spi>.pcap; prints "spi count"
  mutate   IN OUT --index I OP   OP: --flip spi|sn|iv|ct|icv [--bit B]
                                     --truncate LEN (ESP octets kept)
                                     --set-sn N
  reseal   IN OUT --index I --alg A --key HEX --icv N [--esn-hi H]
           [--sn N] [--pad-len N] [--next-header N] [--payload HEX]
           [--prefix HEX] [--truncate-payload N] [--seal-esn-hi H] [--iv HEX]
           decrypt frame I with the SA key (fails if the kernel's ICV does not
           verify, so this also checks the kernel's output), change what is
           asked, re-encrypt, fix the outer lengths/checksums
  vectors  check the AEAD code against esp-baseline.md section 9 and beet.md
           section 6 (exit 1 on mismatch)
  encap-sock [--port P]   UDP sockets (IPv4 and IPv6) with UDP_ENCAP_ESPINUDP
           and a per-socket bypass policy (like an IKE daemon's); prints
           "ready", logs any non-ESP datagram the socket gets (IKE path)
  udp-echo --port P [--log F]   echo server on 0.0.0.0 and ::, logs payloads
  servers  --echo-port P [--echo-log F] [--sink-port P2] [--encap-port 4500]
           [--encap-log F]   both of the above in one process; the sink port
           logs (into the echo log) and does not answer
  traffic  --port P [--pings N] DST...  N ICMP echos (ping sockets) and one UDP
           echo exchange with every DST at once; "ok|fail DST icmp n/N udp 0|1"
  eesp-vectors [--ktap]  eesp.md section 11 octet for octet both ways and every
           receiver variant of 11.6 (espx_eesp.py; exit 1 on mismatch)
  nonce-check PCAP... --sa spi=..,key=..,kind=wesp|ctr|diet[,iiv=1]  every frame
           of those SAs authenticates, no (key, nonce) pair twice
  udp-ping --port P [--timeout S] DST...  one datagram per DST, waits for its
           echo; prints "ok DST" / "fail DST"
  echo-vectors   esp-echo.md section 8 octet for octet (espx_echo.py)
  echo-craft IN OUT --index I --alg A --key HEX --icv N --sn N [--subtype T]
           [--flags F] [--dlen L] [--ident I] [--seq S] [--reply-spi X]
           [--data HEX | --size N] [--payload HEX] [--copies N] [--flip OFF]
           [--esp-len N]  an ESP Echo message (NH 144) on the SA of captured
           frame I, IV = be64(SN); --payload: the raw payload instead of header + Data;
           --flip OFF: flip one bit of the ESP octet OFF (negative: from the end);
           --esp-len N: only the first N octets of the ESP packet (cut short)
  echo-plain IN OUT --index I [--spi 7|8] [--udp]  the unencrypted SPI 7/8
           request (section 4) with frame I's outer header
  echo-responder --family 4|6 [--modes M,M...] [--log F] [--timeout S]
           a user-space responder of the unencrypted mode (section 4) on a raw
           ESP socket: the n-th SPI 7 request gets the n-th mode (the last
           repeats): reply, silent, or a malformed reply (dlen, nh, pad,
           subtype, spi, data, long), "+" joins several (dlen+reply); never
           a reply to R=0 or a Reply path SPI other than 8; F gets
           "request SRC HEX" per request (IPv4: from the IP header on)
  echo-check PCAP --sa SPI,KEY... [--alg A --icv N]  decrypt every frame of
           those SAs: one line "spi X sn N nh N subtype T flags F dlen L ident I
           seq S reply_spi X data_ok 0|1 len L pad P" (exit 1 if one does not open)

  wesp-vectors   wespv2.md's vectors octet for octet (exit 1 on mismatch)
  wesp-check PCAP --sa spi=..,alg=..,key=..,icv=N,co=N[,esn=1][,mode=M,inner=4|6]
           [--port P]  decode and open every WESPv2 frame of those SAs
  wesp-craft IN OUT [--index I] [--key K ...] [--nh/--hdrlen/--co/--r/--v/
           --optlen/--trailer-nh/--spi N] [--options HEX] [--flip OFF:BIT]
           [--flip-all OFF] [--truncate N] [--strip] [--wrap HEX] [--copies N]
           [--ext]  edit the WESPv2 header of frame I (re-encrypted with --key)
  ctr-vectors    multi-counters.md's IV and option vectors (exit 1 on mismatch)
  ctr-ivs  PCAP [--spi S] [--n N] [--seqs]  the counter ids and seqs of a
           counter SA's frames; ids must be below N; seqs unique per id
  ctr-craft IN OUT [--index I] --key K [--id N] [--seq N] [--iv HEX]
           [--options HEX] [--copies N] [--all-ids N] [--flood N --n N]
           a counter SA packet (option 27, IV = be16(id) | be48(seq))
  diet-vectors   diet-esp.md's vectors octet for octet (exit 1 on mismatch)
  diet-check PCAP... --sa SPEC [--port P] [--tag T] [--probe-len N]  open
           every Diet-ESP frame of the SAs (SN rebuilt across the files)
  diet-craft OUT --sa SPEC [--sn N] [--count N | --sns A,B] [--copies N]
           [--tcp DOFF] [--residue HEX] [--full-esp] [--flip-icv] [--append]
           [header edits]  Diet-ESP frames sealed with the SA's key
  diet-set --sa SPEC...   the Diet SAs a "serve" process crafts for
  ctr      [--spi S] [--active]   the espx per-counter rows (genl CTR_GET)
  blast    --dst D --port P [--sport P] [--count N] [--len L] [--batch B]
           [--gap S] [--tag T] [--go FILE]  UDP datagrams as fast as asked
  espx-stats [--spi S] [--pid PID]  espx's counters (genl) of PID's netns
  sink     --port P...   count UDP datagrams per port; SIGUSR1 prints a
           "count PORT:N ..." line, SIGTERM too and exits
  usage-check    exit 1 when a subcommand is missing from this text

AEAD names (--alg): gcm (rfc4106), ccm (rfc4309), chacha (rfc7539esp),
gmac (rfc4543). --key is the xfrm key blob: key || salt.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
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


# ---------------------------------------------------------------- AEAD ----
ALGS = {
    # name: (salt length, IV length)
    'gcm': (4, 8), 'ccm': (3, 8), 'chacha': (4, 8), 'gmac': (4, 8),
}


def _aead(alg, key, icv):
    try:
        from cryptography.hazmat.primitives.ciphers import aead
    except ImportError:     # started with python3 -S (fast start): add site dirs
        import site
        site.main()
        from cryptography.hazmat.primitives.ciphers import aead
    if alg in ('gcm', 'gmac'):
        return aead.AESGCM(key)
    if alg == 'ccm':
        return aead.AESCCM(key, tag_length=icv)
    if alg == 'chacha':
        if icv != 16:
            raise SystemExit('chacha needs ICV 16')
        return aead.ChaCha20Poly1305(key)
    raise SystemExit('unknown alg ' + alg)


def esp_seal(alg, blob, icv, spi, sn, iv, plaintext, esn_hi=None):
    """ESP packet (SPI..ICV) for one AEAD SA; esn_hi set = ESN AAD."""
    salt_len = ALGS[alg][0]
    key, salt = blob[:-salt_len], blob[-salt_len:]
    hdr = struct.pack('!II', spi, sn)
    aad = hdr if esn_hi is None else struct.pack('!III', spi, esn_hi, sn)
    a = _aead(alg, key, icv)
    if alg == 'gmac':
        tag = a.encrypt(salt + iv, b'', aad + iv + plaintext)
        return hdr + iv + plaintext + tag[:icv]
    out = a.encrypt(salt + iv, plaintext, aad)
    if alg == 'gcm':        # GCM: a short ICV is the leading part of the tag
        out = out[:len(plaintext) + icv]
    return hdr + iv + out


def esp_open(alg, blob, icv, esp, esn_hi=None):
    """Plaintext (payload || pad || padlen || nh) of an ESP packet, or None."""
    salt_len, ivlen = ALGS[alg]
    key, salt = blob[:-salt_len], blob[-salt_len:]
    spi, sn = struct.unpack('!II', esp[:8])
    iv = esp[8:8 + ivlen]
    body, tag = esp[8 + ivlen:-icv], esp[-icv:]
    aad = esp[:8] if esn_hi is None else struct.pack('!III', spi, esn_hi, sn)
    a = _aead(alg, key, icv)
    if alg == 'gmac':
        ok = a.encrypt(salt + iv, b'', aad + iv + body)[:icv] == tag
        return body if ok else None
    if alg == 'gcm':
        full = a.encrypt(salt + iv, b'\0' * len(body), aad)
        # recompute: GCM keystream XOR gives the plaintext, then check the tag
        pt = bytes(x ^ y for x, y in zip(body, full[:len(body)]))
        return pt if a.encrypt(salt + iv, pt, aad)[len(pt):len(pt) + icv] == tag \
            else None
    from cryptography.exceptions import InvalidTag     # loaded by _aead()
    try:
        return a.decrypt(salt + iv, body + tag, aad)
    except InvalidTag:
        return None


def trailer(payload_len, nh, blksize=4, pad_len=None):
    plen = -(payload_len + 2) % blksize
    pad = bytes(range(1, plen + 1))
    return pad + bytes([plen if pad_len is None else pad_len, nh])


# -------------------------------------------------------------- WESPv2 ----
# wespv2.md: header NH | HdrLen | CryptOffset<<2|R | V<<6|OptLen, options, then
# the ESP header, the IV, 4*CryptOffset clear octets, the encrypted part and
# the ICV. AAD = header+options | SPI | [SNhi] | SNlo | clear octets; nonce =
# salt | IV. Extension SAs use only AES-GCM and ChaCha20-Poly1305 (README D2).
WESP_IVLEN = 8
WESP_PADN4 = b'\x01\x02\x00\x00'      # IPv6 sender option (4-octet PadN)


_AEADS = {}


def _aead_cached(alg, key, icv):
    """one AEAD object per key: wesp-check opens hundreds of frames"""
    k = (alg, bytes(key), icv)
    if k not in _AEADS:
        _AEADS[k] = _aead(alg, key, icv)
    return _AEADS[k]


def aead_seal(alg, key, icv, nonce, pt, aad):
    """ciphertext || ICV (GCM: a short ICV is the tag's leading part)"""
    out = _aead_cached(alg, key, icv).encrypt(nonce, pt, aad)
    return out[:len(pt) + icv]


def aead_open(alg, key, icv, nonce, ct, tag, aad):
    """plaintext, or None if the ICV does not verify"""
    a = _aead_cached(alg, key, icv)
    if alg == 'gcm' and icv != 16:
        # AESGCM only checks full tags: recover the plaintext from the key
        # stream (the encryption of zeros), then compare the tag prefix
        ks = a.encrypt(nonce, b'\0' * len(ct), aad)[:len(ct)]
        pt = bytes(x ^ y for x, y in zip(ct, ks))
        return pt if a.encrypt(nonce, pt, aad)[len(pt):len(pt) + icv] == tag else None
    from cryptography.exceptions import InvalidTag     # loaded by _aead()
    try:
        return a.decrypt(nonce, ct + tag, aad)
    except InvalidTag:
        return None


def wesp_header(nh, c, opts=b'', r=0, v=1, optlen=None, hdrlen=None):
    """WESPv2 header + options; OptLen and HdrLen follow from opts unless given"""
    optlen = len(opts) if optlen is None else optlen
    hdrlen = 4 + len(opts) + 8 + WESP_IVLEN if hdrlen is None else hdrlen
    return bytes([nh & 0xff, hdrlen & 0xff, (c << 2 | r) & 0xff,
                  (v << 6 | optlen) & 0xff]) + bytes(opts)


def wesp_aad(hdr, spi, sn, clear, esn_hi=None):
    hi = b'' if esn_hi is None else struct.pack('!I', esn_hi)
    return bytes(hdr) + struct.pack('!I', spi) + hi + struct.pack('!I', sn) + bytes(clear)


def wesp_seal(alg, blob, icv, hdr, spi, sn, iv, clear, pt, esn_hi=None):
    """WESPv2 header .. ICV: pt (encrypted part incl. trailer) after clear"""
    key, salt = blob[:-4], blob[-4:]
    aad = wesp_aad(hdr, spi, sn, clear, esn_hi)
    return (bytes(hdr) + struct.pack('!II', spi, sn) + bytes(iv) + bytes(clear) +
            aead_seal(alg, key, icv, salt + bytes(iv), pt, aad))


def wesp_split(wb, icv):
    """Fields of the octets from the WESPv2 header to the end of a packet"""
    optlen = wb[3] & 0x3f
    hl = 4 + optlen
    c = wb[2] >> 2
    spi, sn = struct.unpack('!II', wb[hl:hl + 8])
    iv = bytes(wb[hl + 8:hl + 8 + WESP_IVLEN])
    co = hl + 8 + WESP_IVLEN
    return {'hdr': bytes(wb[:hl]), 'c': c, 'spi': spi, 'sn': sn, 'iv': iv,
            'clear': bytes(wb[co:co + 4 * c]), 'ct': bytes(wb[co + 4 * c:len(wb) - icv]),
            'tag': bytes(wb[len(wb) - icv:])}


def wesp_open(alg, blob, icv, wb, esn_hi=None):
    """(fields, plaintext of the encrypted part) or (fields, None)"""
    f = wesp_split(wb, icv)
    key, salt = blob[:-4], blob[-4:]
    aad = wesp_aad(f['hdr'], f['spi'], f['sn'], f['clear'], esn_hi)
    return f, aead_open(alg, key, icv, salt + f['iv'], f['ct'], f['tag'], aad)


def wesp_build(alg, blob, icv, inner, nh, spi, sn, c_max, ipv6, esn_hi=None):
    """The sender rules of wespv2.md §6 for one inner payload (IV = be64(SN))"""
    c = min(c_max, len(inner) // 4, 63)
    sn64 = (esn_hi or 0) << 32 | sn
    hdr = wesp_header(nh if c else 59, c, WESP_PADN4 if ipv6 else b'')
    enc = inner[4 * c:]
    return wesp_seal(alg, blob, icv, hdr, spi, sn, struct.pack('!Q', sn64),
                     inner[:4 * c], enc + trailer(len(enc), nh), esn_hi)


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


# ---------------------------------------------------------- subcommands ----
def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.dev, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    frames, end = [], time.time() + a.timeout
    print('ready', flush=True)
    try:
        while len(frames) < a.count:
            left = end - time.time()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            data, addr = s.recvfrom(65535)
            outgoing = addr[2] == PACKET_OUTGOING
            if (a.dir == 'in' and outgoing) or (a.dir == 'out' and not outgoing):
                continue
            e = Esp(data)
            if e.off is not None and (a.spi is None or e.spi == a.spi):
                frames.append(data)
    finally:            # count reached, timeout or SIGTERM: write what we have
        pcap_write(a.out, frames)
        print('captured %d' % len(frames), flush=True)


def counters(pid, app_log, genl=None):
    """Drop-relevant counters of the netns of process PID, and the app log size;
    with genl (an EspxGenl in that netns) also espx's per-SA and netns counters."""
    c = genl.counters() if genl else {}
    base = '/proc/%s/net/' % pid
    for name in ('xfrm_stat', 'snmp6'):
        try:
            with open(base + name) as f:
                for line in f:
                    k, v = line.split()[:2]
                    c[k] = int(v)
        except OSError:
            pass
    for name in ('snmp', 'netstat'):
        try:
            with open(base + name) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for h, v in zip(lines[0::2], lines[1::2]):
            hs, vs = h.split(), v.split()
            for k, x in zip(hs[1:], vs[1:]):
                c[hs[0].rstrip(':') + k] = int(x)
    if app_log:
        try:
            with open(app_log, 'rb') as f:
                c['APP'] = f.read().count(b'\n')
        except OSError:
            c['APP'] = 0
    return c


# Neighbour discovery, router solicitation and MLD run on their own timers
# (an RS can leave during any injection): not a reply to our packet. The
# type-specific ICMP counters still show any error a packet provoked, so the
# per-message totals are left out too.
ND_NOISE = ('IcmpOutMsgs', 'Icmp6OutMsgs', 'Icmp6OutRouterSolicits',
            'Icmp6OutNeighborSolicits', 'Icmp6OutNeighborAdvertisements',
            'Icmp6OutMLDv2Reports', 'Icmp6OutGroupMembReports',
            'Icmp6OutType130', 'Icmp6OutType131', 'Icmp6OutType133',
            'Icmp6OutType135', 'Icmp6OutType136', 'Icmp6OutType143')


def interesting(k):
    if k in ND_NOISE:
        return False
    if k.startswith('espx'):
        return not k.endswith('_bytes')
    return (k.startswith('Xfrm') or k == 'APP' or 'Err' in k or 'Unknown' in k or
            'Trunc' in k or 'Discard' in k or 'Drop' in k or
            k.startswith('IcmpOut') or k.startswith('Icmp6Out'))


def cmd_send(a):
    frames = pcap_read(a.pcap)
    idx = a.index if a.index else range(len(frames))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    pid = getattr(a, 'stats_pid', None)
    genl = getattr(a, 'genl', None)
    if pid:
        before = counters(pid, a.app_log, genl)
    for i in idx:
        s.send(frames[i])
        if a.gap:
            time.sleep(a.gap)
    s.close()
    print('sent %d' % len(idx))
    if not pid:
        return
    if genl:
        print('delta ' + ' '.join('%s+%d' % kv for kv in sorted(
            settle_espx(a, pid, genl, before).items())))
        return
    # the receiver works in softirq (or async crypto): wait for a visible effect
    end, delta = time.time() + a.settle, {}
    while True:
        time.sleep(0.05)
        after = counters(pid, a.app_log)
        delta = {k: v - before.get(k, 0) for k, v in after.items()
                 if v != before.get(k, 0) and interesting(k)}
        if delta or time.time() > end:
            break
    time.sleep(0.1)
    after = counters(pid, a.app_log)
    delta = {k: v - before.get(k, 0) for k, v in after.items()
             if v != before.get(k, 0) and interesting(k)}
    print('delta ' + ' '.join('%s+%d' % kv for kv in sorted(delta.items())))


def verdicts(delta):
    """Packets espx gave a verdict on: decrypted, or dropped and counted"""
    return sum(v for k, v in delta.items() if k.startswith('espxns:') or
               (k.startswith('espx:') and (':in_drop_' in k or k.endswith(':in_packets'))))


# How long the deltas must stay unchanged before settle_espx() trusts them:
# an async crypto completion runs from a workqueue, and espx counts its
# verdict before xfrm_input_resume() counts the core's (and delivers).
SETTLE_STABLE = 0.3


def settle_espx(a, pid, genl, before):
    """Counter deltas once the packets are through: the receiver works in
    softirq and async crypto, and the application (APP) later still. Waits
    for a.want espx verdicts and a.want_app datagrams (or, without them, for
    any change), then until no counter moved for SETTLE_STABLE seconds;
    a.settle at most."""
    end = time.time() + a.settle
    last, since = None, time.time()
    while True:
        time.sleep(0.05)
        after = counters(pid, a.app_log, genl)
        now = time.time()
        delta = {k: v - before.get(k, 0) for k, v in after.items()
                 if v != before.get(k, 0) and interesting(k)}
        want = a.want or a.want_app
        reached = (verdicts(delta) >= a.want and delta.get('APP', 0) >= a.want_app
                   if want else bool(delta))
        if delta != last:
            last, since = delta, now
        if (reached and now - since >= SETTLE_STABLE) or now > end:
            return delta


def cmd_serve(a, parser):
    """Run subcommands read from stdin, one per line, each answer ends with '.'"""
    import shlex
    genl = None
    if a.espx_stats and a.stats_pid:
        try:
            genl = EspxGenl(a.stats_pid)
            if a.ctr_spi:
                genl.ctr_spis = set(a.ctr_spi)
            print('ready', flush=True)
        except OSError as e:
            print('no espx statistics: %s' % e, flush=True)
    else:
        print('ready', flush=True)
    pipe = sys.stdout
    for line in sys.stdin:
        argv = shlex.split(line)
        if not argv:
            continue
        # --out: the answer goes to a file, only '.' to the pipe; a shell reads
        # a pipe one octet at a time (thousands of lines took minutes under
        # emulation), a file in one go
        out = open(a.out, 'w') if a.out else pipe
        sys.stdout = out
        try:
            b = parser.parse_args(argv)
            if b.cmd == 'send':
                b.stats_pid, b.app_log, b.settle = a.stats_pid, a.app_log, a.settle
                b.genl = genl
            if b.cmd == 'serve':
                raise SystemExit('no nested serve')
            COMMANDS[b.cmd](b)
        except SystemExit as e:
            if e.code not in (0, None):
                print('error: %s' % e.code)
        except Exception as e:      # keep serving: report and go on
            print('error: %r' % e)
        sys.stdout = pipe
        if out is not pipe:
            out.close()
        print('.', flush=True)


def cmd_info(a):
    for i, e in enumerate(esp_frames(a.pcap)):
        print('%d %d %d 0x%08x %d %d%s%s' % (i, e.family, len(e.frame) - 14, e.spi,
                                             e.seq, len(e.frame) - e.off,
                                             ' udp' if e.udp_off else '',
                                             ' wesp' if e.wesp_off is not None else ''))


def cmd_split(a):
    per = {}
    for e in esp_frames(a.pcap):
        per.setdefault(e.spi, []).append(bytes(e.frame))
    for spi, frames in sorted(per.items()):
        pcap_write('%s-0x%x.pcap' % (a.prefix, spi), frames)
        print('0x%x %d' % (spi, len(frames)))


def pick(a):
    frames = esp_frames(a.inp)
    if a.index >= len(frames):
        raise SystemExit('%s: no ESP frame %d (have %d)' % (a.inp, a.index,
                                                         len(frames)))
    return frames[a.index]


def cmd_mutate(a):
    e = pick(a)
    esp = bytearray(e.esp())
    if a.flip:
        at = {'spi': 0, 'sn': 4, 'iv': 8, 'ct': 8 + a.ivlen,
              'icv': len(esp) - a.icv}[a.flip]
        if a.flip == 'ct' and at >= len(esp) - a.icv:
            raise SystemExit('no ciphertext')
        bit = a.bit
        esp[at + bit // 8] ^= 0x80 >> (bit % 8)
    if a.set_sn is not None:
        esp[4:8] = struct.pack('!I', a.set_sn)
    if a.truncate is not None:
        esp = esp[:a.truncate]
    e.replace_esp(esp)
    pcap_write(a.out, [e.frame])


def _echo():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import espx_echo
    return espx_echo


def cmd_echo_vectors(a):
    """esp-echo.md section 8 through espx_echo.py"""
    chk = Checker()
    _echo().vectors(chk, esp_seal)
    if chk.fails:
        raise SystemExit(1)


def cmd_echo_craft(a):
    ec = _echo()
    e = pick(a)
    blob = bytes.fromhex(a.key.replace('0x', ''))
    if a.payload is not None:       # 'empty': a 0-octet payload
        payload = b'' if a.payload == 'empty' else bytes.fromhex(a.payload)
    else:
        data = bytes.fromhex(a.data) if a.data else ec.pattern(a.size)
        payload = ec.message(a.subtype, a.flags, a.ident, a.seq, a.reply_spi,
                             data, a.dlen)
    pt = payload + ec.trailer(len(payload))
    spi = struct.unpack('!I', e.esp()[:4])[0]
    iv = struct.pack('!Q', a.sn)        # every AEAD here: 8-octet IV
    new = bytearray(esp_seal(a.alg, blob, a.icv, spi, a.sn, iv, pt))
    if a.flip is not None:
        new[a.flip] ^= 1
    if a.esp_len is not None:       # cut short on the way: the tail is lost
        new = new[:a.esp_len]
    e.replace_esp(bytes(new))
    pcap_write(a.out, [bytes(e.frame)] * a.copies)
    print('echo spi 0x%08x sn %d payload %d: %s' % (spi, a.sn, len(payload),
                                                  payload[:12].hex()))


def cmd_echo_plain(a):
    ec = _echo()
    e = pick(a)
    p = ec.message(2, ec.R, 0x4321, 1, ec.SPI_REP, b'ping')
    esp = struct.pack('!II', a.spi, 0) + p + ec.trailer(len(p))
    if a.udp and e.udp_off is None:     # RFC 3948: UDP 4500 -> 4500
        e.frame[e.nh_pos] = IPPROTO_UDP
        e.udp_off = e.l4
        e.off = e.l4 + 8
        e.frame = e.frame[:e.l4] + bytearray(struct.pack('!HHHH', ENCAP_PORT,
                                                          ENCAP_PORT, 0, 0))
    e.replace_esp(esp)
    pcap_write(a.out, [bytes(e.frame)])
    print('plain spi %d%s' % (a.spi, ' udp' if e.udp_off is not None else ''))


def echo_plain_reply(ec, req, mode):
    """The SPI 8 packet (SPI onwards) answering request payload req, made
    malformed as mode says ('reply': well formed)"""
    p = bytearray(ec.reply(req))
    nh = ec.NH_AGGFRAG
    if mode == 'dlen':          # Data Length one more than the Data
        p[2:4] = struct.pack('!H', len(p) - ec.HDR_LEN + 1)
    elif mode == 'subtype':     # the request's Sub-Type left in place
        p[0] = req[0]
    elif mode == 'spi':         # Reply path SPI not copied
        p[8:12] = struct.pack('!I', 9)
    elif mode == 'data' and len(p) > ec.HDR_LEN:
        p[ec.HDR_LEN] ^= 0xff
    elif mode == 'long':        # one Data octet more than the request had
        p += b'\x99'
        p[2:4] = struct.pack('!H', len(p) - ec.HDR_LEN)
    elif mode == 'nh':
        nh = 59
    t = bytearray(ec.trailer(len(p)))
    t[-1] = nh
    if mode == 'pad':           # pad octets not 1, 2, ...
        pl = -(len(p) + 2) % 4 or 4
        t = bytearray(b'\x07' * pl + bytes([pl, nh]))
    return struct.pack('!II', ec.SPI_REP, 0) + bytes(p) + bytes(t)


def cmd_echo_responder(a):
    ec = _echo()
    fam = socket.AF_INET if a.family == 4 else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP)
    modes = a.modes.split(',')
    log = open(a.log, 'a') if a.log else None
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    print('ready', flush=True)
    end, n = time.time() + a.timeout, 0
    while time.time() < end:
        if not select.select([s], [], [], max(0, end - time.time()))[0]:
            break
        pkt, src = s.recvfrom(65536)
        esp = pkt[(pkt[0] & 0xf) * 4:] if a.family == 4 else pkt
        if len(esp) < 10 or struct.unpack('!I', esp[:4])[0] != ec.SPI_REQ:
            continue
        if log:
            log.write('request %s %s\n' % (src[0], pkt.hex()))
            log.flush()
        mode = modes[min(n, len(modes) - 1)]
        n += 1
        pl = esp[-2]
        req = esp[8:len(esp) - 2 - pl]
        m = ec.parse(req)
        if not m or not m['r'] or m['reply_spi'] != ec.SPI_REP:
            mode = 'silent'     # section 4: R=0 or another SPI: no reply
        for m in mode.split('+'):
            if m != 'silent':
                s.sendto(echo_plain_reply(ec, req, m), (src[0], 0))
        print('request %d: %s' % (n, mode), flush=True)


def cmd_echo_check(a):
    """Decrypt the ESP Echo frames of the SAs given (--sa SPI,KEY): a line
    per frame "spi X sn N nh N subtype T flags F dlen L ident I seq S
    reply_spi X data_ok 0|1 len L pad P"; exit 1 if a frame does not open"""
    ec = _echo()
    sas = {}
    for spec in a.sa:
        spi, key = spec.split(',', 1)
        sas[int(spi, 0)] = bytes.fromhex(key.replace('0x', ''))
    bad = 0
    for e in esp_frames(a.pcap):
        blob = sas.get(e.spi)
        if blob is None:
            continue
        pt = None
        if e.wesp_off is not None:      # WESPv2: clear octets + the rest
            # a counter SA always authenticates SNhi (0 in the tests)
            for hi in (None, 0):
                f, pt = wesp_open(a.alg, blob, a.icv, bytes(e.frame[e.wesp_off:]), hi)
                if pt is not None:
                    pt = f['clear'] + pt
                    break
        else:
            pt = esp_open(a.alg, blob, a.icv, e.esp())
        if pt is None:
            print('spi 0x%08x sn %d does not open' % (e.spi, e.seq))
            bad += 1
            continue
        nh, pl = pt[-1], pt[-2]
        m = ec.parse(pt[:len(pt) - 2 - pl]) or {}
        print('spi 0x%08x sn %d nh %d subtype %s flags 0x%02x dlen %s ident 0x%04x '
              'seq %s reply_spi 0x%08x data_ok %d len %d pad %d' % (
                  e.spi, e.seq, nh, m.get('subtype'), m.get('flags', 0), m.get('dlen'),
                  m.get('ident', 0), m.get('seq'), m.get('reply_spi', 0),
                  int(m.get('data', b'x') == ec.pattern(len(m.get('data', b'')))
                      and m.get('length_ok', False)),
                  len(e.frame) - 14, pl))
    if bad:
        raise SystemExit(1)


def cmd_reseal(a):
    e = pick(a)
    blob = bytes.fromhex(a.key.replace('0x', ''))
    esp = e.esp()
    pt = esp_open(a.alg, blob, a.icv, esp, a.esn_hi)
    seal_hi = a.esn_hi if a.seal_esn_hi is None else a.seal_esn_hi
    if pt is None:
        raise SystemExit('reseal: the captured packet does not verify with this key')
    nh, padlen = pt[-1], pt[-2]
    payload = pt[:len(pt) - 2 - padlen]
    if a.payload is not None:
        payload = bytes.fromhex(a.payload)
    if a.truncate_payload:
        payload = payload[:-a.truncate_payload]
    if a.prefix:
        payload = bytes.fromhex(a.prefix) + payload
    if a.next_header is not None:
        nh = a.next_header
    pt = payload + trailer(len(payload), nh,
                           pad_len=None if a.pad_len == -1 else a.pad_len)
    if a.pad_len == -1:         # Pad Length covering the whole payload
        pt = pt[:-2] + bytes([len(pt) - 2, nh])
    spi, sn = struct.unpack('!II', esp[:8])
    sn = sn if a.sn is None else a.sn
    ivlen = ALGS[a.alg][1]
    iv = esp[8:8 + ivlen] if a.iv is None else bytes.fromhex(a.iv)
    new = esp_seal(a.alg, blob, a.icv, spi, sn, iv, pt, seal_hi)
    e.replace_esp(new)
    pcap_write(a.out, [e.frame])
    print('resealed spi 0x%08x sn %d nh %d payload %d pad-len %d%s' %
          (spi, sn, nh, len(payload), pt[-2], ' identical' if new == esp else ''))


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
    one = struct.pack('!Q', 1)
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


def parse_sa_spec(text):
    """spi=0x..,alg=gcm,key=0x..,icv=16,co=2[,esn=1][,mode=M,inner=4|6][,label=L]"""
    d = dict(kv.split('=', 1) for kv in text.split(','))
    d['spi'] = int(d['spi'], 0)
    d['icv'] = int(d.get('icv', 16))
    d['co'] = int(d.get('co', 0))
    d['esn'] = d.get('esn', '0') == '1'
    d['ctr'] = int(d.get('ctr', 0))     # counter SA: N
    d['blob'] = bytes.fromhex(d['key'].replace('0x', ''))
    return d


def wesp_frame_errors(e, sa, port):
    """Check one captured WESPv2 frame of SA sa against wespv2.md §2-§6;
    returns (errors, facts)"""
    errs, fr, ip, w = [], e.frame, e.ip_off, e.wesp_off
    facts = {}
    if e.family == 4:
        if w != ip + (fr[ip] & 0xf) * 4 or fr[ip + 9] != IPPROTO_WESP:
            errs.append('outer IPv4 protocol %d' % fr[ip + 9])
    elif w != ip + 40 or fr[ip + 6] != IPPROTO_WESP:
        errs.append('outer IPv6 next header %d / extension headers' % fr[ip + 6])
    wb = bytes(fr[w:])
    if e.off is None or len(wb) < 4 + (wb[3] & 0x3f) + 8 + WESP_IVLEN + sa['icv']:
        return errs + ['truncated WESPv2 frame'], facts
    optlen = wb[3] & 0x3f
    want_opts = WESP_PADN4 if e.family == 6 else b''
    ctr_id = None
    if sa.get('ctr'):       # counter SA: option 27 first (multi-counters.md §3)
        ctr_id = struct.unpack('!H', wb[6:8])[0] if optlen >= 4 else -1
        want_opts = b'\x1b\x02' + struct.pack('!H', max(ctr_id, 0))
        if not 0 <= ctr_id < sa['ctr']:
            errs.append('Sub-SA ID %d not below %d counters' % (ctr_id, sa['ctr']))
    if wb[4:4 + optlen] != want_opts:
        errs.append('options %s, want %s' % (wb[4:4 + optlen].hex(), want_opts.hex()))
    if (e.off - ip) % (8 if e.family == 6 else 4):
        errs.append('ESP header at %d from the outer IP header: not %d-aligned' %
                    (e.off - ip, 8 if e.family == 6 else 4))
    if wb[3] >> 6 != 1:
        errs.append('V %d' % (wb[3] >> 6))
    if wb[2] & 3:
        errs.append('R %d' % (wb[2] & 3))
    if wb[1] != 4 + optlen + 8 + WESP_IVLEN:
        errs.append('HdrLen %d, want %d' % (wb[1], 4 + optlen + 8 + WESP_IVLEN))
    f = wesp_split(wb, sa['icv'])
    c = f['c']
    if c > sa['co']:
        errs.append('CryptOffset %d > configured %d' % (c, sa['co']))
    if f['spi'] != sa['spi']:
        errs.append('SPI')
    if ctr_id is not None:
        # IV = be16(id) | be48(seq), SN = seq's low half, SNhi always in the AAD
        seq = struct.unpack('!Q', b'\0\0' + f['iv'][2:])[0]
        hi = seq >> 32
        if f['iv'][:2] != struct.pack('!H', max(ctr_id, 0)):
            errs.append('IV %s: id octets != option 27 id %d' % (f['iv'].hex(), ctr_id))
        if seq & 0xffffffff != f['sn'] or not seq:
            errs.append('IV %s: seq %d does not match SN %d' % (f['iv'].hex(), seq, f['sn']))
        esn_hi = hi
    else:
        hi = struct.unpack('!I', f['iv'][:4])[0]
        if not sa['esn'] and hi:
            errs.append('IV %s: SNhi on a non-ESN SA' % f['iv'].hex())
        if f['iv'][4:] != struct.pack('!I', f['sn']):
            errs.append('IV %s != be64(SN %d)' % (f['iv'].hex(), f['sn']))
        esn_hi = hi if sa['esn'] else None
    f, pt = wesp_open(sa['alg'], sa['blob'], sa['icv'], wb, esn_hi)
    if pt is None:
        return errs + ['ICV does not verify with the AAD/nonce of wespv2.md 5 (c %d)' % c], facts
    padlen, nh = pt[-2], pt[-1]
    if padlen + 2 > len(pt):
        return errs + ['Pad Length %d past the plaintext' % padlen], facts
    enc = pt[:len(pt) - 2 - padlen]
    if pt[len(enc):-2] != bytes(range(1, padlen + 1)) or (len(enc) + 2 + padlen) % 4 or padlen > 3:
        errs.append('padding %s for %d encrypted octets' % (pt[len(enc):-2].hex(), len(enc)))
    inner = f['clear'] + enc
    want_c = min(sa['co'], len(inner) // 4)
    if c != want_c:
        errs.append('CryptOffset %d, want min(%d, %d/4) = %d' % (c, sa['co'], len(inner), want_c))
    if wb[0] != (nh if c else 59):
        errs.append('WESPv2 NH %d with c %d, trailer NH %d' % (wb[0], c, nh))
    again = wesp_seal(sa['alg'], sa['blob'], sa['icv'], f['hdr'], f['spi'], f['sn'], f['iv'],
                      f['clear'], pt, esn_hi)
    if again != wb:
        errs.append('re-encryption in python differs from the frame')
    errs += inner_errors(sa, inner, nh, c, port)
    facts.update(c=c, nh=nh, sn=(hi << 32 | f['sn']), iv=f['iv'], clear=f['clear'],
                 inner=len(inner), id=ctr_id, dport=inner_dport(sa, inner, nh))
    return errs, facts


def inner_dport(sa, inner, nh):
    """UDP destination port of the inner packet, or None"""
    if sa.get('mode') == 'tunnel' and inner:
        if inner[0] >> 4 == 4:
            inner, nh = inner[(inner[0] & 0xf) * 4:], inner[9]
        else:
            inner, nh = inner[40:], inner[6]
    if nh == IPPROTO_UDP and len(inner) >= 8:
        return struct.unpack('!H', inner[2:4])[0]
    return None


def inner_errors(sa, inner, nh, c, port):
    """The inner packet rebuilt from clear window + decrypted part must be the
    packet the mode carries: its first 4c octets are the clear window."""
    mode, fam = sa.get('mode'), sa.get('inner')
    errs = []
    if mode == 'tunnel':
        if nh != (4 if fam == '4' else 41):
            return ['tunnel: trailer NH %d for inner IPv%s' % (nh, fam)]
        if not inner or inner[0] >> 4 != int(fam):
            return ['tunnel: clear window/inner does not start with an IPv%s header' % fam]
        tot = (struct.unpack('!H', inner[2:4])[0] if fam == '4' else
               40 + struct.unpack('!H', inner[4:6])[0])
        if tot != len(inner):
            errs.append('tunnel: inner IP length %d, packet %d' % (tot, len(inner)))
        if fam == '4' and csum(inner[:(inner[0] & 0xf) * 4]):
            errs.append('tunnel: inner IPv4 header checksum')
        if fam == '4':
            if struct.unpack('!H', inner[6:8])[0] & 0x3fff:
                return errs     # an inner fragment: no L4 header to look at
            inner, nh = inner[(inner[0] & 0xf) * 4:], inner[9]
        else:
            if inner[6] in (0, 43, 44, 60):
                return errs     # extension headers / fragment
            inner, nh = inner[40:], inner[6]
        mode = 'tunnel (inner)'
    if mode in ('transport', 'beet', 'tunnel (inner)'):
        if nh == IPPROTO_UDP:
            if len(inner) < 8 or struct.unpack('!H', inner[4:6])[0] != len(inner):
                errs.append('%s: UDP length field != %d octets' % (mode, len(inner)))
            elif port and port not in struct.unpack('!HH', inner[:4]):
                errs.append('%s: UDP ports %s, want %d' %
                            (mode, struct.unpack('!HH', inner[:4]), port))
        elif nh == 1:
            if len(inner) < 8 or inner[0] not in (0, 8) or csum(inner):
                errs.append('%s: ICMP header/checksum' % mode)
        elif nh == 58:
            if len(inner) < 8 or inner[0] not in (128, 129):
                errs.append('%s: ICMPv6 type %d' % (mode, inner[0] if inner else -1))
        elif nh != 6:
            errs.append('%s: trailer NH %d' % (mode, nh))
    return errs


def cmd_wesp_check(a):
    """Every WESPv2 frame of the pcap against its SA; one line per SA:
    ok SPI frames=N c=.. nh=.. sn=MIN-MAX snhi=.. clear=HEX  |  fail SPI why  |
    none SPI; IVs must be distinct per SA."""
    sas = [parse_sa_spec(x) for x in a.sa]
    by_spi = {s['spi']: s for s in sas}
    res = {s['spi']: {'n': 0, 'errs': [], 'c': set(), 'nh': set(), 'sn': [], 'ivs': set(),
                      'hi': set(), 'clear': {}, 'ids': {}, 'ports': {}} for s in sas}
    other = frags = 0
    for i, fr in enumerate(pcap_read(a.pcap)):
        e = Esp(fr)
        if e.frag:
            frags += 1
            continue
        if e.wesp_off is None:
            continue
        if e.off is None or e.spi not in by_spi:
            other += 1
            continue
        sa, r = by_spi[e.spi], res[e.spi]
        r['n'] += 1
        errs, facts = wesp_frame_errors(e, sa, a.port)
        if errs and len(r['errs']) < 3:
            r['errs'].append('frame %d (SN %d): %s' % (i, e.seq, '; '.join(errs)))
        if facts:
            r['c'].add(facts['c'])
            r['nh'].add(facts['nh'])
            r['sn'].append(facts['sn'])
            r['hi'].add(facts['sn'] >> 32)
            if facts['iv'] in r['ivs']:
                r['errs'].append('IV %s repeated' % facts['iv'].hex())
            r['ivs'].add(facts['iv'])
            if facts['id'] is not None:
                r['ids'].setdefault(facts['id'], []).append(facts['sn'])
                if facts['dport'] is not None:
                    r['ports'].setdefault(facts['dport'], set()).add(facts['id'])
            old = r['clear'].get(facts['nh'], b'')
            if len(facts['clear']) > len(old):
                r['clear'][facts['nh']] = facts['clear']
    for s in sas:
        r = res[s['spi']]
        if not r['n']:
            print('none 0x%x' % s['spi'])
        elif r['errs']:
            print('fail 0x%x frames=%d %s' % (s['spi'], r['n'], ' | '.join(r['errs'])))
        else:
            sn = sorted(r['sn'])
            print('ok 0x%x frames=%d c=%s nh=%s sn=%d-%d snhi=%s distinct-ivs=%d clear=%s' % (
                s['spi'], r['n'], ','.join(map(str, sorted(r['c']))),
                ','.join(map(str, sorted(r['nh']))), sn[0], sn[-1],
                ','.join(map(str, sorted(r['hi']))), len(r['ivs']),
                ','.join('%d:%s' % (k, v[:16].hex()) for k, v in sorted(r['clear'].items())
                         if v) or '-') + ctr_summary(r))
    if other:
        print('# %d WESPv2 frames of other SAs' % other)
    if frags:
        print('# %d IP fragments not checked' % frags)


def ctr_summary(r):
    """counter SAs: ' ctrs=ID:FRAMES:MINSEQ-MAXSEQ/... ports=PORT:ID+ID/...'"""
    if not r['ids']:
        return ''
    return ' ctrs=%s ports=%s' % (
        '/'.join('%d:%d:%d-%d' % (i, len(v), min(v), max(v)) for i, v in sorted(r['ids'].items())),
        '/'.join('%d:%s' % (p, '+'.join(map(str, sorted(v))))
                 for p, v in sorted(r['ports'].items())) or '-')


def cmd_wesp_craft(a):
    """A WESPv2 packet for an SA from a captured one: header fields/options
    changed (re-encrypted with the key: valid ICV, or raw), bits flipped,
    truncated, WESPv2 removed or added."""
    frames = esp_frames(a.inp) if not a.any else [Esp(f) for f in pcap_read(a.inp)]
    if a.index >= len(frames):
        raise SystemExit('%s: no frame %d (have %d)' % (a.inp, a.index, len(frames)))
    e = frames[a.index]
    if a.wrap is not None:          # plain ESP -> protocol 141
        if e.wesp_off is not None or e.udp_off is not None:
            raise SystemExit('--wrap needs a plain ESP frame')
        frame_set_proto(e, IPPROTO_WESP)
        frame_replace_l4(e, bytes.fromhex(a.wrap) + e.esp())
        e = Esp(e.frame)
    elif e.wesp_off is None:
        raise SystemExit('not a WESPv2 frame')
    wb = bytearray(e.frame[e.wesp_off:])
    edit = any(x is not None for x in (a.nh, a.hdrlen, a.co, a.r, a.v, a.optlen, a.options,
                                       a.trailer_nh))
    note = ''
    if a.reseal or (edit and a.key and not a.raw):
        if not a.key:
            raise SystemExit('--reseal needs --key')
        blob = bytes.fromhex(a.key.replace('0x', ''))
        f, pt = wesp_open(a.alg, blob, a.icv, wb, a.esn_hi)
        if pt is None:
            raise SystemExit('the captured packet does not verify with this key')
        nh = pt[-1] if a.trailer_nh is None else a.trailer_nh
        inner = f['clear'] + pt[:len(pt) - 2 - pt[-2]]
        c = f['c'] if a.co is None else a.co
        if 4 * c > len(inner):
            raise SystemExit('CryptOffset %d past the %d-octet payload' % (c, len(inner)))
        opts = f['hdr'][4:] if a.options is None else bytes.fromhex(a.options)
        hdr = wesp_header(a.nh if a.nh is not None else (nh if c else 59), c, opts,
                          r=a.r or 0, v=1 if a.v is None else a.v, optlen=a.optlen,
                          hdrlen=a.hdrlen)
        enc = inner[4 * c:]
        new = wesp_seal(a.alg, blob, a.icv, hdr, f['spi'], f['sn'], f['iv'], inner[:4 * c],
                        enc + trailer(len(enc), nh), a.esn_hi)
        note = ' identical' if new == bytes(wb) else ''
        wb = bytearray(new)
    elif edit:                      # raw: only the header octets change
        optlen = wb[3] & 0x3f
        opts = wb[4:4 + optlen] if a.options is None else bytes.fromhex(a.options)
        rest = wb[4 + optlen:]
        hdr = bytearray(wb[:4])
        if a.nh is not None:
            hdr[0] = a.nh
        if a.hdrlen is not None:
            hdr[1] = a.hdrlen
        if a.co is not None:
            hdr[2] = (a.co << 2 | hdr[2] & 3) & 0xff
        if a.r is not None:
            hdr[2] = (hdr[2] & 0xfc) | a.r
        if a.v is not None:
            hdr[3] = (a.v << 6 | hdr[3] & 0x3f) & 0xff
        if a.options is not None:
            hdr[3] = (hdr[3] & 0xc0) | len(opts)
        if a.optlen is not None:
            hdr[3] = (hdr[3] & 0xc0) | a.optlen
        wb = hdr + bytearray(opts) + rest
    if a.strip:                     # WESPv2 -> plain ESP (protocol 50)
        wb = wb[4 + (wb[3] & 0x3f):]
        frame_set_proto(e, IPPROTO_ESP)
    if a.spi is not None:
        o = 0 if a.strip else 4 + (wb[3] & 0x3f)
        wb[o:o + 4] = struct.pack('!I', a.spi)
    for fl in a.flip or []:
        off, bit = (int(x, 0) for x in fl.split(':'))
        wb[off] ^= 0x80 >> bit
    if a.truncate is not None:
        wb = wb[:a.truncate]
    out = []
    variants = [None] if a.flip_all is None else range(8)
    for bit in variants:
        v = bytearray(wb)
        if bit is not None:
            v[a.flip_all] ^= 0x80 >> bit
        frame_replace_l4(e, v)
        if a.ext:
            frame_add_ext(e)
        out += [bytes(e.frame)] * a.copies
    pcap_write(a.out, out)
    show = 8 + (wb[3] & 0x3f if len(wb) > 3 else 0)
    print('crafted %d frame(s), %d octets after the IP header: %s%s' %
          (len(out), len(wb), bytes(wb[:show]).hex(), note))


# ------------------------------------------------------ counter SAs ----
# multi-counters.md §3: WESPv2 with option 27 (1b 02 id) first, IV =
# be16(id) | be48(seq), SN = low 32 bits of seq, AAD = WESPv2 header | SPI |
# be32(seq >> 32) | be32(seq & 0xffffffff) | clear octets.
CTR_SEQ_MAX = (1 << 48) - 1


def ctr_opt(cid):
    return b'\x1b\x02' + struct.pack('!H', cid & 0xffff)


def ctr_iv(cid, seq):
    return struct.pack('!HHI', cid & 0xffff, (seq >> 32) & 0xffff, seq & 0xffffffff)


def ctr_build(alg, blob, icv, inner, nh, spi, cid, seq, c_max, iv=None, opts=None):
    """A counter SA's WESPv2 packet (header .. ICV) for one inner payload"""
    c = min(c_max, len(inner) // 4, 63)
    hdr = wesp_header(nh if c else 59, c, ctr_opt(cid) if opts is None else opts)
    enc = inner[4 * c:]
    return wesp_seal(alg, blob, icv, hdr, spi, seq & 0xffffffff,
                     ctr_iv(cid, seq) if iv is None else iv, inner[:4 * c],
                     enc + trailer(len(enc), nh), seq >> 32)


def ctr_fields(wb):
    """(id, SN, IV, seq from the IV) of the octets from a WESPv2 header on;
    id -1 without option 27 first"""
    optlen = wb[3] & 0x3f
    cid = struct.unpack('!H', wb[6:8])[0] if optlen >= 4 and wb[4] == 0x1b else -1
    hl = 4 + optlen
    sn = struct.unpack('!I', wb[hl + 4:hl + 8])[0]
    iv = bytes(wb[hl + 8:hl + 16])
    return cid, sn, iv, struct.unpack('!Q', b'\0\0' + iv[2:])[0]


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


def cmd_ctr_ivs(a):
    """The IV uniqueness check of a (snaplen-cut) capture of counter SAs:
    per frame the option 27 id, SN and IV only (no decryption)"""
    seen, ids, bad, n, other = set(), {}, [], 0, 0
    rep = 0
    for fr in pcap_read(a.pcap):
        e = Esp(fr)
        if e.wesp_off is None or e.off is None or e.frag:
            continue
        if a.spi is not None and e.spi != a.spi:
            other += 1
            continue
        wb = e.frame[e.wesp_off:]
        if len(wb) < 4 + (wb[3] & 0x3f) + 16:
            bad.append('frame %d: cut before the IV' % n)
            n += 1
            continue
        cid, sn, iv, seq = ctr_fields(wb)
        n += 1
        if cid < 0 or (a.n and cid >= a.n):
            bad.append('frame %d: option 27 id %d' % (n - 1, cid))
        elif iv[:2] != struct.pack('!H', cid) or seq & 0xffffffff != sn or not seq:
            bad.append('frame %d: id %d SN %d IV %s' % (n - 1, cid, sn, iv.hex()))
        if iv in seen:
            rep += 1
            if len(bad) < 20:
                bad.append('frame %d: IV %s repeated' % (n - 1, iv.hex()))
        seen.add(iv)
        ids.setdefault(cid, []).append(seq)
    per = []
    for cid, v in sorted(ids.items()):
        mn, mx = min(v), max(v)
        per.append('%d:%d:%d-%d:holes=%d' % (cid, len(v), mn, mx, mx - mn + 1 - len(set(v))))
    print('%s frames=%d distinct-ivs=%d repeats=%d bad=%d ids=%s' % (
        'ok' if n and not bad else 'fail', n, len(seen), rep, len(bad), '/'.join(per) or '-'))
    for b in bad[:10]:
        print('# ' + b)
    if a.seqs:
        for cid, v in sorted(ids.items()):
            print('seqs %d %s' % (cid, ','.join(map(str, v))))
    if other:
        print('# %d frames of other SAs' % other)


def cmd_ctr_craft(a):
    """Counter SA packets from a captured one: re-encrypted with the key as
    id/seq/IV/options say (valid ICV), or --flood N variants with random ids
    below --n, random SNs, IV = id|seq and a random ICV (no key needed)"""
    import random
    frames = esp_frames(a.inp)
    if a.index >= len(frames):
        raise SystemExit('%s: no frame %d (have %d)' % (a.inp, a.index, len(frames)))
    e = frames[a.index]
    if e.wesp_off is None:
        raise SystemExit('not a WESPv2 frame')
    wb = bytes(e.frame[e.wesp_off:])
    cid, sn, iv, seq = ctr_fields(wb)
    out = []
    if a.flood:
        rnd = random.Random(a.seed)
        hl = 4 + (wb[3] & 0x3f)
        sns = rnd.sample(range(1 << 20, 1 << 31), a.flood)
        for s in sns:
            i = rnd.randrange(a.n)
            v = bytearray(wb)
            v[6:8] = struct.pack('!H', i)
            v[hl + 4:hl + 8] = struct.pack('!I', s)
            v[hl + 8:hl + 16] = ctr_iv(i, s)
            v[len(v) - a.icv:] = bytes(rnd.randrange(256) for _ in range(a.icv))
            frame_replace_l4(e, v)
            out.append(bytes(e.frame))
        pcap_write(a.out, out)
        print('crafted %d frame(s), ids < %d' % (len(out), a.n))
        return
    blob = bytes.fromhex(a.key.replace('0x', ''))
    f, pt = wesp_open(a.alg, blob, a.icv, wb, esn_hi=seq >> 32)
    if pt is None:
        raise SystemExit('the captured packet does not verify with this key')
    inner = f['clear'] + pt[:len(pt) - 2 - pt[-2]]
    c = f['c']
    enc = inner[4 * c:]

    def seal(nid, nseq, opts, niv):
        hdr = wesp_header(wb[0], c, opts)
        new = wesp_seal(a.alg, blob, a.icv, hdr, f['spi'], nseq & 0xffffffff, niv,
                        inner[:4 * c], enc + trailer(len(enc), pt[-1]), nseq >> 32)
        frame_replace_l4(e, new)
        return bytes(e.frame)
    if a.all_ids:
        # one valid packet per counter id below --all-ids, each its seq
        nseq = 1 if a.seq is None else a.seq
        out = [seal(i, nseq, ctr_opt(i), ctr_iv(i, nseq)) for i in range(a.all_ids)]
        pcap_write(a.out, out)
        print('crafted %d frame(s): ids 0-%d seq %d' % (len(out), a.all_ids - 1, nseq))
        return
    nid = cid if a.id is None else a.id
    nseq = seq if a.seq is None else a.seq
    opts = ctr_opt(nid) if a.options is None else bytes.fromhex(a.options)
    niv = ctr_iv(nid, nseq) if a.iv is None else bytes.fromhex(a.iv)
    out = [seal(nid, nseq, opts, niv)] * a.copies
    pcap_write(a.out, out)
    print('crafted %d frame(s): id %d seq %d IV %s options %s' % (len(out), nid, nseq,
                                                              niv.hex(), opts.hex()))


def cmd_ctr(a):
    """Counter state of the counter SAs of this netns (ESPX_CMD_CTR_GET), in
    espx_genl ctr's format"""
    g = EspxGenl(os.getpid())
    for spi, sa_id, at in g.sas():
        if (a.spi is not None and spi != a.spi) or ESPX_A_COUNTERS not in at:
            continue
        cn = nla_parse(at[ESPX_A_COUNTERS])
        u = {k: struct.unpack('=Q', (v + bytes(8))[:8])[0] for k, v in cn.items()}
        print('sa 0x%x counters %d window %d windows %d' % (
            spi, u.get(ESPX_COUNTERS_COUNT, 0) & 0xffff,
            u.get(ESPX_COUNTERS_WINDOW, 0) & 0xffffffff,
            u.get(ESPX_COUNTERS_WINDOWS, 0) & 0xffffffff))
        for d in g.ctrs(sa_id):
            if a.active and not (d.get('out_packets') or d['in_top'] is not None or
                                 d.get('in_replay')):
                continue
            print('id=%d out_seq=%d out_packets=%d out_bytes=%d in_top=%s in_packets=%d '
                  'in_bytes=%d in_replay=%d' % (
                      d.get('id', -1), d.get('out_seq', 0), d.get('out_packets', 0),
                      d.get('out_bytes', 0), '-' if d['in_top'] is None else d['in_top'],
                      d.get('in_packets', 0), d.get('in_bytes', 0), d.get('in_replay', 0)))


def cmd_espx_stats(a):
    """espx's per-SA (espx:SPI:NAME), per-counter (espxctr:SPI:ID:NAME) and
    netns counters of this netns, one 'NAME VALUE' a line"""
    g = EspxGenl(a.pid or os.getpid())
    if a.spi is not None:
        g.ctr_spis = {a.spi}
    for k, v in sorted(g.counters().items()):
        print(k, v)


def cmd_blast(a):
    """count UDP datagrams to dst:port as fast as a blocking socket takes
    them (sendmmsg, batch at a time), or one per gap seconds"""
    import ctypes
    fam = socket.AF_INET6 if ':' in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.sport:
        s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', a.sport))
    s.connect((a.dst, a.port))
    msg = (a.tag.encode() + b' ' * a.len)[:max(a.len, len(a.tag))]
    sent = errs = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    print('ready', flush=True)
    while a.go and not os.path.exists(a.go) and not stop:
        time.sleep(0.01)
    if a.gap or a.batch <= 1:
        for _ in range(a.count):
            if stop:
                break
            try:
                s.send(msg)
                sent += 1
            except OSError:
                errs += 1
            if a.gap:
                time.sleep(a.gap)
        print('sent %d errors %d' % (sent, errs), flush=True)
        return

    class Iov(ctypes.Structure):
        _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]

    class Mmsg(ctypes.Structure):
        _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint),
                    ('iov', ctypes.POINTER(Iov)), ('iovlen', ctypes.c_size_t),
                    ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t),
                    ('flags', ctypes.c_int), ('msg_len', ctypes.c_uint)]
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(msg, len(msg))
    iov = Iov(ctypes.cast(buf, ctypes.c_void_p), len(msg))
    vec = (Mmsg * a.batch)()
    for m in vec:
        m.iov = ctypes.pointer(iov)
        m.iovlen = 1
    while sent < a.count and not stop:
        k = min(a.batch, a.count - sent)
        r = libc.sendmmsg(s.fileno(), vec, k, 0)
        if r < 0:
            errs += 1
            if errs > 1000:
                break
            time.sleep(0.001)
            continue
        sent += r
    print('sent %d errors %d' % (sent, errs), flush=True)


def cmd_sink(a):
    """count datagrams per local port; SIGUSR1 or SIGTERM print
    'count PORT:N ...' (SIGTERM then exits)"""
    socks = {}
    for p in a.port:
        for s in _bind_both(p):
            s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)     # SO_RCVBUFFORCE
            s.setblocking(False)
            socks[s] = p
    cnt = {p: 0 for p in a.port}
    flags = {'show': False, 'stop': False}
    signal.signal(signal.SIGUSR1, lambda *x: flags.update(show=True))
    signal.signal(signal.SIGTERM, lambda *x: flags.update(show=True, stop=True))
    print('ready', flush=True)
    while True:
        try:
            r = select.select(list(socks), [], [], 0.1)[0]
        except InterruptedError:
            r = []
        for s in r:
            while True:
                try:
                    s.recv(65535)
                except OSError:
                    break
                cnt[socks[s]] += 1
        if flags['show']:
            flags['show'] = False
            print('count ' + ' '.join('%d:%d' % kv for kv in sorted(cnt.items())), flush=True)
        if flags['stop']:
            return


# ------------------------------------------------------------ Diet-ESP ----
# diet-esp.md (draft-ietf-ipsecme-diet-esp-07): EEC (truncated SPI/SN), CTEC
# (trailer elision), IIPC (inner IPv4/IPv6 + UDP/TCP compression); AEAD over
# the full SPI/SN, nonce = salt | be64(SN), IV on the wire be64(SN) or none
# (iiv). Written from the spec, independently of net/espx/codec/diet_codec.c.
DIET_PROTO = 253
ESPX_CMD_SA_SET, ESPX_A_DIET, ESPX_A_DETACHED = 1, 9, 10
ESPX_ID_FAMILY, ESPX_ID_DADDR = 1, 2
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


def _diet_in_pfx(v, tv, plen):
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
    if not (_diet_in_pfx(src, sa.ts['src'][0], sa.plen['src']) and
            _diet_in_pfx(dst, sa.ts['dst'][0], sa.plen['dst'])):
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


def _outer(fr):
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


def _pton(a):
    return socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)


def _beet_addrs(sa):
    return sa.ts['src'][0], sa.ts['dst'][0]


def diet_frame_check(sa, o, data, top, port, tag):
    """decode one captured Diet-ESP frame of SA sa; (errors, facts)"""
    errs = []
    addrs = (o['src'], o['dst']) if sa.mode == 'transport' else _beet_addrs(sa)
    sn, pkt, proto, payload, pt = diet_decode(sa, data, top, o['lower'], addrs)
    facts = {'sn': sn}
    if o['proto'] != sa.outer_proto:
        errs.append('outer protocol %d, want %d' % (o['proto'], sa.outer_proto))
    if bytes(data[:sa.eec_len]) != diet_eec(sa, sa.spi, sn):
        errs.append('EEC %s != SPI/SN bits %s' % (bytes(data[:sa.eec_len]).hex(),
                                                 diet_eec(sa, sa.spi, sn).hex()))
    if not sa.iiv and bytes(data[sa.eec_len:sa.eec_len + 8]) != struct.pack('!Q', sn):
        errs.append('IV %s != be64(SN %d)' % (bytes(data[sa.eec_len:sa.eec_len + 8]).hex(), sn))
    # the inner packet: in the selector, our test traffic
    l4seg, frag = pkt, False
    if sa.mode == 'tunnel':
        if sa.inner == 4:
            if csum(pkt[:20]):
                errs.append('inner IPv4 header checksum')
            frag = struct.unpack('!H', pkt[6:8])[0] & 0x3fff
            src, dst, l4seg = pkt[12:16], pkt[16:20], pkt[20:]
        else:
            src, dst, l4seg = pkt[8:24], pkt[24:40], pkt[40:]
        for k, a in (('src', src), ('dst', dst)):
            if not _diet_in_pfx(a, sa.ts[k][0], sa.plen[k]):
                errs.append('inner %s outside the selector' % k)
    else:
        src, dst = addrs
    if not frag and proto in (IPPROTO_UDP, 6) and len(l4seg) >= 8:
        ports = struct.unpack('!HH', l4seg[:4])
        if port and port not in ports and proto == IPPROTO_UDP:
            errs.append('UDP ports %s, want %d' % (ports, port))
        if proto == IPPROTO_UDP and tag and not l4seg[8:].startswith(tag):
            errs.append('UDP payload %r is not test traffic' % bytes(l4seg[8:24]))
        facts['ports'] = ports
    # the sender's octets again, from the rebuilt inner packet
    try:
        again, lower = diet_encode(sa, pkt, proto, sn)
        if again != bytes(data):
            errs.append('python compression of the rebuilt packet differs: %s vs %s' % (
                again[:24].hex(), bytes(data[:24]).hex()))
    except DietDrop as e:
        errs.append('python compressor refuses the rebuilt packet: %s' % e.args[0])
    # sizes: plain ESP minus the spec's saving
    plain = diet_plain_len(sa, pkt)
    saving = diet_saving(sa, pkt, proto, frag)
    if len(data) != plain - saving:
        errs.append('%d octets, plain ESP %d - saving %d = %d' % (
            len(data), plain, saving, plain - saving))
    facts.update(plain=plain, diet=len(data), saving=plain - len(data), proto=proto,
                 res=bytes(payload[:-(-diet_residue_bits(sa, proto, frag) // 8)]), dlen=len(l4seg) - (8 if proto == IPPROTO_UDP else 0))
    return errs, facts


def cmd_diet_check(a):
    """Every Diet-ESP (or protocol-50 Diet) frame of the pcap against its SA
    (found like the receiver: outer addresses, truncated SPI, ICV); one line
    per SA: ok SPI frames=N proto=P eec=HEX sn=MIN-MAX saving=S,... sizes=PLAIN:DIET,...
    [probe=PLAIN:DIET] | fail SPI why | none SPI"""
    sas = [DietSA(x) for x in a.sa]
    tag = a.tag.encode() if a.tag else b''
    res = {s.spi: {'n': 0, 'errs': [], 'sn': [], 'sav': set(), 'sizes': set(), 'eec': None,
                   'probe': set(), 'top': 0, 'wraps': 0, 'late': 0} for s in sas}
    other = 0
    frames = [fr for f in a.pcap for fr in pcap_read(f)]
    for i, fr in enumerate(frames):
        o = _outer(fr)
        if not o or o['proto'] not in (DIET_PROTO, IPPROTO_ESP) or o['frag']:
            continue
        data = bytes(fr[o['l4']:])
        cands = [s for s in sas if _pton(s.odst) == o['dst'] and
                 (s.spil or _pton(s.osrc) == o['src'])]
        if o['proto'] == IPPROTO_ESP:
            cands = [s for s in cands if len(data) >= 4 and
                     struct.unpack('!I', data[:4])[0] == s.spi]
        else:
            cands = [s for s in cands if len(data) >= 4 and s.spil <= 32 and
                     int.from_bytes(data[:4], 'big') >> (32 - s.spil) ==
                     s.spi & ((1 << s.spil) - 1)]
        hit, why = None, []
        for s in cands:
            r = res[s.spi]
            try:
                errs, facts = diet_frame_check(s, o, data, r['top'], a.port, tag)
                hit = s
                break
            except DietDrop as e:
                why.append('0x%x: %s' % (s.spi, e.args[0]))
        if not hit:
            other += 1
            if cands:
                r = res[cands[0].spi]
                r['n'] += 1
                r['errs'].append('frame %d: no candidate decodes it (%s)' % (i, ', '.join(why)))
            continue
        r = res[hit.spi]
        r['n'] += 1
        if errs and len(r['errs']) < 3:
            r['errs'].append('frame %d (SN %d): %s' % (i, facts['sn'], '; '.join(errs)))
        if facts['sn'] >> hit.snl > r['top'] >> hit.snl:
            r['wraps'] += 1
        r['late'] += facts['sn'] < r['top']
        r['top'] = max(r['top'], facts['sn'])
        r['sn'].append(facts['sn'])
        r['sav'].add(facts['saving'])
        r['sizes'].add('%d:%d' % (facts['plain'], facts['diet']))
        if r['eec'] is None:
            r['eec'] = data[:hit.eec_len].hex() or '-'
            r['res'] = facts['res'].hex() or '-'
        if a.probe_len is not None and facts.get('dlen') == a.probe_len:
            r['probe'].add('%d:%d' % (facts['plain'], facts['diet']))
    for s in sas:
        r = res[s.spi]
        if not r['n']:
            print('none 0x%x' % s.spi)
        elif r['errs']:
            print('fail 0x%x frames=%d %s' % (s.spi, r['n'], ' | '.join(r['errs'][:3])))
        else:
            sn = sorted(r['sn'])
            print('ok 0x%x frames=%d proto=%d eec=%s res=%s sn=%d-%d wraps=%d late=%d saving=%s '
                  'sizes=%s%s' % (
                s.spi, r['n'], s.outer_proto, r['eec'], r['res'], sn[0], sn[-1], r['wraps'], r['late'],
                ','.join(map(str, sorted(r['sav']))), ','.join(sorted(r['sizes'])),
                ' probe=' + ','.join(sorted(r['probe'])) if r['probe'] else ''))
    if other:
        print('# %d frames no SA decodes' % other)


def _eth_ip(sa, l4, proto, lower=None, ttl=64):
    """Ethernet + outer IP header (sa's outer addresses) + l4"""
    lower = lower or {}
    if sa.outer == 4:
        h = bytearray(ipv4_header(sa.osrc, sa.odst, proto, len(l4), ident=lower.get('flow', 1),
                                  ttl=lower.get('hl', ttl)))
        h[1] = lower.get('dscp', 0) << 2 | lower.get('ecn', 0)
        h[10:12] = b'\0\0'
        h[10:12] = struct.pack('!H', csum(h))
        et = ETH_P_IP
    else:
        h = bytearray(ipv6_header(sa.osrc, sa.odst, proto, len(l4), hlim=lower.get('hl', ttl)))
        h[0:4] = struct.pack('!I', 6 << 28 | lower.get('dscp', 0) << 22 |
                             lower.get('ecn', 0) << 20 | lower.get('flow', 0) & 0xfffff)
        et = ETH_P_IPV6
    mac_d = bytes.fromhex(DIET_MAC_DST.replace(':', ''))
    mac_s = bytes.fromhex(DIET_MAC_SRC.replace(':', ''))
    return mac_d + mac_s + struct.pack('!H', et) + bytes(h) + bytes(l4)


DIET_MAC_SRC, DIET_MAC_DST = '02:00:00:00:00:0a', '02:00:00:00:00:0b'


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
        seg[16:18] = struct.pack('!H', _l4_csum(_pton(s), _pton(d), 6, bytes(seg)))
        seg = bytes(seg)
    else:
        proto = IPPROTO_UDP
        seg = udp_datagram(s, d, sp, dp, data)
    if sa.mode != 'tunnel':
        return seg, proto
    if sa.inner == 4:
        return ipv4_header(s, d, proto, len(seg)) + seg, proto
    return ipv6_header(s, d, proto, len(seg)) + seg, proto


def cmd_diet_craft(a):
    """Diet-ESP frames for SA --sa into the receiver, from scratch: COUNT
    packets with SNs SN, SN+1, ... (valid ICV unless --flip-icv), forged as
    the options say"""
    sa = DietSA(a.sa)
    global DIET_MAC_SRC, DIET_MAC_DST
    DIET_MAC_SRC, DIET_MAC_DST = a.mac_src, a.mac_dst
    ov = {}
    for k in ('ihl', 'dscp_index', 'tcp_off', 'pad', 'cut', 'nh', 'padlen', 'spi'):
        v = getattr(a, k)
        if v is not None:
            ov[k] = v
    if a.residue is not None:
        ov['residue'] = bytes.fromhex(a.residue)
    if a.full_esp:
        ov['full_esp'] = True
    out = []
    sns = [int(x, 0) for x in a.sns.split(',')] if a.sns else range(a.sn, a.sn + a.count)
    for sn in sns:
        msg = ('%s %d\n' % (a.tag, sn)).encode()
        pkt, proto = diet_inner(sa, msg, tcp=a.tcp, dport=a.dport)
        data, lower = diet_encode(sa, pkt, proto, sn, ov)
        data = bytearray(data)
        if a.flip_icv:
            data[-1] ^= 0x80
        if a.truncate is not None:
            data = data[:a.truncate]
        oproto = sa.outer_proto if a.proto is None else a.proto
        if sa.mode == 'tunnel':
            lower.setdefault('hl', 64)
        else:
            lower = {}
        out += [_eth_ip(sa, bytes(data), oproto, lower)] * a.copies
    if a.append and os.path.exists(a.out):
        out = pcap_read(a.out) + out
    pcap_write(a.out, out)
    print('crafted %d frame(s), SN %d.., %d octets after the IP header: %s' % (
        len(out), sns[0], len(data), bytes(data[:12]).hex()))


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
    chk('A packet', pkt, h('60000000001cfd40') + _pton('2001:db8::100') + _pton('2001:db8::1') + want)
    o = _outer(b'\0' * 12 + b'\x86\xdd' + pkt)
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
    o = _outer(b'\0' * 12 + b'\x86\xdd' + want)
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
            addrs = ((_pton(sa.osrc), _pton(sa.odst)) if sa.mode == 'transport' else
                     _beet_addrs(sa))
            got = diet_decode(sa, esp, sn - 3, lower, addrs)
            plain = diet_plain_len(sa, pkt)
            chk('shape %d%s: round trip, size = plain %d - saving %d' % (
                i, ' tcp doff %d' % tcp if tcp else '', plain, diet_saving(sa, pkt, proto)),
                (got[0], got[1], len(esp)), (sn, pkt, plain - diet_saving(sa, pkt, proto)))
    sys.exit(1 if chk.fails else 0)


def cmd_diet_set(a):
    """ESPX_CMD_SA_SET with ESPX_A_DIET for each --sa (pending configs, bound
    by the NEWSA that follows)"""
    g = EspxGenl(os.getpid())
    fails = 0
    for text in a.sa:
        sa = DietSA(text)
        fam = socket.AF_INET if sa.outer == 4 else socket.AF_INET6
        sid = (nla(ESPX_ID_FAMILY, struct.pack('=H', fam)) +
               nla(ESPX_ID_DADDR, _pton(sa.odst)) + nla(ESPX_ID_SPI, struct.pack('!I', sa.spi)))
        d = b''.join(nla(t, bytes([v])) for t, v in (
            (1, sa.spil), (2, sa.snl), (3, sa.align), (4, sa.trailer), (5, sa.iipc),
            (6, sa.dscp), (8, sa.ecn), (9, sa.fl)))
        if sa.dscpl:
            d += nla(7, bytes(sa.dscpl))
        if sa.iiv:
            d += nla(10, b'')
        try:
            # detached: the NEWSA comes from another process (ip -batch)
            g.talk(g.family, ESPX_CMD_SA_SET, NLM_F_REQUEST | NLM_F_ACK,
                   nla(ESPX_A_SA_ID | NLA_F_NESTED, sid) + nla(ESPX_A_DIET | NLA_F_NESTED, d) +
                   nla(ESPX_A_DETACHED, b''))
            print('ok 0x%x' % sa.spi)
        except OSError as e:
            fails += 1
            print('fail 0x%x %s' % (sa.spi, e))
    sys.exit(1 if fails else 0)


# ------------------------------------------------ espx generic netlink ----
NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CLONE_NEWNET = 0x40000000
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 0x8000
ESPX_CMD_SA_GET, ESPX_CMD_INFO_GET, ESPX_CMD_CTR_GET = 2, 4, 5
ESPX_A_SA_ID, ESPX_A_STATS, ESPX_A_INFO, ESPX_A_COUNTERS, ESPX_A_CTR = 1, 4, 6, 7, 8
# enum espx_counters_attr / enum espx_ctr_attr
ESPX_COUNTERS_COUNT, ESPX_COUNTERS_WINDOW, ESPX_COUNTERS_START, ESPX_COUNTERS_WINDOWS = 1, 2, 3, 4
ESPX_CTR_FIELDS = (None, 'id', 'out_seq', 'out_packets', 'out_bytes', 'in_top', 'in_packets',
                   'in_bytes', 'in_replay')
ESPX_ID_SPI, ESPX_INFO_NS_STATS = 3, 3
# Names of enum espx_stat / espx_ns_stat, by value. Taken from the uapi header
# when it is next to the selftests (so they cannot drift), else this copy.
ESPX_STATS = ('unspec out_packets out_bytes in_packets in_bytes out_drop_nomem '
              'out_drop_crypto in_drop_truncated in_drop_icv in_drop_padding '
              'in_drop_nomem in_drop_beetph in_drop_wesp_truncated in_drop_wesp_version '
              'in_drop_wesp_align in_drop_wesp_option in_drop_wesp_opt_unknown '
              'in_drop_wesp_hdrlen in_drop_wesp_crypt_offset in_drop_wesp_nexthdr '
              'in_drop_wesp_subsa in_drop_wesp_not_wesp in_drop_wesp_plain_sa '
              'out_drop_ctr_exhausted in_drop_ctr_range in_drop_ctr_seq in_drop_ctr_iv '
              'in_drop_ctr_replay in_drop_ctr_nomem out_drop_diet_nomatch '
              'in_drop_diet_proto in_drop_diet_sn in_drop_diet_trailer '
              'in_drop_diet_residue in_drop_diet_dscp in_drop_diet_length '
              'in_diet_candidate_retry in_drop_crypto in_drop_aggfrag in_drop_echo_truncated '
              'in_drop_echo_unsupported in_drop_echo_replay in_drop_echo_length '
              'in_drop_echo_disabled in_echo_oneway in_echo_ratelimited '
              'echo_reply_fallback in_drop_echo_no_sa out_echo_reply '
              'in_drop_echo_unsolicited in_echo_request in_echo_reply '
              'out_echo_request out_drop_echo in_drop_eesp_header in_drop_eesp_version '
              'in_drop_eesp_truncated in_drop_eesp_option in_drop_eesp_crypt_offset '
              'in_drop_eesp_subsa in_drop_eesp_replay in_drop_eesp_pih in_drop_eesp_inner '
              'in_drop_eesp_not_eesp in_drop_eesp_plain_sa in_eesp_dummy '
              'out_drop_eesp_exhausted').split()
ESPX_NS_STATS = ('unspec wesp_truncated wesp_no_sa diet_truncated diet_no_sa pending_expired '
                 'rule_fallback echo_plain eesp_truncated eesp_no_sa').split()


def uapi_enum(name, prefix, fallback):
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (os.path.join(here, '..', 'include', 'uapi', 'linux', 'espx.h'),):
        try:
            with open(p) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r'enum %s \{(.*?)\};' % name, text, re.S)
        if not m:
            break
        names = re.findall(r'^\s*(%s\w+)\s*,' % prefix, m.group(1), re.M)
        names = [n[len(prefix):].lower() for n in names if not n.startswith('__')]
        if names and names[0] == 'unspec':
            return names
    return fallback


class EspxGenl:
    """Read-only client of the espx family in the netns of process pid."""

    def __init__(self, pid):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open('/proc/self/ns/net', os.O_RDONLY)
        tgt = os.open('/proc/%s/ns/net' % pid, os.O_RDONLY)
        try:
            if libc.setns(tgt, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), 'setns')
            try:
                self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
                self.s.bind((0, 0))
            finally:
                libc.setns(own, CLONE_NEWNET)
        finally:
            os.close(own)
            os.close(tgt)
        self.seq = 0
        self.ctr_spis = None        # per-counter state of these SPIs only
        self.stat_names = uapi_enum('espx_stat', 'ESPX_STAT_', ESPX_STATS)
        self.ns_names = uapi_enum('espx_ns_stat', 'ESPX_NS_STAT_', ESPX_NS_STATS)
        name = b'espx\0'
        attrs = nla(2, name)        # CTRL_ATTR_FAMILY_NAME
        msgs = self.talk(GENL_ID_CTRL, 3, NLM_F_REQUEST | NLM_F_ACK, attrs, 1)
        self.family = struct.unpack('=H', nla_parse(msgs[0])[1][:2])[0]

    def talk(self, typ, cmd, flags, attrs=b'', version=1):
        self.seq += 1
        body = struct.pack('=BBH', cmd, version, 0) + attrs
        self.s.send(struct.pack('=IHHII', 16 + len(body), typ, flags, self.seq, 0) + body)
        out = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                ln, t, fl, seq, _ = struct.unpack_from('=IHHII', data, off)
                if ln < 16:
                    break
                if seq == self.seq:
                    if t == NLMSG_ERROR:
                        err = struct.unpack_from('=i', data, off + 16)[0]
                        if err:
                            raise OSError(-err, 'espx netlink request failed')
                        return out
                    if t == NLMSG_DONE:
                        return out
                    out.append(data[off + 20:off + ln])
                off += (ln + 3) & ~3

    def sas(self):
        """[(spi, raw ESPX_A_SA_ID nest, attrs)] of every SA and pending config"""
        out = []
        for m in self.talk(self.family, ESPX_CMD_SA_GET, NLM_F_REQUEST | NLM_F_DUMP):
            at = nla_parse(m)
            if ESPX_A_SA_ID not in at:
                continue
            spi = struct.unpack('!I', nla_parse(at[ESPX_A_SA_ID])[ESPX_ID_SPI][:4])[0]
            out.append((spi, at[ESPX_A_SA_ID], at))
        return out

    def ctrs(self, sa_id):
        """One dict per counter of the SA (ESPX_CMD_CTR_GET dump); in_top None
        while the counter has no receive window"""
        res = []
        # strict validation: a nest must carry NLA_F_NESTED
        for m in self.talk(self.family, ESPX_CMD_CTR_GET, NLM_F_REQUEST | NLM_F_DUMP,
                           nla(ESPX_A_SA_ID | NLA_F_NESTED, sa_id)):
            ctr = nla_parse(nla_parse(m).get(ESPX_A_CTR, b''))
            d = {'in_top': None}
            for t, v in ctr.items():
                if 0 < t < len(ESPX_CTR_FIELDS):
                    d[ESPX_CTR_FIELDS[t]] = (struct.unpack('=H', v[:2])[0] if t == 1 else
                                             struct.unpack('=Q', v[:8])[0])
            res.append(d)
        return res

    def counters(self):
        c = {}
        for spi, sa_id, at in self.sas():
            if ESPX_A_STATS not in at:
                continue
            for t, v in nla_parse(at[ESPX_A_STATS]).items():
                if 0 < t < len(self.stat_names) and len(v) >= 8:
                    c['espx:0x%x:%s' % (spi, self.stat_names[t])] = struct.unpack('=Q', v[:8])[0]
            if ESPX_A_COUNTERS not in at:
                continue
            # counter SAs: windows allocated, and every counter that has
            # done anything (absent = all zero, no window); a dump per SA
            # costs a message per counter: only for ctr_spis if set
            cn = nla_parse(at[ESPX_A_COUNTERS])
            if ESPX_COUNTERS_WINDOWS in cn:
                c['espx:0x%x:windows' % spi] = struct.unpack('=I', cn[ESPX_COUNTERS_WINDOWS][:4])[0]
            if self.ctr_spis is not None and spi not in self.ctr_spis:
                continue
            for d in self.ctrs(sa_id):
                for k in ('in_packets', 'in_replay', 'in_top', 'out_packets'):
                    if d.get(k):
                        c['espxctr:0x%x:%d:%s' % (spi, d['id'], k)] = d[k]
        for m in self.talk(self.family, ESPX_CMD_INFO_GET, NLM_F_REQUEST | NLM_F_ACK):
            info = nla_parse(nla_parse(m).get(ESPX_A_INFO, b''))
            for t, v in nla_parse(info.get(ESPX_INFO_NS_STATS, b'')).items():
                if 0 < t < len(self.ns_names) and len(v) >= 8:
                    c['espxns:%s' % self.ns_names[t]] = struct.unpack('=Q', v[:8])[0]
        return c


def nla(t, v):
    return struct.pack('=HH', 4 + len(v), t) + v + b'\0' * (-len(v) % 4)


def nla_parse(b):
    d, off = {}, 0
    while off + 4 <= len(b):
        ln, t = struct.unpack_from('=HH', b, off)
        if ln < 4:
            break
        d.setdefault(t & 0x3fff, b[off + 4:off + ln])
        off += (ln + 3) & ~3
    return d


def _wait_forever(socks, log):
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    print('ready', flush=True)
    while True:
        for s in select.select(socks, [], [])[0]:
            data, peer = s.recvfrom(65535)
            if log:
                with open(log, 'ab') as f:
                    f.write(data.rstrip(b'\n') + b'\n')
            yield s, data, peer


def _bind_both(port, setup=None):
    socks = []
    for fam, addr in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if setup:
            setup(s)
        s.bind((addr, port))
        socks.append(s)
    return socks


XFRM_INF = (1 << 64) - 1
IP_XFRM_POLICY = 17
IPV6_XFRM_POLICY = 35


def bypass_policy(s, fam):
    """Per-socket "allow" policies in both directions, as IKE daemons put on their
    sockets: Linux checks the input policy of a UDP packet before handing it to
    the encap hook, so a transport-mode policy covering the peer's address would
    otherwise drop the ESP-in-UDP packets (XfrmInTmplMismatch)."""
    for d in (0, 1):    # XFRM_POLICY_IN, XFRM_POLICY_OUT
        sel = bytearray(56)
        struct.pack_into('=H', sel, 40, fam)
        pol = (bytes(sel) + struct.pack('=8Q', *([XFRM_INF] * 8)) + bytes(32) +
               struct.pack('=IIBBBB', 0, 0, d, 0, 0, 0) + bytes(4))
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY, pol)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_XFRM_POLICY, pol)


def encap_setup(s):
    s.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    bypass_policy(s, s.family)


def cmd_encap_sock(a):
    for _ in _wait_forever(_bind_both(a.port, encap_setup), a.log):
        pass


def cmd_udp_echo(a):
    for s, data, peer in _wait_forever(_bind_both(a.port), a.log):
        s.sendto(data, peer)


def cmd_servers(a):
    echo = _bind_both(a.echo_port)
    sink = _bind_both(a.sink_port) if a.sink_port else []
    encap = _bind_both(a.encap_port, encap_setup)
    for s, data, peer in _wait_forever(echo + sink + encap, None):
        log = a.encap_log if s in encap else a.echo_log
        if log:
            with open(log, 'ab') as f:
                f.write(data.rstrip(b'\n') + b'\n')
        if s in echo:
            s.sendto(data, peer)


def cmd_udp_ping(a):
    fails = 0
    for dst in a.dst:
        fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        msg = ('%s %s %d' % (a.tag, dst, os.getpid())).encode()
        if a.len:       # a fixed size: pad with spaces or cut
            msg = (msg + b' ' * a.len)[:a.len]
        ok = False
        try:
            s.connect((dst, a.port))
            for _ in range(a.tries):
                s.send(msg)
                if select.select([s], [], [], a.timeout)[0] and s.recv(65535) == msg:
                    ok = True
                    break
        except OSError as err:
            print('# %s: %s' % (dst, err))
        s.close()
        fails += not ok
        print('%s %s' % ('ok' if ok else 'fail', dst), flush=True)
    sys.exit(1 if fails else 0)


def cmd_traffic(a):
    """ICMP echo (a.pings replies needed) and one UDP echo per destination, all
    destinations at once; up to a.rounds sends of what is still missing."""
    st = {}
    for d in a.dst:
        v6 = ':' in d
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        icmp = socket.socket(fam, socket.SOCK_DGRAM,
                             socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
        udp = socket.socket(fam, socket.SOCK_DGRAM)
        icmp.connect((d, 0))
        udp.connect((d, a.port))
        st[d] = {'icmp': icmp, 'udp': udp, 'v6': v6, 'seqs': set(), 'uok': False,
                 'msg': ('%s %s %d' % (a.tag, d, os.getpid())).encode(), 'err': ''}
    owner = {}
    for d, x in st.items():
        owner[x['icmp']] = (d, 'icmp')
        owner[x['udp']] = (d, 'udp')

    def done(x):
        return len(x['seqs']) >= a.pings and x['uok']
    for rnd in range(a.rounds):
        for d, x in st.items():
            try:
                for seq in range(1, a.pings + 1):
                    if seq not in x['seqs']:
                        x['icmp'].send(struct.pack('!BBHHH', 128 if x['v6'] else 8, 0, 0, 0,
                                                   seq) + x['msg'])
                if not x['uok']:
                    x['udp'].send(x['msg'])
                    x['uok'] = a.no_reply
            except OSError as e:
                x['err'] = str(e)
        end = time.time() + a.timeout
        while not all(done(x) for x in st.values()):
            left = end - time.time()
            r = select.select(list(owner), [], [], left)[0] if left > 0 else []
            if not r:
                break
            for s in r:
                d, kind = owner[s]
                x = st[d]
                try:
                    data = s.recv(65535)
                except OSError as e:
                    x['err'] = str(e)
                    continue
                if kind == 'udp':
                    x['uok'] |= data == x['msg']
                elif data[0] in (0, 129) and data[8:] == x['msg']:
                    x['seqs'].add(struct.unpack('!H', data[6:8])[0])
        if all(done(x) for x in st.values()):
            break
    fails = 0
    for d in a.dst:
        x = st[d]
        ok = done(x)
        fails += not ok
        print('%s %s icmp %d/%d udp %d%s' % ('ok' if ok else 'fail', d, len(x['seqs']),
                                            a.pings, x['uok'],
                                            ' ' + x['err'] if x['err'] else ''))
    sys.exit(1 if fails else 0)


def _nonce_sa(text):
    """spi=0x..,key=0x..,kind=wesp|ctr|diet[,iiv=1][,alg=gcm|chacha][,icv=N]"""
    d = dict(kv.split('=', 1) for kv in text.split(','))
    return {'spi': int(d['spi'], 0), 'blob': bytes.fromhex(d['key'][2:]),
            'kind': d.get('kind', 'wesp'), 'iiv': d.get('iiv') == '1',
            'alg': d.get('alg', 'gcm'), 'icv': int(d.get('icv', 16))}


def cmd_nonce_check(a):
    """Every frame of the pcaps that belongs to an --sa (WESPv2, protocol 141;
    or ESP format, protocol 50, for Diet-ESP SAs without truncation) is opened
    with the SA's key: it must authenticate, and no (key, nonce) may be seen
    twice, whatever the SPI (states sharing a key share the nonce space).
    One line per SA: "ok|fail SPI frames=N bad=N sn=MIN-MAX"; then
    "nonces=N repeats=N" and the first repeats. Exit 1 on any failure."""
    sas = {x['spi']: x for x in map(_nonce_sa, a.sa)}
    res = {spi: {'n': 0, 'bad': 0, 'sn': []} for spi in sas}
    seen, repeats = {}, []
    for path in a.pcap:
        for i, fr in enumerate(pcap_read(path)):
            o = _outer(fr)
            if not o or o['frag'] or o['proto'] not in (IPPROTO_ESP, IPPROTO_WESP):
                continue
            data = bytes(fr[o['l4']:])
            hl = 4 + (data[3] & 0x3f) if o['proto'] == IPPROTO_WESP and len(data) > 4 else 0
            if len(data) < hl + 8:
                continue
            spi, sn = struct.unpack('!II', data[hl:hl + 8])
            sa = sas.get(spi)
            if not sa:
                continue
            key, salt = sa['blob'][:-4], sa['blob'][-4:]
            if o['proto'] == IPPROTO_WESP and sa['kind'] == 'ctr':
                # counter SA: IV be16(id) | be48(seq), seq's high half in the AAD
                seq = ctr_fields(data)[3]
                f, pt = wesp_open(sa['alg'], sa['blob'], sa['icv'], data, seq >> 32)
                iv = f['iv']
            elif o['proto'] == IPPROTO_WESP:
                f, pt = wesp_open(sa['alg'], sa['blob'], sa['icv'], data)
                iv = f['iv']
            else:
                iv = struct.pack('!Q', sn) if sa['iiv'] else data[8:16]
                body = data[8 if sa['iiv'] else 16:]
                pt = aead_open(sa['alg'], key, sa['icv'], salt + iv,
                               body[:-sa['icv']], body[-sa['icv']:], data[:8])
            r = res[spi]
            r['n'] += 1
            if pt is None:
                r['bad'] += 1
                continue
            r['sn'].append(struct.unpack('!Q', iv)[0] if len(iv) == 8 else sn)
            k = (sa['alg'], sa['blob'], salt + iv)
            if k in seen:
                repeats.append('%s frame %d (spi 0x%x) repeats the nonce of %s' %
                               (os.path.basename(path), i, spi, seen[k]))
            else:
                seen[k] = '%s frame %d (spi 0x%x)' % (os.path.basename(path), i, spi)
    fails = 0
    for spi, r in res.items():
        good = r['n'] and not r['bad']
        fails += not good
        print('%s 0x%x frames=%d bad=%d sn=%s' % ('ok' if good else 'fail', spi, r['n'], r['bad'],
              '%d-%d' % (min(r['sn']), max(r['sn'])) if r['sn'] else '-'))
    print('nonces=%d repeats=%d' % (len(seen), len(repeats)))
    for line in repeats[:5]:
        print('  ' + line)
    sys.exit(1 if fails or repeats else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('capture')
    c.add_argument('--dev', required=True)
    c.add_argument('--out', required=True)
    c.add_argument('--count', type=int, default=1 << 30)
    c.add_argument('--timeout', type=float, default=30)
    c.add_argument('--dir', choices=('in', 'out', 'any'), default='any')
    c.add_argument('--spi', type=lambda x: int(x, 0))
    c = sub.add_parser('send')
    c.add_argument('--dev', required=True)
    c.add_argument('--index', type=int, action='append')
    c.add_argument('--gap', type=float, default=0)
    c.add_argument('--want', type=int, default=0,
                   help='serve --espx-stats: wait for N espx verdicts (in_packets/drops)')
    c.add_argument('--want-app', type=int, default=0,
                   help='serve --espx-stats: wait for N datagrams in the app log')
    c.add_argument('pcap')
    c = sub.add_parser('split')
    c.add_argument('pcap')
    c.add_argument('prefix')
    c = sub.add_parser('info')
    c.add_argument('pcap')
    for name in ('mutate', 'reseal'):
        c = sub.add_parser(name)
        c.add_argument('inp')
        c.add_argument('out')
        c.add_argument('--index', type=int, default=0)
        c.add_argument('--icv', type=int, default=16)
        c.add_argument('--sn', '--set-sn', dest='set_sn' if name == 'mutate'
                       else 'sn', type=lambda x: int(x, 0))
        if name == 'mutate':
            c.add_argument('--ivlen', type=int, default=8)
            c.add_argument('--flip', choices=('spi', 'sn', 'iv', 'ct', 'icv'))
            c.add_argument('--bit', type=int, default=7)
            c.add_argument('--truncate', type=int)
        else:
            c.add_argument('--alg', choices=sorted(ALGS), default='gcm')
            c.add_argument('--key', required=True)
            c.add_argument('--esn-hi', type=lambda x: int(x, 0))
            c.add_argument('--pad-len', type=int, help='-1: covers the whole payload')
            c.add_argument('--next-header', type=int)
            c.add_argument('--payload', help='replace the payload (hex)')
            c.add_argument('--prefix', help='put these octets (hex) in front of the payload')
            c.add_argument('--truncate-payload', type=int, help='drop N octets at its end')
            c.add_argument('--seal-esn-hi', type=lambda x: int(x, 0),
                           help='seal with this SNhi (default: --esn-hi)')
            c.add_argument('--iv')
    sub.add_parser('vectors')
    sub.add_parser('echo-vectors')
    num = lambda x: int(x, 0)      # noqa: E731
    c = sub.add_parser('echo-craft')
    c.add_argument('inp')
    c.add_argument('out')
    c.add_argument('--index', type=int, default=0)
    c.add_argument('--alg', choices=sorted(ALGS), default='gcm')
    c.add_argument('--key', required=True)
    c.add_argument('--icv', type=int, default=16)
    c.add_argument('--sn', type=num, required=True)
    c.add_argument('--subtype', type=num, default=2)
    c.add_argument('--flags', type=num, default=0x80)
    c.add_argument('--dlen', type=num)
    c.add_argument('--ident', type=num, default=0x1234)
    c.add_argument('--seq', type=num, default=1)
    c.add_argument('--reply-spi', type=num, default=0)
    c.add_argument('--data')
    c.add_argument('--size', type=num, default=16)
    c.add_argument('--payload')
    c.add_argument('--copies', type=int, default=1)
    c.add_argument('--flip', type=int)
    c.add_argument('--esp-len', type=int)
    c = sub.add_parser('echo-plain')
    c.add_argument('inp')
    c.add_argument('out')
    c.add_argument('--index', type=int, default=0)
    c.add_argument('--spi', type=num, default=7)
    c.add_argument('--udp', action='store_true')
    c = sub.add_parser('echo-responder')
    c.add_argument('--family', type=int, choices=(4, 6), default=4)
    c.add_argument('--modes', default='reply')
    c.add_argument('--log')
    c.add_argument('--timeout', type=float, default=60)
    c = sub.add_parser('echo-check')
    c.add_argument('pcap')
    c.add_argument('--sa', action='append', required=True, help='SPI,KEY')
    c.add_argument('--alg', choices=sorted(ALGS), default='gcm')
    c.add_argument('--icv', type=int, default=16)
    sub.add_parser('wesp-vectors')
    c = sub.add_parser('wesp-check')
    c.add_argument('pcap')
    c.add_argument('--sa', action='append', required=True,
                   help='spi=0x..,alg=gcm|chacha,key=0x..,icv=N,co=N[,esn=1][,mode=M,inner=4|6]')
    c.add_argument('--port', type=int, default=7000,
                   help='UDP port of the test traffic (0: any)')
    c = sub.add_parser('wesp-craft')
    c.add_argument('inp')
    c.add_argument('out')
    c.add_argument('--index', type=int, default=0)
    c.add_argument('--any', action='store_true',
                   help='index counts every frame (for frames without a reachable SPI)')
    c.add_argument('--alg', choices=('gcm', 'chacha'), default='gcm')
    c.add_argument('--key', help='SA key blob (key | salt): header edits are re-encrypted')
    c.add_argument('--icv', type=int, default=16)
    c.add_argument('--esn-hi', type=lambda x: int(x, 0))
    c.add_argument('--reseal', action='store_true', help='re-encrypt even without edits')
    c.add_argument('--raw', action='store_true', help='edit the header without re-encrypting')
    for o in ('nh', 'hdrlen', 'co', 'r', 'v', 'optlen', 'trailer-nh', 'spi'):
        c.add_argument('--' + o, type=lambda x: int(x, 0))
    c.add_argument('--options', help='options area (hex); OptLen follows unless --optlen')
    c.add_argument('--flip', action='append', help='OFF:BIT from the WESPv2 header start')
    c.add_argument('--flip-all', type=int, help='8 frames, each with one bit of octet OFF flipped')
    c.add_argument('--truncate', type=int, help='octets kept after the outer IP header')
    c.add_argument('--strip', action='store_true', help='remove WESPv2: plain ESP, protocol 50')
    c.add_argument('--wrap', help='plain ESP frame: put this WESPv2 header (hex) in front')
    c.add_argument('--copies', type=int, default=1)
    c.add_argument('--ext', action='store_true',
                   help='outer IPv4 options / IPv6 Destination Options header before WESPv2')
    sub.add_parser('ctr-vectors')
    c = sub.add_parser('ctr-ivs')
    c.add_argument('pcap')
    c.add_argument('--spi', type=lambda x: int(x, 0))
    c.add_argument('--n', type=int, default=0, help='counters of the SA: ids must be below')
    c.add_argument('--seqs', action='store_true', help='also print every id\'s seqs')
    c = sub.add_parser('ctr-craft')
    c.add_argument('inp')
    c.add_argument('out')
    c.add_argument('--index', type=int, default=0)
    c.add_argument('--alg', choices=('gcm', 'chacha'), default='gcm')
    c.add_argument('--key')
    c.add_argument('--icv', type=int, default=16)
    c.add_argument('--id', type=lambda x: int(x, 0))
    c.add_argument('--seq', type=lambda x: int(x, 0), help='64-bit seq: SN and SNhi')
    c.add_argument('--iv', help='IV (hex) instead of be16(id) | be48(seq)')
    c.add_argument('--options', help='options area (hex) instead of option 27')
    c.add_argument('--copies', type=int, default=1)
    c.add_argument('--all-ids', type=int, default=0,
                   help='one valid packet for each id below this (seq: --seq, default 1)')
    c.add_argument('--flood', type=int, default=0)
    c.add_argument('--n', type=int, default=1, help='--flood: ids below this')
    c.add_argument('--seed', type=int, default=5)
    c = sub.add_parser('nonce-check')
    c.add_argument('pcap', nargs='+')
    c.add_argument('--sa', action='append', required=True,
                   help='spi=0x..,key=0x..,kind=wesp|ctr|diet[,iiv=1][,alg=gcm|chacha][,icv=N]')
    sub.add_parser('diet-vectors')
    c = sub.add_parser('eesp-vectors')
    c.add_argument('--ktap', action='store_true', help='KTAP output (host unit tests)')
    c = sub.add_parser('diet-check')
    c.add_argument('pcap', nargs='+', help='read in this order (SN tracking goes on)')
    c.add_argument('--sa', action='append', required=True, help='Diet SA spec (diet-esp.md 7)')
    c.add_argument('--port', type=int, default=0, help='UDP port of the test traffic (0: any)')
    c.add_argument('--tag', default='', help='UDP payloads must start with this')
    c.add_argument('--probe-len', type=int, help='report PLAIN:DIET sizes of N-octet UDP data')
    c = sub.add_parser('diet-craft')
    c.add_argument('out')
    c.add_argument('--sa', required=True)
    c.add_argument('--sn', type=lambda x: int(x, 0), default=1)
    c.add_argument('--count', type=int, default=1, help='packets, SN, SN + 1, ...')
    c.add_argument('--sns', help='packets with these SNs (comma-separated), in this order')
    c.add_argument('--copies', type=int, default=1, help='copies of each packet')
    c.add_argument('--tag', default='diet-craft')
    c.add_argument('--dport', type=int)
    c.add_argument('--tcp', type=int, help='a TCP segment with this data offset')
    c.add_argument('--mac-src', default=DIET_MAC_SRC)
    c.add_argument('--mac-dst', default=DIET_MAC_DST)
    for o in ('ihl', 'dscp-index', 'tcp-off', 'pad', 'cut', 'nh', 'padlen', 'spi', 'proto',
              'truncate'):
        c.add_argument('--' + o, type=lambda x: int(x, 0))
    c.add_argument('--residue', help='this residue (hex) instead of the compressed header')
    c.add_argument('--full-esp', action='store_true', help='full SPI | SN | IV header (ESP)')
    c.add_argument('--flip-icv', action='store_true')
    c.add_argument('--append', action='store_true', help='add to the frames already in OUT')
    c = sub.add_parser('diet-set')
    c.add_argument('--sa', action='append', required=True)
    c = sub.add_parser('ctr')
    c.add_argument('--spi', type=lambda x: int(x, 0))
    c.add_argument('--active', action='store_true', help='only counters that did something')
    c = sub.add_parser('blast')
    c.add_argument('--dst', required=True)
    c.add_argument('--port', type=int, required=True)
    c.add_argument('--sport', type=int)
    c.add_argument('--count', type=int, default=1)
    c.add_argument('--len', type=int, default=32)
    c.add_argument('--batch', type=int, default=64)
    c.add_argument('--gap', type=float, default=0)
    c.add_argument('--tag', default='espx')
    c.add_argument('--go', help='after "ready", wait for this file to exist')
    c = sub.add_parser('espx-stats')
    c.add_argument('--spi', type=lambda x: int(x, 0), help='per-counter state of this SA only')
    c.add_argument('--pid', help='the counters of this process\'s netns')
    c = sub.add_parser('sink')
    c.add_argument('--port', type=int, action='append', required=True)
    c = sub.add_parser('encap-sock')
    c.add_argument('--port', type=int, default=ENCAP_PORT)
    c.add_argument('--log')
    c = sub.add_parser('udp-echo')
    c.add_argument('--port', type=int, required=True)
    c.add_argument('--log')
    c = sub.add_parser('servers')
    c.add_argument('--echo-port', type=int, required=True)
    c.add_argument('--echo-log')
    c.add_argument('--sink-port', type=int, help='like the echo port, but no reply')
    c.add_argument('--encap-port', type=int, default=ENCAP_PORT)
    c.add_argument('--encap-log')
    c = sub.add_parser('udp-ping')
    c.add_argument('--port', type=int, required=True)
    c.add_argument('--timeout', type=float, default=2)
    c.add_argument('--tries', type=int, default=2)
    c.add_argument('--tag', default='espx')
    c.add_argument('--len', type=int, default=0, help='datagrams of exactly this size')
    c.add_argument('dst', nargs='+')
    c = sub.add_parser('traffic')
    c.add_argument('--port', type=int, required=True)
    c.add_argument('--pings', type=int, default=2)
    c.add_argument('--rounds', type=int, default=3)
    c.add_argument('--no-reply', action='store_true',
                   help='UDP to a sink: send once, expect no answer')
    c.add_argument('--timeout', type=float, default=3)
    c.add_argument('--tag', default='espx')
    c.add_argument('dst', nargs='+')
    c = sub.add_parser('serve')
    c.add_argument('--stats-pid', help='report counter deltas of this process\'s netns after send')
    c.add_argument('--app-log', help='count lines of this file as APP')
    c.add_argument('--settle', type=float, default=2)
    c.add_argument('--ctr-spi', type=lambda x: int(x, 0), action='append',
                   help='--espx-stats: per-counter state of these SAs only')
    c.add_argument('--espx-stats', action='store_true',
                   help='add espx per-SA and netns counters (netlink) to the deltas')
    c.add_argument('--out', help='write each answer to this file, only "." to stdout')
    sub.add_parser('usage-check')
    a = p.parse_args()
    if a.cmd == 'usage-check':
        listed = {ln.split()[0] for ln in __doc__.splitlines()
                  if ln.startswith('  ') and not ln.startswith('   ') and ln.split()}
        missing = sorted(set(sub.choices) - listed)
        if missing:
            sys.exit('espx_pkt.py: subcommands missing from its usage text: ' +
                     ' '.join(missing))
        print('usage text lists all %d subcommands' % len(sub.choices))
    elif a.cmd == 'serve':
        cmd_serve(a, p)
    else:
        COMMANDS[a.cmd](a)


COMMANDS = {'capture': cmd_capture, 'split': cmd_split, 'send': cmd_send, 'info': cmd_info,
            'mutate': cmd_mutate, 'reseal': cmd_reseal, 'vectors': cmd_vectors,
            'encap-sock': cmd_encap_sock, 'udp-echo': cmd_udp_echo,
            'udp-ping': cmd_udp_ping, 'traffic': cmd_traffic, 'servers': cmd_servers,
            'wesp-vectors': cmd_wesp_vectors, 'wesp-check': cmd_wesp_check,
            'wesp-craft': cmd_wesp_craft, 'ctr-vectors': cmd_ctr_vectors,
            'ctr-ivs': cmd_ctr_ivs, 'ctr-craft': cmd_ctr_craft, 'ctr': cmd_ctr,
            'blast': cmd_blast, 'sink': cmd_sink, 'espx-stats': cmd_espx_stats,
            'diet-vectors': cmd_diet_vectors, 'diet-check': cmd_diet_check,
            'diet-craft': cmd_diet_craft, 'diet-set': cmd_diet_set,
            'nonce-check': cmd_nonce_check, 'eesp-vectors': cmd_eesp_vectors,
            'echo-vectors': cmd_echo_vectors, 'echo-craft': cmd_echo_craft,
            'echo-plain': cmd_echo_plain, 'echo-check': cmd_echo_check,
            'echo-responder': cmd_echo_responder}


if __name__ == '__main__':
    main()
