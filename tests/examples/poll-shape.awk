# SPDX-License-Identifier: GPL-2.0-or-later
#
# What must hold in libfuse's poll_client output whatever the timing
# (t-poll.sh): a line per select() round, a field per file, "X:NN" for a
# ready file X of which NN bytes were read, "_:" for one not ready.
{
	lines++
	if (NF != 16)
		badwidth++
	ready = 0
	for (i = 1; i <= NF; i++) {
		if ($i == "_:")
			continue
		ready++
		split($i, f, ":")
		if (f[2] + 0 == 0)
			empty++
		else
			bytes += f[2]
	}
	if (!ready)
		idle++
}
END {
	printf "rounds: %d\n", lines
	printf "rounds without 16 files: %d\n", badwidth
	printf "rounds without a ready file: %d\n", idle
	printf "ready files read empty: %d\n", empty
	printf "bytes read: %s\n", (bytes >= lines ? "at least one a round" : \
				    bytes)
}
