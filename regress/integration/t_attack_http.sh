#!/usr/bin/env bash
# Attacks on the HTTP layer (issue 8, findings 4 and 6), each with the
# exact bytes: request smuggling (Transfer-Encoding other than chunked,
# TE with Content-Length, two Content-Lengths, "Content-Length: +2", the
# Host count, bad chunk lines), 1 100 idle connects against a 1024
# descriptor soft limit (raised to the hard one, 1060; the cap below it,
# /health within 100 ms, no spinning, a quiet log), and slow clients cut
# at a 2 s request deadline.
set -u
. "$(dirname "$0")/lib.sh"

ensure_users
start_pg
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
write_conf a "$PORT" "prefork 1"
D="$T/a"
CTL="-s $D/relayd.sock"

# the relay under the systemd default soft limit, 1024 descriptors, with
# a hard limit of 1060 it raises the soft one to
( ulimit -Sn 1024 && ulimit -Hn 1060 && exec "$BUILD/relayd/relayd" -d -v \
    -x "$BUILD" -f "$D/relayd.conf" >>"$D/log" 2>&1 ) &
RELAY_PID=$!
track_pid "$RELAY_PID"
if ! wait_for 30 http_healthy "$URL"; then
	notok "relay a becomes healthy"
	tail -30 "$D/log" | sed 's/^/#   /'
	summary
	exit 1
fi
ok "relay a becomes healthy with a 1024 descriptor soft limit"
FE=$(relayctl $CTL -j show status | jq -r \
    '[.processes[] | select(.process == "frontend")][0].pid')
check "the soft limit is raised to the hard one (1060)" \
    grep -Eq '^Max open files +1060 +1060' "/proc/$FE/limits"
check "the connection cap is clamped to the limit less the reserve" \
    grep -q 'max connections 1024: the descriptor limit (1060) allows 996' \
    "$D/log"

# raw_http BYTES: send BYTES (printf escapes) on a fresh connection, print
# everything that comes back until the relay closes (5 s at most)
raw_http() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf -- "$1" >&"$fd"
	timeout 5 cat <&"$fd"
	exec {fd}>&-
}

# smuggle NAME BYTES MESSAGE: exactly one answer, the JSON 400 with
# MESSAGE, Connection: close, and nothing of the request in the body
smuggle() {
	local name=$1 bytes=$2 msg=$3 out n
	out=$(raw_http "$bytes" | tr -d '\r')
	n=$(grep -c '^HTTP/1\.[01] ' <<<"$out")
	if [ "$n" = 1 ] && grep -q '^HTTP/1\.1 400 ' <<<"$out" &&
	    grep -qx 'Connection: close' <<<"$out" &&
	    grep -qxF "{\"error\":\"$msg\",\"status\":400}" <<<"$out" &&
	    ! grep -q 'relayd_http_requests_total' <<<"$out"; then
		ok "smuggling: $name: one JSON 400"
	else
		notok "smuggling: $name: one JSON 400 ($n answers)"
		sed 's/^/#   /' <<<"$out" | head -20
	fi
}

# --- finding 6: request smuggling --------------------------------------------
SECOND='GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n'
smuggle "Transfer-Encoding: identity" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n$SECOND" \
    "Transfer-Encoding other than chunked"
smuggle "Transfer-Encoding: xchunked" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n$SECOND" \
    "Transfer-Encoding other than chunked"
smuggle "Transfer-Encoding: identity on GET" \
    "GET /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 36\r\n\r\n$SECOND" \
    "Transfer-Encoding other than chunked"
smuggle "TE chunked with Content-Length" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$SECOND" \
    "Transfer-Encoding with Content-Length"
smuggle "two different Content-Length values" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 38\r\n\r\n{}$SECOND" \
    "conflicting Content-Length values"
smuggle "Content-Length: +2" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\n{}$SECOND" \
    "invalid Content-Length"
smuggle "HTTP/1.1 without Host" \
    "GET /health HTTP/1.1\r\n\r\n$SECOND" \
    "HTTP/1.1 needs exactly one Host header"
smuggle "HTTP/1.1 with two Host headers" \
    "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n$SECOND" \
    "HTTP/1.1 needs exactly one Host header"
smuggle "malformed chunk size" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n$SECOND" \
    "malformed chunk size line"
smuggle "negative chunk size" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n$SECOND" \
    "malformed chunk size line"
smuggle "malformed chunk extension" \
    "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;=\x01\r\n{}\r\n0\r\n\r\n$SECOND" \
    "malformed chunk size line"
out=$(raw_http "POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;name=\"v\"\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n" | tr -d '\r')
check "a well-formed chunked body still reaches routing (405)" \
    grep -q '^HTTP/1\.1 405 ' <<<"$out"
check "relay a is still healthy after the smuggling inputs" http_healthy "$URL"

# metric NAME MIN: the /metrics series NAME (with labels) is at least MIN
metric() {
	curl -s --max-time 2 "$URL/metrics" |
	    awk -v n="$1" -v m="$2" '$1 == n { f = 1; exit !($2 >= m) }
	    END { if (!f) exit 1 }'
}
check "the refusals are counted in /metrics" \
    wait_for 5 metric relayd_http_refused_total 11

# --- finding 4: 1 100 idle connects -----------------------------------------
fe_fds() {
	ls "/proc/$FE/fd" 2>/dev/null | wc -l
}
fe_cpu() {
	awk '{ print $14 + $15 }' "/proc/$FE/stat"
}
log_size() {
	stat -c %s "$D/log"
}

