// SPDX-License-Identifier: GPL-2.0
/*
 * The "espx" generic netlink family: per-SA extension configs in, configs
 * and statistics out, plus the module's state (INFO_GET). See
 * include/uapi/linux/espx.h for the contract; the table itself lives in sa.c.
 *
 * Every command, GET included, needs CAP_NET_ADMIN over the user namespace
 * owning the socket's network namespace (GENL_UNS_ADMIN_PERM): xfrm_user
 * asks the same for reading SAs, and a config names an SA's SPI and peer.
 */
#include <linux/bitmap.h>
#include <linux/version.h>
#include <net/genetlink.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "cfgcheck.h"
#include "counters.h"
#include "proto.h"
#include "netlink.h"
#include "rules.h"
#include "echo.h"

#define ESPX_DSCP_MAX	63	/* a 6-bit field */

static const struct nla_policy espx_id_policy[ESPX_ID_MAX + 1] = {
	[ESPX_ID_FAMILY]	= { .type = NLA_U16 },
	/* maximum length here; exact length per family in espx_nl_id() */
	[ESPX_ID_DADDR]		= { .type = NLA_BINARY,
				    .len = sizeof(struct in6_addr) },
	[ESPX_ID_SPI]		= { .type = NLA_BE32 },
	[ESPX_ID_PROTO]		= { .type = NLA_U8 },
	[ESPX_ID_MARK]		= { .type = NLA_U32 },
	[ESPX_ID_MARK_MASK]	= { .type = NLA_U32 },
	[ESPX_ID_IF_ID]		= { .type = NLA_U32 },
};

static const struct nla_policy espx_wesp_policy[ESPX_WESP_MAX + 1] = {
	[ESPX_WESP_CRYPT_OFFSET] =
		NLA_POLICY_MAX(NLA_U8, ESPX_WESP_CRYPT_OFFSET_MAX),
};

static const struct nla_policy
espx_counters_policy[ESPX_COUNTERS_MAX_ATTR + 1] = {
	[ESPX_COUNTERS_COUNT]	= NLA_POLICY_RANGE(NLA_U16, 1, ESPX_COUNTERS_MAX),
	/* the multiple of 32 is checked in espx_nl_counters() */
	[ESPX_COUNTERS_WINDOW]	= NLA_POLICY_RANGE(NLA_U32,
						   ESPX_COUNTERS_WINDOW_MIN,
						   ESPX_COUNTERS_WINDOW_MAX),
	[ESPX_COUNTERS_START]	= { .type = NLA_U64 },
	[ESPX_COUNTERS_WINDOWS]	= { .type = NLA_REJECT,
				    .reject_message = "espx: windows is reply-only" },
	[ESPX_COUNTERS_PAD]	= { .type = NLA_REJECT },
};

/* eesp.md §6, §8; key-bits and the window's multiple of 32 are checked in
 * espx_nl_eesp(), the rest against the SA by espx_cfg_check().
 */
static const struct nla_policy espx_eesp_policy[ESPX_EESP_MAX + 1] = {
	[ESPX_EESP_SUB_SAS]	= NLA_POLICY_RANGE(NLA_U16, 1,
						   ESPX_EESP_SUB_SAS_MAX),
	[ESPX_EESP_SSKDF]	= NLA_POLICY_MAX(NLA_U8,
						 ESPX_EESP_SSKDF_HKDF_SHA512),
	[ESPX_EESP_KEY_BITS]	= { .type = NLA_U16 },
	[ESPX_EESP_CRYPT_OFFSET] = NLA_POLICY_RANGE(NLA_U8, 1, 63),
	[ESPX_EESP_IIV]		= { .type = NLA_FLAG },
	[ESPX_EESP_WINDOW]	= NLA_POLICY_RANGE(NLA_U32,
						   ESPX_EESP_WINDOW_MIN,
						   ESPX_EESP_WINDOW_MAX),
	[ESPX_EESP_START]	= { .type = NLA_U64 },
};

/* Ranges of draft-ietf-ipsecme-diet-esp-07 §7 (sn_lsb 0 is refused: the
 * receiver could not rebuild the SN); the rules between attributes are in
 * espx_nl_diet().
 */
static const struct nla_policy espx_diet_policy[ESPX_DIET_MAX + 1] = {
	[ESPX_DIET_SPI_LSB]	= NLA_POLICY_MAX(NLA_U8, 32),
	[ESPX_DIET_SN_LSB]	= NLA_POLICY_RANGE(NLA_U8, 1, 32),
	[ESPX_DIET_ALIGN]	= NLA_POLICY_MAX(NLA_U8, ESPX_DIET_ALIGN_64BIT),
	[ESPX_DIET_TRAILER]	= NLA_POLICY_MAX(NLA_U8, ESPX_DIET_TRAILER_OPT),
	[ESPX_DIET_IIPC]	= NLA_POLICY_MAX(NLA_U8, 1),
	[ESPX_DIET_DSCP]	= NLA_POLICY_MAX(NLA_U8, ESPX_DIET_CDA_SA),
	[ESPX_DIET_DSCP_LIST]	= NLA_POLICY_RANGE(NLA_BINARY, 1,
						   ESPX_DIET_DSCP_LIST_MAX),
	[ESPX_DIET_ECN]		= NLA_POLICY_MAX(NLA_U8, ESPX_DIET_CDA_LOWER),
	[ESPX_DIET_FLOWLABEL]	= NLA_POLICY_MAX(NLA_U8, ESPX_DIET_CDA_ZERO),
	[ESPX_DIET_IIV]		= { .type = NLA_FLAG },
};

static const struct nla_policy espx_sel_policy[ESPX_SEL_MAX + 1] = {
	[ESPX_SEL_FAMILY]	= { .type = NLA_U16 },
	/* maximum length here; exact length per family in espx_nl_addr() */
	[ESPX_SEL_SADDR]	= { .type = NLA_BINARY,
				    .len = sizeof(struct in6_addr) },
	[ESPX_SEL_SADDR_PLEN]	= { .type = NLA_U8 },
	[ESPX_SEL_DADDR]	= { .type = NLA_BINARY,
				    .len = sizeof(struct in6_addr) },
	[ESPX_SEL_DADDR_PLEN]	= { .type = NLA_U8 },
	[ESPX_SEL_PROTO]	= NLA_POLICY_MIN(NLA_U8, 1),
	[ESPX_SEL_SPORT]	= { .type = NLA_U16 },
	[ESPX_SEL_DPORT]	= { .type = NLA_U16 },
};

static const struct nla_policy espx_match_policy[ESPX_MATCH_MAX + 1] = {
	[ESPX_MATCH_FAMILY]	= { .type = NLA_U16 },
	[ESPX_MATCH_DADDR]	= { .type = NLA_BINARY,
				    .len = sizeof(struct in6_addr) },
	[ESPX_MATCH_DADDR_PLEN]	= { .type = NLA_U8 },
	[ESPX_MATCH_SADDR]	= { .type = NLA_BINARY,
				    .len = sizeof(struct in6_addr) },
	[ESPX_MATCH_SADDR_PLEN]	= { .type = NLA_U8 },
	/* ROUTEOPTIMIZATION and IN_TRIGGER are refused in espx_nl_match() */
	[ESPX_MATCH_MODE]	= NLA_POLICY_MAX(NLA_U8, XFRM_MODE_BEET),
	[ESPX_MATCH_REQID]	= { .type = NLA_U32 },
	[ESPX_MATCH_MARK]	= { .type = NLA_U32 },
	[ESPX_MATCH_MARK_MASK]	= { .type = NLA_U32 },
	[ESPX_MATCH_IF_ID]	= { .type = NLA_U32 },
	[ESPX_MATCH_SPI_MIN]	= { .type = NLA_U32 },
	[ESPX_MATCH_SPI_MAX]	= { .type = NLA_U32 },
	[ESPX_MATCH_SEL]	= NLA_POLICY_NESTED(espx_sel_policy),
};

