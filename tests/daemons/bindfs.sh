#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bindfs (libfuse 2) mirroring a directory that holds the seed; after the
# unmount the directory shows what the workload left.  Attributes and
# entries are cached for 60 s (libfuse 2's default is 1 s), so that what
# the kernel answers from its cache does not depend on the machine's
# speed.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require bindfs bindfs
dm_data

M=$W/mnt
mkdir "$W/src" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/src/" || fail "cp"

step mount
start_daemon "$IT_MODE" "$M" bindfs -f --no-allow-other \
	-o attr_timeout=60,entry_timeout=60 "$W/src" "$M"
workload rw
dm_unmount fusermount

step after
expect_ok 'cd src && find . -printf "%y %m %s %P\n" | sort'
expect_ok 'cd src && sha256sum w/big'

it_finish
