// SPDX-License-Identifier: GPL-2.0
/* espx crypto: allocation of the SA's AEAD transform (the same templates as
 * esp4/esp6, so the wire format is identical), per-packet request memory and
 * the sync/async completion plumbing shared by output and input.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/rtnetlink.h>
#include <linux/scatterlist.h>
#include <linux/version.h>
#include <crypto/aead.h>
#include <crypto/authenc.h>
#include <net/xfrm.h>
#include "espx.h"
#include "crypto.h"

static int espx_crypto_alloc(struct xfrm_state *x, const char *name,
			     struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;

	aead = crypto_alloc_aead(name, 0, 0);
	if (IS_ERR(aead)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "algorithm not available in this kernel");
		return PTR_ERR(aead);
	}
	x->data = aead;
	return 0;
}

/* Key the first @keylen octets of the SA's AEAD key and set its ICV size. */
static int espx_crypto_key_aead(struct xfrm_state *x, unsigned int keylen,
				struct netlink_ext_ack *extack)
{
	int err;

	err = crypto_aead_setkey(x->data, x->aead->alg_key, keylen);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "invalid key length for the AEAD");
		return err;
	}
	err = crypto_aead_setauthsize(x->data, x->aead->alg_icv_len / 8);
	if (err)
		NL_SET_ERR_MSG_MOD(extack, "ICV length not supported by the AEAD");
	return err;
}

/* AEAD SA: "<geniv>(<alg>)", e.g. seqiv(rfc4106(gcm(aes))). */
static int espx_crypto_init_aead(struct xfrm_state *x,
				 struct netlink_ext_ack *extack)
{
	char name[CRYPTO_MAX_ALG_NAME];
	int err;

	if (snprintf(name, sizeof(name), "%s(%s)", x->geniv,
		     x->aead->alg_name) >= (int)sizeof(name)) {
		NL_SET_ERR_MSG_MOD(extack, "algorithm name is too long");
		return -ENAMETOOLONG;
	}

	err = espx_crypto_alloc(x, name, extack);
	if (err)
		return err;

	return espx_crypto_key_aead(x, (x->aead->alg_key_len + 7) / 8, extack);
}

/* Encryption + integrity SA: "<geniv>(authenc[esn](<auth>,<enc>))". The key
 * is the blob crypto/authenc expects: an rtattr CRYPTO_AUTHENC_KEYA_PARAM
 * carrying the encryption key length, the auth key, then the enc key.
 */
static int espx_crypto_init_authenc(struct xfrm_state *x,
				    struct netlink_ext_ack *extack)
{
	bool esn = x->props.flags & XFRM_STATE_ESN;
	unsigned int akeylen, ekeylen, keylen;
	struct crypto_authenc_key_param *param;
	char name[CRYPTO_MAX_ALG_NAME];
	struct rtattr *rta;
	u8 *key;
	int err;

	if (snprintf(name, sizeof(name), "%s%s%s(%s,%s)%s",
		     x->geniv ?: "", x->geniv ? "(" : "",
		     esn ? "authencesn" : "authenc",
		     x->aalg ? x->aalg->alg_name : "digest_null",
		     x->ealg->alg_name,
		     x->geniv ? ")" : "") >= (int)sizeof(name)) {
		NL_SET_ERR_MSG_MOD(extack, "algorithm name is too long");
		return -ENAMETOOLONG;
	}

	err = espx_crypto_alloc(x, name, extack);
	if (err)
		return err;

	if (x->aalg) {
		struct xfrm_algo_desc *desc;

		desc = xfrm_aalg_get_byname(x->aalg->alg_name, 0);
		if (!desc || desc->uinfo.auth.icv_fullbits / 8 !=
			     crypto_aead_authsize(x->data)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "unexpected ICV size of the auth algorithm");
			return -EINVAL;
		}
		err = crypto_aead_setauthsize(x->data,
					      x->aalg->alg_trunc_len / 8);
		if (err) {
			NL_SET_ERR_MSG_MOD(extack,
					   "truncation length not supported");
			return err;
		}
	}

	akeylen = x->aalg ? (x->aalg->alg_key_len + 7) / 8 : 0;
	ekeylen = (x->ealg->alg_key_len + 7) / 8;
	keylen = RTA_SPACE(sizeof(*param)) + akeylen + ekeylen;
	key = kmalloc(keylen, GFP_KERNEL);
	if (!key)
		return -ENOMEM;

	rta = (struct rtattr *)key;
	rta->rta_type = CRYPTO_AUTHENC_KEYA_PARAM;
	rta->rta_len = RTA_LENGTH(sizeof(*param));
	param = RTA_DATA(rta);
	param->enckeylen = cpu_to_be32(ekeylen);
	if (akeylen)
		memcpy(key + RTA_SPACE(sizeof(*param)), x->aalg->alg_key,
		       akeylen);
	memcpy(key + RTA_SPACE(sizeof(*param)) + akeylen, x->ealg->alg_key,
	       ekeylen);

	err = crypto_aead_setkey(x->data, key, keylen);
	kfree_sensitive(key);
	if (err)
		NL_SET_ERR_MSG_MOD(extack, "invalid key length for the algorithm");
	return err;
}

