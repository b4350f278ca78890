#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# FUSE daemons the shim cannot enter: Debian's gocryptfs (go-fuse) and
# rclone mount (bazil), Go programs that make their own system calls and
# run fusermount3/fusermount with an environment of their own.  Under
# emulation they must mount through the emulator's helper ($FUSEDEV_DIR/
# bin, first in PATH) and never on kernel FUSE: a watcher of
# /proc/self/mountinfo fails the run on any kernel FUSE mount under $W.
# gocryptfs: init a cipher directory, mount, write and read, unmount with
# fusermount3 -u, mount again, stop with SIGTERM (go-fuse then runs
# fusermount3 -u itself).  rclone: a local directory as the remote.
# Emulated only (not in the transcript): the helper refuses to mount
# without _FUSE_COMMFD and outside an emulator's runtime directory.
. "$(dirname "$0")/lib.sh"
it_init

command -v gocryptfs >/dev/null ||
	skip "gocryptfs is not installed (apt-get install gocryptfs)"
command -v rclone >/dev/null ||
	skip "rclone is not installed (apt-get install rclone)"

# Kernel FUSE mounts under $W, "mountpoint fstype" per line.
kernel_fuse_under() {
	awk -v b="$W" '{
		for (i = 7; i < NF && $i != "-"; i++)
			;
		if ($(i + 1) ~ /^fuse/ && index($5, b) == 1)
			print $5, $(i + 1)
	}' /proc/self/mountinfo
}

no_kernel_fuse() {
	[ "$IT_MODE" = emulated ] || return 0
	check_eq "kernel FUSE mounts under \$W ($1)" "" "$(kernel_fuse_under)"
}

if [ "$IT_MODE" = emulated ]; then
	# Every change of the mount table wakes it (POLLPRI): whatever
	# kernel FUSE mount appears under $W, even briefly, is recorded.
	bg_client mountwatch "$PY" -c '
import select, sys
base = sys.argv[1]
f = open("/proc/self/mountinfo")
p = select.poll()
p.register(f, select.POLLPRI | select.POLLERR)
while True:
    f.seek(0)
    for line in f.read().splitlines():
        a = line.split()
        t = a[a.index("-") + 1]
        if t.startswith("fuse") and a[4].startswith(base):
            print(a[4], t, flush=True)
    p.poll()' "$W"
	WATCH_PID=$CLIENT_PID
fi

"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(3).randbytes(3 << 20))' \
	>"$W/data.bin" || fail "making data.bin"
data_sum=$(sha256sum <"$W/data.bin" | cut -d' ' -f1)

# ---- gocryptfs -------------------------------------------------------------
say "=== gocryptfs"
echo "secret words" >"$W/pw"
mkdir "$W/cipher" "$W/gmnt" || fail "mkdir"
# Go programs stay out of t and q: under emulation the shim says on
# stderr that it cannot enter them (libmountshim(7)).
gocryptfs -init -q -scryptn 10 -extpass "cat $W/pw" "$W/cipher" \
	>"$IT_RUN/init.log" 2>&1 || fail "gocryptfs -init: $(cat "$IT_RUN/init.log")"
say "cipher directory initialised"
gcfs() {
	start_daemon "$IT_MODE" "$W/gmnt" gocryptfs -fg -q -scryptn 10 \
		-extpass "cat $W/pw" "$W/cipher" "$W/gmnt"
	no_kernel_fuse "gocryptfs mounted"
}
gcfs
in_dir "$W/gmnt"
expect_ok 'echo hello > f1 && cat f1'
expect_ok 'cp "$W/data.bin" big && sha256sum big'
check_eq "sha256 of a 3 MiB file through gocryptfs" "$data_sum" \
	"$(q 'sha256sum < big' | cut -d' ' -f1)"
expect_ok 'mkdir -p d/e && echo x > d/e/g && mv f1 d/f2 && ln -s f2 d/link'
expect_ok 'cat d/link d/e/g && readlink d/link'
expect_ok "stat -c '%s %F %a' big d d/f2 d/e/g"
expect_ok 'ls -a . d | squeeze'
expect_ok 'rm big d/e/g && rmdir d/e && ls -a . d'
expect_err ENOENT 'cat nothing'
in_dir "$W"
# names and contents are encrypted: as many entries, none readable
expect_ok 'ls cipher | wc -l'
check "no plain name in the cipher directory" \
	test -z "$(ls -R "$W/cipher" | grep -E '^(d|f2|link)$')"
stop_daemon "$W/gmnt"
check "clean unmount of gocryptfs" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
expect_ok 'ls -a gmnt'

