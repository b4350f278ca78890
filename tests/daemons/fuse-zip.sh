#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuse-zip (libfuse 2) of a zip archive of the seed (symlink included),
# writable: the archive is rewritten at the unmount, and its new contents
# are shown.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/workload.sh"
it_init
dm_require fuse-zip fuse-zip
dm_data

M=$W/mnt
mkdir "$M" || fail "mkdir"
"$PY" - "$W" <<'PYEOF' || fail "making seed.zip"
import os, stat, sys, zipfile
w = sys.argv[1]
with zipfile.ZipFile(w + "/seed.zip", "w") as z:
    for d, dirs, files in sorted(os.walk(w + "/seed")):
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            st = os.lstat(p)
            name = os.path.relpath(p, w)
            zi = zipfile.ZipInfo(name + ("/" if stat.S_ISDIR(st.st_mode) else ""),
                                 (2023, 11, 14, 22, 13, 20))
            zi.external_attr = st.st_mode << 16
            if stat.S_ISLNK(st.st_mode):
                z.writestr(zi, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                z.writestr(zi, b"")
            else:
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, open(p, "rb").read())
PYEOF

step mount
start_daemon "$IT_MODE" "$M" fuse-zip -f "$W/seed.zip" "$M"
workload rw
dm_unmount fusermount

step after
expect_ok '"$PY" -c "
import zipfile
for i in zipfile.ZipFile(\"seed.zip\").infolist():
    print(oct(i.external_attr >> 16), i.file_size, i.filename)
" | sort -k3'

it_finish
