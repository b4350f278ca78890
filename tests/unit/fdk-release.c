/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Release and abort (fuse_dev_release, fuse_abort_conn): closing one open
 * ends the requests on its processing list with ECONNABORTED; closing the
 * last one aborts the connection: pending, background and processing
 * requests end with ECONNABORTED, forgets are dropped, readers are woken,
 * new requests fail with ENOTCONN (ECONNABORTED only for an abort proper
 * with FUSE_ABORT_ERROR), reads of opens still attached give ENODEV.
 */
#include "unit.h"

static struct t_env e;

static void test_one_of_two(void)
{
	struct fdk_dev dev2;
	struct t_req a, b, c;

	t_env_start(&e, 38, 4096);
	fdk_dev_init(&dev2);
	T_EQ(fdk_dev_clone(&dev2, &e.dev), 0);
	T_EQ(e.fc.dev_count, 2);
	t_req_init(&a, FUSE_GETATTR, 16, 0);
	t_req_init(&b, FUSE_GETATTR, 16, 0);
	t_req_init(&c, FUSE_GETATTR, 16, 0);
	t_send_read(&e, &e.dev, &a);
	t_send_read(&e, &dev2, &b);
	fdk_send(&e.fc, &c.req);

	fdk_dev_release(&dev2);
	T_EQ(b.ends, 1);
	T_EQ(b.error, -ECONNABORTED);
	T_EQ(dev2.nprocessing, 0);
	T_EQ(a.ends, 0);
	T_EQ(c.ends, 0);
	T_CHECK(e.fc.connected);
	T_EQ(e.fc.dev_count, 1);
	/* The released open is unattached now. */
	T_EQ(t_read_dev(&e, &dev2, T_RSIZE), -EPERM);
	T_EQ(t_write(&e, &dev2, t_unique(&a), 0, NULL, 0), -EPERM);
	T_EQ(fdk_dev_poll(&dev2), POLLERR);
	/* The other one goes on. */
	T_EQ(t_write(&e, &e.dev, t_unique(&a), 0, NULL, 0), 16);
	T_EQ(a.ends, 1);
	T_EQ(a.error, 0);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&c));
	/* Releasing an unattached open again does nothing. */
	fdk_dev_release(&dev2);
	T_EQ(e.fc.dev_count, 1);
	T_CHECK(e.fc.connected);
	t_env_fini(&e);
	T_EQ(c.error, -ECONNABORTED);
}

