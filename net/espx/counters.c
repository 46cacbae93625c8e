// SPDX-License-Identifier: GPL-2.0
/* espx multiple sequence counters in one SA (multi-counters.md).
 *
 * Output: the sending CPU takes counter (CPU mod N). Each counter is a
 * 64-bit sequence on its own cache line, so CPUs never share a line while
 * N >= the number of CPUs; the increment is atomic only because a task may
 * migrate, or CPUs outnumber counters, and (key, IV) must never repeat.
 * Input: one anti-replay window per counter, allocated when the first packet
 * of that counter has verified, so forged packets cannot make espx allocate.
 * The window logic itself is the kernel-free codec/ctr_codec.c.
 *
 * Memory accounting: the SA's state is charged (GFP_KERNEL_ACCOUNT) to the
 * memory cgroup of the task that creates the SA, and so are the receive
 * windows, although they are allocated later, in softirq context. There
 * __GFP_ACCOUNT alone charges nobody (no task to take the cgroup from:
 * memcg_kmem_bypass()), so the counter set keeps a reference on its
 * creator's cgroup and makes it the active one around the allocation
 * (set_active_memcg() works in interrupt context; BPF maps do the same).
 * Allocating every window at SA creation would charge the right cgroup too,
 * but costs all N windows up front (1 MiB for 1024 counters of 4096 bits)
 * where traffic usually uses as many counters as the peer has CPUs.
 *
 * The counters belong to the SA's key, not to one xfrm_state: a state built
 * for the id of a live counter SA (UPDSA, MIGRATE) shares the live one's
 * counters (sa.c), so a migrated SA continues its sequences instead of
 * restarting them under the same key. So does any other state of the key
 * while one is bound, and a set made for a key that had one before starts
 * above the highest seq that one sent (seq.h: the key's keyseq). EESP Sub
 * SAs are counters too; another state of their root key shares only their
 * send side (struct espx_ctr_txset) and gets receive windows of its own,
 * unless it is the clone of a live state (sa.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/hrtimer.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <net/xfrm.h>
#include "espx.h"
#include "sa.h"
#include "counters.h"
#include "codec/ctr_codec.h"
#include "seq.h"

/* The uapi limits (netlink, iproute2) are the codec's. */
#define ESPX_CTR_SAME(u, c) static_assert(ESPX_COUNTERS_##u == ESPX_CTR_##c)
ESPX_CTR_SAME(MAX, MAX);
ESPX_CTR_SAME(SEQ_MAX, SEQ_MAX);
ESPX_CTR_SAME(WINDOW_MIN, WIN_MIN);
ESPX_CTR_SAME(WINDOW_MAX, WIN_MAX);
ESPX_CTR_SAME(WINDOW_DEFAULT, WIN_DEFAULT);

static bool test_knobs;
/* Read-only at run time: a test knob is chosen when espx is loaded, not
 * switched on under live SAs.
 */
module_param(test_knobs, bool, 0444);
MODULE_PARM_DESC(test_knobs,
		 "Allow test-only netlink knobs such as a counter start value (default N)");

bool espx_ctr_test_knobs(void)
{
	return READ_ONCE(test_knobs);
}

/* One sending counter, alone on its cache line. */
struct espx_ctr_send {
	atomic64_t seq;		/* last sequence number handed out */
	atomic64_t bytes;
} ____cacheline_aligned_in_smp;

/* One counter's receive state; win is variable-sized and comes last. */
struct espx_ctr_recv {
	spinlock_t lock;	/* top/bitmap and the counts below */
	u64 packets;
	u64 bytes;
	u64 replay;
	struct espx_ctr_win win;
};

/* The send side of a counter set: the counters, shared by every state of
 * the key that sends on them (counter SAs: with the whole set; EESP: alone,
 * each state keeping receive windows of its own).
 */
struct espx_ctr_txset {
	refcount_t ref;
	u16 n;				/* counters, >= every user's n */
	u64 start;			/* counters send from after this */
	struct espx_ctr_send *tx;	/* [n] */
};

