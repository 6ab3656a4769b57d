#!/usr/bin/env bash
# Federation authentication from the outside: one relay R (accept auto)
# and peers that exist only as keys held by the fedsign helper (Appendix
# B's seeds), registered by a real propose and confirm.  Both signature
# styles (body and X-Relay-* headers), the +-5 minute window, replay 409,
# forged signature 403, unknown relay 403, wrong major version 403,
# self-propose 400, the bare-id removal and remove-v2, the peer list,
# the per-peer limit (`rate limit') and the per-IP limit, and the
# metrics that count them.
set -u
. "$(dirname "$0")/lib.sh"

FEDSIGN="$BUILD/regress/integration/fedsign"
ensure_users
start_pg
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
# the peers' endpoints: nothing listens there, and with a heartbeat an
# hour apart nobody notices during the test
DEAD="http://127.0.0.1:$(free_port)"
write_conf r "$PORT" "federation {
	enable
	accept auto
	$FED_LOOPBACK
	heartbeat interval 1h
	rate limit 20 per 1m
}"
sed -i 's/^prefork 2$/prefork 1/' "$T/r/relayd.conf"
CTL="$BUILD/relayctl/relayctl -s $T/r/relayd.sock"

start_relay r
if ! wait_for 30 http_healthy "$URL" || ! wait_for 10 $CTL show peers; then
	notok "relay r becomes healthy"
	tail -30 "$T/r/log" | sed 's/^/#   /'
	summary
	exit 1
fi
ok "relay r becomes healthy"
curl -s "$URL/federation/v1/identity" >"$T/id.json"
RID=$(jq -r .relay_motebit_id "$T/id.json")
PUB=$(jq -r .public_key "$T/id.json")

A=relay-11111111-1111-4111-8111-111111111111	# seed 01
B=relay-22222222-2222-4222-8222-222222222222	# seed 02, never a peer
C=relay-33333333-3333-4333-8333-333333333333	# seed 03
D=relay-44444444-4444-4444-8444-444444444444	# seed 04

# post PATH FILE [curl args]: print the status; body in $T/body, headers
# in $T/headers
post() {
	local path=$1 file=$2
	shift 2
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 15 \
	    -X POST -H 'Content-Type: application/json' "$@" \
	    --data-binary "@$file" "$URL$path"
}

# status_is WANT PATH FILE [curl args]
status_is() {
	local want=$1 got
	shift
	got=$(post "$@")
	if [ "$got" != "$want" ]; then
		echo "status $got, want $want: $(cat "$T/body")"
		return 1
	fi
}

# register SEED ID: propose and confirm as the peer holding SEED
register() {
	local seed=$1 id=$2 nonce rnonce
	nonce=$(openssl rand -hex 32)
	"$FEDSIGN" propose "$seed" "$id" "$DEAD" "$nonce" >"$T/propose.json"
	status_is 200 /federation/v1/peer/propose "$T/propose.json" || return 1
	cp "$T/body" "$T/proposed.json"
	"$FEDSIGN" verify-challenge "$PUB" "$id" "$nonce" \
	    "$(jq -r .challenge "$T/proposed.json")" || return 1
	rnonce=$(jq -r .nonce "$T/proposed.json")
	"$FEDSIGN" confirm "$seed" "$id" "$rnonce" >"$T/confirm.json"
	status_is 200 /federation/v1/peer/confirm "$T/confirm.json" ||
	    return 1
	jq -e '.status == "active" and (.peered_at | type == "number")' \
	    "$T/body"
}

# --- the handshake ---------------------------------------------------------------
check "propose and confirm register relay A" register 01 "$A"
check "the propose answer is the reference's" jq -e \
    '.relay_id == "'"$RID"'" and .public_key == "'"$PUB"'" and
    .spec_version == "motebit/relay-federation@1.4" and
    (.nonce | test("^[0-9a-f]{64}$")) and (keys | length) == 7' \
    "$T/proposed.json"
check "A is active" wait_for 5 bash -c \
    "$CTL -j show peer $A | jq -e '.state == \"active\"'"
"$FEDSIGN" propose 01 "$RID" "$DEAD" aaaa >"$T/self.json"
check "a propose naming this relay: 400" \
    status_is 400 /federation/v1/peer/propose "$T/self.json"
check "... with a clear message" \
    jq -e '.error | test("naming this relay")' "$T/body"
