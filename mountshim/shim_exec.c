/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim: exec of programs and "#!" scripts stored in an emulated
 * file system, which the kernel cannot open itself.
 *
 *  - the checks execve(2) makes on the file (regular, an x bit and exec
 *    permission, not on a noexec mount), with Linux's errnos;
 *  - a "#!" script: the interpreter line parsed as binfmt_script does,
 *    the interpreter (anywhere, emulated or not) exec'd with the script's
 *    name as its argument, nested up to the kernel's depth (ELOOP past);
 *  - anything else: copied into a sealed memfd and exec'd with
 *    execveat(memfd, "", AT_EMPTY_PATH); the kernel decides between ELF,
 *    binfmt_misc and ENOEXEC.  Deliberate difference from a kernel mount:
 *    /proc/self/exe of the new program is "/memfd:NAME (deleted)" (NAME
 *    the file's base name), AT_EXECFN is "/dev/fd/N", and ld.so's $ORIGIN
 *    is "/", not the file's directory;
 *  - the new program's comm (ps, killall) is the exec'd file's base name
 *    as on Linux, not "memfd:NAME" or a script's interpreter: the name
 *    goes in $FUSEDEV_COMM, and the new program's shim sets it (and
 *    removes the variable) when it starts;
 *  - glibc's execvpe PATH search and /bin/sh fallback, done here because
 *    glibc's own calls its internal execve, which the shim cannot see;
 *  - posix_spawn of such a file: a vfork child applies the attributes and
 *    the file actions and does the exec above; its error is what
 *    posix_spawn returns, and the failed child is reaped.
 *
 * Other differences from a kernel mount: exec needs read permission too
 * (the file is read through an ordinary open), an exec'd file may be open
 * for writing elsewhere (no ETXTBSY), set-user-ID bits do nothing (as on
 * a nosuid mount), and ld.so cannot load libraries from an emulated
 * mount (it opens them with its own system calls).
 *
 * Every emulator call of an exec goes over a connection of its own, held
 * from the first check to the exec (closed before it): the files it
 * opens are read by key and never bound, and an open file nobody bound
 * is released when the connection that opened it closes.  No malloc, no
 * fd table entry: an exec may run in a vfork child, which shares the
 * parent's memory.
 */
#include "shim.h"

#include "exekind.h"

#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#ifndef MFD_EXEC
#define MFD_EXEC		0x0010U
#endif

/* Interpreter rewrites before ELOOP: exec_binprm's depth. */
#define X_MAX_DEPTH		5
/* glibc's execvp/posix_spawnp default search path (_CS_PATH). */
#define X_DEFAULT_PATH		"/bin:/usr/bin"

void *shim_real_execveat;
void *shim_real_fexecve;

extern char **environ;

/* ---- a connection of our own -------------------------------------------*/

struct xconn {
	int fd;
	uint64_t id;
};

/* One request and its reply (into @out, at most @outsz): the reply's
 * error (0, -errno, FDP_EXTERNAL) or -errno. */
static long xc_call(struct xconn *c, uint32_t op, const struct iovec *in,
		    int nin, void *out, size_t outsz, size_t *outlen)
{
	struct fdp_hdr h = { .op = op }, rh;
	struct iovec iov[6], riov[2];
	struct msghdr mh = { .msg_iov = iov };
	ssize_t n;
	int i;

	h.len = sizeof(h);
	iov[0] = (struct iovec){ &h, sizeof(h) };
	for (i = 0; i < nin && i < 5; i++) {
		iov[1 + i] = in[i];
		h.len += in[i].iov_len;
	}
	mh.msg_iovlen = 1 + i;
	h.id = ++c->id;
	while ((n = sendmsg(c->fd, &mh, MSG_NOSIGNAL)) < 0)
		if (errno != EINTR)
			return errno == EPIPE || errno == ECONNRESET ?
			       -ENOTCONN : -errno;
	for (;;) {
		riov[0] = (struct iovec){ &rh, sizeof(rh) };
		riov[1] = (struct iovec){ out, outsz };
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = riov;
		mh.msg_iovlen = outsz ? 2 : 1;
		n = REAL(recvmsg)(c->fd, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(rh))
			return -ENOTCONN;
		if (rh.id == h.id)
			break;
	}
	if (outlen)
		*outlen = n - sizeof(rh);
	if ((rh.error > 0 && rh.error != FDP_EXTERNAL) || rh.error < -4095)
		return -EIO;
	if (rh.error == 0 && (mh.msg_flags & MSG_TRUNC))
		return -EIO;
	return rh.error;
}

static void xc_close(struct xconn *c)
{
	if (c->fd >= 0)
		REAL(close)(c->fd);
	c->fd = -1;
}

