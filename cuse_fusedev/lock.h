/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File locks of client files (lock.c): POSIX (fcntl), OFD and flock locks
 * kept by the emulator when the daemon does not take them (fs/locks.c),
 * or forwarded as FUSE_GETLK/FUSE_SETLK/FUSE_SETLKW when its INIT reply
 * said FUSE_POSIX_LOCKS / FUSE_FLOCK_LOCKS (fs/fuse/file.c).
 *
 * Owners: a POSIX lock belongs to the caller's process (its thread group
 * id stands in for Linux's files_struct); OFD and flock locks belong to
 * the open file (struct vfile), shared by every fd of it.
 */
#ifndef CUSE_FUSEDEV_LOCK_H
#define CUSE_FUSEDEV_LOCK_H

#include "emu.h"

/* FDP_OP_GETLK / FDP_OP_SETLK from the port, in the request's fiber.
 * @in is the payload after the header.  Returns 0 or -errno. */
int lock_port_op(const struct emu_cred *cred, uint32_t op, const void *in,
		 size_t inlen, void *out, size_t *outlen);

/*
 * A close of an fd of @f by (thread) @pid: that process's POSIX locks on
 * the inode go, as filp_close() -> locks_remove_posix() does.  The
 * fusefile transport's FLUSH brings every close here; CUSE has no flush
 * (see lock.c).
 */
void lock_flush(struct vfile *f, pid_t pid);
/* FUSE_FLUSH's lock_owner for a close by (thread) @pid of @f. */
uint64_t lock_flush_owner(struct vfile *f, pid_t pid);
/*
 * The last reference of @f is gone (locks_remove_file): its OFD and
 * flock locks kept here go at once.  When the daemon may hold locks of
 * @f (it takes them), lock requests that would go to the daemon for the
 * inode wait from now until lock_file_released(@f).
 */
void lock_file_gone(struct vfile *f);
/* @f's RELEASE was answered (or will never be sent); before its inode
 * reference goes.  Pairs with lock_file_gone. */
void lock_file_released(struct vfile *f);
/* At exit: free the tables; nothing waits any more. */
void lock_free_all(void);

/*
 * transport.c, from a fiber: process every message the kernel has
 * already queued on the transport's session (a device file's RELEASE
 * included) before going on.
 */
void transport_sync(void);

#endif /* CUSE_FUSEDEV_LOCK_H */
