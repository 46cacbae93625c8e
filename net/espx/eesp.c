// SPDX-License-Identifier: GPL-2.0
/* espx EESP (eesp.md, draft-ietf-ipsecme-eesp-03): IP protocol eesp_proto
 * with its own header, 64-bit SNs on the wire and Sub SAs with their own
 * keys.
 *
 * The xfrm core still sees an ESP SA (proto 50): policies, SA lookup,
 * lifetimes and modes stay the kernel's (§8). espx adds:
 *   init_state  the Sub SAs' keys: the AEAD key field itself without
 *               sub-sas, else HKDF-Expand(root, be16(Session ID), L) per
 *               Sub SA (hmac(sha256/384/512) through the crypto API, the
 *               HMAC messages and lengths from the codec), each derived
 *               once and kept as a keyed transform
 *   output      the whole EESP packet: the codec lays it out and writes
 *               the header octets (base header, options, SN, IV, PIH),
 *               the sending CPU takes Sub SA (CPU mod N) and its next SN
 *               without a lock (counters.c), the AEAD seals AAD = the
 *               packet from the base header to the first encrypted octet
 *   input       the eesp_proto handler checks the base header, finds the
 *               SA by (daddr, SPI) and hands the packet to xfrm_input()
 *               with the SPI; the SA's input step then runs the §6 order
 *               of checks through the codec, the Sub SA's replay
 *               pre-check, the AEAD, the PIH or inner-header checks, and
 *               only then allocates (first packet) and advances the Sub
 *               SA's window (counters.c); PIH Next Header 144 is an ESP
 *               Echo message, consumed by echo.c (which also sends echo
 *               messages through espx_eesp_output(), with a PIH in either
 *               format: README, ESP Echo, Decisions)
 *
 * SN uniqueness (a (key, nonce) pair never repeats): every Sub SA has its
 * own key (derived from its Session ID, or the SA key for the single Sub
 * SA 0) and its own 64-bit SN space, taken with one atomic increment per
 * packet; the nonce is salt | be64(SN) whether the IV is explicit or not.
 * A Sub SA's counter stops at 2^64 - 1 (never wraps, also with two CPUs on
 * it): its next packet is dropped and the SA hard-expires, so no SN is
 * used twice; the first SN at 2^63 raises the soft expire. The send
 * counters belong to the root key (seq.h): every bound state of the key
 * (UPDSA, MIGRATE, a deleted one not yet destroyed) sends on the same ones,
 * and a state made after the key's last one went starts every Sub SA above
 * the highest SN sent under it, so no state restarts the sequences under
 * the same keys. Receive windows stay per state (sa.c).
 *
 * Transforms: the crypto API can neither allocate nor (for gcm(aes)) key a
 * transform in softirq context, so each Sub SA's transform is derived,
 * allocated and keyed at init_state, for Session IDs 0..N-1 only; nothing
 * is derived or allocated per packet, and a Session ID >= N is dropped
 * before any crypto. The receive windows are allocated on a Sub SA's
 * first packet that passed every check (counters.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/scatterlist.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/xfrm.h>
#include <crypto/aead.h>
#include <crypto/hash.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "crypto.h"
#include "counters.h"
#include "diet.h"
#include "proto.h"
#include "seq.h"
#include "pkt.h"
#include "eesp.h"
#include "echo.h"
#include "codec/eesp_codec.h"
#include "codec/wesp_codec.h"

static unsigned int eesp_proto = ESPX_EESP_PROTO_DEFAULT;
module_param(eesp_proto, uint, 0444);
MODULE_PARM_DESC(eesp_proto,
		 "IP protocol of EESP (default 254, RFC 3692 experimental; must differ from diet_proto)");

/* eesp_proto's handlers are registered: EESP SAs need them */
static bool espx_eesp_rx_on;

/* The uapi values are the codec's. */
static_assert(ESPX_EESP_SUB_SAS_MAX == ESPX_EESP_SUBSAS_MAX);
static_assert((int)ESPX_EESP_SSKDF_HKDF_SHA256 == (int)ESPX_EESP_SSKDF_SHA256);
static_assert((int)ESPX_EESP_SSKDF_HKDF_SHA384 == (int)ESPX_EESP_SSKDF_SHA384);
static_assert((int)ESPX_EESP_SSKDF_HKDF_SHA512 == (int)ESPX_EESP_SSKDF_SHA512);
static_assert(ESPX_EESP_WINDOW_MAX <= ESPX_COUNTERS_WINDOW_MAX);

