/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The emulated VFS: mounts, inodes, dentries, the path walk, and the
 * requests that path system calls produce (Linux fs/fuse/dir.c and
 * inode.c, fs/namei.c for the walk).
 *
 * Inodes are per mount, keyed by nodeid; each counts the lookups the daemon
 * has answered (nlookup) and is forgotten with exactly that count when it
 * is evicted: when nothing refers to it and its link count is 0, or at
 * unmount.  Dentries map (parent, name) to an inode or to nothing (a
 * negative entry) until their entry timeout.  Attributes are cached until
 * their attr timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fs.h>

#include "emu.h"
#include "sock.h"
#include "vfs_i.h"

static struct list_head mounts = LIST_HEAD_INIT(mounts);
static uint64_t next_mount_id = 1;
static struct fusedev_mtab *mtab;

/* ---- small helpers ---------------------------------------------------- */

uint64_t vfs_expiry(uint64_t sec, uint32_t nsec)
{
	uint64_t now = loop_now_ns();

	if (!sec && !nsec)
		return 0;
	if (sec > (UINT64_MAX - now) / 1000000000ull)
		return UINT64_MAX;
	return now + sec * 1000000000ull + nsec;
}

static bool expired(uint64_t deadline)
{
	return deadline <= loop_now_ns();
}

static uint64_t hash_str(uint64_t h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* fuse_valid_type / fuse_invalid_attr */
static bool attr_valid(const struct fuse_attr *a)
{
	mode_t t = a->mode & S_IFMT;

	return (S_ISREG(t) || S_ISDIR(t) || S_ISLNK(t) || S_ISCHR(t) ||
		S_ISBLK(t) || S_ISFIFO(t) || S_ISSOCK(t)) &&
	       a->size <= LLONG_MAX;
}

/* ---- inodes ---------------------------------------------------------- */

struct vinode *vinode_find(struct vmount *m, uint64_t nodeid)
{
	struct vinode *i;

	if (!m->itab_size)
		return NULL;
	for (i = m->itab[nodeid & (m->itab_size - 1)]; i; i = i->hnext)
		if (i->nodeid == nodeid)
			return i;
	return NULL;
}

static int itab_grow(struct vmount *m)
{
	size_t n = m->itab_size ? m->itab_size * 2 : 256, k;
	struct vinode **t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (k = 0; k < m->itab_size; k++) {
		struct vinode *i = m->itab[k], *next;

		for (; i; i = next) {
			next = i->hnext;
			i->hnext = t[i->nodeid & (n - 1)];
			t[i->nodeid & (n - 1)] = i;
		}
	}
	free(m->itab);
	m->itab = t;
	m->itab_size = n;
	return 0;
}

static void vinode_unhash(struct vinode *in)
{
	struct vmount *m = in->m;
	struct vinode **pp = &m->itab[in->nodeid & (m->itab_size - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			m->icount--;
			return;
		}
	}
}

static void vinode_free(struct vinode *in)
{
	vfs_acl_forget(in);
	free(in->link);
	free(in);
}

/*
 * fuse_iget: the inode for a nodeid the daemon just returned in an entry;
 * counts the lookup.  Returns a new reference.
 */
int vinode_iget(struct vmount *m, const struct fuse_entry_out *e,
		struct vinode **out)
{
	struct vinode *in = vinode_find(m, e->nodeid);

	if (!attr_valid(&e->attr))
		return -EIO;
	if (in && in != m->root &&
	    (((in->attr.mode ^ e->attr.mode) & S_IFMT) ||
	     in->generation != e->generation)) {
		/* fuse_stale_inode: the daemon reused a nodeid.  Linux
		 * marks the old inode bad and starts afresh; the old one's
		 * lookups are forgotten now. */
		vinode_unhash(in);
		fdk_queue_forget(&m->fc, in->nodeid, in->nlookup);
		in->forgotten = true;
		in->nlookup = 0;
		vinode_get(in);
		vinode_put(in);		/* freed here if unused */
		in = NULL;
	}
	if (!in) {
		if (m->icount + 1 > m->itab_size && itab_grow(m) < 0)
			return -ENOMEM;
		in = calloc(1, sizeof(*in));
		if (!in)
			return -ENOMEM;
		in->m = m;
		in->nodeid = e->nodeid;
		in->generation = e->generation;
		fiber_rwsem_init(&in->i_rwsem);
		fiber_rwsem_init(&in->i_mutex);
		in->hnext = m->itab[in->nodeid & (m->itab_size - 1)];
		m->itab[in->nodeid & (m->itab_size - 1)] = in;
		m->icount++;
	}
	in->nlookup++;
	vfs_attr_set(in, &e->attr, e->attr_valid, e->attr_valid_nsec);
	in->refs++;
	*out = in;
	return 0;
}

/* fuse_change_attributes: new attributes, valid for the given time. */
void vfs_attr_set(struct vinode *in, const struct fuse_attr *a,
		  uint64_t sec, uint32_t nsec)
{
	in->nosec = false;	/* another client may have set them */
	in->attr = *a;
	in->attr_expire = vfs_expiry(sec, nsec);
	in->inval_mask &= ~STATX_BASIC_STATS;
}

void vinode_get(struct vinode *in)
{
	in->refs++;
}

/*
 * Evict as soon as nothing refers to the inode: FUSE's drop_inode is
 * generic_delete_inode, so Linux keeps no inode without a dentry or an
 * open file.  The daemon hears FORGET with every lookup it answered.  An
 * evicted inode lets go of its parent, which may go in turn.
 */
void vinode_put(struct vinode *in)
{
	while (in && !--in->refs) {
		struct vinode *parent = in->parent;

		if (in->forgotten) {
			vinode_free(in);
		} else if (in == in->m->root || in->m->finished) {
			return;
		} else {
			vinode_unhash(in);
			if (in->nlookup)
				fdk_queue_forget(&in->m->fc, in->nodeid,
						 in->nlookup);
			vinode_free(in);
		}
		in = parent;
	}
}

/* d_ancestor: is @a @b itself or one of @b's ancestors? */
bool vinode_is_ancestor(const struct vinode *a, const struct vinode *b)
{
	for (; b; b = b->parent)
		if (a == b)
			return true;
	return false;
}

static void vinode_set_parent(struct vinode *in, struct vinode *dir)
{
	struct vinode *old = in->parent;

	if (old == dir)
		return;
	vinode_get(dir);
	in->parent = dir;
	vinode_put(old);
}

/* ---- dentries -------------------------------------------------------- */

static size_t dslot(struct vmount *m, uint64_t parent, const char *name,
		    size_t len)
{
	return hash_str(parent * 0x9e3779b97f4a7c15ull, name, len) &
	       (m->dtab_size - 1);
}

static struct vdentry **dentry_slot(struct vmount *m, struct vinode *dir,
				    const char *name, size_t len)
{
	struct vdentry **pp;

	if (!m->dtab_size)
		return NULL;
	pp = &m->dtab[dslot(m, dir->nodeid, name, len)];
	for (; *pp; pp = &(*pp)->hnext) {
		struct vdentry *d = *pp;

		if (d->parent == dir && d->namelen == len &&
		    !memcmp(d->name, name, len))
			return pp;
	}
	return NULL;
}

struct vdentry *dentry_find(struct vmount *m, struct vinode *dir,
			    const char *name, size_t len)
{
	struct vdentry **pp = dentry_slot(m, dir, name, len);

	return pp ? *pp : NULL;
}

void dentry_drop(struct vmount *m, struct vinode *dir, const char *name,
		 size_t len)
{
	struct vdentry **pp = dentry_slot(m, dir, name, len);
	struct vdentry *d;

	if (!pp)
		return;
	d = *pp;
	*pp = d->hnext;
	m->dcount--;
	if (d->inode && d->inode->alias == d)
		d->inode->alias = NULL;
	vinode_put(d->inode);
	vinode_put(d->parent);
	free(d);
}

static int dtab_grow(struct vmount *m)
{
	size_t n = m->dtab_size ? m->dtab_size * 2 : 256, k;
	struct vdentry **t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (k = 0; k < m->dtab_size; k++) {
		struct vdentry *d = m->dtab[k], *next;

		for (; d; d = next) {
			size_t s = hash_str(d->parent->nodeid *
					    0x9e3779b97f4a7c15ull, d->name,
					    d->namelen) & (n - 1);

			next = d->hnext;
			d->hnext = t[s];
			t[s] = d;
		}
	}
	free(m->dtab);
	m->dtab = t;
	m->dtab_size = n;
	return 0;
}

/*
 * d_add / d_splice_alias: @inode (may be NULL: negative) under (dir,
 * name) until @expire; takes its own references.  A directory has one
 * name: a dentry of it elsewhere moves here (d_move), unless the
 * directory is @dir or one of its ancestors (-ELOOP, nothing changes).
 */
int dentry_set(struct vmount *m, struct vinode *dir, const char *name,
	       size_t len, struct vinode *inode, uint64_t expire)
{
	struct vdentry *d;
	size_t s;

	if (inode && S_ISDIR(inode->attr.mode)) {
		if (vinode_is_ancestor(inode, dir))
			return -ELOOP;
		d = inode->alias;
		if (d && (d->parent != dir || d->namelen != len ||
			  memcmp(d->name, name, len)))
			dentry_drop(m, d->parent, d->name, d->namelen);
	}
	if (inode)
		vinode_get(inode);	/* across the drop below */
	dentry_drop(m, dir, name, len);
	if (!inode && !expire)
		return 0;	/* a negative entry that expires at once */
	if ((m->dcount + 1 > m->dtab_size && dtab_grow(m) < 0) ||
	    !(d = malloc(sizeof(*d) + len + 1))) {
		vinode_put(inode);
		return -ENOMEM;
	}
	d->parent = dir;
	vinode_get(dir);
	d->inode = inode;
	if (inode) {
		inode->alias = d;
		vinode_set_parent(inode, dir);
	}
	d->expire = expire;
	d->namelen = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	s = dslot(m, dir->nodeid, name, len);
	d->hnext = m->dtab[s];
	m->dtab[s] = d;
	m->dcount++;
	return 0;
}

/*
 * d_path: the absolute path that names @in now, from its dentries up to
 * the mount's root, into @buf; -ENOENT when a link is missing (unlinked,
 * or its dentry was dropped), -ENAMETOOLONG.
 */
int vfs_inode_path(struct vinode *in, char *buf, size_t size)
{
	struct vmount *m = in->m;
	size_t pos = size, hops = 0;

	if (!size)
		return -ENAMETOOLONG;
	buf[--pos] = '\0';
	while (in != m->root) {
		struct vdentry *d = in->alias;

		if (!d || ++hops > FUSEDEV_PATH_MAX / 2)
			return -ENOENT;
		if (pos < d->namelen + 1)
			return -ENAMETOOLONG;
		pos -= d->namelen;
		memcpy(buf + pos, d->name, d->namelen);
		buf[--pos] = '/';
		in = d->parent;
	}
	if (pos < m->pathlen)
		return -ENAMETOOLONG;
	if (pos == size - 1 || m->pathlen > 1) {
		pos -= m->pathlen;
		memcpy(buf + pos, m->path, m->pathlen);
	}
	memmove(buf, buf + pos, size - pos);
	return 0;
}

/* ---- requests --------------------------------------------------------- */

static void req_wake(struct fdk_req *req)
{
	fiber_wake(req->owner);
}

int vfs_request(struct vmount *m, const struct emu_cred *cred,
		struct fdk_req *req)
{
	struct fiber *f = fiber_self();
	int *intr = fiber_intr(f), seen = 0;

	if (*intr >= 2)
		return -EINTR;
	req->flags |= FR_ISREPLY;
	if (cred) {
		req->in_h.uid = cred->uid;
		req->in_h.gid = cred->gid;
		req->in_h.pid = cred->pid;
	}
	req->end = req_wake;
	req->owner = f;
	fdk_send(&m->fc, req);
	while (!(req->flags & FR_FINISHED)) {
		if (*intr > seen) {
			seen = *intr;
			fdk_interrupt(req, seen >= 2);
			continue;
		}
		fiber_sleep();
	}
	return req->out_h.error;
}

void vfs_req_init(struct fdk_req *req, uint32_t opcode, uint64_t nodeid)
{
	memset(req, 0, sizeof(*req));
	req->in_h.opcode = opcode;
	req->in_h.nodeid = nodeid;
}

void vfs_in(struct fdk_req *req, const void *p, size_t size)
{
	req->in_args[req->in_numargs++] = (struct fdk_in_arg){ size, p };
}

void vfs_out(struct fdk_req *req, void *p, size_t size)
{
	req->out_args[req->out_numargs++] = (struct fdk_out_arg){ size, p };
}

/* ---- permissions ------------------------------------------------------ */

/* fuse_allow_current_process */
int vfs_allowed(struct vmount *m, const struct emu_cred *cred)
{
	if (m->allow_other)
		return 0;
	if (cred->uid == m->user_id && cred->gid == m->group_id)
		return 0;
	return -EACCES;
}

static void load_groups(struct emu_cred *cred)
{
	char path[64], line[1024];
	FILE *fp;

	cred->ngroups = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", cred->pid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		while (cred->ngroups < 32) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			cred->groups[cred->ngroups++] = g;
			p = end;
		}
		break;
	}
	fclose(fp);
}

