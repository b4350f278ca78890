/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim, client side: directories and names.
 *
 *  - directory streams: an emulated directory gets a DIR of ours (told
 *    apart from glibc's by a magic word glibc's fd field can never hold,
 *    then confirmed in a registry), backed by an emulated fd and
 *    FDP_OP_GETDENTS; getdents64 and scandir on emulated fds and paths;
 *  - realpath/canonicalize_file_name: one FDP_OP_STAT (and READLINK for
 *    symlinks) per component below the mountpoint;
 *  - the current directory: the kernel cannot make an emulated directory
 *    a process's cwd, so chdir into one moves the kernel's cwd to the
 *    mount's (real) mountpoint directory and the shim remembers the
 *    rest.  getcwd answers with it, relative paths start from it, and
 *    $FUSEDEV_CWD carries it across exec: set in environ for children
 *    started with it, and put into (or taken out of) the environment
 *    every exec wrapper passes on, since shells build their own.
 */
#include "shim.h"

#include <sys/resource.h>

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64) &&
	       offsetof(struct dirent, d_name) ==
	       offsetof(struct dirent64, d_name),
	       "struct dirent64 is struct dirent on this ABI");

/* ---- directory streams -------------------------------------------------- */

/* As a glibc DIR's leading int (its fd) this is negative: never valid. */
#define SHIM_DIR_MAGIC	0xfd5d1e0fu
#define SHIM_DIR_BUF	32768

struct shim_dir {
	uint32_t magic;
	int fd;
	uint64_t open_key;
	size_t pos, len;
	long loc;			/* telldir: d_off of the last entry */
	struct shim_dir *next;		/* registry */
	char buf[SHIM_DIR_BUF] __attribute__((aligned(8)));
};

static struct shim_dir *dirs;
static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct shim_dir *ours(DIR *d)
{
	struct shim_dir *p;
	sigset_t old;

	if (likely(!d || *(const uint32_t *)d != SHIM_DIR_MAGIC))
		return NULL;
	shim_lock(&dirs_lock, &old);
	for (p = dirs; p && p != (struct shim_dir *)d; p = p->next)
		;
	shim_unlock(&dirs_lock, &old);
	return p;
}

static DIR *dir_new(int fd, long *err)
{
	struct shim_fdinfo fi = { 0 };
	struct shim_dir *d;
	sigset_t old;

	if (!shim_fd_lookup(fd, &fi)) {
		*err = -EBADF;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		*err = -ENOMEM;
		return NULL;
	}
	d->magic = SHIM_DIR_MAGIC;
	d->fd = fd;
	d->open_key = fi.open_key;
	shim_lock(&dirs_lock, &old);
	d->next = dirs;
	dirs = d;
	shim_unlock(&dirs_lock, &old);
	return (DIR *)d;
}

