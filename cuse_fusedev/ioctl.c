/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ioctl(2) on a client's file: Linux fs/fuse/ioctl.c, and the part of
 * fs/ioctl.c and fs/file_attr.c that the VFS answers itself for a FUSE
 * inode.
 *
 * A client's ioctl reaches its device open (devops.c), which asks
 * vfile_ioctl_size() what the command moves, has the transport fetch
 * that (CUSE: the retry protocol; fusefile: it came with the call) and
 * runs vfile_ioctl() in a fiber.  The VFS's own commands (FIONREAD,
 * FIOQSIZE, FIGETBSZ, FIBMAP, the fileattr ones, the preallocation ones,
 * FICLONE*) arrive as themselves where the kernel hands them to the
 * driver (CUSE) or under the shim's FUSEDEV_IOC_* numbers; every other
 * command is a restricted FUSE_IOCTL, as for a FUSE file.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "emu.h"
#include "vfs_i.h"

#ifndef FS_XFLAG_VERITY
#define FS_XFLAG_VERITY		0x00020000
#endif

/* include/linux/fileattr.h */
#define FS_COMMON_FL	(FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | \
			 FS_NODUMP_FL | FS_NOATIME_FL | FS_DAX_FL | \
			 FS_PROJINHERIT_FL)
#define FS_XFLAG_COMMON	(FS_XFLAG_SYNC | FS_XFLAG_IMMUTABLE | \
			 FS_XFLAG_APPEND | FS_XFLAG_NODUMP | \
			 FS_XFLAG_NOATIME | FS_XFLAG_DAX | FS_XFLAG_PROJINHERIT)
#define FS_XFLAG_RDONLY_MASK	(FS_XFLAG_PREALLOC | FS_XFLAG_HASATTR)
#define FS_XFLAGS_MASK	(FS_XFLAG_COMMON | FS_XFLAG_RDONLY_MASK | \
			 FS_XFLAG_EXTSIZE | FS_XFLAG_COWEXTSIZE | \
			 FS_XFLAG_RTINHERIT | FS_XFLAG_NOSYMLINKS | \
			 FS_XFLAG_EXTSZINHERIT | FS_XFLAG_REALTIME | \
			 FS_XFLAG_NODEFRAG | FS_XFLAG_FILESTREAM)
#define FUSE_DEFAULT_BLKSIZE	512

enum vio_op {
	VIO_FIONREAD, VIO_FIOQSIZE, VIO_FIGETBSZ, VIO_FIBMAP, VIO_GETFLAGS,
	VIO_SETFLAGS, VIO_FSGETXATTR, VIO_FSSETXATTR, VIO_PREALLOC,
	VIO_NOFSUUID, VIO_CLONE,
};

/* A command the VFS answers itself; @in and @out are the bytes it moves. */
struct vio {
	unsigned int cmd;		/* as the caller gave it, or 0 */
	unsigned int shim;		/* the shim's FUSEDEV_IOC_*, or 0 */
	enum vio_op op;
	uint16_t in, out;
	int mode;			/* VIO_PREALLOC: FALLOC_FL_* */
};

