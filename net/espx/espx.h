/* SPDX-License-Identifier: GPL-2.0 */
/*
 * espx internal interfaces between the rooms of the module:
 *   main.c     init/exit order, module parameters
 *   sa.c       per-netns configs keyed by SA id, per-SA state keyed by x
 *   netlink.c  the "espx" genetlink family (config in, config/stats out)
 *   esp.c      the xfrm_type for ESP: init_state/destructor/input/output
 *   crypto.c   AEAD allocation, requests, async completion
 *   proto.c    xfrm4/xfrm6 protocol handlers for ESP, ICMP errors
 *   wesp.c     WESPv2 header, protocol-141 handlers
 *   counters.c several sequence counters per SA, per-counter replay windows
 *   diet.c     Diet-ESP: EEC/CTEC/IIPC steps, the diet_proto handlers
 *   seq.c      the per-key SN source of nonce SAs (seq.h)
 *   km.c       xfrm key-manager hook: replay-window rules after NEWSA/NEWAE
 * The data path never calls into netlink.c; config reaches it as immutable
 * per-SA state (struct espx_cfg) bound at init_state.
 */
#ifndef _NET_ESPX_ESPX_H
#define _NET_ESPX_ESPX_H

#include <linux/types.h>
#include <linux/percpu.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/u64_stats_sync.h>
#include <linux/rhashtable-types.h>
#include <linux/version.h>
#include <crypto/aead.h>
#include <net/xfrm.h>
#include <uapi/linux/espx.h>
#include "codec/wesp_codec.h"
#include "codec/diet_codec.h"
#include "seq.h"

struct netlink_ext_ack;

/* The tuple xfrm_state_lookup() uses: names at most one SA per netns. */
struct espx_sa_id {
	xfrm_address_t daddr;
	__be32 spi;
	u32 mark;
	u32 mark_mask;
	u32 if_id;
	u16 family;
	u8 proto;
};

/* Diet-ESP parameters as configured (ESPX_A_DIET); diet.c derives the
 * codec's rule from them and the SA at init_state.
 */
struct espx_diet_conf {
	u8 spi_lsb;
	u8 sn_lsb;
	u8 align;		/* enum espx_diet_align_val */
	u8 trailer;		/* enum espx_diet_trailer_val */
	u8 iipc;		/* 0 keep, 1 compress */
	u8 dscp;		/* enum espx_diet_cda_val */
	u8 ecn;
	u8 flowlabel;
	bool iiv;
	u8 dscp_count;
	u8 dscp_list[ESPX_DIET_DSCP_LIST_MAX];
};

/* Extension config; immutable once bound to an SA. */
struct espx_cfg {
	bool diet;
	struct espx_diet_conf dcfg;	/* valid when diet */
	bool wesp;
	u8 crypt_offset;	/* WESPv2 CryptOffset, 4-octet words */
	u16 counters;		/* sequence counters, 0 = one (the core's) */
	u32 ctr_window;		/* per-counter anti-replay window */
	u64 ctr_start;		/* test knob: sequences start after this */
};

#define ESPX_SALT_LEN	4	/* RFC 4106 §8.1, RFC 7634 §4 */
#define ESPX_NONCE_IVLEN 8	/* the explicit IV on the wire */

/* Derived at init_state from the config and the SA, then read-only. */
struct espx_ext {
	bool nonce;			/* espx builds nonce and AAD (D3) */
	u8 salt[ESPX_SALT_LEN];		/* the key blob's last 4 octets */
	u8 wesp_len;			/* WESPv2 header + options, 0 = off */
	u8 wesp_optlen;
	bool iiv;			/* nonce SA without an IV on the wire */
	u64 seq_max;			/* highest SN: 2^32 - 1 without ESN */
};

/* u64_stats_t: on 64-bit an update is one local64 add, so a softirq that
 * interrupts a process-context update on the same CPU cannot lose counts.
 */
struct espx_stats {
	u64_stats_t v[__ESPX_STAT_MAX];
	struct u64_stats_sync syncp;
};

