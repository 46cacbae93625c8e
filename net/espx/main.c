// SPDX-License-Identifier: GPL-2.0
/*
 * espx: ESP with IETF IPsecME data-plane extensions, as a module for
 * unmodified kernels.
 *
 * Init order: first what nothing outside can reach (the SA tables and their
 * per-netns part, then the genetlink family, which only reads and writes
 * those tables, and the key-manager hook, which sees only espx's states),
 * last what makes espx reachable from packets and from the xfrm core (the
 * ESP xfrm types, the ESP/WESPv2 protocol handlers, then the Diet-ESP
 * handlers). Exit and every failed step unwind in exact reverse, so
 * a failed load leaves nothing registered, and no SA, packet or netlink
 * request can reach a half-built or half-torn-down module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>
#include "espx.h"
#include "sa.h"
#include "netlink.h"
#include "proto.h"
#include "diet.h"
#include "eesp.h"
#include "km.h"
#include "rules.h"
#include "echo.h"

#define ESPX_VERSION "0.1"

static int __init espx_init(void)
{
	int err;

	/* Before touching anything: refuse cleanly if esp4/esp6 own ESP. */
	err = espx_proto_check_clash();
	if (err)
		return err;

	/* the echo module parameters, and its per-netns sessions */
	err = espx_echo_init();
	if (err)
		return err;

	err = espx_sa_init();
	if (err)
		goto err_echo;

	err = espx_rules_init();
	if (err)
		goto err_sa;

	err = espx_genl_init();
	if (err)
		goto err_rules;

	/* never fails; acts on espx's states only, and there are none yet */
	espx_km_init();

	/* From here on the xfrm core and the network can reach espx. */
	err = espx_proto_init();
	if (err)
		goto err_km;

	/* never fails: without it only Diet-ESP truncation is refused */
	espx_diet_proto_init();
	/* never fails: without it EESP SAs are refused */
	espx_eesp_proto_init();

	pr_info("espx " ESPX_VERSION " loaded: ESP for IPv4 and IPv6\n");
	return 0;

err_km:
	espx_km_exit();
	espx_genl_exit();
err_rules:
	espx_rules_exit();
err_sa:
	espx_sa_exit();
err_echo:
	espx_echo_exit();
	return err;
}

static void __exit espx_exit(void)
{
	/* first: no probe session may outlive the genetlink family */
	espx_echo_exit();
	espx_eesp_proto_exit();
	espx_diet_proto_exit();
	espx_proto_exit();
	espx_km_exit();
	espx_genl_exit();
	espx_rules_exit();
	espx_sa_exit();
}

module_init(espx_init);
module_exit(espx_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ESP with WESPv2, multiple sequence counters and Diet-ESP");
MODULE_VERSION(ESPX_VERSION);
MODULE_ALIAS_XFRM_TYPE(AF_INET, IPPROTO_ESP);
MODULE_ALIAS_XFRM_TYPE(AF_INET6, IPPROTO_ESP);
MODULE_ALIAS_GENL_FAMILY(ESPX_GENL_NAME);
