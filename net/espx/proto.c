// SPDX-License-Identifier: GPL-2.0
/*
 * espx protocol glue: the ESP xfrm types for IPv4/IPv6, the xfrm4/xfrm6
 * protocol handlers for IPPROTO_ESP (input and ICMP errors), the guard
 * against esp4/esp6, and the handlers of espx's own IP protocols.
 *
 * Who owns ESP
 * ------------
 * The xfrm core keeps one ESP type per address family in
 * xfrm_state_afinfo->type_esp. xfrm_register_type() (6.1 and 6.12 alike) does
 * not refuse a second ESP type: it WARN_ON()s that the slot is taken, then
 * overwrites it and returns 0. xfrm_unregister_type() WARN_ON()s when the slot
 * does not hold the type being removed, then clears it anyway. So calling
 * either one without knowing who owns the slot risks a WARN.
 *
 * xfrm_get_type() (which reads the slot) is static, and find_module() is not
 * exported, but xfrm_state_afinfo_get_rcu() is exported (GPL) in both kernels
 * and struct xfrm_state_afinfo, including ->type_esp, is in <net/xfrm.h>.
 * espx reads the slot with it under rcu_read_lock() and compares it with its
 * own types. That read has no side effects: no WARN, no module load.
 *
 * Load order "esp4, then espx": espx_proto_check_clash() sees the slot in use
 * before espx registers anything, names the owner module and fails with
 * -EBUSY (not -EEXIST: modprobe takes that for "already loaded", exits 0 and
 * leaves nothing loaded).
 *
 * Load order "espx, then esp4" (the same for esp6/AF_INET6):
 * esp4_init() calls xfrm_register_type(), which WARNs and replaces espx's
 * type with esp4's. Then xfrm4_protocol_register() fails with -EEXIST,
 * because espx already has an IPPROTO_ESP handler at the same priority (0).
 * esp4_init() then calls xfrm_unregister_type(), which does not WARN because
 * the slot holds esp4's type, but it leaves the slot empty. Finally esp4_init()
 * returns -EAGAIN. After that, new ESP SAs find no type, so the core does
 * request_module("xfrm-type-2-50"). That loads esp4 again, which fails again
 * without a WARN, and the SA is refused with -EPROTONOSUPPORT. Until then, SAs
 * that already exist keep espx's type and a reference on espx. Unloading espx
 * would then hit the WARN in xfrm_unregister_type(). Two steps prevent all
 * of this:
 *
 *  1. A module notifier vetoes the loading of esp4/esp6 at MODULE_STATE_COMING
 *     (the notifier chain allows that since 5.10: prepare_coming_module()
 *     fails the load with the notifier's errno). That happens before esp4's
 *     init runs, so the core does not WARN. The errno is -EBUSY, because
 *     modprobe treats -EEXIST as "already loaded" and would report success.
 *     modprobe reports "Device or resource busy" and espx logs why,
 *     rate-limited: the xfrm core asks for esp4_offload/esp6_offload (which
 *     need esp4/esp6) on every SA add with an offload device, and anyone
 *     with CAP_NET_ADMIN in a user namespace may do that in a loop. The
 *     guard_esp=0 module parameter turns the veto off, so that tests can
 *     exercise step 2.
 *  2. On every module LIVE/GOING event, espx checks the slot. If the slot is
 *     empty, because the intruder's init failed as described above, espx
 *     registers its type again. If another type holds the slot, espx has lost
 *     ESP for that family. It pr_err()s once, espx_type_lost() reports it for
 *     netlink, and on unload espx leaves the slot alone, so that the core does
 *     not WARN. Existing espx SAs keep x->type == espx's type and its module
 *     reference, so they keep working until they are deleted. A module can
 *     also take the slot without any WARN: unregister exactly espx's type,
 *     then register its own (selftests/modules/espx_hold.c does, for tests).
 *     When it unloads, its exit empties the slot before the GOING event, and
 *     espx registers its type again.
 *
 * There is still a tiny window: esp4 may be past MODULE_STATE_COMING while
 * espx_proto_init() runs. The core has no lock that espx could share for
 * that. espx checks the slot again right before registering to narrow it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/ratelimit.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/ndisc.h>
#include <net/protocol.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/xfrm.h>
#include "echo.h"
#include "espx.h"
#include "compat.h"
#include "proto.h"
#include "wesp.h"
#include "diet.h"
#include "eesp.h"

static bool guard_esp = true;
module_param(guard_esp, bool, 0644);
MODULE_PARM_DESC(guard_esp,
		 "Refuse to load esp4/esp6 while espx is loaded (default Y)");

struct espx_family {
	unsigned short family;
	const char *name;		/* "IPv4" */
	const char *rival;		/* the in-tree module owning ESP */
	const struct xfrm_type *type;
	bool registered;		/* our registration is still to undo */
	bool lost_logged;		/* reported another type in the slot */
	char holder[MODULE_NAME_LEN];	/* its module, once reported */
};

