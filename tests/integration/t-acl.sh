#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# POSIX ACLs in permission checks: fuse-overlayfs takes FUSE_POSIX_ACL,
# which turns on default_permissions, and the kernel then checks access
# with each file's access ACL (fetched with GETXATTR, cached).  The mount
# is nobody's (uid 65534, through fusermount3), over a lower directory
# root prepared with files of root's whose ACLs grant or deny nobody
# what the mode bits do not; nobody's programs use them.  Then the rules
# only the owner passes (chmod, setfacl) and the set-group-ID bit that
# chmod drops for a caller outside the file's group.  Last, on memfs_ll
# (which leaves it to the kernel), the set-id bits a write or a truncate
# by a caller without CAP_FSETID drops.
#
# Started as root by run-mode.sh: root makes the lower directory under
# $IT_TMPDIR and runs the script again as nobody (ACL_INNER=1), directly
# in kernel mode, under a `fusedev run` of nobody's own in emulated mode
# (only the mounting user can use a mount without allow_other, and an
# emulator serves its own user: t-nonroot.sh).
. "$(dirname "$0")/lib.sh"

NR_UID=65534
NR_GID=65534

as_nobody() {
	setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups "$@"
}

# ---- as root: the lower directory, then switch to nobody ----------------

if [ "${ACL_INNER:-}" != 1 ]; then
	self=$IT_DIR/$(basename "$0")
	[ "$(id -u)" = 0 ] || skip "needs root to switch to uid $NR_UID"
	command -v fuse-overlayfs >/dev/null ||
		skip "fuse-overlayfs is not installed (apt-get install fuse-overlayfs)"
	for c in getfacl setfacl setpriv; do
		command -v $c >/dev/null ||
			skip "$c is not installed (apt-get install acl)"
	done
	as_nobody true 2>/dev/null ||
		skip "setpriv cannot switch to uid $NR_UID"
	[ -u "$(system_cmd fusermount3)" ] ||
		skip "fusermount3 is not setuid root"
	if [ "${FUSEDEV_TRANSPORT:-}" = cuse ]; then
		as_nobody test -w /dev/cuse 2>/dev/null ||
			skip "cuse transport: /dev/cuse is not writable for uid $NR_UID"
	fi
	chmod o+x "$IT_TMPDIR" || fail "chmod o+x $IT_TMPDIR"
	as_nobody test -x "$IT_TMPDIR" ||
		skip "$IT_TMPDIR is not reachable for uid $NR_UID"
	for f in "$self" "$IT_DIR/lib.sh" "$IT_DIR/mtab.py"; do
		as_nobody test -r "$f" ||
			skip "$f is not readable for uid $NR_UID"
	done
	as_nobody test -x "$EX/memfs_ll" ||
		skip "$EX/memfs_ll is not executable for uid $NR_UID"
	nb=$IT_TMPDIR/nobody
	lo=$IT_TMPDIR/lower
	up=$nb/upper
	mkdir -p "$nb" "$lo/xdir" "$lo/nodir" "$up" || fail "mkdir"
	chown $NR_UID:$NR_GID "$nb" "$up" && chmod 700 "$nb" ||
		fail "chown $nb"
	# root's files; nobody gets in through the ACL alone, or not at all.
	echo "read through the ACL" >"$lo/ro_acl"
	echo "denied by the ACL" >"$lo/deny_acl"
	echo "read through the group entry" >"$lo/grp_acl"
	echo "the mask leaves reading" >"$lo/mask_acl"
	echo "in xdir" >"$lo/xdir/f"
	echo "in nodir" >"$lo/nodir/f"
	printf '#!/bin/sh\necho run through the ACL\n' >"$lo/exe"
	# In the upper layer already: nobody could not copy it up.
	echo "nobody's, group root" >"$up/sg"
	chmod 600 "$lo/ro_acl" "$lo/grp_acl" "$lo/mask_acl" &&
	chmod 644 "$lo/deny_acl" "$up/sg" && chmod 700 "$lo/xdir" "$lo/exe" &&
	chmod 755 "$lo/nodir" && chmod 755 "$lo" || fail "chmod"
	chown $NR_UID:0 "$up/sg" || fail "chown"
	setfacl -m u:$NR_UID:r "$lo/ro_acl" &&
	setfacl -m u:$NR_UID:- "$lo/deny_acl" &&
	setfacl -m g:$NR_GID:r "$lo/grp_acl" &&
	setfacl -m u:$NR_UID:rw,m::r "$lo/mask_acl" &&
	setfacl -m u:$NR_UID:rx "$lo/xdir" "$lo/exe" &&
	setfacl -m u:$NR_UID:- "$lo/nodir" ||
		skip "no ACLs under $IT_TMPDIR"
	as_nobody cat "$lo/ro_acl" >/dev/null ||
		skip "the file system under $IT_TMPDIR does not check ACLs"
	export ACL_LOWER=$lo ACL_UPPER=$up
	if [ "$IT_MODE" = kernel ]; then
		exec env ACL_INNER=1 IT_TMPDIR="$nb" HOME="$nb" \
			setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups \
			bash ${IT_TRACE:+-x} "$self" "$@"
	fi
	as_nobody test -x "$FUSEDEV" ||
		skip "$FUSEDEV is not executable for uid $NR_UID"
	as_nobody test -r "$BUILD/mountshim/libmountshim.so" ||
		skip "libmountshim.so is not readable for uid $NR_UID"
	mkdir -p "$nb/emu" && chown $NR_UID:$NR_GID "$nb/emu" ||
		fail "making $nb/emu"
	exec env -u LD_PRELOAD ACL_INNER=1 IT_TMPDIR="$nb" HOME="$nb" \
		FUSEDEV_DIR="$nb/emu" \
		setpriv --reuid=$NR_UID --regid=$NR_GID --clear-groups \
		"$FUSEDEV" run -- bash ${IT_TRACE:+-x} "$self" "$@"
