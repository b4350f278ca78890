#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Differential test: runs a scenario with kernel FUSE and under emulation
# and compares the two transcripts.
#
#	differential.sh SCRIPT [ARG]...
#
# Passes only when both halves passed and their transcripts are equal;
# fails on any difference (printed as a unified diff, kernel first).  Skips
# (77) when a half cannot run, after running the kernel half if it can:
# while libmountshim.so is not built the kernel half still runs, and must
# pass.  Transcripts and stderr are kept in $BUILD/meson-logs/integration/
# as NAME.{kernel,emulated}.{out,err}.
#
# Environment: BUILD, FUSEDEV (see run-mode.sh).  Each half gets 130 s
# and its own temporary directory, reaped after it (run-mode.sh reap):
# no emulator, mount or directory outlives a half, even one timed out.
set -u

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [ARG]..." >&2; exit 2; }
script=$1
name=$(basename "$script" .sh)
if [ -z "${BUILD:-}" ] && [ -n "${FUSEDEV:-}" ]; then
	BUILD=$(cd "$(dirname "$FUSEDEV")/.." && pwd)
fi
[ -n "${BUILD:-}" ] || { echo "$0: set BUILD or FUSEDEV" >&2; exit 2; }
export BUILD
logs=$BUILD/meson-logs/integration
mkdir -p "$logs" || exit 1

# half MODE ARG...: run one half; its status in $rc, files in $logs.
half() {
	local mode=$1 out err base

	shift
	out=$logs/$name.$mode.out
	err=$logs/$name.$mode.err
	base=$(mktemp -d /tmp/fusedev-it.XXXXXX) || exit 1
	IT_TMPDIR=$base timeout -k 10 130 \
		bash "$here/run-mode.sh" "$mode" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
	bash "$here/run-mode.sh" reap "$base" 2>>"$err"
	echo "== $name, $mode half: exit $rc ($out)"
	case $rc in
	0) ;;
	77) grep -h '^SKIP' "$out" ;;
	*)
		[ $rc = 124 ] && echo "$mode half timed out after 130 s"
		echo "-- transcript (last 40 lines):"
		tail -n 40 "$out"
		echo "-- stderr (last 60 lines):"
		tail -n 60 "$err"
		;;
	esac
}

half kernel "$@"
krc=$rc
[ $krc = 77 ] && exit 77
[ $krc = 0 ] || exit 1

if [ ! -e "$BUILD/mountshim/libmountshim.so" ]; then
	echo "emulated half: libmountshim.so not built"
	exit 77
fi
half emulated "$@"
erc=$rc
[ $erc = 77 ] && exit 77

status=0
if ! diff -u --label "$name (kernel)" --label "$name (emulated)" \
	"$logs/$name.kernel.out" "$logs/$name.emulated.out"; then
	echo "transcripts differ"
	status=1
fi
[ $erc = 0 ] || status=1
[ $status = 0 ] && echo "$name: both halves passed, transcripts equal"
exit $status
