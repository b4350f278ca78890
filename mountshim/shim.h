/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim private header: what the shim's files share.
 *
 *  - REAL(name): the next definition of a wrapped libc function, found
 *    once with dlsym(RTLD_NEXT) and cached in one slot per name;
 *  - the process state (runtime dir, mapped mount table, device);
 *  - routing: does a path or an fd belong to an emulated mount;
 *  - the fd table of emulated client fds;
 *  - the client port (one connection per thread) and typed op helpers.
 *
 * Internal functions return >= 0 or -errno; only the exported wrappers
 * set errno, through shim_result().
 */
#ifndef MOUNTSHIM_SHIM_H
#define MOUNTSHIM_SHIM_H

/* The wrappers define the libc names themselves: no redirects, no
 * fortify inlines. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#undef _TIME_BITS

#include <alloca.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "fusedev_port.h"

#define SHIM_EXPORT	__attribute__((visibility("default")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* glibc still exports these for old binaries but no longer declares them. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
	       int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags);
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode,
	       dev_t *dev);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off,
		      size_t buflen);
ssize_t __readlink_chk(const char *path, char *buf, size_t n, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t n,
			 size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
void __chk_fail(void) __attribute__((noreturn));
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
__sighandler_t bsd_signal(int sig, __sighandler_t handler);
#ifndef _STAT_VER
#define _STAT_VER	1		/* x86_64 _STAT_VER_LINUX */
#endif
#ifndef _MKNOD_VER
#define _MKNOD_VER	0
#endif

/* ---- REAL(): the next definition ----------------------------------------
 *
 * Every function the shim calls past itself is listed here once; its slot
 * is filled on first use (or by shim_init) and never changes after.
 */
