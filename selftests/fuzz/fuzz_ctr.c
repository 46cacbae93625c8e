// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the per-counter receive window of
 * net/espx/codec/ctr_codec.c: a stream of 32-bit SNs goes through
 * infer -> replayed -> advance (multi-counters.md §6) on one window and is
 * checked against a naive model that remembers every accepted seq.
 *   make -C selftests/fuzz && build/fuzz/fuzz_ctr -max_total_time=60
 * Input: 10 octets of window parameters, then 5 octets per packet:
 *   [0..1] W = 32 * (1 + be16 % 128); [2] start mode (low 2 bits):
 *   0 = be56 of [3..9] mod 2^48, 1 = (be16 [3..4] << 32) - be40 [5..9] %
 *   2^20 (mod 2^48), 2 = 2^48 - 1 - be40 [5..9] % 2^20, 3 = be56 [3..9] %
 *   2^20; bit 2 of [2]: start with every seq of the window seen;
 *   per packet: flags (bit 0: infer against the top of up to 15 accepts
 *   ago, bits 1-4 how far; bit 5: SN relative to the view's low half) and
 *   be32 SN (or signed offset).
 * Invariants checked:
 *   - infer agrees with the model: the one seq with that low half in
 *     [top - W + 1, top - W + 2^32], dropped when <= 0 or > 2^48 - 1,
 *   - replayed agrees with the model (seq <= top and W or more old or
 *     accepted before); no seq is ever accepted twice,
 *   - an accepted seq is above top - W; top only grows and is the largest
 *     accepted seq (or the start),
 *   - at the end every seq in [top - W, top] has the model's verdict: the
 *     W ring bits (one per seq of [top - W + 1, top], struct espx_ctr_win)
 *     equal word for word those the model derives from what it accepted,
 *     and replayed agrees with the model at the edges (top - W, top - W +
 *     1, top - 1, top, top + 1) and again for every packet's seq,
 *   - the IV the sender builds for an accepted seq passes the IV check,
 *   - no access past the W bits of the ring (the window is allocated
 *     without the tail padding that espx_ctr_win_bytes() includes).
 */
#include <stddef.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/wesp_codec.c"
#include "codec/ctr_codec.c"
#include "../unit/ctr_model.h"

#define MAX_PKTS 4096
#define HDR 10
#define PKT 5
#define RING_WORDS (ESPX_CTR_WIN_MAX / 32)
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/*
 * The model: the seqs seen at the start, an interval [lo, start] (the start
 * alone, or with a full ring every seq of the window up to it), and every
 * seq a packet got accepted since, in a list and in a hash set (open
 * addressing, linear probing; a slot is empty unless it carries this input's
 * generation, so nothing is cleared between inputs). It knows nothing of the
 * ring: at the end it derives the W bits it expects from what it accepted.
 */
#define MODEL_SLOTS 16384	/* > 2 * MAX_PKTS: probes stay short */

struct model_slot {
	u64 seq;
	u32 gen;
};

struct model {
	u64 top;
	u64 lo;
	u64 start;
	u32 size;
	u32 gen;
	int n;
	u64 acc[MAX_PKTS];
	struct model_slot set[MODEL_SLOTS];
};

static struct model m;

/*
 * The model's and the final check's code gets no coverage callbacks: its
 * compares tell libFuzzer nothing about the codec, and tracing each probe
 * and each seq of them cost more than the codec itself.
 */
#define ORACLE __attribute__((no_sanitize("coverage")))

static u64 be(const u8 *p, int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static u64 start_top(const u8 *d)
{
	u64 small = be(d + 5, 5) % (1 << 20);

	switch (d[2] & 3) {
	case 0:
		return be(d + 3, 7) & ESPX_CTR_SEQ_MAX;
	case 1:
		return ((be(d + 3, 2) << 32) - small) & ESPX_CTR_SEQ_MAX;
	case 2:
		return ESPX_CTR_SEQ_MAX - small;
	default:
		return be(d + 3, 7) % (1 << 20);
	}
}

/* the slot of @seq, or the empty slot where it would go */
ORACLE static struct model_slot *model_slot(u64 seq)
{
	u32 i = (u32)((seq * 0x9e3779b97f4a7c15ULL) >> 50);

	while (m.set[i].gen == m.gen && m.set[i].seq != seq)
		i = (i + 1) & (MODEL_SLOTS - 1);
	return &m.set[i];
}

ORACLE static bool model_accepted(u64 seq)
{
	return (seq >= m.lo && seq <= m.start) || model_slot(seq)->gen == m.gen;
}

ORACLE static void model_accept(u64 seq)
{
	struct model_slot *sl = model_slot(seq);

	if (sl->gen == m.gen || (seq >= m.lo && seq <= m.start) ||
	    m.n >= MAX_PKTS)
		abort();
	sl->seq = seq;
	sl->gen = m.gen;
	m.acc[m.n++] = seq;
	if (seq > m.top)
		m.top = seq;
}

ORACLE static bool model_replayed(u64 seq)
{
	if (seq > m.top)
		return false;
	return m.top - seq >= m.size || model_accepted(seq);
}

/*
 * Set the bits of seqs [@a, @b] (@b - @a < W) in @r, in the ring layout of
 * struct espx_ctr_win (bit seq mod W), a word at a time where it can.
 */
ORACLE static void ring_set(u32 *r, u32 size, u64 a, u64 b)
{
	u32 i;

	for (; a <= b && a % 32; a++) {
		i = (u32)(a % size);
		r[i / 32] |= 1U << (i % 32);
	}
	for (; a + 31 <= b; a += 32)
		r[(u32)(a % size) / 32] = ~0U;	/* W % 32 == 0: aligned */
	for (; a <= b; a++) {
		i = (u32)(a % size);
		r[i / 32] |= 1U << (i % 32);
	}
}

/*
 * At the end, every seq in [top - W, top] must have the model's verdict.
 * Each of the W seqs in [top - W + 1, top] owns one ring bit, so the ring
 * must equal, word for word, the bits the model derives from what it
 * accepted; espx_ctr_win_replayed() answers for the window's edges and
 * again for the seq of every packet, after all the advances since.
 */
ORACLE static void check_window(const struct espx_ctr_win *w,
				const u64 *seqs, int nseq)
{
	u64 bot = m.top >= m.size - 1 ? m.top - (m.size - 1) : 0;
	u64 edge[] = { bot ? bot - 1 : 0, bot, bot + 1, m.top - 1, m.top,
		       m.top + 1 };
	u32 exp[RING_WORDS] = { 0 };
	int i;

	if (w->top != m.top || w->size != m.size)
		abort();
	if (m.start >= bot)
		ring_set(exp, m.size, m.lo > bot ? m.lo : bot, m.start);
	for (i = 0; i < m.n; i++)
		if (m.acc[i] >= bot)
			ring_set(exp, m.size, m.acc[i], m.acc[i]);
	if (memcmp(exp, w->bmp, m.size / 8))
		abort();
	for (i = 0; i < (int)ARRAY_SIZE(edge); i++)
		if (edge[i] <= ESPX_CTR_SEQ_MAX &&
		    espx_ctr_win_replayed(w, edge[i]) != model_replayed(edge[i]))
			abort();
	for (i = 0; i < nseq; i++)
		if (espx_ctr_win_replayed(w, seqs[i]) != model_replayed(seqs[i]))
			abort();
}

/*
 * One packet; @hist holds the tops after the last 16 accepts; the seq it
 * infers, if any, goes to @seqs for the final check.
 */
static void packet(struct espx_ctr_win *w, const u8 *p, u64 *hist, int *nh,
		   u64 *seqs, int *nseq)
{
	u64 view = w->top, seq = 0, mseq = 0, old = w->top;
	u32 lo = (u32)be(p + 1, 4);
	u8 iv[ESPX_WESP_IVLEN];
	int r, mr;

	if ((p[0] & 1) && *nh)
		view = hist[(*nh - 1 - (p[0] >> 1 & 15)) & 15];
	if (p[0] & 0x20)
		lo += (u32)view;
	r = espx_ctr_infer(view, w->size, lo, &seq);
	mr = model_infer(view, w->size, lo, &mseq);
	if (r != mr || (!r && seq != mseq))
		abort();
	if (r)
		return;
	seqs[(*nseq)++] = seq;
	if (espx_ctr_win_replayed(w, seq) != model_replayed(seq))
		abort();
	if (espx_ctr_win_replayed(w, seq))
		return;
	if (model_accepted(seq) || (seq <= old && old - seq >= w->size))
		abort();
	espx_ctr_win_advance(w, seq);
	if (w->top < old || w->top != (seq > old ? seq : old) ||
	    !espx_ctr_win_replayed(w, seq))
		abort();
	model_accept(seq);
	hist[(*nh)++ & 15] = w->top;
	if (espx_wesp_iv_counter(iv, (u16)lo, seq) ||
	    !espx_ctr_iv_ok(iv, (u16)lo, seq) ||
	    espx_ctr_iv_ok(iv, (u16)lo ^ 1, seq) ||
	    espx_ctr_out_verdict(seq) == ESPX_CTR_OUT_HARD)
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static u64 seqs[MAX_PKTS];
	struct espx_ctr_win *w;
	int nh = 0, nseq = 0;
	u64 hist[16];
	size_t npkt, i;
	u32 wsize;
	u64 top;

	if (size < HDR)
		return 0;
	wsize = 32 * (1 + (u32)be(data, 2) % 128);
	if (!espx_ctr_win_size_ok(wsize) ||
	    espx_ctr_win_bytes(wsize) < offsetof(struct espx_ctr_win, bmp) +
	    wsize / 8)
		abort();
	/* only the octets the ring uses: ASan sees any access past W bits */
	w = malloc(offsetof(struct espx_ctr_win, bmp) + wsize / 8);
	if (!w)
		return 0;
	top = start_top(data);
	espx_ctr_win_init(w, wsize, top);
	m.top = top;
	m.lo = top;
	m.start = top;	/* the start counts as seen */
	m.size = wsize;
	m.n = 0;
	m.gen++;	/* 2^32 inputs before a stale slot could look current */
	if (data[2] & 4) {
		/*
		 * A full ring: every later clear that misses a bit shows.
		 * Every seq in [top - W + 1, top] (from 1 when top < W) seen,
		 * the state W - 1 advances would leave, written in the ring's
		 * documented layout: those advances cost more than the rest of
		 * an input.
		 */
		m.lo = top >= wsize ? top - wsize + 1 : !!top;
		ring_set(w->bmp, wsize, m.lo, top);
	}

	npkt = (size - HDR) / PKT;
	if (npkt > MAX_PKTS)
		npkt = MAX_PKTS;
	for (i = 0; i < npkt; i++)
		packet(w, data + HDR + i * PKT, hist, &nh, seqs, &nseq);
	check_window(w, seqs, nseq);
	free(w);
	return 0;
}
