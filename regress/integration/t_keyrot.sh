#!/usr/bin/env bash
# Key rotation (issue 7, DESIGN.md section 2): `relayctl key rotate' on A
# makes keyd write a new key and sign the key succession record with the
# old and the new key; A's identity and did:key change, the old key file
# is kept as relay.key.old until the peers acknowledged; B, told with the
# signed record, re-pins A's key and keeps A active without a new
# handshake; a heartbeat signed with A's old key is refused afterwards;
# the audit log has both signatures; a record that does not start from
# the pinned key is refused; with a peer down the old key file stays and
# a second rotation is refused until the peers followed.
set -u
. "$(dirname "$0")/lib.sh"

FEDSIGN="$BUILD/regress/integration/fedsign"

ensure_users
start_pg
create_db kr_a
create_db kr_b
PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
declare -A URL=([a]="http://127.0.0.1:$PA" [b]="http://127.0.0.1:$PB")
declare -A PID RID KEY
FED="federation {
	enable
	$FED_LOOPBACK
	accept auto
	heartbeat interval 200ms
	rate limit 100000 per 1m
}"
RELAY_DB=kr_a write_conf a "$PA" "$FED"
RELAY_DB=kr_b write_conf b "$PB" "$FED"

ctl() {
	local name=$1
	shift
	"$BUILD/relayctl/relayctl" -s "$T/$name/relayd.sock" "$@"
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
}

identity() {
	curl -s --max-time 5 "${URL[$1]}/federation/v1/identity"
}

# the 32-byte seed of a PKCS#8 Ed25519 key file, hex
seed_of() {
	openssl pkey -in "$1" -outform DER 2>/dev/null | tail -c 32 |
	    od -An -v -tx1 | tr -d ' \n'
}

field() {
	ctl "$1" -j show peer "$2" 2>/dev/null | jq -r "$3"
}

post() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -X POST \
	    -H 'Content-Type: application/json' --data "$3" "${URL[$1]}$2"
}

start a
start b
for r in a b; do
	RID[$r]=$(identity "$r" | jq -r .relay_motebit_id)
	KEY[$r]=$(identity "$r" | jq -r .public_key)
done
DID0=$(identity a | jq -r .did)
check "the identity lists key-rotation" \
    jq -e '.extensions | index("key-rotation")' <(identity a)

ctl b -j peer add "${URL[a]}" >"$T/add.json"
check "B peers with A" jq -e '.ok and .outcome == "active"' "$T/add.json"
both_active() {
	[ "$(field a "${RID[b]}" .state)" = active ] &&
	    [ "$(field b "${RID[a]}" .state)" = active ]
}
check "A and B active on both sides" wait_for 10 both_active
PEERED=$(field b "${RID[a]}" .peered_at)
OLDSEED=$(seed_of "$T/a/relay.key")
check "A's old seed is read" test "${#OLDSEED}" = 64
check "the old seed is A's key" \
    test "$("$FEDSIGN" pub "$OLDSEED")" = "${KEY[a]}"
AUDIT0=$(wc -l <"$T/a/sign.log")

# --- rotate
ctl a key rotate >"$T/rot.out" 2>&1
rc=$?
sed 's/^/#   /' "$T/rot.out"
check "relayctl key rotate succeeds" test "$rc" = 0
check "and says the peer re-pinned the key" \
    grep -q '1 of 1 peers re-pinned it' "$T/rot.out"
NEWKEY=$(identity a | jq -r .public_key)
check "A's identity has a new public key" \
    test -n "$NEWKEY" -a "$NEWKEY" != "${KEY[a]}" -a "$NEWKEY" != null
check "and a new did:key" test "$(identity a | jq -r .did)" != "$DID0"
check "the relay id stays" \
    test "$(identity a | jq -r .relay_motebit_id)" = "${RID[a]}"
check "show key shows the new key" \
    test "$(ctl a -j show key | jq -r .public_key)" = "$NEWKEY"
NEWSEED=$(seed_of "$T/a/relay.key")
check "relay.key holds the new key" \
    test "$("$FEDSIGN" pub "$NEWSEED")" = "$NEWKEY"
