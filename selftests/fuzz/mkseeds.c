// SPDX-License-Identifier: GPL-2.0
/*
 * Seed corpus for the codec fuzzers from the spec vectors of the unit
 * tests (selftests/unit/<x>_vectors.h): one file per vector and target, in
 * the input layout of that target's LLVMFuzzerTestOneInput (its SA or rule
 * prefix, then the octets from the header the codec parses).
 *   mkseeds OUTDIR   writes OUTDIR/seeds-fuzz_<target>/<vector>
 * Built and run by selftests/fuzz/Makefile; the output is not committed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "codec/esp_codec.h"
#include "codec/diet_codec.h"
#include "../unit/vectors.h"
#include "../unit/esp_vectors.h"
#include "../unit/wesp_vectors.h"
#include "../unit/diet_vectors.h"
#include "../unit/eesp_vectors.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *outdir;
static int nseeds;

/* OUTDIR/seeds-@target/@name: @pre (the target's prefix), then @p */
static void seed(const char *target, const char *name, const u8 *pre,
		 size_t prelen, const u8 *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seeds-%s", outdir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/seeds-%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(pre, 1, prelen, f) != prelen ||
	    fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	nseeds++;
}

/* the length of the outer IPv4 (IHL) or IPv6 (no extension) header */
static size_t outer_len(const u8 *pkt)
{
	return pkt[0] >> 4 == 4 ? 4u * (pkt[0] & 15) : 40;
}

/* fuzz_beetph: the plaintext (pseudo-header, PDU, trailer) as it is */
static void beetph_seeds(void)
{
	seed("fuzz_beetph", "esp-baseline-9", NULL, 0, esp_pt_a,
	     sizeof(esp_pt_a));
	seed("fuzz_beetph", "beet-6-b", NULL, 0, beet_pt_b, sizeof(beet_pt_b));
	seed("fuzz_beetph", "beet-6-c", NULL, 0, beet_pt_c, sizeof(beet_pt_c));
}

/* fuzz_wesp: [0] IPv6 | ivlen 8 (1 << 1) | ICV 16 (2 << 3), [1] CryptOffset
 * maximum, [2..3] counters; then the packet from the WESPv2 header on
 */
static void wesp_seed(const char *name, const char * const *hex, bool ipv6,
		      u8 co_max, u16 counters)
{
	u8 pre[4] = { (ipv6 ? 1 : 0) | 1 << 1 | 2 << 3, co_max,
		      counters >> 8, counters & 0xff };
	u8 pkt[256];
	size_t n = unhex(hex, pkt, sizeof(pkt)), off = outer_len(pkt);

	seed("fuzz_wesp", name, pre, sizeof(pre), pkt + off, n - off);
}

static void wesp_seeds(void)
{
	wesp_seed("wespv2-10-a", pkt_a_hex, false, 2, 0);
	wesp_seed("wespv2-10-b", pkt_b_hex, true, 2, 0);
	wesp_seed("multi-counters-8", pkt_mc_hex, true, 0, 8);
}

/* fuzz_eesp: [0] IPv6 | tunnel << 1 | iiv << 2 | ICV 16 (2 << 3),
 * [1] crypt-offset N, [2..3] Sub SAs; then the packet from the EESP base
 * header on. The SA of each vector as test_eesp_codec.c opens it.
 */
enum { V1, V2, V3, V4, V5, V3OPT };

static const u8 eesp_sa[][4] = {
	[V1] = { 2 << 3, 0, 0, 1 },
	[V2] = { 1 | 2 | 2 << 3, 0, 0, 4 },
	[V3] = { 2 | 2 << 3, 8, 0, 1 },
	[V4] = { 1 | 4 | 2 << 3, 0, 0, 1 },
	[V5] = { 1 | 2 << 3, 0, 0, 2 },
	[V3OPT] = { 2 | 2 << 3, 0, 0, 1 },
};

#define E(name, sa) { #name, sa, name, sizeof(name) }

