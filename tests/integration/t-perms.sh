#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Who may use root's FUSE mount: memfs_ll (default_permissions) mounted
# by root, used by root and by nobody (uid 65534, through setpriv).
#
#  - without allow_other only the mounting user gets in: nobody's stat,
#    ls, cat, touch fail with EACCES (fuse_allow_current_process);
#  - root's files have uid 0; a setuid/setgid mode shows in stat (nosuid
#    only matters to exec); statvfs shows nosuid,nodev.
#
# Under emulation nobody's programs get the shim too (setpriv passes
# LD_PRELOAD on); the harness's runtime directory is 0755, so nobody's
# shim sees the mount table and the owner-only port refuses it (EACCES).
# Not compared, because they differ on purpose (docs/architecture.md,
# "Deliberate differences"): other users under an owner-only runtime
# directory (0700, cuse_fusedev's default) see the plain directory;
# allow_other does not open an emulator to other users; the emulated
# fusermount3 -u's message for someone else's mount.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
NB='setpriv --reuid=65534 --regid=65534 --clear-groups'
export NB
$NB true 2>/dev/null || skip "setpriv cannot switch to uid 65534"
[ -x "$EX/memfs_ll" ] || fail "$EX/memfs_ll is not built"
it_init
# Reachable by nobody down to the mountpoints, as /mnt would be.
chmod o+x "$IT_TMPDIR" "$W" || fail "chmod o+x"
$NB test -x "$W" || skip "$W is not reachable for uid 65534"
$NB test -x "$EX/memfs_ll" || skip "$EX is not usable by uid 65534"

# nobody's view of root's mount $1 without allow_other.
probe_private() {
	expect_err EACCES "\$NB stat -c '%u %a' $1"
	expect_err EACCES "\$NB ls $1"
	expect_err EACCES "\$NB cat $1/file"
	expect_err EACCES "\$NB stat -c '%u %a' $1/file"
	expect_err EACCES "\$NB test -d $1/dir || \$NB stat $1/dir"
	expect_err EACCES "\$NB touch $1/new"
	expect_ok "ls $1"
}

say "=== memfs_ll mounted by root, no allow_other"
mkdir "$W/mnt" || fail "mkdir"
start_daemon "$IT_MODE" "$W/mnt" "$EX/memfs_ll" -f "$W/mnt"
expect_ok 'mkdir mnt/dir && echo data > mnt/file && touch mnt/suid mnt/sgid'
expect_ok "stat -c '%u %g %a %F %n' mnt mnt/dir mnt/file"
expect_ok 'chmod 4755 mnt/suid && chmod 2755 mnt/sgid && stat -c "%a %A %n" mnt/suid mnt/sgid'
expect_ok 'chmod u-s mnt/suid && stat -c "%a %A %n" mnt/suid'
in_dir "$W/mnt"
expect_ok '"$PY" -c "import os; f = os.statvfs(\".\").f_flag; print(*(n for n in (\"RDONLY\", \"NOSUID\", \"NODEV\", \"NOEXEC\") if f & getattr(os, \"ST_\" + n)))"'
in_dir "$W"
expect_ok 'chown 65534:65534 mnt/file && stat -c "%u %g %a" mnt/file'
expect_ok 'cat mnt/file && stat -c "%u %g %a" mnt/file'
say "--- nobody"
probe_private mnt
stop_daemon "$W/mnt"
check "clean unmount of memfs_ll" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"

it_finish
