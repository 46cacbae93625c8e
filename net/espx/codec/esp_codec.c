// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free ESP packet arithmetic; see esp_codec.h. Built into the module
 * as its own object and into the userspace unit tests and fuzzers.
 */
#include "esp_codec.h"

/**
 * espx_esp_pad - sender padding (esp-baseline.md §5)
 * @payload_len: octets of payload (inner packet or transport PDU)
 * @tfclen: TFC padding octets to insert (0 for none)
 * @blksize: ALIGN(cipher block size, 4): 4 for AEADs, 16 for AES-CBC
 * @pad: result
 *
 * Return: 0, or ESPX_CODEC_EINVAL for a block size that is not a multiple
 * of 4 in 4..256 or an encrypted part longer than 2^32 - 1 octets.
 */
int espx_esp_pad(u32 payload_len, u32 tfclen, u32 blksize,
		 struct espx_esp_pad *pad)
{
	u64 clen;

	if (blksize < 4 || blksize > 256 || blksize % 4)
		return ESPX_CODEC_EINVAL;

	clen = (u64)payload_len + ESPX_ESP_TRAILER_MIN + tfclen;
	clen = (clen + blksize - 1) / blksize * blksize;
	if (clen > 0xffffffffULL)
		return ESPX_CODEC_EINVAL;

	pad->clen = (u32)clen;
	pad->tfclen = tfclen;
	pad->plen = pad->clen - payload_len - tfclen;
	return ESPX_CODEC_OK;
}

/**
 * espx_esp_trailer_check - receiver check of Pad Length (esp-baseline.md §5)
 * @elen: octets after the IV, ICV included
 * @alen: ICV octets
 * @padlen: the decrypted Pad Length octet
 *
 * Like Linux: drop when Pad Length + 2 + ICV >= elen, i.e. when no payload
 * octet would remain; the pad octets themselves are not checked.
 *
 * Return: the number of octets to trim from the end of the packet
 * (padding, Pad Length, Next Header and ICV), or ESPX_CODEC_EINVAL.
 */
int espx_esp_trailer_check(u32 elen, u32 alen, u8 padlen)
{
	u64 trim = (u64)padlen + ESPX_ESP_TRAILER_MIN + alen;

	if (trim >= elen)
		return ESPX_CODEC_EINVAL;
	return (int)trim;
}

/**
 * espx_esp_aad - the ESP AAD (RFC 4303 §2.2.1, RFC 4106 §5)
 * @aad: output, ESPX_ESP_AAD_MAX octets available
 * @spi: SPI (host order)
 * @with_snhi: write SPI | SNhi | SNlo (ESN, counter SAs) instead of
 *	SPI | SNlo
 * @snhi: high 32 bits of the sequence number (host order)
 * @snlo: low 32 bits, the SN field (host order)
 *
 * Every AAD espx builds starts with these octets: plain ESP with ESN,
 * Diet-ESP (over the full SPI and SN) and WESPv2 after its header.
 *
 * Return: the AAD length, 8 or 12.
 */
u32 espx_esp_aad(u8 *aad, u32 spi, bool with_snhi, u32 snhi, u32 snlo)
{
	u32 n = 4;

	espx_codec_put_be32(aad, spi);
	if (with_snhi) {
		espx_codec_put_be32(aad + n, snhi);
		n += 4;
	}
	espx_codec_put_be32(aad + n, snlo);
	return n + 4;
}

/**
 * espx_esp_iv_seq - IV = be64(SN) of a nonce SA without counters
 * @iv: output, ESPX_ESP_NONCE_IVLEN octets
 * @seq: the 64-bit sequence number (SNhi:SNlo; without ESN SNhi = 0)
 *
 * Sent as the explicit IV (WESPv2 §5, Diet-ESP) or implied (RFC 8750).
 * Unique per key as long as the SN is (seq.h).
 */
void espx_esp_iv_seq(u8 *iv, u64 seq)
{
	espx_codec_put_be32(iv, (u32)(seq >> 32));
	espx_codec_put_be32(iv + 4, (u32)seq);
}

