#!/usr/bin/env bash
#
# Interoperability with the reference relay (motebit/relay-federation,
# TypeScript), built by ../shared/interop/ref-relay/build.sh into
# $REF_RELAY_ROOT (default /tmp/ref-relay).  relayd proposes and confirms
# (relayd is the initiator: the reference has no initiator of its own),
# then both sides heartbeat: the reference's signed heartbeats are
# verified by relayd and relayd's by the reference.
#
# Needs the reference's build, which CI does not have: without it the
# script says so and exits 77, which ./test reports as a skip, never as
# a pass.
#
#	REF_RELAY_DIR	the recipe (default $SRC/../shared/interop/ref-relay)
#	REF_RELAY_ROOT	its build and data (default /tmp/ref-relay)
#
. "$(dirname "$0")/lib.sh"

REF_DIR=${REF_RELAY_DIR:-$SRC/../shared/interop/ref-relay}
REF_ROOT=${REF_RELAY_ROOT:-/tmp/ref-relay}
if [ ! -f "$REF_DIR/run.sh" ]; then
	echo "skip: no reference relay recipe in $REF_DIR (set REF_RELAY_DIR)"
	exit 77
fi
if [ ! -f "$REF_ROOT/src/services/relay/dist/server.js" ]; then
	echo "skip: the reference relay is not built in $REF_ROOT (run" \
	    "$REF_DIR/build.sh with MIRROR set)"
	exit 77
fi
for c in jq curl node; do
	command -v "$c" >/dev/null || { echo "skip: no $c"; exit 77; }
done

ensure_users
start_pg

PA=$(free_port)
PR=$(free_port)
UA="http://127.0.0.1:$PA"
UR="http://127.0.0.1:$PR"
REF_NAME="relayd-interop-$$"
export REF_RELAY_ROOT="$REF_ROOT"

ctl() {
	"$BUILD/relayctl/relayctl" -s "$T/a/relayd.sock" "$@"
}

write_conf a "$PA" "federation {
	enable
	$FED_LOOPBACK
	accept auto
	heartbeat interval 1s
}"
start_relay a
if ! wait_for 30 http_healthy "$UA"; then
	notok "relayd becomes healthy"
	tail -30 "$T/a/log" | sed 's/^/#   /'
	summary
	exit 1
fi
ok "relayd is healthy"

rm -rf "${REF_ROOT:?}/$REF_NAME"
if ! HEARTBEAT_MS=1000 bash "$REF_DIR/run.sh" "$REF_NAME" "$PR" \
    >"$T/ref-identity.json" 2>"$T/ref-run.err"; then
	notok "the reference relay starts"
	sed 's/^/#   /' "$T/ref-run.err" | tail -20
	summary
	exit 1
fi
track_pid "$(cat "$REF_ROOT/$REF_NAME/pid")"
ok "the reference relay starts"
stop_ref() {
	bash "$REF_DIR/stop.sh" "$REF_NAME" >/dev/null 2>&1 || true
	rm -rf "${REF_ROOT:?}/$REF_NAME"
}
trap 'stop_ref; cleanup' EXIT

RID_R=$(jq -r .relay_motebit_id "$T/ref-identity.json")
RID_A=$(curl -s "$UA/federation/v1/identity" | jq -r .relay_motebit_id)
check "the reference's identity names a relay id" \
    test -n "$RID_R" -a "$RID_R" != null

# relayd proposes, checks the reference's challenge, confirms through
# keyd, and activates after one signed heartbeat round trip
ctl -j peer add "$UR" >"$T/add.json" 2>&1
check "relayctl peer add of the reference: active" \
    jq -e '.ok == true and .outcome == "active"' "$T/add.json"

ref_sees_us() {
	curl -s "$UR/federation/v1/peers" |
	    jq -e --arg id "$RID_A" '
		(if type == "object" then .peers else . end) |
		map(select(.peer_relay_id == $id or .relay_id == $id)) |
		.[0] | .state == "active" and
		(.missed_heartbeats // 0) == 0 and
		.last_heartbeat_at != null'
}
check "the reference lists relayd active, its heartbeats answered" \
    wait_for 20 ref_sees_us

we_see_ref() {
	ctl -j show peer "$RID_R" |
	    jq -e '.state == "active" and .missed == 0 and
		.last_heartbeat != null and .rtt_ms != null'
}
check "relayd keeps the reference active with measured RTT" \
    wait_for 20 we_see_ref

# a few more rounds both ways: nothing missed on either side
T0=$(($(date +%s%N) / 1000000))
later() {
	[ "$(ctl -j show peer "$RID_R" | jq -r .last_heartbeat)" -gt \
	    $((T0 + 2000)) ]
}
check "relayd's heartbeats keep verifying at the reference" \
    wait_for 20 later
check "... with no missed round on relayd's side" we_see_ref
check "... nor on the reference's" ref_sees_us
check "relayd's frontend accepted the reference's heartbeats" \
    bash -c "curl -s '$UA/metrics' | grep -Eq \
	'^relayd_peer_heartbeats_total\\{result=\"received\"\\} [1-9]'"

summary
