#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ioctl(2) on libfuse's ioctl example (t-ioctl.sh): one line per call,
# its result or errno name, and what came back.
#
#	ioctls.py FILE DIR
import errno
import fcntl
import os
import struct
import sys
import termios


def ioc(d, t, nr, size):
    return (d << 30) | (size << 16) | (ord(t) << 8) | nr


IOR, IOW, IOWR = 2, 1, 3
FIOC_GET_SIZE = ioc(IOR, 'E', 0, 8)
FIOC_SET_SIZE = ioc(IOW, 'E', 1, 8)
FIOC_READ = ioc(0, 'E', 2, 0)
FIOQSIZE = 0x5460
FIGETBSZ = 2
FIBMAP = 1
FICLONE = ioc(IOW, '\x94', 9, 4)
FS_IOC_GETFLAGS = ioc(IOR, 'f', 1, 8)
FS_IOC_SETFLAGS = ioc(IOW, 'f', 2, 8)
FS_IOC_FSGETXATTR = ioc(IOR, 'X', 31, 28)


def call(name, fd, cmd, arg=0, fmt=None):
    try:
        r = fcntl.ioctl(fd, cmd, arg)
    except OSError as e:
        print(f"{name}: {errno.errorcode[e.errno]}")
        return
    if fmt:
        r = struct.unpack(fmt, r[:struct.calcsize(fmt)])[0]
    print(f"{name}: {r}")


for path in sys.argv[1:]:
    isdir = os.path.isdir(path)
    fd = os.open(path, os.O_RDONLY if isdir else os.O_RDWR)
    print(f"== {path}")
    call("FIOC_GET_SIZE", fd, FIOC_GET_SIZE, bytes(8), "Q")
    call("FIOC_SET_SIZE 7", fd, FIOC_SET_SIZE, struct.pack("Q", 7))
    call("FIOC_GET_SIZE", fd, FIOC_GET_SIZE, bytes(8), "Q")
    call("FIOC_READ", fd, FIOC_READ)
    call("_IOWR('E', 9)", fd, ioc(IOWR, 'E', 9, 16), bytes(16))
    call("TCGETS", fd, termios.TCGETS, bytes(64))
    print(f"isatty: {os.isatty(fd)}")
    if not isdir:
        os.read(fd, 2)
    call("FIONREAD", fd, termios.FIONREAD, bytes(4), "i")
    call("FIOQSIZE", fd, FIOQSIZE, bytes(8), "q")
    call("FIGETBSZ", fd, FIGETBSZ, bytes(4), "i")
    call("FIBMAP", fd, FIBMAP, bytes(4), "i")
    call("FS_IOC_GETFLAGS", fd, FS_IOC_GETFLAGS, bytes(4), "I")
    call("FS_IOC_SETFLAGS", fd, FS_IOC_SETFLAGS, bytes(4))
    call("FS_IOC_FSGETXATTR", fd, FS_IOC_FSGETXATTR, bytes(28), "I")
    call("FICLONE itself", fd, FICLONE, fd)
    call("FICLONE stdin", fd, FICLONE, 0)
    call("FICLONE bad fd", fd, FICLONE, 999)
    os.close(fd)
