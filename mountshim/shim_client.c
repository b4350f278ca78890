/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim, client side: file system calls on paths under emulated
 * mountpoints and on emulated fds.
 *
 * An emulated fd is a real kernel fd: an open of the emulated device bound
 * to the open file the emulator created (FDP_OP_OPEN + FUSEDEV_IOC_BIND).
 * read(2)/write(2)/poll(2)/close(2) on it reach the emulator through the
 * kernel, so they need no wrapper; everything the device cannot carry
 * (offsets, metadata) goes over the client port by the open file's key.
 *
 * Sections: open family; fd table upkeep (close, dup, fcntl, recvmsg);
 * data by fd; metadata by fd; the stat family; calls by path; extended
 * attributes; stdio and temporary files.  Wrapper families are generated
 * by macros so that the 64-bit, fortified and __xstat forms of a call
 * cannot drift apart.
 */
#include "shim.h"

#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <time.h>

_Static_assert(sizeof(struct stat) == sizeof(struct stat64) &&
	       offsetof(struct stat, st_mtim) ==
	       offsetof(struct stat64, st_mtim),
	       "struct stat64 is struct stat on this ABI");
_Static_assert(sizeof(struct statfs) == sizeof(struct statfs64),
	       "struct statfs64 is struct statfs on this ABI");
_Static_assert(sizeof(struct statvfs) == sizeof(struct statvfs64),
	       "struct statvfs64 is struct statvfs on this ABI");

#define FUSE_SUPER_MAGIC	0x65735546
#ifndef ST_VALID
#define ST_VALID		0x0020	/* f_flags is valid (statfs(2)) */
#endif
/* Largest gather buffer for readv/writev/copy emulation; larger calls loop. */
#define SHIM_COPY_CHUNK		(1024 * 1024)

/*
 * The body of a wrapper taking an fd: EMU runs with fi filled for an
 * emulated fd and gives a result or -errno.
 */
#define SHIM_FDCALL(type, fd_, REALCALL, EMU)				\
	do {								\
		struct shim_fdinfo fi = { 0 };				\
		int e_ = errno;						\
		if (likely(!shim_fd_lookup((fd_), &fi)))		\
			return REALCALL;				\
		return (type)shim_result((EMU), e_);			\
	} while (0)

/* Flags the kernel refuses before looking at the path: EINVAL. */
#define SHIM_BADFLAGS(cond)						\
	do {								\
		if (unlikely(cond)) {					\
			errno = EINVAL;					\
			return -1;					\
		}							\
	} while (0)

static struct shim_route *fd_route(struct shim_route *rt, int fd);

#define AT_STAT_FLAGS	(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)

static inline mode_t masked(mode_t mode)
{
	return mode & 07777 & ~shim.umask;
}

static inline uint64_t owner_arg(uid_t uid, gid_t gid)
{
	return (uint64_t)(uint32_t)uid << 32 | (uint32_t)gid;
}

static long emu_path(struct shim_route *rt, uint32_t op, uint32_t flags,
		     uint32_t mode, uint64_t arg)
{
	return shim_op_path(rt, op, NULL, flags, mode, arg, NULL, 0, NULL, 0,
			    NULL);
}

static long emu_file(uint64_t key, uint32_t op, int64_t offset,
		     uint32_t flags)
{
	return shim_op_file(op, key, offset, 0, flags, 0, NULL, 0, NULL, 0,
			    NULL);
}

/* ---- open family -------------------------------------------------------- */

long shim_client_open(struct shim_route *rt, int flags, mode_t mode)
{
	struct {
		struct fdp_open_out out;
		char canon[FUSEDEV_PATH_MAX];
	} o;
	struct fdp_open_out out;
	size_t n = 0;
	long r;
	int fd;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		mode = masked(mode);
	else
		mode = 0;
	/* The device first: the fd number is the lowest free, as open(2). */
	fd = shim_open_device(O_RDWR | (flags & O_CLOEXEC));
	if (fd < 0)
		return fd;
	r = shim_op_path(rt, FDP_OP_OPEN, NULL, flags, mode, 0, NULL, 0, &o,
			 sizeof(o), &n);
	if (r == 0 && n < sizeof(out))
		r = -EIO;
	out = o.out;
	if (r == 0 && REAL(ioctl)(fd, FUSEDEV_IOC_BIND, &out.open_key) < 0)
		r = -errno;
	/* the emulator's canonical path if it sent one, else ours */
	if (r == 0 && n > sizeof(out) && o.canon[0] == '/' &&
	    !o.canon[n - sizeof(out) - 1])
		r = shim_fd_set(fd, out.open_key, flags, o.canon);
	else if (r == 0)
		r = shim_fd_set(fd, out.open_key, flags, rt->abs);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	SHIM_DBG(SHIM_DBG_CLIENT, "open %s flags %#x -> fd %d", rt->abs, flags,
		 fd);
	return fd;
}

/* Daemon side: the literal "/dev/fuse" is the emulated device. */
static inline bool is_dev_fuse(const char *path)
{
	char b[sizeof("/dev/fuse") + 1];

	return shim_active() && shim_peek(path, b, sizeof(b)) &&
	       !strcmp(b, "/dev/fuse");
}

/*
 * The names of an open file: "/dev/fd/N", "/proc/self/fd/N" (also
 * thread-self, our pid or tid), "/dev/stdin", "/dev/stdout",
 * "/dev/stderr".  N, with *@rest the text after it ("" or "/..."); -1
 * for any other name.  Only the spellings the kernel resolves: no
 * leading zeros, single slashes.
 */
static int fd_link_num(const char *path, const char **rest)
{
	static const char *const std[] = { "stdin", "stdout", "stderr" };
	const char *p;
	long n = 0;
	int i;

	if (!strncmp(path, "/dev/", 5)) {
		p = path + 5;
		for (i = 0; i < 3; i++) {
			if (!strcmp(p, std[i])) {
				*rest = "";
				return i;
			}
		}
	} else if (!strncmp(path, "/proc/", 6)) {
		p = path + 6;
		if (!strncmp(p, "self/", 5)) {
			p += 5;
		} else if (!strncmp(p, "thread-self/", 12)) {
			p += 12;
		} else {
			for (; *p >= '0' && *p <= '9' && n < INT_MAX; p++)
				n = n * 10 + (*p - '0');
			/* ps reading /proc/PID/stat: no system call */
			if (*p++ != '/' || strncmp(p, "fd/", 3) ||
			    (n != getpid() && n != gettid()))
				return -1;
		}
	} else {
		return -1;
	}
	if (strncmp(p, "fd/", 3))
		return -1;
	p += 3;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' &&
				     p[1] <= '9'))
		return -1;
	for (n = 0; *p >= '0' && *p <= '9' && n <= INT_MAX; p++)
		n = n * 10 + (*p - '0');
	if (n > INT_MAX || (*p && *p != '/'))
		return -1;
	*rest = p;
	return n;
}

static inline bool same_inode(const struct fdp_stat_out *a,
			      const struct fdp_stat_out *b)
{
	return a->dev == b->dev && a->attr.ino == b->attr.ino;
}

/*
 * open(2) of a name of emulated fd N (fd_link_num): Linux follows the
 * magic link to N's file and opens it anew with @flags, where the kernel
 * here would open the device node.  The shim opens the path the file
 * has now, checked before and after to be that file (an unlinked file
 * cannot be reopened: ENOENT).  "N/REST" is REST under the directory
 * fd N, O_TMPFILE creates in it.  O_NOFOLLOW is left to the kernel
 * (ELOOP, or the link itself with O_PATH).  Returns 0 when @path is no
 * such name or N is not emulated, else the new fd + 1 or -errno.
 */
static long open_fd_link(const char *path, int flags, mode_t mode)
{
	char fpath[FUSEDEV_PATH_MAX], b[8];
	struct shim_fdinfo fi = { 0 }, nfi = { 0 };
	struct fdp_stat_out was, now;
	struct shim_route rt;
	const char *rest;
	char *name;
	long r, fd;
	int n;

	/* "/dev/s", "/dev/f", "/proc/": read the whole name (safely) */
	if (likely(!shim_peek(path, b, 7) ||
		   (strcmp(b, "/proc/") && strncmp(b, "/dev/s", 6) &&
		    strncmp(b, "/dev/f", 6))))
		return 0;
	name = malloc(FUSEDEV_PATH_MAX);
	if (!name)
		return 0;
	r = shim_strncpy_from_user(name, path, FUSEDEV_PATH_MAX);
	n = r > 0 && r < FUSEDEV_PATH_MAX ? fd_link_num(name, &rest) : -1;
	if (n < 0 || !shim_fd_lookup(n, &fi)) {
		free(name);
		return 0;
	}
	if ((flags & O_TMPFILE) == O_TMPFILE && !*rest)
		rest = "/";
	if (*rest) {
		while (*rest == '/')
			rest++;
		r = shim_open_routed(&rt, n, *rest ? rest : ".", flags, mode);
		if (!r) {
			fd = REAL(openat)(rt.dirfd, rt.path, flags, mode);
			r = fd < 0 ? -errno : fd + 1;
		}
		free(name);
		return r;
	}
	free(name);
	if (flags & O_NOFOLLOW)
		return 0;
	r = shim_op_fpath(fi.open_key, fpath);
	if (r == 0)
		r = shim_op_fstat(fi.open_key, &was);
	if (r < 0)
		return r;
	/* not another file at the old name (O_TRUNC would hit it) */
	if (shim_route(&rt, AT_FDCWD, fpath) <= 0 ||
	    shim_client_stat(&rt, 0, &now) < 0 || !same_inode(&was, &now))
		return -ENOENT;
	r = shim_open_routed(&rt, AT_FDCWD, fpath, flags, mode);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	fd = r - 1;
	r = shim_fd_lookup(fd, &nfi) ? shim_op_fstat(nfi.open_key, &now) : -EIO;
	if (r == 0 && !same_inode(&was, &now))
		r = -ENOENT;
	if (r < 0) {
		shim_fd_drop(fd);
		REAL(close)(fd);
		return r;
	}
	SHIM_DBG(SHIM_DBG_CLIENT, "open %s: fd %d reopened as %ld", path, n,
		 fd);
	return fd + 1;
}

/* open_fd_link() at a wrapper's edge: true with the result in *@fd. */
static bool fd_link_open(const char *path, int flags, mode_t mode, int *fd)
{
	int e = errno;
	long r = open_fd_link(path, flags, mode);

	if (!r)
		return false;
	*fd = shim_result(r < 0 ? r : r - 1, e);
	return true;
}

#define OPEN_MODE(flags, mode)						\
	do {								\
		if (__OPEN_NEEDS_MODE(flags)) {				\
			va_list ap;					\
			va_start(ap, flags);				\
			mode = va_arg(ap, mode_t);			\
			va_end(ap);					\
		}							\
	} while (0)

