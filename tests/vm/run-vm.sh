#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-vm.sh - boot the fusedev test VM (a kernel with CUSE) under qemu/TCG,
# run commands inside it and report their result.
#
# The initramfs is built by mkinitramfs.sh (next to this script) from the
# build options, or given with --initrd; commands given to a prebuilt image
# go into a small overlay archive appended to it. The serial console is
# streamed to stdout and to the log file; the FUSEDEV-VM markers printed by
# the VM's /init decide the result.
#
# Exit status: 0 when setup succeeded, every command ran and ended with
# status 0 and DONE was seen; 77 (with one line saying what is missing) when
# qemu, the kernel image, its fuse/cuse modules, busybox-static or cpio are
# absent, or when every command ended with 0 or 77 and at least one with 77
# (a test that skipped inside the VM); 2 on a usage error; 1 otherwise (a
# command failed, the guest died, or the deadline passed: qemu is then
# killed).

set -uo pipefail

prog=run-vm.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage()
{
	cat <<'EOF'
usage: run-vm.sh [options] [--initrd FILE] [build options] [-- CMD [ARG]...]
  --timeout SECONDS       overall deadline, build and boot included (300)
  --log FILE              copy of the console (default: a temp file)
  --kernel FILE           kernel image (default /boot/vmlinuz-VERSION)
  --kernel-version V      kernel and modules version (default: newest with
                          cuse.ko and an image in /boot)
  --memory MB             guest memory (1024)
  --smp N                 guest CPUs (2)
  --append 'ARGS'         extra kernel command line
  --qemu-arg ARG          extra qemu argument (repeatable)
  --initrd FILE           prebuilt mkinitramfs.sh image to boot
  --keep-initrd FILE      also save the built image there
build options (passed to mkinitramfs.sh, see its --help):
  --add HOST[:GUEST]  --module NAME  --share HOST[:GUEST[:ro]]  --host-root
  --env VAR=VALUE  --name NAME  --run 'SHELL COMMAND'  --cmd-timeout SECONDS
  --shell PATH
-- CMD [ARG]...           one more command, as an argument vector
EOF
}

skip()
{
	echo "$prog: SKIP: $*"
	exit 77
}

die()
{
	echo "$prog: $*" >&2
	exit 2
}

