// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free WESPv2 header codec; see wesp_codec.h. Built into the module
 * as its own object and into the userspace unit tests and fuzzers.
 */
#include "wesp_codec.h"

/* Alignment of the ESP header relative to the outer IP header (§2) */
static u32 espx_wesp_align(bool ipv6)
{
	return ipv6 ? 8 : 4;
}

/**
 * espx_wesp_optlen - OptLen a sender uses (§3)
 * @ipv6: outer family is IPv6
 * @subsa: the SA has counters
 *
 * Option 27 is 4 octets, which aligns the ESP header on both families; an
 * IPv6 SA without counters needs a 4-octet PadN instead; IPv4 needs nothing.
 *
 * Return: 0 or 4.
 */
u32 espx_wesp_optlen(bool ipv6, bool subsa)
{
	if (subsa || ipv6)
		return ESPX_WESP_SUBSA_OPT_LEN;
	return 0;
}

/**
 * espx_wesp_crypt_offset - CryptOffset of one packet (§4 [DECISION])
 * @sa_max: the SA's configured CryptOffset
 * @payload_len: octets of payload (no padding, no TFC)
 *
 * The clear octets must not run past the payload, so a short packet sends
 * fewer clear words than the SA allows.
 *
 * Return: min(@sa_max, @payload_len / 4, 63).
 */
u32 espx_wesp_crypt_offset(u32 sa_max, u32 payload_len)
{
	u32 c = payload_len / 4;

	if (c > sa_max)
		c = sa_max;
	if (c > ESPX_WESP_CRYPT_OFFSET_MAX)
		c = ESPX_WESP_CRYPT_OFFSET_MAX;
	return c;
}

/**
 * espx_wesp_build - write a WESPv2 header and its options (§2, §3, §6)
 * @buf: output, the octets in front of the ESP header
 * @buflen: octets available at @buf
 * @p: the packet's parameters
 *
 * NH = 59 when CryptOffset is 0, else the trailer's Next Header; HdrLen =
 * 4 + OptLen + 8 + ivlen; R = 0; V = 01. Options: `1b 02 <id>` on a counter
 * SA, else PadN `01 02 00 00` on IPv6.
 *
 * Return: octets written (4 + OptLen), ESPX_CODEC_EINVAL for a CryptOffset
 * above 63 or an IV length giving an invalid HdrLen, or ESPX_CODEC_ESPACE.
 */
int espx_wesp_build(u8 *buf, size_t buflen, const struct espx_wesp_tx *p)
{
	u32 optlen = espx_wesp_optlen(p->ipv6, p->subsa);
	u32 len = ESPX_WESP_BASE_LEN + optlen;
	u32 hdrlen = len + ESPX_ESP_HDR_LEN + p->ivlen;

	if (p->crypt_offset > ESPX_WESP_CRYPT_OFFSET_MAX || hdrlen > 255 ||
	    hdrlen % espx_wesp_align(p->ipv6))
		return ESPX_CODEC_EINVAL;
	if (buflen < len)
		return ESPX_CODEC_ESPACE;

	buf[0] = p->crypt_offset ? p->nexthdr : ESPX_IPPROTO_NONE;
	buf[1] = (u8)hdrlen;
	buf[2] = (u8)(p->crypt_offset << ESPX_WESP_CO_SHIFT);
	buf[3] = (u8)(ESPX_WESP_V2 | optlen);
	if (p->subsa) {
		buf[4] = ESPX_WESP_OPT_SUBSA;
		buf[5] = 2;
		espx_codec_put_be16(buf + 6, p->subsa_id);
	} else if (optlen) {
		buf[4] = ESPX_WESP_OPT_PADN;
		buf[5] = (u8)(optlen - 2);
		memset(buf + 6, 0, optlen - 2);
	}
	return (int)len;
}

/* One option TLV (not Pad1) at offset @off of the options area, its data
 * known to lie inside it.
 */
