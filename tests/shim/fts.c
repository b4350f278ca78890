/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-fts DIR...: build a small tree under each DIR (DIR/t: directories,
 * files, a symlink to a directory, one to a file, a dangling one, a
 * self-loop, one back to an ancestor, an empty directory, a fifo) and
 * print an fts(3) transcript of it for many option sets, fts_set
 * instructions and fts_children calls.  Paths are printed with DIR
 * replaced by "<D>", so transcripts of different directories compare.
 *
 * The transcript is the test: fts.sh runs it on a kernel FUSE mount (glibc's
 * fts) and on an emulated mount (the shim's fts) and diffs the two, and
 * does the same on a local directory with and without emulated mounts.
 * Not printed: fts_accpath unless the walk is FTS_NOCHDIR (the shim never
 * changes directory), st_dev/st_ino and times.  Exit 0, or 1 when the tree
 * cannot be built.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *base;		/* the DIR being walked */
static size_t baselen;
static char T[PATH_MAX - 16];		/* DIR/t */

/* @s with the DIR prefix replaced by "<D>" (one of four static buffers). */
static const char *norm(const char *s)
{
	static char buf[4][PATH_MAX + 8];
	static int i;

	if (!s)
		return "(null)";
	i = (i + 1) % 4;
	if (!strncmp(s, base, baselen))
		snprintf(buf[i], sizeof(buf[i]), "<D>%s", s + baselen);
	else
		snprintf(buf[i], sizeof(buf[i]), "%s", s);
	return buf[i];
}

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "?";
}

static const char *info_name(int info)
{
	static const char *const names[] = {
		"?", "D", "DC", "DEFAULT", "DNR", "DOT", "DP", "ERR", "F",
		"INIT", "NS", "NSOK", "SL", "SLNONE", "W",
	};

	return info >= 0 && info < 15 ? names[info] : "??";
}

static char type_char(mode_t m)
{
	if (S_ISDIR(m))
		return 'd';
	if (S_ISREG(m))
		return 'f';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISFIFO(m))
		return 'p';
	return '?';
}

static void print_ent(const char *tag, FTS *fts, const FTSENT *p)
{
	printf("%s %s lvl=%d path=%s plen=<D>+%d name=%s nlen=%u err=%s",
	       tag, info_name(p->fts_info), p->fts_level, norm(p->fts_path),
	       (int)p->fts_pathlen - (int)baselen, p->fts_name,
	       p->fts_namelen,
	       ename(p->fts_errno));
	if (fts->fts_options & FTS_NOCHDIR)
		printf(" acc=%s", norm(p->fts_accpath));
	if (p->fts_parent)
		printf(" par=%s/%d", p->fts_parent->fts_name,
		       p->fts_parent->fts_level);
	if (p->fts_number || p->fts_pointer)
		printf(" num=%ld ptr=%s", p->fts_number,
		       p->fts_pointer ? (const char *)p->fts_pointer : "-");
	if (!(fts->fts_options & FTS_NOSTAT) && p->fts_info != FTS_NS &&
	    p->fts_info != FTS_NSOK && p->fts_statp) {
		const struct stat *st = p->fts_statp;

		printf(" st=%c", type_char(st->st_mode));
		if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
			printf(",%lld,%lu", (long long)st->st_size,
			       (unsigned long)st->st_nlink);
	}
	if (p->fts_info == FTS_DC && p->fts_cycle)
		printf(" cycle=%s/%d", p->fts_cycle->fts_name,
		       p->fts_cycle->fts_level);
	printf("\n");
}

static void print_list(const char *what, FTS *fts, const FTSENT *list)
{
	int e = errno;

	printf("  %s: %s errno=%s\n", what, list ? "list" : "NULL",
	       list ? "-" : ename(e));
	for (; list; list = list->fts_link)
		print_ent("   .", fts, list);
}

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static int by_name_rev(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*b)->fts_name, (*a)->fts_name);
}

/* Called on each entry fts_read returns; may steer the walk. */
typedef void hook_fn(FTS *fts, FTSENT *p, int step);

#define MAX_STEPS 400

static int stop_now;			/* a hook ends the walk here */