# Quotes $1 for a POSIX shell (busybox sh reads the command files).
shquote()
{
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

timeout_s=300
log=
kernel=
kver=
memory=1024
smp=2
append=
initrd=
keep_initrd=
qemu_extra=()
build=()		# options for mkinitramfs.sh, in order
build_files=0		# --add/--module/--host-root given
shares=()

while [ $# -gt 0 ]; do
	opt=$1
	case "$opt" in
	--timeout|--log|--kernel|--kernel-version|--memory|--smp|--append|\
	--qemu-arg|--initrd|--keep-initrd|--add|--module|--share|--env|\
	--name|--run|--cmd-timeout|--shell)
		[ $# -ge 2 ] || die "$opt needs an argument"
		arg=$2
		shift 2
		;;
	*)
		arg=
		shift
		;;
	esac
	case "$opt" in
	--timeout)
		[[ "$arg" =~ ^[0-9]+$ ]] || die "--timeout: not a number"
		timeout_s=$arg
		;;
	--log) log=$arg ;;
	--kernel) kernel=$arg ;;
	--kernel-version) kver=$arg ;;
	--memory) memory=$arg ;;
	--smp) smp=$arg ;;
	--append) append="$append $arg" ;;
	--qemu-arg) qemu_extra+=("$arg") ;;
	--initrd) initrd=$arg ;;
	--keep-initrd) keep_initrd=$arg ;;
	--add|--module)
		build+=("$opt" "$arg")
		build_files=1
		;;
	--share)
		build+=("$opt" "$arg")
		shares+=("$arg")
		;;
	--env|--name|--run|--cmd-timeout) build+=("$opt" "$arg") ;;
	--shell)
		build+=("$opt" "$arg")
		build_files=1
		;;
	--host-root)
		build+=("$opt")
		build_files=1
		;;
	--)
		[ $# -gt 0 ] || die "nothing after --"
		cmd=
		for a in "$@"; do
			cmd="$cmd${cmd:+ }$(shquote "$a")"
		done
		build+=(--run "$cmd")
		break
		;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option: $opt" ;;
	esac
done

if [ -n "$initrd" ] && [ "$build_files" = 1 ]; then
	die "--add, --module, --shell and --host-root build a new image: drop --initrd"
fi

start=$(date +%s)

# --- what we need: 77 when absent --------------------------------------------

qemu=$(command -v qemu-system-x86_64) ||
	skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"

# Newest version with an image in /boot and a cuse module (or CUSE built in).
default_kernel_version()
{
	local d v best=

	for d in /lib/modules/*/; do
		v=$(basename "$d")
		[ -e "/boot/vmlinuz-$v" ] || continue
		if compgen -G "$d/kernel/fs/fuse/cuse.ko*" >/dev/null ||
		   grep -qs '/cuse\.ko' "$d/modules.builtin"; then
			best=$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n1)
		fi
	done
	[ -n "$best" ] && echo "$best"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fusedev-vm.XXXXXX") || exit 1
qpid=
tee_pid=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	[ -z "$qpid" ] || kill -TERM "$qpid" 2>/dev/null
	[ -z "$qpid" ] || wait "$qpid" 2>/dev/null
	[ -z "$tee_pid" ] || wait "$tee_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted, qemu killed"; exit 1' TERM INT HUP

# Reads file $2 of the gzip'ed cpio image $1 (empty if absent).
image_file()
{
	(cd "$tmp" && gzip -dc "$1" 2>/dev/null |
		cpio -i --quiet --to-stdout "$2" 2>/dev/null)
}

if [ -n "$initrd" ]; then
	[ -r "$initrd" ] || die "--initrd: cannot read $initrd"
	initrd=$(realpath "$initrd")
	[ -n "$kver" ] || kver=$(image_file "$initrd" etc/fusedev-vm/kernel-version)
	[ -n "$kver" ] || die "$initrd was not built by mkinitramfs.sh"
else
	[ -n "$kver" ] || kver=$(default_kernel_version) ||
		skip "no kernel with CUSE: need /boot/vmlinuz-V and /lib/modules/V/kernel/fs/fuse/cuse.ko (apt-get install linux-image-amd64)"
	[ -d "/lib/modules/$kver" ] || skip "no /lib/modules/$kver"
	for m in fuse cuse; do
		compgen -G "/lib/modules/$kver/kernel/fs/fuse/$m.ko*" >/dev/null ||
		grep -qs "/$m\.ko" "/lib/modules/$kver/modules.builtin" ||
			skip "kernel $kver has no $m module"
	done
	command -v cpio >/dev/null || skip "cpio not installed (apt-get install cpio)"
	bb=$(command -v busybox) ||
		skip "busybox not installed (apt-get install busybox-static)"
	! ldd "$bb" >/dev/null 2>&1 ||
		skip "$bb is dynamic (apt-get install busybox-static)"
fi
[ -n "$kernel" ] || kernel=/boot/vmlinuz-$kver
[ -e "$kernel" ] || skip "no kernel image $kernel"
[ -r "$kernel" ] || skip "kernel image $kernel is not readable"

if [ -z "$log" ]; then
	log=$(mktemp "${TMPDIR:-/tmp}/fusedev-vm.XXXXXX.log") || exit 1
fi
: > "$log" || die "cannot write $log"

# --- the image ----------------------------------------------------------------

image=$tmp/initrd.cpio.gz
if [ -z "$initrd" ]; then
	"$here/mkinitramfs.sh" "$image" --quiet --kernel-version "$kver" \
		"${build[@]}" || { echo "$prog: FAIL: mkinitramfs.sh failed"; exit 1; }
	share_src=("$image")
elif [ ${#build[@]} -gt 0 ]; then
	"$here/mkinitramfs.sh" "$tmp/overlay.cpio.gz" --quiet --overlay \
		"${build[@]}" || { echo "$prog: FAIL: mkinitramfs.sh failed"; exit 1; }
	cat "$initrd" "$tmp/overlay.cpio.gz" > "$image"
	share_src=("$initrd" "$tmp/overlay.cpio.gz")
else
	image=$initrd
	share_src=("$initrd")
fi
[ -z "$keep_initrd" ] || cp "$image" "$keep_initrd"

# 9p devices for the shares recorded in the image(s).
virtfs=()
for src in "${share_src[@]}"; do
	rm -rf "$tmp/x"
	mkdir "$tmp/x"
	(cd "$tmp/x" && gzip -dc "$src" 2>/dev/null |
		cpio -i -d --quiet 'etc/fusedev-vm/shares.d/*' 2>/dev/null)
	for f in "$tmp"/x/etc/fusedev-vm/shares.d/*; do
		[ -f "$f" ] || continue
		while read -r tag mode _ host; do
			ro=
			[ "$mode" = rw ] || ro=,readonly=on
			[ -d "$host" ] || die "share $host: no such directory"
			virtfs+=(-fsdev "local,id=$tag,path=${host//,/,,},security_model=passthrough,multidevs=remap$ro"
				-device "virtio-9p-pci,fsdev=$tag,mount_tag=$tag")
		done < "$f"
	done
done

# --- boot -----------------------------------------------------------------------

left=$(( timeout_s - ($(date +%s) - start) ))
[ "$left" -gt 0 ] || { echo "$prog: TIMEOUT while building the image"; exit 1; }

qemu_cmd=("$qemu" -accel tcg -machine pc -m "$memory" -smp "$smp"
	-nic none -display none -monitor none -serial stdio -no-reboot
	-kernel "$kernel" -initrd "$image"
	-append "console=ttyS0 panic=-1 loglevel=4$append"
	"${virtfs[@]}" "${qemu_extra[@]}")

echo "$prog: booting $kernel (timeout ${left}s, log $log)"
mkfifo "$tmp/console"
tee -a "$log" < "$tmp/console" &
tee_pid=$!
# --foreground keeps qemu in our process group, so whoever kills us (meson
# on its own timeout) kills it too.
timeout --foreground -k 5 "$left" "${qemu_cmd[@]}" \
	< /dev/null > "$tmp/console" 2>&1 &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
wait "$tee_pid"
tee_pid=

# --- verdict --------------------------------------------------------------------

elapsed=$(( $(date +%s) - start ))
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "$prog: TIMEOUT: the VM did not finish within ${timeout_s}s; qemu killed (log $log)"
	exit 1
fi

tr -d '\r' < "$log" | awk -v prog="$prog" -v qrc="$qrc" -v secs="$elapsed" '
	{
		i = index($0, "FUSEDEV-VM: ")
		if (!i)
			next
		split(substr($0, i + 12), w, " ")
	}
	w[1] == "PLAN" { plan = w[2] }
	w[1] == "SETUP" { setup = 1 }
	w[1] == "SETUP-FAILED" {
		sub(/.*SETUP-FAILED /, "")
		failed = $0
	}
	w[1] == "BEGIN" { running = w[2]; began++ }
	w[1] == "END" {
		ended++
		running = ""
		st = w[3]
		sub(/^status=/, "", st)
		if (st == "77") {
			skipped++
			printf "%s: command %s skipped (status 77)\n", prog, w[2]
		} else if (st != "0") {
			bad++
			printf "%s: command %s failed: status=%s\n", prog, w[2], st
		}
	}
	w[1] == "DONE" { done = 1 }
	END {
		if (failed != "") {
			printf "%s: FAIL: VM setup failed: %s\n", prog, failed
			exit 1
		}
		if (!setup) {
			printf "%s: FAIL: the VM never finished its setup (qemu status %s)\n", prog, qrc
			exit 1
		}
		if (running != "") {
			printf "%s: FAIL: command %s did not end (guest crashed?)\n", prog, running
			exit 1
		}
		if (!done) {
			printf "%s: FAIL: no DONE marker (qemu status %s)\n", prog, qrc
			exit 1
		}
		if (ended != plan || began != plan) {
			printf "%s: FAIL: %d of %d commands ran\n", prog, ended, plan
			exit 1
		}
		if (bad) {
			printf "%s: FAIL: %d of %d commands failed (%ds)\n", prog, bad, plan, secs
			exit 1
		}
		if (skipped) {
			printf "%s: SKIP: %d of %d commands skipped, the others passed (%ds)\n", prog, skipped, plan, secs
			exit 77
		}
		printf "%s: PASS: %d commands, all status 0 (%ds)\n", prog, plan, secs
		exit 0
	}'
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "$prog: log: $log"
exit "$rc"
