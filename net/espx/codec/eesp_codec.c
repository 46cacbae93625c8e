// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free EESP codec; see eesp_codec.h. Built into the module as its own
 * object (Kbuild) and into the userspace unit tests and fuzzers by #include.
 */
#include "eesp_codec.h"

/* Offsets inside the base header */
#define EESP_OFF_OPTLEN		1
#define EESP_OFF_SESSION	2
#define EESP_OFF_SPI		4

/* Crypt Offset option data: PayloadOff(6) | CryptOff(6) | R(4) */
#define EESP_CO_POFF_SHIFT	10
#define EESP_CO_COFF_SHIFT	4
#define EESP_CO_FIELD_MASK	0x3f

/* Largest payload the sender lays out: keeps every sum below 2^32 */
#define EESP_PAYLOAD_MAX	0x7fff0000u

static u64 eesp_get_be64(const u8 *p)
{
	return (u64)espx_codec_be32(p) << 32 | espx_codec_be32(p + 4);
}

static void eesp_put_be64(u8 *p, u64 v)
{
	espx_codec_put_be32(p, (u32)(v >> 32));
	espx_codec_put_be32(p + 4, (u32)v);
}

static u32 eesp_ivlen(const struct espx_eesp_sa *sa)
{
	return sa->iiv ? 0 : ESPX_EESP_IV_LEN;
}

static u32 eesp_pihlen(const struct espx_eesp_sa *sa)
{
	return espx_eesp_sa_full(sa) ? ESPX_EESP_PIH_LEN : 0;
}

/* PIH octets of one sent packet (an echo message has one in any format) */
static u32 eesp_tx_pihlen(const struct espx_eesp_sa *sa,
			  const struct espx_eesp_tx *tx)
{
	return espx_eesp_tx_full(sa, tx) ? ESPX_EESP_PIH_LEN : 0;
}

/**
 * espx_eesp_layout - where the parts of one packet go (§3, §4, §5)
 * @sa: the sending SA
 * @tx: the packet
 * @l: result
 *
 * Options: the Crypt Offset option first (when the SA has one), then Pad1
 * (one octet) or PadN (two or more) so that the payload data starts at a
 * multiple of 4 (IPv4 outer) or 8 (IPv6 outer) octets from the base header.
 * CryptOffset = min(N, 1 + whole words of payload). Padding: zero octets so
 * that the encrypted part, counted with the PIH and the clear words, is a
 * multiple of 4 (the clear part is whole words, so this is the same as the
 * encrypted octets alone). A PIH in Full format, and for Next Header 144
 * (ESP Echo) also on an Optimized SA.
 *
 * Return: 0, or ESPX_CODEC_EINVAL for a CryptOffset above 63 or a payload
 * of 2^31 octets or more.
 */
int espx_eesp_layout(const struct espx_eesp_sa *sa,
		     const struct espx_eesp_tx *tx,
		     struct espx_eesp_layout *l)
{
	u32 align = sa->ipv6 ? 8 : 4;
	u32 co_len = sa->crypt_offset ? ESPX_EESP_CO_OPT_LEN : 0;
	u32 pih = eesp_tx_pihlen(sa, tx);
	u32 fixed, padopt, co = 0, enc;

	if (sa->crypt_offset > ESPX_EESP_CRYPT_OFFSET_MAX ||
	    tx->payload_len > EESP_PAYLOAD_MAX)
		return ESPX_CODEC_EINVAL;

	fixed = ESPX_EESP_BASE_LEN + co_len + ESPX_EESP_SN_LEN +
		eesp_ivlen(sa) + pih;
	padopt = (align - fixed % align) % align;
	l->optlen = co_len + padopt;
	l->pih_off = ESPX_EESP_BASE_LEN + l->optlen + ESPX_EESP_SN_LEN +
		     eesp_ivlen(sa);
	l->hdr_len = l->pih_off + pih;
	if (sa->crypt_offset) {
		co = 1 + tx->payload_len / 4;
		if (co > sa->crypt_offset)
			co = sa->crypt_offset;
	}
	l->crypt_offset = co;
	l->aad_len = l->pih_off + 4 * co;
	enc = pih + tx->payload_len;
	l->pad_len = (ESPX_EESP_PAD_ALIGN - enc % ESPX_EESP_PAD_ALIGN) %
		     ESPX_EESP_PAD_ALIGN;
	l->enc_len = enc + l->pad_len - 4 * co;
	l->total = l->aad_len + l->enc_len + sa->icvlen;
	return 0;
}

