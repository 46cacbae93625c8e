/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlink.c: the "espx" generic netlink family (include/uapi/linux/espx.h).
 * It reads and writes the tables of sa.c only; the data path never calls it.
 */
#ifndef _NET_ESPX_NETLINK_H
#define _NET_ESPX_NETLINK_H

int espx_genl_init(void);
void espx_genl_exit(void);

#endif /* _NET_ESPX_NETLINK_H */
