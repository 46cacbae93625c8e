/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rules.c: the per-netns extension rules (ESPX_CMD_RULE_*): which config an
 * SA gets when nobody sent an ESPX_CMD_SA_SET for it (an IKE daemon's SAs).
 */
#ifndef _NET_ESPX_RULES_H
#define _NET_ESPX_RULES_H

#include <linux/list.h>
#include <net/xfrm.h>
#include "espx.h"
#include "sa.h"

/* What a rule matches; a field counts only when its bit is in ->has or
 * ->sel_has. Addresses are stored with the bits past their prefix cleared.
 */
struct espx_rule_sel {
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u16 family;
	u16 sport;		/* host order */
	u16 dport;
	u8 splen;
	u8 dplen;
	u8 proto;
};

struct espx_rule_match {
	u32 has;		/* BIT(ESPX_MATCH_*) given */
	u32 sel_has;		/* BIT(ESPX_SEL_*) given */
	xfrm_address_t daddr;
	xfrm_address_t saddr;
	u16 family;
	u8 dplen;
	u8 splen;
	u8 mode;
	u32 reqid;
	u32 mark;
	u32 mark_mask;
	u32 if_id;
	u32 spi_min;		/* host order */
	u32 spi_max;
	struct espx_rule_sel sel;
};

struct espx_rule {
	struct list_head list;		/* in the netns list, by ->prio */
	char name[ESPX_RULE_NAME_LEN];
	u32 prio;
	bool fallback;			/* plain SA rather than a refusal */
	struct espx_rule_match m;
	struct espx_cfg cfg;		/* all zero: the SAs stay plain */
	u64 hits;			/* under espx_rule_mutex */
	u64 fallbacks;
};

int espx_rules_init(void);
void espx_rules_exit(void);

int espx_rule_add(struct net *net, const struct espx_rule *tmpl,
		  struct netlink_ext_ack *extack);
int espx_rule_del(struct net *net, const char *name,
		  struct netlink_ext_ack *extack);
/* @fn runs under the rules' lock: the rule is valid only inside it */
int espx_rule_get(struct net *net, const char *name,
		  int (*fn)(const struct espx_rule *r, void *arg), void *arg);
int espx_rule_walk(struct net *net, unsigned long *pos,
		   int (*fn)(const struct espx_rule *r, void *arg), void *arg);
unsigned int espx_rule_gen(const struct net *net);

void espx_rule_ctr_props(struct xfrm_state *x, const struct espx_cfg *cfg);
int espx_rule_bind(struct xfrm_state *x, struct espx_cfg *cfg,
		   char name[ESPX_RULE_NAME_LEN],
		   struct netlink_ext_ack *extack);
void espx_rule_msg(struct netlink_ext_ack *extack, const char *name,
		   const struct xfrm_state *x);

#endif /* _NET_ESPX_RULES_H */
