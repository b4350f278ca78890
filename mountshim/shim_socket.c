/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim: AF_UNIX sockets whose sun_path lies in an emulated
 * mount.
 *
 * The kernel resolves a sun_path in the real file system, where an
 * emulated mountpoint is a plain directory: a bind would make the socket
 * there, invisible through the mount and left behind.  As Linux's
 * unix_bind_bsd makes the socket node in the file system and binds the
 * socket to that inode, here:
 *
 *  - bind(2): FDP_OP_BIND makes the node with the daemon (MKNOD
 *    S_IFSOCK, mode 0777 less the umask; an existing name is
 *    EADDRINUSE), then the program's socket is bound to a real path of
 *    the emulator's, sock/KEY in the runtime directory (mode 0700: the
 *    emulator's user's only, as the port, whatever the network
 *    namespace), which the emulator records as serving the node; the
 *    node is unlinked again when that bind fails (EINVAL: bound already);
 *  - connect(2), sendto(2), sendmsg(2) to such a path: FDP_OP_CONNECT
 *    walks it (symlinks, the cwd and dirfds as for any path; MAY_WRITE)
 *    and names the real socket, which the call then uses (ECONNREFUSED
 *    when nothing is bound to the node, or its socket is gone);
 *  - getsockname(2), getpeername(2), accept(2), accept4(2),
 *    recvfrom(2), recvmsg(2) report sock/KEY as the sun_path it was
 *    bound by, as the kernel keeps u->addr (FDP_OP_SOCKNAME, cached:
 *    a key never changes its name).
 *
 * Everything else (abstract names, other families, paths outside the
 * mounts) goes to the kernel unchanged.
 */
#include "shim.h"

#include <sys/random.h>
#include <sys/un.h>

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
#define SUN_OFF		offsetof(struct sockaddr_un, sun_path)
#define KEY_DIGITS	16

/* ---- addresses ----------------------------------------------------------*/

/*
 * The caller's address as move_addr_to_kernel copies it: 1 when it is
 * a pathname AF_UNIX address in an emulated mount (routed into @rt, the
 * sun_path NUL-terminated in @path as unix_mkname_bsd does), 0 for the
 * real call (also when it cannot be read or is malformed: the kernel
 * refuses it in its order), or -errno.
 */
static long unix_route(const struct sockaddr *addr, socklen_t len,
		       struct shim_route *rt, char path[SUN_PATH_MAX + 1])
{
	struct sockaddr_un sun;
	size_t n;

	if (!shim_have_mounts() || len <= SUN_OFF || len > sizeof(sun) ||
	    shim_copy_from_user(&sun, addr, len) ||
	    sun.sun_family != AF_UNIX || !sun.sun_path[0])
		return 0;
	n = len - SUN_OFF;
	memcpy(path, sun.sun_path, n);
	path[n] = '\0';
	return shim_route(rt, AT_FDCWD, path);
}

/* Is @fd an AF_UNIX socket?  Else its own family's call answers. */
static bool unix_socket(int fd)
{
	socklen_t l = sizeof(int);
	int d = 0, e = errno;
	bool r;

	r = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) == 0 &&
	    d == AF_UNIX;
	errno = e;
	return r;
}

/* The real socket of @key: sock/KEY in the runtime directory. */
static socklen_t real_addr(uint64_t key, struct sockaddr_un *sa)
{
	int n;

	if (!shim.sockdir[0])
		return 0;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%0*llx",
		     shim.sockdir, KEY_DIGITS, (unsigned long long)key);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? SUN_OFF + n + 1 : 0;
}

/* A sun_path for the real call after a walk left the mounts. */
static long real_path_addr(const char *path, struct sockaddr_un *sa,
			   socklen_t *salen)
{
	size_t n = strlen(path);

	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	*salen = SUN_OFF + n + 1;
	return 0;
}

/*
 * What an emulated path connects to (unix_find_bsd): 1 and the real
 * socket's address, 0 and a real path's (the walk left the mounts), or
 * -errno.
 */
