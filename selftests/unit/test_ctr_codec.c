// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/ctr_codec.c: the inference cases of
 * multi-counters.md §8, the codec items of the receiver and sender
 * checklist (§9), and a randomized differential test of infer -> replayed
 * -> advance against a naive model (a sorted list of accepted seqs).
 * Build: make -C selftests/unit
 * Prints KTAP; exit status 0 when every test passes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/wesp_codec.c"
#include "codec/ctr_codec.c"
#include "ctr_model.h"
#include "ktap.h"

#define PLAN 48
#define W_DEF ESPX_CTR_WIN_DEFAULT

/* one window of any valid size, no allocation needed */
struct win_buf {
	struct espx_ctr_win w;
	u32 bits[ESPX_CTR_WIN_MAX / 32];
};

static struct espx_ctr_win *win(struct win_buf *b, u32 size, u64 top)
{
	espx_ctr_win_init(&b->w, size, top);
	return &b->w;
}

/* the receiver's path of §6 on one window: 1 accepted, 0 replay, <0 drop */
static int rx(struct espx_ctr_win *w, u32 lo)
{
	u64 seq;

	if (espx_ctr_infer(w->top, w->size, lo, &seq))
		return ESPX_CTR_DROP_SEQ;
	if (espx_ctr_win_replayed(w, seq))
		return 0;
	espx_ctr_win_advance(w, seq);
	return 1;
}

static int infer_is(u64 top, u32 size, u32 lo, u64 want)
{
	u64 seq = 0xdead;
	int r = espx_ctr_infer(top, size, lo, &seq);

	if (r || seq != want)
		printf("# infer(%#llx, %u, %#x): %d, %#llx, want %#llx\n",
		       (unsigned long long)top, size, lo, r,
		       (unsigned long long)seq, (unsigned long long)want);
	return !r && seq == want;
}

static int infer_drops(u64 top, u32 size, u32 lo)
{
	u64 seq = 0xdead;

	return espx_ctr_infer(top, size, lo, &seq) == ESPX_CTR_DROP_SEQ &&
	       seq == 0xdead;
}

static void test_infer(void)
{
	ok(infer_is(0x100000010ULL, W_DEF, 0xfffffff0, 0xfffffff0ULL),
	   "§8 top 0x1_0000_0010, lo 0xffff_fff0: hi 0 (straddle, previous)");
	ok(infer_is(0x180000000ULL, W_DEF, 5, 0x200000005ULL),
	   "§8 top 0x1_8000_0000, lo 5: hi 2");
	ok(infer_is(0x180000000ULL, W_DEF, 0x80000001, 0x180000001ULL),
	   "§8 top 0x1_8000_0000, lo 0x8000_0001: hi 1");
	ok(infer_drops(0, W_DEF, 0xffffff00),
	   "§8 fresh counter, lo 0xffff_ff00: invalid (hi would be -1)");

	ok(infer_is(0, W_DEF, 1, 1) &&
	   infer_is(0, W_DEF, 0xfffffc00, 0xfffffc00ULL) &&
	   infer_drops(0, W_DEF, 0xfffffc01) && infer_drops(0, 32, 0xffffffe1) &&
	   infer_is(0, 32, 0xffffffe0, 0xffffffe0ULL),
	   "fresh counter: lo 1..2^32-W valid, 2^32-W+1.. invalid (W 1024, 32)");
	ok(infer_is(1022, W_DEF, 0xfffffffe, 0xfffffffeULL) &&
	   infer_drops(1022, W_DEF, 0xffffffff) &&
	   infer_is(1023, W_DEF, 0xffffffff, 0xffffffffULL) &&
	   infer_drops(1023, W_DEF, 0),
	   "Tl = W-2 straddles (invalid), Tl = W-1 does not (block 0 only)");
	ok(infer_is(0x1000003ffULL, W_DEF, 0, 0x100000000ULL) &&
	   infer_is(0x1000003ffULL, W_DEF, 0xffffffff, 0x1ffffffffULL) &&
	   infer_is(0x1000003feULL, W_DEF, 0xffffffff, 0xffffffffULL),
	   "block 1: Tl = W-1 stays in block 1, Tl = W-2 reaches block 0");
	ok(infer_drops(0xfffffffffff0ULL, W_DEF, 5) &&
	   infer_is(0xfffffffffff0ULL, W_DEF, 0xffffffff, ESPX_CTR_SEQ_MAX) &&
	   infer_drops(0xffff00000000ULL + 0x80000000, W_DEF, 7),
	   "near 2^48: hi 0x10000 dropped, 2^48-1 accepted");
	ok(infer_drops(1023, W_DEF, 0) && infer_drops(0, W_DEF, 0) &&
	   infer_is(0x100000000ULL, W_DEF, 0, 0x100000000ULL),
	   "seq 0 dropped (hi 0, lo 0); hi 1, lo 0 fine");
	ok(infer_drops(0, 0, 5) && infer_drops(0, 33, 5) &&
	   infer_drops(0, 4128, 5) && infer_drops(~0ULL, W_DEF, 5),
	   "invalid window size or top above 2^48: dropped");
}

