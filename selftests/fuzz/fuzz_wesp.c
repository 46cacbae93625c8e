// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the WESPv2 receiver checks of
 * net/espx/codec/wesp_codec.c (parse, check_sa, trailer_check) and the
 * sender helpers they must agree with (build, aad, crypt_offset, IVs).
 *   make -C selftests/fuzz && build/fuzz/fuzz_wesp -max_total_time=60
 * Input: 4 octets of receiving-SA parameters, then the packet from the
 * WESPv2 header on:
 *   [0] bit 0 IPv6, bits 1-2 ivlen (0, 8, 12, 16), bits 3-4 ICV (8, 12,
 *       16, 0); [1] CryptOffset maximum (low 6 bits); [2..3] counters
 *       (big endian, mod 1025).
 * Invariants checked:
 *   - every rejection is one named enum espx_wesp_drop value,
 *   - an accepted header lies inside the input, OptLen <= 63, the ESP
 *     header is aligned, the fields are the input's octets, option 27 is
 *     first and carries the id,
 *   - an accepted SA check means HdrLen = 4 + OptLen + 8 + ivlen, the clear
 *     octets, 4 octets and the ICV fit, CryptOffset within the SA's, NH 59
 *     when it is 0, option 27 exactly on counter SAs with id < N,
 *   - the AAD is the input's header, SPI, SN and clear octets,
 *   - a sender rebuilding the header from the parsed values produces one
 *     that is accepted with the same values (and the same octets when the
 *     input used the sender's own OptLen and R = 0),
 *   - the trailer check returns 4 * CryptOffset + E - PadLen - 2 or drops.
 */
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/wesp_codec.c"

static const u8 ivlens[] = { 0, 8, 12, 16 };
static const u8 icvlens[] = { 8, 12, 16, 0 };

static void check_reason(int err)
{
	if (err >= 0 || err < -ESPX_WESP_DROP_NR ||
	    !strcmp(espx_wesp_drop_name(err), "unknown"))
		abort();
}

static void check_parsed(const u8 *pkt, u32 len, bool ipv6,
			 const struct espx_wesp_hdr *h)
{
	if (h->optlen > ESPX_WESP_OPTLEN_MAX ||
	    h->len != ESPX_WESP_BASE_LEN + h->optlen ||
	    (u32)h->len + ESPX_ESP_HDR_LEN > len || h->len % (ipv6 ? 8 : 4) ||
	    h->nexthdr != pkt[0] || h->hdrlen != pkt[1] ||
	    h->crypt_offset != pkt[2] >> 2 || h->rsvd != (pkt[2] & 3) ||
	    (pkt[3] & 0xc0) != 0x40 || h->optlen != (pkt[3] & 0x3f))
		abort();
	if (h->subsa && (pkt[4] != ESPX_WESP_OPT_SUBSA || pkt[5] != 2 ||
			 h->subsa_id != (pkt[6] << 8 | pkt[7])))
		abort();
	if (!h->subsa && h->subsa_id)
		abort();
}

static void check_accepted(u32 len, const struct espx_wesp_hdr *h,
			   const struct espx_wesp_sa *sa)
{
	u32 c4 = 4u * h->crypt_offset;

	if (h->hdrlen != h->len + ESPX_ESP_HDR_LEN + sa->ivlen ||
	    h->hdrlen < ESPX_WESP_HDRLEN_MIN || h->hdrlen % (sa->ipv6 ? 8 : 4) ||
	    h->hdrlen + c4 + 4 + sa->icvlen > len ||
	    h->crypt_offset > sa->crypt_offset_max ||
	    (!h->crypt_offset && h->nexthdr != ESPX_IPPROTO_NONE) ||
	    h->subsa != !!sa->counters ||
	    (h->subsa && h->subsa_id >= sa->counters))
		abort();
}

static void check_aad(const u8 *pkt, const struct espx_wesp_hdr *h, bool snhi)
{
	u8 aad[ESPX_WESP_AAD_MAX];
	u32 c4 = 4u * h->crypt_offset, spi, n;
	int r;

	memcpy(&spi, pkt + h->len, 4);
	r = espx_wesp_aad(aad, sizeof(aad), pkt, h->len, spi, snhi,
			  0x01020304, 0x0a0b0c0d, pkt + h->hdrlen, c4);
	n = h->len + 8 + (snhi ? 4 : 0);
	if (r != (int)(n + c4) || memcmp(aad, pkt, h->len + 4) ||
	    memcmp(aad + n - 4, "\x0a\x0b\x0c\x0d", 4) ||
	    (snhi && memcmp(aad + h->len + 4, "\x01\x02\x03\x04", 4)) ||
	    memcmp(aad + n, pkt + h->hdrlen, c4))
		abort();
	/* one octet short: never written past the buffer, never accepted */
	if (espx_wesp_aad(aad, (size_t)r - 1, pkt, h->len, spi, snhi, 1, 2,
			  pkt + h->hdrlen, c4) != ESPX_CODEC_ESPACE)
		abort();
}

/* the sender's header for the same packet must be accepted as the same */
static void check_rebuild(const u8 *pkt, const struct espx_wesp_hdr *h,
			  const struct espx_wesp_sa *sa)
{
	struct espx_wesp_tx tx = {
		.ipv6 = sa->ipv6, .subsa = h->subsa, .subsa_id = h->subsa_id,
		.nexthdr = h->nexthdr, .ivlen = sa->ivlen,
		.crypt_offset = h->crypt_offset,
	};
	u8 out[ESPX_WESP_BASE_LEN + 4 + ESPX_ESP_HDR_LEN] = { 0 };
	struct espx_wesp_hdr h2;
	int len;

	len = espx_wesp_build(out, sizeof(out) - ESPX_ESP_HDR_LEN, &tx);
	if (len != ESPX_WESP_BASE_LEN + (int)espx_wesp_optlen(tx.ipv6, tx.subsa))
		abort();
	if (espx_wesp_parse(out, len + ESPX_ESP_HDR_LEN, sa->ipv6, &h2) ||
	    espx_wesp_check_sa(&h2, sa, 1024))
		abort();
	if (h2.nexthdr != h->nexthdr || h2.crypt_offset != h->crypt_offset ||
	    h2.subsa != h->subsa || h2.subsa_id != h->subsa_id || h2.rsvd ||
	    h2.hdrlen != len + ESPX_ESP_HDR_LEN + sa->ivlen)
		abort();
	if (h2.len == h->len && !h->rsvd && memcmp(out, pkt, 4))
		abort();
	if (h->subsa && h2.len == h->len && !h->rsvd && memcmp(out, pkt, len))
		abort();
}

static void check_trailer(const u8 *pkt, u32 len,
			  const struct espx_wesp_hdr *h,
			  const struct espx_wesp_sa *sa)
{
	u32 c4 = 4u * h->crypt_offset;
	u32 elen = len - h->hdrlen - c4 - sa->icvlen;
	u8 padlen = pkt[len - sa->icvlen - 2], nh = pkt[len - sa->icvlen - 1];
	int r;

	r = espx_wesp_trailer_check(elen, padlen, nh, h->crypt_offset,
				    h->nexthdr);
	if (r >= 0) {
		if (r != (int)(c4 + elen - padlen - 2) ||
		    (h->crypt_offset && nh != h->nexthdr))
			abort();
	} else if (r != ESPX_WESP_DROP_PADLEN &&
		   r != ESPX_WESP_DROP_TRAILER_NH) {
		abort();
	}
}

/* IV layouts and the per-packet CryptOffset, from the SA octets */
static void check_helpers(const u8 *data, size_t size)
{
	u64 seq = 0;
	u32 c, plen;
	u8 iv[8];
	size_t i;

	for (i = 0; i < 8 && i < size; i++)
		seq = seq << 8 | data[i];
	if (espx_wesp_iv_counter(iv, (u16)seq, seq >> 8) == 0) {
		if (!(seq >> 8) || seq >> 8 > ESPX_WESP_SEQ_MAX ||
		    (iv[0] << 8 | iv[1]) != (u16)seq ||
		    ((u64)iv[2] << 40 | (u64)iv[3] << 32 | (u64)iv[4] << 24 |
		     (u64)iv[5] << 16 | (u64)iv[6] << 8 | iv[7]) != seq >> 8)
			abort();
	} else if ((seq >> 8) && seq >> 8 <= ESPX_WESP_SEQ_MAX) {
		abort();
	}
	plen = (u32)seq;
	c = espx_wesp_crypt_offset((u32)(seq >> 32), plen);
	if (c > (u32)(seq >> 32) || c > ESPX_WESP_CRYPT_OFFSET_MAX ||
	    4ull * c > plen ||
	    (c < (u32)(seq >> 32) && c < ESPX_WESP_CRYPT_OFFSET_MAX &&
	     4ull * (c + 1) <= plen))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct espx_wesp_hdr h;
	struct espx_wesp_sa sa;
	const u8 *pkt;
	u32 len;
	int err;

	check_helpers(data, size);
	if (size < 4 || size - 4 > 0xffff)
		return 0;
	sa.ipv6 = data[0] & 1;
	sa.ivlen = ivlens[data[0] >> 1 & 3];
	sa.icvlen = icvlens[data[0] >> 3 & 3];
	sa.crypt_offset_max = data[1] & 0x3f;
	sa.counters = (u16)((data[2] << 8 | data[3]) % 1025);
	pkt = data + 4;
	len = (u32)(size - 4);

	err = espx_wesp_parse(pkt, len, sa.ipv6, &h);
	if (err) {
		check_reason(err);
		return 0;
	}
	check_parsed(pkt, len, sa.ipv6, &h);
	err = espx_wesp_check_sa(&h, &sa, len);
	if (err) {
		check_reason(err);
		return 0;
	}
	check_accepted(len, &h, &sa);
	check_aad(pkt, &h, h.subsa);
	check_rebuild(pkt, &h, &sa);
	check_trailer(pkt, len, &h, &sa);
	return 0;
}