struct espx_ctrs {
	refcount_t ref;
	u16 n;
	u32 window;
	u64 start;			/* receive windows start here */
	atomic_t windows;		/* rx windows allocated */
	struct mem_cgroup *memcg;	/* the creator's, charged for rx; or NULL */
	struct espx_ctr_send *tx;	/* txs->tx, [n] used: the fast path's */
	struct espx_ctr_txset *txs;	/* a reference */
	struct espx_ctr_recv __rcu **rx;	/* [n], each NULL until used */
};

static struct espx_ctr_txset *espx_ctr_txset_alloc(u16 n, u64 start)
{
	struct espx_ctr_txset *t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	unsigned int i;

	if (!t)
		return NULL;
	/* a power of two keeps the kmalloc'ed array cache-line aligned */
	t->tx = kvzalloc(roundup_pow_of_two(n * sizeof(*t->tx)),
			 GFP_KERNEL_ACCOUNT);
	if (!t->tx) {
		kfree(t);
		return NULL;
	}
	refcount_set(&t->ref, 1);
	t->n = n;
	t->start = start;
	for (i = 0; i < n; i++)
		atomic64_set(&t->tx[i].seq, start);
	return t;
}

static void espx_ctr_txset_put(struct espx_ctr_txset *t)
{
	if (!t || !refcount_dec_and_test(&t->ref))
		return;
	kvfree(t->tx);
	kfree(t);
}

static u16 espx_ctrs_n(const struct espx_cfg *cfg)
{
	/* EESP: one counter per Sub SA, SNs from 1 (eesp.md §6; from
	 * ctr_start + 1 with the test knob ESPX_EESP_START)
	 */
	return cfg->eesp ? max_t(u16, cfg->ecfg.subsas, 1) : cfg->counters;
}

/**
 * espx_ctrs_alloc - a new counter set for a key
 * @cfg: the SA's config
 * @floor: the highest seq sent before under the key (its keyseq's last)
 * @send: EESP: the counters of the key's bound states, which this set
 *	sends on too (espx_ctrs_send_fits()); NULL: counters of its own
 *
 * sa.c, under the lock that makes the SA visible: a state that shares the
 * key of a live one must never see it without its counters.
 *
 * Own counters send from max(ctr_start, @floor) + 1 on, so no (id, seq)
 * sent under the key before comes again; ctr_start (0 but for the test
 * knobs counter start and EESP start) can only move that start up, and a
 * set sending on @send takes its counters as they are. The receive windows start at
 * ctr_start whatever @floor: they follow the peer's counters, not ours (a
 * re-added inbound SA gets what its peer sends; @floor only differs when
 * this host sent under the same key, and then the peer's counters are none
 * of its business). They are always the new set's own, also with @send.
 *
 * Return: the set, or NULL without memory.
 */
struct espx_ctrs *espx_ctrs_alloc(const struct espx_cfg *cfg, u64 floor,
				  struct espx_ctr_txset *send)
{
	u16 n = espx_ctrs_n(cfg);
	struct espx_ctrs *c;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return NULL;
	c->rx = kvcalloc(n, sizeof(*c->rx), GFP_KERNEL_ACCOUNT);
	c->window = cfg->eesp ? cfg->ecfg.window : cfg->ctr_window;
	c->start = cfg->ctr_start;
	if (send) {
		c->txs = send;
		refcount_inc(&send->ref);
	} else {
		c->txs = espx_ctr_txset_alloc(n, max(c->start, floor));
	}
	if (!c->txs || !c->rx) {
		espx_ctr_txset_put(c->txs);
		kvfree(c->rx);
		kfree(c);
		return NULL;
	}
	c->tx = c->txs->tx;
	refcount_set(&c->ref, 1);
	/* process context: the task making the SA (NULL without memcg) */
	c->memcg = get_mem_cgroup_from_mm(NULL);
	c->n = n;
	return c;
}

/* A set @cfg's SA can share: same counters, window and start. */
bool espx_ctrs_fit(const struct espx_ctrs *c, const struct espx_cfg *cfg)
{
	if (cfg->eesp)
		return c->n == max_t(u16, cfg->ecfg.subsas, 1) &&
		       c->window == cfg->ecfg.window &&
		       c->start == cfg->ctr_start;
	return c->n == cfg->counters && c->window == cfg->ctr_window &&
	       c->start == cfg->ctr_start;
}

