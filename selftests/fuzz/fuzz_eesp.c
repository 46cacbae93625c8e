// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the EESP receiver checks of
 * net/espx/codec/eesp_codec.c (parse_base, parse, check_payload) and the
 * sender helpers they must agree with (layout, build, IV, SN verdict, the
 * HKDF-Expand message).
 *   make -C selftests/fuzz && build/fuzz/fuzz_eesp -max_total_time=60
 * Input: 4 octets of SA parameters, then the packet from the EESP base
 * header on:
 *   [0] bit 0 IPv6, bit 1 tunnel, bit 2 iiv, bits 3-4 ICV (8, 12, 16, 16);
 *   [1] crypt-offset N (low 6 bits); [2..3] Sub SAs (big endian, mod 1025).
 * Invariants checked:
 *   - every result is one named enum espx_eesp_rx value of its step,
 *   - an accepted base header is 0x80 and its fields are the input's,
 *   - the options verdict equals an independent walk of the TLVs,
 *   - an accepted header: offsets inside the packet, AAD + encrypted
 *     octets + ICV = the packet, Payload Offset = the PIH's, CryptOffset
 *     within N, Session ID < N, SN = the wire's and not 0,
 *   - the payload check's result lies inside the data it was given and
 *     matches the PIH / inner header,
 *   - the sender's packet with the parsed values is accepted with the
 *     same values, and its payload comes back.
 */
#include <stdlib.h>
#include "codec/eesp_codec.c"

static const u8 icvlens[] = { 8, 12, 16, 16 };

static void check_res(int r, const int *allowed, size_t n)
{
	size_t i;

	if (!strcmp(espx_eesp_rx_name(r), "unknown"))
		abort();
	for (i = 0; i < n; i++)
		if (r == allowed[i])
			return;
	abort();
}

static u64 be64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The options verdict of §3, written independently: 0, or OPTION */
static int ref_opts(const u8 *o, u32 n, int *co_seen)
{
	u32 i = 0;

	*co_seen = 0;
	while (i < n) {
		u32 t = o[i], l;

		if (t == 0) {
			i += 1;
			continue;
		}
		if (i + 1 >= n)
			return ESPX_EESP_DROP_OPTION;
		l = o[i + 1];
		if (i + 2 + l > n)
			return ESPX_EESP_DROP_OPTION;
		if (t == 2 && (*co_seen || l != 2))
			return ESPX_EESP_DROP_OPTION;
		if (t == 2)
			*co_seen = 1;
		i += 2 + l;
	}
	return 0;
}

static void check_accepted(const u8 *eh, u32 len,
			   const struct espx_eesp_sa *sa,
			   const struct espx_eesp_hdr *h)
{
	u32 ivlen = sa->iiv ? 0 : 8, opts_end = 8 + h->optlen;
	u32 pih = espx_eesp_sa_full(sa) ? 4 : 0;
	u32 n = sa->subsas ? sa->subsas : 1;
	u8 iv[8];

	if (h->pih_off != opts_end + 8 + ivlen ||
	    h->pih_off + pih + sa->icvlen > len ||
	    h->aad_len != h->pih_off + 4u * h->crypt_offset ||
	    h->aad_len + h->enc_len + sa->icvlen != len ||
	    h->session_id >= n || !h->sn || h->sn != be64(eh + opts_end) ||
	    h->iv_off != (sa->iiv ? 0 : opts_end + 8))
		abort();
	if (h->co && (!sa->crypt_offset || 4u * h->payload_off != h->pih_off ||
		      h->crypt_offset > sa->crypt_offset))
		abort();
	if (!h->co && h->crypt_offset)
		abort();
	espx_eesp_rx_iv(iv, eh, h);
	if (sa->iiv ? be64(iv) != h->sn : memcmp(iv, eh + h->iv_off, 8))
		abort();
}

