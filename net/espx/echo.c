// SPDX-License-Identifier: GPL-2.0
/* ESP Echo (esp-echo.md) in the espx data path.
 *
 * Responder (§5). esp.c hands every authenticated packet whose trailer Next
 * Header is 144 to espx_echo_input(), after the ICV check and the trailer
 * trim, from the synchronous return and from the async completion alike;
 * eesp.c does the same for an EESP packet whose PIH Next Header is 144,
 * after its Sub SA's window accepted it (README, ESP Echo, Decisions: on
 * EESP the echo message always has a PIH, also on an Optimized SA).
 * Echo messages never reach the xfrm core's mode input, the SPD or a
 * selector check: espx consumes them (returns -EINPROGRESS to the core,
 * drops the core's device reference, frees the skb). The core does not
 * advance its replay window for a consumed packet, and its advance is not
 * exported, so each SA keeps its own echo window (struct espx_echo_sa).
 * A request with R=1 is answered on the requested SA when it passes the
 * same-peer test, else on the paired SA, through a token bucket.
 *
 * Sending (replies and the initiator's requests). espx builds the whole
 * packet: outer IP header, room for UDP/WESPv2/ESP/IV, the echo payload,
 * then hands it to the SA's own output (y->type->output(), esp.c) exactly
 * as xfrm_output_one() would after the mode's output, with the SN taken as
 * the core takes it (under y->lock, same wrap and ESN rules, lifetime
 * check, curlft charged). So the SN of a reply SA is unique exactly as the
 * data path's: a plain SA's from the core's output counter, advanced under
 * y->lock as xfrm_replay_overflow() does; a nonce SA's (WESPv2 without
 * counters) through espx_keyseq_next() inside the output, the one source
 * of every SN sent under that key (seq.h); a counter SA's from the sending
 * CPU's counter (espx_ctr_next()); an EESP SA's inside its output
 * (espx_eesp_output()) from the sending CPU's Sub SA counter
 * (espx_ctr_take()): the same counter and key as its data packets, with
 * the same 2^63 / 2^64 - 1 limits. No (key, nonce) pair can repeat. The
 * packet gets a plain route (no xfrm_lookup, no SPD); a dst without ->xfrm
 * tells esp.c's async completion to come back here rather than to the core.
 *
 * Initiator (§6): sessions started by ESPX_CMD_ECHO send from a timer and
 * are matched by (Identifier, Sequence, peer address) when replies arrive.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/timer.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <crypto/aead.h>
#include <net/addrconf.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/xfrm.h>
#include "espx.h"
#include "sa.h"
#include "compat.h"
#include "counters.h"
#include "netlink.h"
#include "wesp.h"
#include "eesp.h"
#include "pkt.h"
#include "echo.h"
#include "codec/echo_codec.h"
#include "codec/eesp_codec.h"

static unsigned int echo_subtype_req = ESPX_ECHO_SUBTYPE_REQ;
module_param(echo_subtype_req, uint, 0444);
MODULE_PARM_DESC(echo_subtype_req,
		 "ESP Echo request AGGFRAG Sub-Type, 2..255 (default 2)");
static unsigned int echo_subtype_rep = ESPX_ECHO_SUBTYPE_REP;
module_param(echo_subtype_rep, uint, 0444);
MODULE_PARM_DESC(echo_subtype_rep,
		 "ESP Echo reply AGGFRAG Sub-Type, 2..255, not the request's (default 3)");
static unsigned int echo_rate = 10;
module_param(echo_rate, uint, 0644);
MODULE_PARM_DESC(echo_rate, "ESP Echo replies per second per SA, 0 = none (default 10)");
static unsigned int echo_burst = 10;
module_param(echo_burst, uint, 0644);
MODULE_PARM_DESC(echo_burst, "ESP Echo reply burst per SA (default 10)");
static bool echo_all;
module_param(echo_all, bool, 0644);
MODULE_PARM_DESC(echo_all, "Every espx SA answers ESP Echo requests (labs; default N)");

#define ESPX_ECHO_SESSIONS_MAX	64	/* per namespace (§6) */
#define ESPX_ECHO_PROBES_MAX	1024	/* outstanding per namespace */

static void espx_echo_count(struct espx_sa *sa, enum espx_stat id)
{
	espx_stat_inc(sa, id);
}

struct espx_echo_sa *espx_echo_sa_alloc(void)
{
	return kzalloc(sizeof(struct espx_echo_sa), GFP_KERNEL_ACCOUNT);
}

void espx_echo_sa_free(struct espx_echo_sa *e)
{
	kfree(e);
}

/* ---- unencrypted mode (§4): counted, never answered ------------------- */

/* Every ESP packet passes here: the SPI is read in place when the head
 * holds it (skb_copy_bits() for each packet cost more than the check).
 */
static void espx_echo_plain(struct sk_buff *skb)
{
	const __be32 *spi;
	__be32 buf;

	spi = skb_header_pointer(skb, 0, sizeof(buf), &buf);
	if (spi && (*spi == htonl(ESPX_ECHO_SPI_REQ) ||
		    *spi == htonl(ESPX_ECHO_SPI_REP)))
		espx_ns_stat_inc(dev_net(skb->dev), ESPX_NS_STAT_ECHO_PLAIN);
}

int espx_echo_rcv4(struct sk_buff *skb)
{
	espx_echo_plain(skb);
	return xfrm4_rcv(skb);
}

int espx_echo_rcv6(struct sk_buff *skb)
{
	espx_echo_plain(skb);
	return xfrm6_rcv(skb);
}

/* UDP-encapsulated ESP (RFC 3948): skb->data is the ESP header. */
int espx_echo_input_handler(struct sk_buff *skb, int nexthdr, __be32 spi,
			    int encap_type)
{
	if (nexthdr == IPPROTO_ESP && !spi)
		espx_echo_plain(skb);
	return xfrm_input(skb, nexthdr, spi, encap_type);
}

/* ---- SA selection ------------------------------------------------------ */