static void test_last(void)
{
	struct t_req a, c, bg, late, late_bg, ir;
	unsigned int wakes, inits;

	t_env_start(&e, 38, 4096);
	t_req_init(&a, FUSE_GETATTR, 16, 0);
	t_req_init(&ir, FUSE_READ, 40, 0);
	t_req_init(&c, FUSE_GETATTR, 16, 0);
	t_req_init(&bg, FUSE_RELEASE, 24, 0);
	bg.req.flags |= FR_BACKGROUND;
	t_send_read(&e, &e.dev, &a);
	t_send_read(&e, &e.dev, &ir);
	fdk_interrupt(&ir.req, false);
	fdk_send(&e.fc, &c.req);
	fdk_send(&e.fc, &bg.req);
	fdk_queue_forget(&e.fc, 1, 1);
	fdk_queue_forget(&e.fc, 2, 1);
	fdk_queue_forget(&e.fc, 3, 1);
	T_EQ(e.fc.forget_count, 3);
	wakes = e.log.wakes;
	inits = e.log.inits;

	fdk_dev_release(&e.dev);
	T_CHECK(!e.fc.connected);
	T_EQ(e.fc.dev_count, 0);
	T_CHECK(e.log.wakes > wakes);
	T_EQ(e.log.inits, inits);
	T_EQ(a.ends, 1);
	T_EQ(a.error, -ECONNABORTED);
	T_EQ(ir.ends, 1);
	T_EQ(ir.error, -ECONNABORTED);
	T_EQ(c.ends, 1);
	T_EQ(c.error, -ECONNABORTED);
	T_EQ(bg.ends, 1);
	T_EQ(bg.error, -ECONNABORTED);
	T_CHECK(!e.fc.forget_head);
	T_EQ(e.fc.forget_count, 0);
	T_CHECK(list_empty(&e.fc.pending));
	T_CHECK(list_empty(&e.fc.interrupts));
	T_EQ(e.fc.num_background, 0);
	T_CHECK(!fdk_request_pending(&e.fc));

	/* New requests: ENOTCONN at once; forgets are not queued. */
	T_EQ(fdk_conn_error(&e.fc), -ENOTCONN);
	t_req_init(&late, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &late.req);
	T_EQ(late.ends, 1);
	T_EQ(late.error, -ENOTCONN);
	t_req_init(&late_bg, FUSE_RELEASE, 24, 0);
	late_bg.req.flags |= FR_BACKGROUND;
	fdk_send(&e.fc, &late_bg.req);
	T_EQ(late_bg.ends, 1);
	T_EQ(late_bg.error, -ENOTCONN);
	T_EQ(e.fc.num_background, 0);
	fdk_queue_forget(&e.fc, 4, 1);
	T_CHECK(!e.fc.forget_head);

	/* Abort again, destroy: nothing ends twice. */
	fdk_abort_conn(&e.fc);
	fdk_conn_destroy(&e.fc);
	T_EQ(a.ends + c.ends + bg.ends + ir.ends, 4);
	T_EQ(late.ends + late_bg.ends, 2);
}

/* An open still attached when the connection goes: ENODEV, or
 * ECONNABORTED for an abort proper (fc->aborted, set by whoever aborts
 * through the control file) with FUSE_ABORT_ERROR negotiated. */
static void test_attached_after_abort(void)
{
	struct t_req a, late;
	struct fdk_dev dev2;

	t_env_start(&e, 38, 4096);
	t_req_init(&a, FUSE_GETATTR, 16, 0);
	t_send_read(&e, &e.dev, &a);
	fdk_abort_conn(&e.fc);
	T_EQ(a.ends, 1);
	T_EQ(a.error, -ECONNABORTED);
	T_EQ(t_read(&e, T_RSIZE), -ENODEV);
	/* The size check still comes first. */
	T_EQ(t_read(&e, T_RSIZE - 1), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&a), 0, NULL, 0), -ENOENT);
	T_EQ(fdk_dev_poll(&e.dev), POLLERR);
	/* An open attached after the abort sees the same. */
	fdk_dev_init(&dev2);
	T_EQ(fdk_dev_clone(&dev2, &e.dev), 0);
	T_EQ(t_read_dev(&e, &dev2, T_RSIZE), -ENODEV);
	fdk_dev_release(&dev2);
	t_req_init(&late, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &late.req);
	T_EQ(late.error, -ENOTCONN);
	t_env_fini(&e);
}

static void check_abort_error(uint64_t flags, bool aborted, int new_err,
			      int read_err)
{
	struct fuse_init_out out = t_init_out(38, 4096);
	struct t_req a, late;

	out.flags = flags;
	t_env_init(&e);
	fdk_send_init(&e.fc, FUSE_ABORT_ERROR);
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(!!(e.fc.flags & FUSE_ABORT_ERROR), !!(flags & FUSE_ABORT_ERROR));
	t_req_init(&a, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &a.req);
	e.fc.aborted = aborted;
	fdk_abort_conn(&e.fc);
	T_EQ(a.error, -ECONNABORTED);
	T_EQ(t_read(&e, T_RSIZE), read_err);
	T_EQ(fdk_conn_error(&e.fc), new_err);
	t_req_init(&late, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &late.req);
	T_EQ(late.ends, 1);
	T_EQ(late.error, new_err);
	t_env_fini(&e);
}

