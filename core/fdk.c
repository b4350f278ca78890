/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The request core: queues, device read/write/poll/release, interrupts,
 * forgets, INIT negotiation and abort.  Behaviour follows Linux
 * fs/fuse/dev.c; each function names the Linux function it reproduces.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fdk.h"

#define FDK_MAX_ERRNO	512

static uint64_t fdk_get_unique(struct fdk_conn *fc)
{
	fc->reqctr += 2;	/* FUSE_REQ_ID_STEP: bit 0 marks interrupts */
	return fc->reqctr;
}

static unsigned int pq_hash(uint64_t unique)
{
	return (unique >> 1) & (FDK_PQ_HASH_SIZE - 1);
}

void fdk_conn_init(struct fdk_conn *fc, const struct fdk_conn_ops *ops,
		   void *priv)
{
	memset(fc, 0, sizeof(*fc));
	fc->ops = ops;
	fc->priv = priv;
	list_init(&fc->pending);
	list_init(&fc->interrupts);
	list_init(&fc->blocked);
	list_init(&fc->bg_queue);
	list_init(&fc->devs);
	fc->forget_tail = &fc->forget_head;
	fc->forget_batch = 0;	/* Linux starts with requests: 8, then 16 */
	fc->connected = true;
	fc->max_write = FDK_PAGE_SIZE;
	fc->max_read = UINT_MAX;
	fc->max_pages = 1;
	fc->max_background = FDK_DEFAULT_MAX_BG;
	fc->congestion_threshold = FDK_DEFAULT_MAX_BG * 3 / 4;
}

void fdk_conn_destroy(struct fdk_conn *fc)
{
	fdk_abort_conn(fc);
	free(fc->scratch);
	fc->scratch = NULL;
}

size_t fdk_min_read_size(const struct fdk_conn *fc)
{
	size_t need = sizeof(struct fuse_in_header) +
		      sizeof(struct fuse_write_in) + fc->max_write;

	return need > FUSE_MIN_READ_BUFFER ? need : FUSE_MIN_READ_BUFFER;
}

int fdk_conn_error(const struct fdk_conn *fc)
{
	/* fuse_get_req: ABORT_ERROR changes only what the daemon reads. */
	if (!fc->connected)
		return -ENOTCONN;
	if (fc->conn_error)
		return -ECONNREFUSED;
	return 0;
}

bool fdk_request_pending(const struct fdk_conn *fc)
{
	return !list_empty(&fc->pending) || !list_empty(&fc->interrupts) ||
	       fc->forget_head;
}

static void fdk_wake(struct fdk_conn *fc)
{
	if (fc->ops && fc->ops->wake)
		fc->ops->wake(fc);
}

/* fuse_request_end: exactly once per request. */
static void request_end(struct fdk_req *req)
{
	struct fdk_conn *fc = req->fc;

	if (req->flags & FR_FINISHED)
		return;
	req->flags |= FR_FINISHED;
	req->flags &= ~(FR_PENDING | FR_SENT | FR_WAITING);
	list_del_init(&req->list);
	list_del_init(&req->intr_entry);
	if (req->dev) {
		req->dev->nprocessing--;
		req->dev = NULL;
	}
	if (req->flags & FR_BGCOUNTED) {
		req->flags &= ~FR_BGCOUNTED;
		fc->num_background--;
		/* flush_bg_queue: admit the next background request. */
		while (!list_empty(&fc->bg_queue) &&
		       fc->num_background < fc->max_background) {
			struct fdk_req *next = list_first_entry(&fc->bg_queue,
						struct fdk_req, list);

			fc->num_background++;
			next->flags |= FR_BGCOUNTED;
			list_move_tail(&next->list, &fc->pending);
			fdk_wake(fc);
		}
	}
	if (req->end)
		req->end(req);
}

static void end_list(struct list_head *head, int error)
{
	while (!list_empty(head)) {
		struct fdk_req *req = list_first_entry(head, struct fdk_req,
						       list);

		req->out_h.error = error;
		request_end(req);
	}
}

