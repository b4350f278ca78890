/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device operations: what an open of the emulated device does, whichever
 * transport carries it (fs/fuse/dev.c's file operations).
 *
 * An open starts unattached.  A daemon's open is attached to a connection
 * by a mount (vfs_mount) or a clone; its read/write/poll are fdk's device
 * rules.  A client's open is bound to an open file (FUSEDEV_IOC_BIND); its
 * read/write/flush/fsync/poll/ioctl are the open file's, run in a fiber
 * because they wait for the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "emu.h"
#include "lock.h"

#define DEV_HASH_SIZE 1024

static struct emu_dev *dev_hash[DEV_HASH_SIZE];

struct dev_waiter {
	struct list_head entry;
	fuse_req_t req;
	size_t size;
	struct emu_dev *dev;
};

uint64_t emu_random64(void)
{
	uint64_t v = 0;

	while (!v) {
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = loop_now_ns() * 0x9e3779b97f4a7c15ull;
	}
	return v;
}

struct emu_dev *dev_find(uint64_t key)
{
	struct emu_dev *d;

	for (d = dev_hash[key % DEV_HASH_SIZE]; d; d = d->hnext)
		if (d->key == key)
			return d;
	return NULL;
}

static void dev_unhash(struct emu_dev *dev)
{
	struct emu_dev **pp;

	for (pp = &dev_hash[dev->key % DEV_HASH_SIZE]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == dev) {
			*pp = dev->hnext;
			return;
		}
	}
}

/* At exit, after the transport is gone: no replies are possible. */
void dev_free_all(void)
{
	size_t k;

	for (k = 0; k < DEV_HASH_SIZE; k++) {
		while (dev_hash[k]) {
			struct emu_dev *d = dev_hash[k];

			dev_hash[k] = d->hnext;
			free(d->in_buf);
			free(d->out_buf);
			if (d->ph)
				fuse_pollhandle_destroy(d->ph);
			while (!list_empty(&d->readers)) {
				struct list_head *e = d->readers.next;

				list_del_init(e);
				free(list_entry(e, struct dev_waiter, entry));
			}
			free(d);
		}
	}
}

void emu_cred_from_req(fuse_req_t req, struct emu_cred *cred)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	cred->uid = ctx->uid;
	cred->gid = ctx->gid;
	cred->pid = ctx->pid;
	cred->ngroups = -1;	/* read from /proc when a check needs them */
}

static struct emu_dev *fi_dev(struct fuse_file_info *fi)
{
	return (struct emu_dev *)(uintptr_t)fi->fh;
}

struct emu_dev *dev_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct emu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	fdk_dev_init(&dev->fdk);
	list_init(&dev->readers);
	do
		dev->key = emu_random64();
	while (dev_find(dev->key));
	dev->kind = FUSEDEV_KIND_UNATTACHED;
	dev->flags = fi->flags;
	emu_cred_from_req(req, &dev->opener);
	dev->hnext = dev_hash[dev->key % DEV_HASH_SIZE];
	dev_hash[dev->key % DEV_HASH_SIZE] = dev;
	/*
	 * FOPEN_STREAM, which libfuse 3.14's fuse_file_info cannot say:
	 * no file position at all, so threads of a daemon sharing one fd
	 * do not serialise on its position lock (FMODE_ATOMIC_POS of a
	 * regular file), and every read() and write() starts at offset 0.
	 */
	struct fuse_open_out out = {
		.fh = (uintptr_t)dev,
		.open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE |
			      FOPEN_STREAM,
	};
	struct iovec iov = { &out, sizeof(out) };

	fi->fh = (uintptr_t)dev;
	if (fuse_reply_iov(req, &iov, 1) == -ENOENT) {
		/* The opener was interrupted: no release will come. */
		dev_unhash(dev);
		free(dev);
		return NULL;
	}
	return dev;
}

void devop_open(fuse_req_t req, struct fuse_file_info *fi)
{
	dev_open(req, fi);
}

/* ---- the daemon's side ---------------------------------------------- */

