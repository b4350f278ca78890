/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tree walks and globbing while emulated mounts exist.
 *
 * glibc's ftw/nftw and glob read directories and stat files through its
 * internal entry points, which the library cannot see: an emulated mount
 * would look like its empty mountpoint.  While the emulator has mounts:
 *  - nftw/ftw (and the 64 forms) are done here, with the wrapped
 *    opendir/readdir/stat/lstat/chdir, in glibc's order and with its
 *    flags (FTW_PHYS, FTW_MOUNT, FTW_DEPTH, FTW_CHDIR, FTW_ACTIONRETVAL)
 *    and type codes;
 *  - glob is glibc's own, given the wrapped directory functions through
 *    GLOB_ALTDIRFUNC (unless the caller gave its own).
 * Without mounts both go to the C library unchanged.
 */
#include "shim.h"

#include <ftw.h>
#include <glob.h>

struct walk {
	int flags;			/* FTW_* */
	bool is_nftw;
	union {
		__nftw_func_t nfn;
		__ftw_func_t fn;
		__nftw64_func_t nfn64;
		__ftw64_func_t fn64;
	};
	bool is64;
	dev_t dev;			/* FTW_MOUNT: the start's device */
	char *path;			/* the current path, grown as needed */
	size_t cap;
	struct { dev_t dev; ino_t ino; } *seen;	/* directories entered */
	size_t nseen, capseen;
};

/*
 * Without FTW_PHYS glibc enters each directory once: one reached again
 * (through a symlink) is passed over without a call.  @return: true when
 * seen before, else remembered.
 */
static bool seen_dir(struct walk *w, const struct stat64 *st)
{
	size_t i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return true;
	if (w->nseen == w->capseen) {
		size_t cap = w->capseen ? w->capseen * 2 : 16;
		void *p = realloc(w->seen, cap * sizeof(*w->seen));

		if (!p)
			return false;
		w->seen = p;
		w->capseen = cap;
	}
	w->seen[w->nseen].dev = st->st_dev;
	w->seen[w->nseen++].ino = st->st_ino;
	return false;
}

static int call(struct walk *w, const struct stat64 *st, int type,
		size_t base, int level)
{
	struct FTW ftw = { .base = (int)base, .level = level };

	if (!w->is_nftw && type == FTW_SLN)
		type = FTW_NS;		/* ftw has no FTW_SLN */
	if (!w->is_nftw)
		return w->is64 ? w->fn64(w->path, st, type) :
				 w->fn(w->path, (const struct stat *)st, type);
	return w->is64 ? w->nfn64(w->path, st, type, &ftw) :
			 w->nfn(w->path, (const struct stat *)st, type, &ftw);
}

static int grow(struct walk *w, size_t need)
{
	char *p;

	if (need <= w->cap)
		return 0;
	p = realloc(w->path, need * 2);
	if (!p)
		return -1;
	w->path = p;
	w->cap = need * 2;
	return 0;
}

/* FTW_ACTIONRETVAL results that end the walk of a level or the walk. */
#define STOP(w, r) ((w)->flags & FTW_ACTIONRETVAL ?			\
		    ((r) == FTW_STOP || (r) == FTW_SKIP_SIBLINGS) : (r) != 0)

static int walk_entry(struct walk *w, size_t len, size_t base, int level);

