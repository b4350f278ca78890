/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memfs_ll: a writable in-memory filesystem, low-level libfuse3 API,
 * single-threaded.  Plain libfuse3, no cuse-fusedev headers.  It aims to
 * behave like tmpfs for everyday programs (cp -a, tar, git, sqlite3):
 * regular files (sparse, 4 KiB pages), directories, symlinks, hard links,
 * device nodes, fifos and sockets, extended attributes, rename flags,
 * fallocate, and exact lookup-count bookkeeping: an inode is freed only
 * when it has no links, the kernel has forgotten every lookup of it, and
 * no open file refers to it.
 *
 * Options: -o timeout=SECONDS (entry and attribute timeout, default 1.0),
 * the usual libfuse ones (-f, -d, -o allow_other, ...).  Mounted with
 * default_permissions: the kernel (or the emulator) checks permissions.
 * New files get the mode asked for less the caller's umask, which the
 * kernel sends (FUSE_CAP_DONT_MASK: the kernel does not apply it).
 * The size limit is half of physical memory, like tmpfs.
 *
 * Build (part of the project build, or on its own):
 *
 *	meson setup build && ninja -C build
 *	gcc -Wall memfs_ll.c $(pkg-config fuse3 --cflags --libs) -o memfs_ll
 *
 * Run under emulation (no kernel mount; only processes started under the
 * same `fusedev run` see the filesystem).  The filesystem starts empty, so
 * wait until the mountpoint's st_dev differs from its parent's:
 *
 *	mkdir -p /tmp/mnt
 *	build/cuse_fusedev/fusedev run -- sh -c '
 *	  build/examples/memfs_ll -f /tmp/mnt & d=$!
 *	  i=0; until [ $(stat -c %d /tmp/mnt) != $(stat -c %d /tmp) ]; do
 *	    i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep .1; done
 *	  cd /tmp/mnt && echo hi > a && mkdir d && mv a d/b && cat d/b
 *	  cd / && kill $d; wait $d'
 *
 * Mount with kernel FUSE instead:
 *
 *	build/examples/memfs_ll /tmp/mnt
 *	cp -a /etc /tmp/mnt/ && ls -lR /tmp/mnt | head
 *	fusermount3 -u /tmp/mnt
 */
#define FUSE_USE_VERSION 35
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <linux/falloc.h>
#include <fuse_lowlevel.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE		(1 << 1)
#endif
#ifndef XATTR_CREATE
#define XATTR_CREATE		1
#define XATTR_REPLACE		2
#endif

#define MEMFS_PAGE		4096
#define MEMFS_NAME_MAX		255
#define MEMFS_XATTR_MAX		65536

struct memfs_xattr {
	struct memfs_xattr *next;
	size_t size;
	char *value;
	char name[];
};

struct memfs_dent;

struct memfs_node {
	struct memfs_node *all_prev, *all_next;	/* every live node */
	uint64_t ino;				/* st_ino, never reused */
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	dev_t rdev;
	off_t size;
	struct timespec atime, mtime, ctime;
	uint64_t nlookup;		/* lookups the kernel holds */
	unsigned int nopen;		/* open files and directories */
	struct memfs_xattr *xattrs;
	/* S_IFREG: pages[0..npages), NULL for a hole */
	char **pages;
	size_t npages;
	/* S_IFLNK */
	char *target;
	/* S_IFDIR: entries in readdir order (ascending cookie) */
	struct memfs_dent *first, *last;
	struct memfs_node *parent;	/* NULL once removed */
	uint64_t next_cookie;
	size_t nentries;
};

/*
 * A name in a directory.  @cookie is the readdir offset just past this
 * entry; cookies only grow within a directory, so an offset stays valid
 * while entries come and go.
 */
struct memfs_dent {
	struct memfs_dent *hnext;		/* hash chain */
	struct memfs_dent *prev, *next;		/* directory order */
	struct memfs_node *dir;
	struct memfs_node *node;
	uint64_t cookie;
	size_t hash;
	char name[];
};

/* Cookies 1 and 2 are "." and ".."; entries start at 3. */
#define MEMFS_FIRST_COOKIE	3

static struct memfs {
	struct memfs_node *root;
	struct memfs_node *all;
	struct memfs_dent **buckets;
	size_t nbuckets;		/* power of two */
	size_t ndents;
	uint64_t next_ino;
	uint64_t nnodes;
	size_t pages_used;
	size_t pages_max;
	double timeout;
} fs;

