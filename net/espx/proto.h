/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xfrm types of esp.c and their registration by proto.c, with the
 * xfrm4/xfrm6 protocol handlers for IPPROTO_ESP (input, ICMP errors) and the
 * detection of esp4/esp6.
 */
#ifndef _NET_ESPX_PROTO_H
#define _NET_ESPX_PROTO_H

#include "espx.h"

struct sk_buff;
struct xfrm_type;

/* esp.c: the xfrm_type ops (plain RFC 4303 and the extension steps) */
extern const struct xfrm_type espx_type_ipv4;
extern const struct xfrm_type espx_type_ipv6;

int espx_proto_check_clash(void);
int espx_proto_init(void);
void espx_proto_exit(void);
/* True while the core's ESP type for family (AF_INET/AF_INET6) is not espx's:
 * another module (esp4/esp6 loaded with espx.guard_esp=0, or a third party)
 * took it over, so new SAs of that family would not use espx. Lockless,
 * callable from any context.
 */
bool espx_type_lost(unsigned short family);
/* ICMP errors quoting a packet of ours (ESP, WESPv2, Diet-ESP) */
unsigned int espx_icmp4_quoted(struct sk_buff *skb);
void espx_icmp4_apply(struct sk_buff *skb, u32 info, u8 proto);
bool espx_icmp6_wanted(u8 type, int offset, struct sk_buff *skb);
void espx_icmp6_apply(struct sk_buff *skb, u8 type, __be32 info);

#endif /* _NET_ESPX_PROTO_H */
