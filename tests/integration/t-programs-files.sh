#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# File tools on whole trees, on memfs_ll and on passthrough_ll (mirroring
# a fresh directory), each checked by its result: cp -a of a tree with
# symlinks and hard links (link counts, which names share an inode), mv
# across directories, tar c/x (a checksum of every file), find -exec,
# rsync -a (and again, transferring nothing), du, chmod -R, touch -d, dd
# with seek.  The tree is made outside the mount, with fixed times.
#
#	t-programs-files.sh [memfs_ll] [passthrough_ll]	(default: both)
. "$(dirname "$0")/lib.sh"
it_init

it_daemons "$@"
for p in rsync tar find du dd; do
	command -v $p >/dev/null || skip "$p is not installed"
done

# The input tree, outside every mount: 3 names of one file (a/h1, a/h3,
# b/h2), 2 of another (d/p1, d/sub/p2), relative, dangling, absolute and
# directory symlinks, an empty file and directory, 300 kB of seeded random
# data, modes other than the default, every time fixed.
T=$W/tree
mkdir -p "$T/a/deep/er" "$T/b" "$T/d/sub" "$T/empty" || fail "mkdir tree"
"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(2).randbytes(300000))' \
	>"$T/a/rand.bin" || fail "making rand.bin"
printf 'line %s\n' {1..500} >"$T/a/notes.txt" &&
	echo hello >"$T/a/h1" && ln "$T/a/h1" "$T/b/h2" &&
	ln "$T/a/h1" "$T/a/h3" &&
	echo pair >"$T/d/p1" && ln "$T/d/p1" "$T/d/sub/p2" &&
	ln -s ../a/notes.txt "$T/b/to-notes" && ln -s deep "$T/a/to-deep" &&
	ln -s nowhere "$T/b/dangling" && ln -s /nonexistent/abs "$T/b/abs" &&
	: >"$T/a/deep/er/empty" &&
	printf '#!/bin/sh\necho run\n' >"$T/d/run.sh" &&
	chmod 755 "$T/d/run.sh" && chmod 600 "$T/d/p1" &&
	chmod 750 "$T/a/deep/er" && chmod 700 "$T/empty" ||
	fail "making tree"
find "$T" -exec touch -h -d '2020-02-02 02:02:02' {} + &&
	touch -d '2019-01-01 10:00:00.25' "$T/a/rand.bin" ||
	fail "setting times"
tree_sums=$(cd "$T" && find . -type f -exec sha256sum {} + | sort -k2) ||
	fail "sums of tree"

# meta DIR: every name under DIR with type, mode, links, size, mtime.
# meta_nt DIR: the same without mtimes (directories changed since).
# sums DIR: sha256 of every regular file.  Run by t and q in bash -c.
meta() {
	(cd "$1" && find . -printf '%p %y %m %n %s %T@\n' |
		awk '$2 == "d" { $5 = "-" } { print }' | sort)
}
meta_nt() {
	(cd "$1" && find . -printf '%p %y %m %n\n' | sort)
}
# meta_s DIR: meta with whole seconds (what a tar header keeps).
meta_s() {
	meta "$1" | sed 's/\.[0-9]*$//'
}
sums() {
	(cd "$1" && find . -type f -exec sha256sum {} + | sort -k2)
}
# links DIR: link count of each name of the two multi-link files, and
# the names under . sharing an inode with each.
links() {
	stat -c '%n %h' "$1/a/h1" "$1/a/h3" "$1/b/h2" "$1/d/p1" "$1/d/sub/p2"
	echo "same as $1/a/h1:" $(find . -samefile "$1/a/h1" | sort)
	echo "same as $1/d/p1:" $(find . -samefile "$1/d/p1" | sort)
	echo "inodes of the 3 names: $(stat -c %i "$1/a/h1" "$1/a/h3" \
		"$1/b/h2" | sort -u | wc -l)"
}
export -f meta meta_s meta_nt sums links
export T

