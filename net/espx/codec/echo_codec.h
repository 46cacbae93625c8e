/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free ESP Echo codec (esp-echo.md) shared by the module (built as
 * its own object, see Kbuild) and the userspace unit tests and fuzzers:
 *   - the fixed 12-octet echo header (§3): parse and build,
 *   - the receiver's order of checks on the decrypted payload (§5 steps 2
 *     and 5): sub-type, then length, one result per counter,
 *   - the reply made from a request (§3: only the Sub-Type changes, the
 *     Data may be shortened and Data Length then says so),
 *   - the largest payload that fits a given room (§5 step 11),
 *   - the initiator's Data pattern (octet i = i & 0xff, §6) and its check.
 * No kernel header and no allocation; the integer types come from the
 * esp_codec.h shim.
 */
#ifndef _ESPX_CODEC_ECHO_CODEC_H
#define _ESPX_CODEC_ECHO_CODEC_H

#include "esp_codec.h"

#ifndef __KERNEL__
#include <stdbool.h>
#endif

#define ESPX_IPPROTO_AGGFRAG	144	/* RFC 9347: the echo's Next Header */
#define ESPX_ECHO_HDR_LEN	12
#define ESPX_ECHO_R		0x80	/* octet 1: a reply is requested */
#define ESPX_ECHO_DATA_MAX	(65535 - ESPX_ECHO_HDR_LEN)
#define ESPX_ECHO_SUBTYPE_REQ	2	/* echo_subtype_req default (§2) */
#define ESPX_ECHO_SUBTYPE_REP	3	/* echo_subtype_rep default */
#define ESPX_ECHO_SUBTYPE_MIN	2	/* 0, 1: RFC 9347 basic, congestion */
#define ESPX_ECHO_SPI_REQ	7	/* unencrypted mode (§4) */
#define ESPX_ECHO_SPI_REP	8

/**
 * struct espx_echo_hdr - the 12-octet echo header (§3), host order
 * @subtype: Sub-Type
 * @flags: octet 1: R (0x80) | Reserved (copied, never checked)
 * @dlen: Data Length
 * @ident: Identifier
 * @seq: Sequence Number
 * @reply_spi: Reply path SPI
 */
struct espx_echo_hdr {
	u8 subtype;
	u8 flags;
	u16 dlen;
	u16 ident;
	u16 seq;
	u32 reply_spi;
};

/* What the receiver does with a decrypted NH-144 payload (§5). */
enum espx_echo_rx {
	ESPX_ECHO_RX_REQUEST,		/* a well-formed request */
	ESPX_ECHO_RX_REPLY,		/* a well-formed reply */
	ESPX_ECHO_RX_AGGFRAG,		/* another sub-type: in-drop-aggfrag */
	ESPX_ECHO_RX_TRUNCATED,		/* empty, or < 12: in-drop-echo-truncated */
	ESPX_ECHO_RX_LENGTH,		/* 12 + Data Length != payload length */
};

static inline bool espx_echo_r(const struct espx_echo_hdr *h)
{
	return h->flags & ESPX_ECHO_R;
}

/* Module parameters: 2..255 and different (§2). */
static inline bool espx_echo_subtypes_ok(u32 req, u32 rep)
{
	return req >= ESPX_ECHO_SUBTYPE_MIN && req <= 255 &&
	       rep >= ESPX_ECHO_SUBTYPE_MIN && rep <= 255 && req != rep;
}

int espx_echo_classify(const u8 *p, u32 len, u8 req, u8 rep);
int espx_echo_parse(const u8 *p, u32 len, u8 req, u8 rep,
		    struct espx_echo_hdr *h);
void espx_echo_build(u8 *p, const struct espx_echo_hdr *h);
u32 espx_echo_reply(u8 *p, u32 len, u32 max, u8 rep);
u32 espx_echo_payload_max(u32 room, u32 blksize);
void espx_echo_fill_data(u8 *data, u32 len);
bool espx_echo_data_ok(const u8 *data, u32 len);
bool espx_echo_data_ok_from(const u8 *data, u32 len, u32 start);
const char *espx_echo_rx_name(int res);

#endif /* _ESPX_CODEC_ECHO_CODEC_H */
