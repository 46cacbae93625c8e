// SPDX-License-Identifier: GPL-2.0
/*
 * espx_cfg_check(): the one place that says which combinations espx accepts
 * (mode x family x algorithm x encapsulation x extension), each refusal
 * with its own extack message.
 *
 * It runs twice for a configured SA: on the config alone when netlink.c
 * takes it (ESPX_CMD_SA_SET, @x NULL), and on the config with its SA in
 * init_state, before anything is allocated (for a plain SA too: the mode,
 * encapsulation and algorithm rows apply to every SA). What it cannot see
 * stays with the room that can: attribute ranges in netlink.c's policies,
 * the Diet-ESP rule in the codec (espx_diet_rule_check(), which needs the
 * cipher's block size), whether the diet_proto handler is registered
 * (diet.c), and what the crypto API and the SA tables have to say.
 */
#include <linux/udp.h>
#include <net/xfrm.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "crypto.h"
#include "cfgcheck.h"
#include "codec/eesp_codec.h"

/* The extensions of one config among themselves. */
static int espx_cfg_check_ext(const struct espx_cfg *cfg,
			      struct netlink_ext_ack *extack)
{
	if (cfg->eesp && (cfg->wesp || cfg->counters || cfg->diet)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP is exclusive with WESPv2, sequence counters and Diet-ESP");
		return -EINVAL;
	}
	if (cfg->diet && (cfg->wesp || cfg->counters)) {
		NL_SET_ERR_MSG_MOD(extack, "Diet-ESP and WESPv2 are exclusive");
		return -EINVAL;
	}
	if (cfg->counters && !cfg->wesp) {
		NL_SET_ERR_MSG_MOD(extack,
				   "sequence counters need WESPv2 (the Sub-SA ID option)");
		return -EINVAL;
	}
	return 0;
}

static bool espx_sel_is_host(const struct xfrm_selector *sel)
{
	switch (sel->family) {
	case AF_INET:
		return sel->prefixlen_s == 32 && sel->prefixlen_d == 32;
	case AF_INET6:
		return sel->prefixlen_s == 128 && sel->prefixlen_d == 128;
	}
	return false;
}

/* What any espx SA needs: its offload, mode and encapsulation. */
static int espx_cfg_check_esp(const struct xfrm_state *x,
			      struct netlink_ext_ack *extack)
{
	/* x->xso is only set after init_state (xfrm_dev_state_add()), so an
	 * offload request cannot be seen here; the core refuses it itself
	 * when it finds no offload type ("Type doesn't support offload"), and
	 * espx registers none and keeps esp4_offload/esp6_offload out (they
	 * need esp4/esp6). An offload type someone else registered would be
	 * attached to every ESP state of the family and drive its GSO and
	 * device paths with esp4/esp6 code: refuse that.
	 */
	if (x->type_offload) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an ESP offload type is registered (esp4_offload/esp6_offload?): espx SAs cannot use it");
		return -EOPNOTSUPP;
	}

	switch (x->props.mode) {
	case XFRM_MODE_TRANSPORT:
	case XFRM_MODE_TUNNEL:
		break;
	case XFRM_MODE_BEET:
		if (!espx_sel_is_host(&x->sel)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "BEET needs a host-to-host selector");
			return -EINVAL;
		}
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack, "mode not supported for ESP");
		return -EINVAL;
	}

	if (x->encap) {
		switch (x->encap->encap_type) {
		case UDP_ENCAP_ESPINUDP:
		case UDP_ENCAP_ESPINUDP_NON_IKE:
			break;
		default:
			NL_SET_ERR_MSG_MOD(extack,
					   "unsupported encapsulation type for ESP");
			return -EINVAL;
		}
	}
	return 0;
}

/* A 32-bit SN that may wrap: a nonce SA's IV = be64(SN) would repeat. */
static bool espx_cfg_sn_may_wrap(const struct xfrm_state *x)
{
	return (x->props.extra_flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP) &&
	       !(x->props.flags & XFRM_STATE_ESN);
}

static u32 espx_cfg_replay_window(const struct xfrm_state *x)
{
	return x->replay_esn ? x->replay_esn->replay_window :
			       x->props.replay_window;
}

