/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hello_ll: a read-only filesystem with one file, "hello", that reads
 * "Hello World!\n".  Low-level libfuse3 API (fuse_session_new, _mount,
 * _loop); plain libfuse3, no cuse-fusedev headers.
 *
 * Build (part of the project build, or on its own):
 *
 *	meson setup build && ninja -C build
 *	gcc -Wall hello_ll.c $(pkg-config fuse3 --cflags --libs) -o hello_ll
 *
 * Run under emulation (no kernel mount; only processes started under the
 * same `fusedev run` see the filesystem):
 *
 *	mkdir -p /tmp/mnt
 *	build/cuse_fusedev/fusedev run -- sh -c '
 *	  build/examples/hello_ll -f /tmp/mnt & d=$!
 *	  timeout 10 sh -c "until [ -e /tmp/mnt/hello ]; do sleep .1; done"
 *	  ls -l /tmp/mnt; cat /tmp/mnt/hello
 *	  kill $d; wait $d'
 *
 * examples/demo.sh does the same with a deadline and cleanup.
 *
 * Mount with kernel FUSE instead:
 *
 *	build/examples/hello_ll /tmp/mnt
 *	ls -l /tmp/mnt; cat /tmp/mnt/hello
 *	fusermount3 -u /tmp/mnt
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fuse_lowlevel.h>

#define HELLO_INO	2

static const char hello_name[] = "hello";
static const char hello_text[] = "Hello World!\n";

/* Fill @st for @ino; -ENOENT for an inode that does not exist. */
static int hello_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	switch (ino) {
	case FUSE_ROOT_ID:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case HELLO_INO:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(hello_text) - 1;
		return 0;
	}
	return -ENOENT;
}

static void hello_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, hello_name) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = HELLO_INO;
	e.attr_timeout = 1.0;
	e.entry_timeout = 1.0;
	hello_stat(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void hello_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;
	int r = hello_stat(ino, &st);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, 1.0);
}

/*
 * The root directory's listing is three entries; each carries the offset
 * of the entry after it, so a reader may resume at any of them.
 */
static void hello_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	static const struct {
		const char *name;
		fuse_ino_t ino;
		mode_t mode;
	} ents[] = {
		{ ".", FUSE_ROOT_ID, S_IFDIR },
		{ "..", FUSE_ROOT_ID, S_IFDIR },
		{ hello_name, HELLO_INO, S_IFREG },
	};
	char *buf, *p;
	size_t rem;

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	rem = size;
	for (; off >= 0 && off < (off_t)(sizeof(ents) / sizeof(ents[0]));
	     off++) {
		struct stat st = {
			.st_ino = ents[off].ino,
			.st_mode = ents[off].mode,
		};
		size_t len = fuse_add_direntry(req, p, rem, ents[off].name,
					       &st, off + 1);

		if (len > rem)
			break;
		p += len;
		rem -= len;
	}
	fuse_reply_buf(req, buf, p - buf);
	free(buf);
}

static void hello_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (ino != HELLO_INO)
		fuse_reply_err(req, EISDIR);
	else if ((fi->flags & O_ACCMODE) != O_RDONLY)
		fuse_reply_err(req, EACCES);
	else {
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
	}
}

static void hello_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	size_t len = sizeof(hello_text) - 1;

	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - off)
		size = len - off;
	fuse_reply_buf(req, hello_text + off, size);
}

static const struct fuse_lowlevel_ops hello_ll_ops = {
	.lookup		= hello_lookup,
	.getattr	= hello_getattr,
	.readdir	= hello_readdir,
	.open		= hello_open,
	.read		= hello_read,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int ret = 1;

	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help) {
		printf("usage: %s [options] <mountpoint>\n\n", argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [options] <mountpoint>\n", argv[0]);
		goto out_args;
	}

	se = fuse_session_new(&args, &hello_ll_ops, sizeof(hello_ll_ops),
			      NULL);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);
	/* > 0: stopped by that signal, a normal end. */
	ret = fuse_session_loop(se) < 0;
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
