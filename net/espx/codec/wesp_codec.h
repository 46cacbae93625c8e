/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free WESPv2 header codec (wespv2.md) shared by the module (its own
 * object, see Kbuild) and the userspace unit tests and fuzzers:
 *   - sender: header + options, per-packet CryptOffset (§2, §3, §4, §6),
 *   - receiver: the header checks of §7 steps 1-3 (packet only), 5-7 (packet
 *     against its SA) and 9 (after decryption), one drop reason each,
 *   - the AAD (§5) and the counter SAs' IV (multi-counters.md §3); the
 *     nonce and a single-counter SA's IV are the ESP codec's.
 * No kernel header and no allocation; the integer types come from the
 * esp_codec.h shim.
 */
#ifndef _ESPX_CODEC_WESP_CODEC_H
#define _ESPX_CODEC_WESP_CODEC_H

#include "esp_codec.h"

#ifndef __KERNEL__
#include <stdbool.h>
#endif

#define ESPX_IPPROTO_WESP	141
#define ESPX_IPPROTO_NONE	59	/* NH when CryptOffset is 0 */
#define ESPX_WESP_BASE_LEN	4	/* NH, HdrLen, CryptOffset|R, V|OptLen */
#define ESPX_WESP_HDRLEN_MIN	12
#define ESPX_WESP_V_MASK	0xc0	/* octet 3 */
#define ESPX_WESP_V2		0x40	/* V = binary 01 */
#define ESPX_WESP_OPTLEN_MASK	0x3f	/* octet 3 */
#define ESPX_WESP_OPTLEN_MAX	63
#define ESPX_WESP_CO_SHIFT	2	/* octet 2 = CryptOffset << 2 | R */
#define ESPX_WESP_R_MASK	0x03
/* Same value as the uapi header's, which limits the netlink attribute */
#define ESPX_WESP_CRYPT_OFFSET_MAX 63

/* Option types (§3): bits 0-1 = action if unknown, bit 2 = may change */
#define ESPX_WESP_OPT_PAD1	0x00
#define ESPX_WESP_OPT_PADN	0x01
#define ESPX_WESP_OPT_SUBSA	0x1b	/* project-private: Sub-SA ID */
#define ESPX_WESP_OPT_ACTION	0xc0	/* 00 = skip when unknown */
#define ESPX_WESP_OPT_MUTABLE	0x20
#define ESPX_WESP_SUBSA_OPT_LEN	4	/* 1b 02 <id:16> */

#define ESPX_WESP_IVLEN		ESPX_ESP_NONCE_IVLEN	/* GCM, ChaCha20-Poly1305 */
/* counter SAs: 2^48 - 1, the largest seq the IV holds (ctr_codec.h too) */
#define ESPX_WESP_SEQ_MAX	0xffffffffffffULL

/* Largest AAD: header and options, SPI, SNhi, SNlo, clear octets (§5) */
#define ESPX_WESP_AAD_MAX	(ESPX_WESP_BASE_LEN + ESPX_WESP_OPTLEN_MAX + \
				 ESPX_ESP_AAD_MAX + 4 * ESPX_WESP_CRYPT_OFFSET_MAX)

/**
 * enum espx_wesp_drop - why a receiver dropped a WESPv2 packet
 * @ESPX_WESP_DROP_TRUNC: shorter than 4 or 4 + OptLen + 8 octets
 * @ESPX_WESP_DROP_VERSION: V bits not 01
 * @ESPX_WESP_DROP_ALIGN: 4 + OptLen not a multiple of 4 (IPv6: of 8)
 * @ESPX_WESP_DROP_OPT_TRUNC: an option's type, length or data past OptLen
 * @ESPX_WESP_DROP_PADN_NONZERO: PadN with a non-zero data octet
 * @ESPX_WESP_DROP_OPT_MUTABLE: option type with bit 2 (may change) set
 * @ESPX_WESP_DROP_OPT_UNKNOWN: unknown option type whose action is not skip
 * @ESPX_WESP_DROP_SUBSA_LEN: Sub-SA ID option data length not 2
 * @ESPX_WESP_DROP_SUBSA_DUP: Sub-SA ID option seen twice
 * @ESPX_WESP_DROP_SUBSA_POS: Sub-SA ID option not the first option
 * @ESPX_WESP_DROP_HDRLEN: HdrLen < 12, not a multiple of 4 (IPv6: of 8) or
 *	not 4 + OptLen + 8 + ivlen of the SA
 * @ESPX_WESP_DROP_CRYPT_OFFSET: CryptOffset above the SA's maximum
 * @ESPX_WESP_DROP_NEXTHDR: CryptOffset 0 but Next Header not 59
 * @ESPX_WESP_DROP_SHORT: HdrLen + 4 * CryptOffset + 4 + ICV past the packet
 * @ESPX_WESP_DROP_SUBSA_MISSING: no Sub-SA ID option on a counter SA
 * @ESPX_WESP_DROP_SUBSA_UNEXPECTED: Sub-SA ID option on an SA without counters
 * @ESPX_WESP_DROP_SUBSA_RANGE: Sub-SA ID >= the SA's number of counters
 * @ESPX_WESP_DROP_TRAILER_NH: CryptOffset != 0 and Next Header != the trailer's
 * @ESPX_WESP_DROP_PADLEN: Pad Length + 2 past the decrypted octets
 * @ESPX_WESP_DROP_NR: number of reasons (positive)
 *
 * The values are negative so that the functions can return them directly;
 * espx_wesp_drop_name() gives each one a stable name.
 */
