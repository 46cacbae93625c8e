// SPDX-License-Identifier: GPL-2.0
/* espx Diet-ESP (diet-esp.md, draft-ietf-ipsecme-diet-esp-07).
 *
 * The xfrm core still sees an ESP SA: policies, SA lookup, replay, lifetimes
 * and modes stay the kernel's, and in the middle of both paths the packet is
 * an ordinary ESP packet (full SPI and SN), so the AAD (SPI | [SNhi |] SNlo,
 * §2) is the one esp.c builds anyway. espx adds these steps:
 *
 *   output  IIPC: compress the inner headers in place (before the trailer)
 *           CTEC: the trailer esp.c appends comes from the rule
 *           EEC:  after encryption, the 8-octet ESP header shrinks to its
 *                 SPI/SN low bits and the outer headers move up to it
 *   input   proto.c's handler of diet_proto calls espx_diet_rcv(), which
 *           finds the SA from the truncated
 *           SPI (candidates, §6 step 1), rebuilds the SN from the SA's
 *           replay window (§6 step 2), turns the prefix back into an ESP
 *           header and hands the packet to xfrm_input(); after decryption
 *           esp.c calls espx_diet_input_finish() for CTEC^-1 and IIPC^-1.
 *
 * Packets that keep 32 bits of SPI and SN stay protocol 50 and need none of
 * the receive machinery. The rule arithmetic is the kernel-free
 * codec/diet_codec.c; this file moves octets in skbs and keeps the index.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/scatterlist.h>
#include <crypto/aead.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/dsfield.h>
#include <net/inet_ecn.h>
#include <net/esp.h>
#include <net/protocol.h>
#include <net/xfrm.h>
#include <net/netns/generic.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "crypto.h"
#include "diet.h"
#include "proto.h"
#include "codec/wesp_codec.h"

/* The uapi values (netlink, iproute2) are the codec's rule values: the
 * enums differ in type only.
 */
#define ESPX_DIET_SAME(u, c) static_assert((int)ESPX_DIET_##u == (int)ESPX_DIET_##c)
ESPX_DIET_SAME(ALIGN_8BIT, ALIGN_8);
ESPX_DIET_SAME(ALIGN_16BIT, ALIGN_16);
ESPX_DIET_SAME(ALIGN_32BIT, ALIGN_32);
ESPX_DIET_SAME(ALIGN_64BIT, ALIGN_64);
ESPX_DIET_SAME(TRAILER_MAND, TRAILER_MANDATORY);
ESPX_DIET_SAME(TRAILER_OPT, TRAILER_OPTIONAL);
ESPX_DIET_SAME(CDA_SENT, DSCP_SENT);
ESPX_DIET_SAME(CDA_LOWER, DSCP_LOWER);
ESPX_DIET_SAME(CDA_SA, DSCP_SA);
ESPX_DIET_SAME(CDA_SENT, ECN_SENT);
ESPX_DIET_SAME(CDA_LOWER, ECN_LOWER);
ESPX_DIET_SAME(CDA_SENT, FL_SENT);
ESPX_DIET_SAME(CDA_LOWER, FL_LOWER);
ESPX_DIET_SAME(CDA_GENERATED, FL_GENERATED);
ESPX_DIET_SAME(CDA_ZERO, FL_ZERO);
ESPX_DIET_SAME(DSCP_LIST_MAX, DSCP_MAX);
ESPX_DIET_SAME(CANDIDATES_MAX, CANDIDATES);

static unsigned int diet_proto = ESPX_DIET_PROTO_DEFAULT;
module_param(diet_proto, uint, 0444);
MODULE_PARM_DESC(diet_proto,
		 "IP protocol of Diet-ESP packets with a truncated SPI or SN (default 253, RFC 3692 experimental)");

/* Handlers registered for diet_proto: SAs that truncate need them. */
static bool espx_diet_rx_on;

/**
 * struct espx_diet_key - what a received packet names a truncating SA by
 * @daddr: the destination
 * @saddr: the source when no SPI bit is sent (§6 step 1), else zero
 * @bits: the SPI's low @k bits
 * @family: the outer family
 * @k: esp_spi_lsb
 * @pad: zero (the key is hashed and compared as octets)
 */
struct espx_diet_key {
	xfrm_address_t daddr;
	xfrm_address_t saddr;
	u32 bits;
	u16 family;
	u8 k;
	u8 pad;
};

/**
 * struct espx_diet_slot - a place in the candidate index
 * @node: in espx_diet_net.index, under @key
 * @key: set before the slot is published, never changed after
 * @d: its Diet SA
 */
struct espx_diet_slot {
	struct hlist_node node;
	struct espx_diet_key key;
	struct espx_diet *d;
};

/**
 * struct espx_diet - one Diet SA
 * @rule: the codec's rule, checked
 * @trial: synchronous twin of x->data for candidate trials, or NULL
 * @slot: its places in the index: [0] under the addresses init_state saw,
 *	[1] once a moving SA settled at other addresses (@cur says which)
 * @mnode: in espx_diet_net.moving while @moving
 * @all: in espx_diet_net.all (configuration checks, netns exit)
 * @dn: the index it is in, NULL when not (or no longer) indexed
 * @orig: moving: the live SA with its SPI it may replace (MIGRATE, UPDSA)
 * @x: the SA; read by writers of the index only (under espx_diet_mutex)
 * @spi: its SPI
 * @cur: the slot in use
 * @moving: its addresses may still change (see espx_diet_index_add())
 * @rcu: freeing after the index readers
 *
 * Readers of the index copy @spi and find the SA with xfrm_state_lookup()
 * for the packet's destination, which holds it: they never touch @x.
 */
struct espx_diet {
	struct espx_diet_rule rule;
	struct crypto_aead *trial;
	struct espx_diet_slot slot[2];
	struct hlist_node mnode;
	struct list_head all;
	struct espx_diet_net *dn;
	struct espx_diet *orig;
	const struct xfrm_state *x;
	__be32 spi;
	u8 cur;
	bool moving;
	struct rcu_head rcu;
};

#define ESPX_DIET_INDEX_BITS	8
/* room for a trial's aead_request and its context (per CPU) */
#define ESPX_DIET_REQ_MAX	1024

/**
 * struct espx_diet_net - the candidate index of one namespace
 * @index: slots by (destination, spi-lsb, truncated SPI [, source]), the
 *	newest first in each chain
 * @moving: SAs created while a live SA had their SPI: a clone that
 *	XFRM_MSG_MIGRATE gives its new addresses only after init_state; the
 *	readers try them by truncated SPI alone until they settle
 * @all: every indexed SA of the namespace
 * @widths: SPI widths in use (bit k: some SA sends k SPI bits)
 * @width_users: SAs per width
 * @dead: pernet exit ran: nothing is indexed any more
 *
 * Writers hold espx_diet_mutex (global, as sa.c's: an SA may be destroyed
 * after our pernet exit, which then has detached it); readers hold RCU.
 */
struct espx_diet_net {
	struct hlist_head index[1 << ESPX_DIET_INDEX_BITS];
	struct hlist_head moving;
	struct list_head all;
	u64 widths;
	unsigned int width_users[33];
	bool dead;
};

