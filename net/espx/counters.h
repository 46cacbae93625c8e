/* SPDX-License-Identifier: GPL-2.0 */
/*
 * counters.c: several sequence counters in one SA (multi-counters.md), each
 * with its own receive window. The sequence arithmetic is codec/ctr_codec.c's.
 */
#ifndef _NET_ESPX_COUNTERS_H
#define _NET_ESPX_COUNTERS_H

#include "espx.h"

struct espx_cfg;
struct espx_ctrs;
struct espx_ctr_txset;

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
struct espx_ctrs *espx_ctrs_alloc(const struct espx_cfg *cfg, u64 floor,
				  struct espx_ctr_txset *send);
bool espx_ctrs_fit(const struct espx_ctrs *c, const struct espx_cfg *cfg);
bool espx_ctrs_send_fits(const struct espx_ctr_txset *t,
			 const struct espx_cfg *cfg);
struct espx_ctr_txset *espx_ctrs_txset(const struct espx_ctrs *c);
u64 espx_ctrs_tx_max(const struct espx_ctrs *c);
struct espx_ctrs *espx_ctrs_get(struct espx_ctrs *c);
void espx_ctrs_put(struct espx_ctrs *c);
int espx_ctr_init_state(struct xfrm_state *x, struct espx_sa *sa,
			struct netlink_ext_ack *extack);
int espx_ctr_next(struct xfrm_state *x, struct espx_sa *sa, u16 *id,
		  u64 *seq, u32 len);
int espx_ctr_input_check(struct espx_sa *sa, u16 id, __be32 snlo,
			 const u8 *iv, u64 *seq);
int espx_ctr_input_accept(struct espx_sa *sa, u16 id, u64 seq, u32 len);
u64 espx_ctr_take(struct espx_sa *sa, u16 *id, u32 len);
bool espx_ctr_seen(struct espx_sa *sa, u16 id, u64 seq);
u16 espx_ctr_count(const struct espx_sa *sa);
u32 espx_ctr_windows(const struct espx_sa *sa);
void espx_ctr_read(const struct espx_sa *sa, u16 id, struct espx_ctr_info *out);

#endif /* _NET_ESPX_COUNTERS_H */
