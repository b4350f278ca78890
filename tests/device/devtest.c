/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devtest: the `device` suite.  A FUSE daemon written against the raw
 * /dev/fuse protocol that checks, one test per rule, how the device behaves
 * (docs: /work/shared/linux-device-rules.md, i.e. Linux fs/fuse/dev.c).
 * It must pass against the kernel's /dev/fuse and, unchanged, against the
 * emulated device under libmountshim.so (`fusedev run -- devtest`): it uses
 * only plain libc calls the shim routes (open of the literal "/dev/fuse",
 * mount, umount2, read, write, poll, ioctl, and file calls under the
 * mountpoint).
 *
 *   devtest [-l] [TESTNAME...]
 *
 * Runs all tests or the named ones and prints TAP.  Exit 0 all passed,
 * 1 one failed, 77 all skipped (not root, or no usable /dev/fuse).
 *
 * DT_TRACE=1 in the environment prints every request answered by the
 * default handler.
 *
 * Sections: harness (failures, waits, /proc), device I/O and replies,
 * sessions (mount, INIT, unmount), callers, the tests (the device's rules,
 * then the VFS's on the daemon's replies), the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "devtest.h"

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "fuse_entry_out");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out");

/* An ioctl whose FUSE_IOCTL request (in data = _IOC_SIZE) exceeds 8192. */
struct dt_big_ioctl_arg {
	char data[12000];
};
#define DT_BIG_IOCTL	_IOW(0xde, 0x01, struct dt_big_ioctl_arg)
/* A device ioctl the kernel does not know. */
#define DT_UNKNOWN_IOCTL _IOR(FUSE_DEV_IOC_MAGIC, 99, uint32_t)

/* Client ioctls on a FUSE file, restricted: data as _IOC says. */
#define DT_IOC_RW	_IOWR('T', 1, char[16])
#define DT_IOC_R	_IOR('T', 2, char[16])
#define DT_IOC_W	_IOW('T', 3, char[16])
#define DT_IOC_NONE	_IO('T', 4)
#define DT_IOC_ARG	0x1234	/* DT_IOC_NONE's argument */
#define DT_IOC_DATA	"0123456789abcdef"

/* call_ioctl's cases, by its arg: the command, with a pointer that does
 * not point to memory, with an int to put first in the buffer. */
static const struct {
	unsigned int cmd;
	int bad;
	int val;
} dt_ioctls[] = {
	{ DT_IOC_RW, 0, 0 }, { DT_IOC_R, 0, 0 }, { DT_IOC_W, 0, 0 },
	{ DT_IOC_NONE, 0, 0 }, { DT_IOC_W, 1, 0 }, { DT_IOC_R, 1, 0 },
	{ FIONREAD, 0, 0 }, { FS_IOC_GETFLAGS, 0, 0 },
	{ FS_IOC_SETFLAGS, 0, FS_NODUMP_FL },
};
enum {
	IOC_RW, IOC_R, IOC_W, IOC_NONE, IOC_W_BAD, IOC_R_BAD, IOC_FIONREAD,
	IOC_GETFLAGS, IOC_SETFLAGS,
};

/* ---- harness ------------------------------------------------------------- */

/* Shared with the runner: the first failure reason of the running test. */
struct dt_shared {
	char reason[512];
};
static struct dt_shared *dt_shared;

static void dt_vrecord(const char *prefix, const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	dprintf(STDOUT_FILENO, "# %s%s\n", prefix, msg);
	if (dt_shared && !dt_shared->reason[0])
		snprintf(dt_shared->reason, sizeof(dt_shared->reason), "%s%s",
			 prefix, msg);
}

void dt_fail(int line, const char *fmt, ...)
{
	char prefix[32];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "line %d: ", line);
	va_start(ap, fmt);
	dt_vrecord(prefix, fmt, ap);
	va_end(ap);
	_exit(1);
}

void dt_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dt_vrecord("", fmt, ap);
	va_end(ap);
	_exit(77);
}

void dt_diag(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(STDOUT_FILENO, "# %s\n", msg);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

/* Waits up to @ms for @events on @fd; returns revents, 0 on timeout. */
static int poll_fd(int fd, short events, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	for (;;) {
		r = poll(&pfd, 1, ms_left(deadline));
		if (r > 0)
			return pfd.revents;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			FAIL("poll: %s", strerror(errno));
	}
}

/* Pause between two looks at /proc in a wait loop with a deadline. */
static void tick(void)
{
	poll(NULL, 0, 2);
}

/* State letter of @pid from /proc/PID/stat, 0 if gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Voluntary context switches of @pid, -1 if unknown. */
static long proc_nvcsw(pid_t pid)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nvoluntary_ctxt_switches:");
	return p ? strtol(p + 25, NULL, 10) : -1;
}

/*
 * First number of /proc/PID/syscall: the system call @pid is blocked in,
 * -1 when running or unknown.
 */
static long proc_syscall(pid_t pid)
{
	char path[64], buf[256], *end;
	ssize_t n;
	long nr;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	nr = strtol(buf, &end, 10);
	return end == buf ? -1 : nr;
}

/* Waits until @pid sleeps (state S or D). */
static void wait_sleeping(pid_t pid)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	char s;

	for (;;) {
		s = proc_state(pid);
		if (s == 'S' || s == 'D')
			return;
		CHECK(s, "process %d is gone", (int)pid);
		CHECK(now_ms() < deadline, "process %d never slept (state %c)",
		      (int)pid, s);
		tick();
	}
}

/*
 * Waits until @pid has gone back to sleep after waking up: its voluntary
 * context switch count passes @before and it sleeps.
 */
static void wait_slept_again(pid_t pid, long before)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	char s;

	for (;;) {
		s = proc_state(pid);
		if ((s == 'S' || s == 'D') && proc_nvcsw(pid) > before)
			return;
		CHECK(now_ms() < deadline,
		      "process %d did not wake and sleep again", (int)pid);
		tick();
	}
	/* Under emulation the caller's shim has sent its FDP_OP_INTERRUPT
	 * by now, but the emulator queues the INTERRUPT when it gets to
	 * the message: no event tells the daemon when.  A bounded settle
	 * (a poll timeout, not a condition) covers it. */
	if (getenv("FUSEDEV_DIR"))
		poll(NULL, 0, 200);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Deadline for one blocking call: SIGALRM after @ms makes it fail EINTR. */
static void deadline_arm(int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
}

static void deadline_disarm(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *mp(struct dt *dt, const char *name)
{
	static char ring[8][512];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", dt->mnt, name);
	return p;
}

/* ---- device I/O ---------------------------------------------------------- */

static ssize_t dev_read(int fd, void *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);

	return n < 0 ? -errno : n;
}

static ssize_t dev_write(int fd, const void *buf, size_t size)
{
	ssize_t n = write(fd, buf, size);

	return n < 0 ? -errno : n;
}

static void dt_track_fd(struct dt *dt, int fd)
{
	int i;

	for (i = 0; i < DT_MAX_DEVFDS; i++) {
		if (dt->devfds[i] < 0) {
			dt->devfds[i] = fd;
			return;
		}
	}
	FAIL("too many device fds");
}

static void dt_close_fd(struct dt *dt, int fd)
{
	int i;

	for (i = 0; i < DT_MAX_DEVFDS; i++)
		if (dt->devfds[i] == fd)
			dt->devfds[i] = -1;
	if (dt->fd == fd)
		dt->fd = -1;
	close(fd);
}

static int dt_open_dev(struct dt *dt, int flags)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC | flags);

	CHECK(fd >= 0, "open /dev/fuse: %s", strerror(errno));
	dt_track_fd(dt, fd);
	return fd;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	CHECK(fl >= 0, "F_GETFL: %s", strerror(errno));
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	CHECK(fcntl(fd, F_SETFL, fl) == 0, "F_SETFL: %s", strerror(errno));
}

static const char *req_name(const struct fuse_in_header *h)
{
	return (const char *)(h + 1);
}

static const void *req_arg(const struct fuse_in_header *h)
{
	return h + 1;
}

/*
 * Checks what every read must satisfy: it returns exactly in.h.len bytes;
 * ordinary requests carry a non-zero even unique, interrupts an odd one.
 */
static void check_request(struct dt *dt, ssize_t n)
{
	const struct fuse_in_header *h = (const void *)dt->buf;

	CHECK(n >= (ssize_t)sizeof(*h), "short read from device: %zd", n);
	CHECK(h->len == n, "read returned %zd bytes but in.h.len is %u",
	      n, h->len);
	if (h->opcode == FUSE_INTERRUPT) {
		CHECK(h->unique & FUSE_INT_REQ_BIT,
		      "INTERRUPT with even unique %#llx",
		      (unsigned long long)h->unique);
	} else {
		CHECK(h->unique != 0, "opcode %u with unique 0", h->opcode);
		CHECK(!(h->unique & 1), "opcode %u with odd unique %#llx",
		      h->opcode, (unsigned long long)h->unique);
		if (dt->nseen < DT_MAX_SEEN)
			dt->seen[dt->nseen++] = h->unique;
	}
}

/* Reads the next request from @fd into dt->buf, waiting up to @ms. */
static struct fuse_in_header *dt_recv_fd(struct dt *dt, int fd, int ms)
{
	ssize_t n;
	int rev;

	rev = poll_fd(fd, POLLIN, ms);
	CHECK(rev & POLLIN, "no request within %d ms (revents %#x)", ms, rev);
	n = dev_read(fd, dt->buf, dt->rsize);
	CHECK(n >= 0, "read from device: %s", strerror((int)-n));
	check_request(dt, n);
	return (struct fuse_in_header *)dt->buf;
}

static struct fuse_in_header *dt_recv(struct dt *dt)
{
	return dt_recv_fd(dt, dt->fd, DT_WAIT_MS);
}

/* Writes one reply (or notification when @unique is 0); n or -errno. */
static ssize_t dt_send(int fd, uint64_t unique, int32_t error,
		       const void *body, size_t len)
{
	struct fuse_out_header *oh;
	ssize_t n;

	oh = malloc(sizeof(*oh) + len);
	CHECK(oh, "out of memory");
	oh->len = sizeof(*oh) + len;
	oh->error = error;
	oh->unique = unique;
	if (len)
		memcpy(oh + 1, body, len);
	n = dev_write(fd, oh, sizeof(*oh) + len);
	free(oh);
	return n;
}

/* A reply the device must accept. */
static void dt_reply_fd(int fd, uint64_t unique, int32_t error,
			const void *body, size_t len)
{
	ssize_t n = dt_send(fd, unique, error, body, len);

	CHECK(n == (ssize_t)(sizeof(struct fuse_out_header) + len),
	      "reply to %#llx (error %d, %zu bytes): write gave %zd (%s)",
	      (unsigned long long)unique, error, len, n,
	      n < 0 ? strerror((int)-n) : "short");
}

static void dt_reply(struct dt *dt, uint64_t unique, int32_t error,
		     const void *body, size_t len)
{
	dt_reply_fd(dt->fd, unique, error, body, len);
}

static void dt_reply_err(struct dt *dt, uint64_t unique, int err)
{
	dt_reply(dt, unique, -err, NULL, 0);
}

/* A notification the device must accept. */
static void dt_notify(struct dt *dt, int code, const void *body, size_t len)
{
	dt_reply(dt, 0, code, body, len);
}

static void fill_attr(struct fuse_attr *a, uint64_t ino, uint32_t mode)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->nlink = S_ISDIR(mode) ? 2 : 1;
	a->blksize = 4096;
	a->size = S_ISLNK(mode) ? 3 : 0;
}

static void fill_entry(struct fuse_entry_out *e, uint64_t nodeid,
		       uint32_t mode, uint64_t valid)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = nodeid;
	e->entry_valid = valid;
	e->attr_valid = valid;
	fill_attr(&e->attr, nodeid, mode);
}

static void dt_reply_entry(struct dt *dt, uint64_t unique, uint64_t nodeid,
			   uint32_t mode, uint64_t valid)
{
	struct fuse_entry_out e;

	fill_entry(&e, nodeid, mode, valid);
	dt_reply(dt, unique, 0, &e, sizeof(e));
}

static void dt_reply_attr(struct dt *dt, uint64_t unique, uint64_t nodeid,
			  uint32_t mode, uint64_t valid)
{
	struct fuse_attr_out a = { .attr_valid = valid };

	fill_attr(&a.attr, nodeid, mode);
	dt_reply(dt, unique, 0, &a, sizeof(a));
}

/*
 * Answers a request no test is interested in: the root is an empty
 * directory, other inodes are regular files, names do not exist.  Write
 * errors are ignored (the request may have been interrupted or aborted).
 */
static void dt_default(struct dt *dt, int fd, const struct fuse_in_header *h)
{
	union {
		struct fuse_attr_out attr;
		struct fuse_open_out open;
	} o;
	size_t len = 0;
	int err = 0;

	memset(&o, 0, sizeof(o));
	if (getenv("DT_TRACE"))
		dt_diag("default: opcode %u nodeid %llu%s%#x", h->opcode,
			(unsigned long long)h->nodeid,
			h->opcode == FUSE_SETATTR ? " valid " : "",
			h->opcode == FUSE_SETATTR ?
			((const struct fuse_setattr_in *)req_arg(h))->valid :
			0);
	switch (h->opcode) {
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		return;
	case FUSE_GETATTR:
		fill_attr(&o.attr.attr, h->nodeid, h->nodeid == FUSE_ROOT_ID ?
			  S_IFDIR | 0755 : S_IFREG | 0644);
		len = sizeof(o.attr);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		o.open.fh = h->nodeid;
		len = sizeof(o.open);
		break;
	case FUSE_LOOKUP:
		err = ENOENT;
		break;
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_DESTROY:
		break;
	default:
		err = ENOSYS;
		break;
	}
	dt_send(fd, h->unique, -err, &o, len);
}

/*
 * Reads requests, answering others with dt_default(), until one with
 * @opcode (and, for LOOKUP, the name @name if not NULL) arrives.
 */
static struct fuse_in_header *dt_serve_until(struct dt *dt, uint32_t opcode,
					     const char *name)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	struct fuse_in_header *h;

	for (;;) {
		h = dt_recv_fd(dt, dt->fd, ms_left(deadline) + 1);
		if (h->opcode == opcode &&
		    (!name || !strcmp(req_name(h), name)))
			return h;
		dt_default(dt, dt->fd, h);
	}
}

/* Nothing becomes readable on @fd for DT_IDLE_MS. */
static void dt_expect_idle(struct dt *dt, int fd)
{
	struct fuse_in_header *h;
	int rev = poll_fd(fd, POLLIN, DT_IDLE_MS);

	if (!(rev & POLLIN))
		return;
	if (rev & POLLERR)
		FAIL("device unexpectedly readable: revents %#x", rev);
	h = dt_recv_fd(dt, fd, 0);
	FAIL("unexpected request: opcode %u unique %#llx nodeid %llu",
	     h->opcode, (unsigned long long)h->unique,
	     (unsigned long long)h->nodeid);
}