static DEFINE_MUTEX(espx_diet_mutex);
static unsigned int espx_diet_net_id __read_mostly;
static u32 espx_diet_seed __read_mostly;

static struct espx_diet_net *espx_diet_net(const struct net *net)
{
	return net_generic(net, espx_diet_net_id);
}

static void espx_diet_key_set(struct espx_diet_key *key,
			      const xfrm_address_t *daddr,
			      const xfrm_address_t *saddr, u16 family, u32 k,
			      u32 bits)
{
	memset(key, 0, sizeof(*key));
	key->daddr = *daddr;
	if (family == AF_INET)
		memset(key->daddr.a6 + 1, 0, sizeof(key->daddr) - 4);
	if (!k) {
		key->saddr = *saddr;
		if (family == AF_INET)
			memset(key->saddr.a6 + 1, 0, sizeof(key->saddr) - 4);
	}
	key->bits = bits;
	key->family = family;
	key->k = k;
}

static struct hlist_head *espx_diet_bucket(struct espx_diet_net *dn,
					   const struct espx_diet_key *key)
{
	u32 h = jhash2((const u32 *)key, sizeof(*key) / sizeof(u32),
		       espx_diet_seed);

	return &dn->index[hash_32(h, ESPX_DIET_INDEX_BITS)];
}

static u32 espx_diet_bits(const struct espx_diet *d)
{
	return ntohl(d->spi) & (u32)espx_diet_mask(d->rule.esp_spi_lsb);
}

/* The key of @d at its SA's addresses now (under espx_diet_mutex) */
static void espx_diet_key_of(const struct espx_diet *d,
			     struct espx_diet_key *key)
{
	const struct xfrm_state *x = d->x;

	espx_diet_key_set(key, &x->id.daddr, &x->props.saddr,
			  x->props.family, d->rule.esp_spi_lsb,
			  espx_diet_bits(d));
}

/* codec drop reason -> per-SA statistic */
static enum espx_stat espx_diet_stat(int reason)
{
	switch (reason) {
	case ESPX_DIET_DROP_SHORT:
		return ESPX_STAT_IN_DROP_TRUNCATED;
	case ESPX_DIET_DROP_SN_ZERO:
	case ESPX_DIET_DROP_SN_WRAP:
		return ESPX_STAT_IN_DROP_DIET_SN;
	case ESPX_DIET_DROP_PADLEN:
	case ESPX_DIET_DROP_NEXTHDR:
		return ESPX_STAT_IN_DROP_DIET_TRAILER;
	case ESPX_DIET_DROP_DSCP_INDEX:
		return ESPX_STAT_IN_DROP_DIET_DSCP;
	case ESPX_DIET_DROP_IHL:
	case ESPX_DIET_DROP_LENGTH:
	case ESPX_DIET_DROP_TCP_DOFF:
		return ESPX_STAT_IN_DROP_DIET_LENGTH;
	default:
		return ESPX_STAT_IN_DROP_DIET_RESIDUE;
	}
}

/* The replay state the SN rebuild works against (§6 step 2): the highest
 * authenticated SN and the window. Read without the state lock: a stale
 * value rebuilds a wrong SN, which fails the ICV (the SN is in the AAD).
 */
static void espx_diet_window(const struct xfrm_state *x, u64 *top, u32 *win,
			     bool *esn)
{
	const struct xfrm_replay_state_esn *re = x->replay_esn;

	*esn = x->props.flags & XFRM_STATE_ESN;
	if (re) {
		*win = re->replay_window;
		*top = READ_ONCE(re->seq);
		if (*esn)
			*top |= (u64)READ_ONCE(re->seq_hi) << 32;
	} else {
		*win = x->props.replay_window;
		*top = READ_ONCE(x->replay.seq);
	}
}

/* ---- init_state -------------------------------------------------------- */

static u8 espx_diet_fam(unsigned short family)
{
	return family == AF_INET ? 4 : 6;
}

/* A selector prefix as the rule's [start, end] range (§7: TS from x->sel) */
static void espx_diet_range(const xfrm_address_t *a, u8 plen, u16 family,
			    u8 *start, u8 *end)
{
	unsigned int n = family == AF_INET ? 4 : 16, i, bits;
	u8 m;

	for (i = 0; i < n; i++) {
		bits = plen > 8 * i ? min_t(unsigned int, plen - 8 * i, 8) : 0;
		m = bits ? (u8)(0xff << (8 - bits)) : 0;
		start[i] = ((const u8 *)a)[i] & m;
		end[i] = start[i] | (u8)~m;
	}
}

static void espx_diet_ports(__be16 port, __be16 mask, u16 *start, u16 *end)
{
	*start = ntohs(port & mask);
	*end = *start | (u16)~ntohs(mask);
}

static void espx_diet_rule_ts(struct espx_diet_rule *r,
			      const struct xfrm_state *x)
{
	const struct xfrm_selector *sel = &x->sel;
	u16 family = r->inner_family == 4 ? AF_INET : AF_INET6;
	bool match = sel->family == family;

	/* a selector of another family (or none) matches anything */
	espx_diet_range(&sel->saddr, match ? sel->prefixlen_s : 0, family,
			r->src_start, r->src_end);
	espx_diet_range(&sel->daddr, match ? sel->prefixlen_d : 0, family,
			r->dst_start, r->dst_end);
	espx_diet_ports(sel->sport, sel->sport_mask, &r->sport_start,
			&r->sport_end);
	espx_diet_ports(sel->dport, sel->dport_mask, &r->dport_start,
			&r->dport_end);
	r->ts_proto = sel->proto;
}

static void espx_diet_rule_fill(struct espx_diet_rule *r,
				const struct espx_diet_conf *c,
				const struct xfrm_state *x)
{
	memset(r, 0, sizeof(*r));
	r->iipc_profile = c->iipc;
	r->dscp_cda = c->dscp;
	r->dscp_count = c->dscp_count;
	memcpy(r->dscp_list, c->dscp_list, sizeof(r->dscp_list));
	r->ecn_cda = c->ecn;
	r->flow_label_cda = c->flowlabel;
	r->alignment = c->align;
	r->esp_trailer = c->trailer;
	r->esp_spi_lsb = c->spi_lsb;
	r->esp_sn_lsb = c->sn_lsb;
	r->iiv = c->iiv;
	r->blksize = crypto_aead_blocksize(x->data);
	r->mode = x->props.mode;
	r->outer_family = espx_diet_fam(x->props.family);
	r->inner_family = r->outer_family;
	if (x->props.mode != XFRM_MODE_TRANSPORT && x->sel.family)
		r->inner_family = espx_diet_fam(x->sel.family);
	espx_diet_rule_ts(r, x);
}

/* Truncation needs the diet_proto handler (the rest of what the SA may be
 * is espx_cfg_check()'s, what the rule may be the codec's).
 */
static int espx_diet_check_rx(const struct espx_sa *sa,
			      struct netlink_ext_ack *extack)
{
	const struct espx_diet_conf *c = &sa->cfg.dcfg;

