#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuse2fs (libfuse 2) on an ext4 image (no journal: fuse2fs cannot write
# one) made with mke2fs -d from the seed; after the unmount e2fsck checks
# the image.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require fuse2fs fuse2fs
dm_require mke2fs e2fsprogs
dm_data

M=$W/mnt
mkdir "$W/root" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/root/" || fail "cp"
mke2fs -q -t ext4 -O ^has_journal -N 1024 -U clear -E hash_seed=00000000-0000-0000-0000-000000000001 \
	-d "$W/root" -F "$W/ext4.img" 64M >/dev/null || fail "mke2fs"
DM_STATFS_COUNTS=1

step mount
start_daemon "$IT_MODE" "$M" fuse2fs "$W/ext4.img" "$M" -f
workload rw
dm_unmount fusermount

step after
expect_ok 'e2fsck -fn ext4.img 2>&1 | tail -n 1'
expect_ok 'debugfs -R "ls -p /w" ext4.img 2>/dev/null | cut -d/ -f3,4,6,7 | grep . | sort'

it_finish