/* Reads on a blocking fd with a deadline; n or -errno (-EINTR: timeout). */
static ssize_t read_deadline(int fd, void *buf, size_t size, int ms)
{
	ssize_t n;

	deadline_arm(ms);
	n = dev_read(fd, buf, size);
	deadline_disarm();
	return n;
}

/* ---- sessions ------------------------------------------------------------ */

/* open("/dev/fuse") and mount(2) it on dt->mnt as libfuse does. */
static void dt_mount(struct dt *dt)
{
	char opts[128];

	dt->fd = dt_open_dev(dt, 0);
	dt->nseen = 0;
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", dt->fd);
	if (mount("devtest", dt->mnt, "fuse.devtest", MS_NOSUID | MS_NODEV,
		  opts))
		FAIL("mount %s: %s", dt->mnt, strerror(errno));
}

/* Reads FUSE_INIT; returns its unique. */
static uint64_t dt_read_init(struct dt *dt)
{
	struct fuse_in_header *h = dt_recv(dt);
	const struct fuse_init_in *in = req_arg(h);

	CHECK(h->opcode == FUSE_INIT, "first request has opcode %u, not INIT",
	      h->opcode);
	CHECK(h->len >= sizeof(*h) + 16, "INIT of %u bytes", h->len);
	CHECK_EQ(in->major, FUSE_KERNEL_VERSION);
	dt->kminor = in->minor;
	dt->kflags = in->flags;
	return h->unique;
}

static void dt_reply_init(struct dt *dt, uint64_t unique, uint32_t major,
			  uint32_t minor, uint32_t max_write)
{
	struct fuse_init_out out = {
		.major = major,
		.minor = minor,
		.max_readahead = 128 * 1024,
		.flags = dt->want_flags & dt->kflags,
		.max_background = 16,
		.congestion_threshold = 12,
		.max_write = max_write,
		.time_gran = 1,
	};

	CHECK((dt->want_flags & dt->kflags) == dt->want_flags,
	      "INIT flags %#x lack %#x", dt->kflags, dt->want_flags);
	dt->minor = minor;
	dt_reply(dt, unique, 0, &out, sizeof(out));
}

/* Mounts and completes INIT with protocol 7.@minor. */
static void dt_start(struct dt *dt, uint32_t minor, uint32_t max_write)
{
	dt_mount(dt);
	dt_reply_init(dt, dt_read_init(dt), FUSE_KERNEL_VERSION, minor,
		      max_write);
}

/* ---- callers ------------------------------------------------------------- */

/* The call a caller makes; each returns >= 0 or -errno. */

static long call_stat(const char *path, long arg, struct call_result *r)
{
	struct stat st;

	return stat(path, &st) ? -errno : 0;
}

/* stat() of @path followed by 0 .. @arg-1. */
static long call_stat_many(const char *path, long arg, struct call_result *r)
{
	char name[512];
	struct stat st;
	long i;

	for (i = 0; i < arg; i++) {
		snprintf(name, sizeof(name), "%s%ld", path, i);
		if (stat(name, &st))
			return -errno;
	}
	return 0;
}

/*
 * stat() once the daemon @arg is blocked in its device read: asleep in a
 * system call other than the poll(2) with which it waited for this caller
 * to start.
 */
static long call_stat_after_read(const char *path, long arg,
				 struct call_result *r)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	struct stat st;
	long nr;

	for (;;) {
		nr = proc_syscall(arg);
		if (proc_state(arg) == 'S' && nr >= 0 && nr != SYS_poll &&
		    nr != SYS_ppoll)
			break;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		tick();
	}
	return stat(path, &st) ? -errno : 0;
}

static long call_unlink(const char *path, long arg, struct call_result *r)
{
	return unlink(path) ? -errno : 0;
}

/* setxattr() of a value of @arg bytes. */
static long call_setxattr(const char *path, long arg, struct call_result *r)
{
	char *v = malloc(arg);
	long ret;

	if (!v)
		return -ENOMEM;
	memset(v, 'v', arg);
	ret = setxattr(path, "user.big", v, arg, 0) ? -errno : 0;
	free(v);
	return ret;
}

static long call_readlink(const char *path, long arg, struct call_result *r)
{
	ssize_t n = readlink(path, r->data, sizeof(r->data));

	if (n < 0)
		return -errno;
	r->len = n;
	return n;
}

/* open(); DT_BIG_IOCTL; close(). */
static long call_big_ioctl(const char *path, long arg, struct call_result *r)
{
	static struct dt_big_ioctl_arg big;
	long ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, DT_BIG_IOCTL, &big) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * open(@path) read-only (a directory too); the ioctl of dt_ioctls[@arg]
 * on a 16-byte buffer holding DT_IOC_DATA; close().  r->data: the buffer
 * after the call.
 */
static long call_ioctl(const char *path, long arg, struct call_result *r)
{
	char buf[16];
	void *p = buf;
	long ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	memcpy(buf, DT_IOC_DATA, sizeof(buf));
	if (dt_ioctls[arg].val)
		memcpy(buf, &dt_ioctls[arg].val, sizeof(int));
	if (dt_ioctls[arg].bad)
		p = (void *)8;	/* valgrind says so too: deliberate */
	else if (dt_ioctls[arg].cmd == DT_IOC_NONE)
		p = (void *)DT_IOC_ARG;
	ret = ioctl(fd, dt_ioctls[arg].cmd, p);
	ret = ret < 0 ? -errno : ret;
	memcpy(r->data, buf, sizeof(buf));
	r->len = sizeof(buf);
	close(fd);
	return ret;
}

/* open(@path) read-only; poll(2) it for POLLIN with a timeout of @arg
 * ms; close().  Returns revents (0: timed out). */
static long call_poll(const char *path, long arg, struct call_result *r)
{
	struct pollfd pfd = { .events = POLLIN };
	int n;

	pfd.fd = open(path, O_RDONLY);
	if (pfd.fd < 0)
		return -errno;
	n = poll(&pfd, 1, (int)arg);
	n = n < 0 ? -errno : pfd.revents;
	close(pfd.fd);
	return n;
}

/* poll(2) the device fd @arg for POLLIN; returns revents. */
static long call_poll_dev(const char *path, long arg, struct call_result *r)
{
	struct pollfd pfd = { .fd = arg, .events = POLLIN };
	int n = poll(&pfd, 1, 2 * DT_WAIT_MS);

	return n < 0 ? -errno : pfd.revents;
}

/* read(2) of the device fd @arg; copies the start of the request. */
static long call_read_dev(const char *path, long arg, struct call_result *r)
{
	static unsigned char buf[DT_BUF];
	ssize_t n = read(arg, buf, sizeof(buf));

	if (n < 0)
		return -errno;
	r->len = n < (ssize_t)sizeof(r->data) ? n : (int)sizeof(r->data);
	memcpy(r->data, buf, r->len);
	return n;
}

static long call_umount(const char *path, long arg, struct call_result *r)
{
	return umount2(path, MNT_DETACH) ? -errno : 0;
}

/* stat(); returns st_nlink. */
static long call_stat_nlink(const char *path, long arg, struct call_result *r)
{
	struct stat st;

	return stat(path, &st) ? -errno : (long)st.st_nlink;
}

/* link(@path, @path + "2"). */
static long call_link(const char *path, long arg, struct call_result *r)
{
	char to[512];

	snprintf(to, sizeof(to), "%s2", path);
	return link(path, to) ? -errno : 0;
}

/* rename(@path, @path + "/b/c"): into its own subdirectory. */
static long call_rename_into(const char *path, long arg,
			     struct call_result *r)
{
	char to[512];

	snprintf(to, sizeof(to), "%s/b/c", path);
	return rename(path, to) ? -errno : 0;
}

/* open(O_WRONLY); write() of @arg bytes; close(). */
static long call_write(const char *path, long arg, struct call_result *r)
{
	char buf[64];
	long ret = 0;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -errno;
	memset(buf, 'w', sizeof(buf));
	if (write(fd, buf, arg < 64 ? arg : 64) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* open(); @arg bytes read() if @arg; fstat(); close(). */
static long call_open_fstat(const char *path, long arg, struct call_result *r)
{
	char buf[64];
	struct stat st;
	long ret = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	if (arg && read(fd, buf, arg < 64 ? arg : 64) < 0)
		ret = -errno;
	if (!ret && fstat(fd, &st))
		ret = -errno;
	close(fd);
	return ret;
}

static const struct {
	const char *name;
	call_fn fn;
} call_table[] = {
	{ "stat", call_stat },
	{ "stat_many", call_stat_many },
	{ "stat_after_read", call_stat_after_read },
	{ "unlink", call_unlink },
	{ "setxattr", call_setxattr },
	{ "readlink", call_readlink },
	{ "big_ioctl", call_big_ioctl },
	{ "ioctl", call_ioctl },
	{ "poll", call_poll },
	{ "poll_dev", call_poll_dev },
	{ "read_dev", call_read_dev },
	{ "umount", call_umount },
	{ "stat_nlink", call_stat_nlink },
	{ "link", call_link },
	{ "rename_into", call_rename_into },
	{ "open_fstat", call_open_fstat },
	{ "write", call_write },
};
#define NCALLS	(sizeof(call_table) / sizeof(call_table[0]))

static volatile sig_atomic_t caller_sigs;

static void caller_on_sigusr1(int sig)
{
	(void)sig;
	caller_sigs++;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* The caller's side: reports "s", makes the call, reports the result. */
static _Noreturn void caller_run(int wfd, call_fn fn, const char *path,
				 long arg, int flags)
{
	struct call_result r;

	if (flags & CALL_SIGUSR1) {
		struct sigaction sa = { .sa_handler = caller_on_sigusr1 };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	memset(&r, 0, sizeof(r));
	if (!write_all(wfd, "s", 1))
		_exit(2);
	r.ret = fn(path, arg, &r);
	r.sigs = caller_sigs;
	_exit(write_all(wfd, &r, sizeof(r)) ? 0 : 2);
}

/* This program's path, for callers that exec themselves. */
static char self_exe[PATH_MAX];

/*
 * `devtest --caller CALL PATH ARG FLAGS FD`: a caller in a fresh program.
 * Callers that receive signals run this way, so that a valgrind running
 * devtest (which runs most system calls with signals blocked) does not
 * keep the signal from the kernel's request_wait_answer().
 */
static int caller_main(int argc, char **argv)
{
	size_t i;

	if (argc != 7)
		return 2;
	for (i = 0; i < NCALLS; i++)
		if (!strcmp(call_table[i].name, argv[2]))
			caller_run(atoi(argv[6]), call_table[i].fn, argv[3],
				   atol(argv[4]), atoi(argv[5]));
	return 2;
}

/*
 * Forks a caller that runs @fn(@path, @arg) and reports its result.
 * Returns once the caller is about to make its call (its device fds, unless
 * CALL_KEEP_FDS, are closed by then).
 */
static void caller_start(struct dt *dt, struct caller *c, call_fn fn,
			 const char *path, long arg, int flags)
{
	char sarg[32], sflags[16], sfd[16];
	const char *name = NULL;
	size_t k;
	int p[2], i;
	char ch;

	for (k = 0; k < NCALLS; k++)
		if (call_table[k].fn == fn)
			name = call_table[k].name;
	CHECK(name, "call not in call_table");
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	c->pid = fork();
	CHECK(c->pid >= 0, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		close(p[0]);
		if (!(flags & CALL_KEEP_FDS))
			for (i = 0; i < DT_MAX_DEVFDS; i++)
				if (dt->devfds[i] >= 0)
					close(dt->devfds[i]);
		if ((flags & CALL_SIGUSR1) && self_exe[0]) {
			snprintf(sarg, sizeof(sarg), "%ld", arg);
			snprintf(sflags, sizeof(sflags), "%d", flags);
			snprintf(sfd, sizeof(sfd), "%d", p[1]);
			fcntl(p[1], F_SETFD, 0);
			execl(self_exe, "devtest", "--caller", name,
			      path ? path : "", sarg, sflags, sfd,
			      (char *)NULL);
			_exit(3);
		}
		caller_run(p[1], fn, path, arg, flags);
	}
	close(p[1]);
	c->rfd = p[0];
	CHECK(poll_fd(c->rfd, POLLIN, DT_WAIT_MS) & POLLIN,
	      "caller %d did not start", (int)c->pid);
	CHECK(read(c->rfd, &ch, 1) == 1 && ch == 's',
	      "caller %d died before its call", (int)c->pid);
}

static bool caller_ready(struct caller *c)
{
	return poll_fd(c->rfd, POLLIN, 0) != 0;
}

/* Waits for @pid to end; returns its wait status. */
static int reap(pid_t pid)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	pid_t w;
	int st;

	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		CHECK(w >= 0, "waitpid %d: %s", (int)pid, strerror(errno));
		if (w == pid)
			return st;
		CHECK(now_ms() < deadline, "process %d does not end",
		      (int)pid);
		tick();
	}
}

static void caller_collect(struct caller *c, struct call_result *r)
{
	ssize_t n = read(c->rfd, r, sizeof(*r));

	CHECK(n == sizeof(*r), "caller %d died without a result",
	      (int)c->pid);
	close(c->rfd);
	c->rfd = -1;
	reap(c->pid);
}

/* Waits for the caller's result; nothing is served meanwhile. */
static struct call_result caller_wait(struct caller *c)
{
	struct call_result r;

	CHECK(poll_fd(c->rfd, POLLIN, DT_WAIT_MS),
	      "caller %d: no result within %d ms", (int)c->pid, DT_WAIT_MS);
	caller_collect(c, &r);
	return r;
}

/*
 * Waits for the caller's result while answering requests with dt_default;
 * the opcodes answered go to @ops (up to @maxops), their count to *@nops.
 */
static struct call_result caller_wait_ops(struct dt *dt, struct caller *c,
					  uint32_t *ops, int maxops, int *nops)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	struct pollfd pfd[2] = {
		{ .fd = c->rfd, .events = POLLIN },
		{ .fd = dt->fd, .events = POLLIN },
	};
	struct fuse_in_header *h;
	struct call_result r;
	int n;

	if (nops)
		*nops = 0;
	for (;;) {
		n = poll(pfd, 2, ms_left(deadline));
		CHECK(n >= 0 || errno == EINTR, "poll: %s", strerror(errno));
		CHECK(n != 0, "caller %d: no result within %d ms",
		      (int)c->pid, DT_WAIT_MS);
		if (n < 0)
			continue;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLERR) {
			pfd[1].fd = -1;		/* disconnected */
			continue;
		}
		if (pfd[1].revents & POLLIN) {
			h = dt_recv_fd(dt, dt->fd, 0);
			if (nops && *nops < maxops)
				ops[(*nops)++] = h->opcode;
			dt_default(dt, dt->fd, h);
		}
	}
	caller_collect(c, &r);
	return r;
}

static struct call_result caller_wait_serving(struct dt *dt, struct caller *c)
{
	return caller_wait_ops(dt, c, NULL, 0, NULL);
}

static void caller_kill(struct caller *c, int sig)
{
	CHECK(kill(c->pid, sig) == 0, "kill %d: %s", (int)c->pid,
	      strerror(errno));
}