/**
 * espx_eesp_build - write the header of one packet (§2-§5)
 * @buf: output: the base header's first octet
 * @buflen: octets available at @buf
 * @sa: the sending SA
 * @tx: the packet
 * @l: its layout, from espx_eesp_layout() with the same @sa and @tx
 *
 * Writes @l->hdr_len octets: base header (0x80, Opt Len, Session ID, SPI),
 * options, SN, the explicit IV = be64(SN) unless iiv, and the PIH in Full
 * format or for an ESP Echo message (nibble 0, Reserved 0, Next Header, Pad
 * Length). The payload
 * follows at @buf + @l->hdr_len, then @l->pad_len zero octets
 * (espx_eesp_fill_pad()) and the ICV.
 *
 * Return: @l->hdr_len, ESPX_CODEC_EINVAL if @l does not fit the SA, or
 * ESPX_CODEC_ESPACE.
 */
int espx_eesp_build(u8 *buf, size_t buflen, const struct espx_eesp_sa *sa,
		    const struct espx_eesp_tx *tx,
		    const struct espx_eesp_layout *l)
{
	u32 co_len = sa->crypt_offset ? ESPX_EESP_CO_OPT_LEN : 0;
	u32 padopt = l->optlen - co_len;
	u8 *p = buf;

	if (l->optlen < co_len || padopt > 7 ||
	    l->pih_off != ESPX_EESP_BASE_LEN + l->optlen + ESPX_EESP_SN_LEN +
			  eesp_ivlen(sa) ||
	    l->hdr_len != l->pih_off + eesp_tx_pihlen(sa, tx) ||
	    l->crypt_offset > sa->crypt_offset || l->pad_len > 255)
		return ESPX_CODEC_EINVAL;
	if (buflen < l->hdr_len)
		return ESPX_CODEC_ESPACE;

	p[0] = ESPX_EESP_OCTET0;
	p[EESP_OFF_OPTLEN] = (u8)l->optlen;
	espx_codec_put_be16(p + EESP_OFF_SESSION, tx->session_id);
	espx_codec_put_be32(p + EESP_OFF_SPI, tx->spi);
	p += ESPX_EESP_BASE_LEN;
	if (co_len) {
		p[0] = ESPX_EESP_OPT_CRYPT_OFFSET;
		p[1] = ESPX_EESP_CO_DATA_LEN;
		espx_codec_put_be16(p + 2,
				    (l->pih_off / 4) << EESP_CO_POFF_SHIFT |
				    l->crypt_offset << EESP_CO_COFF_SHIFT);
		p += co_len;
	}
	if (padopt == 1) {
		*p++ = ESPX_EESP_OPT_PAD1;
	} else if (padopt) {
		p[0] = ESPX_EESP_OPT_PADN;
		p[1] = (u8)(padopt - 2);
		memset(p + 2, 0, padopt - 2);
		p += padopt;
	}
	eesp_put_be64(p, tx->sn);
	p += ESPX_EESP_SN_LEN;
	if (!sa->iiv) {
		espx_eesp_iv(p, tx->sn);
		p += ESPX_EESP_IV_LEN;
	}
	if (espx_eesp_tx_full(sa, tx)) {
		p[0] = 0;
		p[1] = 0;
		p[2] = tx->nexthdr;
		p[3] = (u8)l->pad_len;
	}
	return (int)l->hdr_len;
}

/**
 * espx_eesp_tx_sn_verdict - the limits of a freshly taken SN (§6)
 * @sn: the Sub SA's next SN (its 64-bit counter after the increment)
 *
 * SNs start at 1; 0 stands for a Sub SA that has used up 2^64 - 1.
 *
 * Return: an enum espx_eesp_tx_sn.
 */
int espx_eesp_tx_sn_verdict(u64 sn)
{
	if (!sn)
		return ESPX_EESP_TX_EXHAUSTED;
	if (sn >= ESPX_EESP_SN_SOFT)
		return ESPX_EESP_TX_SOFT;
	return ESPX_EESP_TX_OK;
}

