// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free Diet-ESP codec; see diet_codec.h. Built into the module as its
 * own object and into the userspace unit tests and fuzzers.
 */
#include "diet_codec.h"

/* ---- bit strings, MSB first ---- */

/* Writer: at most 32 bits per call. Bits wait in @acc (fewer than 32 of
 * them between calls) and leave it 32 at a time: a residue is a few
 * hundred bits, and an octet-at-a-time loop cost more than the rest of the
 * compression together.
 */
struct espx_diet_bw {
	u8 *p;
	u32 cap;
	u32 len;
	u64 acc;
	u32 nacc;
	bool over;
};

static espx_codec_inline void
espx_diet_put(struct espx_diet_bw *w, u32 v, u32 n)
{
	if (!n)		/* a field the rule elides: the common case */
		return;
	w->acc = w->acc << n | (v & espx_diet_mask(n));
	w->nacc += n;
	if (w->nacc < 32)
		return;
	w->nacc -= 32;
	if (w->cap - w->len >= 4) {
		espx_codec_put_be32(w->p + w->len, (u32)(w->acc >> w->nacc));
		w->len += 4;
	} else {
		w->over = true;
	}
	w->acc &= espx_diet_mask(w->nacc);
}

/* Complete the last octet with zero bits (§5: 0-7 zero bits) and write
 * what waits in the accumulator.
 */
static void espx_diet_flush(struct espx_diet_bw *w)
{
	if (w->nacc % 8)
		espx_diet_put(w, 0, 8 - w->nacc % 8);
	while (w->nacc) {
		w->nacc -= 8;
		if (w->len < w->cap)
			w->p[w->len++] = (u8)(w->acc >> w->nacc);
		else
			w->over = true;
	}
	w->acc = 0;
}

/* Reader: an error is sticky and reads then return 0, so that callers test
 * it once at the end; values read meanwhile only fill a discarded header.
 * @bits may end inside an octet (the SPI bits alone); @octets is what may
 * be loaded.
 */
struct espx_diet_br {
	const u8 *p;
	u32 octets;
	u32 bits;
	u32 pos;
	bool err;
};

static void espx_diet_br_init(struct espx_diet_br *b, const u8 *p,
			      u32 octets, u32 bits)
{
	b->p = p;
	b->octets = octets;
	b->bits = bits;
	b->pos = 0;
	b->err = false;
}

/* The octets of @n bits at the read position gathered one by one: near
 * the end of what may be loaded.
 */
static u32 espx_diet_get_slow(struct espx_diet_br *b, u32 n)
{
	u32 i, end = b->pos + n, last = (end - 1) >> 3;
	u64 acc = 0;

	for (i = b->pos >> 3; i <= last; i++)
		acc = acc << 8 | b->p[i];
	b->pos = end;
	return (u32)((acc >> (8 * (last + 1) - end)) & espx_diet_mask(n));
}

/* At most 32 bits per call: with eight octets loadable at the read
 * position, one 64-bit window holds them (at most 7 + 32 bits).
 */
static espx_codec_inline u32 espx_diet_get(struct espx_diet_br *b, u32 n)
{
	u32 first = b->pos >> 3;
	u64 acc;

	if (!n)
		return 0;
	if (b->err || n > b->bits - b->pos) {
		b->err = true;
		return 0;
	}
	if (b->octets - first < 8)
		return espx_diet_get_slow(b, n);
	acc = (u64)espx_codec_be32(b->p + first) << 32 |
	      espx_codec_be32(b->p + first + 4);
	acc <<= b->pos & 7;
	b->pos += n;
	return (u32)(acc >> (64 - n));
}

static u32 espx_diet_addr_len(u8 family)
{
	return family == 4 ? 4 : 16;
}

/* ---- traffic selector prefixes (§5 helper p) ---- */

/* Common prefix bits of two @n-octet big-endian values */
static u8 espx_diet_plen(const u8 *a, const u8 *b, u32 n)
{
	u32 i, bit;
	u8 x;

	for (i = 0; i < n; i++) {
		x = a[i] ^ b[i];
		if (!x)
			continue;
		for (bit = 0; !(x & 0x80); bit++)
			x <<= 1;
		return (u8)(8 * i + bit);
	}
	return (u8)(8 * n);
}

static u8 espx_diet_port_plen(u16 a, u16 b)
{
	u8 pa[2], pb[2];

	espx_codec_put_be16(pa, a);
	espx_codec_put_be16(pb, b);
	return espx_diet_plen(pa, pb, 2);
}

static bool espx_diet_pfx_match(const u8 *v, const u8 *tv, u32 plen)
{
	u32 full = plen / 8, rest = plen % 8;

	if (memcmp(v, tv, full))
		return false;
	return !rest || !((v[full] ^ tv[full]) & (0xff00 >> rest));
}

/* The residue of an @n-octet value: its bits after the prefix, the
 * partial octet first, then 32 bits per step (addresses are the longest
 * residues on the fast path)
 */
static void espx_diet_put_tail(struct espx_diet_bw *w, const u8 *v, u32 n,
			       u32 plen)
{
	u32 i = plen / 8;

	if (plen % 8 && i < n) {
		espx_diet_put(w, v[i], 8 - plen % 8);
		i++;
	}
	for (; i + 4 <= n; i += 4)
		espx_diet_put(w, espx_codec_be32(v + i), 32);
	for (; i < n; i++)
		espx_diet_put(w, v[i], 8);
}

/* The inverse: the prefix from @tv, the rest from the residue */
static void espx_diet_get_tail(struct espx_diet_br *b, u8 *v, const u8 *tv,
			       u32 n, u32 plen)
{
	u32 i = plen / 8, nb = 8 - plen % 8;

	memcpy(v, tv, n);
	if (plen % 8 && i < n) {
		v[i] = (u8)((v[i] & ~espx_diet_mask(nb)) | espx_diet_get(b, nb));
		i++;
	}
	for (; i + 4 <= n; i += 4)
		espx_codec_put_be32(v + i, espx_diet_get(b, 32));
	for (; i < n; i++)
		v[i] = (u8)espx_diet_get(b, 8);
}