static const struct vio vios[] = {
	{ FIONREAD, FUSEDEV_IOC_FIONREAD, VIO_FIONREAD, 0, 4, 0 },
	{ FIOQSIZE, FUSEDEV_IOC_FIOQSIZE, VIO_FIOQSIZE, 0, 8, 0 },
	{ FIGETBSZ, FUSEDEV_IOC_FIGETBSZ, VIO_FIGETBSZ, 0, 4, 0 },
	{ FIBMAP, FUSEDEV_IOC_FIBMAP, VIO_FIBMAP, 4, 4, 0 },
	{ FS_IOC_GETFLAGS, FUSEDEV_IOC_GETFLAGS, VIO_GETFLAGS, 0, 4, 0 },
	{ FS_IOC_SETFLAGS, FUSEDEV_IOC_SETFLAGS, VIO_SETFLAGS, 4, 0, 0 },
	{ FS_IOC_FSGETXATTR, FUSEDEV_IOC_FSGETXATTR, VIO_FSGETXATTR, 0,
	  sizeof(struct fsxattr), 0 },
	{ FS_IOC_FSSETXATTR, FUSEDEV_IOC_FSSETXATTR, VIO_FSSETXATTR,
	  sizeof(struct fsxattr), 0, 0 },
	{ FUSEDEV_FS_IOC_RESVSP, FUSEDEV_IOC_RESVSP(0), VIO_PREALLOC,
	  48, 0, 0 },
	{ FUSEDEV_FS_IOC_UNRESVSP, FUSEDEV_IOC_RESVSP(1), VIO_PREALLOC,
	  48, 0, FALLOC_FL_PUNCH_HOLE },
	{ FUSEDEV_FS_IOC_RESVSP64, FUSEDEV_IOC_RESVSP(2), VIO_PREALLOC,
	  48, 0, 0 },
	{ FUSEDEV_FS_IOC_UNRESVSP64, FUSEDEV_IOC_RESVSP(3), VIO_PREALLOC,
	  48, 0, FALLOC_FL_PUNCH_HOLE },
	{ FUSEDEV_FS_IOC_ZERO_RANGE, FUSEDEV_IOC_RESVSP(4), VIO_PREALLOC,
	  48, 0, FALLOC_FL_ZERO_RANGE },
	{ FUSEDEV_FS_IOC_GETFSUUID, 0, VIO_NOFSUUID, 0, 0, 0 },
	{ FUSEDEV_FS_IOC_GETFSSYSFSPATH, 0, VIO_NOFSUUID, 0, 0, 0 },
	{ 0, FUSEDEV_IOC_CLONE_CHECK, VIO_CLONE,
	  sizeof(struct fusedev_clone), 0, 0 },
};

_Static_assert(sizeof(struct fsxattr) == 28, "struct fsxattr");
_Static_assert(FUSEDEV_RESVSP_COUNT == 5, "FUSEDEV_IOC_RESVSP");

static const struct vio *vio_find(unsigned int cmd)
{
	size_t i;

	for (i = 0; i < sizeof(vios) / sizeof(vios[0]); i++)
		if ((vios[i].cmd && vios[i].cmd == cmd) ||
		    (vios[i].shim && vios[i].shim == cmd))
			return &vios[i];
	return NULL;
}

static bool own_number(unsigned int cmd)
{
	return _IOC_TYPE(cmd) == FUSE_DEV_IOC_MAGIC &&
	       _IOC_NR(cmd) >= FUSEDEV_IOC_OWN_FIRST &&
	       _IOC_NR(cmd) <= FUSEDEV_IOC_OWN_LAST;
}

/* fuse_do_ioctl, restricted: what _IOC says. */
static void ioc_size(unsigned int cmd, size_t *in, size_t *out)
{
	*in = (_IOC_DIR(cmd) & _IOC_WRITE) ? _IOC_SIZE(cmd) : 0;
	*out = (_IOC_DIR(cmd) & _IOC_READ) ? _IOC_SIZE(cmd) : 0;
}

void vfile_ioctl_size(unsigned int cmd, size_t *in, size_t *out)
{
	const struct vio *v = vio_find(cmd);

	if (v) {
		*in = v->in;
		*out = v->out;
	} else if (own_number(cmd)) {
		*in = *out = 0;
	} else {
		ioc_size(cmd, in, out);
	}
}

/* ---- FUSE_IOCTL ------------------------------------------------------- */

/*
 * fuse_ioctl_common and fuse_do_ioctl without FUSE_IOCTL_UNRESTRICTED:
 * the data is what _IOC says, and a RETRY answer is EIO.  @data holds
 * the caller's bytes on entry and the daemon's on return (@cap bytes,
 * at least a page: the reply may be that long); *@len their count.
 */
