/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Request IDs (fuse_get_unique): never 0, even, increasing; FORGET and
 * BATCH_FORGET take fresh ones; an INTERRUPT carries unique | 1 and takes
 * none; NOTIFY_REPLY keeps the unique it was given.
 */
#include "unit.h"

static struct t_env e;

static void check_id(uint64_t id, uint64_t *last)
{
	T_CHECK(id != 0);
	T_EQ(id & 1, 0);
	T_CHECK(id > *last);
	*last = id;
}

int main(void)
{
	struct t_req r[6], nr;
	uint64_t last = 0, init_id, id;
	int i;

	t_env_init(&e);
	fdk_send_init(&e.fc, 0);
	T_EQ(t_read(&e, T_RSIZE), 104);
	T_EQ(t_hdr(&e)->opcode, FUSE_INIT);
	init_id = t_hdr(&e)->unique;
	check_id(init_id, &last);
	{
		struct fuse_init_out out = t_init_out(38, 4096);

		T_EQ(t_write(&e, &e.dev, init_id, 0, &out, sizeof(out)), 80);
	}

	/* Ordinary requests: numbered in send order, stepping by 2. */
	for (i = 0; i < 5; i++) {
		t_req_init(&r[i], FUSE_GETATTR, 16, 0);
		fdk_send(&e.fc, &r[i].req);
		check_id(t_unique(&r[i]), &last);
		T_EQ(t_unique(&r[i]), init_id + 2 * (i + 1));
	}
	for (i = 0; i < 5; i++) {
		T_EQ(t_read(&e, T_RSIZE), 56);
		T_EQ(t_hdr(&e)->unique, t_unique(&r[i]));
	}

	/* FORGET: a fresh ID at read time. */
	fdk_queue_forget(&e.fc, 10, 1);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_FORGET);
	check_id(t_hdr(&e)->unique, &last);
	for (i = 0; i < 5; i++)
		T_CHECK(t_hdr(&e)->unique != t_unique(&r[i]));

	/* BATCH_FORGET: another fresh one. */
	fdk_queue_forget(&e.fc, 11, 1);
	fdk_queue_forget(&e.fc, 12, 1);
	fdk_queue_forget(&e.fc, 13, 1);
	T_EQ(t_read(&e, T_RSIZE), 48 + 3 * 16);
	T_EQ(t_hdr(&e)->opcode, FUSE_BATCH_FORGET);
	check_id(t_hdr(&e)->unique, &last);

	/* The counter is shared: the next request follows the forgets. */
	t_req_init(&r[5], FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r[5].req);
	check_id(t_unique(&r[5]), &last);
	T_EQ(t_read(&e, T_RSIZE), 56);

	/* INTERRUPT: the request's unique with bit 0 set, no new ID. */
	fdk_interrupt(&r[5].req, false);
	T_EQ(t_read(&e, T_RSIZE), 48);
	T_EQ(t_hdr(&e)->opcode, FUSE_INTERRUPT);
	T_EQ(t_hdr(&e)->unique, t_unique(&r[5]) | FUSE_INT_REQ_BIT);
	T_EQ(((struct fuse_interrupt_in *)t_body(&e))->unique,
	     t_unique(&r[5]));
	id = e.fc.reqctr;
	T_EQ(id, t_unique(&r[5]));

	/* NOTIFY_REPLY: the unique of the RETRIEVE, counter untouched. */
	t_req_init(&nr, FUSE_NOTIFY_REPLY, 24, 0);
	nr.req.flags = 0;
	nr.req.in_h.unique = 777;
	fdk_send(&e.fc, &nr.req);
	T_EQ(t_unique(&nr), 777);
	T_EQ(e.fc.reqctr, id);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, 777);
	T_EQ(nr.ends, 1);

	/* Replies end the requests; IDs are not reused. */
	for (i = 0; i < 6; i++) {
		T_EQ(t_write(&e, &e.dev, t_unique(&r[i]), 0, NULL, 0), 16);
		T_EQ(r[i].ends, 1);
	}
	t_req_init(&r[0], FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r[0].req);
	check_id(t_unique(&r[0]), &last);
	T_EQ(t_read(&e, T_RSIZE), 56);
	t_env_fini(&e);
	T_EQ(r[0].ends, 1);
	T_EQ(r[0].error, -ECONNABORTED);
	return T_PASS;
}
