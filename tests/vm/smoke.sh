#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# smoke.sh [--host-root] CUSE_PROBE [LOG] - the vm-smoke tests: boot the
# CUSE test VM (run-vm.sh), check that /dev/fuse and /dev/cuse exist there
# and that a libfuse3 cuse_lowlevel device (cuse_probe) can be registered,
# opened, written and read back inside it (guest-cuse-probe.sh).
#
# Default: busybox initramfs, cuse_probe copied in at its own absolute path.
# --host-root: the host's / over 9p as the guest's userland (the mode for
# running the project's suites in the VM), with the probe's and this
# script's directories shared so they stay visible under a /tmp build.
# Exit 0 pass, 1 fail, 77 skip.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=initramfs
if [ "${1:-}" = --host-root ]; then
	mode=host-root
	shift
fi
probe=${1:?usage: smoke.sh [--host-root] CUSE_PROBE [LOG]}
log=${2:-}
probe=$(realpath "$probe")

if [ "$mode" = host-root ]; then
	pdir=$(dirname "$probe")
	set -- --host-root --share "$pdir:$pdir:ro" --share "$here:$here:ro" \
		--name cuse-probe -- "$here/guest-cuse-probe.sh" "$probe"
else
	# A fixed guest path: the guest mounts a fresh /tmp (and /run),
	# which would hide a build tree under them.
	set -- --add "$probe:/usr/bin/cuse_probe" \
		--add "$here/guest-cuse-probe.sh:/usr/bin/guest-cuse-probe" \
		--name cuse-probe -- guest-cuse-probe /usr/bin/cuse_probe
fi
exec "$here/run-vm.sh" --timeout 300 ${log:+--log "$log"} \
	--name devices \
	--run 'ls -l /dev/fuse /dev/cuse && test -c /dev/fuse && test -c /dev/cuse' \
	"$@"