#define SHIM_REALS(X)							\
	X(open) X(open64) X(__open_2) X(__open64_2) X(openat)		\
	X(openat64) X(__openat_2) X(__openat64_2) X(creat) X(creat64)	\
	X(close) X(close_range) X(closefrom) X(dup) X(dup2) X(dup3)	\
	X(fcntl) X(fcntl64) X(ioctl) X(flock) X(lockf) X(lockf64)	\
	X(pread) X(pread64) X(pwrite) X(pwrite64) X(__pread_chk)	\
	X(__pread64_chk) X(lseek) X(lseek64) X(readv) X(writev) X(write) \
	X(preadv) X(preadv64) X(pwritev) X(pwritev64) X(preadv2)	\
	X(preadv64v2) X(pwritev2) X(pwritev64v2) X(copy_file_range)	\
	X(sendfile) X(sendfile64) X(mmap) X(mmap64) X(recvmsg)		\
	X(fallocate) X(fallocate64) X(posix_fallocate)			\
	X(posix_fallocate64) X(fseek) X(fseeko) X(fseeko64) X(ftell)	\
	X(ftello) X(ftello64) X(rewind) X(fgetpos) X(fgetpos64)	\
	X(fsetpos) X(fsetpos64) X(fflush) X(fflush_unlocked) X(fdopen)	\
	X(nftw) X(nftw64) X(ftw) X(ftw64) X(glob) X(glob64)		\
	X(fts_open) X(fts64_open) X(fts_read) X(fts64_read)		\
	X(fts_children) X(fts64_children) X(fts_set) X(fts64_set)	\
	X(fts_close) X(fts64_close)					\
	X(fstat) X(fstat64) X(__fxstat) X(__fxstat64) X(stat) X(stat64)	\
	X(lstat) X(lstat64) X(__xstat) X(__xstat64) X(__lxstat)		\
	X(__lxstat64) X(fstatat) X(fstatat64) X(__fxstatat)		\
	X(__fxstatat64) X(statx) X(ftruncate) X(ftruncate64) X(fsync)	\
	X(fdatasync) X(truncate) X(truncate64) X(mkdir) X(mkdirat)	\
	X(rmdir) X(unlink) X(unlinkat) X(remove) X(rename) X(renameat)	\
	X(renameat2) X(link) X(linkat) X(symlink) X(symlinkat)		\
	X(readlink) X(readlinkat) X(__readlink_chk) X(__readlinkat_chk)	\
	X(access) X(faccessat) X(euidaccess) X(eaccess) X(chmod)	\
	X(fchmod) X(fchmodat) X(lchmod) X(chown) X(lchown) X(fchown)	\
	X(fchownat) X(utimensat) X(futimens) X(utimes) X(utime)		\
	X(lutimes) X(futimes) X(futimesat) X(mknod) X(mknodat)		\
	X(__xmknod) X(__xmknodat) X(mkfifo) X(mkfifoat) X(statfs)	\
	X(statfs64) X(fstatfs) X(fstatfs64) X(statvfs) X(statvfs64)	\
	X(fstatvfs) X(fstatvfs64) X(setxattr) X(lsetxattr) X(fsetxattr)	\
	X(getxattr) X(lgetxattr) X(fgetxattr) X(listxattr) X(llistxattr)	\
	X(flistxattr) X(removexattr) X(lremovexattr) X(fremovexattr)	\
	X(fopen) X(fopen64) X(freopen) X(freopen64) X(fclose)		\
	X(mkstemp) X(mkstemp64) X(mkostemp) X(mkostemp64) X(mkstemps)	\
	X(mkstemps64) X(mkostemps) X(mkostemps64) X(mkdtemp)		\
	X(opendir) X(fdopendir) X(readdir) X(readdir64) X(readdir_r)	\
	X(readdir64_r) X(closedir) X(rewinddir) X(dirfd) X(telldir)	\
	X(seekdir) X(getdents64) X(scandir) X(scandir64) X(scandirat)	\
	X(scandirat64) X(realpath) X(__realpath_chk)			\
	X(canonicalize_file_name) X(chdir) X(fchdir) X(getcwd)		\
	X(__getcwd_chk) X(get_current_dir_name) X(umask)		\
	X(mount) X(umount) X(umount2) X(splice) X(execve) X(execv)	\
	X(execvp) X(execvpe) X(posix_spawn) X(posix_spawnp)		\
	X(sigaction) X(__sigaction) X(signal) X(bsd_signal) X(ssignal)	\
	X(sysv_signal) X(__sysv_signal) X(sigignore) X(siginterrupt)	\
	X(sigset) X(sigprocmask) X(pthread_sigmask) X(bind) X(connect)	\
	X(sendto) X(sendmsg) X(getsockname) X(getpeername) X(accept)	\
	X(accept4) X(recvfrom)

#define SHIM_DECLARE_REAL(name) extern void *shim_real_##name;
SHIM_REALS(SHIM_DECLARE_REAL)
#undef SHIM_DECLARE_REAL

void *shim_resolve(void **slot, const char *name);

