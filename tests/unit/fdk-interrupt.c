/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk_interrupt (request_wait_answer after a signal): a request not yet
 * read gets its INTERRUPT only once read; a fatal signal while it is
 * pending (or waiting for INIT) removes it and it ends with EINTR; once
 * read, one INTERRUPT is queued and the caller keeps waiting; FR_FORCE
 * and background requests are never removed.
 */
#include "unit.h"

static struct t_env e;

static void expect_interrupt(const struct t_req *r)
{
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(r) | FUSE_INT_REQ_BIT);
	T_EQ(((struct fuse_interrupt_in *)t_body(&e))->unique, t_unique(r));
}

static void test_not_read(void)
{
	struct t_req r;
	unsigned int wakes;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_READ, 40, 0);
	fdk_send(&e.fc, &r.req);
	wakes = e.log.wakes;
	fdk_interrupt(&r.req, false);
	T_CHECK(r.req.flags & FR_INTERRUPTED);
	T_CHECK(r.req.flags & FR_PENDING);
	T_CHECK(list_empty(&e.fc.interrupts));
	T_EQ(e.log.wakes, wakes);
	T_EQ(r.ends, 0);
	/* The request first, then its INTERRUPT. */
	T_EQ(t_read(&e, T_RSIZE), 80);
	T_EQ(t_hdr(&e)->opcode, FUSE_READ);
	T_EQ(t_hdr(&e)->unique, t_unique(&r));
	T_CHECK(e.log.wakes > wakes);
	expect_interrupt(&r);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(r.ends, 0);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -EINTR, NULL, 0), 16);
	T_EQ(r.error, -EINTR);
	t_env_fini(&e);
}

static void test_fatal_pending(void)
{
	struct t_req r1, r2, r3;

	t_env_start(&e, 38, 4096);
	t_req_init(&r1, FUSE_READ, 40, 0);
	t_req_init(&r2, FUSE_GETATTR, 16, 0);
	t_req_init(&r3, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r1.req);
	fdk_send(&e.fc, &r2.req);
	fdk_send(&e.fc, &r3.req);

	fdk_interrupt(&r1.req, true);
	T_EQ(r1.ends, 1);
	T_EQ(r1.error, -EINTR);
	T_CHECK(!(r1.req.flags & FR_PENDING));
	/* A non-fatal signal first, then a fatal one: same. */
	fdk_interrupt(&r3.req, false);
	T_EQ(r3.ends, 0);
	fdk_interrupt(&r3.req, true);
	T_EQ(r3.ends, 1);
	T_EQ(r3.error, -EINTR);
	/* Neither reaches the daemon, no INTERRUPT for them. */
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r2));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_CHECK(list_empty(&e.fc.interrupts));
	/* Signals after the end change nothing. */
	fdk_interrupt(&r1.req, true);
	fdk_interrupt(&r1.req, false);
	T_EQ(r1.ends, 1);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
	T_EQ(r1.ends, 1);
	T_EQ(r3.ends, 1);
	T_EQ(r2.error, -ECONNABORTED);
}

static void test_fatal_waiting(void)
{
	struct t_req r1, r2;
	struct fuse_init_out out = t_init_out(38, 4096);

	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	t_req_init(&r1, FUSE_GETATTR, 16, 0);
	t_req_init(&r2, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r1.req);
	fdk_send(&e.fc, &r2.req);
	T_CHECK(r1.req.flags & FR_WAITING);
	fdk_interrupt(&r1.req, true);
	T_EQ(r1.ends, 1);
	T_EQ(r1.error, -EINTR);
	T_CHECK(!(r1.req.flags & FR_WAITING));
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r2));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(r1.ends, 1);
	t_env_fini(&e);
}

static void test_sent(void)
{
	struct t_req r;
	unsigned int wakes;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_READ, 40, 16);
	t_send_read(&e, &e.dev, &r);
	wakes = e.log.wakes;
	fdk_interrupt(&r.req, false);
	T_CHECK(e.log.wakes > wakes);
	T_CHECK(r.req.flags & FR_INTERRUPTED);
	T_EQ(fdk_dev_poll(&e.dev) & POLLIN, POLLIN);
	/* Another signal before the daemon read it: still one. */
	fdk_interrupt(&r.req, false);
	expect_interrupt(&r);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	/* The caller keeps waiting for the real reply. */
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_SENT);
	T_EQ(e.dev.nprocessing, 1);
	{
		static unsigned char pay[16] = "reply-after-intr";

		T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 16), 32);
		T_EQ(r.ends, 1);
		T_EQ(r.error, 0);
		T_CHECK(!memcmp(r.out[0], pay, 16));
	}
	t_env_fini(&e);
}

/* A fatal signal to a request the daemon has read removes nothing. */
static void test_fatal_sent(void)
{
	struct t_req r;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, &r);
	fdk_interrupt(&r.req, true);
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_SENT);
	expect_interrupt(&r);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -EINTR, NULL, 0), 16);
	T_EQ(r.error, -EINTR);
	t_env_fini(&e);
}

static void test_force(void)
{
	struct t_req r;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_FLUSH, 24, 0);
	r.req.flags |= FR_FORCE;
	fdk_send(&e.fc, &r.req);
	fdk_interrupt(&r.req, true);
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_PENDING);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&r));
	/* Interrupted all the same: the INTERRUPT follows the read. */
	expect_interrupt(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(r.error, 0);
	t_env_fini(&e);
}

static void test_background(void)
{
	struct t_req r;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_RELEASE, 24, 0);
	r.req.flags |= FR_BACKGROUND;
	fdk_send(&e.fc, &r.req);
	T_EQ(e.fc.num_background, 1);
	fdk_interrupt(&r.req, true);
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_PENDING);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&r));
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
}

/* After ENOSYS: no INTERRUPTs, but fatal signals still remove pending
 * requests. */
static void test_no_interrupt(void)
{
	struct t_req r, p;

	t_env_start(&e, 38, 4096);
	e.fc.no_interrupt = true;
	t_req_init(&r, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, &r);
	fdk_interrupt(&r.req, false);
	fdk_interrupt(&r.req, true);
	T_CHECK(!(r.req.flags & FR_INTERRUPTED));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(r.ends, 0);
	t_req_init(&p, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &p.req);
	fdk_interrupt(&p.req, true);
	T_EQ(p.ends, 1);
	T_EQ(p.error, -EINTR);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
	T_EQ(r.error, -ECONNABORTED);
}

int main(void)
{
	test_not_read();
	test_fatal_pending();
	test_fatal_waiting();
	test_sent();
	test_fatal_sent();
	test_force();
	test_background();
	test_no_interrupt();
	return T_PASS;
}
