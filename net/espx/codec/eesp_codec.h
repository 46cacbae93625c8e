/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-free EESP codec (eesp.md, draft-ietf-ipsecme-eesp-03) shared by
 * the module (built as its own object, see Kbuild) and the userspace unit
 * tests and fuzzers:
 *   - sender: the per-packet layout (options for alignment, Crypt Offset,
 *     padding; §3-§5), the header octets (base header, options, SN, IV,
 *     PIH) and the IV (§4, §7),
 *   - receiver: the base header checks that come before the SA lookup, the
 *     options / room / Crypt Offset / Session ID / SN 0 checks against the
 *     SA, and the PIH or inner-header checks after decryption (§6 order of
 *     checks, §9), one result code per counter the profile names,
 *   - AAD (a prefix of the packet) and nonce (§7),
 *   - the Sub SA key derivation input: HKDF-Expand info = be16(Session ID)
 *     and the HMAC message of each output block, the lengths of §6.
 * Every function works on linear octets: the caller makes the header (base
 * header, options, SN, IV: espx_eesp_parse() reads no further) linear first.
 * No kernel header and no allocation; the integer types come from the
 * esp_codec.h shim.
 */
#ifndef _ESPX_CODEC_EESP_CODEC_H
#define _ESPX_CODEC_EESP_CODEC_H

#include "esp_codec.h"

#ifndef __KERNEL__
#include <stdbool.h>
#endif

#define ESPX_EESP_PROTO_DEFAULT	254	/* eesp_proto module parameter (§1) */
#define ESPX_EESP_BASE_LEN	8	/* 1|Version|R, Opt Len, Session ID, SPI */
#define ESPX_EESP_OCTET0	0x80	/* first bit 1, Version 0, R 0 */
#define ESPX_EESP_FIRST_BIT	0x80
#define ESPX_EESP_VERSION_MASK	0x78
#define ESPX_EESP_R_MASK	0x07
#define ESPX_EESP_OPTLEN_MAX	255
#define ESPX_EESP_SN_LEN	8
#define ESPX_EESP_IV_LEN	8
#define ESPX_EESP_PIH_LEN	4
#define ESPX_EESP_SALT_LEN	4
#define ESPX_EESP_NONCE_LEN	12
#define ESPX_EESP_PAD_ALIGN	4	/* encrypted part: multiple of 4 (§4) */
#define ESPX_EESP_NH_DUMMY	59	/* PIH Next Header of a dummy packet */
#define ESPX_EESP_NH_IPIP	4
#define ESPX_EESP_NH_IPV6	41
/* PIH Next Header of an ESP Echo message (esp-echo.md §2: AGGFRAG_PAYLOAD).
 * [DECISION] (README, ESP Echo): it always travels with a PIH, also on an
 * Optimized SA, where the PIH's first nibble 0 cannot be an inner IP
 * version; an Optimized SA accepts a PIH only with this Next Header.
 */
#define ESPX_EESP_NH_ECHO	144

/* Options (§3) */
#define ESPX_EESP_OPT_PAD1	0
#define ESPX_EESP_OPT_PADN	1
#define ESPX_EESP_OPT_CRYPT_OFFSET 2
#define ESPX_EESP_CO_OPT_LEN	4	/* 02 02 PayloadOff(6)|CryptOff(6)|R(4) */
#define ESPX_EESP_CO_DATA_LEN	2
#define ESPX_EESP_CRYPT_OFFSET_MAX 63	/* 6 bits, 4-octet words */

/* Sub SAs and their keys (§6) */
#define ESPX_EESP_SUBSAS_MAX	1024
#define ESPX_EESP_SSKDF_INFO_LEN 2	/* be16(Session ID) */
#define ESPX_EESP_KEYMAT_MAX	36	/* 32-octet key + 4-octet salt */
#define ESPX_EESP_HASH_MAX	64	/* SHA-512 */
/* HMAC message of one HKDF-Expand block: T(i-1) | info | i */
#define ESPX_EESP_HKDF_MSG_MAX	(ESPX_EESP_HASH_MAX + ESPX_EESP_SSKDF_INFO_LEN + 1)

/* Sender SN limits (§6): soft expire at 2^63, nothing after 2^64 - 1 */
#define ESPX_EESP_SN_SOFT	0x8000000000000000ULL

