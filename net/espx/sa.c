// SPDX-License-Identifier: GPL-2.0
/*
 * espx per-SA state and the per-netns table of extension configs.
 *
 * Two kinds of object: a pending config (struct espx_pending), made with
 * ESPX_CMD_SA_SET, waits for its SA; the per-SA state of a bound SA (struct
 * espx_sa) is built when the xfrm core creates the SA, from the pending
 * config of its id if there is one, which then goes. Three indexes:
 *
 *  - per netns, by SA id: the pending configs (espx_net.pending_ids) and the
 *    SAs espx builds (espx_net.ids). This is what the netlink family reads
 *    and writes. Several SAs may share an id for a moment (a NEWSA that will
 *    fail as a duplicate, UPDSA and MIGRATE build a second state with the id
 *    of a live one), but at most one pending config exists per id and SET
 *    refuses an id that has a live SA. Both tables choose the bucket by the
 *    parts of the id that XFRM_MSG_MIGRATE keeps (SPI, protocol, mark,
 *    if_id), not by the address and family it may change: a bound entry's id
 *    is the state's, re-read under the lock whenever the entry is looked at
 *    (espx_sa_id_sync()), because the core may move a state to a new address
 *    after init_state (xfrm_state_migrate() of 6.1 and 6.12 sets the new
 *    daddr only after xfrm_init_state()).
 *  - global, by xfrm_state pointer (espx_sa_ht): the bound SAs, for the data
 *    path; espx_sa_of() is a lockless cache in front of an RCU hash lookup.
 *
 * Which config a new state gets (espx_sa_bind()):
 *  - its twin is a live configured SA with the same SPI, protocol, mark and
 *    if_id and the same AEAD algorithm, ICV length and key: the state UPDSA
 *    builds beside it, or a clone made by XFRM_MSG_MIGRATE for a new address
 *    or family. Two states with one key must never number their packets
 *    apart, so a state with a twin shares the twin's sequence counters
 *    (counters.c), whatever else happens;
 *  1. the pending config of its id, which must then equal the twin's (a
 *     pending config that would restart a live key's counters is refused);
 *  2. the twin's config;
 *  3. the config of a live SA with the same id but another key (UPDSA);
 *  4. without a live SA of its id, the config of the first extension rule
 *     it matches (rules.c), which is checked against the state here so
 *     that a refusal names the rule, or a fallback makes it plain;
 *  5. none: a plain ESP SA.
 * Nonce SAs without counters share their SN by key alone (seq.c), through
 * the namespace's keyseq table; counter SAs share their counter set by key
 * there, and a new set starts above what the key's last set sent; EESP SAs
 * likewise share their Sub SAs' send counters by root key, with receive
 * windows of their own unless they are a live state's clone. The twin
 * and rule 3 look at one bucket, so
 * creating a plain SA stays cheap. Counters and keyseq are set under the
 * lock, before the entry is visible to another bind.
 *
 * All changes to either index happen under espx_sa_mutex. It is global, not
 * per netns, on purpose: an SA's destructor may run after our pernet exit
 * (our exit runs before the xfrm core flushes the namespace's states, and
 * destruction is deferred to the xfrm GC work), so espx_sa_unbind() must not
 * depend on per-netns data. Our pernet exit frees the pending configs and
 * detaches the bound entries from the netns table; the SA destructor then
 * only has to take the entry out of the global hash.
 *
 * SAs are freed after an RCU grace period (the data path looks them up under
 * RCU); pending configs, which only netlink sees (under the mutex), at once.
 * espx_sa_objects counts every live allocation of either kind so that module
 * exit can tell a leak; it is visible in debugfs as espx/sa_objects.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/mutex.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/u64_stats_sync.h>
#include <crypto/algapi.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include "espx.h"
#include "sa.h"
#include "counters.h"
#include "seq.h"
#include "rules.h"
#include "echo.h"

/* Pending configs one netns may hold; bound ones are limited by xfrm. */
#define ESPX_MAX_PENDING	1024
#define ESPX_NET_HASH_BITS	8

/* How long a pending config waits for its SA (uapi: lifecycle step 5). */
static unsigned int pending_timeout = 60;

static int espx_pending_timeout_set(const char *val,
				    const struct kernel_param *kp)
{
	unsigned int v;
	int err = kstrtouint(val, 0, &v);

	if (err)
		return err;
	if (v < 1 || v > 3600)
		return -ERANGE;
	WRITE_ONCE(pending_timeout, v);
	return 0;
}

static const struct kernel_param_ops espx_pending_timeout_ops = {
	.set = espx_pending_timeout_set,
	.get = param_get_uint,
};

module_param_cb(pending_timeout, &espx_pending_timeout_ops, &pending_timeout,
		0644);
