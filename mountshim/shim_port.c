/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim: the client port ($FUSEDEV_DIR/port, SOCK_SEQPACKET).
 *
 * One connection per thread, made on first use, so a call is "send one
 * message, receive one message" with no demultiplexing and no lock.  A
 * call made while the thread's connection is busy (a signal handler
 * interrupting a call) uses a connection of its own for that call only.
 * A fork child closes the inherited sockets and reconnects: the emulator
 * takes the caller's credentials from the connection.
 *
 * A vfork child (or any child whose pid differs from the one the atfork
 * handler recorded) runs on its parent thread's memory while that thread
 * waits.  It gets one connection for its whole life, kept in a per-thread
 * slot by pid and socket inode: an open file stays the connection's
 * until FUSEDEV_IOC_BIND, so each call on a connection of its own would
 * lose every open.  The socket is the child's alone (close-on-exec, in
 * no table the parent reads); the parent never uses or closes it, and a
 * later child with a reused pid sees an fd that is not that socket and
 * connects anew.  Nothing here mallocs or locks.
 *
 * A receive interrupted by a signal sends FDP_OP_INTERRUPT for the call
 * (the emulator turns it into FUSE_INTERRUPT) and keeps waiting.  A
 * vanished emulator is ENOTCONN.
 */
#include "shim.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/un.h>

struct shim_conn {
	int fd;
	bool busy;
	bool own;			/* registered as the thread's */
	uint64_t next_id;
};

/* A vfork child's connection: valid while pid and the fd's inode match. */
struct shim_vconn {
	struct shim_conn c;
	pid_t pid;
	dev_t dev;
	ino_t ino;
};

static __thread struct shim_conn tls_conn = { .fd = -1 };
static __thread struct shim_vconn tls_vconn = { .c = { .fd = -1 } };
static pthread_key_t conn_key;
/* The process the TLS connections belong to; a vfork child differs. */
static pid_t shim_pid;

/* ---- connections -------------------------------------------------------- */

/*
 * Keep the socket out of the low fd numbers programs count on, but below
 * 1024: a higher number would grow the kernel's fd table for nothing.
 */
static int move_high(int fd)
{
	struct rlimit rl;
	rlim_t base;
	int hi;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 64)
		return fd;
	base = rl.rlim_cur >= 1024 ? 1000 : rl.rlim_cur * 3 / 4;
	hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, (int)base);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

static int conn_error(int e)
{
	switch (e) {
	case ECONNRESET:
	case ECONNREFUSED:
	case EPIPE:
	case ENOTCONN:
	case ENOENT:
		return -ENOTCONN;
	}
	return -e;
}

