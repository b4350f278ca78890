#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# archivemount (libfuse 2) of a tar archive of the seed, writable: the
# archive is rewritten at the unmount, and its new contents are shown.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require archivemount archivemount
dm_data

M=$W/mnt
mkdir "$W/root" "$M" || fail "mkdir"
cp -a "$W/seed" "$W/root/" || fail "cp"
tar -cf "$W/seed.tar" --xattrs --numeric-owner -C "$W/root" seed ||
	fail "tar c"

step mount
start_daemon "$IT_MODE" "$M" archivemount "$W/seed.tar" "$M" -f
workload rw
dm_unmount fusermount

step after
expect_ok '"$PY" -c "
import tarfile
for m in tarfile.open(\"seed.tar\"):
    print(m.type.decode(), oct(m.mode), m.size, m.name, m.linkname)
" | sort -k4'

it_finish
