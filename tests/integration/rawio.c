/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rawio OP [ARG]: a static program (no shim can enter it) that reads
 * the file it inherited as fd 0 the way OP says and prints one line:
 *
 *   data SHA-256 LENGTH	what it read (all of it, to EOF)
 *   error ERRNAME		the call failed (SIGBUS for a mapping)
 *
 *   read        read(2) until EOF
 *   sendfile    sendfile(2) into a pipe until it returns 0
 *   splice      splice(2) into a pipe until it returns 0
 *   cfr FD      copy_file_range(2) to the inherited fd FD until 0
 *               (prints only the count or the error: "copied N")
 *   sendto FD   sendfile(2) to the inherited fd FD until 0 ("sent N")
 *   pread       pread(2) from offset 0 until EOF
 *   mmap        fstat(2) for the size, then a private read-only mmap(2)
 *               (of 64 KiB when it is not a regular file)
 *   mmap-shared the same, shared
 *   size        fstat(2): "size N" and "regular" or "other"
 *   ok          nothing (exit 0): a "#!" interpreter for tests
 *
 * Exit 0 when the line is "data", "copied", "sent" or "size", else 1.
 * The digest is computed here (no library: FIPS 180-4 SHA-256).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SHA-256 ------------------------------------------------------------ */

struct sha {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 |
		       p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
			(w[i - 2] >> 10)) + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
			(w[i - 15] >> 3)) + w[i - 16];
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		     ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha_init(struct sha *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memset(s, 0, sizeof(*s));
	memcpy(s->h, h0, sizeof(h0));
}

static void sha_add(struct sha *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->len += len;
	while (len) {
		size_t k = 64 - s->n < len ? 64 - s->n : len;

		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n == 64) {
			sha_block(s, s->buf);
			s->n = 0;
		}
	}
}

/* The digest of what was added, and its length: "data HEX LEN". */
static void sha_print(struct sha *s)
{
	uint64_t n = s->len, bits = n * 8;
	unsigned char pad = 0x80, lenb[8];
	int i;

	sha_add(s, &pad, 1);
	pad = 0;
	while (s->n != 56)
		sha_add(s, &pad, 1);
	for (i = 0; i < 8; i++)
		lenb[i] = bits >> (56 - 8 * i);
	sha_add(s, lenb, 8);
	printf("data ");
	for (i = 0; i < 8; i++)
		printf("%08x", s->h[i]);
	printf(" %llu\n", (unsigned long long)n);
}

/* ---- operations --------------------------------------------------------- */

static int error_line(int e)
{
	const char *n = strerrorname_np(e);

	printf("error %s\n", n ? n : "?");
	return 1;
}

static struct sha sha;
static uint64_t total;
static char buf[64 * 1024];

static void took(const void *p, size_t n)
{
	sha_add(&sha, p, n);
	total += n;
}

static int done(void)
{
	sha_print(&sha);
	return 0;
}

/* Drain a pipe's read end into the digest: 0, or -errno. */
static int drain(int fd, size_t n)
{
	ssize_t r;

	while (n) {
		r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		took(buf, r);
		n -= r;
	}
	return 0;
}

static int op_read(void)
{
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_line(errno);
		took(buf, n);
	}
	return done();
}

static int op_pread(void)
{
	ssize_t n;

	while ((n = pread(0, buf, sizeof(buf), total)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_line(errno);
		took(buf, n);
	}
	return done();
}

/* sendfile or splice into a pipe, then drained. */
static int op_pipe(bool use_splice)
{
	int p[2], e;
	ssize_t n;

	if (pipe(p) < 0)
		return error_line(errno);
	for (;;) {
		n = use_splice ? splice(0, NULL, p[1], NULL, 16384, 0) :
				 sendfile(p[1], 0, NULL, 16384);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_line(errno);
		if (n == 0)
			break;
		e = drain(p[0], n);
		if (e < 0)
			return error_line(-e);
	}
	return done();
}

static int op_copy(int out, bool use_sendfile)
{
	ssize_t n;

	for (;;) {
		n = use_sendfile ? sendfile(out, 0, NULL, sizeof(buf)) :
				   copy_file_range(0, NULL, out, NULL,
						   sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_line(errno);
		if (n == 0)
			break;
		total += n;
	}
	printf("%s %llu\n", use_sendfile ? "sent" : "copied",
	       (unsigned long long)total);
	return 0;
}

static sigjmp_buf bus;

static void on_bus(int sig)
{
	siglongjmp(bus, 1);
}

static int op_mmap(int flags)
{
	struct stat st;
	size_t len;
	char *p;

	if (fstat(0, &st) < 0)
		return error_line(errno);
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return done();
	len = S_ISREG(st.st_mode) ? (size_t)st.st_size : 65536;
	p = mmap(NULL, len, PROT_READ, flags, 0, 0);
	if (p == MAP_FAILED)
		return error_line(errno);
	signal(SIGBUS, on_bus);
	if (sigsetjmp(bus, 1)) {
		printf("error SIGBUS\n");
		return 1;
	}
	took(p, len);
	munmap(p, len);
	return done();
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sha_init(&sha);
	if (!strcmp(op, "read"))
		return op_read();
	if (!strcmp(op, "pread"))
		return op_pread();
	if (!strcmp(op, "sendfile"))
		return op_pipe(false);
	if (!strcmp(op, "splice"))
		return op_pipe(true);
	if (!strcmp(op, "cfr") && argc > 2)
		return op_copy(atoi(argv[2]), false);
	if (!strcmp(op, "sendto") && argc > 2)
		return op_copy(atoi(argv[2]), true);
	if (!strcmp(op, "mmap"))
		return op_mmap(MAP_PRIVATE);
	if (!strcmp(op, "mmap-shared"))
		return op_mmap(MAP_SHARED);
	if (!strcmp(op, "size")) {
		if (fstat(0, &st) < 0)
			return error_line(errno);
		printf("size %lld %s\n", (long long)st.st_size,
		       S_ISREG(st.st_mode) ? "regular" : "other");
		return 0;
	}
	if (!strcmp(op, "ok"))
		return 0;
	fprintf(stderr, "usage: rawio read|pread|sendfile|splice|cfr FD|"
		"sendto FD|mmap|mmap-shared|size|ok\n");
	return 2;
}
