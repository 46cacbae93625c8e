// SPDX-License-Identifier: GPL-2.0
/*
 * espx_genl: a small client of the "espx" generic netlink family for the
 * selftests.
 *
 *   espx_genl set|get|del [--family 4|6] --daddr ADDR --spi SPI
 *             [--proto N] [--mark M] [--mask M] [--if-id N] [--wesp OFFSET]
 *             [--counters N [--ctr-window W] [--ctr-start S]]
 *             [--diet SPI_LSB,SN_LSB [--diet-align N] [--diet-trailer N]
 *              [--diet-iipc N] [--diet-dscp N] [--diet-dscp-list V,V,...]
 *              [--diet-ecn N] [--diet-fl N] [--diet-iiv]]
 *                         --diet sends ESPX_A_DIET; every --diet-* value is
 *                         the raw attribute value (enum espx_diet_*_val), sent
 *                         only when given ("-" for SPI_LSB or SN_LSB: left
 *                         out), so the kernel's defaults and checks are what
 *                         get shows
 *   espx_genl ctr SA-ID   ESPX_CMD_CTR_GET dump (SA-ID: the options of get),
 *                         one line per counter: "id=N out_seq=N
 *                         out_packets=N out_bytes=N in_top=N|- in_packets=N
 *                         in_bytes=N in_replay=N" (in_top=- : no window yet)
 *   espx_genl dump        one line per pending config / SA of the netns
 *   espx_genl count       number of entries a dump returns
 *   espx_genl info        ESPX_CMD_INFO_GET, one key=value line per item:
 *                         type_lost_ipv4=0|1, type_lost_ipv6=0|1,
 *                         ns_<stat>=N per namespace counter (alias: status)
 *   espx_genl resolve     exit 0 if the family is registered, 2 if not
 *   espx_genl badinput    KTAP: crafted bad requests, errno + extack each
 *   espx_genl dumpintr N [SA-ID] [--poke ADDR]
 *                         N dumps (SA_GET, or CTR_GET of SA-ID) read 4 KiB
 *                         at a time (several rounds each), prints
 *                         "dumps N intr K entries MIN-MAX": K dumps carried
 *                         NLM_F_DUMP_INTR on a message or their DONE.
 *                         --poke: after the first round of each dump, SET
 *                         and DEL the config ADDR/0x5fe from a second
 *                         socket, so that every dump spans a change
 *   espx_genl rule-add --name N [--prio P] [--fallback] [--count K]
 *             [--m-family 4|6] [--m-daddr A[/P]] [--m-saddr A[/P]]
 *             [--m-mode N] [--m-reqid N] [--m-mark M] [--m-mark-mask M]
 *             [--m-if-id N] [--m-spi-min N] [--m-spi-max N]
 *             [--sel-family 4|6] [--sel-src A[/P]] [--sel-dst A[/P]]
 *             [--sel-proto N] [--sel-sport N] [--sel-dport N]
 *             [the feature options of set] [--rule-unknown] [--match-unknown]
 *                         ESPX_CMD_RULE_ADD; values are sent raw (a prefix
 *                         length too), only when given; --count K adds
 *                         N0..N<K-1> and prints "added M"; --*-unknown put an
 *                         unknown attribute in the rule / match nest
 *   espx_genl rule-del|rule-get --name N   RULE_DEL / RULE_GET (doit)
 *   espx_genl rule-dump   one line per rule, in order: "rule N prio P
 *                         fallback 0|1 hits H fallbacks F [family 4|6]
 *                         [daddr A/P] [saddr A/P] [mode N] [reqid N]
 *                         [mark 0xM/0xM] [if_id N] [spi 0xMIN-0xMAX] [sel
 *                         [family 4|6] [src A/P] [dst A/P] [proto N]
 *                         [sport N] [dport N]] [wesp ...] [counters ...]
 *                         [diet ...]" (the features as get prints them)
 *   espx_genl rule-flush  delete every rule, print "flushed N"
 *   espx_genl echo SA-ID [--count N] [--interval MS] [--size S]
 *             [--reply-spi SPI | --one-way] [--ident ID] [--timeout MS]
 *                         ESPX_CMD_ECHO on the outbound SA SA-ID, then one
 *                         ping-like line per ESPX_CMD_ECHO_RESULT and a
 *                         summary "N sent, N received, P% loss[, rtt
 *                         min/avg/max A/B/C ms]"; set --echo: ESPX_A_ECHO
 *   espx_genl echo-many SA-ID --sessions K [echo options]
 *                         K ECHO doits on one socket, results unread; prints
 *                         "started N" and exits (errno of the refusal)
 *   espx_genl echo-monitor [--count N] [--timeout MS]
 *                         join the "echo" multicast group, print "joined",
 *                         then "mcast " + a line per ECHO_RESULT until N
 *                         (1) results, "N results"; ETIMEDOUT after MS
 *                         (10000) without one
 *   espx_genl -n NETNS CMD ...: in the named network namespace
 *   espx_genl batch        the commands on stdin, one a line, each in a
 *                         forked child; exit status: how many failed
 *
 * get/dump print "family 4 daddr A spi 0x.. proto 50 mark 0x0/0x0 if_id 0
 * status pending|bound [wesp N] [counters N ctr_window W ctr_start S
 * [ctr_windows K]] [diet spi_lsb N sn_lsb N align N trailer N iipc N dscp N
 * [dscp_list V,V,...] ecn N flowlabel N [iiv]] [stats NAME VALUE ...]", a
 * stat id without a name here as stat_ID. On a failed request the exit status is the errno and
 * stderr carries the extack message; an info reply that lacks one of the
 * type_lost flags exits with EBADMSG.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/espx.h>

#include "kselftest.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

struct nl {
	struct mnl_socket *sk;
	unsigned int seq;
	__u16 family_id;
	char msg[256];		/* extack message of the last request */
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE or -1 */
	bool intr;		/* the last answer had NLM_F_DUMP_INTR */
};

struct sa_id {
	int family;		/* AF_INET/AF_INET6 or a raw value */
	unsigned char daddr[16];
	int alen;
	__u32 spi;		/* host order */
	int proto;		/* -1: not sent */
	long long mark, mask, if_id;	/* -1: not sent */
};

/* ESPX_A_COUNTERS of a SET request; -1: not sent. */
struct ctr_cfg {
	int count;
	long long window;
	long long start;
};

/* ESPX_A_DIET of a SET request: -1 = attribute not sent. */
struct diet_cfg {
	bool on;
	int spi_lsb, sn_lsb, align, trailer, iipc, dscp, ecn, fl;
	bool iiv;
	int list_len;		/* -1: no DSCP_LIST */
	unsigned char list[ESPX_DIET_DSCP_LIST_MAX];
};

/* Every feature attribute a SET can carry. */
struct set_cfg {
	bool detached;		/* SET: ESPX_A_DETACHED */
	bool echo;		/* SET: ESPX_A_ECHO */
	int wesp;		/* crypt offset, -1: no ESPX_A_WESP */
	struct ctr_cfg cc;
	struct diet_cfg diet;
};

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *arg);

static char rxbuf[65536];
/* dumpintr: one page, so that the kernel's dump rounds stay small (it sizes
 * them after the largest read the socket has seen)
 */
static size_t rxlen = sizeof(rxbuf);

static const char * const stat_names[ESPX_STAT_MAX + 1] = {
	[ESPX_STAT_OUT_PACKETS] = "out_packets",
	[ESPX_STAT_OUT_BYTES] = "out_bytes",
	[ESPX_STAT_IN_PACKETS] = "in_packets",
	[ESPX_STAT_IN_BYTES] = "in_bytes",
	[ESPX_STAT_OUT_DROP_NOMEM] = "out_drop_nomem",
	[ESPX_STAT_OUT_DROP_CRYPTO] = "out_drop_crypto",
	[ESPX_STAT_IN_DROP_TRUNCATED] = "in_drop_truncated",
	[ESPX_STAT_IN_DROP_ICV] = "in_drop_icv",
	[ESPX_STAT_IN_DROP_PADDING] = "in_drop_padding",
	[ESPX_STAT_IN_DROP_NOMEM] = "in_drop_nomem",
	[ESPX_STAT_IN_DROP_BEETPH] = "in_drop_beetph",
	[ESPX_STAT_IN_DROP_WESP_TRUNCATED] = "in_drop_wesp_truncated",
	[ESPX_STAT_IN_DROP_WESP_VERSION] = "in_drop_wesp_version",
	[ESPX_STAT_IN_DROP_WESP_ALIGN] = "in_drop_wesp_align",
	[ESPX_STAT_IN_DROP_WESP_OPTION] = "in_drop_wesp_option",
	[ESPX_STAT_IN_DROP_WESP_OPT_UNKNOWN] = "in_drop_wesp_opt_unknown",
	[ESPX_STAT_IN_DROP_WESP_HDRLEN] = "in_drop_wesp_hdrlen",
	[ESPX_STAT_IN_DROP_WESP_CRYPT_OFFSET] = "in_drop_wesp_crypt_offset",
	[ESPX_STAT_IN_DROP_WESP_NEXTHDR] = "in_drop_wesp_nexthdr",
	[ESPX_STAT_IN_DROP_WESP_SUBSA] = "in_drop_wesp_subsa",
	[ESPX_STAT_IN_DROP_WESP_NOT_WESP] = "in_drop_wesp_not_wesp",
	[ESPX_STAT_IN_DROP_WESP_PLAIN_SA] = "in_drop_wesp_plain_sa",
	[ESPX_STAT_OUT_DROP_CTR_EXHAUSTED] = "out_drop_ctr_exhausted",
	[ESPX_STAT_IN_DROP_CTR_RANGE] = "in_drop_ctr_range",
	[ESPX_STAT_IN_DROP_CTR_SEQ] = "in_drop_ctr_seq",
	[ESPX_STAT_IN_DROP_CTR_IV] = "in_drop_ctr_iv",
	[ESPX_STAT_IN_DROP_CTR_REPLAY] = "in_drop_ctr_replay",
	[ESPX_STAT_IN_DROP_CTR_NOMEM] = "in_drop_ctr_nomem",
	[ESPX_STAT_OUT_DROP_DIET_NOMATCH] = "out_drop_diet_nomatch",
	[ESPX_STAT_IN_DROP_DIET_PROTO] = "in_drop_diet_proto",
	[ESPX_STAT_IN_DROP_DIET_SN] = "in_drop_diet_sn",
	[ESPX_STAT_IN_DROP_DIET_TRAILER] = "in_drop_diet_trailer",
	[ESPX_STAT_IN_DROP_DIET_RESIDUE] = "in_drop_diet_residue",
	[ESPX_STAT_IN_DROP_DIET_DSCP] = "in_drop_diet_dscp",
	[ESPX_STAT_IN_DROP_DIET_LENGTH] = "in_drop_diet_length",
	[ESPX_STAT_IN_DIET_CANDIDATE_RETRY] = "in_diet_candidate_retry",
	[ESPX_STAT_IN_DROP_CRYPTO] = "in_drop_crypto",
	[ESPX_STAT_IN_DROP_AGGFRAG] = "in_drop_aggfrag",
	[ESPX_STAT_IN_DROP_ECHO_TRUNCATED] = "in_drop_echo_truncated",
	[ESPX_STAT_IN_DROP_ECHO_UNSUPPORTED] = "in_drop_echo_unsupported",
	[ESPX_STAT_IN_DROP_ECHO_REPLAY] = "in_drop_echo_replay",
	[ESPX_STAT_IN_DROP_ECHO_LENGTH] = "in_drop_echo_length",
	[ESPX_STAT_IN_DROP_ECHO_DISABLED] = "in_drop_echo_disabled",
	[ESPX_STAT_IN_ECHO_ONEWAY] = "in_echo_oneway",
	[ESPX_STAT_IN_ECHO_RATELIMITED] = "in_echo_ratelimited",
	[ESPX_STAT_ECHO_REPLY_FALLBACK] = "echo_reply_fallback",
	[ESPX_STAT_IN_DROP_ECHO_NO_SA] = "in_drop_echo_no_sa",
	[ESPX_STAT_OUT_ECHO_REPLY] = "out_echo_reply",
	[ESPX_STAT_IN_DROP_ECHO_UNSOLICITED] = "in_drop_echo_unsolicited",
	[ESPX_STAT_IN_ECHO_REQUEST] = "in_echo_request",
	[ESPX_STAT_IN_ECHO_REPLY] = "in_echo_reply",
	[ESPX_STAT_OUT_ECHO_REQUEST] = "out_echo_request",
	[ESPX_STAT_OUT_DROP_ECHO] = "out_drop_echo",
	[ESPX_STAT_IN_DROP_EESP_HEADER] = "in_drop_eesp_header",
	[ESPX_STAT_IN_DROP_EESP_VERSION] = "in_drop_eesp_version",
	[ESPX_STAT_IN_DROP_EESP_TRUNCATED] = "in_drop_eesp_truncated",
	[ESPX_STAT_IN_DROP_EESP_OPTION] = "in_drop_eesp_option",
	[ESPX_STAT_IN_DROP_EESP_CRYPT_OFFSET] = "in_drop_eesp_crypt_offset",
	[ESPX_STAT_IN_DROP_EESP_SUBSA] = "in_drop_eesp_subsa",
	[ESPX_STAT_IN_DROP_EESP_REPLAY] = "in_drop_eesp_replay",
	[ESPX_STAT_IN_DROP_EESP_PIH] = "in_drop_eesp_pih",
	[ESPX_STAT_IN_DROP_EESP_INNER] = "in_drop_eesp_inner",
	[ESPX_STAT_IN_DROP_EESP_NOT_EESP] = "in_drop_eesp_not_eesp",
	[ESPX_STAT_IN_DROP_EESP_PLAIN_SA] = "in_drop_eesp_plain_sa",
	[ESPX_STAT_IN_EESP_DUMMY] = "in_eesp_dummy",
	[ESPX_STAT_OUT_DROP_EESP_EXHAUSTED] = "out_drop_eesp_exhausted",
};