/**
 * espx_echo_kind_ok - can SAs of this kind carry ESP Echo messages?
 * @kind: the SA's (or the config's) kind
 *
 * The one place that decides it: the echo flag (netlink.c), the initiator
 * (espx_echo_check()), the reply SA (espx_echo_sender()) and the responder
 * (espx_echo_input()) all ask here; a refusal says ESPX_ECHO_KIND_REFUSED.
 * Diet-ESP: no (esp-echo.md §5 step 3). EESP: yes, as espx decided (README,
 * ESP Echo, Decisions): the echo message is the payload with PIH Next
 * Header 144, in either format.
 */
bool espx_echo_kind_ok(enum espx_kind kind)
{
	return kind != ESPX_KIND_DIET;
}

/* An espx SA that may send an echo message: valid, bound, of a kind that
 * carries echo messages.
 */
static struct espx_sa *espx_echo_sender(struct xfrm_state *y)
{
	struct espx_sa *ysa;

	if (READ_ONCE(y->km.state) != XFRM_STATE_VALID)
		return NULL;
#ifdef ESPX_HAVE_SA_DIR
	if (y->dir == XFRM_SA_DIR_IN)
		return NULL;
#endif
	ysa = espx_sa_of(y);
	if (!ysa || !espx_echo_kind_ok(ysa->kind))
		return NULL;
	return ysa;
}

/* y's addresses are x's swapped, with x's family, mark and if_id. */
static bool espx_echo_same_peer(const struct xfrm_state *x,
				const struct xfrm_state *y)
{
	u16 f = x->props.family;

	return y->props.family == f &&
	       xfrm_addr_equal(&y->props.saddr, &x->id.daddr, f) &&
	       xfrm_addr_equal(&y->id.daddr, &x->props.saddr, f) &&
	       y->mark.v == x->mark.v && y->mark.m == x->mark.m &&
	       y->if_id == x->if_id && y->id.proto == IPPROTO_ESP;
}

struct espx_echo_pair {
	const struct xfrm_state *x;
	struct xfrm_state *best;	/* held */
};

/* Under the core's state lock: the newest SA paired with a->x. */
static int espx_echo_pair_fn(struct xfrm_state *y, int count, void *ptr)
{
	struct espx_echo_pair *a = ptr;
	const struct xfrm_state *x = a->x;

	if (y == x || y->props.reqid != x->props.reqid ||
	    !espx_echo_same_peer(x, y) || !espx_echo_sender(y))
		return 0;
	/* state_all is in insertion order: a later one is newer on a tie */
	if (a->best && a->best->curlft.add_time > y->curlft.add_time)
		return 0;
	if (a->best)
		xfrm_state_put(a->best);
	xfrm_state_hold(y);
	a->best = y;
	return 0;
}

/* The paired SA of @x (§5 step 10.2, §6 default reply SPI), held. */
static struct xfrm_state *espx_echo_pair_of(struct xfrm_state *x)
{
	struct espx_echo_pair a = { .x = x };
	struct xfrm_state_walk walk;

	xfrm_state_walk_init(&walk, IPPROTO_ESP, NULL);
	xfrm_state_walk(xs_net(x), &walk, espx_echo_pair_fn, &a);
	xfrm_state_walk_done(&walk, xs_net(x));
	return a.best;
}

/* The state named by @spi towards x's peer, if it passes the same-peer
 * test (§5 step 10.1); held.
 */
static struct xfrm_state *espx_echo_named(struct xfrm_state *x,
					  __be32 spi)
{
	struct xfrm_state *y;

	if (!spi)
		return NULL;
	y = xfrm_state_lookup(xs_net(x), x->mark.v, &x->props.saddr, spi,
			      IPPROTO_ESP, x->props.family);
	if (y && (!espx_echo_same_peer(x, y) || !espx_echo_sender(y))) {
		xfrm_state_put(y);
		y = NULL;
	}
	return y;
}

/* ---- sending ------------------------------------------------------------ */

/* The core's output SN for one packet, as xfrm_replay_overflow() takes it
 * (6.1 and 6.12 alike), under y->lock. Not exported, hence here. Without
 * the replay notification for XFRM_MSG_NEWAE listeners.
 */
static int espx_echo_oseq(struct xfrm_state *y, struct sk_buff *skb)
{
	struct xfrm_replay_state_esn *esn = y->replay_esn;
	bool wrap = y->props.extra_flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP;

	switch (y->repl_mode) {
	case XFRM_REPLAY_MODE_BMP:
		XFRM_SKB_CB(skb)->seq.output.low = ++esn->oseq;
		XFRM_SKB_CB(skb)->seq.output.hi = 0;
		if (unlikely(!esn->oseq) && !wrap) {
			esn->oseq--;
			return -EOVERFLOW;
		}
		return 0;
	case XFRM_REPLAY_MODE_ESN:
		XFRM_SKB_CB(skb)->seq.output.low = ++esn->oseq;
		XFRM_SKB_CB(skb)->seq.output.hi = esn->oseq_hi;
		if (unlikely(!esn->oseq)) {
			XFRM_SKB_CB(skb)->seq.output.hi = ++esn->oseq_hi;
			if (!esn->oseq_hi) {
				esn->oseq--;
				esn->oseq_hi--;
				return -EOVERFLOW;
			}
		}
		return 0;
	default:
		XFRM_SKB_CB(skb)->seq.output.low = ++y->replay.oseq;
		XFRM_SKB_CB(skb)->seq.output.hi = 0;
		if (unlikely(!y->replay.oseq) && !wrap) {
			y->replay.oseq--;
			return -EOVERFLOW;
		}
		return 0;
	}
}

/* A plain route to the SA's peer from its source: no xfrm_lookup. */
static struct dst_entry *espx_echo_route(struct xfrm_state *y)
{
	struct net *net = xs_net(y);
	struct dst_entry *dst;