static long unix_target(struct shim_route *rt, struct sockaddr_un *sa,
			socklen_t *salen)
{
	struct fdp_sock_out o;
	size_t n = 0;
	int hops = 0;
	long r = 1;

	while (r > 0) {
		r = shim_op_path(rt, FDP_OP_CONNECT, NULL, 0, 0, 0, NULL, 0,
				 &o, sizeof(o), &n);
		if (r == 0) {
			if (n < sizeof(o))
				return -EIO;
			*salen = real_addr(o.key, sa);
			return *salen ? 1 : -ECONNREFUSED;
		}
		if (r != SHIM_EXTERNAL)
			return r;
		r = shim_route_external(rt, &hops);
	}
	if (r < 0)
		return r;
	return real_path_addr(rt->path, sa, salen);
}

/* ---- names: sock/KEY back to the sun_path it was bound by -------------- */

#define NAME_CACHE	16

static struct {
	uint64_t key;
	char name[SUN_PATH_MAX + 1];
} name_cache[NAME_CACHE];
static unsigned int name_next;
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;

static void name_remember(uint64_t key, const char *name)
{
	sigset_t old;

	shim_lock(&name_lock, &old);
	name_cache[name_next].key = key;
	snprintf(name_cache[name_next].name, sizeof(name_cache[0].name), "%s",
		 name);
	name_next = (name_next + 1) % NAME_CACHE;
	shim_unlock(&name_lock, &old);
}

static bool name_of(uint64_t key, char name[SUN_PATH_MAX + 1])
{
	struct fdp_sock_out in = { .key = key };
	struct shim_call c = { .op = FDP_OP_SOCKNAME };
	bool hit = false;
	sigset_t old;
	unsigned int i;

	shim_lock(&name_lock, &old);
	for (i = 0; i < NAME_CACHE && !hit; i++) {
		if (name_cache[i].key == key) {
			memcpy(name, name_cache[i].name, SUN_PATH_MAX + 1);
			hit = true;
		}
	}
	shim_unlock(&name_lock, &old);
	if (hit)
		return true;
	c.in[c.nin++] = (struct iovec){ &in, sizeof(in) };
	c.out[c.nout++] = (struct iovec){ name, SUN_PATH_MAX + 1 };
	if (shim_port_call(&c) != 0 || !c.outlen ||
	    name[c.outlen - 1] != '\0')
		return false;
	name_remember(key, name);
	return true;
}

/*
 * @ss, @len as the kernel gave them: when they name one of our real
 * sockets, the sun_path it was bound by instead (unix_getname of u->addr:
 * NUL-terminated, counted).  Returns the length to report.
 */
static socklen_t name_fixup(struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	size_t dl = strlen(shim.sockdir), n;
	char name[SUN_PATH_MAX + 1], *end;
	uint64_t key;

	if (!dl || len < SUN_OFF + dl + 1 + KEY_DIGITS ||
	    sun->sun_family != AF_UNIX ||
	    memcmp(sun->sun_path, shim.sockdir, dl) ||
	    sun->sun_path[dl] != '/')
		return len;
	key = strtoull(sun->sun_path + dl + 1, &end, 16);
	if (end != sun->sun_path + dl + 1 + KEY_DIGITS || *end ||
	    !name_of(key, name))
		return len;
	n = strlen(name);
	memcpy(sun->sun_path, name, n + 1);	/* may end in ss's tail */
	return SUN_OFF + n + 1;
}

/* move_addr_to_user: what fits of @ss, and its whole length. */
static long name_to_user(const struct sockaddr_storage *ss, socklen_t klen,
			 void *uaddr, socklen_t *ulenp, socklen_t ulen)
{
	if (ulen > klen)
		ulen = klen;
	if (ulen && shim_copy_to_user(uaddr, ss, ulen))
		return -EFAULT;
	if (shim_copy_to_user(ulenp, &klen, sizeof(klen)))
		return -EFAULT;
	return 0;
}

/* The caller's address length, or false: the real call answers. */
static bool user_len(socklen_t *ulenp, socklen_t *ulen)
{
	return !shim_copy_from_user(ulen, ulenp, sizeof(*ulen)) &&
	       (int)*ulen >= 0;
}

/* ---- the calls ----------------------------------------------------------*/

