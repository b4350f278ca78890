#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# hello_ro.sh MOUNTPOINT: the read-only hello_ll example through the shim:
# its one file listed and read, and writes refused as the kernel refuses
# them on a read-only file system.  Run by run-with-daemon.sh under
# `fusedev run`.  Exit 0 pass, 1 fail.
set -u
mnt=${1:?usage: $0 MOUNTPOINT}
fail=0

check() {
	local what=$1

	shift
	if ! "$@"; then
		echo "FAIL: $what"
		fail=1
	fi
}

check "ls lists hello" sh -c "ls '$mnt' | grep -qx hello"
check "cat" sh -c "test \"\$(cat '$mnt/hello')\" = 'Hello World!'"
check "stat size" sh -c "test \$(stat -c %s '$mnt/hello') = 13"
check "regular file" test -f "$mnt/hello"
check "no such file" sh -c "! cat '$mnt/nope' 2>/dev/null"
check "no create" sh -c "! touch '$mnt/new' 2>/dev/null"
check "head -c" sh -c "test \"\$(head -c 5 '$mnt/hello')\" = Hello"
[ $fail = 0 ] && echo "hello-ro: all checks passed"
exit $fail
