/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-inert: with libmountshim preloaded, calls on the real file system
 * behave exactly as without it, errno included.
 *
 *   LD_PRELOAD=libmountshim.so shim-inert            (no $FUSEDEV_DIR:
 *                                                     the shim is inert)
 *   LD_PRELOAD=libmountshim.so shim-inert --active   (a mount table with a
 *                                                     mount elsewhere: the
 *                                                     shim routes every
 *                                                     path and lets it by)
 *
 * With --active the program publishes a mount table of its own (one
 * mount at DIR/elsewhere, no port) and re-runs itself under it.
 * Exit 0 pass, 1 fail, 77 skip.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#include "../../core/fusedev_port.h"


/* A successful call must leave errno alone. */
#define KEEPS_ERRNO(call, ...)						\
	do {								\
		errno = 7777;						\
		CHECK((call) >= 0 && errno == 7777, __VA_ARGS__);	\
	} while (0)

static int checks(const char *dir)
{
	char p[PATH_MAX], q[PATH_MAX], buf[64];
	struct iovec iov[2];
	struct stat st;
	struct statx sx;
	struct statvfs sv;
	struct dirent **list, *de;
	int fd, fd2, n, seen;
	FILE *fp;
	DIR *d;

	snprintf(p, sizeof(p), "%s/a", dir);
	fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	CHECK(fd >= 0, "open");
	KEEPS_ERRNO(write(fd, "hello world", 11), "write");
	KEEPS_ERRNO(pread(fd, buf, 5, 6), "pread");
	CHECK(!memcmp(buf, "world", 5), "pread data");
	KEEPS_ERRNO(pwrite(fd, "W", 1, 6), "pwrite");
	KEEPS_ERRNO(lseek(fd, 0, SEEK_SET), "lseek");
	iov[0].iov_base = buf;
	iov[0].iov_len = 6;
	iov[1].iov_base = buf + 6;
	iov[1].iov_len = 5;
	n = readv(fd, iov, 2);
	CHECK(n == 11 && !memcmp(buf, "hello World", 11), "readv");
	KEEPS_ERRNO(fstat(fd, &st), "fstat");
	CHECK(st.st_size == 11, "fstat size");
	fd2 = dup(fd);
	CHECK(fd2 >= 0 && lseek(fd2, 0, SEEK_CUR) == 11, "dup shares offset");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "F_GETFL");
	KEEPS_ERRNO(ftruncate(fd, 4), "ftruncate");
	KEEPS_ERRNO(close(fd2), "close dup");
	KEEPS_ERRNO(close(fd), "close");

	KEEPS_ERRNO(stat(p, &st), "stat");
	CHECK(st.st_size == 4, "stat size");
	KEEPS_ERRNO(statx(AT_FDCWD, p, 0, STATX_SIZE, &sx), "statx");
	CHECK(sx.stx_size == 4, "statx size");
	KEEPS_ERRNO(truncate(p, 2), "truncate");
	KEEPS_ERRNO(chmod(p, 0600), "chmod");
	KEEPS_ERRNO(access(p, R_OK), "access");
	KEEPS_ERRNO(utimensat(AT_FDCWD, p, NULL, 0), "utimensat");
	KEEPS_ERRNO(statvfs(p, &sv), "statvfs");

	snprintf(q, sizeof(q), "%s/l", dir);
	KEEPS_ERRNO(symlink("a", q), "symlink");
	KEEPS_ERRNO(lstat(q, &st), "lstat");
	CHECK(S_ISLNK(st.st_mode), "lstat mode");
	n = readlink(q, buf, sizeof(buf));
	CHECK(n == 1 && buf[0] == 'a', "readlink");
	{
		char *rp = realpath(q, NULL);

		CHECK(rp && !strcmp(rp, p), "realpath %s", rp ? rp : "NULL");
		free(rp);
	}
	errno = 0;
	CHECK(stat("/nonexistent/x", &st) < 0 && errno == ENOENT,
	      "stat ENOENT");
	CHECK(open(p, O_CREAT | O_EXCL | O_RDWR, 0600) < 0 && errno == EEXIST,
	      "open EEXIST");

	snprintf(q, sizeof(q), "%s/sub", dir);
	KEEPS_ERRNO(mkdir(q, 0755), "mkdir");
	snprintf(q, sizeof(q), "%s/sub/b", dir);
	KEEPS_ERRNO(rename(p, q), "rename");
	KEEPS_ERRNO(chdir(dir), "chdir");
	CHECK(getcwd(p, sizeof(p)) && !strcmp(p, dir), "getcwd %s", p);
	KEEPS_ERRNO(fstatat(AT_FDCWD, "sub/b", &st, 0), "fstatat relative");

	fp = fopen("sub/c", "w+");
	CHECK(fp && fputs("xyz", fp) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	      fgetc(fp) == 'x', "fopen/fseek");
	if (fp)
		CHECK(fclose(fp) == 0, "fclose");

	d = opendir("sub");
	CHECK(d != NULL, "opendir");
	seen = 0;
	while (d && (de = readdir(d)))
		if (!strcmp(de->d_name, "b") || !strcmp(de->d_name, "c"))
			seen++;
	CHECK(seen == 2, "readdir saw %d", seen);
	if (d)
		CHECK(closedir(d) == 0, "closedir");
	n = scandir("sub", &list, NULL, alphasort);
	CHECK(n == 4 && !strcmp(list[2]->d_name, "b"), "scandir %d", n);
	while (n > 0)
		free(list[--n]);
	if (n == 0)
		free(list);

	snprintf(q, sizeof(q), "%s/tmpXXXXXX", dir);
	fd = mkstemp(q);
	CHECK(fd >= 0 && unlink(q) == 0, "mkstemp");
	close(fd);

	KEEPS_ERRNO(unlink("sub/b"), "unlink");
	KEEPS_ERRNO(unlinkat(AT_FDCWD, "sub/c", 0), "unlinkat");
	KEEPS_ERRNO(rmdir("sub"), "rmdir");
	KEEPS_ERRNO(unlink("l"), "unlink link");

	/* exec and fork pass through */
	{
		pid_t pid = fork();
		int status = -1;

		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "execl");
	}
	return failures;
}

