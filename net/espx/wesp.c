// SPDX-License-Identifier: GPL-2.0
/* espx WESPv2 (wespv2.md): IP protocol 141 in front of the ESP header.
 *
 * The xfrm core still sees an ESP SA (proto 50): policies, SA lookup,
 * replay, lifetimes and modes stay the kernel's. espx adds three steps:
 *   init_state  size the header (espx_cfg_check() has checked the
 *               config against the SA)
 *   output      write the WESPv2 header where the core reserved room for
 *               it (x->props.header_len) and set the outer protocol to
 *               141; the AAD puts the header and options in front of the
 *               ESP AAD (espx_wesp_skb_aad())
 *   input       a protocol-141 handler per family validates the header,
 *               charges every malformed packet to its SA (or the netns),
 *               pulls the header and hands the ESP packet to xfrm_input()
 *               (which parses SPI and SN at the transport header, so that
 *               moves to ESP); esp.c's prepare step then takes the header
 *               left in the linear area just before skb->data
 *               (espx_wesp_in_prepare()) and builds the same AAD from it;
 *               after decryption the trailer of a clear window is checked
 *               against it (espx_wesp_in_trailer()).
 * The header arithmetic lives in the kernel-free codec/wesp_codec.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/protocol.h>
#include <net/xfrm.h>
#include <crypto/aead.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "crypto.h"
#include "wesp.h"
#include "proto.h"

/* codec verdict -> per-SA statistic */
static enum espx_stat espx_wesp_stat(int reason)
{
	switch (reason) {
	case ESPX_WESP_DROP_TRUNC:
		return ESPX_STAT_IN_DROP_WESP_TRUNCATED;
	case ESPX_WESP_DROP_VERSION:
		return ESPX_STAT_IN_DROP_WESP_VERSION;
	case ESPX_WESP_DROP_ALIGN:
		return ESPX_STAT_IN_DROP_WESP_ALIGN;
	case ESPX_WESP_DROP_OPT_TRUNC:
	case ESPX_WESP_DROP_PADN_NONZERO:
	case ESPX_WESP_DROP_OPT_MUTABLE:
		return ESPX_STAT_IN_DROP_WESP_OPTION;
	case ESPX_WESP_DROP_OPT_UNKNOWN:
		return ESPX_STAT_IN_DROP_WESP_OPT_UNKNOWN;
	case ESPX_WESP_DROP_HDRLEN:
		return ESPX_STAT_IN_DROP_WESP_HDRLEN;
	case ESPX_WESP_DROP_CRYPT_OFFSET:
	case ESPX_WESP_DROP_SHORT:
		return ESPX_STAT_IN_DROP_WESP_CRYPT_OFFSET;
	case ESPX_WESP_DROP_NEXTHDR:
	case ESPX_WESP_DROP_TRAILER_NH:
		return ESPX_STAT_IN_DROP_WESP_NEXTHDR;
	case ESPX_WESP_DROP_PADLEN:
		return ESPX_STAT_IN_DROP_PADDING;
	case ESPX_WESP_DROP_SUBSA_RANGE:
		return ESPX_STAT_IN_DROP_CTR_RANGE;
	default:
		return ESPX_STAT_IN_DROP_WESP_SUBSA;
	}
}

/* ---- init_state -------------------------------------------------------- */

/**
 * espx_wesp_init_state - size the WESPv2 header of an SA
 * @x: the state being built (config checked, crypto not yet allocated)
 * @sa: its espx state
 * @extack: error report
 *
 * Return: 0 (sa->ext.wesp_len set) or -errno with an extack message.
 */
int espx_wesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack)
{
	bool ipv6 = x->props.family == AF_INET6;

	if (!sa->cfg.wesp)
		return 0;
	sa->ext.wesp_optlen = espx_wesp_optlen(ipv6, sa->cfg.counters);
	sa->ext.wesp_len = ESPX_WESP_BASE_LEN + sa->ext.wesp_optlen;
	return 0;
}

/* ---- output ------------------------------------------------------------ */

/**
 * espx_wesp_out_head - write the WESPv2 header of one packet
 * @sa: the SA (WESPv2 configured)
 * @wh: where the header goes, p->wlen octets before the ESP header
 * @p: the packet: its payload length and protocol, its counter; out:
 *	p->clear, the octets its CryptOffset leaves in clear (wespv2.md §4)
 */
