/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The contract between cuse_fusedev (the emulated kernel) and
 * libmountshim.so (the preload), and nothing else:
 *
 *  - the runtime directory and the files in it;
 *  - the published mount table (shared memory, read-only to the shim);
 *  - the device ioctls that give a device open its identity;
 *  - the client port: a SOCK_SEQPACKET socket, one message per request
 *    and one per reply.
 *
 * Both sides include this header; neither includes the other's private
 * headers.  All integers are host-endian: both ends run on one machine.
 */
#ifndef FUSEDEV_PORT_H
#define FUSEDEV_PORT_H

#include <stdint.h>
#include <linux/fuse.h>
#include <linux/ioctl.h>

/*
 * Runtime directory ($FUSEDEV_DIR; default /run/fusedev for root, else
 * $XDG_RUNTIME_DIR/fusedev, else /tmp/fusedev-$UID), mode 0700 unless the
 * emulator was told otherwise:
 *
 *   port   the client port (SOCK_SEQPACKET)
 *   mtab   the published mount table, struct fusedev_mtab
 *   dev/   fusefile transport only: the private FUSE mount whose file
 *          "fuse" is the emulated device
 *   pid    the emulator's pid
 *   bin/   fusermount3 and fusermount: links to fusedev(1), which, run by
 *          those names from here, mount on this directory's emulator
 *          (fusedev run puts bin/ first in PATH)
 *   unshimmed  the programs the shim said it cannot enter (static, Go),
 *          one "warned PATH" or "refused PATH" line each (PATH
 *          absolute), appended under flock(2): each is said once per
 *          emulator
 *   sock/  the real sockets behind AF_UNIX sockets bound in emulated
 *          mounts: sock/KEY, KEY the 16 hex digits of the binding's key
 *          (FDP_OP_BIND); made by the emulator, bound by the shim
 */
#define FUSEDEV_ENV_DIR		"FUSEDEV_DIR"
#define FUSEDEV_PORT_NAME	"port"
#define FUSEDEV_MTAB_NAME	"mtab"
#define FUSEDEV_PID_NAME	"pid"
#define FUSEDEV_BIN_NAME	"bin"
#define FUSEDEV_UNSHIMMED_NAME	"unshimmed"
/* What to do about a program the shim cannot enter: warn (the default,
 * once), refuse (exec fails with EPERM; fusedev run --strict) or allow
 * (silently). */
#define FUSEDEV_ENV_UNSHIMMED	"FUSEDEV_UNSHIMMED"
#define FUSEDEV_FUSEFILE_MNT	"dev"
#define FUSEDEV_FUSEFILE_NAME	"fuse"
#define FUSEDEV_SOCK_NAME	"sock"
#define FUSEDEV_CUSE_DEFAULT	"fusedev"	/* /dev/fusedev */

/*
 * The runtime directory when $FUSEDEV_DIR is not set: one rule for the
 * emulator, fusedev(1) and the shim.  Returns snprintf's count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int fusedev_default_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (!geteuid())
		return snprintf(buf, size, "/run/fusedev");
	if (xdg && *xdg)
		return snprintf(buf, size, "%s/fusedev", xdg);
	return snprintf(buf, size, "/tmp/fusedev-%u", (unsigned)getuid());
}

/* ---- published mount table ---------------------------------------------
 *
 * Written only by the emulator, mapped read-only by every shim.  A reader
 * copies what it needs between two reads of @seq and retries while @seq is
 * odd or changed (a seqlock); the common check "has anything changed since
 * I last looked" is one load of @seq.
 */
#define FUSEDEV_MTAB_MAGIC	0x66646d74u	/* "fdmt" */
#define FUSEDEV_MTAB_VERSION	1
#define FUSEDEV_MTAB_MAX	64
#define FUSEDEV_PATH_MAX	4096

struct fusedev_mtab_ent {
	uint64_t id;			/* mount id, never reused */
	uint32_t flags;			/* FUSEDEV_MNT_* */
	uint32_t len;			/* strlen(path) */
	char path[FUSEDEV_PATH_MAX];	/* absolute mountpoint, no trailing / */
};

#define FUSEDEV_MNT_USED	(1u << 0)

struct fusedev_mtab {
	uint32_t magic;
	uint32_t version;
	uint32_t seq;			/* odd while being written */
	uint32_t count;			/* entries in use are ents[0..count) */
	int32_t emulator_pid;
	uint32_t transport;		/* FUSEDEV_TRANSPORT_* */
	char device[256];		/* path of the emulated device node */
	struct fusedev_mtab_ent ents[FUSEDEV_MTAB_MAX];
};

