#!/bin/sh
#
# A private PostgreSQL cluster for tests and the demo.  Never touches a
# system cluster: everything lives under DIR.
#
#	pg.sh start DIR [PORT]	create (once) and start the cluster, create
#				database relayd, print shell assignments:
#				PGHOST PGPORT PGDATA PGUSER PGDATABASE PG_PID
#				PG_BINDIR (also kept in DIR/env)
#	pg.sh stop DIR		stop it by PID (fast, then immediate, then
#				SIGKILL), waiting with a deadline
#	pg.sh kill DIR		crash-stop it (pg_ctl stop -m immediate)
#	pg.sh env DIR		print the assignments again
#
# The server listens on a unix socket in DIR/run only; with PORT it also
# listens on 127.0.0.1:PORT.  Authentication is trust.  initdb refuses to
# run as root, so as root the cluster belongs to PG_OWNER (default
# postgres, which the Debian postgresql package creates): DIR stays root's,
# DIR/data, DIR/run (the socket) and DIR/log are that user's.  The server
# binaries are found in PG_BINDIR, else the newest
# /usr/lib/postgresql/*/bin, else PATH.  Missing binaries are an error,
# never a silent skip.
#
set -eu

DEADLINE=${PG_DEADLINE:-60}	# seconds, for start and stop

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pg.sh start DIR [PORT] | stop DIR | kill DIR | env DIR" >&2
	exit 2
}

find_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		[ -x "$PG_BINDIR/initdb" ] ||
		    die "PG_BINDIR=$PG_BINDIR has no initdb"
		echo "$PG_BINDIR"
		return
	fi
	best=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		v=$(basename "$(dirname "$d")")
		case $v in *[!0-9]*) continue;; esac
		if [ -z "$best" ] || [ "$v" -gt "$bestv" ]; then
			best=$d
			bestv=$v
		fi
	done
	if [ -n "$best" ]; then
		echo "$best"
		return
	fi
	if p=$(command -v initdb 2>/dev/null); then
		dirname "$p"
		return
	fi
	die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not" \
	    "found: install the postgresql package or set PG_BINDIR"
}

