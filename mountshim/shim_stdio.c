/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seeking stdio streams whose fd is emulated.
 *
 * glibc seeks a FILE with its internal lseek, which would reach the
 * emulated device: nonseekable, ESPIPE.  These wrappers do what glibc's
 * do_ftell and _IO_new_file_seekoff do, with the emulator's position in
 * place of the kernel's: flush pending output, drop buffered input, move
 * the open file's position, clear EOF.  Reads and writes after that go
 * through the buffer and the device as before.  Streams on other fds go
 * to the C library unchanged.
 *
 * The public struct _IO_FILE fields are glibc's stable ABI; the flag
 * values below are those of <libio.h> in every glibc since 2.1.
 */
#include "shim.h"

#include <stdio_ext.h>

#define IO_EOF_SEEN		0x0010
#define IO_IN_BACKUP		0x0100
#define IO_IS_APPENDING		0x1000

/* The stream's fd (the public _fileno: fileno() would set errno for
 * memory and cookie streams) is an emulated one. */
static bool stream_emulated(FILE *fp, struct shim_fdinfo *fi)
{
	int fd = fp ? fp->_fileno : -1;

	return fd >= 0 && shim_fd_lookup(fd, fi);
}

static long emu_seek(const struct shim_fdinfo *fi, int64_t off, int whence,
		     int64_t *pos)
{
	long r = shim_client_lseek(fi->open_key, off, whence);

	if (r >= 0)
		*pos = r;
	return r < 0 ? r : 0;
}

/* do_ftell: the file's position, less unread input, plus unwritten output. */
static long stream_tell(FILE *fp, const struct shim_fdinfo *fi, int64_t *pos)
{
	bool writing = fp->_IO_write_ptr > fp->_IO_write_base;
	bool append = (fp->_flags & IO_IS_APPENDING) == IO_IS_APPENDING;
	int64_t adj = 0;
	long r;

	if (fp->_IO_buf_base) {
		if (!writing)
			adj -= fp->_IO_read_end - fp->_IO_read_ptr;
		else if (append)
			adj += fp->_IO_write_ptr - fp->_IO_write_base;
		else
			adj += fp->_IO_write_ptr - fp->_IO_read_end;
		if (fp->_flags & IO_IN_BACKUP)
			adj -= fp->_IO_save_end - fp->_IO_save_base;
	}
	r = emu_seek(fi, 0, writing && append ? SEEK_END : SEEK_CUR, pos);
	if (r < 0)
		return r;
	if (*pos + adj < 0)
		return -EIO;
	*pos += adj;
	return 0;
}

/*
 * Bring the open file's position to where glibc's flush expects it and
 * flush: the seeks _IO_new_file_sync and new_do_write would make (back
 * over read-ahead input; back to where output started after input) are
 * made on the emulator, and the buffer told so.
 */
static long stream_sync(FILE *fp, const struct shim_fdinfo *fi)
{
	bool writing = fp->_IO_write_ptr > fp->_IO_write_base;
	int64_t delta = 0, pos;
	long r;

	if (!fp->_IO_buf_base || (fp->_flags & IO_IN_BACKUP))
		return REAL(fflush_unlocked)(fp) ? -errno : 0;
	if (!writing)
		delta = fp->_IO_read_ptr - fp->_IO_read_end;
	else if (!(fp->_flags & IO_IS_APPENDING))
		delta = fp->_IO_write_base - fp->_IO_read_end;
	if (delta) {
		r = emu_seek(fi, delta, SEEK_CUR, &pos);
		if (r < 0)
			return r;
		if (writing)
			fp->_IO_read_end = fp->_IO_write_base;
		else
			fp->_IO_read_end = fp->_IO_read_ptr;
		fp->_offset = -1;
	}
	return REAL(fflush_unlocked)(fp) ? -errno : 0;
}

static long stream_seek(FILE *fp, const struct shim_fdinfo *fi, int64_t off,
			int whence)
{
	int64_t pos;
	long r;

	r = 0;
	switch (whence) {
	case SEEK_SET:
		pos = off;
		break;
	case SEEK_CUR:
		r = stream_tell(fp, fi, &pos);
		if (r < 0)
			return r;
		if ((off > 0 && pos > INT64_MAX - off))
			return -EOVERFLOW;
		pos += off;
		break;
	case SEEK_END:
		pos = -1;
		break;
	default:
		return -EINVAL;
	}
	if (whence != SEEK_END && pos < 0)
		return -EINVAL;
	r = stream_sync(fp, fi);
	if (r < 0)
		return r;
	__fpurge(fp);
	r = whence == SEEK_END ? emu_seek(fi, off, SEEK_END, &pos) :
				 emu_seek(fi, pos, SEEK_SET, &pos);
	if (r < 0)
		return r;
	fp->_offset = -1;		/* glibc's cache: unknown */
	fp->_flags &= ~IO_EOF_SEEN;
	return 0;
}

#define WRAP_FSEEK(name, off_t_)					\
SHIM_EXPORT int name(FILE *fp, off_t_ off, int whence)			\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
	long r;								\
									\
	if (likely(!stream_emulated(fp, &fi)))				\
		return REAL(name)(fp, off, whence);			\
	flockfile(fp);							\
	r = stream_seek(fp, &fi, off, whence);				\
	funlockfile(fp);						\
	return shim_result(r, e);					\
}