static const char zero_page[MEMFS_PAGE];

/* ---- nodes ------------------------------------------------------------ */

static struct timespec now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static struct memfs_node *node_of(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return fs.root;
	return (struct memfs_node *)(uintptr_t)ino;
}

static fuse_ino_t nodeid_of(struct memfs_node *n)
{
	if (n == fs.root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)n;
}

static struct memfs_node *node_new(mode_t mode, uid_t uid, gid_t gid)
{
	struct memfs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ino = fs.next_ino++;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->uid = uid;
	n->gid = gid;
	n->atime = n->mtime = n->ctime = now();
	n->next_cookie = MEMFS_FIRST_COOKIE;
	n->all_next = fs.all;
	if (fs.all)
		fs.all->all_prev = n;
	fs.all = n;
	fs.nnodes++;
	return n;
}

static void node_free(struct memfs_node *n)
{
	struct memfs_xattr *x;
	size_t i;

	while ((x = n->xattrs)) {
		n->xattrs = x->next;
		free(x->value);
		free(x);
	}
	for (i = 0; i < n->npages; i++) {
		if (n->pages[i]) {
			free(n->pages[i]);
			fs.pages_used--;
		}
	}
	free(n->pages);
	free(n->target);
	if (n->all_prev)
		n->all_prev->all_next = n->all_next;
	else
		fs.all = n->all_next;
	if (n->all_next)
		n->all_next->all_prev = n->all_prev;
	fs.nnodes--;
	free(n);
}

/* Free @n once nothing can reach it: no link, no lookup, no open file. */
static void node_put(struct memfs_node *n)
{
	if (n != fs.root && n->nlink == 0 && n->nlookup == 0 && n->nopen == 0)
		node_free(n);
}

static void node_stat(const struct memfs_node *n, struct stat *st)
{
	size_t i, blocks = 0;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = n->rdev;
	st->st_size = n->size;
	st->st_blksize = MEMFS_PAGE;
	for (i = 0; i < n->npages; i++)
		blocks += n->pages[i] != NULL;
	st->st_blocks = blocks * (MEMFS_PAGE / 512);
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
}

static void touch_dir(struct memfs_node *dir)
{
	dir->mtime = dir->ctime = now();
}

/* ---- directory entries ------------------------------------------------ */

static size_t dent_hash(const struct memfs_node *dir, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uintptr_t)dir;

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct memfs_dent *dent_find(const struct memfs_node *dir,
				    const char *name)
{
	size_t h = dent_hash(dir, name);
	struct memfs_dent *d;

	for (d = fs.buckets[h & (fs.nbuckets - 1)]; d; d = d->hnext)
		if (d->hash == h && d->dir == dir && !strcmp(d->name, name))
			return d;
	return NULL;
}

static int dent_grow(void)
{
	size_t i, n = fs.nbuckets * 2;
	struct memfs_dent **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < fs.nbuckets; i++) {
		struct memfs_dent *d, *next;

		for (d = fs.buckets[i]; d; d = next) {
			next = d->hnext;
			d->hnext = b[d->hash & (n - 1)];
			b[d->hash & (n - 1)] = d;
		}
	}
	free(fs.buckets);
	fs.buckets = b;
	fs.nbuckets = n;
	return 0;
}

/* Link @node as @name in @dir; the caller adjusts nlink and times. */
static int dent_add(struct memfs_node *dir, const char *name,
		    struct memfs_node *node)
{
	size_t len = strlen(name);
	struct memfs_dent *d;

	if (fs.ndents >= fs.nbuckets && dent_grow() < 0)
		return -ENOMEM;
	d = malloc(sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, name, len + 1);
	d->dir = dir;
	d->node = node;
	d->hash = dent_hash(dir, name);
	d->cookie = dir->next_cookie++;
	d->hnext = fs.buckets[d->hash & (fs.nbuckets - 1)];
	fs.buckets[d->hash & (fs.nbuckets - 1)] = d;
	d->next = NULL;
	d->prev = dir->last;
	if (dir->last)
		dir->last->next = d;
	else
		dir->first = d;
	dir->last = d;
	dir->nentries++;
	fs.ndents++;
	return 0;
}

static void dent_del(struct memfs_dent *d)
{
	struct memfs_dent **pp = &fs.buckets[d->hash & (fs.nbuckets - 1)];
	struct memfs_node *dir = d->dir;

	while (*pp != d)
		pp = &(*pp)->hnext;
	*pp = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		dir->first = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		dir->last = d->prev;
	dir->nentries--;
	fs.ndents--;
	free(d);
}

