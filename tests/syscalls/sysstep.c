/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysstep: runs file system calls one libc call per step, from case
 * files, and prints each call's result in a form that is the same on a
 * kernel FUSE mount and on an emulated one (libmountshim.so preloaded).
 * The syscalls suite (run.sh) runs it in both modes and compares.
 *
 *	sysstep [-c CASE] [-n] MOUNT OUTSIDE CASEFILE...
 *
 * A case file holds cases; a case is a name and a short sequence of
 * steps:
 *
 *	case open-excl
 *	open f1 O_CREAT|O_WRONLY|O_EXCL 0644 -> fd1
 *	write fd1 "hello"
 *	close fd1
 *
 * Each case runs in its own process (killed after 15 s) in a fresh
 * directory MOUNT/CASE ($CASE), with OUTSIDE/CASE ($OUT) made for it on
 * the real file system and umask 022 (with -n, for a file system where
 * nothing can be made, $CASE is MOUNT itself).  For every step one line
 * goes to stdout: the step as written, " = ", the result ("0", "-1 ENOENT",
 * "fd", "ok", "NULL EBADF") and what the call returned, normalised:
 * stat shows type, permissions, links, size, blocks, owner and times
 * as "now" (within a day of the start) or their exact value, never
 * inode or device numbers; directory listings are sorted; bytes are
 * C-escaped; paths have $CASE, $OUT, $MNT and $TOP (the mount's
 * parent) put back in.  Each case's time goes to stderr.  Lines
 * "=== case NAME" start each case; "=== end NAME status" ends it.
 *
 * Arguments: words separated by blanks; "..." is a string with C
 * escapes (\n \t \0 \xHH \\ \"); {TEXT*N} in a word repeats TEXT N
 * times.  $CASE, $OUT, $MNT and $NAME (the case's name) expand
 * everywhere.  A path is made
 * absolute under $CASE, unless it is quoted, starts with '/' or '$'
 * (taken as is) or with '=' (the rest, verbatim: relative to the cwd or
 * to a dirfd).  NULL is a null pointer.  Numbers and flags: C integers
 * or symbolic names joined with '|' (O_*, AT_*, SEEK_*, F_*, ...).
 *
 * Bad pointers, for paths and strings and for a step's buffer: BAD is
 * 0xDEADC0DE, UNMAPPED the start of an unmapped page, KERNEL an address
 * in the kernel's half, NONCANON a non-canonical one, EDGE:TEXT the
 * bytes of TEXT (a path as above) ending where an unmapped page starts,
 * with no NUL; RDONLY (buffers only) a read-only page.  "buf=X" among
 * a step's arguments makes X the buffer the call reads or writes (stat
 * buffer, read/write data, xattr value, readlink and getcwd buffer,
 * dirents, the flock of fcntl, the times of the utime calls, the offset
 * of sendfile, copy_file_range and splice (the input one), realpath's
 * result); "vec=X" the iovec array of the vector calls.  Results in a
 * buffer given so are not printed.  A step that faults (a C library
 * function reading a bad pointer itself) prints the signal.
 * Named results follow "->": fds, DIR and FILE streams, mappings,
 * directory positions; they are the fd arguments of later steps
 * (AT_FDCWD and plain numbers work too).
 *
 * A second process, for locks: "fork" starts one that shares every
 * variable; "c STEP" runs STEP there and waits for its line; "c& STEP"
 * sends it without waiting; "cpending MS" tells whether its line came
 * within MS ms ("pending" when not); "cresult" waits (5 s) for it;
 * "cexit" ends the child.  Lock owners print as pid=self/case/child.
 *
 * Exit status: 0 when every case ran (whatever the calls returned), 2
 * on a malformed case file or a case that did not finish.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <spawn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define MAXARGS		32
#define MAXVARS		64
#define OUTMAX		65536
#define CASE_SECS	15

/* ---- the case being run ------------------------------------------------ */

static char mnt[PATH_MAX], outside[PATH_MAX], top[PATH_MAX];
static bool in_mount;		/* -n: $CASE is the mount itself */
static char casedir[PATH_MAX + 256], outdir[PATH_MAX + 256];
static const char *casename;
static time_t t0;
static pid_t case_pid, child_pid;
static int outfd = 1;
static bool in_child;		/* lines without the step's text */
static int bad;			/* the case file is malformed */

enum vkind { V_NONE, V_FD, V_DIR, V_FILE, V_MAP, V_POS, V_FAILED };

struct var {
	char name[32];
	enum vkind kind;
	long long v;		/* fd, or a telldir position */
	DIR *dir;
	FILE *fp;
	void *map;
	size_t maplen;
};

static struct var vars[MAXVARS];
static int nvars;

/* child of "fork": the pipes (parent's ends in the case process) */
static int c_cmd = -1, c_res = -1;

/* ---- one step ------------------------------------------------------------ */

struct tok {
	char *s;
	size_t len;
	bool quoted;
};

static struct tok a[MAXARGS];
static int na;
static char *res[4];
static int nres;
static char ob[OUTMAX];
static size_t ol;

static void o(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void o(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ol >= sizeof(ob) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ob + ol, sizeof(ob) - ol, fmt, ap);
	va_end(ap);
	if (n > 0)
		ol += (size_t)n < sizeof(ob) - ol ? (size_t)n : sizeof(ob) - ol - 1;
}

static void badcase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void badcase(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sysstep: case %s: ", casename ? casename : "?");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	dprintf(outfd, "BADCASE\n");
	_exit(2);
}

static void writeall(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= w;
	}
}

/* Replace the case's directories by their names. */
static void o_path(const char *p)
{
	static const struct { const char *name; const char *val; } sub[] = {
		{ "$CASE", casedir }, { "$OUT", outdir }, { "$MNT", mnt },
		{ "$TOP", top },
	};
	size_t i;

	if (!p) {
		o("NULL");
		return;
	}
	while (*p) {
		for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
			size_t n = strlen(sub[i].val);

			if (n && !strncmp(p, sub[i].val, n)) {
				o("%s", sub[i].name);
				p += n;
				break;
			}
		}
		if (i == sizeof(sub) / sizeof(sub[0]))
			o("%c", *p++);
	}
}

/* Bytes, C-escaped and quoted; longer than 200: length and a hash. */
static void o_bytes(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t i;

	if (n > 200) {
		uint64_t h = 1469598103934665603ull;

		for (i = 0; i < n; i++)
			h = (h ^ p[i]) * 1099511628211ull;
		o("<%zu bytes fnv=%016llx>", n, (unsigned long long)h);
		return;
	}
	o("\"");
	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];

		if (ch == '\n')
			o("\\n");
		else if (ch == '\\' || ch == '"')
			o("\\%c", ch);
		else if (ch == 0)
			o("\\0");
		else if (ch < 32 || ch > 126)
			o("\\x%02x", ch);
		else
			o("%c", ch);
	}
	o("\"");
}

static void o_err(int e)
{
	const char *n = strerrorname_np(e);

	if (n)
		o(" %s", n);
	else
		o(" E%d", e);
}

/* "= r" or "= -1 ENAME". */
static void o_ret(long r, int e)
{
	o("%ld", r);
	if (r < 0)
		o_err(e);
}

#define CALL(type, var, expr)						\
	type var;							\
	int e_##var;							\
	errno = 0;							\
	var = (expr);							\
	e_##var = errno

#define RET(expr)							\
	do {								\
		CALL(long, r_, (long)(expr));				\
		o_ret(r_, e_r_);					\
	} while (0)

/* ---- arguments ----------------------------------------------------------- */

struct sym {
	const char *name;
	long long val;
};

#define S(x) { #x, (long long)(x) }
static const struct sym syms[] = {
	S(O_RDONLY), S(O_WRONLY), S(O_RDWR), S(O_CREAT), S(O_EXCL),
	S(O_TRUNC), S(O_APPEND), S(O_DIRECTORY), S(O_NOFOLLOW), S(O_PATH),
	S(O_NONBLOCK), S(O_CLOEXEC), S(O_TMPFILE), S(O_NOCTTY), S(O_SYNC),
	S(O_DSYNC), S(O_NOATIME), S(O_DIRECT), S(O_LARGEFILE),
	S(AT_FDCWD), S(AT_SYMLINK_NOFOLLOW), S(AT_SYMLINK_FOLLOW),
	S(AT_EMPTY_PATH), S(AT_REMOVEDIR), S(AT_EACCESS), S(AT_NO_AUTOMOUNT),
	S(AT_STATX_SYNC_AS_STAT), S(AT_STATX_FORCE_SYNC),
	S(AT_STATX_DONT_SYNC),
	S(SEEK_SET), S(SEEK_CUR), S(SEEK_END), S(SEEK_DATA), S(SEEK_HOLE),
	S(RENAME_NOREPLACE), S(RENAME_EXCHANGE), S(RENAME_WHITEOUT),
	S(XATTR_CREATE), S(XATTR_REPLACE),
	S(F_DUPFD), S(F_DUPFD_CLOEXEC), S(F_GETFD), S(F_SETFD), S(F_GETFL),
	S(F_SETFL), S(F_GETLK), S(F_SETLK), S(F_SETLKW), S(F_OFD_GETLK),
	S(F_OFD_SETLK), S(F_OFD_SETLKW), S(F_RDLCK), S(F_WRLCK), S(F_UNLCK),
	S(FD_CLOEXEC), S(F_LOCK), S(F_TLOCK), S(F_ULOCK), S(F_TEST),
	S(LOCK_SH), S(LOCK_EX), S(LOCK_UN), S(LOCK_NB),
	S(UTIME_NOW), S(UTIME_OMIT),
	S(S_IFREG), S(S_IFDIR), S(S_IFLNK), S(S_IFIFO), S(S_IFCHR),
	S(S_IFBLK), S(S_IFSOCK),
	S(PROT_READ), S(PROT_WRITE), S(PROT_NONE), S(MAP_PRIVATE),
	S(MAP_SHARED), S(MS_SYNC), S(MS_ASYNC), S(MS_INVALIDATE),
	S(FALLOC_FL_KEEP_SIZE), S(FALLOC_FL_PUNCH_HOLE),
	S(FALLOC_FL_ZERO_RANGE), S(FALLOC_FL_COLLAPSE_RANGE),
	S(FALLOC_FL_INSERT_RANGE),
	S(RWF_HIPRI), S(RWF_DSYNC), S(RWF_SYNC), S(RWF_NOWAIT), S(RWF_APPEND),
	S(STATX_BASIC_STATS), S(STATX_ALL), S(STATX_TYPE), S(STATX_MODE),
	S(STATX_SIZE), S(STATX_BTIME),
	S(R_OK), S(W_OK), S(X_OK), S(F_OK),
	S(CLOSE_RANGE_CLOEXEC), S(CLOSE_RANGE_UNSHARE),
	S(SPLICE_F_MOVE), S(SPLICE_F_NONBLOCK), S(SPLICE_F_MORE),
	S(FTW_PHYS), S(FTW_MOUNT), S(FTW_DEPTH), S(FTW_CHDIR),
	S(FTS_PHYSICAL), S(FTS_LOGICAL), S(FTS_NOCHDIR), S(FTS_COMFOLLOW),
	S(FTS_XDEV), S(FTS_SEEDOT),
	S(GLOB_MARK), S(GLOB_NOSORT), S(GLOB_NOCHECK), S(GLOB_PERIOD),
	S(GLOB_ONLYDIR), S(GLOB_BRACE),
	S(POLLIN), S(POLLPRI), S(POLLOUT), S(POLLRDNORM), S(POLLWRNORM),
	S(POLLRDBAND), S(POLLWRBAND), S(POLLERR), S(POLLHUP), S(POLLNVAL),
	S(EPOLLIN), S(EPOLLPRI), S(EPOLLOUT), S(EPOLLET), S(EPOLLRDNORM),
	S(EPOLLWRNORM),
	S(AF_UNIX), S(AF_INET), S(SOCK_STREAM), S(SOCK_DGRAM),
	S(SOCK_SEQPACKET), S(SOCK_NONBLOCK), S(SOCK_CLOEXEC),
	S(MSG_DONTWAIT), S(MSG_PEEK),
};
#undef S