static const struct {
	const char *name;
	int sa;
	const u8 *pkt;
	size_t len;
} eesp_vecs[] = {
	E(v1_packet, V1), E(v2_packet, V2), E(v3_packet, V3),
	E(v4_packet, V4), E(v5_packet, V5),
	E(pkt_n1, V1), E(pkt_n2, V1), E(pkt_n3, V1), E(pkt_n4, V1),
	E(pkt_n5, V1), E(pkt_n5b, V1), E(pkt_n6, V4), E(pkt_n6b, V4),
	E(pkt_n7, V3), E(pkt_n8, V1), E(pkt_n9, V3), E(pkt_n10, V3),
	E(pkt_n11, V3), E(pkt_n12, V2), E(pkt_n12b, V2), E(pkt_n12c, V1),
	E(pkt_n13, V1), E(pkt_n14, V1), E(pkt_n15_prep, V1), E(pkt_n15, V1),
	E(pkt_p15_prep, V1), E(pkt_p15, V1), E(pkt_p16, V2), E(pkt_n16, V1),
	E(pkt_n16b, V1), E(pkt_n16c, V2), E(pkt_n17, V2), E(pkt_n18, V2),
	E(pkt_n18b, V5), E(pkt_n19, V1), E(pkt_n19b, V1), E(pkt_n20, V1),
	E(pkt_p21, V1), E(pkt_n22, V2), E(pkt_n23, V2), E(pkt_n23b, V2),
	E(pkt_n24, V1), E(pkt_n25, V1), E(pkt_p26, V4), E(pkt_p27, V1),
	E(pkt_p27b, V4), E(pkt_p28, V1), E(pkt_p29, V3), E(pkt_p30, V3),
	E(pkt_x1, V3), E(pkt_x2, V3), E(pkt_x3, V3OPT),
};

static void eesp_seeds(void)
{
	size_t i, off;

	for (i = 0; i < ARRAY_SIZE(eesp_vecs); i++) {
		off = outer_len(eesp_vecs[i].pkt);
		if (off >= eesp_vecs[i].len)
			continue;
		seed("fuzz_eesp", eesp_vecs[i].name, eesp_sa[eesp_vecs[i].sa],
		     4, eesp_vecs[i].pkt + off, eesp_vecs[i].len - off);
	}
}

/* fuzz_diet: the 32-octet rule and receiver state of fuzz_diet.c, then
 * the data of the operation in the low 2 bits of [0]
 */
enum { EEC, CTEC, DECOMP, COMP };

/* [1]: the ECN, flow label and trailer bits, plus the low 2 bits that
 * make the whole octet congruent to the DSCP action mod 3
 */
static u8 diet_cda(u8 dscp, u8 ecn, u8 fl, u8 trailer)
{
	u8 v = ecn << 2 | fl << 3 | trailer << 7;

	while (v % 3 != dscp)
		v++;
	return v;
}

static void diet_seed(const char *name, const u8 *rule, u8 dscp, u8 op,
		      u8 nh, const u8 *p, size_t len)
{
	u8 pre[32];

	memcpy(pre, rule, sizeof(pre));
	pre[0] = (pre[0] & ~3) | op;
	pre[1] = diet_cda(dscp, ESPX_DIET_ECN_LOWER, ESPX_DIET_FL_LOWER,
			  ESPX_DIET_TRAILER_OPTIONAL);
	pre[21] = nh;
	seed("fuzz_diet", name, pre, sizeof(pre), p, len);
}

static void diet_seeds(void)
{
	/* §8 A: tunnel 6/6, DSCP from the SA, ECN and flow label from the
	 * lower header, trailer optional, SN 16 bits, UDP ports and
	 * addresses exact, top 7
	 */
	static const u8 rule_a[32] = {
		[0] = 1 << 2 | 0x10 | 0x20,
		[2] = 0, [3] = 16, [4] = 1, [5] = 17, [6] = 1,
		[8] = 128, [9] = 128, [10] = 16, [11] = 16,
		[12] = 0x0a, [13] = 0x0b, [14] = 0xc0, [15] = 0x16,
		[17] = 64, [29] = 7, [31] = 64,
	};
	/* §8 B: tunnel 6/6, DSCP sent, ECN and flow label from the lower
	 * header, SPI and SN 16 bits each, top 0x12345
	 */
	static const u8 rule_b[32] = {
		[0] = 1 << 2 | 0x10 | 0x20,
		[2] = 16, [3] = 16, [4] = 1, [8] = 128, [12] = 0x0c,
		[17] = 64, [27] = 0x01, [28] = 0x23, [29] = 0x45, [31] = 64,
	};
	static const u8 b_data[] = "0123456789abcdefgh";
	u8 a[160], b[160], ct[64], inner[96], res[64], rb[96];
	size_t na = unhex(a_pkt, a, sizeof(a));
	size_t nb = unhex_skip(b_pkt, 6, b, sizeof(b));
	size_t nct = unhex(a_ct, ct, sizeof(ct));
	size_t ni = unhex(a_inner, inner, sizeof(inner));
	size_t nr = unhex(b_res, res, sizeof(res));

	/* EEC: the ESP part of the packet, ICV 16 */
	diet_seed("diet-esp-8-a-eec", rule_a, ESPX_DIET_DSCP_SA, EEC, 16,
		  a + 40, na - 40);
	diet_seed("diet-esp-8-b-eec", rule_b, ESPX_DIET_DSCP_SENT, EEC, 16,
		  b + 40, nb - 40);
	/* CTEC: the ciphertext in place of a plaintext (the trailer) */
	diet_seed("diet-esp-8-a-ctec", rule_a, ESPX_DIET_DSCP_SA, CTEC, 17,
		  ct, nct);
	/* IIPC: the inner packet to compress, the residue + data back */
	diet_seed("diet-esp-8-a-compress", rule_a, ESPX_DIET_DSCP_SA, COMP,
		  17, inner, ni);
	memcpy(rb, res, nr);
	memcpy(rb + nr, b_data, sizeof(b_data) - 1);
	diet_seed("diet-esp-8-b-decompress", rule_b,
		  ESPX_DIET_DSCP_SENT, DECOMP, 17, rb,
		  nr + sizeof(b_data) - 1);
}

