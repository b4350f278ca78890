/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client port: a SOCK_SEQPACKET socket in the runtime directory, one
 * connection per shim thread.  Each request message becomes a fiber that
 * runs the VFS call and sends one reply; FDP_OP_INTERRUPT and a closed
 * connection interrupt the fibers of that connection the way a signal and
 * a fatal signal interrupt a kernel task's request.
 *
 * Every message is checked (sizes, lengths, NULs) before use; a bad one
 * gets EINVAL back and is logged once per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu.h"
#include "lock.h"
#include "sock.h"

#define PORT_INFLIGHT_MAX	64	/* per connection */
#define PORT_POOL_MAX		16
#define OP_BUF_SIZE		(2 * FDP_MSG_MAX)

struct pclient {
	struct list_head entry;		/* clients */
	int fd;
	struct emu_cred cred;
	unsigned int inflight;
	unsigned int refs;
	bool dead;
	bool paused;
	bool warned;
	struct list_head ops;
};

struct pop {
	struct list_head entry;
	struct pclient *c;
	struct fiber *fiber;
	struct fdp_hdr h;
	size_t len;
	char *buf;			/* [0, FDP_MSG_MAX) in, then out */
};

static int listen_fd = -1;
static struct list_head clients = LIST_HEAD_INIT(clients);
static void client_drain(struct pclient *c);
static void client_resume(void *data);
static char port_path[FUSEDEV_PATH_MAX];
static struct list_head buf_pool = LIST_HEAD_INIT(buf_pool);
static unsigned int npool;

static char *buf_get(void)
{
	struct list_head *e;

	if (list_empty(&buf_pool))
		return malloc(OP_BUF_SIZE);
	e = buf_pool.next;
	list_del_init(e);
	npool--;
	return (char *)e;
}

static void buf_put(char *b)
{
	if (npool >= PORT_POOL_MAX) {
		free(b);
		return;
	}
	list_add((struct list_head *)b, &buf_pool);
	npool++;
}

static void client_put(struct pclient *c)
{
	if (--c->refs)
		return;
	list_del_init(&c->entry);
	free(c);
}

static void client_dead(struct pclient *c)
{
	struct list_head *pos, *tmp;

	if (c->dead)
		return;
	c->dead = true;
	loop_del_fd(c->fd);
	close(c->fd);
	c->fd = -1;
	list_for_each_safe(pos, tmp, &c->ops) {
		struct pop *op = list_entry(pos, struct pop, entry);

		if (op->fiber) {
			*fiber_intr(op->fiber) = 2;
			fiber_wake(op->fiber);
		}
	}
	vfile_drop_unbound(c);
	client_put(c);
}

static void send_reply(struct pclient *c, const struct fdp_hdr *rq,
		       int error, const void *out, size_t outlen)
{
	struct fdp_hdr h = { 0 };
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)out, outlen },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = outlen ? 2 : 1 };

	if (c->dead)
		return;
	h.len = sizeof(h) + outlen;
	h.op = rq->op;
	h.id = rq->id;
	h.error = error;
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		emu_log("client pid %d: reply lost (%s); dropping the "
			"connection", c->cred.pid, strerror(errno));
		client_dead(c);
	}
}

static void bad_message(struct pclient *c, const struct fdp_hdr *h,
			const char *why)
{
	if (!c->warned) {
		emu_log("client pid %d: bad message (%s)", c->cred.pid, why);
		c->warned = true;
	}
	send_reply(c, h, -EINVAL, NULL, 0);
}

/* A NUL-terminated string of @len bytes at *@p within [*p, end). */
static const char *take_str(const char **p, const char *end, size_t len)
{
	const char *s = *p;

	if (len >= (size_t)(end - s) || s[len] != '\0')
		return NULL;
	*p = s + len + 1;
	return s;
}

static int op_mount(struct pop *op, const char *p, const char *end)
{
	struct fdp_mount_in in;
	const char *fstype, *source, *target, *data;
	struct emu_dev *dev;

	if ((size_t)(end - p) < sizeof(in))
		return -EINVAL;
	memcpy(&in, p, sizeof(in));
	p += sizeof(in);
	fstype = take_str(&p, end, in.fstype_len);
	source = fstype ? take_str(&p, end, in.source_len) : NULL;
	target = source ? take_str(&p, end, in.target_len) : NULL;
	data = target ? take_str(&p, end, in.data_len) : NULL;
	if (!data)
		return -EINVAL;
	dev = dev_find(in.dev_key);
	if (!dev)
		return -EINVAL;
	return vfs_mount(&op->c->cred, dev, fstype, source, target, data,
			 in.mountflags);
}

