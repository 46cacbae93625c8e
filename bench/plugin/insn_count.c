// SPDX-License-Identifier: GPL-2.0
/*
 * insn_count: a QEMU TCG plugin (QEMU 7.2 plugin API, version 1) that counts
 * guest instructions between two marker instructions, per vCPU, split into
 * kernel and user instructions.
 *
 * Markers. A guest program executes one of two 7-byte multi-byte NOPs
 *   START: nopl 0x45535831(%rax)   0f 1f 80 31 58 53 45
 *   STOP:  nopl 0x45535830(%rax)   0f 1f 80 30 58 53 45
 * They are architectural no-ops, so the same binary runs natively; the 32-bit
 * displacement makes an accidental match practically impossible. Any vCPU may
 * execute a marker. START snapshots every vCPU's counters; STOP appends one
 * line per measurement to the output file:
 *   mark=<n> vcpu=<v> kernel=<sum> user=<sum> [k<i>=<kernel on vCPU i> u<i>=...]
 * The n-th STOP (from 1) is measurement n; the guest keeps the same order.
 *
 * What is counted. Every guest instruction that the vCPU executes, counted
 * per translation block (TB): a TB execution adds its instruction count to
 * the executing vCPU's counter, in a plugin callback (per-vCPU, no atomics:
 * each counter is only written by its own vCPU thread). A TB lies in one
 * guest page, so it is either all kernel or all user code; "kernel" means the
 * TB's virtual address is in the upper canonical half (>= 0xffff800000000000),
 * which on x86-64 Linux is exactly code run at CPL 0 (SMEP forbids the kernel
 * from executing user pages). QEMU 7.2's plugin API cannot read registers, so
 * the address is the privilege test. Caveats, all small and the same for any
 * two runs: a TB that exits early (page fault, exception) is still counted
 * whole; the rest of the START marker's TB is not counted and the STOP
 * marker's TB is counted whole; instructions executed by other vCPUs in the
 * window (timer ticks, kworkers, an idle loop that polls) are counted in their
 * vCPU's column and in the sums. A halted vCPU executes nothing.
 *
 * Arguments: outfile=PATH (append; default: QEMU's log via qemu_plugin_outs).
 *            profile=PATH (optional): also histogram kernel instructions by
 *            TB address between the markers; at each STOP append
 *              P <mark> <tb vaddr hex> <insns in the TB> <executions>
 *            per kernel TB executed in the window (a TB translated more than
 *            once may appear more than once: sum them). bench/profile.py maps
 *            the addresses to symbols with the guest's /proc/kallsyms.
 *            Costs an atomic add per kernel TB execution: use it for
 *            profiles, not for the insn/pkt table.
 *
 * Build: cc -O2 -fPIC -shared -fvisibility=hidden -I<dir of qemu-plugin.h>
 * Use:   qemu-system-x86_64 ... -plugin /abs/insn_count.so,outfile=/abs/log
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_LEN	7
#define KERNEL_BASE	0xffff800000000000ULL
#define KERNEL_FLAG	(1ULL << 63)

static const unsigned char mark_start[MARK_LEN] = {
	0x0f, 0x1f, 0x80, 0x31, 0x58, 0x53, 0x45 };
static const unsigned char mark_stop[MARK_LEN] = {
	0x0f, 0x1f, 0x80, 0x30, 0x58, 0x53, 0x45 };

struct vcpu_count {
	uint64_t kernel;
	uint64_t user;
	uint64_t start_kernel;
	uint64_t start_user;
	char pad[32];		/* one cache line per vCPU */
};

static struct vcpu_count *counts;
static int n_vcpus;
static FILE *out;

/* profile=: one record per translated kernel TB, never freed (a TB flush
 * re-translates into a new record; the run holds a few 100k at most)
 */
struct tb_prof {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t execs;		/* __atomic: any vCPU executes any TB */
	struct tb_prof *next;
};

static FILE *prof_out;
static struct tb_prof *prof_list;	/* under prof_lock */
static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int n_marks;
static unsigned int n_unmatched;
static int started;	/* accessed with __atomic builtins */

static void emit(const char *s)
{
	if (out) {
		fputs(s, out);
		fflush(out);
	} else {
		qemu_plugin_outs(s);
	}
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	uint64_t v = (uint64_t)(uintptr_t)udata;

	if ((int)vcpu >= n_vcpus)
		return;
	if (v & KERNEL_FLAG)
		counts[vcpu].kernel += v & ~KERNEL_FLAG;
	else
		counts[vcpu].user += v;
}