static int espx_cfg_check_wesp(const struct xfrm_state *x,
			       const struct espx_cfg *cfg,
			       struct netlink_ext_ack *extack)
{
	if (x->encap) {
		/* wespv2.md §9: UDP encapsulation of WESPv2 is unsettled */
		NL_SET_ERR_MSG_MOD(extack,
				   "WESPv2 with UDP encapsulation is not supported");
		return -EOPNOTSUPP;
	}
	if (!x->aead) {
		NL_SET_ERR_MSG_MOD(extack, "WESPv2 needs an AEAD algorithm");
		return -EINVAL;
	}
	/* counter SAs number their packets themselves (counters.c) */
	if (!cfg->counters && espx_cfg_sn_may_wrap(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "WESPv2 needs ESN when the sequence number may wrap");
		return -EINVAL;
	}
	return 0;
}

/* Counter SAs are WESPv2 SAs (espx_cfg_check_ext()), so AEAD ones. */
static int espx_cfg_check_counters(const struct xfrm_state *x,
				   struct netlink_ext_ack *extack)
{
	/* espx keeps one window per counter; the core's single window would
	 * drop packets that are in order on their own counter
	 */
	if (x->props.replay_window ||
	    (x->replay_esn && x->replay_esn->replay_window)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "counter SAs need replay-window 0: espx keeps a window per counter (counter-window)");
		return -EINVAL;
	}
	if (x->props.flags & XFRM_STATE_ESN) {
		NL_SET_ERR_MSG_MOD(extack,
				   "counter SAs must not set the ESN flag: their high sequence bits are always authenticated");
		return -EINVAL;
	}
	/* the core's shared 32-bit counter would otherwise stop the SA; an
	 * input SA never sends (and the core refuses the flag on one)
	 */
	if (!(x->props.extra_flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP) &&
	    !espx_sa_input_only(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "counter SAs need extra-flag oseq-may-wrap: espx, not the core, numbers their packets");
		return -EINVAL;
	}
	return 0;
}

/* The algorithms: an extension SA's nonce AEAD (crypto.c builds its nonce
 * and AAD, wespv2.md §5), else what esp4/esp6 would take.
 */
static int espx_cfg_check_alg(const struct xfrm_state *x,
			      const struct espx_cfg *cfg,
			      struct netlink_ext_ack *extack)
{
	if (cfg->eesp) {
		return 0;	/* espx_cfg_check_eesp() */
	} else if (cfg->wesp || cfg->diet) {
		if (!x->aead || !espx_crypto_nonce_plain(x->aead)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "extensions need aead rfc4106(gcm(aes)) or rfc7539esp(chacha20,poly1305)");
			return -EINVAL;
		}
		if (x->aead->alg_key_len % 8 ||
		    x->aead->alg_key_len / 8 <= ESPX_SALT_LEN) {
			NL_SET_ERR_MSG_MOD(extack,
					   "AEAD key must be key | 4-octet salt");
			return -EINVAL;
		}
	} else if (x->aead) {
		if (!x->geniv) {
			NL_SET_ERR_MSG_MOD(extack, "AEAD has no IV generator");
			return -EINVAL;
		}
	} else if (!x->ealg) {
		NL_SET_ERR_MSG_MOD(extack,
				   "ESP needs an AEAD or an encryption algorithm");
		return -EINVAL;
	}
	return 0;
}

static int espx_cfg_check_diet(const struct xfrm_state *x,
			       const struct espx_cfg *cfg,
			       struct netlink_ext_ack *extack)
{
	const struct espx_diet_conf *c = &cfg->dcfg;

