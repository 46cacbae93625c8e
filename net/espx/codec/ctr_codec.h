/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free sequence arithmetic of counter SAs (multi-counters.md) shared
 * by the module (its own object, see Kbuild) and the userspace unit
 * tests and fuzzers:
 *   - receiver: the high half of a counter's seq from the 32-bit SN (§6
 *     infer_hi), its replay window (§5, §6 too_old_or_seen and advance),
 *     the IV check (§3),
 *   - sender: the soft and hard limits of a freshly taken seq (§3, §4).
 * No kernel header and no allocation: the caller allocates the window
 * (espx_ctr_win_bytes()) and serialises access to it; the integer types
 * come from the esp_codec.h shim.
 */
#ifndef _ESPX_CODEC_CTR_CODEC_H
#define _ESPX_CODEC_CTR_CODEC_H

#include "esp_codec.h"
#include "wesp_codec.h"

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <linux/math64.h>
/* top is read without the window's lock (READ_ONCE) before the crypto */
#define ESPX_CTR_SET_TOP(w, v)	WRITE_ONCE((w)->top, (v))
#else
#include <stdbool.h>
#define ESPX_CTR_SET_TOP(w, v)	((w)->top = (v))
#endif

#define ESPX_CTR_MAX		1024	/* counters per SA */
#define ESPX_CTR_WIN_MIN	32
#define ESPX_CTR_WIN_MAX	4096
#define ESPX_CTR_WIN_DEFAULT	1024
#define ESPX_CTR_WIN_WORD	32	/* bits per bitmap word */
/* 2^48 - 1: seq must fit the IV (espx_wesp_iv_counter()) */
#define ESPX_CTR_SEQ_MAX	ESPX_WESP_SEQ_MAX
#define ESPX_CTR_SEQ_SOFT	0x800000000000ULL	/* 2^47: soft expire */

/**
 * enum espx_ctr_rx - result of espx_ctr_infer()
 * @ESPX_CTR_OK: the seq is valid
 * @ESPX_CTR_DROP_SEQ: no valid seq for this SN: drop (bad_seq)
 */
enum espx_ctr_rx {
	ESPX_CTR_OK = 0,
	ESPX_CTR_DROP_SEQ = -1,
};

/**
 * enum espx_ctr_out - result of espx_ctr_out_verdict()
 * @ESPX_CTR_OUT_OK: send with this seq
 * @ESPX_CTR_OUT_SOFT: send, and raise the SA's soft expire (once per SA)
 * @ESPX_CTR_OUT_HARD: drop, and hard-expire the SA (ctr_exhausted);
 *	negative like every drop of the codec
 */
enum espx_ctr_out {
	ESPX_CTR_OUT_OK = 0,
	ESPX_CTR_OUT_SOFT = 1,
	ESPX_CTR_OUT_HARD = -2,
};

/**
 * struct espx_ctr_win - one counter's receive window (§5)
 * @top: highest accepted seq; before any, the start value (normally 0),
 *	which counts as seen
 * @size: W in bits, a multiple of 32 in [ESPX_CTR_WIN_MIN, ESPX_CTR_WIN_MAX]
 * @bmp: W bits used as a ring: bit (seq mod W) set = seq seen, for the
 *	seqs top - W + 1 .. top
 *
 * Allocate espx_ctr_win_bytes(@size) octets and call espx_ctr_win_init().
 */
struct espx_ctr_win {
	u64 top;
	u32 size;
	u32 bmp[];
};

/* seq mod W: 32-bit kernels have no plain 64-bit division */
static inline u32 espx_ctr_win_mod(u64 seq, u32 size)
{
#ifdef __KERNEL__
	u32 rem;

	div_u64_rem(seq, size, &rem);
	return rem;
#else
	return (u32)(seq % size);
#endif
}

bool espx_ctr_win_size_ok(u32 size);
size_t espx_ctr_win_bytes(u32 size);
void espx_ctr_win_init(struct espx_ctr_win *w, u32 size, u64 top);
int espx_ctr_infer(u64 top, u32 size, u32 snlo, u64 *seq);
bool espx_ctr_win_replayed(const struct espx_ctr_win *w, u64 seq);
void espx_ctr_win_advance(struct espx_ctr_win *w, u64 seq);
int espx_ctr_out_verdict(u64 seq);
bool espx_ctr_iv_ok(const u8 *iv, u16 id, u64 seq);
bool espx_ctr_iv_too_old(const u8 *iv, u16 id, u32 snlo, u64 top);

#endif /* _ESPX_CODEC_CTR_CODEC_H */
