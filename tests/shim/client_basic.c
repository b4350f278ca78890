/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-client-basic MOUNTPOINT [--big]: everyday file system calls
 * through the shim on a writable emulated mount (memfs_ll), each result
 * checked against what the kernel would give on a local file system.
 * --big: only the large-I/O checks (1 MiB through the device and the
 * port, mmap, copy_file_range, sendfile).
 *
 * Run under `fusedev run` by run-with-daemon.sh.  The mount must start
 * empty.  Exit 0 pass, 1 fail, 77 skip.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"

#define FUSE_SUPER_MAGIC 0x65735546

static const char *mnt;


static const char *P(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", mnt, rel);
	return buf[i];
}

static void data_calls(void)
{
	char buf[64];
	struct stat st;
	struct iovec iov[3];
	int fd;

	fd = open(P("f"), O_CREAT | O_EXCL | O_RDWR, 0666);
	CHECK(fd >= 0, "create f");
	CHECK(open(P("f"), O_CREAT | O_EXCL | O_RDWR, 0666) < 0 &&
	      errno == EEXIST, "O_EXCL on an existing file");
	CHECK(write(fd, "hello world", 11) == 11, "write");
	CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	      (st.st_mode & 07777) == 0644 && st.st_size == 11,
	      "fstat mode %o size %lld", st.st_mode,
	      (long long)st.st_size);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11, "position after write");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek SET");
	memset(buf, 0, sizeof(buf));
	CHECK(read(fd, buf, sizeof(buf)) == 11 &&
	      !memcmp(buf, "hello world", 11), "read back");
	CHECK(read(fd, buf, sizeof(buf)) == 0, "read at EOF");
	CHECK(pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "world", 5), "pread");
	CHECK(pwrite(fd, "W", 1, 6) == 1, "pwrite");
	CHECK(pread(fd, buf, 11, 0) == 11 && !memcmp(buf, "hello World", 11),
	      "pread after pwrite");
	CHECK(lseek(fd, 0, SEEK_CUR) == 11, "pread/pwrite keep the position");
	CHECK(lseek(fd, 0, SEEK_END) == 11, "lseek END");
	CHECK(write(fd, "!", 1) == 1 && fstat(fd, &st) == 0 &&
	      st.st_size == 12, "append by position");
	CHECK(lseek(fd, -1, SEEK_SET) < 0 && errno == EINVAL,
	      "lseek negative");

	/* scatter/gather */
	iov[0].iov_base = "ab";
	iov[0].iov_len = 2;
	iov[1].iov_base = "cde";
	iov[1].iov_len = 3;
	CHECK(pwritev(fd, iov, 2, 20) == 5, "pwritev");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 25, "sparse size");
	memset(buf, 'x', sizeof(buf));
	iov[0].iov_base = buf;
	iov[0].iov_len = 4;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = 4;
	CHECK(preadv(fd, iov, 2, 18) == 7 && !memcmp(buf, "\0\0ab", 4) &&
	      !memcmp(buf + 10, "cde", 3), "preadv");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind");
	iov[0].iov_base = buf;
	iov[0].iov_len = 5;
	iov[1].iov_base = buf + 20;
	iov[1].iov_len = 1;
	CHECK(readv(fd, iov, 2) == 6 && !memcmp(buf, "hello", 5) &&
	      buf[20] == ' ', "readv");
	CHECK(lseek(fd, 0, SEEK_CUR) == 6, "readv moved the position");

	CHECK(ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 &&
	      st.st_size == 5, "ftruncate");
	CHECK(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "F_GETFL");
	CHECK(close(fd) == 0, "close");
	CHECK(stat(P("f"), &st) == 0 && st.st_size == 5, "stat after close");
	CHECK(truncate(P("f"), 3) == 0 && stat(P("f"), &st) == 0 &&
	      st.st_size == 3, "truncate");

	/* O_APPEND */
	fd = open(P("f"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0, "open O_APPEND");
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "XY", 2) == 2 &&
	      stat(P("f"), &st) == 0 && st.st_size == 5, "append");
	CHECK(fcntl(fd, F_GETFL) & O_APPEND, "F_GETFL O_APPEND");
	CHECK(fcntl(fd, F_SETFL, 0) == 0 && !(fcntl(fd, F_GETFL) & O_APPEND),
	      "F_SETFL clears O_APPEND");
	CHECK(read(fd, buf, 1) < 0 && errno == EBADF, "read on O_WRONLY");
	close(fd);
	fd = open(P("f"), O_RDONLY);
	CHECK(fd >= 0 && write(fd, "z", 1) < 0 && errno == EBADF,
	      "write on O_RDONLY");
	close(fd);
	fd = open(P("f"), O_RDWR | O_TRUNC);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC");
	close(fd);
}

