/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Notifications (unique 0, error = code) in fdk_dev_write, as fuse_notify
 * checks them: unknown codes EINVAL; POLL, INVAL_INODE and RETRIEVE of
 * exact size; INVAL_ENTRY and DELETE of sizeof(out) + namelen + 1 with
 * namelen <= 1024 (else ENAMETOOLONG); STORE of sizeof(out) + out.size.
 * Valid ones reach ops->poll_wakeup or ops->notify, whose result the
 * write returns.
 */
#include "unit.h"

static struct t_env e;
static unsigned char msg[4096];

static ssize_t notify(int code, size_t size)
{
	return t_write(&e, &e.dev, 0, code, msg, size);
}

/* @size bytes of code @code pass the checks and reach ops->notify. */
static void expect_delivered(int code, size_t size)
{
	unsigned int n = e.log.notifies;

	T_EQ(notify(code, size), 16 + size);
	T_EQ(e.log.notifies, n + 1);
	T_EQ(e.log.code, code);
	T_EQ(e.log.size, size);
	T_CHECK(!memcmp(e.log.arg, msg, size < sizeof(e.log.arg) ? size :
			sizeof(e.log.arg)));
}

static void expect_refused(int code, size_t size, int err)
{
	unsigned int n = e.log.notifies, p = e.log.polls;

	T_EQ(notify(code, size), err);
	T_EQ(e.log.notifies, n);
	T_EQ(e.log.polls, p);
}

static void test_unknown(void)
{
	expect_refused(0, 0, -EINVAL);
	expect_refused(0, 24, -EINVAL);
	expect_refused(FUSE_NOTIFY_CODE_MAX + 10, 8, -EINVAL);
	expect_refused(100, 16, -EINVAL);
	expect_refused(-1, 8, -EINVAL);
	expect_refused(-ENOENT, 0, -EINVAL);
}

static void test_poll(void)
{
	struct fuse_notify_poll_wakeup_out out = { .kh = 0x1234567890ULL };

	memcpy(msg, &out, sizeof(out));
	T_EQ(notify(FUSE_NOTIFY_POLL, sizeof(out)), 16 + sizeof(out));
	T_EQ(e.log.polls, 1);
	T_EQ(e.log.kh, 0x1234567890ULL);
	expect_refused(FUSE_NOTIFY_POLL, sizeof(out) - 1, -EINVAL);
	expect_refused(FUSE_NOTIFY_POLL, sizeof(out) + 1, -EINVAL);
	expect_refused(FUSE_NOTIFY_POLL, 0, -EINVAL);
}

static void test_inval_inode(void)
{
	struct fuse_notify_inval_inode_out out = { 5, 0, -1 };

	memcpy(msg, &out, sizeof(out));
	expect_delivered(FUSE_NOTIFY_INVAL_INODE, sizeof(out));
	expect_refused(FUSE_NOTIFY_INVAL_INODE, sizeof(out) - 1, -EINVAL);
	expect_refused(FUSE_NOTIFY_INVAL_INODE, sizeof(out) + 1, -EINVAL);
}

static void test_inval_entry(void)
{
	struct fuse_notify_inval_entry_out out = { .parent = 1 };

	memset(msg, 0, sizeof(msg));
	out.namelen = 3;
	memcpy(msg, &out, sizeof(out));
	memcpy(msg + sizeof(out), "abc", 4);
	expect_delivered(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) + 4);
	/* No room for the NUL, or extra bytes. */
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) + 3, -EINVAL);
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) + 5, -EINVAL);
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) - 1, -EINVAL);
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, 0, -EINVAL);

	/* The name limit: 1024 is fine, 1025 is too long even when the
	 * size matches. */
	memset(msg + sizeof(out), 'n', 1025);
	out.namelen = 1024;
	memcpy(msg, &out, sizeof(out));
	msg[sizeof(out) + 1024] = 0;
	expect_delivered(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) + 1025);
	out.namelen = 1025;
	memcpy(msg, &out, sizeof(out));
	msg[sizeof(out) + 1025] = 0;
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out) + 1026,
		       -ENAMETOOLONG);
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out), -ENAMETOOLONG);
	out.namelen = 0xffffffff;
	memcpy(msg, &out, sizeof(out));
	expect_refused(FUSE_NOTIFY_INVAL_ENTRY, sizeof(out), -ENAMETOOLONG);
}