static const char * const ns_stat_names[ESPX_NS_STAT_MAX + 1] = {
	[ESPX_NS_STAT_WESP_TRUNCATED] = "wesp_truncated",
	[ESPX_NS_STAT_WESP_NO_SA] = "wesp_no_sa",
	[ESPX_NS_STAT_DIET_TRUNCATED] = "diet_truncated",
	[ESPX_NS_STAT_DIET_NO_SA] = "diet_no_sa",
	[ESPX_NS_STAT_PENDING_EXPIRED] = "pending_expired",
	[ESPX_NS_STAT_RULE_FALLBACK] = "rule_fallback",
	[ESPX_NS_STAT_ECHO_PLAIN] = "echo_plain",
	[ESPX_NS_STAT_EESP_TRUNCATED] = "eesp_truncated",
	[ESPX_NS_STAT_EESP_NO_SA] = "eesp_no_sa",
};

static int ext_ack_cb(const struct nlattr *a, void *data)
{
	struct nl *nl = data;

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(nl->msg, sizeof(nl->msg), "%s",
				 mnl_attr_get_str(a));
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			nl->miss_type = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

/* NLMSG_ERROR or NLMSG_DONE: the error code and the extack TLVs. */
static int nl_status(struct nl *nl, const struct nlmsghdr *nlh)
{
	const char *p = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh);
	size_t off;
	int err;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = (const void *)p;

		if (len < sizeof(*e))
			return -EBADMSG;
		err = e->error;
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	} else {
		if (len < sizeof(int))
			return -EBADMSG;
		memcpy(&err, p, sizeof(err));
		off = sizeof(int);
	}
	off = MNL_ALIGN(off);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < len)
		mnl_attr_parse_payload(p + off, len - off, ext_ack_cb, nl);
	return err;
}

static int nl_send(struct nl *nl, struct nlmsghdr *nlh)
{
	nl->msg[0] = 0;
	nl->miss_type = -1;
	nl->intr = false;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

/* dumpintr --poke: called once per dump, after its first round */
static int (*between_rounds)(void);

/* Receive the answer to @seq: data to @fn, until an ACK, error or DONE. */
static int nl_recv(struct nl *nl, unsigned int seq, msg_fn fn, void *arg)
{
	bool first = true;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, rxbuf, rxlen);
		const struct nlmsghdr *nlh = (const void *)rxbuf;
		int len = n, err;

		if (n < 0)
			return -errno;
		if (first && between_rounds) {
			first = false;
			err = between_rounds();
			if (err)
				return err;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				nl->intr = true;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE)
				return nl_status(nl, nlh);
			if (fn && fn(nlh, arg) < 0)
				return -EBADMSG;
		}
	}
}

static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, msg_fn fn, void *arg)
{
	int err = nl_send(nl, nlh);

	return err ? err : nl_recv(nl, nlh->nlmsg_seq, fn, arg);
}

static struct nlmsghdr *msg_start(struct nl *nl, char *b, __u16 type,
				  __u8 cmd, __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : ESPX_GENL_VERSION;
	return nlh;
}

static int family_id_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			*(__u16 *)arg = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

/* 0 and nl->family_id set, or -errno (-ENOENT: espx is not loaded). */
static int nl_open(struct nl *nl)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->seq = time(NULL);
	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));

	nlh = msg_start(nl, b, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, ESPX_GENL_NAME);
	return nl_talk(nl, nlh, family_id_cb, &nl->family_id);
}

static void put_id(struct nlmsghdr *nlh, const struct sa_id *id)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_SA_ID);

	if (id->family >= 0)
		mnl_attr_put_u16(nlh, ESPX_ID_FAMILY, id->family);
	if (id->alen >= 0)
		mnl_attr_put(nlh, ESPX_ID_DADDR, id->alen, id->daddr);
	mnl_attr_put_u32(nlh, ESPX_ID_SPI, htonl(id->spi));
	if (id->proto >= 0)
		mnl_attr_put_u8(nlh, ESPX_ID_PROTO, id->proto);
	if (id->mark >= 0)
		mnl_attr_put_u32(nlh, ESPX_ID_MARK, id->mark);
	if (id->mask >= 0)
		mnl_attr_put_u32(nlh, ESPX_ID_MARK_MASK, id->mask);
	if (id->if_id >= 0)
		mnl_attr_put_u32(nlh, ESPX_ID_IF_ID, id->if_id);
	mnl_attr_nest_end(nlh, nest);
}

static void put_wesp(struct nlmsghdr *nlh, int offset)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_WESP);

	mnl_attr_put_u8(nlh, ESPX_WESP_CRYPT_OFFSET, offset);
	mnl_attr_nest_end(nlh, nest);
}

static void put_counters(struct nlmsghdr *nlh, const struct ctr_cfg *cc)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_COUNTERS);

	mnl_attr_put_u16(nlh, ESPX_COUNTERS_COUNT, cc->count);
	if (cc->window >= 0)
		mnl_attr_put_u32(nlh, ESPX_COUNTERS_WINDOW, cc->window);
	if (cc->start >= 0)
		mnl_attr_put_u64(nlh, ESPX_COUNTERS_START, cc->start);
	mnl_attr_nest_end(nlh, nest);
}

static void put_u8_opt(struct nlmsghdr *nlh, __u16 type, int v)
{
	if (v >= 0)
		mnl_attr_put_u8(nlh, type, v);
}

static void put_diet(struct nlmsghdr *nlh, const struct diet_cfg *d)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_DIET);

	put_u8_opt(nlh, ESPX_DIET_SPI_LSB, d->spi_lsb);
	put_u8_opt(nlh, ESPX_DIET_SN_LSB, d->sn_lsb);
	put_u8_opt(nlh, ESPX_DIET_ALIGN, d->align);
	put_u8_opt(nlh, ESPX_DIET_TRAILER, d->trailer);
	put_u8_opt(nlh, ESPX_DIET_IIPC, d->iipc);
	put_u8_opt(nlh, ESPX_DIET_DSCP, d->dscp);
	if (d->list_len >= 0)
		mnl_attr_put(nlh, ESPX_DIET_DSCP_LIST, d->list_len, d->list);
	put_u8_opt(nlh, ESPX_DIET_ECN, d->ecn);
	put_u8_opt(nlh, ESPX_DIET_FLOWLABEL, d->fl);
	if (d->iiv)
		mnl_attr_put(nlh, ESPX_DIET_IIV, 0, NULL);
	mnl_attr_nest_end(nlh, nest);
}

/* Attributes of a nest (or of a message) into tb[0..max]; unknown ignored. */
struct tb {
	const struct nlattr **a;
	int max;
};

static int tb_cb(const struct nlattr *a, void *data)
{
	struct tb *t = data;
	int type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->a[type] = a;
	return MNL_CB_OK;
}

static unsigned long long u64_or0(const struct nlattr *a)
{
	return a ? (unsigned long long)mnl_attr_get_u64(a) : 0;
}

static void print_counters_fp(FILE *fp, const struct nlattr *nest)
{
	const struct nlattr *c[ESPX_COUNTERS_MAX_ATTR + 1] = {};
	struct tb t = { c, ESPX_COUNTERS_MAX_ATTR };

	mnl_attr_parse_nested(nest, tb_cb, &t);
	fprintf(fp, " counters %u ctr_window %u ctr_start %llu",
		c[ESPX_COUNTERS_COUNT] ?
		mnl_attr_get_u16(c[ESPX_COUNTERS_COUNT]) : 0,
		c[ESPX_COUNTERS_WINDOW] ?
		mnl_attr_get_u32(c[ESPX_COUNTERS_WINDOW]) : 0,
		u64_or0(c[ESPX_COUNTERS_START]));
	if (c[ESPX_COUNTERS_WINDOWS])
		fprintf(fp, " ctr_windows %u",
			mnl_attr_get_u32(c[ESPX_COUNTERS_WINDOWS]));
}

static void print_u8_fp(FILE *fp, const char *name, const struct nlattr *a)
{
	if (a)
		fprintf(fp, " %s %u", name, mnl_attr_get_u8(a));
	else
		fprintf(fp, " %s -", name);
}

/* Every value of the nest, "-" for one the kernel left out. */
static void print_diet_fp(FILE *fp, const struct nlattr *nest)
{
	const struct nlattr *d[ESPX_DIET_MAX + 1] = {};
	struct tb t = { d, ESPX_DIET_MAX };
	const unsigned char *v;
	int i;

	mnl_attr_parse_nested(nest, tb_cb, &t);
	fprintf(fp, " diet");
	print_u8_fp(fp, "spi_lsb", d[ESPX_DIET_SPI_LSB]);
	print_u8_fp(fp, "sn_lsb", d[ESPX_DIET_SN_LSB]);
	print_u8_fp(fp, "align", d[ESPX_DIET_ALIGN]);
	print_u8_fp(fp, "trailer", d[ESPX_DIET_TRAILER]);
	print_u8_fp(fp, "iipc", d[ESPX_DIET_IIPC]);
	print_u8_fp(fp, "dscp", d[ESPX_DIET_DSCP]);
	if (d[ESPX_DIET_DSCP_LIST]) {
		v = mnl_attr_get_payload(d[ESPX_DIET_DSCP_LIST]);
		fprintf(fp, " dscp_list ");
		for (i = 0; i < mnl_attr_get_payload_len(d[ESPX_DIET_DSCP_LIST]); i++)
			fprintf(fp, "%s%u", i ? "," : "", v[i]);
	}
	print_u8_fp(fp, "ecn", d[ESPX_DIET_ECN]);
	print_u8_fp(fp, "flowlabel", d[ESPX_DIET_FLOWLABEL]);
	if (d[ESPX_DIET_IIV])
		fprintf(fp, " iiv");
}

static void print_entry_fp(FILE *fp, const struct nlmsghdr *nlh)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {}, *id[ESPX_ID_MAX + 1] = {};
	const struct nlattr *st[ESPX_STAT_MAX + 1] = {};
	const struct nlattr *w[ESPX_WESP_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	char addr[INET6_ADDRSTRLEN] = "?";
	int fam = 0, i;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (top[ESPX_A_SA_ID]) {
		t = (struct tb){ id, ESPX_ID_MAX };
		mnl_attr_parse_nested(top[ESPX_A_SA_ID], tb_cb, &t);
	}
	if (id[ESPX_ID_FAMILY])
		fam = mnl_attr_get_u16(id[ESPX_ID_FAMILY]);
	if (id[ESPX_ID_DADDR])
		inet_ntop(fam, mnl_attr_get_payload(id[ESPX_ID_DADDR]), addr,
			  sizeof(addr));
	fprintf(fp, "family %d daddr %s spi 0x%08x proto %u mark 0x%x/0x%x if_id %u status %s",
		fam == AF_INET6 ? 6 : fam == AF_INET ? 4 : fam, addr,
		id[ESPX_ID_SPI] ? ntohl(mnl_attr_get_u32(id[ESPX_ID_SPI])) : 0,
		id[ESPX_ID_PROTO] ? mnl_attr_get_u8(id[ESPX_ID_PROTO]) : 0,
		id[ESPX_ID_MARK] ? mnl_attr_get_u32(id[ESPX_ID_MARK]) : 0,
		id[ESPX_ID_MARK_MASK] ? mnl_attr_get_u32(id[ESPX_ID_MARK_MASK]) : 0,
		id[ESPX_ID_IF_ID] ? mnl_attr_get_u32(id[ESPX_ID_IF_ID]) : 0,
		!top[ESPX_A_STATUS] ? "none" :
		mnl_attr_get_u32(top[ESPX_A_STATUS]) == ESPX_STATUS_PENDING ?
		"pending" : "bound");
	if (top[ESPX_A_WESP]) {
		t = (struct tb){ w, ESPX_WESP_MAX };
		mnl_attr_parse_nested(top[ESPX_A_WESP], tb_cb, &t);
		fprintf(fp, " wesp %u", w[ESPX_WESP_CRYPT_OFFSET] ?
			mnl_attr_get_u8(w[ESPX_WESP_CRYPT_OFFSET]) : 0);
	}
	if (top[ESPX_A_COUNTERS])
		print_counters_fp(fp, top[ESPX_A_COUNTERS]);
	if (top[ESPX_A_DIET])
		print_diet_fp(fp, top[ESPX_A_DIET]);
	if (top[ESPX_A_ECHO])
		fprintf(fp, " echo");
	if (top[ESPX_A_STATS]) {
		t = (struct tb){ st, ESPX_STAT_MAX };
		mnl_attr_parse_nested(top[ESPX_A_STATS], tb_cb, &t);
		fprintf(fp, " stats");
		for (i = 1; i <= ESPX_STAT_MAX; i++) {
			if (!st[i])
				continue;
			if (stat_names[i])
				fprintf(fp, " %s", stat_names[i]);
			else
				fprintf(fp, " stat_%d", i);
			fprintf(fp, " %llu",
				(unsigned long long)mnl_attr_get_u64(st[i]));
		}
	}
	fprintf(fp, "\n");
}

