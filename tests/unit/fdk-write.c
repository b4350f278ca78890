/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdk_dev_write for replies (fuse_dev_do_write, copy_out_args): header
 * and length checks, the error range, lookup on this open's processing
 * list only, error replies with a body, payloads longer or shorter than
 * the out args, and the byte count on success.
 */
#include "unit.h"

static struct t_env e;

/* A request with a 32-byte out arg, read by the daemon. */
static void sent(struct t_req *r)
{
	t_req_init(r, FUSE_GETATTR, 16, 32);
	t_send_read(&e, &e.dev, r);
}

static void test_header(void)
{
	struct t_req r;
	struct fuse_out_header oh;
	struct fdk_dev lone;
	unsigned char buf[64] = { 0 };

	t_env_start(&e, 38, 4096);
	sent(&r);

	fdk_dev_init(&lone);
	oh = (struct fuse_out_header){ 16, 0, t_unique(&r) };
	T_EQ(fdk_dev_write(&lone, &oh, sizeof(oh)), -EPERM);

	/* Shorter than the header. */
	memcpy(buf, &oh, sizeof(oh));
	T_EQ(fdk_dev_write(&e.dev, buf, 15), -EINVAL);
	T_EQ(fdk_dev_write(&e.dev, buf, 0), -EINVAL);
	/* oh.len differs from the bytes written. */
	oh.len = 17;
	memcpy(buf, &oh, sizeof(oh));
	T_EQ(fdk_dev_write(&e.dev, buf, 16), -EINVAL);
	oh.len = 16;
	memcpy(buf, &oh, sizeof(oh));
	T_EQ(fdk_dev_write(&e.dev, buf, 20), -EINVAL);
	oh.len = 48 + 8;
	memcpy(buf, &oh, sizeof(oh));
	T_EQ(fdk_dev_write(&e.dev, buf, 48), -EINVAL);
	/* None of that touched the request. */
	T_EQ(r.ends, 0);
	T_CHECK(r.req.flags & FR_SENT);

	/* Errors must be 0 or in (-512, 0). */
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 1, NULL, 0), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 4096, NULL, 0), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -512, NULL, 0), -EINVAL);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -1000, NULL, 0), -EINVAL);
	T_EQ(r.ends, 0);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -511, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -511);
	t_env_fini(&e);
}

static void test_unique(void)
{
	struct t_req r, p;
	struct fdk_dev dev2;

	t_env_start(&e, 38, 4096);
	sent(&r);
	T_EQ(t_write(&e, &e.dev, 999998, 0, NULL, 0), -ENOENT);
	T_EQ(t_write(&e, &e.dev, t_unique(&r) + 2, -EIO, NULL, 0), -ENOENT);
	/* Queued but not read yet: not on processing. */
	t_req_init(&p, FUSE_GETATTR, 16, 0);
	fdk_send(&e.fc, &p.req);
	T_EQ(t_write(&e, &e.dev, t_unique(&p), 0, NULL, 0), -ENOENT);
	T_EQ(p.ends, 0);

	/* Read on a clone: only the clone may answer it. */
	fdk_dev_init(&dev2);
	T_EQ(fdk_dev_clone(&dev2, &e.dev), 0);
	T_EQ(t_read_dev(&e, &dev2, T_RSIZE), 56);
	T_EQ(t_hdr(&e)->unique, t_unique(&p));
	T_EQ(t_write(&e, &e.dev, t_unique(&p), 0, NULL, 0), -ENOENT);
	T_EQ(p.ends, 0);
	T_EQ(t_write(&e, &dev2, t_unique(&p), 0, NULL, 0), 16);
	T_EQ(p.ends, 1);
	T_EQ(p.error, 0);
	/* And the other way round. */
	T_EQ(t_write(&e, &dev2, t_unique(&r), 0, NULL, 0), -ENOENT);
	T_EQ(r.ends, 0);
	/* Answered once: a second answer finds nothing. */
	T_EQ(t_write(&e, &dev2, t_unique(&p), 0, NULL, 0), -ENOENT);
	T_EQ(p.ends, 1);
	fdk_dev_release(&dev2);
	t_env_fini(&e);
	T_EQ(r.error, -ECONNABORTED);
}

