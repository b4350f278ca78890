/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AF_UNIX sockets bound in emulated mounts (sock.c): which real socket
 * serves which socket inode, as Linux's unix_find_socket_byinode knows
 * the socket bound to an inode.  The daemon only stores the node.
 */
#ifndef CUSE_FUSEDEV_SOCK_H
#define CUSE_FUSEDEV_SOCK_H

#include <stddef.h>
#include <stdint.h>

struct vinode;
struct vmount;

/* Make $dir/sock (emptied of what an earlier emulator left). */
int vsock_init(const char *dir);
/* Remove it with every real socket in it. */
void vsock_cleanup(const char *dir);

/* @in (a socket node just made) is served by the real socket @key, bound
 * by the sun_path @addr (NUL-terminated); holds a reference on @in. */
int vsock_bind(struct vinode *in, uint64_t key, const char *addr);
/* The real socket bound to @in: 0 and *@key, or -ECONNREFUSED. */
int vsock_lookup(struct vinode *in, uint64_t *key);
/* The sun_path the socket @key was bound by: its length + 1 (NUL
 * included) in @out (@size bytes), or -ENOENT. */
int vsock_name(uint64_t key, char *out, size_t size);
/* @in lost its last name: nothing can reach its socket by path now. */
void vsock_unlinked(struct vinode *in);
/* The mount goes: every binding in it. */
void vsock_umount(struct vmount *m);

#endif /* CUSE_FUSEDEV_SOCK_H */