/* EESP: counters @t can carry @cfg's Sub SAs (as many or more). */
bool espx_ctrs_send_fits(const struct espx_ctr_txset *t,
			 const struct espx_cfg *cfg)
{
	return t->n >= espx_ctrs_n(cfg);
}

/* The send side of @c, valid as long as @c. */
struct espx_ctr_txset *espx_ctrs_txset(const struct espx_ctrs *c)
{
	return c->txs;
}

/* The highest seq any counter sent (or their start), whichever state of
 * the key sent it. Exact once no packet can take a seq any more (sa.c: at
 * the unbind of the last state sending on them).
 */
u64 espx_ctrs_tx_max(const struct espx_ctrs *c)
{
	const struct espx_ctr_txset *t = c->txs;
	u64 m = t->start;
	unsigned int i;

	for (i = 0; i < t->n; i++)
		m = max_t(u64, m, atomic64_read(&t->tx[i].seq));
	return m;
}

struct espx_ctrs *espx_ctrs_get(struct espx_ctrs *c)
{
	if (c)
		refcount_inc(&c->ref);
	return c;
}

/* Called after an RCU grace period (espx_sa_free_rcu) or at bind failure:
 * no packet can reach the counters any more once the last state is gone.
 */
void espx_ctrs_put(struct espx_ctrs *c)
{
	unsigned int i;

	if (!c || !refcount_dec_and_test(&c->ref))
		return;
	for (i = 0; i < c->n; i++)
		kfree(rcu_dereference_protected(c->rx[i], 1));
	kvfree(c->rx);
	espx_ctr_txset_put(c->txs);
	mem_cgroup_put(c->memcg);
	kfree(c);
}

/**
 * espx_ctr_init_state - the counters of a counter SA
 * @x: the state being built (config checked by espx_cfg_check())
 * @sa: its espx state (cfg bound; ctrs allocated or shared by sa.c)
 * @extack: error report
 *
 * Return: 0 or -errno with an extack message.
 */
int espx_ctr_init_state(struct xfrm_state *x, struct espx_sa *sa,
			struct netlink_ext_ack *extack)
{
	if (!sa->cfg.counters)
		return 0;
	/* sa.c allocated them, or shares those of the key's live SA */
	if (!sa->ctrs) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the sequence counters");
		return -ENOMEM;
	}
	return 0;
}

/**
 * espx_ctr_next - take the next sequence number of this CPU's counter
 * @x: the SA
 * @sa: its espx state (sa->ctrs set)
 * @id: out: the counter id
 * @seq: out: its new sequence number
 * @len: payload octets, for the counter's statistics
 *
 * Return: 0, or -EOVERFLOW when the counter is exhausted (SA hard-expired;
 * the packet must be dropped).
 */
int espx_ctr_next(struct xfrm_state *x, struct espx_sa *sa, u16 *id,
		  u64 *seq, u32 len)
{
	struct espx_ctrs *c = sa->ctrs;
	struct espx_ctr_send *t;

	/* migration after this point only costs ordering, never uniqueness */
	*id = raw_smp_processor_id() % c->n;
	t = &c->tx[*id];
	*seq = atomic64_inc_return(&t->seq);
	if (unlikely(espx_ctr_out_verdict(*seq) == ESPX_CTR_OUT_HARD)) {
		atomic64_dec(&t->seq);	/* keep reporting the real last one */
		espx_sa_expire(x, sa, true, "a sequence counter reached 2^48");
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_CTR_EXHAUSTED);
		return -EOVERFLOW;
	}
	/* >=, not ==: a counter started past 2^47 (test knob) must warn too */
	if (unlikely(*seq >= ESPX_CTR_SEQ_SOFT) &&
	    !test_bit(ESPX_SA_EXPIRED_SOFT, &sa->flags))
		espx_sa_expire(x, sa, false, "a sequence counter reached 2^47");
	atomic64_add(len, &t->bytes);
	return 0;
}