fi

# ---- as nobody ---------------------------------------------------------------

[ "$(id -u)" = $NR_UID ] || fail "inner run as uid $(id -u), not $NR_UID"
it_init
mkdir "$W/work" "$W/mnt" || fail "mkdir"
start_daemon "$IT_MODE" "$W/mnt" fuse-overlayfs -f \
	-o lowerdir="$ACL_LOWER",upperdir="$ACL_UPPER",workdir="$W/work" \
	"$W/mnt"
in_dir "$W/mnt"

expect_ok 'id -u; id -G'
expect_ok "ls -l --time-style=+ . | squeeze | grep -v '^total'"
say "--- access through the ACLs"
expect_ok 'cat ro_acl'
expect_err EACCES 'cat deny_acl'
expect_ok 'cat grp_acl'
expect_ok 'cat mask_acl'
expect_err EACCES 'echo more >> mask_acl'
expect_ok 'ls xdir && cat xdir/f'
expect_err EACCES 'ls nodir'
expect_err EACCES 'cat nodir/f'
expect_ok 'test -r ro_acl && test ! -w ro_acl && test ! -r deny_acl && echo access as expected'
expect_ok './exe'
expect_ok 'getfacl -c ro_acl mask_acl nodir'
say "--- what only the owner may do"
expect_err EPERM 'chmod 644 ro_acl'
expect_err EPERM 'setfacl -m u:65534:rw ro_acl'
expect_ok 'touch mine && setfacl -m u:0:r mine && getfacl -c mine'
expect_ok 'setfacl -m g::rwx mine && chmod 600 mine && getfacl -c mine'
say "--- set-group-ID: kept for the file's group only"
expect_ok 'chmod 2755 mine && stat -c "%a %n" mine'
expect_ok 'stat -c "%u %g %a %n" sg'
expect_ok 'chmod 2755 sg && stat -c "%a %n" sg'
in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of fuse-overlayfs" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"

say "=== memfs_ll: set-id bits that writes and truncates drop"
mkdir "$W/mem" || fail "mkdir"
start_daemon "$IT_MODE" "$W/mem" "$EX/memfs_ll" -f "$W/mem"
in_dir "$W/mem"
expect_ok 'echo x > s && chmod 6755 s && stat -c "%a %n" s'
expect_ok 'echo more >> s && stat -c "%a %n" s'
expect_ok 'chmod 6755 s && truncate -s 1 s && stat -c "%a %n" s'
expect_ok 'chmod 6755 s && "$PY" -c "import os; os.close(os.open(\"s\", os.O_WRONLY | os.O_TRUNC))" && stat -c "%a %n" s'
expect_ok 'chmod 2745 s && echo y >> s && stat -c "%a %n" s'
expect_ok 'chmod 6744 s && echo z >> s && stat -c "%a %n" s && cat s'
in_dir "$W"
stop_daemon "$W/mem"
check "clean unmount of memfs_ll" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
it_finish