MODULE_PARM_DESC(pending_timeout,
		 "Seconds a pending config (ESPX_CMD_SA_SET) waits for its SA, 1..3600 (default 60)");

/* Test knob, honoured only with test_knobs=1 and read-only at run time like
 * it: milliseconds a state bound from a pending config sleeps right after
 * espx_sa_bind() made it findable by other binds, before its init_state goes
 * on. It holds the window in which a second state with the same SPI and key
 * binds to a half-built twin open long enough for a test to bind one there
 * (selftests/bindrace.sh): nothing a twin inherits may be set after this
 * point.
 */
static unsigned int bind_delay_ms;
module_param(bind_delay_ms, uint, 0444);
MODULE_PARM_DESC(bind_delay_ms,
		 "Test knob (needs test_knobs=1): ms a state bound from a pending config sleeps once visible to other binds, up to 1000 (default 0)");

static void espx_sa_bind_delay(void)
{
	if (bind_delay_ms && espx_ctr_test_knobs())
		msleep(min(bind_delay_ms, 1000U));
}

/* A config made with ESPX_CMD_SA_SET, waiting for the SA of its id. */
struct espx_pending {
	struct hlist_node node;		/* in espx_net.pending_ids */
	struct espx_sa_id id;
	struct espx_cfg cfg;
	unsigned long expires;		/* freed at (jiffies) */
	u32 owner;			/* its creator's portid, 0 if detached */
};

struct espx_net {
	DECLARE_HASHTABLE(ids, ESPX_NET_HASH_BITS);	/* bound SAs */
	DECLARE_HASHTABLE(pending_ids, ESPX_NET_HASH_BITS);
	struct delayed_work gc;		/* frees expired pending configs */
	unsigned int pending;
	unsigned int gen;	/* bumped when a table gains or loses an entry */
	bool dead;		/* pernet exit ran: add nothing more */
	struct espx_seq_table seqs;	/* nonce SAs' SNs by key (seq.h) */
	/* drops no SA can be charged with; rare, so one atomic each */
	atomic64_t ns_stats[__ESPX_NS_STAT_MAX];
};

static unsigned int espx_net_id __read_mostly;
static DEFINE_MUTEX(espx_sa_mutex);
static struct rhashtable espx_sa_ht;
static atomic_t espx_sa_objects = ATOMIC_INIT(0);
static struct dentry *espx_debugfs;

/* Every packet asks espx_sa_of(): a direct-mapped cache in front of the hash
 * answers from a (state, SA) pair without touching the SA and without an RCU
 * read section (a function call each way on preemptible-RCU kernels). A slot
 * keeps the pair bound last among the states mapping to it; the others are
 * found in the hash. See espx_sa_of() for why a reader needs no lock.
 */
#define ESPX_SA_CACHE_BITS	10
struct espx_sa_slot {
	const struct xfrm_state *x;
	struct espx_sa *sa;
};

static struct espx_sa_slot espx_sa_cache[1 << ESPX_SA_CACHE_BITS];
static struct espx_sa_slot *espx_sa_slot(const struct xfrm_state *x);
static void espx_sa_slot_set(struct espx_sa_slot *slot,
			     const struct xfrm_state *x, struct espx_sa *sa);

static const struct rhashtable_params espx_sa_ht_params = {
	.key_len = sizeof(struct xfrm_state *),
	.key_offset = offsetof(struct espx_sa, x),
	.head_offset = offsetof(struct espx_sa, node),
	.automatic_shrinking = true,
};

static struct espx_net *espx_net(const struct net *net)
{
	return net_generic(net, espx_net_id);
}

/* Under espx_sa_mutex; read locklessly by espx_sa_gen(). */
static void espx_sa_gen_bump(struct espx_net *en)
{
	WRITE_ONCE(en->gen, en->gen + 1);
}

void espx_ns_stat_inc(const struct net *net, enum espx_ns_stat id)
{
	atomic64_inc(&espx_net(net)->ns_stats[id]);
}

void espx_ns_stats_read(const struct net *net, u64 out[__ESPX_NS_STAT_MAX])
{
	struct espx_net *en = espx_net(net);
	int i;

	for (i = 0; i < __ESPX_NS_STAT_MAX; i++)
		out[i] = atomic64_read(&en->ns_stats[i]);
}

/* Without daddr and family: a migrated state stays in its bucket. */
static u32 espx_sa_id_hash(const struct espx_sa_id *id)
{
	return jhash_3words(id->mark, id->if_id,
			    (__force u32)id->spi ^ id->proto, 0);
}

static bool espx_sa_id_equal(const struct espx_sa_id *a,
			     const struct espx_sa_id *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->spi == b->spi && a->mark == b->mark &&
	       a->mark_mask == b->mark_mask && a->if_id == b->if_id &&
	       !memcmp(&a->daddr, &b->daddr, sizeof(a->daddr));
}