static long fuse_ioctl(const struct emu_cred *cred, struct vfile *f,
		       unsigned int cmd, uint64_t arg, unsigned int flags,
		       void *data, size_t cap, size_t *len)
{
	struct vmount *m = f->m;
	struct fuse_ioctl_in in = { 0 };
	struct fuse_ioctl_out out = { 0 };
	size_t in_size, out_size, most;
	struct fdk_req req;
	int r;

	*len = 0;
	/* fuse_dir_ioctl: FUSE_IOCTL_DIR came with 7.18 */
	if (f->isdir && m->fc.minor < 18)
		return -ENOTTY;
	r = vfs_allowed(m, cred);
	if (r < 0)
		return r;
	ioc_size(cmd, &in_size, &out_size);
	most = in_size > out_size ? in_size : out_size;
	if (most < FDK_PAGE_SIZE)
		most = FDK_PAGE_SIZE;
	if ((most + FDK_PAGE_SIZE - 1) / FDK_PAGE_SIZE > m->fc.max_pages ||
	    cap < most)
		return -ENOMEM;
	in.fh = f->fh;
	in.cmd = cmd;
	in.arg = arg;
	in.flags = flags & (FUSE_IOCTL_COMPAT | FUSE_IOCTL_COMPAT_X32);
	if (flags & FUSE_IOCTL_COMPAT)
		in.flags |= FUSE_IOCTL_32BIT;
	if (f->isdir)
		in.flags |= FUSE_IOCTL_DIR;
	in.in_size = in_size;
	in.out_size = out_size;
	vfs_req_init(&req, FUSE_IOCTL, f->inode->nodeid);
	vfs_in(&req, &in, sizeof(in));
	if (in_size)
		vfs_in(&req, data, in_size);
	vfs_out(&req, &out, sizeof(out));
	vfs_out(&req, data, most);
	req.out_argvar = true;
	r = vfs_request(m, cred, &req);
	/* fuse_send_ioctl: ENOSYS is not for the caller */
	if (r == -ENOSYS)
		return -ENOTTY;
	if (r < 0)
		return r;
	if (out.flags & FUSE_IOCTL_RETRY)
		return -EIO;
	if (req.out_args[1].size > out_size)
		return -EIO;
	*len = req.out_args[1].size;
	return out.result;
}

/*
 * fuse_priv_ioctl: the VFS's own FUSE_IOCTL (fileattr) on a file it
 * opened for the purpose; the data is exactly @size bytes each way the
 * command moves it, and arg is 0.
 */
static int priv_ioctl(const struct emu_cred *cred, struct vfile *pf,
		      unsigned int cmd, void *ptr, size_t size)
{
	struct fuse_ioctl_in in = { 0 };
	struct fuse_ioctl_out out = { 0 };
	struct fdk_req req;
	int r;

	in.fh = pf->fh;
	in.cmd = cmd;
	if (pf->isdir)
		in.flags |= FUSE_IOCTL_DIR;
	if (_IOC_DIR(cmd) & _IOC_READ)
		in.out_size = size;
	if (_IOC_DIR(cmd) & _IOC_WRITE)
		in.in_size = size;
	vfs_req_init(&req, FUSE_IOCTL, pf->inode->nodeid);
	vfs_in(&req, &in, sizeof(in));
	vfs_in(&req, ptr, in.in_size);
	vfs_out(&req, &out, sizeof(out));
	vfs_out(&req, ptr, in.out_size);
	r = vfs_request(pf->m, cred, &req);
	if (r == -ENOSYS)
		return -ENOTTY;
	if (r < 0)
		return r;
	if (out.result < 0)
		return out.result;
	return (out.flags & FUSE_IOCTL_RETRY) ? -EIO : 0;
}

/* ---- fileattr (fs/file_attr.c, fuse_fileattr_get/set) ----------------- */

struct fattr {
	uint32_t flags;
	struct fsxattr x;
	bool flags_valid;
};

static void fill_xflags(struct fattr *fa, uint32_t xflags)
{
	static const uint32_t map[][2] = {
		{ FS_XFLAG_IMMUTABLE, FS_IMMUTABLE_FL },
		{ FS_XFLAG_APPEND, FS_APPEND_FL },
		{ FS_XFLAG_SYNC, FS_SYNC_FL },
		{ FS_XFLAG_NOATIME, FS_NOATIME_FL },
		{ FS_XFLAG_NODUMP, FS_NODUMP_FL },
		{ FS_XFLAG_DAX, FS_DAX_FL },
		{ FS_XFLAG_PROJINHERIT, FS_PROJINHERIT_FL },
		{ FS_XFLAG_VERITY, FS_VERITY_FL },
	};
	size_t i;

	memset(fa, 0, sizeof(*fa));
	fa->x.fsx_xflags = xflags;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (xflags & map[i][0])
			fa->flags |= map[i][1];
}

static void fill_flags(struct fattr *fa, uint32_t flags)
{
	static const uint32_t map[][2] = {
		{ FS_SYNC_FL, FS_XFLAG_SYNC },
		{ FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE },
		{ FS_APPEND_FL, FS_XFLAG_APPEND },
		{ FS_NODUMP_FL, FS_XFLAG_NODUMP },
		{ FS_NOATIME_FL, FS_XFLAG_NOATIME },
		{ FS_DAX_FL, FS_XFLAG_DAX },
		{ FS_PROJINHERIT_FL, FS_XFLAG_PROJINHERIT },
		{ FS_VERITY_FL, FS_XFLAG_VERITY },
	};
	size_t i;

	memset(fa, 0, sizeof(*fa));
	fa->flags_valid = true;
	fa->flags = flags;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i][0])
			fa->x.fsx_xflags |= map[i][1];
}