#define WRAP_OPEN(name)							\
SHIM_EXPORT int name(const char *path, int flags, ...)			\
{									\
	mode_t mode = 0;						\
	int fd_;							\
									\
	OPEN_MODE(flags, mode);						\
	if (is_dev_fuse(path)) {					\
		SHIM_DBG(SHIM_DBG_DAEMON, #name " /dev/fuse -> %s",	\
			 shim.device);					\
		return REAL(name)(shim.device, flags, mode);		\
	}								\
	if (fd_link_open(path, flags, mode, &fd_))			\
		return fd_;						\
	SHIM_PATHCALL(int, AT_FDCWD, path,				\
		      REAL(name)(rt.path, flags, mode),			\
		      shim_client_open(&rt, flags, mode));		\
}

#define WRAP_OPENAT(name)						\
SHIM_EXPORT int name(int dirfd, const char *path, int flags, ...)	\
{									\
	mode_t mode = 0;						\
	int fd_;							\
									\
	OPEN_MODE(flags, mode);						\
	if (is_dev_fuse(path)) {					\
		SHIM_DBG(SHIM_DBG_DAEMON, #name " /dev/fuse -> %s",	\
			 shim.device);					\
		return REAL(name)(dirfd, shim.device, flags, mode);	\
	}								\
	if (fd_link_open(path, flags, mode, &fd_))			\
		return fd_;						\
	SHIM_PATHCALL(int, dirfd, path,					\
		      REAL(name)(rt.dirfd, rt.path, flags, mode),	\
		      shim_client_open(&rt, flags, mode));		\
}

#define WRAP_OPEN_2(name)						\
SHIM_EXPORT int name(const char *path, int flags)			\
{									\
	int fd_;							\
									\
	if (is_dev_fuse(path))						\
		return REAL(name)(shim.device, flags);			\
	if (fd_link_open(path, flags, 0, &fd_))				\
		return fd_;						\
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(name)(rt.path, flags),	\
		      shim_client_open(&rt, flags, 0));			\
}

#define WRAP_OPENAT_2(name)						\
SHIM_EXPORT int name(int dirfd, const char *path, int flags)		\
{									\
	int fd_;							\
									\
	if (is_dev_fuse(path))						\
		return REAL(name)(dirfd, shim.device, flags);		\
	if (fd_link_open(path, flags, 0, &fd_))				\
		return fd_;						\
	SHIM_PATHCALL(int, dirfd, path,					\
		      REAL(name)(rt.dirfd, rt.path, flags),		\
		      shim_client_open(&rt, flags, 0));			\
}

#define CREAT_FLAGS	(O_CREAT | O_WRONLY | O_TRUNC)
#define WRAP_CREAT(name)						\
SHIM_EXPORT int name(const char *path, mode_t mode)			\
{									\
	int fd_;							\
									\
	if (fd_link_open(path, CREAT_FLAGS, mode, &fd_))		\
		return fd_;						\
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(name)(rt.path, mode),	\
		      shim_client_open(&rt, CREAT_FLAGS, mode));	\
}

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
WRAP_OPEN_2(__open_2)
WRAP_OPEN_2(__open64_2)
WRAP_OPENAT_2(__openat_2)
WRAP_OPENAT_2(__openat64_2)
WRAP_CREAT(creat)
WRAP_CREAT(creat64)

/* File locks on emulated fds (shim_lock.c). */
long shim_lock_fcntl(int fd, const struct shim_fdinfo *fi, int cmd,
		     void *arg);
void shim_lock_close(int fd);

/* ---- fd table upkeep ---------------------------------------------------- */

SHIM_EXPORT int close(int fd)
{
	/* Our port sockets outlive a program closing "all" its fds. */
	if (unlikely(shim_internal_fd(fd)))
		return 0;
	shim_lock_close(fd);	/* CUSE only (shim_lock.c) */
	shim_fd_drop(fd);
	return REAL(close)(fd);
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int e = errno;

	if (!shim_active())
		return REAL(close_range)(first, last, flags);
	return shim_result(shim_close_range_user(first, last, flags), e);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	int e = errno;

	if (!shim_active() || lowfd < 0) {
		REAL(closefrom)(lowfd);
		return;
	}
	shim_close_range_user(lowfd, ~0u, 0);
	errno = e;
}

static void fd_dup(int oldfd, int newfd)
{
	int e = errno;

	shim_fd_dup(oldfd, newfd);
	errno = e;
}

SHIM_EXPORT int dup(int fd)
{
	int r = REAL(dup)(fd);

	if (r >= 0)
		fd_dup(fd, r);
	return r;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int r;

	if (oldfd != newfd && shim_internal_fd(newfd))
		shim_port_forget(newfd);
	r = REAL(dup2)(oldfd, newfd);
	if (r >= 0)
		fd_dup(oldfd, r);
	return r;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (oldfd != newfd && shim_internal_fd(newfd))
		shim_port_forget(newfd);
	r = REAL(dup3)(oldfd, newfd, flags);
	if (r >= 0)
		fd_dup(oldfd, r);
	return r;
}

/* F_GETFL as the kernel reports it (open-only flags cleared). */
static long emu_getfl(int fd, const struct shim_fdinfo *fi)
{
	struct fusedev_whoami who;
	int flags = fi->flags;

	if (shim_whoami(fd, &who) == 0 && who.kind == FUSEDEV_KIND_CLIENT)
		flags = who.flags;
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	/* force_o_largefile: the kernel's bit (glibc's O_LARGEFILE is 0);
	 * an O_PATH open keeps only O_PATH's flags */
	return (flags & O_PATH) ? flags : flags | 0100000;
}

static long emu_setfl(int fd, const struct shim_fdinfo *fi, int flags)
{
	const int settable = O_APPEND | O_NONBLOCK;
	long r;

	r = emu_file(fi->open_key, FDP_OP_SETFL, 0, flags & settable);
	if (r == 0)
		shim_fd_setflags(fd, (fi->flags & ~settable) |
				 (flags & settable));
	return r;
}


#define WRAP_FCNTL(name)						\
SHIM_EXPORT int name(int fd, int cmd, ...)				\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno, r;						\
	va_list ap;							\
	void *arg;							\
									\
	va_start(ap, cmd);						\
	arg = va_arg(ap, void *);					\
	va_end(ap);							\
	switch (cmd) {							\
	case F_DUPFD:							\
	case F_DUPFD_CLOEXEC:						\
		r = REAL(name)(fd, cmd, arg);				\
		if (r >= 0)						\
			fd_dup(fd, r);					\
		return r;						\
	case F_GETFL:							\
		if (shim_fd_lookup(fd, &fi))				\
			return shim_result(emu_getfl(fd, &fi), e);	\
		break;							\
	case F_SETFL:							\
		if (shim_fd_lookup(fd, &fi))				\
			return shim_result(emu_setfl(fd, &fi,		\
					   (int)(intptr_t)arg), e);	\
		break;							\
	case F_GETLK:							\
	case F_SETLK:							\
	case F_SETLKW:							\
	case F_OFD_GETLK:						\
	case F_OFD_SETLK:						\
	case F_OFD_SETLKW:						\
		if (shim_fd_lookup(fd, &fi))				\
			return shim_result(shim_lock_fcntl(fd, &fi,	\
					   cmd, arg), e);		\
		break;							\
	}								\
	return REAL(name)(fd, cmd, arg);				\
}

WRAP_FCNTL(fcntl)
WRAP_FCNTL(fcntl64)

ssize_t shim_recvmsg_named(int fd, struct msghdr *msg, int flags);

/* Emulated fds received over a unix socket join the table; an address
 * is named as the program bound it (shim_socket.c). */
SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n = shim_recvmsg_named(fd, msg, flags);
	struct cmsghdr *cm;
	int e;
	size_t i, cnt;
	int *fds;

	if (n == -2)
		n = REAL(recvmsg)(fd, msg, flags);
	e = errno;

	if (n < 0 || !msg || !msg->msg_controllen || !shim_active())
		return n;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			shim_fd_drop(fds[i]);
			shim_fd_adopt(fds[i]);
		}
	}
	errno = e;
	return n;
}

/* ---- data by fd --------------------------------------------------------- */

/*
 * Reads and writes in FDP_IO_MAX pieces.  With @user the buffer is the
 * caller's: each piece is first checked to take (or give) its bytes, as
 * the kernel's copies stop at a bad page: the call ends with what came
 * before it, or EFAULT when that is nothing (a read at the end of the
 * file is 0 all the same: nothing is copied).
 */
static ssize_t read_fault(uint64_t key, int64_t off);

static ssize_t client_pread(uint64_t key, void *buf, size_t n, int64_t off,
			    bool user)
{
	size_t done = 0;

	while (done < n) {
		size_t chunk = n - done, got = 0, ok;
		int64_t at = off < 0 ? -1 : off + (int64_t)done;
		long r;

		if (chunk > FDP_IO_MAX)
			chunk = FDP_IO_MAX;
		if (user && (ok = shim_user_writable((char *)buf + done,
						     chunk)) < chunk) {
			if (!ok)
				return done ? (ssize_t)done : read_fault(key, at);
			chunk = ok;
			n = done + ok;
		}
		r = shim_op_file(FDP_OP_PREAD, key, at, chunk, 0, 0, NULL, 0,
				 (char *)buf + done, chunk, &got);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += got;
		if (got < chunk)
			break;
	}
	return done;
}

ssize_t shim_client_pread(uint64_t key, void *buf, size_t n, int64_t off)
{
	return client_pread(key, buf, n, off, false);
}

/* Nothing of a read can be copied out: EFAULT if there was data, 0 at
 * the end of the file; the file position does not move. */
static ssize_t read_fault(uint64_t key, int64_t off)
{
	ssize_t r;
	char b;

	if (off < 0) {
		off = shim_client_lseek(key, 0, SEEK_CUR);
		if (off < 0)
			return -EFAULT;
	}
	r = client_pread(key, &b, 1, off, false);
	return r > 0 ? -EFAULT : r;
}

/*
 * A write whose data can be read for @ok bytes only: FUSE's page cache
 * write (fuse_fill_write_pages) takes the data a file page at a time and
 * ends at the first page it cannot fill whole: so many of the @ok bytes
 * from file offset @at (-1: the position) are written.
 */
static size_t write_fault_len(uint64_t key, int64_t at, size_t ok)
{
	const size_t pg = 4096;
	size_t first;

	if (at < 0) {
		at = shim_client_lseek(key, 0, SEEK_CUR);
		if (at < 0)
			return 0;
	}
	first = pg - (uint64_t)at % pg;
	if (ok < first)
		return 0;
	return first + (ok - first) / pg * pg;
}

static ssize_t client_pwrite_user(uint64_t key, const void *buf, size_t n,
				  int64_t off, bool user)
{
	size_t done = 0;

	while (done < n) {
		struct fdp_size_out o = { 0 };
		size_t chunk = n - done, got = 0, ok;
		int64_t at = off < 0 ? -1 : off + (int64_t)done;
		long r;

		if (chunk > FDP_IO_MAX)
			chunk = FDP_IO_MAX;
		if (user && (ok = shim_user_readable((const char *)buf + done,
						     chunk)) < chunk) {
			ok = write_fault_len(key, at, ok);
			if (!ok)
				return done ? (ssize_t)done : -EFAULT;
			chunk = ok;
			n = done + ok;
		}
		r = shim_op_file(FDP_OP_PWRITE, key, at, chunk, 0, 0,
				 (const char *)buf + done, chunk, &o, sizeof(o),
				 &got);
		if (r == 0 && got < sizeof(o))
			r = -EIO;
		if (r < 0)
			return done ? (ssize_t)done : r;
		if (o.size > chunk)
			o.size = chunk;
		done += o.size;
		if (o.size < chunk)
			break;
	}
	return done;
}