	if (x->encap) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Diet-ESP with UDP encapsulation is not supported");
		return -EOPNOTSUPP;
	}
	if (x->tfcpad) {
		NL_SET_ERR_MSG_MOD(extack,
				   "TFC padding is not supported with Diet-ESP");
		return -EINVAL;
	}
	if (x->props.mode == XFRM_MODE_TRANSPORT && x->sel.family &&
	    x->sel.family != x->props.family) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Diet-ESP transport mode needs a selector of the SA's family");
		return -EINVAL;
	}
	/* the window rebuilds received SNs: an output SA has none (the core
	 * refuses one) and never receives
	 */
	if (c->sn_lsb < 32 && !espx_cfg_replay_window(x) &&
	    !espx_sa_output_only(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Diet-ESP with a truncated SN needs a replay window");
		return -EINVAL;
	}
	if (espx_cfg_sn_may_wrap(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Diet-ESP needs ESN when the sequence number may wrap");
		return -EINVAL;
	}
	return 0;
}

/* eesp.md §6, §8, §9: an AEAD SA whose SNs espx numbers and checks. */
static int espx_cfg_check_eesp(const struct xfrm_state *x,
			       const struct espx_cfg *cfg,
			       struct netlink_ext_ack *extack)
{
	const struct espx_eesp_conf *c = &cfg->ecfg;
	u32 root, hash, keybytes;
	bool chacha;

	if (x->encap) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP with UDP encapsulation is not supported yet");
		return -EOPNOTSUPP;
	}
	if (x->tfcpad) {
		NL_SET_ERR_MSG_MOD(extack,
				   "TFC padding is not supported with EESP");
		return -EINVAL;
	}
	if (!x->aead || !espx_crypto_nonce_plain(x->aead)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP needs aead rfc4106(gcm(aes)) or rfc7539esp(chacha20,poly1305)");
		return -EINVAL;
	}
	if (x->props.flags & XFRM_STATE_ESN) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP SAs must not set the ESN flag: all 64 SN bits are on the wire");
		return -EINVAL;
	}
	if (espx_cfg_replay_window(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP SAs need replay-window 0: espx keeps a 64-bit window per Sub SA (window)");
		return -EINVAL;
	}
	if (!(x->props.extra_flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP) &&
	    !espx_sa_input_only(x)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "EESP SAs need extra-flag oseq-may-wrap: espx, not the core, numbers their packets");
		return -EINVAL;
	}
	keybytes = x->aead->alg_key_len / 8;
	chacha = strstr(x->aead->alg_name, "chacha20");
	if (!c->subsas) {
		if (x->aead->alg_key_len % 8 || keybytes <= ESPX_SALT_LEN) {
			NL_SET_ERR_MSG_MOD(extack,
					   "AEAD key must be key | 4-octet salt");
			return -EINVAL;
		}
		return 0;
	}
	if (espx_eesp_sskdf_lens(c->sskdf, &root, &hash) ||
	    x->aead->alg_key_len != root * 8) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the root key length does not match sskdf (32, 48, 64 octets for hkdf-sha256/384/512)");
		return -EINVAL;
	}
	if (espx_eesp_keymat_len(chacha, c->key_bits ?: (chacha ? 256 : 128)) < 0) {
		NL_SET_ERR_MSG_MOD(extack,
				   "key-bits 128 is not a ChaCha20-Poly1305 key length");
		return -EINVAL;
	}
	return 0;
}

/**
 * espx_cfg_check - may this config be used (on this SA)?
 * @x: the state being built (init_state, nothing allocated yet), or NULL
 *     for the config alone (ESPX_CMD_SA_SET)
 * @cfg: the extension config (all zero for a plain SA)
 * @extack: error report: one message per refusal
 *
 * The rows are checked in the order init_state always checked them, so a
 * state with several faults is told about the same one as before.
 *
 * Return: 0 or -errno with an extack message.
 */
int espx_cfg_check(const struct xfrm_state *x, const struct espx_cfg *cfg,
		   struct netlink_ext_ack *extack)
{
	int err;

	err = espx_cfg_check_ext(cfg, extack);
	if (err || !x)
		return err;
	err = espx_cfg_check_esp(x, extack);
	if (!err && cfg->wesp)
		err = espx_cfg_check_wesp(x, cfg, extack);
	if (!err && cfg->counters)
		err = espx_cfg_check_counters(x, extack);
	if (!err)
		err = espx_cfg_check_alg(x, cfg, extack);
	if (!err && cfg->diet)
		err = espx_cfg_check_diet(x, cfg, extack);
	if (!err && cfg->eesp)
		err = espx_cfg_check_eesp(x, cfg, extack);
	return err;
}
