/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-locks MOUNTPOINT [local|forward [SUBDIR]]: file locks with Linux
 * semantics, on a file in MOUNTPOINT (or its SUBDIR).
 *
 *  - fcntl POSIX locks: ranges from l_whence (SET, CUR, END, negative
 *    l_len), merging and splitting of one owner's locks, F_GETLK's report
 *    (l_pid of the holder), EAGAIN, EBADF, EINVAL, EOVERFLOW, F_SETLKW
 *    waiting, EINTR on a signal, EDEADLK;
 *  - release: a close of any fd of the file drops the process's POSIX
 *    locks, so does exit; fork children are other owners;
 *  - OFD locks: shared by dup and fork, gone at the last close, conflict
 *    with the same process's POSIX locks, l_pid -1;
 *  - flock(2): per open file, conversion, LOCK_NB, waiting, independent
 *    of fcntl locks; lockf(3).
 *
 * "local": the daemon keeps no locks (memfs_ll), the kernel or the
 * emulator does; "forward": the daemon does (passthrough_ll), and l_pid
 * is -1 for any F_OFD_GETLK, the daemon's pid for any F_GETLK.  The same program passes on a
 * kernel FUSE mount of the same daemon (run it there without the shim).
 * Exit 0 pass, 1 fail, 77 skip.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char path[PATH_MAX];
static bool forward;

static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int xopen(int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int lk(int fd, int cmd, int type, int whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence,
			    .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or @cmd) from another process with its own open of the file:
 * the answer in @out, the call's result or -errno. */
static int probe(int cmd, int type, off_t start, off_t len, struct flock *out)
{
	int p[2], r = -EIO;
	pid_t pid;
	struct {
		struct flock fl;
		int r;
	} msg;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR);

		msg.fl = (struct flock){ .l_type = type,
					 .l_whence = SEEK_SET,
					 .l_start = start, .l_len = len };
		msg.r = fd < 0 ? -errno : fcntl(fd, cmd, &msg.fl);
		if (msg.r < 0)
			msg.r = -errno;
		if (write(p[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &msg, sizeof(msg)) == sizeof(msg)) {
		r = msg.r;
		if (out)
			*out = msg.fl;
	}
	close(p[0]);
	wait_status(pid);
	return r;
}

static bool probe_is(int type, off_t start, off_t len, int want_type,
		     off_t want_start, off_t want_len, pid_t want_pid)
{
	struct flock fl;
	int r = probe(F_GETLK, type, start, len, &fl);

	if (r < 0) {
		fprintf(stderr, "probe: %s\n", strerror(-r));
		return false;
	}
	if (fl.l_type != want_type)
		goto bad;
	if (want_type == F_UNLCK)
		return true;
	if (fl.l_whence == SEEK_SET && fl.l_start == want_start &&
	    fl.l_len == want_len && fl.l_pid == want_pid)
		return true;
bad:
	fprintf(stderr, "probe [%lld,+%lld]: type %d start %lld len %lld "
		"pid %d; want type %d start %lld len %lld pid %d\n",
		(long long)start, (long long)len, fl.l_type,
		(long long)fl.l_start, (long long)fl.l_len, fl.l_pid,
		want_type, (long long)want_start, (long long)want_len,
		want_pid);
	return false;
}

/* Release happens in the background on a RELEASE: wait for it. */
static bool eventually_unlocked(int cmd, int type)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct flock fl;
		int r = probe(cmd, type, 0, 0, &fl);

		if (cmd == F_GETLK && r == 0 && fl.l_type == F_UNLCK)
			return true;
		if (cmd != F_GETLK && r == 0)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			return false;
		poll(NULL, 0, 20);	/* retry interval, bounded above */
	}
}

/* ---- a child that blocks ---------------------------------------------- */

struct blocker {
	pid_t pid;
	int rd;				/* 'A' before the call, then errno */
};

static void on_usr1(int sig)
{
	(void)sig;
}

