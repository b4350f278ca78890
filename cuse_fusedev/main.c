/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cuse_fusedev: options, the runtime directory, start and orderly stop.
 * See cuse_fusedev(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "emu.h"
#include "sock.h"

int emu_debug;
struct emu_options emu_opts = {
	.transport = "auto",
	.devname = FUSEDEV_CUSE_DEFAULT,
	.devmode = 0600,
	.ready_fd = -1,
};

static char dirbuf[FUSEDEV_PATH_MAX];
static int sig_fd = -1;

void emu_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cuse_fusedev[%d]: ", getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: cuse_fusedev [OPTION]...\n"
"Serve an emulated /dev/fuse and the file systems mounted on it.\n"
"\n"
"  -t, --transport=auto|cuse|fusefile  how to register the device (auto)\n"
"  -d, --dir=DIR        runtime directory (default $FUSEDEV_DIR, else\n"
"                       /run/fusedev for root, else $XDG_RUNTIME_DIR/fusedev)\n"
"  -n, --name=NAME      CUSE device name, /dev/NAME (fusedev)\n"
"  -m, --mode=OCTAL     mode of the device node or file (0600)\n"
"  -o, --owner=USER[:GROUP]  owner of the device node or file (ours)\n"
"  -f, --foreground     do not detach\n"
"      --ready-fd=N     write \"ready\\n\" to fd N once serving\n"
"  -v, --verbose        log mounts and connections (FUSEDEV_DEBUG=1);\n"
"                       twice: every request and reply (FUSEDEV_DEBUG=2)\n"
"  -h, --help           this help\n"
"  -V, --version        print the version\n");
}

static int default_dir(void)
{
	const char *env = getenv(FUSEDEV_ENV_DIR);

	if (emu_opts.dir)
		return 0;
	if (env && *env)
		snprintf(dirbuf, sizeof(dirbuf), "%s", env);
	else
		fusedev_default_dir(dirbuf, sizeof(dirbuf));
	emu_opts.dir = dirbuf;
	return 0;
}

static const char *const fusermount_names[] = { "fusermount3",
						 "fusermount" };

/* fusedev(1), whose fusermount3 role bin/ links to: beside this program
 * (the build tree), else the installed one. */
static int fusedev_path(char *buf, size_t size)
{
	char exe[FUSEDEV_PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash && (size_t)(slash - exe) + sizeof("/fusedev") <=
			     size) {
			memcpy(slash, "/fusedev", sizeof("/fusedev"));
			memcpy(buf, exe, slash - exe + sizeof("/fusedev"));
			if (access(buf, X_OK) == 0)
				return 0;
		}
	}
	snprintf(buf, size, "%s/fusedev", FUSEDEV_BINDIR);
	return access(buf, X_OK) < 0 ? -errno : 0;
}

/*
 * bin/fusermount3 and bin/fusermount: what a daemon the shim cannot enter
 * (Go, static) runs to mount, found through the PATH fusedev run sets.
 * Without them such a daemon would run the set-user-ID helper and mount
 * kernel FUSE, so a failure is said, though the emulator still serves.
 */
static void make_bin(void)
{
	char target[FUSEDEV_PATH_MAX], path[FUSEDEV_PATH_MAX];
	size_t i;
	int r;

	r = fusedev_path(target, sizeof(target));
	if (r < 0) {
		emu_log("fusedev not found (%s): no %s/%s", strerror(-r),
			emu_opts.dir, FUSEDEV_BIN_NAME);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, FUSEDEV_BIN_NAME);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		emu_log("%s: %s", path, strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(fusermount_names) / sizeof(char *); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", emu_opts.dir,
			 FUSEDEV_BIN_NAME, fusermount_names[i]);
		unlink(path);
		if (symlink(target, path) < 0)
			emu_log("%s: %s", path, strerror(errno));
	}
}

/* The runtime directory: ours alone, and not another live emulator's. */
static int prepare_dir(void)
{
	char path[FUSEDEV_PATH_MAX];
	struct stat st;
	FILE *fp;
	int pid;

	if (mkdir(emu_opts.dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(emu_opts.dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		emu_log("%s: not a directory owned by uid %u", emu_opts.dir,
			geteuid());
		return -EPERM;
	}
	snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, FUSEDEV_PID_NAME);
	fp = fopen(path, "re");
	if (fp) {
		if (fscanf(fp, "%d", &pid) == 1 && pid > 0 && pid != getpid() &&
		    kill(pid, 0) == 0) {
			fclose(fp);
			emu_log("an emulator already serves %s (pid %d)",
				emu_opts.dir, pid);
			return -EEXIST;
		}
		fclose(fp);
	}
	fp = fopen(path, "we");
	if (!fp)
		return -errno;
	fprintf(fp, "%d\n", getpid());
	fclose(fp);
	make_bin();
	return 0;
}

static void cleanup_dir(void)
{
	const char *names[] = { FUSEDEV_PID_NAME, FUSEDEV_MTAB_NAME,
				FUSEDEV_UNSHIMMED_NAME };
	char path[FUSEDEV_PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(fusermount_names) / sizeof(char *); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", emu_opts.dir,
			 FUSEDEV_BIN_NAME, fusermount_names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, FUSEDEV_BIN_NAME);
	rmdir(path);
	vsock_cleanup(emu_opts.dir);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, names[i]);
		unlink(path);
	}
}

