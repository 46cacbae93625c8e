/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wesp.c: the WESPv2 steps of init_state, output and input, and the
 * protocol-141 handlers. The header arithmetic is codec/wesp_codec.c's.
 */
#ifndef _NET_ESPX_WESP_H
#define _NET_ESPX_WESP_H

#include "espx.h"
#include "codec/wesp_codec.h"

struct sk_buff;

/* What espx_input() learnt of a packet's WESPv2 header (len 0: plain ESP). */
struct espx_wesp_in {
	const u8 *data;		/* only valid before crypto starts */
	u8 len;
	u8 crypt_offset;	/* 4-octet words in clear after the IV */
	u8 nexthdr;
	u16 ctr_id;		/* counter SAs: the Sub-SA ID */
	u64 ctr_seq;		/* counter SAs: the inferred sequence */
};

int espx_wesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);
unsigned int espx_wesp_output_hdr(const struct espx_sa *sa, u8 *wh,
				  unsigned int payload_len, u8 nexthdr,
				  u16 ctr_id);
int espx_wesp_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb, struct espx_wesp_in *w);
int espx_wesp_proto_init(void);
void espx_wesp_proto_exit(void);

#endif /* _NET_ESPX_WESP_H */