static int print_cb(const struct nlmsghdr *nlh, void *arg)
{
	int *n = arg;

	print_entry_fp(stdout, nlh);
	(*n)++;
	return MNL_CB_OK;
}

/* One ESPX_CMD_CTR_GET reply: one line for its counter. */
static int ctr_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {};
	const struct nlattr *c[ESPX_CTR_MAX_ATTR + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	int *n = arg;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (!top[ESPX_A_CTR])
		return MNL_CB_OK;
	t = (struct tb){ c, ESPX_CTR_MAX_ATTR };
	mnl_attr_parse_nested(top[ESPX_A_CTR], tb_cb, &t);
	if (!c[ESPX_CTR_ID])
		return MNL_CB_ERROR;
	printf("id=%u out_seq=%llu out_packets=%llu out_bytes=%llu in_top=",
	       mnl_attr_get_u16(c[ESPX_CTR_ID]), u64_or0(c[ESPX_CTR_OUT_SEQ]),
	       u64_or0(c[ESPX_CTR_OUT_PACKETS]),
	       u64_or0(c[ESPX_CTR_OUT_BYTES]));
	if (c[ESPX_CTR_IN_TOP])
		printf("%llu", u64_or0(c[ESPX_CTR_IN_TOP]));
	else
		printf("-");
	printf(" in_packets=%llu in_bytes=%llu in_replay=%llu\n",
	       u64_or0(c[ESPX_CTR_IN_PACKETS]), u64_or0(c[ESPX_CTR_IN_BYTES]),
	       u64_or0(c[ESPX_CTR_IN_REPLAY]));
	(*n)++;
	return MNL_CB_OK;
}

static int count_cb(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	(*(int *)arg)++;
	return MNL_CB_OK;
}

/* Bits of struct info_seen: the items an INFO_GET reply must carry. */
#define INFO_LOST4	1
#define INFO_LOST6	2
#define INFO_NS_STATS	4
#define INFO_ALL	(INFO_LOST4 | INFO_LOST6 | INFO_NS_STATS)

static int print_flag(const struct nlattr *a, const char *key)
{
	if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return -1;
	printf("%s=%u\n", key, mnl_attr_get_u8(a));
	return 0;
}

/* Every counter of the nest, in the order the kernel sent them. */
static int print_ns_stats(const struct nlattr *nest)
{
	const struct nlattr *a;
	int type;

	mnl_attr_for_each_nested(a, nest) {
		type = mnl_attr_get_type(a);
		if (type == ESPX_NS_STAT_UNSPEC)	/* 64-bit padding */
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -1;
		if (type <= ESPX_NS_STAT_MAX && ns_stat_names[type])
			printf("ns_%s=", ns_stat_names[type]);
		else
			printf("ns_stat_%d=", type);
		printf("%llu\n", (unsigned long long)mnl_attr_get_u64(a));
	}
	return 0;
}

/* An INFO_GET reply: key=value lines; @arg collects INFO_* bits. */
static int info_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {};
	const struct nlattr *in[ESPX_INFO_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	int *seen = arg;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (!top[ESPX_A_INFO])
		return MNL_CB_OK;
	t = (struct tb){ in, ESPX_INFO_MAX };
	mnl_attr_parse_nested(top[ESPX_A_INFO], tb_cb, &t);
	if (in[ESPX_INFO_TYPE_LOST_IPV4]) {
		if (print_flag(in[ESPX_INFO_TYPE_LOST_IPV4], "type_lost_ipv4"))
			return MNL_CB_ERROR;
		*seen |= INFO_LOST4;
	}
	if (in[ESPX_INFO_TYPE_LOST_IPV6]) {
		if (print_flag(in[ESPX_INFO_TYPE_LOST_IPV6], "type_lost_ipv6"))
			return MNL_CB_ERROR;
		*seen |= INFO_LOST6;
	}
	if (in[ESPX_INFO_NS_STATS]) {
		if (print_ns_stats(in[ESPX_INFO_NS_STATS]))
			return MNL_CB_ERROR;
		*seen |= INFO_NS_STATS;
	}
	return MNL_CB_OK;
}

/* INFO_GET: 0 if the reply had every item, -EBADMSG if not, or -errno. */
static int info(struct nl *nl)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int seen = 0, err;

	nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_INFO_GET, NLM_F_ACK);
	err = nl_talk(nl, nlh, info_cb, &seen);
	if (err)
		return err;
	if (seen != INFO_ALL) {
		snprintf(nl->msg, sizeof(nl->msg),
			 "reply lacks%s%s%s", seen & INFO_LOST4 ? "" :
			 " type_lost_ipv4", seen & INFO_LOST6 ? "" :
			 " type_lost_ipv6", seen & INFO_NS_STATS ? "" :
			 " ns_stats");
		return -EBADMSG;
	}
	return 0;
}

/* Number of entries a dump returns, or -errno. */
static int dump(struct nl *nl, msg_fn fn)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int n = 0, err;

	nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_SA_GET, NLM_F_DUMP);
	err = nl_talk(nl, nlh, fn, &n);
	return err ? err : n;
}

/* The counters of the SA @id, a line each; number of counters or -errno. */
static int ctr_dump(struct nl *nl, const struct sa_id *id)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int n = 0, err;

	nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_CTR_GET, NLM_F_DUMP);
	put_id(nlh, id);
	err = nl_talk(nl, nlh, ctr_cb, &n);
	return err ? err : n;
}

static int request_cfg(struct nl *nl, __u8 cmd, const struct sa_id *id,
		       const struct set_cfg *sc, msg_fn fn, void *arg);
static void set_cfg_default(struct set_cfg *sc);
static void id_default(struct sa_id *id);

static struct nl poke_nl;
static struct sa_id poke_id;

/* SET then DEL the config poke_id on a socket of its own: the table
 * changes while a dump on the other socket is between two rounds.
 */
static int poke(void)
{
	struct set_cfg sc;
	int err;

	set_cfg_default(&sc);
	sc.detached = true;
	between_rounds = NULL;	/* the poke's own answers */
	err = request_cfg(&poke_nl, ESPX_CMD_SA_SET, &poke_id, &sc, NULL, NULL);
	if (!err)
		err = request_cfg(&poke_nl, ESPX_CMD_SA_DEL, &poke_id, &sc,
				  NULL, NULL);
	between_rounds = poke;
	return err;
}

/* @tries dumps (SA_GET, or CTR_GET of @id if not NULL); prints how many
 * were marked NLM_F_DUMP_INTR and the range of entries they returned.
 * With @poke_addr, every dump spans a change of the table (see poke()).
 */
static int dump_intr(struct nl *nl, int tries, const struct sa_id *id,
		     const char *poke_addr)
{
	int i, n, err, intr = 0, min = -1, max = -1;
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (poke_addr) {
		id_default(&poke_id);
		poke_id.spi = 0x5fe;
		poke_id.alen = 4;
		if (inet_pton(AF_INET, poke_addr, poke_id.daddr) != 1) {
			fprintf(stderr, "espx_genl: bad address %s\n", poke_addr);
			exit(EINVAL);
		}
		err = nl_open(&poke_nl);
		if (err)
			return err;
		between_rounds = poke;
	}
	for (i = 0; i < tries; i++) {
		n = 0;
		nlh = msg_start(nl, b, nl->family_id, id ? ESPX_CMD_CTR_GET :
				ESPX_CMD_SA_GET, NLM_F_DUMP);
		if (id)
			put_id(nlh, id);
		err = nl_talk(nl, nlh, count_cb, &n);
		if (err)
			return err;
		intr += nl->intr;
		if (min < 0 || n < min)
			min = n;
		if (n > max)
			max = n;
	}
	between_rounds = NULL;
	printf("dumps %d intr %d entries %d-%d\n", tries, intr, min, max);
	return 0;
}

/* Doit request for @id, with the SET attributes @sc asks for. */
static int request_cfg(struct nl *nl, __u8 cmd, const struct sa_id *id,
		       const struct set_cfg *sc, msg_fn fn, void *arg)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_start(nl, b, nl->family_id, cmd, NLM_F_ACK);
	put_id(nlh, id);
	if (sc->wesp >= 0)
		put_wesp(nlh, sc->wesp);
	if (sc->cc.count >= 0)
		put_counters(nlh, &sc->cc);
	if (sc->diet.on)
		put_diet(nlh, &sc->diet);
	if (cmd == ESPX_CMD_SA_SET && sc->detached)
		mnl_attr_put(nlh, ESPX_A_DETACHED, 0, NULL);
	if (sc->echo)
		mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, ESPX_A_ECHO));
	return nl_talk(nl, nlh, fn, arg);
}

static void set_cfg_default(struct set_cfg *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->wesp = -1;
	sc->cc = (struct ctr_cfg){ .count = -1, .window = -1, .start = -1 };
	sc->diet = (struct diet_cfg){
		.spi_lsb = -1, .sn_lsb = -1, .align = -1, .trailer = -1,
		.iipc = -1, .dscp = -1, .ecn = -1, .fl = -1, .list_len = -1,
	};
}

/* Plain doit request for @id; -errno. */
static int request(struct nl *nl, __u8 cmd, const struct sa_id *id,
		   int wesp, msg_fn fn, void *arg)
{
	struct set_cfg sc;

	set_cfg_default(&sc);
	sc.wesp = wesp;
	return request_cfg(nl, cmd, id, &sc, fn, arg);
}

static void id_default(struct sa_id *id)
{
	memset(id, 0, sizeof(*id));
	id->family = AF_INET;
	id->alen = 4;
	inet_pton(AF_INET, "192.0.2.1", id->daddr);
	id->spi = 0x1000;
	id->proto = -1;
	id->mark = -1;
	id->mask = -1;
	id->if_id = -1;
}

/* ------------------------------------------------------------------ */
/* badinput: each case sends one crafted request and checks the answer.
 * A case is data: the default SA id (id_default()) with the fields of @id
 * that are not 0 replaced, then optionally a WESP nest, a counters nest and
 * one more top-level u32 attribute. The few requests of another shape have
 * a raw builder that makes the whole request.
 */

#define BC_NO_ID	0x01	/* no SA id at all */
#define BC_SPI0		0x02	/* SPI 0 (id.spi 0 means "default") */
#define BC_WESP		0x04	/* a WESP nest with crypt offset @wesp */
#define BC_CTR		0x08	/* a counters nest as @ctr says */
#define BC_RESERVED	0x10	/* genl header's reserved field set */

struct bad_case {
	const char *name;
	__u8 cmd;
	int expect;		/* errno */
	bool need_msg;		/* an extack string must come back */
	const char *msg;	/* the extack must contain it (NULL: any) */
	unsigned int flags;	/* BC_* */
	struct {
		int alen, family, proto;
		__u32 spi;
	} id;
	int wesp;
	struct {
		int count;	/* < 0: left out */
		long window;	/* < 0: left out */
		int extra;	/* one more attribute type (u32 1), 0: none */
	} ctr;
	int extra;		/* one more top-level attribute type, 0: none */
	__u32 extra_val;
	void (*raw)(struct nlmsghdr *nlh);
};

