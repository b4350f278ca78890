/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-threads MOUNTPOINT: many threads of one client on emulated files.
 *
 *  - each of NTHREADS threads creates its own file, writes it in
 *    odd-sized pieces with write/pwrite/writev, reads it back through a
 *    second fd, stats, renames and unlinks it;
 *  - all threads pwrite their own stripes of one shared fd and read
 *    the others' stripes, then O_APPEND writers add fixed-size records
 *    to one file: every record lands whole;
 *  - one thread sits in a blocking call that only another thread's
 *    request can end (flock LOCK_EX on a file another open holds
 *    LOCK_EX; run when the file system has locks): the others go on.
 *
 * Each thread has its own connection to the emulator; nothing in the shim
 * may hold a lock across a request.  Every wait has a deadline.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define NTHREADS	8
#define FILE_SIZE	(192 * 1024 + 77)
#define STRIPE		(64 * 1024)
#define RECORD		100
#define NRECORDS	50

static const char *mnt;
static int shared_fd, append_fd;
static pthread_barrier_t barrier;
static atomic_int errors;

#define TCHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " (errno %d %s)\n", errno,		\
			strerror(errno));				\
		atomic_fetch_add(&errors, 1);				\
		return NULL;						\
	}								\
} while (0)

static unsigned char pattern(long t, size_t i)
{
	return (unsigned char)(t * 31 + i * 7 + (i >> 9));
}

static void *own_file(long t, unsigned char *buf, unsigned char *back)
{
	char path[4096], path2[4096];
	size_t off = 0, piece = 1000 + t * 333;
	struct stat st;
	int fd, fd2;

	snprintf(path, sizeof(path), "%s/t%ld", mnt, t);
	snprintf(path2, sizeof(path2), "%s/t%ld.done", mnt, t);
	for (size_t i = 0; i < FILE_SIZE; i++)
		buf[i] = pattern(t, i);
	fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
	TCHECK(fd >= 0, "thread %ld: create", t);
	while (off < FILE_SIZE) {
		size_t n = FILE_SIZE - off < piece ? FILE_SIZE - off : piece;
		ssize_t w;

		switch ((off / piece) % 3) {
		case 0:
			w = write(fd, buf + off, n);
			break;
		case 1:
			w = pwrite(fd, buf + off, n, off);
			TCHECK(lseek(fd, off + n, SEEK_SET) ==
			       (off_t)(off + n), "thread %ld: lseek", t);
			break;
		default: {
			struct iovec iov[2] = {
				{ buf + off, n / 2 },
				{ buf + off + n / 2, n - n / 2 },
			};

			w = writev(fd, iov, 2);
		}
		}
		TCHECK(w == (ssize_t)n, "thread %ld: write at %zu: %zd", t,
		       off, w);
		off += n;
	}
	fd2 = open(path, O_RDONLY);
	TCHECK(fd2 >= 0, "thread %ld: second open", t);
	memset(back, 0, FILE_SIZE);
	TCHECK(read(fd2, back, FILE_SIZE) == FILE_SIZE &&
	       !memcmp(buf, back, FILE_SIZE), "thread %ld: read back", t);
	TCHECK(fstat(fd2, &st) == 0 && st.st_size == FILE_SIZE,
	       "thread %ld: fstat", t);
	TCHECK(close(fd2) == 0 && close(fd) == 0, "thread %ld: close", t);
	TCHECK(rename(path, path2) == 0 && stat(path, &st) < 0 &&
	       errno == ENOENT && stat(path2, &st) == 0 &&
	       st.st_size == FILE_SIZE, "thread %ld: rename", t);
	TCHECK(unlink(path2) == 0, "thread %ld: unlink", t);
	return buf;
}