/* unix_bind_bsd, with the node made by the emulator. */
static long emu_bind(int fd, struct shim_route *rt, const char *path)
{
	struct sockaddr_un sa;
	socklen_t salen;
	uint64_t key = 0;
	int hops = 0;
	long r;

	while (!key)
		if (getrandom(&key, sizeof(key), 0) != sizeof(key))
			return -errno;
	salen = real_addr(key, &sa);
	if (!salen)
		return -EADDRNOTAVAIL;	/* $FUSEDEV_DIR too long */
	for (;;) {
		r = shim_op_path(rt, FDP_OP_BIND, NULL, 0,
				 S_IFSOCK | (0777 & ~shim.umask), key, path,
				 strlen(path) + 1, NULL, 0, NULL);
		if (r != SHIM_EXTERNAL)
			break;
		/* a walk out of the mounts: bind there, for real */
		r = shim_route_external(rt, &hops);
		if (r < 0)
			return r;
		if (r == 0) {
			r = real_path_addr(rt->path, &sa, &salen);
			if (r == 0 && REAL(bind)(fd, (struct sockaddr *)&sa,
						 salen) < 0)
				r = -errno;
			return r;
		}
	}
	if (r < 0)
		return r;
	if (REAL(bind)(fd, (struct sockaddr *)&sa, salen) < 0) {
		/* as unix_bind_bsd: the node it made goes again */
		r = -errno;
		shim_op_path(rt, FDP_OP_UNLINK, NULL, 0, 0, 0, NULL, 0, NULL, 0,
			     NULL);
		return r;
	}
	name_remember(key, path);
	SHIM_DBG(SHIM_DBG_CLIENT, "bind fd %d to %s: %s", fd, path,
		 sa.sun_path);
	return 0;
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	char path[SUN_PATH_MAX + 1];
	struct shim_route rt;
	int e = errno;
	long r;

	r = unix_route(addr, len, &rt, path);
	if (likely(!r) || !unix_socket(fd))
		return REAL(bind)(fd, addr, len);
	if (r < 0)
		return shim_result(r, e);
	return shim_result(emu_bind(fd, &rt, path), e);
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	char path[SUN_PATH_MAX + 1];
	struct shim_route rt;
	struct sockaddr_un sa;
	socklen_t salen = 0;
	int e = errno;
	long r;

	r = unix_route(addr, len, &rt, path);
	if (likely(!r) || !unix_socket(fd))
		return REAL(connect)(fd, addr, len);
	if (r > 0)
		r = unix_target(&rt, &sa, &salen);
	if (r < 0)
		return shim_result(r, e);
	if (REAL(connect)(fd, (struct sockaddr *)&sa, salen) < 0) {
		/* our socket file is gone with its node's last name */
		if (r > 0 && errno == ENOENT)
			errno = ECONNREFUSED;
		return -1;
	}
	errno = e;
	return 0;
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *addr, socklen_t len)
{
	char path[SUN_PATH_MAX + 1];
	struct shim_route rt;
	struct sockaddr_un sa;
	socklen_t salen = 0;
	int e = errno;
	ssize_t w;
	long r;

	if (likely(!addr))
		return REAL(sendto)(fd, buf, n, flags, addr, len);
	r = unix_route(addr, len, &rt, path);
	if (likely(!r) || !unix_socket(fd))
		return REAL(sendto)(fd, buf, n, flags, addr, len);
	if (r > 0)
		r = unix_target(&rt, &sa, &salen);
	if (r < 0)
		return shim_result(r, e);
	w = REAL(sendto)(fd, buf, n, flags, (struct sockaddr *)&sa, salen);
	if (w < 0 && r > 0 && errno == ENOENT)
		errno = ECONNREFUSED;
	return w;
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	char path[SUN_PATH_MAX + 1];
	struct shim_route rt;
	struct sockaddr_un sa;
	struct msghdr m;
	socklen_t salen = 0;
	int e = errno;
	ssize_t w;
	long r;

	if (likely(!shim_have_mounts()) ||
	    shim_copy_from_user(&m, msg, sizeof(m)) || !m.msg_name)
		return REAL(sendmsg)(fd, msg, flags);
	r = unix_route(m.msg_name, m.msg_namelen, &rt, path);
	if (likely(!r) || !unix_socket(fd))
		return REAL(sendmsg)(fd, msg, flags);
	if (r > 0)
		r = unix_target(&rt, &sa, &salen);
	if (r < 0)
		return shim_result(r, e);
	m.msg_name = &sa;
	m.msg_namelen = salen;
	w = REAL(sendmsg)(fd, &m, flags);
	if (w < 0 && r > 0 && errno == ENOENT)
		errno = ECONNREFUSED;
	return w;
}

