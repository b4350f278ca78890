#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A daemon that asks for FUSE_CAP_SPLICE_READ, _WRITE and _MOVE
# (passthrough_ll -o splice): libfuse receives requests with splice(2)
# from the device and answers READ by splicing the source file's pages
# through a pipe into the device.  Under emulation the daemon-side shim
# serves both directions.  Large reads and writes, read back and checked.
. "$(dirname "$0")/lib.sh"
it_init

[ -x "$EX/passthrough_ll" ] || fail "$EX/passthrough_ll is not built"
mkdir -p "$W/src/d" "$W/mnt" || fail "mkdir"
"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(5).randbytes((1 << 20) + 1234))' \
	>"$W/src/d/data" || fail "making data"
printf 'small\n' >"$W/src/small"
data_sum=$(sha256sum <"$W/src/d/data" | cut -d' ' -f1)

start_daemon "$IT_MODE" "$W/mnt" "$EX/passthrough_ll" -f \
	-o splice,source="$W/src" "$W/mnt"
in_dir "$W/mnt"
expect_ok 'cat small && stat -c "%s %n" d/data'
expect_ok 'sha256sum d/data'
check_eq "sha256 through the mount" "$data_sum" \
	"$(q "sha256sum <d/data | cut -d' ' -f1")"
expect_ok 'dd if=d/data bs=65536 skip=7 count=5 status=none | sha256sum'
expect_ok 'cp d/data copy && cmp d/data copy && stat -c "%s %n" copy'
expect_ok 'dd if=/dev/zero of=copy bs=131072 seek=3 count=2 conv=notrunc status=none && sha256sum copy'
check_eq "the source sees the writes" "$(q "sha256sum <copy | cut -d' ' -f1")" \
	"$(sha256sum <"$W/src/copy" | cut -d' ' -f1)"
expect_ok 'rm copy && ls'
in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of passthrough_ll -o splice" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
it_finish
