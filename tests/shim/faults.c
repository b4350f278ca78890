/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-faults MOUNTPOINT: bad pointers and the program's own SIGSEGV and
 * SIGBUS, under the shim with an emulated mount at MOUNTPOINT.
 *
 * The library reads and writes the caller's memory with copies whose
 * faults it catches (shim_uaccess.c): a bad pointer is EFAULT, and the
 * program's handlers, default actions and signal masks behave as they
 * do without it:
 *  - sigaction/signal report what the program set, not the library's
 *    handler; SA_RESETHAND resets; SA_ONSTACK handlers run on the
 *    alternate stack (a stack overflow is caught);
 *  - a real fault reaches the program's handler with the kernel's
 *    siginfo; with SIG_DFL the process dies of it (a child checks);
 *    a sent SIGSEGV is handled, ignored or fatal as set;
 *  - EFAULT for bad paths and buffers, also with SIGSEGV blocked (the
 *    thread's mask is followed) and in a new thread.
 * Exit 0 pass, 1 fail.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define BAD	((char *)0xDEADC0DEul)

static char path[4096];
static sigjmp_buf jb;
static volatile sig_atomic_t hits, last_code;
static void *volatile last_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	hits++;
	last_code = si->si_code;
	last_addr = si->si_addr;
	siglongjmp(jb, sig);
}

static void on_plain(int sig)
{
	hits++;
	siglongjmp(jb, sig);
}

/* A string whose bytes end where an unmapped page starts. */
static char *edge(const char *text)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t n = strlen(text);

	if (m == MAP_FAILED || munmap(m + pg, pg) < 0)
		abort();
	memcpy(m + pg - n, text, n);
	return m + pg - n;
}

static void touch_null(void)
{
	*(volatile int *)(uintptr_t)(hits & 0) = 1;
}

static void check_efault(const char *what)
{
	struct stat st;
	int before = hits;

	errno = 0;
	CHECK(stat(BAD, &st) < 0 && errno == EFAULT, "%s: stat(BAD)", what);
	errno = 0;
	CHECK(stat(edge(path), &st) < 0 && errno == EFAULT,
	      "%s: stat(edge)", what);
	errno = 0;
	CHECK(stat(path, (struct stat *)BAD) < 0 && errno == EFAULT,
	      "%s: stat(path, BAD)", what);
	errno = 0;
	CHECK(stat((char *)0x0000800000000000ul, &st) < 0 && errno == EFAULT,
	      "%s: stat(non-canonical)", what);
	CHECK(stat(path, &st) == 0, "%s: stat(path)", what);
	CHECK(hits == before, "%s: the program's handler ran (%d)", what,
	      (int)hits);
}

/*
 * The string copy at every alignment: names ending with their NUL at
 * the last byte before an unmapped page are read whole (an emulated
 * path, with "./" repeated to move it, is found); without the NUL they
 * are EFAULT.
 */
static void strings(const char *mnt)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	char name[512];
	struct stat st;
	int k, len;

	if (m == MAP_FAILED || munmap(m + pg, pg) < 0)
		abort();
	for (k = 0; k < 24; k++) {
		len = snprintf(name, sizeof(name), "%s/", mnt);
		while (k > 0 && len < (int)sizeof(name) - 4 &&
		       len < (int)strlen(mnt) + 1 + 2 * k)
			len += snprintf(name + len, sizeof(name) - len, "./");
		len += snprintf(name + len, sizeof(name) - len, "f");
		p = m + pg - len - 1;
		memcpy(p, name, len + 1);
		errno = 0;
		CHECK(stat(p, &st) == 0, "stat of %s at the edge", name);
		p = m + pg - len;
		memcpy(p, name, len);
		errno = 0;
		CHECK(stat(p, &st) < 0 && errno == EFAULT,
		      "stat of %s without its NUL", name);
	}
	for (len = 0; len < 40; len++) {
		p = m + pg - len - 1;
		memset(p, 'a', len);
		p[len] = '\0';
		errno = 0;
		CHECK(stat(p, &st) < 0 && errno == ENOENT,
		      "stat of %d bytes at the edge", len);
		p = m + pg - len;
		memset(p, 'a', len);
		errno = 0;
		CHECK(stat(p, &st) < 0 && errno == EFAULT,
		      "%d bytes without a NUL", len);
	}
	munmap(m, pg);
}

static void *thread_main(void *arg)
{
	(void)arg;
	check_efault("thread, SIGSEGV blocked");
	return NULL;
}

/* The handler, its query, a fault, SA_RESETHAND.  The first action is
 * SIG_DFL, or a sanitizer's handler, never the library's. */
