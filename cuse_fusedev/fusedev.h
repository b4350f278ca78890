/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fusedev(1)'s parts: fusedev.c (fusedev run) and fusermount.c (the
 * emulator's fusermount3 and fusermount, which link to fusedev).
 */
#ifndef CUSE_FUSEDEV_FUSEDEV_H
#define CUSE_FUSEDEV_FUSEDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* fusedev.c */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
					      noreturn));
/* $@env, else @rel beside this program (the build tree), else
 * @installed; malloc'd. */
char *locate(const char *env, const char *rel, const char *installed);
/* An emulator is alive at @dir (its mount table names a live pid). */
bool emulator_alive(const char *dir);
/* fdx_read_fn (exekind.h) of the fd *@ctx. */
ssize_t fd_pread(void *ctx, void *buf, size_t len, uint64_t off);

/* fusermount.c */
#define FM_STAGE2	"--fusermount-in-shim"

/* "fusermount3" or "fusermount" when run by that name, else NULL. */
const char *fm_name(void);
/* Run as the mount helper @prog with fusermount's @argv. */
int fusermount_main(const char *prog, char **argv);
/* The same, second stage: the shim preloaded; @argv from the helper's
 * name on. */
int fusermount_stage2(char **argv);

#endif /* CUSE_FUSEDEV_FUSEDEV_H */