static void *worker(void *arg)
{
	long t = (long)arg;
	unsigned char *buf = malloc(FILE_SIZE), *back = malloc(FILE_SIZE);
	unsigned char stripe[STRIPE], other[STRIPE];
	char rec[RECORD];
	void *r = NULL;

	TCHECK(buf && back, "malloc");
	if (!own_file(t, buf, back))
		goto out;

	/* stripes of one shared fd */
	for (size_t i = 0; i < STRIPE; i++)
		stripe[i] = pattern(t + 100, i);
	TCHECK(pwrite(shared_fd, stripe, STRIPE, t * STRIPE) == STRIPE,
	       "thread %ld: stripe", t);
	pthread_barrier_wait(&barrier);
	for (long o = 0; o < NTHREADS; o++) {
		TCHECK(pread(shared_fd, other, STRIPE, o * STRIPE) == STRIPE,
		       "thread %ld: pread stripe %ld", t, o);
		for (size_t i = 0; i < STRIPE; i++)
			TCHECK(other[i] == pattern(o + 100, i),
			       "thread %ld: stripe %ld byte %zu", t, o, i);
	}

	/* whole records through O_APPEND */
	for (int i = 0; i < NRECORDS; i++) {
		memset(rec, 'a' + t, RECORD - 1);
		rec[RECORD - 1] = '\n';
		TCHECK(write(append_fd, rec, RECORD) == RECORD,
		       "thread %ld: append %d", t, i);
	}
	r = arg;
out:
	free(buf);
	free(back);
	return r ? r : NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct blocker {
	const char *path;
	atomic_int state;		/* 1 waiting, 2 got it, -1 failed */
};

static void *blocked_flock(void *arg)
{
	struct blocker *b = arg;
	int fd = open(b->path, O_RDWR);

	if (fd < 0) {
		atomic_store(&b->state, -1);
		return NULL;
	}
	atomic_store(&b->state, 1);
	if (flock(fd, LOCK_EX) < 0) {
		atomic_store(&b->state, -1);
		close(fd);
		return NULL;
	}
	atomic_store(&b->state, 2);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	char path[4096], *data;
	struct stat st;
	int counts[NTHREADS] = { 0 };
	long t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
		return 2;
	}
	mnt = argv[1];
	if (!getenv("FUSEDEV_DIR")) {
		printf("SKIP: not run under fusedev run\n");
		return 77;
	}
	snprintf(path, sizeof(path), "%s/shared", mnt);
	shared_fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(shared_fd >= 0, "shared file");
	snprintf(path, sizeof(path), "%s/log", mnt);
	append_fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
	CHECK(append_fd >= 0, "append file");
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (t = 0; t < NTHREADS; t++)
		CHECK(pthread_create(&th[t], NULL, worker, (void *)t) == 0,
		      "pthread_create");
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	CHECK(atomic_load(&errors) == 0, "%d thread failures", errors);

	/* every appended record whole, each thread's count right */
	CHECK(stat(path, &st) == 0 &&
	      st.st_size == NTHREADS * NRECORDS * RECORD, "log size");
	data = malloc(st.st_size);
	CHECK(data && pread(append_fd, data, st.st_size, 0) < 0,
	      "O_WRONLY fd refuses reads");
	{
		int fd = open(path, O_RDONLY);

		CHECK(fd >= 0 && read(fd, data, st.st_size) == st.st_size,
		      "read log");
		close(fd);
	}
	for (off_t o = 0; o < st.st_size; o += RECORD) {
		int c = data[o] - 'a';

		CHECK(c >= 0 && c < NTHREADS && data[o + RECORD - 1] == '\n',
		      "record at %lld", (long long)o);
		for (int i = 1; i < RECORD - 1; i++)
			CHECK(data[o + i] == data[o], "torn record at %lld",
			      (long long)o);
		counts[c]++;
	}
	for (t = 0; t < NTHREADS; t++)
		CHECK(counts[t] == NRECORDS, "thread %ld records %d", t,
		      counts[t]);
	free(data);
	close(append_fd);
	close(shared_fd);

	/* a thread blocked in a request does not stop the others */
	{
		struct blocker b = { .path = path };
		pthread_t bt;
		int fd = open(path, O_RDWR);
		double end;

		CHECK(fd >= 0, "open for flock");
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			printf("SKIP part: flock: %s\n", strerror(errno));
		} else {
			CHECK(pthread_create(&bt, NULL, blocked_flock, &b) == 0,
			      "blocker thread");
			end = now() + 10;
			while (atomic_load(&b.state) == 0 && now() < end)
				sched_yield();
			CHECK(atomic_load(&b.state) == 1, "blocker started");
			/* while it waits, this thread's requests go on */
			for (int i = 0; i < 200; i++)
				CHECK(stat(path, &st) == 0, "stat %d", i);
			CHECK(atomic_load(&b.state) == 1,
			      "blocker still waits");
			CHECK(flock(fd, LOCK_UN) == 0, "unlock");
			end = now() + 10;
			while (atomic_load(&b.state) == 1 && now() < end)
				sched_yield();
			CHECK(atomic_load(&b.state) == 2,
			      "blocker got the lock after the unlock");
			pthread_join(bt, NULL);
		}
		close(fd);
	}
	CHECK(unlink(path) == 0, "unlink log");
	snprintf(path, sizeof(path), "%s/shared", mnt);
	CHECK(unlink(path) == 0, "unlink shared");
	return failures ? 1 : 0;
}
