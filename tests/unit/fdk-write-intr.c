/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replies to INTERRUPT (unique | 1) in fdk_dev_write: header only, else
 * EINVAL; ENOSYS means the daemon does no interrupts (none are queued
 * afterwards); EAGAIN queues the interrupt again; other errors are
 * ignored; the request itself is untouched by all of them.
 */
#include "unit.h"

static struct t_env e;

/* @r read by the daemon, interrupted, and its INTERRUPT read too. */
static void interrupted(struct t_req *r)
{
	t_req_init(r, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, r);
	fdk_interrupt(&r->req, false);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(r) | 1);
}

static void test_replies(void)
{
	struct t_req r;
	static unsigned char pay[8];
	unsigned int wakes;

	t_env_start(&e, 38, 4096);
	interrupted(&r);

	/* A body: EINVAL, nothing queued. */
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -EAGAIN, pay, 8), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, 0, pay, 8), -EINVAL);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* EAGAIN: queued again, the same INTERRUPT. */
	wakes = e.log.wakes;
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -EAGAIN, NULL, 0), 16);
	T_CHECK(e.log.wakes > wakes);
	T_EQ(fdk_dev_poll(&e.dev) & POLLIN, POLLIN);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(&r) | 1);
	T_EQ(((struct fuse_interrupt_in *)t_body(&e))->unique, t_unique(&r));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* Other errors and success: accepted, ignored. */
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -EINTR, NULL, 0), 16);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, 0, NULL, 0), 16);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_CHECK(!e.fc.no_interrupt);
	/* The error range still applies. */
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -512, NULL, 0), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, 1, NULL, 0), -EINVAL);

	/* None of it ended the request. */
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_SENT);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -EINTR, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -EINTR);

	/* Once it ended, its interrupt unique is unknown. */
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -EAGAIN, NULL, 0),
	     -ENOENT);
	T_EQ(t_write(&e, &e.dev, 999999 | 1, -EAGAIN, NULL, 0), -ENOENT);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
}

static void test_enosys(void)
{
	struct t_req r, r2, r3;
	unsigned int wakes;

	t_env_start(&e, 38, 4096);
	interrupted(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -ENOSYS, NULL, 0), 16);
	T_CHECK(e.fc.no_interrupt);
	T_EQ(r.ends, 0);

	/* Later signals queue nothing, before or after the read. */
	t_req_init(&r2, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, &r2);
	wakes = e.log.wakes;
	fdk_interrupt(&r2.req, false);
	T_EQ(e.log.wakes, wakes);
	T_CHECK(!(r2.req.flags & FR_INTERRUPTED));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(fdk_dev_poll(&e.dev), POLLOUT | POLLWRNORM);

	t_req_init(&r3, FUSE_READ, 40, 0);
	fdk_send(&e.fc, &r3.req);
	fdk_interrupt(&r3.req, false);
	T_EQ(t_read(&e, T_RSIZE), 80);
	T_EQ(t_hdr(&e)->unique, t_unique(&r3));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(r3.ends, 0);

	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(t_write(&e, &e.dev, t_unique(&r2), 0, NULL, 0), 16);
	T_EQ(t_write(&e, &e.dev, t_unique(&r3), 0, NULL, 0), 16);
	T_EQ(r.ends + r2.ends + r3.ends, 3);
	t_env_fini(&e);
}

/* An INTERRUPT whose request ends before it is read is dropped. */
static void test_dropped(void)
{
	struct t_req r;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, &r);
	fdk_interrupt(&r.req, false);
	T_EQ(fdk_dev_poll(&e.dev) & POLLIN, POLLIN);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_CHECK(list_empty(&e.fc.interrupts));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(fdk_dev_poll(&e.dev), POLLOUT | POLLWRNORM);
	t_env_fini(&e);
}

int main(void)
{
	test_replies();
	test_enosys();
	test_dropped();
	return T_PASS;
}
