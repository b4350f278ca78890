/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fusedev as fusermount3 and fusermount: the mount helper of one
 * emulator.  See fusedev(1), FILES.
 *
 * DIR/bin/fusermount3 and DIR/bin/fusermount link to fusedev, and fusedev
 * run puts DIR/bin first in PATH: a daemon the shim cannot enter (Go's
 * go-fuse and bazil, a static program) runs its mount helper from there,
 * with an environment of its own (go-fuse passes only _FUSE_COMMFD).
 * Run by those names, fusedev takes its emulator from where it was run
 * (AT_EXECFN), never from the environment, and gives the job to the
 * shim's own fusermount emulation (mountshim/shim_daemon.c): it runs
 * itself again with the shim preloaded for DIR, and there execs the
 * helper's name, which the shim's exec wrapper does in-process (mount,
 * unmount, auto_unmount, the fd back over _FUSE_COMMFD).  Only an unmount
 * of something that is not an emulated mount reaches the real set-user-ID
 * helper.  Nothing here ever mounts kernel FUSE: without a live emulator
 * (or when the shim is not active in the second stage) it refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "exekind.h"
#include "fusedev.h"
#include "fusedev_port.h"

static int fm_refuse(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fm_refuse(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(": refusing to mount with kernel FUSE under fusedev\n", stderr);
	return 1;
}

const char *fm_name(void)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	const char *b = fn ? strrchr(fn, '/') : NULL;

	b = b ? b + 1 : fn;
	if (b && (!strcmp(b, "fusermount3") || !strcmp(b, "fusermount")))
		return b;
	return NULL;
}

/* The runtime directory whose bin/ we were run from, into @dir. */
static int fm_dir(char *dir)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	char path[PATH_MAX], *p;

	if (!fn || snprintf(path, sizeof(path), "%s", fn) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	p = strrchr(path, '/');
	if (!p)
		return -ENOENT;
	*p = '\0';
	if (!realpath(path[0] ? path : "/", dir))
		return -errno;
	p = strrchr(dir, '/');
	if (!p || strcmp(p + 1, FUSEDEV_BIN_NAME))
		return -ENOENT;
	*p = '\0';
	return 0;
}

/* @env with every NAME= of @drop removed and @add[] added. */
static char **fm_env(const char *const *drop, char **add)
{
	extern char **environ;
	size_t n = 0, i, j, k = 0;
	char **env;

	while (environ[n])
		n++;
	for (j = 0; add[j]; j++)
		;
	env = calloc(n + j + 1, sizeof(char *));
	if (!env)
		die("out of memory");
	for (i = 0; i < n; i++) {
		for (j = 0; drop[j]; j++)
			if (!strncmp(environ[i], drop[j], strlen(drop[j])))
				break;
		if (!drop[j])
			env[k++] = environ[i];
	}
	for (j = 0; add[j]; j++)
		env[k++] = add[j];
	env[k] = NULL;
	return env;
}

/* Is @argv (fusermount's arguments) an unmount (-u, --unmount)? */
static bool fm_unmount(char **argv)
{
	const char *s;
	int i;

	for (i = 1; argv[i] && strcmp(argv[i], "--"); i++) {
		s = argv[i];
		if (!strcmp(s, "--unmount"))
			return true;
		if (s[0] != '-' || s[1] == '-')
			continue;
		for (s++; *s && *s != 'o'; s++)
			if (*s == 'u')
				return true;
		if (*s == 'o' && !s[1] && argv[i + 1])
			i++;	/* -o's argument */
	}
	return false;
}

/*
 * go-fuse's WaitMount, once INIT is done, opens MOUNTPOINT/
 * .go-fuse-epoll-hack with its own system calls (and fails the mount when
 * that fails); on a kernel mount the daemon answers that name itself.
 * Under emulation the open reaches the directory under the mountpoint,
 * so for a go-fuse daemon (our caller, with the mountpoint as its first
 * argument, as go-fuse runs its helper) an empty placeholder is made
 * there, and a watcher removes it as soon as it is opened, or after
 * FM_PLACEHOLDER_MS.  Anything in the way (the name exists, the directory
 * is not writable) leaves things as they are.
 */
#define FM_PLACEHOLDER		".go-fuse-epoll-hack"
#define FM_PLACEHOLDER_MS	15000

static bool fm_caller_gofuse(void)
{
	struct fdx_probe p;
	char exe[64];
	int fd, r;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)getppid());
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = fdx_probe(fd_pread, &fd, FDX_PROBE_LIBS, &p);
	close(fd);
	return r == 0 && p.kind == FDX_GO && (p.libs & FDX_LIB_GOFUSE);
}