/*
 * Messages across transport chunks.  The kernel splits one read() or
 * write() on the device into requests of at most a chunk (CUSE: its
 * max_pages; fusefile: the session's), each with its offset in the call:
 * the device is a stream, so every call starts at offset 0 and a
 * request at a later offset continues the same call.  A message longer
 * than the first chunk is kept here and handed out, or gathered, piece
 * by piece.  A read() buffer is one piece of memory: a chunk within two
 * pages of the transport's largest (page misalignment) may be followed by
 * more, a shorter one is the whole buffer.  A reply written from many
 * small buffers (libfuse's fuse_reply_iov) takes up to two pages per
 * buffer, so its chunks can be much shorter: any chunk of a page or more
 * whose header promises more starts a gathered message.
 */
#define DEV_CHUNK_MIN	(emu_chunk_max - 2 * 4096)
#define DEV_GATHER_MIN	FDK_PAGE_SIZE

static void dev_drop_partial(struct emu_dev *dev, bool out)
{
	char **p = out ? &dev->out_buf : &dev->in_buf;

	if (*p && (emu_debug || !dev->warned))
		emu_log("device open %016llx: incomplete %s message of %zu "
			"bytes dropped", (unsigned long long)dev->key,
			out ? "outgoing" : "incoming",
			out ? dev->out_len : dev->in_len);
	free(*p);
	*p = NULL;
}

/* Reply to one read from what fdk hands out; false if nothing was. */
static bool dev_try_read(struct emu_dev *dev, fuse_req_t req, size_t size,
			 int *err)
{
	struct fdk_readbuf rb;
	size_t vsize = size, min = dev->fdk.fc ?
				    fdk_min_read_size(dev->fdk.fc) : 0;
	ssize_t r;
	int i;

	/* A full first chunk stands for a buffer of at least the minimum. */
	if (size < min && size >= DEV_CHUNK_MIN)
		vsize = min;
	r = fdk_dev_read(&dev->fdk, vsize, &rb);
	if (r > 0) {
		if (emu_debug > 1) {
			const struct fuse_in_header *h = rb.iov[0].iov_base;
			const struct fuse_read_in *ri = rb.iov[1].iov_base;
			bool io = (h->opcode == FUSE_READ ||
				   h->opcode == FUSE_WRITE) && rb.niov > 1;

			emu_log("-> %s unique %llu nodeid %llu len %u%s%llu",
				fdk_opname(h->opcode),
				(unsigned long long)h->unique,
				(unsigned long long)h->nodeid, h->len,
				io ? " size " : "",
				io ? (unsigned long long)ri->size : 0ull);
		}
		if ((size_t)r <= size) {
			fuse_reply_iov(req, rb.iov, rb.niov);
			return true;
		}
		/* Longer than this chunk: keep the rest for the next. */
		dev->out_buf = malloc(r);
		if (!dev->out_buf) {
			*err = ENOMEM;
			fuse_reply_err(req, ENOMEM);
			return true;
		}
		dev->out_len = 0;
		for (i = 0; i < rb.niov; i++) {
			memcpy(dev->out_buf + dev->out_len, rb.iov[i].iov_base,
			       rb.iov[i].iov_len);
			dev->out_len += rb.iov[i].iov_len;
		}
		dev->out_pos = size;
		fuse_reply_buf(req, dev->out_buf, size);
		return true;
	}
	*err = (int)-r;
	if (r == -EAGAIN)
		return false;
	fuse_reply_err(req, *err);
	return true;
}

/* A later chunk of a read() whose first chunk did not hold the message. */
static void dev_read_more(struct emu_dev *dev, fuse_req_t req, size_t size)
{
	size_t n;

	if (!dev->out_buf) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = dev->out_len - dev->out_pos;
	if (n > size)
		n = size;
	fuse_reply_buf(req, dev->out_buf + dev->out_pos, n);
	dev->out_pos += n;
	if (dev->out_pos == dev->out_len) {
		free(dev->out_buf);
		dev->out_buf = NULL;
	}
}

static void waiter_eintr(void *data)
{
	struct dev_waiter *w = data;

	fuse_reply_err(w->req, EINTR);
	free(w);
}

/* A signal reached a daemon blocked in read(): EINTR, as the kernel's
 * wait_event_interruptible gives. */
static void read_interrupted(fuse_req_t req, void *data)
{
	struct dev_waiter *w = data;

	emu_dbg("device read of pid %d interrupted", fuse_req_ctx(req)->pid);
	if (list_empty(&w->entry))
		return;
	list_del_init(&w->entry);
	loop_defer(waiter_eintr, w);
}