void espx_sa_id_from_state(struct espx_sa_id *id, const struct xfrm_state *x)
{
	memset(id, 0, sizeof(*id));
	id->family = x->props.family;
	if (id->family == AF_INET)
		id->daddr.a4 = x->id.daddr.a4;
	else
		id->daddr = x->id.daddr;
	id->spi = x->id.spi;
	id->proto = x->id.proto;
	id->mark = x->mark.v;
	id->mark_mask = x->mark.m;
	id->if_id = x->if_id;
}

/* An entry whose SA was deleted but not yet destroyed (deferred GC). */
static bool espx_sa_dead(const struct espx_sa *sa)
{
	return sa->x && READ_ONCE(sa->x->km.state) == XFRM_STATE_DEAD;
}

/* Under espx_sa_mutex: a bound entry's id is its state's current one. The
 * state outlives the entry's place in the table (unbind takes it out first).
 */
static void espx_sa_id_sync(struct espx_sa *sa)
{
	if (sa->x)
		espx_sa_id_from_state(&sa->id, sa->x);
}

/* Same AEAD algorithm, ICV length and key: the same SA key. */
static bool espx_sa_same_key(const struct xfrm_state *a,
			     const struct xfrm_state *b)
{
	const struct xfrm_algo_aead *ka = a->aead, *kb = b->aead;

	if (!ka || !kb || ka->alg_key_len != kb->alg_key_len ||
	    ka->alg_icv_len != kb->alg_icv_len ||
	    strncmp(ka->alg_name, kb->alg_name, sizeof(ka->alg_name)))
		return false;
	return !crypto_memneq(ka->alg_key, kb->alg_key,
			      DIV_ROUND_UP(ka->alg_key_len, 8));
}

static struct espx_sa *espx_sa_alloc(void)
{
	struct espx_sa *sa = kzalloc(sizeof(*sa), GFP_KERNEL_ACCOUNT);

	if (!sa)
		return NULL;
	sa->echo = espx_echo_sa_alloc();
	if (!sa->echo) {
		kfree(sa);
		return NULL;
	}
	INIT_HLIST_NODE(&sa->id_node);
	atomic_inc(&espx_sa_objects);
	return sa;
}

static void espx_sa_free_rcu(struct rcu_head *head)
{
	struct espx_sa *sa = container_of(head, struct espx_sa, rcu);

	espx_ctrs_put(sa->ctrs);
	free_percpu(sa->stats);
	espx_echo_sa_free(sa->echo);
	kfree(sa);
	atomic_dec(&espx_sa_objects);
}

static void espx_sa_free(struct espx_sa *sa)
{
	call_rcu(&sa->rcu, espx_sa_free_rcu);
}

static struct espx_stats __percpu *espx_stats_alloc(void)
{
	struct espx_stats __percpu *stats;
	int cpu;

	stats = alloc_percpu_gfp(struct espx_stats, GFP_KERNEL_ACCOUNT);
	if (!stats)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(stats, cpu)->syncp);
	return stats;
}

static struct espx_pending *espx_pending_alloc(const struct espx_sa_id *id,
					       const struct espx_cfg *cfg,
					       u32 owner)
{
	struct espx_pending *p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);

	if (!p)
		return NULL;
	p->id = *id;
	p->cfg = *cfg;
	p->owner = owner;
	p->expires = jiffies + READ_ONCE(pending_timeout) * (unsigned long)HZ;
	atomic_inc(&espx_sa_objects);
	return p;
}

/* Caller holds espx_sa_mutex: a pending config leaves the table and goes
 * (DEL, expiry, its socket closed, its SA bound).
 */
static void espx_pending_drop(struct espx_net *en, struct espx_pending *p)
{
	hash_del(&p->node);
	espx_sa_gen_bump(en);
	en->pending--;
	kfree(p);
	atomic_dec(&espx_sa_objects);
}

static bool espx_pending_expired(const struct espx_pending *p)
{
	return time_after_eq(jiffies, p->expires);
}

/* Caller holds espx_sa_mutex: a pending config past its time is freed and
 * counted (by whoever meets it first: a lookup or the namespace's gc work).
 */
static bool espx_pending_expire(struct espx_net *en, struct espx_pending *p)
{
	if (!espx_pending_expired(p))
		return false;
	atomic64_inc(&en->ns_stats[ESPX_NS_STAT_PENDING_EXPIRED]);
	espx_pending_drop(en, p);
	return true;
}

static void espx_pending_gc(struct work_struct *work)
{
	struct espx_net *en = container_of(to_delayed_work(work),
					   struct espx_net, gc);
	struct espx_pending *p;
	struct hlist_node *tmp;
	unsigned long bkt;

	mutex_lock(&espx_sa_mutex);
	hash_for_each_safe(en->pending_ids, bkt, tmp, p, node)
		espx_pending_expire(en, p);
	if (en->pending && !en->dead)
		queue_delayed_work(system_wq, &en->gc, HZ);
	mutex_unlock(&espx_sa_mutex);
}