/* fuzz_ctr: 10 octets of window (W = 32 * (1 + be16 % 128), start mode,
 * start), then 5 octets per packet (flags, be32 SN): the multi-counters
 * MC vector (Sub SA 5, SN 2) and the window edges of §6 (the low half
 * wrapping, the top of the 48-bit space)
 */
static void ctr_seeds(void)
{
	/* W 1024, start 1: SN 2, 1 (replay), 1025, 3 (too old) */
	static const u8 mc[] = {
		0, 31, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 2,  0, 0, 0, 0, 1,
		0, 0, 0, 4, 1,  0, 0, 0, 0, 3,
	};
	/* W 64, start 2^32 - 8 (mode 1): low halves across the wrap */
	static const u8 wrap[] = {
		0, 1, 1, 0, 1, 0, 0, 0, 0, 8,
		0, 0xff, 0xff, 0xff, 0xfc,  0, 0, 0, 0, 1,
		0, 0xff, 0xff, 0xff, 0xb8,  0x20, 0, 0, 0, 5,
	};
	/* W 4096 full ring, start 2^48 - 1 - 3 (mode 2 | full) */
	static const u8 top[] = {
		0, 127, 6, 0, 0, 0, 0, 0, 0, 3,
		0, 0xff, 0xff, 0xff, 0xff,  0, 0, 0, 0, 0,
		0x21, 0xff, 0xff, 0xf0, 0x00,
	};

	seed("fuzz_ctr", "multi-counters-8-mc", NULL, 0, mc, sizeof(mc));
	seed("fuzz_ctr", "window-wrap-32", NULL, 0, wrap, sizeof(wrap));
	seed("fuzz_ctr", "window-top-48", NULL, 0, top, sizeof(top));
}

/* fuzz_echo: [0] request and [1] reply Sub-Type, [2..3] reply room, [4]
 * block size / 4 (GCM: 4), then the decrypted payload without the ESP
 * trailer: the esp-echo.md §8 request ("ping", reply SPI 0x2001), its
 * reply and the one-way probe, as test_echo_codec.c checks them
 */
static void echo_seeds(void)
{
	static const u8 pre[5] = { 2, 3, 0x05, 0xdc, 1 };
	static const char * const req[] = {
		"02 80 00 04 12 34 00 01 00 00 20 01 70 69 6e 67", NULL,
	};
	static const char * const rep[] = {
		"03 80 00 04 12 34 00 01 00 00 20 01 70 69 6e 67", NULL,
	};
	static const char * const probe[] = {
		"02 00 00 00 12 34 00 02 00 00 00 00", NULL,
	};
	u8 b[32];

	seed("fuzz_echo", "esp-echo-8-request", pre, sizeof(pre), b,
	     unhex(req, b, sizeof(b)));
	seed("fuzz_echo", "esp-echo-8-reply", pre, sizeof(pre), b,
	     unhex(rep, b, sizeof(b)));
	seed("fuzz_echo", "esp-echo-8-probe", pre, sizeof(pre), b,
	     unhex(probe, b, sizeof(b)));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	beetph_seeds();
	wesp_seeds();
	eesp_seeds();
	diet_seeds();
	ctr_seeds();
	echo_seeds();
	printf("mkseeds: %d seeds in %s/seeds-fuzz_*\n", nseeds, outdir);
	return 0;
}
