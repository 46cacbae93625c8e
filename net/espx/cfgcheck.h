/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cfgcheck.c: which extension configs espx accepts, alone and on which SA.
 */
#ifndef _NET_ESPX_CFGCHECK_H
#define _NET_ESPX_CFGCHECK_H

#include "espx.h"

struct espx_cfg;

int espx_cfg_check(const struct xfrm_state *x, const struct espx_cfg *cfg,
		   struct netlink_ext_ack *extack);

#endif /* _NET_ESPX_CFGCHECK_H */