/*
 * umount2(MNT_DETACH) from a child while this process answers whatever the
 * unmount sends (dt_default).  The opcodes read meanwhile go to @ops.
 */
static int dt_umount(struct dt *dt, uint32_t *ops, int maxops)
{
	struct call_result r;
	struct caller c;
	int nops;

	caller_start(dt, &c, call_umount, dt->mnt, 0, 0);
	r = caller_wait_ops(dt, &c, ops, maxops, &nops);
	CHECK(r.ret == 0, "umount2 %s: %s", dt->mnt, strerror((int)-r.ret));
	return nops;
}

/* ---- the tests ----------------------------------------------------------- */

/* A stat() of @name answered ENOENT: one LOOKUP round trip. */
static uint64_t roundtrip_lookup(struct dt *dt, const char *name)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t unique;

	caller_start(dt, &c, call_stat, mp(dt, name), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, name);
	unique = h->unique;
	dt_reply_err(dt, unique, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
	return unique;
}

/*
 * unique is never 0; ordinary requests get even IDs, the counter stepping
 * by 2.
 */
static void t_ids_even_and_nonzero(struct dt *dt)
{
	uint64_t init;
	char name[16];
	int i;

	dt_mount(dt);
	init = dt_read_init(dt);
	dt_reply_init(dt, init, FUSE_KERNEL_VERSION, DT_MINOR, DT_MAX_WRITE);
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "id%d", i);
		roundtrip_lookup(dt, name);
	}
	for (i = 0; i < dt->nseen; i++) {
		CHECK(dt->seen[i] && !(dt->seen[i] & 1),
		      "request %d has unique %#llx", i,
		      (unsigned long long)dt->seen[i]);
		if (i)
			CHECK(dt->seen[i] == dt->seen[i - 1] + 2,
			      "unique %#llx follows %#llx",
			      (unsigned long long)dt->seen[i],
			      (unsigned long long)dt->seen[i - 1]);
	}
	dt_diag("INIT unique %#llx, kernel offers 7.%u",
		(unsigned long long)init, dt->kminor);
}

/*
 * INIT is the first request (header only: nodeid, uid, gid, pid all 0;
 * the full fuse_init_in); nothing else is readable before its reply.
 */
static void t_init_first(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t init;

	dt_mount(dt);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	wait_sleeping(c.pid);
	init = dt_read_init(dt);
	h = (void *)dt->buf;
	CHECK_EQ(h->len, sizeof(*h) + sizeof(struct fuse_init_in));
	CHECK_EQ(h->nodeid, 0);
	CHECK_EQ(h->uid, 0);
	CHECK_EQ(h->gid, 0);
	CHECK_EQ(h->pid, 0);
	dt_expect_idle(dt, dt->fd);
	dt_reply_init(dt, init, FUSE_KERNEL_VERSION, DT_MINOR, DT_MAX_WRITE);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	CHECK_EQ(h->nodeid, FUSE_ROOT_ID);
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
}

/*
 * A read buffer smaller than max(8192, in_header + write_in + max_write)
 * fails EINVAL at once, whatever is queued and whatever O_NONBLOCK says.
 */
static void t_read_buffer_too_small_einval(struct dt *dt)
{
	const size_t min = DT_MIN_READ(DT_MAX_WRITE);
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t init;
	ssize_t n;

	dt_mount(dt);
	/* INIT is queued: a short read fails and leaves it queued */
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no INIT");
	n = dev_read(dt->fd, dt->buf, 8191);
	CHECK_ERR(n, EINVAL);
	dt->rsize = 8192;
	init = dt_read_init(dt);
	dt->rsize = DT_BUF;
	dt_reply_init(dt, init, FUSE_KERNEL_VERSION, DT_MINOR, DT_MAX_WRITE);

	/* nothing queued, blocking fd: EINVAL without waiting */
	n = read_deadline(dt->fd, dt->buf, min - 1, DT_WAIT_MS);
	CHECK_ERR(n, EINVAL);
	n = read_deadline(dt->fd, dt->buf, 8191, DT_WAIT_MS);
	CHECK_ERR(n, EINVAL);
	set_nonblock(dt->fd, true);
	n = dev_read(dt->fd, dt->buf, min - 1);
	CHECK_ERR(n, EINVAL);
	n = dev_read(dt->fd, dt->buf, min);
	CHECK_ERR(n, EAGAIN);

	/* a request queued: still EINVAL, and the request stays */
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no LOOKUP");
	n = dev_read(dt->fd, dt->buf, min - 1);
	CHECK_ERR(n, EINVAL);
	n = dev_read(dt->fd, dt->buf, min);
	CHECK(n > 0, "read of %zu bytes: %s", min, strerror((int)-n));
	check_request(dt, n);
	h = (void *)dt->buf;
	CHECK_EQ(h->opcode, FUSE_LOOKUP);
	set_nonblock(dt->fd, false);
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
}

/* Nothing queued and O_NONBLOCK: EAGAIN. */
static void t_read_nonblock_eagain(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	set_nonblock(dt->fd, true);
	n = dev_read(dt->fd, dt->buf, DT_BUF);
	CHECK_ERR(n, EAGAIN);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
	n = dev_read(dt->fd, dt->buf, DT_BUF);
	CHECK_ERR(n, EAGAIN);
}

/* A blocking read waits for a request and returns it. */
static void t_read_blocks_until_request(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat_after_read, mp(dt, "a"), getpid(), 0);
	for (;;) {
		n = read_deadline(dt->fd, dt->buf, DT_BUF, DT_WAIT_MS);
		CHECK(n != -EINTR, "blocking read not woken by the request");
		CHECK(n > 0, "read: %s", strerror((int)-n));
		check_request(dt, n);
		h = (void *)dt->buf;
		if (h->opcode == FUSE_LOOKUP)
			break;
		dt_default(dt, dt->fd, h);
	}
	CHECK(!strcmp(req_name(h), "a"), "LOOKUP of '%s'", req_name(h));
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
}

/* An fd that is neither mounted nor cloned: read and write fail EPERM. */
static void t_unattached_fd_eperm(struct dt *dt)
{
	struct fuse_out_header oh = { .len = sizeof(oh), .unique = 2 };
	int fd = dt_open_dev(dt, 0);
	ssize_t n;
	int rev;

	n = read_deadline(fd, dt->buf, DT_BUF, DT_WAIT_MS);
	CHECK_ERR(n, EPERM);
	set_nonblock(fd, true);
	n = dev_read(fd, dt->buf, DT_BUF);
	CHECK_ERR(n, EPERM);
	n = dev_read(fd, dt->buf, 16);
	CHECK_ERR(n, EPERM);
	n = dev_write(fd, &oh, sizeof(oh));
	CHECK_ERR(n, EPERM);
	rev = poll_fd(fd, POLLIN | POLLOUT, 0);
	CHECK_EQ(rev, POLLERR);
	dt_close_fd(dt, fd);
}

/*
 * A request larger than the read buffer: the caller gets E2BIG (SETXATTR)
 * or EIO, the daemon never sees it, the read goes on to the next request.
 */
static void t_oversize_request(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller a, b;
	int64_t deadline;
	ssize_t n;
	int rev;

	dt_start(dt, DT_MINOR, 4096);
	dt->rsize = 8192;

	/* SETXATTR alone: E2BIG; a non-blocking read finds nothing */
	caller_start(dt, &a, call_setxattr, mp(dt, "f"), 16384, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "f");
	dt_reply_entry(dt, h->unique, 2, S_IFREG | 0644, 3600);
	set_nonblock(dt->fd, true);
	deadline = now_ms() + DT_WAIT_MS;
	while (!caller_ready(&a)) {
		CHECK(now_ms() < deadline, "setxattr did not return");
		rev = poll_fd(dt->fd, POLLIN, 10);
		if (!(rev & POLLIN))
			continue;
		n = dev_read(dt->fd, dt->buf, dt->rsize);
		if (n == -EAGAIN)
			continue;
		CHECK(n > 0, "read: %s", strerror((int)-n));
		check_request(dt, n);
		h = (void *)dt->buf;
		CHECK(h->opcode != FUSE_SETXATTR,
		      "daemon got a SETXATTR of %u bytes", h->len);
		dt_default(dt, dt->fd, h);
	}
	set_nonblock(dt->fd, false);
	r = caller_wait(&a);
	CHECK_ERR(r.ret, E2BIG);

	/* IOCTL too big, then a LOOKUP: the read returns the LOOKUP. */
	caller_start(dt, &a, call_big_ioctl, mp(dt, "f"), 0, 0);
	h = dt_serve_until(dt, FUSE_OPEN, NULL);
	dt_default(dt, dt->fd, h);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no IOCTL");
	caller_start(dt, &b, call_stat, mp(dt, "g"), 0, 0);
	wait_sleeping(b.pid);
	for (;;) {
		h = dt_recv(dt);
		CHECK(h->opcode != FUSE_IOCTL,
		      "daemon got an IOCTL of %u bytes", h->len);
		if (h->opcode == FUSE_LOOKUP)
			break;
		dt_default(dt, dt->fd, h);
	}
	CHECK(!strcmp(req_name(h), "g"), "LOOKUP of '%s'", req_name(h));
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait_serving(dt, &b);
	CHECK_ERR(r.ret, ENOENT);
	r = caller_wait_serving(dt, &a);
	CHECK_ERR(r.ret, EIO);
}

/*
 * Starts a caller whose stat(@name) the daemon has read: the LOOKUP is on
 * the processing list of dt->fd.  Returns its unique.
 */
static uint64_t start_lookup(struct dt *dt, struct caller *c,
			     const char *name, int flags)
{
	struct fuse_in_header *h;

	caller_start(dt, c, call_stat, mp(dt, name), 0, flags);
	h = dt_serve_until(dt, FUSE_LOOKUP, name);
	return h->unique;
}

/* Ends a LOOKUP of start_lookup() with ENOENT and checks the caller. */
static void finish_lookup(struct dt *dt, struct caller *c, uint64_t unique)
{
	struct call_result r;

	dt_reply_err(dt, unique, ENOENT);
	r = caller_wait_serving(dt, c);
	CHECK_ERR(r.ret, ENOENT);
}

/* A write shorter than fuse_out_header: EINVAL. */
static void t_write_short_header_einval(struct dt *dt)
{
	struct fuse_out_header oh = { .len = sizeof(oh), .error = -ENOENT };
	struct caller c;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	oh.unique = start_lookup(dt, &c, "a", 0);
	n = dev_write(dt->fd, &oh, sizeof(oh) - 1);
	CHECK_ERR(n, EINVAL);
	n = dev_write(dt->fd, &oh, 8);
	CHECK_ERR(n, EINVAL);
	n = dev_write(dt->fd, &oh, 1);
	CHECK_ERR(n, EINVAL);
	n = dev_write(dt->fd, &oh, 0);
	CHECK_ERR(n, EINVAL);
	finish_lookup(dt, &c, oh.unique);
}

/* oh.len differs from the bytes written: EINVAL, the request stays. */
static void t_write_len_mismatch_einval(struct dt *dt)
{
	struct {
		struct fuse_out_header oh;
		char pad[64];
	} m;
	struct caller c;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	memset(&m, 0, sizeof(m));
	m.oh.unique = start_lookup(dt, &c, "a", 0);
	m.oh.error = -ENOENT;
	m.oh.len = sizeof(m.oh);
	n = dev_write(dt->fd, &m, sizeof(m.oh) + 8);
	CHECK_ERR(n, EINVAL);
	m.oh.len = sizeof(m.oh) + 8;
	n = dev_write(dt->fd, &m, sizeof(m.oh));
	CHECK_ERR(n, EINVAL);
	m.oh.len = 4096;
	n = dev_write(dt->fd, &m, sizeof(m));
	CHECK_ERR(n, EINVAL);
	finish_lookup(dt, &c, m.oh.unique);
}

/* A positive error: EINVAL, the request stays. */
static void t_write_error_positive_einval(struct dt *dt)
{
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u = start_lookup(dt, &c, "a", 0);
	CHECK_ERR(dt_send(dt->fd, u, 1, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, u, ENOENT, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, u, INT32_MAX, NULL, 0), EINVAL);
	finish_lookup(dt, &c, u);
}

/* An error <= -512: EINVAL, the request stays. */
static void t_write_error_too_negative_einval(struct dt *dt)
{
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u = start_lookup(dt, &c, "a", 0);
	CHECK_ERR(dt_send(dt->fd, u, -512, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, u, -4095, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, u, INT32_MIN, NULL, 0), EINVAL);
	finish_lookup(dt, &c, u);
}

/* A unique that is not on the fd's processing list: ENOENT. */
static void t_write_unknown_unique_enoent(struct dt *dt)
{
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u = start_lookup(dt, &c, "a", 0);
	CHECK_ERR(dt_send(dt->fd, u + 2, -ENOENT, NULL, 0), ENOENT);
	CHECK_ERR(dt_send(dt->fd, 0x7ffffff0, -ENOENT, NULL, 0), ENOENT);
	finish_lookup(dt, &c, u);
	/* answered already */
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, NULL, 0), ENOENT);
}

/* An error reply with a body: the daemon gets EINVAL, the caller EIO. */
static void t_write_error_with_body_einval(struct dt *dt)
{
	struct call_result r;
	char body[8] = { 0 };
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u = start_lookup(dt, &c, "a", 0);
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, body, sizeof(body)), EINVAL);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EIO);
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, NULL, 0), ENOENT);
}

/*
 * A payload longer than the reply can hold, or shorter for a fixed-size
 * reply: EINVAL to the daemon, EIO to the caller.
 */
static void t_write_oversize_payload_einval(struct dt *dt)
{
	struct {
		struct fuse_entry_out e;
		char extra[8];
	} m;
	struct call_result r;
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	memset(&m, 0, sizeof(m));
	fill_entry(&m.e, 2, S_IFREG | 0644, 0);

	u = start_lookup(dt, &c, "a", 0);
	CHECK_ERR(dt_send(dt->fd, u, 0, &m, sizeof(m)), EINVAL);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EIO);
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, NULL, 0), ENOENT);

	u = start_lookup(dt, &c, "b", 0);
	CHECK_ERR(dt_send(dt->fd, u, 0, &m, sizeof(m.e) / 2), EINVAL);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EIO);
}

/*
 * A valid reply returns the bytes written, also a short one where the reply
 * is variable-length (READLINK).
 */
static void t_write_success_returns_count(struct dt *dt)
{
	struct fuse_in_header *h;
	struct fuse_entry_out e;
	struct call_result r;
	struct caller c;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_readlink, mp(dt, "l"), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "l");
	fill_entry(&e, 2, S_IFLNK | 0777, 3600);
	n = dt_send(dt->fd, h->unique, 0, &e, sizeof(e));
	CHECK_EQ(n, sizeof(struct fuse_out_header) + sizeof(e));
	h = dt_serve_until(dt, FUSE_READLINK, NULL);
	CHECK_EQ(h->nodeid, 2);
	n = dt_send(dt->fd, h->unique, 0, "abc", 3);
	CHECK_EQ(n, sizeof(struct fuse_out_header) + 3);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 3);
	CHECK(!memcmp(r.data, "abc", 3), "readlink gave '%.*s'", r.len,
	      r.data);

	caller_start(dt, &c, call_stat, mp(dt, "x"), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "x");
	n = dt_send(dt->fd, h->unique, -ENOENT, NULL, 0);
	CHECK_EQ(n, sizeof(struct fuse_out_header));
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
}

