#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkinitramfs.sh - build the initramfs of the fusedev test VM.
#
# The image holds busybox-static (with its applet links), the fuse and cuse
# modules of the chosen kernel (plus any --module, dependencies resolved from
# modules.dep, compressed modules decompressed), every --add path with the
# shared libraries its ELF files need, and a generated /init that:
#
#   1. mounts /dev (devtmpfs), /proc, /sys, /tmp, /run, /dev/pts, /dev/shm;
#      links /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr;
#   2. insmods the modules in dependency order, waits (deadline) for
#      /dev/fuse and /dev/cuse;
#   3. mounts the 9p shares (--share, --host-root);
#   4. runs each --run command in order, reporting on the console:
#        FUSEDEV-VM: PLAN <count>
#        FUSEDEV-VM: BEGIN <name>
#        FUSEDEV-VM: END <name> status=<N> time=<seconds>s
#        FUSEDEV-VM: DONE
#      or "FUSEDEV-VM: SETUP-FAILED <reason>" when step 1-3 fails;
#   5. powers the VM off.
#
# Every marker is printed at the start of a line of its own. run-vm.sh
# parses them; see its header for the exit status contract.
#
# With --overlay the image holds only commands, environment and shares: the
# kernel unpacks concatenated cpio archives in order, so run-vm.sh appends
# such an overlay to a prebuilt base image to run new commands in it.
#
# Usage: see usage() below.

set -euo pipefail
trap 'echo "$prog: failed at line $LINENO" >&2' ERR

prog=mkinitramfs.sh

usage()
{
	cat <<'EOF'
usage: mkinitramfs.sh OUT.cpio.gz [options]
  --kernel-version V      modules from /lib/modules/V (default: newest
                          version with both /boot/vmlinuz-V and cuse.ko)
  --add HOST[:GUEST]      copy a file, symlink target or directory (GUEST
                          defaults to HOST); ELF files bring their libraries
  --module NAME           insmod NAME too (after its dependencies)
  --share HOST[:GUEST[:ro]]
                          mount host directory HOST at GUEST over 9p
                          (run-vm.sh passes the matching -virtfs)
  --host-root             mount the host's / read-only over 9p at /host and
                          run the commands chrooted there (shares are then
                          mounted under /host); --add paths are not visible
                          to the commands in that mode
  --env VAR=VALUE         export VAR to every command
  --name NAME             name of the next --run (default: cmdN)
  --run 'SHELL COMMAND'   command to run, in order (sh -c)
  --cmd-timeout SECONDS   kill a command running longer (status 137)
  --shell PATH            shell that runs the commands (default /bin/sh:
                          busybox ash in the initramfs, which runs its
                          applets before any added binary of the same name;
                          e.g. --shell /bin/bash, copied in with its libs)
  --overlay               build only an overlay (commands, env, shares)
  --quiet                 do not list what is added
EOF
}

die()
{
	echo "$prog: $*" >&2
	exit 1
}

info()
{
	[ -n "$quiet" ] || echo "$prog: $*" >&2
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in
-h|--help) usage; exit 0 ;;
-*) usage >&2; exit 2 ;;
esac
out=$1
shift

kver=
quiet=
overlay=
host_root=
cmd_timeout=
shell=
next_name=
adds=()
modules=()
shares=()
envs=()
run_names=()
run_cmds=()

