#!/usr/bin/env bash
# Agents (relayd(8) AGENTS): bootstrap (201, 200, 409, the key pinned),
# register, heartbeat, listing (dollars to micro-units), deregister, all
# with signed agent tokens made by agentctl; the refusals (no token,
# malformed, replayed jti, expired, wrong audience, unknown device, bad
# signature, another agent's listing, field errors) each with its status
# and error; a key change with and without a valid succession record;
# federation_visible=false kept out of agent_count and the manifest;
# relayctl show agents,
# show agent, agent revoke (-j too); the agent_count of heartbeats as a
# peer relay b sees it; the bootstrap per-IP limit.
set -u
. "$(dirname "$0")/lib.sh"

AC="$BUILD/regress/integration/agentctl"
ensure_users
start_pg
create_db relay_a
create_db relay_b

PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
URL="http://127.0.0.1:$PA"
URLB="http://127.0.0.1:$PB"
for r in a b; do
	p=$PA
	[ $r = b ] && p=$PB
	RELAY_DB=relay_$r write_conf $r "$p" "federation {
	enable
	$FED_LOOPBACK
	accept auto
	heartbeat interval 300ms
}"
done

ctl() {
	"$BUILD/relayctl/relayctl" -s "$T/a/relayd.sock" "$@"
}

ctlb() {
	"$BUILD/relayctl/relayctl" -s "$T/b/relayd.sock" "$@"
}

for r in a b; do
	start_relay $r
	u=$URL
	[ $r = b ] && u=$URLB
	if ! wait_for 30 http_healthy "$u"; then
		notok "relay $r becomes healthy"
		tail -30 "$T/$r/log" | sed 's/^/#   /'
		summary
		exit 1
	fi
	ok "relay $r is up"
done
wait_for 10 ctl show peers
wait_for 10 ctlb show peers
check "relay b peers with relay a" ctlb peer add "$URL"

# peer_agents N: relay b's row for relay a says agent_count N
peer_agents() {
	ctlb -j show peers | jq -e --arg u "$URL" --argjson n "$1" \
	    '[.peers[] | select(.endpoint == $u) | .agent_count] == [$n]'
}

# req METHOD PATH TOKEN [BODY]: prints the status, the body in $T/out
req() {
	local m=$1 path=$2 tok=$3 args=()
	shift 3
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ $# -gt 0 ] && args+=(-H 'Content-Type: application/json' \
	    --data-binary "$1")
	curl -s -o "$T/out" -w '%{http_code}' --max-time 5 -X "$m" \
	    "${args[@]}" "$URL$path"
}

# expect DESC STATUS ERROR-SUBSTRING METHOD PATH TOKEN [BODY]
expect() {
	local desc=$1 want=$2 err=$3 got
	shift 3
	got=$(req "$@")
	if [ "$got" = "$want" ] && { [ -z "$err" ] ||
	    jq -e --arg e "$err" '(.error | contains($e)) and
	    .status == '"$want" "$T/out" >/dev/null 2>&1; }; then
		ok "$desc"
	else
		notok "$desc (status $got, want $want${err:+ with $err})"
		sed 's/^/#   /' "$T/out"
		echo
	fi
}

S1=11
S2=22
S3=33
SX=44
M1=$("$AC" id $S1)
M2=$("$AC" id $S2)
M3=$("$AC" id $S3)
D1=dev-1
ADMIN=admin:query
LIST=market:listing

# bootstrap
expect "bootstrap: a new identity is 201" 201 "" POST \
    /api/v1/agents/bootstrap "" "$("$AC" bootstrap $S1 "$M1" $D1)"
check "bootstrap: 201 says registered true" jq -e --arg m "$M1" \
    '.registered == true and .motebit_id == $m and .device_id == "dev-1"' \
    "$T/out"
expect "bootstrap: the same key again is 200" 200 "" POST \
    /api/v1/agents/bootstrap "" "$("$AC" bootstrap $S1 "$M1" $D1)"
check "bootstrap: 200 says registered false" jq -e \
    '.registered == false' "$T/out"
expect "bootstrap: another key for the id is 409" 409 "different public key" \
    POST /api/v1/agents/bootstrap "" \
    "$(jq -c --arg k "$("$AC" pub $SX)" '.public_key = $k' <<<"$("$AC" \
    bootstrap $S1 "$M1" $D1)")"
expect "bootstrap: without device_id one is made" 201 "" POST \
    /api/v1/agents/bootstrap "" "$("$AC" bootstrap $S2 "$M2")"
D2=$(jq -r .device_id "$T/out")
check "bootstrap: the device_id made is a UUID" grep -Eq \
    '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
    <<<"$D2"
expect "bootstrap: public_key not 64 hex is 400" 400 "public_key" POST \
    /api/v1/agents/bootstrap "" "{\"motebit_id\":\"$M3\",\"public_key\":\"abc\"}"
expect "bootstrap: a motebit_id with a space is 400" 400 "motebit_id" POST \
    /api/v1/agents/bootstrap "" \
    "{\"motebit_id\":\"a b\",\"public_key\":\"$("$AC" pub $S3)\"}"
expect "bootstrap: malformed JSON is 400" 400 "malformed JSON" POST \
    /api/v1/agents/bootstrap "" '{"motebit_id":'

REG1=$(jq -nc '{endpoint_url: "http://127.0.0.1:9/agent",
    capabilities: ["web_search", "read_url"],
    metadata: {display_name: "Searcher", description: "finds things"},
    settlement_modes: "relay", sweep_threshold: 1000000}')

# register and the token refusals
expect "register: no token is 401 token_missing" 401 token_missing POST \
    /api/v1/agents/register "" "$REG1"
expect "register: a malformed token is 401 token_malformed" 401 \
    token_malformed POST /api/v1/agents/register "abc.def" "$REG1"
TOK=$("$AC" sign $S1 "{\"mid\":\"$M1\",\"did\":\"$D1\",\"exp\":9999999999999,\"jti\":\"j-suite\",\"aud\":\"$ADMIN\"}")
expect "register: a token without suite is 401 token_suite" 401 \
    token_suite POST /api/v1/agents/register "$TOK" "$REG1"
expect "register: an expired token is 401 token_expired" 401 \
    token_expired POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN now-1000)" "$REG1"
