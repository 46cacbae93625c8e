/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The WESPv2 packets of wespv2.md §10 (A: IPv4, B: IPv6 with CryptOffset)
 * and multi-counters.md §8 (MC: Sub SA option), as the specs dump them.
 * Shared by test_wesp_codec.c and the fuzz seed generator
 * (selftests/fuzz/mkseeds.c).
 */
#ifndef _ESPX_UNIT_WESP_VECTORS_H
#define _ESPX_UNIT_WESP_VECTORS_H

static const char * const pkt_a_hex[] = {
	"45 00 00 48 00 01 40 00 40 8d b6 24 c0 00 02 01",
	"c0 00 02 02 3b 14 00 40 00 00 20 00 00 00 00 01",
	"00 00 00 00 00 00 00 01 42 a3 0a dc 6c 88 f5 51",
	"f7 05 28 70 da 06 96 77 2b 17 45 eb cc b9 bc 1a",
	"dd be 79 22 0c ed 89 bc",
	NULL,
};

static const char * const pkt_b_hex[] = {
	"60 00 00 00 00 60 8d 40 20 01 0d b8 00 00 00 00",
	"00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00",
	"00 00 00 00 00 00 00 02 29 18 08 44 01 02 00 00",
	"00 00 30 00 00 00 00 01 00 00 00 00 00 00 00 01",
	"60 00 00 00 00 0c 11 40 66 70 11 4a 6c 85 77 50",
	"87 6c 46 17 db 04 94 67 31 f3 14 3b 96 f7 80 a2",
	"6d f1 8b 10 1c a6 5f 13 ef 29 d8 85 25 3d 3a 59",
	"40 63 8a df ce 2e bd 3d b7 a0 85 56 e9 b4 a6 2d",
	"91 ed b9 1f b9 7c e4 32",
	NULL,
};

static const char * const pkt_mc_hex[] = {
	"60 00 00 00 00 38 8d 40 20 01 0d b8 00 00 00 00",
	"00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00",
	"00 00 00 00 00 00 00 02 3b 18 00 44 1b 02 00 05",
	"00 00 40 00 00 00 00 02 00 05 00 01 00 00 00 02",
	"09 93 97 4a 7c 4d fd 0a b1 75 da b7 ac ba 6e da",
	"99 3b cd 4a f6 51 3a 5b 50 d8 10 d6 fa 2f b8 81",
	NULL,
};

#endif /* _ESPX_UNIT_WESP_VECTORS_H */