/* Largest header the sender writes: base, CO option, 7 octets of padding
 * options, SN, IV, PIH.
 */
#define ESPX_EESP_HDR_MAX	(ESPX_EESP_BASE_LEN + ESPX_EESP_CO_OPT_LEN + 7 + \
				 ESPX_EESP_SN_LEN + ESPX_EESP_IV_LEN + \
				 ESPX_EESP_PIH_LEN)

/**
 * enum espx_eesp_rx - what the receiver does with an EESP packet
 * @ESPX_EESP_RX_OK: go on (deliver after the last check)
 * @ESPX_EESP_RX_DUMMY: PIH Next Header 59: every check passed; advance the
 *	window, count (in-eesp-dummy), free. Not an error, hence positive.
 * @ESPX_EESP_DROP_HEADER: first bit 0 or R != 0 (in-drop-eesp-header)
 * @ESPX_EESP_DROP_VERSION: Version != 0 (in-drop-eesp-version)
 * @ESPX_EESP_DROP_TRUNCATED: shorter than the base header, options past the
 *	packet, no room for SN, IV, PIH (Full) and ICV (in-drop-eesp-truncated)
 * @ESPX_EESP_DROP_OPTION: a TLV past Opt Len, two Crypt Offset options, a
 *	Crypt Offset option whose Data Len is not 2 (in-drop-eesp-option)
 * @ESPX_EESP_DROP_CRYPT_OFFSET: Crypt Offset option on an SA without
 *	crypt-offset, Payload Offset not the PIH's, CryptOffset above the
 *	SA's N or past the ICV (in-drop-eesp-crypt-offset)
 * @ESPX_EESP_DROP_SUBSA: Session ID >= N (in-drop-eesp-subsa)
 * @ESPX_EESP_DROP_REPLAY: SN 0; the caller's window gives the same result
 *	for a replay or an SN left of it (in-drop-eesp-replay)
 * @ESPX_EESP_DROP_ICV: the AEAD rejected the packet; returned by the
 *	caller's crypto, never by this codec (in-drop-icv)
 * @ESPX_EESP_DROP_PIH: PIH first nibble != 0, Pad Length past the octets
 *	after the PIH (in-drop-eesp-pih)
 * @ESPX_EESP_DROP_INNER: Optimized format: inner version not 4/6, inner
 *	length past the data or below its IP header; tunnel with Crypt
 *	Offset: PIH Next Header not 4/41 or not the inner version
 *	(in-drop-eesp-inner)
 * @ESPX_EESP_DROP_NOT_EESP: an eesp_proto packet for an SA without eesp;
 *	decided by the caller's SA lookup (in-drop-eesp-not-eesp)
 * @ESPX_EESP_DROP_PLAIN_SA: a protocol 50 packet for an EESP SA; decided by
 *	the caller (in-drop-eesp-plain-sa)
 * @ESPX_EESP_DROP_NO_SA: no SA for (daddr, SPI): per-namespace counter
 *	(ns_eesp_no_sa)
 * @ESPX_EESP_DROP_NR: number of drop reasons (positive)
 *
 * The drops are negative so that the functions can return them directly;
 * espx_eesp_rx_name() gives each result the profile's counter name.
 */
enum espx_eesp_rx {
	ESPX_EESP_RX_OK = 0,
	ESPX_EESP_RX_DUMMY = 1,
	ESPX_EESP_DROP_HEADER = -1,
	ESPX_EESP_DROP_VERSION = -2,
	ESPX_EESP_DROP_TRUNCATED = -3,
	ESPX_EESP_DROP_OPTION = -4,
	ESPX_EESP_DROP_CRYPT_OFFSET = -5,
	ESPX_EESP_DROP_SUBSA = -6,
	ESPX_EESP_DROP_REPLAY = -7,
	ESPX_EESP_DROP_ICV = -8,
	ESPX_EESP_DROP_PIH = -9,
	ESPX_EESP_DROP_INNER = -10,
	ESPX_EESP_DROP_NOT_EESP = -11,
	ESPX_EESP_DROP_PLAIN_SA = -12,
	ESPX_EESP_DROP_NO_SA = -13,
	ESPX_EESP_DROP_NR = 13,
};