static void signal_ready(void *data, int revents)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		emu_dbg("signal %u: stopping", si.ssi_signo);
		loop_stop();
	}
}

/* USER[:GROUP], names or numbers; the group defaults to the user's. */
static int parse_owner(const char *arg)
{
	char *copy = strdup(arg), *grp, *end;
	struct passwd *pw;
	struct group *gr;
	int r = -1;

	if (!copy)
		return -1;
	grp = strchr(copy, ':');
	if (grp)
		*grp++ = '\0';
	pw = getpwnam(copy);
	if (pw) {
		emu_opts.devuid = pw->pw_uid;
		emu_opts.devgid = pw->pw_gid;
	} else {
		emu_opts.devuid = strtoul(copy, &end, 10);
		if (!*copy || *end)
			goto out;
	}
	if (grp && *grp) {
		gr = getgrnam(grp);
		if (gr) {
			emu_opts.devgid = gr->gr_gid;
		} else {
			emu_opts.devgid = strtoul(grp, &end, 10);
			if (*end)
				goto out;
		}
	}
	r = 0;
out:
	free(copy);
	return r;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "owner", required_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "t:d:n:m:o:fvhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 't':
			emu_opts.transport = optarg;
			break;
		case 'd':
			emu_opts.dir = optarg;
			break;
		case 'n':
			if (!*optarg || strchr(optarg, '/')) {
				emu_log("bad device name '%s'", optarg);
				return -1;
			}
			emu_opts.devname = optarg;
			break;
		case 'm':
			emu_opts.devmode = strtoul(optarg, &end, 8);
			if (*end || emu_opts.devmode > 07777) {
				emu_log("bad mode '%s'", optarg);
				return -1;
			}
			break;
		case 'o':
			if (parse_owner(optarg) < 0) {
				emu_log("bad owner '%s' (USER[:GROUP])", optarg);
				return -1;
			}
			break;
		case 'f':
			emu_opts.foreground = true;
			break;
		case 'R':
			emu_opts.ready_fd = atoi(optarg);
			break;
		case 'v':
			emu_debug++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("cuse_fusedev %s\n", FUSEDEV_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		emu_log("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[FUSEDEV_PATH_MAX];
	const char *dbg = getenv("FUSEDEV_DEBUG");
	sigset_t mask;
	int r, status = 1;

	if (dbg && *dbg && strcmp(dbg, "0"))
		emu_debug = atoi(dbg) > 1 ? atoi(dbg) : 1;
	emu_opts.devuid = getuid();
	emu_opts.devgid = getgid();
	if (parse_args(argc, argv) < 0)
		return 2;
	default_dir();
	if (!emu_opts.foreground && daemon(1, 1) < 0) {
		emu_log("daemon: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	r = prepare_dir();
	if (r < 0) {
		if (r != -EEXIST && r != -EPERM)
			emu_log("runtime directory %s: %s", emu_opts.dir,
				strerror(-r));
		return 1;
	}
	r = loop_init();
	if (r < 0) {
		emu_log("io_uring: %s", strerror(-r));
		goto out_dir;
	}
	r = loop_add_fd(sig_fd, POLLIN, signal_ready, NULL);
	if (r < 0)
		goto out_loop;
	r = transport_start(emu_opts.transport);
	if (r < 0)
		goto out_loop;
	r = vfs_init();
	if (r < 0) {
		emu_log("mount table: %s", strerror(-r));
		goto out_transport;
	}
	snprintf(path, sizeof(path), "%s/%s", emu_opts.dir, FUSEDEV_PORT_NAME);
	r = port_start(path);
	if (r < 0) {
		emu_log("client port %s: %s", path, strerror(-r));
		goto out_transport;
	}
	r = vsock_init(emu_opts.dir);
	if (r < 0) {
		emu_log("%s/%s: %s", emu_opts.dir, FUSEDEV_SOCK_NAME,
			strerror(-r));
		goto out_transport;
	}
	emu_dbg("serving %s in %s", emu_device_path, emu_opts.dir);
	if (emu_opts.ready_fd >= 0) {
		if (write(emu_opts.ready_fd, "ready\n", 6) != 6)
			emu_dbg("ready fd: %s", strerror(errno));
		close(emu_opts.ready_fd);
	}
	r = loop_run();
	status = r < 0 ? 1 : 0;
	vfs_shutdown();
	port_stop();
	loop_drain();
	port_exit();
	vfs_free_all();
	transport_stop();
	dev_free_all();
	goto out_loop;
out_transport:
	transport_stop();
out_loop:
	loop_exit();
out_dir:
	cleanup_dir();
	return r < 0 ? 1 : status;
}
