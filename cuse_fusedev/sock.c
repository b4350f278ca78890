/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AF_UNIX sockets bound in emulated mounts.
 *
 * bind(2) of a path in an emulated mount makes the socket node with the
 * daemon (MKNOD S_IFSOCK, FDP_OP_BIND in ops.c), and the shim binds the
 * program's socket to a real path of the emulator's own: sock/KEY in the
 * runtime directory, which only the emulator's user can reach (0700), as
 * the port.  A binding here says which real socket serves which node,
 * and by which sun_path it was bound (what getsockname, getpeername,
 * accept and recvfrom report).  connect(2) and sendto(2) to the node's
 * path find the real socket here (FDP_OP_CONNECT).
 *
 * As in Linux, the node outlives its socket (connect then gets
 * ECONNREFUSED from the real socket file, which stays), and the socket
 * keeps its inode (a reference here: no FORGET while bound).  A binding
 * goes with the node's last name (its real socket file with it: no path
 * can reach the socket any more), with its mount, and with the emulator.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"
#include "vfs_i.h"

/* Bindings alive at once: a bound, reachable socket each. */
#define VSOCK_MAX	65536

struct vsock {
	struct vinode *in;
	uint64_t key;
	struct vsock *next;
	char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
};

static struct vsock *vsocks;
static unsigned int nvsocks;
static char sockdir[FUSEDEV_PATH_MAX - 32];

static void real_path(uint64_t key, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%016" PRIx64, sockdir, key);
}

static void empty_dir(const char *dir)
{
	char path[FUSEDEV_PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) <
		    (int)sizeof(path))
			unlink(path);
	closedir(dp);
}

int vsock_init(const char *dir)
{
	struct stat st;

	if (snprintf(sockdir, sizeof(sockdir), "%s/%s", dir,
		     FUSEDEV_SOCK_NAME) >= (int)sizeof(sockdir))
		return -ENAMETOOLONG;
	if (mkdir(sockdir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(sockdir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	empty_dir(sockdir);
	return 0;
}

void vsock_cleanup(const char *dir)
{
	char path[FUSEDEV_PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, FUSEDEV_SOCK_NAME) >=
	    (int)sizeof(path))
		return;
	empty_dir(path);
	rmdir(path);
}

int vsock_bind(struct vinode *in, uint64_t key, const char *addr)
{
	struct vsock *s;

	if (strlen(addr) >= sizeof(s->addr) || !key)
		return -EINVAL;
	if (nvsocks >= VSOCK_MAX)
		return -ENOSPC;
	for (s = vsocks; s; s = s->next)
		if (s->key == key || s->in == in)
			return -EADDRINUSE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	vinode_get(in);
	s->in = in;
	s->key = key;
	strcpy(s->addr, addr);
	s->next = vsocks;
	vsocks = s;
	nvsocks++;
	emu_dbg("socket %s bound to node %" PRIu64 " (key %016" PRIx64 ")",
		addr, in->nodeid, key);
	return 0;
}

int vsock_lookup(struct vinode *in, uint64_t *key)
{
	struct vsock *s;

	for (s = vsocks; s; s = s->next) {
		if (s->in == in) {
			*key = s->key;
			return 0;
		}
	}
	return -ECONNREFUSED;
}

int vsock_name(uint64_t key, char *out, size_t size)
{
	struct vsock *s;
	size_t n;

	for (s = vsocks; s; s = s->next) {
		if (s->key != key)
			continue;
		n = strlen(s->addr) + 1;
		if (n > size)
			return -ERANGE;
		memcpy(out, s->addr, n);
		return n;
	}
	return -ENOENT;
}

/* Unlink @s and free it: its real socket file goes, the inode too. */
static void vsock_drop(struct vsock **pp)
{
	struct vsock *s = *pp;
	char path[FUSEDEV_PATH_MAX];

	*pp = s->next;
	nvsocks--;
	real_path(s->key, path, sizeof(path));
	unlink(path);
	vinode_put(s->in);
	free(s);
}

void vsock_unlinked(struct vinode *in)
{
	struct vsock **pp;

	if (!S_ISSOCK(in->attr.mode) || in->attr.nlink)
		return;
	for (pp = &vsocks; *pp; pp = &(*pp)->next) {
		if ((*pp)->in == in) {
			vsock_drop(pp);
			return;
		}
	}
}

void vsock_umount(struct vmount *m)
{
	struct vsock **pp = &vsocks;

	while (*pp) {
		if ((*pp)->in->m == m)
			vsock_drop(pp);
		else
			pp = &(*pp)->next;
	}
}