static long xc_connect(struct xconn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fdp_hello hi = { .version = FDP_PROTO_VERSION }, ho = { 0 };
	struct iovec in = { &hi, sizeof(hi) };
	size_t n = 0;
	long r;

	c->id = 0;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	memcpy(sa.sun_path, shim.port, sizeof(shim.port));
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		xc_close(c);
		return -ENOTCONN;
	}
	r = xc_call(c, FDP_OP_HELLO, &in, 1, &ho, sizeof(ho), &n);
	if (r == 0 && (n < sizeof(ho) || ho.version != FDP_PROTO_VERSION))
		r = -EPROTO;
	if (r) {
		xc_close(c);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/*
 * A by-path op on rt->abs: 0 with the output in @out, -errno, or
 * SHIM_EXTERNAL with the outside path in rt->ext (which is also the
 * receive buffer: every output used here is far shorter).
 */
static long xc_path(struct xconn *c, struct shim_route *rt, uint32_t op,
		    uint32_t flags, uint32_t mode, void *out, size_t outsz)
{
	struct fdp_path_in in = { .flags = flags, .mode = mode,
				  .path_len = strlen(rt->abs),
				  .base = rt->base, .umask = shim.umask };
	struct iovec iov[2] = { { &in, sizeof(in) },
				{ rt->abs, in.path_len + 1 } };
	size_t n = 0;
	long r;

	r = xc_call(c, op, iov, 2, rt->ext, sizeof(rt->ext) - 1, &n);
	if (r == FDP_EXTERNAL) {
		if (!n || rt->ext[0] != '/')
			return -EIO;
		rt->ext[n] = '\0';
		return SHIM_EXTERNAL;
	}
	if (r < 0)
		return r;
	if (n < outsz)
		return -EIO;
	if (outsz)
		memcpy(out, rt->ext, outsz);
	return 0;
}

static long xc_file(struct xconn *c, uint32_t op, uint64_t key, int64_t off,
		    uint64_t size, void *out, size_t outsz, size_t *outlen)
{
	struct fdp_file_in in = { .open_key = key, .offset = off,
				  .size = size };
	struct iovec iov = { &in, sizeof(in) };
	long r = xc_call(c, op, &iov, 1, out, outsz, outlen);

	return r == FDP_EXTERNAL ? -EIO : r;
}

/* pread of the open file @key: what it got, or -errno. */
static ssize_t xc_pread(struct xconn *c, uint64_t key, void *buf, size_t len,
			int64_t off)
{
	size_t done = 0, n;
	long r;

	while (done < len) {
		size_t chunk = len - done;

		if (chunk > FDP_IO_MAX)
			chunk = FDP_IO_MAX;
		n = 0;
		r = xc_file(c, FDP_OP_PREAD, key, off + done, chunk,
			    (char *)buf + done, chunk, &n);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += n;
		if (n < chunk)
			break;
	}
	return done;
}

/* ---- the file to exec ----------------------------------------------------*/

/* do_open_execat's verdict on a file with attributes @a (on a mount
 * with ST_* flags @mflags): 0 or -EACCES. */
static long x_mode_ok(const struct fuse_attr *a, uint64_t mflags)
{
	if (!S_ISREG(a->mode))
		return -EACCES;
	if (mflags & ST_NOEXEC)
		return -EACCES;
	if (!(a->mode & 0111))
		return -EACCES;
	return 0;
}

static long x_mount_flags(struct xconn *c, struct shim_route *rt,
			  uint64_t key, uint64_t *flags)
{
	struct fuse_kstatfs k;
	size_t n = 0;
	long r;

	if (rt)
		r = xc_path(c, rt, FDP_OP_STATFS, 0, 0, &k, sizeof(k));
	else
		r = xc_file(c, FDP_OP_FSTATFS, key, 0, 0, &k, sizeof(k), &n);
	if (r == 0 && !rt && n < sizeof(k))
		r = -EIO;
	if (r == 0)
		*flags = k.padding;
	return r == SHIM_EXTERNAL ? -EIO : r;
}

/*
 * Open what @rt names (already routed, emulated) as exec opens it: 0 and
 * the open file's key in *@key; 1 when the walk left the mount (then
 * rt->dirfd/rt->path are the real file to exec); or -errno.
 */
static long x_open(struct xconn *c, struct shim_route *rt, bool nofollow,
		   uint64_t *key)
{
	struct fdp_stat_out st;
	struct fdp_open_out oo;
	uint64_t mflags = 0;
	int hops = 0;
	long r;

	for (;;) {
		r = xc_path(c, rt, FDP_OP_STAT,
			    nofollow ? AT_SYMLINK_NOFOLLOW : 0, 0, &st,
			    sizeof(st));
		if (r != SHIM_EXTERNAL)
			break;
		r = shim_route_external(rt, &hops);
		if (r <= 0)
			return r < 0 ? r : 1;
	}
	if (r < 0)
		return r;
	if (nofollow && S_ISLNK(st.attr.mode))
		return -ELOOP;
	r = x_mount_flags(c, rt, 0, &mflags);
	if (r < 0)
		return r;
	r = x_mode_ok(&st.attr, mflags);
	if (r < 0)
		return r;
	/* root passes with any x bit (checked above); others as the
	 * emulator rules (mode bits under default_permissions) */
	if (geteuid() != 0) {
		r = xc_path(c, rt, FDP_OP_ACCESS, AT_EACCESS, X_OK, NULL, 0);
		if (r < 0)
			return r == SHIM_EXTERNAL ? -EIO : r;
	}
	r = xc_path(c, rt, FDP_OP_OPEN,
		    O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0,
		    &oo, sizeof(oo));
	if (r < 0)
		return r == SHIM_EXTERNAL ? -ENOENT : r;
	*key = oo.open_key;
	return 0;
}

/* The same for an emulated fd (fexecve, execveat AT_EMPTY_PATH). */
static long x_open_fd(struct xconn *c, const struct shim_fdinfo *fi,
		      uint64_t *key)
{
	int acc = fi->flags & O_ACCMODE;
	bool readable = !(fi->flags & O_PATH) &&
			(acc == O_RDONLY || acc == O_RDWR);
	struct fdp_stat_out st;
	struct fdp_open_out oo;
	struct shim_route rt;
	uint64_t mflags = 0;
	bool routed;
	size_t n = 0;
	long r;

	r = xc_file(c, FDP_OP_FSTAT, fi->open_key, 0, 0, &st, sizeof(st), &n);
	if (r == 0 && n < sizeof(st))
		r = -EIO;
	if (r < 0)
		return r;
	r = x_mount_flags(c, NULL, fi->open_key, &mflags);
	if (r < 0)
		return r;
	r = x_mode_ok(&st.attr, mflags);
	if (r < 0)
		return r;
	/* by the path it was opened by: permission, or a readable open */
	routed = fi->path && fi->path[0] == '/' &&
		 shim_route(&rt, AT_FDCWD, fi->path) > 0;
	if (routed && geteuid() != 0) {
		r = xc_path(c, &rt, FDP_OP_ACCESS, AT_EACCESS, X_OK, NULL, 0);
		if (r == -EACCES)
			return r;	/* else: renamed, gone: the fd holds */
	}
	if (readable) {
		*key = fi->open_key;
		return 0;
	}
	if (!routed)
		return -EACCES;
	r = xc_path(c, &rt, FDP_OP_OPEN, O_RDONLY | O_CLOEXEC, 0, &oo,
		    sizeof(oo));
	if (r < 0)
		return r == SHIM_EXTERNAL ? -EACCES : r;
	*key = oo.open_key;
	return 0;
}

/* ---- programs the shim cannot enter -------------------------------------
 *
 * A static or Go program (or one of another ELF class) makes its own
 * system calls: the real directories show under emulated mountpoints for
 * it, and what it writes there lands in them.  Before such a program is
 * exec'd the shim says so on stderr, once per emulator (the runtime
 * directory's record of them), or refuses it (EPERM) under
 * FUSEDEV_UNSHIMMED=refuse, except a Go program built with a FUSE
 * library: a daemon, whose mount goes through the emulator's helper.  A
 * "#!" script is judged by its interpreter (one level).  What cannot be
 * read passes.  Stack only (vfork children).
 */
/* FUSEDEV_UNSHIMMED as the new program gets it (@envp), else ours. */
static int x_unshimmed_mode(char *const envp[])
{
	static const char key[] = FUSEDEV_ENV_UNSHIMMED "=";
	const char *v = NULL;
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], key, sizeof(key) - 1))
			v = envp[i] + sizeof(key) - 1;
	return fdx_policy(envp ? v : getenv(FUSEDEV_ENV_UNSHIMMED));
}

