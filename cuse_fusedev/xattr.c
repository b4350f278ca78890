/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes and POSIX ACLs (Linux fs/fuse/xattr.c, acl.c, and
 * the VFS parts of fs/xattr.c and fs/posix_acl.c).
 *
 * GETXATTR, SETXATTR, LISTXATTR and REMOVEXATTR, each with its own "the
 * daemon has none" flag.  The two ACL names are the VFS's, whatever the
 * daemon said at INIT: a value set is parsed, checked and sent again in
 * the kernel's own encoding, a value read is fetched with a page-sized
 * GETXATTR and given back re-encoded, only the owner sets them.  When the
 * daemon took FUSE_POSIX_ACL the kernel also checks permissions with the
 * access ACL (default_permissions is then on) and caches both ACLs on the
 * inode until its attributes are refreshed or changed; the daemon keeps
 * the mode in step with them and makes new files inherit default ACLs.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/limits.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "emu.h"
#include "vfs_i.h"

#define ACL_ACCESS_NAME		"system.posix_acl_access"
#define ACL_DEFAULT_NAME	"system.posix_acl_default"
/* __fuse_get_acl and fuse_set_acl work in one page. */
#define ACL_XATTR_MAX		FDK_PAGE_SIZE

struct vacl {
	unsigned int count;
	struct vacl_entry {
		uint16_t tag;
		uint16_t perm;
		uint32_t id;
	} e[];
};

/* ---- the requests (fs/fuse/xattr.c) -------------------------------------- */

/* fuse_getxattr: the value into @value (@size > 0) or its size. */
static int getxattr_req(const struct emu_cred *cred, struct vinode *in,
			const char *name, void *value, size_t size,
			size_t *len)
{
	struct vmount *m = in->m;
	struct fuse_getxattr_in gx = { .size = size };
	struct fuse_getxattr_out go = { 0 };
	struct fdk_req req;
	int r;

	if (m->no_getxattr)
		return -EOPNOTSUPP;
	vfs_req_init(&req, FUSE_GETXATTR, in->nodeid);
	vfs_in(&req, &gx, sizeof(gx));
	vfs_in(&req, name, strlen(name) + 1);
	if (size) {
		req.out_argvar = true;
		vfs_out(&req, value, size);
	} else {
		vfs_out(&req, &go, sizeof(go));
	}
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_getxattr = true;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	if (size)
		*len = req.out_args[0].size;
	else
		*len = go.size < XATTR_SIZE_MAX ? go.size : XATTR_SIZE_MAX;
	return 0;
}

/* fuse_setxattr: @extra is fuse_setxattr_in.setxattr_flags, which only a
 * daemon that took FUSE_SETXATTR_EXT gets. */
static int setxattr_req(const struct emu_cred *cred, struct vinode *in,
			const char *name, const void *value, size_t size,
			uint32_t flags, uint32_t extra)
{
	struct vmount *m = in->m;
	struct fuse_setxattr_in sx = { .size = size, .flags = flags,
				       .setxattr_flags = extra };
	struct fdk_req req;
	int r;

	if (m->no_setxattr)
		return -EOPNOTSUPP;
	vfs_req_init(&req, FUSE_SETXATTR, in->nodeid);
	vfs_in(&req, &sx, (m->fc.flags & FUSE_SETXATTR_EXT) ?
		   sizeof(sx) : FUSE_COMPAT_SETXATTR_IN_SIZE);
	vfs_in(&req, name, strlen(name) + 1);
	vfs_in(&req, value, size);
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_setxattr = true;
		return -EOPNOTSUPP;
	}
	if (!r) {
		vfs_invalidate_attr(in, STATX_BASIC_STATS); /* fuse_update_ctime */
		in->nosec = false;	/* __vfs_setxattr */
	}
	return r;
}

static int removexattr_req(const struct emu_cred *cred, struct vinode *in,
			   const char *name)
{
	struct vmount *m = in->m;
	struct fdk_req req;
	int r;

	if (m->no_removexattr)
		return -EOPNOTSUPP;
	vfs_req_init(&req, FUSE_REMOVEXATTR, in->nodeid);
	vfs_in(&req, name, strlen(name) + 1);
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_removexattr = true;
		return -EOPNOTSUPP;
	}
	if (!r)
		vfs_invalidate_attr(in, STATX_BASIC_STATS);
	return r;
}

