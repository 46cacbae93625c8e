// SPDX-License-Identifier: GPL-2.0
/* espx ESP data path: the xfrm_type ops shared by IPv4 and IPv6.
 *
 * Wire-identical to esp4/esp6 (RFC 4303, RFC 3948 UDP encapsulation, BEET).
 * The xfrm core has already added (output) or will remove (input) the outer
 * header of the SA's mode; these ops only build and check ESP itself:
 *
 *   output: head  room, [UDP header], trailer, SN, ESP header (and the
 *                 extension's header or compression)
 *           seal  AAD, scatterlist, IV or nonce, AEAD encrypt
 *   input:  prepare  protocol and extension header checks, length, the
 *                    counter SAs' pre-replay check, unsharing
 *           (decrypt: AAD, scatterlist, nonce, AEAD decrypt)
 *           open  completion, trailer check and trim, BEET checks, NAT-T
 *                 mapping, header bookkeeping for the core's mode input
 *
 * Each step dispatches on the SA's kind (enum espx_kind) with a switch to
 * the extension's own functions in wesp.c, counters.c and diet.c; the wire
 * computations (padding, AAD, IV, nonce, trailer checks) are the codec's.
 * The family-specific parts are the header sizes, the UDP checksum (IPv6
 * only) and the header offsets on input.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/scatterlist.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <crypto/aead.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_checksum.h>
#include <net/udp.h>
#include <net/xfrm.h>
#include "espx.h"
#include "sa.h"
#include "cfgcheck.h"
#include "crypto.h"
#include "wesp.h"
#include "counters.h"
#include "diet.h"
#include "eesp.h"
#include "codec/eesp_codec.h"
#include "proto.h"
#include "rules.h"
#include "seq.h"
#include "pkt.h"
#include "echo.h"
#include "codec/esp_codec.h"

static void espx_count(struct espx_sa *sa, enum espx_stat id, u64 n)
{
	if (sa)
		espx_stat_add(sa, id, n);
}

/* ---- init_state / destructor ------------------------------------------ */

/* SNhi is authenticated with ESN, and always on a counter SA (its high
 * bits are never on the wire either).
 */
static bool espx_aad_hi(const struct xfrm_state *x, const struct espx_sa *sa)
{
	return (x->props.flags & XFRM_STATE_ESN) ||
	       sa->kind == ESPX_KIND_COUNTERS;
}

/* The AAD buffer of a packet's request. Plain ESP without ESN: none, the
 * AAD (SPI | SN) is the ESP header in the packet, as in esp4/esp6. A nonce
 * SA's transform takes the AAD and then the text, without the IV between
 * them: its AAD has a buffer, as has the ESN AAD SPI | SNhi | SNlo.
 */
static unsigned int espx_aadmax(const struct xfrm_state *x,
				const struct espx_sa *sa)
{
	switch (sa->kind) {
	case ESPX_KIND_PLAIN:
		return espx_aad_hi(x, sa) ? ESPX_AAD_ESP_MAX : 0;
	case ESPX_KIND_WESP:
	case ESPX_KIND_COUNTERS:
		return ESPX_WESP_AAD_MAX;
	case ESPX_KIND_EESP:
		return 0;	/* a prefix of the packet (eesp.c) */
	default:
		return ESPX_AAD_ESP_MAX;
	}
}

/* Header and trailer room, exactly as esp4/esp6 reserve it (MTU/PMTU),
 * plus the WESPv2 header of a WESPv2 SA.
 */
static void espx_set_sizes(struct xfrm_state *x, const struct espx_sa *sa)
{
	struct crypto_aead *aead = x->data;
	bool outer6 = x->props.family == AF_INET6;
	unsigned int len;

	if (sa->kind == ESPX_KIND_EESP)
		len = espx_eesp_hdr_len(sa);
	else
		len = espx_wesp_hdr_len(sa) + ESPX_ESP_HDR_LEN +
		      espx_ivlen(sa, aead);
	switch (x->props.mode) {
	case XFRM_MODE_TUNNEL:
		len += outer6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
		break;
	case XFRM_MODE_BEET:
		if (x->sel.family != AF_INET6) {
			len += IPV4_BEET_PHMAXLEN;
			if (outer6)
				len += sizeof(struct ipv6hdr) -
				       sizeof(struct iphdr);
		}
		break;
	}
	if (x->encap) {
		len += sizeof(struct udphdr);
		if (x->encap->encap_type == UDP_ENCAP_ESPINUDP_NON_IKE)
			len += 2 * sizeof(u32);
	}
	x->props.header_len = len;
	/* EESP: up to 3 octets of zero padding, no trailer (eesp.md §4) */
	x->props.trailer_len = (sa->kind == ESPX_KIND_EESP ?
				ESPX_EESP_PAD_ALIGN - 1 :
				ALIGN(crypto_aead_blocksize(aead), 4) + 1) +
			       crypto_aead_authsize(aead);
}

static int espx_bind_state(struct xfrm_state *x,
			   struct netlink_ext_ack *extack)
{
	struct espx_sa *sa;
	int err;

	x->data = NULL;
	sa = espx_sa_bind(x, extack);
	if (IS_ERR_OR_NULL(sa))
		return sa ? PTR_ERR(sa) : -ENOMEM;

