#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-with-daemon.sh DAEMON TEST [ARGS...]
#
# Under `fusedev run` (FUSEDEV_DIR set, libmountshim preloaded): mount the
# libfuse example DAEMON (memfs_ll, hello_ll, ...) on a fresh temporary
# mountpoint through the emulator, run TEST MOUNTPOINT ARGS..., stop the
# daemon with SIGTERM (libfuse unmounts on the way out) and check that the
# mount went away.  Exits with TEST's status (0 pass, 1 fail, 77 skip),
# or 1 when the mount or unmount failed.  Every wait has a deadline; the
# daemon is killed and the mountpoint removed even on failure.
set -u

daemon=${1:?usage: $0 DAEMON TEST [ARGS...]}
test=${2:?usage: $0 DAEMON TEST [ARGS...]}
shift 2

if [ -z "${FUSEDEV_DIR:-}" ]; then
	echo "SKIP: not under fusedev run (FUSEDEV_DIR unset)"
	exit 77
fi
if [ ! -x "$daemon" ]; then
	echo "SKIP: $daemon not built"
	exit 77
fi

mnt=$(mktemp -d /tmp/shim-test.XXXXXX) || exit 1
pid=
# st_dev of the mountpoint's parent: the mountpoint has it until mounted
base=$(stat -c %d "$(dirname "$mnt")") || exit 1

now() {
	date +%s%N | cut -c1-13
}

# Wait (deadline $2 ms) until the mountpoint's st_dev is (=) or is not
# (!=) the parent's, as $1 says; fail early if the daemon died.
wait_dev() {
	local op=$1 deadline=$(( $(now) + $2 )) dev

	while :; do
		dev=$(stat -c %d "$mnt" 2>/dev/null) || dev=none
		if [ "$op" = "!=" ] && [ "$dev" != "$base" ] &&
		   [ "$dev" != none ]; then
			return 0
		fi
		if [ "$op" = "=" ] && [ "$dev" = "$base" ]; then
			return 0
		fi
		if [ "$op" = "!=" ] && ! kill -0 "$pid" 2>/dev/null; then
			echo "run-with-daemon: $daemon exited before mounting"
			return 1
		fi
		[ "$(now)" -lt "$deadline" ] || return 1
		sleep 0.05	# poll interval, bounded by the deadline
	done
}

stop_daemon() {
	local deadline

	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	deadline=$(( $(now) + 10000 ))
	while kill -0 "$pid" 2>/dev/null && [ "$(now)" -lt "$deadline" ]; do
		sleep 0.05	# poll interval, bounded by the deadline
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run-with-daemon: $daemon ignored SIGTERM, killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	pid=
}

cleanup() {
	stop_daemon
	rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$daemon" -f "$mnt" &
pid=$!

if ! wait_dev '!=' 10000; then
	echo "run-with-daemon: $daemon did not mount $mnt within 10 s"
	exit 1
fi

"$test" "$mnt" "$@"
rc=$?

stop_daemon
if ! wait_dev '=' 10000; then
	echo "run-with-daemon: $mnt still mounted after $daemon exited"
	[ $rc = 0 ] && rc=1
fi
exit $rc