/**
 * espx_eesp_payload_max - the largest payload after a PIH that fits
 * @room: octets for payload and padding (after the PIH, before the ICV)
 *
 * With a PIH the encrypted part is PIH + payload + zero padding to a
 * multiple of 4 (§4), so the payload is @room rounded down to 4. Used for
 * ESP Echo messages, which always have a PIH.
 *
 * Return: the payload length.
 */
u32 espx_eesp_payload_max(u32 room)
{
	return room - room % ESPX_EESP_PAD_ALIGN;
}

/**
 * espx_eesp_parse_base - receiver checks before the SA lookup (§2)
 * @eh: the base header, first octet after the outer IP header chain
 * @len: octets of the EESP packet (base header to ICV end); at least
 *	min(@len, ESPX_EESP_BASE_LEN) readable at @eh
 * @h: result: Opt Len, Session ID, SPI; the rest zeroed
 *
 * Order: length, first bit, Version, R.
 *
 * Return: 0, ESPX_EESP_DROP_TRUNCATED, ESPX_EESP_DROP_HEADER or
 * ESPX_EESP_DROP_VERSION.
 */
int espx_eesp_parse_base(const u8 *eh, u32 len, struct espx_eesp_hdr *h)
{
	if (len < ESPX_EESP_BASE_LEN)
		return ESPX_EESP_DROP_TRUNCATED;
	if (!(eh[0] & ESPX_EESP_FIRST_BIT))
		return ESPX_EESP_DROP_HEADER;
	if (eh[0] & ESPX_EESP_VERSION_MASK)
		return ESPX_EESP_DROP_VERSION;
	if (eh[0] & ESPX_EESP_R_MASK)
		return ESPX_EESP_DROP_HEADER;
	memset(h, 0, sizeof(*h));
	h->optlen = eh[EESP_OFF_OPTLEN];
	h->session_id = espx_codec_be16(eh + EESP_OFF_SESSION);
	h->spi = espx_codec_be32(eh + EESP_OFF_SPI);
	return 0;
}

/* The options (§3): Pad1/PadN and unknown types skipped, Crypt Offset
 * parsed once; all of them inside Opt Len.
 */
static int eesp_opts(const u8 *o, u32 optlen, struct espx_eesp_hdr *h)
{
	u32 off = 0, dl, v;

	while (off < optlen) {
		if (o[off] == ESPX_EESP_OPT_PAD1) {
			off++;
			continue;
		}
		if (optlen - off < 2)
			return ESPX_EESP_DROP_OPTION;
		dl = o[off + 1];
		if (dl > optlen - off - 2)
			return ESPX_EESP_DROP_OPTION;
		if (o[off] == ESPX_EESP_OPT_CRYPT_OFFSET) {
			if (h->co || dl != ESPX_EESP_CO_DATA_LEN)
				return ESPX_EESP_DROP_OPTION;
			v = espx_codec_be16(o + off + 2);
			h->co = true;
			h->payload_off = (u8)(v >> EESP_CO_POFF_SHIFT &
					      EESP_CO_FIELD_MASK);
			h->crypt_offset = (u8)(v >> EESP_CO_COFF_SHIFT &
					       EESP_CO_FIELD_MASK);
		}
		off += 2 + dl;
	}
	return 0;
}

/**
 * espx_eesp_parse - receiver checks against the SA, before the crypto (§6)
 * @eh: the base header
 * @len: octets of the EESP packet (base header to ICV end); readable at
 *	@eh: min(@len, espx_eesp_parse_len(@eh, @sa->iiv))
 * @sa: the SA the SPI named (an EESP SA)
 * @h: from espx_eesp_parse_base(); completed here
 *
 * In the profile's order: the options inside the packet (truncated) and
 * well-formed (option); room for SN, IV, PIH (Full format) and ICV
 * (truncated); the Crypt Offset option: allowed on the SA, Payload Offset
 * = the PIH's offset in words, CryptOffset <= N and the clear part ending
 * at or before the ICV (crypt-offset); Session ID < N (subsa); SN != 0
 * (replay). The replay window, the ICV and the payload checks are the
 * caller's next steps. The explicit IV is not compared with the SN: it is
 * authenticated as part of the AAD.
 *
 * Return: 0 or a negative enum espx_eesp_rx; @h is valid on 0.
 */
