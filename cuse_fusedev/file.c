/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Open files (Linux fs/fuse/file.c, readdir.c): OPEN/OPENDIR and CREATE,
 * READ, WRITE, FLUSH, FSYNC, RELEASE/RELEASEDIR, READDIR(PLUS), and the
 * port's calls by open file.
 *
 * An open file belongs to the emulator: its fh, flags and position are
 * shared by every fd that refers to it (dup, fork, SCM_RIGHTS), because
 * each of those is one open of the device bound to it.  There is no page
 * cache: data always comes from the daemon; reads of files not opened
 * direct_io stop at the cached size, as Linux's cached reads do.
 */
#include <dirent.h>
#include <linux/falloc.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "lock.h"
#include "vfs_i.h"

#define VFILE_HASH 1024

static struct vfile *vfile_hash[VFILE_HASH];

struct vfile *vfile_find(uint64_t key)
{
	struct vfile *f;

	for (f = vfile_hash[key % VFILE_HASH]; f; f = f->hnext)
		if (f->key == key)
			return f;
	return NULL;
}

static void vfile_unhash(struct vfile *f)
{
	struct vfile **pp;

	for (pp = &vfile_hash[f->key % VFILE_HASH]; *pp; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			return;
		}
	}
}

/* At exit: the connections are gone, nothing is sent. */
void vfile_free_all(void)
{
	size_t k;

	lock_free_all();
	for (k = 0; k < VFILE_HASH; k++) {
		while (vfile_hash[k]) {
			struct vfile *f = vfile_hash[k];

			vfile_hash[k] = f->hnext;
			vinode_put(f->inode);
			f->m->nfiles--;
			free(f->path);
			free(f);
		}
	}
}

void vfile_get(struct vfile *f)
{
	f->refs++;
}

static uint32_t chunk_limit(struct vmount *m, bool writing)
{
	uint32_t n = m->fc.max_pages * FDK_PAGE_SIZE;

	if (writing && m->fc.max_write < n)
		n = m->fc.max_write;
	if (!writing && m->fc.max_read < n)
		n = m->fc.max_read;
	return n ? n : FDK_PAGE_SIZE;
}

/* ---- poll (fuse_file_poll, fuse_notify_poll_wakeup) ----------------- */

#define POLLED_HASH 256
/* fs/select.c: what a file system without poll answers */
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/*
 * Files whose daemon was asked to notify (fc->polled_files), by kh: a
 * file stays from its first such poll until it goes, as in Linux.
 */
static struct vfile *polled_hash[POLLED_HASH];

static void polled_add(struct vfile *f)
{
	if (f->polled)
		return;
	f->polled = true;
	f->pnext = polled_hash[f->kh % POLLED_HASH];
	polled_hash[f->kh % POLLED_HASH] = f;
}

static void polled_del(struct vfile *f)
{
	struct vfile **pp;

	if (!f->polled)
		return;
	for (pp = &polled_hash[f->kh % POLLED_HASH]; *pp; pp = &(*pp)->pnext) {
		if (*pp == f) {
			*pp = f->pnext;
			break;
		}
	}
	f->polled = false;
}

/*
 * fuse_file_poll: the daemon's revents for @events; @notify when a
 * poller will wait (FUSE_POLL_SCHEDULE_NOTIFY).  A daemon that answers
 * ENOSYS is not asked again.  Directories have no poll in Linux FUSE.
 */