static void dev_serve_readers(struct emu_dev *dev)
{
	while (!list_empty(&dev->readers)) {
		struct dev_waiter *w = list_first_entry(&dev->readers,
						struct dev_waiter, entry);
		int err;

		if (!dev_try_read(dev, w->req, w->size, &err))
			break;
		list_del_init(&w->entry);
		free(w);
	}
}

static void dev_notify_poll(struct emu_dev *dev)
{
	if (!dev->ph)
		return;
	if (!(fdk_dev_poll(&dev->fdk) & (POLLIN | POLLERR)))
		return;
	fuse_lowlevel_notify_poll(dev->ph);
	fuse_pollhandle_destroy(dev->ph);
	dev->ph = NULL;
}

static void conn_kick(void *data)
{
	struct fdk_conn *fc = data;
	struct list_head *pos, *tmp;

	fc->wake_queued = false;
	list_for_each_safe(pos, tmp, &fc->devs) {
		struct emu_dev *dev = container_of(list_entry(pos,
				struct fdk_dev, entry), struct emu_dev, fdk);

		dev_serve_readers(dev);
		dev_notify_poll(dev);
	}
}

/* fdk's wake(): deferred so that fdk is never re-entered. */
void dev_conn_wake(struct fdk_conn *fc)
{
	if (fc->wake_queued)
		return;
	fc->wake_queued = true;
	loop_defer(conn_kick, fc);
}

/* Readers and pollers of an open that a connection no longer holds. */
static void dev_detached_wake(struct emu_dev *dev)
{
	while (!list_empty(&dev->readers)) {
		struct dev_waiter *w = list_first_entry(&dev->readers,
						struct dev_waiter, entry);

		list_del_init(&w->entry);
		fuse_reply_err(w->req, ENODEV);
		free(w);
	}
	if (dev->ph) {
		fuse_lowlevel_notify_poll(dev->ph);
		fuse_pollhandle_destroy(dev->ph);
		dev->ph = NULL;
	}
}

/* ---- the client's side: fibers for calls that wait ----------------- */

struct client_io {
	fuse_req_t req;
	struct emu_dev *dev;
	struct emu_cred cred;
	int op;
	size_t size;
	int64_t off;			/* CIO_READ: -1, the position */
	int datasync;
	char *buf;			/* CIO_STAT: the device's stat */
};

enum { CIO_READ, CIO_WRITE, CIO_FLUSH, CIO_FSYNC, CIO_STAT };

/* Seconds the attributes of @f's inode stay valid (fresh: just asked). */
static double cio_attr_timeout(const struct vfile *f)
{
	uint64_t now = loop_now_ns(), until = f->inode->attr_expire;

	return until > now ? (until - now) / 1e9 : 0;
}

/* The device file's attributes @st with the size, blocks and times of
 * the file bound to it, as a program without the shim fstat()s it. */
static int cio_stat(struct client_io *io, struct vfile *f, struct stat *st)
{
	struct fdp_file_in in = { .open_key = f->key };
	struct fdp_stat_out o;
	size_t len = sizeof(o);
	int r;

	r = vfs_file_op(&io->cred, FDP_OP_FSTAT, &in, NULL, 0, &o, &len);
	if (r < 0)
		return r;
	memcpy(st, io->buf, sizeof(*st));
	st->st_size = o.attr.size;
	st->st_blocks = o.attr.blocks;
	st->st_blksize = o.attr.blksize;
	st->st_nlink = o.attr.nlink;
	st->st_atim = (struct timespec){ o.attr.atime, o.attr.atimensec };
	st->st_mtim = (struct timespec){ o.attr.mtime, o.attr.mtimensec };
	st->st_ctim = (struct timespec){ o.attr.ctime, o.attr.ctimensec };
	return 0;
}

static void cio_interrupt(fuse_req_t req, void *data)
{
	struct fiber *f = data;

	*fiber_intr(f) = 1;
	fiber_wake(f);
}