static struct tok *arg(int i)
{
	if (i >= na)
		badcase("missing argument %d", i + 1);
	return &a[i];
}

static bool has(int i)
{
	return i < na;
}

static bool isnull(int i)
{
	return has(i) && !a[i].quoted && !strcmp(a[i].s, "NULL");
}

static struct var *var_find(const char *name)
{
	int i;

	for (i = 0; i < nvars; i++)
		if (!strcmp(vars[i].name, name))
			return &vars[i];
	return NULL;
}

static struct var *var_set(const char *name, enum vkind kind)
{
	struct var *v = var_find(name);

	if (!v) {
		if (nvars == MAXVARS)
			badcase("too many variables");
		v = &vars[nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
	}
	memset(&v->kind, 0, sizeof(*v) - offsetof(struct var, kind));
	v->kind = kind;
	return v;
}

static long long num(const char *s)
{
	long long val = 0;
	char buf[256], *save, *w;

	snprintf(buf, sizeof(buf), "%s", s);
	for (w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
		struct var *v;
		char *end;
		size_t i;

		errno = 0;
		long long n = strtoll(w, &end, 0);

		if (*w && !*end && !errno) {
			val |= n;
			continue;
		}
		for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
			if (!strcmp(syms[i].name, w))
				break;
		if (i < sizeof(syms) / sizeof(syms[0])) {
			val |= syms[i].val;
			continue;
		}
		v = var_find(w);
		if (v && (v->kind == V_FD || v->kind == V_POS)) {
			val |= v->v;
			continue;
		}
		badcase("not a number, symbol or variable: %s", w);
	}
	return val;
}

static long long I(int i)
{
	return num(arg(i)->s);
}

static int FD(int i)
{
	struct var *v = var_find(arg(i)->s);

	if (v && v->kind == V_FD)
		return (int)v->v;
	if (v && v->kind == V_DIR)
		return dirfd(v->dir);
	if (v && v->kind == V_FAILED)
		return -1;
	return (int)num(a[i].s);
}

static sigjmp_buf skip_jmp;

static struct var *V(int i, enum vkind kind)
{
	struct var *v = var_find(arg(i)->s);

	if (v && v->kind == V_FAILED)
		siglongjmp(skip_jmp, 1);
	if (!v || v->kind != kind)
		badcase("%s is not a variable of the right kind", a[i].s);
	return v;
}

/* Two pages, the second unmapped: the first one's end is the edge. */
static char *edge_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || munmap(m + pg, pg) < 0)
		badcase("mmap: %s", strerror(errno));
	return m + pg;
}

/* @n bytes of @text ending at an unmapped page, no NUL after them. */
static char *at_edge(const char *text, size_t n)
{
	char *end = edge_page();

	memcpy(end - n, text, n);
	return end - n;
}

/* A bad pointer named by @w (see the header), or NULL when @w is none. */
static void *bad_ptr(const char *w, bool buffer)
{
	static char *ro;

	if (!strcmp(w, "BAD"))
		return (void *)0xDEADC0DEul;
	if (!strcmp(w, "UNMAPPED"))
		return edge_page();
	if (!strcmp(w, "KERNEL"))
		return (void *)0xffff800000001000ul;
	if (!strcmp(w, "NONCANON"))
		return (void *)0x0000800000000000ul;
	if (buffer && !strcmp(w, "RDONLY")) {
		if (!ro) {
			ro = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (ro == MAP_FAILED)
				badcase("mmap: %s", strerror(errno));
		}
		return ro;
	}
	return NULL;
}

static const char *P(int i);

/* A string argument: NULL, a bad pointer, or the text. */
static const char *STR(int i)
{
	void *b;

	if (isnull(i))
		return NULL;
	if (!arg(i)->quoted && (b = bad_ptr(a[i].s, false)))
		return b;
	if (!a[i].quoted && !strncmp(a[i].s, "EDGE:", 5))
		return at_edge(a[i].s + 5, strlen(a[i].s + 5));
	return a[i].s;
}

/* A path argument (see the header). */
static const char *P(int i)
{
	struct tok *t = arg(i);
	void *b;
	char *p;

	if (isnull(i))
		return NULL;
	if (!t->quoted && (b = bad_ptr(t->s, false)))
		return b;
	if (!t->quoted && !strncmp(t->s, "EDGE:", 5)) {
		struct tok save = *t;
		const char *q;

		/* the path as it would be, then moved to the edge */
		t->s += 5;
		q = P(i);
		*t = save;
		return at_edge(q, strlen(q));
	}
	if (t->quoted || t->s[0] == '/' || t->s[0] == '$')
		return t->s;	/* $... was expanded already */
	if (t->s[0] == '=')
		return t->s + 1;
	if (asprintf(&p, "%s/%s", casedir, t->s) < 0)
		abort();
	return p;
}

/* The step's "buf=X" and "vec=X" (NULL, or a bad pointer), and whether
 * one was given. */
static void *buf_ov, *vec_ov;
static bool has_buf_ov, has_vec_ov;

/* The buffer a call uses: @dflt, or the step's buf=. */
static void *B(void *dflt)
{
	return has_buf_ov ? buf_ov : dflt;
}

/* A failed call's fd result is -1: later steps get EBADF. */
static void set_fd(int k, long fd)
{
	if (k < nres)
		var_set(res[k], V_FD)->v = fd < 0 ? -1 : fd;
}

/* A failed call's stream or mapping: steps using it print "skipped". */
static void set_failed(int k)
{
	if (k < nres)
		var_set(res[k], V_FAILED);
}

static void o_fdret(long r, int e)
{
	if (r >= 0)
		o("fd");
	else
		o_ret(r, e);
}

/* ---- tokenising ---------------------------------------------------------- */

static char *expand(const char *s, size_t *len)
{
	size_t cap = strlen(s) + 64, n = 0;
	char *out = malloc(cap);

	while (*s) {
		const char *add = NULL;
		size_t addn = 1, rep = 1;
		char text[512];

		if (!strncmp(s, "$NAME", 5)) {
			add = casename, addn = strlen(casename), s += 5;
		} else if (!strncmp(s, "$CASE", 5)) {
			add = casedir, addn = strlen(casedir), s += 5;
		} else if (!strncmp(s, "$OUT", 4)) {
			add = outdir, addn = strlen(outdir), s += 4;
		} else if (!strncmp(s, "$MNT", 4)) {
			add = mnt, addn = strlen(mnt), s += 4;
		} else if (*s == '{' && strchr(s, '}') && strchr(s, '*') &&
			   strchr(s, '*') < strchr(s, '}')) {
			const char *star = strchr(s, '*'), *end = strchr(s, '}');

			if ((size_t)(star - s - 1) >= sizeof(text))
				badcase("bad {TEXT*N}");
			memcpy(text, s + 1, star - s - 1);
			text[star - s - 1] = 0;
			rep = strtoul(star + 1, NULL, 10);
			add = text, addn = strlen(text), s = end + 1;
		} else {
			add = s++;
		}
		while (n + addn * rep + 1 > cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		while (rep--) {
			memcpy(out + n, add, addn);
			n += addn;
		}
	}
	out[n] = 0;
	*len = n;
	return out;
}

static int hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

/* Split @line into a[], res[]. */
static void tokenize(char *line)
{
	char *p = line;
	bool arrow = false;

	na = nres = 0;
	has_buf_ov = has_vec_ov = false;
	for (;;) {
		char buf[8192];
		size_t n = 0;
		bool q = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			q = true;
			for (p++; *p && *p != '"'; p++) {
				char ch = *p;

				if (ch == '\\' && p[1]) {
					p++;
					switch (*p) {
					case 'n': ch = '\n'; break;
					case 't': ch = '\t'; break;
					case '0': ch = 0; break;
					case 'x':
						ch = (char)(hexval(p[1]) * 16 +
							    hexval(p[2]));
						p += 2;
						break;
					default: ch = *p;
					}
				}
				if (n < sizeof(buf) - 1)
					buf[n++] = ch;
			}
			if (*p != '"')
				badcase("unterminated string");
			p++;
		} else {
			while (*p && *p != ' ' && *p != '\t' && n < sizeof(buf) - 1)
				buf[n++] = *p++;
		}
		buf[n] = 0;
		if (!q && !strcmp(buf, "->")) {
			arrow = true;
			continue;
		}
		if (arrow) {
			if (nres == 4)
				badcase("too many results");
			res[nres++] = strdup(buf);
			continue;
		}
		if (!q && (!strncmp(buf, "buf=", 4) ||
			   !strncmp(buf, "vec=", 4))) {
			bool isvec = buf[0] == 'v';
			void *b = strcmp(buf + 4, "NULL") ?
				  bad_ptr(buf + 4, true) : NULL;

			if (!b && strcmp(buf + 4, "NULL")) {
				if (strncmp(buf + 4, "EDGE", 4))
					badcase("bad buffer %s", buf);
				b = edge_page() - 8;
			}
			if (isvec) {
				vec_ov = b;
				has_vec_ov = true;
			} else {
				buf_ov = b;
				has_buf_ov = true;
			}
			continue;
		}
		if (na == MAXARGS)
			badcase("too many arguments");
		a[na].quoted = q;
		if (q && memchr(buf, 0, n)) {
			/* binary data: no expansion */
			a[na].s = malloc(n + 1);
			memcpy(a[na].s, buf, n + 1);
			a[na].len = n;
		} else {
			a[na].s = expand(buf, &a[na].len);
		}
		na++;
	}
}

/* ---- printing results ---------------------------------------------------- */

