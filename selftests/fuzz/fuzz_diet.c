// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the Diet-ESP decompressors of
 * net/espx/codec/diet_codec.c (EEC parse + SN rebuild, CTEC strip, IIPC
 * decompress) and the compressor they must agree with, under fuzzer-chosen
 * rules.
 *   make -C selftests/fuzz && build/fuzz/fuzz_diet -max_total_time=60
 * Input: HDR octets of rule and receiver state, then the data:
 *   [0] op (low 2 bits: EEC, CTEC, IIPC decompress, IIPC compress) and mode
 *       (bits 2-3: transport, tunnel, BEET, BEET; BEET compresses like
 *       transport, its inner family from bit 4), inner (bit 4) and outer
 *       (bit 5) family IPv6, ESN (bit 6), iipc_not_compressed (bit 7)
 *   [1] dscp_cda % 3 | ecn_cda (bit 2) | flow_label_cda (bits 3-4) |
 *       alignment (bits 5-6) | Optional trailer (bit 7)
 *   [2] esp_spi_lsb % 33   [3] esp_sn_lsb % 33   [4] blksize % 17
 *   [5] ts_proto (0-3: any; 4-5: TCP; 6-7: UDP; else itself)
 *   [6] dscp_count % 65    [7] dscp_list seed
 *   [8..11] prefix lengths: src, dst (% 129), sport, dport (% 17)
 *   [12..15] address seed, port seeds
 *   [16] lower DSCP/ECN, [17] hop limit, [18..20] lower flow
 *   [21] transport NH / CTEC tail, [22..29] T (be64), [30..31] window
 * Invariants checked (abort() on violation):
 *   - every rejection is a named reason of its enum,
 *   - EEC: the parsed bits rebuild the same octets; the rebuilt SN is
 *     congruent to the bits, in [base, base + 2^k), non-zero, 32-bit
 *     without ESN,
 *   - CTEC: the stripped length + PadLen + trailer octets is the plaintext,
 *     the NH is the SA's when it implies one,
 *   - IIPC: a successful decompress gives lengths inside the input, valid
 *     IPv4 header and L4 checksums, and compressing the rebuilt packet
 *     gives back exactly the input residue and the outer values (round
 *     trip); a successful compress decompresses to the same shape and
 *     recompresses to the same residue.
 */
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/diet_codec.c"

#define HDR 32

struct ctx {
	struct espx_diet_rule r;
	struct espx_diet_lower lower;
	bool esn;
	u8 nh;
	u64 top;
	u32 window;
};

static void check_drop(int err)
{
	if (err >= 0 || err < -ESPX_DIET_DROP_NR ||
	    !strcmp(espx_diet_drop_name(err), "unknown"))
		abort();
}

static void set_pfx(u8 *start, u8 *end, u32 n, u32 plen, u8 seed)
{
	u32 i;

	for (i = 0; i < n; i++)
		start[i] = (u8)(seed * (i + 1) ^ 0x5a);
	memcpy(end, start, n);
	for (i = plen < 8 * n ? plen : 8 * n; i < 8 * n; i++) {
		start[i / 8] &= (u8)~(0x80 >> (i % 8));
		end[i / 8] |= (u8)(0x80 >> (i % 8));
	}
}

static void set_ports(u16 *start, u16 *end, u32 plen, u8 seed)
{
	u32 mask = plen >= 16 ? 0 : 0xffffu >> plen;
	u32 v = (u32)seed * 0x0101u;

	*start = (u16)(v & ~mask);
	*end = (u16)(v | mask);
}

