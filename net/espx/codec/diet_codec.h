/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free Diet-ESP codec (diet-esp.md, draft-ietf-ipsecme-diet-esp-07)
 * shared by the module (its own object, see Kbuild) and the userspace
 * unit tests and fuzzers:
 *   - the per-SA rule (§7) and its validation (§3, §9 "Configuration"),
 *   - EEC: the truncated SPI/SN prefix and the SN rebuild (§3, §6 step 2),
 *   - CTEC: trailer layout, build and strip (§4, §6 step 4),
 *   - IIPC: inner IPv4/IPv6 + UDP/TCP header compression (§5, §6 step 5).
 * Everything works on linear buffers: the module linearizes the few header
 * octets named by ESPX_DIET_HDR_MAX / ESPX_DIET_RES_MAX and sums the payload
 * itself for the L4 checksum. No kernel header and no allocation; the
 * integer types come from the esp_codec.h shim.
 */
#ifndef _ESPX_CODEC_DIET_CODEC_H
#define _ESPX_CODEC_DIET_CODEC_H

#include "esp_codec.h"

#ifndef __KERNEL__
#include <stdbool.h>
#endif

#define ESPX_DIET_PROTO_DEFAULT	253	/* RFC 3692 experimental, diet-esp.md §2 */
#define ESPX_DIET_EEC_MAX	8	/* 32 + 32 bits */
#define ESPX_DIET_DSCP_MAX	64	/* dscp_list entries */
#define ESPX_DIET_CANDIDATES	4	/* §6 step 1 */
/* Largest uncompressed header IIPC handles: IPv6 (40) + TCP (20) */
#define ESPX_DIET_HDR_MAX	60
/* Largest residue: IPv6 + TCP, every field sent: 436 bits */
#define ESPX_DIET_RES_MAX	56

#define ESPX_DIET_IPPROTO_IPIP	4
#define ESPX_DIET_IPPROTO_TCP	6
#define ESPX_DIET_IPPROTO_UDP	17
#define ESPX_DIET_IPPROTO_IPV6	41

/* Attribute values (§7), the code points of the IKEv2 HCP notify */
enum espx_diet_iipc_profile {
	ESPX_DIET_IIPC_NONE = 0,	/* iipc_not_compressed */
	ESPX_DIET_IIPC_DIET = 1,	/* iipc_diet-esp */
};

enum espx_diet_dscp_cda {
	ESPX_DIET_DSCP_SENT = 0,	/* not_compressed */
	ESPX_DIET_DSCP_LOWER = 1,
	ESPX_DIET_DSCP_SA = 2,		/* index into dscp_list */
};

enum espx_diet_ecn_cda {
	ESPX_DIET_ECN_SENT = 0,		/* not_compressed */
	ESPX_DIET_ECN_LOWER = 1,
};

enum espx_diet_fl_cda {
	ESPX_DIET_FL_SENT = 0,		/* not_compressed */
	ESPX_DIET_FL_LOWER = 1,
	ESPX_DIET_FL_GENERATED = 2,
	ESPX_DIET_FL_ZERO = 3,
};

enum espx_diet_align {
	ESPX_DIET_ALIGN_8 = 0,
	ESPX_DIET_ALIGN_16 = 1,
	ESPX_DIET_ALIGN_32 = 2,
	ESPX_DIET_ALIGN_64 = 3,
};

enum espx_diet_trailer {
	ESPX_DIET_TRAILER_MANDATORY = 0,
	ESPX_DIET_TRAILER_OPTIONAL = 1,
};

/* Same values as XFRM_MODE_TRANSPORT, _TUNNEL and _BEET */
enum espx_diet_mode {
	ESPX_DIET_MODE_TRANSPORT = 0,
	ESPX_DIET_MODE_TUNNEL = 1,
	ESPX_DIET_MODE_BEET = 4,
};