/* Caller holds espx_sa_mutex: the pending config of @id, if it has not
 * expired (those met on the way are freed).
 */
static struct espx_pending *espx_pending_find(struct espx_net *en,
					      const struct espx_sa_id *id)
{
	struct espx_pending *p;
	struct hlist_node *tmp;

	hash_for_each_possible_safe(en->pending_ids, p, tmp, node,
				    espx_sa_id_hash(id)) {
		if (espx_pending_expire(en, p))
			continue;
		if (espx_sa_id_equal(&p->id, id))
			return p;
	}
	return NULL;
}

/* Caller holds espx_sa_mutex: a live (not deleted) SA with the id @id. */
static struct espx_sa *espx_sa_find_live(struct espx_net *en,
					 const struct espx_sa_id *id)
{
	struct espx_sa *sa;

	hash_for_each_possible(en->ids, sa, id_node, espx_sa_id_hash(id)) {
		espx_sa_id_sync(sa);
		if (espx_sa_id_equal(&sa->id, id) && !espx_sa_dead(sa))
			return sa;
	}
	return NULL;
}

/* Caller holds espx_sa_mutex: a live configured SA other than @x with
 * @x's key under the parts of @id a migration keeps (rule 3 above).
 */
static struct espx_sa *espx_sa_lookup_clone(struct espx_net *en,
					    const struct espx_sa_id *id,
					    const struct xfrm_state *x)
{
	struct espx_sa *sa;

	if (!x->aead)
		return NULL;
	hash_for_each_possible(en->ids, sa, id_node, espx_sa_id_hash(id)) {
		if (sa->x == x || !sa->has_cfg || espx_sa_dead(sa))
			continue;
		espx_sa_id_sync(sa);
		if (sa->id.spi == id->spi && sa->id.proto == id->proto &&
		    sa->id.mark == id->mark &&
		    sa->id.mark_mask == id->mark_mask &&
		    sa->id.if_id == id->if_id && espx_sa_same_key(sa->x, x))
			return sa;
	}
	return NULL;
}

/* Two configs that give a key's packets the same numbering and format. */
static bool espx_cfg_equal(const struct espx_cfg *a, const struct espx_cfg *b)
{
	return a->wesp == b->wesp && a->crypt_offset == b->crypt_offset &&
	       a->counters == b->counters && a->ctr_window == b->ctr_window &&
	       a->ctr_start == b->ctr_start && a->diet == b->diet &&
	       a->echo == b->echo &&
	       (!a->diet || !memcmp(&a->dcfg, &b->dcfg, sizeof(a->dcfg))) &&
	       a->eesp == b->eesp &&
	       (!a->eesp || !memcmp(&a->ecfg, &b->ecfg, sizeof(a->ecfg)));
}

/* A config whose SA's key needs a keyseq (seq.h): one SN, counters, EESP. */
static bool espx_cfg_keyseq(const struct espx_cfg *cfg)
{
	return cfg->wesp || cfg->diet || cfg->eesp;
}

/* Caller holds espx_sa_mutex: the counters of @sa, bound to keyseq @k (or
 * NULL: no AEAD key). Every state of a key shares one counter set while
 * one is bound (a live twin's, or a deleted state's that the xfrm GC has
 * not destroyed yet and that may still send); a new set starts above every
 * seq a set gone from the key sent.
 */
static int espx_sa_bind_ctrs(struct espx_sa *sa, const struct espx_sa *twin,
			     struct espx_keyseq *k,
			     struct netlink_ext_ack *extack)
{
	struct espx_ctrs *c = k ? k->ctrs : NULL;

	if (!c && twin)
		c = twin->ctrs;
	if (c && !espx_ctrs_fit(c, &sa->cfg)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "another SA with this key has other counter settings: use a fresh key");
		return -EEXIST;
	}
	sa->ctrs = c ? espx_ctrs_get(c) :
		       espx_ctrs_alloc(&sa->cfg, k ? atomic64_read(&k->last) : 0,
				       NULL);
	if (!sa->ctrs) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the sequence counters");
		return -ENOMEM;
	}
	if (k)
		k->ctrs = sa->ctrs;
	return 0;
}

/* Caller holds espx_sa_mutex: the Sub SA counters of EESP SA @sa, bound
 * to keyseq @k (or NULL: no AEAD key). A live clone (@twin: UPDSA, MIGRATE)
 * shares its original's whole set, receive windows included, as the core
 * copies the replay state into it. Any other state gets receive windows of
 * its own but sends on the key's counters while a state of the key is
 * bound (a deleted one the xfrm GC has not destroyed yet may still send),
 * else on new ones starting above every SN the key's last set sent
 * (seq.h says why no SN comes twice).
 */
