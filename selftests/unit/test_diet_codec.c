// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/diet_codec.c: the worked examples A and B of
 * diet-esp.md §8 byte for byte (IIPC residue, CTEC, AAD, nonce, AES-128-GCM
 * ciphertext and ICV through OpenSSL, whole packets, the 56- and 32-octet
 * savings) and back through the receiver; compress -> trailer -> strip ->
 * decompress round trips over modes, families, protocols, CDAs, selector
 * shapes, alignments and trailers; EEC build/parse for every SPI/SN split;
 * SN rebuild across 2^k wraps with loss and reordering; and the codec-level
 * rejects of §9.
 * Build: make -C selftests/unit   (links -lcrypto)
 * Prints KTAP; exit status 0 when every test passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/diet_codec.c"
#include "ktap.h"
#include "diet_vectors.h"
#include "vectors.h"

#define PLAN 100
#define ICVLEN 16

/* ---- reference packets, checksums computed independently ---- */

static u32 ref_add(u32 acc, const u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc += i & 1 ? p[i] : (u32)p[i] << 8;
	return acc;
}

static u16 ref_fold(u32 acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (u16)~acc;
}

struct inner {
	int family;		/* 4 or 6 */
	u8 dscp, ecn;
	u32 flow;		/* IPv6 flow label, IPv4 Identification */
	u16 frag;		/* IPv4 flags + offset */
	u8 ttl, proto;
	u8 src[16], dst[16];
	u16 sport, dport;
	u32 seq, ack;
	u16 tflags;		/* TCP data offset + flags */
	u16 win, urg;
	bool udp_nocsum;	/* IPv4 UDP sent without checksum */
	const u8 *data;
	u32 dlen;
};

static void be16(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static void be32(u8 *p, u32 v)
{
	be16(p, v >> 16);
	be16(p + 2, v);
}

/* An IPv4/IPv6 packet with its UDP/TCP header; Return: its length */
static u32 mk_inner(const struct inner *in, u8 *b)
{
	u32 l3 = in->family == 4 ? 20 : 40, alen = in->family == 4 ? 4 : 16;
	u32 l4 = 0, len, acc;
	u8 *h = b + l3, ph[4];

	if (in->proto == 17)
		l4 = 8;
	else if (in->proto == 6)
		l4 = 20;
	len = l3 + l4 + in->dlen;
	memset(b, 0, l3 + l4);
	memcpy(h + l4, in->data, in->dlen);
	if (in->family == 4) {
		b[0] = 0x45;
		b[1] = (u8)(in->dscp << 2 | in->ecn);
		be16(b + 2, len);
		be16(b + 4, in->flow);
		be16(b + 6, in->frag);
		b[8] = in->ttl;
		b[9] = in->proto;
		memcpy(b + 12, in->src, 4);
		memcpy(b + 16, in->dst, 4);
		be16(b + 10, ref_fold(ref_add(0, b, 20)));
	} else {
		be32(b, 6u << 28 | (u32)in->dscp << 22 | (u32)in->ecn << 20 |
		     in->flow);
		be16(b + 4, len - 40);
		b[6] = in->proto;
		b[7] = in->ttl;
		memcpy(b + 8, in->src, 16);
		memcpy(b + 24, in->dst, 16);
	}
	if (!l4)
		return len;
	be16(h, in->sport);
	be16(h + 2, in->dport);
	if (l4 == 8) {
		be16(h + 4, l4 + in->dlen);
	} else {
		be32(h + 4, in->seq);
		be32(h + 8, in->ack);
		be16(h + 12, in->tflags);
		be16(h + 14, in->win);
		be16(h + 18, in->urg);
	}
	be32(ph, l4 + in->dlen);
	acc = ref_add(0, in->src, alen) + ref_add(0, in->dst, alen) +
	      ref_add(0, ph, 4) + in->proto + ref_add(0, h, l4 + in->dlen);
	if (l4 == 8 && in->udp_nocsum && in->family == 4)
		return len;
	acc = ref_fold(acc);
	if (!acc && l4 == 8)
		acc = 0xffff;
	be16(h + (l4 == 8 ? 6 : 16), acc);
	return len;
}

static void rule_any(struct espx_diet_rule *r, u8 mode, u8 inner, u8 outer)
{
	memset(r, 0, sizeof(*r));
	r->iipc_profile = ESPX_DIET_IIPC_DIET;
	r->esp_trailer = ESPX_DIET_TRAILER_OPTIONAL;
	r->esp_spi_lsb = 8;
	r->esp_sn_lsb = 24;
	r->blksize = 1;
	r->mode = mode;
	r->inner_family = inner;
	r->outer_family = outer;
	memset(r->src_end, 0xff, 16);
	memset(r->dst_end, 0xff, 16);
	r->sport_end = 0xffff;
	r->dport_end = 0xffff;
}

/* ---- the receiver on a compressed plaintext (after decryption) ---- */

struct rx {
	u8 out[2048];
	u32 len;
	u8 nh;
	struct espx_diet_iipc st;
};

/* CTEC^-1 then IIPC^-1 and the L4 checksum; @saddr/@daddr: the outer
 * header's (transport mode). Return: 0 or a drop reason.
 */
static int receive(const struct espx_diet_rule *r, const u8 *pt, u32 ptlen,
		   const struct espx_diet_lower *lower, const u8 *saddr,
		   const u8 *daddr, struct rx *x)
{
	u8 last2[2] = { 0, 0 }, hdr[ESPX_DIET_HDR_MAX];
	int plen, err;

	if (ptlen >= 2)
		memcpy(last2, pt + ptlen - 2, 2);
	else if (ptlen)
		last2[1] = pt[0];
	plen = espx_diet_ctec_strip(r, ptlen, last2, &x->nh);
	if (plen < 0)
		return plen;
	err = espx_diet_iipc_decompress(r, pt, (u32)plen, (u32)plen, x->nh,
					lower, hdr, &x->st);
	if (err)
		return err;
	espx_diet_iipc_csum(r, hdr, &x->st, saddr, daddr,
			    espx_diet_csum_add(0, pt + x->st.res_len,
					       x->st.plen));
	if (x->st.hdr_len + x->st.plen > sizeof(x->out))
		return -100;
	memcpy(x->out, hdr, x->st.hdr_len);
	memcpy(x->out + x->st.hdr_len, pt + x->st.res_len, x->st.plen);
	x->len = x->st.hdr_len + x->st.plen;
	return 0;
}

/* ---- §8 example A ---- */

static const u8 a_osrc[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x01 };
static const u8 a_odst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };

static void rule_a(struct espx_diet_rule *r)
{
	static const u8 src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, [15] = 1 };
	static const u8 dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, [15] = 1 };

	rule_any(r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	memcpy(r->src_start, src, 16);
	memcpy(r->src_end, src, 16);
	memcpy(r->dst_start, dst, 16);
	memcpy(r->dst_end, dst, 16);
	r->ts_proto = 17;
	r->sport_start = 49152;
	r->sport_end = 49152;
	r->dport_start = 5683;
	r->dport_end = 5683;
	r->dscp_cda = ESPX_DIET_DSCP_SA;
	r->dscp_count = 1;
	r->ecn_cda = ESPX_DIET_ECN_LOWER;
	r->flow_label_cda = ESPX_DIET_FL_LOWER;
	r->esp_spi_lsb = 0;
	r->esp_sn_lsb = 16;
	r->iiv = true;
}

/* The outer IPv6 header of a Diet packet: no DSCP/ECN/flow in A and B */
static u32 mk_outer6(u8 *b, u32 esplen, u8 hl, const u8 *src, const u8 *dst)
{
	memset(b, 0, 8);
	b[0] = 0x60;
	be16(b + 4, esplen);
	b[6] = ESPX_DIET_PROTO_DEFAULT;
	b[7] = hl;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	return 40;
}