expect "register: a token for 2 days is 401 token_lifetime" 401 \
    token_lifetime POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN now+172800000)" "$REG1"
expect "register: audience market:listing is 403 wrong_audience" 403 \
    wrong_audience POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $LIST)" "$REG1"
expect "register: an unknown device is 401 unknown_device" 401 \
    unknown_device POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" dev-nope $ADMIN)" "$REG1"
expect "register: signed by another key is 401 bad_signature" 401 \
    bad_signature POST /api/v1/agents/register \
    "$("$AC" token $SX "$M1" $D1 $ADMIN)" "$REG1"
TOK=$("$AC" token $S1 "$M1" $D1 $ADMIN)
SIG=${TOK##*.}
case $SIG in A*) C=B ;; *) C=A ;; esac
TAMPERED="${TOK%.*}.$C${SIG#?}"
expect "register: a tampered signature is 401 bad_signature" 401 \
    bad_signature POST /api/v1/agents/register "$TAMPERED" "$REG1"
expect "register: endpoint_url missing is 400" 400 endpoint_url POST \
    /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    '{"capabilities":[]}'
expect "register: a bad capability name is 400" 400 capabilities POST \
    /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    '{"endpoint_url":"","capabilities":["has space"]}'
expect "register: a bad settlement_address is 400" 400 settlement_address \
    POST /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    '{"endpoint_url":"","capabilities":[],"settlement_address":"0OIl"}'
expect "register: settlement_modes other than relay/p2p is 400" 400 \
    settlement_modes POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    '{"endpoint_url":"","capabilities":[],"settlement_modes":"bank"}'
expect "register: federation_visible not boolean is 400" 400 \
    federation_visible POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    '{"endpoint_url":"","capabilities":[],"federation_visible":0}'
expect "register: a display_name of 65 characters is 400" 400 \
    metadata.display_name POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -nc '{endpoint_url:"",capabilities:[],
    metadata:{display_name:("x" * 65)}}')"
expect "register: another agent's motebit_id is 403" 403 motebit_id POST \
    /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -c --arg m "$M2" '.motebit_id = $m' <<<"$REG1")"
expect "register: with a valid token is 200" 200 "" POST \
    /api/v1/agents/register "$TOK" "$REG1"
check "register: 200 says registered, expires in 90 days" jq -e \
    --arg m "$M1" '.registered == true and .motebit_id == $m and
    (.expires_at - (now * 1000) | . > 89 * 86400000 and . < 91 * 86400000)' \
    "$T/out"
expect "register: the same token again is 401 token_replayed" 401 \
    token_replayed POST /api/v1/agents/register "$TOK" "$REG1"

# heartbeat, listing
expect "heartbeat: registered agent is 200" 200 "" POST \
    /api/v1/agents/heartbeat "$("$AC" token $S1 "$M1" $D1 $ADMIN)" '{}'