static int espx_sa_bind_eesp(struct espx_sa *sa, const struct espx_sa *twin,
			     struct espx_keyseq *k,
			     struct netlink_ext_ack *extack)
{
	struct espx_ctr_txset *t = k ? k->etx : NULL;

	if (!twin && t && !espx_ctrs_send_fits(t, &sa->cfg)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "another SA with this root key, still bound, has fewer Sub SAs: use a fresh key");
		return -EEXIST;
	}
	sa->ctrs = twin ? espx_ctrs_get(twin->ctrs) :
		   espx_ctrs_alloc(&sa->cfg, k ? atomic64_read(&k->last) : 0, t);
	if (!sa->ctrs) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the sequence counters");
		return -ENOMEM;
	}
	if (k)
		k->etx = espx_ctrs_txset(sa->ctrs);
	return 0;
}

/* Caller holds espx_sa_mutex: the sequences of @sa (its config decided),
 * shared with @twin, a live SA with the same SPI and key, if any, and with
 * every state of the key through its keyseq. Set before the entry becomes
 * visible, so a concurrent bind never sees a half-built one.
 */
static int espx_sa_bind_seq(struct espx_net *en, struct espx_sa *sa,
			    const struct espx_sa *twin,
			    const struct xfrm_state *x,
			    struct netlink_ext_ack *extack)
{
	struct espx_keyseq *k = NULL;
	u8 numbering;
	int err = 0;

	if (!sa->has_cfg)
		return 0;
	/* EESP Sub SAs are counters with their own keys (eesp.c); their IVs
	 * are be64(SN), so they must not share a key with one-SN SAs either
	 */
	numbering = sa->cfg.eesp ? ESPX_KEYSEQ_EESP :
		    sa->cfg.counters ? ESPX_KEYSEQ_CTRS : ESPX_KEYSEQ_SN;
	if (espx_cfg_keyseq(&sa->cfg) && x->aead) {
		k = espx_keyseq_get(&en->seqs, x);
		if (!k) {
			NL_SET_ERR_MSG_MOD(extack, "no memory for the SA's sequence");
			return -ENOMEM;
		}
		/* be64(SN) and be16(id) | be48(seq) IVs may collide */
		if (k->numbering != ESPX_KEYSEQ_UNSET &&
		    k->numbering != numbering) {
			espx_keyseq_put(k);
			NL_SET_ERR_MSG_MOD(extack,
					   "this key numbered its packets differently before (EESP, counters or one SN): use a fresh key");
			return -EINVAL;
		}
	}
	if (sa->cfg.eesp)
		err = espx_sa_bind_eesp(sa, twin, k, extack);
	else if (sa->cfg.counters)
		err = espx_sa_bind_ctrs(sa, twin, k, extack);
	if (err) {
		espx_keyseq_put(k);
		return err;
	}
	if (k)
		k->numbering = numbering;
	sa->keyseq = k;
	return 0;
}

/* Caller holds espx_sa_mutex, no packet of @sa can take a sequence number
 * any more: its key's keyseq goes, remembering the highest seq its counters
 * or Sub SAs sent (another state still sending on them raises it again
 * when it goes).
 */
static void espx_sa_put_seq(struct espx_sa *sa)
{
	if (sa->keyseq && sa->ctrs)
		espx_keyseq_raise(sa->keyseq, espx_ctrs_tx_max(sa->ctrs));
	espx_keyseq_put(sa->keyseq);
	sa->keyseq = NULL;
}

struct espx_sa *espx_sa_bind(struct xfrm_state *x,
			     struct netlink_ext_ack *extack)
{
	struct espx_net *en = espx_net(xs_net(x));
	struct espx_sa *sa, *live, *twin;
	struct espx_stats __percpu *stats;
	struct espx_pending *pend;
	bool from_pending;
	struct espx_sa_id id;
	int err;

