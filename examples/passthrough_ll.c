/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthrough_ll: mirrors a source directory, low-level libfuse3 API,
 * multi-threaded unless -s.  Plain libfuse3, no cuse-fusedev headers.
 *
 * Every inode the kernel knows is one entry of a table keyed by the
 * source's (st_dev, st_ino), holding an O_PATH fd of the source object
 * and the kernel's lookup count; the entry goes when FORGET brings the
 * count to zero.  Operations act on those fds (*at(2) calls relative to
 * them, or /proc/self/fd/N where no *at form exists).
 *
 * File locks (getlk/setlk/flock, so FUSE_POSIX_LOCKS and FUSE_FLOCK_LOCKS
 * in INIT): a small table here, keyed by the lock owner the kernel sends,
 * not locks on the source files.  Locks on per-open fds cannot stand in:
 * a POSIX owner (a process) spans all its opens of a file, and a thread
 * blocked in F_SETLKW on a source fd could not be woken by
 * FUSE_INTERRUPT.  So these locks are seen only through this mount;
 * SETLKW waits on a condition variable (one worker thread each; with -s
 * a blocking lock would stall the daemon), and an interrupt ends it with
 * EINTR.
 *
 * The daemon has a write_buf operation on purpose: with it, libfuse
 * receives requests with splice(2) where it can, a path an emulated
 * device has to support.  -o plain_write drops it (libfuse then reads
 * requests with read(2) and calls write).  -o splice asks for
 * FUSE_CAP_SPLICE_READ, _WRITE and _MOVE and answers READ with the source
 * file's data as a file buffer: libfuse then splices replies into the
 * device too.
 *
 * Options:
 *	-o source=DIR		directory to mirror (default "/")
 *	-o timeout=SECONDS	entry and attribute timeout (default 1.0;
 *				0 makes every stat reach the daemon)
 *	-o plain_write		no write_buf operation (no splice receive)
 *	-o splice		splice replies to the device as well
 *	and the usual libfuse ones (-f, -s, -d, -o clone_fd, ...).
 *
 * Build (part of the project build, or on its own):
 *
 *	meson setup build && ninja -C build
 *	gcc -Wall passthrough_ll.c $(pkg-config fuse3 --cflags --libs) \
 *		-o passthrough_ll
 *
 * Run under emulation (no kernel mount; only processes started under the
 * same `fusedev run` see the filesystem):
 *
 *	mkdir -p /tmp/mnt
 *	build/cuse_fusedev/fusedev run -- sh -c '
 *	  build/examples/passthrough_ll -f -o source=/usr /tmp/mnt & d=$!
 *	  timeout 10 sh -c "until [ -e /tmp/mnt/bin ]; do sleep .1; done"
 *	  ls /tmp/mnt/bin | head -3
 *	  head -3 /tmp/mnt/share/common-licenses/GPL-2
 *	  kill $d; wait $d'
 *
 * Mount with kernel FUSE instead:
 *
 *	build/examples/passthrough_ll -o source=/usr /tmp/mnt
 *	ls -l /tmp/mnt/bin | head
 *	fusermount3 -u /tmp/mnt
 */
#define FUSE_USE_VERSION 35
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <fuse_lowlevel.h>

struct pt_inode {
	struct pt_inode *hnext;		/* hash chain */
	int fd;				/* O_PATH, O_NOFOLLOW */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;		/* guarded by pt.lock */
};

struct pt_dir {
	pthread_mutex_t lock;
	DIR *dp;
	off_t offset;			/* position of @entry */
	struct dirent *entry;		/* read but not yet sent, or NULL */
};

static struct pt {
	pthread_mutex_t lock;
	struct pt_inode root;
	struct pt_inode **buckets;
	size_t nbuckets;		/* power of two */
	size_t count;
	/* options */
	char *source;
	double timeout;
	int plain_write;
	int splice;
} pt = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- inode table ------------------------------------------------------ */

static struct pt_inode *inode_of(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &pt.root;
	return (struct pt_inode *)(uintptr_t)ino;
}

static fuse_ino_t nodeid_of(struct pt_inode *in)
{
	if (in == &pt.root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)in;
}