static bool espx_diet_port_match(u16 v, u16 start, u32 plen)
{
	return !((u32)(v ^ start) >> (16 - plen));
}

/* ---- configuration ---- */

static int espx_diet_check_dscp(struct espx_diet_rule *r)
{
	u32 i, j;

	r->dscp_bits = 0;
	if (r->dscp_cda != ESPX_DIET_DSCP_SA)
		return 0;
	if (!r->dscp_count || r->dscp_count > ESPX_DIET_DSCP_MAX)
		return ESPX_DIET_CFG_DSCP_LIST;
	/* duplicates would make two indexes mean one value */
	for (i = 0; i < r->dscp_count; i++) {
		if (r->dscp_list[i] > 63)
			return ESPX_DIET_CFG_DSCP_LIST;
		for (j = 0; j < i; j++)
			if (r->dscp_list[j] == r->dscp_list[i])
				return ESPX_DIET_CFG_DSCP_LIST;
	}
	while ((1u << r->dscp_bits) < r->dscp_count)
		r->dscp_bits++;
	return 0;
}

static int espx_diet_check_lsb(const struct espx_diet_rule *r, u32 window)
{
	if (r->esp_spi_lsb > 32)
		return ESPX_DIET_CFG_SPI_LSB;
	/* the receiver cannot rebuild an SN of which nothing was sent */
	if (!r->esp_sn_lsb || r->esp_sn_lsb > 32)
		return ESPX_DIET_CFG_SN_LSB;
	if ((r->esp_spi_lsb + r->esp_sn_lsb) % 8)
		return ESPX_DIET_CFG_LSB_SUM;
	/* the rebuild reaches W - 1 back: half the SN space at most */
	if ((u64)window > 1ULL << (r->esp_sn_lsb - 1))
		return ESPX_DIET_CFG_WINDOW;
	return 0;
}

static int espx_diet_check_ts(struct espx_diet_rule *r)
{
	u32 n = espx_diet_addr_len(r->inner_family);

	if (memcmp(r->src_start, r->src_end, n) > 0 ||
	    memcmp(r->dst_start, r->dst_end, n) > 0)
		return ESPX_DIET_CFG_TS_ADDR;
	if (r->sport_start > r->sport_end || r->dport_start > r->dport_end)
		return ESPX_DIET_CFG_TS_PORT;
	r->src_plen = espx_diet_plen(r->src_start, r->src_end, n);
	r->dst_plen = espx_diet_plen(r->dst_start, r->dst_end, n);
	r->sport_plen = espx_diet_port_plen(r->sport_start, r->sport_end);
	r->dport_plen = espx_diet_port_plen(r->dport_start, r->dport_end);
	return 0;
}

/**
 * espx_diet_rule_check - validate a rule and cache its derived values
 * @r: the rule; its *_plen and @dscp_bits fields are filled in
 * @replay_window: the SA's replay window W in packets (0 = none)
 *
 * Only a rule that passed this check may be given to the other functions.
 *
 * Return: 0 or a negative enum espx_diet_cfg.
 */
int espx_diet_rule_check(struct espx_diet_rule *r, u32 replay_window)
{
	int err;

	if (r->iipc_profile > ESPX_DIET_IIPC_DIET)
		return ESPX_DIET_CFG_PROFILE;
	if (r->dscp_cda > ESPX_DIET_DSCP_SA)
		return ESPX_DIET_CFG_DSCP_CDA;
	err = espx_diet_check_dscp(r);
	if (err)
		return err;
	if (r->ecn_cda > ESPX_DIET_ECN_LOWER)
		return ESPX_DIET_CFG_ECN_CDA;
	if (r->flow_label_cda > ESPX_DIET_FL_ZERO)
		return ESPX_DIET_CFG_FL_CDA;
	if (r->alignment > ESPX_DIET_ALIGN_64)
		return ESPX_DIET_CFG_ALIGN;
	if (r->esp_trailer > ESPX_DIET_TRAILER_OPTIONAL)
		return ESPX_DIET_CFG_TRAILER;
	err = espx_diet_check_lsb(r, replay_window);
	if (err)
		return err;
	if (r->mode != ESPX_DIET_MODE_TRANSPORT &&
	    r->mode != ESPX_DIET_MODE_TUNNEL && r->mode != ESPX_DIET_MODE_BEET)
		return ESPX_DIET_CFG_MODE;
	if ((r->inner_family != 4 && r->inner_family != 6) ||
	    (r->outer_family != 4 && r->outer_family != 6) ||
	    (r->mode == ESPX_DIET_MODE_TRANSPORT &&
	     r->inner_family != r->outer_family))
		return ESPX_DIET_CFG_FAMILY;
	if (!r->blksize || r->blksize > 16)
		return ESPX_DIET_CFG_BLKSIZE;
	return espx_diet_check_ts(r);
}

/**
 * espx_diet_cfg_msg - extack message of a configuration reason
 * @reason: a negative enum espx_diet_cfg
 *
 * Return: a message, or "unknown" for anything else.
 */