/*
 * fuse_fileattr_get / fuse_fileattr_set: the file is opened O_RDONLY
 * for the one request (OPEN, IOCTL, RELEASE), whatever the caller's
 * open file is.
 */
static int fileattr_io(const struct emu_cred *cred, struct vfile *f,
		       struct fattr *fa, bool set)
{
	struct vfile *pf;
	struct fsxattr x;
	uint32_t flags;
	int r;

	r = vfile_open_priv(cred, f->inode, f->path, &pf);
	if (r < 0)
		return r;
	if (set && fa->flags_valid) {
		flags = fa->flags;
		r = priv_ioctl(cred, pf, FS_IOC_SETFLAGS, &flags,
			       sizeof(flags));
	} else if (set) {
		memset(&x, 0, sizeof(x));
		x.fsx_xflags = fa->x.fsx_xflags;
		x.fsx_extsize = fa->x.fsx_extsize;
		x.fsx_nextents = fa->x.fsx_nextents;
		x.fsx_projid = fa->x.fsx_projid;
		x.fsx_cowextsize = fa->x.fsx_cowextsize;
		r = priv_ioctl(cred, pf, FS_IOC_FSSETXATTR, &x, sizeof(x));
	} else if (fa->flags_valid) {
		flags = 0;
		r = priv_ioctl(cred, pf, FS_IOC_GETFLAGS, &flags,
			       sizeof(flags));
		if (!r)
			fill_flags(fa, flags);
	} else {
		memset(&x, 0, sizeof(x));
		r = priv_ioctl(cred, pf, FS_IOC_FSGETXATTR, &x, sizeof(x));
		if (!r) {
			fill_xflags(fa, x.fsx_xflags);
			fa->x.fsx_extsize = x.fsx_extsize;
			fa->x.fsx_nextents = x.fsx_nextents;
			fa->x.fsx_projid = x.fsx_projid;
			fa->x.fsx_cowextsize = x.fsx_cowextsize;
		}
	}
	vfile_put(pf);
	return r;
}

/* fileattr_set_prepare */
static int fileattr_prepare(const struct emu_cred *cred, uint32_t mode,
			    const struct fattr *old, struct fattr *fa)
{
	if (((fa->flags ^ old->flags) & (FS_APPEND_FL | FS_IMMUTABLE_FL)) &&
	    cred->uid)
		return -EPERM;	/* CAP_LINUX_IMMUTABLE */
	if (old->x.fsx_projid != fa->x.fsx_projid &&
	    fa->x.fsx_projid == (uint32_t)-1)
		return -EINVAL;	/* not a valid project id */
	if ((fa->x.fsx_xflags & FS_XFLAG_EXTSIZE) && !S_ISREG(mode))
		return -EINVAL;
	if ((fa->x.fsx_xflags & FS_XFLAG_EXTSZINHERIT) && !S_ISDIR(mode))
		return -EINVAL;
	if ((fa->x.fsx_xflags & (FS_XFLAG_COWEXTSIZE | FS_XFLAG_DAX)) &&
	    !S_ISREG(mode) && !S_ISDIR(mode))
		return -EINVAL;
	if (!fa->x.fsx_extsize)
		fa->x.fsx_xflags &= ~(FS_XFLAG_EXTSIZE | FS_XFLAG_EXTSZINHERIT);
	if (!fa->x.fsx_cowextsize)
		fa->x.fsx_xflags &= ~FS_XFLAG_COWEXTSIZE;
	return 0;
}

/* vfs_fileattr_get for a FUSE inode: regular files and directories. */
static int fileattr_get(const struct emu_cred *cred, struct vfile *f,
			struct fattr *fa)
{
	if (!S_ISREG(f->inode->attr.mode) && !S_ISDIR(f->inode->attr.mode))
		return -ENOTTY;
	return fileattr_io(cred, f, fa, false);
}

/* ioctl_setflags / ioctl_fssetxattr after the copy in: vfs_fileattr_set. */
static int fileattr_set(const struct emu_cred *cred, struct vfile *f,
			struct fattr *fa)
{
	struct fattr old = { 0 };
	int r;