enum { B_SETLKW, B_OFD_SETLKW, B_FLOCK, B_SETLKW_OWN };

/* A child that opens the file (or uses @fd), maybe takes [1,1] first,
 * and then makes a blocking request on [0,0] (or flock LOCK_EX). */
static struct blocker start_blocker(int how, int fd)
{
	struct blocker b = { -1, -1 };
	int p[2];

	if (pipe(p) < 0)
		return b;
	b.pid = fork();
	if (b.pid == 0) {
		struct sigaction sa = { .sa_handler = on_usr1 };
		int r, e;

		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
		close(p[0]);
		if (fd < 0)
			fd = open(path, O_RDWR);
		if (how == B_SETLKW_OWN &&
		    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1) < 0)
			_exit(2);
		if (write(p[1], "A", 1) != 1)
			_exit(1);
		if (how == B_FLOCK)
			r = flock(fd, LOCK_EX);
		else
			r = lk(fd, how == B_OFD_SETLKW ? F_OFD_SETLKW :
			       F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		e = r < 0 ? errno : 0;
		if (write(p[1], &e, sizeof(e)) != sizeof(e))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	b.rd = p[0];
	return b;
}

/* Has the blocker answered within @ms?  Its errno in *@err. */
static bool blocker_done(struct blocker *b, int ms, int *err)
{
	struct pollfd pfd = { .fd = b->rd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	return read(b->rd, err, sizeof(*err)) == sizeof(*err);
}

/* Wait for 'A', then check that the child stays blocked a while. */
static bool blocker_waits(struct blocker *b)
{
	char c;
	int err;
	struct pollfd pfd = { .fd = b->rd, .events = POLLIN };

	if (poll(&pfd, 1, 10000) <= 0 || read(b->rd, &c, 1) != 1 || c != 'A')
		return false;
	return !blocker_done(b, 300, &err);
}

static int blocker_end(struct blocker *b)
{
	close(b->rd);
	return wait_status(b->pid);
}

/* ---- the tests --------------------------------------------------------- */

static void test_posix_basic(void)
{
	int fd = xopen(O_RDWR), ro, wo;
	struct flock fl;

	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "lock [0,9]");
	CHECK(probe(F_SETLK, F_WRLCK, 5, 10, NULL) == -EAGAIN,
	      "conflicting F_SETLK: EAGAIN");
	CHECK(probe(F_SETLK, F_RDLCK, 9, 1, NULL) == -EAGAIN,
	      "read lock on a write lock: EAGAIN");
	CHECK(probe(F_SETLK, F_WRLCK, 10, 5, NULL) == 0,
	      "lock next to it: granted");
	CHECK(probe_is(F_WRLCK, 0, 1, F_WRLCK, 0, 10, getpid()),
	      "F_GETLK reports the lock and its holder");
	CHECK(probe_is(F_RDLCK, 10, 0, F_UNLCK, 0, 0, 0),
	      "F_GETLK past it: F_UNLCK");
	/* The holder never conflicts with itself. */
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK,
	      "F_GETLK by the holder: F_UNLCK");
	/* F_OFD_GETLK sees the POSIX lock too. */
	if (probe(F_OFD_GETLK, F_WRLCK, 0, 0, &fl) == 0)
		CHECK(fl.l_type == F_WRLCK &&
		      fl.l_pid == (forward ? -1 : getpid()),
		      "F_OFD_GETLK: type %d pid %d", fl.l_type, fl.l_pid);
	else
		CHECK(0, "F_OFD_GETLK failed");