static void walk(const char *title, const char *const *rel, int options,
		 int (*compar)(const FTSENT **, const FTSENT **),
		 hook_fn *hook)
{
	char *roots[16], paths[16][PATH_MAX];
	FTSENT *p;
	FTS *fts;
	int i, n;

	for (n = 0; rel[n]; n++) {
		snprintf(paths[n], sizeof(paths[n]), "%s%s", T, rel[n]);
		roots[n] = paths[n];
	}
	roots[n] = NULL;
	printf("== %s opts=%#x\n", title, options);
	errno = 0;
	fts = fts_open(roots, options, compar);
	if (!fts) {
		printf("  open: NULL errno=%s\n", ename(errno));
		return;
	}
	for (i = 0; i < MAX_STEPS; i++) {
		errno = 0;
		p = fts_read(fts);
		if (!p) {
			printf("  end errno=%s\n", ename(errno));
			break;
		}
		print_ent(" ", fts, p);
		if (hook)
			hook(fts, p, i);
		if (stop_now) {
			stop_now = 0;
			printf("  (closing early)\n");
			break;
		}
	}
	if (i == MAX_STEPS)
		printf("  (stopped after %d steps)\n", MAX_STEPS);
	else {
		errno = 0;
		p = fts_read(fts);
		printf("  again: %s errno=%s\n", p ? "entry" : "NULL",
		       ename(errno));
	}
	printf("  close=%d\n", fts_close(fts));
}

/* ---- hooks ---------------------------------------------------------- */

static void hook_skip(FTS *fts, FTSENT *p, int step)
{
	if (p->fts_info == FTS_D && !strcmp(p->fts_name, "a"))
		printf("  set SKIP=%d\n", fts_set(fts, p, FTS_SKIP));
	/* ignored: skip of a non-directory, and of a post-order one */
	if (p->fts_info == FTS_F && !strcmp(p->fts_name, "h"))
		printf("  set SKIP=%d\n", fts_set(fts, p, FTS_SKIP));
	if (p->fts_info == FTS_DP && !strcmp(p->fts_name, "b"))
		printf("  set SKIP=%d\n", fts_set(fts, p, FTS_SKIP));
}

static int again_count;

static void hook_again(FTS *fts, FTSENT *p, int step)
{
	if (again_count < 3 && (!strcmp(p->fts_name, "f1") ||
				(p->fts_info == FTS_DP &&
				 !strcmp(p->fts_name, "sub")) ||
				(p->fts_info == FTS_D &&
				 !strcmp(p->fts_name, "empty")))) {
		again_count++;
		printf("  set AGAIN=%d\n", fts_set(fts, p, FTS_AGAIN));
	}
}

static void hook_follow(FTS *fts, FTSENT *p, int step)
{
	if ((p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE) &&
	    strcmp(p->fts_name, "up"))
		printf("  set FOLLOW=%d\n", fts_set(fts, p, FTS_FOLLOW));
	/* ignored on anything but a symlink */
	if (p->fts_info == FTS_F && !strcmp(p->fts_name, "h"))
		printf("  set FOLLOW=%d\n", fts_set(fts, p, FTS_FOLLOW));
}

static void hook_number(FTS *fts, FTSENT *p, int step)
{
	if (p->fts_info == FTS_D) {
		p->fts_number = 100 + step;
		p->fts_pointer = p->fts_name;	/* lives as long as p */
	}
}

