/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim core: what every other part of the preload stands on.
 *
 *  - the REAL() slots and their resolver (dlsym(RTLD_NEXT), never a
 *    dlopen of libc, so other preloads such as ASan keep working);
 *  - initialisation: $FUSEDEV_DIR, the published mount table mapped
 *    read-only; without both the shim is inert and every wrapper calls
 *    straight through;
 *  - debug output (FUSEDEV_DEBUG=daemon,client,port,all) to stderr;
 *  - the device's identity (which fds are opens of the emulated device);
 *  - routing: the seqlock reader of the mount table and the path walk
 *    that decides whether a path is under an emulated mountpoint;
 *  - the table of emulated client fds, indexed by fd, lock-free for the
 *    common "not ours" answer;
 *  - the fds the shim owns itself, and fork handling.
 */
#include "shim.h"

#include <ctype.h>
#include <dlfcn.h>
#include <sched.h>
#include <sys/ioctl.h>

#define SHIM_DEFINE_REAL(name) void *shim_real_##name;
SHIM_REALS(SHIM_DEFINE_REAL)
#undef SHIM_DEFINE_REAL

struct shim_state shim;

/* ---- REAL() ------------------------------------------------------------- */

static long shim_enosys(void)
{
	errno = ENOSYS;
	return -1;
}

void *shim_resolve(void **slot, const char *name)
{
	int e = errno;
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* Not in this libc: calls fail with ENOSYS, never crash. */
		p = (void *)shim_enosys;
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	errno = e;
	return p;
}

/* ---- debug -------------------------------------------------------------- */

void shim_dbg(unsigned int cat, const char *fmt, ...)
{
	const char *name = cat == ~0u ? "shim" :
			   cat & SHIM_DBG_DAEMON ? "daemon" :
			   cat & SHIM_DBG_CLIENT ? "client" : "port";
	char buf[1024];
	int e = errno;
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "libmountshim[%d] %s: ", (int)getpid(),
		     name);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		(void)0;
	errno = e;
}

static unsigned int parse_debug(const char *s)
{
	unsigned int d = 0;
	const char *p = s;

	while (p && *p) {
		size_t n = strcspn(p, ",: ");

		if (n == 3 && !strncmp(p, "all", 3))
			d |= ~0u;
		else if (n == 6 && !strncmp(p, "daemon", 6))
			d |= SHIM_DBG_DAEMON;
		else if (n == 6 && !strncmp(p, "client", 6))
			d |= SHIM_DBG_CLIENT;
		else if (n == 4 && !strncmp(p, "port", 4))
			d |= SHIM_DBG_PORT;
		else if (n == 1 && *p == '1')
			d |= ~0u;
		p += n;
		while (*p == ',' || *p == ':' || *p == ' ')
			p++;
	}
	return d;
}

/* ---- initialisation ----------------------------------------------------- */

static mode_t read_umask(void)
{
	char buf[2048];
	ssize_t n;
	mode_t m;
	char *p;
	int fd;

	fd = REAL(open)("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		REAL(close)(fd);
		if (n > 0) {
			buf[n] = '\0';
			p = strstr(buf, "\nUmask:");
			if (p)
				return strtoul(p + 7, NULL, 8) & 0777;
		}
	}
	m = REAL(umask)(022);
	REAL(umask)(m);
	return m;
}

static void atfork_child(void);