"$FEDSIGN" propose 03 "$C" "$DEAD" aaaa motebit/relay-federation@2.0 \
    >"$T/v2.json"
check "a propose of spec major version 2: 403" \
    status_is 403 /federation/v1/peer/propose "$T/v2.json"
echo '{"relay_id":"'"$C"'","public_key":"'"$PUB"'"}' >"$T/partial.json"
check "a propose without endpoint_url: 400" \
    status_is 400 /federation/v1/peer/propose "$T/partial.json"

# --- heartbeats, body style ------------------------------------------------------
"$FEDSIGN" heartbeat 01 "$A" now 5 >"$T/hb.json"
check "a signed heartbeat: 200" \
    status_is 200 /federation/v1/peer/heartbeat "$T/hb.json"
check "the answer is R's own heartbeat, signed by R" \
    "$FEDSIGN" verify-heartbeat "$PUB" "$T/body"
check "... naming R, with its agent count" jq -e \
    '.relay_id == "'"$RID"'" and (.agent_count | type == "number") and
    (keys | length) == 4' "$T/body"
check "R recorded A's agent count" wait_for 5 bash -c \
    "$CTL -j show peer $A | jq -e '.agent_count == 5'"
check "the same heartbeat again: 409 (replay)" \
    status_is 409 /federation/v1/peer/heartbeat "$T/hb.json"
"$FEDSIGN" heartbeat 02 "$A" now 5 >"$T/forged.json"
check "A's heartbeat signed with another key: 403" \
    status_is 403 /federation/v1/peer/heartbeat "$T/forged.json"
"$FEDSIGN" heartbeat 02 "$B" now 5 >"$T/unknown.json"
check "a heartbeat from a relay R does not know: 403" \
    status_is 403 /federation/v1/peer/heartbeat "$T/unknown.json"
check "... unknown relay" jq -e '.error | test("unknown relay")' "$T/body"
"$FEDSIGN" heartbeat 01 "$A" now-400000 5 >"$T/stale.json"
check "a heartbeat 400 s old: 400" \
    status_is 400 /federation/v1/peer/heartbeat "$T/stale.json"
"$FEDSIGN" heartbeat 01 "$A" now+400000 5 >"$T/early.json"
check "a heartbeat 400 s ahead: 400" \
    status_is 400 /federation/v1/peer/heartbeat "$T/early.json"

# --- heartbeats, header style ------------------------------------------------
TS=$(($(date +%s%N) / 1000000))
echo '{"agent_count":6,"relay_id":"'"$A"'","timestamp":'"$TS"'}' \
    >"$T/hbh.json"
mapfile -t H < <("$FEDSIGN" header 01 "$A" "$TS" "$T/hbh.json")
check "a heartbeat signed with X-Relay-* headers: 200" \
    status_is 200 /federation/v1/peer/heartbeat "$T/hbh.json" \
    -H "${H[0]}" -H "${H[1]}" -H "${H[2]}"
check "... answered with R's signed heartbeat" \
    "$FEDSIGN" verify-heartbeat "$PUB" "$T/body"
check "the same headers again: 409 (replay)" \
    status_is 409 /federation/v1/peer/heartbeat "$T/hbh.json" \
    -H "${H[0]}" -H "${H[1]}" -H "${H[2]}"
echo '{"agent_count":7,"relay_id":"'"$A"'","timestamp":'"$TS"'}' \
    >"$T/hbh2.json"
check "headers over another body: 403" \
    status_is 403 /federation/v1/peer/heartbeat "$T/hbh2.json" \
    -H "${H[0]}" -H "${H[1]}" -H "${H[2]}"
check "an incomplete set of headers: 400" \
    status_is 400 /federation/v1/peer/heartbeat "$T/hbh.json" \
    -H "${H[0]}" -H "${H[2]}"
mapfile -t H < <("$FEDSIGN" header 02 "$A" "$TS" "$T/hbh2.json")
check "headers signed with another key: 403" \
    status_is 403 /federation/v1/peer/heartbeat "$T/hbh2.json" \
    -H "${H[0]}" -H "${H[1]}" -H "${H[2]}"

# --- the peer list ---------------------------------------------------------------
curl -s "$URL/federation/v1/peers" >"$T/peers.json"
check "loopback clients get the peer list in the reference's shape" jq -e \
    '.peers | length == 1 and .[0].peer_relay_id == "'"$A"'" and
    .[0].state == "active" and .[0].agent_count == 6 and
    (.[0] | has("trust_score") and has("circuit_breaker") and
    has("missed_heartbeats") and has("last_heartbeat_at"))' \
    "$T/peers.json"