	if (y->props.family == AF_INET) {
		struct flowi4 fl4 = {
			.daddr = y->id.daddr.a4,
			.saddr = y->props.saddr.a4,
			.flowi4_mark = xfrm_smark_get(0, y),
		};
		struct rtable *rt = ip_route_output_key(net, &fl4);

		return IS_ERR(rt) ? ERR_CAST(rt) : &rt->dst;
	}
#if IS_ENABLED(CONFIG_IPV6)
	{
		struct flowi6 fl6 = {
			.daddr = y->id.daddr.in6,
			.saddr = y->props.saddr.in6,
			.flowi6_mark = xfrm_smark_get(0, y),
		};
		int err;

		dst = ip6_route_output(net, NULL, &fl6);
		err = dst->error;
		if (err) {
			dst_release(dst);
			return ERR_PTR(err);
		}
		return dst;
	}
#else
	return ERR_PTR(-EAFNOSUPPORT);
#endif
}

/* Octets between the outer IP header and the payload on SA y. */
static unsigned int espx_echo_hlen(const struct xfrm_state *y,
				   const struct espx_sa *ysa)
{
	unsigned int hlen = ESPX_ESP_HDR_LEN + ysa->req.ivlen +
			    ysa->ext.wesp_len;

	if (ysa->kind == ESPX_KIND_EESP)	/* no UDP encapsulation */
		return espx_eesp_echo_hdr_len(ysa);
	if (y->encap) {
		hlen += sizeof(struct udphdr);
		if (READ_ONCE(y->encap->encap_type) ==
		    UDP_ENCAP_ESPINUDP_NON_IKE)
			hlen += 2 * sizeof(u32);
	}
	return hlen;
}

/* The outer IP header of an echo packet, protocol 144 until esp.c writes
 * ESP, UDP or WESPv2 over it (the mac header points at that field).
 */
static void espx_echo_iphdr(struct sk_buff *skb, const struct xfrm_state *y,
			    struct dst_entry *dst)
{
	if (y->props.family == AF_INET) {
		struct iphdr *iph = ip_hdr(skb);

		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = 0;	/* __ip_local_out() */
		iph->id = 0;
		iph->frag_off = htons(IP_DF);	/* never fragmented (§7) */
		iph->ttl = ip4_dst_hoplimit(dst);
		iph->protocol = ESPX_IPPROTO_AGGFRAG;
		iph->check = 0;
		iph->saddr = y->props.saddr.a4;
		iph->daddr = y->id.daddr.a4;
		skb_set_mac_header(skb, skb_network_offset(skb) +
				   offsetof(struct iphdr, protocol));
		skb->protocol = htons(ETH_P_IP);
	} else {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = 0;	/* __ip6_local_out() */
		ip6h->nexthdr = ESPX_IPPROTO_AGGFRAG;
		ip6h->hop_limit = ip6_dst_hoplimit(dst);
		ip6h->saddr = y->props.saddr.in6;
		ip6h->daddr = y->id.daddr.in6;
		skb_set_mac_header(skb, skb_network_offset(skb) +
				   offsetof(struct ipv6hdr, nexthdr));
		skb->protocol = htons(ETH_P_IPV6);
	}
}

/* After y's output (sync) or its completion (async): route it out. Drops
 * the reference espx_echo_xmit() took on y.
 */
static void espx_echo_finish(struct xfrm_state *y, struct espx_sa *ysa,
			     struct sk_buff *skb, int err)
{
	struct net *net = xs_net(y);

	if (err) {
		espx_echo_count(ysa, ESPX_STAT_OUT_DROP_ECHO);
		kfree_skb(skb);
		xfrm_state_put(y);
		return;
	}
	skb->encapsulation = 0;
	if (y->props.family == AF_INET) {
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
		ip_local_out(net, NULL, skb);
	} else {
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
		ip6_local_out(net, NULL, skb);
	}
	xfrm_state_put(y);
}

/* esp.c's async completion of an echo packet (skb_dst(skb)->xfrm NULL). */
void espx_echo_output_done(struct sk_buff *skb, struct espx_sa *sa, int err)
{
	espx_echo_finish(sa->x, sa, skb, err);
}

/**
 * espx_echo_xmit - build and send one echo message on the outbound SA y
 * @y: the SA (held by the caller)
 * @ysa: its espx state
 * @req: a reply: the request, its payload at @off, @len octets; NULL: a
 *	request built from @h
 * @off: see @req
 * @len: see @req
 * @budget: a reply: the request's outer size, which the reply must not
 *	exceed (§3); 0: only the path MTU limits
 * @h: a request's header (Data: octet i = i & 0xff)
 *
 * Return: 0 when the packet went to y's output (sent, or sent later by the
 * async completion), else -errno (counted out-drop-echo once). A full
 * crypto queue, which y's output reports as NET_XMIT_DROP (like esp4/esp6),
 * is -ENOBUFS: congestion, not an SA that cannot send.
 */