static void test_abort_error(void)
{
	/* Negotiated, but the daemon closed the device: ENOTCONN. */
	check_abort_error(FUSE_ABORT_ERROR, false, -ENOTCONN, -ENODEV);
	/* Negotiated and aborted: the daemon reads ECONNABORTED; new
	 * requests still get ENOTCONN (fuse_get_req). */
	check_abort_error(FUSE_ABORT_ERROR, true, -ENOTCONN, -ECONNABORTED);
	/* Not negotiated: ENOTCONN and ENODEV. */
	check_abort_error(0, true, -ENOTCONN, -ENODEV);
}

/*
 * Callers waiting for INIT when the connection goes never became requests
 * (Linux: asleep in fuse_get_req): they fail like new ones, not with
 * ECONNABORTED.  When the daemon read INIT and closed the device, Linux
 * ends INIT first (ECONNREFUSED for whoever wakes before the abort) and
 * then aborts (ENOTCONN): either is right, ECONNABORTED is not.
 */
static void test_waiting_for_init(void)
{
	struct t_req r, bg;

	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	t_req_init(&r, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r.req);
	t_req_init(&bg, FUSE_RELEASE, 24, 0);
	bg.req.flags |= FR_BACKGROUND;
	fdk_send(&e.fc, &bg.req);
	T_CHECK(r.req.flags & FR_WAITING);
	T_EQ(t_read(&e, T_RSIZE), 104);
	fdk_dev_release(&e.dev);
	T_EQ(r.ends, 1);
	T_EQ(bg.ends, 1);
	T_CHECK(!(r.req.flags & FR_WAITING));
	T_CHECK(list_empty(&e.fc.blocked));
	T_CHECK(r.error == -ENOTCONN || r.error == -ECONNREFUSED);
	T_CHECK(bg.error == -ENOTCONN || bg.error == -ECONNREFUSED);
	T_EQ(e.fc.num_background, 0);
	fdk_conn_destroy(&e.fc);

	/* INIT still queued: the connection is gone first, ENOTCONN. */
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	t_req_init(&r, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r.req);
	t_req_init(&bg, FUSE_RELEASE, 24, 0);
	bg.req.flags |= FR_BACKGROUND;
	fdk_send(&e.fc, &bg.req);
	fdk_abort_conn(&e.fc);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -ENOTCONN);
	T_EQ(bg.ends, 1);
	T_EQ(bg.error, -ENOTCONN);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);

	/* INIT never sent: the waiting callers still go. */
	t_env_init(&e);
	t_req_init(&r, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r.req);
	fdk_abort_conn(&e.fc);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -ENOTCONN);
	t_env_fini(&e);
}

/* The daemon goes away before answering INIT. */
static void test_before_init(void)
{
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	T_EQ(t_read(&e, T_RSIZE), 104);
	fdk_dev_release(&e.dev);
	T_CHECK(!e.fc.connected);
	T_CHECK(e.fc.initialized);
	T_EQ(e.log.inits, 1);
	T_EQ(fdk_conn_error(&e.fc), -ENOTCONN);
	T_EQ(e.fc.num_background, 0);
	fdk_conn_destroy(&e.fc);
	T_EQ(e.log.inits, 1);

	/* INIT never read. */
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	fdk_abort_conn(&e.fc);
	T_CHECK(e.fc.initialized);
	T_EQ(e.log.inits, 1);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);

	/* INIT never sent. */
	t_env_init(&e);
	fdk_abort_conn(&e.fc);
	T_CHECK(e.fc.initialized);
	T_EQ(e.log.inits, 1);
	t_env_fini(&e);
	T_EQ(e.log.inits, 1);
}

int main(void)
{
	test_one_of_two();
	test_last();
	test_attached_after_abort();
	test_abort_error();
	test_waiting_for_init();
	test_before_init();
	return T_PASS;
}