/* in_group_p: the caller's group or one of its supplementary groups. */
bool vfs_in_group(const struct emu_cred *ccred, gid_t gid)
{
	struct emu_cred *cred = (struct emu_cred *)ccred;
	int i;

	if (cred->gid == gid)
		return true;
	if (cred->ngroups < 0)
		load_groups(cred);
	for (i = 0; i < cred->ngroups; i++)
		if (cred->groups[i] == gid)
			return true;
	return false;
}

/* generic_permission on the cached attributes, @mask of MAY_* (4 2 1). */
int vfs_mode_permission(const struct emu_cred *cred,
			const struct fuse_attr *a, int mask)
{
	unsigned int mode = a->mode;

	if (cred->uid == 0) {
		/* CAP_DAC_OVERRIDE: exec needs one x bit, except dirs. */
		if (!(mask & 1) || S_ISDIR(mode) || (mode & 0111))
			return 0;
		return -EACCES;
	}
	if (cred->uid == a->uid)
		mode >>= 6;
	else if (vfs_in_group(cred, a->gid))
		mode >>= 3;
	if ((mask & ~mode & 7) == 0)
		return 0;
	return -EACCES;
}

/*
 * generic_permission on the cached attributes, @mask of MAY_* (4 2 1):
 * the owner's bits; else the access ACL when the daemon took
 * FUSE_POSIX_ACL and the group bits are not all clear
 * (acl_permission_check), else the group's or others' bits; then root's
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
 */
int vfs_generic_permission(const struct emu_cred *cred, struct vinode *in,
			   int mask)
{
	unsigned int mode = in->attr.mode;
	int r;

	mask &= 7;
	if (cred->uid == in->attr.uid) {
		r = (mask & ~(mode >> 6)) ? -EACCES : 0;
	} else {
		r = -EAGAIN;
		if (mode & S_IRWXG)
			r = vfs_acl_permission(cred, in, mask);
		if (r == -EAGAIN) {
			if (vfs_in_group(cred, in->attr.gid))
				mode >>= 3;
			r = (mask & ~mode) ? -EACCES : 0;
		}
	}
	if (r != -EACCES || cred->uid != 0)
		return r;
	if (S_ISDIR(in->attr.mode) || !(mask & 1) || (in->attr.mode & 0111))
		return 0;
	return -EACCES;
}

/*
 * fuse_permission under default_permissions, for the walk and for
 * opens: attributes refreshed when expired, and once more before a
 * denial stands.
 */
int vfs_permission(const struct emu_cred *cred, struct vinode *in, int mask)
{
	struct vmount *m = in->m;
	bool refreshed = false;
	int r;

	if (!m->default_permissions)
		return 0;
	if ((in->inval_mask & (STATX_MODE | STATX_UID | STATX_GID)) ||
	    expired(in->attr_expire)) {
		refreshed = true;
		r = vfs_getattr(cred, in, NULL);	/* fuse_perm_getattr */
		if (r < 0)
			return r;
	}
	r = vfs_generic_permission(cred, in, mask);
	if (r == -EACCES && !refreshed) {
		r = vfs_getattr(cred, in, NULL);
		if (!r)
			r = vfs_generic_permission(cred, in, mask);
	}
	return r;
}

/*
 * The mode a creating request carries: vfs_prepare_mode (the set-group-ID
 * bit of a new file in a set-group-ID directory dropped for a caller
 * outside its group, mode_strip_sgid), then fuse_mknod/fuse_mkdir/
 * fuse_create_open: FUSE sets SB_POSIXACL, so the VFS leaves the umask to
 * FUSE, which applies it unless the daemon took FUSE_DONT_MASK (then the
 * daemon applies the request's umask, or a default ACL).
 */
