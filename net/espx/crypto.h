/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crypto.c: the SA's AEAD (x->data), per-packet request memory, async
 * completion. One kmalloc per packet holds a struct espx_crypto_hdr, the IV,
 * the aead_request and the scatterlist; while crypto runs it is reachable as
 * ESPX_SKB_CB(skb)->tmp. The AAD (SPI | [SNhi |] SNlo) lives in the header,
 * so the ESP header on the wire never has to be shuffled for ESN.
 */
#ifndef _NET_ESPX_CRYPTO_H
#define _NET_ESPX_CRYPTO_H

#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <crypto/aead.h>
#include <net/xfrm.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "pkt.h"
#include "codec/esp_codec.h"

#define ESPX_NONCE_IVLEN ESPX_ESP_NONCE_IVLEN	/* the IV on the wire */

/* The IV on the wire: the transform's for plain ESP, 8 octets when espx
 * builds the nonce (the transform then takes salt | IV, 12 octets). The data
 * path reads the copy in sa->req.ivlen.
 */
static inline unsigned int espx_ivlen(const struct espx_sa *sa,
				      struct crypto_aead *aead)
{
	if (espx_sa_nonce(sa))
		return sa->ext.iiv ? 0 : ESPX_NONCE_IVLEN;
	return crypto_aead_ivsize(aead);
}

typedef void (*espx_crypto_done_t)(struct sk_buff *skb, int err);

struct espx_skb_cb {
	struct xfrm_skb_cb xfrm;	/* the core's; must stay first */
	void *tmp;			/* in-flight request memory */
};

#define ESPX_SKB_CB(skb) ((struct espx_skb_cb *)&((skb)->cb[0]))
#define ESPX_AAD_ESP_MAX ESPX_ESP_AAD_MAX	/* SPI | SNhi | SNlo */

struct espx_crypto_hdr {
	espx_crypto_done_t done;	/* async completion, set by run() */
	struct espx_sa *sa;		/* caller's: for the completion */
	u32 len;			/* caller's: payload octets, for stats */
	struct espx_pkt pkt;		/* input: for the completion */
	__be32 aad[];			/* the AAD buffer, sa->req.aadmax
					 * octets: ESPX_AAD_ESP_MAX for ESP,
					 * up to ESPX_WESP_AAD_MAX for WESPv2
					 */
};

struct espx_crypto_req {
	struct espx_crypto_hdr *hdr;	/* == the allocation */
	u8 *iv;
	struct aead_request *req;
	struct scatterlist *sg;
};

int espx_crypto_init(struct xfrm_state *x, struct espx_sa *sa,
		     struct netlink_ext_ack *extack);
void espx_crypto_destroy(struct xfrm_state *x);
void espx_crypto_layout(struct espx_sa *sa, struct crypto_aead *aead,
			unsigned int aadmax);
int espx_crypto_req_alloc_slow(const struct espx_sa *sa,
			       struct crypto_aead *aead, unsigned int nsg,
			       struct espx_crypto_req *r);
void espx_crypto_complete(ESPX_ASYNC_ARG arg, int err);

/* For espx_cfg_check(): the plain AEAD espx drives for an extension SA's
 * algorithm (rfc4106(gcm(aes)) -> gcm(aes), ...), NULL if it has none.
 */
const char *espx_crypto_nonce_plain(const struct xfrm_algo_aead *aead);

struct crypto_aead *espx_crypto_alloc_keyed(const struct xfrm_state *x,
					    const u8 *key, unsigned int keylen,
					    struct netlink_ext_ack *extack);

/* For diet.c: a synchronous transform keyed like the SA's, for trial
 * decryptions in softirq context (NULL on failure, reported).
 */
struct crypto_aead *espx_crypto_alloc_sync(struct xfrm_state *x,
					   struct netlink_ext_ack *extack);

/* The rest is inline: once or twice per packet each, on every packet. */

/* The SA's AAD is SPI | SNlo in the packet (espx_crypto_layout()). */
static inline bool espx_crypto_aad_inplace(const struct espx_sa *sa)
{
	return !sa->req.aadmax;
}

/**
 * espx_crypto_req_alloc - one packet's request memory (GFP_ATOMIC)
 * @sa: the SA (its layout: the AAD buffer, fixed offsets if any)
 * @aead: the SA's transform
 * @nsg: scatterlist entries needed (AAD entry included)
 * @r: pointers into the allocation
 *
 * Only the offsets are computed; the header fields are the caller's.
 * Return: 0 or -ENOMEM. The caller owns r->hdr until espx_crypto_run().
 */
static inline int espx_crypto_req_alloc(const struct espx_sa *sa,
					struct crypto_aead *aead,
					unsigned int nsg,
					struct espx_crypto_req *r)
{
	const struct espx_req_layout *l = &sa->req;
	u8 *p;

	if (unlikely(!l->size))
		return espx_crypto_req_alloc_slow(sa, aead, nsg, r);
	p = kmalloc(l->size + nsg * sizeof(struct scatterlist), GFP_ATOMIC);
	if (unlikely(!p))
		return -ENOMEM;
	r->hdr = (struct espx_crypto_hdr *)p;
	r->iv = p + l->iv;
	r->req = (struct aead_request *)(p + l->req);
	r->sg = (struct scatterlist *)(p + l->size);
	aead_request_set_tfm(r->req, aead);
	return 0;
}

static inline struct espx_crypto_hdr *espx_crypto_req_of(struct sk_buff *skb)
{
	return ESPX_SKB_CB(skb)->tmp;
}

/* After an asynchronous completion (the synchronous path frees r->hdr). */
static inline void espx_crypto_req_free(struct sk_buff *skb)
{
	kfree(ESPX_SKB_CB(skb)->tmp);
	ESPX_SKB_CB(skb)->tmp = NULL;
}

/**
 * espx_crypto_run - start encryption or decryption of one packet
 * @r: request memory from espx_crypto_req_alloc(), crypt/ad already set
 * @skb: the packet; r->hdr is kept in ESPX_SKB_CB(skb)->tmp
 * @encrypt: direction
 * @done: called (softirq context) if the transform completes later
 *
 * Return: -EINPROGRESS when @done will be called (the caller must not touch
 * @skb any more), otherwise the result; the caller then frees r->hdr.
 */
static inline int espx_crypto_run(struct espx_crypto_req *r,
				  struct sk_buff *skb, bool encrypt,
				  espx_crypto_done_t done)
{
	BUILD_BUG_ON(sizeof(struct espx_skb_cb) > sizeof_field(struct sk_buff, cb));

	r->hdr->done = done;
	ESPX_SKB_CB(skb)->tmp = r->hdr;
	aead_request_set_callback(r->req, 0, espx_crypto_complete, skb);

	/* No CRYPTO_TFM_REQ_MAY_BACKLOG (like esp4/esp6): a full queue is a
	 * drop (-ENOSPC, which the output turns into NET_XMIT_DROP as
	 * esp4/esp6 do; a driver of the older -EBUSY convention is an error
	 * like any other), never a deferred completion.
	 */
	return encrypt ? crypto_aead_encrypt(r->req) :
			 crypto_aead_decrypt(r->req);
}

#endif /* _NET_ESPX_CRYPTO_H */