/**
 * enum espx_diet_cfg - why a rule was refused (§3, §9 "Configuration")
 * @ESPX_DIET_CFG_PROFILE: iipc_profile not 0 or 1
 * @ESPX_DIET_CFG_DSCP_CDA: dscp_cda above 2
 * @ESPX_DIET_CFG_DSCP_LIST: dscp_cda sa with 0 or more than 64 entries, or an
 *	entry above 63
 * @ESPX_DIET_CFG_ECN_CDA: ecn_cda above 1
 * @ESPX_DIET_CFG_FL_CDA: flow_label_cda above 3
 * @ESPX_DIET_CFG_ALIGN: alignment above 3
 * @ESPX_DIET_CFG_TRAILER: esp_trailer above 1
 * @ESPX_DIET_CFG_SPI_LSB: esp_spi_lsb above 32
 * @ESPX_DIET_CFG_SN_LSB: esp_sn_lsb 0 or above 32
 * @ESPX_DIET_CFG_LSB_SUM: esp_spi_lsb + esp_sn_lsb not a multiple of 8
 * @ESPX_DIET_CFG_WINDOW: replay window above 2^(esp_sn_lsb - 1)
 * @ESPX_DIET_CFG_MODE: not transport, tunnel or BEET
 * @ESPX_DIET_CFG_FAMILY: a family not 4 or 6, or transport mode with inner
 *	and outer families different
 * @ESPX_DIET_CFG_TS_ADDR: a traffic selector address start above its end
 * @ESPX_DIET_CFG_TS_PORT: a traffic selector port start above its end
 * @ESPX_DIET_CFG_BLKSIZE: cipher block size 0 or above 16
 * @ESPX_DIET_CFG_NR: number of reasons (positive)
 *
 * espx_diet_cfg_msg() gives each one an extack message.
 */
enum espx_diet_cfg {
	ESPX_DIET_CFG_PROFILE = -1,
	ESPX_DIET_CFG_DSCP_CDA = -2,
	ESPX_DIET_CFG_DSCP_LIST = -3,
	ESPX_DIET_CFG_ECN_CDA = -4,
	ESPX_DIET_CFG_FL_CDA = -5,
	ESPX_DIET_CFG_ALIGN = -6,
	ESPX_DIET_CFG_TRAILER = -7,
	ESPX_DIET_CFG_SPI_LSB = -8,
	ESPX_DIET_CFG_SN_LSB = -9,
	ESPX_DIET_CFG_LSB_SUM = -10,
	ESPX_DIET_CFG_WINDOW = -11,
	ESPX_DIET_CFG_MODE = -12,
	ESPX_DIET_CFG_FAMILY = -13,
	ESPX_DIET_CFG_TS_ADDR = -14,
	ESPX_DIET_CFG_TS_PORT = -15,
	ESPX_DIET_CFG_BLKSIZE = -16,
	ESPX_DIET_CFG_NR = 16,
};

/**
 * enum espx_diet_drop - why a Diet-ESP packet was dropped
 * @ESPX_DIET_DROP_SHORT: shorter than the EEC header + IV + ICV
 * @ESPX_DIET_DROP_SN_ZERO: the rebuilt SN is 0
 * @ESPX_DIET_DROP_SN_WRAP: the rebuilt SN does not fit 32 bits (no ESN) or
 *	64 bits
 * @ESPX_DIET_DROP_PADLEN: PadLen + 1 + len(NH) larger than the plaintext
 * @ESPX_DIET_DROP_NEXTHDR: a Next Header sent in the trailer differs from
 *	the one the SA implies (tunnel/BEET: 4 or 41; transport: ts_proto)
 * @ESPX_DIET_DROP_RESIDUE: the residue runs past the end of the plaintext
 * @ESPX_DIET_DROP_RESIDUE_PAD: a bit after the residue is not zero
 * @ESPX_DIET_DROP_DSCP_INDEX: DSCP index >= len(dscp_list)
 * @ESPX_DIET_DROP_IHL: decoded IPv4 IHL not 5
 * @ESPX_DIET_DROP_LENGTH: a rebuilt length above 65535
 * @ESPX_DIET_DROP_TCP_DOFF: TCP data offset below 5 or options past the end
 * @ESPX_DIET_DROP_NOMATCH: sender: the packet does not fit the rule (outside
 *	the TS prefixes, IPv4 options, DSCP not in dscp_list, wrong family or
 *	protocol, inconsistent lengths); never sent half-compressed
 * @ESPX_DIET_DROP_NR: number of reasons (positive)
 *
 * The values are negative so that the functions can return them directly;
 * espx_diet_drop_name() gives each one a stable name.
 */