	espx_sa_id_from_state(&id, x);
	stats = espx_stats_alloc();
	if (!stats) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for SA statistics");
		return ERR_PTR(-ENOMEM);
	}

	mutex_lock(&espx_sa_mutex);
	if (espx_sa_of(x)) {
		NL_SET_ERR_MSG_MOD(extack, "SA state already bound");
		err = -EEXIST;
		goto err_unlock;
	}

	/* A live configured SA with this SPI and key (the state UPDSA or
	 * MIGRATE builds beside it, or a clone at a new address): the new
	 * state must continue its sequences, never restart them under the
	 * same key, whatever else it is given.
	 */
	pend = espx_pending_find(en, &id);
	live = espx_sa_find_live(en, &id);
	if (live && live->has_cfg && espx_sa_same_key(live->x, x))
		twin = live;
	else
		twin = espx_sa_lookup_clone(en, &id, x);

	if (pend && twin && !espx_cfg_equal(&pend->cfg, &twin->cfg)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a live SA with this SPI and key has another espx config");
		err = -EEXIST;
		goto err_unlock;
	}
	sa = espx_sa_alloc();
	if (!sa) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for SA state");
		err = -ENOMEM;
		goto err_unlock;
	}
	sa->id = id;
	/* A second state for the id of a live SA (UPDSA, MIGRATE) replaces it
	 * or is discarded, a state with its key elsewhere is its migrated
	 * clone: either keeps the live SA's config rather than silently
	 * turning into plain ESP.
	 */
	if (pend || twin || (live && live->has_cfg)) {
		sa->cfg = pend ? pend->cfg : twin ? twin->cfg : live->cfg;
		sa->has_cfg = true;
		/* a rule's config comes with what the rule sets on its SAs */
		if (!pend && (twin ?: live)->rule[0]) {
			strscpy(sa->rule, (twin ?: live)->rule, sizeof(sa->rule));
			espx_rule_ctr_props(x, &sa->cfg);
		}
	} else if (!live) {
		/* nobody asked for this SA: the first rule it matches */
		err = espx_rule_bind(x, &sa->cfg, sa->rule, extack);
		if (err < 0)
			goto err_undo;
		sa->has_cfg = err > 0;
	}

	sa->x = x;
	err = espx_sa_bind_seq(en, sa, twin, x, extack);
	if (err)
		goto err_undo;
	sa->stats = stats;
	err = rhashtable_insert_fast(&espx_sa_ht, &sa->node, espx_sa_ht_params);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot index SA state");
		sa->stats = NULL;
		espx_sa_put_seq(sa);
		espx_ctrs_put(sa->ctrs);
		sa->ctrs = NULL;
		goto err_undo;
	}

	espx_sa_slot_set(espx_sa_slot(x), x, sa);
	from_pending = pend;
	if (pend)
		espx_pending_drop(en, pend);	/* its SA takes its place */
	if (!en->dead) {
		hash_add(en->ids, &sa->id_node, espx_sa_id_hash(&id));
		espx_sa_gen_bump(en);
	}
	mutex_unlock(&espx_sa_mutex);
	if (from_pending)
		espx_sa_bind_delay();
	return sa;

err_undo:
	sa->x = NULL;
	espx_sa_free(sa);
err_unlock:
	mutex_unlock(&espx_sa_mutex);
	free_percpu(stats);
	return ERR_PTR(err);
}

void espx_sa_unbind(struct xfrm_state *x)
{
	struct espx_sa *sa;

	mutex_lock(&espx_sa_mutex);
	sa = espx_sa_of(x);
	if (sa) {
		if (READ_ONCE(espx_sa_slot(x)->x) == x)
			WRITE_ONCE(espx_sa_slot(x)->x, NULL);
		rhashtable_remove_fast(&espx_sa_ht, &sa->node,
				       espx_sa_ht_params);
		/* hashed: our pernet exit has not run, the netns data lives */
		if (!hlist_unhashed(&sa->id_node)) {
			hash_del(&sa->id_node);
			espx_sa_gen_bump(espx_net(xs_net(x)));
		}
		/* no packet of x can take an SN any more */
		espx_sa_put_seq(sa);
	}
	mutex_unlock(&espx_sa_mutex);
	if (sa)
		espx_sa_free(sa);
}

static struct espx_sa_slot *espx_sa_slot(const struct xfrm_state *x)
{
	return &espx_sa_cache[hash_ptr(x, ESPX_SA_CACHE_BITS)];
}

/* Out of line: the inlined hash lookup would make the cache hit save and
 * restore every callee-saved register.
 */
static noinline struct espx_sa *espx_sa_of_slow(const struct xfrm_state *x)
{
	return rhashtable_lookup_fast(&espx_sa_ht, &x, espx_sa_ht_params);
}

/* Under espx_sa_mutex. A reader that sees ->x == x on both sides of its
 * ->sa load read the ->sa stored with x (see espx_sa_of()).
 */
static void espx_sa_slot_set(struct espx_sa_slot *slot,
			     const struct xfrm_state *x, struct espx_sa *sa)
{
	WRITE_ONCE(slot->x, NULL);
	smp_wmb();	/* ->x no longer matches before ->sa changes */
	WRITE_ONCE(slot->sa, sa);
	smp_wmb();	/* ->sa is in place before ->x matches */
	WRITE_ONCE(slot->x, x);
}

/* Lockless fast path. A state is bound once in its life, so a slot names a
 * given live x at most once: if ->x is x before and after the ->sa load, no
 * writer touched the slot in between and ->sa is x's SA. It is never
 * dereferenced here, so a stale slot (its SA freed) costs nothing. The
 * caller holds x (or RCU, as the hash lookup needs), so x's SA is alive.
 */
