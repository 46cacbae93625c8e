// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free sequence arithmetic of counter SAs; see ctr_codec.h. Built into
 * the module as its own object and into the userspace unit tests and
 * fuzzers.
 */
#include "ctr_codec.h"

/**
 * espx_ctr_win_size_ok - whether @size is a valid window size (§5, §7)
 * @size: W in bits
 *
 * Return: true for a multiple of 32 in [ESPX_CTR_WIN_MIN, ESPX_CTR_WIN_MAX].
 */
bool espx_ctr_win_size_ok(u32 size)
{
	return size >= ESPX_CTR_WIN_MIN && size <= ESPX_CTR_WIN_MAX &&
	       !(size % ESPX_CTR_WIN_WORD);
}

/**
 * espx_ctr_win_bytes - octets to allocate for a window of @size bits
 * @size: W in bits
 *
 * sizeof(struct espx_ctr_win) is 16, so this is the W/8 + 16 of §5's
 * memory bound.
 *
 * Return: the octets, or 0 when !espx_ctr_win_size_ok(@size).
 */
size_t espx_ctr_win_bytes(u32 size)
{
	if (!espx_ctr_win_size_ok(size))
		return 0;
	return sizeof(struct espx_ctr_win) + size / 8;
}

static bool espx_ctr_bit_test(const struct espx_ctr_win *w, u64 seq)
{
	u32 b = espx_ctr_win_mod(seq, w->size);

	return w->bmp[b / ESPX_CTR_WIN_WORD] & (1U << (b % ESPX_CTR_WIN_WORD));
}

static void espx_ctr_bit_set(struct espx_ctr_win *w, u64 seq)
{
	u32 b = espx_ctr_win_mod(seq, w->size);

	w->bmp[b / ESPX_CTR_WIN_WORD] |= 1U << (b % ESPX_CTR_WIN_WORD);
}

/* Clear bits [@from, @from + @n) of @bmp, a whole word at a time where it
 * can: a jump by thousands must not cost thousands of operations.
 */
static void espx_ctr_bits_clear(u32 *bmp, u32 from, u32 n)
{
	u32 end = from + n, bit, len;

	while (from < end) {
		bit = from % ESPX_CTR_WIN_WORD;
		len = ESPX_CTR_WIN_WORD - bit;
		if (len > end - from)
			len = end - from;
		if (len == ESPX_CTR_WIN_WORD)
			bmp[from / ESPX_CTR_WIN_WORD] = 0;
		else
			bmp[from / ESPX_CTR_WIN_WORD] &= ~(((1U << len) - 1) << bit);
		from += len;
	}
}

/**
 * espx_ctr_win_init - start a window
 * @w: espx_ctr_win_bytes(@size) octets
 * @size: W in bits; must satisfy espx_ctr_win_size_ok()
 * @top: the start value, normally 0
 *
 * The start value itself counts as seen (it is the "highest accepted"), so
 * a window started at 0 also refuses seq 0 on its own; the W - 1 seqs below
 * a non-zero start are still acceptable once each.
 */
void espx_ctr_win_init(struct espx_ctr_win *w, u32 size, u64 top)
{
	w->top = top;
	w->size = size;
	memset(w->bmp, 0, size / 8);
	espx_ctr_bit_set(w, top);
}

/**
 * espx_ctr_infer - a counter's full seq from its 32-bit SN (§6 infer_hi)
 * @top: the window's top; for a counter without a window its start (0)
 * @size: W in bits; must satisfy espx_ctr_win_size_ok()
 * @snlo: the ESP SN field
 * @seq: output, set only on success
 *
 * As RFC 4303 Appendix A2: the result is the one seq with low half @snlo
 * in [top - W + 1, top - W + 2^32], i.e. the window's bottom and the 2^32
 * seqs from there. A bottom below 0 (a straddling window in block 0, e.g.
 * a fresh counter) leaves the SNs that would need block -1 invalid.
 *
 * Return: ESPX_CTR_OK, or ESPX_CTR_DROP_SEQ when the high half would be
 * negative, or seq would be 0 or above ESPX_CTR_SEQ_MAX (or @size is bad).
 */
int espx_ctr_infer(u64 top, u32 size, u32 snlo, u64 *seq)
{
	u32 th = (u32)(top >> 32), tl = (u32)top;
	u32 bottom = tl - (size - 1);	/* mod 2^32 */
	u64 hi, s;

	if (!espx_ctr_win_size_ok(size))
		return ESPX_CTR_DROP_SEQ;
	if (tl >= size - 1) {
		/* window inside block th: below it lies block th + 1 */
		hi = (u64)th + (snlo < bottom);
	} else if (snlo >= bottom) {
		/* window straddles: the upper SNs belong to block th - 1 */
		if (!th)
			return ESPX_CTR_DROP_SEQ;
		hi = th - 1;
	} else {
		hi = th;
	}
	if (hi > ESPX_CTR_SEQ_MAX >> 32)
		return ESPX_CTR_DROP_SEQ;
	s = hi << 32 | snlo;
	if (!s || s > ESPX_CTR_SEQ_MAX)
		return ESPX_CTR_DROP_SEQ;
	*seq = s;
	return ESPX_CTR_OK;
}