static void test_size(void)
{
	u64 seq_max = ESPX_CTR_SEQ_MAX, soft = ESPX_CTR_SEQ_SOFT;
	u32 n = ESPX_CTR_MAX, def = ESPX_CTR_WIN_DEFAULT;

	ok(!espx_ctr_win_size_ok(0) && !espx_ctr_win_size_ok(16) &&
	   !espx_ctr_win_size_ok(31) && espx_ctr_win_size_ok(32) &&
	   !espx_ctr_win_size_ok(48) && espx_ctr_win_size_ok(96) &&
	   espx_ctr_win_size_ok(1024) && espx_ctr_win_size_ok(4096) &&
	   !espx_ctr_win_size_ok(4128) && !espx_ctr_win_size_ok(~0U),
	   "window sizes: 32..4096, multiples of 32");
	ok(espx_ctr_win_bytes(32) == 20 && espx_ctr_win_bytes(1024) == 144 &&
	   espx_ctr_win_bytes(4096) == 528 && espx_ctr_win_bytes(40) == 0 &&
	   sizeof(struct espx_ctr_win) == 16,
	   "window bytes = W/8 + 16 (§5 bound), 0 for a bad size");
	ok(seq_max == ESPX_WESP_SEQ_MAX && seq_max == (1ULL << 48) - 1 &&
	   soft == 1ULL << 47 && n == 1024 && def == 1024,
	   "constants agree with wesp_codec, §3, §5");
}

/* every seq of the window's range: replayed iff in @seen (or it is top) */
static int range_is(const struct espx_ctr_win *w, const u64 *seen, int n)
{
	u64 s, lo = w->top >= w->size ? w->top - w->size + 1 : 0;
	int i, want;

	for (s = lo; s <= w->top; s++) {
		want = s == w->top;
		for (i = 0; i < n; i++)
			want |= seen[i] == s;
		if (espx_ctr_win_replayed(w, s) != want) {
			printf("# seq %llu replayed %d want %d\n",
			       (unsigned long long)s, !want, want);
			return 0;
		}
	}
	return espx_ctr_win_replayed(w, lo - 1) || !lo;
}

static void test_rx(void)
{
	struct win_buf a, b;
	struct espx_ctr_win *w = win(&a, W_DEF, 0), *v;
	u64 seen[1], top;
	int i, r;

	ok(espx_ctr_win_replayed(w, 0) && !espx_ctr_win_replayed(w, 1) &&
	   rx(w, 0) < 0, "§9 seq 0: dropped by infer and by a fresh window");
	ok(rx(w, 5) == 1 && rx(w, 5) == 0 && w->top == 5 && rx(w, 4) == 1 &&
	   rx(w, 4) == 0 && w->top == 5, "§9 replay within one counter");

	v = win(&b, W_DEF, 0);
	ok(rx(v, 5) == 1 && rx(v, 3) == 1 && rx(w, 3) == 1,
	   "§9 same SNlo on two counters: both accepted");
	for (i = 0; i < 10; i++)
		rx(w, 5 + (i + 1) * W_DEF);
	ok(w->top == 5 + 10 * W_DEF && rx(v, 2) == 1 && rx(v, 1) == 1,
	   "§9 counter far behind another: accepted in its own window");

	w = win(&a, W_DEF, 0);
	r = rx(w, 1000) == 1 && rx(w, 500) == 1 && rx(w, 1) == 1 &&
	    rx(w, 999) == 1 && rx(w, 500) == 0;
	ok(r, "§9 older but within W: accepted once");

	for (top = 0x100000000ULL - 3; top < 0x100000000ULL + 3; top++) {
		w = win(&a, W_DEF, 0);
		espx_ctr_win_advance(w, top);
		r = espx_ctr_win_replayed(w, top - W_DEF) &&
		    !espx_ctr_win_replayed(w, top - W_DEF + 1);
		espx_ctr_win_advance(w, top - W_DEF + 1);
		r = r && espx_ctr_win_replayed(w, top - W_DEF + 1);
		if (!r)
			break;
	}
	ok(r, "exactly W old rejected, W-1 old accepted once (around 2^32)");

	w = win(&a, W_DEF, 5000);
	espx_ctr_win_advance(w, 4900);
	memcpy(&b, &a, sizeof(a));
	espx_ctr_win_advance(w, 5000 - W_DEF);
	espx_ctr_win_advance(w, 0);
	seen[0] = 4900;
	ok(!memcmp(&a, &b, sizeof(a)) && range_is(w, seen, 1),
	   "advance ignores a seq W or more below top");
}