struct espx_sa *espx_sa_of(const struct xfrm_state *x)
{
	struct espx_sa_slot *slot = espx_sa_slot(x);
	struct espx_sa *sa;

	if (likely(READ_ONCE(slot->x) == x)) {
		smp_rmb();	/* pairs with the second smp_wmb() of set */
		sa = READ_ONCE(slot->sa);
		smp_rmb();	/* pairs with the first smp_wmb() of set */
		if (likely(READ_ONCE(slot->x) == x))
			return sa;
	}
	return espx_sa_of_slow(x);
}

void espx_sa_stats_read(const struct espx_sa *sa, u64 out[__ESPX_STAT_MAX])
{
	u64 v[__ESPX_STAT_MAX];
	unsigned int start;
	int cpu, i;

	memset(out, 0, sizeof(u64) * __ESPX_STAT_MAX);
	if (!sa->stats)
		return;
	for_each_possible_cpu(cpu) {
		const struct espx_stats *s = per_cpu_ptr(sa->stats, cpu);

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i < __ESPX_STAT_MAX; i++)
				v[i] = u64_stats_read(&s->v[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < __ESPX_STAT_MAX; i++)
			out[i] += v[i];
	}
}

int espx_cfg_add(struct net *net, const struct espx_sa_id *id,
		 const struct espx_cfg *cfg, u32 owner,
		 struct netlink_ext_ack *extack)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	int err = 0;

	mutex_lock(&espx_sa_mutex);
	if (en->dead) {
		NL_SET_ERR_MSG_MOD(extack, "network namespace is exiting");
		err = -ENODEV;
	} else if (espx_pending_find(en, id) || espx_sa_find_live(en, id)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "SA id already has a config or an SA");
		err = -EEXIST;
	} else if (en->pending >= ESPX_MAX_PENDING) {
		NL_SET_ERR_MSG_MOD(extack,
				   "too many pending configs in this namespace");
		err = -ENOSPC;
	} else {
		p = espx_pending_alloc(id, cfg, owner);
		if (!p) {
			NL_SET_ERR_MSG_MOD(extack, "no memory for config");
			err = -ENOMEM;
		} else {
			hash_add(en->pending_ids, &p->node, espx_sa_id_hash(id));
			en->pending++;
			espx_sa_gen_bump(en);
			queue_delayed_work(system_wq, &en->gc,
					   READ_ONCE(pending_timeout) * HZ + HZ);
		}
	}
	mutex_unlock(&espx_sa_mutex);
	return err;
}

int espx_cfg_del(struct net *net, const struct espx_sa_id *id,
		 struct netlink_ext_ack *extack)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	int err = 0;

	mutex_lock(&espx_sa_mutex);
	p = espx_pending_find(en, id);
	if (p) {
		espx_pending_drop(en, p);
	} else if (espx_sa_find_live(en, id)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "config is bound to an SA: delete the SA");
		err = -EBUSY;
	} else {
		NL_SET_ERR_MSG_MOD(extack, "no pending config for this SA id");
		err = -ENOENT;
	}
	mutex_unlock(&espx_sa_mutex);
	return err;
}

/* The netlink socket @owner of @net closed: the configs it left pending go
 * (called for every closing generic netlink socket: cheap when none wait).
 */
void espx_cfg_release(struct net *net, u32 owner)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	struct hlist_node *tmp;
	unsigned long bkt;

	if (!READ_ONCE(en->pending))
		return;
	mutex_lock(&espx_sa_mutex);
	hash_for_each_safe(en->pending_ids, bkt, tmp, p, node) {
		if (p->owner && p->owner == owner)
			espx_pending_drop(en, p);
	}
	mutex_unlock(&espx_sa_mutex);
}

static void espx_entry_of_pending(struct espx_entry *e,
				  const struct espx_pending *p)
{
	e->id = &p->id;
	e->cfg = &p->cfg;
	e->sa = NULL;
}

static void espx_entry_of_sa(struct espx_entry *e, const struct espx_sa *sa)
{
	e->id = &sa->id;
	e->cfg = &sa->cfg;
	e->sa = sa;
}

int espx_sa_get(struct net *net, const struct espx_sa_id *id,
		int (*fn)(const struct espx_entry *e, void *arg), void *arg)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	struct espx_entry e;
	struct espx_sa *sa;
	int err = -ENOENT;

	mutex_lock(&espx_sa_mutex);
	p = espx_pending_find(en, id);
	sa = p ? NULL : espx_sa_find_live(en, id);
	if (p)
		espx_entry_of_pending(&e, p);
	else if (sa)
		espx_entry_of_sa(&e, sa);
	if (p || sa)
		err = fn(&e, arg);
	mutex_unlock(&espx_sa_mutex);
	return err;
}

