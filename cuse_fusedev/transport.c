/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transports: how the emulated device is registered with the real kernel.
 *
 *   cuse      a character device made through libfuse3's CUSE lowlevel
 *             API (/dev/cuse); /dev/<name>.
 *   fusefile  for kernels without CUSE: one regular file, "fuse", at the
 *             root of a private FUSE mount in the runtime directory,
 *             opened direct_io and non-seekable.
 *
 * Both hand the same device operations (devops.c) to libfuse; only the
 * registration differs.  The session's fd is watched by the event loop,
 * and each readable event processes the messages the kernel queued; a
 * fiber may process them at once with transport_sync().
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 35
#include <cuse_lowlevel.h>

#include "emu.h"
#include "lock.h"

/*
 * Every open of the device file gets an inode of its own.  Linux FUSE
 * serialises direct writes on one inode (i_rwsem, exclusive without
 * FOPEN_PARALLEL_DIRECT_WRITES, which libfuse 3.14 cannot set): with one
 * shared inode, a client's write() through a bound fd, waiting for the
 * daemon, would hold the lock the daemon needs to write its reply.  So
 * "fuse" is looked up afresh on every open (entry timeout 0) and answers
 * a new nodeid once the previous one has been opened.
 */
#define DEVFILE_INO 2
static uint64_t devfile_ino = DEVFILE_INO;
static bool devfile_opened;

/*
 * The size an open's inode starts with, until a GETATTR (a client's:
 * its file's size, the device's 0 otherwise).  Only programs without
 * the shim meet the kernel's own uses of i_size on a client's fd:
 * copy_file_range(2) copies nothing past it (vfs_copy_file_range), a
 * mapping faults past it.  Large, so that neither stops short before the
 * open file's end does; reads past that end return nothing, as on Linux.
 * The attributes are kept an hour, as the shim's own uses (glibc's
 * internal fstat of a stream) need nothing else; the shim drops them
 * (FUSEDEV_IOC_ATTR_INVAL) for the fds a program without it inherits.
 */
#define FF_OPEN_SIZE	(1ll << 62)

/*
 * Which device open an inode of the device file is, for its GETATTR:
 * fstat(2) asks by inode only.  The last open of an inode wins (two
 * opens share one only when their lookups raced).
 */
#define FF_INO_HASH 256

static struct emu_dev *ff_inos[FF_INO_HASH];

static void ff_ino_set(struct emu_dev *dev, uint64_t ino)
{
	dev->ino = ino;
	dev->inext = ff_inos[ino % FF_INO_HASH];
	ff_inos[ino % FF_INO_HASH] = dev;
}

static struct emu_dev *ff_ino_dev(uint64_t ino)
{
	struct emu_dev *d;

	for (d = ff_inos[ino % FF_INO_HASH]; d; d = d->inext)
		if (d->ino == ino)
			return d;
	return NULL;
}

static void ff_ino_drop(struct emu_dev *dev)
{
	struct emu_dev **pp;

	for (pp = &ff_inos[dev->ino % FF_INO_HASH]; *pp; pp = &(*pp)->inext) {
		if (*pp == dev) {
			*pp = dev->inext;
			return;
		}
	}
}

static struct fuse_session *session;
static struct fuse_buf session_buf;
static char fusefile_mnt[FUSEDEV_PATH_MAX];
static bool mounted;

char emu_device_path[256];
int emu_transport;
size_t emu_chunk_max;
uint32_t emu_max_write_limit;

/*
 * Multishot poll reports readiness edges, so drain the session to EAGAIN
 * (the fd is non-blocking); a long burst yields to fibers and deferred
 * work every SESSION_BATCH messages and comes back.
 */
#define SESSION_BATCH 64
/* transport_sync's bound: far more than the kernel can have queued
 * (one request per blocked thread, plus max_background). */
#define SESSION_SYNC_MAX 4096

static bool session_busy;

/* Read and process one message: 1, or 0 when none is queued (or the
 * session ended: the loop is told to stop). */
static int session_one(void)
{
	int r;

	for (;;) {
		if (fuse_session_exited(session)) {
			loop_stop();
			return 0;
		}
		r = fuse_session_receive_buf(session, &session_buf);
		if (r == -EAGAIN)
			return 0;
		if (r == -EINTR || r == -ENOENT)
			continue;
		if (r <= 0) {
			if (r < 0)
				emu_log("device transport: %s", strerror(-r));
			else
				emu_log("device transport: the kernel ended "
					"the session");
			loop_stop();
			return 0;
		}
		session_busy = true;
		fuse_session_process_buf(session, &session_buf);
		session_busy = false;
		return 1;
	}
}

static void session_drain(void *data)
{
	int i;

	for (i = 0; i < SESSION_BATCH; i++)
		if (!session_one())
			return;
	loop_defer(session_drain, NULL);
}

