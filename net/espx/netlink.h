/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlink.c: the "espx" generic netlink family (include/uapi/linux/espx.h).
 * It reads and writes the tables of sa.c only; the data path never calls it.
 */
#ifndef _NET_ESPX_NETLINK_H
#define _NET_ESPX_NETLINK_H

struct net;
struct espx_echo_result;

int espx_genl_init(void);
void espx_genl_exit(void);
/* echo.c: one ESPX_CMD_ECHO_RESULT to @portid and the echo group
 * (GFP_ATOMIC); -ECONNREFUSED when the port is gone
 */
int espx_nl_echo_result(struct net *net, u32 portid,
			const struct espx_echo_result *r);

#endif /* _NET_ESPX_NETLINK_H */