static void do_init(void)
{
	const char *dir = getenv(FUSEDEV_ENV_DIR);
	const char *dbg = getenv("FUSEDEV_DEBUG");
	const struct fusedev_mtab *m;
	char path[PATH_MAX + 16];
	char defdir[PATH_MAX];
	struct stat st;
	void *p;
	int fd;

	shim.debug = dbg ? parse_debug(dbg) : 0;
	/* Unset (not empty): the emulator's default directory, so that a
	 * default-started cuse_fusedev needs no configuration. */
	if (!dir) {
		fusedev_default_dir(defdir, sizeof(defdir));
		dir = defdir;
	}
	if (!dir || !*dir || strlen(dir) >= sizeof(shim.dir))
		return;
	snprintf(shim.dir, sizeof(shim.dir), "%s", dir);
	if ((size_t)snprintf(shim.port, sizeof(shim.port), "%s/%s", dir,
			     FUSEDEV_PORT_NAME) >= sizeof(shim.port)) {
		SHIM_DBG(~0u, "port path under %s too long: inert", dir);
		return;
	}
	/* sock/KEY must fit a sun_path (16 hex digits, '/', NUL) */
	if ((size_t)snprintf(shim.sockdir, sizeof(shim.sockdir), "%s/%s", dir,
			     FUSEDEV_SOCK_NAME) + 18 > sizeof(shim.sockdir))
		shim.sockdir[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, FUSEDEV_MTAB_NAME);
	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		SHIM_DBG(~0u, "%s: %s: inert", path, strerror(errno));
		return;
	}
	if (REAL(fstat)(fd, &st) < 0 ||
	    (size_t)st.st_size < sizeof(struct fusedev_mtab)) {
		REAL(close)(fd);
		SHIM_DBG(~0u, "%s: short mount table: inert", path);
		return;
	}
	p = REAL(mmap)(NULL, sizeof(struct fusedev_mtab), PROT_READ,
		       MAP_SHARED, fd, 0);
	REAL(close)(fd);
	if (p == MAP_FAILED) {
		SHIM_DBG(~0u, "mmap %s: %s: inert", path, strerror(errno));
		return;
	}
	m = p;
	if (m->magic != FUSEDEV_MTAB_MAGIC ||
	    m->version != FUSEDEV_MTAB_VERSION ||
	    m->emulator_pid == (int32_t)getpid() || !m->device[0]) {
		munmap(p, sizeof(struct fusedev_mtab));
		SHIM_DBG(~0u, "%s: not a mount table for us: inert", path);
		return;
	}
	memcpy(shim.device, m->device, sizeof(shim.device));
	shim.device[sizeof(shim.device) - 1] = '\0';
	shim.umask = read_umask();
	shim.mtab = m;
	shim_port_init();
	shim_uaccess_init();
	pthread_atfork(NULL, NULL, atfork_child);
	shim.active = 1;
	SHIM_DBG(~0u, "active: dir %s device %s", shim.dir, shim.device);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

void shim_init(void)
{
	int e = errno;

	pthread_once(&init_once, do_init);
	__atomic_store_n(&shim.inited, 1, __ATOMIC_RELEASE);
	errno = e;
}

__attribute__((constructor)) static void shim_ctor(void)
{
	int e = errno;

	if (!shim_active())
		return;
	/* fds inherited across exec: the kernel kept them, we find them. */
	shim_fd_rebuild();
	shim_cwd_init();
	errno = e;
}

SHIM_EXPORT mode_t umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);

	shim.umask = mask & 0777;
	return old;
}

/* ---- the device --------------------------------------------------------- */

/* Identity of the device node: 1 known, -1 unknown, 0 not looked yet. */
static int devid_state;
static struct statx devid;

/*
 * Is @b an open of the device @a names?  cuse: the same character device.
 * fusefile: a regular file in the same private FUSE mount (the emulator
 * gives every open of "fuse" an inode of its own, so st_ino differs).
 */
static bool same_device(const struct statx *a, const struct statx *b)
{
	if (S_ISCHR(a->stx_mode))
		return S_ISCHR(b->stx_mode) &&
		       a->stx_rdev_major == b->stx_rdev_major &&
		       a->stx_rdev_minor == b->stx_rdev_minor;
	return S_ISREG(b->stx_mode) &&
	       a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor;
}

/*
 * AT_STATX_DONT_SYNC: the fusefile device is a file in a FUSE mount and
 * must not cost a GETATTR round trip each time we ask who an fd is.
 */
#define DEVID_MASK (STATX_TYPE | STATX_INO)

static bool devid_known(void)
{
	int s = __atomic_load_n(&devid_state, __ATOMIC_ACQUIRE);
	struct statx sx;

	if (likely(s))
		return s > 0;
	if (REAL(statx)(AT_FDCWD, shim.device, AT_STATX_DONT_SYNC, DEVID_MASK,
			&sx) < 0) {
		SHIM_DBG(~0u, "statx %s: %s", shim.device, strerror(errno));
		return false;
	}
	devid = sx;
	__atomic_store_n(&devid_state, 1, __ATOMIC_RELEASE);
	return true;
}

bool shim_is_device_fd(int fd)
{
	struct statx sx;
	int e = errno;
	bool r;

	if (fd < 0 || !shim_active() || !devid_known())
		return false;
	r = REAL(statx)(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
			DEVID_MASK, &sx) == 0 && same_device(&devid, &sx);
	errno = e;
	return r;
}