void espx_wesp_out_head(const struct espx_sa *sa, u8 *wh, struct espx_pkt *p)
{
	struct espx_wesp_tx tx = {
		.ipv6 = sa->x->props.family == AF_INET6,
		.subsa = sa->kind == ESPX_KIND_COUNTERS,
		.subsa_id = p->ctr_id,
		.nexthdr = p->nexthdr,
		.ivlen = ESPX_NONCE_IVLEN,
		.crypt_offset = espx_wesp_crypt_offset(sa->cfg.crypt_offset,
						       p->len),
	};

	/* cannot fail: the room was sized from the same codec at init */
	espx_wesp_build(wh, sa->ext.wesp_len, &tx);
	p->clear = 4 * tx.crypt_offset;
}

/**
 * espx_wesp_skb_aad - the AAD of a WESPv2 packet (wespv2.md §5), both ways
 * @skb: the packet; its header lies in the linear area
 * @esph: the ESP header's offset from skb->data; the WESPv2 header is the
 *	p->wlen octets before it
 * @p: the packet: p->seq, p->wlen, p->clear
 * @ivlen: IV octets after the ESP header, before the clear octets
 * @hi: SNhi is authenticated (ESN, counter SAs)
 * @aad: output, ESPX_WESP_AAD_MAX octets
 *
 * The codec builds it; clear octets in fragments are copied straight to
 * where the AAD wants them first.
 *
 * Return: the AAD length, or -EINVAL.
 */
int espx_wesp_skb_aad(const struct sk_buff *skb, unsigned int esph,
		      const struct espx_pkt *p, unsigned int ivlen, bool hi,
		      u8 *aad)
{
	const struct ip_esp_hdr *h = (const void *)(skb->data + esph);
	const u8 *clear = NULL;
	int n;

	if (p->clear) {
		clear = skb_header_pointer(skb, esph + ESPX_ESP_HDR_LEN + ivlen,
					   p->clear,
					   aad + espx_wesp_aad_clear_off(p->wlen,
									 hi));
		if (!clear)
			return -EINVAL;
	}
	n = espx_wesp_aad(aad, ESPX_WESP_AAD_MAX, (const u8 *)h - p->wlen,
			  p->wlen, (__force u32)h->spi, hi,
			  upper_32_bits(p->seq), lower_32_bits(p->seq), clear,
			  p->clear);
	return n < 0 ? -EINVAL : n;
}

/* ---- input ------------------------------------------------------------- */

/* Where the WESPv2 header of a received packet starts: right after the outer
 * IPv4 header, or after the IPv6 header chain (its options may make it
 * longer than the SA's own sending length). Return: offset from skb->data
 * (negative) or 0 when the packet came as protocol 50 / UDP.
 */
static int espx_wesp_start(const struct sk_buff *skb)
{
	int noff = skb_network_offset(skb);
	__be16 frag_off;
	int off;
	u8 nh;

	if (ip_hdr(skb)->version == 4) {
		if (ip_hdr(skb)->protocol != ESPX_IPPROTO_WESP)
			return 0;
		return noff + ip_hdr(skb)->ihl * 4;
	}
	if (skb_network_header(skb)[IP6CB(skb)->nhoff] != ESPX_IPPROTO_WESP)
		return 0;
	nh = ipv6_hdr(skb)->nexthdr;
	off = ipv6_skip_exthdr(skb, noff + sizeof(struct ipv6hdr), &nh,
			       &frag_off);
	/* -1 is the error value; a real header start lies before skb->data */
	return off == -1 || off >= 0 || nh != ESPX_IPPROTO_WESP ? 0 : off;
}

/**
 * espx_wesp_in_prepare - the WESPv2 step of esp.c's input prepare
 * @x: the SA the core found
 * @sa: its espx state
 * @skb: the packet, skb->data = ESP
 * @p: out: the header's length, clear octets, Next Header and Sub-SA ID
 *
 * Enforces "a WESPv2 SA accepts only WESPv2 and a plain SA only ESP" and
 * takes back, through the codec's parser, the header the protocol handler
 * validated and left in the linear area just before skb->data.
 *
 * Return: 0 (p->wlen == 0 for plain ESP) or -EINVAL, counted.
 */
