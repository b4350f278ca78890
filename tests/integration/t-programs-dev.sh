#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Developer programs working in the mount, on memfs_ll and on
# passthrough_ll (mirroring a fresh directory), each checked by its
# result: git (init, add, commit, log, status, branches, checkout, clone,
# fsck, gc), python3 (os.walk, seek/truncate, mmap, shutil.copytree,
# tempfile), sqlite3 (10 000 rows in a transaction, more outside one,
# rollback, the rollback journal in DELETE and PERSIST modes), gcc
# compiling a C file of the mount into the mount and running the result,
# make (a build, nothing to do, a rebuild after touch).
#
#	t-programs-dev.sh [memfs_ll] [passthrough_ll]	(default: both)
. "$(dirname "$0")/lib.sh"
it_init

it_daemons "$@"
for p in git sqlite3 gcc make readelf; do
	command -v $p >/dev/null || skip "$p is not installed"
done

# git: no user or system configuration, fixed identity and dates (the
# commit hashes are then the same in every run).
mkdir "$W/home" || fail "mkdir home"
export HOME=$W/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.org
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.org
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
export GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export GIT_TERMINAL_PROMPT=0 GIT_PAGER=cat PAGER=cat

# Inputs, outside every mount.
IN=$W/in
export IN
mkdir -p "$IN/mk" || fail "mkdir in"

cat >"$IN/walk.py" <<'EOF' || fail "walk.py"
import filecmp, fcntl, hashlib, mmap, os, shutil, tempfile

def h(p):
    with open(p, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]

def tree(top):
    out = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        out.append((root, sorted(dirs), sorted(files)))
    return out

print('cwd', os.getcwd())
os.makedirs('py/a/b/c')
os.mkdir('py/d')
for i in range(5):
    with open('py/a/f%d' % i, 'w') as f:
        f.write('x' * (i * 1000))
os.symlink('a/f1', 'py/link')
os.link('py/a/f2', 'py/d/hard')
for row in tree('py'):
    print(*row)
print('bottom-up', [r for r, _, _ in os.walk('py', topdown=False)][:3])
with os.scandir('py') as it:
    for e in sorted(it, key=lambda e: e.name):
        print(e.name, e.is_dir(), e.is_file(), e.is_symlink(),
              e.stat(follow_symlinks=False).st_nlink)
print('nlink f2', os.stat('py/a/f2').st_nlink,
      os.path.samefile('py/a/f2', 'py/d/hard'))

# open / seek / read / write / truncate
with open('py/data', 'w+b') as f:
    f.write(bytes(range(256)) * 40)
    f.seek(100)
    print(f.read(4), f.tell())
    f.seek(-6, os.SEEK_END)
    print(f.read(), f.tell())
    f.truncate(5000)
    print('truncated', f.tell(), os.fstat(f.fileno()).st_size)
    f.seek(8000)
    f.write(b'end')
    f.flush()
    print('size', os.fstat(f.fileno()).st_size)
    f.seek(4998)
    print(f.read(6))
    print(f.seek(0, os.SEEK_END))
with open('py/data', 'r+b') as f:
    f.seek(10)
    f.write(b'MID')
    f.seek(0)
    print(f.read(16))
print('data', os.path.getsize('py/data'), h('py/data'))
os.truncate('py/data', 3)
with open('py/data', 'rb') as f:
    print(f.read())
with open('py/text', 'w') as f:
    f.write('alpha\nbeta\ngamma\n')
with open('py/text') as f:
    f.readline()
    pos = f.tell()
    print(f.readline().strip(), pos)
    f.seek(pos)
    print(f.readline().strip())
with open('py/text', 'a') as f:
    f.write('delta\n')
with open('py/text') as f:
    print(f.read().split())
fd = os.open('py/raw', os.O_RDWR | os.O_CREAT, 0o640)
os.pwrite(fd, b'hello', 100)
print(os.pread(fd, 5, 100), os.lseek(fd, 0, os.SEEK_END),
      os.lseek(fd, 0, os.SEEK_CUR))
os.ftruncate(fd, 50)
print('raw', os.fstat(fd).st_size, oct(os.fstat(fd).st_mode & 0o777))
fcntl.flock(fd, fcntl.LOCK_EX)
fcntl.flock(fd, fcntl.LOCK_UN)
os.close(fd)
with open('py/mapped', 'wb') as f:
    f.write(b'abc' * 5000)