static void queue_request(struct fdk_conn *fc, struct fdk_req *req)
{
	req->flags |= FR_PENDING;
	if (req->flags & FR_BACKGROUND) {
		if (fc->num_background >= fc->max_background) {
			list_add_tail(&req->list, &fc->bg_queue);
			return;
		}
		fc->num_background++;
		req->flags |= FR_BGCOUNTED;
	}
	list_add_tail(&req->list, &fc->pending);
	fdk_wake(fc);
}

/*
 * fuse_simple_request / fuse_simple_background: number the request and
 * queue it, or end it at once when the connection cannot take it.
 * Requests other than INIT wait on fc->blocked until INIT is processed.
 */
void fdk_send(struct fdk_conn *fc, struct fdk_req *req)
{
	unsigned int i;
	int err;

	req->fc = fc;
	req->dev = NULL;
	req->flags &= FR_ISREPLY | FR_FORCE | FR_BACKGROUND;
	list_init(&req->list);
	list_init(&req->intr_entry);
	memset(&req->out_h, 0, sizeof(req->out_h));
	req->in_h.len = sizeof(req->in_h);
	for (i = 0; i < req->in_numargs; i++)
		req->in_h.len += req->in_args[i].size;
	if (req->in_h.opcode != FUSE_NOTIFY_REPLY)
		req->in_h.unique = fdk_get_unique(fc);

	err = fdk_conn_error(fc);
	if (err && req->in_h.opcode != FUSE_INIT) {
		req->out_h.error = err;
		request_end(req);
		return;
	}
	if (!fc->initialized && req->in_h.opcode != FUSE_INIT) {
		req->flags |= FR_WAITING;
		list_add_tail(&req->list, &fc->blocked);
		return;
	}
	queue_request(fc, req);
}

/* queue_interrupt: at most once per request, after it was read. */
static void queue_interrupt(struct fdk_req *req)
{
	struct fdk_conn *fc = req->fc;

	if (!list_empty(&req->intr_entry) || (req->flags & FR_FINISHED))
		return;
	list_add_tail(&req->intr_entry, &fc->interrupts);
	fdk_wake(fc);
}

/* request_wait_answer, the part after a signal. */
void fdk_interrupt(struct fdk_req *req, bool fatal)
{
	struct fdk_conn *fc = req->fc;

	if (req->flags & FR_FINISHED)
		return;
	if (!fc->no_interrupt && !(req->flags & FR_INTERRUPTED)) {
		req->flags |= FR_INTERRUPTED;
		if (req->flags & FR_SENT)
			queue_interrupt(req);
	}
	if (!fatal || (req->flags & FR_FORCE))
		return;
	/* Not yet in userspace: bail out. */
	if (req->flags & (FR_PENDING | FR_WAITING)) {
		if ((req->flags & FR_PENDING) && (req->flags & FR_BACKGROUND))
			return;	/* background requests are not the caller's */
		req->out_h.error = -EINTR;
		request_end(req);
	}
}

void fdk_queue_forget(struct fdk_conn *fc, uint64_t nodeid,
		      uint64_t nlookup)
{
	struct fdk_forget *f;

	if (!fc->connected || !nlookup)
		return;
	f = malloc(sizeof(*f));
	if (!f)
		return;	/* the daemon keeps a reference: harmless */
	f->next = NULL;
	f->one.nodeid = nodeid;
	f->one.nlookup = nlookup;
	*fc->forget_tail = f;
	fc->forget_tail = &f->next;
	fc->forget_count++;
	fdk_wake(fc);
}

static struct fdk_forget *dequeue_forget(struct fdk_conn *fc)
{
	struct fdk_forget *f = fc->forget_head;

	fc->forget_head = f->next;
	if (!fc->forget_head)
		fc->forget_tail = &fc->forget_head;
	fc->forget_count--;
	return f;
}