static int fd_of(fuse_ino_t ino)
{
	return inode_of(ino)->fd;
}

static size_t key_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 31));
}

/* Caller holds pt.lock. */
static struct pt_inode **table_slot(dev_t dev, ino_t ino)
{
	struct pt_inode **pp;

	pp = &pt.buckets[key_hash(dev, ino) & (pt.nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->dev == dev && (*pp)->ino == ino)
			break;
	return pp;
}

/* Caller holds pt.lock.  Failure to grow only makes chains longer. */
static void table_grow(void)
{
	size_t i, n = pt.nbuckets * 2;
	struct pt_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < pt.nbuckets; i++) {
		struct pt_inode *in, *next;

		for (in = pt.buckets[i]; in; in = next) {
			size_t h = key_hash(in->dev, in->ino) & (n - 1);

			next = in->hnext;
			in->hnext = b[h];
			b[h] = in;
		}
	}
	free(pt.buckets);
	pt.buckets = b;
	pt.nbuckets = n;
}

/*
 * Find or add the inode of the source object @fd (an O_PATH fd) with
 * attributes @st, and take one lookup of it.  Consumes @fd.
 */
static struct pt_inode *inode_get(int fd, const struct stat *st)
{
	struct pt_inode **pp, *in, *found = NULL;

	if (st->st_dev == pt.root.dev && st->st_ino == pt.root.ino) {
		close(fd);
		pthread_mutex_lock(&pt.lock);
		pt.root.nlookup++;
		pthread_mutex_unlock(&pt.lock);
		return &pt.root;
	}
	in = calloc(1, sizeof(*in));
	pthread_mutex_lock(&pt.lock);
	pp = table_slot(st->st_dev, st->st_ino);
	if (*pp) {
		found = *pp;
		found->nlookup++;
	} else if (in) {
		in->fd = fd;
		in->dev = st->st_dev;
		in->ino = st->st_ino;
		in->nlookup = 1;
		*pp = in;
		if (++pt.count > pt.nbuckets)
			table_grow();
	}
	pthread_mutex_unlock(&pt.lock);
	if (found || !in) {
		close(fd);
		free(in);
		return found;
	}
	return in;
}

/* Drop @n lookups of @in; the last one frees it. */
static void inode_put(struct pt_inode *in, uint64_t n)
{
	struct pt_inode **pp;
	int gone = 0;

	pthread_mutex_lock(&pt.lock);
	if (n > in->nlookup) {
		fprintf(stderr, "passthrough_ll: forget %llu > nlookup %llu\n",
			(unsigned long long)n,
			(unsigned long long)in->nlookup);
		n = in->nlookup;
	}
	in->nlookup -= n;
	if (in->nlookup == 0 && in != &pt.root) {
		pp = table_slot(in->dev, in->ino);
		if (*pp == in) {
			*pp = in->hnext;
			pt.count--;
			gone = 1;
		}
	}
	pthread_mutex_unlock(&pt.lock);
	if (gone) {
		close(in->fd);
		free(in);
	}
}

static void proc_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* ---- lookups ---------------------------------------------------------- */

/* Look @name up in @parent and take one lookup of it; >= 0 or -errno. */
static int do_lookup(fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	struct pt_inode *in;
	int fd;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = pt.timeout;
	e->entry_timeout = pt.timeout;
	fd = openat(fd_of(parent), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &e->attr,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	in = inode_get(fd, &e->attr);
	if (!in)
		return -ENOMEM;
	e->ino = nodeid_of(in);
	return 0;
}

static void reply_entry_or_put(fuse_req_t req, struct fuse_entry_param *e)
{
	if (fuse_reply_entry(req, e) != 0)
		inode_put(inode_of(e->ino), 1);
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = do_lookup(parent, name, &e);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry_or_put(req, &e);
}

static void pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_put(inode_of(ino), nlookup);
	fuse_reply_none(req);
}

