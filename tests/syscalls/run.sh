#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The syscalls suite for one daemon: every case of tests/syscalls/*.cases
# on a kernel FUSE mount and on an emulated mount of the same daemon,
# compared case by case.
#
#	run.sh DAEMON [CASE]	(DAEMON: memfs_ll, passthrough_ll, nosys_ll)
#
# Fails on a difference in a case that tests/syscalls/deviations does not
# list for DAEMON (or for *), and on a listed case that no longer
# differs, so that the list stays true.  The kernel half is the
# reference: it must run every case to the end.  Skips (77) when a half
# cannot run.  With CASE only that case runs (the check of stale
# deviations is then limited to it).
#
# Output in $BUILD/meson-logs/syscalls/DAEMON/: {kernel,emulated}/CASE.out
# per case, {kernel,emulated}.all (sysstep's whole output), .err (its
# stderr), .log (the half's transcript and diagnostics).
#
# Environment: BUILD, FUSEDEV (see tests/integration/run-mode.sh),
# SYSSTEP (the sysstep program).  Each half gets 130 s and a temporary
# directory of its own, reaped after it.
set -u

here=$(cd "$(dirname "$0")" && pwd)
integ=$here/../integration
fs=${1:-}
only=${2:-}
[ -n "$fs" ] || { echo "usage: $0 DAEMON [CASE]" >&2; exit 2; }
if [ -z "${BUILD:-}" ] && [ -n "${FUSEDEV:-}" ]; then
	BUILD=$(cd "$(dirname "$FUSEDEV")/.." && pwd)
fi
[ -n "${BUILD:-}" ] || { echo "$0: set BUILD or FUSEDEV" >&2; exit 2; }
SYSSTEP=${SYSSTEP:-$BUILD/tests/syscalls/sysstep}
export BUILD SYSSTEP SYSCALLS_DIR=$here SYSCALLS_CASE=$only
logs=$BUILD/meson-logs/syscalls/$fs
rm -rf "$logs"
mkdir -p "$logs/kernel" "$logs/emulated" || exit 1

start=${EPOCHREALTIME/./}

# half MODE: run one half; its status in $rc.
half() {
	local mode=$1 base

	base=$(mktemp -d /tmp/fusedev-sc.XXXXXX) || exit 1
	SYSCALLS_OUT=$logs/$mode.all IT_TMPDIR=$base timeout -k 10 130 \
		bash "$integ/run-mode.sh" "$mode" "$here/half.sh" "$fs" \
		>"$logs/$mode.log" 2>&1 </dev/null
	rc=$?
	bash "$integ/run-mode.sh" reap "$base" 2>>"$logs/$mode.log"
	case $rc in
	0) ;;
	77) grep -h '^SKIP' "$logs/$mode.log" ;;
	*)
		echo "== $fs, $mode half: exit $rc"
		[ $rc = 124 ] && echo "$mode half timed out after 130 s"
		tail -n 40 "$logs/$mode.log"
		;;
	esac
	# One file per case.
	awk -v dir="$logs/$mode" '
		/^=== case / { f = dir "/" $3 ".out"; next }
		f { print > f }
		/^=== end / { close(f); f = "" }' "$logs/$mode.all" 2>/dev/null
}

half kernel
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || exit 1
if [ "$(cat "$logs/kernel.all.rc" 2>/dev/null)" != 0 ]; then
	echo "kernel half: sysstep did not run every case to the end"
	grep -h -B3 'BADCASE\|TIMEOUT\|KILLED' "$logs/kernel.all"
	cat "$logs/kernel.all.err"
	exit 1
fi
half emulated
[ $rc = 77 ] && exit 77
status=0
[ $rc = 0 ] || status=1

# deviations: CASE DAEMON REASON (DAEMON * for all that run CASE)
declare -A dev=() devall=()
while read -r c d reason; do
	case $c in '' | '#'*) continue ;; esac
	if [ "$d" = "$fs" ] || [ "$d" = '*' ]; then
		dev[$c]=$reason
	fi
	[ "$d" = '*' ] && devall[$c]=1
done <"$here/deviations"

ncase=0 nsame=0 nlisted=0 nfail=0 nstale=0
for k in "$logs"/kernel/*.out; do
	c=${k##*/}; c=${c%.out}
	e=$logs/emulated/$c.out
	ncase=$((ncase + 1))
	if cmp -s "$k" "$e"; then
		if [ -n "${dev[$c]:-}" ]; then
			echo "STALE: $c is listed in deviations but no longer differs: ${dev[$c]}"
			nstale=$((nstale + 1))
			status=1
		else
			nsame=$((nsame + 1))
		fi
		continue
	fi
	if [ -n "${dev[$c]:-}" ]; then
		echo "listed: $c: ${dev[$c]}"
		nlisted=$((nlisted + 1))
		continue
	fi
	echo "DIFFERS: $c"
	diff -u --label "$c (kernel)" --label "$c (emulated)" "$k" "$e" |
		sed 1,2d
	nfail=$((nfail + 1))
	status=1
done
for e in "$logs"/emulated/*.out; do
	[ -e "$e" ] || continue
	c=${e##*/}; c=${c%.out}
	[ -e "$logs/kernel/$c.out" ] && continue
	echo "DIFFERS: $c ran only in the emulated half"
	status=1
done
# Listed cases that do not exist any more are stale too.
if [ -z "$only" ]; then
	for c in "${!dev[@]}"; do
		[ -e "$logs/kernel/$c.out" ] && continue
		[ -n "${devall[$c]:-}" ] && continue	# not a case of $fs
		echo "STALE: $c is listed in deviations but is no case"
		status=1
	done
fi
end=${EPOCHREALTIME/./}
echo "$fs: $ncase cases: $nsame same, $nlisted listed deviations," \
	"$nfail unlisted differences, $nstale stale deviations" \
	"($(( (10#$end - 10#$start) / 1000 )) ms; logs in $logs)"
exit $status