uint32_t vfs_create_mode(const struct emu_cred *cred, struct vinode *dir,
			 uint32_t mode, uint32_t umask)
{
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    !S_ISDIR(mode) && (dir->attr.mode & S_ISGID) && cred->uid &&
	    !vfs_in_group(cred, dir->attr.gid))
		mode &= ~S_ISGID;
	if (!(dir->m->fc.flags & FUSE_DONT_MASK))
		mode &= ~(umask & 0777);
	return mode;
}

/*
 * get_create_ext: what CREATE, MKNOD, MKDIR, SYMLINK and TMPFILE carry
 * after their arguments.  FUSE_SECURITY_CTX: an empty security context
 * header, as Linux sends where no LSM labels new files (the emulator has
 * none); FUSE_CREATE_SUPP_GROUP: the parent's group, when the caller is
 * in it by a supplementary group only.
 */
void vfs_create_ext(const struct emu_cred *cred, struct vinode *dir,
		    struct fdk_req *req, struct vfs_create_ext *ext)
{
	uint64_t flags = dir->m->fc.flags;
	char *p = (char *)ext->buf;
	size_t len = 0;

	if (flags & FUSE_SECURITY_CTX) {
		struct fuse_secctx_header h = { .size = sizeof(h) };

		memcpy(p, &h, sizeof(h));
		len += sizeof(h);
	}
	if ((flags & FUSE_CREATE_SUPP_GROUP) &&
	    dir->attr.gid != (uint32_t)-1 && dir->attr.gid != cred->gid &&
	    vfs_in_group(cred, dir->attr.gid)) {
		struct fuse_ext_header xh = {
			.size = FUSE_REC_ALIGN(sizeof(xh) +
					       sizeof(struct fuse_supp_groups) +
					       sizeof(uint32_t)),
			.type = FUSE_EXT_GROUPS,
		};
		uint32_t sg[2] = { 1, dir->attr.gid };

		memset(p + len, 0, xh.size);
		memcpy(p + len, &xh, sizeof(xh));
		memcpy(p + len + sizeof(xh), sg, sizeof(sg));
		len += xh.size;
	}
	if (!len)
		return;
	vfs_in(req, ext->buf, len);
	req->in_h.total_extlen = len / 8;
}

/* ---- attributes -------------------------------------------------------- */

/*
 * FUSE_GETATTR: refresh @in's attributes; @f only where Linux passes the
 * file (fuse_update_attributes from read, lseek and the like: the fh of
 * a regular file), never for stat/fstat (fuse_getattr).  The cached ACLs
 * go too (fuse_update_get_attr, fuse_perm_getattr).
 */
int vfs_getattr(const struct emu_cred *cred, struct vinode *in,
		struct vfile *f)
{
	struct fuse_getattr_in arg = { 0 };
	struct fuse_attr_out out;
	struct fdk_req req;
	int r;

	vfs_acl_forget(in);
	if (f && S_ISREG(in->attr.mode) && !(f->flags & O_PATH)) {
		arg.getattr_flags = FUSE_GETATTR_FH;
		arg.fh = f->fh;
	}
	memset(&out, 0, sizeof(out));
	vfs_req_init(&req, FUSE_GETATTR, in->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_out(&req, &out, sizeof(out));
	r = vfs_request(in->m, cred, &req);
	if (r < 0)
		return r;
	if (!attr_valid(&out.attr) ||
	    ((out.attr.mode ^ in->attr.mode) & S_IFMT && in->attr.mode))
		return -EIO;	/* fuse_make_bad */
	vfs_attr_set(in, &out.attr, out.attr_valid, out.attr_valid_nsec);
	return 0;
}

/*
 * fuse_update_get_attr: GETATTR when the attributes timed out or one of
 * @mask (STATX_*) was marked stale.
 */
int vfs_fresh_attr(const struct emu_cred *cred, struct vinode *in,
		   struct vfile *f, uint32_t mask)
{
	if (!(in->inval_mask & mask) && !expired(in->attr_expire))
		return 0;
	return vfs_getattr(cred, in, f);
}

/*
 * fuse_getattr for stat(2) and statx(2): the attributes @mask asks for
 * (0: stat's), refreshed as fuse_update_get_attr decides with @flags'
 * AT_STATX_FORCE_SYNC or AT_STATX_DONT_SYNC.  No file is passed.
 */
int vfs_stat_attr(const struct emu_cred *cred, struct vinode *in,
		  uint32_t mask, uint32_t flags)
{
	if (!mask)
		mask = STATX_BASIC_STATS;
	switch (flags & AT_STATX_SYNC_TYPE) {
	case AT_STATX_FORCE_SYNC:
		return vfs_getattr(cred, in, NULL);
	case AT_STATX_DONT_SYNC:
		return 0;
	}
	return vfs_fresh_attr(cred, in, NULL, mask);
}

void vfs_invalidate_attr(struct vinode *in, uint32_t mask)
{
	in->inval_mask |= mask;
}

/* fuse_invalidate_atime: after READ and READDIR, unless read-only. */
void vfs_invalidate_atime(struct vinode *in)
{
	if (!(in->m->mountflags & MS_RDONLY))
		in->inval_mask |= STATX_ATIME;
}

void vfs_stat_out(struct vinode *in, struct fdp_stat_out *out)
{
	out->attr = in->attr;
	out->attr.ino = in->attr.ino ? in->attr.ino : in->nodeid;
	out->dev = in->m->dev_no;
	if (!out->attr.blksize)
		out->attr.blksize = 4096;
}

/* FUSE_SETATTR with @arg; @f's fh when the call came by file. */
int vfs_setattr(const struct emu_cred *cred, struct vinode *in,
		struct vfile *f, struct fuse_setattr_in *arg)
{
	struct fuse_attr_out out;
	struct fdk_req req;
	int r;

	if (in->m->mountflags & MS_RDONLY)
		return -EROFS;
	if (f && (arg->valid & FATTR_SIZE)) {
		arg->valid |= FATTR_FH;
		arg->fh = f->fh;
	}
	vfs_req_init(&req, FUSE_SETATTR, in->nodeid);
	vfs_in(&req, arg, sizeof(*arg));
	vfs_out(&req, &out, sizeof(out));
	r = vfs_request(in->m, cred, &req);
	if (r < 0)
		return r;
	/* fuse_setattr: the daemon may have changed the ACLs with the mode */
	if (in->m->fc.flags & FUSE_POSIX_ACL)
		vfs_acl_forget(in);
	if (!attr_valid(&out.attr) || ((out.attr.mode ^ in->attr.mode) &
					S_IFMT)) {
		vfs_invalidate_attr(in, STATX_BASIC_STATS);
		return -EIO;
	}
	vfs_attr_set(in, &out.attr, out.attr_valid, out.attr_valid_nsec);
	return 0;
}

static const char xattr_caps[] = "security.capability";

/* cap_inode_need_killpriv: does the file have capabilities? */
static bool need_killpriv(const struct emu_cred *cred, struct vinode *in)
{
	struct fuse_getxattr_in gx = { 0 };
	struct fuse_getxattr_out go = { 0 };
	struct vmount *m = in->m;
	struct fdk_req req;
	int r;

	if (m->no_getxattr)
		return false;
	vfs_req_init(&req, FUSE_GETXATTR, in->nodeid);
	vfs_in(&req, &gx, sizeof(gx));
	vfs_in(&req, xattr_caps, sizeof(xattr_caps));
	vfs_out(&req, &go, sizeof(go));
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS)
		m->no_getxattr = true;
	return !r && go.size > 0;
}

/*
 * dentry_needs_remove_privs and what notify_change and fuse_setattr make
 * of it, before a write through the page cache (file_remove_privs) or a
 * truncate (do_truncate): the daemon is asked for security.capability
 * unless the inode is S_NOSEC (only with FUSE_HANDLE_KILLPRIV_V2, which
 * gives FUSE SB_NOSEC); a file that has capabilities is asked again and
 * loses them (cap_inode_killpriv); a caller without CAP_FSETID drops a
 * set-user-ID bit and a set-group-ID bit (setattr_should_drop_suidgid),
 * which FUSE does itself without FUSE_HANDLE_KILLPRIV(_V2): the mode
 * refreshed, then FATTR_MODE in @sa.  1 when notify_change's SETATTR is
 * due, 0 when not, -errno.
 */
int vfs_remove_privs(const struct emu_cred *cred, struct vinode *in,
		     struct vfile *f, struct fuse_setattr_in *sa)
{
	uint64_t flags = in->m->fc.flags;
	uint32_t mode = in->attr.mode;
	bool kill_suid, kill_priv;
	struct fdk_req req;
	int r;

