// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/esp_codec.c: ESP padding/trailer
 * (esp-baseline.md §5, §9) and the BEET pseudo-header (beet.md §3, §6, §7).
 * Build: make -C selftests/unit   (or: cc -Wall -Wextra -Inet/espx
 *        <this file> -o test_esp_codec)
 * Prints KTAP; exit status 0 when every test passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "ktap.h"
#include "esp_vectors.h"

#define PLAN 39

/* payload ‖ trailer for a payload, as the sender builds it */
static size_t plaintext(u8 *out, const u8 *payload, u32 len,
			u32 tfclen, u32 blksize, u8 nh)
{
	struct espx_esp_pad pad;

	if (espx_esp_pad(len, tfclen, blksize, &pad))
		return 0;
	memcpy(out, payload, len);
	espx_esp_fill_trailer(out + len, &pad, nh);
	return pad.clen;
}

static const u8 udp_ping[] = {	/* esp-baseline.md §9 */
	0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0x82, 0x01, 0x70, 0x69, 0x6e, 0x67,
};

static const u8 udp_ping_beet[] = {	/* beet.md §6, inner addresses */
	0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0xf2, 0x02, 0x70, 0x69, 0x6e, 0x67,
};

static void test_padding(void)
{
	static const u8 want_beet_a[] = {
		0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0xf2, 0x02,
		0x70, 0x69, 0x6e, 0x67, 0x01, 0x02, 0x02, 0x11,
	};
	struct espx_esp_pad pad;
	u8 buf[512], pay15[15];
	size_t n;
	int i;

	n = plaintext(buf, udp_ping, sizeof(udp_ping), 0, 4, 17);
	ok(n == sizeof(esp_pt_a) && same(buf, esp_pt_a, n),
	   "esp-baseline §9 plaintext: UDP ping, GCM (blksize 4)");

	n = plaintext(buf, udp_ping_beet, sizeof(udp_ping_beet), 0, 4, 17);
	ok(n == sizeof(want_beet_a) && same(buf, want_beet_a, n),
	   "beet §6 A plaintext");

	ok(!espx_esp_pad(1446, 0, 4, &pad) && pad.clen == 1448 &&
	   pad.plen == 2, "tunnel 1446 octets: no padding, clen 1448");
	ok(!espx_esp_pad(1445, 0, 4, &pad) && pad.clen == 1448 &&
	   pad.plen == 3, "1445 octets: 1 pad octet");
	ok(!espx_esp_pad(0, 0, 4, &pad) && pad.clen == 4 && pad.plen == 4,
	   "empty payload: 2 pad octets");
	ok(!espx_esp_pad(12, 0, 16, &pad) && pad.clen == 16 && pad.plen == 4,
	   "CBC 12 octets: clen 16");
	ok(!espx_esp_pad(14, 0, 16, &pad) && pad.clen == 16 && pad.plen == 2,
	   "CBC 14 octets: no padding");
	ok(!espx_esp_pad(15, 0, 16, &pad) && pad.clen == 32 && pad.plen == 17,
	   "CBC 15 octets: 15 pad octets");

	n = plaintext(buf, udp_ping, sizeof(udp_ping), 0, 16, 4);
	ok(n == 16 && buf[12] == 1 && buf[13] == 2 && buf[14] == 2 &&
	   buf[15] == 4, "CBC trailer bytes 01 02 | 02 | 04");

	memset(pay15, 0xee, sizeof(pay15));
	n = plaintext(buf, pay15, sizeof(pay15), 0, 16, 41);
	for (i = 0; i < 15; i++)
		if (buf[15 + i] != i + 1)
			break;
	ok(n == 32 && i == 15 && buf[30] == 15 && buf[31] == 41,
	   "CBC 15 pad octets 01..0f | 0f | 29");

	n = plaintext(buf, udp_ping, sizeof(udp_ping), 100, 4, 17);
	for (i = 0; i < 100; i++)
		if (buf[12 + i])
			break;
	ok(n == 116 && i == 100 && buf[112] == 1 && buf[113] == 2 &&
	   buf[114] == 2 && buf[115] == 17,
	   "TFC 100: 100 zero octets then 01 02 | 02 | 11");

	ok(!espx_esp_pad(12, 1, 4, &pad) && pad.clen == 16 && pad.plen == 3 &&
	   pad.tfclen == 1, "TFC 1: one zero octet, one pad octet");

	ok(espx_esp_pad(12, 0, 0, &pad) == ESPX_CODEC_EINVAL &&
	   espx_esp_pad(12, 0, 6, &pad) == ESPX_CODEC_EINVAL &&
	   espx_esp_pad(12, 0, 512, &pad) == ESPX_CODEC_EINVAL,
	   "block size 0, 6 and 512 rejected");
	ok(espx_esp_pad(0xfffffffe, 0, 4, &pad) == ESPX_CODEC_EINVAL &&
	   espx_esp_pad(100, 0xfffffff0, 4, &pad) == ESPX_CODEC_EINVAL,
	   "length overflow rejected");
}

