/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop and fibers.
 *
 * One io_uring, used for readiness: a multishot poll per watched fd (the
 * transport's session fd, the port's sockets).  Between completions the
 * loop runs deferred work and the fibers that were woken, until none is
 * left, then waits for the next completion.
 *
 * A fiber is a client operation with its own stack (ucontext).  It sleeps
 * while its request is with the daemon; fiber_wake() queues it to run
 * again from the loop, never nested inside another fiber or callback.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include <liburing.h>

#include "emu.h"

#define FIBER_STACK	(256 * 1024)
#define FIBER_POOL_MAX	64

struct watch {
	struct list_head entry;		/* all_watches, until freed */
	int fd;
	unsigned int events;
	loop_fd_cb cb;
	void *data;
	bool dead;
};

struct deferred {
	struct list_head entry;
	void (*fn)(void *);
	void *data;
};

struct fiber {
	ucontext_t ctx;
	void *stack;
	void (*fn)(void *);
	void *arg;
	struct list_head entry;		/* run queue or pool */
	bool queued;
	bool done;
	int intr;
};

static struct io_uring ring;
static struct list_head all_watches = LIST_HEAD_INIT(all_watches);
static struct watch **watches;
static size_t nwatches;
static bool stopping;
static struct list_head deferred = LIST_HEAD_INIT(deferred);
static struct list_head runq = LIST_HEAD_INIT(runq);
static struct list_head pool = LIST_HEAD_INIT(pool);
static unsigned int npool;
static ucontext_t loop_ctx;
static struct fiber *current;

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int loop_init(void)
{
	struct io_uring_params p;
	int r;

	memset(&p, 0, sizeof(p));
	r = io_uring_queue_init_params(256, &ring, &p);
	if (r < 0)
		return r;
	return 0;
}

static void watch_free(struct watch *w)
{
	list_del_init(&w->entry);
	free(w);
}

/* Also frees the watches whose last completion never came. */
void loop_exit(void)
{
	struct list_head *pos, *tmp;

	io_uring_queue_exit(&ring);
	list_for_each_safe(pos, tmp, &all_watches)
		watch_free(list_entry(pos, struct watch, entry));
	free(watches);
	watches = NULL;
	nwatches = 0;
	while (!list_empty(&pool)) {
		struct fiber *f = list_first_entry(&pool, struct fiber, entry);

		list_del_init(&f->entry);
		munmap(f->stack, FIBER_STACK);
		free(f);
	}
	npool = 0;
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static int arm(struct watch *w)
{
	struct io_uring_sqe *sqe = get_sqe();

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, w->fd, w->events);
	io_uring_sqe_set_data(sqe, w);
	return 0;
}

int loop_add_fd(int fd, unsigned int events, loop_fd_cb cb, void *data)
{
	struct watch *w;

	if ((size_t)fd >= nwatches) {
		size_t n = nwatches ? nwatches : 64;
		struct watch **p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(watches, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + nwatches, 0, (n - nwatches) * sizeof(*p));
		watches = p;
		nwatches = n;
	}
	if (watches[fd])
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	list_add_tail(&w->entry, &all_watches);
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->data = data;
	watches[fd] = w;
	return arm(w);
}

/* The watch is freed when its last completion arrives. */
void loop_del_fd(int fd)
{
	struct io_uring_sqe *sqe;
	struct watch *w;

	if ((size_t)fd >= nwatches || !watches[fd])
		return;
	w = watches[fd];
	watches[fd] = NULL;
	w->dead = true;
	sqe = get_sqe();
	if (sqe) {
		io_uring_prep_poll_remove(sqe, (__u64)(uintptr_t)w);
		io_uring_sqe_set_data(sqe, NULL);
	}
	io_uring_submit(&ring);
}

void loop_stop(void)
{
	stopping = true;
}

void loop_defer(void (*fn)(void *), void *data)
{
	struct deferred *d = malloc(sizeof(*d));

	if (!d) {
		emu_log("out of memory deferring work");
		return;
	}
	d->fn = fn;
	d->data = data;
	list_add_tail(&d->entry, &deferred);
}

/* ---- fibers ---- */

static void fiber_trampoline(void)
{
	struct fiber *f = current;

	f->fn(f->arg);
	f->done = true;
	swapcontext(&f->ctx, &loop_ctx);
}

