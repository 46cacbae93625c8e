// SPDX-License-Identifier: GPL-2.0
/*
 * Extension rules (uapi: "Rules"): per network namespace, a list of rules
 * sorted by priority (equal priorities in the order they were added), each
 * a match on the SA being built and the config it then gets.
 *
 * espx_sa_bind() asks espx_rule_bind() for an SA that has neither a pending
 * config nor a live SA whose config it must keep, while it holds
 * espx_sa_mutex: the lock order is espx_sa_mutex, then espx_rule_mutex.
 * RULE_ADD/DEL/GET take espx_rule_mutex alone, so a rule change never waits
 * for the SA tables. A rule is copied into the SA (its config and name), so
 * deleting it touches no SA.
 *
 * The rules of a namespace go at its pernet exit; module exit runs the exit
 * of every namespace (unregister_pernet_subsys()), so none is left behind.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "cfgcheck.h"
#include "rules.h"

struct espx_rule_net {
	struct list_head rules;		/* by ->prio, then age */
	unsigned int count;
	unsigned int gen;	/* bumped on every change, for dumps */
	bool dead;		/* pernet exit ran */
};

static unsigned int espx_rule_net_id __read_mostly;
static DEFINE_MUTEX(espx_rule_mutex);
/* live rules of every netns: module exit tells a leak (debugfs
 * espx/rule_objects)
 */
static atomic_t espx_rule_objects = ATOMIC_INIT(0);

static struct espx_rule_net *espx_rule_net(const struct net *net)
{
	return net_generic(net, espx_rule_net_id);
}

