/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nosys_ll: a libfuse3 low-level daemon that implements nothing.  Its
 * tree is fixed: "f" (a 5-byte file), "d" (a directory), "l" (a symlink);
 * LOOKUP and GETATTR answer it, and every other request is answered
 * ENOSYS, also those libfuse would answer itself (OPEN, OPENDIR,
 * RELEASE, RELEASEDIR, STATFS).  The syscalls suite runs the cases of
 * nosys/ on it to compare what the kernel and the emulator make of each
 * opcode's ENOSYS (fs/fuse: EPERM for LINK, EOPNOTSUPP for the xattrs,
 * EINVAL for RENAME2, success for ACCESS, FLUSH, FSYNC, OPEN...).
 *
 *	nosys_ll [-f] MOUNTPOINT
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_ROOT = FUSE_ROOT_ID, N_FILE, N_DIR, N_LINK };

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	switch (ino) {
	case N_ROOT:
	case N_DIR:
		st->st_mode = S_IFDIR | 0777;
		st->st_nlink = 2;
		break;
	case N_FILE:
		st->st_mode = S_IFREG | 0666;
		st->st_size = 5;
		break;
	default:
		st->st_mode = S_IFLNK | 0777;
		st->st_size = 1;
		break;
	}
}

static void nl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	static const char *const names[] = { "f", "d", "l" };
	struct fuse_entry_param e;
	size_t i;

	memset(&e, 0, sizeof(e));
	for (i = 0; parent == N_ROOT && i < 3; i++)
		if (!strcmp(name, names[i]))
			e.ino = N_FILE + i;
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(e.ino, &e.attr);
	e.attr_timeout = e.entry_timeout = 3600;
	fuse_reply_entry(req, &e);
}

static void nl_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	fill(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

/* Every other operation: ENOSYS. */
#define NOSYS(name, ...)						\
	static void nl_##name(fuse_req_t req, __VA_ARGS__)		\
	{								\
		fuse_reply_err(req, ENOSYS);				\
	}

NOSYS(readlink, fuse_ino_t ino)
NOSYS(mknod, fuse_ino_t p, const char *n, mode_t m, dev_t r)
NOSYS(mkdir, fuse_ino_t p, const char *n, mode_t m)
NOSYS(unlink, fuse_ino_t p, const char *n)
NOSYS(rmdir, fuse_ino_t p, const char *n)
NOSYS(symlink, const char *l, fuse_ino_t p, const char *n)
NOSYS(rename, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn,
      unsigned int flags)
NOSYS(link, fuse_ino_t ino, fuse_ino_t np, const char *nn)
NOSYS(setattr, fuse_ino_t ino, struct stat *a, int to_set,
      struct fuse_file_info *fi)
NOSYS(open, fuse_ino_t ino, struct fuse_file_info *fi)
NOSYS(read, fuse_ino_t ino, size_t s, off_t o, struct fuse_file_info *fi)
NOSYS(write, fuse_ino_t ino, const char *b, size_t s, off_t o,
      struct fuse_file_info *fi)
NOSYS(flush, fuse_ino_t ino, struct fuse_file_info *fi)
NOSYS(release, fuse_ino_t ino, struct fuse_file_info *fi)
NOSYS(fsync, fuse_ino_t ino, int d, struct fuse_file_info *fi)
NOSYS(opendir, fuse_ino_t ino, struct fuse_file_info *fi)
NOSYS(readdir, fuse_ino_t ino, size_t s, off_t o, struct fuse_file_info *fi)
NOSYS(releasedir, fuse_ino_t ino, struct fuse_file_info *fi)
NOSYS(fsyncdir, fuse_ino_t ino, int d, struct fuse_file_info *fi)
NOSYS(statfs, fuse_ino_t ino)
NOSYS(setxattr, fuse_ino_t ino, const char *n, const char *v, size_t s,
      int f)
NOSYS(getxattr, fuse_ino_t ino, const char *n, size_t s)
NOSYS(listxattr, fuse_ino_t ino, size_t s)
NOSYS(removexattr, fuse_ino_t ino, const char *n)
NOSYS(access, fuse_ino_t ino, int m)
NOSYS(create, fuse_ino_t p, const char *n, mode_t m,
      struct fuse_file_info *fi)
NOSYS(fallocate, fuse_ino_t ino, int m, off_t o, off_t l,
      struct fuse_file_info *fi)
NOSYS(copy_file_range, fuse_ino_t i, off_t oi, struct fuse_file_info *fi,
      fuse_ino_t o, off_t oo, struct fuse_file_info *fo, size_t l, int f)
NOSYS(lseek, fuse_ino_t ino, off_t o, int w, struct fuse_file_info *fi)

static const struct fuse_lowlevel_ops ops = {
	.lookup = nl_lookup, .getattr = nl_getattr,
	.readlink = nl_readlink, .mknod = nl_mknod, .mkdir = nl_mkdir,
	.unlink = nl_unlink, .rmdir = nl_rmdir, .symlink = nl_symlink,
	.rename = nl_rename, .link = nl_link, .setattr = nl_setattr,
	.open = nl_open, .read = nl_read, .write = nl_write,
	.flush = nl_flush, .release = nl_release, .fsync = nl_fsync,
	.opendir = nl_opendir, .readdir = nl_readdir,
	.releasedir = nl_releasedir, .fsyncdir = nl_fsyncdir,
	.statfs = nl_statfs, .setxattr = nl_setxattr,
	.getxattr = nl_getxattr, .listxattr = nl_listxattr,
	.removexattr = nl_removexattr, .access = nl_access,
	.create = nl_create, .fallocate = nl_fallocate,
	.copy_file_range = nl_copy_file_range, .lseek = nl_lseek,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int r = 1;

	if (fuse_parse_cmdline(&args, &opts) || !opts.mountpoint) {
		fprintf(stderr, "usage: %s [-f] MOUNTPOINT\n", argv[0]);
		return 1;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) || fuse_session_mount(se,
							      opts.mountpoint))
		goto out_destroy;
	fuse_daemonize(opts.foreground);
	r = fuse_session_loop(se) ? 1 : 0;
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return r;
}
