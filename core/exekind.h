/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What kind of program a file is, as far as the preload is concerned:
 * can libmountshim.so enter it or not.  Shared by fusedev(1) (the command
 * it runs, and the daemon behind a fusermount3 it is run as) and the
 * shim's exec wrappers.  No I/O: the caller reads the file through a
 * callback.
 *
 *   dynamic   ELF of this ABI with an interpreter (PT_INTERP): ld.so
 *             loads LD_PRELOAD, the shim sees its libc calls;
 *   static    ELF without PT_INTERP: nothing is preloaded;
 *   go        a Go program (its ELF notes hold a Go build id): it makes
 *             its own system calls, preloaded or not;
 *   foreign   ELF of another class or machine (a 32-bit program): ld.so
 *             refuses our 64-bit shim;
 *   script    "#!": its interpreter is what runs;
 *   unknown   anything else (the kernel may still run it: binfmt_misc).
 */
#ifndef FUSEDEV_EXEKIND_H
#define FUSEDEV_EXEKIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fdx_kind {
	FDX_UNKNOWN,
	FDX_DYNAMIC,
	FDX_STATIC,
	FDX_GO,
	FDX_FOREIGN,
	FDX_SCRIPT,
};

/* Go FUSE libraries, found by their package paths (FDX_PROBE_LIBS):
 * github.com/hanwen/go-fuse, bazil.org/fuse and its forks,
 * github.com/jacobsa/fuse, github.com/winfsp/cgofuse. */
#define FDX_LIB_GOFUSE		(1u << 0)
#define FDX_LIB_BAZIL		(1u << 1)
#define FDX_LIB_JACOBSA		(1u << 2)
#define FDX_LIB_CGOFUSE		(1u << 3)

/* Also look for FUSE libraries in a Go program (reads its function
 * table: megabytes, where the rest reads a page or two).  Stack use is
 * about 14 KiB with it, 6 KiB without. */
#define FDX_PROBE_LIBS		(1u << 0)

/* What the kernel reads of a file to pick its format (BINPRM_BUF_SIZE). */
#define FDX_HDR_SIZE		256

/* Read up to @len bytes at @off: the count (0 at the end) or -errno. */
typedef ssize_t (*fdx_read_fn)(void *ctx, void *buf, size_t len,
			       uint64_t off);

struct fdx_probe {
	int kind;			/* enum fdx_kind */
	unsigned int libs;		/* FDX_LIB_* (FDX_PROBE_LIBS, Go) */
	/* FDX_SCRIPT: the interpreter line, NUL-terminated in place */
	char hdr[FDX_HDR_SIZE + 1];
	char *interp;			/* the interpreter, in hdr */
};

/* Classify the file @read reads.  Returns 0 (p->kind set) or -errno of
 * a read. */
int fdx_probe(fdx_read_fn read, void *ctx, unsigned int flags,
	      struct fdx_probe *p);

/* Would the shim be in a program of this kind? */
static inline bool fdx_unshimmed(int kind)
{
	return kind == FDX_STATIC || kind == FDX_GO || kind == FDX_FOREIGN;
}

/* "a static program", "a Go program", ...: for messages. */
const char *fdx_kind_name(int kind);

/* What to do about programs the shim cannot enter: FUSEDEV_UNSHIMMED
 * (fusedev_port.h) is warn (the default), refuse or allow. */
enum fdx_policy {
	FDX_WARN,
	FDX_REFUSE,
	FDX_ALLOW,
};

/* The policy FUSEDEV_UNSHIMMED's @value (NULL: unset) says. */
int fdx_policy(const char *value);

/*
 * The verdict on running the program @p (probed with FDX_PROBE_LIBS when
 * @policy is FDX_REFUSE) named @path, under @policy: 0 run it, 1 run it
 * and say @msg (once), -EPERM refuse it and say @msg.  A Go program with
 * a FUSE library is a daemon whose mount goes through the emulator: it
 * runs under every policy.  @msg (@size bytes, one line, no newline)
 * starts with "@who: ".
 */
int fdx_verdict(const struct fdx_probe *p, int policy, const char *who,
		const char *path, char *msg, size_t size);

/*
 * The interpreter line of FDX_HDR_SIZE bytes at @b (zero-padded past
 * the file's end, one more byte of room), as binfmt_script reads it:
 * the line ends at the first newline; without one in the buffer, the
 * interpreter's name must end (blank or NUL) inside the buffer, the rest
 * is cut at the buffer's last byte.  Blanks around are trimmed; the name
 * ends at a blank or NUL; what follows the blanks after it, up to the
 * end of the line, is one argument.  0 and *@name, *@arg (NULL if none)
 * pointing into @b; -ENOEXEC when there is no name.
 */
int fdx_parse_interp(char *b, char **name, char **arg);

#endif /* FUSEDEV_EXEKIND_H */