static const struct nla_policy espx_rule_policy[ESPX_RULE_MAX + 1] = {
	/* characters and emptiness are checked in espx_nl_rule_name() */
	[ESPX_RULE_NAME]	= { .type = NLA_NUL_STRING,
				    .len = ESPX_RULE_NAME_LEN - 1 },
	[ESPX_RULE_PRIO]	= { .type = NLA_U32 },
	[ESPX_RULE_FALLBACK]	= { .type = NLA_FLAG },
	[ESPX_RULE_MATCH]	= NLA_POLICY_NESTED(espx_match_policy),
	[ESPX_RULE_HITS]	= { .type = NLA_REJECT,
				    .reject_message = "espx: rule hits are reply-only" },
	[ESPX_RULE_FALLBACKS]	= { .type = NLA_REJECT,
				    .reject_message = "espx: rule fallbacks are reply-only" },
	[ESPX_RULE_PAD]		= { .type = NLA_REJECT },
};

static const struct nla_policy espx_echo_policy[ESPX_ECHO_MAX + 1] = {
};

/* Limits above 32767 need a full range: the short form's bounds are
 * s16. Not const: 6.1's policy points to a mutable one.
 */
static struct netlink_range_validation espx_probe_interval_range = {
	.min = ESPX_PROBE_INTERVAL_MIN,
	.max = ESPX_PROBE_INTERVAL_MAX,
};

static struct netlink_range_validation espx_probe_timeout_range = {
	.min = ESPX_PROBE_TIMEOUT_MIN,
	.max = ESPX_PROBE_TIMEOUT_MAX,
};

static struct netlink_range_validation espx_probe_size_range = {
	.max = ESPX_PROBE_SIZE_MAX,
};

static const struct nla_policy espx_probe_policy[ESPX_PROBE_MAX + 1] = {
	[ESPX_PROBE_COUNT]	= NLA_POLICY_RANGE(NLA_U32, 1,
						   ESPX_PROBE_COUNT_MAX),
	[ESPX_PROBE_INTERVAL]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&espx_probe_interval_range),
	[ESPX_PROBE_SIZE]	= NLA_POLICY_FULL_RANGE(NLA_U16,
							&espx_probe_size_range),
	[ESPX_PROBE_REPLY_SPI]	= { .type = NLA_BE32 },
	[ESPX_PROBE_ONEWAY]	= { .type = NLA_FLAG },
	[ESPX_PROBE_IDENT]	= { .type = NLA_U16 },
	[ESPX_PROBE_TIMEOUT]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&espx_probe_timeout_range),
	[ESPX_PROBE_SEQ]	= { .type = NLA_REJECT,
				    .reject_message = "espx: seq is reply-only" },
	[ESPX_PROBE_STATUS]	= { .type = NLA_REJECT },
	[ESPX_PROBE_RTT_NS]	= { .type = NLA_REJECT },
	[ESPX_PROBE_DATA_LEN]	= { .type = NLA_REJECT },
	[ESPX_PROBE_REPLY_SA]	= { .type = NLA_REJECT },
	[ESPX_PROBE_DONE]	= { .type = NLA_REJECT },
	[ESPX_PROBE_IN_DELTA]	= { .type = NLA_REJECT },
	[ESPX_PROBE_ERRNO]	= { .type = NLA_REJECT },
	[ESPX_PROBE_PAD]	= { .type = NLA_REJECT },
};

static const struct nla_policy espx_policy[ESPX_A_MAX + 1] = {
	[ESPX_A_SA_ID]	= NLA_POLICY_NESTED(espx_id_policy),
	[ESPX_A_STATUS]	= { .type = NLA_REJECT,
			    .reject_message = "espx: status is reply-only" },
	[ESPX_A_WESP]	= NLA_POLICY_NESTED(espx_wesp_policy),
	[ESPX_A_STATS]	= { .type = NLA_REJECT,
			    .reject_message = "espx: stats are reply-only" },
	[ESPX_A_PAD]	= { .type = NLA_REJECT },
	[ESPX_A_INFO]	= { .type = NLA_REJECT,
			    .reject_message = "espx: info is reply-only" },
	[ESPX_A_COUNTERS] = NLA_POLICY_NESTED(espx_counters_policy),
	[ESPX_A_CTR]	= { .type = NLA_REJECT,
			    .reject_message = "espx: counter state is reply-only" },
	[ESPX_A_DIET]	= NLA_POLICY_NESTED(espx_diet_policy),
	[ESPX_A_DETACHED] = { .type = NLA_FLAG },
	[ESPX_A_RULE]	= NLA_POLICY_NESTED(espx_rule_policy),
	[ESPX_A_ECHO]	= NLA_POLICY_NESTED(espx_echo_policy),
	[ESPX_A_PROBE]	= NLA_POLICY_NESTED(espx_probe_policy),
	[ESPX_A_EESP]	= NLA_POLICY_NESTED(espx_eesp_policy),
};

static struct genl_family espx_genl_family;

/* The SA id of a request (@nest: its ESPX_A_SA_ID, may be NULL). */
static int espx_nl_id_parse(struct nlattr *nest, struct espx_sa_id *id,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *tb[ESPX_ID_MAX + 1];
	struct nlattr *a;
	int err;

	if (!nest) {
		NL_SET_ERR_MSG_MOD(extack, "missing SA id");
		NL_SET_ERR_ATTR_MISS(extack, NULL, ESPX_A_SA_ID);
		return -EINVAL;
	}
	err = nla_parse_nested(tb, ESPX_ID_MAX, nest, espx_id_policy, extack);
	if (err)
		return err;

	memset(id, 0, sizeof(*id));
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_ID_FAMILY)) {
		NL_SET_ERR_MSG_MOD(extack, "SA id lacks the family");
		return -EINVAL;
	}
	a = tb[ESPX_ID_FAMILY];
	id->family = nla_get_u16(a);
	if (id->family != AF_INET && id->family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, a, "unsupported address family");
		return -EAFNOSUPPORT;
	}

	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_ID_DADDR)) {
		NL_SET_ERR_MSG_MOD(extack, "SA id lacks the destination address");
		return -EINVAL;
	}
	a = tb[ESPX_ID_DADDR];
	if (nla_len(a) != (id->family == AF_INET ? sizeof(struct in_addr) :
			   sizeof(struct in6_addr))) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "address length does not match the family");
		return -EINVAL;
	}
	nla_memcpy(&id->daddr, a, sizeof(id->daddr));

	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_ID_SPI)) {
		NL_SET_ERR_MSG_MOD(extack, "SA id lacks the SPI");
		return -EINVAL;
	}
	a = tb[ESPX_ID_SPI];
	id->spi = nla_get_be32(a);
	if (!id->spi) {
		NL_SET_ERR_MSG_ATTR(extack, a, "SPI 0 is reserved");
		return -EINVAL;
	}

	id->proto = IPPROTO_ESP;
	a = tb[ESPX_ID_PROTO];
	if (a && nla_get_u8(a) != IPPROTO_ESP) {
		NL_SET_ERR_MSG_ATTR(extack, a, "protocol must be ESP (50)");
		return -EPROTONOSUPPORT;
	}

	if (tb[ESPX_ID_MARK])
		id->mark = nla_get_u32(tb[ESPX_ID_MARK]);
	if (tb[ESPX_ID_MARK_MASK])
		id->mark_mask = nla_get_u32(tb[ESPX_ID_MARK_MASK]);
	if (tb[ESPX_ID_IF_ID])
		id->if_id = nla_get_u32(tb[ESPX_ID_IF_ID]);
	return 0;
}

/* Every doit needs an SA id. */
static int espx_nl_id(struct genl_info *info, struct espx_sa_id *id)
{
	return espx_nl_id_parse(info->attrs[ESPX_A_SA_ID], id, info->extack);
}

