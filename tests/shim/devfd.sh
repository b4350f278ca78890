#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A daemon given its mountpoint as /dev/fd/N: mount.fuse3's
# drop_privileges opens /dev/fuse and mounts (both through the shim),
# then runs the daemon with /dev/fd/N, which libfuse uses as is.  Run
# under `fusedev run`:  devfd.sh HELLO_LL
set -u
hello=${1:?usage: devfd.sh HELLO_LL}
command -v mount.fuse3 >/dev/null || { echo "SKIP: no mount.fuse3"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: mount(2) needs root"; exit 77; }
mnt=$(mktemp -d /tmp/shim-devfd.XXXXXX)
cleanup() {
	umount "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT

mount.fuse3 "$hello" "$mnt" -o drop_privileges || { echo "FAIL: mount.fuse3"; exit 1; }
end=$((SECONDS + 10))
until [ -e "$mnt/hello" ]; do
	[ $SECONDS -lt $end ] || { echo "FAIL: not mounted within 10 s"; exit 1; }
	sleep 0.05	# poll interval, bounded by the deadline
done
[ "$(cat "$mnt/hello")" = "Hello World!" ] || { echo "FAIL: content"; exit 1; }
pid=$(pgrep -n -f "$hello") || { echo "FAIL: no daemon"; exit 1; }
tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q " /dev/fd/[0-9]" ||
	{ echo "FAIL: daemon not given /dev/fd/N"; exit 1; }
umount "$mnt" || { echo "FAIL: umount"; exit 1; }
[ ! -e "$mnt/hello" ] || { echo "FAIL: still mounted"; exit 1; }
echo "devfd: all checks passed"