static void op_run(void *arg)
{
	struct pop *op = arg;
	struct pclient *c = op->c;
	const char *p = op->buf + sizeof(struct fdp_hdr);
	const char *end = op->buf + op->len;
	char *out = op->buf + FDP_MSG_MAX;
	size_t outlen = FDP_IO_MAX + 4096;
	int r;

	op->fiber = fiber_self();
	switch (op->h.op) {
	case FDP_OP_MOUNT:
		r = op_mount(op, p, end);
		outlen = 0;
		break;
	case FDP_OP_UMOUNT:
	case FDP_OP_STAT ... FDP_OP_REALPATH:
	case FDP_OP_BIND:
	case FDP_OP_CONNECT: {
		struct fdp_path_in in;
		const char *path, *path2 = NULL;

		r = -EINVAL;
		outlen = op->h.op == FDP_OP_UMOUNT ? 0 : outlen;
		if ((size_t)(end - p) < sizeof(in))
			break;
		memcpy(&in, p, sizeof(in));
		p += sizeof(in);
		r = -ENAMETOOLONG;
		if (in.path_len >= FUSEDEV_PATH_MAX ||
		    in.path2_len >= FUSEDEV_PATH_MAX)
			break;
		r = -EINVAL;
		path = take_str(&p, end, in.path_len);
		if (!path || (path[0] != '/' && !in.base))
			break;
		if (in.path2_len || op->h.op == FDP_OP_SYMLINK ||
		    op->h.op == FDP_OP_RENAME || op->h.op == FDP_OP_LINK) {
			path2 = take_str(&p, end, in.path2_len);
			if (!path2)
				break;
		}
		if (op->h.op == FDP_OP_UMOUNT)
			r = path[0] == '/' ? vfs_umount(&c->cred, path,
							in.flags) : -EINVAL;
		else
			r = vfs_path_op(&c->cred, op->h.op, &in, path, path2,
					p, end - p, out, &outlen, c);
		break;
	}
	case FDP_OP_FSTAT ... FDP_OP_COPY_RANGE: {
		struct fdp_file_in in;

		r = -EINVAL;
		if ((size_t)(end - p) < sizeof(in))
			break;
		memcpy(&in, p, sizeof(in));
		p += sizeof(in);
		if (in.size > FDP_IO_MAX && op->h.op != FDP_OP_FALLOCATE &&
		    op->h.op != FDP_OP_COPY_RANGE)
			break;
		r = vfs_file_op(&c->cred, op->h.op, &in, p, end - p, out,
				&outlen);
		break;
	}
	case FDP_OP_GETLK:
	case FDP_OP_SETLK:
		r = lock_port_op(&c->cred, op->h.op, p, end - p, out,
				 &outlen);
		break;
	case FDP_OP_SOCKNAME: {
		struct fdp_sock_out in;

		r = -EINVAL;
		if ((size_t)(end - p) != sizeof(in))
			break;
		memcpy(&in, p, sizeof(in));
		r = vsock_name(in.key, out, outlen);
		if (r > 0) {
			outlen = r;
			r = 0;
		}
		break;
	}
	default:
		r = -EINVAL;
		outlen = 0;
		break;
	}
	if (r < 0 || (r > 0 && r != FDP_EXTERNAL))
		outlen = 0;
	send_reply(c, &op->h, r, out, outlen);
	if (c->dead)
		vfile_drop_unbound(c);
	list_del_init(&op->entry);
	buf_put(op->buf);
	free(op);
	c->inflight--;
	if (c->paused && !c->dead) {
		/* Reading stopped at PORT_INFLIGHT_MAX: go on. */
		c->paused = false;
		c->refs++;
		loop_defer(client_resume, c);
	}
	client_put(c);
}

static void client_resume(void *data)
{
	struct pclient *c = data;

	if (!c->dead)
		client_drain(c);
	client_put(c);
}

static void interrupt_op(struct pclient *c, uint64_t id)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &c->ops) {
		struct pop *op = list_entry(pos, struct pop, entry);

		if (op->h.id == id && op->fiber) {
			if (!*fiber_intr(op->fiber))
				*fiber_intr(op->fiber) = 1;
			fiber_wake(op->fiber);
		}
	}
}