static int espx_nl_put_id(struct sk_buff *skb, const struct espx_sa_id *id)
{
	struct nlattr *nest = nla_nest_start(skb, ESPX_A_SA_ID);

	if (!nest ||
	    nla_put_u16(skb, ESPX_ID_FAMILY, id->family) ||
	    nla_put(skb, ESPX_ID_DADDR,
		    id->family == AF_INET ? sizeof(struct in_addr) :
					    sizeof(struct in6_addr),
		    &id->daddr) ||
	    nla_put_be32(skb, ESPX_ID_SPI, id->spi) ||
	    nla_put_u8(skb, ESPX_ID_PROTO, id->proto) ||
	    nla_put_u32(skb, ESPX_ID_MARK, id->mark) ||
	    nla_put_u32(skb, ESPX_ID_MARK_MASK, id->mark_mask) ||
	    nla_put_u32(skb, ESPX_ID_IF_ID, id->if_id))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* A nest of u64 counters v[1..max], attribute type = counter id. Type 0 is
 * the padding attribute in both counter enums (ESPX_STAT_UNSPEC,
 * ESPX_NS_STAT_UNSPEC), so nothing else may ever use it.
 */
static int espx_nl_put_u64s(struct sk_buff *skb, int attrtype, const u64 *v,
			    int max)
{
	struct nlattr *nest = nla_nest_start(skb, attrtype);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i <= max; i++)
		if (nla_put_u64_64bit(skb, i, v[i], ESPX_STAT_UNSPEC))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int espx_nl_put_stats(struct sk_buff *skb, const struct espx_sa *sa)
{
	u64 v[__ESPX_STAT_MAX];

	espx_sa_stats_read(sa, v);
	return espx_nl_put_u64s(skb, ESPX_A_STATS, v, ESPX_STAT_MAX);
}

struct espx_nl_reply {
	struct sk_buff *skb;
	u32 portid;
	u32 seq;
	int flags;
	long *pos;		/* CTR_GET dump: next counter id */
	struct netlink_callback *cb;	/* dumps: NLM_F_DUMP_INTR */
};

/* A dump takes several rounds when its messages do not fit one skb, and the
 * table may change between them (entries skipped or repeated): mark every
 * message of a round that started after such a change with NLM_F_DUMP_INTR.
 */
static void espx_nl_dump_round(struct netlink_callback *cb, struct net *net)
{
	cb->seq = espx_sa_gen(net);
}

static void espx_nl_dump_check(const struct espx_nl_reply *r, void *hdr)
{
	if (r->cb)
		genl_dump_check_consistent(r->cb, hdr);
}

static int espx_nl_put_counters(struct sk_buff *skb,
				const struct espx_entry *e)
{
	const struct espx_cfg *cfg = e->cfg;
	struct nlattr *nest;

	if (!cfg->counters)
		return 0;
	nest = nla_nest_start(skb, ESPX_A_COUNTERS);
	if (!nest ||
	    nla_put_u16(skb, ESPX_COUNTERS_COUNT, cfg->counters) ||
	    nla_put_u32(skb, ESPX_COUNTERS_WINDOW, cfg->ctr_window) ||
	    (cfg->ctr_start &&
	     nla_put_u64_64bit(skb, ESPX_COUNTERS_START, cfg->ctr_start,
			       ESPX_COUNTERS_PAD)) ||
	    (e->sa && nla_put_u32(skb, ESPX_COUNTERS_WINDOWS,
				  espx_ctr_windows(e->sa))))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int espx_nl_put_diet(struct sk_buff *skb, const struct espx_cfg *cfg)
{
	const struct espx_diet_conf *d = &cfg->dcfg;
	struct nlattr *nest;

	if (!cfg->diet)
		return 0;
	nest = nla_nest_start(skb, ESPX_A_DIET);
	if (!nest ||
	    nla_put_u8(skb, ESPX_DIET_SPI_LSB, d->spi_lsb) ||
	    nla_put_u8(skb, ESPX_DIET_SN_LSB, d->sn_lsb) ||
	    nla_put_u8(skb, ESPX_DIET_ALIGN, d->align) ||
	    nla_put_u8(skb, ESPX_DIET_TRAILER, d->trailer) ||
	    nla_put_u8(skb, ESPX_DIET_IIPC, d->iipc) ||
	    nla_put_u8(skb, ESPX_DIET_DSCP, d->dscp) ||
	    (d->dscp == ESPX_DIET_CDA_SA &&
	     nla_put(skb, ESPX_DIET_DSCP_LIST, d->dscp_count, d->dscp_list)) ||
	    nla_put_u8(skb, ESPX_DIET_ECN, d->ecn) ||
	    nla_put_u8(skb, ESPX_DIET_FLOWLABEL, d->flowlabel) ||
	    (d->iiv && nla_put_flag(skb, ESPX_DIET_IIV)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int espx_nl_put_eesp(struct sk_buff *skb, const struct espx_cfg *cfg)
{
	const struct espx_eesp_conf *c = &cfg->ecfg;
	struct nlattr *nest;

	if (!cfg->eesp)
		return 0;
	nest = nla_nest_start(skb, ESPX_A_EESP);
	if (!nest ||
	    (c->subsas &&
	     (nla_put_u16(skb, ESPX_EESP_SUB_SAS, c->subsas) ||
	      nla_put_u8(skb, ESPX_EESP_SSKDF, c->sskdf) ||
	      (c->key_bits &&
	       nla_put_u16(skb, ESPX_EESP_KEY_BITS, c->key_bits)))) ||
	    (c->crypt_offset &&
	     nla_put_u8(skb, ESPX_EESP_CRYPT_OFFSET, c->crypt_offset)) ||
	    (c->iiv && nla_put_flag(skb, ESPX_EESP_IIV)) ||
	    nla_put_u32(skb, ESPX_EESP_WINDOW, c->window) ||
	    (cfg->ctr_start &&
	     nla_put_u64_64bit(skb, ESPX_EESP_START, cfg->ctr_start,
			       ESPX_EESP_PAD)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The feature attributes of @e's config. */
static int espx_nl_put_ext(struct sk_buff *skb, const struct espx_entry *e)
{
	struct nlattr *nest;

	if (e->cfg->wesp) {
		nest = nla_nest_start(skb, ESPX_A_WESP);
		if (!nest ||
		    nla_put_u8(skb, ESPX_WESP_CRYPT_OFFSET, e->cfg->crypt_offset))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	if (espx_nl_put_counters(skb, e) || espx_nl_put_diet(skb, e->cfg) ||
	    espx_nl_put_eesp(skb, e->cfg))
		return -EMSGSIZE;
	return 0;
}

static int espx_nl_fill(const struct espx_entry *e, void *arg)
{
	struct espx_nl_reply *r = arg;
	struct sk_buff *skb = r->skb;
	void *hdr;

	hdr = genlmsg_put(skb, r->portid, r->seq, &espx_genl_family, r->flags,
			  ESPX_CMD_SA_GET);
	if (!hdr)
		return -EMSGSIZE;
	espx_nl_dump_check(r, hdr);

	if (espx_nl_put_id(skb, e->id) ||
	    nla_put_u32(skb, ESPX_A_STATUS, espx_entry_status(e)))
		goto cancel;
	if (espx_nl_put_ext(skb, e))
		goto cancel;
	/* an empty nest: nla_nest_start() and nla_nest_end() of nothing */
	if (e->cfg->echo && nla_put(skb, ESPX_A_ECHO | NLA_F_NESTED, 0, NULL))
		goto cancel;
	if (e->sa && espx_nl_put_stats(skb, e->sa))
		goto cancel;

	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* ESPX_A_COUNTERS of a SET request into @cfg. */
static int espx_nl_counters(struct genl_info *info, struct espx_cfg *cfg)
{
	struct nlattr *nest = info->attrs[ESPX_A_COUNTERS];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[ESPX_COUNTERS_MAX_ATTR + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, ESPX_COUNTERS_MAX_ATTR, nest,
			       espx_counters_policy, extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_COUNTERS_COUNT)) {
		NL_SET_ERR_MSG_MOD(extack, "counters lack their number");
		return -EINVAL;
	}
	cfg->counters = nla_get_u16(tb[ESPX_COUNTERS_COUNT]);
	cfg->ctr_window = ESPX_COUNTERS_WINDOW_DEFAULT;
	if (tb[ESPX_COUNTERS_WINDOW]) {
		cfg->ctr_window = nla_get_u32(tb[ESPX_COUNTERS_WINDOW]);
		if (cfg->ctr_window % 32) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_COUNTERS_WINDOW],
					    "counter window must be a multiple of 32");
			return -EINVAL;
		}
	}
	if (tb[ESPX_COUNTERS_START]) {
		if (!espx_ctr_test_knobs()) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_COUNTERS_START],
					    "counter start is a test knob: load espx with test_knobs=1");
			return -EPERM;
		}
		cfg->ctr_start = nla_get_u64(tb[ESPX_COUNTERS_START]);
		if (cfg->ctr_start > ESPX_COUNTERS_SEQ_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_COUNTERS_START],
					    "counter start above 2^48 - 1");
			return -ERANGE;
		}
	}
	return 0;
}

/* ESPX_A_WESP of a SET request into @cfg. */
static int espx_nl_wesp(struct genl_info *info, struct espx_cfg *cfg)
{
	struct nlattr *nest = info->attrs[ESPX_A_WESP];
	struct nlattr *tb[ESPX_WESP_MAX + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, ESPX_WESP_MAX, nest, espx_wesp_policy,
			       info->extack);
	if (err)
		return err;
	cfg->wesp = true;
	if (tb[ESPX_WESP_CRYPT_OFFSET])
		cfg->crypt_offset = nla_get_u8(tb[ESPX_WESP_CRYPT_OFFSET]);
	return 0;
}

/* The DSCP list of a Diet SA with DSCP = SA: the receiver gets an index
 * into it, so a value may appear once only.
 */
static int espx_nl_diet_list(struct nlattr *a, struct espx_diet_conf *d,
			     struct netlink_ext_ack *extack)
{
	DECLARE_BITMAP(seen, ESPX_DSCP_MAX + 1) = {};
	const u8 *v = nla_data(a);
	int i;

	for (i = 0; i < nla_len(a); i++) {
		if (v[i] > ESPX_DSCP_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "DSCP list value above 63");
			return -ERANGE;
		}
		if (__test_and_set_bit(v[i], seen)) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "DSCP list has a value twice");
			return -EINVAL;
		}
		d->dscp_list[i] = v[i];
	}
	d->dscp_count = nla_len(a);
	return 0;
}