	err = espx_cfg_check(x, &sa->cfg, extack);
	if (err)
		goto err_unbind;
	sa->kind = espx_cfg_kind(&sa->cfg);
	err = espx_wesp_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_ctr_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_crypto_init(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_eesp_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_diet_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	sa->ext.seq_max = x->props.flags & XFRM_STATE_ESN ? U64_MAX : U32_MAX;
	espx_set_sizes(x, sa);
	espx_crypto_layout(sa, x->data, espx_aadmax(x, sa));
	return 0;

err_unbind:
	if (sa->rule[0])
		espx_rule_msg(extack, sa->rule, x);
	espx_diet_destroy(x);
	espx_eesp_destroy(x);
	espx_sa_unbind(x);
	return err;
}

static int espx_init_state(struct xfrm_state *x,
			   struct netlink_ext_ack *extack)
{
	int err = espx_bind_state(x, extack);

	/* xfrm_state_migrate() puts a clone whose init_state failed without
	 * marking it dead, and __xfrm_state_destroy() WARNs (6.1, 6.12; e.g. a
	 * MIGRATE with XFRMA_ENCAP of a WESPv2 SA). A clone is the only state
	 * not VOID here (xfrm_state_clone() copies km.state; a new one is
	 * VOID until the core adds it): VALID, or ACQ when the MIGRATE found
	 * a larval state of ALLOCSPI (xfrm_migrate_state_find() does not look
	 * at km.state), which has no algorithm and is always refused. It is
	 * in no table and only its creator, which puts it next, holds it.
	 */
	if (err && x->km.state != XFRM_STATE_VOID)
		x->km.state = XFRM_STATE_DEAD;
	return err;
}

/* Also called by the core after a failed init_state: must be idempotent. */
static void espx_destroy(struct xfrm_state *x)
{
	espx_diet_destroy(x);
	espx_eesp_destroy(x);
	espx_crypto_destroy(x);
	espx_sa_unbind(x);
}

/* ---- output ------------------------------------------------------------ */

/* TFC padding (XFRMA_TFCPAD): pad up to min(tfcpad, path MTU). */
static u32 espx_tfclen(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_dst *dst = (struct xfrm_dst *)skb_dst(skb);
	u32 padto;

	if (!x->tfcpad || !dst->u.dst.xfrm)	/* echo.c: minimum padding */
		return 0;
	padto = min(x->tfcpad, xfrm_state_mtu(x, dst->child_mtu_cached));
	return skb->len < padto ? padto - skb->len : 0;
}

/* RFC 3948: write the UDP header where the ESP header was reserved and
 * return the ESP header's offset from skb->data (after UDP [+ non-IKE]).
 */
static int espx_output_udp(struct xfrm_state *x, struct sk_buff *skb,
			   unsigned int tailen, int *esph_off)
{
	struct xfrm_encap_tmpl *encap = x->encap;
	unsigned int len, max;
	__be16 sport, dport;
	struct udphdr *uh;
	u16 type;

	spin_lock_bh(&x->lock);
	sport = encap->encap_sport;
	dport = encap->encap_dport;
	type = encap->encap_type;
	spin_unlock_bh(&x->lock);

	len = skb->len + tailen - skb_transport_offset(skb);
	max = x->props.family == AF_INET ? IP_MAX_MTU - sizeof(struct iphdr) :
					   U16_MAX;
	if (len > max)
		return -EMSGSIZE;

	uh = udp_hdr(skb);
	uh->source = sport;
	uh->dest = dport;
	uh->len = htons(len);
	uh->check = 0;
	*skb_mac_header(skb) = IPPROTO_UDP;

	*esph_off = skb_transport_offset(skb) + sizeof(*uh);
	if (type == UDP_ENCAP_ESPINUDP_NON_IKE) {
		memset(uh + 1, 0, 2 * sizeof(u32));
		*esph_off += 2 * sizeof(u32);
	}
	return 0;
}

/* The outer protocol and the payload to protect: the extension's step
 * (WESPv2 header room, Diet-ESP IIPC and CTEC), then the RFC 4303 padding
 * of what is left. Return: 0 or -errno (counted by the extension).
 */
static int espx_output_pad(struct xfrm_state *x, struct espx_sa *sa,
			   struct sk_buff *skb, struct espx_pkt *p,
			   struct espx_tail *t)
{
	switch (sa->kind) {
	case ESPX_KIND_DIET:
		return espx_diet_out_pad(sa, skb, p, t);
	case ESPX_KIND_WESP:
	case ESPX_KIND_COUNTERS:
		espx_wesp_out_proto(sa, skb, p);
		break;
	default:
		*skb_mac_header(skb) = IPPROTO_ESP;
		break;
	}
	p->len = skb->len;
	if (espx_esp_pad(p->len, espx_tfclen(x, skb), sa->req.blksize,
			 &t->pad))
		return -EINVAL;
	return 0;
}

/* Append the trailer (tfc | padding | Pad Length | Next Header, or a Diet
 * SA's CTEC trailer) and room for the ICV. In place when the linear skb
 * has the tailroom, else via skb_cow_data().
 * Return: scatterlist entries needed for the whole skb, or -errno.
 */
static int espx_output_trailer(const struct espx_sa *sa, struct sk_buff *skb,
			       const struct espx_tail *t, unsigned int tailen,
			       u8 nexthdr)
{
	u8 *tail;
	int nsg;

	if (!skb_cloned(skb) && tailen <= skb_tailroom(skb)) {
		/* tailroom only in a linear skb, and checked: __skb_put() */
		tail = __skb_put(skb, tailen);
		nsg = 1;
	} else {
		struct sk_buff *trailer;

		nsg = skb_cow_data(skb, tailen, &trailer);
		if (nsg < 0)
			return nsg;
		tail = pskb_put(skb, trailer, tailen);
	}
	if (sa->kind == ESPX_KIND_DIET)
		espx_diet_out_trailer(tail, t, nexthdr);
	else
		espx_esp_fill_trailer(tail, &t->pad, nexthdr);
	return nsg;
}

/* The 64-bit SN: this CPU's counter's (counters.c), the core's, or for a
 * nonce SA the core's moved past every SN sent under its key (seq.h).
 */
static __always_inline int espx_output_seq(struct xfrm_state *x,
					   struct espx_sa *sa,
					   const struct sk_buff *skb,
					   struct espx_pkt *p)
{
	const struct xfrm_skb_cb *cb = XFRM_SKB_CB(skb);