/* getsockname, getpeername: into a buffer of ours, named back. */
#define WRAP_GETNAME(name)						\
SHIM_EXPORT int name(int fd, struct sockaddr *addr, socklen_t *lenp)	\
{									\
	struct sockaddr_storage ss;					\
	socklen_t klen = sizeof(ss), ulen;				\
	int e = errno;							\
									\
	if (likely(!shim_active()) || !user_len(lenp, &ulen))		\
		return REAL(name)(fd, addr, lenp);			\
	if (REAL(name)(fd, (struct sockaddr *)&ss, &klen) < 0)		\
		return -1;						\
	klen = name_fixup(&ss, klen);					\
	return shim_result(name_to_user(&ss, klen, addr, lenp, ulen), e); \
}

WRAP_GETNAME(getsockname)
WRAP_GETNAME(getpeername)

/* The peer's address of a new connection; a bad buffer loses it, as
 * __sys_accept4_file does. */
static int accept_common(int fd, struct sockaddr *addr, socklen_t *lenp,
			 int flags, bool four)
{
	struct sockaddr_storage ss;
	socklen_t klen = sizeof(ss), ulen;
	int e = errno, nfd;
	long r;

	if (likely(!addr) || likely(!shim_active()) || !user_len(lenp, &ulen))
		return four ? REAL(accept4)(fd, addr, lenp, flags) :
			      REAL(accept)(fd, addr, lenp);
	nfd = four ? REAL(accept4)(fd, (struct sockaddr *)&ss, &klen, flags) :
		     REAL(accept)(fd, (struct sockaddr *)&ss, &klen);
	if (nfd < 0)
		return -1;
	klen = name_fixup(&ss, klen);
	r = name_to_user(&ss, klen, addr, lenp, ulen);
	if (r < 0) {
		REAL(close)(nfd);
		return shim_result(r, e);
	}
	errno = e;
	return nfd;
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	return accept_common(fd, addr, lenp, 0, false);
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *lenp,
			int flags)
{
	return accept_common(fd, addr, lenp, flags, true);
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			     struct sockaddr *addr, socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t klen = sizeof(ss), ulen;
	int e = errno;
	ssize_t got;
	long r;

	if (likely(!addr) || likely(!shim_active()) || !user_len(lenp, &ulen))
		return REAL(recvfrom)(fd, buf, n, flags, addr, lenp);
	got = REAL(recvfrom)(fd, buf, n, flags, (struct sockaddr *)&ss, &klen);
	if (got < 0)
		return got;
	klen = name_fixup(&ss, klen);
	r = name_to_user(&ss, klen, addr, lenp, ulen);
	if (r < 0)
		return shim_result(r, e);
	errno = e;
	return got;
}

/*
 * recvmsg's msg_name (shim_client.c's recvmsg): the call is made on a
 * copy of the caller's msghdr naming our buffer; the name, its length,
 * and what the kernel updates (msg_controllen, msg_flags) go back.
 * Returns the result, or -2 when the caller's msghdr is left to the
 * real call as it is.
 */
ssize_t shim_recvmsg_named(int fd, struct msghdr *msg, int flags)
{
	struct sockaddr_storage ss;
	struct msghdr m;
	socklen_t ulen;
	ssize_t got;
	void *uname;

	if (likely(!shim_active()) ||
	    shim_copy_from_user(&m, msg, sizeof(m)) || !m.msg_name ||
	    (int)m.msg_namelen < 0)
		return -2;
	uname = m.msg_name;
	ulen = m.msg_namelen;
	m.msg_name = &ss;
	m.msg_namelen = sizeof(ss);
	got = REAL(recvmsg)(fd, &m, flags);
	if (got < 0)
		return got;
	m.msg_namelen = name_fixup(&ss, m.msg_namelen);
	if (shim_copy_to_user(uname, &ss, ulen < m.msg_namelen ? ulen :
					       m.msg_namelen) ||
	    shim_copy_to_user(&msg->msg_namelen, &m.msg_namelen,
			      sizeof(m.msg_namelen)) ||
	    shim_copy_to_user(&msg->msg_controllen, &m.msg_controllen,
			      sizeof(m.msg_controllen)) ||
	    shim_copy_to_user(&msg->msg_flags, &m.msg_flags,
			      sizeof(m.msg_flags))) {
		errno = EFAULT;
		return -1;
	}
	return got;
}