int shim_whoami(int fd, struct fusedev_whoami *who)
{
	int e = errno, r = 0;

	if (!shim_is_device_fd(fd))
		return -EINVAL;
	memset(who, 0, sizeof(*who));
	if (REAL(ioctl)(fd, FUSEDEV_IOC_WHOAMI, who) < 0)
		r = -errno;
	errno = e;
	return r;
}

int shim_open_device(int flags)
{
	int fd = REAL(open)(shim.device, flags);

	return fd < 0 ? -errno : fd;
}

/*
 * fusefile: O_DIRECT, so that the kernel's sendfile and splice of the fd
 * (in a program without the shim) read through the device at the open
 * file's position (copy_splice_read) instead of the device file's page
 * cache, which only mmap uses then.  A kernel that refuses O_DIRECT on a
 * FUSE file gets a plain open (the emulator answers such an open's page
 * cache reads with EIO).
 */
int shim_open_client_device(int flags)
{
	int fd;

	if (shim.mtab->transport == FUSEDEV_TRANSPORT_FUSEFILE) {
		fd = shim_open_device(O_RDWR | O_DIRECT | flags);
		if (fd != -EINVAL)
			return fd;
	}
	return shim_open_device(O_RDWR | flags);
}

/* ---- the mount table ---------------------------------------------------- */

bool shim_have_mounts(void)
{
	return shim_active() &&
	       __atomic_load_n(&shim.mtab->count, __ATOMIC_RELAXED) != 0;
}

/*
 * Is [p, p+len) exactly an emulated mountpoint?  Seqlock reader: copy the
 * answer between two equal, even reads of mtab->seq.
 */
static bool mtab_match(const char *p, size_t len, uint64_t *id)
{
	const struct fusedev_mtab *m = shim.mtab;
	unsigned int spins = 0;
	uint32_t seq, n, i;
	uint64_t hit_id;
	bool hit;

	for (;;) {
		seq = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			if (++spins > 64)
				sched_yield();
			continue;
		}
		hit = false;
		hit_id = 0;
		n = __atomic_load_n(&m->count, __ATOMIC_RELAXED);
		if (n > FUSEDEV_MTAB_MAX)
			n = FUSEDEV_MTAB_MAX;
		for (i = 0; i < n; i++) {
			const struct fusedev_mtab_ent *e = &m->ents[i];
			uint32_t l = __atomic_load_n(&e->len, __ATOMIC_RELAXED);

			if (l != len || l >= FUSEDEV_PATH_MAX ||
			    !(e->flags & FUSEDEV_MNT_USED) ||
			    memcmp(e->path, p, len))
				continue;
			hit = true;
			hit_id = e->id;
			break;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&m->seq, __ATOMIC_RELAXED) == seq)
			break;
	}
	if (hit)
		*id = hit_id;
	return hit;
}

size_t shim_mount_prefix(const char *path, uint64_t *id)
{
	size_t i, len;

	if (!shim_have_mounts() || path[0] != '/')
		return 0;
	if (mtab_match("/", 1, id))
		return 1;
	len = strlen(path);
	for (i = 1; i <= len; i++)
		if ((i == len || path[i] == '/') && path[i - 1] != '/' &&
		    mtab_match(path, i, id))
			return i;
	return 0;
}

/* ---- routing ------------------------------------------------------------ */

/*
 * The real directories above the emulated mountpoints, by (dev, ino):
 * a relative path without ".." from a real dirfd that is none of them
 * cannot reach a mount, which fstat(2) tells at a third of the cost of
 * reading /proc/self/fd/N.  An immutable snapshot, rebuilt when the mount
 * table's seq moves; a replaced snapshot stays allocated (lock-free
 * readers), a few hundred bytes per mount table change.
 */
#define ANC_MAX		256

struct anc_snap {
	uint32_t seq;
	int n;
	struct { dev_t dev; ino_t ino; } a[ANC_MAX];
};

static struct anc_snap *anc;
static pthread_mutex_t anc_lock = PTHREAD_MUTEX_INITIALIZER;

