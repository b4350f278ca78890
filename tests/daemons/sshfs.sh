#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sshfs (libfuse 3) over SFTP to an sshd of the test's own: 127.0.0.1 only,
# a free port, host and user keys made for the run, no configuration of
# the machine's used.  The seed is in the served directory; after the
# unmount it shows what the workload left.  sshd and ssh are the test's
# plumbing, not its subject: sshd runs without libmountshim.so in both
# modes (ssh, started by sshfs, inherits it under emulation).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require sshfs sshfs
dm_require ssh openssh-client
dm_require ssh-keygen openssh-client
[ -x /usr/sbin/sshd ] || skip "sshd is not installed (apt-get install openssh-server)"
# sshd's privilege separation directory (the service makes it at start).
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd || skip "cannot make /run/sshd"
dm_data

M=$W/mnt
S=$W/.ssh-test
mkdir "$W/src" "$M" "$S" || fail "mkdir"
cp -a "$W/seed" "$W/src/" || fail "cp"
ssh-keygen -q -t ed25519 -N '' -f "$S/host" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -f "$S/user" || fail "ssh-keygen"
cp "$S/user.pub" "$S/authorized_keys" || fail "cp"
port=$("$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || fail "no free port"
cat >"$S/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $port
HostKey $S/host
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
EOC
cat >"$S/ssh_config" <<EOC
Host fusedev-test
	HostName 127.0.0.1
	Port $port
	User $(id -un)
	IdentityFile $S/user
	IdentitiesOnly yes
	UserKnownHostsFile /dev/null
	StrictHostKeyChecking no
	BatchMode yes
	LogLevel ERROR
EOC
bg_client sshd env -u LD_PRELOAD /usr/sbin/sshd -D -e -f "$S/sshd_config"
sshd_pid=$CLIENT_PID
sshd_up() {
	proc_gone "$sshd_pid" && fail "sshd exited: $(cat "$W/sshd.err")"
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}
wait_for 10 "sshd on 127.0.0.1:$port" sshd_up || fail "sshd did not start"

step mount
start_daemon "$IT_MODE" "$M" sshfs -f -o "ssh_command=ssh -F $S/ssh_config" \
	"fusedev-test:$W/src" "$M"
workload rw
dm_unmount fusermount3

step after
expect_ok 'cd src && find . -printf "%y %m %s %P %l\n" | sort'
kill -TERM "$sshd_pid"
wait_exit "$sshd_pid" 5 || log "sshd did not stop"

it_finish