	if ((c->spi_lsb < 32 || c->sn_lsb < 32) && !espx_diet_rx_on) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no handler for diet_proto: truncation unavailable (see the kernel log)");
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* Take @d out of the index (under espx_diet_mutex). */
static void espx_diet_unhash(struct espx_diet_net *dn, struct espx_diet *d)
{
	hlist_del_rcu(&d->slot[d->cur].node);
	if (d->moving)
		hlist_del_rcu(&d->mnode);
	d->moving = false;
	list_del_init(&d->all);
	d->dn = NULL;
}

/* Moving SAs whose original is gone or dead have their final addresses
 * (xfrm_migrate() deletes the originals after giving the clones their
 * addresses): file them under those, once (slot 1), and stop trying them
 * for every packet. A reader still on slot 0 finds the SA until the grace
 * period ends; one in the middle of the re-filing may miss it for a packet.
 */
static void espx_diet_settle(struct espx_diet_net *dn)
{
	struct espx_diet_slot *s;
	struct hlist_node *tmp;
	struct espx_diet *d;

	hlist_for_each_entry_safe(d, tmp, &dn->moving, mnode) {
		if (d->orig &&
		    READ_ONCE(d->orig->x->km.state) != XFRM_STATE_DEAD)
			continue;
		s = &d->slot[1];
		espx_diet_key_of(d, &s->key);
		if (d->cur == 0 && memcmp(&s->key, &d->slot[0].key,
					  sizeof(s->key))) {
			hlist_add_head_rcu(&s->node, espx_diet_bucket(dn, &s->key));
			hlist_del_rcu(&d->slot[0].node);
			d->cur = 1;
		}
		hlist_del_rcu(&d->mnode);
		d->moving = false;
		d->orig = NULL;
	}
}

/* §6 step 1 [DECISION]: one SPI width per destination, at most
 * ESPX_DIET_CANDIDATES SAs per truncated SPI (address pair when 0 bits),
 * counted in the SA's namespace at the addresses the SAs have now. A live
 * SA with the same SPI is the one a MIGRATE or UPDSA clone replaces: not
 * counted, and the clone is "moving" until that one is gone.
 */
static int espx_diet_index_add(struct net *net, struct espx_diet *d,
			       struct netlink_ext_ack *extack)
{
	u32 k = d->rule.esp_spi_lsb, mask = (u32)espx_diet_mask(k);
	struct espx_diet_net *dn = espx_diet_net(net);
	const struct xfrm_state *x = d->x, *ox;
	struct espx_diet_slot *s = &d->slot[0];
	unsigned int shared = 0;
	struct espx_diet *o;
	int err = 0;

	espx_diet_key_of(d, &s->key);
	mutex_lock(&espx_diet_mutex);
	if (dn->dead)
		goto out;	/* the namespace is going away */
	espx_diet_settle(dn);
	list_for_each_entry(o, &dn->all, all) {
		ox = o->x;
		if (READ_ONCE(ox->km.state) == XFRM_STATE_DEAD)
			continue;
		/* 16 octets: a clone for a new family still has the
		 * original's address here
		 */
		if (o->spi == d->spi &&
		    xfrm_addr_equal(&ox->id.daddr, &x->id.daddr, AF_INET6)) {
			if (!d->orig)
				d->orig = o;
			continue;
		}
		if (ox->props.family != x->props.family ||
		    !xfrm_addr_equal(&ox->id.daddr, &x->id.daddr,
				     x->props.family))
			continue;
		if (o->rule.esp_spi_lsb != k) {
			NL_SET_ERR_MSG_MOD(extack,
					   "another Diet-ESP SA to this destination sends a different spi-lsb");
			err = -EINVAL;
			goto out;
		}
		if (((ntohl(o->spi) ^ ntohl(d->spi)) & mask) == 0 &&
		    (k || xfrm_addr_equal(&ox->props.saddr, &x->props.saddr,
					  x->props.family)))
			shared++;
	}
	if (shared >= ESPX_DIET_CANDIDATES) {
		NL_SET_ERR_MSG_MOD(extack,
				   "4 Diet-ESP SAs already share this truncated SPI");
		err = -EEXIST;
		goto out;
	}
	s->d = d;
	d->slot[1].d = d;
	d->cur = 0;
	/* at the head: candidates are tried newest first */
	hlist_add_head_rcu(&s->node, espx_diet_bucket(dn, &s->key));
	if (d->orig) {
		d->moving = true;
		hlist_add_head_rcu(&d->mnode, &dn->moving);
	}
	list_add(&d->all, &dn->all);
	d->dn = dn;
	if (!dn->width_users[k]++)
		WRITE_ONCE(dn->widths, dn->widths | BIT_ULL(k));
out:
	if (err)
		d->orig = NULL;
	mutex_unlock(&espx_diet_mutex);
	return err;
}

static void espx_diet_free(struct espx_diet *d)
{
	if (d->trial)
		crypto_free_aead(d->trial);
	kfree_rcu(d, rcu);
}

/**
 * espx_diet_init_state - the Diet-ESP state of an SA
 * @x: the state being built (config checked by espx_cfg_check()), its
 *     nonce AEAD already in x->data
 * @sa: its espx state
 * @extack: error report
 *
 * Return: 0 (sa->diet set, or nothing to do) or -errno with a message.
 */
int espx_diet_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack)
{
	struct espx_diet *d;
	bool esn;
	u64 top;
	u32 win;
	int err;

	if (!sa->cfg.diet)
		return 0;
	espx_diet_window(x, &top, &win, &esn);
	err = espx_diet_check_rx(sa, extack);
	if (err)
		return err;

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	INIT_LIST_HEAD(&d->all);
	espx_diet_rule_fill(&d->rule, &sa->cfg.dcfg, x);
	err = espx_diet_rule_check(&d->rule, win);
	if (err) {
		/* the codec's messages are static strings */
		if (extack)
			extack->_msg = espx_diet_cfg_msg(err);
		kfree(d);
		return -EINVAL;
	}
	sa->ext.iiv = d->rule.iiv;
	sa->diet = d;
	if (!espx_diet_truncated(&d->rule))
		return 0;

	d->trial = espx_crypto_alloc_sync(x, extack);
	if (IS_ERR(d->trial)) {
		err = PTR_ERR(d->trial);
		d->trial = NULL;
		return err;	/* espx_diet_destroy() frees d */
	}
	if (sizeof(struct aead_request) + crypto_aead_reqsize(d->trial) >
	    ESPX_DIET_REQ_MAX) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the synchronous AEAD's request is too large for Diet-ESP trials");
		return -EOPNOTSUPP;
	}
	d->x = x;
	d->spi = x->id.spi;
	return espx_diet_index_add(xs_net(x), d, extack);
}

/* Destructor and failed init_state: idempotent. */
void espx_diet_destroy(struct xfrm_state *x)
{
	struct espx_sa *sa = espx_sa_of(x);
	struct espx_diet *d = sa ? sa->diet : NULL;
	struct espx_diet_net *dn;
	struct espx_diet *o;

	if (!d)
		return;
	sa->diet = NULL;
	mutex_lock(&espx_diet_mutex);
	dn = d->dn;
	if (dn) {
		espx_diet_unhash(dn, d);
		if (!--dn->width_users[d->rule.esp_spi_lsb])
			WRITE_ONCE(dn->widths, dn->widths &
				   ~BIT_ULL(d->rule.esp_spi_lsb));
		list_for_each_entry(o, &dn->all, all)
			if (o->orig == d)
				o->orig = NULL;
		espx_diet_settle(dn);
	}
	mutex_unlock(&espx_diet_mutex);
	espx_diet_free(d);
}