static void anc_add(struct anc_snap *s, const char *dir)
{
	struct stat st;
	int i;

	if (s->n >= ANC_MAX || REAL(stat)(dir, &st) < 0)
		return;
	for (i = 0; i < s->n; i++)
		if (s->a[i].dev == st.st_dev && s->a[i].ino == st.st_ino)
			return;
	s->a[s->n].dev = st.st_dev;
	s->a[s->n].ino = st.st_ino;
	s->n++;
}

/* Copy mount @i's path under the seqlock: false if seq moved from @seq. */
static bool mtab_copy(uint32_t seq, uint32_t i, char *buf)
{
	const struct fusedev_mtab_ent *e = &shim.mtab->ents[i];
	uint32_t len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);

	if (len >= FUSEDEV_PATH_MAX)
		len = 0;
	memcpy(buf, e->path, len);
	buf[len] = '\0';
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&shim.mtab->seq, __ATOMIC_RELAXED) == seq;
}

static struct anc_snap *anc_build(uint32_t seq)
{
	char path[FUSEDEV_PATH_MAX];
	struct anc_snap *s = calloc(1, sizeof(*s));
	uint32_t i, n;
	char *p;

	if (!s)
		return NULL;
	s->seq = seq;
	n = __atomic_load_n(&shim.mtab->count, __ATOMIC_RELAXED);
	for (i = 0; i < n && i < FUSEDEV_MTAB_MAX; i++) {
		if (!mtab_copy(seq, i, path)) {
			free(s);
			return NULL;
		}
		/* every proper ancestor: "/", "/a", "/a/b" of "/a/b/mnt" */
		anc_add(s, "/");
		for (p = path + 1; (p = strchr(p, '/')); p++) {
			*p = '\0';
			anc_add(s, path);
			*p = '/';
		}
	}
	return s;
}

/* Current snapshot, or NULL (then take the slow way). */
static struct anc_snap *anc_get(void)
{
	struct anc_snap *s = __atomic_load_n(&anc, __ATOMIC_ACQUIRE);
	uint32_t seq = __atomic_load_n(&shim.mtab->seq, __ATOMIC_ACQUIRE);
	sigset_t old;

	if (likely(s && s->seq == seq))
		return s;
	if (seq & 1)
		return NULL;
	shim_lock(&anc_lock, &old);
	s = anc;
	if (!s || s->seq != seq) {
		s = anc_build(seq);
		if (s)
			__atomic_store_n(&anc, s, __ATOMIC_RELEASE);
	}
	shim_unlock(&anc_lock, &old);
	return s;
}

