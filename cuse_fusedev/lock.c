/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File locks of client files: fcntl POSIX and OFD locks, flock(2) locks.
 *
 * Where they live, as in Linux:
 *  - a mount whose daemon answered INIT without FUSE_POSIX_LOCKS keeps
 *    POSIX and OFD locks here (fs/locks.c's per-inode list); without
 *    FUSE_FLOCK_LOCKS (or, before protocol 7.17, FUSE_POSIX_LOCKS) flock
 *    locks too.  Directories always lock here (fuse_dir_operations has no
 *    lock operations).
 *  - otherwise the request goes to the daemon: FUSE_GETLK, FUSE_SETLK,
 *    FUSE_SETLKW with fuse_lk_in (fs/fuse/file.c fuse_lk_fill), flock as
 *    a whole-file lock with FUSE_LK_FLOCK; such a file's RELEASE then
 *    carries FUSE_RELEASE_FLOCK_UNLOCK (file.c).
 *
 * Owners: a POSIX lock's is the caller's process, its thread group id
 * (Linux: the files_struct; threads share it, a fork child does not);
 * an OFD or flock lock's is the open file (struct vfile: every dup,
 * fork copy and SCM_RIGHTS copy of an fd shares it).  The ids sent to a
 * daemon are those values scrambled with a per-run secret, like
 * fuse_lock_owner_id().
 *
 * Release: a process's POSIX locks on an inode go when it closes any fd
 * of the inode.  On the fusefile transport every close(2) of an emulated
 * fd reaches the emulator as FLUSH with the closing thread's id
 * (devops.c calls lock_flush), exits included.  CUSE sends no FLUSH:
 * there the shim's close() sends a POSIX unlock of the whole file first
 * (shim_lock_close), the POSIX locks set through an open file go when
 * that open file is released, and a conflicting POSIX lock whose process
 * is gone (an exit, dup2 over the fd, exec's close-on-exec) is dropped
 * when found.  OFD and flock locks go with the last reference to
 * the open file (lock_file_gone), on both transports.
 *
 * Waiting: F_SETLKW and blocking flock sleep in the request's fiber on
 * the inode's waiter list and retry after every change of its locks; an
 * FDP_OP_INTERRUPT (a signal in the caller) or the caller's death ends
 * the wait with -EINTR.  POSIX waits check for deadlocks the way
 * posix_locks_deadlock() does (owner waits for owner, a bounded chain).
 *
 * Order against closes: Linux drops a file's OFD and flock locks in
 * __fput, before the last close(2) returns.  Here they go when the
 * device file's RELEASE is processed, which the kernel queues in the
 * background during that close() and which may still sit in the
 * transport's queue when the client's next lock request arrives on the
 * port.  So a request processes everything the transport already queued
 * (transport_sync) before it reports a conflict (EAGAIN, F_GETLK's
 * answer, EDEADLK), before it starts to wait, and before it forwards to
 * the daemon; the check is then made again.  Locks the daemon holds
 * for a file go with its RELEASE (flock: FUSE_RELEASE_FLOCK_UNLOCK;
 * OFD: a daemon drops what was taken through the fh), which Linux sends
 * in the background too, with no unlock request before it (6.18: FLUSH,
 * then RELEASE).  A multi-threaded daemon may run that RELEASE after a
 * lock request sent just behind it, so forwarded lock requests on the
 * inode wait until the RELEASEs of its files are answered
 * (lk_forward_ready): the daemon has then dropped the released file's
 * locks before it sees the request, as a close(2) that returned implies.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "lock.h"
#include "vfs_i.h"

#define LK_OFFSET_MAX	INT64_MAX
#define LK_DEADLK_MAX	10		/* MAX_DEADLK_ITERATIONS */
#define LK_HASH		256

#define lk_for_each(pos, head) \
	for (pos = (head)->next; pos != (head); pos = pos->next)

enum { LK_POSIX = FDP_LK_POSIX, LK_OFD = FDP_LK_OFD, LK_FLOCK = FDP_LK_FLOCK };

struct lk {
	struct list_head entry;		/* lk_inode.locks */
	int kind;			/* LK_* */
	int type;			/* F_RDLCK, F_WRLCK */
	uint64_t owner;			/* POSIX: tgid; else the vfile */
	struct vfile *file;		/* set through (release on CUSE) */
	pid_t pid;			/* setter's tgid, for F_GETLK */
	int64_t start, end;		/* inclusive; end LK_OFFSET_MAX: EOF */
};

struct lk_waiter {
	struct list_head entry;		/* lk_inode.waiters */
	struct list_head gentry;	/* posix_waiters (POSIX kind only) */
	struct fiber *fiber;
	int kind;
	uint64_t owner;
	int blocker_kind;		/* the lock it waits for: its owner */
	uint64_t blocker_owner;
};

struct lk_inode {
	struct lk_inode *hnext;
	struct vinode *inode;
	struct list_head locks;
	struct list_head waiters;
	struct list_head releasing;	/* files whose RELEASE is unanswered */
	uint64_t rel_seq;		/* RELEASEs counted so far */
};

static struct lk_inode *lk_hash[LK_HASH];
static struct list_head posix_waiters = LIST_HEAD_INIT(posix_waiters);
static uint64_t lk_secret;

/* ---- owners --------------------------------------------------------- */

static uint64_t lk_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t owner_id(uint64_t v, uint64_t tag)
{
	if (!lk_secret)
		lk_secret = emu_random64();
	return lk_mix(v ^ tag ^ lk_secret);
}

static uint64_t posix_owner_id(pid_t tgid)
{
	return owner_id((uint32_t)tgid, 0x706f736978ull);
}

static uint64_t file_owner_id(const struct vfile *f)
{
	return owner_id(f->key, 0x66696c65ull << 32);
}

/* FUSE requests carry a thread's id; POSIX owners are processes. */
static pid_t tgid_of(pid_t pid)
{
	char path[64], line[128];
	pid_t tgid = pid;
	FILE *fp;

	if (pid <= 0)
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return pid;
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = atoi(line + 5);
			break;
		}
	}
	fclose(fp);
	return tgid > 0 ? tgid : pid;
}

