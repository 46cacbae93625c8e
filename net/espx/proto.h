/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xfrm types of esp.c and their registration by proto.c, with the
 * xfrm4/xfrm6 protocol handlers for IPPROTO_ESP (input, ICMP errors), the
 * detection of esp4/esp6, and the handlers of espx's own IP protocols.
 */
#ifndef _NET_ESPX_PROTO_H
#define _NET_ESPX_PROTO_H

#include "espx.h"

#include <net/dropreason.h>

struct net;
struct sk_buff;
struct xfrm_type;
struct xfrm_state;
struct espx_sa;

/* esp.c: the xfrm_type ops (plain RFC 4303 and the extension steps) */
extern const struct xfrm_type espx_type_ipv4;
extern const struct xfrm_type espx_type_ipv6;

/* esp.c: the end of an EESP packet's input (eesp.c) */
int espx_input_deliver(struct xfrm_state *x, struct espx_sa *sa,
		       struct sk_buff *skb, unsigned int hlen, u8 nh);

int espx_proto_check_clash(void);
int espx_proto_init(void);
void espx_proto_exit(void);
/* True while the core's ESP type for family (AF_INET/AF_INET6) is not espx's:
 * another module (esp4/esp6 loaded with espx.guard_esp=0, or a third party)
 * took it over, so new SAs of that family would not use espx. Lockless,
 * callable from any context.
 */
bool espx_type_lost(unsigned short family);

/* espx's own IP protocols (WESPv2's 141, diet_proto, EESP's next): one
 * handler per family for all of them in proto.c. It switches on the kind
 * registered for the packet's protocol to the extension's receive step
 * (espx_wesp_rcv(), espx_diet_rcv()), which turns the packet into ESP
 * for xfrm_input() or names the reason to drop it, and to its ICMP check
 * (espx_wesp_err_known(), espx_diet_err_known()); PMTU and redirects are
 * then handled as esp4/esp6 handle them for ESP.
 */
int espx_ipproto_add(enum espx_kind kind, u8 proto);
void espx_ipproto_del(enum espx_kind kind);
/* A packet of the kind's protocol names no SA: counted per netns and as
 * XfrmInNoStates. Return: the reason to drop it with.
 */
enum skb_drop_reason espx_ipproto_no_sa(struct net *net, enum espx_kind kind);

#endif /* _NET_ESPX_PROTO_H */
