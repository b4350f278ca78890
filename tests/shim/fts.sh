#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fts.sh SHIM_FTS MEMFS_LL FUSEDEV RUN_WITH_DAEMON
#
# The shim's fts(3) against glibc's.  SHIM_FTS (tests/shim/fts.c) builds a
# tree in each directory it is given and prints an fts transcript of it.
#  - kernel: MEMFS_LL mounted through the kernel's FUSE, no shim: glibc's
#    fts walks the mount and a local directory;
#  - emulated: under `FUSEDEV run`, RUN_WITH_DAEMON mounts MEMFS_LL through
#    the emulator: the shim's fts walks the mount and (mounts existing) a
#    local directory;
#  both also walk a local tree with an unreadable directory as nobody.
# The two transcripts must be equal.  Exit 0 pass, 1 fail, 77 skip (no
# kernel FUSE).  Every wait has a deadline; mounts and daemons are removed
# on any exit.
set -u

prog=${1:?usage: $0 SHIM_FTS MEMFS_LL FUSEDEV RUN_WITH_DAEMON}
memfs=${2:?}
fusedev=${3:?}
run_with_daemon=${4:?}

for f in "$prog" "$memfs" "$fusedev" "$run_with_daemon"; do
	if [ ! -x "$f" ]; then
		echo "SKIP: $f not built"
		exit 77
	fi
done
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "SKIP: no kernel FUSE (/dev/fuse, fusermount3)"
	exit 77
fi

work=$(mktemp -d /tmp/shim-fts.XXXXXX) || exit 1
kmnt=$work/kmnt
pid=

now() {
	date +%s%N | cut -c1-13
}

mounted() {
	awk -v m="$kmnt" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

cleanup() {
	local deadline

	if [ -n "$pid" ]; then
		mounted && { fusermount3 -u "$kmnt" 2>/dev/null ||
			     umount -l "$kmnt" 2>/dev/null; }
		deadline=$(( $(now) + 10000 ))
		while kill -0 "$pid" 2>/dev/null &&
		      [ "$(now)" -lt "$deadline" ]; do
			sleep 0.05	# poll interval, bounded by the deadline
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	mounted && umount -l "$kmnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- kernel FUSE: glibc's fts ----------------------------------------
# --unreadable: walked as nobody, so the work dir must be searchable
chmod 755 "$work" &&
mkdir "$kmnt" "$work/klocal" "$work/elocal" "$work/kdnr" "$work/ednr" ||
	exit 1
"$memfs" -f "$kmnt" &
pid=$!
deadline=$(( $(now) + 10000 ))
until mounted; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "SKIP: $memfs could not mount through the kernel"
		exit 77
	fi
	if [ "$(now)" -ge "$deadline" ]; then
		echo "FAIL: $memfs did not mount $kmnt within 10 s"
		exit 1
	fi
	sleep 0.05	# poll interval, bounded by the deadline
done
if ! env -u LD_PRELOAD -u FUSEDEV_DIR timeout 60 \
	"$prog" "$kmnt" "$work/klocal" --unreadable "$work/kdnr" \
	>"$work/kernel.txt"; then
	echo "FAIL: $prog on the kernel mount"
	exit 1
fi
fusermount3 -u "$kmnt" || umount -l "$kmnt"
wait "$pid" 2>/dev/null
pid=

# ---- emulated: the shim's fts ----------------------------------------
if ! timeout 120 "$fusedev" run -- "$run_with_daemon" "$memfs" \
	"$prog" "$work/elocal" --unreadable "$work/ednr" \
	>"$work/emulated.txt"; then
	echo "FAIL: $prog under fusedev run"
	cat "$work/emulated.txt"
	exit 1
fi

if ! diff -u "$work/kernel.txt" "$work/emulated.txt"; then
	echo "FAIL: fts transcripts differ (- kernel/glibc, + emulated/shim)"
	exit 1
fi
echo "ok: $(wc -l <"$work/kernel.txt") transcript lines equal"
exit 0
