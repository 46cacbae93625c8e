/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wesp.c: the WESPv2 steps of init_state, output and input, and the
 * receive step of protocol 141 (proto.c's handlers call it). The header
 * arithmetic is codec/wesp_codec.c's.
 */
#ifndef _NET_ESPX_WESP_H
#define _NET_ESPX_WESP_H

#include <linux/skbuff.h>
#include "espx.h"
#include "sa.h"
#include "pkt.h"
#include "codec/wesp_codec.h"

int espx_wesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);

/* The WESPv2 header and options of the SA's packets, 0 for other kinds. */
static inline unsigned int espx_wesp_hdr_len(const struct espx_sa *sa)
{
	return sa->ext.wesp_len;
}

/* Output, head: protocol 141 and room for the header (init_state sized
 * x->props.header_len for it).
 */
static inline void espx_wesp_out_proto(const struct espx_sa *sa,
				       struct sk_buff *skb, struct espx_pkt *p)
{
	*skb_mac_header(skb) = ESPX_IPPROTO_WESP;
	p->wlen = sa->ext.wesp_len;
}

void espx_wesp_out_head(const struct espx_sa *sa, u8 *wh, struct espx_pkt *p);
int espx_wesp_skb_aad(const struct sk_buff *skb, unsigned int esph,
		      const struct espx_pkt *p, unsigned int ivlen, bool hi,
		      u8 *aad);
int espx_wesp_in_prepare(struct xfrm_state *x, struct espx_sa *sa,
			 struct sk_buff *skb, struct espx_pkt *p);
int espx_wesp_in_trailer(struct espx_sa *sa, const struct espx_pkt *p,
			 unsigned int elen, const u8 *tr);
enum skb_drop_reason espx_wesp_rcv(struct sk_buff *skb, unsigned short family,
				   unsigned int *pull);
bool espx_wesp_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family);

#endif /* _NET_ESPX_WESP_H */