static void dir_free(struct shim_dir *d)
{
	struct shim_dir **pp;
	sigset_t old;

	shim_lock(&dirs_lock, &old);
	for (pp = &dirs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	shim_unlock(&dirs_lock, &old);
	d->magic = 0;
	free(d);
}

/* Next entry, or NULL with *err 0 at the end, else the error. */
static struct dirent64 *dir_next(struct shim_dir *d, int *err)
{
	struct dirent64 *e;
	size_t n = 0;
	long r;

	*err = 0;
	if (d->pos >= d->len) {
		r = shim_op_file(FDP_OP_GETDENTS, d->open_key, -1,
				 sizeof(d->buf), 0, 0, NULL, 0, d->buf,
				 sizeof(d->buf), &n);
		if (r < 0) {
			*err = -r;
			return NULL;
		}
		d->pos = 0;
		d->len = n;
		if (!n)
			return NULL;
	}
	e = (struct dirent64 *)(d->buf + d->pos);
	if (d->len - d->pos < offsetof(struct dirent64, d_name) + 1 ||
	    e->d_reclen < offsetof(struct dirent64, d_name) + 1 ||
	    e->d_reclen > d->len - d->pos) {
		d->pos = d->len;
		*err = EIO;
		return NULL;
	}
	d->pos += e->d_reclen;
	d->loc = e->d_off;
	return e;
}

static long dir_seek(struct shim_dir *d, long loc)
{
	long r;

	r = shim_op_file(FDP_OP_LSEEK, d->open_key, loc, 0, 0, SEEK_SET, NULL,
			 0, NULL, 0, NULL);
	if (r == 0 || r == -EIO) {
		d->pos = d->len = 0;
		d->loc = loc;
	}
	return r;
}

/* @fd + 1 from shim_open_routed: our DIR, or NULL with errno set. */
static DIR *dir_from_open(long r, int e)
{
	long err = 0;
	DIR *d;

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	d = dir_new(r - 1, &err);
	if (!d) {
		close(r - 1);
		errno = -err;
		return NULL;
	}
	errno = e;
	return d;
}

#define DIR_OPEN_FLAGS	(O_RDONLY | O_DIRECTORY | O_CLOEXEC)

SHIM_EXPORT DIR *opendir(const char *path)
{
	struct shim_route rt;
	int e = errno;
	long r;

	r = shim_open_routed(&rt, AT_FDCWD, path, DIR_OPEN_FLAGS, 0);
	if (r == 0)
		return REAL(opendir)(rt.path);
	return dir_from_open(r, e);
}

SHIM_EXPORT DIR *fdopendir(int fd)
{
	struct shim_fdinfo fi = { 0 };
	struct fdp_stat_out o;
	int e = errno;
	long r;
	DIR *d;

	if (likely(!shim_fd_lookup(fd, &fi)))
		return REAL(fdopendir)(fd);
	/* glibc's order: fstat, S_ISDIR, then the access mode; an O_PATH
	 * fd makes a stream whose reads fail with EBADF */
	r = shim_op_fstat(fi.open_key, &o);
	if (r == 0 && !S_ISDIR(o.attr.mode))
		r = -ENOTDIR;
	if (r == 0 && (fi.flags & O_ACCMODE) == O_WRONLY)
		r = -EINVAL;
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	d = dir_new(fd, &r);
	if (!d) {
		errno = -r;
		return NULL;
	}
	errno = e;
	return d;
}

SHIM_EXPORT int closedir(DIR *dirp)
{
	struct shim_dir *d = ours(dirp);
	int r;

	if (likely(!d))
		return REAL(closedir)(dirp);
	r = close(d->fd);
	dir_free(d);
	return r;
}

/* On x86_64 struct dirent and dirent64 are one layout. */
#define WRAP_READDIR(name, dirent_t)					\
SHIM_EXPORT dirent_t *name(DIR *dirp)					\
{									\
	struct shim_dir *d = ours(dirp);				\
	struct dirent64 *ent;						\
	int e = errno, err;						\
									\
	if (likely(!d))							\
		return REAL(name)(dirp);				\
	ent = dir_next(d, &err);					\
	errno = err ? err : e;						\
	return (dirent_t *)ent;						\
}

WRAP_READDIR(readdir, struct dirent)
WRAP_READDIR(readdir64, struct dirent64)

static int dir_next_r(struct shim_dir *d, void *entry, void **result)
{
	struct dirent64 *ent;
	size_t n;
	int err;

	ent = dir_next(d, &err);
	*result = NULL;
	if (!ent)
		return err;
	n = offsetof(struct dirent64, d_name) + strlen(ent->d_name) + 1;
	if (n > sizeof(struct dirent64))
		return ENAMETOOLONG;
	memcpy(entry, ent, n);
	*result = entry;
	return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_EXPORT int readdir_r(DIR *dirp, struct dirent *entry,
			  struct dirent **result)
{
	struct shim_dir *d = ours(dirp);

	if (likely(!d))
		return REAL(readdir_r)(dirp, entry, result);
	return dir_next_r(d, entry, (void **)result);
}

SHIM_EXPORT int readdir64_r(DIR *dirp, struct dirent64 *entry,
			    struct dirent64 **result)
{
	struct shim_dir *d = ours(dirp);

	if (likely(!d))
		return REAL(readdir64_r)(dirp, entry, result);
	return dir_next_r(d, entry, (void **)result);
}
#pragma GCC diagnostic pop

SHIM_EXPORT void rewinddir(DIR *dirp)
{
	struct shim_dir *d = ours(dirp);
	int e = errno;

	if (likely(!d)) {
		REAL(rewinddir)(dirp);
		return;
	}
	dir_seek(d, 0);
	errno = e;
}

SHIM_EXPORT void seekdir(DIR *dirp, long loc)
{
	struct shim_dir *d = ours(dirp);
	int e = errno;

	if (likely(!d)) {
		REAL(seekdir)(dirp, loc);
		return;
	}
	dir_seek(d, loc);
	errno = e;
}

SHIM_EXPORT long telldir(DIR *dirp)
{
	struct shim_dir *d = ours(dirp);

	if (likely(!d))
		return REAL(telldir)(dirp);
	return d->loc;
}

SHIM_EXPORT int dirfd(DIR *dirp)
{
	struct shim_dir *d = ours(dirp);

	if (likely(!d))
		return REAL(dirfd)(dirp);
	return d->fd;
}

/*
 * getdents64 into a buffer the caller's memory cannot wholly take: the
 * entries are read into ours and as many whole ones as fit before the
 * bad page copied out (filldir64 stops at the fault: EFAULT when none
 * fit); the directory's position goes back to the first one not given.
 */
static long getdents_fault(uint64_t key, void *ubuf, size_t n, size_t ok)
{
	struct dirent64 *d;
	size_t got = 0, k = 0;
	long r, next;
	char *buf;

	next = shim_client_lseek(key, 0, SEEK_CUR);
	if (next < 0)
		return -EFAULT;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	r = shim_op_file(FDP_OP_GETDENTS, key, -1, n, 0, 0, NULL, 0, buf, n,
			 &got);
	if (r < 0 || !got) {
		free(buf);
		return r < 0 ? r : 0;
	}
	while (k + offsetof(struct dirent64, d_name) < got) {
		d = (struct dirent64 *)(buf + k);
		if (!d->d_reclen || k + d->d_reclen > ok || k + d->d_reclen > got)
			break;
		k += d->d_reclen;
		next = d->d_off;
	}
	if (k && shim_copy_to_user(ubuf, buf, k))
		k = 0;
	free(buf);
	/* back to the first entry not given */
	shim_client_lseek(key, next, SEEK_SET);
	return k ? (long)k : -EFAULT;
}

SHIM_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
	struct shim_fdinfo fi = { 0 };
	size_t got = 0, ok;
	int e = errno;
	long r;

	if (likely(!shim_fd_lookup(fd, &fi)))
		return REAL(getdents64)(fd, buf, n);
	if (n > FDP_IO_MAX)
		n = FDP_IO_MAX;
	ok = shim_user_writable(buf, n);
	if (ok < n)
		return shim_result(getdents_fault(fi.open_key, buf, n, ok), e);
	r = shim_op_file(FDP_OP_GETDENTS, fi.open_key, -1, n, 0, 0, NULL, 0,
			 buf, n, &got);
	return shim_result(r < 0 ? r : (long)got, e);
}

/*
 * scandir on an emulated directory.  Entries are malloc'd one by one as
 * glibc does, so the caller frees them the same way.
 */
typedef int (*scan_filter)(const struct dirent *);
typedef int (*scan_cmp)(const struct dirent **, const struct dirent **);

static long emu_scandir(struct shim_dir *d, struct dirent ***list,
			scan_filter filter, scan_cmp cmp)
{
	struct dirent **v = NULL, **nv, *copy;
	size_t cnt = 0, cap = 0, sz;
	struct dirent64 *ent;
	long r = 0;
	int err;

	while ((ent = dir_next(d, &err))) {
		if (filter && !filter((struct dirent *)ent))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				goto fail;
			}
			v = nv;
		}
		sz = offsetof(struct dirent, d_name) + strlen(ent->d_name) + 1;
		copy = malloc(sz < sizeof(*copy) ? sz : sizeof(*copy));
		if (!copy) {
			r = -ENOMEM;
			goto fail;
		}
		memcpy(copy, ent, sz < sizeof(*copy) ? sz : sizeof(*copy));
		copy->d_reclen = sz;
		v[cnt++] = copy;
	}
	if (err) {
		r = -err;
		goto fail;
	}
	if (cmp && cnt > 1)
		qsort(v, cnt, sizeof(*v),
		      (int (*)(const void *, const void *))cmp);
	*list = v;
	return cnt;