/**
 * enum espx_eesp_tx_sn - result of espx_eesp_tx_sn_verdict()
 * @ESPX_EESP_TX_OK: send with this SN
 * @ESPX_EESP_TX_SOFT: send, and raise the SA's soft expire (SN >= 2^63)
 * @ESPX_EESP_TX_EXHAUSTED: SN 0 (the Sub SA already sent 2^64 - 1): drop
 *	(out-drop-eesp-exhausted) and hard-expire the SA
 */
enum espx_eesp_tx_sn {
	ESPX_EESP_TX_OK = 0,
	ESPX_EESP_TX_SOFT = 1,
	ESPX_EESP_TX_EXHAUSTED = -1,
};

/**
 * enum espx_eesp_sskdf - the Sub SA key derivation function (§6)
 * @ESPX_EESP_SSKDF_SHA256: HKDF-Expand with HMAC-SHA-256, 32-octet root
 * @ESPX_EESP_SSKDF_SHA384: HKDF-Expand with HMAC-SHA-384, 48-octet root
 * @ESPX_EESP_SSKDF_SHA512: HKDF-Expand with HMAC-SHA-512, 64-octet root
 */
enum espx_eesp_sskdf {
	ESPX_EESP_SSKDF_SHA256 = 0,
	ESPX_EESP_SSKDF_SHA384 = 1,
	ESPX_EESP_SSKDF_SHA512 = 2,
};

/**
 * struct espx_eesp_sa - an SA's EESP parameters, as both ends see them
 * @ipv6: outer family IPv6 (sender: payload aligned to 8, else 4)
 * @tunnel: tunnel mode (Optimized format unless @crypt_offset)
 * @iiv: no explicit IV on the wire; IV = be64(SN) (RFC 8750)
 * @crypt_offset: the SA's crypt-offset N in words (0: none, 1..63)
 * @icvlen: ICV octets (8, 12 or 16)
 * @subsas: number of Sub SAs N (1..1024; 0 counts as 1)
 */
struct espx_eesp_sa {
	bool ipv6;
	bool tunnel;
	bool iiv;
	u8 crypt_offset;
	u8 icvlen;
	u16 subsas;
};

/* Full format (PIH present): transport, BEET, any SA with a Crypt Offset */
static inline bool espx_eesp_sa_full(const struct espx_eesp_sa *sa)
{
	return !sa->tunnel || sa->crypt_offset;
}

/**
 * struct espx_eesp_tx - one packet for espx_eesp_layout()/espx_eesp_build()
 * @session_id: the Sub SA sending it
 * @spi: SPI (host order)
 * @sn: its SN (1..2^64 - 1)
 * @nexthdr: PIH Next Header (Full format; 59 for a dummy packet; 144, an
 *	ESP Echo message, gets a PIH on an Optimized SA too)
 * @payload_len: octets of payload data: L4 segment, or the inner packet
 */
struct espx_eesp_tx {
	u16 session_id;
	u32 spi;
	u64 sn;
	u8 nexthdr;
	u32 payload_len;
};

/**
 * struct espx_eesp_layout - where everything goes in one sent packet
 * @optlen: Opt Len: Crypt Offset option and padding options
 * @pih_off: offset of the PIH (Full) or of the payload (Optimized), from the
 *	start of the base header
 * @hdr_len: octets from the base header to the payload data: what
 *	espx_eesp_build() writes
 * @crypt_offset: this packet's CryptOffset (0: no option)
 * @aad_len: octets from the base header to the first encrypted octet: the
 *	AAD is this prefix of the packet (§7)
 * @pad_len: zero octets after the payload (the PIH's Pad Length)
 * @enc_len: octets encrypted (the ICV follows them)
 * @total: octets from the base header to the end of the ICV
 */
struct espx_eesp_layout {
	u32 optlen;
	u32 pih_off;
	u32 hdr_len;
	u32 crypt_offset;
	u32 aad_len;
	u32 pad_len;
	u32 enc_len;
	u32 total;
};

