#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Programs the shim cannot enter (a static busybox, a Go program): said
# once per emulator on stderr, whichever exec family starts them; refused
# with EPERM under FUSEDEV_UNSHIMMED=refuse (fusedev run --strict),
# except a Go program built with a FUSE library; silent under allow.
# Also what such a program sees: the real directory under the mountpoint.
# Run by run-with-daemon.sh with memfs_ll:  unshimmed.sh MNT FUSEDEV
set -u
M=${1:?usage: unshimmed.sh MNT FUSEDEV}
FUSEDEV=${2:?usage: unshimmed.sh MNT FUSEDEV}
BB=$(command -v busybox) || { echo "SKIP: no busybox"; exit 77; }
ldd "$BB" 2>&1 | grep -q "not a dynamic executable" ||
	{ echo "SKIP: $BB is not static (apt-get install busybox-static)"; exit 77; }
BB=$(realpath "$BB")
T=$(mktemp -d /tmp/shim-unshimmed.XXXXXX) || exit 1
trap 'rm -rf "$T"; FUSEDEV_DIR= rm -f "$M/real-g" "$M/real-h"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# count FILE TEXT: lines of FILE containing TEXT
count() {
	grep -cF -- "$2" "$1"
}

# A script run through busybox as its interpreter: judged by that, and
# busybox's first exec here, so its one message is said now.
printf '#!%s sh\necho from the script\n' "$BB" >"$T/script"
chmod +x "$T/script"
out=$("$T/script" 2>"$T/err1")
[ "$out" = "from the script" ] || fail "script through busybox: '$out'"
[ "$(count "$T/err1" "libmountshim: $BB is a statically linked program")" = 1 ] ||
	fail "script's interpreter not named once: $(cat "$T/err1")"

# Again, by every exec family: nothing more is said.
{
	"$BB" true
	bash -c "exec $BB true"
	env busybox true
	python3 -c 'import os, subprocess, sys
subprocess.check_call(["busybox", "true"])
pid = os.posix_spawnp("busybox", ["busybox", "true"], os.environ)
os.waitpid(pid, 0)
pid = os.posix_spawn(sys.argv[1], ["busybox", "true"], os.environ)
os.waitpid(pid, 0)' "$BB"
	"$T/script" >/dev/null
} 2>"$T/err2" || fail "busybox runs failed: $(cat "$T/err2")"
[ ! -s "$T/err2" ] || fail "said more than once: $(cat "$T/err2")"
grep -qx "warned $BB" "$FUSEDEV_DIR/unshimmed" ||
	fail "no record of $BB in $FUSEDEV_DIR/unshimmed"

# Dynamic programs: nothing.
ls "$M" >/dev/null 2>"$T/err3"
cat /dev/null 2>>"$T/err3"
[ ! -s "$T/err3" ] || fail "a dynamic program was named: $(cat "$T/err3")"

# What busybox sees: the real directory under the mountpoint.
echo emulated >"$M/f" || fail "write through the mount"
"$BB" cat "$M/f" >/dev/null 2>&1 && fail "busybox saw the emulated file"
"$BB" sh -c "echo real > $M/real-g" || fail "busybox write"
[ "$(FUSEDEV_DIR= cat "$M/real-g")" = real ] ||
	fail "busybox's write did not land in the real directory"
[ ! -e "$M/real-g" ] || fail "busybox's write shows through the mount"

# refuse: EPERM, said once, nothing written.
FUSEDEV_UNSHIMMED=refuse "$BB" sh -c "echo real > $M/real-h" 2>"$T/err4"
rc=$?
[ $rc = 126 ] || fail "refused busybox: exit $rc, expected 126"
[ "$(count "$T/err4" "libmountshim: $BB: refused (FUSEDEV_UNSHIMMED=refuse)")" = 1 ] ||
	fail "refusal not said: $(cat "$T/err4")"
[ "$(count "$T/err4" "Operation not permitted")" = 1 ] ||
	fail "refusal is not EPERM: $(cat "$T/err4")"
FUSEDEV_DIR= /usr/bin/test ! -e "$M/real-h" || fail "a refused busybox wrote"
FUSEDEV_UNSHIMMED=refuse python3 -c 'import errno, os
try:
	os.posix_spawnp("busybox", ["busybox", "true"], os.environ)
except PermissionError as e:
	assert e.errno == errno.EPERM
	raise SystemExit(0)
raise SystemExit(1)' 2>"$T/err5" || fail "posix_spawnp of a refused program"
[ ! -s "$T/err5" ] || fail "refusal said twice: $(cat "$T/err5")"

# fusedev run: the command itself; --strict is refuse.
"$FUSEDEV" run -- "$BB" true 2>"$T/err6" ||
	fail "fusedev run of busybox: $(cat "$T/err6")"
[ "$(count "$T/err6" "fusedev: $BB is a statically linked program")" = 1 ] ||
	fail "fusedev run did not name busybox: $(cat "$T/err6")"
"$FUSEDEV" run --strict -- "$BB" true 2>"$T/err7"
rc=$?
[ $rc = 126 ] || fail "fusedev run --strict of busybox: exit $rc"
[ "$(count "$T/err7" "fusedev: $BB: refused")" = 1 ] ||
	fail "fusedev run --strict did not say why: $(cat "$T/err7")"
"$FUSEDEV" run --strict -- ls "$M" >/dev/null 2>"$T/err8" ||
	fail "fusedev run --strict of ls: $(cat "$T/err8")"

# allow: silent, and not recorded.
if GO=$(command -v gocryptfs); then
	GO=$(realpath "$GO")
	FUSEDEV_UNSHIMMED=allow "$GO" -version >/dev/null 2>"$T/err9" ||
		fail "gocryptfs -version"
	[ ! -s "$T/err9" ] || fail "allow said something: $(cat "$T/err9")"
	grep -q " $GO\$" "$FUSEDEV_DIR/unshimmed" && fail "allow recorded $GO"
	# a Go FUSE daemon runs under refuse, and is said to be one
	FUSEDEV_UNSHIMMED=refuse "$GO" -version >/dev/null 2>"$T/err10" ||
		fail "refuse stopped the FUSE daemon gocryptfs"
	[ "$(count "$T/err10" "libmountshim: $GO is a Go program, which libmountshim cannot enter: a FUSE daemon")" = 1 ] ||
		fail "gocryptfs not named as a Go FUSE daemon: $(cat "$T/err10")"
else
	echo "gocryptfs not installed: its checks skipped"
fi

[ $fails = 0 ] || exit 1
echo "unshimmed: all checks passed"