	if (f->m->mountflags & MS_RDONLY)
		return -EROFS;	/* mnt_want_write_file */
	if (cred->uid && cred->uid != f->inode->attr.uid)
		return -EPERM;	/* inode_owner_or_capable */
	r = fileattr_get(cred, f, &old);
	if (r < 0)
		return r;
	if (fa->flags_valid) {
		fa->x.fsx_xflags |= old.x.fsx_xflags & ~FS_XFLAG_COMMON;
		fa->x.fsx_extsize = old.x.fsx_extsize;
		fa->x.fsx_nextents = old.x.fsx_nextents;
		fa->x.fsx_projid = old.x.fsx_projid;
		fa->x.fsx_cowextsize = old.x.fsx_cowextsize;
	} else {
		fa->flags |= old.flags & ~FS_COMMON_FL;
	}
	r = fileattr_prepare(cred, f->inode->attr.mode, &old, fa);
	if (r < 0)
		return r;
	return fileattr_io(cred, f, fa, true);
}

/* ---- the VFS's own commands ------------------------------------------- */

/* ioctl_fibmap: FUSE's bmap asks the daemon only on a fuseblk mount. */
static int do_fibmap(const struct emu_cred *cred, struct vfile *f,
		     int32_t *block)
{
	struct fuse_bmap_in in = { 0 };
	struct fuse_bmap_out out = { 0 };
	struct vmount *m = f->m;
	struct fdk_req req;
	int r;

	if (cred->uid)
		return -EPERM;	/* CAP_SYS_RAWIO */
	if (*block < 0)
		return -EINVAL;
	if (!m->is_blk || m->no_bmap) {
		*block = 0;
		return 0;
	}
	in.block = *block;
	in.blocksize = m->blksize ? m->blksize : FUSE_DEFAULT_BLKSIZE;
	vfs_req_init(&req, FUSE_BMAP, f->inode->nodeid);
	vfs_in(&req, &in, sizeof(in));
	vfs_out(&req, &out, sizeof(out));
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS)
		m->no_bmap = true;
	*block = r ? 0 : (int32_t)out.block;
	return r || out.block <= INT32_MAX ? 0 : -ERANGE;
}

/* ioctl_preallocate */
static int do_prealloc(const struct emu_cred *cred, struct vfile *f,
		       int mode, const uint8_t *resv)
{
	int16_t whence;
	int64_t start, len;

	memcpy(&whence, resv + 2, sizeof(whence));
	memcpy(&start, resv + 8, sizeof(start));
	memcpy(&len, resv + 16, sizeof(len));
	switch (whence) {
	case SEEK_SET:
		break;
	case SEEK_CUR:
		start += f->pos;
		break;
	case SEEK_END:
		start += f->inode->attr.size;
		break;
	default:
		return -EINVAL;
	}
	return vfile_fallocate(cred, f, mode | FALLOC_FL_KEEP_SIZE, start,
			       len);
}

/* ioctl_file_clone / vfs_clone_file_range, vfs_dedupe_file_range: no
 * FUSE file can share its storage. */
static int do_clone(struct vfile *f, const struct fusedev_clone *c)
{
	struct vfile *src;

	if (c->dedupe) {
		if ((f->flags & O_ACCMODE) == O_WRONLY || c->dedupe > 1)
			return -EINVAL;
		if (f->isdir)
			return -EISDIR;
		return S_ISREG(f->inode->attr.mode) ? -EOPNOTSUPP : -EINVAL;
	}
	src = vfile_find(c->src_key);
	if (!src || (src->flags & O_PATH))
		return -EBADF;
	if (src->m != f->m)
		return -EXDEV;
	/* generic_file_rw_checks */
	if (src->isdir || f->isdir)
		return -EISDIR;
	if (!S_ISREG(src->inode->attr.mode) || !S_ISREG(f->inode->attr.mode))
		return -EINVAL;
	if ((src->flags & O_ACCMODE) == O_WRONLY ||
	    (f->flags & O_ACCMODE) == O_RDONLY || (f->flags & O_APPEND))
		return -EBADF;
	return -EOPNOTSUPP;
}