/* ---- the per-inode table -------------------------------------------- */

static struct lk_inode **lk_slot(const struct vinode *in)
{
	return &lk_hash[((uintptr_t)in >> 4) % LK_HASH];
}

static struct lk_inode *lk_inode_find(const struct vinode *in)
{
	struct lk_inode *li;

	for (li = *lk_slot(in); li; li = li->hnext)
		if (li->inode == in)
			return li;
	return NULL;
}

static struct lk_inode *lk_inode_get(struct vinode *in)
{
	struct lk_inode *li = lk_inode_find(in), **slot;

	if (li)
		return li;
	li = calloc(1, sizeof(*li));
	if (!li)
		return NULL;
	slot = lk_slot(in);
	li->inode = in;
	list_init(&li->locks);
	list_init(&li->waiters);
	list_init(&li->releasing);
	li->hnext = *slot;
	*slot = li;
	return li;
}

/* Nothing refers to an entry without locks, waiters or RELEASEs in
 * flight: free it.  A fiber that ran transport_sync, or slept off the
 * waiter list, must look its entry up again. */
static void lk_inode_maybe_free(struct lk_inode *li)
{
	struct lk_inode **pp;

	if (!li || !list_empty(&li->locks) || !list_empty(&li->waiters) ||
	    !list_empty(&li->releasing))
		return;
	for (pp = lk_slot(li->inode); *pp; pp = &(*pp)->hnext) {
		if (*pp == li) {
			*pp = li->hnext;
			break;
		}
	}
	free(li);
}

static void lk_wake_all(struct lk_inode *li)
{
	struct list_head *pos;

	lk_for_each(pos, &li->waiters)
		fiber_wake(list_entry(pos, struct lk_waiter, entry)->fiber);
}

static void lk_del(struct lk *l)
{
	list_del_init(&l->entry);
	free(l);
}

static bool lk_overlap(const struct lk *l, int64_t start, int64_t end)
{
	return l->start <= end && start <= l->end;
}

/* Overlapping or adjacent: one owner's same-type locks merge. */
static bool lk_touch(const struct lk *l, int64_t start, int64_t end)
{
	return (end == LK_OFFSET_MAX || l->start <= end + 1) &&
	       (l->end == LK_OFFSET_MAX || start <= l->end + 1);
}

