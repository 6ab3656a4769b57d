#!/bin/bash
#
# HTTP benchmark: GET /federation/v1/identity against a real relayd (its
# own private PostgreSQL from regress/pg.sh, started as the integration
# tests start relays), with prefork 1 and 2, and against bench/minhttp
# answering the same bytes with as many processes (the practical limit of
# a libevent server on this machine).  The load is bench/httpload:
# BENCH_CONNS keep-alive connections, one request in flight on each,
# BENCH_SECONDS measured after one second of warm-up, BENCH_RUNS runs of
# each server, alternated (relayd, minhttp, relayd, ...) so that both see
# the same machine.  Besides answers per wall second it counts answers
# per second of CPU time of the server's processes (utime + stime from
# /proc/PID/stat over the tree, warm-up included), which other load on a
# shared machine disturbs far less.  PSS is the sum of Pss in
# /proc/PID/smaps_rollup over the server's processes (relayd: the parent
# and every descendant), idle before the first run and the largest
# sample (every 0.2 s) during the runs.
#
# Only 127.0.0.1; every process started is stopped by PID at the end
# (regress/integration/lib.sh's cleanup).
#
#	BUILD=build SRC=. bash bench/http.sh
#
set -eu

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CONNS=${BENCH_CONNS:-32}
BENCH_PREFORK=${BENCH_PREFORK:-"1 2"}
ROUTE=/federation/v1/identity

. "$SRC/regress/integration/lib.sh"

die() {
	echo "bench/http.sh: $*" >&2
	exit 1
}

# all descendants of $1, and $1
proc_tree() {
	local p c
	echo "$1"
	for c in $(pgrep -P "$1" 2>/dev/null); do
		proc_tree "$c"
	done
}

# pss PID: kB of PSS over PID's tree; priv PID: kB of private pages
# (Private_Clean + Private_Dirty), which, unlike PSS, does not depend on
# what else on the machine maps the same libraries
pss() {
	mem "$1" '/^Pss:/'
}

priv() {
	mem "$1" '/^Private_(Clean|Dirty):/'
}