	/* Argument checks, in fs/locks.c's order. */
	errno = 0;
	CHECK(lk(fd, F_SETLK, F_WRLCK, 9, 0, 0) < 0 && errno == EINVAL,
	      "bad l_whence: EINVAL");
	CHECK(lk(fd, F_SETLK, 7, SEEK_SET, 0, 0) < 0 && errno == EINVAL,
	      "bad l_type: EINVAL");
	CHECK(lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 0) < 0 &&
	      errno == EINVAL, "F_GETLK with F_UNLCK: EINVAL");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 5) < 0 &&
	      errno == EINVAL, "negative start: EINVAL");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -10) < 0 &&
	      errno == EINVAL, "negative length before 0: EINVAL");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, LLONG_MAX) < 0 &&
	      errno == EOVERFLOW, "range past OFFSET_MAX: EOVERFLOW");
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
			     .l_pid = 1 };
	CHECK(fcntl(fd, F_OFD_SETLK, &fl) < 0 && errno == EINVAL,
	      "F_OFD_SETLK with l_pid: EINVAL");
	ro = xopen(O_RDONLY);
	wo = xopen(O_WRONLY);
	CHECK(lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 100, 1) < 0 &&
	      errno == EBADF, "write lock on a read-only fd: EBADF");
	CHECK(lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 100, 1) < 0 &&
	      errno == EBADF, "read lock on a write-only fd: EBADF");
	CHECK(lk(ro, F_SETLK, F_RDLCK, SEEK_SET, 100, 1) == 0 &&
	      lk(wo, F_SETLK, F_WRLCK, SEEK_SET, 200, 1) == 0,
	      "matching locks on ro/wo fds");
	/* Closing any fd of the file drops all our POSIX locks on it. */
	close(wo);
	CHECK(probe_is(F_WRLCK, 0, 0, F_UNLCK, 0, 0, 0),
	      "close of another fd released the locks");
	close(ro);
	close(fd);
}

static void test_ranges(void)
{
	int fd = xopen(O_RDWR);
	pid_t me = getpid();
	char buf[200];

	memset(buf, 'x', sizeof(buf));
	CHECK(pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf), "write 200");
	/* merge */
	CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 10) == 0 &&
	      lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 10, 10) == 0, "two reads");
	CHECK(probe_is(F_WRLCK, 15, 1, F_RDLCK, 0, 20, me),
	      "adjacent read locks merged");
	/* split: RD [0,99], then WR [40,59] */
	CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 100) == 0 &&
	      lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 40, 20) == 0, "split");
	CHECK(probe_is(F_WRLCK, 0, 1, F_RDLCK, 0, 40, me), "left part");
	CHECK(probe_is(F_RDLCK, 0, 0, F_WRLCK, 40, 20, me), "middle");
	CHECK(probe_is(F_WRLCK, 60, 0, F_RDLCK, 60, 40, me), "right part");
	/* unlock a hole */
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 45, 10) == 0, "unlock hole");
	CHECK(probe_is(F_RDLCK, 45, 10, F_UNLCK, 0, 0, 0), "hole unlocked");
	CHECK(probe_is(F_RDLCK, 0, 50, F_WRLCK, 40, 5, me), "hole's left");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock all");
	CHECK(probe_is(F_WRLCK, 0, 0, F_UNLCK, 0, 0, 0), "all unlocked");

	/* l_whence: SEEK_CUR, SEEK_END, negative l_len */
	CHECK(lseek(fd, 100, SEEK_SET) == 100, "lseek");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5) == 0, "SEEK_CUR");
	CHECK(probe_is(F_WRLCK, 0, 0, F_WRLCK, 90, 5, me), "SEEK_CUR range");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_END, -50, 0) == 0, "SEEK_END");
	CHECK(probe_is(F_WRLCK, 0, 0, F_WRLCK, 150, 0, me), "SEEK_END range");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, -10) == 0, "l_len < 0");
	CHECK(probe_is(F_WRLCK, 0, 0, F_WRLCK, 40, 10, me), "l_len < 0 range");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");
	close(fd);
}

