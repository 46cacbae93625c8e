/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels espx builds for (Debian's 6.1 and 6.12),
 * in one place. Kbuild defines ESPX_HAVE_* from the target's headers where
 * a feature cannot be told from the version alone (Debian backports).
 */
#ifndef _NET_ESPX_COMPAT_H
#define _NET_ESPX_COMPAT_H

#include <linux/version.h>
#include <crypto/aead.h>
#include <net/genetlink.h>
#include <net/xfrm.h>

/* The SA of a packet that espx's own protocol handlers (WESPv2, Diet-ESP)
 * are about to hand to xfrm_input(): through the core's per-CPU input cache
 * where the kernel has one, so that this lookup and xfrm_input()'s own for
 * the same SPI both hit it.
 */
static inline struct xfrm_state *
espx_rx_state_lookup(struct net *net, u32 mark, const xfrm_address_t *daddr,
		     __be32 spi, unsigned short family)
{
#ifdef ESPX_HAVE_INPUT_STATE_LOOKUP
	return xfrm_input_state_lookup(net, mark, daddr, spi, IPPROTO_ESP,
				       family);
#else
	return xfrm_state_lookup(net, mark, daddr, spi, IPPROTO_ESP, family);
#endif
}

/* The direction an IKE daemon gave the SA (XFRMA_SA_DIR, 6.10+): an input
 * SA never sends, an output SA never receives (the core drops its packets).
 * The core refuses a replay window on an output SA and oseq-may-wrap on an
 * input SA. Without a direction (and before 6.10) an SA may do both.
 */
static inline bool espx_sa_input_only(const struct xfrm_state *x)
{
#ifdef ESPX_HAVE_SA_DIR
	return x->dir == XFRM_SA_DIR_IN;
#else
	return false;
#endif
}

static inline bool espx_sa_output_only(const struct xfrm_state *x)
{
#ifdef ESPX_HAVE_SA_DIR
	return x->dir == XFRM_SA_DIR_OUT;
#else
	return false;
#endif
}

/* The crypto API passes a completion the request's data since 6.3, the
 * request itself before: a completion takes an ESPX_ASYNC_ARG and gets its
 * data with espx_async_data().
 */
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
#define ESPX_ASYNC_ARG void *

static inline void *espx_async_data(void *data)
{
	return data;
}
#else
#define ESPX_ASYNC_ARG struct crypto_async_request *

static inline void *espx_async_data(struct crypto_async_request *base)
{
	return base->data;
}
#endif

/* The parsed attributes of a generic netlink dump request (renamed in 6.2). */
static inline struct nlattr **espx_genl_dump_attrs(struct netlink_callback *cb)
{
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/* Drop reasons of the packets espx's protocol handlers free themselves
 * (kfree_skb tracepoint, drop monitors). The kernels have no ESP input
 * reason (xfrm has only XFRM_POLICY, 6.1 and 6.12 alike) and their enum
 * values differ from version to version: the closest generic reasons by
 * name, which 6.0 brought; before it, and for a packet naming no SA (the
 * core's own xfrm_input() frees those unspecified), NOT_SPECIFIED.
 */
#if KERNEL_VERSION(6, 0, 0) <= LINUX_VERSION_CODE
#define ESPX_DROP_SHORT		SKB_DROP_REASON_PKT_TOO_SMALL
#define ESPX_DROP_HDR		SKB_DROP_REASON_INVALID_PROTO
#else
#define ESPX_DROP_SHORT		SKB_DROP_REASON_NOT_SPECIFIED
#define ESPX_DROP_HDR		SKB_DROP_REASON_NOT_SPECIFIED
#endif
#define ESPX_DROP_NO_SA		SKB_DROP_REASON_NOT_SPECIFIED

#endif /* _NET_ESPX_COMPAT_H */
