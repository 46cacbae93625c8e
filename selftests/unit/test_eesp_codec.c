// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of net/espx/codec/eesp_codec.c against eesp.md:
 *   - §11.1-§11.5 byte for byte: the sender's header, PIH and padding, the
 *     AAD, the nonce, the plaintext, KEYMAT_sub (HKDF-Expand built from the
 *     codec's messages and OpenSSL's HMAC, cross-checked with OpenSSL's own
 *     HKDF), the ciphertext and ICV (OpenSSL EVP AEADs) and the packet; then
 *     the receiver on the spec's packet,
 *   - every receiver variant of §11.6 through a receiver built from the
 *     codec in the profile's order (§6), with the exact result code, plus
 *     the side conditions the rows name (window unchanged, no key
 *     derivation or window for an out-of-range Session ID),
 *   - the header sizes of §4, the limits of §6, round trips over every
 *     format / family / IV / AEAD combination,
 *   - ESP Echo on EESP (README, ESP Echo, Decisions): Next Header 144
 *     always with a PIH, on Optimized SAs too, and accepted there only
 *     with a PIH whose Next Header is 144.
 * Build: make -C selftests/unit   (links -lcrypto)
 * Prints KTAP; exit status 0 when every test passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include "codec/ctr_codec.c"
#include "codec/eesp_codec.c"
#include "ktap.h"
#include "eesp_vectors.h"

#define PLAN 120
#define MAX_SUBSAS 8
#define T_BAD (-100)	/* the test's own input was wrong */

/* ---- crypto: OpenSSL as the reference ---------------------------------- */

/* AES-GCM (16/32-octet key) or ChaCha20-Poly1305: seal (@tag written) or
 * open (@tag checked). In place is allowed. Return: 1 on success.
 */
static int aead(int enc, bool chacha, const u8 *key, u32 keylen,
		const u8 *nonce, const u8 *aad, u32 aadlen, const u8 *in,
		u32 inlen, u8 *out, u8 *tag, u32 taglen)
{
	const EVP_CIPHER *c = chacha ? EVP_chacha20_poly1305() :
			      keylen == 32 ? EVP_aes_256_gcm() :
			      EVP_aes_128_gcm();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	u8 dummy[16];
	int n, good;

	good = ctx &&
	       EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) &&
	       EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) &&
	       EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen);
	if (good && inlen)
		good = EVP_CipherUpdate(ctx, out, &n, in, (int)inlen);
	if (good && !enc)
		good = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					   (int)taglen, tag);
	good = good && EVP_CipherFinal_ex(ctx, dummy, &n) > 0;
	if (good && enc)
		good = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					   (int)taglen, tag);
	EVP_CIPHER_CTX_free(ctx);
	return good;
}

static const EVP_MD *kdf_md(enum espx_eesp_sskdf kdf)
{
	return kdf == ESPX_EESP_SSKDF_SHA512 ? EVP_sha512() :
	       kdf == ESPX_EESP_SSKDF_SHA384 ? EVP_sha384() : EVP_sha256();
}

/* KEYMAT_sub through the codec: its HKDF-Expand messages, OpenSSL's HMAC.
 * Return: 1 on success.
 */
static int sskdf(enum espx_eesp_sskdf kdf, const u8 *root, u32 rootlen,
		 u16 sid, u32 l, u8 *out)
{
	u8 msg[ESPX_EESP_HKDF_MSG_MAX], t[ESPX_EESP_HASH_MAX];
	u32 root_len, hash_len, i, n, done = 0;
	unsigned int tl = 0;
	int ml;

	if (espx_eesp_sskdf_lens(kdf, &root_len, &hash_len) ||
	    rootlen != root_len)
		return 0;
	for (i = 1; i <= espx_eesp_hkdf_blocks(l, hash_len); i++) {
		ml = espx_eesp_hkdf_msg(msg, sizeof(msg), i > 1 ? t : NULL,
					i > 1 ? hash_len : 0, sid, i);
		if (ml < 0 || !HMAC(kdf_md(kdf), root, (int)rootlen, msg,
				    (size_t)ml, t, &tl) || tl != hash_len)
			return 0;
		n = l - done < hash_len ? l - done : hash_len;
		memcpy(out + done, t, n);
		done += n;
	}
	return 1;
}

/* The same with OpenSSL's HKDF (expand only), the independent reference */
static int ossl_hkdf_expand(enum espx_eesp_sskdf kdf, const u8 *root,
			    u32 rootlen, u16 sid, u32 l, u8 *out)
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = k ? EVP_KDF_CTX_new(k) : NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, good;
	u8 info[2] = { (u8)(sid >> 8), (u8)sid };
	OSSL_PARAM p[5];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
		(char *)EVP_MD_get0_name(kdf_md(kdf)), 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)root, rootlen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 2);
	p[3] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[4] = OSSL_PARAM_construct_end();
	good = ctx && EVP_KDF_derive(ctx, out, l, p) > 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(k);
	return good;
}

/* ---- SAs of the vectors ------------------------------------------------ */

static u8 key16[20], key32[36], root32[32], root48[48], root64[64];

static void keys_init(void)
{
	u32 i;

	for (i = 0; i < 64; i++) {
		if (i < 16)
			key16[i] = (u8)i;
		if (i < 32)
			key32[i] = root32[i] = (u8)i;
		if (i < 48)
			root48[i] = (u8)i;
		root64[i] = (u8)i;
	}
	for (i = 0; i < 4; i++)
		key16[16 + i] = key32[32 + i] = (u8)(0xa0 + i);
}

/**
 * struct cfg - one receiving/sending SA of §11
 * @name: for the test descriptions
 * @spi: SPI
 * @eesp: the SA has eesp (else it is a plain ESP SA: N24)
 * @sa: the codec's view
 * @chacha: ChaCha20-Poly1305 (else AES-GCM)
 * @key_bits: AEAD key length (of the Sub SAs)
 * @key: the key blob (key | salt), or the root key with @derived
 * @keylen: its length
 * @derived: sub-sas: Sub SA keys by SSKDF from @key
 * @kdf: the SSKDF
 * @window: W
 */
