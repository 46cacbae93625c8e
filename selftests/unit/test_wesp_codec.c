// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/wesp_codec.c: the worked examples of
 * wespv2.md §10 and multi-counters.md §8 byte for byte (header, AAD,
 * padding, nonce, AES-128-GCM ciphertext and ICV through OpenSSL), the
 * codec items of the receiver checklists (wespv2.md §11, multi-counters.md
 * §9), and build/seal/open round trips.
 * Build: make -C selftests/unit   (links -lcrypto)
 * Prints KTAP; exit status 0 when every test passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include "codec/esp_codec.c"
#include "codec/wesp_codec.c"
#include "ktap.h"
#include "wesp_vectors.h"
#include "vectors.h"

#define PLAN 68
#define ICVLEN 16
#define RX_ICV (-100)	/* open_pkt(): the AEAD rejected the packet */

static u32 get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/*
 * One packet through the sender: outer header (literal) | WESPv2 header
 * (given) | SPI | SNlo | IV | clear octets | ciphertext | ICV.
 */
struct pkt {
	const u8 *outer;
	u32 outerlen;
	const u8 *wh;		/* WESPv2 header + options */
	u32 whlen;
	u32 spi;
	u32 snhi, snlo;
	bool with_snhi;
	u8 iv[ESPX_WESP_IVLEN];
	const u8 *payload;
	u32 plen;
	u8 nh;			/* trailer Next Header */
	/* results */
	u8 aad[ESPX_WESP_AAD_MAX];
	int aadlen;
	u8 nonce[ESPX_ESP_NONCE_LEN];
	u8 pt[1024];		/* encrypted input: payload after clear | trailer */
	u32 ptlen;
	u8 buf[1280];
	u32 len;
};

static int seal(struct pkt *p)
{
	u32 c4 = 4 * espx_wesp_hdr_crypt_offset(p->wh);
	struct espx_esp_pad pad;
	u8 *b = p->buf, *esp;
	u32 spi_raw;

	if (c4 > p->plen || espx_esp_pad(p->plen - c4, 0, 4, &pad) ||
	    p->outerlen + p->whlen + 16 + p->plen + pad.plen + ICVLEN >
	    sizeof(p->buf))
		return 0;
	if (p->outerlen)
		memcpy(b, p->outer, p->outerlen);
	memcpy(b + p->outerlen, p->wh, p->whlen);
	esp = b + p->outerlen + p->whlen;
	espx_codec_put_be32(esp, p->spi);
	espx_codec_put_be32(esp + 4, p->snlo);
	memcpy(esp + 8, p->iv, ESPX_WESP_IVLEN);
	memcpy(esp + 16, p->payload, c4);

	memcpy(p->pt, p->payload + c4, p->plen - c4);
	espx_esp_fill_trailer(p->pt + p->plen - c4, &pad, p->nh);
	p->ptlen = pad.clen;

	memcpy(&spi_raw, esp, 4);
	p->aadlen = espx_wesp_aad(p->aad, sizeof(p->aad), p->wh, p->whlen,
				  spi_raw, p->with_snhi, p->snhi, p->snlo,
				  esp + 16, c4);
	if (p->aadlen < 0)
		return 0;
	espx_esp_nonce(p->nonce, salt, p->iv);
	if (!gcm(1, p->nonce, p->aad, p->aadlen, p->pt, (int)p->ptlen,
		 esp + 16 + c4, esp + 16 + c4 + p->ptlen))
		return 0;
	p->len = (u32)(esp + 16 + c4 + p->ptlen + ICVLEN - b);
	return 1;
}

/*
 * The receiver, §7 steps 1-3, 5-6, 8-9, on a packet starting at the WESPv2
 * header (the SN's high half is what replay inference would supply).
 * Return: the inner length (inner copied to @inner), a negative enum
 * espx_wesp_drop, or RX_ICV.
 */