static void put_bad_case(struct nlmsghdr *nlh, const struct bad_case *c)
{
	struct nlattr *nest;
	struct sa_id id;

	if (c->raw) {
		c->raw(nlh);
		return;
	}
	if (c->flags & BC_RESERVED)
		((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->reserved = 1;
	if (!(c->flags & BC_NO_ID)) {
		id_default(&id);
		if (c->id.alen)
			id.alen = c->id.alen;
		if (c->id.family)
			id.family = c->id.family;
		if (c->id.proto)
			id.proto = c->id.proto;
		if (c->id.spi)
			id.spi = c->id.spi;
		if (c->flags & BC_SPI0)
			id.spi = 0;
		put_id(nlh, &id);
	}
	if (c->flags & BC_WESP)
		put_wesp(nlh, c->wesp);
	if (c->flags & BC_CTR) {
		nest = mnl_attr_nest_start(nlh, ESPX_A_COUNTERS);
		if (c->ctr.count >= 0)
			mnl_attr_put_u16(nlh, ESPX_COUNTERS_COUNT, c->ctr.count);
		if (c->ctr.window >= 0)
			mnl_attr_put_u32(nlh, ESPX_COUNTERS_WINDOW, c->ctr.window);
		if (c->ctr.extra)
			mnl_attr_put_u32(nlh, c->ctr.extra, 1);
		mnl_attr_nest_end(nlh, nest);
	}
	if (c->extra)
		mnl_attr_put_u32(nlh, c->extra, c->extra_val);
}

/* The SA id nest with @family as a u16 (or a u32), @daddr, and the SPI
 * unless @spi is 0, and one unknown attribute when @unknown.
 */
static void put_raw_id(struct nlmsghdr *nlh, bool family_u32, int family,
		       const void *daddr, size_t alen, __u32 spi, bool unknown)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_SA_ID);

	if (family_u32)
		mnl_attr_put_u32(nlh, ESPX_ID_FAMILY, family);
	else
		mnl_attr_put_u16(nlh, ESPX_ID_FAMILY, family);
	mnl_attr_put(nlh, ESPX_ID_DADDR, alen, daddr);
	if (spi)
		mnl_attr_put_u32(nlh, ESPX_ID_SPI, htonl(spi));
	if (unknown)
		mnl_attr_put_u32(nlh, ESPX_ID_MAX + 1, 7);
	mnl_attr_nest_end(nlh, nest);
}

static const unsigned char bad_v4[4] = { 192, 0, 2, 1 };

static void r_daddr17(struct nlmsghdr *nlh)
{
	const unsigned char a[17] = { 0x20, 0x01, 0x0d, 0xb8 };

	put_raw_id(nlh, false, AF_INET6, a, sizeof(a), 0x1000, false);
}

static void r_family_u32(struct nlmsghdr *nlh)
{
	put_raw_id(nlh, true, AF_INET, bad_v4, sizeof(bad_v4), 0x1000, false);
}

static void r_no_spi(struct nlmsghdr *nlh)
{
	put_raw_id(nlh, false, AF_INET, bad_v4, sizeof(bad_v4), 0, false);
}

static void r_unknown_nested(struct nlmsghdr *nlh)
{
	put_raw_id(nlh, false, AF_INET, bad_v4, sizeof(bad_v4), 0x1000, true);
}

static void r_id_not_nested(struct nlmsghdr *nlh)
{
	struct nlattr *nest;
	struct sa_id id;

	id_default(&id);
	put_id(nlh, &id);
	nest = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN +
				 MNL_ALIGN(sizeof(struct genlmsghdr)));
	nest->nla_type &= ~NLA_F_NESTED;
}

/* Without NLA_F_NESTED, so that the policy's reject message is what the
 * kernel says (with the flag, strict validation stops earlier).
 */
static void r_stats_in_info(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, ESPX_A_STATS, 1);
}

static void r_info_in_info(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, ESPX_A_INFO, 0);
}

/* As a client copying a reply would send it: a real nest. */
static void r_info_nest_in_info(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_INFO);

	mnl_attr_put_u8(nlh, ESPX_INFO_TYPE_LOST_IPV4, 0);
	mnl_attr_nest_end(nlh, nest);
}

static void r_ctr_in_request(struct nlmsghdr *nlh)
{
	struct nlattr *nest;
	struct sa_id id;

	id_default(&id);
	put_id(nlh, &id);
	nest = mnl_attr_nest_start(nlh, ESPX_A_CTR);
	mnl_attr_put_u16(nlh, ESPX_CTR_ID, 0);
	mnl_attr_nest_end(nlh, nest);
}

#define SET		ESPX_CMD_SA_SET
#define CTRS(n, w, x)	.flags = BC_WESP | BC_CTR, .ctr = { (n), (w), (x) }

static const struct bad_case bad_cases[] = {
	{ "unknown top-level attribute", SET, EINVAL, true, NULL,
	  .extra = ESPX_A_MAX + 1, .extra_val = 1 },
	{ "3-octet destination address", SET, EINVAL, true, NULL, .id.alen = 3 },
	{ "16-octet address with family 4", SET, EINVAL, true, NULL, .id.alen = 16 },
	{ "17-octet destination address", SET, ERANGE, true, NULL, .raw = r_daddr17 },
	{ "family AF_UNIX", SET, EAFNOSUPPORT, true, NULL, .id.family = AF_UNIX },
	{ "family as u32 (wrong length)", SET, EINVAL, true, NULL, .raw = r_family_u32 },
	{ "protocol 51 (AH)", SET, EPROTONOSUPPORT, true, NULL, .id.proto = 51 },
	{ "SPI 0", SET, EINVAL, true, NULL, .flags = BC_SPI0 },
	{ "WESP crypt offset 64", SET, ERANGE, true, NULL, .flags = BC_WESP, .wesp = 64 },
	{ "SET without SA id", SET, EINVAL, true, NULL, .flags = BC_NO_ID },
	{ "GET without SA id", ESPX_CMD_SA_GET, EINVAL, true, NULL, .flags = BC_NO_ID },
	{ "DEL without SA id", ESPX_CMD_SA_DEL, EINVAL, true, NULL, .flags = BC_NO_ID },
	{ "SA id without SPI", SET, EINVAL, true, NULL, .raw = r_no_spi },
	{ "SA id without NLA_F_NESTED", SET, EINVAL, true, NULL, .raw = r_id_not_nested },
	{ "unknown attribute in SA id", SET, EINVAL, true, NULL, .raw = r_unknown_nested },
	{ "reply-only status in request", SET, EINVAL, true, "status is reply-only",
	  .extra = ESPX_A_STATUS, .extra_val = ESPX_STATUS_BOUND },
	{ "non-zero reserved genl header", SET, EINVAL, true, NULL, .flags = BC_RESERVED },
	{ "duplicate SET", SET, EEXIST, true, NULL, .flags = 0 },
	{ "DEL of an unknown id", ESPX_CMD_SA_DEL, ENOENT, true, NULL, .id.spi = 0xdead },
	{ "GET of an unknown id", ESPX_CMD_SA_GET, ENOENT, true, NULL, .id.spi = 0xdead },
	{ "INFO_GET with reply-only stats", ESPX_CMD_INFO_GET, EINVAL, true,
	  "stats are reply-only", .raw = r_stats_in_info },
	{ "INFO_GET with reply-only info", ESPX_CMD_INFO_GET, EINVAL, true,
	  "info is reply-only", .raw = r_info_in_info },
	{ "INFO_GET with a nested reply-only info", ESPX_CMD_INFO_GET, EINVAL, true, NULL,
	  .raw = r_info_nest_in_info },
	{ "INFO_GET with an unknown attribute", ESPX_CMD_INFO_GET, EINVAL, true, NULL,
	  .flags = BC_NO_ID, .extra = ESPX_A_MAX + 1, .extra_val = 1 },
	{ "counters: 0 counters", SET, ERANGE, true, NULL, CTRS(0, -1, 0) },
	{ "counters: 1025 counters", SET, ERANGE, true, NULL, CTRS(1025, -1, 0) },
	{ "counters: no count", SET, EINVAL, true, "lack their number", CTRS(-1, 64, 0) },
	{ "counters without WESPv2", SET, EINVAL, true, "WESPv2",
	  .flags = BC_CTR, .ctr = { 4, -1, 0 } },
	{ "counters: window 48", SET, EINVAL, true, "multiple of 32", CTRS(4, 48, 0) },
	{ "counters: window 8192", SET, ERANGE, true, NULL, CTRS(4, 8192, 0) },
	{ "counters: window 16", SET, ERANGE, true, NULL, CTRS(4, 16, 0) },
	{ "counters: reply-only windows", SET, EINVAL, true, "windows is reply-only",
	  CTRS(4, -1, ESPX_COUNTERS_WINDOWS) },
	{ "counters: unknown attribute", SET, EINVAL, true, NULL,
	  CTRS(4, -1, ESPX_COUNTERS_MAX_ATTR + 1) },
	{ "reply-only counter state in request", SET, EINVAL, true, NULL,
	  .raw = r_ctr_in_request },
	{ "CTR_GET without NLM_F_DUMP", ESPX_CMD_CTR_GET, EOPNOTSUPP, false, NULL, .flags = 0 },
	{ "unknown command", ESPX_CMD_MAX + 1, EOPNOTSUPP, false, NULL, .flags = 0 },
};

#undef CTRS
#undef SET

/* Diet-ESP cases: a valid ESPX_A_DIET nest (spi_lsb 8, sn_lsb 16, align
 * 16 bit, optional trailer, iipc, dscp/ecn lower, flow label zero, iiv) with
 * up to two attributes replaced by raw ones (len -1: left out; a type above
 * ESPX_DIET_MAX is added), and maybe WESP or counters beside it.
 */
#define DB_WESP		1
#define DB_COUNTERS	2

struct diet_raw {
	int type;		/* 0: unused slot */
	int len;
	unsigned char v[ESPX_DIET_DSCP_LIST_MAX + 1];
};

struct diet_bad {
	const char *name;
	int expect;		/* errno */
	const char *msg;	/* the extack must contain it (NULL: any) */
	int flags;		/* DB_* */
	struct diet_raw raw[2];
};

#define RAW(t, l, ...)	{ .type = (t), .len = (l), .v = { __VA_ARGS__ } }
#define U8(t, x)	RAW(t, 1, x)
#define OMIT(t)		RAW(t, -1, 0)
#define EMPTY(t)	RAW(t, 0, 0)
#define DSCP_SA		U8(ESPX_DIET_DSCP, ESPX_DIET_CDA_SA)

static const __u8 diet_base[ESPX_DIET_MAX + 1] = {
	[ESPX_DIET_SPI_LSB] = 8,
	[ESPX_DIET_SN_LSB] = 16,
	[ESPX_DIET_ALIGN] = ESPX_DIET_ALIGN_16BIT,
	[ESPX_DIET_TRAILER] = ESPX_DIET_TRAILER_OPT,
	[ESPX_DIET_IIPC] = 1,
	[ESPX_DIET_DSCP] = ESPX_DIET_CDA_LOWER,
	[ESPX_DIET_ECN] = ESPX_DIET_CDA_LOWER,
	[ESPX_DIET_FLOWLABEL] = ESPX_DIET_CDA_ZERO,
};

static const struct diet_bad diet_bad[] = {
	{ "diet: spi_lsb 33", ERANGE, NULL, 0, { U8(ESPX_DIET_SPI_LSB, 33) } },
	{ "diet: sn_lsb 0", ERANGE, NULL, 0, { U8(ESPX_DIET_SN_LSB, 0) } },
	{ "diet: sn_lsb 33", ERANGE, NULL, 0, { U8(ESPX_DIET_SN_LSB, 33) } },
	{ "diet: align 4", ERANGE, NULL, 0, { U8(ESPX_DIET_ALIGN, 4) } },
	{ "diet: trailer 2", ERANGE, NULL, 0, { U8(ESPX_DIET_TRAILER, 2) } },
	{ "diet: iipc 2", ERANGE, NULL, 0, { U8(ESPX_DIET_IIPC, 2) } },
	{ "diet: dscp 3", ERANGE, NULL, 0, { U8(ESPX_DIET_DSCP, 3) } },
	{ "diet: ecn 2 (no SA choice for ECN)", ERANGE, NULL, 0,
	  { U8(ESPX_DIET_ECN, 2) } },
	{ "diet: flowlabel 4", ERANGE, NULL, 0, { U8(ESPX_DIET_FLOWLABEL, 4) } },
	{ "diet: spi_lsb as u32", EINVAL, NULL, 0,
	  { RAW(ESPX_DIET_SPI_LSB, 4, 8) } },
	{ "diet: sn_lsb empty", EINVAL, NULL, 0, { EMPTY(ESPX_DIET_SN_LSB) } },
	{ "diet: align as u16", EINVAL, NULL, 0, { RAW(ESPX_DIET_ALIGN, 2, 1) } },
	{ "diet: iiv flag with a payload", ERANGE, NULL, 0,
	  { RAW(ESPX_DIET_IIV, 1, 1) } },
	{ "diet: unknown attribute in the nest", EINVAL, NULL, 0,
	  { U8(ESPX_DIET_MAX + 1, 0) } },
	{ "diet: empty DSCP list", ERANGE, NULL, 0,
	  { DSCP_SA, EMPTY(ESPX_DIET_DSCP_LIST) } },
	{ "diet: 65-octet DSCP list", ERANGE, NULL, 0,
	  { DSCP_SA, RAW(ESPX_DIET_DSCP_LIST, 65, 0) } },
	{ "diet: DSCP list value 64", ERANGE, "above 63", 0,
	  { DSCP_SA, RAW(ESPX_DIET_DSCP_LIST, 3, 0, 64, 46) } },
	{ "diet: DSCP list value twice", EINVAL, "twice", 0,
	  { DSCP_SA, RAW(ESPX_DIET_DSCP_LIST, 3, 10, 46, 10) } },
	{ "diet: DSCP list with DSCP lower", EINVAL, "DSCP = SA", 0,
	  { RAW(ESPX_DIET_DSCP_LIST, 1, 46) } },
	{ "diet: DSCP list without DSCP (sent)", EINVAL, "DSCP = SA", 0,
	  { OMIT(ESPX_DIET_DSCP), RAW(ESPX_DIET_DSCP_LIST, 1, 46) } },
	{ "diet: DSCP = SA without the list", EINVAL, "DSCP list", 0,
	  { DSCP_SA } },
	{ "diet: spi_lsb + sn_lsb = 17", EINVAL, "multiple of 8", 0,
	  { U8(ESPX_DIET_SN_LSB, 9) } },
	{ "diet: spi_lsb + sn_lsb = 36", EINVAL, "multiple of 8", 0,
	  { U8(ESPX_DIET_SPI_LSB, 4), U8(ESPX_DIET_SN_LSB, 32) } },
	{ "diet: no spi_lsb", EINVAL, "SPI bits", 0, { OMIT(ESPX_DIET_SPI_LSB) } },
	{ "diet: no sn_lsb", EINVAL, "SN bits", 0, { OMIT(ESPX_DIET_SN_LSB) } },
	{ "diet: empty nest", EINVAL, "SPI bits", 0,
	  { OMIT(ESPX_DIET_SPI_LSB), OMIT(ESPX_DIET_SN_LSB) } },
	{ "diet + WESPv2", EINVAL, "exclusive", DB_WESP, { RAW(0, 0, 0) } },
	{ "diet + counters", EINVAL, "exclusive", DB_COUNTERS, { RAW(0, 0, 0) } },
	{ "diet + WESPv2 + counters", EINVAL, "exclusive",
	  DB_WESP | DB_COUNTERS, { RAW(0, 0, 0) } },
};