static void test_bad_payload(void)
{
	struct t_req r;
	static unsigned char pay[64];

	t_env_start(&e, 38, 4096);

	/* An error reply with a body: EINVAL to the daemon, EIO to the
	 * caller. */
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -ENOENT, pay, 4), -EINVAL);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -EIO);
	T_EQ(e.dev.nprocessing, 0);

	/* Longer than the out args. */
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 33), -EINVAL);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -EIO);

	/* Shorter, and the reply is not variable-length. */
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 31), -EINVAL);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -EIO);
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), -EINVAL);
	T_EQ(r.error, -EIO);

	/* No out args at all, and a payload. */
	t_req_init(&r, FUSE_FLUSH, 24, 0);
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 1), -EINVAL);
	T_EQ(r.error, -EIO);
	t_env_fini(&e);
}

static void test_success(void)
{
	struct t_req r;
	static unsigned char pay[200];
	unsigned int i;

	for (i = 0; i < sizeof(pay); i++)
		pay[i] = (unsigned char)(0xc0 ^ i);
	t_env_start(&e, 38, 4096);

	/* Exact size: copied, the byte count returned. */
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 32), 48);
	T_EQ(r.ends, 1);
	T_EQ(r.error, 0);
	T_EQ(r.req.out_h.len, 32);
	T_CHECK(!memcmp(r.out[0], pay, 32));
	T_CHECK(!(r.req.flags & (FR_SENT | FR_PENDING)));
	T_CHECK(r.req.flags & FR_FINISHED);
	T_EQ(e.dev.nprocessing, 0);

	/* Two out args, both filled in order. */
	t_req_init(&r, FUSE_CREATE, 16, 0);
	r.req.out_numargs = 2;
	r.req.out_args[0] = (struct fdk_out_arg){ 24, r.out[0] };
	r.req.out_args[1] = (struct fdk_out_arg){ 40, r.out[1] };
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 64), 80);
	T_CHECK(!memcmp(r.out[0], pay, 24));
	T_CHECK(!memcmp(r.out[1], pay + 24, 40));
	T_EQ(r.error, 0);

	/* Variable-length: the last arg shrinks to what came. */
	t_req_init(&r, FUSE_READ, 40, 0);
	r.req.out_numargs = 2;
	r.req.out_args[0] = (struct fdk_out_arg){ 16, r.out[0] };
	r.req.out_args[1] = (struct fdk_out_arg){ 100, r.out[1] };
	r.req.out_argvar = true;
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 16 + 40), 72);
	T_EQ(r.error, 0);
	T_EQ(r.req.out_args[0].size, 16);
	T_EQ(r.req.out_args[1].size, 40);
	T_EQ(r.req.out_h.len, 56);
	T_CHECK(!memcmp(r.out[0], pay, 16));
	T_CHECK(!memcmp(r.out[1], pay + 16, 40));

	/* Variable-length, down to an empty last arg. */
	t_req_init(&r, FUSE_READLINK, 0, 100);
	r.req.out_argvar = true;
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(r.error, 0);
	T_EQ(r.req.out_args[0].size, 0);

	/* Variable-length, but shorter than the fixed args before it. */
	t_req_init(&r, FUSE_READ, 40, 0);
	r.req.out_numargs = 2;
	r.req.out_args[0] = (struct fdk_out_arg){ 16, r.out[0] };
	r.req.out_args[1] = (struct fdk_out_arg){ 100, r.out[1] };
	r.req.out_argvar = true;
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 10), -EINVAL);
	T_EQ(r.error, -EIO);

	/* Variable-length, longer than the room: still EINVAL. */
	t_req_init(&r, FUSE_READLINK, 0, 100);
	r.req.out_argvar = true;
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, pay, 101), -EINVAL);
	T_EQ(r.error, -EIO);

	/* No out args, empty success reply. */
	t_req_init(&r, FUSE_FLUSH, 24, 0);
	t_send_read(&e, &e.dev, &r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), 0, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(r.error, 0);

	/* An error reply, header only: the caller gets that error. */
	sent(&r);
	T_EQ(t_write(&e, &e.dev, t_unique(&r), -ENOENT, NULL, 0), 16);
	T_EQ(r.ends, 1);
	T_EQ(r.error, -ENOENT);
	t_env_fini(&e);
	T_EQ(r.ends, 1);
}

int main(void)
{
	t_pattern_fill();
	test_header();
	test_unique();
	test_bad_payload();
	test_success();
	return T_PASS;
}
