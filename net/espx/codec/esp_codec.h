/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free ESP packet arithmetic shared by the module (its own object,
 * see Kbuild) and the userspace unit tests and fuzzers:
 *   - sender padding and trailer (esp-baseline.md §5),
 *   - receiver trailer validation (esp-baseline.md §5),
 *   - the ESP AAD (RFC 4303 §2.2.1) and, for the SAs whose nonce espx
 *     builds, IV = be64(SN) and nonce = salt | IV (RFC 4106 §4, RFC 7634
 *     §2, RFC 8750): every extension's AAD and nonce are made from these,
 *   - the BEET IPv4-options pseudo-header, IPPROTO_BEETPH (beet.md §3).
 * No kernel header and no allocation: plain fixed-width integers and bytes.
 */
#ifndef _ESPX_CODEC_ESP_CODEC_H
#define _ESPX_CODEC_ESP_CODEC_H

/* Tiny compat shim: the only types and helpers this codec needs. */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

/* Small helpers called for every field of every packet: inlined in the
 * module, since a call costs as much as their work (userspace builds
 * leave it to -O2).
 */
#ifdef __KERNEL__
#define espx_codec_inline	__always_inline
#else
#define espx_codec_inline	inline
#endif

/* Big-endian fields at any alignment, for every codec */
static inline u16 espx_codec_be16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static inline u32 espx_codec_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static inline void espx_codec_put_be16(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static inline void espx_codec_put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

#define ESPX_ESP_HDR_LEN	8	/* SPI + SN */
#define ESPX_ESP_AAD_MAX	12	/* SPI | SNhi | SNlo */
#define ESPX_ESP_SALT_LEN	4	/* RFC 4106 §8.1, RFC 7634 §4 */
#define ESPX_ESP_NONCE_IVLEN	8	/* the IV part of a 12-octet nonce */
#define ESPX_ESP_NONCE_LEN	12	/* salt | IV */
#define ESPX_ESP_TRAILER_MIN	2	/* Pad Length + Next Header */
#define ESPX_ESP_PADLEN_MAX	255
#define ESPX_BEETPH_FIXED_LEN	4	/* NH, HdrLen, PadLen, Reserved */
#define ESPX_BEETPH_MAX_OVERHEAD 8	/* IPV4_BEET_PHMAXLEN */
#define ESPX_BEET_OPTLEN_MAX	40	/* beet.md §3 [DECISION] */
#define ESPX_IPPROTO_BEETPH	94
#define ESPX_IPOPT_NOP		1

/* Error codes of the codec (negative); the module maps them to -EINVAL. */
enum espx_codec_err {
	ESPX_CODEC_OK = 0,
	ESPX_CODEC_EINVAL = -1,	/* a parameter or field out of range */
	ESPX_CODEC_ETRUNC = -2,	/* the buffer/packet is too short */
	ESPX_CODEC_ESPACE = -3,	/* the output buffer is too small */
};

/**
 * struct espx_esp_pad - sender padding of one packet (esp-baseline.md §5)
 * @clen: length of the encrypted part: payload + tfclen + padding + 2
 * @plen: padding + 2 (Pad Length and Next Header octets)
 * @tfclen: TFC padding (zero octets) inserted before the normal padding
 */
struct espx_esp_pad {
	u32 clen;
	u32 plen;
	u32 tfclen;
};

int espx_esp_pad(u32 payload_len, u32 tfclen, u32 blksize,
		 struct espx_esp_pad *pad);

/**
 * espx_esp_fill_trailer - write the ESP trailer after the payload
 * @tail: where the payload ends; tfclen + plen octets are written
 * @pad: from espx_esp_pad()
 * @nexthdr: Next Header
 *
 * Layout: tfclen zero octets, then 1, 2, ..., plen - 2, then Pad Length
 * (plen - 2) and Next Header. Inline: every packet the module sends runs it,
 * mostly for 0..3 octets of padding.
 */
static inline void espx_esp_fill_trailer(u8 *tail,
					 const struct espx_esp_pad *pad,
					 u8 nexthdr)
{
	u32 padlen = pad->plen - ESPX_ESP_TRAILER_MIN;
	u32 i;

	if (pad->tfclen) {
		memset(tail, 0, pad->tfclen);
		tail += pad->tfclen;
	}
	/* the first two are always inside the trailer: Pad Length and Next
	 * Header overwrite them when the padding is shorter
	 */
	tail[0] = 1;
	tail[1] = 2;
	for (i = 2; i < padlen; i++)
		tail[i] = (u8)(i + 1);
	tail[padlen] = (u8)padlen;
	tail[padlen + 1] = nexthdr;
}

int espx_esp_trailer_check(u32 elen, u32 alen, u8 padlen);

/**
 * struct espx_beetph - a parsed BEET pseudo-header (beet.md §3)
 * @nexthdr: the transport protocol of the inner packet
 * @hdrlen: HdrLen field
 * @padlen: PadLen field
 * @phlen: octets to skip before the options (4 + PadLen)
 * @optlen: octets of IPv4 options following the pad
 */
struct espx_beetph {
	u8 nexthdr;
	u8 hdrlen;
	u8 padlen;
	u32 phlen;
	u32 optlen;
};

u32 espx_esp_aad(u8 *aad, u32 spi, bool with_snhi, u32 snhi, u32 snlo);
void espx_esp_iv_seq(u8 *iv, u64 seq);
void espx_esp_nonce(u8 *nonce, const u8 *salt, const u8 *iv);

u32 espx_beetph_len(u32 optlen);
int espx_beetph_build(u8 *buf, size_t buflen, u8 nexthdr,
		      const u8 *opts, u32 optlen);
int espx_beetph_parse(const u8 *buf, size_t len, struct espx_beetph *ph);

#endif /* _ESPX_CODEC_ESP_CODEC_H */
