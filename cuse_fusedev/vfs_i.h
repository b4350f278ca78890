/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VFS's own interfaces between vfs.c, file.c and ops.c. */
#ifndef CUSE_FUSEDEV_VFS_I_H
#define CUSE_FUSEDEV_VFS_I_H

#include <limits.h>
#include <linux/stat.h>

#include "emu.h"

#define WALK_FOLLOW	(1u << 0)	/* follow a final symlink */
#define WALK_PARENT	(1u << 1)	/* stop at the last component, look
					 * it up under its directory's
					 * i_rwsem (held: w->locked) */
#define WALK_NOLAST	(1u << 2)	/* ... without lock or lookup */

/* What the last component of a WALK_PARENT walk is (namei's LAST_*). */
enum {
	WALK_LAST_NORM,			/* a name: w->last */
	WALK_LAST_DOT,			/* ".": w->dir is the directory */
	WALK_LAST_DOTDOT,		/* "..": w->dir is the directory */
	WALK_LAST_ROOT,			/* the mount's root itself */
};

struct walk {
	struct vmount *m;
	struct vinode *dir;		/* WALK_PARENT: the last's directory */
	struct vinode *inode;		/* the result, or NULL */
	int last_type;			/* WALK_PARENT: WALK_LAST_* */
	struct vinode *ndir;		/* else: the last name's directory */
	struct vinode *locked;		/* i_rwsem held (exclusive) */
	struct vmount *rename_locked;	/* rename_mutex held */
	char last[NAME_MAX + 1];
	size_t lastlen;
	bool trailing_slash;
	char *buf;			/* path after symlinks and ".." */
	char ext[FUSEDEV_PATH_MAX];	/* FDP_EXTERNAL */
};

/* The kernel's O_LARGEFILE on x86_64 (glibc's is 0 for 64-bit code). */
#define KERNEL_O_LARGEFILE	0100000

/* fuse_update_attributes: what the VFS itself needs (no atime). */
#define VFS_ATTR_INTERNAL	(STATX_BASIC_STATS & ~STATX_ATIME)
/* FUSE_STATX_MODSIZE: what a write changes. */
#define VFS_ATTR_MODSIZE	(STATX_MTIME | STATX_CTIME | STATX_BLOCKS | \
				 STATX_SIZE)

uint64_t vfs_expiry(uint64_t sec, uint32_t nsec);
int vfs_walk(const struct emu_cred *cred, struct vinode *base,
	     const char *path, unsigned int flags, struct walk *w);
void vfs_walk_done(struct walk *w);
int vfs_walk_path(struct walk *w, char *buf, size_t size);
struct vmount *vfs_find_mount(const char *path, size_t *prefix);

struct vinode *vinode_find(struct vmount *m, uint64_t nodeid);
void vinode_get(struct vinode *in);
void vinode_put(struct vinode *in);
struct vdentry *dentry_find(struct vmount *m, struct vinode *dir,
			    const char *name, size_t len);
void dentry_drop(struct vmount *m, struct vinode *dir, const char *name,
		 size_t len);
int dentry_set(struct vmount *m, struct vinode *dir, const char *name,
	       size_t len, struct vinode *inode, uint64_t expire);
bool vinode_is_ancestor(const struct vinode *a, const struct vinode *b);

void vfs_req_init(struct fdk_req *req, uint32_t opcode, uint64_t nodeid);
void vfs_in(struct fdk_req *req, const void *p, size_t size);
void vfs_out(struct fdk_req *req, void *p, size_t size);

int vfs_allowed(struct vmount *m, const struct emu_cred *cred);
bool vfs_in_group(const struct emu_cred *cred, gid_t gid);
int vfs_mode_permission(const struct emu_cred *cred,
			const struct fuse_attr *a, int mask);
int vfs_generic_permission(const struct emu_cred *cred, struct vinode *in,
			   int mask);
int vfs_permission(const struct emu_cred *cred, struct vinode *in, int mask);
uint32_t vfs_create_mode(const struct emu_cred *cred, struct vinode *dir,
			 uint32_t mode, uint32_t umask);