fail:
	while (cnt)
		free(v[--cnt]);
	free(v);
	return r;
}

static long scandir_emulated(long fdp1, struct dirent ***list,
			     scan_filter filter, scan_cmp cmp)
{
	long err = 0, r;
	DIR *dir;

	if (fdp1 < 0)
		return fdp1;
	dir = dir_new(fdp1 - 1, &err);
	if (!dir) {
		close(fdp1 - 1);
		return err;
	}
	r = emu_scandir((struct shim_dir *)dir, list, filter, cmp);
	closedir(dir);
	return r;
}

#define WRAP_SCANDIR(name, dirent_t)					\
SHIM_EXPORT int name(const char *path, dirent_t ***list,		\
		     int (*filter)(const dirent_t *),			\
		     int (*cmp)(const dirent_t **, const dirent_t **))	\
{									\
	struct shim_route rt;						\
	int e = errno;							\
	long r;								\
									\
	r = shim_open_routed(&rt, AT_FDCWD, path, DIR_OPEN_FLAGS, 0);	\
	if (r == 0)							\
		return REAL(name)(rt.path, list, filter, cmp);		\
	return shim_result(scandir_emulated(r, (struct dirent ***)list,	\
					    (scan_filter)filter,	\
					    (scan_cmp)cmp), e);		\
}

