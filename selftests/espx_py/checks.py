# SPDX-License-Identifier: GPL-2.0
"""Decoders of captured frames: every frame of the named SAs opens, its
fields are as the SA says, and no (key, nonce) pair repeats."""
import os
import struct
import sys
from .frames import (Esp, IPPROTO_ESP, IPPROTO_UDP, IPPROTO_WESP, outer_ip, pton, csum, esp_frames,
                     pcap_read, pcap_write)
from .codec import (WESP_IVLEN, WESP_PADN4, echo_codec, aead_open, ctr_fields, esp_open,
                    parse_sa_spec, wesp_open, wesp_seal, wesp_split)
from .diet import (DIET_PROTO, DietDrop, DietSA, beet_addrs, diet_in_pfx, diet_decode, diet_eec,
                   diet_encode, diet_plain_len, diet_residue_bits, diet_saving)


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


def cmd_echo_check(a):
    """Decrypt the ESP Echo frames of the SAs given (--sa SPI,KEY): a line
    per frame "spi X sn N nh N subtype T flags F dlen L ident I seq S
    reply_spi X data_ok 0|1 len L pad P"; exit 1 if a frame does not open"""
    ec = echo_codec()
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


def diet_frame_check(sa, o, data, top, port, tag):
    """decode one captured Diet-ESP frame of SA sa; (errors, facts)"""
    errs = []
    addrs = (o['src'], o['dst']) if sa.mode == 'transport' else beet_addrs(sa)
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
            if not diet_in_pfx(a, sa.ts[k][0], sa.plen[k]):
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
        o = outer_ip(fr)
        if not o or o['proto'] not in (DIET_PROTO, IPPROTO_ESP) or o['frag']:
            continue
        data = bytes(fr[o['l4']:])
        cands = [s for s in sas if pton(s.odst) == o['dst'] and
                 (s.spil or pton(s.osrc) == o['src'])]
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
            o = outer_ip(fr)
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
