/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mockport: libmountshim against a fake emulator (no FUSE, no emulator).
 *
 *   mockport LIBMOUNTSHIM_SO
 *
 * The parent publishes a mount table with one mount, DIR/mnt, serves the
 * client port itself from a small fixed tree, and re-runs this program
 * as the client with LD_PRELOAD and FUSEDEV_DIR set.  The client checks
 * what the shim makes of the replies (stat, readlink, realpath, relative
 * and dirfd paths, FDP_EXTERNAL redirects, errno preservation, xattrs,
 * statfs, EXDEV, interrupts, a vanished emulator, threads, fork, the
 * fusermount3 emulation for unmount); the parent then
 * checks what the shim sent (masked modes, flags, the unmounts).
 *
 * What needs a real device (opens, reads, directory streams, the emulated
 * cwd, which is an open) is for the tests that run under the emulator.
 * Exit 0 pass, 1 fail, 77 skip.
 *
 * Tree served under DIR/mnt:
 *   /        dir  ino 1
 *   file     reg  ino 2, 5 bytes
 *   dir      dir  ino 3
 *   link     -> file
 *   out      -> DIR/real   (leaves the mount: FDP_EXTERNAL)
 *   slow     replies only after FDP_OP_INTERRUPT, with -EINTR
 *   die      the server drops the connection
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#include "fusedev_port.h"

#define MOCK_DEV	makedev(0, 0x4d4)
#define FUSE_MAGIC	0x65735546

static char dir[64];
static char mnt[80];

/* ---- the fake emulator -------------------------------------------------- */

struct record {
	uint32_t mkdir_mode, mkdir_umask;
	uint32_t rename_flags;
	char rename_to[PATH_MAX];
	uint32_t umount_flags;
	int umounts;
	int interrupts;
	int opens;
	uint32_t chmod_mode;
	uint64_t chown_arg;
	uint32_t access_flags;
	int hello;
};

static struct record rec;

struct conn {
	int fd;
	uint64_t slow_id;		/* waiting for its interrupt */
	bool slow;
};

static void reply(int fd, const struct fdp_hdr *rq, int error,
		  const void *p, size_t n)
{
	struct fdp_hdr h = { .len = sizeof(h) + n, .op = rq->op, .id = rq->id,
			     .error = error };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, n } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n ? 2 : 1 };

	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		perror("mock: sendmsg");
}

enum node { N_ROOT = 1, N_FILE, N_DIR, N_LINK, N_OUT, N_SLOW, N_DIE };

static void attr_of(enum node n, struct fdp_stat_out *o)
{
	memset(o, 0, sizeof(*o));
	o->dev = MOCK_DEV;
	o->attr.ino = n;
	o->attr.nlink = 1;
	o->attr.uid = 1234;
	o->attr.gid = 5678;
	o->attr.blksize = 4096;
	o->attr.mtime = 1000000000;
	o->attr.mtimensec = 5;
	switch (n) {
	case N_ROOT:
	case N_DIR:
		o->attr.mode = S_IFDIR | 0755;
		o->attr.nlink = 2;
		break;
	case N_FILE:
		o->attr.mode = S_IFREG | 0644;
		o->attr.size = 5;
		o->attr.blocks = 1;
		break;
	case N_LINK:
		o->attr.mode = S_IFLNK | 0777;
		o->attr.size = 4;
		break;
	case N_OUT:
		o->attr.mode = S_IFLNK | 0777;
		o->attr.size = strlen(dir) + 5;
		break;
	default:
		o->attr.mode = S_IFREG | 0600;
	}
}

/*
 * Walk @path (absolute, under mnt): 0 and *node, -errno, or FDP_EXTERNAL
 * with the real path in @ext.
 */