static void check_payload(const u8 *p, u32 len, const struct espx_eesp_sa *sa)
{
	static const int allowed[] = {
		ESPX_EESP_RX_OK, ESPX_EESP_RX_DUMMY, ESPX_EESP_DROP_PIH,
		ESPX_EESP_DROP_INNER, ESPX_EESP_DROP_TRUNCATED,
	};
	struct espx_eesp_payload po;
	int r;

	r = espx_eesp_check_payload(p, len, sa, &po);
	check_res(r, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (r < 0)
		return;
	if (po.off + po.len > len)
		abort();
	/* a PIH: Full format, or an ESP Echo message (Next Header 144) */
	if (espx_eesp_sa_full(sa) || po.off) {
		if (po.off != 4 || p[0] >> 4 || po.nexthdr != p[2] ||
		    po.len != len - 4 - p[3] ||
		    (r == ESPX_EESP_RX_DUMMY) != (p[2] == 59))
			abort();
		if (!espx_eesp_sa_full(sa) && p[2] != ESPX_EESP_NH_ECHO)
			abort();
		if (r == ESPX_EESP_RX_OK && sa->tunnel &&
		    p[2] != ESPX_EESP_NH_ECHO &&
		    p[4] >> 4 != (p[2] == 4 ? 4 : 6))
			abort();
	} else {
		if (r != ESPX_EESP_RX_OK || po.off ||
		    po.len < (p[0] >> 4 == 4 ? 20u : 40u) ||
		    po.nexthdr != (p[0] >> 4 == 4 ? 4 : 41))
			abort();
	}
}

/* The sender with the parsed values: accepted as the same packet */
static void check_rebuild(const struct espx_eesp_sa *sa,
			  const struct espx_eesp_hdr *h, u8 nexthdr,
			  u32 payload_len)
{
	static u8 buf[ESPX_EESP_HDR_MAX + 1024 + 8 + 16];
	struct espx_eesp_tx tx = {
		.session_id = h->session_id, .spi = h->spi, .sn = h->sn,
		.nexthdr = nexthdr, .payload_len = payload_len % 1024,
	};
	struct espx_eesp_layout l;
	struct espx_eesp_hdr h2;
	struct espx_eesp_payload po;
	bool echo = nexthdr == ESPX_EESP_NH_ECHO;
	u32 i;
	int r;

	if (espx_eesp_layout(sa, &tx, &l))
		abort();
	if (l.total > sizeof(buf) || l.hdr_len % (sa->ipv6 ? 8 : 4) ||
	    l.hdr_len > ESPX_EESP_HDR_MAX ||
	    espx_eesp_tx_full(sa, &tx) != (espx_eesp_sa_full(sa) || echo) ||
	    (espx_eesp_tx_full(sa, &tx) ? 4 : 0) + tx.payload_len + l.pad_len !=
	    l.enc_len + 4 * l.crypt_offset || l.pad_len > 3 ||
	    (l.enc_len + 4 * l.crypt_offset) % 4)
		abort();
	if (espx_eesp_build(buf, l.hdr_len - 1, sa, &tx, &l) !=
	    ESPX_CODEC_ESPACE ||
	    espx_eesp_build(buf, sizeof(buf), sa, &tx, &l) != (int)l.hdr_len)
		abort();
	/* a payload the receiver accepts: an inner IPv4/IPv6 header */
	for (i = 0; i < tx.payload_len; i++)
		buf[l.hdr_len + i] = (u8)i;
	if (sa->tunnel && !echo && tx.payload_len >= 40) {
		buf[l.hdr_len] = nexthdr == 41 ? 0x60 : 0x45;
		if (nexthdr == 41)
			espx_codec_put_be16(buf + l.hdr_len + 4,
					    tx.payload_len - 40);
		else
			espx_codec_put_be16(buf + l.hdr_len + 2,
					    tx.payload_len);
	}
	espx_eesp_fill_pad(buf + l.hdr_len + tx.payload_len, l.pad_len);
	memset(buf + l.aad_len + l.enc_len, 0xee, sa->icvlen);

	if (espx_eesp_parse_base(buf, l.total, &h2) ||
	    espx_eesp_parse(buf, l.total, sa, &h2))
		abort();
	if (h2.session_id != h->session_id || h2.spi != h->spi ||
	    h2.sn != h->sn || h2.aad_len != l.aad_len ||
	    h2.enc_len != l.enc_len || h2.pih_off != l.pih_off ||
	    h2.co != !!sa->crypt_offset || h2.crypt_offset != l.crypt_offset)
		abort();
	r = espx_eesp_check_payload(buf + h2.pih_off,
				    l.total - sa->icvlen - h2.pih_off, sa, &po);
	if (sa->tunnel && !echo &&
	    (tx.payload_len < 40 ||
	     (sa->crypt_offset && nexthdr != 4 && nexthdr != 41)))
		return;	/* not an inner packet: may be refused */
	if (r < 0 || po.len != tx.payload_len ||
	    (espx_eesp_tx_full(sa, &tx) && po.nexthdr != nexthdr))
		abort();
}

static void check_helpers(const u8 *data, size_t size)
{
	u8 msg[ESPX_EESP_HKDF_MSG_MAX], prev[ESPX_EESP_HASH_MAX] = { 0 };
	u64 sn = 0;
	u32 block;
	size_t i;
	int r;

	for (i = 0; i < 8 && i < size; i++)
		sn = sn << 8 | data[i];
	r = espx_eesp_tx_sn_verdict(sn);
	if (r != (!sn ? ESPX_EESP_TX_EXHAUSTED : sn >> 63 ? ESPX_EESP_TX_SOFT :
		  ESPX_EESP_TX_OK))
		abort();
	block = (u32)(sn & 0x1ff);
	r = espx_eesp_hkdf_msg(msg, sizeof(msg), block > 1 ? prev : NULL,
			       block > 1 ? (u32)(sn >> 9 & 0x7f) : 0,
			       (u16)(sn >> 16), block);
	if (r >= 0 && (r < 3 || r > (int)sizeof(msg) || !block || block > 255 ||
		       msg[r - 1] != (u8)block ||
		       msg[r - 3] != (u8)(sn >> 24) || msg[r - 2] != (u8)(sn >> 16)))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const int base_res[] = {
		0, ESPX_EESP_DROP_TRUNCATED, ESPX_EESP_DROP_HEADER,
		ESPX_EESP_DROP_VERSION,
	};
	static const int parse_res[] = {
		0, ESPX_EESP_DROP_TRUNCATED, ESPX_EESP_DROP_OPTION,
		ESPX_EESP_DROP_CRYPT_OFFSET, ESPX_EESP_DROP_SUBSA,
		ESPX_EESP_DROP_REPLAY,
	};
	struct espx_eesp_sa sa;
	struct espx_eesp_hdr h;
	const u8 *eh;
	int r, ref, co_seen;
	u32 len;
	u8 first;

	check_helpers(data, size);
	if (size < 4 || size - 4 > 0xffff)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.ipv6 = data[0] & 1;
	sa.tunnel = data[0] & 2;
	sa.iiv = data[0] & 4;
	sa.icvlen = icvlens[data[0] >> 3 & 3];
	sa.crypt_offset = data[1] & 0x3f;
	sa.subsas = (u16)((data[2] << 8 | data[3]) % 1025);
	eh = data + 4;
	len = (u32)(size - 4);

	r = espx_eesp_parse_base(eh, len, &h);
	check_res(r, base_res, sizeof(base_res) / sizeof(base_res[0]));
	if (r)
		return 0;
	if (eh[0] != 0x80 || h.optlen != eh[1] ||
	    h.session_id != (eh[2] << 8 | eh[3]) ||
	    h.spi != espx_codec_be32(eh + 4))
		abort();

	r = espx_eesp_parse(eh, len, &sa, &h);
	check_res(r, parse_res, sizeof(parse_res) / sizeof(parse_res[0]));
	if (8u + eh[1] <= len) {
		ref = ref_opts(eh + 8, eh[1], &co_seen);
		if ((r == ESPX_EESP_DROP_OPTION) != (ref == ESPX_EESP_DROP_OPTION))
			abort();
	} else if (r != ESPX_EESP_DROP_TRUNCATED) {
		abort();
	}
	if (r)
		return 0;
	check_accepted(eh, len, &sa, &h);
	check_payload(eh + h.pih_off, len - sa.icvlen - h.pih_off, &sa);
	/* an inner IPv4 or IPv6 packet, or an ESP Echo message */
	first = eh[h.pih_off < len ? h.pih_off : 0];
	check_rebuild(&sa, &h, first & 2 ? ESPX_EESP_NH_ECHO : first & 1 ? 41 : 4,
		      h.enc_len);
	return 0;
}
