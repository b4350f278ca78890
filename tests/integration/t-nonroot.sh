#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A FUSE file system of an unprivileged user, from mount to unmount, all
# as nobody (uid 65534): memfs_ll mounts through fusermount3 (the real
# setuid one with kernel FUSE, the shim's emulation of it under
# `fusedev run`), the user's own programs use it under
# default_permissions, fusermount3 -u unmounts it.  What fusermount3
# refuses a user is checked too: allow_other without user_allow_other in
# /etc/fuse.conf, a mountpoint the user cannot write.
#
# Started as root by run-mode.sh, the script sets up a directory of
# nobody's under $IT_TMPDIR and runs itself again as nobody (NR_INNER=1):
# directly in kernel mode; in emulated mode under a `fusedev run` of
# nobody's own, so that the emulator runs as nobody as well.
. "$(dirname "$0")/lib.sh"

NR_UID=65534
NR_GID=65534

as_nobody() {
	setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups "$@"
}

# ---- as root: switch to nobody -------------------------------------------

if [ "${NR_INNER:-}" != 1 ]; then
	self=$IT_DIR/$(basename "$0")
	[ "$(id -u)" = 0 ] || skip "needs root to switch to uid $NR_UID"
	command -v setpriv >/dev/null || skip "no setpriv"
	as_nobody true 2>/dev/null ||
		skip "setpriv cannot switch to uid $NR_UID"
	[ -u "$(system_cmd fusermount3)" ] ||
		skip "fusermount3 is not setuid root"
	# An emulator of nobody's on the cuse transport needs /dev/cuse,
	# which is root's (0600) unless the system says otherwise.
	if [ "${FUSEDEV_TRANSPORT:-}" = cuse ]; then
		as_nobody test -w /dev/cuse 2>/dev/null ||
			skip "cuse transport: /dev/cuse is not writable for uid $NR_UID"
	fi
	# $IT_TMPDIR is root's (mktemp -d, 0700): nobody's directory in it
	# must be reachable.  Everything nobody runs must be readable.
	chmod o+x "$IT_TMPDIR" || fail "chmod o+x $IT_TMPDIR"
	as_nobody test -x "$IT_TMPDIR" ||
		skip "$IT_TMPDIR is not reachable for uid $NR_UID"
	for f in "$self" "$IT_DIR/lib.sh" "$IT_DIR/mtab.py"; do
		as_nobody test -r "$f" ||
			skip "$f is not readable for uid $NR_UID"
	done
	as_nobody test -x "$EX/memfs_ll" ||
		skip "$EX/memfs_ll is not executable for uid $NR_UID"
	nb=$IT_TMPDIR/nobody
	mkdir -p "$nb" && chown $NR_UID:$NR_GID "$nb" && chmod 700 "$nb" ||
		fail "making $nb"
	if [ "$IT_MODE" = kernel ]; then
		exec env NR_INNER=1 IT_TMPDIR="$nb" HOME="$nb" \
			setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups \
			bash ${IT_TRACE:+-x} "$self" "$@"
	fi
	as_nobody test -x "$FUSEDEV" ||
		skip "$FUSEDEV is not executable for uid $NR_UID"
	as_nobody test -r "$BUILD/mountshim/libmountshim.so" ||
		skip "libmountshim.so is not readable for uid $NR_UID"
	mkdir -p "$nb/emu" && chown $NR_UID:$NR_GID "$nb/emu" ||
		fail "making $nb/emu"
	# Out of root's emulation: nobody's fusedev starts nobody's
	# emulator in $nb/emu and preloads the shim again.
	exec env -u LD_PRELOAD NR_INNER=1 IT_TMPDIR="$nb" HOME="$nb" \
		FUSEDEV_DIR="$nb/emu" \
		setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups \
		"$FUSEDEV" run -- bash ${IT_TRACE:+-x} "$self" "$@"
fi

# ---- as nobody -------------------------------------------------------------

[ "$(id -u)" = $NR_UID ] || fail "inner run as uid $(id -u), not $NR_UID"
it_init

if [ "$IT_MODE" = emulated ]; then
	epid=$(cat "$FUSEDEV_DIR/pid" 2>/dev/null)
	check "the emulator runs as uid $NR_UID" \
		test "$(awk '/^Uid:/ { print $2 }' "/proc/$epid/status" \
			2>/dev/null)" = $NR_UID
fi

"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(7).randbytes(1 << 20))' \
	>"$W/data.bin" || fail "making data.bin"
data_sum=$(sha256sum <"$W/data.bin" | cut -d' ' -f1)