static int walk(const char *path, bool follow, enum node *node, char *ext)
{
	size_t ml = strlen(mnt);
	char buf[PATH_MAX], *save, *c, *rest;
	enum node cur = N_ROOT;

	if (strncmp(path, mnt, ml) || (path[ml] && path[ml] != '/'))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", path + ml);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		bool last;

		rest = save;
		while (rest && *rest == '/')
			rest++;
		last = !rest || !*rest;
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (cur == N_ROOT) {
				snprintf(ext, PATH_MAX, "%s/%s", dir,
					 rest ? rest : "");
				return FDP_EXTERNAL;
			}
			cur = N_ROOT;
			continue;
		}
		if (cur != N_ROOT)
			return cur == N_DIR ? -ENOENT : -ENOTDIR;
		if (!strcmp(c, "file"))
			cur = N_FILE;
		else if (!strcmp(c, "dir"))
			cur = N_DIR;
		else if (!strcmp(c, "link"))
			cur = N_LINK;
		else if (!strcmp(c, "out"))
			cur = N_OUT;
		else if (!strcmp(c, "slow"))
			cur = N_SLOW;
		else if (!strcmp(c, "die"))
			cur = N_DIE;
		else
			return -ENOENT;
		if (cur == N_LINK && (!last || follow))
			cur = N_FILE;
		if (cur == N_OUT && (!last || follow)) {
			snprintf(ext, PATH_MAX, "%s/real/%s", dir,
				 rest ? rest : "");
			return FDP_EXTERNAL;
		}
	}
	*node = cur;
	return 0;
}