static void client_drain(struct pclient *c)
{
	for (;;) {
		struct iovec iov;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct fdp_hdr h = { 0 };
		struct pop *op;
		ssize_t n;
		char *buf;

		if (c->dead)
			return;
		if (c->inflight >= PORT_INFLIGHT_MAX) {
			c->paused = true;
			return;
		}
		buf = buf_get();
		if (!buf) {
			emu_log("out of memory on the client port");
			return;
		}
		iov.iov_base = buf;
		iov.iov_len = FDP_MSG_MAX;
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
		if (n <= 0) {
			buf_put(buf);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			client_dead(c);
			return;
		}
		if ((size_t)n >= sizeof(h))
			memcpy(&h, buf, sizeof(h));
		if ((size_t)n < sizeof(h) || h.len != (size_t)n ||
		    (msg.msg_flags & MSG_TRUNC) || !h.op || h.op >= FDP_OP_MAX) {
			buf_put(buf);
			bad_message(c, &h, (msg.msg_flags & MSG_TRUNC) ?
				    "too long" : "malformed header");
			continue;
		}
		if (h.op == FDP_OP_INTERRUPT) {
			struct fdp_interrupt in;

			if ((size_t)n >= sizeof(h) + sizeof(in)) {
				memcpy(&in, buf + sizeof(h), sizeof(in));
				interrupt_op(c, in.id);
			}
			buf_put(buf);
			continue;
		}
		if (h.op == FDP_OP_HELLO) {
			struct fdp_hello hello = {
				.version = FDP_PROTO_VERSION,
				.transport = emu_transport,
			};

			buf_put(buf);
			send_reply(c, &h, 0, &hello, sizeof(hello));
			continue;
		}
		op = calloc(1, sizeof(*op));
		if (!op) {
			buf_put(buf);
			send_reply(c, &h, -ENOMEM, NULL, 0);
			continue;
		}
		op->c = c;
		op->h = h;
		op->len = n;
		op->buf = buf;
		list_add_tail(&op->entry, &c->ops);
		c->inflight++;
		c->refs++;
		if (fiber_spawn(op_run, op) < 0) {
			list_del_init(&op->entry);
			c->inflight--;
			c->refs--;
			buf_put(buf);
			free(op);
			send_reply(c, &h, -ENOMEM, NULL, 0);
		}
	}
}

static void client_ready(void *data, int revents)
{
	struct pclient *c = data;

	client_drain(c);
}

static void listen_ready(void *data, int revents)
{
	for (;;) {
		struct ucred uc;
		socklen_t len = sizeof(uc);
		struct pclient *c;
		int fd;

		fd = accept4(listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 ||
		    (uc.uid && uc.uid != getuid())) {
			/* The runtime directory is the owner's; refuse
			 * anyone else who got a descriptor to it. */
			emu_log("client port: refused pid %d uid %d",
				uc.pid, uc.uid);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->refs = 1;
		list_add_tail(&c->entry, &clients);
		c->cred.uid = uc.uid;
		c->cred.gid = uc.gid;
		c->cred.pid = uc.pid;
		c->cred.ngroups = -1;
		list_init(&c->ops);
		if (loop_add_fd(fd, POLLIN, client_ready, c) < 0) {
			close(fd);
			list_del_init(&c->entry);
			free(c);
			continue;
		}
		client_drain(c);
	}
}

int port_start(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	snprintf(port_path, sizeof(port_path), "%s", path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
			   SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return -errno;
	unlink(path);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(listen_fd, 128) < 0) {
		r = -errno;
		close(listen_fd);
		listen_fd = -1;
		return r;
	}
	return loop_add_fd(listen_fd, POLLIN, listen_ready, NULL);
}

void port_stop(void)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &clients)
		client_dead(list_entry(pos, struct pclient, entry));
	if (listen_fd < 0)
		return;
	loop_del_fd(listen_fd);
	close(listen_fd);
	listen_fd = -1;
	unlink(port_path);
}

/* After the last fibers ran: the buffer pool. */
void port_exit(void)
{
	while (!list_empty(&buf_pool)) {
		struct list_head *e = buf_pool.next;

		list_del_init(e);
		free(e);
	}
	npool = 0;
}