/* DSCP and its list: the list goes with DSCP = SA, and only with it. */
static int espx_nl_diet_dscp(struct nlattr *nest, struct nlattr **tb,
			     struct espx_diet_conf *d,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *list = tb[ESPX_DIET_DSCP_LIST];

	if (tb[ESPX_DIET_DSCP])
		d->dscp = nla_get_u8(tb[ESPX_DIET_DSCP]);
	if (d->dscp != ESPX_DIET_CDA_SA) {
		if (!list)
			return 0;
		NL_SET_ERR_MSG_ATTR(extack, list,
				    "DSCP list given without DSCP = SA");
		return -EINVAL;
	}
	if (!list) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_DIET_DSCP],
				    "DSCP = SA needs the DSCP list");
		NL_SET_ERR_ATTR_MISS(extack, nest, ESPX_DIET_DSCP_LIST);
		return -EINVAL;
	}
	return espx_nl_diet_list(list, d, extack);
}

/* The EEC sends SPI bits then SN bits with no padding: whole octets. */
static int espx_nl_diet_lsb(struct nlattr *nest, struct nlattr **tb,
			    struct espx_diet_conf *d,
			    struct netlink_ext_ack *extack)
{
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_DIET_SPI_LSB)) {
		NL_SET_ERR_MSG_MOD(extack, "Diet-ESP needs the SPI bits sent");
		return -EINVAL;
	}
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_DIET_SN_LSB)) {
		NL_SET_ERR_MSG_MOD(extack, "Diet-ESP needs the SN bits sent");
		return -EINVAL;
	}
	d->spi_lsb = nla_get_u8(tb[ESPX_DIET_SPI_LSB]);
	d->sn_lsb = nla_get_u8(tb[ESPX_DIET_SN_LSB]);
	if ((d->spi_lsb + d->sn_lsb) % 8) {
		NL_SET_ERR_MSG_ATTR(extack, nest,
				    "Diet-ESP SPI bits + SN bits must be a multiple of 8");
		return -EINVAL;
	}
	return 0;
}

static u8 espx_nl_u8_or(const struct nlattr *a, u8 dflt)
{
	return a ? nla_get_u8(a) : dflt;
}

/* ESPX_A_DIET of a SET request into @cfg; with the other extensions it is
 * checked by espx_cfg_check(), the rest (cipher, mode, replay window, other
 * SAs) when the config binds to its SA.
 */
static int espx_nl_diet(struct genl_info *info, struct espx_cfg *cfg)
{
	struct nlattr *nest = info->attrs[ESPX_A_DIET];
	struct netlink_ext_ack *extack = info->extack;
	struct espx_diet_conf *d = &cfg->dcfg;
	struct nlattr *tb[ESPX_DIET_MAX + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, ESPX_DIET_MAX, nest, espx_diet_policy,
			       extack);
	if (err)
		return err;
	err = espx_nl_diet_lsb(nest, tb, d, extack);
	if (err)
		return err;
	err = espx_nl_diet_dscp(nest, tb, d, extack);
	if (err)
		return err;
	d->align = espx_nl_u8_or(tb[ESPX_DIET_ALIGN], ESPX_DIET_ALIGN_8BIT);
	d->trailer = espx_nl_u8_or(tb[ESPX_DIET_TRAILER],
				   ESPX_DIET_TRAILER_MAND);
	d->iipc = espx_nl_u8_or(tb[ESPX_DIET_IIPC], 0);
	d->ecn = espx_nl_u8_or(tb[ESPX_DIET_ECN], ESPX_DIET_CDA_SENT);
	d->flowlabel = espx_nl_u8_or(tb[ESPX_DIET_FLOWLABEL],
				     ESPX_DIET_CDA_SENT);
	d->iiv = nla_get_flag(tb[ESPX_DIET_IIV]);
	cfg->diet = true;
	return 0;
}

/* ESPX_A_EESP of a SET request into @cfg (eesp.md §8, §9): what needs
 * the SA (cipher, root key length, replay window, ...) is espx_cfg_check()'s.
 */
static int espx_nl_eesp(struct genl_info *info, struct espx_cfg *cfg)
{
	struct nlattr *nest = info->attrs[ESPX_A_EESP];
	struct netlink_ext_ack *extack = info->extack;
	struct espx_eesp_conf *c = &cfg->ecfg;
	struct nlattr *tb[ESPX_EESP_MAX + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, ESPX_EESP_MAX, nest, espx_eesp_policy,
			       extack);
	if (err)
		return err;
	if (!tb[ESPX_EESP_SUB_SAS] &&
	    (tb[ESPX_EESP_SSKDF] || tb[ESPX_EESP_KEY_BITS])) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_EESP_SSKDF] ?:
				    tb[ESPX_EESP_KEY_BITS],
				    "sskdf and key-bits need sub-sas");
		return -EINVAL;
	}
	if (tb[ESPX_EESP_SUB_SAS])
		c->subsas = nla_get_u16(tb[ESPX_EESP_SUB_SAS]);
	c->sskdf = espx_nl_u8_or(tb[ESPX_EESP_SSKDF],
				 ESPX_EESP_SSKDF_HKDF_SHA256);
	if (tb[ESPX_EESP_KEY_BITS]) {
		c->key_bits = nla_get_u16(tb[ESPX_EESP_KEY_BITS]);
		if (c->key_bits != 128 && c->key_bits != 256) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_EESP_KEY_BITS],
					    "key-bits must be 128 or 256");
			return -EINVAL;
		}
	}
	c->crypt_offset = espx_nl_u8_or(tb[ESPX_EESP_CRYPT_OFFSET], 0);
	c->iiv = nla_get_flag(tb[ESPX_EESP_IIV]);
	c->window = ESPX_EESP_WINDOW_DEFAULT;
	if (tb[ESPX_EESP_WINDOW]) {
		c->window = nla_get_u32(tb[ESPX_EESP_WINDOW]);
		if (c->window % 32) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_EESP_WINDOW],
					    "EESP window must be a multiple of 32");
			return -EINVAL;
		}
	}
	/* the Sub SAs' first SN - 1, as the counters' start (counters.c) */
	if (tb[ESPX_EESP_START]) {
		if (!espx_ctr_test_knobs()) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_EESP_START],
					    "EESP start is a test knob: load espx with test_knobs=1");
			return -EPERM;
		}
		cfg->ctr_start = nla_get_u64(tb[ESPX_EESP_START]);
	}
	cfg->eesp = true;
	return 0;
}

