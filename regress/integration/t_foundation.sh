#!/usr/bin/env bash
# Foundation: one relay with a private PostgreSQL cluster.  Privilege
# separation, sandboxing, signed documents, health, metrics, control
# socket, reload, PostgreSQL restart, child death, shutdown.
set -u
. "$(dirname "$0")/lib.sh"

SIGCHECK="$BUILD/regress/integration/sigcheck"
ensure_users
start_pg
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
write_conf a "$PORT"
D="$T/a"
CTL="-s $D/relayd.sock"

start_relay a
if wait_for 30 http_healthy "$URL"; then
	ok "relay a becomes healthy"
else
	notok "relay a becomes healthy"
	tail -30 "$D/log" | sed 's/^/#   /'
	summary
	exit 1
fi

# --- identity and signed documents ---------------------------------------
curl -s "$URL/federation/v1/identity" >"$T/identity.json"
PUB=$(jq -r .public_key "$T/identity.json")
RID=$(jq -r .relay_motebit_id "$T/identity.json")
check "identity is canonical JSON" "$SIGCHECK" canonical "$T/identity.json"
check "identity names the spec" \
    test "$(jq -r .spec "$T/identity.json")" = "motebit/relay-federation@1.4"
check "relay id is relay-<uuid v4>" \
    grep -Eq '^relay-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
    <<<"$RID"
check "public key is 64 hex" grep -Eq '^[0-9a-f]{64}$' <<<"$PUB"
check "did is did:key:z6Mk" grep -q '^did:key:z6Mk' \
    <<<"$(jq -r .did "$T/identity.json")"
check "identity has display_name, endpoint_url and extensions" \
    jq -e '.display_name == "a" and (.endpoint_url | startswith("http"))
    and (.extensions | type == "array")' "$T/identity.json"
curl -s "$URL/.well-known/motebit.json" >"$T/motebit.json"
check "motebit.json signature verifies" "$SIGCHECK" doc "$T/motebit.json" "$PUB"
check "motebit.json names the relay" \
    test "$(jq -r .relay_id "$T/motebit.json")" = "$RID"
check "motebit.json: keyd's generated_at, within a minute of now" \
    jq -e "(.generated_at / 1000 - $(date +%s)) | fabs < 60" "$T/motebit.json"
curl -s "$URL/.well-known/mesh-manifest.json" >"$T/manifest.json"
check "mesh manifest signature verifies" "$SIGCHECK" doc "$T/manifest.json" "$PUB"
cp "$T/motebit.json" "$T/tampered.json"
sed -i 's/"agent_count":[0-9]*/"agent_count":999/' "$T/tampered.json"
check "a tampered document does not verify" \
    bash -c "! '$SIGCHECK' doc '$T/tampered.json' '$PUB'"

# --- health and metrics --------------------------------------------------
check "health reports every engine" \
    jq -e '.checks.peer == "ok" and .checks.routed == "ok" and
    .checks.ledgerd == "ok"' <(curl -s "$URL/health")
curl -s "$URL/metrics" >"$T/metrics"
check "metrics count requests by route and status" \
    grep -q '^relayd_http_requests_total{' "$T/metrics"
check "metrics count signatures by kind" \
    grep -q '^relayd_signatures_total{kind="metadata"}' "$T/metrics"
check "metrics report PostgreSQL up" \
    grep -q '^relayd_postgresql_up 1' "$T/metrics"

# --- bad input -------------------------------------------------------------
check "unknown path is a JSON 404" \
    jq -e '.status == 404' <(curl -s "$URL/nonexistent")
check "malformed JSON gets 400" test "$(http_code -X POST \
    -H 'Content-Type: application/json' --data '{"a":' \
    "$URL/federation/v1/peer/propose")" = 400
check "duplicate keys get 400" test "$(http_code -X POST \
    -H 'Content-Type: application/json' --data '{"a":1,"a":2}' \
    "$URL/federation/v1/peer/propose")" = 400
head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big"
check "oversized body gets 413" test "$(http_code -X POST \
    -H 'Content-Type: application/json' --data-binary "@$T/big" \
    "$URL/federation/v1/peer/propose")" = 413
check "oversized chunked body gets 413" test "$(http_code -X POST \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$T/big" "$URL/federation/v1/peer/propose")" = 413
check "still healthy after bad input" http_healthy "$URL"

# --- relayctl ----------------------------------------------------------------
check "relayctl show status" relayctl $CTL show status
relayctl $CTL -j show status >"$T/status.json"
check "relayctl -j show status lists every process" \
    jq -e '(.processes | length) == 7 and .relay.relay_id == "'"$RID"'"
    and .relay.postgresql_connected' "$T/status.json"
check "relayctl show key matches the identity" \
    test "$(relayctl $CTL -j show key | jq -r .public_key)" = "$PUB"
check "relayctl accepts unique prefixes" relayctl $CTL sh st
check "relayctl usage error exits 2" \
    bash -c "'$BUILD/relayctl/relayctl' $CTL show bogus; test \$? = 2"
check "relayctl without relayd exits 1" \
    bash -c "'$BUILD/relayctl/relayctl' -s '$T/none.sock' show status; test \$? = 1"
check "relayctl log verbose" relayctl $CTL log verbose
check "relayctl log brief" relayctl $CTL log brief

# --- privilege separation and sandbox --------------------------------------
check "every child is listed by relayctl" test "$(jq '[.processes[] |
    select(.process != "parent")] | length' "$T/status.json")" = \
    "$(child_pids "$RELAY_PID" | wc -l)"
