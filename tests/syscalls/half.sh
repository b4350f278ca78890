#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One half of the syscalls suite, run by run.sh through
# tests/integration/run-mode.sh (kernel or emulated, $IT_MODE): mounts
# DAEMON on $W/mnt, runs sysstep over every case file (each case in a
# fresh directory of the mount, $W/outside for what lies outside), and
# unmounts.
#
#	half.sh DAEMON
#
# Environment: SYSSTEP (the sysstep program), SYSCALLS_DIR (the case
# files), SYSCALLS_OUT (sysstep's stdout goes there, its stderr to
# SYSCALLS_OUT.err, its exit status to SYSCALLS_OUT.rc), SYSCALLS_CASE
# (optional: run only that case), plus what lib.sh needs (BUILD).
. "$(dirname "$0")/../integration/lib.sh"
it_init

fs=${1:-}
[ -n "${SYSSTEP:-}" ] && [ -x "$SYSSTEP" ] || fail "SYSSTEP is not set"
[ -n "${SYSCALLS_OUT:-}" ] || fail "SYSCALLS_OUT is not set"
cases=("$SYSCALLS_DIR"/*.cases)
opts=()
[ -n "${SYSCALLS_CASE:-}" ] && opts=(-c "$SYSCALLS_CASE")

mkdir "$W/mnt" "$W/outside" || fail "mkdir"
case $fs in
memfs_ll)
	start_daemon "$IT_MODE" "$W/mnt" "$EX/memfs_ll" -f "$W/mnt"
	;;
passthrough_ll)
	mkdir "$W/src" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt" "$EX/passthrough_ll" -f \
		-o source="$W/src" "$W/mnt"
	;;
nosys_ll)
	start_daemon "$IT_MODE" "$W/mnt" "$BUILD/tests/syscalls/nosys_ll" -f \
		"$W/mnt"
	cases=("$SYSCALLS_DIR"/nosys/*.cases)
	opts+=(-n)	# nothing can be made there: cases run in the mount
	;;
*)
	fail "unknown daemon $fs"
	;;
esac

# sysstep gives each case 15 s and kills it after; the whole run gets 100.
run_deadline 100 "$SYSCALLS_OUT" timeout -k 2 90 \
	"$SYSSTEP" "${opts[@]}" "$W/mnt" "$W/outside" "${cases[@]}"
echo $? >"$SYSCALLS_OUT.rc"
stop_daemon "$W/mnt" || fail "unmounting $fs"
log "daemon exit status $STOP_STATUS"
it_finish