static void test_wait(void)
{
	int fd = xopen(O_RDWR), err = -1;
	struct blocker b;
	int i;

	/* F_SETLKW waits for the unlock. */
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0, "lock");
	b = start_blocker(B_SETLKW, -1);
	CHECK(blocker_waits(&b), "F_SETLKW waits");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0, "unlock");
	CHECK(blocker_done(&b, 10000, &err) && err == 0,
	      "F_SETLKW granted after the unlock (%d)", err);
	CHECK(blocker_end(&b) == 0, "blocker exit");
	/* Its lock went with its exit. */
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0,
	      "exit released the waiter's lock");

	/* A signal ends the wait with EINTR. */
	b = start_blocker(B_SETLKW, -1);
	CHECK(blocker_waits(&b), "F_SETLKW waits (2)");
	err = -1;
	for (i = 0; i < 100; i++) {
		kill(b.pid, SIGUSR1);
		if (blocker_done(&b, 100, &err))
			break;
	}
	CHECK(err == EINTR, "signalled F_SETLKW: EINTR (%d)", err);
	blocker_end(&b);

	/* EDEADLK: the child holds [1,1] and waits for our [0,0]. */
	b = start_blocker(B_SETLKW_OWN, -1);
	CHECK(blocker_waits(&b), "F_SETLKW waits (3)");
	errno = 0;
	CHECK(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1) < 0 &&
	      errno == EDEADLK, "deadlock: EDEADLK");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0, "unlock");
	CHECK(blocker_done(&b, 10000, &err) && err == 0,
	      "the child got the lock (%d)", err);
	blocker_end(&b);
	close(fd);
}

static void test_owners(void)
{
	int fd = xopen(O_RDWR), fd2, st;
	pid_t pid;
	struct flock fl;

	/* POSIX locks are not inherited. */
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0, "lock");
	pid = fork();
	if (pid == 0)
		_exit(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) < 0 &&
		      errno == EAGAIN ? 0 : 1);
	CHECK(wait_status(pid) == 0, "fork child is another owner");
	/* An OFD lock conflicts with our own POSIX lock. */
	fd2 = xopen(O_RDWR);
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(fd2, F_OFD_SETLK, &fl) < 0 && errno == EAGAIN,
	      "OFD vs own POSIX lock: EAGAIN");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");

	/* OFD locks: shared by dup and fork, gone at the last close. */
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(fd2, F_OFD_SETLK, &fl) == 0, "OFD lock");
	/* l_pid: -1 for an OFD lock kept by the kernel; a daemon's
	 * answer is the pid it was given. */
	CHECK(probe_is(F_RDLCK, 0, 0, F_WRLCK, 0, 0,
		       forward ? getpid() : -1),
	      "F_GETLK on an OFD lock: l_pid");
	CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 0) < 0 &&
	      errno == EAGAIN, "own POSIX vs OFD lock: EAGAIN");
	pid = fork();
	if (pid == 0) {
		struct flock f2 = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		_exit(fcntl(fd2, F_OFD_SETLK, &f2) == 0 ? 0 : 1);
	}
	CHECK(wait_status(pid) == 0, "fork child shares the OFD lock");
	st = dup(fd2);
	close(st);
	CHECK(probe(F_OFD_SETLK, F_WRLCK, 0, 0, NULL) == -EAGAIN,
	      "OFD lock survives the close of a dup");
	close(fd2);
	CHECK(eventually_unlocked(F_OFD_SETLK, F_WRLCK),
	      "last close released the OFD lock");
	/* OFD F_GETLK with F_UNLCK finds the file's own lock (Linux 6.x) */
	fd2 = xopen(O_RDWR);
	fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET,
			     .l_start = 5, .l_len = 5 };
	CHECK(fcntl(fd2, F_OFD_SETLK, &fl) == 0, "OFD read lock");
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(fd2, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK,
	      "OFD F_GETLK by the holder: F_UNLCK");
	close(fd2);
	close(fd);
}