with open('py/mapped', 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    print('mmap', m[:6], len(m), m.find(b'cab'), m[-3:])
    m.close()

# shutil
os.utime('py/a/f3', ns=(1_000_000_000, 1_500_000_000_123_456_789))
shutil.copy2('py/a/f3', 'py/f3copy')
print('copy2 mtime', os.stat('py/f3copy').st_mtime_ns)
shutil.copytree('py', 'py-copy', symlinks=True)
print('copytree same tree', tree('py')[1:] == [
    (r.replace('py-copy', 'py', 1), d, f) for r, d, f in tree('py-copy')][1:])
def cmp(dc, pre=''):
    print('dircmp', pre or '.', sorted(dc.left_only), sorted(dc.right_only),
          sorted(dc.diff_files), sorted(dc.same_files))
    for name, sub in sorted(dc.subdirs.items()):
        cmp(sub, pre + '/' + name)
cmp(filecmp.dircmp('py', 'py-copy'))
print('link copied as', os.readlink('py-copy/link'),
      'mtime kept', os.stat('py-copy/a/f3').st_mtime_ns)
print('hard link in copy', os.stat('py-copy/d/hard').st_nlink)
shutil.move('py-copy/a', 'py-copy/d/a-moved')
print(*tree('py-copy'), sep='\n')
shutil.rmtree('py-copy')
print('rmtree', os.path.exists('py-copy'))

# tempfile
with tempfile.TemporaryDirectory(dir='.') as td:
    with open(os.path.join(td, 'x'), 'w') as f:
        f.write('t')
    print('tmpdir', os.listdir(td), os.path.getsize(os.path.join(td, 'x')))
print('tmpdir gone', os.path.exists(td))
with tempfile.NamedTemporaryFile(dir='py') as nt:
    nt.write(b'temp')
    nt.flush()
    nt.seek(0)
    print('named', nt.read(), os.path.exists(nt.name))
print('named gone', os.path.exists(nt.name))
fd, path = tempfile.mkstemp(dir='py', suffix='.tmp')
os.write(fd, b'q')
os.close(fd)
print('mkstemp', os.path.getsize(path), oct(os.stat(path).st_mode & 0o777))
os.unlink(path)
with tempfile.TemporaryFile(dir='py') as tf:
    tf.write(b'anonymous')
    tf.seek(0)
    print('tempfile', tf.read())
print('left in py', sorted(os.listdir('py')))
print('root', sorted(os.listdir('.')))
EOF

# sqlite3: 10 000 rows in one transaction, 50 more outside any.
{
	echo 'BEGIN;'
	for i in $(seq 10000); do
		echo "INSERT INTO t(v, s) VALUES ($i, 'row $i');"
	done
	echo 'COMMIT;'
} >"$IN/bulk.sql" || fail "bulk.sql"
for i in $(seq 50); do
	echo "INSERT INTO t(v, s) VALUES ($((i * 1000)), 'single');"
done >"$IN/more.sql" || fail "more.sql"

cat >"$IN/hello.c" <<'EOF' || fail "hello.c"
#include <stdio.h>

/* Sums the numbers of the file named by argv[1], one a line. */
int main(int argc, char **argv)
{
	FILE *f;
	long n, sum = 0;
	int lines = 0;

	if (argc < 2 || !(f = fopen(argv[1], "r"))) {
		perror("hello");
		return 2;
	}
	while (fscanf(f, "%ld", &n) == 1) {
		sum += n;
		lines++;
	}
	fclose(f);
	printf("hello: %d numbers, sum %ld\n", lines, sum);
	return 0;
}
EOF
seq 1000 >"$IN/numbers.txt" || fail "numbers.txt"

cat >"$IN/mk/Makefile" <<'EOF' || fail "Makefile"
prog: main.o util.o
	$(CC) -o $@ main.o util.o
%.o: %.c util.h
	$(CC) -c -o $@ $<
clean:
	rm -f prog *.o
.PHONY: clean
EOF
# Without the compiler: make's own work (times, recipes run by a shell).
mkdir "$IN/gen" || fail "mkdir gen"
cat >"$IN/gen/Makefile" <<'EOF' || fail "gen/Makefile"
upper.txt: both.txt
	tr a-z A-Z < both.txt > $@
both.txt: a.txt b.txt
	cat a.txt b.txt > $@
EOF
echo alpha >"$IN/gen/a.txt" && echo beta >"$IN/gen/b.txt" || fail "gen"
cat >"$IN/mk/util.h" <<'EOF' || fail "util.h"
int twice(int x);
EOF
cat >"$IN/mk/util.c" <<'EOF' || fail "util.c"
#include "util.h"
int twice(int x)
{
	return 2 * x;
}
EOF
cat >"$IN/mk/main.c" <<'EOF' || fail "main.c"
#include <stdio.h>
#include "util.h"
int main(void)
{
	printf("twice 21 = %d\n", twice(21));
	return 0;
}
EOF

scenario() {
	# git
	expect_ok 'git -c init.defaultBranch=main init -q repo && cd repo && mkdir src && printf "# repo\n" > README && printf "int a;\n" > src/a.c && printf "int old;\n" > src/old.c && printf "#!/bin/sh\necho ran\n" > run.sh && chmod +x run.sh && ln -s README link && git add -A && git commit -q -m "first commit" && git log --format="%H %an %s"'
	expect_ok 'git -C repo ls-files -s'
	expect_ok 'git -C repo status --porcelain --branch'
	expect_ok 'cd repo && git checkout -q -b topic && echo more >> README && git rm -q src/old.c && echo "int b;" > src/b.c && chmod -x run.sh && git add -A && git status --porcelain --branch && git commit -q -m "topic: change files" && git log --format="%H %s"'
	expect_ok 'cd repo && git checkout -q main && cat README && ls src && stat -c "%a %n" run.sh && git status --porcelain --branch'
	expect_ok 'git -C repo diff --stat main topic'
	expect_ok 'git -C repo diff main topic -- README'
	expect_ok 'cd repo && echo dirty >> src/a.c && git status --porcelain && git diff --stat && git checkout -q -- src/a.c && git status --porcelain && cat src/a.c'
	expect_ok 'cd repo && git checkout -q topic && cat README && ls src && stat -c "%a %n" run.sh && git status --porcelain --branch'
	expect_ok 'cd repo && git checkout -q main && git merge -q --ff-only topic && git log --format="%h %s" && git branch --list'
	expect_ok 'git clone -q repo clone && git -C clone log --format="%H %s" && git -C clone status --porcelain --branch && cat clone/README'
	expect_ok 'git -C repo fsck --no-progress --strict && echo fsck ok'
	expect_ok 'git -C repo gc -q && git -C repo count-objects -v | grep -E "^(count|in-pack|packs|garbage):" && git -C repo log --format=%s'
	expect_ok 'git -C repo grep -n int -- src'

	# python3
	expect_ok '"$PY" "$IN/walk.py"'

	# sqlite3, the default rollback journal.
	expect_ok 'sqlite3 db1 "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, s TEXT); PRAGMA journal_mode;"'
	expect_ok 'sqlite3 db1 < "$IN/bulk.sql" && sqlite3 db1 < "$IN/more.sql" && sqlite3 db1 "SELECT count(*), sum(v) FROM t; SELECT s FROM t WHERE id = 5000;"'
	expect_ok 'sqlite3 db1 "BEGIN; DELETE FROM t; SELECT count(*) FROM t; ROLLBACK; SELECT count(*), sum(v) FROM t;"'
	expect_ok 'sqlite3 db1 "BEGIN; UPDATE t SET v = v + 1 WHERE s = '"'single'"'; COMMIT; SELECT count(*), sum(v) FROM t; PRAGMA integrity_check;" && ls db1*'
	expect_ok 'sha256sum db1'
	expect_ok 'sqlite3 db1 .dump | sqlite3 db3 && sqlite3 db3 "SELECT count(*), sum(v), max(id) FROM t;"'
	# Explicitly DELETE, then PERSIST (the journal stays, zeroed).
	expect_ok 'sqlite3 db2 "PRAGMA journal_mode=DELETE; CREATE TABLE k(x); BEGIN; INSERT INTO k VALUES (1), (2), (3); COMMIT; INSERT INTO k SELECT x + 3 FROM k; SELECT count(*), sum(x) FROM k;" && ls db2*'
	expect_ok 'sqlite3 db2 "PRAGMA journal_mode=PERSIST; INSERT INTO k SELECT x + 6 FROM k; SELECT count(*), sum(x) FROM k; PRAGMA integrity_check;" && ls db2*'
	expect_ok 'sqlite3 db2 "PRAGMA journal_mode=DELETE; DELETE FROM k WHERE x > 6; SELECT count(*), sum(x) FROM k;" && ls db2*'

	# gcc: the source in the mount, the output into it.
	# Each half of the job apart first: the source read from the mount,
	# then a binary made outside run from the mount.
	expect_ok 'mkdir cc && cp "$IN/hello.c" "$IN/numbers.txt" cc/ && gcc -O2 -Wall -o "$W/hello.out" cc/hello.c && "$W/hello.out" cc/numbers.txt'
	expect_ok 'cp "$W/hello.out" cc/hello-copied && rm "$W/hello.out" && stat -c "%a %n" cc/hello-copied && cc/hello-copied cc/numbers.txt'
	expect_ok 'gcc -O2 -Wall -o cc/hello cc/hello.c && stat -c "%a %n" cc/hello'
	expect_ok 'gcc -c -o cc/hello.o cc/hello.c && readelf -h cc/hello.o | grep -E "Class|Type|Machine" | squeeze && gcc -o cc/hello2 cc/hello.o && readelf -h cc/hello2 | grep -E "Type:" | squeeze'
	expect_ok 'cp cc/hello2 "$W/hello.copy" && "$W/hello.copy" cc/numbers.txt && rm "$W/hello.copy"'
	expect_ok 'cc/hello cc/numbers.txt'
	expect_ok 'cd cc && ./hello2 numbers.txt'

	# make: first without the compiler, then building a program.
	expect_ok 'cp -r "$IN/gen" gen && touch -d @1000000000 gen/* && cd gen && make && cat upper.txt && make'
	expect_ok 'cd gen && touch -d @1100000000 both.txt upper.txt && echo gamma > b.txt && touch -d @1200000000 b.txt && make && cat upper.txt && make -q; echo "make -q: $?"'
	expect_ok 'cd gen && echo delta >> a.txt && make && cat upper.txt && make'
	expect_ok 'cp -r "$IN/mk" mk && touch -d @1000000000 mk/* && cd mk && make && ls'
	expect_ok 'cd mk && cp prog "$W/prog.copy" && "$W/prog.copy" && rm "$W/prog.copy"'
	expect_ok 'cd mk && ./prog'
	expect_ok 'cd mk && make && make -q; echo "make -q: $?"'
	expect_ok 'cd mk && touch -d @1100000000 main.o util.o prog && touch -d @1200000000 util.c && make && make'
	expect_ok 'cd mk && touch util.h && make && make -q; echo "make -q: $?"'
	expect_ok 'cd mk && make clean && ls'

	expect_ok 'rm -rf repo clone py cc mk gen db1 db2 db2-journal db3 && ls -A'
}

# passthrough_ll of $W/src: the scenario, then a repository and a
# database left for the source to show.
run_passthrough() {
	say "=== passthrough_ll"
	mkdir "$W/mnt-pt" "$W/src" || fail "mkdir"
	start_daemon "$IT_MODE" "$W/mnt-pt" "$EX/passthrough_ll" -f \
		-o source="$W/src" "$W/mnt-pt"
	in_dir "$W/mnt-pt"
	scenario
	expect_ok 'git -c init.defaultBranch=main init -q kept && cd kept && echo kept > f && git add f && git commit -q -m kept'
	expect_ok 'sqlite3 kept.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, s TEXT);" && sqlite3 kept.db < "$IN/bulk.sql"'
	in_dir "$W"
	check_eq "git log in the source" kept \
		"$(git -C "$W/src/kept" log --format=%s)"
	check_eq "git status in the source" "" \
		"$(git -C "$W/src/kept" status --porcelain)"
	check_eq "sqlite3 in the source" "10000|50005000" \
		"$(sqlite3 "$W/src/kept.db" 'SELECT count(*), sum(v) FROM t;')"
	stop_daemon "$W/mnt-pt"
	check "clean unmount of passthrough_ll" test $? = 0
	say "unmounted, daemon exit status $STOP_STATUS"
}

for fs in "${IT_DAEMONS[@]}"; do
	case $fs in
	memfs_ll) run_memfs_scenario ;;
	passthrough_ll) run_passthrough ;;
	esac
done
it_finish
