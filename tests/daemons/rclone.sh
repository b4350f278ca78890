#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# rclone mount (Go) of a local remote from a temporary config file, VFS
# cache off (the default); the seed is in the remote's directory.  After
# the unmount the directory shows what the workload left.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require rclone rclone
dm_data

M=$W/mnt
mkdir "$W/src" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/src/" || fail "cp"
printf '[loc]\ntype = local\n' >"$W/rclone.conf"

step mount
start_daemon "$IT_MODE" "$M" rclone mount --config "$W/rclone.conf" \
	--cache-dir "$W/rclone-cache" "loc:$W/src" "$M"
workload rw
dm_unmount fusermount3

step after
expect_ok 'cd src && find . -printf "%y %m %s %P %l\n" | sort'

it_finish
