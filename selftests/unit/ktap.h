/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTAP output shared by the unit tests: one "ok N desc" / "not ok N desc"
 * line per check, a plan line first and a totals line last.
 *   int main(void) { ktap_plan(PLAN); ...; return ktap_done(PLAN); }
 * Include after the codec sources (it uses their u8).
 */
#ifndef _ESPX_UNIT_KTAP_H
#define _ESPX_UNIT_KTAP_H

#include <stdio.h>
#include <stdlib.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static int n_test, n_fail;

static inline void ktap_plan(int plan)
{
	printf("TAP version 13\n1..%d\n", plan);
}

static inline void ok(int cond, const char *desc)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d %s\n", cond ? "" : "not ", n_test, desc);
}

/* @a and @b equal over @len octets; prints the first difference */
static inline int same(const u8 *a, const u8 *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (a[i] != b[i]) {
			printf("# differ at %zu: %02x != %02x\n", i, a[i], b[i]);
			return 0;
		}
	}
	return 1;
}

/* Totals line; the exit status: 0 only if every check ran and passed */
static inline int ktap_done(int plan)
{
	printf("# totals: pass:%d fail:%d\n", n_test - n_fail, n_fail);
	if (n_test != plan)
		printf("# plan mismatch: ran %d\n", n_test);
	return n_fail || n_test != plan ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* _ESPX_UNIT_KTAP_H */