static int espx_wesp_opt(const u8 *o, u32 off, struct espx_wesp_hdr *h)
{
	u32 i;

	/* authenticated options cannot change en route */
	if (o[0] & ESPX_WESP_OPT_MUTABLE)
		return ESPX_WESP_DROP_OPT_MUTABLE;

	switch (o[0]) {
	case ESPX_WESP_OPT_PADN:
		/* [DECISION] non-zero padding could be a covert channel */
		for (i = 0; i < o[1]; i++)
			if (o[2 + i])
				return ESPX_WESP_DROP_PADN_NONZERO;
		return 0;
	case ESPX_WESP_OPT_SUBSA:
		if (o[1] != 2)
			return ESPX_WESP_DROP_SUBSA_LEN;
		if (h->subsa)
			return ESPX_WESP_DROP_SUBSA_DUP;
		if (off)
			return ESPX_WESP_DROP_SUBSA_POS;
		h->subsa = true;
		h->subsa_id = espx_codec_be16(o + 2);
		return 0;
	}
	/* unknown: action 00 skips, the rest drop (espx sends no ICMP) */
	if (o[0] & ESPX_WESP_OPT_ACTION)
		return ESPX_WESP_DROP_OPT_UNKNOWN;
	return 0;
}

/* Walk the options strictly in order (§3, §7 step 3). */
static int espx_wesp_opts(const u8 *opt, u32 optlen, struct espx_wesp_hdr *h)
{
	u32 off = 0;
	int err;

	while (off < optlen) {
		if (opt[off] == ESPX_WESP_OPT_PAD1) {
			off++;
			continue;
		}
		if (optlen - off < 2 || opt[off + 1] > optlen - off - 2)
			return ESPX_WESP_DROP_OPT_TRUNC;
		err = espx_wesp_opt(opt + off, off, h);
		if (err)
			return err;
		off += 2 + opt[off + 1];
	}
	return 0;
}

/**
 * espx_wesp_parse - receiver checks that need no SA (§7 steps 1-3)
 * @pkt: the WESPv2 header, first octet after the outer IP header chain
 * @len: octets readable at @pkt
 * @ipv6: outer family is IPv6
 * @out: result; valid only on success
 *
 * Checks the length up to and including the ESP header, V = 01, the ESP
 * header's alignment, and walks the options: Pad1, PadN (all-zero data),
 * option 27 (data length 2, first, at most once), unknown types by their
 * action bits; any type with the may-change bit set is dropped.
 *
 * Return: 0, or a negative enum espx_wesp_drop.
 */
int espx_wesp_parse(const u8 *pkt, size_t len, bool ipv6,
		    struct espx_wesp_hdr *out)
{
	u32 optlen, hlen;

	if (len < ESPX_WESP_BASE_LEN)
		return ESPX_WESP_DROP_TRUNC;
	if ((pkt[3] & ESPX_WESP_V_MASK) != ESPX_WESP_V2)
		return ESPX_WESP_DROP_VERSION;
	optlen = pkt[3] & ESPX_WESP_OPTLEN_MASK;
	hlen = ESPX_WESP_BASE_LEN + optlen;
	if (len < hlen + ESPX_ESP_HDR_LEN)
		return ESPX_WESP_DROP_TRUNC;
	if (hlen % espx_wesp_align(ipv6))
		return ESPX_WESP_DROP_ALIGN;

	memset(out, 0, sizeof(*out));
	out->nexthdr = pkt[0];
	out->hdrlen = pkt[1];
	out->crypt_offset = pkt[2] >> ESPX_WESP_CO_SHIFT;
	out->rsvd = pkt[2] & ESPX_WESP_R_MASK;
	out->optlen = (u8)optlen;
	out->len = (u8)hlen;
	return espx_wesp_opts(pkt + ESPX_WESP_BASE_LEN, optlen, out);
}

/**
 * espx_wesp_check_sa - receiver checks of a parsed header against its SA
 * @h: from espx_wesp_parse()
 * @sa: the SA the SPI named
 * @avail: octets from the start of the WESPv2 header to the end of the
 *	   packet (ICV included)
 *
 * §7 steps 5-7: HdrLen >= 12, a multiple of 4 (IPv6: of 8) and equal to
 * 4 + OptLen + 8 + ivlen; CryptOffset <= the SA's; CryptOffset 0 implies
 * NH 59; the clear octets, a minimal encrypted part (4) and the ICV fit in
 * @avail; option 27 present exactly on counter SAs, with an id below N.
 *
 * Return: 0, or a negative enum espx_wesp_drop.
 */