static int open_pkt(const u8 *pkt, u32 len, const struct espx_wesp_sa *sa,
		    bool with_snhi, u32 snhi, u8 *inner)
{
	u8 aad[ESPX_WESP_AAD_MAX], nonce[ESPX_ESP_NONCE_LEN], pt[1024];
	struct espx_wesp_hdr h;
	const u8 *esp, *clear;
	u32 c4, elen, spi_raw;
	int aadlen, err;

	err = espx_wesp_parse(pkt, len, sa->ipv6, &h);
	if (!err)
		err = espx_wesp_check_sa(&h, sa, len);
	if (err)
		return err;
	esp = pkt + h.len;
	clear = pkt + h.hdrlen;
	c4 = 4u * h.crypt_offset;
	elen = len - h.hdrlen - c4 - sa->icvlen;
	if (elen > sizeof(pt))
		return RX_ICV;
	memcpy(&spi_raw, esp, 4);
	aadlen = espx_wesp_aad(aad, sizeof(aad), pkt, h.len, spi_raw,
			       with_snhi, snhi, get_be32(esp + 4), clear, c4);
	espx_esp_nonce(nonce, salt, esp + ESPX_ESP_HDR_LEN);
	if (aadlen < 0 ||
	    !gcm(0, nonce, aad, aadlen, clear + c4, (int)elen, pt,
		 (u8 *)clear + c4 + elen))
		return RX_ICV;
	err = espx_wesp_trailer_check(elen, pt[elen - 2], pt[elen - 1],
				      h.crypt_offset, h.nexthdr);
	if (err < 0)
		return err;
	memcpy(inner, clear, c4);
	memcpy(inner + c4, pt, err - c4);
	return err;
}

/* ---- wespv2.md §10 and multi-counters.md §8 ------------------------- */

static const u8 udp4_ping[] = {	/* 192.0.2.1 -> 192.0.2.2, esp-baseline §9 */
	0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0x82, 0x01, 0x70, 0x69, 0x6e, 0x67,
};

static const u8 udp6_ping[] = {	/* 2001:db8::1 -> 2001:db8::2 */
	0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0xaa, 0x90, 0x70, 0x69, 0x6e, 0x67,
};

/* 2001:db8:1::1 -> 2001:db8:2::1 */
static const char * const inner_b_hex[] = {
	"60 00 00 00 00 0c 11 40 20 01 0d b8 00 01 00 00",
	"00 00 00 00 00 00 00 01 20 01 0d b8 00 02 00 00",
	"00 00 00 00 00 00 00 01 04 d2 16 2e 00 0c aa 8e",
	"70 69 6e 67",
	NULL,
};

static const struct espx_wesp_sa sa4 = {
	.ivlen = 8, .icvlen = ICVLEN, .crypt_offset_max = 2,
};

static const struct espx_wesp_sa sa6 = {
	.ipv6 = true, .ivlen = 8, .icvlen = ICVLEN, .crypt_offset_max = 2,
};

static const struct espx_wesp_sa sa6c = {
	.ipv6 = true, .ivlen = 8, .icvlen = ICVLEN, .counters = 8,
};

/* Check the sender's pieces and the whole packet against a spec vector,
 * then the receiver on the spec's octets.
 */
static void check_vector(const char *name, struct pkt *p,
			 const char * const *want_hex,
			 const struct espx_wesp_sa *sa, const u8 *inner,
			 u32 innerlen)
{
	u8 want[256], got[256];
	char desc[128];
	size_t n = unhex(want_hex, want, sizeof(want));
	int r;

	snprintf(desc, sizeof(desc), "%s: packet (%zu octets) byte for byte",
		 name, n);
	ok(seal(p) && p->len == n && same(p->buf, want, n), desc);

	r = open_pkt(want + p->outerlen, (u32)n - p->outerlen, sa,
		     p->with_snhi, p->snhi, got);
	snprintf(desc, sizeof(desc),
		 "%s: receiver accepts the spec packet, inner %u octets", name,
		 innerlen);
	ok(r == (int)innerlen && same(got, inner, innerlen), desc);
}

static void test_vector_a(void)
{
	static const u8 want_wh[] = { 0x3b, 0x14, 0x00, 0x40 };
	u8 outer[20], want[64], wh[8];
	struct espx_wesp_tx tx = { .nexthdr = 17, .ivlen = 8 };
	struct pkt p = {
		.outer = outer, .outerlen = sizeof(outer), .wh = wh,
		.spi = 0x2000, .snlo = 1, .payload = udp4_ping,
		.plen = sizeof(udp4_ping), .nh = 17,
		.iv = { 0, 0, 0, 0, 0, 0, 0, 1 },
	};
	size_t n;

	unhex(pkt_a_hex, outer, sizeof(outer));
	tx.crypt_offset = (u8)espx_wesp_crypt_offset(0, sizeof(udp4_ping));
	p.whlen = (u32)espx_wesp_build(wh, sizeof(wh), &tx);
	ok(p.whlen == 4 && same(wh, want_wh, 4),
	   "A: header 3b 14 00 40 (NH 59, HdrLen 20, OptLen 0)");

	check_vector("A", &p, pkt_a_hex, &sa4, udp4_ping, sizeof(udp4_ping));

	n = unhex(L("3b 14 00 40 00 00 20 00 00 00 00 01"), want, sizeof(want));
	ok(p.aadlen == (int)n && same(p.aad, want, n), "A: AAD");
	n = unhex(L("a0 a1 a2 a3 00 00 00 00 00 00 00 01"), want, sizeof(want));
	ok(same(p.nonce, want, n), "A: nonce = salt | IV");
	ok(p.ptlen == 16 && same(p.pt, udp4_ping, 12) &&
	   same(p.pt + 12, (const u8 *)"\x01\x02\x02\x11", 4),
	   "A: encrypted input = payload | 01 02 | 02 | 11");
}

