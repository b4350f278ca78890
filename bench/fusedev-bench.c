/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fusedev-bench: the passthrough example served by kernel FUSE and by the
 * emulation, measured in the same run, and the ratio of the two.
 *
 *	fusedev-bench --example build/examples/passthrough_ll \
 *		--fusedev build/cuse_fusedev/fusedev [--iterations N]
 *
 * Measured (timeouts 0, so every stat reaches the daemon):
 *   - stat() latency, median of N;
 *   - stat() of a file outside the mount (the source directory), median
 *     of 20 N: the kernel's stat, and under emulation what the shim adds
 *     to every call by path that is not its (reading and routing the
 *     path);
 *   - open()+close() latency, median of N;
 *   - sequential read of a 64 MiB file with 1 MiB read()s, MiB/s, the
 *     median of 3 runs.
 *
 * Process layout.  The top level makes a temporary source directory and
 * runs one "side" per transport, each in its own process group with a
 * deadline:
 *
 *   kernel:   fusedev-bench --serve kernel ...
 *   emulated: fusedev run -- fusedev-bench --serve emulated ...
 *
 * A side starts passthrough_ll on its mountpoint, waits until the mount is
 * usable (kernel: /proc/self/mountinfo lists it; both: a marker file is
 * visible through it), runs `fusedev-bench --measure MOUNTPOINT` and
 * stops the daemon.  Under emulation the mount is visible only to
 * processes under the same `fusedev run`, which is why the daemon and the
 * measuring child both start from the side process.  The measuring child
 * prints "key value" lines that the top level parses; a side that fails
 * is reported as unavailable, with the reason, and the other side's
 * numbers are still printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define BENCH_MARKER		".fusedev-bench-marker"
#define BENCH_STAT_FILE		"stat-target"
#define BENCH_DATA_FILE		"data"
#define BENCH_READ_CHUNK	(1 << 20)
#define BENCH_READ_RUNS		3
#define BENCH_WARMUP		100
#define BENCH_OUTSIDE_FACTOR	20

#define MOUNT_DEADLINE_MS	15000
#define STOP_DEADLINE_MS	10000
#define SIDE_DEADLINE_MS	600000

struct bench_opts {
	const char *example;
	const char *fusedev;
	const char *source;
	const char *mount;
	long iterations;
	long size_mib;
	int verbose;
};

struct bench_result {
	int ok;
	char reason[256];
	double stat_us;
	double stat_out_ns;
	double open_us;
	double read_mibs;
};

static char self_path[PATH_MAX];

/* ---- time and small helpers ------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0) {
		perror("fusedev-bench");
		exit(1);
	}
	return p;
}

/*
 * Wait up to @ms for @pid to exit; its wait status in *@status.  Returns 0,
 * or -ETIMEDOUT with the child still running.
 */
static int wait_deadline(pid_t pid, int *status, long ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		pause_ms(10);
	}
}

