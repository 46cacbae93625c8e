// SPDX-License-Identifier: GPL-2.0
/*
 * espx_clone: a test-only module that clones an ESP state the way
 * XFRM_MSG_MIGRATE does (xfrm_state_migrate()), but without the namespace's
 * xfrm_cfg_mutex (selftests/bindrace.sh).
 *
 * In 6.1 and 6.12 every path that runs an ESP state's init_state holds that
 * mutex: xfrm netlink (xfrm_netlink_rcv()) and PF_KEY (pfkey_sendmsg())
 * alike, so two binds of one namespace never overlap there. espx does not
 * rely on it: its tables have their own lock (espx_sa_mutex), and what one
 * bind inherits from another must be complete when the other becomes
 * visible. This module is the concurrent binder that the core's lock
 * otherwise keeps out: writing "DADDR SPI NEWDADDR" (IPv4, ESP, mark 0) to
 * its parameter "clone" clones that state of the writer's namespace for the
 * destination NEWDADDR (same SPI, key, source, mode and reqid), adds the
 * clone and deletes the original, as a migration does, while an xfrm
 * netlink request may be inside another state's init_state.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/inet.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <net/net_namespace.h>
#include <net/xfrm.h>

static int clone_set(const char *val, const struct kernel_param *kp)
{
	struct net *net = current->nsproxy->net_ns;
	char daddr[16], ndaddr[16];
	struct xfrm_migrate m = {};
	struct xfrm_state *x, *xc;
	__be32 a, na;
	u32 spi;

	if (sscanf(val, "%15s %i %15s", daddr, &spi, ndaddr) != 3 ||
	    !in4_pton(daddr, -1, (u8 *)&a, -1, NULL) ||
	    !in4_pton(ndaddr, -1, (u8 *)&na, -1, NULL))
		return -EINVAL;
	x = xfrm_state_lookup(net, 0, (xfrm_address_t *)&a, htonl(spi),
			      IPPROTO_ESP, AF_INET);
	if (!x)
		return -ENOENT;
	m.old_daddr = x->id.daddr;
	m.old_saddr = x->props.saddr;
	m.new_daddr.a4 = na;
	m.new_saddr = x->props.saddr;
	m.proto = IPPROTO_ESP;
	m.mode = x->props.mode;
	m.reqid = x->props.reqid;
	m.old_family = AF_INET;
	m.new_family = AF_INET;
	/* as xfrm_migrate(): the clone's reference is the table's */
	xc = xfrm_state_migrate(x, &m, NULL);
	if (xc)
		xfrm_state_delete(x);
	xfrm_state_put(x);
	return xc ? 0 : -ENODATA;
}

static const struct kernel_param_ops clone_ops = {
	.set = clone_set,
};
module_param_cb(clone, &clone_ops, NULL, 0200);
MODULE_PARM_DESC(clone, "write \"DADDR SPI NEWDADDR\": migrate that ESP state without xfrm_cfg_mutex");

static int __init clone_init(void)
{
	return 0;
}

static void __exit clone_exit(void)
{
}

module_init(clone_init);
module_exit(clone_exit);

MODULE_DESCRIPTION("espx selftest: clones ESP states outside the xfrm config lock");
MODULE_LICENSE("GPL");
