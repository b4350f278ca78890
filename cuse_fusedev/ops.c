/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * System calls by path (Linux fs/fuse/dir.c, inode.c's statfs):
 * each walks the path and produces the requests Linux would, with the
 * VFS's own checks first (EEXIST, ENOTDIR, EISDIR, EXDEV, EROFS, and
 * mode bits under default_permissions).
 *
 *   STAT      GETATTR when the cached attributes expired
 *   OPEN      CREATE (or MKNOD + OPEN), OPEN, OPENDIR      -> file.c
 *   MKDIR MKNOD SYMLINK LINK UNLINK RMDIR RENAME/RENAME2 READLINK
 *   ACCESS    ACCESS, or mode bits under default_permissions
 *   TRUNCATE CHMOD CHOWN UTIMENS   SETATTR
 *   STATFS    STATFS;  *XATTR  SETXATTR GETXATTR LISTXATTR REMOVEXATTR
 *             (xattr.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "emu.h"
#include "sock.h"
#include "vfs_i.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE	(1 << 1)
#define RENAME_WHITEOUT	(1 << 2)
#endif

static bool is_owner(const struct emu_cred *cred, struct vinode *in)
{
	return !cred->uid || cred->uid == in->attr.uid;
}

static int setattr_op(const struct emu_cred *cred, uint32_t op,
		      struct vinode *in, struct vfile *f, uint32_t mode,
		      uint64_t arg, const struct timespec *ts)
{
	struct fuse_setattr_in sa = { 0 };
	bool dp = in->m->default_permissions;
	int r, i;

	if (dp) {
		r = vfs_fresh_attr(cred, in, f,
				   STATX_MODE | STATX_UID | STATX_GID);
		if (r < 0)
			return r;
	}
	switch (op) {
	case FDP_OP_CHMOD:
		if (S_ISLNK(in->attr.mode))
			return -EOPNOTSUPP;	/* reached only by NOFOLLOW */
		if (dp && !is_owner(cred, in))
			return -EPERM;
		sa.valid = FATTR_MODE;
		sa.mode = (mode & 07777) | (in->attr.mode & S_IFMT);
		/* setattr_prepare: set-group-ID only for the file's group */
		if (dp && cred->uid && !vfs_in_group(cred, in->attr.gid))
			sa.mode &= ~S_ISGID;
		break;
	case FDP_OP_CHOWN: {
		uint32_t uid = arg >> 32, gid = (uint32_t)arg;

		if (uid != (uint32_t)-1) {
			sa.valid |= FATTR_UID;
			sa.uid = uid;
			if (dp && cred->uid && uid != in->attr.uid)
				return -EPERM;
		}
		if (gid != (uint32_t)-1) {
			sa.valid |= FATTR_GID;
			sa.gid = gid;
			if (dp && cred->uid && gid != in->attr.gid &&
			    (cred->uid != in->attr.uid))
				return -EPERM;
		}
		/*
		 * chown_common kills set-id bits of a non-directory; without
		 * handle_killpriv FUSE sends them cleared in the same SETATTR
		 * (fuse_setattr, after refreshing the mode).
		 */
		if (!S_ISDIR(in->attr.mode) &&
		    (sa.valid & (FATTR_UID | FATTR_GID)) &&
		    (in->m->fc.flags & FUSE_HANDLE_KILLPRIV_V2))
			sa.valid |= FATTR_KILL_SUIDGID;	/* fuse_do_setattr */
		if (!S_ISDIR(in->attr.mode) &&
		    !(in->m->fc.flags & (FUSE_HANDLE_KILLPRIV |
					 FUSE_HANDLE_KILLPRIV_V2))) {
			uint32_t m;

			r = vfs_getattr(cred, in, f);
			if (r < 0)
				return r;
			m = in->attr.mode;
			if (m & S_ISUID)
				m &= ~S_ISUID;
			if ((m & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
				m &= ~S_ISGID;
			if (m != in->attr.mode) {
				sa.valid |= FATTR_MODE;
				sa.mode = m;
			}
		}
		break;
	}
	case FDP_OP_UTIMENS:
		for (i = 0; i < 2; i++) {
			struct timespec now;
			uint32_t bit = i ? FATTR_MTIME : FATTR_ATIME;
			uint32_t nowbit = i ? FATTR_MTIME_NOW : FATTR_ATIME_NOW;
			uint64_t *sec = i ? &sa.mtime : &sa.atime;
			uint32_t *nsec = i ? &sa.mtimensec : &sa.atimensec;

			if (ts[i].tv_nsec == UTIME_OMIT)
				continue;
			if (ts[i].tv_nsec == UTIME_NOW) {
				if (dp && !is_owner(cred, in) &&
				    vfs_generic_permission(cred, in, 2))
					return -EACCES;
				clock_gettime(CLOCK_REALTIME, &now);
				sa.valid |= bit | nowbit;
				*sec = now.tv_sec;
				*nsec = now.tv_nsec;
			} else {
				if (ts[i].tv_nsec < 0 ||
				    ts[i].tv_nsec >= 1000000000)
					return -EINVAL;
				if (dp && !is_owner(cred, in))
					return -EPERM;
				sa.valid |= bit;
				*sec = ts[i].tv_sec;
				*nsec = ts[i].tv_nsec;
			}
		}
		break;
	case FDP_OP_TRUNCATE:
		if (S_ISDIR(in->attr.mode))
			return -EISDIR;
		if (!S_ISREG(in->attr.mode))
			return -EINVAL;
		if ((int64_t)arg < 0)
			return -EINVAL;
		if (!f && dp && vfs_generic_permission(cred, in, 2))
			return -EACCES;
		sa.valid = FATTR_SIZE;
		sa.size = arg;
		if ((in->m->fc.flags & FUSE_HANDLE_KILLPRIV_V2) && cred->uid)
			sa.valid |= FATTR_KILL_SUIDGID;
		r = vfs_remove_privs(cred, in, f, &sa);	/* do_truncate */
		if (r < 0)
			return r;
		break;
	default:
		return -EINVAL;
	}
	return vfs_setattr(cred, in, f, &sa);
}

/* chmod, chown, utimensat, truncate: notify_change under the inode's
 * lock. */
int vfs_setattr_op(const struct emu_cred *cred, uint32_t op,
		   struct vinode *in, struct vfile *f, uint32_t mode,
		   uint64_t arg, const struct timespec *ts)
{
	int r;

	vfs_lock_two(in, NULL);
	r = setattr_op(cred, op, in, f, mode, arg, ts);
	vfs_unlock_two(in, NULL);
	return r;
}

/*
 * path_mount's atime defaults and flags_by_mnt/flags_by_sb: the ST_* flags
 * statfs(2) reports for mount(2) flags @mf.
 */
static uint32_t statfs_flags(uint64_t mf)
{
	uint32_t st = mf & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
			    MS_SYNCHRONOUS | MS_MANDLOCK);

	if (mf & MS_STRICTATIME)
		return st | ((mf & MS_NODIRATIME) ? ST_NODIRATIME : 0);
	if (mf & MS_NOATIME)
		st |= ST_NOATIME;
	else
		st |= ST_RELATIME;
	if (mf & MS_NODIRATIME)
		st |= ST_NODIRATIME;
	return st;
}

int vfs_statfs(const struct emu_cred *cred, struct vinode *in,
	       struct fuse_kstatfs *out)
{
	struct fuse_statfs_out so;
	struct fdk_req req;
	int r;

	memset(&so, 0, sizeof(so));
	vfs_req_init(&req, FUSE_STATFS, in->nodeid);
	vfs_out(&req, &so, sizeof(so));
	r = vfs_request(in->m, cred, &req);
	if (r < 0)
		return r;
	*out = so.st;
	/* The port's statfs carries the mount's ST_* flags in padding. */
	out->padding = statfs_flags(in->m->mountflags);
	return 0;
}

/* create_new_entry: MKNOD, MKDIR, SYMLINK, LINK; the reply's type must
 * be the one asked for.  All but LINK carry the create extensions. */
static int new_entry(const struct emu_cred *cred, struct walk *w,
		     struct fdk_req *req, mode_t type)
{
	struct vfs_create_ext ext;
	struct fuse_entry_out e;
	int r;

	if (req->in_h.opcode != FUSE_LINK)
		vfs_create_ext(cred, w->dir, req, &ext);
	memset(&e, 0, sizeof(e));
	vfs_out(req, &e, sizeof(e));
	r = vfs_request(w->m, cred, req);
	if (r < 0)
		return r;
	if ((e.attr.mode & S_IFMT) != type) {
		fdk_queue_forget(&w->m->fc, e.nodeid, 1);
		return -EIO;
	}
	return vfs_new_entry(w->dir, w->last, w->lastlen, &e, NULL);
}

/*
 * filename_create: the last component must be a new name (EEXIST for
 * ".", "..", the mount's root and an existing entry; ENOENT for "name/"
 * where no directory is wanted), on a writable mount.
 */
static int filename_create(struct walk *w, bool want_dir)
{
	if (w->last_type != WALK_LAST_NORM || w->inode)
		return -EEXIST;
	if (w->trailing_slash && !want_dir)
		return -ENOENT;
	if (w->m->mountflags & MS_RDONLY)
		return -EROFS;
	return 0;
}

/* filename_create, then may_create: the directory writable and
 * searchable. */
static int may_create(const struct emu_cred *cred, struct walk *w,
		      bool want_dir)
{
	int r = filename_create(w, want_dir);

	return r ? r : vfs_permission(cred, w->dir, 3);
}

/* may_delete: the victim exists and is of the right kind; the directory
 * writable and searchable. */
static int may_delete(const struct emu_cred *cred, struct walk *w,
		      struct vinode *victim, bool isdir)
{
	int r;

	if (!victim)
		return -ENOENT;
	r = vfs_permission(cred, w->dir, 3);
	if (r < 0)
		return r;
	if (isdir) {
		if (!S_ISDIR(victim->attr.mode))
			return -ENOTDIR;
		if (victim == w->m->root)
			return -EBUSY;
	} else if (S_ISDIR(victim->attr.mode)) {
		return -EISDIR;
	}
	return 0;
}

/* fuse_entry_unlinked */
static void entry_unlinked(struct walk *w, bool dir)
{
	struct vinode *in = w->inode;

	if (dir)
		in->attr.nlink = 0;
	else if (in->attr.nlink)
		in->attr.nlink--;
	vsock_unlinked(in);
	vfs_invalidate_attr(in, STATX_BASIC_STATS);
	vfs_invalidate_attr(w->dir, STATX_BASIC_STATS);
	dentry_drop(w->m, w->dir, w->last, w->lastlen);
}

/* do_unlinkat / do_rmdir, then vfs_unlink / vfs_rmdir. */
static int do_unlink(const struct emu_cred *cred, struct walk *w, bool dir)
{
	struct fdk_req req;
	int r;

	if (dir && w->last_type == WALK_LAST_DOTDOT)
		return -ENOTEMPTY;
	if (dir && w->last_type == WALK_LAST_DOT)
		return -EINVAL;
	if (w->last_type != WALK_LAST_NORM)
		return dir ? -EBUSY : -EISDIR;
	if (w->m->mountflags & MS_RDONLY)
		return -EROFS;
	if (!dir && w->inode && w->trailing_slash)
		return S_ISDIR(w->inode->attr.mode) ? -EISDIR : -ENOTDIR;
	r = may_delete(cred, w, w->inode, dir);
	if (r < 0)
		return r;
	vfs_req_init(&req, dir ? FUSE_RMDIR : FUSE_UNLINK, w->dir->nodeid);
	vfs_in(&req, w->last, w->lastlen + 1);
	vfs_lock_two(w->inode, NULL);
	r = vfs_request(w->m, cred, &req);
	vfs_unlock_two(w->inode, NULL);
	if (r < 0)
		return r;
	entry_unlinked(w, dir);
	return 0;
}

/*
 * do_renameat2 and vfs_rename, in Linux's order: the last components
 * must be names, the parents on one mount; lock_rename's trap: the
 * source may not be an ancestor of the target's directory (EINVAL), the
 * target not one of the source's (ENOTEMPTY).  Nothing is sent for a
 * rename the VFS refuses.
 */
static int do_rename(const struct emu_cred *cred, struct walk *o,
		     struct walk *n, uint32_t flags)
{
	struct fuse_rename2_in arg = { 0 };
	struct vinode *src, *tgt;
	uint64_t oexp, nexp;
	struct vdentry *d;
	struct fdk_req req;
	bool isdir;
	int r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) ||
	    ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) &&
	     (flags & RENAME_EXCHANGE)))
		return -EINVAL;
	if ((flags & RENAME_WHITEOUT) && cred->uid != 0)
		return -EPERM;		/* CAP_MKNOD */
	/* The mount's root is a name in the file system below. */
	if (o->m != n->m || o->last_type == WALK_LAST_ROOT ||
	    n->last_type == WALK_LAST_ROOT)
		return -EXDEV;
	if (o->last_type != WALK_LAST_NORM)
		return -EBUSY;
	if (n->last_type != WALK_LAST_NORM)
		return (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
	if (o->m->mountflags & MS_RDONLY)
		return -EROFS;
	vfs_lock_rename(o, n);
	r = vfs_lookup_locked(cred, o->dir, o->last, o->lastlen, &o->inode,
			      true);
	if (r < 0)
		return r;
	r = vfs_lookup_locked(cred, n->dir, n->last, n->lastlen, &n->inode,
			      true);
	if (r < 0 && r != -ENOENT)
		return r;
	src = o->inode;
	tgt = n->inode;
	if ((flags & RENAME_NOREPLACE) && tgt)
		return -EEXIST;
	if (flags & RENAME_EXCHANGE) {
		if (!tgt)
			return -ENOENT;
		if (!S_ISDIR(tgt->attr.mode) && n->trailing_slash)
			return -ENOTDIR;
	}
	/* trailing slashes only on directories */
	if (!S_ISDIR(src->attr.mode) &&
	    (o->trailing_slash ||
	     (!(flags & RENAME_EXCHANGE) && n->trailing_slash)))
		return -ENOTDIR;
	if (o->dir != n->dir) {
		if (vinode_is_ancestor(src, n->dir))
			return -EINVAL;
		if (tgt && vinode_is_ancestor(tgt, o->dir))
			return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	}
	/* vfs_rename */
	if (src == tgt)
		return 0;
	isdir = S_ISDIR(src->attr.mode);
	r = may_delete(cred, o, src, isdir);
	if (r < 0)
		return r;
	if (!tgt)
		r = vfs_permission(cred, n->dir, 3);
	else
		r = may_delete(cred, n, tgt, (flags & RENAME_EXCHANGE) ?
			       S_ISDIR(tgt->attr.mode) : isdir);
	if (r < 0)
		return r;
	if (o->dir != n->dir && isdir)
		r = vfs_permission(cred, src, 2);	/* ".." changes */
	if (!r && o->dir != n->dir && tgt && (flags & RENAME_EXCHANGE) &&
	    S_ISDIR(tgt->attr.mode))
		r = vfs_permission(cred, tgt, 2);
	if (r < 0)
		return r;
	arg.newdir = n->dir->nodeid;
	arg.flags = flags;
	if (flags && (o->m->no_rename2 || o->m->fc.minor < 23))
		return -EINVAL;
	vfs_req_init(&req, flags ? FUSE_RENAME2 : FUSE_RENAME, o->dir->nodeid);
	vfs_in(&req, &arg, flags ? sizeof(struct fuse_rename2_in) :
				   sizeof(struct fuse_rename_in));
	vfs_in(&req, o->last, o->lastlen + 1);
	vfs_in(&req, n->last, n->lastlen + 1);
	/* vfs_rename: the victims' own locks */
	if (!isdir || (flags & RENAME_EXCHANGE))
		vfs_lock_two(src, tgt);
	else
		vfs_lock_two(tgt, NULL);
	r = vfs_request(o->m, cred, &req);
	if (!isdir || (flags & RENAME_EXCHANGE))
		vfs_unlock_two(src, tgt);
	else
		vfs_unlock_two(tgt, NULL);
	if (r == -ENOSYS && flags) {
		o->m->no_rename2 = true;	/* fuse_rename2 */
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	/* fuse_rename_common */
	vfs_invalidate_attr(src, STATX_BASIC_STATS);
	vfs_invalidate_attr(o->dir, STATX_BASIC_STATS);
	vfs_invalidate_attr(n->dir, STATX_BASIC_STATS);
	if (tgt) {
		vfs_invalidate_attr(tgt, STATX_BASIC_STATS);
		if (!(flags & RENAME_EXCHANGE) && tgt->attr.nlink) {
			tgt->attr.nlink -= S_ISDIR(tgt->attr.mode) ?
					   tgt->attr.nlink : 1;
			vsock_unlinked(tgt);
		}
	}
	/* d_move: each inode takes its new name with its entry timeout
	 * (open files find their path by it) */
	d = dentry_find(o->m, o->dir, o->last, o->lastlen);
	oexp = d && d->inode == src ? d->expire : 0;
	d = dentry_find(n->m, n->dir, n->last, n->lastlen);
	nexp = d && tgt && d->inode == tgt ? d->expire : 0;
	dentry_drop(o->m, o->dir, o->last, o->lastlen);
	dentry_drop(n->m, n->dir, n->last, n->lastlen);
	dentry_set(n->m, n->dir, n->last, n->lastlen, src, oexp);
	if ((flags & RENAME_EXCHANGE) && tgt)
		dentry_set(o->m, o->dir, o->last, o->lastlen, tgt, nexp);
	return 0;
}

/* fs.protected_hardlinks, read once (may_linkat). */
static int protected_hardlinks = -1;

static bool hardlinks_protected(void)
{
	if (protected_hardlinks < 0) {
		FILE *f = fopen("/proc/sys/fs/protected_hardlinks", "re");

		protected_hardlinks = 0;
		if (f) {
			if (fscanf(f, "%d", &protected_hardlinks) != 1)
				protected_hardlinks = 0;
			fclose(f);
		}
	}
	return protected_hardlinks > 0;
}

/* do_linkat and vfs_link, in Linux's order. */
static int do_link(const struct emu_cred *cred, struct walk *o,
		   struct walk *n)
{
	struct vinode *in = o->inode;
	struct fuse_link_in li = { 0 };
	struct fdk_req req;
	uint32_t mode = in->attr.mode;
	int r;

	r = filename_create(n, false);
	if (r < 0)
		return r;
	if (o->m != n->m)
		return -EXDEV;
	/* may_linkat: protected_hardlinks, for others than the owner */
	if (cred->uid && cred->uid != in->attr.uid && hardlinks_protected() &&
	    (!S_ISREG(mode) || (mode & S_ISUID) ||
	     (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) ||
	     vfs_mode_permission(cred, &in->attr, 6)))
		return -EPERM;
	r = vfs_permission(cred, n->dir, 3);
	if (r < 0)
		return r;
	if (S_ISDIR(mode))
		return -EPERM;
	/* no link to an unlinked file */
	if (!in->attr.nlink)
		return -ENOENT;
	li.oldnodeid = in->nodeid;
	vfs_req_init(&req, FUSE_LINK, n->dir->nodeid);
	vfs_in(&req, &li, sizeof(li));
	vfs_in(&req, n->last, n->lastlen + 1);
	vfs_lock_two(in, NULL);
	r = new_entry(cred, n, &req, mode & S_IFMT);
	vfs_unlock_two(in, NULL);
	/* fuse_link: the old inode keeps its cached attributes; an
	 * interrupted LINK may have happened */
	if (r == -EINTR)
		vfs_invalidate_attr(in, STATX_BASIC_STATS);
	if (r == -ENOSYS)
		r = -EPERM;
	return r;
}

static int do_access(const struct emu_cred *cred, struct vinode *in,
		     int mask)
{
	struct vmount *m = in->m;
	struct fuse_access_in arg = { 0 };
	struct fdk_req req;
	int r;

	if ((mask & W_OK) && (m->mountflags & MS_RDONLY) &&
	    (S_ISREG(in->attr.mode) || S_ISDIR(in->attr.mode) ||
	     S_ISLNK(in->attr.mode)))
		return -EROFS;
	if (m->default_permissions)
		return vfs_permission(cred, in, mask);
	if (m->no_access)
		return 0;
	arg.mask = mask & 7;
	vfs_req_init(&req, FUSE_ACCESS, in->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_access = true;
		r = 0;
	}
	return r;
}

/* One port call by path, as the dispatcher hands it to its op. */
struct path_call {
	const struct emu_cred *cred;
	uint32_t op;
	const struct fdp_path_in *in;
	const char *path, *path2;
	struct vinode *base, *base2;	/* relative paths start here */
	const void *extra;
	size_t extralen;
	void *out;
	size_t *outlen, cap;
	void *owner;
	struct walk w, w2;
};

/*
 * Open @path; FDP_EXTERNAL when the walk (with the open's own follow
 * rules) left every mount: then the dispatcher hands back the path to
 * redo.  The reply carries the file's key and the path that names it now.
 */
static int op_open(struct path_call *c)
{
	const struct emu_cred *cred = c->cred;
	int flags = c->in->flags, r;
	struct fdp_open_out *out = c->out;
	struct walk *w = &c->w;
	struct vfile *f = NULL;
	char *canon;

	/* build_open_flags (Linux 6.4+): a directory cannot be created */
	if (!(flags & O_PATH) &&
	    (flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	/* force_o_largefile: what the daemon sees in OPEN, READ, WRITE */
	if (!(flags & O_PATH))
		flags |= KERNEL_O_LARGEFILE;
	if (flags & O_PATH) {
		r = vfs_walk(cred, c->base, c->path,
			     (flags & O_NOFOLLOW) ? 0 : WALK_FOLLOW, w);
		if (!r)
			r = vfile_open_path(cred, w->inode, flags, c->path,
					    c->owner, &f);
	} else if ((flags & O_TMPFILE) == O_TMPFILE) {
		if ((flags & O_ACCMODE) == O_RDONLY)
			return -EINVAL;
		r = vfs_walk(cred, c->base, c->path, WALK_FOLLOW, w);
		if (!r)
			r = vfile_tmpfile(cred, w->inode, flags, c->in->mode,
					  c->in->umask, c->path, c->owner, &f);
	} else if (flags & O_CREAT) {
		unsigned int wf = WALK_PARENT;

		if (!(flags & O_EXCL) && !(flags & O_NOFOLLOW))
			wf |= WALK_FOLLOW;
		r = vfs_walk(cred, c->base, c->path, wf, w);
		if (r)
			return r;
		if (w->last_type != WALK_LAST_NORM) {
			/* handle_dots, then do_open */
			if (flags & O_EXCL)
				return -EEXIST;
			if (w->last_type != WALK_LAST_ROOT || !w->inode ||
			    S_ISDIR(w->inode->attr.mode))
				return -EISDIR;
			/* a mount whose root is a file: open it */
		}
		if (w->inode) {
			if (flags & O_EXCL)
				return -EEXIST;
			if (S_ISLNK(w->inode->attr.mode))
				return -ELOOP;
			if (S_ISDIR(w->inode->attr.mode))
				return -EISDIR;
			/* open_last_lookups: the directory is let go of
			 * before the open */
			vfs_walk_unlock(w);
			r = vfile_open(cred, w->inode, flags, c->path,
				       c->owner, &f);
		} else {
			if (w->trailing_slash)
				return -EISDIR;
			r = may_create(cred, w, false);
			if (!r)
				r = vfile_create(cred, w->dir, w->last,
						 w->lastlen, flags, c->in->mode,
						 c->in->umask, c->path,
						 c->owner, &f);
		}
	} else {
		r = vfs_walk(cred, c->base, c->path,
			     (flags & O_NOFOLLOW) ? 0 : WALK_FOLLOW, w);
		if (!r)
			r = vfile_open(cred, w->inode, flags, c->path,
				       c->owner, &f);
	}
	if (r)
		return r;
	out->open_key = f->key;
	out->open_flags = f->open_flags;
	out->padding = 0;
	/* the path that names the file: "x/.." and symlinks resolved */
	canon = (char *)c->out + sizeof(*out);
	*c->outlen = sizeof(*out);
	if (vfs_walk_path(w, canon, FUSEDEV_PATH_MAX) == 0)
		*c->outlen += strlen(canon) + 1;
	return 0;
}

/* The ops that act on what the path names (following a final symlink
 * unless AT_SYMLINK_NOFOLLOW). */
static int walk_target(struct path_call *c)
{
	bool follow = !(c->in->flags & AT_SYMLINK_NOFOLLOW);

	if (c->op == FDP_OP_READLINK)
		follow = false;
	if (c->op == FDP_OP_TRUNCATE)
		follow = true;
	return vfs_walk(c->cred, c->base, c->path, follow ? WALK_FOLLOW : 0,
			&c->w);
}

static int op_stat(struct path_call *c)
{
	int r = walk_target(c);

	if (!r)
		r = vfs_stat_attr(c->cred, c->w.inode, c->in->mode,
				  c->in->flags);
	if (!r) {
		vfs_stat_out(c->w.inode, c->out);
		*c->outlen = sizeof(struct fdp_stat_out);
	}
	return r;
}

/* realpath(3) of the path: where the walk ended, by its dentries. */
static int op_realpath(struct path_call *c)
{
	int r = walk_target(c);

	if (!r)
		r = vfs_walk_path(&c->w, c->out, FUSEDEV_PATH_MAX);
	if (!r)
		*c->outlen = strlen(c->out) + 1;
	return r;
}

static int op_readlink(struct path_call *c)
{
	char *buf;
	int r = walk_target(c);

	if (r)
		return r;
	buf = malloc(FUSEDEV_PATH_MAX);
	if (!buf)
		return -ENOMEM;
	r = vfs_readlink(c->cred, c->w.inode, buf, FUSEDEV_PATH_MAX);
	if (r >= 0) {
		memcpy(c->out, buf, r);
		*c->outlen = r;
		r = 0;
	}
	free(buf);
	return r;
}

static int op_access(struct path_call *c)
{
	int r = walk_target(c);

	return r ? r : do_access(c->cred, c->w.inode, c->in->mode);
}

static int op_setattr(struct path_call *c)
{
	struct timespec ts[2];	/* the message's are unaligned */
	int r;

	if (c->op == FDP_OP_UTIMENS) {
		if (c->extralen != sizeof(ts))
			return -EINVAL;
		memcpy(ts, c->extra, sizeof(ts));
	}
	r = walk_target(c);
	if (r)
		return r;
	return vfs_setattr_op(c->cred, c->op, c->w.inode, NULL, c->in->mode,
			      c->op == FDP_OP_TRUNCATE ||
			      c->op == FDP_OP_CHOWN ? c->in->arg : 0,
			      c->op == FDP_OP_UTIMENS ? ts : NULL);
}

static int op_statfs(struct path_call *c)
{
	int r = walk_target(c);

	if (!r)
		r = vfs_statfs(c->cred, c->w.inode, c->out);
	if (!r)
		*c->outlen = sizeof(struct fuse_kstatfs);
	return r;
}

static int op_xattr(struct path_call *c)
{
	int r;

	if (c->op != FDP_OP_LISTXATTR && !c->path2)
		return -EINVAL;
	if (c->op == FDP_OP_SETXATTR && c->extralen != c->in->arg)
		return -EINVAL;
	r = walk_target(c);
	if (r)
		return r;
	return vfs_xattr_op(c->cred, c->op, c->w.inode,
			    c->op == FDP_OP_LISTXATTR ? NULL : c->path2,
			    c->in->arg, c->in->flags & ~AT_SYMLINK_NOFOLLOW,
			    c->extra, c->out, c->outlen, c->cap);
}

static int op_mkdir(struct path_call *c)
{
	struct fuse_mkdir_in mk = { .umask = c->in->umask };
	struct walk *w = &c->w;
	struct fdk_req req;
	int r;

	r = vfs_walk(c->cred, c->base, c->path, WALK_PARENT, w);
	if (!r)
		r = may_create(c->cred, w, true);
	if (r)
		return r;
	/* vfs_mkdir: S_IRWXUGO | S_ISVTX */
	mk.mode = vfs_create_mode(c->cred, w->dir, c->in->mode & 01777,
				  c->in->umask);
	vfs_req_init(&req, FUSE_MKDIR, w->dir->nodeid);
	vfs_in(&req, &mk, sizeof(mk));
	vfs_in(&req, w->last, w->lastlen + 1);
	return new_entry(c->cred, w, &req, S_IFDIR);
}

/* do_mknodat: may_mknod first */
static int op_mknod(struct path_call *c)
{
	struct fuse_mknod_in mk = { .rdev = (uint32_t)c->in->arg,
				    .umask = c->in->umask };
	mode_t t = c->in->mode & S_IFMT;
	struct walk *w = &c->w;
	struct fdk_req req;
	int r;

	if (!t)
		t = S_IFREG;
	if (S_ISDIR(t))
		return -EPERM;
	if (!S_ISREG(t) && !S_ISCHR(t) && !S_ISBLK(t) && !S_ISFIFO(t) &&
	    !S_ISSOCK(t))
		return -EINVAL;
	r = vfs_walk(c->cred, c->base, c->path, WALK_PARENT, w);
	if (!r)
		r = may_create(c->cred, w, false);
	if (r)
		return r;
	mk.mode = vfs_create_mode(c->cred, w->dir, c->in->mode & 07777,
				  c->in->umask) | t;
	if ((S_ISCHR(t) || S_ISBLK(t)) && c->cred->uid)
		return -EPERM;		/* vfs_mknod: CAP_MKNOD */
	vfs_req_init(&req, FUSE_MKNOD, w->dir->nodeid);
	vfs_in(&req, &mk, sizeof(mk));
	vfs_in(&req, w->last, w->lastlen + 1);
	return new_entry(c->cred, w, &req, t);
}

/*
 * unix_bind_bsd: the socket node is made as mknod makes one (an existing
 * name is EADDRINUSE), and the real socket @c->in->arg serves it.
 */
static int op_bind(struct path_call *c)
{
	const struct fdp_path_in *in = c->in;
	struct fdp_path_in mk = *in;
	const char *addr = c->extra;
	struct vdentry *d;
	int r;

	if (!S_ISSOCK(in->mode) || !in->arg || !c->extralen ||
	    addr[c->extralen - 1] ||
	    c->extralen > sizeof(((struct sockaddr_un *)0)->sun_path) + 1)
		return -EINVAL;
	mk.arg = 0;			/* no rdev */
	c->in = &mk;
	r = op_mknod(c);
	c->in = in;
	if (r == -EEXIST)
		return -EADDRINUSE;
	if (r < 0)
		return r;
	d = dentry_find(c->w.m, c->w.dir, c->w.last, c->w.lastlen);
	if (!d || !d->inode)
		return -ENOENT;		/* gone again already */
	return vsock_bind(d->inode, in->arg, addr);
}

/* unix_find_bsd: the path (symlinks followed), writable, a socket with
 * one bound to it. */
static int op_connect(struct path_call *c)
{
	struct fdp_sock_out *out = c->out;
	struct vinode *in;
	int r;

	r = vfs_walk(c->cred, c->base, c->path, WALK_FOLLOW, &c->w);
	if (r)
		return r;
	in = c->w.inode;
	r = vfs_permission(c->cred, in, 2);
	if (r)
		return r;
	if (!S_ISSOCK(in->attr.mode))
		return -ECONNREFUSED;
	r = vsock_lookup(in, &out->key);
	if (!r)
		*c->outlen = sizeof(*out);
	return r;
}

static int op_symlink(struct path_call *c)
{
	struct walk *w = &c->w;
	struct fdk_req req;
	int r;

	if (!c->path2 || !*c->path2)
		return -ENOENT;
	if (strlen(c->path2) >= FUSEDEV_PATH_MAX)
		return -ENAMETOOLONG;
	r = vfs_walk(c->cred, c->base, c->path, WALK_PARENT, w);
	if (!r)
		r = may_create(c->cred, w, false);
	if (r)
		return r;
	vfs_req_init(&req, FUSE_SYMLINK, w->dir->nodeid);
	vfs_in(&req, w->last, w->lastlen + 1);
	vfs_in(&req, c->path2, strlen(c->path2) + 1);
	return new_entry(c->cred, w, &req, S_IFLNK);
}

static int op_unlink(struct path_call *c)
{
	int r = vfs_walk(c->cred, c->base, c->path, WALK_PARENT, &c->w);

	return r ? r : do_unlink(c->cred, &c->w, c->op == FDP_OP_RMDIR);
}

/* RENAME: path from base, path2 from base2; LINK likewise. */
static int op_rename_link(struct path_call *c)
{
	bool link = c->op == FDP_OP_LINK;
	int r;

	if (!c->path2)
		return -EINVAL;
	r = vfs_walk(c->cred, c->base, c->path,
		     !link ? WALK_PARENT | WALK_NOLAST :
		     (c->in->flags & AT_SYMLINK_FOLLOW) ? WALK_FOLLOW : 0,
		     &c->w);
	if (r)
		return r;
	r = vfs_walk(c->cred, c->base2, c->path2,
		     link ? WALK_PARENT : WALK_PARENT | WALK_NOLAST, &c->w2);
	if (r == FDP_EXTERNAL)
		return -EXDEV;
	if (r)
		return r;
	return link ? do_link(c->cred, &c->w, &c->w2) :
		      do_rename(c->cred, &c->w, &c->w2, c->in->flags);
}

static int (*const path_ops[FDP_OP_MAX])(struct path_call *c) = {
	[FDP_OP_STAT] = op_stat,
	[FDP_OP_OPEN] = op_open,
	[FDP_OP_MKDIR] = op_mkdir,
	[FDP_OP_MKNOD] = op_mknod,
	[FDP_OP_UNLINK] = op_unlink,
	[FDP_OP_RMDIR] = op_unlink,
	[FDP_OP_RENAME] = op_rename_link,
	[FDP_OP_LINK] = op_rename_link,
	[FDP_OP_SYMLINK] = op_symlink,
	[FDP_OP_READLINK] = op_readlink,
	[FDP_OP_ACCESS] = op_access,
	[FDP_OP_TRUNCATE] = op_setattr,
	[FDP_OP_CHMOD] = op_setattr,
	[FDP_OP_CHOWN] = op_setattr,
	[FDP_OP_UTIMENS] = op_setattr,
	[FDP_OP_STATFS] = op_statfs,
	[FDP_OP_SETXATTR] = op_xattr,
	[FDP_OP_GETXATTR] = op_xattr,
	[FDP_OP_LISTXATTR] = op_xattr,
	[FDP_OP_REMOVEXATTR] = op_xattr,
	[FDP_OP_REALPATH] = op_realpath,
	[FDP_OP_BIND] = op_bind,
	[FDP_OP_CONNECT] = op_connect,
};

/* The inode an open file's key names, for a walk's start. */
static int base_inode(uint64_t key, struct vinode **out)
{
	struct vfile *f;

	*out = NULL;
	if (!key)
		return 0;
	f = vfile_find(key);
	if (!f)
		return -EBADF;
	*out = f->inode;
	return 0;
}

int vfs_path_op(const struct emu_cred *cred, uint32_t op,
		const struct fdp_path_in *in, const char *path,
		const char *path2, const void *extra, size_t extralen,
		void *out, size_t *outlen, void *owner)
{
	struct path_call c = {
		.cred = cred, .op = op, .in = in, .path = path,
		.path2 = path2, .extra = extra, .extralen = extralen,
		.out = out, .outlen = outlen, .cap = *outlen, .owner = owner,
	};
	int r;

	*outlen = 0;
	if (op >= FDP_OP_MAX || !path_ops[op])
		return -EINVAL;
	r = base_inode(in->base, &c.base);
	if (!r)
		r = base_inode(in->base2, &c.base2);
	if (!r)
		r = path_ops[op](&c);
	if (r == FDP_EXTERNAL) {
		size_t n = strlen(c.w.ext) + 1;

		memcpy(out, c.w.ext, n);
		*outlen = n;
	}
	vfs_walk_done(&c.w);
	vfs_walk_done(&c.w2);
	return r;
}