const char *espx_diet_cfg_msg(int reason)
{
	static const char * const msgs[ESPX_DIET_CFG_NR] = {
		[-1 - ESPX_DIET_CFG_PROFILE] = "Diet-ESP: iipc profile must be 0 or 1",
		[-1 - ESPX_DIET_CFG_DSCP_CDA] = "Diet-ESP: dscp CDA must be 0, 1 or 2",
		[-1 - ESPX_DIET_CFG_DSCP_LIST] =
			"Diet-ESP: dscp list needs 1-64 distinct values below 64",
		[-1 - ESPX_DIET_CFG_ECN_CDA] = "Diet-ESP: ecn CDA must be 0 or 1",
		[-1 - ESPX_DIET_CFG_FL_CDA] = "Diet-ESP: flow label CDA must be 0-3",
		[-1 - ESPX_DIET_CFG_ALIGN] = "Diet-ESP: alignment must be 8, 16, 32 or 64 bits",
		[-1 - ESPX_DIET_CFG_TRAILER] = "Diet-ESP: trailer must be mandatory or optional",
		[-1 - ESPX_DIET_CFG_SPI_LSB] = "Diet-ESP: spi-lsb must be 0-32",
		[-1 - ESPX_DIET_CFG_SN_LSB] = "Diet-ESP: sn-lsb must be 1-32",
		[-1 - ESPX_DIET_CFG_LSB_SUM] =
			"Diet-ESP: spi-lsb + sn-lsb must be a multiple of 8",
		[-1 - ESPX_DIET_CFG_WINDOW] =
			"Diet-ESP: replay window larger than 2^(sn-lsb - 1)",
		[-1 - ESPX_DIET_CFG_MODE] = "Diet-ESP: mode must be transport, tunnel or beet",
		[-1 - ESPX_DIET_CFG_FAMILY] = "Diet-ESP: unsupported address family combination",
		[-1 - ESPX_DIET_CFG_TS_ADDR] = "Diet-ESP: selector address start above end",
		[-1 - ESPX_DIET_CFG_TS_PORT] = "Diet-ESP: selector port start above end",
		[-1 - ESPX_DIET_CFG_BLKSIZE] = "Diet-ESP: cipher block size must be 1-16",
	};

	if (reason >= 0 || reason < -ESPX_DIET_CFG_NR)
		return "unknown";
	return msgs[-1 - reason];
}

/**
 * espx_diet_drop_name - stable name of a drop reason
 * @reason: a negative enum espx_diet_drop
 *
 * The names are the netlink statistic names: never rename one.
 *
 * Return: a snake_case name, or "unknown" for anything else.
 */
const char *espx_diet_drop_name(int reason)
{
	static const char * const names[ESPX_DIET_DROP_NR] = {
		[-1 - ESPX_DIET_DROP_SHORT] = "diet_short",
		[-1 - ESPX_DIET_DROP_SN_ZERO] = "diet_sn_zero",
		[-1 - ESPX_DIET_DROP_SN_WRAP] = "diet_sn_wrap",
		[-1 - ESPX_DIET_DROP_PADLEN] = "diet_padlen",
		[-1 - ESPX_DIET_DROP_NEXTHDR] = "diet_nexthdr",
		[-1 - ESPX_DIET_DROP_RESIDUE] = "diet_residue_short",
		[-1 - ESPX_DIET_DROP_RESIDUE_PAD] = "diet_residue_pad",
		[-1 - ESPX_DIET_DROP_DSCP_INDEX] = "diet_dscp_index",
		[-1 - ESPX_DIET_DROP_IHL] = "diet_ihl",
		[-1 - ESPX_DIET_DROP_LENGTH] = "diet_length",
		[-1 - ESPX_DIET_DROP_TCP_DOFF] = "diet_tcp_doff",
		[-1 - ESPX_DIET_DROP_NOMATCH] = "iipc_nomatch",
	};

	if (reason >= 0 || reason < -ESPX_DIET_DROP_NR)
		return "unknown";
	return names[-1 - reason];
}

/* ---- EEC (§3, §6 step 2) ---- */

/**
 * espx_diet_eec_build - write the compressed SPI/SN prefix
 * @r: the SA's rule
 * @buf: output, in place of the 8-octet ESP header
 * @buflen: octets available at @buf
 * @spi: the SPI (host order)
 * @snlo: the low 32 bits of the SN (host order)
 *
 * The low esp_spi_lsb bits of @spi, then the low esp_sn_lsb bits of @snlo,
 * MSB first, no padding (the rule makes the sum a multiple of 8).
 *
 * Return: octets written, or ESPX_CODEC_ESPACE.
 */
int espx_diet_eec_build(const struct espx_diet_rule *r, u8 *buf,
			size_t buflen, u32 spi, u32 snlo)
{
	u32 n = espx_diet_eec_len(r), i;
	u64 v;

	if (buflen < n)
		return ESPX_CODEC_ESPACE;
	/* at most 64 bits: the prefix as one number, written MSB first */
	v = ((u64)spi & espx_diet_mask(r->esp_spi_lsb)) << r->esp_sn_lsb |
	    (snlo & espx_diet_mask(r->esp_sn_lsb));
	for (i = 0; i < n; i++)
		buf[i] = (u8)(v >> (8 * (n - 1 - i)));
	return (int)n;
}

/**
 * espx_diet_eec_spi - the truncated SPI of a received packet (§6 step 1)
 * @pkt: the packet after the outer IP header
 * @len: octets available at @pkt
 * @spi_lsb: k, the destination's esp_spi_lsb
 * @spi_bits: output, the first k bits as a number
 *
 * The key of the candidate lookup, read before any SA is known.
 *
 * Return: 0 or ESPX_DIET_DROP_SHORT.
 */
int espx_diet_eec_spi(const u8 *pkt, size_t len, u32 spi_lsb, u32 *spi_bits)
{
	struct espx_diet_br b;

	if (spi_lsb > 32 || len * 8 < spi_lsb)
		return ESPX_DIET_DROP_SHORT;
	espx_diet_br_init(&b, pkt, len > 8 ? 8 : (u32)len, spi_lsb);
	*spi_bits = espx_diet_get(&b, spi_lsb);
	return 0;
}

/**
 * espx_diet_eec_parse - read the SPI/SN prefix against a candidate SA
 * @r: the candidate's rule
 * @pkt: the packet after the outer IP header
 * @len: its length
 * @tail: octets that must follow the prefix: IV (0 with iiv) + ICV
 * @out: output
 *
 * Return: 0 or ESPX_DIET_DROP_SHORT.
 */