static int hello(int fd)
{
	struct fdp_hdr h = { .len = sizeof(h) + sizeof(struct fdp_hello),
			     .op = FDP_OP_HELLO };
	struct fdp_hello in = { .version = FDP_PROTO_VERSION }, out = { 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { &in, sizeof(in) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do
		n = REAL(sendmsg)(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return conn_error(errno);
	iov[1].iov_base = &out;
	iov[1].iov_len = sizeof(out);
	do
		n = REAL(recvmsg)(fd, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return conn_error(errno);
	if ((size_t)n < sizeof(h))
		return -ENOTCONN;
	if (h.error == 0 && out.version != FDP_PROTO_VERSION) {
		SHIM_DBG(~0u, "emulator speaks port version %u, we %u",
			 out.version, FDP_PROTO_VERSION);
		return -EPROTO;
	}
	return 0;
}

static int port_connect(bool own)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, shim.port, sizeof(shim.port));
	while (REAL(connect)(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = conn_error(errno);
		REAL(close)(fd);
		SHIM_DBG(SHIM_DBG_PORT, "connect %s: %s", shim.port,
			 strerror(-r));
		return r;
	}
	if (own)
		fd = move_high(fd);
	r = hello(fd);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	if (own)
		shim_internal_add(fd);
	SHIM_DBG(SHIM_DBG_PORT, "connected fd %d%s", fd, own ? "" : " (once)");
	return fd;
}

static void conn_close(struct shim_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->own)
		shim_internal_del(c->fd);
	REAL(close)(c->fd);
	c->fd = -1;
}

static void conn_destroy(void *p)
{
	struct shim_conn *c = p;

	if (c && c->own && getpid() == shim_pid)
		conn_close(c);
}

/* Is @fd still the socket @v recorded (not closed, not replaced)? */
static bool vconn_valid(const struct shim_vconn *v)
{
	struct stat st;

	return v->c.fd >= 0 && REAL(fstat)(v->c.fd, &st) == 0 &&
	       S_ISSOCK(st.st_mode) && st.st_dev == v->dev &&
	       st.st_ino == v->ino;
}

/*
 * The connection of vfork child @pid: the recorded one if it is still
 * this child's, else a new one recorded in its place (the old fd, if
 * any, belongs to another process or was closed: left alone).  NULL and
 * *@err when it cannot connect; a busy slot (a signal handler in the
 * child) is reported as NULL with *@err 0.
 */
static struct shim_conn *vconn_get(pid_t pid, int *err)
{
	struct shim_vconn *v = &tls_vconn;
	struct stat st;
	int fd;

	*err = 0;
	if (v->pid == pid && v->c.fd >= 0) {
		if (v->c.busy)
			return NULL;
		if (vconn_valid(v))
			goto got;
	}
	v->pid = 0;
	v->c.fd = -1;
	v->c.busy = false;
	fd = port_connect(false);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	/* out of the way of the child's dup2 onto low numbers */
	fd = move_high(fd);
	if (REAL(fstat)(fd, &st) < 0) {
		*err = -errno;
		REAL(close)(fd);
		return NULL;
	}
	v->c.fd = fd;
	v->c.own = true;		/* conn_put keeps it */
	v->c.next_id = 0;
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->pid = pid;
	SHIM_DBG(SHIM_DBG_PORT, "vfork child: connection fd %d", fd);
got:
	v->c.busy = true;
	return &v->c;
}

static struct shim_conn *conn_get(struct shim_conn *tmp, int *err)
{
	struct shim_conn *c = &tls_conn, *v;
	pid_t pid = getpid();
	int fd;

	if (pid != shim_pid) {
		v = vconn_get(pid, err);
		if (v || *err)
			return v;
	}
	if (c->busy || pid != shim_pid) {
		fd = port_connect(false);
		if (fd < 0) {
			*err = fd;
			return NULL;
		}
		tmp->fd = fd;
		tmp->own = false;
		tmp->busy = true;
		return tmp;
	}
	if (c->fd < 0) {
		fd = port_connect(true);
		if (fd < 0) {
			*err = fd;
			return NULL;
		}
		c->fd = fd;
		c->own = true;
		pthread_setspecific(conn_key, c);
	}
	c->busy = true;
	return c;
}

static void conn_put(struct shim_conn *c)
{
	if (!c->own)
		conn_close(c);
	c->busy = false;
}

/* A call on @c failed for good: forget the connection. */
static void conn_lost(struct shim_conn *c)
{
	if (c == &tls_vconn.c) {
		REAL(close)(c->fd);	/* the child's: never internal */
		c->fd = -1;
		tls_vconn.pid = 0;
		return;
	}
	conn_close(c);
}

void shim_port_init(void)
{
	shim_pid = getpid();
	pthread_key_create(&conn_key, conn_destroy);
}

void shim_port_forget(int fd)
{
	/* a vfork child: the table and the socket are the parent's */
	if (getpid() != shim_pid)
		return;
	shim_internal_del(fd);
	if (tls_conn.fd == fd && tls_conn.own && !tls_conn.busy)
		tls_conn.fd = -1;
}

void shim_port_atfork(void)
{
	pid_t parent = getppid();

	shim_internal_close_all();
	tls_conn.fd = -1;
	tls_conn.busy = false;
	tls_conn.own = false;
	/* forked by a vfork child: its connection came along */
	if (tls_vconn.pid && tls_vconn.pid == parent && vconn_valid(&tls_vconn))
		REAL(close)(tls_vconn.c.fd);
	tls_vconn.c.fd = -1;
	tls_vconn.c.busy = false;
	tls_vconn.pid = 0;
	shim_pid = getpid();
}

/* ---- one call ----------------------------------------------------------- */

static void send_interrupt(struct shim_conn *c, uint64_t id)
{
	struct fdp_hdr h = { .len = sizeof(h) + sizeof(struct fdp_interrupt),
			     .op = FDP_OP_INTERRUPT, .id = ++c->next_id };
	struct fdp_interrupt in = { .id = id };
	struct iovec iov[2] = { { &h, sizeof(h) }, { &in, sizeof(in) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (REAL(sendmsg)(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		SHIM_DBG(SHIM_DBG_PORT, "interrupt %llu: %s",
			 (unsigned long long)id, strerror(errno));
}

int shim_port_call(struct shim_call *call)
{
	struct shim_conn tmp = { .fd = -1 }, *c;
	struct fdp_hdr h = { 0 }, rh;
	struct iovec iov[1 + ARRAY_SIZE(call->in)];
	struct iovec riov[1 + ARRAY_SIZE(call->out)];
	struct msghdr mh;
	sigset_t all, old;
	bool interrupted = false;
	size_t len = sizeof(h);
	int e = errno, i, r;
	ssize_t n;

	c = shim_active() ? conn_get(&tmp, &r) : (r = -ENOTCONN, NULL);
	if (!c) {
		errno = e;
		return r;
	}
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (i = 0; i < call->nin; i++) {
		iov[1 + i] = call->in[i];
		len += call->in[i].iov_len;
	}
	if (len > FDP_MSG_MAX) {
		r = -EINVAL;
		goto out;
	}
	h.len = len;
	h.op = call->op;
	h.id = ++c->next_id;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 1 + call->nin;
	/*
	 * A signal that arrives after the request went out must interrupt
	 * it, as the kernel's request_wait_answer() sees a pending signal
	 * wherever it came: signals stay blocked from before the send until
	 * ppoll() atomically waits with the caller's mask, so one delivered
	 * in between is not lost in a handler before the wait.
	 */
	sigfillset(&all);
	REAL(pthread_sigmask)(SIG_BLOCK, &all, &old);
	do
		n = REAL(sendmsg)(c->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
		r = conn_error(errno);
		/* a caller's buffer the kernel could not read: not sent */
		if (r != -EFAULT)
			conn_lost(c);
		goto out;
	}

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (ppoll(&pfd, 1, NULL, &old) < 0) {
			if (errno == EINTR) {
				if (!interrupted)
					send_interrupt(c, h.id);
				interrupted = true;
			}
			continue;
		}
		riov[0].iov_base = &rh;
		riov[0].iov_len = sizeof(rh);
		for (i = 0; i < call->nout; i++)
			riov[1 + i] = call->out[i];
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = riov;
		mh.msg_iovlen = 1 + call->nout;
		n = REAL(recvmsg)(c->fd, &mh, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
			r = n < 0 ? conn_error(errno) : -ENOTCONN;
			/* a caller's buffer the kernel could not fill: the
			 * reply is gone, the connection is not */
			if (r != -EFAULT)
				conn_lost(c);
			goto out;
		}
		if ((size_t)n < sizeof(rh)) {
			REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
			r = -EIO;
			goto out;
		}
		if (rh.id != h.id)
			continue;		/* not ours: an old reply */
		break;
	}
	REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
	call->outlen = n - sizeof(rh);
	r = rh.error;
	if (r > 0 && r != FDP_EXTERNAL)
		r = -EIO;
	else if (r < -4095)
		r = -EIO;
	else if ((mh.msg_flags & MSG_TRUNC) && !call->trunc_ok && r == 0)
		r = -EIO;
	SHIM_DBG(SHIM_DBG_PORT, "op %u id %llu -> %d (%zu bytes)", call->op,
		 (unsigned long long)h.id, r, call->outlen);
out:
	conn_put(c);
	errno = e;
	return r;
}

/* ---- typed helpers ------------------------------------------------------ */

static long op_path(struct shim_route *rt, uint32_t op, const char *path2,
		    uint64_t base2, uint32_t flags, uint32_t mode,
		    uint64_t arg, const void *extra, size_t extralen,
		    void *out, size_t outsz, size_t *outlen)
{
	struct fdp_path_in in = {
		.flags = flags, .mode = mode, .arg = arg,
		.path_len = strlen(rt->abs), .base = rt->base, .base2 = base2,
		.umask = shim.umask,
	};
	struct shim_call c = { .op = op };
	size_t n, k;
	long r;

	if (path2 && !*path2 && !base2)
		path2 = NULL;
	if (path2)
		in.path2_len = strlen(path2);
	c.in[c.nin++] = (struct iovec){ &in, sizeof(in) };
	c.in[c.nin++] = (struct iovec){ rt->abs, in.path_len + 1 };
	if (path2)
		c.in[c.nin++] = (struct iovec){ (void *)path2,
						in.path2_len + 1 };
	if (extralen)
		c.in[c.nin++] = (struct iovec){ (void *)extra, extralen };
	if (out && outsz)
		c.out[c.nout++] = (struct iovec){ out, outsz };
	else
		outsz = 0;
	/* FDP_EXTERNAL's path lands here (after what fits in @out). */
	c.out[c.nout++] = (struct iovec){ rt->ext, sizeof(rt->ext) };
	r = shim_port_call(&c);
	n = c.outlen;
	if (r == FDP_EXTERNAL) {
		k = n < outsz ? n : outsz;
		if (n == 0 || n - k >= sizeof(rt->ext) || n > sizeof(rt->ext))
			return -EIO;
		if (k) {
			memmove(rt->ext + k, rt->ext, n - k);
			memcpy(rt->ext, out, k);
		}
		rt->ext[n < sizeof(rt->ext) ? n : sizeof(rt->ext) - 1] = '\0';
		return SHIM_EXTERNAL;
	}
	if (r < 0)
		return r;
	if (n > outsz)
		return -EIO;
	if (outlen)
		*outlen = n;
	return 0;
}

long shim_op_path(struct shim_route *rt, uint32_t op, const char *path2,
		  uint32_t flags, uint32_t mode, uint64_t arg,
		  const void *extra, size_t extralen, void *out, size_t outsz,
		  size_t *outlen)
{
	return op_path(rt, op, path2, 0, flags, mode, arg, extra, extralen,
		       out, outsz, outlen);
}

long shim_op_path2(struct shim_route *ra, struct shim_route *rb,
		   uint32_t op, uint32_t flags)
{
	return op_path(ra, op, rb->abs, rb->base, flags, 0, 0, NULL, 0, NULL,
		       0, NULL);
}

long shim_op_file(uint32_t op, uint64_t open_key, int64_t offset,
		  uint64_t size, uint32_t flags, uint32_t whence,
		  const void *data, size_t datalen, void *out, size_t outsz,
		  size_t *outlen)
{
	struct fdp_file_in in = {
		.open_key = open_key, .offset = offset, .size = size,
		.flags = flags, .whence = whence,
	};
	struct shim_call c = { .op = op };
	long r;

	c.in[c.nin++] = (struct iovec){ &in, sizeof(in) };
	if (datalen)
		c.in[c.nin++] = (struct iovec){ (void *)data, datalen };
	if (out && outsz)
		c.out[c.nout++] = (struct iovec){ out, outsz };
	r = shim_port_call(&c);
	if (r == FDP_EXTERNAL)
		r = -EIO;
	if (r < 0)
		return r;
	if (outlen)
		*outlen = c.outlen;
	return 0;
}

long shim_op_fstatx(uint64_t open_key, int flags, unsigned int mask,
		    struct fdp_stat_out *o)
{
	size_t n = 0;
	long r;

	r = shim_op_file(FDP_OP_FSTAT, open_key, 0, mask,
			 flags & AT_STATX_SYNC_TYPE, 0, NULL, 0, o, sizeof(*o),
			 &n);
	if (r == 0 && n < sizeof(*o))
		r = -EIO;
	return r;
}

long shim_op_fstat(uint64_t open_key, struct fdp_stat_out *o)
{
	return shim_op_fstatx(open_key, 0, 0, o);
}

int shim_op_fpath(uint64_t open_key, char *buf)
{
	size_t n = 0;
	long r;

	r = shim_op_file(FDP_OP_FPATH, open_key, 0, 0, 0, 0, NULL, 0, buf,
			 FUSEDEV_PATH_MAX - 1, &n);
	if (r < 0)
		return r;
	buf[n] = '\0';
	return 0;
}

bool shim_vfork_child(void)
{
	pid_t p = __atomic_load_n(&shim_pid, __ATOMIC_RELAXED);

	return p && getpid() != p;
}