static int setup(const u8 *d, struct ctx *c)
{
	static const u8 modes[] = { ESPX_DIET_MODE_TRANSPORT,
				    ESPX_DIET_MODE_TUNNEL, ESPX_DIET_MODE_BEET,
				    ESPX_DIET_MODE_BEET };
	struct espx_diet_rule *r = &c->r;
	u32 i, n, max;
	int err;

	memset(c, 0, sizeof(*c));
	r->mode = modes[d[0] >> 2 & 3];
	r->inner_family = d[0] & 0x10 ? 6 : 4;
	r->outer_family = d[0] & 0x20 ? 6 : 4;
	if (r->mode == ESPX_DIET_MODE_TRANSPORT)
		r->outer_family = r->inner_family;
	c->esn = d[0] & 0x40;
	r->iipc_profile = d[0] & 0x80 ? ESPX_DIET_IIPC_NONE : ESPX_DIET_IIPC_DIET;
	r->dscp_cda = d[1] % 3;
	r->ecn_cda = d[1] >> 2 & 1;
	r->flow_label_cda = d[1] >> 3 & 3;
	r->alignment = d[1] >> 5 & 3;
	r->esp_trailer = d[1] >> 7;
	r->esp_spi_lsb = d[2] % 33;
	r->esp_sn_lsb = d[3] % 33;
	r->blksize = d[4] % 17;
	r->ts_proto = d[5] < 4 ? 0 : d[5] < 6 ? 6 : d[5] < 8 ? 17 : d[5];
	r->dscp_count = d[6] % 65;
	for (i = 0; i < r->dscp_count; i++)
		r->dscp_list[i] = (u8)((d[7] + i * 37) % 64);
	n = r->inner_family == 4 ? 4 : 16;
	set_pfx(r->src_start, r->src_end, n, d[8] % 129, d[12]);
	set_pfx(r->dst_start, r->dst_end, n, d[9] % 129, d[13]);
	set_ports(&r->sport_start, &r->sport_end, d[10] % 17, d[14]);
	set_ports(&r->dport_start, &r->dport_end, d[11] % 17, d[15]);
	c->lower.dscp = d[16] >> 2;
	c->lower.ecn = d[16] & 3;
	c->lower.hop_limit = d[17];
	c->lower.flow = (u32)d[18] << 16 | (u32)d[19] << 8 | d[20];
	c->lower.flow_gen = c->lower.flow ^ 0x5555;
	c->nh = d[21];
	for (i = 0; i < 8; i++)
		c->top = c->top << 8 | d[22 + i];
	if (!c->esn)
		c->top &= 0xffffffff;
	c->window = (u32)d[30] << 8 | d[31];
	max = r->esp_sn_lsb ? 1u << (r->esp_sn_lsb - 1) : 1;
	if (c->window > max)
		c->window = max;
	err = espx_diet_rule_check(r, c->window);
	if (err && (err >= 0 || err < -ESPX_DIET_CFG_NR ||
		    !strcmp(espx_diet_cfg_msg(err), "unknown")))
		abort();
	return err;
}

static void fuzz_eec(struct ctx *c, const u8 *p, size_t len)
{
	const struct espx_diet_rule *r = &c->r;
	u64 mask = espx_diet_mask(r->esp_sn_lsb), w, base, sn;
	struct espx_diet_eec e;
	u32 spi_bits;
	u8 back[8];
	int err;

	err = espx_diet_eec_parse(r, p, len, c->nh % 33, &e);
	if (err) {
		check_drop(err);
		return;
	}
	if (e.len != espx_diet_eec_len(r) || e.len + c->nh % 33 > len ||
	    espx_diet_eec_spi(p, len, r->esp_spi_lsb, &spi_bits) ||
	    spi_bits != e.spi_bits)
		abort();
	if (espx_diet_eec_build(r, back, sizeof(back), e.spi_bits,
				e.sn_bits) != (int)e.len ||
	    memcmp(back, p, e.len))
		abort();
	err = espx_diet_sn_rebuild(r->esp_sn_lsb, e.sn_bits, c->top,
				   c->window, c->esn, &sn);
	if (err) {
		check_drop(err);
		return;
	}
	w = c->window ? c->window : 1;
	base = c->top >= w - 1 ? c->top - (w - 1) : 0;
	if (!sn || (sn & mask) != e.sn_bits || sn < base || sn - base > mask ||
	    (!c->esn && sn > 0xffffffffULL))
		abort();
}

static void fuzz_ctec(struct ctx *c, const u8 *p, size_t len)
{
	const struct espx_diet_rule *r = &c->r;
	u8 last2[2] = { 0, 0 }, nh = 0, sa_nh = espx_diet_sa_nexthdr(r);
	struct espx_diet_ctec t;
	u32 padlen, ptlen = (u32)len;
	int plen;

	if (ptlen >= 2)
		memcpy(last2, p + ptlen - 2, 2);
	else if (ptlen)
		last2[1] = p[0];
	plen = espx_diet_ctec_strip(r, ptlen, last2, &nh);
	if (plen < 0) {
		check_drop(plen);
		return;
	}
	if ((u32)plen > ptlen || (sa_nh && nh != sa_nh))
		abort();
	if (espx_diet_ctec_layout(r, (u32)plen, nh, &t))
		abort();
	padlen = t.has_padlen ? last2[t.has_nh ? 0 : 1] : 0;
	if (plen + padlen + t.has_padlen + t.has_nh != ptlen ||
	    (t.has_nh && nh != last2[1]))
		abort();
}

