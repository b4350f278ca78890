#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs an integration scenario in one mode.
#
#	run-mode.sh kernel|emulated SCRIPT [ARG]...
#
# kernel:   SCRIPT runs directly; its daemons mount with kernel FUSE
#           (needs root and /dev/fuse, else skip).
# emulated: SCRIPT runs under `$FUSEDEV run --` (the shim preloaded, a
#           private emulator); skips while libmountshim.so is not built.
#
# Environment: BUILD (meson build directory) and FUSEDEV (its
# cuse_fusedev/fusedev); either is derived from the other.  Exit status
# is SCRIPT's (77 skip).
set -u

skip() {
	echo "SKIP: $*"
	exit 77
}

[ $# -ge 2 ] || { echo "usage: $0 kernel|emulated SCRIPT [ARG]..." >&2; exit 2; }
mode=$1
script=$2
shift 2

if [ -z "${BUILD:-}" ] && [ -n "${FUSEDEV:-}" ]; then
	BUILD=$(cd "$(dirname "$FUSEDEV")/.." && pwd)
fi
[ -n "${BUILD:-}" ] || { echo "$0: set BUILD or FUSEDEV" >&2; exit 2; }
FUSEDEV=${FUSEDEV:-$BUILD/cuse_fusedev/fusedev}
export BUILD FUSEDEV

case $mode in
kernel)
	[ "$(id -u)" = 0 ] || skip "kernel half: not root"
	[ -c /dev/fuse ] || skip "kernel half: no /dev/fuse"
	IT_MODE=kernel exec bash "$script" "$@"
	;;
emulated)
	[ -e "$BUILD/mountshim/libmountshim.so" ] ||
		skip "emulated half: libmountshim.so not built"
	[ -x "$FUSEDEV" ] || skip "emulated half: $FUSEDEV not built"
	[ -c /dev/fuse ] || [ -c /dev/cuse ] ||
		skip "emulated half: neither /dev/fuse nor /dev/cuse"
	# A caller's emulator would be shared; each run gets its own.
	unset FUSEDEV_DIR
	IT_MODE=emulated exec "$FUSEDEV" run -- bash "$script" "$@"
	;;
*)
	echo "$0: mode must be kernel or emulated" >&2
	exit 2
	;;
esac
