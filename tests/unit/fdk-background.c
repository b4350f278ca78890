/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Background requests (fuse_request_queue_background, flush_bg_queue):
 * at most max_background of them are queued for the daemon; the rest
 * wait in bg_queue, in order, and go one by one as earlier ones end.
 * Requests nobody waits for do not hold back the others.
 */
#include "unit.h"

static struct t_env e;

static void bg_init(struct t_req *r)
{
	t_req_init(r, FUSE_RELEASE, 24, 0);
	r->req.flags |= FR_BACKGROUND;
}

static void start(uint16_t max_background)
{
	struct fuse_init_out out = t_init_out(38, 4096);

	out.max_background = max_background;
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(e.fc.num_background, 0);
}

static void test_limit(void)
{
	struct t_req b[5], fg;
	unsigned int wakes;
	int i;

	start(2);
	T_EQ(e.fc.max_background, 2);
	for (i = 0; i < 5; i++) {
		bg_init(&b[i]);
		fdk_send(&e.fc, &b[i].req);
		T_CHECK(b[i].req.flags & FR_PENDING);
	}
	T_EQ(e.fc.num_background, 2);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[0]));
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[1]));
	/* The rest wait; the daemon sees nothing. */
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(fdk_dev_poll(&e.dev), POLLOUT | POLLWRNORM);

	/* Foreground requests are not held back. */
	t_req_init(&fg, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &fg.req);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&fg));
	T_EQ(t_write(&e, &e.dev, t_unique(&fg), 0, NULL, 0), 16);
	T_EQ(e.fc.num_background, 2);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* One ends: the next one goes, and readers are woken. */
	wakes = e.log.wakes;
	T_EQ(t_write(&e, &e.dev, t_unique(&b[0]), 0, NULL, 0), 16);
	T_EQ(b[0].ends, 1);
	T_CHECK(e.log.wakes > wakes);
	T_EQ(e.fc.num_background, 2);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[2]));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	/* An error reply frees a slot as well. */
	T_EQ(t_write(&e, &e.dev, t_unique(&b[1]), -EIO, NULL, 0), 16);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[3]));
	T_EQ(t_write(&e, &e.dev, t_unique(&b[2]), 0, NULL, 0), 16);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[4]));
	T_EQ(t_write(&e, &e.dev, t_unique(&b[3]), 0, NULL, 0), 16);
	T_EQ(e.fc.num_background, 1);
	T_EQ(t_write(&e, &e.dev, t_unique(&b[4]), 0, NULL, 0), 16);
	T_EQ(e.fc.num_background, 0);
	T_CHECK(list_empty(&e.fc.bg_queue));
	for (i = 0; i < 5; i++)
		T_EQ(b[i].ends, 1);
	t_env_fini(&e);
}

/* A slot freed by a request too large for the read buffer. */
static void test_too_large_frees(void)
{
	struct t_req big, b;

	start(1);
	t_req_init(&big, FUSE_WRITE, 9000, 0);
	big.req.flags |= FR_BACKGROUND;
	bg_init(&b);
	fdk_send(&e.fc, &big.req);
	fdk_send(&e.fc, &b.req);
	T_EQ(e.fc.num_background, 1);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b));
	T_EQ(big.error, -EIO);
	T_EQ(e.fc.num_background, 1);
	T_EQ(t_write(&e, &e.dev, t_unique(&b), 0, NULL, 0), 16);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
}

/* Background requests waiting for INIT go under the negotiated limit. */
static void test_waiting_for_init(void)
{
	struct t_req b[3];
	struct fuse_init_out out = t_init_out(38, 4096);
	int i;

	out.max_background = 2;
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	for (i = 0; i < 3; i++) {
		bg_init(&b[i]);
		fdk_send(&e.fc, &b[i].req);
		T_CHECK(b[i].req.flags & FR_WAITING);
	}
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(e.fc.num_background, 2);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[0]));
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[1]));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(t_write(&e, &e.dev, t_unique(&b[1]), 0, NULL, 0), 16);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, t_unique(&b[2]));
	T_EQ(t_write(&e, &e.dev, t_unique(&b[0]), 0, NULL, 0), 16);
	T_EQ(t_write(&e, &e.dev, t_unique(&b[2]), 0, NULL, 0), 16);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
}

/*
 * num_background counts what was let through to the daemon's queue
 * (Linux: active_background); requests that end from bg_queue or while
 * waiting for INIT were never counted and must not be taken off.
 */
static void test_count_on_abort(void)
{
	struct t_req b[4], w;
	int i;

	start(1);
	for (i = 0; i < 4; i++) {
		bg_init(&b[i]);
		fdk_send(&e.fc, &b[i].req);
	}
	T_EQ(e.fc.num_background, 1);
	T_EQ(t_read(&e, T_RSIZE), 64);
	fdk_abort_conn(&e.fc);
	for (i = 0; i < 4; i++) {
		T_EQ(b[i].ends, 1);
		T_EQ(b[i].error, -ECONNABORTED);
	}
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);

	/* Waiting for INIT at abort. */
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	bg_init(&b[0]);
	fdk_send(&e.fc, &b[0].req);
	T_CHECK(b[0].req.flags & FR_WAITING);
	fdk_abort_conn(&e.fc);
	T_EQ(b[0].ends, 1);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);

	/* Waiting for INIT, ended by a fatal signal: INIT alone counts. */
	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	T_EQ(e.fc.num_background, 1);
	bg_init(&w);
	fdk_send(&e.fc, &w.req);
	fdk_interrupt(&w.req, true);
	T_EQ(e.fc.num_background, 1);
	t_env_fini(&e);
	T_EQ(e.fc.num_background, 0);
}

/* A daemon that leaves max_background at 0 gets the default. */
static void test_default(void)
{
	struct t_req b[FDK_DEFAULT_MAX_BG + 1];
	int i;

	start(0);
	T_EQ(e.fc.max_background, FDK_DEFAULT_MAX_BG);
	for (i = 0; i < FDK_DEFAULT_MAX_BG + 1; i++) {
		bg_init(&b[i]);
		fdk_send(&e.fc, &b[i].req);
	}
	T_EQ(e.fc.num_background, FDK_DEFAULT_MAX_BG);
	for (i = 0; i < FDK_DEFAULT_MAX_BG; i++)
		T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	for (i = 0; i < FDK_DEFAULT_MAX_BG + 1; i++) {
		if (i == FDK_DEFAULT_MAX_BG)
			T_EQ(t_read(&e, T_RSIZE), 64);
		T_EQ(t_write(&e, &e.dev, t_unique(&b[i]), 0, NULL, 0), 16);
	}
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
}

int main(void)
{
	t_pattern_fill();
	test_limit();
	test_too_large_frees();
	test_waiting_for_init();
	test_count_on_abort();
	test_default();
	return T_PASS;
}