static int espx_echo_xmit(struct xfrm_state *y, struct espx_sa *ysa,
			  const struct sk_buff *req, unsigned int off, u32 len,
			  u32 budget, const struct espx_echo_hdr *h)
{
	bool v6 = y->props.family == AF_INET6;
	unsigned int iphlen = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	unsigned int hlen = espx_echo_hlen(y, ysa);
	unsigned int alen = crypto_aead_authsize(y->data);
	u32 mtu, room, pmax, plen;
	struct dst_entry *dst;
	struct sk_buff *skb;
	int err;
	u8 *p;

	dst = espx_echo_route(y);
	if (IS_ERR(dst)) {
		err = PTR_ERR(dst);
		goto count;
	}
	mtu = dst_mtu(dst);
	if (budget && budget < mtu)
		mtu = budget;
	room = mtu > iphlen + hlen + alen ? mtu - iphlen - hlen - alen : 0;
	/* EESP: zero padding after the PIH, no trailer */
	pmax = ysa->kind == ESPX_KIND_EESP ? espx_eesp_payload_max(room) :
	       espx_echo_payload_max(room, ysa->req.blksize);
	plen = req ? min(len, pmax) : ESPX_ECHO_HDR_LEN + h->dlen;
	if (plen > pmax || plen < ESPX_ECHO_HDR_LEN) {
		err = -EMSGSIZE;
		goto release;
	}

	skb = alloc_skb(LL_RESERVED_SPACE(dst->dev) + iphlen + hlen + plen +
			ysa->req.blksize + ESPX_ESP_TRAILER_MIN + alen,
			GFP_ATOMIC);
	if (!skb) {
		err = -ENOMEM;
		goto release;
	}
	skb_reserve(skb, LL_RESERVED_SPACE(dst->dev) + iphlen + hlen);
	p = skb_put(skb, plen);
	if (req) {
		if (skb_copy_bits(req, off, p, plen) ||
		    espx_echo_reply(p, len, plen, echo_subtype_rep) != plen) {
			err = -EINVAL;
			goto free;
		}
	} else {
		espx_echo_build(p, h);
		espx_echo_fill_data(p + ESPX_ECHO_HDR_LEN, h->dlen);
	}
	/* as the mode's output leaves it for the type (esp.c espx_output) */
	skb_set_network_header(skb, -(int)(iphlen + hlen));
	skb_set_transport_header(skb, -(int)hlen);
	espx_echo_iphdr(skb, y, dst);
	skb->mark = xfrm_smark_get(0, y);

	/* the SN, lifetime and charge exactly as xfrm_output_one() */
	spin_lock_bh(&y->lock);
	if (y->km.state != XFRM_STATE_VALID)
		err = -EINVAL;
	else
		err = xfrm_state_check_expire(y);
	if (!err)
		err = espx_echo_oseq(y, skb);
	if (!err) {
		y->curlft.bytes += skb->len;
		y->curlft.packets++;
	}
	spin_unlock_bh(&y->lock);
	if (err)
		goto free;

	/* a route without ->xfrm marks the packet as ours for esp.c */
	skb_dst_set(skb, dst);
	espx_echo_count(ysa, req ? ESPX_STAT_OUT_ECHO_REPLY :
			ESPX_STAT_OUT_ECHO_REQUEST);
	xfrm_state_hold(y);
	err = y->type->output(y, skb);
	if (err == -EINPROGRESS)
		return 0;
	/* NET_XMIT_DROP: the crypto queue was full (esp.c, eesp.c) */
	if (err > 0)
		err = -ENOBUFS;
	espx_echo_finish(y, ysa, skb, err);
	return err;

free:
	kfree_skb(skb);
release:
	dst_release(dst);
count:
	espx_echo_count(ysa, ESPX_STAT_OUT_DROP_ECHO);
	return err;
}

/* ---- responder ---------------------------------------------------------- */

/* §5 step 4 for an SA without counters: the echo window, 64 SNs. */
static bool espx_echo_window(struct espx_echo_sa *e, u64 sn)
{
	u64 d;

	if (!e->seen || sn > e->top) {
		d = e->seen ? sn - e->top : 64;
		e->bitmap = d >= 64 ? 0 : e->bitmap << d;
		e->bitmap |= 1;
		e->top = sn;
		e->seen = true;
		return true;
	}
	d = e->top - sn;
	if (d >= 64 || e->bitmap & BIT_ULL(d))
		return false;
	e->bitmap |= BIT_ULL(d);
	return true;
}

/* Token bucket (§5 step 9), under x->lock. */
static bool espx_echo_take(struct espx_echo_sa *e)
{
	u32 rate = READ_ONCE(echo_rate), burst = READ_ONCE(echo_burst);
	u64 now = ktime_get_ns(), cap, el;

	if (!rate || !burst)
		return false;
	cap = (u64)burst * NSEC_PER_SEC;
	if (!e->stamp) {
		e->tokens = cap;
	} else {
		el = now - e->stamp;
		if (el >= div_u64(cap, rate))
			e->tokens = cap;
		else
			e->tokens = min(cap, e->tokens + el * rate);
	}
	e->stamp = now ?: 1;
	if (e->tokens < NSEC_PER_SEC)
		return false;
	e->tokens -= NSEC_PER_SEC;
	return true;
}

/* Replay check and charge (§5 step 4). Return: 0 or -errno (counted). */
static int espx_echo_accept(struct xfrm_state *x, struct espx_sa *sa,
			    struct sk_buff *skb, const struct espx_pkt *p)
{
	bool fresh = true;
	u64 sn;

	/* EESP: eesp.c has advanced the Sub SA's window (counters.c) */
	if (sa->kind == ESPX_KIND_EESP) {
		spin_lock_bh(&x->lock);
		x->curlft.bytes += skb->len;
		x->curlft.packets++;
		spin_unlock_bh(&x->lock);
		return 0;
	}
	if (sa->kind == ESPX_KIND_COUNTERS) {
		/* the counter's own check-and-advance (counts its drop) */
		int err = espx_ctr_input_accept(sa, p->ctr_id, p->seq,
						skb->len);
		if (err)
			return err;
	}
	sn = (u64)ntohl(XFRM_SKB_CB(skb)->seq.input.hi) << 32 |
	     ntohl(XFRM_SKB_CB(skb)->seq.input.low);
	spin_lock_bh(&x->lock);
	if (sa->kind != ESPX_KIND_COUNTERS)
		fresh = espx_echo_window(sa->echo, sn);
	if (fresh) {
		x->curlft.bytes += skb->len;
		x->curlft.packets++;
	}
	spin_unlock_bh(&x->lock);
	if (!fresh) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_REPLAY);
		return -EINVAL;
	}
	return 0;
}