/* fuse_abort_conn */
void fdk_abort_conn(struct fdk_conn *fc)
{
	struct list_head to_end;
	struct fdk_dev *dev;
	struct list_head *pos, *tmp;
	unsigned int i;

	if (!fc->connected)
		return;
	fc->connected = false;
	list_init(&to_end);
	list_for_each_safe(pos, tmp, &fc->devs) {
		dev = list_entry(pos, struct fdk_dev, entry);
		dev->connected = false;
		for (i = 0; i < FDK_PQ_HASH_SIZE; i++) {
			while (!list_empty(&dev->processing[i]))
				list_move_tail(dev->processing[i].next,
					       &to_end);
		}
	}
	while (!list_empty(&fc->bg_queue))
		list_move_tail(fc->bg_queue.next, &to_end);
	while (!list_empty(&fc->pending))
		list_move_tail(fc->pending.next, &to_end);
	while (fc->forget_head)
		free(dequeue_forget(fc));
	fdk_wake(fc);
	end_list(&to_end, -ECONNABORTED);
	/* Callers still waiting for INIT never became requests. */
	end_list(&fc->blocked, fdk_conn_error(fc));
	if (!fc->initialized) {
		fc->initialized = true;
		if (fc->ops && fc->ops->initialized)
			fc->ops->initialized(fc);
	}
}

void fdk_dev_init(struct fdk_dev *dev)
{
	unsigned int i;

	memset(dev, 0, sizeof(*dev));
	list_init(&dev->entry);
	for (i = 0; i < FDK_PQ_HASH_SIZE; i++)
		list_init(&dev->processing[i]);
}

int fdk_dev_attach(struct fdk_dev *dev, struct fdk_conn *fc)
{
	if (dev->fc)
		return -EINVAL;
	dev->fc = fc;
	dev->connected = fc->connected;
	list_add_tail(&dev->entry, &fc->devs);
	fc->dev_count++;
	return 0;
}

/* fuse_dev_ioctl_clone: @old must be attached, @dev must not be. */
int fdk_dev_clone(struct fdk_dev *dev, struct fdk_dev *old)
{
	if (!old || !old->fc || dev->fc)
		return -EINVAL;
	return fdk_dev_attach(dev, old->fc);
}

/* fuse_dev_release */
void fdk_dev_release(struct fdk_dev *dev)
{
	struct fdk_conn *fc = dev->fc;
	struct list_head to_end;
	unsigned int i;

	if (!fc)
		return;
	list_init(&to_end);
	for (i = 0; i < FDK_PQ_HASH_SIZE; i++) {
		while (!list_empty(&dev->processing[i]))
			list_move_tail(dev->processing[i].next, &to_end);
	}
	end_list(&to_end, -ECONNABORTED);
	list_del_init(&dev->entry);
	dev->fc = NULL;
	if (--fc->dev_count == 0)
		fdk_abort_conn(fc);
}

unsigned int fdk_dev_poll(const struct fdk_dev *dev)
{
	unsigned int mask = POLLOUT | POLLWRNORM;

	if (!dev->fc || !dev->fc->connected)
		return POLLERR;
	if (fdk_request_pending(dev->fc))
		mask |= POLLIN | POLLRDNORM;
	return mask;
}

static ssize_t read_interrupt(struct fdk_conn *fc, size_t size,
			      struct fdk_readbuf *rb)
{
	struct fdk_req *req = list_first_entry(&fc->interrupts,
					       struct fdk_req, intr_entry);
	size_t len = sizeof(rb->h) + sizeof(rb->arg.intr);

	if (size < len)
		return -EINVAL;
	list_del_init(&req->intr_entry);
	memset(&rb->h, 0, sizeof(rb->h));
	rb->h.len = len;
	rb->h.opcode = FUSE_INTERRUPT;
	rb->h.unique = req->in_h.unique | FUSE_INT_REQ_BIT;
	rb->arg.intr.unique = req->in_h.unique;
	rb->iov[0] = (struct iovec){ &rb->h, sizeof(rb->h) };
	rb->iov[1] = (struct iovec){ &rb->arg.intr, sizeof(rb->arg.intr) };
	rb->niov = 2;
	return len;
}

