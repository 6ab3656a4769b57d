#!/bin/sh
#
# relayd.conf(5) golden tests, in the manner of OpenBSD's bgpd config
# regress.
#
# usage: run.sh [-c] [-s sysconfdir] binary
#
# binary understands relayd's -n, -v, -f file and -D macro=value: relayd
# itself or regress/config/conftest.  -c says it is conftest, which also
# knows -N (no file checks) and -R (parse twice in one process).
# sysconfdir is what the binary was built with (the default key file is
# under it); @SYSCONFDIR@ in the .ok files stands for it.
#
# For every NNN-name.conf here:
#	binary -n -v [args] -f NNN-name.conf	must exit 0 and print
#						NNN-name.ok exactly,
#	and that output, parsed again, must print the same (round trip).
# For every bad/NNN-name.conf:
#	binary -n [args] -f bad/NNN-name.conf	must exit 1 and report
#						bad/NNN-name.err exactly
#	(the lines that start with a path; a process-name prefix such as
#	"relayd: " is removed first).
# A line "# args: ..." in a .conf gives extra arguments (-D).
# With -c, etc/relayd.conf must parse (file checks off) and round-trip.
#
# The tests run from a private copy of this directory, so that the file
# names in messages are relative and stable, and so that the files the
# tests refer to (files/) can be created with exact modes.

set -u

usage() {
	echo "usage: $0 [-c] [-s sysconfdir] binary" >&2
	exit 2
}

conftest=0
sysconfdir=/usr/local/etc
while getopts cs: opt; do
	case $opt in
	c)	conftest=1 ;;
	s)	sysconfdir=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage

case $1 in
/*)	bin=$1 ;;
*)	bin=$(pwd)/$1 ;;
esac
[ -x "$bin" ] || { echo "$0: $bin: not executable" >&2; exit 2; }

src=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$src/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/relayd-config.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

cp "$src"/[0-9][0-9][0-9]-*.conf "$src"/[0-9][0-9][0-9]-*.ok "$work"/
cp -R "$src/inc" "$src/bad" "$work"/
cd "$work" || exit 2
# config files must not be group or world writable, whatever the umask
chmod -R go-w .
umask 022
mkdir files
echo "passphrase for the regress tests" > files/pass.ok
chmod 600 files/pass.ok
echo "passphrase for the regress tests" > files/pass.loose
chmod 644 files/pass.loose
: > files/tls.crt
: > files/tls.key
chmod 600 files/tls.key
mkdir files/dir

pass=0
fail=0

ok() {
	pass=$((pass + 1))
	echo "ok $1"
}

notok() {
	fail=$((fail + 1))
	echo "FAIL $1"
}

args_of() {
	sed -n 's/^# args: //p' "$1"
}

# keep the lines that start with a path, without a process-name prefix
errlines() {
	sed -E 's/^[A-Za-z0-9_.-]+: //' "$1" | grep -E '^[^ :]*/[^ :]*:' || true
}

for conf in [0-9][0-9][0-9]-*.conf; do
	name=${conf%.conf}
	sed "s|@SYSCONFDIR@|$sysconfdir|g" "$name.ok" > "$name.expect"
	# shellcheck disable=SC2046
	"$bin" -n -v $(args_of "$conf") -f "$conf" > "$name.out" \
	    2> "$name.stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		notok "$name: exit $rc"
		cat "$name.stderr"
		continue
	fi
	if ! diff -u "$name.expect" "$name.out"; then
		notok "$name: output differs"
		continue
	fi
	ok "$name"

	cp "$name.out" "$name.rt.conf"
	"$bin" -n -v -f "$name.rt.conf" > "$name.rt.out" 2> "$name.stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		notok "$name round trip: exit $rc"
		cat "$name.stderr"
	elif ! diff -u "$name.out" "$name.rt.out"; then
		notok "$name round trip: output differs"
	else
		ok "$name round trip"
	fi

	if [ $conftest -eq 1 ]; then
		# shellcheck disable=SC2046
		if "$bin" -n -R $(args_of "$conf") -f "$conf" 2> "$name.stderr"
		then
			ok "$name parsed twice"
		else
			notok "$name parsed twice"
			cat "$name.stderr"
		fi
	fi
done

for conf in bad/[0-9][0-9][0-9]-*.conf; do
	name=${conf%.conf}
	# shellcheck disable=SC2046
	"$bin" -n $(args_of "$conf") -f "$conf" > "$name.out" 2> "$name.stderr"
	rc=$?
	errlines "$name.stderr" > "$name.got"
	if [ $rc -ne 1 ]; then
		notok "$name: exit $rc, expected 1"
		cat "$name.stderr"
	elif ! diff -u "$name.err" "$name.got"; then
		notok "$name: errors differ"
	else
		ok "$name"
	fi
done

if [ $conftest -eq 1 ]; then
	example=$top/etc/relayd.conf
	if "$bin" -n -N -v -f "$example" > example.out 2> example.stderr; then
		ok "etc/relayd.conf"
	else
		notok "etc/relayd.conf"
		cat example.stderr
	fi
	if "$bin" -n -N -v -f example.out > example.rt.out 2> example.stderr &&
	    diff -u example.out example.rt.out; then
		ok "etc/relayd.conf round trip"
	else
		notok "etc/relayd.conf round trip"
		cat example.stderr
	fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