/* The L4 checksum of a rebuilt packet verifies */
static void check_csum(const struct espx_diet_rule *r, const u8 *pkt,
		       const struct espx_diet_iipc *st, const u8 *saddr,
		       const u8 *daddr)
{
	u32 alen, l4len = st->l4_len + st->plen;
	u8 ph[6];
	u16 s;

	if (st->l3_len == 20 && espx_diet_csum_add(0, pkt, 20) != 0xffff)
		abort();
	if (!st->l4_len)
		return;
	if (st->l3_len) {
		saddr = pkt + (st->l3_len == 20 ? 12 : 8);
		daddr = pkt + (st->l3_len == 20 ? 16 : 24);
	}
	alen = st->l3_len == 20 || (!st->l3_len && r->inner_family == 4) ? 4 : 16;
	ph[0] = (u8)(l4len >> 24);
	ph[1] = (u8)(l4len >> 16);
	ph[2] = (u8)(l4len >> 8);
	ph[3] = (u8)l4len;
	ph[4] = 0;
	ph[5] = st->proto;
	s = espx_diet_csum_add(0, saddr, alen);
	s = espx_diet_csum_add(s, daddr, alen);
	s = espx_diet_csum_add(s, ph, 6);
	s = espx_diet_csum_add(s, pkt + st->l3_len, l4len);
	if (s != 0xffff)
		abort();
}

static const u8 tsrc[16] = { 10, 1, 2, 3, 0x20, 1, 0xd, 0xb8, [15] = 1 };
static const u8 tdst[16] = { 10, 9, 8, 7, 0x20, 1, 0xd, 0xb8, [15] = 2 };

static u8 transport_proto(const struct ctx *c)
{
	return c->r.ts_proto ? c->r.ts_proto : c->nh;
}

/* compress(@pkt) must give @res back exactly */
static void recompress(struct ctx *c, const u8 *pkt, u32 len,
		       const struct espx_diet_iipc *st,
		       const struct espx_diet_lower *rx, const u8 *res)
{
	const struct espx_diet_rule *r = &c->r;
	u8 res2[ESPX_DIET_RES_MAX];
	struct espx_diet_lower lo;
	struct espx_diet_iipc st2;

	if (espx_diet_iipc_compress(r, pkt, len, len, transport_proto(c), res2,
				    &lo, &st2) ||
	    st2.res_len != st->res_len || st2.hdr_len != st->hdr_len ||
	    st2.plen != st->plen || memcmp(res2, res, st->res_len))
		abort();
	if (!espx_diet_inner_ip(r) || r->iipc_profile == ESPX_DIET_IIPC_NONE)
		return;
	if (lo.hop_limit != rx->hop_limit ||
	    (r->dscp_cda == ESPX_DIET_DSCP_LOWER &&
	     lo.dscp != (rx->dscp & 0x3f)) ||
	    (r->ecn_cda == ESPX_DIET_ECN_LOWER && lo.ecn != (rx->ecn & 3)) ||
	    (r->flow_label_cda == ESPX_DIET_FL_LOWER &&
	     lo.flow != (rx->flow & (r->outer_family == 4 ||
				     r->inner_family == 4 ? 0xffff : 0xfffff))))
		abort();
}

static void fuzz_decompress(struct ctx *c, const u8 *p, size_t len)
{
	const struct espx_diet_rule *r = &c->r;
	u8 hdr[ESPX_DIET_HDR_MAX], *pkt;
	struct espx_diet_iipc st;
	u32 n = len > 0x20000 ? 0x20000 : (u32)len;
	int err;

	err = espx_diet_iipc_decompress(r, p, n, n, transport_proto(c),
					&c->lower, hdr, &st);
	if (err) {
		check_drop(err);
		return;
	}
	if (st.res_len > n || st.res_len + st.plen != n ||
	    st.hdr_len != st.l3_len + st.l4_len ||
	    st.hdr_len > ESPX_DIET_HDR_MAX ||
	    (r->iipc_profile == ESPX_DIET_IIPC_DIET && st.res_len > st.hdr_len))
		abort();
	espx_diet_iipc_csum(r, hdr, &st, tsrc, tdst,
			    espx_diet_csum_add(0, p + st.res_len, st.plen));
	pkt = malloc(st.hdr_len + st.plen + 1);
	if (!pkt)
		return;
	memcpy(pkt, hdr, st.hdr_len);
	memcpy(pkt + st.hdr_len, p + st.res_len, st.plen);
	check_csum(r, pkt, &st, tsrc, tdst);
	recompress(c, pkt, st.hdr_len + st.plen, &st, &c->lower, p);
	free(pkt);
}