/* Caller holds espx_rule_mutex. */
static struct espx_rule *espx_rule_find(struct espx_rule_net *rn,
					const char *name)
{
	struct espx_rule *r;

	list_for_each_entry(r, &rn->rules, list)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

int espx_rule_add(struct net *net, const struct espx_rule *tmpl,
		  struct netlink_ext_ack *extack)
{
	struct espx_rule_net *rn = espx_rule_net(net);
	struct espx_rule *r, *pos;
	int err = 0;

	r = kmemdup(tmpl, sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the rule");
		return -ENOMEM;
	}
	mutex_lock(&espx_rule_mutex);
	if (rn->dead) {
		NL_SET_ERR_MSG_MOD(extack, "network namespace is exiting");
		err = -ENODEV;
	} else if (espx_rule_find(rn, r->name)) {
		NL_SET_ERR_MSG_MOD(extack, "a rule with this name exists");
		err = -EEXIST;
	} else if (rn->count >= ESPX_RULES_MAX) {
		NL_SET_ERR_MSG_MOD(extack,
				   "too many rules in this namespace (1024)");
		err = -ENOSPC;
	}
	if (err) {
		mutex_unlock(&espx_rule_mutex);
		kfree(r);
		return err;
	}
	r->hits = 0;
	r->fallbacks = 0;
	/* after every rule of a lower or the same priority */
	list_for_each_entry(pos, &rn->rules, list)
		if (pos->prio > r->prio)
			break;
	list_add_tail(&r->list, &pos->list);
	atomic_inc(&espx_rule_objects);
	rn->count++;
	WRITE_ONCE(rn->gen, rn->gen + 1);
	mutex_unlock(&espx_rule_mutex);
	return 0;
}

/* Caller holds espx_rule_mutex. */
static void espx_rule_drop(struct espx_rule_net *rn, struct espx_rule *r)
{
	list_del(&r->list);
	atomic_dec(&espx_rule_objects);
	rn->count--;
	WRITE_ONCE(rn->gen, rn->gen + 1);
	kfree(r);
}

int espx_rule_del(struct net *net, const char *name,
		  struct netlink_ext_ack *extack)
{
	struct espx_rule_net *rn = espx_rule_net(net);
	struct espx_rule *r;
	int err = 0;

	mutex_lock(&espx_rule_mutex);
	r = espx_rule_find(rn, name);
	if (r) {
		espx_rule_drop(rn, r);
	} else {
		NL_SET_ERR_MSG_MOD(extack, "no rule with this name");
		err = -ENOENT;
	}
	mutex_unlock(&espx_rule_mutex);
	return err;
}

int espx_rule_get(struct net *net, const char *name,
		  int (*fn)(const struct espx_rule *r, void *arg), void *arg)
{
	struct espx_rule *r;
	int err = -ENOENT;

	mutex_lock(&espx_rule_mutex);
	r = espx_rule_find(espx_rule_net(net), name);
	if (r)
		err = fn(r, arg);
	mutex_unlock(&espx_rule_mutex);
	return err;
}

/* From the rule at index *@pos on, in order; *@pos is the index of the
 * rule @fn stopped at (returned non-zero), or the count when done.
 */
int espx_rule_walk(struct net *net, unsigned long *pos,
		   int (*fn)(const struct espx_rule *r, void *arg), void *arg)
{
	struct espx_rule *r;
	unsigned long i = 0;
	int err = 0;

	mutex_lock(&espx_rule_mutex);
	list_for_each_entry(r, &espx_rule_net(net)->rules, list) {
		if (i++ < *pos)
			continue;
		err = fn(r, arg);
		if (err) {
			i--;
			break;
		}
	}
	*pos = i;
	mutex_unlock(&espx_rule_mutex);
	return err;
}

/* Changes so far, never 0 (a dump's NLM_F_DUMP_INTR). */
unsigned int espx_rule_gen(const struct net *net)
{
	return READ_ONCE(espx_rule_net(net)->gen) ?: 1;
}

static bool espx_rule_prefix(const xfrm_address_t *a,
			     const xfrm_address_t *prefix, u8 plen)
{
	return addr_match(a, prefix, plen);
}

/* The SA's selector lies within the rule's. */
static bool espx_rule_sel_match(const struct espx_rule_match *m,
				const struct xfrm_selector *sel)
{
	const struct espx_rule_sel *s = &m->sel;
	u32 has = m->sel_has;

	if ((has & BIT(ESPX_SEL_FAMILY)) && sel->family != s->family)
		return false;
	if ((has & BIT(ESPX_SEL_SADDR)) &&
	    (sel->prefixlen_s < s->splen ||
	     !espx_rule_prefix(&sel->saddr, &s->saddr, s->splen)))
		return false;
	if ((has & BIT(ESPX_SEL_DADDR)) &&
	    (sel->prefixlen_d < s->dplen ||
	     !espx_rule_prefix(&sel->daddr, &s->daddr, s->dplen)))
		return false;
	if ((has & BIT(ESPX_SEL_PROTO)) && sel->proto != s->proto)
		return false;
	if ((has & BIT(ESPX_SEL_SPORT)) &&
	    (sel->sport_mask != htons(0xffff) || ntohs(sel->sport) != s->sport))
		return false;
	if ((has & BIT(ESPX_SEL_DPORT)) &&
	    (sel->dport_mask != htons(0xffff) || ntohs(sel->dport) != s->dport))
		return false;
	return true;
}

static bool espx_rule_match(const struct espx_rule_match *m,
			    const struct xfrm_state *x)
{
	u32 has = m->has, spi = ntohl(x->id.spi);

	if ((has & BIT(ESPX_MATCH_FAMILY)) && x->props.family != m->family)
		return false;
	if ((has & BIT(ESPX_MATCH_DADDR)) &&
	    !espx_rule_prefix(&x->id.daddr, &m->daddr, m->dplen))
		return false;
	if ((has & BIT(ESPX_MATCH_SADDR)) &&
	    !espx_rule_prefix(&x->props.saddr, &m->saddr, m->splen))
		return false;
	if ((has & BIT(ESPX_MATCH_MODE)) && x->props.mode != m->mode)
		return false;
	if ((has & BIT(ESPX_MATCH_REQID)) && x->props.reqid != m->reqid)
		return false;
	if ((has & BIT(ESPX_MATCH_MARK)) &&
	    (x->mark.v & m->mark_mask) != m->mark)
		return false;
	if ((has & BIT(ESPX_MATCH_IF_ID)) && x->if_id != m->if_id)
		return false;
	if (spi < m->spi_min || spi > m->spi_max)
		return false;
	if (m->sel_has && !espx_rule_sel_match(m, &x->sel))
		return false;
	return true;
}

static bool espx_cfg_empty(const struct espx_cfg *cfg)
{
	return !cfg->wesp && !cfg->counters && !cfg->diet;
}

/* Without NL_SET_ERR_MSG_FMT (before 6.2) an extack message must outlive
 * the request: it is one of a few module buffers, reused in turn. The last
 * octet of each is never written, so a reader that meets a buffer being
 * rewritten (many refusals at once) reads a mixed message, never past it.
 */
#define ESPX_RULE_MSG_LEN	80
#ifndef NL_SET_ERR_MSG_FMT
#define ESPX_RULE_MSGS		16
static char espx_rule_msgs[ESPX_RULE_MSGS][ESPX_RULE_MSG_LEN];
static atomic_t espx_rule_msg_next = ATOMIC_INIT(0);
#endif

static void espx_rule_extack(struct netlink_ext_ack *extack, const char *msg)
{
#ifdef NL_SET_ERR_MSG_FMT
	NL_SET_ERR_MSG_FMT(extack, "%s", msg);
#else
	unsigned int i = (unsigned int)atomic_inc_return(&espx_rule_msg_next);
	char *buf = espx_rule_msgs[i % ESPX_RULE_MSGS];

	strscpy(buf, msg, ESPX_RULE_MSG_LEN - 1);
	extack->_msg = buf;
#endif
}

/**
 * espx_rule_msg - name the rule in the refusal of an SA it configured
 * @extack: the request's, with the refusal's message (or none); may be NULL
 * @name: the rule's name
 * @x: the SA being refused
 *
 * "espx: rule NAME: <reason>", in the extack and (rate-limited) in the log:
 * IKE daemons report only the errno of a failed NEWSA/UPDSA.
 */
void espx_rule_msg(struct netlink_ext_ack *extack, const char *name,
		   const struct xfrm_state *x)
{
	const char *why = extack && extack->_msg ? extack->_msg : "refused";
	char msg[ESPX_RULE_MSG_LEN];

	if (!strncmp(why, KBUILD_MODNAME ": ", sizeof(KBUILD_MODNAME ": ") - 1))
		why += sizeof(KBUILD_MODNAME ": ") - 1;
	pr_info_ratelimited("rule %s cannot apply to the SA with SPI 0x%08x: %s\n",
			    name, ntohl(x->id.spi), why);
	if (!extack)
		return;
	snprintf(msg, sizeof(msg), KBUILD_MODNAME ": rule %s: %s", name, why);
	espx_rule_extack(extack, msg);
}

/* espx_rule_ctr_props() without its log line */
static void __espx_rule_ctr_props(struct xfrm_state *x,
				  const struct espx_cfg *cfg)
{
	if (!cfg->counters)
		return;
	if (!espx_sa_input_only(x))
		x->props.extra_flags |= XFRM_SA_XFLAG_OSEQ_MAY_WRAP;
	x->props.replay_window = 0;
}

/* the SA has its config: say so when its window was the daemon's */
static void espx_rule_ctr_log(const struct xfrm_state *x,
			      const struct espx_cfg *cfg, u8 win)
{
	if (cfg->counters && win)
		pr_info_ratelimited("SA spi 0x%08x: replay window %u reset to 0: a counter SA keeps a window per counter (counter-window)\n",
				    ntohl(x->id.spi), win);
}

/**
 * espx_rule_ctr_props - what a rule's counter SA needs and a daemon cannot set
 * @x: the state being built (init_state: nobody can find it yet)
 * @cfg: the config a rule gives it
 *
 * A counter SA needs XFRM_SA_XFLAG_OSEQ_MAY_WRAP when it sends, else the
 * core stops it after 2^32 - 1 packets although espx numbers them, and the
 * core's replay window 0, else the core drops packets in order on their own
 * counter (espx_cfg_check()). An operator sets both with ip xfrm; an IKE
 * daemon cannot send the flag (strongSwan 5.9 sends neither it nor SA_DIR)
 * and sends a replay window by default, so a rule sets them on the SAs
 * it makes counter SAs, as km.c does for a window over 32.
 *
 * The flag is safe: a counter SA takes its SN and IV from its counters
 * alone (espx_ctr_next()), never from the core's 32-bit SN: IV =
 * be16(counter id) | be48(seq), each counter hard-stops past 2^48 - 1. The
 * window: espx keeps one per counter (counter-window). Never the flag on an
 * input-only SA, which sends nothing (and where the core refuses it).
 */
void espx_rule_ctr_props(struct xfrm_state *x, const struct espx_cfg *cfg)
{
	u8 win = x->props.replay_window;

	__espx_rule_ctr_props(x, cfg);
	espx_rule_ctr_log(x, cfg, win);
}

/* espx_cfg_check() of a rule's config on @x with what the rule sets; a
 * refused or plain SA keeps what it was given: a plain SA must stop at 2^32
 * (seqiv's IV is its SN) and needs its window.
 */
static int espx_rule_check(struct xfrm_state *x, const struct espx_cfg *cfg,
			   struct netlink_ext_ack *extack)
{
	u32 xflags = x->props.extra_flags;
	u8 win = x->props.replay_window;
	int err;

	__espx_rule_ctr_props(x, cfg);
	err = espx_cfg_check(x, cfg, extack);
	if (err) {
		x->props.extra_flags = xflags;
		x->props.replay_window = win;
	} else {
		espx_rule_ctr_log(x, cfg, win);
	}
	return err;
}

/**
 * espx_rule_bind - the config of the first rule matching a new SA
 * @x: the state being built (init_state, under espx_sa_mutex)
 * @cfg: set to the rule's config when the result is 1
 * @name: set to the rule's name when the result is 1
 * @extack: the refusal, naming the rule
 *
 * A rule that makes @x a counter SA also sets its oseq-may-wrap flag and
 * its replay window 0 (espx_rule_ctr_props()).
 *
 * Return: 0 (no rule, a rule without extensions, or a fallback to plain:
 * the SA is plain), 1 (@cfg is the SA's), or -errno when the rule cannot
 * apply to @x and has no fallback.
 */
int espx_rule_bind(struct xfrm_state *x, struct espx_cfg *cfg,
		   char name[ESPX_RULE_NAME_LEN],
		   struct netlink_ext_ack *extack)
{
	struct espx_rule_net *rn = espx_rule_net(xs_net(x));
	struct netlink_ext_ack why = {};
	const struct espx_cfg plain = {};
	struct espx_rule *r;
	int ret = 0, err;

	if (!READ_ONCE(rn->count))
		return 0;
	mutex_lock(&espx_rule_mutex);
	list_for_each_entry(r, &rn->rules, list) {
		if (!espx_rule_match(&r->m, x))
			continue;
		if (espx_cfg_empty(&r->cfg)) {
			r->hits++;
			break;
		}
		err = espx_rule_check(x, &r->cfg, &why);
		/* a fault of the SA itself is not the rule's: init_state
		 * reports it as for any plain SA
		 */
		if (err && espx_cfg_check(x, &plain, NULL))
			break;
		if (!err) {
			r->hits++;
			*cfg = r->cfg;
			strscpy(name, r->name, ESPX_RULE_NAME_LEN);
			ret = 1;
		} else if (r->fallback) {
			r->fallbacks++;
			espx_ns_stat_inc(xs_net(x), ESPX_NS_STAT_RULE_FALLBACK);
		} else {
			if (extack)
				extack->_msg = why._msg;
			espx_rule_msg(extack ?: &why, r->name, x);
			ret = err;
		}
		break;
	}
	mutex_unlock(&espx_rule_mutex);
	return ret;
}

static int __net_init espx_rule_net_init(struct net *net)
{
	struct espx_rule_net *rn = espx_rule_net(net);

	INIT_LIST_HEAD(&rn->rules);
	rn->count = 0;
	rn->gen = 1;
	rn->dead = false;
	return 0;
}

static void __net_exit espx_rule_net_exit(struct net *net)
{
	struct espx_rule_net *rn = espx_rule_net(net);
	struct espx_rule *r, *tmp;

	mutex_lock(&espx_rule_mutex);
	rn->dead = true;
	list_for_each_entry_safe(r, tmp, &rn->rules, list)
		espx_rule_drop(rn, r);
	mutex_unlock(&espx_rule_mutex);
}

static struct pernet_operations espx_rule_net_ops = {
	.init = espx_rule_net_init,
	.exit = espx_rule_net_exit,
	.id = &espx_rule_net_id,
	.size = sizeof(struct espx_rule_net),
};

/* After espx_sa_init(), which makes the debugfs directory (and removes it
 * with this file at its exit).
 */
int espx_rules_init(void)
{
	struct dentry *dir;
	int err;

	err = register_pernet_subsys(&espx_rule_net_ops);
	if (err)
		return err;
	dir = debugfs_lookup("espx", NULL);
	if (!IS_ERR_OR_NULL(dir)) {
		debugfs_create_atomic_t("rule_objects", 0400, dir,
					&espx_rule_objects);
		dput(dir);
	}
	return 0;
}

void espx_rules_exit(void)
{
	int n;

	unregister_pernet_subsys(&espx_rule_net_ops);
	n = atomic_read(&espx_rule_objects);
	if (n)
		pr_err("%d rules leaked\n", n);
}