static ssize_t client_pwrite(uint64_t key, const void *buf, size_t n,
			     int64_t off)
{
	return client_pwrite_user(key, buf, n, off, false);
}

#define WRAP_PREAD(name, off_t_)					\
SHIM_EXPORT ssize_t name(int fd, void *buf, size_t n, off_t_ off)	\
{									\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, buf, n, off),		\
		    off < 0 ? -EINVAL :					\
		    client_pread(fi.open_key, buf, n, off, true));	\
}

#define WRAP_PREAD_CHK(name, off_t_)					\
SHIM_EXPORT ssize_t name(int fd, void *buf, size_t n, off_t_ off,	\
			 size_t buflen)					\
{									\
	if (n > buflen)							\
		__chk_fail();						\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, buf, n, off, buflen),	\
		    off < 0 ? -EINVAL :					\
		    client_pread(fi.open_key, buf, n, off, true));	\
}

#define WRAP_PWRITE(name, off_t_)					\
SHIM_EXPORT ssize_t name(int fd, const void *buf, size_t n, off_t_ off)	\
{									\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, buf, n, off),		\
		    off < 0 ? -EINVAL :					\
		    client_pwrite_user(fi.open_key, buf, n, off, true));	\
}

WRAP_PREAD(pread, off_t)
WRAP_PREAD(pread64, off64_t)
WRAP_PREAD_CHK(__pread_chk, off_t)
WRAP_PREAD_CHK(__pread64_chk, off64_t)
WRAP_PWRITE(pwrite, off_t)
WRAP_PWRITE(pwrite64, off64_t)

long shim_client_lseek(uint64_t key, int64_t off, int whence)
{
	struct fdp_size_out o;
	size_t n = 0;
	long r;

	r = shim_op_file(FDP_OP_LSEEK, key, off, 0, 0, whence, NULL, 0, &o,
			 sizeof(o), &n);
	if (r < 0)
		return r;
	return n < sizeof(o) ? -EIO : (long)o.size;
}

#define WRAP_LSEEK(name, off_t_)					\
SHIM_EXPORT off_t_ name(int fd, off_t_ off, int whence)			\
{									\
	SHIM_FDCALL(off_t_, fd, REAL(name)(fd, off, whence),		\
		    shim_client_lseek(fi.open_key, off, whence));		\
}

WRAP_LSEEK(lseek, off_t)
WRAP_LSEEK(lseek64, off64_t)

/*
 * Copy @len bytes between @buf and the caller's iovecs' bytes from
 * offset @skip on: into @buf when @to_buf (gather), out of it otherwise
 * (scatter).  Returns how many were copied: fewer at a bad page.
 */
static size_t iov_copy(const struct iovec *iov, int cnt, size_t skip,
		       char *buf, size_t len, bool to_buf)
{
	size_t pos = 0, k = 0;
	int i;

	for (i = 0; i < cnt && k < len; i++) {
		size_t l = iov[i].iov_len, s = 0, left;
		char *p = iov[i].iov_base;

		if (pos + l <= skip) {
			pos += l;
			continue;
		}
		if (pos < skip)
			s = skip - pos;
		l -= s;
		if (l > len - k)
			l = len - k;
		left = to_buf ? shim_copy_from_user(buf + k, p + s, l) :
				shim_copy_to_user(p + s, buf + k, l);
		k += l - left;
		if (left)
			break;
		pos += s + l;
	}
	return k;
}

/* How many of @len bytes from offset @skip the caller's iovecs can take
 * (@writable) or give, from the first: fewer before a bad page. */
static size_t iov_usable(const struct iovec *iov, int cnt, size_t skip,
			 size_t len, bool writable)
{
	size_t pos = 0, k = 0;
	int i;

	for (i = 0; i < cnt && k < len; i++) {
		size_t l = iov[i].iov_len, s = 0, ok;
		char *p = iov[i].iov_base;

		if (pos + l <= skip) {
			pos += l;
			continue;
		}
		if (pos < skip)
			s = skip - pos;
		l -= s;
		if (l > len - k)
			l = len - k;
		ok = writable ? shim_user_writable(p + s, l) :
				shim_user_readable(p + s, l);
		k += ok;
		if (ok < l)
			break;
		pos += s + l;
	}
	return k;
}

/*
 * readv/writev and the positioned forms: gather into one buffer so that
 * one request carries the call (one position update, as the kernel's).
 * @off -1 is "at the file position".  The iovec array is the caller's
 * (import_iovec: EINVAL for too many, EFAULT, EINVAL for a length that
 * overflows); what cannot be copied ends the call as a bad buffer ends
 * the kernel's.
 */
static ssize_t emu_rw_vec(uint64_t key, const struct iovec *uiov, int cnt,
			  int64_t off, bool wr)
{
	struct iovec iov_small[8], *iov = iov_small;
	size_t total = 0, chunk, done = 0;
	ssize_t n = 0;
	char *buf = NULL;
	int i;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if ((size_t)cnt > ARRAY_SIZE(iov_small)) {
		iov = malloc(cnt * sizeof(*iov));
		if (!iov)
			return -ENOMEM;
	}
	if (shim_copy_from_user(iov, uiov, cnt * sizeof(*iov))) {
		n = -EFAULT;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total) {
			n = -EINVAL;
			goto out;
		}
		total += iov[i].iov_len;
	}
	if (!total)
		goto out;
	chunk = total < SHIM_COPY_CHUNK ? total : SHIM_COPY_CHUNK;
	buf = malloc(chunk);
	if (!buf) {
		n = -ENOMEM;
		goto out;
	}
	while (done < total) {
		size_t want = total - done < chunk ? total - done : chunk;
		int64_t at = off < 0 ? -1 : off + (int64_t)done;
		size_t ok;

		if (wr) {
			ok = iov_copy(iov, cnt, done, buf, want, true);
			if (ok < want)
				ok = write_fault_len(key, at, ok);
			if (!ok) {
				n = -EFAULT;
				break;
			}
			n = client_pwrite(key, buf, ok, at);
		} else {
			ok = iov_usable(iov, cnt, done, want, true);
			if (!ok) {
				n = read_fault(key, at);
				break;
			}
			n = shim_client_pread(key, buf, ok, at);
			if (n > 0)
				iov_copy(iov, cnt, done, buf, n, false);
		}
		if (n <= 0)
			break;
		done += n;
		if ((size_t)n < want)
			break;
	}
out:
	free(buf);
	if (iov != iov_small)
		free(iov);
	if (n < 0 && !done)
		return n;
	return done;
}

#define WRAP_RWV(name, wr, CONST)					\
SHIM_EXPORT ssize_t name(int fd, CONST struct iovec *iov, int cnt)	\
{									\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, iov, cnt),		\
		    emu_rw_vec(fi.open_key, iov, cnt, -1, wr));		\
}

#define WRAP_PRWV(name, off_t_, wr)					\
SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt,	\
			 off_t_ off)					\
{									\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, iov, cnt, off),		\
		    off < 0 ? -EINVAL :					\
		    emu_rw_vec(fi.open_key, iov, cnt, off, wr));	\
}

/*
 * preadv2/pwritev2 flags as kiocb_set_rw_flags takes them for a FUSE
 * file: RWF_NOWAIT and the newer ones are EOPNOTSUPP (no FMODE_NOWAIT),
 * RWF_HIPRI means nothing here, RWF_APPEND writes at the end (and moves
 * the position only for off == -1), RWF_DSYNC/RWF_SYNC sync after.
 */
static ssize_t emu_rw_vec2(uint64_t key, const struct iovec *iov, int cnt,
			   int64_t off, int flags, bool wr)
{
	const int known = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_APPEND;
	ssize_t n;

	if (off < -1)
		return -EINVAL;
	if (flags & ~known)
		return -EOPNOTSUPP;
	if (wr && (flags & RWF_APPEND)) {
		struct fdp_stat_out st;
		long r;

		if (off == -1) {
			r = shim_client_lseek(key, 0, SEEK_END);
		} else {
			r = shim_op_fstat(key, &st);
			if (r == 0)
				off = st.attr.size;
		}
		if (r < 0)
			return r;
	}
	n = emu_rw_vec(key, iov, cnt, off, wr);
	if (wr && n > 0 && (flags & (RWF_DSYNC | RWF_SYNC)))
		emu_file(key, FDP_OP_FSYNC, 0, !(flags & RWF_SYNC));
	return n;
}

#define WRAP_PRWV2(name, off_t_, wr)					\
SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt,	\
			 off_t_ off, int flags)				\
{									\
	SHIM_FDCALL(ssize_t, fd, REAL(name)(fd, iov, cnt, off, flags),	\
		    emu_rw_vec2(fi.open_key, iov, cnt, off, flags, wr));	\
}

WRAP_RWV(readv, false, const)
WRAP_RWV(writev, true, const)
WRAP_PRWV(preadv, off_t, false)
WRAP_PRWV(preadv64, off64_t, false)
WRAP_PRWV(pwritev, off_t, true)
WRAP_PRWV(pwritev64, off64_t, true)
WRAP_PRWV2(preadv2, off_t, false)
WRAP_PRWV2(preadv64v2, off64_t, false)
WRAP_PRWV2(pwritev2, off_t, true)
WRAP_PRWV2(pwritev64v2, off64_t, true)

/*
 * copy_file_range/sendfile with an emulated end: a read/write loop (what
 * coreutils falls back to anyway).  @off_* NULL is "at the position".
 */
static ssize_t copy_read(int fd, const struct shim_fdinfo *fi, void *buf,
			 size_t n, int64_t off)
{
	ssize_t r;

	if (fi)
		return shim_client_pread(fi->open_key, buf, n, off);
	r = off < 0 ? read(fd, buf, n) : REAL(pread64)(fd, buf, n, off);
	return r < 0 ? -errno : r;
}

static ssize_t copy_write(int fd, const struct shim_fdinfo *fi,
			  const void *buf, size_t n, int64_t off)
{
	size_t done = 0;
	ssize_t r;

	if (fi)
		return client_pwrite(fi->open_key, buf, n, off);
	while (done < n) {
		r = off < 0 ? write(fd, (const char *)buf + done, n - done) :
		    REAL(pwrite64)(fd, (const char *)buf + done, n - done,
				   off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return done ? (ssize_t)done : (r < 0 ? -errno : -EIO);
		done += r;
	}
	return done;
}

static ssize_t emu_copy(int in, const struct shim_fdinfo *fin,
			int64_t *off_in, int out, const struct shim_fdinfo *fout,
			int64_t *off_out, size_t len)
{
	size_t chunk = len < SHIM_COPY_CHUNK ? len : SHIM_COPY_CHUNK;
	size_t done = 0;
	ssize_t r = 0, w;
	char *buf;

	if ((off_in && *off_in < 0) || (off_out && *off_out < 0))
		return -EINVAL;
	if (!len)
		return 0;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;

		r = copy_read(in, fin, buf, want,
			      off_in ? *off_in + (int64_t)done : -1);
		if (r <= 0)
			break;
		w = copy_write(out, fout, buf, r,
			       off_out ? *off_out + (int64_t)done : -1);
		if (w < 0) {
			r = w;
			break;
		}
		done += w;
		if (w < r || (size_t)r < want)
			break;
	}
	free(buf);
	if (off_in)
		*off_in += done;
	if (off_out)
		*off_out += done;
	if (r < 0 && !done)
		return r;
	return done;
}