static int run_active(char *self)
{
	char dir[] = "/tmp/shim-inert.XXXXXX", p[PATH_MAX + 32];
	struct fusedev_mtab *m;
	int fd, status = -1;
	pid_t pid;

	if (!mkdtemp(dir))
		return 1;
	snprintf(p, sizeof(p), "%s/mtab", dir);
	fd = open(p, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(*m)) < 0)
		return 1;
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 1;
	m->magic = FUSEDEV_MTAB_MAGIC;
	m->version = FUSEDEV_MTAB_VERSION;
	m->emulator_pid = getpid();
	snprintf(m->device, sizeof(m->device), "%s/nodev", dir);
	snprintf(m->ents[0].path, sizeof(m->ents[0].path), "%s/elsewhere",
		 dir);
	m->ents[0].len = strlen(m->ents[0].path);
	m->ents[0].id = 1;
	m->ents[0].flags = FUSEDEV_MNT_USED;
	m->count = 1;
	m->seq = 2;
	munmap(m, sizeof(*m));

	setenv("FUSEDEV_DIR", dir, 1);
	pid = fork();
	if (pid == 0) {
		execl(self, self, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	if (system(p))
		(void)0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/shim-inert.XXXXXX", cmd[64];
	int r;

	if (!getenv("LD_PRELOAD")) {
		printf("SKIP: run with LD_PRELOAD=libmountshim.so\n");
		return 77;
	}
	if (argc > 1 && !strcmp(argv[1], "--active")) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n < 0)
			return 1;
		self[n] = '\0';
		return run_active(self);
	}
	umask(022);
	if (!mkdtemp(dir))
		return 1;
	r = checks(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		(void)0;
	if (r) {
		fprintf(stderr, "%d failure(s)\n", r);
		return 1;
	}
	printf("inert%s: all checks passed\n",
	       getenv("FUSEDEV_DIR") && *getenv("FUSEDEV_DIR") ?
	       " (active shim)" : "");
	return 0;
}