	if (sa->kind == ESPX_KIND_COUNTERS)
		return espx_ctr_next(x, sa, &p->ctr_id, &p->seq, p->len);
	p->seq = cb->seq.output.low + ((u64)cb->seq.output.hi << 32);
	if (sa->kind == ESPX_KIND_PLAIN || !sa->keyseq)
		return 0;
	return espx_keyseq_next(x, sa, sa->keyseq, sa->ext.seq_max, &p->seq);
}

/**
 * espx_output_head - everything but the crypto (esp_output_head())
 * @x: the SA
 * @sa: its espx state
 * @skb: as espx_output() gets it
 * @p: out: the packet's facts for the seal; p->esph is counted from the
 *	outer network header, which skb->data is on return
 *
 * Return: the scatterlist entries the skb needs, or -errno.
 */
static int espx_output_head(struct xfrm_state *x, struct espx_sa *sa,
			    struct sk_buff *skb, struct espx_pkt *p)
{
	unsigned int alen = crypto_aead_authsize(x->data);
	struct ip_esp_hdr *esph;
	struct espx_tail t;
	int esph_off, nsg, err;
	u32 tailen;

	p->wlen = 0;
	p->clear = 0;
	p->ctr_id = 0;
	p->nexthdr = *skb_mac_header(skb);
	err = espx_output_pad(x, sa, skb, p, &t);
	if (err)
		return err;
	tailen = t.pad.tfclen + t.pad.plen + alen;
	p->clen = t.pad.clen;

	esph_off = skb_transport_offset(skb) + p->wlen;
	if (x->encap) {
		err = espx_output_udp(x, skb, tailen, &esph_off);
		if (err)
			return err;
	}
	nsg = espx_output_trailer(sa, skb, &t, tailen, p->nexthdr);
	if (nsg < 0) {
		espx_count(sa, ESPX_STAT_OUT_DROP_NOMEM, 1);
		return nsg;
	}
	err = espx_output_seq(x, sa, skb, p);
	if (err)
		return err;

	esph = (struct ip_esp_hdr *)(skb->data + esph_off);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(lower_32_bits(p->seq));
	/* beet.md §2: Linux leaves the pseudo-header's Reserved octet as is */
	if (p->nexthdr == IPPROTO_BEETPH &&
	    skb_headlen(skb) >= ESPX_BEETPH_FIXED_LEN)
		skb->data[3] = 0;
	if (p->wlen)
		espx_wesp_out_head(sa, (u8 *)esph - p->wlen, p);

	/* from here on offsets are from the outer network header */
	p->esph = esph_off - skb_network_offset(skb);
	__skb_push(skb, -skb_network_offset(skb));	/* within the head */
	return nsg;
}

/* After encryption, sync or async: Diet-ESP's EEC, the UDP checksum
 * (IPv6), stats, errors. Inline: the synchronous case is every packet's.
 */
static __always_inline int espx_output_finish(struct xfrm_state *x,
					      struct espx_sa *sa,
					      struct sk_buff *skb, u32 len,
					      int err)
{
	if (unlikely(err)) {
		espx_count(sa, ESPX_STAT_OUT_DROP_CRYPTO, 1);
		/* like esp4/esp6: a full crypto queue is congestion */
		return err == -ENOSPC ? NET_XMIT_DROP : err;
	}
	if (sa->kind == ESPX_KIND_DIET)
		espx_diet_output_eec(sa, skb);

	/* RFC 3948 over IPv6 needs a real UDP checksum (RFC 8200 §8.1). */
	if (x->encap && x->props.family == AF_INET6) {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);
		struct udphdr *uh = udp_hdr(skb);
		int off = skb_transport_offset(skb);
		__wsum csum = skb_checksum(skb, off, skb->len - off, 0);

		uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
					    ntohs(uh->len), IPPROTO_UDP, csum);
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
	}

	espx_stat_pkt(sa, ESPX_STAT_OUT_PACKETS, ESPX_STAT_OUT_BYTES, len);
	return 0;
}