static const struct diet_raw *diet_raw_of(const struct diet_bad *c, int type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->raw); i++)
		if (c->raw[i].type == type)
			return &c->raw[i];
	return NULL;
}

static void put_bad_diet(struct nlmsghdr *nlh, const struct diet_bad *c)
{
	const struct ctr_cfg cc = { .count = 4, .window = -1, .start = -1 };
	const struct diet_raw *r;
	struct nlattr *nest;
	struct sa_id id;
	int type;

	id_default(&id);
	put_id(nlh, &id);
	if (c->flags & DB_WESP)
		put_wesp(nlh, 0);
	if (c->flags & DB_COUNTERS)
		put_counters(nlh, &cc);
	nest = mnl_attr_nest_start(nlh, ESPX_A_DIET);
	for (type = 1; type <= ESPX_DIET_MAX + 1; type++) {
		r = diet_raw_of(c, type);
		if (r) {
			if (r->len >= 0)
				mnl_attr_put(nlh, type, r->len, r->v);
		} else if (type == ESPX_DIET_IIV) {
			mnl_attr_put(nlh, type, 0, NULL);
		} else if (type <= ESPX_DIET_MAX &&
			   type != ESPX_DIET_DSCP_LIST) {
			mnl_attr_put_u8(nlh, type, diet_base[type]);
		}
	}
	mnl_attr_nest_end(nlh, nest);
}

/* Send the request in @nlh: one test point, errno @expect, an extack (that
 * contains @want if set), and the number of entries still @base.
 */
static void bad_check(struct nl *nl, struct nlmsghdr *nlh, const char *name,
		      int expect, bool need_msg, const char *want, int base)
{
	char msg[sizeof(nl->msg)];
	int err, n, miss;

	err = nl_talk(nl, nlh, NULL, NULL);
	snprintf(msg, sizeof(msg), "%s", nl->msg);
	miss = nl->miss_type;
	n = dump(nl, count_cb);
	ksft_test_result(err == -expect && (!need_msg || msg[0]) &&
			 (!want || strstr(msg, want)) && n == base,
			 "%s: %s (want %s), extack \"%s\"%s, entries %d->%d\n",
			 name, strerror(-err), strerror(expect), msg,
			 miss >= 0 ? " +missing-attr" : "", base, n);
}

static int badinput(struct nl *nl)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct sa_id id;
	int base, n, err, i, made;
	unsigned int k;

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(bad_cases) + ARRAY_SIZE(diet_bad) + 4);

	/* One valid pending config, so that duplicates can be tried. */
	id_default(&id);
	base = dump(nl, count_cb);
	err = request(nl, ESPX_CMD_SA_SET, &id, -1, NULL, NULL);
	ksft_test_result(base >= 0 && !err && dump(nl, count_cb) == base + 1,
			 "valid SET creates one pending config (%d, %s)\n",
			 base, strerror(-err));
	base = dump(nl, count_cb);

	for (k = 0; k < ARRAY_SIZE(bad_cases); k++) {
		const struct bad_case *c = &bad_cases[k];

		nlh = msg_start(nl, b, nl->family_id, c->cmd, NLM_F_ACK);
		put_bad_case(nlh, c);
		bad_check(nl, nlh, c->name, c->expect, c->need_msg, c->msg,
			  base);
	}
	for (k = 0; k < ARRAY_SIZE(diet_bad); k++) {
		nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_SA_SET,
				NLM_F_ACK);
		put_bad_diet(nlh, &diet_bad[k]);
		bad_check(nl, nlh, diet_bad[k].name, diet_bad[k].expect, true,
			  diet_bad[k].msg, base);
	}

	/* The per-netns limit of pending configs: -ENOSPC, then clean up. */
	made = 0;
	for (i = 0; i < 4096; i++) {
		id.spi = 0x100000 + i;
		err = request(nl, ESPX_CMD_SA_SET, &id, -1, NULL, NULL);
		if (err)
			break;
		made++;
	}
	ksft_test_result(err == -ENOSPC && nl->msg[0] && made > 0,
			 "pending limit: %s after %d more, extack \"%s\"\n",
			 strerror(-err), made, nl->msg);
	for (i = 0; i < made; i++) {
		id.spi = 0x100000 + i;
		request(nl, ESPX_CMD_SA_DEL, &id, -1, NULL, NULL);
	}
	n = dump(nl, count_cb);
	ksft_test_result(n == base, "limit test leaves nothing (%d->%d)\n",
			 base, n);

	id_default(&id);
	err = request(nl, ESPX_CMD_SA_DEL, &id, -1, NULL, NULL);
	n = dump(nl, count_cb);
	ksft_test_result(!err && n == base - 1,
			 "DEL of the valid config (%s, %d->%d)\n",
			 strerror(-err), base, n);
	ksft_finished();
	return 0;
}

/* ------------------------------------------------------------------ */

static void help(void)
{
	fprintf(stderr,
		"usage: espx_genl set|get|del [--family 4|6] --daddr A --spi X\n"
		"                 [--proto N] [--mark M] [--mask M] [--if-id N] [--wesp N]\n"
		"                 [--counters N [--ctr-window W] [--ctr-start S]]\n"
		"                 [--diet SPI_LSB,SN_LSB [--diet-align N] [--diet-trailer N]\n"
		"                  [--diet-iipc N] [--diet-dscp N] [--diet-dscp-list V,V,...]\n"
		"                  [--diet-ecn N] [--diet-fl N] [--diet-iiv]]\n"
		"                 [--tied [-- CMD [ARG...]]]\n"
		"          set: the config is detached (outlives this process, until\n"
		"          pending_timeout); --tied: it belongs to this process's socket,\n"
		"          so it goes when espx_genl exits; with -- CMD: run CMD while\n"
		"          the socket is open, exit with its status\n"
		"       espx_genl ctr [--family 4|6] --daddr A --spi X [--proto N] ...\n"
		"       espx_genl rule-add --name N [--prio P] [--fallback] [--m-*/--sel-* ...]\n"
		"                 [feature options of set]\n"
		"       espx_genl rule-del|rule-get --name N | rule-dump | rule-flush\n"
		"       espx_genl dump|count|info|status|resolve|badinput\n"
		"       espx_genl dumpintr N [SA-ID] [--poke ADDR]\n"
		"       espx_genl echo|echo-many SA-ID [--sessions K] [--count N] ...\n"
		"       espx_genl echo-monitor [--count N] [--timeout MS]\n"
		"       espx_genl batch   (commands on stdin, one a line)\n");
	exit(EINVAL);
}

/* A number for a raw attribute value; "-" (or @s NULL) is -1, not sent. */
static int diet_num(const char *s)
{
	char *end;
	long v;

	if (!s || !strcmp(s, "-"))
		return -1;
	v = strtol(s, &end, 0);
	if (*end || end == s || v < 0 || v > 255) {
		fprintf(stderr, "espx_genl: bad diet value %s\n", s);
		exit(EINVAL);
	}
	return v;
}

/* --diet SPI_LSB,SN_LSB */
static void diet_lsb(struct diet_cfg *d, char *arg)
{
	char *sn = strchr(arg, ',');

	if (sn)
		*sn++ = 0;
	d->on = true;
	d->spi_lsb = diet_num(arg);
	d->sn_lsb = diet_num(sn);
}

/* --diet-dscp-list V,V,...: sent as given, up to 64 values ("" = empty) */
static void diet_list(struct diet_cfg *d, char *arg)
{
	char *tok, *save = NULL;

	d->list_len = 0;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (d->list_len == ESPX_DIET_DSCP_LIST_MAX) {
			fprintf(stderr, "espx_genl: DSCP list too long\n");
			exit(EINVAL);
		}
		d->list[d->list_len++] = diet_num(tok);
	}
}

/* getopt codes of the --diet options */
enum {
	OPT_DIET = 0x100,
	OPT_DIET_ALIGN,
	OPT_DIET_TRAILER,
	OPT_DIET_IIPC,
	OPT_DIET_DSCP,
	OPT_DIET_DSCP_LIST,
	OPT_DIET_ECN,
	OPT_DIET_FL,
	OPT_DIET_IIV,
	OPT_ECHO_INTERVAL,
	OPT_ECHO_SIZE,
	OPT_ECHO_REPLY_SPI,
	OPT_ECHO_IDENT,
	OPT_ECHO_TIMEOUT,
	OPT_ECHO_ONEWAY,
	OPT_ECHO_SESSIONS,
};

/* One --diet option into @d; false if @c is not one. */
static bool diet_opt(struct diet_cfg *d, int c, char *arg)
{
	int *num[] = {
		[OPT_DIET_ALIGN - OPT_DIET] = &d->align,
		[OPT_DIET_TRAILER - OPT_DIET] = &d->trailer,
		[OPT_DIET_IIPC - OPT_DIET] = &d->iipc,
		[OPT_DIET_DSCP - OPT_DIET] = &d->dscp,
		[OPT_DIET_ECN - OPT_DIET] = &d->ecn,
		[OPT_DIET_FL - OPT_DIET] = &d->fl,
	};

	switch (c) {
	case OPT_DIET:
		diet_lsb(d, arg);
		return true;
	case OPT_DIET_DSCP_LIST:
		diet_list(d, arg);
		return true;
	case OPT_DIET_IIV:
		d->iiv = true;
		return true;
	}
	if (c < OPT_DIET || c > OPT_DIET_IIV)
		return false;
	*num[c - OPT_DIET] = diet_num(arg);
	return true;
}

/* ------------------------------------------------------------------ */
/* echo: ESPX_CMD_ECHO, then the ESPX_CMD_ECHO_RESULTs until DONE */

struct echo_opts {
	long long count, interval, size, reply_spi, ident, timeout;
	bool oneway;
};

struct echo_state {
	char peer[INET6_ADDRSTRLEN];	/* the probed SA's destination */
	unsigned int sent, received, ident;
	double min, max, sum;
	bool done;
	int seq1;
};

static int echo_start_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {};
	const struct nlattr *p[ESPX_PROBE_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	struct echo_state *st = arg;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (!top[ESPX_A_PROBE])
		return MNL_CB_ERROR;
	t = (struct tb){ p, ESPX_PROBE_MAX };
	mnl_attr_parse_nested(top[ESPX_A_PROBE], tb_cb, &t);
	if (!p[ESPX_PROBE_IDENT] || !p[ESPX_PROBE_SEQ])
		return MNL_CB_ERROR;
	st->ident = mnl_attr_get_u16(p[ESPX_PROBE_IDENT]);
	st->seq1 = mnl_attr_get_u16(p[ESPX_PROBE_SEQ]);
	return MNL_CB_OK;
}

