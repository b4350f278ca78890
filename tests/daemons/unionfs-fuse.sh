#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unionfs-fuse (libfuse 2), copy-on-write union of a writable branch over a
# read-only one that holds the seed; after the unmount the writable branch
# shows what was copied up and the whiteouts (.unionfs-fuse/).  Attributes
# and entries are cached for 60 s (libfuse 2's default is 1 s), so that
# what the kernel answers from its cache does not depend on the machine's
# speed.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require unionfs-fuse unionfs-fuse
dm_data

M=$W/mnt
mkdir "$W/ro" "$W/rw" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/ro/" || fail "cp"

step mount
start_daemon "$IT_MODE" "$M" unionfs-fuse -f \
	-o cow,attr_timeout=60,entry_timeout=60 "$W/rw=RW:$W/ro=RO" "$M"
workload rw
dm_unmount fusermount

step after
expect_ok 'cd rw && find . -printf "%y %m %s %P %l\n" | sort'
expect_ok 'cd ro && find . -printf "%y %m %s %P %l\n" | sort'

it_finish