#define WRAP_SCANDIRAT(name, dirent_t)					\
SHIM_EXPORT int name(int dirfd, const char *path, dirent_t ***list,	\
		     int (*filter)(const dirent_t *),			\
		     int (*cmp)(const dirent_t **, const dirent_t **))	\
{									\
	struct shim_route rt;						\
	int e = errno;							\
	long r;								\
									\
	r = shim_open_routed(&rt, dirfd, path, DIR_OPEN_FLAGS, 0);	\
	if (r == 0)							\
		return REAL(name)(rt.dirfd, rt.path, list, filter, cmp);	\
	return shim_result(scandir_emulated(r, (struct dirent ***)list,	\
					    (scan_filter)filter,	\
					    (scan_cmp)cmp), e);		\
}

WRAP_SCANDIR(scandir, struct dirent)
WRAP_SCANDIR(scandir64, struct dirent64)
WRAP_SCANDIRAT(scandirat, struct dirent)
WRAP_SCANDIRAT(scandirat64, struct dirent64)

/* ---- realpath ----------------------------------------------------------- */

/*
 * realpath(3) of @path into @out (PATH_MAX): the emulator walks what lies
 * under a mountpoint and answers with the path that names the result
 * (FDP_OP_REALPATH); a walk that leaves the mounts goes on outside, and
 * the real file system's part is REAL(realpath).
 */
