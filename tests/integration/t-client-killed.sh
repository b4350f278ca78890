#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A client dies while its request waits on the daemon.  memfs_ll; a python
# client opens a sparse file, the daemon is stopped (SIGSTOP), the client
# reads a page never read before (so the read must reach the daemon) and
# blocks; it is killed (SIGKILL), the daemon continues (SIGCONT).  The
# client must be gone within 5 s, the mount must keep working, and
# fusermount3 -u must then succeed: the dead client left no open file.
. "$(dirname "$0")/lib.sh"
it_init

[ -x "$EX/memfs_ll" ] || fail "$EX/memfs_ll is not built"
mkdir "$W/mnt" || fail "mkdir"
start_daemon "$IT_MODE" "$W/mnt" "$EX/memfs_ll" -f "$W/mnt"

# No write(2) in the setup: this scenario is about the killed client.
expect_ok 'cd mnt && mkdir d && touch d/empty && truncate -s 1M sparse && stat -c "%s %n" d/empty sparse'

bg_client reader "$PY" -c '
import os, sys, time
fd = os.open(os.environ["W"] + "/mnt/sparse", os.O_RDONLY)
print("opened", flush=True)
deadline = time.monotonic() + 20
while not os.path.exists(os.environ["W"] + "/go"):
	if time.monotonic() > deadline:
		sys.exit("no go within 20 s")
	time.sleep(0.02)	# poll for the go file until the deadline
print("reading", flush=True)
data = os.pread(fd, 4096, 512 * 1024)
print("read", len(data), flush=True)
'
reader=$CLIENT_PID
wait_for 10 "the client to open the file" grep -q opened "$W/reader.out" ||
	fail "the client did not open the file"
kill_daemon "$W/mnt" STOP
touch "$W/go"
wait_for 10 "the client to start reading" grep -q reading "$W/reader.out" ||
	fail "the client did not start reading"
wait_blocked "$reader" 10 || fail "the client did not block"
check "client still waiting for its read" \
	test -z "$(grep read "$W/reader.out" | grep -v reading)"
say "client blocked in read on the stopped daemon"

kill -KILL "$reader"
kill_daemon "$W/mnt" CONT
if wait_exit "$reader" 5; then
	say "client exit status $EXIT_STATUS"
	check_eq "client killed by SIGKILL" 137 "$EXIT_STATUS"
else
	fail "the killed client did not exit within 5 s of SIGCONT"
fi

expect_ok 'ls -la --time-style=+ mnt | squeeze | grep -v "^total"'
expect_ok 'find mnt | sort && stat -c %s mnt/sparse'
expect_ok "dd if=mnt/sparse bs=4k skip=128 count=1 status=none | od -c"
expect_ok '"$PY" -c "
import os
fd = os.open(\"mnt/sparse\", os.O_RDONLY)
print(len(os.pread(fd, 4096, 768 * 1024)))
os.close(fd)"'

stop_daemon "$W/mnt"
check "fusermount3 -u after the killed client" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"

it_finish