static struct espx_family espx_families[] = {
	{ AF_INET,  "IPv4", "esp4", &espx_type_ipv4 },
	{ AF_INET6, "IPv6", "esp6", &espx_type_ipv6 },
};

/* Serialises registration state against the module notifier. */
static DEFINE_MUTEX(espx_proto_mutex);

/* The ESP type the core has registered for fam right now. If owner is not
 * NULL, it receives the owner module's name, or "" when the type is built in.
 * This returns ERR_PTR(-EAFNOSUPPORT) when the family has no xfrm state
 * afinfo. The pointer is only compared, never dereferenced, after the RCU
 * section.
 */
static const struct xfrm_type *espx_slot(const struct espx_family *fam,
					 char owner[MODULE_NAME_LEN])
{
	struct xfrm_state_afinfo *afinfo;
	const struct xfrm_type *t;

	rcu_read_lock();
	afinfo = xfrm_state_afinfo_get_rcu(fam->family);
	if (!afinfo) {
		rcu_read_unlock();
		return ERR_PTR(-EAFNOSUPPORT);
	}
	t = READ_ONCE(afinfo->type_esp);
	/* A module is freed only after an RCU grace period following its exit. */
	if (t && owner)
		strscpy(owner, t->owner ? module_name(t->owner) : "",
			MODULE_NAME_LEN);
	rcu_read_unlock();
	return t;
}

/* -EBUSY with a clear message if anyone else owns ESP for fam. */
static int espx_check_family(const struct espx_family *fam)
{
	char owner[MODULE_NAME_LEN];
	const struct xfrm_type *t;

	t = espx_slot(fam, owner);
	if (IS_ERR(t)) {
		pr_err("no xfrm support for %s in this kernel\n", fam->name);
		return PTR_ERR(t);
	}
	if (!t || t == fam->type)
		return 0;
	if (!owner[0])
		pr_err("ESP for %s is built into this kernel: espx cannot replace it\n",
		       fam->name);
	else if (!strcmp(owner, fam->rival))
		pr_err("ESP for %s is owned by module %s: unload it first (rmmod %s_offload %s; keep it away with 'install %s /bin/false' in modprobe.d)\n",
		       fam->name, owner, owner, owner, owner);
	else
		pr_err("ESP for %s is owned by module %s: unload it first (rmmod %s)\n",
		       fam->name, owner, owner);
	/* Not -EEXIST: modprobe reports success for that, with espx absent. */
	return -EBUSY;
}

