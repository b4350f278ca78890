#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libfuse's poll example, unmodified: ex_poll is a high-level daemon with
# 16 files, 0 to F, that a producer thread fills with a byte every 250 ms
# and that reads drain; its poll operation says which hold data and it
# sends NOTIFY_POLL to the pollers of a file it fills.  ex_poll_client
# select()s on all 16 for 16 rounds, reading the ready ones.  Then
# pollers.py does the same with poll(2), select(2) and epoll(7).
#
# What a line shows depends on when the client starts against the
# producer, so the transcript keeps what must hold whatever the timing:
# every round has a ready file, and no file is ready without data (a
# read of 0 bytes: readiness not the daemon's).  Every client has a
# deadline; the daemon must have been asked to notify and have notified.
#
#	t-poll.sh		(run by differential.sh)
. "$(dirname "$0")/../integration/lib.sh"
it_init

EXB=$BUILD/tests/examples
EXD=$IT_DIR/../examples
export EXB EXD
src=${LIBFUSE_EXAMPLES:-/usr/share/doc/libfuse3-dev/examples}
for x in ex_poll ex_poll_client; do
	[ -x "$EXB/$x" ] || skip "$x not built: no libfuse example sources" \
		"in $src (Debian package libfuse3-dev)"
done

mkdir "$W/mnt" || fail "mkdir"
say "=== ex_poll"
start_daemon "$IT_MODE" "$W/mnt" "$EXB/ex_poll" -f "$W/mnt"
daemon_log=${it_logs[-1]}
in_dir "$W/mnt"

expect_ok 'ls . | tr "\n" " "; echo'
# 16 rounds of select(2) at one byte every 250 ms: 4 s and some.
expect_ok '"$EXB/ex_poll_client" | awk -f "$EXD/poll-shape.awk"'
for how in poll select epoll; do
	expect_ok "\"\$PY\" \"\$EXD/pollers.py\" $how 8"
done
# A file no poller waits on: read what is there, and nothing once it is
# read (the producer adds a byte every 250 ms; a later byte is allowed).
expect_ok '"$PY" "$EXD/pollers.py" drain F'

in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of ex_poll" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
# its stdout, a file, is flushed at exit
check "the daemon notified pollers" grep -q '^NOTIFY ' "$daemon_log"
it_finish
