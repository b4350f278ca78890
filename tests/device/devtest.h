/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devtest.h: the harness of the `device` suite (tests/device/devtest.c).
 *
 * One test = one function run in a fresh process (its own process group)
 * by the runner in devtest.c.  The test process is the FUSE daemon: it
 * opens /dev/fuse, mounts, and speaks the raw protocol.  Callers (the
 * processes whose system calls produce requests) are forked children that
 * report their result through a pipe.  Every wait has a deadline.
 *
 * A failing check prints a TAP diagnostic, records the reason for the
 * runner's "not ok" line and exits the test process; the runner then kills
 * the test's process group and detaches its mount.
 */
#ifndef DEVTEST_H
#define DEVTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/fuse.h>

/* NOTIFY_RESEND (7.40) where <linux/fuse.h> is older. */
#ifndef FUSE_HAS_RESEND
#define FUSE_NOTIFY_RESEND	7
#define FUSE_UNIQUE_RESEND	(1ULL << 63)
#endif

/* Interrupts carry the interrupted request's unique with bit 0 set. */
#ifndef FUSE_INT_REQ_BIT
#define FUSE_INT_REQ_BIT	1ULL
#endif

#define DT_WAIT_MS	5000	/* deadline of any awaited event */
#define DT_IDLE_MS	300	/* how long "nothing arrives" is watched */
#define DT_TEST_MS	60000	/* deadline of one whole test */
#define DT_BUF		(256 * 1024)	/* default device read size */
#define DT_MAX_WRITE	(64 * 1024)	/* each buffer check fits a CUSE chunk */
#define DT_MINOR	FUSE_KERNEL_MINOR_VERSION
#define DT_MAX_DEVFDS	8
#define DT_MAX_SEEN	64

/* The minimum read size of fuse_dev_do_read() for a given max_write. */
#define DT_READ_HDRS	(sizeof(struct fuse_in_header) + \
			 sizeof(struct fuse_write_in))
#define DT_MIN_READ(mw)	(DT_READ_HDRS + (mw) > 8192 ? \
			 DT_READ_HDRS + (size_t)(mw) : (size_t)8192)

struct dt {
	char mnt[256];		/* the mountpoint (made by the runner) */
	char aux[256];		/* spare directory, unmounted by the runner */
	int fd;			/* the mounted device fd, or -1 */
	int devfds[DT_MAX_DEVFDS]; /* device fds, closed in callers */
	size_t rsize;		/* size of each device read */
	unsigned char *buf;	/* DT_BUF bytes: the last request read */
	uint32_t kminor;	/* minor the kernel offered in INIT */
	uint32_t kflags;	/* flags the kernel offered in INIT */
	uint32_t want_flags;	/* INIT flags to accept; must be offered */
	uint32_t minor;		/* minor we answered */
	uint64_t seen[DT_MAX_SEEN]; /* uniques read, in order */
	int nseen;
};

/* Result a caller reports through its pipe. */
struct call_result {
	long ret;		/* >= 0 or -errno */
	int sigs;		/* SIGUSR1 handler runs */
	int len;		/* bytes used in data */
	char data[64];
};

/* A function a caller runs: returns >= 0 or -errno. */
typedef long (*call_fn)(const char *path, long arg, struct call_result *r);

struct caller {
	pid_t pid;
	int rfd;		/* read end of the result pipe, or -1 */
};

/* Install a SIGUSR1 handler (no SA_RESTART); the caller execs itself. */
#define CALL_SIGUSR1	(1 << 0)
/* Keep the device fds open in the caller. */
#define CALL_KEEP_FDS	(1 << 1)

_Noreturn void dt_fail(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void dt_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void dt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define FAIL(...)	dt_fail(__LINE__, __VA_ARGS__)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
/* a and b are integers; prints both on failure */
#define CHECK_EQ(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_)							\
		FAIL("%s == %lld, want %s == %lld", #a, a_, #b, b_);	\
} while (0)
/* r is a result that must be -e */
#define CHECK_ERR(r, e) do {						\
	long long r_ = (long long)(r);					\
	if (r_ != -(long long)(e))					\
		FAIL("%s == %lld (%s), want -%s", #r, r_,		\
		     r_ < 0 ? strerror((int)-r_) : "no error", #e);	\
} while (0)

#endif /* DEVTEST_H */