/**
 * espx_esp_nonce - AEAD nonce = salt | IV (RFC 4106 §4, RFC 7634 §2)
 * @nonce: output, ESPX_ESP_NONCE_LEN octets
 * @salt: ESPX_ESP_SALT_LEN octets from the end of the key blob
 * @iv: ESPX_ESP_NONCE_IVLEN octets
 */
void espx_esp_nonce(u8 *nonce, const u8 *salt, const u8 *iv)
{
	memcpy(nonce, salt, ESPX_ESP_SALT_LEN);
	memcpy(nonce + ESPX_ESP_SALT_LEN, iv, ESPX_ESP_NONCE_IVLEN);
}

/**
 * espx_beetph_len - total pseudo-header length for @optlen option octets
 * @optlen: 4..40, a multiple of 4
 *
 * Return: 8 * (HdrLen + 1) = 4 + PadLen + optlen, or 0 if @optlen is not a
 * valid IPv4 options length.
 */
u32 espx_beetph_len(u32 optlen)
{
	if (!optlen || optlen % 4 || optlen > ESPX_BEET_OPTLEN_MAX)
		return 0;
	return ESPX_BEETPH_FIXED_LEN + (4 - (optlen & 4)) + optlen;
}

/**
 * espx_beetph_build - build the pseudo-header for inner IPv4 options
 * @buf: output
 * @buflen: octets available at @buf
 * @nexthdr: the inner IPv4 Protocol field
 * @opts: the IPv4 options, copied unchanged
 * @optlen: their length, 4..40, a multiple of 4
 *
 * Sender rule of beet.md §3: PadLen = 4 - (optlen & 4), HdrLen = optlen / 8,
 * Reserved 0, PadLen NOP octets between the fixed part and the options.
 *
 * Return: octets written, or a negative enum espx_codec_err.
 */
int espx_beetph_build(u8 *buf, size_t buflen, u8 nexthdr,
		      const u8 *opts, u32 optlen)
{
	u32 len = espx_beetph_len(optlen);
	u32 padlen;

	if (!len)
		return ESPX_CODEC_EINVAL;
	if (buflen < len)
		return ESPX_CODEC_ESPACE;

	padlen = 4 - (optlen & 4);
	buf[0] = nexthdr;
	buf[1] = (u8)(optlen / 8);
	buf[2] = (u8)padlen;
	buf[3] = 0;
	memset(buf + ESPX_BEETPH_FIXED_LEN, ESPX_IPOPT_NOP, padlen);
	memcpy(buf + ESPX_BEETPH_FIXED_LEN + padlen, opts, optlen);
	return (int)len;
}

/**
 * espx_beetph_parse - receiver checks of the pseudo-header (beet.md §3, §7)
 * @buf: the decrypted payload, starting with the pseudo-header; at least
 *	 min(@len, 4) octets readable
 * @len: octets of decrypted payload (pseudo-header + options + transport)
 * @ph: result
 *
 * phlen = 4 + PadLen, optlen = 8 * HdrLen + 4 - PadLen. Rejects optlen < 0,
 * not a multiple of 4 or > 40 (stricter than Linux's 250), a pseudo-header
 * or options running past @len, and an empty transport payload after them.
 * Reserved and the pad octets are not checked.
 *
 * Return: 0, ESPX_CODEC_ETRUNC or ESPX_CODEC_EINVAL.
 */
int espx_beetph_parse(const u8 *buf, size_t len, struct espx_beetph *ph)
{
	int optlen;

	if (len < ESPX_BEETPH_FIXED_LEN)
		return ESPX_CODEC_ETRUNC;

	optlen = 8 * (int)buf[1] + ESPX_BEETPH_FIXED_LEN - (int)buf[2];
	if (optlen < 0 || optlen % 4 || optlen > ESPX_BEET_OPTLEN_MAX)
		return ESPX_CODEC_EINVAL;

	ph->nexthdr = buf[0];
	ph->hdrlen = buf[1];
	ph->padlen = buf[2];
	ph->phlen = ESPX_BEETPH_FIXED_LEN + buf[2];
	ph->optlen = (u32)optlen;
	if ((size_t)ph->phlen + ph->optlen >= len)
		return ESPX_CODEC_ETRUNC;
	return ESPX_CODEC_OK;
}
