// SPDX-License-Identifier: GPL-2.0
/*
 * espx-echo: the initiator of the ESP Echo unencrypted mode (esp-echo.md §4).
 *
 *   espx-echo plain HOST [ count N ] [ interval MS ] [ size S ] [ timeout MS ]
 *                        [ ident ID ] [ pattern HEX ] [ one-way ]
 *                        [ subtypes REQ REP ]
 *
 * Sends ESP packets with SPI 7 (ESP-ECHO-REQUEST), SN 0, no IV and no ICV,
 * carrying the 12-octet echo header (Sub-Type, R, Data Length, Identifier,
 * Sequence Number, Reply path SPI 8), Data, minimum padding, Pad Length and
 * Next Header 144, from a raw IPPROTO_ESP socket, and reports the SPI 8
 * (ESP-ECHO-REPLY) answers like ping: a line per probe and a summary.
 *
 * espx never answers SPI 7 (no unauthenticated packet is answered); the
 * kernel leaves SPI 7/8 to the xfrm core (no SA: dropped and counted), but
 * raw sockets still get a copy, so the answer of any peer that implements
 * the unencrypted mode arrives here. A reply that does not parse is counted
 * as malformed and never as received.
 *
 * Exit status: 0 if a reply came for at least one probe (or every one-way
 * probe was sent), 1 if none did, 2 on a usage or system error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPI_REQ		7
#define SPI_REP		8
#define NH_AGGFRAG	144
#define ECHO_HDR	12
#define ECHO_R		0x80
#define MAX_COUNT	65535	/* the Sequence Number is 16 bits */
#define MAX_DATA	65000

struct opts {
	unsigned int count, interval, timeout, size;
	unsigned int ident, st_req, st_rep;
	unsigned char pattern[16];
	unsigned int plen;
	int oneway;
};

