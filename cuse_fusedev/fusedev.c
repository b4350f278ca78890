/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fusedev: run a program under emulation.  See fusedev(1).
 *
 *   fusedev run [-t TRANSPORT] [-d DIR] [-v] [--] CMD [ARG]...
 *
 * Uses the emulator serving $FUSEDEV_DIR (or -d DIR) when one is alive
 * there; otherwise starts a private one in a fresh directory, waits until
 * it is ready, runs CMD with FUSEDEV_DIR and LD_PRELOAD set, then stops
 * the private emulator.  Exits with CMD's status.
 *
 * Run as fusermount3 or fusermount (the links in an emulator's runtime
 * directory, bin/), it is the mount helper of that emulator: see
 * "fusermount3 and fusermount" below.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "exekind.h"
#include "fusedev.h"
#include "fusedev_port.h"

#define READY_TIMEOUT_MS	15000
#define STOP_TIMEOUT_MS		10000

static bool verbose;
static pid_t child_pid;

void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fusedev: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(127);
}

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: fusedev run [-t auto|cuse|fusefile] [-d DIR] [-s] [-v] [--] CMD\n"
"                   [ARG]...\n"
"Run CMD with FUSE daemons and file systems served by cuse_fusedev.\n"
"\n"
"  -t, --transport=T  transport of a private emulator (auto)\n"
"  -d, --dir=DIR      use or start the emulator of runtime directory DIR\n"
"  -s, --strict       refuse static and Go programs (not FUSE daemons),\n"
"                     which the shim cannot enter\n"
"  -v, --verbose      the emulator logs mounts and connections\n"
"  -h, --help         this help\n");
}

/* Where a sibling of this program lives: the build tree keeps
 * cuse_fusedev beside fusedev and the shim in ../mountshim. */