static int __net_init espx_diet_net_init(struct net *net)
{
	struct espx_diet_net *dn = espx_diet_net(net);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dn->index); i++)
		INIT_HLIST_HEAD(&dn->index[i]);
	INIT_HLIST_HEAD(&dn->moving);
	INIT_LIST_HEAD(&dn->all);
	return 0;
}

/* Before the core flushes the namespace's states: their destructors may
 * run after this (xfrm GC work), so they must find nothing of @dn.
 */
static void __net_exit espx_diet_net_exit(struct net *net)
{
	struct espx_diet_net *dn = espx_diet_net(net);
	struct espx_diet *d, *tmp;

	mutex_lock(&espx_diet_mutex);
	dn->dead = true;
	list_for_each_entry_safe(d, tmp, &dn->all, all) {
		d->orig = NULL;
		espx_diet_unhash(dn, d);
	}
	mutex_unlock(&espx_diet_mutex);
}

static struct pernet_operations espx_diet_net_ops = {
	.init = espx_diet_net_init,
	.exit = espx_diet_net_exit,
	.id = &espx_diet_net_id,
	.size = sizeof(struct espx_diet_net),
};

/* ---- output ------------------------------------------------------------ */

/* Tunnel mode: the inner values the rule moves into the outer header */
static void espx_diet_put_lower(const struct espx_diet_rule *r,
				struct sk_buff *skb,
				const struct espx_diet_lower *l)
{
	u8 ds;

	if (r->outer_family == 4) {
		struct iphdr *iph = ip_hdr(skb);

		ds = iph->tos;
		if (r->dscp_cda == ESPX_DIET_DSCP_LOWER)
			ds = (ds & INET_ECN_MASK) | l->dscp << 2;
		if (r->ecn_cda == ESPX_DIET_ECN_LOWER)
			ds = (ds & ~INET_ECN_MASK) | l->ecn;
		iph->tos = ds;
		iph->ttl = l->hop_limit;
		if (r->flow_label_cda == ESPX_DIET_FL_LOWER)
			iph->id = htons(l->flow);
		return;
	}

	{
		struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be32 flow = ip6_flowlabel(ip6h);

		ds = ipv6_get_dsfield(ip6h);
		if (r->dscp_cda == ESPX_DIET_DSCP_LOWER)
			ds = (ds & INET_ECN_MASK) | l->dscp << 2;
		if (r->ecn_cda == ESPX_DIET_ECN_LOWER)
			ds = (ds & ~INET_ECN_MASK) | l->ecn;
		if (r->flow_label_cda == ESPX_DIET_FL_LOWER)
			flow = htonl(l->flow & 0xfffff);
		ip6_flow_hdr(ip6h, ds, flow);
		ip6h->hop_limit = l->hop_limit;
	}
}

/* Output: move the @len octets of headers at skb->data + @from (the outer
 * IP header and what follows it up to the octets being dropped) @delta
 * octets towards the payload and drop the @delta octets after them: IIPC
 * (the residue is shorter than the inner headers) and EEC (the prefix is
 * shorter than the ESP header). The region lies in the head; the header
 * offsets (mac_header: the protocol octet xfrm points at) move with it.
 */
static void espx_diet_move_up(struct sk_buff *skb, int from,
			      unsigned int len, unsigned int delta)
{
	memmove(skb->data + from + delta, skb->data + from, len);
	skb->network_header += delta;
	skb->transport_header += delta;
	skb->mac_header += delta;
	__skb_pull(skb, delta);
}

/**
 * espx_diet_output_iipc - compress the inner headers of an outgoing packet
 * @sa: a Diet SA
 * @skb: as espx_output() gets it: skb->data is the payload to protect
 * @nexthdr: the payload's protocol
 *
 * Return: 0 or -errno (dropped and counted); skb->len may have shrunk.
 */
static int espx_diet_output_iipc(struct espx_sa *sa, struct sk_buff *skb,
				 u8 nexthdr)
{
	const struct espx_diet_rule *r = &sa->diet->rule;
	u8 res[ESPX_DIET_RES_MAX];
	struct espx_diet_lower lower;
	struct espx_diet_iipc st;
	unsigned int avail;
	int err;

	if (r->iipc_profile == ESPX_DIET_IIPC_NONE)
		return 0;
	avail = min_t(unsigned int, skb->len, ESPX_DIET_HDR_MAX);
	if (skb_ensure_writable(skb, avail)) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_NOMEM);
		return -ENOMEM;
	}
	err = espx_diet_iipc_compress(r, skb->data, avail, skb->len, nexthdr,
				      res, &lower, &st);
	if (err) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_DIET_NOMATCH);
		return -EINVAL;
	}
	if (espx_diet_inner_ip(r))
		espx_diet_put_lower(r, skb, &lower);
	memcpy(skb->data + st.hdr_len - st.res_len, res, st.res_len);
	/* skb->data is the payload here: the headers lie before it */
	if (st.hdr_len > st.res_len)
		espx_diet_move_up(skb, skb_network_offset(skb),
				  -skb_network_offset(skb),
				  st.hdr_len - st.res_len);
	return 0;
}

/**
 * espx_diet_out_pad - the Diet-ESP step of esp.c's output head
 * @sa: a Diet SA
 * @skb: as espx_output() gets it: skb->data is the payload to protect
 * @p: the packet (p->nexthdr); out: p->len, the octets IIPC left
 * @t: out: the CTEC trailer (§4), and its sizes in esp.c's terms (no TFC
 *	padding)
 *
 * The outer protocol (diet_proto when the SA truncates), IIPC, then the
 * CTEC layout of what is left.
 *
 * Return: 0 or -errno (dropped and counted; -EINVAL: a Next Header the
 * receiver would not restore).
 */
int espx_diet_out_pad(struct espx_sa *sa, struct sk_buff *skb,
		      struct espx_pkt *p, struct espx_tail *t)
{
	const struct espx_diet_rule *r = &sa->diet->rule;
	int err;

	*skb_mac_header(skb) = espx_diet_truncated(r) ? diet_proto :
							IPPROTO_ESP;
	err = espx_diet_output_iipc(sa, skb, p->nexthdr);
	if (err)
		return err;
	p->len = skb->len;
	if (espx_diet_ctec_layout(r, p->len, p->nexthdr, &t->ctec)) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_DIET_NOMATCH);
		return -EINVAL;
	}
	t->pad.tfclen = 0;
	t->pad.plen = t->ctec.len;
	t->pad.clen = p->len + t->ctec.len;
	return 0;
}

/**
 * espx_diet_output_eec - shrink the ESP header to its EEC prefix (§3)
 * @sa: a Diet SA
 * @skb: encrypted; skb->data is the outer network header, the transport
 *	header the ESP header
 */