/**
 * espx_ctr_win_replayed - §6 too_old_or_seen
 * @w: the counter's window
 * @seq: the packet's seq (from espx_ctr_infer())
 *
 * Called before the crypto (against a possibly stale view) and again under
 * the window's lock after it, because other CPUs may have moved top.
 *
 * Return: true (drop as replay) when @seq is W or more below top or its bit
 * is set.
 */
bool espx_ctr_win_replayed(const struct espx_ctr_win *w, u64 seq)
{
	if (seq > w->top)
		return false;
	if (w->top - seq >= w->size)
		return true;
	return espx_ctr_bit_test(w, seq);
}

/**
 * espx_ctr_win_advance - §6 advance: record an accepted seq
 * @w: the counter's window, locked
 * @seq: the seq, for which espx_ctr_win_replayed() just returned false
 *
 * A seq above top moves top there and clears the ring bits of the seqs
 * passed over (they held seqs that now fall out of the window): at most W
 * bits, in O(min(seq - top, W) / 32) word operations. Then bit(seq) is set.
 * A seq W or more below top is ignored: its bit belongs to a newer seq.
 */
void espx_ctr_win_advance(struct espx_ctr_win *w, u64 seq)
{
	u64 delta;
	u32 from, first;

	if (seq > w->top) {
		delta = seq - w->top;
		if (delta >= w->size) {
			memset(w->bmp, 0, w->size / 8);
		} else {
			from = espx_ctr_win_mod(w->top + 1, w->size);
			first = w->size - from;
			if (first > delta)
				first = (u32)delta;
			espx_ctr_bits_clear(w->bmp, from, first);
			espx_ctr_bits_clear(w->bmp, 0, (u32)delta - first);
		}
		ESPX_CTR_SET_TOP(w, seq);
	} else if (w->top - seq >= w->size) {
		return;
	}
	espx_ctr_bit_set(w, seq);
}

/**
 * espx_ctr_out_verdict - the sender's limits for a freshly taken seq (§3, §4)
 * @seq: the value atomic64_inc_return() gave, the first one being 1
 *
 * Every counter reaches 2^47 exactly once; the caller keeps the SA's soft
 * expire to one message. Seq 0 can only come from a wrapped counter, which
 * would repeat an IV, so it is a hard stop too.
 *
 * Return: ESPX_CTR_OUT_HARD for @seq 0 or above ESPX_CTR_SEQ_MAX,
 * ESPX_CTR_OUT_SOFT for @seq ESPX_CTR_SEQ_SOFT, else ESPX_CTR_OUT_OK.
 */
int espx_ctr_out_verdict(u64 seq)
{
	if (!seq || seq > ESPX_CTR_SEQ_MAX)
		return ESPX_CTR_OUT_HARD;
	if (seq == ESPX_CTR_SEQ_SOFT)
		return ESPX_CTR_OUT_SOFT;
	return ESPX_CTR_OUT_OK;
}

/* the 8 IV octets as one big-endian number: id << 48 | seq */
static u64 espx_ctr_iv_get(const u8 *iv)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | iv[i];
	return v;
}

/**
 * espx_ctr_iv_ok - whether a packet's IV is its counter's (§3, §6)
 * @iv: the 8 IV octets of the packet
 * @id: counter id from option 27
 * @seq: the inferred seq
 *
 * The sender writes IV = be16(id) | be48(seq) (espx_wesp_iv_counter()); an
 * IV that differs would let one (id, seq) be sent under several nonces.
 * A seq that does not fit 48 bits (or 0) has no valid IV.
 *
 * Return: true when the octets match and @seq is in 1..ESPX_CTR_SEQ_MAX.
 */
bool espx_ctr_iv_ok(const u8 *iv, u16 id, u64 seq)
{
	if (!seq || seq > ESPX_CTR_SEQ_MAX)
		return false;
	return espx_ctr_iv_get(iv) == ((u64)id << 48 | seq);
}

/**
 * espx_ctr_iv_too_old - whether a packet whose IV did not match is too old
 * @iv: the 8 IV octets of the packet
 * @id: counter id from option 27
 * @snlo: the ESP SN field
 * @top: the counter window's top
 *
 * §6 inference puts a packet that is older than the window into the next
 * 2^32 block, so espx_ctr_iv_ok() fails for it. When the IV names the same
 * counter and SN and a seq at or below @top, the packet is simply too old:
 * a replay drop, not a forged IV. Only for counting: the packet is dropped
 * either way and nothing is accepted on the IV's word.
 *
 * Return: true for such a packet.
 */
bool espx_ctr_iv_too_old(const u8 *iv, u16 id, u32 snlo, u64 top)
{
	u64 v = espx_ctr_iv_get(iv);
	u64 seq = v & ESPX_CTR_SEQ_MAX;

	return v >> 48 == id && seq <= top && (u32)seq == snlo;
}
