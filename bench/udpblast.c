// SPDX-License-Identifier: GPL-2.0
/*
 * udpblast: send a fixed number of UDP datagrams as fast as one blocking
 * socket can, between the insn_count plugin's START/STOP marker instructions,
 * into a sink socket that another network namespace holds.
 *
 *   udpblast -d DST -p PORT -l LEN -n COUNT [-w WARMUP] [-q MS] [-N RXNETNS] [-A TXNETNS]
 *            [-c CPU[,CPU...]]
 *   udpblast -s MS     markers around a user-space busy loop of MS ms (measures
 *                      the background kernel work per second, e.g. timer ticks)
 *   udpblast -x CMD [ARG...]   markers around running CMD (fork, exec, wait):
 *                      the kernel work of a control-path command, e.g. one
 *                      `ip xfrm state add`; prints "exec status=S ns=T"
 *
 * The sender runs in TXNETNS (default: the caller's), the sink in RXNETNS
 * (names under /var/run/netns, as `ip netns` makes them). The sink is bound
 * to DST:PORT, with the smallest receive buffer, and is
 * never read while sending: after ESP input, UDP lookup and socket accounting,
 * every datagram but the first few is dropped at that socket, so the
 * measured path is the whole send + ESP output + veth + ESP input + UDP
 * receive path with no reader scheduling in it. "arrived" = datagrams read
 * from the sink afterwards + the sink's drop counter (SO_MEMINFO).
 *
 * The process pins itself to CPU (default 0); veth hands packets to the
 * receive softirq of the sending CPU, so the whole path runs on it.
 *
 * With a list of CPUs (-c 0,1) there is one sender thread per CPU, pinned to
 * it, each with its own socket, sink and port (PORT + index), all sending
 * COUNT datagrams at once through the same SA: the aggregate of several
 * CPUs on one SA (multi-counters.md). Each flow stays on its CPU, so a
 * counter SA gives each sender its own counter. sent/arrived/pps are then
 * totals over all senders; datagrams that never arrive (e.g. replay drops
 * from cross-CPU reordering) only lower arrived.
 *
 * The STOP marker comes once every datagram sent has reached the sink (or
 * none arrived for 1 s, -q MS: for MS ms), so work deferred to cryptd/softirq
 * threads is inside the window. Traffic that is meant to be dropped (forged
 * packets, bench/run-vm.sh metric forged) never reaches the sink: -q keeps
 * the idle wait at the end of its window short. ns is from the first send to the last arrival seen; pps =
 * arrived / ns.
 *
 * Prints one line: sent=N errors=E arrived=A ns=T pps=P senders=K
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>	/* SK_MEMINFO_* */

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define MAX_SENDERS 64

/* One sender: its CPU, socket and sink (datagrams read from it so far). */
struct sender {
	long cpu;
	int tx, rx;
	uint64_t rx_read;
	long sent, errors;
	pthread_t thread;
};

static struct sender senders[MAX_SENDERS];
static int nsenders;
static long len = 64, count = 10000, warmup = 200;
static char *buf;
static pthread_barrier_t warm_done, go;

/* Same bytes as bench/plugin/insn_count.c's markers. */
static inline void mark_start(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x80, 0x31, 0x58, 0x53, 0x45" ::: "memory");
}

static inline void mark_stop(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x80, 0x30, 0x58, 0x53, 0x45" ::: "memory");
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "udpblast: bad address %s\n", s);
	exit(2);
}

static void enter_netns(const char *netns)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die(path);
	close(fd);
}

static int make_sink(const char *netns, int af, struct sockaddr_storage *ss, socklen_t len)
{
	int self = -1, fd, zero = 0;

	if (netns) {
		self = open("/proc/self/ns/net", O_RDONLY);
		if (self < 0)
			die("/proc/self/ns/net");
		enter_netns(netns);
	}
	fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)ss, len))
		die("bind sink");
	if (netns) {
		if (setns(self, CLONE_NEWNET))
			die("setns back");
		close(self);
	}
	return fd;
}

/* Datagrams that reached the sink: read (drained now) + dropped there so far. */
static uint64_t sink_one(struct sender *s)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t ml = sizeof(mem);
	char rbuf[65536];

	while (recv(s->rx, rbuf, sizeof(rbuf), MSG_DONTWAIT) >= 0)
		s->rx_read++;
	memset(mem, 0, sizeof(mem));
	if (getsockopt(s->rx, SOL_SOCKET, SO_MEMINFO, mem, &ml))
		die("SO_MEMINFO");
	return s->rx_read + mem[SK_MEMINFO_DROPS];
}

/* ... summed over all senders' sinks */
static uint64_t sink_total(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < nsenders; i++)
		sum += sink_one(&senders[i]);
	return sum;
}

/*
 * Wait until @expect datagrams beyond @base reached the sink, or none came for
 * @quiet_ms; polls are 10 ms apart (an idle vCPU executes nothing meanwhile),
 * the first one is immediate. *@t_last: when the last arrival was seen.
 */
static uint64_t settle(uint64_t base, long expect, long quiet_ms, struct timespec *t_last)
{
	uint64_t arrived = sink_total() - base, last = arrived;
	long i;

	clock_gettime(CLOCK_MONOTONIC, t_last);
	for (i = 0; arrived < (uint64_t)expect && i < quiet_ms / 10; i++) {
		usleep(10000);
		arrived = sink_total() - base;
		if (arrived != last) {
			clock_gettime(CLOCK_MONOTONIC, t_last);
			last = arrived;
			i = 0;
		}
	}
	return arrived;
}

static void pin(long cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void send_n(struct sender *s, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		if (send(s->tx, buf, len, 0) == len)
			s->sent++;
		else
			s->errors++;
	}
}

