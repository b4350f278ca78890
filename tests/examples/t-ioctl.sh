#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libfuse's ioctl example, unmodified: ex_ioctl is a high-level daemon
# with one file, "fioc", whose size its FIOC_GET_SIZE (_IOR) and
# FIOC_SET_SIZE (_IOW) ioctls get and set; ex_ioctl_client is its client.
# Then ioctls.py: the daemon's errors, a directory's ioctls
# (FUSE_IOCTL_DIR) and the ioctls Linux's VFS answers itself.
#
#	t-ioctl.sh		(run by differential.sh)
. "$(dirname "$0")/../integration/lib.sh"
it_init

EXB=$BUILD/tests/examples
EXD=$IT_DIR/../examples
export EXB EXD
src=${LIBFUSE_EXAMPLES:-/usr/share/doc/libfuse3-dev/examples}
for x in ex_ioctl ex_ioctl_client; do
	[ -x "$EXB/$x" ] || skip "$x not built: no libfuse example sources" \
		"in $src (Debian package libfuse3-dev)"
done

mkdir "$W/mnt" || fail "mkdir"
say "=== ex_ioctl"
start_daemon "$IT_MODE" "$W/mnt" "$EXB/ex_ioctl" -f "$W/mnt"
in_dir "$W/mnt"

expect_ok 'ls .'
expect_ok '"$EXB/ex_ioctl_client" fioc'
check_eq "size at start" 0 "$(q '"$EXB/ex_ioctl_client" fioc')"
expect_ok '"$EXB/ex_ioctl_client" fioc 100'
expect_ok '"$EXB/ex_ioctl_client" fioc'
check_eq "size after setting 100" 100 "$(q '"$EXB/ex_ioctl_client" fioc')"
# The kernel keeps the size it has for the attribute timeout whatever an
# ioctl did: only after a write (which drops it) is the new size read.
expect_ok 'printf hello > fioc'
expect_ok '"$EXB/ex_ioctl_client" fioc'
expect_ok '"$EXB/ex_ioctl_client" fioc 3'
expect_ok '"$EXB/ex_ioctl_client" fioc'
expect_ok 'cat fioc; echo'
check_eq "content after setting 3" hel "$(q 'cat fioc')"
# open(O_RDWR) of a directory
expect_err EISDIR '"$EXB/ex_ioctl_client" .'
expect_ok '"$PY" "$EXD/ioctls.py" fioc .'

in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of ex_ioctl" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
it_finish
