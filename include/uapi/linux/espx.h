/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * espx - ESP extensions for the Linux xfrm data path.
 *
 * Userspace API: the generic netlink family "espx" (version 1).
 *
 * espx owns the ESP xfrm type of the machine (it replaces esp4/esp6). An SA
 * is still created, updated and deleted with the xfrm netlink API
 * (XFRM_MSG_NEWSA, ...); this family only carries what xfrm cannot: the
 * per-SA extension configuration (WESPv2, ...) and espx's per-SA statistics.
 *
 * Keying. Every request names one SA by its id, the nested ESPX_A_SA_ID:
 * family, destination address, SPI and protocol (always IPPROTO_ESP), plus
 * the SA's mark/mask and if_id when it has them. This is the same tuple
 * xfrm_state_lookup() uses, so an id names at most one SA per namespace.
 *
 * Lifecycle, and why an SA never carries a packet without its config:
 *
 *  1. ESPX_CMD_SA_SET creates a *pending* config for an SA id that has no
 *     SA yet. A pending config is inert: no packet looks at it.
 *  2. XFRM_MSG_NEWSA (or UPDSA on a larval state, e.g. the one
 *     XFRM_MSG_ALLOCSPI made for an inbound SA) for that id: while the
 *     kernel builds the SA, espx's init_state hook takes the pending config,
 *     validates it against the SA (algorithm, mode, encap) and binds it to
 *     the SA before the SA is inserted, i.e. before it can be found by
 *     policy lookup or input. From then on the config is *bound* and
 *     immutable for the SA's lifetime (rekeying creates a new SA).
 *  3. If NEWSA fails at or after that point (config rejected, bad key,
 *     duplicate SA, ...), the kernel destroys the half-built SA and the
 *     config with it. If NEWSA fails before the SA is built (e.g. an
 *     algorithm name xfrm does not know), the config is still pending and
 *     the caller deletes it with ESPX_CMD_SA_DEL (-ENOENT there just means
 *     the kernel already did); the patched "ip" does exactly that.
 *  4. Deleting the SA (ip xfrm state delete/flush, hard expiry, namespace
 *     exit) frees its config. A bound config cannot be deleted on its own
 *     (-EBUSY): delete the SA.
 *  5. A pending config belongs to the netlink socket that sent the SET:
 *     when that socket is closed (the program exits or crashes before its
 *     NEWSA), the config is freed. A one-shot tool that sets a config for
 *     another program's NEWSA sends ESPX_A_DETACHED to opt out of this.
 *     Either way a pending config lives at most pending_timeout seconds
 *     (module parameter, default 60): then it is freed and counted
 *     (ESPX_NS_STAT_PENDING_EXPIRED). So an SA created later by a program
 *     that knows nothing of espx never picks up a forgotten config.
 *
 * An SA created without a pending config is a plain ESP SA (wire-identical
 * to esp4/esp6); it still appears in dumps with its espx statistics. Two
 * exceptions keep a live SA's config (and sequence counters) on the state
 * that replaces it: a state for the same id (XFRM_MSG_UPDSA), and a state
 * with the same SPI, mark, if_id, AEAD algorithm, ICV length and key under
 * another address or family, i.e. the clone XFRM_MSG_MIGRATE makes (MOBIKE).
 * A config follows its SA: after a migration it is found by the new id. A
 * pending config for a state that has such a live twin must equal the
 * twin's config (-EEXIST otherwise): the state continues the twin's
 * sequence numbers, never restarts them under the same key.
 *
 * Sequence numbers of nonce SAs (WESPv2 without counters, Diet-ESP: the
 * AEAD nonce is salt | be64(SN)) come from one espx counter per key and
 * namespace, shared by every state with that key: a clone, an oseq set back
 * by XFRM_MSG_NEWAE, or a state deleted and created again with the same key
 * never sends an SN already sent under that key. The SN on the wire is the
 * xfrm core's unless that would repeat one; then it is the next unused one
 * (the core's oseq, as GETAE reports it, may then lag behind the wire).
 *
 * Permission: every command needs CAP_NET_ADMIN over the user namespace
 * that owns the network namespace of the socket; a config is visible only
 * in the namespace that created it and is freed when that namespace exits.
 */
#ifndef _UAPI_LINUX_ESPX_H
#define _UAPI_LINUX_ESPX_H

#include <linux/types.h>

#define ESPX_GENL_NAME		"espx"
#define ESPX_GENL_VERSION	1

/**
 * enum espx_cmd - commands of the espx family
 * @ESPX_CMD_SA_SET: create a pending config. Needs ESPX_A_SA_ID and the
 *	feature attributes to enable. -EEXIST if the id already has a
 *	config (pending or bound) or an SA.
 * @ESPX_CMD_SA_GET: doit: one SA or pending config by ESPX_A_SA_ID
 *	(-ENOENT if none). dumpit (NLM_F_DUMP): every pending config and every
 *	SA espx handles in the namespace. Replies carry ESPX_A_SA_ID,
 *	ESPX_A_STATUS, the feature attributes and ESPX_A_STATS. A dump whose
 *	rounds saw the table gain or lose an entry carries NLM_F_DUMP_INTR.
 * @ESPX_CMD_SA_DEL: delete a pending config by ESPX_A_SA_ID. -ENOENT if
 *	there is none, -EBUSY if it is bound to an SA.
 * @ESPX_CMD_INFO_GET: doit, no attributes: the module's state and the
 *	namespace's counters, in ESPX_A_INFO.
 * @ESPX_CMD_CTR_GET: dumpit only (NLM_F_DUMP), with ESPX_A_SA_ID naming a
 *	bound SA that has sequence counters: one message per counter, each
 *	with ESPX_A_SA_ID and ESPX_A_CTR. -ENOENT if there is no such SA,
 *	-EINVAL if it has no counters. NLM_F_DUMP_INTR as for SA_GET.
 * @ESPX_CMD_RULE_ADD: add an extension rule (see "Rules" below): ESPX_A_RULE
 *	(name required, priority, fallback, match) and the feature attributes
 *	(ESPX_A_WESP, ESPX_A_COUNTERS, ESPX_A_DIET; none: SAs it matches stay
 *	plain). -EEXIST if the name is taken, -ENOSPC beyond ESPX_RULES_MAX
 *	rules in the namespace.
 * @ESPX_CMD_RULE_DEL: delete the rule named in ESPX_A_RULE. -ENOENT if
 *	there is none. SAs it configured keep their config.
 * @ESPX_CMD_RULE_GET: doit: the rule named in ESPX_A_RULE. dumpit: every
 *	rule of the namespace, in the order they are tried. Replies carry
 *	ESPX_A_RULE (with its counters) and the feature attributes.
 *	NLM_F_DUMP_INTR as for SA_GET.
 * @ESPX_CMD_ECHO: doit (esp-echo.md §6): send ESP Echo requests on the
 *	outbound SA ESPX_A_SA_ID, as ESPX_A_PROBE says (count, interval, size,
 *	reply SPI or one-way, ident, timeout). The probes are sent from a
 *	timer; the reply carries ESPX_A_PROBE with IDENT and the first SEQ.
 *	Refusals (extack): no SA id -EINVAL, no such SA -ENOENT, SA not valid
 *	or not outbound -EINVAL, a Diet-ESP SA -EOPNOTSUPP, a value out of
 *	range -ERANGE, REPLY_SPI naming no inbound espx SA of the peer or
 *	given with ONEWAY -EINVAL, no paired inbound SA and neither -EINVAL,
 *	IDENT in use or the namespace's limits (64 sessions, 1024 probes
 *	outstanding) reached -EBUSY.
 * @ESPX_CMD_ECHO_RESULT: notification, one per probe, unicast to the port
 *	that sent ESPX_CMD_ECHO and multicast to ESPX_MCGRP_ECHO: ESPX_A_SA_ID
 *	(the probed SA) and ESPX_A_PROBE with IDENT, SEQ, STATUS, RTT_NS,
 *	DATA_LEN, REPLY_SA, REPLY_SPI, ERRNO; the session's last one also
 *	DONE and IN_DELTA.
 */
enum espx_cmd {
	ESPX_CMD_UNSPEC,
	ESPX_CMD_SA_SET,
	ESPX_CMD_SA_GET,
	ESPX_CMD_SA_DEL,
	ESPX_CMD_INFO_GET,
	ESPX_CMD_CTR_GET,
	ESPX_CMD_RULE_ADD,
	ESPX_CMD_RULE_DEL,
	ESPX_CMD_RULE_GET,
	ESPX_CMD_ECHO,
	ESPX_CMD_ECHO_RESULT,

	__ESPX_CMD_MAX,
};

#define ESPX_CMD_MAX (__ESPX_CMD_MAX - 1)

/* multicast group of ESPX_CMD_ECHO_RESULT, for monitors (CAP_NET_ADMIN) */
#define ESPX_MCGRP_ECHO		"echo"

/**
 * enum espx_attr - top-level attributes
 * @ESPX_A_SA_ID: nested, enum espx_sa_id_attr. Required in every doit.
 * @ESPX_A_STATUS: u32, enum espx_sa_status. Reply only.
 * @ESPX_A_WESP: nested, enum espx_wesp_attr: present = the SA uses WESPv2
 *	(IP protocol 141). AEAD SAs only.
 * @ESPX_A_STATS: nested, one u64 per enum espx_stat (attribute type =
 *	stat id). Reply only; bound SAs only. Inside this nest, type 0
 *	(ESPX_STAT_UNSPEC) is the 64-bit alignment padding: skip it.
 * @ESPX_A_PAD: padding for 64-bit top-level attributes.
 * @ESPX_A_INFO: nested, enum espx_info_attr. Reply to ESPX_CMD_INFO_GET only.
 * @ESPX_A_COUNTERS: nested, enum espx_counters_attr: present = the SA sends
 *	on several sequence counters (multi-counters.md). Needs ESPX_A_WESP.
 * @ESPX_A_CTR: nested, enum espx_ctr_attr: one counter's state. Reply to
 *	ESPX_CMD_CTR_GET only.
 * @ESPX_A_DIET: nested, enum espx_diet_attr: present = the SA uses Diet-ESP
 *	header compression (diet-esp.md). AEAD SAs only; not with ESPX_A_WESP
 *	(and so not with ESPX_A_COUNTERS).
 * @ESPX_A_DETACHED: flag, ESPX_CMD_SA_SET only: the pending config does not
 *	go when the requesting socket closes (lifecycle step 5); it still
 *	expires after pending_timeout seconds.
 * @ESPX_A_RULE: nested, enum espx_rule_attr: an extension rule. RULE_*
 *	commands only.
 * @ESPX_A_ECHO: nested, empty: present = the SA answers ESP Echo requests
 *	(esp-echo.md §5, §7). SA_SET and SA_GET. Not with ESPX_A_DIET
 *	(-EOPNOTSUPP). The module parameter echo_all=1 makes every SA answer.
 * @ESPX_A_PROBE: nested, enum espx_probe_attr: ESPX_CMD_ECHO's probe
 *	parameters, its reply and ESPX_CMD_ECHO_RESULT.
 * @ESPX_A_EESP: nested, enum espx_eesp_attr: present = the SA uses EESP
 *	(eesp.md, IP protocol eesp_proto). AEAD SAs only; not with
 *	ESPX_A_WESP, ESPX_A_COUNTERS or ESPX_A_DIET. Its Sub SAs are the
 *	"counters" of ESPX_CMD_CTR_GET (one ESPX_A_CTR per Sub SA).
 */
enum espx_attr {
	ESPX_A_UNSPEC,
	ESPX_A_SA_ID,
	ESPX_A_STATUS,
	ESPX_A_WESP,
	ESPX_A_STATS,
	ESPX_A_PAD,
	ESPX_A_INFO,
	ESPX_A_COUNTERS,
	ESPX_A_CTR,
	ESPX_A_DIET,
	ESPX_A_DETACHED,
	ESPX_A_RULE,
	ESPX_A_ECHO,
	ESPX_A_PROBE,
	ESPX_A_EESP,

	__ESPX_A_MAX,
};

#define ESPX_A_MAX (__ESPX_A_MAX - 1)

/**
 * enum espx_sa_id_attr - the SA id, nested in ESPX_A_SA_ID
 * @ESPX_ID_FAMILY: u16, AF_INET or AF_INET6: the SA's outer family. Required.
 * @ESPX_ID_DADDR: binary, 4 (AF_INET) or 16 (AF_INET6) octets, network
 *	order. Required.
 * @ESPX_ID_SPI: u32 in network byte order (as xfrm carries it), not 0.
 *	Required.
 * @ESPX_ID_PROTO: u8, must be IPPROTO_ESP (50). Optional, default 50.
 * @ESPX_ID_MARK: u32, the SA's mark value. Optional, default 0.
 * @ESPX_ID_MARK_MASK: u32, the SA's mark mask. Optional, default 0.
 * @ESPX_ID_IF_ID: u32, the SA's xfrm interface id. Optional, default 0.
 */
enum espx_sa_id_attr {
	ESPX_ID_UNSPEC,
	ESPX_ID_FAMILY,
	ESPX_ID_DADDR,
	ESPX_ID_SPI,
	ESPX_ID_PROTO,
	ESPX_ID_MARK,
	ESPX_ID_MARK_MASK,
	ESPX_ID_IF_ID,

	__ESPX_ID_MAX,
};

#define ESPX_ID_MAX (__ESPX_ID_MAX - 1)

/**
 * enum espx_sa_status - ESPX_A_STATUS values
 * @ESPX_STATUS_PENDING: config waiting for its SA (step 1 above).
 * @ESPX_STATUS_BOUND: SA exists and uses espx's ESP type.
 */
enum espx_sa_status {
	ESPX_STATUS_PENDING = 1,
	ESPX_STATUS_BOUND,
};

/**
 * enum espx_wesp_attr - WESPv2 parameters, nested in ESPX_A_WESP
 * @ESPX_WESP_CRYPT_OFFSET: u8, 0..63: how many 4-octet words after the IV
 *	are sent in clear (authenticated). Optional, default 0.
 */
enum espx_wesp_attr {
	ESPX_WESP_UNSPEC,
	ESPX_WESP_CRYPT_OFFSET,

	__ESPX_WESP_MAX,
};

#define ESPX_WESP_MAX (__ESPX_WESP_MAX - 1)
#define ESPX_WESP_CRYPT_OFFSET_MAX 63

/**
 * enum espx_counters_attr - sequence counters, nested in ESPX_A_COUNTERS
 *
 * One SA, one key, N independent 64-bit sequence counters. A sending CPU
 * uses counter (CPU number mod N) and puts its id in the WESPv2 Sub-SA ID
 * option; the receiver keeps one anti-replay window per counter, so packets
 * that different CPUs reordered are not taken for replays. The IV is
 * be16(id) | be48(seq): (key, IV) never repeats. A counter stops at 2^48 - 1:
 * the SA then hard-expires (the key manager gets XFRM_MSG_EXPIRE hard=1);
 * the first counter to reach 2^47 raises a soft expire, so IKE rekeys first.
 *
 * espx does all replay work of such an SA, so the xfrm SA itself must have
 * replay window 0, no ESN flag (the high SN bits are always in the AAD) and
 * XFRM_SA_XFLAG_OSEQ_MAY_WRAP (the core's shared 32-bit output counter is
 * unused and must not stop the SA; not on an input SA, XFRMA_SA_DIR =
 * XFRM_SA_DIR_IN, which never sends and on which the kernel refuses the
 * flag). An AEAD algorithm is required, as for
 * WESPv2. Other SAs are refused when they are created, with an extack. A
 * window given as XFRMA_REPLAY_ESN_VAL (attached by the core after the type
 * saw the SA) or set later by XFRM_MSG_NEWAE is reset to 0 by espx when the
 * core announces the SA or the change (NEWSA, UPDSA, NEWAE).
 *
 * @ESPX_COUNTERS_COUNT: u16, N, 1..ESPX_COUNTERS_MAX. Required.
 * @ESPX_COUNTERS_WINDOW: u32, anti-replay window per counter in packets,
 *	ESPX_COUNTERS_WINDOW_MIN..MAX, a multiple of 32. Optional, default
 *	ESPX_COUNTERS_WINDOW_DEFAULT.
 * @ESPX_COUNTERS_START: u64, test knob, refused (-EPERM) unless espx was
 *	loaded with test_knobs=1 (read-only at run time): every counter's sequence starts after this
 *	value (the first packet carries START + 1) and every receive window
 *	starts with this top, so tests can reach the 2^47 / 2^48 limits.
 *	0..2^48 - 1, default 0. EESP SAs (no ESPX_A_COUNTERS: a counter SA
 *	cannot be an EESP SA) take the same knob as ESPX_EESP_START.
 * @ESPX_COUNTERS_WINDOWS: u32, reply only: receive windows allocated so far
 *	(a window is allocated when the first authenticated packet of its
 *	counter arrives, never for a packet that failed its ICV).
 * @ESPX_COUNTERS_PAD: padding for the 64-bit attribute.
 */
enum espx_counters_attr {
	ESPX_COUNTERS_UNSPEC,
	ESPX_COUNTERS_COUNT,
	ESPX_COUNTERS_WINDOW,
	ESPX_COUNTERS_START,
	ESPX_COUNTERS_WINDOWS,
	ESPX_COUNTERS_PAD,

	__ESPX_COUNTERS_MAX,
};

#define ESPX_COUNTERS_MAX_ATTR (__ESPX_COUNTERS_MAX - 1)
#define ESPX_COUNTERS_MAX 1024
#define ESPX_COUNTERS_WINDOW_MIN 32
#define ESPX_COUNTERS_WINDOW_MAX 4096
#define ESPX_COUNTERS_WINDOW_DEFAULT 1024
#define ESPX_COUNTERS_SEQ_MAX 0xffffffffffffULL

/**
 * enum espx_ctr_attr - one counter's state, nested in ESPX_A_CTR
 * @ESPX_CTR_PAD: padding for 64-bit attributes.
 * @ESPX_CTR_ID: u16, counter id, 0..N-1.
 * @ESPX_CTR_OUT_SEQ: u64, the last sequence number this counter handed out
 *	(START if none yet).
 * @ESPX_CTR_OUT_PACKETS: u64, packets that took a sequence number from it.
 * @ESPX_CTR_OUT_BYTES: u64, their payload octets.
 * @ESPX_CTR_IN_TOP: u64, highest sequence number accepted on it. Absent
 *	while the counter's receive window is not allocated.
 * @ESPX_CTR_IN_PACKETS: u64, packets accepted on it.
 * @ESPX_CTR_IN_BYTES: u64, their payload octets.
 * @ESPX_CTR_IN_REPLAY: u64, packets dropped by its window (seen or too old).
 */
enum espx_ctr_attr {
	ESPX_CTR_PAD,
	ESPX_CTR_ID,
	ESPX_CTR_OUT_SEQ,
	ESPX_CTR_OUT_PACKETS,
	ESPX_CTR_OUT_BYTES,
	ESPX_CTR_IN_TOP,
	ESPX_CTR_IN_PACKETS,
	ESPX_CTR_IN_BYTES,
	ESPX_CTR_IN_REPLAY,

	__ESPX_CTR_MAX,
};

#define ESPX_CTR_MAX_ATTR (__ESPX_CTR_MAX - 1)

/**
 * enum espx_diet_attr - Diet-ESP parameters, nested in ESPX_A_DIET
 *
 * Diet-ESP (draft-ietf-ipsecme-diet-esp-07) compresses, per SA:
 *  - EEC: only the low SPI_LSB bits of the SPI and SN_LSB bits of the SN are
 *    sent (SPI bits first, MSB first; SPI_LSB + SN_LSB a multiple of 8). The
 *    ICV still covers the full SPI and SN (AAD = SPI | [SNhi |] SNlo). When
 *    either is truncated (below 32) the packet is sent with the outer IP
 *    protocol of espx's module parameter diet_proto (default 253, RFC 3692
 *    experimental) and received by espx's own handler for it, which finds
 *    the SA from the truncated SPI and the destination (source too with
 *    SPI_LSB 0) and rebuilds the SN from the SA's replay window. Otherwise
 *    packets stay IP protocol 50.
 *  - CTEC: padding, Pad Length and Next Header elided where ALIGN,
 *    the cipher and TRAILER allow it.
 *  - IIPC (IIPC = 1): inner IPv4/IPv6 + UDP/TCP header fields the SA's
 *    selector fixes are not sent; lengths and checksums are recomputed.
 *    Tunnel mode compresses the inner IP header and UDP/TCP; transport and
 *    BEET mode (whose inner IP header is never in the ESP payload on Linux)
 *    UDP/TCP only. The traffic selector is the SA's own (x->sel: family,
 *    prefixes, proto, ports with their masks).
 * A packet that does not fit the rule is dropped and counted, never sent
 * half-compressed. Requirements, refused with an extack otherwise: aead
 * rfc4106(gcm(aes)) or rfc7539esp(chacha20,poly1305) (espx builds the nonce:
 * explicit IV be64(SN), or none with IIV); no UDP encapsulation; with
 * SN_LSB < 32 a replay window W with 1 <= W <= 2^(SN_LSB - 1) (an output
 * SA, XFRMA_SA_DIR = XFRM_SA_DIR_OUT, has none and needs none); every Diet SA
 * to one destination address with a truncated SPI uses the same SPI_LSB, and
 * at most ESPX_DIET_CANDIDATES_MAX of them share a truncated SPI (-EEXIST).
 *
 * @ESPX_DIET_SPI_LSB: u8, 0..32: SPI bits sent. Required.
 * @ESPX_DIET_SN_LSB: u8, 1..32: SN bits sent. Required.
 * @ESPX_DIET_ALIGN: u8, enum espx_diet_align_val: padding alignment.
 *	Optional, default 8 bit.
 * @ESPX_DIET_TRAILER: u8, enum espx_diet_trailer_val. Optional, default
 *	mandatory (Pad Length and Next Header always sent).
 * @ESPX_DIET_IIPC: u8, 0 = inner headers kept, 1 = compressed. Optional,
 *	default 0.
 * @ESPX_DIET_DSCP: u8, enum espx_diet_cda_val (SENT, LOWER or SA). Optional,
 *	default SENT.
 * @ESPX_DIET_DSCP_LIST: binary, 1..64 distinct DSCP values (0..63), one
 *	octet each: the values an SA with ESPX_DIET_DSCP = SA carries (sent as
 *	an index). Required with SA, refused otherwise.
 * @ESPX_DIET_ECN: u8, enum espx_diet_cda_val (SENT or LOWER). Optional,
 *	default SENT.
 * @ESPX_DIET_FLOWLABEL: u8, enum espx_diet_cda_val (SENT, LOWER) or enum
 *	espx_diet_flowlabel_val (GENERATED, ZERO): the inner IPv6 flow label /
 *	IPv4 Identification. Optional,
 *	default SENT.
 * @ESPX_DIET_IIV: flag: implicit IV (RFC 8750), nonce = salt | be64(SN),
 *	no IV on the wire.
 */
enum espx_diet_attr {
	ESPX_DIET_UNSPEC,
	ESPX_DIET_SPI_LSB,
	ESPX_DIET_SN_LSB,
	ESPX_DIET_ALIGN,
	ESPX_DIET_TRAILER,
	ESPX_DIET_IIPC,
	ESPX_DIET_DSCP,
	ESPX_DIET_DSCP_LIST,
	ESPX_DIET_ECN,
	ESPX_DIET_FLOWLABEL,
	ESPX_DIET_IIV,

	__ESPX_DIET_MAX,
};

#define ESPX_DIET_MAX (__ESPX_DIET_MAX - 1)
#define ESPX_DIET_DSCP_LIST_MAX 64
#define ESPX_DIET_CANDIDATES_MAX 4

/* ESPX_DIET_ALIGN values: 8 << value bits */
enum espx_diet_align_val {
	ESPX_DIET_ALIGN_8BIT,
	ESPX_DIET_ALIGN_16BIT,
	ESPX_DIET_ALIGN_32BIT,
	ESPX_DIET_ALIGN_64BIT,
};

/* ESPX_DIET_TRAILER values */
enum espx_diet_trailer_val {
	ESPX_DIET_TRAILER_MAND,		/* Pad Length + Next Header sent */
	ESPX_DIET_TRAILER_OPT,		/* elided where the SA implies them */
};

/* ESPX_DIET_DSCP, _ECN and _FLOWLABEL values (the IKEv2 HCP code points) */
enum espx_diet_cda_val {
	ESPX_DIET_CDA_SENT,		/* not_compressed */
	ESPX_DIET_CDA_LOWER,		/* taken from the outer header */
	ESPX_DIET_CDA_SA,		/* DSCP only: index into the list */
};

/*
 * ESPX_DIET_FLOWLABEL only, besides SENT and LOWER: the code points after
 * LOWER mean something else for the flow label than for DSCP, so they are
 * an enum of their own (an enum's values are unique).
 */
enum espx_diet_flowlabel_val {
	ESPX_DIET_CDA_GENERATED = 2,	/* receiver makes one */
	ESPX_DIET_CDA_ZERO,		/* receiver writes 0 */
};

/**
 * enum espx_echo_attr - nested in ESPX_A_ECHO: nothing yet (an empty nest)
 */
enum espx_echo_attr {
	ESPX_ECHO_UNSPEC,

	__ESPX_ECHO_MAX,
};

#define ESPX_ECHO_MAX (__ESPX_ECHO_MAX - 1)

/**
 * enum espx_probe_attr - ESP Echo probes, nested in ESPX_A_PROBE
 * @ESPX_PROBE_COUNT: u32, requests to send, 1..1000, default 1.
 * @ESPX_PROBE_INTERVAL: u32, ms between requests, 10..60000, default 1000.
 * @ESPX_PROBE_SIZE: u16, Data octets per request (octet i = i & 0xff),
 *	0..ESPX_PROBE_SIZE_MAX, default 56.
 * @ESPX_PROBE_REPLY_SPI: u32 in network order: the inbound SA (from the
 *	peer to this host) on which the reply is requested. Default: the SPI
 *	of the paired inbound SA (swapped addresses, same reqid, mark, if_id).
 * @ESPX_PROBE_ONEWAY: flag: R=0, no reply (keepalive); SPI 0 on the wire.
 * @ESPX_PROBE_IDENT: u16, the Identifier; default random, non-zero, unused.
 * @ESPX_PROBE_TIMEOUT: u32, ms to wait for each reply, 100..60000,
 *	default 2000.
 * @ESPX_PROBE_SEQ: u16: the first Sequence Number (doit reply) or the
 *	probe's (ECHO_RESULT). Sequence numbers start at 1.
 * @ESPX_PROBE_STATUS: u32, enum espx_probe_status. ECHO_RESULT only.
 * @ESPX_PROBE_RTT_NS: u64, round trip time of a reply.
 * @ESPX_PROBE_DATA_LEN: u16, the reply's Data Length.
 * @ESPX_PROBE_REPLY_SA: nested, enum espx_sa_id_attr: the inbound SA the
 *	reply arrived on.
 * @ESPX_PROBE_DONE: flag: the session's last result.
 * @ESPX_PROBE_IN_DELTA: u64, with DONE: packets the requested reply SA
 *	received since the session started (a liveness hint when replies
 *	are missing).
 * @ESPX_PROBE_ERRNO: u32, SEND_ERROR: the positive errno.
 * @ESPX_PROBE_PAD: padding for the 64-bit attributes.
 */
enum espx_probe_attr {
	ESPX_PROBE_UNSPEC,
	ESPX_PROBE_COUNT,
	ESPX_PROBE_INTERVAL,
	ESPX_PROBE_SIZE,
	ESPX_PROBE_REPLY_SPI,
	ESPX_PROBE_ONEWAY,
	ESPX_PROBE_IDENT,
	ESPX_PROBE_TIMEOUT,
	ESPX_PROBE_SEQ,
	ESPX_PROBE_STATUS,
	ESPX_PROBE_RTT_NS,
	ESPX_PROBE_DATA_LEN,
	ESPX_PROBE_REPLY_SA,
	ESPX_PROBE_DONE,
	ESPX_PROBE_IN_DELTA,
	ESPX_PROBE_ERRNO,
	ESPX_PROBE_PAD,

	__ESPX_PROBE_MAX,
};

#define ESPX_PROBE_MAX (__ESPX_PROBE_MAX - 1)
#define ESPX_PROBE_COUNT_MAX	1000
#define ESPX_PROBE_INTERVAL_MIN	10
#define ESPX_PROBE_INTERVAL_MAX	60000
#define ESPX_PROBE_TIMEOUT_MIN	100
#define ESPX_PROBE_TIMEOUT_MAX	60000
#define ESPX_PROBE_SIZE_MAX	65523

/**
 * enum espx_probe_status - ESPX_PROBE_STATUS values
 * @ESPX_PROBE_STATUS_REPLY: the reply came on the requested SA.
 * @ESPX_PROBE_STATUS_REPLY_OTHER_SA: it came on another SA of the peer.
 * @ESPX_PROBE_STATUS_TIMEOUT: no reply within the timeout.
 * @ESPX_PROBE_STATUS_SEND_ERROR: the request could not be sent (ERRNO).
 * @ESPX_PROBE_STATUS_DATA_MISMATCH: the reply's Data differs from the
 *	request's.
 * @ESPX_PROBE_STATUS_SENT: a one-way probe was sent.
 */
enum espx_probe_status {
	ESPX_PROBE_STATUS_REPLY = 1,
	ESPX_PROBE_STATUS_REPLY_OTHER_SA,
	ESPX_PROBE_STATUS_TIMEOUT,
	ESPX_PROBE_STATUS_SEND_ERROR,
	ESPX_PROBE_STATUS_DATA_MISMATCH,
	ESPX_PROBE_STATUS_SENT,
};

/**
 * enum espx_eesp_attr - EESP parameters, nested in ESPX_A_EESP (eesp.md §8)
 *
 * The SA must be an AEAD SA (rfc4106(gcm(aes)) or
 * rfc7539esp(chacha20,poly1305)) with replay-window 0, without the ESN flag
 * and with extra-flag oseq-may-wrap (espx numbers and checks the 64-bit
 * SNs of every Sub SA itself), without UDP encapsulation and TFC padding.
 *
 * @ESPX_EESP_SUB_SAS: u16, 1..ESPX_EESP_SUB_SAS_MAX: the SA is a bundle of
 *	N Sub SAs with keys derived from the root key in the AEAD key field
 *	(HKDF-Expand(root, be16(Session ID), L)). Absent: one Sub SA keyed
 *	directly by the AEAD key field (key | salt), as ESP.
 * @ESPX_EESP_SSKDF: u8, enum espx_eesp_sskdf_val; needs ESPX_EESP_SUB_SAS.
 *	Default HKDF-SHA256. The root key length must be the hash's.
 * @ESPX_EESP_KEY_BITS: u16, 128 or 256: the Sub SAs' AEAD key length;
 *	needs ESPX_EESP_SUB_SAS. Default 128 for GCM, 256 for ChaCha20.
 * @ESPX_EESP_CRYPT_OFFSET: u8, 1..63 words: Full format in every mode with
 *	a Crypt Offset option (eesp.md §5).
 * @ESPX_EESP_IIV: flag: no explicit IV on the wire, IV = be64(SN).
 * @ESPX_EESP_WINDOW: u32, ESPX_EESP_WINDOW_MIN..MAX, a multiple of 32:
 *	anti-replay window of each Sub SA. Default ESPX_EESP_WINDOW_DEFAULT.
 * @ESPX_EESP_START: u64, test knob as ESPX_COUNTERS_START (refused, -EPERM,
 *	unless espx was loaded with test_knobs=1): every Sub SA sends after
 *	this SN (the first packet carries START + 1) and every receive window
 *	starts with this top, so tests can reach the 2^63 / 2^64 - 1 limits.
 *	A state sending on the counters of another bound state of its root
 *	key sends on theirs (its START unused), and a key that sent before
 *	starts above the highest SN it sent, whatever START says. Default 0.
 * @ESPX_EESP_PAD: padding for the 64-bit attribute.
 */
enum espx_eesp_attr {
	ESPX_EESP_UNSPEC,
	ESPX_EESP_SUB_SAS,
	ESPX_EESP_SSKDF,
	ESPX_EESP_KEY_BITS,
	ESPX_EESP_CRYPT_OFFSET,
	ESPX_EESP_IIV,
	ESPX_EESP_WINDOW,
	ESPX_EESP_START,
	ESPX_EESP_PAD,

	__ESPX_EESP_MAX,
};

#define ESPX_EESP_MAX (__ESPX_EESP_MAX - 1)
#define ESPX_EESP_SUB_SAS_MAX 1024
#define ESPX_EESP_WINDOW_MIN 64
#define ESPX_EESP_WINDOW_MAX 4096
#define ESPX_EESP_WINDOW_DEFAULT 1024

/* ESPX_EESP_SSKDF values */
enum espx_eesp_sskdf_val {
	ESPX_EESP_SSKDF_HKDF_SHA256,
	ESPX_EESP_SSKDF_HKDF_SHA384,
	ESPX_EESP_SSKDF_HKDF_SHA512,
};

/**
 * enum espx_stat - per-SA counters, nested in ESPX_A_STATS (u64 each).
 * Drops are counted under the first reason that applies; the xfrm core's
 * own counters (/proc/net/xfrm_stat, ip -s xfrm state) count as usual.
 * @ESPX_STAT_OUT_PACKETS: packets encrypted.
 * @ESPX_STAT_OUT_BYTES: payload octets encrypted.
 * @ESPX_STAT_IN_PACKETS: packets that verified and decrypted.
 * @ESPX_STAT_IN_BYTES: payload octets decrypted.
 * @ESPX_STAT_OUT_DROP_NOMEM: no memory for the packet or crypto request.
 * @ESPX_STAT_OUT_DROP_CRYPTO: encryption failed.
 * @ESPX_STAT_IN_DROP_TRUNCATED: shorter than ESP header + IV + trailer + ICV
 *	(Diet SA: than its compressed SPI/SN + IV + ICV, also XfrmInHdrError).
 * @ESPX_STAT_IN_DROP_ICV: ICV did not verify (tampered or wrong key/SN).
 * @ESPX_STAT_IN_DROP_PADDING: Pad Length past the decrypted payload.
 * @ESPX_STAT_IN_DROP_NOMEM: no memory for the packet or crypto request.
 * @ESPX_STAT_IN_DROP_BEETPH: malformed BEET pseudo-header.
 * @ESPX_STAT_IN_DROP_WESP_TRUNCATED: WESPv2 packet shorter than its header,
 *	options and ESP header.
 * @ESPX_STAT_IN_DROP_WESP_VERSION: WESPv2 V bits not 01.
 * @ESPX_STAT_IN_DROP_WESP_ALIGN: ESP header after the options not 4-octet
 *	(IPv4) or 8-octet (IPv6) aligned.
 * @ESPX_STAT_IN_DROP_WESP_OPTION: malformed option: TLV past OptLen, PadN
 *	with non-zero data, or the may-change bit set.
 * @ESPX_STAT_IN_DROP_WESP_OPT_UNKNOWN: unknown option whose action bits say
 *	drop (01, 10, 11; espx never sends ICMP).
 * @ESPX_STAT_IN_DROP_WESP_HDRLEN: HdrLen below 12, not a multiple of 4 (8 on
 *	IPv6), or not the value the SA implies.
 * @ESPX_STAT_IN_DROP_WESP_CRYPT_OFFSET: CryptOffset above the SA's maximum
 *	or reaching past the end of the packet.
 * @ESPX_STAT_IN_DROP_WESP_NEXTHDR: Next Header not 59 with CryptOffset 0, or
 *	not the ESP trailer's Next Header otherwise.
 * @ESPX_STAT_IN_DROP_WESP_SUBSA: Sub-SA ID option malformed, repeated, not
 *	first, present on an SA without counters or missing on one with.
 * @ESPX_STAT_IN_DROP_WESP_NOT_WESP: plain ESP (protocol 50) packet for a
 *	WESPv2 SA.
 * @ESPX_STAT_IN_DROP_WESP_PLAIN_SA: WESPv2 (protocol 141) packet for an SA
 *	without WESPv2.
 * @ESPX_STAT_OUT_DROP_CTR_EXHAUSTED: counter SA: the sending counter has
 *	reached 2^48 - 1; the SA is hard-expired.
 * @ESPX_STAT_IN_DROP_CTR_RANGE: counter SA: Sub-SA ID >= N (also logged,
 *	rate-limited).
 * @ESPX_STAT_IN_DROP_CTR_SEQ: counter SA: the 64-bit sequence number cannot
 *	be inferred from the window, or is 0 or above 2^48 - 1.
 * @ESPX_STAT_IN_DROP_CTR_IV: counter SA: the IV is not be16(id) | be48(seq).
 * @ESPX_STAT_IN_DROP_CTR_REPLAY: counter SA: seen or too old for its
 *	counter's window (also in that counter's ESPX_CTR_IN_REPLAY).
 * @ESPX_STAT_IN_DROP_CTR_NOMEM: counter SA: no memory for a counter's first
 *	receive window.
 * @ESPX_STAT_OUT_DROP_DIET_NOMATCH: Diet SA: the packet does not fit the
 *	rule (outside the selector's prefixes or ports, IPv4 options, DSCP not
 *	in the list, another Next Header than the SA implies).
 * @ESPX_STAT_IN_DROP_DIET_PROTO: Diet SA: arrived as IP protocol 50 while
 *	its SPI or SN is truncated (must be diet_proto), or the reverse.
 * @ESPX_STAT_IN_DROP_DIET_SN: Diet SA: the SN rebuilt from its low bits is
 *	0 or past 2^32 - 1 without ESN (also XfrmInStateSeqError). A packet
 *	older than the window is rebuilt ahead of it and fails the ICV.
 * @ESPX_STAT_IN_DROP_DIET_TRAILER: Diet SA: Pad Length past the plaintext,
 *	or a sent Next Header not the one the SA implies.
 * @ESPX_STAT_IN_DROP_DIET_RESIDUE: Diet SA: the compressed header runs past
 *	the plaintext, or its pad bits are not zero.
 * @ESPX_STAT_IN_DROP_DIET_DSCP: Diet SA: DSCP index past the list.
 * @ESPX_STAT_IN_DROP_DIET_LENGTH: Diet SA: a rebuilt header would be
 *	invalid (IPv4 IHL, a length above 65535, TCP data offset).
 * @ESPX_STAT_IN_DIET_CANDIDATE_RETRY: Diet SA: not a drop: packets whose
 *	truncated SPI several SAs share that this SA passed on to the next
 *	candidate (failed trial decryption, SN not rebuilt, or SN already in
 *	its window); the last candidate's verdict is its own.
 * @ESPX_STAT_IN_DROP_CRYPTO: the AEAD transform failed the decryption with
 *	an error other than an ICV mismatch (e.g. the full queue of an
 *	asynchronous driver: -EBUSY, -ENOSPC), sync or on completion. Such
 *	drops were counted as ESPX_STAT_IN_DROP_NOMEM before.
 * @ESPX_STAT_IN_DROP_AGGFRAG: Next Header 144 with a Sub-Type that is no
 *	echo sub-type (no IP-TFS mode exists), esp-echo.md §5 step 2.
 * @ESPX_STAT_IN_DROP_ECHO_TRUNCATED: echo payload empty or shorter than
 *	its 12-octet header.
 * @ESPX_STAT_IN_DROP_ECHO_UNSUPPORTED: echo on a Diet-ESP SA.
 * @ESPX_STAT_IN_DROP_ECHO_REPLAY: echo whose SN the SA's echo window has
 *	seen or left behind.
 * @ESPX_STAT_IN_DROP_ECHO_LENGTH: 12 + Data Length is not the payload
 *	length (also the 8-octet headers of the -03 drafts).
 * @ESPX_STAT_IN_DROP_ECHO_DISABLED: request on an SA without ESPX_A_ECHO.
 * @ESPX_STAT_IN_ECHO_ONEWAY: not a drop: R=0 requests consumed.
 * @ESPX_STAT_IN_ECHO_RATELIMITED: requests over the SA's token bucket
 *	(echo_rate, echo_burst): not answered.
 * @ESPX_STAT_ECHO_REPLY_FALLBACK: requests answered on the paired SA
 *	because the Reply path SPI failed the same-peer test.
 * @ESPX_STAT_IN_DROP_ECHO_NO_SA: requests without a usable reply SA.
 * @ESPX_STAT_OUT_ECHO_REPLY: replies sent on this (outbound) SA.
 * @ESPX_STAT_IN_DROP_ECHO_UNSOLICITED: replies matching no outstanding
 *	probe (unknown, late, duplicate, other peer).
 * @ESPX_STAT_IN_ECHO_REQUEST: not a drop: authenticated requests consumed.
 * @ESPX_STAT_IN_ECHO_REPLY: not a drop: replies matched to a probe.
 * @ESPX_STAT_OUT_ECHO_REQUEST: requests sent on this (outbound) SA.
 * @ESPX_STAT_OUT_DROP_ECHO: replies or requests not sent (expired SA,
 *	SN space used up, no route, MTU, no memory).
 * @ESPX_STAT_IN_DROP_EESP_HEADER: EESP SA: first bit 0 or R != 0.
 * @ESPX_STAT_IN_DROP_EESP_VERSION: EESP SA: Version != 0.
 * @ESPX_STAT_IN_DROP_EESP_TRUNCATED: EESP SA: options past the packet, no
 *	room for SN, IV, PIH and ICV.
 * @ESPX_STAT_IN_DROP_EESP_OPTION: EESP SA: an option past Opt Len, two
 *	Crypt Offset options, a Crypt Offset option with Data Len != 2.
 * @ESPX_STAT_IN_DROP_EESP_CRYPT_OFFSET: EESP SA: Crypt Offset option on an
 *	SA without crypt-offset, Payload Offset not the PIH's, CryptOffset
 *	above the SA's or past the ICV.
 * @ESPX_STAT_IN_DROP_EESP_SUBSA: EESP SA: Session ID >= number of Sub SAs
 *	(also logged, rate-limited).
 * @ESPX_STAT_IN_DROP_EESP_REPLAY: EESP SA: SN 0, seen or left of its Sub
 *	SA's window (also in that Sub SA's ESPX_CTR_IN_REPLAY).
 * @ESPX_STAT_IN_DROP_EESP_PIH: EESP SA: PIH first nibble != 0, Pad Length
 *	past the payload.
 * @ESPX_STAT_IN_DROP_EESP_INNER: EESP SA: the inner packet's version or
 *	length is wrong (Optimized format; tunnel Full format Next Header).
 * @ESPX_STAT_IN_DROP_EESP_NOT_EESP: an eesp_proto packet for an SA without
 *	EESP.
 * @ESPX_STAT_IN_DROP_EESP_PLAIN_SA: an ESP (protocol 50) packet for an
 *	EESP SA.
 * @ESPX_STAT_IN_EESP_DUMMY: EESP SA: not a drop: valid dummy packets (PIH
 *	Next Header 59), discarded.
 * @ESPX_STAT_OUT_DROP_EESP_EXHAUSTED: EESP SA: the sending Sub SA's SN
 *	space is used up (the SA hard-expired).
 */
enum espx_stat {
	ESPX_STAT_UNSPEC,
	ESPX_STAT_OUT_PACKETS,
	ESPX_STAT_OUT_BYTES,
	ESPX_STAT_IN_PACKETS,
	ESPX_STAT_IN_BYTES,
	ESPX_STAT_OUT_DROP_NOMEM,
	ESPX_STAT_OUT_DROP_CRYPTO,
	ESPX_STAT_IN_DROP_TRUNCATED,
	ESPX_STAT_IN_DROP_ICV,
	ESPX_STAT_IN_DROP_PADDING,
	ESPX_STAT_IN_DROP_NOMEM,
	ESPX_STAT_IN_DROP_BEETPH,
	ESPX_STAT_IN_DROP_WESP_TRUNCATED,
	ESPX_STAT_IN_DROP_WESP_VERSION,
	ESPX_STAT_IN_DROP_WESP_ALIGN,
	ESPX_STAT_IN_DROP_WESP_OPTION,
	ESPX_STAT_IN_DROP_WESP_OPT_UNKNOWN,
	ESPX_STAT_IN_DROP_WESP_HDRLEN,
	ESPX_STAT_IN_DROP_WESP_CRYPT_OFFSET,
	ESPX_STAT_IN_DROP_WESP_NEXTHDR,
	ESPX_STAT_IN_DROP_WESP_SUBSA,
	ESPX_STAT_IN_DROP_WESP_NOT_WESP,
	ESPX_STAT_IN_DROP_WESP_PLAIN_SA,
	ESPX_STAT_OUT_DROP_CTR_EXHAUSTED,
	ESPX_STAT_IN_DROP_CTR_RANGE,
	ESPX_STAT_IN_DROP_CTR_SEQ,
	ESPX_STAT_IN_DROP_CTR_IV,
	ESPX_STAT_IN_DROP_CTR_REPLAY,
	ESPX_STAT_IN_DROP_CTR_NOMEM,
	ESPX_STAT_OUT_DROP_DIET_NOMATCH,
	ESPX_STAT_IN_DROP_DIET_PROTO,
	ESPX_STAT_IN_DROP_DIET_SN,
	ESPX_STAT_IN_DROP_DIET_TRAILER,
	ESPX_STAT_IN_DROP_DIET_RESIDUE,
	ESPX_STAT_IN_DROP_DIET_DSCP,
	ESPX_STAT_IN_DROP_DIET_LENGTH,
	ESPX_STAT_IN_DIET_CANDIDATE_RETRY,
	ESPX_STAT_IN_DROP_CRYPTO,
	ESPX_STAT_IN_DROP_AGGFRAG,
	ESPX_STAT_IN_DROP_ECHO_TRUNCATED,
	ESPX_STAT_IN_DROP_ECHO_UNSUPPORTED,
	ESPX_STAT_IN_DROP_ECHO_REPLAY,
	ESPX_STAT_IN_DROP_ECHO_LENGTH,
	ESPX_STAT_IN_DROP_ECHO_DISABLED,
	ESPX_STAT_IN_ECHO_ONEWAY,
	ESPX_STAT_IN_ECHO_RATELIMITED,
	ESPX_STAT_ECHO_REPLY_FALLBACK,
	ESPX_STAT_IN_DROP_ECHO_NO_SA,
	ESPX_STAT_OUT_ECHO_REPLY,
	ESPX_STAT_IN_DROP_ECHO_UNSOLICITED,
	ESPX_STAT_IN_ECHO_REQUEST,
	ESPX_STAT_IN_ECHO_REPLY,
	ESPX_STAT_OUT_ECHO_REQUEST,
	ESPX_STAT_OUT_DROP_ECHO,
	ESPX_STAT_IN_DROP_EESP_HEADER,
	ESPX_STAT_IN_DROP_EESP_VERSION,
	ESPX_STAT_IN_DROP_EESP_TRUNCATED,
	ESPX_STAT_IN_DROP_EESP_OPTION,
	ESPX_STAT_IN_DROP_EESP_CRYPT_OFFSET,
	ESPX_STAT_IN_DROP_EESP_SUBSA,
	ESPX_STAT_IN_DROP_EESP_REPLAY,
	ESPX_STAT_IN_DROP_EESP_PIH,
	ESPX_STAT_IN_DROP_EESP_INNER,
	ESPX_STAT_IN_DROP_EESP_NOT_EESP,
	ESPX_STAT_IN_DROP_EESP_PLAIN_SA,
	ESPX_STAT_IN_EESP_DUMMY,
	ESPX_STAT_OUT_DROP_EESP_EXHAUSTED,

	__ESPX_STAT_MAX,
};

#define ESPX_STAT_MAX (__ESPX_STAT_MAX - 1)

/**
 * enum espx_info_attr - module state, nested in ESPX_A_INFO
 * @ESPX_INFO_TYPE_LOST_IPV4: u8, 1 while the kernel's ESP type for IPv4 is
 *	not espx's (esp4 or another module took it over): new IPv4 SAs would
 *	not get espx. Existing espx SAs keep working. The kernel log says
 *	which module did it.
 * @ESPX_INFO_TYPE_LOST_IPV6: u8, the same for IPv6.
 * @ESPX_INFO_NS_STATS: nested, one u64 per enum espx_ns_stat (attribute
 *	type = stat id; type 0 is padding): drops that no SA can be charged
 *	with, for the requester's network namespace.
 */
enum espx_info_attr {
	ESPX_INFO_UNSPEC,
	ESPX_INFO_TYPE_LOST_IPV4,
	ESPX_INFO_TYPE_LOST_IPV6,
	ESPX_INFO_NS_STATS,

	__ESPX_INFO_MAX,
};

#define ESPX_INFO_MAX (__ESPX_INFO_MAX - 1)

/**
 * enum espx_ns_stat - per-namespace counters, nested in ESPX_INFO_NS_STATS
 * @ESPX_NS_STAT_WESP_TRUNCATED: protocol 141 packets too short to reach the
 *	SPI (also counted as XfrmInHdrError).
 * @ESPX_NS_STAT_WESP_NO_SA: protocol 141 packets whose SPI names no SA
 *	(also counted as XfrmInNoStates).
 * @ESPX_NS_STAT_DIET_TRUNCATED: diet_proto packets that no SA takes and
 *	that are too short for one of the truncated-SPI widths in use (also
 *	XfrmInHdrError). A short packet whose SA is found is that SA's
 *	ESPX_STAT_IN_DROP_TRUNCATED.
 * @ESPX_NS_STAT_DIET_NO_SA: diet_proto packets whose truncated SPI and
 *	addresses name no Diet SA, or that every candidate passed on (also
 *	XfrmInNoStates).
 * @ESPX_NS_STAT_PENDING_EXPIRED: pending configs (ESPX_CMD_SA_SET) freed
 *	because no SA was created for their id within the module parameter
 *	pending_timeout (seconds, default 60).
 * @ESPX_NS_STAT_RULE_FALLBACK: SAs created plain because the first rule
 *	they matched could not apply to them and said "fallback plain".
 * @ESPX_NS_STAT_ECHO_PLAIN: unencrypted ESP Echo packets (SPI 7 or 8,
 *	esp-echo.md §4): espx never answers them and leaves them to the core
 *	(also XfrmInNoStates).
 * @ESPX_NS_STAT_EESP_TRUNCATED: eesp_proto packets too short for the EESP
 *	base header (also XfrmInHdrError).
 * @ESPX_NS_STAT_EESP_NO_SA: eesp_proto packets whose SPI names no SA (also
 *	XfrmInNoStates).
 */
enum espx_ns_stat {
	ESPX_NS_STAT_UNSPEC,
	ESPX_NS_STAT_WESP_TRUNCATED,
	ESPX_NS_STAT_WESP_NO_SA,
	ESPX_NS_STAT_DIET_TRUNCATED,
	ESPX_NS_STAT_DIET_NO_SA,
	ESPX_NS_STAT_PENDING_EXPIRED,
	ESPX_NS_STAT_RULE_FALLBACK,
	ESPX_NS_STAT_ECHO_PLAIN,
	ESPX_NS_STAT_EESP_TRUNCATED,
	ESPX_NS_STAT_EESP_NO_SA,

	__ESPX_NS_STAT_MAX,
};

#define ESPX_NS_STAT_MAX (__ESPX_NS_STAT_MAX - 1)

/*
 * Rules. An IKE daemon creates its SAs with xfrm alone, allocates inbound
 * SPIs itself (XFRM_MSG_ALLOCSPI, then UPDSA) and rekeys on its own: it
 * never sends ESPX_CMD_SA_SET. A rule gives such SAs their extensions: "an
 * SA that matches this gets this config". Rules belong to the network
 * namespace they were added in (at most ESPX_RULES_MAX), are tried in the
 * order of their priority (lower first; equal priorities in the order they
 * were added) and the first that matches wins.
 *
 * When the kernel builds an ESP SA (XFRM_MSG_NEWSA, or UPDSA on the larval
 * state of an ALLOCSPI: the state UPDSA builds is the one matched, with its
 * final algorithms and selector), espx takes the pending config of its id
 * if there is one (an explicit SA_SET wins), else the config of a live SA
 * whose place it takes or whose key it shares (UPDSA, MIGRATE), else the
 * first matching rule's. A rekeyed SA (new SPI, new key) is a new SA: it
 * gets the rule's config, with sequence counters that start afresh under
 * its new key, while the SAs of the old key keep theirs until deleted.
 * Adding, changing or deleting a rule never touches existing SAs.
 *
 * A rule's config is checked against the SA as an SA_SET config would be.
 * If it cannot apply (UDP encapsulation, an algorithm other than the AEADs
 * the extensions need, a replay window a counter SA cannot have, ...) the
 * SA's creation fails with an extack message naming the rule (also logged,
 * rate-limited, for daemons that do not show extack messages), never a
 * silent plain SA; unless the rule has ESPX_RULE_FALLBACK: then the SA is
 * created plain and counted (ESPX_NS_STAT_RULE_FALLBACK and the rule's
 * ESPX_RULE_FALLBACKS). A rule with no feature attribute makes the SAs it
 * matches plain: an exception placed before a broader rule.
 */
#define ESPX_RULES_MAX		1024
#define ESPX_RULE_NAME_LEN	32	/* with the terminating NUL */

/**
 * enum espx_rule_attr - a rule, nested in ESPX_A_RULE
 * @ESPX_RULE_NAME: string, 1..ESPX_RULE_NAME_LEN - 1 characters among
 *	[A-Za-z0-9_.:-]: the rule's name, unique in the namespace. Required.
 * @ESPX_RULE_PRIO: u32, lower is tried first. Optional, default 0.
 * @ESPX_RULE_FALLBACK: flag: an SA the rule cannot apply to is created
 *	plain (and counted) instead of refused.
 * @ESPX_RULE_MATCH: nested, enum espx_match_attr: which SAs the rule
 *	configures; every attribute given must match. Optional: absent or
 *	empty, the rule matches every ESP SA.
 * @ESPX_RULE_HITS: u64, reply only: SAs the rule gave its config.
 * @ESPX_RULE_FALLBACKS: u64, reply only: SAs it matched but created plain
 *	(ESPX_RULE_FALLBACK).
 * @ESPX_RULE_PAD: padding for the 64-bit attributes.
 */
enum espx_rule_attr {
	ESPX_RULE_UNSPEC,
	ESPX_RULE_NAME,
	ESPX_RULE_PRIO,
	ESPX_RULE_FALLBACK,
	ESPX_RULE_MATCH,
	ESPX_RULE_HITS,
	ESPX_RULE_FALLBACKS,
	ESPX_RULE_PAD,

	__ESPX_RULE_MAX,
};

#define ESPX_RULE_MAX (__ESPX_RULE_MAX - 1)

/**
 * enum espx_match_attr - what a rule matches, nested in ESPX_RULE_MATCH
 *
 * Addresses are binary, 4 (AF_INET) or 16 (AF_INET6) octets in network
 * order, and need ESPX_MATCH_FAMILY; the bits past the prefix length are
 * ignored (and replies show them cleared).
 *
 * @ESPX_MATCH_FAMILY: u16, AF_INET or AF_INET6: the SA's outer family.
 * @ESPX_MATCH_DADDR: binary: the SA's destination is in this prefix.
 * @ESPX_MATCH_DADDR_PLEN: u8, its length, 0..32 or 0..128. Default: the
 *	whole address.
 * @ESPX_MATCH_SADDR: binary: the SA's source is in this prefix.
 * @ESPX_MATCH_SADDR_PLEN: u8, as ESPX_MATCH_DADDR_PLEN.
 * @ESPX_MATCH_MODE: u8, XFRM_MODE_TRANSPORT, _TUNNEL or _BEET.
 * @ESPX_MATCH_REQID: u32, the SA's reqid.
 * @ESPX_MATCH_MARK: u32: (the SA's mark value & ESPX_MATCH_MARK_MASK) is
 *	this; no bit outside the mask.
 * @ESPX_MATCH_MARK_MASK: u32, default 0xffffffff. Needs ESPX_MATCH_MARK.
 * @ESPX_MATCH_IF_ID: u32, the SA's xfrm interface id.
 * @ESPX_MATCH_SPI_MIN: u32 in host order: the SA's SPI is at least this.
 * @ESPX_MATCH_SPI_MAX: u32 in host order: the SA's SPI is at most this
 *	(not below ESPX_MATCH_SPI_MIN).
 * @ESPX_MATCH_SEL: nested, enum espx_sel_attr: the SA's traffic selector
 *	lies within this one.
 */
enum espx_match_attr {
	ESPX_MATCH_UNSPEC,
	ESPX_MATCH_FAMILY,
	ESPX_MATCH_DADDR,
	ESPX_MATCH_DADDR_PLEN,
	ESPX_MATCH_SADDR,
	ESPX_MATCH_SADDR_PLEN,
	ESPX_MATCH_MODE,
	ESPX_MATCH_REQID,
	ESPX_MATCH_MARK,
	ESPX_MATCH_MARK_MASK,
	ESPX_MATCH_IF_ID,
	ESPX_MATCH_SPI_MIN,
	ESPX_MATCH_SPI_MAX,
	ESPX_MATCH_SEL,

	__ESPX_MATCH_MAX,
};

#define ESPX_MATCH_MAX (__ESPX_MATCH_MAX - 1)

/**
 * enum espx_sel_attr - a traffic selector, nested in ESPX_MATCH_SEL
 *
 * The SA's selector (x->sel) matches when it lies within this one: the
 * same family, its prefixes inside these (as long or longer), and the
 * protocol and ports given here are its own (a port of the SA given with a
 * full mask). What is not given matches anything.
 *
 * @ESPX_SEL_FAMILY: u16, AF_INET or AF_INET6: the selector's family.
 *	Required with addresses.
 * @ESPX_SEL_SADDR: binary, source prefix.
 * @ESPX_SEL_SADDR_PLEN: u8, its length (default: the whole address).
 * @ESPX_SEL_DADDR: binary, destination prefix.
 * @ESPX_SEL_DADDR_PLEN: u8, its length (default: the whole address).
 * @ESPX_SEL_PROTO: u8, the upper-layer protocol (not 0).
 * @ESPX_SEL_SPORT: u16 in host order, source port. Needs ESPX_SEL_PROTO.
 * @ESPX_SEL_DPORT: u16 in host order, destination port. Needs
 *	ESPX_SEL_PROTO.
 */
enum espx_sel_attr {
	ESPX_SEL_UNSPEC,
	ESPX_SEL_FAMILY,
	ESPX_SEL_SADDR,
	ESPX_SEL_SADDR_PLEN,
	ESPX_SEL_DADDR,
	ESPX_SEL_DADDR_PLEN,
	ESPX_SEL_PROTO,
	ESPX_SEL_SPORT,
	ESPX_SEL_DPORT,

	__ESPX_SEL_MAX,
};

#define ESPX_SEL_MAX (__ESPX_SEL_MAX - 1)

#endif /* _UAPI_LINUX_ESPX_H */