static void test_delete(void)
{
	struct fuse_notify_delete_out out = { .parent = 1, .child = 2 };

	memset(msg, 0, sizeof(msg));
	out.namelen = 5;
	memcpy(msg, &out, sizeof(out));
	memcpy(msg + sizeof(out), "hello", 6);
	expect_delivered(FUSE_NOTIFY_DELETE, sizeof(out) + 6);
	expect_refused(FUSE_NOTIFY_DELETE, sizeof(out) + 5, -EINVAL);
	expect_refused(FUSE_NOTIFY_DELETE, sizeof(out) + 7, -EINVAL);
	expect_refused(FUSE_NOTIFY_DELETE, sizeof(out) - 1, -EINVAL);
	out.namelen = 1025;
	memcpy(msg, &out, sizeof(out));
	expect_refused(FUSE_NOTIFY_DELETE, sizeof(out) + 1026,
		       -ENAMETOOLONG);
	out.namelen = 1024;
	memcpy(msg, &out, sizeof(out));
	expect_delivered(FUSE_NOTIFY_DELETE, sizeof(out) + 1025);
}

static void test_store(void)
{
	struct fuse_notify_store_out out = { .nodeid = 3, .offset = 10 };

	memset(msg, 0x5a, sizeof(msg));
	out.size = 100;
	memcpy(msg, &out, sizeof(out));
	expect_delivered(FUSE_NOTIFY_STORE, sizeof(out) + 100);
	expect_refused(FUSE_NOTIFY_STORE, sizeof(out) + 99, -EINVAL);
	expect_refused(FUSE_NOTIFY_STORE, sizeof(out) + 101, -EINVAL);
	expect_refused(FUSE_NOTIFY_STORE, sizeof(out) - 1, -EINVAL);
	out.size = 0;
	memcpy(msg, &out, sizeof(out));
	expect_delivered(FUSE_NOTIFY_STORE, sizeof(out));
	out.size = 0xffffffff;
	memcpy(msg, &out, sizeof(out));
	expect_refused(FUSE_NOTIFY_STORE, sizeof(out) + 100, -EINVAL);
}

static void test_retrieve(void)
{
	struct fuse_notify_retrieve_out out = {
		.notify_unique = 77, .nodeid = 3, .offset = 0, .size = 4096,
	};

	memcpy(msg, &out, sizeof(out));
	expect_delivered(FUSE_NOTIFY_RETRIEVE, sizeof(out));
	expect_refused(FUSE_NOTIFY_RETRIEVE, sizeof(out) - 1, -EINVAL);
	expect_refused(FUSE_NOTIFY_RETRIEVE, sizeof(out) + 1, -EINVAL);
}

/* The owner's answer is the write's answer. */
static void test_owner_result(void)
{
	struct fuse_notify_inval_inode_out out = { 99, 0, 0 };

	memcpy(msg, &out, sizeof(out));
	e.log.notify_ret = -ENOENT;
	T_EQ(notify(FUSE_NOTIFY_INVAL_INODE, sizeof(out)), -ENOENT);
	e.log.notify_ret = 0;
	T_EQ(notify(FUSE_NOTIFY_INVAL_INODE, sizeof(out)), 16 + sizeof(out));
}

/* Notifications are taken before and without any request. */
static void test_header_checks(void)
{
	struct fuse_out_header oh = { 16 + 8, FUSE_NOTIFY_POLL, 0 };
	unsigned char buf[32] = { 0 };
	struct fdk_dev lone;

	memcpy(buf, &oh, sizeof(oh));
	T_EQ(fdk_dev_write(&e.dev, buf, 16 + 7), -EINVAL);
	fdk_dev_init(&lone);
	T_EQ(fdk_dev_write(&lone, buf, 16 + 8), -EPERM);
}

int main(void)
{
	t_env_start(&e, 38, 4096);
	test_unknown();
	test_poll();
	test_inval_inode();
	test_inval_entry();
	test_delete();
	test_store();
	test_retrieve();
	test_owner_result();
	test_header_checks();
	t_env_fini(&e);

	/* Before INIT too (Linux does not wait for it). */
	t_env_init(&e);
	{
		struct fuse_notify_inval_inode_out out = { 1, 0, 0 };

		memcpy(msg, &out, sizeof(out));
		expect_delivered(FUSE_NOTIFY_INVAL_INODE, sizeof(out));
	}
	t_env_fini(&e);
	return T_PASS;
}
