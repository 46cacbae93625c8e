/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference for espx_ctr_infer() that the unit test and fuzz_ctr share:
 * the unique seq with low half @lo in [top - W + 1, top - W + 2^32],
 * computed by trying the three candidate blocks. Include after the codec.
 */
#ifndef _ESPX_UNIT_CTR_MODEL_H
#define _ESPX_UNIT_CTR_MODEL_H

#include <stdlib.h>

static inline int model_infer(u64 top, u32 size, u32 lo, u64 *seq)
{
	long long bottom = (long long)top - size + 1, c;
	long long th = (long long)(top >> 32), hi;

	for (hi = th - 1; hi <= th + 1; hi++) {
		c = hi * 0x100000000LL + lo;
		if (c < bottom || c > bottom + 0xffffffffLL)
			continue;
		if (c <= 0 || c > (long long)ESPX_CTR_SEQ_MAX)
			return ESPX_CTR_DROP_SEQ;
		*seq = (u64)c;
		return 0;
	}
	abort();	/* the range always holds exactly one */
}

#endif /* _ESPX_UNIT_CTR_MODEL_H */
