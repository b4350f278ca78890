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
	if (in && ((in->attr.mode ^ e->attr.mode) & S_IFMT)) {
		/* The daemon reused a nodeid for another type: Linux marks
		 * the old inode bad; we forget it and start afresh. */
		vinode_unhash(in);
		fdk_queue_forget(&m->fc, in->nodeid, in->nlookup);
		in->forgotten = true;
		if (!in->refs)
			vinode_free(in);
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
		in->hnext = m->itab[in->nodeid & (m->itab_size - 1)];
		m->itab[in->nodeid & (m->itab_size - 1)] = in;
		m->icount++;
	}
	in->nlookup++;
	in->attr = e->attr;
	in->attr_expire = vfs_expiry(e->attr_valid, e->attr_valid_nsec);
	in->refs++;
	*out = in;
	return 0;
}

void vinode_get(struct vinode *in)
{
	in->refs++;
}

/*
 * Evict as soon as nothing refers to the inode: FUSE's drop_inode is
 * generic_delete_inode, so Linux keeps no inode without a dentry or an
 * open file.  The daemon hears FORGET with every lookup it answered.
 */
void vinode_put(struct vinode *in)
{
	if (!in || --in->refs)
		return;
	if (in->forgotten) {
		vinode_free(in);
		return;
	}
	if (in == in->m->root || in->m->finished)
		return;
	vinode_unhash(in);
	fdk_queue_forget(&in->m->fc, in->nodeid, in->nlookup);
	vinode_free(in);
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

/* d_add: @inode (may be NULL: negative) under (dir, name) until @expire;
 * takes its own references. */
void dentry_set(struct vmount *m, struct vinode *dir, const char *name,
		size_t len, struct vinode *inode, uint64_t expire)
{
	struct vdentry *d;

	dentry_drop(m, dir, name, len);
	if (!inode && !expire)
		return;		/* a negative entry that expires at once */
	if (m->dcount + 1 > m->dtab_size && dtab_grow(m) < 0)
		return;
	d = malloc(sizeof(*d) + len + 1);
	if (!d)
		return;
	d->parent = dir;
	vinode_get(dir);
	d->inode = inode;
	if (inode) {
		vinode_get(inode);
		inode->alias = d;
	}
	d->expire = expire;
	d->namelen = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	{
		size_t s = dslot(m, dir->nodeid, name, len);

		d->hnext = m->dtab[s];
		m->dtab[s] = d;
	}
	m->dcount++;
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
	if (expired(in->attr_expire)) {
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
 * FUSE_GETATTR: refresh @in's attributes, with the file's fh if any; the
 * cached ACLs go too (fuse_update_get_attr, fuse_perm_getattr).
 */
int vfs_getattr(const struct emu_cred *cred, struct vinode *in,
		struct vfile *f)
{
	struct fuse_getattr_in arg = { 0 };
	struct fuse_attr_out out;
	struct fdk_req req;
	int r;

	vfs_acl_forget(in);
	if (f && !f->isdir) {
		arg.getattr_flags = FUSE_GETATTR_FH;
		arg.fh = f->fh;
	}
	vfs_req_init(&req, FUSE_GETATTR, in->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	vfs_out(&req, &out, sizeof(out));
	r = vfs_request(in->m, cred, &req);
	if (r < 0)
		return r;
	if (!attr_valid(&out.attr) ||
	    ((out.attr.mode ^ in->attr.mode) & S_IFMT && in->attr.mode))
		return -EIO;
	in->attr = out.attr;
	in->attr_expire = vfs_expiry(out.attr_valid, out.attr_valid_nsec);
	return 0;
}

int vfs_fresh_attr(const struct emu_cred *cred, struct vinode *in,
		   struct vfile *f)
{
	if (!expired(in->attr_expire))
		return 0;
	return vfs_getattr(cred, in, f);
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
		in->attr_expire = 0;
		return -EIO;
	}
	in->attr = out.attr;
	in->attr_expire = vfs_expiry(out.attr_valid, out.attr_valid_nsec);
	return 0;
}

/*
 * file_remove_privs and do_truncate: a caller without CAP_FSETID who
 * writes or truncates a regular file drops its set-user-ID bit and a
 * set-group-ID bit (setattr_should_drop_suidgid).  Without
 * FUSE_HANDLE_KILLPRIV(_V2) FUSE does it itself (fuse_setattr): the mode
 * refreshed, then cleared in the SETATTR, to which this adds FATTR_MODE
 * (or nothing when the fresh mode has no such bit).  With it the daemon
 * does.  1 when a SETATTR is due, 0 when not, -errno.
 */
int vfs_kill_suidgid(const struct emu_cred *cred, struct vinode *in,
		     struct vfile *f, struct fuse_setattr_in *sa)
{
	uint32_t mode = in->attr.mode;
	int r;

	if (!cred->uid || !S_ISREG(mode))
		return 0;
	if (!(mode & S_ISUID) &&
	    (!(mode & S_ISGID) ||
	     (!(mode & S_IXGRP) && vfs_in_group(cred, in->attr.gid))))
		return 0;
	if (in->m->fc.flags & (FUSE_HANDLE_KILLPRIV | FUSE_HANDLE_KILLPRIV_V2))
		return 0;
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

/* FUSE_LOOKUP of @name in @dir, through the dentry cache
 * (fuse_lookup_name, fuse_dentry_revalidate). */
int vfs_lookup(const struct emu_cred *cred, struct vinode *dir,
	       const char *name, size_t len, struct vinode **out)
{
	struct vmount *m = dir->m;
	struct vdentry *d = dentry_find(m, dir, name, len);
	struct fuse_entry_out e;
	struct fdk_req req;
	char nbuf[NAME_MAX + 1];
	struct vinode *in;
	uint64_t cached;
	int r;

	*out = NULL;
	if (d && !expired(d->expire)) {
		if (!d->inode)
			return -ENOENT;
		/* fuse_dentry_revalidate: an entry READDIRPLUS made, used
		 * for the first time, tells READDIRPLUS_AUTO to go on */
		if (d->inode->init_rdplus) {
			d->inode->init_rdplus = false;
			dir->advise_rdplus = true;
		}
		vinode_get(d->inode);
		*out = d->inode;
		return 0;
	}
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	cached = d && d->inode ? d->inode->nodeid : 0;
	memcpy(nbuf, name, len);
	nbuf[len] = '\0';
	memset(&e, 0, sizeof(e));
	vfs_req_init(&req, FUSE_LOOKUP, dir->nodeid);
	vfs_in(&req, nbuf, len + 1);
	vfs_out(&req, &e, sizeof(e));
	r = vfs_request(m, cred, &req);
	if (r == -ENOENT) {
		dentry_drop(m, dir, name, len);
		return r;
	}
	if (r < 0)
		return r;
	if (!e.nodeid) {
		dentry_set(m, dir, name, len, NULL,
			   vfs_expiry(e.entry_valid, e.entry_valid_nsec));
		return -ENOENT;
	}
	if (e.nodeid == FUSE_ROOT_ID && e.generation)
		e.generation = 0;
	r = vinode_iget(m, &e, &in);
	if (r < 0) {
		/* Linux forgets the lookup it could not use. */
		fdk_queue_forget(&m->fc, e.nodeid, 1);
		return r;
	}
	if (cached == in->nodeid)
		vfs_acl_forget(in);	/* fuse_dentry_revalidate */
	else
		dir->advise_rdplus = true;	/* fuse_lookup */
	dentry_set(m, dir, name, len, in,
		   vfs_expiry(e.entry_valid, e.entry_valid_nsec));
	*out = in;
	return 0;
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
	dentry_set(m, dir, name, len, in,
		   vfs_expiry(e->entry_valid, e->entry_valid_nsec));
	dir->attr_expire = 0;	/* fuse_dir_changed */
	if (out)
		*out = in;
	else
		vinode_put(in);
	return 0;
}

static void walk_release(struct walk *w)
{
	vinode_put(w->dir);
	vinode_put(w->inode);
	w->dir = w->inode = NULL;
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
	if (r < 0)
		return r;
	buf[req.out_args[0].size] = '\0';
	n = strlen(buf);	/* readlink_copy: up to the first NUL */
	if (cache && !in->link)
		in->link = strdup(buf);	/* not kept if out of memory */
	return n;
}

/* Compose "@a/@b" into w->path (a fresh walk target). */
static int walk_restart(struct walk *w, const char *a, size_t alen,
			const char *b)
{
	char *p = malloc(FUSEDEV_PATH_MAX * 2);
	size_t blen = strlen(b);

	if (!p)
		return -ENOMEM;
	if (alen + 1 + blen + 1 > FUSEDEV_PATH_MAX) {
		free(p);
		return -ENAMETOOLONG;
	}
	memcpy(p, a, alen);
	p[alen] = '/';
	memcpy(p + alen + 1, b, blen + 1);
	free(w->buf);
	w->buf = p;
	return 0;
}

/*
 * path_lookupat: walk absolute @path.  With WALK_PARENT, stop at the last
 * component: w->dir is its directory, w->last its name, w->inode the
 * entry if it exists.  Otherwise w->inode is the result.  Returns 0,
 * -errno, or FDP_EXTERNAL with w->ext the path to use on the real file
 * system.
 */
int vfs_walk(const struct emu_cred *cred, const char *path, unsigned int flags,
	     struct walk *w)
{
	int links = 0;
	const char *p;
	size_t prefix = 0;
	char cur[FUSEDEV_PATH_MAX];
	size_t curlen;
	struct vmount *m;
	int r;

	memset(w, 0, sizeof(*w));
	if (strnlen(path, FUSEDEV_PATH_MAX) >= FUSEDEV_PATH_MAX)
		return -ENAMETOOLONG;
again:
	walk_release(w);
	m = vfs_find_mount(path, &prefix);
	if (!m) {
		snprintf(w->ext, sizeof(w->ext), "%s", path);
		return FDP_EXTERNAL;
	}
	w->m = m;
	r = vfs_allowed(m, cred);
	if (r < 0)
		return r;
	r = fdk_conn_error(&m->fc);
	if (r < 0)
		return r;
	memcpy(cur, m->path, m->pathlen);
	curlen = m->pathlen;
	if (curlen == 1)
		curlen = 0;
	cur[curlen] = '\0';
	w->inode = m->root;
	vinode_get(w->inode);
	p = path + prefix;

	for (;;) {
		const char *name, *rest;
		size_t len;
		bool last;
		struct vinode *next;

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
		if (last && (flags & WALK_PARENT) &&
		    !(len == 1 && name[0] == '.') &&
		    !(len == 2 && name[0] == '.' && name[1] == '.')) {
			w->dir = w->inode;
			w->inode = NULL;
			memcpy(w->last, name, len);
			w->last[len] = '\0';
			w->lastlen = len;
			r = vfs_permission(cred, w->dir, 1);
			if (r < 0)
				return r;
			r = vfs_lookup(cred, w->dir, name, len, &w->inode);
			if (r == -ENOENT)
				return 0;
			if (r < 0)
				return r;
			if (!(flags & WALK_FOLLOW) ||
			    !S_ISLNK(w->inode->attr.mode))
				return 0;
			/* Follow a final symlink (open O_CREAT): the walk
			 * goes on from its target. */
		} else if (len == 1 && name[0] == '.') {
			continue;
		} else if (len == 2 && name[0] == '.' && name[1] == '.') {
			char *slash;

			/* Up: textual, over the directories we came by. */
			if (curlen <= m->pathlen || w->inode == m->root) {
				/* Above the mount's root: start again at the
				 * mountpoint's parent. */
				slash = memrchr(m->path, '/', m->pathlen);
				len = slash && slash != m->path ?
				      (size_t)(slash - m->path) : 0;
				r = walk_restart(w, m->path, len, rest);
				if (r < 0)
					return r;
				path = w->buf;
				goto again;
			}
			slash = memrchr(cur, '/', curlen);
			curlen = slash - cur;
			cur[curlen] = '\0';
			r = walk_restart(w, cur, curlen, rest);
			if (r < 0)
				return r;
			path = w->buf;
			goto again;
		} else {
			r = vfs_permission(cred, w->inode, 1);
			if (r < 0)
				return r;
			r = vfs_lookup(cred, w->inode, name, len, &next);
			if (r < 0)
				return r;
			if (last && !(flags & WALK_FOLLOW) && !w->trailing_slash) {
				vinode_put(w->inode);
				w->inode = next;
				break;
			}
			if (!S_ISLNK(next->attr.mode)) {
				vinode_put(w->inode);
				w->inode = next;
				if (curlen + 1 + len >= FUSEDEV_PATH_MAX)
					return -ENAMETOOLONG;
				cur[curlen++] = '/';
				memcpy(cur + curlen, name, len);
				curlen += len;
				cur[curlen] = '\0';
				continue;
			}
			vinode_put(w->inode);
			w->inode = next;
		}

		/* w->inode is a symlink to follow. */
		{
			char target[FUSEDEV_PATH_MAX];
			char *np;

			if (++links > 40)
				return -ELOOP;
			r = vfs_readlink(cred, w->inode, target,
					 sizeof(target));
			if (r < 0)
				return r;
			if (!r)
				return -ENOENT;
			np = malloc(FUSEDEV_PATH_MAX * 2);
			if (!np)
				return -ENOMEM;
			r = snprintf(np, FUSEDEV_PATH_MAX, "%s%s%s%s%s",
				     target[0] == '/' ? "" : cur,
				     target[0] == '/' ? "" : "/", target,
				     *rest ? "/" : "", rest);
			if (r >= FUSEDEV_PATH_MAX) {
				free(np);
				return -ENAMETOOLONG;
			}
			if (last && !*rest && w->trailing_slash)
				strcat(np, "/");
			free(w->buf);
			w->buf = np;
			path = np;
			goto again;
		}
	}
	if (flags & WALK_PARENT) {
		/* "/", ".", ".." as the last component: no parent name. */
		return -EBUSY;
	}
	if (w->trailing_slash && !S_ISDIR(w->inode->attr.mode))
		return -ENOTDIR;
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
 * offered: FUSE_HAS_IOCTL_DIR (no FUSE_IOCTL yet), FUSE_WRITEBACK_CACHE
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
		       FUSE_ALLOW_IDMAP)

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
	if (r < 0 || !S_ISDIR(m->rootmode)) {
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
	root.attr.mode = m->rootmode;
	root.attr.nlink = 2;
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
	size_t k;

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
			struct vinode *in = m->itab[k];

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