/**
 * struct espx_eesp_sub - one Sub SA's key
 * @aead: its transform; NULL for Sub SA 0, whose transform is x->data
 * @salt: the last 4 octets of its key material
 */
struct espx_eesp_sub {
	struct crypto_aead *aead;
	u8 salt[ESPX_EESP_SALT_LEN];
};

/**
 * struct espx_eesp - an EESP SA's state, read-only after init_state
 * @esa: the SA as the codec sees it
 * @hdr_len: octets from the base header to the payload data
 * @n: Sub SAs
 * @sub: their keys
 */
struct espx_eesp {
	struct espx_eesp_sa esa;
	u32 hdr_len;
	u16 n;
	struct espx_eesp_sub sub[];
};

/* codec verdict -> per-SA statistic */
static enum espx_stat espx_eesp_stat(int res)
{
	switch (res) {
	case ESPX_EESP_DROP_HEADER:
		return ESPX_STAT_IN_DROP_EESP_HEADER;
	case ESPX_EESP_DROP_VERSION:
		return ESPX_STAT_IN_DROP_EESP_VERSION;
	case ESPX_EESP_DROP_OPTION:
		return ESPX_STAT_IN_DROP_EESP_OPTION;
	case ESPX_EESP_DROP_CRYPT_OFFSET:
		return ESPX_STAT_IN_DROP_EESP_CRYPT_OFFSET;
	case ESPX_EESP_DROP_SUBSA:
		return ESPX_STAT_IN_DROP_EESP_SUBSA;
	case ESPX_EESP_DROP_REPLAY:
		return ESPX_STAT_IN_DROP_EESP_REPLAY;
	case ESPX_EESP_DROP_PIH:
		return ESPX_STAT_IN_DROP_EESP_PIH;
	case ESPX_EESP_DROP_INNER:
		return ESPX_STAT_IN_DROP_EESP_INNER;
	default:
		return ESPX_STAT_IN_DROP_EESP_TRUNCATED;
	}
}

/* ---- init_state -------------------------------------------------------- */

static const char * const espx_eesp_hmac[] = {
	[ESPX_EESP_SSKDF_SHA256] = "hmac(sha256)",
	[ESPX_EESP_SSKDF_SHA384] = "hmac(sha384)",
	[ESPX_EESP_SSKDF_SHA512] = "hmac(sha512)",
};

/**
 * espx_eesp_sskdf - KEYMAT_sub = HKDF-Expand(root, be16(@sid), @len) (§6)
 * @h: hmac(sha*) keyed with the root key
 * @hlen: its digest size
 * @sid: the Session ID
 * @out: @len octets of key material (key | salt)
 * @len: L, at most ESPX_EESP_KEYMAT_MAX
 *
 * Return: 0 or -errno.
 */
static int espx_eesp_sskdf(struct crypto_shash *h, u32 hlen, u16 sid,
			   u8 *out, u32 len)
{
	u8 t[ESPX_EESP_HASH_MAX], msg[ESPX_EESP_HKDF_MSG_MAX];
	u32 done = 0, prevlen = 0, block, n;
	int err = 0, mlen;

	for (block = 1; done < len; block++) {
		mlen = espx_eesp_hkdf_msg(msg, sizeof(msg), prevlen ? t : NULL,
					  prevlen, sid, block);
		if (mlen < 0) {
			err = -EINVAL;
			break;
		}
		err = crypto_shash_tfm_digest(h, msg, mlen, t);
		if (err)
			break;
		prevlen = hlen;
		n = min(hlen, len - done);
		memcpy(out + done, t, n);
		done += n;
	}
	memzero_explicit(t, sizeof(t));
	memzero_explicit(msg, sizeof(msg));
	return err;
}