	if (in->nosec || !S_ISREG(mode))
		return 0;
	kill_suid = cred->uid && ((mode & S_ISUID) ||
				  ((mode & S_ISGID) &&
				   ((mode & S_IXGRP) ||
				    !vfs_in_group(cred, in->attr.gid))));
	kill_priv = need_killpriv(cred, in) && need_killpriv(cred, in);
	if (!kill_suid && !kill_priv) {
		/* inode_has_no_xattr */
		if ((flags & FUSE_HANDLE_KILLPRIV_V2) &&
		    !(mode & S_ISUID) &&
		    (mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP))
			in->nosec = true;
		return 0;
	}
	if (kill_priv && !in->m->no_removexattr) {
		vfs_req_init(&req, FUSE_REMOVEXATTR, in->nodeid);
		vfs_in(&req, xattr_caps, sizeof(xattr_caps));
		r = vfs_request(in->m, cred, &req);
		if (r == -ENOSYS)
			in->m->no_removexattr = true;
		else if (r < 0 && r != -ENODATA && r != -EOPNOTSUPP)
			return r;
	}
	if (kill_suid &&
	    !(flags & (FUSE_HANDLE_KILLPRIV | FUSE_HANDLE_KILLPRIV_V2))) {
		r = vfs_getattr(cred, in, f);
		if (r < 0)
			return r;
		mode = in->attr.mode;
		if (mode & S_ISUID)
			mode &= ~S_ISUID;
		if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
			mode &= ~S_ISGID;
		if (mode != in->attr.mode) {
			sa->valid |= FATTR_MODE;
			sa->mode = mode;
		}
	}
	return 1;
}

/* ---- the walk ------------------------------------------------------------ */

struct vmount *vfs_find_mount(const char *path, size_t *prefix)
{
	struct vmount *best = NULL;
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &mounts) {
		struct vmount *m = list_entry(pos, struct vmount, entry);
		size_t n = m->pathlen;

		if (m->detached)
			continue;
		if (n == 1 && path[0] == '/')
			n = 0;	/* a mount at / */
		if (strncmp(path, m->path, n) ||
		    (path[n] != '/' && path[n] != '\0'))
			continue;
		if (!best || n > *prefix) {
			best = m;
			*prefix = n;
		}
	}
	return best;
}

static int lookup_request(const struct emu_cred *cred, struct vinode *dir,
			  const char *name, size_t len,
			  struct fuse_entry_out *e)
{
	char nbuf[NAME_MAX + 1];
	struct fdk_req req;

	memcpy(nbuf, name, len);
	nbuf[len] = '\0';
	memset(e, 0, sizeof(*e));
	vfs_req_init(&req, FUSE_LOOKUP, dir->nodeid);
	vfs_in(&req, nbuf, len + 1);
	vfs_out(&req, e, sizeof(*e));
	return vfs_request(dir->m, cred, &req);
}

/*
 * fuse_dentry_revalidate of the expired entry (@dir, @name) of @in: LOOKUP
 * again.  The same inode (nodeid, generation, type) keeps the entry with
 * fresh attributes and timeouts; anything else makes it invalid (false)
 * and the caller looks the name up afresh, as the VFS does after
 * d_invalidate.
 */
static bool revalidate(const struct emu_cred *cred, struct vinode *dir,
		       const char *name, size_t len, struct vinode *in)
{
	struct vmount *m = dir->m;
	struct fuse_entry_out e;
	struct vdentry *d;
	int r;

	vinode_get(in);
	r = lookup_request(cred, dir, name, len, &e);
	if (!r && !e.nodeid)
		r = -ENOENT;
	if (!r && e.nodeid != in->nodeid) {
		fdk_queue_forget(&m->fc, e.nodeid, 1);
		r = -ESTALE;
	}
	if (!r && !in->forgotten)
		in->nlookup++;
	if (!r && (in->forgotten || !attr_valid(&e.attr) ||
		   in->generation != e.generation ||
		   ((in->attr.mode ^ e.attr.mode) & S_IFMT)))
		r = -ESTALE;
	if (!r) {
		vfs_acl_forget(in);
		vfs_attr_set(in, &e.attr, e.attr_valid, e.attr_valid_nsec);
		d = dentry_find(m, dir, name, len);
		if (d && d->inode == in)
			d->expire = vfs_expiry(e.entry_valid,
					       e.entry_valid_nsec);
	}
	vinode_put(in);
	return !r;
}

/* A LOOKUP in flight (d_alloc_parallel): lookups of the same name in
 * the same directory wait for it instead of asking again. */
struct vlookup {
	struct list_head entry;		/* m->lookups */
	struct vinode *dir;
	const char *name;
	size_t len;
	struct list_head waiters;
};

struct vlookup_waiter {
	struct list_head entry;
	struct fiber *f;
	bool done;
	int result;			/* the LOOKUP's, 0 with @inode */
	struct vinode *inode;		/* a reference for the waiter */
};

static struct vlookup *lookup_in_flight(struct vmount *m, struct vinode *dir,
					const char *name, size_t len)
{
	struct list_head *pos;

	list_for_each(pos, &m->lookups) {
		struct vlookup *l = list_entry(pos, struct vlookup, entry);

		if (l->dir == dir && l->len == len &&
		    !memcmp(l->name, name, len))
			return l;
	}
	return NULL;
}

/* fuse_lock_inode: fi->mutex, unless the daemon does PARALLEL_DIROPS. */
bool vfs_lock_dirop(struct vinode *dir)
{
	if (dir->m->fc.flags & FUSE_PARALLEL_DIROPS)
		return false;
	fiber_down_write(&dir->i_mutex);
	return true;
}

void vfs_unlock_dirop(struct vinode *dir, bool locked)
{
	if (locked)
		fiber_up_write(&dir->i_mutex);
}

/* A cached entry still valid: its inode (referenced) or -ENOENT; 1: none. */
static int lookup_cached(struct vinode *dir, const char *name, size_t len,
			 struct vinode **out)
{
	struct vdentry *d = dentry_find(dir->m, dir, name, len);

	if (!d || expired(d->expire))
		return 1;
	if (!d->inode)
		return -ENOENT;
	/* fuse_dentry_revalidate: an entry READDIRPLUS made, used for the
	 * first time, tells READDIRPLUS_AUTO to go on */
	if (d->inode->init_rdplus) {
		d->inode->init_rdplus = false;
		dir->advise_rdplus = true;
	}
	vinode_get(d->inode);
	*out = d->inode;
	return 0;
}

/*
 * fuse_lookup, under the directory's i_rwsem (shared by lookup_slow, or
 * exclusive by the caller: @held) and fi->mutex.
 */
static int lookup_slow(const struct emu_cred *cred, struct vinode *dir,
		       const char *name, size_t len, struct vinode **out)
{
	struct vmount *m = dir->m;
	struct vlookup_waiter lw;
	struct fuse_entry_out e;
	struct vlookup l, *other;
	struct vinode *in;
	struct list_head *pos, *tmp;
	bool locked;
	int r;

	r = lookup_cached(dir, name, len, out);
	if (r <= 0)
		return r;
	other = lookup_in_flight(m, dir, name, len);
	if (other) {
		/* its answer is ours */
		lw.f = fiber_self();
		lw.done = false;
		lw.inode = NULL;
		list_add_tail(&lw.entry, &other->waiters);
		while (!lw.done)
			fiber_sleep();
		*out = lw.inode;
		return lw.result;
	}
	l.dir = dir;
	l.name = name;
	l.len = len;
	list_init(&l.waiters);
	list_add_tail(&l.entry, &m->lookups);
	dentry_drop(m, dir, name, len);
	locked = vfs_lock_dirop(dir);
	r = lookup_request(cred, dir, name, len, &e);
	vfs_unlock_dirop(dir, locked);
	if (r == -ENOENT || (!r && !e.nodeid)) {
		/* Negative: cached for the entry timeout of a nodeid 0
		 * reply, not at all for ENOENT. */
		if (!r)
			dentry_set(m, dir, name, len, NULL,
				   vfs_expiry(e.entry_valid,
					      e.entry_valid_nsec));
		r = -ENOENT;
	} else if (!r) {
		r = vinode_iget(m, &e, &in);
		if (r < 0) {
			/* Linux forgets the lookup it could not use. */
			fdk_queue_forget(&m->fc, e.nodeid, 1);
		} else if (in == m->root) {
			/* fuse_lookup: the root has no other name */
			vinode_put(in);
			r = -EIO;
		} else {
			r = dentry_set(m, dir, name, len, in,
				       vfs_expiry(e.entry_valid,
						  e.entry_valid_nsec));
			if (r < 0) {
				vinode_put(in);
			} else {
				*out = in;
				dir->advise_rdplus = true;
			}
		}
	}
	list_del_init(&l.entry);
	list_for_each_safe(pos, tmp, &l.waiters) {
		struct vlookup_waiter *w = list_entry(pos,
					struct vlookup_waiter, entry);

		list_del_init(&w->entry);
		w->result = r;
		if (!r) {
			w->inode = *out;
			vinode_get(w->inode);
		}
		w->done = true;
		fiber_wake(w->f);
	}
	return r;
}