/*
 * Both ends emulated: the emulator copies (FUSE_COPY_FILE_RANGE, or
 * Linux's read/write fallback).  One end emulated: EXDEV, as Linux gives
 * between a FUSE mount and another file system; callers such as cp then
 * copy by hand.
 */
SHIM_EXPORT ssize_t copy_file_range(int in, off64_t *off_in, int out,
				    off64_t *off_out, size_t len,
				    unsigned int flags)
{
	struct shim_fdinfo a = { 0 }, b = { 0 };
	int e = errno;
	bool ea = shim_fd_lookup(in, &a), eb = shim_fd_lookup(out, &b);
	struct fdp_copy_in ci;
	struct fdp_size_out o;
	int64_t pin = -1, pout = -1;
	size_t n = 0;
	long r;

	if (likely(!ea && !eb))
		return REAL(copy_file_range)(in, off_in, out, off_out, len,
					     flags);
	/* the offsets are read first and written back last (EFAULT) */
	if ((off_in && shim_copy_from_user(&pin, off_in, sizeof(pin))) ||
	    (off_out && shim_copy_from_user(&pout, off_out, sizeof(pout))))
		return shim_result(-EFAULT, e);
	if ((off_in && pin < 0) || (off_out && pout < 0))
		return shim_result(-EINVAL, e);
	if (!ea || !eb)
		return shim_result(flags ? -EINVAL : -EXDEV, e);
	ci.out_key = b.open_key;
	ci.out_offset = pout;
	r = shim_op_file(FDP_OP_COPY_RANGE, a.open_key, pin, len, flags, 0,
			 &ci, sizeof(ci), &o, sizeof(o), &n);
	if (r == 0 && n < sizeof(o))
		r = -EIO;
	if (r == 0) {
		r = o.size;
		pin += r;
		pout += r;
		if ((off_in && shim_copy_to_user(off_in, &pin, sizeof(pin))) ||
		    (off_out &&
		     shim_copy_to_user(off_out, &pout, sizeof(pout))))
			r = -EFAULT;
	}
	return shim_result(r, e);
}

/* ---- fallocate and posix_fallocate -------------------------------------- */

static long emu_fallocate(const struct shim_fdinfo *fi, int mode,
			  int64_t off, int64_t len)
{
	return shim_op_file(FDP_OP_FALLOCATE, fi->open_key, off, len, mode, 0,
			    NULL, 0, NULL, 0, NULL);
}

#define WRAP_FALLOCATE(name, off_t_)					\
SHIM_EXPORT int name(int fd, int mode, off_t_ off, off_t_ len)		\
{									\
	SHIM_FDCALL(int, fd, REAL(name)(fd, mode, off, len),		\
		    emu_fallocate(&fi, mode, off, len));		\
}

WRAP_FALLOCATE(fallocate, off_t)
WRAP_FALLOCATE(fallocate64, off64_t)

/*
 * glibc's posix_fallocate: fallocate(fd, 0, ...), and where the file
 * system has none, make the range exist by writing a zero byte at its
 * last offset when that lies past the end (the bytes before are a hole,
 * which reads as zeros).  Returns an error number, errno untouched.
 */
static int emu_posix_fallocate(const struct shim_fdinfo *fi, int64_t off,
			       int64_t len)
{
	struct fdp_stat_out st;
	long r;

	if (off < 0 || len <= 0)
		return EINVAL;
	if (off > INT64_MAX - len)
		return EFBIG;
	r = emu_fallocate(fi, 0, off, len);
	if (r != -EOPNOTSUPP)
		return -r;
	if (fi->flags & O_APPEND)
		return EBADF;
	r = shim_op_fstat(fi->open_key, &st);
	if (r < 0)
		return -r;
	if (S_ISFIFO(st.attr.mode))
		return ESPIPE;
	if (!S_ISREG(st.attr.mode))
		return ENODEV;
	if ((uint64_t)(off + len) <= st.attr.size)
		return 0;
	r = client_pwrite(fi->open_key, "", 1, off + len - 1);
	return r < 0 ? -r : 0;
}

#define WRAP_POSIX_FALLOCATE(name, off_t_)				\
SHIM_EXPORT int name(int fd, off_t_ off, off_t_ len)			\
{									\
	struct shim_fdinfo fi = { 0 };					\
									\
	if (likely(!shim_fd_lookup(fd, &fi)))				\
		return REAL(name)(fd, off, len);			\
	return emu_posix_fallocate(&fi, off, len);			\
}

WRAP_POSIX_FALLOCATE(posix_fallocate, off_t)
WRAP_POSIX_FALLOCATE(posix_fallocate64, off64_t)

#define WRAP_SENDFILE(name, off_t_)					\
SHIM_EXPORT ssize_t name(int out, int in, off_t_ *offset, size_t count)	\
{									\
	struct shim_fdinfo a = { 0 }, b = { 0 };			\
	int e = errno;							\
	bool ea = shim_fd_lookup(in, &a), eb = shim_fd_lookup(out, &b);	\
	int64_t off = 0;						\
	ssize_t r;							\
									\
	if (likely(!ea && !eb))						\
		return REAL(name)(out, in, offset, count);		\
	/* sys_sendfile64: the offset in first, back out last */	\
	if (offset && shim_copy_from_user(&off, offset, sizeof(off)))	\
		return shim_result(-EFAULT, e);				\
	r = emu_copy(in, ea ? &a : NULL, offset ? &off : NULL, out,	\
		     eb ? &b : NULL, NULL, count);			\
	if (offset && shim_copy_to_user(offset, &off, sizeof(off)))	\
		r = -EFAULT;						\
	return shim_result(r, e);					\
}

WRAP_SENDFILE(sendfile, off_t)
WRAP_SENDFILE(sendfile64, off64_t)

/*
 * mmap of an emulated file: a private snapshot read through the emulator.
 * A writable shared mapping cannot be kept coherent: ENODEV, as for a
 * file system without mmap support.
 */
static void *emu_mmap(void *(*real)(void *, size_t, int, int, int, off_t),
		      const struct shim_fdinfo *fi, void *addr, size_t len,
		      int prot, int flags, int64_t off, int e)
{
	long page = sysconf(_SC_PAGESIZE);
	bool shared = (flags & MAP_TYPE) != MAP_PRIVATE;
	int acc = fi->flags & O_ACCMODE;
	struct fdp_stat_out st;
	ssize_t n;
	void *p;

	/* ksys_mmap_pgoff and do_mmap, in their order */
	n = off < 0 || off % page ? -EINVAL :
	    (fi->flags & O_PATH) ? -EBADF :
	    !len ? -EINVAL :
	    shared && (prot & PROT_WRITE) && acc == O_RDONLY ? -EACCES :
	    acc == O_WRONLY ? -EACCES : 0;
	if (!n) {
		n = shim_op_fstat(fi->open_key, &st);
		if (!n && S_ISDIR(st.attr.mode))
			n = -ENODEV;	/* no mmap for directories */
	}
	/* no page cache to share writes through */
	if (!n && shared && (prot & PROT_WRITE))
		n = -ENODEV;
	if (n) {
		errno = -n;
		return MAP_FAILED;
	}
	p = real(addr, len, PROT_READ | PROT_WRITE,
		 (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return p;
	n = shim_client_pread(fi->open_key, p, len, off);
	if (n < 0) {
		munmap(p, len);
		errno = -n;
		return MAP_FAILED;
	}
	if (prot != (PROT_READ | PROT_WRITE) && mprotect(p, len, prot) < 0) {
		n = errno;
		munmap(p, len);
		errno = n;
		return MAP_FAILED;
	}
	errno = e;
	return p;
}

#define WRAP_MMAP(name, off_t_)						\
SHIM_EXPORT void *name(void *addr, size_t len, int prot, int flags,	\
		       int fd, off_t_ off)				\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
									\
	if ((flags & MAP_ANONYMOUS) || likely(!shim_fd_lookup(fd, &fi)))	\
		return REAL(name)(addr, len, prot, flags, fd, off);	\
	return emu_mmap((void *(*)(void *, size_t, int, int, int,	\
				   off_t))REAL(name),			\
			&fi, addr, len, prot, flags, off, e);		\
}

WRAP_MMAP(mmap, off_t)
WRAP_MMAP(mmap64, off64_t)

/* ---- metadata by fd ----------------------------------------------------- */

SHIM_EXPORT int ftruncate(int fd, off_t len)
{
	SHIM_FDCALL(int, fd, REAL(ftruncate)(fd, len),
		    len < 0 ? -EINVAL :
		    emu_file(fi.open_key, FDP_OP_FTRUNCATE, len, 0));
}

SHIM_EXPORT int ftruncate64(int fd, off64_t len)
{
	SHIM_FDCALL(int, fd, REAL(ftruncate64)(fd, len),
		    len < 0 ? -EINVAL :
		    emu_file(fi.open_key, FDP_OP_FTRUNCATE, len, 0));
}

SHIM_EXPORT int fsync(int fd)
{
	SHIM_FDCALL(int, fd, REAL(fsync)(fd),
		    emu_file(fi.open_key, FDP_OP_FSYNC, 0, 0));
}

SHIM_EXPORT int fdatasync(int fd)
{
	SHIM_FDCALL(int, fd, REAL(fdatasync)(fd),
		    emu_file(fi.open_key, FDP_OP_FSYNC, 0, 1));
}

/* FDP_OP_FCHMOD carries the mode in fdp_file_in.flags. */
SHIM_EXPORT int fchmod(int fd, mode_t mode)
{
	SHIM_FDCALL(int, fd, REAL(fchmod)(fd, mode),
		    emu_file(fi.open_key, FDP_OP_FCHMOD, 0, mode & 07777));
}

SHIM_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	SHIM_FDCALL(int, fd, REAL(fchown)(fd, uid, gid),
		    emu_file(fi.open_key, FDP_OP_FCHOWN,
			     (int64_t)owner_arg(uid, gid), 0));
}

static const struct timespec now_pair[2] = {
	{ .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW }
};

/*
 * sys_utimensat's arguments: the times are read first (EFAULT); both
 * UTIME_OMIT is done at once, nothing looked up; then the flags.  1: go
 * on with *@out (the copy in @k, or now), 0: done, or -errno.
 */
static long utimens_args(const struct timespec *ts, int flags,
			 struct timespec k[2], const struct timespec **out)
{
	*out = now_pair;
	if (ts) {
		if (shim_copy_from_user(k, ts, 2 * sizeof(*k)))
			return -EFAULT;
		if (k[0].tv_nsec == UTIME_OMIT && k[1].tv_nsec == UTIME_OMIT)
			return 0;
		*out = k;
	}
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	return 1;
}

