// SPDX-License-Identifier: GPL-2.0
/* espx ESP data path: the xfrm_type ops shared by IPv4 and IPv6.
 *
 * Wire-identical to esp4/esp6 (RFC 4303, RFC 3948 UDP encapsulation, BEET).
 * The xfrm core has already added (output) or will remove (input) the outer
 * header of the SA's mode; these ops only build and check ESP itself:
 *
 *   output: trailer + padding, ESP header, [UDP header], AEAD seal
 *   input:  length check, AEAD open, trailer check and trim, BEET checks,
 *           NAT-T mapping, header bookkeeping for the core's mode input
 *
 * One output and one input path; the family-specific parts are the header
 * sizes, the UDP checksum (IPv6 only) and the header offsets on input.
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
#include "proto.h"
#include "seq.h"
#include "echo.h"
#include "codec/esp_codec.c"

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
	return (x->props.flags & XFRM_STATE_ESN) || sa->ctrs;
}

/* Plain ESP without ESN: the AAD (SPI | SN) is the ESP header in the
 * packet, as in esp4/esp6. A nonce SA's transform takes the AAD and then
 * the text, without the IV between them: its AAD has a buffer.
 */
static bool espx_aad_inplace(const struct xfrm_state *x,
			     const struct espx_sa *sa)
{
	return !sa->ext.nonce && !espx_aad_hi(x, sa);
}

/* The AAD buffer of a packet's request: none when the AAD is the ESP header
 * in the packet (@inplace), else room for the ESP or the WESPv2 AAD.
 */
static unsigned int espx_aadmax(bool inplace, unsigned int wlen)
{
	return inplace ? 0 : wlen ? ESPX_WESP_AAD_MAX : ESPX_AAD_ESP_MAX;
}

/* Header and trailer room, exactly as esp4/esp6 reserve it (MTU/PMTU),
 * plus the WESPv2 header of a WESPv2 SA.
 */
static void espx_set_sizes(struct xfrm_state *x, const struct espx_sa *sa)
{
	struct crypto_aead *aead = x->data;
	bool outer6 = x->props.family == AF_INET6;
	unsigned int len;

	len = sa->ext.wesp_len + ESPX_ESP_HDR_LEN + espx_ivlen(sa, aead);
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
	x->props.trailer_len = ALIGN(crypto_aead_blocksize(aead), 4) + 1 +
			       crypto_aead_authsize(aead);
}

static int espx_init_state(struct xfrm_state *x,
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
	err = espx_wesp_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_ctr_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_crypto_init(x, sa, extack);
	if (err)
		goto err_unbind;
	err = espx_diet_init_state(x, sa, extack);
	if (err)
		goto err_unbind;
	sa->ext.seq_max = x->props.flags & XFRM_STATE_ESN ? U64_MAX : U32_MAX;
	espx_set_sizes(x, sa);
	espx_crypto_layout(sa, x->data,
			   espx_aadmax(espx_aad_inplace(x, sa),
				       sa->ext.wesp_len));
	return 0;

err_unbind:
	espx_diet_destroy(x);
	espx_sa_unbind(x);
	return err;
}

/* Also called by the core after a failed init_state: must be idempotent. */
static void espx_destroy(struct xfrm_state *x)
{
	espx_diet_destroy(x);
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

/* Append the trailer (tfc | padding | Pad Length | Next Header, or a Diet
 * SA's CTEC trailer, @t) and room for the ICV. In place when the linear
 * skb has the tailroom, else via skb_cow_data().
 * Return: scatterlist entries needed for the whole skb, or -errno.
 */
static int espx_output_trailer(struct sk_buff *skb,
			       const struct espx_esp_pad *pad,
			       const struct espx_diet_ctec *t,
			       unsigned int tailen, u8 nexthdr)
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
	if (t)
		espx_diet_ctec_build(tail, t, nexthdr);
	else
		espx_esp_fill_trailer(tail, pad, nexthdr);
	return nsg;
}

/* After encryption, sync or async: UDP checksum (IPv6), stats, errors.
 * Inline: the synchronous case is every packet's.
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
	if (sa->diet)
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

/* AAD = [WESPv2 header |] SPI | [SNhi |] SNlo [| clear octets]
 * (RFC 4303 §2.2.1 for ESP, wespv2.md §5 for WESPv2), in its own buffer:
 * the octets are not contiguous on the wire. @clear_off is where the clear
 * octets start, counted from skb->data. Return: the AAD length, or -errno.
 */
