#!/usr/bin/env bash
# Readiness (issue 7): /health answered 200 while `relayctl peer add'
# still said "the peer table is not loaded yet".  Now /health means every
# engine can serve, and control commands that come early wait for
# readiness (10 s at most) instead of failing:
#  - relayd started as a daemon, then at once `relayctl show peers' and
#    `relayctl peer add', as a script of a new user would: both work;
#  - commands sent before the database exists (show peers, show routes)
#    wait and are served once it does; /health says 503 meanwhile;
#  - with the database missing for good it fails after 10 s, naming what
#    was missing.
set -u
. "$(dirname "$0")/lib.sh"

ensure_users
start_pg
create_db ready_a
create_db ready_b

PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
PC=$(free_port)
while [ "$PC" = "$PA" ] || [ "$PC" = "$PB" ]; do PC=$(free_port); done
PD=$(free_port)
while [ "$PD" = "$PA" ] || [ "$PD" = "$PB" ] || [ "$PD" = "$PC" ]; do
	PD=$(free_port)
done
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
UC="http://127.0.0.1:$PC"
UD="http://127.0.0.1:$PD"
FED="federation {
	enable
	$FED_LOOPBACK
	accept auto
	heartbeat interval 500ms
}"
RELAY_DB=ready_a write_conf a "$PA" "$FED"
RELAY_DB=ready_b write_conf b "$PB" "$FED"
RELAY_DB=ready_c_never write_conf c "$PC"
RELAY_DB=ready_d_later write_conf d "$PD"

ms() {
	echo $(($(date +%s%N) / 1000000))
}

# B: the peer A adds
start_relay b
PIDB=$RELAY_PID
if ! wait_for 30 http_healthy "$UB"; then
	notok "relay b becomes healthy"
	tail -30 "$T/b/log" | sed 's/^/#   /'
	summary
	exit 1
fi

# --- A as a daemon: relayd returns once its sockets are bound
if [ "$AS_ROOT" = 1 ]; then
	check "relayd starts as a daemon" \
	    "$BUILD/relayd/relayd" -x "$BUILD" -f "$T/a/relayd.conf"
	# the daemonized parent: the only process given A's configuration
	PIDA=$(pgrep -f -- "-f $T/a/relayd.conf" | head -1)
	[ -n "$PIDA" ] && track_pid "$PIDA"
	relayctl -s "$T/a/relayd.sock" -j show peers >"$T/a.peers" \
	    2>"$T/a.err"
	check "show peers at once after start-up succeeds" \
	    jq -e '.peers == []' "$T/a.peers"
	relayctl -s "$T/a/relayd.sock" -j peer add "$UB" >"$T/a.add" \
	    2>>"$T/a.err"
	check "peer add right after start-up: active" \
	    jq -e '.ok and .outcome == "active"' "$T/a.add"
	check "nothing said the peer table was not loaded" \
	    test ! -s "$T/a.err"
	sed 's/^/#   /' "$T/a.err"
else
	echo "# (not root: the daemon part is skipped)"
fi

# --- D: the database comes later
start_relay d
PIDD=$RELAY_PID
wait_for 30 test -S "$T/d/relayd.sock"
( relayctl -s "$T/d/relayd.sock" -j show peers >"$T/d.peers" \
    2>"$T/d.err"; echo $? >"$T/d.rc" ) &
track_pid $!
( relayctl -s "$T/d/relayd.sock" -j show routes >"$T/d.routes" \
    2>"$T/d.rerr"; echo $? >"$T/d.rrc" ) &
track_pid $!
# --- C: the database never comes
start_relay c
wait_for 30 test -S "$T/c/relayd.sock"
T0=$(ms)
( relayctl -s "$T/c/relayd.sock" show peers >"$T/c.out" 2>&1
    echo "$? $(($(ms) - T0))" >"$T/c.rc" ) &
track_pid $!

health_503() {
	[ "$(http_code "$UD/health")" = 503 ]
}
check "/health is 503 while the database is missing" wait_for 10 health_503
curl -s "$UD/health" >"$T/d.health"
check "and names it" jq -e '.status == "unavailable" and
    (.checks.peer | startswith("unhealthy"))' "$T/d.health"
check "the early command is still waiting" test ! -e "$T/d.rc"
create_db ready_d_later
check "it is served once the database is there" \
    wait_for 15 test -s "$T/d.rc"
check "and succeeded" test "$(cat "$T/d.rc" 2>/dev/null)" = 0
check "with the peer table" jq -e '.peers == []' "$T/d.peers"
check "an early show routes is served too" wait_for 15 test -s "$T/d.rrc"
check "and succeeded" test "$(cat "$T/d.rrc" 2>/dev/null)" = 0
sed 's/^/#   /' "$T/d.rerr"
check "with routed's answer" jq -e 'type == "object"' "$T/d.routes"
check "/health is 200 then" wait_for 15 http_healthy "$UD"
check "and every engine says ok" jq -e '.status == "ok" and
    .checks.peer == "ok" and .checks.routed == "ok" and
    .checks.ledgerd == "ok"' <(curl -s "$UD/health")

check "the command to C ends" wait_for 20 test -s "$T/c.rc"
read -r crc cms <"$T/c.rc"
check "it fails (exit $crc)" test "$crc" = 1
check "after waiting 10 s for readiness (${cms} ms)" \
    test "$cms" -ge 9500 -a "$cms" -lt 15000
check "naming what was missing" \
    grep -q 'the peer table is not loaded yet (not ready within 10 s)' \
    "$T/c.out"

summary