/* The feature attributes of a SET or RULE_ADD request into @cfg. */
static int espx_nl_cfg(struct genl_info *info, struct espx_cfg *cfg)
{
	int err;

	err = espx_nl_eesp(info, cfg);
	if (!err)
		err = espx_nl_diet(info, cfg);
	if (!err)
		err = espx_nl_counters(info, cfg);
	if (!err)
		err = espx_nl_wesp(info, cfg);
	if (err)
		return err;
	err = espx_cfg_check(NULL, cfg, info->extack);
	if (err)	/* the nest of the extension that cannot be */
		NL_SET_BAD_ATTR(info->extack, info->attrs[ESPX_A_EESP] ?:
					      info->attrs[ESPX_A_DIET] ?:
					      info->attrs[ESPX_A_COUNTERS]);
	return err;
}

static int espx_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct espx_cfg cfg = {};
	struct espx_sa_id id;
	int err;

	err = espx_nl_id(info, &id);
	if (!err)
		err = espx_nl_cfg(info, &cfg);
	if (err)
		return err;
	if (info->attrs[ESPX_A_ECHO]) {
		if (!espx_echo_kind_ok(espx_cfg_kind(&cfg))) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[ESPX_A_ECHO],
					    ESPX_ECHO_KIND_REFUSED);
			return -EOPNOTSUPP;
		}
		cfg.echo = true;
	}
	/* owner 0: a detached config, not freed when this socket closes */
	return espx_cfg_add(genl_info_net(info), &id, &cfg,
			    info->attrs[ESPX_A_DETACHED] ? 0 : info->snd_portid,
			    info->extack);
}

static int espx_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct espx_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
	};
	struct espx_sa_id id;
	int err;

	err = espx_nl_id(info, &id);
	if (err)
		return err;

	r.skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!r.skb) {
		NL_SET_ERR_MSG_MOD(info->extack, "no memory for the reply");
		return -ENOMEM;
	}
	err = espx_sa_get(genl_info_net(info), &id, espx_nl_fill, &r);
	if (err) {
		nlmsg_free(r.skb);
		if (err == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[ESPX_A_SA_ID],
					    "no config and no SA with this id");
		else
			NL_SET_ERR_MSG_MOD(info->extack,
					   "reply does not fit");
		return err;
	}
	return genlmsg_reply(r.skb, info);
}

static int espx_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct espx_nl_reply r = {
		.skb = skb,
		.portid = NETLINK_CB(cb->skb).portid,
		.seq = cb->nlh->nlmsg_seq,
		.flags = NLM_F_MULTI,
		.cb = cb,
	};
	int err;

	espx_nl_dump_round(cb, sock_net(skb->sk));
	err = espx_sa_walk(sock_net(skb->sk), (unsigned long *)cb->args,
			   espx_nl_fill, &r);
	if (err && !skb->len)
		return err;	/* one entry does not fit an empty skb */
	return skb->len;
}

static int espx_nl_put_ctr(struct sk_buff *skb, const struct espx_ctr_info *c)
{
	struct nlattr *nest = nla_nest_start(skb, ESPX_A_CTR);

	if (!nest ||
	    nla_put_u16(skb, ESPX_CTR_ID, c->id) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_OUT_SEQ, c->out_seq, ESPX_CTR_PAD) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_OUT_PACKETS, c->out_packets,
			      ESPX_CTR_PAD) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_OUT_BYTES, c->out_bytes,
			      ESPX_CTR_PAD) ||
	    (c->in_valid &&
	     nla_put_u64_64bit(skb, ESPX_CTR_IN_TOP, c->in_top, ESPX_CTR_PAD)) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_IN_PACKETS, c->in_packets,
			      ESPX_CTR_PAD) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_IN_BYTES, c->in_bytes,
			      ESPX_CTR_PAD) ||
	    nla_put_u64_64bit(skb, ESPX_CTR_IN_REPLAY, c->in_replay,
			      ESPX_CTR_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* As many counters of @sa as fit, from *r->pos on; one message each. */
static int espx_nl_ctr_fill(const struct espx_entry *e, void *arg)
{
	const struct espx_sa *sa = e->sa;
	struct espx_nl_reply *r = arg;
	struct espx_ctr_info c;
	void *hdr;
	u16 n;

	if (!sa)
		return -ENOENT;
	n = espx_ctr_count(sa);
	if (!n)
		return -EINVAL;
	for (; *r->pos < n; (*r->pos)++) {
		espx_ctr_read(sa, *r->pos, &c);
		hdr = genlmsg_put(r->skb, r->portid, r->seq, &espx_genl_family,
				  NLM_F_MULTI, ESPX_CMD_CTR_GET);
		if (!hdr)
			return -EMSGSIZE;
		espx_nl_dump_check(r, hdr);
		if (espx_nl_put_id(r->skb, &sa->id) ||
		    espx_nl_put_ctr(r->skb, &c)) {
			genlmsg_cancel(r->skb, hdr);
			return -EMSGSIZE;
		}
		genlmsg_end(r->skb, hdr);
	}
	return 0;
}

/* cb->args[0]: next counter id; cb->args[1]: 1 once done. */
static int espx_nl_ctr_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = espx_genl_dump_attrs(cb);
	struct espx_nl_reply r = {
		.skb = skb,
		.portid = NETLINK_CB(cb->skb).portid,
		.seq = cb->nlh->nlmsg_seq,
		.pos = &cb->args[0],
		.cb = cb,
	};
	struct espx_sa_id id;
	int err;

	if (cb->args[1])
		return 0;
	espx_nl_dump_round(cb, sock_net(skb->sk));
	err = espx_nl_id_parse(attrs[ESPX_A_SA_ID], &id, cb->extack);
	if (err)
		return err;
	err = espx_sa_get(sock_net(skb->sk), &id, espx_nl_ctr_fill, &r);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;	/* more in the next round */
	if (err == -ENOENT)
		NL_SET_ERR_MSG_MOD(cb->extack, "no SA with this id");
	else if (err == -EINVAL)
		NL_SET_ERR_MSG_MOD(cb->extack,
				   "this SA has no sequence counters");
	if (err)
		return err;
	cb->args[1] = 1;
	return skb->len;
}

static int espx_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct espx_sa_id id;
	int err;

	err = espx_nl_id(info, &id);
	if (err)
		return err;
	return espx_cfg_del(genl_info_net(info), &id, info->extack);
}

static int espx_nl_put_info(struct sk_buff *skb, struct net *net)
{
	u64 v[__ESPX_NS_STAT_MAX];
	struct nlattr *nest;

	espx_ns_stats_read(net, v);
	nest = nla_nest_start(skb, ESPX_A_INFO);
	if (!nest ||
	    nla_put_u8(skb, ESPX_INFO_TYPE_LOST_IPV4, espx_type_lost(AF_INET)) ||
	    nla_put_u8(skb, ESPX_INFO_TYPE_LOST_IPV6,
		       espx_type_lost(AF_INET6)) ||
	    espx_nl_put_u64s(skb, ESPX_INFO_NS_STATS, v, ESPX_NS_STAT_MAX))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* Reads no attributes. The family policy has refused unknown and reply-only
 * ones already; an SA id or WESP nest that passed it is simply unused.
 */
static int espx_nl_info(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		NL_SET_ERR_MSG_MOD(info->extack, "no memory for the reply");
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &espx_genl_family, 0,
				ESPX_CMD_INFO_GET);
	if (!hdr || espx_nl_put_info(msg, genl_info_net(info))) {
		nlmsg_free(msg);
		NL_SET_ERR_MSG_MOD(info->extack, "reply does not fit");
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* ---- rules ------------------------------------------------------------ */

static unsigned int espx_nl_addr_bits(u16 family)
{
	return family == AF_INET ? 32 : 128;
}

/* Clear the bits of @a past @plen. */
static void espx_nl_addr_mask(xfrm_address_t *a, unsigned int plen)
{
	int i, bits;

	for (i = 0; i < 4; i++) {
		bits = clamp_t(int, (int)plen - 32 * i, 0, 32);
		if (!bits)
			a->a6[i] = 0;
		else if (bits < 32)
			a->a6[i] &= htonl(~0U << (32 - bits));
	}
}

/* A prefix (@a, @plen_a) of a match or selector, in the family @family
 * (0: none given) into @addr, @plen.
 */
static int espx_nl_addr(struct nlattr *a, struct nlattr *plen_a, u16 family,
			xfrm_address_t *addr, u8 *plen,
			struct netlink_ext_ack *extack)
{
	unsigned int max;

	if (!a) {
		if (!plen_a)
			return 0;
		NL_SET_ERR_MSG_ATTR(extack, plen_a,
				    "prefix length without its address");
		return -EINVAL;
	}
	if (!family) {
		NL_SET_ERR_MSG_ATTR(extack, a, "an address needs its family");
		return -EINVAL;
	}
	if (nla_len(a) != (family == AF_INET ? sizeof(struct in_addr) :
			   sizeof(struct in6_addr))) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "address length does not match the family");
		return -EINVAL;
	}
	max = espx_nl_addr_bits(family);
	*plen = max;
	if (plen_a) {
		*plen = nla_get_u8(plen_a);
		if (*plen > max && family == AF_INET) {
			NL_SET_ERR_MSG_ATTR(extack, plen_a,
					    "prefix length above 32 for IPv4");
			return -EINVAL;
		}
		if (*plen > max) {
			NL_SET_ERR_MSG_ATTR(extack, plen_a,
					    "prefix length above 128 for IPv6");
			return -EINVAL;
		}
	}
	memset(addr, 0, sizeof(*addr));
	nla_memcpy(addr, a, sizeof(*addr));
	espx_nl_addr_mask(addr, *plen);
	return 0;
}

