// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/echo_codec.c: every octet of esp-echo.md §8
 * (the request, reply and one-way plaintexts; the request encrypted on SA
 * 0x1001 with AES-128-GCM through OpenSSL; the unencrypted SPI 7 request
 * and its SPI 8 reply), the receiver's checks of §5 steps 2 and 5 (§9 first
 * items), reply truncation and the payload room arithmetic.
 * Build: make -C selftests/unit   (links -lcrypto)
 */
#include <stdio.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/echo_codec.c"
#include "ktap.h"
#include "vectors.h"

#define PLAN 38

static const u8 ping[4] = { 'p', 'i', 'n', 'g' };

/* The §8 request's payload: header + "ping" */
static const struct espx_echo_hdr req_hdr = {
	.subtype = 2, .flags = ESPX_ECHO_R, .dlen = 4,
	.ident = 0x1234, .seq = 1, .reply_spi = 0x2001,
};

/* payload || minimum padding || Pad Length || NH 144; returns the length */
static u32 with_trailer(u8 *buf, u32 len)
{
	struct espx_esp_pad pad;

	if (espx_esp_pad(len, 0, 4, &pad))
		return 0;
	espx_esp_fill_trailer(buf + len, &pad, ESPX_IPPROTO_AGGFRAG);
	return pad.clen;
}

static u16 ip_csum(const u8 *p, u32 len)
{
	u32 s = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		s += (u32)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16)~s;
}

static void ipv4_hdr(u8 *p, u32 totlen, u8 proto)
{
	static const u8 h[20] = {
		0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 0, 0, 0,
		192, 0, 2, 1, 192, 0, 2, 2,
	};

	memcpy(p, h, sizeof(h));
	espx_codec_put_be16(p + 2, totlen);
	p[9] = proto;
	espx_codec_put_be16(p + 10, ip_csum(p, 20));
}

static void test_plaintexts(void)
{
	u8 buf[64], want[64];
	struct espx_echo_hdr h = req_hdr;
	u32 n;

	espx_echo_build(buf, &h);
	memcpy(buf + ESPX_ECHO_HDR_LEN, ping, sizeof(ping));
	n = with_trailer(buf, 16);
	ok(n == 20 && unhex(L("02 80 00 04 | 12 34 00 01 | 00 00 20 01 | 70 69 6e 67 | 01 02 | 02 | 90"),
			    want, sizeof(want)) == 20 && same(buf, want, 20),
	   "§8 request plaintext, 20 octets");

	n = espx_echo_reply(buf, 16, 1500, 3);
	ok(n == 16 && with_trailer(buf, n) == 20 &&
	   unhex(L("03 80 00 04 | 12 34 00 01 | 00 00 20 01 | 70 69 6e 67 | 01 02 | 02 | 90"),
		 want, sizeof(want)) == 20 && same(buf, want, 20),
	   "§8 reply: only octet 0 changes");

	h.flags = 0;
	h.seq = 2;
	h.dlen = 0;
	h.reply_spi = 0;
	espx_echo_build(buf, &h);
	n = with_trailer(buf, 12);
	ok(n == 16 && unhex(L("02 00 00 00 12 34 00 02 00 00 00 00 01 02 02 90"),
			    want, sizeof(want)) == 16 && same(buf, want, 16),
	   "§8 one-way probe");
}

static void test_encrypted(void)
{
	u8 pkt[80], want[80], pt[32], tag[16], nonce[12], back[32];
	struct espx_echo_hdr h;
	u32 n;

	espx_echo_build(pt, &req_hdr);
	memcpy(pt + ESPX_ECHO_HDR_LEN, ping, sizeof(ping));
	n = with_trailer(pt, 16);
	ipv4_hdr(pkt, 20 + 8 + 8 + n + 16, 50);
	espx_codec_put_be32(pkt + 20, 0x1001);
	espx_codec_put_be32(pkt + 24, 1);
	memset(pkt + 28, 0, 8);
	pkt[35] = 1;				/* IV = be64(1) */
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, pkt + 28, 8);
	ok(gcm(1, nonce, pkt + 20, 8, pt, (int)n, pkt + 36, tag),
	   "AES-128-GCM seal");
	memcpy(pkt + 36 + n, tag, 16);
	ok(unhex_skip(L("0000  45 00 00 48 00 00 40 00 40 32 b6 80 c0 00 02 01",
			"0010  c0 00 02 02 00 00 10 01 00 00 00 01 00 00 00 00",
			"0020  00 00 00 01 44 f1 1c f6 7e b0 77 51 87 6c 66 16",
			"0030  ab 6d fa 01 10 f0 1b 13 6a 7a 3a 75 b6 13 0c 7a",
			"0040  54 01 7a 07 f7 33 c2 5c"), 6, want, sizeof(want)) == 72 &&
	   same(pkt, want, 72), "§8 encrypted IPv4 request, 72 octets");

	ok(gcm(0, nonce, want + 20, 8, want + 36, 20, back, want + 56) &&
	   back[19] == ESPX_IPPROTO_AGGFRAG && back[18] == 2,
	   "§8 encrypted request opens: NH 144, Pad Length 2");
	ok(espx_echo_parse(back, 16, 2, 3, &h) == ESPX_ECHO_RX_REQUEST &&
	   h.ident == 0x1234 && h.seq == 1 && h.reply_spi == 0x2001 &&
	   h.dlen == 4 && espx_echo_r(&h), "§8 decrypted request parses");
	want[50] ^= 1;
	ok(!gcm(0, nonce, want + 20, 8, want + 36, 20, back, want + 56),
	   "§8 request with a flipped ciphertext bit does not open");
}