int shim_realpath(const char *path, char *out)
{
	struct shim_route *rt = malloc(sizeof(*rt));
	size_t n = 0;
	int hops = 0;
	long r;

	if (!rt)
		return -ENOMEM;
	r = shim_route(rt, AT_FDCWD, path);
	while (r > 0) {
		r = shim_op_path(rt, FDP_OP_REALPATH, NULL, 0, 0, 0, NULL, 0,
				 out, FUSEDEV_PATH_MAX, &n);
		if (r == 0 && (!n || out[n - 1] || n > PATH_MAX))
			r = n > PATH_MAX ? -ENAMETOOLONG : -EIO;
		if (r != SHIM_EXTERNAL)
			goto done;
		r = shim_route_external(rt, &hops);
	}
	if (r == 0 && rt->fault == EFAULT && rt->path) {
		/*
		 * A name that runs into memory that cannot be read: glibc
		 * reads it component by component as it resolves them and
		 * faults where it ends (unless a component is missing on the
		 * way, which the real file system under a mountpoint
		 * cannot tell): fault there, as the program would.
		 */
		const volatile char *c = rt->path;

		while (*c)
			c++;
	}
	if (r == 0)
		r = REAL(realpath)(rt->path, out) ? 0 : -errno;
done:
	free(rt);
	return r;
}

SHIM_EXPORT char *realpath(const char *path, char *resolved)
{
	char buf[PATH_MAX], *res;
	int e = errno, r;

	/* glibc's own answers (EINVAL, ENOENT, a fault) for what cannot be
	 * routed: shim_realpath hands them to it */
	if (!shim_have_mounts())
		return REAL(realpath)(path, resolved);
	r = shim_realpath(path, buf);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	res = resolved ? resolved : strdup(buf);
	if (!res)
		return NULL;
	if (resolved)
		strcpy(resolved, buf);
	errno = e;
	return res;
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved,
				 size_t resolvedlen)
{
	if (resolved && resolvedlen < PATH_MAX)
		__chk_fail();
	if (!shim_have_mounts())
		return REAL(__realpath_chk)(path, resolved, resolvedlen);
	return realpath(path, resolved);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	if (!shim_have_mounts())
		return REAL(canonicalize_file_name)(path);
	return realpath(path, NULL);
}

/* ---- the current directory ---------------------------------------------- */

#define FUSEDEV_CWD_ENV	"FUSEDEV_CWD"

/*
 * The emulated cwd: an O_PATH open of the directory, held by an fd of
 * our own (close-on-exec, kept by fork children), whose open file is
 * where relative paths start; the path it had, for exec; the mountpoint
 * the kernel's cwd sits on meanwhile.  After exec only the path is
 * known, and the directory is opened again on first use.
 */
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char *vcwd;			/* under an emulated mount */
static char *vcwd_mnt;			/* the kernel's cwd meanwhile */
static uint64_t vcwd_key;		/* its open file, or 0 */
static int vcwd_fd = -1;		/* which this holds */

static bool have_vcwd(void)
{
	return __atomic_load_n(&vcwd, __ATOMIC_ACQUIRE) != NULL;
}

int shim_cwd_fd(void)
{
	return __atomic_load_n(&vcwd_fd, __ATOMIC_ACQUIRE);
}

static void cwd_fd_close(int fd)
{
	if (fd < 0)
		return;
	shim_internal_del(fd);
	REAL(close)(fd);
}

