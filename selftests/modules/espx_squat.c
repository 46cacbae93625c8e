// SPDX-License-Identifier: GPL-2.0
/*
 * espx_squat: a test-only module that takes a resource espx registers at
 * load, so that one step of espx's init fails (selftests/loadunload.sh):
 *   genl=1  a generic netlink family named "espx" (espx_genl_init() fails)
 *   wesp=1  the IPv4 protocol 141, WESPv2 (espx_wesp_proto_init() fails)
 * The family has no operations and the protocol handler drops everything.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/protocol.h>

#define SQUAT_PROTO	141	/* ESPX_IPPROTO_WESP */

static bool genl;
module_param(genl, bool, 0444);
MODULE_PARM_DESC(genl, "Register a generic netlink family named espx");

static bool wesp;
module_param(wesp, bool, 0444);
MODULE_PARM_DESC(wesp, "Register an IPv4 handler for protocol 141");

static struct genl_family squat_family = {
	.name = "espx",
	.version = 1,
	.module = THIS_MODULE,
};

static int squat_rcv(struct sk_buff *skb)
{
	kfree_skb(skb);
	return 0;
}

static const struct net_protocol squat_protocol = {
	.handler = squat_rcv,
	.no_policy = 1,
};

static int __init squat_init(void)
{
	int err;

	if (genl) {
		err = genl_register_family(&squat_family);
		if (err)
			return err;
	}
	if (wesp && inet_add_protocol(&squat_protocol, SQUAT_PROTO)) {
		if (genl)
			genl_unregister_family(&squat_family);
		return -EBUSY;
	}
	pr_info("holding%s%s\n", genl ? " genl family espx" : "",
		wesp ? " IPv4 protocol 141" : "");
	return 0;
}

static void __exit squat_exit(void)
{
	if (wesp) {
		inet_del_protocol(&squat_protocol, SQUAT_PROTO);
		synchronize_net();
	}
	if (genl)
		genl_unregister_family(&squat_family);
}

module_init(squat_init);
module_exit(squat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("espx selftest: squat on a resource espx needs");