/* ---- file data -------------------------------------------------------- */

/*
 * Make room for page indexes [0, @npages) in @n's page table.  Data may
 * not lie beyond the filesystem's size limit (a sparse file may be longer
 * than that; its tail is a hole).
 */
static int pages_reserve(struct memfs_node *n, size_t npages)
{
	size_t cap = n->npages ? n->npages : 4;
	char **p;

	if (npages <= n->npages)
		return 0;
	if (npages > fs.pages_max)
		return -EFBIG;
	while (cap < npages)
		cap *= 2;
	p = realloc(n->pages, cap * sizeof(*p));
	if (!p)
		return -ENOSPC;
	memset(p + n->npages, 0, (cap - n->npages) * sizeof(*p));
	n->pages = p;
	n->npages = cap;
	return 0;
}

/* Allocate every missing page in [first, last]. */
static int pages_fill(struct memfs_node *n, size_t first, size_t last)
{
	size_t i, missing = 0;
	int r;

	r = pages_reserve(n, last + 1);
	if (r < 0)
		return r;
	for (i = first; i <= last; i++)
		missing += n->pages[i] == NULL;
	if (fs.pages_used + missing > fs.pages_max)
		return -ENOSPC;
	for (i = first; i <= last; i++) {
		if (n->pages[i])
			continue;
		n->pages[i] = calloc(1, MEMFS_PAGE);
		if (!n->pages[i])
			return -ENOSPC;
		fs.pages_used++;
	}
	return 0;
}

/* Zero bytes [from, to) of the file, freeing pages that become empty. */
static void pages_zero(struct memfs_node *n, off_t from, off_t to)
{
	while (from < to) {
		size_t i = from / MEMFS_PAGE;
		size_t in = from % MEMFS_PAGE;
		size_t len = MEMFS_PAGE - in;

		if ((off_t)len > to - from)
			len = to - from;
		if (i >= n->npages)
			break;
		if (n->pages[i]) {
			if (len == MEMFS_PAGE) {
				free(n->pages[i]);
				n->pages[i] = NULL;
				fs.pages_used--;
			} else {
				memset(n->pages[i] + in, 0, len);
			}
		}
		from += len;
	}
}

/*
 * Invariant: bytes past @size in an allocated page are zero, so growing a
 * file needs no work and reads past the old end see zeros.
 */
static int file_truncate(struct memfs_node *n, off_t size)
{
	if (size < 0)
		return -EINVAL;
	if (size < n->size)
		pages_zero(n, size, n->size);
	n->size = size;
	return 0;
}

static ssize_t file_write(struct memfs_node *n, const char *buf, size_t size,
			  off_t off)
{
	size_t done = 0;
	int r;

	if (size == 0)
		return 0;
	if (off < 0 || off > INT64_MAX - (off_t)size)
		return -EFBIG;
	r = pages_fill(n, off / MEMFS_PAGE, (off + size - 1) / MEMFS_PAGE);
	if (r < 0)
		return r;
	while (done < size) {
		off_t pos = off + done;
		size_t in = pos % MEMFS_PAGE;
		size_t len = MEMFS_PAGE - in;

		if (len > size - done)
			len = size - done;
		memcpy(n->pages[pos / MEMFS_PAGE] + in, buf + done, len);
		done += len;
	}
	if (off + (off_t)size > n->size)
		n->size = off + size;
	return size;
}

/* ---- permission check for access(2) ----------------------------------- */

static int in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[64];
	int i, n = fuse_req_getgroups(req, 64, groups);

	for (i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

static int check_access(fuse_req_t req, const struct memfs_node *n, int mask)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mode_t bits;

	mask &= R_OK | W_OK | X_OK;
	if (ctx->uid == 0) {
		if ((mask & X_OK) && !S_ISDIR(n->mode) && !(n->mode & 0111))
			return -EACCES;
		return 0;
	}
	if (ctx->uid == n->uid)
		bits = (n->mode >> 6) & 7;
	else if (ctx->gid == n->gid || in_group(req, n->gid))
		bits = (n->mode >> 3) & 7;
	else
		bits = n->mode & 7;
	return (bits & mask) == (mode_t)mask ? 0 : -EACCES;
}

/* ---- replies ---------------------------------------------------------- */

