# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers of the integration scenarios (tests/integration/t-*.sh), sourced
# by them.  A scenario runs in one of two modes, $IT_MODE, set by
# run-mode.sh:
#
#   kernel    daemons mount with the kernel's FUSE; the script runs as is.
#   emulated  the script runs under `fusedev run`: it and everything it
#             starts have libmountshim.so preloaded, so daemons mount on
#             the emulator and clients reach them through the shim.
#
# A scenario prints a transcript on stdout that must be the same in both
# modes (differential.sh compares them): commands and their results,
# sizes, checksums, errno names; never times, inode or device numbers,
# pids or the temporary directory's name (shown as $W).  Diagnostics go
# to stderr.  Exit status: 0 all checks passed, 1 a check failed, 77 skip.
#
# Interface:
#   it_init                  make $W, install the cleanup trap
#   start_daemon MODE MNT CMD...   start a daemon (foreground, -f) and wait
#                            (10 s) until MNT is mounted; $DAEMON_PID
#   stop_daemon MNT [HELPER] HELPER -u MNT (fusermount3 unless given),
#                            wait for the daemon's exit; 0 only if both
#                            worked; $STOP_STATUS = its exit
#   kill_daemon MNT SIGNAL   send SIGNAL to MNT's daemon
#   system_cmd NAME          the system's NAME, not the emulator's helper
#   reap_daemon MNT          wait (5 s) for an exited daemon, forget it
#   is_mounted MNT           the mode's mount table lists MNT
#   step NAME                start a named part of the transcript (a
#                            line "### NAME"; differential.sh compares
#                            part by part with --deviations); emulated:
#                            fails on an escaped kernel FUSE mount
#   check_no_escape          emulated: fail if the kernel lists a FUSE
#                            mount under $W (a daemon that mounted the
#                            kernel's FUSE behind the emulator)
#   bg_client NAME CMD...    start a client in the background, stdout to
#                            $W/NAME.out; $CLIENT_PID
#   wait_exit PID SECS       wait until PID exited; $EXIT_STATUS
#   wait_blocked PID SECS    wait until PID sleeps (in a system call)
#   wait_for SECS WHAT CMD...  poll CMD until it succeeds, with a deadline
#   in_dir DIR               where t and q run (the script never enters
#                            a mount itself); $W at first
#   t 'SHELL COMMAND'        run it (timeout T_TIMEOUT, default 30 s,
#                            abandoned 5 s later);
#                            print "$ command", its output and "! exit N"
#                            plus the errno name; sets $T_RC, $T_ERRNO
#   q 'SHELL COMMAND'        the same, silent; prints its output
#   expect_ok / expect_err ENAME[|ENAME...]  'SHELL COMMAND'
#   check_eq WHAT EXPECTED GOT,  check WHAT CMD...
#   skip REASON (exit 77), fail REASON (exit 1), it_finish (exit 0 or 1)

set -u -o pipefail
export LC_ALL=C TZ=UTC

IT_MODE=${IT_MODE:-}
case $IT_MODE in
kernel | emulated) ;;
*)
	echo "$0: IT_MODE must be kernel or emulated (use run-mode.sh)" >&2
	exit 2
	;;
esac
if [ -z "${BUILD:-}" ]; then
	echo "$0: BUILD (the meson build directory) is not set" >&2
	exit 2
fi
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EX=$BUILD/examples
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PY

it_name=$(basename "$0" .sh)
it_failed=0
W=
declare -A it_dpid=()		# mountpoint -> daemon pid
it_mnts=()			# every mountpoint ever used, for cleanup
it_clients=()			# background client pids
it_logs=()			# daemon logs, shown on failure
it_probe=0			# numbers probe output files
it_t0=0				# it_init's time, ms

log() {
	echo "$it_name[$IT_MODE]: $*" >&2
}

say() {
	printf '%s\n' "$*"
}

skip() {
	echo "SKIP: $*"
	log "skip: $*"
	exit 77
}

# A failure goes to stderr and into the transcript, where it marks the
# step it happened in (differential.sh --deviations).
it_failure() {
	log "$*"
	if [ -n "$W" ]; then
		say "$*" | norm
	else
		say "$*"
	fi
}

