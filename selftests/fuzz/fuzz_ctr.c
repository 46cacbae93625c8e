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
 *   - at the end every seq in [top - W, top] has the model's verdict,
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
/* the start, a full window, the packets */
#define MODEL_MAX (1 + ESPX_CTR_WIN_MAX + MAX_PKTS)

/*
 * The model: every seq accepted since the start, in a hash set (open
 * addressing, linear probing; a slot is empty unless it carries this input's
 * generation, so nothing is cleared between inputs). A sorted array with
 * memmove cost O(accepted) per accept and kept the target at ~900 execs/s.
 */
#define MODEL_SLOTS 16384	/* > 2 * MODEL_MAX: probes stay short */

struct model_slot {
	u64 seq;
	u32 gen;
};

struct model {
	u64 top;
	u32 size;
	u32 gen;
	int n;
	struct model_slot set[MODEL_SLOTS];
};

static struct model m;

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
static struct model_slot *model_slot(u64 seq)
{
	u32 i = (u32)((seq * 0x9e3779b97f4a7c15ULL) >> 50);

	while (m.set[i].gen == m.gen && m.set[i].seq != seq)
		i = (i + 1) & (MODEL_SLOTS - 1);
	return &m.set[i];
}

static bool model_accepted(u64 seq)
{
	return model_slot(seq)->gen == m.gen;
}

static void model_accept(u64 seq)
{
	struct model_slot *sl = model_slot(seq);

	if (sl->gen == m.gen || m.n >= MODEL_MAX)
		abort();
	sl->seq = seq;
	sl->gen = m.gen;
	m.n++;
	if (seq > m.top)
		m.top = seq;
}

static bool model_replayed(u64 seq)
{
	if (seq > m.top)
		return false;
	return m.top - seq >= m.size || model_accepted(seq);
}

static void check_window(const struct espx_ctr_win *w)
{
	u64 s = m.top >= m.size ? m.top - m.size : 0;

	if (w->top != m.top || w->size != m.size)
		abort();
	for (; s <= m.top; s++)
		if (espx_ctr_win_replayed(w, s) != model_replayed(s))
			abort();
}

/* one packet; @hist holds the tops after the last 16 accepts */
static void packet(struct espx_ctr_win *w, const u8 *p, u64 *hist, int *nh)
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
	struct espx_ctr_win *w;
	u64 hist[16];
	size_t npkt, i;
	u64 top, s;
	u32 wsize;
	int nh = 0;

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
	m.size = wsize;
	m.n = 0;
	m.gen++;	/* 2^32 inputs before a stale slot could look current */
	model_accept(top);	/* the start counts as seen */
	if (data[2] & 4) {
		/* a full ring: every later clear that misses a bit shows */
		for (s = top > wsize ? top - wsize + 1 : 1; s < top; s++) {
			espx_ctr_win_advance(w, s);
			model_accept(s);
		}
	}

	npkt = (size - HDR) / PKT;
	if (npkt > MAX_PKTS)
		npkt = MAX_PKTS;
	for (i = 0; i < npkt; i++)
		packet(w, data + HDR + i * PKT, hist, &nh);
	check_window(w);
	free(w);
	return 0;
}