mem() {
	local p sum=0 v
	for p in $(proc_tree "$1"); do
		v=$(awk "$2"' { s += $2 } END { print s + 0 }' \
		    "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# pss_each PID: "name=PSS/private" (kB) for each process of the tree
pss_each() {
	local p v n out=""
	for p in $(proc_tree "$1"); do
		v=$(awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ {
			q += $2 } END { print p "/" q }' \
		    "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		# relayd's children set their titles ("relayd: frontend 1")
		n=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{
			if ($1 == "relayd:") {
				n = $2
				for (i = 3; i <= NF; i++)
					if ($i ~ /^[a-z0-9]+$/) n = n "-" $i
			} else {
				n = $1; sub(/.*\//, "", n)
			}
			print n
		}') || continue
		out="$out $n=$v"
	done
	echo "${out# }"
}

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID: user + system clock ticks of PID's tree so far
cpu_ticks() {
	local p sum=0 v
	for p in $(proc_tree "$1"); do
		# fields 14 and 15, counted after the ")" that ends comm
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }') || continue
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# load LABEL PID PORT: one run; results in $T/res.LABEL, the largest
# PSS and private samples in $T/pssmax.LABEL and $T/privmax.LABEL
load_once() {
	local label=$1 pid=$2 port=$3 lp max pmax v c0 c1 line all
	max=$(cat "$T/pssmax.$label" 2>/dev/null || echo 0)
	pmax=$(cat "$T/privmax.$label" 2>/dev/null || echo 0)
	c0=$(cpu_ticks "$pid")
	"$BUILD/bench/httpload" -c "$BENCH_CONNS" -d "$BENCH_SECONDS" \
	    -w 1 -p "$port" "$ROUTE" >"$T/run.out" &
	lp=$!
	track_pid "$lp"
	while pid_alive "$lp"; do
		v=$(pss "$pid")
		[ "$v" -gt "$max" ] && max=$v
		v=$(priv "$pid")
		[ "$v" -gt "$pmax" ] && pmax=$v
		sleep 0.2
	done
	wait "$lp" || die "$label: httpload failed: $(cat "$T/run.out")"
	c1=$(cpu_ticks "$pid")
	echo "$max" >"$T/pssmax.$label"
	echo "$pmax" >"$T/privmax.$label"
	# answers per second of the server's CPU time, warm-up included
	line=$(cat "$T/run.out")
	all=$(field all "$line")
	echo "$line cpu_s=$(awk "BEGIN { print ($c1 - $c0) / $CLK_TCK }")" \
	    "cpu_rps=$(awk "BEGIN { d = $c1 - $c0; \
	    print (d > 0 ? int($all * $CLK_TCK / d) : 0) }")" \
	    >>"$T/res.$label"
}

ensure_users
start_pg

answers_200() {
	[ "$(http_code "$1")" = 200 ]
}

start_relayd() {
	local n=$1 dir="$T/relay$1"
	RPORT=$(free_port)
	mkdir -p "$dir/empty"
	chmod 755 "$dir" "$dir/empty"
	cat >"$dir/relayd.conf" <<EOF
name "bench$n"
endpoint "http://127.0.0.1:$RPORT"
listen on 127.0.0.1 port $RPORT
prefork $n
chroot "$dir/empty"
key "$dir/relay.key"
audit log "$dir/sign.log"
database "host=$PGHOST port=$PGPORT dbname=relayd"
control socket "$dir/relayd.sock"
EOF
	"$BUILD/relayd/relayd" -d -x "$BUILD" -f "$dir/relayd.conf" \
	    >>"$dir/log" 2>&1 &
	RELAY_PID=$!
	track_pid "$RELAY_PID"
	wait_for 30 http_healthy "http://127.0.0.1:$RPORT" ||
	    die "relayd prefork $n did not become healthy: $(tail -5 \
	    "$dir/log")"
	# the identity answers 200 once the identity is known
	wait_for 30 answers_200 "http://127.0.0.1:$RPORT$ROUTE" ||
	    die "relayd prefork $n: $ROUTE does not answer 200"
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait_for 20 pid_gone "$1" || die "PID $1 did not stop"
	wait "$1" 2>/dev/null || true
}

start_minhttp() {
	local n=$1 file=$2
	MPORT=$(free_port)
	"$BUILD/bench/minhttp" -n "$n" -p "$MPORT" "$file" \
	    >"$T/minhttp.$n.out" 2>&1 &
	MIN_PID=$!
	track_pid "$MIN_PID"
	wait_for 10 grep -q '^ready' "$T/minhttp.$n.out" ||
	    die "minhttp did not start: $(cat "$T/minhttp.$n.out")"
}

# field NAME LINE
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# stats LABEL: over the runs, the best and the median run by req/s
# (req/s, p50, p99 of each) and the best and median answers per CPU
# second: "rb rm p50b p99b p50m p99m cb cm"
stats() {
	awk '
	function sortdesc(a, idx, n,    i, j, t) {
		for (i = 1; i <= n; i++) idx[i] = i
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[idx[j]] + 0 > a[idx[i]] + 0) {
					t = idx[i]; idx[i] = idx[j]; idx[j] = t
				}
	}
	{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "rps") r[NR] = kv[2]
			if (kv[1] == "p99_us") q[NR] = kv[2]
			if (kv[1] == "p50_us") m[NR] = kv[2]
			if (kv[1] == "cpu_rps") c[NR] = kv[2]
		}
	} END {
		n = NR
		sortdesc(r, ri, n)
		sortdesc(c, ci, n)
		b = ri[1]; md = ri[int((n + 1) / 2)]
		printf "%d %d %d %d %d %d %d %d\n", r[b], r[md], m[b], q[b],
		    m[md], q[md], c[ci[1]], c[ci[int((n + 1) / 2)]]
	}' "$T/res.$1"
}

pct() {
	awk "BEGIN { printf \"%.1f%%\", 100 * $1 / $2 }"
}

for n in $BENCH_PREFORK; do
	start_relayd "$n"
	curl -si --max-time 5 "http://127.0.0.1:$RPORT$ROUTE" \
	    >"$T/identity.$n" || die "cannot fetch $ROUTE"
	pss_idle_relayd[$n]=$(pss "$RELAY_PID")
	priv_idle_relayd[$n]=$(priv "$RELAY_PID")
	pss_each_relayd[$n]=$(pss_each "$RELAY_PID")
	start_minhttp "$n" "$T/identity.$n"
	pss_idle_min[$n]=$(pss "$MIN_PID")
	priv_idle_min[$n]=$(priv "$MIN_PID")
	for r in $(seq "$BENCH_RUNS"); do
		load_once "relayd$n" "$RELAY_PID" "$RPORT"
		load_once "min$n" "$MIN_PID" "$MPORT"
	done
	# same bytes: the bodies of both servers are compared
	curl -s --max-time 5 "http://127.0.0.1:$RPORT$ROUTE" >"$T/body.r"
	curl -s --max-time 5 "http://127.0.0.1:$MPORT$ROUTE" >"$T/body.m"
	cmp -s "$T/body.r" "$T/body.m" ||
	    die "minhttp does not answer relayd's bytes"
	bodylen[$n]=$(wc -c <"$T/body.r")
	stop_pid "$MIN_PID"
	stop_pid "$RELAY_PID"
done

echo
echo "GET $ROUTE: $BENCH_CONNS keep-alive connections, ${BENCH_SECONDS} s" \
    "a run after 1 s of warm-up, $BENCH_RUNS runs each, alternated;"
echo "load generator bench/httpload on the same machine (nproc $(nproc))," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "req/s: answers per wall second; p50, p99: of the best and of the" \
    "median run;"
echo "cpu: answers per second of CPU time of all the server's processes" \
    "(warm-up included)."
echo
printf '%-17s %6s %6s %5s %5s %5s %5s %6s %6s %6s %6s %6s\n' "" "req/s" \
    "req/s" "p50" "p99" "p50" "p99" "ratio" "ratio" "cpu" "cpu" "cpu"
printf '%-17s %6s %6s %5s %5s %5s %5s %6s %6s %6s %6s %6s\n' "server" \
    "best" "median" "us" "us" "us" "us" "best" "median" "best" "median" \
    "ratio"
for n in $BENCH_PREFORK; do
	read -r mb mm mp50b mp99b mp50m mp99m mcb mcm <<<"$(stats "min$n")"
	read -r rb rm rp50b rp99b rp50m rp99m rcb rcm <<<"$(stats "relayd$n")"
	printf '%-17s %6d %6d %5d %5d %5d %5d %6s %6s %6d %6d %6s\n' \
	    "minhttp -n $n" "$mb" "$mm" "$mp50b" "$mp99b" "$mp50m" "$mp99m" \
	    "-" "-" "$mcb" "$mcm" "-"
	printf '%-17s %6d %6d %5d %5d %5d %5d %6s %6s %6d %6d %6s\n' \
	    "relayd prefork $n" "$rb" "$rm" "$rp50b" "$rp99b" "$rp50m" \
	    "$rp99m" "$(pct "$rb" "$mb")" "$(pct "$rm" "$mm")" "$rcb" "$rcm" \
	    "$(pct "$rcm" "$mcm")"
done
echo "(target: relayd >= 90 % of minhttp; body ${bodylen[1]:-?} bytes," \
    "same bytes from both)"
echo
echo "memory of all the server's processes, kB (under load: the largest" \
    "sample)"
printf '%-18s %10s %10s %10s %10s\n' "" "PSS" "PSS" "private" "private"
printf '%-18s %10s %10s %10s %10s\n' "" "idle" "load" "idle" "load"
for n in $BENCH_PREFORK; do
	printf '%-18s %10d %10d %10d %10d\n' "minhttp -n $n" \
	    "${pss_idle_min[$n]}" "$(cat "$T/pssmax.min$n")" \
	    "${priv_idle_min[$n]}" "$(cat "$T/privmax.min$n")"
	printf '%-18s %10d %10d %10d %10d\n' "relayd prefork $n" \
	    "${pss_idle_relayd[$n]}" "$(cat "$T/pssmax.relayd$n")" \
	    "${priv_idle_relayd[$n]}" "$(cat "$T/privmax.relayd$n")"
done
for n in $BENCH_PREFORK; do
	echo "relayd prefork $n idle, PSS/private per process (kB):" \
	    "${pss_each_relayd[$n]}"
done
echo
echo "raw runs:"
for n in $BENCH_PREFORK; do
	sed "s/^/  relayd prefork $n: /" "$T/res.relayd$n"
	sed "s/^/  minhttp -n $n:      /" "$T/res.min$n"
done