/* Stop process group @pid: TERM, then KILL after @ms; reap the leader. */
static void stop_group(pid_t pid, long ms)
{
	int status;

	kill(-pid, SIGTERM);
	if (wait_deadline(pid, &status, ms) == 0)
		return;
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void describe_status(char *buf, size_t size, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status %#x", status);
}

/* ---- measuring child: fusedev-bench --measure DIR --------------------- */

static int measure(const char *dir, const char *outside, long iterations,
		   long size_mib)
{
	char *stat_path = join(dir, BENCH_STAT_FILE);
	char *data_path = join(dir, BENCH_DATA_FILE);
	int64_t *t = calloc(iterations * BENCH_OUTSIDE_FACTOR, sizeof(*t));
	int64_t runs[BENCH_READ_RUNS];
	char *buf = malloc(BENCH_READ_CHUNK);
	struct stat st;
	long i;

	if (!t || !buf) {
		fprintf(stderr, "fusedev-bench: out of memory\n");
		return 1;
	}
	for (i = 0; i < BENCH_WARMUP; i++) {
		if (stat(stat_path, &st) < 0) {
			fprintf(stderr, "fusedev-bench: stat %s: %m\n",
				stat_path);
			return 1;
		}
	}

	for (i = 0; i < iterations; i++) {
		int64_t t0 = now_ns();

		if (stat(stat_path, &st) < 0) {
			fprintf(stderr, "fusedev-bench: stat: %m\n");
			return 1;
		}
		t[i] = now_ns() - t0;
	}
	printf("stat_ns %lld\n", (long long)median(t, iterations));

	if (outside) {
		char *out_path = join(outside, BENCH_STAT_FILE);
		long n = iterations * BENCH_OUTSIDE_FACTOR;

		for (i = 0; i < n; i++) {
			int64_t t0 = now_ns();

			if (stat(out_path, &st) < 0) {
				fprintf(stderr, "fusedev-bench: stat %s: %m\n",
					out_path);
				return 1;
			}
			t[i] = now_ns() - t0;
		}
		printf("stat_out_ns %lld\n", (long long)median(t, n));
		free(out_path);
	}

	for (i = 0; i < iterations; i++) {
		int64_t t0 = now_ns();
		int fd = open(stat_path, O_RDONLY);

		if (fd < 0) {
			fprintf(stderr, "fusedev-bench: open: %m\n");
			return 1;
		}
		close(fd);
		t[i] = now_ns() - t0;
	}
	printf("open_ns %lld\n", (long long)median(t, iterations));

	for (i = 0; i < BENCH_READ_RUNS; i++) {
		int64_t t0 = now_ns(), total = 0;
		int fd = open(data_path, O_RDONLY);
		ssize_t n;

		if (fd < 0) {
			fprintf(stderr, "fusedev-bench: open %s: %m\n",
				data_path);
			return 1;
		}
		while ((n = read(fd, buf, BENCH_READ_CHUNK)) > 0)
			total += n;
		close(fd);
		if (n < 0 || total != size_mib << 20) {
			fprintf(stderr, "fusedev-bench: read %lld of %ld "
				"MiB: %s\n", (long long)total, size_mib,
				n < 0 ? strerror(errno) : "short");
			return 1;
		}
		runs[i] = now_ns() - t0;
	}
	printf("read_ns %lld\n", (long long)median(runs, BENCH_READ_RUNS));
	fflush(stdout);
	free(t);
	free(buf);
	free(stat_path);
	free(data_path);
	return 0;
}

/* ---- side: fusedev-bench --serve kernel|emulated ---------------------- */

/* Is @mnt a mount point in /proc/self/mountinfo? */
static int in_mountinfo(const char *mnt)
{
	char line[8192], point[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 &&
		    strcmp(point, mnt) == 0)
			found = 1;
	fclose(f);
	return found;
}

static pid_t spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "fusedev-bench: exec %s: %m\n", argv[0]);
		_exit(127);
	}
	return pid;
}

/*
 * Wait until @o->mount serves the source: for the kernel its mount is in
 * mountinfo, and for both the marker file is visible through it (before
 * the mount, the empty mountpoint directory has no marker).
 */
static int wait_mount(const struct bench_opts *o, int kernel, pid_t daemon)
{
	char *marker = join(o->mount, BENCH_MARKER);
	int64_t end = now_ms() + MOUNT_DEADLINE_MS;
	struct stat st;
	int status, r = 0;

	for (;;) {
		if ((!kernel || in_mountinfo(o->mount)) &&
		    stat(marker, &st) == 0)
			break;
		if (waitpid(daemon, &status, WNOHANG) == daemon) {
			char how[64];

			describe_status(how, sizeof(how), status);
			fprintf(stderr, "fusedev-bench: %s exited (%s) before "
				"its mount was usable\n", o->example, how);
			r = -ECHILD;
			break;
		}
		if (now_ms() >= end) {
			fprintf(stderr, "fusedev-bench: %s not mounted on %s "
				"after %d s\n", o->example, o->mount,
				MOUNT_DEADLINE_MS / 1000);
			r = -ETIMEDOUT;
			break;
		}
		pause_ms(20);
	}
	free(marker);
	return r;
}

