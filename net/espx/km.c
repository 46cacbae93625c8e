// SPDX-License-Identifier: GPL-2.0
/*
 * espx's rules for the core's replay window, kept after init_state.
 *
 * A counter SA keeps one anti-replay window per counter (counters.c), so the
 * core's single window must stay 0: it would see the same SN on two counters
 * as a replay and drop packets that are in order on their own counter. The
 * counter code refuses a window at init_state, but two ways past it exist:
 *  - xfrm_state_construct() attaches XFRMA_REPLAY_ESN_VAL (which IKE daemons
 *    send for windows over 32) only after __xfrm_init_state(), so
 *    init_state sees window 0 whatever the request carries;
 *  - XFRM_MSG_NEWAE replaces the replay_esn state, window included (up to
 *    its bitmap's size), on a live SA.
 * Both end in km_state_notify(), so espx registers an xfrm_mgr whose only
 * real callback is notify: on NEWSA, UPDSA and a user's NEWAE it puts a
 * counter SA's core window back to 0, with a log line. The SA stays as the
 * creator asked otherwise; GETAE shows the window espx keeps.
 *
 * Diet-ESP bounds its window by the SN truncation (window <= 2^(sn-lsb-1)),
 * but no request reaches a violation: a truncating input SA needs a legacy
 * window at init_state (ESN_VAL is refused beside one, and NEWAE cannot
 * change a legacy window), and with sn-lsb 32 every u32 window is in bounds.
 *
 * The core calls acquire and compile_policy of every key manager without
 * checking for NULL: espx answers "not mine" to both.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <net/xfrm.h>
#include "espx.h"
#include "compat.h"
#include "sa.h"
#include "km.h"

static void espx_km_ctr_window(struct xfrm_state *x)
{
	u32 win = 0;

	spin_lock_bh(&x->lock);
	if (x->replay_esn && x->replay_esn->replay_window) {
		win = x->replay_esn->replay_window;
		x->replay_esn->replay_window = 0;
	}
	spin_unlock_bh(&x->lock);
	if (win)
		pr_info_ratelimited("SA spi 0x%08x: replay window %u reset to 0: a counter SA keeps a window per counter (counter-window)\n",
				    ntohl(x->id.spi), win);
}

static int espx_km_notify(struct xfrm_state *x, const struct km_event *c)
{
	struct espx_sa *sa;

	switch (c->event) {
	case XFRM_MSG_NEWSA:
	case XFRM_MSG_UPDSA:
		break;
	case XFRM_MSG_NEWAE:
		/* the replay code's own notifications run under x->lock */
		if (c->data.aevent == XFRM_AE_CU)
			break;
		return 0;
	default:
		return 0;
	}
	if (!x || !x->type || x->type->owner != THIS_MODULE)
		return 0;
	/* km_state_notify() holds RCU: x's espx state cannot go away */
	sa = espx_sa_of(x);
	if (sa && sa->cfg.counters)
		espx_km_ctr_window(x);
	return 0;
}

static int espx_km_acquire(struct xfrm_state *x, struct xfrm_tmpl *t,
			   struct xfrm_policy *xp)
{
	return -EOPNOTSUPP;
}

static struct xfrm_policy *espx_km_compile_policy(struct sock *sk, int opt,
						  u8 *data, int len, int *dir)
{
	*dir = -EOPNOTSUPP;
	return NULL;
}

static struct xfrm_mgr espx_km = {
	.notify		= espx_km_notify,
	.acquire	= espx_km_acquire,
	.compile_policy	= espx_km_compile_policy,
};

void espx_km_init(void)
{
	xfrm_register_km(&espx_km);
}

void espx_km_exit(void)
{
	/* unregister waits for readers (synchronize_rcu) */
	xfrm_unregister_km(&espx_km);
}
