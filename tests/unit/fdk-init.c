/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INIT (fuse_send_init / process_init_reply): the first request; other
 * requests wait (FR_WAITING) until its reply is written; a wrong major or
 * an error refuses the connection (ECONNREFUSED); the minor, flags and
 * limits are negotiated down; short replies of older daemons are taken.
 */
#include "unit.h"

static struct t_env e;

/* Connection with INIT read but not answered, and two waiting requests. */
static void start_waiting(struct t_req *r1, struct t_req *r2, uint64_t flags)
{
	t_env_init(&e);
	t_req_init(r1, FUSE_GETATTR, 16, 0);
	/* Sent before INIT is even queued: still waits for it. */
	fdk_send(&e.fc, &r1->req);
	fdk_send_init(&e.fc, flags);
	t_req_init(r2, FUSE_LOOKUP, 4, 0);
	fdk_send(&e.fc, &r2->req);
	T_CHECK(r1->req.flags & FR_WAITING);
	T_CHECK(!(r1->req.flags & FR_PENDING));
	T_CHECK(r2->req.flags & FR_WAITING);
	T_EQ(r1->ends + r2->ends, 0);
}

static void test_first(void)
{
	struct t_req r1, r2, r3;
	struct fuse_init_in *in;
	struct fuse_init_out out = t_init_out(38, 4096);
	uint64_t offered = FUSE_ASYNC_READ | FUSE_MAX_PAGES |
			   (1ULL << 33);
	unsigned int wakes;

	start_waiting(&r1, &r2, offered);
	T_EQ(fdk_dev_poll(&e.dev), POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
	T_EQ(t_read(&e, T_RSIZE), 40 + 64);
	T_EQ(t_hdr(&e)->opcode, FUSE_INIT);
	T_EQ(t_hdr(&e)->nodeid, 0);
	in = t_body(&e);
	T_EQ(in->major, FUSE_KERNEL_VERSION);
	T_EQ(in->minor, FDK_MINOR);
	T_CHECK(in->max_readahead > 0);
	T_EQ(in->flags, (uint32_t)offered | FUSE_INIT_EXT);
	T_EQ(in->flags2, offered >> 32);

	/* The others wait: nothing readable until the INIT reply. */
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(fdk_dev_poll(&e.dev), POLLOUT | POLLWRNORM);
	T_CHECK(!e.fc.initialized);
	T_EQ(e.log.inits, 0);
	t_req_init(&r3, FUSE_STATFS, 0, 0);
	fdk_send(&e.fc, &r3.req);
	T_CHECK(r3.req.flags & FR_WAITING);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);

	wakes = e.log.wakes;
	T_EQ(t_write(&e, &e.dev, t_hdr(&e)->unique, 0, &out, sizeof(out)),
	     16 + 64);
	T_CHECK(e.fc.initialized);
	T_EQ(e.log.inits, 1);
	T_CHECK(e.log.wakes > wakes);
	T_CHECK(!(r1.req.flags & FR_WAITING));
	T_CHECK(r1.req.flags & FR_PENDING);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r1));
	T_EQ(t_read(&e, T_RSIZE), 44);
	T_EQ(t_hdr(&e)->unique, t_unique(&r2));
	T_EQ(t_read(&e, T_RSIZE), 40);
	T_EQ(t_hdr(&e)->unique, t_unique(&r3));
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
	T_EQ(r1.error, -ECONNABORTED);
}

/* The INIT reply refuses the connection: waiting and new requests fail. */
static void check_refused(const struct fuse_init_out *out, size_t len,
			  int reply_error, ssize_t write_ret)
{
	struct t_req r1, r2, r3;

	start_waiting(&r1, &r2, 0);
	T_EQ(t_read(&e, T_RSIZE), 104);
	T_EQ(t_write(&e, &e.dev, t_hdr(&e)->unique, reply_error, out, len),
	     write_ret);
	T_CHECK(e.fc.initialized);
	T_CHECK(e.fc.conn_error);
	T_EQ(e.log.inits, 1);
	T_EQ(r1.ends, 1);
	T_EQ(r1.error, -ECONNREFUSED);
	T_EQ(r2.ends, 1);
	T_EQ(r2.error, -ECONNREFUSED);
	T_EQ(fdk_conn_error(&e.fc), -ECONNREFUSED);
	t_req_init(&r3, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r3.req);
	T_EQ(r3.ends, 1);
	T_EQ(r3.error, -ECONNREFUSED);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(e.fc.num_background, 0);
	t_env_fini(&e);
	T_EQ(r3.ends, 1);
}