/* The size of the request on the wire (the reply must not exceed it). */
static u32 espx_echo_req_size(const struct xfrm_state *x,
			      const struct sk_buff *skb)
{
	u32 n;

	if (ip_hdr(skb)->version == 4)
		n = ntohs(ip_hdr(skb)->tot_len);
	else
		n = sizeof(struct ipv6hdr) + ntohs(ipv6_hdr(skb)->payload_len);
	/* RFC 3948 input took the UDP header off the IP length */
	if (x->encap) {
		n += sizeof(struct udphdr);
		if (READ_ONCE(x->encap->encap_type) ==
		    UDP_ENCAP_ESPINUDP_NON_IKE)
			n += 2 * sizeof(u32);
	}
	return n;
}

/* §5 steps 8-11 for a well-formed request. */
static void espx_echo_answer(struct xfrm_state *x, struct espx_sa *sa,
			     struct sk_buff *skb, unsigned int hlen, u32 len,
			     const struct espx_echo_hdr *h)
{
	struct xfrm_state *y;
	struct espx_sa *ysa;
	int err;
	bool ok;

	espx_echo_count(sa, ESPX_STAT_IN_ECHO_REQUEST);
	if (!sa->cfg.echo && !READ_ONCE(echo_all)) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_DISABLED);
		return;
	}
	if (!espx_echo_r(h)) {
		espx_echo_count(sa, ESPX_STAT_IN_ECHO_ONEWAY);
		return;
	}
	spin_lock_bh(&x->lock);
	ok = espx_echo_take(sa->echo);
	spin_unlock_bh(&x->lock);
	if (!ok) {
		espx_echo_count(sa, ESPX_STAT_IN_ECHO_RATELIMITED);
		return;
	}
	/* the named SA; if it cannot send (it expired as its SN was taken),
	 * the pair, as for any SA failing the same-peer test. A reply too
	 * large, without memory or refused by a full crypto queue (-ENOBUFS:
	 * the pair would meet the same congestion) is a drop, counted once
	 * by espx_echo_xmit()
	 */
	y = espx_echo_named(x, htonl(h->reply_spi));
	if (y) {
		ysa = espx_sa_of(y);
		err = ysa ? espx_echo_xmit(y, ysa, skb, hlen, len,
					   espx_echo_req_size(x, skb), NULL) :
			    -ENOENT;
		xfrm_state_put(y);
		if (!err || err == -EMSGSIZE || err == -ENOMEM ||
		    err == -ENOBUFS)
			return;
	}
	y = espx_echo_pair_of(x);
	if (!y) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_NO_SA);
		return;
	}
	espx_echo_count(sa, ESPX_STAT_ECHO_REPLY_FALLBACK);
	ysa = espx_sa_of(y);
	if (ysa)
		espx_echo_xmit(y, ysa, skb, hlen, len,
			       espx_echo_req_size(x, skb), NULL);
	xfrm_state_put(y);
}

static void espx_echo_reply_in(struct xfrm_state *x, struct espx_sa *sa,
			       struct sk_buff *skb, unsigned int hlen,
			       const struct espx_echo_hdr *h);

/**
 * espx_echo_input - an authenticated packet with Next Header 144 (§5)
 * @x: the SA it came on
 * @sa: its espx state
 * @skb: data at the ESP header, the trailer and ICV trimmed
 * @hlen: octets from skb->data to the payload
 * @pkt: the packet's facts from esp.c (a counter SA's counter and SN)
 *
 * Return: -EINPROGRESS when consumed (the core's device reference dropped,
 * the skb freed: the caller must not touch it), or -errno for the core to
 * drop it (counted here).
 */
int espx_echo_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb, unsigned int hlen,
		    const struct espx_pkt *pkt)
{
	u8 buf[ESPX_ECHO_HDR_LEN];
	struct espx_echo_hdr h;
	u32 len = skb->len - hlen;
	const u8 *p;
	int res;

	p = skb_header_pointer(skb, hlen, min_t(u32, len, sizeof(buf)), buf);
	if (!p) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_NOMEM);
		return -ENOMEM;
	}
	res = espx_echo_classify(p, len, echo_subtype_req, echo_subtype_rep);
	if (res == ESPX_ECHO_RX_AGGFRAG) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_AGGFRAG);
		return -EINVAL;
	}
	if (res == ESPX_ECHO_RX_TRUNCATED) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_TRUNCATED);
		return -EINVAL;
	}
	if (!espx_echo_kind_ok(sa->kind)) {
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_UNSUPPORTED);
		return -EOPNOTSUPP;
	}
	res = espx_echo_accept(x, sa, skb, pkt);
	if (res)
		return res;

	/* consumed from here on: authenticated, fresh, charged */
	res = espx_echo_parse(p, len, echo_subtype_req, echo_subtype_rep, &h);
	if (res == ESPX_ECHO_RX_TRUNCATED)
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_TRUNCATED);
	else if (res == ESPX_ECHO_RX_LENGTH)
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_LENGTH);
	else if (res == ESPX_ECHO_RX_REPLY)
		espx_echo_reply_in(x, sa, skb, hlen, &h);
	else
		espx_echo_answer(x, sa, skb, hlen, len, &h);

	dev_put(skb->dev);	/* the core's dev_hold() around ->input() */
	consume_skb(skb);
	return -EINPROGRESS;
}

/* ---- initiator ---------------------------------------------------------- */

struct espx_echo_probe {
	u64 sent_ns;
	unsigned long deadline;		/* jiffies */
	bool pending;			/* sent, waiting for the reply */
};

struct espx_echo_sess {
	struct list_head node;		/* espx_echo_sessions */
	struct net *net;		/* no reference: pernet exit ends us */
	u32 portid;
	struct espx_sa_id id;		/* the probed outbound SA */
	xfrm_address_t local;		/* its source: the reply SA's daddr */
	__be32 reply_spi;		/* 0 when one-way */
	u64 in_start;			/* reply SA's packets at the start */
	u32 count, sent, resolved;
	unsigned long interval, timeout;	/* jiffies */
	unsigned long next_send;
	u16 size, ident;
	bool oneway, dead, cancel;
	struct timer_list timer;
	struct espx_echo_probe probe[];
};

static DEFINE_SPINLOCK(espx_echo_lock);
static LIST_HEAD(espx_echo_sessions);
static bool espx_echo_closed;	/* module exit: no new sessions */