int espx_wesp_check_sa(const struct espx_wesp_hdr *h,
		       const struct espx_wesp_sa *sa, u32 avail)
{
	u32 want = (u32)h->len + ESPX_ESP_HDR_LEN + sa->ivlen;
	u32 need;

	if (h->hdrlen < ESPX_WESP_HDRLEN_MIN ||
	    h->hdrlen % espx_wesp_align(sa->ipv6) || h->hdrlen != want)
		return ESPX_WESP_DROP_HDRLEN;
	if (h->crypt_offset > sa->crypt_offset_max)
		return ESPX_WESP_DROP_CRYPT_OFFSET;
	if (!h->crypt_offset && h->nexthdr != ESPX_IPPROTO_NONE)
		return ESPX_WESP_DROP_NEXTHDR;
	need = h->hdrlen + 4 * (u32)h->crypt_offset + 4 + sa->icvlen;
	if (need > avail)
		return ESPX_WESP_DROP_SHORT;
	if (h->subsa && !sa->counters)
		return ESPX_WESP_DROP_SUBSA_UNEXPECTED;
	if (!h->subsa && sa->counters)
		return ESPX_WESP_DROP_SUBSA_MISSING;
	if (h->subsa && h->subsa_id >= sa->counters)
		return ESPX_WESP_DROP_SUBSA_RANGE;
	return 0;
}

/**
 * espx_wesp_trailer_check - receiver check after decryption (§7 step 9)
 * @elen: E, the decrypted octets after the clear octets (ICV excluded);
 *	  below 2^31 - 256
 * @padlen: the decrypted Pad Length octet
 * @trailer_nh: the decrypted Next Header octet
 * @crypt_offset: the header's CryptOffset
 * @wesp_nh: the header's Next Header
 *
 * Unlike plain ESP, an empty encrypted payload is valid: a packet whose
 * payload fits entirely in the clear octets encrypts only the trailer.
 *
 * Return: the inner length 4 * CryptOffset + E - PadLen - 2, or a negative
 * enum espx_wesp_drop.
 */
int espx_wesp_trailer_check(u32 elen, u8 padlen, u8 trailer_nh,
			    u32 crypt_offset, u8 wesp_nh)
{
	if ((u32)padlen + ESPX_ESP_TRAILER_MIN > elen)
		return ESPX_WESP_DROP_PADLEN;
	if (crypt_offset && trailer_nh != wesp_nh)
		return ESPX_WESP_DROP_TRAILER_NH;
	return (int)(4 * crypt_offset + elen - padlen - ESPX_ESP_TRAILER_MIN);
}

/**
 * espx_wesp_drop_name - stable name of a drop reason
 * @reason: a negative enum espx_wesp_drop
 *
 * The names are the netlink statistic names: never rename one.
 *
 * Return: a snake_case name, or "unknown" for anything else.
 */
const char *espx_wesp_drop_name(int reason)
{
	static const char * const names[ESPX_WESP_DROP_NR] = {
		[-1 - ESPX_WESP_DROP_TRUNC] = "wesp_truncated",
		[-1 - ESPX_WESP_DROP_VERSION] = "wesp_version",
		[-1 - ESPX_WESP_DROP_ALIGN] = "wesp_align",
		[-1 - ESPX_WESP_DROP_OPT_TRUNC] = "wesp_opt_truncated",
		[-1 - ESPX_WESP_DROP_PADN_NONZERO] = "wesp_padn_nonzero",
		[-1 - ESPX_WESP_DROP_OPT_MUTABLE] = "wesp_opt_mutable",
		[-1 - ESPX_WESP_DROP_OPT_UNKNOWN] = "wesp_opt_unknown",
		[-1 - ESPX_WESP_DROP_SUBSA_LEN] = "wesp_subsa_len",
		[-1 - ESPX_WESP_DROP_SUBSA_DUP] = "wesp_subsa_dup",
		[-1 - ESPX_WESP_DROP_SUBSA_POS] = "wesp_subsa_position",
		[-1 - ESPX_WESP_DROP_HDRLEN] = "wesp_hdrlen",
		[-1 - ESPX_WESP_DROP_CRYPT_OFFSET] = "wesp_crypt_offset",
		[-1 - ESPX_WESP_DROP_NEXTHDR] = "wesp_nexthdr",
		[-1 - ESPX_WESP_DROP_SHORT] = "wesp_short",
		[-1 - ESPX_WESP_DROP_SUBSA_MISSING] = "wesp_subsa_missing",
		[-1 - ESPX_WESP_DROP_SUBSA_UNEXPECTED] = "wesp_subsa_unexpected",
		[-1 - ESPX_WESP_DROP_SUBSA_RANGE] = "subsa_id_range",
		[-1 - ESPX_WESP_DROP_TRAILER_NH] = "wesp_trailer_nexthdr",
		[-1 - ESPX_WESP_DROP_PADLEN] = "wesp_padlen",
	};

	if (reason >= 0 || reason < -ESPX_WESP_DROP_NR)
		return "unknown";
	return names[-1 - reason];
}