int espx_eesp_parse(const u8 *eh, u32 len, const struct espx_eesp_sa *sa,
		    struct espx_eesp_hdr *h)
{
	u32 opts_end = ESPX_EESP_BASE_LEN + h->optlen;
	u32 pih_off, clear_end, subsas;
	int err;

	if (opts_end > len)
		return ESPX_EESP_DROP_TRUNCATED;
	err = eesp_opts(eh + ESPX_EESP_BASE_LEN, h->optlen, h);
	if (err)
		return err;

	pih_off = opts_end + ESPX_EESP_SN_LEN + eesp_ivlen(sa);
	if ((u64)pih_off + eesp_pihlen(sa) + sa->icvlen > len)
		return ESPX_EESP_DROP_TRUNCATED;

	clear_end = pih_off;
	if (h->co) {
		clear_end += 4 * (u32)h->crypt_offset;
		if (!sa->crypt_offset || 4 * (u32)h->payload_off != pih_off ||
		    h->crypt_offset > sa->crypt_offset ||
		    clear_end > len - sa->icvlen)
			return ESPX_EESP_DROP_CRYPT_OFFSET;
	}

	subsas = sa->subsas ? sa->subsas : 1;
	if (h->session_id >= subsas)
		return ESPX_EESP_DROP_SUBSA;

	h->sn = eesp_get_be64(eh + opts_end);
	if (!h->sn)
		return ESPX_EESP_DROP_REPLAY;
	h->iv_off = sa->iiv ? 0 : opts_end + ESPX_EESP_SN_LEN;
	h->pih_off = pih_off;
	h->aad_len = clear_end;
	h->enc_len = len - sa->icvlen - clear_end;
	return 0;
}

/* Optimized format: the inner packet's version and length (§4) */
static int eesp_inner(const u8 *p, u32 len, struct espx_eesp_payload *out)
{
	u32 tl;

	if (!len)
		return ESPX_EESP_DROP_INNER;
	switch (p[0] >> 4) {
	case 4:
		if (len < 20)
			return ESPX_EESP_DROP_INNER;
		tl = espx_codec_be16(p + 2);
		if (tl < 20)
			return ESPX_EESP_DROP_INNER;
		out->nexthdr = ESPX_EESP_NH_IPIP;
		break;
	case 6:
		if (len < 40)
			return ESPX_EESP_DROP_INNER;
		tl = 40 + (u32)espx_codec_be16(p + 4);
		out->nexthdr = ESPX_EESP_NH_IPV6;
		break;
	default:
		return ESPX_EESP_DROP_INNER;
	}
	if (tl > len)
		return ESPX_EESP_DROP_INNER;
	out->off = 0;
	out->len = tl;
	return 0;
}

/**
 * espx_eesp_check_payload - receiver checks after the ICV (§4, §5)
 * @p: the PIH (Full format) or the inner packet (Optimized), i.e. the
 *	packet at espx_eesp_hdr.pih_off, clear and decrypted octets in place
 * @len: octets from @p to the ICV; readable at @p: min(@len, 40), Full
 *	format min(@len, 5)
 * @sa: the SA
 * @out: result, valid on ESPX_EESP_RX_OK and ESPX_EESP_RX_DUMMY
 *
 * Full format: PIH first nibble 0 and Pad Length at most the octets after
 * the PIH (pih); Next Header 59 is a dummy packet; in tunnel mode the Next
 * Header must be 4 or 41 and match the inner version nibble (inner).
 * Optimized format: inner version 4 or 6, the inner length at least its
 * IP header and at most @len (inner); the octets after it are padding.
 * An ESP Echo message (PIH Next Header 144) has a PIH in either format:
 * in tunnel mode it has no inner header to check, and on an Optimized SA
 * a first nibble 0 is read as a PIH only with Next Header 144 (anything
 * else with nibble 0 stays inner).
 * Neither the Reserved bits nor the padding's content are checked.
 *
 * Return: ESPX_EESP_RX_OK, ESPX_EESP_RX_DUMMY, or a negative enum
 * espx_eesp_rx.
 */
int espx_eesp_check_payload(const u8 *p, u32 len,
			    const struct espx_eesp_sa *sa,
			    struct espx_eesp_payload *out)
{
	u8 nh;

