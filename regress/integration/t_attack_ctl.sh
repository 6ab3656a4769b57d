#!/usr/bin/env bash
# The control socket against misbehaving clients (issue 8, finding 8):
# 4 000 `show peers' requests whose answers are never read (the peer
# engine grew by 142 MB) must cost a bounded amount and get the client
# dropped; 32 idle clients must not lock the operator out (root keeps
# slots, and pushes out the idlest client when all are taken); idle
# clients time out; relayctl turned away says why and exits 1 (it died
# of SIGPIPE).
set -u
. "$(dirname "$0")/lib.sh"

FLOOD="$BUILD/regress/integration/ctlflood"
IDLE_SEC=10	# control.c CONTROL_IDLE_SEC

ensure_users
start_pg
PA=$(free_port)
UA="http://127.0.0.1:$PA"
write_conf a "$PA"
SOCK="$T/a/relayd.sock"

start_a() {
	start_relay a
	if ! wait_for 30 http_healthy "$UA"; then
		notok "relay a becomes healthy"
		tail -30 "$T/a/log" | sed 's/^/#   /'
		summary
		exit 1
	fi
}

# the peer engine: the child started with -P peer (setproctitle names
# it "peer engine")
peer_pid() {
	local p
	for p in $(child_pids "$RELAY_PID"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" | \
		    grep -q -e '-P peer' -e 'peer engine'; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# 40 peer rows (removed, so nothing goes out), that `show peers' sends
# back in full: about 37 KB an answer, 146 MB for 4 000 unread answers.
start_a
for i in $(seq 1 40); do
	printf "INSERT INTO peers (peer_relay_id, public_key, endpoint_url, "
	printf "display_name, state) VALUES ('flood-peer-%02d', '%064x', " "$i" "$i"
	printf "'http://127.0.0.1:9/%d', 'flood peer %d', 'removed');\n" "$i" "$i"
done | pg_psql -d relayd >/dev/null
kill -TERM "$RELAY_PID"
wait_for 10 pid_gone "$RELAY_PID" || kill -KILL "$RELAY_PID"
start_a
check "the peer table holds the 40 rows" \
    test "$(relayctl -s "$SOCK" -j show peers | grep -c '"relay_id"')" = 40

PEER=$(peer_pid)
if [ -z "$PEER" ]; then
	notok "the peer engine is found"
	summary
	exit 1
fi
RSS0=$(rss_kb "$PEER")

# --- 4 000 requests, answers never read
"$FLOOD" flood "$SOCK" 4000 40 >"$T/flood.out" 2>&1 &
FPID=$!
track_pid "$FPID"
wait_for 10 grep -q '^sent 4000' "$T/flood.out"
check "4000 requests sent at once" grep -q '^sent 4000' "$T/flood.out"
check "the operator is served during the flood" \
    relayctl -s "$SOCK" show status
RSSMAX=$RSS0
grow() {
	local r
	r=$(rss_kb "$PEER")
	[ "$r" -gt "$RSSMAX" ] && RSSMAX=$r
	grep -q '^dropped' "$T/flood.out"
}
wait_for $((IDLE_SEC + 15)) grow
check "the flooding client is dropped" grep -q '^dropped' "$T/flood.out"
check "the log says it did not read its answers" \
    grep -q 'has not read its answer' "$T/a/log"
RSS1=$(rss_kb "$PEER")
echo "# peer engine RSS: $RSS0 KB before, $RSSMAX KB at most, $RSS1 KB after"
check "the peer engine grew by less than 8 MB (was 142 MB)" \
    test $((RSSMAX - RSS0)) -lt 8192
check "the peer table still answers" \
    test "$(relayctl -s "$SOCK" -j show peers | grep -c '"relay_id"')" = 40

# --- 32 idle clients
if [ "$AS_ROOT" = 1 ]; then
	# not root, but in group root: the socket (0660 root:root) admits
	# them; they get the slots that are not kept for root
	NR="setpriv --reuid=65534 --regid=0 --clear-groups"
	$NR "$FLOOD" hold "$SOCK" 32 60 >"$T/hold1.out" 2>&1 &
	H1=$!
	track_pid "$H1"
	wait_for 10 grep -q '^held 32' "$T/hold1.out"
	refused4() { [ "$(grep -c '^closed [0-9]* ' "$T/hold1.out")" = 4 ]; }
	wait_for 5 refused4
	check "non-root clients get 28 slots, 4 are refused" refused4
	check "the operator (root) gets a slot kept for root" \
	    relayctl -s "$SOCK" show status
	$NR "$BUILD/relayctl/relayctl" -s "$SOCK" show status \
	    >"$T/nr.out" 2>&1
	rc=$?
	check "a refused relayctl exits 1 (not SIGPIPE: $rc)" test "$rc" = 1
	check "and says why" grep -q 'too many control clients' "$T/nr.out"

	# 32 idle root clients: 4 free slots, then they push out the
	# non-root ones; the operator still gets in
	"$FLOOD" hold "$SOCK" 32 60 >"$T/hold2.out" 2>&1 &
	H2=$!
	track_pid "$H2"
	wait_for 10 grep -q '^held 32' "$T/hold2.out"
	wait_for 10 grep -q '^closed 32 of 32' "$T/hold1.out"
	check "root clients push out the idle non-root ones" \
	    grep -q '^closed 32 of 32' "$T/hold1.out"
	check "all 32 slots held by idle root clients" \
	    test "$(grep -c '^closed [0-9]* ' "$T/hold2.out")" = 0
	check "the operator still gets in" relayctl -s "$SOCK" show status
	check "the log names the client pushed out" \
	    grep -q 'slots taken; dropped pid' "$T/a/log"
	HOLD="$T/hold2.out"
else
	"$FLOOD" hold "$SOCK" 32 60 >"$T/hold2.out" 2>&1 &
	track_pid $!
	wait_for 10 grep -q '^held 32' "$T/hold2.out"
	check "the operator gets in past 32 idle clients" \
	    relayctl -s "$SOCK" show status
	HOLD="$T/hold2.out"
fi

# --- idle clients time out (one of them may have made room for the
# operator's last command)
wait_for $((IDLE_SEC + 15)) grep -q '^closed 32 of 32' "$HOLD"
check "all idle clients are dropped" grep -q '^closed 32 of 32' "$HOLD"
late=$(awk -v ms=$(((IDLE_SEC - 1) * 1000)) \
    '$1 == "closed" && NF == 3 && $3 >= ms { n++ } END { print n + 0 }' \
    "$HOLD")
check "by the idle timeout, not before ($late of 32 after $((IDLE_SEC - 1)) s)" \
    test "$late" -ge 31
check "the log says they were idle" grep -q 'idle for .* dropped' "$T/a/log"
check "relayd is still running" pid_alive "$RELAY_PID"
check "and serves the operator" relayctl -s "$SOCK" show peers

summary