/* The entries of the directory at w->path (len bytes), in readdir order. */
static int walk_dir(struct walk *w, size_t len, const struct stat64 *st,
		    size_t base, int level)
{
	const char *name = (w->flags & FTW_CHDIR) ? w->path + base : w->path;
	struct dirent64 *d;
	int r = 0, e, back = -1;
	DIR *dir;

	dir = opendir(name);
	if (!dir) {
		if (errno != EACCES)
			return -1;
		return call(w, st, FTW_DNR, base, level);
	}
	if (!(w->flags & FTW_DEPTH)) {
		r = call(w, st, FTW_D, base, level);
		if (w->flags & FTW_ACTIONRETVAL) {
			if (r == FTW_SKIP_SUBTREE) {
				closedir(dir);
				return 0;
			}
		}
		if (r && (!(w->flags & FTW_ACTIONRETVAL) || r == FTW_STOP ||
			  r == FTW_SKIP_SIBLINGS)) {
			closedir(dir);
			return r;
		}
	}
	/* back to where we were by fd, as glibc: ".." may be elsewhere
	 * when a symlink led here */
	if ((w->flags & FTW_CHDIR) &&
	    ((back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	     chdir(name) < 0)) {
		e = errno;
		if (back >= 0)
			close(back);
		closedir(dir);
		errno = e;
		return -1;
	}
	errno = 0;
	while ((d = readdir64(dir))) {
		size_t n = strlen(d->d_name), sep;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		sep = len && w->path[len - 1] == '/' ? 0 : 1;
		if (grow(w, len + sep + n + 1) < 0) {
			r = -1;
			break;
		}
		if (sep)
			w->path[len] = '/';
		memcpy(w->path + len + sep, d->d_name, n + 1);
		r = walk_entry(w, len + sep + n, len + sep, level + 1);
		w->path[len] = '\0';
		if (r < 0 || ((w->flags & FTW_ACTIONRETVAL) ?
			      (r == FTW_STOP || r == FTW_SKIP_SIBLINGS) : r))
			break;
		errno = 0;
	}
	e = errno;
	closedir(dir);
	if (back >= 0) {
		if (fchdir(back) < 0 && !r && !e)
			e = errno;
		close(back);
	}
	if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SIBLINGS)
		r = 0;
	if (r)
		return r;
	if (e) {
		errno = e;
		return -1;
	}
	if (w->flags & FTW_DEPTH) {
		r = call(w, st, FTW_DP, base, level);
		if ((w->flags & FTW_ACTIONRETVAL) && r != FTW_STOP)
			r = 0;
	}
	return r;
}

