/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim: file locks on emulated fds.
 *
 * fcntl's lock commands (F_GETLK, F_SETLK, F_SETLKW and their OFD forms;
 * the 64-bit names are the same commands on this ABI), flock(2) and
 * lockf(3) go to the emulator as FDP_OP_GETLK / FDP_OP_SETLK, which keeps
 * or forwards them with Linux's semantics (cuse_fusedev/lock.c).  They
 * must not reach the kernel: every emulated fd is an open of the one
 * emulated device file, so kernel locks would make unrelated files
 * conflict.
 *
 * A blocking request waits in the emulator; a signal during the wait
 * runs its handler and ends the call with EINTR (shim_port_call sends
 * FDP_OP_INTERRUPT).  Unlike the kernel, an SA_RESTART handler does not
 * restart the wait.
 */
#include "shim.h"

#include <sys/file.h>

long shim_lock_fcntl(int fd, const struct shim_fdinfo *fi, int cmd,
		     void *arg);
void shim_lock_close(int fd);

/* This process has asked for a POSIX lock (a fork child inherits the
 * flag but no locks: at worst one needless unlock per close). */
static bool posix_used;

static long lock_call(uint64_t key, uint32_t op, uint32_t kind,
		      const struct flock *fl, struct fdp_lock_out *out)
{
	struct fdp_lock_in in = {
		.open_key = key,
		.start = fl->l_start,
		.len = fl->l_len,
		.kind = kind,
		.pid = fl->l_pid,
		.type = (uint16_t)fl->l_type,
		.whence = (uint16_t)fl->l_whence,
	};
	struct shim_call c = { .op = op };
	long r;

	c.in[c.nin++] = (struct iovec){ &in, sizeof(in) };
	if (out)
		c.out[c.nout++] = (struct iovec){ out, sizeof(*out) };
	r = shim_port_call(&c);
	if (r == FDP_EXTERNAL)
		return -EIO;
	if (r == 0 && out && c.outlen != sizeof(*out))
		return -EIO;
	return r;
}

/* fcntl's lock commands on emulated fd @fd: 0 or -errno. */
long shim_lock_fcntl(int fd, const struct shim_fdinfo *fi, int cmd,
		     void *arg)
{
	struct flock k, *fl = &k;
	struct fdp_lock_out out;
	uint32_t kind;
	long r;

	/* fcntl_getlk, fcntl_setlk: the caller's flock is read first and
	 * F_GETLK's answer written back last */
	if (shim_copy_from_user(&k, arg, sizeof(k)))
		return -EFAULT;
	switch (cmd) {
	case F_GETLK:
	case F_OFD_GETLK:
		kind = cmd == F_GETLK ? FDP_LK_POSIX : FDP_LK_OFD;
		r = lock_call(fi->open_key, FDP_OP_GETLK, kind, fl, &out);
		if (r < 0)
			return r;
		fl->l_type = out.type;
		if (out.type != F_UNLCK) {
			fl->l_whence = SEEK_SET;
			fl->l_start = out.start;
			fl->l_len = out.len;
			fl->l_pid = out.pid;
		}
		return shim_copy_to_user(arg, &k, sizeof(k)) ? -EFAULT : 0;
	case F_SETLK:
	case F_SETLKW:
		kind = FDP_LK_POSIX | (cmd == F_SETLKW ? FDP_LK_WAIT : 0);
		__atomic_store_n(&posix_used, true, __ATOMIC_RELAXED);
		break;
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		kind = FDP_LK_OFD | (cmd == F_OFD_SETLKW ? FDP_LK_WAIT : 0);
		break;
	default:
		return -EINVAL;
	}
	SHIM_DBG(SHIM_DBG_CLIENT, "fd %d lock cmd %d type %d", fd, cmd,
		 fl->l_type);
	return lock_call(fi->open_key, FDP_OP_SETLK, kind, fl, NULL);
}

/*
 * Before close(2) of @fd.  On the fusefile transport the kernel's FLUSH
 * tells the emulator of every close; CUSE has no flush, so there the
 * shim drops the process's POSIX locks on the file itself, as
 * locks_remove_posix() would (exits are left to the emulator).
 */
void shim_lock_close(int fd)
{
	struct shim_fdinfo fi = { 0 };
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	int e = errno;

	if (!__atomic_load_n(&posix_used, __ATOMIC_RELAXED) || !shim.mtab ||
	    shim.mtab->transport != FUSEDEV_TRANSPORT_CUSE ||
	    !shim_fd_lookup(fd, &fi))
		return;
	lock_call(fi.open_key, FDP_OP_SETLK, FDP_LK_POSIX, &fl, NULL);
	errno = e;
}

/* flock(2): LOCK_SH, LOCK_EX or LOCK_UN, maybe | LOCK_NB. */
static long emu_flock(const struct shim_fdinfo *fi, int op)
{
	struct flock fl = { .l_whence = SEEK_SET };
	uint32_t kind = FDP_LK_FLOCK;

	if (op & LOCK_MAND)
		return 0;	/* ignored since Linux 5.15 */
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		fl.l_type = F_RDLCK;
		break;
	case LOCK_EX:
		fl.l_type = F_WRLCK;
		break;
	case LOCK_UN:
		fl.l_type = F_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	if (!(op & LOCK_NB))
		kind |= FDP_LK_WAIT;
	return lock_call(fi->open_key, FDP_OP_SETLK, kind, &fl, NULL);
}

SHIM_EXPORT int flock(int fd, int op)
{
	struct shim_fdinfo fi = { 0 };
	int e = errno;

	if (likely(!shim_fd_lookup(fd, &fi)))
		return REAL(flock)(fd, op);
	return shim_result(emu_flock(&fi, op), e);
}

/* lockf(3) as glibc builds it on fcntl: a POSIX lock of @len bytes
 * from the position (negative: before it). */
static long emu_lockf(int fd, const struct shim_fdinfo *fi, int cmd,
		      int64_t len)
{
	struct flock fl = { .l_whence = SEEK_CUR, .l_len = len };
	long r;

	switch (cmd) {
	case F_TEST:
		fl.l_type = F_RDLCK;
		r = shim_lock_fcntl(fd, fi, F_GETLK, &fl);
		if (r < 0)
			return r;
		if (fl.l_type == F_UNLCK || fl.l_pid == getpid())
			return 0;
		return -EACCES;
	case F_ULOCK:
		fl.l_type = F_UNLCK;
		return shim_lock_fcntl(fd, fi, F_SETLK, &fl);
	case F_LOCK:
		fl.l_type = F_WRLCK;
		return shim_lock_fcntl(fd, fi, F_SETLKW, &fl);
	case F_TLOCK:
		fl.l_type = F_WRLCK;
		return shim_lock_fcntl(fd, fi, F_SETLK, &fl);
	}
	return -EINVAL;
}

#define WRAP_LOCKF(name, off_t_)					\
SHIM_EXPORT int name(int fd, int cmd, off_t_ len)			\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
									\
	if (likely(!shim_fd_lookup(fd, &fi)))				\
		return REAL(name)(fd, cmd, len);			\
	return shim_result(emu_lockf(fd, &fi, cmd, len), e);		\
}

WRAP_LOCKF(lockf, off_t)
WRAP_LOCKF(lockf64, off64_t)
