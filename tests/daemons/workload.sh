# SPDX-License-Identifier: GPL-2.0-or-later
#
# The workload of the `daemons` suite, sourced by each scenario
# (tests/daemons/NAME.sh) after tests/integration/lib.sh.  A scenario
# prepares its daemon's backing store from the data made here, mounts
# it (step `mount`), runs `workload` in the mount, unmounts with
# fusermount or fusermount3 -u (step `unmount`, with the daemon's exit
# status) and shows what the daemon left in its backing store (step
# `after`).  differential.sh --deviations compares the kernel FUSE and
# the emulated transcripts step by step against tests/daemons/deviations.
#
# Interface:
#   dm_require CMD PACKAGE   skip (77) unless CMD is installed
#   dm_data                  make the data below in $W
#   dm_seed                  step seed: copy the seed in through the mount
#                            (for daemons whose store cannot be made
#                            from it beforehand)
#   workload rw|ro           the steps below, in the current mount ($M);
#                            ro: the writing steps become one step
#                            (`readonly`) that expects every write to fail
#   dm_unmount HELPER        step unmount: HELPER -u $M, the exit status
#
# Data (dm_data), every file's content and time fixed:
#   $W/seed/     what the mount holds at first (hello.txt with the xattr
#                user.seed, numbers, data.bin 3 MiB, sub/deeper/note,
#                sub/empty/, link -> hello.txt), mtimes 1700000000
#   $W/tree/, $W/tree.tar   what `tar x` extracts: modes, empty files and
#                dirs, sizes around page and request boundaries, a long
#                name, spaces and UTF-8, relative symlinks
#   $W/big.bin   5 MiB to write through the mount and read back
#
# Variables a scenario sets: M (the mountpoint), DM_STATFS_COUNTS=1 when
# the daemon's block and inode counts are its own (an image), not the
# host file system's, which change while the halves run.

# when: times on stdin made comparable across runs.  A 10-digit epoch
# (fraction allowed) or a "YYYY-MM-DD HH:MM:SS" (tar --full-time) that is
# the seed's time becomes T0, one at or after dm_data's start (made while
# the scenario ran: a wall-clock time) becomes "new"; other times stay.
# Blanks are squeezed.
when() {
	awk -v s="$DM_START" -v sd="$DM_START_DATE" '
	function rel(t, d) {
		if (t == 1700000000) return "T0"
		if (t >= s) return "new"
		return d
	}
	{
		out = ""
		for (i = 1; i <= NF; i++) {
			w = $i
			if (w ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9](\.[0-9]+)?$/) {
				w = rel(w + 0, w)
			} else if (i < NF && w ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/ &&
				   $(i + 1) ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/) {
				w = w " " $(i + 1)
				if (w == "2023-11-14 22:13:20") w = "T0"
				else if (w >= sd) w = "new"
				i++
			}
			out = out (out == "" ? "" : " ") w
		}
		print out
	}'
}
export -f when

# Every command of the workload takes well under a second; one that
# hangs (a request the daemon never answers) is abandoned after 15 s.
T_TIMEOUT=15

dm_require() {
	command -v "$1" >/dev/null ||
		skip "$1 is not installed (apt-get install $2)"
}