static const u8 a_aad[8] = { 0, 0, 0xa0, 1, 0, 0, 0, 7 };
static const u8 a_nonce[12] = { 0xa0, 0xa1, 0xa2, 0xa3, 0, 0, 0, 0, 0, 0, 0, 7 };

static void test_example_a(void)
{
	u8 inner[64], ct[32], pkt[128], want[128], res[ESPX_DIET_RES_MAX];
	u8 pt[64], aad[12], nonce[12], ctbuf[64], eec[8];
	struct espx_diet_lower lower, rxl;
	struct espx_diet_iipc st;
	struct espx_diet_ctec t;
	struct espx_diet_eec e;
	struct espx_diet_rule r;
	struct espx_esp_pad pad;
	u32 ilen, plen, esplen, len, spi;
	u64 sn;
	struct rx x;
	int n;

	ilen = (u32)unhex_skip(a_inner, 0, inner, sizeof(inner));
	unhex_skip(a_ct, 0, ct, sizeof(ct));
	len = (u32)unhex_skip(a_pkt, 0, want, sizeof(want));
	rule_a(&r);
	ok(ilen == 58 && len == 40 + 28 && !espx_diet_rule_check(&r, 64),
	   "A: vectors parsed, rule valid");

	n = espx_diet_iipc_compress(&r, inner, ilen, ilen, 0, res, &lower, &st);
	ok(!n && st.res_len == 0 && st.hdr_len == 48 && st.plen == 10 &&
	   lower.hop_limit == 0x40 && !lower.ecn && !lower.flow,
	   "A: IIPC out = 0 residue bits + 10 octets");
	plen = st.plen;
	memcpy(pt, inner + st.hdr_len, plen);
	n = espx_diet_ctec_layout(&r, plen, 41, &t);
	ok(!n && t.len == 0, "A: CTEC elides NH, PadLen and padding");

	spi = 0x0000a001;
	sn = 7;
	n = (int)espx_diet_aad(aad, spi, sn, false);
	memcpy(nonce, salt, 4);
	espx_esp_iv_seq(nonce + 4, sn);
	ok(n == 8 && same(aad, a_aad, 8) && same(nonce, a_nonce, 12),
	   "A: AAD over the full SPI/SN, IIV nonce");
	ok(gcm(1, nonce, aad, 8, pt, (int)plen, ctbuf, ctbuf + plen) &&
	   same(ctbuf, ct, plen + ICVLEN), "A: ciphertext | ICV");

	n = espx_diet_eec_build(&r, eec, sizeof(eec), spi, (u32)sn);
	ok(n == 2 && eec[0] == 0 && eec[1] == 7, "A: EEC out 00 07");

	esplen = (u32)n + plen + ICVLEN;
	mk_outer6(pkt, esplen, lower.hop_limit, a_osrc, a_odst);
	memcpy(pkt + 40, eec, 2);
	memcpy(pkt + 42, ctbuf, plen + ICVLEN);
	ok(40 + esplen == len && same(pkt, want, len), "A: whole packet");

	/* plain ESP with the same cipher (IIV: no IV): 8 + 58 + 2 + 16 */
	espx_esp_pad(ilen, 0, 4, &pad);
	ok(8 + pad.clen + ICVLEN == 84 && esplen == 28 &&
	   8 + pad.clen + ICVLEN - esplen == 56, "A: 84 -> 28 octets, saving 56");

	/* receiver, on the spec's octets */
	n = espx_diet_eec_parse(&r, want + 40, len - 40, ICVLEN, &e);
	n = n ? n : espx_diet_sn_rebuild(r.esp_sn_lsb, e.sn_bits, 0, 64,
					 false, &sn);
	ok(!n && e.len == 2 && e.spi_bits == 0 && sn == 7,
	   "A: receiver: EEC parsed, SN rebuilt");
	plen = len - 40 - e.len - ICVLEN;
	ok(gcm(0, nonce, aad, 8, want + 42, (int)plen, pt, want + 42 + plen),
	   "A: receiver: ICV");
	memset(&rxl, 0, sizeof(rxl));
	rxl.hop_limit = want[7];
	n = receive(&r, pt, plen, &rxl, NULL, NULL, &x);
	ok(!n && x.nh == 41 && x.len == ilen && same(x.out, inner, ilen),
	   "A: receiver: inner packet rebuilt, UDP checksum 4894");
}

/* ---- §8 example B ---- */

static const u8 b_src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, [15] = 7 };
static const u8 b_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff,
			      [15] = 0x53 };

static const u8 b_aad[8] = { 0x87, 0x65, 0xc0, 0xde, 0, 1, 0x23, 0x45 };

static void test_example_b(void)
{
	static const u8 data[] = "0123456789abcdefgh";
	u8 inner[128], pkt[160], want[160], res[ESPX_DIET_RES_MAX], wres[32];
	u8 pt[128], aad[12], nonce[12], iv[8], ctbuf[128], eec[8];
	struct espx_diet_lower lower, rxl;
	struct espx_diet_iipc st;
	struct espx_diet_ctec t;
	struct espx_diet_eec e;
	struct espx_diet_rule r;
	struct espx_esp_pad pad;
	struct inner in = {
		.family = 6, .ttl = 64, .proto = 17, .sport = 40000,
		.dport = 53, .data = data, .dlen = 18,
	};
	u32 ilen, plen, esplen, len, spi = 0x8765c0de, bits;
	u64 sn = 0x12345;
	struct rx x;
	int n;

	memcpy(in.src, b_src, 16);
	memcpy(in.dst, b_dst, 16);
	ilen = mk_inner(&in, inner);
	len = (u32)unhex_skip(b_pkt, 6, want, sizeof(want));
	unhex_skip(b_res, 0, wres, sizeof(wres));
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	memcpy(r.src_start, b_src, 16);
	memcpy(r.src_end, b_src, 16);
	r.ecn_cda = ESPX_DIET_ECN_LOWER;
	r.flow_label_cda = ESPX_DIET_FL_LOWER;
	r.esp_spi_lsb = 16;
	r.esp_sn_lsb = 16;
	ok(ilen == 66 && len == 108 && !espx_diet_rule_check(&r, 64),
	   "B: vectors parsed, rule valid");

	n = espx_diet_iipc_compress(&r, inner, ilen, ilen, 0, res, &lower, &st);
	/* DSCP 6 | NH 8 | dst 128 | sport 16 | dport 16 = 174 bits */
	bits = 6 + 8 + 128 + 16 + 16;
	ok(!n && st.res_len == (bits + 7) / 8 && st.res_len == 22 &&
	   same(res, wres, 22) && st.hdr_len == 48,
	   "B: IIPC residue, 22 octets");
	memcpy(pt, res, st.res_len);
	memcpy(pt + st.res_len, inner + st.hdr_len, st.plen);
	plen = st.res_len + st.plen;
	n = espx_diet_ctec_layout(&r, plen, 41, &t);
	ok(plen == 40 && !n && t.len == 0, "B: IIPC out 40 octets, no trailer");

	n = (int)espx_diet_aad(aad, spi, sn, false);
	espx_esp_iv_seq(iv, sn);
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, iv, 8);
	ok(n == 8 && same(aad, b_aad, 8),
	   "B: AAD over the full SPI/SN");
	n = espx_diet_eec_build(&r, eec, sizeof(eec), spi, (u32)sn);
	ok(n == 4 && same(eec, (const u8 []){ 0xc0, 0xde, 0x23, 0x45 }, 4),
	   "B: EEC out c0 de 23 45");
	ok(gcm(1, nonce, aad, 8, pt, (int)plen, ctbuf, ctbuf + plen),
	   "B: encrypt");
	esplen = 4 + 8 + plen + ICVLEN;
	mk_outer6(pkt, esplen, lower.hop_limit, b_src, a_odst);
	memcpy(pkt + 40, eec, 4);
	memcpy(pkt + 44, iv, 8);
	memcpy(pkt + 52, ctbuf, plen + ICVLEN);
	ok(40 + esplen == len && same(pkt, want, len), "B: whole packet");

	espx_esp_pad(ilen, 0, 4, &pad);
	ok(8 + 8 + pad.clen + ICVLEN == 100 && esplen == 68 &&
	   100 - esplen == 32 && 48 - 22 == 26, "B: 100 -> 68 octets, saving 32");

	n = espx_diet_eec_parse(&r, want + 40, len - 40, 8 + ICVLEN, &e);
	n = n ? n : espx_diet_sn_rebuild(16, e.sn_bits, 0x12300, 64, false,
					 &sn);
	ok(!n && e.len == 4 && e.spi_bits == 0xc0de && sn == 0x12345,
	   "B: receiver: EEC parsed, SN rebuilt from T = 0x12300");
	plen = len - 40 - 4 - 8 - ICVLEN;
	ok(gcm(0, nonce, aad, 8, want + 52, (int)plen, pt, want + 52 + plen),
	   "B: receiver: ICV");
	memset(&rxl, 0, sizeof(rxl));
	rxl.hop_limit = want[7];
	n = receive(&r, pt, plen, &rxl, NULL, NULL, &x);
	ok(!n && x.len == ilen && same(x.out, inner, ilen),
	   "B: receiver: inner packet rebuilt");
}