static ssize_t x_fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while ((n = REAL(pread64)(*(int *)ctx, buf, len, off)) < 0 &&
	       errno == EINTR)
		;
	return n < 0 ? -errno : n;
}

/* @msg and a newline on stderr, in one write. */
static void x_say(char *msg, size_t size)
{
	size_t n = strnlen(msg, size - 1);
	int e = errno;

	msg[n++] = '\n';
	if (REAL(write)(STDERR_FILENO, msg, n) < 0)
		(void)0;
	errno = e;
}

/* Is "@what @path" not in the runtime directory's record yet?  Then it
 * is now; true as well when there is no record to keep (another
 * user's). */
#define X_RECORD_MAX	(256 * 1024)

static bool x_first_report(const char *what, const char *path)
{
	char name[PATH_MAX + 16], buf[PATH_MAX + 4096], key[PATH_MAX + 16];
	size_t have = 0, total = 0, klen;
	bool found = false;
	char *line, *nl;
	ssize_t n;
	int fd;

	klen = snprintf(key, sizeof(key), "%s %s\n", what, path);
	if (klen >= sizeof(key))
		return true;
	snprintf(name, sizeof(name), "%s/%s", shim.dir,
		 FUSEDEV_UNSHIMMED_NAME);
	fd = REAL(open)(name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC |
			O_NOFOLLOW, 0600);
	if (fd < 0)
		return true;
	while (REAL(flock)(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	while (!found && (n = REAL(pread64)(fd, buf + have,
					    sizeof(buf) - have, total)) > 0) {
		total += n;
		have += n;
		for (line = buf; (nl = memchr(line, '\n', buf + have - line));
		     line = nl + 1) {
			if ((size_t)(nl + 1 - line) == klen &&
			    !memcmp(line, key, klen)) {
				found = true;
				break;
			}
		}
		/* a partial line waits for the rest; one too long is
		 * nobody's */
		have = buf + have - line;
		if (have == sizeof(buf))
			have = 0;
		memmove(buf, line, have);
	}
	if (!found && total < X_RECORD_MAX &&
	    REAL(write)(fd, key, klen) < 0)
		(void)0;
	REAL(close)(fd);
	return !found;
}

/*
 * fusefile: a program without the shim that inherits emulated fds must
 * see their files' size and times in fstat(2): the kernel's attributes
 * of their device inodes, kept for the shim's own uses, are dropped
 * (FUSEDEV_IOC_ATTR_INVAL), and its fstat asks the emulator.
 */
static bool x_fds_need_inval(void)
{
	return shim.mtab->transport == FUSEDEV_TRANSPORT_FUSEFILE;
}

static void x_inval_inherited(void)
{
	char buf[2048];
	long got, pos;
	int dir, fd, fl;

	if (!x_fds_need_inval())
		return;
	dir = REAL(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	while ((got = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (pos = 0; pos < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);

			pos += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			fd = atoi(d->d_name);
			fl = fd == dir ? -1 : REAL(fcntl)(fd, F_GETFD);
			if (fl >= 0 && !(fl & FD_CLOEXEC) &&
			    shim_is_device_fd(fd))
				REAL(ioctl)(fd, FUSEDEV_IOC_ATTR_INVAL);
		}
	}
	REAL(close)(dir);
}

/*
 * The program exec would run from @fd, named @shown (NULL: the fd's own
 * path), under policy @mode: 0 (said so, once, if it is one we cannot
 * enter; its inherited emulated fds made ready for it) or -EPERM.
 */
static long x_check_fd(int fd, const char *shown, int mode)
{
	unsigned int flags = mode == FDX_REFUSE ? FDX_PROBE_LIBS : 0;
	char real[PATH_MAX], proc[40], msg[PATH_MAX + 256];
	struct shim_route rt;
	struct fdx_probe p;
	int ifd = -1;
	long r = 0;
	ssize_t n;

	if (fdx_probe(x_fd_read, &fd, flags, &p) < 0)
		return 0;
	if (p.kind == FDX_SCRIPT) {
		/* its interpreter is what runs: a real one, judged here */
		if (p.interp[0] != '/' || shim_route(&rt, AT_FDCWD,
						     p.interp) != 0)
			return 0;
		ifd = REAL(open)(p.interp, O_RDONLY | O_CLOEXEC);
		if (ifd < 0 || fdx_probe(x_fd_read, &ifd, flags, &p) < 0)
			goto out;
		fd = ifd;
		shown = NULL;
	}
	if (!fdx_unshimmed(p.kind))
		goto out;
	if (!shown) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, real, sizeof(real) - 1);
		real[n > 0 ? n : 0] = '\0';
		shown = real;
	}
	r = fdx_verdict(&p, mode, "libmountshim", shown, msg, sizeof(msg) - 1);
	if (r && x_first_report(r < 0 ? "refused" : "warned", shown))
		x_say(msg, sizeof(msg));
	if (r >= 0)
		x_inval_inherited();
out:
	if (ifd >= 0)
		REAL(close)(ifd);
	return r < 0 ? r : 0;
}

long shim_exec_check(int dirfd, const char *path, int flags,
		     char *const envp[])
{
	int mode = x_unshimmed_mode(envp), fd;
	struct shim_route rt;
	char proc[40], c[2];
	long r;

	/* a path the shim cannot read is the real call's to refuse */
	if (!shim_active() || !shim_peek(path, c, sizeof(c)) ||
	    (mode == FDX_ALLOW && !x_fds_need_inval()))
		return 0;
	if (!c[0] && (flags & AT_EMPTY_PATH)) {
		/* an emulated fd is judged from its memfd */
		if (shim_is_device_fd(dirfd))
			return 0;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		fd = REAL(open)(proc, O_RDONLY | O_CLOEXEC);
	} else {
		/* an emulated path too */
		if (shim_route(&rt, dirfd, path) != 0)
			return 0;
		fd = REAL(openat)(rt.dirfd, rt.path, O_RDONLY | O_CLOEXEC |
				  (flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW :
				   0));
	}
	if (fd < 0)
		return 0;
	r = x_check_fd(fd, NULL, mode);
	REAL(close)(fd);
	return r;
}

static long path_each(const char *file,
		      long (*fn)(const char *cand, void *arg), void *arg);

struct cand_check {
	char *const *envp;
	long r;
};

/* execvp's first candidate that exec would run: judged. */
static long cand_check(const char *cand, void *arg)
{
	struct cand_check *c = arg;

	if (REAL(access)(cand, X_OK) < 0)
		return 0;
	c->r = shim_exec_check(AT_FDCWD, cand, 0, c->envp);
	return 1;
}

long shim_exec_check_search(const char *file, char *const envp[])
{
	struct cand_check c = { .envp = envp };
	char f[PATH_MAX];

	/* a name the shim cannot read is the real call's to refuse */
	if (!shim_active() || !shim_peek(file, f, sizeof(f)) || !f[0] ||
	    (x_unshimmed_mode(envp) == FDX_ALLOW && !x_fds_need_inval()))
		return 0;
	if (strchr(f, '/'))
		return shim_exec_check(AT_FDCWD, f, 0, envp);
	if (strlen(f) <= NAME_MAX)
		path_each(f, cand_check, &c);
	return c.r;
}

/* ---- exec ----------------------------------------------------------------*/

struct xexec {
	struct xconn c;
	char *const *envp;
	const char *comm;		/* base name of the file exec'd */
};

#define FUSEDEV_COMM_ENV	"FUSEDEV_COMM"

/* @envp with FUSEDEV_COMM=@comm: @arr has shim_env_count(envp) + 2
 * slots, @var 32 bytes. */
static char *const *comm_env(char *const envp[], const char *comm,
			     char **arr, char *var)
{
	static const char key[] = FUSEDEV_COMM_ENV "=";
	size_t i, n = 0;

	snprintf(var, 32, "%s%.15s", key, comm);
	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], key, sizeof(key) - 1))
			arr[n++] = envp[i];
	arr[n++] = var;
	arr[n] = NULL;
	return arr;
}