/* unique 0 with an unknown notification code: EINVAL. */
static void t_notify_unknown_code_einval(struct dt *dt)
{
	char body[64] = { 0 };

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	CHECK_ERR(dt_send(dt->fd, 0, 0, body, sizeof(body)), EINVAL);
	CHECK_ERR(dt_send(dt->fd, 0, 0, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, 0, 100, body, sizeof(body)), EINVAL);
	CHECK_ERR(dt_send(dt->fd, 0, 1000, NULL, 0), EINVAL);
	CHECK_ERR(dt_send(dt->fd, 0, -1, body, sizeof(body)), EINVAL);
	/* still serving */
	roundtrip_lookup(dt, "a");
}

/*
 * stat(@name) answered with a cached entry (@nodeid, @mode, valid for an
 * hour); then a second stat() that must send nothing.
 */
static void lookup_cached(struct dt *dt, const char *name, uint64_t nodeid,
			  uint32_t mode)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;

	caller_start(dt, &c, call_stat, mp(dt, name), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, name);
	dt_reply_entry(dt, h->unique, nodeid, mode, 3600);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);

	caller_start(dt, &c, call_stat, mp(dt, name), 0, 0);
	r = caller_wait(&c);
	CHECK_EQ(r.ret, 0);
	dt_expect_idle(dt, dt->fd);
}

/* stat(@name) must send a request with @opcode for @nodeid. */
static void stat_sends(struct dt *dt, const char *name, uint32_t opcode,
		       uint64_t nodeid)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;

	caller_start(dt, &c, call_stat, mp(dt, name), 0, 0);
	h = dt_serve_until(dt, opcode, opcode == FUSE_LOOKUP ? name : NULL);
	CHECK_EQ(h->nodeid, nodeid);
	if (opcode == FUSE_LOOKUP)
		dt_reply_entry(dt, h->unique, 2, S_IFREG | 0644, 3600);
	else
		dt_reply_attr(dt, h->unique, nodeid, S_IFREG | 0644, 3600);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);
}

/* Sends a NOTIFY_INVAL_ENTRY / NOTIFY_DELETE of @namelen (name + NUL). */
static ssize_t send_entry_notify(struct dt *dt, int code, uint64_t parent,
				 uint64_t child, const char *name,
				 uint32_t namelen, size_t size)
{
	unsigned char *m = calloc(1, size + 1);
	struct fuse_notify_inval_entry_out *ie = (void *)m;
	struct fuse_notify_delete_out *de = (void *)m;
	size_t hs;
	ssize_t n;

	CHECK(m, "out of memory");
	if (code == FUSE_NOTIFY_DELETE) {
		de->parent = parent;
		de->child = child;
		de->namelen = namelen;
		hs = sizeof(*de);
	} else {
		ie->parent = parent;
		ie->namelen = namelen;
		hs = sizeof(*ie);
	}
	if (size > hs)
		memset(m + hs, 'n', size - hs);
	if (name && hs + strlen(name) < size)
		memcpy(m + hs, name, strlen(name) + 1);
	if (size > hs)
		m[size - 1] = 0;
	n = dt_send(dt->fd, 0, code, m, size);
	free(m);
	return n;
}

/* The size rules INVAL_ENTRY and DELETE share. */
static void check_entry_notify_sizes(struct dt *dt, int code)
{
	size_t hs = code == FUSE_NOTIFY_DELETE ?
		sizeof(struct fuse_notify_delete_out) :
		sizeof(struct fuse_notify_inval_entry_out);
	ssize_t n;

	n = send_entry_notify(dt, code, 1, 2, NULL, 0, hs - 1);
	CHECK_ERR(n, EINVAL);
	/* namelen 1: exactly hs + 1 + 1 */
	n = send_entry_notify(dt, code, 1, 2, "a", 1, hs + 1);
	CHECK_ERR(n, EINVAL);
	n = send_entry_notify(dt, code, 1, 2, "a", 1, hs + 3);
	CHECK_ERR(n, EINVAL);
	/* the name limit is 1024 */
	n = send_entry_notify(dt, code, 1, 2, NULL, 1025, hs + 1026);
	CHECK_ERR(n, ENAMETOOLONG);
	n = send_entry_notify(dt, code, 1, 2, NULL, 4096, hs + 4097);
	CHECK_ERR(n, ENAMETOOLONG);
	/* within the limit; not cached */
	n = send_entry_notify(dt, code, 1, 2, NULL, 1024, hs + 1025);
	CHECK_ERR(n, ENOENT);
}

/*
 * NOTIFY_INVAL_ENTRY: sizeof(out) + namelen + 1 bytes, namelen <= 1024
 * (else ENAMETOOLONG); afterwards the next stat() looks the name up again.
 * A name not in the dentry cache, or an unknown parent: ENOENT.
 */
static void t_notify_inval_entry(struct dt *dt)
{
	const size_t hs = sizeof(struct fuse_notify_inval_entry_out);
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	check_entry_notify_sizes(dt, FUSE_NOTIFY_INVAL_ENTRY);

	/* the failed notifications changed nothing */
	{
		struct call_result r;
		struct caller c;

		caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
		r = caller_wait(&c);
		CHECK_EQ(r.ret, 0);
		dt_expect_idle(dt, dt->fd);
	}

	n = send_entry_notify(dt, FUSE_NOTIFY_INVAL_ENTRY, 1, 0, "a", 1,
			      hs + 2);
	CHECK_EQ(n, 16 + hs + 2);
	stat_sends(dt, "a", FUSE_LOOKUP, FUSE_ROOT_ID);

	/* the byte after the name need not be NUL: the kernel ignores it */
	{
		unsigned char m[64] = { 0 };
		struct fuse_notify_inval_entry_out *ie = (void *)m;

		ie->parent = FUSE_ROOT_ID;
		ie->namelen = 1;
		m[hs] = 'a';
		m[hs + 1] = 'b';
		n = dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_ENTRY, m, hs + 2);
		CHECK_EQ(n, 16 + hs + 2);
		stat_sends(dt, "a", FUSE_LOOKUP, FUSE_ROOT_ID);
	}

	/* a name not in the cache, an unknown parent: ENOENT */
	n = send_entry_notify(dt, FUSE_NOTIFY_INVAL_ENTRY, 1, 0, "zz", 2,
			      hs + 3);
	CHECK_ERR(n, ENOENT);
	n = send_entry_notify(dt, FUSE_NOTIFY_INVAL_ENTRY, 99, 0, "a", 1,
			      hs + 2);
	CHECK_ERR(n, ENOENT);
}

/*
 * NOTIFY_INVAL_INODE: exactly sizeof(out) bytes; afterwards the next
 * stat() asks GETATTR again.  An inode the kernel does not hold: ENOENT.
 */
static void t_notify_inval_inode(struct dt *dt)
{
	struct fuse_notify_inval_inode_out io = { .ino = 2 };
	char big[sizeof(io) + 1] = { 0 };

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	CHECK_ERR(dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_INODE, &io,
			  sizeof(io) - 1), EINVAL);
	memcpy(big, &io, sizeof(io));
	CHECK_ERR(dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_INODE, big,
			  sizeof(big)), EINVAL);
	dt_notify(dt, FUSE_NOTIFY_INVAL_INODE, &io, sizeof(io));
	stat_sends(dt, "a", FUSE_GETATTR, 2);

	io.ino = 99;
	CHECK_ERR(dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_INODE, &io,
			  sizeof(io)), ENOENT);
	/* negative offset: attributes only */
	io.ino = 2;
	io.off = -1;
	dt_notify(dt, FUSE_NOTIFY_INVAL_INODE, &io, sizeof(io));
	stat_sends(dt, "a", FUSE_GETATTR, 2);
}

/*
 * Reads until a FORGET arrives, answering others; checks it forgets
 * @nodeid once.
 */
static void expect_forget(struct dt *dt, uint64_t nodeid)
{
	struct fuse_in_header *h = dt_serve_until(dt, FUSE_FORGET, NULL);
	const struct fuse_forget_in *f = req_arg(h);

	CHECK_EQ(h->len, sizeof(*h) + sizeof(*f));
	CHECK_EQ(h->nodeid, nodeid);
	CHECK_EQ(f->nlookup, 1);
}

/*
 * NOTIFY_DELETE: sizeof(out) + namelen + 1 bytes.  A child that does not
 * match fails ENOENT but the entry is dropped all the same; a match drops
 * entry and inode (FORGET); the next stat() looks the name up again.
 */
static void t_notify_delete(struct dt *dt)
{
	const size_t hs = sizeof(struct fuse_notify_delete_out);
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	check_entry_notify_sizes(dt, FUSE_NOTIFY_DELETE);
	dt_expect_idle(dt, dt->fd);
	n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 99, 2, "a", 1, hs + 2);
	CHECK_ERR(n, ENOENT);
	dt_expect_idle(dt, dt->fd);

	n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 3, "a", 1, hs + 2);
	CHECK_ERR(n, ENOENT);
	expect_forget(dt, 2);

	lookup_cached(dt, "a", 3, S_IFREG | 0644);
	n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 3, "a", 1, hs + 2);
	CHECK_EQ(n, 16 + hs + 2);
	expect_forget(dt, 3);
	stat_sends(dt, "a", FUSE_LOOKUP, FUSE_ROOT_ID);

	/* a name not in the cache */
	n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 2, "zz", 2, hs + 3);
	CHECK_ERR(n, ENOENT);
}

/*
 * NOTIFY_INVAL_ENTRY with FUSE_EXPIRE_ONLY: the entry only expires; the
 * inode stays (no FORGET), and the next stat() looks the name up again.
 * Without the flag the entry goes, and the inode with both lookups.
 */
static void t_notify_inval_entry_expire(struct dt *dt)
{
	struct {
		struct fuse_notify_inval_entry_out o;
		char name[8];
	} m;
	const size_t len = sizeof(m.o) + 2;
	struct fuse_in_header *h;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	if (dt->kminor < 38)
		dt_skip("FUSE_EXPIRE_ONLY is 7.38, the kernel speaks 7.%u",
			dt->kminor);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	memset(&m, 0, sizeof(m));
	m.o.parent = FUSE_ROOT_ID;
	m.o.namelen = 1;
	m.o.flags = FUSE_EXPIRE_ONLY;
	m.name[0] = 'a';
	CHECK_EQ(dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_ENTRY, &m, len),
		 16 + len);
	dt_expect_idle(dt, dt->fd);
	stat_sends(dt, "a", FUSE_LOOKUP, FUSE_ROOT_ID);
	dt_expect_idle(dt, dt->fd);

	m.o.flags = 0;
	CHECK_EQ(dt_send(dt->fd, 0, FUSE_NOTIFY_INVAL_ENTRY, &m, len),
		 16 + len);
	h = dt_serve_until(dt, FUSE_FORGET, NULL);
	CHECK_EQ(h->nodeid, 2);
	CHECK_EQ(((const struct fuse_forget_in *)req_arg(h))->nlookup, 2);
}

/*
 * NOTIFY_RESEND: a request read and not answered comes again, its unique
 * marked with FUSE_UNIQUE_RESEND; the answer to that unique ends it, the
 * old unique is unknown from then on.
 */
static void t_notify_resend(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	if (dt->kminor < 40)
		dt_skip("NOTIFY_RESEND is 7.40, the kernel speaks 7.%u",
			dt->kminor);
	dt_notify(dt, FUSE_NOTIFY_RESEND, NULL, 0);
	dt_expect_idle(dt, dt->fd);
	u = start_lookup(dt, &c, "a", 0);
	dt_notify(dt, FUSE_NOTIFY_RESEND, NULL, 0);
	h = dt_recv(dt);
	CHECK(h->opcode == FUSE_LOOKUP, "opcode %u, want LOOKUP", h->opcode);
	CHECK(!strcmp(req_name(h), "a"), "LOOKUP of '%s'", req_name(h));
	CHECK_EQ(h->unique, u | FUSE_UNIQUE_RESEND);
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, NULL, 0), ENOENT);
	dt_reply_err(dt, h->unique, ENOENT);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOENT);
	dt_expect_idle(dt, dt->fd);
}

/* Reads the INTERRUPT for request @unique. */
static void expect_interrupt(struct dt *dt, uint64_t unique)
{
	struct fuse_in_header *h = dt_recv(dt);
	const struct fuse_interrupt_in *in = req_arg(h);

	CHECK(h->opcode == FUSE_INTERRUPT, "opcode %u, want INTERRUPT",
	      h->opcode);
	CHECK_EQ(h->len, sizeof(*h) + sizeof(*in));
	CHECK_EQ(h->unique, unique | FUSE_INT_REQ_BIT);
	CHECK_EQ(in->unique, unique);
}

/*
 * A signal to a caller whose request was read queues one INTERRUPT
 * (unique | 1, len 48); the caller waits on for the real reply.  Interrupt
 * replies are header only (else EINVAL) and name a request on the
 * processing list (else ENOENT); EAGAIN re-queues the interrupt at once,
 * ENOSYS stops interrupts for this and every later request, other errors
 * are ignored.
 */
static void t_interrupt_delivery(struct dt *dt)
{
	struct call_result r;
	char body[8] = { 0 };
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);

	u = start_lookup(dt, &c, "a", CALL_SIGUSR1);
	caller_kill(&c, SIGUSR1);
	expect_interrupt(dt, u);
	CHECK_ERR(dt_send(dt->fd, u | 1, -EAGAIN, body, sizeof(body)),
		  EINVAL);
	CHECK_ERR(dt_send(dt->fd, (u + 2) | 1, -EAGAIN, NULL, 0), ENOENT);
	dt_reply(dt, u | 1, -EAGAIN, NULL, 0);
	expect_interrupt(dt, u);
	dt_reply(dt, u | 1, -EINTR, NULL, 0);
	dt_expect_idle(dt, dt->fd);
	CHECK(!caller_ready(&c), "interrupted caller did not wait for a reply");
	dt_reply_err(dt, u, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
	CHECK_EQ(r.sigs, 1);
	/* the request is over: its interrupt unique is unknown */
	CHECK_ERR(dt_send(dt->fd, u | 1, -EAGAIN, NULL, 0), ENOENT);

	/* ENOSYS: not re-queued, and no interrupts for later requests */
	u = start_lookup(dt, &c, "b", CALL_SIGUSR1);
	caller_kill(&c, SIGUSR1);
	expect_interrupt(dt, u);
	dt_reply(dt, u | 1, -ENOSYS, NULL, 0);
	dt_expect_idle(dt, dt->fd);
	finish_lookup(dt, &c, u);

	u = start_lookup(dt, &c, "c", CALL_SIGUSR1);
	caller_kill(&c, SIGUSR1);
	dt_expect_idle(dt, dt->fd);
	dt_reply_err(dt, u, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
	CHECK_EQ(r.sigs, 1);
}

/*
 * A signal while the request is still pending: no INTERRUPT yet; it is
 * queued as soon as the daemon reads the request.
 */
static void t_interrupt_while_pending(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t u;
	long before;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, CALL_SIGUSR1);
	wait_sleeping(c.pid);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	before = proc_nvcsw(c.pid);
	caller_kill(&c, SIGUSR1);
	wait_slept_again(c.pid, before);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	u = h->unique;
	CHECK(poll_fd(dt->fd, POLLIN, 0) & POLLIN,
	      "no INTERRUPT queued when the interrupted request was read");
	expect_interrupt(dt, u);
	dt_reply_err(dt, u, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);
	CHECK_EQ(r.sigs, 1);
}