static void client_io_fiber(void *arg)
{
	struct client_io *io = arg;
	struct vfile *f = io->dev->file;
	ssize_t r;

	fuse_req_interrupt_func(io->req, cio_interrupt, fiber_self());
	switch (io->op) {
	case CIO_READ:
		r = vfile_read(&io->cred, f, io->buf, io->size, io->off);
		if (r >= 0)
			fuse_reply_buf(io->req, io->buf, r);
		break;
	case CIO_STAT: {
		struct stat st;

		r = cio_stat(io, f, &st);
		if (!r)
			fuse_reply_attr(io->req, &st, cio_attr_timeout(f));
		break;
	}
	case CIO_WRITE:
		r = vfile_write(&io->cred, f, io->buf, io->size, -1);
		if (r >= 0)
			fuse_reply_write(io->req, r);
		break;
	case CIO_FLUSH:
		r = vfile_flush(&io->cred, f);
		if (!r)
			fuse_reply_err(io->req, 0);
		break;
	default:
		r = vfile_fsync(&io->cred, f, io->datasync);
		if (!r)
			fuse_reply_err(io->req, 0);
		break;
	}
	if (r < 0)
		fuse_reply_err(io->req, (int)-r);
	vfile_put(f);
	free(io->buf);
	free(io);
}

static void client_io(fuse_req_t req, struct emu_dev *dev, int op,
		      const void *data, size_t size, int64_t off,
		      int datasync)
{
	struct client_io *io = calloc(1, sizeof(*io));
	int r = -ENOMEM;

	if (!io)
		goto err;
	io->req = req;
	io->dev = dev;
	io->op = op;
	io->size = size;
	io->off = off;
	io->datasync = datasync;
	emu_cred_from_req(req, &io->cred);
	if (op == CIO_READ || op == CIO_WRITE || op == CIO_STAT) {
		io->buf = malloc(size ? size : 1);
		if (!io->buf)
			goto err_free;
		if (op != CIO_READ)
			memcpy(io->buf, data, size);
	}
	vfile_get(dev->file);
	r = fiber_spawn(client_io_fiber, io);
	if (r < 0) {
		vfile_put(dev->file);
		goto err_free;
	}
	return;
err_free:
	free(io->buf);
	free(io);
err:
	fuse_reply_err(req, -r);
}

/*
 * poll on a client's file: the kernel's pollhandle for the device open
 * (given when a poller will wait) is kept for the daemon's NOTIFY_POLL,
 * until a newer one replaces it or the open goes.
 */
struct client_poll {
	fuse_req_t req;
	struct vfile *f;
	struct emu_cred cred;
	uint32_t events;
	bool notify;
};

static void client_poll_fiber(void *arg)
{
	struct client_poll *cp = arg;

	fuse_req_interrupt_func(cp->req, cio_interrupt, fiber_self());
	fuse_reply_poll(cp->req, vfile_poll(&cp->cred, cp->f, cp->events,
					    cp->notify));
	vfile_put(cp->f);
	free(cp);
}

static void client_poll(fuse_req_t req, struct emu_dev *dev,
			struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct client_poll *cp = calloc(1, sizeof(*cp));

	if (ph) {
		if (dev->ph)
			fuse_pollhandle_destroy(dev->ph);
		dev->ph = ph;
	}
	/* Never an error: the transport's kernel would stop polling every
	 * open of the device (fc->no_poll). */
	if (!cp) {
		fuse_reply_poll(req, POLLERR);
		return;
	}
	cp->req = req;
	cp->f = dev->file;
	cp->events = fi->poll_events;
	cp->notify = ph != NULL;
	emu_cred_from_req(req, &cp->cred);
	vfile_get(cp->f);
	if (fiber_spawn(client_poll_fiber, cp) < 0) {
		vfile_put(cp->f);
		free(cp);
		fuse_reply_poll(req, POLLERR);
	}
}

void dev_poll_wakeup(struct emu_dev *dev)
{
	if (dev->ph)
		fuse_lowlevel_notify_poll(dev->ph);
}

struct client_ioctl {
	fuse_req_t req;
	struct vfile *f;
	struct emu_cred cred;
	unsigned int cmd, flags;
	uint64_t arg;
	size_t cap;
	char data[];
};

static void client_ioctl_fiber(void *arg)
{
	struct client_ioctl *ci = arg;
	size_t len = 0;
	long r;

	fuse_req_interrupt_func(ci->req, cio_interrupt, fiber_self());
	r = vfile_ioctl(&ci->cred, ci->f, ci->cmd, ci->arg, ci->flags,
			ci->data, ci->cap, &len);
	/* A result, not a request error: an ENOSYS would be ENOTTY. */
	fuse_reply_ioctl(ci->req, (int)r, len ? ci->data : NULL, len);
	vfile_put(ci->f);
	free(ci);
}

/*
 * ioctl on a client's file.  CUSE passes ioctls unrestricted: the data
 * the command moves is fetched with the retry protocol first; the
 * fusefile transport's restricted ioctls come with it.
 */