check "relay.key is mode 0600" \
    test "$(stat -c %a "$T/a/relay.key")" = 600
check "no relay.key.new is left" test ! -e "$T/a/relay.key.new"
check "relay.key.old is removed once the peers acknowledged" \
    wait_for 10 test ! -e "$T/a/relay.key.old"
check "the signed metadata carries the new key" \
    jq -e --arg k "$NEWKEY" '.public_key == $k' \
    <(curl -s "${URL[a]}/.well-known/motebit.json")

# --- B re-pinned, no new handshake
check "B pinned A's new key" \
    test "$(field b "${RID[a]}" .public_key)" = "$NEWKEY"
check "B keeps A active" test "$(field b "${RID[a]}" .state)" = active
check "without a new handshake (peered_at unchanged)" \
    test "$(field b "${RID[a]}" .peered_at)" = "$PEERED"
check "B logged the re-pin" grep -q "peer ${RID[a]}: key rotated" \
    "$T/b/log"
T1=$(date +%s%3N)
fresh() {
	local hb
	hb=$(field b "${RID[a]}" .last_heartbeat)
	# (either format: epoch ms or ISO time)
	[ "$hb" != null ] && [ "$(field b "${RID[a]}" .missed)" = 0 ] &&
	    [ "$(field a "${RID[b]}" .missed)" = 0 ] &&
	    [ "$(field a "${RID[b]}" .state)" = active ] &&
	    [ $(($(date +%s%3N) - T1)) -gt 2000 ]
}
check "heartbeats go on both ways with 0 missed" wait_for 10 fresh
grep -c 'heartbeat.*failed\|does not verify' "$T/b/log" | \
    sed 's/^/# heartbeat failures in B log: /'

# --- the old key is refused, the new one works
HB=$("$FEDSIGN" heartbeat "$OLDSEED" "${RID[a]}" now 0)
check "a heartbeat signed with A's old key is refused (403)" \
    test "$(post b /federation/v1/peer/heartbeat "$HB")" = 403
HB=$("$FEDSIGN" heartbeat "$NEWSEED" "${RID[a]}" now 0)
check "one signed with the new key is answered (200)" \
    test "$(post b /federation/v1/peer/heartbeat "$HB")" = 200

# --- records the receiver refuses
BODY=$("$FEDSIGN" rotation "$OLDSEED" "${RID[a]}" 0f now)
check "a record from the old (no longer pinned) key: 403" \
    test "$(post b /federation/v1/peer/key-rotation "$BODY")" = 403
check "B still pins the new key" \
    test "$(field b "${RID[a]}" .public_key)" = "$NEWKEY"
BODY=$("$FEDSIGN" rotation 0e "${RID[a]}" 0f now)
check "a record from another key: 403" \
    test "$(post b /federation/v1/peer/key-rotation "$BODY")" = 403
BAD=$(echo "$BODY" | jq -c '.succession.suite = "x"')
check "a record with another suite: 400" \
    test "$(post b /federation/v1/peer/key-rotation "$BAD")" = 400
BAD=$(echo "$BODY" | jq -c '.succession.old_key_signature |= ascii_upcase')
check "uppercase hex: 400" \
    test "$(post b /federation/v1/peer/key-rotation "$BAD")" = 400
check "the error is JSON" jq -e '.error | length > 0' "$T/body"
# a correct record for B's own key, re-sent: B's key is not A's to change
BODY=$("$FEDSIGN" rotation "$NEWSEED" "${RID[a]}" 0f now)
# (signed by A's current key: A itself could send it; a stranger cannot
# without A's key, which is the point; here it checks the re-pin path)
check "a valid record from the pinned key re-pins (200)" \
    test "$(post b /federation/v1/peer/key-rotation "$BODY")" = 200
check "the same record again: 200 (idempotent)" \
    test "$(post b /federation/v1/peer/key-rotation "$BODY")" = 200
# put A's real key back in B's pin with a record from 0f to A's new key
BODY=$("$FEDSIGN" rotation 0f "${RID[a]}" "$NEWSEED" now)
check "and back (200)" \
    test "$(post b /federation/v1/peer/key-rotation "$BODY")" = 200
