#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ntfs-3g (its own FUSE library) on an NTFS image made with mkntfs,
# default options (no permissions: every file 0777); the seed goes in
# through the mount.  After the unmount ntfsfix checks the image and
# ntfsls lists what the workload left.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require ntfs-3g ntfs-3g
dm_require mkntfs ntfs-3g
dm_data

M=$W/mnt
mkdir "$M" || fail "mkdir"
truncate -s 64M "$W/ntfs.img" || fail "truncate"
mkntfs -q -F -f "$W/ntfs.img" >/dev/null 2>&1 || fail "mkntfs"
DM_STATFS_COUNTS=1

step mount
start_daemon "$IT_MODE" "$M" ntfs-3g -o no_detach "$W/ntfs.img" "$M"
dm_seed
workload rw
dm_unmount fusermount

step after
expect_ok 'ntfsfix -n ntfs.img | tail -n 1'
expect_ok 'ntfsls -F -R -p /w ntfs.img'

it_finish