/* Under espx_echo_lock; the timer is never armed again once dead. */
static void espx_echo_arm(struct espx_echo_sess *s, unsigned long when)
{
	if (!s->dead)
		mod_timer(&s->timer, when);
}

static struct espx_echo_sess *espx_echo_find(const struct net *net,
					     u16 ident)
{
	struct espx_echo_sess *s;

	list_for_each_entry(s, &espx_echo_sessions, node)
		if (s->net == net && s->ident == ident && !s->dead)
			return s;
	return NULL;
}

/* The reply SA's inbound packet count (the liveness hint of §1). */
static bool espx_echo_in_packets(struct net *net, const struct espx_sa_id *id,
				 const xfrm_address_t *local, __be32 spi,
				 u64 *packets)
{
	struct xfrm_state *y;

	if (!spi)
		return false;
	y = xfrm_state_lookup(net, id->mark, local, spi, IPPROTO_ESP,
			      id->family);
	if (!y)
		return false;
	spin_lock_bh(&y->lock);
	*packets = y->curlft.packets;
	spin_unlock_bh(&y->lock);
	xfrm_state_put(y);
	return true;
}

/* A result with what its sending needs, copied under espx_echo_lock: the
 * session may be gone by the time it is sent.
 */
struct espx_echo_out {
	struct espx_echo_result r;
	struct net *net;
	u32 portid;
	xfrm_address_t local;
	u64 in_start;
};

/* Under espx_echo_lock. */
static void espx_echo_prep(const struct espx_echo_sess *s,
			   struct espx_echo_out *o)
{
	o->r.id = s->id;
	o->r.ident = s->ident;
	o->r.reply_spi = s->reply_spi;
	o->net = s->net;
	o->portid = s->portid;
	o->local = s->local;
	o->in_start = s->in_start;
}

/* Send one result; the requester's port gone cancels the rest (§6). */
static void espx_echo_emit(struct espx_echo_out *o)
{
	struct espx_echo_result *r = &o->r;
	struct espx_echo_sess *s;
	u64 now;

	if (r->done && espx_echo_in_packets(o->net, &r->id, &o->local,
					    r->reply_spi, &now)) {
		r->has_delta = true;
		r->in_delta = now - o->in_start;
	}
	if (espx_nl_echo_result(o->net, o->portid, r) != -ECONNREFUSED)
		return;
	spin_lock_bh(&espx_echo_lock);
	s = espx_echo_find(o->net, r->ident);
	if (s && s->portid == o->portid) {
		s->cancel = true;
		espx_echo_arm(s, jiffies);
	}
	spin_unlock_bh(&espx_echo_lock);
}

/* Under espx_echo_lock: one probe settled. Return: it was the last. */
static bool espx_echo_settle(struct espx_echo_sess *s, u16 seq)
{
	s->probe[seq - 1].pending = false;
	return ++s->resolved == s->count;
}

/* Send probe @seq (timer context, outside the lock). */
static int espx_echo_send(struct espx_echo_sess *s, u16 seq)
{
	struct espx_echo_hdr h = {
		.subtype = echo_subtype_req,
		.flags = s->oneway ? 0 : ESPX_ECHO_R,
		.dlen = s->size,
		.ident = s->ident,
		.seq = seq,
		.reply_spi = ntohl(s->reply_spi),
	};
	struct xfrm_state *x;
	struct espx_sa *sa;
	int err = -ENOENT;

	x = xfrm_state_lookup(s->net, s->id.mark, &s->id.daddr, s->id.spi,
			      IPPROTO_ESP, s->id.family);
	if (!x)
		return err;
	sa = espx_sa_of(x);
	if (sa && x->km.state == XFRM_STATE_VALID)
		err = espx_echo_xmit(x, sa, NULL, 0, 0, 0, &h);
	else if (sa)
		err = -EINVAL;
	xfrm_state_put(x);
	return err;
}

/* Drop a finished or cancelled session; under espx_echo_lock. */
static bool espx_echo_unlink(struct espx_echo_sess *s)
{
	if (s->dead)
		return false;
	s->dead = true;
	list_del(&s->node);
	return true;
}

static void espx_echo_tick(struct timer_list *t)
{
	struct espx_echo_sess *s = from_timer(s, t, timer);
	struct espx_echo_out o;
	struct espx_echo_result *r = &o.r;
	unsigned long next;
	u16 seq;
	int err;
	u32 i;

	for (;;) {
		memset(&o, 0, sizeof(o));
		seq = 0;
		spin_lock_bh(&espx_echo_lock);
		if (s->dead) {
			spin_unlock_bh(&espx_echo_lock);
			return;
		}
		if (s->cancel || s->resolved == s->count) {
			bool mine = espx_echo_unlink(s);

			spin_unlock_bh(&espx_echo_lock);
			if (!mine)
				return;
			/* While this run sent outside the lock, a reply or a
			 * cancel on another CPU may have armed the timer again
			 * (it stays on this CPU's base, not run before we
			 * return). Dead, it is never armed again: one
			 * del_timer() leaves nothing pending on the memory.
			 */
			del_timer(&s->timer);
			kfree(s);
			return;
		}
		/* a timeout first, then the next probe due */
		for (i = 0; i < s->sent; i++) {
			struct espx_echo_probe *p = &s->probe[i];

			if (p->pending && time_after_eq(jiffies, p->deadline)) {
				r->seq = i + 1;
				r->status = ESPX_PROBE_STATUS_TIMEOUT;
				r->done = espx_echo_settle(s, r->seq);
				break;
			}
		}
		if (!r->seq && s->sent < s->count &&
		    time_after_eq(jiffies, s->next_send)) {
			seq = ++s->sent;
			s->next_send = jiffies + s->interval;
			s->probe[seq - 1].sent_ns = ktime_get_ns();
			s->probe[seq - 1].deadline = jiffies + s->timeout;
			s->probe[seq - 1].pending = true;
		}
		if (r->seq)
			espx_echo_prep(s, &o);
		if (!r->seq && !seq) {
			/* nothing due: sleep until the next event */
			next = s->sent < s->count ? s->next_send :
						    jiffies + s->timeout;
			for (i = 0; i < s->sent; i++)
				if (s->probe[i].pending &&
				    time_before(s->probe[i].deadline, next))
					next = s->probe[i].deadline;
			espx_echo_arm(s, next);
			spin_unlock_bh(&espx_echo_lock);
			return;
		}
		spin_unlock_bh(&espx_echo_lock);

		if (seq) {
			err = espx_echo_send(s, seq);
			if (!err && !s->oneway)
				continue;
			spin_lock_bh(&espx_echo_lock);
			if (!s->probe[seq - 1].pending) {	/* answered */
				spin_unlock_bh(&espx_echo_lock);
				continue;
			}
			r->seq = seq;
			r->status = err ? ESPX_PROBE_STATUS_SEND_ERROR :
					 ESPX_PROBE_STATUS_SENT;
			r->err = -err;
			r->done = espx_echo_settle(s, seq);
			espx_echo_prep(s, &o);
			spin_unlock_bh(&espx_echo_lock);
		}
		espx_echo_emit(&o);
	}
}

