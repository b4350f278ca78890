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
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "emu.h"
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

int vfs_setattr_op(const struct emu_cred *cred, uint32_t op,
		   struct vinode *in, struct vfile *f, uint32_t mode,
		   uint64_t arg, const struct timespec *ts)
{
	struct fuse_setattr_in sa = { 0 };
	bool dp = in->m->default_permissions;
	int r, i;

	if (dp) {
		r = vfs_fresh_attr(cred, in, f);
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
		r = vfs_kill_suidgid(cred, in, f, &sa);	/* do_truncate */
		if (r < 0)
			return r;
		break;
	default:
		return -EINVAL;
	}
	return vfs_setattr(cred, in, f, &sa);
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

static int may_create(const struct emu_cred *cred, struct walk *w)
{
	if (w->inode)
		return -EEXIST;
	if (w->m->mountflags & MS_RDONLY)
		return -EROFS;
	return vfs_permission(cred, w->dir, 3);
}

static int may_delete(const struct emu_cred *cred, struct walk *w, bool dir)
{
	if (!w->inode)
		return -ENOENT;
	/* do_unlinkat: "f/" names a directory or nothing */
	if (!dir && w->trailing_slash)
		return S_ISDIR(w->inode->attr.mode) ? -EISDIR : -ENOTDIR;
	if (dir && !S_ISDIR(w->inode->attr.mode))
		return -ENOTDIR;
	if (!dir && S_ISDIR(w->inode->attr.mode))
		return -EISDIR;
	if (w->m->mountflags & MS_RDONLY)
		return -EROFS;
	return vfs_permission(cred, w->dir, 3);
}

/* fuse_entry_unlinked */
static void entry_unlinked(struct walk *w, bool dir)
{
	struct vinode *in = w->inode;

	if (dir)
		in->attr.nlink = 0;
	else if (in->attr.nlink)
		in->attr.nlink--;
	in->attr_expire = 0;
	w->dir->attr_expire = 0;
	dentry_drop(w->m, w->dir, w->last, w->lastlen);
}

static int do_unlink(const struct emu_cred *cred, struct walk *w, bool dir)
{
	struct fdk_req req;
	int r = may_delete(cred, w, dir);

	if (r < 0)
		return r;
	if (dir && w->inode == w->m->root)
		return -EBUSY;
	vfs_req_init(&req, dir ? FUSE_RMDIR : FUSE_UNLINK, w->dir->nodeid);
	vfs_in(&req, w->last, w->lastlen + 1);
	r = vfs_request(w->m, cred, &req);
	if (r < 0)
		return r;
	entry_unlinked(w, dir);
	return 0;
}

static int do_rename(const struct emu_cred *cred, struct walk *o,
		     struct walk *n, uint32_t flags)
{
	struct fuse_rename2_in arg = { 0 };
	uint64_t oexp, nexp;
	struct vdentry *d;
	struct fdk_req req;
	int r;

	if (o->m != n->m)
		return -EXDEV;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) ||
	    ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) &&
	     (flags & RENAME_EXCHANGE)))
		return -EINVAL;
	if ((flags & RENAME_WHITEOUT) && cred->uid != 0)
		return -EPERM;		/* CAP_MKNOD */
	if (!o->inode)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && n->inode)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !n->inode)
		return -ENOENT;
	if ((flags & RENAME_EXCHANGE) && n->trailing_slash &&
	    !S_ISDIR(n->inode->attr.mode))
		return -ENOTDIR;
	/* trailing slashes only on directories */
	if (!S_ISDIR(o->inode->attr.mode) &&
	    (o->trailing_slash ||
	     (!(flags & RENAME_EXCHANGE) && n->trailing_slash)))
		return -ENOTDIR;
	if (o->m->mountflags & MS_RDONLY)
		return -EROFS;
	if (n->inode && !(flags & RENAME_EXCHANGE)) {
		if (n->inode == o->inode)
			return 0;
		if (S_ISDIR(o->inode->attr.mode) &&
		    !S_ISDIR(n->inode->attr.mode))
			return -ENOTDIR;
		if (!S_ISDIR(o->inode->attr.mode) &&
		    S_ISDIR(n->inode->attr.mode))
			return -EISDIR;
	}
	r = vfs_permission(cred, o->dir, 3);
	if (!r)
		r = vfs_permission(cred, n->dir, 3);
	if (r < 0)
		return r;
	arg.newdir = n->dir->nodeid;
	arg.flags = flags;
	vfs_req_init(&req, flags ? FUSE_RENAME2 : FUSE_RENAME, o->dir->nodeid);
	vfs_in(&req, &arg, flags ? sizeof(struct fuse_rename2_in) :
				   sizeof(struct fuse_rename_in));
	vfs_in(&req, o->last, o->lastlen + 1);
	vfs_in(&req, n->last, n->lastlen + 1);
	r = vfs_request(o->m, cred, &req);
	if (r == -ENOSYS && flags)
		r = -EINVAL;		/* fuse_rename2: no RENAME2 */
	if (r < 0)
		return r;
	/* fuse_rename_common: the entries moved; look them up afresh. */
	o->inode->attr_expire = 0;
	o->dir->attr_expire = 0;
	n->dir->attr_expire = 0;
	if (n->inode) {
		if (flags & RENAME_EXCHANGE)
			n->inode->attr_expire = 0;
		else if (n->inode->attr.nlink)
			n->inode->attr.nlink -= S_ISDIR(n->inode->attr.mode) ?
						n->inode->attr.nlink : 1;
	}
	/* d_move: each inode takes its new name with its entry timeout
	 * (open files find their path by it) */
	d = dentry_find(o->m, o->dir, o->last, o->lastlen);
	oexp = d && d->inode == o->inode ? d->expire : 0;
	d = dentry_find(n->m, n->dir, n->last, n->lastlen);
	nexp = d && n->inode && d->inode == n->inode ? d->expire : 0;
	dentry_drop(o->m, o->dir, o->last, o->lastlen);
	dentry_drop(n->m, n->dir, n->last, n->lastlen);
	dentry_set(n->m, n->dir, n->last, n->lastlen, o->inode, oexp);
	if ((flags & RENAME_EXCHANGE) && n->inode)
		dentry_set(o->m, o->dir, o->last, o->lastlen, n->inode, nexp);
	return 0;
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