static void hook_children(FTS *fts, FTSENT *p, int step)
{
	FTSENT *c;

	if (p->fts_info == FTS_D && !strcmp(p->fts_name, "a")) {
		errno = 0;
		c = fts_children(fts, 0);
		print_list("children(a)", fts, c);
		printf("  cur path=%s\n", norm(p->fts_path));
		/* instructions on listed children are honoured by fts_read */
		for (; c; c = c->fts_link) {
			if (!strcmp(c->fts_name, "sub") ||
			    !strcmp(c->fts_name, "f2"))
				printf("  set %s SKIP=%d\n", c->fts_name,
				       fts_set(fts, c, FTS_SKIP));
			if (!strcmp(c->fts_name, "up"))
				printf("  set %s FOLLOW=%d\n", c->fts_name,
				       fts_set(fts, c, FTS_FOLLOW));
			c->fts_number = 7;
		}
		errno = 0;
		c = fts_children(fts, 0);	/* a second call: a new list */
		print_list("children(a) again", fts, c);
	}
	if (p->fts_info == FTS_D && !strcmp(p->fts_name, "b")) {
		errno = 0;
		c = fts_children(fts, FTS_NAMEONLY);
		print_list("nameonly(b)", fts, c);
		printf("  cur path=%s\n", norm(p->fts_path));
	}
	if (p->fts_info == FTS_D && !strcmp(p->fts_name, "empty")) {
		errno = 0;
		c = fts_children(fts, 0);
		print_list("children(empty)", fts, c);
		printf("  cur path=%s\n", norm(p->fts_path));
	}
	if (p->fts_info == FTS_F && !strcmp(p->fts_name, "g")) {
		errno = 0;
		print_list("children(g)", fts, fts_children(fts, 0));
	}
	if (p->fts_info == FTS_DP && !strcmp(p->fts_name, "sub")) {
		errno = 0;
		print_list("children(sub DP)", fts, fts_children(fts, 0));
	}
}

static void hook_close_early(FTS *fts, FTSENT *p, int step)
{
	FTSENT *c;

	if (p->fts_info == FTS_D && !strcmp(p->fts_name, "sub")) {
		c = fts_children(fts, 0);
		print_list("children(sub)", fts, c);
		stop_now = 1;
	}
}

/* ---- scenarios ------------------------------------------------------ */

static void walk_children_first(const char *const *rel, int options)
{
	char *roots[16], paths[16][PATH_MAX];
	FTSENT *p;
	FTS *fts;
	int n, i;

	for (n = 0; rel[n]; n++) {
		snprintf(paths[n], sizeof(paths[n]), "%s%s", T, rel[n]);
		roots[n] = paths[n];
	}
	roots[n] = NULL;
	printf("== children before read opts=%#x\n", options);
	fts = fts_open(roots, options, NULL);
	if (!fts) {
		printf("  open: NULL errno=%s\n", ename(errno));
		return;
	}
	errno = 0;
	p = fts_children(fts, 0);
	printf("  roots: %s errno=%s\n", p ? "list" : "NULL", ename(errno));
	for (; p; p = p->fts_link)
		printf("   . %s lvl=%d name=%s nlen=<D>+%d err=%s\n",
		       info_name(p->fts_info), p->fts_level, norm(p->fts_name),
		       (int)p->fts_namelen - (int)baselen,
		       ename(p->fts_errno));
	for (i = 0; i < 6 && (p = fts_read(fts)); i++) {
		print_ent(" ", fts, p);
		if (i == 0) {
			errno = 0;
			print_list("children(root)", fts,
				   fts_children(fts, FTS_NAMEONLY));
		}
	}
	printf("  close=%d\n", fts_close(fts));
}

static void errors(void)
{
	char *roots[] = { T, NULL }, *empty[] = { T, "", NULL };
	FTSENT *p;
	FTS *fts;
	int r;

	printf("== errors\n");
	errno = 0;
	fts = fts_open(roots, 0x100, NULL);
	printf("  open(0x100): %s errno=%s\n", fts ? "ok" : "NULL",
	       ename(errno));
	if (fts)
		fts_close(fts);
	errno = 0;
	fts = fts_open(empty, FTS_PHYSICAL, NULL);
	printf("  open(\"\"): %s errno=%s\n", fts ? "ok" : "NULL",
	       ename(errno));
	if (fts)
		fts_close(fts);
	fts = fts_open(roots, FTS_PHYSICAL, NULL);
	if (!fts)
		return;
	p = fts_read(fts);
	errno = 0;
	r = fts_set(fts, p, 99);
	printf("  set(99)=%d errno=%s\n", r, ename(errno));
	errno = 0;
	r = fts_set(fts, p, 0);
	printf("  set(0)=%d errno=%s\n", r, ename(errno));
	errno = 0;
	p = fts_children(fts, 5);
	printf("  children(5): %s errno=%s\n", p ? "list" : "NULL",
	       ename(errno));
	printf("  close=%d\n", fts_close(fts));
}

