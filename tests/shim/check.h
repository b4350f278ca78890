/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shim tests' check: report file:line and errno, count, go on. */
#ifndef SHIM_TEST_CHECK_H
#define SHIM_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fprintf(stderr, " (errno %d %s)\n", errno,	\
				strerror(errno));			\
			failures++;					\
		}							\
	} while (0)

#endif /* SHIM_TEST_CHECK_H */