int espx_wesp_in_prepare(struct xfrm_state *x, struct espx_sa *sa,
			 struct sk_buff *skb, struct espx_pkt *p)
{
	int start = x->encap ? 0 : espx_wesp_start(skb);
	struct espx_wesp_hdr h;

	if (!start != !sa->ext.wesp_len) {
		espx_stat_inc(sa, start ? ESPX_STAT_IN_DROP_WESP_PLAIN_SA :
				  ESPX_STAT_IN_DROP_WESP_NOT_WESP);
		return -EINVAL;
	}
	if (!start)
		return 0;
	/* the handler pulled exactly 4 + OptLen after validating it; a
	 * header after skb->data would be none of ours
	 */
	if (start > -ESPX_WESP_BASE_LEN ||
	    espx_wesp_parse(skb->data + start, skb_headlen(skb) - start,
			    x->props.family == AF_INET6, &h) ||
	    h.len != -start) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_WESP_HDRLEN);
		return -EINVAL;
	}
	p->wlen = h.len;
	p->clear = 4 * h.crypt_offset;
	p->nexthdr = h.nexthdr;
	p->ctr_id = h.subsa_id;		/* 0 without the option */
	return 0;
}

/**
 * espx_wesp_in_trailer - the trailer of a packet with a clear window
 * @sa: the SA
 * @p: from espx_wesp_in_prepare(), p->clear != 0
 * @elen: octets after the IV up to the ICV: clear, plaintext, trailer
 * @tr: the decrypted Pad Length and Next Header
 *
 * §7 step 9 by the codec: the padding lies in the encrypted part and the
 * trailer's Next Header is the header's.
 *
 * Return: the payload length from the end of the IV, or -EINVAL (counted).
 */
int espx_wesp_in_trailer(struct espx_sa *sa, const struct espx_pkt *p,
			 unsigned int elen, const u8 *tr)
{
	int len = espx_wesp_trailer_check(elen - p->clear, tr[0], tr[1],
					  p->clear / 4, p->nexthdr);

	if (len >= 0)
		return len;
	espx_stat_inc(sa, espx_wesp_stat(len));
	return -EINVAL;
}

/* multi-counters.md §5: a rate-limited audit trail of out-of-range
 * Sub-SA IDs (forged, or a peer configured with more counters than we are).
 */
static void espx_wesp_log_range(const struct sk_buff *skb,
				unsigned short family, __be32 spi, u16 id,
				u16 n)
{
	if (family == AF_INET)
		net_info_ratelimited("SA spi 0x%08x: Sub-SA ID %u >= %u counters from %pI4 to %pI4, dropped\n",
				     ntohl(spi), id, n,
				     &ip_hdr(skb)->saddr, &ip_hdr(skb)->daddr);
	else
		net_info_ratelimited("SA spi 0x%08x: Sub-SA ID %u >= %u counters from %pI6c to %pI6c, dropped\n",
				     ntohl(spi), id, n,
				     &ipv6_hdr(skb)->saddr,
				     &ipv6_hdr(skb)->daddr);
}

/* Steps 1-6 of wespv2.md §7 on a packet whose skb->data is the WESPv2
 * header. Every drop is counted where esp4 would count it (a header cut
 * before the SPI: XfrmInHdrError; no SA: XfrmInNoStates; a header its SA
 * refuses: XfrmInStateProtoError, as for an ESP input error) and in espx's
 * own statistics. Return: the header length to pull, or -1 (dropped; the
 * caller frees the skb with *@reason).
 */
static int espx_wesp_rcv_check(struct sk_buff *skb, unsigned short family,
			       enum skb_drop_reason *reason)
{
	struct net *net = dev_net(skb->dev);
	const xfrm_address_t *daddr;
	struct espx_wesp_hdr h;
	struct espx_wesp_sa sp;
	struct xfrm_state *x;
	struct espx_sa *sa;
	unsigned int need;
	int err;
	__be32 spi;