# holder N TAG: hold N idle connections until $T/TAG.fifo is written
holder() {
	local n=0 i fd
	ulimit -n 4096
	for ((i = 0; i < $1; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || continue
		n=$((n + 1))
	done
	echo "$n" >"$T/$2.n"
	read -r _ <"$T/$2.fifo"
}

# health_fast N: N /health answers, each 200 within 100 ms; the slowest
# in $T/worst
health_fast() {
	local i line worst=0
	for ((i = 0; i < $1; i++)); do
		line=$(curl -s -o /dev/null --max-time 2 \
		    -w '%{http_code} %{time_total}' "$URL/health")
		set -- "$1" $line
		worst=$(awk -v t="$3" -v w="$worst" \
		    'BEGIN { print (t > w ? t : w) }')
		echo "$worst" >"$T/worst"
		if [ "$2" != 200 ]; then
			echo "status $2"
			return 1
		fi
		if awk -v t="$3" 'BEGIN { exit !(t >= 0.1) }'; then
			echo "took $3 s"
			return 1
		fi
	done
}

mkfifo "$T/h1.fifo"
size0=$(log_size)
holder 1100 h1 &
H1=$!
track_pid "$H1"
if wait_for 60 test -s "$T/h1.n"; then
	ok "1100 idle connections opened ($(cat "$T/h1.n") connected)"
else
	notok "1100 idle connections opened"
fi
check "the frontend holds no more than its descriptor limit" \
    test "$(fe_fds)" -le 1060
cpu0=$(fe_cpu)
t0=$(date +%s%N)
check "under the idle flood /health answers within 100 ms (20 tries)" \
    health_fast 20
t1=$(date +%s%N)
cpu1=$(fe_cpu)
echo "# slowest /health $(cat "$T/worst") s, frontend descriptors $(fe_fds)"

# CPU ticks (1/100 s) against wall time: no busy loop
check "the frontend does not spin (cpu $((cpu1 - cpu0)) ticks in $(((t1 - t0) / 1000000)) ms)" \
    test $(((cpu1 - cpu0) * 10)) -le $(((t1 - t0) / 2000000 + 10))
grown=$(($(log_size) - size0))
check "the log grew by less than 1 MB ($grown bytes)" \
    test "$grown" -lt 1048576
check "connections pushed out at the cap are counted in /metrics" \
    wait_for 5 metric 'relayd_http_closed_total{reason="evicted"}' 100
echo done >"$T/h1.fifo"
wait "$H1" 2>/dev/null
check "the idle connections are released" wait_for 20 \
    bash -c "test \$(ls /proc/$FE/fd | wc -l) -lt 100"

# Descriptors running out below the cap (EMFILE: accept backoff, the cap
# lowered) cannot be forced on the sandboxed frontend from here (prlimit
# is refused on a non-dumpable process); test_http's accept_emfile drives
# that path in one process.

# --- finding 4: slow clients against a 2 s request deadline ----------------
echo "request timeout 2s" >>"$D/relayd.conf"
check "reload with request timeout 2s" relayctl $CTL reload

# slow NAME BYTES STATUS: send BYTES, then nothing; the relay must cut
# the connection 2 s after the connect (1.5 to 4 s), with STATUS (or no
# answer for "-")
slow() {
	local name=$1 bytes=$2 want=$3 fd t0 t1 ms out
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	t0=$(date +%s%N)
	printf -- "$bytes" >&"$fd"
	out=$(timeout 10 cat <&"$fd" | tr -d '\r')
	t1=$(date +%s%N)
	exec {fd}>&-
	ms=$(((t1 - t0) / 1000000))
	if [ "$ms" -lt 1500 ] || [ "$ms" -gt 4000 ]; then
		notok "slow client: $name: cut after $ms ms"
		return
	fi
	if [ "$want" = - ] && [ -z "$out" ]; then
		ok "slow client: $name: closed after $ms ms"
	elif [ "$want" != - ] && grep -q "^HTTP/1\.1 $want " <<<"$out" &&
	    grep -qxF '{"error":"request not received in time","status":408}' \
	    <<<"$out"; then
		ok "slow client: $name: JSON $want after $ms ms"
	else
		notok "slow client: $name: answer"
		sed 's/^/#   /' <<<"$out" | head -10
	fi
}

slow "one header byte" "G" 408
slow "headers without the end" "GET /health HTTP/1.1\r\nHost: a\r\n" 408
slow "no byte at all" "" -
slow "a body that stops" \
    "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{" -
# one byte every 500 ms: progress does not extend the deadline
fd=0
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
t0=$(date +%s%N)
(
	for c in G E T ' ' / h e a l t h; do
		printf '%s' "$c" >&"$fd" 2>/dev/null || exit 0
		sleep 0.5	# the attacker's pace, not a wait
	done
) &
TRICKLE=$!
track_pid "$TRICKLE"
out=$(timeout 10 cat <&"$fd" | tr -d '\r')
t1=$(date +%s%N)
exec {fd}>&-
ms=$(((t1 - t0) / 1000000))
check "slow client: a byte every 500 ms is cut at the deadline ($ms ms)" \
    test "$ms" -ge 1500 -a "$ms" -le 4000
check "slow client: the trickle gets the JSON 408" \
    grep -q '^HTTP/1\.1 408 ' <<<"$out"
kill "$TRICKLE" 2>/dev/null
check "the deadline cuts are counted in /metrics" \
    wait_for 5 metric 'relayd_http_closed_total{reason="deadline"}' 5
check "relay a is healthy at the end" http_healthy "$URL"

summary
