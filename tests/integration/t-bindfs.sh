#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Debian's bindfs (libfuse 2.9, FUSE protocol 7.19) mirroring a fresh
# directory: list, read, copy, mkdir, remove; what is made through the
# mount must appear in the source directory, and the other way round.
. "$(dirname "$0")/lib.sh"
it_init

command -v bindfs >/dev/null ||
	skip "bindfs is not installed (apt-get install bindfs)"

mkdir -p "$W/src/sub" "$W/mnt" || fail "mkdir"
echo "from the source" >"$W/src/sub/orig"
printf '%s\n' {1..5000} >"$W/src/numbers"
"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(2).randbytes(3 << 20))' \
	>"$W/data.bin" || fail "making data.bin"
data_sum=$(sha256sum <"$W/data.bin" | cut -d' ' -f1)

start_daemon "$IT_MODE" "$W/mnt" bindfs -f --no-allow-other "$W/src" "$W/mnt"
in_dir "$W/mnt"

expect_ok 'ls -la --time-style=+ . sub | squeeze | grep -v "^total"'
expect_ok 'cat sub/orig'
expect_ok 'wc -l numbers && sha256sum numbers'
expect_ok 'cp "$W/data.bin" copy && sha256sum copy'
check_eq "sha256 of the copy in the source" "$data_sum" \
	"$(sha256sum <"$W/src/copy" | cut -d' ' -f1)"
expect_ok 'mkdir -p new/deeper && echo made > new/deeper/file'
check_eq "file made through the mount, read in the source" made \
	"$(cat "$W/src/new/deeper/file")"
expect_ok 'mv new/deeper/file new/renamed && ln -s renamed new/link && cat new/link'
check_eq "rename seen in the source" "renamed" \
	"$(cd "$W/src/new" && ls renamed 2>&1)"
expect_ok "chmod 640 new/renamed && stat -c '%a %s %F %n' new/renamed new/link new"
check_eq "mode in the source" 640 "$(stat -c %a "$W/src/new/renamed")"
expect_ok 'truncate -s 3 new/renamed && cat new/renamed && echo'
echo "made in the source" >"$W/src/sub/later"
expect_ok 'cat sub/later'
expect_ok 'find . | sort'
expect_err ENOENT 'cat nothing'
expect_err ENOTEMPTY 'rmdir new'
expect_ok 'rm -r new && rm copy sub/later'
check "removal seen in the source" test ! -e "$W/src/new" -a ! -e "$W/src/copy"
expect_ok 'find . | sort'
check_eq "source tree as the mount shows it" "$(q 'find . | sort')" \
	"$(cd "$W/src" && find . | sort)"

in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of bindfs" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
expect_ok 'find src | sort'

it_finish