/*
 * FUSE_LOOKUP of @name in @dir, through the dentry cache (lookup_fast
 * with fuse_dentry_revalidate, then lookup_slow and fuse_lookup).  @held:
 * the caller holds @dir's i_rwsem exclusively.  Returns a reference.
 */
int vfs_lookup_locked(const struct emu_cred *cred, struct vinode *dir,
		      const char *name, size_t len, struct vinode **out,
		      bool held)
{
	struct vdentry *d;
	int r;

	*out = NULL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	r = lookup_cached(dir, name, len, out);
	if (r <= 0)
		return r;
	d = dentry_find(dir->m, dir, name, len);
	if (d && d->inode && revalidate(cred, dir, name, len, d->inode)) {
		r = lookup_cached(dir, name, len, out);
		if (r <= 0)
			return r;
	}
	if (held)
		return lookup_slow(cred, dir, name, len, out);
	vinode_get(dir);
	fiber_down_read(&dir->i_rwsem);
	r = lookup_slow(cred, dir, name, len, out);
	fiber_up_read(&dir->i_rwsem);
	vinode_put(dir);
	return r;
}

int vfs_lookup(const struct emu_cred *cred, struct vinode *dir,
	       const char *name, size_t len, struct vinode **out)
{
	return vfs_lookup_locked(cred, dir, name, len, out, false);
}

/*
 * An entry the daemon created (MKNOD, MKDIR, SYMLINK, LINK, CREATE):
 * count the lookup and cache it (create_new_entry).
 */
int vfs_new_entry(struct vinode *dir, const char *name, size_t len,
		  struct fuse_entry_out *e, struct vinode **out)
{
	struct vmount *m = dir->m;
	struct vinode *in;
	int r;

	if (!e->nodeid || e->nodeid == FUSE_ROOT_ID)
		return -EIO;
	r = vinode_iget(m, e, &in);
	if (r < 0) {
		fdk_queue_forget(&m->fc, e->nodeid, 1);
		return r;
	}
	r = dentry_set(m, dir, name, len, in,
		       vfs_expiry(e->entry_valid, e->entry_valid_nsec));
	if (r < 0) {
		vinode_put(in);
		return r;
	}
	vfs_invalidate_attr(dir, STATX_BASIC_STATS);	/* fuse_dir_changed */
	if (out)
		*out = in;
	else
		vinode_put(in);
	return 0;
}

/* Let go of the directory locks the walk took (WALK_PARENT, rename). */
void vfs_walk_unlock(struct walk *w)
{
	if (w->locked)
		fiber_up_write(&w->locked->i_rwsem);
	w->locked = NULL;
	if (w->rename_locked)
		fiber_up_write(&w->rename_locked->rename_mutex);
	w->rename_locked = NULL;
}

static void walk_release(struct walk *w)
{
	vfs_walk_unlock(w);
	vinode_put(w->dir);
	vinode_put(w->inode);
	vinode_put(w->ndir);
	w->dir = w->inode = w->ndir = NULL;
}

/*
 * lock_rename of two WALK_NOLAST walks: their directories' i_rwsem, an
 * ancestor's first, with the mount's rename mutex when they differ.
 */
void vfs_lock_rename(struct walk *o, struct walk *n)
{
	struct vinode *first = n->dir, *second = o->dir;

	if (o->dir == n->dir) {
		fiber_down_write(&o->dir->i_rwsem);
		o->locked = o->dir;
		return;
	}
	fiber_down_write(&o->m->rename_mutex);
	o->rename_locked = o->m;
	if (vinode_is_ancestor(o->dir, n->dir)) {
		first = o->dir;
		second = n->dir;
	}
	fiber_down_write(&first->i_rwsem);
	fiber_down_write(&second->i_rwsem);
	o->locked = o->dir;
	n->locked = n->dir;
}

/* lock_two_nondirectories: inode locks, in address order. */
void vfs_lock_two(struct vinode *a, struct vinode *b)
{
	if (a && b && a > b) {
		struct vinode *t = a;

		a = b;
		b = t;
	}
	if (a)
		fiber_down_write(&a->i_rwsem);
	if (b && b != a)
		fiber_down_write(&b->i_rwsem);
}

void vfs_unlock_two(struct vinode *a, struct vinode *b)
{
	if (a)
		fiber_up_write(&a->i_rwsem);
	if (b && b != a)
		fiber_up_write(&b->i_rwsem);
}

/* d_path of where a walk ended: by the name it took last, which for a
 * file with several links is not any other of its names. */
int vfs_walk_path(struct walk *w, char *buf, size_t size)
{
	struct vinode *dir = NULL;
	size_t n;
	int r;

	if (w->dir && w->last_type == WALK_LAST_NORM)
		dir = w->dir;
	else if (w->inode && !S_ISDIR(w->inode->attr.mode))
		dir = w->ndir;
	if (!dir)
		return w->inode ? vfs_inode_path(w->inode, buf, size) :
				  -ENOENT;
	r = vfs_inode_path(dir, buf, size);
	if (r < 0)
		return r;
	n = strlen(buf);
	if (n == 1)
		n = 0;		/* "/" */
	if (n + 1 + w->lastlen >= size)
		return -ENAMETOOLONG;
	buf[n] = '/';
	memcpy(buf + n + 1, w->last, w->lastlen + 1);
	return 0;
}

void vfs_walk_done(struct walk *w)
{
	walk_release(w);
	free(w->buf);
	w->buf = NULL;
}

/*
 * READLINK (fuse_get_link, fuse_readlink_page): the target,
 * NUL-terminated, in @buf.  With FUSE_CACHE_SYMLINKS the answer is kept
 * as Linux keeps it in the page cache: until the inode goes or an
 * INVAL_INODE covers its first page.
 */
int vfs_readlink(const struct emu_cred *cred, struct vinode *in, char *buf,
		 size_t size)
{
	bool cache = in->m->fc.flags & FUSE_CACHE_SYMLINKS;
	struct fdk_req req;
	size_t n;
	int r;

	if (!S_ISLNK(in->attr.mode))
		return -EINVAL;
	if (cache && in->link) {
		n = strlen(in->link);
		if (n >= size)
			return -ENAMETOOLONG;
		memcpy(buf, in->link, n + 1);
		return n;
	}
	vfs_req_init(&req, FUSE_READLINK, in->nodeid);
	req.out_argvar = true;
	vfs_out(&req, buf, size - 1);
	r = vfs_request(in->m, cred, &req);
	vfs_invalidate_atime(in);	/* fuse_readlink_folio */
	if (r < 0)
		return r;
	buf[req.out_args[0].size] = '\0';
	n = strlen(buf);	/* readlink_copy: up to the first NUL */
	if (cache && !in->link)
		in->link = strdup(buf);	/* not kept if out of memory */
	return n;
}

/*
 * The rest of a walk after a symlink or a step out of a mount: "@a/@b",
 * or @a alone when @b is empty (@a of @alen bytes; @b may point into
 * w->buf), becomes w->buf.
 */
static int walk_rest(struct walk *w, const char *a, size_t alen,
		     const char *b)
{
	size_t blen = strlen(b), sep = blen ? 1 : 0;
	char *p;

	if (alen + sep + blen + 1 > FUSEDEV_PATH_MAX)
		return -ENAMETOOLONG;
	p = malloc(alen + sep + blen + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, a, alen);
	p[alen] = '/';
	memcpy(p + alen + sep, b, blen + 1);
	free(w->buf);
	w->buf = p;
	return 0;
}

/*
 * Start an absolute walk of w->buf: at the root of the mount that holds
 * it, or FDP_EXTERNAL when none does.  *@p is where the walk goes on.
 */
