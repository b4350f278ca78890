#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Everyday programs (coreutils, tar, dd, python) on memfs_ll and on
# passthrough_ll (mirroring a fresh directory): create, copy, move, link,
# stat, list, truncate, chmod, set times, overwrite in place, remove.
# For passthrough_ll the source directory must end up as the mount shows.
#
#	t-coreutils.sh [memfs_ll] [passthrough_ll]	(default: both)
. "$(dirname "$0")/lib.sh"
it_init

it_daemons "$@"

# Inputs outside every mount: 5 MiB of seeded random data, a small tree.
"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(1).randbytes(5 << 20))' \
	>"$W/data.bin" || fail "making data.bin"
data_sum=$(sha256sum <"$W/data.bin" | cut -d' ' -f1)
mkdir -p "$W/tree/x/y" "$W/tree/z" &&
	echo one >"$W/tree/x/one" &&
	echo two >"$W/tree/x/y/two" &&
	ln -s ../x/one "$W/tree/z/to-one" &&
	printf '%s\n' {1..2000} >"$W/tree/z/numbers" || fail "making tree"

ls_l='ls -la --time-style=+'

# The scenario, in the mount's root.
scenario() {
	expect_ok 'mkdir -p a/b/c'
	expect_ok 'touch a/empty'
	expect_ok 'echo hello world > a/b/file'
	expect_ok 'cat a/b/file'
	expect_err EEXIST 'mkdir a'
	expect_ok 'cp "$W/data.bin" a/big'
	expect_ok 'sha256sum a/big'
	check_eq "sha256 of the copy" "$data_sum" \
		"$(q "sha256sum <a/big | cut -d' ' -f1")"
	expect_ok 'cmp "$W/data.bin" a/big'
	expect_ok 'cp a/big a/b/big2 && cmp a/big a/b/big2 && rm a/b/big2'
	expect_ok 'mv a/b/file a/b/c/moved'
	expect_ok 'mv a/big big'
	expect_err ENOENT 'cat a/b/file'
	expect_ok 'cat a/b/c/moved'
	expect_ok 'ln -s b/c/moved a/link'
	expect_ok 'readlink a/link'
	expect_ok 'cat a/link'
	expect_ok 'ln a/b/c/moved hard'
	check_eq "link count after ln" 2 "$(q 'stat -c %h hard')"
	expect_ok "stat -c '%s %h %F %a %n' a a/b a/b/c a/b/c/moved hard a/link a/empty big"
	expect_ok "stat -L -c '%s %h %F %a %n' a/link"
	expect_ok 'find . | sort'
	expect_ok 'du -sb a'
	expect_ok 'truncate -s 100000 a/empty && stat -c %s a/empty'
	expect_ok 'sha256sum a/empty'
	expect_ok 'truncate -s 10 big && stat -c %s big && sha256sum big'
	expect_ok 'truncate -s 0 big && stat -c %s big'
	expect_ok "chmod 600 hard && chmod 751 a/b && stat -c '%a %n' hard a/b a/b/c/moved"
	expect_ok "touch -d '2020-01-01 00:00:00' a/b/c/moved && stat -c %Y a/b/c/moved"
	check_eq "mtime set by touch -d" 1577836800 "$(q 'stat -c %Y hard')"
	expect_ok 'touch -m -d @1000000000 a/empty && stat -c %Y a/empty'
	expect_ok 'dd if=/dev/zero of=hard bs=1k count=4 seek=10 conv=notrunc status=none && stat -c %s hard && sha256sum hard'
	expect_ok 'printf abc | dd of=a/link bs=1 seek=2 conv=notrunc status=none && od -c hard | head -3'
	expect_ok 'tar -C "$W" -cf - tree | tar -xf - && diff -r "$W/tree" tree && echo same'
	expect_ok 'readlink tree/z/to-one && cat tree/z/to-one && wc -l tree/z/numbers'
	expect_ok "$ls_l . a a/b/c | squeeze | grep -v '^total'"
	expect_ok '"$PY" -c "
import os
for root, dirs, files in sorted(os.walk(\".\")):
    print(root, sorted(dirs), sorted(files))"'
	expect_err ENOTEMPTY 'rmdir a'
	expect_ok 'rm -r a'
	expect_err ENOENT 'stat a'
	expect_ok 'od -c hard | head -3'
	expect_ok 'mkdir -p d/e && mv hard d/e/ && mv d d2 && find . | sort'
	expect_ok 'rm -rf d2 tree big'
	expect_ok "$ls_l . | squeeze | grep -v '^total'"
	expect_ok 'find . | sort'
}

# passthrough_ll of $W/src: the scenario, then both sides compared.
run_passthrough() {
	say "=== passthrough_ll"
	mkdir "$W/mnt-pt" "$W/src" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt-pt" "$EX/passthrough_ll" -f \
		-o source="$W/src" "$W/mnt-pt"
	in_dir "$W/mnt-pt"
	scenario
	# Leave something behind and look at it from both sides.
	expect_ok 'mkdir -p keep/sub && cp "$W/data.bin" keep/sub/data && ln -s sub/data keep/l && echo kept > keep/note'
	check_eq "source tree as the mount shows it" "$(q 'find . | sort')" \
		"$(cd "$W/src" && find . | sort)"
	check_eq "sha256 of data in the source" "$data_sum" \
		"$(sha256sum <"$W/src/keep/sub/data" | cut -d' ' -f1)"
	check_eq "note in the source" kept "$(cat "$W/src/keep/note")"
	check_eq "symlink in the source" sub/data "$(readlink "$W/src/keep/l")"
	in_dir "$W"
	echo "made in the source" >"$W/src/keep/outside"
	expect_ok 'cat mnt-pt/keep/outside && find mnt-pt | sort'
	stop_daemon "$W/mnt-pt"
	check "clean unmount of passthrough_ll" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
	expect_ok 'find src | sort'
}

for fs in "${IT_DAEMONS[@]}"; do
	case $fs in
	memfs_ll) run_memfs_scenario ;;
	passthrough_ll) run_passthrough ;;
	esac
done
it_finish