#define COMM_ENV(x, out)						\
	do {								\
		size_t n_ = shim_env_count((x)->envp);			\
		char **a_ = alloca((n_ + 2) * sizeof(char *));		\
		char *v_ = alloca(32);					\
		(out) = comm_env((x)->envp, (x)->comm, a_, v_);		\
	} while (0)

/* The program a shim exec started: its comm, as Linux would set it. */
__attribute__((constructor)) static void comm_ctor(void)
{
	const char *c = getenv(FUSEDEV_COMM_ENV);
	int e = errno;

	if (!c)
		return;
	if (*c)
		prctl(PR_SET_NAME, c, 0, 0, 0);
	unsetenv(FUSEDEV_COMM_ENV);
	errno = e;
}

static int x_execveat(int fd, const char *path, char *const argv[],
		      char *const envp[], int flags)
{
	return syscall(SYS_execveat, fd, path, argv, envp, flags);
}

/* What the kernel names a task after: the last component of @path. */
static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void mfd_name(char *out, size_t size, const char *path)
{
	snprintf(out, size, "%s", *base_name(path) ? base_name(path) : path);
}

/* Copy the open file @key into a sealed memfd; @hdr holds its first
 * @got bytes already. */
static long x_memfd(struct xexec *x, uint64_t key, const char *path,
		    const char *hdr, size_t got)
{
	const unsigned int seals = F_SEAL_SEAL | F_SEAL_SHRINK |
				   F_SEAL_GROW | F_SEAL_WRITE;
	char name[250];
	int64_t off = got;
	ssize_t n, w;
	char *buf;
	int fd;
	long r = 0;

	mfd_name(name, sizeof(name), path);
	/* MFD_EXEC: executable even where vm.memfd_noexec defaults to not */
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	buf = REAL(mmap)(NULL, FDP_IO_MAX, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		REAL(close)(fd);
		return -ENOMEM;
	}
	memcpy(buf, hdr, got);
	n = got;
	for (;;) {
		char *p = buf;

		while (n > 0) {
			w = REAL(write)(fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = w < 0 ? -errno : -EIO;
				goto out;
			}
			p += w;
			n -= w;
		}
		if (off < FDX_HDR_SIZE)
			break;		/* the header was the whole file */
		n = xc_pread(&x->c, key, buf, FDP_IO_MAX, off);
		if (n < 0) {
			r = n;
			goto out;
		}
		if (n == 0)
			break;
		off += n;
	}
	if (REAL(fcntl)(fd, F_ADD_SEALS, seals) < 0)
		r = -errno;
out:
	munmap(buf, FDP_IO_MAX);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	return fd;
}