/* Sub SA keys 0..N-1 from the root key; Sub SA 0's transform is x->data. */
static int espx_eesp_derive(struct xfrm_state *x, struct espx_sa *sa,
			    struct espx_eesp *e,
			    struct netlink_ext_ack *extack)
{
	const struct espx_eesp_conf *c = &sa->cfg.ecfg;
	bool chacha = strstr(x->aead->alg_name, "chacha20");
	u8 km[ESPX_EESP_KEYMAT_MAX];
	struct crypto_aead *aead;
	struct crypto_shash *h;
	u32 root, hlen, klen;
	int err, l;
	u16 i;

	l = espx_eesp_keymat_len(chacha, c->key_bits ?: (chacha ? 256 : 128));
	if (l < 0 || espx_eesp_sskdf_lens(c->sskdf, &root, &hlen))
		return -EINVAL;		/* espx_cfg_check() said why */
	klen = l - ESPX_EESP_SALT_LEN;
	h = crypto_alloc_shash(espx_eesp_hmac[c->sskdf], 0, 0);
	if (IS_ERR(h)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the sskdf HMAC is not available in this kernel");
		return PTR_ERR(h);
	}
	err = crypto_shash_setkey(h, x->aead->alg_key, root);
	for (i = 0; !err && i < e->n; i++) {
		err = espx_eesp_sskdf(h, hlen, i, km, l);
		if (err)
			break;
		memcpy(e->sub[i].salt, km + klen, ESPX_EESP_SALT_LEN);
		aead = espx_crypto_alloc_keyed(x, km, klen, extack);
		if (IS_ERR(aead)) {
			err = PTR_ERR(aead);
			break;
		}
		if (!i) {
			x->data = aead;
			continue;
		}
		e->sub[i].aead = aead;
		/* one request layout (sa->req, from x->data) serves all */
		if (crypto_aead_reqsize(aead) !=
		    crypto_aead_reqsize(x->data) ||
		    crypto_aead_alignmask(aead) !=
		    crypto_aead_alignmask(x->data)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "the Sub SAs' AEAD implementations differ");
			err = -EINVAL;
		}
	}
	memzero_explicit(km, sizeof(km));
	crypto_free_shash(h);
	if (err && extack && !extack->_msg)
		NL_SET_ERR_MSG_MOD(extack, "cannot derive the Sub SA keys");
	return err;
}

/**
 * espx_eesp_init_state - the Sub SAs of an EESP SA
 * @x: the state being built (config checked; without sub-sas x->data is
 *	keyed with the SA key, sa->ext.salt set)
 * @sa: its espx state (sa->ctrs allocated or shared by sa.c)
 * @extack: error report
 *
 * Return: 0 or -errno with an extack message; espx_eesp_destroy() undoes
 * a partial build.
 */
int espx_eesp_init_state(struct xfrm_state *x, struct espx_sa *sa,
			 struct netlink_ext_ack *extack)
{
	const struct espx_eesp_conf *c = &sa->cfg.ecfg;
	struct espx_eesp_layout l;
	struct espx_eesp_tx tx = {};
	struct espx_eesp *e;
	u16 n = max_t(u16, c->subsas, 1);
	int err;

	if (sa->kind != ESPX_KIND_EESP)
		return 0;
	if (!READ_ONCE(espx_eesp_rx_on)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no handler for eesp_proto: EESP unavailable (see the kernel log)");
		return -EOPNOTSUPP;
	}
	if (!sa->ctrs) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the Sub SAs");
		return -ENOMEM;
	}
	e = kzalloc(struct_size(e, sub, n), GFP_KERNEL_ACCOUNT);
	if (!e) {
		NL_SET_ERR_MSG_MOD(extack, "no memory for the Sub SAs");
		return -ENOMEM;
	}
	e->n = n;
	sa->eesp = e;
	if (c->subsas) {
		err = espx_eesp_derive(x, sa, e, extack);
		if (err)
			return err;
	} else {
		memcpy(e->sub[0].salt, sa->ext.salt, ESPX_EESP_SALT_LEN);
	}
	sa->ext.iiv = c->iiv;
	e->esa.ipv6 = x->props.family == AF_INET6;
	e->esa.tunnel = x->props.mode == XFRM_MODE_TUNNEL;
	e->esa.iiv = c->iiv;
	e->esa.crypt_offset = c->crypt_offset;
	e->esa.icvlen = crypto_aead_authsize(x->data);
	e->esa.subsas = n;
	if (espx_eesp_layout(&e->esa, &tx, &l)) {
		NL_SET_ERR_MSG_MOD(extack, "no EESP layout for this SA");
		return -EINVAL;
	}
	e->hdr_len = l.hdr_len;
	return 0;
}