fail() {
	it_failure "FAIL: $*"
	it_failed=1
	exit 1
}

check_eq() {
	if [ "$2" != "$3" ]; then
		it_failure "CHECK FAILED: $1: expected '$2', got '$3'"
		it_failed=1
		return 1
	fi
}

# check WHAT CMD...: CMD must succeed.
check() {
	local what=$1

	shift
	if ! "$@"; then
		it_failure "CHECK FAILED: $what ($*)"
		it_failed=1
		return 1
	fi
}

it_finish() {
	if [ $it_failed != 0 ]; then
		log "some checks failed"
		exit 1
	fi
	exit 0
}

now_ms() {
	local t=${EPOCHREALTIME/./}

	echo $((10#$t / 1000))
}

# wait_for SECS WHAT CMD...: poll CMD every 50 ms until it succeeds; 1
# when SECS seconds passed first.
wait_for() {
	local secs=$1 what=$2 deadline

	shift 2
	deadline=$(($(now_ms) + secs * 1000))
	until "$@"; do
		if [ "$(now_ms)" -ge $deadline ]; then
			log "timed out after ${secs}s waiting for $what"
			return 1
		fi
		sleep 0.05	# wait_for: poll again until the deadline
	done
}

# State letter of a process (R, S, D, Z, T, ...), empty when gone.
proc_state() {
	local s

	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

proc_gone() {
	local s

	s=$(proc_state "$1")
	[ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ]
}

# wait_exit PID SECS: wait until our child PID exited and reap it;
# $EXIT_STATUS is its status.  1 if it is still running at the deadline.
wait_exit() {
	EXIT_STATUS=
	wait_for "$2" "pid $1 to exit" proc_gone "$1" || return 1
	wait "$1" 2>/dev/null
	EXIT_STATUS=$?
}

# Sleeping (S or D) in three polls in a row: blocked in a system call.
_blocked_n=0
_blocked() {
	case $(proc_state "$1") in
	S | D) _blocked_n=$((_blocked_n + 1)) ;;
	*) _blocked_n=0 ;;
	esac
	[ $_blocked_n -ge 3 ]
}

wait_blocked() {
	_blocked_n=0
	wait_for "$2" "pid $1 to block" _blocked "$1"
}

# run_deadline SECS OUT CMD...: run CMD, stdin /dev/null, stdout to OUT,
# stderr to OUT.err; return its status, or 124 if it still runs after
# SECS.  A process blocked in an uninterruptible wait (a FUSE request the
# other side never answers) outlives `timeout -k`; such a process is
# abandoned (and logged), freed later when its connection goes.  The
# watchdog is a subshell without children, reading a FIFO that never
# has data, from /: killing it leaves nothing behind, not even a cwd.
_rd_expired=0
trap '_rd_expired=1' USR1
run_deadline() {
	local secs=$1 out=$2 err=$2.err pid dog me=$BASHPID rc

	shift 2
	[ "$out" = /dev/null ] && err=/dev/null
	trap '_rd_expired=1' USR1	# again: subshells reset it
	"$@" </dev/null >"$out" 2>"$err" &
	pid=$!
	_rd_expired=0
	(cd / && read -r -t "$secs" <>"$IT_FIFO"; kill -USR1 "$me") &
	dog=$!
	wait "$pid"
	rc=$?
	if [ $_rd_expired = 1 ]; then
		log "abandoned after ${secs}s (blocked in the kernel): $*"
		rc=124
	fi
	kill -KILL "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	return $rc
}

# ---- mount tables ------------------------------------------------------

# The system's NAME, not the emulator's mount helpers that `fusedev run`
# puts first in PATH (fusedev(1)).
system_cmd() {
	if [ "$IT_MODE" = emulated ] && [ -n "${FUSEDEV_DIR:-}" ]; then
		PATH=${PATH#"$(realpath "$FUSEDEV_DIR")/bin:"} command -v "$1"
	else
		command -v "$1"
	fi
}

kernel_mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# The emulator's published mount table lists MNT.
emu_mounted() {
	local out rc

	out=$("$PY" "$IT_DIR/mtab.py" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then
		[ -n "${it_cleaning:-}" ] || log "mtab.py: exit $rc: $out"
		return 1
	fi
	grep -qxF -- "$1" <<<"$out"
}

is_mounted() {
	if [ "$IT_MODE" = kernel ]; then
		kernel_mounted "$1"
	else
		emu_mounted "$1"
	fi
}

# Kernel FUSE mounts at or under $W, one a line: "MOUNTPOINT FSTYPE".
kernel_fuse_mounts() {
	awk -v b="$W" '$5 == b || index($5, b "/") == 1 {
		for (i = 7; $i != "-"; i++) ;
		if ($(i + 1) ~ /^fuse/) print $5, $(i + 1) }' /proc/self/mountinfo
}

# Under emulation no daemon may mount the kernel's FUSE: such a mount
# would serve the clients behind the emulator's back (and pass every
# comparison).  Kernel mode: nothing to check.
check_no_escape() {
	local m

	[ "$IT_MODE" = emulated ] || return 0
	m=$(kernel_fuse_mounts)
	[ -z "$m" ] && return 0
	fail "kernel FUSE mount under emulation (the daemon escaped): $m"
}

step() {
	check_no_escape
	log "step $1 at $(($(now_ms) - it_t0)) ms"
	say "### $1"
}

# MNT answers stat with another st_dev than its parent: what a client sees
# once the daemon serves the mount.
dev_differs() {
	local a= b= f=$IT_RUN/dev.$((++it_probe))

	run_deadline 5 "$f" timeout 4 stat -c %d "$1" "$(dirname "$1")" ||
		return 1
	{ read -r a; read -r b; } <"$f"
	[ -n "$a" ] && [ "$a" != "$b" ]
}

_daemon_up() {
	local pid=$1 mnt=$2

	if proc_gone "$pid"; then
		wait "$pid" 2>/dev/null
		log "daemon for $mnt exited (status $?) before mounting"
		fail "daemon did not mount $mnt"
	fi
	check_no_escape
	is_mounted "$mnt" && dev_differs "$mnt"
}

# ---- daemons -----------------------------------------------------------

# start_daemon MODE MNT CMD...: CMD must stay in the foreground (-f).
start_daemon() {
	local mode=$1 mnt=$2 log

	shift 2
	[ "$mode" = "$IT_MODE" ] ||
		fail "start_daemon $mode in a $IT_MODE run"
	[ -z "${it_dpid[$mnt]:-}" ] || fail "$mnt already has a daemon"
	log=$IT_RUN/daemon.${#it_logs[@]}.log
	it_logs+=("$log")
	it_mnts+=("$mnt")
	echo "## $*" >"$log"
	"$@" >>"$log" 2>&1 &
	DAEMON_PID=$!
	it_dpid[$mnt]=$DAEMON_PID
	if ! wait_for 10 "$mnt to be mounted" _daemon_up "$DAEMON_PID" "$mnt"
	then
		if [ "$mode" = emulated ]; then
			log "emulator mtab: $("$PY" "$IT_DIR/mtab.py" | tr '\n' ' ')"
			log "stat $mnt: $(timeout 5 stat -c '%d %F' "$mnt" 2>&1)"
		fi
		fail "$* did not mount $mnt within 10 s"
	fi
	check_no_escape
}

kill_daemon() {
	local pid=${it_dpid[$1]:-}

	[ -n "$pid" ] || fail "kill_daemon: no daemon for $1"
	kill "-$2" "$pid"
}

# reap_daemon MNT: the daemon has exited or is exiting; reap, forget it.
reap_daemon() {
	local pid=${it_dpid[$1]:-}

	[ -n "$pid" ] || return 0
	if ! wait_exit "$pid" 5; then
		kill -KILL "$pid" 2>/dev/null
		wait_exit "$pid" 2 || return 1
	fi
	unset "it_dpid[$1]"
}

# stop_daemon MNT [HELPER]: unmount with HELPER -u, fusermount3 unless
# given (fusermount for libfuse 2 daemons; under emulation the shim turns
# either into an emulated unmount) and wait for the daemon to leave.
# Returns 0 only if the unmount worked, the daemon exited by itself and
# MNT is no longer mounted.  Whatever happens, the daemon is gone after
# (or, blocked in the kernel, abandoned to the final cleanup).
stop_daemon() {
	local mnt=$1 helper=${2:-fusermount3} pid=${it_dpid[$1]:-} rc=0 out

	STOP_STATUS=
	check_no_escape
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
	out=$IT_RUN/stop.$((++it_probe))
	if ! run_deadline 15 "$out" timeout -k 2 10 "$helper" -u "$mnt"
	then
		log "$helper -u $mnt failed: $(cat "$out.err")"
		rc=1
	fi
	if [ -n "$pid" ]; then
		if wait_exit "$pid" 10; then
			STOP_STATUS=$EXIT_STATUS
			unset "it_dpid[$mnt]"
		else
			log "daemon of $mnt still running 10 s after unmount"
			rc=1
			kill -TERM "$pid" 2>/dev/null
			if wait_exit "$pid" 5; then
				unset "it_dpid[$mnt]"
			else
				kill -KILL "$pid" 2>/dev/null
			fi
		fi
	fi
	if is_mounted "$mnt"; then
		log "$mnt still mounted after stop_daemon"
		rc=1
		run_deadline 15 /dev/null timeout -k 2 10 umount -l "$mnt"
	fi
	return $rc
}

# ---- clients -----------------------------------------------------------

bg_client() {
	local name=$1

	shift
	"$@" >"$W/$name.out" 2>"$W/$name.err" &
	CLIENT_PID=$!
	it_clients+=("$CLIENT_PID")
}

# ---- transcript --------------------------------------------------------

# errno name <TAB> strerror text, longest text first.
IT_ERRTAB=$("$PY" -c '
import errno, os
rows = sorted(((os.strerror(c), n) for c, n in errno.errorcode.items()),
	      key=lambda r: -len(r[0]))
for text, name in rows:
	print(name + "\t" + text)')

# The errno name whose message appears in the text on stdin.
errno_of() {
	local text name msg

	text=$(cat)
	while IFS=$'\t' read -r name msg; do
		if [[ $text == *"$msg"* ]]; then
			echo "$name"
			return
		fi
	done <<<"$IT_ERRTAB"
	echo "E?"
}

# Replace the temporary directory's name by $W; drop bash's "line N".
norm() {
	sed -e "s|$W|\$W|g" -e 's/^bash: line [0-9]*: /bash: /'
}

# Collapse runs of blanks: `ls -l --time-style=+` output is then free of
# column widths and has an empty date.
squeeze() {
	sed -E 's/[[:blank:]]+/ /g; s/ $//'
}
export -f squeeze

# t and q run their commands in $T_CWD (in_dir DIR), under `timeout -k 2
# T_TIMEOUT` (30 s unless the scenario sets it) and run_deadline
# T_TIMEOUT + 5.  The script itself never enters a mount nor reads from
# one: a call the daemon (or the emulator) never answers would block the
# script's shell beyond any deadline.
T_TIMEOUT=${T_TIMEOUT:-30}
T_CWD=
export T_CWD
t_n=0

in_dir() {
	T_CWD=$1
}

# it_daemons [memfs_ll] [passthrough_ll]: the example daemons a scenario
# runs on (default: both) into IT_DAEMONS; each must be built.
it_daemons() {
	local fs

	IT_DAEMONS=("$@")
	[ $# -gt 0 ] || IT_DAEMONS=(memfs_ll passthrough_ll)
	for fs in "${IT_DAEMONS[@]}"; do
		case $fs in
		memfs_ll | passthrough_ll) ;;
		*) fail "unknown daemon $fs" ;;
		esac
		[ -x "$EX/$fs" ] || fail "$EX/$fs is not built"
	done
}

# The caller's `scenario` function in the root of a memfs_ll mount
# ($W/mnt-memfs), then a clean unmount.
run_memfs_scenario() {
	say "=== memfs_ll"
	mkdir "$W/mnt-memfs" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt-memfs" "$EX/memfs_ll" -f "$W/mnt-memfs"
	in_dir "$W/mnt-memfs"
	scenario
	in_dir "$W"
	stop_daemon "$W/mnt-memfs"
	check "clean unmount of memfs_ll" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
}

# q 'SHELL COMMAND': its output, for a check; nothing in the transcript.
q() {
	local f=$IT_RUN/q.$BASHPID.$RANDOM

	run_deadline $((T_TIMEOUT + 5)) "$f" timeout -k 2 $T_TIMEOUT bash -c \
		"cd \"\$T_CWD\" || exit 125
$1"
	cat "$f"
}

t() {
	local cmd=$1 out err

	t_n=$((t_n + 1))
	out=$IT_RUN/t.$t_n.out
	err=$out.err
	say "\$ $cmd"
	run_deadline $((T_TIMEOUT + 5)) "$out" timeout -k 2 $T_TIMEOUT bash -c \
		"cd \"\$T_CWD\" || exit 125
$cmd"
	T_RC=$?
	norm <"$out"
	T_ERRNO=
	if [ $T_RC != 0 ]; then
		norm <"$err" | sed 's/^/! /'
		T_ERRNO=$(errno_of <"$err")
		[ $T_RC = 124 ] && T_ERRNO=TIMEOUT
		say "! exit $T_RC $T_ERRNO"
	elif [ -s "$err" ]; then
		norm <"$err" | sed 's/^/! /'
	fi
	return $T_RC
}

expect_ok() {
	t "$1"
	check_eq "status of: $1" 0 "$T_RC"
}

# expect_err 'EACCES|EROFS' 'CMD': CMD fails with one of those errnos.
expect_err() {
	t "$2"
	if [ $T_RC = 0 ]; then
		check_eq "errno of: $2" "$1" "success"
	elif [[ "|$1|" != *"|$T_ERRNO|"* ]]; then
		check_eq "errno of: $2" "$1" "$T_ERRNO"
	fi
}

# ---- setup and cleanup -------------------------------------------------

it_show_logs() {
	local f

	for f in "${it_logs[@]}"; do
		[ -s "$f" ] || continue
		echo "---- $f" >&2
		tail -n 30 "$f" >&2
	done
}

it_cleanup() {
	local rc=$? m pid left=0

	trap - EXIT
	it_cleaning=1
	cd / || :
	for pid in "${it_clients[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	for m in "${!it_dpid[@]}"; do
		pid=${it_dpid[$m]}
		kill -CONT "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	# Never a blocking wait: a process stuck in the kernel on a FUSE
	# request is abandoned here and freed when its connection goes (the
	# emulator's end, or the kernel mount's detach).
	for m in "${!it_dpid[@]}"; do
		pid=${it_dpid[$m]}
		wait_exit "$pid" 5 && continue
		kill -KILL "$pid" 2>/dev/null
		wait_exit "$pid" 2 || log "daemon $pid of $m abandoned"
	done
	for pid in "${it_clients[@]}"; do
		wait_exit "$pid" 2 || log "client $pid abandoned"
	done
	for m in "${it_mnts[@]}"; do
		if kernel_mounted "$m" ||
		   { [ "$IT_MODE" = emulated ] && emu_mounted "$m"; }; then
			run_deadline 15 /dev/null \
				timeout -k 2 10 fusermount3 -u -z "$m" ||
			run_deadline 15 /dev/null \
				timeout -k 2 10 umount -l "$m"
		fi
		if kernel_mounted "$m"; then
			log "cannot unmount $m"
			left=1
		fi
	done
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		it_show_logs
	fi
	if [ -n "$W" ] && [ $left = 0 ]; then
		run_deadline 30 /dev/null \
			timeout -k 2 20 rm -rf --one-file-system "$W"
	fi
	exit $rc
}

it_init() {
	it_t0=$(now_ms)
	W=$(mktemp -d "${IT_TMPDIR:-/tmp}/fusedev-it.XXXXXX") || fail "mktemp"
	export W
	T_CWD=$W
	# The harness's own files, apart: $W holds only what the scenario
	# makes, the same in both modes (ls -la shows its size and links).
	IT_RUN=$W/.it
	mkdir "$IT_RUN" || fail "mkdir $IT_RUN"
	IT_FIFO=$IT_RUN/watchdog
	mkfifo "$IT_FIFO" || fail "mkfifo"
	trap it_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	cd "$W" || fail "cd $W"
}
