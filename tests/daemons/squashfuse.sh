#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# squashfuse (libfuse 3) on a squashfs image of the seed, read-only: the
# writes must fail as on the kernel.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require squashfuse squashfuse
dm_require mksquashfs squashfs-tools
dm_data

M=$W/mnt
mkdir "$W/root" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/root/" || fail "cp"
mksquashfs "$W/root" "$W/seed.sqfs" -quiet -no-progress -mkfs-time 1700000000 \
	>/dev/null || fail "mksquashfs"
DM_STATFS_COUNTS=1

step mount
start_daemon "$IT_MODE" "$M" squashfuse -f "$W/seed.sqfs" "$M"
workload ro
dm_unmount fusermount3

it_finish