/* Also after a failed init_state: idempotent. x->data is crypto.c's. */
void espx_eesp_destroy(struct xfrm_state *x)
{
	struct espx_sa *sa = espx_sa_of(x);
	struct espx_eesp *e = sa ? sa->eesp : NULL;
	u16 i;

	if (!e)
		return;
	sa->eesp = NULL;
	for (i = 1; i < e->n; i++)
		if (e->sub[i].aead)
			crypto_free_aead(e->sub[i].aead);
	kfree_sensitive(e);
}

unsigned int espx_eesp_hdr_len(const struct espx_sa *sa)
{
	return sa->eesp->hdr_len;
}

/* Octets from the base header to the payload of an ESP Echo message: it
 * has a PIH also on an Optimized SA (codec: espx_eesp_tx_full()).
 */
unsigned int espx_eesp_echo_hdr_len(const struct espx_sa *sa)
{
	struct espx_eesp_tx tx = { .nexthdr = ESPX_EESP_NH_ECHO };
	struct espx_eesp_layout l;

	if (espx_eesp_layout(&sa->eesp->esa, &tx, &l))
		return 0;
	return l.hdr_len;
}

static struct crypto_aead *espx_eesp_aead(struct xfrm_state *x,
					  const struct espx_eesp *e, u16 id)
{
	return e->sub[id].aead ?: x->data;
}

/* ---- output ------------------------------------------------------------ */

/* Zero padding and room for the ICV after the payload. In place when the
 * linear skb has the tailroom, else via skb_cow_data().
 * Return: scatterlist entries for the whole skb, or -errno.
 */
static int espx_eesp_out_tail(struct sk_buff *skb, u32 pad, u32 alen)
{
	struct sk_buff *trailer;
	u8 *tail;
	int nsg;

	if (!skb_cloned(skb) && pad + alen <= skb_tailroom(skb)) {
		tail = __skb_put(skb, pad + alen);
		nsg = 1;
	} else {
		nsg = skb_cow_data(skb, pad + alen, &trailer);
		if (nsg < 0)
			return nsg;
		tail = pskb_put(skb, trailer, pad + alen);
	}
	espx_eesp_fill_pad(tail, pad);
	return nsg;
}

static int espx_eesp_out_finish(struct espx_sa *sa, u32 len, int err)
{
	if (unlikely(err)) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_CRYPTO);
		return err == -ENOSPC ? NET_XMIT_DROP : err;
	}
	espx_stat_pkt(sa, ESPX_STAT_OUT_PACKETS, ESPX_STAT_OUT_BYTES, len);
	return 0;
}

static void espx_eesp_output_done(struct sk_buff *skb, int err)
{
	struct espx_crypto_hdr *hdr = espx_crypto_req_of(skb);
	struct espx_sa *sa = hdr->sa;
	u32 len = hdr->len;

	espx_crypto_req_free(skb);
	err = espx_eesp_out_finish(sa, len, err);
	if (unlikely(!skb_dst(skb)->xfrm))	/* an ESP Echo packet (echo.c) */
		return espx_echo_output_done(skb, sa, err);
	xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

/* The Sub SA of this CPU and its next SN; the limits of §6. */
static int espx_eesp_out_sn(struct xfrm_state *x, struct espx_sa *sa,
			    struct espx_eesp_tx *tx)
{
	tx->sn = espx_ctr_take(sa, &tx->session_id, tx->payload_len);
	switch (espx_eesp_tx_sn_verdict(tx->sn)) {
	case ESPX_EESP_TX_EXHAUSTED:
		espx_sa_expire(x, sa, true, "an EESP Sub SA's SN reached 2^64 - 1");
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_EESP_EXHAUSTED);
		return -EOVERFLOW;
	case ESPX_EESP_TX_SOFT:
		if (!test_bit(ESPX_SA_EXPIRED_SOFT, &sa->flags))
			espx_sa_expire(x, sa, false,
				       "an EESP Sub SA's SN reached 2^63");
		break;
	}
	return 0;
}