int espx_diet_eec_parse(const struct espx_diet_rule *r, const u8 *pkt,
			size_t len, u32 tail, struct espx_diet_eec *out)
{
	u32 n = espx_diet_eec_len(r), i;
	u64 v = 0;

	if (len < n || len - n < tail)
		return ESPX_DIET_DROP_SHORT;
	for (i = 0; i < n; i++)
		v = v << 8 | pkt[i];
	out->spi_bits = (u32)((v >> r->esp_sn_lsb) &
			      espx_diet_mask(r->esp_spi_lsb));
	out->sn_bits = (u32)(v & espx_diet_mask(r->esp_sn_lsb));
	out->len = n;
	return 0;
}

/**
 * espx_diet_sn_rebuild - the full SN from its low bits (§6 step 2)
 * @sn_lsb: k, the rule's esp_sn_lsb (1-32)
 * @sn_bits: r, the received low k bits
 * @top: T, the highest authenticated SN (0 before the first packet)
 * @window: W, the replay window (0 is taken as 1)
 * @esn: the SA uses 64-bit sequence numbers
 * @sn: output
 *
 * base = max(T - (W - 1), 0); SN = base + ((r - base) mod 2^k): the one
 * value congruent to r in [base, base + 2^k). Without ESN an SN above
 * 2^32 - 1 does not exist (the SA must have been rekeyed).
 *
 * Return: 0, ESPX_DIET_DROP_SN_ZERO or ESPX_DIET_DROP_SN_WRAP.
 */
int espx_diet_sn_rebuild(u32 sn_lsb, u32 sn_bits, u64 top, u32 window,
			 bool esn, u64 *sn)
{
	u64 w = window ? window : 1;
	u64 base = top >= w - 1 ? top - (w - 1) : 0;
	u64 s;

	if (sn_lsb > 32)
		sn_lsb = 32;
	s = base + (((u64)sn_bits - base) & espx_diet_mask(sn_lsb));
	if (s < base || (!esn && s > 0xffffffffULL))
		return ESPX_DIET_DROP_SN_WRAP;
	if (!s)
		return ESPX_DIET_DROP_SN_ZERO;
	*sn = s;
	return 0;
}

/**
 * espx_diet_aad - the AAD over the full SPI and SN (§2 [DECISION])
 * @aad: output, 12 octets available
 * @spi: SPI (host order)
 * @sn: the 64-bit SN (without ESN its high half is not used)
 * @esn: write SPI | SNhi | SNlo instead of SPI | SN
 *
 * Return: the AAD length, 8 or 12.
 */
u32 espx_diet_aad(u8 *aad, u32 spi, u64 sn, bool esn)
{
	return espx_esp_aad(aad, spi, esn, (u32)(sn >> 32), (u32)sn);
}

/* ---- CTEC (§4, §6 step 4) ---- */

/* The Next Header the SA implies, 0 when it is not fixed */
static u8 espx_diet_sa_nexthdr(const struct espx_diet_rule *r)
{
	if (espx_diet_inner_ip(r))
		return r->inner_family == 4 ? ESPX_DIET_IPPROTO_IPIP :
					      ESPX_DIET_IPPROTO_IPV6;
	return r->ts_proto;
}

static void espx_diet_ctec_shape(const struct espx_diet_rule *r,
				 struct espx_diet_ctec *t)
{
	t->padlen = 0;
	if (r->esp_trailer == ESPX_DIET_TRAILER_MANDATORY) {
		t->has_padlen = true;
		t->has_nh = true;
		return;
	}
	t->has_nh = !espx_diet_sa_nexthdr(r);
	t->has_padlen = r->alignment != ESPX_DIET_ALIGN_8 || r->blksize != 1;
}

/**
 * espx_diet_ctec_layout - the trailer of one packet (§4)
 * @r: the SA's rule
 * @payload_len: octets of IIPC output
 * @nexthdr: the payload's protocol (tunnel/BEET: 4 or 41)
 * @t: output
 *
 * ALIGN = max(alignment / 8, block size); with a Pad Length octet the
 * padding brings payload + padding + PadLen + NH to a multiple of ALIGN.
 *
 * Return: 0, or ESPX_DIET_DROP_NOMATCH when @nexthdr is not the one the SA
 * implies (the receiver would restore another one, or drop it).
 */
int espx_diet_ctec_layout(const struct espx_diet_rule *r, u32 payload_len,
			  u8 nexthdr, struct espx_diet_ctec *t)
{
	u8 sa_nh = espx_diet_sa_nexthdr(r);
	u32 align = 1u << r->alignment;

	if (sa_nh && nexthdr != sa_nh)
		return ESPX_DIET_DROP_NOMATCH;
	if (align < r->blksize)
		align = r->blksize;
	espx_diet_ctec_shape(r, t);
	if (t->has_padlen)
		t->padlen = (align - (payload_len % align + 1 + t->has_nh) %
				     align) % align;
	t->len = t->padlen + t->has_padlen + t->has_nh;
	return 0;
}

/**
 * espx_diet_ctec_build - write the trailer after the payload
 * @tail: output, @t->len octets
 * @t: the layout from espx_diet_ctec_layout()
 * @nexthdr: the payload's protocol
 */
void espx_diet_ctec_build(u8 *tail, const struct espx_diet_ctec *t,
			  u8 nexthdr)
{
	u32 i;

	for (i = 0; i < t->padlen; i++)
		tail[i] = (u8)(i + 1);
	if (t->has_padlen)
		tail[i++] = (u8)t->padlen;
	if (t->has_nh)
		tail[i] = nexthdr;
}

/**
 * espx_diet_ctec_strip - the payload length and NH of a decrypted packet
 * @r: the SA's rule
 * @ptlen: octets of plaintext
 * @last2: its last two octets, @last2[1] the final one; only the octets
 *	inside the plaintext are read (@last2[1] alone when @ptlen is 1)
 * @nexthdr: output, the sent Next Header or the SA's
 *
 * The padding octets are not checked (§4).
 *
 * Return: the payload length, ESPX_DIET_DROP_PADLEN or
 * ESPX_DIET_DROP_NEXTHDR.
 */