/* fuse_verify_xattr_list: NUL-terminated, non-empty names. */
static int verify_list(const char *list, size_t size)
{
	while (size) {
		size_t n = strnlen(list, size);

		if (!n || n == size)
			return -EIO;
		size -= n + 1;
		list += n + 1;
	}
	return 0;
}

/* fuse_listxattr */
static int listxattr_req(const struct emu_cred *cred, struct vinode *in,
			 char *list, size_t size, size_t *len)
{
	struct vmount *m = in->m;
	struct fuse_getxattr_in gx = { .size = size };
	struct fuse_getxattr_out go = { 0 };
	struct fdk_req req;
	int r;

	if (m->no_listxattr)
		return -EOPNOTSUPP;
	vfs_req_init(&req, FUSE_LISTXATTR, in->nodeid);
	vfs_in(&req, &gx, sizeof(gx));
	if (size) {
		req.out_argvar = true;
		vfs_out(&req, list, size);
	} else {
		vfs_out(&req, &go, sizeof(go));
	}
	r = vfs_request(m, cred, &req);
	if (r == -ENOSYS) {
		m->no_listxattr = true;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	if (!size) {
		*len = go.size < XATTR_LIST_MAX ? go.size : XATTR_LIST_MAX;
		return 0;
	}
	*len = req.out_args[0].size;
	return verify_list(list, *len);
}

/* ---- ACLs as values (fs/posix_acl.c) ------------------------------------ */

static int acl_type(const char *name)
{
	if (!strcmp(name, ACL_ACCESS_NAME))
		return 0;
	if (!strcmp(name, ACL_DEFAULT_NAME))
		return 1;
	return -1;
}

/*
 * posix_acl_from_xattr: the ACL in a value, *@out NULL for one without
 * entries; -EOPNOTSUPP for another version, -EINVAL for a malformed one.
 */
static int acl_from_xattr(const void *value, size_t size, struct vacl **out)
{
	struct posix_acl_xattr_header h;
	struct posix_acl_xattr_entry x;
	const char *p = value;
	struct vacl *acl;
	size_t count, i;

	*out = NULL;
	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (le32toh(h.a_version) != POSIX_ACL_XATTR_VERSION)
		return -EOPNOTSUPP;
	if ((size - sizeof(h)) % sizeof(x))
		return -EINVAL;
	count = (size - sizeof(h)) / sizeof(x);
	if (!count)
		return 0;
	acl = malloc(sizeof(*acl) + count * sizeof(acl->e[0]));
	if (!acl)
		return -ENOMEM;
	acl->count = count;
	for (i = 0; i < count; i++) {
		memcpy(&x, p + sizeof(h) + i * sizeof(x), sizeof(x));
		acl->e[i].tag = le16toh(x.e_tag);
		acl->e[i].perm = le16toh(x.e_perm);
		acl->e[i].id = le32toh(x.e_id);
		switch (acl->e[i].tag) {
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			acl->e[i].id = (uint32_t)ACL_UNDEFINED_ID;
			continue;
		case ACL_USER:
		case ACL_GROUP:
			if (acl->e[i].id != (uint32_t)-1)	/* a valid id */
				continue;
			break;
		}
		free(acl);
		return -EINVAL;
	}
	*out = acl;
	return 0;
}

static size_t acl_xattr_size(const struct vacl *acl)
{
	return sizeof(struct posix_acl_xattr_header) +
	       acl->count * sizeof(struct posix_acl_xattr_entry);
}

/* posix_acl_to_xattr: @buf holds acl_xattr_size(). */
static void acl_to_xattr(const struct vacl *acl, void *buf)
{
	struct posix_acl_xattr_header h = {
		.a_version = htole32(POSIX_ACL_XATTR_VERSION) };
	char *p = buf;
	unsigned int i;

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (i = 0; i < acl->count; i++) {
		struct posix_acl_xattr_entry x = {
			.e_tag = htole16(acl->e[i].tag),
			.e_perm = htole16(acl->e[i].perm),
			.e_id = htole32(acl->e[i].id),
		};

		memcpy(p, &x, sizeof(x));
		p += sizeof(x);
	}
}

/* posix_acl_valid: entries in order, a mask where named ones are. */
static int acl_valid(const struct vacl *acl)
{
	int state = ACL_USER_OBJ, needs_mask = 0;
	unsigned int i;

	for (i = 0; i < acl->count; i++) {
		const struct vacl_entry *pa = &acl->e[i];

		if (pa->perm & ~(ACL_READ | ACL_WRITE | ACL_EXECUTE))
			return -EINVAL;
		switch (pa->tag) {
		case ACL_USER_OBJ:
			if (state != ACL_USER_OBJ)
				return -EINVAL;
			state = ACL_USER;
			break;
		case ACL_USER:
			if (state != ACL_USER)
				return -EINVAL;
			needs_mask = 1;
			break;
		case ACL_GROUP_OBJ:
			if (state != ACL_USER)
				return -EINVAL;
			state = ACL_GROUP;
			break;
		case ACL_GROUP:
			if (state != ACL_GROUP)
				return -EINVAL;
			needs_mask = 1;
			break;
		case ACL_MASK:
			if (state != ACL_GROUP)
				return -EINVAL;
			state = ACL_OTHER;
			break;
		case ACL_OTHER:
			if (state != ACL_OTHER &&
			    (state != ACL_GROUP || needs_mask))
				return -EINVAL;
			state = 0;
			break;
		default:
			return -EINVAL;
		}
	}
	return state == 0 ? 0 : -EINVAL;
}

/* ---- the inode's ACLs (fs/fuse/acl.c, get_inode_acl) -------------------- */

static bool posix_acl(const struct vmount *m)
{
	return m->fc.flags & FUSE_POSIX_ACL;
}

/* forget_all_cached_acls */
void vfs_acl_forget(struct vinode *in)
{
	free(in->acl[0]);
	free(in->acl[1]);
	in->acl[0] = in->acl[1] = NULL;
	in->acl_cached = 0;
	in->acl_seq++;
}

/*
 * __get_acl + __fuse_get_acl: the ACL of @type (0 access, 1 default) in
 * *@out, NULL when there is none.  When the daemon took FUSE_POSIX_ACL it
 * is cached on @in until vfs_acl_forget (unless one came while it was
 * fetched, as Linux's sentinel tells); *@owned says the caller frees it,
 * else it stays valid until the caller next sleeps.
 */
static int get_acl(const struct emu_cred *cred, struct vinode *in, int type,
		   struct vacl **out, bool *owned)
{
	const char *name = type ? ACL_DEFAULT_NAME : ACL_ACCESS_NAME;
	unsigned int seq = in->acl_seq;
	size_t len = 0;
	char *buf;
	int r;

	*out = NULL;
	*owned = false;
	if (posix_acl(in->m) && (in->acl_cached & (1u << type))) {
		*out = in->acl[type];
		return 0;
	}
	if (in->m->no_getxattr)
		return 0;
	buf = malloc(ACL_XATTR_MAX);
	if (!buf)
		return -ENOMEM;
	r = getxattr_req(cred, in, name, buf, ACL_XATTR_MAX, &len);
	if (!r && len)
		r = acl_from_xattr(buf, len, out);
	else if (!r || r == -ENODATA ||
		 (r == -EOPNOTSUPP && in->m->no_getxattr))
		r = 0;
	else if (r == -ERANGE)
		r = -E2BIG;
	free(buf);
	if (r < 0)
		return r;
	if (!posix_acl(in->m) || in->acl_seq != seq) {
		*owned = true;
		return 0;
	}
	free(in->acl[type]);
	in->acl[type] = *out;
	in->acl_cached |= 1u << type;
	return 0;
}

/* posix_acl_permission: 0, -EACCES, or -EIO for an ACL without OTHER. */
static int acl_permission(const struct emu_cred *cred, struct vinode *in,
			  const struct vacl *acl, int want)
{
	const struct vacl_entry *pa = NULL, *pe;
	unsigned int i, j;
	bool found = false;

	want &= ACL_READ | ACL_WRITE | ACL_EXECUTE;
	for (i = 0; i < acl->count; i++) {
		pa = &acl->e[i];
		switch (pa->tag) {
		case ACL_USER_OBJ:
			if (in->attr.uid == cred->uid)
				goto check_perm;
			break;
		case ACL_USER:
			if (pa->id == cred->uid)
				goto mask;
			break;
		case ACL_GROUP_OBJ:
		case ACL_GROUP:
			if (vfs_in_group(cred, pa->tag == ACL_GROUP ?
					 pa->id : in->attr.gid)) {
				found = true;
				if ((pa->perm & want) == want)
					goto mask;
			}
			break;
		case ACL_MASK:
			break;
		case ACL_OTHER:
			if (found)
				return -EACCES;
			goto check_perm;
		default:
			return -EIO;
		}
	}
	return -EIO;
mask:
	for (j = i + 1; j < acl->count; j++) {
		pe = &acl->e[j];
		if (pe->tag == ACL_MASK)
			return (pa->perm & pe->perm & want) == want ? 0 :
			       -EACCES;
	}
check_perm:
	return (pa->perm & want) == want ? 0 : -EACCES;
}

/*
 * check_acl: the access ACL's answer for @mask (MAY_* as 4 2 1), or
 * -EAGAIN when there is none, only for a daemon that took
 * FUSE_POSIX_ACL (fuse_get_inode_acl).
 */
int vfs_acl_permission(const struct emu_cred *cred, struct vinode *in,
		       int mask)
{
	struct vacl *acl;
	bool owned;
	int r;

	if (!posix_acl(in->m))
		return -EAGAIN;
	r = get_acl(cred, in, 0, &acl, &owned);
	if (r < 0)
		return r;
	if (!acl)
		return -EAGAIN;
	r = acl_permission(cred, in, acl, mask);
	if (owned)
		free(acl);
	return r;
}

/* do_get_acl: the ACL re-encoded, or its size when @size is 0. */
static int acl_get(const struct emu_cred *cred, struct vinode *in, int type,
		   void *value, size_t size, size_t *len)
{
	struct vacl *acl;
	bool owned;
	int r;

	if (S_ISLNK(in->attr.mode))
		return -EOPNOTSUPP;
	r = get_acl(cred, in, type, &acl, &owned);
	if (r < 0)
		return r;
	if (!acl)
		return -ENODATA;
	*len = acl_xattr_size(acl);
	if (size && size < *len)
		r = -ERANGE;
	else if (size)
		acl_to_xattr(acl, value);
	if (owned)
		free(acl);
	return r;
}

/* in_group_or_capable, inode_owner_or_capable: root has CAP_FSETID and
 * CAP_FOWNER. */
static bool owner_or_capable(const struct emu_cred *cred,
			     const struct vinode *in)
{
	return !cred->uid || cred->uid == in->attr.uid;
}

/*
 * do_set_acl, set_posix_acl, fuse_set_acl: @size 0 (or a value without
 * entries) removes the ACL.
 */
static int acl_set(const struct emu_cred *cred, struct vinode *in, int type,
		   const char *name, const void *value, size_t size)
{
	struct vmount *m = in->m;
	struct vacl *acl = NULL;
	uint32_t extra = 0;
	char *buf;
	int r;

	if (size) {
		r = acl_from_xattr(value, size, &acl);
		if (r < 0)
			return r;
	}
	r = -EOPNOTSUPP;	/* no set_acl for symlinks */
	if (S_ISLNK(in->attr.mode))
		goto out;
	r = acl ? -EACCES : 0;
	if (type == 1 && !S_ISDIR(in->attr.mode))
		goto out;
	r = -EPERM;
	if (!owner_or_capable(cred, in))
		goto out;
	if (acl) {
		r = acl_valid(acl);
		if (r < 0)
			goto out;
	}
	r = -EOPNOTSUPP;
	if (m->no_setxattr)
		goto out;
	if (!acl) {
		r = removexattr_req(cred, in, name);
		goto done;
	}
	r = -E2BIG;
	if (acl_xattr_size(acl) > ACL_XATTR_MAX)
		goto out;
	r = -ENOMEM;
	buf = malloc(acl_xattr_size(acl));
	if (!buf)
		goto out;
	acl_to_xattr(acl, buf);
	/* The daemon drops the set-group-ID bit as chmod would. */
	if (posix_acl(m) && !vfs_in_group(cred, in->attr.gid) && cred->uid)
		extra = FUSE_SETXATTR_ACL_KILL_SGID;
	r = setxattr_req(cred, in, name, buf, acl_xattr_size(acl), 0, extra);
	free(buf);
done:
	if (posix_acl(m)) {
		vfs_acl_forget(in);
		in->attr_expire = 0;
	}
out:
	free(acl);
	return r;
}

/* ---- the port's xattr calls (fs/xattr.c) ----------------------------- */

/* xattr_permission: @write is MAY_WRITE, else MAY_READ. */
static int xattr_permission(const struct emu_cred *cred, struct vinode *in,
			    const char *name, bool write)
{
	if (!strncmp(name, "security.", 9) || !strncmp(name, "system.", 7))
		return 0;
	if (!strncmp(name, "trusted.", 8)) {
		if (cred->uid)		/* CAP_SYS_ADMIN */
			return write ? -EPERM : -ENODATA;
		return 0;
	}
	if (!strncmp(name, "user.", 5)) {
		if (!S_ISREG(in->attr.mode) && !S_ISDIR(in->attr.mode))
			return write ? -EPERM : -ENODATA;
		if (S_ISDIR(in->attr.mode) && (in->attr.mode & S_ISVTX) &&
		    write && !owner_or_capable(cred, in))
			return -EPERM;
	}
	return vfs_permission(cred, in, write ? 2 : 4);
}

/*
 * FDP_OP_SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR on @in: @name (not
 * for LISTXATTR), @size (the value's, or the caller's buffer), @flags
 * XATTR_CREATE/XATTR_REPLACE.  GETXATTR and LISTXATTR answer into @out
 * (at most @cap) the data, or with @size 0 an fdp_size_out.
 */
int vfs_xattr_op(const struct emu_cred *cred, uint32_t op, struct vinode *in,
		 const char *name, uint64_t size, uint32_t flags,
		 const void *value, void *out, size_t *outlen, size_t cap)
{
	struct vmount *m = in->m;
	bool write = op == FDP_OP_SETXATTR || op == FDP_OP_REMOVEXATTR;
	size_t nlen = name ? strlen(name) : 0, len = 0;
	int type = -1, r;

	if (name && (!nlen || nlen > XATTR_NAME_MAX))
		return nlen ? -ERANGE : -EINVAL;
	if (op == FDP_OP_SETXATTR && size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (write && (m->mountflags & MS_RDONLY))
		return -EROFS;
	if (!write && size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	if (!write && size > cap)
		size = cap;
	if (name)
		type = acl_type(name);
	if (name && type < 0) {
		r = xattr_permission(cred, in, name, write);
		if (r < 0)
			return r;
	}
	switch (op) {
	case FDP_OP_SETXATTR:
	case FDP_OP_REMOVEXATTR:
		/* __vfs_setxattr_locked, __vfs_removexattr_locked */
		vfs_lock_two(in, NULL);
		if (type >= 0 && op == FDP_OP_SETXATTR)
			r = acl_set(cred, in, type, name, value, size);
		else if (type >= 0)
			r = acl_set(cred, in, type, name, NULL, 0);
		else if (op == FDP_OP_SETXATTR)
			r = setxattr_req(cred, in, name, value, size, flags, 0);
		else
			r = removexattr_req(cred, in, name);
		vfs_unlock_two(in, NULL);
		return r;
	case FDP_OP_GETXATTR:
		if (type >= 0)
			r = acl_get(cred, in, type, out, size, &len);
		else
			r = getxattr_req(cred, in, name, out, size, &len);
		/* do_getxattr: no value is larger than XATTR_SIZE_MAX */
		if (r == -ERANGE && size >= XATTR_SIZE_MAX)
			r = -E2BIG;
		break;
	case FDP_OP_LISTXATTR:
		r = listxattr_req(cred, in, out, size, &len);
		if (r == -ERANGE && size >= XATTR_LIST_MAX)
			r = -E2BIG;
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (size) {
		*outlen = len;
	} else {
		((struct fdp_size_out *)out)->size = len;
		*outlen = sizeof(struct fdp_size_out);
	}
	return 0;
}