/**
 * espx_eesp_output - build and seal one EESP packet
 * @x: the SA
 * @sa: its espx state (EESP)
 * @skb: as espx_output() gets it: skb->data is the payload, the transport
 *	header the room for the EESP header (x->props.header_len sized it
 *	from the same layout), *skb_mac_header the outer protocol field
 *
 * Return: 0, -EINPROGRESS, NET_XMIT_DROP (the crypto queue was full, as
 * esp4/esp6 say it) or -errno (counted).
 */
int espx_eesp_output(struct xfrm_state *x, struct espx_sa *sa,
		     struct sk_buff *skb)
{
	struct espx_eesp *e = sa->eesp;
	u32 alen = e->esa.icvlen;
	struct espx_eesp_tx tx = {
		.spi = ntohl(x->id.spi),
		.nexthdr = *skb_mac_header(skb),
		.payload_len = skb->len,
	};
	u8 iv[ESPX_EESP_IV_LEN];
	struct espx_eesp_layout l;
	struct espx_crypto_req r;
	struct crypto_aead *aead;
	unsigned int off;
	int nsg, err;
	u8 *eh;

	eh = skb_transport_header(skb);
	if (unlikely(espx_eesp_layout(&e->esa, &tx, &l) ||
		     skb->data - eh != l.hdr_len))
		return -EINVAL;
	*skb_mac_header(skb) = eesp_proto;
	nsg = espx_eesp_out_tail(skb, l.pad_len, alen);
	if (nsg < 0) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_NOMEM);
		return nsg;
	}
	/* skb_cow_data() may have moved the head (a cloned skb: TCP) */
	eh = skb_transport_header(skb);
	err = espx_eesp_out_sn(x, sa, &tx);
	if (err)
		return err;
	/* the codec writes every header octet; sized at init, cannot fail */
	espx_eesp_build(eh, l.hdr_len, &e->esa, &tx, &l);
	off = eh - skb_network_header(skb);
	__skb_push(skb, -skb_network_offset(skb));	/* within the head */

	aead = espx_eesp_aead(x, e, tx.session_id);
	err = espx_crypto_req_alloc(sa, aead, nsg, &r);
	if (unlikely(err)) {
		espx_stat_inc(sa, ESPX_STAT_OUT_DROP_NOMEM);
		return err;
	}
	r.hdr->len = tx.payload_len;
	r.hdr->sa = sa;
	sg_init_table(r.sg, nsg);
	err = skb_to_sgvec(skb, r.sg, off, l.total);
	if (unlikely(err < 0)) {
		kfree(r.hdr);
		return err;
	}
	/* AAD = the packet from the base header to the first encrypted octet */
	aead_request_set_ad(r.req, l.aad_len);
	espx_eesp_iv(iv, tx.sn);
	espx_eesp_nonce(r.iv, e->sub[tx.session_id].salt, iv);
	aead_request_set_crypt(r.req, r.sg, r.sg, l.enc_len, r.iv);

	err = espx_crypto_run(&r, skb, true, espx_eesp_output_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_eesp_out_finish(sa, tx.payload_len, err);
}

/* ---- input ------------------------------------------------------------- */

/* §2 audit: a rate-limited trail of out-of-range Session IDs */
static void espx_eesp_log_subsa(const struct sk_buff *skb,
				const struct espx_eesp_hdr *h, u16 n)
{
	if (ip_hdr(skb)->version == 4)
		net_info_ratelimited("EESP SA spi 0x%08x: Session ID %u >= %u Sub SAs from %pI4 to %pI4, dropped\n",
				     h->spi, h->session_id, n,
				     &ip_hdr(skb)->saddr, &ip_hdr(skb)->daddr);
	else
		net_info_ratelimited("EESP SA spi 0x%08x: Session ID %u >= %u Sub SAs from %pI6c to %pI6c, dropped\n",
				     h->spi, h->session_id, n,
				     &ipv6_hdr(skb)->saddr,
				     &ipv6_hdr(skb)->daddr);
}