# Runs a command as the cluster owner (from DIR, which it can enter).
as_owner() {
	if [ "$(id -u)" -ne 0 ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		(cd "$DIR" && runuser -u "$OWNER" -- "$@")
	else
		q=
		for a in "$@"; do
			q="$q '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
		done
		(cd "$DIR" && su -s /bin/sh "$OWNER" -c "$q")
	fi
}

setup() {
	[ $# -ge 1 ] || usage
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd)
	PGDATA_DIR=$DIR/data
	RUNDIR=$DIR/run
	LOGDIR=$DIR/log
	LOG=$LOGDIR/postgresql.log
	if [ "$(id -u)" -eq 0 ]; then
		OWNER=${PG_OWNER:-postgres}
		id "$OWNER" >/dev/null 2>&1 ||
		    die "running as root needs user $OWNER to own the" \
		    "cluster (install postgresql or set PG_OWNER)"
	else
		OWNER=$(id -un)
	fi
}

# PID of the postmaster if it runs, else nothing.
running_pid() {
	[ -f "$PGDATA_DIR/postmaster.pid" ] || return 0
	pid=$(sed -n 1p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
	case $pid in ''|*[!0-9]*) return 0;; esac
	if kill -0 "$pid" 2>/dev/null; then
		echo "$pid"
	fi
}

# Waits until process $1 is gone or $2 seconds pass; 0 if gone.
wait_gone() {
	end=$(($(date +%s) + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

print_env() {
	cat "$DIR/env"
}

cmd_start() {
	setup "$@"
	PORT=${2:-}
	BINDIR=$(find_bindir)
	# Without PORT a restart keeps what the last start used.
	if [ -z "$PORT" ] && [ -f "$DIR/tcpport" ]; then
		PORT=$(cat "$DIR/tcpport")
	fi
	case $PORT in *[!0-9]*) die "bad port $PORT";; esac
	sockport=${PORT:-5432}
	sock=$RUNDIR/.s.PGSQL.$sockport
	[ ${#sock} -lt 100 ] ||
	    die "socket path $sock is too long for a unix socket"
	# DIR stays the caller's (as root: a directory ledgerd may chroot
	# into); the cluster's own directories belong to its owner.
	chmod 0755 "$DIR"
	mkdir -p "$PGDATA_DIR" "$RUNDIR" "$LOGDIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$OWNER" "$PGDATA_DIR" "$RUNDIR" "$LOGDIR"
	fi
	chmod 0700 "$PGDATA_DIR"
	chmod 0755 "$RUNDIR" "$LOGDIR"
	as_owner test -w "$PGDATA_DIR" ||
	    die "$DIR is out of reach for $OWNER (is a parent directory" \
	    "closed to it?)"

	if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
		as_owner "$BINDIR/initdb" -D "$PGDATA_DIR" -A trust \
		    -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 ||
		    { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
		as_owner sh -c 'cat >>"$0"' "$PGDATA_DIR/postgresql.conf" <<EOF
# regress/pg.sh: private test cluster
include = 'pg_sh_listen.conf'
unix_socket_directories = '$RUNDIR'
unix_socket_permissions = 0777
fsync = off
full_page_writes = off
max_connections = 40
shared_buffers = 16MB
logging_collector = off
log_min_messages = warning
EOF
	fi

	if [ -n "$PORT" ]; then
		listen="127.0.0.1"
		echo "$PORT" >"$DIR/tcpport"
	else
		listen=""
	fi
	if [ -n "$(running_pid)" ]; then
		echo "pg.sh: cluster in $DIR already running" >&2
	else
		as_owner sh -c 'cat >"$0"' "$PGDATA_DIR/pg_sh_listen.conf" <<EOF
listen_addresses = '$listen'
port = $sockport
EOF
		as_owner "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG" -W \
		    start >/dev/null ||
		    { tail -n 20 "$LOG" >&2 2>/dev/null
		      die "pg_ctl start failed"; }
	fi

	# Poll until the server accepts connections, with a deadline.
	end=$(($(date +%s) + DEADLINE))
	until "$BINDIR/pg_isready" -q -h "$RUNDIR" -p "$sockport" \
	    -d postgres -U "$OWNER"; do
		if [ "$(date +%s)" -ge "$end" ]; then
			tail -n 20 "$LOG" >&2 2>/dev/null || true
			die "server in $DIR not ready after $DEADLINE s"
		fi
		sleep 0.05
	done
	pid=$(running_pid)
	[ -n "$pid" ] || die "server in $DIR has no live postmaster.pid"

	exists=$(as_owner "$BINDIR/psql" -h "$RUNDIR" -p "$sockport" \
	    -U "$OWNER" -d postgres -XtAq \
	    -c "SELECT 1 FROM pg_database WHERE datname = 'relayd'")
	if [ "$exists" != 1 ]; then
		as_owner "$BINDIR/createdb" -h "$RUNDIR" -p "$sockport" \
		    -U "$OWNER" relayd || die "createdb relayd failed"
	fi

	cat >"$DIR/env" <<EOF
PGHOST='$RUNDIR'
PGPORT='$sockport'
PGDATA='$PGDATA_DIR'
PGUSER='$OWNER'
PGDATABASE='relayd'
PG_PID='$pid'
PG_BINDIR='$BINDIR'
EOF
	if [ -n "$PORT" ]; then
		echo "PG_TCP='127.0.0.1:$PORT'" >>"$DIR/env"
	fi
	print_env
}

cmd_stop() {
	setup "$@"
	pid=$(running_pid)
	if [ -z "$pid" ]; then
		echo "pg.sh: no server running in $DIR" >&2
		return 0
	fi
	kill -INT "$pid" 2>/dev/null || true	# fast shutdown
	wait_gone "$pid" "$DEADLINE" && return 0
	echo "pg.sh: $pid ignored fast shutdown, stopping immediately" >&2
	kill -QUIT "$pid" 2>/dev/null || true
	wait_gone "$pid" 10 && return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" 10 || die "postmaster $pid does not die"
}

cmd_kill() {
	setup "$@"
	pid=$(running_pid)
	[ -n "$pid" ] || die "no server running in $DIR"
	BINDIR=$(find_bindir)
	as_owner "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -m immediate -W stop \
	    >/dev/null || die "pg_ctl stop -m immediate failed"
	wait_gone "$pid" "$DEADLINE" || die "postmaster $pid still alive"
}

cmd_env() {
	setup "$@"
	[ -f "$DIR/env" ] || die "no cluster started in $DIR"
	print_env
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start)	cmd_start "$@" ;;
stop)	cmd_stop "$@" ;;
kill)	cmd_kill "$@" ;;
env)	cmd_env "$@" ;;
*)	usage ;;
esac
