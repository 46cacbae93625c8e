/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Diet-ESP examples of diet-esp.md §8 (A: CoAP over IPv6 with IIV,
 * B: DNS over IPv6): inner packet, ciphertext, residue and whole packets
 * as the spec dumps them. Shared by test_diet_codec.c and the fuzz seed
 * generator (selftests/fuzz/mkseeds.c).
 */
#ifndef _ESPX_UNIT_DIET_VECTORS_H
#define _ESPX_UNIT_DIET_VECTORS_H

static const char * const a_inner[] = {
	"60 00 00 00 00 12 11 40 20 01 0d b8 00 0a 00 00 00 00 00 00 00 00 00 01",
	"20 01 0d b8 00 0b 00 00 00 00 00 00 00 00 00 01",
	"c0 00 16 33 00 12 48 94 74 65 6d 70 3d 32 31 2e 35 43",
	NULL,
};

static const char * const a_ct[] = {
	"48 d2 8e 80 e2 e2 c6 5d 44 3a 5c ec 0e f6 08 84 26 ee 38 c4 25 4b 19 2c ea 25",
	NULL,
};

static const char * const a_pkt[] = {
	"60 00 00 00 00 1c fd 40",
	"20 01 0d b8 00 00 00 00 00 00 00 00 00 00 01 00",
	"20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01",
	"00 07 48 d2 8e 80 e2 e2 c6 5d 44 3a 5c ec 0e f6 08 84 26 ee 38 c4 25 4b 19 2c ea 25",
	NULL,
};

static const char * const b_res[] = {
	"00 44 80 04 36 e3 ff fc 00 00 00 00 00 00 00 00 01 4e 71 00 00 d4",
	NULL,
};

static const char * const b_pkt[] = {
	"0000  60 00 00 00 00 44 fd 40 20 01 0d b8 00 0c 00 00",
	"0010  00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00",
	"0020  00 00 00 00 00 00 00 01 c0 de 23 45 00 00 00 00",
	"0030  00 01 23 45 7f 71 13 6f b1 28 35 54 5c 6c 8f 4b",
	"0040  a2 e3 db 44 61 af 20 f4 7f 61 a3 26 4c 01 1f 11",
	"0050  8d 5d 9d 57 82 26 95 c0 de d0 de 71 6e cf 3c 5d",
	"0060  de e0 41 26 9e 78 0b 35 5c cb e6 ec",
	NULL,
};

#endif /* _ESPX_UNIT_DIET_VECTORS_H */