/* fuse_read_single_forget / fuse_read_batch_forget */
static ssize_t read_forget(struct fdk_conn *fc, size_t size,
			   struct fdk_readbuf *rb)
{
	struct fuse_forget_one *ones;
	size_t max, count, need;
	struct fdk_forget *f;

	memset(&rb->h, 0, sizeof(rb->h));
	rb->h.unique = fdk_get_unique(fc);
	if (fc->minor < 16 || !fc->forget_head->next) {
		f = dequeue_forget(fc);
		rb->h.opcode = FUSE_FORGET;
		rb->h.nodeid = f->one.nodeid;
		rb->h.len = sizeof(rb->h) + sizeof(rb->arg.forget);
		rb->arg.forget.nlookup = f->one.nlookup;
		free(f);
		rb->iov[0] = (struct iovec){ &rb->h, sizeof(rb->h) };
		rb->iov[1] = (struct iovec){ &rb->arg.forget,
					     sizeof(rb->arg.forget) };
		rb->niov = 2;
		return rb->h.len;
	}

	max = (size - sizeof(rb->h) - sizeof(rb->arg.batch)) /
	      sizeof(struct fuse_forget_one);
	if (max > fc->forget_count)
		max = fc->forget_count;
	need = max * sizeof(struct fuse_forget_one);
	if (need > fc->scratch_size) {
		void *p = realloc(fc->scratch, need);

		if (!p) {
			max = fc->scratch_size / sizeof(*ones);
			if (!max)
				return -ENOMEM;
		} else {
			fc->scratch = p;
			fc->scratch_size = need;
		}
	}
	ones = fc->scratch;
	for (count = 0; count < max; count++) {
		f = dequeue_forget(fc);
		ones[count] = f->one;
		free(f);
	}
	rb->h.opcode = FUSE_BATCH_FORGET;
	rb->arg.batch.count = count;
	rb->arg.batch.dummy = 0;
	rb->h.len = sizeof(rb->h) + sizeof(rb->arg.batch) +
		    count * sizeof(*ones);
	rb->iov[0] = (struct iovec){ &rb->h, sizeof(rb->h) };
	rb->iov[1] = (struct iovec){ &rb->arg.batch, sizeof(rb->arg.batch) };
	rb->iov[2] = (struct iovec){ ones, count * sizeof(*ones) };
	rb->niov = 3;
	return rb->h.len;
}

/* fuse_dev_do_read */
ssize_t fdk_dev_read(struct fdk_dev *dev, size_t size,
		     struct fdk_readbuf *rb)
{
	struct fdk_conn *fc = dev->fc;
	struct fdk_req *req;
	unsigned int i;

	if (!fc)
		return -EPERM;
	if (size < fdk_min_read_size(fc))
		return -EINVAL;
restart:
	if (!fc->connected || !dev->connected)
		return fc->aborted && (fc->flags & FUSE_ABORT_ERROR) ?
			-ECONNABORTED : -ENODEV;
	if (!fdk_request_pending(fc))
		return -EAGAIN;
	if (!list_empty(&fc->interrupts))
		return read_interrupt(fc, size, rb);
	if (fc->forget_head) {
		if (list_empty(&fc->pending) || fc->forget_batch-- > 0)
			return read_forget(fc, size, rb);
		if (fc->forget_batch <= -8)
			fc->forget_batch = 16;
	}

	req = list_first_entry(&fc->pending, struct fdk_req, list);
	req->flags &= ~FR_PENDING;
	list_del_init(&req->list);
	if (size < req->in_h.len) {
		/* Too large for the daemon's buffer: the caller gets the
		 * error and the daemon never sees the request. */
		req->out_h.error = req->in_h.opcode == FUSE_SETXATTR ?
				   -E2BIG : -EIO;
		request_end(req);
		goto restart;
	}

