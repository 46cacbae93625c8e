// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-free ESP Echo codec (esp-echo.md); see echo_codec.h. Built as its
 * own object (Kbuild) and into the userspace unit tests and fuzzers by
 * #include.
 */
#include "echo_codec.h"

/**
 * espx_echo_classify - §5 step 2: is this payload an echo at all?
 * @p: the decrypted payload (after the IV), at least min(@len, 1) octets
 * @len: its length (the trailer removed)
 * @req: echo_subtype_req
 * @rep: echo_subtype_rep
 *
 * Return: ESPX_ECHO_RX_REQUEST or _REPLY by the Sub-Type alone, else
 * _TRUNCATED (empty payload) or _AGGFRAG (another sub-type).
 */
int espx_echo_classify(const u8 *p, u32 len, u8 req, u8 rep)
{
	/* Spec and code disagree: esp-echo.md §5 step 2 counts an empty
	 * payload as in-drop-echo-truncated, but esp.c never gets here with
	 * one. The spec is wrong because the baseline trailer check
	 * (esp-baseline.md §5, as esp4/esp6) runs before Next Header is read
	 * and drops a Pad Length that leaves no payload octet as
	 * in-drop-padding. Kept for callers without that check (the fuzzer).
	 */
	if (!len)
		return ESPX_ECHO_RX_TRUNCATED;
	if (p[0] == req)
		return ESPX_ECHO_RX_REQUEST;
	if (p[0] == rep)
		return ESPX_ECHO_RX_REPLY;
	return ESPX_ECHO_RX_AGGFRAG;
}

/**
 * espx_echo_parse - §5 steps 2 and 5: classify and check the length
 * @p: the payload, at least min(@len, ESPX_ECHO_HDR_LEN) octets
 * @len: payload length
 * @req: echo_subtype_req
 * @rep: echo_subtype_rep
 * @h: the header, filled when the result is _REQUEST or _REPLY
 *
 * No end padding is accepted: Data Length must cover the payload exactly
 * (§2 [DECISION]); -03-style 8-octet headers fail here too (§11.3).
 * Return: enum espx_echo_rx.
 */
int espx_echo_parse(const u8 *p, u32 len, u8 req, u8 rep,
		    struct espx_echo_hdr *h)
{
	int res = espx_echo_classify(p, len, req, rep);

	if (res != ESPX_ECHO_RX_REQUEST && res != ESPX_ECHO_RX_REPLY)
		return res;
	if (len < ESPX_ECHO_HDR_LEN)
		return ESPX_ECHO_RX_TRUNCATED;
	h->subtype = p[0];
	h->flags = p[1];
	h->dlen = espx_codec_be16(p + 2);
	h->ident = espx_codec_be16(p + 4);
	h->seq = espx_codec_be16(p + 6);
	h->reply_spi = espx_codec_be32(p + 8);
	if ((u32)ESPX_ECHO_HDR_LEN + h->dlen != len)
		return ESPX_ECHO_RX_LENGTH;
	return res;
}

/* The 12 header octets of @h at @p. */
void espx_echo_build(u8 *p, const struct espx_echo_hdr *h)
{
	p[0] = h->subtype;
	p[1] = h->flags;
	espx_codec_put_be16(p + 2, h->dlen);
	espx_codec_put_be16(p + 4, h->ident);
	espx_codec_put_be16(p + 6, h->seq);
	espx_codec_put_be32(p + 8, h->reply_spi);
}

/**
 * espx_echo_reply - turn a parsed request into its reply, in place
 * @p: the request payload (header and Data), @len octets
 * @len: the request's payload length (12 + Data Length)
 * @max: the largest payload the reply may have (MTU and request size)
 * @rep: echo_subtype_rep
 *
 * Only the Sub-Type changes; R, Reserved, Identifier, Sequence and Reply
 * path SPI stay as sent (§3). The Data is cut to fit @max and Data Length
 * then gives the octets kept; a reply never grows.
 * Return: the reply's payload length (<= @len), or 0 when not even the
 * header fits (no reply).
 */
u32 espx_echo_reply(u8 *p, u32 len, u32 max, u8 rep)
{
	u32 n = len < max ? len : max;

	if (n < ESPX_ECHO_HDR_LEN || len < ESPX_ECHO_HDR_LEN)
		return 0;
	p[0] = rep;
	espx_codec_put_be16(p + 2, n - ESPX_ECHO_HDR_LEN);
	return n;
}

/**
 * espx_echo_payload_max - the largest payload whose encrypted part fits
 * @room: octets for payload + padding + Pad Length + Next Header
 * @blksize: the cipher's block size rounded up to 4 (RFC 4303 alignment)
 *
 * Minimum padding (§2): the encrypted part is ALIGN(payload + 2, blksize).
 * Return: the payload length, 0 if none fits.
 */
u32 espx_echo_payload_max(u32 room, u32 blksize)
{
	u32 c;

	if (!blksize)
		return 0;
	c = room - room % blksize;
	return c >= ESPX_ESP_TRAILER_MIN ? c - ESPX_ESP_TRAILER_MIN : 0;
}

/* The initiator's Data: octet i is i & 0xff (§6). */
void espx_echo_fill_data(u8 *data, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		data[i] = (u8)i;
}

/* @len octets of the Data pattern from octet @start on? */
bool espx_echo_data_ok_from(const u8 *data, u32 len, u32 start)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (data[i] != (u8)(start + i))
			return false;
	return true;
}

/* A reply's Data is a prefix of what espx_echo_fill_data() sent. */
bool espx_echo_data_ok(const u8 *data, u32 len)
{
	return espx_echo_data_ok_from(data, len, 0);
}

const char *espx_echo_rx_name(int res)
{
	switch (res) {
	case ESPX_ECHO_RX_REQUEST:
		return "request";
	case ESPX_ECHO_RX_REPLY:
		return "reply";
	case ESPX_ECHO_RX_AGGFRAG:
		return "in-drop-aggfrag";
	case ESPX_ECHO_RX_TRUNCATED:
		return "in-drop-echo-truncated";
	case ESPX_ECHO_RX_LENGTH:
		return "in-drop-echo-length";
	}
	return "unknown";
}