static void test_trailer_check(void)
{
	/* GCM-16: clen 16 + ICV 16 after the IV */
	ok(espx_esp_trailer_check(32, 16, 2) == 20, "pad 2: trim 20");
	ok(espx_esp_trailer_check(32, 16, 13) == 31, "pad 13: 1 octet left");
	ok(espx_esp_trailer_check(32, 16, 14) == ESPX_CODEC_EINVAL,
	   "pad 14: nothing left, drop");
	ok(espx_esp_trailer_check(32, 16, 255) == ESPX_CODEC_EINVAL,
	   "pad 255 past the payload: drop");
	ok(espx_esp_trailer_check(18, 16, 0) == ESPX_CODEC_EINVAL,
	   "trailer only, no payload: drop");
	ok(espx_esp_trailer_check(0, 16, 0) == ESPX_CODEC_EINVAL,
	   "elen 0: drop");
}

static void test_beetph(void)
{
	static const u8 opt_ra[] = { 0x94, 0x04, 0x00, 0x00 };
	static const u8 opt8[] = {
		0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00,
	};
	u8 opts[40], pay[128], buf[256];
	struct espx_beetph ph;
	int len, n;
	u8 h[8];

	/* B: pseudo-header + transport PDU, then ESP trailer with NH 94 */
	len = espx_beetph_build(pay, sizeof(pay), 17, opt_ra, sizeof(opt_ra));
	ok(len == 8, "B: pseudo-header is 8 octets");
	memcpy(pay + len, udp_ping_beet, sizeof(udp_ping_beet));
	n = (int)plaintext(buf, pay, len + sizeof(udp_ping_beet), 0, 4,
			   ESPX_IPPROTO_BEETPH);
	ok(n == sizeof(beet_pt_b) && same(buf, beet_pt_b, n),
	   "beet §6 B plaintext byte for byte");
	ok(!espx_beetph_parse(beet_pt_b, 20, &ph) && ph.nexthdr == 17 &&
	   ph.hdrlen == 0 && ph.padlen == 0 && ph.phlen == 4 &&
	   ph.optlen == 4 && same(beet_pt_b + ph.phlen, opt_ra, 4),
	   "B: parse: NH 17, phlen 4, options 94 04 00 00");

	len = espx_beetph_build(pay, sizeof(pay), 17, opt8, sizeof(opt8));
	ok(len == 16, "C: pseudo-header is 16 octets");
	memcpy(pay + len, udp_ping_beet, sizeof(udp_ping_beet));
	n = (int)plaintext(buf, pay, len + sizeof(udp_ping_beet), 0, 4,
			   ESPX_IPPROTO_BEETPH);
	ok(n == sizeof(beet_pt_c) && same(buf, beet_pt_c, n),
	   "beet §6 C plaintext byte for byte");
	ok(!espx_beetph_parse(beet_pt_c, 28, &ph) && ph.nexthdr == 17 &&
	   ph.hdrlen == 1 && ph.padlen == 4 && ph.phlen == 8 &&
	   ph.optlen == 8 && same(beet_pt_c + ph.phlen, opt8, 8),
	   "C: parse: phlen 8, optlen 8");

	memset(opts, 0x01, sizeof(opts));
	for (n = 4; n <= 40; n += 4) {
		struct espx_beetph p2;

		len = espx_beetph_build(buf, sizeof(buf), 6, opts, n);
		if (len != 8 * (n / 8 + 1) || len != (int)espx_beetph_len(n))
			break;
		buf[len] = 0xaa;	/* one transport octet */
		if (espx_beetph_parse(buf, len + 1, &p2) || p2.optlen != (u32)n ||
		    p2.phlen + p2.optlen != (u32)len || p2.nexthdr != 6)
			break;
	}
	ok(n == 44, "build/parse round trip, optlen 4..40, len 8*(HdrLen+1)");

	ok(espx_beetph_build(buf, sizeof(buf), 6, opts, 0) == ESPX_CODEC_EINVAL &&
	   espx_beetph_build(buf, sizeof(buf), 6, opts, 2) == ESPX_CODEC_EINVAL &&
	   espx_beetph_build(buf, sizeof(buf), 6, opts, 44) == ESPX_CODEC_EINVAL,
	   "build rejects optlen 0, 2, 44");
	ok(espx_beetph_build(buf, 15, 6, opt8, 8) == ESPX_CODEC_ESPACE,
	   "build rejects a short output buffer");

	/* beet.md §7 receiver rejects */
	memcpy(h, "\x11\x00\x00\x00", 4);
	ok(espx_beetph_parse(h, 3, &ph) == ESPX_CODEC_ETRUNC,
	   "reject: fewer than 4 octets");
	memcpy(h, "\x11\x00\x02\x00", 4);
	ok(espx_beetph_parse(h, 8, &ph) == ESPX_CODEC_EINVAL,
	   "reject: PadLen 2 (optlen 2)");
	memcpy(h, "\x11\x00\x06\x00", 4);
	ok(espx_beetph_parse(h, 8, &ph) == ESPX_CODEC_EINVAL,
	   "reject: PadLen 6 (optlen -2)");
	memcpy(h, "\x11\x00\x08\x00", 4);
	ok(espx_beetph_parse(h, 16, &ph) == ESPX_CODEC_EINVAL,
	   "reject: HdrLen 0 PadLen 8 (optlen -4)");
	memcpy(h, "\x11\x06\x00\x00", 4);
	ok(espx_beetph_parse(h, 100, &ph) == ESPX_CODEC_EINVAL,
	   "reject: HdrLen 6 PadLen 0 (optlen 52 > 40)");
	memcpy(h, "\x11\x05\x04\x00", 4);
	ok(espx_beetph_parse(h, 100, &ph) == 0 && ph.optlen == 40,
	   "accept: HdrLen 5 PadLen 4 (optlen 40)");
	memcpy(h, "\x11\x00\x04\x00", 4);
	ok(espx_beetph_parse(h, 7, &ph) == ESPX_CODEC_ETRUNC,
	   "reject: pad past the end");
	ok(espx_beetph_parse(beet_pt_b, 7, &ph) == ESPX_CODEC_ETRUNC,
	   "reject: options past the end");
	ok(espx_beetph_parse(beet_pt_b, 8, &ph) == ESPX_CODEC_ETRUNC,
	   "reject: no transport payload after the options");
	memcpy(h, "\x11\x00\x04\xff", 4);
	ok(espx_beetph_parse(h, 9, &ph) == 0 && ph.optlen == 0 &&
	   ph.phlen == 8, "accept: no options, Reserved ignored");
}

int main(void)
{
	ktap_plan(PLAN);
	test_padding();
	test_trailer_check();
	test_beetph();
	return ktap_done(PLAN);
}