static long emu_futimens(uint64_t key, const struct timespec ts[2],
			 int flags)
{
	const struct timespec *t;
	struct timespec k[2];
	long r = utimens_args(ts, flags, k, &t);

	if (r <= 0)
		return r;
	return shim_op_file(FDP_OP_FUTIMENS, key, 0, 0, 0, 0, t,
			    2 * sizeof(struct timespec), NULL, 0, NULL);
}

SHIM_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	SHIM_FDCALL(int, fd, REAL(futimens)(fd, ts),
		    emu_futimens(fi.open_key, ts, 0));
}

static int tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
			return -EINVAL;
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return 0;
}

static long emu_futimes(uint64_t key, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (tv && tv_to_ts(tv, ts) < 0)
		return -EINVAL;
	return emu_futimens(key, tv ? ts : NULL, 0);
}

SHIM_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	SHIM_FDCALL(int, fd, REAL(futimes)(fd, tv),
		    emu_futimes(fi.open_key, tv));
}

/* ---- statfs ------------------------------------------------------------- */

static void fill_statfs(struct statfs *s, const struct fuse_kstatfs *k)
{
	memset(s, 0, sizeof(*s));
	s->f_type = FUSE_SUPER_MAGIC;
	s->f_bsize = k->bsize;
	s->f_blocks = k->blocks;
	s->f_bfree = k->bfree;
	s->f_bavail = k->bavail;
	s->f_files = k->files;
	s->f_ffree = k->ffree;
	s->f_namelen = k->namelen;
	s->f_frsize = k->frsize ? k->frsize : k->bsize;
	s->f_flags = ST_VALID | k->padding;	/* the mount's ST_* flags */
}

static void fill_statvfs(struct statvfs *v, const struct fuse_kstatfs *k)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = k->bsize;
	v->f_frsize = k->frsize ? k->frsize : k->bsize;
	v->f_blocks = k->blocks;
	v->f_bfree = k->bfree;
	v->f_bavail = k->bavail;
	v->f_files = k->files;
	v->f_ffree = k->ffree;
	v->f_favail = k->ffree;
	v->f_namemax = k->namelen;
	v->f_flag = k->padding;
}

static long emu_statfs(struct shim_route *rt, const struct shim_fdinfo *fi,
		       struct statfs *s, struct statvfs *v)
{
	struct fuse_kstatfs k;
	size_t n = 0;
	long r;

	if (rt)
		r = shim_op_path(rt, FDP_OP_STATFS, NULL, 0, 0, 0, NULL, 0, &k,
				 sizeof(k), &n);
	else
		r = shim_op_file(FDP_OP_FSTATFS, fi->open_key, 0, 0, 0, 0,
				 NULL, 0, &k, sizeof(k), &n);
	if (r)
		return r;
	if (n < sizeof(k))
		return -EIO;
	if (s) {
		struct statfs ks;

		fill_statfs(&ks, &k);
		if (shim_copy_to_user(s, &ks, sizeof(ks)))
			return -EFAULT;
	}
	/* glibc's statvfs converts a statfs in its own code: a bad
	 * buffer faults there */
	if (v)
		fill_statvfs(v, &k);
	return 0;
}

#define WRAP_STATFS(name, buf_t, S, V)					\
SHIM_EXPORT int name(const char *path, buf_t *buf)			\
{									\
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(name)(rt.path, buf),	\
		      emu_statfs(&rt, NULL, S, V));			\
}

#define WRAP_FSTATFS(name, buf_t, S, V)					\
SHIM_EXPORT int name(int fd, buf_t *buf)				\
{									\
	SHIM_FDCALL(int, fd, REAL(name)(fd, buf),			\
		    emu_statfs(NULL, &fi, S, V));			\
}

WRAP_STATFS(statfs, struct statfs, buf, NULL)
WRAP_STATFS(statfs64, struct statfs64, (struct statfs *)buf, NULL)
WRAP_STATFS(statvfs, struct statvfs, NULL, buf)
WRAP_STATFS(statvfs64, struct statvfs64, NULL, (struct statvfs *)buf)
WRAP_FSTATFS(fstatfs, struct statfs, buf, NULL)
WRAP_FSTATFS(fstatfs64, struct statfs64, (struct statfs *)buf, NULL)
WRAP_FSTATFS(fstatvfs, struct statvfs, NULL, buf)
WRAP_FSTATFS(fstatvfs64, struct statvfs64, NULL, (struct statvfs *)buf)

/* ---- the stat family ---------------------------------------------------- */

/* fuse_fillattr: blksize rounded down to a power of two, else 4 KiB. */
static unsigned int stat_blksize(uint32_t b)
{
	unsigned int p = 1;

	if (!b)
		return 4096;
	while (p <= b / 2)
		p <<= 1;
	return p;
}

void shim_fill_stat(struct stat *st, const struct fdp_stat_out *o)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = o->dev;
	st->st_ino = o->attr.ino;
	st->st_mode = o->attr.mode;
	st->st_nlink = o->attr.nlink;
	st->st_uid = o->attr.uid;
	st->st_gid = o->attr.gid;
	st->st_rdev = o->attr.rdev;
	st->st_size = o->attr.size;
	st->st_blksize = stat_blksize(o->attr.blksize);
	st->st_blocks = o->attr.blocks;
	st->st_atim.tv_sec = o->attr.atime;
	st->st_atim.tv_nsec = o->attr.atimensec;
	st->st_mtim.tv_sec = o->attr.mtime;
	st->st_mtim.tv_nsec = o->attr.mtimensec;
	st->st_ctim.tv_sec = o->attr.ctime;
	st->st_ctim.tv_nsec = o->attr.ctimensec;
}

static void fill_statx(struct statx *x, const struct fdp_stat_out *o)
{
	memset(x, 0, sizeof(*x));
	x->stx_mask = STATX_BASIC_STATS;
	x->stx_blksize = stat_blksize(o->attr.blksize);
	x->stx_nlink = o->attr.nlink;
	x->stx_uid = o->attr.uid;
	x->stx_gid = o->attr.gid;
	x->stx_mode = o->attr.mode;
	x->stx_ino = o->attr.ino;
	x->stx_size = o->attr.size;
	x->stx_blocks = o->attr.blocks;
	x->stx_atime.tv_sec = o->attr.atime;
	x->stx_atime.tv_nsec = o->attr.atimensec;
	x->stx_mtime.tv_sec = o->attr.mtime;
	x->stx_mtime.tv_nsec = o->attr.mtimensec;
	x->stx_ctime.tv_sec = o->attr.ctime;
	x->stx_ctime.tv_nsec = o->attr.ctimensec;
	x->stx_rdev_major = major(o->attr.rdev);
	x->stx_rdev_minor = minor(o->attr.rdev);
	x->stx_dev_major = major(o->dev);
	x->stx_dev_minor = minor(o->dev);
}

long shim_client_stat(struct shim_route *rt, int flags,
		      struct fdp_stat_out *out)
{
	size_t n = 0;
	long r;

	r = shim_op_path(rt, FDP_OP_STAT, NULL, flags & AT_SYMLINK_NOFOLLOW,
			 0, 0, NULL, 0, out, sizeof(*out), &n);
	if (r == 0 && n < sizeof(*out))
		r = -EIO;
	return r;
}

/* cp_new_stat: the result is copied out last (EFAULT). */
static long stat_to_user(struct stat *st, const struct fdp_stat_out *o)
{
	struct stat k;

	shim_fill_stat(&k, o);
	return shim_copy_to_user(st, &k, sizeof(k)) ? -EFAULT : 0;
}

static long emu_stat(struct shim_route *rt, int flags, struct stat *st)
{
	struct fdp_stat_out o;
	long r = shim_client_stat(rt, flags, &o);

	return r ? r : stat_to_user(st, &o);
}

static long emu_fstat(uint64_t key, struct stat *st)
{
	struct fdp_stat_out o;
	long r = shim_op_fstat(key, &o);

	return r ? r : stat_to_user(st, &o);
}

/* "" with AT_EMPTY_PATH: the call is about dirfd itself. */
static inline bool empty_path(const char *path, int flags)
{
	return (flags & AT_EMPTY_PATH) && shim_empty_str(path);
}

#define WRAP_STAT(name, st_t, nofollow)					\
SHIM_EXPORT int name(const char *path, st_t *st)			\
{									\
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(name)(rt.path, st),	\
		      emu_stat(&rt, nofollow, (struct stat *)st));	\
}

#define WRAP_XSTAT(name, st_t, nofollow)				\
SHIM_EXPORT int name(int ver, const char *path, st_t *st)		\
{									\
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(name)(ver, rt.path, st),	\
		      emu_stat(&rt, nofollow, (struct stat *)st));	\
}

#define WRAP_FSTAT(name, st_t)						\
SHIM_EXPORT int name(int fd, st_t *st)					\
{									\
	SHIM_FDCALL(int, fd, REAL(name)(fd, st),			\
		    emu_fstat(fi.open_key, (struct stat *)st));		\
}

#define WRAP_FXSTAT(name, st_t)						\
SHIM_EXPORT int name(int ver, int fd, st_t *st)				\
{									\
	SHIM_FDCALL(int, fd, REAL(name)(ver, fd, st),			\
		    emu_fstat(fi.open_key, (struct stat *)st));		\
}

#define WRAP_FSTATAT(name, st_t)					\
SHIM_EXPORT int name(int dirfd, const char *path, st_t *st, int flags)	\
{									\
	SHIM_BADFLAGS(flags & ~(AT_STAT_FLAGS | AT_STATX_SYNC_TYPE));	\
	if (empty_path(path, flags))					\
		SHIM_FDCALL(int, dirfd,					\
			    REAL(name)(dirfd, path, st, flags),		\
			    emu_fstat(fi.open_key, (struct stat *)st));	\
	SHIM_PATHCALL(int, dirfd, path,					\
		      REAL(name)(rt.dirfd, rt.path, st, flags),		\
		      emu_stat(&rt, flags, (struct stat *)st));		\
}

#define WRAP_FXSTATAT(name, st_t)					\
SHIM_EXPORT int name(int ver, int dirfd, const char *path, st_t *st,	\
		     int flags)						\
{									\
	if (empty_path(path, flags))					\
		SHIM_FDCALL(int, dirfd,					\
			    REAL(name)(ver, dirfd, path, st, flags),	\
			    emu_fstat(fi.open_key, (struct stat *)st));	\
	SHIM_PATHCALL(int, dirfd, path,					\
		      REAL(name)(ver, rt.dirfd, rt.path, st, flags),	\
		      emu_stat(&rt, flags, (struct stat *)st));		\
}

WRAP_STAT(stat, struct stat, 0)
WRAP_STAT(stat64, struct stat64, 0)
WRAP_STAT(lstat, struct stat, AT_SYMLINK_NOFOLLOW)
WRAP_STAT(lstat64, struct stat64, AT_SYMLINK_NOFOLLOW)
WRAP_XSTAT(__xstat, struct stat, 0)
WRAP_XSTAT(__xstat64, struct stat64, 0)
WRAP_XSTAT(__lxstat, struct stat, AT_SYMLINK_NOFOLLOW)
WRAP_XSTAT(__lxstat64, struct stat64, AT_SYMLINK_NOFOLLOW)
WRAP_FSTAT(fstat, struct stat)
WRAP_FSTAT(fstat64, struct stat64)
WRAP_FXSTAT(__fxstat, struct stat)
WRAP_FXSTAT(__fxstat64, struct stat64)
WRAP_FSTATAT(fstatat, struct stat)
WRAP_FSTATAT(fstatat64, struct stat64)
WRAP_FXSTATAT(__fxstatat, struct stat)
WRAP_FXSTATAT(__fxstatat64, struct stat64)