/* Does the reply's Data match what we sent (a prefix of it)? */
static bool espx_echo_data_match(const struct sk_buff *skb, unsigned int off,
				 u32 dlen, u32 size)
{
	u8 buf[64];
	u32 i, n;

	if (dlen > size)
		return false;
	for (i = 0; i < dlen; i += n) {
		n = min_t(u32, sizeof(buf), dlen - i);
		if (skb_copy_bits(skb, off + i, buf, n) ||
		    !espx_echo_data_ok_from(buf, n, i))
			return false;
	}
	return true;
}

/* §5 step 6 / §6: a reply, authenticated and fresh, on inbound SA x. */
static void espx_echo_reply_in(struct xfrm_state *x, struct espx_sa *sa,
			       struct sk_buff *skb, unsigned int hlen,
			       const struct espx_echo_hdr *h)
{
	struct net *net = xs_net(x);
	struct espx_echo_out o = { };
	struct espx_echo_result *r = &o.r;
	struct espx_echo_sess *s;
	xfrm_address_t peer = { };
	bool data_ok;
	u64 now = ktime_get_ns();

	if (x->props.family == AF_INET)
		peer.a4 = ip_hdr(skb)->saddr;
	else
		peer.in6 = ipv6_hdr(skb)->saddr;

	spin_lock_bh(&espx_echo_lock);
	s = espx_echo_find(net, h->ident);
	if (!s || s->oneway || s->id.family != x->props.family ||
	    !xfrm_addr_equal(&s->id.daddr, &peer, s->id.family) ||
	    !h->seq || h->seq > s->sent || !s->probe[h->seq - 1].pending) {
		spin_unlock_bh(&espx_echo_lock);
		espx_echo_count(sa, ESPX_STAT_IN_DROP_ECHO_UNSOLICITED);
		return;
	}
	data_ok = espx_echo_data_match(skb, hlen + ESPX_ECHO_HDR_LEN, h->dlen,
				       s->size);
	r->seq = h->seq;
	r->rtt_ns = now - s->probe[h->seq - 1].sent_ns;
	r->data_len = h->dlen;
	r->status = !data_ok ? ESPX_PROBE_STATUS_DATA_MISMATCH :
		   x->id.spi == s->reply_spi ? ESPX_PROBE_STATUS_REPLY :
					       ESPX_PROBE_STATUS_REPLY_OTHER_SA;
	espx_sa_id_from_state(&r->reply_sa, x);
	r->has_reply_sa = true;
	r->done = espx_echo_settle(s, h->seq);
	if (r->done)
		espx_echo_arm(s, jiffies);	/* the timer frees it */
	espx_echo_prep(s, &o);
	spin_unlock_bh(&espx_echo_lock);
	espx_echo_count(sa, ESPX_STAT_IN_ECHO_REPLY);
	espx_echo_emit(&o);
}

/* Is @a an address of this namespace (the SA sends from here)? */
static bool espx_echo_local(struct net *net, const xfrm_address_t *a,
			    u16 family)
{
	if (family == AF_INET)
		return inet_addr_type(net, a->a4) == RTN_LOCAL;
#if IS_ENABLED(CONFIG_IPV6)
	return ipv6_chk_addr(net, &a->in6, NULL, 0);
#else
	return false;
#endif
}

/* Check the probed SA and find the reply SA (§7). Return: 0 with
 * *reply_spi / *in_start set, or -errno with an extack message.
 */
static int espx_echo_check(struct net *net, const struct espx_echo_req *req,
			   __be32 *reply_spi, u64 *in_start,
			   xfrm_address_t *local,
			   struct netlink_ext_ack *extack)
{
	const struct espx_sa_id *id = &req->id;
	struct xfrm_state *x, *y = NULL;
	struct espx_sa *sa;
	int err = 0;