dm_data() {
	local d

	DM_START=$(date +%s)
	DM_START_DATE=$(date -u -d "@$DM_START" '+%Y-%m-%d %H:%M:%S')
	export DM_START DM_START_DATE
	mkdir -p "$W/seed/sub/deeper" "$W/seed/sub/empty" || fail "mkdir"
	echo "hello from the seed" >"$W/seed/hello.txt"
	seq 1 20000 >"$W/seed/numbers"
	echo deep >"$W/seed/sub/deeper/note"
	ln -s hello.txt "$W/seed/link"
	setfattr -n user.seed -v planted "$W/seed/hello.txt" ||
		fail "setfattr on $W (user xattrs needed)"

	mkdir -p "$W/tree/bin" "$W/tree/etc" "$W/tree/sizes" \
		"$W/tree/deep/a/b/c/d/e" "$W/tree/empty-dir" \
		"$W/tree/with space" "$W/tree/long" "$W/tree/private" ||
		fail "mkdir"
	echo "tree for tar x" >"$W/tree/README"
	printf '#!/bin/sh\necho run\n' >"$W/tree/bin/run.sh"
	echo s3cret >"$W/tree/etc/secret"
	echo "read only" >"$W/tree/etc/ro"
	: >"$W/tree/empty-file"
	echo leaf >"$W/tree/deep/a/b/c/d/e/leaf"
	echo "UTF-8" >"$W/tree/with space/ünïcödé.txt"
	echo long >"$W/tree/long/$(printf 'n%.0s' {1..200})"
	echo mine >"$W/tree/private/file"
	ln -s README "$W/tree/rel-link"
	ln -s ../../../README "$W/tree/deep/a/b/up-link"

	"$PY" - "$W" <<-'EOF' || fail "making the data files"
	import random, sys
	w = sys.argv[1]
	r = random.Random(8)
	open(w + "/seed/data.bin", "wb").write(r.randbytes(3 << 20))
	open(w + "/big.bin", "wb").write(r.randbytes(5 << 20))
	for n in (1, 4095, 4096, 4097, 131073, 300000):
	    open("%s/tree/sizes/s%d" % (w, n), "wb").write(r.randbytes(n))
	EOF
	chmod 0600 "$W/seed/numbers" "$W/tree/etc/secret"
	chmod 0444 "$W/seed/data.bin" "$W/tree/etc/ro"
	chmod 0755 "$W/tree/bin/run.sh"
	chmod 0700 "$W/tree/private"
	chmod 0750 "$W/tree/bin"
	for d in seed tree; do
		find "$W/$d" -depth -exec touch -h -d @1700000000 {} + ||
			fail "touch"
	done
	tar -cf "$W/tree.tar" --numeric-owner -C "$W/tree" . ||
		fail "tar c"
	DM_BIG_SUM=$(sha256sum <"$W/big.bin" | cut -d' ' -f1)
}

dm_seed() {
	step seed
	in_dir "$M"
	expect_ok 'cp -a "$W/seed" . && echo copied'
	in_dir "$W"
}

# The seed as the mount shows it.
dm_read() {
	step read
	expect_ok 'ls -l --time-style=+%s seed seed/sub | when | grep -v "^total"'
	expect_ok 'cat seed/hello.txt'
	expect_ok 'cd seed && sha256sum hello.txt numbers data.bin sub/deeper/note'
	expect_ok 'wc -l seed/numbers && tail -n 2 seed/numbers'
	expect_ok "stat -c '%F %a %s %h %Y %n' seed/hello.txt seed/numbers seed/data.bin seed/sub/deeper/note | when"
	expect_ok 'dd if=seed/data.bin bs=4096 skip=300 count=3 status=none | sha256sum'
	expect_ok 'dd if=seed/data.bin bs=1000 skip=3145 status=none | wc -c'
	t 'readlink seed/link && cat seed/link'
	expect_ok 'find seed | sort'
	expect_err ENOENT 'cat seed/missing'
}

dm_write() {
	step write
	expect_ok 'mkdir w && cp "$W/big.bin" w/big && stat -c %s w/big'
	check_eq "sha256 of the 5 MiB file read back" "$DM_BIG_SUM" \
		"$(q 'sha256sum <w/big' | cut -d' ' -f1)"
	expect_ok 'cmp "$W/big.bin" w/big && echo same'
	expect_ok 'dd if=w/big bs=1M skip=2 count=1 status=none | sha256sum'
	t 'printf abc | dd of=w/big bs=1 seek=4194304 conv=notrunc status=none && dd if=w/big bs=1 skip=4194302 count=7 status=none | od -An -tx1'
	t 'echo appended >> w/big && stat -c %s w/big && tail -c 9 w/big'
	t 'truncate -s 1000 w/big && stat -c %s w/big && sha256sum w/big'
	t 'echo small > w/small && cat w/small'
}

