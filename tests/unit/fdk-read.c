/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk_dev_read (fuse_dev_do_read): EPERM unattached; EINVAL for a buffer
 * below max(8192, in_header + write_in + max_write), checked even with
 * nothing queued; EAGAIN when empty; FIFO; exactly in_h.len bytes in the
 * iovecs; a request larger than the buffer ends with EIO (E2BIG for
 * SETXATTR) and the read returns the next one; noreply requests end once
 * read.
 */
#include "unit.h"

static struct t_env e;

static void test_unattached(void)
{
	struct fdk_dev dev;
	struct fdk_readbuf rb;

	fdk_dev_init(&dev);
	T_EQ(fdk_dev_read(&dev, T_RSIZE, &rb), -EPERM);
	T_EQ(fdk_dev_read(&dev, 0, &rb), -EPERM);
	T_EQ(fdk_dev_read(&dev, 1 << 20, &rb), -EPERM);
}

static void test_size(void)
{
	struct t_req r;

	/* Before INIT: max_write is 4096, so 8192 is the floor. */
	t_env_init(&e);
	T_EQ(t_read(&e, 0), -EINVAL);
	T_EQ(t_read(&e, 40), -EINVAL);
	T_EQ(t_read(&e, T_RSIZE - 1), -EINVAL);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);

	/* After INIT with max_write 65536: 40 + 40 + 65536. */
	t_env_start(&e, 38, 65536);
	T_EQ(fdk_min_read_size(&e.fc), 65616);
	T_EQ(t_read(&e, T_RSIZE), -EINVAL);
	T_EQ(t_read(&e, 65615), -EINVAL);
	T_EQ(t_read(&e, 65616), -EAGAIN);
	/* A short buffer consumes nothing. */
	t_req_init(&r, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &r.req);
	T_EQ(t_read(&e, 65615), -EINVAL);
	T_CHECK(r.req.flags & FR_PENDING);
	T_EQ(r.ends, 0);
	T_EQ(t_read(&e, 65616), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r));
	t_env_fini(&e);
}

static void test_fifo(void)
{
	struct t_req r[4];
	static unsigned char a[100], c[7];
	const unsigned char *body;
	unsigned int i;

	t_env_start(&e, 38, 4096);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_req_init(&r[0], FUSE_GETATTR, 16, 0);
	t_req_init(&r[1], FUSE_STATFS, 0, 0);
	t_req_init(&r[2], FUSE_WRITE, 40 + 3000, 0);
	/* Three in args, the middle one empty: no iovec for it. */
	t_req_init(&r[3], FUSE_RENAME, 0, 0);
	for (i = 0; i < sizeof(a); i++)
		a[i] = (unsigned char)(0x40 + i);
	memcpy(c, "target", 7);
	r[3].req.in_numargs = 3;
	r[3].req.in_args[0] = (struct fdk_in_arg){ sizeof(a), a };
	r[3].req.in_args[1] = (struct fdk_in_arg){ 0, NULL };
	r[3].req.in_args[2] = (struct fdk_in_arg){ sizeof(c), c };
	for (i = 0; i < 4; i++) {
		r[i].req.in_h.nodeid = 100 + i;
		r[i].req.in_h.uid = 1000 + i;
		fdk_send(&e.fc, &r[i].req);
		T_CHECK(r[i].req.flags & FR_PENDING);
	}
	T_EQ(r[0].req.in_h.len, 56);
	T_EQ(r[1].req.in_h.len, 40);
	T_EQ(r[2].req.in_h.len, 40 + 40 + 3000);
	T_EQ(r[3].req.in_h.len, 40 + 100 + 7);

	for (i = 0; i < 4; i++) {
		T_EQ(t_read(&e, T_RSIZE), r[i].req.in_h.len);
		T_EQ(t_hdr(&e)->unique, t_unique(&r[i]));
		T_EQ(t_hdr(&e)->opcode, r[i].req.in_h.opcode);
		T_EQ(t_hdr(&e)->nodeid, 100 + i);
		T_EQ(t_hdr(&e)->uid, 1000 + i);
		T_CHECK(!(r[i].req.flags & FR_PENDING));
		T_CHECK(r[i].req.flags & FR_SENT);
		T_CHECK(r[i].req.dev == &e.dev);
		T_EQ(e.dev.nprocessing, i + 1);
		T_EQ(r[i].ends, 0);
		body = t_body(&e);
		if (i == 3) {
			T_EQ(e.rb.niov, 3);
			T_CHECK(!memcmp(body, a, sizeof(a)));
			T_CHECK(!memcmp(body + sizeof(a), c, sizeof(c)));
		} else if (r[i].req.in_numargs) {
			T_CHECK(!memcmp(body, t_pattern,
					r[i].req.in_args[0].size));
		}
	}
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	t_env_fini(&e);
	for (i = 0; i < 4; i++)
		T_EQ(r[i].error, -ECONNABORTED);
}

