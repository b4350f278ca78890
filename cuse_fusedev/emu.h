/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cuse_fusedev private header: the parts of the emulated kernel and how
 * they meet.
 *
 *   loop.c       the event loop (io_uring), deferred work, fibers
 *   devops.c     the device operations every transport calls: open,
 *                read, write, poll, flush, release, ioctl of an open
 *   transport.c  cuse and fusefile registration (libfuse3 lowlevel)
 *   vfs.c        mounts, inodes, dentries, path walk, the requests a
 *                system call produces (fs/fuse/dir.c, inode.c)
 *   file.c       open files: OPEN/READ/WRITE/FLUSH/RELEASE, readdir,
 *                poll (fs/fuse/file.c, readdir.c)
 *   ioctl.c      ioctl on open files: FUSE_IOCTL and what the VFS
 *                answers itself (fs/fuse/ioctl.c, fs/ioctl.c)
 *   xattr.c      extended attributes and POSIX ACLs (fs/fuse/xattr.c,
 *                acl.c)
 *   port.c       the client port: shim requests to VFS calls
 *   sock.c       AF_UNIX sockets bound in emulated mounts: which real
 *                socket serves which socket node (sock.h)
 *   main.c       options, runtime directory, start and stop
 *
 * One thread.  A client operation runs in a fiber that sleeps while its
 * FUSE request is with the daemon, the way a kernel task sleeps in
 * request_wait_answer(); nothing else ever blocks.
 */
#ifndef CUSE_FUSEDEV_EMU_H
#define CUSE_FUSEDEV_EMU_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdk.h"
#include "fusedev_port.h"
#include "list.h"

/* ---- logging (main.c) ---------------------------------------------- */

extern int emu_debug;
void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define emu_dbg(...) do { if (emu_debug) emu_log(__VA_ARGS__); } while (0)

/* ---- the event loop and fibers (loop.c) ----------------------------- */

struct fiber;
typedef void (*loop_fd_cb)(void *data, int revents);

int loop_init(void);
void loop_exit(void);
/* Watch @fd for @events (POLLIN...) until loop_del_fd; multishot. */
int loop_add_fd(int fd, unsigned int events, loop_fd_cb cb, void *data);
void loop_del_fd(int fd);
/* Run the loop until loop_stop(). */
int loop_run(void);
void loop_drain(void);
void loop_stop(void);
uint64_t loop_now_ns(void);
/* Run @fn(@data) from the loop, after the current callback returns. */
void loop_defer(void (*fn)(void *), void *data);

/* A fiber runs @fn(@arg) on its own stack; it starts from the loop. */
int fiber_spawn(void (*fn)(void *), void *arg);
struct fiber *fiber_self(void);
/* Sleep until fiber_wake(); only from a fiber. */
void fiber_sleep(void);
void fiber_wake(struct fiber *f);
/* A flag others set to interrupt the fiber's waits (0, or 1 = signal,
 * 2 = the caller is gone). */
int *fiber_intr(struct fiber *f);

/*
 * A read-write semaphore for fibers, FIFO like the kernel's rwsem (a
 * waiting writer holds back later readers).  Waits cannot be interrupted,
 * as inode_lock's cannot: holders always let go.  Only from a fiber.
 */
struct fiber_rwsem {
	int count;			/* readers holding, or -1: a writer */
	struct list_head waiters;
};

void fiber_rwsem_init(struct fiber_rwsem *s);
void fiber_down_read(struct fiber_rwsem *s);
void fiber_down_write(struct fiber_rwsem *s);
void fiber_up_read(struct fiber_rwsem *s);
void fiber_up_write(struct fiber_rwsem *s);

/* ---- caller credentials --------------------------------------------- */

struct emu_cred {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int ngroups;
	gid_t groups[32];
};

/* ---- device opens (devops.c) ---------------------------------------- */

struct vfile;
struct vmount;

struct emu_dev {
	struct fdk_dev fdk;
	uint64_t key;
	int kind;			/* FUSEDEV_KIND_* */
	struct vfile *file;		/* KIND_CLIENT */
	struct list_head readers;	/* blocked reads */
	struct fuse_pollhandle *ph;
	struct emu_cred opener;
	int flags;			/* open flags */
	struct emu_dev *hnext;		/* key hash */
	uint64_t ino;			/* fusefile: its inode */
	struct emu_dev *inext;		/* fusefile: inode hash */
	bool released;
	bool warned;			/* a bad reply was logged */
	char *out_buf;			/* a message longer than a read chunk */
	size_t out_len, out_pos;
	char *in_buf;			/* a message written across chunks */
	size_t in_len, in_pos, in_chunk;
};

struct emu_dev *dev_find(uint64_t key);
void dev_free_all(void);
uint64_t emu_random64(void);

/* The transport-neutral device operations.  @req is the transport's
 * request; each replies to it exactly once, now or later. */