void espx_diet_output_eec(struct espx_sa *sa, struct sk_buff *skb)
{
	const struct espx_diet_rule *r = &sa->diet->rule;
	unsigned int n = espx_diet_eec_len(r), delta = ESPX_ESP_HDR_LEN - n;
	const struct ip_esp_hdr *esph = ip_esp_hdr(skb);
	unsigned int hoff = skb_transport_offset(skb);
	u8 eec[ESPX_DIET_EEC_MAX];

	if (!delta)
		return;
	espx_diet_eec_build(r, eec, sizeof(eec), ntohl(esph->spi),
			    ntohl(esph->seq_no));
	/* skb->data is the network header here, the ESP header at hoff */
	memcpy(skb->data + hoff + delta, eec, n);
	espx_diet_move_up(skb, 0, hoff, delta);
}

/* ---- input ------------------------------------------------------------- */

/* The protocol the packet came with: the outer header's, or the last IPv6
 * header's Next Header (IP6CB nhoff). Unchanged by the diet_proto handler.
 */
static u8 espx_diet_in_proto(const struct sk_buff *skb)
{
	if (ip_hdr(skb)->version == 4)
		return ip_hdr(skb)->protocol;
	return skb_network_header(skb)[IP6CB(skb)->nhoff];
}

/**
 * espx_diet_input_proto - a Diet SA takes diet_proto iff it truncates (§9)
 * @sa: a Diet SA
 * @skb: as espx_input() gets it
 *
 * Return: 0 or -EINVAL (counted).
 */
int espx_diet_input_proto(struct espx_sa *sa, const struct sk_buff *skb)
{
	bool trunc = espx_diet_truncated(&sa->diet->rule);

	if (espx_diet_in_proto(skb) == (trunc ? diet_proto : IPPROTO_ESP))
		return 0;
	espx_stat_inc(sa, ESPX_STAT_IN_DROP_DIET_PROTO);
	return -EINVAL;
}

/* The received outer header's values for a tunnel SA's "lower" fields;
 * the hash of its addresses only for a generated flow label (@gen)
 */
static void espx_diet_get_lower(const struct sk_buff *skb, bool gen,
				struct espx_diet_lower *l)
{
	if (ip_hdr(skb)->version == 4) {
		const struct iphdr *iph = ip_hdr(skb);

		l->dscp = iph->tos >> 2;
		l->ecn = iph->tos & INET_ECN_MASK;
		l->hop_limit = iph->ttl;
		l->flow = ntohs(iph->id);
		if (gen)
			l->flow_gen = jhash_2words((__force u32)iph->saddr,
						   (__force u32)iph->daddr, 0);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		u8 ds = ipv6_get_dsfield(ip6h);

		l->dscp = ds >> 2;
		l->ecn = ds & INET_ECN_MASK;
		l->hop_limit = ip6h->hop_limit;
		l->flow = ntohl(ip6_flowlabel(ip6h));
		if (gen)
			l->flow_gen = jhash2((const u32 *)&ip6h->saddr, 8, 0);
	}
}

/* Pseudo-header addresses for a rebuilt transport/BEET L4 checksum: the IP
 * header's, or in BEET the selector's (the core rebuilds the inner header
 * from it).
 */
static void espx_diet_l4_addrs(const struct xfrm_state *x,
			       const struct sk_buff *skb, const u8 **s,
			       const u8 **d)
{
	if (x->props.mode == XFRM_MODE_BEET) {
		*s = (const u8 *)&x->sel.saddr;
		*d = (const u8 *)&x->sel.daddr;
	} else if (ip_hdr(skb)->version == 4) {
		*s = (const u8 *)&ip_hdr(skb)->saddr;
		*d = (const u8 *)&ip_hdr(skb)->daddr;
	} else {
		*s = (const u8 *)&ipv6_hdr(skb)->saddr;
		*d = (const u8 *)&ipv6_hdr(skb)->daddr;
	}
}

/* Open @gap octets in front of skb->data: the headers before it (MAC,
 * network, ESP) move down into the headroom.
 */
static int espx_diet_open_gap(struct sk_buff *skb, unsigned int gap)
{
	int start = skb_network_offset(skb);

	if (skb_mac_header_was_set(skb))
		start = min(start, skb_mac_offset(skb));
	if (skb_cow_head(skb, gap - start))
		return -ENOMEM;
	memmove(skb->data + start - gap, skb->data + start, -start);
	if (skb_mac_header_was_set(skb))
		skb->mac_header -= gap;
	skb->network_header -= gap;
	skb->transport_header -= gap;
	__skb_push(skb, gap);
	return 0;
}

/* 16-bit one's-complement sum (host order) of @len octets at @off */
static u16 espx_diet_payload_sum(const struct sk_buff *skb, unsigned int off,
				 unsigned int len)
{
	__wsum w = skb_checksum(skb, off, len, 0);

	return ntohs((__force __be16)(u16)~(__force u16)csum_fold(w));
}

/* IIPC^-1 of the payload at @hlen (@len octets): the rebuilt header
 * replaces the residue. Return: where the payload (with its headers) now
 * starts, from skb->data, or -1 with the reason in *@stat.
 */
static int espx_diet_input_iipc(struct xfrm_state *x, struct espx_diet *d,
				struct sk_buff *skb, unsigned int hlen,
				unsigned int len, u8 nexthdr,
				enum espx_stat *stat)
{
	const struct espx_diet_rule *r = &d->rule;
	unsigned int avail = min_t(unsigned int, len, ESPX_DIET_RES_MAX);
	struct espx_diet_lower lower = {};
	u8 hdr[ESPX_DIET_HDR_MAX];
	struct espx_diet_iipc st;
	const u8 *sa, *da;
	int err, off;

	*stat = ESPX_STAT_IN_DROP_NOMEM;
	if (!pskb_may_pull(skb, hlen + avail))
		return -1;
	if (espx_diet_inner_ip(r))
		espx_diet_get_lower(skb, r->flow_label_cda ==
					 ESPX_DIET_FL_GENERATED, &lower);
	err = espx_diet_iipc_decompress(r, skb->data + hlen, avail, len,
					nexthdr, &lower, hdr, &st);
	if (err) {
		*stat = espx_diet_stat(err);
		return -1;
	}
	espx_diet_l4_addrs(x, skb, &sa, &da);
	espx_diet_iipc_csum(r, hdr, &st, sa, da,
			    espx_diet_payload_sum(skb, hlen + st.res_len,
						  st.plen));
	off = hlen + st.res_len - st.hdr_len;
	if (off < 0) {
		if (espx_diet_open_gap(skb, -off))
			return -1;
		off = 0;
	}
	memcpy(skb->data + off, hdr, st.hdr_len);
	return off;
}

/**
 * espx_diet_input_finish - CTEC^-1 and IIPC^-1 of a decrypted packet
 * @x: the SA
 * @sa: its espx state (a Diet SA)
 * @skb: decrypted in place: ESP header | [IV] | plaintext | ICV
 * @hlen: octets of ESP header and IV
 * @alen: octets of ICV
 * @hlen_out: output, where the inner packet (or L4 segment) now starts
 *
 * Return: the Next Header, or -errno (counted).
 */