int espx_proto_check_clash(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(espx_families); i++) {
		err = espx_check_family(&espx_families[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Lockless, callable from any context: a snapshot for netlink. */
bool espx_type_lost(unsigned short family)
{
	const struct espx_family *fam;
	int i;

	for (i = 0; i < ARRAY_SIZE(espx_families); i++) {
		fam = &espx_families[i];
		if (fam->family == family)
			return !READ_ONCE(fam->registered) ||
			       espx_slot(fam, NULL) != fam->type;
	}
	return false;
}

/* fam's slot is empty although espx's type is registered: someone removed
 * it. Registering again cannot WARN. Under espx_proto_mutex.
 */
static void espx_retake(struct espx_family *fam, const char *culprit)
{
	int err;

	if (fam->lost_logged)
		/* The module espx reported as the holder unregistered its
		 * type, normally in its exit, which runs before the GOING
		 * event.
		 */
		pr_info("module %s no longer holds the ESP type for %s: registering espx's type again\n",
			fam->holder, fam->name);
	else
		/* Nobody was seen holding it: esp4/esp6 overwrite espx's type
		 * (with a core WARN) and clear the slot when their init fails,
		 * all within one load.
		 */
		pr_err("lost the ESP type for %s: the slot was emptied while module %s was loading or unloading (esp4/esp6 do that, after a core WARN, when their init fails); registering espx's type again\n",
		       fam->name, culprit);
	fam->lost_logged = false;
	err = xfrm_register_type(fam->type, fam->family);
	if (err) {
		pr_err("cannot register the ESP type for %s again: %d\n",
		       fam->name, err);
		WRITE_ONCE(fam->registered, false);
	}
}

/* Runs after any module went LIVE or GOING, under espx_proto_mutex. It
 * re-takes an ESP slot that was left empty and reports a slot that another
 * type holds.
 */
static void espx_audit_types(const char *culprit)
{
	char owner[MODULE_NAME_LEN];
	struct espx_family *fam;
	const struct xfrm_type *t;
	int i;

	for (i = 0; i < ARRAY_SIZE(espx_families); i++) {
		fam = &espx_families[i];
		if (!fam->registered)
			continue;
		t = espx_slot(fam, owner);
		if (IS_ERR(t) || t == fam->type)
			continue;
		if (!t) {
			espx_retake(fam, culprit);
			continue;
		}
		if (!fam->lost_logged) {
			fam->lost_logged = true;
			strscpy(fam->holder, owner[0] ? owner : "(built-in)",
				MODULE_NAME_LEN);
			/* Its exit empties the slot: espx_retake(). */
			pr_err("lost the ESP type for %s to module %s: new %s ESP SAs no longer use espx, existing ones still do; espx takes it back when %s leaves the slot empty (rmmod it)\n",
			       fam->name, fam->holder, fam->name, fam->holder);
		}
	}
}

/* Vetoed loads are logged at most this often: a few lines, then one per
 * minute with the number suppressed (the ratelimit code prints that).
 */
static DEFINE_RATELIMIT_STATE(espx_veto_rs, 60 * HZ, 3);

static int espx_module_event(struct notifier_block *nb, unsigned long event,
			     void *data)
{
	struct module *mod = data;
	int i;

	switch (event) {
	case MODULE_STATE_COMING:
		if (!READ_ONCE(guard_esp))
			break;
		for (i = 0; i < ARRAY_SIZE(espx_families); i++) {
			if (strcmp(mod->name, espx_families[i].rival))
				continue;
			/* Also reached from an SA add with an offload device
			 * (the core requests esp4_offload, which needs esp4),
			 * which unprivileged users can repeat at will.
			 */
			if (__ratelimit(&espx_veto_rs))
				pr_err("refusing to load %s: espx provides ESP for %s and has no hardware offload (rmmod espx first to use %s)\n",
				       mod->name, espx_families[i].name,
				       mod->name);
			/* Not -EEXIST: modprobe takes that for "already loaded". */
			return notifier_from_errno(-EBUSY);
		}
		break;
	case MODULE_STATE_LIVE:
	case MODULE_STATE_GOING:
		mutex_lock(&espx_proto_mutex);
		espx_audit_types(mod->name);
		mutex_unlock(&espx_proto_mutex);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block espx_module_nb = {
	.notifier_call = espx_module_event,
};

static int espx_rcv_cb(struct sk_buff *skb, int err)
{
	return 0;
}

/* The ICMP errors espx acts on for its protocols (ESP, WESPv2, Diet-ESP):
 * PMTU discovery and redirects, as esp4/esp6 do. skb->data is the quoted
 * IPv4 header; the ICMP layer has pulled ihl + 8 octets already, but espx
 * does not rely on that. Return: the quoted header's length (pulled), or 0
 * to ignore the error. Like esp4, the handlers return 0 (handled) always.
 */
static unsigned int espx_icmp4_quoted(struct sk_buff *skb)
{
	const struct icmphdr *icmph = icmp_hdr(skb);
	unsigned int ihl;

	if (icmph->type == ICMP_DEST_UNREACH) {
		if (icmph->code != ICMP_FRAG_NEEDED)
			return 0;
	} else if (icmph->type != ICMP_REDIRECT) {
		return 0;
	}
	if (!pskb_may_pull(skb, sizeof(struct iphdr)))
		return 0;
	ihl = ((const struct iphdr *)skb->data)->ihl * 4;
	return ihl < sizeof(struct iphdr) || !pskb_may_pull(skb, ihl) ? 0 : ihl;
}

/* The error quoted a packet of one of our SAs: update the route. */
static void espx_icmp4_apply(struct sk_buff *skb, u32 info, u8 proto)
{
	struct net *net = dev_net(skb->dev);

	if (icmp_hdr(skb)->type == ICMP_DEST_UNREACH)
		ipv4_update_pmtu(skb, net, info, 0, proto);
	else
		ipv4_redirect(skb, net, 0, proto);
}

static bool espx_icmp6_wanted(u8 type, int offset, struct sk_buff *skb)
{
	return (type == ICMPV6_PKT_TOOBIG || type == NDISC_REDIRECT) &&
	       offset >= (int)sizeof(struct ipv6hdr) &&
	       pskb_may_pull(skb, sizeof(struct ipv6hdr));
}

static void espx_icmp6_apply(struct sk_buff *skb, u8 type, __be32 info)
{
	struct net *net = dev_net(skb->dev);

	if (type == NDISC_REDIRECT)
		ip6_redirect(skb, net, skb->dev->ifindex, 0,
			     sock_net_uid(net, NULL));
	else
		ip6_update_pmtu(skb, net, info, 0, 0, sock_net_uid(net, NULL));
}

/* ---- espx's own IP protocols ------------------------------------------ */

/**
 * struct espx_ipproto - one of espx's own IP protocols
 * @kind: whose receive and ICMP steps the handlers switch to
 * @no_sa: the per-netns counter of its packets that name no SA
 * @name: for the log
 * @proto: the protocol number while registered, else 0; set before the
 *	handlers can see it and cleared after they are gone
 */
struct espx_ipproto {
	enum espx_kind kind;
	enum espx_ns_stat no_sa;
	const char *name;
	u8 proto;
};

static struct espx_ipproto espx_ipprotos[] = {
	{ ESPX_KIND_WESP, ESPX_NS_STAT_WESP_NO_SA, "WESPv2" },
	{ ESPX_KIND_DIET, ESPX_NS_STAT_DIET_NO_SA, "Diet-ESP" },
	{ ESPX_KIND_EESP, ESPX_NS_STAT_EESP_NO_SA, "EESP" },
};

static struct espx_ipproto *espx_ipproto_of(enum espx_kind kind)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(espx_ipprotos); i++)
		if (espx_ipprotos[i].kind == kind)
			return &espx_ipprotos[i];
	return NULL;
}

/* The protocol a packet came with, NULL if none of ours (cannot happen:
 * the handlers are registered for ours only).
 */
static const struct espx_ipproto *espx_ipproto_find(u8 proto)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(espx_ipprotos); i++)
		if (proto && READ_ONCE(espx_ipprotos[i].proto) == proto)
			return &espx_ipprotos[i];
	return NULL;
}

enum skb_drop_reason espx_ipproto_no_sa(struct net *net, enum espx_kind kind)
{
	const struct espx_ipproto *ip = espx_ipproto_of(kind);

	if (ip)
		espx_ns_stat_inc(net, ip->no_sa);
	XFRM_INC_STATS(net, LINUX_MIB_XFRMINNOSTATES);
	return ESPX_DROP_NO_SA;
}

/* The extension's receive step leaves an ESP packet at skb->data (@pull
 * octets of its own header before it, if any), which the core's input
 * takes as ESP: xfrm_parse_spi() reads SPI and SN at the transport header.
 */
static int espx_ipproto_rcv(struct sk_buff *skb, unsigned short family,
			    u8 proto)
{
	const struct espx_ipproto *ip = espx_ipproto_find(proto);
	enum skb_drop_reason reason = SKB_DROP_REASON_NOT_SPECIFIED;
	unsigned int pull = 0;
	__be32 spi = 0;

	switch (ip ? ip->kind : ESPX_KIND_PLAIN) {
	case ESPX_KIND_WESP:
		reason = espx_wesp_rcv(skb, family, &pull);
		break;
	case ESPX_KIND_DIET:
		reason = espx_diet_rcv(skb, family);
		break;
	case ESPX_KIND_EESP:
		/* xfrm_input() takes the SPI as found: EESP stays whole */
		reason = espx_eesp_rcv(skb, family, &spi);
		break;
	default:
		break;
	}
	if (reason) {
		kfree_skb_reason(skb, reason);
		return 0;
	}
	if (pull) {
		__skb_pull(skb, pull);
		skb_reset_transport_header(skb);
	}
	if (family == AF_INET)
		return xfrm4_rcv_spi(skb, IPPROTO_ESP, spi);
	return xfrm6_rcv_spi(skb, IPPROTO_ESP, spi, NULL);
}

static int espx_ipproto4_rcv(struct sk_buff *skb)
{
	return espx_ipproto_rcv(skb, AF_INET, ip_hdr(skb)->protocol);
}

/* IP6CB nhoff: the Next Header octet that named our protocol */
static int espx_ipproto6_rcv(struct sk_buff *skb)
{
	return espx_ipproto_rcv(skb, AF_INET6,
				skb_network_header(skb)[IP6CB(skb)->nhoff]);
}

/* Does the packet an ICMP error quotes (our header at @off, skb->data the
 * quoted IP header) belong to one of our SAs?
 */
static bool espx_ipproto_err_known(const struct espx_ipproto *ip,
				   struct sk_buff *skb, unsigned int off,
				   unsigned short family)
{
	switch (ip ? ip->kind : ESPX_KIND_PLAIN) {
	case ESPX_KIND_WESP:
		return espx_wesp_err_known(skb, off, family);
	case ESPX_KIND_DIET:
		return espx_diet_err_known(skb, off, family);
	case ESPX_KIND_EESP:
		return espx_eesp_err_known(skb, off, family);
	default:
		return false;
	}
}

static int espx_ipproto4_err(struct sk_buff *skb, u32 info)
{
	unsigned int ihl = espx_icmp4_quoted(skb);
	const struct espx_ipproto *ip;

	if (!ihl)
		return 0;
	ip = espx_ipproto_find(((const struct iphdr *)skb->data)->protocol);
	if (espx_ipproto_err_known(ip, skb, ihl, AF_INET))
		espx_icmp4_apply(skb, info, ip->proto);
	return 0;
}

/* The quoted protocol is found as icmpv6_notify() found @offset. */
static int espx_ipproto6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
			     u8 type, u8 code, int offset, __be32 info)
{
	const struct espx_ipproto *ip;
	__be16 frag_off;
	u8 nh;

	if (!espx_icmp6_wanted(type, offset, skb))
		return 0;
	nh = ((const struct ipv6hdr *)skb->data)->nexthdr;
	if (ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &nh,
			     &frag_off) != offset)
		return 0;
	ip = espx_ipproto_find(nh);
	if (espx_ipproto_err_known(ip, skb, offset, AF_INET6))
		espx_icmp6_apply(skb, type, info);
	return 0;
}