	if (!espx_eesp_sa_full(sa) &&
	    (len < ESPX_EESP_PIH_LEN || p[0] >> 4 ||
	     p[2] != ESPX_EESP_NH_ECHO))
		return eesp_inner(p, len, out);

	if (len < ESPX_EESP_PIH_LEN)
		return ESPX_EESP_DROP_TRUNCATED;
	if (p[0] >> 4 || p[3] > len - ESPX_EESP_PIH_LEN)
		return ESPX_EESP_DROP_PIH;
	nh = p[2];
	out->nexthdr = nh;
	out->off = ESPX_EESP_PIH_LEN;
	out->len = len - ESPX_EESP_PIH_LEN - p[3];
	if (nh == ESPX_EESP_NH_DUMMY)
		return ESPX_EESP_RX_DUMMY;
	if (sa->tunnel && nh != ESPX_EESP_NH_ECHO) {
		if (!out->len ||
		    !((nh == ESPX_EESP_NH_IPIP && p[4] >> 4 == 4) ||
		      (nh == ESPX_EESP_NH_IPV6 && p[4] >> 4 == 6)))
			return ESPX_EESP_DROP_INNER;
	}
	return ESPX_EESP_RX_OK;
}

/**
 * espx_eesp_rx_name - the counter a receiver result is counted under
 * @res: an enum espx_eesp_rx
 *
 * Return: the profile's name (§6, §9), "ok", or "unknown".
 */
const char *espx_eesp_rx_name(int res)
{
	static const char * const names[ESPX_EESP_DROP_NR] = {
		[-1 - ESPX_EESP_DROP_HEADER] = "in-drop-eesp-header",
		[-1 - ESPX_EESP_DROP_VERSION] = "in-drop-eesp-version",
		[-1 - ESPX_EESP_DROP_TRUNCATED] = "in-drop-eesp-truncated",
		[-1 - ESPX_EESP_DROP_OPTION] = "in-drop-eesp-option",
		[-1 - ESPX_EESP_DROP_CRYPT_OFFSET] = "in-drop-eesp-crypt-offset",
		[-1 - ESPX_EESP_DROP_SUBSA] = "in-drop-eesp-subsa",
		[-1 - ESPX_EESP_DROP_REPLAY] = "in-drop-eesp-replay",
		[-1 - ESPX_EESP_DROP_ICV] = "in-drop-icv",
		[-1 - ESPX_EESP_DROP_PIH] = "in-drop-eesp-pih",
		[-1 - ESPX_EESP_DROP_INNER] = "in-drop-eesp-inner",
		[-1 - ESPX_EESP_DROP_NOT_EESP] = "in-drop-eesp-not-eesp",
		[-1 - ESPX_EESP_DROP_PLAIN_SA] = "in-drop-eesp-plain-sa",
		[-1 - ESPX_EESP_DROP_NO_SA] = "ns-eesp-no-sa",
	};

	if (res == ESPX_EESP_RX_OK)
		return "ok";
	if (res == ESPX_EESP_RX_DUMMY)
		return "in-eesp-dummy";
	if (res >= 0 || res < -ESPX_EESP_DROP_NR)
		return "unknown";
	return names[-1 - res];
}

/**
 * espx_eesp_iv - the IV of an SN: be64(SN) (§4 [DECISION], RFC 8750)
 * @iv: output, ESPX_EESP_IV_LEN octets
 * @sn: the Sub SA's SN
 *
 * The explicit IV on the wire and, with iiv, the IV part of the nonce.
 * Unique per key: each Sub SA has its own key and its own SN space, and
 * an SN is never sent twice (espx_eesp_tx_sn_verdict()).
 */
void espx_eesp_iv(u8 *iv, u64 sn)
{
	eesp_put_be64(iv, sn);
}

/**
 * espx_eesp_rx_iv - the IV of a received packet (§7)
 * @iv: output, ESPX_EESP_IV_LEN octets
 * @eh: the base header
 * @h: from espx_eesp_parse()
 *
 * The explicit IV octets, or be64(SN) with iiv.
 */
void espx_eesp_rx_iv(u8 *iv, const u8 *eh, const struct espx_eesp_hdr *h)
{
	if (h->iv_off)
		memcpy(iv, eh + h->iv_off, ESPX_EESP_IV_LEN);
	else
		espx_eesp_iv(iv, h->sn);
}