/* The request header carries the SA: the skb holds x, x outlives its SA. */
static void espx_output_done(struct sk_buff *skb, int err)
{
	struct espx_crypto_hdr *hdr = espx_crypto_req_of(skb);
	struct espx_sa *sa = hdr->sa;
	u32 len = hdr->len;

	espx_crypto_req_free(skb);
	err = espx_output_finish(skb_dst(skb)->xfrm ?: sa->x, sa, skb, len, err);
	if (unlikely(!skb_dst(skb)->xfrm))	/* an ESP Echo packet (echo.c) */
		return espx_echo_output_done(skb, sa, err);
	xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

/* ---- the crypto request, both directions ------------------------------- */

/**
 * espx_aad - the AAD of a packet whose SA has an AAD buffer (codec/)
 * @x: the SA
 * @sa: its espx state
 * @skb: the packet
 * @p: its facts (p->seq, the WESPv2 header and clear octets)
 * @esph: the ESP header's offset from skb->data
 * @aad: the request's AAD buffer, sa->req.aadmax octets
 *
 * ESP: SPI | [SNhi |] SNlo (RFC 4303 §2.2.1), Diet-ESP over the full SPI
 * and SN (§2), WESPv2: header | ESP AAD | clear octets (wespv2.md §5).
 *
 * Return: the AAD length, or -EINVAL.
 */
static int espx_aad(const struct xfrm_state *x, const struct espx_sa *sa,
		    const struct sk_buff *skb, const struct espx_pkt *p,
		    unsigned int esph, u8 *aad)
{
	const struct ip_esp_hdr *h = (void *)(skb->data + esph);
	bool hi = espx_aad_hi(x, sa);

	switch (sa->kind) {
	case ESPX_KIND_WESP:
	case ESPX_KIND_COUNTERS:
		return espx_wesp_skb_aad(skb, esph, p, sa->req.ivlen, hi, aad);
	case ESPX_KIND_DIET:
		return espx_diet_aad(aad, ntohl(h->spi), p->seq, hi);
	default:
		return espx_esp_aad(aad, ntohl(h->spi), hi,
				    upper_32_bits(p->seq), lower_32_bits(p->seq));
	}
}

/* sg_init_table() for a linear packet: a memset of a constant size, a few
 * stores, instead of a call that clears a variable length.
 */
static __always_inline void espx_sg_init(struct scatterlist *sg,
					 unsigned int n)
{
	if (IS_ENABLED(CONFIG_DEBUG_SG) || n > 2) {
		sg_init_table(sg, n);
		return;
	}
	if (n == 1)
		memset(sg, 0, sizeof(*sg));
	else
		memset(sg, 0, 2 * sizeof(*sg));
	sg_init_marker(sg, n);
}

/* r->sg = [the AAD buffer, @aadlen octets, if any] + @len octets of @skb
 * from @off. Return: as skb_to_sgvec().
 */
static __always_inline int espx_sg(struct espx_crypto_req *r, int nsg,
				   unsigned int aadlen, struct sk_buff *skb,
				   int off, int len)
{
	struct scatterlist *sg = r->sg;

	espx_sg_init(sg, nsg + !!aadlen);
	if (aadlen)
		sg_set_buf(sg++, r->hdr->aad, aadlen);
	return skb_to_sgvec(skb, sg, off, len);
}

/* Plain ESP: the IV seqiv/echainiv take, the SN right-aligned in zeroes;
 * 8 octets (GCM, CCM, ChaCha20-Poly1305) without a memset call.
 */
static __always_inline void espx_output_iv(u8 *iv, unsigned int ivlen,
					   u64 seq)
{
	__be64 seqno = cpu_to_be64(seq);
	unsigned int n;

	if (likely(ivlen == sizeof(seqno))) {
		memcpy(iv, &seqno, sizeof(seqno));
		return;
	}
	n = min_t(u32, ivlen, sizeof(seqno));
	memset(iv, 0, ivlen);
	memcpy(iv + ivlen - n, (u8 *)&seqno + sizeof(seqno) - n, n);
}

/* A nonce SA's nonce = salt | IV, IV = be64(SN) or, on a counter SA,
 * be16(id) | be48(seq): unique per key (wespv2.md §5, multi-counters.md
 * §3, seq.h). Sent after the ESP header at @esph unless implicit
 * (RFC 8750, Diet-ESP iiv).
 */
static void espx_output_nonce(const struct espx_sa *sa,
			      const struct espx_pkt *p,
			      struct ip_esp_hdr *esph, u8 *nonce)
{
	u8 iv[ESPX_NONCE_IVLEN];

	if (sa->kind == ESPX_KIND_COUNTERS)
		/* cannot fail: espx_ctr_next() handed out a valid seq */
		espx_wesp_iv_counter(iv, p->ctr_id, p->seq);
	else
		espx_esp_iv_seq(iv, p->seq);
	if (sa->req.ivlen)
		memcpy(esph->enc_data, iv, sizeof(iv));
	espx_esp_nonce(nonce, sa->ext.salt, iv);
}

/**
 * espx_output_seal - the AEAD request of a packet head() built
 * @x: the SA
 * @sa: its espx state
 * @skb: skb->data is the outer network header
 * @p: from espx_output_head()
 * @nsg: scatterlist entries of the skb
 *
 * The scatterlist starts at the ESP header when the AAD is in place, else
 * it is the AAD buffer and the crypt area, from the IV (plain) or after it
 * and the clear octets (nonce SA).
 *
 * Return: 0, -EINPROGRESS (espx_output_done() follows), NET_XMIT_DROP (the
 * crypto queue was full, as esp4/esp6 say it) or -errno.
 */
static int espx_output_seal(struct xfrm_state *x, struct espx_sa *sa,
			    struct sk_buff *skb, const struct espx_pkt *p,
			    int nsg)
{
	struct crypto_aead *aead = x->data;
	unsigned int alen = crypto_aead_authsize(aead);
	unsigned int ivlen = sa->req.ivlen, end;
	bool inplace = espx_crypto_aad_inplace(sa);
	struct espx_crypto_req r;
	int aadlen = 0, off, err;

	/* one scatterlist entry less to walk when the AAD is in place */
	err = espx_crypto_req_alloc(sa, aead, nsg + !inplace, &r);
	if (unlikely(err)) {
		espx_count(sa, ESPX_STAT_OUT_DROP_NOMEM, 1);
		return err;
	}
	r.hdr->len = p->len;
	r.hdr->sa = sa;

	off = p->esph;
	end = p->esph + ESPX_ESP_HDR_LEN + ivlen + p->clen + alen;
	if (inplace) {
		aead_request_set_ad(r.req, ESPX_ESP_HDR_LEN);
	} else {
		aadlen = espx_aad(x, sa, skb, p, p->esph, (u8 *)r.hdr->aad);
		if (unlikely(aadlen < 0)) {
			err = aadlen;
			goto free;
		}
		aead_request_set_ad(r.req, aadlen);
		off += ESPX_ESP_HDR_LEN;
		if (espx_sa_nonce(sa))
			off += ivlen + p->clear;
	}
	err = espx_sg(&r, nsg, aadlen, skb, off, end - off);
	if (unlikely(err < 0))
		goto free;

	if (espx_sa_nonce(sa)) {
		espx_output_nonce(sa, p, (void *)(skb->data + p->esph), r.iv);
		aead_request_set_crypt(r.req, r.sg, r.sg, p->clen - p->clear,
				       r.iv);
	} else {
		espx_output_iv(r.iv, ivlen, p->seq);
		aead_request_set_crypt(r.req, r.sg, r.sg, ivlen + p->clen,
				       r.iv);
	}

	err = espx_crypto_run(&r, skb, true, espx_output_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_output_finish(x, sa, skb, p->len, err);

free:
	kfree(r.hdr);
	return err;
}

/* On entry (xfrm_output_one, after the mode's output): skb->data is the
 * payload to protect, the transport header is where the ESP (or UDP, or
 * WESPv2) header goes, x->props.header_len octets before the payload, and
 * *skb_mac_header is the protocol field of the outer header that must
 * become ESP/UDP/WESPv2/diet_proto.
 */
static int espx_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct espx_sa *sa = espx_sa_of(x);
	struct espx_pkt p;
	int nsg;

	if (unlikely(!sa))
		return -EINVAL;
	if (sa->kind == ESPX_KIND_EESP)		/* its own layout: eesp.c */
		return espx_eesp_output(x, sa, skb);
	nsg = espx_output_head(x, sa, skb, &p);
	if (nsg < 0)
		return nsg;
	return espx_output_seal(x, sa, skb, &p, nsg);
}

/* ---- input ------------------------------------------------------------- */

/* beet.md §3, §4, §7 receiver checks, before the core rebuilds the inner
 * header: a valid pseudo-header (stricter than Linux), no pseudo-header on
 * an IPv6-inner SA, no empty payload, no IPv4 packet over 64 KiB.
 */
static int espx_input_beet(struct xfrm_state *x, struct sk_buff *skb,
			   unsigned int off, u8 nexthdr)
{
	unsigned int len = skb->len - off;
	u8 buf[ESPX_BEETPH_FIXED_LEN];
	struct espx_beetph ph = { };

	if (!len)
		return -EINVAL;
	if (nexthdr == IPPROTO_BEETPH) {
		if (x->sel.family != AF_INET)
			return -EINVAL;
		if (skb_copy_bits(skb, off, buf, min_t(unsigned int, len,
						       sizeof(buf))))
			return -EINVAL;
		if (espx_beetph_parse(buf, len, &ph))
			return -EINVAL;
	}
	if (x->sel.family == AF_INET &&
	    len - ph.phlen + sizeof(struct iphdr) > IP_MAX_MTU)
		return -EINVAL;
	return 0;
}

/* NAT-T (RFC 3948): tell the key manager when the peer's address or port
 * changed; in transport mode the inner checksums cannot be verified.
 */
static void espx_input_natt(struct xfrm_state *x, struct sk_buff *skb,
			    const xfrm_address_t *saddr, __be16 sport)
{
	struct xfrm_encap_tmpl *encap = x->encap;

	if (!xfrm_addr_equal(saddr, &x->props.saddr, x->props.family) ||
	    sport != encap->encap_sport)
		km_new_mapping(x, (xfrm_address_t *)saddr, sport);

	if (x->props.mode == XFRM_MODE_TRANSPORT)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
}

/* Drop ESP header + IV; leave the headers as the core's mode input wants. */
static __always_inline int espx_input_headers4(struct xfrm_state *x,
					       struct sk_buff *skb,
					       unsigned int hlen)
{
	const struct iphdr *iph = ip_hdr(skb);
	int ihl = iph->ihl * 4;

	if (x->encap) {
		/* the UDP header is still in front of ESP: RFC 3948 rcv */
		const struct udphdr *uh = (void *)(skb_network_header(skb) + ihl);
		xfrm_address_t saddr = { .a4 = iph->saddr };

		espx_input_natt(x, skb, &saddr, uh->source);
	}

	skb_pull_rcsum(skb, hlen);
	if (x->props.mode == XFRM_MODE_TUNNEL)
		skb_reset_transport_header(skb);
	else
		skb_set_transport_header(skb, -ihl);
	return 0;
}

/* @wlen: the WESPv2 header between the IPv6 headers and ESP (wesp.c set
 * the transport header to ESP): the core's transport input moves only the
 * IPv6 headers up to the payload.
 */
static __always_inline int espx_input_headers6(struct xfrm_state *x,
					       struct sk_buff *skb,
					       unsigned int hlen,
					       unsigned int wlen)
{
	int hdr_len = skb_network_header_len(skb) - wlen;

	if (x->encap) {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		int off = skb_network_offset(skb) + sizeof(*ip6h);
		u8 nexthdr = ip6h->nexthdr;
		const struct udphdr *uh;
		xfrm_address_t saddr;
		__be16 frag_off;

		off = ipv6_skip_exthdr(skb, off, &nexthdr, &frag_off);
		if (off == -1)
			return -EINVAL;
		uh = (void *)(skb->data + off);
		hdr_len += off;
		memcpy(&saddr.in6, &ip6h->saddr, sizeof(saddr.in6));
		espx_input_natt(x, skb, &saddr, uh->source);
	}

	skb_postpull_rcsum(skb, skb_network_header(skb),
			   skb_network_header_len(skb));
	skb_pull_rcsum(skb, hlen);
	if (x->props.mode == XFRM_MODE_TUNNEL)
		skb_reset_transport_header(skb);
	else
		skb_set_transport_header(skb, -hdr_len);
	return 0;
}

/**
 * espx_input_deliver - the last step of an EESP packet's input (eesp.c)
 * @x: the SA
 * @sa: its espx state
 * @skb: checked and trimmed; skb->data is the EESP header
 * @hlen: octets from skb->data to the payload
 * @nh: the payload's protocol
 *
 * BEET checks and the header bookkeeping for the core's mode input, as for
 * an ESP packet. Return: @nh or -errno.
 */
int espx_input_deliver(struct xfrm_state *x, struct espx_sa *sa,
		       struct sk_buff *skb, unsigned int hlen, u8 nh)
{
	int err;

	if (x->props.mode == XFRM_MODE_BEET &&
	    espx_input_beet(x, skb, hlen, nh)) {
		espx_count(sa, ESPX_STAT_IN_DROP_BEETPH, 1);
		return -EINVAL;
	}
	if (x->props.family == AF_INET)
		err = espx_input_headers4(x, skb, hlen);
	else
		err = espx_input_headers6(x, skb, hlen, 0);
	if (err)
		return err;
	espx_stat_pkt(sa, ESPX_STAT_IN_PACKETS, ESPX_STAT_IN_BYTES, skb->len);
	return nh;
}

/* The trailer: Pad Length checked (ESP like Linux: at least one payload
 * octet must be left, esp-baseline.md §5; a WESPv2 clear window by its
 * own rules, §7 step 9), then trimmed with the ICV.
 * Return: Next Header or -errno (counted).
 */
static __always_inline int espx_input_trailer(struct espx_sa *sa,
					      struct sk_buff *skb,
					      const struct espx_pkt *p,
					      unsigned int hlen,
					      unsigned int alen)
{
	u8 buf[ESPX_ESP_TRAILER_MIN];
	const u8 *tr = espx_pkt_trailer(skb, alen, buf);
	int len;

	if (unlikely(!tr))
		return -EINVAL;
	if (p->clear) {
		len = espx_wesp_in_trailer(sa, p, skb->len - hlen - alen, tr);
		if (len < 0)
			return len;
	} else {
		len = espx_esp_trailer_check(skb->len - hlen, alen, tr[0]);
		if (len < 0) {
			espx_count(sa, ESPX_STAT_IN_DROP_PADDING, 1);
			return -EINVAL;
		}
		len = skb->len - hlen - len;
	}
	if (unlikely(pskb_trim(skb, hlen + len))) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return -ENOMEM;
	}
	return tr[1];
}

