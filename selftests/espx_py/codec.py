# SPDX-License-Identifier: GPL-2.0
"""The ESP, WESPv2 and counter-SA codecs: AEAD seal/open with
python3-cryptography (imported on first use), headers, IVs and SA specs."""
import os
import struct
import sys



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


def echo_codec():
    """espx_echo.py, the ESP Echo codec next to this package"""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import espx_echo
    return espx_echo


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