static bool has_dotdot(const char *path)
{
	const char *p;

	for (p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

/*
 * The real directory a relative path starts from, into @buf (PATH_MAX).
 * 1: @path from @dirfd cannot reach an emulated mount.
 */
static int route_base(int dirfd, const char *path, char *buf)
{
	struct anc_snap *s;
	struct stat st;
	char link[64];
	ssize_t n;
	int i;

	if (dirfd == AT_FDCWD)
		return REAL(getcwd)(buf, FUSEDEV_PATH_MAX) ? 0 : -errno;
	if (!has_dotdot(path) && (s = anc_get()) &&
	    REAL(fstat)(dirfd, &st) == 0) {
		for (i = 0; i < s->n; i++)
			if (s->a[i].dev == st.st_dev &&
			    s->a[i].ino == st.st_ino)
				break;
		if (i == s->n)
			return 1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = REAL(readlink)(link, buf, FUSEDEV_PATH_MAX - 1);
	if (n <= 0 || buf[0] != '/')
		return -EBADF;
	buf[n] = '\0';
	return 0;
}

int shim_route(struct shim_route *rt, int dirfd, const char *path)
{
	char base[FUSEDEV_PATH_MAX];
	const char *src, *p;
	size_t nlen = 0, blen;
	int e = errno;
	long plen;
	uint64_t id;

	rt->dirfd = dirfd;
	rt->path = path;
	rt->base = 0;
	rt->fault = 0;
	if (!shim_have_mounts())
		return 0;
	/*
	 * getname: the caller's string, read once.  One that cannot be
	 * read, or has no NUL within PATH_MAX bytes, is the kernel's to
	 * refuse (EFAULT, ENAMETOOLONG), in its order with the call's
	 * other arguments; so is "" (ENOENT, or AT_EMPTY_PATH).
	 */
	plen = shim_strncpy_from_user(rt->abs, path, sizeof(rt->abs));
	if (plen <= 0 || plen >= (long)sizeof(rt->abs)) {
		rt->fault = plen < 0 ? (int)-plen : plen ? ENAMETOOLONG : 0;
		return 0;
	}
	if (rt->abs[0] != '/') {
		struct shim_fdinfo fi = { 0 };

		/* From an emulated directory: the emulator walks it from
		 * there, as the kernel walks from a dentry. */
		if (dirfd == AT_FDCWD)
			rt->base = shim_cwd_key();
		else if (shim_fd_lookup(dirfd, &fi))
			rt->base = fi.open_key;
		errno = e;
		if (rt->base)
			return 1;
		if (route_base(dirfd, rt->abs, base) != 0) {
			errno = e;
			return 0;
		}
		blen = strlen(base);
		if (blen + 1 + plen >= sizeof(rt->ext)) {
			errno = e;
			return 0;
		}
		memcpy(rt->ext, base, blen);
		rt->ext[blen] = '/';
		memcpy(rt->ext + blen + 1, rt->abs, plen + 1);
	} else {
		memcpy(rt->ext, rt->abs, plen + 1);
	}
	src = rt->ext;
	errno = e;

	if (mtab_match("/", 1, &id)) {
		if (strlen(src) >= sizeof(rt->abs))
			return -ENAMETOOLONG;
		strcpy(rt->abs, src);
		return 1;
	}
	/*
	 * Lexical walk of the real file system's part, up to the first
	 * mountpoint; what follows it is the emulator's to walk (symlinks
	 * and ".." included), untouched.
	 */
	p = src;
	for (;;) {
		const char *c;
		size_t clen;

		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		c = p;
		while (*p && *p != '/')
			p++;
		clen = p - c;
		if (clen == 1 && c[0] == '.')
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			while (nlen > 0 && rt->abs[nlen - 1] != '/')
				nlen--;
			if (nlen > 0)
				nlen--;
			continue;
		}
		if (nlen + 1 + clen >= sizeof(rt->abs))
			return 0;
		rt->abs[nlen++] = '/';
		memcpy(rt->abs + nlen, c, clen);
		nlen += clen;
		if (mtab_match(rt->abs, nlen, &id)) {
			size_t rest = strlen(p);

			if (nlen + rest >= sizeof(rt->abs))
				return -ENAMETOOLONG;
			memcpy(rt->abs + nlen, p, rest + 1);
			return 1;
		}
	}
}

int shim_route_external(struct shim_route *rt, int *hops)
{
	if (++*hops > SHIM_MAX_HOPS)
		return -ELOOP;
	if (rt->ext[0] != '/')
		return -EIO;
	SHIM_DBG(SHIM_DBG_CLIENT, "external: %s", rt->ext);
	return shim_route(rt, AT_FDCWD, rt->ext);
}

/* ---- locks -------------------------------------------------------------- */

void shim_lock(pthread_mutex_t *m, sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	REAL(pthread_sigmask)(SIG_BLOCK, &all, old);
	pthread_mutex_lock(m);
}

void shim_unlock(pthread_mutex_t *m, const sigset_t *old)
{
	pthread_mutex_unlock(m);
	REAL(pthread_sigmask)(SIG_SETMASK, old, NULL);
}

/* ---- the fd table --------------------------------------------------------
 *
 * fd -> entry, published with release stores so that a lookup of an fd
 * that is not ours (nearly every call) is two loads and no lock.  Entries
 * are read and freed only under fdtab_lock.  A table that has grown is
 * left allocated: a lock-free reader may still be looking at it.
 */
struct shim_fdent {
	uint64_t open_key;
	int flags;
	char path[];
};

struct shim_fdtab {
	int size;
	struct shim_fdent *ent[];
};

static struct shim_fdtab *fdtab;
static pthread_mutex_t fdtab_lock = PTHREAD_MUTEX_INITIALIZER;

static inline bool fd_maybe_ours(int fd)
{
	struct shim_fdtab *t = __atomic_load_n(&fdtab, __ATOMIC_ACQUIRE);

	return fd >= 0 && t && fd < t->size &&
	       __atomic_load_n(&t->ent[fd], __ATOMIC_ACQUIRE);
}

/* Copy entry @fd under the lock, without checking the fd itself. */
static bool fd_get(int fd, struct shim_fdinfo *fi)
{
	struct shim_fdent *ent = NULL;
	struct shim_fdtab *t;
	sigset_t old;

	shim_lock(&fdtab_lock, &old);
	t = fdtab;
	if (t && fd < t->size)
		ent = t->ent[fd];
	if (ent) {
		fi->open_key = ent->open_key;
		fi->flags = ent->flags;
		if (fi->path)
			strcpy(fi->path, ent->path);
	}
	shim_unlock(&fdtab_lock, &old);
	return ent != NULL;
}

bool shim_fd_lookup(int fd, struct shim_fdinfo *fi)
{
	if (likely(!fd_maybe_ours(fd)))
		return false;
	/*
	 * glibc closes fds internally (fclose, freopen, closedir of its own
	 * DIRs) where we cannot see it: an entry whose fd is no longer a
	 * device open is stale.
	 */
	if (!shim_is_device_fd(fd)) {
		shim_fd_drop(fd);
		return false;
	}
	/*
	 * A vfork child shares the parent's table but not its fds: the
	 * number may name another open file there.  Ask the device.
	 */
	if (unlikely(shim_vfork_child())) {
		struct fusedev_whoami who;

		if (shim_whoami(fd, &who) < 0 ||
		    who.kind != FUSEDEV_KIND_CLIENT)
			return false;
		fi->open_key = who.open_key;
		fi->flags = who.flags;
		if (fi->path && shim_op_fpath(who.open_key, fi->path) < 0)
			fi->path[0] = '\0';
		return true;
	}
	return fd_get(fd, fi);
}

int shim_fd_set(int fd, uint64_t open_key, int flags, const char *path)
{
	size_t plen = strlen(path);
	struct shim_fdent *ent, *old_ent = NULL;
	struct shim_fdtab *t, *nt;
	sigset_t old;
	int size;

	if (fd < 0)
		return -EBADF;
	if (shim_vfork_child())
		return 0;
	ent = malloc(sizeof(*ent) + plen + 1);
	if (!ent)
		return -ENOMEM;
	ent->open_key = open_key;
	ent->flags = flags;
	memcpy(ent->path, path, plen + 1);

	shim_lock(&fdtab_lock, &old);
	t = fdtab;
	if (!t || fd >= t->size) {
		size = t ? t->size : 64;
		while (size <= fd)
			size *= 2;
		nt = calloc(1, sizeof(*nt) + size * sizeof(nt->ent[0]));
		if (!nt) {
			shim_unlock(&fdtab_lock, &old);
			free(ent);
			return -ENOMEM;
		}
		nt->size = size;
		if (t)
			memcpy(nt->ent, t->ent, t->size * sizeof(t->ent[0]));
		__atomic_store_n(&fdtab, nt, __ATOMIC_RELEASE);
		t = nt;
	}
	old_ent = t->ent[fd];
	__atomic_store_n(&t->ent[fd], ent, __ATOMIC_RELEASE);
	shim_unlock(&fdtab_lock, &old);
	free(old_ent);
	SHIM_DBG(SHIM_DBG_CLIENT, "fd %d = open %#llx %s", fd,
		 (unsigned long long)open_key, path);
	return 0;
}

void shim_fd_drop(int fd)
{
	struct shim_fdent *ent = NULL;
	struct shim_fdtab *t;
	sigset_t old;

	if (likely(!fd_maybe_ours(fd)) || shim_vfork_child())
		return;
	shim_lock(&fdtab_lock, &old);
	t = fdtab;
	if (t && fd < t->size) {
		ent = t->ent[fd];
		__atomic_store_n(&t->ent[fd], NULL, __ATOMIC_RELEASE);
	}
	shim_unlock(&fdtab_lock, &old);
	free(ent);
}

void shim_fd_dup(int oldfd, int newfd)
{
	char path[FUSEDEV_PATH_MAX];
	struct shim_fdinfo fi = { .path = path };

	if (oldfd == newfd)
		return;
	shim_fd_drop(newfd);
	if (fd_maybe_ours(oldfd) && fd_get(oldfd, &fi))
		shim_fd_set(newfd, fi.open_key, fi.flags, path);
}

void shim_fd_setflags(int fd, int flags)
{
	struct shim_fdtab *t;
	sigset_t old;

	if (shim_vfork_child())
		return;
	shim_lock(&fdtab_lock, &old);
	t = fdtab;
	if (t && fd >= 0 && fd < t->size && t->ent[fd])
		t->ent[fd]->flags = flags;
	shim_unlock(&fdtab_lock, &old);
}

void shim_fd_adopt(int fd)
{
	char path[FUSEDEV_PATH_MAX];
	struct fusedev_whoami who;

	if (shim_whoami(fd, &who) < 0 || who.kind != FUSEDEV_KIND_CLIENT)
		return;
	if (shim_op_fpath(who.open_key, path) < 0)
		path[0] = '\0';
	shim_fd_set(fd, who.open_key, who.flags, path);
}

void shim_fd_rebuild(void)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	dir = REAL(opendir)("/proc/self/fd");
	if (!dir)
		return;
	while ((d = REAL(readdir)(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		fd = atoi(d->d_name);
		if (fd != REAL(dirfd)(dir) && !shim_internal_fd(fd))
			shim_fd_adopt(fd);
	}
	REAL(closedir)(dir);
}

/* ---- the shim's own fds --------------------------------------------------
 *
 * Port sockets, placed high (see shim_port.c).  close() and close_range()
 * from the program leave them alone; fds past the bitmap are not guarded.
 */
#define INTERNAL_MAX	65536
#define LBITS		(8 * sizeof(unsigned long))

static unsigned long internal_bits[INTERNAL_MAX / LBITS];

void shim_internal_add(int fd)
{
	if (fd >= 0 && fd < INTERNAL_MAX)
		__atomic_fetch_or(&internal_bits[fd / LBITS],
				  1ul << (fd % LBITS), __ATOMIC_RELEASE);
}

void shim_internal_del(int fd)
{
	if (fd >= 0 && fd < INTERNAL_MAX)
		__atomic_fetch_and(&internal_bits[fd / LBITS],
				   ~(1ul << (fd % LBITS)), __ATOMIC_RELEASE);
}

bool shim_internal_fd(int fd)
{
	return fd >= 0 && fd < INTERNAL_MAX &&
	       (__atomic_load_n(&internal_bits[fd / LBITS],
				__ATOMIC_ACQUIRE) >> (fd % LBITS) & 1);
}

static void drop_range(unsigned int first, unsigned int last)
{
	struct shim_fdtab *t = __atomic_load_n(&fdtab, __ATOMIC_ACQUIRE);
	unsigned int fd;

	if (!t)
		return;
	for (fd = first; fd < (unsigned int)t->size && fd <= last; fd++)
		shim_fd_drop(fd);
}

int shim_close_range_user(unsigned int first, unsigned int last, int flags)
{
	unsigned int lo = first, fd;
	int r;

	if (first > last)
		return -EINVAL;
	for (fd = first; fd <= last && fd < INTERNAL_MAX; fd++) {
		if (!internal_bits[fd / LBITS]) {
			fd |= LBITS - 1;
			continue;
		}
		if (!shim_internal_fd(fd))
			continue;
		if (lo < fd && REAL(close_range)(lo, fd - 1, flags) < 0)
			return -errno;
		lo = fd + 1;
	}
	if (lo <= last && lo >= first) {
		r = REAL(close_range)(lo, last, flags);
		if (r < 0)
			return -errno;
	}
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		drop_range(first, last);
	return 0;
}

/* ---- fork --------------------------------------------------------------- */

static void atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	/* Only this thread survives: its lock holders are gone. */
	memcpy(&fdtab_lock, &fresh, sizeof(fresh));
	memcpy(&anc_lock, &fresh, sizeof(fresh));
	shim_port_atfork();
	shim_cwd_atfork();
	shim_daemon_atfork();
}

/* Close every shim socket inherited by a fork child; the cwd's fd is
 * the child's as much as the parent's. */
void shim_internal_close_all(void)
{
	int keep = shim_cwd_fd();
	unsigned int w, b;

	for (w = 0; w < ARRAY_SIZE(internal_bits); w++) {
		unsigned long bits = internal_bits[w];

		for (b = 0; bits && b < LBITS; b++) {
			if (!(bits & (1ul << b)))
				continue;
			bits &= ~(1ul << b);
			if ((int)(w * LBITS + b) == keep)
				continue;
			REAL(close)(w * LBITS + b);
			internal_bits[w] &= ~(1ul << b);
		}
	}
}