static void test_vector_b(void)
{
	static const u8 want_wh[] = {
		0x29, 0x18, 0x08, 0x44, 0x01, 0x02, 0x00, 0x00,
	};
	u8 outer[40], inner[52], want[64], wh[8];
	struct espx_wesp_tx tx = { .ipv6 = true, .nexthdr = 41, .ivlen = 8 };
	struct pkt p = {
		.outer = outer, .outerlen = sizeof(outer), .wh = wh,
		.spi = 0x3000, .snlo = 1, .payload = inner,
		.plen = sizeof(inner), .nh = 41,
		.iv = { 0, 0, 0, 0, 0, 0, 0, 1 },
	};
	size_t n;

	unhex(pkt_b_hex, outer, sizeof(outer));
	ok(unhex(inner_b_hex, inner, sizeof(inner)) == 52,
	   "B: inner packet is 52 octets");
	tx.crypt_offset = (u8)espx_wesp_crypt_offset(2, sizeof(inner));
	p.whlen = (u32)espx_wesp_build(wh, sizeof(wh), &tx);
	ok(tx.crypt_offset == 2 && p.whlen == 8 && same(wh, want_wh, 8),
	   "B: header 29 18 08 44 | PadN 01 02 00 00");

	check_vector("B", &p, pkt_b_hex, &sa6, inner, sizeof(inner));

	n = unhex(L("29 18 08 44 01 02 00 00 00 00 30 00 00 00 00 01",
		    "60 00 00 00 00 0c 11 40"), want, sizeof(want));
	ok(p.aadlen == (int)n && same(p.aad, want, n),
	   "B: AAD ends with the 8 clear octets");
	ok(p.ptlen == 48 && same(p.pt, inner + 8, 44) &&
	   same(p.pt + 44, (const u8 *)"\x01\x02\x02\x29", 4),
	   "B: encrypted input = inner[8..] | 01 02 | 02 | 29");
}

static void test_vector_mc(void)
{
	static const u8 want_wh[] = {
		0x3b, 0x18, 0x00, 0x44, 0x1b, 0x02, 0x00, 0x05,
	};
	static const u8 want_iv[] = {
		0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
	};
	u8 outer[40], want[64], wh[8];
	struct espx_wesp_tx tx = {
		.ipv6 = true, .subsa = true, .subsa_id = 5, .nexthdr = 17,
		.ivlen = 8,
	};
	struct pkt p = {
		.outer = outer, .outerlen = sizeof(outer), .wh = wh,
		.spi = 0x4000, .snhi = 1, .snlo = 2, .with_snhi = true,
		.payload = udp6_ping, .plen = sizeof(udp6_ping), .nh = 17,
	};
	u64 seq = 0x0000000100000002ULL;
	size_t n;

	unhex(pkt_mc_hex, outer, sizeof(outer));
	p.whlen = (u32)espx_wesp_build(wh, sizeof(wh), &tx);
	ok(p.whlen == 8 && same(wh, want_wh, 8),
	   "MC: header 3b 18 00 44 | option 27 1b 02 00 05");
	ok(!espx_wesp_iv_counter(p.iv, 5, seq) && same(p.iv, want_iv, 8),
	   "MC: IV = be16(5) | be48(0x1_0000_0002)");

	check_vector("MC", &p, pkt_mc_hex, &sa6c, udp6_ping, sizeof(udp6_ping));

	n = unhex(L("3b 18 00 44 1b 02 00 05 00 00 40 00 00 00 00 01",
		    "00 00 00 02"), want, sizeof(want));
	ok(p.aadlen == (int)n && same(p.aad, want, n), "MC: AAD with SNhi");
}

