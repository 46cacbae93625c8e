/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sa.c: the per-SA state espx keeps beside an xfrm_state, the config it was
 * built from, its statistics, and the per-netns table of configs that
 * netlink.c reads and writes.
 */
#ifndef _NET_ESPX_SA_H
#define _NET_ESPX_SA_H

#include <linux/percpu.h>
#include <linux/rhashtable-types.h>
#include <linux/u64_stats_sync.h>
#include <net/xfrm.h>
#include "espx.h"
#include "codec/esp_codec.h"

struct espx_ctrs;
struct espx_diet;
struct espx_eesp;
struct espx_keyseq;
struct espx_echo_sa;

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

/* EESP parameters as configured (ESPX_A_EESP, eesp.md §8) */
struct espx_eesp_conf {
	u16 subsas;		/* 0: no Sub SAs (one, keyed directly) */
	u8 sskdf;		/* enum espx_eesp_sskdf_val */
	u16 key_bits;		/* Sub SA key length, 0: the default */
	u8 crypt_offset;	/* words, 0: none */
	bool iiv;
	u32 window;
};

/* Extension config; immutable once bound to an SA. */
struct espx_cfg {
	bool eesp;
	struct espx_eesp_conf ecfg;	/* valid when eesp */
	bool diet;
	struct espx_diet_conf dcfg;	/* valid when diet */
	bool wesp;
	u8 crypt_offset;	/* WESPv2 CryptOffset, 4-octet words */
	u16 counters;		/* sequence counters, 0 = one (the core's) */
	u32 ctr_window;		/* per-counter anti-replay window */
	u64 ctr_start;		/* test knob: sequences start after this */
	bool echo;		/* answers ESP Echo requests (echo.c) */
};

#define ESPX_SALT_LEN	ESPX_ESP_SALT_LEN	/* RFC 4106 §8.1, RFC 7634 §4 */

/* The kind of a config that espx_cfg_check() accepted. */
static inline enum espx_kind espx_cfg_kind(const struct espx_cfg *cfg)
{
	if (cfg->eesp)
		return ESPX_KIND_EESP;
	if (cfg->diet)
		return ESPX_KIND_DIET;
	if (cfg->counters)
		return ESPX_KIND_COUNTERS;
	return cfg->wesp ? ESPX_KIND_WESP : ESPX_KIND_PLAIN;
}

/* Derived at init_state from the config and the SA, then read-only. */
struct espx_ext {
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

/* Per-packet constants of the SA's data path, fixed at init_state
 * (espx_crypto_layout(), crypto.h): the sizes the transform would otherwise
 * be asked for on every packet, and the offsets into a packet's request
 * memory when the transform's alignments allow (size 0: computed per packet).
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

/* Per-SA state espx keeps beside the xfrm_state. x->data stays the SA's
 * struct crypto_aead (the core's xfrm_state_mtu() reads it), so this lives in
 * a hash keyed by the xfrm_state pointer; see espx_sa_of().
 */
struct espx_sa {
	struct rhash_head node;		/* keyed by ->x */
	struct hlist_node id_node;	/* in the netns table, by id */
	struct xfrm_state *x;
	struct espx_sa_id id;
	struct espx_cfg cfg;
	enum espx_kind kind;		/* valid once bound, from cfg */
	struct espx_ext ext;		/* valid once bound */
	bool has_cfg;			/* cfg is set: from the pending config
					 * of its id, a live SA's or a rule's
					 */
	char rule[ESPX_RULE_NAME_LEN];	/* the rule cfg came from, or "" */
	struct espx_ctrs *ctrs;		/* sequence counters, or NULL */
	struct espx_keyseq *keyseq;	/* SN source of a nonce SA without
					 * counters (seq.h), or NULL
					 */
	unsigned long flags;		/* enum espx_sa_flag */
	struct espx_diet *diet;		/* Diet-ESP state, or NULL (diet.c) */
	struct espx_eesp *eesp;		/* EESP state, or NULL (eesp.c) */
	struct espx_stats __percpu *stats;
	struct espx_req_layout req;	/* crypto.c */
	struct espx_echo_sa *echo;	/* echo window and bucket (echo.c) */
	struct rcu_head rcu;
};

int espx_sa_init(void);
void espx_sa_exit(void);
struct espx_sa *espx_sa_bind(struct xfrm_state *x,
			     struct netlink_ext_ack *extack);
void espx_sa_unbind(struct xfrm_state *x);
struct espx_sa *espx_sa_of(const struct xfrm_state *x);	/* RCU or x held */

/* espx builds the nonce and the AAD of the SA's packets */
static inline bool espx_sa_nonce(const struct espx_sa *sa)
{
	return sa->kind != ESPX_KIND_PLAIN;
}

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

/* For netlink.c: the per-netns tables of pending configs (ESPX_CMD_SA_SET
 * made them, no SA has taken them yet) and of bound SAs, seen through one
 * kind of entry. espx_sa_get() and espx_sa_walk() call @fn under the tables'
 * lock: the entry is valid only inside @fn. Expired configs and dead SAs
 * (deleted, not yet destroyed) are skipped. espx_sa_walk() resumes at @pos
 * (zeroed for the first call) and stops at the first non-zero return of @fn,
 * which it returns.
 */
struct espx_entry {
	const struct espx_sa_id *id;
	const struct espx_cfg *cfg;
	const struct espx_sa *sa;	/* NULL: a pending config */
};

void espx_sa_id_from_state(struct espx_sa_id *id, const struct xfrm_state *x);
int espx_cfg_add(struct net *net, const struct espx_sa_id *id,
		 const struct espx_cfg *cfg, u32 owner,
		 struct netlink_ext_ack *extack);
void espx_cfg_release(struct net *net, u32 owner);
int espx_cfg_del(struct net *net, const struct espx_sa_id *id,
		 struct netlink_ext_ack *extack);
int espx_sa_get(struct net *net, const struct espx_sa_id *id,
		int (*fn)(const struct espx_entry *e, void *arg), void *arg);
unsigned int espx_sa_gen(const struct net *net);
int espx_sa_walk(struct net *net, unsigned long pos[2],
		 int (*fn)(const struct espx_entry *e, void *arg), void *arg);

static inline enum espx_sa_status espx_entry_status(const struct espx_entry *e)
{
	return e->sa ? ESPX_STATUS_BOUND : ESPX_STATUS_PENDING;
}

#endif /* _NET_ESPX_SA_H */