#define FUSEDEV_TRANSPORT_CUSE		1
#define FUSEDEV_TRANSPORT_FUSEFILE	2

/* ---- device ioctls ------------------------------------------------------
 *
 * Every open of the emulated device is one "device open" with a random
 * 64-bit key.  It starts unattached; it becomes a daemon's channel when a
 * mount names it (FDP_MOUNT) or it is cloned, or a client's file when it is
 * bound to an open file (FUSEDEV_IOC_BIND).
 *
 * All are fixed-size _IOR/_IOW so they pass the kernel's "restricted" FUSE
 * ioctl path of the fusefile transport unchanged.
 */
#define FUSEDEV_KIND_UNATTACHED	0
#define FUSEDEV_KIND_DAEMON	1
#define FUSEDEV_KIND_CLIENT	2

struct fusedev_whoami {
	uint64_t key;			/* this device open's key */
	uint64_t open_key;		/* KIND_CLIENT: the open file's key */
	uint32_t kind;			/* FUSEDEV_KIND_* */
	uint32_t flags;			/* KIND_CLIENT: open flags */
};

/* Who is this fd?  Works on any open of the device. */
#define FUSEDEV_IOC_WHOAMI	_IOR(FUSE_DEV_IOC_MAGIC, 0x40, struct fusedev_whoami)
/* Bind this (unattached) open to the open file FDP_OPEN returned. */
#define FUSEDEV_IOC_BIND	_IOW(FUSE_DEV_IOC_MAGIC, 0x41, uint64_t)
/*
 * FUSE_DEV_IOC_CLONE with the old open named by key: the daemon-side shim
 * turns FUSE_DEV_IOC_CLONE into this where the transport cannot read the
 * clone's argument (the fusefile transport's restricted ioctls).
 */
#define FUSEDEV_IOC_CLONE_KEY	_IOW(FUSE_DEV_IOC_MAGIC, 0x42, uint64_t)
/*
 * fusefile: drop the kernel's cached attributes of this open's inode of
 * the device file, so that the next fstat(2) of the fd asks (a client's
 * GETATTR answers its file's size and times).  The shim sends it for the
 * emulated fds that a program it cannot enter inherits at exec.
 */
#define FUSEDEV_IOC_ATTR_INVAL	_IO(FUSE_DEV_IOC_MAGIC, 0x4a)

/*
 * Any other ioctl on a client's device open is the emulated file's: the
 * emulator answers it as Linux answers it for a FUSE file, FUSE_IOCTL to
 * the daemon included.  Magic FUSE_DEV_IOC_MAGIC, numbers 0x40-0x5f are
 * the emulator's own on every device open: a client's ioctl with one of
 * them never reaches the daemon.
 *
 * Linux's VFS answers some ioctls itself (fs/ioctl.c do_vfs_ioctl,
 * file_ioctl; fileattr), from the FUSE inode; on the device they would
 * be answered for the device file instead.  The shim sends them under
 * these numbers, each moving the data the original moves, and the
 * emulator answers for the emulated file.  A device open that receives
 * an original (CUSE passes some to the driver) answers it the same way.
 */
#define FUSEDEV_IOC_FIONREAD	_IOR(FUSE_DEV_IOC_MAGIC, 0x50, int32_t)
#define FUSEDEV_IOC_FIOQSIZE	_IOR(FUSE_DEV_IOC_MAGIC, 0x51, int64_t)
#define FUSEDEV_IOC_FIGETBSZ	_IOR(FUSE_DEV_IOC_MAGIC, 0x52, int32_t)
#define FUSEDEV_IOC_FIBMAP	_IOWR(FUSE_DEV_IOC_MAGIC, 0x53, int32_t)
#define FUSEDEV_IOC_GETFLAGS	_IOR(FUSE_DEV_IOC_MAGIC, 0x54, uint32_t)
#define FUSEDEV_IOC_SETFLAGS	_IOW(FUSE_DEV_IOC_MAGIC, 0x55, uint32_t)
/* struct fsxattr */
#define FUSEDEV_IOC_FSGETXATTR	_IOR(FUSE_DEV_IOC_MAGIC, 0x56, uint8_t[28])
#define FUSEDEV_IOC_FSSETXATTR	_IOW(FUSE_DEV_IOC_MAGIC, 0x57, uint8_t[28])
/* FS_IOC_RESVSP, UNRESVSP, RESVSP64, UNRESVSP64, ZERO_RANGE (below) */
#define FUSEDEV_IOC_RESVSP(k)	_IOW(FUSE_DEV_IOC_MAGIC, 0x58 + (k), uint8_t[48])
#define FUSEDEV_RESVSP_COUNT	5
/* FICLONE, FICLONERANGE, FIDEDUPERANGE (the shim found the source) */
#define FUSEDEV_IOC_CLONE_CHECK	_IOW(FUSE_DEV_IOC_MAGIC, 0x5d, struct fusedev_clone)
#define FUSEDEV_IOC_OWN_FIRST	0x40
#define FUSEDEV_IOC_OWN_LAST	0x5f