/* ---- round trips ---- */

static const u8 v4a[16] = { 192, 0, 2, 1 }, v4b[16] = { 198, 51, 100, 7 };
static const u8 v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, [15] = 1 };
static const u8 v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, [14] = 0x12,
			    [15] = 0x99 };

enum ts_shape { TS_ANY, TS_PREFIX, TS_SINGLE, TS_RANGE, TS_NR };

static void set_range(u8 *start, u8 *end, const u8 *a, u32 n, u32 plen)
{
	u32 i;

	memcpy(start, a, n);
	memcpy(end, a, n);
	for (i = plen; i < 8 * n; i++) {
		start[i / 8] &= (u8)~(0x80 >> (i % 8));
		end[i / 8] |= (u8)(0x80 >> (i % 8));
	}
}

static void set_ts(struct espx_diet_rule *r, int shape, const struct inner *in)
{
	u32 n = in->family == 4 ? 4 : 16;

	switch (shape) {
	case TS_PREFIX:
		set_range(r->src_start, r->src_end, in->src, n, n == 4 ? 24 : 48);
		set_range(r->dst_start, r->dst_end, in->dst, n, n == 4 ? 20 : 64);
		r->sport_start = 49152;
		r->sport_end = 65535;
		r->dport_start = in->dport;
		r->dport_end = in->dport;
		break;
	case TS_SINGLE:
		set_range(r->src_start, r->src_end, in->src, n, 8 * n);
		set_range(r->dst_start, r->dst_end, in->dst, n, 8 * n);
		r->sport_start = in->sport;
		r->sport_end = in->sport;
		r->dport_start = in->dport;
		r->dport_end = in->dport;
		break;
	case TS_RANGE:	/* not prefixes: only their common prefix counts */
		set_range(r->src_start, r->src_end, in->src, n, 8 * n);
		r->src_start[n - 1] = 0;
		r->src_end[n - 1] = 200;
		r->sport_start = 50000;
		r->sport_end = 52000;
		r->dport_start = 1000;
		r->dport_end = 2000;
		break;
	}
}

/* residue bits an independent reading of §5 expects */
static u32 want_bits(const struct espx_diet_rule *r, const struct inner *in,
		     bool l4)
{
	u32 n = in->family == 4 ? 32 : 128, b = 0;
	static const u32 dscp[] = { 6, 0, 0 };

	if (espx_diet_inner_ip(r)) {
		b += in->family == 4 ? 4 + 16 : 0;	/* IHL, flags+offset */
		b += r->dscp_cda == ESPX_DIET_DSCP_SA ? r->dscp_bits :
							dscp[r->dscp_cda];
		b += r->ecn_cda ? 0 : 2;
		b += r->flow_label_cda ? 0 : in->family == 4 ? 16 : 20;
		b += r->ts_proto ? 0 : 8;
		b += 2 * n - r->src_plen - r->dst_plen;
	}
	if (l4 && (in->proto == 17 || in->proto == 6))
		b += 32 - r->sport_plen - r->dport_plen;
	if (l4 && in->proto == 6)
		b += 32 + 32 + 16 + 16 + 16;
	return b;
}

struct rt_case {
	u8 mode, inner, outer, proto;
};

static const u8 payload[64] = "Diet-ESP round trip payload, any octets \x01\x02\xff";

/* EEC + AES-GCM over a plaintext and back (in place): the SN rebuilt from
 * its LSBs against a receiver a few packets behind. Return: 1 ok
 */
static int seal_open(const struct espx_diet_rule *r, u8 *pt, u32 ptlen,
		     const char *what)
{
	static u64 sn = 77;
	u8 pkt[400], aad[12], nonce[12], back[300], *p = pkt;
	u32 spi = 0x1234abcd ^ (u32)sn, ivlen = r->iiv ? 0 : 8, alen;
	struct espx_diet_eec e;
	u64 got;
	int n;

	sn += 977;
	n = espx_diet_eec_build(r, p, sizeof(pkt), spi, (u32)sn);
	p += n;
	alen = espx_diet_aad(aad, spi, sn, false);
	memcpy(nonce, salt, 4);
	espx_esp_iv_seq(nonce + 4, sn);
	memcpy(p, nonce + 4, ivlen);
	p += ivlen;
	if (n < 0 || !gcm(1, nonce, aad, (int)alen, pt, (int)ptlen, p, p + ptlen))
		goto fail;
	p += ptlen + ICVLEN;

	/* receiver */
	n = espx_diet_eec_parse(r, pkt, (u32)(p - pkt), ivlen + ICVLEN, &e);
	if (n || e.spi_bits != (u32)(spi & espx_diet_mask(r->esp_spi_lsb)))
		goto fail;
	n = espx_diet_sn_rebuild(r->esp_sn_lsb, e.sn_bits, sn - 1, 1, false,
				 &got);
	if (n || got != sn)
		goto fail;
	alen = espx_diet_aad(aad, spi, got, false);
	espx_esp_iv_seq(nonce + 4, got);
	if (ivlen)
		memcpy(nonce + 4, pkt + e.len, 8);
	if (!gcm(0, nonce, aad, (int)alen, pkt + e.len + ivlen, (int)ptlen,
		 back, pkt + e.len + ivlen + ptlen) || memcmp(back, pt, ptlen))
		goto fail;
	return 1;
fail:
	printf("# %s: seal/open failed\n", what);
	return 0;
}

/* One packet through compress, trailer, EEC + AEAD, strip, decompress;
 * Return: 1 ok
 */
