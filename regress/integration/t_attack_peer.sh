#!/usr/bin/env bash
# Attacks on the peering and limiter layer (issue 8, findings 1, 2, 3, 5
# and 9), each with the input that showed the weakness:
#
#   2. nine rounds of propose + correctly signed confirm with fresh keys
#      filled the peer table of an `accept manual' relay for good; 32
#      proposes with random ids filled every handshake slot;
#   3. a propose made relayd fetch attacker-chosen URLs (metadata and
#      private addresses), also for a request nobody had accepted yet;
#   9. a signed peer/accepted from an active peer answered 200;
#   1. unauthenticated confirms naming a peer, sent both ways, de-peered
#      two relays by spending the peer's own budget; and a 429 answer to
#      a heartbeat counted as a missed round;
#   5. confirms with random relay ids and requests from distinct
#      127.100.x.y addresses filled the limiter tables.
#
# The floods of 1 and 5 run together for ATTACK_SECONDS (default 60)
# against two peered relays, A (heartbeats every 3 s) and B (4 s), which
# must stay active with no missed round.  Distinct clients are distinct
# 127.x.y.z source addresses (Linux routes all of 127/8 to lo).
set -u
. "$(dirname "$0")/lib.sh"

ATTACK_SECONDS=${ATTACK_SECONDS:-60}
FEDSIGN="$BUILD/regress/integration/fedsign"
FEDFLOOD="$BUILD/regress/integration/fedflood"
ensure_users
start_pg
for r in a b c d; do
	create_db "relay_$r"
done
declare -A PORT URL RID KEY PID MISSED0 ANS0
for r in a b c d; do
	p=$(free_port)
	while [[ " ${PORT[*]} " == *" $p "* ]]; do p=$(free_port); done
	PORT[$r]=$p
	URL[$r]="http://127.0.0.1:$p"
done
# nothing listens there
DEAD="http://127.0.0.1:$(free_port)"
ZEROS=$(printf '0%.0s' $(seq 1 128))

# conf NAME FEDERATION-LINES...
conf() {
	local name=$1
	shift
	RELAY_DB=relay_$name write_conf "$name" "${PORT[$name]}" \
	    "federation {
	enable
$(printf '\t%s\n' "$@")
}"
}

ctl() {
	local name=$1
	shift
	"$BUILD/relayctl/relayctl" -s "$T/$name/relayd.sock" "$@"
}

start() {
	start_relay "$1"
	PID[$1]=$RELAY_PID
	if ! wait_for 30 http_healthy "${URL[$1]}" ||
	    ! wait_for 10 ctl "$1" show peers; then
		notok "relay $1 becomes healthy"
		tail -30 "$T/$1/log" | sed 's/^/#   /'
		summary
		exit 1
	fi
	curl -s "${URL[$1]}/federation/v1/identity" >"$T/id.json"
	RID[$1]=$(jq -r .relay_motebit_id "$T/id.json")
	KEY[$1]=$(jq -r .public_key "$T/id.json")
}

# post SRC NAME PATH FILE: POST FILE's bytes from source address SRC;
# prints the status, body in $T/body, headers in $T/headers
post() {
	curl -s --interface "$1" -o "$T/body" -D "$T/headers" \
	    -w '%{http_code}' --max-time 15 -X POST \
	    -H 'Content-Type: application/json' --data-binary "@$4" \
	    "${URL[$2]}$3"
}

# handshake SRC NAME SEED ID ENDPOINT: propose and signed confirm as the
# holder of SEED; prints the confirm's status
handshake() {
	local src=$1 name=$2 seed=$3 id=$4 ep=$5 nonce st
	nonce=$(openssl rand -hex 32)
	"$FEDSIGN" propose "$seed" "$id" "$ep" "$nonce" >"$T/p.json"
	st=$(post "$src" "$name" /federation/v1/peer/propose "$T/p.json")
	if [ "$st" != 200 ]; then
		echo "propose $st"
		return
	fi
	"$FEDSIGN" confirm "$seed" "$id" "$(jq -r .nonce "$T/body")" \
	    >"$T/c.json"
	post "$src" "$name" /federation/v1/peer/confirm "$T/c.json"
}

uuid_relay() {
	echo "relay-$(cat /proc/sys/kernel/random/uuid)"
}

seed() {
	openssl rand -hex 32
}

requests() {
	ctl "$1" -j show requests | jq -r '.requests[].relay_id'
}

pending_rows() {
	pg_psql -d "relay_$1" -tAc \
	    "SELECT count(*) FROM peers WHERE state = 'pending'"
}

