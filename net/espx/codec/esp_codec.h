/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free ESP packet arithmetic shared by the module (esp.c #includes
 * esp_codec.c) and the userspace unit tests and fuzzers:
 *   - sender padding and trailer (esp-baseline.md §5),
 *   - receiver trailer validation (esp-baseline.md §5),
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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#endif

#define ESPX_ESP_HDR_LEN	8	/* SPI + SN */
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
	uint32_t clen;
	uint32_t plen;
	uint32_t tfclen;
};

int espx_esp_pad(uint32_t payload_len, uint32_t tfclen, uint32_t blksize,
		 struct espx_esp_pad *pad);
void espx_esp_fill_trailer(uint8_t *tail, const struct espx_esp_pad *pad,
			   uint8_t nexthdr);
int espx_esp_trailer_check(uint32_t elen, uint32_t alen, uint8_t padlen);

/**
 * struct espx_beetph - a parsed BEET pseudo-header (beet.md §3)
 * @nexthdr: the transport protocol of the inner packet
 * @hdrlen: HdrLen field
 * @padlen: PadLen field
 * @phlen: octets to skip before the options (4 + PadLen)
 * @optlen: octets of IPv4 options following the pad
 */
struct espx_beetph {
	uint8_t nexthdr;
	uint8_t hdrlen;
	uint8_t padlen;
	uint32_t phlen;
	uint32_t optlen;
};

uint32_t espx_beetph_len(uint32_t optlen);
int espx_beetph_build(uint8_t *buf, size_t buflen, uint8_t nexthdr,
		      const uint8_t *opts, uint32_t optlen);
int espx_beetph_parse(const uint8_t *buf, size_t len, struct espx_beetph *ph);

#endif /* _ESPX_CODEC_ESP_CODEC_H */