static void o_time(const char *name, const struct timespec *ts)
{
	long long d = (long long)ts->tv_sec - (long long)t0;

	if (d > -86400 && d < 86400)
		o(" %s=now", name);
	else
		o(" %s=%lld.%09ld", name, (long long)ts->tv_sec, ts->tv_nsec);
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	}
	return "?";
}

static void o_stat(const struct stat *st)
{
	o(" {%s %04o n=%lu size=%lld uid=%u gid=%u", ftype(st->st_mode),
	  st->st_mode & 07777, (unsigned long)st->st_nlink,
	  (long long)st->st_size, st->st_uid, st->st_gid);
	if (S_ISREG(st->st_mode))
		o(" blocks=%lld", (long long)st->st_blocks);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		o(" rdev=%u,%u", major(st->st_rdev), minor(st->st_rdev));
	o_time("a", &st->st_atim);
	o_time("m", &st->st_mtim);
	o_time("c", &st->st_ctim);
	o("}");
}

static void o_statx(const struct statx *sx)
{
	struct timespec ts;

	o(" {%s %04o n=%u size=%llu uid=%u gid=%u mask&basic=%#x",
	  ftype(sx->stx_mode), sx->stx_mode & 07777, sx->stx_nlink,
	  (unsigned long long)sx->stx_size, sx->stx_uid, sx->stx_gid,
	  sx->stx_mask & STATX_BASIC_STATS);
	if (S_ISREG(sx->stx_mode))
		o(" blocks=%llu", (unsigned long long)sx->stx_blocks);
	ts.tv_sec = sx->stx_mtime.tv_sec;
	ts.tv_nsec = sx->stx_mtime.tv_nsec;
	o_time("m", &ts);
	o("}");
}

static char dtype(unsigned char t)
{
	switch (t) {
	case DT_REG: return 'f';
	case DT_DIR: return 'd';
	case DT_LNK: return 'l';
	case DT_FIFO: return 'p';
	case DT_CHR: return 'c';
	case DT_BLK: return 'b';
	case DT_SOCK: return 's';
	}
	return '?';
}

