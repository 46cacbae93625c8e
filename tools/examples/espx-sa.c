// SPDX-License-Identifier: GPL-2.0
/*
 * espx-sa: create one ESP SA with a WESPv2 extension, the way an IKE daemon
 * would: ESPX_CMD_SA_SET for the SA's id on a generic netlink socket, then
 * XFRM_MSG_NEWSA on the xfrm socket while the first is still open (a pending
 * config lives as long as the socket that set it), ESPX_CMD_SA_DEL if NEWSA
 * fails before espx could take the config.
 *
 *   espx-sa SRC DST SPI CRYPT-OFFSET KEY      (IPv4, AES-GCM-128, ICV 16)
 *   e.g. espx-sa 192.0.2.1 192.0.2.2 0x1000 2 0x0102...1314   (20-octet key)
 *
 * Build: cc -o espx-sa espx-sa.c -lmnl (make examples)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/xfrm.h>
#include <linux/espx.h>

#define KEYLEN 20	/* AES-128 key and 4-octet salt */

static char buf[8192];

/* Send one request, wait for its ack (or reply, given to cb). */
static int talk(struct mnl_socket *nl, struct nlmsghdr *n, mnl_cb_t cb, void *data)
{
	unsigned int seq = time(NULL), pid = mnl_socket_get_portid(nl);
	int ret;

	n->nlmsg_seq = seq;
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl, n, n->nlmsg_len) < 0)
		return -1;
	do {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret > 0)
			ret = mnl_cb_run(buf, ret, seq, pid, cb, data);
	} while (ret > 0);
	return ret;
}

static int family_cb(const struct nlmsghdr *n, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, n, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			*(int *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static struct nlmsghdr *genl_msg(int type, int cmd)
{
	struct nlmsghdr *n = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(n, sizeof(*g));

	n->nlmsg_type = type;
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : ESPX_GENL_VERSION;
	return n;
}

/* The SA's id, as xfrm keys it: family, daddr, SPI (network order), proto. */
static void put_id(struct nlmsghdr *n, struct in_addr dst, __u32 spi)
{
	struct nlattr *id = mnl_attr_nest_start(n, ESPX_A_SA_ID);

	mnl_attr_put_u16(n, ESPX_ID_FAMILY, AF_INET);
	mnl_attr_put(n, ESPX_ID_DADDR, sizeof(dst), &dst);
	mnl_attr_put_u32(n, ESPX_ID_SPI, spi);
	mnl_attr_put_u8(n, ESPX_ID_PROTO, IPPROTO_ESP);
	mnl_attr_nest_end(n, id);
}

int main(int argc, char **argv)
{
	struct mnl_socket *genl, *xfrm;
	struct xfrm_usersa_info *sa;
	union {
		struct xfrm_algo_aead a;
		char b[sizeof(struct xfrm_algo_aead) + KEYLEN];
	} alg = {};
	struct xfrm_algo_aead *aead = &alg.a;
	struct in_addr src, dst;
	struct nlmsghdr *n;
	struct nlattr *nest;
	int family = -1, i;
	__u32 spi;

	if (argc != 6 || !inet_pton(AF_INET, argv[1], &src) ||
	    !inet_pton(AF_INET, argv[2], &dst) || strncmp(argv[5], "0x", 2) ||
	    strlen(argv[5]) != 2 + 2 * KEYLEN) {
		fprintf(stderr, "usage: espx-sa SRC DST SPI CRYPT-OFFSET 0xKEY(20 octets)\n");
		return 2;
	}
	spi = htonl(strtoul(argv[3], NULL, 0));
	genl = mnl_socket_open(NETLINK_GENERIC);
	xfrm = mnl_socket_open(NETLINK_XFRM);
	if (!genl || !xfrm || mnl_socket_bind(genl, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_bind(xfrm, 0, MNL_SOCKET_AUTOPID)) {
		perror("netlink socket");
		return 1;
	}

	/* 1. the family's id (asking by name loads espx if it is not loaded) */
	n = genl_msg(GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(n, CTRL_ATTR_FAMILY_NAME, ESPX_GENL_NAME);
	if (talk(genl, n, family_cb, &family) < 0 || family < 0) {
		perror("espx family");
		return 1;
	}

	/* 2. the pending config: WESPv2 with a crypt offset */
	n = genl_msg(family, ESPX_CMD_SA_SET);
	put_id(n, dst, spi);
	nest = mnl_attr_nest_start(n, ESPX_A_WESP);
	mnl_attr_put_u8(n, ESPX_WESP_CRYPT_OFFSET, atoi(argv[4]));
	mnl_attr_nest_end(n, nest);
	if (talk(genl, n, NULL, NULL) < 0) {
		perror("ESPX_CMD_SA_SET");
		return 1;
	}

	/* 3. the SA itself; espx binds the config while the kernel builds it */
	n = mnl_nlmsg_put_header(buf);
	n->nlmsg_type = XFRM_MSG_NEWSA;
	n->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	sa = mnl_nlmsg_put_extra_header(n, sizeof(*sa));
	sa->family = AF_INET;
	sa->saddr.a4 = src.s_addr;
	sa->id.daddr.a4 = dst.s_addr;
	sa->id.spi = spi;
	sa->id.proto = IPPROTO_ESP;
	sa->mode = XFRM_MODE_TRANSPORT;
	sa->lft.soft_byte_limit = XFRM_INF;
	sa->lft.hard_byte_limit = XFRM_INF;
	sa->lft.soft_packet_limit = XFRM_INF;
	sa->lft.hard_packet_limit = XFRM_INF;
	strcpy(aead->alg_name, "rfc4106(gcm(aes))");	/* key: 16 + 4 salt */
	aead->alg_key_len = KEYLEN * 8;
	aead->alg_icv_len = 128;
	for (i = 0; i < KEYLEN; i++)
		if (sscanf(argv[5] + 2 + 2 * i, "%2hhx",
			   (unsigned char *)&aead->alg_key[i]) != 1)
			return 2;
	mnl_attr_put(n, XFRMA_ALG_AEAD, sizeof(*aead) + KEYLEN, aead);
	if (talk(xfrm, n, NULL, NULL) < 0) {
		int err = errno;

		/* failed before espx took the config: drop it (ENOENT: already gone) */
		n = genl_msg(family, ESPX_CMD_SA_DEL);
		put_id(n, dst, spi);
		talk(genl, n, NULL, NULL);
		fprintf(stderr, "XFRM_MSG_NEWSA: %s\n", strerror(err));
		return 1;
	}
	printf("SA %s -> %s spi 0x%x created with WESPv2 crypt-offset %s\n",
	       argv[1], argv[2], ntohl(spi), argv[4]);
	mnl_socket_close(xfrm);
	mnl_socket_close(genl);
	return 0;
}
