#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gocryptfs (go-fuse) on a cipher directory made with gocryptfs -init;
# the seed goes in through the mount.  After the unmount the cipher
# directory holds only encrypted names: its shape is shown.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require gocryptfs gocryptfs
dm_data

M=$W/mnt
mkdir "$W/cipher" "$M" || fail "mkdir"
echo "test password" >"$W/pass"
gocryptfs -init -q -passfile "$W/pass" -scryptn 10 "$W/cipher" ||
	fail "gocryptfs -init"

step mount
start_daemon "$IT_MODE" "$M" gocryptfs -fg -q -passfile "$W/pass" \
	"$W/cipher" "$M"
dm_seed
workload rw
dm_unmount fusermount3

step after
expect_ok 'cd cipher && find . -mindepth 1 -printf "%y %d\n" | sort | uniq -c | squeeze'

it_finish
