/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KNOWN BUG check: an EAGAIN reply to an INTERRUPT the kernel never sent.
 *
 * Linux (fuse_dev_do_write -> queue_interrupt) re-queues an interrupt on
 * EAGAIN only for a request that was interrupted (FR_INTERRUPTED); for any
 * other request on the processing list the write fails with EINVAL and no
 * INTERRUPT is queued.  core/fdk.c queues one regardless and returns the
 * byte count.
 */
#include "unit.h"

static struct t_env e;

int main(void)
{
	struct t_req r;
	ssize_t ret;

	t_env_start(&e, 38, 4096);
	t_req_init(&r, FUSE_READ, 40, 0);
	t_send_read(&e, &e.dev, &r);
	T_CHECK(!(r.req.flags & FR_INTERRUPTED));

	ret = t_write(&e, &e.dev, t_unique(&r) | 1, -EAGAIN, NULL, 0);
	T_CHECK(ret == -EINVAL && list_empty(&e.fc.interrupts));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(r.ends, 0);

	/* After a real interrupt EAGAIN does re-queue. */
	fdk_interrupt(&r.req, false);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) | 1, -EAGAIN, NULL, 0), 16);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->unique, t_unique(&r) | 1);
	t_env_fini(&e);
	return T_PASS;
}