# metric NAME SERIES: the value of one series of NAME's /metrics (0 if
# absent), summed over the lines that start with SERIES
metric() {
	curl -s "${URL[$1]}/metrics" |
	    awk -v s="$2" 'index($0, s) == 1 { n += $NF } END { print n + 0 }'
}

identity_fetches() {
	metric "$1" 'relayd_http_requests_total{route="/federation/v1/identity"'
}

grew() {
	[ "$(identity_fetches "$1")" -gt "$2" ]
}

conf a "accept auto" "$FED_LOOPBACK" "heartbeat interval 3s"
conf b "accept auto" "$FED_LOOPBACK" "heartbeat interval 4s"
conf c "accept manual" "$FED_LOOPBACK" "max peers 10" "max pending 6" \
    "heartbeat interval 1h" "handshake limit 100000 per 1m"
# D: the default endpoint policy (loopback refused)
conf d "accept auto" "heartbeat interval 1h"
for r in a b c d; do
	start "$r"
done
ok "four relays are healthy"

# --- 2: the peer table fills with self-made keys --------------------------------
: >"$T/ids"
: >"$T/codes2"
for i in $(seq 1 9); do
	id=$(uuid_relay)
	echo "$id" >>"$T/ids"
	echo "$(handshake "127.70.$i.1" c "$(seed)" "$id" "$DEAD")" \
	    >>"$T/codes2"
done
check "nine self-made handshakes from nine sources: 202 pending" \
    test "$(grep -cx 202 "$T/codes2")" = 9
check "... at most \`max pending' (6) are kept, the newest" \
    test "$(requests c | wc -l)" = 6 -a \
    "$(requests c | sort | tr '\n' ' ')" = \
    "$(tail -6 "$T/ids" | sort | tr '\n' ' ')"
check "... and so many rows in PostgreSQL (the others were deleted)" \
    test "$(pending_rows c)" = 6
echo '{"display_name":"legit","endpoint_url":"'"$DEAD"'","nonce":"'"$(openssl rand -hex 32)"'","public_key":"'"$(openssl rand -hex 32)"'","relay_id":"'"$(uuid_relay)"'","spec_version":"motebit/relay-federation@1.4"}' \
    >"$T/legit.json"
check "a legitimate propose afterwards is not refused (was 503)" \
    test "$(post 127.0.0.1 c /federation/v1/peer/propose "$T/legit.json")" \
    = 200
# five more from one source: that source keeps at most 4
: >"$T/ids1"
for i in $(seq 1 5); do
	id=$(uuid_relay)
	echo "$id" >>"$T/ids1"
	handshake 127.71.0.1 c "$(seed)" "$id" "$DEAD" >/dev/null
done
requests c >"$T/req1"
check "one source keeps at most 4 pending requests, its oldest gives way" \
    test "$(grep -cxFf "$T/ids1" "$T/req1")" = 4 -a \
    "$(grep -cx "$(head -1 "$T/ids1")" "$T/req1")" = 0
check "... and the table still holds \`max pending'" \
    test "$(requests c | wc -l)" = 6
# 32 proposes with random ids from one source
for i in $(seq 1 32); do
	echo '{"display_name":"x","endpoint_url":"'"$DEAD"'","nonce":"'"$(openssl rand -hex 32)"'","public_key":"'"$(openssl rand -hex 32)"'","relay_id":"'"$(uuid_relay)"'","spec_version":"motebit/relay-federation@1.4"}' \
	    >"$T/hs.json"
	post 127.72.0.1 c /federation/v1/peer/propose "$T/hs.json"
	echo
done >"$T/codes2c"
check "32 proposes from one source: 4 handshakes, then 429" \
    test "$(grep -cx 200 "$T/codes2c")" = 4 -a \
    "$(grep -cx 429 "$T/codes2c")" = 28
check "... with Retry-After" grep -Eqi '^retry-after: [1-9]' "$T/headers"
check "... naming the per-source bound" \
    jq -e '.error | test("from your address")' "$T/body"
sed -i "s/\"nonce\":\"[0-9a-f]*\"/\"nonce\":\"$(openssl rand -hex 32)\"/; s/\"relay_id\":\"[^\"]*\"/\"relay_id\":\"$(uuid_relay)\"/" \
    "$T/legit.json"
check "... while another source still gets a handshake (was 503)" \
    test "$(post 127.0.0.1 c /federation/v1/peer/propose "$T/legit.json")" \
    = 200