/* The command as do_vfs_ioctl answers it for a FUSE inode. */
static long vfs_ioctl_own(const struct emu_cred *cred, struct vfile *f,
			  const struct vio *v, const void *in, void *out,
			  size_t *len)
{
	uint32_t mode = f->inode->attr.mode;
	struct fattr fa;
	int64_t q;
	int32_t n;
	int r;

	switch (v->op) {
	case VIO_FIONREAD:
		n = (int32_t)(f->inode->attr.size - f->pos);
		memcpy(out, &n, sizeof(n));
		*len = sizeof(n);
		return 0;
	case VIO_FIOQSIZE:
		if (!S_ISDIR(mode) && !S_ISREG(mode) && !S_ISLNK(mode))
			return -ENOTTY;
		q = (int64_t)(f->inode->attr.blocks << 9);	/* i_blocks */
		memcpy(out, &q, sizeof(q));
		*len = sizeof(q);
		return 0;
	case VIO_FIGETBSZ:
		n = !f->m->is_blk ? FDK_PAGE_SIZE :
		    f->m->blksize ? (int32_t)f->m->blksize :
		    FUSE_DEFAULT_BLKSIZE;
		memcpy(out, &n, sizeof(n));
		*len = sizeof(n);
		return 0;
	case VIO_FIBMAP:
		memcpy(&n, in, sizeof(n));
		r = do_fibmap(cred, f, &n);
		if (r == -EPERM || r == -EINVAL)
			return r;
		memcpy(out, &n, sizeof(n));
		*len = sizeof(n);
		return r;
	case VIO_GETFLAGS:
	case VIO_FSGETXATTR:
		memset(&fa, 0, sizeof(fa));
		fa.flags_valid = v->op == VIO_GETFLAGS;
		r = fileattr_get(cred, f, &fa);
		if (r < 0)
			return r;
		if (v->op == VIO_GETFLAGS) {
			memcpy(out, &fa.flags, sizeof(fa.flags));
			*len = sizeof(fa.flags);
		} else {
			/* copy_fsxattr_to_user */
			fa.x.fsx_xflags &= FS_XFLAGS_MASK;
			memset(fa.x.fsx_pad, 0, sizeof(fa.x.fsx_pad));
			memcpy(out, &fa.x, sizeof(fa.x));
			*len = sizeof(fa.x);
		}
		return 0;
	case VIO_SETFLAGS:
		memcpy(&n, in, sizeof(n));
		fill_flags(&fa, (uint32_t)n);
		return fileattr_set(cred, f, &fa);
	case VIO_FSSETXATTR: {
		struct fsxattr x;

		/* copy_fsxattr_from_user */
		memcpy(&x, in, sizeof(x));
		if (x.fsx_xflags & ~FS_XFLAGS_MASK)
			return -EOPNOTSUPP;
		fill_xflags(&fa, x.fsx_xflags & ~FS_XFLAG_RDONLY_MASK);
		fa.x.fsx_extsize = x.fsx_extsize;
		fa.x.fsx_nextents = x.fsx_nextents;
		fa.x.fsx_projid = x.fsx_projid;
		fa.x.fsx_cowextsize = x.fsx_cowextsize;
		return fileattr_set(cred, f, &fa);
	}
	case VIO_PREALLOC:
		return do_prealloc(cred, f, v->mode, in);
	case VIO_NOFSUUID:
		return -ENOTTY;	/* a FUSE super block has neither */
	case VIO_CLONE: {
		struct fusedev_clone c;

		memcpy(&c, in, sizeof(c));
		return do_clone(f, &c);
	}
	}
	return -ENOTTY;
}

/* do_vfs_ioctl: which of its commands file_ioctl takes for regular
 * files only (others go to the file system, as FUSE_IOCTL). */
static bool vio_regular_only(enum vio_op op)
{
	return op == VIO_FIONREAD || op == VIO_FIBMAP || op == VIO_PREALLOC;
}

long vfile_ioctl(const struct emu_cred *cred, struct vfile *f,
		 unsigned int cmd, uint64_t arg, unsigned int flags,
		 void *data, size_t cap, size_t *len)
{
	const struct vio *v = vio_find(cmd);
	unsigned char in[64];

	*len = 0;
	if (f->flags & O_PATH)
		return -EBADF;
	if (!v && own_number(cmd))
		return -ENOTTY;
	if (!v || (vio_regular_only(v->op) &&
		   !S_ISREG(f->inode->attr.mode))) {
		if (v && !v->cmd)
			return -ENOTTY;
		return fuse_ioctl(cred, f, v ? v->cmd : cmd, arg, flags, data,
				  cap, len);
	}
	if (v->in > sizeof(in))
		return -EINVAL;
	memcpy(in, data, v->in);
	return vfs_ioctl_own(cred, f, v, in, data, len);
}
