#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A daemon dies while clients wait on it.  Two memfs_ll mounts, A and B.
# A's daemon is stopped (SIGSTOP); two clients block on it, one in a
# lookup (stat of a name never seen), one in an open; then the daemon is
# killed (SIGKILL).  Both clients must fail within 2 s with ECONNABORTED
# or ENOTCONN, later calls on A with ENOTCONN; B keeps working; A is then
# detached with fusermount3 -u -z, and B unmounts cleanly.
. "$(dirname "$0")/lib.sh"
it_init

[ -x "$EX/memfs_ll" ] || fail "$EX/memfs_ll is not built"
mkdir "$W/a" "$W/b" || fail "mkdir"
# A caches nothing (timeout=0): after the kill every call on it must reach
# the dead connection, in both modes, however long the steps take.
start_daemon "$IT_MODE" "$W/a" "$EX/memfs_ll" -f -o timeout=0 "$W/a"
start_daemon "$IT_MODE" "$W/b" "$EX/memfs_ll" -f "$W/b"

# No write(2) before the kill: this scenario is about the dead daemon.
expect_ok 'touch a/file b/file && mkdir b/d && find a b | sort'

# client NAME CALL: a python client doing CALL on $W/a; prints "calling"
# before and the errno name (or "ok") after.
client() {
	bg_client "$1" "$PY" -c '
import errno, os, sys
print("calling", flush=True)
try:
	'"$2"'
	print("ok")
except OSError as e:
	print(errno.errorcode.get(e.errno, str(e.errno)))
'
}

kill_daemon "$W/a" STOP
client lookup 'os.stat(os.environ["W"] + "/a/never-seen")'
lookup_pid=$CLIENT_PID
client open 'os.open(os.environ["W"] + "/a/file", os.O_RDONLY)'
open_pid=$CLIENT_PID
for c in lookup open; do
	wait_for 10 "$c client to start its call" \
		grep -q calling "$W/$c.out" || fail "$c client did not start"
done
wait_blocked "$lookup_pid" 10 || fail "lookup client did not block"
wait_blocked "$open_pid" 10 || fail "open client did not block"
check "lookup client still waiting" test -z "$(grep -v calling "$W/lookup.out")"
check "open client still waiting" test -z "$(grep -v calling "$W/open.out")"
say "clients blocked on the stopped daemon"

t0=$(now_ms)
kill_daemon "$W/a" KILL
for c in lookup open; do
	pid=${c}_pid
	wait_exit "${!pid}" 5 ||
		fail "$c client still blocked 5 s after the daemon was killed"
	ms=$(($(now_ms) - t0))
	res=$(grep -v calling "$W/$c.out")
	say "$c client: $res"
	check_eq "$c client exit status" 0 "$EXIT_STATUS"
	check "$c client fails with ECONNABORTED or ENOTCONN (got '$res')" \
		test "$res" = ECONNABORTED -o "$res" = ENOTCONN
	check "$c client done within 2 s of the kill (took $ms ms)" \
		test $ms -le 2000
done
reap_daemon "$W/a"

expect_err ENOTCONN 'stat -c %s a/another-name'
expect_err ENOTCONN 'ls a'
expect_err ENOTCONN 'echo x > a/new'
check "dead mount A still mounted" is_mounted "$W/a"

expect_ok 'touch b/more && mv b/more b/d/ && mkdir b/e && ls -a b && find b | sort'
expect_ok 'echo more > b/d/more && cat b/d/more'

expect_ok 'fusermount3 -u -z a'
check "A no longer mounted" wait_for 5 "A to be detached" \
	eval '! is_mounted "$W/a"'
expect_ok 'ls -a a'
expect_ok 'stat -c "%s %F" b/file'

stop_daemon "$W/b"
check "clean unmount of B" test $? = 0
say "B unmounted, daemon exit status $STOP_STATUS"

it_finish
