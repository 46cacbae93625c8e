/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One packet on its way through esp.c: what the steps of output (head,
 * seal) and input (prepare, open), and the extension steps they dispatch
 * to by the SA's kind, hand on to each other. On the stack; on input a
 * copy rides in the request memory (struct espx_crypto_hdr) across an
 * asynchronous completion, so it stays small.
 */
#ifndef _NET_ESPX_PKT_H
#define _NET_ESPX_PKT_H

#include <linux/skbuff.h>
#include "espx.h"
#include "codec/esp_codec.h"
#include "codec/diet_codec.h"

/**
 * struct espx_pkt - one packet's facts
 * @seq: the 64-bit SN the AAD and the nonce are built from: on output the
 *	one sent, on input the one the core inferred (SNhi:SNlo) or, on a
 *	counter SA, the counter's
 * @len: output: payload octets (statistics)
 * @clen: output: octets from the end of the IV to the ICV (clear octets,
 *	payload, trailer)
 * @esph: output, after head: the ESP header's offset from skb->data (the
 *	outer network header)
 * @ctr_id: counter SAs: the counter (Sub-SA ID)
 * @nexthdr: output: the payload's protocol; input: the WESPv2 header's
 * @wlen: octets of WESPv2 header in front of the ESP header, 0 for none
 * @clear: octets sent in clear after the IV (4 * WESPv2 CryptOffset)
 */
struct espx_pkt {
	u64 seq;
	u32 len;
	u32 clen;
	u16 esph;
	u16 ctr_id;
	u8 nexthdr;
	u8 wlen;
	u8 clear;
};

/**
 * struct espx_tail - output: the trailer head() appends
 * @pad: RFC 4303 padding (for Diet-ESP: its CTEC trailer's sizes)
 * @ctec: Diet-ESP: the CTEC layout (diet.c)
 */
struct espx_tail {
	struct espx_esp_pad pad;
	struct espx_diet_ctec ctec;
};

/* Input: Pad Length and Next Header, in front of the ICV (@alen octets);
 * in the linear part unless the packet came in fragments. NULL: too short.
 */
static inline const u8 *espx_pkt_trailer(const struct sk_buff *skb,
					 unsigned int alen,
					 u8 buf[ESPX_ESP_TRAILER_MIN])
{
	return skb_header_pointer(skb, skb->len - alen - ESPX_ESP_TRAILER_MIN,
				  ESPX_ESP_TRAILER_MIN, buf);
}

#endif /* _NET_ESPX_PKT_H */