check "heartbeat: answers ok true" jq -e '.ok == true' "$T/out"
expect "heartbeat: not registered is 404" 404 "not registered" POST \
    /api/v1/agents/heartbeat "$("$AC" token $S2 "$M2" "$D2" $ADMIN)"
expect "heartbeat: wrong audience is 403" 403 wrong_audience POST \
    /api/v1/agents/heartbeat "$("$AC" token $S1 "$M1" $D1 $LIST)" '{}'
LISTING='{"pricing":[{"capability":"web_search","unit_cost":0.05,"currency":"USDC","per":"task"},{"capability":"read_url","unit_cost":0.0001245}],"sla":{"max_latency_ms":120}}'
expect "listing: aud admin:query is 403 wrong_audience" 403 wrong_audience \
    POST "/api/v1/agents/$M1/listing" "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$LISTING"
expect "listing: another agent's path is 403" 403 "another agent" POST \
    "/api/v1/agents/$M2/listing" "$("$AC" token $S1 "$M1" $D1 $LIST)" \
    "$LISTING"
expect "listing: a negative unit_cost is 400" 400 unit_cost POST \
    "/api/v1/agents/$M1/listing" "$("$AC" token $S1 "$M1" $D1 $LIST)" \
    '{"pricing":[{"capability":"web_search","unit_cost":-1}]}'
expect "listing: currency other than USDC is 400" 400 currency POST \
    "/api/v1/agents/$M1/listing" "$("$AC" token $S1 "$M1" $D1 $LIST)" \
    '{"pricing":[{"capability":"web_search","unit_cost":1,"currency":"EUR"}]}'
expect "listing: a valid listing is 200" 200 "" POST \
    "/api/v1/agents/$M1/listing" "$("$AC" token $S1 "$M1" $D1 $LIST)" \
    "$LISTING"
cp "$T/out" "$T/listing.out"
# 0.0001245 * 1e6 is 124.49999999999999 in IEEE doubles: the reference's
# Math.round gives 124 (exact decimal rounding would give 125)
check "listing: a listing id ls-UUID, the lowest price 124 (0.0001245 \
dollars, as the reference's Math.round(x * 1e6))" jq -e \
    '(.listing_id | test("^ls-[0-9a-f-]{36}$")) and .price == 124' \
    "$T/listing.out"
check "listing: stored in micro-units (0.05 is 50000)" test \
    "$(pg_psql -d relay_a -At -c "SELECT string_agg(unit_cost::text, '|'
    ORDER BY capability DESC) FROM agent_pricing")" = '50000|124'

# a key change
S1B=55
expect "register: a new key without succession is 400" 400 succession \
    POST /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -c --arg k "$("$AC" pub $S1B)" '.public_key = $k' <<<"$REG1")"
BADSUCC=$("$AC" succession $SX $S1B now)
expect "register: a succession not signed by the current key is 400" 400 \
    succession POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -c --arg k "$("$AC" pub $S1B)" --argjson s "$BADSUCC" \
    '.public_key = $k | .succession = $s' <<<"$REG1")"
SUCC=$("$AC" succession $S1 $S1B now rotated)
TAMP=$(jq -c '.timestamp += 1' <<<"$SUCC")
expect "register: a tampered succession record is 400" 400 \
    old_key_signature POST /api/v1/agents/register \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -c --arg k "$("$AC" pub $S1B)" --argjson s "$TAMP" \
    '.public_key = $k | .succession = $s' <<<"$REG1")"
expect "register: a valid succession rotates the key (200)" 200 "" POST \
    /api/v1/agents/register "$("$AC" token $S1 "$M1" $D1 $ADMIN)" \
    "$(jq -c --arg k "$("$AC" pub $S1B)" --argjson s "$SUCC" \
    '.public_key = $k | .succession = $s' <<<"$REG1")"
expect "after the rotation the old key's token is 401 bad_signature" 401 \
    bad_signature POST /api/v1/agents/heartbeat \
    "$("$AC" token $S1 "$M1" $D1 $ADMIN)"
expect "after the rotation the new key's token is 200" 200 "" POST \
    /api/v1/agents/heartbeat "$("$AC" token $S1B "$M1" $D1 $ADMIN)"
check "the rotation owes the peers a key_rotated revocation" test \
    "$(pg_psql -d relay_a -At -c "SELECT type || ' ' || new_public_key
    FROM agent_revocations WHERE motebit_id = '$M1'")" = \
    "key_rotated $("$AC" pub $S1B)"