enum espx_diet_drop {
	ESPX_DIET_DROP_SHORT = -1,
	ESPX_DIET_DROP_SN_ZERO = -2,
	ESPX_DIET_DROP_SN_WRAP = -3,
	ESPX_DIET_DROP_PADLEN = -4,
	ESPX_DIET_DROP_NEXTHDR = -5,
	ESPX_DIET_DROP_RESIDUE = -6,
	ESPX_DIET_DROP_RESIDUE_PAD = -7,
	ESPX_DIET_DROP_DSCP_INDEX = -8,
	ESPX_DIET_DROP_IHL = -9,
	ESPX_DIET_DROP_LENGTH = -10,
	ESPX_DIET_DROP_TCP_DOFF = -11,
	ESPX_DIET_DROP_NOMATCH = -12,
	ESPX_DIET_DROP_NR = 12,
};

/**
 * struct espx_diet_rule - the per-SA Diet-ESP parameters (AfRG, §7)
 * @iipc_profile: enum espx_diet_iipc_profile
 * @dscp_cda: enum espx_diet_dscp_cda
 * @dscp_count: entries of @dscp_list (dscp_cda sa)
 * @dscp_list: the DSCP values the SA carries (dscp_cda sa)
 * @ecn_cda: enum espx_diet_ecn_cda
 * @flow_label_cda: enum espx_diet_fl_cda
 * @alignment: enum espx_diet_align
 * @esp_trailer: enum espx_diet_trailer
 * @esp_spi_lsb: SPI bits sent (0-32)
 * @esp_sn_lsb: SN bits sent (1-32)
 * @iiv: implicit IV (RFC 8750): no IV on the wire
 * @blksize: the cipher's block size in octets (1 for GCM and ChaCha20)
 * @mode: enum espx_diet_mode
 * @inner_family: 4 or 6, ts_ip_version (transport: the outer family)
 * @outer_family: 4 or 6, tunnel_ip
 * @ts_proto: traffic selector protocol, 0 = any
 * @src_start: TS source range start, IPv4 in the first 4 octets
 * @src_end: TS source range end
 * @dst_start: TS destination range start
 * @dst_end: TS destination range end
 * @sport_start: TS source port range start
 * @sport_end: TS source port range end
 * @dport_start: TS destination port range start
 * @dport_end: TS destination port range end
 * @src_plen: cached by espx_diet_rule_check(): common prefix bits of the
 *	source range
 * @dst_plen: likewise, destination range
 * @sport_plen: likewise, source ports
 * @dport_plen: likewise, destination ports
 * @dscp_bits: likewise, bits of a dscp_list index
 *
 * Addresses and ports are in network order (ports as numbers).
 */
struct espx_diet_rule {
	u8 iipc_profile;
	u8 dscp_cda;
	u8 dscp_count;
	u8 dscp_list[ESPX_DIET_DSCP_MAX];
	u8 ecn_cda;
	u8 flow_label_cda;
	u8 alignment;
	u8 esp_trailer;
	u8 esp_spi_lsb;
	u8 esp_sn_lsb;
	bool iiv;
	u8 blksize;
	u8 mode;
	u8 inner_family;
	u8 outer_family;
	u8 ts_proto;
	u8 src_start[16];
	u8 src_end[16];
	u8 dst_start[16];
	u8 dst_end[16];
	u16 sport_start;
	u16 sport_end;
	u16 dport_start;
	u16 dport_end;
	u8 src_plen;
	u8 dst_plen;
	u8 sport_plen;
	u8 dport_plen;
	u8 dscp_bits;
};

int espx_diet_rule_check(struct espx_diet_rule *r, u32 replay_window);
const char *espx_diet_cfg_msg(int reason);
const char *espx_diet_drop_name(int reason);

