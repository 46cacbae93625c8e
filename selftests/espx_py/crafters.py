# SPDX-License-Identifier: GPL-2.0
"""Packet crafters: captured frames mutated or re-sealed, and ESP Echo,
WESPv2, counter-SA and Diet-ESP packets made from scratch."""
import os
import socket
import struct
import sys
from .frames import (ENCAP_PORT, ETH_P_IP, ETH_P_IPV6, Esp, IPPROTO_ESP, IPPROTO_UDP, IPPROTO_WESP,
                     pton, csum, esp_frames, frame_add_ext, frame_replace_l4, frame_set_proto,
                     ipv4_header, ipv6_header, pcap_read, pcap_write, pick)
from .codec import (ALGS, echo_codec, ctr_fields, ctr_iv, ctr_opt, esp_open, esp_seal, trailer,
                    wesp_header, wesp_open, wesp_seal)
from .diet import (DietSA, diet_encode, diet_inner)
from .netlink import (ESPX_A_DETACHED, ESPX_A_DIET, ESPX_A_SA_ID, ESPX_CMD_SA_SET, ESPX_ID_DADDR,
                      ESPX_ID_FAMILY, ESPX_ID_SPI, EspxGenl, NLA_F_NESTED, NLM_F_ACK,
                      NLM_F_REQUEST, nla)


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


def cmd_echo_craft(a):
    ec = echo_codec()
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
    ec = echo_codec()
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


def _eth_ip(sa, l4, proto, mac_src, mac_dst, lower=None, ttl=64):
    """Ethernet (MAC_SRC to MAC_DST) + outer IP header (sa's outer addresses) + l4"""
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
    mac_d = bytes.fromhex(mac_dst.replace(':', ''))
    mac_s = bytes.fromhex(mac_src.replace(':', ''))
    return mac_d + mac_s + struct.pack('!H', et) + bytes(h) + bytes(l4)


def cmd_diet_craft(a):
    """Diet-ESP frames for SA --sa into the receiver, from scratch: COUNT
    packets with SNs SN, SN+1, ... (valid ICV unless --flip-icv), forged as
    the options say"""
    sa = DietSA(a.sa)
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
        out += [_eth_ip(sa, bytes(data), oproto, a.mac_src, a.mac_dst, lower)] * a.copies
    if a.append and os.path.exists(a.out):
        out = pcap_read(a.out) + out
    pcap_write(a.out, out)
    print('crafted %d frame(s), SN %d.., %d octets after the IP header: %s' % (
        len(out), sns[0], len(data), bytes(data[:12]).hex()))


def cmd_diet_set(a):
    """ESPX_CMD_SA_SET with ESPX_A_DIET for each --sa (pending configs, bound
    by the NEWSA that follows)"""
    g = EspxGenl(os.getpid())
    fails = 0
    for text in a.sa:
        sa = DietSA(text)
        fam = socket.AF_INET if sa.outer == 4 else socket.AF_INET6
        sid = (nla(ESPX_ID_FAMILY, struct.pack('=H', fam)) +
               nla(ESPX_ID_DADDR, pton(sa.odst)) + nla(ESPX_ID_SPI, struct.pack('!I', sa.spi)))
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
