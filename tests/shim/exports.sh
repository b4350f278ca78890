#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# exports.sh LIBMOUNTSHIM_SO LIBMOUNTSHIM_MAP
#
# The preload must export exactly the wrapped names listed as global in
# the version script: a stray export would interpose on the program, a
# missing one would leave a call unwrapped.  Exit 0 pass, 1 fail, 77 skip.
lib=$1
map=$2
if [ ! -r "$lib" ] || [ ! -r "$map" ]; then
	echo "usage: $0 LIB MAP"
	exit 1
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "SKIP: nm not installed"
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' |
	sort -u > "$tmp/have"
# global: ... local: of the version script, one name per line
sed -n '/^global:/,/^local:/p' "$map" | sed '1d;$d' |
	sed 's/[[:space:];]//g' | grep -v '^$' | sort -u > "$tmp/want"

if [ ! -s "$tmp/want" ]; then
	echo "FAIL: no global names in $map"
	exit 1
fi
if ! diff -u "$tmp/want" "$tmp/have" > "$tmp/diff"; then
	echo "FAIL: exports differ from $map (- missing, + unexpected):"
	grep '^[-+][^-+]' "$tmp/diff"
	exit 1
fi
echo "exports: $(wc -l < "$tmp/have") names, as listed"
exit 0