/**
 * espx_eesp_nonce - AEAD nonce = salt | IV (RFC 4106 §4, RFC 7634 §2)
 * @nonce: output, ESPX_EESP_NONCE_LEN octets
 * @salt: ESPX_EESP_SALT_LEN octets, the end of the (Sub SA's) key blob
 * @iv: ESPX_EESP_IV_LEN octets
 */
void espx_eesp_nonce(u8 *nonce, const u8 *salt, const u8 *iv)
{
	memcpy(nonce, salt, ESPX_EESP_SALT_LEN);
	memcpy(nonce + ESPX_EESP_SALT_LEN, iv, ESPX_EESP_IV_LEN);
}

/**
 * espx_eesp_sskdf_lens - root key and hash length of an SSKDF (§6)
 * @kdf: the function
 * @root_len: output: the root key (PRK) length it requires
 * @hash_len: output: its HMAC output length
 *
 * Return: 0, or ESPX_CODEC_EINVAL for an unknown @kdf.
 */
int espx_eesp_sskdf_lens(enum espx_eesp_sskdf kdf, u32 *root_len,
			 u32 *hash_len)
{
	switch (kdf) {
	case ESPX_EESP_SSKDF_SHA256:
		*hash_len = 32;
		break;
	case ESPX_EESP_SSKDF_SHA384:
		*hash_len = 48;
		break;
	case ESPX_EESP_SSKDF_SHA512:
		*hash_len = 64;
		break;
	default:
		return ESPX_CODEC_EINVAL;
	}
	*root_len = *hash_len;
	return 0;
}

/**
 * espx_eesp_keymat_len - L, the octets of KEYMAT_sub (§6)
 * @chacha: ChaCha20-Poly1305 (else AES-GCM)
 * @key_bits: the Sub SAs' AEAD key length
 *
 * KEYMAT_sub = key | salt (4 octets): AES-128-GCM 20, AES-256-GCM 36,
 * ChaCha20-Poly1305 36.
 *
 * Return: L, or ESPX_CODEC_EINVAL for another key length.
 */
int espx_eesp_keymat_len(bool chacha, u32 key_bits)
{
	if (key_bits != 256 && (chacha || key_bits != 128))
		return ESPX_CODEC_EINVAL;
	return (int)(key_bits / 8 + ESPX_EESP_SALT_LEN);
}

/**
 * espx_eesp_sskdf_info - the HKDF-Expand info of a Sub SA: be16(Session ID)
 * @info: output, ESPX_EESP_SSKDF_INFO_LEN octets
 * @session_id: the Sub SA
 */
void espx_eesp_sskdf_info(u8 *info, u16 session_id)
{
	espx_codec_put_be16(info, session_id);
}

/**
 * espx_eesp_hkdf_msg - the HMAC message of one HKDF-Expand block
 * @msg: output
 * @msglen: octets available at @msg (ESPX_EESP_HKDF_MSG_MAX is enough)
 * @prev: T(@block - 1), NULL for the first block
 * @prevlen: its length: 0 for the first block, else the hash length
 * @session_id: the Sub SA
 * @block: the block number i, 1..255
 *
 * RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i - 1) | info | i), T(0) empty;
 * KEYMAT_sub = the first L octets of T(1) | T(2) | ...
 *
 * Return: the message length, ESPX_CODEC_EINVAL, or ESPX_CODEC_ESPACE.
 */
int espx_eesp_hkdf_msg(u8 *msg, size_t msglen, const u8 *prev, u32 prevlen,
		       u16 session_id, u32 block)
{
	u32 n = prevlen + ESPX_EESP_SSKDF_INFO_LEN + 1;

	if (!block || block > 255 || prevlen > ESPX_EESP_HASH_MAX ||
	    (block == 1 && prevlen) || (block > 1 && (!prevlen || !prev)))
		return ESPX_CODEC_EINVAL;
	if (msglen < n)
		return ESPX_CODEC_ESPACE;
	if (prevlen)
		memcpy(msg, prev, prevlen);
	espx_eesp_sskdf_info(msg + prevlen, session_id);
	msg[n - 1] = (u8)block;
	return (int)n;
}