# 40 proposes from 40 prefixes: the table of 32 makes room, oldest first
for i in $(seq 1 40); do
	echo '{"display_name":"x","endpoint_url":"'"$DEAD"'","nonce":"'"$(openssl rand -hex 32)"'","public_key":"'"$(openssl rand -hex 32)"'","relay_id":"'"$(uuid_relay)"'","spec_version":"motebit/relay-federation@1.4"}' \
	    >"$T/hs.json"
	post "127.75.$i.1" c /federation/v1/peer/propose "$T/hs.json"
	echo
done >"$T/codes2d"
check "40 proposes from 40 sources: all 200, the oldest handshakes give way" \
    test "$(grep -cx 200 "$T/codes2d")" = 40
check "... C logged it" grep -q "gave way to a newer handshake" "$T/c/log"
# pending expire
conf c "accept manual" "$FED_LOOPBACK" "max peers 10" "max pending 6" \
    "heartbeat interval 1h" "handshake limit 100000 per 1m" \
    "pending expire 1s"
check "reload C with pending expire 1s" ctl c reload
check "requests older than \`pending expire' are dropped" \
    wait_for 20 bash -c "test \"\$('$BUILD/relayctl/relayctl' -s \
    '$T/c/relayd.sock' -j show requests | jq '.requests | length')\" = 0"
check "... from PostgreSQL too" wait_for 10 test "$(pending_rows c)" = 0
conf c "accept manual" "$FED_LOOPBACK" "max peers 10" "max pending 6" \
    "heartbeat interval 1h" "handshake limit 100000 per 1m"
check "reload C with pending expire back at 24h" ctl c reload

# --- 3: outbound fetches to attacker-chosen URLs --------------------------------
for ep in "http://169.254.169.254/latest/meta-data" "http://10.0.0.1:5432/"; do
	echo '{"display_name":"x","endpoint_url":"'"$ep"'","nonce":"'"$(openssl rand -hex 32)"'","public_key":"'"$(openssl rand -hex 32)"'","relay_id":"'"$(uuid_relay)"'","spec_version":"motebit/relay-federation@1.4"}' \
	    >"$T/ep.json"
	check "a propose with endpoint $ep: 403" \
	    test "$(post 127.0.0.1 c /federation/v1/peer/propose "$T/ep.json")" \
	    = 403
	check "... refused by the endpoint policy" \
	    jq -e '.error | test("endpoint policy")' "$T/body"
done
# a manual request whose endpoint is A: nothing fetched before acceptance
N0=$(identity_fetches a)
MID=$(uuid_relay)
check "a signed handshake whose endpoint is relay A: 202 at C" \
    test "$(handshake 127.73.0.1 c "$(seed)" "$MID" "${URL[a]}")" = 202
check "... and C fetches nothing from it before its operator accepts" \
    bash -c "! wait_for 3 test \"\$(curl -s '${URL[a]}/metrics' |
    awk 'index(\$0, \"relayd_http_requests_total{route=\\\"/federation/v1/identity\\\"\") == 1 { n += \$NF } END { print n + 0 }')\" -gt $N0"
ctl c -j peer accept "$MID" >"$T/acc.json" 2>&1
check "... the operator accepts it" bash -c "ctl() { '$BUILD/relayctl/relayctl' \
    -s '$T/c/relayd.sock' \"\$@\"; }; ctl -j show peer '$MID' |
    jq -e '.state == \"active\"'"
check "... and only then C fetches its identity" wait_for 10 grew a "$N0"
# a host name that resolves to loopback, at D (loopback not allowed)
N0=$(identity_fetches a)
HN=$(hostname)
if getent hosts "$HN" | grep -q '^127\.'; then
	ctl d -j peer add "http://$HN:${PORT[a]}" >"$T/add.json" 2>&1
	check "D: peer add of a name resolving to 127.x is refused" \
	    jq -e '.ok == false and (.message | test("loopback"))' \
	    "$T/add.json"
	# C allows loopback: the name resolves, C connects to the address
	# it checked, and D refuses C's own loopback endpoint
	N1=$(identity_fetches d)
	ctl c -j peer add "http://$HN:${PORT[d]}" >"$T/add.json" 2>&1
	check "C: peer add of http://$HN reaches D (resolved, then checked)" \
	    wait_for 10 grew d "$N1"
	check "... whose policy refuses C's loopback endpoint (403)" \
	    jq -e '.ok == false and (.message | test("endpoint policy"))' \
	    "$T/add.json"
else
	ok "# skip: $HN does not resolve to a loopback address"