	rb->iov[0] = (struct iovec){ &req->in_h, sizeof(req->in_h) };
	rb->niov = 1;
	for (i = 0; i < req->in_numargs; i++) {
		if (!req->in_args[i].size)
			continue;
		rb->iov[rb->niov++] = (struct iovec){
			(void *)req->in_args[i].value, req->in_args[i].size };
	}
	if (!(req->flags & FR_ISREPLY)) {
		/* Ends once copied; the iovecs stay valid because the
		 * owner frees it only after the transport has written. */
		ssize_t len = req->in_h.len;

		request_end(req);
		return len;
	}
	list_add_tail(&req->list, &dev->processing[pq_hash(req->in_h.unique)]);
	dev->nprocessing++;
	req->dev = dev;
	req->flags |= FR_SENT;
	if (req->flags & FR_INTERRUPTED)
		queue_interrupt(req);
	return req->in_h.len;
}

static struct fdk_req *request_find(struct fdk_dev *dev, uint64_t unique)
{
	struct list_head *head = &dev->processing[pq_hash(unique)];
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, head) {
		struct fdk_req *req = list_entry(pos, struct fdk_req, list);

		if (req->in_h.unique == unique)
			return req;
	}
	return NULL;
}

const struct fdk_req *fdk_dev_find(struct fdk_dev *dev, uint64_t unique)
{
	return request_find(dev, unique & ~FUSE_INT_REQ_BIT);
}

/* copy_out_args: the reply's payload against the request's out args. */
static int copy_out_args(struct fdk_req *req, const char *p, size_t nbytes)
{
	size_t reqsize = 0;
	unsigned int i;

	for (i = 0; i < req->out_numargs; i++)
		reqsize += req->out_args[i].size;
	if (reqsize < nbytes || (reqsize > nbytes && !req->out_argvar))
		return -EINVAL;
	if (reqsize > nbytes) {
		struct fdk_out_arg *last = &req->out_args[req->out_numargs - 1];
		size_t diff = reqsize - nbytes;

		if (diff > last->size)
			return -EINVAL;
		last->size -= diff;
	}
	for (i = 0; i < req->out_numargs; i++) {
		memcpy(req->out_args[i].value, p, req->out_args[i].size);
		p += req->out_args[i].size;
	}
	req->out_h.len = nbytes;
	return 0;
}

/*
 * fuse_resend (NOTIFY_RESEND): every request the daemon has read and not
 * answered goes back to the head of the pending queue, its unique marked
 * with FUSE_UNIQUE_RESEND; a queued interrupt of one is dropped and sent
 * again after the request is read again.
 */
static void resend(struct fdk_conn *fc)
{
	struct list_head to_queue, *pos, *tmp;
	unsigned int i;

	if (!fc->connected)
		return;
	list_init(&to_queue);
	list_for_each_safe(pos, tmp, &fc->devs) {
		struct fdk_dev *dev = list_entry(pos, struct fdk_dev, entry);

		for (i = 0; i < FDK_PQ_HASH_SIZE; i++) {
			while (!list_empty(&dev->processing[i]))
				list_move_tail(dev->processing[i].next,
					       &to_queue);
		}
		dev->nprocessing = 0;
	}
	if (list_empty(&to_queue))
		return;
	list_for_each_safe(pos, tmp, &to_queue) {
		struct fdk_req *req = list_entry(pos, struct fdk_req, list);

		req->dev = NULL;
		req->flags &= ~FR_SENT;
		req->flags |= FR_PENDING;
		req->in_h.unique |= FUSE_UNIQUE_RESEND;
		list_del_init(&req->intr_entry);
	}
	/* Both queues are oldest first: the resent ones go first. */
	list_splice_init(&to_queue, &fc->pending);
	fdk_wake(fc);
}