static bool proc_gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/*
 * The first lock of another owner that keeps @type on [@start, @end]
 * from being granted (posix_locks_conflict, flock_locks_conflict).
 * POSIX and OFD locks share a space; flock locks have their own.
 */
static struct lk *lk_conflict(struct lk_inode *li, int kind, uint64_t owner,
			      int type, int64_t start, int64_t end)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &li->locks) {
		struct lk *l = list_entry(pos, struct lk, entry);

		if ((l->kind == LK_FLOCK) != (kind == LK_FLOCK))
			continue;
		if (l->kind == kind && l->owner == owner)
			continue;
		if (!lk_overlap(l, start, end))
			continue;
		if (l->type != F_WRLCK && type != F_WRLCK)
			continue;
		if (l->kind == LK_POSIX &&
		    emu_transport == FUSEDEV_TRANSPORT_CUSE &&
		    proc_gone(l->pid)) {
			/* No FLUSH on CUSE: a dead owner's lock. */
			lk_del(l);
			lk_wake_all(li);
			continue;
		}
		return l;
	}
	return NULL;
}

/* posix_locks_deadlock: does @blocker's owner (transitively) wait for
 * a lock of @owner? */
static bool lk_deadlock(uint64_t owner, const struct lk *blocker)
{
	int kind = blocker->kind, i = 0;
	uint64_t who = blocker->owner;

	while (kind == LK_POSIX) {
		struct lk_waiter *w = NULL;
		struct list_head *pos;

		lk_for_each(pos, &posix_waiters) {
			struct lk_waiter *c = list_entry(pos, struct lk_waiter,
							 gentry);

			if (c->owner == who) {
				w = c;
				break;
			}
		}
		if (!w || i++ > LK_DEADLK_MAX)
			return false;
		kind = w->blocker_kind;
		who = w->blocker_owner;
		if (kind == LK_POSIX && who == owner)
			return true;
	}
	return false;
}

/* Sleep until the inode's locks change (or, with no @blocker, until a
 * RELEASE of one of its files is answered): 0, or -EINTR when the
 * caller was signalled or is gone.  @li stays valid during the wait. */
static int lk_wait(struct lk_inode *li, int kind, uint64_t owner,
		   const struct lk *blocker)
{
	struct lk_waiter w = {
		.fiber = fiber_self(),
		.kind = kind,
		.owner = owner,
		.blocker_kind = blocker ? blocker->kind : -1,
		.blocker_owner = blocker ? blocker->owner : 0,
	};
	int *intr = fiber_intr(w.fiber);

	if (*intr)
		return -EINTR;
	list_add_tail(&w.entry, &li->waiters);
	list_init(&w.gentry);
	if (kind == LK_POSIX && blocker)
		list_add_tail(&w.gentry, &posix_waiters);
	fiber_sleep();
	list_del_init(&w.entry);
	list_del_init(&w.gentry);
	return *intr ? -EINTR : 0;
}

/*
 * Give @owner the lock (or the unlock) @type on [@start, @end]: its
 * locks of the same type that touch the range merge into the new one,
 * those of the other type are cut back or split (posix_lock_inode).
 * No conflict check here.
 */
static int lk_posix_apply(struct lk_inode *li, int kind, uint64_t owner,
			  pid_t pid, struct vfile *f, int type,
			  int64_t start, int64_t end)
{
	struct lk *n = calloc(1, sizeof(*n)), *split = calloc(1, sizeof(*n));
	int64_t nstart = start, nend = end;
	struct list_head *pos, *tmp;

	if (!n || !split) {
		free(n);
		free(split);
		return -ENOLCK;
	}
	list_for_each_safe(pos, tmp, &li->locks) {
		struct lk *l = list_entry(pos, struct lk, entry);

		if (l->kind != kind || l->owner != owner)
			continue;
		if (type != F_UNLCK && l->type == type) {
			if (!lk_touch(l, start, end))
				continue;
			if (l->start < nstart)
				nstart = l->start;
			if (l->end > nend)
				nend = l->end;
			lk_del(l);
			continue;
		}
		if (!lk_overlap(l, start, end))
			continue;
		if (l->start < start && l->end > end) {
			*split = *l;
			split->start = end + 1;
			list_add(&split->entry, &l->entry);
			split = NULL;
			l->end = start - 1;
		} else if (l->start < start) {
			l->end = start - 1;
		} else if (l->end > end) {
			l->start = end + 1;
		} else {
			lk_del(l);
		}
	}
	if (type != F_UNLCK) {
		n->kind = kind;
		n->type = type;
		n->owner = owner;
		n->file = f;
		n->pid = pid;
		n->start = nstart;
		n->end = nend;
		list_add_tail(&n->entry, &li->locks);
		n = NULL;
	}
	free(n);
	free(split);
	lk_wake_all(li);
	return 0;
}