static void fill_entry(struct memfs_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid_of(n);
	e->attr_timeout = fs.timeout;
	e->entry_timeout = fs.timeout;
	node_stat(n, &e->attr);
}

/* Reply with @n's entry; the kernel holds one more lookup if it got it. */
static void reply_entry(fuse_req_t req, struct memfs_node *n)
{
	struct fuse_entry_param e;

	fill_entry(n, &e);
	if (fuse_reply_entry(req, &e) == 0)
		n->nlookup++;
	else
		node_put(n);
}

static struct memfs_node *dir_of(fuse_ino_t ino, int *err)
{
	struct memfs_node *d = node_of(ino);

	*err = S_ISDIR(d->mode) ? 0 : ENOTDIR;
	return d;
}

/* ---- operations ------------------------------------------------------- */

/* memfs_create applies the request's umask itself. */
static void memfs_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
}

static void memfs_destroy(void *data)
{
	size_t i;

	for (i = 0; i < fs.nbuckets; i++) {
		struct memfs_dent *d, *next;

		for (d = fs.buckets[i]; d; d = next) {
			next = d->hnext;
			free(d);
		}
	}
	free(fs.buckets);
	fs.buckets = NULL;
	fs.nbuckets = 0;
	while (fs.all)
		node_free(fs.all);
	fs.root = NULL;
}

static void memfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct memfs_node *dir;
	struct memfs_dent *d;
	int err;

	dir = dir_of(parent, &err);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (strlen(name) > MEMFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (!strcmp(name, "."))
		reply_entry(req, dir);
	else if (!strcmp(name, ".."))
		reply_entry(req, dir->parent ? dir->parent : dir);
	else if ((d = dent_find(dir, name)))
		reply_entry(req, d->node);
	else
		fuse_reply_err(req, ENOENT);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct memfs_node *n = node_of(ino);

	if (n == fs.root)
		return;
	if (nlookup > n->nlookup) {
		fprintf(stderr, "memfs_ll: forget %llu > nlookup %llu\n",
			(unsigned long long)nlookup,
			(unsigned long long)n->nlookup);
		nlookup = n->nlookup;
	}
	n->nlookup -= nlookup;
	node_put(n);
}

static void memfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void memfs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void memfs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;

	node_stat(node_of(ino), &st);
	fuse_reply_attr(req, &st, fs.timeout);
}

static void memfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);
	struct timespec t = now();
	struct stat st;
	int r;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(n->mode)) {
			fuse_reply_err(req, EISDIR);
			return;
		}
		if (!S_ISREG(n->mode)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		if (attr->st_size != n->size) {
			r = file_truncate(n, attr->st_size);
			if (r < 0) {
				fuse_reply_err(req, -r);
				return;
			}
			n->mtime = t;
		}
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		n->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		n->atime = t;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		n->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		n->mtime = t;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		n->mtime = attr->st_mtim;
	n->ctime = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : t;
	node_stat(n, &st);
	fuse_reply_attr(req, &st, fs.timeout);
}

static void memfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct memfs_node *n = node_of(ino);

	if (!S_ISLNK(n->mode))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->target);
}

/*
 * Create a node of @mode named @name in @parent, owned by the caller, with
 * the group and set-group-ID bit of a set-group-ID parent.
 */
static int make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct memfs_node **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct memfs_node *dir, *n;
	gid_t gid = ctx->gid;
	int err;

	dir = dir_of(parent, &err);
	if (err)
		return -err;
	if (dir->nlink == 0)
		return -ENOENT;
	if (strlen(name) > MEMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (dent_find(dir, name) || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EEXIST;
	mode = (mode & S_IFMT) | (mode & 07777 & ~ctx->umask);
	if (dir->mode & S_ISGID) {
		gid = dir->gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	n = node_new(mode, ctx->uid, gid);
	if (!n)
		return -ENOMEM;
	if (dent_add(dir, name, n) < 0) {
		node_free(n);
		return -ENOMEM;
	}
	if (S_ISDIR(mode)) {
		n->parent = dir;
		dir->nlink++;
	}
	touch_dir(dir);
	*out = n;
	return 0;
}

static void memfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	struct memfs_node *n;
	int r;

	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = make_node(req, parent, name, mode, &n);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (S_ISCHR(mode) || S_ISBLK(mode))
		n->rdev = rdev;
	reply_entry(req, n);
}

static void memfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct memfs_node *n;
	int r = make_node(req, parent, name, S_IFDIR | (mode & 07777), &n);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(req, n);
}