static long x_exec_memfd(struct xexec *x, uint64_t key, const char *path,
			 const char *hdr, size_t got, char *const argv[])
{
	char *const *env;
	char proc[64];
	long fd, r;
	int ro;

	fd = x_memfd(x, key, path, hdr, got);
	if (fd < 0)
		return fd;
	xc_close(&x->c);
	if (x_unshimmed_mode(x->envp) != FDX_ALLOW || x_fds_need_inval()) {
		r = x_check_fd(fd, path, x_unshimmed_mode(x->envp));
		if (r < 0) {
			REAL(close)(fd);
			return r;
		}
	}
	COMM_ENV(x, env);
	SHIM_DBG(SHIM_DBG_CLIENT, "exec %s from memfd %ld", path, fd);
	x_execveat(fd, "", argv, env, AT_EMPTY_PATH);
	r = -errno;
	if (r == -ETXTBSY) {
		/* a kernel that counts our own writable fd: a read-only one */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%ld", fd);
		ro = REAL(open)(proc, O_RDONLY | O_CLOEXEC);
		if (ro >= 0) {
			x_execveat(ro, "", argv, env, AT_EMPTY_PATH);
			r = -errno;
			REAL(close)(ro);
		}
	}
	REAL(close)(fd);
	return r;
}

static size_t argv_count(char *const argv[])
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

static long x_level(struct xexec *x, uint64_t key, bool inaccessible,
		    const char *path, char *const argv[], int depth);

/*
 * Exec the interpreter @iname of a script at @depth with @argv: emulated
 * (one level deeper), or the kernel's.
 */
static long x_interp(struct xexec *x, const char *iname, char *const argv[],
		     int depth)
{
	struct shim_route rt;
	char *const *env;
	uint64_t key;
	long r;

	r = shim_route(&rt, AT_FDCWD, iname);
	if (r > 0)
		r = x_open(&x->c, &rt, false, &key);
	else if (r == 0)
		r = 1;
	if (r < 0)
		return r;
	if (depth + 1 > X_MAX_DEPTH)
		return -ELOOP;
	if (r == 0)
		return x_level(x, key, false, iname, argv, depth + 1);
	xc_close(&x->c);
	r = shim_exec_check(AT_FDCWD, rt.path, 0, x->envp);
	if (r < 0)
		return r;
	COMM_ENV(x, env);
	SHIM_DBG(SHIM_DBG_CLIENT, "exec interpreter %s", rt.path);
	REAL(execve)(rt.path, argv, env);
	return -errno;
}

/*
 * Exec the emulated open file @key, named @path (what a script's
 * interpreter gets; @inaccessible: a name that vanishes on exec, a
 * close-on-exec /dev/fd/N).  Returns only on failure.
 */
