// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the BEET pseudo-header parser and the ESP trailer
 * arithmetic of net/espx/codec/esp_codec.c.
 *   make -C selftests/fuzz && build/fuzz/fuzz_beetph -max_total_time=60
 * Invariants checked on every accepted input:
 *   - phlen + optlen = 8 * (HdrLen + 1) and fits strictly inside the input,
 *   - optlen is a multiple of 4 and at most 40,
 *   - rebuilding from the parsed fields gives the same octets, except for
 *     Reserved and the pad octets (not checked by receivers),
 *   - padding of any length/block size yields a trailer the receiver accepts
 *     and trims back to exactly the payload.
 */
#include <stdlib.h>
#include "codec/esp_codec.c"

static void check_trailer(const u8 *data, size_t size)
{
	struct espx_esp_pad pad;
	u8 tail[511 + 256 + 1];
	u32 len, blksize, alen, tfclen;
	int trim;

	if (size < 6)
		return;
	len = (u32)data[0] << 8 | data[1];
	blksize = (data[2] % 65) * 4;		/* 0..256 */
	alen = data[3] % 33;
	tfclen = data[4] | (data[5] & 1) << 8;	/* 0..511 */
	if (espx_esp_pad(len, tfclen, blksize, &pad)) {
		if (blksize >= 4)
			abort();
		return;
	}
	if (pad.clen % blksize || pad.plen < 2 || pad.plen > blksize + 1 ||
	    pad.clen != len + tfclen + pad.plen)
		abort();
	espx_esp_fill_trailer(tail, &pad, 17);
	if (tail[pad.tfclen + pad.plen - 1] != 17)
		abort();
	trim = espx_esp_trailer_check(pad.clen + alen, alen,
				      tail[pad.tfclen + pad.plen - 2]);
	/* the receiver trims padding+2+ICV; TFC octets stay in the payload */
	if (len + tfclen == 0) {
		if (trim >= 0)
			abort();
	} else if (trim != (int)(pad.plen + alen)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct espx_beetph ph;
	u8 out[64];
	int len;

	check_trailer(data, size);

	if (espx_beetph_parse(data, size, &ph))
		return 0;
	if (ph.optlen % 4 || ph.optlen > ESPX_BEET_OPTLEN_MAX ||
	    ph.phlen + ph.optlen != 8u * (ph.hdrlen + 1u) ||
	    ph.phlen + ph.optlen >= size || ph.nexthdr != data[0])
		abort();
	if (!ph.optlen)
		return 0;
	len = espx_beetph_build(out, sizeof(out), ph.nexthdr,
				data + ph.phlen, ph.optlen);
	/* a sender always uses PadLen = 4 - (optlen & 4): compare when it did */
	if (len != (int)(ph.phlen + ph.optlen)) {
		if (ph.padlen == 4 - (ph.optlen & 4))
			abort();
		return 0;
	}
	if (out[0] != data[0] || out[1] != data[1] || out[2] != data[2] ||
	    memcmp(out + ph.phlen, data + ph.phlen, ph.optlen))
		abort();
	return 0;
}