scenario() {
	# cp -a from the real file system in, then within the mount.
	expect_ok 'cp -a "$T" t1'
	expect_ok 'meta t1'
	check_eq "cp -a in keeps every attribute" "$(q 'meta "$T"')" \
		"$(q 'meta t1')"
	expect_ok 'links t1'
	check_eq "sums after cp -a in" "$tree_sums" "$(q 'sums t1')"
	expect_ok 'diff -r --no-dereference "$T" t1 && echo same'
	expect_ok 'cp -a t1 t2'
	check_eq "cp -a within keeps every attribute" "$(q 'meta t1')" \
		"$(q 'meta t2')"
	expect_ok 'links t2'
	expect_ok 'find . -samefile t1/a/h1 | sort'
	check_eq "sums after cp -a within" "$tree_sums" "$(q 'sums t2')"
	expect_ok 'readlink t2/b/to-notes t2/a/to-deep t2/b/dangling t2/b/abs'
	expect_ok 'wc -l t2/b/to-notes && ls t2/a/to-deep/'
	expect_err ENOENT 'cat t2/b/dangling'

	# mv across directories: files, a hard link, a directory.
	expect_ok 'mv t2/a/h1 t2/b/ && mv t2/d/sub t2/a/deep/ && mv t2/a/notes.txt t2/empty/moved.txt'
	expect_ok 'mv t2/d t2/b/d-moved && mv t2/b/h2 t2/b/d-moved/h2'
	expect_ok 'meta_nt t2'
	expect_ok 'find . -samefile t2/b/h1 | sort && stat -c "%n %h" t2/b/h1'
	expect_ok 'find . -samefile t2/a/deep/sub/p2 | sort'
	expect_err ENOENT 'stat t2/a/h1'
	expect_ok 'wc -l t2/b/to-notes 2>&1; cat t2/empty/moved.txt | wc -l'
	expect_ok 'sums t2'

	# tar: into an archive in the mount and back out; a pipe in and out.
	expect_ok 'tar --sort=name -cf t1.tar t1 && tar -tvf t1.tar --numeric-owner | squeeze'
	expect_ok 'sha256sum t1.tar'
	check_eq "tar of the copy = tar of the source" \
		"$(cd "$W" && tar --sort=name -cf - --transform 's|^tree|t1|' \
			tree | sha256sum)" \
		"$(q 'sha256sum <t1.tar')"
	expect_ok 'mkdir x && tar -xpf t1.tar -C x && links x/t1'
	check_eq "sums after tar x" "$tree_sums" "$(q 'sums x/t1')"
	check_eq "tar x keeps every attribute" "$(q 'meta_s t1')" \
		"$(q 'meta_s x/t1')"
	expect_ok 'mkdir y && tar -C t1 -cf - . | tar -C y -xpf - && diff -r --no-dereference t1 y && echo same'
	check_eq "sums after tar | tar" "$tree_sums" "$(q 'sums y')"
	expect_ok 'tar -C t1 -czf - . | tar -C "$W" -tzf - | sort | head -5'

	# find -exec.
	expect_ok 'find t1 -type f -exec wc -c {} \; | sort -k2'
	expect_ok 'find t1 -type l -exec readlink {} + | sort'
	expect_ok 'find t1 -name "*.sh" -exec {} \;'
	expect_ok 'find t1 -type f -exec sh -c "cmp \"\$1\" \"\$T/\${1#t1/}\" && echo \"\$1 same\"" _ {} \; | sort'
	expect_ok 'find t1 -depth -name "h*" -execdir sh -c "echo \$(basename \$PWD)/\$1" _ {} \; | sort'
	expect_ok 'find t1 -type f -newer t1/a/rand.bin | sort'

	# rsync -a (with -H: hard links), then again: nothing to transfer.
	expect_ok 'rsync -aH t1/ r/ && meta r | diff - <(meta t1) && echo same'
	expect_ok 'links r'
	expect_ok 'rsync -aHi t1/ r/ | wc -l'
	expect_ok 'rsync -aH --stats t1/ r/ | grep -E "^Number of (regular )?files( transferred)?:"'
	expect_ok 'echo more >> t1/a/notes.txt && touch -d "2021-01-01" t1/a/notes.txt && rsync -aHi t1/ r/'
	expect_ok 'cmp t1/a/notes.txt r/a/notes.txt && rsync -aHi t1/ r/ | wc -l'
	expect_ok 'rsync -aH --delete "$T/" r/ && rsync -aHic "$T/" r/ | wc -l'
	check_eq "sums after rsync" "$tree_sums" "$(q 'sums r')"
	expect_ok 'rsync -aH r/ "$W/out/" && diff -r --no-dereference r "$W/out" && echo same'
	expect_ok 'rm -rf "$W/out"'

	# du: apparent sizes (hard links once), blocks, inodes.  Which name
	# of a hard link du counts depends on the readdir order, which cp
	# takes from the source's inode numbers: per-name sizes with -l.
	expect_ok 'du -sb t1 x y r'
	expect_ok 'du -ab -l t1 | sort -k2'
	expect_ok 'du -s --inodes t1 && du -s --inodes -l t1'
	expect_ok 'du -sk t1/a/rand.bin'

	# chmod -R.
	expect_ok 'chmod -R go-rwx,u+rwX t2 && find t2 -printf "%m %p\n" | sort -k2'
	expect_ok 'chmod -R a+rX,u-w t2/a && find t2/a -printf "%m %p\n" | sort -k2'
	expect_ok 'chmod -R u+w t2 && find t2 ! -perm -u+w | wc -l'

	# touch -d: mtime, atime, a symlink itself, from a reference.
	expect_ok 'touch -d "2001-02-03 04:05:06.789" t2/b/h1 && stat -c "%y %n" t2/b/h1 t2/a/h3'
	expect_ok 'touch -a -d "@1234567890" t2/b/h1 && stat -c "%X %Y" t2/b/h1'
	expect_ok 'touch -h -d "@1500000000" t2/a/to-deep && stat -c "%Y %n" t2/a/to-deep && stat -L -c "%F %n" t2/a/to-deep'
	expect_ok 'touch -r t2/b/h1 t2/empty/moved.txt && stat -c "%y %n" t2/empty/moved.txt'
	expect_ok 'touch -d "1999-12-31 23:59:59" new-by-touch && stat -c "%s %y %n" new-by-touch'

	# dd with seek: a hole before the data, in place, by bytes.
	expect_ok 'dd if="$T/a/rand.bin" of=sparse bs=4096 seek=100 count=3 status=none && stat -c %s sparse && sha256sum sparse'
	expect_ok 'dd if=sparse bs=4096 skip=100 status=none | cmp - <(head -c 12288 "$T/a/rand.bin") && echo data same'
	expect_ok 'dd if=sparse bs=4096 count=100 status=none | cmp - <(head -c 409600 /dev/zero) && echo hole zero'
	expect_ok 'dd if=/dev/zero of=t1/a/rand.bin bs=1000 seek=7 count=5 conv=notrunc status=none && stat -c %s t1/a/rand.bin && sha256sum t1/a/rand.bin'
	expect_ok 'printf XYZ | dd of=t1/a/notes.txt oflag=seek_bytes seek=5 conv=notrunc status=none && head -2 t1/a/notes.txt'
	expect_ok 'dd if=t1/a/notes.txt iflag=skip_bytes,count_bytes skip=3 count=9 status=none; echo'
	expect_ok 'dd if=/dev/zero of=t1/a/h1 bs=1 seek=20 count=1 status=none && stat -c "%s %h" t1/a/h3 && od -c t1/b/h2'
	expect_ok 'dd if=/dev/zero of=sparse bs=1 count=0 seek=5000 status=none && stat -c %s sparse && sha256sum sparse'

	expect_ok 'rm -rf t1 t2 x y r t1.tar sparse new-by-touch && ls -A'
}

# passthrough_ll of $W/src: the scenario, then a copy left for the source.
run_passthrough() {
	say "=== passthrough_ll"
	mkdir "$W/mnt-pt" "$W/src" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt-pt" "$EX/passthrough_ll" -f \
		-o source="$W/src" "$W/mnt-pt"
	in_dir "$W/mnt-pt"
	scenario
	expect_ok 'cp -a "$T" kept && rsync -aH "$T/" kept2/'
	in_dir "$W"
	check_eq "the source has what cp -a made" "$(q 'meta "$T"')" \
		"$(q 'meta src/kept')"
	check_eq "the source has what rsync made" "$(q 'meta "$T"')" \
		"$(q 'meta src/kept2')"
	check_eq "hard links in the source" 3 "$(stat -c %h "$W/src/kept/b/h2")"
	stop_daemon "$W/mnt-pt"
	check "clean unmount of passthrough_ll" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
}

for fs in "${IT_DAEMONS[@]}"; do
	case $fs in
	memfs_ll) run_memfs_scenario ;;
	passthrough_ll) run_passthrough ;;
	esac
done
it_finish