static int espx_build_aad(u8 *aad, const u8 *wh, unsigned int wlen,
			  const struct ip_esp_hdr *esph, bool hi, __be32 snhi,
			  const struct sk_buff *skb, int clear_off,
			  unsigned int clear)
{
	unsigned int n = 0;

	memcpy(aad, wh, wlen);
	n += wlen;
	memcpy(aad + n, &esph->spi, sizeof(esph->spi));
	n += sizeof(esph->spi);
	if (hi) {
		memcpy(aad + n, &snhi, sizeof(snhi));
		n += sizeof(snhi);
	}
	memcpy(aad + n, &esph->seq_no, sizeof(esph->seq_no));
	n += sizeof(esph->seq_no);
	if (clear && skb_copy_bits(skb, clear_off, aad + n, clear))
		return -EINVAL;
	return n + clear;
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

/* On entry (xfrm_output_one, after the mode's output): skb->data is the
 * payload to protect, the transport header is where the ESP (or UDP, or
 * WESPv2) header goes, x->props.header_len octets before the payload, and
 * *skb_mac_header is the protocol field of the outer header that must
 * become ESP/UDP/WESPv2.
 */
static int espx_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct crypto_aead *aead = x->data;
	unsigned int alen = crypto_aead_authsize(aead);
	struct xfrm_skb_cb *cb = XFRM_SKB_CB(skb);
	struct espx_sa *sa = espx_sa_of(x);
	unsigned int ivlen, wlen, aadlen, clear = 0;
	u32 len = skb->len, tailen, n;
	bool inplace;
	int off;
	struct espx_diet_ctec ctec, *t = NULL;
	struct espx_crypto_req r;
	struct ip_esp_hdr *esph;
	struct espx_esp_pad pad;
	int esph_off, nsg, err;
	u8 iv8[ESPX_NONCE_IVLEN];
	u16 ctr_id = 0;
	__be64 seqno;
	u8 nexthdr;
	u64 seq;

	if (unlikely(!sa))
		return -EINVAL;
	ivlen = sa->req.ivlen;
	wlen = sa->ext.wesp_len;

	nexthdr = *skb_mac_header(skb);
	*skb_mac_header(skb) = wlen ? ESPX_IPPROTO_WESP :
			       sa->diet ? espx_diet_out_proto(sa) : IPPROTO_ESP;

	if (sa->diet) {
		/* IIPC, then the CTEC trailer of what is left */
		err = espx_diet_output_iipc(sa, skb, nexthdr);
		if (err)
			return err;
		len = skb->len;
		t = &ctec;
		if (espx_diet_output_pad(sa, len, nexthdr, &pad, t))
			return -EINVAL;
	} else if (espx_esp_pad(len, espx_tfclen(x, skb), sa->req.blksize,
				&pad)) {
		return -EINVAL;
	}
	tailen = pad.tfclen + pad.plen + alen;

	esph_off = skb_transport_offset(skb) + wlen;
	if (x->encap) {
		err = espx_output_udp(x, skb, tailen, &esph_off);
		if (err)
			return err;
	}

	nsg = espx_output_trailer(skb, &pad, t, tailen, nexthdr);
	if (nsg < 0) {
		espx_count(sa, ESPX_STAT_OUT_DROP_NOMEM, 1);
		return nsg;
	}

	/* the 64-bit SN: this CPU's counter's (counters.c), or the core's,
	 * moved past every SN sent under the key of a nonce SA (seq.h)
	 */
	if (sa->ctrs) {
		err = espx_ctr_next(x, sa, &ctr_id, &seq, len);
		if (err)
			return err;
	} else {
		seq = cb->seq.output.low + ((u64)cb->seq.output.hi << 32);
		if (sa->keyseq) {
			err = espx_keyseq_next(x, sa, sa->keyseq,
					       sa->ext.seq_max, &seq);
			if (err)
				return err;
		}
	}

	esph = (struct ip_esp_hdr *)(skb->data + esph_off);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(lower_32_bits(seq));

	/* beet.md §2: Linux leaves the pseudo-header's Reserved octet as is */
	if (nexthdr == IPPROTO_BEETPH && skb_headlen(skb) >= ESPX_BEETPH_FIXED_LEN)
		skb->data[3] = 0;

	if (wlen)
		clear = 4 * espx_wesp_output_hdr(sa, (u8 *)esph - wlen, len,
						 nexthdr, ctr_id);

	/* the IV of a nonce SA, the input of seqiv/echainiv */
	seqno = cpu_to_be64(seq);

	/* from here on offsets are from the outer network header */
	esph_off -= skb_network_offset(skb);
	__skb_push(skb, -skb_network_offset(skb));	/* within the head */

	/* one scatterlist entry less to walk when the AAD is in place */
	inplace = espx_crypto_aad_inplace(sa);
	err = espx_crypto_req_alloc(sa, aead, nsg + !inplace, &r);
	if (unlikely(err)) {
		espx_count(sa, ESPX_STAT_OUT_DROP_NOMEM, 1);
		return err;
	}
	r.hdr->len = len;
	r.hdr->sa = sa;

	/* the scatterlist: from the ESP header when the AAD is in place,
	 * else the AAD buffer and the crypt area, from the IV (plain) or
	 * after it (nonce)
	 */
	aadlen = 0;
	off = esph_off;
	if (inplace) {
		aead_request_set_ad(r.req, ESPX_ESP_HDR_LEN);
	} else {
		err = espx_build_aad((u8 *)r.hdr->aad, (u8 *)esph - wlen, wlen,
				     esph, espx_aad_hi(x, sa),
				     htonl(upper_32_bits(seq)), skb,
				     esph_off + ESPX_ESP_HDR_LEN + ivlen, clear);
		if (unlikely(err < 0))
			goto free;
		aadlen = err;
		aead_request_set_ad(r.req, aadlen);
		off += ESPX_ESP_HDR_LEN;
		if (sa->ext.nonce)
			off += ivlen + clear;
	}
	err = espx_sg(&r, nsg, aadlen, skb, off,
		      esph_off + ESPX_ESP_HDR_LEN + ivlen + pad.clen + alen - off);
	if (unlikely(err < 0))
		goto free;

	if (sa->ext.nonce) {
		/* nonce = salt | IV, IV = be64(SN) or, on a counter SA,
		 * be16(id) | be48(seq): unique per key (wespv2.md §5,
		 * multi-counters.md §3)
		 */
		if (sa->ctrs)
			espx_wesp_iv_counter(iv8, ctr_id, seq);
		else
			memcpy(iv8, &seqno, sizeof(seqno));
		/* RFC 8750 (Diet-ESP iiv): the same nonce, nothing sent */
		if (ivlen)
			memcpy(esph->enc_data, iv8, sizeof(iv8));
		memcpy(r.iv, sa->ext.salt, ESPX_SALT_LEN);
		memcpy(r.iv + ESPX_SALT_LEN, iv8, sizeof(iv8));
		aead_request_set_crypt(r.req, r.sg, r.sg, pad.clen - clear,
				       r.iv);
	} else {
		/* the SN right-aligned in a zeroed IV; 8 octets (GCM, CCM,
		 * ChaCha20-Poly1305) without a memset call
		 */
		if (likely(ivlen == sizeof(seqno))) {
			memcpy(r.iv, &seqno, sizeof(seqno));
		} else {
			n = min_t(u32, ivlen, sizeof(seqno));
			memset(r.iv, 0, ivlen);
			memcpy(r.iv + ivlen - n,
			       (u8 *)&seqno + sizeof(seqno) - n, n);
		}
		aead_request_set_crypt(r.req, r.sg, r.sg, ivlen + pad.clen,
				       r.iv);
	}

	err = espx_crypto_run(&r, skb, true, espx_output_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_output_finish(x, sa, skb, len, err);

free:
	kfree(r.hdr);
	return err;
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

/* Pad Length check. ESP: like Linux, at least one payload octet must be
 * left. WESPv2 also: the padding lies in the encrypted part (§7 step 9).
 */
static inline int espx_input_trim(const struct sk_buff *skb,
				  unsigned int hlen, unsigned int clear,
				  unsigned int alen, u8 padlen)
{
	int trim = espx_esp_trailer_check(skb->len - hlen, alen, padlen);

	if (trim >= 0 && clear &&
	    padlen + ESPX_ESP_TRAILER_MIN + alen > skb->len - hlen - clear)
		return -EINVAL;
	return trim;
}

/* The RFC 4303 trailer (and WESPv2's clear-window Next Header): checked
 * and trimmed with the ICV. Return: Next Header or -errno (counted).
 */
static __always_inline int espx_input_trailer(struct espx_sa *sa,
					      struct sk_buff *skb,
					      const struct espx_wesp_in *w,
					      unsigned int hlen,
					      unsigned int alen)
{
	unsigned int clear = 4 * w->crypt_offset;
	u8 buf[ESPX_ESP_TRAILER_MIN];
	const u8 *tr;
	int trim;

	/* in the linear part unless the packet came in fragments */
	tr = skb_header_pointer(skb, skb->len - alen - sizeof(buf), sizeof(buf),
				buf);
	if (unlikely(!tr))
		return -EINVAL;
	trim = espx_input_trim(skb, hlen, clear, alen, tr[0]);
	if (trim < 0) {
		espx_count(sa, ESPX_STAT_IN_DROP_PADDING, 1);
		return -EINVAL;
	}
	/* wespv2.md §7 step 9: a clear window names the payload's protocol */
	if (clear && w->nexthdr != tr[1]) {
		espx_count(sa, ESPX_STAT_IN_DROP_WESP_NEXTHDR, 1);
		return -EINVAL;
	}
	if (unlikely(pskb_trim(skb, skb->len - trim))) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return -ENOMEM;
	}
	return tr[1];
}

/* After decryption, sync or async. Return: Next Header or -errno.
 * Inline: the synchronous case is every packet's.
 */
static __always_inline int espx_input_finish(struct xfrm_state *x,
					     struct espx_sa *sa,
					     struct sk_buff *skb,
					     const struct espx_wesp_in *w,
					     int err)
{
	struct crypto_aead *aead = x->data;
	unsigned int alen = crypto_aead_authsize(aead);
	unsigned int hlen;
	int nh;

	if (unlikely(err)) {
		espx_count(sa, err == -EBADMSG ? ESPX_STAT_IN_DROP_ICV :
			   ESPX_STAT_IN_DROP_NOMEM, 1);
		return err;
	}
	if (unlikely(!sa))
		return -EINVAL;
	hlen = ESPX_ESP_HDR_LEN + sa->req.ivlen;
	/* Diet-ESP: CTEC^-1, IIPC^-1; hlen becomes the rebuilt headers' */
	if (sa->diet)
		nh = espx_diet_input_finish(x, sa, skb, hlen, alen, &hlen);
	else
		nh = espx_input_trailer(sa, skb, w, hlen, alen);
	if (nh < 0)
		return nh;
	if (nh == ESPX_IPPROTO_AGGFRAG)	/* ESP Echo: consumed or dropped */
		return espx_echo_input(x, sa, skb, hlen, w);

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
		err = espx_input_headers6(x, skb, hlen, w->len);
	if (err)
		return err;

	/* authenticated and well-formed: now it may move its window */
	if (sa->ctrs) {
		err = espx_ctr_input_accept(sa, w->ctr_id, w->ctr_seq,
					    skb->len);
		if (err)
			return err;
	}

	espx_stat_pkt(sa, ESPX_STAT_IN_PACKETS, ESPX_STAT_IN_BYTES, skb->len);
	return nh;
}

/* A plain-ESP SA (no WESPv2, no counters) and a packet that came as
 * protocol 50 or in UDP: espx_wesp_input() would accept it with an empty
 * header, so the common case skips the call. Anything else goes through it.
 */
static bool espx_input_plain(const struct xfrm_state *x,
			     const struct espx_sa *sa,
			     const struct sk_buff *skb)
{
	if (sa->ext.wesp_len || sa->ctrs || sa->diet)
		return false;
	if (x->encap)
		return true;
	if (ip_hdr(skb)->version == 4)
		return ip_hdr(skb)->protocol == IPPROTO_ESP;
	return skb_network_header(skb)[IP6CB(skb)->nhoff] == IPPROTO_ESP;
}

static void espx_input_done(struct sk_buff *skb, int err)
{
	struct espx_crypto_hdr *hdr = espx_crypto_req_of(skb);

	err = espx_input_finish(xfrm_input_state(skb), hdr->sa, skb,
				&hdr->wesp, err);
	if (err == -EINPROGRESS) {	/* ESP Echo consumed the skb */
		kfree(hdr);
		return;
	}
	espx_crypto_req_free(skb);
	xfrm_input_resume(skb, err);
}

/* On entry (xfrm_input): skb->data is the ESP header, the network header is
 * the outer IP header, XFRM_SKB_CB(skb)->seq.input holds SNlo and the SNhi
 * the core inferred from the replay window. A WESPv2 packet's header sits
 * just before skb->data (wesp.c).
 */
static int espx_input(struct xfrm_state *x, struct sk_buff *skb)
{
	struct crypto_aead *aead = x->data;
	unsigned int alen = crypto_aead_authsize(aead);
	struct espx_sa *sa = espx_sa_of(x);
	unsigned int ivlen, off, sgoff, aadlen, clear;
	const struct ip_esp_hdr *esph;
	struct espx_crypto_req r;
	struct espx_wesp_in w;
	int nsg, err;
	bool inplace;

	if (unlikely(!sa))
		return -EINVAL;
	if (likely(espx_input_plain(x, sa, skb))) {
		memset(&w, 0, sizeof(w));
	} else if (sa->diet) {
		memset(&w, 0, sizeof(w));
		err = espx_diet_input_proto(sa, skb);
		if (err)
			return err;
	} else {
		err = espx_wesp_input(x, sa, skb, &w);
		if (err)
			return err;
	}
	ivlen = sa->req.ivlen;
	clear = 4 * w.crypt_offset;

	/* a Diet trailer may be empty: its own step checks it */
	if (skb->len < ESPX_ESP_HDR_LEN + ivlen + clear + alen +
		       (sa->diet ? 0 : ESPX_ESP_TRAILER_MIN)) {
		espx_count(sa, ESPX_STAT_IN_DROP_TRUNCATED, 1);
		return -EINVAL;
	}
	if (!pskb_may_pull(skb, ESPX_ESP_HDR_LEN + ivlen)) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return -ENOMEM;
	}
	if (sa->ctrs) {
		/* seq from the counter's window; IV and replay pre-check */
		esph = (const struct ip_esp_hdr *)skb->data;
		err = espx_ctr_input_check(sa, w.ctr_id, esph->seq_no,
					   esph->enc_data, &w.ctr_seq);
		if (err)
			return err;
	}

	/* decrypt in place: unshare only what must be unshared */
	if (!skb_cloned(skb) && !skb_is_nonlinear(skb)) {
		nsg = 1;
	} else if (!skb_cloned(skb) && !skb_has_frag_list(skb) &&
		   !skb_has_shared_frag(skb)) {
		nsg = skb_shinfo(skb)->nr_frags + 1;
	} else {
		struct sk_buff *trailer;

		nsg = skb_cow_data(skb, 0, &trailer);
		if (nsg < 0) {
			espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
			return nsg;
		}
	}

	/* AAD in place for plain ESP without ESN, as on output */
	inplace = espx_crypto_aad_inplace(sa);
	err = espx_crypto_req_alloc(sa, aead, nsg + !inplace, &r);
	if (unlikely(err)) {
		espx_count(sa, ESPX_STAT_IN_DROP_NOMEM, 1);
		return err;
	}
	r.hdr->wesp = w;
	r.hdr->sa = sa;

	/* the pulls above may have moved the head: find the headers again */
	esph = (const struct ip_esp_hdr *)skb->data;
	w.data = skb->data - w.len;
	/* the crypt area starts at the IV; the scatterlist at the ESP
	 * header when the AAD is in place, else at the crypt area
	 */
	aadlen = 0;
	sgoff = 0;
	off = ESPX_ESP_HDR_LEN;
	if (inplace) {
		aead_request_set_ad(r.req, ESPX_ESP_HDR_LEN);
	} else {
		err = espx_build_aad((u8 *)r.hdr->aad, w.data, w.len, esph,
				     espx_aad_hi(x, sa),
				     sa->ctrs ? htonl(upper_32_bits(w.ctr_seq)) :
				     XFRM_SKB_CB(skb)->seq.input.hi, skb,
				     ESPX_ESP_HDR_LEN + ivlen, clear);
		if (unlikely(err < 0))
			goto free;
		aadlen = err;
		aead_request_set_ad(r.req, aadlen);
		/* plain ESP: the IV opens the crypt area (seqiv/echainiv
		 * read it); nonce SA: salt | IV is the request IV and the
		 * area starts after the clear octets
		 */
		if (sa->ext.nonce)
			off += ivlen + clear;
		sgoff = off;
	}
	err = espx_sg(&r, nsg, aadlen, skb, sgoff, skb->len - sgoff);
	if (unlikely(err < 0))
		goto free;
	if (sa->ext.nonce) {
		memcpy(r.iv, sa->ext.salt, ESPX_SALT_LEN);
		if (ivlen) {
			memcpy(r.iv + ESPX_SALT_LEN, esph->enc_data, ivlen);
		} else {
			/* RFC 8750: be64(SN), SNhi as the core inferred it */
			memcpy(r.iv + ESPX_SALT_LEN,
			       &XFRM_SKB_CB(skb)->seq.input.hi, 4);
			memcpy(r.iv + ESPX_SALT_LEN + 4, &esph->seq_no, 4);
		}
	}
	skb->ip_summed = CHECKSUM_NONE;
	aead_request_set_crypt(r.req, r.sg, r.sg, skb->len - off, r.iv);

	err = espx_crypto_run(&r, skb, false, espx_input_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_input_finish(x, sa, skb, &w, err);

free:
	kfree(r.hdr);
	return err;
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
