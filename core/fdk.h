/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk: the request core of the emulated kernel, with no I/O.
 *
 * Connections, device opens, requests and their queues, as Linux keeps
 * them in fs/fuse/dev.c: a request is queued on its connection's pending
 * list, copied to the daemon by a read of any of the connection's device
 * opens, kept on that open's processing list until the daemon writes the
 * reply, and ended exactly once through req->end.  Interrupts and forgets
 * have their own queues; notifications go up to the VFS through fc->ops.
 *
 * Nothing here blocks, allocates per request (except forgets and the
 * caller's own background requests), or touches a file descriptor: the
 * transports (cuse, fusefile) turn device operations into these calls and
 * the VFS submits requests and sleeps until req->end wakes it.
 */
#ifndef FUSEDEV_FDK_H
#define FUSEDEV_FDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fuse.h>

#include "list.h"

/* The protocol we speak: one place (7.41, Linux 6.12's). */
#define FDK_MAJOR		FUSE_KERNEL_VERSION
#define FDK_MINOR		41
#define FDK_MIN_MINOR		12	/* older daemons: ECONNREFUSED */
#define FDK_NAME_MAX		1024	/* notification names, as Linux */
#define FDK_PAGE_SIZE		4096
#define FDK_MAX_PAGES		32	/* 128 KiB: one transport chunk */
#define FDK_MAX_READAHEAD	(128 * 1024)
#define FDK_DEFAULT_MAX_BG	12
#define FDK_PQ_HASH_BITS	8
/* Bit 0 of an INTERRUPT's unique (Linux: FUSE_INT_REQ_BIT, not UAPI). */
#define FUSE_INT_REQ_BIT	(1ULL << 0)
#define FDK_PQ_HASH_SIZE	(1 << FDK_PQ_HASH_BITS)

/*
 * Protocol 7.38-7.41 parts that an older <linux/fuse.h> (Debian 12's says
 * 7.38 but stops before FUSE_CREATE_SUPP_GROUP) lacks: the values and
 * layouts of Linux's include/uapi/linux/fuse.h.
 */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP	(1ULL << 34)
#define FUSE_EXT_GROUPS		32
struct fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};
#endif
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH	(1ULL << 37)
#endif
#ifndef FUSE_NO_EXPORT_SUPPORT
#define FUSE_NO_EXPORT_SUPPORT	(1ULL << 38)
#endif
#ifndef FUSE_HAS_RESEND
#define FUSE_HAS_RESEND		(1ULL << 39)
#define FUSE_NOTIFY_RESEND	7
#define FUSE_UNIQUE_RESEND	(1ULL << 63)
#endif
#ifndef FUSE_ALLOW_IDMAP
#define FUSE_ALLOW_IDMAP	(1ULL << 40)
#endif

/* Request state bits, named after Linux's FR_* bits. */
enum {
	FR_ISREPLY	= 1 << 0,	/* expects a reply */
	FR_FORCE	= 1 << 1,	/* sent even after an interrupt */
	FR_BACKGROUND	= 1 << 2,	/* nobody waits; counted in bg */
	FR_PENDING	= 1 << 3,	/* on fc->pending or fc->bg_queue */
	FR_SENT		= 1 << 4,	/* read by the daemon, on processing */
	FR_FINISHED	= 1 << 5,	/* ended */
	FR_INTERRUPTED	= 1 << 6,	/* the caller was interrupted */
	FR_WAITING	= 1 << 7,	/* waits for INIT (on fc->blocked) */
	FR_BGCOUNTED	= 1 << 8,	/* counted in fc->num_background */
};

struct fdk_conn;
struct fdk_dev;

struct fdk_in_arg {
	uint32_t size;
	const void *value;
};

struct fdk_out_arg {
	uint32_t size;
	void *value;
};

struct fdk_req {
	struct list_head list;		/* pending, bg_queue, processing */
	struct list_head intr_entry;	/* fc->interrupts */
	unsigned int flags;		/* FR_* */
	struct fuse_in_header in_h;	/* in_h.len set by fdk_send */
	unsigned int in_numargs;
	struct fdk_in_arg in_args[3];
	unsigned int out_numargs;
	bool out_argvar;		/* last out arg may be shorter */
	struct fdk_out_arg out_args[2];
	struct fuse_out_header out_h;	/* error; len = payload bytes */
	struct fdk_conn *fc;
	struct fdk_dev *dev;		/* the open that read it */
	struct fuse_interrupt_in intr_in;
	/* Called once, when the request ends (out_h.error set). */
	void (*end)(struct fdk_req *req);
	void *owner;
};

struct fdk_forget {
	struct fdk_forget *next;
	struct fuse_forget_one one;
};

/* Upcalls from the core to whoever owns the connection (the VFS). */
struct fdk_conn_ops {
	/* Something became readable, or the connection went away: wake
	 * blocked readers and pollers.  Must not call back into fdk. */
	void (*wake)(struct fdk_conn *fc);
	/* The INIT reply was processed (or the connection failed). */
	void (*initialized)(struct fdk_conn *fc);
	/* A notification of known code and checked size; -errno to the
	 * daemon's write. */
	int (*notify)(struct fdk_conn *fc, int code, const void *arg,
		      size_t size);
	/* A POLL wakeup for kh. */
	void (*poll_wakeup)(struct fdk_conn *fc, uint64_t kh);
};