/* The trailer step of the SA's kind; *@hlen becomes where the payload
 * starts (Diet-ESP's IIPC^-1 may move it). Return: Next Header or -errno.
 */
static __always_inline int espx_input_tail(struct xfrm_state *x,
					   struct espx_sa *sa,
					   struct sk_buff *skb,
					   const struct espx_pkt *p,
					   unsigned int *hlen,
					   unsigned int alen)
{
	if (sa->kind == ESPX_KIND_DIET)
		return espx_diet_input_finish(x, sa, skb, *hlen, alen, hlen);
	return espx_input_trailer(sa, skb, p, *hlen, alen);
}

/**
 * espx_input_open - after decryption, sync or async (esp_input_done2())
 * @x: the SA
 * @sa: its espx state (NULL: dropped)
 * @skb: decrypted in place
 * @p: from espx_input_prepare()
 * @err: the AEAD's verdict
 *
 * Inline: the synchronous case is every packet's.
 *
 * Return: Next Header for the core's mode input, or -errno.
 */
static __always_inline int espx_input_open(struct xfrm_state *x,
					   struct espx_sa *sa,
					   struct sk_buff *skb,
					   const struct espx_pkt *p, int err)
{
	unsigned int alen = crypto_aead_authsize(x->data);
	unsigned int hlen;
	int nh;

	if (unlikely(err)) {
		/* anything but a bad ICV is the transform's: a full queue */
		espx_count(sa, err == -EBADMSG ? ESPX_STAT_IN_DROP_ICV :
			   ESPX_STAT_IN_DROP_CRYPTO, 1);
		return err;
	}
	if (unlikely(!sa))
		return -EINVAL;
	hlen = ESPX_ESP_HDR_LEN + sa->req.ivlen;
	nh = espx_input_tail(x, sa, skb, p, &hlen, alen);
	if (nh < 0)
		return nh;
	if (nh == ESPX_IPPROTO_AGGFRAG)	/* ESP Echo: consumed or dropped */
		return espx_echo_input(x, sa, skb, hlen, p);

	/* RFC 4303 §2.6: a dummy packet is dropped silently */
	if (nh == IPPROTO_NONE)
		return -EINVAL;

	if (x->props.mode == XFRM_MODE_BEET &&
	    espx_input_beet(x, skb, hlen, nh)) {
		espx_count(sa, ESPX_STAT_IN_DROP_BEETPH, 1);
		return -EINVAL;
	}

	if (x->props.family == AF_INET)
		err = espx_input_headers4(x, skb, hlen);
	else
		err = espx_input_headers6(x, skb, hlen, p->wlen);
	if (err)
		return err;

	/* authenticated and well-formed: now it may move its window */
	if (sa->kind == ESPX_KIND_COUNTERS) {
		err = espx_ctr_input_accept(sa, p->ctr_id, p->seq, skb->len);
		if (err)
			return err;
	}

	espx_stat_pkt(sa, ESPX_STAT_IN_PACKETS, ESPX_STAT_IN_BYTES, skb->len);
	return nh;
}