/* ---- requests -------------------------------------------------------- */

struct lk_req {
	struct vfile *f;
	int kind;			/* LK_* */
	bool wait;
	int type;
	int64_t start, end;
	uint64_t owner;			/* local owner */
	uint64_t fuse_owner;		/* what the daemon sees */
	pid_t pid;			/* caller's tgid */
};

static bool fwd_posix(const struct vfile *f)
{
	return !f->isdir && (f->m->fc.flags & FUSE_POSIX_LOCKS);
}

static bool fwd_flock(const struct vfile *f)
{
	if (f->isdir)
		return false;
	if (f->m->fc.minor < 17)
		return fwd_posix(f);
	return f->m->fc.flags & FUSE_FLOCK_LOCKS;
}

/* flock_to_posix_lock: l_whence, l_start, l_len to [start, end]. */
static int lk_range(const struct emu_cred *cred, struct vfile *f,
		    const struct fdp_lock_in *in, struct lk_req *rq)
{
	int64_t base, start;

	switch (in->whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->isdir ? (int64_t)f->dir_cookie : (int64_t)f->pos;
		break;
	case SEEK_END:
		/* flock_to_posix_lock: the cached size, as it is */
		base = f->inode->attr.size;
		break;
	default:
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, in->start, &start) || start < 0)
		return -EINVAL;
	if (in->len > 0) {
		if (in->len - 1 > LK_OFFSET_MAX - start)
			return -EOVERFLOW;
		rq->end = start + in->len - 1;
	} else if (in->len < 0) {
		if (start + in->len < 0)
			return -EINVAL;
		rq->end = start - 1;
		start += in->len;
	} else {
		rq->end = LK_OFFSET_MAX;
	}
	rq->start = start;
	return 0;
}

/*
 * Before a request goes to the daemon: the transport's queue is
 * processed (a device file's RELEASE found there sends the file's
 * RELEASE), then the request waits until every RELEASE of a file of the
 * inode is answered.  0, or -EINTR.
 */
/* Is a RELEASE counted at or before @seq still unanswered? */
static bool lk_released_before(struct lk_inode *li, uint64_t seq)
{
	struct list_head *pos;

	lk_for_each(pos, &li->releasing)
		if (list_entry(pos, struct vfile, rel_entry)->rel_seq <= seq)
			return true;
	return false;
}

/*
 * Before a lock request goes to the daemon: the RELEASEs queued by now
 * (those of close() calls that returned) answered first, later ones not
 * waited for, so a stream of opens and closes cannot hold it off.
 */
static int lk_forward_ready(const struct lk_req *rq)
{
	struct lk_inode *li;
	uint64_t seq;
	int r = 0;

	transport_sync();
	li = lk_inode_find(rq->f->inode);
	if (!li)
		return 0;
	seq = li->rel_seq;
	for (;;) {
		li = lk_inode_find(rq->f->inode);
		if (!li || !lk_released_before(li, seq))
			break;
		r = lk_wait(li, rq->kind, rq->owner, NULL);
		if (r < 0)
			break;
	}
	lk_inode_maybe_free(li);
	return r;
}

static int lk_forward(const struct emu_cred *cred, const struct lk_req *rq,
		      uint32_t opcode, uint32_t pid, struct fuse_lk_out *out)
{
	struct fuse_lk_in arg = { 0 };
	struct fdk_req req;
	int r;

	if (rq->kind == LK_POSIX)
		rq->f->m->posix_lk_sent = true;
	if (rq->type != F_UNLCK) {
		r = lk_forward_ready(rq);
		if (r < 0)
			return r;
	}

	arg.fh = rq->f->fh;
	arg.owner = rq->fuse_owner;
	arg.lk.start = rq->start;
	arg.lk.end = rq->end;
	arg.lk.type = rq->type;
	arg.lk.pid = pid;
	if (rq->kind == LK_FLOCK)
		arg.lk_flags = FUSE_LK_FLOCK;
	vfs_req_init(&req, opcode, rq->f->inode->nodeid);
	vfs_in(&req, &arg, sizeof(arg));
	if (out)
		vfs_out(&req, out, sizeof(*out));
	return vfs_request(rq->f->m, cred, &req);
}