static int round_trip(struct espx_diet_rule *r, struct inner *in, bool l4,
		      const char *what)
{
	u8 pkt[256], want[256], pt[300], res[ESPX_DIET_RES_MAX], nh, ip_nh;
	struct inner exp = *in;
	struct espx_diet_lower lower, rxl;
	struct espx_diet_iipc st;
	struct espx_diet_ctec t;
	u32 len, l3 = in->family == 4 ? 20 : 40, off, clen, align, bits;
	const u8 *seg;
	struct rx x;
	int n;

	len = mk_inner(in, pkt);
	/* transport and BEET: the L4 segment; tunnel: the inner packet */
	off = espx_diet_inner_ip(r) ? 0 : l3;
	seg = pkt + off;
	ip_nh = in->family == 4 ? 4 : 41;
	nh = off ? in->proto : ip_nh;
	n = espx_diet_iipc_compress(r, seg, len - off, len - off, in->proto,
				    res, &lower, &st);
	bits = want_bits(r, in, l4);
	if (n || st.res_len != (bits + 7) / 8 || st.res_len > st.hdr_len ||
	    st.hdr_len + st.plen != len - off) {
		printf("# %s: compress %d res %u want %u bits\n", what, n,
		       st.res_len, bits);
		return 0;
	}
	memcpy(pt, res, st.res_len);
	memcpy(pt + st.res_len, seg + st.hdr_len, st.plen);
	clen = st.res_len + st.plen;
	n = espx_diet_ctec_layout(r, clen, nh, &t);
	align = 1u << r->alignment;
	if (align < r->blksize)
		align = r->blksize;
	if (n || t.has_nh != (r->esp_trailer == ESPX_DIET_TRAILER_MANDATORY ||
			      (off && !r->ts_proto)) ||
	    t.has_padlen != (r->esp_trailer == ESPX_DIET_TRAILER_MANDATORY ||
			     align > 1) ||
	    (t.has_padlen && (clen + t.len) % align) ||
	    t.padlen >= align) {
		printf("# %s: trailer %d len %u\n", what, n, t.len);
		return 0;
	}
	espx_diet_ctec_build(pt + clen, &t, nh);
	if (!seal_open(r, pt, clen + t.len, what))
		return 0;

	/* what the outer header carries: junk where the CDA is not lower */
	rxl = lower;
	if (r->dscp_cda != ESPX_DIET_DSCP_LOWER)
		rxl.dscp = 0x2b;
	if (r->ecn_cda != ESPX_DIET_ECN_LOWER)
		rxl.ecn = 2;
	if (r->flow_label_cda != ESPX_DIET_FL_LOWER)
		rxl.flow = r->outer_family == 4 ? 0xbeef : 0xabcde;
	rxl.flow_gen = 0x54321;
	if (!off && r->flow_label_cda == ESPX_DIET_FL_GENERATED)
		exp.flow = 0x54321 & (in->family == 4 ? 0xffff : 0xfffff);
	if (!off && r->flow_label_cda == ESPX_DIET_FL_ZERO)
		exp.flow = 0;
	if (!off && r->flow_label_cda == ESPX_DIET_FL_LOWER &&
	    r->outer_family == 4)
		exp.flow &= 0xffff;
	if (l4)
		exp.udp_nocsum = false;
	mk_inner(&exp, want);

	n = receive(r, pt, clen + t.len, &rxl, pkt + (in->family == 4 ? 12 : 8),
		    pkt + (in->family == 4 ? 16 : 24), &x);
	if (n || x.nh != nh || x.len != len - off ||
	    x.st.res_len != st.res_len || x.st.hdr_len != st.hdr_len ||
	    memcmp(x.out, want + off, x.len)) {
		printf("# %s: decompress %d (%s) len %u/%u\n", what, n,
		       espx_diet_drop_name(n), x.len, len - off);
		same(x.out, want + off, x.len);
		return 0;
	}
	return 1;
}

static void fill_inner(struct inner *in, u8 family, u8 proto, u32 i)
{
	memset(in, 0, sizeof(*in));
	in->family = family;
	memcpy(in->src, family == 4 ? v4a : v6a, 16);
	memcpy(in->dst, family == 4 ? v4b : v6b, 16);
	in->dscp = (u8)(i % 3 == 0 ? 0 : i % 3 == 1 ? 46 : 10);
	in->ecn = (u8)(i % 4);
	in->flow = family == 4 ? 0x1234 + i : 0xf1234 + i;
	in->frag = family == 4 && i % 2 ? 0x4000 : 0;	/* DF */
	in->ttl = (u8)(64 - i % 7);
	in->proto = proto;
	in->sport = (u16)(50123 + i % 5);
	in->dport = 1500;
	in->seq = 0x01020304 * (i + 1);
	in->ack = 0xa0b0c0d0 ^ i;
	in->tflags = 0x5018;
	in->win = (u16)(0x7000 + i);
	in->urg = (u16)(i % 2 ? 0 : 0x33);
	in->data = payload;
	in->dlen = i % 41;
}

static void test_round_trips(void)
{
	static const struct rt_case cases[] = {
		{ ESPX_DIET_MODE_TRANSPORT, 4, 4, 17 },
		{ ESPX_DIET_MODE_TRANSPORT, 4, 4, 6 },
		{ ESPX_DIET_MODE_TRANSPORT, 4, 4, 1 },
		{ ESPX_DIET_MODE_TRANSPORT, 6, 6, 17 },
		{ ESPX_DIET_MODE_TRANSPORT, 6, 6, 6 },
		{ ESPX_DIET_MODE_TRANSPORT, 6, 6, 58 },
		{ ESPX_DIET_MODE_TUNNEL, 4, 4, 17 },
		{ ESPX_DIET_MODE_TUNNEL, 4, 6, 6 },
		{ ESPX_DIET_MODE_TUNNEL, 6, 4, 17 },
		{ ESPX_DIET_MODE_TUNNEL, 6, 6, 6 },
		{ ESPX_DIET_MODE_TUNNEL, 6, 6, 58 },
		{ ESPX_DIET_MODE_TUNNEL, 4, 4, 1 },
		{ ESPX_DIET_MODE_BEET, 4, 4, 6 },
		{ ESPX_DIET_MODE_BEET, 4, 6, 17 },
		{ ESPX_DIET_MODE_BEET, 6, 4, 6 },
		{ ESPX_DIET_MODE_BEET, 6, 6, 17 },
	};
	static const u8 lsb[][2] = { { 0, 8 }, { 0, 16 }, { 4, 12 },
				     { 8, 24 }, { 16, 16 }, { 32, 32 } };
	static const char * const mname[] = { "transport", "tunnel", "", "",
					      "beet" };
	struct espx_diet_rule r;
	struct inner in;
	u32 c, i, fails, runs;
	char desc[96];

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct rt_case *k = &cases[c];

		fails = 0;
		runs = 0;
		for (i = 0; i < 3 * 2 * 4 * 2 * TS_NR * 2 * 4; i++) {
			u32 v = i;

			rule_any(&r, k->mode, k->inner, k->outer);
			fill_inner(&in, k->inner, k->proto, i);
			r.dscp_cda = (u8)(v % 3);
			v /= 3;
			r.ecn_cda = (u8)(v % 2);
			v /= 2;
			r.flow_label_cda = (u8)(v % 4);
			v /= 4;
			r.ts_proto = v % 2 ? k->proto : 0;
			v /= 2;
			set_ts(&r, (int)(v % TS_NR), &in);
			v /= TS_NR;
			r.esp_trailer = (u8)(v % 2);
			v /= 2;
			r.alignment = (u8)(v % 4);
			r.iiv = i % 5 < 2;
			r.esp_spi_lsb = lsb[i % ARRAY_SIZE(lsb)][0];
			r.esp_sn_lsb = lsb[i % ARRAY_SIZE(lsb)][1];
			r.dscp_count = 3;
			r.dscp_list[0] = 10;
			r.dscp_list[1] = 0;
			r.dscp_list[2] = 46;
			if (espx_diet_rule_check(&r, 128)) {
				fails++;
				continue;
			}
			snprintf(desc, sizeof(desc), "%s %u/%u proto %u #%u",
				 mname[k->mode], k->inner, k->outer, k->proto,
				 i);
			runs++;
			fails += !round_trip(&r, &in, true, desc);
		}
		snprintf(desc, sizeof(desc),
			 "round trips: %s inner v%u outer v%u proto %u (%u rules)",
			 mname[k->mode], k->inner, k->outer, k->proto, runs);
		ok(!fails, desc);
	}
}

/* TCP options, IPv4 fragments, a UDP datagram without checksum, block
 * sizes, profile not_compressed
 */
