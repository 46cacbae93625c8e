// SPDX-License-Identifier: GPL-2.0
/*
 * espx_hold: a test-only module that takes the ESP xfrm type slot away from
 * espx and keeps it while loaded (selftests/clash.sh). esp4/esp6 cannot do
 * that: their init fails while espx holds the IPPROTO_ESP handler, so espx
 * would never stay in its "type lost" state.
 *
 * The core WARNs when xfrm_register_type() finds the slot taken and when
 * xfrm_unregister_type() is given a type the slot does not hold. To take the
 * slot quietly, init first unregisters exactly the type the slot holds (only
 * espx's, or none), then registers its own. Exit unregisters its own type
 * and leaves the slot empty: espx's module notifier runs at
 * MODULE_STATE_GOING, after this exit, and registers espx's type again.
 *
 * Its type refuses every SA in init_state, so no state ever uses it and the
 * module can be unloaded once the core dropped the failed states.
 *
 * Module loads are serialised by the test, so the slot does not change
 * between reading and replacing it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <net/xfrm.h>

static unsigned int family = 46;
module_param(family, uint, 0444);
MODULE_PARM_DESC(family, "ESP slots to hold: 4 (IPv4), 6 (IPv6) or 46 (both, default)");

static int hold_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG_MOD(extack, "test module holding the ESP type: no SA accepted");
	return -EPROTONOSUPPORT;
}

/* The core calls the destructor of a state whose init_state failed too. */
static void hold_destructor(struct xfrm_state *x)
{
}

/* Never called: no state gets past init_state. Drop, to be safe. */
static int hold_input(struct xfrm_state *x, struct sk_buff *skb)
{
	return -EOPNOTSUPP;
}

static int hold_output(struct xfrm_state *x, struct sk_buff *skb)
{
	return -EOPNOTSUPP;
}

static const struct xfrm_type hold_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.init_state	= hold_init_state,
	.destructor	= hold_destructor,
	.input		= hold_input,
	.output		= hold_output,
};

struct hold_family {
	unsigned short family;
	unsigned int param;	/* its digit in the family parameter */
	const char *name;
	bool held;
};

static struct hold_family hold_families[] = {
	{ AF_INET,  4, "IPv4" },
	{ AF_INET6, 6, "IPv6" },
};

/* The type in fam's ESP slot; -EBUSY if it belongs to anyone but espx. The
 * pointer is only compared (by xfrm_unregister_type() too) after the RCU
 * section.
 */
static const struct xfrm_type *hold_slot(const struct hold_family *fam)
{
	struct xfrm_state_afinfo *afinfo;
	const struct xfrm_type *t;

	rcu_read_lock();
	afinfo = xfrm_state_afinfo_get_rcu(fam->family);
	if (!afinfo) {
		rcu_read_unlock();
		return ERR_PTR(-EAFNOSUPPORT);
	}
	t = READ_ONCE(afinfo->type_esp);
	/* Anyone else (esp4/esp6) would WARN at its own exit. */
	if (t && t != &hold_type &&
	    (!t->owner || strcmp(module_name(t->owner), "espx")))
		t = ERR_PTR(-EBUSY);
	rcu_read_unlock();
	return t;
}

static int hold_take(struct hold_family *fam)
{
	const struct xfrm_type *t = hold_slot(fam);
	int err;

	if (IS_ERR(t)) {
		pr_err("cannot take the ESP type for %s: %ld\n", fam->name,
		       PTR_ERR(t));
		return PTR_ERR(t);
	}
	if (t)
		xfrm_unregister_type(t, fam->family);
	err = xfrm_register_type(&hold_type, fam->family);
	if (err)
		return err;
	fam->held = true;
	pr_info("holding the ESP type for %s\n", fam->name);
	return 0;
}

static void hold_release(void)
{
	struct hold_family *fam;
	int i;

	for (i = 0; i < ARRAY_SIZE(hold_families); i++) {
		fam = &hold_families[i];
		if (!fam->held)
			continue;
		fam->held = false;
		/* Only our own type: unregistering another one WARNs. */
		if (hold_slot(fam) == &hold_type)
			xfrm_unregister_type(&hold_type, fam->family);
	}
}

static int __init hold_init(void)
{
	int i, err;

	if (family != 4 && family != 6 && family != 46)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(hold_families); i++) {
		if (family != 46 && family != hold_families[i].param)
			continue;
		err = hold_take(&hold_families[i]);
		if (err) {
			hold_release();
			return err;
		}
	}
	return 0;
}

static void __exit hold_exit(void)
{
	hold_release();
}

module_init(hold_init);
module_exit(hold_exit);
MODULE_DESCRIPTION("espx selftest: holds the ESP xfrm type slot while loaded");
MODULE_LICENSE("GPL");
