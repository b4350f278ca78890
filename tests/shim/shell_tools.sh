#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# shell_tools.sh MOUNTPOINT: unmodified programs (coreutils, findutils,
# tar, sed, diff, python3 when installed) on a writable emulated mount,
# through the shim.  Run by run-with-daemon.sh under `fusedev run`.
# Exit 0 pass, 1 fail, 77 skip.
set -u
mnt=${1:?usage: $0 MOUNTPOINT}
fail=0
src=$(mktemp -d /tmp/shim-tools.XXXXXX) || exit 1
trap 'rm -rf "$src"' EXIT

check() {
	local what=$1

	shift
	if ! "$@" >"$src/.out" 2>&1; then
		echo "FAIL: $what: $*"
		sed 's/^/    /' "$src/.out" | head -20
		fail=1
	fi
}

# a small tree on the real file system to copy in
mkdir -p "$src/tree/a/b" "$src/tree/c"
echo one > "$src/tree/a/one"
seq 1 5000 > "$src/tree/a/b/numbers"
printf 'x%.0s' $(seq 1 3000) > "$src/tree/c/xs"
ln -s ../a/one "$src/tree/c/link"

check "echo >" sh -c "echo hello > '$mnt/hello'"
check "cat" sh -c "test \"\$(cat '$mnt/hello')\" = hello"
check "ls -la" ls -la "$mnt"
check "stat" stat "$mnt/hello"
check "mkdir -p" mkdir -p "$mnt/x/y/z"
check "touch" touch "$mnt/x/y/z/t"
check "mv" mv "$mnt/hello" "$mnt/x/hello"
check "ln -s" ln -s hello "$mnt/x/hl"
check "readlink" sh -c "test \"\$(readlink '$mnt/x/hl')\" = hello"
check "cat through link" sh -c "test \"\$(cat '$mnt/x/hl')\" = hello"
check "cp -a in" cp -a "$src/tree" "$mnt/tree"
check "diff -r" diff -r "$src/tree" "$mnt/tree"
check "find" sh -c "test \$(find '$mnt/tree' | wc -l) = 8"
check "du" du -s "$mnt/tree"
check "wc" sh -c "test \$(wc -l < '$mnt/tree/a/b/numbers') = 5000"
check "sort" sh -c "sort -rn '$mnt/tree/a/b/numbers' | head -1 | grep -qx 5000"
check "sed -i" sed -i 's/^one$/uno/' "$mnt/tree/a/one"
check "sed result" grep -qx uno "$mnt/tree/a/one"
check "tar c" tar -C "$mnt" -cf "$src/t.tar" tree
check "tar x" tar -C "$mnt/x" -xf "$src/t.tar"
check "tar round trip" diff -r "$mnt/tree" "$mnt/x/tree"
check "cp -a out" cp -a "$mnt/tree" "$src/back"
check "diff back" diff -r "$mnt/tree" "$src/back"
check "cd + relative" sh -c "cd '$mnt/tree/a' &&
	test \"\$(cat one)\" = uno && test \"\$(pwd -P)\" = '$mnt/tree/a'"
check "dd" dd if=/dev/zero of="$mnt/zero" bs=64k count=16 status=none
check "dd size" sh -c "test \$(stat -c %s '$mnt/zero') = 1048576"
check "truncate" truncate -s 10 "$mnt/zero"
check "chmod" chmod 600 "$mnt/zero"
check "mode" sh -c "test \$(stat -c %a '$mnt/zero') = 600"
if command -v python3 >/dev/null 2>&1; then
	check "python3" python3 -c "
import os, sys
m = sys.argv[1]
n = sum(len(f) for _, _, f in os.walk(os.path.join(m, 'tree')))
assert n == 4, n
with open(os.path.join(m, 'py.txt'), 'w') as f:
    f.write('py\n')
assert open(os.path.join(m, 'py.txt')).read() == 'py\n'
os.rename(os.path.join(m, 'py.txt'), os.path.join(m, 'x', 'py.txt'))
assert os.path.exists(os.path.join(m, 'x', 'py.txt'))
" "$mnt"
fi
check "rm -rf" rm -rf "$mnt/tree" "$mnt/x" "$mnt/zero"
check "empty" sh -c "test -z \"\$(ls -A '$mnt')\""

[ $fail = 0 ] && echo "shell-tools: all checks passed"
exit $fail