/*
 * Queued INTERRUPTs are read before forgets and pending requests queued
 * earlier.
 */
static void t_interrupts_read_first(struct dt *dt)
{
	const size_t hs = sizeof(struct fuse_notify_delete_out);
	struct fuse_in_header *h;
	struct caller a, b;
	uint64_t ua;
	long before;
	ssize_t n;

	dt->want_flags = FUSE_PARALLEL_DIROPS;
	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	/* a FORGET queued */
	lookup_cached(dt, "x", 7, S_IFREG | 0644);
	n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 7, "x", 1, hs + 2);
	CHECK_EQ(n, 16 + hs + 2);
	ua = start_lookup(dt, &a, "a", CALL_SIGUSR1);
	caller_start(dt, &b, call_stat, mp(dt, "b"), 0, 0);
	wait_sleeping(b.pid);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	before = proc_nvcsw(a.pid);
	caller_kill(&a, SIGUSR1);
	wait_slept_again(a.pid, before);
	expect_interrupt(dt, ua);
	h = dt_serve_until(dt, FUSE_LOOKUP, "b");
	finish_lookup(dt, &b, h->unique);
	finish_lookup(dt, &a, ua);
}

/* A fatal signal while the request is pending removes it unsent. */
static void t_fatal_signal_pending_removed(struct dt *dt)
{
	struct caller c;
	int st;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	wait_sleeping(c.pid);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	caller_kill(&c, SIGKILL);
	st = reap(c.pid);
	close(c.rfd);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "caller status %#x", st);
	/* The kernel removes the request inside the kill; an emulator
	 * learns of the death from its closed port connection, a moment
	 * later: wait (bounded) for the device to become idle. */
	if (getenv("FUSEDEV_DIR")) {
		int waited;

		for (waited = 0; waited < DT_WAIT_MS &&
		     (poll_fd(dt->fd, POLLIN, 0) & POLLIN); waited += 10)
			poll(NULL, 0, 10);	/* poll interval, bounded */
	}
	dt_expect_idle(dt, dt->fd);
	set_nonblock(dt->fd, true);
	CHECK_ERR(dev_read(dt->fd, dt->buf, DT_BUF), EAGAIN);
	set_nonblock(dt->fd, false);
}

/*
 * A fatal signal to a caller whose request was read queues an INTERRUPT;
 * the request stays on the processing list and its reply is accepted.
 */
static void t_fatal_signal_sent_interrupts(struct dt *dt)
{
	struct caller c;
	uint64_t u;
	int st;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u = start_lookup(dt, &c, "a", 0);
	caller_kill(&c, SIGKILL);
	expect_interrupt(dt, u);
	dt_reply_err(dt, u, ENOENT);
	st = reap(c.pid);
	close(c.rfd);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "caller status %#x", st);
	dt_expect_idle(dt, dt->fd);
}

/*
 * A dropped inode (the file unlinked) queues one FORGET: a fresh even
 * unique, no reply.
 */
static void t_forget_single(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	caller_start(dt, &c, call_unlink, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_UNLINK, NULL);
	CHECK_EQ(h->nodeid, FUSE_ROOT_ID);
	CHECK(!strcmp(req_name(h), "a"), "UNLINK of '%s'", req_name(h));
	u = h->unique;
	dt_reply_err(dt, u, 0);
	r = caller_wait(&c);		/* the FORGET is queued meanwhile */
	CHECK_EQ(r.ret, 0);
	h = dt_recv(dt);
	CHECK(h->opcode == FUSE_FORGET, "opcode %u, want FORGET", h->opcode);
	CHECK(h->unique > u, "FORGET unique %#llx not fresh",
	      (unsigned long long)h->unique);
	CHECK_EQ(h->nodeid, 2);
	CHECK_EQ(((const struct fuse_forget_in *)req_arg(h))->nlookup, 1);
	u = h->unique;
	/* nothing to reply to */
	CHECK_ERR(dt_send(dt->fd, u, 0, NULL, 0), ENOENT);
	dt_expect_idle(dt, dt->fd);
}

/* Looks up @dir (a directory) and @dir/@file, cached. */
static void lookup_dir_file(struct dt *dt, const char *dir, uint64_t dnode,
			    const char *file, uint64_t fnode)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	char path[64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	caller_start(dt, &c, call_stat, mp(dt, path), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, dir);
	dt_reply_entry(dt, h->unique, dnode, S_IFDIR | 0755, 3600);
	h = dt_serve_until(dt, FUSE_LOOKUP, file);
	CHECK_EQ(h->nodeid, dnode);
	dt_reply_entry(dt, h->unique, fnode, S_IFREG | 0644, 3600);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);
}

/*
 * Drops two inodes at once: d1/a (nodeid 4) and d2/b (5) unlinked by two
 * callers whose UNLINKs are both read before either is answered.
 */
static void drop_two_inodes(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c1, c2;
	uint64_t u[2];
	int i;

	lookup_dir_file(dt, "d1", 2, "a", 4);
	lookup_dir_file(dt, "d2", 3, "b", 5);
	caller_start(dt, &c1, call_unlink, mp(dt, "d1/a"), 0, 0);
	caller_start(dt, &c2, call_unlink, mp(dt, "d2/b"), 0, 0);
	for (i = 0; i < 2; i++) {
		h = dt_serve_until(dt, FUSE_UNLINK, NULL);
		u[i] = h->unique;
	}
	dt_reply_err(dt, u[0], 0);
	dt_reply_err(dt, u[1], 0);
	r = caller_wait(&c1);
	CHECK_EQ(r.ret, 0);
	r = caller_wait(&c2);
	CHECK_EQ(r.ret, 0);
}

/*
 * Two queued forgets come as one BATCH_FORGET; with a daemon minor < 16,
 * as single FORGETs.
 */
static void t_batch_forget(struct dt *dt)
{
	const struct fuse_batch_forget_in *bf;
	const struct fuse_forget_one *one;
	struct fuse_in_header *h;
	uint64_t seen = 0;
	unsigned int i;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	drop_two_inodes(dt);
	h = dt_recv(dt);
	CHECK(h->opcode == FUSE_BATCH_FORGET, "opcode %u, want BATCH_FORGET",
	      h->opcode);
	bf = req_arg(h);
	one = (const void *)(bf + 1);
	CHECK_EQ(bf->count, 2);
	CHECK_EQ(h->len, sizeof(*h) + sizeof(*bf) + 2 * sizeof(*one));
	for (i = 0; i < 2; i++) {
		CHECK(one[i].nodeid == 4 || one[i].nodeid == 5,
		      "forget of nodeid %llu",
		      (unsigned long long)one[i].nodeid);
		CHECK_EQ(one[i].nlookup, 1);
		seen |= 1u << one[i].nodeid;
	}
	CHECK_EQ(seen, (1u << 4) | (1u << 5));
	CHECK_ERR(dt_send(dt->fd, h->unique, 0, NULL, 0), ENOENT);
	dt_expect_idle(dt, dt->fd);
	dt_umount(dt, NULL, 0);
	dt_close_fd(dt, dt->fd);

	/* the same with protocol 7.15 */
	dt_start(dt, 15, DT_MAX_WRITE);
	drop_two_inodes(dt);
	seen = 0;
	for (i = 0; i < 2; i++) {
		h = dt_recv(dt);
		CHECK(h->opcode == FUSE_FORGET,
		      "7.15: opcode %u, want FORGET", h->opcode);
		CHECK(h->nodeid == 4 || h->nodeid == 5,
		      "forget of nodeid %llu", (unsigned long long)h->nodeid);
		seen |= 1u << h->nodeid;
	}
	CHECK_EQ(seen, (1u << 4) | (1u << 5));
	dt_expect_idle(dt, dt->fd);
}

/*
 * With forgets and requests both queued, reads alternate: on a fresh
 * connection 8 requests, then 16 forgets, then 8 requests, ...  (7.15 so
 * that each forget read takes one FORGET).
 */
static void t_forget_request_ratio(struct dt *dt)
{
	const size_t hs = sizeof(struct fuse_notify_delete_out);
	enum { NF = 20, NR = 10 };
	static const char want[] = "RRRRRRRRFFFFFFFFFFFFFFFFRRFFFF";
	struct caller c[NR];
	struct fuse_in_header *h;
	struct call_result r;
	char got[NF + NR + 1];
	char name[16];
	int i;

	/* A sleeping caller's request reaches an emulator under valgrind
	 * only some time later; the test cannot see when.  The ratio itself
	 * is also checked by the unit suite (fdk-read-order). */
	if (getenv("FUSEDEV_EMULATOR_WRAPPER")) {
		dt_skip("timing-dependent with the emulator under a checker");
		return;
	}
	dt->want_flags = FUSE_PARALLEL_DIROPS;
	dt_start(dt, 15, DT_MAX_WRITE);
	caller_start(dt, &c[0], call_stat_many, mp(dt, "f"), NF, 0);
	for (i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		h = dt_serve_until(dt, FUSE_LOOKUP, name);
		dt_reply_entry(dt, h->unique, 100 + i, S_IFREG | 0644, 3600);
	}
	r = caller_wait_serving(dt, &c[0]);
	CHECK_EQ(r.ret, 0);
	for (i = 0; i < NF; i++) {
		ssize_t n;

		snprintf(name, sizeof(name), "f%d", i);
		n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 100 + i,
				      name, strlen(name),
				      hs + strlen(name) + 1);
		CHECK_EQ(n, 16 + hs + strlen(name) + 1);
	}
	for (i = 0; i < NR; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		caller_start(dt, &c[i], call_stat, mp(dt, name), 0, 0);
		wait_sleeping(c[i].pid);
	}
	for (i = 0; i < NF + NR; i++) {
		h = dt_recv(dt);
		CHECK(h->opcode == FUSE_FORGET || h->opcode == FUSE_LOOKUP,
		      "read %d: opcode %u", i, h->opcode);
		got[i] = h->opcode == FUSE_FORGET ? 'F' : 'R';
		if (h->opcode == FUSE_LOOKUP)
			dt_reply_err(dt, h->unique, ENOENT);
	}
	got[i] = 0;
	dt_diag("read order %s", got);
	CHECK(!strcmp(got, want), "read order %s, want %s", got, want);
	for (i = 0; i < NR; i++) {
		r = caller_wait(&c[i]);
		CHECK_ERR(r.ret, ENOENT);
	}
}

/*
 * A BATCH_FORGET takes as many forgets as fit the read buffer:
 * (8192 - 48) / 16 = 509 with an 8192-byte read; the rest come next.
 */
static void t_batch_forget_fits_buffer(struct dt *dt)
{
	const size_t hs = sizeof(struct fuse_notify_delete_out);
	const struct fuse_batch_forget_in *bf;
	enum { NF = 600 };
	const unsigned int fit = (8192 - sizeof(struct fuse_in_header) -
				  sizeof(*bf)) / sizeof(struct fuse_forget_one);
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	char name[16];
	int i;

	dt_start(dt, DT_MINOR, 4096);
	dt->rsize = 8192;
	caller_start(dt, &c, call_stat_many, mp(dt, "f"), NF, 0);
	for (i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		h = dt_serve_until(dt, FUSE_LOOKUP, name);
		dt_reply_entry(dt, h->unique, 100 + i, S_IFREG | 0644, 3600);
	}
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);
	for (i = 0; i < NF; i++) {
		ssize_t n;

		snprintf(name, sizeof(name), "f%d", i);
		n = send_entry_notify(dt, FUSE_NOTIFY_DELETE, 1, 100 + i,
				      name, strlen(name),
				      hs + strlen(name) + 1);
		CHECK_EQ(n, 16 + hs + strlen(name) + 1);
	}
	h = dt_recv(dt);
	CHECK_EQ(h->opcode, FUSE_BATCH_FORGET);
	bf = req_arg(h);
	CHECK_EQ(bf->count, fit);
	CHECK_EQ(h->len, sizeof(*h) + sizeof(*bf) +
		 fit * sizeof(struct fuse_forget_one));
	h = dt_recv(dt);
	CHECK_EQ(h->opcode, FUSE_BATCH_FORGET);
	bf = req_arg(h);
	CHECK_EQ(bf->count, NF - fit);
	dt_expect_idle(dt, dt->fd);
}

/*
 * poll(): always POLLOUT | POLLWRNORM; POLLIN | POLLRDNORM while something
 * is queued; once the connection is gone, POLLERR only (pollers woken).
 */
static void t_poll_bits(struct dt *dt)
{
	const short all = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c, p;
	uint64_t init;

	dt_mount(dt);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no INIT");
	CHECK_EQ(poll_fd(dt->fd, all, 0), all);
	init = dt_read_init(dt);
	CHECK_EQ(poll_fd(dt->fd, all, 0), POLLOUT | POLLWRNORM);
	dt_reply_init(dt, init, FUSE_KERNEL_VERSION, DT_MINOR, DT_MAX_WRITE);
	CHECK_EQ(poll_fd(dt->fd, all, 0), POLLOUT | POLLWRNORM);

	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	CHECK_EQ(poll_fd(dt->fd, all, 0), all);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	CHECK_EQ(poll_fd(dt->fd, all, 0), POLLOUT | POLLWRNORM);
	finish_lookup(dt, &c, h->unique);

	caller_start(dt, &p, call_poll_dev, NULL, dt->fd, CALL_KEEP_FDS);
	wait_sleeping(p.pid);
	dt_umount(dt, NULL, 0);
	r = caller_wait(&p);
	CHECK_EQ(r.ret, POLLERR);
	CHECK_EQ(poll_fd(dt->fd, all, 0), POLLERR);
}

/*
 * Closing a device fd ends the requests on its processing list with
 * ECONNABORTED; closing the last one aborts the connection: pending
 * requests end with ECONNABORTED, new ones fail ENOTCONN, and so do
 * callers still waiting for INIT.
 */