/* no_policy: like ESP, the inbound policy check runs after decapsulation */
static const struct net_protocol espx_ipproto4 = {
	.handler	= espx_ipproto4_rcv,
	.err_handler	= espx_ipproto4_err,
	.no_policy	= 1,
};

static const struct inet6_protocol espx_ipproto6 = {
	.handler	= espx_ipproto6_rcv,
	.err_handler	= espx_ipproto6_err,
	.flags		= INET6_PROTO_NOPOLICY,
};

/**
 * espx_ipproto_add - take @proto for the kind's packets, both families
 * @kind: ESPX_KIND_WESP or ESPX_KIND_DIET
 * @proto: the IP protocol number
 *
 * Return: 0, or -EBUSY when another module has it (logged).
 */
int espx_ipproto_add(enum espx_kind kind, u8 proto)
{
	struct espx_ipproto *ip = espx_ipproto_of(kind);

	if (!ip || !proto)
		return -EINVAL;
	WRITE_ONCE(ip->proto, proto);
	if (inet_add_protocol(&espx_ipproto4, proto)) {
		pr_err("IPv4 protocol %u (%s) is taken by another module\n",
		       proto, ip->name);
		goto err;
	}
	if (inet6_add_protocol(&espx_ipproto6, proto)) {
		pr_err("IPv6 protocol %u (%s) is taken by another module\n",
		       proto, ip->name);
		inet_del_protocol(&espx_ipproto4, proto);
		goto err;
	}
	return 0;
err:
	WRITE_ONCE(ip->proto, 0);
	return -EBUSY;
}

