/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-fd-semantics MOUNTPOINT: an emulated fd is a kernel fd.
 *
 *  - dup'd fds and a fork child share one file offset (one open file
 *    description, as POSIX says);
 *  - an exec'd program inherits the fd: with the shim it finds the file
 *    again (fstat, lseek), without the shim plain read() and write()
 *    still work; vfork and posix_spawn children are like fork's;
 *  - an fd passed with SCM_RIGHTS works in the receiver;
 *  - a client SIGKILLed with a file open leaves no open file behind: after
 *    unlink, the daemon's block count returns to where it was.
 *
 * Run under `fusedev run` by run-with-daemon.sh on a writable mount.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"


static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool read_is(int fd, const char *want)
{
	char buf[32] = { 0 };
	size_t n = strlen(want);

	return read(fd, buf, n) == (ssize_t)n && !memcmp(buf, want, n);
}

/* Exec'd child: the fd is inherited, the shim finds it again. */
static int inherited(int fd, long size, long pos)
{
	char want[2] = "";
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size != size) {
		fprintf(stderr, "inherited fstat: size %lld, want %ld\n",
			(long long)st.st_size, size);
		return 1;
	}
	if (lseek(fd, 0, SEEK_CUR) != pos) {
		fprintf(stderr, "inherited position %lld, want %ld\n",
			(long long)lseek(fd, 0, SEEK_CUR), pos);
		return 1;
	}
	want[0] = "0123456789AB"[pos];
	return read_is(fd, want) ? 0 : 1;
}