for row in $(jq -r '.processes[] | select(.process != "parent") |
    "\(.name)=\(.pid)"' "$T/status.json"); do
	name=${row%=*}
	pid=${row#*=}
	st=/proc/$pid/status
	check "$name: child of relayd" \
	    test "$(awk '/^PPid:/ {print $2}' "$st")" = "$RELAY_PID"
	check "$name: seccomp filter" grep -q '^Seccomp:[[:space:]]*2' "$st"
	check "$name: no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1' "$st"
	check "$name: not dumpable after the privilege drop" jq -e \
	    --arg n "$name" '.processes[] | select(.name == $n) |
	    .dumpable == 0' "$T/status.json"
	if [ "$AS_ROOT" = 1 ]; then
		uid=$(awk '/^Uid:/ {print $2}' "$st")
		want=_relayd
		[ "$name" = keyd ] && want=_relayd-key
		check "$name: runs as $want" \
		    test "$uid" = "$(id -u "$want")"
		check "$name: chrooted" \
		    test "$(readlink "/proc/$pid/root")" != /
	fi
done
check "relayd parent runs as root only when started as root" \
    test "$(awk '/^Uid:/ {print $2}' "/proc/$RELAY_PID/status")" = "$(id -u)"

# --- audit log ---------------------------------------------------------------
check "audit log has records" test -s "$D/sign.log"
check "relayctl verify audit: chain intact" \
    relayctl verify audit "$D/sign.log"
cp "$D/sign.log" "$T/sign.bad"
sed -i '1s/kind=[a-z0-9_]*/kind=forged/' "$T/sign.bad"
check "relayctl verify audit detects tampering" \
    bash -c "'$BUILD/relayctl/relayctl' verify audit '$T/sign.bad'; test \$? = 1"

# --- reload --------------------------------------------------------------------
cp "$D/relayd.conf" "$D/relayd.conf.good"
echo 'fee 500%' >>"$D/relayd.conf"
check "a bad reload is refused" \
    bash -c "'$BUILD/relayctl/relayctl' $CTL reload; test \$? = 1"
check "the old configuration keeps running" http_healthy "$URL"
cp "$D/relayd.conf.good" "$D/relayd.conf"
echo 'fee 2.5%' >>"$D/relayd.conf"
check "a good reload succeeds" relayctl $CTL reload
check "the new fee is served" wait_for 10 bash -c \
    "curl -s '$URL/.well-known/motebit.json' | jq -e '.fee_rate == 0.025'"
kill -HUP "$RELAY_PID"
check "SIGHUP reload keeps the relay healthy" wait_for 10 http_healthy "$URL"

# --- PostgreSQL restart ----------------------------------------------------------
"$SRC/regress/pg.sh" stop "$PGDIR" >/dev/null
check "health is 503 while PostgreSQL is down" wait_for 20 bash -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL/health')\" = 503"
check "status shows PostgreSQL unavailable" wait_for 10 bash -c \
    "'$BUILD/relayctl/relayctl' $CTL -j show status | jq -e '.relay.postgresql_connected == false'"
eval "$("$SRC/regress/pg.sh" start "$PGDIR")"
check "the relay recovers after PostgreSQL restarts" wait_for 30 http_healthy "$URL"
check "the relay id survived the restart" test \
    "$(curl -s "$URL/federation/v1/identity" | jq -r .relay_motebit_id)" = "$RID"

# --- shutdown ----------------------------------------------------------------------
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
check "SIGTERM: relayd exits 0" test $? = 0
check "SIGTERM: control socket removed" test ! -e "$D/relayd.sock"
check "SIGTERM: no child left behind" bash -c "! pgrep -f 'relayd-test.*a/relayd.conf' >/dev/null; ! pgrep -P $RELAY_PID"
check "SIGTERM: the audit log ends with keyd's checkpoint" \
    test "$(tail -n 1 "$D/sign.log" | grep -o 'kind=[a-z0-9]*')" = \
    kind=checkpoint
relayctl -j verify audit "$D/sign.log" key "$PUB" >"$T/verify.json"
check "relayctl verify audit: checkpoints verify with the relay's key" \
    jq -e '.valid and .checkpoints >= 1 and .unsealed == 0' "$T/verify.json"
check "relayctl verify audit: another key is refused" bash -c \
    "'$BUILD/relayctl/relayctl' verify audit '$D/sign.log' key \
    $(printf '%064d' 0); test \$? = 1"
head -n 1 "$D/sign.log" >"$T/sign.cut"
check "relayctl verify audit: a cut log is reported" bash -c \
    "'$BUILD/relayctl/relayctl' verify audit '$T/sign.cut' 2>&1 |
    grep -q 'after the last checkpoint'"

# --- any child's death takes the daemon down ------------------------------------
for victim in keyd ledgerd routed peer frontend; do
	start_relay a
	if ! wait_for 30 http_healthy "$URL"; then
		notok "restart for $victim test"
		continue
	fi
	vp=$(relayctl $CTL -j show status | jq -r --arg v "$victim" \
	    '[.processes[] | select(.process == $v)][0].pid')
	if [ -z "$vp" ] || [ "$vp" = null ]; then
		notok "found $victim"
		continue
	fi
	kill -KILL "$vp"
	wait "$RELAY_PID"
	rc=$?
	check "killing $victim brings relayd down (exit $rc)" test "$rc" != 0
	check "no process left after $victim died" \
	    bash -c "! pgrep -P $RELAY_PID"
done

check "the identity is stable across restarts" test \
    "$(grep -c 'relay .* ready' "$D/log")" -ge 2

summary