unsigned int vfile_poll(const struct emu_cred *cred, struct vfile *f,
			uint32_t events, bool notify)
{
	struct fuse_poll_in arg = { 0 };
	struct fuse_poll_out out = { 0 };
	struct fdk_req req;
	int r;

	/* Linux: POLLNVAL, which no driver can answer: an error at least */
	if (f->flags & O_PATH)
		return POLLERR;
	if (f->isdir || f->m->no_poll)
		return DEFAULT_POLLMASK;
	arg.fh = f->fh;
	arg.kh = f->kh;
	arg.events = events;
	if (notify) {
		arg.flags |= FUSE_POLL_SCHEDULE_NOTIFY;
		polled_add(f);
	}
	vfs_req_init(&req, FUSE_POLL, f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_out(&req, &out, sizeof(out));
	r = vfs_request(f->m, cred, &req);
	if (!r)
		return out.revents;
	if (r == -ENOSYS) {
		f->m->no_poll = true;
		return DEFAULT_POLLMASK;
	}
	return POLLERR;
}

/* FUSE_NOTIFY_POLL: wake the pollers of the file @kh names, if any. */
void vfs_poll_wakeup(struct fdk_conn *fc, uint64_t kh)
{
	struct vfile *f;

	for (f = polled_hash[kh % POLLED_HASH]; f; f = f->pnext) {
		if (f->kh == kh && f->m == fc->priv) {
			if (f->dev)
				dev_poll_wakeup(f->dev);
			return;
		}
	}
}

/* ---- release -------------------------------------------------------- */

struct vrelease {
	struct fdk_req req;
	struct fuse_release_in in;
	struct vfile *f;
};

static void release_done(void *data)
{
	struct vrelease *r = data;
	struct vfile *f = r->f;
	struct vmount *m = f->m;

	lock_file_released(f);
	vinode_put(f->inode);
	m->nreleasing--;
	free(f->path);
	free(f);
	free(r);
	vfs_mount_file_gone(m);
}

static void release_end(struct fdk_req *req)
{
	loop_defer(release_done, req->owner);
}

/*
 * fuse_file_put: the file is gone from the mount at once (an unmount
 * need not wait), RELEASE goes in the background, and the inode is held
 * until the daemon answers.
 */
void vfile_put(struct vfile *f)
{
	struct vrelease *r;

	if (!f || --f->refs)
		return;
	lock_file_gone(f);
	vfile_unhash(f);
	polled_del(f);
	f->m->nfiles--;
	f->m->nreleasing++;
	r = calloc(1, sizeof(*r));
	if (!r) {
		emu_log("out of memory: RELEASE of %s not sent", f->path);
		lock_file_released(f);
		vinode_put(f->inode);
		f->m->nreleasing--;
		vfs_mount_file_gone(f->m);
		free(f->path);
		free(f);
		return;
	}
	r->f = f;
	if (f->no_release || (f->flags & O_PATH)) {
		loop_defer(release_done, r);
		return;
	}
	r->f = f;
	r->in.fh = f->fh;
	r->in.flags = f->flags;
	if (f->lock_owner) {
		/* flock locks went to the daemon (lock.c) */
		r->in.release_flags |= FUSE_RELEASE_FLOCK_UNLOCK;
		r->in.lock_owner = f->lock_owner;
	}
	vfs_req_init(&r->req, f->isdir ? FUSE_RELEASEDIR : FUSE_RELEASE,
		     f->inode->nodeid);
	vfs_in(&r->req, &r->in, sizeof(r->in));
	r->req.flags = FR_ISREPLY | FR_FORCE | FR_BACKGROUND;
	r->req.end = release_end;
	r->req.owner = r;
	fdk_send(&f->m->fc, &r->req);
	vfs_mount_file_gone(f->m);	/* a lazy unmount may go on now */
}

void vfile_drop_unbound(void *owner)
{
	size_t k;

	for (k = 0; k < VFILE_HASH; k++) {
		struct vfile *f = vfile_hash[k], *next;

		for (; f; f = next) {
			next = f->hnext;
			if (!f->bound && f->unbound_owner == owner) {
				f->unbound_owner = NULL;
				vfile_put(f);
			}
		}
	}
}

static int vfile_new(struct vinode *in, int flags, const char *path,
		     void *owner, const struct fuse_open_out *oo,
		     const struct emu_cred *cred, struct vfile **out)
{
	struct vfile *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	do
		f->key = emu_random64();
	while (vfile_find(f->key));
	f->m = in->m;
	f->inode = in;
	vinode_get(in);
	f->fh = oo->fh;
	f->open_flags = oo->open_flags;
	f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	f->isdir = S_ISDIR(in->attr.mode);
	f->kh = ++in->m->khctr;		/* fuse_file_alloc */
	f->refs = 1;
	f->unbound_owner = owner;
	f->cred = *cred;
	f->hnext = vfile_hash[f->key % VFILE_HASH];
	vfile_hash[f->key % VFILE_HASH] = f;
	in->m->nfiles++;
	*out = f;
	return 0;
}

/* ---- open and create ------------------------------------------------ */

static int open_mask(int flags)
{
	int acc = flags & O_ACCMODE, mask = 0;

	if (acc == O_RDONLY || acc == O_RDWR)
		mask |= 4;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		mask |= 2;
	return mask;
}

/*
 * fuse_file_open: OPEN or OPENDIR of @in with @flags into @oo (left
 * zeroed where the daemon opens nothing).
 */
static int send_open(const struct emu_cred *cred, struct vinode *in,
		     int flags, struct fuse_open_out *oo, bool *no_release)
{
	struct vmount *m = in->m;
	bool isdir = S_ISDIR(in->attr.mode);
	struct fuse_open_in arg = { 0 };
	struct fdk_req req;
	int r;

	*no_release = false;
	arg.flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
	if (!(m->fc.flags & FUSE_ATOMIC_O_TRUNC))
		arg.flags &= ~O_TRUNC;
	if ((isdir && m->no_opendir) || (!isdir && m->no_open)) {
		/* fuse_file_open without OPEN: no RELEASE either */
		oo->open_flags = FOPEN_KEEP_CACHE |
				 (isdir ? FOPEN_CACHE_DIR : 0);
		*no_release = true;
		return 0;
	}
	vfs_req_init(&req, isdir ? FUSE_OPENDIR : FUSE_OPEN, in->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_out(&req, oo, sizeof(*oo));
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		/* fuse_file_open: the daemon needs no open, whatever its
		 * INIT flags said */
		if (isdir)
			m->no_opendir = true;
		else
			m->no_open = true;
		memset(oo, 0, sizeof(*oo));
		oo->open_flags = FOPEN_KEEP_CACHE |
				 (isdir ? FOPEN_CACHE_DIR : 0);
		*no_release = isdir;	/* a file's RELEASE still goes */
		r = 0;
	}
	return r;
}

/* fuse_open_common / fuse_do_open */
int vfile_open(const struct emu_cred *cred, struct vinode *in, int flags,
	       const char *path, void *owner, struct vfile **out)
{
	struct vmount *m = in->m;
	bool isdir = S_ISDIR(in->attr.mode);
	bool trunc = (flags & O_TRUNC) && !isdir;
	bool writing = (flags & O_ACCMODE) != O_RDONLY || trunc;
	struct fuse_open_out oo = { 0 };
	bool no_release;
	int r;

	if ((flags & O_DIRECTORY) && !isdir)
		return -ENOTDIR;
	if (isdir && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)))
		return -EISDIR;
	if (S_ISLNK(in->attr.mode))
		return -ELOOP;
	if (S_ISCHR(in->attr.mode) || S_ISBLK(in->attr.mode))
		return (m->mountflags & MS_NODEV) ? -EACCES : -ENXIO;
	if (S_ISFIFO(in->attr.mode) || S_ISSOCK(in->attr.mode))
		return -ENXIO;	/* no pipes or sockets behind a shim */
	if (writing && (m->mountflags & MS_RDONLY))
		return -EROFS;
	r = vfs_permission(cred, in, open_mask(flags));
	if (r < 0)
		return r;
	r = send_open(cred, in, flags, &oo, &no_release);
	if (r < 0)
		return r;
	r = vfile_new(in, flags, path, owner, &oo, cred, out);
	if (r < 0)
		return r;
	(*out)->no_release = no_release;
	if (trunc) {
		struct fuse_setattr_in sa = { 0 };

		/*
		 * handle_truncate, after the open and by its fh, under the
		 * inode's lock: do_truncate removes privileges
		 * (vfs_remove_privs); with FUSE_ATOMIC_O_TRUNC the OPEN
		 * truncated and no SETATTR follows (fuse_do_setattr's
		 * ATTR_OPEN).
		 */
		vfs_lock_two(in, NULL);
		r = vfs_remove_privs(cred, in, *out, &sa);
		if (r >= 0 && !(m->fc.flags & FUSE_ATOMIC_O_TRUNC)) {
			sa.valid |= FATTR_SIZE;
			if ((m->fc.flags & FUSE_HANDLE_KILLPRIV_V2) && cred->uid)
				sa.valid |= FATTR_KILL_SUIDGID;
			r = vfs_setattr(cred, in, *out, &sa);
		} else if (r >= 0) {
			/* fuse_finish_open with atomic_o_trunc */
			in->attr.size = 0;
			vfs_invalidate_attr(in, VFS_ATTR_MODSIZE);
		}
		vfs_unlock_two(in, NULL);
		if (r < 0) {
			(*out)->unbound_owner = NULL;
			vfile_put(*out);
			*out = NULL;
			return r;
		}
	}
	return 0;
}