static void memfs_symlink(fuse_req_t req, const char *link,
			  fuse_ino_t parent, const char *name)
{
	struct memfs_node *n;
	char *target = strdup(link);
	int r;

	if (!target) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = make_node(req, parent, name, S_IFLNK | 0777, &n);
	if (r < 0) {
		free(target);
		fuse_reply_err(req, -r);
		return;
	}
	/* The umask does not apply to symlinks. */
	n->mode = S_IFLNK | 0777;
	n->target = target;
	n->size = strlen(target);
	reply_entry(req, n);
}

static void memfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct memfs_node *dir, *n;
	struct memfs_dent *d;
	int err;

	dir = dir_of(parent, &err);
	if (!err && !(d = dent_find(dir, name)))
		err = ENOENT;
	if (!err && S_ISDIR(d->node->mode))
		err = EISDIR;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	n = d->node;
	dent_del(d);
	n->nlink--;
	n->ctime = now();
	touch_dir(dir);
	node_put(n);
	fuse_reply_err(req, 0);
}

static void memfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct memfs_node *dir, *n;
	struct memfs_dent *d;
	int err;

	dir = dir_of(parent, &err);
	if (!err && !strcmp(name, "."))
		err = EINVAL;
	if (!err && !strcmp(name, ".."))
		err = ENOTEMPTY;
	if (!err && !(d = dent_find(dir, name)))
		err = ENOENT;
	if (!err && !S_ISDIR(d->node->mode))
		err = ENOTDIR;
	if (!err && d->node->nentries)
		err = ENOTEMPTY;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	n = d->node;
	dent_del(d);
	n->nlink = 0;
	n->parent = NULL;
	n->ctime = now();
	dir->nlink--;
	touch_dir(dir);
	node_put(n);
	fuse_reply_err(req, 0);
}

/* Is @dir @anc or below it? */
static int is_below(const struct memfs_node *dir, const struct memfs_node *anc)
{
	for (; dir; dir = dir->parent)
		if (dir == anc)
			return 1;
	return 0;
}

static int do_exchange(struct memfs_dent *a, struct memfs_dent *b)
{
	struct memfs_node *na = a->node, *nb = b->node;
	struct timespec t = now();

	if (S_ISDIR(na->mode) && is_below(b->dir, na))
		return -EINVAL;
	if (S_ISDIR(nb->mode) && is_below(a->dir, nb))
		return -EINVAL;
	a->node = nb;
	b->node = na;
	if (S_ISDIR(na->mode)) {
		na->parent = b->dir;
		a->dir->nlink--;
		b->dir->nlink++;
	}
	if (S_ISDIR(nb->mode)) {
		nb->parent = a->dir;
		b->dir->nlink--;
		a->dir->nlink++;
	}
	na->ctime = nb->ctime = t;
	a->dir->mtime = a->dir->ctime = t;
	b->dir->mtime = b->dir->ctime = t;
	return 0;
}

static int do_rename(struct memfs_node *pd, const char *name,
		     struct memfs_node *npd, const char *newname,
		     unsigned int flags)
{
	struct memfs_dent *sd, *td;
	struct memfs_node *n, *t;
	int r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (strlen(newname) > MEMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(newname, ".") || !strcmp(newname, ".."))
		return -EBUSY;
	sd = dent_find(pd, name);
	if (!sd)
		return -ENOENT;
	td = dent_find(npd, newname);
	n = sd->node;
	if (flags & RENAME_EXCHANGE)
		return td ? do_exchange(sd, td) : -ENOENT;
	if (td && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (td && td->node == n)
		return 0;
	if (S_ISDIR(n->mode) && is_below(npd, n))
		return -EINVAL;
	if (npd->nlink == 0)
		return -ENOENT;
	if (td) {
		t = td->node;
		if (S_ISDIR(n->mode) && !S_ISDIR(t->mode))
			return -ENOTDIR;
		if (!S_ISDIR(n->mode) && S_ISDIR(t->mode))
			return -EISDIR;
		if (S_ISDIR(t->mode) && t->nentries)
			return -ENOTEMPTY;
	}
	/* Add the new name first: the only step that can fail. */
	if (!td) {
		r = dent_add(npd, newname, n);
		if (r < 0)
			return r;
	} else {
		t = td->node;
		td->node = n;
		if (S_ISDIR(t->mode)) {
			t->nlink = 0;
			t->parent = NULL;
			npd->nlink--;
		} else {
			t->nlink--;
		}
		t->ctime = now();
		node_put(t);
	}
	dent_del(sd);
	if (S_ISDIR(n->mode)) {
		pd->nlink--;
		npd->nlink++;
		n->parent = npd;
	}
	n->ctime = now();
	touch_dir(pd);
	touch_dir(npd);
	return 0;
}

static void memfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	struct memfs_node *pd, *npd;
	int err;

	pd = dir_of(parent, &err);
	if (!err)
		npd = dir_of(newparent, &err);
	if (!err)
		err = -do_rename(pd, name, npd, newname, flags);
	fuse_reply_err(req, err);
}