fi
ctl d -j peer add "${URL[a]}" >"$T/add.json" 2>&1
check "D: peer add of http://127.0.0.1 is refused by the policy" \
    jq -e '.ok == false and (.message | test("endpoint policy"))' \
    "$T/add.json"
check "... and A was never contacted" test "$(identity_fetches a)" = "$N0"

# --- 9: peer/accepted from an active peer -----------------------------------------
S9=$(seed)
E9=$(uuid_relay)
check "relay E9 registers at C (pending)" \
    test "$(handshake 127.74.0.1 c "$S9" "$E9" "$DEAD")" = 202
ctl c -j peer accept "$E9" >"$T/acc.json" 2>&1
check "... C's operator accepts it" \
    wait_for 10 bash -c "'$BUILD/relayctl/relayctl' -s '$T/c/relayd.sock' \
    -j show peer '$E9' | jq -e '.state == \"active\"'"
"$FEDSIGN" accepted "$S9" "$E9" "${RID[c]}" now >"$T/acc9.json"
check "a signed peer/accepted from an active peer: 409 (relayd.8)" \
    test "$(post 127.0.0.1 c /federation/v1/peer/accepted "$T/acc9.json")" \
    = 409
check "... saying it is already active" \
    jq -e '.error | test("already an active peer")' "$T/body"

# --- 1 and 5: the floods, against two peered relays -------------------------------
ctl a -j peer add "${URL[b]}" >"$T/add.json" 2>&1
check "A and B peer" jq -e '.outcome == "active"' "$T/add.json"
check "... both active" wait_for 15 bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/b/relayd.sock' -j show peer \
    '${RID[a]}' | jq -e '.state == \"active\"'"
# the exact bytes of the finding: a confirm naming the other relay
printf '{"relay_id":"%s","challenge_response":"%s"}' "${RID[a]}" "$ZEROS" \
    >"$T/confirm_a.json"
printf '{"relay_id":"%s","challenge_response":"%s"}' "${RID[b]}" "$ZEROS" \
    >"$T/confirm_b.json"
printf '{"relay_id":"relay-@UUID@","challenge_response":"%s"}' "$ZEROS" \
    >"$T/confirm_rand.json"
for r in a b; do
	MISSED0[$r]=$(metric "$r" 'relayd_peer_heartbeats_total{result="missed"}')
	ANS0[$r]=$(metric "$r" 'relayd_peer_heartbeats_total{result="answered"}')
done
echo "# floods for ${ATTACK_SECONDS}s"
START=$(date +%s)
"$FEDFLOOD" -c 3 -t "$ATTACK_SECONDS" -s 127.66.0.1 -k 4096 127.0.0.1 \
    "${PORT[b]}" /federation/v1/peer/confirm "$T/confirm_a.json" \
    >"$T/f1b" 2>&1 &
F1B=$!
track_pid "$F1B"
"$FEDFLOOD" -c 3 -t "$ATTACK_SECONDS" -s 127.67.0.1 -k 4096 127.0.0.1 \
    "${PORT[a]}" /federation/v1/peer/confirm "$T/confirm_b.json" \
    >"$T/f1a" 2>&1 &
F1A=$!
track_pid "$F1A"
# 5: 4 320 (here 4 400) confirms with random relay ids from distinct
# addresses, then 16 500 requests from distinct 127.100.x.y addresses,
# again and again until the time is up
: >"$T/f5"
rounds5=0
# seconds left of the flood, at least 1; 0 when it is over
left() {
	local l=$((ATTACK_SECONDS - ($(date +%s) - START)))
	[ "$l" -gt 0 ] && echo "$l" || echo 0
}
while [ "$(left)" -gt 0 ]; do
	for r in a b; do
		[ "$(left)" -gt 0 ] || break
		"$FEDFLOOD" -c 2 -n 4400 -t "$(left)" -s 127.101.0.1 \
		    -k 65536 127.0.0.1 "${PORT[$r]}" \
		    /federation/v1/peer/confirm "$T/confirm_rand.json" \
		    >>"$T/f5" 2>&1
		[ "$(left)" -gt 0 ] || break
		"$FEDFLOOD" -c 2 -n 16500 -t "$(left)" \
		    -s 127.100.0.1 -k 65536 127.0.0.1 "${PORT[$r]}" \
		    /federation/v1/peers >>"$T/f5" 2>&1
	done
	rounds5=$((rounds5 + 1))
done
wait "$F1A" "$F1B"
echo "# flood of 1 at B: $(tr '\n' ' ' <"$T/f1b")"
echo "# flood of 1 at A: $(tr '\n' ' ' <"$T/f1a")"
echo "# floods of 5: $rounds5 rounds, $(awk '$1 == "total" { n += $2 } END { print n + 0 }' "$T/f5") requests"