int espx_diet_ctec_strip(const struct espx_diet_rule *r, u32 ptlen,
			 const u8 *last2, u8 *nexthdr)
{
	u8 sa_nh = espx_diet_sa_nexthdr(r), nh = sa_nh;
	struct espx_diet_ctec t;
	u32 need, padlen = 0;

	espx_diet_ctec_shape(r, &t);
	need = t.has_padlen + t.has_nh;
	if (ptlen < need || ptlen > 0x7fffffff)
		return ESPX_DIET_DROP_PADLEN;
	if (t.has_nh) {
		nh = last2[1];
		if (sa_nh && nh != sa_nh)
			return ESPX_DIET_DROP_NEXTHDR;
	}
	if (t.has_padlen)
		padlen = last2[t.has_nh ? 0 : 1];
	if (padlen + need > ptlen)
		return ESPX_DIET_DROP_PADLEN;
	*nexthdr = nh;
	return (int)(ptlen - padlen - need);
}

/* ---- IIPC (§5, §6 step 5) ---- */

static int espx_diet_c_dscp(const struct espx_diet_rule *r,
			    struct espx_diet_bw *w, u8 dscp)
{
	u32 i;

	switch (r->dscp_cda) {
	case ESPX_DIET_DSCP_SENT:
		espx_diet_put(w, dscp, 6);
		return 0;
	case ESPX_DIET_DSCP_SA:
		for (i = 0; i < r->dscp_count; i++) {
			if (r->dscp_list[i] == dscp) {
				espx_diet_put(w, i, r->dscp_bits);
				return 0;
			}
		}
		return ESPX_DIET_DROP_NOMATCH;
	}
	return 0;
}

static u8 espx_diet_d_dscp(const struct espx_diet_rule *r,
			   struct espx_diet_br *b,
			   const struct espx_diet_lower *lower, int *err)
{
	u32 i;

	switch (r->dscp_cda) {
	case ESPX_DIET_DSCP_SENT:
		return (u8)espx_diet_get(b, 6);
	case ESPX_DIET_DSCP_SA:
		i = espx_diet_get(b, r->dscp_bits);
		if (i < r->dscp_count)
			return r->dscp_list[i];
		if (!b->err)
			*err = ESPX_DIET_DROP_DSCP_INDEX;
		return 0;
	}
	return lower->dscp & 0x3f;
}

static void espx_diet_c_ecn(const struct espx_diet_rule *r,
			    struct espx_diet_bw *w, u8 ecn)
{
	if (r->ecn_cda == ESPX_DIET_ECN_SENT)
		espx_diet_put(w, ecn, 2);
}

static u8 espx_diet_d_ecn(const struct espx_diet_rule *r,
			  struct espx_diet_br *b,
			  const struct espx_diet_lower *lower)
{
	if (r->ecn_cda == ESPX_DIET_ECN_SENT)
		return (u8)espx_diet_get(b, 2);
	return lower->ecn & 3;
}

/* What the outer header can carry of a flow label or IPv4 ID: IPv6 20 bits,
 * IPv4 16 (the Identification)
 */
static u32 espx_diet_outer_flow(const struct espx_diet_rule *r, u32 v)
{
	return v & (r->outer_family == 4 ? 0xffff : 0xfffff);
}

/* Flow Label (IPv6, 20 bits) or Identification (IPv4, 16 bits) */
static void espx_diet_c_flow(const struct espx_diet_rule *r,
			     struct espx_diet_bw *w, u32 v, u32 width,
			     struct espx_diet_lower *lower)
{
	lower->flow = espx_diet_outer_flow(r, v);
	if (r->flow_label_cda == ESPX_DIET_FL_SENT)
		espx_diet_put(w, v, width);
}

static u32 espx_diet_d_flow(const struct espx_diet_rule *r,
			    struct espx_diet_br *b, u32 width,
			    const struct espx_diet_lower *lower)
{
	u32 mask = (u32)espx_diet_mask(width);

	switch (r->flow_label_cda) {
	case ESPX_DIET_FL_SENT:
		return espx_diet_get(b, width);
	case ESPX_DIET_FL_LOWER:
		return espx_diet_outer_flow(r, lower->flow) & mask;
	case ESPX_DIET_FL_GENERATED:
		return lower->flow_gen & mask;
	}
	return 0;
}

static int espx_diet_c_proto(const struct espx_diet_rule *r,
			     struct espx_diet_bw *w, u8 proto)
{
	if (!r->ts_proto)
		espx_diet_put(w, proto, 8);
	else if (proto != r->ts_proto)
		return ESPX_DIET_DROP_NOMATCH;
	return 0;
}

static u8 espx_diet_d_proto(const struct espx_diet_rule *r,
			    struct espx_diet_br *b)
{
	return r->ts_proto ? r->ts_proto : (u8)espx_diet_get(b, 8);
}

static int espx_diet_c_addrs(const struct espx_diet_rule *r,
			     struct espx_diet_bw *w, const u8 *src,
			     const u8 *dst)
{
	u32 n = espx_diet_addr_len(r->inner_family);

	if (!espx_diet_pfx_match(src, r->src_start, r->src_plen) ||
	    !espx_diet_pfx_match(dst, r->dst_start, r->dst_plen))
		return ESPX_DIET_DROP_NOMATCH;
	espx_diet_put_tail(w, src, n, r->src_plen);
	espx_diet_put_tail(w, dst, n, r->dst_plen);
	return 0;
}

static void espx_diet_d_addrs(const struct espx_diet_rule *r,
			      struct espx_diet_br *b, u8 *src, u8 *dst)
{
	u32 n = espx_diet_addr_len(r->inner_family);

	espx_diet_get_tail(b, src, r->src_start, n, r->src_plen);
	espx_diet_get_tail(b, dst, r->dst_start, n, r->dst_plen);
}

/* Inner IPv6 header, tunnel and BEET modes */
static int espx_diet_c_ip6(const struct espx_diet_rule *r, const u8 *p,
			   u32 avail, u32 len, struct espx_diet_bw *w,
			   struct espx_diet_lower *lower,
			   struct espx_diet_iipc *out)
{
	u8 dscp, ecn;
	int err;

