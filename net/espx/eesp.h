/* SPDX-License-Identifier: GPL-2.0 */
/*
 * eesp.c: EESP (eesp.md, draft-ietf-ipsecme-eesp-03), the fifth kind of SA:
 * its init_state step (Sub SA keys and transforms), its output and input
 * (esp.c hands an EESP SA's packets over whole), and the receive step of
 * eesp_proto (proto.c's handlers call it). The wire computations are
 * codec/eesp_codec.c's; the Sub SAs' SNs and windows are counters.c's.
 */
#ifndef _NET_ESPX_EESP_H
#define _NET_ESPX_EESP_H

#include <linux/skbuff.h>
#include "espx.h"
#include "sa.h"

int espx_eesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);
void espx_eesp_destroy(struct xfrm_state *x);
/* Octets from the EESP base header to the payload data (fixed per SA) */
unsigned int espx_eesp_hdr_len(const struct espx_sa *sa);
/* ... of an ESP Echo message, which has a PIH in either format */
unsigned int espx_eesp_echo_hdr_len(const struct espx_sa *sa);
int espx_eesp_output(struct xfrm_state *x, struct espx_sa *sa,
		     struct sk_buff *skb);
int espx_eesp_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb);
enum skb_drop_reason espx_eesp_rcv(struct sk_buff *skb, unsigned short family,
				   __be32 *spi);
bool espx_eesp_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family);
int espx_eesp_proto_init(void);
void espx_eesp_proto_exit(void);

#endif /* _NET_ESPX_EESP_H */