/**
 * struct espx_eesp_hdr - a received EESP header
 * @optlen: Opt Len
 * @session_id: Session ID
 * @spi: SPI (host order)
 * @co: a Crypt Offset option was present
 * @payload_off: its Payload Offset (words)
 * @crypt_offset: its CryptOffset (words; 0 without the option)
 * @sn: the 64-bit SN (valid after espx_eesp_parse())
 * @iv_off: offset of the explicit IV, 0 with iiv
 * @pih_off: offset of the PIH (Full) or the payload (Optimized)
 * @aad_len: offset of the first encrypted octet = AAD length
 * @enc_len: octets to decrypt (between the AAD and the ICV)
 *
 * Offsets count from the first octet of the base header.
 */
struct espx_eesp_hdr {
	u8 optlen;
	u16 session_id;
	u32 spi;
	bool co;
	u8 payload_off;
	u8 crypt_offset;
	u64 sn;
	u32 iv_off;
	u32 pih_off;
	u32 aad_len;
	u32 enc_len;
};

/**
 * struct espx_eesp_payload - the checked payload, after decryption
 * @nexthdr: PIH Next Header (Full), or 4 / 41 from the inner version
 *	(Optimized)
 * @off: octets from the checked buffer's start to the payload data
 *	(4 in Full format: the PIH, else 0)
 * @len: payload octets (padding excluded)
 */
struct espx_eesp_payload {
	u8 nexthdr;
	u32 off;
	u32 len;
};

/* Does packet @tx carry a PIH? Full format, or an ESP Echo message. */
static inline bool espx_eesp_tx_full(const struct espx_eesp_sa *sa,
				     const struct espx_eesp_tx *tx)
{
	return espx_eesp_sa_full(sa) || tx->nexthdr == ESPX_EESP_NH_ECHO;
}

/* Octets from the base header to the end of its options: what a receiver
 * makes linear before espx_eesp_parse() (@eh: at least ESPX_EESP_BASE_LEN).
 */
static inline u32 espx_eesp_opts_end(const u8 *eh)
{
	return ESPX_EESP_BASE_LEN + eh[1];
}

/* ... and everything espx_eesp_parse() reads: options, SN, IV */
static inline u32 espx_eesp_parse_len(const u8 *eh, bool iiv)
{
	return espx_eesp_opts_end(eh) + ESPX_EESP_SN_LEN +
	       (iiv ? 0 : ESPX_EESP_IV_LEN);
}

/* Zero padding after the payload (§4: "MUST be set to 0") */
static inline void espx_eesp_fill_pad(u8 *tail, u32 pad_len)
{
	memset(tail, 0, pad_len);
}

/* HKDF-Expand output blocks for @keymat_len octets of a @hash_len hash */
static inline u32 espx_eesp_hkdf_blocks(u32 keymat_len, u32 hash_len)
{
	return (keymat_len + hash_len - 1) / hash_len;
}

int espx_eesp_layout(const struct espx_eesp_sa *sa,
		     const struct espx_eesp_tx *tx,
		     struct espx_eesp_layout *l);
int espx_eesp_build(u8 *buf, size_t buflen, const struct espx_eesp_sa *sa,
		    const struct espx_eesp_tx *tx,
		    const struct espx_eesp_layout *l);
int espx_eesp_tx_sn_verdict(u64 sn);
u32 espx_eesp_payload_max(u32 room);

int espx_eesp_parse_base(const u8 *eh, u32 len, struct espx_eesp_hdr *h);
int espx_eesp_parse(const u8 *eh, u32 len, const struct espx_eesp_sa *sa,
		    struct espx_eesp_hdr *h);
int espx_eesp_check_payload(const u8 *p, u32 len,
			    const struct espx_eesp_sa *sa,
			    struct espx_eesp_payload *out);
const char *espx_eesp_rx_name(int res);

void espx_eesp_iv(u8 *iv, u64 sn);
void espx_eesp_rx_iv(u8 *iv, const u8 *eh, const struct espx_eesp_hdr *h);
void espx_eesp_nonce(u8 *nonce, const u8 *salt, const u8 *iv);

int espx_eesp_sskdf_lens(enum espx_eesp_sskdf kdf, u32 *root_len,
			 u32 *hash_len);
int espx_eesp_keymat_len(bool chacha, u32 key_bits);
void espx_eesp_sskdf_info(u8 *info, u16 session_id);
int espx_eesp_hkdf_msg(u8 *msg, size_t msglen, const u8 *prev, u32 prevlen,
		       u16 session_id, u32 block);

#endif /* _ESPX_CODEC_EESP_CODEC_H */
