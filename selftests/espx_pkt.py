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
  udp-ping --port P [--timeout S] DST...  one datagram per DST, waits for its
           echo; prints "ok DST" / "fail DST"

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
            l4 = off + ihl
        elif etype == ETH_P_IPV6 and len(fr) >= off + 40:
            self.family = 6
            proto = fr[off + 6]
            l4 = off + 40
            while proto in (0, 43, 60) and len(fr) >= l4 + 8:
                proto, l4 = fr[l4], l4 + (fr[l4 + 1] + 1) * 8
            if proto == 44:
                proto, l4 = fr[l4], l4 + 8
        else:
            return
        if proto == IPPROTO_ESP:
            self.off = l4
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


def counters(pid, app_log):
    """Drop-relevant counters of the netns of process PID, and the app log size."""
    c = {}
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


def interesting(k):
    return (k.startswith('Xfrm') or k == 'APP' or 'Err' in k or 'Unknown' in k or
            'Trunc' in k or 'Discard' in k or 'Drop' in k or
            k.startswith('IcmpOut') or k.startswith('Icmp6Out'))


def cmd_send(a):
    frames = pcap_read(a.pcap)
    idx = a.index if a.index else range(len(frames))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    pid = getattr(a, 'stats_pid', None)
    if pid:
        before = counters(pid, a.app_log)
    for i in idx:
        s.send(frames[i])
        if a.gap:
            time.sleep(a.gap)
    s.close()
    print('sent %d' % len(idx))
    if not pid:
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


def cmd_serve(a, parser):
    """Run subcommands read from stdin, one per line, each answer ends with '.'"""
    import shlex
    for line in sys.stdin:
        argv = shlex.split(line)
        if not argv:
            continue
        try:
            b = parser.parse_args(argv)
            if b.cmd == 'send':
                b.stats_pid, b.app_log, b.settle = a.stats_pid, a.app_log, a.settle
            if b.cmd == 'serve':
                raise SystemExit('no nested serve')
            COMMANDS[b.cmd](b)
        except SystemExit as e:
            if e.code not in (0, None):
                print('error: %s' % e.code)
        except Exception as e:      # keep serving: report and go on
            print('error: %r' % e)
        print('.', flush=True)


def cmd_info(a):
    for i, e in enumerate(esp_frames(a.pcap)):
        print('%d %d %d 0x%08x %d %d%s' % (i, e.family, len(e.frame) - 14, e.spi,
                                           e.seq, len(e.frame) - e.off,
                                           ' udp' if e.udp_off else ''))


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


def cmd_vectors(a):
    h = bytes.fromhex
    key16 = bytes(range(16))
    fails = 0

    def chk(name, got, want):
        nonlocal fails
        ok = got == want
        fails += not ok
        print('%s %s' % ('ok' if ok else 'FAIL', name))
        if not ok:
            print('  got  ' + got.hex())
            print('  want ' + want.hex())
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
    sys.exit(1 if fails else 0)


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
    a = p.parse_args()
    if a.cmd == 'serve':
        cmd_serve(a, p)
    else:
        COMMANDS[a.cmd](a)


COMMANDS = {'capture': cmd_capture, 'split': cmd_split, 'send': cmd_send, 'info': cmd_info,
            'mutate': cmd_mutate, 'reseal': cmd_reseal, 'vectors': cmd_vectors,
            'encap-sock': cmd_encap_sock, 'udp-echo': cmd_udp_echo,
            'udp-ping': cmd_udp_ping, 'traffic': cmd_traffic, 'servers': cmd_servers}


if __name__ == '__main__':
    main()