static void handlers(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO }, old, first;
	bool asan = dlsym(RTLD_DEFAULT, "__asan_init") != NULL;

	CHECK(sigaction(SIGSEGV, NULL, &first) == 0 &&
	      (first.sa_handler == SIG_DFL || asan),
	      "SIGSEGV starts at SIG_DFL");
	CHECK(sigaction(SIGBUS, NULL, &old) == 0 &&
	      (old.sa_handler == SIG_DFL || asan), "SIGBUS starts at SIG_DFL");
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	CHECK(sigaction(SIGSEGV, &sa, &old) == 0 &&
	      old.sa_handler == first.sa_handler, "sigaction");
	CHECK(sigaction(SIGSEGV, NULL, &old) == 0 &&
	      old.sa_sigaction == on_segv && (old.sa_flags & SA_SIGINFO) &&
	      sigismember(&old.sa_mask, SIGUSR1),
	      "sigaction reports the program's action");

	hits = 0;
	if (!sigsetjmp(jb, 1))
		touch_null();
	CHECK(hits == 1 && last_code == SEGV_MAPERR && last_addr == NULL,
	      "a fault reaches the handler (%d, code %d, addr %p)",
	      (int)hits, (int)last_code, last_addr);

	check_efault("handler installed");

	hits = 0;
	if (!sigsetjmp(jb, 1))
		kill(getpid(), SIGSEGV);
	CHECK(hits == 1 && last_code == SI_USER, "kill(SIGSEGV) handled");

	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "SA_RESETHAND");
	hits = 0;
	if (!sigsetjmp(jb, 1))
		touch_null();
	CHECK(hits == 1, "SA_RESETHAND handler");
	CHECK(sigaction(SIGSEGV, NULL, &old) == 0 &&
	      old.sa_handler == SIG_DFL, "reset after delivery");

	CHECK(signal(SIGSEGV, on_plain) == SIG_DFL, "signal() old");
	CHECK(signal(SIGSEGV, on_plain) == on_plain, "signal() again");
	hits = 0;
	if (!sigsetjmp(jb, 1))
		touch_null();
	CHECK(hits == 1, "signal() handler");
	CHECK(signal(SIGSEGV, SIG_DFL) == on_plain, "signal() back");
	sigaction(SIGSEGV, &first, NULL);
}

/* SIGBUS from a mapping past the end of its file. */
static void bus(const char *dir)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO };
	char tmp[] = "/tmp/shim-faults.XXXXXX";
	int fd = mkstemp(tmp);
	char *m;

	(void)dir;
	if (fd < 0) {
		CHECK(0, "mkstemp");
		return;
	}
	unlink(tmp);
	m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(m != MAP_FAILED, "mmap");
	if (m == MAP_FAILED)
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	hits = 0;
	if (!sigsetjmp(jb, 1))
		(void)*(volatile char *)m;
	CHECK(hits == 1 && last_code == BUS_ADRERR, "SIGBUS handled");
	signal(SIGBUS, SIG_DFL);
	munmap(m, 8192);
}

/* Deaths: a fault, a sent SIGSEGV, with SIG_DFL; SIG_IGN ignores. */
static void defaults(void)
{
	int st, i;

	for (i = 0; i < 3; i++) {
		pid_t p = fork();

		if (p == 0) {
			signal(SIGSEGV, SIG_DFL);
			if (i == 0)
				touch_null();
			if (i == 1)
				kill(getpid(), SIGSEGV);
			if (i == 2) {
				signal(SIGSEGV, SIG_IGN);
				kill(getpid(), SIGSEGV);
				_exit(7);
			}
			_exit(0);
		}
		CHECK(waitpid(p, &st, 0) == p, "waitpid");
		if (i < 2)
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
			      "child %d dies of SIGSEGV (status %#x)", i, st);
		else
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7,
			      "an ignored sent SIGSEGV (status %#x)", st);
	}
}

/* A stack overflow caught on the alternate stack (SA_ONSTACK). */
static volatile int depth;

static int recurse(int n)
{
	volatile char pad[4096];

	pad[0] = (char)n;
	depth++;
	return recurse(n + 1) + pad[0];
}

static void overflow(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	stack_t ss = { .ss_size = 65536 };
	int st;
	pid_t p;

	p = fork();
	if (p == 0) {
		ss.ss_sp = malloc(ss.ss_size);
		if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0)
			_exit(2);
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		hits = 0;
		if (!sigsetjmp(jb, 1))
			recurse(0);
		_exit(hits == 1 ? 0 : 3);
	}
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0, "stack overflow on the alternate stack "
	      "(status %#x)", st);
}

static void masks(void)
{
	sigset_t all, old;
	pthread_t t;

	sigfillset(&all);
	CHECK(pthread_sigmask(SIG_BLOCK, &all, &old) == 0, "block");
	check_efault("SIGSEGV blocked");
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0,
	      "pthread_create");
	pthread_join(t, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sigemptyset(&all);
	sigaddset(&all, SIGBUS);
	sigprocmask(SIG_BLOCK, &all, NULL);
	check_efault("SIGBUS blocked");
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	check_efault("unblocked");
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/f", argv[1]);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "create %s", path);
	close(fd);

	check_efault("default");
	strings(argv[1]);
	handlers();
	bus(argv[1]);
	defaults();
	overflow();
	masks();
	unlink(path);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("faults: all passed\n");
	return failures ? 1 : 0;
}
