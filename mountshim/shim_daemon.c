/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim, daemon side: what a FUSE daemon does to get mounted and
 * to talk to /dev/fuse, redirected to the emulator.
 *
 *  - open("/dev/fuse") opens the emulated device (shim_client.c's open
 *    wrappers);
 *  - mount(2) of a fuse type registers the mount with the emulator
 *    (FDP_OP_MOUNT); umount(2)/umount2(2) of an emulated mountpoint
 *    unregisters it;
 *  - fusermount3/fusermount, which libfuse runs for unprivileged mounts,
 *    unmounts and auto_unmount (fork + exec in libfuse 3.14 and 2.9,
 *    posix_spawn in later releases): the helper's job is done in-process,
 *    in the child the program was about to replace or spawn;
 *  - FUSE_DEV_IOC_CLONE becomes FUSEDEV_IOC_CLONE_KEY (the fusefile
 *    transport never sees the clone's argument);
 *  - splice(2) from and to the device, which libfuse uses whenever the
 *    daemon has write_buf, served with read/write.
 */
#include "shim.h"

#include "config.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

extern char **environ;

#define FUSERMOUNT_VERSION	"3.14.0"

/* ---- mount(2), umount(2) ------------------------------------------------ */

static bool fuse_fstype(const char *t)
{
	return t && (!strcmp(t, "fuse") || !strcmp(t, "fuseblk") ||
		     !strncmp(t, "fuse.", 5) || !strncmp(t, "fuseblk.", 8));
}

/* Value of option @key in comma-separated @data into @val. */
static bool opt_value(const char *data, const char *key, char *val,
		      size_t size)
{
	size_t klen = strlen(key), n;
	const char *p = data;

	while (p && *p) {
		n = strcspn(p, ",");
		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			n -= klen + 1;
			if (n >= size)
				return false;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			return true;
		}
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/*
 * The mount target as the kernel would take it: it must exist and be a
 * directory exactly when the root is (graft_tree's ENOTDIR); canonical
 * into @canon.  @rootmode 0 takes any type (fusermount3 makes the root's
 * the mountpoint's); *@type gets the mountpoint's.
 */
static long mount_target(const char *target, mode_t rootmode, char *canon,
			 mode_t *type)
{
	struct shim_route rt;
	struct fdp_stat_out o;
	mode_t mode;
	long r;

	r = shim_route(&rt, AT_FDCWD, target);
	if (r < 0)
		return r;
	if (r > 0) {
		/* on top of (inside) an emulated mount */
		r = shim_realpath(target, canon);
		if (r < 0)
			return r;
		r = shim_route(&rt, AT_FDCWD, canon);
		if (r <= 0)
			return r < 0 ? r : -ENOENT;
		r = shim_client_stat(&rt, 0, &o);
		if (r < 0)
			return r == SHIM_EXTERNAL ? -EXDEV : r;
		mode = o.attr.mode;
	} else {
		struct stat st;

		if (REAL(stat)(target, &st) < 0)
			return -errno;
		if (!REAL(realpath)(target, canon))
			return -errno;
		mode = st.st_mode;
	}
	if (rootmode && S_ISDIR(mode) != S_ISDIR(rootmode))
		return -ENOTDIR;
	*type = mode & S_IFMT;
	return 0;
}

static long send_mount(uint64_t key, unsigned long flags, const char *fstype,
		       const char *source, const char *target,
		       const char *data)
{
	struct fdp_mount_in in = {
		.dev_key = key, .mountflags = flags,
		.fstype_len = strlen(fstype), .source_len = strlen(source),
		.target_len = strlen(target), .data_len = strlen(data),
	};
	struct shim_call c = { .op = FDP_OP_MOUNT };
	long r;

	c.in[c.nin++] = (struct iovec){ &in, sizeof(in) };
	c.in[c.nin++] = (struct iovec){ (void *)fstype, in.fstype_len + 1 };
	c.in[c.nin++] = (struct iovec){ (void *)source, in.source_len + 1 };
	c.in[c.nin++] = (struct iovec){ (void *)target, in.target_len + 1 };
	c.in[c.nin++] = (struct iovec){ (void *)data, in.data_len + 1 };
	r = shim_port_call(&c);
	if (r == FDP_EXTERNAL)
		r = -EIO;
	SHIM_DBG(SHIM_DBG_DAEMON, "mount %s %s on %s (%s): %ld", fstype,
		 source, target, data, r);
	return r;
}

static long emu_mount(const char *source, const char *target,
		      const char *fstype, unsigned long flags,
		      const char *data)
{
	char val[32], canon[PATH_MAX];
	struct fusedev_whoami who;
	mode_t rootmode = S_IFDIR, type;
	char *end;
	long fd, r;

	/* What the kernel tells an unprivileged caller: libfuse then
	 * falls back to fusermount3, which we emulate too. */
	if (geteuid() != 0)
		return -EPERM;
	if (!data || !opt_value(data, "fd", val, sizeof(val)))
		return -EINVAL;
	fd = strtol(val, &end, 10);
	if (*end || fd < 0 || fd > INT_MAX)
		return -EINVAL;
	if (shim_whoami(fd, &who) < 0)
		return -EINVAL;
	if (opt_value(data, "rootmode", val, sizeof(val)))
		rootmode = strtoul(val, NULL, 8);
	r = mount_target(target, rootmode, canon, &type);
	if (r < 0)
		return r;
	return send_mount(who.key, flags, fstype, source ? source : "", canon,
			  data);
}

SHIM_EXPORT int mount(const char *source, const char *target,
		      const char *fstype, unsigned long flags, const void *data)
{
	char type[256], *src = NULL, *opts = NULL;
	int e = errno;
	long r;

	/* the strings as the kernel copies them (copy_mount_string): one
	 * that cannot be read is the kernel's EFAULT */
	if (likely(!shim_active() ||
		   (flags & (MS_REMOUNT | MS_BIND | MS_MOVE))) ||
	    !shim_peek(fstype, type, sizeof(type)) || !fuse_fstype(type))
		return REAL(mount)(source, target, fstype, flags, data);
	r = -ENOMEM;
	if ((source && !(src = malloc(PATH_MAX))) ||
	    (data && !(opts = malloc(4096))))
		goto out;
	if ((src && !shim_peek(source, src, PATH_MAX)) ||
	    (opts && !shim_peek(data, opts, 4096))) {
		free(src);
		free(opts);
		return REAL(mount)(source, target, fstype, flags, data);
	}
	r = emu_mount(src, target, type, flags, opts);
out:
	free(src);
	free(opts);
	return shim_result(r, e);
}

static long emu_umount(struct shim_route *rt, int flags)
{
	size_t n = strlen(rt->abs);

	while (n > 1 && rt->abs[n - 1] == '/')
		rt->abs[--n] = '\0';
	SHIM_DBG(SHIM_DBG_DAEMON, "umount %s flags %#x", rt->abs, flags);
	return shim_op_path(rt, FDP_OP_UMOUNT, NULL, flags, 0, 0, NULL, 0,
			    NULL, 0, NULL);
}

SHIM_EXPORT int umount(const char *target)
{
	SHIM_PATHCALL(int, AT_FDCWD, target, REAL(umount)(rt.path),
		      emu_umount(&rt, 0));
}

SHIM_EXPORT int umount2(const char *target, int flags)
{
	SHIM_PATHCALL(int, AT_FDCWD, target, REAL(umount2)(rt.path, flags),
		      emu_umount(&rt, flags));
}

/* ---- ioctl: FUSE_DEV_IOC_CLONE; an emulated file's are the client's ---- */

static long emu_clone(int fd, const void *arg)
{
	struct fusedev_whoami who;
	uint32_t oldfd;

	if (shim_copy_from_user(&oldfd, arg, sizeof(oldfd)))
		return -EFAULT;
	if (shim_whoami(oldfd, &who) < 0)
		return -EINVAL;
	if (REAL(ioctl)(fd, FUSEDEV_IOC_CLONE_KEY, &who.key) < 0)
		return -errno;
	SHIM_DBG(SHIM_DBG_DAEMON, "clone fd %d from fd %u", fd, oldfd);
	return 0;
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct shim_fdinfo fi = { 0 };
	int e = errno;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (unlikely(shim_fd_lookup(fd, &fi)))
		return shim_result(shim_client_ioctl(fd, &fi, req, arg), e);
	if (unlikely(req == FUSE_DEV_IOC_CLONE) && shim_is_device_fd(fd))
		return shim_result(emu_clone(fd, arg), e);
	return REAL(ioctl)(fd, req, arg);
}

/*
 * A zero-length write() to the device never reaches the emulator: the
 * kernel's FUSE/CUSE file layer returns 0 for it.  Linux's /dev/fuse
 * says EINVAL (shorter than fuse_out_header), so say it here.
 */
/*
 * A zero-length write() never reaches the device (the kernel's file layer
 * answers 0), so Linux's /dev/fuse EINVAL is given here for a daemon's
 * device; a client's emulated file gives what a file gives: 0, or EBADF
 * when not open for writing.
 */
SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	struct shim_fdinfo fi = { 0 };

	if (likely(count) || !shim_is_device_fd(fd))
		return REAL(write)(fd, buf, count);
	if (shim_fd_lookup(fd, &fi)) {
		if ((fi.flags & O_ACCMODE) == O_RDONLY || (fi.flags & O_PATH)) {
			errno = EBADF;
			return -1;
		}
		return 0;
	}
	errno = EINVAL;
	return -1;
}

/* ---- splice ------------------------------------------------------------- */

struct splice_buf {
	char *p;
	size_t size;
};

static __thread struct splice_buf sbuf;
static pthread_key_t sbuf_key;
static pthread_once_t sbuf_once = PTHREAD_ONCE_INIT;

static void sbuf_free(void *p)
{
	struct splice_buf *b = p;

	free(b->p);
	b->p = NULL;
	b->size = 0;
}

static void sbuf_key_init(void)
{
	pthread_key_create(&sbuf_key, sbuf_free);
}

static char *splice_buffer(size_t len)
{
	char *p;

	if (sbuf.size >= len)
		return sbuf.p;
	pthread_once(&sbuf_once, sbuf_key_init);
	p = realloc(sbuf.p, len);
	if (!p)
		return NULL;
	sbuf.p = p;
	sbuf.size = len;
	pthread_setspecific(sbuf_key, &sbuf);
	return p;
}

static int wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * Device -> pipe: one read of the device is one whole request, as one
 * splice of /dev/fuse is; all of it goes into the pipe (libfuse sized
 * the pipe for it).
 */
static long splice_from_dev(int in, int out, loff_t *off_out, size_t len)
{
	size_t done = 0;
	ssize_t n, w;
	char *buf;

	buf = splice_buffer(len);
	if (!buf)
		return -ENOMEM;
	n = read(in, buf, len);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	while (done < (size_t)n) {
		w = off_out ? REAL(pwrite64)(out, buf + done, n - done,
					     *off_out + done) :
			      write(out, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && wait_fd(out, POLLOUT) == 0)
			continue;
		if (w <= 0)
			return done ? (long)done : (w < 0 ? -errno : -EIO);
		done += w;
	}
	if (off_out)
		*off_out += done;
	return done;
}

/* Pipe -> device: what the pipe holds, up to @len, in ONE device write. */
static long splice_to_dev(int in, loff_t *off_in, int out, size_t len,
			  unsigned int flags)
{
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	size_t got = 0;
	ssize_t n;
	char *buf;

	buf = splice_buffer(len);
	if (!buf)
		return -ENOMEM;
	while (got < len) {
		n = off_in ? REAL(pread64)(in, buf + got, len - got,
					   *off_in + got) :
			     read(in, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !got &&
		    !(flags & SPLICE_F_NONBLOCK) && wait_fd(in, POLLIN) == 0)
			continue;
		if (n < 0 && (errno != EAGAIN || !got))
			return -errno;
		if (n <= 0)
			break;
		got += n;
		/* more only if it is already there */
		if (off_in || poll(&pfd, 1, 0) != 1)
			break;
	}
	if (!got)
		return 0;
	if (off_in)
		*off_in += got;
	n = write(out, buf, got);
	return n < 0 ? -errno : n;
}

/*
 * splice with an explicit offset on an emulated client file: the device
 * has no position to splice at, so the data goes by the open file's key
 * (one pread into the pipe, or what the pipe holds in one pwrite).
 */
static long splice_client_at(int in, loff_t *off_in, int out,
			     loff_t *off_out, size_t len, unsigned int flags)
{
	struct shim_fdinfo fi = { 0 };
	struct fdp_size_out o;
	size_t done = 0, nn = 0;
	loff_t pos;
	ssize_t n, w;
	char *buf;
	long r;

	/* the caller's offset: read first, written back (EFAULT) */
	if (shim_copy_from_user(&pos, off_in ? off_in : off_out, sizeof(pos)))
		return -EFAULT;
	buf = splice_buffer(len);
	if (!buf)
		return -ENOMEM;
	if (off_in) {
		if (!shim_fd_lookup(in, &fi))
			return -ESPIPE;
		n = shim_client_pread(fi.open_key, buf, len, pos);
		if (n <= 0)
			return n;
		while (done < (size_t)n) {
			w = write(out, buf + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN &&
			    !(flags & SPLICE_F_NONBLOCK) &&
			    wait_fd(out, POLLOUT) == 0)
				continue;
			if (w <= 0)
				break;
			done += w;
		}
		pos += done;
		if (shim_copy_to_user(off_in, &pos, sizeof(pos)))
			return -EFAULT;
		return done ? (long)done : -errno;
	}
	if (!shim_fd_lookup(out, &fi))
		return -ESPIPE;
	for (;;) {
		n = read(in, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !(flags & SPLICE_F_NONBLOCK) &&
		    wait_fd(in, POLLIN) == 0)
			continue;
		break;
	}
	if (n <= 0)
		return n < 0 ? -errno : 0;
	r = shim_op_file(FDP_OP_PWRITE, fi.open_key, pos, 0, 0, 0, buf, n,
			 &o, sizeof(o), &nn);
	if (r == 0 && nn < sizeof(o))
		r = -EIO;
	if (r < 0)
		return r;
	pos += o.size;
	if (shim_copy_to_user(off_out, &pos, sizeof(pos)))
		return -EFAULT;
	return o.size;
}

SHIM_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out,
			   size_t len, unsigned int flags)
{
	int e = errno;
	long r;

	static bool said;

	if (likely(!shim_active()))
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	if (!said && (shim_is_device_fd(in) || shim_is_device_fd(out))) {
		said = true;
		SHIM_DBG(SHIM_DBG_DAEMON, "splice on the device: served with "
			 "read/write");
	}
	if (shim_is_device_fd(in)) {
		r = off_in ? splice_client_at(in, off_in, out, NULL, len,
					      flags) :
			     splice_from_dev(in, out, off_out, len);
	} else if (shim_is_device_fd(out)) {
		r = off_out ? splice_client_at(in, NULL, out, off_out, len,
					       flags) :
			      splice_to_dev(in, off_in, out, len, flags);
	} else {
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	}
	return shim_result(r, e);
}

