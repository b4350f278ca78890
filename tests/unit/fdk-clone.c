/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk_dev_clone (FUSE_DEV_IOC_CLONE): the old open must be attached and
 * the new one must not be, else EINVAL; a clone shares the connection's
 * queues but has its own processing list.
 */
#include "unit.h"

static struct t_env e, e2;

static void test_errors(void)
{
	struct fdk_dev lone, other, fresh;

	t_env_init(&e);
	t_env_init(&e2);
	fdk_dev_init(&lone);
	fdk_dev_init(&fresh);

	/* Old open not attached, or none. */
	T_EQ(fdk_dev_clone(&fresh, &lone), -EINVAL);
	T_CHECK(!fresh.fc);
	T_EQ(fdk_dev_read(&fresh, T_RSIZE, &e.rb), -EPERM);
	T_EQ(fdk_dev_clone(&fresh, NULL), -EINVAL);
	T_CHECK(!fresh.fc);

	/* New open already attached, to another connection or the same. */
	T_EQ(fdk_dev_clone(&e2.dev, &e.dev), -EINVAL);
	T_CHECK(e2.dev.fc == &e2.fc);
	T_EQ(fdk_dev_clone(&e.dev, &e.dev), -EINVAL);
	T_EQ(e.fc.dev_count, 1);
	T_EQ(e2.fc.dev_count, 1);
	fdk_dev_init(&other);
	T_EQ(fdk_dev_clone(&other, &e.dev), 0);
	T_EQ(fdk_dev_clone(&other, &e.dev), -EINVAL);
	T_EQ(fdk_dev_clone(&other, &e2.dev), -EINVAL);
	T_EQ(fdk_dev_attach(&other, &e2.fc), -EINVAL);
	T_CHECK(other.fc == &e.fc);
	T_EQ(e.fc.dev_count, 2);
	T_EQ(e2.fc.dev_count, 1);
	fdk_dev_release(&other);
	T_EQ(e.fc.dev_count, 1);
	T_CHECK(e.fc.connected);
	t_env_fini(&e2);
	t_env_fini(&e);
}

static void test_own_processing(void)
{
	struct fdk_dev c;
	struct t_req a, b;

	t_env_start(&e, 38, 4096);
	fdk_dev_init(&c);
	T_EQ(fdk_dev_clone(&c, &e.dev), 0);
	T_CHECK(c.fc == &e.fc);
	T_EQ(e.fc.dev_count, 2);

	t_req_init(&a, FUSE_GETATTR, 16, 8);
	t_req_init(&b, FUSE_GETATTR, 16, 8);
	fdk_send(&e.fc, &a.req);
	fdk_send(&e.fc, &b.req);
	/* Either open reads from the shared queue, in order. */
	T_EQ(fdk_dev_poll(&c) & POLLIN, POLLIN);
	T_EQ(t_read_dev(&e, &c, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&a));
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&b));
	T_CHECK(a.req.dev == &c);
	T_CHECK(b.req.dev == &e.dev);
	T_EQ(c.nprocessing, 1);
	T_EQ(e.dev.nprocessing, 1);
	T_EQ(t_read_dev(&e, &c, T_RSIZE), -EAGAIN);

	/* Replies and interrupt replies only through the reading open. */
	fdk_interrupt(&a.req, false);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->unique, t_unique(&a) | 1);
	T_EQ(t_write(&e, &e.dev, t_unique(&a) | 1, -EAGAIN, NULL, 0),
	     -ENOENT);
	T_EQ(t_write(&e, &e.dev, t_unique(&a), 0, "12345678", 8), -ENOENT);
	T_EQ(t_write(&e, &c, t_unique(&b), 0, "12345678", 8), -ENOENT);
	T_EQ(a.ends + b.ends, 0);
	T_EQ(t_write(&e, &c, t_unique(&a), 0, "abcdefgh", 8), 24);
	T_EQ(t_write(&e, &e.dev, t_unique(&b), 0, "ABCDEFGH", 8), 24);
	T_EQ(a.ends, 1);
	T_EQ(b.ends, 1);
	T_CHECK(!memcmp(a.out[0], "abcdefgh", 8));
	T_CHECK(!memcmp(b.out[0], "ABCDEFGH", 8));
	T_EQ(c.nprocessing + e.dev.nprocessing, 0);

	/* Closing the original leaves the clone serving the connection. */
	t_req_init(&a, FUSE_GETATTR, 16, 0);
	t_send_read(&e, &c, &a);
	fdk_dev_release(&e.dev);
	T_CHECK(e.fc.connected);
	T_EQ(a.ends, 0);
	T_EQ(t_write(&e, &c, t_unique(&a), 0, NULL, 0), 16);
	T_EQ(a.ends, 1);
	/* A clone of the clone. */
	{
		struct fdk_dev c2;

		fdk_dev_init(&c2);
		T_EQ(fdk_dev_clone(&c2, &c), 0);
		T_EQ(e.fc.dev_count, 2);
		fdk_dev_release(&c);
		T_CHECK(e.fc.connected);
		fdk_dev_release(&c2);
		T_CHECK(!e.fc.connected);
	}
	fdk_conn_destroy(&e.fc);
}

int main(void)
{
	test_errors();
	test_own_processing();
	return T_PASS;
}
