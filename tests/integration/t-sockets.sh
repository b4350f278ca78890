#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# AF_UNIX sockets bound in the mount by real programs, each in a process
# of its own (clients exec'd separately): python3's socketserver (a
# UnixStreamServer and a UnixDatagramServer, the server's address as it
# reports it), its socket module as the client (by a relative, an
# absolute and a ".." path, getpeername, a datagram client bound in the
# mount), socat listening and connecting; and what Linux does with the
# node: ls and stat show a socket, open is ENXIO, a taken name is
# EADDRINUSE, the node outlives its server (ECONNREFUSED), rm removes it.
#
#	t-sockets.sh [memfs_ll] [passthrough_ll]	(default: both)
. "$(dirname "$0")/lib.sh"
it_init

it_daemons "$@"
command -v socat >/dev/null || skip "socat is not installed"

# Inputs, outside every mount.
IN=$W/in
export IN
mkdir "$IN" || fail "mkdir in"
cat >"$IN/server.py" <<'EOF' || fail "server.py"
import socketserver, sys

# server.py stream|dgram PATH COUNT READY: serve COUNT requests on PATH
# (as given: relative to the cwd), then exit; READY is made once it
# listens.
kind, path, count, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4]


class Stream(socketserver.StreamRequestHandler):
    def handle(self):
        print('client', repr(self.client_address), flush=True)
        self.wfile.write(self.rfile.readline().upper())


class Dgram(socketserver.DatagramRequestHandler):
    def handle(self):
        print('client', repr(self.client_address), flush=True)
        self.wfile.write(self.rfile.read().upper())


cls = (socketserver.UnixStreamServer if kind == 'stream' else
       socketserver.UnixDatagramServer)
srv = cls(path, Stream if kind == 'stream' else Dgram)
print('serving', repr(srv.server_address), flush=True)
open(ready, 'w').close()
for i in range(count):
    srv.handle_request()
srv.server_close()
print('done', flush=True)
EOF
cat >"$IN/client.py" <<'EOF' || fail "client.py"
import os, socket, sys

# client.py stream PATH TEXT | client.py dgram PATH TEXT OWN_PATH
kind, path, text = sys.argv[1:4]
if kind == 'stream':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    print('peer', repr(s.getpeername()), 'self', repr(s.getsockname()))
    s.sendall(text.encode() + b'\n')
    print('reply', s.makefile('rb').readline().decode().strip())
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sys.argv[4])
    print('bound', repr(s.getsockname()))
    s.sendto(text.encode(), path)
    data, addr = s.recvfrom(100)
    print('reply', data.decode(), 'from', repr(addr))
    os.unlink(sys.argv[4])
EOF

# server KIND PATH COUNT: start server.py in the current test directory
# and wait (10 s) until it listens.
server() {
	local ready=$W/ready-$1

	rm -f "$ready"
	bg_client "server-$1" bash -c "cd \"$T_CWD\" && exec \"$PY\" \
		\"$IN/server.py\" $1 $2 $3 \"$ready\""
	SERVER_PID=$CLIENT_PID
	wait_for 10 "the $1 server" test -e "$ready" ||
		fail "the $1 server did not start"
}

# The server's exit and what it printed.
server_done() {
	wait_exit "$SERVER_PID" 20 || fail "the $1 server did not finish"
	norm <"$W/server-$1.out"
	norm <"$W/server-$1.err"
	say "server exit status $EXIT_STATUS"
}

scenario() {
	say "--- python3 socketserver, stream"
	server stream srv.sock 3
	expect_ok 'stat -c "%F %a %s %h" srv.sock'
	expect_ok 'ls -l --time-style=+ | squeeze | grep srv.sock'
	expect_ok 'test -S srv.sock && echo socket'
	expect_ok '"$PY" "$IN/client.py" stream srv.sock hello'
	expect_ok '"$PY" "$IN/client.py" stream "$PWD/srv.sock" absolute'
	expect_ok 'mkdir -p sub && cd sub && "$PY" "$IN/client.py" stream ../srv.sock dotdot'
	server_done stream
	expect_err ECONNREFUSED '"$PY" "$IN/client.py" stream srv.sock late'
	expect_err ENXIO 'cat srv.sock'
	expect_err EADDRINUSE '"$PY" -c "import socket; socket.socket(socket.AF_UNIX).bind(\"srv.sock\")"'
	expect_ok 'rm srv.sock && ls -A'
	expect_err ENOENT '"$PY" "$IN/client.py" stream srv.sock gone'

	say "--- python3 socketserver, datagram, from a subdirectory"
	T_CWD=$T_CWD/sub server dgram d.sock 2
	expect_ok '"$PY" "$IN/client.py" dgram sub/d.sock one "$PWD/c1.sock"'
	expect_ok 'cd sub && "$PY" "$IN/client.py" dgram d.sock two ../c2.sock'
	server_done dgram
	expect_ok 'ls -A . sub'
	expect_ok 'rm sub/d.sock && rmdir sub'

	say "--- socat"
	bg_client socat-server bash -c "cd \"$T_CWD\" && exec socat -t 5 \
		UNIX-LISTEN:socat.sock SYSTEM:'tr a-z A-Z'"
	SERVER_PID=$CLIENT_PID
	expect_ok 'echo hello socat | socat -t 5 - UNIX-CONNECT:socat.sock,retry=100,interval=0.1'
	wait_exit "$SERVER_PID" 20 || fail "socat did not finish"
	say "socat exit status $EXIT_STATUS"
	# socat removes its socket at the end (unlink-close)
	expect_ok 'ls -A'
}

# passthrough_ll of $W/src: the node is a socket node in the source too.
run_passthrough() {
	say "=== passthrough_ll"
	mkdir "$W/mnt-pt" "$W/src" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt-pt" "$EX/passthrough_ll" -f \
		-o source="$W/src" "$W/mnt-pt"
	in_dir "$W/mnt-pt"
	scenario
	expect_ok '"$PY" -c "import socket; socket.socket(socket.AF_UNIX).bind(\"kept.sock\")"'
	in_dir "$W"
	check_eq "the node in the source" socket \
		"$(stat -c %F "$W/src/kept.sock")"
	stop_daemon "$W/mnt-pt"
	check "clean unmount of passthrough_ll" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
	expect_ok 'ls -A mnt-pt'
}

for fs in "${IT_DAEMONS[@]}"; do
	case $fs in
	memfs_ll) run_memfs_scenario ;;
	passthrough_ll) run_passthrough ;;
	esac
done
it_finish