static void test_too_large(void)
{
	struct t_req big, small1, xattr, small2, big2;
	unsigned int wakes;

	t_env_start(&e, 38, 4096);
	t_req_init(&big, FUSE_WRITE, 9000, 0);
	t_req_init(&small1, FUSE_GETATTR, 16, 0);
	t_req_init(&xattr, FUSE_SETXATTR, 9000, 0);
	t_req_init(&small2, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &big.req);
	fdk_send(&e.fc, &small1.req);
	fdk_send(&e.fc, &xattr.req);
	fdk_send(&e.fc, &small2.req);

	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&small1));
	T_EQ(big.ends, 1);
	T_EQ(big.error, -EIO);
	T_CHECK(!(big.req.flags & (FR_PENDING | FR_SENT)));
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&small2));
	T_EQ(xattr.ends, 1);
	T_EQ(xattr.error, -E2BIG);
	T_EQ(e.dev.nprocessing, 2);
	/* The daemon never saw them: replies find nothing. */
	T_EQ(t_write(&e, &e.dev, t_unique(&big), 0, NULL, 0), -ENOENT);
	T_EQ(t_write(&e, &e.dev, t_unique(&xattr), 0, NULL, 0), -ENOENT);
	T_EQ(big.ends, 1);

	/* Only a too-large request queued: it ends, the read is EAGAIN. */
	t_req_init(&big2, FUSE_WRITE, 9000, 0);
	fdk_send(&e.fc, &big2.req);
	T_EQ(t_read(&e, T_RSIZE), -EAGAIN);
	T_EQ(big2.ends, 1);
	T_EQ(big2.error, -EIO);

	/* A buffer that fits takes it whole. */
	t_req_init(&big2, FUSE_WRITE, 9000, 0);
	fdk_send(&e.fc, &big2.req);
	wakes = e.log.wakes;
	T_EQ(t_read(&e, 40 + 9000), 9040);
	T_EQ(t_hdr(&e)->unique, t_unique(&big2));
	T_CHECK(!memcmp(t_body(&e), t_pattern, 9000));
	T_EQ(big2.ends, 0);
	T_EQ(e.log.wakes, wakes);
	t_env_fini(&e);
	T_EQ(big2.error, -ECONNABORTED);
	T_EQ(big.ends, 1);
}

/* A request with no reply (FR_ISREPLY clear) ends once read. */
static void test_noreply(void)
{
	struct t_req nr, r;

	t_env_start(&e, 38, 4096);
	t_req_init(&nr, FUSE_NOTIFY_REPLY, 24, 0);
	nr.req.flags = 0;
	nr.req.in_h.unique = 12345;
	t_req_init(&r, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &nr.req);
	fdk_send(&e.fc, &r.req);
	T_EQ(nr.ends, 0);
	T_EQ(t_read(&e, T_RSIZE), 64);
	T_EQ(t_hdr(&e)->unique, 12345);
	T_EQ(nr.ends, 1);
	T_EQ(nr.error, 0);
	T_EQ(e.dev.nprocessing, 0);
	T_EQ(t_write(&e, &e.dev, 12345, 0, NULL, 0), -ENOENT);
	T_EQ(t_read(&e, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&r));
	t_env_fini(&e);
	T_EQ(nr.ends, 1);
}

int main(void)
{
	test_unattached();
	test_size();
	test_fifo();
	test_too_large();
	test_noreply();
	return T_PASS;
}