char *locate(const char *env, const char *rel, const char *installed)
{
	char exe[PATH_MAX], *dir, *p;
	const char *e = getenv(env);
	ssize_t n;

	if (e && *e)
		return strdup(e);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		if (asprintf(&p, "%s/%s", dir, rel) > 0) {
			if (access(p, R_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup(installed);
}

/* An emulator is alive at @dir when its mount table names a live pid. */
bool emulator_alive(const char *dir)
{
	char path[PATH_MAX];
	struct fusedev_mtab *mt;
	bool alive = false;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, FUSEDEV_MTAB_NAME);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	mt = mmap(NULL, sizeof(*mt), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (mt == MAP_FAILED)
		return false;
	if (mt->magic == FUSEDEV_MTAB_MAGIC && mt->emulator_pid > 0 &&
	    kill(mt->emulator_pid, 0) == 0)
		alive = true;
	munmap(mt, sizeof(*mt));
	return alive;
}

ssize_t fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while ((n = pread(*(int *)ctx, buf, len, off)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : n;
}

static pid_t start_emulator(const char *emu, const char *dir,
			    const char *transport)
{
	char fdarg[32];
	char buf[16];
	int pfd[2], r;
	struct pollfd pf;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		const char *argv[64];
		char *wrap = getenv("FUSEDEV_EMULATOR_WRAPPER");
		int i = 0;

		/* The emulator must never see its own shim. */
		unsetenv("LD_PRELOAD");
		fcntl(pfd[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "--ready-fd=%d", pfd[1]);
		/* e.g. "valgrind --error-exitcode=99": the test setups run
		 * the emulator under a checker. */
		if (wrap && *wrap) {
			char *tok, *save;

			wrap = strdup(wrap);
			for (tok = strtok_r(wrap, " ", &save); tok && i < 48;
			     tok = strtok_r(NULL, " ", &save))
				argv[i++] = tok;
			unsetenv("FUSEDEV_EMULATOR_WRAPPER");
		}
		argv[i++] = emu;
		argv[i++] = "-f";
		argv[i++] = "-d";
		argv[i++] = dir;
		argv[i++] = "-t";
		argv[i++] = transport;
		argv[i++] = fdarg;
		if (verbose)
			argv[i++] = "-v";
		argv[i] = NULL;
		setpgid(0, 0);
		/* A private emulator does not outlive its fusedev. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "fusedev: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	pf.fd = pfd[0];
	pf.events = POLLIN;
	r = poll(&pf, 1, READY_TIMEOUT_MS);
	if (r <= 0 || read(pfd[0], buf, sizeof(buf)) <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		die("the emulator did not start%s (see its message above)",
		    r == 0 ? " within 15 s" : "");
	}
	close(pfd[0]);
	return pid;
}

/* Wait for @pid's exit (its pidfd becomes readable) for at most @ms. */
static int wait_deadline(pid_t pid, int *status, int ms)
{
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pf = { .fd = pfd, .events = POLLIN };

	if (pfd >= 0) {
		while (poll(&pf, 1, ms) < 0 && errno == EINTR)
			;
		close(pfd);
	} else {
		/* No pidfd (old kernel, or under valgrind): look every
		 * 10 ms until the deadline. */
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		for (; ms > 0; ms -= 10) {
			if (waitpid(pid, status, WNOHANG) == pid)
				return 0;
			nanosleep(&ts, NULL);
		}
	}
	return waitpid(pid, status, WNOHANG) == pid ? 0 : -1;
}

/* Stop the emulator; its exit status (128 + signal if killed). */
static int stop_emulator(pid_t pid, const char *dir, bool rm)
{
	int status = 0;

	const char *wrap = getenv("FUSEDEV_EMULATOR_WRAPPER");

	kill(pid, SIGTERM);
	/* A checker (valgrind's leak check) needs longer to finish. */
	if (wait_deadline(pid, &status, wrap && *wrap ? 6 * STOP_TIMEOUT_MS :
				  STOP_TIMEOUT_MS) < 0) {
		fprintf(stderr, "fusedev: emulator %d did not stop; killing\n",
			pid);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (rm && rmdir(dir) < 0 && errno != ENOENT)
		fprintf(stderr, "fusedev: %s left behind: %s\n", dir,
			strerror(errno));
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
				     WEXITSTATUS(status);
}

/*
 * CMD as execvp(3) finds it, judged as the shim judges every program
 * exec'd under it (core/exekind.h): said when the shim cannot enter it;
 * under FUSEDEV_UNSHIMMED=refuse (--strict) refused, exit 126.
 */
static void check_command(const char *file)
{
	const char *path = getenv("PATH"), *p, *e;
	char cand[PATH_MAX], msg[PATH_MAX + 256];
	int policy = fdx_policy(getenv(FUSEDEV_ENV_UNSHIMMED)), fd = -1, r;
	unsigned int flags = policy == FDX_REFUSE ? FDX_PROBE_LIBS : 0;
	struct fdx_probe pr;
	struct stat st;

	if (policy == FDX_ALLOW)
		return;
	if (strchr(file, '/')) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		snprintf(cand, sizeof(cand), "%s", file);
	}
	for (p = path ? path : "/bin:/usr/bin"; !strchr(file, '/');
	     p = e + 1) {
		e = strchrnul(p, ':');
		snprintf(cand, sizeof(cand), "%.*s%s%s", (int)(e - p), p,
			 e > p ? "/" : "", file);
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			fd = open(cand, O_RDONLY | O_CLOEXEC);
			break;
		}
		if (!*e)
			break;
	}
	if (fd < 0 || fdx_probe(fd_pread, &fd, flags, &pr) < 0)
		goto out;
	if (pr.kind == FDX_SCRIPT && pr.interp[0] == '/') {
		/* its interpreter is what runs */
		close(fd);
		snprintf(cand, sizeof(cand), "%s", pr.interp);
		fd = open(cand, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fdx_probe(fd_pread, &fd, flags, &pr) < 0)
			goto out;
	}
	r = fdx_verdict(&pr, policy, "fusedev", cand, msg, sizeof(msg));
	if (r)
		fprintf(stderr, "%s\n", msg);
	if (r < 0)
		exit(126);
out:
	if (fd >= 0)
		close(fd);
}

/*
 * DIR/bin first in PATH: its fusermount3 and fusermount mount on this
 * emulator whoever runs them (see above).  Without them a daemon the
 * shim cannot enter would run the set-user-ID helper: said, not fatal.
 */
static void set_path(const char *dir)
{
	char bin[PATH_MAX], helper[PATH_MAX + 16], *path;
	const char *old = getenv("PATH");
	size_t n;

	if (!realpath(dir, bin) ||
	    strlen(bin) + sizeof("/" FUSEDEV_BIN_NAME) > sizeof(bin))
		die("%s: %s", dir, strerror(errno ? errno : ENAMETOOLONG));
	strcat(bin, "/" FUSEDEV_BIN_NAME);
	snprintf(helper, sizeof(helper), "%s/fusermount3", bin);
	if (access(helper, X_OK) < 0)
		fprintf(stderr, "fusedev: %s: %s: daemons without the shim "
			"would mount kernel FUSE\n", helper, strerror(errno));
	n = strlen(bin);
	if (!old)
		old = "/usr/local/bin:/usr/bin:/bin";
	if (!strncmp(old, bin, n) && (old[n] == ':' || !old[n]))
		return;
	if (asprintf(&path, "%s:%s", bin, old) < 0)
		die("out of memory");
	setenv("PATH", path, 1);
	free(path);
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *transport = getenv("FUSEDEV_TRANSPORT");
	const char *dir = getenv(FUSEDEV_ENV_DIR);
	char tmpl[PATH_MAX], defdir[PATH_MAX], *emu, *shim, *preload;
	const char *old;
	pid_t epid = 0;
	bool private_dir = false;
	int c, status, estatus = 0;

	if (!transport || !*transport)
		transport = "auto";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:d:svh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 't':
			transport = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 's':
			setenv(FUSEDEV_ENV_UNSHIMMED, "refuse", 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(transport, "auto") && strcmp(transport, "cuse") &&
	    strcmp(transport, "fusefile"))
		die("unknown transport '%s' (auto, cuse, fusefile)", transport);
	check_command(argv[optind]);
	if (!strcmp(transport, "auto") && access("/dev/cuse", F_OK) < 0 &&
	    access("/dev/fuse", R_OK | W_OK) < 0)
		die("no transport: /dev/cuse is missing (load the cuse module) "
		    "and /dev/fuse is not usable (%s)", strerror(errno));

	emu = locate("FUSEDEV_EMULATOR", "cuse_fusedev",
		     FUSEDEV_SBINDIR "/cuse_fusedev");
	shim = locate("FUSEDEV_SHIM", "../mountshim/libmountshim.so",
		      FUSEDEV_LIBDIR "/libmountshim.so");
	if (access(shim, R_OK) < 0)
		die("cannot find the shim %s: %s", shim, strerror(errno));

	/* No directory named: an emulator serving the default one is
	 * used when alive (the shim finds it there too). */
	if (!getenv(FUSEDEV_ENV_DIR) && !dir) {
		fusedev_default_dir(defdir, sizeof(defdir));
		if (emulator_alive(defdir))
			dir = defdir;
	}
	if (!dir || !*dir || !emulator_alive(dir)) {
		if (!dir || !*dir) {
			const char *base = getenv("TMPDIR");

			snprintf(tmpl, sizeof(tmpl), "%s/fusedev.XXXXXX",
				 base && *base ? base : "/tmp");
			if (!mkdtemp(tmpl))
				die("mkdtemp %s: %s", tmpl, strerror(errno));
			dir = tmpl;
			private_dir = true;
		}
		if (access(emu, X_OK) < 0)
			die("cannot run the emulator %s: %s", emu,
			    strerror(errno));
		epid = start_emulator(emu, dir, transport);
	}

	setenv(FUSEDEV_ENV_DIR, dir, 1);
	set_path(dir);
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", shim, old) < 0)
			die("out of memory");
	} else {
		preload = shim;
	}
	setenv("LD_PRELOAD", preload, 1);

	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	child_pid = fork();
	if (child_pid < 0)
		die("fork: %s", strerror(errno));
	if (!child_pid) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "fusedev: %s: %s\n", argv[optind],
			strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (epid)
		estatus = stop_emulator(epid, dir, private_dir);
	if (preload != shim)
		free(preload);
	free(shim);
	free(emu);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (estatus && (!WEXITSTATUS(status) || WEXITSTATUS(status) == 77)) {
		/* A crash or a checker's complaint fails the run. */
		fprintf(stderr, "fusedev: the emulator exited with status "
			"%d\n", estatus);
		return 1;
	}
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	const char *fm = fm_name();

	if (fm)
		return fusermount_main(fm, argv);
	if (argc >= 3 && !strcmp(argv[1], FM_STAGE2))
		return fusermount_stage2(argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("fusedev %s\n", FUSEDEV_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}