static int espx_nl_family(struct nlattr *a, u16 *family,
			  struct netlink_ext_ack *extack)
{
	if (!a)
		return 0;
	*family = nla_get_u16(a);
	if (*family != AF_INET && *family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, a, "unsupported address family");
		return -EAFNOSUPPORT;
	}
	return 0;
}

static u32 espx_nl_has(struct nlattr **tb, int max)
{
	u32 has = 0;
	int i;

	for (i = 1; i <= max; i++)
		if (tb[i])
			has |= BIT(i);
	return has;
}

static int espx_nl_sel(struct nlattr *nest, struct espx_rule_match *m,
		       struct netlink_ext_ack *extack)
{
	struct espx_rule_sel *s = &m->sel;
	struct nlattr *tb[ESPX_SEL_MAX + 1];
	int err;

	err = nla_parse_nested(tb, ESPX_SEL_MAX, nest, espx_sel_policy, extack);
	if (!err)
		err = espx_nl_family(tb[ESPX_SEL_FAMILY], &s->family, extack);
	if (!err)
		err = espx_nl_addr(tb[ESPX_SEL_SADDR], tb[ESPX_SEL_SADDR_PLEN],
				   s->family, &s->saddr, &s->splen, extack);
	if (!err)
		err = espx_nl_addr(tb[ESPX_SEL_DADDR], tb[ESPX_SEL_DADDR_PLEN],
				   s->family, &s->daddr, &s->dplen, extack);
	if (err)
		return err;
	if (tb[ESPX_SEL_PROTO])
		s->proto = nla_get_u8(tb[ESPX_SEL_PROTO]);
	if ((tb[ESPX_SEL_SPORT] || tb[ESPX_SEL_DPORT]) && !s->proto) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_SEL_SPORT] ?: tb[ESPX_SEL_DPORT],
				    "a selector port needs the protocol");
		return -EINVAL;
	}
	if (tb[ESPX_SEL_SPORT])
		s->sport = nla_get_u16(tb[ESPX_SEL_SPORT]);
	if (tb[ESPX_SEL_DPORT])
		s->dport = nla_get_u16(tb[ESPX_SEL_DPORT]);
	m->sel_has = espx_nl_has(tb, ESPX_SEL_MAX);
	return 0;
}

static int espx_nl_match_mark(struct nlattr **tb, struct espx_rule_match *m,
			      struct netlink_ext_ack *extack)
{
	if (!tb[ESPX_MATCH_MARK]) {
		if (!tb[ESPX_MATCH_MARK_MASK])
			return 0;
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_MATCH_MARK_MASK],
				    "mark mask without the mark");
		return -EINVAL;
	}
	m->mark = nla_get_u32(tb[ESPX_MATCH_MARK]);
	m->mark_mask = tb[ESPX_MATCH_MARK_MASK] ?
		       nla_get_u32(tb[ESPX_MATCH_MARK_MASK]) : ~0U;
	if (m->mark & ~m->mark_mask) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_MATCH_MARK],
				    "mark has bits outside its mask");
		return -EINVAL;
	}
	return 0;
}

static int espx_nl_match(struct nlattr *nest, struct espx_rule_match *m,
			 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[ESPX_MATCH_MAX + 1];
	int err;

	m->spi_min = 0;
	m->spi_max = U32_MAX;
	if (!nest)
		return 0;
	err = nla_parse_nested(tb, ESPX_MATCH_MAX, nest, espx_match_policy,
			       extack);
	if (!err)
		err = espx_nl_family(tb[ESPX_MATCH_FAMILY], &m->family, extack);
	if (!err)
		err = espx_nl_addr(tb[ESPX_MATCH_DADDR],
				   tb[ESPX_MATCH_DADDR_PLEN], m->family,
				   &m->daddr, &m->dplen, extack);
	if (!err)
		err = espx_nl_addr(tb[ESPX_MATCH_SADDR],
				   tb[ESPX_MATCH_SADDR_PLEN], m->family,
				   &m->saddr, &m->splen, extack);
	if (!err)
		err = espx_nl_match_mark(tb, m, extack);
	if (!err && tb[ESPX_MATCH_SEL])
		err = espx_nl_sel(tb[ESPX_MATCH_SEL], m, extack);
	if (err)
		return err;
	if (tb[ESPX_MATCH_MODE]) {
		m->mode = nla_get_u8(tb[ESPX_MATCH_MODE]);
		if (m->mode != XFRM_MODE_TRANSPORT &&
		    m->mode != XFRM_MODE_TUNNEL && m->mode != XFRM_MODE_BEET) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_MATCH_MODE],
					    "mode must be transport, tunnel or beet");
			return -EINVAL;
		}
	}
	if (tb[ESPX_MATCH_REQID])
		m->reqid = nla_get_u32(tb[ESPX_MATCH_REQID]);
	if (tb[ESPX_MATCH_IF_ID])
		m->if_id = nla_get_u32(tb[ESPX_MATCH_IF_ID]);
	if (tb[ESPX_MATCH_SPI_MIN])
		m->spi_min = nla_get_u32(tb[ESPX_MATCH_SPI_MIN]);
	if (tb[ESPX_MATCH_SPI_MAX])
		m->spi_max = nla_get_u32(tb[ESPX_MATCH_SPI_MAX]);
	if (m->spi_min > m->spi_max) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_MATCH_SPI_MAX] ?:
				    tb[ESPX_MATCH_SPI_MIN],
				    "SPI range ends before it starts");
		return -EINVAL;
	}
	m->has = espx_nl_has(tb, ESPX_MATCH_MAX);
	return 0;
}

/* The rule's name: every RULE_* doit needs it. */
static int espx_nl_rule_name(struct nlattr *nest, struct nlattr **tb,
			     char name[ESPX_RULE_NAME_LEN],
			     struct netlink_ext_ack *extack)
{
	const char *p;

	if (!nest) {
		NL_SET_ERR_MSG_MOD(extack, "missing rule");
		NL_SET_ERR_ATTR_MISS(extack, NULL, ESPX_A_RULE);
		return -EINVAL;
	}
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, ESPX_RULE_NAME)) {
		NL_SET_ERR_MSG_MOD(extack, "rule lacks its name");
		return -EINVAL;
	}
	nla_strscpy(name, tb[ESPX_RULE_NAME], ESPX_RULE_NAME_LEN);
	for (p = name; *p; p++)
		if (!isalnum(*p) && !strchr("_.:-", *p))
			break;
	if (!*name || *p) {
		NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_RULE_NAME],
				    "rule name: 1 to 31 of A-Z a-z 0-9 _ . : -");
		return -EINVAL;
	}
	return 0;
}