static void client_ioctl(fuse_req_t req, struct emu_dev *dev,
			 unsigned int cmd, void *arg, unsigned int flags,
			 const void *in_buf, size_t in_bufsz,
			 size_t out_bufsz)
{
	struct client_ioctl *ci;
	size_t in, out, cap;

	vfile_ioctl_size(cmd, &in, &out);
	if ((flags & FUSE_IOCTL_UNRESTRICTED) &&
	    (in_bufsz < in || out_bufsz < out)) {
		struct iovec iin = { arg, in }, iout = { arg, out };

		fuse_reply_ioctl_retry(req, in ? &iin : NULL, in ? 1 : 0,
				       out ? &iout : NULL, out ? 1 : 0);
		return;
	}
	if (in > in_bufsz)
		in = in_bufsz;
	if (out > out_bufsz)
		out = out_bufsz;
	cap = in > out ? in : out;
	if (cap < FDK_PAGE_SIZE)
		cap = FDK_PAGE_SIZE;
	ci = calloc(1, sizeof(*ci) + cap);
	if (!ci) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ci->req = req;
	ci->f = dev->file;
	ci->cmd = cmd;
	ci->flags = flags;
	ci->arg = (uintptr_t)arg;
	ci->cap = cap;
	if (in)
		memcpy(ci->data, in_buf, in);
	emu_cred_from_req(req, &ci->cred);
	vfile_get(ci->f);
	if (fiber_spawn(client_ioctl_fiber, ci) < 0) {
		vfile_put(ci->f);
		free(ci);
		fuse_reply_err(req, ENOMEM);
	}
}

/* ---- operations ------------------------------------------------------ */

void devop_read(fuse_req_t req, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct emu_dev *dev = fi_dev(fi);
	struct dev_waiter *w;
	int err;

	/*
	 * A READ without a lock owner comes from the page cache of the
	 * device file (fusefile: fuse_read_folio, fuse_readahead), which a
	 * program without the shim fills by mapping a client's fd: it reads
	 * the open file at that offset, as mmap does.  Only mmap, when the
	 * shim opened the device O_DIRECT (the kernel's splice then reads
	 * through read_iter); else it could be a splice at the kernel's own
	 * offset of the fd, which is not the open file's position: EIO.
	 * Every read() reaches us through fuse_direct_io, with the caller's
	 * lock owner (CUSE too): at the open file's position.
	 */
	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		if (!fi->lock_owner && !(dev->flags & O_DIRECT)) {
			fuse_reply_err(req, EIO);
			return;
		}
		client_io(req, dev, CIO_READ, NULL, size,
			  fi->lock_owner || off < 0 ? -1 : off, 0);
		return;
	}
	if (off > 0) {
		dev_read_more(dev, req, size);
		return;
	}
	if (dev->out_buf)
		dev_drop_partial(dev, true);
	if (dev_try_read(dev, req, size, &err))
		return;
	if (fi->flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->size = size;
	w->dev = dev;
	list_add_tail(&w->entry, &dev->readers);
	fuse_req_interrupt_func(req, read_interrupted, w);
}

/*
 * Gather a message written across chunks: false when the buffer @buf
 * points to is a whole message to process now (maybe the gathered one).
 */
static bool dev_gather(struct emu_dev *dev, fuse_req_t req, const char **buf,
		       size_t *size, off_t off)
{
	const struct fuse_out_header *oh = (const void *)*buf;
	size_t chunk = *size, n;

	if (off > 0) {
		if (!dev->in_buf || (size_t)off != dev->in_pos) {
			fuse_reply_err(req, EINVAL);
			return true;
		}
		n = dev->in_len - dev->in_pos;
		if (n > chunk)
			n = chunk;
		memcpy(dev->in_buf + dev->in_pos, *buf, n);
		dev->in_pos += n;
		if (dev->in_pos < dev->in_len) {
			fuse_reply_write(req, chunk);
			return true;
		}
		*buf = dev->in_buf;
		*size = dev->in_len;
		dev->in_chunk = chunk;
		return false;
	}
	if (dev->in_buf)
		dev_drop_partial(dev, false);
	if (chunk < DEV_GATHER_MIN || oh->len <= chunk ||
	    oh->len > FDK_MAX_PAGES * FDK_PAGE_SIZE + FDK_PAGE_SIZE)
		return false;
	dev->in_buf = malloc(oh->len);
	if (!dev->in_buf)
		return false;
	memcpy(dev->in_buf, *buf, chunk);
	dev->in_len = oh->len;
	dev->in_pos = chunk;
	fuse_reply_write(req, chunk);
	return true;
}