static int serve(const struct bench_opts *o, int kernel)
{
	char iters[32], size[32], *opt;
	pid_t daemon, child;
	int status, ret = 1;

	if (asprintf(&opt, "source=%s,timeout=0", o->source) < 0)
		return 1;
	{
		char *dargv[] = { (char *)o->example, "-f", "-o", opt,
				  (char *)o->mount, NULL };

		/* The daemon's output must not mix with the results. */
		daemon = spawn(dargv, STDERR_FILENO);
	}
	if (daemon < 0) {
		perror("fusedev-bench: fork");
		return 1;
	}
	if (wait_mount(o, kernel, daemon) < 0)
		goto out_stop;

	snprintf(iters, sizeof(iters), "%ld", o->iterations);
	snprintf(size, sizeof(size), "%ld", o->size_mib);
	{
		char *margv[] = { self_path, "--measure", (char *)o->mount,
				  "--source", (char *)o->source,
				  "--iterations", iters, "--size", size,
				  NULL };

		child = spawn(margv, -1);
	}
	if (child < 0) {
		perror("fusedev-bench: fork");
		goto out_stop;
	}
	if (wait_deadline(child, &status, SIDE_DEADLINE_MS) < 0) {
		fprintf(stderr, "fusedev-bench: measuring timed out\n");
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		goto out_stop;
	}
	ret = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
out_stop:
	kill(daemon, SIGTERM);
	if (wait_deadline(daemon, &status, STOP_DEADLINE_MS) < 0) {
		kill(daemon, SIGKILL);
		waitpid(daemon, &status, 0);
	}
	if (kernel && in_mountinfo(o->mount))
		umount2(o->mount, MNT_DETACH);
	free(opt);
	return ret;
}

/* ---- top level -------------------------------------------------------- */

/* Fill @path with @mib MiB of a non-constant pattern. */
static int make_data(const char *path, long mib)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, *buf = malloc(1 << 20);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long i;
	size_t j;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < mib; i++) {
		for (j = 0; j < (1 << 20) / sizeof(*buf); j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = x;
		}
		if (write(fd, buf, 1 << 20) != 1 << 20) {
			int r = -errno;

			close(fd);
			free(buf);
			return r ? r : -EIO;
		}
	}
	free(buf);
	return close(fd) < 0 ? -errno : 0;
}

