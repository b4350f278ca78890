#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Waits on the 16 files of libfuse's poll example (t-poll.sh) with poll(2),
# select(2) or epoll(7) for ROUNDS rounds of at most 10 s each, reading the
# ready ones, and prints what must hold whatever the timing.
#
#	pollers.py poll|select|epoll ROUNDS
#	pollers.py drain NAME	read NAME, then poll it with no wait
import os
import select
import sys

how = sys.argv[1]
if how == "drain":
    fd = os.open(sys.argv[2], os.O_RDONLY)
    os.read(fd, 4096)
    p = select.poll()
    p.register(fd, select.POLLIN)
    # a byte may have come since: then it is ready, and holds data
    if p.poll(0) and not os.read(fd, 4096):
        print("drain: READY WITHOUT DATA after the read")
    else:
        print("drain: ready only with data")
    sys.exit(0)

rounds = int(sys.argv[2])
fds = [os.open(n, os.O_RDONLY) for n in "0123456789ABCDEF"]
if how == "poll":
    p = select.poll()
    for fd in fds:
        p.register(fd, select.POLLIN)
elif how == "epoll":
    p = select.epoll()
    for fd in fds:
        p.register(fd, select.EPOLLIN)
empty = timeouts = 0
for r in range(rounds):
    if how == "select":
        ready = select.select(fds, [], [], 10)[0]
    else:
        ready = [fd for fd, ev in p.poll(10 if how == "epoll" else 10000)]
    if not ready:
        timeouts += 1
        continue
    for fd in ready:
        if not os.read(fd, 4096):
            empty += 1
print(f"{how}: {rounds} rounds, {timeouts} without a ready file, "
      f"{empty} ready files read empty")