/* One request; false: drop the connection. */
static bool serve(struct conn *c, char *msg, size_t n)
{
	struct fdp_hdr *h = (struct fdp_hdr *)msg;
	struct fdp_path_in *in = (struct fdp_path_in *)(h + 1);
	const char *path = (const char *)(in + 1), *path2 = NULL;
	char ext[PATH_MAX];
	struct fdp_stat_out st;
	enum node node;
	int r;

	if (n < sizeof(*h) || h->len != n)
		return false;
	switch (h->op) {
	case FDP_OP_HELLO: {
		struct fdp_hello hello = { .version = FDP_PROTO_VERSION,
					   .transport = 2 };

		rec.hello++;
		reply(c->fd, h, 0, &hello, sizeof(hello));
		return true;
	}
	case FDP_OP_INTERRUPT: {
		struct fdp_interrupt *ii = (void *)(h + 1);

		rec.interrupts++;
		if (c->slow && ii->id == c->slow_id) {
			struct fdp_hdr rh = *h;

			rh.op = FDP_OP_STAT;
			rh.id = c->slow_id;
			c->slow = false;
			reply(c->fd, &rh, -EINTR, NULL, 0);
		}
		return true;
	}
	case FDP_OP_MOUNT:
		reply(c->fd, h, -EINVAL, NULL, 0);
		return true;
	}
	if (h->op >= FDP_OP_FSTAT) {
		reply(c->fd, h, -EBADF, NULL, 0);
		return true;
	}
	if (n < sizeof(*h) + sizeof(*in) + in->path_len + 1 ||
	    path[in->path_len])
		return false;
	if (in->path2_len)
		path2 = path + in->path_len + 1;

	if (h->op == FDP_OP_UMOUNT) {
		rec.umounts++;
		rec.umount_flags = in->flags;
		reply(c->fd, h, strcmp(path, mnt) ? -EINVAL : 0, NULL, 0);
		return true;
	}
	r = walk(path, !(in->flags & AT_SYMLINK_NOFOLLOW) &&
		 h->op != FDP_OP_READLINK && h->op != FDP_OP_UNLINK &&
		 h->op != FDP_OP_RENAME, &node, ext);
	if (r == FDP_EXTERNAL) {
		reply(c->fd, h, FDP_EXTERNAL, ext, strlen(ext) + 1);
		return true;
	}
	if (r == -ENOENT && (h->op == FDP_OP_MKDIR ||
			     h->op == FDP_OP_SYMLINK)) {
		if (h->op == FDP_OP_MKDIR) {
			rec.mkdir_mode = in->mode;
			rec.mkdir_umask = in->umask;
		}
		reply(c->fd, h, 0, NULL, 0);
		return true;
	}
	if (r < 0) {
		reply(c->fd, h, r, NULL, 0);
		return true;
	}
	if (node == N_DIE)
		return false;
	if (node == N_SLOW) {
		c->slow = true;
		c->slow_id = h->id;
		return true;
	}
	switch (h->op) {
	case FDP_OP_STAT:
		attr_of(node, &st);
		reply(c->fd, h, 0, &st, sizeof(st));
		break;
	case FDP_OP_REALPATH:
		snprintf(ext, sizeof(ext), "%s%s", mnt,
			 node == N_FILE ? "/file" : node == N_DIR ? "/dir" :
			 node == N_ROOT ? "" : "/other");
		reply(c->fd, h, 0, ext, strlen(ext) + 1);
		break;
	case FDP_OP_READLINK:
		if (node == N_LINK)
			reply(c->fd, h, 0, "file", 4);
		else if (node == N_OUT) {
			snprintf(ext, sizeof(ext), "%s/real", dir);
			reply(c->fd, h, 0, ext, strlen(ext));
		} else
			reply(c->fd, h, -EINVAL, NULL, 0);
		break;
	case FDP_OP_ACCESS:
		rec.access_flags |= in->flags;
		reply(c->fd, h, 0, NULL, 0);
		break;
	case FDP_OP_MKDIR:
	case FDP_OP_SYMLINK:
	case FDP_OP_LINK:
		reply(c->fd, h, -EEXIST, NULL, 0);
		break;
	case FDP_OP_RENAME:
		rec.rename_flags = in->flags;
		snprintf(rec.rename_to, sizeof(rec.rename_to), "%s",
			 path2 ? path2 : "");
		reply(c->fd, h, 0, NULL, 0);
		break;
	case FDP_OP_CHMOD:
		rec.chmod_mode = in->mode;
		reply(c->fd, h, 0, NULL, 0);
		break;
	case FDP_OP_CHOWN:
		rec.chown_arg = in->arg;
		reply(c->fd, h, 0, NULL, 0);
		break;
	case FDP_OP_STATFS: {
		struct fuse_kstatfs k = { .blocks = 100, .bfree = 50,
					  .bavail = 40, .files = 10,
					  .ffree = 5, .bsize = 4096,
					  .namelen = 255, .frsize = 4096 };

		reply(c->fd, h, 0, &k, sizeof(k));
		break;
	}
	case FDP_OP_GETXATTR:
		if (!path2 || strcmp(path2, "user.test")) {
			reply(c->fd, h, -ENODATA, NULL, 0);
		} else if (!in->arg) {
			struct fdp_size_out so = { .size = 5 };

			reply(c->fd, h, 0, &so, sizeof(so));
		} else if (in->arg < 5) {
			reply(c->fd, h, -ERANGE, NULL, 0);
		} else {
			reply(c->fd, h, 0, "value", 5);
		}
		break;
	case FDP_OP_OPEN:
		rec.opens++;
		reply(c->fd, h, -EACCES, NULL, 0);
		break;
	default:
		reply(c->fd, h, 0, NULL, 0);
	}
	return true;
}

static void *server(void *arg)
{
	int lfd = *(int *)arg;
	struct pollfd pfd[64];
	struct conn conns[64];
	static char msg[FDP_MSG_MAX];
	int nc = 0, polled, i;
	ssize_t n;

	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < nc; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, nc + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		polled = nc;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0)
				return NULL;	/* listener closed: done */
			if (nc < 63) {
				memset(&conns[nc], 0, sizeof(conns[nc]));
				conns[nc++].fd = fd;
			} else {
				close(fd);
			}
		}
		for (i = polled - 1; i >= 0; i--) {
			if (!pfd[i + 1].revents)
				continue;
			n = recv(conns[i].fd, msg, sizeof(msg), 0);
			if (n > 0 && serve(&conns[i], msg, n))
				continue;
			close(conns[i].fd);
			conns[i] = conns[--nc];
		}
	}
}