int espx_diet_input_finish(struct xfrm_state *x, struct espx_sa *sa,
			   struct sk_buff *skb, unsigned int hlen,
			   unsigned int alen, unsigned int *hlen_out)
{
	struct espx_diet *d = sa->diet;
	unsigned int ptlen = skb->len - hlen - alen;
	u8 last2[2] = {}, nh;
	enum espx_stat stat;
	int len, off;

	if (skb_copy_bits(skb, skb->len - alen - min(ptlen, 2u),
			  last2 + 2 - min(ptlen, 2u), min(ptlen, 2u)))
		return -EINVAL;
	len = espx_diet_ctec_strip(&d->rule, ptlen, last2, &nh);
	if (len < 0) {
		espx_stat_inc(sa, espx_diet_stat(len));
		return -EINVAL;
	}
	if (pskb_trim(skb, hlen + len)) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
		return -ENOMEM;
	}
	*hlen_out = hlen;
	if (d->rule.iipc_profile == ESPX_DIET_IIPC_NONE)
		return nh;
	off = espx_diet_input_iipc(x, d, skb, hlen, len, nh, &stat);
	if (off < 0) {
		espx_stat_inc(sa, stat);
		return -EINVAL;
	}
	*hlen_out = off;
	return nh;
}

/* ---- the diet_proto receive step ----------------------------------------- */

/* Add the SA that @spi names at the packet's destination to the @m held
 * in @xs: if it is a truncating Diet SA that sends @k SPI bits (with none,
 * one for the packet's source) and not there yet. Return: how many now.
 */
static unsigned int espx_diet_take(struct net *net, const struct sk_buff *skb,
				   __be32 spi, u32 k,
				   const xfrm_address_t *saddr,
				   const xfrm_address_t *daddr, u16 family,
				   struct xfrm_state **xs, unsigned int m)
{
	struct xfrm_state *x;
	struct espx_sa *sa;
	unsigned int i;

	x = espx_rx_state_lookup(net, skb->mark, daddr, spi, family);
	if (!x)
		return m;
	for (i = 0; i < m && xs[i] != x; i++)
		;
	sa = espx_sa_of(x);
	if (i == m && sa && sa->diet && espx_diet_truncated(&sa->diet->rule) &&
	    sa->diet->rule.esp_spi_lsb == k &&
	    (k || xfrm_addr_equal(&x->props.saddr, saddr, family))) {
		xs[m] = x;
		return m + 1;
	}
	xfrm_state_put(x);
	return m;
}

/* §6 step 1: the SAs of the packet's namespace filed under its destination
 * and the truncated SPI it carries (for each SPI width in use there; with
 * no SPI bit, under its address pair), newest first, then the moving ones
 * with that truncated SPI; held, at most ESPX_DIET_CANDIDATES. skb->data is
 * the EEC prefix. Return: their number; *@short_pkt set when a width did
 * not fit.
 */
static unsigned int espx_diet_lookup(struct net *net, const struct sk_buff *skb,
				     const xfrm_address_t *saddr,
				     const xfrm_address_t *daddr, u16 family,
				     struct xfrm_state **xs, bool *short_pkt)
{
	struct espx_diet_net *dn = espx_diet_net(net);
	u64 widths = READ_ONCE(dn->widths);
	struct espx_diet_key key;
	struct espx_diet_slot *s;
	struct espx_diet *d;
	unsigned int m = 0;
	u32 bits, k;

	*short_pkt = false;
	rcu_read_lock();
	/* the widths in use only: usually one */
	for (; widths && m < ESPX_DIET_CANDIDATES; widths &= widths - 1) {
		k = __ffs64(widths);
		if (espx_diet_eec_spi(skb->data, skb_headlen(skb), k, &bits)) {
			*short_pkt = true;
			continue;
		}
		espx_diet_key_set(&key, daddr, saddr, family, k, bits);
		hlist_for_each_entry_rcu(s, espx_diet_bucket(dn, &key), node) {
			if (m == ESPX_DIET_CANDIDATES)
				break;
			if (!memcmp(&s->key, &key, sizeof(key)))
				m = espx_diet_take(net, skb, s->d->spi, k, saddr,
						   daddr, family, xs, m);
		}
		hlist_for_each_entry_rcu(d, &dn->moving, mnode) {
			if (m == ESPX_DIET_CANDIDATES)
				break;
			if (d->rule.esp_spi_lsb == k && espx_diet_bits(d) == bits)
				m = espx_diet_take(net, skb, d->spi, k, saddr,
						   daddr, family, xs, m);
		}
	}
	rcu_read_unlock();
	return m;
}

/* The candidate's replay window has seen @sn, or @sn lies before it:
 * xfrm_input() would drop the packet for this SA, so it is not tried. The
 * test of the core's xfrm_replay_check*(), on the rebuilt 64-bit SN, under
 * the state's lock.
 */
static bool espx_diet_replayed(struct xfrm_state *x, u64 sn, bool esn)
{
	const struct xfrm_replay_state_esn *re;
	u32 w, diff, pos, bit;
	bool seen = false;
	u64 top;

	spin_lock(&x->lock);
	re = x->replay_esn;
	if (re) {
		w = re->replay_window;
		top = re->seq;
		if (esn)
			top |= (u64)re->seq_hi << 32;
	} else {
		w = x->props.replay_window;
		top = x->replay.seq;
	}
	if (!w || sn > top)
		goto out;
	if (top - sn >= w) {
		seen = true;
		goto out;
	}
	diff = top - sn;
	if (re) {
		pos = (re->seq - 1) % w;
		bit = pos >= diff ? pos - diff : w - (diff - pos);
		seen = re->bmp[bit / 32] & (1U << (bit % 32));
	} else {
		seen = diff < 32 && (x->replay.bitmap & (1U << diff));
	}
out:
	spin_unlock(&x->lock);
	return seen;
}

/* Per-CPU scratch of the trial decryptions (kmalloc'd: the scatterlists
 * point into it): the request, nonce and AAD, and a page that the
 * plaintext of every trial goes to, each destination entry the same page:
 * a trial keeps the ICV verdict only, the packet is never copied.
 */
#define ESPX_DIET_SRC_SG	(MAX_SKB_FRAGS + 1)
#define ESPX_DIET_DST_SG	DIV_ROUND_UP(65536, PAGE_SIZE)
struct espx_diet_scratch {
	u8 req[ESPX_DIET_REQ_MAX] __aligned(CRYPTO_MINALIGN);
	u8 nonce[16];
	u8 aad[ESPX_AAD_ESP_MAX];
	u8 aad_out[ESPX_AAD_ESP_MAX];
	struct scatterlist src[1 + ESPX_DIET_SRC_SG];
	struct scatterlist dst[1 + ESPX_DIET_DST_SG];
	void *sink;
};

static DEFINE_PER_CPU(struct espx_diet_scratch *, espx_diet_scratch);
/* trial decryptions since the module loaded (debugfs espx/diet_trials) */
static atomic64_t espx_diet_trials = ATOMIC64_INIT(0);

/* Does the packet belong to @x? One AEAD pass over the packet in place
 * with the SA's synchronous transform; the skb is left untouched for the
 * real pass. A frag_list skb was linearized by the caller.
 */