/* the low @n bits of a 64-bit value */
static inline u64 espx_diet_mask(u32 n)
{
	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

/* The inner IP header is in the ESP payload: tunnel mode only. Linux BEET
 * carries no inner IP header (the mode itself elides it and the receiver
 * rebuilds it from the selector), so BEET compresses UDP/TCP and takes its
 * Next Header like transport mode (beet.md §1).
 */
static inline bool espx_diet_inner_ip(const struct espx_diet_rule *r)
{
	return r->mode == ESPX_DIET_MODE_TUNNEL;
}

/* The packet needs the diet_proto outer protocol (§2 [DECISION]) */
static inline bool espx_diet_truncated(const struct espx_diet_rule *r)
{
	return r->esp_spi_lsb < 32 || r->esp_sn_lsb < 32;
}

/* Octets of the compressed SPI/SN prefix */
static inline u32 espx_diet_eec_len(const struct espx_diet_rule *r)
{
	return ((u32)r->esp_spi_lsb + r->esp_sn_lsb) / 8;
}

/**
 * struct espx_diet_eec - a parsed EEC prefix
 * @spi_bits: the low esp_spi_lsb bits of the SPI
 * @sn_bits: the low esp_sn_lsb bits of the SN
 * @len: octets of the prefix
 */
struct espx_diet_eec {
	u32 spi_bits;
	u32 sn_bits;
	u32 len;
};

int espx_diet_eec_build(const struct espx_diet_rule *r, u8 *buf,
			size_t buflen, u32 spi, u32 snlo);
int espx_diet_eec_spi(const u8 *pkt, size_t len, u32 spi_lsb, u32 *spi_bits);
int espx_diet_eec_parse(const struct espx_diet_rule *r, const u8 *pkt,
			size_t len, u32 tail, struct espx_diet_eec *out);
int espx_diet_sn_rebuild(u32 sn_lsb, u32 sn_bits, u64 top, u32 window,
			 bool esn, u64 *sn);
u32 espx_diet_aad(u8 *aad, u32 spi, u64 sn, bool esn);

/**
 * struct espx_diet_ctec - the trailer of one packet (§4)
 * @padlen: padding octets (01 02 03 ...)
 * @has_padlen: the Pad Length octet is sent
 * @has_nh: the Next Header octet is sent
 * @len: octets after the payload: @padlen + @has_padlen + @has_nh
 */
struct espx_diet_ctec {
	u32 padlen;
	bool has_padlen;
	bool has_nh;
	u32 len;
};

int espx_diet_ctec_layout(const struct espx_diet_rule *r, u32 payload_len,
			  u8 nexthdr, struct espx_diet_ctec *t);
void espx_diet_ctec_build(u8 *tail, const struct espx_diet_ctec *t,
			  u8 nexthdr);
int espx_diet_ctec_strip(const struct espx_diet_rule *r, u32 ptlen,
			 const u8 *last2, u8 *nexthdr);

/**
 * struct espx_diet_lower - inner values carried by the outer header (§5)
 * @dscp: outer DSCP (dscp_cda lower)
 * @ecn: outer ECN (ecn_cda lower)
 * @hop_limit: outer hop limit / TTL (always, profile diet-esp)
 * @flow: outer IPv6 flow label (20 bits) or outer IPv4 Identification
 *	(16 bits), flow_label_cda lower
 * @flow_gen: receiver: the label or Identification to write for
 *	flow_label_cda generated (e.g. a flow hash)
 *
 * The compressor fills it from the inner header (@flow already cut to the
 * outer family's width); the module writes the fields whose CDA is lower,
 * and the hop limit, into the outer header. The decompressor reads it from
 * the received outer header. Unused in transport mode.
 */
struct espx_diet_lower {
	u8 dscp;
	u8 ecn;
	u8 hop_limit;
	u32 flow;
	u32 flow_gen;
};

/**
 * struct espx_diet_iipc - the shape of one compressed header
 * @hdr_len: octets of uncompressed header (IP + L4) replaced by the residue
 * @res_len: octets of residue, pad bits included
 * @l3_len: octets of inner IP header in @hdr_len (0 in transport mode)
 * @l4_len: octets of UDP/TCP header in @hdr_len (0 when not compressed)
 * @plen: octets of payload after the header
 * @proto: the L4 protocol
 */
struct espx_diet_iipc {
	u32 hdr_len;
	u32 res_len;
	u32 l3_len;
	u32 l4_len;
	u32 plen;
	u8 proto;
};

int espx_diet_iipc_compress(const struct espx_diet_rule *r, const u8 *pkt,
			    u32 avail, u32 len, u8 proto,
			    u8 res[ESPX_DIET_RES_MAX],
			    struct espx_diet_lower *lower,
			    struct espx_diet_iipc *out);
int espx_diet_iipc_decompress(const struct espx_diet_rule *r, const u8 *in,
			      u32 avail, u32 len, u8 proto,
			      const struct espx_diet_lower *lower,
			      u8 hdr[ESPX_DIET_HDR_MAX],
			      struct espx_diet_iipc *out);
void espx_diet_iipc_csum(const struct espx_diet_rule *r, u8 *hdr,
			 const struct espx_diet_iipc *st, const u8 *saddr,
			 const u8 *daddr, u16 payload_sum);
u16 espx_diet_csum_add(u16 sum, const u8 *p, size_t len);

#endif /* _ESPX_CODEC_DIET_CODEC_H */