static void memfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	struct memfs_node *n = node_of(ino), *dir;
	int err;

	dir = dir_of(newparent, &err);
	if (!err && S_ISDIR(n->mode))
		err = EPERM;
	if (!err && n->nlink == 0)
		err = ENOENT;
	if (!err && dir->nlink == 0)
		err = ENOENT;
	if (!err && strlen(newname) > MEMFS_NAME_MAX)
		err = ENAMETOOLONG;
	if (!err && dent_find(dir, newname))
		err = EEXIST;
	if (!err && dent_add(dir, newname, n) < 0)
		err = ENOMEM;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	n->nlink++;
	n->ctime = now();
	touch_dir(dir);
	reply_entry(req, n);
}

static int open_node(struct memfs_node *n, struct fuse_file_info *fi)
{
	if (S_ISDIR(n->mode) && (fi->flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	if ((fi->flags & O_TRUNC) && S_ISREG(n->mode) &&
	    (fi->flags & O_ACCMODE) != O_RDONLY) {
		if (n->size) {
			file_truncate(n, 0);
			n->mtime = n->ctime = now();
		}
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	n->nopen++;
	return 0;
}

static void memfs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);
	int r = open_node(n, fi);

	if (r < 0) {
		fuse_reply_err(req, -r);
	} else if (fuse_reply_open(req, fi) != 0) {
		n->nopen--;
		node_put(n);
	}
}

static void memfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct memfs_node *dir, *n;
	struct memfs_dent *d;
	int r, err;

	dir = dir_of(parent, &err);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	d = dent_find(dir, name);
	if (d && (fi->flags & O_EXCL)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (d) {
		n = d->node;
	} else {
		r = make_node(req, parent, name, S_IFREG | (mode & 07777), &n);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = open_node(n, fi);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fill_entry(n, &e);
	if (fuse_reply_create(req, &e, fi) == 0) {
		n->nlookup++;
	} else {
		n->nopen--;
		node_put(n);
	}
}

static void memfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);
	struct iovec *iov;
	size_t cnt = 0;
	off_t end;

	if (!S_ISREG(n->mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0 || off >= n->size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	end = (size_t)(n->size - off) < size ? n->size : off + (off_t)size;
	iov = malloc((size / MEMFS_PAGE + 2) * sizeof(*iov));
	if (!iov) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	while (off < end) {
		size_t i = off / MEMFS_PAGE;
		size_t in = off % MEMFS_PAGE;
		size_t len = MEMFS_PAGE - in;

		if ((off_t)len > end - off)
			len = end - off;
		if (i < n->npages && n->pages[i])
			iov[cnt].iov_base = n->pages[i] + in;
		else
			iov[cnt].iov_base = (void *)(zero_page + in);
		iov[cnt].iov_len = len;
		cnt++;
		off += len;
	}
	n->atime = now();
	fuse_reply_iov(req, iov, cnt);
	free(iov);
}

static void memfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);
	ssize_t r;

	if (!S_ISREG(n->mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (fi->flags & O_APPEND)
		off = n->size;
	r = file_write(n, buf, size, off);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	n->mtime = n->ctime = now();
	fuse_reply_write(req, r);
}

static void memfs_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void memfs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);

	n->nopen--;
	node_put(n);
	fuse_reply_err(req, 0);
}