dm_rename() {
	step rename
	t 'echo one > w/a && mv w/a w/b && cat w/b && ls w'
	t 'mkdir w/d1 && mv w/b w/d1/b2 && mv w/d1 w/d2 && find w | sort'
	t 'echo two > w/c && mv -f w/c w/d2/b2 && cat w/d2/b2 && ls w'
	expect_err ENOENT 'ls w/a'
}

dm_symlink() {
	step symlink
	t 'ln -s d2/b2 w/sl && readlink w/sl && cat w/sl'
	t "stat -c '%F %s' w/sl && stat -L -c '%F %s' w/sl"
	t 'ln -s /nonexistent/x w/dangling && readlink w/dangling'
	t 'cat w/dangling'
}

dm_hardlink() {
	step hardlink
	t "echo linked > w/h1 && ln w/h1 w/h2 && stat -c '%h %s %n' w/h1 w/h2"
	t 'test "$(stat -c %i w/h1)" = "$(stat -c %i w/h2)" && echo one inode'
	t 'echo more >> w/h2 && cat -v w/h1'
	t "rm w/h1 && stat -c '%h %n' w/h2 && cat -v w/h2"
}

dm_chmod() {
	step chmod
	t 'echo m > w/m && chmod 600 w/m && stat -c %a w/m'
	t 'chmod u+x,g+r w/m && stat -c %a w/m && test -x w/m && echo executable'
	t 'mkdir w/cd && chmod 700 w/cd && stat -c %a w/cd'
}

dm_xattr() {
	step xattr
	t "getfattr -d -m '^user\\.' seed/hello.txt"
	[ "$1" = rw ] || return 0
	t 'echo x > w/x && setfattr -n user.color -v blue w/x && getfattr -n user.color --only-values w/x && echo'
	t "setfattr -n user.size -v 12345 w/x && getfattr -d -m '^user\\.' w/x"
	t "setfattr -x user.color w/x && getfattr -d -m '^user\\.' w/x"
	t '"$PY" -c "import os; os.getxattr(\"w/x\", \"user.missing\")"'
}

dm_tar() {
	step tar
	t 'mkdir x && tar -xf "$W/tree.tar" -C x && diff -r "$W/tree" x && echo same'
	t 'find x -mindepth 1 \( -type d -printf "%y %m %P\n" \) -o -printf "%y %m %s %T@ %P %l\n" | when | sort'
	t 'tar -cf "$W/back.tar" -C x . && tar --full-time -tvf "$W/back.tar" | when | sort'
}

dm_statfs() {
	step statfs
	expect_ok "stat -f -c '%T %s %S %l' ."
	if [ -n "${DM_STATFS_COUNTS:-}" ]; then
		expect_ok "stat -f -c '%b %f %a %c %d' ."
	fi
}

dm_clean() {
	step clean
	t 'rm -r x && rm w/x w/m && rmdir w/cd && ls -A w | sort'
	t 'ls -A | sort'
}

# The writes a read-only file system refuses, each on its own.
dm_readonly() {
	step readonly
	t 'mkdir w'
	t 'echo x > new'
	t 'echo x >> seed/hello.txt'
	t 'mv seed/hello.txt moved'
	t 'ln -s hello.txt seed/sl'
	t 'ln seed/hello.txt seed/hl'
	t 'chmod 600 seed/hello.txt'
	t 'rm seed/hello.txt'
	t 'setfattr -n user.x -v y seed/hello.txt'
	t 'truncate -s 0 seed/numbers'
	expect_ok 'cat seed/hello.txt'
}

workload() {
	in_dir "$M"
	dm_read
	if [ "$1" = rw ]; then
		dm_write
		dm_rename
		dm_symlink
		dm_hardlink
		dm_chmod
		dm_xattr rw
		dm_tar
		dm_statfs
		dm_clean
	else
		dm_readonly
		dm_xattr ro
		dm_statfs
	fi
	in_dir "$W"
}

# dm_unmount HELPER: unmount $M with HELPER -u (fusermount for libfuse 2
# daemons, fusermount3 else); the daemon must exit by itself.
dm_unmount() {
	step unmount
	stop_daemon "$M" "$1"
	check "clean unmount with $1 -u" test $? = 0
	say "unmounted with $1 -u, daemon exit status $STOP_STATUS"
}