static void test_round_trip_specials(void)
{
	static const u8 opts[12] = { 2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
	struct espx_diet_rule r;
	struct inner in;
	u32 i, fails = 0;

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 4);
	espx_diet_rule_check(&r, 0);
	fill_inner(&in, 6, 6, 5);
	in.tflags = 0x8018;		/* 12 octets of options */
	in.data = opts;
	in.dlen = 12;
	ok(round_trip(&r, &in, true, "tcp options"),
	   "round trip: TCP options stay in the Payload");

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 4);
	espx_diet_rule_check(&r, 0);
	fill_inner(&in, 4, 17, 3);
	in.frag = 0x2000;		/* MF: first fragment */
	ok(round_trip(&r, &in, false, "fragment MF"),
	   "round trip: IPv4 first fragment keeps UDP in the Payload");
	in.frag = 0x0010;
	ok(round_trip(&r, &in, false, "fragment offset"),
	   "round trip: IPv4 later fragment keeps UDP in the Payload");

	fill_inner(&in, 4, 17, 4);
	in.udp_nocsum = true;
	ok(round_trip(&r, &in, true, "udp no checksum"),
	   "round trip: UDP checksum 0 comes back valid");

	for (i = 1; i <= 16; i++) {
		rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 6, 6);
		r.blksize = (u8)i;
		r.esp_trailer = (u8)(i % 2);
		espx_diet_rule_check(&r, 0);
		fill_inner(&in, 6, 17, i);
		fails += !round_trip(&r, &in, true, "blksize");
	}
	ok(!fails, "round trips: block sizes 1-16 pad to ALIGN");

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 6);
	r.iipc_profile = ESPX_DIET_IIPC_NONE;
	espx_diet_rule_check(&r, 0);
	{
		u8 pkt[128], res[ESPX_DIET_RES_MAX], hdr[ESPX_DIET_HDR_MAX];
		struct espx_diet_lower lower;
		struct espx_diet_iipc st, st2;
		u32 len;

		fill_inner(&in, 4, 17, 1);
		len = mk_inner(&in, pkt);
		ok(!espx_diet_iipc_compress(&r, pkt, len, len, 0, res, &lower,
					    &st) &&
		   !st.hdr_len && !st.res_len && st.plen == len &&
		   !espx_diet_iipc_decompress(&r, pkt, len, len, 0, &lower,
					      hdr, &st2) &&
		   !st2.hdr_len && !st2.res_len && st2.plen == len,
		   "iipc_not_compressed: the packet is the Payload");
	}
}

/* ---- EEC and SN ---- */

static void test_eec(void)
{
	struct espx_diet_rule r;
	struct espx_diet_eec e;
	u32 spi = 0x8765c0de, sn = 0x9abcdef1, s, k, bad = 0, pairs = 0, bits;
	u8 buf[8];
	int n;

	for (s = 0; s <= 32; s++) {
		for (k = 1; k <= 32; k++) {
			rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
			r.esp_spi_lsb = (u8)s;
			r.esp_sn_lsb = (u8)k;
			n = espx_diet_rule_check(&r, 1);
			if ((s + k) % 8) {
				bad += n != ESPX_DIET_CFG_LSB_SUM;
				continue;
			}
			pairs++;
			n = espx_diet_eec_build(&r, buf, sizeof(buf), spi, sn);
			bad += n != (int)(s + k) / 8;
			bad += !!espx_diet_eec_parse(&r, buf, (u32)n, 0, &e);
			bad += e.spi_bits != (u32)(spi & espx_diet_mask(s)) ||
			       e.sn_bits != (u32)(sn & espx_diet_mask(k)) ||
			       e.len != (u32)n;
			bad += !!espx_diet_eec_spi(buf, (u32)n, s, &bits);
			bad += bits != e.spi_bits;
			bad += espx_diet_eec_parse(&r, buf, (u32)n, 1, &e) !=
			       ESPX_DIET_DROP_SHORT;
			if (n)
				bad += espx_diet_eec_build(&r, buf, (u32)n - 1,
							   spi, sn) !=
				       ESPX_CODEC_ESPACE;
		}
	}
	ok(!bad && pairs == 132,
	   "EEC: build/parse for all 132 SPI/SN splits, bit layout MSB first");

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	r.esp_spi_lsb = 4;
	r.esp_sn_lsb = 12;
	espx_diet_rule_check(&r, 1);
	n = espx_diet_eec_build(&r, buf, sizeof(buf), 0xa, 0x123);
	ok(n == 2 && buf[0] == 0xa1 && buf[1] == 0x23,
	   "EEC: spi 4 + sn 12 = 2 octets a1 23");
	ok(espx_diet_eec_parse(&r, buf, 2 + 15, 16, &e) == ESPX_DIET_DROP_SHORT &&
	   !espx_diet_eec_parse(&r, buf, 2 + 16, 16, &e),
	   "reject: shorter than EEC header + ICV");
	r.esp_spi_lsb = 32;
	r.esp_sn_lsb = 32;
	ok(!espx_diet_truncated(&r) && espx_diet_eec_len(&r) == 8 &&
	   (r.esp_sn_lsb = 24, espx_diet_truncated(&r)) &&
	   (r.esp_spi_lsb = 0, r.esp_sn_lsb = 32, espx_diet_truncated(&r)),
	   "EEC: protocol 50 only when nothing is truncated");
	ok(espx_diet_eec_spi(buf, 0, 4, &bits) == ESPX_DIET_DROP_SHORT &&
	   !espx_diet_eec_spi(buf, 0, 0, &bits) && bits == 0,
	   "EEC: SPI lookup key; k = 0 needs no octet");
}

/* A sender's SNs 1..count with loss and reordering of at most @reorder
 * places; the receiver rebuilds each from k bits. Return: mismatches.
 */
static u32 sn_stream(u32 k, u32 w, u64 start, u32 count, u32 reorder,
		     bool loss, bool esn)
{
	u64 t = start - 1, sn, got, seq[8];
	u32 i, j, bad = 0, held = 0;

	for (i = 0; i < count; i++) {
		sn = start + i;
		if (loss && i % 11 == 5)
			continue;
		seq[held++] = sn;
		if (held <= reorder && i + 1 < count)
			continue;
		/* deliver newest first: the held ones arrive late */
		for (j = held; j-- > 0;) {
			if (espx_diet_sn_rebuild(k, (u32)seq[j], t, w, esn,
						 &got) || got != seq[j]) {
				bad++;
				continue;
			}
			if (got > t)
				t = got;
		}
		held = 0;
	}
	return bad;
}

static void test_sn(void)
{
	u64 sn = 0;
	u32 k, bad = 0;

	for (k = 1; k <= 12; k++)
		bad += sn_stream(k, 1u << (k - 1), 1, 5u << k,
				 k > 3 ? 3 : 0, k > 1, false);
	ok(!bad, "SN rebuild: k = 1..12, 5 wraps each, loss");
	ok(!sn_stream(8, 128, 1, 3000, 7, true, false) &&
	   !sn_stream(16, 1024, 1, 200000, 7, true, false),
	   "SN rebuild: reordering inside the window across 2^8 and 2^16 wraps");
	ok(!sn_stream(16, 1024, 0xffff0000ULL, 0x20000, 5, true, true) &&
	   !sn_stream(32, 4096, 0xfffff000ULL, 10000, 5, true, true),
	   "SN rebuild (ESN): across 2^32, SNhi derived");
	ok(!sn_stream(32, 4096, 1, 10000, 5, true, false),
	   "SN rebuild: sn_lsb 32 is the plain SN");
	ok(espx_diet_sn_rebuild(16, 0, 0, 64, false, &sn) ==
	   ESPX_DIET_DROP_SN_ZERO &&
	   espx_diet_sn_rebuild(8, 0, 20, 16, false, &sn) == 0 && sn == 256,
	   "reject: SN rebuild producing 0");
	ok(!espx_diet_sn_rebuild(8, 50, 1000, 16, false, &sn) && sn == 1074,
	   "SN rebuild: a value older than the window lands ahead (ICV fails)");
	ok(espx_diet_sn_rebuild(8, 1, 0xffffffffULL, 16, false, &sn) ==
	   ESPX_DIET_DROP_SN_WRAP &&
	   !espx_diet_sn_rebuild(8, 1, 0xffffffffULL, 16, true, &sn) &&
	   sn == 0x100000001ULL,
	   "SN rebuild: past 2^32 - 1 only with ESN");
	ok(espx_diet_sn_rebuild(8, 1, ~0ULL, 16, true, &sn) ==
	   ESPX_DIET_DROP_SN_WRAP, "SN rebuild: 64-bit wrap refused");
	ok(!espx_diet_sn_rebuild(4, 3, 20, 0, false, &sn) && sn == 35 &&
	   !espx_diet_sn_rebuild(4, 4, 20, 0, false, &sn) && sn == 20,
	   "SN rebuild: window 0 taken as 1");
}