check "the confirms naming A reached B's peer engine (404s)" \
    awk '$1 == 404 && $2 > 0 { f = 1 } END { exit !f }' "$T/f1b"
check "... and were answered 404 or 429 only" \
    awk '$1 ~ /^[0-9]+$/ && $1 != 404 && $1 != 429 { f = 1 } END { exit f }' \
    "$T/f1b" "$T/f1a"
check "the floods of 5 were answered (no connection left unanswered)" \
    awk '$1 == 0 { f = 1 } END { exit f }' "$T/f5"
for pair in "a b" "b a"; do
	set -- $pair
	check "$1 still has $2 active with 0 missed heartbeats" \
	    bash -c "'$BUILD/relayctl/relayctl' -s '$T/$1/relayd.sock' -j \
	    show peer '${RID[$2]}' | jq -e '.state == \"active\" and .missed == 0'"
done
for r in a b; do
	echo "# $r: $(($(metric "$r" 'relayd_peer_heartbeats_total{result="answered"}') - ANS0[$r])) heartbeat rounds answered during the floods, $(($(metric "$r" 'relayd_peer_heartbeats_total{result="missed"}') - MISSED0[$r])) missed"
	check "$r: no heartbeat round missed during the floods" \
	    test "$(metric "$r" 'relayd_peer_heartbeats_total{result="missed"}')" \
	    = "${MISSED0[$r]}"
	check "$r: heartbeat rounds were answered during the floods" \
	    test "$(metric "$r" 'relayd_peer_heartbeats_total{result="answered"}')" \
	    -gt $((ANS0[$r] + ATTACK_SECONDS / 8))
	check "$r: no peer's request was refused by its per-peer budget" \
	    test "$(metric "$r" 'relayd_rate_limited_total{scope="peer"}')" = 0
	check "$r: the log has no missed or limited heartbeat" \
	    bash -c "! grep -Eq 'heartbeat (missed|limited)' '$T/$r/log'"
	check "$r: a fresh address is not refused by the per-IP limit" \
	    test "$(curl -s --interface 127.200.0.1 -o /dev/null \
	    -w '%{http_code}' "${URL[$r]}/federation/v1/peers")" = 200
	check "$r: the handshake limit refused part of the floods" \
	    test "$(metric "$r" 'relayd_rate_limited_total{scope="handshake"}')" \
	    -gt 0
done
sed -i "s/\"nonce\":\"[0-9a-f]*\"/\"nonce\":\"$(openssl rand -hex 32)\"/; s/\"relay_id\":\"[^\"]*\"/\"relay_id\":\"$(uuid_relay)\"/" \
    "$T/legit.json"
st=$(post 127.201.0.1 b /federation/v1/peer/propose "$T/legit.json")
check "a new relay's propose at B from a fresh address: 200, or 429 of the handshake limit only" \
    bash -c "test '$st' = 200 || { test '$st' = 429 &&
    jq -e '.error | test(\"Handshake limit\")' '$T/body'; }"

# --- 1: a 429 answer to a heartbeat is "limited", then missed -----------------
# B limits A to 2 requests a minute (and stops heartbeating, which would
# reset A's counts); A heartbeats every 500ms.
conf b "accept auto" "$FED_LOOPBACK" "heartbeat interval 1h" \
    "rate limit 2 per 1m"
conf a "accept auto" "$FED_LOOPBACK" "heartbeat interval 500ms"
check "reload B with a rate limit of 2 a minute" ctl b reload
check "reload A with heartbeats every 500ms" ctl a reload
check "A counts B's 429 answers as limited, three in a row" \
    wait_for 30 grep -q "heartbeat limited (3 in a row" "$T/a/log"
check "... then as missed: B is suspended, in bounded time" \
    wait_for 30 bash -c "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' \
    -j show peer '${RID[b]}' | jq -e '.state != \"active\"'"
check "... only after the limited rounds" bash -c \
    "test \"\$(grep -n 'heartbeat limited (3 in a row' '$T/a/log' |
    head -1 | cut -d: -f1)\" -lt \"\$(grep -n 'heartbeat missed' \
    '$T/a/log' | head -1 | cut -d: -f1)\""
check "... counted in relayd_peer_heartbeats_total{result=\"limited\"}" \
    test "$(metric a 'relayd_peer_heartbeats_total{result="limited"}')" \
    -ge 3
for r in a b c d; do
	check "relay $r still healthy" http_healthy "${URL[$r]}"
done
summary
