/* SPDX-License-Identifier: GPL-2.0 */
/*
 * echo.c: ESP Echo (esp-echo.md) in the espx data path. The responder
 * consumes authenticated echo messages after the ICV check (§5) and answers
 * requests on the requested SA or its pair; the initiator sends probes from
 * a timer and matches replies (§6). The wire format is in codec/echo_codec.
 */
#ifndef _NET_ESPX_ECHO_H
#define _NET_ESPX_ECHO_H

#include <linux/skbuff.h>
#include <net/xfrm.h>
#include "sa.h"
#include "codec/echo_codec.h"

struct espx_pkt;

/**
 * struct espx_echo_sa - per-SA echo state, allocated with the SA (sa.c)
 * @top: highest echo SN consumed (64 bits), valid once @seen
 * @bitmap: bit i set = SN @top - i consumed
 * @seen: an echo was consumed
 * @tokens: token bucket of replies, in ns of one reply's cost (1 s / reply
 *	at echo_rate), full when it holds echo_burst replies
 * @stamp: ktime of the last refill, 0 = never (full)
 *
 * All under x->lock, as the core's replay state.
 */
struct espx_echo_sa {
	u64 top;
	u64 bitmap;
	bool seen;
	u64 tokens;
	u64 stamp;
};

/* ESPX_CMD_ECHO as netlink.c parsed it. */
struct espx_echo_req {
	struct espx_sa_id id;		/* the outbound SA to probe */
	u32 count;
	u32 interval;			/* ms */
	u32 timeout;			/* ms */
	u16 size;
	u16 ident;			/* 0: choose one */
	__be32 reply_spi;		/* 0: the paired inbound SA's */
	bool oneway;
};

/* One ESPX_CMD_ECHO_RESULT, for netlink.c to send. */
struct espx_echo_result {
	struct espx_sa_id id;		/* the probed SA */
	struct espx_sa_id reply_sa;	/* valid when @has_reply_sa */
	u64 rtt_ns;
	u64 in_delta;			/* valid when @done && @has_delta */
	__be32 reply_spi;
	u32 status;			/* enum espx_probe_status */
	u32 err;			/* positive errno of SEND_ERROR */
	u16 ident;
	u16 seq;
	u16 data_len;
	bool has_reply_sa;
	bool done;
	bool has_delta;
};

int espx_echo_init(void);
void espx_echo_close(void);
void espx_echo_exit(void);
struct espx_echo_sa *espx_echo_sa_alloc(void);
void espx_echo_sa_free(struct espx_echo_sa *e);

/* SAs of which kinds carry echo messages (one predicate), and the message
 * of a refusal (only Diet-ESP SAs are refused)
 */
bool espx_echo_kind_ok(enum espx_kind kind);
#define ESPX_ECHO_KIND_REFUSED	"ESP Echo is not supported on a Diet-ESP SA"
int espx_echo_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb, unsigned int hlen,
		    const struct espx_pkt *pkt);
void espx_echo_output_done(struct sk_buff *skb, struct espx_sa *sa, int err);

/* xfrm4/6_protocol handlers: count SPI 7/8 (§4), then the core's. */
int espx_echo_rcv4(struct sk_buff *skb);
int espx_echo_rcv6(struct sk_buff *skb);
int espx_echo_input_handler(struct sk_buff *skb, int nexthdr, __be32 spi,
			    int encap_type);

int espx_echo_start(struct net *net, u32 portid,
		    const struct espx_echo_req *req, u16 *ident,
		    struct netlink_ext_ack *extack);

#endif /* _NET_ESPX_ECHO_H */