/*
 * Originals that Debian's UAPI headers lack: XFS's preallocation ioctls
 * (xfs_fs.h; file_ioctl serves them for every file system, struct
 * space_resv is 48 bytes) and Linux 6.8's super block queries.
 */
#define FUSEDEV_FS_IOC_RESVSP		_IOW('X', 40, uint8_t[48])
#define FUSEDEV_FS_IOC_UNRESVSP		_IOW('X', 41, uint8_t[48])
#define FUSEDEV_FS_IOC_RESVSP64		_IOW('X', 42, uint8_t[48])
#define FUSEDEV_FS_IOC_UNRESVSP64	_IOW('X', 43, uint8_t[48])
#define FUSEDEV_FS_IOC_ZERO_RANGE	_IOW('X', 57, uint8_t[48])
#define FUSEDEV_FS_IOC_GETFSUUID	_IOR(0x15, 0, uint8_t[17])
#define FUSEDEV_FS_IOC_GETFSSYSFSPATH	_IOR(0x15, 1, uint8_t[129])

struct fusedev_clone {
	uint64_t src_key;		/* FICLONE*: the source's open key */
	uint32_t dedupe;		/* 0: FICLONE*; FIDEDUPERANGE: 1, or 2
					 * when its reserved fields are set */
	uint32_t padding;
};

/* ---- client port --------------------------------------------------------
 *
 * Request: struct fdp_hdr followed by the op's input.
 * Reply:   struct fdp_hdr (same id and op; error = 0 or -errno, or
 *          FDP_EXTERNAL) followed by the op's output.
 *
 * A client may have several requests in flight (threads); replies carry
 * the request's id.  A message is at most FDP_MSG_MAX bytes; data ops move
 * at most FDP_IO_MAX bytes each and the shim loops.
 *
 * Paths are absolute, or relative to an open file (fdp_path_in.base: a
 * dirfd or the emulated cwd), and are walked component by component by
 * the emulator, "." and ".." and symlinks included, as Linux walks them.  When the walk leaves every emulated mount (".." above a
 * mount's root, or a symlink to a path outside), the reply's error is
 * FDP_EXTERNAL and its payload the NUL-terminated absolute path at which
 * the shim must redo the call on the real file system.
 */
#define FDP_PROTO_VERSION	4	/* 4: fdp_path_in base, umask; sockets */
#define FDP_MSG_MAX		(256 * 1024)
#define FDP_IO_MAX		(128 * 1024)
#define FDP_EXTERNAL		1

struct fdp_hdr {
	uint32_t len;			/* whole message, header included */
	uint32_t op;			/* FDP_OP_* */
	uint64_t id;			/* chosen by the client, echoed */
	int32_t error;			/* reply only */
	uint32_t padding;
};

enum fdp_op {
	FDP_OP_HELLO = 1,	/* in: fdp_hello          out: fdp_hello */
	FDP_OP_INTERRUPT,	/* in: fdp_interrupt      out: none, no reply */

	/* daemon side */
	FDP_OP_MOUNT,		/* in: fdp_mount_in + strings   out: none */
	FDP_OP_UMOUNT,		/* in: fdp_path_in (flags = umount2 flags) */