static void test_unencrypted(void)
{
	u8 pkt[64], want[64];
	struct espx_echo_hdr h = req_hdr;
	u32 n;

	h.reply_spi = ESPX_ECHO_SPI_REP;
	espx_echo_build(pkt + 28, &h);
	memcpy(pkt + 40, ping, sizeof(ping));
	n = with_trailer(pkt + 28, 16);
	ipv4_hdr(pkt, 28 + n, 50);
	espx_codec_put_be32(pkt + 20, ESPX_ECHO_SPI_REQ);
	espx_codec_put_be32(pkt + 24, 0);
	ok(unhex_skip(L("0000  45 00 00 30 00 00 40 00 40 32 b6 98 c0 00 02 01",
			"0010  c0 00 02 02 00 00 00 07 00 00 00 00 02 80 00 04",
			"0020  12 34 00 01 00 00 00 08 70 69 6e 67 01 02 02 90"),
		      6, want, sizeof(want)) == 48 && same(pkt, want, 48),
	   "§8 unencrypted SPI 7 request, 48 octets");

	/* the reply: SPI 8, Sub-Type 3, addresses swapped, same checksum */
	espx_codec_put_be32(pkt + 20, ESPX_ECHO_SPI_REP);
	ok(espx_echo_reply(pkt + 28, 16, 1500, 3) == 16, "SPI 8 reply built");
	memcpy(want + 12, pkt + 16, 4);
	memcpy(want + 16, pkt + 12, 4);
	memcpy(pkt + 12, want + 12, 8);
	want[0x17] = 8;
	want[0x1c] = 3;
	ok(same(pkt, want, 48) && ip_csum(pkt, 20) == 0,
	   "§8 SPI 8 reply: SPI, Sub-Type, swapped addresses, checksum unchanged");
}

