/* SPDX-License-Identifier: GPL-2.0 */
/*
 * espx sequence numbers of nonce SAs: one 64-bit counter per SA key; the
 * per-key memory of counter and EESP SAs.
 *
 * A WESPv2 SA without counters and every Diet-ESP SA build the AEAD nonce
 * as salt | be64(SN) (wespv2.md §5, diet-esp.md, RFC 8750). The xfrm core's
 * output SN is not a safe source for it: XFRM_MSG_MIGRATE clones x->replay
 * into a new state while the old one still sends, XFRM_MSG_NEWAE can set
 * oseq back, and a state deleted and created again with the same key starts
 * wherever its creator says. So every such SA draws its SN from a struct
 * espx_keyseq that all states of the network namespace with the same key
 * (AEAD algorithm, ICV length, key and salt) share: the SN sent is
 * max(core's SN, last SN sent under this key + 1), claimed with one
 * compare-and-exchange, so no two packets under one key carry one SN and so
 * one nonce. When the last state with a key goes, its keyseq stays in the
 * namespace as a tombstone remembering the last SN, so a state built later
 * with the same key continues after it (see seq.c for how long).
 *
 * Counter SAs (several sequence counters, IV = be16(id) | be48(seq)) take
 * no SN from here, but their key has a keyseq too: all states of the key
 * share one counter set (keyseq->ctrs), and when the last goes, last keeps
 * the highest seq any of its counters sent, so that a counter set made
 * later for the key starts every counter above it.
 *
 * EESP SAs (eesp.md §6: Sub SA i sends under HKDF-Expand(root, be16(i)),
 * nonce salt | be64(SN), one 64-bit SN per Sub SA) have a keyseq per root
 * key. Only their send side is per key: every bound state of the root key
 * (a MIGRATE/UPDSA clone while the old state still sends, a state deleted
 * but not yet destroyed, another SPI with the same key) sends on one set of
 * Sub SA counters (keyseq->etx, counters.c), each SN taken with one atomic
 * increment as before, so two states never send one (Sub SA, SN). Receive
 * windows stay per state, fresh for every new one (a live clone keeps its
 * original's, as the core keeps the replay state). When the key's last
 * state goes, last keeps the highest SN any Sub SA sent, and a set made
 * later for the key starts every Sub SA above it: SNs go on, a re-created
 * SA never restarts at 1. That read is exact: the last state goes in its
 * destructor, when no packet holds it any more, and an SN is only taken in
 * espx_eesp_output() by a packet that holds its state (through its dst),
 * so no SN can be claimed after the read. NEWAE cannot move EESP SNs (they
 * never come from the core's oseq). Without Sub SAs the SA key itself seals
 * with salt | be64(SN), as one-SN SAs do.
 *
 * A key numbers its packets one way for as long as it is remembered (one
 * SN, counters or EESP): a state numbering them another way is refused, the
 * IV formats could collide.
 */
#ifndef _NET_ESPX_SEQ_H
#define _NET_ESPX_SEQ_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <net/xfrm.h>

struct espx_ctrs;
struct espx_ctr_txset;
struct espx_sa;

/* Tombstones one namespace keeps; the oldest is forgotten first. */
#define ESPX_SEQ_TOMBS_MAX	4096

struct espx_seq_table {
	DECLARE_HASHTABLE(byfp, 6);
	struct list_head tombs;		/* keyseqs without a state, oldest first */
	unsigned int ntombs;
};

/* How the states of a key number their packets; fixed by the first one. */
enum espx_keyseq_numbering {
	ESPX_KEYSEQ_UNSET,
	ESPX_KEYSEQ_SN,		/* one SN: IV = be64(SN) */
	ESPX_KEYSEQ_CTRS,	/* counters: IV = be16(id) | be48(seq) */
	ESPX_KEYSEQ_EESP,	/* EESP Sub SAs: be64(SN) per Sub SA key */
};

struct espx_keyseq {
	struct hlist_node node;		/* in table->byfp */
	struct list_head tomb;		/* in table->tombs while users == 0 */
	struct espx_seq_table *table;	/* NULL once the netns is gone */
	u64 fp;				/* espx_key_fp() of the key */
	unsigned int users;		/* bound states, under espx_sa_mutex */
	u8 numbering;			/* enum espx_keyseq_numbering */
	/* ESPX_KEYSEQ_CTRS: the counter set every bound state of the key
	 * shares (counters.c), NULL when none is bound; no reference of its
	 * own, under espx_sa_mutex
	 */
	struct espx_ctrs *ctrs;
	/* ESPX_KEYSEQ_EESP: the Sub SA send counters every bound state of the
	 * key sends on (counters.c), NULL when none is bound; no reference of
	 * its own, under espx_sa_mutex
	 */
	struct espx_ctr_txset *etx;
	/* one SN: the last SN sent; counters, EESP Sub SAs: the highest seq
	 * any counter of a counter set gone from the key sent (raised at
	 * unbind, sa.c)
	 */
	atomic64_t last ____cacheline_aligned_in_smp;
};

/* All under espx_sa_mutex (sa.c), like the rest of the SA tables. */
void espx_seq_table_init(struct espx_seq_table *t);
void espx_seq_table_exit(struct espx_seq_table *t);
struct espx_keyseq *espx_keyseq_get(struct espx_seq_table *t,
				    const struct xfrm_state *x);
void espx_keyseq_put(struct espx_keyseq *k);
void espx_keyseq_raise(struct espx_keyseq *k, u64 seq);
void espx_seq_init(void);

/* Mark a state soft or hard expired once (the core's lifetime handling);
 * @why names the limit in the log line.
 */
void espx_sa_expire(struct xfrm_state *x, struct espx_sa *sa, bool hard,
		    const char *why);
int espx_keyseq_exhausted(struct xfrm_state *x, struct espx_sa *sa);

/**
 * espx_keyseq_next - the SN of a nonce SA's next packet
 * @x: the SA
 * @sa: its espx state (sa->keyseq set)
 * @k: sa->keyseq
 * @max: the highest SN the SA may send (2^32 - 1 without ESN)
 * @seq: in: the core's SN for this packet; out: the SN to send
 *
 * The SN is strictly greater than every SN claimed before under this key,
 * whichever state claimed it: uniqueness holds across clones, rewinds and
 * re-creation. In the common case (no other state, no rewind) it is the
 * core's SN, so the wire matches what the core reports.
 *
 * Return: 0, or -EOVERFLOW when the key's SN space is used up (the state is
 * hard-expired, the packet must be dropped).
 */
static __always_inline int espx_keyseq_next(struct xfrm_state *x,
					    struct espx_sa *sa,
					    struct espx_keyseq *k, u64 max,
					    u64 *seq)
{
	s64 last = atomic64_read(&k->last);
	u64 next, s;

	do {
		next = (u64)last + 1;
		s = max_t(u64, *seq, next);
		if (unlikely(!next || s > max))
			return espx_keyseq_exhausted(x, sa);
	} while (!atomic64_try_cmpxchg(&k->last, &last, s));
	*seq = s;
	return 0;
}

#endif /* _NET_ESPX_SEQ_H */