struct probe {
	uint64_t sent_ns;	/* 0: not sent yet */
	int state;		/* 0 outstanding, 1 reply, 2 timeout, 3 error */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void help(void)
{
	fprintf(stderr,
		"usage: espx-echo plain HOST [ count N ] [ interval MS ] [ size S ]\n"
		"                 [ timeout MS ] [ ident ID ] [ pattern HEX ] [ one-way ]\n"
		"                 [ subtypes REQ REP ]\n");
	exit(2);
}

static unsigned long num(const char *s, unsigned long lo, unsigned long hi,
			 const char *what)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s || v < lo || v > hi) {
		fprintf(stderr, "espx-echo: %s: \"%s\" is not in %lu..%lu\n",
			what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void parse_pattern(struct opts *o, const char *s)
{
	size_t n = strlen(s);
	unsigned int i;

	if (!n || n % 2 || n > 2 * sizeof(o->pattern)) {
		fprintf(stderr, "espx-echo: pattern: 1 to 16 octets in hex\n");
		exit(2);
	}
	for (i = 0; i < n / 2; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 }, *end;

		o->pattern[i] = strtoul(b, &end, 16);
		if (*end || !isxdigit((unsigned char)b[0])) {
			fprintf(stderr, "espx-echo: pattern: \"%s\" is not hex\n", s);
			exit(2);
		}
	}
	o->plen = n / 2;
}

/* subtypes REQ REP (the module parameters echo_subtype_req/rep of the
 * peer): 2-255 and different. Returns the index of the last word used.
 */
static int parse_subtypes(struct opts *o, char **argv, int i)
{
	o->st_req = num(argv[i + 1], 2, 255, "subtypes");
	o->st_rep = num(argv[i + 2], 2, 255, "subtypes");
	if (o->st_req == o->st_rep) {
		fprintf(stderr, "espx-echo: subtypes must differ\n");
		exit(2);
	}
	return i + 2;
}

/* Data octet i: the pattern repeated, or i & 0xff (as ESPX_CMD_ECHO) */
static unsigned char data_octet(const struct opts *o, unsigned int i)
{
	return o->plen ? o->pattern[i % o->plen] : i & 0xff;
}

/* The ESP packet of probe seq: SPI 7, SN 0, header, Data, trailer */
static size_t build(const struct opts *o, unsigned int seq, unsigned char *p)
{
	size_t n = 8 + ECHO_HDR + o->size, pl, i;
	uint32_t w;
	uint16_t h;

	w = htonl(SPI_REQ);
	memcpy(p, &w, 4);
	memset(p + 4, 0, 4);
	p[8] = o->st_req;
	p[9] = o->oneway ? 0 : ECHO_R;
	h = htons(o->size);
	memcpy(p + 10, &h, 2);
	h = htons(o->ident);
	memcpy(p + 12, &h, 2);
	h = htons(seq & 0xffff);
	memcpy(p + 14, &h, 2);
	w = htonl(o->oneway ? 0 : SPI_REP);
	memcpy(p + 16, &w, 4);
	for (i = 0; i < o->size; i++)
		p[20 + i] = data_octet(o, i);
	/* RFC 4303 with NULL encryption: the trailer ends 4-aligned */
	pl = (4 - (ECHO_HDR + o->size + 2) % 4) % 4;
	for (i = 0; i < pl; i++)
		p[n + i] = i + 1;
	p[n + pl] = pl;
	p[n + pl + 1] = NH_AGGFRAG;
	return n + pl + 2;
}

struct reply {
	unsigned int ident, seq, dlen;
	const char *why;	/* NULL: well formed */
};

/*
 * Parse an SPI 8 ESP packet (SPI onwards). Well formed: a trailer with
 * Next Header 144 and the pad octets 1, 2, ..., a payload of at least 12
 * octets whose Data Length matches, the reply Sub-Type, R set and Reply
 * path SPI 8 (copied from the request), and Data that is a prefix of the
 * request's (the responder may truncate it, never lengthen it).
 */
static void parse_reply(const struct opts *o, const unsigned char *p,
			size_t n, struct reply *r)
{
	size_t pl, plen, i;
	uint32_t spi;

	memset(r, 0, sizeof(*r));
	if (n < 8 + 2) {
		r->why = "shorter than its ESP header and trailer";
		return;
	}
	if (p[n - 1] != NH_AGGFRAG) {
		r->why = "next header is not 144";
		return;
	}
	pl = p[n - 2];
	if (pl + 2 > n - 8) {
		r->why = "pad length beyond the packet";
		return;
	}
	plen = n - 8 - 2 - pl;
	for (i = 0; i < pl; i++)
		if (p[8 + plen + i] != i + 1) {
			r->why = "bad padding";
			return;
		}
	if (plen < ECHO_HDR) {
		r->why = "echo header shorter than 12 octets";
		return;
	}
	p += 8;
	r->dlen = p[2] << 8 | p[3];
	r->ident = p[4] << 8 | p[5];
	r->seq = p[6] << 8 | p[7];
	memcpy(&spi, p + 8, 4);
	if (ECHO_HDR + r->dlen != plen)
		r->why = "data length does not match the payload";
	else if (p[0] != o->st_rep)
		r->why = "not the reply sub-type";
	else if (!(p[1] & ECHO_R) || ntohl(spi) != SPI_REP)
		r->why = "R or reply path SPI not copied from the request";
	else if (r->dlen > o->size)
		r->why = "reply larger than the request";
	if (r->why)
		return;
	for (i = 0; i < r->dlen; i++)
		if (p[ECHO_HDR + i] != data_octet(o, i)) {
			r->why = "data differs from the request";
			return;
		}
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 0, .interval = 1000, .timeout = 2000,
			  .size = 56, .st_req = 2, .st_rep = 3 };
	unsigned int sent = 0, received = 0, malformed = 0, other = 0, errs = 0;
	uint64_t rtt_min = UINT64_MAX, rtt_max = 0, rtt_sum = 0, start;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct addrinfo hints = { .ai_socktype = SOCK_RAW,
				  .ai_protocol = IPPROTO_ESP }, *ai;
	char host[INET6_ADDRSTRLEN];
	unsigned char *req, *buf;
	struct probe *pr;
	unsigned int next = 0, done = 0;
	int fd, family, i, err, v;
	unsigned short id16;

	if (argc < 3 || strcmp(argv[1], "plain"))
		help();
	for (i = 3; i < argc; i++) {
		const char *k = argv[i];

		if (!strcmp(k, "one-way")) {
			o.oneway = 1;
			continue;
		}
		if (i + 1 >= argc)
			help();
		if (!strcmp(k, "count"))
			o.count = num(argv[++i], 1, MAX_COUNT, k);
		else if (!strcmp(k, "interval"))
			o.interval = num(argv[++i], 10, 60000, k);
		else if (!strcmp(k, "timeout"))
			o.timeout = num(argv[++i], 100, 60000, k);
		else if (!strcmp(k, "size"))
			o.size = num(argv[++i], 0, MAX_DATA, k);
		else if (!strcmp(k, "ident"))
			o.ident = num(argv[++i], 1, 0xffff, k);
		else if (!strcmp(k, "pattern"))
			parse_pattern(&o, argv[++i]);
		else if (!strcmp(k, "subtypes") && i + 2 < argc)
			i = parse_subtypes(&o, argv, i);
		else
			help();
	}
	if (!o.count)
		o.count = o.oneway ? 1 : 3;
	if (!o.ident) {
		do {
			if (getrandom(&id16, sizeof(id16), 0) != sizeof(id16))
				id16 = getpid();
		} while (!id16);
		o.ident = id16;
	}

	err = getaddrinfo(argv[2], NULL, &hints, &ai);
	if (err) {
		fprintf(stderr, "espx-echo: %s: %s\n", argv[2], gai_strerror(err));
		return 2;
	}
	family = ai->ai_family;
	memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
	peerlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	getnameinfo((struct sockaddr *)&peer, peerlen, host, sizeof(host),
		    NULL, 0, NI_NUMERICHOST);

	fd = socket(family, SOCK_RAW, IPPROTO_ESP);
	if (fd < 0) {
		perror("espx-echo: raw ESP socket");
		return 2;
	}
	/* never fragmented (as espx's probes), so usable for PMTU probing;
	 * the socket stays unconnected: IPv4 then sends IP ID 0 with DF
	 */
	if (family == AF_INET) {
		v = IP_PMTUDISC_DO;
		err = setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	} else {
		v = 1;
		err = setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &v, sizeof(v));
	}
	if (err) {
		perror("espx-echo: setsockopt");
		return 2;
	}

	req = malloc(8 + ECHO_HDR + MAX_DATA + 8);
	buf = malloc(65536);
	pr = calloc(o.count, sizeof(*pr));
	if (!req || !buf || !pr) {
		perror("espx-echo");
		return 2;
	}
	printf("ESP ECHO %s: SPI %d, ident 0x%04x, %u octets of data%s\n", host,
	       SPI_REQ, o.ident, o.size, o.oneway ? ", one-way" : "");
	fflush(stdout);

	start = now_ns();
	while (done < o.count) {
		uint64_t t = now_ns(), wake = UINT64_MAX;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		unsigned int s;
		int ms;

		/* send the probes that are due */
		if (next < o.count &&
		    t >= start + (uint64_t)next * o.interval * 1000000ull) {
			size_t len = build(&o, next + 1, req);

			pr[next].sent_ns = now_ns();
			sent++;
			if (sendto(fd, req, len, 0, (struct sockaddr *)&peer,
				   peerlen) < 0) {
				printf("seq %u send error: %s\n", next + 1,
				       strerror(errno));
				pr[next].state = 3;
				errs++;
				done++;
			} else if (o.oneway) {
				printf("seq %u sent (one-way)\n", next + 1);
				pr[next].state = 1;
				done++;
			}
			fflush(stdout);
			next++;
			continue;
		}
		/* time the outstanding probes out */
		for (s = 0; s < next; s++) {
			uint64_t end = pr[s].sent_ns + o.timeout * 1000000ull;

			if (pr[s].state)
				continue;
			if (t >= end) {
				printf("seq %u timeout\n", s + 1);
				fflush(stdout);
				pr[s].state = 2;
				done++;
			} else if (end < wake) {
				wake = end;
			}
		}
		if (next < o.count) {
			uint64_t due = start + (uint64_t)next * o.interval * 1000000ull;

			if (due < wake)
				wake = due;
		}
		if (done >= o.count)
			break;
		ms = wake == UINT64_MAX ? 100 : (int)((wake - t) / 1000000 + 1);
		if (poll(&pfd, 1, ms) <= 0)
			continue;

		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, 65536, 0, (struct sockaddr *)&from, &fl);
		uint64_t arrive = now_ns();
		const unsigned char *esp = buf;
		struct reply r;
		uint32_t spi;

		if (n < 0)
			continue;
		if (family == AF_INET) {
			const struct sockaddr_in *a = (void *)&from, *b = (void *)&peer;
			size_t ihl;

			if (a->sin_addr.s_addr != b->sin_addr.s_addr || n < 20)
				continue;
			ihl = (buf[0] & 0xf) * 4;
			if ((size_t)n < ihl)
				continue;
			esp += ihl;
			n -= ihl;
		} else {
			const struct sockaddr_in6 *a = (void *)&from, *b = (void *)&peer;

			if (memcmp(&a->sin6_addr, &b->sin6_addr, 16))
				continue;
		}
		if (n < 4)
			continue;
		memcpy(&spi, esp, 4);
		if (ntohl(spi) != SPI_REP)
			continue;	/* an SA's traffic, or a request to us */
		parse_reply(&o, esp, n, &r);
		if (!r.why && r.ident != o.ident)
			continue;	/* another initiator's reply */
		if (r.why) {
			printf("malformed reply from %s (%zd octets of ESP): %s\n",
			       host, n, r.why);
			malformed++;
		} else if (!r.seq || r.seq > next || r.seq > o.count ||
			   pr[r.seq - 1].state) {
			printf("seq %u: unexpected reply (late, duplicate or not sent)\n",
			       r.seq);
			other++;
		} else {
			uint64_t rtt = arrive - pr[r.seq - 1].sent_ns;

			printf("reply from %s spi 0x%08x ident 0x%04x seq %u len %u time %.2f ms\n",
			       host, SPI_REP, r.ident, r.seq, r.dlen, rtt / 1e6);
			pr[r.seq - 1].state = 1;
			received++;
			done++;
			rtt_sum += rtt;
			if (rtt < rtt_min)
				rtt_min = rtt;
			if (rtt > rtt_max)
				rtt_max = rtt;
		}
		fflush(stdout);
	}

	if (o.oneway) {
		printf("%u sent (one-way), %u send errors\n", sent, errs);
		return errs == sent ? 1 : 0;
	}
	printf("%u sent, %u received", sent, received);
	if (malformed)
		printf(", %u malformed", malformed);
	if (other)
		printf(", %u unexpected", other);
	if (errs)
		printf(", %u send errors", errs);
	printf(", %u%% loss", sent ? (sent - received) * 100 / sent : 0);
	if (received)
		printf(", rtt min/avg/max %.3f/%.3f/%.3f ms", rtt_min / 1e6,
		       rtt_sum / 1e6 / received, rtt_max / 1e6);
	printf("\n");
	return received ? 0 : 1;
}