while [ $# -gt 0 ]; do
	opt=$1
	case "$opt" in
	--kernel-version|--add|--module|--share|--env|--name|--run|\
	--cmd-timeout|--shell)
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
	--kernel-version) kver=$arg ;;
	--add) adds+=("$arg") ;;
	--module) modules+=("$arg") ;;
	--share) shares+=("$arg") ;;
	--env)
		[[ "$arg" == [A-Za-z_]*=* ]] || die "--env wants VAR=VALUE: $arg"
		envs+=("$arg")
		;;
	--name)
		[[ "$arg" =~ ^[A-Za-z0-9._+-]+$ ]] ||
			die "--name: use letters, digits and ._+- only: $arg"
		next_name=$arg
		;;
	--run)
		run_names+=("${next_name:-cmd$(( ${#run_cmds[@]} + 1 ))}")
		run_cmds+=("$arg")
		next_name=
		;;
	--cmd-timeout)
		[[ "$arg" =~ ^[0-9]+$ ]] || die "--cmd-timeout: not a number"
		cmd_timeout=$arg
		;;
	--shell)
		[[ "$arg" == /* ]] || die "--shell wants an absolute path"
		shell=$arg
		;;
	--host-root) host_root=1 ;;
	--overlay) overlay=1 ;;
	--quiet) quiet=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option: $opt" ;;
	esac
done
[ -z "$next_name" ] || die "--name $next_name is not followed by --run"

# Prints the newest kernel version that has an image and a cuse module (or
# CUSE built in).
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
	[ -n "$best" ] || return 1
	echo "$best"
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/fusedev-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# --- commands, environment, shares (also in an overlay) ---------------------

# Overlay command files sort after those of a base image.
run_prefix=a
[ -z "$overlay" ] || run_prefix=z$(date +%s%N)
mkdir -p "$stage/etc/fusedev-vm/run" "$stage/etc/fusedev-vm/shares.d" \
	"$stage/etc/fusedev-vm/env.d"

for i in "${!run_cmds[@]}"; do
	key=$(printf '%s%03d' "$run_prefix" "$i")
	printf '%s\n' "${run_cmds[$i]}" > "$stage/etc/fusedev-vm/run/$key.sh"
	printf '%s\n' "${run_names[$i]}" > "$stage/etc/fusedev-vm/run/$key.name"
	info "run ${run_names[$i]}: ${run_cmds[$i]}"
done

if [ ${#envs[@]} -gt 0 ]; then
	printf '%s\n' "${envs[@]}" > "$stage/etc/fusedev-vm/env.d/$run_prefix"
fi
[ -z "$cmd_timeout" ] ||
	echo "$cmd_timeout" > "$stage/etc/fusedev-vm/cmd-timeout"

# shares.d/<prefix> lines: "<tag> <ro|rw> <guest path> <host path>"; the
# host path is last so it may hold spaces (run-vm.sh reads it back).
if [ ${#shares[@]} -gt 0 ] || [ -n "$host_root" ]; then
	{
		n=0
		[ -z "$host_root" ] || echo "hostroot ro / /"
		for s in "${shares[@]}"; do
			IFS=: read -r h g mode <<<"$s"
			g=${g:-$h}
			mode=${mode:-rw}
			[[ "$h" == /* && "$g" == /* ]] ||
				die "--share wants absolute paths: $s"
			[ -d "$h" ] || die "--share: no directory $h"
			[[ "$mode" == ro || "$mode" == rw ]] ||
				die "--share: mode is ro or rw: $s"
			[[ "$g" != *" "* ]] ||
				die "--share: guest path with a space: $g"
			echo "fs$run_prefix$n $mode $g $(realpath "$h")"
			n=$((n + 1))
		done
	} > "$stage/etc/fusedev-vm/shares.d/$run_prefix"
fi
[ -z "$host_root" ] || touch "$stage/etc/fusedev-vm/host-root"
[ -z "$shell" ] || echo "$shell" > "$stage/etc/fusedev-vm/shell"

# --- files: busybox, modules, --add ------------------------------------------

# Copies one host file (dereferenced) to guest path $2 unless present.
stage_file()
{
	local src=$1 dst=$stage$2

	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L --preserve=mode,timestamps "$src" "$dst"
}

# Copies the libraries (and loader) an ELF file needs. ldd already lists the
# transitive closure.
declare -A lib_done=()
stage_elf_deps()
{
	local f=$1 line lib out

	out=$(ldd "$f" 2>&1) || return 0	# static or not loadable
	while IFS= read -r line; do
		lib=
		case "$line" in
		*"=> not found"*)
			die "$f needs ${line%% =>*}: not found by ldd" ;;
		*"=> /"*)
			lib=${line#*=> }
			lib=${lib%% (*}
			;;
		*/*" (0x"*)
			lib=${line%% (*}
			lib=${lib##*[[:space:]]}
			;;
		esac
		[ -n "$lib" ] || continue
		[ -z "${lib_done[$lib]:-}" ] || continue
		lib_done[$lib]=1
		stage_file "$lib" "$lib"
	done <<<"$out"
}

# True when $1 starts with the ELF magic (no fork: read -N).
is_elf()
{
	local m=

	IFS= read -r -N 4 m < "$1" 2>/dev/null || true
	[ "$m" = $'\x7fELF' ]
}

stage_tree_deps()
{
	local f

	while IFS= read -r -d '' f; do
		case "$f" in *.o|*.a) continue ;; esac
		if is_elf "$f"; then
			stage_elf_deps "$f"
		fi
	done < <(find "$1" -type f -print0)
}

if [ -z "$overlay" ]; then
	if [ -z "$kver" ]; then
		kver=$(default_kernel_version) ||
			die "no kernel with /boot/vmlinuz-V and cuse.ko found"
	fi
	moddir=/lib/modules/$kver
	[ -f "$moddir/modules.dep" ] || die "no $moddir/modules.dep"
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
	if ldd "$busybox" >/dev/null 2>&1; then
		die "$busybox is dynamic; install busybox-static"
	fi

	mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,dev,proc,sys} \
		"$stage"/{tmp,run,root,mnt,host,etc,var/tmp}
	chmod 1777 "$stage/tmp" "$stage/var/tmp"
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$stage/$d"
	done

	cp "$busybox" "$stage/usr/bin/busybox"
	while IFS= read -r applet; do
		[ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] ||
			ln -s /usr/bin/busybox "$stage/$applet"
	done < <("$busybox" --list-full)

	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
	printf 'root:x:0:\n' > "$stage/etc/group"
	printf 'user_allow_other\n' > "$stage/etc/fuse.conf"
	: > "$stage/etc/mtab"
	ln -sf /proc/self/mounts "$stage/etc/mtab"
	echo "$kver" > "$stage/etc/fusedev-vm/kernel-version"

	# Modules, dependencies first; built-in ones are skipped.
	wanted=(fuse cuse)
	if [ ${#shares[@]} -gt 0 ] || [ -n "$host_root" ]; then
		wanted+=(virtio_pci 9pnet_virtio 9p)
	fi
	wanted+=("${modules[@]}")
	declare -A mod_done=()
	mod_order=()

	# Prints the modules.dep path of module $1 (empty if built in);
	# fails if the kernel has no such module. '-' and '_' are equivalent.
	mod_path()
	{
		local re="(^|/)${1//[-_]/[-_]}\\.ko(\\.[a-z]+)?"

		grep -m1 -oE "${re}:" "$moddir/modules.dep" >/dev/null || {
			grep -qE "${re}\$" "$moddir/modules.builtin" && return 0
			return 1
		}
		grep -m1 -E "${re}:" "$moddir/modules.dep" | cut -d: -f1
	}

	add_module()
	{
		local p dep deps

		p=$(mod_path "$1") || die "module $1 not found for kernel $kver"
		[ -n "$p" ] || return 0
		[ -z "${mod_done[$p]:-}" ] || return 0
		mod_done[$p]=1
		deps=$(grep -m1 "^$p:" "$moddir/modules.dep" | cut -d: -f2-)
		for dep in $deps; do
			dep=${dep##*/}
			add_module "${dep%%.ko*}"
		done
		mod_order+=("$p")
	}

	for m in "${wanted[@]}"; do
		add_module "$m"
	done
	: > "$stage/etc/fusedev-vm/modules"
	for p in "${mod_order[@]}"; do
		src=$moddir/$p
		dst=$stage$moddir/${p%%.ko*}.ko
		mkdir -p "$(dirname "$dst")"
		case "$p" in
		*.ko) cp "$src" "$dst" ;;
		*.ko.xz) xz -dc "$src" > "$dst" ;;
		*.ko.zst) zstd -qdc "$src" > "$dst" ;;
		*.ko.gz) gzip -dc "$src" > "$dst" ;;
		*) die "unknown module format: $p" ;;
		esac
		echo "${dst#"$stage"}" >> "$stage/etc/fusedev-vm/modules"
		info "module $p"
	done