static int walk_start_abs(const struct emu_cred *cred, struct walk *w,
			  const char **p)
{
	size_t prefix = 0;
	struct vmount *m;
	int r;

	walk_release(w);
	m = vfs_find_mount(w->buf, &prefix);
	if (!m) {
		snprintf(w->ext, sizeof(w->ext), "%s", w->buf);
		return FDP_EXTERNAL;
	}
	r = vfs_allowed(m, cred);
	if (!r)
		r = fdk_conn_error(&m->fc);
	if (r < 0)
		return r;
	w->m = m;
	w->inode = m->root;
	vinode_get(w->inode);
	*p = w->buf + prefix;
	return 0;
}

/*
 * path_lookupat / filename_parentat: walk @path from @base (an inode the
 * caller holds: a dirfd's or the cwd's) or, when @base is NULL or @path
 * absolute, from the mount that holds it.  "." stays, ".." goes to the
 * directory's parent (d_parent), or out of the mount at its root, as
 * follow_dotdot does; symlinks are followed from the directory that holds
 * them.  Nothing is done to the text of the path.
 *
 * With WALK_PARENT the last component is not walked: w->dir is its
 * directory, w->last its name, w->inode the entry if it exists; a last
 * component that is no name ("." or ".." or the mount's root itself) is
 * told by w->last_type, as LAST_DOT, LAST_DOTDOT, LAST_ROOT are.
 * Otherwise w->inode is the result.  Returns 0, -errno, or FDP_EXTERNAL
 * with w->ext the path to use on the real file system.
 */
int vfs_walk(const struct emu_cred *cred, struct vinode *base,
	     const char *path, unsigned int flags, struct walk *w)
{
	int links = 0, r;
	const char *p;

	memset(w, 0, sizeof(*w));
	if (strnlen(path, FUSEDEV_PATH_MAX) >= FUSEDEV_PATH_MAX)
		return -ENAMETOOLONG;
	/* An empty path names @base itself, for the port's by-fd calls
	 * (AT_EMPTY_PATH); anything else with nothing to walk is ENOENT. */
	if (!*path && (!base || (flags & WALK_PARENT)))
		return -ENOENT;
	w->buf = strdup(path);
	if (!w->buf)
		return -ENOMEM;
	if (!base || path[0] == '/') {
		r = walk_start_abs(cred, w, &p);
		if (r)
			return r;
	} else {
		w->m = base->m;
		r = vfs_allowed(w->m, cred);
		if (!r)
			r = fdk_conn_error(&w->m->fc);
		if (r < 0)
			return r;
		w->inode = base;
		vinode_get(base);
		p = w->buf;
	}

	for (;;) {
		struct vmount *m = w->m;
		const char *name, *rest;
		struct vinode *next;
		size_t len;
		bool last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		while (*p && *p != '/')
			p++;
		len = p - name;
		rest = p;
		while (*rest == '/')
			rest++;
		last = !*rest;
		w->trailing_slash = last && *p == '/';
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		if (!S_ISDIR(w->inode->attr.mode))
			return -ENOTDIR;
		/* may_lookup, for every component */
		r = vfs_permission(cred, w->inode, 1);
		if (r < 0)
			return r;
		vinode_put(w->ndir);
		w->ndir = NULL;
		if (len == 1 && name[0] == '.') {
			if (last && (flags & WALK_PARENT)) {
				w->last_type = WALK_LAST_DOT;
				goto parent_dot;
			}
			continue;
		}
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			if (last && (flags & WALK_PARENT)) {
				w->last_type = WALK_LAST_DOTDOT;
				goto parent_dot;
			}
			if (w->inode == m->root) {
				/* follow_dotdot: out of the mount, to its
				 * mountpoint's parent */
				const char *slash = memrchr(m->path, '/',
							    m->pathlen);
				size_t n = slash ? slash - m->path : 0;

				r = walk_rest(w, n ? m->path : "/", n ? n : 1,
					      rest);
				if (!r)
					r = walk_start_abs(cred, w, &p);
				if (r)
					return r;
				continue;
			}
			next = w->inode->parent;
			if (!next)
				return -ENOENT;
			vinode_get(next);
			vinode_put(w->inode);
			w->inode = next;
			continue;
		}
		if (last && (flags & WALK_PARENT)) {
			w->dir = w->inode;
			w->inode = NULL;
			memcpy(w->last, name, len);
			w->last[len] = '\0';
			w->lastlen = len;
			if (flags & WALK_NOLAST)
				return 0;
			/* filename_create, do_unlinkat...: the entry is
			 * looked up and changed under the directory's
			 * i_rwsem */
			fiber_down_write(&w->dir->i_rwsem);
			w->locked = w->dir;
			r = vfs_lookup_locked(cred, w->dir, name, len,
					      &w->inode, true);
			if (r == -ENOENT)
				return 0;
			if (r < 0)
				return r;
			if (!(flags & WALK_FOLLOW) ||
			    !S_ISLNK(w->inode->attr.mode))
				return 0;
			/* O_CREAT follows a final symlink: the walk goes
			 * on from its target. */
			vfs_walk_unlock(w);
			next = w->inode;
			w->inode = w->dir;
			w->dir = NULL;
		} else {
			r = vfs_lookup(cred, w->inode, name, len, &next);
			if (r < 0)
				return r;
			if (!S_ISLNK(next->attr.mode) ||
			    (last && !(flags & WALK_FOLLOW) &&
			     !w->trailing_slash)) {
				w->ndir = w->inode;	/* the name taken */
				memcpy(w->last, name, len);
				w->last[len] = '\0';
				w->lastlen = len;
				w->inode = next;
				continue;
			}
		}

		/* @next is a symlink in w->inode to follow. */
		{
			char *target = malloc(FUSEDEV_PATH_MAX);

			r = -ENOMEM;
			if (target && ++links > 40)
				r = -ELOOP;
			else if (target)
				r = vfs_readlink(cred, next, target,
						 FUSEDEV_PATH_MAX);
			vinode_put(next);
			if (r == 0)
				r = -ENOENT;
			if (r > 0)
				r = walk_rest(w, target, r,
					      w->trailing_slash ? "/" : rest);
			free(target);
			if (r < 0)
				return r;
			p = w->buf;
			if (*p == '/') {
				r = walk_start_abs(cred, w, &p);
				if (r)
					return r;
			}
		}
	}
	if (flags & WALK_PARENT) {
		/* The path named the root of the walk's mount. */
		w->last_type = WALK_LAST_ROOT;
		return 0;
	}
	if (w->trailing_slash && !S_ISDIR(w->inode->attr.mode))
		return -ENOTDIR;
	return 0;

parent_dot:
	w->dir = w->inode;
	w->inode = NULL;
	return 0;
}

/* ---- notifications --------------------------------------------------- */

/*
 * shrink_dcache_parent: drop the entries under directory @dir that nothing
 * uses (negative, or naming an inode held by nothing else), deepest first;
 * true when positive ones in use remain.
 */
static bool shrink_children(struct vmount *m, struct vinode *dir)
{
	struct vdentry **kids = NULL, *d;
	size_t n = 0, cap = 0, k;
	bool busy = false;

	if (dir->refs <= 1)
		return false;	/* only its own dentry: no children */
	for (k = 0; k < m->dtab_size; k++) {
		for (d = m->dtab[k]; d; d = d->hnext) {
			if (d->parent != dir)
				continue;
			if (n == cap) {
				struct vdentry **p;

				cap = cap ? cap * 2 : 16;
				p = realloc(kids, cap * sizeof(*kids));
				if (!p) {
					free(kids);
					return true;	/* left as they are */
				}
				kids = p;
			}
			kids[n++] = d;
		}
	}
	/* Dropping one child frees only it and what lies under it. */
	for (k = 0; k < n; k++) {
		struct vinode *in = kids[k]->inode;

		if (in && S_ISDIR(in->attr.mode) && shrink_children(m, in)) {
			busy = true;
			continue;
		}
		if (in && in->refs > 1) {
			busy = true;
			continue;
		}
		dentry_drop(m, dir, kids[k]->name, kids[k]->namelen);
	}
	free(kids);
	return busy;
}

/* d_invalidate: the entry goes, and the unused ones under it. */
static void dentry_invalidate(struct vmount *m, struct vdentry *d)
{
	if (d->inode && S_ISDIR(d->inode->attr.mode))
		shrink_children(m, d->inode);
	dentry_drop(m, d->parent, d->name, d->namelen);
}

/*
 * fuse_reverse_inval_entry (INVAL_ENTRY with @child 0, DELETE): the
 * parent's attributes and the entry go, or with FUSE_EXPIRE_ONLY the entry
 * only expires (the next walk asks LOOKUP again; nothing is forgotten).
 * DELETE's child, when it matches, is unlinked (nlink 0); a directory
 * with entries in use stays (ENOTEMPTY).
 */
