#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# hello (high-level API) and hello_ll (low-level API): list the mount,
# read the file, stat it, and fail to write: the file is 0444 and the
# daemons implement no writing at all.
#
#	t-hello.sh [DAEMON]...		(default: hello hello_ll)
. "$(dirname "$0")/lib.sh"
it_init

[ $# -gt 0 ] || set -- hello hello_ll
for fs in "$@"; do
	[ -x "$EX/$fs" ] || fail "$EX/$fs is not built"
	mkdir "$W/mnt-$fs" || fail "mkdir"
	say "=== $fs"
	start_daemon "$IT_MODE" "$W/mnt-$fs" "$EX/$fs" -f "$W/mnt-$fs"
	in_dir "$W/mnt-$fs"

	expect_ok 'ls -l --time-style=+ . | squeeze'
	expect_ok 'ls -a .'
	expect_ok 'cat hello'
	check_eq "content of hello" "Hello World!" "$(q 'cat hello')"
	expect_ok "stat -c '%s %F %a %h' hello ."
	check_eq "stat of hello" "13 regular file 444" \
		"$(q "stat -c '%s %F %a' hello")"
	expect_ok 'sha256sum hello'
	expect_ok 'test -r hello && test ! -d hello'
	expect_err 'EACCES|EROFS' 'echo x > hello'
	expect_err 'EACCES|EROFS' 'echo x >> hello'
	expect_err 'EACCES|EROFS|EPERM' 'touch hello'
	# No create, mkdir or unlink in these daemons: the kernel's answer
	# (ENOSYS passed through) is what the emulator must give too.
	t 'echo x > new'
	check "creating a file fails" test "$T_RC" != 0
	t 'mkdir d'
	check "mkdir fails" test "$T_RC" != 0
	t 'rm -f hello'
	check "rm fails" test "$T_RC" != 0
	expect_err ENOENT 'cat missing'
	expect_err ENOENT 'stat -c %s missing'
	expect_ok '"$PY" -c "import os; print(sorted(os.listdir(\".\")))"'
	expect_ok 'cat hello'

	in_dir "$W"
	stop_daemon "$W/mnt-$fs"
	check "clean unmount of $fs" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
	expect_ok "ls -a mnt-$fs"
done

it_finish
