#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Debian's fuse-overlayfs (libfuse 3.14), which asks INIT for
# FUSE_DONT_MASK, FUSE_POSIX_ACL and the splice flags: a lower directory,
# an upper one and a work one.  Reads from the lower layer, writes that
# copy a file up, a delete that leaves a whiteout, renames, mkdir,
# extended attributes, and the modes and ACLs of new files:
#
#  - with FUSE_DONT_MASK the daemon gets the mode unmasked and the umask,
#    and applies the umask itself unless the parent has a default ACL
#    (then the ACL decides, as the upper file system does it);
#  - with FUSE_POSIX_ACL the kernel parses and re-encodes ACL values,
#    checks permissions with them (default_permissions is implied; see
#    t-acl.sh for users other than root), and the daemon stores them.
#
# What the daemon stored is shown from the upper directory at the end.
. "$(dirname "$0")/lib.sh"
it_init

command -v fuse-overlayfs >/dev/null ||
	skip "fuse-overlayfs is not installed (apt-get install fuse-overlayfs)"
for c in getfacl setfacl getfattr setfattr; do
	command -v $c >/dev/null ||
		skip "$c is not installed (apt-get install acl attr)"
done

L=$W/lower
U=$W/upper
mkdir -p "$L/dir/sub" "$U" "$W/work" "$W/mnt" || fail "mkdir"
echo "lower file" >"$L/file"
echo "in sub" >"$L/dir/sub/f"
echo "to delete" >"$L/dir/victim"
ln -s file "$L/link"
"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(3).randbytes(1 << 20))' \
	>"$L/big" || fail "making big"
setfattr -n user.origin -v lower "$L/file" || skip "no user xattrs in $W"
setfacl -m u:65534:r "$L/dir/sub/f" || skip "no ACLs in $W"
setfacl -d -m u:65534:rwx "$L/dir" || fail "setfacl -d"
ls_l='ls -la --time-style=+'

start_daemon "$IT_MODE" "$W/mnt" fuse-overlayfs -f \
	-o lowerdir="$L",upperdir="$U",workdir="$W/work" "$W/mnt"
in_dir "$W/mnt"

say "--- the lower layer"
expect_ok "$ls_l . dir dir/sub | squeeze | grep -v '^total'"
expect_ok 'cat file dir/sub/f link && sha256sum big'
expect_ok 'readlink link && stat -c "%s %F %a %n" link file big'
expect_ok 'getfattr -d -m user. file'
expect_ok 'getfacl -c dir/sub/f dir'

say "--- copy up, whiteout, rename, mkdir"
expect_ok 'echo more >> file && cat file'
check_eq "the lower file is untouched" "lower file" "$(cat "$L/file")"
check "the upper layer has the copy" test -f "$U/file"
expect_ok 'getfattr -d -m user. file'
expect_ok 'rm dir/victim && ls dir'
check "a whiteout in the upper layer" test -c "$U/dir/victim"
expect_err ENOENT 'cat dir/victim'
expect_ok 'mv file renamed && mv link link2 && ls'
expect_ok 'mkdir -p newdir/deeper && echo new > newdir/deeper/f && cat newdir/deeper/f'
expect_ok 'mv newdir/deeper newdir/moved && ls -R newdir'
expect_ok 'dd if=/dev/zero of=big bs=4096 seek=10 count=3 conv=notrunc status=none && sha256sum big'
expect_ok 'setfattr -n user.note -v "set through the mount" renamed && getfattr -d -m user. renamed'
expect_ok 'setfattr -x user.origin renamed && getfattr -d -m user. renamed'

say "--- modes of new files: the umask (FUSE_DONT_MASK)"
expect_ok 'umask 027 && touch m1 && mkdir m2 && mkfifo m3 && mknod m4 p && stat -c "%a %F %n" m1 m2 m3 m4'
expect_ok 'umask 0 && touch z1 && mkdir z2 && stat -c "%a %n" z1 z2'
expect_ok 'umask 077 && "$PY" -c "import os; os.close(os.open(\"o1\", os.O_CREAT | os.O_WRONLY, 0o666)); os.mkdir(\"o2\", 0o777)" && stat -c "%a %n" o1 o2'

say "--- ACLs (FUSE_POSIX_ACL)"
expect_ok 'setfacl -m u:65534:rwx,g::r renamed && getfacl -c renamed && stat -c "%a %n" renamed'
expect_ok 'chmod 640 renamed && getfacl -c renamed'
expect_ok 'setfacl -x u:65534 renamed && getfacl -c renamed && stat -c "%a %n" renamed'
expect_ok 'setfacl -b renamed && getfacl -c renamed'
expect_ok 'mkdir acl && setfacl -d -m u:65534:rwx,g::rx,o::- acl && getfacl -c acl'
expect_ok 'umask 077 && touch acl/f && mkdir acl/d && stat -c "%a %n" acl/f acl/d'
# fuse-overlayfs 1.10 answers this MKNOD with ENOENT, kernel or not.
t 'umask 077 && mkfifo acl/p && stat -c "%a %n" acl/p'
expect_ok 'getfacl -c acl/f acl/d'
expect_ok 'umask 077 && touch dir/new && stat -c "%a %n" dir/new && getfacl -c dir/new'
# An ACL of another version, one that is cut short, a default ACL on a
# file (the kernel's EACCES; setfacl refuses before asking).
expect_err 'EOPNOTSUPP|ENOTSUP' 'setfattr -n system.posix_acl_access -v 0x0100000001000600ffffffff renamed'
expect_err EINVAL 'setfattr -n system.posix_acl_access -v 0x020000000100060000000000 renamed'
expect_err EACCES 'setfattr -n system.posix_acl_default -v 0x0200000001000600ffffffff04000400ffffffff20000400ffffffff renamed'
expect_ok 'getfattr -e hex -n system.posix_acl_default acl'
expect_ok 'setfacl -k acl && getfacl -c acl'

say "--- the whole tree"
expect_ok "$ls_l . dir acl | squeeze | grep -v '^total'"
expect_ok 'find . | sort'
in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of fuse-overlayfs" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
say "--- what the daemon stored"
expect_ok "cd upper && find . | sort && stat -c '%a %F %n' dir/victim renamed acl/f acl/d"
expect_ok 'cat lower/file && cat upper/renamed'
it_finish