/* The same walk through the fts64 names. */
static void walk64(void)
{
	char *roots[] = { T, NULL };
	FTSENT64 *p, *c;
	FTS64 *fts;

	printf("== fts64\n");
	fts = fts64_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts) {
		printf("  open: NULL errno=%s\n", ename(errno));
		return;
	}
	while ((p = fts64_read(fts))) {
		printf("  %s path=%s lvl=%d", info_name(p->fts_info),
		       norm(p->fts_path), p->fts_level);
		if (p->fts_info == FTS_F)
			printf(" size=%lld",
			       (long long)p->fts_statp->st_size);
		printf("\n");
		if (p->fts_info == FTS_D && !strcmp(p->fts_name, "b")) {
			for (c = fts64_children(fts, 0); c; c = c->fts_link)
				printf("   . %s\n", c->fts_name);
			fts64_set(fts, p, FTS_SKIP);
		}
	}
	printf("  close=%d\n", fts64_close(fts));
}

/* ---- the tree ------------------------------------------------------- */

static int put(const char *rel, const char *data)
{
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", T, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || (*data && write(fd, data, strlen(data)) !=
			       (ssize_t)strlen(data))) {
		fprintf(stderr, "shim-fts: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return close(fd);
}

static int mk(const char *rel, const char *target)
{
	char path[PATH_MAX + 8];
	int r;

	snprintf(path, sizeof(path), "%s/%s", T, rel);
	r = target ? symlink(target, path) : mkdir(path, 0755);
	if (r < 0)
		fprintf(stderr, "shim-fts: %s: %s\n", path, strerror(errno));
	return r;
}

static int build_tree(void)
{
	char path[PATH_MAX + 8];

	snprintf(T, sizeof(T), "%s/t", base);
	if (mkdir(T, 0755) < 0) {
		fprintf(stderr, "shim-fts: %s: %s\n", T, strerror(errno));
		return -1;
	}
	if (mk("a", NULL) || put("a/f1", "hello\n") || put("a/f2", "") ||
	    mk("a/sub", NULL) || put("a/sub/g", "x") ||
	    mk("a/empty", NULL) || mk("a/up", "..") || mk("b", NULL) ||
	    put("b/h", "bb") || mk("lnk", "a") || mk("c", "b/h") ||
	    mk("dangling", "nope") || mk("selfloop", "selfloop"))
		return -1;
	snprintf(path, sizeof(path), "%s/fifo", T);
	if (mkfifo(path, 0644) < 0)
		printf("(no fifo: %s)\n", ename(errno));
	return 0;
}

static void transcript(void)
{
	static const char *const tree[] = { "", NULL };
	static const char *const slash[] = { "/", NULL };
	static const char *const sub[] = { "/a/sub", NULL };
	static const char *const roots[] = {
		"/a/f1", "/lnk", "/dangling", "/missing", "/c", "/a/.",
		"/a/../b/", "/selfloop", "/fifo", NULL,
	};
	static const char *const rsort[] = { "/b", "/lnk", "/a", "/c", NULL };
	static const char *const dot[] = { "/a/sub/.", NULL };
	static const int sets[] = {
		FTS_PHYSICAL, FTS_PHYSICAL | FTS_NOCHDIR, FTS_LOGICAL,
		FTS_PHYSICAL | FTS_COMFOLLOW, FTS_PHYSICAL | FTS_NOSTAT,
		FTS_PHYSICAL | FTS_NOSTAT | FTS_NOCHDIR,
		FTS_LOGICAL | FTS_NOSTAT, FTS_PHYSICAL | FTS_SEEDOT,
		FTS_LOGICAL | FTS_SEEDOT,
		FTS_PHYSICAL | FTS_NOSTAT | FTS_SEEDOT,
		FTS_PHYSICAL | FTS_XDEV, FTS_LOGICAL | FTS_XDEV,
		FTS_NOCHDIR, 0,
	};
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		walk("tree", tree, sets[i], NULL, NULL);
	walk("tree/", slash, FTS_PHYSICAL, NULL, NULL);
	walk("tree/", slash, FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL);
	walk("sub", sub, FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL);
	walk("dot root", dot, FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL);
	walk("roots", roots, FTS_PHYSICAL, NULL, NULL);
	walk("roots", roots, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR,
	     NULL, NULL);
	walk("roots", roots, FTS_LOGICAL, NULL, NULL);
	walk("roots", roots, FTS_PHYSICAL | FTS_NOSTAT, NULL, NULL);
	walk("sorted", tree, FTS_PHYSICAL | FTS_NOCHDIR, by_name, NULL);
	walk("sorted", tree, FTS_LOGICAL, by_name_rev, NULL);
	walk("sorted", tree, FTS_PHYSICAL | FTS_NOSTAT, by_name, NULL);
	walk("sorted roots", rsort, FTS_PHYSICAL, by_name, NULL);
	walk("skip", tree, FTS_PHYSICAL, NULL, hook_skip);
	again_count = 0;
	walk("again", tree, FTS_PHYSICAL | FTS_NOCHDIR, NULL, hook_again);
	walk("follow", tree, FTS_PHYSICAL, NULL, hook_follow);
	walk("follow", tree, FTS_PHYSICAL | FTS_NOCHDIR, NULL, hook_follow);
	walk("follow", roots, FTS_PHYSICAL, NULL, hook_follow);
	walk("number", tree, FTS_PHYSICAL, NULL, hook_number);
	walk("children", tree, FTS_PHYSICAL, NULL, hook_children);
	walk("children", tree, FTS_PHYSICAL | FTS_NOCHDIR, NULL,
	     hook_children);
	walk("children", tree, FTS_LOGICAL, by_name, hook_children);
	walk("children", tree, FTS_PHYSICAL | FTS_NOSTAT, NULL,
	     hook_children);
	walk_children_first(roots, FTS_PHYSICAL);
	walk_children_first(tree, FTS_PHYSICAL | FTS_NOCHDIR);
	walk("close early", tree, FTS_PHYSICAL, NULL, hook_close_early);
	errors();
	walk64();
}

/*
 * As an unprivileged user (root forks and drops to nobody), a directory
 * that cannot be read (FTS_DNR) and one that can be read but not searched
 * (FTS_NS children; walked FTS_NOCHDIR, where glibc's chdir walk and the
 * shim's differ by design).  Local directories only: a kernel FUSE mount
 * without allow_other is closed to other users.
 */
static void unreadable_walks(void)
{
	static const char *const tree[] = { "", NULL };
	static const char *const locked[] = { "/locked", "/ok", NULL };

	printf("##### unreadable %s\n", norm(base));
	walk("unreadable", tree, FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL);
	walk("unreadable", tree, FTS_LOGICAL, NULL, NULL);
	walk("unreadable", tree, FTS_PHYSICAL | FTS_NOCHDIR | FTS_NOSTAT,
	     NULL, NULL);
	walk("unreadable", locked, FTS_PHYSICAL, NULL, NULL);
	walk("unreadable", locked, FTS_PHYSICAL, NULL, hook_children);
}

static int unreadable(void)
{
	char path[PATH_MAX + 8];
	pid_t pid;
	int status;

	snprintf(T, sizeof(T), "%s/u", base);
	if (chmod(base, 0755) < 0 || mkdir(T, 0755) < 0 ||
	    mk("locked", NULL) || put("locked/f", "x") ||
	    mk("ronly", NULL) || put("ronly/f", "y") || mk("ok", NULL) ||
	    put("ok/f", "z"))
		return -1;
	snprintf(path, sizeof(path), "%s/locked", T);
	if (chmod(path, 0) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ronly", T);
	if (chmod(path, 0444) < 0)
		return -1;
	if (geteuid() != 0) {
		unreadable_walks();
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		unreadable_walks();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unreadable") && i + 1 < argc) {
			base = argv[++i];
			baselen = strlen(base);
			if (unreadable() < 0) {
				fprintf(stderr, "shim-fts: %s: setup failed\n",
					base);
				return 1;
			}
			continue;
		}
		base = argv[i];
		baselen = strlen(base);
		if (build_tree() < 0)
			return 1;
		printf("##### %s\n", norm(base));
		transcript();
	}
	return 0;
}
