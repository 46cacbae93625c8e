// SPDX-License-Identifier: GPL-2.0
/* espx per-key sequence numbers of nonce SAs and the per-key memory of
 * counter and EESP SAs (see seq.h), and the expiry of a state whose sequence space is
 * used up.
 *
 * How long a key is remembered. A keyseq lives while any state of its
 * namespace uses the key. After that it is a tombstone: 24 octets of
 * fingerprint and last SN, no key material. Tombstones stay for the life of
 * the namespace, up to ESPX_SEQ_TOMBS_MAX per namespace; past that the
 * oldest is forgotten (logged). A state built again with a remembered key
 * (GETAE, DELSA, NEWSA with the old oseq; ip xfrm state deleteall and add
 * with a fixed key) continues after the last SN sent, a counter SA's
 * counters and an EESP SA's Sub SAs all start above the highest seq or SN
 * sent; XFRM_MSG_NEWAE that
 * sets oseq back cannot move the keyseq back at all. What espx cannot know
 * is what happened before it was loaded or in another boot: a nonce SA must
 * get a fresh key from its key manager (IKE), never a static key reused
 * after a reboot or a module reload (RFC 8750 §5 says the same of implicit
 * IVs). README "Limits" says so.
 *
 * The fingerprint is SipHash with a key drawn at module load over the
 * algorithm name, ICV length and key blob (salt included), so nothing of the
 * key is kept. Two keys sharing a fingerprint (probability 2^-64 per pair)
 * would only share an SN sequence, which keeps both unique.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <net/xfrm.h>
#include "espx.h"
#include "sa.h"
#include "seq.h"

static siphash_key_t espx_fp_secret __read_mostly;

void espx_seq_init(void)
{
	get_random_bytes(&espx_fp_secret, sizeof(espx_fp_secret));
}

/* The key's fingerprint; 0 for a state without an AEAD key. */
static u64 espx_key_fp(const struct xfrm_state *x)
{
	const struct xfrm_algo_aead *a = x->aead;
	u64 name, key;

	if (!a)
		return 0;
	name = siphash(a->alg_name, strnlen(a->alg_name, sizeof(a->alg_name)),
		       &espx_fp_secret);
	key = siphash(a->alg_key, DIV_ROUND_UP(a->alg_key_len, 8),
		      &espx_fp_secret);
	return siphash_3u64(name, key,
			    (u64)a->alg_key_len << 32 | a->alg_icv_len,
			    &espx_fp_secret);
}

void espx_seq_table_init(struct espx_seq_table *t)
{
	hash_init(t->byfp);
	INIT_LIST_HEAD(&t->tombs);
	t->ntombs = 0;
}

static void espx_keyseq_bury(struct espx_keyseq *k)
{
	struct espx_seq_table *t = k->table;
	struct espx_keyseq *old;

	if (!t) {		/* its namespace is gone */
		kfree(k);
		return;
	}
	list_add_tail(&k->tomb, &t->tombs);
	if (++t->ntombs <= ESPX_SEQ_TOMBS_MAX)
		return;
	old = list_first_entry(&t->tombs, struct espx_keyseq, tomb);
	list_del(&old->tomb);
	hash_del(&old->node);
	t->ntombs--;
	pr_notice_ratelimited("more than %u deleted nonce, counter or EESP SA keys in a namespace: the oldest is forgotten\n",
			      ESPX_SEQ_TOMBS_MAX);
	kfree(old);
}

/* Namespace exit: tombstones go; a keyseq still in use lives on with its
 * states (they are destroyed after our pernet exit) and is freed by the last.
 */
void espx_seq_table_exit(struct espx_seq_table *t)
{
	struct espx_keyseq *k;
	struct hlist_node *tmp;
	unsigned long bkt;

	hash_for_each_safe(t->byfp, bkt, tmp, k, node) {
		hash_del(&k->node);
		if (k->users) {
			k->table = NULL;
		} else {
			list_del(&k->tomb);
			kfree(k);
		}
	}
	t->ntombs = 0;
}

/**
 * espx_keyseq_get - the sequence of a nonce SA's key, shared or new
 * @t: the namespace's table
 * @x: the state being built (its AEAD key set)
 *
 * Caller holds espx_sa_mutex. Return: a keyseq with one more user, or NULL
 * (no memory, or no AEAD key).
 */
struct espx_keyseq *espx_keyseq_get(struct espx_seq_table *t,
				    const struct xfrm_state *x)
{
	u64 fp = espx_key_fp(x);
	struct espx_keyseq *k;

	if (!x->aead)
		return NULL;
	hash_for_each_possible(t->byfp, k, node, fp) {
		if (k->fp != fp)
			continue;
		if (!k->users++) {
			list_del(&k->tomb);
			t->ntombs--;
		}
		return k;
	}
	k = kzalloc(sizeof(*k), GFP_KERNEL_ACCOUNT);
	if (!k)
		return NULL;
	k->fp = fp;
	k->table = t;
	k->users = 1;
	atomic64_set(&k->last, 0);
	hash_add(t->byfp, &k->node, fp);
	return k;
}

/* Caller holds espx_sa_mutex; no packet of the state can still take an SN
 * (its destructor runs, or it never became visible).
 */
void espx_keyseq_put(struct espx_keyseq *k)
{
	if (k && !--k->users) {
		k->ctrs = NULL;		/* its last state went */
		k->etx = NULL;
		/* nothing was sent under the key (SNs and seqs start at 1):
		 * no IV to collide with, a refused SA leaves no numbering
		 */
		if (!atomic64_read(&k->last))
			k->numbering = ESPX_KEYSEQ_UNSET;
		espx_keyseq_bury(k);
	}
}

/* Raise k->last to at least @seq (counter SAs, at unbind). */
void espx_keyseq_raise(struct espx_keyseq *k, u64 seq)
{
	s64 last = atomic64_read(&k->last);

	do {
		if ((u64)last >= seq)
			return;
	} while (!atomic64_try_cmpxchg(&k->last, &last, seq));
}

/* Mirror the core's lifetime handling (xfrm_state_check_expire()): a soft
 * expire tells the key manager once; a hard one marks the state expired and
 * lets the state timer delete it and send the hard XFRM_MSG_EXPIRE. Once per
 * state: two states sharing a sequence both expire.
 */
void espx_sa_expire(struct xfrm_state *x, struct espx_sa *sa, bool hard,
		    const char *why)
{
	if (test_and_set_bit(hard ? ESPX_SA_EXPIRED_HARD : ESPX_SA_EXPIRED_SOFT,
			     &sa->flags))
		return;
	pr_info_ratelimited("SA spi 0x%08x: %s, %s expire\n",
			    ntohl(x->id.spi), why, hard ? "hard" : "soft");
	spin_lock_bh(&x->lock);
	if (hard) {
		if (x->km.state == XFRM_STATE_VALID) {
			x->km.state = XFRM_STATE_EXPIRED;
			hrtimer_start(&x->mtimer, 0, HRTIMER_MODE_REL_SOFT);
		}
	} else if (!x->km.dying) {
		x->km.dying = 1;
		km_state_expired(x, 0, 0);
	}
	spin_unlock_bh(&x->lock);
}

int espx_keyseq_exhausted(struct xfrm_state *x, struct espx_sa *sa)
{
	espx_sa_expire(x, sa, true, "the key's sequence numbers are used up");
	espx_stat_inc(sa, ESPX_STAT_OUT_DROP_CTR_EXHAUSTED);
	return -EOVERFLOW;
}