check "B pins A's key again" \
    test "$(field b "${RID[a]}" .public_key)" = "$NEWKEY"

# --- audit
AUDIT1=$(wc -l <"$T/a/sign.log")
check "the audit log has the two succession signatures" \
    test "$(tail -n $((AUDIT1 - AUDIT0)) "$T/a/sign.log" |
    grep -c 'kind=succession')" = 2
check "the audit chain verifies, with the rotation's signatures" \
    grep -q '1 key rotation verified' <(ctl a verify audit "$T/a/sign.log")
# rechain FILE: the lines of FILE, each prev= set to the hash of the line
# before (a log rewritten by someone who can also fix the chain)
rechain() {
	local prev line
	prev=$(printf '%064d' 0)
	while IFS= read -r line; do
		line="prev=$prev ${line#* }"
		printf '%s\n' "$line"
		prev=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
	done <"$1"
}
grep 'kind=succession' "$T/a/sign.log" >"$T/succ.lines"
rechain "$T/succ.lines" >"$T/succ.log"
check "the two succession lines verify on their own" \
    grep -q '1 key rotation verified' <(ctl a verify audit "$T/succ.log")
K1=$(sed -n '1s/.* key=//p' "$T/succ.lines")
K2=$(sed -n '2s/.* key=//p' "$T/succ.lines")
sed -e "1s/key=$K1/key=$K2/" -e "2s/key=$K2/key=$K1/" "$T/succ.lines" \
    >"$T/swap.lines"
rechain "$T/swap.lines" >"$T/swap.log"
check "with the keys swapped (chain fixed) verify audit fails" \
    bash -c "! '$BUILD/relayctl/relayctl' verify audit '$T/swap.log'"
check "naming the rotation" grep -q 'does not verify' \
    <("$BUILD/relayctl/relayctl" verify audit "$T/swap.log" 2>&1)
check "the audit names the old key then the new key" \
    test "$K1/$K2" = "${KEY[a]}/$NEWKEY"

# --- restart: the new key stays
kill -TERM "${PID[a]}"
wait_for 10 pid_gone "${PID[a]}"
start a
check "after a restart A keeps the new key" \
    test "$(identity a | jq -r .public_key)" = "$NEWKEY"
check "and B keeps A active" wait_for 10 bash -c \
    "[ \"\$('$BUILD/relayctl/relayctl' -s $T/b/relayd.sock -j show peer ${RID[a]} | jq -r '.state + \" \" + (.missed|tostring)')\" = 'active 0' ]"

# --- a peer that cannot be told: the old key stays, no second rotation
kill -TERM "${PID[b]}"
wait_for 10 pid_gone "${PID[b]}"
KEY2=$(identity a | jq -r .public_key)
ctl a key rotate >"$T/rot2.out" 2>&1
rc=$?
sed 's/^/#   /' "$T/rot2.out"
check "a rotation with the peer down still succeeds here" test "$rc" = 0
check "and says the peer is retried" \
    grep -q '0 of 1 peers re-pinned it, retrying' "$T/rot2.out"
check "the identity changed again" \
    test "$(identity a | jq -r .public_key)" != "$KEY2"
check "relay.key.old keeps the key the peer pinned" \
    test "$("$FEDSIGN" pub "$(seed_of "$T/a/relay.key.old")")" = "$KEY2"
ctl a key rotate >"$T/rot3.out" 2>&1
rc=$?
check "a second rotation before the peers followed is refused" \
    test "$rc" = 1
check "saying why" grep -q 'have not all re-pinned the last key' \
    "$T/rot3.out"

# the whole log: checkpoints before and after the rotations (one at the
# restart), each with the key of its time; it ends with the current key
NOW=$(identity a | jq -r .public_key)
check "the audit log verifies with the current key" \
    ctl a verify audit "$T/a/sign.log" key "$NOW"
check "with two rotations and a checkpoint by a rotated key" \
    jq -e '.valid and .key_rotations == 2 and .checkpoints >= 1' \
    <(ctl a -j verify audit "$T/a/sign.log" key "$NOW")
check "but not with the first key" \
    bash -c "! '$BUILD/relayctl/relayctl' verify audit '$T/a/sign.log' key ${KEY[a]}"

summary