enum espx_wesp_drop {
	ESPX_WESP_DROP_TRUNC = -1,
	ESPX_WESP_DROP_VERSION = -2,
	ESPX_WESP_DROP_ALIGN = -3,
	ESPX_WESP_DROP_OPT_TRUNC = -4,
	ESPX_WESP_DROP_PADN_NONZERO = -5,
	ESPX_WESP_DROP_OPT_MUTABLE = -6,
	ESPX_WESP_DROP_OPT_UNKNOWN = -7,
	ESPX_WESP_DROP_SUBSA_LEN = -8,
	ESPX_WESP_DROP_SUBSA_DUP = -9,
	ESPX_WESP_DROP_SUBSA_POS = -10,
	ESPX_WESP_DROP_HDRLEN = -11,
	ESPX_WESP_DROP_CRYPT_OFFSET = -12,
	ESPX_WESP_DROP_NEXTHDR = -13,
	ESPX_WESP_DROP_SHORT = -14,
	ESPX_WESP_DROP_SUBSA_MISSING = -15,
	ESPX_WESP_DROP_SUBSA_UNEXPECTED = -16,
	ESPX_WESP_DROP_SUBSA_RANGE = -17,
	ESPX_WESP_DROP_TRAILER_NH = -18,
	ESPX_WESP_DROP_PADLEN = -19,
	ESPX_WESP_DROP_NR = 19,
};

/**
 * struct espx_wesp_tx - what the sender puts in one WESPv2 header (§6)
 * @ipv6: outer family is IPv6 (PadN to 8-align the ESP header)
 * @subsa: the SA has counters: write option 27 with @subsa_id
 * @subsa_id: counter id
 * @nexthdr: the ESP trailer's Next Header
 * @ivlen: octets of IV after the ESP header
 * @crypt_offset: this packet's CryptOffset, from espx_wesp_crypt_offset()
 */
struct espx_wesp_tx {
	bool ipv6;
	bool subsa;
	u16 subsa_id;
	u8 nexthdr;
	u8 ivlen;
	u8 crypt_offset;
};

/**
 * struct espx_wesp_hdr - a WESPv2 header as parsed by espx_wesp_parse()
 * @nexthdr: Next Header
 * @hdrlen: HdrLen (octets up to the end of the IV; checked per SA)
 * @crypt_offset: CryptOffset in 4-octet words
 * @rsvd: the R bits (authenticated as sent, otherwise ignored)
 * @optlen: OptLen
 * @len: 4 + OptLen: the offset of the ESP header
 * @subsa: a Sub-SA ID option was present
 * @subsa_id: its counter id (0 when absent)
 */
struct espx_wesp_hdr {
	u8 nexthdr;
	u8 hdrlen;
	u8 crypt_offset;
	u8 rsvd;
	u8 optlen;
	u8 len;
	bool subsa;
	u16 subsa_id;
};

/**
 * struct espx_wesp_sa - the receiving SA's parameters for espx_wesp_check_sa()
 * @ipv6: outer family is IPv6 (HdrLen must be a multiple of 8)
 * @ivlen: IV octets
 * @icvlen: ICV octets
 * @crypt_offset_max: the SA's configured CryptOffset
 * @counters: number of counters N, 0 for a single-counter SA
 */
struct espx_wesp_sa {
	bool ipv6;
	u8 ivlen;
	u8 icvlen;
	u8 crypt_offset_max;
	u16 counters;
};

/* CryptOffset of the header at @wh (at least 4 octets) */
static inline u32 espx_wesp_hdr_crypt_offset(const u8 *wh)
{
	return wh[2] >> ESPX_WESP_CO_SHIFT;
}

/* OptLen of the header at @wh (at least 4 octets) */
static inline u32 espx_wesp_hdr_optlen(const u8 *wh)
{
	return wh[3] & ESPX_WESP_OPTLEN_MASK;
}

u32 espx_wesp_optlen(bool ipv6, bool subsa);
u32 espx_wesp_crypt_offset(u32 sa_max, u32 payload_len);
int espx_wesp_build(u8 *buf, size_t buflen, const struct espx_wesp_tx *p);

int espx_wesp_parse(const u8 *pkt, size_t len, bool ipv6,
		    struct espx_wesp_hdr *out);
int espx_wesp_check_sa(const struct espx_wesp_hdr *h,
		       const struct espx_wesp_sa *sa, u32 avail);
int espx_wesp_trailer_check(u32 elen, u8 padlen, u8 trailer_nh,
			    u32 crypt_offset, u8 wesp_nh);
const char *espx_wesp_drop_name(int reason);

u32 espx_wesp_aad_clear_off(u32 wesp_len, bool with_snhi);
int espx_wesp_aad(u8 *aad, size_t aadlen, const u8 *wesp_hdr, u32 wesp_len,
		  u32 spi_be_raw, bool with_snhi, u32 snhi, u32 snlo,
		  const u8 *clear, u32 clearlen);

int espx_wesp_iv_counter(u8 *iv, u16 id, u64 seq);

#endif /* _ESPX_CODEC_WESP_CODEC_H */