static struct espx_ctr_recv *espx_ctr_rx(const struct espx_ctrs *c, u16 id)
{
	return rcu_dereference_check(c->rx[id], 1);
}

/* EESP Sub SAs count their replays under EESP's name */
static enum espx_stat espx_ctr_replay_stat(const struct espx_sa *sa)
{
	return sa->kind == ESPX_KIND_EESP ? ESPX_STAT_IN_DROP_EESP_REPLAY :
					    ESPX_STAT_IN_DROP_CTR_REPLAY;
}

static void espx_ctr_count_replay(struct espx_sa *sa, struct espx_ctr_recv *r)
{
	spin_lock_bh(&r->lock);
	r->replay++;
	spin_unlock_bh(&r->lock);
	espx_stat_inc(sa, espx_ctr_replay_stat(sa));
}

/**
 * espx_ctr_input_check - the checks before decryption (spec §6)
 * @sa: the SA (sa->ctrs set)
 * @id: the packet's Sub-SA ID
 * @snlo: the ESP SN field
 * @iv: the packet's 8-octet IV
 * @seq: out: the packet's 64-bit sequence number (its high half goes into
 *	the AAD)
 *
 * Lockless: the window is read racily here as a cheap filter; the verdict
 * that counts is espx_ctr_input_accept()'s, under the window's lock.
 *
 * Return: 0 or -EINVAL (dropped, counted).
 */
int espx_ctr_input_check(struct espx_sa *sa, u16 id, __be32 snlo,
			 const u8 *iv, u64 *seq)
{
	struct espx_ctrs *c = sa->ctrs;
	struct espx_ctr_recv *r;
	u64 top;

	if (unlikely(id >= c->n)) {	/* wesp.c checked it already */
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_CTR_RANGE);
		return -EINVAL;
	}
	r = espx_ctr_rx(c, id);
	top = r ? READ_ONCE(r->win.top) : c->start;
	if (espx_ctr_infer(top, c->window, ntohl(snlo), seq)) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_CTR_SEQ);
		return -EINVAL;
	}
	if (!espx_ctr_iv_ok(iv, id, *seq)) {
		if (r && espx_ctr_iv_too_old(iv, id, ntohl(snlo), top)) {
			espx_ctr_count_replay(sa, r);
			return -EINVAL;
		}
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_CTR_IV);
		return -EINVAL;
	}
	if (r && espx_ctr_win_replayed(&r->win, *seq)) {
		espx_ctr_count_replay(sa, r);
		return -EINVAL;
	}
	return 0;
}

/* The counter's window, allocated on its first authenticated packet. */
static struct espx_ctr_recv *espx_ctr_rx_get(struct espx_ctrs *c, u16 id)
{
	struct espx_ctr_recv *r = espx_ctr_rx(c, id), *old;
	struct mem_cgroup *memcg;

	if (r)
		return r;
	/* charged to the SA's creator, not to whoever softirq interrupted */
	memcg = set_active_memcg(c->memcg);
	r = kzalloc(offsetof(struct espx_ctr_recv, win) +
		    espx_ctr_win_bytes(c->window), GFP_ATOMIC | __GFP_ACCOUNT);
	set_active_memcg(memcg);
	if (!r)
		return NULL;
	spin_lock_init(&r->lock);
	espx_ctr_win_init(&r->win, c->window, c->start);
	/* two CPUs may race for the same counter's first packet */
	old = cmpxchg((struct espx_ctr_recv __force **)&c->rx[id], NULL, r);
	if (old) {
		kfree(r);
		return old;
	}
	atomic_inc(&c->windows);
	return r;
}

/**
 * espx_ctr_input_accept - record an authenticated packet (spec §6)
 * @sa: the SA (sa->ctrs set)
 * @id: counter id (checked by espx_ctr_input_check())
 * @seq: its sequence number
 * @len: payload octets
 *
 * Return: 0, or -EINVAL (replayed meanwhile) / -ENOMEM, counted.
 */