static void test_flock(void)
{
	int fd = xopen(O_RDWR), fd2 = xopen(O_RDONLY), d, err = -1;
	struct blocker b;
	pid_t pid;

	CHECK(flock(fd, LOCK_EX) == 0, "LOCK_EX");
	CHECK(flock(fd2, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "other open file: EWOULDBLOCK");
	CHECK(flock(fd2, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "shared on exclusive: EWOULDBLOCK");
	d = dup(fd);
	CHECK(flock(d, LOCK_EX | LOCK_NB) == 0, "dup shares the lock");
	close(d);
	pid = fork();
	if (pid == 0)
		_exit(flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
	CHECK(wait_status(pid) == 0, "fork child shares the lock");
	/* flock and fcntl locks do not see each other */
	CHECK(lk(fd2, F_SETLK, F_RDLCK, SEEK_SET, 0, 0) == 0,
	      "fcntl lock beside flock");
	CHECK(lk(fd2, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");
	/* conversion */
	CHECK(flock(fd, LOCK_SH) == 0, "convert to LOCK_SH");
	CHECK(flock(fd2, LOCK_SH | LOCK_NB) == 0, "second shared");
	CHECK(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "upgrade with another sharer: EWOULDBLOCK");
	CHECK(flock(fd2, LOCK_UN) == 0, "LOCK_UN");
	CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0, "upgrade");
	CHECK(flock(fd, 0) < 0 && errno == EINVAL, "bad op: EINVAL");
	/* a blocking flock waits for LOCK_UN */
	b = start_blocker(B_FLOCK, -1);
	CHECK(blocker_waits(&b), "flock waits");
	CHECK(flock(fd, LOCK_UN) == 0, "LOCK_UN");
	CHECK(blocker_done(&b, 10000, &err) && err == 0,
	      "flock granted after LOCK_UN (%d)", err);
	blocker_end(&b);
	/* the last close releases */
	CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0, "LOCK_EX again");
	close(fd);
	{
		struct timespec t0, t;
		bool ok = false;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			if (flock(fd2, LOCK_EX | LOCK_NB) == 0) {
				ok = true;
				break;
			}
			poll(NULL, 0, 20);	/* retry, bounded */
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec - t0.tv_sec < 5);
		CHECK(ok, "last close released the flock lock");
	}
	close(fd2);
}

static void test_lockf(void)
{
	int fd = xopen(O_RDWR);
	pid_t pid;

	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	CHECK(lockf(fd, F_LOCK, 10) == 0, "F_LOCK");
	CHECK(lockf(fd, F_TEST, 10) == 0, "F_TEST by the holder");
	pid = fork();
	if (pid == 0) {
		int f = open(path, O_RDWR);

		if (lockf(f, F_TEST, 10) == 0 || errno != EACCES)
			_exit(1);
		if (lockf(f, F_TLOCK, 10) == 0 ||
		    (errno != EAGAIN && errno != EACCES))
			_exit(2);
		if (lseek(f, 10, SEEK_SET) != 10 || lockf(f, F_TLOCK, 5))
			_exit(3);
		_exit(0);
	}
	CHECK(wait_status(pid) == 0, "lockf in another process");
	CHECK(lockf(fd, F_ULOCK, 10) == 0, "F_ULOCK");
	CHECK(probe_is(F_WRLCK, 0, 0, F_UNLCK, 0, 0, 0), "unlocked");
	CHECK(lockf(fd, 99, 0) < 0 && errno == EINVAL, "bad cmd: EINVAL");
	close(fd);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT [local|forward "
			"[SUBDIR]]\n", argv[0]);
		return 1;
	}
	forward = argc > 2 && !strcmp(argv[2], "forward");
	snprintf(path, sizeof(path), "%s/%s/locks-%d", argv[1],
		 argc > 3 ? argv[3] : ".", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	test_posix_basic();
	test_ranges();
	test_wait();
	test_owners();
	test_flock();
	test_lockf();
	unlink(path);
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("locks: all passed (%s)\n", forward ? "forward" : "local");
	return 0;
}