static void memfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void memfs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);

	if (!S_ISDIR(n->mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = 0;
	n->nopen++;
	if (fuse_reply_open(req, fi) != 0) {
		n->nopen--;
		node_put(n);
	}
}

/*
 * One readdir buffer from offset @off: "." (cookie 1), ".." (cookie 2),
 * then the entries whose cookie is above @off.  With @plus every entry
 * but "." and ".." carries a lookup; the kernel takes one for each entry
 * it receives, so the count is undone if the reply does not arrive.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, int plus)
{
	struct memfs_node *dir = node_of(ino), **looked = NULL;
	struct memfs_dent *d = dir->first;
	size_t nlooked = 0, rem = size, len, i;
	char *buf, *p;

	buf = p = malloc(size ? size : 1);
	if (plus)
		looked = malloc((size / 32 + 1) * sizeof(*looked));
	if (!buf || (plus && !looked)) {
		free(buf);
		free(looked);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (;;) {
		struct fuse_entry_param e;
		struct memfs_node *n;
		const char *name;
		uint64_t cookie;

		if (off < 1) {
			name = ".";
			n = dir;
			cookie = 1;
		} else if (off < 2) {
			name = "..";
			n = dir->parent ? dir->parent : dir;
			cookie = 2;
		} else {
			while (d && d->cookie <= (uint64_t)off)
				d = d->next;
			if (!d)
				break;
			name = d->name;
			n = d->node;
			cookie = d->cookie;
		}
		if (plus && cookie >= MEMFS_FIRST_COOKIE) {
			fill_entry(n, &e);
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = n->ino;
			e.attr.st_mode = n->mode & S_IFMT;
		}
		if (plus)
			len = fuse_add_direntry_plus(req, p, rem, name, &e,
						     cookie);
		else
			len = fuse_add_direntry(req, p, rem, name, &e.attr,
						cookie);
		if (len > rem)
			break;
		if (plus && cookie >= MEMFS_FIRST_COOKIE) {
			n->nlookup++;
			looked[nlooked++] = n;
		}
		p += len;
		rem -= len;
		off = cookie;
	}
	if (fuse_reply_buf(req, buf, p - buf) != 0) {
		for (i = 0; i < nlooked; i++) {
			looked[i]->nlookup--;
			node_put(looked[i]);
		}
	}
	free(looked);
	free(buf);
}

static void memfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 0);
}

static void memfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 1);
}

static void memfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	memfs_release(req, ino, fi);
}

static void memfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void memfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = MEMFS_PAGE;
	sv.f_frsize = MEMFS_PAGE;
	sv.f_blocks = fs.pages_max;
	sv.f_bfree = fs.pages_max - fs.pages_used;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = fs.pages_max;
	sv.f_ffree = fs.pages_max > fs.nnodes ? fs.pages_max - fs.nnodes : 0;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = MEMFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void memfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	fuse_reply_err(req, -check_access(req, node_of(ino), mask));
}

static struct memfs_xattr **xattr_find(struct memfs_node *n, const char *name)
{
	struct memfs_xattr **pp;

	for (pp = &n->xattrs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			return pp;
	return NULL;
}

static void memfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	struct memfs_node *n = node_of(ino);
	struct memfs_xattr **pp = xattr_find(n, name), *x;
	char *copy;

	if (!*name || strlen(name) > MEMFS_NAME_MAX) {
		fuse_reply_err(req, *name ? ERANGE : EINVAL);
		return;
	}
	/* No ACLs here: the caller then falls back to the mode bits. */
	if (!strncmp(name, "system.posix_acl_", 17)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (size > MEMFS_XATTR_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	if ((flags & XATTR_CREATE) && pp) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	if ((flags & XATTR_REPLACE) && !pp) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	copy = malloc(size ? size : 1);
	if (!copy) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(copy, value, size);
	if (pp) {
		x = *pp;
		free(x->value);
	} else {
		x = malloc(sizeof(*x) + strlen(name) + 1);
		if (!x) {
			free(copy);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		strcpy(x->name, name);
		x->next = n->xattrs;
		n->xattrs = x;
	}
	x->value = copy;
	x->size = size;
	n->ctime = now();
	fuse_reply_err(req, 0);
}

static void memfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	struct memfs_xattr **pp = xattr_find(node_of(ino), name);

	if (!pp)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, (*pp)->size);
	else if (size < (*pp)->size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (*pp)->value, (*pp)->size);
}

static void memfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct memfs_node *n = node_of(ino);
	struct memfs_xattr *x;
	size_t len = 0;
	char *buf, *p;

	for (x = n->xattrs; x; x = x->next)
		len += strlen(x->name) + 1;
	if (size == 0) {
		fuse_reply_xattr(req, len);
		return;
	}
	if (size < len) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	buf = p = malloc(len ? len : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (x = n->xattrs; x; x = x->next)
		p = stpcpy(p, x->name) + 1;
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void memfs_removexattr(fuse_req_t req, fuse_ino_t ino,
			      const char *name)
{
	struct memfs_node *n = node_of(ino);
	struct memfs_xattr **pp = xattr_find(n, name), *x;

	if (!pp) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	x = *pp;
	*pp = x->next;
	free(x->value);
	free(x);
	n->ctime = now();
	fuse_reply_err(req, 0);
}

/*
 * mode 0 allocates and may extend the file, FALLOC_FL_KEEP_SIZE only
 * allocates, FALLOC_FL_PUNCH_HOLE (with KEEP_SIZE) zeroes the range.
 */
static void memfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			    off_t off, off_t len, struct fuse_file_info *fi)
{
	struct memfs_node *n = node_of(ino);
	off_t end;
	int r;

	if (!S_ISREG(n->mode)) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	if (off < 0 || len <= 0 || off > INT64_MAX - len) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	end = off + len;
	if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
		pages_zero(n, off, end < n->size ? end : n->size);
	} else if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE) {
		r = pages_fill(n, off / MEMFS_PAGE, (end - 1) / MEMFS_PAGE);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		if (mode == 0 && end > n->size)
			n->size = end;
	} else {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	n->mtime = n->ctime = now();
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops memfs_ops = {
	.init		= memfs_init,
	.destroy	= memfs_destroy,
	.lookup		= memfs_lookup,
	.forget		= memfs_forget,
	.forget_multi	= memfs_forget_multi,
	.getattr	= memfs_getattr,
	.setattr	= memfs_setattr,
	.readlink	= memfs_readlink,
	.mknod		= memfs_mknod,
	.mkdir		= memfs_mkdir,
	.unlink		= memfs_unlink,
	.rmdir		= memfs_rmdir,
	.symlink	= memfs_symlink,
	.rename		= memfs_rename,
	.link		= memfs_link,
	.open		= memfs_open,
	.read		= memfs_read,
	.write		= memfs_write,
	.flush		= memfs_flush,
	.release	= memfs_release,
	.fsync		= memfs_fsync,
	.opendir	= memfs_opendir,
	.readdir	= memfs_readdir,
	.readdirplus	= memfs_readdirplus,
	.releasedir	= memfs_releasedir,
	.fsyncdir	= memfs_fsyncdir,
	.statfs		= memfs_statfs,
	.access		= memfs_access,
	.setxattr	= memfs_setxattr,
	.getxattr	= memfs_getxattr,
	.listxattr	= memfs_listxattr,
	.removexattr	= memfs_removexattr,
	.create		= memfs_create,
	.fallocate	= memfs_fallocate,
};

static const struct fuse_opt memfs_opts[] = {
	{ "timeout=%lf", offsetof(struct memfs, timeout), 0 },
	FUSE_OPT_END
};

static int memfs_setup(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long psize = sysconf(_SC_PAGESIZE);

	fs.nbuckets = 1024;
	fs.buckets = calloc(fs.nbuckets, sizeof(*fs.buckets));
	if (!fs.buckets)
		return -ENOMEM;
	fs.next_ino = FUSE_ROOT_ID;
	fs.root = node_new(S_IFDIR | 0755, getuid(), getgid());
	if (!fs.root)
		return -ENOMEM;
	if (pages > 0 && psize > 0)
		fs.pages_max = (size_t)pages / 2 * (size_t)psize / MEMFS_PAGE;
	else
		fs.pages_max = (size_t)1 << 18;	/* 1 GiB */
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int ret = 1;

	fs.timeout = 1.0;
	if (fuse_opt_parse(&args, &fs, memfs_opts, NULL) != 0)
		return 1;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help) {
		printf("usage: %s [options] <mountpoint>\n\n"
		       "    -o timeout=SECONDS     entry and attribute timeout"
		       " (default 1.0)\n\n", argv[0]);
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
	if (fs.timeout < 0) {
		fprintf(stderr, "%s: timeout must be >= 0\n", argv[0]);
		goto out_args;
	}
	if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0 ||
	    memfs_setup() < 0) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		goto out_args;
	}

	se = fuse_session_new(&args, &memfs_ops, sizeof(memfs_ops), NULL);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);
	/*
	 * Single-threaded by design: no locks anywhere in this file.
	 * > 0: stopped by that signal, a normal end.
	 */
	ret = fuse_session_loop(se) < 0;
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	if (fs.root)
		memfs_destroy(NULL);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