static void test_aad_iv(void)
{
	static const u8 want[12] = { 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d,
				     0x0e, 0x0f, 0x10, 0x11 };
	u8 aad[12], iv[8];

	ok(espx_diet_aad(aad, 0x01020304, 0x0a0b0c0d0e0f1011ULL, true) == 12 &&
	   same(aad, want, 12),
	   "AAD with ESN: SPI | SNhi | SNlo");
	espx_esp_iv_seq(iv, 0x0a0b0c0d0e0f1011ULL);
	ok(same(iv, want + 4, 8), "IIV: be64(SN)");
}

/* ---- CTEC ---- */

static int strip(struct espx_diet_rule *r, const u8 *pt, u32 len, u8 *nh)
{
	u8 last2[2] = { 0xee, 0xee };

	if (len >= 2)
		memcpy(last2, pt + len - 2, 2);
	else if (len)
		last2[1] = pt[0];
	return espx_diet_ctec_strip(r, len, last2, nh);
}

static void test_ctec(void)
{
	struct espx_diet_rule r;
	struct espx_diet_ctec t;
	u8 pt[64], nh = 0;
	u32 a, len, bad = 0;

	/* Mandatory, 32-bit: payload + pad + 2 = 0 mod 4 */
	rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 4, 4);
	r.esp_trailer = ESPX_DIET_TRAILER_MANDATORY;
	r.alignment = ESPX_DIET_ALIGN_32;
	espx_diet_rule_check(&r, 0);
	espx_diet_ctec_layout(&r, 5, 17, &t);
	espx_diet_ctec_build(pt + 5, &t, 17);
	ok(t.padlen == 1 && t.len == 3 && pt[5] == 1 && pt[6] == 1 &&
	   pt[7] == 17 && strip(&r, pt, 8, &nh) == 5 && nh == 17,
	   "CTEC Mandatory 32-bit: 01 | PadLen 1 | NH");
	r.alignment = ESPX_DIET_ALIGN_8;
	espx_diet_ctec_layout(&r, 5, 17, &t);
	ok(t.padlen == 0 && t.len == 2, "CTEC Mandatory 8-bit: PadLen 0, NH");

	/* Optional: every alignment and block size, tunnel and transport */
	for (a = 0; a < 4 * 2 * 2 * 3; a++) {
		rule_any(&r, a % 2 ? ESPX_DIET_MODE_TUNNEL :
			 ESPX_DIET_MODE_TRANSPORT, 6, 6);
		r.alignment = (u8)(a / 2 % 4);
		r.ts_proto = a / 8 % 2 ? 6 : 0;
		r.blksize = (u8)(a / 16 == 0 ? 1 : a / 16 == 1 ? 4 : 16);
		espx_diet_rule_check(&r, 0);
		for (len = 0; len < 40; len++) {
			u8 want = a % 2 ? 41 : 6, got = 0;
			u32 al = 1u << r.alignment;

			if (al < r.blksize)
				al = r.blksize;
			memset(pt, 0x77, sizeof(pt));
			bad += !!espx_diet_ctec_layout(&r, len, want, &t);
			espx_diet_ctec_build(pt + len, &t, want);
			bad += t.has_padlen == (al == 1);
			bad += t.has_padlen && (len + t.len) % al;
			bad += t.has_nh != (!(a % 2) && !r.ts_proto);
			bad += strip(&r, pt, len + t.len, &got) != (int)len;
			bad += got != want;
		}
	}
	ok(!bad, "CTEC Optional: elision, ALIGN = max(alignment, block), strip");

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 6);
	espx_diet_rule_check(&r, 0);
	ok(espx_diet_ctec_layout(&r, 10, 41, &t) == ESPX_DIET_DROP_NOMATCH &&
	   !espx_diet_ctec_layout(&r, 10, 4, &t),
	   "sender: tunnel NH other than the inner family's refused");

	/* receiver length checks */
	rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 4, 4);
	r.esp_trailer = ESPX_DIET_TRAILER_MANDATORY;
	espx_diet_rule_check(&r, 0);
	pt[0] = 3;
	pt[1] = 17;
	ok(strip(&r, pt, 2, &nh) == ESPX_DIET_DROP_PADLEN &&
	   strip(&r, pt, 1, &nh) == ESPX_DIET_DROP_PADLEN &&
	   strip(&r, pt, 0, &nh) == ESPX_DIET_DROP_PADLEN,
	   "reject: Mandatory PadLen + 2 > plaintext");
	memset(pt, 0, 8);
	pt[6] = 7;
	pt[7] = 17;
	ok(strip(&r, pt, 8, &nh) == ESPX_DIET_DROP_PADLEN &&
	   (pt[6] = 5, strip(&r, pt, 8, &nh) == 1),
	   "reject: PadLen 7 of 8 octets, PadLen 5 leaves 1");
	r.ts_proto = 6;
	espx_diet_rule_check(&r, 0);
	ok(strip(&r, pt, 8, &nh) == ESPX_DIET_DROP_NEXTHDR,
	   "reject: sent NH not matching ts_proto");
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	r.esp_trailer = ESPX_DIET_TRAILER_MANDATORY;
	espx_diet_rule_check(&r, 0);
	pt[6] = 0;
	pt[7] = 4;
	ok(strip(&r, pt, 8, &nh) == ESPX_DIET_DROP_NEXTHDR &&
	   (pt[7] = 41, strip(&r, pt, 8, &nh) == 6 && nh == 41),
	   "reject: tunnel NH not the inner family's");
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	r.alignment = ESPX_DIET_ALIGN_64;
	espx_diet_rule_check(&r, 0);
	pt[0] = 1;
	ok(strip(&r, pt, 1, &nh) == ESPX_DIET_DROP_PADLEN &&
	   strip(&r, pt, 0, &nh) == ESPX_DIET_DROP_PADLEN &&
	   (pt[0] = 0, strip(&r, pt, 1, &nh) == 0 && nh == 41),
	   "reject: Optional PadLen + 1 > plaintext (NH elided)");
	rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 6, 6);
	espx_diet_rule_check(&r, 0);
	ok(strip(&r, pt, 0, &nh) == ESPX_DIET_DROP_PADLEN &&
	   (pt[0] = 58, strip(&r, pt, 1, &nh) == 0 && nh == 58),
	   "reject: Optional NH-only trailer on an empty plaintext");
}

/* ---- IIPC rejects ---- */

static int compress(struct espx_diet_rule *r, const struct inner *in)
{
	u8 pkt[256], res[ESPX_DIET_RES_MAX];
	struct espx_diet_lower lower;
	struct espx_diet_iipc st;
	u32 len = mk_inner(in, pkt);

	return espx_diet_iipc_compress(r, pkt, len, len, in->proto, res,
				       &lower, &st);
}