#define REAL(name)							\
	((__typeof__(&name))(likely(__atomic_load_n(&shim_real_##name,	\
						    __ATOMIC_ACQUIRE)) ?	\
		__atomic_load_n(&shim_real_##name, __ATOMIC_ACQUIRE) :	\
		shim_resolve(&shim_real_##name, #name)))

/* ---- process state ----------------------------------------------------- */

#define SHIM_DBG_DAEMON	(1u << 0)
#define SHIM_DBG_CLIENT	(1u << 1)
#define SHIM_DBG_PORT	(1u << 2)

struct shim_state {
	int inited;			/* shim_init ran */
	int active;			/* mtab mapped: the shim routes */
	unsigned int debug;		/* SHIM_DBG_* from FUSEDEV_DEBUG */
	const struct fusedev_mtab *mtab;
	char dir[PATH_MAX];		/* $FUSEDEV_DIR */
	char port[108];			/* sockaddr_un path of the port */
	char sockdir[108];		/* $FUSEDEV_DIR/sock: real sockets
					 * (shim_socket.c); "" if too long */
	char device[256];		/* mtab->device, copied once */
	mode_t umask;			/* tracked through umask() */
};

extern struct shim_state shim;

void shim_init(void);

static inline bool shim_active(void)
{
	if (unlikely(!__atomic_load_n(&shim.inited, __ATOMIC_ACQUIRE)))
		shim_init();
	return shim.active;
}

void shim_dbg(unsigned int cat, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define SHIM_DBG(cat, ...)						\
	do {								\
		if (unlikely(shim.debug & (cat)))			\
			shim_dbg(cat, __VA_ARGS__);			\
	} while (0)

/*
 * Hide a pointer from nonnull-based optimisation: glibc declares some
 * wrapped arguments nonnull, but programs do pass NULL and expect EFAULT
 * or EINVAL, not a crash inside the shim.
 */
static inline const void *shim_opaque(const void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* Marker for "the emulator says: redo this on the real file system". */
#define SHIM_EXTERNAL	(-0x10000L)
/* Symlink hops allowed through FDP_EXTERNAL redirections (MAXSYMLINKS). */
#define SHIM_MAX_HOPS	40

/* Edge of every wrapper: -errno -> errno + -1; success restores errno. */
static inline long shim_result(long r, int saved_errno)
{
	if (r < 0) {
		errno = r == SHIM_EXTERNAL ? EXDEV : (int)-r;
		return -1;
	}
	errno = saved_errno;
	return r;
}

/* ---- the caller's memory (shim_uaccess.c) --------------------------------
 *
 * As the kernel's uaccess: a bad pointer (NULL, unmapped, a string that
 * runs into an unmapped page, read-only memory to write) is an error,
 * never a fault in the library.  No system call for good pointers.
 */
/* Copy the string at @src into @dst (@size bytes, NUL included): its
 * length, @size when no NUL is within @size bytes, or -EFAULT. */
long shim_strncpy_from_user(char *dst, const char *src, size_t size);
/* Copy @n bytes: how many were NOT copied (0: all), as the kernel's. */
size_t shim_copy_from_user(void *dst, const void *src, size_t n);
size_t shim_copy_to_user(void *dst, const void *src, size_t n);
/* How many of the @n bytes at @p, from the start, can be read / written
 * (checked one byte per page, changing nothing). */
size_t shim_user_readable(const void *p, size_t n);
size_t shim_user_writable(void *p, size_t n);
void shim_uaccess_init(void);

/* The first bytes of the string at @p into @buf (at most @size - 1, then
 * NUL): false when they cannot be read. */
static inline bool shim_peek(const char *p, char *buf, size_t size)
{
	long n = shim_strncpy_from_user(buf, p, size - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Is the caller's string @p "" (readable and empty)? */
static inline bool shim_empty_str(const char *p)
{
	char c[2];

	return shim_peek(p, c, sizeof(c)) && !c[0];
}

/* ---- the device ---------------------------------------------------------*/

/* Is @fd an open of the emulated device (any kind)? */
bool shim_is_device_fd(int fd);
/* FUSEDEV_IOC_WHOAMI on @fd; -EINVAL when @fd is not a device open. */
int shim_whoami(int fd, struct fusedev_whoami *who);
/* Open the device node itself: REAL(open), never routed. */
int shim_open_device(int flags);
/* The same, read-write, for a client's file (@flags: O_CLOEXEC or 0). */
int shim_open_client_device(int flags);

/* ---- routing ------------------------------------------------------------ */

struct shim_route {
	int dirfd;			/* what REAL gets ... */
	const char *path;		/* ... when the real fs serves it */
	uint64_t base;			/* emulated: 0, or the open file a
					 * relative rt->abs starts at */
	int fault;			/* the path could not be read: EFAULT,
					 * or ENAMETOOLONG (no NUL in it) */
	char abs[FUSEDEV_PATH_MAX];	/* emulated: path for the emulator */
	char ext[FUSEDEV_PATH_MAX];	/* FDP_EXTERNAL: path to redo */
};

/*
 * Where does @path (relative to @dirfd) live?  1: under an emulated mount:
 * rt->abs is the path to send, relative to rt->base (an emulated dirfd's
 * or cwd's open file) as given, or absolute (the real part up to the
 * mountpoint normalized lexically, the rest as given).  0: the real file
 * system serves it with rt->dirfd, rt->path; so does a path that cannot
 * be read (rt->fault): the real call refuses it as the kernel does, in
 * its order.  @path is read once, safely.  Never changes errno.
 */
int shim_route(struct shim_route *rt, int dirfd, const char *path);
/* After FDP_EXTERNAL: route rt->ext instead (1/0 as above, -ELOOP). */
int shim_route_external(struct shim_route *rt, int *hops);
/* Mount of canonical absolute @path, if any: its length, else 0. */
size_t shim_mount_prefix(const char *path, uint64_t *id);
/* Fast check: does the emulator have any mount at all? */
bool shim_have_mounts(void);

/*
 * The body of a wrapper taking one path.  EMU runs with rt.abs set and
 * gives a result, -errno or SHIM_EXTERNAL; REALCALL uses rt.dirfd and
 * rt.path.  Returns from the enclosing function.
 */
#define SHIM_PATHCALL(type, dirfd_, path_, REALCALL, EMU)		\
	do {								\
		struct shim_route rt;					\
		int e_ = errno, hops_ = 0;				\
		long r_ = shim_route(&rt, (dirfd_), (path_));		\
		while (r_ > 0) {					\
			r_ = (EMU);					\
			if (r_ != SHIM_EXTERNAL)			\
				return (type)shim_result(r_, e_);	\
			r_ = shim_route_external(&rt, &hops_);		\
		}							\
		if (r_ < 0)						\
			return (type)shim_result(r_, e_);		\
		return REALCALL;					\
	} while (0)

/* ---- the fd table --------------------------------------------------------*/

struct shim_fdinfo {
	uint64_t open_key;
	int flags;			/* open flags as recorded */
	char *path;			/* caller's PATH_MAX buffer, or NULL */
};

/*
 * A vfork (or raw clone) child: another pid in the parent's memory.  The
 * fd table is the parent's: such a child leaves it alone (its fds live
 * until its exec or _exit; an exec'd program asks the device anew).
 */
bool shim_vfork_child(void);

/* Is @fd an emulated client fd?  Fills @fi (path only if fi->path). */
bool shim_fd_lookup(int fd, struct shim_fdinfo *fi);
int shim_fd_set(int fd, uint64_t open_key, int flags, const char *path);
void shim_fd_drop(int fd);
void shim_fd_dup(int oldfd, int newfd);
void shim_fd_setflags(int fd, int flags);
/* Adopt inherited or received device fds bound to client files. */
void shim_fd_adopt(int fd);
void shim_fd_rebuild(void);

/* fds the shim owns (port connections): close() leaves them alone. */
void shim_internal_add(int fd);
void shim_internal_del(int fd);
bool shim_internal_fd(int fd);
/* Close every fd in [first, last] that is not the shim's own. */
int shim_close_range_user(unsigned int first, unsigned int last, int flags);

/* Block signals around a short critical section (no port call inside). */
void shim_lock(pthread_mutex_t *m, sigset_t *old);
void shim_unlock(pthread_mutex_t *m, const sigset_t *old);

/* ---- current directory (shim_dir.c) -------------------------------------
 *
 * The kernel cannot chdir into an emulated directory; the shim keeps a
 * virtual cwd while the kernel's cwd is that mount's (real) mountpoint.
 */
/* Copy the cwd the shim answers for into @buf: 0, or -errno. */
int shim_cwd(char *buf, size_t size);
/* The open file of the emulated cwd (relative paths start there), or 0
 * when the cwd is the kernel's. */
uint64_t shim_cwd_key(void);
/* The cwd's own fd, which a fork child keeps; -1 if none. */
int shim_cwd_fd(void);
void shim_cwd_init(void);
void shim_cwd_atfork(void);
/*
 * The environment an exec should pass on: @envp with FUSEDEV_CWD set to
 * the virtual cwd, or removed when there is none.  @arr has room for
 * shim_env_count(envp) + 2 pointers, @var for PATH_MAX + 16 bytes.
 * Returns @envp itself when nothing changes.
 */
size_t shim_env_count(char *const envp[]);
char *const *shim_cwd_env(char *const envp[], char **arr, char *var,
			  size_t size);
#define SHIM_CWD_ENV_SIZE	(PATH_MAX + 16)
#define SHIM_CWD_ENV(envp, out)						\
	do {								\
		size_t n_ = shim_env_count(envp);			\
		char **a_ = alloca((n_ + 2) * sizeof(char *));		\
		char *v_ = alloca(SHIM_CWD_ENV_SIZE);			\
		(out) = shim_cwd_env((envp), a_, v_, SHIM_CWD_ENV_SIZE); \
	} while (0)

/* Resolve @path like realpath(3) into @out (PATH_MAX); 0 or -errno. */
int shim_realpath(const char *path, char *out);

/* ---- the client port (shim_port.c) ------------------------------------- */

/*
 * One request and its reply.  The request's payload is @in[0..nin); the
 * reply's payload is scattered over @out[0..nout); *@outlen gets its
 * length.  Returns the reply's error: 0, -errno, or FDP_EXTERNAL.  A
 * reply longer than @out is -EIO unless @trunc_ok.
 */
struct shim_call {
	uint32_t op;
	int nin, nout;
	bool trunc_ok;
	struct iovec in[6];
	struct iovec out[3];
	size_t outlen;
};

int shim_port_call(struct shim_call *c);
void shim_port_atfork(void);
void shim_port_init(void);
/* The program is putting its own fd at @fd, one of our sockets. */
void shim_port_forget(int fd);
/* A fork child: close every socket of the parent's threads. */
void shim_internal_close_all(void);

/*
 * By-path op: fdp_path_in + path + NUL [+ path2 + NUL] [+ extra].  The
 * reply goes to @out (at most @outsz; *@outlen its length).  Returns the
 * error; on FDP_EXTERNAL rt->ext holds the path and SHIM_EXTERNAL comes
 * back.
 */
long shim_op_path(struct shim_route *rt, uint32_t op, const char *path2,
		  uint32_t flags, uint32_t mode, uint64_t arg,
		  const void *extra, size_t extralen, void *out, size_t outsz,
		  size_t *outlen);
/* RENAME, LINK: @ra's path, @rb's as path2 (each with its base). */
long shim_op_path2(struct shim_route *ra, struct shim_route *rb,
		   uint32_t op, uint32_t flags);
/* By-open-file op: fdp_file_in [+ data]; reply into @out. */
long shim_op_file(uint32_t op, uint64_t open_key, int64_t offset,
		  uint64_t size, uint32_t flags, uint32_t whence,
		  const void *data, size_t datalen, void *out, size_t outsz,
		  size_t *outlen);
/* FDP_OP_FSTAT of @open_key: 0 or -errno (-EIO for a short reply);
 * the statx form with its AT_STATX_* @flags and @mask (0: stat's). */
long shim_op_fstat(uint64_t open_key, struct fdp_stat_out *o);
long shim_op_fstatx(uint64_t open_key, int flags, unsigned int mask,
		    struct fdp_stat_out *o);
/* FDP_OP_FPATH of @open_key into @buf (FUSEDEV_PATH_MAX). */
int shim_op_fpath(uint64_t open_key, char *buf);

/* ---- client helpers other files use (shim_client.c) ----------------------*/

/* lseek of the open file @key: the new position or -errno. */
long shim_client_lseek(uint64_t key, int64_t off, int whence);
/* Open rt->abs on the emulator and bind a device fd to it: the fd. */
long shim_client_open(struct shim_route *rt, int flags, mode_t mode);
/*
 * Route @path and open it if emulated (following FDP_EXTERNAL): 0 when
 * the real file system serves it (rt->dirfd, rt->path), else the fd + 1
 * or -errno.  @flags < 0 is returned as the error for emulated paths.
 */
long shim_open_routed(struct shim_route *rt, int dirfd, const char *path,
		      int flags, mode_t mode);
/* ioctl(2) on the emulated fd @fd: the result or -errno. */
long shim_client_ioctl(int fd, const struct shim_fdinfo *fi,
		       unsigned long req, void *arg);
/* FDP_OP_STAT of rt->abs into @out (@flags AT_SYMLINK_NOFOLLOW,
 * AT_STATX_*); the statx form with the mask it asks for. */
long shim_client_stat(struct shim_route *rt, int flags,
		      struct fdp_stat_out *out);
long shim_client_statx(struct shim_route *rt, int flags, unsigned int mask,
		       struct fdp_stat_out *out);
/* pread of an emulated open file, looping over FDP_IO_MAX. */
ssize_t shim_client_pread(uint64_t open_key, void *buf, size_t n,
			  int64_t off);
void shim_fill_stat(struct stat *st, const struct fdp_stat_out *o);

/* ---- daemon side helpers (shim_daemon.c) -------------------------------- */

void shim_daemon_atfork(void);

/* ---- exec of emulated files (shim_exec.c) ------------------------------ */

extern void *shim_real_execveat;
extern void *shim_real_fexecve;
/*
 * execveat(2) of @path from @dirfd (@flags AT_EMPTY_PATH,
 * AT_SYMLINK_NOFOLLOW) when it is an emulated file or fd: returns only on
 * failure, -errno; 1 when the real file system serves it (rt->dirfd,
 * rt->path: what to pass the real call).  @envp as the new program gets it.
 */
long shim_exec(int dirfd, const char *path, char *const argv[],
	       char *const envp[], int flags, struct shim_route *rt);
/* execve(2), emulated or real (also: a real script, emulated
 * interpreter): returns -errno. */
long shim_exec_path(const char *path, char *const argv[], char *const envp[]);
/*
 * A program the shim cannot enter (static, Go: core/exekind.h), about to
 * be exec'd from @dirfd/@path (execveat's AT_EMPTY_PATH and
 * AT_SYMLINK_NOFOLLOW) with @envp (NULL: environ): said once on stderr;
 * -EPERM when FUSEDEV_UNSHIMMED=refuse (in @envp) refuses it, else 0.
 * _search: @file as execvp(3) finds it.
 */
long shim_exec_check(int dirfd, const char *path, int flags,
		     char *const envp[]);
long shim_exec_check_search(const char *file, char *const envp[]);
/* execvpe(3) (@shell: /bin/sh on ENOEXEC; posix_spawnp does not). */
long shim_execvpe(const char *file, char *const argv[], char *const envp[],
		  bool shell);
/* Does exec of @file (PATH-searched if @search) involve an emulated
 * mount?  Else the real function does it all. */
bool shim_exec_ours(const char *file, bool search);
/* Does a file action open an emulated path? */
bool shim_spawn_actions_ours(const posix_spawn_file_actions_t *fa);
/* Apply glibc's file actions @fa in a child: 0 or -errno. */
int shim_spawn_actions(const posix_spawn_file_actions_t *fa);
/* posix_spawn(3)/posix_spawnp(3) (@search) done by the shim: a vfork
 * child, attributes, file actions, emulated exec.  Returns the error. */
int shim_spawn(pid_t *pid, const char *file,
	       const posix_spawn_file_actions_t *fa,
	       const posix_spawnattr_t *attr, char *const argv[],
	       char *const envp[], bool search);

#endif /* MOUNTSHIM_SHIM_H */