static int cmpstr(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted list of strings, freed. */
static void o_list(char **v, size_t n)
{
	size_t i;

	if (n)
		qsort(v, n, sizeof(*v), cmpstr);
	o(" [");
	for (i = 0; i < n; i++) {
		o("%s", i ? ", " : "");
		o_path(v[i]);
		free(v[i]);
	}
	o("]");
	free(v);
}

static void o_flags(int fl)
{
	static const struct sym f[] = {
		{ "O_APPEND", O_APPEND }, { "O_NONBLOCK", O_NONBLOCK },
		{ "O_DIRECT", O_DIRECT }, { "O_NOATIME", O_NOATIME },
		{ "O_PATH", O_PATH }, { "O_SYNC", O_SYNC },
		{ "O_DSYNC", O_DSYNC }, { "O_LARGEFILE", 0100000 },
		{ "O_CLOEXEC", O_CLOEXEC }, { "O_DIRECTORY", O_DIRECTORY },
		{ "O_NOFOLLOW", O_NOFOLLOW },
	};
	size_t i;

	o(" %s", (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY" :
		 (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" :
		 (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_ACCMODE");
	fl &= ~O_ACCMODE;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if ((fl & f[i].val) == f[i].val) {
			o("|%s", f[i].name);
			fl &= ~f[i].val;
		}
	}
	if (fl)
		o("|%#o", fl);
}

static void o_pid(pid_t p)
{
	if (p == getpid())
		o(" pid=self");
	else if (p == case_pid)
		o(" pid=case");
	else if (p == child_pid && p)
		o(" pid=child");
	else if (p <= 0)
		o(" pid=%d", p);
	else
		o(" pid=other");
}

/* ---- the calls ----------------------------------------------------------- */

static void c_open(void)
{
	CALL(int, r, open(P(0), (int)I(1), has(2) ? (mode_t)I(2) : 0));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_open64(void)
{
	CALL(int, r, open64(P(0), (int)I(1), has(2) ? (mode_t)I(2) : 0));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_openat(void)
{
	CALL(int, r, openat(FD(0), P(1), (int)I(2),
			    has(3) ? (mode_t)I(3) : 0));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_creat(void)
{
	CALL(int, r, creat(P(0), (mode_t)I(1)));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_close(void)
{
	RET(close(FD(0)));
}

static void c_read(void)
{
	size_t n = (size_t)I(1);
	char *buf = malloc(n + 1);

	CALL(ssize_t, r, read(FD(0), B(buf), n));
	o_ret(r, e_r);
	if (r >= 0 && !has_buf_ov)
		o(" "), o_bytes(buf, r);
}

static void c_pread(void)
{
	size_t n = (size_t)I(1);
	char *buf = malloc(n + 1);

	CALL(ssize_t, r, pread(FD(0), B(buf), n, (off_t)I(2)));
	o_ret(r, e_r);
	if (r >= 0 && !has_buf_ov)
		o(" "), o_bytes(buf, r);
}

static void c_write(void)
{
	RET(write(FD(0), B(arg(1)->s), a[1].len));
}

static void c_pwrite(void)
{
	RET(pwrite(FD(0), B(arg(1)->s), a[1].len, (off_t)I(2)));
}

/* iovecs from arguments @from..: sizes (read) or strings (write). */
static int make_iov(struct iovec *iov, int from, bool rd)
{
	int n = 0, i;

	for (i = from; i < na && n < 8; i++, n++) {
		if (rd) {
			iov[n].iov_len = (size_t)I(i);
			iov[n].iov_base = calloc(1, iov[n].iov_len + 1);
		} else {
			iov[n].iov_base = a[i].s;
			iov[n].iov_len = a[i].len;
		}
	}
	if (n && has_buf_ov)
		iov[0].iov_base = buf_ov;
	return n;
}

/* The iovec array a vector call gets: @iov, or the step's vec=. */
static struct iovec *V_IOV(struct iovec *iov)
{
	return has_vec_ov ? vec_ov : iov;
}

static void o_iov(const struct iovec *iov, int n, ssize_t r)
{
	int i;

	if (has_buf_ov || has_vec_ov)
		return;
	for (i = 0; i < n && r > 0; i++) {
		size_t k = (size_t)r < iov[i].iov_len ? (size_t)r :
			   iov[i].iov_len;

		o(" ");
		o_bytes(iov[i].iov_base, k);
		r -= k;
	}
}

static void c_readv(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 1, true);

	CALL(ssize_t, r, readv(FD(0), V_IOV(iov), n));
	o_ret(r, e_r);
	o_iov(iov, n, r);
}

static void c_writev(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 1, false);

	RET(writev(FD(0), V_IOV(iov), n));
}

static void c_preadv(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 2, true);

	CALL(ssize_t, r, preadv(FD(0), V_IOV(iov), n, (off_t)I(1)));
	o_ret(r, e_r);
	o_iov(iov, n, r);
}

static void c_pwritev(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 2, false);

	RET(pwritev(FD(0), V_IOV(iov), n, (off_t)I(1)));
}

static void c_preadv2(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 3, true);

	CALL(ssize_t, r, preadv2(FD(0), V_IOV(iov), n, (off_t)I(1),
				 (int)I(2)));
	o_ret(r, e_r);
	o_iov(iov, n, r);
}

static void c_pwritev2(void)
{
	struct iovec iov[8];
	int n = make_iov(iov, 3, false);

	RET(pwritev2(FD(0), V_IOV(iov), n, (off_t)I(1), (int)I(2)));
}

static void c_lseek(void)
{
	RET(lseek(FD(0), (off_t)I(1), (int)I(2)));
}

static void c_fsync(void)
{
	RET(fsync(FD(0)));
}

static void c_fdatasync(void)
{
	RET(fdatasync(FD(0)));
}

static void c_syncfs(void)
{
	RET(syncfs(FD(0)));
}

static void c_ftruncate(void)
{
	RET(ftruncate(FD(0), (off_t)I(1)));
}

static void c_truncate(void)
{
	RET(truncate(P(0), (off_t)I(1)));
}

static void c_fallocate(void)
{
	RET(fallocate(FD(0), (int)I(1), (off_t)I(2), (off_t)I(3)));
}

/* posix_fallocate returns the error number. */
static void c_posix_fallocate(void)
{
	int r = posix_fallocate(FD(0), (off_t)I(1), (off_t)I(2));

	if (r)
		o("-1"), o_err(r);
	else
		o("0");
}

/* An offset argument: NULL, or a number whose value after the call
 * is printed. */
static loff_t *offarg(int i, loff_t *store)
{
	if (isnull(i))
		return NULL;
	*store = (loff_t)I(i);
	return store;
}

static void c_copy_file_range(void)
{
	loff_t oi, oo, *pi = offarg(1, &oi), *po = offarg(3, &oo);

	CALL(ssize_t, r, copy_file_range(FD(0), B(pi), FD(2), po,
					 (size_t)I(4),
					 has(5) ? (unsigned)I(5) : 0));
	o_ret(r, e_r);
	if (pi && !has_buf_ov)
		o(" off_in=%lld", (long long)oi);
	if (po)
		o(" off_out=%lld", (long long)oo);
}

static void c_sendfile(void)
{
	off_t off, *po = NULL;

	if (!isnull(2)) {
		off = (off_t)I(2);
		po = &off;
	}
	CALL(ssize_t, r, sendfile(FD(0), FD(1), B(po), (size_t)I(3)));
	o_ret(r, e_r);
	if (po && !has_buf_ov)
		o(" off=%lld", (long long)off);
}

static void c_splice(void)
{
	loff_t oi, oo, *pi = offarg(1, &oi), *po = offarg(3, &oo);

	CALL(ssize_t, r, splice(FD(0), B(pi), FD(2), po, (size_t)I(4),
				has(5) ? (unsigned)I(5) : 0));
	o_ret(r, e_r);
	if (pi && !has_buf_ov)
		o(" off_in=%lld", (long long)oi);
	if (po)
		o(" off_out=%lld", (long long)oo);
}

static void c_pipe(void)
{
	int p[2];

	CALL(int, r, pipe(p));
	o_ret(r, e_r);
	if (r == 0) {
		set_fd(0, p[0]);
		set_fd(1, p[1]);
	}
}

static void c_dup(void)
{
	CALL(int, r, dup(FD(0)));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_dup2(void)
{
	CALL(int, r, dup2(FD(0), (int)I(1)));
	o_ret(r, e_r);
	set_fd(0, r);
}

static void c_dup3(void)
{
	CALL(int, r, dup3(FD(0), (int)I(1), (int)I(2)));
	o_ret(r, e_r);
	set_fd(0, r);
}

static void c_fcntl(void)
{
	int fd = FD(0), cmd = (int)I(1);

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int min = (int)I(2);

		CALL(int, r, fcntl(fd, cmd, min));
		if (r >= min)
			o(">=%d", min);
		else
			o_ret(r, e_r);
		set_fd(0, r);
		return;
	}
	case F_GETFL: {
		CALL(int, r, fcntl(fd, cmd));
		if (r < 0)
			o_ret(r, e_r);
		else
			o("ok"), o_flags(r);
		return;
	}
	case F_GETFD: {
		CALL(int, r, fcntl(fd, cmd));
		o_ret(r, e_r);
		return;
	}
	case F_SETFL:
	case F_SETFD:
		RET(fcntl(fd, cmd, (int)I(2)));
		return;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW: {
		struct flock fl = {
			.l_type = (short)I(2),
			.l_whence = has(5) ? (short)I(5) : SEEK_SET,
			.l_start = (off_t)I(3),
			.l_len = (off_t)I(4),
		};

		CALL(int, r, fcntl(fd, cmd, B(&fl)));
		o_ret(r, e_r);
		if (r == 0 && !has_buf_ov &&
		    (cmd == F_GETLK || cmd == F_OFD_GETLK)) {
			if (fl.l_type == F_UNLCK) {
				o(" {F_UNLCK}");
			} else {
				o(" {%s start=%lld len=%lld",
				  fl.l_type == F_RDLCK ? "F_RDLCK" :
				  fl.l_type == F_WRLCK ? "F_WRLCK" : "?",
				  (long long)fl.l_start, (long long)fl.l_len);
				o_pid(fl.l_pid);
				o("}");
			}
		}
		return;
	}
	}
	RET(fcntl(fd, cmd, has(2) ? (long)I(2) : 0L));
}

static void c_close_range(void)
{
	RET(close_range((unsigned)FD(0), (unsigned)FD(1), (int)I(2)));
}

static void c_flock(void)
{
	RET(flock(FD(0), (int)I(1)));
}

static void c_lockf(void)
{
	RET(lockf(FD(0), (int)I(1), (off_t)I(2)));
}

/* Is @fd open?  Prints its F_GETFD. */
static void c_isopen(void)
{
	CALL(int, r, fcntl(FD(0), F_GETFD));
	if (r < 0)
		o_ret(r, e_r);
	else
		o("open%s", r & FD_CLOEXEC ? " cloexec" : "");
}

static void c_stat(void)
{
	struct stat st;

	CALL(int, r, stat(P(0), B(&st)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_stat(&st);
}

static void c_lstat(void)
{
	struct stat st;

	CALL(int, r, lstat(P(0), B(&st)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_stat(&st);
}

static void c_stat64(void)
{
	struct stat64 st;

	CALL(int, r, stat64(P(0), B(&st)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_stat((struct stat *)&st);
}

static void c_fstat(void)
{
	struct stat st;

	CALL(int, r, fstat(FD(0), B(&st)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_stat(&st);
}

static void c_fstatat(void)
{
	struct stat st;

	CALL(int, r, fstatat(FD(0), P(1), B(&st), (int)I(2)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_stat(&st);
}

static void c_statx(void)
{
	struct statx sx;

	CALL(int, r, statx(FD(0), P(1), (int)I(2), (unsigned)I(3), B(&sx)));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_statx(&sx);
}

static void c_access(void)
{
	RET(access(P(0), (int)I(1)));
}

static void c_faccessat(void)
{
	RET(faccessat(FD(0), P(1), (int)I(2), (int)I(3)));
}

static void c_euidaccess(void)
{
	RET(euidaccess(P(0), (int)I(1)));
}

static void c_eaccess(void)
{
	RET(eaccess(P(0), (int)I(1)));
}

static void c_chmod(void)
{
	RET(chmod(P(0), (mode_t)I(1)));
}

static void c_fchmod(void)
{
	RET(fchmod(FD(0), (mode_t)I(1)));
}

static void c_fchmodat(void)
{
	RET(fchmodat(FD(0), P(1), (mode_t)I(2), (int)I(3)));
}

static void c_lchmod(void)
{
	RET(lchmod(P(0), (mode_t)I(1)));
}

static void c_chown(void)
{
	RET(chown(P(0), (uid_t)I(1), (gid_t)I(2)));
}

static void c_lchown(void)
{
	RET(lchown(P(0), (uid_t)I(1), (gid_t)I(2)));
}

static void c_fchown(void)
{
	RET(fchown(FD(0), (uid_t)I(1), (gid_t)I(2)));
}

static void c_fchownat(void)
{
	RET(fchownat(FD(0), P(1), (uid_t)I(2), (gid_t)I(3), (int)I(4)));
}

/* Times: NULL, or atime and mtime as sec nsec pairs from @i. */
static struct timespec *tsarg(int i, struct timespec *ts)
{
	if (isnull(i))
		return NULL;
	ts[0].tv_sec = (time_t)I(i);
	ts[0].tv_nsec = (long)I(i + 1);
	ts[1].tv_sec = (time_t)I(i + 2);
	ts[1].tv_nsec = (long)I(i + 3);
	return ts;
}

static struct timeval *tvarg(int i, struct timeval *tv)
{
	if (isnull(i))
		return NULL;
	tv[0].tv_sec = (time_t)I(i);
	tv[0].tv_usec = (long)I(i + 1);
	tv[1].tv_sec = (time_t)I(i + 2);
	tv[1].tv_usec = (long)I(i + 3);
	return tv;
}

static void c_utime(void)
{
	struct utimbuf ub, *u = NULL;

	if (!isnull(1)) {
		ub.actime = (time_t)I(1);
		ub.modtime = (time_t)I(2);
		u = &ub;
	}
	RET(utime(P(0), B(u)));
}

static void c_utimes(void)
{
	struct timeval tv[2];

	RET(utimes(P(0), B(tvarg(1, tv))));
}

static void c_lutimes(void)
{
	struct timeval tv[2];

	RET(lutimes(P(0), B(tvarg(1, tv))));
}

static void c_futimes(void)
{
	struct timeval tv[2];

	RET(futimes(FD(0), B(tvarg(1, tv))));
}

static void c_utimensat(void)
{
	struct timespec ts[2];
	struct timespec *t = tsarg(2, ts);

	RET(utimensat(FD(0), P(1), B(t), (int)I(t ? 6 : 3)));
}

static void c_futimens(void)
{
	struct timespec ts[2];

	RET(futimens(FD(0), B(tsarg(1, ts))));
}

static void c_link(void)
{
	RET(link(P(0), P(1)));
}

static void c_linkat(void)
{
	RET(linkat(FD(0), P(1), FD(2), P(3), (int)I(4)));
}

static void c_symlink(void)
{
	RET(symlink(STR(0), P(1)));
}

static void c_symlinkat(void)
{
	RET(symlinkat(STR(0), FD(1), P(2)));
}

static void o_link(ssize_t r, int e, const char *buf)
{
	o_ret(r, e);
	if (r >= 0 && !has_buf_ov) {
		char *s = strndup(buf, r);

		o(" \"");
		o_path(s);
		o("\"");
	}
}

static void c_readlink(void)
{
	size_t n = (size_t)I(1);
	char *buf = calloc(1, n + 1);

	CALL(ssize_t, r, readlink(P(0), B(buf), n));
	o_link(r, e_r, buf);
}

static void c_readlinkat(void)
{
	size_t n = (size_t)I(2);
	char *buf = calloc(1, n + 1);

	CALL(ssize_t, r, readlinkat(FD(0), P(1), B(buf), n));
	o_link(r, e_r, buf);
}

static dev_t devarg(int i)
{
	unsigned ma = 0, mi = 0;

	if (sscanf(arg(i)->s, "%u,%u", &ma, &mi) != 2)
		return (dev_t)I(i);
	return makedev(ma, mi);
}

static void c_mknod(void)
{
	RET(mknod(P(0), (mode_t)I(1), has(2) ? devarg(2) : 0));
}

static void c_mknodat(void)
{
	RET(mknodat(FD(0), P(1), (mode_t)I(2), has(3) ? devarg(3) : 0));
}

static void c_mkfifo(void)
{
	RET(mkfifo(P(0), (mode_t)I(1)));
}

static void c_mkfifoat(void)
{
	RET(mkfifoat(FD(0), P(1), (mode_t)I(2)));
}

/* umask MASK: prints the old mask (every case starts with 022). */
static void c_umask(void)
{
	o("%#o", (unsigned int)umask((mode_t)I(0)));
}

static void c_mkdir(void)
{
	RET(mkdir(P(0), has(1) ? (mode_t)I(1) : 0755));
}

static void c_mkdirat(void)
{
	RET(mkdirat(FD(0), P(1), (mode_t)I(2)));
}

static void c_rmdir(void)
{
	RET(rmdir(P(0)));
}

static void c_unlink(void)
{
	RET(unlink(P(0)));
}

static void c_unlinkat(void)
{
	RET(unlinkat(FD(0), P(1), (int)I(2)));
}

static void c_remove(void)
{
	RET(remove(P(0)));
}

static void c_rename(void)
{
	RET(rename(P(0), P(1)));
}

static void c_renameat(void)
{
	RET(renameat(FD(0), P(1), FD(2), P(3)));
}

static void c_renameat2(void)
{
	RET(renameat2(FD(0), P(1), FD(2), P(3), (unsigned)I(4)));
}

/* ---- xattrs */

static void o_xval(ssize_t r, int e, const char *buf, size_t n)
{
	o_ret(r, e);
	if (r >= 0 && n)
		o(" "), o_bytes(buf, r);
}

static void o_xlist(ssize_t r, int e, const char *buf, size_t n)
{
	char **v;
	size_t k = 0;
	ssize_t i;

	o_ret(r, e);
	if (r < 0 || !n)
		return;
	v = calloc(r + 1, sizeof(*v));
	for (i = 0; i < r; i += strlen(buf + i) + 1)
		v[k++] = strdup(buf + i);
	o_list(v, k);
}

#define XGET(name, target)						\
static void c_##name(void)						\
{									\
	size_t n = (size_t)I(2);					\
	char *buf = calloc(1, n + 1);					\
	CALL(ssize_t, r, name(target, STR(1), B(buf), n));		\
	o_xval(r, e_r, buf, has_buf_ov ? 0 : n);			\
}
XGET(getxattr, P(0))
XGET(lgetxattr, P(0))
XGET(fgetxattr, FD(0))

#define XSET(name, target)						\
static void c_##name(void)						\
{									\
	RET(name(target, STR(1), B(arg(2)->s), a[2].len,		\
		 has(3) ? (int)I(3) : 0));				\
}
XSET(setxattr, P(0))
XSET(lsetxattr, P(0))
XSET(fsetxattr, FD(0))

#define XLIST(name, target)						\
static void c_##name(void)						\
{									\
	size_t n = (size_t)I(1);					\
	char *buf = calloc(1, n + 1);					\
	CALL(ssize_t, r, name(target, B(buf), n));			\
	o_xlist(r, e_r, buf, has_buf_ov ? 0 : n);			\
}
XLIST(listxattr, P(0))
XLIST(llistxattr, P(0))
XLIST(flistxattr, FD(0))

#define XREM(name, target)						\
static void c_##name(void)						\
{									\
	RET(name(target, STR(1)));					\
}
XREM(removexattr, P(0))
XREM(lremovexattr, P(0))
XREM(fremovexattr, FD(0))

/* ---- statfs: only what does not change while the case runs */

static void o_statfs(int r, int e, const struct statfs *s)
{
	o_ret(r, e);
	if (r == 0 && !has_buf_ov)
		o(" {type=%#lx bsize=%ld namelen=%ld frsize=%ld flags=%#lx}",
		  (unsigned long)s->f_type, (long)s->f_bsize,
		  (long)s->f_namelen, (long)s->f_frsize,
		  (unsigned long)s->f_flags);
}

static void o_statvfs(int r, int e, const struct statvfs *s)
{
	o_ret(r, e);
	if (r == 0 && !has_buf_ov)
		o(" {bsize=%lu frsize=%lu namemax=%lu flag=%#lx}",
		  s->f_bsize, s->f_frsize, s->f_namemax, s->f_flag);
}

static void c_statfs(void)
{
	struct statfs s;

	CALL(int, r, statfs(P(0), B(&s)));
	o_statfs(r, e_r, &s);
}

static void c_fstatfs(void)
{
	struct statfs s;

	CALL(int, r, fstatfs(FD(0), B(&s)));
	o_statfs(r, e_r, &s);
}

static void c_statvfs(void)
{
	struct statvfs s;

	CALL(int, r, statvfs(P(0), B(&s)));
	o_statvfs(r, e_r, &s);
}

static void c_fstatvfs(void)
{
	struct statvfs s;

	CALL(int, r, fstatvfs(FD(0), B(&s)));
	o_statvfs(r, e_r, &s);
}

/* ---- stdio */

static void set_file(int k, FILE *f)
{
	if (k < nres && f)
		var_set(res[k], V_FILE)->fp = f;
	else if (!f)
		set_failed(k);
}

static void o_ptr(const void *p, int e)
{
	if (p)
		o("ok");
	else
		o("NULL"), o_err(e);
}

static void c_fopen(void)
{
	CALL(FILE *, f, fopen(P(0), STR(1)));
	o_ptr(f, e_f);
	set_file(0, f);
}

static void c_fopen64(void)
{
	CALL(FILE *, f, fopen64(P(0), STR(1)));
	o_ptr(f, e_f);
	set_file(0, f);
}

static void c_freopen(void)
{
	struct var *v = V(2, V_FILE);

	CALL(FILE *, f, freopen(P(0), STR(1), v->fp));
	o_ptr(f, e_f);
	if (f)
		v->fp = f;
	else
		v->kind = V_NONE;
}

static void c_fdopen(void)
{
	CALL(FILE *, f, fdopen(FD(0), STR(1)));
	o_ptr(f, e_f);
	set_file(0, f);
}

static void c_fgets(void)
{
	int n = (int)I(1);
	char *buf = calloc(1, n + 1);

	CALL(char *, s, fgets(buf, n, V(0, V_FILE)->fp));
	if (s)
		o("ok "), o_bytes(s, strlen(s));
	else
		o("NULL%s", feof(V(0, V_FILE)->fp) ? " eof" : ""), o_err(e_s);
}

static void c_fread(void)
{
	size_t n = (size_t)I(1);
	char *buf = calloc(1, n + 1);
	FILE *f = V(0, V_FILE)->fp;

	CALL(size_t, r, fread(buf, 1, n, f));
	o("%zu ", r);
	o_bytes(buf, r);
	if (r < n)
		o("%s", feof(f) ? " eof" : ""), ferror(f) ? o_err(e_r) : (void)0;
}

static void c_fputs(void)
{
	CALL(int, r, fputs(STR(1), V(0, V_FILE)->fp));
	if (r >= 0)
		o("ok");
	else
		o_ret(r, e_r);
}

static void c_fwrite(void)
{
	CALL(size_t, r, fwrite(arg(1)->s, 1, a[1].len, V(0, V_FILE)->fp));
	o("%zu", r);
	if (r < a[1].len)
		o_err(e_r);
}

static void c_fseek(void)
{
	RET(fseek(V(0, V_FILE)->fp, (long)I(1), (int)I(2)));
}

static void c_ftell(void)
{
	RET(ftell(V(0, V_FILE)->fp));
}

static void c_rewind(void)
{
	FILE *f = V(0, V_FILE)->fp;

	errno = 0;
	rewind(f);
	o("void%s", ferror(f) ? " error" : "");
}

static void c_fflush(void)
{
	RET(fflush(V(0, V_FILE)->fp));
}

static void c_fclose(void)
{
	struct var *v = V(0, V_FILE);

	RET(fclose(v->fp));
	v->kind = V_NONE;
}

static void c_fileno(void)
{
	CALL(int, r, fileno(V(0, V_FILE)->fp));
	o_fdret(r, e_r);
	set_fd(0, r);
}

/* ---- directories */

static void set_dir(int k, DIR *d)
{
	if (k < nres && d)
		var_set(res[k], V_DIR)->dir = d;
	else if (!d)
		set_failed(k);
}

static void c_opendir(void)
{
	CALL(DIR *, d, opendir(P(0)));
	o_ptr(d, e_d);
	set_dir(0, d);
}

static void c_fdopendir(void)
{
	CALL(DIR *, d, fdopendir(FD(0)));
	o_ptr(d, e_d);
	set_dir(0, d);
}

static void o_dent(const char *name, unsigned char type)
{
	o(" %s:%c", name, dtype(type));
}

static void c_readdir(void)
{
	CALL(struct dirent *, d, readdir(V(0, V_DIR)->dir));
	if (d)
		o("ok"), o_dent(d->d_name, d->d_type);
	else
		o("NULL"), e_d ? o_err(e_d) : o(" end");
}

static void c_readdir64(void)
{
	CALL(struct dirent64 *, d, readdir64(V(0, V_DIR)->dir));
	if (d)
		o("ok"), o_dent(d->d_name, d->d_type);
	else
		o("NULL"), e_d ? o_err(e_d) : o(" end");
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void c_readdir_r(void)
{
	struct dirent ent, *d = NULL;
	int r = readdir_r(V(0, V_DIR)->dir, &ent, &d);

	if (r)
		o("%d", r), o_err(r);
	else if (d)
		o("0"), o_dent(d->d_name, d->d_type);
	else
		o("0 end");
}
#pragma GCC diagnostic pop

/* Every remaining entry, sorted (name:type). */
static void c_readdirall(void)
{
	DIR *dir = V(0, V_DIR)->dir;
	char **v = NULL;
	size_t n = 0;
	struct dirent *d;

	errno = 0;
	while ((d = readdir(dir))) {
		v = realloc(v, (n + 1) * sizeof(*v));
		if (asprintf(&v[n++], "%s:%c", d->d_name, dtype(d->d_type)) < 0)
			abort();
	}
	o("%zu", n);
	if (errno)
		o_err(errno);
	o_list(v, n);
}

static void c_rewinddir(void)
{
	rewinddir(V(0, V_DIR)->dir);
	o("void");
}

static void c_telldir(void)
{
	CALL(long, r, telldir(V(0, V_DIR)->dir));
	if (r >= 0)
		o("pos");
	else
		o_ret(r, e_r);
	if (nres && r >= 0)
		var_set(res[0], V_POS)->v = r;
}

static void c_seekdir(void)
{
	seekdir(V(0, V_DIR)->dir, (long)V(1, V_POS)->v);
	o("void");
}

static void c_dirfd(void)
{
	CALL(int, r, dirfd(V(0, V_DIR)->dir));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_closedir(void)
{
	struct var *v = V(0, V_DIR);

	RET(closedir(v->dir));
	v->kind = V_NONE;
}

struct ldirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static void c_getdents64(void)
{
	size_t n = (size_t)I(1), k = 0;
	char *buf = malloc(n);
	char **v;
	ssize_t i;

	CALL(ssize_t, r, getdents64(FD(0), B(buf), n));
	if (r < 0 || has_buf_ov) {
		o_ret(r, e_r);
		return;
	}
	v = calloc(r / 19 + 1, sizeof(*v));
	for (i = 0; i < r; i += ((struct ldirent *)(buf + i))->reclen) {
		struct ldirent *d = (struct ldirent *)(buf + i);

		if (asprintf(&v[k++], "%s:%c", d->name, dtype(d->type)) < 0)
			abort();
	}
	o("%s %zu", r ? "bytes" : "0", k);
	o_list(v, k);
}

static void o_names(int r, int e, struct dirent **list)
{
	char **v;
	int i;

	o_ret(r, e);
	if (r < 0)
		return;
	v = calloc(r + 1, sizeof(*v));
	for (i = 0; i < r; i++) {
		v[i] = strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	o_list(v, r);
}

static void c_scandir(void)
{
	struct dirent **list;

	CALL(int, r, scandir(P(0), &list, NULL, alphasort));
	o_names(r, e_r, list);
}

static void c_scandirat(void)
{
	struct dirent **list;

	CALL(int, r, scandirat(FD(0), P(1), &list, NULL, alphasort));
	o_names(r, e_r, list);
}

static char **walk_v;
static size_t walk_n;

static int walk_fn(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	static const char *const fl[] = {
		[FTW_F] = "F", [FTW_D] = "D", [FTW_DNR] = "DNR",
		[FTW_NS] = "NS", [FTW_SL] = "SL", [FTW_DP] = "DP",
		[FTW_SLN] = "SLN",
	};
	char *s;

	(void)st;
	if (asprintf(&s, "%s:%s:%d", path, fl[flag], ftw ? ftw->level : -1) < 0)
		abort();
	walk_v = realloc(walk_v, (walk_n + 1) * sizeof(*walk_v));
	walk_v[walk_n++] = s;
	return 0;
}

static int ftw_fn(const char *path, const struct stat *st, int flag)
{
	return walk_fn(path, st, flag, NULL);
}

/* Walks: the visits in order, paths with $CASE. */
static void o_walk(void)
{
	size_t i;

	o(" [");
	for (i = 0; i < walk_n; i++) {
		o("%s", i ? ", " : "");
		o_path(walk_v[i]);
	}
	o("]");
	walk_v = NULL;
	walk_n = 0;
}

static void c_nftw(void)
{
	RET(nftw(P(0), walk_fn, 16, (int)I(1)));
	o_walk();
}

static void c_ftw(void)
{
	RET(ftw(P(0), ftw_fn, 16));
	o_walk();
}

static int fts_cmp(const FTSENT **x, const FTSENT **y)
{
	return strcmp((*x)->fts_name, (*y)->fts_name);
}

static void c_fts(void)
{
	static const char *const info[] = {
		[FTS_D] = "D", [FTS_DC] = "DC", [FTS_DEFAULT] = "DEFAULT",
		[FTS_DNR] = "DNR", [FTS_DOT] = "DOT", [FTS_DP] = "DP",
		[FTS_ERR] = "ERR", [FTS_F] = "F", [FTS_INIT] = "INIT",
		[FTS_NS] = "NS", [FTS_NSOK] = "NSOK", [FTS_SL] = "SL",
		[FTS_SLNONE] = "SLNONE", [FTS_W] = "W",
	};
	char *paths[2] = { (char *)P(0), NULL };
	FTSENT *e;
	FTS *fts;

	errno = 0;
	fts = fts_open(paths, (int)I(1), fts_cmp);
	if (!fts) {
		o("NULL"), o_err(errno);
		return;
	}
	o("ok");
	while ((e = fts_read(fts))) {
		char *s;

		if (asprintf(&s, "%s:%s%s%s", e->fts_path, info[e->fts_info],
			     e->fts_errno ? ":" : "",
			     e->fts_errno ? strerrorname_np(e->fts_errno) :
			     "") < 0)
			abort();
		walk_v = realloc(walk_v, (walk_n + 1) * sizeof(*walk_v));
		walk_v[walk_n++] = s;
	}
	if (errno)
		o_err(errno);
	o_walk();
	fts_close(fts);
}

static void c_glob(void)
{
	glob_t g;
	char **v;
	size_t i;

	CALL(int, r, glob(P(0), has(1) ? (int)I(1) : 0, NULL, &g));
	o("%s", r == 0 ? "0" : r == GLOB_NOMATCH ? "GLOB_NOMATCH" :
		r == GLOB_ABORTED ? "GLOB_ABORTED" : "GLOB_NOSPACE");
	(void)e_r;
	if (r)
		return;
	v = calloc(g.gl_pathc + 1, sizeof(*v));
	for (i = 0; i < g.gl_pathc; i++)
		v[i] = strdup(g.gl_pathv[i]);
	o_list(v, g.gl_pathc);
	globfree(&g);
}

/* ---- temporary names: the name made is printed with XXXXXX kept */

static void c_mkstemp(void)
{
	const char *t = P(0);
	char *tmpl = t && !bad_ptr(arg(0)->s, false) &&
		     strncmp(arg(0)->s, "EDGE:", 5) ? strdup(t) : (char *)t;

	CALL(int, r, mkstemp(tmpl));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_mkdtemp(void)
{
	const char *t = P(0);
	char *tmpl = t && !bad_ptr(arg(0)->s, false) &&
		     strncmp(arg(0)->s, "EDGE:", 5) ? strdup(t) : (char *)t;

	CALL(char *, d, mkdtemp(tmpl));
	o_ptr(d, e_d);
	if (d) {
		struct stat st;

		/* the name varies: its mode shows */
		if (stat(d, &st) == 0)
			o(" %04o", (unsigned int)st.st_mode & 07777);
		rmdir(d);
	}
}

/* ---- programs: exec of what cannot run (the step must come back) */

extern char **environ;

static void c_execve(void)
{
	const char *path = P(0);
	char *argv[] = { (char *)"x", NULL };

	RET(execve(path, argv, environ));
}

/* posix_spawn PATH [ARG]: the child's exit status, or the error. */
static void c_posix_spawn(void)
{
	char *argv[] = { (char *)"x", has(1) ? arg(1)->s : NULL, NULL };
	pid_t pid;
	int r, st;

	r = posix_spawn(&pid, P(0), NULL, NULL, argv, environ);
	if (r) {
		o("%d", r), o_err(r);
		return;
	}
	if (waitpid(pid, &st, 0) < 0) {
		o("waitpid"), o_err(errno);
		return;
	}
	o("0 exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ---- AF_UNIX sockets: addresses are sun_path as given (a path
 * argument), printed with their length */

static socklen_t make_sun(int i, struct sockaddr_un *sun)
{
	const char *p = P(i);
	size_t n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = strlen(p);
	if (n > sizeof(sun->sun_path))
		badcase("sun_path too long: %s", p);
	memcpy(sun->sun_path, p, n);
	return offsetof(struct sockaddr_un, sun_path) + n + 1 >
	       sizeof(*sun) ? sizeof(*sun) :
	       offsetof(struct sockaddr_un, sun_path) + n + 1;
}

/* The address argument @i: a bad pointer, or a sockaddr_un (its length
 * @i + 1 when given). */
static const struct sockaddr *sun_arg(int i, struct sockaddr_un *sun,
				      socklen_t *len)
{
	void *b = arg(i)->quoted ? NULL : bad_ptr(a[i].s, false);

	if (b || isnull(i)) {
		*len = sizeof(*sun);
		return b;
	}
	*len = make_sun(i, sun);
	if (has(i + 1))
		*len = (socklen_t)I(i + 1);
	return (struct sockaddr *)sun;
}

static void o_sun(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);

	if (len < sizeof(ss->ss_family)) {
		o(" {len=%u}", (unsigned)len);
		return;
	}
	if (ss->ss_family != AF_UNIX) {
		o(" {family %d len=%u}", ss->ss_family, (unsigned)len);
		return;
	}
	o(" {AF_UNIX");
	if (len > off && sun->sun_path[0]) {
		o(" \"");
		o_path(strndup(sun->sun_path, len - off));
		o("\"");
	} else if (len > off) {
		o(" abstract");
	}
	o(" len=%u}", (unsigned)len);
}

/* socket [FAMILY] TYPE -> s */
static void c_socket(void)
{
	int fam = has(1) ? (int)I(0) : AF_UNIX;

	CALL(int, r, socket(fam, (int)I(has(1) ? 1 : 0), 0));
	o_fdret(r, e_r);
	set_fd(0, r);
}

static void c_bind(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	const struct sockaddr *sa = sun_arg(1, &sun, &len);

	RET(bind(FD(0), sa, len));
}

static void c_connect(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	const struct sockaddr *sa = sun_arg(1, &sun, &len);

	RET(connect(FD(0), sa, len));
}

static void c_listen(void)
{
	RET(listen(FD(0), has(1) ? (int)I(1) : 5));
}

/* accept s [buf=X] -> fd: the peer's address */
static void c_accept(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	CALL(int, r, accept(FD(0), B(&ss), &len));
	o_fdret(r, e_r);
	if (r >= 0 && !has_buf_ov)
		o_sun(&ss, len);
	set_fd(0, r);
}

static void c_getsockname(void)
{
	struct sockaddr_storage ss;
	socklen_t len = has(1) ? (socklen_t)I(1) : sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	CALL(int, r, getsockname(FD(0), B(&ss), &len));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_sun(&ss, len);
}

static void c_getpeername(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	CALL(int, r, getpeername(FD(0), B(&ss), &len));
	o_ret(r, e_r);
	if (r == 0 && !has_buf_ov)
		o_sun(&ss, len);
}

/* sendto s "DATA" PATH|NULL */
static void c_sendto(void)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	const struct sockaddr *sa = NULL;

	if (!isnull(2))
		sa = sun_arg(2, &sun, &len);
	RET(sendto(FD(0), arg(1)->s, a[1].len, 0, sa, len));
}

/* sendmsg s "DATA" PATH */
static void c_sendmsg(void)
{
	struct sockaddr_un sun;
	struct iovec iov = { arg(1)->s, a[1].len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	m.msg_name = (void *)sun_arg(2, &sun, &m.msg_namelen);
	RET(sendmsg(FD(0), &m, 0));
}

/* recvfrom s N: the data and the sender's address */
static void c_recvfrom(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	size_t n = (size_t)I(1);
	char *buf = malloc(n + 1);

	CALL(ssize_t, r, recvfrom(FD(0), buf, n, MSG_DONTWAIT, B(&ss), &len));
	o_ret(r, e_r);
	if (r >= 0) {
		o(" "), o_bytes(buf, r);
		if (!has_buf_ov)
			o_sun(&ss, len);
	}
}

/* recvmsg s N: the same through recvmsg */
static void c_recvmsg(void)
{
	struct sockaddr_storage ss;
	size_t n = (size_t)I(1);
	char *buf = malloc(n + 1);
	struct iovec iov = { buf, n };
	struct msghdr m = { .msg_name = B(&ss), .msg_namelen = sizeof(ss),
			    .msg_iov = &iov, .msg_iovlen = 1 };

	CALL(ssize_t, r, recvmsg(FD(0), &m, MSG_DONTWAIT));
	o_ret(r, e_r);
	if (r >= 0) {
		o(" "), o_bytes(buf, r);
		if (!has_buf_ov)
			o_sun(&ss, m.msg_namelen);
	}
}

/* ---- current directory */

static void c_chdir(void)
{
	RET(chdir(P(0)));
}

static void c_fchdir(void)
{
	RET(fchdir(FD(0)));
}

static void c_getcwd(void)
{
	size_t n = (size_t)I(0);
	char *buf = calloc(1, n + 1);

	CALL(char *, s, getcwd(B(buf), n));
	if (s && has_buf_ov)
		o("ok");
	else if (s)
		o("ok \""), o_path(s), o("\"");
	else
		o("NULL"), o_err(e_s);
}

static void c_get_current_dir_name(void)
{
	CALL(char *, s, get_current_dir_name());
	if (s)
		o("ok \""), o_path(s), o("\"");
	else
		o("NULL"), o_err(e_s);
}

static void c_realpath(void)
{
	char buf[PATH_MAX];

	CALL(char *, s, realpath(P(0), B(buf)));
	if (s && has_buf_ov && buf_ov)
		o("ok");
	else if (s)
		o("ok \""), o_path(s), o("\"");
	else
		o("NULL"), o_err(e_s);
}

static void c_canonicalize_file_name(void)
{
	CALL(char *, s, canonicalize_file_name(P(0)));
	if (s)
		o("ok \""), o_path(s), o("\"");
	else
		o("NULL"), o_err(e_s);
}

/* ---- mmap: faults are caught and printed */

static sigjmp_buf fault_jmp, step_jmp;
static volatile sig_atomic_t fault_armed, step_armed;

/* A fault in memread/memwrite, or else in a step: printed. */
static void on_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jmp, sig);
	if (step_armed) {
		step_armed = 0;
		siglongjmp(step_jmp, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void c_mmap(void)
{
	size_t len = (size_t)I(1);

	CALL(void *, p, mmap(NULL, len, (int)I(2), (int)I(3), FD(0),
			     (off_t)I(4)));
	if (p == MAP_FAILED) {
		o("MAP_FAILED"), o_err(e_p);
		set_failed(0);
		return;
	}
	o("map");
	if (nres) {
		struct var *v = var_set(res[0], V_MAP);

		v->map = p;
		v->maplen = len;
	}
}

static void c_memread(void)
{
	struct var *v = V(0, V_MAP);
	size_t off = (size_t)I(1), n = (size_t)I(2);
	char *buf = malloc(n + 1);
	int sig;

	if (off + n > v->maplen)
		badcase("memread past the mapping");
	fault_armed = 1;
	sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		fault_armed = 0;
		o("%s", sigabbrev_np(sig));
		return;
	}
	memcpy(buf, (char *)v->map + off, n);
	fault_armed = 0;
	o("ok ");
	o_bytes(buf, n);
}

static void c_memwrite(void)
{
	struct var *v = V(0, V_MAP);
	size_t off = (size_t)I(1);
	int sig;

	if (off + arg(2)->len > v->maplen)
		badcase("memwrite past the mapping");
	fault_armed = 1;
	sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		fault_armed = 0;
		o("%s", sigabbrev_np(sig));
		return;
	}
	memcpy((char *)v->map + off, a[2].s, a[2].len);
	fault_armed = 0;
	o("ok");
}

static void c_msync(void)
{
	struct var *v = V(0, V_MAP);

	RET(msync(v->map, v->maplen, (int)I(1)));
}

static void c_munmap(void)
{
	struct var *v = V(0, V_MAP);

	RET(munmap(v->map, v->maplen));
	v->kind = V_NONE;
}

/* ---- ioctl and readiness */

static void o_bits(unsigned int v, const struct sym *names, size_t n)
{
	const char *sep = "";
	size_t i;

	if (!v) {
		o("0");
		return;
	}
	for (i = 0; i < n; i++) {
		if (v & names[i].val) {
			o("%s%s", sep, names[i].name);
			sep = "|";
			v &= ~names[i].val;
		}
	}
	if (v)
		o("%s%#x", sep, v);
}

static void o_revents(unsigned int v)
{
	static const struct sym names[] = {
		{ "POLLIN", POLLIN }, { "POLLPRI", POLLPRI },
		{ "POLLOUT", POLLOUT }, { "POLLRDNORM", POLLRDNORM },
		{ "POLLRDBAND", POLLRDBAND }, { "POLLWRNORM", POLLWRNORM },
		{ "POLLWRBAND", POLLWRBAND }, { "POLLERR", POLLERR },
		{ "POLLHUP", POLLHUP }, { "POLLNVAL", POLLNVAL },
	};

	o_bits(v, names, sizeof(names) / sizeof(names[0]));
}

/*
 * ioctl FD CMD [ARG]: CMD by name, with what it moves: nothing, an int
 * in (ARG), an int or a 64-bit value out (printed), an fd (FICLONE: ARG),
 * or a structure (struct termios, struct fsxattr: its xflags printed;
 * struct fiemap of the whole file).
 */
static void c_ioctl(void)
{
	static const struct {
		const char *name;
		unsigned long cmd;
		char kind;	/* - none, i int in, o int out, q int64 out,
				 * b int in and out, d fd, t termios,
				 * x fsxattr out, X fsxattr in, f fiemap */
	} cmds[] = {
		{ "TCGETS", TCGETS, 't' }, { "FIONREAD", FIONREAD, 'o' },
		{ "FIOQSIZE", FIOQSIZE, 'q' }, { "FIGETBSZ", FIGETBSZ, 'o' },
		{ "FIBMAP", FIBMAP, 'b' }, { "FIONBIO", FIONBIO, 'i' },
		{ "FIOASYNC", FIOASYNC, 'i' }, { "FIOCLEX", FIOCLEX, '-' },
		{ "FIONCLEX", FIONCLEX, '-' },
		{ "FS_IOC_GETFLAGS", FS_IOC_GETFLAGS, 'o' },
		{ "FS_IOC_SETFLAGS", FS_IOC_SETFLAGS, 'i' },
		{ "FS_IOC_FSGETXATTR", FS_IOC_FSGETXATTR, 'x' },
		{ "FS_IOC_FSSETXATTR", FS_IOC_FSSETXATTR, 'X' },
		{ "FS_IOC_GETVERSION", FS_IOC_GETVERSION, 'o' },
		{ "FS_IOC_FIEMAP", FS_IOC_FIEMAP, 'f' },
		{ "FICLONE", FICLONE, 'd' },
		/* the daemon's own: none of the suite's daemons has them */
		{ "IOR", _IOR('E', 0, uint64_t), 'q' },
		{ "IOW", _IOW('E', 1, int), 'i' },
		{ "IO", _IO('E', 2), '-' },
	};
	union {
		int i;
		int64_t q;
		char t[64];	/* the kernel's struct termios */
		struct fsxattr x;
		struct {
			struct fiemap m;
			struct fiemap_extent e[4];
		} f;
	} u;
	size_t k;

	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, arg(1)->s))
			break;
	if (k == sizeof(cmds) / sizeof(cmds[0]))
		badcase("unknown ioctl %s", a[1].s);
	memset(&u, 0, sizeof(u));
	u.i = has(2) && cmds[k].kind != 'd' ? (int)I(2) : 0;
	if (cmds[k].kind == 'f') {
		u.f.m.fm_length = ~0ull;
		u.f.m.fm_extent_count = 4;
	}
	if (cmds[k].kind == '-') {
		RET(ioctl(FD(0), cmds[k].cmd));
		return;
	}
	if (cmds[k].kind == 'd') {
		RET(ioctl(FD(0), cmds[k].cmd, FD(2)));
		return;
	}
	CALL(int, r, ioctl(FD(0), cmds[k].cmd, &u));
	o_ret(r, e_r);
	if (r < 0)
		return;
	switch (cmds[k].kind) {
	case 'o':
	case 'b':
		o(" %d", u.i);
		break;
	case 'q':
		o(" %lld", (long long)u.q);
		break;
	case 'x':
		o(" xflags=%#x", u.x.fsx_xflags);
		break;
	}
}

static void c_isatty(void)
{
	CALL(int, r, isatty(FD(0)));
	o("%d", r);
	if (!r)
		o_err(e_r);
}

/* poll FD EVENTS TIMEOUT_MS: the count and the revents. */
static void c_poll(void)
{
	struct pollfd pfd = { .fd = FD(0), .events = (short)I(1) };

	CALL(int, r, poll(&pfd, 1, (int)I(2)));
	o_ret(r, e_r);
	if (r >= 0)
		o(" "), o_revents(pfd.revents);
}

/* select FD TIMEOUT_MS: the count and which of the read, write and
 * exception sets hold FD. */
static void c_select(void)
{
	int fd = FD(0);
	long ms = (long)I(1);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	fd_set r, w, x;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	FD_SET(fd, &r);
	FD_SET(fd, &w);
	FD_SET(fd, &x);
	CALL(int, n, select(fd + 1, &r, &w, &x, &tv));
	o_ret(n, e_n);
	if (n >= 0)
		o(" %s%s%s", FD_ISSET(fd, &r) ? "r" : "-",
		  FD_ISSET(fd, &w) ? "w" : "-", FD_ISSET(fd, &x) ? "x" : "-");
}

/* epoll FD EVENTS: epoll_ctl(EPOLL_CTL_ADD), then epoll_wait without
 * waiting: the count and the events. */
static void c_epoll(void)
{
	struct epoll_event ev = { .events = (uint32_t)I(1) };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		badcase("epoll_create1: %s", strerror(errno));
	CALL(int, r, epoll_ctl(ep, EPOLL_CTL_ADD, FD(0), &ev));
	if (r < 0) {
		o("ctl "), o_ret(r, e_r);
		close(ep);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	CALL(int, n, epoll_wait(ep, &ev, 1, 0));
	o_ret(n, e_n);
	if (n > 0)
		o(" "), o_revents(ev.events);
	close(ep);
}

/* ---- helpers made of several calls (set-up and checks) */

/* mkfile PATH "DATA": open(O_CREAT|O_WRONLY|O_TRUNC, 0644), write, close. */
static void c_mkfile(void)
{
	int fd = open(P(0), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ssize_t w = 0;

	if (fd < 0) {
		o("-1"), o_err(errno);
		return;
	}
	if (has(1) && a[1].len)
		w = write(fd, a[1].s, a[1].len);
	if (w < 0 || (size_t)w != (has(1) ? a[1].len : 0)) {
		o("-1 write"), o_err(errno);
		close(fd);
		return;
	}
	RET(close(fd));
}

/* cat PATH: the whole content. */
static void c_cat(void)
{
	int fd = open(P(0), O_RDONLY);
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		o("-1"), o_err(errno);
		return;
	}
	do {
		buf = realloc(buf, n + 65536);
		r = read(fd, buf + n, 65536);
		if (r > 0)
			n += r;
	} while (r > 0);
	if (r < 0)
		o("-1 read"), o_err(errno);
	else
		o("%zu ", n), o_bytes(buf, n);
	close(fd);
}

/* ls PATH: sorted names with types, by opendir/readdir. */
static void c_ls(void)
{
	DIR *d = opendir(P(0));
	struct var tmp;

	if (!d) {
		o("NULL"), o_err(errno);
		return;
	}
	tmp = (struct var){ .kind = V_DIR, .dir = d };
	vars[nvars] = tmp;
	snprintf(vars[nvars].name, sizeof(vars[nvars].name), "%s", " ls");
	na = 1;
	a[0].s = " ls";
	nvars++;
	c_readdirall();
	nvars--;
	closedir(d);
}

/* ---- the second process ------------------------------------------------ */

static void run_step(char *line);

static void child_loop(int cmd, int resfd)
{
	FILE *in = fdopen(cmd, "r");
	char *line = NULL;
	size_t cap = 0;

	outfd = resfd;
	in_child = true;
	while (getline(&line, &cap, in) > 0) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "exit"))
			_exit(0);
		run_step(line);
	}
	_exit(0);
}

static void c_fork(void)
{
	int cp[2], rp[2];
	pid_t p;

	if (c_cmd >= 0)
		badcase("a child is running already");
	if (pipe2(cp, O_CLOEXEC) || pipe2(rp, O_CLOEXEC))
		badcase("pipe: %s", strerror(errno));
	p = fork();
	if (p < 0) {
		o("-1"), o_err(errno);
		return;
	}
	if (p == 0) {
		close(cp[1]);
		close(rp[0]);
		child_pid = 0;
		child_loop(cp[0], rp[1]);
	}
	close(cp[0]);
	close(rp[1]);
	c_cmd = cp[1];
	c_res = rp[0];
	child_pid = p;
	o("child");
}

/* One line from the child within @ms: 1, 0 when none came, -1 gone. */
static int child_line(int ms, char *buf, size_t size)
{
	struct timespec now, end;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L)
		end.tv_sec++, end.tv_nsec -= 1000000000L;
	for (;;) {
		struct pollfd pf = { .fd = c_res, .events = POLLIN };
		long left;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000 +
		       (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (left < 0)
			left = 0;
		r = poll(&pf, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? -1 : 0;
		r = read(c_res, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 1;
		}
		if (n < size - 2)
			n++;
	}
}

static void child_send(const char *text)
{
	if (c_cmd < 0)
		badcase("no child (fork first)");
	writeall(c_cmd, text, strlen(text));
	writeall(c_cmd, "\n", 1);
}

static void o_child(int ms)
{
	char buf[OUTMAX];
	int r = child_line(ms, buf, sizeof(buf));

	if (r > 0)
		o("%s", buf);
	else if (r == 0)
		o("pending");
	else
		o("child gone");
}

static void c_cpending(void)
{
	char buf[OUTMAX];
	int r = child_line((int)I(0), buf, sizeof(buf));

	if (r > 0)
		o("done: %s", buf);
	else if (r == 0)
		o("pending");
	else
		o("child gone");
}

static void c_cresult(void)
{
	o_child(3000);
}

static void c_cexit(void)
{
	int st, i;

	if (c_cmd < 0)
		badcase("no child");
	child_send("exit");
	for (i = 0; i < 500; i++) {
		pid_t p = waitpid(child_pid, &st, WNOHANG);

		if (p == child_pid) {
			o("exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 +
			  WTERMSIG(st));
			close(c_cmd);
			close(c_res);
			c_cmd = c_res = -1;
			return;
		}
		poll(NULL, 0, 10);	/* wait for the exit, 5 s at most */
	}
	kill(child_pid, SIGKILL);
	o("killed");
}

/* ---- the table ------------------------------------------------------------ */

struct call {
	const char *name;
	void (*fn)(void);
};

#define C(x) { #x, c_##x }
static const struct call calls[] = {
	C(open), C(open64), C(openat), C(creat), C(close), C(read), C(pread),
	C(write), C(pwrite), C(readv), C(writev), C(preadv), C(pwritev),
	C(preadv2), C(pwritev2), C(lseek), C(fsync), C(fdatasync),
	C(syncfs), C(ftruncate), C(truncate), C(fallocate),
	C(posix_fallocate), C(copy_file_range), C(sendfile), C(splice),
	C(pipe), C(dup), C(dup2), C(dup3), C(fcntl), C(close_range),
	C(flock), C(lockf), C(isopen), C(stat), C(lstat), C(stat64),
	C(fstat), C(fstatat), C(statx), C(access), C(faccessat),
	C(euidaccess), C(eaccess), C(chmod), C(fchmod), C(fchmodat),
	C(lchmod), C(chown), C(lchown), C(fchown), C(fchownat), C(utime),
	C(utimes), C(lutimes), C(futimes), C(utimensat), C(futimens),
	C(link), C(linkat), C(symlink), C(symlinkat), C(readlink),
	C(readlinkat), C(mknod), C(mknodat), C(mkfifo), C(mkfifoat),
	C(umask), C(mkdir), C(mkdirat), C(rmdir), C(unlink), C(unlinkat), C(remove),
	C(rename), C(renameat), C(renameat2),
	C(getxattr), C(lgetxattr), C(fgetxattr), C(setxattr), C(lsetxattr),
	C(fsetxattr), C(listxattr), C(llistxattr), C(flistxattr),
	C(removexattr), C(lremovexattr), C(fremovexattr),
	C(statfs), C(fstatfs), C(statvfs), C(fstatvfs),
	C(fopen), C(fopen64), C(freopen), C(fdopen), C(fgets), C(fread),
	C(fputs), C(fwrite), C(fseek), C(ftell), C(rewind), C(fflush),
	C(fclose), C(fileno),
	C(opendir), C(fdopendir), C(readdir), C(readdir64), C(readdir_r),
	C(readdirall), C(rewinddir), C(telldir), C(seekdir), C(dirfd),
	C(closedir), C(getdents64), C(scandir), C(scandirat), C(nftw),
	C(ftw), C(fts), C(glob), C(mkstemp), C(mkdtemp), C(execve),
	C(posix_spawn), C(socket), C(bind), C(connect), C(listen), C(accept),
	C(getsockname), C(getpeername), C(sendto), C(sendmsg), C(recvfrom),
	C(recvmsg),
	C(chdir), C(fchdir), C(getcwd), C(get_current_dir_name),
	C(realpath), C(canonicalize_file_name),
	C(mmap), C(memread), C(memwrite), C(msync), C(munmap),
	C(ioctl), C(isatty), C(poll), C(select), C(epoll),
	C(mkfile), C(cat), C(ls),
	C(fork), C(cpending), C(cresult), C(cexit),
};
#undef C

/* Run @fn; a step on a failed stream or mapping is skipped, one that
 * faults prints the signal. */
static void call(void (*fn)(void))
{
	int sig;

	if (sigsetjmp(skip_jmp, 1)) {
		o("skipped");
		return;
	}
	sig = sigsetjmp(step_jmp, 1);
	if (sig) {
		o("%s", sigabbrev_np(sig));
		return;
	}
	step_armed = 1;
	fn();
	step_armed = 0;
}

static void run_step(char *line)
{
	char *text = strdup(line), *p = line, *w;
	size_t i;

	ol = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!strncmp(p, "c ", 2) || !strncmp(p, "c& ", 3)) {
		bool async = p[1] == '&';

		child_send(p + (async ? 3 : 2));
		if (async)
			o("sent");
		else
			o_child(10000);
		goto out;
	}
	w = p + strcspn(p, " \t");
	if (*w)
		*w++ = 0;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(calls[i].name, p))
			break;
	if (i == sizeof(calls) / sizeof(calls[0]))
		badcase("unknown call %s", p);
	tokenize(w);
	call(calls[i].fn);
out:
	{
		char *l;

		if (asprintf(&l, "%s%s%.*s\n", in_child ? "" : text,
			     in_child ? "" : " = ", (int)ol, ob) < 0)
			abort();
		writeall(outfd, l, strlen(l));
		free(l);
	}
	free(text);
}

/* ---- cases --------------------------------------------------------------- */

struct kase {
	char *name;
	char **steps;
	int nsteps;
};

static void run_case(const struct kase *k)
{
	int i;

	casename = k->name;
	umask(022);
	case_pid = getpid();
	snprintf(casedir, sizeof(casedir), "%s/%s", mnt, k->name);
	snprintf(outdir, sizeof(outdir), "%s/%s", outside, k->name);
	if (in_mount)
		snprintf(casedir, sizeof(casedir), "%s", mnt);
	else if (mkdir(casedir, 0755) < 0) {
		dprintf(outfd, "SETUP mkdir $CASE: %s\n",
			strerrorname_np(errno));
		_exit(3);
	}
	if (mkdir(outdir, 0755) < 0) {
		dprintf(outfd, "SETUP mkdir $OUT: %s\n",
			strerrorname_np(errno));
		_exit(3);
	}
	for (i = 0; i < k->nsteps; i++)
		run_step(k->steps[i]);
	if (c_cmd >= 0) {
		ol = 0;
		c_cexit();
		dprintf(outfd, "(child left running) = %.*s\n", (int)ol, ob);
	}
	_exit(0);
}

/* Run @k in a process of its own, in a process group of its own. */
static int spawn_case(const struct kase *k)
{
	struct timespec dl = { .tv_sec = CASE_SECS };
	sigset_t set;
	siginfo_t si;
	int st = 0, rc = 0;
	pid_t p;

	struct timespec ts, te;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	dprintf(1, "=== case %s\n", k->name);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p = fork();
	if (p < 0) {
		perror("fork");
		return 2;
	}
	if (p == 0) {
		setpgid(0, 0);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		run_case(k);
	}
	setpgid(p, p);
	for (;;) {
		pid_t w = waitpid(p, &st, WNOHANG);

		if (w == p)
			break;
		if (sigtimedwait(&set, &si, &dl) < 0 && errno == EAGAIN) {
			dprintf(1, "TIMEOUT after %d s\n", CASE_SECS);
			kill(-p, SIGKILL);
			waitpid(p, &st, 0);
			rc = 2;
			break;
		}
	}
	kill(-p, SIGKILL);	/* a forked child left behind */
	if (WIFSIGNALED(st) && !rc) {
		dprintf(1, "KILLED by %s\n", sigabbrev_np(WTERMSIG(st)));
	}
	clock_gettime(CLOCK_MONOTONIC, &te);
	fprintf(stderr, "sysstep: %s: %ld ms\n", k->name,
		(te.tv_sec - ts.tv_sec) * 1000 +
		(te.tv_nsec - ts.tv_nsec) / 1000000);
	dprintf(1, "=== end %s %s%d\n", k->name,
		WIFSIGNALED(st) ? "signal " : "",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
		rc = 2;
	return rc;
}

static int load(const char *file, struct kase **ks, int *nk)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	int ln = 0;

	if (!f) {
		fprintf(stderr, "sysstep: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *p = line;
		size_t n;

		ln++;
		line[strcspn(line, "\n")] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			p[--n] = 0;
		if (!*p || *p == '#')
			continue;
		if (!strncmp(p, "case ", 5)) {
			*ks = realloc(*ks, (*nk + 1) * sizeof(**ks));
			(*ks)[*nk] = (struct kase){ .name = strdup(p + 5) };
			(*nk)++;
			continue;
		}
		if (!*nk) {
			fprintf(stderr, "sysstep: %s:%d: step before a case\n",
				file, ln);
			return -1;
		}
		struct kase *k = &(*ks)[*nk - 1];

		k->steps = realloc(k->steps, (k->nsteps + 1) * sizeof(char *));
		k->steps[k->nsteps++] = strdup(p);
	}
	free(line);
	fclose(f);
	return 0;
}

static void free_cases(struct kase *ks, int nk)
{
	int i, j;

	for (i = 0; i < nk; i++) {
		for (j = 0; j < ks[i].nsteps; j++)
			free(ks[i].steps[j]);
		free(ks[i].steps);
		free((char *)ks[i].name);
	}
	free(ks);
}

int main(int argc, char **argv)
{
	struct kase *ks = NULL;
	const char *only = NULL;
	struct sigaction sa = { .sa_handler = on_fault };
	int nk = 0, i, rc = 0, opt;

	while ((opt = getopt(argc, argv, "c:n")) != -1) {
		if (opt == 'n')
			in_mount = true;
		else if (opt == 'c')
			only = optarg;
		else
			goto usage;
	}
	if (argc - optind < 3)
		goto usage;
	if (!realpath(argv[optind], mnt) || !realpath(argv[optind + 1], outside)) {
		perror("sysstep: realpath");
		return 2;
	}
	for (i = optind + 2; i < argc; i++)
		if (load(argv[i], &ks, &nk) < 0)
			return 2;
	for (i = 0; i < nk; i++) {
		int j;

		for (j = 0; j < i; j++)
			if (!strcmp(ks[i].name, ks[j].name)) {
				fprintf(stderr, "sysstep: case %s twice\n",
					ks[i].name);
				return 2;
			}
	}
	snprintf(top, sizeof(top), "%s", mnt);
	*strrchr(top, '/') = 0;
	t0 = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (i = 0; i < nk; i++) {
		if (only && strcmp(only, ks[i].name))
			continue;
		if (spawn_case(&ks[i]))
			rc = 2;
	}
	(void)bad;
	free_cases(ks, nk);
	return rc;
usage:
	fprintf(stderr,
		"usage: sysstep [-c CASE] [-n] MOUNT OUTSIDE CASEFILE...\n");
	return 2;
}