/* ---- wespv2.md §11 / multi-counters.md §9: codec rejections ------------ */

/* parse, then (with @sa) check_sa, on @hex followed by zero octets */
static int rx(const char *hex, bool ipv6, const struct espx_wesp_sa *sa,
	      u32 len)
{
	struct espx_wesp_hdr h;
	u8 b[256] = { 0 };
	int err;

	unhex(L(hex), b, sizeof(b));
	err = espx_wesp_parse(b, len, ipv6, &h);
	if (!err && sa)
		err = espx_wesp_check_sa(&h, sa, len);
	return err;
}

static void test_reject_header(void)
{
	struct espx_wesp_sa sa = sa4;

	ok(rx("3b 14 00", false, &sa4, 3) == ESPX_WESP_DROP_TRUNC &&
	   rx("", false, &sa4, 0) == ESPX_WESP_DROP_TRUNC,
	   "reject: fewer than 4 octets (truncated)");
	ok(rx("3b 14 00 40", false, &sa4, 11) == ESPX_WESP_DROP_TRUNC &&
	   rx("29 18 08 44 01 02 00 00", true, &sa6, 15) ==
	   ESPX_WESP_DROP_TRUNC &&
	   rx("3b 14 00 7f", false, NULL, 4 + 63 + 7) == ESPX_WESP_DROP_TRUNC,
	   "reject: fewer than 4 + OptLen + 8 octets (truncated)");
	ok(rx("3b 14 00 00", false, &sa4, 100) == ESPX_WESP_DROP_VERSION &&
	   rx("3b 14 00 80", false, &sa4, 100) == ESPX_WESP_DROP_VERSION &&
	   rx("3b 14 00 c0", false, &sa4, 100) == ESPX_WESP_DROP_VERSION,
	   "reject: V = 00, 10, 11 (version)");
	ok(rx("3b 14 03 40", false, &sa4, 100) == 0,
	   "accept: R bits set (ignored by the receiver)");

	ok(rx("3b 08 00 40", false, &sa4, 100) == ESPX_WESP_DROP_HDRLEN,
	   "reject: HdrLen 8 < 12 (hdrlen)");
	sa.ivlen = 10;	/* HdrLen 22 is then the SA's own value */
	ok(rx("3b 16 00 40", false, &sa, 100) == ESPX_WESP_DROP_HDRLEN,
	   "reject: HdrLen 22, not a multiple of 4 (hdrlen)");
	sa = sa6;
	sa.ivlen = 12;	/* 4 + 4 + 8 + 12 = 28 */
	ok(rx("3b 1c 00 44 01 02 00 00", true, &sa, 100) ==
	   ESPX_WESP_DROP_HDRLEN,
	   "reject: IPv6 HdrLen 28, not a multiple of 8 (hdrlen)");
	ok(rx("3b 18 00 40", false, &sa4, 100) == ESPX_WESP_DROP_HDRLEN &&
	   rx("3b 20 00 44 01 02 00 00", true, &sa6, 100) ==
	   ESPX_WESP_DROP_HDRLEN,
	   "reject: HdrLen != 4 + OptLen + 8 + ivlen (24 on IPv4 OptLen 0)");

	ok(rx("3b 14 00 40", true, &sa6, 100) == ESPX_WESP_DROP_ALIGN,
	   "reject: IPv6 with OptLen 0 (align)");
	ok(rx("3b 16 00 42 01 00", false, &sa4, 100) == ESPX_WESP_DROP_ALIGN,
	   "reject: IPv4 with OptLen 2 (align)");

	ok(rx("11 14 00 40", false, &sa4, 100) == ESPX_WESP_DROP_NEXTHDR,
	   "reject: CryptOffset 0 with NH 17 (nexthdr)");
	ok(rx("11 14 0c 40", false, &sa4, 100) == ESPX_WESP_DROP_CRYPT_OFFSET &&
	   rx("11 14 fc 40", false, &sa4, 100) == ESPX_WESP_DROP_CRYPT_OFFSET,
	   "reject: CryptOffset 3 and 63 above the SA's 2 (crypt_offset)");
	/* HdrLen 20 + 8 clear + 4 + ICV 16 = 48 */
	ok(rx("11 14 08 40", false, &sa4, 47) == ESPX_WESP_DROP_SHORT &&
	   rx("11 14 08 40", false, &sa4, 48) == 0,
	   "reject: 4 * CryptOffset past the end (short); 48 octets fit");
}