/* Extension SAs (wespv2.md §5): the plain AEAD behind the RFC 4106 /
 * RFC 7634 ESP wrapper. Those wrappers accept only the ESP AAD (8 or 12
 * octets plus the IV), while the WESPv2 AAD carries the header, options and
 * clear octets; so espx builds the 12-octet nonce (salt | IV) and the AAD
 * itself. The wire format of the key blob stays the ESP one: key | salt.
 */
static const struct {
	const char *esp;
	const char *plain;
} espx_nonce_algs[] = {
	{ "rfc4106(gcm(aes))", "gcm(aes)" },
	{ "rfc7539esp(chacha20,poly1305)", "rfc7539(chacha20,poly1305)" },
};

const char *espx_crypto_nonce_plain(const struct xfrm_algo_aead *aead)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(espx_nonce_algs); i++)
		if (!strcmp(aead->alg_name, espx_nonce_algs[i].esp))
			return espx_nonce_algs[i].plain;
	return NULL;
}

/* The nonce AEAD of an extension SA and its key length without the salt;
 * espx_cfg_check() has refused any other algorithm and key.
 */
static const char *espx_crypto_nonce_alg(const struct xfrm_state *x,
					 unsigned int *keylen)
{
	*keylen = x->aead->alg_key_len / 8 - ESPX_SALT_LEN;
	return espx_crypto_nonce_plain(x->aead);
}

static int espx_crypto_init_nonce(struct xfrm_state *x, struct espx_sa *sa,
				  struct netlink_ext_ack *extack)
{
	const char *plain;
	unsigned int keylen;
	int err;

	plain = espx_crypto_nonce_alg(x, &keylen);
	if (!plain)
		return -EINVAL;		/* espx_cfg_check() said why */
	err = espx_crypto_alloc(x, plain, extack);
	if (err)
		return err;
	err = espx_crypto_key_aead(x, keylen, extack);
	if (err)
		return err;
	memcpy(sa->ext.salt, x->aead->alg_key + keylen, ESPX_SALT_LEN);
	return 0;
}

/**
 * espx_crypto_alloc_keyed - EESP Sub SAs: a nonce AEAD of the SA's algorithm
 *	keyed with a derived key (eesp.c)
 * @x: the SA (algorithm and ICV length)
 * @key: the AEAD key, without the salt
 * @keylen: its octets
 * @extack: error report
 *
 * Return: the transform or an ERR_PTR (reported).
 */
struct crypto_aead *espx_crypto_alloc_keyed(const struct xfrm_state *x,
					    const u8 *key, unsigned int keylen,
					    struct netlink_ext_ack *extack)
{
	const char *plain = espx_crypto_nonce_plain(x->aead);
	struct crypto_aead *aead;
	int err;

	if (!plain)
		return ERR_PTR(-EINVAL);	/* espx_cfg_check() said why */
	aead = crypto_alloc_aead(plain, 0, 0);
	if (IS_ERR(aead)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "algorithm not available in this kernel");
		return aead;
	}
	err = crypto_aead_setkey(aead, key, keylen);
	if (!err)
		err = crypto_aead_setauthsize(aead, x->aead->alg_icv_len / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot key the Sub SA's AEAD");
		crypto_free_aead(aead);
		return ERR_PTR(err);
	}
	return aead;
}

/* CRYPTO_ALG_ASYNC in the mask: only implementations that complete in the
 * caller, so a trial needs no completion and no request kept alive.
 */
struct crypto_aead *espx_crypto_alloc_sync(struct xfrm_state *x,
					   struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;
	const char *plain;
	unsigned int keylen;
	int err;

	plain = espx_crypto_nonce_alg(x, &keylen);
	if (!plain)
		return ERR_PTR(-EINVAL);	/* espx_cfg_check() said why */
	aead = crypto_alloc_aead(plain, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(aead)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no synchronous implementation of the AEAD");
		return aead;
	}
	err = crypto_aead_setkey(aead, x->aead->alg_key, keylen);
	if (!err)
		err = crypto_aead_setauthsize(aead, x->aead->alg_icv_len / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot key the synchronous AEAD");
		crypto_free_aead(aead);
		return ERR_PTR(err);
	}
	return aead;
}

/**
 * espx_crypto_init - allocate and key the SA's transform into x->data
 * @x: the state being built
 * @sa: its espx state; an extension SA gets the explicit-nonce AEAD
 * @extack: error report
 *
 * On failure x->data is NULL and nothing is left allocated.
 */
int espx_crypto_init(struct xfrm_state *x, struct espx_sa *sa,
		     struct netlink_ext_ack *extack)
{
	int err;