static int setup(void)
{
	struct fusedev_mtab *m;
	char p[PATH_MAX + 64];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/shim-mock.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	snprintf(p, sizeof(p), "%s/real", dir);
	if (mkdir(mnt, 0755) < 0 || mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/real/target.txt", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "real\n", 5) != 5)
		return -1;
	close(fd);
	snprintf(p, sizeof(p), "%s/fakedev", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0666);
	if (fd < 0)
		return -1;
	close(fd);

	snprintf(p, sizeof(p), "%s/mtab", dir);
	fd = open(p, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(*m)) < 0)
		return -1;
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	m->magic = FUSEDEV_MTAB_MAGIC;
	m->version = FUSEDEV_MTAB_VERSION;
	m->emulator_pid = getpid();
	m->transport = FUSEDEV_TRANSPORT_FUSEFILE;
	snprintf(m->device, sizeof(m->device), "%.60s/fakedev", dir);
	m->ents[0].id = 7;
	m->ents[0].flags = FUSEDEV_MNT_USED;
	m->ents[0].len = strlen(mnt);
	memcpy(m->ents[0].path, mnt, strlen(mnt) + 1);
	m->count = 1;
	m->seq = 2;
	munmap(m, sizeof(*m));
	return 0;
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 32];

	if (dir[0] && strlen(dir) > 10) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			(void)0;
	}
}

