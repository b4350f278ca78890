/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cuse_probe.c - a minimal character device served through libfuse3's
 * cuse_lowlevel API; the vm suite runs it to prove that CUSE and libfuse3's
 * CUSE support work in the test VM, the way cuse_fusedev uses them.
 *
 *   cuse_probe [-d] [NAME]
 *
 * registers /dev/NAME (default fusedev-probe) and serves it in the
 * foreground, single-threaded, until SIGTERM or SIGINT (exit 0), or exits 1
 * if the device cannot be set up. -d turns on libfuse's debug output.
 *
 * Device semantics: one buffer of at most PROBE_BUF_MAX bytes. The first
 * write of an open replaces the buffer, later writes of that open append.
 * A read returns the buffer from that open's cursor, then 0 (EOF). CUSE
 * passes offset 0 on every read and write, so the cursor lives in the open
 * file (fi->fh), not in the offset.
 *
 * On stderr: "cuse_probe: ready /dev/NAME" once the kernel has accepted the
 * device (init_done), "cuse_probe: open N" for the N-th open, "cuse_probe:
 * release N" when that open file goes away.
 */

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse3/cuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_BUF_MAX 4096

struct probe_file {
	unsigned int	nr;		/* which open this is, from 1 */
	size_t		cursor;		/* next byte a read returns */
	int		written;	/* this open has written */
};

static const char *probe_name = "fusedev-probe";
static char probe_buf[PROBE_BUF_MAX];
static size_t probe_len;
static unsigned int probe_opens;

static struct probe_file *probe_file(struct fuse_file_info *fi)
{
	return (struct probe_file *)(uintptr_t)fi->fh;
}

static void probe_init_done(void *userdata)
{
	fprintf(stderr, "cuse_probe: ready /dev/%s\n", probe_name);
}

static void probe_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct probe_file *pf = calloc(1, sizeof(*pf));

	if (!pf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pf->nr = ++probe_opens;
	fi->fh = (uintptr_t)pf;
	fi->nonseekable = 1;
	fprintf(stderr, "cuse_probe: open %u\n", pf->nr);
	fuse_reply_open(req, fi);
}

static void probe_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct probe_file *pf = probe_file(fi);

	fprintf(stderr, "cuse_probe: release %u\n", pf->nr);
	free(pf);
	fuse_reply_err(req, 0);
}

static void probe_read(fuse_req_t req, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct probe_file *pf = probe_file(fi);
	size_t n = 0;

	if (pf->cursor < probe_len)
		n = probe_len - pf->cursor;
	if (n > size)
		n = size;
	fuse_reply_buf(req, probe_buf + pf->cursor, n);
	pf->cursor += n;
}

static void probe_write(fuse_req_t req, const char *buf, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	struct probe_file *pf = probe_file(fi);

	if (!pf->written) {
		probe_len = 0;
		pf->written = 1;
	}
	if (size > PROBE_BUF_MAX - probe_len) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	memcpy(probe_buf + probe_len, buf, size);
	probe_len += size;
	fuse_reply_write(req, size);
}

static const struct cuse_lowlevel_ops probe_ops = {
	.init_done	= probe_init_done,
	.open		= probe_open,
	.release	= probe_release,
	.read		= probe_read,
	.write		= probe_write,
};

int main(int argc, char *argv[])
{
	char *fuse_argv[] = { argv[0], "-f", "-s", NULL, NULL };
	int fuse_argc = 3;
	char devname[128];
	const char *dev_info[] = { devname };
	struct cuse_info ci = {
		.dev_info_argc	= 1,
		.dev_info_argv	= dev_info,
	};
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d")) {
			fuse_argv[fuse_argc++] = "-d";
		} else if (argv[i][0] == '-' || i != argc - 1) {
			fprintf(stderr, "usage: cuse_probe [-d] [NAME]\n");
			return 2;
		} else {
			probe_name = argv[i];
		}
	}
	if ((size_t)snprintf(devname, sizeof(devname), "DEVNAME=%s",
			     probe_name) >= sizeof(devname)) {
		fprintf(stderr, "cuse_probe: device name too long\n");
		return 2;
	}

	return cuse_lowlevel_main(fuse_argc, fuse_argv, &ci, &probe_ops,
				  NULL) ? 1 : 0;
}
