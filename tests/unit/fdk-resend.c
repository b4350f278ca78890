/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NOTIFY_RESEND (fuse_resend): every request the daemon has read and not
 * answered is queued again ahead of the pending ones, its unique marked
 * with FUSE_UNIQUE_RESEND; the daemon answers it by that unique.  An
 * interrupt waiting for one is sent again only once it is read again.
 */
#include "unit.h"

static struct t_env e;

static ssize_t resend(void)
{
	return t_write(&e, &e.dev, 0, FUSE_NOTIFY_RESEND, NULL, 0);
}

static void test_resend(void)
{
	struct t_req r1, r2, r3;
	uint64_t u1, u2;

	t_env_start(&e, FDK_MINOR, 4096);
	/* Nothing read: nothing to send again. */
	T_EQ(resend(), 16);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	t_req_init(&r1, FUSE_GETATTR, 16, 16);
	t_req_init(&r2, FUSE_LOOKUP, 4, 16);
	t_req_init(&r3, FUSE_STATFS, 0, 16);
	t_send_read(&e, &e.dev, &r1);
	t_send_read(&e, &e.dev, &r2);
	fdk_send(&e.fc, &r3.req);
	u1 = t_unique(&r1);
	u2 = t_unique(&r2);
	fdk_interrupt(&r2.req, false);

	T_EQ(resend(), 16);
	T_EQ(e.dev.nprocessing, 0);
	T_CHECK(r1.req.flags & FR_PENDING);
	T_CHECK(!(r1.req.flags & FR_SENT));
	/* The interrupt went with the request: not read before it. */
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->opcode, FUSE_GETATTR);
	T_EQ(t_hdr(&e)->unique, u1 | FUSE_UNIQUE_RESEND);
	T_EQ(t_read(&e, T_RSIZE), 44);
	T_EQ(t_hdr(&e)->opcode, FUSE_LOOKUP);
	T_EQ(t_hdr(&e)->unique, u2 | FUSE_UNIQUE_RESEND);
	/* Read again, r2 gets its interrupt again. */
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, u2 | FUSE_UNIQUE_RESEND | FUSE_INT_REQ_BIT);
	T_EQ(t_read(&e, T_RSIZE), 40);
	T_EQ(t_hdr(&e)->opcode, FUSE_STATFS);

	/* Answers go by the new unique; the old one is unknown now. */
	T_EQ(t_write(&e, &e.dev, u1, 0, r1.out[0], 16), -ENOENT);
	T_EQ(r1.ends, 0);
	T_EQ(t_write(&e, &e.dev, u1 | FUSE_UNIQUE_RESEND, 0, r1.out[0], 16),
	     32);
	T_EQ(r1.ends, 1);
	T_EQ(r1.error, 0);
	T_EQ(t_write(&e, &e.dev, u2 | FUSE_UNIQUE_RESEND, -ENOENT, NULL, 0),
	     16);
	T_EQ(r2.ends, 1);
	T_EQ(r2.error, -ENOENT);
	t_env_fini(&e);
	T_EQ(r3.ends, 1);
	T_EQ(r3.error, -ECONNABORTED);
}

/* After an abort it does nothing: the requests ended with the abort. */
static void test_after_abort(void)
{
	struct t_req r1;

	t_env_start(&e, FDK_MINOR, 4096);
	t_req_init(&r1, FUSE_GETATTR, 16, 16);
	t_send_read(&e, &e.dev, &r1);
	fdk_abort_conn(&e.fc);
	T_EQ(r1.ends, 1);
	T_EQ(resend(), 16);
	T_EQ(t_read(&e, T_RSIZE), -ENODEV);
	T_EQ(r1.ends, 1);
	T_EQ(r1.error, -ECONNABORTED);
	t_env_fini(&e);
}

int main(void)
{
	test_resend();
	test_after_abort();
	return T_PASS;
}