static void espx_input_done(struct sk_buff *skb, int err)
{
	struct espx_crypto_hdr *hdr = espx_crypto_req_of(skb);

	err = espx_input_open(xfrm_input_state(skb), hdr->sa, skb, &hdr->pkt,
			      err);
	if (err == -EINPROGRESS) {	/* ESP Echo consumed the skb */
		kfree(hdr);
		return;
	}
	espx_crypto_req_free(skb);
	xfrm_input_resume(skb, err);
}

/* The protocol the packet came with against the SA's kind, and the
 * extension's header: a plain SA and a packet that came as protocol 50
 * or in UDP skip the call (the common case). Return: 0 or -errno
 * (counted).
 */
static __always_inline int espx_input_proto(struct xfrm_state *x,
					    struct espx_sa *sa,
					    struct sk_buff *skb,
					    struct espx_pkt *p)
{
	switch (sa->kind) {
	case ESPX_KIND_DIET:
		return espx_diet_input_proto(sa, skb);
	case ESPX_KIND_PLAIN:
		if (x->encap)
			return 0;
		if (ip_hdr(skb)->version == 4 ?
		    ip_hdr(skb)->protocol == IPPROTO_ESP :
		    skb_network_header(skb)[IP6CB(skb)->nhoff] == IPPROTO_ESP)
			return 0;
		fallthrough;
	default:
		return espx_wesp_in_prepare(x, sa, skb, p);
	}
}