/*
 * fuse_priv_ioctl_prepare: @in opened O_RDONLY for the VFS's own use
 * (the fileattr ioctls), without permission checks; vfile_put() sends
 * its RELEASE.
 */
int vfile_open_priv(const struct emu_cred *cred, struct vinode *in,
		    const char *path, struct vfile **out)
{
	struct fuse_open_out oo = { 0 };
	bool no_release;
	int r;

	r = send_open(cred, in, O_RDONLY, &oo, &no_release);
	if (r < 0)
		return r;
	r = vfile_new(in, O_RDONLY, path, NULL, &oo, cred, out);
	if (!r)
		(*out)->no_release = no_release;
	return r;
}

/* O_PATH: a file for the path alone; the daemon is not asked to open. */
int vfile_open_path(const struct emu_cred *cred, struct vinode *in,
		    int flags, const char *path, void *owner,
		    struct vfile **out)
{
	struct fuse_open_out oo = { 0 };

	flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if ((flags & O_DIRECTORY) && !S_ISDIR(in->attr.mode))
		return -ENOTDIR;
	return vfile_new(in, flags, path, owner, &oo, cred, out);
}

/*
 * O_TMPFILE (vfs_tmpfile, fuse_tmpfile): CREATE's arguments under
 * FUSE_TMPFILE, named "/" as Linux names the unlinked dentry.  A daemon
 * without it (ENOSYS) gives EOPNOTSUPP, from then on without asking.
 */
