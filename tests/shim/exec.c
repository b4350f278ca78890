/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-exec --memfs MEMFS_LL | shim-exec MOUNTPOINT
 *
 * Exec of programs and "#!" scripts stored in a FUSE file system, with
 * the errnos of Linux.  With --memfs it mounts MEMFS_LL on a fresh
 * directory itself (and a second one with -o noexec): under `fusedev run`
 * that is an emulated mount and this program runs with the shim; run
 * plainly (/dev/fuse; fusermount3 when not root) it is a kernel FUSE
 * mount, which is how the expectations were checked against Linux.
 *
 *  - execve, execv, execl, execle, execvp/execlp/execvpe through PATH
 *    (EACCES remembered, ENOENT), fexecve, execveat (dirfd, AT_EMPTY_PATH,
 *    AT_SYMLINK_NOFOLLOW), vfork + execve of an ELF stored on the mount
 *    (a copy of this program, which prints its argv when run as
 *    "--child");
 *  - scripts: /bin/sh, an interpreter outside with an argument, one in
 *    the mount, nested, the kernel's depth limit, malformed lines;
 *    execvp's /bin/sh fallback for ENOEXEC; system() and popen();
 *    a script without "#!" run by sh -c and system() (dash opens it in
 *    a vfork child), opens in a vfork child;
 *  - /dev/fd/N, /proc/self/fd/N of an fd on the mount: a new open of the
 *    same file (a script exec'd through an fd, its interpreter opening
 *    /dev/fd/N), /dev/fd/N/NAME under a directory fd;
 *  - posix_spawn/posix_spawnp: success, the error returned and no child
 *    left, a file action opening a file on the mount, POSIX_SPAWN_SETPGROUP;
 *  - errors: ENOENT, EACCES (mode, directory, fifo, noexec mount),
 *    ENOTDIR, ELOOP, ENAMETOOLONG, ENOEXEC, EINVAL.
 *
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

static const char *mnt;
static char self[PATH_MAX];

/* ---- helper mode ---------------------------------------------------------*/

static int child_main(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	if (!strcmp(argv[1], "--child-pg"))
		printf("own-pgrp=%d\n", getpgrp() == getpid());
	if (!strcmp(argv[1], "--child-comm")) {
		char comm[32] = "";
		FILE *f = fopen("/proc/self/comm", "r");

		if (f && fgets(comm, sizeof(comm), f))
			printf("comm=%s", comm);
		if (f)
			fclose(f);
		printf("env=%d\n", getenv("FUSEDEV_COMM") != NULL);
	}
	return 0;
}

/* ---- plumbing ------------------------------------------------------------*/

static char *pathf(const char *fmt, ...)
{
	static char buf[8][PATH_MAX * 2];
	static int k;
	char *p = buf[k++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, PATH_MAX * 2, fmt, ap);
	va_end(ap);
	return p;
}

static int put_file(const char *path, const void *data, size_t len,
		    mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) ||
	    fchmod(fd, mode) < 0) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static int put_text(const char *path, mode_t mode, const char *text)
{
	return put_file(path, text, strlen(text), mode);
}

static int copy_self(const char *to, mode_t mode)
{
	static char *data;
	static size_t len;
	ssize_t n;
	int fd;

	if (!data) {
		size_t cap = 1 << 20;

		fd = open("/proc/self/exe", O_RDONLY);
		data = malloc(cap);
		if (fd < 0 || !data)
			return -1;
		while ((n = read(fd, data + len, cap - len)) > 0) {
			len += n;
			if (len == cap)
				data = realloc(data, cap *= 2);
			if (!data)
				return -1;
		}
		close(fd);
	}
	return put_file(to, data, len, mode);
}