static void t_release_aborts(struct dt *dt)
{
	struct caller a, b, c, d;
	struct fuse_in_header *h;
	struct call_result r;
	int fd2;

	dt->want_flags = FUSE_PARALLEL_DIROPS;
	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	fd2 = dt_open_dev(dt, 0);
	CHECK(ioctl(fd2, FUSE_DEV_IOC_CLONE, &dt->fd) == 0,
	      "FUSE_DEV_IOC_CLONE: %s", strerror(errno));

	/* a LOOKUP read on fd2, then fd2 closed */
	caller_start(dt, &a, call_stat, mp(dt, "a"), 0, 0);
	h = dt_recv_fd(dt, fd2, DT_WAIT_MS);
	CHECK_EQ(h->opcode, FUSE_LOOKUP);
	dt_close_fd(dt, fd2);
	r = caller_wait(&a);
	CHECK_ERR(r.ret, ECONNABORTED);
	roundtrip_lookup(dt, "b");

	/* one read (processing), one pending; the last fd closed */
	start_lookup(dt, &a, "c", 0);
	caller_start(dt, &b, call_stat, mp(dt, "d"), 0, 0);
	wait_sleeping(b.pid);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	dt_close_fd(dt, dt->fd);
	r = caller_wait(&a);
	CHECK_ERR(r.ret, ECONNABORTED);
	r = caller_wait(&b);
	CHECK_ERR(r.ret, ECONNABORTED);
	caller_start(dt, &c, call_stat, mp(dt, "e"), 0, 0);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOTCONN);
	caller_start(dt, &c, call_stat, dt->mnt, 0, 0);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOTCONN);
	dt_umount(dt, NULL, 0);

	/* a caller waiting for INIT when the device goes */
	dt_mount(dt);
	caller_start(dt, &d, call_stat, mp(dt, "f"), 0, 0);
	wait_sleeping(d.pid);
	dt_close_fd(dt, dt->fd);
	r = caller_wait(&d);
	CHECK_ERR(r.ret, ENOTCONN);
}

/* major:minor of the mount at @mnt (/proc/self/mountinfo); false if none. */
static bool mount_devno(const char *mnt, unsigned int *maj, unsigned int *min)
{
	char line[4096], point[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", maj, min,
			   point) == 3 && !strcmp(point, mnt))
			found = true;
	fclose(f);
	return found;
}

/*
 * One aborted session: a request on the processing list and one pending
 * end with ECONNABORTED, poll gives POLLERR, the daemon's read fails
 * @read_err, new requests ENOTCONN.
 */
static void abort_session(struct dt *dt, uint32_t flags, int read_err)
{
	struct caller a, b, c;
	struct call_result r;
	unsigned int maj, min;
	char path[512];
	int fd;

	dt->want_flags = FUSE_PARALLEL_DIROPS | flags;
	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	CHECK(mount_devno(dt->mnt, &maj, &min), "%s not in mountinfo",
	      dt->mnt);
	snprintf(path, sizeof(path), "%s/%u/abort", dt->aux, min);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));

	start_lookup(dt, &a, "a", 0);
	caller_start(dt, &b, call_stat, mp(dt, "b"), 0, 0);
	wait_sleeping(b.pid);
	CHECK(poll_fd(dt->fd, POLLIN, DT_WAIT_MS) & POLLIN, "no request");
	CHECK(write(fd, "1", 1) == 1, "write %s: %s", path, strerror(errno));
	close(fd);
	r = caller_wait(&a);
	CHECK_ERR(r.ret, ECONNABORTED);
	r = caller_wait(&b);
	CHECK_ERR(r.ret, ECONNABORTED);
	CHECK_EQ(poll_fd(dt->fd, POLLIN | POLLOUT, 0), POLLERR);
	r.ret = read_deadline(dt->fd, dt->buf, DT_BUF, DT_WAIT_MS);
	CHECK(r.ret == -read_err, "read after abort (flags %#x): %s, want %s",
	      flags, strerror((int)-r.ret), strerror(read_err));
	caller_start(dt, &c, call_stat, mp(dt, "c"), 0, 0);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOTCONN);
	dt_umount(dt, NULL, 0);
	dt_close_fd(dt, dt->fd);
}

/*
 * An aborted connection (kernel only: fusectl's "abort").  The daemon's
 * read fails ECONNABORTED only if it accepted FUSE_ABORT_ERROR in INIT,
 * else ENODEV, as after an unmount.
 */
static void t_abort_conn(struct dt *dt)
{
	if (getenv("FUSEDEV_DIR"))
		dt_skip("no fusectl abort under emulation");
	/* a private fusectl mount; the runner unmounts dt->aux */
	if (mount("fusectl", dt->aux, "fusectl", MS_NOSUID | MS_NODEV, NULL))
		dt_skip("mount fusectl: %s", strerror(errno));
	abort_session(dt, 0, ENODEV);
	abort_session(dt, FUSE_ABORT_ERROR, ECONNABORTED);
}

/* With FUSE_ABORT_ERROR accepted, unmount (not an abort) still gives ENODEV. */
static void t_abort_error_umount(struct dt *dt)
{
	dt->want_flags = FUSE_ABORT_ERROR;
	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	dt_umount(dt, NULL, 0);
	CHECK_ERR(read_deadline(dt->fd, dt->buf, DT_BUF, DT_WAIT_MS), ENODEV);
}

/*
 * FUSE_DEV_IOC_CLONE gives an fd its own processing list on the same
 * connection.  Old fd closed or not a device, new fd already attached:
 * EINVAL; old fd an unattached device: EPERM.  Unknown ioctls: ENOTTY,
 * attached or not.
 */
static void t_processing_list_per_fd(struct dt *dt)
{
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	int fd2, fd3, fd4, bad, p[2];
	uint64_t u;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	fd2 = dt_open_dev(dt, 0);
	CHECK(ioctl(fd2, FUSE_DEV_IOC_CLONE, &dt->fd) == 0,
	      "FUSE_DEV_IOC_CLONE: %s", strerror(errno));

	/* read on fd1: fd2 does not know it */
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	u = h->unique;
	CHECK_ERR(dt_send(fd2, u, -ENOENT, NULL, 0), ENOENT);
	dt_reply_err(dt, u, ENOENT);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOENT);

	/* read on fd2: answered on fd2, unknown to fd1 */
	caller_start(dt, &c, call_stat, mp(dt, "b"), 0, 0);
	h = dt_recv_fd(dt, fd2, DT_WAIT_MS);
	CHECK_EQ(h->opcode, FUSE_LOOKUP);
	u = h->unique;
	CHECK_ERR(dt_send(dt->fd, u, -ENOENT, NULL, 0), ENOENT);
	dt_reply_fd(fd2, u, -ENOENT, NULL, 0);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOENT);

	/* CLONE errors */
	CHECK(ioctl(fd2, FUSE_DEV_IOC_CLONE, &dt->fd) < 0 && errno == EINVAL,
	      "clone of an attached fd: %s", strerror(errno));
	fd3 = dt_open_dev(dt, 0);
	bad = dup(fd3);
	close(bad);
	CHECK(ioctl(fd3, FUSE_DEV_IOC_CLONE, &bad) < 0 && errno == EINVAL,
	      "clone from a closed fd: %s", strerror(errno));
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	CHECK(ioctl(fd3, FUSE_DEV_IOC_CLONE, &p[0]) < 0 && errno == EINVAL,
	      "clone from a pipe: %s", strerror(errno));
	close(p[0]);
	close(p[1]);
	/* an unattached device as the old fd: EPERM (as for read) */
	fd4 = dt_open_dev(dt, 0);
	CHECK(ioctl(fd3, FUSE_DEV_IOC_CLONE, &fd4) < 0 && errno == EPERM,
	      "clone from an unattached device fd: %s", strerror(errno));
	CHECK(ioctl(dt->fd, DT_UNKNOWN_IOCTL, &bad) < 0 && errno == ENOTTY,
	      "unknown ioctl: %s", strerror(errno));
	CHECK(ioctl(fd3, DT_UNKNOWN_IOCTL, &bad) < 0 && errno == ENOTTY,
	      "unknown ioctl, unattached: %s", strerror(errno));
	/* fd3 is still usable as a clone */
	CHECK(ioctl(fd3, FUSE_DEV_IOC_CLONE, &fd2) == 0,
	      "clone from a clone: %s", strerror(errno));
	caller_start(dt, &c, call_stat, mp(dt, "c"), 0, 0);
	h = dt_recv_fd(dt, fd3, DT_WAIT_MS);
	CHECK_EQ(h->opcode, FUSE_LOOKUP);
	dt_reply_fd(fd3, h->unique, -ENOENT, NULL, 0);
	r = caller_wait(&c);
	CHECK_ERR(r.ret, ENOENT);
}

/*
 * After unmount the daemon's read fails ENODEV, a blocked reader included
 * (woken), O_NONBLOCK or not; a reply written afterwards fails ENOENT.
 */
static void t_read_after_umount(struct dt *dt)
{
	struct call_result r;
	struct caller rd;
	ssize_t n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &rd, call_read_dev, NULL, dt->fd, CALL_KEEP_FDS);
	wait_sleeping(rd.pid);
	dt_umount(dt, NULL, 0);
	r = caller_wait(&rd);
	CHECK_ERR(r.ret, ENODEV);
	n = read_deadline(dt->fd, dt->buf, DT_BUF, DT_WAIT_MS);
	CHECK_ERR(n, ENODEV);
	set_nonblock(dt->fd, true);
	n = dev_read(dt->fd, dt->buf, DT_BUF);
	CHECK_ERR(n, ENODEV);
	CHECK_ERR(dt_send(dt->fd, 2, -ENOENT, NULL, 0), ENOENT);
}

/*
 * An INIT reply with another major (or an error) refuses every later
 * request with ECONNREFUSED; the device itself stays connected.
 */
static void t_major_mismatch(struct dt *dt)
{
	struct call_result r;
	struct caller c;
	uint64_t init;

	dt_mount(dt);
	init = dt_read_init(dt);
	dt_reply_init(dt, init, 8, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ECONNREFUSED);
	caller_start(dt, &c, call_stat, dt->mnt, 0, 0);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ECONNREFUSED);
	dt_expect_idle(dt, dt->fd);
	set_nonblock(dt->fd, true);
	CHECK_ERR(dev_read(dt->fd, dt->buf, DT_BUF), EAGAIN);
	set_nonblock(dt->fd, false);
	dt_umount(dt, NULL, 0);
	dt_close_fd(dt, dt->fd);

	dt_mount(dt);
	init = dt_read_init(dt);
	dt_reply_err(dt, init, EPROTO);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ECONNREFUSED);
}

/*
 * Unmounting a plain "fuse" mount sends no FUSE_DESTROY (the kernel sends
 * it for fuseblk only); the daemon's next read fails ENODEV.
 */
static void t_destroy_on_umount(struct dt *dt)
{
	uint32_t ops[8];
	int nops, i;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	roundtrip_lookup(dt, "a");
	nops = dt_umount(dt, ops, 8);
	for (i = 0; i < nops; i++)
		dt_diag("unmount sent opcode %u", ops[i]);
	for (i = 0; i < nops; i++)
		CHECK(ops[i] != FUSE_DESTROY, "unmount sent FUSE_DESTROY");
	CHECK_EQ(nops, 0);
	CHECK_ERR(read_deadline(dt->fd, dt->buf, DT_BUF, DT_WAIT_MS), ENODEV);
}

/* ---- the runner ---------------------------------------------------------- */

struct dt_test {
	const char *name;
	void (*fn)(struct dt *dt);
};

/* ---- client ioctl and poll on a FUSE file (fs/fuse/ioctl.c, file.c) ---- */

/* A caller's @call on file "f" (nodeid 2, entry cached for an hour),
 * served until the request @opcode arrives. */
static struct fuse_in_header *start_on_f(struct dt *dt, struct caller *c,
					 call_fn call, long arg,
					 uint32_t opcode)
{
	static bool looked_up;
	struct fuse_in_header *h;

	caller_start(dt, c, call, mp(dt, "f"), arg, 0);
	if (!looked_up) {
		h = dt_serve_until(dt, FUSE_LOOKUP, "f");
		dt_reply_entry(dt, h->unique, 2, S_IFREG | 0644, 3600);
		looked_up = true;
	}
	return dt_serve_until(dt, opcode, NULL);
}

static void reply_ioctl(struct dt *dt, uint64_t unique, int32_t result,
			uint32_t flags, const void *data, size_t len)
{
	struct {
		struct fuse_ioctl_out out;
		char data[64];
	} o = { .out = { .result = result, .flags = flags } };

	if (len)
		memcpy(o.data, data, len);
	dt_reply(dt, unique, 0, &o, sizeof(o.out) + len);
}

/* The ioctl ends; no FUSE_IOCTL came meanwhile. */
static struct call_result wait_no_ioctl(struct dt *dt, struct caller *c)
{
	struct call_result r;
	uint32_t ops[16];
	int n, i;

	r = caller_wait_ops(dt, c, ops, 16, &n);
	for (i = 0; i < n; i++)
		CHECK(ops[i] != FUSE_IOCTL, "the daemon got an IOCTL");
	return r;
}

/*
 * A client's ioctl on a FUSE file is a restricted FUSE_IOCTL: fh, cmd
 * and arg as given, flags 0, in data and out size as _IOC says; the
 * daemon's result and data go back; a reply with more data than asked,
 * or asking to retry, is EIO; ENOSYS is ENOTTY (and the next ioctl is
 * sent all the same).  Unreadable in data: EFAULT, nothing sent.
 */
static void t_ioctl_restricted(struct dt *dt)
{
	const struct fuse_ioctl_in *in;
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	h = start_on_f(dt, &c, call_ioctl, IOC_RW, FUSE_IOCTL);
	in = req_arg(h);
	CHECK_EQ(h->nodeid, 2);
	CHECK_EQ(in->fh, 2);
	CHECK_EQ(in->flags, 0);
	CHECK_EQ(in->cmd, DT_IOC_RW);
	CHECK(in->arg && in->arg != 8, "arg %#llx",
	      (unsigned long long)in->arg);
	CHECK_EQ(in->in_size, 16);
	CHECK_EQ(in->out_size, 16);
	CHECK_EQ(h->len, sizeof(*h) + sizeof(*in) + 16);
	CHECK(!memcmp(in + 1, DT_IOC_DATA, 16), "in data differs");
	reply_ioctl(dt, h->unique, 7, 0, "ABCDEFGHIJKLMNOP", 16);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 7);
	CHECK(!memcmp(r.data, "ABCDEFGHIJKLMNOP", 16), "out data differs");

	/* _IOR: no in data; a shorter answer copies what it has */
	h = start_on_f(dt, &c, call_ioctl, IOC_R, FUSE_IOCTL);
	in = req_arg(h);
	CHECK_EQ(in->in_size, 0);
	CHECK_EQ(in->out_size, 16);
	CHECK_EQ(h->len, sizeof(*h) + sizeof(*in));
	reply_ioctl(dt, h->unique, 0, 0, "abcdefgh", 8);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);
	CHECK(!memcmp(r.data, "abcdefgh89abcdef", 16), "out data differs");

	/* more than out_size: EIO */
	h = start_on_f(dt, &c, call_ioctl, IOC_R, FUSE_IOCTL);
	reply_ioctl(dt, h->unique, 0, 0, "0123456789ABCDEFGHIJ", 20);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EIO);

	/* no retry without FUSE_IOCTL_UNRESTRICTED: EIO */
	h = start_on_f(dt, &c, call_ioctl, IOC_W, FUSE_IOCTL);
	in = req_arg(h);
	CHECK_EQ(in->in_size, 16);
	CHECK_EQ(in->out_size, 0);
	reply_ioctl(dt, h->unique, 0, FUSE_IOCTL_RETRY, NULL, 0);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EIO);

	/* ENOSYS: ENOTTY, and the daemon is asked again next time */
	h = start_on_f(dt, &c, call_ioctl, IOC_NONE, FUSE_IOCTL);
	in = req_arg(h);
	CHECK_EQ(in->cmd, DT_IOC_NONE);
	CHECK_EQ(in->arg, DT_IOC_ARG);
	CHECK_EQ(in->in_size, 0);
	CHECK_EQ(in->out_size, 0);
	dt_reply_err(dt, h->unique, ENOSYS);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOTTY);
	h = start_on_f(dt, &c, call_ioctl, IOC_NONE, FUSE_IOCTL);
	dt_reply_err(dt, h->unique, EINVAL);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EINVAL);

	/* a negative result is the caller's error */
	h = start_on_f(dt, &c, call_ioctl, IOC_NONE, FUSE_IOCTL);
	reply_ioctl(dt, h->unique, -EPERM, 0, NULL, 0);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EPERM);

	/* unreadable in data: EFAULT before any IOCTL */
	h = start_on_f(dt, &c, call_ioctl, IOC_W_BAD, FUSE_OPEN);
	dt_default(dt, dt->fd, h);
	r = wait_no_ioctl(dt, &c);
	CHECK_ERR(r.ret, EFAULT);

	/* unwritable out buffer: the daemon is asked, the copy out fails */
	h = start_on_f(dt, &c, call_ioctl, IOC_R_BAD, FUSE_IOCTL);
	reply_ioctl(dt, h->unique, 0, 0, "abcdefgh", 8);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, EFAULT);
}