/* fuse_notify: sizes checked here, effects in the VFS. */
static int notify(struct fdk_conn *fc, int code, const char *p, size_t size)
{
	switch (code) {
	case FUSE_NOTIFY_POLL: {
		struct fuse_notify_poll_wakeup_out out;

		if (size != sizeof(out))
			return -EINVAL;
		memcpy(&out, p, sizeof(out));
		if (fc->ops && fc->ops->poll_wakeup)
			fc->ops->poll_wakeup(fc, out.kh);
		return 0;
	}
	case FUSE_NOTIFY_INVAL_INODE:
		if (size != sizeof(struct fuse_notify_inval_inode_out))
			return -EINVAL;
		break;
	case FUSE_NOTIFY_INVAL_ENTRY: {
		struct fuse_notify_inval_entry_out out;

		if (size < sizeof(out))
			return -EINVAL;
		memcpy(&out, p, sizeof(out));
		if (out.namelen > FDK_NAME_MAX)
			return -ENAMETOOLONG;
		if (size != sizeof(out) + out.namelen + 1)
			return -EINVAL;
		break;
	}
	case FUSE_NOTIFY_DELETE: {
		struct fuse_notify_delete_out out;

		if (size < sizeof(out))
			return -EINVAL;
		memcpy(&out, p, sizeof(out));
		if (out.namelen > FDK_NAME_MAX)
			return -ENAMETOOLONG;
		if (size != sizeof(out) + out.namelen + 1)
			return -EINVAL;
		break;
	}
	case FUSE_NOTIFY_STORE: {
		struct fuse_notify_store_out out;

		if (size < sizeof(out))
			return -EINVAL;
		memcpy(&out, p, sizeof(out));
		if (size - sizeof(out) != out.size)
			return -EINVAL;
		break;
	}
	case FUSE_NOTIFY_RETRIEVE:
		if (size != sizeof(struct fuse_notify_retrieve_out))
			return -EINVAL;
		break;
	case FUSE_NOTIFY_RESEND:
		resend(fc);	/* Linux ignores the payload */
		return 0;
	default:
		return -EINVAL;
	}
	if (!fc->ops || !fc->ops->notify)
		return -ENOSYS;
	return fc->ops->notify(fc, code, p, size);
}

/* fuse_dev_do_write */
ssize_t fdk_dev_write(struct fdk_dev *dev, const void *buf, size_t nbytes)
{
	struct fdk_conn *fc = dev->fc;
	struct fuse_out_header oh;
	struct fdk_req *req;
	int err;

	if (!fc)
		return -EPERM;
	if (nbytes < sizeof(oh))
		return -EINVAL;
	memcpy(&oh, buf, sizeof(oh));
	if (oh.len != nbytes)
		return -EINVAL;
	if (!oh.unique) {
		err = notify(fc, oh.error, (const char *)buf + sizeof(oh),
			     nbytes - sizeof(oh));
		return err ? err : (ssize_t)nbytes;
	}
	if (oh.error <= -FDK_MAX_ERRNO || oh.error > 0)
		return -EINVAL;
	req = NULL;
	if (dev->connected)
		req = request_find(dev, oh.unique & ~FUSE_INT_REQ_BIT);
	if (!req)
		return -ENOENT;

	if (oh.unique & FUSE_INT_REQ_BIT) {
		if (nbytes != sizeof(oh))
			return -EINVAL;
		if (oh.error == -ENOSYS)
			fc->no_interrupt = true;
		else if (oh.error == -EAGAIN) {
			if (!(req->flags & FR_INTERRUPTED))
				return -EINVAL;
			queue_interrupt(req);
		}
		return nbytes;
	}

	req->out_h.unique = oh.unique;
	req->out_h.error = oh.error;
	if (oh.error)
		err = nbytes != sizeof(oh) ? -EINVAL : 0;
	else
		err = copy_out_args(req, (const char *)buf + sizeof(oh),
				    nbytes - sizeof(oh));
	if (err)
		req->out_h.error = -EIO;
	request_end(req);
	return err ? err : (ssize_t)nbytes;
}

/* ---- INIT ---------------------------------------------------------- */