struct fdk_conn {
	const struct fdk_conn_ops *ops;
	void *priv;

	uint64_t reqctr;		/* last unique handed out */
	struct list_head pending;	/* queued, not yet read */
	struct list_head interrupts;	/* interrupts to read */
	struct fdk_forget *forget_head;	/* forgets to read, FIFO */
	struct fdk_forget **forget_tail;
	unsigned int forget_count;
	int forget_batch;		/* Linux's 16:8 forget/request ratio */
	struct list_head blocked;	/* waiting for INIT */
	struct list_head bg_queue;	/* background beyond max_background */
	unsigned int num_background;
	struct list_head devs;		/* attached device opens */
	unsigned int dev_count;

	bool connected;			/* false after abort */
	bool aborted;			/* abort requested as an abort */
	bool initialized;		/* INIT reply processed */
	bool conn_error;		/* INIT failed: ECONNREFUSED */
	bool no_interrupt;		/* daemon answered INTERRUPT with ENOSYS */
	/* The mount option, set by the owner before INIT; an accepted
	 * FUSE_POSIX_ACL turns it on, FUSE_ALLOW_IDMAP requires it. */
	bool default_permissions;

	/* Negotiated at INIT. */
	uint32_t minor;
	uint64_t flags;			/* FUSE_* capability bits accepted */
	uint32_t max_write;
	uint32_t max_write_limit;	/* the owner's cap, or 0 */
	uint32_t max_read;		/* mount option max_read, or ~0 */
	uint32_t max_readahead;
	uint32_t max_pages;
	uint32_t time_gran;
	uint32_t max_background;
	uint32_t congestion_threshold;

	struct fuse_init_in init_in;
	struct fuse_init_out init_out;
	struct fdk_req init_req;

	bool wake_queued;		/* for the owner's wake() */

	/* Scratch for BATCH_FORGET bodies, grown on demand. */
	void *scratch;
	size_t scratch_size;
};

struct fdk_dev {
	struct fdk_conn *fc;		/* NULL: not attached */
	struct list_head entry;		/* fc->devs */
	struct list_head processing[FDK_PQ_HASH_SIZE];
	unsigned int nprocessing;
	bool connected;
};

/* What one device read hands to the transport: iovecs that point into
 * the request or the connection's scratch, valid until the next fdk
 * call on this connection. */
struct fdk_readbuf {
	struct iovec iov[5];
	int niov;
	struct fuse_in_header h;	/* interrupt and forget headers */
	union {
		struct fuse_interrupt_in intr;
		struct fuse_forget_in forget;
		struct fuse_batch_forget_in batch;
	} arg;
};

/* Connection lifetime. */
void fdk_conn_init(struct fdk_conn *fc, const struct fdk_conn_ops *ops,
		   void *priv);
void fdk_conn_destroy(struct fdk_conn *fc);
/* Queue FUSE_INIT (the first request); @flags are the capabilities the
 * emulator offers. */
void fdk_send_init(struct fdk_conn *fc, uint64_t flags);
void fdk_abort_conn(struct fdk_conn *fc);
/* Minimum read() size for this connection (fuse_dev_do_read). */
size_t fdk_min_read_size(const struct fdk_conn *fc);

/* Device opens. */
void fdk_dev_init(struct fdk_dev *dev);
int fdk_dev_attach(struct fdk_dev *dev, struct fdk_conn *fc);
int fdk_dev_clone(struct fdk_dev *dev, struct fdk_dev *old);
void fdk_dev_release(struct fdk_dev *dev);
/*
 * read(): > 0 bytes described by @rb, or -EPERM (not attached), -EINVAL
 * (buffer too small), -EAGAIN (nothing queued: the transport blocks or
 * returns it), -ENODEV / -ECONNABORTED (connection gone).
 */
ssize_t fdk_dev_read(struct fdk_dev *dev, size_t size,
		     struct fdk_readbuf *rb);
/* write(): @len or -errno, as fuse_dev_do_write. */
ssize_t fdk_dev_write(struct fdk_dev *dev, const void *buf, size_t len);
/* The request @unique on @dev's processing list, for diagnostics. */
const struct fdk_req *fdk_dev_find(struct fdk_dev *dev, uint64_t unique);
/* poll(): the revents mask. */
unsigned int fdk_dev_poll(const struct fdk_dev *dev);
bool fdk_request_pending(const struct fdk_conn *fc);

/* Requests.  @req is the caller's (often on its stack) until req->end. */
void fdk_send(struct fdk_conn *fc, struct fdk_req *req);
/* A signal reached the caller; @fatal: it is going away. */
void fdk_interrupt(struct fdk_req *req, bool fatal);
void fdk_queue_forget(struct fdk_conn *fc, uint64_t nodeid,
		      uint64_t nlookup);
/* A noreply request with a given unique (NOTIFY_REPLY): no reply. */

/* Opcode table. */
const char *fdk_opname(uint32_t opcode);

/* errno for a new request on @fc, 0 if it may be queued. */
int fdk_conn_error(const struct fdk_conn *fc);

#endif /* FUSEDEV_FDK_H */