/* The protocol the packet came with: eesp_proto, or 50 (refused). */
static u8 espx_eesp_in_proto(const struct sk_buff *skb)
{
	if (ip_hdr(skb)->version == 4)
		return ip_hdr(skb)->protocol;
	return skb_network_header(skb)[IP6CB(skb)->nhoff];
}

/**
 * espx_eesp_input_open - after decryption, sync or async
 * @x: the SA
 * @sa: its espx state (NULL: dropped)
 * @skb: skb->data is the EESP base header, decrypted in place
 * @p: the packet: p->seq its SN, p->ctr_id its Sub SA, p->esph the PIH
 *	(Full) or payload (Optimized) offset
 * @err: the AEAD's verdict
 *
 * Return: Next Header for the core's mode input, or -errno (counted).
 */
static int espx_eesp_input_open(struct xfrm_state *x, struct espx_sa *sa,
				struct sk_buff *skb, const struct espx_pkt *p,
				int err)
{
	struct espx_eesp_payload pl;
	unsigned int alen, plen, hlen;
	u8 buf[8] = {};
	int res;

	if (unlikely(err)) {
		if (sa)
			espx_stat_inc(sa, err == -EBADMSG ?
				      ESPX_STAT_IN_DROP_ICV :
				      ESPX_STAT_IN_DROP_CRYPTO);
		return err;
	}
	if (unlikely(!sa))
		return -EINVAL;
	alen = sa->eesp->esa.icvlen;
	plen = skb->len - alen - p->esph;
	/* the codec reads at most the first 6 octets (PIH + inner version,
	 * or the inner IP header's length field)
	 */
	if (skb_copy_bits(skb, p->esph, buf, min_t(u32, plen, sizeof(buf))))
		return -EINVAL;
	res = espx_eesp_check_payload(buf, plen, &sa->eesp->esa, &pl);
	if (res < 0) {
		espx_stat_inc(sa, espx_eesp_stat(res));
		return -EINVAL;
	}
	/* authenticated and well-formed: replay re-check, then the window is
	 * allocated (first packet of the Sub SA) and advanced
	 */
	err = espx_ctr_input_accept(sa, p->ctr_id, p->seq, pl.len);
	if (err)
		return err;
	if (res == ESPX_EESP_RX_DUMMY) {
		espx_stat_inc(sa, ESPX_STAT_IN_EESP_DUMMY);
		return -EINVAL;
	}
	hlen = p->esph + pl.off;
	if (unlikely(pskb_trim(skb, hlen + pl.len))) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
		return -ENOMEM;
	}
	/* an ESP Echo message (PIH Next Header 144, in any format: README,
	 * ESP Echo, Decisions), authenticated and fresh on its Sub SA's
	 * window: consumed or dropped by echo.c, never delivered
	 */
	if (unlikely(pl.nexthdr == ESPX_EESP_NH_ECHO))
		return espx_echo_input(x, sa, skb, hlen, p);
	return espx_input_deliver(x, sa, skb, hlen, pl.nexthdr);
}

static void espx_eesp_input_done(struct sk_buff *skb, int err)
{
	struct espx_crypto_hdr *hdr = espx_crypto_req_of(skb);

	err = espx_eesp_input_open(xfrm_input_state(skb), hdr->sa, skb,
				   &hdr->pkt, err);
	if (err == -EINPROGRESS) {	/* ESP Echo consumed the skb */
		kfree(hdr);
		return;
	}
	espx_crypto_req_free(skb);
	xfrm_input_resume(skb, err);
}

/* §6 order of checks up to the replay pre-check, by the codec.
 * Return: 0 (@h filled) or -errno (counted).
 */
static int espx_eesp_in_check(struct espx_sa *sa, struct sk_buff *skb,
			      struct espx_eesp_hdr *h)
{
	const struct espx_eesp *e = sa->eesp;
	u32 need;
	int res;