/* Per-SA state espx keeps beside the xfrm_state. x->data stays the SA's
 * struct crypto_aead (the core's xfrm_state_mtu() reads it), so this lives in
 * a hash keyed by the xfrm_state pointer; see espx_sa_of().
 */
/* Per-packet constants of the SA's data path, fixed at init_state
 * (espx_crypto_layout()): the sizes the transform would otherwise be asked
 * for on every packet, and the offsets into a packet's request memory when
 * the transform's alignments allow (size 0: computed per packet).
 */
struct espx_req_layout {
	u16 aadmax;		/* AAD buffer; 0: the AAD is in the packet */
	u16 iv;
	u16 req;
	u16 size;		/* without the scatterlist entries */
	u8 ivlen;		/* IV octets on the wire, espx_ivlen() */
	u8 blksize;		/* ALIGN(cipher block size, 4) */
};

enum espx_sa_flag {
	ESPX_SA_EXPIRED_SOFT,		/* espx raised a soft expire */
	ESPX_SA_EXPIRED_HARD,		/* espx raised a hard expire */
};

struct espx_sa {
	struct rhash_head node;		/* keyed by ->x */
	struct hlist_node id_node;	/* in the netns table, by id */
	struct xfrm_state *x;
	struct espx_sa_id id;
	struct espx_cfg cfg;
	struct espx_ext ext;		/* valid once bound */
	bool has_cfg;			/* created from a pending config */
	struct espx_ctrs *ctrs;		/* sequence counters, or NULL */
	struct espx_keyseq *keyseq;	/* SN source of a nonce SA without
					 * counters (seq.h), or NULL
					 */
	unsigned long flags;		/* enum espx_sa_flag */
	unsigned long expires;		/* pending config: freed at (jiffies) */
	u32 owner;			/* pending config: its creator's portid,
					 * 0 if detached
					 */
	struct espx_diet *diet;		/* Diet-ESP state, or NULL (diet.c) */
	struct espx_stats __percpu *stats;
	struct espx_req_layout req;	/* crypto.c */
	struct rcu_head rcu;
};

/* The IV on the wire: the transform's for plain ESP, 8 octets when espx
 * builds the nonce (the transform then takes salt | IV, 12 octets). The data
 * path reads the copy in sa->req.ivlen.
 */
static inline unsigned int espx_ivlen(const struct espx_sa *sa,
				      struct crypto_aead *aead)
{
	if (sa->ext.nonce)
		return sa->ext.iiv ? 0 : ESPX_NONCE_IVLEN;
	return crypto_aead_ivsize(aead);
}

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

/* counters.c: several sequence counters in one SA (multi-counters.md) */
struct espx_ctrs;

/* one counter as netlink reports it (enum espx_ctr_attr) */
struct espx_ctr_info {
	u16 id;
	bool in_valid;		/* receive window allocated */
	u64 out_seq;
	u64 out_packets;
	u64 out_bytes;
	u64 in_top;
	u64 in_packets;
	u64 in_bytes;
	u64 in_replay;
};

bool espx_ctr_test_knobs(void);
struct espx_ctrs *espx_ctrs_alloc(const struct espx_cfg *cfg);
struct espx_ctrs *espx_ctrs_get(struct espx_ctrs *c);
void espx_ctrs_put(struct espx_ctrs *c);
int espx_ctr_init_state(struct xfrm_state *x, struct espx_sa *sa,
			struct netlink_ext_ack *extack);
int espx_ctr_next(struct xfrm_state *x, struct espx_sa *sa, u16 *id,
		  u64 *seq, u32 len);
int espx_ctr_input_check(struct espx_sa *sa, u16 id, __be32 snlo,
			 const u8 *iv, u64 *seq);
int espx_ctr_input_accept(struct espx_sa *sa, u16 id, u64 seq, u32 len);
u16 espx_ctr_count(const struct espx_sa *sa);
u32 espx_ctr_windows(const struct espx_sa *sa);
void espx_ctr_read(const struct espx_sa *sa, u16 id, struct espx_ctr_info *out);