static bool espx_diet_trial(struct xfrm_state *x, struct espx_sa *sa,
			    struct sk_buff *skb, unsigned int eec_len,
			    u64 sn, bool esn)
{
	struct crypto_aead *tfm = sa->diet->trial;
	unsigned int ivlen = sa->ext.iiv ? 0 : ESPX_NONCE_IVLEN;
	unsigned int off = eec_len + ivlen, ctlen, aadlen, n, i, len;
	struct espx_diet_scratch *sc;
	u8 iv[ESPX_NONCE_IVLEN];
	struct aead_request *req;
	bool ok = false;

	if (!tfm || skb->len < off + crypto_aead_authsize(tfm) ||
	    skb->len - off > ESPX_DIET_DST_SG * PAGE_SIZE)
		return false;
	ctlen = skb->len - off;
	n = DIV_ROUND_UP(ctlen, PAGE_SIZE);
	local_bh_disable();
	sc = this_cpu_read(espx_diet_scratch);
	/* nonce = salt | IV, as esp.c builds it for the real pass */
	if (ivlen) {
		if (skb_copy_bits(skb, eec_len, iv, sizeof(iv)))
			goto out;
	} else {
		espx_esp_iv_seq(iv, sn);
	}
	espx_esp_nonce(sc->nonce, sa->ext.salt, iv);
	aadlen = espx_diet_aad(sc->aad, ntohl(x->id.spi), sn, esn);
	sg_init_table(sc->src, ARRAY_SIZE(sc->src));
	sg_set_buf(sc->src, sc->aad, aadlen);
	if (skb_to_sgvec(skb, sc->src + 1, off, ctlen) < 0)
		goto out;
	sg_init_table(sc->dst, 1 + n);
	sg_set_buf(sc->dst, sc->aad_out, aadlen);
	for (i = 1, len = ctlen; i <= n; i++, len -= PAGE_SIZE)
		sg_set_buf(&sc->dst[i], sc->sink,
			   min_t(unsigned int, len, PAGE_SIZE));
	req = (struct aead_request *)sc->req;
	aead_request_set_tfm(req, tfm);
	aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_ad(req, aadlen);
	aead_request_set_crypt(req, sc->src, sc->dst, ctlen, sc->nonce);
	atomic64_inc(&espx_diet_trials);
	ok = !crypto_aead_decrypt(req);
	memzero_explicit(req, sizeof(*req) + crypto_aead_reqsize(tfm));
out:
	local_bh_enable();
	return ok;
}

static void espx_diet_scratch_free(void)
{
	struct espx_diet_scratch *sc;
	int cpu;

	for_each_possible_cpu(cpu) {
		sc = per_cpu(espx_diet_scratch, cpu);
		if (!sc)
			continue;
		free_page((unsigned long)sc->sink);
		kfree_sensitive(sc);
		per_cpu(espx_diet_scratch, cpu) = NULL;
	}
}

static int espx_diet_scratch_alloc(void)
{
	struct espx_diet_scratch *sc;
	int cpu;

	for_each_possible_cpu(cpu) {
		sc = kzalloc_node(sizeof(*sc), GFP_KERNEL, cpu_to_node(cpu));
		if (!sc)
			goto nomem;
		per_cpu(espx_diet_scratch, cpu) = sc;
		sc->sink = (void *)__get_free_page(GFP_KERNEL);
		if (!sc->sink)
			goto nomem;
	}
	return 0;
nomem:
	espx_diet_scratch_free();
	return -ENOMEM;
}

/* The EEC prefix at skb->data becomes an 8-octet ESP header again
 * (SPI | SNlo) at the transport header, for xfrm_input() to parse: the
 * outer headers move down by what the prefix saved.
 */
static int espx_diet_expand(struct sk_buff *skb, unsigned int eec_len,
			    __be32 spi, u64 sn)
{
	struct ip_esp_hdr *esph;

	if (eec_len < ESPX_ESP_HDR_LEN &&
	    espx_diet_open_gap(skb, ESPX_ESP_HDR_LEN - eec_len))
		return -ENOMEM;
	skb_reset_transport_header(skb);
	esph = (struct ip_esp_hdr *)skb->data;
	esph->spi = spi;
	esph->seq_no = htonl(lower_32_bits(sn));
	return 0;
}

/* One candidate's view of the packet: its EEC prefix parsed (@eec_len
 * octets) and the SN rebuilt from its window. Return: 0 or the codec's
 * drop reason.
 */
static int espx_diet_prep(struct xfrm_state *x, struct espx_sa *sa,
			  const struct sk_buff *skb, unsigned int *eec_len,
			  u64 *sn, bool *esn)
{
	struct espx_diet *d = sa->diet;
	struct espx_diet_eec e;
	unsigned int tail;
	u64 top;
	u32 win;
	int err;

	tail = (sa->ext.iiv ? 0 : ESPX_NONCE_IVLEN) +
	       crypto_aead_authsize(x->data);
	err = espx_diet_eec_parse(&d->rule, skb->data, skb->len, tail, &e);
	if (err)
		return err;
	*eec_len = e.len;
	espx_diet_window(x, &top, &win, esn);
	return espx_diet_sn_rebuild(d->rule.esp_sn_lsb, e.sn_bits, top, win,
				    *esn, sn);
}

/* §6 steps 1-2 over the @m candidates, newest first. A candidate is passed
 * over (and its retry counted) when its prefix does not parse or its SN
 * does not rebuild, when its window has seen the SN, or when a trial
 * decryption fails; the last one is not tried: xfrm_input() gives its
 * verdict. A lone candidate's parse or rebuild failure is its drop; with
 * several, a walk that passes over every one is a drop without an SA.
 * Return: SKB_NOT_DROPPED_YET (packet rewritten for one of them), else
 * the drop's reason (counted).
 */
static enum skb_drop_reason espx_diet_walk(struct net *net,
					   struct sk_buff *skb,
					   struct xfrm_state **xs,
					   unsigned int m)
{
	unsigned int i, eec_len = 0;
	struct xfrm_state *x;
	struct espx_sa *sa;
	bool esn, last;
	u64 sn = 0;
	int err;

	/* the trials map the skb into a scatterlist of bounded size */
	if (m > 1 && skb_has_frag_list(skb) && skb_linearize(skb)) {
		espx_stat_inc(espx_sa_of(xs[0]), ESPX_STAT_IN_DROP_NOMEM);
		return SKB_DROP_REASON_NOMEM;
	}
	for (i = 0; i < m; i++) {
		x = xs[i];
		sa = espx_sa_of(x);	/* a Diet SA: taken so */
		last = i + 1 == m;
		err = espx_diet_prep(x, sa, skb, &eec_len, &sn, &esn);
		if (err && m == 1) {
			espx_stat_inc(sa, espx_diet_stat(err));
			XFRM_INC_STATS(net, err == ESPX_DIET_DROP_SHORT ?
				       LINUX_MIB_XFRMINHDRERROR :
				       LINUX_MIB_XFRMINSTATESEQERROR);
			return err == ESPX_DIET_DROP_SHORT ? ESPX_DROP_SHORT :
			       ESPX_DROP_HDR;
		}
		if (!err && !last &&
		    (espx_diet_replayed(x, sn, esn) ||
		     !espx_diet_trial(x, sa, skb, eec_len, sn, esn)))
			err = -EAGAIN;
		if (err) {
			if (!last)
				espx_stat_inc(sa, ESPX_STAT_IN_DIET_CANDIDATE_RETRY);
			continue;
		}
		if (espx_diet_expand(skb, eec_len, x->id.spi, sn)) {
			espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
			return SKB_DROP_REASON_NOMEM;
		}
		return SKB_NOT_DROPPED_YET;
	}
	return espx_ipproto_no_sa(net, ESPX_KIND_DIET);
}