/* One result: a ping-like line. */
static void echo_result(const struct nlmsghdr *nlh, struct echo_state *st)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {};
	const struct nlattr *p[ESPX_PROBE_MAX + 1] = {};
	const struct nlattr *r[ESPX_ID_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	unsigned int seq, status, rspi = 0, req = 0;
	double ms;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (!top[ESPX_A_PROBE])
		return;
	t = (struct tb){ p, ESPX_PROBE_MAX };
	mnl_attr_parse_nested(top[ESPX_A_PROBE], tb_cb, &t);
	if (!p[ESPX_PROBE_IDENT] || !p[ESPX_PROBE_SEQ] || !p[ESPX_PROBE_STATUS])
		return;
	st->ident = mnl_attr_get_u16(p[ESPX_PROBE_IDENT]);
	seq = mnl_attr_get_u16(p[ESPX_PROBE_SEQ]);
	status = mnl_attr_get_u32(p[ESPX_PROBE_STATUS]);
	if (p[ESPX_PROBE_REPLY_SPI])
		req = ntohl(mnl_attr_get_u32(p[ESPX_PROBE_REPLY_SPI]));
	if (p[ESPX_PROBE_REPLY_SA]) {
		t = (struct tb){ r, ESPX_ID_MAX };
		mnl_attr_parse_nested(p[ESPX_PROBE_REPLY_SA], tb_cb, &t);
		if (r[ESPX_ID_SPI])
			rspi = ntohl(mnl_attr_get_u32(r[ESPX_ID_SPI]));
	}
	ms = p[ESPX_PROBE_RTT_NS] ? mnl_attr_get_u64(p[ESPX_PROBE_RTT_NS]) / 1e6 : 0;
	if (status != ESPX_PROBE_STATUS_SEND_ERROR)
		st->sent++;
	switch (status) {
	case ESPX_PROBE_STATUS_REPLY:
	case ESPX_PROBE_STATUS_REPLY_OTHER_SA:
		st->received++;
		if (st->received == 1 || ms < st->min)
			st->min = ms;
		if (ms > st->max)
			st->max = ms;
		st->sum += ms;
		if (status == ESPX_PROBE_STATUS_REPLY) {
			printf("reply from %s spi 0x%08x ident 0x%04x seq %u len %u time %.2f ms\n",
			       st->peer, rspi, st->ident, seq,
			       p[ESPX_PROBE_DATA_LEN] ?
			       mnl_attr_get_u16(p[ESPX_PROBE_DATA_LEN]) : 0, ms);
		} else {
			printf("seq %u reply on spi 0x%08x (requested 0x%08x) time %.2f ms\n",
			       seq, rspi, req, ms);
		}
		break;
	case ESPX_PROBE_STATUS_TIMEOUT:
		printf("seq %u timeout", seq);
		if (p[ESPX_PROBE_IN_DELTA])
			printf(" (inbound spi 0x%08x: +%llu packets since start)",
			       req, (unsigned long long)
			       mnl_attr_get_u64(p[ESPX_PROBE_IN_DELTA]));
		printf("\n");
		break;
	case ESPX_PROBE_STATUS_SEND_ERROR:
		printf("seq %u send error: %s\n", seq,
		       strerror(p[ESPX_PROBE_ERRNO] ?
				mnl_attr_get_u32(p[ESPX_PROBE_ERRNO]) : 0));
		break;
	case ESPX_PROBE_STATUS_DATA_MISMATCH:
		printf("seq %u data mismatch (len %u)\n", seq,
		       p[ESPX_PROBE_DATA_LEN] ?
		       mnl_attr_get_u16(p[ESPX_PROBE_DATA_LEN]) : 0);
		break;
	case ESPX_PROBE_STATUS_SENT:
		printf("seq %u sent (one-way)\n", seq);
		break;
	default:
		printf("seq %u status %u\n", seq, status);
	}
	if (p[ESPX_PROBE_DONE])
		st->done = true;
}

/* ESPX_A_PROBE with the options given */
static void put_probe(struct nlmsghdr *nlh, const struct echo_opts *eo)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_PROBE);

	if (eo->count >= 0)
		mnl_attr_put_u32(nlh, ESPX_PROBE_COUNT, eo->count);
	if (eo->interval >= 0)
		mnl_attr_put_u32(nlh, ESPX_PROBE_INTERVAL, eo->interval);
	if (eo->timeout >= 0)
		mnl_attr_put_u32(nlh, ESPX_PROBE_TIMEOUT, eo->timeout);
	if (eo->size >= 0)
		mnl_attr_put_u16(nlh, ESPX_PROBE_SIZE, eo->size);
	if (eo->ident >= 0)
		mnl_attr_put_u16(nlh, ESPX_PROBE_IDENT, eo->ident);
	if (eo->reply_spi >= 0)
		mnl_attr_put_u32(nlh, ESPX_PROBE_REPLY_SPI, htonl(eo->reply_spi));
	if (eo->oneway)
		mnl_attr_put(nlh, ESPX_PROBE_ONEWAY, 0, NULL);
	mnl_attr_nest_end(nlh, nest);
}

/* echo-many: @k ESPX_CMD_ECHO doits on one socket, their results left
 * unread; "started N" (N accepted), then the first refusal's errno. On
 * exit the port goes and the kernel ends each session at its next result.
 */
static int echo_many(struct nl *nl, const struct sa_id *id,
		     const struct echo_opts *eo, int k)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int i, err = 0;

	for (i = 0; i < k && !err; i++) {
		nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_ECHO, NLM_F_ACK);
		put_id(nlh, id);
		put_probe(nlh, eo);
		err = nl_talk(nl, nlh, NULL, NULL);
	}
	printf("started %d\n", err ? i - 1 : i);
	fflush(stdout);
	return err;
}

/* CTRL_CMD_GETFAMILY's reply: the id of espx's "echo" group */
static int echo_group_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a, *g, *x;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != CTRL_ATTR_MCAST_GROUPS)
			continue;
		mnl_attr_for_each_nested(g, a) {
			const char *name = NULL;
			int grp = -1;

			mnl_attr_for_each_nested(x, g) {
				if (mnl_attr_get_type(x) == CTRL_ATTR_MCAST_GRP_NAME)
					name = mnl_attr_get_str(x);
				else if (mnl_attr_get_type(x) == CTRL_ATTR_MCAST_GRP_ID)
					grp = mnl_attr_get_u32(x);
			}
			if (name && grp >= 0 && !strcmp(name, ESPX_MCGRP_ECHO))
				*(int *)arg = grp;
		}
	}
	return MNL_CB_OK;
}

/* echo-monitor: join the echo group, print "joined", then "mcast " and the
 * line of each ESPX_CMD_ECHO_RESULT, until @count results (then "N
 * results") or @timeout_ms without one (-ETIMEDOUT).
 */
static int echo_monitor(struct nl *nl, int count, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct echo_state st = { .peer = "-" };
	struct nlmsghdr *nlh;
	int grp = -1, got = 0, err;

	nlh = msg_start(nl, b, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, ESPX_GENL_NAME);
	err = nl_talk(nl, nlh, echo_group_cb, &grp);
	if (err)
		return err;
	if (grp < 0)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	if (setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0)
		return -errno;
	printf("joined\n");
	fflush(stdout);
	while (got < count) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, rxbuf, rxlen);
		const struct nlmsghdr *m = (const void *)rxbuf;
		int len = n;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			const struct genlmsghdr *g = mnl_nlmsg_get_payload(m);

			if (m->nlmsg_type != nl->family_id ||
			    g->cmd != ESPX_CMD_ECHO_RESULT)
				continue;
			printf("mcast ");
			echo_result(m, &st);
			got++;
		}
		fflush(stdout);
	}
	printf("%d results\n", got);
	return 0;
}

static int echo_cmd(struct nl *nl, const struct sa_id *id,
		    const struct echo_opts *eo)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct echo_state st = { 0 };
	struct nlmsghdr *nlh;
	bool acked = false;
	int err;

	inet_ntop(id->family, id->daddr, st.peer, sizeof(st.peer));
	nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_ECHO, NLM_F_ACK);
	put_id(nlh, id);
	put_probe(nlh, eo);
	err = nl_send(nl, nlh);
	if (err)
		return err;
	/* The results are unicast to this socket, the first ones possibly
	 * before the doit's reply and ACK (the timer runs at once): every
	 * ESPX_CMD_ECHO_RESULT here is this session's.
	 */
	while (!st.done || !acked) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, rxbuf, rxlen);
		const struct nlmsghdr *m = (const void *)rxbuf;
		int len = n;

		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			const struct genlmsghdr *g = mnl_nlmsg_get_payload(m);

			if (m->nlmsg_seq == nlh->nlmsg_seq &&
			    m->nlmsg_type == NLMSG_ERROR) {
				err = nl_status(nl, m);
				if (err)
					return err;
				acked = true;
			} else if (m->nlmsg_type != nl->family_id) {
				continue;
			} else if (g->cmd == ESPX_CMD_ECHO_RESULT) {
				echo_result(m, &st);
			} else if (g->cmd == ESPX_CMD_ECHO &&
				   m->nlmsg_seq == nlh->nlmsg_seq) {
				if (echo_start_cb(m, &st) != MNL_CB_OK)
					return -EBADMSG;
				printf("echo ident 0x%04x seq %d\n", st.ident,
				       st.seq1);
			}
		}
		fflush(stdout);
	}
	printf("%u sent, %u received, %u%% loss",
	       st.sent, st.received,
	       st.sent ? 100 * (st.sent - st.received) / st.sent : 0);
	if (st.received)
		printf(", rtt min/avg/max %.3f/%.3f/%.3f ms", st.min,
		       st.sum / st.received, st.max);
	printf("\n");
	return 0;
}

/* Run argv to completion; its exit status (128 + signal if killed). */
static int run_cmd(char **argv)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "espx_genl: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int fail(struct nl *nl, const char *what, int err)
{
	fprintf(stderr, "espx_genl: %s: %s%s%s\n", what, strerror(-err),
		nl->msg[0] ? ": " : "", nl->msg);
	return -err > 255 ? 255 : -err;
}

/* ------------------------------------------------------------------ */
/* rules: rule-add, rule-del, rule-get, rule-dump, rule-flush */

/* A prefix as given: the length is sent raw (-1: not sent). */
struct rule_prefix {
	int alen;		/* 0: not given */
	unsigned char a[16];
	int plen;
};

struct rule_cfg {
	const char *name;
	long long prio;		/* -1: not sent */
	bool fallback;
	int count;		/* rule-add: add NAME0..NAME<count-1> */
	bool unknown_rule, unknown_match;
	int family;		/* -1: not sent */
	struct rule_prefix daddr, saddr;
	int mode;
	long long reqid, mark, mark_mask, if_id, spi_min, spi_max;
	bool sel;
	int sel_family;
	struct rule_prefix sel_src, sel_dst;
	int sel_proto, sel_sport, sel_dport;
};

static void rule_cfg_default(struct rule_cfg *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->prio = -1;
	rc->family = -1;
	rc->mode = -1;
	rc->reqid = rc->mark = rc->mark_mask = rc->if_id = -1;
	rc->spi_min = rc->spi_max = -1;
	rc->sel_family = rc->sel_proto = rc->sel_sport = rc->sel_dport = -1;
	rc->daddr.plen = rc->saddr.plen = -1;
	rc->sel_src.plen = rc->sel_dst.plen = -1;
}

/* A[/P]: IPv6 if it has a ':' */
static void rule_prefix(struct rule_prefix *p, char *arg)
{
	char *slash = strchr(arg, '/');
	int fam = strchr(arg, ':') ? AF_INET6 : AF_INET;

	p->plen = -1;
	if (slash) {
		*slash++ = 0;
		p->plen = strtol(slash, NULL, 0);
	}
	p->alen = fam == AF_INET6 ? 16 : 4;
	if (inet_pton(fam, arg, p->a) != 1) {
		fprintf(stderr, "espx_genl: bad address %s\n", arg);
		exit(EINVAL);
	}
}

static int rule_family(const char *arg)
{
	int v = atoi(arg);

	return v == 4 ? AF_INET : v == 6 ? AF_INET6 : v;
}

static void put_u32_opt(struct nlmsghdr *nlh, __u16 type, long long v)
{
	if (v >= 0)
		mnl_attr_put_u32(nlh, type, v);
}

static void put_prefix(struct nlmsghdr *nlh, __u16 type, __u16 ptype,
		       const struct rule_prefix *p)
{
	if (p->alen)
		mnl_attr_put(nlh, type, p->alen, p->a);
	if (p->plen >= 0)
		mnl_attr_put_u8(nlh, ptype, p->plen);
}