/*
 * A 1 MiB file: the device's chunking of large reads and writes (and of
 * the daemon's large replies), the port's FDP_IO_MAX loop, mmap, and the
 * copy calls across the mount's edge.
 */
static void big_calls(void)
{
	char big_pat[256];
	char *big, *back;
	ssize_t n;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(big_pat); i++)
		big_pat[i] = (char)(i * 7 + 1);
	big = malloc(1 << 20);
	back = malloc(1 << 20);
	for (i = 0; i < (1 << 20); i++)
		big[i] = big_pat[i % 251 % sizeof(big_pat)];
	fd = open(P("big"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "create big");
	n = write(fd, big, 1 << 20);
	CHECK(n == 1 << 20, "1 MiB write: %zd", n);
	memset(back, 0, 1 << 20);
	n = pread(fd, back, 1 << 20, 0);
	CHECK(n == 1 << 20 && !memcmp(big, back, 1 << 20), "1 MiB pread %zd",
	      n);
	{
		char *m = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, fd, 0);

		CHECK(m != MAP_FAILED && !memcmp(m, big, 1 << 20),
		      "mmap private");
		if (m != MAP_FAILED)
			munmap(m, 1 << 20);
	}

	/*
	 * copy_file_range: EXDEV across the mount's edge (as Linux between
	 * FUSE and another file system), a copy inside the mount; sendfile
	 * across the edge.
	 */
	{
		char tmp[] = "/tmp/shim-cb.XXXXXX";
		int rfd = mkstemp(tmp), efd, efd2;
		off64_t off = 0, off2 = 0;

		CHECK(rfd >= 0, "real temp file");
		unlink(tmp);
		efd = open(P("big"), O_RDONLY);
		n = copy_file_range(efd, NULL, rfd, NULL, 1 << 20, 0);
		CHECK(n == -1 && errno == EXDEV, "copy_file_range out %zd", n);
		n = copy_file_range(rfd, NULL, efd, NULL, 1 << 20, 0);
		CHECK(n == -1 && errno == EXDEV, "copy_file_range in %zd", n);
		efd2 = open(P("big2"), O_CREAT | O_WRONLY, 0644);
		n = copy_file_range(efd, NULL, efd2, &off2, 1000, 0);
		CHECK(n == 1000 && off2 == 1000 &&
		      lseek(efd, 0, SEEK_CUR) == 1000 &&
		      lseek(efd2, 0, SEEK_CUR) == 0, "copy_file_range head");
		off = 1000;
		n = copy_file_range(efd, &off, efd2, &off2, 2 << 20, 0);
		CHECK(n == (1 << 20) - 1000 && off == 1 << 20 &&
		      off2 == 1 << 20 && lseek(efd, 0, SEEK_CUR) == 1000,
		      "copy_file_range rest %zd", n);
		close(efd2);
		close(efd);
		efd = open(P("big2"), O_RDONLY);
		memset(back, 0, 1 << 20);
		CHECK(pread(efd, back, 1 << 20, 0) == 1 << 20 &&
		      !memcmp(big, back, 1 << 20), "copied data");
		off = 1000;
		n = sendfile(rfd, efd, &off, 100);
		CHECK(n == 100 && off == 1100 && lseek(efd, 0, SEEK_CUR) == 0,
		      "sendfile with offset");
		CHECK(pread(rfd, back, 100, 0) == 100 &&
		      !memcmp(big + 1000, back, 100), "sendfile data");
		close(efd);
		close(rfd);
		CHECK(unlink(P("big2")) == 0, "unlink big2");
	}

	/* last: the daemon's replies to these reads are large */
	memset(back, 0, 1 << 20);
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind big");
	for (n = 0; n < (1 << 20);) {
		ssize_t r = read(fd, back + n, (1 << 20) - n);

		if (r <= 0)
			break;
		n += r;
	}
	CHECK(n == 1 << 20 && !memcmp(big, back, 1 << 20), "1 MiB read %zd",
	      n);
	close(fd);
	free(big);
	free(back);
	CHECK(unlink(P("big")) == 0, "unlink big");
}