/* On a directory: FUSE_IOCTL_DIR (fuse_dir_ioctl). */
static void t_ioctl_dir(struct dt *dt)
{
	const struct fuse_ioctl_in *in;
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_ioctl, dt->mnt, IOC_RW, 0);
	h = dt_serve_until(dt, FUSE_OPENDIR, NULL);
	CHECK_EQ(h->nodeid, FUSE_ROOT_ID);
	dt_default(dt, dt->fd, h);
	h = dt_serve_until(dt, FUSE_IOCTL, NULL);
	in = req_arg(h);
	CHECK_EQ(h->nodeid, FUSE_ROOT_ID);
	CHECK_EQ(in->flags, FUSE_IOCTL_DIR);
	CHECK_EQ(in->cmd, DT_IOC_RW);
	CHECK_EQ(in->in_size, 16);
	CHECK_EQ(in->out_size, 16);
	reply_ioctl(dt, h->unique, 3, 0, "ABCDEFGHIJKLMNOP", 16);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 3);
	CHECK(!memcmp(r.data, "ABCDEFGHIJKLMNOP", 16), "out data differs");
}

/* The VFS's own FUSE file: OPEN @opcode (O_RDONLY) answered with @fh,
 * then its IOCTL of @cmd (arg 0, exactly @in and @out bytes). */
static struct fuse_in_header *priv_ioctl(struct dt *dt, uint32_t opcode,
					 uint64_t fh, uint32_t cmd,
					 uint32_t insz, uint32_t outsz)
{
	struct fuse_open_out oo = { .fh = fh };
	const struct fuse_ioctl_in *in;
	struct fuse_in_header *h;

	h = dt_serve_until(dt, opcode, NULL);
	CHECK_EQ(((const struct fuse_open_in *)req_arg(h))->flags, O_RDONLY);
	dt_reply(dt, h->unique, 0, &oo, sizeof(oo));
	h = dt_serve_until(dt, FUSE_IOCTL, NULL);
	in = req_arg(h);
	CHECK_EQ(in->fh, fh);
	CHECK_EQ(in->cmd, cmd);
	CHECK_EQ(in->arg, 0);
	CHECK_EQ(in->flags, opcode == FUSE_OPENDIR ? FUSE_IOCTL_DIR : 0);
	CHECK_EQ(in->in_size, insz);
	CHECK_EQ(in->out_size, outsz);
	return h;
}

static void expect_release(struct dt *dt, uint32_t opcode, uint64_t fh)
{
	struct fuse_in_header *h = dt_serve_until(dt, opcode, NULL);

	CHECK_EQ(((const struct fuse_release_in *)req_arg(h))->fh, fh);
	dt_default(dt, dt->fd, h);
}

/*
 * The ioctls the VFS answers itself (fs/ioctl.c, fs/file_attr.c):
 * FIONREAD of a regular file is size - position without a request, a
 * directory's goes to the daemon.  The fileattr ones open the file for
 * themselves (OPEN O_RDONLY, IOCTL with arg 0 and exact sizes, RELEASE,
 * fuse_fileattr_get/set); FS_IOC_SETFLAGS reads the old attributes
 * first with FS_IOC_FSGETXATTR.
 */
static void t_ioctl_vfs(struct dt *dt)
{
	struct fsxattr x = { .fsx_xflags = FS_XFLAG_NOATIME };
	const struct fuse_ioctl_in *in;
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint32_t flags = FS_APPEND_FL | FS_NOATIME_FL;
	int v;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	h = start_on_f(dt, &c, call_ioctl, IOC_FIONREAD, FUSE_OPEN);
	dt_default(dt, dt->fd, h);
	r = wait_no_ioctl(dt, &c);
	CHECK_EQ(r.ret, 0);
	memcpy(&v, r.data, sizeof(v));
	CHECK_EQ(v, 0);

	caller_start(dt, &c, call_ioctl, dt->mnt, IOC_FIONREAD, 0);
	h = dt_serve_until(dt, FUSE_IOCTL, NULL);
	in = req_arg(h);
	CHECK_EQ(in->cmd, FIONREAD);
	CHECK_EQ(in->flags, FUSE_IOCTL_DIR);
	CHECK_EQ(in->in_size, 0);
	CHECK_EQ(in->out_size, 0);
	dt_reply_err(dt, h->unique, ENOSYS);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOTTY);

	h = start_on_f(dt, &c, call_ioctl, IOC_GETFLAGS, FUSE_OPEN);
	dt_default(dt, dt->fd, h);
	h = priv_ioctl(dt, FUSE_OPEN, 77, FS_IOC_GETFLAGS, 0, 4);
	reply_ioctl(dt, h->unique, 0, 0, &flags, sizeof(flags));
	expect_release(dt, FUSE_RELEASE, 77);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);
	memcpy(&v, r.data, sizeof(v));
	CHECK_EQ(v, flags);

	h = start_on_f(dt, &c, call_ioctl, IOC_SETFLAGS, FUSE_OPEN);
	dt_default(dt, dt->fd, h);
	h = priv_ioctl(dt, FUSE_OPEN, 78, FS_IOC_FSGETXATTR, 0, sizeof(x));
	reply_ioctl(dt, h->unique, 0, 0, &x, sizeof(x));
	expect_release(dt, FUSE_RELEASE, 78);
	h = priv_ioctl(dt, FUSE_OPEN, 79, FS_IOC_SETFLAGS, 4, 0);
	memcpy(&v, (const struct fuse_ioctl_in *)req_arg(h) + 1, sizeof(v));
	CHECK_EQ(v, FS_NODUMP_FL);
	reply_ioctl(dt, h->unique, 0, 0, NULL, 0);
	expect_release(dt, FUSE_RELEASE, 79);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);

	/* a directory's: OPENDIR, FUSE_IOCTL_DIR; ENOSYS is ENOTTY */
	caller_start(dt, &c, call_ioctl, dt->mnt, IOC_GETFLAGS, 0);
	h = dt_serve_until(dt, FUSE_OPENDIR, NULL);
	dt_default(dt, dt->fd, h);
	h = priv_ioctl(dt, FUSE_OPENDIR, 80, FS_IOC_GETFLAGS, 0, 4);
	dt_reply_err(dt, h->unique, ENOSYS);
	expect_release(dt, FUSE_RELEASEDIR, 80);
	r = caller_wait_serving(dt, &c);
	CHECK_ERR(r.ret, ENOTTY);
}

static void reply_poll(struct dt *dt, uint64_t unique, uint32_t revents)
{
	struct fuse_poll_out out = { .revents = revents };

	dt_reply(dt, unique, 0, &out, sizeof(out));
}

/*
 * poll(2) on a FUSE file is FUSE_POLL (fuse_file_poll): fh, the file's
 * kh, the events polled for, FUSE_POLL_SCHEDULE_NOTIFY when the caller
 * will wait; the answer is the caller's revents; a NOTIFY_POLL for the
 * kh wakes the caller, which asks again.  A notification for a kh no
 * file has is accepted.  ENOSYS: no more POLL, every file is always
 * ready (DEFAULT_POLLMASK).  Directories are never asked.
 */
static void t_poll_file(struct dt *dt)
{
	struct fuse_notify_poll_wakeup_out wake = { 0 };
	const struct fuse_poll_in *in;
	struct fuse_in_header *h;
	struct call_result r;
	struct caller c;
	uint32_t ops[16];
	int n, i;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	h = start_on_f(dt, &c, call_poll, 2 * DT_WAIT_MS, FUSE_POLL);
	in = req_arg(h);
	CHECK_EQ(h->nodeid, 2);
	CHECK_EQ(in->fh, 2);
	CHECK(in->kh != 0, "kh 0");
	CHECK_EQ(in->flags, FUSE_POLL_SCHEDULE_NOTIFY);
	CHECK_EQ(in->events, POLLIN | POLLERR | POLLHUP);
	wake.kh = in->kh;
	reply_poll(dt, h->unique, 0);
	wait_sleeping(c.pid);
	dt_expect_idle(dt, dt->fd);
	dt_notify(dt, FUSE_NOTIFY_POLL, &wake, sizeof(wake));
	h = dt_serve_until(dt, FUSE_POLL, NULL);
	in = req_arg(h);
	CHECK_EQ(in->kh, wake.kh);
	CHECK_EQ(in->flags, FUSE_POLL_SCHEDULE_NOTIFY);
	reply_poll(dt, h->unique, POLLIN | POLLOUT);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, POLLIN);

	/* nobody waits: no notification asked for */
	h = start_on_f(dt, &c, call_poll, 0, FUSE_POLL);
	in = req_arg(h);
	CHECK_EQ(in->flags, 0);
	reply_poll(dt, h->unique, POLLOUT);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, 0);

	wake.kh += 1000;
	dt_notify(dt, FUSE_NOTIFY_POLL, &wake, sizeof(wake));

	/* ENOSYS: always ready from then on, without asking */
	h = start_on_f(dt, &c, call_poll, 0, FUSE_POLL);
	dt_reply_err(dt, h->unique, ENOSYS);
	r = caller_wait_serving(dt, &c);
	CHECK_EQ(r.ret, POLLIN);
	caller_start(dt, &c, call_poll, mp(dt, "f"), 2 * DT_WAIT_MS, 0);
	r = caller_wait_ops(dt, &c, ops, 16, &n);
	CHECK_EQ(r.ret, POLLIN);
	for (i = 0; i < n; i++)
		CHECK(ops[i] != FUSE_POLL, "POLL after ENOSYS");

	/* a directory has no poll: ready, never asked */
	caller_start(dt, &c, call_poll, dt->mnt, 2 * DT_WAIT_MS, 0);
	r = caller_wait_ops(dt, &c, ops, 16, &n);
	CHECK_EQ(r.ret, POLLIN);
	for (i = 0; i < n; i++)
		CHECK(ops[i] != FUSE_POLL, "POLL of a directory");
}

#define T(name) { #name, t_##name }
/* ---- the VFS on the daemon's replies (fs/fuse/dir.c, fs/namei.c) ---- */

/* The caller's result, after answering whatever comes with dt_default. */
static long serve_result(struct dt *dt, struct caller *c)
{
	return caller_wait_serving(dt, c).ret;
}

/* Serves LOOKUP @name with an entry: @entry_valid, attributes 3600 s. */
static void reply_lookup(struct dt *dt, const char *name, uint64_t nodeid,
			 uint32_t mode, uint64_t entry_valid)
{
	struct fuse_in_header *h = dt_serve_until(dt, FUSE_LOOKUP, name);
	struct fuse_entry_out e;

	fill_entry(&e, nodeid, mode, 3600);
	e.entry_valid = entry_valid;
	dt_reply(dt, h->unique, 0, &e, sizeof(e));
}

/* fuse_lookup: a LOOKUP that answers the root's nodeid is EIO. */
static void t_lookup_root_eio(struct dt *dt)
{
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	reply_lookup(dt, "a", FUSE_ROOT_ID, S_IFDIR | 0755, 3600);
	CHECK_ERR(serve_result(dt, &c), EIO);
}

/* d_splice_alias: a directory found inside itself is ELOOP. */
static void t_lookup_loop_eloop(struct dt *dt)
{
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "d/x"), 0, 0);
	reply_lookup(dt, "d", 5, S_IFDIR | 0755, 3600);
	reply_lookup(dt, "x", 5, S_IFDIR | 0755, 3600);
	CHECK_ERR(serve_result(dt, &c), ELOOP);
}

/*
 * fuse_dentry_revalidate: an expired entry whose LOOKUP answers another
 * file type is dropped and the name looked up again: two LOOKUPs, and the
 * caller sees the new inode.
 */
static void t_revalidate_type_change(struct dt *dt)
{
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	reply_lookup(dt, "a", 2, S_IFREG | 0644, 0);
	CHECK_EQ(serve_result(dt, &c), 0);
	caller_start(dt, &c, call_stat, mp(dt, "a"), 0, 0);
	reply_lookup(dt, "a", 2, S_IFDIR | 0755, 0);
	reply_lookup(dt, "a", 2, S_IFDIR | 0755, 3600);
	CHECK_EQ(serve_result(dt, &c), 0);
}

/* fuse_link: LINK answered ENOSYS is EPERM. */
static void t_link_enosys_eperm(struct dt *dt)
{
	struct fuse_in_header *h;
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	caller_start(dt, &c, call_link, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_LINK, NULL);
	dt_reply_err(dt, h->unique, ENOSYS);
	CHECK_ERR(serve_result(dt, &c), EPERM);
}

/*
 * fuse_link: the linked inode keeps its cached attributes (a daemon may
 * answer with another nodeid, as libfuse 2's high-level library does).
 */
static void t_link_keeps_attrs(struct dt *dt)
{
	struct fuse_in_header *h;
	struct fuse_entry_out e;
	struct caller c;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	caller_start(dt, &c, call_link, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_LINK, NULL);
	fill_entry(&e, 3, S_IFREG | 0644, 3600);
	e.attr.nlink = 2;
	dt_reply(dt, h->unique, 0, &e, sizeof(e));
	CHECK_EQ(serve_result(dt, &c), 0);
	caller_start(dt, &c, call_stat_nlink, mp(dt, "a"), 0, 0);
	CHECK_EQ(caller_wait(&c).ret, 1);
	dt_expect_idle(dt, dt->fd);
}