static long emu_statx(struct shim_route *rt, const struct shim_fdinfo *fi,
		      int flags, struct statx *x)
{
	struct fdp_stat_out o;
	struct statx k;
	long r;

	r = rt ? shim_client_stat(rt, flags, &o) :
		 shim_op_fstat(fi->open_key, &o);
	if (r)
		return r;
	fill_statx(&k, &o);
	return shim_copy_to_user(x, &k, sizeof(k)) ? -EFAULT : 0;
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags,
		      unsigned int mask, struct statx *x)
{
	SHIM_BADFLAGS((flags & ~(AT_STAT_FLAGS | AT_STATX_SYNC_TYPE)) ||
		      (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
		      (mask & STATX__RESERVED));
	if (empty_path(path, flags))
		SHIM_FDCALL(int, dirfd, REAL(statx)(dirfd, path, flags, mask, x),
			    emu_statx(NULL, &fi, flags, x));
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(statx)(rt.dirfd, rt.path, flags, mask, x),
		      emu_statx(&rt, NULL, flags, x));
}

/* ---- calls by path ------------------------------------------------------ */

SHIM_EXPORT int mkdir(const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(mkdir)(rt.path, mode),
		      emu_path(&rt, FDP_OP_MKDIR, 0, masked(mode), 0));
}

SHIM_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, dirfd, path, REAL(mkdirat)(rt.dirfd, rt.path, mode),
		      emu_path(&rt, FDP_OP_MKDIR, 0, masked(mode), 0));
}

SHIM_EXPORT int rmdir(const char *path)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(rmdir)(rt.path),
		      emu_path(&rt, FDP_OP_RMDIR, 0, 0, 0));
}

SHIM_EXPORT int unlink(const char *path)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(unlink)(rt.path),
		      emu_path(&rt, FDP_OP_UNLINK, 0, 0, 0));
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(unlinkat)(rt.dirfd, rt.path, flags),
		      flags & ~AT_REMOVEDIR ? -EINVAL :
		      emu_path(&rt, flags & AT_REMOVEDIR ? FDP_OP_RMDIR :
			       FDP_OP_UNLINK, 0, 0, 0));
}

static long emu_remove(struct shim_route *rt)
{
	long r = emu_path(rt, FDP_OP_UNLINK, 0, 0, 0);

	if (r == -EISDIR)
		r = emu_path(rt, FDP_OP_RMDIR, 0, 0, 0);
	return r;
}

SHIM_EXPORT int remove(const char *path)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(remove)(rt.path),
		      emu_remove(&rt));
}

#define TWO_RENAME	0		/* do_renameat2 */
#define TWO_LINK	1		/* do_linkat */
#define TWO_LINK_FOLLOW	2		/* do_linkat, AT_SYMLINK_FOLLOW */

/*
 * The second path cannot be read (error @err) but the first is
 * emulated: Linux looks the first up before it notices, so the first
 * one's errors come first: do_renameat2 checks its flags and walks to
 * the old name's parent, do_linkat looks the old name up.
 */
static long second_fault(const struct shim_route *a, int kind,
			 unsigned int flags, int err)
{
	struct shim_route *p;
	struct fdp_stat_out o;
	size_t n;
	long r;

	if (kind == TWO_RENAME &&
	    ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE |
			RENAME_WHITEOUT)) ||
	     ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) &&
	      (flags & RENAME_EXCHANGE))))
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->base = a->base;
	memcpy(p->abs, a->abs, sizeof(p->abs));
	if (kind == TWO_RENAME) {
		/* the parent: the text before the last component ("" is
		 * the base itself) */
		n = strlen(p->abs);
		while (n > 1 && p->abs[n - 1] == '/')
			n--;
		while (n > 0 && p->abs[n - 1] != '/')
			n--;
		while (n > 1 && p->abs[n - 1] == '/')
			n--;
		p->abs[n] = '\0';
	}
	r = shim_client_stat(p, kind == TWO_LINK ? AT_SYMLINK_NOFOLLOW : 0,
			     &o);
	if (r == 0 && kind == TWO_RENAME && !S_ISDIR(o.attr.mode))
		r = -ENOTDIR;
	free(p);
	if (r == SHIM_EXTERNAL)
		r = 0;		/* walked out of the mounts: found there */
	return r < 0 ? r : -err;
}

/*
 * Two paths: both real -> REAL; both emulated -> one request (the
 * emulator answers EXDEV across its mounts); one of each -> EXDEV.  A
 * path that cannot be read is the kernel's to refuse, after a first
 * path that is emulated has been looked up (second_fault).
 */
static int route2(struct shim_route *a, int d1, const char *p1,
		  struct shim_route *b, int d2, const char *p2, int kind,
		  unsigned int flags)
{
	int ra = shim_route(a, d1, p1), rb;

	if (a->fault)
		return 0;
	rb = shim_route(b, d2, p2);
	if (b->fault)
		return ra > 0 ? second_fault(a, kind, flags, b->fault) : 0;
	if (ra != rb && shim_have_mounts() &&
	    (shim_empty_str(p1) || shim_empty_str(p2)))
		return -ENOENT;		/* before EXDEV, as getname */

	if (ra < 0)
		return ra;
	if (rb < 0)
		return rb;
	if (ra != rb)
		return -EXDEV;
	return ra;
}

#define SHIM_PATH2CALL(type, d1, p1, d2, p2, kind, flags, REALCALL, EMU) \
	do {								\
		struct shim_route ra, rb;				\
		int e_ = errno;						\
		long r_ = route2(&ra, (d1), (p1), &rb, (d2), (p2),	\
				 (kind), (flags));			\
		if (r_ == 0)						\
			return REALCALL;				\
		if (r_ > 0) {						\
			r_ = (EMU);					\
			if (r_ == SHIM_EXTERNAL)			\
				r_ = -EXDEV;				\
		}							\
		return (type)shim_result(r_, e_);			\
	} while (0)

SHIM_EXPORT int rename(const char *oldp, const char *newp)
{
	SHIM_PATH2CALL(int, AT_FDCWD, oldp, AT_FDCWD, newp, TWO_RENAME, 0,
		       REAL(rename)(ra.path, rb.path),
		       shim_op_path2(&ra, &rb, FDP_OP_RENAME, 0));
}

SHIM_EXPORT int renameat(int d1, const char *oldp, int d2, const char *newp)
{
	SHIM_PATH2CALL(int, d1, oldp, d2, newp, TWO_RENAME, 0,
		       REAL(renameat)(ra.dirfd, ra.path, rb.dirfd, rb.path),
		       shim_op_path2(&ra, &rb, FDP_OP_RENAME, 0));
}

SHIM_EXPORT int renameat2(int d1, const char *oldp, int d2, const char *newp,
			  unsigned int flags)
{
	SHIM_PATH2CALL(int, d1, oldp, d2, newp, TWO_RENAME, flags,
		       REAL(renameat2)(ra.dirfd, ra.path, rb.dirfd, rb.path,
				       flags),
		       shim_op_path2(&ra, &rb, FDP_OP_RENAME, flags));
}

SHIM_EXPORT int link(const char *oldp, const char *newp)
{
	SHIM_PATH2CALL(int, AT_FDCWD, oldp, AT_FDCWD, newp, TWO_LINK, 0,
		       REAL(link)(ra.path, rb.path),
		       shim_op_path2(&ra, &rb, FDP_OP_LINK, 0));
}

SHIM_EXPORT int linkat(int d1, const char *oldp, int d2, const char *newp,
		       int flags)
{
	SHIM_BADFLAGS(flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH));
	if (shim_empty_str(oldp)) {
		struct shim_route fr;

		if (!(flags & AT_EMPTY_PATH)) {
			errno = ENOENT;
			return -1;
		}
		/* AT_EMPTY_PATH: link the file the emulated fd names */
		if (fd_route(&fr, d1)) {
			struct shim_route rb;
			int e = errno;
			long r = shim_route(&rb, d2, newp);

			if (rb.fault)
				r = -rb.fault;
			else if (r > 0)
				r = shim_op_path2(&fr, &rb, FDP_OP_LINK, 0);
			else if (r == 0)
				r = -EXDEV;
			if (r == SHIM_EXTERNAL)
				r = -EXDEV;
			return shim_result(r, e);
		}
		if (d1 != AT_FDCWD && REAL(fcntl)(d1, F_GETFD) < 0)
			return -1;	/* EBADF, before the new path */
	}
	SHIM_PATH2CALL(int, d1, oldp, d2, newp,
		       (flags & AT_SYMLINK_FOLLOW) ? TWO_LINK_FOLLOW : TWO_LINK,
		       0, REAL(linkat)(ra.dirfd, ra.path, rb.dirfd, rb.path,
				       flags),
		       shim_op_path2(&ra, &rb, FDP_OP_LINK,
				     flags & AT_SYMLINK_FOLLOW));
}

/* do_symlinkat: the target is a name (getname) read before anything. */
static long emu_symlink(struct shim_route *rt, const char *target)
{
	char *t = malloc(FUSEDEV_PATH_MAX);
	long r;

	if (!t)
		return -ENOMEM;
	r = shim_strncpy_from_user(t, target, FUSEDEV_PATH_MAX);
	if (r == 0)
		r = -ENOENT;
	else if (r >= FUSEDEV_PATH_MAX)
		r = -ENAMETOOLONG;
	if (r > 0)
		r = shim_op_path(rt, FDP_OP_SYMLINK, t, 0, 0, 0, NULL, 0, NULL,
				 0, NULL);
	free(t);
	return r;
}

SHIM_EXPORT int symlink(const char *target, const char *path)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(symlink)(target, rt.path),
		      emu_symlink(&rt, target));
}

SHIM_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(symlinkat)(target, rt.dirfd, rt.path),
		      emu_symlink(&rt, target));
}

static long emu_readlink(struct shim_route *rt, char *buf, size_t size)
{
	char tmp[FUSEDEV_PATH_MAX];
	size_t n = 0;
	long r;

	if ((ssize_t)size <= 0)
		return -EINVAL;
	r = shim_op_path(rt, FDP_OP_READLINK, NULL, 0, 0, 0, NULL, 0, tmp,
			 sizeof(tmp), &n);
	if (r)
		return r;
	if (n > size)
		n = size;
	return shim_copy_to_user(buf, tmp, n) ? -EFAULT : (long)n;
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(readlink)(rt.path, buf, size),
		      emu_readlink(&rt, buf, size));
}

