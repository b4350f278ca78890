#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libfuse's printcap example, built unmodified from libfuse3-dev's
# examples: it mounts, prints the protocol version and the capabilities
# libfuse derives from the kernel's INIT, and exits.  The emulator must
# offer what the kernel offers (docs/architecture.md, "INIT flags"), with
# one documented exception: FUSE_CAP_WRITEBACK_CACHE (no page cache),
# left out of the transcript and checked absent under emulation.
#
# The protocol version is the host kernel's (7.45 on Linux 6.18) against
# the emulator's 7.41 (Linux 6.12): the transcript says "7.41 or later".
# A kernel older than that offers less than the emulator: nothing to
# compare, skip.
. "$(dirname "$0")/lib.sh"
it_init

EMU_MINOR=41			# FDK_MINOR, core/fdk.h
PC=$BUILD/tests/integration/printcap
[ -x "$PC" ] ||
	skip "printcap is not built (libfuse3-dev's examples are not installed)"

out=$IT_RUN/printcap.out
run_deadline 30 "$out" timeout -k 2 20 "$PC"
rc=$?
check_eq "printcap's exit status" 0 $rc
minor=$(sed -n 's/^Protocol version: 7\.\([0-9]*\)$/\1/p' "$out")
[ -n "$minor" ] || fail "printcap printed no protocol version: $(cat "$out")"
if [ "$IT_MODE" = kernel ] && [ "$minor" -lt $EMU_MINOR ]; then
	skip "the kernel speaks FUSE 7.$minor, older than the emulator's 7.$EMU_MINOR"
fi
[ "$IT_MODE" = emulated ] && check_eq "protocol minor" $EMU_MINOR "$minor"
say "$ printcap"
# libfuse's lines; not "fusermount3 version" (the emulated fusermount3
# names libmountshim) nor the kernel's exact minor.
grep -E '^(FUSE library version|using FUSE kernel interface)' "$out"
say "Protocol version: 7.$EMU_MINOR or later"
grep -E '^(Capabilities:|[[:blank:]]+FUSE_CAP_)' "$out" |
	grep -v 'FUSE_CAP_WRITEBACK_CACHE$'
if [ "$IT_MODE" = emulated ]; then
	check "FUSE_CAP_WRITEBACK_CACHE is not offered" \
		test -z "$(grep 'FUSE_CAP_WRITEBACK_CACHE$' "$out")"
fi
it_finish