# --- removal -------------------------------------------------------------------------
check "relay D registers" register 04 "$D"
"$FEDSIGN" remove 04 "$D" >"$T/rm.json"
check "the reference's bare-id removal: 200 removed" \
    status_is 200 /federation/v1/peer/remove "$T/rm.json"
check "... body" jq -e '.status == "removed"' "$T/body"
check "D is removed" wait_for 5 bash -c \
    "$CTL -j show peer $D | jq -e '.state == \"removed\"'"
"$FEDSIGN" heartbeat 04 "$D" now 0 >"$T/hbd.json"
check "a removed relay's heartbeat: 404, as the reference answers" \
    status_is 404 /federation/v1/peer/heartbeat "$T/hbd.json"
"$FEDSIGN" remove2 01 "$A" "$C" now >"$T/rm2.json"
check "a remove-v2 addressed to another relay: 400" \
    status_is 400 /federation/v1/peer/remove "$T/rm2.json"
"$FEDSIGN" remove2 01 "$A" "$RID" now-400000 >"$T/rm2.json"
check "a stale remove-v2: 400" \
    status_is 400 /federation/v1/peer/remove "$T/rm2.json"
"$FEDSIGN" remove2 01 "$A" "$RID" now >"$T/rm2.json"
check "remove-v2 from A: 200" \
    status_is 200 /federation/v1/peer/remove "$T/rm2.json"
check "A is removed" wait_for 5 bash -c \
    "$CTL -j show peer $A | jq -e '.state == \"removed\"'"
check "the same removal again: 409 (replay)" \
    status_is 409 /federation/v1/peer/remove "$T/rm2.json"

# --- the per-peer limit ------------------------------------------------------------
check "relay C registers" register 03 "$C"
: >"$T/codes"
for i in $(seq 1 22); do
	"$FEDSIGN" heartbeat 03 "$C" "now+$i" 1 >"$T/hbc.json"
	post /federation/v1/peer/heartbeat "$T/hbc.json" >>"$T/codes"
	echo >>"$T/codes"
	[ "$(tail -1 "$T/codes")" = 429 ] && break
done
check "C's heartbeats get 429 after 20 requests in a minute" \
    grep -qx 429 "$T/codes"
check "... not before: propose and confirm are not charged to C" \
    test "$(grep -cx 200 "$T/codes")" = 20
check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$T/headers"

# --- metrics ---------------------------------------------------------------------------
curl -s "$URL/metrics" >"$T/metrics"
for r in bad_signature unknown_peer timestamp replay version; do
	check "metrics count $r refusals" grep -Eq \
	    "^relayd_peer_auth_failures_total\{reason=\"$r\"\} [1-9]" \
	    "$T/metrics"
done
check "metrics count per-peer rate limiting" grep -Eq \
    '^relayd_rate_limited_total\{scope="peer"\} [1-9]' "$T/metrics"

# --- the per-IP limit (last: it shuts this client out for a minute) -----
# 650 requests on one connection (keep-alive, so the one frontend counts
# them all): whatever this test sent before and wherever the minute's
# window ends, more than 300 of them fall into one window.
args=()
for i in $(seq 1 650); do
	args+=(-o /dev/null "$URL/federation/v1/peers")
done
curl -s -D "$T/iph" -w '%{http_code}\n' "${args[@]}" >"$T/ipcodes"
check "the per-IP limit answers 429 beyond 300 requests a minute" \
    grep -qx 429 "$T/ipcodes"
check "... and nothing else but 200" \
    test "$(grep -cxv -e 200 -e 429 "$T/ipcodes")" = 0
check "... after at least 300 - 60 allowed (this test's own requests)" \
    test "$(grep -cx 200 "$T/ipcodes")" -ge 240
check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$T/iph"
check "... and the reference's message" jq -e \
    '.error == "Rate limit exceeded" and .status == 429' \
    <(curl -s "$URL/federation/v1/peers")
check "the identity is not limited" test \
    "$(http_code "$URL/federation/v1/identity")" = 200
curl -s "$URL/metrics" >"$T/metrics"
check "metrics count per-IP rate limiting" grep -Eq \
    '^relayd_rate_limited_total\{scope="ip"\} [1-9]' "$T/metrics"
check "relay r still healthy" http_healthy "$URL"
summary