/* process_init_reply */
static void init_end(struct fdk_req *req)
{
	struct fdk_conn *fc = req->fc;
	struct fuse_init_out *arg = &fc->init_out;
	bool ok = !req->out_h.error;
	struct list_head *pos, *tmp;

	if (ok && (arg->major != FDK_MAJOR || arg->minor < FDK_MIN_MINOR))
		ok = false;
	if (ok) {
		uint64_t flags = arg->flags;

		/* Linux reads flags2 whenever FUSE_INIT_EXT is set, whatever
		 * the minor (libfuse 3.14 sets it at 7.31). */
		if (flags & FUSE_INIT_EXT)
			flags |= (uint64_t)arg->flags2 << 32;
		fc->minor = arg->minor < FDK_MINOR ? arg->minor : FDK_MINOR;
		fc->flags = flags & (fc->init_in.flags |
				     (uint64_t)fc->init_in.flags2 << 32);
		if (fc->flags & FUSE_POSIX_ACL)
			fc->default_permissions = true;
		/* An idmapped mount needs the kernel's permission checks. */
		if ((fc->flags & FUSE_ALLOW_IDMAP) && !fc->default_permissions)
			ok = false;
	}
	if (ok) {
		uint32_t max_write;

		if (fc->minor >= 13) {
			if (arg->max_background)
				fc->max_background = arg->max_background;
			if (arg->congestion_threshold)
				fc->congestion_threshold =
					arg->congestion_threshold;
		}
		if (fc->minor >= 23)
			fc->time_gran = arg->time_gran;
		if ((fc->flags & FUSE_MAX_PAGES) && arg->max_pages)
			fc->max_pages = arg->max_pages < FDK_MAX_PAGES ?
					arg->max_pages : FDK_MAX_PAGES;
		else
			fc->max_pages = 32;	/* FUSE_DEFAULT_MAX_PAGES_PER_REQ */
		fc->max_readahead = arg->max_readahead < FDK_MAX_READAHEAD ?
				    arg->max_readahead : FDK_MAX_READAHEAD;
		max_write = arg->minor < 5 ? 4096 : arg->max_write;
		if (max_write < 4096)
			max_write = 4096;
		if (max_write > fc->max_pages * FDK_PAGE_SIZE)
			max_write = fc->max_pages * FDK_PAGE_SIZE;
		if (fc->max_write_limit && max_write > fc->max_write_limit)
			max_write = fc->max_write_limit;
		fc->max_write = max_write;
	} else {
		fc->conn_error = true;
	}
	fc->initialized = true;
	/* fuse_set_initialized: let the blocked requests go. */
	list_for_each_safe(pos, tmp, &fc->blocked) {
		struct fdk_req *b = list_entry(pos, struct fdk_req, list);
		int err = fdk_conn_error(fc);

		list_del_init(&b->list);
		b->flags &= ~FR_WAITING;
		if (err) {
			b->out_h.error = err;
			request_end(b);
		} else {
			queue_request(fc, b);
		}
	}
	if (fc->ops && fc->ops->initialized)
		fc->ops->initialized(fc);
}

void fdk_send_init(struct fdk_conn *fc, uint64_t flags)
{
	struct fdk_req *req = &fc->init_req;

	memset(req, 0, sizeof(*req));
	fc->init_in.major = FDK_MAJOR;
	fc->init_in.minor = FDK_MINOR;
	fc->init_in.max_readahead = FDK_MAX_READAHEAD;
	fc->init_in.flags = (uint32_t)flags | FUSE_INIT_EXT;
	fc->init_in.flags2 = flags >> 32;
	req->in_h.opcode = FUSE_INIT;
	req->in_numargs = 1;
	req->in_args[0] = (struct fdk_in_arg){ sizeof(fc->init_in),
					       &fc->init_in };
	req->out_numargs = 1;
	req->out_argvar = true;	/* older daemons reply shorter */
	req->out_args[0] = (struct fdk_out_arg){ sizeof(fc->init_out),
						 &fc->init_out };
	req->flags = FR_ISREPLY | FR_BACKGROUND;
	req->end = init_end;
	fdk_send(fc, req);
}