/* ---- fusermount emulation ------------------------------------------------
 *
 * The helper's job as fusermount(1) does it: -o OPTS, -u, -q, -z,
 * --auto-unmount, --sync-init, -V, -h, then the mountpoint; the device fd
 * goes back over $_FUSE_COMMFD with SCM_RIGHTS and one data byte.
 * It runs in the child the program forked (or we forked for posix_spawn)
 * and ends with _exit: no state of ours survives it.
 */
struct fm_args {
	const char *prog;		/* "fusermount3" or "fusermount" */
	const char *name;		/* argv[0] as given, for messages */
	const char *opts;
	const char *mnt;
	bool unmount, quiet, lazy, auto_only, sync_init, extra;
};

static void fm_err(const struct fm_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fm_err(const struct fm_args *a, const char *fmt, ...)
{
	char buf[PATH_MAX + 256];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%.*s: ", PATH_MAX, a->name);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		(void)0;
}

static void fm_out(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		(void)0;
}

static const char *base_name(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

static bool is_fusermount(const char *path)
{
	char name[PATH_MAX];
	const char *b;

	/* a path that cannot be read is the real call's to refuse */
	if (!shim_active() || !shim_peek(path, name, sizeof(name)))
		return false;
	b = base_name(name);
	return !strcmp(b, "fusermount3") || !strcmp(b, "fusermount");
}

/* 0, 1 after -h/-V (done), or -1 on a usage error; @report prints. */
static int fm_parse(struct fm_args *a, char *const argv[], bool report)
{
	bool dashdash = false;
	int i;

	memset(a, 0, sizeof(*a));
	a->prog = argv && argv[0] ? base_name(argv[0]) : "fusermount3";
	if (!a->prog || !*a->prog)
		a->prog = "fusermount3";
	a->name = argv && argv[0] && *argv[0] ? argv[0] : a->prog;
	for (i = 1; argv && argv[i]; i++) {
		const char *s = argv[i];

		if (dashdash || s[0] != '-' || !s[1]) {
			if (a->mnt)
				a->extra = true;
			else
				a->mnt = s;
			continue;
		}
		if (!strcmp(s, "--")) {
			dashdash = true;
		} else if (!strcmp(s, "--help")) {
			goto help;
		} else if (!strcmp(s, "--version")) {
			goto version;
		} else if (!strcmp(s, "--unmount")) {
			a->unmount = true;
		} else if (!strcmp(s, "--quiet")) {
			a->quiet = true;
		} else if (!strcmp(s, "--lazy")) {
			a->lazy = true;
		} else if (!strcmp(s, "--auto-unmount")) {
			a->auto_only = true;
		} else if (!strcmp(s, "--sync-init")) {
			a->sync_init = true;
		} else if (!strncmp(s, "--options=", 10)) {
			a->opts = s + 10;
		} else if (s[1] == '-') {
			if (report)
				fm_err(a, "unrecognized option '%s'", s);
			return -1;
		} else {
			for (s++; *s; s++) {
				if (*s == 'o') {
					if (s[1]) {
						a->opts = s + 1;
					} else if (argv[i + 1]) {
						a->opts = argv[++i];
					} else {
						if (report)
							fm_err(a, "-o needs an argument");
						return -1;
					}
					break;
				}
				switch (*s) {
				case 'h':
					goto help;
				case 'V':
					goto version;
				case 'u':
					a->unmount = true;
					break;
				case 'q':
					a->quiet = true;
					break;
				case 'z':
					a->lazy = true;
					break;
				default:
					if (report)
						fm_err(a, "invalid option -- "
						       "'%c'", *s);
					return -1;
				}
			}
		}
	}
	/* fusermount3's checks after its getopt loop, in its order */
	if (a->lazy && !a->unmount) {
		if (report)
			fm_err(a, "-z can only be used with -u");
		return -1;
	}
	if (a->extra) {
		if (report)
			fm_err(a, "extra arguments after the mountpoint");
		return -1;
	}
	return 0;
help:
	if (!report)
		return 1;
	fm_out("usage: ");
	fm_out(a->prog);
	fm_out(" [options] mountpoint\n\nOptions:\n"
	       " -h                 print help\n"
	       " -V                 print version\n"
	       " -o opt[,opt...]    mount options\n"
	       " -u                 unmount\n"
	       " -q                 quiet\n"
	       " -z                 lazy unmount\n"
	       " --auto-unmount     unmount when the caller exits\n");
	return 1;
version:
	if (!report)
		return 1;
	fm_out(a->prog);
	fm_out(" version: " FUSERMOUNT_VERSION " (libmountshim "
	       FUSEDEV_VERSION ")\n");
	return 1;
}

/* The emulated mountpoint @mnt names, into rt->abs: 0 or -errno. */
static long fm_target(struct shim_route *rt, const char *mnt)
{
	size_t n;
	long r = shim_route(rt, AT_FDCWD, mnt);

	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	n = strlen(rt->abs);
	while (n > 1 && rt->abs[n - 1] == '/')
		rt->abs[--n] = '\0';
	return 0;
}

static long fm_umount(const char *mnt, int flags)
{
	struct shim_route rt;
	long r = fm_target(&rt, mnt);

	if (r < 0)
		return r;
	r = emu_umount(&rt, flags);
	return r == SHIM_EXTERNAL ? -EINVAL : r;
}

static int fm_do_unmount(const struct fm_args *a)
{
	long r = fm_umount(a->mnt, a->lazy ? MNT_DETACH : 0);

	if (r == 0)
		return 0;
	if (!a->quiet) {
		if (r == -EINVAL || r == -ENOENT)
			fm_err(a, "entry for %s not found in /etc/mtab",
			       a->mnt);
		else
			fm_err(a, "failed to unmount %s: %s", a->mnt,
			       strerror(-r));
	}
	return 1;
}

struct fm_mount {
	unsigned long flags;
	bool blkdev, auto_unmount, allow_other;
	char fsname[256], subtype[64];
	char kopts[512];
};

static void kopt_add(struct fm_mount *m, const char *o)
{
	size_t n = strlen(m->kopts);

	snprintf(m->kopts + n, sizeof(m->kopts) - n, ",%s", o);
}

/* One option; @o has its backslash escapes removed. */
static void fm_option(const struct fm_args *a, struct fm_mount *m,
		      const char *o)
{
	static const struct {
		const char *name;
		unsigned long flag;
		bool on, root_only;
	} flags[] = {
		{ "ro", MS_RDONLY, true, false },
		{ "rw", MS_RDONLY, false, false },
		{ "nosuid", MS_NOSUID, true, false },
		{ "suid", MS_NOSUID, false, true },
		{ "nodev", MS_NODEV, true, false },
		{ "dev", MS_NODEV, false, true },
		{ "noexec", MS_NOEXEC, true, false },
		{ "exec", MS_NOEXEC, false, false },
		{ "sync", MS_SYNCHRONOUS, true, false },
		{ "async", MS_SYNCHRONOUS, false, false },
		{ "dirsync", MS_DIRSYNC, true, false },
		{ "noatime", MS_NOATIME, true, false },
		{ "atime", MS_NOATIME, false, false },
		{ "nodiratime", MS_NODIRATIME, true, false },
		{ "diratime", MS_NODIRATIME, false, false },
		{ "relatime", MS_RELATIME, true, false },
		{ "norelatime", MS_RELATIME, false, false },
		{ "strictatime", MS_STRICTATIME, true, false },
		{ "nostrictatime", MS_STRICTATIME, false, false },
		{ "lazytime", MS_LAZYTIME, true, false },
		{ "nolazytime", MS_LAZYTIME, false, false },
		{ "nosymfollow", 256 /* MS_NOSYMFOLLOW */, true, false },
		{ "symfollow", 256, false, false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		if (strcmp(o, flags[i].name))
			continue;
		if (flags[i].root_only && getuid() != 0) {
			SHIM_DBG(SHIM_DBG_DAEMON, "%s: unsafe option %s ignored",
				 a->prog, o);
			return;
		}
		if (flags[i].on)
			m->flags |= flags[i].flag;
		else
			m->flags &= ~flags[i].flag;
		return;
	}
	if (!strcmp(o, "allow_other"))
		m->allow_other = true;
	if (!strcmp(o, "allow_other") || !strcmp(o, "default_permissions") ||
	    !strncmp(o, "max_read=", 9))
		kopt_add(m, o);
	else if (!strncmp(o, "blksize=", 8))
		m->blkdev ? kopt_add(m, o) : (void)0;
	else if (!strcmp(o, "blkdev"))
		m->blkdev = true;
	else if (!strcmp(o, "auto_unmount"))
		m->auto_unmount = true;
	else if (!strncmp(o, "fsname=", 7))
		snprintf(m->fsname, sizeof(m->fsname), "%.255s", o + 7);
	else if (!strncmp(o, "subtype=", 8))
		snprintf(m->subtype, sizeof(m->subtype), "%.63s", o + 8);
	else
		SHIM_DBG(SHIM_DBG_DAEMON, "%s: option %s ignored", a->prog, o);
}

static void fm_options(const struct fm_args *a, struct fm_mount *m)
{
	char o[PATH_MAX];
	const char *p = a->opts;
	size_t n;

	m->flags = MS_NOSUID | MS_NODEV;
	while (p && *p) {
		for (n = 0; *p && *p != ','; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (n < sizeof(o) - 1)
				o[n++] = *p;
		}
		o[n] = '\0';
		if (n)
			fm_option(a, m, o);
		if (*p)
			p++;
	}
}

static int fm_commfd(char *const envp[], const char *name)
{
	size_t n = strlen(name);
	char *end;
	long v;
	int i;

	for (i = 0; envp && envp[i]; i++) {
		if (strncmp(envp[i], name, n) || envp[i][n] != '=')
			continue;
		v = strtol(envp[i] + n + 1, &end, 10);
		if (*end || v < 0 || v > INT_MAX)
			return -1;
		return v;
	}
	return -1;
}

static int send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Sleep until the caller closes its end of @sock (it exited). */
static void wait_hangup(int sock)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	char buf[64];
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		n = read(sock, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

static void auto_unmount_wait(const struct fm_args *a, int commfd,
			      char *const envp[], const char *target)
{
	int other = fm_commfd(envp, "_FUSE_COMMFD2");
	char mnt[PATH_MAX];

	/* Our copy of the caller's end would keep the socket open. */
	if (other >= 0 && other != commfd)
		REAL(close)(other);
	snprintf(mnt, sizeof(mnt), "%s", target);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	wait_hangup(commfd);
	SHIM_DBG(SHIM_DBG_DAEMON, "%s: caller gone, unmounting %s", a->prog,
		 mnt);
	fm_umount(mnt, MNT_DETACH);
}

/* fusermount3's /etc/fuse.conf: is "user_allow_other" set? */
static bool user_allow_other(void)
{
	char line[256];
	bool set = false;
	FILE *fp = fopen("/etc/fuse.conf", "re");

	if (!fp)
		return false;
	while (!set && fgets(line, sizeof(line), fp)) {
		char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		set = !strncmp(p, "user_allow_other", 16) &&
		      (!p[16] || strchr(" \t\n#", p[16]));
	}
	fclose(fp);
	return set;
}

static int fm_do_mount(const struct fm_args *a, char *const envp[])
{
	char canon[PATH_MAX], data[1024], fstype[96], val[8];
	struct fusedev_whoami who;
	struct fm_mount m;
	mode_t type;
	const char *source;
	int commfd, devfd;
	int32_t status;
	long r;

	commfd = fm_commfd(envp, "_FUSE_COMMFD");
	if (commfd < 0) {
		fm_err(a, "old style mounting not supported");
		return 1;
	}
	if (a->auto_only) {
		struct shim_route rt;

		if (fm_target(&rt, a->mnt) < 0) {
			fm_err(a, "%s not mounted", a->mnt);
			return 1;
		}
		auto_unmount_wait(a, commfd, envp, rt.abs);
		return 0;
	}
	memset(&m, 0, sizeof(m));
	fm_options(a, &m);
	/* What the setuid fusermount3 refuses an unprivileged user. */
	if (getuid() && m.allow_other && !user_allow_other()) {
		fm_err(a, "option allow_other only allowed if "
		       "'user_allow_other' is set in /etc/fuse.conf");
		return 1;
	}
	r = mount_target(a->mnt, 0, canon, &type);
	if (r < 0) {
		fm_err(a, "bad mount point %s: %s", a->mnt, strerror(-r));
		return 1;
	}
	if (getuid() && REAL(access)(canon, W_OK) < 0) {
		fm_err(a, "user has no write access to mountpoint %s", canon);
		return 1;
	}
	snprintf(fstype, sizeof(fstype), "%s%s%s",
		 m.blkdev ? "fuseblk" : "fuse", m.subtype[0] ? "." : "",
		 m.subtype);
	source = m.fsname[0] ? m.fsname : m.subtype[0] ? m.subtype :
		 "/dev/fuse";

	devfd = shim_open_device(O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		fm_err(a, "failed to open %s: %s", shim.device,
		       strerror(-devfd));
		return 1;
	}
	r = shim_whoami(devfd, &who);
	if (r < 0) {
		fm_err(a, "%s is not the emulated device", shim.device);
		return 1;
	}
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s", devfd, type,
		 getuid(), getgid(), m.kopts);

	if (a->sync_init) {
		/* fd first; mount when the caller says so; report back */
		if (send_fd(commfd, devfd) < 0)
			return 1;
		while ((r = read(commfd, val, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			return 1;
		r = send_mount(who.key, m.flags, fstype, source, canon, data);
		status = r;
		if (write(commfd, &status, sizeof(status)) < 0)
			return 1;
		if (r < 0)
			return 1;
	} else {
		r = send_mount(who.key, m.flags, fstype, source, canon, data);
		if (r < 0) {
			fm_err(a, "mount failed: %s", strerror(-r));
			return 1;
		}
		if (send_fd(commfd, devfd) < 0) {
			fm_umount(canon, MNT_DETACH);
			return 1;
		}
	}
	REAL(close)(devfd);
	if (m.auto_unmount)
		auto_unmount_wait(a, commfd, envp, canon);
	return 0;
}

/*
 * Do we do this helper's job?  Unmounting something that is not ours is
 * left to the real helper.
 */
static bool fm_ours(char *const argv[])
{
	struct shim_route rt;
	struct fm_args a;
	int r;

	r = fm_parse(&a, argv, false);
	if (r != 0 || !a.unmount || !a.mnt)
		return true;
	return fm_target(&rt, a.mnt) == 0;
}

static int fm_main(char *const argv[], char *const envp[])
{
	struct fm_args a;
	int r;

	r = fm_parse(&a, argv, true);
	if (r)
		return r > 0 ? 0 : 1;
	if (!a.mnt) {
		fm_err(&a, "missing mountpoint argument");
		return 1;
	}
	SHIM_DBG(SHIM_DBG_DAEMON, "%s %s%s -o %s %s", a.prog,
		 a.unmount ? "-u " : "", a.lazy ? "-z" : "",
		 a.opts ? a.opts : "", a.mnt);
	return a.unmount ? fm_do_unmount(&a) : fm_do_mount(&a, envp);
}

/* What an exec would have done to the fds: close the close-on-exec ones. */
static void close_cloexec_fds(void)
{
	static int fds[4096];
	char buf[4096];
	int dir, n = 0, i, fd;
	long got, pos;

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
			if (fd != dir && n < (int)ARRAY_SIZE(fds))
				fds[n++] = fd;
		}
	}
	REAL(close)(dir);
	for (i = 0; i < n; i++) {
		int fl = REAL(fcntl)(fds[i], F_GETFD);

		if (fl >= 0 && (fl & FD_CLOEXEC))
			REAL(close)(fds[i]);
	}
}

static __attribute__((noreturn)) void fm_exec(char *const argv[],
					      char *const envp[])
{
	int status;

	close_cloexec_fds();
	status = fm_main(argv, envp);
	_exit(status);
}

/* ---- exec family ---------------------------------------------------------
 *
 * Besides fusermount, every exec passes the virtual cwd on: shells hand
 * execve an environment of their own making, not environ.  A program in
 * an emulated mount, or found through PATH in one, is exec'd by
 * shim_exec.c; everything else goes to the real call unchanged (when
 * there are mounts, shim_exec_path() makes that call, and looks again
 * after an ENOENT: a real script may name an emulated interpreter).
 */
SHIM_EXPORT int execve(const char *path, char *const argv[],
		       char *const envp[])
{
	char *const *env;
	int e = errno;

	long r;

	if (unlikely(is_fusermount(path)) && fm_ours(argv))
		fm_exec(argv, envp);
	SHIM_CWD_ENV(envp, env);
	if (unlikely(shim_have_mounts()))
		return shim_result(shim_exec_path(path, argv, env), e);
	r = shim_exec_check(AT_FDCWD, path, 0, env);
	if (r < 0)
		return shim_result(r, e);
	return REAL(execve)(path, argv, env);
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	struct shim_route rt;
	char *const *env;
	int e = errno;
	long r;

	SHIM_CWD_ENV(envp, env);
	r = shim_exec(dirfd, path, argv, env, flags, &rt);
	if (r == 1)	/* the real file system's: judged, then exec'd */
		r = shim_exec_check(rt.dirfd, rt.path, flags, env);
	if (r < 0)
		return shim_result(r, e);
	return REAL(execveat)(rt.dirfd, rt.path, argv, env, flags);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct shim_route rt;
	char *const *env;
	int e = errno;
	long r;

	SHIM_CWD_ENV(envp, env);
	r = shim_exec(fd, "", argv, env, AT_EMPTY_PATH, &rt);
	if (r == 1)	/* a real fd: judged, then exec'd */
		r = shim_exec_check(fd, "", AT_EMPTY_PATH, env);
	if (r < 0)
		return shim_result(r, e);
	return REAL(fexecve)(fd, argv, env);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	char *const *env;
	int e = errno;

	long r;

	if (unlikely(is_fusermount(path)) && fm_ours(argv))
		fm_exec(argv, environ);
	SHIM_CWD_ENV(environ, env);
	if (unlikely(shim_have_mounts()))
		return shim_result(shim_exec_path(path, argv, env), e);
	r = shim_exec_check(AT_FDCWD, path, 0, env);
	if (r < 0)
		return shim_result(r, e);
	if (env == environ)
		return REAL(execv)(path, argv);
	return REAL(execve)(path, argv, env);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	char *const *env;
	int e = errno;

	long r;

	if (unlikely(is_fusermount(file)) && fm_ours(argv))
		fm_exec(argv, environ);
	SHIM_CWD_ENV(environ, env);
	if (unlikely(shim_exec_ours(file, true)))
		return shim_result(shim_execvpe(file, argv, env, true), e);
	r = shim_exec_check_search(file, env);
	if (r < 0)
		return shim_result(r, e);
	if (env == environ)
		return REAL(execvp)(file, argv);
	return REAL(execvpe)(file, argv, env);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	char *const *env;
	int e = errno;

	long r;

	if (unlikely(is_fusermount(file)) && fm_ours(argv))
		fm_exec(argv, envp);
	SHIM_CWD_ENV(envp, env);
	if (unlikely(shim_exec_ours(file, true)))
		return shim_result(shim_execvpe(file, argv, env, true), e);
	r = shim_exec_check_search(file, env);
	if (r < 0)
		return shim_result(r, e);
	return REAL(execvpe)(file, argv, env);
}

/* execl*: collect the list, then the v form above (or REAL's). */
#define COLLECT_ARGS(argv, arg0, ap)					\
	do {								\
		va_list cp_;						\
		size_t n_ = 1, i_;					\
		va_copy(cp_, ap);					\
		while (va_arg(cp_, char *))				\
			n_++;						\
		va_end(cp_);						\
		argv = alloca((n_ + 1) * sizeof(char *));		\
		argv[0] = (char *)(arg0);				\
		for (i_ = 1; i_ <= n_; i_++)				\
			argv[i_] = va_arg(ap, char *);			\
	} while (0)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	char **argv;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(argv, arg, ap);
	va_end(ap);
	return execv(path, argv);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	char **argv, **envp;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(argv, arg, ap);
	envp = va_arg(ap, char **);
	va_end(ap);
	return execve(path, argv, envp);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char **argv;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(argv, arg, ap);
	va_end(ap);
	return execvp(file, argv);
}

/*
 * posix_spawn of the helper: a forked child that applies the file actions
 * (shim_exec.c reads glibc's layout) and does the job.
 */
static int spawn_fusermount(pid_t *pid, const posix_spawn_file_actions_t *fa,
			    char *const argv[], char *const envp[])
{
	pid_t c = fork();

	if (c < 0)
		return errno;
	if (c == 0) {
		if (shim_spawn_actions(fa) < 0)
			_exit(127);
		fm_exec(argv, envp ? envp : environ);
	}
	if (pid)
		*pid = c;
	return 0;
}

/*
 * glibc's posix_spawn execs with its internal execve, which no wrapper
 * sees: a spawn of an emulated program, or with a file action opening an
 * emulated path, is done by shim_spawn() instead.
 */
SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	char *const *env;

	if (unlikely(is_fusermount(path)) && fm_ours(argv))
		return spawn_fusermount(pid, fa, argv, envp);
	long r;

	if (unlikely(shim_exec_ours(path, false) ||
		     shim_spawn_actions_ours(fa)))
		return shim_spawn(pid, path, fa, attr, argv, envp, false);
	r = shim_exec_check(AT_FDCWD, path, 0, envp);
	if (r < 0)
		return (int)-r;
	SHIM_CWD_ENV(envp, env);
	return REAL(posix_spawn)(pid, path, fa, attr, argv, env);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	char *const *env;

	if (unlikely(is_fusermount(file)) && fm_ours(argv))
		return spawn_fusermount(pid, fa, argv, envp);
	long r;

	if (unlikely(shim_exec_ours(file, true) ||
		     shim_spawn_actions_ours(fa)))
		return shim_spawn(pid, file, fa, attr, argv, envp, true);
	r = shim_exec_check_search(file, envp);
	if (r < 0)
		return (int)-r;
	SHIM_CWD_ENV(envp, env);
	return REAL(posix_spawnp)(pid, file, fa, attr, argv, env);
}

void shim_daemon_atfork(void)
{
	/* The splice buffer is this thread's and stays valid. */
}