static int espx_nl_rule_parse(struct genl_info *info, struct nlattr **tb,
			      char name[ESPX_RULE_NAME_LEN])
{
	struct nlattr *nest = info->attrs[ESPX_A_RULE];
	int err;

	if (nest) {
		err = nla_parse_nested(tb, ESPX_RULE_MAX, nest,
				       espx_rule_policy, info->extack);
		if (err)
			return err;
	}
	return espx_nl_rule_name(nest, tb, name, info->extack);
}

static int espx_nl_rule_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[ESPX_RULE_MAX + 1];
	struct espx_rule *r;
	int err;

	/* the echo flag is an SA's own (esp-echo.md §7), no rule feature */
	if (info->attrs[ESPX_A_ECHO]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[ESPX_A_ECHO],
				    "ESP Echo is set per SA (SA_SET), not by a rule");
		return -EOPNOTSUPP;
	}
	/* a rule is ~400 octets: not on the stack */
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		NL_SET_ERR_MSG_MOD(info->extack, "no memory for the rule");
		return -ENOMEM;
	}
	err = espx_nl_rule_parse(info, tb, r->name);
	if (!err)
		err = espx_nl_match(tb[ESPX_RULE_MATCH], &r->m, info->extack);
	if (!err)
		err = espx_nl_cfg(info, &r->cfg);
	if (!err) {
		if (tb[ESPX_RULE_PRIO])
			r->prio = nla_get_u32(tb[ESPX_RULE_PRIO]);
		r->fallback = nla_get_flag(tb[ESPX_RULE_FALLBACK]);
		err = espx_rule_add(genl_info_net(info), r, info->extack);
	}
	kfree(r);
	return err;
}

static int espx_nl_rule_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[ESPX_RULE_MAX + 1];
	char name[ESPX_RULE_NAME_LEN];
	int err;

	err = espx_nl_rule_parse(info, tb, name);
	if (err)
		return err;
	return espx_rule_del(genl_info_net(info), name, info->extack);
}

static int espx_nl_put_prefix(struct sk_buff *skb, int attr, int plen_attr,
			      u16 family, const xfrm_address_t *a, u8 plen)
{
	if (nla_put(skb, attr, family == AF_INET ? sizeof(struct in_addr) :
			 sizeof(struct in6_addr), a) ||
	    nla_put_u8(skb, plen_attr, plen))
		return -EMSGSIZE;
	return 0;
}

