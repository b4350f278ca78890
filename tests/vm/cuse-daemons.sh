#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CUSE-specific daemon behaviour, run inside the VM under
# `fusedev run -t cuse` (vm-cuse-daemons in meson.build):
#   1. libfuse's clone_fd: a multi-threaded passthrough_ll clones its
#      device fd per worker (FUSE_DEV_IOC_CLONE through the shim) and
#      serves parallel readers;
#   2. SIGINT to a daemon blocked in read() on the device: it leaves its
#      loop, unmounts and exits 0;
#   3. splice(2) receive: passthrough_ll has write_buf, so libfuse (as
#      root, allowed to grow its pipe) splices from the device; the shim
#      serves it; a 1 MiB copy compares equal;
#   4. the node's name, mode and owner follow -n, -m and -o.
#
#	cuse-daemons.sh BUILD_DIR
set -u
build=${1:?usage: cuse-daemons.sh BUILD_DIR}
pt=$build/examples/passthrough_ll
hello=$build/examples/hello_ll
work=$(mktemp -d /tmp/cuse-daemons.XXXXXX)
fails=0
pids=()

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for m in "$work"/m*; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

[ -e /dev/cuse ] || { echo "SKIP: no /dev/cuse"; exit 77; }
dev_of() { stat -c %d "$1" 2>/dev/null; }
# wait_mounted MNT: until MNT's st_dev differs from its parent's (10 s)
wait_mounted() {
	local end=$((SECONDS + 10))
	until [ "$(dev_of "$1")" != "$(dev_of "$1/..")" ]; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05	# poll interval, bounded by the deadline
	done
}
# wait_gone PID SECONDS: until PID exits; its status in $st
wait_gone() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05	# poll interval, bounded by the deadline
	done
	wait "$1"; st=$?
}

mkdir -p "$work/src" "$work/m1" "$work/m2" "$work/m3"
head -c 1048576 /dev/urandom > "$work/src/big"
for i in 1 2 3 4 5 6 7 8; do echo "file $i" > "$work/src/f$i"; done

# 1. clone_fd
"$pt" -f -o clone_fd,source="$work/src" "$work/m1" & d=$!; pids+=($d)
if wait_mounted "$work/m1"; then
	for i in 1 2 3 4 5 6 7 8; do cat "$work/m1/f$i" > "$work/out$i" & done
	wait $(jobs -p | grep -v "^$d$") 2>/dev/null
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$work/out$i")" = "file $i" ] || fail "clone_fd: f$i"
	done
	n=$(ls -l /proc/$d/fd | grep -c /dev/fusedev)
	[ "$n" -ge 2 ] || fail "clone_fd: $n device fds, want a clone"
	fusermount3 -u "$work/m1" || fail "clone_fd: unmount"
	wait_gone $d 10 || fail "clone_fd: daemon did not exit"
else
	fail "clone_fd: passthrough_ll did not mount"
fi

# 2. SIGINT to a daemon blocked in read().  A background job of a
# non-interactive shell starts with SIGINT ignored, and libfuse leaves an
# ignored signal alone: restore the default first.
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$hello" -f "$work/m2" & d=$!; pids+=($d)
if wait_mounted "$work/m2"; then
	[ "$(cat "$work/m2/hello")" = "Hello World!" ] || fail "sigint: read"
	kill -INT $d
	if wait_gone $d 10; then
		[ "$st" = 0 ] || fail "sigint: daemon exit status $st"
		[ "$(dev_of "$work/m2")" = "$(dev_of "$work/m2/..")" ] ||
			fail "sigint: still mounted"
	else
		fail "sigint: daemon still running 10 s after SIGINT"
	fi
else
	fail "sigint: hello_ll did not mount"
fi

# 3. splice receive: the shim serves libfuse's splice() on the device
# itself (CUSE has none) and says so under FUSEDEV_DEBUG=daemon.
FUSEDEV_DEBUG=daemon "$pt" -f -o source="$work/src" "$work/m3" \
	2> "$work/daemon.log" & d=$!; pids+=($d)
if wait_mounted "$work/m3"; then
	cp "$work/m3/big" "$work/copy" || fail "splice: cp"
	cmp -s "$work/src/big" "$work/copy" || fail "splice: data differs"
	fusermount3 -u "$work/m3" || fail "splice: unmount"
	wait_gone $d 10 || fail "splice: daemon did not exit"
	grep -q "splice on the device" "$work/daemon.log" ||
		fail "splice: libfuse never spliced from the device"
else
	fail "splice: passthrough_ll did not mount"
fi

# 4. The device node's name, mode and owner, as configured.
emu=$build/cuse_fusedev/cuse_fusedev
FUSEDEV_DIR= "$emu" -f -t cuse -n fdtest -m 0640 -o nobody:nogroup \
	-d "$work/rt" & e=$!; pids+=($e)
end=$((SECONDS + 10))
until [ "$(stat -c '%a %U %G' /dev/fdtest 2>/dev/null)" = "640 nobody nogroup" ]; do
	[ $SECONDS -lt $end ] || { fail "node: $(ls -l /dev/fdtest 2>&1)"; break; }
	sleep 0.05	# poll interval, bounded by the deadline
done
kill -TERM $e
wait_gone $e 10 || fail "node: emulator did not stop"
[ ! -e /dev/fdtest ] || fail "node: /dev/fdtest left behind"

[ $fails = 0 ] && echo "cuse-daemons: all checks passed"
exit $((fails > 0))