/* The extensions of a creating request (get_create_ext), in @ext. */
struct vfs_create_ext {
	uint64_t buf[4];
};
void vfs_create_ext(const struct emu_cred *cred, struct vinode *dir,
		    struct fdk_req *req, struct vfs_create_ext *ext);
int vfs_getattr(const struct emu_cred *cred, struct vinode *in,
		struct vfile *f);
int vfs_fresh_attr(const struct emu_cred *cred, struct vinode *in,
		   struct vfile *f, uint32_t mask);
void vfs_attr_set(struct vinode *in, const struct fuse_attr *a,
		  uint64_t sec, uint32_t nsec);
int vfs_stat_attr(const struct emu_cred *cred, struct vinode *in,
		  uint32_t mask, uint32_t flags);
void vfs_invalidate_attr(struct vinode *in, uint32_t mask);
void vfs_invalidate_atime(struct vinode *in);
int vfs_setattr(const struct emu_cred *cred, struct vinode *in,
		struct vfile *f, struct fuse_setattr_in *arg);
int vfs_remove_privs(const struct emu_cred *cred, struct vinode *in,
		     struct vfile *f, struct fuse_setattr_in *sa);
void vfs_stat_out(struct vinode *in, struct fdp_stat_out *out);
int vfs_lookup(const struct emu_cred *cred, struct vinode *dir,
	       const char *name, size_t len, struct vinode **out);
int vfs_lookup_locked(const struct emu_cred *cred, struct vinode *dir,
		      const char *name, size_t len, struct vinode **out,
		      bool held);
bool vfs_lock_dirop(struct vinode *dir);
void vfs_unlock_dirop(struct vinode *dir, bool locked);
void vfs_walk_unlock(struct walk *w);
void vfs_lock_rename(struct walk *o, struct walk *n);
void vfs_lock_two(struct vinode *a, struct vinode *b);
void vfs_unlock_two(struct vinode *a, struct vinode *b);
int vfs_inode_path(struct vinode *in, char *buf, size_t size);
int vinode_iget(struct vmount *m, const struct fuse_entry_out *e,
		struct vinode **out);
int vfs_new_entry(struct vinode *dir, const char *name, size_t len,
		  struct fuse_entry_out *e, struct vinode **out);
int vfs_readlink(const struct emu_cred *cred, struct vinode *in, char *buf,
		 size_t size);

int vfs_notify_retrieve(struct vmount *m,
			const struct fuse_notify_retrieve_out *o);

/* xattr.c */
int vfs_xattr_op(const struct emu_cred *cred, uint32_t op, struct vinode *in,
		 const char *name, uint64_t size, uint32_t flags,
		 const void *value, void *out, size_t *outlen, size_t cap);
int vfs_acl_permission(const struct emu_cred *cred, struct vinode *in,
		       int mask);
void vfs_acl_forget(struct vinode *in);
void vfs_mount_maybe_free(struct vmount *m);
void vfs_mount_file_gone(struct vmount *m);

/* file.c */
int vfile_open(const struct emu_cred *cred, struct vinode *in, int flags,
	       const char *path, void *owner, struct vfile **out);
int vfile_create(const struct emu_cred *cred, struct vinode *dir,
		 const char *name, size_t len, int flags, mode_t mode,
		 mode_t umask, const char *path, void *owner,
		 struct vfile **out);
int vfile_tmpfile(const struct emu_cred *cred, struct vinode *dir,
		  int flags, mode_t mode, mode_t umask, const char *path,
		  void *owner, struct vfile **out);
int vfile_open_path(const struct emu_cred *cred, struct vinode *in,
		    int flags, const char *path, void *owner,
		    struct vfile **out);
int vfile_open_priv(const struct emu_cred *cred, struct vinode *in,
		    const char *path, struct vfile **out);
int vfile_fallocate(const struct emu_cred *cred, struct vfile *f,
		    int mode, int64_t off, int64_t len);
void vfs_poll_wakeup(struct fdk_conn *fc, uint64_t kh);

#endif /* CUSE_FUSEDEV_VFS_I_H */
