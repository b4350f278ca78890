#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Differential test: runs a scenario with kernel FUSE and under emulation
# and compares the two transcripts.
#
#	differential.sh [--deviations FILE] SCRIPT [ARG]...
#
# Passes only when both halves passed and their transcripts are equal;
# fails on any difference (printed as a unified diff, kernel first).  Skips
# (77) when a half cannot run, after running the kernel half if it can:
# while libmountshim.so is not built the kernel half still runs, and must
# pass.  Transcripts and stderr are kept in $BUILD/meson-logs/DIR/ (DIR:
# the name of SCRIPT's directory, `integration` for tests/integration) as
# NAME.{kernel,emulated}.{out,err}.
#
# With --deviations, the transcripts are compared step by step (the parts
# that lib.sh's `step NAME` begins; what comes before the first is step
# `start`), and FILE lists the steps allowed to differ: lines "NAME STEP
# REASON" (NAME: SCRIPT's name without .sh; # comments).  The kernel half
# must pass.  A step passes when it is equal and not listed, or differs
# and is listed (a failed check or `fail` shows in the transcript, so it
# makes its step differ); an emulated half that failed must differ in a
# listed step, and the steps it did not reach are not compared.  A listed
# step that no longer differs fails the test ("stale"), so that the list
# stays true.
# Per step: NAME.{kernel,emulated}.steps/STEP.
#
# Environment: BUILD, FUSEDEV (see run-mode.sh).  Each half gets 130 s
# and its own temporary directory, reaped after it (run-mode.sh reap):
# no emulator, mount or directory outlives a half, even one timed out.
set -u

here=$(cd "$(dirname "$0")" && pwd)
deviations=
if [ "${1:-}" = --deviations ]; then
	deviations=${2:?"--deviations needs a file"}
	shift 2
fi
[ $# -ge 1 ] ||
	{ echo "usage: $0 [--deviations FILE] SCRIPT [ARG]..." >&2; exit 2; }
script=$1
name=$(basename "$script" .sh)
suite=$(basename "$(cd "$(dirname "$script")" && pwd)")
if [ -z "${BUILD:-}" ] && [ -n "${FUSEDEV:-}" ]; then
	BUILD=$(cd "$(dirname "$FUSEDEV")/.." && pwd)
fi
[ -n "${BUILD:-}" ] || { echo "$0: set BUILD or FUSEDEV" >&2; exit 2; }
export BUILD
logs=$BUILD/meson-logs/$suite
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

# split MODE: the MODE transcript, one file per step, in
# $logs/$name.MODE.steps/; the step names in order on stdout.
split() {
	local dir=$logs/$name.$1.steps

	rm -rf "$dir"
	mkdir -p "$dir" || exit 1
	awk -v dir="$dir" '
		BEGIN { f = dir "/start"; print "start"; printf "" > f }
		/^### / {
			close(f)
			s = substr($0, 5)
			if (s !~ /^[A-Za-z0-9_.-]+$/ || s in seen) {
				print "bad or repeated step name: " s > "/dev/stderr"
				exit 1
			}
			seen[s] = 1
			f = dir "/" s; print s
			printf "" > f
		}
		{ print > f }' "$logs/$name.$1.out"
}

# compare_steps: the step by step comparison of --deviations.
compare_steps() {
	local d st ksteps esteps s reason k e status=0 n=0 nlisted=0
	local -A dev=() in_e=()

	while read -r d st reason; do
		case $d in '' | '#'*) continue ;; esac
		[ "$d" = "$name" ] && dev[$st]=$reason
	done <"$deviations"
	ksteps=$(split kernel) || return 1
	esteps=$(split emulated) || return 1
	for s in $esteps; do
		in_e[$s]=1
	done
	for s in $esteps; do
		[ -e "$logs/$name.kernel.steps/$s" ] && continue
		echo "DIFFERS: step $s is only in the emulated transcript"
		status=1
	done
	for s in $ksteps; do
		k=$logs/$name.kernel.steps/$s
		e=$logs/$name.emulated.steps/$s
		reason=${dev[$s]:-}
		if [ -z "${in_e[$s]:-}" ]; then
			# The emulated half stopped at an earlier step.
			echo "not reached: step $s"
			continue
		fi
		n=$((n + 1))
		if cmp -s "$k" "$e"; then
			if [ -n "$reason" ]; then
				echo "STALE: step $s is listed but no longer differs: $reason"
				status=1
			fi
			continue
		fi
		if [ -n "$reason" ]; then
			echo "listed: step $s: $reason"
			nlisted=$((nlisted + 1))
		else
			echo "DIFFERS: step $s"
			status=1
		fi
		diff -a -u --label "$s (kernel)" --label "$s (emulated)" "$k" "$e" |
			sed 1,2d
	done
	for s in "${!dev[@]}"; do
		[ -e "$logs/$name.kernel.steps/$s" ] && continue
		echo "STALE: step $s is listed but is no step of $name"
		status=1
	done
	# A failure shows in the transcript (lib.sh's fail and checks); one
	# that did not, or a half killed by its timeout, is unaccounted for
	# unless a listed step differs.
	if [ $erc != 0 ] && [ $nlisted = 0 ]; then
		echo "FAILED: the emulated half failed (exit $erc), in no listed step"
		status=1
	fi
	echo "$name: $n steps compared, $nlisted listed deviations"
	return $status
}

if [ -n "$deviations" ]; then
	compare_steps
	status=$?
	[ $status = 0 ] &&
		echo "$name: kernel half passed, transcripts equal but for listed steps"
	exit $status
fi

status=0
if ! diff -u --label "$name (kernel)" --label "$name (emulated)" \
	"$logs/$name.kernel.out" "$logs/$name.emulated.out"; then
	echo "transcripts differ"
	status=1
fi
[ $erc = 0 ] || status=1
[ $status = 0 ] && echo "$name: both halves passed, transcripts equal"
exit $status