static const u32 sizes4[] = { 32, 96, 1024, 4096 };

/* a ring full of seen bits, then a jump: exactly the passed bits cleared */
static int jump_ok(u32 sz, u64 base, u32 jump)
{
	struct win_buf a;
	struct espx_ctr_win *w = win(&a, sz, base);
	u64 s;

	for (s = base - sz + 1; s < base; s++)
		espx_ctr_win_advance(w, s);
	espx_ctr_win_advance(w, base + jump);
	if (w->top != base + jump)
		return 0;
	for (s = base - sz + 1; s <= base; s++)
		if (s + sz > w->top && !espx_ctr_win_replayed(w, s))
			return 0;
	for (s = base + 1; s < w->top; s++)
		if (espx_ctr_win_replayed(w, s) != (s + sz <= w->top))
			return 0;
	return espx_ctr_win_replayed(w, w->top);
}

static void test_jumps(void)
{
	static const char * const desc[] = {
		"big jumps clear the ring exactly, W 32",
		"big jumps clear the ring exactly, W 96",
		"big jumps clear the ring exactly, W 1024",
		"big jumps clear the ring exactly, W 4096",
	};
	unsigned int si, ji;
	int r;

	for (si = 0; si < 4; si++) {
		u32 sz = sizes4[si];
		u32 js[] = { 1, 31, 32, 33, 63, 64, 65, sz / 2 + 7, sz - 33,
			     sz - 1, sz, sz + 1, 10 * sz };

		r = 1;
		for (ji = 0; ji < ARRAY_SIZE(js) && r; ji++) {
			/* every ring offset class near the 2^32 boundary */
			r = jump_ok(sz, 0xfffffff0ULL - sz / 2 + ji, js[ji]) &&
			    jump_ok(sz, 0x100000000ULL + 3 * ji, js[ji]);
			if (!r)
				printf("# W %u jump %u\n", sz, js[ji]);
		}
		ok(r, desc[si]);
	}
}

static void test_edges(void)
{
	static const char * const desc[] = {
		"W 32: edges and whole range",
		"W 96 (non-default): edges and whole range",
		"W 1024: edges and whole range",
		"W 4096: edges and whole range",
	};
	struct win_buf a;
	struct espx_ctr_win *w;
	unsigned int si;
	u64 seen[2];
	u32 sz;
	int r;

	for (si = 0; si < 4; si++) {
		sz = sizes4[si];
		w = win(&a, sz, 0);
		r = rx(w, 3 * sz) == 1 && rx(w, 2 * sz + 1) == 1 &&
		    espx_ctr_win_replayed(w, 2 * sz) &&
		    rx(w, 2 * sz + 1) == 0 && rx(w, 3 * sz - 1) == 1 &&
		    w->top == 3 * sz;
		seen[0] = 2 * sz + 1;
		seen[1] = 3 * sz - 1;
		ok(r && range_is(w, seen, 2), desc[si]);
	}
}