/* lock_rename's trap: a directory into its own subtree is EINVAL, and
 * no RENAME reaches the daemon. */
static void t_rename_into_itself(struct dt *dt)
{
	uint32_t ops[32];
	struct caller c;
	int i, n;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_rename_into, mp(dt, "a"), 0, 0);
	reply_lookup(dt, "a", 5, S_IFDIR | 0755, 3600);
	reply_lookup(dt, "b", 6, S_IFDIR | 0755, 3600);
	CHECK_ERR(caller_wait_ops(dt, &c, ops, 32, &n).ret, EINVAL);
	for (i = 0; i < n; i++)
		CHECK(ops[i] != FUSE_RENAME && ops[i] != FUSE_RENAME2,
		      "RENAME sent");
}

/* A regular file's attributes of @size bytes, valid 3600 s. */
static void reply_attr_size(struct dt *dt, uint64_t unique, uint64_t nodeid,
			    uint64_t size)
{
	struct fuse_attr_out a = { .attr_valid = 3600 };

	fill_attr(&a.attr, nodeid, S_IFREG | 0644);
	a.attr.size = size;
	dt_reply(dt, unique, 0, &a, sizeof(a));
}

/*
 * fuse_getattr: fstat() asks GETATTR without FUSE_GETATTR_FH (the file is
 * not passed); a READ marks atime stale (fuse_invalidate_atime), so the
 * next fstat() asks again although the attributes have not timed out.
 */
static void t_getattr_of_fstat(struct dt *dt)
{
	const struct fuse_getattr_in *ga;
	struct fuse_in_header *h;
	struct fuse_open_out oo = { .fh = 77 };
	struct caller c;
	char data[5] = "hello";

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	caller_start(dt, &c, call_open_fstat, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_LOOKUP, "a");
	{
		struct fuse_entry_out e;

		fill_entry(&e, 2, S_IFREG | 0644, 3600);
		e.attr_valid = 0;
		e.attr.size = 5;
		dt_reply(dt, h->unique, 0, &e, sizeof(e));
	}
	h = dt_serve_until(dt, FUSE_OPEN, NULL);
	dt_reply(dt, h->unique, 0, &oo, sizeof(oo));
	h = dt_serve_until(dt, FUSE_GETATTR, NULL);
	ga = req_arg(h);
	CHECK_EQ(ga->getattr_flags & FUSE_GETATTR_FH, 0);
	reply_attr_size(dt, h->unique, 2, 5);
	CHECK_EQ(serve_result(dt, &c), 0);

	/* attributes valid: fstat() alone asks nothing */
	caller_start(dt, &c, call_open_fstat, mp(dt, "a"), 0, 0);
	h = dt_serve_until(dt, FUSE_OPEN, NULL);
	dt_reply(dt, h->unique, 0, &oo, sizeof(oo));
	{
		uint32_t ops[16];
		int i, n;

		CHECK_EQ(caller_wait_ops(dt, &c, ops, 16, &n).ret, 0);
		for (i = 0; i < n; i++)
			CHECK(ops[i] != FUSE_GETATTR, "GETATTR sent");
	}

	/* after a READ it asks again */
	caller_start(dt, &c, call_open_fstat, mp(dt, "a"), 5, 0);
	h = dt_serve_until(dt, FUSE_OPEN, NULL);
	dt_reply(dt, h->unique, 0, &oo, sizeof(oo));
	h = dt_serve_until(dt, FUSE_READ, NULL);
	dt_reply(dt, h->unique, 0, data, sizeof(data));
	h = dt_serve_until(dt, FUSE_GETATTR, NULL);
	reply_attr_size(dt, h->unique, 2, 5);
	CHECK_EQ(serve_result(dt, &c), 0);
}

/*
 * Lookups in one directory: without FUSE_PARALLEL_DIROPS fuse_lock_inode
 * serialises them (a second LOOKUP waits for the first's reply); with it
 * both are in flight.  A lookup of a name already being looked up waits
 * for that one and takes its answer (d_alloc_parallel): one LOOKUP.
 */
static void lookups_in_one_dir(struct dt *dt, bool parallel)
{
	struct fuse_in_header *h;
	struct caller c1, c2, c3;
	uint64_t u1, u2;

	dt->want_flags = parallel ? FUSE_PARALLEL_DIROPS : 0;
	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	u1 = start_lookup(dt, &c1, "x", 0);
	caller_start(dt, &c2, call_stat, mp(dt, "y"), 0, 0);
	caller_start(dt, &c3, call_stat, mp(dt, "x"), 0, 0);
	if (parallel) {
		h = dt_serve_until(dt, FUSE_LOOKUP, "y");
		u2 = h->unique;
		dt_expect_idle(dt, dt->fd);	/* nothing more for "x" */
		dt_reply_err(dt, u2, ENOENT);
		dt_reply_entry(dt, u1, 2, S_IFREG | 0644, 3600);
	} else {
		dt_expect_idle(dt, dt->fd);
		dt_reply_entry(dt, u1, 2, S_IFREG | 0644, 3600);
		h = dt_serve_until(dt, FUSE_LOOKUP, "y");
		dt_reply_err(dt, h->unique, ENOENT);
	}
	CHECK_EQ(caller_wait(&c1).ret, 0);
	CHECK_ERR(caller_wait(&c2).ret, ENOENT);
	CHECK_EQ(caller_wait(&c3).ret, 0);
	dt_expect_idle(dt, dt->fd);
}

static void t_lookups_serialised(struct dt *dt)
{
	lookups_in_one_dir(dt, false);
}

static void t_lookups_parallel_dirops(struct dt *dt)
{
	lookups_in_one_dir(dt, true);
}

/*
 * file_remove_privs: without HANDLE_KILLPRIV_V2 (no SB_NOSEC) every
 * cached write first asks for security.capability; a file that has it
 * is asked again (notify_change), loses it (REMOVEXATTR) and gets a
 * SETATTR that sets nothing, before the WRITE.
 */
static void t_write_asks_capability(struct dt *dt)
{
	struct fuse_in_header *h;
	struct fuse_getxattr_out go = { 0 };
	struct fuse_open_out oo = { .fh = 9 };
	struct fuse_write_out wo = { .size = 3 };
	struct caller c;
	int round;

	dt_start(dt, DT_MINOR, DT_MAX_WRITE);
	lookup_cached(dt, "a", 2, S_IFREG | 0644);
	for (round = 0; round < 2; round++) {
		caller_start(dt, &c, call_write, mp(dt, "a"), 3, 0);
		h = dt_serve_until(dt, FUSE_OPEN, NULL);
		dt_reply(dt, h->unique, 0, &oo, sizeof(oo));
		h = dt_recv(dt);
		CHECK_EQ(h->opcode, FUSE_GETXATTR);
		CHECK(!strcmp((const char *)req_arg(h) +
			      sizeof(struct fuse_getxattr_in),
			      "security.capability"), "GETXATTR of another name");
		go.size = round ? 20 : 0;
		dt_reply(dt, h->unique, 0, &go, sizeof(go));
		if (round) {
			/* notify_change asks again */
			h = dt_recv(dt);
			CHECK_EQ(h->opcode, FUSE_GETXATTR);
			dt_reply(dt, h->unique, 0, &go, sizeof(go));
		}
		if (round) {
			h = dt_recv(dt);
			CHECK_EQ(h->opcode, FUSE_REMOVEXATTR);
			CHECK(!strcmp(req_name(h), "security.capability"),
			      "REMOVEXATTR of another name");
			dt_reply(dt, h->unique, 0, NULL, 0);
			/* notify_change's SETATTR, with nothing to set */
			h = dt_recv(dt);
			CHECK_EQ(h->opcode, FUSE_SETATTR);
			CHECK_EQ(((const struct fuse_setattr_in *)
				  req_arg(h))->valid, 0);
			dt_reply_attr(dt, h->unique, 2, S_IFREG | 0644, 3600);
		}
		h = dt_serve_until(dt, FUSE_WRITE, NULL);
		dt_reply(dt, h->unique, 0, &wo, sizeof(wo));
		CHECK_EQ(serve_result(dt, &c), 0);
	}
}

static const struct dt_test tests[] = {
	T(ids_even_and_nonzero),
	T(init_first),
	T(read_buffer_too_small_einval),
	T(read_nonblock_eagain),
	T(read_blocks_until_request),
	T(unattached_fd_eperm),
	T(oversize_request),
	T(write_short_header_einval),
	T(write_len_mismatch_einval),
	T(write_error_positive_einval),
	T(write_error_too_negative_einval),
	T(write_unknown_unique_enoent),
	T(write_error_with_body_einval),
	T(write_oversize_payload_einval),
	T(write_success_returns_count),
	T(notify_unknown_code_einval),
	T(notify_inval_entry),
	T(notify_inval_inode),
	T(notify_delete),
	T(notify_inval_entry_expire),
	T(notify_resend),
	T(interrupt_delivery),
	T(interrupt_while_pending),
	T(interrupts_read_first),
	T(fatal_signal_pending_removed),
	T(fatal_signal_sent_interrupts),
	T(forget_single),
	T(batch_forget),
	T(forget_request_ratio),
	T(batch_forget_fits_buffer),
	T(poll_bits),
	T(ioctl_restricted),
	T(ioctl_dir),
	T(ioctl_vfs),
	T(poll_file),
	T(release_aborts),
	T(abort_conn),
	T(abort_error_umount),
	T(processing_list_per_fd),
	T(read_after_umount),
	T(major_mismatch),
	T(destroy_on_umount),
	T(lookup_root_eio),
	T(lookup_loop_eloop),
	T(revalidate_type_change),
	T(link_enosys_eperm),
	T(link_keeps_attrs),
	T(rename_into_itself),
	T(getattr_of_fstat),
	T(lookups_serialised),
	T(lookups_parallel_dirops),
	T(write_asks_capability),
};
#define NTESTS	(sizeof(tests) / sizeof(tests[0]))

/* Body of the test process. */
static _Noreturn void run_child(const struct dt_test *t, const char *mnt,
				const char *aux)
{
	struct dt dt;
	int i;

	memset(&dt, 0, sizeof(dt));
	snprintf(dt.mnt, sizeof(dt.mnt), "%s", mnt);
	snprintf(dt.aux, sizeof(dt.aux), "%s", aux);
	dt.fd = -1;
	for (i = 0; i < DT_MAX_DEVFDS; i++)
		dt.devfds[i] = -1;
	dt.rsize = DT_BUF;
	dt.buf = malloc(DT_BUF);
	CHECK(dt.buf, "out of memory");
	signal(SIGPIPE, SIG_IGN);
	t->fn(&dt);
	free(dt.buf);
	_exit(0);
}

/* Reaps what is left of test process group @pgid, with a deadline. */
static void reap_group(pid_t pgid)
{
	int64_t deadline = now_ms() + DT_WAIT_MS;
	int st;

	kill(-pgid, SIGKILL);
	while (now_ms() < deadline) {
		pid_t p = waitpid(-pgid, &st, WNOHANG);

		if (p < 0)
			return;
		if (p == 0)
			tick();
	}
}

/* Runs test @t as TAP test @num; returns 0 pass, 1 fail, 77 skip. */
static int run_test(const struct dt_test *t, int num)
{
	char base[] = "/tmp/devtest.XXXXXX";
	char mnt[sizeof(base) + 8], aux[sizeof(base) + 8];
	int64_t deadline;
	int st = 0, res;
	pid_t pid, w;

	memset(dt_shared, 0, sizeof(*dt_shared));
	if (!mkdtemp(base)) {
		dprintf(STDOUT_FILENO, "not ok %d - %s # mkdtemp: %s\n", num,
			t->name, strerror(errno));
		return 1;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	snprintf(aux, sizeof(aux), "%s/aux", base);
	mkdir(mnt, 0755);
	mkdir(aux, 0755);

	pid = fork();
	if (pid < 0) {
		dprintf(STDOUT_FILENO, "not ok %d - %s # fork: %s\n", num,
			t->name, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		run_child(t, mnt, aux);
	}
	setpgid(pid, pid);

	deadline = now_ms() + DT_TEST_MS;
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (now_ms() > deadline) {
			snprintf(dt_shared->reason, sizeof(dt_shared->reason),
				 "timeout after %d ms", DT_TEST_MS);
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		poll(NULL, 0, 5);
	}
	reap_group(pid);
	umount2(mnt, MNT_DETACH);
	umount2(aux, MNT_DETACH);
	rmdir(mnt);
	rmdir(aux);
	rmdir(base);

	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		dprintf(STDOUT_FILENO, "ok %d - %s\n", num, t->name);
		return 0;
	}
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		dprintf(STDOUT_FILENO, "ok %d - %s # SKIP %s\n", num, t->name,
			dt_shared->reason);
		return 77;
	}
	res = 1;
	if (!dt_shared->reason[0]) {
		if (WIFSIGNALED(st))
			snprintf(dt_shared->reason, sizeof(dt_shared->reason),
				 "killed by signal %d", WTERMSIG(st));
		else
			snprintf(dt_shared->reason, sizeof(dt_shared->reason),
				 "exit status %d", WEXITSTATUS(st));
	}
	dprintf(STDOUT_FILENO, "not ok %d - %s # %s\n", num, t->name,
		dt_shared->reason);
	return res;
}

static const struct dt_test *find_test(const char *name)
{
	size_t i;

	for (i = 0; i < NTESTS; i++)
		if (!strcmp(tests[i].name, name))
			return &tests[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct dt_test *sel[NTESTS];
	int nsel = 0, failed = 0, skipped = 0, i, fd;

	if (argc > 1 && !strcmp(argv[1], "--caller"))
		return caller_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < (int)NTESTS; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		const struct dt_test *t = find_test(argv[i]);

		if (!t || nsel == (int)NTESTS) {
			fprintf(stderr, "devtest: unknown test '%s' (-l lists "
				"them)\n", argv[i]);
			return 1;
		}
		sel[nsel++] = t;
	}
	if (!nsel)
		for (i = 0; i < (int)NTESTS; i++)
			sel[nsel++] = &tests[i];

	/* under emulation (FUSEDEV_DIR set) mount(2) needs no privilege */
	if (geteuid() != 0 && !getenv("FUSEDEV_DIR")) {
		printf("1..0 # SKIP not root\n");
		return 77;
	}
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		self_exe[0] = 0;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("1..0 # SKIP open /dev/fuse: %s\n", strerror(errno));
		return 77;
	}
	close(fd);

	dt_shared = mmap(NULL, sizeof(*dt_shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (dt_shared == MAP_FAILED) {
		perror("devtest: mmap");
		return 1;
	}
	/* orphaned callers are re-parented here and reaped per test */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);

	dprintf(STDOUT_FILENO, "1..%d\n", nsel);
	for (i = 0; i < nsel; i++) {
		int r = run_test(sel[i], i + 1);

		failed += r == 1;
		skipped += r == 77;
	}
	munmap(dt_shared, sizeof(*dt_shared));
	if (failed)
		return 1;
	return skipped == nsel ? 77 : 0;
}
