// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ESP Echo receiver checks of
 * net/espx/codec/echo_codec.c (classify, parse, reply, payload room).
 *   make -C selftests/fuzz && build/fuzz/fuzz_echo -max_total_time=60
 * Input: [0] echo_subtype_req, [1] echo_subtype_rep, [2..3] the reply room
 * (big endian), [4] the block size / 4, then the decrypted payload.
 * Invariants checked:
 *   - every result is a named enum espx_echo_rx value,
 *   - an accepted echo has 12 + Data Length = payload length and the
 *     header fields of the input's octets,
 *   - the reply is no longer than the request nor the room, parses as a
 *     reply of the same Identifier, Sequence, R/Reserved and Reply SPI, and
 *     its Data is a prefix of the request's,
 *   - the payload room: ALIGN(payload + 2, block) fits, one block more not.
 */
#include <stdlib.h>
#include "codec/echo_codec.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct espx_echo_hdr h, r;
	u8 req, rep, buf[70000];
	u32 len, room, blk, n, pm;
	int res;

	if (size < 5 || size - 5 > sizeof(buf))
		return 0;
	req = data[0];
	rep = data[1];
	room = espx_codec_be16(data + 2);
	blk = 4u * (data[4] % 5);
	len = (u32)size - 5;
	memcpy(buf, data + 5, len);

	pm = espx_echo_payload_max(room, blk);
	if (pm && ((pm + 2 + blk - 1) / blk * blk > room ||
		   (pm + 2 + blk - 1) / blk * blk + blk <= room))
		abort();

	res = espx_echo_parse(buf, len, req, rep, &h);
	if (!strcmp(espx_echo_rx_name(res), "unknown"))
		abort();
	if (res != ESPX_ECHO_RX_REQUEST && res != ESPX_ECHO_RX_REPLY)
		return 0;
	if (req == rep && res == ESPX_ECHO_RX_REPLY)
		abort();	/* the request sub-type is tested first */
	if (12u + h.dlen != len || h.subtype != buf[0] || h.flags != buf[1] ||
	    h.ident != espx_codec_be16(buf + 4) ||
	    h.reply_spi != espx_codec_be32(buf + 8))
		abort();
	if (req == rep)
		return 0;
	n = espx_echo_reply(buf, len, room, rep);
	if (n > len || n > room || (n && n < ESPX_ECHO_HDR_LEN) ||
	    (!n && room >= ESPX_ECHO_HDR_LEN))
		abort();
	if (!n)
		return 0;
	if (espx_echo_parse(buf, n, req, rep, &r) != ESPX_ECHO_RX_REPLY ||
	    r.ident != h.ident || r.seq != h.seq || r.flags != h.flags ||
	    r.reply_spi != h.reply_spi || r.dlen != n - ESPX_ECHO_HDR_LEN ||
	    memcmp(buf + 12, data + 5 + 12, n - 12))
		abort();
	return 0;
}
