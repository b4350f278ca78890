/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KNOWN BUG check: one INTERRUPT per request, whatever signals follow.
 *
 * Linux's request_wait_answer waits interruptibly once: the first signal
 * sets FR_INTERRUPTED and queues the INTERRUPT; later waits are killable
 * or uninterruptible and queue nothing more (only the daemon's EAGAIN
 * re-queues).  The emulator's VFS calls fdk_interrupt(req, false) on the
 * first signal and fdk_interrupt(req, true) when a fatal one follows; once
 * the daemon has read the first INTERRUPT, core/fdk.c queues a second.
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
	fdk_interrupt(&r.req, false);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);

	/* A fatal signal now: the caller waits, nothing new for the daemon. */
	fdk_interrupt(&r.req, true);
	T_EQ(r.ends, 0);
	ret = t_read(&e, T_RSIZE);
	T_CHECK(ret == -EAGAIN);
	/* And a second non-fatal one. */
	fdk_interrupt(&r.req, false);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	T_EQ(t_write(&e, &e.dev, t_unique(&r), -EINTR, NULL, 0), 16);
	T_EQ(r.error, -EINTR);
	t_env_fini(&e);
	return T_PASS;
}