/**
 * espx_input_prepare - the checks before decryption (esp_input())
 * @x: the SA
 * @sa: its espx state
 * @skb: skb->data is the ESP header
 * @p: out: the packet's facts
 *
 * Return: the scatterlist entries the skb needs, or -errno (counted).
 */
static int espx_input_prepare(struct xfrm_state *x, struct espx_sa *sa,
			      struct sk_buff *skb, struct espx_pkt *p)
{
	unsigned int alen = crypto_aead_authsize(x->data);
	unsigned int ivlen = sa->req.ivlen;
	const struct ip_esp_hdr *esph;
	struct sk_buff *trailer;
	int err;

	memset(p, 0, sizeof(*p));
	err = espx_input_proto(x, sa, skb, p);
	if (err)
		return err;
	/* a Diet trailer may be empty: its own step checks it */
	if (skb->len < ESPX_ESP_HDR_LEN + ivlen + p->clear + alen +
		       (sa->kind == ESPX_KIND_DIET ? 0 : ESPX_ESP_TRAILER_MIN)) {
		espx_count(sa, ESPX_STAT_IN_DROP_TRUNCATED, 1);
		return -EINVAL;
	}
	if (!pskb_may_pull(skb, ESPX_ESP_HDR_LEN + ivlen)) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return -ENOMEM;
	}
	esph = (const struct ip_esp_hdr *)skb->data;
	/* for the AAD buffer and the implicit IV: none in place */
	if (!espx_crypto_aad_inplace(sa))
		p->seq = (u64)ntohl(XFRM_SKB_CB(skb)->seq.input.hi) << 32 |
			 ntohl(esph->seq_no);
	if (sa->kind == ESPX_KIND_COUNTERS) {
		/* seq from the counter's window; IV and replay pre-check */
		err = espx_ctr_input_check(sa, p->ctr_id, esph->seq_no,
					   esph->enc_data, &p->seq);
		if (err)
			return err;
	}

	/* decrypt in place: unshare only what must be unshared */
	if (!skb_cloned(skb) && !skb_is_nonlinear(skb))
		return 1;
	if (!skb_cloned(skb) && !skb_has_frag_list(skb) &&
	    !skb_has_shared_frag(skb))
		return skb_shinfo(skb)->nr_frags + 1;
	err = skb_cow_data(skb, 0, &trailer);
	if (err < 0)
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
	return err;
}