	x->data = NULL;
	/* espx_cfg_check() has seen to the algorithms */
	if (sa->cfg.eesp && sa->cfg.ecfg.subsas)
		err = 0;	/* eesp.c keys x->data with Sub SA 0's key */
	else if (sa->cfg.wesp || sa->cfg.diet || sa->cfg.eesp)
		err = espx_crypto_init_nonce(x, sa, extack);
	else if (x->aead)
		err = espx_crypto_init_aead(x, extack);
	else
		err = espx_crypto_init_authenc(x, extack);
	if (err)
		espx_crypto_destroy(x);
	return err;
}

void espx_crypto_destroy(struct xfrm_state *x)
{
	struct crypto_aead *aead = x->data;

	x->data = NULL;
	if (aead)
		crypto_free_aead(aead);
}

/* Request memory: hdr | IV (aligned for the transform) | aead_request +
 * its context | nsg scatterlist entries. Each alignment gap is reserved in
 * full, so the pointer arithmetic below never runs past the allocation.
 */
static size_t espx_crypto_req_size(struct crypto_aead *aead, unsigned int nsg,
				   unsigned int aadmax)
{
	return sizeof(struct espx_crypto_hdr) + ALIGN(aadmax, 4) +
	       crypto_aead_alignmask(aead) + crypto_aead_ivsize(aead) +
	       crypto_tfm_ctx_alignment() - 1 +
	       sizeof(struct aead_request) + crypto_aead_reqsize(aead) +
	       __alignof__(struct scatterlist) - 1 +
	       nsg * sizeof(struct scatterlist);
}

/**
 * espx_crypto_layout - fix the SA's per-packet constants (init_state)
 * @sa: the SA, with its extension state (sa->ext) final
 * @aead: its transform
 * @aadmax: the AAD buffer its packets need, 0 when the AAD is in the packet
 *
 * The sizes are always set. kmalloc() memory is aligned to
 * ARCH_KMALLOC_MINALIGN: when no part needs more, the offsets do not depend
 * on where the memory lies and the data path only adds them. Otherwise (or
 * for a huge context) the offsets stay zero and every packet computes its
 * layout.
 */
void espx_crypto_layout(struct espx_sa *sa, struct crypto_aead *aead,
			unsigned int aadmax)
{
	struct espx_req_layout *l = &sa->req;
	size_t iv, req, size;

	memset(l, 0, sizeof(*l));
	l->aadmax = aadmax;
	l->ivlen = espx_ivlen(sa, aead);
	l->blksize = ALIGN(crypto_aead_blocksize(aead), 4);
	if (crypto_aead_alignmask(aead) >= ARCH_KMALLOC_MINALIGN ||
	    crypto_tfm_ctx_alignment() > ARCH_KMALLOC_MINALIGN ||
	    __alignof__(struct scatterlist) > ARCH_KMALLOC_MINALIGN)
		return;
	iv = ALIGN(sizeof(struct espx_crypto_hdr) + ALIGN(aadmax, 4),
		   crypto_aead_alignmask(aead) + 1);
	req = ALIGN(iv + crypto_aead_ivsize(aead), crypto_tfm_ctx_alignment());
	size = ALIGN(req + sizeof(struct aead_request) +
		     crypto_aead_reqsize(aead), __alignof__(struct scatterlist));
	if (size > U16_MAX)
		return;
	l->iv = iv;
	l->req = req;
	l->size = size;
}

/* espx_crypto_req_alloc() without a fixed layout: the offsets from where
 * the memory lies.
 */
int espx_crypto_req_alloc_slow(const struct espx_sa *sa,
			       struct crypto_aead *aead, unsigned int nsg,
			       struct espx_crypto_req *r)
{
	unsigned int aadmax = sa->req.aadmax;
	u8 *p;

	p = kmalloc(espx_crypto_req_size(aead, nsg, aadmax), GFP_ATOMIC);
	if (!p)
		return -ENOMEM;

	r->hdr = (struct espx_crypto_hdr *)p;
	r->iv = PTR_ALIGN(p + sizeof(*r->hdr) + ALIGN(aadmax, 4),
			  crypto_aead_alignmask(aead) + 1);
	r->req = (struct aead_request *)PTR_ALIGN(r->iv + crypto_aead_ivsize(aead),
						  crypto_tfm_ctx_alignment());
	aead_request_set_tfm(r->req, aead);
	r->sg = (struct scatterlist *)PTR_ALIGN((u8 *)(r->req + 1) +
						crypto_aead_reqsize(aead),
						__alignof__(struct scatterlist));
	return 0;
}

/* One completion for both directions: the header names the caller's. */
void espx_crypto_complete(ESPX_ASYNC_ARG arg, int err)
{
	struct sk_buff *skb = espx_async_data(arg);
	struct espx_crypto_hdr *hdr = ESPX_SKB_CB(skb)->tmp;

	hdr->done(skb, err);
}