/* Set the emulated cwd (@path NULL: none), taking over @fd. */
static void cwd_set(const char *path, size_t mnt_len, uint64_t key, int fd)
{
	char *p = path ? strdup(path) : NULL;
	char *m = path ? strndup(path, mnt_len) : NULL;
	char *op, *om;
	sigset_t old;
	bool had;
	int ofd;

	if (path && (!p || !m)) {
		free(p);
		free(m);
		p = m = NULL;
		cwd_fd_close(fd);
		key = 0;
		fd = -1;
	}
	shim_lock(&cwd_lock, &old);
	op = vcwd;
	om = vcwd_mnt;
	ofd = vcwd_fd;
	vcwd_mnt = m;
	vcwd_key = key;
	__atomic_store_n(&vcwd_fd, fd, __ATOMIC_RELEASE);
	__atomic_store_n(&vcwd, p, __ATOMIC_RELEASE);
	shim_unlock(&cwd_lock, &old);
	had = op != NULL;
	/* A reader copies under cwd_lock: nobody holds the old strings. */
	free(op);
	free(om);
	cwd_fd_close(ofd);
	if (p)
		setenv(FUSEDEV_CWD_ENV, p, 1);
	else if (had)
		unsetenv(FUSEDEV_CWD_ENV);
}

/*
 * Make @fd (an emulated directory's fd of the caller's, kept open) the
 * cwd holder: a close-on-exec copy of our own, out of the program's way.
 */
static int cwd_hold(int fd)
{
	struct rlimit rl;
	int base = 900, hi;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024)
		base = rl.rlim_cur > 64 ? (int)(rl.rlim_cur * 5 / 8) : 3;
	hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, base);
	if (hi < 0)
		return -errno;
	shim_internal_add(hi);
	return hi;
}

/* FDP_OP_FPATH of @key with @flags into @buf (FUSEDEV_PATH_MAX). */
static long cwd_path(uint64_t key, uint32_t flags, char *buf)
{
	size_t n = 0;
	long r;

	r = shim_op_file(FDP_OP_FPATH, key, 0, 0, flags, 0, NULL, 0, buf,
			 FUSEDEV_PATH_MAX - 1, &n);
	if (r < 0)
		return r;
	buf[n] = '\0';
	return buf[0] == '/' ? 0 : -EIO;
}

/*
 * The directory @fd names as the new cwd: it must be a directory we may
 * search (MAY_EXEC | MAY_CHDIR: FUSE_ACCESS without default_permissions);
 * the kernel's cwd goes to its mount's mountpoint.
 */
static long emu_chdir_fd(int fd, uint64_t key)
{
	struct shim_route rt = { .base = key };
	char canon[FUSEDEV_PATH_MAX], mnt[PATH_MAX];
	struct fdp_stat_out o;
	size_t mlen;
	uint64_t id;
	long r;
	int hold;

	r = shim_client_stat(&rt, 0, &o);
	if (r == 0 && !S_ISDIR(o.attr.mode))
		r = -ENOTDIR;
	if (r == 0)
		r = shim_op_path(&rt, FDP_OP_ACCESS, NULL, 0, X_OK, 0, NULL, 0,
				 NULL, 0, NULL);
	if (r == 0)
		r = cwd_path(key, FDP_FPATH_NOW, canon);
	/* deeper than a path can say: the mountpoint stands for it in
	 * FUSEDEV_CWD (a new program starts there) */
	if (r == -ENAMETOOLONG)
		r = cwd_path(key, FDP_FPATH_MOUNT, canon);
	if (r < 0)
		return r == SHIM_EXTERNAL ? -EIO : r;
	mlen = shim_mount_prefix(canon, &id);
	if (!mlen || mlen >= sizeof(mnt))
		return -ENOENT;
	memcpy(mnt, canon, mlen);
	mnt[mlen] = '\0';
	hold = cwd_hold(fd);
	if (hold < 0)
		return hold;
	if (REAL(chdir)(mnt) < 0) {
		r = -errno;
		cwd_fd_close(hold);
		return r;
	}
	cwd_set(canon, mlen, key, hold);
	SHIM_DBG(SHIM_DBG_CLIENT, "cwd %s", canon);
	return 0;
}

