#!/usr/bin/env bash
# Peering: three relays A, B and C on loopback, one PostgreSQL cluster
# with a database each, heartbeats every 200ms; C serves https with a
# certificate from a test CA the others trust through SSL_CERT_FILE.  Handshakes (auto and
# manual acceptance, decline, allow and block lists, max peers), signed
# heartbeats with RTT, suspension and removal of a stopped peer, no
# revival of a removed one, restarts without a new handshake, removal on
# both sides with the cool-down, and the checks on inbound requests:
# replay 409, forged signature 403, unknown relay 403, wrong major
# version 403, self-propose 400, key change for a known id refused, per-
# handshake limit 429.
set -u
. "$(dirname "$0")/lib.sh"

ensure_users
start_pg
create_db relay_a
create_db relay_b
create_db relay_c

PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
PC=$(free_port)
while [ "$PC" = "$PA" ] || [ "$PC" = "$PB" ]; do PC=$(free_port); done
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
UC="https://127.0.0.1:$PC"

# a test CA, C's certificate for 127.0.0.1, and an untrusted one
mkdir "$T/tls"
(
	cd "$T/tls" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout ca.key -out ca.pem -subj /CN=relayd-test-ca -days 2
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout c.key -out c.csr -subj /CN=127.0.0.1
	printf 'subjectAltName=IP:127.0.0.1\n' >c.ext
	openssl x509 -req -in c.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -out c.pem -days 2 -extfile c.ext
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout self.key -out self.pem -subj /CN=127.0.0.1 -days 2 \
	    -addext subjectAltName=IP:127.0.0.1
	chmod 600 ./*.key
) >/dev/null 2>&1
# the peer engines read it at start-up; curl too
export SSL_CERT_FILE="$T/tls/ca.pem" CURL_CA_BUNDLE="$T/tls/ca.pem"
declare -A PORT=([a]=$PA [b]=$PB [c]=$PC)
declare -A URL=([a]=$UA [b]=$UB [c]=$UC)
declare -A RID KEY PID

# conf NAME FEDERATION-LINES...: (re)writes NAME's relayd.conf
conf() {
	local name=$1
	shift
	RELAY_DB=relay_$name write_conf "$name" "${PORT[$name]}" \
	    "federation {
	enable
	$FED_LOOPBACK
	heartbeat interval 200ms
	rate limit 100000 per 1m
$(printf '\t%s\n' "$@")
}"
	[ "$name" = c ] || return 0
	sed -i -e "s|^endpoint .*|endpoint \"$UC\"|" \
	    -e "s|^listen on .*|listen on 127.0.0.1 port $PC tls certificate \"$T/tls/c.pem\" key \"$T/tls/c.key\"|" \
	    "$T/c/relayd.conf"
}

start() {
	start_relay "$1"
	PID[$1]=$RELAY_PID
	if ! wait_for 30 http_healthy "${URL[$1]}"; then
		notok "relay $1 becomes healthy"
		tail -30 "$T/$1/log" | sed 's/^/#   /'
		summary
		exit 1
	fi
	# the peer table is loaded once ledgerd is up
	wait_for 10 ctl "$1" show peers
}

stop() {
	kill -TERM "${PID[$1]}"
	wait "${PID[$1]}" 2>/dev/null
}

ctl() {
	local name=$1
	shift
	"$BUILD/relayctl/relayctl" -s "$T/$name/relayd.sock" "$@"
}

# peer_json NAME ID: `show peer' as JSON, {} when unknown
peer_json() {
	ctl "$1" -j show peer "$2" 2>/dev/null || echo '{}'
}

# field NAME ID JQ: one field of NAME's row for ID
field() {
	peer_json "$1" "$2" | jq -r "$3"
}

is_state() {
	[ "$(field "$1" "$2" .state)" = "$3" ]
}

# post NAME PATH JSON: print the HTTP status; body in $T/body, headers
# in $T/headers
post() {
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 10 \
	    -X POST -H 'Content-Type: application/json' --data "$3" \
	    "${URL[$1]}$2"
}

# sign NAME MESSAGE: hex Ed25519 signature with relay NAME's key file
sign() {
	printf '%s' "$2" >"$T/msg"
	openssl pkeyutl -sign -inkey "$T/$1/relay.key" -rawin -in "$T/msg" |
	    od -An -v -tx1 | tr -d ' \n'
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# heartbeat_body NAME: a heartbeat signed by relay NAME, now
heartbeat_body() {
	local ts
	ts=$(now_ms)
	printf '{"agent_count":0,"relay_id":"%s","signature":"%s","timestamp":%s}' \
	    "${RID[$1]}" "$(sign "$1" "${RID[$1]}|$ts|motebit-concat-ed25519-hex-v1")" \
	    "$ts"
}

# propose_body ID KEY [SPEC]: a propose with a fresh nonce
propose_body() {
	printf '{"display_name":"x","endpoint_url":"http://127.0.0.1:9","nonce":"%s","public_key":"%s","relay_id":"%s","spec_version":"%s"}' \
	    "$(openssl rand -hex 32)" "$2" "$1" \
	    "${3:-motebit/relay-federation@1.4}"
}

uuid_relay() {
	echo "relay-$(cat /proc/sys/kernel/random/uuid)"
}

conf a "accept auto" "suspend after 3" "remove after 5"
conf b "accept manual" "suspend after 3" "remove after 5"
conf c "accept manual" "suspend after 3" "remove after 5" "max peers 2"
start a
start b
start c
for r in a b c; do
	curl -s "${URL[$r]}/federation/v1/identity" >"$T/id.json"
	RID[$r]=$(jq -r .relay_motebit_id "$T/id.json")
	KEY[$r]=$(jq -r .public_key "$T/id.json")
done
check "three relays with distinct ids" test "${RID[a]}" != "${RID[b]}" -a \
    "${RID[b]}" != "${RID[c]}" -a -n "${RID[c]}"
check "the identity lists peer-accepted and remove-v2" \
    jq -e '.extensions | index("peer-accepted") and index("remove-v2")' \
    <(curl -s "$UA/federation/v1/identity")
check "show peers is empty at first" \
    jq -e '.peers == []' <(ctl a -j show peers)
check "C announces its https endpoint" test \
    "$(curl -s "$UC/federation/v1/identity" | jq -r .endpoint_url)" = "$UC"

# --- https: an endpoint whose certificate does not verify -------------------
PS=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$PS" -cert "$T/tls/self.pem" \
    -key "$T/tls/self.key" -www >/dev/null 2>&1 </dev/null &
track_pid $!
# (until s_server listens, the attempts fail to connect)
untrusted() {
	ctl a -j peer add "https://127.0.0.1:$PS" >"$T/add.json"
	jq -e '.ok == false and .outcome == "failed" and
	    (.message | test("TLS: certificate verify failed"))' "$T/add.json"
}
check "peer add to an untrusted https endpoint fails in TLS" \
    wait_for 10 untrusted
# names resolve from /etc/hosts in the sandbox: nothing listens on port 1
ctl a -j peer add "http://localhost:1" >"$T/add.json"
check "a host name resolves (then the connection is refused)" \
    jq -e '.ok == false and (.message | test("cannot connect"))' \
    "$T/add.json"

# --- auto accept ---------------------------------------------------------------
ctl b -j peer add "$UA" >"$T/add.json"
check "peer add to an accept-auto relay: active" \
    jq -e '.ok and .outcome == "active" and .peer.relay_id == "'"${RID[a]}"'"' \
    "$T/add.json"
check "the initiator pinned the responder's key" \
    test "$(jq -r .peer.public_key "$T/add.json")" = "${KEY[a]}"
check "A and B active on both sides" wait_for 10 bash -c \
    "[ \"\$('$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[b]} | jq -r .state)\" = active ] &&
     [ \"\$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} | jq -r .state)\" = active ]"
check "A sees B inbound, B sees A outbound" test \
    "$(field a "${RID[b]}" .inbound)/$(field b "${RID[a]}" .inbound)" = \
    true/false
check "heartbeats flow both ways with RTT shown" wait_for 10 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[b]} |
	jq -e '.last_heartbeat != null and .rtt_ms != null and .missed == 0' &&
     '$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} |
	jq -e '.last_heartbeat != null and .rtt_ms != null and .missed == 0'"
check "show peers prints the RTT in ms" \
    grep -Eq "${RID[a]} .* active .*[0-9]+ms" <(ctl b show peers)
check "B learned A's extensions" \
    jq -e '.extensions | index("remove-v2")' <(peer_json b "${RID[a]}")
check "A learned B's fee rate and extensions" wait_for 10 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[b]} |
	jq -e '.extensions != null and .fee_ppm == 50000'"
check "a second peer add of an active peer is refused" \
    bash -c "! '$BUILD/relayctl/relayctl' -s $T/b/relayd.sock peer add $UA"
check "every state change is logged with its reason" \
    grep -q "peer ${RID[a]} (a): pending -> active: handshake and heartbeat round trip verified" \
    "$T/b/log"

# --- manual accept, decline ------------------------------------------------------
ctl b -j peer add "$UC" >"$T/add.json"
check "peer add to an accept-manual relay: pending approval" \
    jq -e '.ok and .outcome == "pending" and
    (.message | test("pending approval on the other side"))' "$T/add.json"
check "B waits for C" test "$(field b "${RID[c]}" .awaiting)" = them
ctl c -j show requests >"$T/req.json"
check "show requests lists B with its key fingerprint and DID" \
    jq -e '.requests | length == 1 and .[0].relay_id == "'"${RID[b]}"'" and
    (.[0].fingerprint | test("^[0-9a-f]{64}$")) and
    (.[0].did | startswith("did:key:z6Mk"))' "$T/req.json"
check "show requests, text" grep -q "SHA256:" <(ctl c show requests)
check "C declines B" ctl c peer decline "${RID[b]}"
check "C shows B removed: declined" \
    jq -e '.state == "removed" and (.reason | test("declined by the operator"))' \
    <(peer_json c "${RID[b]}")
check "B shows C removed: declined by the peer" wait_for 10 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[c]} |
	jq -e '.state == \"removed\" and (.reason | test(\"declined by the peer\"))'"
check "show requests is empty again" \
    jq -e '.requests == []' <(ctl c -j show requests)

ctl c -j peer add "$UB" >"$T/add.json"
check "C proposes to B (manual): pending" \
    jq -e '.outcome == "pending"' "$T/add.json"
check "B accepts C" ctl b peer accept "${RID[c]}"
check "B and C active on both sides after the acceptance" wait_for 10 bash -c \
    "[ \"\$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[c]} | jq -r .state)\" = active ] &&
     [ \"\$('$BUILD/relayctl/relayctl' -s $T/c/relayd.sock -j show peer ${RID[b]} | jq -r .state)\" = active ]"
check "C logged the peer-accepted notice" \
    grep -q "peer ${RID[b]} (b): pending -> active: accepted by its operator" \
    "$T/c/log"

# --- allow and block lists, max peers --------------------------------------------
conf c "accept manual" "suspend after 3" "remove after 5" "max peers 2" \
    "allow ${RID[a]}" "block $(uuid_relay)"
check "reload C with an allow list" ctl c reload
ctl a -j peer add "$UC" >"$T/add.json"
check "an allowed relay is accepted at once despite accept manual" \
    jq -e '.outcome == "active"' "$T/add.json"
check "C logged the allow list" \
    grep -q "peer ${RID[a]} (a): .*accepted automatically (allow list)" \
    "$T/c/log"
check "max peers: C is full, a further propose gets 503" \
    test "$(post c /federation/v1/peer/propose \
    "$(propose_body "$(uuid_relay)" "$(openssl rand -hex 32)")")" = 503
check "the 503 names the peer limit" jq -e '.status == 503' "$T/body"
check "the 503 says when to retry" \
    grep -Eqi '^retry-after: [1-9]' "$T/headers"
conf b "accept manual" "suspend after 3" "remove after 5" "block ${RID[c]}"
check "reload B with C blocked" ctl b reload
check "a propose from a blocked relay gets 403" \
    test "$(post b /federation/v1/peer/propose \
    "$(propose_body "${RID[c]}" "${KEY[c]}")")" = 403
conf b "accept manual" "suspend after 3" "remove after 5"
ctl b reload >/dev/null

# --- inbound checks ------------------------------------------------------------
check "self-propose: 400" test "$(post a /federation/v1/peer/propose \
    "$(propose_body "${RID[a]}" "${KEY[a]}")")" = 400
check "self-propose: no challenge in the answer" \
    jq -e '.challenge == null and .status == 400' "$T/body"
check "wrong major spec version: 403" \
    test "$(post a /federation/v1/peer/propose "$(propose_body \
    "$(uuid_relay)" "$(openssl rand -hex 32)" \
    motebit/relay-federation@2.0)")" = 403
check "a key change for a known relay id is refused" \
    test "$(post a /federation/v1/peer/propose \
    "$(propose_body "${RID[b]}" "$(openssl rand -hex 32)")")" = 403
check "... as a key mismatch" \
    jq -e '.error | test("key mismatch for known relay")' "$T/body"
check "a new relay id presenting this relay's own key is refused" \
    test "$(post a /federation/v1/peer/propose \
    "$(propose_body "$(uuid_relay)" "${KEY[a]}")")" = 403
check "... with no challenge in the answer" \
    jq -e '.challenge == null and (.error | test("own key"))' "$T/body"
check "a new relay id presenting B's pinned key is refused" \
    test "$(post a /federation/v1/peer/propose \
    "$(propose_body "$(uuid_relay)" "${KEY[b]}")")" = 403
check "... naming the relay the key is pinned to" \
    jq -e '.error | test("pinned to relay '"${RID[b]}"'")' "$T/body"
check "B is still active at A after the forged propose" \
    is_state a "${RID[b]}" active
HB=$(heartbeat_body a)
check "a heartbeat signed by A is accepted by B" \
    test "$(post b /federation/v1/peer/heartbeat "$HB")" = 200
check "the heartbeat answer is B's own signed heartbeat" \
    jq -e '.relay_id == "'"${RID[b]}"'" and (.signature | length == 128)' \
    "$T/body"
check "the same heartbeat replayed: 409" \
    test "$(post b /federation/v1/peer/heartbeat "$HB")" = 409
TS=$(now_ms)
FORGED=$(printf '{"agent_count":0,"relay_id":"%s","signature":"%s","timestamp":%s}' \
    "${RID[a]}" "$(sign b "${RID[a]}|$TS|motebit-concat-ed25519-hex-v1")" "$TS")
check "a heartbeat in A's name signed by another key: 403" \
    test "$(post b /federation/v1/peer/heartbeat "$FORGED")" = 403
UNKNOWN=$(uuid_relay)
TS=$(now_ms)
check "a heartbeat from an unknown relay: 403" \
    test "$(post b /federation/v1/peer/heartbeat \
    "$(printf '{"agent_count":0,"relay_id":"%s","signature":"%s","timestamp":%s}' \
    "$UNKNOWN" "$(sign a "$UNKNOWN|$TS|motebit-concat-ed25519-hex-v1")" \
    "$TS")")" = 403
check "confirm without a pending handshake: 404" \
    test "$(post a /federation/v1/peer/confirm \
    "{\"relay_id\":\"$(uuid_relay)\",\"challenge_response\":\"$(openssl rand -hex 64)\"}")" = 404
X=$(uuid_relay)
check "a propose from a new relay is answered with a challenge" \
    test "$(post a /federation/v1/peer/propose \
    "$(propose_body "$X" "$(openssl rand -hex 32)")")" = 200
check "... a nonce and a challenge" \
    jq -e '(.nonce | length == 64) and (.challenge | length == 128) and
    .relay_id == "'"${RID[a]}"'"' "$T/body"
check "a confirm with a bad challenge_response: 403" \
    test "$(post a /federation/v1/peer/confirm \
    "{\"relay_id\":\"$X\",\"challenge_response\":\"$(openssl rand -hex 64)\"}")" = 403
check "... and the pending row is gone" \
    bash -c "! '$BUILD/relayctl/relayctl' -s $T/a/relayd.sock show peer $X"
# every frontend reports its counters within a second
auth_counted() {
	curl -s "$UB/metrics" >"$T/metrics"
	awk '/^relayd_peer_auth_failures_total\{reason="replay"\} [1-9]/ {r=1}
	    /^relayd_peer_auth_failures_total\{reason="bad_signature"\} [1-9]/ {s=1}
	    END {exit !(r && s)}' "$T/metrics"
}
check "metrics: replay and bad signature counted" wait_for 5 auth_counted
check "metrics: peers by state" \
    grep -q '^relayd_peers{state="active"} 2' "$T/metrics"
check "metrics: heartbeats sent, answered and received" \
    awk '/^relayd_peer_heartbeats_total\{result="(sent|answered|received)"\} [1-9]/ {n++}
    END {exit n != 3}' "$T/metrics"
check "metrics: handshakes by outcome" \
    grep -q '^relayd_peer_handshakes_total{direction="outbound",outcome="active"} 1' \
    "$T/metrics"

# --- removal on both sides, cool-down --------------------------------------------
ctl c -j peer remove "${RID[a]}" >"$T/rm.json"
check "C removes A and notifies it with remove-v2" \
    jq -e '.ok and .outcome == "removed" and (.message | test("remove-v2"))' \
    "$T/rm.json"
check "A shows C removed by the peer" wait_for 5 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[c]} |
	jq -e '.state == \"removed\" and (.reason | test(\"removed by the peer\"))'"
ctl a -j peer add "$UC" >"$T/add.json"
check "re-peering within the cool-down is refused with 429" \
    jq -e '.ok == false and (.message | test("429"))' "$T/add.json"
check "A blocks C" ctl a peer block "${RID[c]}"
check "the block is kept in the row" \
    jq -e '.blocked and .state == "removed"' <(peer_json a "${RID[c]}")
check "a propose from a relay blocked with relayctl: 403" \
    test "$(post a /federation/v1/peer/propose \
    "$(propose_body "${RID[c]}" "${KEY[c]}")")" = 403

# --- stop B: suspended after 3 missed rounds, removed after 5 ---------------------
PEERED_B=$(field b "${RID[a]}" .peered_at)
stop b
check "A suspends B after 3 missed heartbeats" wait_for 10 grep -q \
    "peer ${RID[b]} (b): active -> suspended: 3 heartbeats missed in a row" \
    "$T/a/log"
check "A removes B after 5" wait_for 10 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[b]} |
	jq -e '.state == \"removed\" and .missed == 5'"
check "the reason names the missed heartbeats" \
    jq -e '.reason | test("5 heartbeats missed in a row")' \
    <(peer_json a "${RID[b]}")
check "A logged the removal" grep -q \
    "peer ${RID[b]} (b): suspended -> removed: 5 heartbeats missed" \
    "$T/a/log"

# --- restart B: no automatic revival, peer add works again -----------------------
start b
check "B resumes its table after the restart" \
    test "$(field b "${RID[a]}" .peered_at)" = "$PEERED_B"
check "B's heartbeats are refused by A: B removes A in turn" wait_for 10 \
    is_state b "${RID[a]}" removed
check "... with the reason" jq -e '.reason | test("HTTP 404")' \
    <(peer_json b "${RID[a]}")
check "B's heartbeats did not revive it at A" \
    jq -e '.state == "removed" and (.reason | test("5 heartbeats missed"))' \
    <(peer_json a "${RID[b]}")
ctl b -j peer add "$UA" >"$T/add.json"
check "peer add works again after the removal" \
    jq -e '.ok and .outcome == "active"' "$T/add.json"
check "A shows B active again" wait_for 10 is_state a "${RID[b]}" active

# --- restart A: peers resume without a new handshake ------------------------------
conf b "accept manual" "suspend after 3" "remove after 200"
ctl b reload >/dev/null
PEERED_A=$(field a "${RID[b]}" .peered_at)
PEERED_B=$(field b "${RID[a]}" .peered_at)
PROPOSES=$(grep -c 'proposed from' "$T/b/log")
stop a
start a
check "A's table survived the restart" is_state a "${RID[b]}" active
check "heartbeats resume both ways" wait_for 10 bash -c \
    "[ \"\$('$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show peer ${RID[b]} | jq -r '.missed, .state' | tr '\n' ' ')\" = '0 active ' ] &&
     [ \"\$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} | jq -r '.missed, .state' | tr '\n' ' ')\" = '0 active ' ]"
check "no new handshake: peered_at unchanged on both sides" test \
    "$(field a "${RID[b]}" .peered_at)/$(field b "${RID[a]}" .peered_at)" = \
    "$PEERED_A/$PEERED_B"
check "no new propose reached B" \
    test "$(grep -c 'proposed from' "$T/b/log")" = "$PROPOSES"
T0=$(now_ms)
check "A's heartbeats reach B after the restart" wait_for 5 bash -c \
    "[ \$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} | jq -r .last_heartbeat) -gt $T0 ]"

# --- PostgreSQL down: commands fail clearly, the engine keeps going ---------------
"$SRC/regress/pg.sh" stop "$PGDIR" >/dev/null
check "status shows PostgreSQL unavailable" wait_for 20 bash -c \
    "'$BUILD/relayctl/relayctl' -s $T/a/relayd.sock -j show status | jq -e '.relay.postgresql_connected == false'"
ctl a -j peer remove "${RID[b]}" >"$T/rm.json"
check "peer remove fails while the database is down" \
    jq -e '.ok == false and (.message | test("database unavailable"))' \
    "$T/rm.json"
check "... and changes nothing" is_state a "${RID[b]}" active
check "heartbeats go on without the database" wait_for 5 bash -c \
    "[ \$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} | jq -r .last_heartbeat) -gt \$((\$(date +%s%N) / 1000000 - 1000)) ]"
eval "$("$SRC/regress/pg.sh" start "$PGDIR")"
for r in a b c; do
	check "relay $r reconnects to PostgreSQL" wait_for 30 bash -c \
	    "'$BUILD/relayctl/relayctl' -s $T/$r/relayd.sock -j show status | jq -e '.relay.postgresql_connected'"
done

# --- the handshake limit -----------------------------------------------------------
# Propose is unauthenticated: it is charged to the relay-wide `handshake
# limit', not to the relay it names (issue 8, finding 1).
conf c "accept manual" "handshake limit 3 per 1m"
check "reload C with a low handshake limit" ctl c reload
X=$(uuid_relay)
XK=$(openssl rand -hex 32)
for i in 1 2 3; do
	post c /federation/v1/peer/propose "$(propose_body "$X" "$XK")" \
	    >/dev/null
done
check "more than \`handshake limit' proposes: 429" \
    test "$(post c /federation/v1/peer/propose \
    "$(propose_body "$X" "$XK")")" = 429
check "the 429 names the handshake limit" \
    jq -e '.error | test("Handshake limit exceeded")' "$T/body"
check "the 429 says when to retry" \
    grep -Eqi '^retry-after: [1-9]' "$T/headers"

# --- the daemons survived everything ------------------------------------------------
for r in a b c; do
	check "relay $r: no heartbeat was refused by the per-IP limit" grep -q \
	    '^relayd_rate_limited_total{scope="ip"} 0' \
	    <(curl -s "${URL[$r]}/metrics")
done
for r in a b c; do
	check "relay $r still healthy" wait_for 10 http_healthy "${URL[$r]}"
done

summary