static int send_fd(int sock, int fd)
{
	char c = 'f';
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], self[PATH_MAX], arg[3][32];
	struct statvfs sv0, sv;
	struct stat st, pst;
	int fd, fd2, sv_pair[2];
	double deadline;
	pid_t pid;
	ssize_t n;

	if (argc == 5 && !strcmp(argv[1], "--inherited"))
		return inherited(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	if (argc != 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/..", argv[1]);
	if (!getenv("FUSEDEV_DIR") || stat(argv[1], &st) < 0 ||
	    stat(path, &pst) < 0 || st.st_dev == pst.st_dev) {
		printf("SKIP: %s is not an emulated mount\n", argv[1]);
		return 77;
	}
	/* a hung call fails the test instead of stalling the suite */
	alarm(90);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = '\0';

	/* dup and fork share the offset */
	CHECK(statvfs(argv[1], &sv0) == 0, "statvfs at the start");
	snprintf(path, sizeof(path), "%s/shared", argv[1]);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10, "create");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind");
	fd2 = dup(fd);
	CHECK(fd2 >= 0 && read_is(fd, "012") && read_is(fd2, "3"),
	      "dup shares the offset");
	CHECK(lseek(fd2, 0, SEEK_CUR) == 4 && lseek(fd, 0, SEEK_CUR) == 4,
	      "one position");
	close(fd2);

	/* exec with the shim: the fd is found again */
	pid = fork();
	if (pid == 0) {
		snprintf(arg[0], sizeof(arg[0]), "%d", fd);
		execl(self, self, "--inherited", arg[0], "10", "4",
		      (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0, "exec'd child with the shim");
	CHECK(lseek(fd, 0, SEEK_CUR) == 5, "child's read moved our offset");

	/* fork: the child's reads move the parent's offset */
	pid = fork();
	if (pid == 0)
		_exit(read_is(fd, "56") ? 0 : 1);
	CHECK(wait_status(pid) == 0, "fork child read");
	CHECK(read_is(fd, "7"), "parent continues after the child");

	/* exec without the shim: plain read() through the kernel */
	pid = fork();
	if (pid == 0) {
		char cmd[64];
		int nul = open("/dev/null", O_WRONLY);

		snprintf(cmd, sizeof(cmd), "test \"$(head -c 2 <&%d)\" = 89",
			 fd);
		unsetenv("LD_PRELOAD");
		dup2(nul, 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0, "read in a process without the shim");

	/* exec without the shim: plain write() at the shared offset */
	pid = fork();
	if (pid == 0) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "printf AB >&%d", fd);
		unsetenv("LD_PRELOAD");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0, "write in a process without the shim");
	{
		char b[13] = "";

		CHECK(lseek(fd, 0, SEEK_CUR) == 12 &&
		      pread(fd, b, 12, 0) == 12 &&
		      !memcmp(b, "0123456789AB", 12),
		      "the write landed at the shared offset: %s", b);
	}

	/* vfork + exec and posix_spawn hand the fd on as fork does */
	CHECK(lseek(fd, 4, SEEK_SET) == 4, "seek for vfork");
	snprintf(arg[0], sizeof(arg[0]), "%d", fd);
	pid = vfork();
	if (pid == 0) {
		execl(self, self, "--inherited", arg[0], "12", "4",
		      (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0, "vfork'd child with the shim");
	CHECK(lseek(fd, 0, SEEK_CUR) == 5, "vfork child's read moved it");
	{
		char *sargv[] = { self, "--inherited", arg[0], "12", "5",
				  NULL };
		extern char **environ;

		CHECK(posix_spawn(&pid, self, NULL, NULL, sargv,
				  environ) == 0, "posix_spawn");
		CHECK(wait_status(pid) == 0, "spawned child with the shim");
		CHECK(lseek(fd, 0, SEEK_CUR) == 6,
		      "spawned child's read moved it");
	}

	/* SCM_RIGHTS */
	CHECK(lseek(fd, 4, SEEK_SET) == 4, "seek for the receiver");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv_pair) == 0, "socketpair");
	pid = fork();
	if (pid == 0) {
		int rfd;

		close(sv_pair[0]);
		close(fd);
		rfd = recv_fd(sv_pair[1]);
		if (rfd < 0 || fstat(rfd, &st) < 0 || st.st_size != 12 ||
		    lseek(rfd, 0, SEEK_CUR) != 4 || !read_is(rfd, "4"))
			_exit(1);
		_exit(0);
	}
	close(sv_pair[1]);
	CHECK(send_fd(sv_pair[0], fd) == 0, "send_fd");
	CHECK(wait_status(pid) == 0, "receiver used the fd");
	close(sv_pair[0]);
	CHECK(close(fd) == 0, "close");
	CHECK(unlink(path) == 0, "unlink shared");
	/* RELEASE goes after close() returns: wait for the blocks back */
	deadline = now() + 10;
	for (;;) {
		CHECK(statvfs(argv[1], &sv) == 0, "statvfs");
		if (sv.f_bfree == sv0.f_bfree || now() > deadline)
			break;
		usleep(20000);	/* poll interval, bounded by the deadline */
	}
	CHECK(sv.f_bfree == sv0.f_bfree, "the shared file was released");

	/* SIGKILL with a file open: RELEASE still comes */
	snprintf(path, sizeof(path), "%s/killed", argv[1]);
	CHECK(pipe(sv_pair) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		static char block[65536];
		int kfd = open(path, O_CREAT | O_RDWR, 0644);

		memset(block, 'k', sizeof(block));
		if (kfd < 0 || write(kfd, block, sizeof(block)) !=
		    (ssize_t)sizeof(block))
			_exit(1);
		if (write(sv_pair[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sv_pair[1]);
	{
		char c;

		CHECK(read(sv_pair[0], &c, 1) == 1, "child wrote its file");
	}
	close(sv_pair[0]);
	kill(pid, SIGKILL);
	CHECK(wait_status(pid) == 128 + SIGKILL, "child killed");
	CHECK(unlink(path) == 0, "unlink killed");
	deadline = now() + 10;
	for (;;) {
		CHECK(statvfs(argv[1], &sv) == 0, "statvfs again");
		if (sv.f_bfree == sv0.f_bfree || now() > deadline)
			break;
		usleep(20000);	/* poll interval, bounded by the deadline */
	}
	CHECK(sv.f_bfree == sv0.f_bfree,
	      "the killed client's file was not released: bfree %lu, was %lu",
	      (unsigned long)sv.f_bfree, (unsigned long)sv0.f_bfree);

	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("fd-semantics: all checks passed\n");
	return 0;
}