	/* a length other than the packet's (e.g. a jumbogram) comes back
	 * different: refuse it rather than change the packet
	 */
	if (avail < 40 || len < 40 || p[0] >> 4 != 6 ||
	    espx_codec_be16(p + 4) != len - 40)
		return ESPX_DIET_DROP_NOMATCH;
	dscp = (u8)((p[0] & 0x0f) << 2 | p[1] >> 6);
	ecn = (p[1] >> 4) & 3;
	lower->dscp = dscp;
	lower->ecn = ecn;
	lower->hop_limit = p[7];
	err = espx_diet_c_dscp(r, w, dscp);
	if (err)
		return err;
	espx_diet_c_ecn(r, w, ecn);
	espx_diet_c_flow(r, w, (u32)(p[1] & 0x0f) << 16 | espx_codec_be16(p + 2),
			 20, lower);
	err = espx_diet_c_proto(r, w, p[6]);
	if (err)
		return err;
	out->l3_len = 40;
	out->proto = p[6];
	return espx_diet_c_addrs(r, w, p + 8, p + 24);
}

static int espx_diet_d_ip6(const struct espx_diet_rule *r,
			   struct espx_diet_br *b,
			   const struct espx_diet_lower *lower, u8 *h,
			   struct espx_diet_iipc *out)
{
	u32 dscp, ecn, fl;
	int err = 0;

	dscp = espx_diet_d_dscp(r, b, lower, &err);
	ecn = espx_diet_d_ecn(r, b, lower);
	fl = espx_diet_d_flow(r, b, 20, lower);
	out->proto = espx_diet_d_proto(r, b);
	h[0] = (u8)(0x60 | dscp >> 2);
	h[1] = (u8)((dscp & 3) << 6 | ecn << 4 | fl >> 16);
	espx_codec_put_be16(h + 2, fl);
	h[6] = out->proto;
	h[7] = lower->hop_limit;
	espx_diet_d_addrs(r, b, h + 8, h + 24);
	out->l3_len = 40;
	return err;
}

/* Inner IPv4 header, tunnel and BEET modes */
static int espx_diet_c_ip4(const struct espx_diet_rule *r, const u8 *p,
			   u32 avail, u32 len, struct espx_diet_bw *w,
			   struct espx_diet_lower *lower,
			   struct espx_diet_iipc *out)
{
	int err;

	/* [DECISION] options are not compressible */
	if (avail < 20 || len < 20 || p[0] != 0x45 ||
	    espx_codec_be16(p + 2) != len)
		return ESPX_DIET_DROP_NOMATCH;
	lower->dscp = p[1] >> 2;
	lower->ecn = p[1] & 3;
	lower->hop_limit = p[8];
	espx_diet_put(w, 5, 4);
	err = espx_diet_c_dscp(r, w, p[1] >> 2);
	if (err)
		return err;
	espx_diet_c_ecn(r, w, p[1] & 3);
	espx_diet_c_flow(r, w, espx_codec_be16(p + 4), 16, lower);
	espx_diet_put(w, espx_codec_be16(p + 6), 16);
	err = espx_diet_c_proto(r, w, p[9]);
	if (err)
		return err;
	out->l3_len = 20;
	out->proto = p[9];
	return espx_diet_c_addrs(r, w, p + 12, p + 16);
}

static int espx_diet_d_ip4(const struct espx_diet_rule *r,
			   struct espx_diet_br *b,
			   const struct espx_diet_lower *lower, u8 *h,
			   struct espx_diet_iipc *out)
{
	u32 ihl, dscp, ecn, id, frag;
	int err = 0;

	ihl = espx_diet_get(b, 4);
	dscp = espx_diet_d_dscp(r, b, lower, &err);
	ecn = espx_diet_d_ecn(r, b, lower);
	id = espx_diet_d_flow(r, b, 16, lower);
	frag = espx_diet_get(b, 16);
	out->proto = espx_diet_d_proto(r, b);
	if (ihl != 5 && !b->err && !err)
		err = ESPX_DIET_DROP_IHL;
	h[0] = 0x45;
	h[1] = (u8)(dscp << 2 | ecn);
	espx_codec_put_be16(h + 4, id);
	espx_codec_put_be16(h + 6, frag);
	h[8] = lower->hop_limit;
	h[9] = out->proto;
	espx_diet_d_addrs(r, b, h + 12, h + 16);
	out->l3_len = 20;
	return err;
}

/* A non-first IPv4 fragment has no L4 header and the first one a partial
 * payload: both keep their L4 octets in the Payload (the flags and offset
 * are sent, so the receiver knows).
 */
static bool espx_diet_l4_fragment(const struct espx_diet_rule *r,
				  const u8 *h)
{
	return espx_diet_inner_ip(r) && r->inner_family == 4 &&
	       (espx_codec_be16(h + 6) & 0x3fff);
}

static int espx_diet_c_ports(const struct espx_diet_rule *r,
			     struct espx_diet_bw *w, const u8 *p)
{
	u16 sport = espx_codec_be16(p), dport = espx_codec_be16(p + 2);

	if (!espx_diet_port_match(sport, r->sport_start, r->sport_plen) ||
	    !espx_diet_port_match(dport, r->dport_start, r->dport_plen))
		return ESPX_DIET_DROP_NOMATCH;
	espx_diet_put(w, sport, 16 - r->sport_plen);
	espx_diet_put(w, dport, 16 - r->dport_plen);
	return 0;
}

static void espx_diet_d_ports(const struct espx_diet_rule *r,
			      struct espx_diet_br *b, u8 *h)
{
	u32 s = 16 - r->sport_plen, d = 16 - r->dport_plen;
	u32 sport = (r->sport_start & ~(u32)espx_diet_mask(s)) |
		    espx_diet_get(b, s);
	u32 dport = (r->dport_start & ~(u32)espx_diet_mask(d)) |
		    espx_diet_get(b, d);