/* Changes of the netns tables so far, never 0: a dump that sees it move
 * between two of its rounds sets NLM_F_DUMP_INTR.
 */
unsigned int espx_sa_gen(const struct net *net)
{
	return READ_ONCE(espx_net(net)->gen) ?: 1;
}

/* Bucket by bucket, the pending configs then the SAs of each: @pos[1]
 * counts the entries of bucket @pos[0] already seen.
 */
int espx_sa_walk(struct net *net, unsigned long pos[2],
		 int (*fn)(const struct espx_entry *e, void *arg), void *arg)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	unsigned long bkt, i;
	struct espx_entry e;
	struct espx_sa *sa;
	int err = 0;

	mutex_lock(&espx_sa_mutex);
	for (bkt = pos[0]; bkt < HASH_SIZE(en->ids); bkt++, pos[1] = 0) {
		i = 0;
		hlist_for_each_entry(p, &en->pending_ids[bkt], node) {
			if (i++ < pos[1] || espx_pending_expired(p))
				continue;
			espx_entry_of_pending(&e, p);
			err = fn(&e, arg);
			if (err)
				goto stop;
		}
		hlist_for_each_entry(sa, &en->ids[bkt], id_node) {
			if (i++ < pos[1] || espx_sa_dead(sa))
				continue;
			espx_sa_id_sync(sa);
			espx_entry_of_sa(&e, sa);
			err = fn(&e, arg);
			if (err)
				goto stop;
		}
	}
	pos[0] = bkt;
	pos[1] = 0;
	goto out;
stop:
	pos[0] = bkt;
	pos[1] = i - 1;
out:
	mutex_unlock(&espx_sa_mutex);
	return err;
}

static int __net_init espx_net_init(struct net *net)
{
	struct espx_net *en = espx_net(net);

	hash_init(en->ids);
	hash_init(en->pending_ids);
	INIT_DELAYED_WORK(&en->gc, espx_pending_gc);
	en->pending = 0;
	en->gen = 1;
	en->dead = false;
	mutex_lock(&espx_sa_mutex);
	espx_seq_table_init(&en->seqs);
	mutex_unlock(&espx_sa_mutex);
	return 0;
}

static void __net_exit espx_net_exit(struct net *net)
{
	struct espx_net *en = espx_net(net);
	struct espx_pending *p;
	struct hlist_node *tmp;
	struct espx_sa *sa;
	unsigned long bkt;

	mutex_lock(&espx_sa_mutex);
	en->dead = true;
	mutex_unlock(&espx_sa_mutex);
	cancel_delayed_work_sync(&en->gc);	/* it requeues only while !dead */

	mutex_lock(&espx_sa_mutex);
	hash_for_each_safe(en->pending_ids, bkt, tmp, p, node)
		espx_pending_drop(en, p);
	/* the SAs are destroyed later; unbind frees them */
	hash_for_each_safe(en->ids, bkt, tmp, sa, id_node)
		hash_del(&sa->id_node);
	espx_seq_table_exit(&en->seqs);
	mutex_unlock(&espx_sa_mutex);
}

static struct pernet_operations espx_net_ops = {
	.init = espx_net_init,
	.exit = espx_net_exit,
	.id = &espx_net_id,
	.size = sizeof(struct espx_net),
};

static void espx_sa_leftover(void *ptr, void *arg)
{
	struct espx_sa *sa = ptr;

	pr_err("SA state %p still bound at exit\n", sa->x);
	mutex_lock(&espx_sa_mutex);
	espx_keyseq_put(sa->keyseq);
	mutex_unlock(&espx_sa_mutex);
	espx_ctrs_put(sa->ctrs);
	free_percpu(sa->stats);
	kfree(sa);
	atomic_dec(&espx_sa_objects);
}

int espx_sa_init(void)
{
	int err;

	espx_seq_init();
	err = rhashtable_init(&espx_sa_ht, &espx_sa_ht_params);
	if (err)
		return err;
	err = register_pernet_subsys(&espx_net_ops);
	if (err) {
		rhashtable_destroy(&espx_sa_ht);
		return err;
	}
	espx_debugfs = debugfs_create_dir("espx", NULL);
	debugfs_create_atomic_t("sa_objects", 0400, espx_debugfs,
				&espx_sa_objects);
	return 0;
}

void espx_sa_exit(void)
{
	int n;

	debugfs_remove(espx_debugfs);
	unregister_pernet_subsys(&espx_net_ops);
	rcu_barrier();	/* every espx_sa_free_rcu() has run */
	rhashtable_free_and_destroy(&espx_sa_ht, espx_sa_leftover, NULL);
	n = atomic_read(&espx_sa_objects);
	if (n)
		pr_err("%d SA objects leaked\n", n);
}