static void fm_watch_placeholder(int dfd, int in, const struct stat *st)
{
	struct pollfd pf = { .fd = in, .events = POLLIN };
	struct stat now;
	char buf[4096];
	int devnull, lo, hi;

	/* nothing of the caller's: no socket, no pipe kept open */
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	lo = dfd < in ? dfd : in;
	hi = dfd < in ? in : dfd;
	close_range(3, lo - 1, 0);
	close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0u, 0);
	while (poll(&pf, 1, FM_PLACEHOLDER_MS) < 0 && errno == EINTR)
		;
	if (read(in, buf, sizeof(buf)) < 0)
		(void)0;
	/* raw calls: a shim in this process must not route them */
	if (syscall(SYS_newfstatat, dfd, FM_PLACEHOLDER, &now,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		syscall(SYS_unlinkat, dfd, FM_PLACEHOLDER, 0);
	_exit(0);
}

static void fm_gofuse_placeholder(char **argv)
{
	char path[PATH_MAX];
	struct stat st;
	int dfd, fd, in;
	pid_t pid;

	if (!argv[1] || argv[1][0] == '-' || fm_unmount(argv) ||
	    !fm_caller_gofuse())
		return;
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	fd = openat(dfd, FM_PLACEHOLDER, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto out;
	close(fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd,
		 FM_PLACEHOLDER);
	in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, path, IN_OPEN | IN_DELETE_SELF |
					IN_MOVE_SELF) < 0) {
		unlinkat(dfd, FM_PLACEHOLDER, 0);
		goto out_in;
	}
	pid = fork();
	if (pid == 0)
		fm_watch_placeholder(dfd, in, &st);
	if (pid < 0)
		unlinkat(dfd, FM_PLACEHOLDER, 0);
out_in:
	if (in >= 0)
		close(in);
out:
	close(dfd);
}

/* First stage: the emulator of our directory, then ourselves again with
 * its shim preloaded. */
int fusermount_main(const char *prog, char **argv)
{
	static const char *const drop[] = { FUSEDEV_ENV_DIR "=",
					    "LD_PRELOAD=", NULL };
	char dir[PATH_MAX], self[PATH_MAX], *shim, *add[3], **nargv, **env;
	const char *old = getenv("LD_PRELOAD");
	int argc = 0, r;
	ssize_t n;

	r = fm_dir(dir);
	if (r < 0)
		return fm_refuse(prog, "not run from an emulator's %s/ "
				 "directory", FUSEDEV_BIN_NAME);
	if (!emulator_alive(dir))
		return fm_refuse(prog, "no emulator serves %s", dir);
	shim = locate("FUSEDEV_SHIM", "../mountshim/libmountshim.so",
		      FUSEDEV_LIBDIR "/libmountshim.so");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || access(shim, R_OK) < 0)
		return fm_refuse(prog, "cannot find %s", n <= 0 ? "myself" :
				 shim);
	self[n] = '\0';
	fm_gofuse_placeholder(argv);
	if (asprintf(&add[0], "%s=%s", FUSEDEV_ENV_DIR, dir) < 0 ||
	    asprintf(&add[1], "LD_PRELOAD=%s%s%s", shim, old && *old ? ":" : "",
		     old && *old ? old : "") < 0)
		die("out of memory");
	add[2] = NULL;
	env = fm_env(drop, add);
	while (argv[argc])
		argc++;
	nargv = calloc(argc + 3, sizeof(char *));
	if (!nargv)
		die("out of memory");
	nargv[0] = self;
	nargv[1] = FM_STAGE2;
	nargv[2] = (char *)prog;
	memcpy(nargv + 3, argv + 1, argc * sizeof(char *));
	execve(self, nargv, env);
	return fm_refuse(prog, "cannot run %s: %s", self, strerror(errno));
}

/* The real helper @prog: in PATH, not one of our links, else /usr/bin. */
static char *fm_real_helper(const char *prog)
{
	char self[PATH_MAX], real[PATH_MAX], *path, *dir, *save, *p = NULL;
	const char *env = getenv("PATH");

	if (!realpath("/proc/self/exe", self))
		self[0] = '\0';
	path = strdup(env && *env ? env : "/usr/bin:/bin");
	for (dir = strtok_r(path, ":", &save); dir && !p;
	     dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&p, "%s/%s", *dir ? dir : ".", prog) < 0)
			die("out of memory");
		if (access(p, X_OK) < 0 || !realpath(p, real) ||
		    !strcmp(real, self)) {
			free(p);
			p = NULL;
		}
	}
	free(path);
	if (!p && asprintf(&p, "/usr/bin/%s", prog) < 0)
		die("out of memory");
	return p;
}

/*
 * Second stage, the shim preloaded: exec the helper by its name, which
 * the shim's exec wrapper does itself (and never returns) whenever the
 * job is its own.  A mount is exec'd at a path that cannot exist, so that
 * an inactive shim cannot let the real helper mount.
 */
int fusermount_stage2(char **argv)
{
	const char *prog = argv[0];
	char path[64];

	if (fm_unmount(argv)) {
		execv(fm_real_helper(prog), argv);
		fprintf(stderr, "%s: cannot run the real %s: %s\n", prog, prog,
			strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/null/%s", prog);
	execv(path, argv);
	return fm_refuse(prog, "the shim is not active for %s",
			 getenv(FUSEDEV_ENV_DIR));
}