	x = xfrm_state_lookup(net, id->mark, &id->daddr, id->spi, IPPROTO_ESP,
			      id->family);
	if (x && (x->if_id != id->if_id || !espx_sa_of(x))) {
		xfrm_state_put(x);
		x = NULL;
	}
	if (!x) {
		NL_SET_ERR_MSG_MOD(extack, "no espx SA with this id");
		return -ENOENT;
	}
	sa = espx_sa_of(x);
	if (!espx_echo_kind_ok(sa->kind)) {
		NL_SET_ERR_MSG_MOD(extack, ESPX_ECHO_KIND_REFUSED);
		err = -EOPNOTSUPP;
	} else if (x->km.state != XFRM_STATE_VALID) {
		NL_SET_ERR_MSG_MOD(extack, "the SA is not valid");
		err = -EINVAL;
	} else if (!espx_echo_local(net, &x->props.saddr, id->family)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "not an outbound SA: its source address is not local");
		err = -EINVAL;
	} else if (req->oneway && req->reply_spi) {
		NL_SET_ERR_MSG_MOD(extack, "reply-spi and one-way exclude each other");
		err = -EINVAL;
	}
	if (err)
		goto out;
	*local = x->props.saddr;
	if (req->oneway)
		goto out;
	if (req->reply_spi) {
		y = xfrm_state_lookup(net, x->mark.v, &x->props.saddr,
				      req->reply_spi, IPPROTO_ESP, id->family);
		if (!y || !espx_sa_of(y) ||
		    !xfrm_addr_equal(&y->props.saddr, &x->id.daddr,
				     id->family)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "reply-spi names no inbound espx SA from the peer");
			err = -EINVAL;
			goto out;
		}
	} else {
		y = espx_echo_pair_of(x);
		if (!y) {
			NL_SET_ERR_MSG_MOD(extack,
					   "no paired inbound SA: give reply-spi or one-way");
			err = -EINVAL;
			goto out;
		}
	}
	*reply_spi = y->id.spi;
	spin_lock_bh(&y->lock);
	*in_start = y->curlft.packets;
	spin_unlock_bh(&y->lock);
out:
	if (y)
		xfrm_state_put(y);
	xfrm_state_put(x);
	return err;
}

/**
 * espx_echo_start - ESPX_CMD_ECHO: start a probe session (§6)
 * @net: the requester's namespace
 * @portid: where the results go
 * @req: the parsed request (ranges checked by the netlink policy)
 * @ident: out: the session's Identifier
 * @extack: refusals
 *
 * Return: 0 (the first probe goes out from the timer at once) or -errno.
 */
int espx_echo_start(struct net *net, u32 portid,
		    const struct espx_echo_req *req, u16 *ident,
		    struct netlink_ext_ack *extack)
{
	struct espx_echo_sess *s, *o;
	unsigned int sessions = 0, probes = 0;
	int err, tries;

	s = kzalloc(struct_size(s, probe, req->count), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	err = espx_echo_check(net, req, &s->reply_spi, &s->in_start,
			      &s->local, extack);
	if (err) {
		kfree(s);
		return err;
	}
	s->net = net;
	s->portid = portid;
	s->id = req->id;
	s->count = req->count;
	s->interval = msecs_to_jiffies(req->interval);
	s->timeout = msecs_to_jiffies(req->timeout);
	s->size = req->size;
	s->oneway = req->oneway;
	timer_setup(&s->timer, espx_echo_tick, 0);

	spin_lock_bh(&espx_echo_lock);
	if (espx_echo_closed) {
		err = -ESHUTDOWN;
		goto unlock;
	}
	list_for_each_entry(o, &espx_echo_sessions, node) {
		if (o->net != net || o->dead)
			continue;
		sessions++;
		probes += o->count - o->resolved;
	}
	if (sessions >= ESPX_ECHO_SESSIONS_MAX ||
	    probes + s->count > ESPX_ECHO_PROBES_MAX) {
		NL_SET_ERR_MSG_MOD(extack,
				   "too many echo sessions or probes in this namespace");
		err = -EBUSY;
		goto unlock;
	}
	if (req->ident) {
		if (espx_echo_find(net, req->ident)) {
			NL_SET_ERR_MSG_MOD(extack, "this echo ident is in use");
			err = -EBUSY;
			goto unlock;
		}
		s->ident = req->ident;
	} else {
		for (tries = 0; tries < 256 && !s->ident; tries++) {
			s->ident = get_random_u32() & 0xffff;
			if (s->ident && espx_echo_find(net, s->ident))
				s->ident = 0;
		}
		if (!s->ident) {
			NL_SET_ERR_MSG_MOD(extack, "no free echo ident");
			err = -EBUSY;
			goto unlock;
		}
	}
	s->next_send = jiffies;
	list_add_tail(&s->node, &espx_echo_sessions);
	mod_timer(&s->timer, jiffies);
	*ident = s->ident;
unlock:
	spin_unlock_bh(&espx_echo_lock);
	if (err)
		kfree(s);
	return err;
}

/* End the sessions of @net, or of every namespace (NULL). */
static void espx_echo_end(const struct net *net)
{
	struct espx_echo_sess *s, *tmp;
	LIST_HEAD(gone);

	spin_lock_bh(&espx_echo_lock);
	list_for_each_entry_safe(s, tmp, &espx_echo_sessions, node) {
		if (net && s->net != net)
			continue;
		s->dead = true;
		list_move(&s->node, &gone);
	}
	spin_unlock_bh(&espx_echo_lock);
	list_for_each_entry_safe(s, tmp, &gone, node) {
		del_timer_sync(&s->timer);
		kfree(s);
	}
}

/* Namespace exit: its sessions end. */
static void __net_exit espx_echo_net_exit(struct net *net)
{
	espx_echo_end(net);
}

static struct pernet_operations espx_echo_net_ops = {
	.exit = espx_echo_net_exit,
};

int espx_echo_init(void)
{
	if (!espx_echo_subtypes_ok(echo_subtype_req, echo_subtype_rep)) {
		pr_err("echo_subtype_req %u / echo_subtype_rep %u: must be 2..255 and differ\n",
		       echo_subtype_req, echo_subtype_rep);
		return -EINVAL;
	}
	return register_pernet_subsys(&espx_echo_net_ops);
}

/* Module exit, first thing: no new session, and every session ends, so no
 * probe timer can send a result after the genetlink family is gone.
 */
void espx_echo_close(void)
{
	spin_lock_bh(&espx_echo_lock);
	espx_echo_closed = true;
	spin_unlock_bh(&espx_echo_lock);
	espx_echo_end(NULL);
}

/* Module exit, last thing (the reverse of espx_echo_init()), or a failed
 * load.
 */
void espx_echo_exit(void)
{
	espx_echo_close();
	unregister_pernet_subsys(&espx_echo_net_ops);
}