/* ---- the client (runs with the shim preloaded) -------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

static void *stat_thread(void *arg)
{
	struct stat st;
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < 200; i++)
		if (stat(mnt, &st) < 0 || st.st_ino != 1)
			bad++;
	return (void *)(intptr_t)bad;
}

static int count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static int run_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int client(void)
{
	char p[PATH_MAX + 64], buf[PATH_MAX];
	struct stat st, rst;
	struct statx sx;
	struct statfs sfs;
	struct sigaction sa;
	pthread_t th[4];
	ssize_t n;
	int fd, dfd, i, nfds;
	pid_t pid;
	void *ret;

	umask(022);

	/* stat and friends */
	errno = 4321;
	CHECK(stat(mnt, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == 1 &&
	      st.st_dev == MOCK_DEV, "stat mnt");
	CHECK(errno == 4321, "errno kept on success: %d", errno);
	snprintf(p, sizeof(p), "%s/file", mnt);
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5 &&
	      st.st_uid == 1234 && st.st_gid == 5678 &&
	      st.st_mtim.tv_sec == 1000000000 && st.st_mtim.tv_nsec == 5 &&
	      st.st_blksize == 4096, "stat file");
	snprintf(p, sizeof(p), "%s/link", mnt);
	CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode), "lstat link");
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == 2,
	      "stat link follows");
	snprintf(p, sizeof(p), "%s/nope", mnt);
	CHECK(stat(p, &st) < 0 && errno == ENOENT, "stat nope");
	snprintf(p, sizeof(p), "%s/file/x", mnt);
	CHECK(stat(p, &st) < 0 && errno == ENOTDIR, "stat file/x");
	CHECK(statx(AT_FDCWD, mnt, 0, STATX_BASIC_STATS, &sx) == 0 &&
	      sx.stx_ino == 1 && S_ISDIR(sx.stx_mode) &&
	      sx.stx_dev_minor == minor(MOCK_DEV), "statx");

	/* relative and dirfd-relative paths */
	CHECK(chdir(dir) == 0, "chdir dir");
	CHECK(stat("mnt/file", &st) == 0 && st.st_ino == 2, "relative");
	CHECK(stat("./mnt/../mnt//file", &st) == 0 && st.st_ino == 2,
	      "relative with dots");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open dir");
	CHECK(fstatat(dfd, "mnt/file", &st, 0) == 0 && st.st_ino == 2,
	      "fstatat real dirfd");
	CHECK(fstatat(dfd, "real/target.txt", &st, 0) == 0 &&
	      st.st_dev != MOCK_DEV, "fstatat real file");
	close(dfd);
	/* a real dirfd that is no ancestor of the mount: the fast answer */
	snprintf(p, sizeof(p), "%s/real", dir);
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && fstatat(dfd, "target.txt", &st, 0) == 0 &&
	      st.st_size == 5 && st.st_dev != MOCK_DEV, "fstatat other dirfd");
	CHECK(fstatat(dfd, "../mnt/file", &st, 0) == 0 && st.st_ino == 2 &&
	      st.st_dev == MOCK_DEV, "fstatat other dirfd, up and in");
	close(dfd);

	/* FDP_EXTERNAL: the walk left the mount */
	snprintf(p, sizeof(p), "%s/out/target.txt", mnt);
	snprintf(buf, sizeof(buf), "%s/real/target.txt", dir);
	CHECK(stat(p, &st) == 0 && stat(buf, &rst) == 0 &&
	      st.st_ino == rst.st_ino && st.st_dev == rst.st_dev,
	      "external redirect");
	snprintf(p, sizeof(p), "%s/../real/target.txt", mnt);
	CHECK(stat(p, &st) == 0 && st.st_size == 5 && st.st_dev != MOCK_DEV,
	      "dotdot out of the mount");

	/* readlink, realpath */
	snprintf(p, sizeof(p), "%s/link", mnt);
	n = readlink(p, buf, sizeof(buf));
	CHECK(n == 4 && !memcmp(buf, "file", 4), "readlink");
	n = readlink(p, buf, 2);
	CHECK(n == 2 && !memcmp(buf, "fi", 2), "readlink truncated");
	snprintf(p, sizeof(p), "%s/file", mnt);
	CHECK(readlink(p, buf, sizeof(buf)) < 0 && errno == EINVAL,
	      "readlink of a file");
	snprintf(p, sizeof(p), "%s/link", mnt);
	snprintf(buf, sizeof(buf), "%s/file", mnt);
	{
		char *rp = realpath(p, NULL);

		CHECK(rp && !strcmp(rp, buf), "realpath link: %s",
		      rp ? rp : "NULL");
		free(rp);
		snprintf(p, sizeof(p), "%s/dir/../link", mnt);
		rp = realpath(p, NULL);
		CHECK(rp && !strcmp(rp, buf), "realpath dir/../link: %s",
		      rp ? rp : "NULL");
		free(rp);
		snprintf(p, sizeof(p), "%s/out/target.txt", mnt);
		snprintf(buf, sizeof(buf), "%s/real/target.txt", dir);
		rp = realpath(p, NULL);
		CHECK(rp && !strcmp(rp, buf), "realpath out: %s",
		      rp ? rp : "NULL");
		free(rp);
		snprintf(p, sizeof(p), "%s/nope", mnt);
		CHECK(!realpath(p, buf) && errno == ENOENT, "realpath nope");
	}

	/* metadata calls */
	snprintf(p, sizeof(p), "%s/file", mnt);
	CHECK(access(p, R_OK) == 0, "access");
	CHECK(faccessat(AT_FDCWD, p, W_OK, AT_EACCESS) == 0, "faccessat");
	snprintf(p, sizeof(p), "%s/newdir", mnt);
	CHECK(mkdir(p, 0777) == 0, "mkdir");
	snprintf(p, sizeof(p), "%s/dir", mnt);
	CHECK(mkdir(p, 0777) < 0 && errno == EEXIST, "mkdir existing");
	snprintf(p, sizeof(p), "%s/file", mnt);
	snprintf(buf, sizeof(buf), "%s/dir", mnt);
	CHECK(renameat2(AT_FDCWD, p, AT_FDCWD, buf, RENAME_NOREPLACE) == 0,
	      "renameat2");
	snprintf(buf, sizeof(buf), "%s/real/x", dir);
	CHECK(rename(p, buf) < 0 && errno == EXDEV, "rename across");
	CHECK(link(p, buf) < 0 && errno == EXDEV, "link across");
	CHECK(chmod(p, 04751) == 0, "chmod");
	CHECK(lchown(p, 11, -1) == 0, "lchown");

	/* xattrs, statfs */
	n = getxattr(p, "user.test", buf, sizeof(buf));
	CHECK(n == 5 && !memcmp(buf, "value", 5), "getxattr");
	CHECK(getxattr(p, "user.test", NULL, 0) == 5, "getxattr size");
	CHECK(getxattr(p, "user.test", buf, 2) < 0 && errno == ERANGE,
	      "getxattr ERANGE");
	CHECK(getxattr(p, "user.none", buf, sizeof(buf)) < 0 &&
	      errno == ENODATA, "getxattr ENODATA");
	CHECK(statfs(mnt, &sfs) == 0 && sfs.f_type == FUSE_MAGIC &&
	      sfs.f_blocks == 100 && sfs.f_bavail == 40 &&
	      sfs.f_namelen == 255, "statfs");

	/* opens the emulator refuses leave no fd behind */
	nfds = count_fds();
	snprintf(p, sizeof(p), "%s/file", mnt);
	CHECK(open(p, O_RDONLY) < 0 && errno == EACCES, "open refused");
	CHECK(!fopen(p, "r") && errno == EACCES, "fopen refused");
	CHECK(!opendir(mnt) && errno == EACCES, "opendir refused");
	CHECK(count_fds() == nfds, "fds leaked: %d -> %d", nfds, count_fds());

	/* daemon side: /dev/fuse is the emulated device */
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/fakedev", dir);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && stat(p, &rst) == 0 &&
	      st.st_ino == rst.st_ino, "/dev/fuse redirected");
	snprintf(buf, sizeof(buf), "fd=%d,rootmode=40000,user_id=0,group_id=0",
		 fd);
	snprintf(p, sizeof(p), "%s/real", dir);
	CHECK(mount("x", p, "fuse.mock", 0, buf) < 0 &&
	      errno == (geteuid() ? EPERM : EINVAL),
	      "mount with a device that is not one");
	close(fd);
	CHECK(umount2(mnt, MNT_DETACH) == 0, "umount2");

	/* fusermount3 -u through posix_spawnp and through fork + execvp */
	{
		char *const uargv[] = { "fusermount3", "-u", "-q", "-z", "--",
					mnt, NULL };
		char *const vargv[] = { "fusermount3", "-V", NULL };

		CHECK(posix_spawnp(&pid, "fusermount3", NULL, NULL, uargv,
				   environ) == 0 && run_status(pid) == 0,
		      "posix_spawnp fusermount3 -u");
		pid = fork();
		if (pid == 0) {
			int nul = open("/dev/null", O_WRONLY);

			dup2(nul, 1);
			execvp("fusermount3", vargv);
			_exit(99);
		}
		CHECK(run_status(pid) == 0, "fusermount3 -V");
	}

	/* a signal interrupts a call: FDP_OP_INTERRUPT, then EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	{
		struct itimerval it = { .it_value = { 0, 200000 } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	snprintf(p, sizeof(p), "%s/slow", mnt);
	CHECK(stat(p, &st) < 0 && errno == EINTR, "interrupted stat");

	/* threads: one connection each */
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, stat_thread, NULL);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &ret);
		CHECK(ret == NULL, "thread %d: %ld bad", i, (long)(intptr_t)ret);
	}

	/* fork: the child talks on a connection of its own */
	pid = fork();
	if (pid == 0)
		_exit(stat(mnt, &st) == 0 && st.st_ino == 1 ? 0 : 1);
	CHECK(run_status(pid) == 0, "stat in a fork child");
	CHECK(stat(mnt, &st) == 0 && st.st_ino == 1, "stat after fork");

	/* close() leaves the shim's socket alone */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	CHECK(stat(mnt, &st) == 0 && st.st_ino == 1, "stat after closing all");

	/* the emulator goes away mid-call */
	snprintf(p, sizeof(p), "%s/die", mnt);
	CHECK(stat(p, &st) < 0 && errno == ENOTCONN, "emulator gone");

	return failures ? 1 : 0;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char self[PATH_MAX], env_dir[PATH_MAX + 16], env_pre[PATH_MAX + 16];
	pthread_t th;
	pid_t pid;
	int lfd, status;
	ssize_t n;

	if (argc == 4 && !strcmp(argv[1], "--client")) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
		if (!getenv("LD_PRELOAD")) {
			fprintf(stderr, "client without the shim\n");
			return 1;
		}
		return client();
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBMOUNTSHIM_SO\n", argv[0]);
		return 1;
	}
	if (access(argv[1], R_OK) < 0) {
		printf("SKIP: %s: %s\n", argv[1], strerror(errno));
		return 77;
	}
	if (setup() < 0) {
		perror("setup");
		cleanup();
		return 1;
	}
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.60s/port", dir);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 16) < 0) {
		perror("port");
		cleanup();
		return 1;
	}
	pthread_create(&th, NULL, server, &lfd);

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		cleanup();
		return 1;
	}
	self[n] = '\0';
	snprintf(env_dir, sizeof(env_dir), "FUSEDEV_DIR=%s", dir);
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", argv[1]);
	pid = fork();
	if (pid == 0) {
		char *cargv[] = { self, "--client", dir, "x", NULL };
		char *cenv[8] = { env_dir, env_pre, "PATH=/usr/bin:/bin" };
		static const char *const pass[] = { "ASAN_OPTIONS",
						    "UBSAN_OPTIONS" };
		int k = 3;
		size_t i;

		/* A sanitizer build's child needs its options too. */
		for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
			char *v = getenv(pass[i]);

			if (v && asprintf(&cenv[k], "%s=%s", pass[i], v) > 0)
				k++;
		}
		if (getenv("FUSEDEV_DEBUG"))
			cenv[k++] = "FUSEDEV_DEBUG=all";
		cenv[k] = NULL;

		execve(self, cargv, cenv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	shutdown(lfd, SHUT_RDWR);
	close(lfd);

	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "FAIL: client status %#x\n", status);
		failures++;
	}
	CHECK(rec.hello >= 3, "hello count %d", rec.hello);
	/* The emulator applies the umask: the shim sends both. */
	CHECK(rec.mkdir_mode == 0777 && rec.mkdir_umask == 022,
	      "mkdir mode %#o umask %#o (0777, 022)", rec.mkdir_mode,
	      rec.mkdir_umask);
	CHECK(rec.rename_flags == RENAME_NOREPLACE, "rename flags %#x",
	      rec.rename_flags);
	{
		char want[PATH_MAX + 16];

		snprintf(want, sizeof(want), "%s/dir", mnt);
		CHECK(!strcmp(rec.rename_to, want), "rename target %s",
		      rec.rename_to);
	}
	CHECK(rec.chmod_mode == 04751, "chmod mode %#o", rec.chmod_mode);
	CHECK(rec.chown_arg == ((uint64_t)11 << 32 | 0xffffffffu),
	      "chown arg %#llx", (unsigned long long)rec.chown_arg);
	CHECK(rec.access_flags == AT_EACCESS, "access flags %#x",
	      rec.access_flags);
	CHECK(rec.umounts == 2 && rec.umount_flags == MNT_DETACH,
	      "umounts %d flags %#x", rec.umounts, rec.umount_flags);
	CHECK(rec.interrupts == 1, "interrupts %d", rec.interrupts);
	CHECK(rec.opens == 3, "opens %d", rec.opens);
	cleanup();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("mockport: all checks passed\n");
	return 0;
}