	/* client side, by path: in: fdp_path_in + path [+ NUL + path2] */
	FDP_OP_STAT,		/* flags AT_SYMLINK_NOFOLLOW and
				 * AT_STATX_*_SYNC, mode the statx mask (0:
				 * stat's); out: fdp_stat_out */
	FDP_OP_OPEN,		/* flags open flags, mode, umask;
				 * out: fdp_open_out */
	FDP_OP_MKDIR,		/* mode, umask */
	FDP_OP_MKNOD,		/* mode, umask, arg = rdev */
	FDP_OP_UNLINK,
	FDP_OP_RMDIR,
	FDP_OP_RENAME,		/* flags RENAME_*; path2 = new name */
	FDP_OP_LINK,		/* path = existing, path2 = new link */
	FDP_OP_SYMLINK,		/* path = link to create, path2 = target text */
	FDP_OP_READLINK,	/* out: target, not NUL-terminated */
	FDP_OP_ACCESS,		/* mode = amode, flags AT_EACCESS|AT_SYMLINK_NOFOLLOW */
	FDP_OP_TRUNCATE,	/* arg = size */
	FDP_OP_CHMOD,		/* mode, flags AT_SYMLINK_NOFOLLOW */
	FDP_OP_CHOWN,		/* arg = uid << 32 | gid (-1 each = keep), flags */
	FDP_OP_UTIMENS,		/* payload after path(s): struct timespec[2] */
	FDP_OP_STATFS,		/* out: struct fuse_kstatfs, its padding
				 * holding the mount's ST_RDONLY, ST_NOSUID,
				 * ST_NODEV and ST_NOEXEC */
	FDP_OP_SETXATTR,	/* path2 = name; flags XATTR_*; value follows
				 * the names, arg = its size */
	FDP_OP_GETXATTR,	/* path2 = name, arg = size; out: value, or
				 * fdp_size_out when arg is 0 */
	FDP_OP_LISTXATTR,	/* arg = size; out: names, or fdp_size_out */
	FDP_OP_REMOVEXATTR,	/* path2 = name */
	FDP_OP_REALPATH,	/* out: the absolute path that names what
				 * the path resolves to, NUL-terminated */

	/* client side, by open file: in: fdp_file_in [+ data] */
	FDP_OP_FSTAT,		/* flags AT_STATX_*_SYNC, size the statx
				 * mask (0: fstat's); out: fdp_stat_out */
	FDP_OP_PREAD,		/* offset (-1: at and advancing the position),
				 * size; out: data */
	FDP_OP_PWRITE,		/* offset (-1: position), data after;
				 * out: fdp_size_out */
	FDP_OP_LSEEK,		/* offset, whence; out: fdp_size_out */
	FDP_OP_FTRUNCATE,	/* offset = size */
	FDP_OP_FSYNC,		/* flags 1 = datasync */
	FDP_OP_GETDENTS,	/* size; out: struct linux_dirent64 records */
	FDP_OP_FCHMOD,		/* mode */
	FDP_OP_FCHOWN,		/* offset = uid << 32 | gid */
	FDP_OP_FUTIMENS,	/* data: struct timespec[2] */
	FDP_OP_FSTATFS,		/* out: struct fuse_kstatfs */
	FDP_OP_FPATH,		/* out: the absolute path that names the
				 * file now, else the one it was opened by;
				 * flags FDP_FPATH_NOW: now or the error
				 * (ENOENT, ENAMETOOLONG); FDP_FPATH_MOUNT:
				 * its mount's mountpoint */
	FDP_OP_SETFL,		/* flags: new O_APPEND|O_NONBLOCK */
	FDP_OP_FALLOCATE,	/* offset, size = length, flags = mode */
	FDP_OP_COPY_RANGE,	/* this file is the source: offset (-1:
				 * position), size, flags; data:
				 * fdp_copy_in; out: fdp_size_out */

	/* file locks, by open file: in: fdp_lock_in */
	FDP_OP_GETLK,		/* out: fdp_lock_out */
	FDP_OP_SETLK,		/* out: none; FDP_LK_WAIT may block */

	/*
	 * AF_UNIX sockets bound in emulated mounts (unix_bind_bsd,
	 * unix_find_bsd).  The daemon stores the node; the emulator records
	 * which real socket (FUSEDEV_SOCK_NAME/KEY) serves it.  By path:
	 */
	FDP_OP_BIND,		/* MKNOD of a socket, mode = S_IFSOCK | perm,
				 * arg = the key; the payload after the path:
				 * the sun_path as the caller gave it, NUL-
				 * terminated (what getsockname reports) */
	FDP_OP_CONNECT,		/* the bound socket the path names (walked
				 * following symlinks; MAY_WRITE); out:
				 * fdp_sock_out; ECONNREFUSED when nothing is
				 * bound there */
	/* in: fdp_sock_out (the key); out: the sun_path it was bound by */
	FDP_OP_SOCKNAME,

	FDP_OP_MAX
};

struct fdp_hello {
	uint32_t version;
	uint32_t transport;
	uint64_t padding;
};

struct fdp_interrupt {
	uint64_t id;			/* the request to interrupt */
};

struct fdp_mount_in {
	uint64_t dev_key;		/* FUSEDEV_IOC_WHOAMI of the fd= option */
	uint64_t mountflags;		/* mount(2) flags (MS_NOSUID, ...) */
	uint32_t fstype_len;		/* each string NUL-terminated, in order: */
	uint32_t source_len;		/* fstype, source, target, data */
	uint32_t target_len;
	uint32_t data_len;
};