static void test_refused(void)
{
	struct fuse_init_out out = t_init_out(38, 4096);

	out.major = 8;
	check_refused(&out, sizeof(out), 0, 80);
	out.major = 6;
	check_refused(&out, sizeof(out), 0, 80);
	/* The daemon answers INIT with an error. */
	check_refused(NULL, 0, -EPROTO, 16);
	/* A reply longer than fuse_init_out: EINVAL, INIT ends with EIO. */
	{
		unsigned char big[sizeof(out) + 8] = { 0 };

		out.major = 7;
		memcpy(big, &out, sizeof(out));
		check_refused((struct fuse_init_out *)big, sizeof(big), 0,
			      -EINVAL);
	}
	/* Older than the emulator supports (FDK_MIN_MINOR). */
	out = t_init_out(FDK_MIN_MINOR - 1, 4096);
	check_refused(&out, sizeof(out), 0, 80);
}

static void check_minor(uint32_t daemon, uint32_t expected)
{
	t_env_start(&e, daemon, 4096);
	T_EQ(e.fc.minor, expected);
	t_env_fini(&e);
}

static void test_minor(void)
{
	check_minor(19, 19);
	check_minor(31, 31);
	check_minor(FDK_MIN_MINOR, FDK_MIN_MINOR);
	check_minor(FDK_MINOR, FDK_MINOR);
	check_minor(FDK_MINOR + 5, FDK_MINOR);
}

static void check_max_write(uint64_t offered, uint32_t reply_flags,
			    uint16_t max_pages, uint32_t max_write,
			    uint32_t exp_pages, uint32_t exp_write)
{
	struct fuse_init_out out = t_init_out(38, max_write);
	size_t min;

	out.flags = reply_flags;
	out.max_pages = max_pages;
	t_env_init(&e);
	fdk_send_init(&e.fc, offered);
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_CHECK(!e.fc.conn_error);
	T_EQ(e.fc.max_pages, exp_pages);
	T_EQ(e.fc.max_write, exp_write);
	T_CHECK(e.fc.max_write >= 4096);
	T_CHECK(e.fc.max_write <= e.fc.max_pages * 4096);
	/* The read size check follows the negotiated max_write. */
	min = 40 + 40 + exp_write;
	if (min < FUSE_MIN_READ_BUFFER)
		min = FUSE_MIN_READ_BUFFER;
	T_EQ(fdk_min_read_size(&e.fc), min);
	T_EQ(t_read(&e, min - 1), -EINVAL);
	T_EQ(t_read(&e, min), -EAGAIN);
	t_env_fini(&e);
}

static void test_max_write(void)
{
	check_max_write(0, 0, 0, 1000, 32, 4096);
	check_max_write(0, 0, 0, 0, 32, 4096);
	check_max_write(0, 0, 0, 65536, 32, 65536);
	check_max_write(0, 0, 0, 1 << 20, 32, 32 * 4096);
	/* max_pages only counts when FUSE_MAX_PAGES was offered and taken. */
	check_max_write(0, FUSE_MAX_PAGES, 256, 1 << 20, 32, 32 * 4096);
	check_max_write(FUSE_MAX_PAGES, 0, 256, 1 << 20, 32, 32 * 4096);
	check_max_write(FUSE_MAX_PAGES, FUSE_MAX_PAGES, 16, 1 << 20,
			16, 16 * 4096);
	check_max_write(FUSE_MAX_PAGES, FUSE_MAX_PAGES, 256, 1 << 20,
			FDK_MAX_PAGES, FDK_MAX_PAGES * 4096);
	check_max_write(FUSE_MAX_PAGES, FUSE_MAX_PAGES, 64, 8192,
			64 < FDK_MAX_PAGES ? 64 : FDK_MAX_PAGES, 8192);
}