static void test_iipc_sender_rejects(void)
{
	struct espx_diet_rule r;
	struct inner in;
	u8 pkt[256], res[ESPX_DIET_RES_MAX];
	struct espx_diet_lower lower;
	struct espx_diet_iipc st;
	u32 len;

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	fill_inner(&in, 6, 17, 0);
	set_ts(&r, TS_PREFIX, &in);
	espx_diet_rule_check(&r, 0);
	ok(!compress(&r, &in), "sender: inside the TS prefixes");
	in.src[5] ^= 1;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: source outside the prefix");
	fill_inner(&in, 6, 17, 0);
	in.dst[7] ^= 0x80;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: destination outside the prefix");
	fill_inner(&in, 6, 17, 0);
	in.sport = 1024;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: source port outside the prefix");
	fill_inner(&in, 6, 17, 0);
	in.dport = 1501;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: destination port outside the range");
	fill_inner(&in, 6, 17, 0);
	in.sport = 1024;
	in.proto = 58;	/* ICMPv6: no ports to match */
	ok(!compress(&r, &in), "sender: ports ignored for other protocols");

	r.ts_proto = 17;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: protocol other than ts_proto");
	fill_inner(&in, 4, 17, 0);
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: IPv4 inner on an IPv6 rule");

	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 4);
	r.dscp_cda = ESPX_DIET_DSCP_SA;
	r.dscp_count = 2;
	r.dscp_list[0] = 46;
	r.dscp_list[1] = 10;
	espx_diet_rule_check(&r, 0);
	fill_inner(&in, 4, 17, 1);
	ok(!compress(&r, &in), "sender: DSCP 46 in dscp_list");
	in.dscp = 0;
	ok(compress(&r, &in) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: DSCP not in dscp_list");

	fill_inner(&in, 4, 17, 0);
	len = mk_inner(&in, pkt);
	pkt[0] = 0x46;		/* one option word */
	ok(espx_diet_iipc_compress(&r, pkt, len, len, 0, res, &lower, &st) ==
	   ESPX_DIET_DROP_NOMATCH, "sender reject: IPv4 with options");
	pkt[0] = 0x45;
	ok(espx_diet_iipc_compress(&r, pkt, len, len + 1, 0, res, &lower,
				   &st) == ESPX_DIET_DROP_NOMATCH &&
	   espx_diet_iipc_compress(&r, pkt, 19, 19, 0, res, &lower, &st) ==
	   ESPX_DIET_DROP_NOMATCH,
	   "sender reject: Total Length not the packet's, truncated header");
	be16(pkt + 24, 9);	/* UDP length */
	ok(espx_diet_iipc_compress(&r, pkt, len, len, 0, res, &lower, &st) ==
	   ESPX_DIET_DROP_NOMATCH, "sender reject: UDP length not the datagram's");

	rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 6, 6);
	espx_diet_rule_check(&r, 0);
	fill_inner(&in, 6, 6, 2);
	in.tflags = 0x4018;	/* data offset 4 */
	len = mk_inner(&in, pkt);
	ok(espx_diet_iipc_compress(&r, pkt + 40, len - 40, len - 40, 6, res,
				   &lower, &st) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: TCP data offset below 5");
	in.tflags = 0xf018;	/* 60 octets of header */
	len = mk_inner(&in, pkt);
	ok(espx_diet_iipc_compress(&r, pkt + 40, len - 40, len - 40, 6, res,
				   &lower, &st) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: TCP data offset past the segment");
	fill_inner(&in, 6, 17, 0);
	len = mk_inner(&in, pkt);
	ok(espx_diet_iipc_compress(&r, pkt + 40, 7, len - 40, 17, res,
				   &lower, &st) == ESPX_DIET_DROP_NOMATCH,
	   "sender reject: UDP header not linear");
}

/* A valid compressed plaintext for @r (tunnel IPv4 UDP or IPv6 TCP) */
static u32 mk_compressed(struct espx_diet_rule *r, int family, u8 proto,
			 u8 *out, struct espx_diet_lower *lower)
{
	u8 pkt[256], res[ESPX_DIET_RES_MAX];
	struct espx_diet_iipc st;
	struct inner in;
	u32 len;

	fill_inner(&in, family, proto, 7);
	len = mk_inner(&in, pkt);
	if (espx_diet_iipc_compress(r, pkt, len, len, proto, res, lower, &st))
		return 0;
	memcpy(out, res, st.res_len);
	memcpy(out + st.res_len, pkt + st.hdr_len, st.plen);
	return st.res_len + st.plen;
}

static int decompress(struct espx_diet_rule *r, const u8 *in, u32 avail,
		      u32 len, const struct espx_diet_lower *lower)
{
	u8 hdr[ESPX_DIET_HDR_MAX];
	struct espx_diet_iipc st;

	return espx_diet_iipc_decompress(r, in, avail, len, 6, lower, hdr, &st);
}

static void test_iipc_receiver_rejects(void)
{
	struct espx_diet_rule r;
	struct espx_diet_lower lower;
	u8 buf[256];
	u32 len, res, i, bad;

	/* every truncation inside the residue, IPv6 TCP, all fields sent */
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	espx_diet_rule_check(&r, 0);
	len = mk_compressed(&r, 6, 6, buf, &lower);
	res = (6 + 2 + 20 + 8 + 256 + 32 + 112 + 7) / 8;
	bad = !len || decompress(&r, buf, len, len, &lower);
	for (i = 0; i < res; i++)
		bad += decompress(&r, buf, i, i, &lower) !=
		       ESPX_DIET_DROP_RESIDUE;
	ok(!bad && res == ESPX_DIET_RES_MAX - 1,
	   "reject: residue past the end, each of 55 lengths (largest residue)");
	bad = 0;
	for (i = 0; i < res; i++)
		bad += decompress(&r, buf, i, len, &lower) !=
		       ESPX_DIET_DROP_RESIDUE;
	ok(!bad, "reject: residue past the linear octets");

	/* elided-NH SA, decrypted data too short: Optional, align 8 */
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 4);
	espx_diet_rule_check(&r, 0);
	len = mk_compressed(&r, 4, 17, buf, &lower);
	ok(len && !decompress(&r, buf, len, len, &lower) &&
	   decompress(&r, buf, 3, 3, &lower) == ESPX_DIET_DROP_RESIDUE &&
	   decompress(&r, buf, 0, 0, &lower) == ESPX_DIET_DROP_RESIDUE,
	   "reject: elided-NH plaintext too short for the residue");

	/* IHL: 4 first bits of an IPv4 residue */
	buf[0] = (u8)((buf[0] & 0x0f) | 0x60);
	ok(decompress(&r, buf, len, len, &lower) == ESPX_DIET_DROP_IHL,
	   "reject: decoded IHL 6");
	buf[0] = (u8)((buf[0] & 0x0f) | 0x50);

	/* pad bits: IPv4 UDP, every field sent: 4+6+2+16+16+8+64+32 = 148 */
	ok(!decompress(&r, buf, len, len, &lower) &&
	   (buf[18] |= 1, decompress(&r, buf, len, len, &lower) ==
	    ESPX_DIET_DROP_RESIDUE_PAD),
	   "reject: non-zero bits after the residue");

	/* dscp index >= len(dscp_list): 3 entries, index 3 */
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	r.dscp_cda = ESPX_DIET_DSCP_SA;
	r.dscp_count = 3;
	r.dscp_list[0] = 10;
	r.dscp_list[1] = 0;
	r.dscp_list[2] = 46;
	espx_diet_rule_check(&r, 0);
	len = mk_compressed(&r, 6, 6, buf, &lower);
	ok(r.dscp_bits == 2 && len && !decompress(&r, buf, len, len, &lower) &&
	   (buf[0] |= 0xc0, decompress(&r, buf, len, len, &lower) ==
	    ESPX_DIET_DROP_DSCP_INDEX),
	   "reject: DSCP index 3 of a 3-entry dscp_list");

	/* impossible lengths */
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 4, 4);
	espx_diet_rule_check(&r, 0);
	len = mk_compressed(&r, 4, 17, buf, &lower);
	ok(decompress(&r, buf, len, 65535 - 28 + 19, &lower) == 0 &&
	   decompress(&r, buf, len, 65535 - 28 + 20, &lower) ==
	   ESPX_DIET_DROP_LENGTH,
	   "reject: IPv4 Total Length above 65535");
	rule_any(&r, ESPX_DIET_MODE_TUNNEL, 6, 6);
	espx_diet_rule_check(&r, 0);
	len = mk_compressed(&r, 6, 6, buf, &lower);
	ok(decompress(&r, buf, len, 65535 - 20 + 55, &lower) == 0 &&
	   decompress(&r, buf, len, 65535 - 20 + 56, &lower) ==
	   ESPX_DIET_DROP_LENGTH && decompress(&r, buf, len, ~0u, &lower) ==
	   ESPX_DIET_DROP_LENGTH,
	   "reject: IPv6 Payload Length above 65535");

	/* TCP data offset: the 16 bits after ports, seq and ack */
	rule_any(&r, ESPX_DIET_MODE_TRANSPORT, 4, 4);
	r.sport_start = 50130;
	r.sport_end = 50130;
	r.dport_start = 1500;
	r.dport_end = 1500;
	espx_diet_rule_check(&r, 0);
	memset(buf, 0, 16);
	buf[8] = 0x40;	/* doff 4 */
	ok(decompress(&r, buf, 14, 14, &lower) == ESPX_DIET_DROP_TCP_DOFF,
	   "reject: TCP data offset 4");
	buf[8] = 0x60;	/* doff 6: 4 octets of options needed */
	ok(decompress(&r, buf, 14, 14 + 3, &lower) == ESPX_DIET_DROP_TCP_DOFF &&
	   decompress(&r, buf, 14, 14 + 4, &lower) == 0,
	   "reject: TCP options past the end");
}