/*
 * A conflict is only reported after the RELEASEs already queued on the
 * transport (those of close() calls that returned) are handled: that
 * may free the entry, so it is looked up again.
 */
static struct lk_inode *lk_resync(const struct lk_req *rq)
{
	transport_sync();
	return lk_inode_get(rq->f->inode);
}

static int lk_getlk(const struct emu_cred *cred, struct lk_req *rq,
		    struct fdp_lock_out *out)
{
	struct lk_inode *li;
	struct lk *l = NULL;
	struct list_head *pos;
	bool synced = false;

	memset(out, 0, sizeof(*out));
	out->type = F_UNLCK;
	if (fwd_posix(rq->f)) {
		struct fuse_lk_out lo = { 0 };
		int r = lk_forward(cred, rq, FUSE_GETLK, 0, &lo);

		if (r < 0)
			return r;
		/* convert_fuse_file_lock */
		switch (lo.lk.type) {
		case F_UNLCK:
			return 0;
		case F_RDLCK:
		case F_WRLCK:
			if (lo.lk.start > LK_OFFSET_MAX ||
			    lo.lk.end > LK_OFFSET_MAX ||
			    lo.lk.end < lo.lk.start)
				return -EIO;
			break;
		default:
			return -EIO;
		}
		out->type = lo.lk.type;
		out->start = lo.lk.start;
		out->len = lo.lk.end == LK_OFFSET_MAX ? 0 :
			   (int64_t)(lo.lk.end - lo.lk.start + 1);
		if (rq->kind == LK_OFD)
			out->pid = -1;
		else if ((int32_t)lo.lk.pid <= 0 || proc_gone(lo.lk.pid))
			out->pid = 0;	/* not a pid of ours */
		else
			out->pid = lo.lk.pid;
		return 0;
	}
again:
	li = lk_inode_find(rq->f->inode);
	if (!li)
		return 0;
	if (rq->type == F_UNLCK) {
		/* F_OFD_GETLK with F_UNLCK: this open file's own lock. */
		lk_for_each(pos, &li->locks) {
			struct lk *c = list_entry(pos, struct lk, entry);

			if (c->kind == rq->kind && c->owner == rq->owner &&
			    lk_overlap(c, rq->start, rq->end)) {
				l = c;
				break;
			}
		}
	} else {
		l = lk_conflict(li, rq->kind, rq->owner, rq->type, rq->start,
				rq->end);
		if (l && !synced) {
			synced = true;
			transport_sync();
			goto again;
		}
	}
	if (l) {
		out->type = l->type;
		out->start = l->start;
		out->len = l->end == LK_OFFSET_MAX ? 0 :
			   l->end - l->start + 1;
		out->pid = l->kind == LK_OFD ? -1 : l->pid;
	}
	lk_inode_maybe_free(li);
	return 0;
}

static int lk_setlk(const struct emu_cred *cred, struct lk_req *rq)
{
	struct lk_inode *li;
	bool synced = false;
	int r;

	if (fwd_posix(rq->f))
		return lk_forward(cred, rq, rq->wait ? FUSE_SETLKW :
				  FUSE_SETLK,
				  rq->type != F_UNLCK ? rq->pid : 0, NULL);
	li = rq->type == F_UNLCK ? lk_inode_find(rq->f->inode) :
				   lk_inode_get(rq->f->inode);
	if (!li)
		return rq->type == F_UNLCK ? 0 : -ENOLCK;
	for (;;) {
		struct lk *c = NULL;

		if (rq->type != F_UNLCK)
			c = lk_conflict(li, rq->kind, rq->owner, rq->type,
					rq->start, rq->end);
		if (!c) {
			r = lk_posix_apply(li, rq->kind, rq->owner, rq->pid,
					   rq->f, rq->type, rq->start,
					   rq->end);
			break;
		}
		if (!synced) {
			synced = true;
			li = lk_resync(rq);
			if (!li)
				return -ENOLCK;
			continue;
		}
		r = -EAGAIN;
		if (!rq->wait)
			break;
		r = -EDEADLK;
		if (rq->kind == LK_POSIX && lk_deadlock(rq->owner, c))
			break;
		r = lk_wait(li, rq->kind, rq->owner, c);
		if (r < 0)
			break;
	}
	lk_inode_maybe_free(li);
	return r;
}