static void test_receiver(void)
{
	u8 p[64];
	struct espx_echo_hdr h = req_hdr;
	int i;

	espx_echo_build(p, &h);
	memcpy(p + 12, ping, 4);
	ok(espx_echo_parse(p, 0, 2, 3, &h) == ESPX_ECHO_RX_TRUNCATED,
	   "empty payload: truncated");
	for (i = 1; i < 12; i++)
		if (espx_echo_parse(p, i, 2, 3, &h) != ESPX_ECHO_RX_TRUNCATED)
			break;
	ok(i == 12, "1..11 octets: truncated");
	ok(espx_echo_parse(p, 15, 2, 3, &h) == ESPX_ECHO_RX_LENGTH,
	   "Data Length one more than the payload: length");
	ok(espx_echo_parse(p, 17, 2, 3, &h) == ESPX_ECHO_RX_LENGTH,
	   "Data Length one less than the payload: length");
	ok(espx_echo_parse(p, 16, 2, 3, &h) == ESPX_ECHO_RX_REQUEST,
	   "exact length: request");
	/* a -03-style 8-octet R=0 header (the prototype's): length */
	p[1] = 0;
	espx_codec_put_be16(p + 2, 4);
	ok(espx_echo_parse(p, 12, 2, 3, &h) == ESPX_ECHO_RX_LENGTH,
	   "-03 8-octet header with 4 octets of Data: length");
	p[1] = ESPX_ECHO_R;
	for (i = 0; i < 256; i++) {
		int want = i == 2 ? ESPX_ECHO_RX_REQUEST :
			   i == 3 ? ESPX_ECHO_RX_REPLY : ESPX_ECHO_RX_AGGFRAG;

		p[0] = (u8)i;
		if (espx_echo_parse(p, 16, 2, 3, &h) != want)
			break;
	}
	ok(i == 256, "every Sub-Type: 2 request, 3 reply, else aggfrag");
	p[0] = 0;
	ok(espx_echo_parse(p, 1, 2, 3, &h) == ESPX_ECHO_RX_AGGFRAG,
	   "Sub-Type 0 with one octet: aggfrag before length");
	p[0] = 7;
	ok(espx_echo_parse(p, 16, 7, 9, &h) == ESPX_ECHO_RX_REQUEST &&
	   espx_echo_parse(p, 16, 2, 3, &h) == ESPX_ECHO_RX_AGGFRAG,
	   "sub-types follow the parameters");
	p[0] = 2;
	p[1] = 0xff;
	ok(espx_echo_parse(p, 16, 2, 3, &h) == ESPX_ECHO_RX_REQUEST &&
	   h.flags == 0xff && espx_echo_r(&h), "reserved bits accepted");
	ok(espx_echo_reply(p, 16, 16, 3) == 16 && p[1] == 0xff,
	   "reserved bits copied into the reply");
	p[1] = 0x7f;
	ok(espx_echo_parse(p, 16, 2, 3, &h) == ESPX_ECHO_RX_REPLY &&
	   !espx_echo_r(&h), "R=0 with reserved bits: no reply requested");
	ok(!strcmp(espx_echo_rx_name(ESPX_ECHO_RX_LENGTH), "in-drop-echo-length") &&
	   !strcmp(espx_echo_rx_name(ESPX_ECHO_RX_TRUNCATED), "in-drop-echo-truncated") &&
	   !strcmp(espx_echo_rx_name(ESPX_ECHO_RX_AGGFRAG), "in-drop-aggfrag") &&
	   !strcmp(espx_echo_rx_name(99), "unknown"), "result names");
}

static void test_reply_size(void)
{
	u8 p[200];
	struct espx_echo_hdr h = req_hdr;

	h.dlen = 100;
	espx_echo_build(p, &h);
	espx_echo_fill_data(p + 12, 100);
	ok(espx_echo_reply(p, 112, 60, 3) == 60 && espx_codec_be16(p + 2) == 48 &&
	   p[0] == 3 && espx_echo_parse(p, 60, 2, 3, &h) == ESPX_ECHO_RX_REPLY &&
	   espx_echo_data_ok(p + 12, 48), "Data cut to the room, Data Length matches");
	ok(espx_echo_reply(p, 60, 1000, 3) == 60, "a reply never grows");
	ok(espx_echo_reply(p, 60, 11, 3) == 0, "no room for the header: no reply");
	ok(espx_echo_reply(p, 60, 12, 3) == 12 && espx_codec_be16(p + 2) == 0,
	   "room for the header only: empty Data");
	ok(espx_echo_reply(p, 11, 1000, 3) == 0, "a short request gets no reply");
	p[12 + 5] ^= 1;
	espx_echo_fill_data(p + 12, 48);
	ok(espx_echo_data_ok(p + 12, 48), "data pattern round trip");
	p[12 + 47] ^= 1;
	ok(!espx_echo_data_ok(p + 12, 48), "data mismatch found");
	espx_echo_fill_data(p, 300 > sizeof(p) ? sizeof(p) : 300);
	ok(p[0] == 0 && p[199] == 199, "octet i = i & 0xff");
}

static void test_room(void)
{
	ok(espx_echo_payload_max(20, 4) == 18, "room 20, block 4: payload 18");
	ok(espx_echo_payload_max(23, 4) == 18, "room 23, block 4: payload 18");
	ok(espx_echo_payload_max(32, 16) == 30, "room 32, block 16: payload 30");
	ok(espx_echo_payload_max(47, 16) == 30, "room 47, block 16: payload 30");
	ok(espx_echo_payload_max(3, 4) == 0 && espx_echo_payload_max(1, 0) == 0,
	   "no room: 0");
	ok(espx_echo_subtypes_ok(2, 3) && espx_echo_subtypes_ok(255, 2) &&
	   !espx_echo_subtypes_ok(1, 3) && !espx_echo_subtypes_ok(2, 2) &&
	   !espx_echo_subtypes_ok(2, 256) && !espx_echo_subtypes_ok(0, 3),
	   "sub-type parameters: 2..255, different");
}

int main(void)
{
	ktap_plan(PLAN);
	test_plaintexts();
	test_encrypted();
	test_unencrypted();
	test_receiver();
	test_reply_size();
	test_room();
	return ktap_done(PLAN);
}