int espx_ctr_input_accept(struct espx_sa *sa, u16 id, u64 seq, u32 len)
{
	struct espx_ctr_recv *r = espx_ctr_rx_get(sa->ctrs, id);
	bool replayed;

	if (unlikely(!r)) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_CTR_NOMEM);
		return -ENOMEM;
	}
	spin_lock_bh(&r->lock);
	/* another CPU may have accepted the same packet while we decrypted */
	replayed = espx_ctr_win_replayed(&r->win, seq);
	if (replayed) {
		r->replay++;
	} else {
		espx_ctr_win_advance(&r->win, seq);
		r->packets++;
		r->bytes += len;
	}
	spin_unlock_bh(&r->lock);
	if (replayed) {
		espx_stat_inc(sa, espx_ctr_replay_stat(sa));
		return -EINVAL;
	}
	return 0;
}

/**
 * espx_ctr_take - EESP: the next SN of this CPU's Sub SA, at most 2^64 - 1
 * @sa: the SA (sa->ctrs set)
 * @id: out: the Sub SA (CPU mod N): lockless, one cache line each
 * @len: payload octets, for its statistics
 *
 * The counter never moves past 2^64 - 1. An increment that wrapped it to
 * 0 and gave the SN back afterwards would let another CPU sending on the
 * same Sub SA (more CPUs than Sub SAs, or a task that migrated) take SN
 * 1 again in between, under the same key.
 *
 * Return: the SN; 0 when the Sub SA sent 2^64 - 1 (the caller drops the
 * packet and hard-expires the SA).
 */
u64 espx_ctr_take(struct espx_sa *sa, u16 *id, u32 len)
{
	struct espx_ctrs *c = sa->ctrs;
	struct espx_ctr_send *t;
	u64 seq;

	*id = raw_smp_processor_id() % c->n;
	t = &c->tx[*id];
	seq = atomic64_fetch_add_unless(&t->seq, 1, (s64)U64_MAX);
	if (unlikely(seq == U64_MAX))
		return 0;
	atomic64_add(len, &t->bytes);
	return seq + 1;
}

/**
 * espx_ctr_seen - EESP: the replay pre-check before the crypto (§6)
 * @sa: the SA (sa->ctrs set)
 * @id: the Sub SA, range-checked
 * @seq: the packet's 64-bit SN
 *
 * Lockless against a possibly stale window, as espx_ctr_input_check();
 * no window yet (the Sub SA's first valid packet) passes.
 *
 * Return: true when dropped as a replay (counted).
 */
bool espx_ctr_seen(struct espx_sa *sa, u16 id, u64 seq)
{
	struct espx_ctr_recv *r = espx_ctr_rx(sa->ctrs, id);

	if (!r || !espx_ctr_win_replayed(&r->win, seq))
		return false;
	espx_ctr_count_replay(sa, r);
	return true;
}

/* ---- configuration and statistics for netlink ------------------------- */

u16 espx_ctr_count(const struct espx_sa *sa)
{
	return sa->ctrs ? sa->ctrs->n : 0;
}

u32 espx_ctr_windows(const struct espx_sa *sa)
{
	return sa->ctrs ? atomic_read(&sa->ctrs->windows) : 0;
}

/**
 * espx_ctr_read - one counter's state
 * @sa: a bound counter SA
 * @id: counter id, < espx_ctr_count(sa)
 * @out: filled in
 */
void espx_ctr_read(const struct espx_sa *sa, u16 id, struct espx_ctr_info *out)
{
	const struct espx_ctrs *c = sa->ctrs;
	struct espx_ctr_recv *r;

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->out_seq = atomic64_read(&c->tx[id].seq);
	out->out_packets = sa->kind == ESPX_KIND_EESP ?
			   out->out_seq - c->txs->start :
			   min(out->out_seq, ESPX_CTR_SEQ_MAX) - c->txs->start;
	out->out_bytes = atomic64_read(&c->tx[id].bytes);
	rcu_read_lock();
	r = rcu_dereference(c->rx[id]);
	if (r) {
		spin_lock_bh(&r->lock);
		out->in_valid = true;
		out->in_top = r->win.top;
		out->in_packets = r->packets;
		out->in_bytes = r->bytes;
		out->in_replay = r->replay;
		spin_unlock_bh(&r->lock);
	}
	rcu_read_unlock();
}