/* Both deletions wait for the handlers running now (synchronize_net());
 * callers wait for an RCU grace period before the module text goes.
 */
void espx_ipproto_del(enum espx_kind kind)
{
	struct espx_ipproto *ip = espx_ipproto_of(kind);

	if (!ip || !ip->proto)
		return;
	inet6_del_protocol(&espx_ipproto6, ip->proto);
	inet_del_protocol(&espx_ipproto4, ip->proto);
	WRITE_ONCE(ip->proto, 0);
}

/* ---- ESP ---------------------------------------------------------------- */

static int espx4_err(struct sk_buff *skb, u32 info)
{
	struct net *net = dev_net(skb->dev);
	unsigned int ihl = espx_icmp4_quoted(skb);
	const struct ip_esp_hdr *esph;
	const struct iphdr *iph;
	struct xfrm_state *x;

	if (!ihl || !pskb_may_pull(skb, ihl + sizeof(*esph)))
		return 0;
	iph = (const struct iphdr *)skb->data;	/* the pull may move data */
	esph = (const struct ip_esp_hdr *)(skb->data + ihl);

	x = xfrm_state_lookup(net, skb->mark,
			      (const xfrm_address_t *)&iph->daddr, esph->spi,
			      IPPROTO_ESP, AF_INET);
	if (!x)
		return 0;
	espx_icmp4_apply(skb, info, IPPROTO_ESP);
	xfrm_state_put(x);
	return 0;
}