/* sa.c */
int espx_sa_init(void);
void espx_sa_exit(void);
struct espx_sa *espx_sa_bind(struct xfrm_state *x,
			     struct netlink_ext_ack *extack);
void espx_sa_unbind(struct xfrm_state *x);
struct espx_sa *espx_sa_of(const struct xfrm_state *x);	/* RCU or x held */

static inline void espx_stat_add(struct espx_sa *sa, enum espx_stat id,
				 u64 n)
{
	struct espx_stats *s = get_cpu_ptr(sa->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_add(&s->v[id], n);
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(sa->stats);
}

/* A packet and its octets in one update (the data path's common case). */
static inline void espx_stat_pkt(struct espx_sa *sa, enum espx_stat pkts,
				 enum espx_stat bytes, u64 len)
{
	struct espx_stats *s = get_cpu_ptr(sa->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->v[pkts]);
	u64_stats_add(&s->v[bytes], len);
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(sa->stats);
}

static inline void espx_stat_inc(struct espx_sa *sa, enum espx_stat id)
{
	espx_stat_add(sa, id, 1);
}

void espx_sa_stats_read(const struct espx_sa *sa, u64 out[__ESPX_STAT_MAX]);
/* per-netns counters of drops without an SA (enum espx_ns_stat) */
void espx_ns_stat_inc(const struct net *net, enum espx_ns_stat id);
void espx_ns_stats_read(const struct net *net, u64 out[__ESPX_NS_STAT_MAX]);

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

/* sa.c, for netlink.c: the per-netns table of pending configs and SAs.
 * espx_sa_get() and espx_sa_walk() call @fn under the table's lock: the entry
 * is valid only inside @fn. Dead SAs (deleted, not yet destroyed) are skipped.
 * espx_sa_walk() resumes at @pos (zeroed for the first call) and stops at the
 * first non-zero return of @fn, which it returns.
 */
void espx_sa_id_from_state(struct espx_sa_id *id, const struct xfrm_state *x);
int espx_cfg_add(struct net *net, const struct espx_sa_id *id,
		 const struct espx_cfg *cfg, u32 owner,
		 struct netlink_ext_ack *extack);
void espx_cfg_release(struct net *net, u32 owner);
int espx_cfg_del(struct net *net, const struct espx_sa_id *id,
		 struct netlink_ext_ack *extack);
int espx_sa_get(struct net *net, const struct espx_sa_id *id,
		int (*fn)(const struct espx_sa *sa, void *arg), void *arg);
unsigned int espx_sa_gen(const struct net *net);
int espx_sa_walk(struct net *net, unsigned long pos[2],
		 int (*fn)(const struct espx_sa *sa, void *arg), void *arg);

static inline enum espx_sa_status espx_sa_status(const struct espx_sa *sa)
{
	return sa->x ? ESPX_STATUS_BOUND : ESPX_STATUS_PENDING;
}

/* netlink.c */
int espx_genl_init(void);
void espx_genl_exit(void);

/* esp.c: the xfrm_type ops (plain RFC 4303 and the extension steps) */
extern const struct xfrm_type espx_type_ipv4;
extern const struct xfrm_type espx_type_ipv6;

/* crypto.c: the SA's AEAD (x->data), per-packet request memory, async
 * completion. One kmalloc per packet holds a struct espx_crypto_hdr, the IV,
 * the aead_request and the scatterlist; while crypto runs it is reachable as
 * ESPX_SKB_CB(skb)->tmp. The AAD (SPI | [SNhi |] SNlo) lives in the header,
 * so the ESP header on the wire never has to be shuffled for ESN.
 */
typedef void (*espx_crypto_done_t)(struct sk_buff *skb, int err);

struct espx_skb_cb {
	struct xfrm_skb_cb xfrm;	/* the core's; must stay first */
	void *tmp;			/* in-flight request memory */
};

#define ESPX_SKB_CB(skb) ((struct espx_skb_cb *)&((skb)->cb[0]))
#define ESPX_AAD_ESP_MAX 12	/* SPI | SNhi | SNlo */

/* The AAD buffer follows the header: 12 octets for ESP, up to
 * ESPX_WESP_AAD_MAX for WESPv2 (header, options, SPI, SN, clear octets).
 */
/* What espx_input() learnt of a packet's WESPv2 header (len 0: plain ESP). */
struct espx_wesp_in {
	const u8 *data;		/* only valid before crypto starts */
	u8 len;
	u8 crypt_offset;	/* 4-octet words in clear after the IV */
	u8 nexthdr;
	u16 ctr_id;		/* counter SAs: the Sub-SA ID */
	u64 ctr_seq;		/* counter SAs: the inferred sequence */
};

struct espx_crypto_hdr {
	espx_crypto_done_t done;	/* async completion, set by run() */
	struct espx_sa *sa;		/* caller's: for the completion */
	u32 len;			/* caller's: payload octets, for stats */
	struct espx_wesp_in wesp;	/* input: for the completion */
	__be32 aad[];
};

struct espx_crypto_req {
	struct espx_crypto_hdr *hdr;	/* == the allocation */
	u8 *iv;
	struct aead_request *req;
	struct scatterlist *sg;
};

int espx_crypto_init(struct xfrm_state *x, struct espx_sa *sa,
		     struct netlink_ext_ack *extack);
void espx_crypto_destroy(struct xfrm_state *x);
void espx_crypto_layout(struct espx_sa *sa, struct crypto_aead *aead,
			unsigned int aadmax);
int espx_crypto_req_alloc_slow(const struct espx_sa *sa,
			       struct crypto_aead *aead, unsigned int nsg,
			       struct espx_crypto_req *r);
/* The crypto API changed the completion argument in 6.3. */
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
void espx_crypto_complete(void *data, int err);
#else
void espx_crypto_complete(struct crypto_async_request *base, int err);
#endif

/* The rest is inline: once or twice per packet each, on every packet. */

/* The SA's AAD is SPI | SNlo in the packet (espx_crypto_layout()). */
static inline bool espx_crypto_aad_inplace(const struct espx_sa *sa)
{
	return !sa->req.aadmax;
}

/**
 * espx_crypto_req_alloc - one packet's request memory (GFP_ATOMIC)
 * @sa: the SA (its layout: the AAD buffer, fixed offsets if any)
 * @aead: the SA's transform
 * @nsg: scatterlist entries needed (AAD entry included)
 * @r: pointers into the allocation
 *
 * Only the offsets are computed; the header fields are the caller's.
 * Return: 0 or -ENOMEM. The caller owns r->hdr until espx_crypto_run().
 */
static inline int espx_crypto_req_alloc(const struct espx_sa *sa,
					struct crypto_aead *aead,
					unsigned int nsg,
					struct espx_crypto_req *r)
{
	const struct espx_req_layout *l = &sa->req;
	u8 *p;

	if (unlikely(!l->size))
		return espx_crypto_req_alloc_slow(sa, aead, nsg, r);
	p = kmalloc(l->size + nsg * sizeof(struct scatterlist), GFP_ATOMIC);
	if (unlikely(!p))
		return -ENOMEM;
	r->hdr = (struct espx_crypto_hdr *)p;
	r->iv = p + l->iv;
	r->req = (struct aead_request *)(p + l->req);
	r->sg = (struct scatterlist *)(p + l->size);
	aead_request_set_tfm(r->req, aead);
	return 0;
}

static inline struct espx_crypto_hdr *espx_crypto_req_of(struct sk_buff *skb)
{
	return ESPX_SKB_CB(skb)->tmp;
}

/* After an asynchronous completion (the synchronous path frees r->hdr). */
static inline void espx_crypto_req_free(struct sk_buff *skb)
{
	kfree(ESPX_SKB_CB(skb)->tmp);
	ESPX_SKB_CB(skb)->tmp = NULL;
}

/**
 * espx_crypto_run - start encryption or decryption of one packet
 * @r: request memory from espx_crypto_req_alloc(), crypt/ad already set
 * @skb: the packet; r->hdr is kept in ESPX_SKB_CB(skb)->tmp
 * @encrypt: direction
 * @done: called (softirq context) if the transform completes later
 *
 * Return: -EINPROGRESS when @done will be called (the caller must not touch
 * @skb any more), otherwise the result; the caller then frees r->hdr.
 */
static inline int espx_crypto_run(struct espx_crypto_req *r,
				  struct sk_buff *skb, bool encrypt,
				  espx_crypto_done_t done)
{
	BUILD_BUG_ON(sizeof(struct espx_skb_cb) > sizeof_field(struct sk_buff, cb));

	r->hdr->done = done;
	ESPX_SKB_CB(skb)->tmp = r->hdr;
	aead_request_set_callback(r->req, 0, espx_crypto_complete, skb);

	/* No CRYPTO_TFM_REQ_MAY_BACKLOG (like esp4/esp6): a full queue is a
	 * drop (-ENOSPC/-EBUSY), never a deferred completion.
	 */
	return encrypt ? crypto_aead_encrypt(r->req) :
			 crypto_aead_decrypt(r->req);
}

/* wesp.c: the WESPv2 steps of init_state, output and input, and the
 * protocol-141 handlers
 */
int espx_wesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);
unsigned int espx_wesp_output_hdr(const struct espx_sa *sa, u8 *wh,
				  unsigned int payload_len, u8 nexthdr,
				  u16 ctr_id);