static int reverse_inval_entry(struct vmount *m, uint64_t parent,
			       uint64_t child, const char *name, size_t len,
			       uint32_t flags)
{
	struct vinode *dir = vinode_find(m, parent), *in;
	struct vdentry *d;
	int r = 0;

	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->attr.mode))
		return -ENOTDIR;
	d = dentry_find(m, dir, name, len);
	if (!d)
		return -ENOENT;
	dir->attr_expire = 0;	/* fuse_dir_changed */
	in = d->inode;
	if (child && in) {
		if (in->nodeid != child)
			r = -ENOENT;
		else if (S_ISDIR(in->attr.mode) && shrink_children(m, in))
			r = -ENOTEMPTY;
		else
			in->attr.nlink = 0;	/* clear_nlink */
	}
	if (flags & FUSE_EXPIRE_ONLY)
		d->expire = 0;		/* fuse_invalidate_entry_cache */
	else
		dentry_invalidate(m, d);
	return r;
}

static int vfs_notify(struct fdk_conn *fc, int code, const void *arg,
		      size_t size)
{
	struct vmount *m = fc->priv;
	struct vinode *in;

	switch (code) {
	case FUSE_NOTIFY_INVAL_INODE: {
		const struct fuse_notify_inval_inode_out *o = arg;

		/* fuse_reverse_inval_inode */
		in = vinode_find(m, o->ino);
		if (!in)
			return -ENOENT;
		in->attr_expire = 0;
		vfs_acl_forget(in);
		/* A cached symlink target is the inode's first page. */
		if (o->off >= 0 && o->off < FDK_PAGE_SIZE) {
			free(in->link);
			in->link = NULL;
		}
		return 0;
	}
	case FUSE_NOTIFY_INVAL_ENTRY: {
		const struct fuse_notify_inval_entry_out *o = arg;

		return reverse_inval_entry(m, o->parent, 0,
					   (const char *)(o + 1), o->namelen,
					   o->flags);
	}
	case FUSE_NOTIFY_DELETE: {
		const struct fuse_notify_delete_out *o = arg;

		return reverse_inval_entry(m, o->parent, o->child,
					   (const char *)(o + 1), o->namelen,
					   0);
	}
	case FUSE_NOTIFY_STORE: {
		const struct fuse_notify_store_out *o = arg;

		/* No page cache to store into: reads always reach the
		 * daemon.  The size it implies is kept. */
		in = vinode_find(m, o->nodeid);
		if (!in)
			return -ENOENT;
		if (o->offset + o->size > in->attr.size)
			in->attr.size = o->offset + o->size;
		return 0;
	}
	case FUSE_NOTIFY_RETRIEVE:
		return vfs_notify_retrieve(m, arg);
	}
	return -EINVAL;
}

static void vfs_conn_initialized(struct fdk_conn *fc)
{
	struct vmount *m = fc->priv;

	/* process_init_reply: FUSE_POSIX_ACL implies default_permissions */
	m->default_permissions = fc->default_permissions;
	if (fc->conn_error && fc->init_req.out_h.error)
		emu_log("mount %s: the daemon answered INIT with %s", m->path,
			strerror(-fc->init_req.out_h.error));
	else if (fc->conn_error && fc->init_out.major == FDK_MAJOR &&
		 fc->init_out.minor >= FDK_MIN_MINOR)
		emu_log("mount %s: the daemon asked for FUSE_ALLOW_IDMAP "
			"without default_permissions", m->path);
	else if (fc->conn_error)
		emu_log("mount %s: the daemon speaks %u.%u; 7.%u or later "
			"needed", m->path, fc->init_out.major,
			fc->init_out.minor, FDK_MIN_MINOR);
	else
		emu_dbg("mount %s: protocol 7.%u, max_write %u, flags %#llx",
			m->path, fc->minor, fc->max_write,
			(unsigned long long)fc->flags);
}

static const struct fdk_conn_ops vfs_conn_ops = {
	.wake = dev_conn_wake,
	.initialized = vfs_conn_initialized,
	.notify = vfs_notify,
	.poll_wakeup = vfs_poll_wakeup,
};

struct vmount *vfs_mount_of_conn(struct fdk_conn *fc)
{
	return fc->priv;
}

/* ---- the mount table ----------------------------------------------------- */

int vfs_init(void)
{
	char path[FUSEDEV_PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, FUSEDEV_MTAB_NAME);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*mtab)) < 0) {
		close(fd);
		return -errno;
	}
	mtab = mmap(NULL, sizeof(*mtab), PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	close(fd);
	if (mtab == MAP_FAILED) {
		mtab = NULL;
		return -errno;
	}
	mtab->version = FUSEDEV_MTAB_VERSION;
	mtab->emulator_pid = getpid();
	mtab->transport = emu_transport;
	snprintf(mtab->device, sizeof(mtab->device), "%s", emu_device_path);
	__atomic_store_n(&mtab->magic, FUSEDEV_MTAB_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

void vfs_publish_mtab(void)
{
	struct list_head *pos, *tmp;
	uint32_t n = 0;

	if (!mtab)
		return;
	__atomic_store_n(&mtab->seq, mtab->seq + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	list_for_each_safe(pos, tmp, &mounts) {
		struct vmount *m = list_entry(pos, struct vmount, entry);
		struct fusedev_mtab_ent *e;

		if (m->detached || n >= FUSEDEV_MTAB_MAX)
			continue;
		e = &mtab->ents[n++];
		e->id = m->id;
		e->flags = FUSEDEV_MNT_USED;
		e->len = m->pathlen;
		memcpy(e->path, m->path, m->pathlen + 1);
	}
	mtab->count = n;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&mtab->seq, mtab->seq + 1, __ATOMIC_RELEASE);
}

static bool opt_uint(const char *opt, const char *key, unsigned long *v)
{
	size_t n = strlen(key);
	char *end;

	if (strncmp(opt, key, n) || opt[n] != '=')
		return false;
	*v = strtoul(opt + n + 1, &end, 0);
	return true;
}

/* fuse_parse_param: the mount data libfuse and fusermount write. */
static int parse_mount_data(struct vmount *m, const char *data)
{
	char *copy = strdup(data ? data : ""), *tok, *save;
	bool have_mode = false, have_uid = false, have_gid = false;
	unsigned long v;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opt_uint(tok, "fd", &v))
			continue;
		else if (!strncmp(tok, "rootmode=", 9)) {
			m->rootmode = strtoul(tok + 9, NULL, 8);
			have_mode = true;
		} else if (opt_uint(tok, "user_id", &v)) {
			m->user_id = v;
			have_uid = true;
		} else if (opt_uint(tok, "group_id", &v)) {
			m->group_id = v;
			have_gid = true;
		} else if (!strcmp(tok, "allow_other")) {
			m->allow_other = true;
		} else if (!strcmp(tok, "default_permissions")) {
			m->default_permissions = true;
		} else if (opt_uint(tok, "max_read", &v)) {
			m->fc.max_read = v ? v : 1;
		} else if (opt_uint(tok, "blksize", &v)) {
			if (!m->is_blk)
				r = -EINVAL;
			m->blksize = v;
		} else {
			emu_log("mount %s: unknown option '%s'", m->path, tok);
			r = -EINVAL;
		}
	}
	free(copy);
	if (!r && (!have_mode || !have_uid || !have_gid))
		r = -EINVAL;
	return r;
}

static void vmount_free(struct vmount *m)
{
	free(m->itab);
	free(m->dtab);
	free(m->path);
	free(m->fstype);
	free(m->source);
	free(m);
}

/*
 * What INIT offers: Linux's fuse_send_init set, each flag with Linux's
 * meaning, less what the emulator does not implement.  docs/architecture.md
 * ("INIT flags") says where each is honoured and why the others are not
 * offered: FUSE_WRITEBACK_CACHE
 * and FUSE_DIRECT_IO_ALLOW_MMAP (no page cache), FUSE_PASSTHROUGH, DAX's
 * FUSE_MAP_ALIGNMENT and FUSE_HAS_INODE_DAX, virtiofs's FUSE_SUBMOUNTS.
 */