/* ICMPv6 errors: skb->data is the quoted IPv6 header, ESP at offset. */
static int espx6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
		     u8 type, u8 code, int offset, __be32 info)
{
	struct net *net = dev_net(skb->dev);
	const struct ip_esp_hdr *esph;
	const struct ipv6hdr *iph;
	struct xfrm_state *x;

	if (!espx_icmp6_wanted(type, offset, skb) ||
	    !pskb_may_pull(skb, offset + sizeof(*esph)))
		return 0;
	iph = (const struct ipv6hdr *)skb->data;
	esph = (const struct ip_esp_hdr *)(skb->data + offset);

	x = xfrm_state_lookup(net, skb->mark,
			      (const xfrm_address_t *)&iph->daddr, esph->spi,
			      IPPROTO_ESP, AF_INET6);
	if (!x)
		return 0;
	espx_icmp6_apply(skb, type, info);
	xfrm_state_put(x);
	return 0;
}

/* Same priority as esp4/esp6, so that they cannot register beside us. */
static struct xfrm4_protocol espx4_protocol = {
	.handler	= espx_echo_rcv4,	/* counts SPI 7/8 (echo.c) */
	.input_handler	= espx_echo_input_handler,
	.cb_handler	= espx_rcv_cb,
	.err_handler	= espx4_err,
	.priority	= 0,
};