static long x_level(struct xexec *x, uint64_t key, bool inaccessible,
		    const char *path, char *const argv[], int depth)
{
	char hdr[FDX_HDR_SIZE + 1], *iname, *iarg;
	size_t argc = argv_count(argv), i, k = 0;
	char **nargv;
	ssize_t got;
	long r;

	memset(hdr, 0, sizeof(hdr));
	got = xc_pread(&x->c, key, hdr, FDX_HDR_SIZE, 0);
	if (got < 0)
		return got;
	if (got < 2 || hdr[0] != '#' || hdr[1] != '!')
		return x_exec_memfd(x, key, path, hdr, got, argv);
	r = fdx_parse_interp(hdr, &iname, &iarg);
	if (r < 0)
		return r;
	if (inaccessible)
		return -ENOENT;
	/* the interpreter, its argument, the script, argv[1...] */
	nargv = alloca((argc + 4) * sizeof(char *));
	nargv[k++] = iname;
	if (iarg)
		nargv[k++] = iarg;
	nargv[k++] = (char *)path;
	for (i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	SHIM_DBG(SHIM_DBG_CLIENT, "exec %s: interpreter %s%s%s", path, iname,
		 iarg ? " " : "", iarg ? iarg : "");
	return x_interp(x, iname, nargv, depth);
}

long shim_exec(int dirfd, const char *path, char *const argv[],
	       char *const envp[], int flags, struct shim_route *rt)
{
	struct shim_fdinfo fi = { 0 };
	char fdpath[FUSEDEV_PATH_MAX];
	char name[FUSEDEV_PATH_MAX + 32];
	struct xexec x = { .c = { .fd = -1 }, .envp = envp };
	bool inaccessible = false;
	const char *shown = path;
	uint64_t key;
	long r;

	rt->dirfd = dirfd;
	rt->path = path;
	if (!shim_have_mounts())
		return 1;
	if ((flags & AT_EMPTY_PATH) && shim_empty_str(path)) {
		fi.path = fdpath;
		if (!shim_fd_lookup(dirfd, &fi))
			return 1;
		if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -EINVAL;
		snprintf(name, sizeof(name), "/dev/fd/%d", dirfd);
		shown = name;
		x.comm = base_name(fdpath);
		r = REAL(fcntl)(dirfd, F_GETFD);
		inaccessible = r < 0 || (r & FD_CLOEXEC);
		r = xc_connect(&x.c);
		if (r == 0)
			r = x_open_fd(&x.c, &fi, &key);
	} else {
		r = shim_route(rt, dirfd, path);
		if (r <= 0)
			return r < 0 ? r : 1;
		if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -EINVAL;
		x.comm = base_name(path);
		if (dirfd != AT_FDCWD && path[0] != '/') {
			snprintf(name, sizeof(name), "/dev/fd/%d/%s", dirfd,
				 path);
			shown = name;
			r = REAL(fcntl)(dirfd, F_GETFD);
			inaccessible = r < 0 || (r & FD_CLOEXEC);
		}
		r = xc_connect(&x.c);
		if (r == 0)
			r = x_open(&x.c, rt, flags & AT_SYMLINK_NOFOLLOW, &key);
	}
	if (r == 0)
		r = x_level(&x, key, inaccessible, shown, argv, 0);
	xc_close(&x.c);
	SHIM_DBG(SHIM_DBG_CLIENT, "exec %s: %s", path,
		 r == 1 ? "outside" : strerror(-r));
	return r;
}

/*
 * A real script whose interpreter is emulated: the kernel said ENOENT
 * (it cannot find the interpreter).  Exec the interpreter ourselves;
 * -ENOENT again when that is not the case.
 */
static long x_real_script(const char *path, char *const argv[],
			  char *const envp[])
{
	struct xexec x = { .c = { .fd = -1 }, .envp = envp,
			   .comm = base_name(path) };
	char hdr[FDX_HDR_SIZE + 1], *iname, *iarg;
	size_t argc = argv_count(argv), i, k = 0;
	struct shim_route rt;
	char **nargv;
	ssize_t got;
	long r;
	int fd;

	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	memset(hdr, 0, sizeof(hdr));
	got = REAL(pread)(fd, hdr, FDX_HDR_SIZE, 0);
	REAL(close)(fd);
	if (got < 2 || hdr[0] != '#' || hdr[1] != '!' ||
	    fdx_parse_interp(hdr, &iname, &iarg) < 0 ||
	    shim_route(&rt, AT_FDCWD, iname) <= 0)
		return -ENOENT;
	nargv = alloca((argc + 4) * sizeof(char *));
	nargv[k++] = iname;
	if (iarg)
		nargv[k++] = iarg;
	nargv[k++] = (char *)path;
	for (i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	r = xc_connect(&x.c);
	if (r == 0)
		r = x_interp(&x, iname, nargv, 0);
	xc_close(&x.c);
	return r;
}

long shim_exec_path(const char *path, char *const argv[], char *const envp[])
{
	struct shim_route rt;
	long r = shim_exec(AT_FDCWD, path, argv, envp, 0, &rt);

	if (r != 1)
		return r;
	r = shim_exec_check(rt.dirfd, rt.path, 0, envp);
	if (r < 0)
		return r;
	REAL(execve)(rt.path, argv, envp);
	r = -errno;
	if (r == -ENOENT && shim_have_mounts() && rt.path)
		r = x_real_script(rt.path, argv, envp);
	return r;
}

/* ---- execvpe -------------------------------------------------------------*/

/* glibc's fallback for ENOEXEC: /bin/sh FILE ARGS... */
static long x_exec_sh(const char *file, char *const argv[],
		      char *const envp[])
{
	size_t argc = argv_count(argv), i, k = 0;
	char **nargv = alloca((argc + 3) * sizeof(char *));

	nargv[k++] = (char *)"/bin/sh";
	nargv[k++] = (char *)file;
	for (i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	return shim_exec_path("/bin/sh", nargv, envp);
}

/* Calls @fn on each candidate of glibc's PATH search for @file until it
 * returns nonzero: that value, else 0. */
static long path_each(const char *file,
		      long (*fn)(const char *cand, void *arg), void *arg)
{
	const char *path = getenv("PATH"), *p, *e;
	size_t flen = strlen(file), dlen;
	char *cand;
	long r;

	if (!path)
		path = X_DEFAULT_PATH;
	cand = alloca(strnlen(path, PATH_MAX) + flen + 2);
	for (p = path;; p = e + 1) {
		e = strchrnul(p, ':');
		dlen = e - p;
		if (dlen < PATH_MAX) {
			memcpy(cand, p, dlen);
			if (dlen)
				cand[dlen++] = '/';
			memcpy(cand + dlen, file, flen + 1);
			r = fn(cand, arg);
			if (r)
				return r;
		}
		if (!*e)
			return 0;
	}
}

static long cand_routed(const char *cand, void *arg)
{
	struct shim_route rt;

	(void)arg;
	return shim_route(&rt, AT_FDCWD, cand) != 0;
}

bool shim_exec_ours(const char *file, bool search)
{
	char name[PATH_MAX];
	struct shim_route rt;

	if (!shim_have_mounts())
		return false;
	if (!search)
		return shim_route(&rt, AT_FDCWD, file) != 0;
	/* a name that cannot be read is the C library's to refuse */
	if (!shim_peek(file, name, sizeof(name)))
		return false;
	if (strchr(name, '/'))
		return shim_route(&rt, AT_FDCWD, file) != 0;
	if (!*name || strlen(name) > NAME_MAX)
		return false;
	return path_each(name, cand_routed, NULL) != 0;
}

struct search {
	char *const *argv, *const *envp;
	bool shell, eacces;
	long err;
};

static long cand_exec(const char *cand, void *arg)
{
	struct search *s = arg;
	long r = shim_exec_path(cand, s->argv, s->envp);

	if (r == -ENOEXEC && s->shell)
		r = x_exec_sh(cand, s->argv, s->envp);
	switch (r) {
	case -EACCES:
		s->eacces = true;
		/* fall through */
	case -ENOENT:
	case -ESTALE:
	case -ENOTDIR:
	case -ENODEV:
	case -ETIMEDOUT:
		return 0;		/* try the next directory */
	}
	s->err = r;
	return 1;
}

long shim_execvpe(const char *file, char *const argv[], char *const envp[],
		  bool shell)
{
	struct search s = { .argv = argv, .envp = envp, .shell = shell };
	long r;

	if (!*file)
		return -ENOENT;
	if (strchr(file, '/')) {
		r = shim_exec_path(file, argv, envp);
		if (r == -ENOEXEC && shell)
			r = x_exec_sh(file, argv, envp);
		return r;
	}
	if (strlen(file) > NAME_MAX)
		return -ENAMETOOLONG;
	if (path_each(file, cand_exec, &s))
		return s.err;
	return s.eacces ? -EACCES : -ENOENT;
}

/* ---- posix_spawn ---------------------------------------------------------
 *
 * The file actions are read from glibc's (private, but stable since
 * 2.34) layout, checked once against a probe; the attributes through
 * their getters.
 */
struct glibc_spawn_action {
	int tag;
	union {
		struct { int fd; } close_action;
		struct { int fd; int newfd; } dup2_action;
		struct {
			int fd;
			char *path;
			int oflag;
			mode_t mode;
		} open_action;
		struct { char *path; } chdir_action;
		struct { int fd; } fchdir_action;
		struct { int from; } closefrom_action;
		struct { int fd; } tcsetpgrp_action;
	} action;
};

struct glibc_file_actions {
	int allocated;
	int used;
	struct glibc_spawn_action *actions;
	int pad[16];
};

_Static_assert(sizeof(struct glibc_file_actions) ==
	       sizeof(posix_spawn_file_actions_t), "glibc spawn actions");

enum {
	SA_CLOSE, SA_DUP2, SA_OPEN, SA_CHDIR, SA_FCHDIR, SA_CLOSEFROM,
	SA_TCSETPGRP,
};

static bool actions_layout_ok(void)
{
	static int ok = -1;
	posix_spawn_file_actions_t fa;
	struct glibc_file_actions *g = (void *)&fa;

	if (ok >= 0)
		return ok;
	ok = 0;
	if (posix_spawn_file_actions_init(&fa))
		return false;
	/* fds below any RLIMIT_NOFILE: glibc refuses numbers past it */
	if (!posix_spawn_file_actions_addclose(&fa, 7) &&
	    !posix_spawn_file_actions_adddup2(&fa, 5, 6) && g->used == 2 &&
	    g->actions[0].tag == SA_CLOSE &&
	    g->actions[0].action.close_action.fd == 7 &&
	    g->actions[1].tag == SA_DUP2 &&
	    g->actions[1].action.dup2_action.fd == 5 &&
	    g->actions[1].action.dup2_action.newfd == 6)
		ok = 1;
	posix_spawn_file_actions_destroy(&fa);
	return ok;
}

bool shim_spawn_actions_ours(const posix_spawn_file_actions_t *fa)
{
	const struct glibc_file_actions *g = (const void *)fa;
	struct shim_route rt;
	int i;

	if (!fa || !shim_have_mounts() || !actions_layout_ok())
		return false;
	for (i = 0; i < g->used && i < g->allocated; i++)
		if (g->actions[i].tag == SA_OPEN &&
		    shim_route(&rt, AT_FDCWD,
			       g->actions[i].action.open_action.path) != 0)
			return true;
	return false;
}

/* open(2) of an emulated path for a child: a bound device fd that is
 * in no fd table (the exec'd program's shim adopts it). */
static long x_open_bound(struct shim_route *rt, int flags, mode_t mode)
{
	struct xconn c = { .fd = -1 };
	struct fdp_open_out oo;
	int hops = 0;
	long r, fd;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		mode &= 07777;	/* the emulator applies the umask */
	else
		mode = 0;
	r = xc_connect(&c);
	if (r < 0)
		return r;
	for (;;) {
		r = xc_path(&c, rt, FDP_OP_OPEN, flags, mode, &oo, sizeof(oo));
		if (r != SHIM_EXTERNAL)
			break;
		r = shim_route_external(rt, &hops);
		if (r <= 0) {
			xc_close(&c);
			if (r < 0)
				return r;
			fd = REAL(open)(rt->path, flags, mode);
			return fd < 0 ? -errno : fd;
		}
	}
	if (r == 0) {
		fd = shim_open_client_device(flags & O_CLOEXEC);
		if (fd >= 0 &&
		    REAL(ioctl)(fd, FUSEDEV_IOC_BIND, &oo.open_key) < 0) {
			r = -errno;
			REAL(close)(fd);
		} else {
			r = fd;
		}
	}
	xc_close(&c);
	return r;
}

static long action_open(int fd, const char *path, int flags, mode_t mode)
{
	struct shim_route rt;
	long r, nfd;

	/* the target goes first (POSIX; glibc does so too) */
	REAL(close)(fd);
	r = shim_route(&rt, AT_FDCWD, path);
	if (r < 0)
		return r;
	if (r > 0) {
		nfd = x_open_bound(&rt, flags, mode);
		if (nfd < 0)
			return nfd;
	} else {
		nfd = REAL(open)(path, flags, mode);
		if (nfd < 0)
			return -errno;
	}
	if (nfd != fd) {
		r = REAL(dup2)(nfd, fd) < 0 ? -errno : 0;
		REAL(close)(nfd);
		if (r < 0)
			return r;
	}
	return 0;
}

int shim_spawn_actions(const posix_spawn_file_actions_t *fa)
{
	const struct glibc_file_actions *g = (const void *)fa;
	int i, fl;
	long r;

	if (!fa)
		return 0;
	if (!actions_layout_ok())
		return -ENOSYS;	/* a glibc we cannot read: never ignore them */
	if (g->used < 0 || g->used > g->allocated)
		return -EINVAL;
	for (i = 0; i < g->used; i++) {
		const struct glibc_spawn_action *s = &g->actions[i];

		switch (s->tag) {
		case SA_CLOSE:
			/* only a bad number is an error, as glibc has it */
			if (REAL(close)(s->action.close_action.fd) < 0 &&
			    errno == EBADF && s->action.close_action.fd < 0)
				return -EBADF;
			break;
		case SA_DUP2:
			if (s->action.dup2_action.fd ==
			    s->action.dup2_action.newfd) {
				fl = REAL(fcntl)(s->action.dup2_action.fd,
						 F_GETFD);
				if (fl < 0)
					return -errno;
				REAL(fcntl)(s->action.dup2_action.fd, F_SETFD,
					    fl & ~FD_CLOEXEC);
				break;
			}
			if (REAL(dup2)(s->action.dup2_action.fd,
				       s->action.dup2_action.newfd) < 0)
				return -errno;
			break;
		case SA_OPEN:
			r = action_open(s->action.open_action.fd,
					s->action.open_action.path,
					s->action.open_action.oflag,
					s->action.open_action.mode);
			if (r < 0)
				return r;
			break;
		case SA_CHDIR:
			if (REAL(chdir)(s->action.chdir_action.path) < 0)
				return -errno;
			break;
		case SA_FCHDIR:
			if (REAL(fchdir)(s->action.fchdir_action.fd) < 0)
				return -errno;
			break;
		case SA_CLOSEFROM:
			REAL(close_range)(s->action.closefrom_action.from, ~0u,
					  0);
			break;
		case SA_TCSETPGRP:
			if (tcsetpgrp(s->action.tcsetpgrp_action.fd,
				      getpgrp()) < 0)
				return -errno;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/* The attributes, in glibc's order; signals are all blocked meanwhile. */
static long spawn_attrs(const posix_spawnattr_t *attr)
{
	struct sched_param sp;
	short flags = 0;
	sigset_t def;
	int sig, pol;

	if (attr)
		posix_spawnattr_getflags(attr, &flags);
	sigemptyset(&def);
	if (flags & POSIX_SPAWN_SETSIGDEF)
		posix_spawnattr_getsigdefault(attr, &def);
	/* a handler would run on memory the parent still uses */
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sigismember(&def, sig) ||
		    (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigemptyset(&sa.sa_mask);
			sigaction(sig, &sa, NULL);
		}
	}
	if (flags & (POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSCHEDPARAM)) {
		posix_spawnattr_getschedparam(attr, &sp);
		posix_spawnattr_getschedpolicy(attr, &pol);
		if ((flags & POSIX_SPAWN_SETSCHEDULER) ?
		    sched_setscheduler(0, pol, &sp) < 0 :
		    sched_setparam(0, &sp) < 0)
			return -errno;
	}
	if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
		return -errno;
	if (flags & POSIX_SPAWN_SETPGROUP) {
		pid_t pg = 0;

		posix_spawnattr_getpgroup(attr, &pg);
		if (setpgid(0, pg) < 0)
			return -errno;
	}
	/* raw calls: glibc's setuid() would signal the parent's threads */
	if ((flags & POSIX_SPAWN_RESETIDS) &&
	    (syscall(SYS_setresgid, -1, getgid(), -1) < 0 ||
	     syscall(SYS_setresuid, -1, getuid(), -1) < 0))
		return -errno;
	return 0;
}

struct spawn_args {
	const char *file;
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
	char *const *argv, *const *envp;
	sigset_t oldmask;
	bool search;
	volatile int err;
};

static __attribute__((noreturn)) void spawn_child(struct spawn_args *a)
{
	char *const *env;
	short flags = 0;
	sigset_t mask;
	long r;

	r = spawn_attrs(a->attr);
	if (r == 0)
		r = shim_spawn_actions(a->fa);
	if (r == 0) {
		mask = a->oldmask;
		if (a->attr)
			posix_spawnattr_getflags(a->attr, &flags);
		if (flags & POSIX_SPAWN_SETSIGMASK)
			posix_spawnattr_getsigmask(a->attr, &mask);
		SHIM_CWD_ENV(a->envp, env);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
		r = a->search ? shim_execvpe(a->file, a->argv, env, false) :
				shim_exec_path(a->file, a->argv, env);
	}
	a->err = r < 0 ? (int)-r : ENOEXEC;
	_exit(127);
}

int shim_spawn(pid_t *pid, const char *file,
	       const posix_spawn_file_actions_t *fa,
	       const posix_spawnattr_t *attr, char *const argv[],
	       char *const envp[], bool search)
{
	struct spawn_args a = {
		.file = file, .fa = fa, .attr = attr, .argv = argv,
		.envp = envp ? envp : environ, .search = search,
	};
	int e = errno, err;
	sigset_t all;
	pid_t c;

	if (fa)
		actions_layout_ok();	/* its probe allocates: not in the child */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &a.oldmask);
	a.err = 0;
	c = vfork();
	if (c == 0)
		spawn_child(&a);
	err = c < 0 ? errno : a.err;
	pthread_sigmask(SIG_SETMASK, &a.oldmask, NULL);
	if (c > 0 && err)
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
	if (!err && pid)
		*pid = c;
	errno = e;
	return err;
}