expect "bootstrap: the old key is 409 now, the key is pinned" 409 "" POST \
    /api/v1/agents/bootstrap "" "$("$AC" bootstrap $S1 "$M1" $D1)"

# an invisible agent, the agent count
expect "register: a second agent, federation_visible false" 200 "" POST \
    /api/v1/agents/register "$("$AC" token $S2 "$M2" "$D2" $ADMIN)" \
    '{"endpoint_url":"","capabilities":["summarize"],"federation_visible":false}'
check "motebit.json: agent_count counts the visible agent only" wait_for 10 \
    bash -c "curl -s '$URL/.well-known/motebit.json' |
    jq -e '.agent_count == 1'"
check "relay b hears agent_count 1 in relay a's heartbeats" \
    wait_for 10 peer_agents 1

# keyd builds the manifest and lists no agents yet (relayd(8) CAVEATS)
check "mesh manifest: the invisible agent is absent" bash -c \
    "curl -s '$URL/.well-known/mesh-manifest.json' |
    jq -e '.agents | map(.motebit_id) | index(\"$M2\") == null'"

# relayctl
check "relayctl show agents lists both" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' show agents |
    grep -q '$M1' && '$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' \
    show agents | grep -q '$M2'"
check "relayctl -j show agents capability web_search lists one" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' -j show agents \
    capability web_search | jq -e '.agents | length == 1 and
    .[0].motebit_id == \"$M1\" and .[0].price == 124 and .[0].visible'"
check "relayctl -j show agent: the rotated key and its listing" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' -j show agent '$M1' |
    jq -e '.public_key == \"$("$AC" pub $S1B)\" and .registered == true and
    (.listing_id | startswith(\"ls-\")) and .pending_revocations == 1 and
    .capabilities == [\"web_search\", \"read_url\"]'"
check "relayctl show agent of an unknown id fails" bash -c \
    "! '$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' show agent nope"
check "relayctl agent revoke" ctl agent revoke "$M2"
expect "a revoked agent's token is 403 identity_revoked" 403 \
    identity_revoked POST /api/v1/agents/heartbeat \
    "$("$AC" token $S2 "$M2" "$D2" $ADMIN)"
expect "a revoked identity cannot bootstrap again (403)" 403 \
    identity_revoked POST /api/v1/agents/bootstrap "" \
    "$("$AC" bootstrap $S2 "$M2" "$D2")"
check "relayctl -j show agent: revoked" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' -j show agent '$M2' |
    jq -e '.revoked == true'"
check "relayctl agent revoke twice fails" bash -c \
    "! '$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' agent revoke '$M2'"
check "relayctl -j agent revoke of an unknown id says revoked false" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' -j agent revoke nope |
    jq -e '.revoked == false and .motebit_id == \"nope\"'"
check "relayctl show agents shows the revoked state" bash -c \
    "'$BUILD/relayctl/relayctl' -s '$T/a/relayd.sock' show agents |
    grep '$M2' | grep -q revoked"

# deregister
expect "deregister: wrong audience is 403" 403 wrong_audience DELETE \
    /api/v1/agents/deregister "$("$AC" token $S1B "$M1" $D1 $LIST)"
expect "deregister: POST is 405" 405 "" POST /api/v1/agents/deregister \
    "$("$AC" token $S1B "$M1" $D1 $ADMIN)" '{}'
expect "deregister: 200" 200 "" DELETE /api/v1/agents/deregister \
    "$("$AC" token $S1B "$M1" $D1 $ADMIN)"
expect "deregister: again is 404" 404 "not registered" DELETE \
    /api/v1/agents/deregister "$("$AC" token $S1B "$M1" $D1 $ADMIN)"
check "deregister: owes the peers an agent_revoked" test \
    "$(pg_psql -d relay_a -At -c "SELECT count(*) FROM agent_revocations
    WHERE motebit_id = '$M1' AND type = 'agent_revoked'")" = 1
check "motebit.json: agent_count is 0 after deregister" wait_for 10 \
    bash -c "curl -s '$URL/.well-known/motebit.json' |
    jq -e '.agent_count == 0'"
check "relay b hears agent_count 0 after the deregistration" \
    wait_for 10 peer_agents 0

# the bootstrap limit: 10 a minute per address and frontend (prefork 2)
n429=0
for i in $(seq 1 21); do
	c=$(req POST /api/v1/agents/bootstrap "" "$("$AC" bootstrap $S3 "$M3")")
	[ "$c" = 429 ] && n429=$((n429 + 1))
done
check "bootstrap: the per-IP limit answers 429 (got $n429)" test "$n429" -ge 1
check "the relay is still healthy" http_healthy "$URL"

summary