static void put_rule(struct nlmsghdr *nlh, const struct rule_cfg *rc,
		     const char *name, bool full)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, ESPX_A_RULE), *m, *s;

	if (name)
		mnl_attr_put_strz(nlh, ESPX_RULE_NAME, name);
	if (rc->unknown_rule)
		mnl_attr_put_u32(nlh, ESPX_RULE_MAX + 1, 0);
	if (!full)
		goto out;
	put_u32_opt(nlh, ESPX_RULE_PRIO, rc->prio);
	if (rc->fallback)
		mnl_attr_put(nlh, ESPX_RULE_FALLBACK, 0, NULL);
	m = mnl_attr_nest_start(nlh, ESPX_RULE_MATCH);
	if (rc->family >= 0)
		mnl_attr_put_u16(nlh, ESPX_MATCH_FAMILY, rc->family);
	put_prefix(nlh, ESPX_MATCH_DADDR, ESPX_MATCH_DADDR_PLEN, &rc->daddr);
	put_prefix(nlh, ESPX_MATCH_SADDR, ESPX_MATCH_SADDR_PLEN, &rc->saddr);
	put_u8_opt(nlh, ESPX_MATCH_MODE, rc->mode);
	put_u32_opt(nlh, ESPX_MATCH_REQID, rc->reqid);
	put_u32_opt(nlh, ESPX_MATCH_MARK, rc->mark);
	put_u32_opt(nlh, ESPX_MATCH_MARK_MASK, rc->mark_mask);
	put_u32_opt(nlh, ESPX_MATCH_IF_ID, rc->if_id);
	put_u32_opt(nlh, ESPX_MATCH_SPI_MIN, rc->spi_min);
	put_u32_opt(nlh, ESPX_MATCH_SPI_MAX, rc->spi_max);
	if (rc->unknown_match)
		mnl_attr_put_u32(nlh, ESPX_MATCH_MAX + 1, 0);
	if (rc->sel) {
		s = mnl_attr_nest_start(nlh, ESPX_MATCH_SEL);
		if (rc->sel_family >= 0)
			mnl_attr_put_u16(nlh, ESPX_SEL_FAMILY, rc->sel_family);
		put_prefix(nlh, ESPX_SEL_SADDR, ESPX_SEL_SADDR_PLEN,
			   &rc->sel_src);
		put_prefix(nlh, ESPX_SEL_DADDR, ESPX_SEL_DADDR_PLEN,
			   &rc->sel_dst);
		put_u8_opt(nlh, ESPX_SEL_PROTO, rc->sel_proto);
		if (rc->sel_sport >= 0)
			mnl_attr_put_u16(nlh, ESPX_SEL_SPORT, rc->sel_sport);
		if (rc->sel_dport >= 0)
			mnl_attr_put_u16(nlh, ESPX_SEL_DPORT, rc->sel_dport);
		mnl_attr_nest_end(nlh, s);
	}
	mnl_attr_nest_end(nlh, m);
out:
	mnl_attr_nest_end(nlh, nest);
}

static void print_prefix(const char *key, int fam, const struct nlattr *a,
			 const struct nlattr *plen)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (!a)
		return;
	inet_ntop(fam, mnl_attr_get_payload(a), addr, sizeof(addr));
	printf(" %s %s/%u", key, addr, plen ? mnl_attr_get_u8(plen) : 999);
}

static void print_sel(const struct nlattr *nest)
{
	const struct nlattr *s[ESPX_SEL_MAX + 1] = {};
	struct tb t = { s, ESPX_SEL_MAX };
	int fam = 0;

	mnl_attr_parse_nested(nest, tb_cb, &t);
	printf(" sel");
	if (s[ESPX_SEL_FAMILY]) {
		fam = mnl_attr_get_u16(s[ESPX_SEL_FAMILY]);
		printf(" family %d", fam == AF_INET6 ? 6 : 4);
	}
	print_prefix("src", fam, s[ESPX_SEL_SADDR], s[ESPX_SEL_SADDR_PLEN]);
	print_prefix("dst", fam, s[ESPX_SEL_DADDR], s[ESPX_SEL_DADDR_PLEN]);
	if (s[ESPX_SEL_PROTO])
		printf(" proto %u", mnl_attr_get_u8(s[ESPX_SEL_PROTO]));
	if (s[ESPX_SEL_SPORT])
		printf(" sport %u", mnl_attr_get_u16(s[ESPX_SEL_SPORT]));
	if (s[ESPX_SEL_DPORT])
		printf(" dport %u", mnl_attr_get_u16(s[ESPX_SEL_DPORT]));
}

static void print_match(const struct nlattr *nest)
{
	const struct nlattr *m[ESPX_MATCH_MAX + 1] = {};
	struct tb t = { m, ESPX_MATCH_MAX };
	int fam = 0;

	mnl_attr_parse_nested(nest, tb_cb, &t);
	if (m[ESPX_MATCH_FAMILY]) {
		fam = mnl_attr_get_u16(m[ESPX_MATCH_FAMILY]);
		printf(" family %d", fam == AF_INET6 ? 6 : 4);
	}
	print_prefix("daddr", fam, m[ESPX_MATCH_DADDR],
		     m[ESPX_MATCH_DADDR_PLEN]);
	print_prefix("saddr", fam, m[ESPX_MATCH_SADDR],
		     m[ESPX_MATCH_SADDR_PLEN]);
	if (m[ESPX_MATCH_MODE])
		printf(" mode %u", mnl_attr_get_u8(m[ESPX_MATCH_MODE]));
	if (m[ESPX_MATCH_REQID])
		printf(" reqid %u", mnl_attr_get_u32(m[ESPX_MATCH_REQID]));
	if (m[ESPX_MATCH_MARK])
		printf(" mark 0x%x/0x%x", mnl_attr_get_u32(m[ESPX_MATCH_MARK]),
		       m[ESPX_MATCH_MARK_MASK] ?
		       mnl_attr_get_u32(m[ESPX_MATCH_MARK_MASK]) : 0);
	if (m[ESPX_MATCH_IF_ID])
		printf(" if_id %u", mnl_attr_get_u32(m[ESPX_MATCH_IF_ID]));
	if (m[ESPX_MATCH_SPI_MIN] && m[ESPX_MATCH_SPI_MAX])
		printf(" spi 0x%x-0x%x", mnl_attr_get_u32(m[ESPX_MATCH_SPI_MIN]),
		       mnl_attr_get_u32(m[ESPX_MATCH_SPI_MAX]));
	if (m[ESPX_MATCH_SEL])
		print_sel(m[ESPX_MATCH_SEL]);
}

/* "rule NAME prio P fallback 0|1 hits H fallbacks F [match...] [ext...]" */
static int rule_print_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {}, *r[ESPX_RULE_MAX + 1] = {};
	const struct nlattr *w[ESPX_WESP_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	int *n = arg;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (top[ESPX_A_RULE]) {
		t = (struct tb){ r, ESPX_RULE_MAX };
		mnl_attr_parse_nested(top[ESPX_A_RULE], tb_cb, &t);
	}
	printf("rule %s prio %u fallback %d hits %llu fallbacks %llu",
	       r[ESPX_RULE_NAME] ? mnl_attr_get_str(r[ESPX_RULE_NAME]) : "?",
	       r[ESPX_RULE_PRIO] ? mnl_attr_get_u32(r[ESPX_RULE_PRIO]) : 0,
	       !!r[ESPX_RULE_FALLBACK], u64_or0(r[ESPX_RULE_HITS]),
	       u64_or0(r[ESPX_RULE_FALLBACKS]));
	if (r[ESPX_RULE_MATCH])
		print_match(r[ESPX_RULE_MATCH]);
	if (top[ESPX_A_WESP]) {
		t = (struct tb){ w, ESPX_WESP_MAX };
		mnl_attr_parse_nested(top[ESPX_A_WESP], tb_cb, &t);
		printf(" wesp %u", w[ESPX_WESP_CRYPT_OFFSET] ?
		       mnl_attr_get_u8(w[ESPX_WESP_CRYPT_OFFSET]) : 0);
	}
	if (top[ESPX_A_COUNTERS])
		print_counters_fp(stdout, top[ESPX_A_COUNTERS]);
	if (top[ESPX_A_DIET])
		print_diet_fp(stdout, top[ESPX_A_DIET]);
	printf("\n");
	(*n)++;
	return MNL_CB_OK;
}

static int rule_name_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *top[ESPX_A_MAX + 1] = {}, *r[ESPX_RULE_MAX + 1] = {};
	struct tb t = { top, ESPX_A_MAX };
	char (*names)[ESPX_RULE_NAME_LEN] = arg;
	int i;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_cb, &t);
	if (!top[ESPX_A_RULE])
		return MNL_CB_OK;
	t = (struct tb){ r, ESPX_RULE_MAX };
	mnl_attr_parse_nested(top[ESPX_A_RULE], tb_cb, &t);
	for (i = 0; i < ESPX_RULES_MAX && names[i][0]; i++)
		;
	if (i < ESPX_RULES_MAX && r[ESPX_RULE_NAME])
		snprintf(names[i], ESPX_RULE_NAME_LEN, "%s",
			 mnl_attr_get_str(r[ESPX_RULE_NAME]));
	return MNL_CB_OK;
}

static int rule_dump(struct nl *nl, msg_fn fn, void *arg)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_start(nl, b, nl->family_id, ESPX_CMD_RULE_GET, NLM_F_DUMP);
	return nl_talk(nl, nlh, fn, arg);
}

static int rule_request(struct nl *nl, __u8 cmd, const struct rule_cfg *rc,
			const struct set_cfg *sc, const char *name,
			msg_fn fn, void *arg)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_start(nl, b, nl->family_id, cmd, NLM_F_ACK);
	put_rule(nlh, rc, name, cmd == ESPX_CMD_RULE_ADD);
	if (sc->wesp >= 0)
		put_wesp(nlh, sc->wesp);
	if (sc->cc.count >= 0)
		put_counters(nlh, &sc->cc);
	if (sc->diet.on)
		put_diet(nlh, &sc->diet);
	if (sc->echo)	/* the kernel refuses it: tests send it anyway */
		mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, ESPX_A_ECHO));
	return nl_talk(nl, nlh, fn, arg);
}

/* rule-flush: every rule of the netns; prints how many went */
static int rule_flush(struct nl *nl, const struct rule_cfg *rc,
		      const struct set_cfg *sc)
{
	char (*names)[ESPX_RULE_NAME_LEN];
	int i, err, n = 0;

	names = calloc(ESPX_RULES_MAX, ESPX_RULE_NAME_LEN);
	if (!names)
		return -ENOMEM;
	err = rule_dump(nl, rule_name_cb, names);
	for (i = 0; !err && i < ESPX_RULES_MAX && names[i][0]; i++, n++)
		err = rule_request(nl, ESPX_CMD_RULE_DEL, rc, sc, names[i],
				   NULL, NULL);
	free(names);
	if (!err)
		printf("flushed %d\n", n);
	return err;
}

static int rule_cmd(struct nl *nl, const char *cmd, const struct rule_cfg *rc,
		    const struct set_cfg *sc)
{
	char name[64];
	int i, err, n = 0;

	if (!strcmp(cmd, "rule-dump")) {
		err = rule_dump(nl, rule_print_cb, &n);
		return err ? fail(nl, cmd, err) : 0;
	}
	if (!strcmp(cmd, "rule-flush")) {
		err = rule_flush(nl, rc, sc);
		return err ? fail(nl, cmd, err) : 0;
	}
	if (!strcmp(cmd, "rule-add") && rc->count > 0) {
		for (i = 0, err = 0; i < rc->count && !err; i++) {
			snprintf(name, sizeof(name), "%s%d", rc->name ?: "r", i);
			err = rule_request(nl, ESPX_CMD_RULE_ADD, rc, sc, name,
					   NULL, NULL);
			n += !err;
		}
		printf("added %d\n", n);
		return err ? fail(nl, cmd, err) : 0;
	}
	if (!strcmp(cmd, "rule-add"))
		err = rule_request(nl, ESPX_CMD_RULE_ADD, rc, sc, rc->name,
				   NULL, NULL);
	else if (!strcmp(cmd, "rule-del"))
		err = rule_request(nl, ESPX_CMD_RULE_DEL, rc, sc, rc->name,
				   NULL, NULL);
	else if (!strcmp(cmd, "rule-get"))
		err = rule_request(nl, ESPX_CMD_RULE_GET, rc, sc, rc->name,
				   rule_print_cb, &n);
	else
		help();
	return err ? fail(nl, cmd, err) : 0;
}

/* getopt codes of the rule options */
enum {
	OPT_R_NAME = 0x200,
	OPT_R_PRIO,
	OPT_R_FALLBACK,
	OPT_R_COUNT,
	OPT_R_UNKNOWN,
	OPT_R_M_UNKNOWN,
	OPT_R_FAMILY,
	OPT_R_DADDR,
	OPT_R_SADDR,
	OPT_R_MODE,
	OPT_R_REQID,
	OPT_R_MARK,
	OPT_R_MARK_MASK,
	OPT_R_IF_ID,
	OPT_R_SPI_MIN,
	OPT_R_SPI_MAX,
	OPT_R_SEL_FAMILY,
	OPT_R_SEL_SRC,
	OPT_R_SEL_DST,
	OPT_R_SEL_PROTO,
	OPT_R_SEL_SPORT,
	OPT_R_SEL_DPORT,
};