/* readlinkat(fd, "") reads the symlink an O_PATH|O_NOFOLLOW fd names. */
#define READLINK_EMPTY(dirfd, path, buf, size)				\
	do {								\
		struct shim_route frt;					\
		int e_ = errno;						\
		if (shim_empty_str(path) && fd_route(&frt, dirfd))	\
			return shim_result(emu_readlink(&frt, buf, size), \
					   e_);				\
	} while (0)

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf,
			       size_t size)
{
	READLINK_EMPTY(dirfd, path, buf, size);
	SHIM_PATHCALL(ssize_t, dirfd, path,
		      REAL(readlinkat)(rt.dirfd, rt.path, buf, size),
		      emu_readlink(&rt, buf, size));
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t size,
				   size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(__readlink_chk)(rt.path, buf, size, buflen),
		      emu_readlink(&rt, buf, size));
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf,
				     size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	READLINK_EMPTY(dirfd, path, buf, size);
	SHIM_PATHCALL(ssize_t, dirfd, path,
		      REAL(__readlinkat_chk)(rt.dirfd, rt.path, buf, size,
					     buflen),
		      emu_readlink(&rt, buf, size));
}

SHIM_EXPORT int access(const char *path, int mode)
{
	SHIM_BADFLAGS(mode & ~7);
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(access)(rt.path, mode),
		      emu_path(&rt, FDP_OP_ACCESS, 0, mode, 0));
}

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	SHIM_BADFLAGS((mode & ~7) || (flags & ~(AT_EACCESS |
			AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)));
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(faccessat)(rt.dirfd, rt.path, mode, flags),
		      emu_path(&rt, FDP_OP_ACCESS,
			       flags & (AT_EACCESS | AT_SYMLINK_NOFOLLOW),
			       mode, 0));
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	SHIM_BADFLAGS(mode & ~7);
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(euidaccess)(rt.path, mode),
		      emu_path(&rt, FDP_OP_ACCESS, AT_EACCESS, mode, 0));
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	SHIM_BADFLAGS(mode & ~7);
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(eaccess)(rt.path, mode),
		      emu_path(&rt, FDP_OP_ACCESS, AT_EACCESS, mode, 0));
}

SHIM_EXPORT int truncate(const char *path, off_t len)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(truncate)(rt.path, len),
		      len < 0 ? -EINVAL :
		      emu_path(&rt, FDP_OP_TRUNCATE, 0, 0, len));
}

SHIM_EXPORT int truncate64(const char *path, off64_t len)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(truncate64)(rt.path, len),
		      len < 0 ? -EINVAL :
		      emu_path(&rt, FDP_OP_TRUNCATE, 0, 0, len));
}

SHIM_EXPORT int chmod(const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(chmod)(rt.path, mode),
		      emu_path(&rt, FDP_OP_CHMOD, 0, mode & 07777, 0));
}

SHIM_EXPORT int lchmod(const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(lchmod)(rt.path, mode),
		      emu_path(&rt, FDP_OP_CHMOD, AT_SYMLINK_NOFOLLOW,
			       mode & 07777, 0));
}

SHIM_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	SHIM_BADFLAGS(flags & ~AT_SYMLINK_NOFOLLOW);
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(fchmodat)(rt.dirfd, rt.path, mode, flags),
		      emu_path(&rt, FDP_OP_CHMOD, flags & AT_SYMLINK_NOFOLLOW,
			       mode & 07777, 0));
}

SHIM_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(chown)(rt.path, uid, gid),
		      emu_path(&rt, FDP_OP_CHOWN, 0, 0, owner_arg(uid, gid)));
}

SHIM_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(lchown)(rt.path, uid, gid),
		      emu_path(&rt, FDP_OP_CHOWN, AT_SYMLINK_NOFOLLOW, 0,
			       owner_arg(uid, gid)));
}

SHIM_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid,
			 int flags)
{
	SHIM_BADFLAGS(flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (empty_path(path, flags))
		SHIM_FDCALL(int, dirfd,
			    REAL(fchownat)(dirfd, path, uid, gid, flags),
			    emu_file(fi.open_key, FDP_OP_FCHOWN,
				     (int64_t)owner_arg(uid, gid), 0));
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(fchownat)(rt.dirfd, rt.path, uid, gid, flags),
		      emu_path(&rt, FDP_OP_CHOWN, flags & AT_SYMLINK_NOFOLLOW,
			       0, owner_arg(uid, gid)));
}

static long emu_utimens(struct shim_route *rt, const struct timespec ts[2],
			int flags)
{
	const struct timespec *t;
	struct timespec k[2];
	long r = utimens_args(ts, flags, k, &t);

	if (r <= 0)
		return r;
	return shim_op_path(rt, FDP_OP_UTIMENS, NULL,
			    flags & AT_SYMLINK_NOFOLLOW, 0, 0, t,
			    2 * sizeof(struct timespec), NULL, 0, NULL);
}

static long emu_utimes(struct shim_route *rt, const struct timeval tv[2],
		       int flags)
{
	struct timespec ts[2];

	if (tv && tv_to_ts(tv, ts) < 0)
		return -EINVAL;
	return emu_utimens(rt, tv ? ts : NULL, flags);
}

SHIM_EXPORT int utimensat(int dirfd, const char *path,
			  const struct timespec ts[2], int flags)
{
	/* glibc's utimensat refuses a NULL path (futimens does not); the
	 * kernel reads the times before the flags */
	SHIM_BADFLAGS(!shim_opaque(path));
	if (empty_path(path, flags))
		SHIM_FDCALL(int, dirfd, REAL(utimensat)(dirfd, path, ts, flags),
			    emu_futimens(fi.open_key, ts, flags));
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(utimensat)(rt.dirfd, rt.path, ts, flags),
		      emu_utimens(&rt, ts, flags));
}

SHIM_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(utimes)(rt.path, tv),
		      emu_utimes(&rt, tv, 0));
}

SHIM_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(lutimes)(rt.path, tv),
		      emu_utimes(&rt, tv, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int futimesat(int dirfd, const char *path,
			  const struct timeval tv[2])
{
	if (!path)
		SHIM_FDCALL(int, dirfd, REAL(futimesat)(dirfd, path, tv),
			    emu_futimes(fi.open_key, tv));
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(futimesat)(rt.dirfd, rt.path, tv),
		      emu_utimes(&rt, tv, 0));
}

static long emu_utime(struct shim_route *rt, const struct utimbuf *b)
{
	struct timespec ts[2];

	if (!b)
		return emu_utimens(rt, NULL, 0);
	ts[0].tv_sec = b->actime;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = b->modtime;
	ts[1].tv_nsec = 0;
	return emu_utimens(rt, ts, 0);
}

SHIM_EXPORT int utime(const char *path, const struct utimbuf *b)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(utime)(rt.path, b),
		      emu_utime(&rt, b));
}

static long emu_mknod(struct shim_route *rt, mode_t mode, dev_t dev)
{
	return emu_path(rt, FDP_OP_MKNOD, 0, (mode & S_IFMT) | masked(mode),
			dev);
}

SHIM_EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(mknod)(rt.path, mode, dev),
		      emu_mknod(&rt, mode, dev));
}

SHIM_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(mknodat)(rt.dirfd, rt.path, mode, dev),
		      emu_mknod(&rt, mode, dev));
}

SHIM_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	SHIM_PATHCALL(int, AT_FDCWD, path,
		      REAL(__xmknod)(ver, rt.path, mode, dev),
		      emu_mknod(&rt, mode, dev ? *dev : 0));
}

SHIM_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode,
			   dev_t *dev)
{
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(__xmknodat)(ver, rt.dirfd, rt.path, mode, dev),
		      emu_mknod(&rt, mode, dev ? *dev : 0));
}

SHIM_EXPORT int mkfifo(const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(mkfifo)(rt.path, mode),
		      emu_mknod(&rt, S_IFIFO | (mode & 07777), 0));
}

SHIM_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	SHIM_PATHCALL(int, dirfd, path,
		      REAL(mkfifoat)(rt.dirfd, rt.path, mode),
		      emu_mknod(&rt, S_IFIFO | (mode & 07777), 0));
}

/* ---- extended attributes -------------------------------------------------
 *
 * By path; the l* forms add AT_SYMLINK_NOFOLLOW to fdp_path_in.flags next
 * to XATTR_CREATE/XATTR_REPLACE.  The f* forms use the path the fd was
 * opened by (the port has no xattr op by open file).
 */
/* import_xattr_name: 1 to 255 bytes (ERANGE), readable (EFAULT). */
static long xattr_name(char k[XATTR_NAME_MAX + 1], const char *name)
{
	long n = shim_strncpy_from_user(k, name, XATTR_NAME_MAX + 1);

	if (n == 0 || n == XATTR_NAME_MAX + 1)
		return -ERANGE;
	return n < 0 ? n : 0;
}

/* setxattr_copy: flags, name, size and value, before the path. */
static long emu_setxattr(struct shim_route *rt, const char *name,
			 const void *value, size_t size, int flags,
			 int nofollow)
{
	char k[XATTR_NAME_MAX + 1];
	long r;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	r = xattr_name(k, name);
	if (r)
		return r;
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (size && shim_user_readable(value, size) < size)
		return -EFAULT;
	return shim_op_path(rt, FDP_OP_SETXATTR, k, flags | nofollow, 0,
			    size, value, size, NULL, 0, NULL);
}

/*
 * do_getxattr, listxattr: the name first (GETXATTR), the value copied
 * out last: into a buffer of ours when the caller's cannot take it, so
 * that the daemon's error comes before EFAULT, as in Linux.
 */
static long emu_xattr_get(struct shim_route *rt, uint32_t op,
			  const char *name, void *value, size_t size,
			  int nofollow)
{
	char k[XATTR_NAME_MAX + 1];
	struct fdp_size_out o;
	size_t n = 0;
	void *buf = value;
	long r;

	if (op == FDP_OP_GETXATTR) {
		r = xattr_name(k, name);
		if (r)
			return r;
		name = k;
	}
	if (!size) {
		r = shim_op_path(rt, op, name, nofollow, 0, 0, NULL, 0, &o,
				 sizeof(o), &n);
		if (r)
			return r;
		return n < sizeof(o) ? -EIO : (long)o.size;
	}
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;		/* as XATTR_LIST_MAX */
	if (shim_user_writable(value, size) < size) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
	}
	r = shim_op_path(rt, op, name, nofollow, 0, size, NULL, 0, buf, size,
			 &n);
	if (r == 0)
		r = n;
	if (buf != value) {
		if (r > 0 && shim_copy_to_user(value, buf, r))
			r = -EFAULT;
		free(buf);
	}
	return r;
}

static long emu_removexattr(struct shim_route *rt, const char *name,
			    int nofollow)
{
	char k[XATTR_NAME_MAX + 1];
	long r = xattr_name(k, name);

	if (r)
		return r;
	return shim_op_path(rt, FDP_OP_REMOVEXATTR, k, nofollow, 0, 0,
			    NULL, 0, NULL, 0, NULL);
}

/*
 * An emulated fd as a route (the f*xattr calls, AT_EMPTY_PATH): the empty
 * path from its own open file, which names the file itself, wherever it
 * is now, unlinked or not.
 */
static struct shim_route *fd_route(struct shim_route *rt, int fd)
{
	struct shim_fdinfo fi = { 0 };

	if (!shim_fd_lookup(fd, &fi))
		return NULL;
	rt->base = fi.open_key;
	rt->abs[0] = '\0';
	rt->dirfd = fd;
	rt->path = "";
	return rt;
}