static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && 
	       (n = read(fd, buf + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += n;
	}
	buf[got] = '\0';
	return got;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef void (*exec_fn)(void *arg);

/*
 * Run @fn in a fork (or vfork) child whose stdout is a pipe: its output
 * into @out; "ERR <errno>" when the exec returned.  The exit status.
 */
static int run(exec_fn fn, void *arg, bool use_vfork, char *out, size_t size)
{
	volatile int err = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = use_vfork ? vfork() : fork();
	if (pid == 0) {
		dup2(p[1], 1);
		fn(arg);
		err = errno;
		if (!use_vfork)
			dprintf(1, "ERR %d", err);
		_exit(99);
	}
	close(p[1]);
	read_all(p[0], out, size);
	close(p[0]);
	status = wait_status(pid);
	if (use_vfork && status == 99)
		snprintf(out, size, "ERR %d", err);
	return status;
}

/* argv of the exec tests: argv[0] "a0", then --child and two more. */
static char *targv[] = { "a0", "--child", "one", "two words", NULL };
static const char targv_out[] =
	"argv[0]=a0\nargv[1]=--child\nargv[2]=one\nargv[3]=two words\n";

struct ex {
	const char *path;
	char *const *argv;
	int fd;
	int flags;
};

static void do_execve(void *a)
{
	struct ex *x = a;

	execve(x->path, x->argv ? x->argv : targv, environ);
}

static void do_execv(void *a)
{
	execv(((struct ex *)a)->path, targv);
}

static void do_execl(void *a)
{
	execl(((struct ex *)a)->path, "a0", "--child", "one", "two words",
	      (char *)NULL);
}

static void do_execle(void *a)
{
	execle(((struct ex *)a)->path, "a0", "--child", "one", "two words",
	       (char *)NULL, environ);
}

static void do_execvp(void *a)
{
	struct ex *x = a;

	execvp(x->path, x->argv ? x->argv : targv);
}

static void do_execlp(void *a)
{
	execlp(((struct ex *)a)->path, "a0", "--child", "one", "two words",
	       (char *)NULL);
}

static void do_execvpe(void *a)
{
	execvpe(((struct ex *)a)->path, targv, environ);
}

static void do_fexecve(void *a)
{
	fexecve(((struct ex *)a)->fd, targv, environ);
}

static void do_execveat(void *a)
{
	struct ex *x = a;

	execveat(x->fd, x->path, targv, environ, x->flags);
}

static void do_sh_c(void *a)
{
	execl("/bin/sh", "sh", "-c", ((struct ex *)a)->path, (char *)NULL);
}

/* In a vfork child: two opens, each read to stdout. */
static void do_open_read(void *a)
{
	struct ex *x = a;
	char buf[256];
	ssize_t n;
	int i, fd;

	for (i = 0; i < 2; i++) {
		fd = open(x->path, O_RDONLY);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return;
		if (write(1, buf, n) != n)
			return;
		close(fd);
	}
	_exit(0);
}

#define EXPECT_OUT(fn, x, want)						\
	do {								\
		char out_[4096];					\
		int st_ = run(fn, x, false, out_, sizeof(out_));	\
		CHECK(st_ == 0 && !strcmp(out_, want),			\
		      "%s %s: status %d, output:\n%s\nwant:\n%s", #fn,	\
		      (x)->path, st_, out_, want);			\
	} while (0)

#define EXPECT_ERR(fn, x, e)						\
	do {								\
		char out_[4096], want_[32];				\
		int st_ = run(fn, x, false, out_, sizeof(out_));	\
		snprintf(want_, sizeof(want_), "ERR %d", e);		\
		CHECK(st_ == 99 && !strcmp(out_, want_),		\
		      "%s %s: status %d, output \"%.200s\", want %s (%s)", \
		      #fn, (x)->path, st_, out_, want_, strerror(e));	\
	} while (0)

/* ---- the file system -----------------------------------------------------*/

static int setup(void)
{
	char text[PATH_MAX + 64], name[320];
	int i;

	if (mkdir(pathf("%s/p1", mnt), 0755) < 0 ||
	    mkdir(pathf("%s/p2", mnt), 0755) < 0 ||
	    copy_self(pathf("%s/prog", mnt), 0755) < 0 ||
	    copy_self(pathf("%s/p1/prog", mnt), 0644) < 0 ||
	    copy_self(pathf("%s/p2/prog", mnt), 0755) < 0 ||
	    symlink("prog", pathf("%s/lnk", mnt)) < 0 ||
	    symlink("loop2", pathf("%s/loop1", mnt)) < 0 ||
	    symlink("loop1", pathf("%s/loop2", mnt)) < 0 ||
	    mkfifo(pathf("%s/fifo", mnt), 0755) < 0 ||
	    put_text(pathf("%s/empty", mnt), 0755, "") < 0 ||
	    put_text(pathf("%s/plain", mnt), 0755,
		     "echo \"viash:$0:$1\"\n") < 0 ||
	    put_text(pathf("%s/s1.sh", mnt), 0755,
		     "#!/bin/sh\necho \"s1:$0:$1\"\n") < 0 ||
	    put_text(pathf("%s/nox.sh", mnt), 0644, "#!/bin/sh\n") < 0)
		return -1;
	/* interpreter in the mount, with an argument (blanks kept inside) */
	snprintf(text, sizeof(text), "#! \t%s/prog --child  x\ty \t \n", mnt);
	if (put_text(pathf("%s/s2", mnt), 0755, text) < 0)
		return -1;
	/* interpreter outside: this program */
	snprintf(text, sizeof(text), "#!%s --child-x\n", self);
	if (put_text(pathf("%s/s3", mnt), 0755, text) < 0)
		return -1;
	/* the task is named after the script, not its interpreter */
	snprintf(text, sizeof(text), "#!%s/prog --child-comm\n", mnt);
	if (put_text(pathf("%s/s5", mnt), 0755, text) < 0)
		return -1;
	/* a script outside, its interpreter in the mount */
	if (put_text(pathf("%s.outside", mnt), 0755, text) < 0)
		return -1;
	/* nested: s4 -> s2 -> prog */
	snprintf(text, sizeof(text), "#!%s/s2\n", mnt);
	if (put_text(pathf("%s/s4", mnt), 0755, text) < 0)
		return -1;
	/* a chain c1 -> prog, ck -> c(k-1) */
	for (i = 1; i <= 6; i++) {
		if (i == 1)
			snprintf(text, sizeof(text), "#!%s/prog --child\n",
				 mnt);
		else
			snprintf(text, sizeof(text), "#!%s/c%d\n", mnt,
				 i - 1);
		if (put_text(pathf("%s/c%d", mnt, i), 0755, text) < 0)
			return -1;
	}
	snprintf(text, sizeof(text), "#!%s/loop.sh\n", mnt);
	if (put_text(pathf("%s/loop.sh", mnt), 0755, text) < 0 ||
	    put_text(pathf("%s/bang", mnt), 0755, "#!\n") < 0 ||
	    put_text(pathf("%s/blank", mnt), 0755, "#!  \t \nx\n") < 0 ||
	    put_text(pathf("%s/crlf", mnt), 0755, "#!/bin/sh\r\n") < 0 ||
	    put_text(pathf("%s/nointerp", mnt), 0755,
		     "#!/nonexistent/sh\n") < 0 ||
	    put_text(pathf("%s/dirinterp", mnt), 0755, "#!/tmp\n") < 0)
		return -1;
	snprintf(text, sizeof(text), "#!%s/p1/prog\n", mnt);
	if (put_text(pathf("%s/noxinterp", mnt), 0755, text) < 0)
		return -1;
	/* no newline, the name runs past the 256 bytes the kernel reads */
	memset(name, 'a', 300);
	name[300] = '\0';
	snprintf(text, sizeof(text), "#!/%s", name);
	if (put_text(pathf("%s/longline", mnt), 0755, text) < 0)
		return -1;
	/* no newline, short: the name ends inside the buffer */
	if (put_text(pathf("%s/nonl", mnt), 0755, "#!/bin/sh") < 0)
		return -1;
	return 0;
}

/* ---- the tests -----------------------------------------------------------*/

static void test_elf(void)
{
	struct ex x = { .path = pathf("%s/prog", mnt) };
	char out[4096];
	int fd, st;

	EXPECT_OUT(do_execve, &x, targv_out);
	EXPECT_OUT(do_execv, &x, targv_out);
	EXPECT_OUT(do_execl, &x, targv_out);
	EXPECT_OUT(do_execle, &x, targv_out);
	x.path = pathf("%s/lnk", mnt);
	EXPECT_OUT(do_execve, &x, targv_out);

	/* vfork: the exec runs on the parent's memory */
	x.path = pathf("%s/prog", mnt);
	st = run(do_execve, &x, true, out, sizeof(out));
	CHECK(st == 0 && !strcmp(out, targv_out), "vfork+execve: %d %s", st,
	      out);
	x.path = pathf("%s/nonexistent", mnt);
	st = run(do_execve, &x, true, out, sizeof(out));
	CHECK(st == 99 && !strcmp(out, pathf("ERR %d", ENOENT)),
	      "vfork+execve missing: %d %s", st, out);

	/* relative to the cwd */
	if (chdir(mnt) == 0) {
		x.path = "./prog";
		EXPECT_OUT(do_execve, &x, targv_out);
		x.path = "p2/prog";
		EXPECT_OUT(do_execv, &x, targv_out);
		CHECK(chdir("/") == 0, "chdir /");
	}

	/* fexecve, execveat */
	fd = open(pathf("%s/prog", mnt), O_RDONLY);
	CHECK(fd >= 0, "open prog");
	x.fd = fd;
	x.path = "fexecve";
	EXPECT_OUT(do_fexecve, &x, targv_out);
	x.path = "";
	x.flags = AT_EMPTY_PATH;
	EXPECT_OUT(do_execveat, &x, targv_out);
	close(fd);
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0, "open mnt");
	x.fd = fd;
	x.path = "prog";
	x.flags = 0;
	EXPECT_OUT(do_execveat, &x, targv_out);
	x.path = "lnk";
	EXPECT_OUT(do_execveat, &x, targv_out);
	x.flags = AT_SYMLINK_NOFOLLOW;
	EXPECT_ERR(do_execveat, &x, ELOOP);
	x.path = "prog";
	x.flags = 0x1;
	EXPECT_ERR(do_execveat, &x, EINVAL);
	close(fd);
}

static void test_errors(void)
{
	struct ex x = { 0 };
	char *longp;
	size_t n;

	x.path = pathf("%s/nonexistent", mnt);
	EXPECT_ERR(do_execve, &x, ENOENT);
	x.path = pathf("%s/p1/prog", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/p1", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/fifo", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/p2/prog/x", mnt);
	EXPECT_ERR(do_execve, &x, ENOTDIR);
	x.path = pathf("%s/loop1", mnt);
	EXPECT_ERR(do_execve, &x, ELOOP);
	x.path = pathf("%s/empty", mnt);
	EXPECT_ERR(do_execve, &x, ENOEXEC);
	x.path = pathf("%s/plain", mnt);
	EXPECT_ERR(do_execve, &x, ENOEXEC);
	EXPECT_ERR(do_execv, &x, ENOEXEC);

	/* a component longer than NAME_MAX, a path longer than PATH_MAX */
	longp = malloc(PATH_MAX + 100);
	n = snprintf(longp, PATH_MAX + 100, "%s/", mnt);
	memset(longp + n, 'n', 300);
	longp[n + 300] = '\0';
	x.path = longp;
	EXPECT_ERR(do_execve, &x, ENAMETOOLONG);
	memset(longp + n, 'n', PATH_MAX + 50);
	longp[n + PATH_MAX + 50] = '\0';
	EXPECT_ERR(do_execve, &x, ENAMETOOLONG);
	free(longp);
}

static void test_scripts(void)
{
	struct ex x = { 0 };
	char want[3 * PATH_MAX], out[4096];
	FILE *f;
	int fd;

	x.path = pathf("%s/s1.sh", mnt);
	EXPECT_OUT(do_execve, &x,
		   pathf("s1:%s/s1.sh:--child\n", mnt));

	/* the kernel's argv: interpreter, its one argument, the script */
	x.path = pathf("%s/s2", mnt);
	snprintf(want, sizeof(want),
		 "argv[0]=%s/prog\nargv[1]=--child  x\ty\nargv[2]=%s/s2\n"
		 "argv[3]=--child\nargv[4]=one\nargv[5]=two words\n", mnt,
		 mnt);
	EXPECT_OUT(do_execve, &x, want);

	x.path = pathf("%s/s3", mnt);
	snprintf(want, sizeof(want),
		 "argv[0]=%s\nargv[1]=--child-x\nargv[2]=%s/s3\n"
		 "argv[3]=--child\nargv[4]=one\nargv[5]=two words\n", self,
		 mnt);
	EXPECT_OUT(do_execve, &x, want);

	x.path = pathf("%s/s4", mnt);
	snprintf(want, sizeof(want),
		 "argv[0]=%s/prog\nargv[1]=--child  x\ty\nargv[2]=%s/s2\n"
		 "argv[3]=%s/s4\nargv[4]=--child\nargv[5]=one\n"
		 "argv[6]=two words\n", mnt, mnt, mnt);
	EXPECT_OUT(do_execve, &x, want);

	/* five scripts and the program: the kernel's limit; six: ELOOP */
	x.path = pathf("%s/c5", mnt);
	snprintf(want, sizeof(want),
		 "argv[0]=%s/prog\nargv[1]=--child\nargv[2]=%s/c1\n"
		 "argv[3]=%s/c2\nargv[4]=%s/c3\nargv[5]=%s/c4\n"
		 "argv[6]=%s/c5\nargv[7]=--child\nargv[8]=one\n"
		 "argv[9]=two words\n", mnt, mnt, mnt, mnt, mnt, mnt);
	EXPECT_OUT(do_execve, &x, want);
	x.path = pathf("%s/c6", mnt);
	EXPECT_ERR(do_execve, &x, ELOOP);
	x.path = pathf("%s/loop.sh", mnt);
	EXPECT_ERR(do_execve, &x, ELOOP);

	x.path = pathf("%s/bang", mnt);
	EXPECT_ERR(do_execve, &x, ENOEXEC);
	x.path = pathf("%s/blank", mnt);
	EXPECT_ERR(do_execve, &x, ENOEXEC);
	x.path = pathf("%s/longline", mnt);
	EXPECT_ERR(do_execve, &x, ENOEXEC);
	x.path = pathf("%s/crlf", mnt);
	EXPECT_ERR(do_execve, &x, ENOENT);
	x.path = pathf("%s/nointerp", mnt);
	EXPECT_ERR(do_execve, &x, ENOENT);
	x.path = pathf("%s/dirinterp", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/noxinterp", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/nox.sh", mnt);
	EXPECT_ERR(do_execve, &x, EACCES);
	x.path = pathf("%s/nonl", mnt);
	EXPECT_OUT(do_execve, &x, "");

	/* comm: the file's name (the script's, not the interpreter's) */
	x.path = pathf("%s/prog", mnt);
	x.argv = (char *[]){ "a0", "--child-comm", NULL };
	EXPECT_OUT(do_execve, &x,
		   "argv[0]=a0\nargv[1]=--child-comm\ncomm=prog\nenv=0\n");
	x.path = pathf("%s/s5", mnt);
	x.argv = (char *[]){ "a0", NULL };
	EXPECT_OUT(do_execve, &x,
		   pathf("argv[0]=%s/prog\nargv[1]=--child-comm\n"
			 "argv[2]=%s/s5\ncomm=s5\nenv=0\n", mnt, mnt));
	x.path = pathf("%s.outside", mnt);
	EXPECT_OUT(do_execve, &x,
		   pathf("argv[0]=%s/prog\nargv[1]=--child-comm\n"
			 "argv[2]=%s.outside\ncomm=%.15s\nenv=0\n", mnt, mnt,
			 strrchr(mnt, '/') + 1));
	x.argv = NULL;

	/* a script through a close-on-exec fd: /dev/fd/N is gone: ENOENT */
	fd = open(pathf("%s/s1.sh", mnt), O_RDONLY | O_CLOEXEC);
	x.fd = fd;
	x.path = "fexecve s1.sh";
	EXPECT_ERR(do_fexecve, &x, ENOENT);
	close(fd);

	/* execvp: ENOEXEC runs /bin/sh FILE ARGS */
	x.path = pathf("%s/plain", mnt);
	EXPECT_OUT(do_execvp, &x, pathf("viash:%s/plain:--child\n", mnt));

	/* system(), popen(): /bin/sh's own execve finds the script */
	unlink(pathf("%s/sys.out", mnt));
	CHECK(system(pathf("%s/s1.sh sysarg > %s/sys.out", mnt, mnt)) == 0,
	      "system");
	fd = open(pathf("%s/sys.out", mnt), O_RDONLY);
	CHECK(fd >= 0 && read_all(fd, out, sizeof(out)) >= 0 &&
	      !strcmp(out, pathf("s1:%s/s1.sh:sysarg\n", mnt)),
	      "system output: %s", out);
	if (fd >= 0)
		close(fd);
	CHECK(system(pathf("%s/prog --child sys >/dev/null", mnt)) == 0,
	      "system prog");
	f = popen(pathf("%s/s1.sh pop", mnt), "r");
	CHECK(f && fgets(out, sizeof(out), f) &&
	      !strcmp(out, pathf("s1:%s/s1.sh:pop\n", mnt)), "popen: %s", out);
	if (f)
		CHECK(pclose(f) == 0, "pclose");
}

/* A script without "#!": dash runs it itself, opening it in a vfork
 * child; system() goes through dash. */
static void test_noshebang(void)
{
	struct ex x = { 0 };
	char out[4096];
	int st, fd;

	x.path = pathf("%s/plain sharg", mnt);
	EXPECT_OUT(do_sh_c, &x, pathf("viash:%s/plain:sharg\n", mnt));
	x.path = pathf("%s/plain sharg; true", mnt);
	EXPECT_OUT(do_sh_c, &x, pathf("viash:%s/plain:sharg\n", mnt));

	unlink(pathf("%s/sys2.out", mnt));
	st = system(pathf("%s/plain sysarg > %s/sys2.out", mnt, mnt));
	CHECK(st == 0, "system plain: %d", st);
	fd = open(pathf("%s/sys2.out", mnt), O_RDONLY);
	CHECK(fd >= 0 && read_all(fd, out, sizeof(out)) >= 0 &&
	      !strcmp(out, pathf("viash:%s/plain:sysarg\n", mnt)),
	      "system plain output: %s", out);
	if (fd >= 0)
		close(fd);

	/* the shim itself: opens in a vfork child */
	x.path = pathf("%s/plain", mnt);
	st = run(do_open_read, &x, true, out, sizeof(out));
	CHECK(st == 0 && !strcmp(out, "echo \"viash:$0:$1\"\n"
					 "echo \"viash:$0:$1\"\n"),
	      "vfork+open: %d %s", st, out);
}

/* /dev/fd/N and /proc/self/fd/N: the file reopened, not fd N's. */
static void test_fd_links(void)
{
	struct ex x = { 0 };
	struct stat a, b;
	char buf[64], out[4096];
	int fd, fd2, dfd;
	ssize_t n;

	fd = open(pathf("%s/s1.sh", mnt), O_RDONLY);
	CHECK(fd >= 0, "open s1.sh");
	if (fd < 0)
		return;
	/* the interpreter opens /dev/fd/N */
	x.fd = fd;
	x.path = "fexecve s1.sh, fd inherited";
	EXPECT_OUT(do_fexecve, &x, pathf("s1:/dev/fd/%d:--child\n", fd));

	/* a new open file: its own offset, the same file */
	CHECK(read(fd, buf, 3) == 3, "read 3");
	fd2 = open(pathf("/dev/fd/%d", fd), O_RDONLY | O_CLOEXEC);
	CHECK(fd2 >= 0, "open /dev/fd/%d", fd);
	if (fd2 >= 0) {
		n = read(fd2, buf, 9);
		CHECK(n == 9 && !memcmp(buf, "#!/bin/sh", 9),
		      "read /dev/fd/N: %zd %.9s", n, buf);
		CHECK(fstat(fd, &a) == 0 && fstat(fd2, &b) == 0 &&
		      a.st_ino == b.st_ino && a.st_dev == b.st_dev,
		      "/dev/fd/N: same inode");
		CHECK(lseek(fd, 0, SEEK_CUR) == 3 &&
		      lseek(fd2, 0, SEEK_CUR) == 9, "offsets apart");
		CHECK((fcntl(fd2, F_GETFD) & FD_CLOEXEC) &&
		      !(fcntl(fd, F_GETFD) & FD_CLOEXEC), "fd flags apart");
		close(fd2);
	}
	errno = 0;
	fd2 = open(pathf("/dev/fd/%d", fd), O_RDONLY | O_NOFOLLOW);
	CHECK(fd2 < 0 && errno == ELOOP, "/dev/fd/N O_NOFOLLOW: %d", fd2);
	if (fd2 >= 0)
		close(fd2);
	close(fd);

	/* other flags than the first open's */
	put_text(pathf("%s/reopen", mnt), 0644, "one\n");
	fd = open(pathf("%s/reopen", mnt), O_RDONLY);
	fd2 = open(pathf("/proc/self/fd/%d", fd), O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && fd2 >= 0 && write(fd2, "two\n", 4) == 4,
	      "append through /proc/self/fd/N");
	if (fd2 >= 0)
		close(fd2);
	fd2 = open(pathf("/proc/%d/fd/%d", (int)getpid(), fd), O_RDONLY);
	CHECK(fd2 >= 0 && read_all(fd2, out, sizeof(out)) == 8 &&
	      !strcmp(out, "one\ntwo\n"), "read /proc/PID/fd/N: %s", out);
	if (fd2 >= 0)
		close(fd2);
	if (fd >= 0)
		close(fd);

	/* a name under a directory fd */
	dfd = open(mnt, O_RDONLY | O_DIRECTORY);
	fd = open(pathf("/dev/fd/%d/reopen", dfd), O_RDONLY);
	CHECK(dfd >= 0 && fd >= 0 && read_all(fd, out, sizeof(out)) == 8,
	      "open /dev/fd/DIR/reopen: %s", out);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	unlink(pathf("%s/reopen", mnt));
}

static void test_path(void)
{
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct ex x = { .path = "prog" };

	setenv("PATH", pathf("/nonexistent:%s/p1:%s/p2", mnt, mnt), 1);
	EXPECT_OUT(do_execvp, &x, targv_out);
	EXPECT_OUT(do_execlp, &x, targv_out);
	EXPECT_OUT(do_execvpe, &x, targv_out);
	setenv("PATH", pathf("%s/p1:/nonexistent", mnt), 1);
	EXPECT_ERR(do_execvp, &x, EACCES);
	setenv("PATH", pathf("/nonexistent:%s/p3", mnt), 1);
	EXPECT_ERR(do_execvp, &x, ENOENT);
	setenv("PATH", pathf("%s", mnt), 1);
	x.path = "s1.sh";
	EXPECT_OUT(do_execvp, &x, pathf("s1:%s/s1.sh:--child\n", mnt));
	x.path = "plain";
	EXPECT_OUT(do_execvp, &x, pathf("viash:%s/plain:--child\n", mnt));
	x.path = "";
	EXPECT_ERR(do_execvp, &x, ENOENT);
	if (old)
		setenv("PATH", old, 1);
	else
		unsetenv("PATH");
	free(old);
}

/* posix_spawn(p) with stdout to a pipe: its error; output, status. */
static int spawn(bool p, const char *file, char *const argv[],
		 posix_spawnattr_t *attr, char *out, size_t size, int *status)
{
	posix_spawn_file_actions_t fa;
	int pp[2], r;
	pid_t pid = -1;

	if (pipe2(pp, O_CLOEXEC) < 0)
		return errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
	r = (p ? posix_spawnp : posix_spawn)(&pid, file, &fa, attr, argv,
					     environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pp[1]);
	if (r == 0) {
		read_all(pp[0], out, size);
		*status = wait_status(pid);
	}
	close(pp[0]);
	return r;
}

/* The daemons are our children: a failed spawn must leave no other. */
static void check_no_zombie(const char *what)
{
	int st;
	pid_t z = waitpid(-1, &st, WNOHANG);

	CHECK(z == 0, "%s: child %d left behind", what, (int)z);
}

static void test_spawn(void)
{
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char *pgargv[] = { "a0", "--child-pg", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char out[4096];
	int r, st = -1, fd;
	pid_t pid;

	r = spawn(false, pathf("%s/prog", mnt), targv, NULL, out, sizeof(out),
		  &st);
	CHECK(r == 0 && st == 0 && !strcmp(out, targv_out),
	      "posix_spawn: %d %d %s", r, st, out);
	r = spawn(false, pathf("%s/s2", mnt), targv, NULL, out, sizeof(out),
		  &st);
	CHECK(r == 0 && st == 0 &&
	      !strncmp(out, pathf("argv[0]=%s/prog\n", mnt),
		       strlen(pathf("argv[0]=%s/prog\n", mnt))),
	      "posix_spawn script: %d %d %s", r, st, out);

	r = spawn(false, pathf("%s/nonexistent", mnt), targv, NULL, out,
		  sizeof(out), &st);
	CHECK(r == ENOENT, "posix_spawn missing: %d", r);
	check_no_zombie("posix_spawn ENOENT");
	r = spawn(false, pathf("%s/p1/prog", mnt), targv, NULL, out,
		  sizeof(out), &st);
	CHECK(r == EACCES, "posix_spawn 0644: %d", r);
	r = spawn(false, pathf("%s/plain", mnt), targv, NULL, out,
		  sizeof(out), &st);
	CHECK(r == ENOEXEC, "posix_spawn plain: %d", r);
	r = spawn(false, pathf("%s/c6", mnt), targv, NULL, out,
		  sizeof(out), &st);
	CHECK(r == ELOOP, "posix_spawn c6: %d", r);
	check_no_zombie("posix_spawn errors");

	setenv("PATH", pathf("/nonexistent:%s/p1:%s/p2", mnt, mnt), 1);
	r = spawn(true, "prog", targv, NULL, out, sizeof(out), &st);
	CHECK(r == 0 && st == 0 && !strcmp(out, targv_out),
	      "posix_spawnp: %d %d %s", r, st, out);
	setenv("PATH", pathf("%s/p1:/nonexistent", mnt), 1);
	r = spawn(true, "prog", targv, NULL, out, sizeof(out), &st);
	CHECK(r == EACCES, "posix_spawnp EACCES: %d", r);
	setenv("PATH", pathf("/nonexistent:%s/p3", mnt), 1);
	r = spawn(true, "prog", targv, NULL, out, sizeof(out), &st);
	CHECK(r == ENOENT, "posix_spawnp ENOENT: %d", r);
	setenv("PATH", mnt, 1);
	r = spawn(true, "plain", targv, NULL, out, sizeof(out), &st);
	CHECK(r == ENOEXEC, "posix_spawnp plain: %d", r);
	check_no_zombie("posix_spawnp errors");
	if (old)
		setenv("PATH", old, 1);
	else
		unsetenv("PATH");
	free(old);

	/* attributes */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	r = spawn(false, pathf("%s/prog", mnt), pgargv, &attr, out,
		  sizeof(out), &st);
	CHECK(r == 0 && st == 0 && strstr(out, "own-pgrp=1\n"),
	      "posix_spawn SETPGROUP: %d %d %s", r, st, out);
	posix_spawnattr_destroy(&attr);

	/* a file action opening a file on the mount, a program outside */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, pathf("%s/spawn.out", mnt),
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	r = posix_spawn(&pid, "/bin/echo", &fa, NULL,
			(char *[]){ "echo", "spawned", NULL }, environ);
	posix_spawn_file_actions_destroy(&fa);
	CHECK(r == 0 && wait_status(pid) == 0, "posix_spawn echo: %d", r);
	fd = open(pathf("%s/spawn.out", mnt), O_RDONLY);
	CHECK(fd >= 0 && read_all(fd, out, sizeof(out)) >= 0 &&
	      !strcmp(out, "spawned\n"), "addopen output: %s", out);
	if (fd >= 0)
		close(fd);
}

/* ---- mounts --------------------------------------------------------------*/

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start @memfs on a fresh directory: its pid, the directory in @dir. */
static pid_t mount_memfs(const char *memfs, const char *opts, char *dir)
{
	struct stat parent, st;
	double deadline;
	pid_t pid;

	strcpy(dir, "/tmp/shim-exec.XXXXXX");
	if (!mkdtemp(dir) || stat("/tmp", &parent) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (opts)
			execl(memfs, memfs, "-f", "-o", opts, dir,
			      (char *)NULL);
		else
			execl(memfs, memfs, "-f", dir, (char *)NULL);
		_exit(127);
	}
	deadline = now() + 10;
	while (pid > 0 && now() < deadline) {
		if (stat(dir, &st) == 0 && st.st_dev != parent.st_dev)
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(20000);	/* poll interval, bounded by the deadline */
	}
	fprintf(stderr, "%s did not mount %s\n", memfs, dir);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	rmdir(dir);
	return -1;
}

static void unmount_memfs(pid_t pid, const char *dir)
{
	double deadline = now() + 10;

	kill(pid, SIGTERM);
	while (now() < deadline && waitpid(pid, NULL, WNOHANG) == 0)
		usleep(20000);	/* poll interval, bounded by the deadline */
	if (waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	umount2(dir, MNT_DETACH);	/* a kernel mount the daemon left */
	rmdir(dir);
}

static void test_noexec(const char *memfs)
{
	char dir[64];
	struct ex x = { 0 };
	pid_t pid = mount_memfs(memfs, "noexec", dir);

	CHECK(pid > 0, "mount %s -o noexec", memfs);
	if (pid <= 0)
		return;
	if (copy_self(pathf("%s/prog", dir), 0755) == 0) {
		x.path = pathf("%s/prog", dir);
		EXPECT_ERR(do_execve, &x, EACCES);
	}
	unmount_memfs(pid, dir);
}

int main(int argc, char **argv)
{
	const char *memfs = NULL;
	char dir[64];
	pid_t pid = -1;
	ssize_t n;

	if (argc >= 2 && !strncmp(argv[1], "--child", 7))
		return child_main(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "--memfs")) {
		memfs = argv[2];
	} else if (argc == 2) {
		mnt = argv[1];
	} else {
		fprintf(stderr, "usage: %s --memfs MEMFS_LL | MOUNTPOINT\n",
			argv[0]);
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	if (memfs) {
		if (!getenv("LD_PRELOAD") && access("/dev/fuse", R_OK | W_OK)) {
			printf("SKIP: a kernel FUSE mount needs /dev/fuse\n");
			return 77;
		}
		pid = mount_memfs(memfs, NULL, dir);
		if (pid < 0 && !getenv("LD_PRELOAD")) {
			printf("SKIP: no kernel FUSE mount here\n");
			return 77;
		}
		if (pid < 0)
			return 1;
		mnt = dir;
	}
	if (setup() < 0) {
		failures++;
	} else {
		test_elf();
		test_errors();
		test_scripts();
		test_noshebang();
		test_fd_links();
		test_path();
		test_spawn();
		if (memfs)
			test_noexec(memfs);
	}
	unlink(pathf("%s.outside", mnt));
	if (pid > 0)
		unmount_memfs(pid, dir);
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("exec: all passed (%s)\n",
		       getenv("LD_PRELOAD") ? "emulated" : "kernel");
	return failures ? 1 : 0;
}