/* ---- configuration ---- */

static void test_config(void)
{
	struct espx_diet_rule r, g;
	u32 bad = 0, i;
	int got;

	rule_any(&g, ESPX_DIET_MODE_TUNNEL, 6, 4);
	ok(!espx_diet_rule_check(&g, 64), "config: a valid rule");
#define REJ(field_stmt, window, want) do {				\
		r = g;							\
		field_stmt;						\
		got = espx_diet_rule_check(&r, window);			\
		if (got != (want)) {					\
			printf("# %s: %d\n", #field_stmt, got);		\
			bad++;						\
		}							\
	} while (0)
	REJ(r.iipc_profile = 2, 0, ESPX_DIET_CFG_PROFILE);
	REJ(r.dscp_cda = 3, 0, ESPX_DIET_CFG_DSCP_CDA);
	REJ(r.dscp_cda = 2, 0, ESPX_DIET_CFG_DSCP_LIST);
	REJ((r.dscp_cda = 2, r.dscp_count = 65), 0, ESPX_DIET_CFG_DSCP_LIST);
	REJ((r.dscp_cda = 2, r.dscp_count = 1, r.dscp_list[0] = 64), 0,
	    ESPX_DIET_CFG_DSCP_LIST);
	REJ((r.dscp_cda = 2, r.dscp_count = 2), 0, ESPX_DIET_CFG_DSCP_LIST);
	REJ(r.ecn_cda = 2, 0, ESPX_DIET_CFG_ECN_CDA);
	REJ(r.flow_label_cda = 4, 0, ESPX_DIET_CFG_FL_CDA);
	REJ(r.alignment = 4, 0, ESPX_DIET_CFG_ALIGN);
	REJ(r.esp_trailer = 2, 0, ESPX_DIET_CFG_TRAILER);
	REJ(r.esp_spi_lsb = 33, 0, ESPX_DIET_CFG_SPI_LSB);
	REJ((r.esp_spi_lsb = 32, r.esp_sn_lsb = 0), 0, ESPX_DIET_CFG_SN_LSB);
	REJ((r.esp_spi_lsb = 0, r.esp_sn_lsb = 40), 0, ESPX_DIET_CFG_SN_LSB);
	REJ((r.esp_spi_lsb = 4, r.esp_sn_lsb = 8), 0, ESPX_DIET_CFG_LSB_SUM);
	REJ((r.esp_spi_lsb = 0, r.esp_sn_lsb = 8), 129, ESPX_DIET_CFG_WINDOW);
	REJ((r.esp_spi_lsb = 0, r.esp_sn_lsb = 8), 128, 0);
	REJ((r.esp_spi_lsb = 0, r.esp_sn_lsb = 32), 0x80000000, 0);
	REJ((r.esp_spi_lsb = 0, r.esp_sn_lsb = 32), 0x80000001,
	    ESPX_DIET_CFG_WINDOW);
	REJ((r.esp_spi_lsb = 7, r.esp_sn_lsb = 1), 2, ESPX_DIET_CFG_WINDOW);
	REJ(r.mode = 2, 0, ESPX_DIET_CFG_MODE);
	REJ(r.inner_family = 5, 0, ESPX_DIET_CFG_FAMILY);
	REJ(r.outer_family = 0, 0, ESPX_DIET_CFG_FAMILY);
	REJ(r.mode = ESPX_DIET_MODE_TRANSPORT, 0, ESPX_DIET_CFG_FAMILY);
	REJ(r.blksize = 0, 0, ESPX_DIET_CFG_BLKSIZE);
	REJ(r.blksize = 17, 0, ESPX_DIET_CFG_BLKSIZE);
	REJ((r.src_start[0] = 1, r.src_end[0] = 0), 0, ESPX_DIET_CFG_TS_ADDR);
	REJ((r.dst_start[15] = 1, memset(r.dst_end, 0, 16)), 0,
	    ESPX_DIET_CFG_TS_ADDR);
	/* an IPv4 selector is the first 4 octets */
	REJ((r.inner_family = 4, r.dst_start[4] = 1, r.dst_end[4] = 0), 0, 0);
	REJ((r.sport_start = 2, r.sport_end = 1), 0, ESPX_DIET_CFG_TS_PORT);
	REJ((r.dport_start = 2, r.dport_end = 1), 0, ESPX_DIET_CFG_TS_PORT);
#undef REJ
	ok(!bad, "config: each reason refused, boundaries accepted");
	bad = 0;
	for (i = 1; i <= ESPX_DIET_CFG_NR; i++)
		bad += !strncmp(espx_diet_cfg_msg(-(int)i), "unknown", 7);
	ok(!bad && !strcmp(espx_diet_cfg_msg(0), "unknown") &&
	   !strcmp(espx_diet_cfg_msg(-ESPX_DIET_CFG_NR - 1), "unknown"),
	   "config: a message for every reason");
}

static void test_drop_names(void)
{
	u32 i, j, bad = 0;

	for (i = 1; i <= ESPX_DIET_DROP_NR; i++) {
		bad += !strcmp(espx_diet_drop_name(-(int)i), "unknown");
		for (j = 1; j < i; j++)
			bad += !strcmp(espx_diet_drop_name(-(int)i),
				       espx_diet_drop_name(-(int)j));
	}
	ok(!bad && !strcmp(espx_diet_drop_name(0), "unknown") &&
	   !strcmp(espx_diet_drop_name(-ESPX_DIET_DROP_NR - 1), "unknown") &&
	   !strcmp(espx_diet_drop_name(ESPX_DIET_DROP_NOMATCH), "iipc_nomatch"),
	   "drop reasons: distinct stable names, iipc_nomatch");
}

int main(void)
{
	ktap_plan(PLAN);
	test_example_a();
	test_example_b();
	test_round_trips();
	test_round_trip_specials();
	test_eec();
	test_sn();
	test_aad_iv();
	test_ctec();
	test_iipc_sender_rejects();
	test_iipc_receiver_rejects();
	test_config();
	test_drop_names();
	return ktap_done(PLAN);
}