/* chdir to the emulated @rt: an O_PATH open of it becomes the cwd. */
static long emu_chdir(int dirfd, const char *path)
{
	struct shim_fdinfo fi = { 0 };
	struct shim_route rt;
	long r, fd;

	fd = shim_open_routed(&rt, dirfd, path,
			      O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (fd == 0) {
		/* a walk that left the mounts: a real directory */
		if (REAL(chdir)(rt.path) < 0)
			return -errno;
		cwd_set(NULL, 0, 0, -1);
		return 0;
	}
	fd--;
	r = shim_fd_lookup(fd, &fi) ? emu_chdir_fd(fd, fi.open_key) : -EIO;
	shim_fd_drop(fd);
	REAL(close)(fd);
	return r;
}

/*
 * The open file relative paths start at: the cwd's, opened again after
 * an exec; 0 when the kernel's cwd is no longer the mountpoint we left
 * it on (the program moved it where we could not see).
 */
uint64_t shim_cwd_key(void)
{
	char real[PATH_MAX], *path = NULL;
	struct shim_fdinfo fi = { 0 };
	struct shim_route rt;
	uint64_t key = 0;
	sigset_t old;
	long fd;
	int hold;

	if (likely(!have_vcwd()))
		return 0;
	if (!REAL(getcwd)(real, sizeof(real)))
		return 0;
	shim_lock(&cwd_lock, &old);
	if (vcwd && !strcmp(real, vcwd_mnt)) {
		key = vcwd_key;
		if (!key)
			path = strdup(vcwd);
	}
	shim_unlock(&cwd_lock, &old);
	if (key || !path)
		return key;
	/* After exec: open the directory again, by its path. */
	fd = shim_open_routed(&rt, AT_FDCWD, path,
			      O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd > 0 && shim_fd_lookup(fd - 1, &fi) &&
	    (hold = cwd_hold(fd - 1)) >= 0) {
		shim_lock(&cwd_lock, &old);
		if (vcwd && !vcwd_key && !strcmp(vcwd, path)) {
			vcwd_key = fi.open_key;
			__atomic_store_n(&vcwd_fd, hold, __ATOMIC_RELEASE);
			hold = -1;
		}
		key = vcwd_key;
		shim_unlock(&cwd_lock, &old);
		cwd_fd_close(hold);
	}
	if (fd > 0) {
		shim_fd_drop(fd - 1);
		REAL(close)(fd - 1);
	}
	free(path);
	return key;
}

/* getcwd: where the cwd is now (d_path), ENOENT once it was removed. */
int shim_cwd(char *buf, size_t size)
{
	char path[FUSEDEV_PATH_MAX];
	uint64_t key = shim_cwd_key();
	size_t n;
	int r;

	if (key) {
		r = cwd_path(key, FDP_FPATH_NOW, path);
		if (r < 0)
			return r;
		n = strlen(path);
	} else {
		if (!REAL(getcwd)(path, sizeof(path)))
			return -errno;
		n = strlen(path);
	}
	if (n >= size)
		return -ERANGE;
	memcpy(buf, path, n + 1);
	return 0;
}

SHIM_EXPORT int chdir(const char *path)
{
	struct shim_route rt;
	int e = errno;
	long r;

	r = shim_route(&rt, AT_FDCWD, path);
	if (r > 0)
		return shim_result(emu_chdir(AT_FDCWD, path), e);
	if (r < 0)
		return shim_result(r, e);
	r = REAL(chdir)(path);
	if (r == 0 && have_vcwd())
		cwd_set(NULL, 0, 0, -1);
	return r;
}

SHIM_EXPORT int fchdir(int fd)
{
	struct shim_fdinfo fi = { 0 };
	int e = errno, r;

	if (shim_fd_lookup(fd, &fi))
		return shim_result(emu_chdir_fd(fd, fi.open_key), e);
	r = REAL(fchdir)(fd);
	if (r == 0 && have_vcwd())
		cwd_set(NULL, 0, 0, -1);
	return r;
}

SHIM_EXPORT char *getcwd(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	size_t n;
	int r;

	if (likely(!have_vcwd()))
		return REAL(getcwd)(buf, size);
	r = shim_cwd(tmp, sizeof(tmp));
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	n = strlen(tmp) + 1;
	if (buf && !size) {
		errno = EINVAL;
		return NULL;
	}
	if (size && size < n) {
		errno = ERANGE;
		return NULL;
	}
	if (!buf) {
		buf = malloc(size ? size : n);
		if (!buf)
			return NULL;
		memcpy(buf, tmp, n);
	} else if (shim_copy_to_user(buf, tmp, n)) {
		errno = EFAULT;		/* sys_getcwd copies out last */
		return NULL;
	}
	return buf;
}

SHIM_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	if (likely(!have_vcwd()))
		return REAL(__getcwd_chk)(buf, size, buflen);
	return getcwd(buf, size);
}