	if (espx_eesp_in_proto(skb) != eesp_proto) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_EESP_PLAIN_SA);
		return -EINVAL;
	}
	/* the handler made the base header linear */
	res = espx_eesp_parse_base(skb->data, skb_headlen(skb), h);
	if (!res) {
		need = min(espx_eesp_parse_len(skb->data, e->esa.iiv),
			   skb->len);
		if (!pskb_may_pull(skb, need)) {
			espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
			return -ENOMEM;
		}
		res = espx_eesp_parse(skb->data, skb->len, &e->esa, h);
	}
	if (res == ESPX_EESP_DROP_SUBSA)
		espx_eesp_log_subsa(skb, h, e->n);
	if (res) {
		espx_stat_inc(sa, espx_eesp_stat(res));
		return -EINVAL;
	}
	if (espx_ctr_seen(sa, h->session_id, h->sn))
		return -EINVAL;
	return 0;
}

/* Decrypt in place: unshare only what must be unshared.
 * Return: scatterlist entries of the skb, or -errno (counted).
 */
static int espx_eesp_in_unshare(struct espx_sa *sa, struct sk_buff *skb)
{
	struct sk_buff *trailer;
	int err;

	if (!skb_cloned(skb) && !skb_is_nonlinear(skb))
		return 1;
	if (!skb_cloned(skb) && !skb_has_frag_list(skb) &&
	    !skb_has_shared_frag(skb))
		return skb_shinfo(skb)->nr_frags + 1;
	err = skb_cow_data(skb, 0, &trailer);
	if (err < 0)
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
	return err;
}

/**
 * espx_eesp_input - an EESP SA's input (the core's type->input)
 * @x: the SA
 * @sa: its espx state (EESP)
 * @skb: skb->data is the EESP base header (eesp_proto handler), or the
 *	ESP header of a protocol-50 packet (refused)
 *
 * Return: as espx_input(): Next Header, -EINPROGRESS or -errno.
 */
int espx_eesp_input(struct xfrm_state *x, struct espx_sa *sa,
		    struct sk_buff *skb)
{
	struct espx_eesp *e = sa->eesp;
	struct espx_eesp_hdr h;
	struct espx_crypto_req r;
	u8 iv[ESPX_EESP_IV_LEN];
	struct espx_pkt p = {};
	int nsg, err;

	err = espx_eesp_in_check(sa, skb, &h);
	if (err)
		return err;
	/* the IV is read before the unsharing may move the head */
	espx_eesp_rx_iv(iv, skb->data, &h);
	nsg = espx_eesp_in_unshare(sa, skb);
	if (nsg < 0)
		return nsg;

	p.seq = h.sn;
	p.ctr_id = h.session_id;
	p.esph = h.pih_off;
	err = espx_crypto_req_alloc(sa, espx_eesp_aead(x, e, h.session_id),
				    nsg, &r);
	if (unlikely(err)) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_NOMEM);
		return err;
	}
	r.hdr->pkt = p;
	r.hdr->sa = sa;
	sg_init_table(r.sg, nsg);
	err = skb_to_sgvec(skb, r.sg, 0, skb->len);
	if (unlikely(err < 0)) {
		kfree(r.hdr);
		return err;
	}
	espx_eesp_nonce(r.iv, e->sub[h.session_id].salt, iv);
	skb->ip_summed = CHECKSUM_NONE;
	aead_request_set_ad(r.req, h.aad_len);
	aead_request_set_crypt(r.req, r.sg, r.sg, h.enc_len + e->esa.icvlen,
			       r.iv);

	err = espx_crypto_run(&r, skb, false, espx_eesp_input_done);
	if (err == -EINPROGRESS)
		return err;
	kfree(r.hdr);
	return espx_eesp_input_open(x, sa, skb, &p, err);
}

/* ---- the eesp_proto receive step ---------------------------------------- */

/**
 * espx_eesp_rcv - the receive step of eesp_proto (proto.c's handler)
 * @skb: skb->data is the EESP base header
 * @family: the outer family
 * @spi: out: the SPI, for xfrm_input() (which then parses nothing)
 *
 * §6 order: base header length (per netns), SA lookup (no SA: per netns;
 * an SA without EESP: in-drop-eesp-not-eesp), base header fields (the
 * SA's). Every drop is also counted as esp4 would count it.
 *
 * Return: SKB_NOT_DROPPED_YET, or the reason to drop the packet.
 */
