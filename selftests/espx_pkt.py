#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""espx_pkt: the one packet tool of the espx selftests.

Capture ESP frames, mutate or re-encrypt them, and inject them again; plus the
small sockets the shell tests need. The code is the package espx_py/ next to
this file (frames, codec, diet, netlink, vectors, checks, crafters, servers);
this file is its command line and runs a subcommand from the module that has
it. Subcommands that only move bytes use the standard library (fast start under
TCG); the crypto ones import `cryptography` lazily (falling back to scapy's
SecurityAssociation is not needed on Debian 12, where python3-cryptography is a
dependency of python3-scapy). N: a number, 0x... for hex where it is an SPI, SN
or header field; HEX: octets in hex.

Capture, inject, serve (espx_py/servers.py):
  capture  --dev D --out F [--count N] [--timeout S] [--dir in|out|any] [--spi S]
           write ESP frames (IP proto 50, or UDP 4500 with a non-zero SPI) seen
           on D to the pcap F; prints "ready" on stdout once the socket is bound;
           stops after N frames, S seconds or SIGTERM
  send     --dev D FILE.pcap [--index I ...] [--gap S] [--want N] [--want-app N]
           inject frames (all, or the I-th ones) S seconds apart; under
           "serve --espx-stats" wait for N espx verdicts (decrypted or counted
           drops) and N datagrams in the app log before the deltas settle
  serve    [--stats-pid PID --app-log F] [--settle S] [--espx-stats]
           [--ctr-spi S ...] [--out F]  run subcommands read from stdin (one
           process for a whole test), each answer ends with a "." line; "send"
           then also prints the counter deltas (xfrm_stat, snmp, netstat,
           snmp6 of PID's netns; APP = lines added to F) its frames caused,
           waiting S seconds at most (default 2); --espx-stats adds espx's
           per-SA and netns counters (netlink), per counter only for the SAs
           of --ctr-spi; --out: each answer into F, only "." to stdout
  encap-sock [--port P] [--log F]  UDP sockets (IPv4 and IPv6) with
           UDP_ENCAP_ESPINUDP and a per-socket bypass policy (like an IKE
           daemon's); prints "ready", logs any non-ESP datagram the socket
           gets (IKE path) to F
  udp-echo --port P [--log F]   echo server on 0.0.0.0 and ::, logs payloads
  servers  --echo-port P [--echo-log F] [--sink-port P2] [--encap-port 4500]
           [--encap-log F]   both of the above in one process; the sink port
           logs (into the echo log) and does not answer
  udp-ping --port P [--timeout S] [--tries N] [--tag T] [--len L] DST...
           one datagram per DST ("T DST PID", or L octets of it), up to N
           tries of S seconds each for its echo; prints "ok DST" / "fail DST"
  traffic  --port P [--pings N] [--rounds R] [--timeout S] [--tag T]
           [--no-reply] DST...  N ICMP echos (ping sockets) and one UDP echo
           exchange with every DST at once, up to R rounds of S seconds
           resending what is missing; --no-reply: the UDP port is a sink, send
           once and expect no answer; "ok|fail DST icmp n/N udp 0|1"
  blast    --dst D --port P [--sport P] [--count N] [--len L] [--batch B]
           [--gap S] [--tag T] [--go FILE]  UDP datagrams as fast as asked
  sink     --port P...   count UDP datagrams per port; SIGUSR1 prints a
           "count PORT:N ..." line, SIGTERM too and exits
  echo-responder --family 4|6 [--modes M,M...] [--log F] [--timeout S]
           a user-space responder of the unencrypted mode (section 4) on a raw
           ESP socket: the n-th SPI 7 request gets the n-th mode (the last
           repeats): reply, silent, or a malformed reply (dlen, nh, pad,
           subtype, spi, data, long), "+" joins several (dlen+reply); never
           a reply to R=0 or a Reply path SPI other than 8; F gets
           "request SRC HEX" per request (IPv4: from the IP header on)

Decode captured frames (espx_py/checks.py):
  info     FILE.pcap        one line per frame: index family outer-len spi seq esp-len
  split    FILE.pcap PREFIX one pcap per SPI: PREFIX-0x<spi>.pcap; prints "spi count"
  wesp-check PCAP --sa spi=..,alg=..,key=..,icv=N,co=N[,esn=1][,mode=M,inner=4|6]
           [--port P]  decode and open every WESPv2 frame of those SAs (UDP
           test traffic to port P; 0: any)
  ctr-ivs  PCAP [--spi S] [--n N] [--seqs]  the counter ids and seqs of a
           counter SA's frames; ids must be below N; seqs unique per id
  diet-check PCAP... --sa SPEC [--port P] [--tag T] [--probe-len N]  open
           every Diet-ESP frame of the SAs (SN rebuilt across the files); UDP
           payloads must start with T; N: report PLAIN:DIET sizes of N-octet
           UDP data
  nonce-check PCAP... --sa spi=..,key=..,kind=wesp|ctr|diet[,iiv=1]  every frame
           of those SAs authenticates, no (key, nonce) pair twice
  echo-check PCAP --sa SPI,KEY... [--alg A --icv N]  decrypt every frame of
           those SAs: one line "spi X sn N nh N subtype T flags F dlen L ident I
           seq S reply_spi X data_ok 0|1 len L pad P" (exit 1 if one does not open)

Craft packets (espx_py/crafters.py):
  mutate   IN OUT --index I [--icv N] [--ivlen N] OP
           OP: --flip spi|sn|iv|ct|icv [--bit B]
               --truncate LEN (ESP octets kept)
               --set-sn N (or --sn N)
  reseal   IN OUT --index I --alg A --key HEX --icv N [--esn-hi H]
           [--sn N] [--pad-len N] [--next-header N] [--payload HEX]
           [--prefix HEX] [--truncate-payload N] [--seal-esn-hi H] [--iv HEX]
           decrypt frame I with the SA key (fails if the kernel's ICV does not
           verify, so this also checks the kernel's output), change what is
           asked, re-encrypt, fix the outer lengths/checksums
  echo-craft IN OUT --index I --alg A --key HEX --icv N --sn N [--subtype T]
           [--flags F] [--dlen L] [--ident I] [--seq S] [--reply-spi X]
           [--data HEX | --size N] [--payload HEX] [--copies N] [--flip OFF]
           [--esp-len N]  an ESP Echo message (NH 144) on the SA of captured
           frame I, IV = be64(SN); --payload: the raw payload instead of header + Data;
           --flip OFF: flip one bit of the ESP octet OFF (negative: from the end);
           --esp-len N: only the first N octets of the ESP packet (cut short)
  echo-plain IN OUT --index I [--spi 7|8] [--udp]  the unencrypted SPI 7/8
           request (section 4) with frame I's outer header
  wesp-craft IN OUT [--index I] [--any] [--alg gcm|chacha] [--key K] [--icv N]
           [--esn-hi H] [--reseal | --raw] [--nh/--hdrlen/--co/--r/--v/
           --optlen/--trailer-nh/--spi N] [--options HEX] [--flip OFF:BIT]
           [--flip-all OFF] [--truncate N] [--strip] [--wrap HEX] [--copies N]
           [--ext]  edit the WESPv2 header of frame I (re-encrypted with --key;
           --reseal even without edits, --raw: not re-encrypted; --any: I
           counts every frame)
  ctr-craft IN OUT [--index I] [--alg gcm|chacha] --key K [--icv N] [--id N]
           [--seq N] [--iv HEX] [--options HEX] [--copies N] [--all-ids N]
           [--flood N --n N [--seed S]]  a counter SA packet (option 27, IV =
           be16(id) | be48(seq)); --flood: N packets with random ids below
           --n, random SNs (seeded with S) and a random ICV
  diet-craft OUT --sa SPEC [--sn N] [--count N | --sns A,B] [--copies N]
           [--tag T] [--dport P] [--tcp DOFF] [--mac-src M] [--mac-dst M]
           [--residue HEX] [--full-esp] [--flip-icv] [--append] [header edits]
           Diet-ESP frames sealed with the SA's key, UDP data "T SN" (or a TCP
           segment with data offset DOFF); header edits: --ihl N --dscp-index N
           --tcp-off N --pad N (residue octets added) --cut N (IIPC output cut
           to N octets) --nh N --padlen N (trailer octets) --spi N (in the EEC
           header) --proto N (outer protocol) --truncate N (octets kept after
           the outer IP header)
  diet-set --sa SPEC...   the Diet SAs a "serve" process crafts for

Spec vectors (espx_py/vectors.py), exit 1 on mismatch:
  vectors  check the AEAD code against esp-baseline.md section 9 and beet.md
           section 6
  wesp-vectors   wespv2.md's vectors octet for octet
  ctr-vectors    multi-counters.md's IV and option vectors
  diet-vectors   diet-esp.md's vectors octet for octet
  eesp-vectors [--ktap]  eesp.md section 11 octet for octet both ways and every
           receiver variant of 11.6 (espx_eesp.py); --ktap: KTAP output
  echo-vectors   esp-echo.md section 8 octet for octet (espx_echo.py)

espx generic netlink (espx_py/netlink.py):
  ctr      [--spi S] [--active]   the espx per-counter rows (genl CTR_GET)
  espx-stats [--spi S] [--pid PID]  espx's counters (genl) of PID's netns

  usage-check    exit 1 when a subcommand or one of its options is missing
           from this text

AEAD names (--alg): gcm (rfc4106), ccm (rfc4309), chacha (rfc7539esp),
gmac (rfc4543). --key is the xfrm key blob: key || salt.
"""
import argparse
import importlib
import re
import sys

from espx_py.codec import ALGS
from espx_py.frames import DIET_MAC_DST, DIET_MAC_SRC, ENCAP_PORT

# The module of espx_py/ that runs a subcommand, as its cmd_NAME (- as _); imported
# only when that subcommand runs (a start under TCG loads what it needs).
COMMANDS = {name: mod for mod, names in (
    ('servers', 'capture send serve encap-sock udp-echo servers udp-ping traffic blast sink '
                'echo-responder'),
    ('checks', 'info split wesp-check ctr-ivs diet-check nonce-check echo-check'),
    ('crafters', 'mutate reseal echo-craft echo-plain wesp-craft ctr-craft diet-craft diet-set'),
    ('vectors', 'vectors wesp-vectors ctr-vectors diet-vectors eesp-vectors echo-vectors'),
    ('netlink', 'ctr espx-stats')) for name in names.split()}


def parser():
    """(the argument parser, its subcommand parsers)"""
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
    return p, sub


def run(a):
    """run the subcommand of the parsed arguments a"""
    mod = importlib.import_module('espx_py.' + COMMANDS[a.cmd])
    getattr(mod, 'cmd_' + a.cmd.replace('-', '_'))(a)


def usage_entries():
    """{subcommand: its text} of this file's usage text: an entry starts
    with two spaces and the subcommand, more indented lines go on with it"""
    entries, cur = {}, None
    for ln in __doc__.splitlines():
        if ln.startswith('  ') and not ln.startswith('   ') and ln.split():
            cur = ln.split()[0]
            entries[cur] = ln
        elif cur and ln.startswith('   '):
            entries[cur] += '\n' + ln
        else:
            cur = None
    return entries


def usage_check(sub):
    """exit 1 when a subcommand or one of its options is missing from the
    usage text"""
    entries = usage_entries()
    missing = sorted(set(sub.choices) - set(entries))
    if missing:
        sys.exit('espx_pkt.py: subcommands missing from its usage text: ' +
                 ' '.join(missing))
    opts = []
    for name, c in sorted(sub.choices.items()):
        listed = set(re.findall(r'--[a-z0-9][a-z0-9-]*', entries[name]))
        for act in c._actions:
            strs = [o for o in act.option_strings if o.startswith('--') and o != '--help']
            if strs and not listed & set(strs):
                opts.append('%s %s' % (name, strs[0]))
    if opts:
        sys.exit('espx_pkt.py: options missing from its usage text: ' + ', '.join(opts))
    print('usage text lists all %d subcommands and their options' % len(sub.choices))


def main():
    p, sub = parser()
    a = p.parse_args()
    if a.cmd == 'usage-check':
        usage_check(sub)
    elif a.cmd == 'serve':
        run_serve = importlib.import_module('espx_py.servers').cmd_serve
        run_serve(a, p, run)
    else:
        run(a)


if __name__ == '__main__':
    main()
