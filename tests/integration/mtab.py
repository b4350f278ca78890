#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prints the mountpoints of the emulator's published mount table
# ($FUSEDEV_DIR/mtab, struct fusedev_mtab of core/fusedev_port.h), one
# per line.  Exit 0 when the table was read, 2 when it is missing or not
# a mount table, 3 when no stable copy could be read (seqlock) in 2 s.
#
#	mtab.py [DIR]		DIR defaults to $FUSEDEV_DIR
#
# Layout (host-endian, x86-64): u32 magic, version, seq, count;
# i32 emulator_pid; u32 transport; char device[256]; then
# FUSEDEV_MTAB_MAX entries of { u64 id; u32 flags; u32 len;
# char path[4096]; } from offset 280.
import os
import struct
import sys
import time

MAGIC = 0x66646d74
HDR = struct.Struct("=IIIIiI256s")
ENT = struct.Struct("=QII")
ENT_SIZE = ENT.size + 4096
ENTS_OFF = 280
MAX = 64


def snapshot(path):
	with open(path, "rb") as f:
		return f.read(ENTS_OFF + MAX * ENT_SIZE)


def main():
	d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FUSEDEV_DIR")
	if not d:
		print("mtab.py: FUSEDEV_DIR is not set", file=sys.stderr)
		return 2
	path = os.path.join(d, "mtab")
	deadline = time.monotonic() + 2
	while True:
		try:
			a = snapshot(path)
		except OSError as e:
			print("mtab.py: %s: %s" % (path, e), file=sys.stderr)
			return 2
		if len(a) < ENTS_OFF:
			print("mtab.py: %s: short" % path, file=sys.stderr)
			return 2
		magic, _, seq, count, _, _, _ = HDR.unpack_from(a, 0)
		if magic != MAGIC:
			print("mtab.py: %s: bad magic" % path, file=sys.stderr)
			return 2
		seq2 = HDR.unpack_from(snapshot(path), 0)[2]
		if seq % 2 == 0 and seq == seq2:
			break
		if time.monotonic() > deadline:
			return 3
	for i in range(min(count, MAX)):
		off = ENTS_OFF + i * ENT_SIZE
		_, flags, n = ENT.unpack_from(a, off)
		if flags & 1 and n <= 4096:
			p = a[off + ENT.size:off + ENT.size + n]
			print(p.decode(errors="replace"))
	return 0


sys.exit(main())