#define RULE_OPTS \
	{ "name", required_argument, NULL, OPT_R_NAME }, \
	{ "prio", required_argument, NULL, OPT_R_PRIO }, \
	{ "fallback", no_argument, NULL, OPT_R_FALLBACK }, \
	{ "count", required_argument, NULL, OPT_R_COUNT }, \
	{ "rule-unknown", no_argument, NULL, OPT_R_UNKNOWN }, \
	{ "match-unknown", no_argument, NULL, OPT_R_M_UNKNOWN }, \
	{ "m-family", required_argument, NULL, OPT_R_FAMILY }, \
	{ "m-daddr", required_argument, NULL, OPT_R_DADDR }, \
	{ "m-saddr", required_argument, NULL, OPT_R_SADDR }, \
	{ "m-mode", required_argument, NULL, OPT_R_MODE }, \
	{ "m-reqid", required_argument, NULL, OPT_R_REQID }, \
	{ "m-mark", required_argument, NULL, OPT_R_MARK }, \
	{ "m-mark-mask", required_argument, NULL, OPT_R_MARK_MASK }, \
	{ "m-if-id", required_argument, NULL, OPT_R_IF_ID }, \
	{ "m-spi-min", required_argument, NULL, OPT_R_SPI_MIN }, \
	{ "m-spi-max", required_argument, NULL, OPT_R_SPI_MAX }, \
	{ "sel-family", required_argument, NULL, OPT_R_SEL_FAMILY }, \
	{ "sel-src", required_argument, NULL, OPT_R_SEL_SRC }, \
	{ "sel-dst", required_argument, NULL, OPT_R_SEL_DST }, \
	{ "sel-proto", required_argument, NULL, OPT_R_SEL_PROTO }, \
	{ "sel-sport", required_argument, NULL, OPT_R_SEL_SPORT }, \
	{ "sel-dport", required_argument, NULL, OPT_R_SEL_DPORT }

/* One rule option into @rc; false if @c is not one. */
static bool rule_opt(struct rule_cfg *rc, int c, char *arg)
{
	switch (c) {
	case OPT_R_NAME: rc->name = arg; break;
	case OPT_R_PRIO: rc->prio = strtoull(arg, NULL, 0); break;
	case OPT_R_FALLBACK: rc->fallback = true; break;
	case OPT_R_COUNT: rc->count = atoi(arg); break;
	case OPT_R_UNKNOWN: rc->unknown_rule = true; break;
	case OPT_R_M_UNKNOWN: rc->unknown_match = true; break;
	case OPT_R_FAMILY: rc->family = rule_family(arg); break;
	case OPT_R_DADDR: rule_prefix(&rc->daddr, arg); break;
	case OPT_R_SADDR: rule_prefix(&rc->saddr, arg); break;
	case OPT_R_MODE: rc->mode = atoi(arg); break;
	case OPT_R_REQID: rc->reqid = strtoull(arg, NULL, 0); break;
	case OPT_R_MARK: rc->mark = strtoull(arg, NULL, 0); break;
	case OPT_R_MARK_MASK: rc->mark_mask = strtoull(arg, NULL, 0); break;
	case OPT_R_IF_ID: rc->if_id = strtoull(arg, NULL, 0); break;
	case OPT_R_SPI_MIN: rc->spi_min = strtoull(arg, NULL, 0); break;
	case OPT_R_SPI_MAX: rc->spi_max = strtoull(arg, NULL, 0); break;
	case OPT_R_SEL_FAMILY: rc->sel = true; rc->sel_family = rule_family(arg); break;
	case OPT_R_SEL_SRC: rc->sel = true; rule_prefix(&rc->sel_src, arg); break;
	case OPT_R_SEL_DST: rc->sel = true; rule_prefix(&rc->sel_dst, arg); break;
	case OPT_R_SEL_PROTO: rc->sel = true; rc->sel_proto = atoi(arg); break;
	case OPT_R_SEL_SPORT: rc->sel = true; rc->sel_sport = atoi(arg); break;
	case OPT_R_SEL_DPORT: rc->sel = true; rc->sel_dport = atoi(arg); break;
	default:
		return false;
	}
	return true;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", required_argument, NULL, 'f' },
		{ "daddr", required_argument, NULL, 'd' },
		{ "spi", required_argument, NULL, 's' },
		{ "proto", required_argument, NULL, 'p' },
		{ "mark", required_argument, NULL, 'm' },
		{ "mask", required_argument, NULL, 'M' },
		{ "if-id", required_argument, NULL, 'i' },
		{ "wesp", required_argument, NULL, 'w' },
		{ "counters", required_argument, NULL, 'c' },
		{ "ctr-window", required_argument, NULL, 'W' },
		{ "ctr-start", required_argument, NULL, 'S' },
		{ "diet", required_argument, NULL, OPT_DIET },
		{ "diet-align", required_argument, NULL, OPT_DIET_ALIGN },
		{ "diet-trailer", required_argument, NULL, OPT_DIET_TRAILER },
		{ "diet-iipc", required_argument, NULL, OPT_DIET_IIPC },
		{ "diet-dscp", required_argument, NULL, OPT_DIET_DSCP },
		{ "diet-dscp-list", required_argument, NULL, OPT_DIET_DSCP_LIST },
		{ "diet-ecn", required_argument, NULL, OPT_DIET_ECN },
		{ "diet-fl", required_argument, NULL, OPT_DIET_FL },
		{ "diet-iiv", no_argument, NULL, OPT_DIET_IIV },
		{ "tied", no_argument, NULL, 't' },
		{ "poke", required_argument, NULL, 'P' },
		RULE_OPTS,
		{ "echo", no_argument, NULL, 'E' },
		{ "interval", required_argument, NULL, OPT_ECHO_INTERVAL },
		{ "size", required_argument, NULL, OPT_ECHO_SIZE },
		{ "reply-spi", required_argument, NULL, OPT_ECHO_REPLY_SPI },
		{ "ident", required_argument, NULL, OPT_ECHO_IDENT },
		{ "timeout", required_argument, NULL, OPT_ECHO_TIMEOUT },
		{ "one-way", no_argument, NULL, OPT_ECHO_ONEWAY },
		{ "sessions", required_argument, NULL, OPT_ECHO_SESSIONS },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd, *daddr = NULL, *num = NULL, *poke_addr = NULL;
	struct echo_opts eo = { -1, -1, -1, -1, -1, -1, false };
	int sessions = 0;
	struct rule_cfg rc;
	struct set_cfg sc;
	struct sa_id id;
	int c, err, n = 0;
	struct nl nl;
	__u8 gcmd;

	if (argc < 2)
		help();
	cmd = argv[1];
	set_cfg_default(&sc);
	rule_cfg_default(&rc);
	sc.detached = true;
	id_default(&id);
	id.spi = 0;
	optind = 2;
	/* dumpintr N: the number comes first */
	if (!strcmp(cmd, "dumpintr") && argc > 2 &&
	    argv[2][0] != '-') {
		num = argv[2];
		optind = 3;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			id.family = atoi(optarg) == 6 ? AF_INET6 : AF_INET;
			break;
		case 'd':
			daddr = optarg;
			break;
		case 's':
			id.spi = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			id.proto = atoi(optarg);
			break;
		case 'm':
			id.mark = strtoul(optarg, NULL, 0);
			break;
		case 'M':
			id.mask = strtoul(optarg, NULL, 0);
			break;
		case 'i':
			id.if_id = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			sc.wesp = atoi(optarg);
			break;
		case 'c':
			sc.cc.count = strtoul(optarg, NULL, 0);
			break;
		case 'W':
			sc.cc.window = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			sc.cc.start = strtoull(optarg, NULL, 0);
			break;
		case 't':
			sc.detached = false;
			break;
		case 'P':
			poke_addr = optarg;
			break;
		case 'E':
			sc.echo = true;
			break;
		case OPT_R_COUNT:	/* --count: rule-add's and echo's */
			rc.count = atoi(optarg);
			eo.count = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_INTERVAL:
			eo.interval = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_SIZE:
			eo.size = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_REPLY_SPI:
			eo.reply_spi = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_IDENT:
			eo.ident = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_TIMEOUT:
			eo.timeout = strtoll(optarg, NULL, 0);
			break;
		case OPT_ECHO_SESSIONS:
			sessions = atoi(optarg);
			break;
		case OPT_ECHO_ONEWAY:
			eo.oneway = true;
			break;
		default:
			if (!diet_opt(&sc.diet, c, optarg) &&
			    !rule_opt(&rc, c, optarg))
				help();
		}
	}

	if (!strcmp(cmd, "dumpintr"))
		rxlen = 4096;
	err = nl_open(&nl);
	if (!strcmp(cmd, "resolve")) {
		if (err)
			return fail(&nl, "resolve", err);
		printf("%u\n", nl.family_id);
		return 0;
	}
	if (!strcmp(cmd, "badinput")) {
		if (err) {
			ksft_print_header();
			ksft_exit_fail_msg("espx family: %s\n", strerror(-err));
		}
		return badinput(&nl);
	}
	if (err)
		return fail(&nl, "resolve espx family", err);

	if (!strcmp(cmd, "dump") || !strcmp(cmd, "count")) {
		n = dump(&nl, cmd[0] == 'd' ? print_cb : count_cb);
		if (n < 0)
			return fail(&nl, cmd, n);
		if (cmd[0] == 'c')
			printf("%d\n", n);
		return 0;
	}

	if (!strncmp(cmd, "rule-", 5))
		return rule_cmd(&nl, cmd, &rc, &sc);
	if (!strcmp(cmd, "echo-monitor")) {
		err = echo_monitor(&nl, eo.count > 0 ? eo.count : 1,
				   eo.timeout > 0 ? eo.timeout : 10000);
		return err ? fail(&nl, cmd, err) : 0;
	}

	if (!strcmp(cmd, "info") || !strcmp(cmd, "status")) {
		err = info(&nl);
		return err ? fail(&nl, cmd, err) : 0;
	}
	if (!strcmp(cmd, "dumpintr") && !daddr) {
		if (!num)
			help();
		err = dump_intr(&nl, atoi(num), NULL, poke_addr);
		return err ? fail(&nl, cmd, err) : 0;
	}

	if (!strcmp(cmd, "ctr") || !strcmp(cmd, "dumpintr"))
		gcmd = ESPX_CMD_CTR_GET;
	else if (!strcmp(cmd, "set"))
		gcmd = ESPX_CMD_SA_SET;
	else if (!strcmp(cmd, "get"))
		gcmd = ESPX_CMD_SA_GET;
	else if (!strcmp(cmd, "del"))
		gcmd = ESPX_CMD_SA_DEL;
	else if (!strcmp(cmd, "echo") || !strcmp(cmd, "echo-many"))
		gcmd = ESPX_CMD_ECHO;
	else
		help();
	if (!daddr)
		help();
	id.alen = id.family == AF_INET6 ? 16 : 4;
	if (inet_pton(id.family, daddr, id.daddr) != 1) {
		fprintf(stderr, "espx_genl: bad address %s\n", daddr);
		exit(EINVAL);
	}
	if (!strcmp(cmd, "dumpintr")) {
		if (!num)
			help();
		err = dump_intr(&nl, atoi(num), &id, poke_addr);
		return err ? fail(&nl, cmd, err) : 0;
	}
	if (gcmd == ESPX_CMD_CTR_GET) {
		n = ctr_dump(&nl, &id);
		return n < 0 ? fail(&nl, cmd, n) : 0;
	}
	if (gcmd == ESPX_CMD_ECHO) {
		err = cmd[4] ? echo_many(&nl, &id, &eo, sessions) :
			       echo_cmd(&nl, &id, &eo);
		return err ? fail(&nl, cmd, err) : 0;
	}
	err = request_cfg(&nl, gcmd, &id, &sc, gcmd == ESPX_CMD_SA_GET ?
			  print_cb : NULL, &n);
	if (err)
		return fail(&nl, cmd, err);
	if (optind < argc)	/* set ... -- CMD: run it with the socket open */
		return run_cmd(argv + optind);
	return 0;
}

/* batch: one command a line on stdin (words as on the command line, without
 * "espx_genl"), each run in a forked child: under emulation a fork costs a
 * fraction of an exec of this program (and of "ip netns exec" around it).
 * Output and errors as for the single commands, in order; the exit status is
 * the number of commands that failed (at most 255).
 */
static int batch(void)
{
	char *line = NULL, *av[64], *tok, *save;
	size_t cap = 0;
	int failed = 0, status;
	pid_t pid;

	while (getline(&line, &cap, stdin) > 0) {
		int ac = 1;

		av[0] = "espx_genl";
		for (tok = strtok_r(line, " \t\n", &save); tok && ac < 63;
		     tok = strtok_r(NULL, " \t\n", &save))
			av[ac++] = tok;
		av[ac] = NULL;
		if (ac == 1)
			continue;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("espx_genl: fork");
			return 255;
		}
		if (!pid) {
			int rc = run(ac, av);

			fflush(stdout);
			_exit(rc);
		}
		if (waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	free(line);
	return failed > 255 ? 255 : failed;
}

/* -n NAME: run in the network namespace NAME (as "ip netns exec NAME", one
 * exec less, which costs a third of a second under emulation)
 */
static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "espx_genl: netns %s: %s\n", name, strerror(errno));
		exit(125);	/* not an errno: tests check those */
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "-n")) {
		enter_netns(argv[2]);
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc == 2 && !strcmp(argv[1], "batch"))
		return batch();
	return run(argc, argv);
}
