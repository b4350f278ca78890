#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# guest-cuse-probe.sh PROBE - runs inside the test VM (busybox sh): starts
# PROBE (cuse_probe) in the background, waits for /dev/fusedev-probe,
# writes a line to it and reads it back with busybox tools, checks that the
# probe saw the opens, stops it and waits for the node to go away.
# Exit 0 pass, 1 fail.

probe=${1:?usage: guest-cuse-probe.sh PROBE}
name=fusedev-probe
dev=/dev/$name
err=/tmp/cuse_probe.err
pid=

say()
{
	echo "guest-cuse-probe: $*"
}

fail()
{
	say "FAIL: $*"
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ ! -f "$err" ] || sed 's/^/  probe: /' "$err"
	exit 1
}

now()
{
	local up rest

	read -r up rest < /proc/uptime
	echo "${up%.*}"
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

alive()
{
	kill -0 "$pid" 2>/dev/null
}

dead()
{
	! kill -0 "$pid" 2>/dev/null
}

node_or_exit()
{
	[ -c "$dev" ] || ! alive
}

test -c /dev/cuse || fail "no /dev/cuse"
[ ! -e "$dev" ] || fail "$dev exists before the probe runs"

"$probe" "$name" 2> "$err" &
pid=$!

wait_until 10 node_or_exit || fail "$dev did not appear within 10 s"
alive || fail "cuse_probe exited before $dev appeared"
say "$dev appeared: $(ls -l "$dev")"
grep -q "^cuse_probe: ready $dev\$" "$err" || fail "no ready line from probe"

msg="hello from the fusedev vm"
echo "$msg" > "$dev" || fail "write to $dev"
got=$(timeout 10 cat "$dev") || fail "read from $dev"
[ "$got" = "$msg" ] || fail "read back '$got', wrote '$msg'"
say "read back: $got"

grep -q '^cuse_probe: open 2$' "$err" || fail "probe did not see 2 opens"
wait_until 5 grep -q '^cuse_probe: release 2$' "$err" ||
	fail "probe did not see the second release"

kill -TERM "$pid"
wait_until 10 dead || fail "cuse_probe ignored SIGTERM"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "cuse_probe exited with status $rc"

# The kernel removes the node once the server closes /dev/cuse.
gone()
{
	[ ! -e "$dev" ]
}
wait_until 10 gone || fail "$dev still present after the probe exited"
say "PASS"
