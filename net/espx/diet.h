/* SPDX-License-Identifier: GPL-2.0 */
/*
 * diet.c: the Diet-ESP steps of init_state, output and input, and the
 * receive step of diet_proto (proto.c's handlers call it). The compression
 * arithmetic is codec/diet_codec.c's.
 */
#ifndef _NET_ESPX_DIET_H
#define _NET_ESPX_DIET_H

#include <linux/skbuff.h>
#include "espx.h"
#include "pkt.h"
#include "codec/diet_codec.h"

struct sk_buff;
struct espx_diet;

int espx_diet_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);
void espx_diet_destroy(struct xfrm_state *x);
int espx_diet_out_pad(struct espx_sa *sa, struct sk_buff *skb,
		      struct espx_pkt *p, struct espx_tail *t);

/* Output, head: the CTEC trailer espx_diet_out_pad() laid out */
static inline void espx_diet_out_trailer(u8 *tail, const struct espx_tail *t,
					 u8 nexthdr)
{
	espx_diet_ctec_build(tail, &t->ctec, nexthdr);
}

void espx_diet_output_eec(struct espx_sa *sa, struct sk_buff *skb);
int espx_diet_input_proto(struct espx_sa *sa, const struct sk_buff *skb);
int espx_diet_input_finish(struct xfrm_state *x, struct espx_sa *sa,
			   struct sk_buff *skb, unsigned int hlen,
			   unsigned int alen, unsigned int *hlen_out);
enum skb_drop_reason espx_diet_rcv(struct sk_buff *skb, unsigned short family);
bool espx_diet_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family);
unsigned int espx_diet_proto(void);
int espx_diet_proto_init(void);
void espx_diet_proto_exit(void);

#endif /* _NET_ESPX_DIET_H */