/* flock_lock_inode: a conversion drops the old lock first. */
static int lk_flock(const struct emu_cred *cred, struct lk_req *rq)
{
	struct lk_inode *li;
	bool synced = false;
	int r = 0;

	rq->start = 0;
	rq->end = LK_OFFSET_MAX;
	if (fwd_flock(rq->f)) {
		rq->f->lock_owner = rq->fuse_owner;
		return lk_forward(cred, rq, rq->wait ? FUSE_SETLKW :
				  FUSE_SETLK,
				  rq->type != F_UNLCK ? rq->pid : 0, NULL);
	}
	li = rq->type == F_UNLCK ? lk_inode_find(rq->f->inode) :
				   lk_inode_get(rq->f->inode);
	if (!li)
		return rq->type == F_UNLCK ? 0 : -ENOLCK;
	for (;;) {
		struct list_head *pos;
		struct lk *c, *n;

		lk_for_each(pos, &li->locks) {
			c = list_entry(pos, struct lk, entry);
			if (c->kind == LK_FLOCK && c->owner == rq->owner)
				break;
		}
		if (pos != &li->locks) {
			if (c->type == rq->type)
				break;
			lk_del(c);
			lk_wake_all(li);
		}
		if (rq->type == F_UNLCK)
			break;
		c = lk_conflict(li, LK_FLOCK, rq->owner, rq->type, 0,
				LK_OFFSET_MAX);
		if (!c) {
			n = calloc(1, sizeof(*n));
			if (!n) {
				r = -ENOLCK;
				break;
			}
			n->kind = LK_FLOCK;
			n->type = rq->type;
			n->owner = rq->owner;
			n->file = rq->f;
			n->pid = rq->pid;
			n->start = 0;
			n->end = LK_OFFSET_MAX;
			list_add_tail(&n->entry, &li->locks);
			break;
		}
		if (!synced) {
			synced = true;
			li = lk_resync(rq);
			if (!li)
				return -ENOLCK;
			continue;
		}
		r = -EAGAIN;	/* EWOULDBLOCK */
		if (!rq->wait)
			break;
		r = lk_wait(li, LK_FLOCK, rq->owner, c);
		if (r < 0)
			break;
	}
	lk_inode_maybe_free(li);
	return r;
}

int lock_port_op(const struct emu_cred *cred, uint32_t op, const void *in,
		 size_t inlen, void *out, size_t *outlen)
{
	struct fdp_lock_in a;
	struct lk_req rq = { 0 };
	size_t cap = *outlen;
	struct vfile *f;
	int acc, r;

	*outlen = 0;
	if (inlen < sizeof(a))
		return -EINVAL;
	memcpy(&a, in, sizeof(a));
	f = vfile_find(a.open_key);
	if (!f || (f->flags & O_PATH))
		return -EBADF;	/* fcntl and flock refuse O_PATH fds */
	rq.f = f;
	rq.kind = a.kind & FDP_LK_KIND;
	rq.wait = a.kind & FDP_LK_WAIT;
	rq.type = a.type;
	rq.pid = cred->pid;
	if (rq.kind > LK_FLOCK || (op == FDP_OP_GETLK && rq.kind == LK_FLOCK))
		return -EINVAL;
	if (rq.type != F_RDLCK && rq.type != F_WRLCK && rq.type != F_UNLCK)
		return -EINVAL;
	if (rq.kind == LK_POSIX) {
		rq.owner = (uint32_t)cred->pid;
		rq.fuse_owner = posix_owner_id(cred->pid);
	} else {
		rq.owner = (uintptr_t)f;
		rq.fuse_owner = file_owner_id(f);
	}
	vfile_get(f);
	if (rq.kind == LK_FLOCK) {
		r = lk_flock(cred, &rq);
		goto out;
	}
	/* fcntl_getlk / fcntl_setlk, in their order of checks */
	r = -EINVAL;
	if (op == FDP_OP_GETLK && rq.type == F_UNLCK && rq.kind != LK_OFD)
		goto out;
	r = lk_range(cred, f, &a, &rq);
	if (r < 0)
		goto out;
	acc = f->flags & O_ACCMODE;
	r = -EBADF;
	if (op == FDP_OP_SETLK &&
	    ((rq.type == F_RDLCK && acc == O_WRONLY) ||
	     (rq.type == F_WRLCK && acc == O_RDONLY)))
		goto out;
	r = -EINVAL;
	if (rq.kind == LK_OFD && a.pid != 0)
		goto out;
	if (op == FDP_OP_GETLK) {
		r = -EINVAL;
		if (cap < sizeof(struct fdp_lock_out))
			goto out;
		r = lk_getlk(cred, &rq, out);
		if (!r)
			*outlen = sizeof(struct fdp_lock_out);
	} else {
		r = lk_setlk(cred, &rq);
	}
out:
	vfile_put(f);
	return r;
}