/**
 * espx_wesp_aad_clear_off - where the clear octets start in the AAD
 * @wesp_len: 4 + OptLen of the header
 * @with_snhi: as for espx_wesp_aad()
 *
 * Return: their offset from the start of the AAD.
 */
u32 espx_wesp_aad_clear_off(u32 wesp_len, bool with_snhi)
{
	return wesp_len + ESPX_ESP_HDR_LEN + (with_snhi ? 4 : 0);
}

/**
 * espx_wesp_aad - build the WESPv2 AAD (§5 [DECISION])
 * @aad: output
 * @aadlen: octets available at @aad
 * @wesp_hdr: the WESPv2 header and options as sent
 * @wesp_len: their length, 4 + OptLen of @wesp_hdr
 * @spi_be_raw: the SPI octets as on the wire (copied, not swapped)
 * @with_snhi: the SA uses ESN or counters
 * @snhi: high 32 bits of the sequence number (host order)
 * @snlo: low 32 bits, the SN field (host order)
 * @clear: the clear octets after the IV; they may already stand where the
 *	AAD wants them (@aad + espx_wesp_aad_clear_off()): a caller whose
 *	packet is not linear copies them there and passes that place
 * @clearlen: their length, 4 * CryptOffset of @wesp_hdr
 *
 * AAD = header | SPI | [SNhi |] SNlo | clear octets; the IV is not part of
 * it (it is in the nonce). SPI to SNlo are espx_esp_aad()'s.
 *
 * Return: the AAD length (at most ESPX_WESP_AAD_MAX), ESPX_CODEC_EINVAL if
 * @wesp_len or @clearlen disagree with the header, or ESPX_CODEC_ESPACE.
 */
int espx_wesp_aad(u8 *aad, size_t aadlen, const u8 *wesp_hdr, u32 wesp_len,
		  u32 spi_be_raw, bool with_snhi, u32 snhi, u32 snlo,
		  const u8 *clear, u32 clearlen)
{
	u32 n = espx_wesp_aad_clear_off(wesp_len, with_snhi) + clearlen;
	u8 *p = aad;

	if (wesp_len < ESPX_WESP_BASE_LEN ||
	    wesp_len != ESPX_WESP_BASE_LEN + espx_wesp_hdr_optlen(wesp_hdr) ||
	    clearlen != 4 * espx_wesp_hdr_crypt_offset(wesp_hdr))
		return ESPX_CODEC_EINVAL;
	if (aadlen < n)
		return ESPX_CODEC_ESPACE;

	memcpy(p, wesp_hdr, wesp_len);
	p += wesp_len;
	p += espx_esp_aad(p, espx_codec_be32((const u8 *)&spi_be_raw),
			  with_snhi, snhi, snlo);
	if (clearlen && p != clear)
		memcpy(p, clear, clearlen);
	return (int)n;
}

/**
 * espx_wesp_iv_counter - IV of a counter SA (multi-counters.md §3)
 * @iv: output, ESPX_WESP_IVLEN octets
 * @id: counter id
 * @seq: that counter's sequence number, 1..2^48 - 1
 *
 * IV = be16(id) | be48(seq): all counters share one key, so (id, seq) is
 * what keeps nonces unique, and seq must fit in 48 bits.
 *
 * Return: 0, or ESPX_CODEC_EINVAL for @seq 0 or above 2^48 - 1.
 */
int espx_wesp_iv_counter(u8 *iv, u16 id, u64 seq)
{
	if (!seq || seq > ESPX_WESP_SEQ_MAX)
		return ESPX_CODEC_EINVAL;
	espx_codec_put_be16(iv, id);
	espx_codec_put_be16(iv + 2, (u16)(seq >> 32));
	espx_codec_put_be32(iv + 4, (u32)seq);
	return 0;
}