void devop_open(fuse_req_t req, struct fuse_file_info *fi);
/* devop_open that returns the new open (NULL: none was made). */
struct emu_dev *dev_open(fuse_req_t req, struct fuse_file_info *fi);
/* GETATTR of the device file inode of @dev (NULL: none), whose own
 * attributes are @st: a client's shows its file's size and times. */
void devop_getattr(fuse_req_t req, struct emu_dev *dev,
		   const struct stat *st);
void devop_read(fuse_req_t req, size_t size, off_t off,
		struct fuse_file_info *fi);
void devop_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void devop_flush(fuse_req_t req, struct fuse_file_info *fi);
void devop_release(fuse_req_t req, struct fuse_file_info *fi);
void devop_fsync(fuse_req_t req, int datasync, struct fuse_file_info *fi);
void devop_poll(fuse_req_t req, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph);
void devop_ioctl(fuse_req_t req, unsigned int cmd, void *arg,
		 struct fuse_file_info *fi, unsigned int flags,
		 const void *in_buf, size_t in_bufsz, size_t out_bufsz);
/* The daemon notified the pollers of a client's open (NOTIFY_POLL). */
void dev_poll_wakeup(struct emu_dev *dev);
/* The connection of a mount has something for its readers. */
void dev_conn_wake(struct fdk_conn *fc);
void emu_cred_from_req(fuse_req_t req, struct emu_cred *cred);

/* ---- transports (transport.c) --------------------------------------- */

struct emu_options {
	const char *transport;		/* auto, cuse, fusefile */
	const char *dir;		/* runtime directory */
	const char *devname;		/* CUSE device name */
	unsigned int devmode;		/* device node/file mode */
	uid_t devuid;			/* device node/file owner */
	gid_t devgid;
	int ready_fd;
	bool foreground;
};

extern struct emu_options emu_opts;
extern char emu_device_path[256];
extern int emu_transport;		/* FUSEDEV_TRANSPORT_* */
/* The transport's largest chunk of one read() or write() on the device,
 * and the max_write a daemon may use so that every read() buffer size
 * check sees the whole buffer (0: no cap). */
extern size_t emu_chunk_max;
extern uint32_t emu_max_write_limit;

int transport_start(const char *which);
void transport_stop(void);

/* ---- the VFS (vfs.c, file.c) ---------------------------------------- */

struct vacl;

struct vinode {
	uint64_t nodeid;
	uint64_t generation;
	uint64_t nlookup;		/* lookups the daemon counted */
	struct fuse_attr attr;
	uint64_t attr_expire;		/* loop_now_ns() deadline (i_time) */
	uint32_t inval_mask;		/* STATX_* known stale (inval_mask) */
	unsigned int refs;		/* dentries, files, walkers, children */
	struct vmount *m;
	struct vinode *hnext;
	struct vdentry *alias;		/* a dentry naming it, or NULL */
	/* The directory of its last name (d_parent): kept, with a
	 * reference, after that name is dropped; NULL for the root. */
	struct vinode *parent;
	/* i_rwsem: a directory's, shared for lookup and readdir, exclusive
	 * for changes of its entries; a file's, exclusive for changes of
	 * its attributes and data.  i_mutex: fuse's fi->mutex, around
	 * LOOKUP and READDIR when the daemon has no PARALLEL_DIROPS. */
	struct fiber_rwsem i_rwsem, i_mutex;
	bool nosec;			/* S_NOSEC: no privileges to remove */
	bool forgotten;
	bool advise_rdplus;		/* READDIRPLUS_AUTO: child looked up */
	bool init_rdplus;		/* READDIRPLUS_AUTO: from READDIRPLUS */
	uint8_t acl_cached;		/* xattr.c: acl[i] known (NULL: none) */
	unsigned int acl_seq;		/* xattr.c: counts vfs_acl_forget */
	struct vacl *acl[2];		/* xattr.c: access and default ACL */
	char *link;			/* FUSE_CACHE_SYMLINKS: the target */
};

struct vdentry {
	struct vinode *parent;
	struct vinode *inode;		/* NULL: negative entry */
	uint64_t expire;
	struct vdentry *hnext;
	size_t namelen;
	char name[];
};

struct vmount {
	uint64_t id;
	char *path;
	size_t pathlen;
	char *fstype;
	char *source;
	struct fdk_conn fc;
	uid_t user_id;
	gid_t group_id;
	uint32_t rootmode;
	unsigned long mountflags;	/* MS_* */
	bool allow_other;
	bool default_permissions;
	bool is_blk;
	bool detached;			/* no longer in the mount table */
	bool umounting;			/* the unmount fiber runs */
	/* What the daemon answered ENOSYS to (fc->no_* in Linux). */
	bool no_open, no_opendir, no_create, no_flush, no_fsync,
	     no_fsyncdir, no_setxattr, no_getxattr, no_listxattr,
	     no_removexattr, no_access, no_lseek, no_readdirplus,
	     no_fallocate, no_copy_file_range, no_tmpfile, no_rename2;
	bool no_poll, no_bmap;
	bool finished;
	bool posix_lk_sent;		/* a POSIX lock went to the daemon */
	uint32_t blksize;		/* fuseblk: the blksize option, or 0 */
	uint64_t khctr;			/* last poll kh handed out */
	unsigned int nfiles;		/* open files */
	unsigned int nreleasing;	/* closed, RELEASE not answered */
	uint64_t dev_no;		/* st_dev for clients */
	struct vinode *root;
	struct vinode **itab;		/* by nodeid */
	size_t itab_size, icount;
	struct vdentry **dtab;		/* by (parent, name) */
	size_t dtab_size, dcount;
	struct list_head lookups;	/* LOOKUPs in flight (d_in_lookup) */
	struct fiber_rwsem rename_mutex; /* s_vfs_rename_mutex */
	struct list_head entry;		/* all mounts */
};