/* Older daemons write only the first 24 (or 8) bytes of fuse_init_out. */
static void check_short(uint32_t minor, size_t len, uint32_t exp_write)
{
	struct fuse_init_out out = t_init_out(minor, 65536);
	struct t_req r1, r2;

	out.max_background = 5;
	start_waiting(&r1, &r2, FUSE_ASYNC_READ);
	out.flags = FUSE_ASYNC_READ;
	T_EQ(t_answer_init(&e, &out, len), 16 + len);
	T_CHECK(e.fc.initialized);
	T_CHECK(!e.fc.conn_error);
	T_EQ(e.fc.minor, minor);
	T_EQ(e.fc.max_write, exp_write);
	if (len >= 24)
		T_EQ(e.fc.max_background, 5);
	else
		T_EQ(e.fc.max_background, FDK_DEFAULT_MAX_BG);
	T_EQ(t_read(&e, fdk_min_read_size(&e.fc)), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r1));
	t_env_fini(&e);
}

static void test_short(void)
{
	check_short(22, FUSE_COMPAT_22_INIT_OUT_SIZE, 65536);
	check_short(13, FUSE_COMPAT_22_INIT_OUT_SIZE, 65536);
	check_short(FDK_MIN_MINOR, FUSE_COMPAT_INIT_OUT_SIZE, 4096);
}

/* Flags: only what was offered is kept; flags2 with FUSE_INIT_EXT. */
static void test_flags(void)
{
	struct fuse_init_out out = t_init_out(38, 4096);
	uint64_t hi = 1ULL << 33;

	t_env_init(&e);
	fdk_send_init(&e.fc, FUSE_ASYNC_READ | FUSE_ABORT_ERROR | hi);
	out.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ABORT_ERROR |
		    FUSE_INIT_EXT;
	out.flags2 = (hi | (1ULL << 34)) >> 32;
	out.max_background = 7;
	out.congestion_threshold = 5;
	out.time_gran = 1000;
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(e.fc.flags & ~(uint64_t)FUSE_INIT_EXT,
	     FUSE_ASYNC_READ | FUSE_ABORT_ERROR | hi);
	T_EQ(e.fc.max_background, 7);
	T_EQ(e.fc.congestion_threshold, 5);
	T_EQ(e.fc.time_gran, 1000);
	t_env_fini(&e);

	/* Without FUSE_INIT_EXT flags2 is ignored. */
	t_env_init(&e);
	fdk_send_init(&e.fc, FUSE_ASYNC_READ | hi);
	out.flags = FUSE_ASYNC_READ;
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(e.fc.flags, FUSE_ASYNC_READ);
	t_env_fini(&e);
}

/* The rules process_init_reply applies to the flags taken. */
static void check_rules(uint64_t offered, uint64_t reply, bool dp_option,
			bool exp_error, bool exp_dp)
{
	struct fuse_init_out out = t_init_out(31, 4096);

	t_env_init(&e);
	e.fc.default_permissions = dp_option;
	fdk_send_init(&e.fc, offered);
	out.flags = (uint32_t)reply | FUSE_INIT_EXT;
	out.flags2 = reply >> 32;
	T_EQ(t_answer_init(&e, &out, sizeof(out)), 80);
	T_EQ(e.fc.conn_error, exp_error);
	T_EQ(e.fc.default_permissions, exp_dp);
	if (!exp_error)
		T_EQ(e.fc.flags & ~(uint64_t)FUSE_INIT_EXT, reply & offered);
	t_env_fini(&e);
}

static void test_rules(void)
{
	uint64_t all = FUSE_POSIX_ACL | FUSE_ALLOW_IDMAP | FUSE_ASYNC_READ;

	/* flags2 counts with FUSE_INIT_EXT at any minor (libfuse 3.14
	 * answers 7.31 with it set). */
	check_rules(all, FUSE_ASYNC_READ, false, false, false);
	/* FUSE_POSIX_ACL turns default_permissions on. */
	check_rules(all, FUSE_POSIX_ACL, false, false, true);
	check_rules(FUSE_ASYNC_READ, FUSE_POSIX_ACL, false, false, false);
	/* FUSE_ALLOW_IDMAP without default_permissions: refused. */
	check_rules(all, FUSE_ALLOW_IDMAP, false, true, false);
	check_rules(all, FUSE_ALLOW_IDMAP, true, false, true);
	check_rules(all, FUSE_ALLOW_IDMAP | FUSE_POSIX_ACL, false, false,
		    true);
}

int main(void)
{
	test_first();
	test_refused();
	test_minor();
	test_max_write();
	test_short();
	test_flags();
	test_rules();
	return T_PASS;
}