static void test_reject_options(void)
{
	struct espx_wesp_sa sa4c = sa4;

	sa4c.counters = 4;
	ok(rx("3b 18 00 44 01 03 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_TRUNC &&
	   rx("3b 18 00 44 00 00 00 01", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_TRUNC &&
	   rx("3b 18 00 44 05 7f 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_TRUNC,
	   "reject: option TLV running past OptLen (opt_truncated)");
	ok(rx("3b 18 00 44 01 02 00 01", false, &sa4, 100) ==
	   ESPX_WESP_DROP_PADN_NONZERO &&
	   rx("3b 20 00 4c 01 0a 00 00 00 00 00 00 00 00 80 00", true, &sa6,
	      100) == ESPX_WESP_DROP_PADN_NONZERO,
	   "reject: PadN with non-zero data (padn_nonzero)");
	ok(rx("3b 18 00 44 3b 02 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_MUTABLE &&
	   rx("3b 18 00 44 21 02 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_MUTABLE,
	   "reject: option type 0x3b / 0x21 with bit 2 set (opt_mutable)");
	ok(rx("3b 18 00 44 42 02 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_UNKNOWN,
	   "reject: unknown type 0x42, action 01 (opt_unknown)");
	ok(rx("3b 18 00 44 82 02 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_UNKNOWN &&
	   rx("3b 18 00 44 c2 02 00 00", false, &sa4, 100) ==
	   ESPX_WESP_DROP_OPT_UNKNOWN,
	   "reject: unknown types 0x82, 0xc2, no ICMP (opt_unknown)");
	ok(rx("3b 18 00 44 05 02 ab cd", false, &sa4, 100) == 0 &&
	   rx("3b 18 00 44 05 02 ab cd", true, &sa6, 100) == 0 &&
	   rx("3b 20 00 4c 00 05 00 01 02 00 00 1f 00", true, &sa6, 100) == 0,
	   "accept: unknown type 0x05 (action 00) skipped; Pad1, 0x1f skipped");

	ok(rx("3b 18 00 44 1b 01 05 00", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_LEN &&
	   rx("3b 1c 00 48 1b 03 00 05 00 00 00 00", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_LEN,
	   "reject: option 27 with Opt Data Len 1 / 3 (subsa_len)");
	ok(rx("3b 1c 00 48 1b 02 00 01 1b 02 00 01", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_DUP,
	   "reject: option 27 twice (subsa_dup)");
	ok(rx("3b 1c 00 48 01 02 00 00 1b 02 00 01", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_POS &&
	   rx("3b 1c 00 48 00 1b 02 00 01 00 00 00", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_POS,
	   "reject: option 27 after PadN / Pad1 (subsa_position)");
	ok(rx("3b 18 00 44 1b 02 00 01", true, &sa6, 100) ==
	   ESPX_WESP_DROP_SUBSA_UNEXPECTED &&
	   rx("3b 18 00 44 1b 02 00 01", false, &sa4, 100) ==
	   ESPX_WESP_DROP_SUBSA_UNEXPECTED,
	   "reject: option 27 on an SA without counters (subsa_unexpected)");
	ok(rx("3b 18 00 44 01 02 00 00", true, &sa6c, 100) ==
	   ESPX_WESP_DROP_SUBSA_MISSING &&
	   rx("3b 14 00 40", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_MISSING,
	   "reject: option 27 missing on a counter SA (subsa_missing)");
	ok(rx("3b 18 00 44 1b 02 00 04", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_RANGE &&
	   rx("3b 18 00 44 1b 02 ff ff", false, &sa4c, 100) ==
	   ESPX_WESP_DROP_SUBSA_RANGE &&
	   rx("3b 18 00 44 1b 02 00 03", false, &sa4c, 100) == 0,
	   "reject: counter id 4 and 0xffff with N = 4 (subsa_id_range); 3 ok");
}

/* Packets crafted with the key: the AEAD would accept them, the codec not */
static void test_reject_crafted(void)
{
	static const u8 wh05[] = { 0x3b, 0x18, 0x00, 0x44, 0x05, 0x02, 0xab, 0xcd };
	u8 inner[52], wh[8], got[64];
	struct espx_wesp_tx tx = { .ipv6 = true, .nexthdr = 4, .ivlen = 8,
				   .crypt_offset = 2 };
	struct pkt p = {
		.wh = wh, .whlen = 8, .spi = 0x3000, .snlo = 7,
		.payload = inner, .plen = sizeof(inner), .nh = 41,
		.iv = { 0, 0, 0, 0, 0, 0, 0, 7 },
	};

	unhex(inner_b_hex, inner, sizeof(inner));
	espx_wesp_build(wh, sizeof(wh), &tx);	/* NH 4, trailer says 41 */
	ok(seal(&p) && open_pkt(p.buf, p.len, &sa6, false, 0, got) ==
	   ESPX_WESP_DROP_TRAILER_NH,
	   "reject: CryptOffset 2, NH 4 but trailer NH 41 (trailer_nexthdr)");

	p.wh = wh05;	/* IPv4 SA: OptLen 4 instead of the sender's 0 */
	p.payload = udp4_ping;
	p.plen = sizeof(udp4_ping);
	p.nh = 17;
	ok(seal(&p) && open_pkt(p.buf, p.len, &sa4, false, 0, got) == 12 &&
	   same(got, udp4_ping, 12),
	   "accept: sealed IPv4 packet with unknown option 0x05 decrypts");
}

/* Every single-bit change of header, options, SPI, SN and clear octets */
static int flips_rejected(const char * const *hex, u32 outerlen, u32 coveredlen,
			  const struct espx_wesp_sa *sa, bool with_snhi,
			  u32 snhi, int *icv)
{
	u8 pkt[256], got[256];
	u32 n = (u32)unhex(hex, pkt, sizeof(pkt)) - outerlen, i;
	u8 *w = pkt + outerlen;
	int bit, r;

	for (i = 0; i < coveredlen; i++) {
		for (bit = 0; bit < 8; bit++) {
			w[i] ^= (u8)(1 << bit);
			r = open_pkt(w, n, sa, with_snhi, snhi, got);
			w[i] ^= (u8)(1 << bit);
			if (r >= 0) {
				printf("# flip %u.%d accepted\n", i, bit);
				return 0;
			}
			*icv += r == RX_ICV;
		}
	}
	return 1;
}

static void test_bit_flips(void)
{
	int icv_b = 0, icv_mc = 0, icv_a = 0;

	/* A: header 4 + SPI/SN 8; B: 8 + 8 + IV 8 + clear 8; MC: 8 + 8 */
	ok(flips_rejected(pkt_a_hex, 20, 12, &sa4, false, 0, &icv_a) &&
	   flips_rejected(pkt_b_hex, 40, 32, &sa6, false, 0, &icv_b) &&
	   flips_rejected(pkt_mc_hex, 40, 16, &sa6c, true, 1, &icv_mc),
	   "every bit flip in header/options/SPI/SN(/IV/clear) is dropped");
	printf("# ICV failures: A %d, B %d, MC %d\n", icv_a, icv_b, icv_mc);
	/* at least: SPI and SN (64 flips), R (2), B's IV and clear octets */
	ok(icv_a >= 64 + 2 && icv_b >= 64 + 64 + 64 + 2 && icv_mc >= 64,
	   "flips that pass the header checks fail at the ICV");
}

/* ---- helpers ------------------------------------------------------------ */

static void test_trailer(void)
{
	ok(espx_wesp_trailer_check(16, 2, 17, 0, 59) == 12,
	   "trailer: c 0, E 16, PadLen 2: inner 12, NH not compared");
	ok(espx_wesp_trailer_check(4, 2, 41, 1, 41) == 4,
	   "trailer: payload all clear (E = 4): inner = 4 * CryptOffset");
	ok(espx_wesp_trailer_check(4, 3, 41, 1, 41) == ESPX_WESP_DROP_PADLEN &&
	   espx_wesp_trailer_check(1, 0, 41, 0, 59) == ESPX_WESP_DROP_PADLEN &&
	   espx_wesp_trailer_check(0, 0, 0, 0, 59) == ESPX_WESP_DROP_PADLEN,
	   "reject: PadLen + 2 > E (padlen)");
}

static void test_build(void)
{
	struct espx_wesp_tx tx = { .nexthdr = 6, .ivlen = 8 };
	u8 b[16];
	int r;

	ok(espx_wesp_optlen(false, false) == 0 &&
	   espx_wesp_optlen(true, false) == 4 &&
	   espx_wesp_optlen(false, true) == 4 &&
	   espx_wesp_optlen(true, true) == 4, "optlen: IPv4 0, IPv6 4, subsa 4");
	ok(espx_wesp_crypt_offset(2, 7) == 1 &&
	   espx_wesp_crypt_offset(2, 8) == 2 &&
	   espx_wesp_crypt_offset(2, 1500) == 2 &&
	   espx_wesp_crypt_offset(0, 1500) == 0 &&
	   espx_wesp_crypt_offset(100, 1500) == 63 &&
	   espx_wesp_crypt_offset(63, 3) == 0,
	   "crypt_offset = min(sa max, len / 4, 63)");

	tx.crypt_offset = 63;
	ok(espx_wesp_build(b, sizeof(b), &tx) == 4 && b[0] == 6 &&
	   b[1] == 20 && b[2] == 0xfc && b[3] == 0x40,
	   "build: CryptOffset 63 -> octet 2 = fc, NH = trailer NH");
	tx.crypt_offset = 64;
	ok(espx_wesp_build(b, sizeof(b), &tx) == ESPX_CODEC_EINVAL,
	   "build: CryptOffset 64 rejected");
	tx.crypt_offset = 0;
	tx.ipv6 = true;
	tx.ivlen = 4;
	r = espx_wesp_build(b, sizeof(b), &tx);
	tx.ivlen = 244;
	ok(r == ESPX_CODEC_EINVAL &&
	   espx_wesp_build(b, sizeof(b), &tx) == ESPX_CODEC_EINVAL,
	   "build: IPv6 ivlen 4 (HdrLen 20) and HdrLen > 255 rejected");
	tx.ivlen = 8;
	ok(espx_wesp_build(b, 7, &tx) == ESPX_CODEC_ESPACE &&
	   espx_wesp_build(b, 8, &tx) == 8,
	   "build: output buffer too small rejected");
}

static void test_aad_iv(void)
{
	u8 wh[68] = { 0x3b, 0x14, 0xfc, 0x7f }, aad[ESPX_WESP_AAD_MAX + 1];
	u8 clear[252] = { 0 }, iv[8];
	static const u8 want_iv[] = { 0, 0, 0, 1, 0, 0, 0, 5 };
	static const u8 want_max[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};

	ok(ESPX_WESP_AAD_MAX == 331 &&
	   espx_wesp_aad(aad, sizeof(aad), wh, 67, 0, true, 1, 2, clear, 252) ==
	   331 && espx_wesp_aad(aad, 330, wh, 67, 0, true, 1, 2, clear, 252) ==
	   ESPX_CODEC_ESPACE,
	   "aad: OptLen 63, CryptOffset 63, SNhi: 331 octets = AAD_MAX");
	ok(espx_wesp_aad(aad, sizeof(aad), wh, 4, 0, true, 1, 2, clear, 252) ==
	   ESPX_CODEC_EINVAL &&
	   espx_wesp_aad(aad, sizeof(aad), wh, 67, 0, true, 1, 2, clear, 248) ==
	   ESPX_CODEC_EINVAL,
	   "aad: lengths disagreeing with OptLen/CryptOffset rejected");

	espx_esp_iv_seq(iv, 0x0000000100000005ULL);
	ok(same(iv, want_iv, 8), "iv: single counter be64(SN64)");
	ok(espx_wesp_iv_counter(iv, 0xffff, ESPX_WESP_SEQ_MAX) == 0 &&
	   same(iv, want_max, 8) &&
	   espx_wesp_iv_counter(iv, 1, ESPX_WESP_SEQ_MAX + 1) ==
	   ESPX_CODEC_EINVAL &&
	   espx_wesp_iv_counter(iv, 1, 0) == ESPX_CODEC_EINVAL,
	   "iv: counter seq 2^48 - 1 ok; 0 and 2^48 rejected");
}

static void test_drop_names(void)
{
	const char *a, *b, *s;
	int i, j, good = 1;

	for (i = 1; i <= ESPX_WESP_DROP_NR; i++) {
		a = espx_wesp_drop_name(-i);
		for (s = a; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
				good = 0;
		if (!strcmp(a, "unknown"))
			good = 0;
		for (j = 1; j < i; j++) {
			b = espx_wesp_drop_name(-j);
			if (!strcmp(a, b))
				good = 0;
		}
	}
	ok(good && !strcmp(espx_wesp_drop_name(0), "unknown") &&
	   !strcmp(espx_wesp_drop_name(-ESPX_WESP_DROP_NR - 1), "unknown") &&
	   !strcmp(espx_wesp_drop_name(ESPX_WESP_DROP_SUBSA_RANGE),
		   "subsa_id_range"),
	   "drop names: distinct snake_case, subsa_id_range as in the spec");
}

/* ---- round trips -------------------------------------------------------- */

/* build -> parse -> check_sa for every CryptOffset of one family/kind */
static int header_round_trip(bool ipv6, bool subsa)
{
	struct espx_wesp_sa sa = {
		.ipv6 = ipv6, .ivlen = 8, .icvlen = 16, .crypt_offset_max = 63,
		.counters = subsa ? 1024 : 0,
	};
	struct espx_wesp_tx tx = { .ipv6 = ipv6, .subsa = subsa, .ivlen = 8 };
	struct espx_wesp_hdr h;
	u8 b[512] = { 0 };
	u32 c;
	int len;

	for (c = 0; c <= 63; c++) {
		tx.crypt_offset = (u8)c;
		tx.nexthdr = (u8)(c * 7);
		tx.subsa_id = (u16)(c * 16);
		len = espx_wesp_build(b, sizeof(b), &tx);
		if (len != 4 + (int)espx_wesp_optlen(ipv6, subsa) ||
		    espx_wesp_parse(b, len + 8, ipv6, &h) ||
		    espx_wesp_check_sa(&h, &sa, len + 16 + 4 * c + 4 + 16) ||
		    espx_wesp_check_sa(&h, &sa, len + 16 + 4 * c + 3 + 16) !=
		    ESPX_WESP_DROP_SHORT)
			return 0;
		if (h.crypt_offset != c || h.len != len || h.rsvd ||
		    h.hdrlen != len + 16 || h.subsa != subsa ||
		    (subsa && h.subsa_id != c * 16) ||
		    h.nexthdr != (c ? (u8)(c * 7) : 59))
			return 0;
	}
	return 1;
}

/* seal -> open through the AEAD, payload lengths 0..69, SA max 0..3 and 63 */
static int crypto_round_trip(bool ipv6, bool subsa)
{
	struct espx_wesp_sa sa = {
		.ipv6 = ipv6, .ivlen = 8, .icvlen = 16, .counters = subsa ? 3 : 0,
	};
	struct espx_wesp_tx tx = { .ipv6 = ipv6, .subsa = subsa, .ivlen = 8,
				   .nexthdr = 41, .subsa_id = 2 };
	static const u8 maxes[] = { 0, 1, 2, 3, 63 };
	u8 payload[80], got[128], wh[8];
	struct pkt p = { .wh = wh, .spi = 0x12345678, .payload = payload,
			 .nh = 41, .with_snhi = subsa, .snhi = 9 };
	u32 plen, m;
	int r;

	for (plen = 0; plen < sizeof(payload); plen++)
		payload[plen] = (u8)(plen * 31 + 1);
	for (m = 0; m < sizeof(maxes); m++) {
		sa.crypt_offset_max = maxes[m];
		for (plen = 0; plen < 70; plen++) {
			tx.crypt_offset = (u8)espx_wesp_crypt_offset(maxes[m],
								     plen);
			p.whlen = (u32)espx_wesp_build(wh, sizeof(wh), &tx);
			p.plen = plen;
			p.snlo = plen;
			if (subsa)
				espx_wesp_iv_counter(p.iv, 2, 9ULL << 32 | (plen + 1));
			else
				espx_esp_iv_seq(p.iv, plen);
			if (!seal(&p))
				return 0;
			r = open_pkt(p.buf, p.len, &sa, subsa, 9, got);
			if (r != (int)plen || !same(got, payload, plen)) {
				printf("# max %u len %u: %d\n", maxes[m], plen, r);
				return 0;
			}
		}
	}
	return 1;
}

static void test_round_trips(void)
{
	static const char * const kind[] = {
		"IPv4", "IPv4 counters", "IPv6", "IPv6 counters",
	};
	char desc[96];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(desc, sizeof(desc),
			 "round trip %s: build/parse/check_sa, CryptOffset 0..63",
			 kind[i]);
		ok(header_round_trip(i >= 2, i & 1), desc);
		snprintf(desc, sizeof(desc),
			 "round trip %s: seal/open, payload 0..69, max 0..3, 63",
			 kind[i]);
		ok(crypto_round_trip(i >= 2, i & 1), desc);
	}
}

int main(void)
{
	ktap_plan(PLAN);
	test_vector_a();
	test_vector_b();
	test_vector_mc();
	test_reject_header();
	test_reject_options();
	test_reject_crafted();
	test_bit_flips();
	test_trailer();
	test_build();
	test_aad_iv();
	test_drop_names();
	test_round_trips();
	return ktap_done(PLAN);
}