struct cfg {
	const char *name;
	u32 spi;
	bool eesp;
	struct espx_eesp_sa sa;
	bool chacha;
	u32 key_bits;
	const u8 *key;
	u32 keylen;
	bool derived;
	enum espx_eesp_sskdf kdf;
	u32 window;
};

static struct cfg c_v1 = {
	"V1", 0x1001, true, { .icvlen = 16, .subsas = 1 }, false, 128,
	key16, 20, false, 0, 1024,
};

static struct cfg c_v2 = {
	"V2", 0x1002, true,
	{ .ipv6 = true, .tunnel = true, .icvlen = 16, .subsas = 4 },
	false, 128, root32, 32, true, ESPX_EESP_SSKDF_SHA256, 1024,
};

static struct cfg c_v3 = {
	"V3", 0x1003, true,
	{ .tunnel = true, .crypt_offset = 8, .icvlen = 16, .subsas = 1 },
	false, 128, key16, 20, false, 0, 1024,
};

static struct cfg c_v4 = {
	"V4", 0x1004, true,
	{ .ipv6 = true, .iiv = true, .icvlen = 16, .subsas = 1 },
	true, 256, key32, 36, false, 0, 1024,
};

static struct cfg c_v5 = {
	"V5", 0x1005, true,
	{ .ipv6 = true, .icvlen = 16, .subsas = 2 },
	false, 256, root48, 48, true, ESPX_EESP_SSKDF_SHA384, 1024,
};

/* V1 with window 64 (N15, P15), V1 without eesp (N24), V3 without
 * crypt-offset: Optimized format (X3)
 */
static struct cfg c_v1w64 = {
	"V1 window 64", 0x1001, true, { .icvlen = 16, .subsas = 1 }, false,
	128, key16, 20, false, 0, 64,
};

static struct cfg c_v1plain = {
	"V1 without eesp", 0x1001, false, { .icvlen = 16, .subsas = 1 },
	false, 128, key16, 20, false, 0, 1024,
};

static struct cfg c_v3opt = {
	"V3 Optimized", 0x1003, true,
	{ .tunnel = true, .icvlen = 16, .subsas = 1 }, false, 128, key16, 20,
	false, 0, 1024,
};

/* The Sub SA's key | salt; Return: its length, 0 on failure */
static u32 keymat(const struct cfg *c, u16 sid, u8 *km)
{
	int l = espx_eesp_keymat_len(c->chacha, c->key_bits);

	if (l < 0)
		return 0;
	if (!c->derived) {
		if ((u32)l != c->keylen)
			return 0;
		memcpy(km, c->key, c->keylen);
		return c->keylen;
	}
	return sskdf(c->kdf, c->key, c->keylen, sid, (u32)l, km) ? (u32)l : 0;
}

/* ---- the receiver, in the order of §6 ---------------------------------- */

struct rxs {
	const struct cfg *c;
	struct espx_ctr_win *win[MAX_SUBSAS];
	u8 km[MAX_SUBSAS][ESPX_EESP_KEYMAT_MAX];
	u32 kmlen[MAX_SUBSAS];
	u32 derivations;
	u32 windows;
};

static void rx_init(struct rxs *s, const struct cfg *c)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
}

static void rx_free(struct rxs *s)
{
	u32 i;

	for (i = 0; i < MAX_SUBSAS; i++)
		free(s->win[i]);
}

/*
 * One whole IP packet (outer IPv4/IPv6 header without options) through the
 * receiver. Return: ESPX_EESP_RX_OK / _DUMMY with the payload in @po and
 * (if @data) its octets, a negative enum espx_eesp_rx, or T_BAD.
 */
static int rx(struct rxs *s, const u8 *ip, u32 iplen,
	      struct espx_eesp_payload *po, u8 *data)
{
	const struct cfg *c = s->c;
	u32 hl, tot, len, icv = c->sa.icvlen, kl;
	u8 buf[2048], iv[8], nonce[12], proto;
	struct espx_eesp_payload p;
	struct espx_eesp_hdr h;
	struct espx_ctr_win *w;
	int res;

	if (iplen < 20)
		return T_BAD;
	if (ip[0] >> 4 == 4) {
		hl = (ip[0] & 15) * 4u;
		proto = ip[9];
		tot = espx_codec_be16(ip + 2);
	} else {
		if (iplen < 40)
			return T_BAD;
		hl = 40;
		proto = ip[6];
		tot = 40 + espx_codec_be16(ip + 4);
	}
	if (tot > iplen || tot < hl || tot - hl > sizeof(buf))
		return T_BAD;
	len = tot - hl;
	memcpy(buf, ip + hl, len);
	if (proto == 50)	/* plain ESP: SPI | SN ... */
		return len >= 8 && espx_codec_be32(buf) == c->spi && c->eesp ?
		       ESPX_EESP_DROP_PLAIN_SA : T_BAD;
	if (proto != ESPX_EESP_PROTO_DEFAULT)
		return T_BAD;

	res = espx_eesp_parse_base(buf, len, &h);
	if (res)
		return res;
	if (h.spi != c->spi)
		return ESPX_EESP_DROP_NO_SA;
	if (!c->eesp)
		return ESPX_EESP_DROP_NOT_EESP;
	res = espx_eesp_parse(buf, len, &c->sa, &h);
	if (res)
		return res;
	if (h.session_id >= MAX_SUBSAS)
		return T_BAD;
	w = s->win[h.session_id];
	if (w && espx_ctr_win_replayed(w, h.sn))
		return ESPX_EESP_DROP_REPLAY;

	/* keyed on first use, the derivation cached per Sub SA */
	if (!s->kmlen[h.session_id]) {
		s->kmlen[h.session_id] = keymat(c, h.session_id,
						s->km[h.session_id]);
		s->derivations++;
	}
	kl = s->kmlen[h.session_id];
	if (!kl)
		return T_BAD;
	espx_eesp_rx_iv(iv, buf, &h);
	espx_eesp_nonce(nonce, s->km[h.session_id] + kl - 4, iv);
	if (!aead(0, c->chacha, s->km[h.session_id], kl - 4, nonce, buf,
		  h.aad_len, buf + h.aad_len, h.enc_len, buf + h.aad_len,
		  buf + h.aad_len + h.enc_len, icv))
		return ESPX_EESP_DROP_ICV;
	if (w && espx_ctr_win_replayed(w, h.sn))
		return ESPX_EESP_DROP_REPLAY;