	/* enough to reach the SPI, so that the drop can be charged to an SA */
	need = ESPX_WESP_BASE_LEN;
	if (pskb_may_pull(skb, need))
		need += (skb->data[3] & ESPX_WESP_OPTLEN_MASK) +
			ESPX_ESP_HDR_LEN;
	if (!pskb_may_pull(skb, need)) {
		espx_ns_stat_inc(net, ESPX_NS_STAT_WESP_TRUNCATED);
		XFRM_INC_STATS(net, LINUX_MIB_XFRMINHDRERROR);
		*reason = ESPX_DROP_SHORT;
		return -1;
	}
	memcpy(&spi, skb->data + need - ESPX_ESP_HDR_LEN, sizeof(spi));

	if (family == AF_INET)
		daddr = (const xfrm_address_t *)&ip_hdr(skb)->daddr;
	else
		daddr = (const xfrm_address_t *)&ipv6_hdr(skb)->daddr;
	x = espx_rx_state_lookup(net, skb->mark, daddr, spi, family);
	if (!x) {
		*reason = espx_ipproto_no_sa(net, ESPX_KIND_WESP);
		return -1;
	}

	err = -1;
	*reason = ESPX_DROP_HDR;
	rcu_read_lock();
	sa = espx_sa_of(x);
	if (!sa)
		goto drop;
	if (!sa->ext.wesp_len) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_WESP_PLAIN_SA);
		goto drop;
	}
	err = espx_wesp_parse(skb->data, skb_headlen(skb), family == AF_INET6,
			      &h);
	if (!err) {
		sp.ivlen = ESPX_NONCE_IVLEN;
		sp.icvlen = crypto_aead_authsize(x->data);
		sp.crypt_offset_max = sa->cfg.crypt_offset;
		sp.ipv6 = family == AF_INET6;
		sp.counters = sa->cfg.counters;
		err = espx_wesp_check_sa(&h, &sp, skb->len);
	}
	if (err == ESPX_WESP_DROP_SUBSA_RANGE)
		espx_wesp_log_range(skb, family, spi, h.subsa_id,
				    sa->cfg.counters);
	if (err) {
		espx_stat_inc(sa, espx_wesp_stat(err));
		goto drop;
	}
	err = h.optlen + ESPX_WESP_BASE_LEN;
	goto out;
drop:
	XFRM_INC_STATS(net, LINUX_MIB_XFRMINSTATEPROTOERROR);
	err = -1;
out:
	rcu_read_unlock();
	xfrm_state_put(x);
	return err;
}

/**
 * espx_wesp_rcv - the receive step of protocol 141 (proto.c's handler)
 * @skb: skb->data is the WESPv2 header
 * @family: the outer family
 * @pull: out: the header's length; it stays in the linear area, for
 *	esp.c's prepare and AAD, when proto.c pulls it for xfrm_input()
 *
 * Return: SKB_NOT_DROPPED_YET, or the reason to drop the packet (counted).
 */
enum skb_drop_reason espx_wesp_rcv(struct sk_buff *skb, unsigned short family,
				   unsigned int *pull)
{
	enum skb_drop_reason reason;
	int hlen = espx_wesp_rcv_check(skb, family, &reason);

	if (hlen < 0)
		return reason;
	*pull = hlen;
	return SKB_NOT_DROPPED_YET;
}

/**
 * espx_wesp_err_known - does an ICMP error quote a packet of one of our SAs?
 * @skb: skb->data is the quoted IP header
 * @off: the WESPv2 header's offset in skb->data
 * @family: the quoted header's family
 */
bool espx_wesp_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family)
{
	xfrm_address_t daddr = {};
	struct xfrm_state *x;
	unsigned int optlen;
	__be32 spi;

	if (family == AF_INET)
		daddr.a4 = ((const struct iphdr *)skb->data)->daddr;
	else
		memcpy(&daddr.in6, &((const struct ipv6hdr *)skb->data)->daddr,
		       sizeof(daddr.in6));
	if (!pskb_may_pull(skb, off + ESPX_WESP_BASE_LEN))
		return false;
	optlen = skb->data[off + 3] & ESPX_WESP_OPTLEN_MASK;
	if (skb_copy_bits(skb, off + ESPX_WESP_BASE_LEN + optlen, &spi,
			  sizeof(spi)))
		return false;
	x = xfrm_state_lookup(dev_net(skb->dev), skb->mark, &daddr, spi,
			      IPPROTO_ESP, family);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}
