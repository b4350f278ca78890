#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job, end to end: the hello_ll example daemon served by the
# emulated /dev/fuse, its file listed with `ls -l` and read with `cat`
# through the shim; no kernel mount of hello_ll is made.
#
#	examples/demo.sh [--kernel] [BUILD_DIR]
#
# BUILD_DIR defaults to build/ beside this source tree.  The script
# re-runs itself under `BUILD_DIR/cuse_fusedev/fusedev run`; --kernel
# mounts with kernel FUSE instead, for comparison.  It makes a temporary
# mountpoint, starts hello_ll in the background, waits (10 s deadline)
# until the file is visible, lists and reads it, stops the daemon and
# cleans up, also on failure.  Exit status 0 when all of that worked.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=0
if [ "${1:-}" = --kernel ]; then
	kernel=1
	shift
fi
build=$(cd "${1:-$here/../build}" && pwd)
hello=$build/examples/hello_ll
fusedev=$build/cuse_fusedev/fusedev

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$hello" ] ||
	die "$hello is not built (meson setup build && ninja -C build)"

if [ $kernel = 0 ] && [ -z "${FUSEDEV_DEMO_INNER:-}" ]; then
	[ -x "$fusedev" ] || die "$fusedev is not built"
	FUSEDEV_DEMO_INNER=1 exec "$fusedev" run -- "$here/demo.sh" "$build"
fi

mnt=$(mktemp -d /tmp/fusedev-demo.XXXXXX)
pid=

# Stop the daemon (TERM, then KILL after 5 s) and remove the mountpoint.
cleanup() {
	local i

	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
	if [ $kernel = 1 ] && grep -q " $mnt " /proc/self/mountinfo; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" || true
	fi
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$hello" -f "$mnt" &
pid=$!

deadline=$((SECONDS + 10))
until [ -e "$mnt/hello" ]; do
	kill -0 "$pid" 2>/dev/null ||
		die "hello_ll exited before its mount was usable"
	[ $SECONDS -lt $deadline ] ||
		die "hello_ll's mount at $mnt not usable after 10 s"
	sleep 0.1
done

ls -l "$mnt"
cat "$mnt/hello"