#define OFFERED_FLAGS (FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | \
		       FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT | \
		       FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_SPLICE_WRITE | \
		       FUSE_SPLICE_MOVE | FUSE_SPLICE_READ | \
		       FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA | \
		       FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | \
		       FUSE_ASYNC_DIO | FUSE_NO_OPEN_SUPPORT | \
		       FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | \
		       FUSE_POSIX_ACL | FUSE_ABORT_ERROR | FUSE_MAX_PAGES | \
		       FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT | \
		       FUSE_EXPLICIT_INVAL_DATA | FUSE_HANDLE_KILLPRIV_V2 | \
		       FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_SECURITY_CTX | \
		       FUSE_CREATE_SUPP_GROUP | FUSE_HAS_EXPIRE_ONLY | \
		       FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_RESEND | \
		       FUSE_ALLOW_IDMAP | FUSE_HAS_IOCTL_DIR)

/* fuse_fill_super: make the mount and send INIT; the reply comes later. */
int vfs_mount(const struct emu_cred *cred, struct emu_dev *dev,
	      const char *fstype, const char *source, const char *target,
	      const char *data, unsigned long mountflags)
{
	struct fuse_entry_out root = { 0 };
	struct vmount *m;
	size_t prefix = 0;
	int r;

	if (dev->kind != FUSEDEV_KIND_UNATTACHED || dev->fdk.fc)
		return -EINVAL;
	if (cred->uid && dev->opener.uid != cred->uid)
		return -EPERM;
	if (target[0] != '/' || strlen(target) >= FUSEDEV_PATH_MAX)
		return -EINVAL;
	m = vfs_find_mount(target, &prefix);
	if (m && prefix == strlen(target))
		return -EBUSY;
	r = 0;
	{
		struct list_head *pos, *tmp;

		list_for_each_safe(pos, tmp, &mounts)
			if (!list_entry(pos, struct vmount, entry)->detached)
				r++;
	}
	if (r >= FUSEDEV_MTAB_MAX)
		return -ENOSPC;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	list_init(&m->entry);
	list_init(&m->lookups);
	fiber_rwsem_init(&m->rename_mutex);
	m->id = next_mount_id++;
	m->path = strdup(target);
	m->pathlen = strlen(target);
	while (m->pathlen > 1 && m->path[m->pathlen - 1] == '/')
		m->path[--m->pathlen] = '\0';
	m->fstype = strdup(fstype ? fstype : "fuse");
	m->source = strdup(source ? source : "");
	m->is_blk = fstype && !strncmp(fstype, "fuseblk", 7);
	m->mountflags = mountflags;
	m->dev_no = makedev(0, 0x400 + (unsigned int)m->id);
	fdk_conn_init(&m->fc, &vfs_conn_ops, m);
	m->fc.max_write_limit = emu_max_write_limit;
	if (!m->path || !m->fstype || !m->source) {
		vmount_free(m);
		return -ENOMEM;
	}
	r = parse_mount_data(m, data);
	root.attr.mode = m->rootmode;
	if (r < 0 || !attr_valid(&root.attr)) {
		/* fuse_parse_param: any file type may be the root */
		vmount_free(m);
		return r < 0 ? r : -EINVAL;
	}
	if (itab_grow(m) < 0 || dtab_grow(m) < 0) {
		vmount_free(m);
		return -ENOMEM;
	}
	/* fuse_get_root_inode: nodeid 1, counted once. */
	root.nodeid = FUSE_ROOT_ID;
	root.attr.ino = FUSE_ROOT_ID;
	root.attr.nlink = S_ISDIR(m->rootmode) ? 2 : 1;
	r = vinode_iget(m, &root, &m->root);
	if (r < 0) {
		vmount_free(m);
		return r;
	}
	m->root->attr_expire = 0;
	fdk_dev_attach(&dev->fdk, &m->fc);
	dev->kind = FUSEDEV_KIND_DAEMON;
	list_add_tail(&m->entry, &mounts);
	m->fc.default_permissions = m->default_permissions;
	fdk_send_init(&m->fc, OFFERED_FLAGS);
	vfs_publish_mtab();
	emu_dbg("mounted %s (%s) on %s", m->source, m->fstype, m->path);
	return 0;
}

static void forget_all(struct vmount *m)
{
	struct vinode *in;
	size_t k;

	vsock_umount(m);	/* the inodes bound sockets hold */
	/* Every inode goes: the references children hold on their parents
	 * first, so that what is left counts only dentries and files. */
	for (k = 0; k < m->itab_size; k++) {
		for (in = m->itab[k]; in; in = in->hnext) {
			if (in->parent)
				in->parent->refs--;
			in->parent = NULL;
		}
	}
	for (k = 0; k < m->dtab_size; k++) {
		while (m->dtab[k]) {
			struct vdentry *d = m->dtab[k];

			m->dtab[k] = d->hnext;
			m->dcount--;
			if (d->inode) {
				d->inode->refs--;
				d->inode->alias = NULL;
			}
			d->parent->refs--;
			free(d);
		}
	}
	if (m->root)
		m->root->refs--;	/* the mount's own reference */
	for (k = 0; k < m->itab_size; k++) {
		while (m->itab[k]) {
			in = m->itab[k];
			m->itab[k] = in->hnext;
			m->icount--;
			fdk_queue_forget(&m->fc, in->nodeid, in->nlookup);
			if (in->refs)
				in->forgotten = true;	/* freed by its put */
			else
				vinode_free(in);
		}
	}
	m->root = NULL;
}

static void umount_fiber(void *arg)
{
	struct vmount *m = arg;
	uint64_t deadline;

	/* fuse_kill_sb_anon: every inode is evicted, so every lookup is
	 * forgotten.  A fuseblk mount then gets DESTROY: there the daemon
	 * is given up to a second to read the forgets first (Linux does
	 * not wait).  A plain mount is aborted at once, as in Linux, which
	 * drops forgets the daemon has not read. */
	forget_all(m);
	deadline = loop_now_ns() + 1000000000ull;
	while (m->is_blk && m->fc.connected && m->fc.forget_head &&
	       loop_now_ns() < deadline) {
		loop_defer((void (*)(void *))fiber_wake, fiber_self());
		fiber_sleep();
	}
	if (m->is_blk && m->fc.connected && m->fc.initialized) {
		struct fdk_req req;

		vfs_req_init(&req, FUSE_DESTROY, 0);
		req.flags = FR_FORCE;
		vfs_request(m, NULL, &req);
	}
	m->finished = true;
	fdk_abort_conn(&m->fc);
	vfs_mount_maybe_free(m);
}

void vfs_mount_maybe_free(struct vmount *m)
{
	if (!m->finished || m->nfiles || m->nreleasing ||
	    !list_empty(&m->fc.devs) ||
	    m->fc.wake_queued)
		return;
	list_del_init(&m->entry);
	fdk_conn_destroy(&m->fc);
	vmount_free(m);
}

/* Called when a mount's last open file went (lazy unmount). */
void vfs_mount_file_gone(struct vmount *m)
{
	if (m->detached && !m->finished && !m->nfiles && !m->umounting) {
		m->umounting = true;
		fiber_spawn(umount_fiber, m);
	}
	vfs_mount_maybe_free(m);
}

int vfs_umount(const struct emu_cred *cred, const char *target, int flags)
{
	size_t prefix = 0;
	struct vmount *m = vfs_find_mount(target, &prefix);
	size_t tlen = strlen(target);

	while (tlen > 1 && target[tlen - 1] == '/')
		tlen--;
	if (!m || prefix != tlen)
		return -EINVAL;	/* not a mountpoint */
	if (cred->uid && cred->uid != m->user_id)
		return -EPERM;
	if (m->nfiles && !(flags & MNT_DETACH) && !(flags & MNT_FORCE))
		return -EBUSY;
	m->detached = true;
	vfs_publish_mtab();
	if (flags & MNT_FORCE)
		fdk_abort_conn(&m->fc);
	emu_dbg("unmounted %s", m->path);
	if (!m->nfiles && !m->umounting) {
		m->umounting = true;
		return fiber_spawn(umount_fiber, m);
	}
	return 0;
}

/* Abort every connection; the loop has stopped, so nothing waits. */
void vfs_shutdown(void)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &mounts) {
		struct vmount *m = list_entry(pos, struct vmount, entry);

		m->detached = true;
		m->finished = true;
		fdk_abort_conn(&m->fc);
	}
	vfs_publish_mtab();
}

/* After the last loop run: free what is left. */
void vfs_free_all(void)
{
	struct list_head *pos, *tmp;

	vfile_free_all();
	list_for_each_safe(pos, tmp, &mounts) {
		struct vmount *m = list_entry(pos, struct vmount, entry);

		forget_all(m);
		list_del_init(&m->entry);
		fdk_conn_destroy(&m->fc);
		vmount_free(m);
	}
	if (mtab)
		munmap(mtab, sizeof(*mtab));
	mtab = NULL;
}