/* Sender thread (several CPUs): warm up, then send COUNT when main says go. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;

	pin(s->cpu);
	send_n(s, warmup);
	pthread_barrier_wait(&warm_done);
	s->sent = 0;
	s->errors = 0;
	pthread_barrier_wait(&go);
	send_n(s, count);
	return NULL;
}

/* "0,1,3" -> senders[].cpu */
static void parse_cpus(const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nsenders == MAX_SENDERS) {
			fprintf(stderr, "udpblast: more than %d CPUs\n", MAX_SENDERS);
			exit(2);
		}
		senders[nsenders++].cpu = atol(tok);
	}
	free(copy);
	if (!nsenders) {
		fprintf(stderr, "udpblast: empty -c\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *dst = NULL, *netns = NULL, *txns = NULL, *cpus = "0";
	long port = 9000, spin_ms = 0, quiet_ms = 1000, exec_cmd = 0;
	struct sockaddr_storage ss;
	struct timespec t0, t1;
	socklen_t sl;
	uint64_t ns, arrived, base;
	long i, sent = 0, errors = 0;
	int opt, af;

	while ((opt = getopt(argc, argv, "+d:p:l:n:w:q:N:A:c:s:x")) != -1) {
		switch (opt) {
		case 'd':
			dst = optarg;
			break;
		case 'p':
			port = atol(optarg);
			break;
		case 'l':
			len = atol(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		case 'q':
			quiet_ms = atol(optarg);
			break;
		case 'N':
			netns = optarg;
			break;
		case 'A':
			txns = optarg;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 's':
			spin_ms = atol(optarg);
			break;
		case 'x':
			exec_cmd = 1;
			break;
		default:
			fprintf(stderr, "usage: udpblast -d DST [-p PORT] [-l LEN] [-n COUNT] [-w WARMUP] [-q MS]\n"
				"                [-N RXNETNS] [-A TXNETNS] [-c CPU[,CPU...]] | -s MS |\n"
				"       udpblast -x CMD [ARG...]\n");
			return 2;
		}
	}
	if (exec_cmd) {	/* markers around one command, start to exit */
		pid_t pid;
		int st;

		if (optind >= argc) {
			fprintf(stderr, "udpblast: -x needs a command\n");
			return 2;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		mark_start();
		pid = fork();
		if (pid == 0) {
			execvp(argv[optind], argv + optind);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			st = -1;
		mark_stop();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
		printf("exec status=%d ns=%llu\n", st, (unsigned long long)ns);
		return st == 0 ? 0 : 1;
	}
	if ((!dst && spin_ms <= 0) || len < 0 || len > 65000 || count < 1 || warmup < 0 ||
	    quiet_ms < 10) {
		fprintf(stderr, "udpblast: need -d DST and sane -l/-n/-w/-q\n");
		return 2;
	}
	parse_cpus(cpus);
	/* main thread: on the first CPU (the only sender when there is one) */
	pin(senders[0].cpu);
	if (spin_ms > 0) {	/* calibration: markers around a user-space busy loop */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		mark_start();
		do {	/* the clock is read rarely: it may be a syscall */
			for (i = 0; i < 100000; i++)
				asm volatile("" ::: "memory");
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
		} while (ns < spin_ms * 1000000ULL);
		mark_stop();
		printf("spin ns=%llu\n", (unsigned long long)ns);
		return 0;
	}
	/* sinks in RXNETNS, then the senders' sockets in TXNETNS: PORT + index */
	for (i = 0; i < nsenders; i++) {
		af = parse_addr(dst, port + i, &ss, &sl);
		senders[i].rx = make_sink(netns, af, &ss, sl);
	}
	if (txns)
		enter_netns(txns);
	for (i = 0; i < nsenders; i++) {
		af = parse_addr(dst, port + i, &ss, &sl);
		senders[i].tx = socket(af, SOCK_DGRAM, 0);
		if (senders[i].tx < 0)
			die("socket");
		if (connect(senders[i].tx, (struct sockaddr *)&ss, sl))
			die("connect");
	}
	buf = calloc(1, len + 1);
	if (!buf)
		die("calloc");

	/* Warm-up: neighbour resolution, xfrm bundle, caches. */
	base = sink_total();
	if (nsenders == 1) {
		send_n(&senders[0], warmup);
		senders[0].sent = 0;
		senders[0].errors = 0;
	} else {
		if (pthread_barrier_init(&warm_done, NULL, nsenders + 1) ||
		    pthread_barrier_init(&go, NULL, nsenders + 1))
			die("pthread_barrier_init");
		for (i = 0; i < nsenders; i++)
			if (pthread_create(&senders[i].thread, NULL, sender_main, &senders[i]))
				die("pthread_create");
		pthread_barrier_wait(&warm_done);
	}
	settle(base, warmup * nsenders, 300, &t1);
	base = sink_total();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	mark_start();
	if (nsenders == 1) {
		send_n(&senders[0], count);
	} else {
		pthread_barrier_wait(&go);
		for (i = 0; i < nsenders; i++)
			pthread_join(senders[i].thread, NULL);
	}
	for (i = 0; i < nsenders; i++) {
		sent += senders[i].sent;
		errors += senders[i].errors;
	}
	/*
	 * An asynchronous crypto driver (cryptd) may still hold packets: the
	 * window ends when every packet sent has reached the sink, or when
	 * none has arrived for quiet_ms (1 s).
	 */
	arrived = settle(base, sent, quiet_ms, &t1);
	mark_stop();

	ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
	printf("sent=%ld errors=%ld arrived=%llu ns=%llu pps=%.0f senders=%d\n", sent, errors,
	       (unsigned long long)arrived, (unsigned long long)ns,
	       ns ? arrived * 1e9 / ns : 0.0, nsenders);
	return 0;
}
