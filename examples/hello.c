/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hello: a read-only filesystem with one file, "hello", that reads
 * "Hello World!\n".  High-level libfuse3 API (fuse_main); plain libfuse3,
 * no cuse-fusedev headers: this is the kind of daemon the emulator runs
 * unmodified.
 *
 * Build (part of the project build, or on its own):
 *
 *	meson setup build && ninja -C build
 *	gcc -Wall hello.c $(pkg-config fuse3 --cflags --libs) -o hello
 *
 * Run under emulation (no kernel mount; only processes started under the
 * same `fusedev run` see the filesystem):
 *
 *	mkdir -p /tmp/mnt
 *	build/cuse_fusedev/fusedev run -- sh -c '
 *	  build/examples/hello -f /tmp/mnt & d=$!
 *	  timeout 10 sh -c "until [ -e /tmp/mnt/hello ]; do sleep .1; done"
 *	  ls -l /tmp/mnt; cat /tmp/mnt/hello
 *	  kill $d; wait $d || :'
 *
 * (fuse_main returns 8 for "stopped by a signal".)
 * examples/demo.sh does the same for hello_ll with a deadline and cleanup.
 *
 * Mount with kernel FUSE instead:
 *
 *	build/examples/hello /tmp/mnt
 *	ls -l /tmp/mnt; cat /tmp/mnt/hello
 *	fusermount3 -u /tmp/mnt
 *
 * libfuse 3.14's fuse_main prints "Ignoring invalid max threads value
 * 4294967295" in multi-threaded mode; that is harmless (a libfuse bug,
 * silenced by -s or -o max_idle_threads=10).
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <fuse.h>

static const char hello_name[] = "hello";
static const char hello_text[] = "Hello World!\n";

static int hello_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (path[0] == '/' && strcmp(path + 1, hello_name) == 0) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(hello_text) - 1;
		return 0;
	}
	return -ENOENT;
}

static int hello_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
			 off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	/* Offsets of 0 everywhere: libfuse buffers the whole listing. */
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, hello_name, NULL, 0, 0);
	return 0;
}

static int hello_open(const char *path, struct fuse_file_info *fi)
{
	if (path[0] != '/' || strcmp(path + 1, hello_name) != 0)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fi->keep_cache = 1;
	return 0;
}

static int hello_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	size_t len = sizeof(hello_text) - 1;

	if (off < 0 || (size_t)off >= len)
		return 0;
	if (size > len - off)
		size = len - off;
	memcpy(buf, hello_text + off, size);
	return size;
}

static const struct fuse_operations hello_ops = {
	.getattr	= hello_getattr,
	.readdir	= hello_readdir,
	.open		= hello_open,
	.read		= hello_read,
};

int main(int argc, char *argv[])
{
	return fuse_main(argc, argv, &hello_ops, NULL);
}
