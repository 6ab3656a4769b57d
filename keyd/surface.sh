#!/bin/sh
# keyd's surface: every file keyd links (the list comes from mk/keyd.am),
# counted without comments and blank lines, and with `wc -l' beside it.
# usage: surface.sh srcdir file...
srcdir=$1
shift
total=0
all=0
printf '%8s %8s  %s\n' code lines file
for f in "$@"; do
	p=$srcdir/$f
	# strip /* */ and // comments (not inside strings: keyd has none
	# that matter), then count the lines with something left
	n=$(awk '
	{
		line = $0; out = ""
		while (length(line) > 0) {
			if (inc) {
				i = index(line, "*/")
				if (i == 0) { line = ""; break }
				line = substr(line, i + 2); inc = 0; continue
			}
			i = index(line, "/*"); j = index(line, "//")
			if (j > 0 && (i == 0 || j < i)) {
				out = out substr(line, 1, j - 1); break
			}
			if (i == 0) { out = out line; break }
			out = out substr(line, 1, i - 1)
			line = substr(line, i + 2); inc = 1
		}
		if (out ~ /[^ \t]/) n++
	}
	END { print n + 0 }' "$p")
	w=$(wc -l < "$p")
	printf '%8d %8d  %s\n' "$n" "$w" "$f"
	total=$((total + n))
	all=$((all + w))
done
printf '%8d %8d  total (target: code under 2659)\n' "$total" "$all"