static void test_iv_out(void)
{
	u8 iv[8], bad[8];
	int i, r = 1;

	espx_wesp_iv_counter(iv, 5, 0x100000002ULL);
	ok(espx_ctr_iv_ok(iv, 5, 0x100000002ULL),
	   "iv_ok: §8 IV 00 05 | 00 01 00 00 00 02 accepted");
	for (i = 0; i < 64; i++) {
		memcpy(bad, iv, 8);
		bad[i / 8] ^= 0x80 >> (i % 8);
		r = r && !espx_ctr_iv_ok(bad, 5, 0x100000002ULL);
	}
	ok(r, "iv_ok: each of the 64 bits flipped rejected");
	ok(!espx_ctr_iv_ok(iv, 4, 0x100000002ULL) &&
	   !espx_ctr_iv_ok(iv, 0x8005, 0x100000002ULL) &&
	   !espx_ctr_iv_ok(iv, 5, 0x100000003ULL) &&
	   !espx_ctr_iv_ok(iv, 5, 0x200000002ULL),
	   "iv_ok: other id or seq rejected");
	ok(!espx_ctr_iv_ok(iv, 5, 0x1000100000002ULL) &&
	   !espx_ctr_iv_ok(iv, 5, 0x100000002ULL | 1ULL << 63),
	   "iv_ok: seq above 2^48-1 with the same low 48 bits rejected");
	memset(bad, 0, 8);
	espx_wesp_iv_counter(iv, 0xffff, ESPX_CTR_SEQ_MAX);
	ok(!espx_ctr_iv_ok(bad, 0, 0) &&
	   espx_ctr_iv_ok(iv, 0xffff, ESPX_CTR_SEQ_MAX),
	   "iv_ok: seq 0 rejected, id 0xffff seq 2^48-1 accepted");

	/* top 0x1_0000_0400, W 1024: SN 5 infers to 0x2_0000_0005, but the
	 * IV says 0x1_0000_0005, older than the window
	 */
	espx_wesp_iv_counter(iv, 5, 0x100000005ULL);
	ok(!espx_ctr_iv_ok(iv, 5, 0x200000005ULL) &&
	   espx_ctr_iv_too_old(iv, 5, 5, 0x100000400ULL) &&
	   espx_ctr_iv_too_old(iv, 5, 5, 0x100000005ULL),
	   "iv_too_old: IV of an older seq on the same counter and SN");
	ok(!espx_ctr_iv_too_old(iv, 4, 5, 0x100000400ULL) &&
	   !espx_ctr_iv_too_old(iv, 5, 6, 0x100000400ULL) &&
	   !espx_ctr_iv_too_old(iv, 5, 5, 0x100000004ULL),
	   "iv_too_old: other id, other SN, or a seq above top: not too old");

	ok(espx_ctr_out_verdict(ESPX_CTR_SEQ_SOFT - 1) == ESPX_CTR_OUT_OK,
	   "out verdict 2^47-1: ok");
	ok(espx_ctr_out_verdict(ESPX_CTR_SEQ_SOFT) == ESPX_CTR_OUT_SOFT,
	   "out verdict 2^47: soft expire");
	ok(espx_ctr_out_verdict(ESPX_CTR_SEQ_SOFT + 1) == ESPX_CTR_OUT_OK,
	   "out verdict 2^47+1: ok (soft once)");
	ok(espx_ctr_out_verdict(ESPX_CTR_SEQ_MAX) == ESPX_CTR_OUT_OK,
	   "out verdict 2^48-1: ok");
	ok(espx_ctr_out_verdict(ESPX_CTR_SEQ_MAX + 1) == ESPX_CTR_OUT_HARD &&
	   espx_ctr_out_verdict(~0ULL) == ESPX_CTR_OUT_HARD,
	   "out verdict 2^48 and 2^64-1: hard");
	ok(espx_ctr_out_verdict(1) == ESPX_CTR_OUT_OK &&
	   espx_ctr_out_verdict(0) == ESPX_CTR_OUT_HARD,
	   "out verdict 1: ok, 0 (wrapped): hard");
}

/* ---- randomized differential test ---- */

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* naive model: top and the accepted seqs above top - W, sorted */
struct model {
	u64 top;
	u32 size;
	int n;
	u64 acc[ESPX_CTR_WIN_MAX + 1];
};