	espx_codec_put_be16(h, sport);
	espx_codec_put_be16(h + 2, dport);
}

/* UDP or TCP at @p, @len octets of segment; other protocols pass */
static int espx_diet_c_l4(const struct espx_diet_rule *r, const u8 *p,
			  u32 avail, u32 len, struct espx_diet_bw *w,
			  struct espx_diet_iipc *out)
{
	u32 doff;
	int err;

	switch (out->proto) {
	case ESPX_DIET_IPPROTO_UDP:
		if (avail < 8 || len < 8 || espx_codec_be16(p + 4) != len)
			return ESPX_DIET_DROP_NOMATCH;
		err = espx_diet_c_ports(r, w, p);
		if (err)
			return err;
		out->l4_len = 8;
		return 0;
	case ESPX_DIET_IPPROTO_TCP:
		if (avail < 20 || len < 20)
			return ESPX_DIET_DROP_NOMATCH;
		doff = p[12] >> 4;
		if (doff < 5 || doff * 4 > len)
			return ESPX_DIET_DROP_NOMATCH;
		err = espx_diet_c_ports(r, w, p);
		if (err)
			return err;
		/* sequence, acknowledgment, offset + flags, window */
		espx_diet_put(w, (u32)espx_codec_be16(p + 4) << 16 |
				 espx_codec_be16(p + 6), 32);
		espx_diet_put(w, (u32)espx_codec_be16(p + 8) << 16 |
				 espx_codec_be16(p + 10), 32);
		espx_diet_put(w, espx_codec_be16(p + 12), 16);
		espx_diet_put(w, espx_codec_be16(p + 14), 16);
		espx_diet_put(w, espx_codec_be16(p + 18), 16);
		out->l4_len = 20;
		return 0;
	}
	return 0;
}

static void espx_diet_d_l4(const struct espx_diet_rule *r,
			   struct espx_diet_br *b, u8 *h,
			   struct espx_diet_iipc *out)
{
	u32 i;

	switch (out->proto) {
	case ESPX_DIET_IPPROTO_UDP:
		espx_diet_d_ports(r, b, h);
		out->l4_len = 8;
		return;
	case ESPX_DIET_IPPROTO_TCP:
		espx_diet_d_ports(r, b, h);
		for (i = 4; i < 16; i += 2)
			espx_codec_put_be16(h + i, espx_diet_get(b, 16));
		espx_codec_put_be16(h + 18, espx_diet_get(b, 16));
		out->l4_len = 20;
		return;
	}
}

/**
 * espx_diet_iipc_compress - compress the inner headers of one packet (§5)
 * @r: the SA's rule
 * @pkt: tunnel/BEET: the inner IP packet; transport: the L4 segment
 * @avail: linear octets at @pkt, at least min(@len, ESPX_DIET_HDR_MAX)
 * @len: octets of the packet (or segment)
 * @proto: transport mode: the L4 protocol (the trailer's NH); else unused
 * @res: output, the residue (@out->res_len octets)
 * @lower: output, the inner values the outer header carries
 * @out: output, the shape: @hdr_len octets of @pkt are replaced by @res_len
 *	octets of @res (@res_len <= @hdr_len always)
 *
 * Checksums are not verified: the receiver recomputes them, like the
 * lengths. With iipc_profile not_compressed nothing is replaced.
 *
 * Return: 0 or ESPX_DIET_DROP_NOMATCH.
 */
int espx_diet_iipc_compress(const struct espx_diet_rule *r, const u8 *pkt,
			    u32 avail, u32 len, u8 proto,
			    u8 res[ESPX_DIET_RES_MAX],
			    struct espx_diet_lower *lower,
			    struct espx_diet_iipc *out)
{
	struct espx_diet_bw w = { .p = res, .cap = ESPX_DIET_RES_MAX };
	int err;

	memset(out, 0, sizeof(*out));
	memset(lower, 0, sizeof(*lower));
	if (avail > len)
		avail = len;
	if (r->iipc_profile == ESPX_DIET_IIPC_NONE) {
		out->plen = len;
		return 0;
	}
	if (!espx_diet_inner_ip(r)) {
		if (r->ts_proto && proto != r->ts_proto)
			return ESPX_DIET_DROP_NOMATCH;
		out->proto = proto;
		err = 0;
	} else if (r->inner_family == 6) {
		err = espx_diet_c_ip6(r, pkt, avail, len, &w, lower, out);
	} else {
		err = espx_diet_c_ip4(r, pkt, avail, len, &w, lower, out);
	}
	if (!err && !(out->l3_len && espx_diet_l4_fragment(r, pkt)))
		err = espx_diet_c_l4(r, pkt + out->l3_len, avail - out->l3_len,
				     len - out->l3_len, &w, out);
	espx_diet_flush(&w);
	if (err || w.over)
		return ESPX_DIET_DROP_NOMATCH;
	out->hdr_len = out->l3_len + out->l4_len;
	out->res_len = w.len;
	out->plen = len - out->hdr_len;
	return 0;
}

/* Lengths of the rebuilt headers; the checksums come later */
static int espx_diet_d_lengths(u8 *hdr, const struct espx_diet_iipc *st)
{
	u8 *h4 = hdr + st->l3_len;
	u32 l4, doff = h4[12] >> 4;

	if (!st->hdr_len)
		return 0;
	/* IPv6 Payload Length excludes its header, IPv4 Total Length not */
	if (st->plen > 0xffff)
		return ESPX_DIET_DROP_LENGTH;
	l4 = st->l4_len + st->plen;
	if (l4 > 0xffff || (st->l3_len == 20 && l4 > 0xffff - 20))
		return ESPX_DIET_DROP_LENGTH;
	/* the options, in the Payload, must be there */
	if (st->l4_len == 20 && (doff < 5 || doff * 4 > l4))
		return ESPX_DIET_DROP_TCP_DOFF;
	if (st->l4_len == 8)
		espx_codec_put_be16(h4 + 4, l4);
	if (st->l3_len == 40)
		espx_codec_put_be16(hdr + 4, l4);
	if (st->l3_len == 20) {
		espx_codec_put_be16(hdr + 2, 20 + l4);
		espx_codec_put_be16(hdr + 10, 0);
		espx_codec_put_be16(hdr + 10,
				    (u16)~espx_diet_csum_add(0, hdr, 20));
	}
	return 0;
}

