#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuse-overlayfs (libfuse 3): an overlay whose lower directory holds the
# seed; after the unmount the upper directory shows what was copied up and
# the whiteouts.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require fuse-overlayfs fuse-overlayfs
dm_data

M=$W/mnt
mkdir "$W/lower" "$W/upper" "$W/work" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/lower/" || fail "cp"

step mount
start_daemon "$IT_MODE" "$M" fuse-overlayfs -f \
	-o "lowerdir=$W/lower,upperdir=$W/upper,workdir=$W/work" "$M"
workload rw
dm_unmount fusermount3

step after
expect_ok 'cd upper && find . -printf "%y %m %s %P %l\n" | sort'
expect_ok 'cd lower && find . -printf "%y %m %s %P %l\n" | sort'

it_finish