/* index of the first accepted seq >= @seq */
static int model_find(const struct model *m, u64 seq)
{
	int lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (m->acc[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int model_replayed(const struct model *m, u64 seq)
{
	int i;

	if (seq > m->top)
		return 0;
	if (m->top - seq >= m->size)
		return 1;
	i = model_find(m, seq);
	return i < m->n && m->acc[i] == seq;
}

static void model_accept(struct model *m, u64 seq)
{
	int i;

	if (seq > m->top)
		m->top = seq;
	for (i = 0; i < m->n && m->top - m->acc[i] >= m->size; i++)
		;
	memmove(m->acc, m->acc + i, (m->n - i) * sizeof(u64));
	m->n -= i;
	i = model_find(m, seq);
	if (i < m->n && m->acc[i] == seq)
		abort();	/* accepted twice */
	memmove(m->acc + i + 1, m->acc + i, (m->n - i) * sizeof(u64));
	m->acc[i] = seq;
	m->n++;
}

struct diff_stats {
	long ops, acc, seen, old, bad;
};

static int full_check(const struct espx_ctr_win *w, const struct model *m)
{
	u64 s, lo = m->top >= m->size ? m->top - m->size : 0;

	if (w->top != m->top)
		return 0;
	for (s = lo; s <= m->top; s++)
		if (espx_ctr_win_replayed(w, s) != model_replayed(m, s))
			return 0;
	return 1;
}

/* one window vs the model; @stale tops emulate the unlocked pre-crypto view */
static int diff_run(u32 size, u64 start, long ops, struct diff_stats *st)
{
	static struct model m;
	/* only the octets the ring uses: ASan sees any access past W bits */
	struct espx_ctr_win *w = malloc(offsetof(struct espx_ctr_win, bmp) +
					size / 8);
	u64 hist[16], view, target, seq, mseq;
	long i;
	int r, mr, k, good = 0;

	if (!w)
		return 0;
	espx_ctr_win_init(w, size, start);
	m.top = start;
	m.size = size;
	m.n = 0;
	model_accept(&m, start);
	for (k = 0; k < 16; k++)
		hist[k] = start;
	for (i = 0; i < ops; i++) {
		u64 x = rnd();

		/* a quarter of the packets are inferred against an old top */
		view = (x & 3) ? w->top : hist[(x >> 2) & 15];
		switch ((x >> 8) % 10) {
		case 0: case 1: case 2:		/* in order */
			target = view + 1 + ((x >> 16) & 3);
			break;
		case 3: case 4:			/* reordered inside ~W */
			target = view - ((x >> 16) % (size + 3)) + 1;
			break;
		case 5:				/* replay of a recent one */
			target = m.n ? m.acc[(x >> 16) % m.n] : view;
			break;
		case 6:				/* jumps around W */
			target = view + size - 2 + ((x >> 16) & 3);
			break;
		case 7:				/* big jumps */
			target = view + ((x >> 16) % (3ULL * size + 1));
			break;
		case 8:				/* anywhere within 2^33 */
			target = view + ((x >> 16) & 0x1ffffffffULL) -
				 0x100000000ULL;
			break;
		default:			/* any SN at all */
			target = x >> 20;
			break;
		}
		r = espx_ctr_infer(view, size, (u32)target, &seq);
		mr = model_infer(view, size, (u32)target, &mseq);
		if (r != mr || (!r && seq != mseq)) {
			printf("# op %ld: infer(%#llx, %u, %#x) %d/%#llx, model %d/%#llx\n",
			       i, (unsigned long long)view, size, (u32)target,
			       r, (unsigned long long)seq, mr,
			       (unsigned long long)mseq);
			goto out;
		}
		st->ops++;
		if (r) {
			st->bad++;
			continue;
		}
		r = espx_ctr_win_replayed(w, seq);
		if (r != model_replayed(&m, seq)) {
			printf("# op %ld: seq %#llx top %#llx replayed %d\n", i,
			       (unsigned long long)seq,
			       (unsigned long long)w->top, r);
			goto out;
		}
		if (r) {
			if (m.top - seq >= size)
				st->old++;
			else
				st->seen++;
			continue;
		}
		espx_ctr_win_advance(w, seq);
		model_accept(&m, seq);
		st->acc++;
		hist[i & 15] = w->top;
		if (st->acc % 997 == 0 && !full_check(w, &m)) {
			printf("# op %ld: window differs from the model\n", i);
			goto out;
		}
	}
	good = full_check(w, &m);
out:
	free(w);
	return good;
}

static void test_differential(void)
{
	static const u32 sizes[] = { 32, 64, 96, 1024, 4064, 4096 };
	static const u64 starts[] = {
		0, 1, 0xffffffffULL - 40, 0xffffffffULL - 2000, 0x100000000ULL,
		0x100000000ULL + 30, 0x5ffffffffULL - 4000,
		ESPX_CTR_SEQ_MAX - 0x100000000ULL, ESPX_CTR_SEQ_MAX - 3000,
	};
	struct diff_stats st, all = { 0 };
	unsigned int si, ti;
	char desc[96];
	int r;

	for (si = 0; si < ARRAY_SIZE(sizes); si++) {
		memset(&st, 0, sizeof(st));
		r = 1;
		for (ti = 0; ti < ARRAY_SIZE(starts) && r; ti++)
			r = diff_run(sizes[si], starts[ti], 4000, &st);
		printf("# W %u: %ld ops: %ld accepted, %ld seen, %ld too old, %ld bad seq\n",
		       sizes[si], st.ops, st.acc, st.seen, st.old, st.bad);
		snprintf(desc, sizeof(desc),
			 "differential W %u: codec agrees with the model",
			 sizes[si]);
		ok(r && st.acc && st.seen && st.old && st.bad, desc);
		all.ops += st.ops;
	}
	ok(all.ops >= 200000, "differential: at least 200000 operations");
}

int main(void)
{
	ktap_plan(PLAN);
	test_infer();
	test_size();
	test_rx();
	test_jumps();
	test_edges();
	test_iv_out();
	test_differential();
	return ktap_done(PLAN);
}
