#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A counted ICMP echo flow for ike.sh: echo requests from a ping socket
every INTERVAL seconds until SIGUSR1 (or SIGTERM, or --count sent), then
DRAIN seconds more for late replies; prints "ready" once the socket is
open and at the end "sent N received M lost L". Unlike ping, stopping it
never counts a request still in flight as lost, so a rekey's losses can be
compared between runs of any length. "ike_flow.py wire DIET_PROTO PCAP..."
summarises a capture (see wire()). Needs net.ipv4.ping_group_range to
include the caller's group (lib_xfrm.sh's xt_topology sets it)."""
import argparse
import select
import signal
import socket
import struct
import sys
import time


def wire(diet_proto, paths):
    """'PROTO SPI COUNT' lines for the IPv4 ESP (50), WESPv2 (141) and
    Diet-ESP (diet_proto: only the SPI's low octet, spi-lsb 8) packets of
    Ethernet pcap files (which tcpdump may still be writing)"""
    seen = {}
    for path in paths:
        with open(path, 'rb') as f:
            data = f.read()
        wire_file(data, diet_proto, seen)
    for (proto, spi), n in sorted(seen.items()):
        print(proto, spi, n)


def wire_file(data, diet_proto, seen):
    end = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
        if off + 16 + caplen > len(data):
            break           # the packet tcpdump is writing
        fr = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(fr) < 34 or fr[12:14] != b'\x08\x00':
            continue
        proto, l4 = fr[23], 14 + (fr[14] & 0xf) * 4
        if proto == 50 and len(fr) >= l4 + 4:
            spi = '0x%08x' % struct.unpack('!I', fr[l4:l4 + 4])[0]
        elif proto == 141 and len(fr) >= l4 + 4 + (fr[l4 + 3] & 0x3f) + 4:
            o = l4 + 4 + (fr[l4 + 3] & 0x3f)
            spi = '0x%08x' % struct.unpack('!I', fr[o:o + 4])[0]
        elif proto == diet_proto and len(fr) > l4:
            spi = '0x%02x' % fr[l4]
        else:
            continue
        seen[(proto, spi)] = seen.get((proto, spi), 0) + 1


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == 'wire':
        wire(int(sys.argv[2]), sys.argv[3:])
        return
    p = argparse.ArgumentParser()
    p.add_argument('dst')
    p.add_argument('--src')
    p.add_argument('--interval', type=float, default=0.05)
    p.add_argument('--count', type=int, default=0, help='0: until SIGUSR1')
    p.add_argument('--drain', type=float, default=2.0)
    p.add_argument('--size', type=int, default=56)
    a = p.parse_args()

    six = ':' in a.dst
    if six:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    if a.src:
        s.bind((a.src, 0))
    s.connect((a.dst, 0))
    stop = []
    signal.signal(signal.SIGUSR1, lambda *x: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    typ = 128 if six else 8
    pad = b'e' * max(a.size - 8, 0)
    got = set()
    sent = 0

    def rx(timeout):
        while select.select([s], [], [], max(timeout, 0))[0]:
            try:
                d = s.recv(65535)
            except OSError:
                return
            if len(d) >= 8 and d[0] in (0, 129):
                got.add(struct.unpack('!H', d[6:8])[0])
            timeout = 0

    print('ready', flush=True)
    nxt = time.monotonic()
    while not stop and (not a.count or sent < a.count):
        now = time.monotonic()
        if now >= nxt:
            try:
                s.send(struct.pack('!BBHHH', typ, 0, 0, 0, sent & 0xffff) + pad,
                       socket.MSG_DONTWAIT)
            except OSError:
                pass        # e.g. queued by xfrm, buffer full: counted as lost
            sent += 1
            nxt += a.interval
            if nxt < now:
                nxt = now + a.interval
        rx(nxt - time.monotonic())
    end = time.monotonic() + a.drain
    while len(got) < sent and time.monotonic() < end:
        rx(end - time.monotonic())
    print('sent %d received %d lost %d' % (sent, len(got), sent - len(got)), flush=True)
    sys.exit(0)


if __name__ == '__main__':
    main()