static int espx_nl_put_sel(struct sk_buff *skb, const struct espx_rule_match *m)
{
	const struct espx_rule_sel *s = &m->sel;
	u32 has = m->sel_has;
	struct nlattr *nest;

	if (!has)
		return 0;
	nest = nla_nest_start(skb, ESPX_MATCH_SEL);
	if (!nest ||
	    ((has & BIT(ESPX_SEL_FAMILY)) &&
	     nla_put_u16(skb, ESPX_SEL_FAMILY, s->family)) ||
	    ((has & BIT(ESPX_SEL_SADDR)) &&
	     espx_nl_put_prefix(skb, ESPX_SEL_SADDR, ESPX_SEL_SADDR_PLEN,
				s->family, &s->saddr, s->splen)) ||
	    ((has & BIT(ESPX_SEL_DADDR)) &&
	     espx_nl_put_prefix(skb, ESPX_SEL_DADDR, ESPX_SEL_DADDR_PLEN,
				s->family, &s->daddr, s->dplen)) ||
	    ((has & BIT(ESPX_SEL_PROTO)) &&
	     nla_put_u8(skb, ESPX_SEL_PROTO, s->proto)) ||
	    ((has & BIT(ESPX_SEL_SPORT)) &&
	     nla_put_u16(skb, ESPX_SEL_SPORT, s->sport)) ||
	    ((has & BIT(ESPX_SEL_DPORT)) &&
	     nla_put_u16(skb, ESPX_SEL_DPORT, s->dport)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* What was given, as it was given (addresses with their host bits off). */
static int espx_nl_put_match(struct sk_buff *skb,
			     const struct espx_rule_match *m)
{
	struct nlattr *nest = nla_nest_start(skb, ESPX_RULE_MATCH);
	u32 has = m->has;

	if (!nest ||
	    ((has & BIT(ESPX_MATCH_FAMILY)) &&
	     nla_put_u16(skb, ESPX_MATCH_FAMILY, m->family)) ||
	    ((has & BIT(ESPX_MATCH_DADDR)) &&
	     espx_nl_put_prefix(skb, ESPX_MATCH_DADDR, ESPX_MATCH_DADDR_PLEN,
				m->family, &m->daddr, m->dplen)) ||
	    ((has & BIT(ESPX_MATCH_SADDR)) &&
	     espx_nl_put_prefix(skb, ESPX_MATCH_SADDR, ESPX_MATCH_SADDR_PLEN,
				m->family, &m->saddr, m->splen)) ||
	    ((has & BIT(ESPX_MATCH_MODE)) &&
	     nla_put_u8(skb, ESPX_MATCH_MODE, m->mode)) ||
	    ((has & BIT(ESPX_MATCH_REQID)) &&
	     nla_put_u32(skb, ESPX_MATCH_REQID, m->reqid)) ||
	    ((has & BIT(ESPX_MATCH_MARK)) &&
	     (nla_put_u32(skb, ESPX_MATCH_MARK, m->mark) ||
	      nla_put_u32(skb, ESPX_MATCH_MARK_MASK, m->mark_mask))) ||
	    ((has & BIT(ESPX_MATCH_IF_ID)) &&
	     nla_put_u32(skb, ESPX_MATCH_IF_ID, m->if_id)) ||
	    ((has & (BIT(ESPX_MATCH_SPI_MIN) | BIT(ESPX_MATCH_SPI_MAX))) &&
	     (nla_put_u32(skb, ESPX_MATCH_SPI_MIN, m->spi_min) ||
	      nla_put_u32(skb, ESPX_MATCH_SPI_MAX, m->spi_max))) ||
	    espx_nl_put_sel(skb, m))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int espx_nl_rule_fill(const struct espx_rule *rule, void *arg)
{
	const struct espx_entry e = { .cfg = &rule->cfg };
	struct espx_nl_reply *r = arg;
	struct sk_buff *skb = r->skb;
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(skb, r->portid, r->seq, &espx_genl_family, r->flags,
			  ESPX_CMD_RULE_GET);
	if (!hdr)
		return -EMSGSIZE;
	espx_nl_dump_check(r, hdr);
	nest = nla_nest_start(skb, ESPX_A_RULE);
	if (!nest ||
	    nla_put_string(skb, ESPX_RULE_NAME, rule->name) ||
	    nla_put_u32(skb, ESPX_RULE_PRIO, rule->prio) ||
	    (rule->fallback && nla_put_flag(skb, ESPX_RULE_FALLBACK)) ||
	    espx_nl_put_match(skb, &rule->m) ||
	    nla_put_u64_64bit(skb, ESPX_RULE_HITS, rule->hits, ESPX_RULE_PAD) ||
	    nla_put_u64_64bit(skb, ESPX_RULE_FALLBACKS, rule->fallbacks,
			      ESPX_RULE_PAD))
		goto cancel;
	nla_nest_end(skb, nest);
	if (espx_nl_put_ext(skb, &e))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int espx_nl_rule_get(struct sk_buff *skb, struct genl_info *info)
{
	struct espx_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
	};
	struct nlattr *tb[ESPX_RULE_MAX + 1];
	char name[ESPX_RULE_NAME_LEN];
	int err;

	err = espx_nl_rule_parse(info, tb, name);
	if (err)
		return err;
	r.skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!r.skb) {
		NL_SET_ERR_MSG_MOD(info->extack, "no memory for the reply");
		return -ENOMEM;
	}
	err = espx_rule_get(genl_info_net(info), name, espx_nl_rule_fill, &r);
	if (err) {
		nlmsg_free(r.skb);
		if (err == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack, tb[ESPX_RULE_NAME],
					    "no rule with this name");
		else
			NL_SET_ERR_MSG_MOD(info->extack, "reply does not fit");
		return err;
	}
	return genlmsg_reply(r.skb, info);
}

/* cb->args[0]: index of the next rule. */
static int espx_nl_rule_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct espx_nl_reply r = {
		.skb = skb,
		.portid = NETLINK_CB(cb->skb).portid,
		.seq = cb->nlh->nlmsg_seq,
		.flags = NLM_F_MULTI,
		.cb = cb,
	};
	int err;

	cb->seq = espx_rule_gen(sock_net(skb->sk));
	err = espx_rule_walk(sock_net(skb->sk), &cb->args[0],
			     espx_nl_rule_fill, &r);
	if (err && !skb->len)
		return err;
	return skb->len;
}

/* ESPX_CMD_ECHO (esp-echo.md §6, §7): the probe parameters, then echo.c. */
static int espx_nl_echo(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *nest = info->attrs[ESPX_A_PROBE];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[ESPX_PROBE_MAX + 1] = {};
	struct espx_echo_req req = {
		.count = 1,
		.interval = 1000,
		.timeout = 2000,
		.size = 56,
	};
	struct sk_buff *msg;
	struct nlattr *rn;
	void *hdr;
	u16 ident;
	int err;

	err = espx_nl_id(info, &req.id);
	if (err)
		return err;
	if (nest) {
		err = nla_parse_nested(tb, ESPX_PROBE_MAX, nest,
				       espx_probe_policy, extack);
		if (err)
			return err;
	}
	if (tb[ESPX_PROBE_COUNT])
		req.count = nla_get_u32(tb[ESPX_PROBE_COUNT]);
	if (tb[ESPX_PROBE_INTERVAL])
		req.interval = nla_get_u32(tb[ESPX_PROBE_INTERVAL]);
	if (tb[ESPX_PROBE_TIMEOUT])
		req.timeout = nla_get_u32(tb[ESPX_PROBE_TIMEOUT]);
	if (tb[ESPX_PROBE_SIZE])
		req.size = nla_get_u16(tb[ESPX_PROBE_SIZE]);
	if (tb[ESPX_PROBE_IDENT])
		req.ident = nla_get_u16(tb[ESPX_PROBE_IDENT]);
	req.oneway = nla_get_flag(tb[ESPX_PROBE_ONEWAY]);
	if (tb[ESPX_PROBE_REPLY_SPI]) {
		req.reply_spi = nla_get_be32(tb[ESPX_PROBE_REPLY_SPI]);
		if (!req.reply_spi) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_PROBE_REPLY_SPI],
					    "reply SPI 0 is reserved");
			return -EINVAL;
		}
		if (req.oneway) {
			NL_SET_ERR_MSG_ATTR(extack, tb[ESPX_PROBE_REPLY_SPI],
					    "reply-spi and one-way exclude each other");
			return -EINVAL;
		}
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the reply");
		return -ENOMEM;
	}
	err = espx_echo_start(genl_info_net(info), info->snd_portid, &req,
			      &ident, extack);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	/* the session runs; a reply that does not fit is still an answer */
	hdr = genlmsg_put_reply(msg, info, &espx_genl_family, 0, ESPX_CMD_ECHO);
	rn = hdr ? nla_nest_start(msg, ESPX_A_PROBE) : NULL;
	if (!rn || nla_put_u16(msg, ESPX_PROBE_IDENT, ident) ||
	    nla_put_u16(msg, ESPX_PROBE_SEQ, 1)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, rn);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int espx_nl_echo_fill(struct sk_buff *msg,
			     const struct espx_echo_result *r)
{
	struct nlattr *nest, *sa;
	void *hdr;

	hdr = genlmsg_put(msg, 0, 0, &espx_genl_family, 0,
			  ESPX_CMD_ECHO_RESULT);
	if (!hdr || espx_nl_put_id(msg, &r->id))
		return -EMSGSIZE;
	nest = nla_nest_start(msg, ESPX_A_PROBE);
	if (!nest ||
	    nla_put_u16(msg, ESPX_PROBE_IDENT, r->ident) ||
	    nla_put_u16(msg, ESPX_PROBE_SEQ, r->seq) ||
	    nla_put_u32(msg, ESPX_PROBE_STATUS, r->status) ||
	    (r->reply_spi &&
	     nla_put_be32(msg, ESPX_PROBE_REPLY_SPI, r->reply_spi)) ||
	    (r->err && nla_put_u32(msg, ESPX_PROBE_ERRNO, r->err)) ||
	    (r->done && nla_put_flag(msg, ESPX_PROBE_DONE)) ||
	    (r->has_delta &&
	     nla_put_u64_64bit(msg, ESPX_PROBE_IN_DELTA, r->in_delta,
			       ESPX_PROBE_PAD)))
		return -EMSGSIZE;
	if (r->has_reply_sa) {
		if (nla_put_u64_64bit(msg, ESPX_PROBE_RTT_NS, r->rtt_ns,
				      ESPX_PROBE_PAD) ||
		    nla_put_u16(msg, ESPX_PROBE_DATA_LEN, r->data_len))
			return -EMSGSIZE;
		sa = nla_nest_start(msg, ESPX_PROBE_REPLY_SA);
		if (!sa)
			return -EMSGSIZE;
		/* the SA id attributes, nested one level deeper */
		if (nla_put_u16(msg, ESPX_ID_FAMILY, r->reply_sa.family) ||
		    nla_put(msg, ESPX_ID_DADDR,
			    r->reply_sa.family == AF_INET ?
			    sizeof(struct in_addr) : sizeof(struct in6_addr),
			    &r->reply_sa.daddr) ||
		    nla_put_be32(msg, ESPX_ID_SPI, r->reply_sa.spi))
			return -EMSGSIZE;
		nla_nest_end(msg, sa);
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;
}

/* Softirq or timer context: GFP_ATOMIC. */
int espx_nl_echo_result(struct net *net, u32 portid,
			const struct espx_echo_result *r)
{
	struct sk_buff *msg, *mc;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return -ENOMEM;
	if (espx_nl_echo_fill(msg, r)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	if (genl_has_listeners(&espx_genl_family, net, 0)) {
		mc = skb_clone(msg, GFP_ATOMIC);
		if (mc)
			genlmsg_multicast_netns(&espx_genl_family, net, mc, 0,
						0, GFP_ATOMIC);
	}
	err = genlmsg_unicast(net, msg, portid);
	return err;
}

static const struct genl_small_ops espx_genl_ops[] = {
	{
		.cmd = ESPX_CMD_SA_SET,
		.doit = espx_nl_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_SA_GET,
		.doit = espx_nl_get,
		.dumpit = espx_nl_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_SA_DEL,
		.doit = espx_nl_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_INFO_GET,
		.doit = espx_nl_info,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_CTR_GET,
		.dumpit = espx_nl_ctr_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_RULE_ADD,
		.doit = espx_nl_rule_add,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_RULE_DEL,
		.doit = espx_nl_rule_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_RULE_GET,
		.doit = espx_nl_rule_get,
		.dumpit = espx_nl_rule_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = ESPX_CMD_ECHO,
		.doit = espx_nl_echo,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

/* ESPX_CMD_ECHO_RESULT for monitors (esp-echo.md §6) */
static const struct genl_multicast_group espx_mcgrps[] = {
	{ .name = ESPX_MCGRP_ECHO, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family espx_genl_family __ro_after_init = {
	.name = ESPX_GENL_NAME,
	.version = ESPX_GENL_VERSION,
	.maxattr = ESPX_A_MAX,
	.policy = espx_policy,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = espx_genl_ops,
	.n_small_ops = ARRAY_SIZE(espx_genl_ops),
	.mcgrps = espx_mcgrps,
	.n_mcgrps = ARRAY_SIZE(espx_mcgrps),
};

/* A pending config belongs to the socket that made it (uapi: lifecycle):
 * when that socket closes, the configs it left pending go.
 */
static int espx_nl_urelease(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid)
		espx_cfg_release(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block espx_nl_notifier = {
	.notifier_call = espx_nl_urelease,
};

int espx_genl_init(void)
{
	int err;

	err = netlink_register_notifier(&espx_nl_notifier);
	if (err)
		return err;
	err = genl_register_family(&espx_genl_family);
	if (err)
		netlink_unregister_notifier(&espx_nl_notifier);
	return err;
}

void espx_genl_exit(void)
{
	genl_unregister_family(&espx_genl_family);
	netlink_unregister_notifier(&espx_nl_notifier);
}