static void tb_exec_prof(unsigned int vcpu, void *udata)
{
	struct tb_prof *p = udata;

	if ((int)vcpu < n_vcpus)
		counts[vcpu].kernel += p->n_insns;
	__atomic_fetch_add(&p->execs, 1, __ATOMIC_RELAXED);
}

/* At START: forget what ran before the window. */
static void prof_reset(void)
{
	struct tb_prof *p;

	pthread_mutex_lock(&prof_lock);
	for (p = prof_list; p; p = p->next)
		__atomic_store_n(&p->execs, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&prof_lock);
}

static void prof_dump(unsigned int mark)
{
	struct tb_prof *p;
	uint64_t e;

	pthread_mutex_lock(&prof_lock);
	for (p = prof_list; p; p = p->next) {
		e = __atomic_load_n(&p->execs, __ATOMIC_RELAXED);
		if (e)
			fprintf(prof_out, "P %u %" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				mark, p->vaddr, p->n_insns, e);
	}
	pthread_mutex_unlock(&prof_lock);
	fflush(prof_out);
}

static void on_start(unsigned int vcpu, void *udata)
{
	int i;

	(void)vcpu;
	(void)udata;
	if (prof_out)
		prof_reset();
	for (i = 0; i < n_vcpus; i++) {
		counts[i].start_kernel = counts[i].kernel;
		counts[i].start_user = counts[i].user;
	}
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
}

static void on_stop(unsigned int vcpu, void *udata)
{
	uint64_t k, u, ksum = 0, usum = 0;
	char line[128 + 48 * 64], *p = line;
	size_t left = sizeof(line);
	int i, n;

	(void)udata;
	if (!__atomic_exchange_n(&started, 0, __ATOMIC_ACQ_REL)) {
		n_unmatched++;
		emit("insn_count: STOP without START ignored\n");
		return;
	}
	n_marks++;
	for (i = 0; i < n_vcpus; i++) {
		ksum += counts[i].kernel - counts[i].start_kernel;
		usum += counts[i].user - counts[i].start_user;
	}
	n = snprintf(p, left, "mark=%u vcpu=%u kernel=%" PRIu64 " user=%" PRIu64,
		     n_marks, vcpu, ksum, usum);
	p += n;
	left -= n;
	for (i = 0; i < n_vcpus && i < 64 && left > 48; i++) {
		k = counts[i].kernel - counts[i].start_kernel;
		u = counts[i].user - counts[i].start_user;
		n = snprintf(p, left, " k%d=%" PRIu64 " u%d=%" PRIu64, i, k, i, u);
		p += n;
		left -= n;
	}
	snprintf(p, left, "\n");
	emit(line);
	if (prof_out)
		prof_dump(n_marks);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	uint64_t v = n | (vaddr >= KERNEL_BASE ? KERNEL_FLAG : 0);

	(void)id;
	if (prof_out && vaddr >= KERNEL_BASE) {
		struct tb_prof *p = calloc(1, sizeof(*p));

		if (p) {
			p->vaddr = vaddr;
			p->n_insns = n;
			pthread_mutex_lock(&prof_lock);
			p->next = prof_list;
			prof_list = p;
			pthread_mutex_unlock(&prof_lock);
			qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_prof,
							     QEMU_PLUGIN_CB_NO_REGS, p);
			return;
		}
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)v);
	if (vaddr >= KERNEL_BASE)
		return;	/* markers are user-space instructions */
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *d;

		if (qemu_plugin_insn_size(insn) != MARK_LEN)
			continue;
		d = qemu_plugin_insn_data(insn);
		if (!memcmp(d, mark_start, MARK_LEN))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (!memcmp(d, mark_stop, MARK_LEN))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	char line[128];

	(void)id;
	(void)udata;
	snprintf(line, sizeof(line), "insn_count: exit marks=%u unmatched_stops=%u\n",
		 n_marks, n_unmatched);
	emit(line);
	if (out)
		fclose(out);
	out = NULL;
	if (prof_out)
		fclose(prof_out);
	prof_out = NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "insn_count: needs qemu-system-x86_64\n");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "outfile=", 8)) {
			out = fopen(argv[i] + 8, "a");
			if (!out) {
				perror(argv[i] + 8);
				return -1;
			}
		} else if (!strncmp(argv[i], "profile=", 8)) {
			prof_out = fopen(argv[i] + 8, "a");
			if (!prof_out) {
				perror(argv[i] + 8);
				return -1;
			}
		} else {
			fprintf(stderr, "insn_count: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	n_vcpus = info->system.max_vcpus;
	if (n_vcpus < 1)
		n_vcpus = 1;
	counts = calloc(n_vcpus, sizeof(*counts));
	if (!counts)
		return -1;
	emit("insn_count: loaded\n");
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