int fiber_spawn(void (*fn)(void *), void *arg)
{
	struct fiber *f;

	if (!list_empty(&pool)) {
		f = list_first_entry(&pool, struct fiber, entry);
		list_del_init(&f->entry);
		npool--;
	} else {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		f->stack = mmap(NULL, FIBER_STACK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (f->stack == MAP_FAILED) {
			free(f);
			return -ENOMEM;
		}
		/* A guard page below the stack. */
		mprotect(f->stack, 4096, PROT_NONE);
		list_init(&f->entry);
	}
	f->fn = fn;
	f->arg = arg;
	f->done = false;
	f->intr = 0;
	getcontext(&f->ctx);
	f->ctx.uc_stack.ss_sp = f->stack;
	f->ctx.uc_stack.ss_size = FIBER_STACK;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, fiber_trampoline, 0);
	f->queued = true;
	list_add_tail(&f->entry, &runq);
	return 0;
}

struct fiber *fiber_self(void)
{
	return current;
}

int *fiber_intr(struct fiber *f)
{
	return &f->intr;
}

void fiber_sleep(void)
{
	struct fiber *f = current;

	swapcontext(&f->ctx, &loop_ctx);
}

void fiber_wake(struct fiber *f)
{
	if (f->queued || f == current)
		return;
	f->queued = true;
	list_add_tail(&f->entry, &runq);
}

/* ---- fiber rwsems ---- */

struct rwsem_waiter {
	struct list_head entry;
	struct fiber *f;
	bool write;
	bool granted;
};

void fiber_rwsem_init(struct fiber_rwsem *s)
{
	s->count = 0;
	list_init(&s->waiters);
}

/* Wake waiters in order: a writer alone, or the readers at the head. */
static void rwsem_grant(struct fiber_rwsem *s)
{
	while (!list_empty(&s->waiters)) {
		struct rwsem_waiter *w = list_first_entry(&s->waiters,
					struct rwsem_waiter, entry);

		if (w->write ? s->count != 0 : s->count < 0)
			return;
		s->count = w->write ? -1 : s->count + 1;
		list_del_init(&w->entry);
		w->granted = true;
		fiber_wake(w->f);
		if (w->write)
			return;
	}
}

static void rwsem_wait(struct fiber_rwsem *s, bool write)
{
	struct rwsem_waiter w = { .f = current, .write = write };

	list_add_tail(&w.entry, &s->waiters);
	while (!w.granted)
		fiber_sleep();
}

void fiber_down_read(struct fiber_rwsem *s)
{
	if (s->count >= 0 && list_empty(&s->waiters))
		s->count++;
	else
		rwsem_wait(s, false);
}

void fiber_down_write(struct fiber_rwsem *s)
{
	if (!s->count && list_empty(&s->waiters))
		s->count = -1;
	else
		rwsem_wait(s, true);
}

void fiber_up_read(struct fiber_rwsem *s)
{
	if (!--s->count)
		rwsem_grant(s);
}

void fiber_up_write(struct fiber_rwsem *s)
{
	s->count = 0;
	rwsem_grant(s);
}

static void fiber_free(struct fiber *f)
{
	if (npool < FIBER_POOL_MAX) {
		list_add(&f->entry, &pool);
		npool++;
		return;
	}
	munmap(f->stack, FIBER_STACK);
	free(f);
}

static void run_pending(void)
{
	while (!list_empty(&runq) || !list_empty(&deferred)) {
		while (!list_empty(&deferred)) {
			struct deferred *d = list_first_entry(&deferred,
						struct deferred, entry);

			list_del_init(&d->entry);
			d->fn(d->data);
			free(d);
		}
		while (!list_empty(&runq)) {
			struct fiber *f = list_first_entry(&runq,
						struct fiber, entry);

			list_del_init(&f->entry);
			f->queued = false;
			current = f;
			swapcontext(&loop_ctx, &f->ctx);
			current = NULL;
			if (f->done)
				fiber_free(f);
		}
	}
}

/* After loop_run: let woken fibers and deferred work finish. */
void loop_drain(void)
{
	run_pending();
}

int loop_run(void)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen;
	int r;

	while (!stopping) {
		run_pending();
		if (stopping)
			break;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -ETIME)
			return r;
		seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct watch *w = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			bool more = cqe->flags & IORING_CQE_F_MORE;

			seen++;
			if (!w)
				continue;
			if (w->dead) {
				if (!more)
					watch_free(w);
				continue;
			}
			if (!more && res >= 0 && watches[w->fd] == w)
				arm(w);
			if (res < 0) {
				if (res == -ECANCELED)
					continue;
				res = POLLERR;
			}
			w->cb(w->data, res);
		}
		io_uring_cq_advance(&ring, seen);
	}
	run_pending();
	return 0;
}