# try_mount NAME MNT CMD...: a daemon fusermount3 should refuse; prints
# whether it mounted or exited, and its messages.  A mount that happened
# anyway is taken down again.
try_mount() {
	local name=$1 mnt=$2 pid log=$IT_RUN/$1.log st

	shift 2
	printf '$ %s\n' "$*" | sed "s|$EX|\$EX|g" | norm
	"$@" >"$log" 2>&1 &
	pid=$!
	it_dpid[$mnt]=$pid
	it_mnts+=("$mnt")
	_tm_done() {
		proc_gone "$pid" || { is_mounted "$mnt" && dev_differs "$mnt"; }
	}
	wait_for 10 "$name: daemon to mount or exit" _tm_done
	if proc_gone "$pid"; then
		wait "$pid"
		st=$?
		unset "it_dpid[$mnt]"
		norm <"$log" | grep -v '^fuse: ' | sed 's/^/! /'
		say "daemon exited, status $st"
	else
		say "mounted"
		stop_daemon "$mnt"
		say "unmounted, daemon exit status $STOP_STATUS"
	fi
}

mnt=$W/mnt
ls_l='ls -la --time-style=+'

expect_ok 'id -u; id -g; id -G'
expect_ok 'mkdir mnt && stat -c "%u %g %a" mnt'
say "=== memfs_ll mounted by uid $NR_UID"
start_daemon "$IT_MODE" "$mnt" "$EX/memfs_ll" -f "$mnt"
expect_ok 'stat -c "%u %g %a %F" mnt'
in_dir "$mnt"
expect_ok 'mkdir -p a/b && echo hello > a/f && touch g'
expect_ok 'stat -c "%u %g %a %F %n" . a a/b a/f g'
expect_ok 'chmod 000 a/f && stat -c "%a %n" a/f'
expect_err EACCES 'cat a/f'
expect_err EACCES 'echo more >> a/f'
expect_ok 'stat -c "%s %a %n" a/f'
expect_ok 'chmod 644 a/f && cat a/f'
expect_ok 'chmod 000 a/b && stat -c "%a %n" a/b'
expect_err EACCES 'ls a/b'
expect_err EACCES 'touch a/b/x'
expect_err EACCES 'stat a/b/nothing'
expect_ok 'chmod 755 a/b && ls a/b && touch a/b/x && ls a/b'
expect_ok 'chmod 555 a && stat -c "%a %n" a'
expect_err EACCES 'mkdir a/new'
expect_err EACCES 'rm a/f'
expect_ok 'chmod 755 a'
expect_ok 'chmod 4755 g && chmod 2755 a/f && stat -c "%a %A %n" g a/f'
expect_ok '"$PY" -c "import os; f = os.statvfs(\".\").f_flag; print(*(n for n in (\"RDONLY\", \"NOSUID\", \"NODEV\", \"NOEXEC\") if f & getattr(os, \"ST_\" + n)))"'
expect_ok 'mkdir d && stat -c "%u %g %a %F" d && rmdir d'
expect_err ENOENT 'stat d'
expect_ok 'cp "$W/data.bin" big && stat -c "%s %u %g %a" big'
expect_ok 'sha256sum big'
check_eq "sha256 of the copy" "$data_sum" \
	"$(q "sha256sum <big | cut -d' ' -f1")"
expect_ok 'cp big big2 && cmp big big2 && rm big2'
say "--- a socket of the user's: server and client in processes of their own"
bg_client sock-server "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[2], "w").close()
c, a = s.accept()
c.sendall(c.recv(100).upper())
print("server", repr(s.getsockname()), repr(a))' "$mnt/u.sock" "$W/ready-sock"
wait_for 10 "the socket server" test -e "$W/ready-sock" ||
	fail "the socket server did not start"
expect_ok 'stat -c "%F %a %u %g" u.sock'
expect_ok '"$PY" -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"u.sock\"); s.sendall(b\"nobody\"); print(s.recv(100).decode(), repr(s.getpeername()))"'
wait_exit "$CLIENT_PID" 10 || fail "the socket server did not finish"
norm <"$W/sock-server.out"
expect_ok 'rm u.sock'
expect_ok "$ls_l . a | squeeze | grep -v '^total'"
expect_ok 'rm -r a g big && ls -A'
in_dir "$W"
say "=== fusermount3 -u"
stop_daemon "$mnt"
check "fusermount3 -u of nobody's mount" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
if is_mounted "$mnt"; then
	say "$mnt still mounted"
	it_failed=1
else
	say "not mounted any more"
fi
expect_ok 'stat -c "%u %g %a %F" mnt && ls -A mnt'

say "=== what fusermount3 refuses a user"
expect_ok 'grep -c "^[[:blank:]]*user_allow_other" /etc/fuse.conf || :'
try_mount allow_other "$mnt" "$EX/memfs_ll" -f -o allow_other "$mnt"
mkdir "$W/ro" && chmod 555 "$W/ro" || fail "making ro"
try_mount no_write "$W/ro" "$EX/memfs_ll" -f "$W/ro"
expect_ok 'stat -c "%a %F" ro && ls -A ro'
chmod 755 "$W/ro"
it_finish