#define EXT(r, w, out, outlen) do {					\
	if ((r) == FDP_EXTERNAL) {					\
		size_t _n = strlen((w)->ext) + 1;			\
		memcpy((out), (w)->ext, _n);				\
		*(outlen) = _n;						\
	}								\
} while (0)

/*
 * Open @path; FDP_EXTERNAL when the walk (with the open's own follow
 * rules) left every mount: then @out holds the path to redo, *@outlen
 * its size with the NUL.
 */
static int do_open(const struct emu_cred *cred, const char *path, int flags,
		   mode_t mode, mode_t umask, void *owner, void *outbuf,
		   size_t *outlen)
{
	struct fdp_open_out *out = outbuf;
	struct vfile *f = NULL;
	struct walk w;
	int r;

	/* build_open_flags (Linux 6.4+): a directory cannot be created */
	if (!(flags & O_PATH) &&
	    (flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	if (flags & O_PATH) {
		r = vfs_walk(cred, path,
			     (flags & O_NOFOLLOW) ? 0 : WALK_FOLLOW, &w);
		if (!r)
			r = vfile_open_path(cred, w.inode, flags, path, owner,
					    &f);
	} else if ((flags & O_TMPFILE) == O_TMPFILE) {
		if ((flags & O_ACCMODE) == O_RDONLY)
			return -EINVAL;
		r = vfs_walk(cred, path, WALK_FOLLOW, &w);
		if (!r)
			r = vfile_tmpfile(cred, w.inode, flags, mode, umask,
					  path, owner, &f);
	} else if (flags & O_CREAT) {
		unsigned int wf = WALK_PARENT;

		if (!(flags & O_EXCL) && !(flags & O_NOFOLLOW))
			wf |= WALK_FOLLOW;
		r = vfs_walk(cred, path, wf, &w);
		if (r == -EBUSY)
			r = -EISDIR;
		if (r)
			goto out;
		if (w.inode) {
			r = -EEXIST;
			if (flags & O_EXCL)
				goto out;
			r = -ELOOP;
			if (S_ISLNK(w.inode->attr.mode))
				goto out;
			r = vfile_open(cred, w.inode, flags, path, owner, &f);
		} else {
			r = -EISDIR;
			if (w.trailing_slash)
				goto out;
			r = may_create(cred, &w);
			if (!r)
				r = vfile_create(cred, w.dir, w.last, w.lastlen,
						 flags, mode, umask, path, owner,
						 &f);
		}
	} else {
		r = vfs_walk(cred, path,
			     (flags & O_NOFOLLOW) ? 0 : WALK_FOLLOW, &w);
		if (r)
			goto out;
		r = vfile_open(cred, w.inode, flags, path, owner, &f);
	}
	if (!r) {
		out->open_key = f->key;
		out->open_flags = f->open_flags;
		out->padding = 0;
	}
out:
	if (!r) {
		/* the path that names the file, "x/.." and symlinks resolved */
		char *canon = (char *)outbuf + sizeof(*out);

		*outlen = sizeof(*out);
		if (vfs_inode_path(f->inode, canon, FUSEDEV_PATH_MAX) == 0)
			*outlen += strlen(canon) + 1;
	}
	EXT(r, &w, outbuf, outlen);
	vfs_walk_done(&w);
	return r;
}

int vfs_path_op(const struct emu_cred *cred, uint32_t op,
		const struct fdp_path_in *in, const char *path,
		const char *path2, const void *extra, size_t extralen,
		void *out, size_t *outlen, void *owner)
{
	bool follow = !(in->flags & AT_SYMLINK_NOFOLLOW);
	size_t cap = *outlen;
	struct walk w, w2;
	struct fdk_req req;
	int r;

	*outlen = 0;
	memset(&w2, 0, sizeof(w2));
	switch (op) {
	case FDP_OP_OPEN:
		return do_open(cred, path, in->flags, in->mode, in->umask, owner,
			       out, outlen);
	case FDP_OP_STAT:
	case FDP_OP_READLINK:
	case FDP_OP_ACCESS:
	case FDP_OP_TRUNCATE:
	case FDP_OP_CHMOD:
	case FDP_OP_CHOWN:
	case FDP_OP_UTIMENS:
	case FDP_OP_STATFS:
	case FDP_OP_SETXATTR:
	case FDP_OP_GETXATTR:
	case FDP_OP_LISTXATTR:
	case FDP_OP_REMOVEXATTR:
		if (op == FDP_OP_READLINK)
			follow = false;
		if (op == FDP_OP_TRUNCATE)
			follow = true;
		r = vfs_walk(cred, path, follow ? WALK_FOLLOW : 0, &w);
		if (r)
			break;
		switch (op) {
		case FDP_OP_STAT:
			r = vfs_fresh_attr(cred, w.inode, NULL);
			if (!r) {
				vfs_stat_out(w.inode, out);
				*outlen = sizeof(struct fdp_stat_out);
			}
			break;
		case FDP_OP_READLINK: {
			char *buf = malloc(FUSEDEV_PATH_MAX);

			r = -ENOMEM;
			if (buf)
				r = vfs_readlink(cred, w.inode, buf,
						 FUSEDEV_PATH_MAX);
			if (r >= 0) {
				memcpy(out, buf, r);
				*outlen = r;
				r = 0;
			}
			free(buf);
			break;
		}
		case FDP_OP_ACCESS:
			r = do_access(cred, w.inode, in->mode);
			break;
		case FDP_OP_TRUNCATE:
			r = vfs_setattr_op(cred, op, w.inode, NULL, 0, in->arg,
					   NULL);
			break;
		case FDP_OP_CHMOD:
		case FDP_OP_CHOWN:
			r = vfs_setattr_op(cred, op, w.inode, NULL, in->mode,
					   in->arg, NULL);
			break;
		case FDP_OP_UTIMENS: {
			struct timespec ts[2];	/* the message's are unaligned */

			r = -EINVAL;
			if (extralen != sizeof(ts))
				break;
			memcpy(ts, extra, sizeof(ts));
			r = vfs_setattr_op(cred, op, w.inode, NULL, 0, 0, ts);
			break;
		}
		case FDP_OP_STATFS:
			r = vfs_statfs(cred, w.inode, out);
			if (!r)
				*outlen = sizeof(struct fuse_kstatfs);
			break;
		default:
			r = -EINVAL;
			if (op != FDP_OP_LISTXATTR && !path2)
				break;
			if (op == FDP_OP_SETXATTR && extralen != in->arg)
				break;
			r = vfs_xattr_op(cred, op, w.inode,
					 op == FDP_OP_LISTXATTR ? NULL : path2,
					 in->arg,
					 in->flags & ~AT_SYMLINK_NOFOLLOW,
					 extra, out, outlen, cap);
			break;
		}
		break;
	case FDP_OP_MKDIR:
	case FDP_OP_MKNOD:
	case FDP_OP_SYMLINK:
		r = vfs_walk(cred, path, WALK_PARENT, &w);
		if (r == -EBUSY)
			r = -EEXIST;
		if (r)
			break;
		r = may_create(cred, &w);
		if (r)
			break;
		if (op == FDP_OP_MKDIR) {
			/* vfs_mkdir: S_IRWXUGO | S_ISVTX */
			struct fuse_mkdir_in mk = {
				.mode = vfs_create_mode(cred, w.dir,
							in->mode & 01777,
							in->umask),
				.umask = in->umask,
			};

			vfs_req_init(&req, FUSE_MKDIR, w.dir->nodeid);
			vfs_in(&req, &mk, sizeof(mk));
			vfs_in(&req, w.last, w.lastlen + 1);
			r = new_entry(cred, &w, &req, S_IFDIR);
		} else if (op == FDP_OP_MKNOD) {
			struct fuse_mknod_in mk = {
				.mode = vfs_create_mode(cred, w.dir,
							in->mode &
							(S_IFMT | 07777),
							in->umask),
				.rdev = (uint32_t)in->arg,
				.umask = in->umask,
			};
			mode_t t = in->mode & S_IFMT;

			if (!t)
				mk.mode |= t = S_IFREG;
			/* may_mknod */
			r = S_ISDIR(t) ? -EPERM : -EINVAL;
			if (!S_ISREG(t) && !S_ISCHR(t) && !S_ISBLK(t) &&
			    !S_ISFIFO(t) && !S_ISSOCK(t))
				break;
			vfs_req_init(&req, FUSE_MKNOD, w.dir->nodeid);
			vfs_in(&req, &mk, sizeof(mk));
			vfs_in(&req, w.last, w.lastlen + 1);
			r = new_entry(cred, &w, &req, t);
		} else {
			r = -ENOENT;
			if (!path2 || !*path2)
				break;
			r = -ENAMETOOLONG;
			if (strlen(path2) >= FUSEDEV_PATH_MAX)
				break;
			vfs_req_init(&req, FUSE_SYMLINK, w.dir->nodeid);
			vfs_in(&req, w.last, w.lastlen + 1);
			vfs_in(&req, path2, strlen(path2) + 1);
			r = new_entry(cred, &w, &req, S_IFLNK);
		}
		break;
	case FDP_OP_UNLINK:
	case FDP_OP_RMDIR:
		r = vfs_walk(cred, path, WALK_PARENT, &w);
		if (r == -EBUSY)
			r = op == FDP_OP_RMDIR ? -EINVAL : -EISDIR;
		if (r)
			break;
		r = do_unlink(cred, &w, op == FDP_OP_RMDIR);
		break;
	case FDP_OP_RENAME:
	case FDP_OP_LINK:
		r = -EINVAL;
		if (!path2)
			return r;
		r = vfs_walk(cred, path, op == FDP_OP_LINK ?
			     ((in->flags & AT_SYMLINK_FOLLOW) ? WALK_FOLLOW : 0) :
			     WALK_PARENT, &w);
		if (r)
			break;
		r = vfs_walk(cred, path2, WALK_PARENT, &w2);
		if (r == FDP_EXTERNAL) {
			r = -EXDEV;
			break;
		}
		if (r == -EBUSY)
			r = op == FDP_OP_LINK ? -EEXIST : -EBUSY;
		if (r)
			break;
		if (op == FDP_OP_RENAME) {
			r = do_rename(cred, &w, &w2, in->flags);
		} else {
			struct fuse_link_in li;

			r = -EXDEV;
			if (w.m != w2.m)
				break;
			r = -EPERM;
			if (S_ISDIR(w.inode->attr.mode))
				break;
			r = may_create(cred, &w2);
			if (r)
				break;
			li.oldnodeid = w.inode->nodeid;
			vfs_req_init(&req, FUSE_LINK, w2.dir->nodeid);
			vfs_in(&req, &li, sizeof(li));
			vfs_in(&req, w2.last, w2.lastlen + 1);
			r = new_entry(cred, &w2, &req,
				      w.inode->attr.mode & S_IFMT);
			w.inode->attr_expire = 0;
		}
		break;
	default:
		return -EINVAL;
	}
	EXT(r, &w, out, outlen);
	vfs_walk_done(&w);
	vfs_walk_done(&w2);
	return r;
}