void devop_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct emu_dev *dev = fi_dev(fi);
	size_t chunk = size;
	char *gathered;
	ssize_t r;

	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		client_io(req, dev, CIO_WRITE, buf, size, -1, 0);
		return;
	}
	if (dev_gather(dev, req, &buf, &size, off))
		return;
	gathered = buf == dev->in_buf ? dev->in_buf : NULL;
	if (gathered) {
		chunk = dev->in_chunk;
		dev->in_buf = NULL;
	}
	if (size >= sizeof(struct fuse_out_header) && dev->fdk.fc) {
		const struct fuse_out_header *oh = (const void *)buf;
		const struct fdk_req *rq = oh->unique ?
			fdk_dev_find(&dev->fdk, oh->unique) : NULL;
		uint32_t opcode = rq ? rq->in_h.opcode : 0;

		if (emu_debug > 1)
			emu_log("<- %s unique %llu error %d len %zu",
				oh->unique ? fdk_opname(opcode) : "NOTIFY",
				(unsigned long long)oh->unique, oh->error,
				size);
		r = fdk_dev_write(&dev->fdk, buf, size);
		if (r < 0 && r != -ENOENT && (emu_debug || !dev->warned)) {
			/* Malformed input from a daemon: said once. */
			emu_log("daemon pid %d: reply of %zu bytes to %s "
				"(unique %llu, error %d) rejected: %s",
				fuse_req_ctx(req)->pid, size,
				oh->unique ? fdk_opname(opcode) : "notification",
				(unsigned long long)oh->unique, oh->error,
				strerror((int)-r));
			dev->warned = true;
		}
	} else {
		r = fdk_dev_write(&dev->fdk, buf, size);
	}
	free(gathered);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_write(req, gathered ? chunk : (size_t)r);
}

void devop_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	struct emu_dev *dev = fi_dev(fi);

	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		/* A close of an fd: the closer's POSIX locks on the inode
		 * go now, before close(2) returns (lock.c). */
		lock_flush(dev->file, fuse_req_ctx(req)->pid);
		client_io(req, dev, CIO_FLUSH, NULL, 0, -1, 0);
		return;
	}
	fuse_reply_err(req, 0);
}

void devop_fsync(fuse_req_t req, int datasync, struct fuse_file_info *fi)
{
	struct emu_dev *dev = fi_dev(fi);

	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		client_io(req, dev, CIO_FSYNC, NULL, 0, -1, datasync);
		return;
	}
	fuse_reply_err(req, EINVAL);
}

void devop_getattr(fuse_req_t req, struct emu_dev *dev, const struct stat *st)
{
	if (dev && dev->kind == FUSEDEV_KIND_CLIENT && dev->file) {
		client_io(req, dev, CIO_STAT, st, sizeof(*st), -1, 0);
		return;
	}
	/* a daemon's stays what it is; an unattached open may be bound */
	fuse_reply_attr(req, st, dev && dev->kind == FUSEDEV_KIND_DAEMON ?
			3600 : 0);
}

void devop_poll(fuse_req_t req, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph)
{
	struct emu_dev *dev = fi_dev(fi);
	unsigned int mask;

	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		client_poll(req, dev, fi, ph);
		return;
	}
	mask = fdk_dev_poll(&dev->fdk);
	if (ph) {
		if (dev->ph)
			fuse_pollhandle_destroy(dev->ph);
		dev->ph = ph;
	}
	fuse_reply_poll(req, mask);
}

static void dev_free(void *data)
{
	free(data);
}

void devop_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct emu_dev *dev = fi_dev(fi);

	fuse_reply_err(req, 0);
	dev->released = true;
	free(dev->in_buf);
	free(dev->out_buf);
	dev->in_buf = dev->out_buf = NULL;
	dev_unhash(dev);
	if (dev->kind == FUSEDEV_KIND_CLIENT) {
		dev->file->dev = NULL;
		vfile_put(dev->file);
		dev->file = NULL;
	} else if (dev->fdk.fc) {
		fdk_dev_release(&dev->fdk);
	}
	dev_detached_wake(dev);
	/* fdk may still hand out iovecs into nothing of ours, but wakes
	 * queued for this connection may still walk its list: free last. */
	loop_defer(dev_free, dev);
}

