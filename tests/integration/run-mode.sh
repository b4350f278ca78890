#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs an integration scenario in one mode, or cleans up after one.
#
#	run-mode.sh kernel|emulated SCRIPT [ARG]...
#	run-mode.sh reap BASE
#
# kernel:   SCRIPT runs directly; its daemons mount with kernel FUSE
#           (needs root and /dev/fuse, else skip).
# emulated: SCRIPT runs under `$FUSEDEV run --` with an emulator of its
#           own (runtime directory BASE/emu); skips while libmountshim.so
#           is not built.
# reap:     whatever a run in BASE left: the emulator of BASE/emu is
#           stopped (TERM, then KILL after 5 s), every mount under BASE
#           detached, BASE removed.  A half killed by a timeout can leave
#           clients and daemons blocked on each other in the kernel; they
#           are freed when the emulator goes.
#
# BASE is $IT_TMPDIR when set (differential.sh sets it and reaps after
# the run), else a fresh /tmp/fusedev-it.XXXXXX reaped on exit.  The
# scenario's temporary files go under BASE.
#
# Environment: BUILD (meson build directory) and FUSEDEV (its
# cuse_fusedev/fusedev); either is derived from the other.  IT_TRACE=1
# runs SCRIPT with bash -x.  Exit status is SCRIPT's (77 skip).
set -u

skip() {
	echo "SKIP: $*"
	exit 77
}

# Mountpoints at or under $1, deepest first.
mounts_under() {
	awk -v b="$1" '$5 == b || index($5, b "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r
}

reap() {
	local base=$1 pid i m

	[ -d "$base" ] || return 0
	pid=$(cat "$base/emu/pid" 2>/dev/null)
	if [ -n "$pid" ] &&
	   tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
	   grep -q "cuse_fusedev.* $base/emu "; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 50); do
			[ -e "/proc/$pid" ] || break
			sleep 0.1	# poll for its exit until the deadline
		done
		if [ -e "/proc/$pid" ]; then
			echo "reap: emulator $pid did not stop; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	for m in $(mounts_under "$base"); do
		echo "reap: detaching $m" >&2
		umount -l "$m" 2>/dev/null
	done
	if [ -z "$(mounts_under "$base")" ]; then
		rm -rf --one-file-system "$base"
	else
		echo "reap: $base still has mounts; left in place" >&2
	fi
}

[ $# -ge 2 ] ||
	{ echo "usage: $0 kernel|emulated SCRIPT [ARG]... | reap BASE" >&2; exit 2; }
mode=$1
shift
if [ "$mode" = reap ]; then
	reap "$1"
	exit 0
fi
script=$1
shift

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
	;;
emulated)
	[ -e "$BUILD/mountshim/libmountshim.so" ] ||
		skip "emulated half: libmountshim.so not built"
	[ -x "$FUSEDEV" ] || skip "emulated half: $FUSEDEV not built"
	[ -c /dev/fuse ] || [ -c /dev/cuse ] ||
		skip "emulated half: neither /dev/fuse nor /dev/cuse"
	;;
*)
	echo "$0: mode must be kernel, emulated or reap" >&2
	exit 2
	;;
esac

if [ -n "${IT_TMPDIR:-}" ]; then
	mkdir -p "$IT_TMPDIR" || exit 1
else
	IT_TMPDIR=$(mktemp -d /tmp/fusedev-it.XXXXXX) || exit 1
	trap 'reap "$IT_TMPDIR"' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
fi
export IT_TMPDIR IT_MODE=$mode

if [ $mode = kernel ]; then
	bash ${IT_TRACE:+-x} "$script" "$@"
else
	# A caller's emulator would be shared; each run gets its own.
	mkdir -p "$IT_TMPDIR/emu" || exit 1
	FUSEDEV_DIR=$IT_TMPDIR/emu "$FUSEDEV" run -- \
		bash ${IT_TRACE:+-x} "$script" "$@"
fi