/*
 * Contract: every message the kernel queued on the session before the
 * call has been processed when it returns.  That orders what a client
 * did earlier through the device file before what it asks now through
 * the port: a close(2) returns before the kernel's background RELEASE
 * of the device file is read, and a lock conflict must not be reported
 * while that RELEASE (which drops the file's OFD and flock locks) is
 * still queued.  Handlers never sleep, so this runs them inline, in the
 * caller's fiber; the handlers' own wakeups of that fiber are lost, so
 * the caller re-checks its state afterwards.  From a handler (nested)
 * it does nothing.
 */
void transport_sync(void)
{
	int i;

	if (!session || session_busy)
		return;
	for (i = 0; i < SESSION_SYNC_MAX; i++)
		if (!session_one())
			return;
	loop_defer(session_drain, NULL);
}

static void session_ready(void *data, int revents)
{
	session_drain(NULL);
}

/* ---- fusefile ------------------------------------------------------- */

static void ff_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = ino == FUSE_ROOT_ID ? getuid() : emu_opts.devuid;
	st->st_gid = ino == FUSE_ROOT_ID ? getgid() : emu_opts.devgid;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | (emu_opts.devmode & 07777);
		st->st_nlink = 1;
	}
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, FUSEDEV_FUSEFILE_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (devfile_opened) {
		devfile_ino++;
		devfile_opened = false;
	}
	memset(&e, 0, sizeof(e));
	e.ino = devfile_ino;
	e.attr_timeout = 3600;
	e.entry_timeout = 0;
	ff_attr(devfile_ino, &e.attr);
	e.attr.st_size = FF_OPEN_SIZE;
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	ff_attr(ino, &st);
	if (ino == FUSE_ROOT_ID)
		fuse_reply_attr(req, &st, 3600);
	else
		devop_getattr(req, ff_ino_dev(ino), &st);
}

static void ff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	static const char *const names[] = { ".", "..",
					     FUSEDEV_FUSEFILE_NAME };
	char buf[512];
	size_t len = 0;
	struct stat st;

	for (; off < 3; off++) {
		size_t n;

		ff_attr(off == 2 ? DEVFILE_INO : FUSE_ROOT_ID, &st);
		n = fuse_add_direntry(req, buf + len, sizeof(buf) - len,
				      names[off], &st, off + 1);
		if (n > sizeof(buf) - len || len + n > size)
			break;
		len += n;
	}
	fuse_reply_buf(req, buf, len);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct emu_dev *dev;

	if (ino == FUSE_ROOT_ID) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (ino == devfile_ino)
		devfile_opened = true;
	dev = dev_open(req, fi);
	if (dev)
		ff_ino_set(dev, ino);
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	devop_read(req, size, off, fi);
}

static void ff_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	devop_write(req, buf, size, off, fi);
}

static void ff_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	devop_flush(req, fi);
}

static void ff_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	ff_ino_drop((struct emu_dev *)(uintptr_t)fi->fh);
	devop_release(req, fi);
}

static void ff_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	devop_fsync(req, datasync, fi);
}

static void ff_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	devop_poll(req, fi, ph);
}

static void ff_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	if (cmd == FUSEDEV_IOC_ATTR_INVAL) {
		fuse_lowlevel_notify_inval_inode(session, ino, -1, 0);
		fuse_reply_ioctl(req, 0, NULL, 0);
		return;
	}
	devop_ioctl(req, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static void ff_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Plain reads and writes only: every device message is one
	 * request, and we never want the kernel's page cache in between. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE);
	/* As large as libfuse's buffer allows (1 MiB): a daemon's message
	 * of up to FDK_MAX_PAGES pages, in a misaligned buffer and behind a
	 * separate header iovec, must still be one chunk. */
	conn->max_write = 1024 * 1024;
	conn->max_read = 0;
}

static const struct fuse_lowlevel_ops fusefile_ops = {
	.init = ff_init,
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.readdir = ff_readdir,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.flush = ff_flush,
	.release = ff_release,
	.fsync = ff_fsync,
	.poll = ff_poll,
	.ioctl = ff_ioctl,
};

static int fusefile_start(void)
{
	char *argv[] = { "cuse_fusedev", "-o", "fsname=fusedev,subtype=fusedev",
			 NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);

	if (access("/dev/fuse", R_OK | W_OK) < 0)
		return -errno;
	snprintf(fusefile_mnt, sizeof(fusefile_mnt), "%s/%s", emu_opts.dir,
		 FUSEDEV_FUSEFILE_MNT);
	if (mkdir(fusefile_mnt, 0700) < 0 && errno != EEXIST)
		return -errno;
	session = fuse_session_new(&args, &fusefile_ops, sizeof(fusefile_ops),
				   NULL);
	fuse_opt_free_args(&args);
	if (!session)
		return -EIO;
	if (fuse_session_mount(session, fusefile_mnt) != 0) {
		fuse_session_destroy(session);
		session = NULL;
		return -EPERM;
	}
	mounted = true;
	if (strlen(fusefile_mnt) + 1 + strlen(FUSEDEV_FUSEFILE_NAME) >=
	    sizeof(emu_device_path))
		return -ENAMETOOLONG;
	strcpy(emu_device_path, fusefile_mnt);
	strcat(emu_device_path, "/" FUSEDEV_FUSEFILE_NAME);
	emu_chunk_max = 1024 * 1024;	/* ff_init's max_write, 256 pages */
	emu_transport = FUSEDEV_TRANSPORT_FUSEFILE;
	return 0;
}

