/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk_dev_poll (fuse_dev_poll): always POLLOUT | POLLWRNORM; POLLIN |
 * POLLRDNORM while a request, an interrupt or a forget is queued; POLLERR
 * alone once the connection is gone or when the open is not attached.
 */
#include "unit.h"

#define W	(POLLOUT | POLLWRNORM)
#define RW	(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)

static struct t_env e;

int main(void)
{
	struct fdk_dev lone, dev2;
	struct t_req r, w;
	struct fuse_init_out out = t_init_out(38, 4096);

	fdk_dev_init(&lone);
	T_EQ(fdk_dev_poll(&lone), POLLERR);

	t_env_init(&e);
	T_EQ(fdk_dev_poll(&e.dev), W);
	/* Waiting for INIT is not readable; INIT itself is. */
	t_req_init(&w, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &w.req);
	T_EQ(fdk_dev_poll(&e.dev), W);
	fdk_send_init(&e.fc, 0);
	T_EQ(fdk_dev_poll(&e.dev), RW);
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(fdk_dev_poll(&e.dev), RW);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(fdk_dev_poll(&e.dev), W);

	/* A pending request. */
	t_req_init(&r, FUSE_READ, 40, 0);
	fdk_send(&e.fc, &r.req);
	T_EQ(fdk_dev_poll(&e.dev), RW);
	T_EQ(t_read(&e, T_RSIZE), 80);
	T_EQ(fdk_dev_poll(&e.dev), W);

	/* An interrupt only. */
	fdk_interrupt(&r.req, false);
	T_EQ(fdk_dev_poll(&e.dev), RW);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(fdk_dev_poll(&e.dev), W);

	/* A forget only. */
	fdk_queue_forget(&e.fc, 3, 1);
	T_EQ(fdk_dev_poll(&e.dev), RW);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(fdk_dev_poll(&e.dev), W);

	/* Every open of the connection sees the same queue. */
	fdk_dev_init(&dev2);
	T_EQ(fdk_dev_clone(&dev2, &e.dev), 0);
	T_EQ(fdk_dev_poll(&dev2), W);
	fdk_queue_forget(&e.fc, 4, 1);
	T_EQ(fdk_dev_poll(&dev2), RW);
	T_EQ(fdk_dev_poll(&e.dev), RW);

	/* Gone: POLLERR alone, even with things that were queued. */
	fdk_abort_conn(&e.fc);
	T_EQ(fdk_dev_poll(&e.dev), POLLERR);
	T_EQ(fdk_dev_poll(&dev2), POLLERR);
	T_EQ(r.ends, 1);
	T_EQ(w.ends, 1);
	fdk_dev_release(&dev2);
	T_EQ(fdk_dev_poll(&dev2), POLLERR);
	t_env_fini(&e);
	T_EQ(fdk_dev_poll(&e.dev), POLLERR);
	return T_PASS;
}
