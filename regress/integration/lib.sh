# Helpers for relayd's integration tests (sourced by bash scripts).
#
# Every process a test starts is recorded and stopped by PID at the end;
# waits poll with a deadline and never sleep blindly.  Network traffic
# stays on 127.0.0.1 / ::1.

: "${BUILD:?BUILD must name the build directory}"
: "${SRC:?SRC must name the source directory}"

# the endpoint policy line every federation block of a test needs
FED_LOOPBACK="endpoint allow loopback"
PASS=0
FAIL=0
PIDS=""
T=$(mktemp -d /tmp/relayd-test.XXXXXX)
chmod 755 "$T"
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}

notok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: pass when COMMAND succeeds
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		ok "$desc"
	else
		notok "$desc"
		sed 's/^/#   /' "$T/check.out" | head -20
	fi
}

# wait_for SECONDS COMMAND...: poll every 50ms until COMMAND succeeds
wait_for() {
	local limit=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		now=$(date +%s%N)
		if [ $(((now - start) / 1000000)) -ge $((limit * 1000)) ]; then
			return 1
		fi
		sleep 0.05
	done
}

pid_alive() {
	kill -0 "$1" 2>/dev/null
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

track_pid() {
	PIDS="$PIDS $1"
}

# A TCP port on 127.0.0.1 nobody listens on, below the ephemeral range
# (so that no client connection of the test takes it before a relay binds
# it).
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 12000 ] 2>/dev/null || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

cleanup() {
	local p
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait_for 10 pid_gone "$p" || kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "${PGDIR:-}" ]; then
		"$SRC/regress/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# Users the daemon drops to when started as root.
ensure_users() {
	[ "$AS_ROOT" = 1 ] || return 0
	local u
	for u in _relayd _relayd-key; do
		if ! getent passwd "$u" >/dev/null; then
			useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$u"
		fi
	done
}

# start_pg: a private PostgreSQL cluster for this test run.
start_pg() {
	PGDIR="$T/pg"
	mkdir -p "$PGDIR"
	eval "$("$SRC/regress/pg.sh" start "$PGDIR")"
	: "${PGHOST:?pg.sh did not set PGHOST}"
	export PGHOST PGPORT
	if [ "$AS_ROOT" = 1 ]; then
		pg_psql -c 'CREATE ROLE "_relayd" LOGIN' >/dev/null
		pg_psql -c 'ALTER DATABASE relayd OWNER TO "_relayd"' \
		    >/dev/null
		pg_psql -d relayd -c 'ALTER SCHEMA public OWNER TO "_relayd"' \
		    >/dev/null
	fi
}

# create_db NAME: another database in the cluster, for one more relay
# (write_conf uses $RELAY_DB, default relayd)
create_db() {
	pg_psql -c "CREATE DATABASE \"$1\"" >/dev/null
	if [ "$AS_ROOT" = 1 ]; then
		pg_psql -c "ALTER DATABASE \"$1\" OWNER TO \"_relayd\"" \
		    >/dev/null
		pg_psql -d "$1" -c 'ALTER SCHEMA public OWNER TO "_relayd"' \
		    >/dev/null
	fi
}

pg_psql() {
	if [ "$AS_ROOT" = 1 ]; then
		runuser -u postgres -- psql -X -q -h "$PGHOST" -p "$PGPORT" \
		    -d postgres "$@"
	else
		psql -X -q -h "$PGHOST" -p "$PGPORT" -d postgres "$@"
	fi
}

# write_conf NAME PORT [extra lines]: a relayd.conf for relay NAME.  The
# relays of a test talk to each other on 127.0.0.1, which the endpoint
# policy refuses by default: a federation block in the extra lines needs
# FED_LOOPBACK ("endpoint allow loopback").
write_conf() {
	local name=$1 port=$2 dir="$T/$1"
	shift 2
	mkdir -p "$dir/empty"
	chmod 755 "$dir" "$dir/empty"
	cat >"$dir/relayd.conf" <<EOF
name "$name"
endpoint "http://127.0.0.1:$port"
listen on 127.0.0.1 port $port
prefork 2
chroot "$dir/empty"
key "$dir/relay.key"
audit log "$dir/sign.log"
database "host=$PGHOST port=$PGPORT dbname=${RELAY_DB:-relayd}"
control socket "$dir/relayd.sock"
body limit 64K
$*
EOF
}

# start_relay NAME: start relayd with $T/NAME/relayd.conf; sets RELAY_PID
start_relay() {
	local name=$1 dir="$T/$1"
	"$BUILD/relayd/relayd" -d -v -x "$BUILD" -f "$dir/relayd.conf" \
	    >>"$dir/log" 2>&1 &
	RELAY_PID=$!
	track_pid "$RELAY_PID"
	echo "$RELAY_PID" >"$dir/pid"
}

relayctl() {
	"$BUILD/relayctl/relayctl" "$@"
}

# http_code URL: print the HTTP status code only
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"
}

http_healthy() {
	[ "$(http_code "$1/health")" = 200 ]
}

# children of a relayd parent, one PID per line
child_pids() {
	pgrep -P "$1"
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