enum skb_drop_reason espx_eesp_rcv(struct sk_buff *skb, unsigned short family,
				   __be32 *spi)
{
	struct net *net = dev_net(skb->dev);
	enum skb_drop_reason reason;
	const xfrm_address_t *daddr;
	struct espx_eesp_hdr h;
	struct xfrm_state *x;
	struct espx_sa *sa;
	int res;

	if (!pskb_may_pull(skb, ESPX_EESP_BASE_LEN)) {
		espx_ns_stat_inc(net, ESPX_NS_STAT_EESP_TRUNCATED);
		XFRM_INC_STATS(net, LINUX_MIB_XFRMINHDRERROR);
		return ESPX_DROP_SHORT;
	}
	memcpy(spi, skb->data + 4, sizeof(*spi));
	if (family == AF_INET)
		daddr = (const xfrm_address_t *)&ip_hdr(skb)->daddr;
	else
		daddr = (const xfrm_address_t *)&ipv6_hdr(skb)->daddr;
	x = espx_rx_state_lookup(net, skb->mark, daddr, *spi, family);
	if (!x)
		return espx_ipproto_no_sa(net, ESPX_KIND_EESP);

	reason = ESPX_DROP_HDR;
	rcu_read_lock();
	sa = espx_sa_of(x);
	if (!sa)
		goto drop;
	if (sa->kind != ESPX_KIND_EESP) {
		espx_stat_inc(sa, ESPX_STAT_IN_DROP_EESP_NOT_EESP);
		goto drop;
	}
	res = espx_eesp_parse_base(skb->data, skb->len, &h);
	if (res) {
		espx_stat_inc(sa, espx_eesp_stat(res));
		goto drop;
	}
	reason = SKB_NOT_DROPPED_YET;
	goto out;
drop:
	XFRM_INC_STATS(net, LINUX_MIB_XFRMINSTATEPROTOERROR);
out:
	rcu_read_unlock();
	xfrm_state_put(x);
	return reason;
}

/**
 * espx_eesp_err_known - does an ICMP error quote a packet of one of our SAs?
 * @skb: skb->data is the quoted IP header
 * @off: the EESP header's offset in skb->data
 * @family: the quoted header's family
 */
bool espx_eesp_err_known(struct sk_buff *skb, unsigned int off,
			 unsigned short family)
{
	xfrm_address_t daddr = {};
	struct xfrm_state *x;
	__be32 spi;

	if (family == AF_INET)
		daddr.a4 = ((const struct iphdr *)skb->data)->daddr;
	else
		memcpy(&daddr.in6, &((const struct ipv6hdr *)skb->data)->daddr,
		       sizeof(daddr.in6));
	if (skb_copy_bits(skb, off + 4, &spi, sizeof(spi)))
		return false;
	x = xfrm_state_lookup(dev_net(skb->dev), skb->mark, &daddr, spi,
			      IPPROTO_ESP, family);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}

/* Not fatal: without it EESP SAs are refused with a message pointing to
 * the kernel log.
 */
int espx_eesp_proto_init(void)
{
	if (!eesp_proto || eesp_proto > 255 || eesp_proto == IPPROTO_ESP ||
	    eesp_proto == IPPROTO_AH || eesp_proto == ESPX_IPPROTO_WESP ||
	    eesp_proto == espx_diet_proto()) {
		pr_warn("eesp_proto=%u is not usable (0, > 255, ESP, AH, WESPv2 or diet_proto): EESP disabled\n",
			eesp_proto);
		return 0;
	}
	if (espx_ipproto_add(ESPX_KIND_EESP, eesp_proto)) {
		pr_warn("EESP disabled (load espx with another eesp_proto)\n");
		return 0;
	}
	WRITE_ONCE(espx_eesp_rx_on, true);
	return 0;
}

/* Callers wait for an RCU grace period before the module text goes. */
void espx_eesp_proto_exit(void)
{
	if (!espx_eesp_rx_on)
		return;
	espx_ipproto_del(ESPX_KIND_EESP);
	WRITE_ONCE(espx_eesp_rx_on, false);
}