int vfile_tmpfile(const struct emu_cred *cred, struct vinode *dir,
		  int flags, mode_t mode, mode_t umask, const char *path,
		  void *owner, struct vfile **out)
{
	struct vmount *m = dir->m;
	struct fuse_create_in arg = { 0 };
	struct fuse_entry_out e = { 0 };
	struct fuse_open_out oo = { 0 };
	struct vfs_create_ext ext;
	struct vinode *in;
	struct fdk_req req;
	int r;

	if (!S_ISDIR(dir->attr.mode))
		return -ENOTDIR;
	if (m->mountflags & MS_RDONLY)
		return -EROFS;
	r = vfs_permission(cred, dir, 3);
	if (r < 0)
		return r;
	if (m->no_tmpfile)
		return -EOPNOTSUPP;
	flags &= ~(O_TMPFILE & ~O_DIRECTORY);
	flags &= ~(O_DIRECTORY | O_NOCTTY | O_CREAT | O_EXCL);
	arg.flags = flags;
	arg.mode = vfs_create_mode(cred, dir, (mode & 07777) | S_IFREG, umask);
	arg.umask = umask;
	vfs_req_init(&req, FUSE_TMPFILE, dir->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_in(&req, "/", 2);
	vfs_create_ext(cred, dir, &req, &ext);
	vfs_out(&req, &e, sizeof(e));
	vfs_out(&req, &oo, sizeof(oo));
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_tmpfile = true;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	if (!S_ISREG(e.attr.mode) || !e.nodeid || e.nodeid == FUSE_ROOT_ID) {
		fdk_queue_forget(&m->fc, e.nodeid, 1);
		return -EIO;
	}
	r = vinode_iget(m, &e, &in);
	if (r < 0) {
		fdk_queue_forget(&m->fc, e.nodeid, 1);
		return r;
	}
	r = vfile_new(in, flags, path, owner, &oo, cred, out);
	vinode_put(in);
	return r;
}

/* fuse_create_open, or MKNOD + OPEN when the daemon has no CREATE */
int vfile_create(const struct emu_cred *cred, struct vinode *dir,
		 const char *name, size_t len, int flags, mode_t mode,
		 mode_t umask, const char *path, void *owner,
		 struct vfile **out)
{
	struct vmount *m = dir->m;
	struct fuse_create_in arg = { 0 };
	struct fuse_entry_out e = { 0 };
	struct fuse_open_out oo = { 0 };
	struct vfs_create_ext ext;
	char nbuf[NAME_MAX + 1];
	struct vinode *in;
	struct fdk_req req;
	int r;

	if (m->mountflags & MS_RDONLY)
		return -EROFS;
	r = vfs_permission(cred, dir, 3);
	if (r < 0)
		return r;
	memcpy(nbuf, name, len);
	nbuf[len] = '\0';
	mode = vfs_create_mode(cred, dir, (mode & 07777) | S_IFREG, umask);
	if (!m->no_create) {
		arg.flags = flags & ~O_NOCTTY;
		arg.mode = mode;
		arg.umask = umask;
		if ((m->fc.flags & FUSE_HANDLE_KILLPRIV_V2) &&
		    (flags & O_TRUNC) && !(flags & O_EXCL) && cred->uid)
			arg.open_flags |= FUSE_OPEN_KILL_SUIDGID;
		vfs_req_init(&req, FUSE_CREATE, dir->nodeid);
		vfs_in(&req, &arg, sizeof(arg));
		vfs_in(&req, nbuf, len + 1);
		vfs_create_ext(cred, dir, &req, &ext);
		vfs_out(&req, &e, sizeof(e));
		vfs_out(&req, &oo, sizeof(oo));
		r = vfs_request(m, cred, &req);
		if (r != -ENOSYS) {
			if (r < 0)
				return r;
			if (!S_ISREG(e.attr.mode)) {
				fdk_queue_forget(&m->fc, e.nodeid, 1);
				return -EIO;
			}
			r = vfs_new_entry(dir, name, len, &e, &in);
			if (r < 0)
				return r;
			r = vfile_new(in, flags, path, owner, &oo, cred, out);
			vinode_put(in);
			return r;
		}
		m->no_create = true;
	}
	{
		struct fuse_mknod_in mk = { .mode = mode, .umask = umask };

		vfs_req_init(&req, FUSE_MKNOD, dir->nodeid);
		vfs_in(&req, &mk, sizeof(mk));
		vfs_in(&req, nbuf, len + 1);
		vfs_create_ext(cred, dir, &req, &ext);
		vfs_out(&req, &e, sizeof(e));
		r = vfs_request(m, cred, &req);
		if (r < 0)
			return r;
		r = vfs_new_entry(dir, name, len, &e, &in);
		if (r < 0)
			return r;
		r = vfile_open(cred, in, flags & ~O_TRUNC, path, owner, out);
		vinode_put(in);
		return r;
	}
}

/* ---- data ----------------------------------------------------------- */

ssize_t vfile_read(const struct emu_cred *cred, struct vfile *f, void *buf,
		   size_t size, int64_t off)
{
	struct vmount *m = f->m;
	uint64_t pos = off < 0 ? f->pos : (uint64_t)off;
	size_t done = 0;
	int r;

	if (f->flags & O_PATH)
		return -EBADF;
	if (f->isdir)
		return -EISDIR;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (!(f->open_flags & FOPEN_DIRECT_IO)) {
		/* fuse_cache_read_iter: reads end at the file's size, known
		 * afresh for each read with FUSE_AUTO_INVAL_DATA. */
		if ((m->fc.flags & FUSE_AUTO_INVAL_DATA) ||
		    pos + size > f->inode->attr.size) {
			r = vfs_fresh_attr(cred, f->inode, f, VFS_ATTR_INTERNAL);
			if (r < 0)
				return r;
		}
		if (pos >= f->inode->attr.size)
			return 0;
		if (size > f->inode->attr.size - pos)
			size = f->inode->attr.size - pos;
	}
	while (done < size) {
		struct fuse_read_in arg = { 0 };
		uint32_t n = chunk_limit(m, false);
		struct fdk_req req;

		if (n > size - done)
			n = size - done;
		arg.fh = f->fh;
		arg.offset = pos;
		arg.size = n;
		arg.flags = f->flags;
		vfs_req_init(&req, FUSE_READ, f->inode->nodeid);
		vfs_in(&req, &arg, sizeof(arg));
		vfs_out(&req, (char *)buf + done, n);
		req.out_argvar = true;
		r = vfs_request(m, cred, &req);
		vfs_invalidate_atime(f->inode);
		if (r < 0) {
			if (done)
				break;
			return r;
		}
		done += req.out_args[0].size;
		pos += req.out_args[0].size;
		if (req.out_args[0].size < n)
			break;
	}
	if (off < 0)
		f->pos = pos;
	return done;
}

/* file_remove_privs before a write through the page cache. */
static int remove_privs(const struct emu_cred *cred, struct vfile *f)
{
	struct fuse_setattr_in sa = { 0 };
	int r = vfs_remove_privs(cred, f->inode, NULL, &sa);

	if (r <= 0)
		return r;
	return vfs_setattr(cred, f->inode, NULL, &sa);
}

static ssize_t write_locked(const struct emu_cred *cred, struct vfile *f,
			    const void *buf, size_t size, int64_t off)
{
	struct vmount *m = f->m;
	uint64_t pos = off < 0 ? f->pos : (uint64_t)off;
	bool direct = f->open_flags & FOPEN_DIRECT_IO;
	uint32_t write_flags = 0;
	size_t done = 0;
	int r;

	if (f->flags & O_PATH)
		return -EBADF;
	if (f->isdir)
		return -EISDIR;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (f->flags & O_APPEND)
		pos = f->inode->attr.size;	/* generic_write_checks */
	if (!direct && size) {
		r = remove_privs(cred, f);	/* fuse_cache_write_iter */
		if (r < 0)
			return r;
	}
	/* fuse_direct_io, fuse_send_write_pages: the daemon kills them */
	if (cred->uid &&
	    (direct || (m->fc.flags & FUSE_HANDLE_KILLPRIV_V2)))
		write_flags = FUSE_WRITE_KILL_SUIDGID;
	while (done < size) {
		struct fuse_write_in arg = { 0 };
		struct fuse_write_out wo = { 0 };
		uint32_t n = chunk_limit(m, true);
		struct fdk_req req;

		if (n > size - done)
			n = size - done;
		arg.fh = f->fh;
		arg.offset = pos;
		arg.size = n;
		arg.write_flags = write_flags;
		arg.flags = f->flags;
		vfs_req_init(&req, FUSE_WRITE, f->inode->nodeid);
		vfs_in(&req, &arg, sizeof(arg));
		vfs_in(&req, (const char *)buf + done, n);
		vfs_out(&req, &wo, sizeof(wo));
		r = vfs_request(m, cred, &req);
		if (!r && wo.size > n)
			r = -EIO;
		if (r < 0) {
			if (done)
				break;
			return r;
		}
		done += wo.size;
		pos += wo.size;
		if (wo.size < n)
			break;
	}
	/* fuse_write_update_attr */
	if (pos > f->inode->attr.size)
		f->inode->attr.size = pos;
	vfs_invalidate_attr(f->inode, VFS_ATTR_MODSIZE);
	if (off < 0 || (f->flags & O_APPEND))
		f->pos = pos;
	return done;
}

/*
 * fuse_cache_write_iter, fuse_direct_write_iter: under the inode's lock,
 * but for direct writes within the file's size when the daemon opened it
 * FOPEN_PARALLEL_DIRECT_WRITES (fuse_dio_lock).
 */
ssize_t vfile_write(const struct emu_cred *cred, struct vfile *f,
		    const void *buf, size_t size, int64_t off)
{
	uint64_t pos = off < 0 ? f->pos : (uint64_t)off;
	bool shared = (f->open_flags & FOPEN_DIRECT_IO) &&
		      (f->open_flags & FOPEN_PARALLEL_DIRECT_WRITES) &&
		      !(f->flags & O_APPEND) &&
		      pos + size <= f->inode->attr.size;
	struct vinode *in = f->inode;
	ssize_t r;

	if (shared)
		fiber_down_read(&in->i_rwsem);
	else
		fiber_down_write(&in->i_rwsem);
	r = write_locked(cred, f, buf, size, off);
	if (shared)
		fiber_up_read(&in->i_rwsem);
	else
		fiber_up_write(&in->i_rwsem);
	return r;
}

int vfile_flush(const struct emu_cred *cred, struct vfile *f)
{
	struct fuse_flush_in arg = { 0 };
	struct fdk_req req;
	int r;

	if (f->isdir || f->m->no_flush || (f->flags & O_PATH))
		return 0;
	arg.fh = f->fh;
	arg.lock_owner = lock_flush_owner(f, cred->pid);
	vfs_req_init(&req, FUSE_FLUSH, f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	r = vfs_request(f->m, cred, &req);
	if (r == -ENOSYS) {
		f->m->no_flush = true;
		r = 0;
	}
	return r;
}

int vfile_fsync(const struct emu_cred *cred, struct vfile *f, int datasync)
{
	struct fuse_fsync_in arg = { 0 };
	struct fdk_req req;
	bool *no = f->isdir ? &f->m->no_fsyncdir : &f->m->no_fsync;
	int r;

	if (*no)
		return 0;
	arg.fh = f->fh;
	arg.fsync_flags = datasync ? FUSE_FSYNC_FDATASYNC : 0;
	vfs_req_init(&req, f->isdir ? FUSE_FSYNCDIR : FUSE_FSYNC,
		     f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_lock_two(f->inode, NULL);		/* fuse_fsync */
	r = vfs_request(f->m, cred, &req);
	vfs_unlock_two(f->inode, NULL);
	if (r == -ENOSYS) {
		*no = true;
		r = 0;
	}
	return r;
}

/* ---- FALLOCATE, COPY_FILE_RANGE ------------------------------------ */

/* Linux MAX_RW_COUNT: the most one read, write or copy moves. */
#define FDK_MAX_RW	0x7ffff000ull

#define FALLOC_FUSE_MODES (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | \
			   FALLOC_FL_ZERO_RANGE)

/* vfs_fallocate's checks, then fuse_file_fallocate. */
int vfile_fallocate(const struct emu_cred *cred, struct vfile *f,
			   int mode, int64_t off, int64_t len)
{
	struct fuse_fallocate_in arg = { 0 };
	struct vmount *m = f->m;
	struct fdk_req req;
	int r;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE))
		return -EINVAL;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (f->isdir)
		return -EISDIR;
	if (!S_ISREG(f->inode->attr.mode))
		return -ENODEV;
	if (off > INT64_MAX - len)
		return -EFBIG;
	if ((mode & ~FALLOC_FUSE_MODES) || m->no_fallocate)
		return -EOPNOTSUPP;
	if (m->mountflags & MS_RDONLY)
		return -EROFS;
	arg.fh = f->fh;
	arg.offset = off;
	arg.length = len;
	arg.mode = mode;
	vfs_req_init(&req, FUSE_FALLOCATE, f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_lock_two(f->inode, NULL);		/* fuse_file_fallocate */
	r = vfs_request(m, cred, &req);
	vfs_unlock_two(f->inode, NULL);
	if (r == -ENOSYS) {
		m->no_fallocate = true;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	if (!(mode & FALLOC_FL_KEEP_SIZE) &&
	    (uint64_t)(off + len) > f->inode->attr.size)
		f->inode->attr.size = off + len;
	vfs_invalidate_attr(f->inode, VFS_ATTR_MODSIZE);
	return 0;
}

/* splice_copy_file_range: what Linux falls back to. */
static ssize_t copy_by_io(const struct emu_cred *cred, struct vfile *fin,
			  uint64_t pin, struct vfile *fout, uint64_t pout,
			  size_t len)
{
	size_t chunk = chunk_limit(fin->m, false), done = 0;
	ssize_t n = 0, w;
	char *buf;

	if (chunk > len)
		chunk = len;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;

		n = vfile_read(cred, fin, buf, want, pin + done);
		if (n <= 0)
			break;
		w = vfile_write(cred, fout, buf, n, pout + done);
		if (w < 0) {
			n = w;
			break;
		}
		done += w;
		if (w < n || (size_t)n < want)
			break;
	}
	free(buf);
	return done ? (ssize_t)done : (n < 0 ? n : 0);
}

/*
 * vfs_copy_file_range's checks, then fuse_copy_file_range: COPY_FILE_RANGE
 * while the daemon has it, else (or on EOPNOTSUPP/EXDEV) a read/write
 * copy.  Offsets < 0 mean the files' positions, which then advance.
 */
static ssize_t vfile_copy_range(const struct emu_cred *cred,
				struct vfile *fin, int64_t off_in,
				struct vfile *fout, int64_t off_out,
				uint64_t len, uint32_t flags)
{
	uint64_t pin = off_in < 0 ? fin->pos : (uint64_t)off_in;
	uint64_t pout = off_out < 0 ? fout->pos : (uint64_t)off_out;
	struct vmount *m = fin->m;
	ssize_t n;
	int r;

	if (flags)
		return -EINVAL;
	if (fin->isdir || fout->isdir)
		return -EISDIR;
	if (!S_ISREG(fin->inode->attr.mode) ||
	    !S_ISREG(fout->inode->attr.mode))
		return -EINVAL;
	if ((fin->flags & O_ACCMODE) == O_WRONLY ||
	    (fout->flags & O_ACCMODE) == O_RDONLY || (fout->flags & O_APPEND))
		return -EBADF;
	if (fout->m != m)
		return -EXDEV;
	if (pin > INT64_MAX - len || pout > INT64_MAX - len)
		return -EOVERFLOW;
	r = vfs_fresh_attr(cred, fin->inode, fin, VFS_ATTR_INTERNAL);
	if (r < 0)
		return r;
	if (pin >= fin->inode->attr.size)
		len = 0;
	else if (len > fin->inode->attr.size - pin)
		len = fin->inode->attr.size - pin;
	if (fin->inode == fout->inode && pout + len > pin && pin + len > pout)
		return -EINVAL;
	if (!len)
		return 0;
	if (len > FDK_MAX_RW)
		len = FDK_MAX_RW;
	n = -EOPNOTSUPP;
	if (!m->no_copy_file_range) {
		struct fuse_copy_file_range_in arg = { 0 };
		struct fuse_write_out wo = { 0 };
		struct fdk_req req;

		arg.fh_in = fin->fh;
		arg.off_in = pin;
		arg.nodeid_out = fout->inode->nodeid;
		arg.fh_out = fout->fh;
		arg.off_out = pout;
		arg.len = len;
		vfs_req_init(&req, FUSE_COPY_FILE_RANGE, fin->inode->nodeid);
		vfs_in(&req, &arg, sizeof(arg));
		vfs_out(&req, &wo, sizeof(wo));
		vfs_lock_two(fout->inode, NULL);
		n = vfs_request(m, cred, &req);
		vfs_unlock_two(fout->inode, NULL);
		if (n == -ENOSYS) {
			m->no_copy_file_range = true;
			n = -EOPNOTSUPP;
		}
		if (!n)
			n = wo.size > len ? -EIO : (ssize_t)wo.size;
		if (n >= 0) {
			if (pout + n > fout->inode->attr.size)
				fout->inode->attr.size = pout + n;
			vfs_invalidate_attr(fout->inode, VFS_ATTR_MODSIZE);
		}
	}
	if (n == -EOPNOTSUPP || n == -EXDEV)
		n = copy_by_io(cred, fin, pin, fout, pout, len);
	if (n > 0 && off_in < 0)
		fin->pos = pin + n;
	if (n > 0 && off_out < 0)
		fout->pos = pout + n;
	return n;
}

/* ---- directories (fuse_readdir_uncached, parse_dirfile) ------------- */

static bool dirent_name_ok(const char *name, uint32_t len)
{
	return len && len <= FDK_NAME_MAX && !memchr(name, '/', len);
}

/*
 * fuse_direntplus_link: count the lookup and cache the entry, refreshing
 * a cached one of the same inode.  An entry that cannot be used is
 * forgotten at once (parse_dirplusfile's fuse_force_forget).
 */
static void direntplus_link(struct vfile *f, struct fuse_direntplus *dp)
{
	const struct fuse_entry_out *e = &dp->entry_out;
	const char *name = dp->dirent.name;
	uint32_t len = dp->dirent.namelen;
	struct vmount *m = f->m;
	struct vdentry *d;
	struct vinode *in;
	int r;

	if (!e->nodeid)
		return;		/* no attributes for this one */
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return;
	r = -EIO;
	if (e->nodeid == FUSE_ROOT_ID || len > NAME_MAX ||
	    (dp->entry_out.attr.mode & S_IFMT) == 0)
		goto forget;
	d = dentry_find(m, f->inode, name, len);
	in = d ? d->inode : NULL;
	if (in && in->nodeid == e->nodeid && in->generation == e->generation &&
	    !((in->attr.mode ^ e->attr.mode) & S_IFMT)) {
		in->nlookup++;
		vfs_acl_forget(in);
		vfs_attr_set(in, &e->attr, e->attr_valid, e->attr_valid_nsec);
		d->expire = vfs_expiry(e->entry_valid, e->entry_valid_nsec);
		vinode_get(in);
	} else {
		r = vinode_iget(m, e, &in);
		if (r < 0)
			goto forget;
		r = dentry_set(m, f->inode, name, len, in,
			       vfs_expiry(e->entry_valid, e->entry_valid_nsec));
		if (r < 0) {
			in->nlookup--;
			vinode_put(in);
			goto forget;
		}
	}
	if (m->fc.flags & FUSE_READDIRPLUS_AUTO)
		in->init_rdplus = true;
	vinode_put(in);
	return;
forget:
	fdk_queue_forget(&m->fc, e->nodeid, 1);
}

/*
 * fuse_use_readdirplus: with FUSE_READDIRPLUS_AUTO, only at the start of
 * the directory or once a lookup in it (or the first use of an entry
 * READDIRPLUS made) suggested that its entries are wanted.
 */
static bool use_readdirplus(struct vfile *f)
{
	struct vmount *m = f->m;

	if (!(m->fc.flags & FUSE_DO_READDIRPLUS) || m->no_readdirplus)
		return false;
	if (!(m->fc.flags & FUSE_READDIRPLUS_AUTO))
		return true;
	if (f->inode->advise_rdplus) {
		f->inode->advise_rdplus = false;
		return true;
	}
	return f->dir_cookie == 0;
}

static ssize_t getdents_locked(const struct emu_cred *cred, struct vfile *f,
			       char *out, size_t size)
{
	struct vmount *m = f->m;
	size_t max = (size_t)m->fc.max_pages * FDK_PAGE_SIZE;
	struct fuse_read_in arg = { 0 };
	struct fdk_req req;
	size_t got, pos = 0, len = 0;
	bool over = false, plus;
	char *buf;
	int r;

	if (!f->isdir)
		return -ENOTDIR;
	if (f->dir_eof)
		return 0;
	plus = use_readdirplus(f);
	/* fuse_readdir_uncached: the caller's size, within a page and
	 * max_pages; what does not fit the caller is read again later. */
	arg.size = size < FDK_PAGE_SIZE ? FDK_PAGE_SIZE :
		   size > max && max >= FDK_PAGE_SIZE ? max : size;
	buf = malloc(arg.size);
	if (!buf)
		return -ENOMEM;
	arg.fh = f->fh;
	arg.offset = f->dir_cookie;
	arg.flags = f->flags;
	vfs_req_init(&req, plus ? FUSE_READDIRPLUS : FUSE_READDIR,
		     f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_out(&req, buf, arg.size);
	req.out_argvar = true;
	r = vfs_request(m, cred, &req);
	if (r < 0) {
		free(buf);
		return r;
	}
	got = req.out_args[0].size;
	if (!got)
		f->dir_eof = true;
	while (pos < got) {
		struct fuse_dirent *d;
		struct fuse_direntplus *dp = NULL;
		struct linux_dirent64 {
			uint64_t d_ino;
			int64_t d_off;
			unsigned short d_reclen;
			unsigned char d_type;
			char d_name[];
		} *ld;
		size_t reclen, need;

		if (plus) {
			if (got - pos < FUSE_NAME_OFFSET_DIRENTPLUS)
				break;
			dp = (struct fuse_direntplus *)(buf + pos);
			d = &dp->dirent;
			reclen = FUSE_DIRENTPLUS_SIZE(dp);
		} else {
			if (got - pos < FUSE_NAME_OFFSET)
				break;
			d = (struct fuse_dirent *)(buf + pos);
			reclen = FUSE_DIRENT_SIZE(d);
		}
		if (!dirent_name_ok(d->name, d->namelen) ||
		    reclen > got - pos) {
			free(buf);
			return len ? (ssize_t)len : -EIO;
		}
		need = (offsetof(struct linux_dirent64, d_name) +
			d->namelen + 1 + 7) & ~(size_t)7;
		pos += reclen;
		/* parse_dirplusfile: every entry is linked, emitted or not */
		if (dp)
			direntplus_link(f, dp);
		if (over || len + need > size) {
			over = true;
			continue;
		}
		ld = (struct linux_dirent64 *)(out + len);
		ld->d_ino = d->ino;
		ld->d_off = d->off;
		ld->d_reclen = need;
		ld->d_type = d->type;
		memcpy(ld->d_name, d->name, d->namelen);
		memset(ld->d_name + d->namelen, 0,
		       need - offsetof(struct linux_dirent64, d_name) -
		       d->namelen);
		len += need;
		f->dir_cookie = d->off;
	}
	free(buf);
	vfs_invalidate_atime(f->inode);		/* fuse_readdir */
	if (!len && got)
		return -EINVAL;	/* the buffer holds no entry */
	return len;
}

/* fuse_readdir: iterate_shared under the directory's i_rwsem, READDIR
 * under fi->mutex without PARALLEL_DIROPS. */
static ssize_t vfile_getdents(const struct emu_cred *cred, struct vfile *f,
			      char *out, size_t size)
{
	struct vinode *in = f->inode;
	ssize_t r;
	bool locked;

	fiber_down_read(&in->i_rwsem);
	locked = vfs_lock_dirop(in);
	r = getdents_locked(cred, f, out, size);
	vfs_unlock_dirop(in, locked);
	fiber_up_read(&in->i_rwsem);
	return r;
}

/* ---- RETRIEVE: nothing cached, so the reply carries no data --------- */

struct vretrieve {
	struct fdk_req req;
	struct fuse_notify_retrieve_in in;
};

static void retrieve_end(struct fdk_req *req)
{
	loop_defer(free, req->owner);
}

int vfs_notify_retrieve(struct vmount *m,
			const struct fuse_notify_retrieve_out *o)
{
	struct vretrieve *r;

	if (!vinode_find(m, o->nodeid))
		return -ENOENT;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->in.offset = o->offset;
	r->in.size = 0;
	vfs_req_init(&r->req, FUSE_NOTIFY_REPLY, o->nodeid);
	r->req.in_h.unique = o->notify_unique;
	vfs_in(&r->req, &r->in, sizeof(r->in));
	r->req.end = retrieve_end;
	r->req.owner = r;
	fdk_send(&m->fc, &r->req);
	return 0;
}

/* ---- the port's calls by open file ---------------------------------- */

int vfs_setattr_op(const struct emu_cred *cred, uint32_t op,
		   struct vinode *in, struct vfile *f, uint32_t mode,
		   uint64_t arg, const struct timespec *ts);
int vfs_statfs(const struct emu_cred *cred, struct vinode *in,
	       struct fuse_kstatfs *out);

static int do_lseek(const struct emu_cred *cred, struct vfile *f,
		    int64_t off, int whence, uint64_t *res)
{
	int64_t base;
	int r;

	if (f->isdir) {
		/* generic_file_llseek on the readdir cookie */
		if (whence == SEEK_CUR && !off) {
			*res = f->dir_cookie;
			return 0;
		}
		switch (whence) {
		case SEEK_SET:
			base = 0;
			break;
		case SEEK_CUR:
			base = f->dir_cookie;
			break;
		case SEEK_END:
		case SEEK_DATA:
		case SEEK_HOLE:
			r = vfs_fresh_attr(cred, f->inode, f, VFS_ATTR_INTERNAL);
			if (r < 0)
				return r;
			base = f->inode->attr.size;
			if (whence == SEEK_END)
				break;
			if (off < 0 || off >= base)
				return -ENXIO;
			base = whence == SEEK_DATA ? 0 : base - off;
			break;
		default:
			return -EINVAL;
		}
		if (base + off < 0)
			return -EINVAL;
		if ((uint64_t)(base + off) != f->dir_cookie) {
			f->dir_cookie = base + off;
			f->dir_eof = false;
		}
		*res = f->dir_cookie;
		return 0;
	}
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		r = vfs_fresh_attr(cred, f->inode, f, VFS_ATTR_INTERNAL);
		if (r < 0)
			return r;
		base = f->inode->attr.size;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		if (!f->m->no_lseek) {
			struct fuse_lseek_in li = { .fh = f->fh,
						    .offset = off,
						    .whence = whence };
			struct fuse_lseek_out lo = { 0 };
			struct fdk_req req;

			vfs_req_init(&req, FUSE_LSEEK, f->inode->nodeid);
			vfs_in(&req, &li, sizeof(li));
			vfs_out(&req, &lo, sizeof(lo));
			r = vfs_request(f->m, cred, &req);
			if (!r) {
				f->pos = lo.offset;
				*res = lo.offset;
				return 0;
			}
			if (r != -ENOSYS)
				return r;
			f->m->no_lseek = true;
		}
		/* generic_file_llseek: all data, one hole at the end. */
		r = vfs_fresh_attr(cred, f->inode, f, VFS_ATTR_INTERNAL);
		if (r < 0)
			return r;
		if (off < 0 || (uint64_t)off >= f->inode->attr.size)
			return -ENXIO;
		*res = whence == SEEK_DATA ? (uint64_t)off :
		       f->inode->attr.size;
		f->pos = *res;
		return 0;
	default:
		return -EINVAL;
	}
	if (base + off < 0)
		return -EINVAL;
	f->pos = base + off;
	*res = f->pos;
	return 0;
}

static int file_op(const struct emu_cred *cred, uint32_t op,
		   struct vfile *f, const struct fdp_file_in *in,
		   const void *data, size_t datalen, void *out,
		   size_t *outlen)
{
	size_t cap = *outlen;
	ssize_t n;
	uint64_t res = 0;
	int r;

	*outlen = 0;
	/* An O_PATH file names its inode and nothing more. */
	if ((f->flags & O_PATH) && op != FDP_OP_FSTAT &&
	    op != FDP_OP_FSTATFS && op != FDP_OP_FPATH)
		return -EBADF;
	switch (op) {
	case FDP_OP_FSTAT:
		r = vfs_stat_attr(cred, f->inode, in->size, in->flags);
		if (r < 0)
			return r;
		vfs_stat_out(f->inode, out);
		*outlen = sizeof(struct fdp_stat_out);
		return 0;
	case FDP_OP_PREAD:
		if (in->size > cap)
			return -EINVAL;
		n = vfile_read(cred, f, out, in->size, in->offset);
		if (n < 0)
			return n;
		*outlen = n;
		return 0;
	case FDP_OP_PWRITE:
		if (in->offset < -1)
			return -EINVAL;
		n = vfile_write(cred, f, data, datalen, in->offset);
		if (n < 0)
			return n;
		((struct fdp_size_out *)out)->size = n;
		*outlen = sizeof(struct fdp_size_out);
		return 0;
	case FDP_OP_LSEEK:
		r = do_lseek(cred, f, in->offset, in->whence, &res);
		if (r < 0)
			return r;
		((struct fdp_size_out *)out)->size = res;
		*outlen = sizeof(struct fdp_size_out);
		return 0;
	case FDP_OP_FTRUNCATE:
		if (f->isdir || (f->flags & O_ACCMODE) == O_RDONLY ||
		    in->offset < 0)
			return -EINVAL;
		return vfs_setattr_op(cred, FDP_OP_TRUNCATE, f->inode, f, 0,
				      in->offset, NULL);
	case FDP_OP_FSYNC:
		return vfile_fsync(cred, f, in->flags & 1);
	case FDP_OP_GETDENTS:
		if (in->size > cap)
			return -EINVAL;
		n = vfile_getdents(cred, f, out, in->size);
		if (n < 0)
			return n;
		*outlen = n;
		return 0;
	case FDP_OP_FCHMOD:
		return vfs_setattr_op(cred, FDP_OP_CHMOD, f->inode, NULL,
				      in->flags, 0, NULL);
	case FDP_OP_FCHOWN:
		return vfs_setattr_op(cred, FDP_OP_CHOWN, f->inode, NULL, 0,
				      in->offset, NULL);
	case FDP_OP_FUTIMENS: {
		struct timespec ts[2];

		if (datalen != sizeof(ts))
			return -EINVAL;
		memcpy(ts, data, sizeof(ts));
		return vfs_setattr_op(cred, FDP_OP_UTIMENS, f->inode, NULL, 0,
				      0, ts);
	}
	case FDP_OP_FSTATFS:
		r = vfs_statfs(cred, f->inode, out);
		if (!r)
			*outlen = sizeof(struct fuse_kstatfs);
		return r;
	case FDP_OP_FPATH:
		if (in->flags & FDP_FPATH_MOUNT) {
			n = f->m->pathlen + 1;
			if ((size_t)n > cap)
				return -ENAMETOOLONG;
			memcpy(out, f->m->path, n);
			*outlen = n;
			return 0;
		}
		/* where the file is now (d_path); else where it was opened,
		 * unless FDP_FPATH_NOW asks for the error */
		r = cap >= FUSEDEV_PATH_MAX ?
		    vfs_inode_path(f->inode, out, FUSEDEV_PATH_MAX) :
		    -ENAMETOOLONG;
		if (!r) {
			*outlen = strlen(out) + 1;
			return 0;
		}
		if (in->flags & FDP_FPATH_NOW)
			return r;
		n = strlen(f->path) + 1;
		if ((size_t)n > cap)
			return -ENAMETOOLONG;
		memcpy(out, f->path, n);
		*outlen = n;
		return 0;
	case FDP_OP_SETFL:
		f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) |
			   (in->flags & (O_APPEND | O_NONBLOCK));
		return 0;
	case FDP_OP_FALLOCATE:
		return vfile_fallocate(cred, f, in->flags, in->offset,
				       in->size);
	case FDP_OP_COPY_RANGE: {
		struct fdp_copy_in ci;
		struct vfile *out_f;

		if (datalen != sizeof(ci))
			return -EINVAL;
		memcpy(&ci, data, sizeof(ci));
		out_f = vfile_find(ci.out_key);
		if (!out_f)
			return -EBADF;
		vfile_get(out_f);
		n = vfile_copy_range(cred, f, in->offset, out_f, ci.out_offset,
				     in->size, in->flags);
		vfile_put(out_f);
		if (n < 0)
			return n;
		((struct fdp_size_out *)out)->size = n;
		*outlen = sizeof(struct fdp_size_out);
		return 0;
	}
	}
	return -EINVAL;
}

/*
 * The port's calls by open file.  The file is held for the call (fget):
 * its last close may come while the call sleeps on the daemon.
 */
int vfs_file_op(const struct emu_cred *cred, uint32_t op,
		const struct fdp_file_in *in, const void *data,
		size_t datalen, void *out, size_t *outlen)
{
	struct vfile *f = vfile_find(in->open_key);
	int r;

	if (!f) {
		*outlen = 0;
		return -EBADF;
	}
	vfile_get(f);
	r = file_op(cred, op, f, in, data, datalen, out, outlen);
	vfile_put(f);
	return r;
}
