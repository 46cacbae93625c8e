/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the spec-vector unit tests share: hex dumps as they appear in
 * ../shared/spec, the specs' AES-128 test key and salt, and AES-128-GCM
 * through OpenSSL (link with -lcrypto) as the reference AEAD.
 * Include after the codec and before the tests.
 */
#ifndef _ESPX_UNIT_VECTORS_H
#define _ESPX_UNIT_VECTORS_H

#include <string.h>
#include <openssl/evp.h>

#define VEC_ICVLEN 16

/* a NULL-terminated list of dump lines */
#define L(...) ((const char * const []){ __VA_ARGS__, NULL })

/* The octets of a spec dump given as lines of hex digits; the first @skip
 * characters of each line (an offset column) and anything that is not a
 * lower-case hex digit (e.g. "|") are skipped. At most @max octets.
 */
static inline size_t unhex_skip(const char * const *lines, size_t skip,
				u8 *out, size_t max)
{
	const char *s;
	size_t n = 0;
	int hi = -1, v;

	for (; *lines; lines++) {
		s = *lines;
		if (strlen(s) > skip)
			s += skip;
		for (; *s && n < max; s++) {
			if (*s >= '0' && *s <= '9')
				v = *s - '0';
			else if (*s >= 'a' && *s <= 'f')
				v = *s - 'a' + 10;
			else
				continue;
			if (hi < 0) {
				hi = v;
				continue;
			}
			out[n++] = (u8)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static inline size_t unhex(const char * const *lines, u8 *out, size_t max)
{
	return unhex_skip(lines, 0, out, max);
}

/* the specs' AES-128 key 00..0f and nonce salt a0 a1 a2 a3 */
static const u8 key[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static const u8 salt[4] = { 0xa0, 0xa1, 0xa2, 0xa3 };

/* AES-128-GCM with a 16-octet tag at @tag: written when encrypting,
 * checked when decrypting. Return: 1 on success.
 */
static inline int gcm(int enc, const u8 *nonce, const u8 *aad, int aadlen,
		      const u8 *in, int inlen, u8 *out, u8 *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, good;

	good = ctx &&
	       EVP_CipherInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	       EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) &&
	       EVP_CipherUpdate(ctx, NULL, &n, aad, aadlen) &&
	       EVP_CipherUpdate(ctx, out, &n, in, inlen);
	if (good && !enc)
		good = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					   VEC_ICVLEN, tag);
	good = good && EVP_CipherFinal_ex(ctx, out + n, &n) > 0;
	if (good && enc)
		good = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
					   VEC_ICVLEN, tag);
	EVP_CIPHER_CTX_free(ctx);
	return good;
}

#endif /* _ESPX_UNIT_VECTORS_H */