static struct xfrm6_protocol espx6_protocol = {
	.handler	= espx_echo_rcv6,
	.input_handler	= espx_echo_input_handler,
	.cb_handler	= espx_rcv_cb,
	.err_handler	= espx6_err,
	.priority	= 0,
};

/* Under espx_proto_mutex. Only removes a type the core still holds as ours. */
static void espx_unregister_types(void)
{
	char owner[MODULE_NAME_LEN];
	struct espx_family *fam;
	const struct xfrm_type *t;
	int i;

	for (i = ARRAY_SIZE(espx_families) - 1; i >= 0; i--) {
		fam = &espx_families[i];
		if (!fam->registered)
			continue;
		WRITE_ONCE(fam->registered, false);
		t = espx_slot(fam, owner);
		if (t == fam->type)
			xfrm_unregister_type(fam->type, fam->family);
		else if (!IS_ERR_OR_NULL(t))
			pr_warn("leaving the ESP type for %s to module %s\n",
				fam->name, owner[0] ? owner : "(built-in)");
	}
}

int espx_proto_init(void)
{
	struct espx_family *fam;
	int i, err;

	/* From here on esp4/esp6 cannot start loading. */
	err = register_module_notifier(&espx_module_nb);
	if (err)
		return err;

	mutex_lock(&espx_proto_mutex);
	for (i = 0; i < ARRAY_SIZE(espx_families); i++) {
		fam = &espx_families[i];
		/* Again: one may have loaded since espx_proto_check_clash(). */
		err = espx_check_family(fam);
		if (!err)
			err = xfrm_register_type(fam->type, fam->family);
		if (err) {
			pr_err("cannot register the ESP type for %s: %d\n",
			       fam->name, err);
			goto err_types;
		}
		fam->lost_logged = false;
		WRITE_ONCE(fam->registered, true);
	}

	err = xfrm4_protocol_register(&espx4_protocol, IPPROTO_ESP);
	if (err) {
		pr_err("cannot register the IPv4 ESP protocol handler: %d\n",
		       err);
		goto err_types;
	}
	err = xfrm6_protocol_register(&espx6_protocol, IPPROTO_ESP);
	if (err) {
		pr_err("cannot register the IPv6 ESP protocol handler: %d\n",
		       err);
		goto err_proto4;
	}
	err = espx_ipproto_add(ESPX_KIND_WESP, ESPX_IPPROTO_WESP);
	if (err)
		goto err_proto6;
	mutex_unlock(&espx_proto_mutex);
	return 0;

err_proto6:
	xfrm6_protocol_deregister(&espx6_protocol, IPPROTO_ESP);
err_proto4:
	xfrm4_protocol_deregister(&espx4_protocol, IPPROTO_ESP);
err_types:
	espx_unregister_types();
	mutex_unlock(&espx_proto_mutex);
	unregister_module_notifier(&espx_module_nb);
	return err;
}

void espx_proto_exit(void)
{
	mutex_lock(&espx_proto_mutex);
	espx_ipproto_del(ESPX_KIND_WESP);
	if (xfrm6_protocol_deregister(&espx6_protocol, IPPROTO_ESP))
		pr_warn("cannot remove the IPv6 ESP protocol handler\n");
	if (xfrm4_protocol_deregister(&espx4_protocol, IPPROTO_ESP))
		pr_warn("cannot remove the IPv4 ESP protocol handler\n");
	espx_unregister_types();
	mutex_unlock(&espx_proto_mutex);
	/* Last, so that esp4/esp6 stay out until the slots are empty. */
	unregister_module_notifier(&espx_module_nb);
}
