/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a read takes first (fuse_dev_do_read): queued INTERRUPTs; then
 * forgets and requests in Linux's ratio of 16 forget reads to 8 request
 * reads while both wait (the counter starts at 0, as fuse_iqueue_init
 * leaves it: 8 requests first, then 16 forgets, ...); requests in FIFO
 * order.  Forgets go as a single FORGET when one is queued or the
 * daemon's minor is below 16, else as one BATCH_FORGET with as many
 * entries as fit the buffer.
 */
#include "unit.h"

static struct t_env e;

#define NREQ	30

static void expect_forget(uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in *arg = t_body(&e);

	T_EQ(t_hdr(&e)->opcode, FUSE_FORGET);
	T_EQ(t_hdr(&e)->len, 48);
	T_EQ(t_hdr(&e)->nodeid, nodeid);
	T_EQ(arg->nlookup, nlookup);
}

static void test_interrupts_first(void)
{
	struct t_req a, b, c;

	t_env_start(&e, 38, 4096);
	t_req_init(&a, FUSE_READ, 40, 0);
	t_req_init(&b, FUSE_READ, 40, 0);
	t_req_init(&c, FUSE_GETATTR, 16, 0);
	t_send_read(&e, &e.dev, &a);
	t_send_read(&e, &e.dev, &b);
	fdk_send(&e.fc, &c.req);
	fdk_queue_forget(&e.fc, 5, 2);
	fdk_interrupt(&b.req, false);
	fdk_interrupt(&a.req, false);

	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(&b) | 1);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(&a) | 1);
	T_EQ(((struct fuse_interrupt_in *)t_body(&e))->unique, t_unique(&a));
	/* Requests lead forgets at the start of the first cycle. */
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&c));
	T_EQ(t_read(&e, T_RSIZE), 48);
	expect_forget(5, 2);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
}

/* With minor 15 every forget is a single FORGET: the ratio shows. */
static void test_ratio(void)
{
	static struct t_req r[NREQ];
	/* 'F' forget, 'R' request: 8 requests, then 16:8 until the
	 * forgets run out, then the remaining requests. */
	static const struct { char what; int count; } seq[] = {
		{ 'R', 8 }, { 'F', 16 }, { 'R', 8 }, { 'F', 16 },
		{ 'R', 8 }, { 'F', 8 }, { 'R', NREQ - 24 },
	};
	int i, k, nf = 0, nr = 0;

	t_env_start(&e, 15, 4096);
	for (i = 0; i < 40; i++)
		fdk_queue_forget(&e.fc, 1000 + i, i + 1);
	T_EQ(e.fc.forget_count, 40);
	for (i = 0; i < NREQ; i++) {
		t_req_init(&r[i], FUSE_GETATTR, 16, 0);
		fdk_send(&e.fc, &r[i].req);
	}
	for (k = 0; k < (int)(sizeof(seq) / sizeof(seq[0])); k++) {
		for (i = 0; i < seq[k].count; i++) {
			ssize_t n = t_read(&e, T_RSIZE);

			if (seq[k].what == 'F') {
				T_EQ(n, 48);
				expect_forget(1000 + nf, nf + 1);
				nf++;
			} else {
				T_EQ(n, 56);
				T_EQ(t_hdr(&e)->opcode, FUSE_GETATTR);
				T_EQ(t_hdr(&e)->unique, t_unique(&r[nr]));
				nr++;
			}
		}
	}
	T_EQ(nf, 40);
	T_EQ(nr, NREQ);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(e.fc.forget_count, 0);
	t_env_fini(&e);
}

/* Forgets alone are read one after another, requests never starve them. */
static void test_forgets_only(void)
{
	int i;

	t_env_start(&e, 15, 4096);
	for (i = 0; i < 40; i++)
		fdk_queue_forget(&e.fc, 1 + i, 1);
	for (i = 0; i < 40; i++) {
		T_EQ(t_read(&e, T_RSIZE), 48);
		expect_forget(1 + i, 1);
	}
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
}

static void expect_batch(unsigned int count, uint64_t first)
{
	struct fuse_batch_forget_in *arg = t_body(&e);
	struct fuse_forget_one *one = (void *)(arg + 1);
	unsigned int i;

	T_EQ(t_hdr(&e)->opcode, FUSE_BATCH_FORGET);
	T_EQ(t_hdr(&e)->len, 48 + 16 * count);
	T_EQ(arg->count, count);
	for (i = 0; i < count; i++) {
		T_EQ(one[i].nodeid, first + i);
		T_EQ(one[i].nlookup, (first + i) * 3);
	}
}

static void test_batch(void)
{
	unsigned int i, fit = (T_RSIZE - 48) / 16;

	/* One queued: a single FORGET even at minor 38. */
	t_env_start(&e, 38, 4096);
	fdk_queue_forget(&e.fc, 7, 9);
	T_EQ(t_read(&e, T_RSIZE), 48);
	expect_forget(7, 9);

	/* Two: one BATCH_FORGET. */
	fdk_queue_forget(&e.fc, 1, 3);
	fdk_queue_forget(&e.fc, 2, 6);
	T_EQ(t_read(&e, T_RSIZE), 48 + 32);
	expect_batch(2, 1);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* More than fit: as many as fit (509 in 8192 bytes), then the rest. */
	for (i = 0; i < 600; i++)
		fdk_queue_forget(&e.fc, 1 + i, (1 + i) * 3);
	T_EQ(t_read(&e, T_RSIZE), 48 + 16 * fit);
	expect_batch(fit, 1);
	T_EQ(t_read(&e, T_RSIZE), 48 + 16 * (600 - fit));
	expect_batch(600 - fit, 1 + fit);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* A larger buffer takes all of them. */
	for (i = 0; i < 600; i++)
		fdk_queue_forget(&e.fc, 1 + i, (1 + i) * 3);
	T_EQ(t_read(&e, 48 + 16 * 600), 48 + 16 * 600);
	expect_batch(600, 1);

	/* A buffer one entry short leaves exactly one: a single FORGET. */
	for (i = 0; i < 600; i++)
		fdk_queue_forget(&e.fc, 1 + i, (1 + i) * 3);
	T_EQ(t_read(&e, 48 + 16 * 599 + 15), 48 + 16 * 599);
	expect_batch(599, 1);
	T_EQ(t_read(&e, T_RSIZE), 48);
	expect_forget(600, 1800);

	/* Forgets queued at abort are dropped, not leaked (valgrind). */
	for (i = 0; i < 10; i++)
		fdk_queue_forget(&e.fc, 1 + i, 1);
	t_env_fini(&e);
	T_CHECK(!e.fc.forget_head);
	T_EQ(e.fc.forget_count, 0);
}

/* Minor below 16: never BATCH_FORGET. */
static void test_single_old(void)
{
	int i;

	t_env_start(&e, 15, 4096);
	for (i = 0; i < 3; i++)
		fdk_queue_forget(&e.fc, 20 + i, 2);
	for (i = 0; i < 3; i++) {
		T_EQ(t_read(&e, T_RSIZE), 48);
		expect_forget(20 + i, 2);
	}
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
}

int main(void)
{
	test_interrupts_first();
	test_ratio();
	test_forgets_only();
	test_batch();
	test_single_old();
	return T_PASS;
}