struct vfile {
	uint64_t key;			/* FUSEDEV open key */
	struct vmount *m;
	struct vinode *inode;
	uint64_t fh;
	uint32_t open_flags;		/* FOPEN_* */
	int flags;			/* O_* */
	bool isdir;
	bool no_release;		/* opened without OPEN (no_open) */
	bool bound;			/* a device open carries it */
	unsigned int refs;		/* bound devs + pending bind */
	uint64_t pos;
	uint64_t dir_cookie;		/* readdir: next offset */
	bool dir_eof;
	void *unbound_owner;		/* port client until bound */
	char *path;
	struct vfile *hnext;
	struct emu_cred cred;		/* opener, for RELEASE */
	struct list_head rel_entry;	/* lock.c: RELEASE in flight */
	uint64_t rel_seq;		/* lock.c: 0, or its place in line */
	uint64_t lock_owner;
	uint64_t kh;			/* poll handle for the daemon */
	struct emu_dev *dev;		/* the device open bound to it */
	struct vfile *pnext;		/* polled files, by kh */
	bool polled;
};

/* vfs.c */
int vfs_init(void);
void vfs_shutdown(void);
void vfs_free_all(void);
int vfs_mount(const struct emu_cred *cred, struct emu_dev *dev,
	      const char *fstype, const char *source, const char *target,
	      const char *data, unsigned long mountflags);
int vfs_umount(const struct emu_cred *cred, const char *target, int flags);
/* A port call by path.  Output into @out (at most *outlen; set to the
 * length).  Returns 0, -errno, or FDP_EXTERNAL with a path in @out. */
int vfs_path_op(const struct emu_cred *cred, uint32_t op,
		const struct fdp_path_in *in, const char *path,
		const char *path2, const void *extra, size_t extralen,
		void *out, size_t *outlen, void *owner);
int vfs_file_op(const struct emu_cred *cred, uint32_t op,
		const struct fdp_file_in *in, const void *data,
		size_t datalen, void *out, size_t *outlen);
struct vmount *vfs_mount_of_conn(struct fdk_conn *fc);
void vfs_publish_mtab(void);

/* file.c */
struct vfile *vfile_find(uint64_t key);
void vfile_free_all(void);
void vfile_get(struct vfile *f);
void vfile_put(struct vfile *f);
/* Device-path I/O of a bound client fd, in a fiber. */
ssize_t vfile_read(const struct emu_cred *cred, struct vfile *f, void *buf,
		   size_t size, int64_t off);
ssize_t vfile_write(const struct emu_cred *cred, struct vfile *f,
		    const void *buf, size_t size, int64_t off);
int vfile_flush(const struct emu_cred *cred, struct vfile *f);
int vfile_fsync(const struct emu_cred *cred, struct vfile *f, int datasync);
/* fuse_file_poll: revents for @events; @notify: a poller waits. */
unsigned int vfile_poll(const struct emu_cred *cred, struct vfile *f,
			uint32_t events, bool notify);

/* ioctl.c */
/* The bytes @cmd moves from and to the caller's arg (to fetch them
 * before vfile_ioctl runs). */
void vfile_ioctl_size(unsigned int cmd, size_t *in, size_t *out);
/*
 * ioctl(2) on @f: the result (the daemon's, which may be negative), or
 * -errno.  @data holds vfile_ioctl_size()'s in bytes on entry, what goes
 * back to the caller on return (*@len bytes); @cap is at least a page
 * and at least those sizes.  @flags: the transport's FUSE_IOCTL_*.
 */
long vfile_ioctl(const struct emu_cred *cred, struct vfile *f,
		 unsigned int cmd, uint64_t arg, unsigned int flags,
		 void *data, size_t cap, size_t *len);
/* FDP_OPEN result not bound yet when its port client went away. */
void vfile_drop_unbound(void *owner);

/* Send @req on @m's connection as @cred and sleep until it ends.
 * Returns out_h.error. */
int vfs_request(struct vmount *m, const struct emu_cred *cred,
		struct fdk_req *req);

/* ---- the client port (port.c) --------------------------------------- */

int port_start(const char *path);
void port_stop(void);
void port_exit(void);

#endif /* CUSE_FUSEDEV_EMU_H */