int espx_wesp_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb, struct espx_wesp_in *w);
int espx_wesp_proto_init(void);
void espx_wesp_proto_exit(void);

/* diet.c: the Diet-ESP steps of init_state, output and input, and the
 * diet_proto handlers
 */
struct espx_diet;

int espx_diet_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack);
void espx_diet_destroy(struct xfrm_state *x);
int espx_diet_output_iipc(struct espx_sa *sa, struct sk_buff *skb,
			  u8 nexthdr);
int espx_diet_output_pad(struct espx_sa *sa, u32 len, u8 nexthdr,
			 struct espx_esp_pad *pad, struct espx_diet_ctec *t);
void espx_diet_output_eec(struct espx_sa *sa, struct sk_buff *skb);
u8 espx_diet_out_proto(const struct espx_sa *sa);
int espx_diet_input_proto(struct espx_sa *sa, const struct sk_buff *skb);
int espx_diet_input_finish(struct xfrm_state *x, struct espx_sa *sa,
			   struct sk_buff *skb, unsigned int hlen,
			   unsigned int alen, unsigned int *hlen_out);
int espx_diet_proto_init(void);
void espx_diet_proto_exit(void);

/* crypto.c, for diet.c: a synchronous transform keyed like the SA's, for
 * trial decryptions in softirq context (NULL on failure, reported)
 */
struct crypto_aead *espx_crypto_alloc_sync(struct xfrm_state *x,
					   struct netlink_ext_ack *extack);

/* proto.c: registration of the two xfrm types and the xfrm4/xfrm6 protocol
 * handlers for IPPROTO_ESP (input, ICMP errors); detection of esp4/esp6.
 */
int espx_proto_check_clash(void);
int espx_proto_init(void);
void espx_proto_exit(void);
/* True while the core's ESP type for family (AF_INET/AF_INET6) is not espx's:
 * another module (esp4/esp6 loaded with espx.guard_esp=0, or a third party)
 * took it over, so new SAs of that family would not use espx. Lockless,
 * callable from any context.
 */
bool espx_type_lost(unsigned short family);
/* ICMP errors quoting a packet of ours (ESP, WESPv2, Diet-ESP) */
unsigned int espx_icmp4_quoted(struct sk_buff *skb);
void espx_icmp4_apply(struct sk_buff *skb, u32 info, u8 proto);
bool espx_icmp6_wanted(u8 type, int offset, struct sk_buff *skb);
void espx_icmp6_apply(struct sk_buff *skb, u8 type, __be32 info);

#endif /* _NET_ESPX_ESPX_H */