	res = espx_eesp_check_payload(buf + h.pih_off, len - icv - h.pih_off,
				      &c->sa, &p);
	if (res < 0)
		return res;
	if (!w) {	/* only now: the first packet of this Sub SA */
		w = calloc(1, espx_ctr_win_bytes(c->window));
		if (!w)
			return T_BAD;
		espx_ctr_win_init(w, c->window, 0);
		s->win[h.session_id] = w;
		s->windows++;
	}
	espx_ctr_win_advance(w, h.sn);
	if (po)
		*po = p;
	if (data)
		memcpy(data, buf + h.pih_off + p.off, p.len);
	return res;
}

/* A fresh receiver of @c: open @prep (if any), then @pkt */
static int rx_fresh(const struct cfg *c, const u8 *prep, u32 preplen,
		    const u8 *pkt, u32 pktlen, struct rxs *keep)
{
	struct rxs s;
	int res;

	rx_init(&s, c);
	if (prep && rx(&s, prep, preplen, NULL, NULL) != ESPX_EESP_RX_OK) {
		rx_free(&s);
		return T_BAD;
	}
	res = rx(&s, pkt, pktlen, NULL, NULL);
	if (keep)
		*keep = s;
	else
		rx_free(&s);
	return res;
}

/* ---- the sender -------------------------------------------------------- */

/*
 * Seal one packet: @outer (@iplen octets, copied; its length field is
 * the caller's), then the EESP packet built by the codec. @pt gets the
 * plaintext. Return: the packet length, 0 on failure.
 */
static u32 seal(const struct cfg *c, const u8 *km, u32 kl,
		const u8 *outer, u32 iplen, const struct espx_eesp_tx *tx,
		const u8 *payload, u8 *pkt, u32 pktmax,
		struct espx_eesp_layout *l, u8 *pt)
{
	u8 iv[8], nonce[12], *eh = pkt + iplen;

	if (espx_eesp_layout(&c->sa, tx, l) ||
	    iplen + l->total > pktmax ||
	    espx_eesp_build(eh, pktmax - iplen, &c->sa, tx, l) !=
	    (int)l->hdr_len)
		return 0;
	memcpy(pkt, outer, iplen);
	memcpy(eh + l->hdr_len, payload, tx->payload_len);
	espx_eesp_fill_pad(eh + l->hdr_len + tx->payload_len, l->pad_len);
	memcpy(pt, eh + l->aad_len, l->enc_len);
	espx_eesp_iv(iv, tx->sn);
	espx_eesp_nonce(nonce, km + kl - 4, iv);
	if (!aead(1, c->chacha, km, kl - 4, nonce, eh, l->aad_len, pt,
		  l->enc_len, eh + l->aad_len, eh + l->aad_len + l->enc_len,
		  c->sa.icvlen))
		return 0;
	return iplen + l->total;
}

/* ---- §11.1-§11.5 ------------------------------------------------------- */