gcfs
in_dir "$W/gmnt"
expect_ok 'cat d/f2 && ls -a d'
in_dir "$W"
# SIGTERM: go-fuse unmounts by running fusermount3 -u itself
pid=${it_dpid[$W/gmnt]}
kill -TERM "$pid"
if wait_exit "$pid" 15; then
	unset "it_dpid[$W/gmnt]"
	# 15 from its signal handler, or 0 when its serve loop ended first
	check "exit status of gocryptfs after SIGTERM" \
		test "$EXIT_STATUS" = 15 -o "$EXIT_STATUS" = 0
	say "gocryptfs stopped by SIGTERM"
else
	fail "gocryptfs still running 15 s after SIGTERM"
fi
check "gocryptfs unmounted itself" wait_for 5 "unmount" \
	eval '! is_mounted "$W/gmnt"'
expect_ok 'ls -a gmnt'
no_kernel_fuse "gocryptfs stopped"

# ---- rclone mount ----------------------------------------------------------
say "=== rclone mount"
mkdir -p "$W/rsrc/sub" "$W/rmnt" || fail "mkdir"
echo "from the source" >"$W/rsrc/sub/orig"
start_daemon "$IT_MODE" "$W/rmnt" rclone mount --config /dev/null \
	"$W/rsrc" "$W/rmnt"
no_kernel_fuse "rclone mounted"
in_dir "$W/rmnt"
expect_ok 'cat sub/orig && ls -a . sub'
expect_ok 'cp "$W/data.bin" copy && sha256sum copy'
check_eq "sha256 of the copy in the source" "$data_sum" \
	"$(sha256sum <"$W/rsrc/copy" | cut -d' ' -f1)"
expect_ok 'echo new > sub/made && cat sub/made'
check_eq "file made through the mount, read in the source" new \
	"$(cat "$W/rsrc/sub/made")"
expect_ok 'mv sub/made renamed && cat renamed && rm copy && ls -a . sub'
in_dir "$W"
expect_ok 'ls -a rsrc rsrc/sub'
stop_daemon "$W/rmnt"
check "clean unmount of rclone" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"
expect_ok 'ls -a rmnt'

# ---- the helper itself (emulated only) -------------------------------------
# Run by a static busybox: a shimmed program's exec of anything named
# fusermount3 is done by its shim in-process, never by the helper.
BB=$(command -v busybox)
if [ "$IT_MODE" = emulated ] && [ -z "$BB" ]; then
	log "busybox is not installed: the helper's own checks are skipped"
elif [ "$IT_MODE" = emulated ]; then
	helper=$FUSEDEV_DIR/bin/fusermount3
	check "fusedev run put the helper first in PATH" \
		test "$(command -v fusermount3)" = "$helper"
	# no _FUSE_COMMFD, empty environment: fusermount3's own answer
	out=$("$BB" env -i "$helper" "$W/gmnt" 2>&1)
	check "helper without _FUSE_COMMFD fails" test $? = 1
	check "helper without _FUSE_COMMFD says so" \
		grep -q "old style mounting not supported" <<<"$out"
	# a link outside an emulator's runtime directory never mounts
	mkdir -p "$W/fake/bin"
	ln -s "$(readlink "$helper")" "$W/fake/bin/fusermount3"
	out=$("$BB" env -i _FUSE_COMMFD=0 "$W/fake/bin/fusermount3" \
		"$W/gmnt" 2>&1 </dev/null)
	check "helper of no emulator fails" test $? = 1
	check "helper of no emulator refuses" \
		grep -q "refusing to mount with kernel FUSE" <<<"$out"
	# usage errors: the system's helper's words, for either name
	for args in "-z $W/gmnt" "" "-x $W/gmnt" "$W/gmnt extra" \
		"-o ro $W/gmnt" "-u $W/gmnt" "-u -q $W/gmnt"; do
		for name in fusermount3 fusermount; do
			real=$("$BB" env -i "/usr/bin/$name" $args 2>&1;
			       echo "exit $?")
			ours=$("$BB" env -i "$FUSEDEV_DIR/bin/$name" $args 2>&1;
			       echo "exit $?")
			check_eq "$name $args" "${real//\/usr\/bin\//}" \
				"${ours//$FUSEDEV_DIR\/bin\//}"
		done
	done
	check "helper -V names the emulation" \
		grep -q libmountshim <<<"$("$BB" env -i "$helper" -V 2>&1)"
	no_kernel_fuse "end"
	kill "$WATCH_PID"
	check_eq "kernel FUSE mounts seen under \$W during the run" "" \
		"$(cat "$W/mountwatch.out")"
fi

it_finish