WRAP_FSEEK(fseek, long)
WRAP_FSEEK(fseeko, off_t)
WRAP_FSEEK(fseeko64, off64_t)

#define WRAP_FTELL(name, off_t_, max)					\
SHIM_EXPORT off_t_ name(FILE *fp)					\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
	int64_t pos;							\
	long r;								\
									\
	if (likely(!stream_emulated(fp, &fi)))				\
		return REAL(name)(fp);					\
	flockfile(fp);							\
	r = stream_tell(fp, &fi, &pos);					\
	funlockfile(fp);						\
	if (r == 0 && pos > (max))					\
		r = -EOVERFLOW;						\
	return r < 0 ? (off_t_)shim_result(r, e) : (off_t_)pos;		\
}

WRAP_FTELL(ftell, long, LONG_MAX)
WRAP_FTELL(ftello, off_t, INT64_MAX)
WRAP_FTELL(ftello64, off64_t, INT64_MAX)

SHIM_EXPORT void rewind(FILE *fp)
{
	struct shim_fdinfo fi = { 0 };
	int e = errno;

	if (likely(!stream_emulated(fp, &fi))) {
		REAL(rewind)(fp);
		return;
	}
	flockfile(fp);
	if (stream_seek(fp, &fi, 0, SEEK_SET) == 0)
		errno = e;
	clearerr_unlocked(fp);
	funlockfile(fp);
}

#define WRAP_FGETPOS(name, fpos_t_)					\
SHIM_EXPORT int name(FILE *fp, fpos_t_ *p)				\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
	int64_t pos;							\
	long r;								\
									\
	if (likely(!stream_emulated(fp, &fi)))				\
		return REAL(name)(fp, p);				\
	flockfile(fp);							\
	r = stream_tell(fp, &fi, &pos);					\
	funlockfile(fp);						\
	if (r == 0) {							\
		memset(p, 0, sizeof(*p));				\
		p->__pos = pos;						\
	}								\
	return shim_result(r, e);					\
}

WRAP_FGETPOS(fgetpos, fpos_t)
WRAP_FGETPOS(fgetpos64, fpos64_t)

#define WRAP_FSETPOS(name, fpos_t_)					\
SHIM_EXPORT int name(FILE *fp, const fpos_t_ *p)			\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
	long r;								\
									\
	if (likely(!stream_emulated(fp, &fi)))				\
		return REAL(name)(fp, p);				\
	flockfile(fp);							\
	r = stream_seek(fp, &fi, p->__pos, SEEK_SET);			\
	funlockfile(fp);						\
	return shim_result(r, e);					\
}

WRAP_FSETPOS(fsetpos, fpos_t)
WRAP_FSETPOS(fsetpos64, fpos64_t)

#define WRAP_FFLUSH(name)						\
SHIM_EXPORT int name(FILE *fp)						\
{									\
	struct shim_fdinfo fi = { 0 };					\
	int e = errno;							\
	long r;								\
									\
	if (likely(!stream_emulated(fp, &fi)))				\
		return REAL(name)(fp);					\
	flockfile(fp);							\
	r = stream_sync(fp, &fi);					\
	funlockfile(fp);						\
	return r < 0 ? (int)shim_result(r, e) : 0;			\
}

WRAP_FFLUSH(fflush)
WRAP_FFLUSH(fflush_unlocked)

/*
 * fdopen checks the mode against the fd's access mode with an internal
 * F_GETFL, which sees the device open (read-write): the file's own mode
 * is checked here, and "a" sets O_APPEND on the open file, not only on
 * the device.
 */
static long emu_fdopen_check(int fd, const struct shim_fdinfo *fi,
			     const char *mode)
{
	int acc = fi->flags & O_ACCMODE;
	bool plus = strchr(mode, '+') != NULL;
	long r;

	if (fi->flags & O_PATH)
		return -EBADF;
	switch (mode[0]) {
	case 'r':
		if (acc == O_WRONLY || (plus && acc != O_RDWR))
			return -EINVAL;
		return 0;
	case 'w':
	case 'a':
		if (acc == O_RDONLY || (plus && acc != O_RDWR))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (mode[0] == 'a' && !(fi->flags & O_APPEND)) {
		r = shim_op_file(FDP_OP_SETFL, fi->open_key, 0, 0,
				 (fi->flags & O_NONBLOCK) | O_APPEND, 0, NULL,
				 0, NULL, 0, NULL);
		if (r < 0)
			return r;
		shim_fd_setflags(fd, fi->flags | O_APPEND);
	}
	return 0;
}

SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	struct shim_fdinfo fi = { 0 };
	int e = errno;
	long r;

	if (likely(!shim_fd_lookup(fd, &fi)) || !shim_opaque(mode))
		return REAL(fdopen)(fd, mode);
	r = emu_fdopen_check(fd, &fi, mode);
	if (r < 0) {
		errno = (int)-r;
		return NULL;
	}
	errno = e;
	return REAL(fdopen)(fd, mode);
}