/* ---- release ---------------------------------------------------------- */

static bool lk_has_posix(struct lk_inode *li, pid_t tgid)
{
	struct list_head *pos;

	lk_for_each(pos, &li->locks) {
		struct lk *l = list_entry(pos, struct lk, entry);

		if (l->kind == LK_POSIX && l->owner == (uint32_t)tgid)
			return true;
	}
	return false;
}

void lock_flush(struct vfile *f, pid_t pid)
{
	struct lk_inode *li = lk_inode_find(f->inode);
	struct list_head *pos, *tmp;
	pid_t tgid;

	if (!li)
		return;
	if (!lk_has_posix(li, pid)) {
		tgid = tgid_of(pid);
		if (tgid == pid || !lk_has_posix(li, tgid))
			return;
		pid = tgid;
	}
	list_for_each_safe(pos, tmp, &li->locks) {
		struct lk *l = list_entry(pos, struct lk, entry);

		if (l->kind == LK_POSIX && l->owner == (uint32_t)pid)
			lk_del(l);
	}
	lk_wake_all(li);
	lk_inode_maybe_free(li);
}

uint64_t lock_flush_owner(struct vfile *f, pid_t pid)
{
	/*
	 * Only a daemon that was sent POSIX locks needs the exact owner
	 * (the process, from /proc): until then a close costs no file read.
	 */
	return posix_owner_id(fwd_posix(f) && f->m->posix_lk_sent ?
			      tgid_of(pid) : pid);
}

/* The daemon takes (some of) @f's locks: fs/fuse/file.c's lock
 * operations would reach it. */
static bool lk_fwd_any(const struct vfile *f)
{
	return fwd_posix(f) || fwd_flock(f);
}

void lock_file_gone(struct vfile *f)
{
	struct lk_inode *li = lk_inode_find(f->inode);
	struct list_head *pos, *tmp;

	if (li) {
		list_for_each_safe(pos, tmp, &li->locks) {
			struct lk *l = list_entry(pos, struct lk, entry);

			if (l->file == f || (l->kind != LK_POSIX &&
					     l->owner == (uintptr_t)f))
				lk_del(l);
		}
		lk_wake_all(li);
		lk_inode_maybe_free(li);
	}
	if (!lk_fwd_any(f))
		return;
	li = lk_inode_get(f->inode);
	if (li) {		/* else unordered */
		f->rel_seq = ++li->rel_seq;
		list_add_tail(&f->rel_entry, &li->releasing);
	}
}

void lock_file_released(struct vfile *f)
{
	struct lk_inode *li;

	if (!f->rel_seq)
		return;
	f->rel_seq = 0;
	list_del_init(&f->rel_entry);
	li = lk_inode_find(f->inode);
	if (!li)
		return;
	lk_wake_all(li);
	lk_inode_maybe_free(li);
}

void lock_free_all(void)
{
	size_t k;

	for (k = 0; k < LK_HASH; k++) {
		while (lk_hash[k]) {
			struct lk_inode *li = lk_hash[k];

			lk_hash[k] = li->hnext;
			while (!list_empty(&li->locks))
				lk_del(list_entry(li->locks.next, struct lk,
						  entry));
			free(li);
		}
	}
}