/* The addresses of an IPv4 or IPv6 header: a received packet's, or the
 * one an ICMP error quotes.
 */
static void espx_diet_addrs(const void *iph, u16 family,
			    xfrm_address_t *saddr, xfrm_address_t *daddr)
{
	memset(saddr, 0, sizeof(*saddr));
	memset(daddr, 0, sizeof(*daddr));
	if (family == AF_INET) {
		saddr->a4 = ((const struct iphdr *)iph)->saddr;
		daddr->a4 = ((const struct iphdr *)iph)->daddr;
	} else {
		saddr->in6 = ((const struct ipv6hdr *)iph)->saddr;
		daddr->in6 = ((const struct ipv6hdr *)iph)->daddr;
	}
}

/* No truncating SA matched: a Diet SA that sends full SPI and SN (protocol
 * 50) may still be named by the first four octets. Return: charged to it.
 */
static bool espx_diet_rcv_untruncated(struct net *net, struct sk_buff *skb,
				      const xfrm_address_t *daddr, u16 family)
{
	struct xfrm_state *x;
	struct espx_sa *sa;
	bool hit = false;
	__be32 spi;

	if (skb_copy_bits(skb, 0, &spi, sizeof(spi)))
		return false;
	x = xfrm_state_lookup(net, skb->mark, daddr, spi, IPPROTO_ESP, family);
	if (!x)
		return false;
	sa = espx_sa_of(x);
	if (sa && sa->diet) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_DIET_PROTO);
		XFRM_INC_STATS(net, LINUX_MIB_XFRMINSTATEPROTOERROR);
		hit = true;
	}
	xfrm_state_put(x);
	return hit;
}

/**
 * espx_diet_rcv - the receive step of diet_proto (proto.c's handler)
 * @skb: skb->data is the EEC prefix; on success the ESP header it became
 * @family: the outer family
 *
 * Return: SKB_NOT_DROPPED_YET when the packet may go to xfrm_input(),
 * else the reason to drop it with (counted).
 */
enum skb_drop_reason espx_diet_rcv(struct sk_buff *skb, unsigned short family)
{
	struct xfrm_state *xs[ESPX_DIET_CANDIDATES];
	struct net *net = dev_net(skb->dev);
	enum skb_drop_reason reason;
	xfrm_address_t saddr, daddr;
	unsigned int m, i;
	bool short_pkt;

	espx_diet_addrs(skb_network_header(skb), family, &saddr, &daddr);
	if (!pskb_may_pull(skb, min_t(unsigned int, skb->len,
				      ESPX_DIET_EEC_MAX)))
		return SKB_DROP_REASON_NOMEM;
	m = espx_diet_lookup(net, skb, &saddr, &daddr, family, xs, &short_pkt);
	if (m) {
		reason = espx_diet_walk(net, skb, xs, m);
		for (i = 0; i < m; i++)
			xfrm_state_put(xs[i]);
		return reason;
	}
	if (espx_diet_rcv_untruncated(net, skb, &daddr, family))
		return ESPX_DROP_HDR;
	/* too short for a width in use: more likely cut than unknown */
	if (short_pkt) {
		espx_ns_stat_inc(net, ESPX_NS_STAT_DIET_TRUNCATED);
		XFRM_INC_STATS(net, LINUX_MIB_XFRMINHDRERROR);
		return ESPX_DROP_SHORT;
	}
	return espx_ipproto_no_sa(net, ESPX_KIND_DIET);
}

/* ICMP errors quoting a Diet-ESP packet: the quoted prefix names the SA
 * like a received one; PMTU and redirects as for ESP.
 */
bool espx_diet_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family)
{
	struct xfrm_state *xs[ESPX_DIET_CANDIDATES];
	xfrm_address_t saddr, daddr;
	unsigned int m, i;
	bool short_pkt;

	espx_diet_addrs(skb->data, family, &saddr, &daddr);
	if (!pskb_may_pull(skb, min_t(unsigned int, skb->len,
				      off + ESPX_DIET_EEC_MAX)))
		return false;
	__skb_pull(skb, off);
	m = espx_diet_lookup(dev_net(skb->dev), skb, &saddr, &daddr, family,
			     xs, &short_pkt);
	__skb_push(skb, off);
	for (i = 0; i < m; i++)
		xfrm_state_put(xs[i]);
	return m > 0;
}

static int espx_diet_trials_get(void *data, u64 *val)
{
	*val = atomic64_read(&espx_diet_trials);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(espx_diet_trials_fops, espx_diet_trials_get, NULL,
			 "%llu\n");
static struct dentry *espx_diet_debugfs;

/* eesp.c: eesp_proto must differ from it */
unsigned int espx_diet_proto(void)
{
	return diet_proto;
}

/* Not fatal: plain ESP, WESPv2 and untruncated Diet-ESP work without it;
 * SAs that truncate are refused with a message pointing here.
 */
int espx_diet_proto_init(void)
{
	struct dentry *dir;

	if (!diet_proto || diet_proto > 255 || diet_proto == IPPROTO_ESP ||
	    diet_proto == IPPROTO_AH || diet_proto == ESPX_IPPROTO_WESP) {
		pr_warn("diet_proto=%u is not usable: Diet-ESP truncation disabled\n",
			diet_proto);
		return 0;
	}
	espx_diet_seed = get_random_u32();
	if (espx_diet_scratch_alloc())
		goto nomem;
	if (register_pernet_subsys(&espx_diet_net_ops)) {
		espx_diet_scratch_free();
		goto nomem;
	}
	if (espx_ipproto_add(ESPX_KIND_DIET, diet_proto)) {
		pr_warn("Diet-ESP truncation disabled (load espx with another diet_proto)\n");
		goto err_pernet;
	}
	/* sa.c made the directory */
	dir = debugfs_lookup("espx", NULL);
	if (dir) {
		espx_diet_debugfs = debugfs_create_file_unsafe("diet_trials",
							       0400, dir, NULL,
							       &espx_diet_trials_fops);
		dput(dir);
	}
	espx_diet_rx_on = true;
	return 0;

err_pernet:
	unregister_pernet_subsys(&espx_diet_net_ops);
	espx_diet_scratch_free();
	return 0;
nomem:
	pr_warn("no memory for the Diet-ESP receive state: Diet-ESP truncation disabled\n");
	return 0;
}

/* Callers wait for an RCU grace period before the module text goes. */
void espx_diet_proto_exit(void)
{
	if (!espx_diet_rx_on)
		return;
	debugfs_remove(espx_diet_debugfs);
	espx_diet_debugfs = NULL;
	/* waits for the handlers running now (synchronize_net()) */
	espx_ipproto_del(ESPX_KIND_DIET);
	unregister_pernet_subsys(&espx_diet_net_ops);
	espx_diet_scratch_free();
	espx_diet_rx_on = false;
}
