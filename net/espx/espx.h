/* SPDX-License-Identifier: GPL-2.0 */
/*
 * espx: the rooms of the module and what every one of them needs. Each room
 * has its own header with the interface the others may use:
 *   main.c      init/exit order                               (no header)
 *   sa.c        per-netns pending configs keyed by SA id,      sa.h
 *               per-SA state keyed by x, statistics
 *   netlink.c   the "espx" genetlink family (config in,        netlink.h
 *               config/stats out)
 *   esp.c       the xfrm_type for ESP: init_state/destructor/  proto.h
 *               input/output
 *   crypto.c    AEAD allocation, requests, async completion    crypto.h
 *   proto.c     xfrm4/xfrm6 protocol handlers for ESP, ICMP    proto.h
 *               errors, detection of esp4/esp6; the handlers
 *               of espx's own IP protocols (WESPv2, Diet-ESP)
 *   pkt.h       one packet's facts between the data path's
 *               steps
 *   wesp.c      WESPv2 header, protocol-141 receive step       wesp.h
 *   counters.c  several sequence counters per SA, per-counter  counters.h
 *               replay windows
 *   diet.c      Diet-ESP: EEC/CTEC/IIPC steps, the diet_proto  diet.h
 *               receive step
 *   seq.c       the per-key SN source of nonce SAs             seq.h
 *   km.c        xfrm key-manager hook: replay-window rules     km.h
 *               after NEWSA/NEWAE
 *   cfgcheck.c  one check of an SA's config against its state  cfgcheck.h
 *               before it binds
 *   rules.c     per-netns extension rules: which config an SA  rules.h
 *               made by an IKE daemon gets
 * compat.h hides what differs between the kernels espx builds for (6.1 and
 * 6.12); the packet arithmetic lives in the kernel-free codec/.
 * The data path never calls into netlink.c; config reaches it as immutable
 * per-SA state (struct espx_cfg, sa.h) bound at init_state.
 */
#ifndef _NET_ESPX_ESPX_H
#define _NET_ESPX_ESPX_H

#include <linux/types.h>
#include <uapi/linux/espx.h>

struct espx_sa;
struct netlink_ext_ack;
struct xfrm_state;

/**
 * enum espx_kind - what an SA's packets look like, decided once at
 *	init_state from its config (espx_cfg_kind()); the data path
 *	dispatches on it with a switch, one case per extension file
 * @ESPX_KIND_PLAIN: RFC 4303 ESP, wire-identical to esp4/esp6 (esp.c)
 * @ESPX_KIND_WESP: WESPv2 with one sequence number (wesp.c)
 * @ESPX_KIND_COUNTERS: WESPv2 with several sequence counters (wesp.c for
 *	the header, counters.c for the sequences and windows)
 * @ESPX_KIND_DIET: Diet-ESP (diet.c)
 * @ESPX_KIND_EESP: reserved for EESP (eesp.md), not yet bound to any SA
 *
 * Every kind but PLAIN is a nonce SA: espx builds the AEAD nonce
 * (salt | IV) and the AAD through the codec (wespv2.md §5).
 */
enum espx_kind {
	ESPX_KIND_PLAIN,
	ESPX_KIND_WESP,
	ESPX_KIND_COUNTERS,
	ESPX_KIND_DIET,
	ESPX_KIND_EESP,
};

#endif /* _NET_ESPX_ESPX_H */