fi

# The shell comes from the host root in --host-root mode.
if [ -n "$shell" ] && [ -z "$host_root" ] && [ -z "$overlay" ]; then
	adds=("$shell" "${adds[@]}")
fi
for a in "${adds[@]}"; do
	host=${a%%:*}
	guest=$host
	[[ "$a" != *:* ]] || guest=${a#*:}
	[[ "$guest" == /* ]] || die "--add: guest path must be absolute: $a"
	[ -e "$host" ] || die "--add: no such file or directory: $host"
	info "add $host -> $guest"
	if [ -d "$host" ]; then
		mkdir -p "$stage$guest"
		cp -a "$host/." "$stage$guest/"
		stage_tree_deps "$stage$guest"
	else
		rm -f "$stage$guest"
		stage_file "$host" "$guest"
		if is_elf "$stage$guest"; then
			stage_elf_deps "$host"
		fi
	fi
done

# --- /init -------------------------------------------------------------------

if [ -z "$overlay" ]; then
	cat > "$stage/init" <<'EOF'
#!/bin/sh
# Generated by tests/vm/mkinitramfs.sh: see the markers described there.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 FUSEDEV_VM=1

mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
C=/etc/fusedev-vm

say()
{
	printf '\nFUSEDEV-VM: %s\n' "$*"
}

halt_vm()
{
	sync
	poweroff -f
	reboot -f
}

setup_failed()
{
	say "SETUP-FAILED $*"
	say DONE
	halt_vm
}

# Seconds since boot, for deadlines.
now()
{
	local up rest

	read -r up rest < /proc/uptime
	echo "${up%.*}"
}

# wait_for TEST ARG SECONDS: polls "test TEST ARG" until true or deadline.
wait_for()
{
	local end=$(( $(now) + $3 ))

	until test "$1" "$2"; do
		[ "$(now)" -lt "$end" ] || return 1
		sleep 0.05	# poll interval, bounded by the deadline
	done
}

mount -t proc proc /proc || setup_failed "mount /proc"
mount -t sysfs sysfs /sys || setup_failed "mount /sys"
mkdir -p /dev/pts /dev/shm
# what udev and systemd give a booted system
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
ip link set lo up 2>/dev/null
hostname fusedev-vm

say "KERNEL $(uname -r)"
while read -r mod; do
	name=${mod##*/}
	name=${name%.ko}
	if grep -q "^$name " /proc/modules 2>/dev/null ||
	   grep -q "^$(echo "$name" | tr - _) " /proc/modules 2>/dev/null; then
		continue
	fi
	insmod "$mod" || setup_failed "insmod $mod"
done < $C/modules

# devtmpfs names the misc devices as soon as the modules register them.
wait_for -c /dev/fuse 10 || setup_failed "no /dev/fuse"
wait_for -c /dev/cuse 10 || setup_failed "no /dev/cuse"
# As udev's rules do on a distribution: anyone may open /dev/fuse.
chmod 0666 /dev/fuse

# has_tag TAG: a virtio 9p device with mount tag TAG is bound.
has_tag()
{
	local t

	for t in /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag; do
		[ -f "$t" ] && [ "$(cat "$t")" = "$1" ] && return 0
	done
	return 1
}

# wait_until SECONDS CMD...: polls CMD until it succeeds or the deadline.
wait_until()
{
	local end=$(( $(now) + $1 ))

	shift
	until "$@"; do
		[ "$(now)" -lt "$end" ] || return 1
		sleep 0.05	# poll interval, bounded by the deadline
	done
}

# mount_shares hostroot|other: mounts the 9p shares of shares.d, the host
# root only or all the others (under $root).
mount_shares()
{
	local f tag mode guest host

	for f in "$C"/shares.d/*; do
		[ -f "$f" ] || continue
		while read -r tag mode guest host; do
			if [ "$tag" = hostroot ]; then
				[ "$1" = hostroot ] || continue
				guest=/host
			else
				[ "$1" = other ] || continue
				guest=$root$guest
			fi
			mkdir -p "$guest" 2>/dev/null
			[ -d /sys/bus/virtio/drivers/9pnet_virtio ] ||
				setup_failed "no 9p modules in the base image (build it with --share or --host-root)"
			wait_until 10 has_tag "$tag" ||
				setup_failed "no 9p device $tag (run-vm.sh --share?)"
			mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,cache=loose,$mode" \
				"$tag" "$guest" ||
				setup_failed "mount 9p $tag ($host) at $guest"
		done < "$f"
	done
}

root=
[ ! -e $C/host-root ] || root=/host
if [ -n "$root" ]; then
	mount_shares hostroot
	for d in dev proc sys tmp run; do
		test -d $root/$d || setup_failed "host root has no /$d"
	done
	# devtmpfs mounts share one tree: CUSE nodes appear in both.
	mount -t devtmpfs devtmpfs $root/dev || setup_failed "/host/dev"
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $root/dev/pts
	mount -t tmpfs -o mode=1777 tmpfs $root/dev/shm
	mount -t proc proc $root/proc || setup_failed "proc in /host"
	mount -t sysfs sysfs $root/sys || setup_failed "sysfs in /host"
	mount -t tmpfs -o mode=1777 tmpfs $root/tmp
	mount -t tmpfs -o mode=755 tmpfs $root/run
	for d in /var/tmp /root; do
		test -d $root$d && mount -t tmpfs -o mode=1777 tmpfs $root$d
	done
fi
# After the tmpfs mounts, so that a share under /tmp stays visible.
mount_shares other

for f in "$C"/env.d/*; do
	[ -f "$f" ] || continue
	while IFS= read -r kv; do
		export "$kv"
	done < "$f"
done

shell=/bin/sh
[ ! -f $C/shell ] || shell=$(cat $C/shell)
tmo=
[ ! -f $C/cmd-timeout ] || tmo="timeout -s KILL $(cat $C/cmd-timeout)"

set -- $C/run/*.sh
[ -e "$1" ] || set --
say "PLAN $#"
say "SETUP ok"
for f in "$@"; do
	name=$(cat "${f%.sh}.name")
	say "BEGIN $name"
	t0=$(now)
	if [ -n "$root" ]; then
		cp "$f" $root/tmp/.fusedev-vm-cmd.sh
		$tmo chroot $root "$shell" -c \
			"cd / && exec $shell /tmp/.fusedev-vm-cmd.sh"
	else
		(cd / && $tmo "$shell" "$f")
	fi
	rc=$?
	say "END $name status=$rc time=$(( $(now) - t0 ))s"
done
say DONE
halt_vm
EOF
	chmod 755 "$stage/init"
fi

# --- archive -----------------------------------------------------------------

mkdir -p "$(dirname "$out")"
(
	cd "$stage"
	find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet
) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
info "wrote $out ($(du -h "$out" | cut -f1))"