static void pt_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		inode_put(inode_of(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- attributes ------------------------------------------------------- */

static void pt_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	if (fstatat(fd_of(ino), "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, pt.timeout);
}

static int do_setattr(fuse_ino_t ino, struct stat *attr, int valid,
		      struct fuse_file_info *fi)
{
	int fd = fd_of(ino);
	char path[64];

	proc_path(path, sizeof(path), fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if ((fi ? fchmod(fi->fh, attr->st_mode)
			: chmod(path, attr->st_mode)) < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : -1u;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : -1u;

		if (fchownat(fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if ((fi ? ftruncate(fi->fh, attr->st_size)
			: truncate(path, attr->st_size)) < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {
			{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
		};

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		if ((fi ? futimens(fi->fh, tv)
			: utimensat(AT_FDCWD, path, tv, 0)) < 0)
			return -errno;
	}
	return 0;
}

static void pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	int r = do_setattr(ino, attr, valid, fi);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		pt_getattr(req, ino, fi);
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(fd_of(ino), "", buf, sizeof(buf));

	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* ---- namespace -------------------------------------------------------- */

/* After a creating call returned @res, reply with the new entry. */
static void reply_created(fuse_req_t req, int res, fuse_ino_t parent,
			  const char *name)
{
	struct fuse_entry_param e;
	int r;

	if (res < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	r = do_lookup(parent, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry_or_put(req, &e);
}

static void pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	reply_created(req, mknodat(fd_of(parent), name, mode, rdev),
		      parent, name);
}

static void pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	reply_created(req, mkdirat(fd_of(parent), name, mode), parent, name);
}

static void pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	reply_created(req, symlinkat(link, fd_of(parent), name), parent,
		      name);
}

static void pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	int fd = fd_of(ino), res;
	char path[64];

	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link not. */
	res = linkat(fd, "", fd_of(newparent), newname, AT_EMPTY_PATH);
	if (res < 0 && (errno == ENOENT || errno == EPERM)) {
		proc_path(path, sizeof(path), fd);
		res = linkat(AT_FDCWD, path, fd_of(newparent), newname,
			     AT_SYMLINK_FOLLOW);
	}
	reply_created(req, res, newparent, newname);
}

static void pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int res = unlinkat(fd_of(parent), name, 0);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

static void pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int res = unlinkat(fd_of(parent), name, AT_REMOVEDIR);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

static void pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	int res = renameat2(fd_of(parent), name, fd_of(newparent), newname,
			    flags);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

/* ---- directories ------------------------------------------------------ */

static struct pt_dir *dir_of(struct fuse_file_info *fi)
{
	return (struct pt_dir *)(uintptr_t)fi->fh;
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct pt_dir *d = calloc(1, sizeof(*d));
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = openat(fd_of(ino), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out_err;
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		errno = err;
		goto out_err;
	}
	pthread_mutex_init(&d->lock, NULL);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0) {
		closedir(d->dp);
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
	return;
out_err:
	err = errno;
	free(d);
	fuse_reply_err(req, err);
}

static int is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/*
 * Fill one buffer from offset @off.  With @plus each entry but "." and
 * ".." is looked up (one lookup the kernel takes when it receives the
 * entry; undone if the reply does not arrive).  An entry that does not
 * fit stays in @d->entry for the next call.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, int plus)
{
	struct pt_dir *d = dir_of(fi);
	struct pt_inode **looked = NULL;
	size_t nlooked = 0, rem = size, len, i;
	char *buf, *p;
	int err = 0;

	buf = p = malloc(size ? size : 1);
	if (plus)
		looked = malloc((size / 32 + 1) * sizeof(*looked));
	if (!buf || (plus && !looked)) {
		free(buf);
		free(looked);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct fuse_entry_param e;
		const char *name;
		off_t next;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		name = d->entry->d_name;
		next = d->entry->d_off;
		if (plus && !is_dot(name)) {
			int r = do_lookup(ino, name, &e);

			if (r == -ENOENT) {
				/* Gone since readdir(3) saw it. */
				d->entry = NULL;
				d->offset = next;
				continue;
			}
			if (r < 0) {
				err = -r;
				break;
			}
			len = fuse_add_direntry_plus(req, p, rem, name, &e,
						     next);
			if (len > rem) {
				inode_put(inode_of(e.ino), 1);
				break;
			}
			looked[nlooked++] = inode_of(e.ino);
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = d->entry->d_ino;
			e.attr.st_mode = d->entry->d_type << 12;
			if (plus)
				len = fuse_add_direntry_plus(req, p, rem,
							     name, &e, next);
			else
				len = fuse_add_direntry(req, p, rem, name,
							&e.attr, next);
			if (len > rem)
				break;
		}
		p += len;
		rem -= len;
		d->entry = NULL;
		d->offset = next;
	}
	pthread_mutex_unlock(&d->lock);
	/* An error after some entries: send those, the next call sees it. */
	if (err && p == buf)
		fuse_reply_err(req, err);
	else if (fuse_reply_buf(req, buf, p - buf) != 0)
		for (i = 0; i < nlooked; i++)
			inode_put(looked[i], 1);
	free(looked);
	free(buf);
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void pt_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct pt_dir *d = dir_of(fi);

	closedir(d->dp);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

static void pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	int fd = dirfd(dir_of(fi)->dp);
	int res = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

/* ---- files ------------------------------------------------------------ */

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[64];
	int fd;

	proc_path(path, sizeof(path), fd_of(ino));
	fd = open(path, (fi->flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) |
		  O_CLOEXEC);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = fd;
	if (fuse_reply_open(req, fi) != 0)
		close(fd);
}

static void pt_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int fd, r;

	fd = openat(fd_of(parent), name,
		    (fi->flags & ~O_NOFOLLOW) | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	r = do_lookup(parent, name, &e);
	if (r < 0) {
		close(fd);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = fd;
	if (fuse_reply_create(req, &e, fi) != 0) {
		close(fd);
		inode_put(inode_of(e.ino), 1);
	}
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf;
	ssize_t n;

	if (pt.splice) {
		/* libfuse moves the file's pages to the device */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fi->fh;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = pread(fi->fh, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void pt_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pwrite(fi->fh, buf, size, off);

	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, n);
}

/* The data may still sit in the pipe libfuse spliced the request into. */
static void pt_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fi->fh;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		fuse_reply_write(req, n);
}

/* ---- locks ------------------------------------------------------------ */

#define PT_OFFSET_MAX	INT64_MAX

struct pt_lock {
	struct pt_lock *next;
	fuse_ino_t ino;
	uint64_t owner;			/* the kernel's lock owner id */
	uint64_t fh;			/* taken through this open */
	int flock;			/* flock(2) lock: its own space */
	int type;			/* F_RDLCK, F_WRLCK */
	pid_t pid;
	int64_t start, end;		/* inclusive */
};

struct pt_waiter {
	struct pt_waiter *next;
	uint64_t owner, blocker;
	int intr;
};

static pthread_mutex_t lk_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lk_cond = PTHREAD_COND_INITIALIZER;
static struct pt_lock *lk_list;
static struct pt_waiter *lk_waiters;

static struct pt_lock *lk_conflict(fuse_ino_t ino, int flock, uint64_t owner,
				   int type, int64_t start, int64_t end)
{
	struct pt_lock *l;

	for (l = lk_list; l; l = l->next)
		if (l->ino == ino && l->flock == flock && l->owner != owner &&
		    l->start <= end && start <= l->end &&
		    (l->type == F_WRLCK || type == F_WRLCK))
			return l;
	return NULL;
}

/* Does the owner of @blocker (transitively) wait for @owner? */
static int lk_deadlock(uint64_t owner, uint64_t blocker)
{
	int i;

	for (i = 0; i < 10; i++) {
		struct pt_waiter *w;

		for (w = lk_waiters; w && w->owner != blocker; w = w->next)
			;
		if (!w)
			return 0;
		if (w->blocker == owner)
			return 1;
		blocker = w->blocker;
	}
	return 0;
}

/* @owner's locks on @ino become @type on [start, end]: same-type
 * neighbours merge, other-type ones are cut or split. */
static int lk_apply(fuse_ino_t ino, int flock, uint64_t owner, uint64_t fh,
		    pid_t pid, int type, int64_t start, int64_t end)
{
	struct pt_lock **pp = &lk_list, *l, *n;
	int64_t ns = start, ne = end;

	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOLCK;
	while ((l = *pp)) {
		int touch = (end == PT_OFFSET_MAX || l->start <= end + 1) &&
			    (l->end == PT_OFFSET_MAX || start <= l->end + 1);

		if (l->ino != ino || l->flock != flock || l->owner != owner) {
			pp = &l->next;
			continue;
		}
		if (type != F_UNLCK && l->type == type && touch) {
			if (l->start < ns)
				ns = l->start;
			if (l->end > ne)
				ne = l->end;
			*pp = l->next;
			free(l);
			continue;
		}
		if (l->end < start || l->start > end) {
			pp = &l->next;
			continue;
		}
		if (l->start < start && l->end > end) {
			struct pt_lock *r = malloc(sizeof(*r));

			if (!r) {
				free(n);
				return ENOLCK;
			}
			*r = *l;
			r->start = end + 1;
			l->end = start - 1;
			l->next = r;
			pp = &r->next;
		} else if (l->start < start) {
			l->end = start - 1;
			pp = &l->next;
		} else if (l->end > end) {
			l->start = end + 1;
			pp = &l->next;
		} else {
			*pp = l->next;
			free(l);
		}
	}
	if (type != F_UNLCK) {
		n->ino = ino;
		n->owner = owner;
		n->fh = fh;
		n->flock = flock;
		n->type = type;
		n->pid = pid;
		n->start = ns;
		n->end = ne;
		n->next = lk_list;
		lk_list = n;
	} else {
		free(n);
	}
	pthread_cond_broadcast(&lk_cond);
	return 0;
}

static void lk_interrupted(fuse_req_t req, void *data)
{
	struct pt_waiter *w = data;

	pthread_mutex_lock(&lk_mutex);
	w->intr = 1;
	pthread_cond_broadcast(&lk_cond);
	pthread_mutex_unlock(&lk_mutex);
}

static int lk_set(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		  int flock, int type, int64_t start, int64_t end, pid_t pid,
		  int sleep)
{
	struct pt_waiter w = { .owner = fi->lock_owner };
	int err;

	if (sleep)
		fuse_req_interrupt_func(req, lk_interrupted, &w);
	pthread_mutex_lock(&lk_mutex);
	for (;;) {
		struct pt_lock *c = NULL;

		if (flock) {
			/* a conversion drops the old lock first */
			err = lk_apply(ino, 1, w.owner, fi->fh, pid, F_UNLCK,
				       0, PT_OFFSET_MAX);
			if (err || type == F_UNLCK)
				break;
		}
		if (type != F_UNLCK)
			c = lk_conflict(ino, flock, w.owner, type, start, end);
		if (!c) {
			err = lk_apply(ino, flock, w.owner, fi->fh, pid, type,
				       start, end);
			break;
		}
		err = EAGAIN;
		if (!sleep)
			break;
		err = EDEADLK;
		if (!flock && lk_deadlock(w.owner, c->owner))
			break;
		err = EINTR;
		if (w.intr)
			break;
		w.blocker = c->owner;
		w.next = lk_waiters;
		lk_waiters = &w;
		pthread_cond_wait(&lk_cond, &lk_mutex);
		{
			struct pt_waiter **pp = &lk_waiters;

			while (*pp != &w)
				pp = &(*pp)->next;
			*pp = w.next;
		}
	}
	pthread_mutex_unlock(&lk_mutex);
	if (sleep)
		fuse_req_interrupt_func(req, NULL, NULL);
	return err;
}

static void lk_range(const struct flock *lock, int64_t *start, int64_t *end)
{
	*start = lock->l_start;
	*end = lock->l_len ? lock->l_start + lock->l_len - 1 : PT_OFFSET_MAX;
}

static void pt_getlk(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi, struct flock *lock)
{
	struct pt_lock *c = NULL, *l;
	int64_t start, end;

	lk_range(lock, &start, &end);
	pthread_mutex_lock(&lk_mutex);
	if (lock->l_type == F_UNLCK) {
		/* F_OFD_GETLK with F_UNLCK: the owner's own lock */
		for (l = lk_list; l && !c; l = l->next)
			if (l->ino == ino && !l->flock &&
			    l->owner == fi->lock_owner &&
			    l->start <= end && start <= l->end)
				c = l;
	} else {
		c = lk_conflict(ino, 0, fi->lock_owner, lock->l_type, start,
				end);
	}
	if (c) {
		lock->l_type = c->type;
		lock->l_whence = SEEK_SET;
		lock->l_start = c->start;
		lock->l_len = c->end == PT_OFFSET_MAX ? 0 :
			      c->end - c->start + 1;
		lock->l_pid = c->pid;
	} else {
		lock->l_type = F_UNLCK;
	}
	pthread_mutex_unlock(&lk_mutex);
	fuse_reply_lock(req, lock);
}

static void pt_setlk(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi, struct flock *lock, int sleep)
{
	int64_t start, end;

	lk_range(lock, &start, &end);
	fuse_reply_err(req, lk_set(req, ino, fi, 0, lock->l_type, start, end,
				   lock->l_pid, sleep));
}

static void pt_flock(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi, int op)
{
	int type = (op & LOCK_EX) ? F_WRLCK : (op & LOCK_SH) ? F_RDLCK :
		   F_UNLCK;

	fuse_reply_err(req, lk_set(req, ino, fi, 1, type, 0, PT_OFFSET_MAX,
				   0, !(op & LOCK_NB)));
}

/* FLUSH: the closing process's POSIX locks on @ino; RELEASE: every lock
 * taken through the open (OFD and flock owners die with it). */
static void lk_drop(fuse_ino_t ino, uint64_t owner, uint64_t fh, int by_fh)
{
	struct pt_lock **pp = &lk_list, *l;

	pthread_mutex_lock(&lk_mutex);
	while ((l = *pp)) {
		if (l->ino == ino && (by_fh ? l->fh == fh :
				      !l->flock && l->owner == owner)) {
			*pp = l->next;
			free(l);
		} else {
			pp = &l->next;
		}
	}
	pthread_cond_broadcast(&lk_cond);
	pthread_mutex_unlock(&lk_mutex);
}

static void pt_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	/* close() of a dup reports what a close of the file would. */
	int res = close(dup(fi->fh));

	lk_drop(ino, fi->lock_owner, 0, 0);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	lk_drop(ino, 0, fi->fh, 1);
	close(fi->fh);
	fuse_reply_err(req, 0);
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	int res = datasync ? fdatasync(fi->fh) : fsync(fi->fh);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

static void pt_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t off, off_t len, struct fuse_file_info *fi)
{
	int res = fallocate(fi->fh, mode, off, len);

	fuse_reply_err(req, res < 0 ? errno : 0);
}

static void pt_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t res = lseek(fi->fh, off, whence);

	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

/* ---- filesystem, access, xattrs --------------------------------------- */

static void pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(fd_of(ino), &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void pt_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	char path[64];

	proc_path(path, sizeof(path), fd_of(ino));
	fuse_reply_err(req, access(path, mask) < 0 ? errno : 0);
}

static void pt_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	char path[64];

	proc_path(path, sizeof(path), fd_of(ino));
	fuse_reply_err(req, setxattr(path, name, value, size, flags) < 0 ?
		       errno : 0);
}

static void pt_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	char path[64], *buf;
	ssize_t n;

	proc_path(path, sizeof(path), fd_of(ino));
	if (size == 0) {
		n = getxattr(path, name, NULL, 0);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_xattr(req, n);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = getxattr(path, name, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void pt_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[64], *buf;
	ssize_t n;

	proc_path(path, sizeof(path), fd_of(ino));
	if (size == 0) {
		n = listxattr(path, NULL, 0);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_xattr(req, n);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = listxattr(path, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void pt_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[64];

	proc_path(path, sizeof(path), fd_of(ino));
	fuse_reply_err(req, removexattr(path, name) < 0 ? errno : 0);
}

static void pt_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	if (pt.splice)
		conn->want |= conn->capable & (FUSE_CAP_SPLICE_READ |
					       FUSE_CAP_SPLICE_WRITE |
					       FUSE_CAP_SPLICE_MOVE);
}

static struct fuse_lowlevel_ops pt_ops = {
	.init		= pt_init,
	.lookup		= pt_lookup,
	.forget		= pt_forget,
	.forget_multi	= pt_forget_multi,
	.getattr	= pt_getattr,
	.setattr	= pt_setattr,
	.readlink	= pt_readlink,
	.mknod		= pt_mknod,
	.mkdir		= pt_mkdir,
	.symlink	= pt_symlink,
	.link		= pt_link,
	.unlink		= pt_unlink,
	.rmdir		= pt_rmdir,
	.rename		= pt_rename,
	.opendir	= pt_opendir,
	.readdir	= pt_readdir,
	.readdirplus	= pt_readdirplus,
	.releasedir	= pt_releasedir,
	.fsyncdir	= pt_fsyncdir,
	.open		= pt_open,
	.create		= pt_create,
	.read		= pt_read,
	.write		= pt_write,
	.write_buf	= pt_write_buf,
	.flush		= pt_flush,
	.release	= pt_release,
	.getlk		= pt_getlk,
	.setlk		= pt_setlk,
	.flock		= pt_flock,
	.fsync		= pt_fsync,
	.fallocate	= pt_fallocate,
	.lseek		= pt_lseek,
	.statfs		= pt_statfs,
	.access		= pt_access,
	.setxattr	= pt_setxattr,
	.getxattr	= pt_getxattr,
	.listxattr	= pt_listxattr,
	.removexattr	= pt_removexattr,
};

/* ---- main ------------------------------------------------------------- */

static const struct fuse_opt pt_opts[] = {
	{ "source=%s", offsetof(struct pt, source), 0 },
	{ "timeout=%lf", offsetof(struct pt, timeout), 0 },
	{ "plain_write", offsetof(struct pt, plain_write), 1 },
	{ "splice", offsetof(struct pt, splice), 1 },
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [options] <mountpoint>\n\n"
	       "    -o source=DIR          directory to mirror (default /)\n"
	       "    -o timeout=SECONDS     entry and attribute timeout"
	       " (default 1.0)\n"
	       "    -o plain_write         no write_buf operation\n"
	       "    -o splice              splice replies as well\n\n",
	       prog);
}

static int open_root(void)
{
	struct stat st;

	pt.root.fd = open(pt.source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pt.root.fd < 0 || fstat(pt.root.fd, &st) < 0)
		return -errno;
	pt.root.dev = st.st_dev;
	pt.root.ino = st.st_ino;
	pt.root.nlookup = 2;	/* never reaches zero */
	pt.nbuckets = 1024;
	pt.buckets = calloc(pt.nbuckets, sizeof(*pt.buckets));
	return pt.buckets ? 0 : -ENOMEM;
}

static void free_table(void)
{
	size_t i;

	for (i = 0; pt.buckets && i < pt.nbuckets; i++) {
		struct pt_inode *in, *next;

		for (in = pt.buckets[i]; in; in = next) {
			next = in->hnext;
			close(in->fd);
			free(in);
		}
	}
	free(pt.buckets);
	if (pt.root.fd > 0)
		close(pt.root.fd);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_loop_config config;
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int r, ret = 1;

	pt.timeout = 1.0;
	if (fuse_opt_parse(&args, &pt, pt_opts, NULL) != 0)
		return 1;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [options] <mountpoint>\n", argv[0]);
		goto out_args;
	}
	if (pt.timeout < 0) {
		fprintf(stderr, "%s: timeout must be >= 0\n", argv[0]);
		goto out_args;
	}
	if (!pt.source)
		pt.source = strdup("/");
	r = pt.source ? open_root() : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "%s: source %s: %s\n", argv[0],
			pt.source ? pt.source : "/", strerror(-r));
		goto out_table;
	}
	if (pt.plain_write)
		pt_ops.write_buf = NULL;

	se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), NULL);
	if (!se)
		goto out_table;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);
	/* > 0: stopped by that signal, a normal end. */
	if (opts.singlethread) {
		ret = fuse_session_loop(se) < 0;
	} else {
		config.clone_fd = opts.clone_fd;
		/* UINT_MAX: not given on the command line */
		config.max_idle_threads = opts.max_idle_threads != UINT_MAX ?
					  opts.max_idle_threads : 10;
		ret = fuse_session_loop_mt(se, &config) < 0;
	}
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_table:
	free_table();
out_args:
	free(pt.source);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