static void ioctl_bind(fuse_req_t req, struct emu_dev *dev, uint64_t key)
{
	struct vfile *f = vfile_find(key);

	if (dev->kind != FUSEDEV_KIND_UNATTACHED || !f || f->bound ||
	    !f->unbound_owner) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* The pending reference moves to the device open. */
	f->bound = true;
	f->unbound_owner = NULL;
	dev->kind = FUSEDEV_KIND_CLIENT;
	dev->file = f;
	f->dev = dev;
	fuse_reply_ioctl(req, 0, NULL, 0);
}

void devop_ioctl(fuse_req_t req, unsigned int cmd, void *arg,
		 struct fuse_file_info *fi, unsigned int flags,
		 const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct emu_dev *dev = fi_dev(fi);
	struct fusedev_whoami who;
	struct emu_dev *old;
	uint64_t key;
	int r;

	/* Every other command on a client's open is its file's. */
	if (dev->kind == FUSEDEV_KIND_CLIENT && cmd != FUSEDEV_IOC_WHOAMI &&
	    cmd != FUSEDEV_IOC_BIND && cmd != FUSEDEV_IOC_CLONE_KEY) {
		client_ioctl(req, dev, cmd, arg, flags, in_buf, in_bufsz,
			     out_bufsz);
		return;
	}
	/*
	 * CUSE passes ioctls unrestricted: the first call carries no data,
	 * and we ask the kernel to fetch (and to make room for) what the
	 * command's _IOC size and direction say (fuse_reply_ioctl_retry).
	 * The fusefile transport's restricted ioctls come with both.
	 */
	if ((flags & FUSE_IOCTL_UNRESTRICTED) &&
	    (cmd == FUSEDEV_IOC_WHOAMI || cmd == FUSEDEV_IOC_BIND ||
	     cmd == FUSEDEV_IOC_CLONE_KEY)) {
		size_t size = _IOC_SIZE(cmd);
		bool wr = _IOC_DIR(cmd) & _IOC_WRITE, rd = _IOC_DIR(cmd) & _IOC_READ;
		struct iovec iov = { arg, size };

		if ((wr && in_bufsz < size) || (rd && out_bufsz < size)) {
			fuse_reply_ioctl_retry(req, wr ? &iov : NULL, wr,
					       rd ? &iov : NULL, rd);
			return;
		}
	}
	switch (cmd) {
	case FUSEDEV_IOC_WHOAMI:
		if (out_bufsz < sizeof(who))
			break;
		memset(&who, 0, sizeof(who));
		who.key = dev->key;
		who.kind = dev->kind;
		if (dev->kind == FUSEDEV_KIND_CLIENT) {
			who.open_key = dev->file->key;
			who.flags = dev->file->flags;
		}
		fuse_reply_ioctl(req, 0, &who, sizeof(who));
		return;
	case FUSEDEV_IOC_BIND:
		if (in_bufsz != sizeof(key))
			break;
		memcpy(&key, in_buf, sizeof(key));
		ioctl_bind(req, dev, key);
		return;
	case FUSEDEV_IOC_CLONE_KEY:
		if (in_bufsz != sizeof(key))
			break;
		memcpy(&key, in_buf, sizeof(key));
		old = dev_find(key);
		if (old && old->kind == FUSEDEV_KIND_UNATTACHED) {
			fuse_reply_err(req, EPERM);	/* as Linux 6.x */
			return;
		}
		if (dev->kind != FUSEDEV_KIND_UNATTACHED || !old ||
		    old->kind != FUSEDEV_KIND_DAEMON) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		r = fdk_dev_clone(&dev->fdk, &old->fdk);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		dev->kind = FUSEDEV_KIND_DAEMON;
		fuse_reply_ioctl(req, 0, NULL, 0);
		return;
	case FUSE_DEV_IOC_CLONE:
		/* The old fd number never reaches us through a restricted
		 * ioctl; the daemon-side shim sends CLONE_KEY instead. */
		emu_dbg("FUSE_DEV_IOC_CLONE without the shim: EINVAL");
		fuse_reply_err(req, EINVAL);
		return;
	default:
		fuse_reply_err(req, ENOTTY);
		return;
	}
	fuse_reply_err(req, EINVAL);
}
