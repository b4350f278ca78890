/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fts(3) while emulated mounts exist.
 *
 * glibc's fts reads directories and stats files through its internal
 * entry points, which the library cannot see: an emulated mount would
 * look like its empty mountpoint.  While the emulator has mounts,
 * fts_open starts a stream the shim walks itself with the wrapped
 * opendir/readdir64/stat64/lstat64, reproducing glibc's traversal: the
 * order (directory order, or fts_compar's), the fts_info codes, the
 * FTS_* options, fts_set instructions, fts_children (FTS_NAMEONLY too),
 * the shared fts_path buffer and which entries stay valid.  Streams the
 * shim did not open (opened before the first mount) stay glibc's: every
 * other entry point tells the two apart by fts_rfd.  Without mounts
 * fts_open is glibc's.
 *
 * Deviation: the shim never changes the current directory, as if
 * FTS_NOCHDIR were always given, so fts_accpath is always fts_path (the
 * path from the root as given) where glibc's chdir walk gives fts_name.
 * A directory that can be read but not searched therefore yields FTS_NS
 * children and FTS_DP, where glibc's chdir walk yields FTS_NS children
 * and FTS_ERR.  An FTS_FOLLOW set on an entry of an fts_children list is
 * applied to that entry's own path (glibc's FTS_NOCHDIR walk stats the
 * previous sibling's).
 *
 * FTS and FTSENT are glibc's public structures; on LP64 the fts64 forms
 * have the same layout and share the code.
 */
#include "shim.h"

#include <fts.h>

#if __WORDSIZE == 64

_Static_assert(sizeof(FTSENT) == sizeof(FTSENT64) &&
	       offsetof(FTSENT, fts_name) == offsetof(FTSENT64, fts_name) &&
	       offsetof(FTSENT, fts_statp) == offsetof(FTSENT64, fts_statp) &&
	       sizeof(FTS) == sizeof(FTS64) &&
	       sizeof(struct stat) == sizeof(struct stat64),
	       "fts64 must share fts's layout");

/* fts_rfd of a stream the shim opened; glibc's is -1 or an fd. */
#define FTS_SHIM_RFD	(-0x5f75)

/* Internal stream flag, kept in fts_options beside glibc's. */
#define FTS_STOPPED	FTS_STOP

typedef int (*fts_cmp_t)(const FTSENT **, const FTSENT **);
typedef int (*fts64_cmp_t)(const FTSENT64 **, const FTSENT64 **);

/* An entry: links to every live entry of its stream, room for its stat. */
struct fts_node {
	struct fts_node *prev, *next;
	struct stat64 st;
	FTSENT ent;			/* last: fts_name runs past its end */
};

struct fts_stream {
	FTS pub;			/* first: what the caller holds */
	struct fts_node *nodes;		/* every live entry */
	size_t cap;			/* bytes at pub.fts_path */
	dev_t root_dev;			/* FTS_XDEV: the current root's */
};

enum build_kind {
	BUILD_READ,			/* fts_read descends */
	BUILD_CHILD,			/* fts_children */
	BUILD_NAMES,			/* fts_children(FTS_NAMEONLY) */
};

static inline struct fts_node *node_of(FTSENT *p)
{
	return (struct fts_node *)((char *)p - offsetof(struct fts_node, ent));
}

static inline bool opt(const struct fts_stream *fs, int flag)
{
	return fs->pub.fts_options & flag;
}

static inline bool is_dot(const char *name)
{
	return name[0] == '.' &&
	       (!name[1] || (name[1] == '.' && !name[2]));
}

static FTSENT *node_new(struct fts_stream *fs, const char *name, size_t len)
{
	size_t size = offsetof(struct fts_node, ent) +
		      offsetof(FTSENT, fts_name) + len + 1;
	struct fts_node *n;

	if (size < sizeof(*n))
		size = sizeof(*n);
	n = calloc(1, size);
	if (!n)
		return NULL;
	memcpy(n->ent.fts_name, name, len);
	n->ent.fts_name[len] = '\0';
	n->ent.fts_namelen = len;
	n->ent.fts_path = fs->pub.fts_path;
	n->ent.fts_accpath = fs->pub.fts_path;
	n->ent.fts_statp = (struct stat *)&n->st;
	n->ent.fts_instr = FTS_NOINSTR;
	n->ent.fts_symfd = -1;
	n->next = fs->nodes;
	if (n->next)
		n->next->prev = n;
	fs->nodes = n;
	return &n->ent;
}

static void node_free(struct fts_stream *fs, FTSENT *p)
{
	struct fts_node *n;

	if (!p)
		return;
	n = node_of(p);
	if (n->prev)
		n->prev->next = n->next;
	else
		fs->nodes = n->next;
	if (n->next)
		n->next->prev = n->prev;
	free(n);
}

static void list_free(struct fts_stream *fs, FTSENT *p)
{
	FTSENT *next;

	for (; p; p = next) {
		next = p->fts_link;
		node_free(fs, p);
	}
}

/*
 * Room for @need bytes at the path buffer.  Every entry's fts_path is the
 * buffer, so a move updates them all (fts_accpath too, unless it is the
 * entry's own name: a root not yet reached).
 */
static int path_room(struct fts_stream *fs, size_t need)
{
	struct fts_node *n;
	char *p;

	if (need <= fs->cap)
		return 0;
	need += 256;
	p = realloc(fs->pub.fts_path, need);
	if (!p)
		return -ENOMEM;
	fs->pub.fts_path = p;
	fs->pub.fts_pathlen = need > INT_MAX ? INT_MAX : (int)need;
	fs->cap = need;
	for (n = fs->nodes; n; n = n->next) {
		if (n->ent.fts_accpath != n->ent.fts_name)
			n->ent.fts_accpath = p;
		n->ent.fts_path = p;
	}
	return 0;
}

/* Where a child's name goes after @p's path: one '/' of its end dropped. */
static size_t path_join_at(const struct fts_stream *fs, const FTSENT *p)
{
	size_t len = p->fts_pathlen;

	return len && fs->pub.fts_path[len - 1] == '/' ? len - 1 : len;
}

/* Put @p's path (its parent's path, '/', its name) in the buffer. */
static void path_set(struct fts_stream *fs, FTSENT *p)
{
	char *t = fs->pub.fts_path + path_join_at(fs, p->fts_parent);

	*t++ = '/';
	memcpy(t, p->fts_name, p->fts_namelen + 1);
}

/*
 * stat (FTS_LOGICAL or @follow: following a symlink) or lstat
 * p->fts_accpath into the entry; the fts_info it earns.  A directory
 * records dev/ino/nlink and is FTS_DC when an ancestor is the same.
 */
static unsigned short ent_stat(struct fts_stream *fs, FTSENT *p, bool follow)
{
	struct stat64 *st = &node_of(p)->st;
	FTSENT *t;
	int e;

	if (opt(fs, FTS_LOGICAL) || follow) {
		if (stat64(p->fts_accpath, st) < 0) {
			e = errno;
			if (lstat64(p->fts_accpath, st) == 0) {
				errno = 0;
				return FTS_SLNONE;
			}
			p->fts_errno = e;
			memset(st, 0, sizeof(*st));
			return FTS_NS;
		}
	} else if (lstat64(p->fts_accpath, st) < 0) {
		p->fts_errno = errno;
		memset(st, 0, sizeof(*st));
		return FTS_NS;
	}
	if (S_ISDIR(st->st_mode)) {
		p->fts_dev = st->st_dev;
		p->fts_ino = st->st_ino;
		p->fts_nlink = st->st_nlink;
		if (is_dot(p->fts_name))
			return FTS_DOT;
		for (t = p->fts_parent; t && t->fts_level >= FTS_ROOTLEVEL;
		     t = t->fts_parent) {
			if (t->fts_dev == p->fts_dev &&
			    t->fts_ino == p->fts_ino) {
				p->fts_cycle = t;
				return FTS_DC;
			}
		}
		return FTS_D;
	}
	if (S_ISLNK(st->st_mode))
		return FTS_SL;
	if (S_ISREG(st->st_mode))
		return FTS_F;
	return FTS_DEFAULT;
}

static FTSENT *list_sort(struct fts_stream *fs, FTSENT *head, size_t n)
{
	FTSENT **a, *p;
	size_t i;

	a = malloc(n * sizeof(*a));
	if (!a)
		return head;		/* unsorted, as glibc does */
	for (i = 0, p = head; p; p = p->fts_link)
		a[i++] = p;
	qsort(a, n, sizeof(*a), fs->pub.fts_compar);
	for (i = 0; i + 1 < n; i++)
		a[i]->fts_link = a[i + 1];
	a[n - 1]->fts_link = NULL;
	head = a[0];
	free(a);
	return head;
}

/* A fatal error in a build: the stream stops, fts_read returns NULL. */
static FTSENT *build_fail(struct fts_stream *fs, DIR *dir, FTSENT *head,
			  int err)
{
	list_free(fs, head);
	closedir(dir);
	fs->pub.fts_cur->fts_info = FTS_ERR;
	fs->pub.fts_options |= FTS_STOPPED;
	errno = err;
	return NULL;
}

/*
 * The entries of the directory fts_cur, in directory order or sorted.
 * NULL with errno 0 for none (fts_read: the directory turns FTS_DP), or
 * when it cannot be opened (fts_read: FTS_DNR), or on a fatal error (the
 * stream stops).  With FTS_NOSTAT|FTS_PHYSICAL only what may be a
 * directory is stat'ed, and only until the parent's link count says
 * every subdirectory was seen; FTS_NAMEONLY stats nothing.
 */
static FTSENT *build(struct fts_stream *fs, enum build_kind kind)
{
	FTSENT *cur = fs->pub.fts_cur, *head = NULL, *tail = NULL, *p;
	bool nostat = false;
	struct dirent64 *d;
	size_t len, nitems = 0;
	int nlinks = -1;
	DIR *dir;

	if (kind == BUILD_NAMES) {
		nlinks = 0;
	} else if (opt(fs, FTS_NOSTAT) && opt(fs, FTS_PHYSICAL)) {
		nlinks = (int)(cur->fts_nlink - (opt(fs, FTS_SEEDOT) ? 0 : 2));
		nostat = true;
	}
	dir = opendir(cur->fts_accpath);
	if (!dir) {
		if (kind == BUILD_READ) {
			cur->fts_info = FTS_DNR;
			cur->fts_errno = errno;
		}
		return NULL;
	}
	len = path_join_at(fs, cur);
	if (path_room(fs, len + 2) < 0)
		return build_fail(fs, dir, NULL, ENOMEM);
	fs->pub.fts_path[len++] = '/';
	while ((d = readdir64(dir))) {
		size_t namelen = strlen(d->d_name);

		if (!opt(fs, FTS_SEEDOT) && is_dot(d->d_name))
			continue;
		if (len + namelen >= USHRT_MAX)
			return build_fail(fs, dir, head, ENAMETOOLONG);
		if (path_room(fs, len + namelen + 1) < 0)
			return build_fail(fs, dir, head, ENOMEM);
		p = node_new(fs, d->d_name, namelen);
		if (!p)
			return build_fail(fs, dir, head, ENOMEM);
		p->fts_level = cur->fts_level + 1;
		p->fts_parent = cur;
		p->fts_pathlen = len + namelen;
		if (nlinks == 0 || (nostat && d->d_type != DT_DIR &&
				    d->d_type != DT_UNKNOWN)) {
			p->fts_info = FTS_NSOK;
		} else {
			memcpy(fs->pub.fts_path + len, d->d_name, namelen + 1);
			p->fts_info = ent_stat(fs, p, false);
			if (nlinks > 0 && (p->fts_info == FTS_D ||
					   p->fts_info == FTS_DC ||
					   p->fts_info == FTS_DOT))
				nlinks--;
		}
		if (tail)
			tail->fts_link = p;
		else
			head = p;
		tail = p;
		nitems++;
	}
	closedir(dir);
	/*
	 * What fts_path reads now: glibc's FTS_NOCHDIR walk leaves the
	 * directory's path with a '/' appended (none, and one trailing '/'
	 * dropped, when it was empty); its chdir walk leaves it as it was.
	 */
	if (opt(fs, FTS_NOCHDIR))
		fs->pub.fts_path[nitems ? len : len - 1] = '\0';
	else
		fs->pub.fts_path[cur->fts_pathlen] = '\0';
	if (!nitems) {
		if (kind == BUILD_READ)
			cur->fts_info = FTS_DP;
		return NULL;
	}
	if (fs->pub.fts_compar && nitems > 1)
		head = list_sort(fs, head, nitems);
	return head;
}

/*
 * A root becomes current: its path (as given) goes to the buffer and its
 * name becomes what follows the last '/' (kept whole when that is the only
 * character: "/").
 */
static int root_load(struct fts_stream *fs, FTSENT *p)
{
	char *slash;
	int r;

	r = path_room(fs, p->fts_namelen + 1);
	if (r < 0)
		return r;
	memcpy(fs->pub.fts_path, p->fts_name, p->fts_namelen + 1);
	p->fts_pathlen = p->fts_namelen;
	slash = strrchr(p->fts_name, '/');
	if (slash && (slash != p->fts_name || slash[1])) {
		memmove(p->fts_name, slash + 1, strlen(slash + 1) + 1);
		p->fts_namelen = strlen(p->fts_name);
	}
	p->fts_path = fs->pub.fts_path;
	p->fts_accpath = fs->pub.fts_path;
	fs->root_dev = p->fts_dev;
	return 0;
}

static void stream_free(struct fts_stream *fs)
{
	struct fts_node *n, *next;

	for (n = fs->nodes; n; n = next) {
		next = n->next;
		free(n);
	}
	free(fs->pub.fts_path);
	free(fs);
}

static FTS *stream_open(char *const *argv, int options, fts_cmp_t compar)
{
	FTSENT *parent, *head = NULL, *tail = NULL, *p, *init;
	struct fts_stream *fs;
	size_t nitems = 0, len;
	int e;

	if (options & ~FTS_OPTIONMASK) {
		errno = EINVAL;
		return NULL;
	}
	if (options & FTS_LOGICAL)
		options |= FTS_NOCHDIR;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->pub.fts_options = options;
	fs->pub.fts_compar = (int (*)(const void *, const void *))compar;
	fs->pub.fts_rfd = FTS_SHIM_RFD;
	if (path_room(fs, PATH_MAX) < 0)
		goto fail;
	fs->pub.fts_path[0] = '\0';
	parent = node_new(fs, "", 0);
	if (!parent)
		goto fail;
	parent->fts_level = FTS_ROOTPARENTLEVEL;
	for (; *argv; argv++) {
		len = strlen(*argv);
		if (!len) {
			errno = ENOENT;
			goto fail;
		}
		p = node_new(fs, *argv, len);
		if (!p)
			goto fail;
		p->fts_level = FTS_ROOTLEVEL;
		p->fts_parent = parent;
		p->fts_accpath = p->fts_name;
		p->fts_info = ent_stat(fs, p, options & FTS_COMFOLLOW);
		if (p->fts_info == FTS_DOT)
			p->fts_info = FTS_D;
		/* with a sort, glibc collects the roots in reverse first */
		if (compar) {
			p->fts_link = head;
			head = p;
		} else {
			if (tail)
				tail->fts_link = p;
			else
				head = p;
			tail = p;
		}
		nitems++;
	}
	if (compar && nitems > 1)
		head = list_sort(fs, head, nitems);
	init = node_new(fs, "", 0);
	if (!init)
		goto fail;
	init->fts_link = head;
	init->fts_parent = parent;
	init->fts_info = FTS_INIT;
	fs->pub.fts_cur = init;
	return &fs->pub;
fail:
	e = errno;
	stream_free(fs);
	errno = e;
	return NULL;
}

static FTSENT *stream_read(struct fts_stream *fs)
{
	FTSENT *p = fs->pub.fts_cur, *prev;
	int instr;

	if (!p || opt(fs, FTS_STOPPED))
		return NULL;
	instr = p->fts_instr;
	p->fts_instr = FTS_NOINSTR;
	if (instr == FTS_AGAIN) {
		p->fts_info = ent_stat(fs, p, false);
		return p;
	}
	if (instr == FTS_FOLLOW &&
	    (p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE)) {
		p->fts_info = ent_stat(fs, p, true);
		return p;
	}
	if (p->fts_info == FTS_D) {
		/* skipped, or another file system under FTS_XDEV: post-order */
		if (instr == FTS_SKIP ||
		    (opt(fs, FTS_XDEV) && p->fts_dev != fs->root_dev)) {
			list_free(fs, fs->pub.fts_child);
			fs->pub.fts_child = NULL;
			p->fts_info = FTS_DP;
			return p;
		}
		if (fs->pub.fts_child && opt(fs, FTS_NAMEONLY)) {
			fs->pub.fts_options &= ~FTS_NAMEONLY;
			list_free(fs, fs->pub.fts_child);
			fs->pub.fts_child = NULL;
		}
		if (fs->pub.fts_child) {
			p = fs->pub.fts_child;
			fs->pub.fts_child = NULL;
		} else {
			p = build(fs, BUILD_READ);
			if (!p)
				return opt(fs, FTS_STOPPED) ? NULL :
							      fs->pub.fts_cur;
		}
		/* the first child is returned as it is (no fts_set check) */
		path_set(fs, p);
		return fs->pub.fts_cur = p;
	}
	for (;;) {
		prev = p;
		p = prev->fts_link;
		if (!p)
			break;
		node_free(fs, prev);
		if (p->fts_level == FTS_ROOTLEVEL) {
			if (root_load(fs, p) < 0) {
				fs->pub.fts_cur = p;
				fs->pub.fts_options |= FTS_STOPPED;
				errno = ENOMEM;
				return NULL;
			}
			return fs->pub.fts_cur = p;
		}
		if (p->fts_instr == FTS_SKIP)
			continue;
		path_set(fs, p);
		if (p->fts_instr == FTS_FOLLOW) {
			p->fts_info = ent_stat(fs, p, true);
			p->fts_instr = FTS_NOINSTR;
		}
		return fs->pub.fts_cur = p;
	}
	/* the last of a directory: up to the parent, in post-order */
	p = prev->fts_parent;
	node_free(fs, prev);
	if (p->fts_level == FTS_ROOTPARENTLEVEL) {
		node_free(fs, p);
		errno = 0;
		return fs->pub.fts_cur = NULL;
	}
	fs->pub.fts_path[p->fts_pathlen] = '\0';
	p->fts_info = p->fts_errno ? FTS_ERR : FTS_DP;
	return fs->pub.fts_cur = p;
}

static FTSENT *stream_children(struct fts_stream *fs, int instr)
{
	FTSENT *p = fs->pub.fts_cur;

	if (instr != 0 && instr != FTS_NAMEONLY) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0;
	if (!p || opt(fs, FTS_STOPPED))
		return NULL;
	if (p->fts_info == FTS_INIT)
		return p->fts_link;	/* the roots, before the first read */
	if (p->fts_info != FTS_D)
		return NULL;
	list_free(fs, fs->pub.fts_child);
	fs->pub.fts_child = NULL;
	if (instr == FTS_NAMEONLY)
		fs->pub.fts_options |= FTS_NAMEONLY;
	fs->pub.fts_child = build(fs, instr == FTS_NAMEONLY ? BUILD_NAMES :
							      BUILD_CHILD);
	return fs->pub.fts_child;
}

static int ent_set(FTSENT *p, int instr)
{
	if (instr != 0 && instr != FTS_AGAIN && instr != FTS_FOLLOW &&
	    instr != FTS_NOINSTR && instr != FTS_SKIP) {
		errno = EINVAL;
		return 1;
	}
	p->fts_instr = instr;
	return 0;
}

static inline struct fts_stream *ours(const void *sp)
{
	const FTS *f = shim_opaque(sp);

	return f && f->fts_rfd == FTS_SHIM_RFD ? (struct fts_stream *)f :
						  NULL;
}

/*
 * The exported names: fts_open decides (emulated mounts or not), every
 * other call follows the stream it is given.
 */
#define WRAP_FTS(sfx, fts_t, ent_t, cmp_t)				\
SHIM_EXPORT fts_t *fts##sfx##open(char *const *argv, int options,	\
				   cmp_t compar)			\
{									\
	if (likely(!shim_have_mounts()))				\
		return REAL(fts##sfx##open)(argv, options, compar);	\
	return (fts_t *)stream_open(argv, options, (fts_cmp_t)compar);	\
}									\
									\
SHIM_EXPORT ent_t *fts##sfx##read(fts_t *sp)				\
{									\
	struct fts_stream *fs = ours(sp);				\
									\
	if (!fs)							\
		return REAL(fts##sfx##read)(sp);			\
	return (ent_t *)stream_read(fs);				\
}									\
									\
SHIM_EXPORT ent_t *fts##sfx##children(fts_t *sp, int instr)		\
{									\
	struct fts_stream *fs = ours(sp);				\
									\
	if (!fs)							\
		return REAL(fts##sfx##children)(sp, instr);		\
	return (ent_t *)stream_children(fs, instr);			\
}									\
									\
SHIM_EXPORT int fts##sfx##set(fts_t *sp, ent_t *p, int instr)		\
{									\
	if (!ours(sp))							\
		return REAL(fts##sfx##set)(sp, p, instr);		\
	return ent_set((FTSENT *)p, instr);				\
}									\
									\
SHIM_EXPORT int fts##sfx##close(fts_t *sp)				\
{									\
	struct fts_stream *fs = ours(sp);				\
	int e = errno;							\
									\
	if (!fs)							\
		return REAL(fts##sfx##close)(sp);			\
	stream_free(fs);						\
	errno = e;							\
	return 0;							\
}

WRAP_FTS(_, FTS, FTSENT, fts_cmp_t)
WRAP_FTS(64_, FTS64, FTSENT64, fts64_cmp_t)

#else /* !LP64: FTSENT64 differs from FTSENT; glibc does it all */

typedef int (*fts_cmp_t)(const FTSENT **, const FTSENT **);
typedef int (*fts64_cmp_t)(const FTSENT64 **, const FTSENT64 **);

#define WRAP_FTS_REAL(sfx, fts_t, ent_t, cmp_t)				\
SHIM_EXPORT fts_t *fts##sfx##open(char *const *argv, int options,	\
				   cmp_t compar)			\
{									\
	return REAL(fts##sfx##open)(argv, options, compar);		\
}									\
SHIM_EXPORT ent_t *fts##sfx##read(fts_t *sp)				\
{									\
	return REAL(fts##sfx##read)(sp);				\
}									\
SHIM_EXPORT ent_t *fts##sfx##children(fts_t *sp, int instr)		\
{									\
	return REAL(fts##sfx##children)(sp, instr);			\
}									\
SHIM_EXPORT int fts##sfx##set(fts_t *sp, ent_t *p, int instr)		\
{									\
	return REAL(fts##sfx##set)(sp, p, instr);			\
}									\
SHIM_EXPORT int fts##sfx##close(fts_t *sp)				\
{									\
	return REAL(fts##sfx##close)(sp);				\
}

WRAP_FTS_REAL(_, FTS, FTSENT, fts_cmp_t)
WRAP_FTS_REAL(64_, FTS64, FTSENT64, fts64_cmp_t)

#endif