SHIM_EXPORT char *get_current_dir_name(void)
{
	if (likely(!have_vcwd()))
		return REAL(get_current_dir_name)();
	return getcwd(NULL, 0);
}

/* The caller's environment array, read safely: its entries, or 0 at a
 * bad pointer (then nothing is changed: exec refuses it with EFAULT). */
static bool env_entry(char *const envp[], size_t i, char **out)
{
	return !shim_copy_from_user(out, &envp[i], sizeof(*out));
}

size_t shim_env_count(char *const envp[])
{
	size_t n = 0;
	char *p;

	while (envp && env_entry(envp, n, &p) && p)
		n++;
	return n;
}

/* Is entry @p FUSEDEV_CWD=...: 1, 0, or -1 when it cannot be read. */
static int is_cwd_var(const char *p, const char *key, size_t len)
{
	char b[32];

	if (!shim_peek(p, b, len + 1))
		return -1;
	return !strncmp(b, key, len);
}

char *const *shim_cwd_env(char *const envp[], char **arr, char *var,
			  size_t size)
{
	static const char key[] = FUSEDEV_CWD_ENV "=";
	const size_t klen = sizeof(key) - 1;
	bool stale = false;
	size_t i, n = 0, cnt = shim_env_count(envp);
	sigset_t old;
	char *p;
	int k;

	if (!shim_active())
		return envp;
	var[0] = '\0';
	if (have_vcwd()) {
		shim_lock(&cwd_lock, &old);
		if (vcwd && sizeof(key) + strlen(vcwd) <= size) {
			memcpy(var, key, klen);
			strcpy(var + klen, vcwd);
		}
		shim_unlock(&cwd_lock, &old);
	}
	/* all of it readable, or left to the kernel as it is */
	if (envp && (!env_entry(envp, cnt, &p) || p))
		return envp;
	for (i = 0; i < cnt; i++) {
		k = is_cwd_var(envp[i], key, klen);
		if (k < 0)
			return envp;
		stale |= k;
	}
	if (!stale && !var[0])
		return envp;
	for (i = 0; i < cnt; i++)
		if (!is_cwd_var(envp[i], key, klen))
			arr[n++] = envp[i];
	if (var[0])
		arr[n++] = var;
	arr[n] = NULL;
	return arr;
}

void shim_cwd_init(void)
{
	const char *env = getenv(FUSEDEV_CWD_ENV);
	char real[PATH_MAX];
	size_t mlen;
	uint64_t id;

	if (!env || env[0] != '/')
		return;
	mlen = shim_mount_prefix(env, &id);
	if (!mlen || !REAL(getcwd)(real, sizeof(real)) ||
	    strlen(real) != mlen || strncmp(real, env, mlen)) {
		/* Not where our parent left us: the kernel's cwd holds. */
		unsetenv(FUSEDEV_CWD_ENV);
		return;
	}
	cwd_set(env, mlen, 0, -1);	/* opened on first use */
}

void shim_cwd_atfork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	memcpy(&cwd_lock, &fresh, sizeof(fresh));
	memcpy(&dirs_lock, &fresh, sizeof(fresh));
}