/* A nonce SA's nonce = salt | IV: the IV after the ESP header, or the
 * implicit one, be64(SN) with SNhi as the core inferred it (RFC 8750).
 */
static void espx_input_nonce(const struct espx_sa *sa,
			     const struct espx_pkt *p,
			     const struct ip_esp_hdr *esph, u8 *nonce)
{
	u8 iv[ESPX_NONCE_IVLEN];

	if (sa->req.ivlen) {
		espx_esp_nonce(nonce, sa->ext.salt, esph->enc_data);
		return;
	}
	espx_esp_iv_seq(iv, p->seq);
	espx_esp_nonce(nonce, sa->ext.salt, iv);
}

/**
 * espx_input_decrypt - the AEAD request of a prepared packet
 * @x: the SA
 * @sa: its espx state
 * @skb: skb->data is the ESP header
 * @p: from espx_input_prepare()
 * @nsg: scatterlist entries of the skb
 *
 * The crypt area starts at the IV; the scatterlist at the ESP header when
 * the AAD is in place, else at the crypt area (plain ESP: seqiv/echainiv
 * read the IV) or after IV and clear octets (nonce SA).
 *
 * Return: as espx_input_open(), or -EINPROGRESS.
 */
static int espx_input_decrypt(struct xfrm_state *x, struct espx_sa *sa,
			      struct sk_buff *skb, const struct espx_pkt *p,
			      int nsg)
{
	struct crypto_aead *aead = x->data;
	bool inplace = espx_crypto_aad_inplace(sa);
	unsigned int off = ESPX_ESP_HDR_LEN, sgoff = 0;
	const struct ip_esp_hdr *esph;
	struct espx_crypto_req r;
	int aadlen = 0, err;

	err = espx_crypto_req_alloc(sa, aead, nsg + !inplace, &r);
	if (unlikely(err)) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return err;
	}
	r.hdr->pkt = *p;
	r.hdr->sa = sa;

	/* the pulls above may have moved the head: find the header again */
	esph = (const struct ip_esp_hdr *)skb->data;
	if (inplace) {
		aead_request_set_ad(r.req, ESPX_ESP_HDR_LEN);
	} else {
		aadlen = espx_aad(x, sa, skb, p, 0, (u8 *)r.hdr->aad);
		if (unlikely(aadlen < 0)) {
			err = aadlen;
			goto free;
		}
		aead_request_set_ad(r.req, aadlen);
		if (espx_sa_nonce(sa))
			off += sa->req.ivlen + p->clear;
		sgoff = off;
	}
	err = espx_sg(&r, nsg, aadlen, skb, sgoff, skb->len - sgoff);
	if (unlikely(err < 0))
		goto free;
	if (espx_sa_nonce(sa))
		espx_input_nonce(sa, p, esph, r.iv);
	skb->ip_summed = CHECKSUM_NONE;
	aead_request_set_crypt(r.req, r.sg, r.sg, skb->len - off, r.iv);

	err = espx_crypto_run(&r, skb, false, espx_input_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_input_open(x, sa, skb, p, err);

free:
	kfree(r.hdr);
	return err;
}

/* On entry (xfrm_input): skb->data is the ESP header, the network header is
 * the outer IP header, XFRM_SKB_CB(skb)->seq.input holds SNlo and the SNhi
 * the core inferred from the replay window. A WESPv2 packet's header sits
 * just before skb->data (wesp.c).
 */
static int espx_input(struct xfrm_state *x, struct sk_buff *skb)
{
	struct espx_sa *sa = espx_sa_of(x);
	struct espx_pkt p;
	int nsg;

	if (unlikely(!sa))
		return -EINVAL;
	if (sa->kind == ESPX_KIND_EESP)		/* its own layout: eesp.c */
		return espx_eesp_input(x, sa, skb);
	nsg = espx_input_prepare(x, sa, skb, &p);
	if (nsg < 0)
		return nsg;
	return espx_input_decrypt(x, sa, skb, &p, nsg);
}

const struct xfrm_type espx_type_ipv4 = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espx_init_state,
	.destructor	= espx_destroy,
	.input		= espx_input,
	.output		= espx_output,
};

const struct xfrm_type espx_type_ipv6 = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espx_init_state,
	.destructor	= espx_destroy,
	.input		= espx_input,
	.output		= espx_output,
};