static int walk_entry(struct walk *w, size_t len, size_t base, int level)
{
	const char *name = (w->flags & FTW_CHDIR) ? w->path + base : w->path;
	struct stat64 st;
	int type;

	memset(&st, 0, sizeof(st));
	if (w->flags & FTW_PHYS) {
		if (lstat64(name, &st) < 0)
			type = FTW_NS;
		else if (S_ISLNK(st.st_mode))
			type = FTW_SL;
		else
			type = S_ISDIR(st.st_mode) ? FTW_D : FTW_F;
	} else if (stat64(name, &st) < 0) {
		if (errno == ENOENT && lstat64(name, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			type = FTW_SLN;
		else
			type = FTW_NS;
	} else {
		type = S_ISDIR(st.st_mode) ? FTW_D : FTW_F;
	}
	if (type == FTW_NS && errno != EACCES && errno != ENOENT &&
	    errno != ELOOP && level == 0)
		return -1;
	if (type == FTW_D) {
		if ((w->flags & FTW_MOUNT) && st.st_dev != w->dev)
			return 0;
		if (!(w->flags & FTW_PHYS) && seen_dir(w, &st))
			return 0;
		return walk_dir(w, len, &st, base, level);
	}
	if ((w->flags & FTW_MOUNT) && type != FTW_NS && st.st_dev != w->dev)
		return 0;
	return call(w, &st, type, base, level);
}

static int walk_start(struct walk *w, const char *dir, int nopenfd)
{
	size_t len = strlen(dir), base;
	struct stat64 st;
	char *cwd = NULL;
	int r, e;

	if (nopenfd < 1 || !len) {
		errno = nopenfd < 1 ? EINVAL : ENOENT;
		return -1;
	}
	if (grow(w, len + 1) < 0)
		return -1;
	memcpy(w->path, dir, len + 1);
	if (((w->flags & FTW_PHYS) ? lstat64(dir, &st) : stat64(dir, &st)) < 0) {
		if ((w->flags & FTW_PHYS) || errno != ENOENT ||
		    lstat64(dir, &st) < 0) {
			free(w->path);
			return -1;
		}
	}
	w->dev = st.st_dev;
	/* base: where the last component starts, trailing slashes kept */
	base = len;
	while (base > 1 && dir[base - 1] == '/')
		base--;
	while (base > 0 && dir[base - 1] != '/')
		base--;
	if ((w->flags & FTW_CHDIR) && !(cwd = getcwd(NULL, 0))) {
		free(w->path);
		return -1;
	}
	if ((w->flags & FTW_CHDIR) && base) {
		char c = w->path[base];

		w->path[base] = '\0';
		r = chdir(w->path);
		w->path[base] = c;
		if (r < 0) {
			free(cwd);
			free(w->path);
			return -1;
		}
	}
	r = walk_entry(w, len, base, 0);
	e = errno;
	if ((w->flags & FTW_ACTIONRETVAL) && r > 0 && r != FTW_STOP)
		r = 0;
	if (cwd) {
		if (chdir(cwd) < 0 && r == 0) {
			r = -1;
			e = errno;
		}
		free(cwd);
	}
	free(w->path);
	free(w->seen);
	errno = e;
	return r;
}

#define WRAP_NFTW(name, fn_t, member, is64_)				\
SHIM_EXPORT int name(const char *dir, fn_t fn, int nopenfd, int flags)	\
{									\
	struct walk w = { .flags = flags, .is_nftw = true,		\
			  .is64 = is64_ };				\
									\
	char c_[2];							\
									\
	/* a directory name glibc cannot read either: its answer */	\
	if (likely(!shim_have_mounts()) || !shim_peek(dir, c_, 2))	\
		return REAL(name)(dir, fn, nopenfd, flags);		\
	w.member = fn;							\
	return walk_start(&w, dir, nopenfd);				\
}

#define WRAP_FTW(name, fn_t, member, is64_)				\
SHIM_EXPORT int name(const char *dir, fn_t fn, int nopenfd)		\
{									\
	struct walk w = { .flags = 0, .is_nftw = false,			\
			  .is64 = is64_ };				\
									\
	char c_[2];							\
									\
	if (likely(!shim_have_mounts()) || !shim_peek(dir, c_, 2))	\
		return REAL(name)(dir, fn, nopenfd);			\
	w.member = fn;							\
	return walk_start(&w, dir, nopenfd);				\
}

WRAP_NFTW(nftw, __nftw_func_t, nfn, false)
WRAP_NFTW(nftw64, __nftw64_func_t, nfn64, true)
WRAP_FTW(ftw, __ftw_func_t, fn, false)
WRAP_FTW(ftw64, __ftw64_func_t, fn64, true)

static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static void *glob_readdir(void *dir)
{
	return readdir(dir);
}

static void *glob_readdir64(void *dir)
{
	return readdir64(dir);
}

static void glob_closedir(void *dir)
{
	closedir(dir);
}

static int glob_stat(const char *path, void *st)
{
	return stat(path, st);
}

static int glob_lstat(const char *path, void *st)
{
	return lstat(path, st);
}

#define WRAP_GLOB(name, glob_t_, rd)					\
SHIM_EXPORT int name(const char *pattern, int flags,			\
		     int (*errfunc)(const char *, int), glob_t_ *g)	\
{									\
	if (likely(!shim_have_mounts()) || (flags & GLOB_ALTDIRFUNC))	\
		return REAL(name)(pattern, flags, errfunc, g);		\
	g->gl_opendir = glob_opendir;					\
	g->gl_readdir = (void *)rd;					\
	g->gl_closedir = glob_closedir;					\
	g->gl_stat = (void *)glob_stat;					\
	g->gl_lstat = (void *)glob_lstat;				\
	return REAL(name)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);	\
}

WRAP_GLOB(glob, glob_t, glob_readdir)
WRAP_GLOB(glob64, glob64_t, glob_readdir64)