#define WRAP_XATTR_FD(fd, REALCALL, EMU)				\
	do {								\
		struct shim_route rt;					\
		int e_ = errno;						\
		if (likely(!fd_route(&rt, fd)))				\
			return REALCALL;				\
		return shim_result((EMU), e_);				\
	} while (0)

SHIM_EXPORT int setxattr(const char *path, const char *name,
			 const void *value, size_t size, int flags)
{
	SHIM_PATHCALL(int, AT_FDCWD, path,
		      REAL(setxattr)(rt.path, name, value, size, flags),
		      emu_setxattr(&rt, name, value, size, flags, 0));
}

SHIM_EXPORT int lsetxattr(const char *path, const char *name,
			  const void *value, size_t size, int flags)
{
	SHIM_PATHCALL(int, AT_FDCWD, path,
		      REAL(lsetxattr)(rt.path, name, value, size, flags),
		      emu_setxattr(&rt, name, value, size, flags,
				   AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int fsetxattr(int fd, const char *name, const void *value,
			  size_t size, int flags)
{
	WRAP_XATTR_FD(fd, REAL(fsetxattr)(fd, name, value, size, flags),
		      emu_setxattr(&rt, name, value, size, flags, 0));
}

SHIM_EXPORT ssize_t getxattr(const char *path, const char *name, void *value,
			     size_t size)
{
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(getxattr)(rt.path, name, value, size),
		      emu_xattr_get(&rt, FDP_OP_GETXATTR, name, value, size,
				    0));
}

SHIM_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value,
			      size_t size)
{
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(lgetxattr)(rt.path, name, value, size),
		      emu_xattr_get(&rt, FDP_OP_GETXATTR, name, value, size,
				    AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT ssize_t fgetxattr(int fd, const char *name, void *value,
			      size_t size)
{
	WRAP_XATTR_FD(fd, REAL(fgetxattr)(fd, name, value, size),
		      emu_xattr_get(&rt, FDP_OP_GETXATTR, name, value, size,
				    0));
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(listxattr)(rt.path, list, size),
		      emu_xattr_get(&rt, FDP_OP_LISTXATTR, NULL, list, size,
				    0));
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	SHIM_PATHCALL(ssize_t, AT_FDCWD, path,
		      REAL(llistxattr)(rt.path, list, size),
		      emu_xattr_get(&rt, FDP_OP_LISTXATTR, NULL, list, size,
				    AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT ssize_t flistxattr(int fd, char *list, size_t size)
{
	WRAP_XATTR_FD(fd, REAL(flistxattr)(fd, list, size),
		      emu_xattr_get(&rt, FDP_OP_LISTXATTR, NULL, list, size,
				    0));
}

SHIM_EXPORT int removexattr(const char *path, const char *name)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(removexattr)(rt.path, name),
		      emu_removexattr(&rt, name, 0));
}

SHIM_EXPORT int lremovexattr(const char *path, const char *name)
{
	SHIM_PATHCALL(int, AT_FDCWD, path, REAL(lremovexattr)(rt.path, name),
		      emu_removexattr(&rt, name, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int fremovexattr(int fd, const char *name)
{
	WRAP_XATTR_FD(fd, REAL(fremovexattr)(fd, name),
		      emu_removexattr(&rt, name, 0));
}

/* ---- stdio and temporary files -------------------------------------------
 *
 * glibc's fopen opens through internal entry points we cannot see, so an
 * emulated path is opened here and handed to fdopen.  Such a stream
 * cannot seek: glibc seeks with an internal lseek on the device fd.
 */
static int fopen_flags(const char *mode)
{
	int f;

	switch (mode ? *mode : 0) {
	case 'r':
		f = O_RDONLY;
		break;
	case 'w':
		f = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		f = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -EINVAL;
	}
	for (mode++; *mode && *mode != ','; mode++) {
		if (*mode == '+')
			f = (f & ~O_ACCMODE) | O_RDWR;
		else if (*mode == 'x')
			f |= O_EXCL;
		else if (*mode == 'e')
			f |= O_CLOEXEC;
	}
	return f;
}

long shim_open_routed(struct shim_route *rt, int dirfd, const char *path,
		      int flags, mode_t mode)
{
	int hops = 0;
	long r = flags < 0 ? 0 : open_fd_link(path, flags, mode);

	if (r)
		return r;
	r = shim_route(rt, dirfd, path);
	while (r > 0) {
		if (flags < 0)
			return flags;
		r = shim_client_open(rt, flags, mode);
		if (r != SHIM_EXTERNAL)
			return r < 0 ? r : r + 1;
		r = shim_route_external(rt, &hops);
	}
	return r;
}

static long fopen_route(struct shim_route *rt, const char *path,
			const char *mode)
{
	return shim_open_routed(rt, AT_FDCWD, path, fopen_flags(mode), 0666);
}

#define WRAP_FOPEN(name)						\
SHIM_EXPORT FILE *name(const char *path, const char *mode)		\
{									\
	struct shim_route rt;						\
	int e = errno, fd;						\
	long r = fopen_route(&rt, path, mode);				\
	FILE *fp;							\
									\
	if (r == 0)							\
		return REAL(name)(rt.path, mode);			\
	if (r < 0) {							\
		errno = -r;						\
		return NULL;						\
	}								\
	fd = r - 1;							\
	fp = fdopen(fd, mode);						\
	if (!fp) {							\
		e = errno;						\
		close(fd);						\
	}								\
	errno = e;							\
	return fp;							\
}

WRAP_FOPEN(fopen)
WRAP_FOPEN(fopen64)

/*
 * freopen onto an emulated path: reopen @fp on /dev/null with a mode the
 * null device accepts, then put the emulated fd at the stream's fd.
 */
#define WRAP_FREOPEN(name)						\
SHIM_EXPORT FILE *name(const char *path, const char *mode, FILE *fp)	\
{									\
	struct shim_route rt;						\
	char nmode[8];							\
	int e = errno, fd, i, j;					\
	long r;								\
									\
	if (!path || !fp)						\
		return REAL(name)(path, mode, fp);			\
	r = fopen_route(&rt, path, mode);				\
	if (r == 0) {							\
		shim_fd_drop(fileno(fp));				\
		return REAL(name)(rt.path, mode, fp);			\
	}								\
	if (r < 0) {							\
		errno = -r;						\
		return NULL;						\
	}								\
	fd = r - 1;							\
	for (i = j = 0; mode[i] && j < 7; i++)				\
		if (mode[i] != 'x')					\
			nmode[j++] = mode[i];				\
	nmode[j] = '\0';						\
	shim_fd_drop(fileno(fp));					\
	fp = REAL(name)("/dev/null", nmode, fp);			\
	if (!fp || dup2(fd, fileno(fp)) < 0) {				\
		e = errno;						\
		close(fd);						\
		errno = e;						\
		return NULL;						\
	}								\
	close(fd);							\
	errno = e;							\
	return fp;							\
}

WRAP_FREOPEN(freopen)
WRAP_FREOPEN(freopen64)

SHIM_EXPORT int fclose(FILE *fp)
{
	int fd = fp ? fileno(fp) : -1;

	if (fd >= 0)
		shim_fd_drop(fd);
	return REAL(fclose)(fp);
}

/* Random name characters for mkstemp and friends. */
static void fill_random(char *x, size_t n)
{
	static const char set[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static __thread uint64_t s;
	unsigned char rnd[16];
	struct timespec ts;
	size_t i;

	if (getrandom(rnd, n, GRND_NONBLOCK) == (ssize_t)n) {
		for (i = 0; i < n; i++)
			x[i] = set[rnd[i] % (sizeof(set) - 1)];
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s ^= (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
	     (uintptr_t)&s;
	for (i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		x[i] = set[s % (sizeof(set) - 1)];
	}
}

/*
 * gen_tempname on an emulated directory: returns 1 and the fd (or 0 for
 * a directory) in *res, 0 when the real file system serves @tmpl.
 */
static int emu_tempname(char *tmpl, int suffixlen, int flags, bool dir,
			long *res)
{
	struct shim_route rt;
	int tries, hops;
	size_t len;
	char *x;
	long r;

	/* also a template that cannot be read: glibc's to refuse */
	if (shim_route(&rt, AT_FDCWD, tmpl) <= 0)
		return 0;
	len = strlen(tmpl);
	if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
	    memcmp(tmpl + len - 6 - suffixlen, "XXXXXX", 6)) {
		*res = -EINVAL;
		return 1;
	}
	x = tmpl + len - 6 - suffixlen;
	for (tries = 0; tries < 1000; tries++) {
		bool real = false;

		fill_random(x, 6);
		hops = 0;
		r = shim_route(&rt, AT_FDCWD, tmpl);
		for (;;) {
			if (r == 0)
				real = true;
			if (r <= 0)
				break;
			r = dir ? emu_path(&rt, FDP_OP_MKDIR, 0,
					   masked(0700), 0) :
				  shim_client_open(&rt, (flags & ~O_ACCMODE) |
						   O_RDWR | O_CREAT | O_EXCL,
						   0600);
			if (r != SHIM_EXTERNAL)
				break;
			r = shim_route_external(&rt, &hops);
		}
		if (real) {
			/* redirected to the real file system */
			r = dir ? REAL(mkdir)(rt.path, 0700) :
				  REAL(open)(rt.path, (flags & ~O_ACCMODE) |
					     O_RDWR | O_CREAT | O_EXCL, 0600);
			r = r < 0 ? -errno : r;
		}
		if (r != -EEXIST) {
			*res = r;
			return 1;
		}
	}
	*res = -EEXIST;
	return 1;
}

#define WRAP_MKSTEMP(name, SUFFIX, FLAGS, PARAMS, ARGS)			\
SHIM_EXPORT int name PARAMS						\
{									\
	int e = errno;							\
	long r;								\
									\
	if (!emu_tempname(tmpl, SUFFIX, FLAGS, false, &r))		\
		return REAL(name) ARGS;					\
	return shim_result(r, e);					\
}

WRAP_MKSTEMP(mkstemp, 0, 0, (char *tmpl), (tmpl))
WRAP_MKSTEMP(mkstemp64, 0, 0, (char *tmpl), (tmpl))
WRAP_MKSTEMP(mkostemp, 0, flags, (char *tmpl, int flags), (tmpl, flags))
WRAP_MKSTEMP(mkostemp64, 0, flags, (char *tmpl, int flags), (tmpl, flags))
WRAP_MKSTEMP(mkstemps, suffixlen, 0, (char *tmpl, int suffixlen),
	     (tmpl, suffixlen))
WRAP_MKSTEMP(mkstemps64, suffixlen, 0, (char *tmpl, int suffixlen),
	     (tmpl, suffixlen))
WRAP_MKSTEMP(mkostemps, suffixlen, flags,
	     (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags))
WRAP_MKSTEMP(mkostemps64, suffixlen, flags,
	     (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags))

SHIM_EXPORT char *mkdtemp(char *tmpl)
{
	int e = errno;
	long r;

	if (!emu_tempname(tmpl, 0, 0, true, &r))
		return REAL(mkdtemp)(tmpl);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	errno = e;
	return tmpl;
}
