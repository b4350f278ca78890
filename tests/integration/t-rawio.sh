#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A program without the shim (rawio, static) reading a file of memfs_ll
# through the fd it inherited, every way the kernel offers: read,
# sendfile and splice into a pipe, sendfile and copy_file_range into
# another inherited fd of the mount, pread, private and shared mmap,
# fstat's size.  Each gives the file's data or a clear error, never an
# early end: kernel FUSE gives the data every way; the emulated device
# (a file of its own per open on fusefile, a character device on cuse)
# gives an error where the kernel refuses the call on it, as listed
# below and in libmountshim(7).  The transcript says "as expected" per
# case; the expectations of each transport are in the table.
. "$(dirname "$0")/lib.sh"
it_init

RAWIO=$BUILD/tests/integration/rawio
[ -x "$RAWIO" ] || skip "$RAWIO not built (no static linking)"
export RAWIO
# about fds, not about being told that rawio is static (libmountshim(7))
export FUSEDEV_UNSHIMMED=allow

if [ "$IT_MODE" = kernel ]; then
	how=kernel
elif [ -e "$FUSEDEV_DIR/dev/fuse" ]; then
	how=fusefile
else
	how=cuse
fi

# expect CASE: what $how gives for CASE ("data" for the file's data)
declare -A fusefile=(
	[pread]=ESPIPE [mmap-shared]=ENODEV [cfr]=EINVAL [sendto]=EINVAL
	[size]=regular
)
# cuse: the kernel passes a character device no offset (cuse_read_iter),
# so pread reads at the open file's position: right here only because
# rawio's preads are sequential from 0 (libmountshim(7))
declare -A cuse=(
	[mmap-shared]=ENODEV [cfr]=EINVAL [sendto]=EINVAL
	[sendfile]=EINVAL [splice]=EINVAL [mmap]=ENODEV [size]=other
)
expect() {
	local v=

	case $how in
	fusefile) v=${fusefile[$1]:-} ;;
	cuse) v=${cuse[$1]:-} ;;
	esac
	[ "$1" = size ] && [ -z "$v" ] && v=regular
	echo "${v:-data}"
}

"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(4).randbytes(3 << 20))' \
	>"$W/data.bin" || fail "making data.bin"
printf 'hello\n' >"$W/small.bin"
tail -c +101 "$W/data.bin" >"$W/tail.bin"
sum() {
	sha256sum <"$1" | cut -d' ' -f1
}

mkdir "$W/mnt" || fail "mkdir"
start_daemon "$IT_MODE" "$W/mnt" "$EX/memfs_ll" -f "$W/mnt"
in_dir "$W/mnt"
expect_ok 'cp "$W/data.bin" big && cp "$W/small.bin" small && : > empty'

# case NAME FILE REF CMD: rawio's answer to CMD (stdin FILE) against what
# $how gives; REF holds FILE's data (past what CMD skips).
case_() {
	local name=$1 file=$2 ref=$3 want got size

	shift 3
	want=$(expect "$name")
	# a regular file of size 0 is not mapped at all
	[ "$file" = empty ] && [ "$name" = mmap-shared ] && [ "$how" != cuse ] &&
		want=data
	got=$(q "$* < $file")
	size=$(stat -c %s "$ref")
	case $want in
	data)
		check_eq "$name $file on $how" \
			"data $(sum "$ref") $size" "$got" ;;
	regular | other)
		[ "$how" = cuse ] && size=0
		check_eq "$name $file on $how" "size $size $want" "$got" ;;
	*)
		check_eq "$name $file on $how" "error $want" "$got" ;;
	esac
	# never an early end: no data where there is some
	[ "$size" = 0 ] || [ "$got" != "data $(sum /dev/null) 0" ] ||
		check_eq "$name $file on $how: an early end" "" "$got"
	say "$name $file: as expected"
}

for f in big small empty; do
	case $f in
	big) ref=$W/data.bin ;;
	small) ref=$W/small.bin ;;
	empty) ref=/dev/null ;;
	esac
	for op in read sendfile splice pread mmap mmap-shared size; do
		case_ $op $f "$ref" '"$RAWIO"' $op
	done
done

# into another fd of the mount: sendfile and copy_file_range
for op in sendto cfr; do
	expect_ok ": > out"
	want=$(expect $op)
	got=$(q "exec 5<>out && \"\$RAWIO\" $op 5 < big")
	if [ "$want" = data ]; then
		check_eq "$op on $how" "$([ $op = cfr ] && echo copied ||
			echo sent) $(stat -c %s "$W/data.bin")" "$got"
		check_eq "$op on $how: the copy" "$(sum "$W/data.bin")" \
			"$(q 'sha256sum < out' | cut -d' ' -f1)"
	else
		check_eq "$op on $how" "error $want" "$got"
	fi
	say "$op big: as expected"
done

# the position is the open file's, shared with the shell that read
# before: the rest of the file, by read and by sendfile
for op in read sendfile; do
	got=$(q "{ head -c 100 >/dev/null && \"\$RAWIO\" $op; } < big")
	if [ "$(expect $op)" = data ]; then
		check_eq "$op after head on $how" \
			"data $(sum "$W/tail.bin") $(stat -c %s "$W/tail.bin")" \
			"$got"
	else
		check_eq "$op after head on $how" "error $(expect $op)" "$got"
	fi
	say "$op after head -c 100: as expected"
done
expect_ok 'rm out && ls -a'

in_dir "$W"
stop_daemon "$W/mnt"
check "clean unmount of memfs_ll" test $? = 0
say "unmounted, daemon exit status $STOP_STATUS"

it_finish