static int count_entries(const char *path, int *dots)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	*dots = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			(*dots)++;
		else
			n++;
	}
	closedir(d);
	return n;
}

static void name_calls(void)
{
	char buf[PATH_MAX];
	struct stat st, st2;
	struct dirent *de, **list;
	struct statfs sfs;
	long loc;
	DIR *d;
	int fd, dfd, n, dots;
	char *rp;

	CHECK(mkdir(P("d"), 0755) == 0, "mkdir");
	CHECK(mkdir(P("d"), 0755) < 0 && errno == EEXIST, "mkdir EEXIST");
	CHECK(stat(P("d"), &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
	CHECK(rename(P("f"), P("d/g")) == 0, "rename");
	CHECK(stat(P("f"), &st) < 0 && errno == ENOENT, "old name gone");
	CHECK(stat(P("d/g"), &st) == 0 && S_ISREG(st.st_mode), "new name");
	CHECK(symlink("g", P("d/s")) == 0, "symlink");
	n = readlink(P("d/s"), buf, sizeof(buf));
	CHECK(n == 1 && buf[0] == 'g', "readlink");
	CHECK(lstat(P("d/s"), &st) == 0 && S_ISLNK(st.st_mode), "lstat");
	CHECK(stat(P("d/s"), &st2) == 0 && S_ISREG(st2.st_mode), "stat link");
	CHECK(link(P("d/g"), P("d/h")) == 0, "link");
	CHECK(stat(P("d/g"), &st) == 0 && st.st_nlink == 2, "nlink 2");
	CHECK(stat(P("d/h"), &st2) == 0 && st2.st_ino == st.st_ino,
	      "same inode");
	CHECK(rename(P("d/g"), "/tmp/shim-cb-x") < 0 && errno == EXDEV,
	      "rename out of the mount");

	rp = realpath(P("d/s"), NULL);
	CHECK(rp && !strcmp(rp, P("d/g")), "realpath %s", rp ? rp : "NULL");
	free(rp);

	n = count_entries(P("d"), &dots);
	CHECK(n == 3 && dots == 2, "readdir: %d entries, %d dots", n, dots);
	d = opendir(P("d"));
	CHECK(d != NULL, "opendir");
	if (d) {
		de = readdir(d);
		CHECK(de != NULL, "first entry");
		snprintf(buf, sizeof(buf), "%s", de ? de->d_name : "");
		loc = telldir(d);
		de = readdir(d);
		snprintf(buf + 256, 256, "%s", de ? de->d_name : "");
		seekdir(d, loc);
		de = readdir(d);
		CHECK(de && !strcmp(de->d_name, buf + 256), "seekdir");
		rewinddir(d);
		de = readdir(d);
		CHECK(de && !strcmp(de->d_name, buf), "rewinddir");
		CHECK(dirfd(d) >= 0, "dirfd");
		CHECK(closedir(d) == 0, "closedir");
	}
	n = scandir(P("d"), &list, NULL, alphasort);
	CHECK(n == 5 && !strcmp(list[2]->d_name, "g") &&
	      !strcmp(list[4]->d_name, "s"), "scandir %d", n);
	while (n > 0)
		free(list[--n]);
	if (n == 0)
		free(list);

	/* *at calls on an emulated directory fd */
	dfd = open(P("d"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open dir");
	CHECK(fstatat(dfd, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	      S_ISLNK(st.st_mode), "fstatat dirfd");
	CHECK(fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode),
	      "fstatat AT_EMPTY_PATH");
	fd = openat(dfd, "g", O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 5) == 0, "openat dirfd (empty file)");
	close(fd);
	CHECK(unlinkat(dfd, "h", 0) == 0, "unlinkat");
	CHECK(mkdirat(dfd, "sub", 0700) == 0, "mkdirat");
	CHECK(unlinkat(dfd, "sub", AT_REMOVEDIR) == 0, "unlinkat dir");
	{
		char dents[4096];
		ssize_t got = getdents64(dfd, dents, sizeof(dents));

		CHECK(got > 0, "getdents64 %zd", got);
	}
	close(dfd);

	/* metadata */
	CHECK(chmod(P("d/g"), 0600) == 0 && stat(P("d/g"), &st) == 0 &&
	      (st.st_mode & 07777) == 0600, "chmod");
	{
		struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 500 } };

		CHECK(utimensat(AT_FDCWD, P("d/g"), ts, 0) == 0 &&
		      stat(P("d/g"), &st) == 0 &&
		      st.st_mtim.tv_sec == 2000000 &&
		      st.st_mtim.tv_nsec == 500, "utimensat");
	}
	if (geteuid() == 0)
		CHECK(chown(P("d/g"), 1, 2) == 0 && stat(P("d/g"), &st) == 0 &&
		      st.st_uid == 1 && st.st_gid == 2, "chown");
	CHECK(access(P("d/g"), R_OK) == 0, "access");
	CHECK(access(P("nope"), F_OK) < 0 && errno == ENOENT, "access ENOENT");
	CHECK(statfs(mnt, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC,
	      "statfs");

	/* xattrs */
	CHECK(setxattr(P("d/g"), "user.k", "v1", 2, XATTR_CREATE) == 0,
	      "setxattr");
	n = getxattr(P("d/g"), "user.k", buf, sizeof(buf));
	CHECK(n == 2 && !memcmp(buf, "v1", 2), "getxattr");
	CHECK(getxattr(P("d/g"), "user.k", NULL, 0) == 2, "getxattr size");
	n = listxattr(P("d/g"), buf, sizeof(buf));
	CHECK(n == 7 && !strcmp(buf, "user.k"), "listxattr %d", n);
	CHECK(removexattr(P("d/g"), "user.k") == 0 &&
	      getxattr(P("d/g"), "user.k", buf, sizeof(buf)) < 0 &&
	      errno == ENODATA, "removexattr");

	/* stdio and temporary files */
	{
		FILE *fp = fopen(P("d/t"), "w");
		char line[32];

		CHECK(fp && fputs("line one\n", fp) >= 0 && fclose(fp) == 0,
		      "fopen w");
		fp = fopen(P("d/t"), "r");
		CHECK(fp && fgets(line, sizeof(line), fp) &&
		      !strcmp(line, "line one\n"), "fopen r");
		if (fp)
			fclose(fp);
		fp = fopen(P("d/t"), "a");
		CHECK(fp && fputs("two\n", fp) >= 0 && fclose(fp) == 0,
		      "fopen a");
		CHECK(stat(P("d/t"), &st) == 0 && st.st_size == 13,
		      "appended");
		/* a seekable stream: "line one\ntwo\n" */
		fp = fopen(P("d/t"), "r+");
		CHECK(fp && fgets(line, sizeof(line), fp) && ftell(fp) == 9,
		      "ftell after a line");
		CHECK(fp && fseek(fp, 5, SEEK_SET) == 0 && getc(fp) == 'o' &&
		      ftello(fp) == 6, "fseek, getc");
		CHECK(fp && ungetc('X', fp) == 'X' && ftell(fp) == 5 &&
		      getc(fp) == 'X' && ftell(fp) == 6, "ungetc");
		CHECK(fp && fseek(fp, 0, SEEK_CUR) == 0 &&
		      fputs("NE", fp) >= 0 && fseek(fp, -4, SEEK_END) == 0 &&
		      fgets(line, sizeof(line), fp) && !strcmp(line, "two\n") &&
		      feof(fp) == 0 && getc(fp) == EOF && feof(fp),
		      "write in the middle, fseek from the end");
		if (fp) {
			fpos_t pos;

			rewind(fp);
			CHECK(!feof(fp) && ftell(fp) == 0 &&
			      fgetpos(fp, &pos) == 0 &&
			      fgets(line, sizeof(line), fp) &&
			      !strcmp(line, "line oNE\n") &&
			      fsetpos(fp, &pos) == 0 && getc(fp) == 'l',
			      "rewind, fgetpos, fsetpos: %s", line);
			CHECK(fseek(fp, -1, SEEK_SET) < 0 && errno == EINVAL,
			      "fseek before 0");
			CHECK(fclose(fp) == 0, "fclose r+");
		}
		snprintf(buf, sizeof(buf), "%s", P("d/tmpXXXXXX"));
		fd = mkstemp(buf);
		CHECK(fd >= 0 && write(fd, "t", 1) == 1 && close(fd) == 0 &&
		      unlink(buf) == 0, "mkstemp");
		snprintf(buf, sizeof(buf), "%s", P("d/dirXXXXXX"));
		CHECK(mkdtemp(buf) && rmdir(buf) == 0, "mkdtemp");
	}

	/* relative paths and the current directory */
	CHECK(chdir(mnt) == 0, "chdir to the mountpoint");
	CHECK(stat("d/g", &st) == 0 && S_ISREG(st.st_mode), "relative stat");
	CHECK(chdir("d") == 0, "chdir into the mount");
	CHECK(getcwd(buf, sizeof(buf)) && !strcmp(buf, P("d")),
	      "getcwd %s", buf);
	CHECK(stat("g", &st) == 0 && S_ISREG(st.st_mode), "stat in cwd");
	fd = open("rel", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "create in cwd");
	close(fd);
	CHECK(stat(P("d/rel"), &st) == 0, "created where expected");
	CHECK(unlink("rel") == 0, "unlink in cwd");
	CHECK(stat("../d/g", &st) == 0, "dotdot in the mount");
	CHECK(chdir("/") == 0 && getcwd(buf, sizeof(buf)) &&
	      !strcmp(buf, "/"), "chdir out");

	/* cleanup, with the errors a kernel gives */
	CHECK(rmdir(P("d")) < 0 && errno == ENOTEMPTY, "rmdir ENOTEMPTY");
	CHECK(unlink(P("d")) < 0 && (errno == EISDIR || errno == EPERM),
	      "unlink a directory");
	CHECK(unlink(P("d/g")) == 0 && unlink(P("d/s")) == 0 &&
	      remove(P("d/t")) == 0, "unlink all");
	CHECK(rmdir(P("d")) == 0, "rmdir");
	n = count_entries(mnt, &dots);
	CHECK(n == 0, "mount empty again: %d left", n);
}

int main(int argc, char **argv)
{
	struct stat st, pst;
	char parent[PATH_MAX];
	int e;

	if (argc != 2 && !(argc == 3 && !strcmp(argv[2], "--big"))) {
		fprintf(stderr, "usage: %s MOUNTPOINT [--big]\n", argv[0]);
		return 1;
	}
	mnt = argv[1];
	snprintf(parent, sizeof(parent), "%s/..", mnt);
	if (!getenv("FUSEDEV_DIR") || stat(mnt, &st) < 0 ||
	    stat(parent, &pst) < 0 || st.st_dev == pst.st_dev) {
		printf("SKIP: %s is not an emulated mount\n", mnt);
		return 77;
	}
	/* a hung call fails the test instead of stalling the suite */
	alarm(90);
	umask(022);
	if (argc == 3) {
		big_calls();
	} else {
		data_calls();
		name_calls();
	}
	errno = 5555;
	e = stat(mnt, &st);
	CHECK(e == 0 && errno == 5555, "errno kept by a successful call");
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("client-basic: all checks passed\n");
	return 0;
}