/* ---- cuse ----------------------------------------------------------- */

static void cuse_ioctl(fuse_req_t req, int cmd, void *arg,
		       struct fuse_file_info *fi, unsigned int flags,
		       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	devop_ioctl(req, (unsigned int)cmd, arg, fi, flags, in_buf, in_bufsz,
		    out_bufsz);
}

static void cuse_read(fuse_req_t req, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	/* CUSE passes no file position: @off is within this call. */
	devop_read(req, size, off, fi);
}

static void cuse_write(fuse_req_t req, const char *buf, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	devop_write(req, buf, size, off, fi);
}

static void cuse_init_done(void *userdata)
{
	/* devtmpfs made the node as root:root 0600; apply what we were
	 * told.  The node may lag the reply briefly. */
	uint64_t deadline = loop_now_ns() + 2000000000ull;

	while (chmod(emu_device_path, emu_opts.devmode & 07777) < 0 &&
	       errno == ENOENT && loop_now_ns() < deadline)
		usleep(10000);
	if (chown(emu_device_path, emu_opts.devuid, emu_opts.devgid) < 0)
		emu_dbg("chown %s: %s", emu_device_path, strerror(errno));
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.init_done = cuse_init_done,
	.open = devop_open,
	.read = cuse_read,
	.write = cuse_write,
	.flush = devop_flush,
	.release = devop_release,
	.fsync = devop_fsync,
	.poll = devop_poll,
	.ioctl = cuse_ioctl,
};

static int cuse_start(void)
{
	char devname[sizeof(emu_device_path)];
	const char *dev_info[] = { devname };
	char *argv[] = { "cuse_fusedev", "-f", "-s", NULL };
	struct cuse_info ci;
	int mt;

	if (access("/dev/cuse", R_OK | W_OK) < 0)
		return -errno;
	snprintf(devname, sizeof(devname), "DEVNAME=%s", emu_opts.devname);
	snprintf(emu_device_path, sizeof(emu_device_path), "/dev/%s",
		 emu_opts.devname);
	memset(&ci, 0, sizeof(ci));
	ci.dev_info_argc = 1;
	ci.dev_info_argv = dev_info;
	ci.flags = CUSE_UNRESTRICTED_IOCTL;
	session = cuse_lowlevel_setup(3, argv, &ci, &cuse_ops, &mt, NULL);
	if (!session)
		return -EIO;
	emu_transport = FUSEDEV_TRANSPORT_CUSE;
	/* CUSE splits at 32 pages.  Daemons may write 64 KiB so that a
	 * read() buffer of the minimum size arrives whole (its size check is
	 * exact); READ replies of up to 128 KiB are gathered (devops.c). */
	emu_chunk_max = 32 * 4096;
	emu_max_write_limit = 64 * 1024;
	return 0;
}

int transport_start(const char *which)
{
	bool any = !strcmp(which, "auto");
	int r = -EINVAL, fd;

	if (any || !strcmp(which, "cuse")) {
		r = cuse_start();
		if (r < 0 && !any) {
			emu_log("cuse transport: /dev/cuse: %s%s", strerror(-r),
				r == -ENOENT ? " (load the cuse module, "
				"or use --transport=fusefile)" : "");
			return r;
		}
	}
	if (r < 0 && (any || !strcmp(which, "fusefile"))) {
		r = fusefile_start();
		if (r < 0) {
			emu_log("fusefile transport: cannot mount on %s: %s",
				fusefile_mnt, strerror(-r));
			if (any)
				emu_log("no usable transport: /dev/cuse is "
					"missing and /dev/fuse cannot be "
					"mounted");
			return r;
		}
	}
	if (r < 0) {
		emu_log("unknown transport '%s' (auto, cuse, fusefile)", which);
		return r;
	}
	fd = fuse_session_fd(session);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r = loop_add_fd(fd, POLLIN, session_ready, NULL);
	if (r < 0)
		return r;
	emu_dbg("transport %s: device %s",
		emu_transport == FUSEDEV_TRANSPORT_CUSE ? "cuse" : "fusefile",
		emu_device_path);
	return 0;
}

void transport_stop(void)
{
	if (!session)
		return;
	loop_del_fd(fuse_session_fd(session));
	if (emu_transport == FUSEDEV_TRANSPORT_CUSE) {
		cuse_lowlevel_teardown(session);
	} else {
		if (mounted)
			fuse_session_unmount(session);
		fuse_session_destroy(session);
		rmdir(fusefile_mnt);
		memset(ff_inos, 0, sizeof(ff_inos));
	}
	session = NULL;
	free(session_buf.mem);
	session_buf.mem = NULL;
}