static void put16(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

/* Force the bits of @v covered by the prefix to the selector's */
static void fix_pfx(u8 *v, const u8 *tv, u32 plen)
{
	u32 i;

	for (i = 0; i < plen; i++)
		v[i / 8] = (u8)((v[i / 8] & ~(0x80 >> (i % 8))) |
				(tv[i / 8] & (0x80 >> (i % 8))));
}

static void fix_l4(const struct espx_diet_rule *r, u8 *p, u32 len, u8 proto)
{
	u8 port[2];
	u32 doff;

	if ((proto != 17 && proto != 6) || len < (proto == 17 ? 8u : 20u))
		return;
	put16(port, r->sport_start);
	fix_pfx(p, port, r->sport_plen);
	put16(port, r->dport_start);
	fix_pfx(p + 2, port, r->dport_plen);
	if (proto == 17) {
		put16(p + 4, len);
		return;
	}
	doff = 5 + (p[12] >> 4) % ((len > 60 ? 60 : len) / 4 - 4);
	p[12] = (u8)(doff << 4 | (p[12] & 0x0f));
}

/* Make most inputs a packet the rule compresses, so that the sender side
 * is reached: version, lengths, prefixes, protocol, DSCP
 */
static void fixup(const struct ctx *c, u8 *p, u32 len)
{
	const struct espx_diet_rule *r = &c->r;
	u32 l3 = r->inner_family == 4 ? 20 : 40, n = l3 == 20 ? 4 : 16;
	u8 proto, dscp = r->dscp_count ?
		r->dscp_list[p[1] % r->dscp_count] : 0;

	/* transport and BEET: an L4 segment, no inner IP header */
	if (!espx_diet_inner_ip(r)) {
		fix_l4(r, p, len, transport_proto(c));
		return;
	}
	if (len < l3)
		return;
	if (r->ts_proto)
		p[l3 == 20 ? 9 : 6] = r->ts_proto;
	proto = p[l3 == 20 ? 9 : 6];
	fix_pfx(p + (l3 == 20 ? 12 : 8), r->src_start, r->src_plen);
	fix_pfx(p + (l3 == 20 ? 16 : 24), r->dst_start, r->dst_plen);
	if (l3 == 20) {
		p[0] = 0x45;
		if (r->dscp_cda == ESPX_DIET_DSCP_SA)
			p[1] = (u8)(dscp << 2 | (p[1] & 3));
		put16(p + 2, len);
		if (p[6] & 0x80) {	/* keep some fragments */
			p[6] &= 0xc0;
			p[7] = 0;
		}
	} else {
		p[0] = 0x60;
		if (r->dscp_cda == ESPX_DIET_DSCP_SA) {
			p[0] |= dscp >> 2;
			p[1] = (u8)((dscp & 3) << 6 | (p[1] & 0x3f));
		}
		put16(p + 4, len - 40);
	}
	fix_l4(r, p + l3, len - l3, proto);
}

static void fuzz_compress(struct ctx *c, const u8 *in, size_t len)
{
	const struct espx_diet_rule *r = &c->r;
	u8 res[ESPX_DIET_RES_MAX], hdr[ESPX_DIET_HDR_MAX], *buf, p[2048];
	struct espx_diet_lower lo;
	struct espx_diet_iipc st, st2;
	u32 n = len > sizeof(p) ? sizeof(p) : (u32)len;
	int err;

	memcpy(p, in, n);
	if (c->nh & 1)
		fixup(c, p, n);
	err = espx_diet_iipc_compress(r, p, n, n, transport_proto(c), res, &lo,
				      &st);
	if (err) {
		check_drop(err);
		return;
	}
	if (st.res_len > st.hdr_len || st.hdr_len + st.plen != n)
		abort();
	buf = malloc(st.res_len + st.plen + 1);
	if (!buf)
		return;
	memcpy(buf, res, st.res_len);
	memcpy(buf + st.res_len, p + st.hdr_len, st.plen);
	lo.flow_gen = 0x12345;
	if (espx_diet_iipc_decompress(r, buf, st.res_len + st.plen,
				      st.res_len + st.plen, transport_proto(c),
				      &lo, hdr, &st2) ||
	    st2.hdr_len != st.hdr_len || st2.res_len != st.res_len ||
	    st2.plen != st.plen)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct ctx c;

	if (size < HDR || setup(data, &c))
		return 0;
	data += HDR;
	size -= HDR;
	switch (data[-HDR] & 3) {
	case 0:
		fuzz_eec(&c, data, size);
		break;
	case 1:
		fuzz_ctec(&c, data, size);
		break;
	case 2:
		fuzz_decompress(&c, data, size);
		break;
	default:
		fuzz_compress(&c, data, size);
		break;
	}
	return 0;
}