static int make_file(const char *dir, const char *name, const char *text)
{
	char *p = join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r = 0;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

/* Last non-empty line of @s, for a one-line reason. */
static void last_line(char *dst, size_t size, const char *s)
{
	const char *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(dst, size, "%.*s", (int)(end - start), start);
}

/* Append what @fd has to *@buf (bounded); 0 at EOF, 1 if more may come. */
static int drain(int fd, char **buf, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	char *p;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (*len + n > (1 << 20))
		return 1;
	p = realloc(*buf, *len + n + 1);
	if (!p)
		return 1;
	memcpy(p + *len, tmp, n);
	*len += n;
	p[*len] = '\0';
	*buf = p;
	return 1;
}

static void parse_results(struct bench_result *res, const char *out,
			  long size_mib)
{
	long long stat_ns = -1, open_ns = -1, read_ns = -1, out_ns = -1;
	const char *p;

	for (p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		sscanf(p, "stat_ns %lld", &stat_ns);
		sscanf(p, "stat_out_ns %lld", &out_ns);
		sscanf(p, "open_ns %lld", &open_ns);
		sscanf(p, "read_ns %lld", &read_ns);
	}
	if (stat_ns < 0 || open_ns < 0 || read_ns <= 0) {
		snprintf(res->reason, sizeof(res->reason),
			 "no results from the measuring child");
		return;
	}
	res->stat_us = stat_ns / 1e3;
	res->stat_out_ns = out_ns;
	res->open_us = open_ns / 1e3;
	res->read_mibs = size_mib / (read_ns / 1e9);
	res->ok = 1;
}

/*
 * Run one side (@argv) in its own process group, collect its stdout and
 * stderr with a deadline, and fill @res.
 */
static void run_side(char *const argv[], struct bench_result *res,
		     const struct bench_opts *o)
{
	int out[2], err[2], status, open_fds = 2;
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	int64_t end = now_ms() + SIDE_DEADLINE_MS + MOUNT_DEADLINE_MS;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		snprintf(res->reason, sizeof(res->reason), "pipe: %s",
			 strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		snprintf(res->reason, sizeof(res->reason), "fork: %s",
			 strerror(errno));
		goto out_close;
	}
	setpgid(pid, pid);
	while (open_fds > 0) {
		struct pollfd p[2] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
		};
		int64_t left = end - now_ms();
		int i;

		if (left <= 0) {
			stop_group(pid, STOP_DEADLINE_MS);
			snprintf(res->reason, sizeof(res->reason),
				 "timed out after %d s",
				 (SIDE_DEADLINE_MS + MOUNT_DEADLINE_MS) / 1000);
			goto out_close;
		}
		if (poll(p, 2, left > 1000 ? 1000 : left) < 0 &&
		    errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (!drain(p[i].fd, i ? &ebuf : &obuf,
				   i ? &elen : &olen)) {
				close(p[i].fd);
				if (i)
					err[0] = -1;
				else
					out[0] = -1;
				open_fds--;
			}
		}
	}
	if (wait_deadline(pid, &status, STOP_DEADLINE_MS) < 0) {
		stop_group(pid, STOP_DEADLINE_MS);
		status = -1;
	}
	if (o->verbose && ebuf)
		fprintf(stderr, "--- %s side:\n%s", argv[0], ebuf);
	if (status == 0) {
		parse_results(res, obuf ? obuf : "", o->size_mib);
	} else {
		char how[64], line[160] = "";

		if (status == -1)
			snprintf(how, sizeof(how), "did not exit");
		else
			describe_status(how, sizeof(how), status);
		if (ebuf)
			last_line(line, sizeof(line), ebuf);
		snprintf(res->reason, sizeof(res->reason), "%s%s%s", how,
			 *line ? ": " : "", line);
	}
out_close:
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	free(obuf);
	free(ebuf);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void print_row(const char *name, const char *unit, double k,
		      double e, int have_k, int have_e)
{
	char kb[32] = "-", eb[32] = "-", rb[32] = "-";

	if (have_k)
		snprintf(kb, sizeof(kb), "%.1f %s", k, unit);
	if (have_e)
		snprintf(eb, sizeof(eb), "%.1f %s", e, unit);
	if (have_k && have_e && k > 0)
		snprintf(rb, sizeof(rb), "%.2f", e / k);
	printf("%-30s %16s %16s %10s\n", name, kb, eb, rb);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fusedev-bench --example PATH_TO_passthrough_ll "
		"--fusedev PATH_TO_fusedev\n"
		"                     [--iterations N] [--size MIB] "
		"[--verbose]\n"
		"Measures the passthrough example under kernel FUSE and under "
		"emulation.\n");
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "example", required_argument, NULL, 'e' },
		{ "fusedev", required_argument, NULL, 'F' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		/* internal: the two child roles */
		{ "measure", required_argument, NULL, 'M' },
		{ "serve", required_argument, NULL, 'S' },
		{ "source", required_argument, NULL, 'R' },
		{ "mount", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .iterations = 2000, .size_mib = 64 };
	struct bench_result kres, eres;
	const char *measure_dir = NULL, *serve_mode = NULL;
	char tmpl[] = "/tmp/fusedev-bench.XXXXXX", iters[32], size[32];
	char *src, *mnt_k, *mnt_e, *label, label_buf[64];
	ssize_t n;
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.example = optarg; break;
		case 'F': o.fusedev = optarg; break;
		case 'n': o.iterations = atol(optarg); break;
		case 's': o.size_mib = atol(optarg); break;
		case 'v': o.verbose = 1; break;
		case 'M': measure_dir = optarg; break;
		case 'S': serve_mode = optarg; break;
		case 'R': o.source = optarg; break;
		case 'P': o.mount = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.iterations < 1 || o.size_mib < 1) {
		fprintf(stderr, "fusedev-bench: --iterations and --size must "
			"be positive\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n < 0) {
		perror("fusedev-bench: /proc/self/exe");
		return 1;
	}
	self_path[n] = '\0';

	if (measure_dir)
		return measure(measure_dir, o.source, o.iterations,
			       o.size_mib);
	if (serve_mode) {
		if (!o.example || !o.source || !o.mount)
			return 2;
		return serve(&o, strcmp(serve_mode, "kernel") == 0);
	}

	if (!o.example || !o.fusedev) {
		usage(stderr);
		return 2;
	}
	if (access(o.example, X_OK) < 0) {
		fprintf(stderr, "fusedev-bench: %s: %m\n", o.example);
		return 1;
	}
	/* Children exec it from elsewhere (fusedev run): make it absolute. */
	{
		char *abs = realpath(o.example, NULL);

		if (abs)
			o.example = abs;
	}
	if (!mkdtemp(tmpl)) {
		perror("fusedev-bench: mkdtemp");
		return 1;
	}
	src = join(tmpl, "src");
	mnt_k = join(tmpl, "mnt-kernel");
	mnt_e = join(tmpl, "mnt-emulated");
	if (mkdir(src, 0755) < 0 || mkdir(mnt_k, 0755) < 0 ||
	    mkdir(mnt_e, 0755) < 0) {
		perror("fusedev-bench: mkdir");
		return 1;
	}
	fprintf(stderr, "fusedev-bench: writing %ld MiB to %s\n", o.size_mib,
		src);
	r = make_file(src, BENCH_MARKER, "");
	if (r == 0)
		r = make_file(src, BENCH_STAT_FILE, "stat me\n");
	if (r == 0) {
		char *data = join(src, BENCH_DATA_FILE);

		r = make_data(data, o.size_mib);
		free(data);
	}
	if (r < 0) {
		fprintf(stderr, "fusedev-bench: preparing %s: %s\n", src,
			strerror(-r));
		goto out_rm;
	}
	snprintf(iters, sizeof(iters), "%ld", o.iterations);
	snprintf(size, sizeof(size), "%ld", o.size_mib);

	fprintf(stderr, "fusedev-bench: kernel FUSE ...\n");
	{
		char *kargv[] = { self_path, "--serve", "kernel",
				  "--example", (char *)o.example,
				  "--source", src, "--mount", mnt_k,
				  "--iterations", iters, "--size", size,
				  NULL };

		run_side(kargv, &kres, &o);
	}

	fprintf(stderr, "fusedev-bench: emulated ...\n");
	if (access(o.fusedev, X_OK) < 0) {
		memset(&eres, 0, sizeof(eres));
		snprintf(eres.reason, sizeof(eres.reason), "%s: %s",
			 o.fusedev, strerror(errno));
	} else {
		char *eargv[] = { (char *)o.fusedev, "run", "--",
				  self_path, "--serve", "emulated",
				  "--example", (char *)o.example,
				  "--source", src, "--mount", mnt_e,
				  "--iterations", iters, "--size", size,
				  NULL };

		run_side(eargv, &eres, &o);
	}

	label = strrchr(o.example, '/');
	printf("fusedev-bench: %s, timeout=0, %ld iterations, %ld MiB\n",
	       label ? label + 1 : o.example, o.iterations, o.size_mib);
	printf("%-30s %16s %16s %10s\n", "", "kernel FUSE", "emulated",
	       "emu/kernel");
	print_row("stat() median", "us", kres.stat_us, eres.stat_us,
		  kres.ok, eres.ok);
	print_row("stat() outside, median", "ns", kres.stat_out_ns,
		  eres.stat_out_ns, kres.ok && kres.stat_out_ns > 0,
		  eres.ok && eres.stat_out_ns > 0);
	print_row("open()+close() median", "us", kres.open_us, eres.open_us,
		  kres.ok, eres.ok);
	snprintf(label_buf, sizeof(label_buf), "sequential read %ld MiB",
		 o.size_mib);
	print_row(label_buf, "MiB/s", kres.read_mibs, eres.read_mibs, kres.ok,
		  eres.ok);
	if (!kres.ok)
		printf("kernel: unavailable (%s)\n", kres.reason);
	if (!eres.ok)
		printf("emulated: unavailable (%s)\n", eres.reason);
	r = kres.ok || eres.ok ? 0 : -1;
out_rm:
	/* A side killed at its deadline may leave its kernel mount. */
	if (in_mountinfo(mnt_k))
		umount2(mnt_k, MNT_DETACH);
	nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return r < 0;
}