/*
 * A relative path starts at the open file @base names (a dirfd's, or the
 * emulated cwd's), as Linux starts a walk at a dentry: no text is joined,
 * so a relative path may be as long as a path, whatever the directory's
 * own path is.  @base 0: the path is absolute.  @base2 likewise for path2
 * when it is a path (RENAME, LINK).  An empty relative path names @base
 * itself (AT_EMPTY_PATH).
 *
 * A mode that creates (OPEN with O_CREAT or O_TMPFILE, MKDIR, MKNOD) is
 * the caller's, unmasked: the emulator applies @umask, the caller's
 * umask(2), where Linux does (not when the daemon took FUSE_DONT_MASK).
 */
struct fdp_path_in {
	uint32_t flags;
	uint32_t mode;
	uint64_t arg;
	uint32_t path_len;		/* strlen(path) (NUL follows) */
	uint32_t path2_len;		/* 0 or strlen(path2) (NUL follows) */
	uint64_t base;			/* open key, or 0 */
	uint64_t base2;
	uint32_t umask;			/* the caller's umask */
	uint32_t padding;
};

struct fdp_file_in {
	uint64_t open_key;
	int64_t offset;
	uint64_t size;
	uint32_t flags;
	uint32_t whence;
};

#define FDP_FPATH_NOW		1	/* FDP_OP_FPATH: getcwd's rule */
#define FDP_FPATH_MOUNT		2

struct fdp_copy_in {
	uint64_t out_key;		/* destination open file */
	int64_t out_offset;		/* -1: its position */
};

struct fdp_stat_out {
	struct fuse_attr attr;		/* st_dev is the mount's: */
	uint64_t dev;
};

struct fdp_open_out {
	uint64_t open_key;		/* bind a device open to it, once */
	uint32_t open_flags;		/* FOPEN_* the daemon returned */
	uint32_t padding;
	/* then, where known: the file's canonical path, NUL-terminated */
};

struct fdp_size_out {
	uint64_t size;
};

struct fdp_sock_out {
	uint64_t key;			/* the real socket: FUSEDEV_SOCK_NAME/
					 * %016llx in the runtime directory */
};

/*
 * File locks (fcntl F_GETLK/F_SETLK/F_SETLKW, F_OFD_*, flock(2); lockf(3)
 * is fcntl's POSIX kind).  The emulator checks and resolves the request
 * as fs/locks.c does (l_whence against the open file's position and the
 * inode's size); the owner is the caller's process (SO_PEERCRED) for
 * FDP_LK_POSIX, the open file for FDP_LK_OFD and FDP_LK_FLOCK.  A
 * FDP_LK_WAIT request sleeps until granted; FDP_OP_INTERRUPT ends it
 * with -EINTR.
 */
#define FDP_LK_POSIX		0	/* fcntl F_GETLK, F_SETLK(W) */
#define FDP_LK_OFD		1	/* fcntl F_OFD_* */
#define FDP_LK_FLOCK		2	/* flock(2): whole file, no range */
#define FDP_LK_KIND		0xff
#define FDP_LK_WAIT		(1u << 8)	/* F_SETLKW, flock without
						 * LOCK_NB */

struct fdp_lock_in {
	uint64_t open_key;
	int64_t start;			/* l_start, from l_whence */
	int64_t len;			/* l_len (< 0: before start) */
	uint32_t kind;			/* FDP_LK_* | FDP_LK_WAIT */
	int32_t pid;			/* l_pid as given (OFD: must be 0) */
	uint16_t type;			/* F_RDLCK, F_WRLCK, F_UNLCK */
	uint16_t whence;		/* SEEK_SET, SEEK_CUR, SEEK_END */
	uint32_t padding;
};

struct fdp_lock_out {			/* F_GETLK's answer */
	int64_t start;			/* from SEEK_SET */
	int64_t len;			/* 0: to the end of the file */
	int32_t pid;			/* holder; -1 for an OFD lock */
	uint16_t type;			/* F_UNLCK: no conflict, rest unset */
	uint16_t whence;		/* SEEK_SET */
};

_Static_assert(sizeof(struct fdp_lock_in) == 40, "fdp_lock_in layout");
_Static_assert(sizeof(struct fdp_lock_out) == 24, "fdp_lock_out layout");
_Static_assert(sizeof(struct fdp_hdr) == 24, "fdp_hdr layout");
_Static_assert(sizeof(struct fdp_path_in) == 48, "fdp_path_in layout");
_Static_assert(sizeof(struct fdp_file_in) == 32, "fdp_file_in layout");
_Static_assert(sizeof(struct fusedev_clone) == 16, "fusedev_clone layout");

#endif /* FUSEDEV_PORT_H */