/**
 * espx_diet_iipc_decompress - rebuild the inner headers of one packet
 * @r: the SA's rule
 * @in: the CTEC payload: residue, 0-7 zero bits, Payload
 * @avail: linear octets at @in, at least min(@len, ESPX_DIET_RES_MAX)
 * @len: octets of CTEC payload
 * @proto: transport mode: the NH from espx_diet_ctec_strip(); else unused
 * @lower: the received outer header's values
 * @hdr: output, @out->hdr_len octets of header to put in place of the
 *	@out->res_len octets of residue
 * @out: output, the shape
 *
 * Lengths and the IPv4 header checksum are final; the L4 checksum field
 * still needs espx_diet_iipc_csum() once the payload is summed.
 *
 * Return: 0 or a negative enum espx_diet_drop.
 */
int espx_diet_iipc_decompress(const struct espx_diet_rule *r, const u8 *in,
			      u32 avail, u32 len, u8 proto,
			      const struct espx_diet_lower *lower,
			      u8 hdr[ESPX_DIET_HDR_MAX],
			      struct espx_diet_iipc *out)
{
	struct espx_diet_br b;
	u32 lim = len;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (r->iipc_profile == ESPX_DIET_IIPC_NONE) {
		out->plen = len;
		return 0;
	}
	if (lim > avail)
		lim = avail;
	if (lim > ESPX_DIET_RES_MAX)
		lim = ESPX_DIET_RES_MAX;
	espx_diet_br_init(&b, in, lim, 8 * lim);
	memset(hdr, 0, ESPX_DIET_HDR_MAX);
	if (!espx_diet_inner_ip(r))
		out->proto = proto;
	else if (r->inner_family == 6)
		err = espx_diet_d_ip6(r, &b, lower, hdr, out);
	else
		err = espx_diet_d_ip4(r, &b, lower, hdr, out);
	if (!(out->l3_len && espx_diet_l4_fragment(r, hdr)))
		espx_diet_d_l4(r, &b, hdr + out->l3_len, out);
	if (b.err)
		return ESPX_DIET_DROP_RESIDUE;
	if (err)
		return err;
	if (b.pos & 7 && espx_diet_get(&b, 8 - (b.pos & 7)))
		return ESPX_DIET_DROP_RESIDUE_PAD;
	out->res_len = b.pos / 8;
	out->hdr_len = out->l3_len + out->l4_len;
	out->plen = len - out->res_len;
	return espx_diet_d_lengths(hdr, out);
}

/* Big-endian 32-bit words of @p added to @s, unfolded: 2^16 = 1 modulo
 * 2^16 - 1, so the halves of a word need no separate adding, and one fold
 * at the end serves any number of calls.
 */
static u64 espx_diet_sum(u64 s, const u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i += 4)
		s += espx_codec_be32(p + i);
	if (len & 2) {
		s += espx_codec_be16(p + i);
		i += 2;
	}
	if (len & 1)
		s += (u32)p[i] << 8;
	return s;
}

static u16 espx_diet_fold(u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (u16)s;
}

/**
 * espx_diet_csum_add - add octets to a one's-complement sum (RFC 1071)
 * @sum: the sum so far (folded, not inverted)
 * @p: octets, taken as starting at an even offset
 * @len: their number
 *
 * Return: the folded 16-bit sum.
 */
u16 espx_diet_csum_add(u16 sum, const u8 *p, size_t len)
{
	return espx_diet_fold(espx_diet_sum(sum, p, len));
}

/**
 * espx_diet_iipc_csum - write the L4 checksum of a rebuilt header
 * @r: the SA's rule
 * @hdr: the header from espx_diet_iipc_decompress()
 * @st: its shape
 * @saddr: transport mode: the IP header's source (outer family); else unused
 * @daddr: transport mode: the IP header's destination
 * @payload_sum: espx_diet_csum_add(0, payload, @st->plen), or the same
 *	value from the kernel's checksum helpers
 *
 * A UDP checksum of 0 is sent as ffff (RFC 768), so a datagram that had
 * none comes back with a valid one (§5).
 */
void espx_diet_iipc_csum(const struct espx_diet_rule *r, u8 *hdr,
			 const struct espx_diet_iipc *st, const u8 *saddr,
			 const u8 *daddr, u16 payload_sum)
{
	u32 l4len = st->l4_len + st->plen, alen, off;
	u8 *l4 = hdr + st->l3_len;
	u64 sum;
	u16 s;

	if (!st->l4_len)
		return;
	if (st->l3_len == 40) {
		saddr = hdr + 8;
		daddr = hdr + 24;
	} else if (st->l3_len == 20) {
		saddr = hdr + 12;
		daddr = hdr + 16;
	}
	/* transport: inner = outer family; BEET: the rebuilt inner header */
	alen = espx_diet_addr_len(r->inner_family);
	off = st->l4_len == 8 ? 6 : 16;
	espx_codec_put_be16(l4 + off, 0);
	/* the pseudo-header's length (IPv4: 16 bits, IPv6: 32) and 0 | proto
	 * sum as numbers: the modulus makes the word boundaries irrelevant
	 */
	sum = payload_sum + (u64)l4len + st->proto;
	sum = espx_diet_sum(sum, saddr, alen);
	sum = espx_diet_sum(sum, daddr, alen);
	sum = espx_diet_sum(sum, l4, st->l4_len);
	s = (u16)~espx_diet_fold(sum);
	if (!s && st->l4_len == 8)
		s = 0xffff;
	espx_codec_put_be16(l4 + off, s);
}