/* octets of a string of hex digits (spaces allowed) */
static u32 hex(const char *s, u8 *out)
{
	u32 n = 0;
	int hi = -1, v;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (u8)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

struct vec {
	const struct cfg *c;
	u16 sid;
	u64 sn;
	u8 nh;				/* PIH Next Header; Optimized: 4/41 */
	const char *payload_hex;	/* the "payload" rows */
	const char *data;		/* its text */
	u32 hdr_size;			/* "header size" */
	const u8 *aad, *nonce, *pt, *ct, *pkt;
	u32 aadlen, noncelen, ptlen, ctlen, pktlen;
	const u8 *const *km;		/* KEYMAT_sub of Session ID 0.. */
	u32 nkm;
};

#define V(x) x##_aad, x##_nonce, x##_plaintext, x##_ciphertext, x##_packet, \
	sizeof(x##_aad), sizeof(x##_nonce), sizeof(x##_plaintext), \
	sizeof(x##_ciphertext), sizeof(x##_packet)

static const u8 *const v2_km[] = { v2_keymat0, v2_keymat1, v2_keymat2,
				   v2_keymat3 };
static const u8 *const v5_km[] = { v5_keymat0, v5_keymat1 };

static const struct vec vecs[] = {
	{ &c_v1, 0, 1, 17, "0f a0 13 88 00 17 3e e6", "eesp vector one", 28,
	  V(v1), NULL, 0 },
	{ &c_v2, 2, 5, 41,
	  "60 00 00 00 00 17 11 40 20 01 0d b8 00 0a 00 00"
	  "00 00 00 00 00 00 00 01 20 01 0d b8 00 0b 00 00"
	  "00 00 00 00 00 00 00 01 04 d2 16 2e 00 17 60 80",
	  "eesp vector two", 24, V(v2), v2_km, 4 },
	{ &c_v3, 0, 0x100000001ULL, 4,
	  "45 00 00 2d 00 00 40 00 40 11 d4 89 c6 33 64 01"
	  "cb 00 71 01 04 d2 16 2e 00 19 ed 77",
	  "eesp vector three", 32, V(v3), NULL, 0 },
	{ &c_v4, 0, 7, 17, "04 d2 16 2e 00 18 68 28", "eesp vector four", 24,
	  V(v4), NULL, 0 },
	{ &c_v5, 1, 1, 17, "04 d2 16 2e 00 18 67 27", "eesp vector five", 32,
	  V(v5), v5_km, 2 },
};

static void check_vector(const struct vec *v)
{
	const struct cfg *c = v->c;
	u32 iplen = c->sa.ipv6 ? 40 : 20, kl, n, i, plen, hdr_cmp;
	u8 payload[256], km[ESPX_EESP_KEYMAT_MAX], ref[ESPX_EESP_KEYMAT_MAX];
	u8 pkt[512], pt[512], iv[8], nonce[12], data[256];
	struct espx_eesp_layout l;
	struct espx_eesp_payload po;
	struct espx_eesp_tx tx = {
		.session_id = v->sid, .spi = c->spi, .sn = v->sn,
		.nexthdr = v->nh,
	};
	char d[160];
	bool good;
	struct rxs s;
	int res;

	plen = hex(v->payload_hex, payload);
	memcpy(payload + plen, v->data, strlen(v->data));
	plen += (u32)strlen(v->data);
	tx.payload_len = plen;

	/* KEYMAT_sub of every Session ID the vector lists */
	for (i = 0; i < v->nkm; i++) {
		kl = keymat(c, (u16)i, km);
		snprintf(d, sizeof(d),
			 "%s: KEYMAT_sub(%u) = HKDF-Expand(root, be16(%u), %u)",
			 c->name, i, i, kl);
		ok(kl && same(km, v->km[i], kl), d);
	}
	if (v->nkm) {
		kl = keymat(c, 0, km);
		snprintf(d, sizeof(d),
			 "%s: OpenSSL's HKDF-Expand gives the same KEYMAT_sub",
			 c->name);
		ok(ossl_hkdf_expand(c->kdf, c->key, c->keylen, 0, kl, ref) &&
		   same(km, ref, kl), d);
	}
	kl = keymat(c, v->sid, km);

	/* sender */
	n = seal(c, km, kl, v->pkt, iplen, &tx, payload, pkt, sizeof(pkt),
		 &l, pt);
	snprintf(d, sizeof(d), "%s: header size %u (payload at a multiple of %u)",
		 c->name, v->hdr_size, c->sa.ipv6 ? 8 : 4);
	ok(n && l.hdr_len == v->hdr_size && !(l.hdr_len % (c->sa.ipv6 ? 8 : 4)),
	   d);
	/* the header octets in clear: up to the PIH, or with a Crypt Offset
	 * the PIH too; a PIH that is encrypted is the plaintext's start
	 */
	hdr_cmp = l.aad_len < l.hdr_len ? l.aad_len : l.hdr_len;
	snprintf(d, sizeof(d), "%s: base header, options, SN, IV as the vector",
		 c->name);
	ok(n && v->pktlen >= iplen + hdr_cmp &&
	   same(pkt + iplen, v->pkt + iplen, hdr_cmp), d);
	snprintf(d, sizeof(d), "%s: AAD (%u octets) = the packet's prefix",
		 c->name, v->aadlen);
	ok(n && l.aad_len == v->aadlen && same(pkt + iplen, v->aad, v->aadlen),
	   d);
	espx_eesp_iv(iv, v->sn);
	espx_eesp_nonce(nonce, km + kl - 4, iv);
	snprintf(d, sizeof(d), "%s: nonce = salt | be64(SN)", c->name);
	ok(v->noncelen == 12 && same(nonce, v->nonce, 12), d);
	snprintf(d, sizeof(d),
		 "%s: plaintext (%u octets: PIH, payload, zero padding)",
		 c->name, v->ptlen);
	ok(n && l.enc_len == v->ptlen && same(pt, v->pt, v->ptlen), d);
	snprintf(d, sizeof(d), "%s: ciphertext || ICV", c->name);
	ok(n && l.enc_len + 16 == v->ctlen &&
	   same(pkt + iplen + l.aad_len, v->ct, v->ctlen), d);
	snprintf(d, sizeof(d), "%s: packet (%u octets), outer length field",
		 c->name, v->pktlen);
	good = n == v->pktlen && same(pkt, v->pkt, n);
	if (c->sa.ipv6)
		good = good && espx_codec_be16(v->pkt + 4) == l.total;
	else
		good = good && espx_codec_be16(v->pkt + 2) == 20 + l.total;
	ok(good, d);

	/* receiver, on the vector's octets */
	rx_init(&s, c);
	res = rx(&s, v->pkt, v->pktlen, &po, data);
	snprintf(d, sizeof(d), "%s: received: %s, Next Header %u, payload back",
		 c->name, espx_eesp_rx_name(res), v->nh);
	ok(res == ESPX_EESP_RX_OK && po.nexthdr == v->nh &&
	   po.len == plen && same(data, payload, plen), d);
	snprintf(d, sizeof(d), "%s: the same packet again: in-drop-eesp-replay",
		 c->name);
	ok(rx(&s, v->pkt, v->pktlen, NULL, NULL) == ESPX_EESP_DROP_REPLAY, d);
	rx_free(&s);
}

/* ---- §11.6 --------------------------------------------------------------- */

struct variant {
	const char *id;
	const struct cfg *c;
	const u8 *prep;
	u32 preplen;
	const u8 *pkt;
	u32 len;
	int want;
};

#define P(x) pkt_##x, sizeof(pkt_##x)
#define NOPREP NULL, 0

static const struct variant variants[] = {
	{ "N1 first bit 0", &c_v1, NOPREP, P(n1), ESPX_EESP_DROP_HEADER },
	{ "N2 Version 1", &c_v1, NOPREP, P(n2), ESPX_EESP_DROP_VERSION },
	{ "N3 R 1", &c_v1, NOPREP, P(n3), ESPX_EESP_DROP_HEADER },
	{ "N4 7-octet base header", &c_v1, NOPREP, P(n4),
	  ESPX_EESP_DROP_TRUNCATED },
	{ "N5 Opt Len 255 past the packet", &c_v1, NOPREP, P(n5),
	  ESPX_EESP_DROP_TRUNCATED },
	{ "N5b no room for SN, IV, PIH, ICV", &c_v1, NOPREP, P(n5b),
	  ESPX_EESP_DROP_TRUNCATED },
	{ "N6 PadN past Opt Len", &c_v4, NOPREP, P(n6), ESPX_EESP_DROP_OPTION },
	{ "N6b type octet last", &c_v4, NOPREP, P(n6b), ESPX_EESP_DROP_OPTION },
	{ "N7 two Crypt Offset options", &c_v3, NOPREP, P(n7),
	  ESPX_EESP_DROP_OPTION },
	{ "N8 Crypt Offset on an SA without it", &c_v1, NOPREP, P(n8),
	  ESPX_EESP_DROP_CRYPT_OFFSET },
	{ "N9 CryptOffset 9 > N 8", &c_v3, NOPREP, P(n9),
	  ESPX_EESP_DROP_CRYPT_OFFSET },
	{ "N10 Payload Offset 6, PIH at 7", &c_v3, NOPREP, P(n10),
	  ESPX_EESP_DROP_CRYPT_OFFSET },
	{ "N11 CryptOffset past the ICV", &c_v3, NOPREP, P(n11),
	  ESPX_EESP_DROP_CRYPT_OFFSET },
	{ "N12 Session ID 4, N 4", &c_v2, NOPREP, P(n12), ESPX_EESP_DROP_SUBSA },
	{ "N12b Session ID 0xffff", &c_v2, NOPREP, P(n12b),
	  ESPX_EESP_DROP_SUBSA },
	{ "N12c Session ID 1 without sub-sas", &c_v1, NOPREP, P(n12c),
	  ESPX_EESP_DROP_SUBSA },
	{ "N13 SN 0", &c_v1, NOPREP, P(n13), ESPX_EESP_DROP_REPLAY },
	{ "N14 replay inside the window", &c_v1, P(n14), P(n14),
	  ESPX_EESP_DROP_REPLAY },
	{ "N15 SN 136 left of the window (top 200, W 64)", &c_v1w64,
	  P(n15_prep), P(n15), ESPX_EESP_DROP_REPLAY },
	{ "P15 SN 137 at the left edge (top 200, W 64)", &c_v1w64,
	  P(p15_prep), P(p15), ESPX_EESP_RX_OK },
	{ "P16 SN 5 on Sub SA 0 after SN 5 on Sub SA 2", &c_v2,
	  v2_packet, sizeof(v2_packet), P(p16), ESPX_EESP_RX_OK },
	{ "N16 last ICV bit flipped", &c_v1, v1_packet, sizeof(v1_packet),
	  P(n16), ESPX_EESP_DROP_ICV },
	{ "N16b IV bit flipped", &c_v1, NOPREP, P(n16b), ESPX_EESP_DROP_ICV },
	{ "N16c bad ICV on a never-seen Sub SA", &c_v2, NOPREP, P(n16c),
	  ESPX_EESP_DROP_ICV },
	{ "N17 Sub SA 1's key under Session ID 2", &c_v2, NOPREP, P(n17),
	  ESPX_EESP_DROP_ICV },
	{ "N18 sealed with the root key", &c_v2, NOPREP, P(n18),
	  ESPX_EESP_DROP_ICV },
	{ "N18b sealed with the SHA-384 root key", &c_v5, NOPREP, P(n18b),
	  ESPX_EESP_DROP_ICV },
	{ "N19 PIH nibble 1", &c_v1, NOPREP, P(n19), ESPX_EESP_DROP_PIH },
	{ "N19b PIH nibble 4", &c_v1, NOPREP, P(n19b), ESPX_EESP_DROP_PIH },
	{ "N20 Pad Length 25 > 24", &c_v1, NOPREP, P(n20), ESPX_EESP_DROP_PIH },
	{ "P21 Next Header 59", &c_v1, NOPREP, P(p21), ESPX_EESP_RX_DUMMY },
	{ "N22 inner length 65 > 64", &c_v2, NOPREP, P(n22),
	  ESPX_EESP_DROP_INNER },
	{ "N23 inner nibble 5", &c_v2, NOPREP, P(n23), ESPX_EESP_DROP_INNER },
	{ "N23b inner nibble 0 (a PIH)", &c_v2, NOPREP, P(n23b),
	  ESPX_EESP_DROP_INNER },
	{ "N24 eesp_proto for an SA without eesp", &c_v1plain, NOPREP, P(n24),
	  ESPX_EESP_DROP_NOT_EESP },
	{ "N25 protocol 50 for an EESP SA", &c_v1, NOPREP, P(n25),
	  ESPX_EESP_DROP_PLAIN_SA },
	{ "P26 PadN with non-zero data", &c_v4, NOPREP, P(p26),
	  ESPX_EESP_RX_OK },
	{ "P27 private option 224 skipped", &c_v1, NOPREP, P(p27),
	  ESPX_EESP_RX_OK },
	{ "P27b unassigned option 3 and Pad1", &c_v4, NOPREP, P(p27b),
	  ESPX_EESP_RX_OK },
	{ "P28 PIH Reserved ignored", &c_v1, NOPREP, P(p28), ESPX_EESP_RX_OK },
	{ "P29 Crypt Offset R ignored", &c_v3, NOPREP, P(p29),
	  ESPX_EESP_RX_OK },
	{ "P30 nothing encrypted (CryptOffset 6)", &c_v3, NOPREP, P(p30),
	  ESPX_EESP_RX_OK },
	{ "X1 Crypt Offset Data Len 3", &c_v3, NOPREP, P(x1),
	  ESPX_EESP_DROP_OPTION },
	{ "X2 tunnel Full format, Next Header 17", &c_v3, NOPREP, P(x2),
	  ESPX_EESP_DROP_INNER },
	{ "X3 inner IPv4 total length 12", &c_v3opt, NOPREP, P(x3),
	  ESPX_EESP_DROP_INNER },
};

static void check_variants(void)
{
	u8 pkt[512];
	char d[200];
	struct rxs s;
	u32 i;
	int res;

	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		const struct variant *v = &variants[i];

		res = rx_fresh(v->c, v->prep, v->preplen, v->pkt, v->len, NULL);
		snprintf(d, sizeof(d), "%s (%s SA): %s", v->id, v->c->name,
			 espx_eesp_rx_name(v->want));
		if (res != v->want)
			printf("# got %d %s\n", res, espx_eesp_rx_name(res));
		ok(res == v->want, d);
	}

	/* N12, N12b: no key derivation, no window for the Session ID */
	res = rx_fresh(&c_v2, NULL, 0, P(n12), &s);
	ok(res == ESPX_EESP_DROP_SUBSA && !s.derivations && !s.windows,
	   "N12: no key derivation and no window for Session ID 4");
	rx_free(&s);
	/* ... and the packet is isolated: SSKDF(root, 4) opens it */
	{
		struct cfg c5 = c_v2;
		struct rxs s5;

		c5.sa.subsas = 5;
		res = rx_fresh(&c5, NULL, 0, P(n12), &s5);
		ok(res == ESPX_EESP_RX_OK,
		   "N12 isolated: with N = 5 (no range failure) it is accepted");
		rx_free(&s5);
	}
	/* N16: the window is unchanged, the genuine SN 2 is accepted after */
	rx_init(&s, &c_v1);
	memcpy(pkt, pkt_n16, sizeof(pkt_n16));
	res = rx(&s, v1_packet, sizeof(v1_packet), NULL, NULL);
	if (res == ESPX_EESP_RX_OK)
		res = rx(&s, pkt, sizeof(pkt_n16), NULL, NULL);
	pkt[sizeof(pkt_n16) - 1] ^= 1;
	ok(res == ESPX_EESP_DROP_ICV &&
	   rx(&s, pkt, sizeof(pkt_n16), NULL, NULL) == ESPX_EESP_RX_OK,
	   "N16: after the bad ICV, the genuine SN 2 is accepted");
	rx_free(&s);
	/* N16c: no window for the Sub SA whose first packet failed */
	res = rx_fresh(&c_v2, NULL, 0, P(n16c), &s);
	ok(res == ESPX_EESP_DROP_ICV && !s.win[3] && !s.windows,
	   "N16c: no window for Session ID 3");
	rx_free(&s);
	/* P16: two windows, one per Sub SA */
	res = rx_fresh(&c_v2, v2_packet, sizeof(v2_packet), P(p16), &s);
	ok(res == ESPX_EESP_RX_OK && s.win[0] && s.win[2] && s.windows == 2 &&
	   s.derivations == 2 && s.win[0]->top == 5 && s.win[2]->top == 5,
	   "P16: one window and one key per Sub SA, both at SN 5");
	rx_free(&s);
	/* P21: a dummy packet advances the window */
	res = rx_fresh(&c_v1, NULL, 0, P(p21), &s);
	ok(res == ESPX_EESP_RX_DUMMY &&
	   rx(&s, P(p21), NULL, NULL) == ESPX_EESP_DROP_REPLAY,
	   "P21: the dummy advanced the window (again: in-drop-eesp-replay)");
	rx_free(&s);
	/* no SA for the SPI */
	ok(rx_fresh(&c_v1, NULL, 0, v2_packet, sizeof(v2_packet), NULL) ==
	   ESPX_EESP_DROP_NO_SA, "SPI 0x1002 at a receiver with 0x1001 only: ns-eesp-no-sa");
}

/* P30 and N11's base: the sender's CryptOffset for a 20-octet inner packet */
static void check_p30_sender(void)
{
	static const char inner[] = "45 00 00 14 00 00 40 00 40 3b d4 78"
				    "c6 33 64 01 cb 00 71 01";
	struct espx_eesp_tx tx = { .spi = 0x1003, .sn = 2, .nexthdr = 4 };
	struct espx_eesp_layout l;
	u8 payload[32], pkt[256], pt[64];
	u32 n;

	tx.payload_len = hex(inner, payload);
	n = seal(&c_v3, key16, 20, pkt_p30, 20, &tx, payload, pkt,
		 sizeof(pkt), &l, pt);
	ok(n == sizeof(pkt_p30) && l.crypt_offset == 6 && !l.enc_len &&
	   same(pkt, pkt_p30, n),
	   "P30 sender: CryptOffset min(8, 1 + 5) = 6, 0 octets encrypted, the packet");
}

/* ---- §4 header sizes, §6 limits, round trips --------------------------- */

static void check_sizes(void)
{
	static const struct {
		bool ipv6, tunnel, iiv;
		u8 co;
		u32 size, optlen;
	} t[] = {
		{ false, false, false, 0, 28, 0 },
		{ true, false, false, 0, 32, 4 },
		{ false, false, true, 0, 20, 0 },
		{ true, false, true, 0, 24, 4 },
		{ false, true, false, 0, 24, 0 },
		{ true, true, false, 0, 24, 0 },
		{ false, true, true, 0, 16, 0 },
		{ true, true, true, 0, 16, 0 },
		{ false, true, false, 8, 32, 4 },
		{ true, false, false, 1, 32, 4 },
		{ false, false, true, 63, 24, 4 },
		{ true, true, true, 8, 24, 4 },
	};
	struct espx_eesp_tx tx = { .payload_len = 100 };
	struct espx_eesp_layout l;
	u32 i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct espx_eesp_sa sa = {
			.ipv6 = t[i].ipv6, .tunnel = t[i].tunnel,
			.iiv = t[i].iiv, .crypt_offset = t[i].co,
			.icvlen = 16,
		};

		if (espx_eesp_layout(&sa, &tx, &l) || l.hdr_len != t[i].size ||
		    l.optlen != t[i].optlen) {
			printf("# row %u: %u octets, Opt Len %u\n", i,
			       l.hdr_len, l.optlen);
			bad++;
		}
	}
	ok(!bad, "§4 header sizes: 28/32/20/24/24/16/32/24 octets");
}

static void check_limits(void)
{
	struct espx_eesp_sa sa = { .crypt_offset = 64, .icvlen = 16 };
	struct espx_eesp_tx tx = { .payload_len = 10 };
	struct espx_eesp_layout l;
	u32 r, hl, i, names_ok = 1;
	u8 msg[ESPX_EESP_HKDF_MSG_MAX], t1[64];

	ok(espx_eesp_tx_sn_verdict(1) == ESPX_EESP_TX_OK &&
	   espx_eesp_tx_sn_verdict(ESPX_EESP_SN_SOFT - 1) == ESPX_EESP_TX_OK &&
	   espx_eesp_tx_sn_verdict(ESPX_EESP_SN_SOFT) == ESPX_EESP_TX_SOFT &&
	   espx_eesp_tx_sn_verdict(~0ULL) == ESPX_EESP_TX_SOFT &&
	   espx_eesp_tx_sn_verdict(0) == ESPX_EESP_TX_EXHAUSTED,
	   "SN limits: soft from 2^63, 2^64 - 1 the last, 0 exhausted");
	ok(espx_eesp_keymat_len(false, 128) == 20 &&
	   espx_eesp_keymat_len(false, 256) == 36 &&
	   espx_eesp_keymat_len(true, 256) == 36 &&
	   espx_eesp_keymat_len(true, 128) < 0 &&
	   espx_eesp_keymat_len(false, 192) < 0,
	   "L = 20 / 36 / 36; ChaCha20 128 and key-bits 192 refused");
	ok(!espx_eesp_sskdf_lens(ESPX_EESP_SSKDF_SHA256, &r, &hl) && r == 32 &&
	   !espx_eesp_sskdf_lens(ESPX_EESP_SSKDF_SHA384, &r, &hl) && r == 48 &&
	   !espx_eesp_sskdf_lens(ESPX_EESP_SSKDF_SHA512, &r, &hl) && r == 64 &&
	   espx_eesp_sskdf_lens((enum espx_eesp_sskdf)3, &r, &hl) < 0,
	   "root key lengths 32 / 48 / 64");
	ok(espx_eesp_hkdf_msg(msg, sizeof(msg), NULL, 0, 0x1234, 1) == 3 &&
	   msg[0] == 0x12 && msg[1] == 0x34 && msg[2] == 1 &&
	   espx_eesp_hkdf_msg(msg, sizeof(msg), t1, 32, 0x1234, 1) < 0 &&
	   espx_eesp_hkdf_msg(msg, sizeof(msg), NULL, 0, 0x1234, 2) < 0 &&
	   espx_eesp_hkdf_msg(msg, 2, NULL, 0, 0x1234, 1) < 0,
	   "HKDF-Expand message T(0) | be16(Session ID) | 1, misuse refused");
	ok(espx_eesp_layout(&sa, &tx, &l) == ESPX_CODEC_EINVAL,
	   "sender: crypt-offset 64 refused");

	/* SHA-256 with L = 36 needs two blocks; SHA-512 has no vector in
	 * §11: both against OpenSSL's HKDF for a few Session IDs
	 */
	for (i = 0; i < 6; i++) {
		static const u16 sids[] = { 0, 1, 255, 256, 1023, 0xffff };
		u8 a[36], b[36];

		if (!sskdf(ESPX_EESP_SSKDF_SHA256, root32, 32, sids[i], 36, a) ||
		    !ossl_hkdf_expand(ESPX_EESP_SSKDF_SHA256, root32, 32,
				      sids[i], 36, b) || memcmp(a, b, 36) ||
		    !sskdf(ESPX_EESP_SSKDF_SHA512, root64, 64, sids[i], 20, a) ||
		    !ossl_hkdf_expand(ESPX_EESP_SSKDF_SHA512, root64, 64,
				      sids[i], 20, b) || memcmp(a, b, 20))
			names_ok = 0;
	}
	ok(names_ok, "HKDF-SHA256 (L 36, two blocks) and HKDF-SHA512 = OpenSSL's");

	names_ok = !strcmp(espx_eesp_rx_name(0), "ok") &&
		   !strcmp(espx_eesp_rx_name(1), "in-eesp-dummy") &&
		   !strcmp(espx_eesp_rx_name(-ESPX_EESP_DROP_NR - 1), "unknown");
	for (r = 1; r <= ESPX_EESP_DROP_NR; r++) {
		for (i = 1; i < r; i++)
			if (!strcmp(espx_eesp_rx_name(-(int)r),
				    espx_eesp_rx_name(-(int)i)))
				names_ok = 0;
		if (!strcmp(espx_eesp_rx_name(-(int)r), "unknown"))
			names_ok = 0;
	}
	ok(names_ok, "every result has its own counter name");
}

/* Every format, family, IV and AEAD: seal with the codec, open with the
 * receiver, payload back; then one flipped bit anywhere is refused.
 */
static void check_round_trips(void)
{
	static const u32 lens[] = { 0, 1, 3, 4, 19, 20, 21, 64, 401 };
	u32 combo, li, iplen, bad = 0, flips_bad = 0, pos;
	u8 payload[512], pkt[1024], pt[1024], data[1024], km[36];

	for (combo = 0; combo < 64; combo++) {
		struct cfg c = {
			"rt", 0x4242, true,
			{ .ipv6 = combo & 1, .tunnel = combo & 2,
			  .iiv = combo & 4, .crypt_offset = combo & 8 ? 3 : 0,
			  .icvlen = 16, .subsas = 3 },
			(combo & 16) != 0, combo & 32 || combo & 16 ? 256 : 128,
			root48, 48, true, ESPX_EESP_SSKDF_SHA384, 128,
		};
		bool tunnel = c.sa.tunnel;

		for (li = 0; li < ARRAY_SIZE(lens); li++) {
			struct espx_eesp_tx tx = {
				.session_id = (u16)(li % 3), .spi = 0x4242,
				.sn = 1000 + li, .nexthdr = tunnel ? 4 : 17,
				.payload_len = lens[li],
			};
			struct espx_eesp_layout l;
			struct espx_eesp_payload po;
			struct rxs s;
			u8 outer[40] = { 0 };
			u32 n, kl, i;
			int res;

			if (tunnel && lens[li] < 20)
				continue;
			for (i = 0; i < lens[li]; i++)
				payload[i] = (u8)(i * 7 + combo);
			if (tunnel) {	/* an inner IPv4 header */
				payload[0] = 0x45;
				espx_codec_put_be16(payload + 2, lens[li]);
			}
			iplen = c.sa.ipv6 ? 40 : 20;
			kl = keymat(&c, tx.session_id, km);
			if (espx_eesp_layout(&c.sa, &tx, &l))
				kl = 0;
			outer[0] = c.sa.ipv6 ? 0x60 : 0x45;
			if (c.sa.ipv6) {
				outer[6] = ESPX_EESP_PROTO_DEFAULT;
				espx_codec_put_be16(outer + 4, l.total);
			} else {
				outer[9] = ESPX_EESP_PROTO_DEFAULT;
				espx_codec_put_be16(outer + 2, 20 + l.total);
			}
			n = kl ? seal(&c, km, kl, outer, iplen, &tx, payload,
				      pkt, sizeof(pkt), &l, pt) : 0;
			rx_init(&s, &c);
			res = n ? rx(&s, pkt, n, &po, data) : T_BAD;
			rx_free(&s);
			if (res != ESPX_EESP_RX_OK || po.len != lens[li] ||
			    memcmp(data, payload, lens[li]) ||
			    l.hdr_len % (c.sa.ipv6 ? 8 : 4) ||
			    (l.enc_len + 4 * l.crypt_offset) % 4 ||
			    (c.sa.crypt_offset && l.crypt_offset !=
			     (lens[li] / 4 + 1 < 3 ? lens[li] / 4 + 1 : 3))) {
				printf("# combo %u len %u: %s\n", combo,
				       lens[li], espx_eesp_rx_name(res));
				bad++;
				continue;
			}
			/* every bit of the EESP packet is covered */
			for (pos = iplen * 8; pos < n * 8; pos += 13) {
				pkt[pos / 8] ^= (u8)(1 << (pos % 8));
				rx_init(&s, &c);
				res = rx(&s, pkt, n, NULL, NULL);
				rx_free(&s);
				pkt[pos / 8] ^= (u8)(1 << (pos % 8));
				if (res >= 0 || res == T_BAD) {
					printf("# combo %u len %u bit %u accepted\n",
					       combo, lens[li], pos - iplen * 8);
					flips_bad++;
				}
			}
		}
	}
	ok(!bad, "round trips: 64 SA shapes x 9 payload lengths");
	ok(!flips_bad, "round trips: any flipped bit is dropped");
}

/* ESP Echo messages (Next Header 144) have a PIH in every format. */
static void check_echo(void)
{
	static const struct {
		bool ipv6, tunnel, iiv;
		u8 co;
		u32 size;
	} t[] = {
		{ false, false, false, 0, 28 },	/* transport: as any packet */
		{ true, false, true, 0, 24 },
		{ false, true, false, 0, 28 },	/* Optimized: + PIH */
		{ true, true, false, 0, 32 },	/* + PIH, PadN(4) for 8 */
		{ false, true, true, 0, 20 },
		{ true, true, true, 0, 24 },
		{ true, true, false, 8, 32 },	/* Full tunnel */
	};
	struct espx_eesp_tx tx = { .spi = 0x3101, .sn = 7, .nexthdr = 144,
				   .payload_len = 21 };
	u8 hdr[ESPX_EESP_HDR_MAX], p[64] = { 0 };
	struct espx_eesp_payload po;
	struct espx_eesp_layout l;
	u32 i, bad = 0, rx_bad = 0;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct espx_eesp_sa sa = {
			.ipv6 = t[i].ipv6, .tunnel = t[i].tunnel,
			.iiv = t[i].iiv, .crypt_offset = t[i].co,
			.icvlen = 16,
		};
		const u8 *pih;

		if (espx_eesp_layout(&sa, &tx, &l) || l.hdr_len != t[i].size ||
		    l.hdr_len % (sa.ipv6 ? 8 : 4) || l.pad_len != 3 ||
		    espx_eesp_build(hdr, sizeof(hdr), &sa, &tx, &l) !=
		    (int)l.hdr_len) {
			printf("# row %u: %u octets\n", i, l.hdr_len);
			bad++;
			continue;
		}
		pih = hdr + l.hdr_len - ESPX_EESP_PIH_LEN;
		if (pih[0] || pih[1] || pih[2] != 144 || pih[3] != 3)
			bad++;
		/* the receiver: PIH | 12-octet echo header + 9 | 3 padding */
		memcpy(p, pih, 4);
		p[4] = 2;
		if (espx_eesp_check_payload(p, 4 + 21 + 3, &sa, &po) !=
		    ESPX_EESP_RX_OK || po.nexthdr != 144 || po.off != 4 ||
		    po.len != 21)
			rx_bad++;
	}
	ok(!bad, "echo: Next Header 144 gets a PIH in every format, aligned");
	ok(!rx_bad, "echo: a PIH with Next Header 144 accepted in every format");

	{
		struct espx_eesp_sa opt = { .tunnel = true, .icvlen = 16 };

		p[0] = 0;
		p[2] = 17;
		p[3] = 0;
		i = espx_eesp_check_payload(p, 28, &opt, &po) ==
		    ESPX_EESP_DROP_INNER;
		p[2] = ESPX_EESP_NH_DUMMY;
		i &= espx_eesp_check_payload(p, 28, &opt, &po) ==
		     ESPX_EESP_DROP_INNER;
		p[2] = 144;
		i &= espx_eesp_check_payload(p, 3, &opt, &po) ==
		     ESPX_EESP_DROP_INNER;
		p[3] = 25;
		i &= espx_eesp_check_payload(p, 28, &opt, &po) ==
		     ESPX_EESP_DROP_PIH;
		p[0] = 0x10;
		p[3] = 0;
		i &= espx_eesp_check_payload(p, 28, &opt, &po) ==
		     ESPX_EESP_DROP_INNER;
		ok(i, "echo: Optimized SA: nibble 0 and NH 17/59 or short: inner; bad Pad Length: pih");
	}
	ok(espx_eesp_payload_max(0) == 0 && espx_eesp_payload_max(3) == 0 &&
	   espx_eesp_payload_max(4) == 4 && espx_eesp_payload_max(103) == 100,
	   "echo: the largest payload after a PIH in a room");
}

int main(void)
{
	u32 i;

	keys_init();
	ktap_plan(PLAN);
	for (i = 0; i < ARRAY_SIZE(vecs); i++)
		check_vector(&vecs[i]);
	check_p30_sender();
	check_variants();
	check_sizes();
	check_limits();
	check_round_trips();
	check_echo();
	return ktap_done(PLAN);
}
