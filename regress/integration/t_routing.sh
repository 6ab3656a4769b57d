#!/usr/bin/env bash
# Routing: relay A with local agents (inserted into its database with psql
# while it is stopped, and while it runs) peers with relay B.  relayctl
# show routes (the table and a capability's ranking, -j checked with jq:
# order, paths, weights, sub-scores, the composite) and show graph (dot
# and -j), a reload with new ranking weights, and B stopped (suspended:
# its edge goes), started again (active: back) and removed (its node
# goes).  Agents hosted by peers arrive with federated discovery, a later
# issue; the engine's unit test covers them.
set -u
. "$(dirname "$0")/lib.sh"

ensure_users
start_pg
create_db relay_a
create_db relay_b

PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
declare -A PORT=([a]=$PA [b]=$PB)
declare -A URL=([a]="http://127.0.0.1:$PA" [b]="http://127.0.0.1:$PB")
declare -A PID

# conf NAME [ROUTING-LINES...]: (re)writes NAME's relayd.conf
conf() {
	local name=$1
	shift
	RELAY_DB=relay_$name write_conf "$name" "${PORT[$name]}" \
	    "federation {
	enable
	$FED_LOOPBACK
	accept auto
	heartbeat interval 300ms
	suspend after 2
	remove after 1000
}
routing {
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
	if ! wait_for 30 http_healthy "${URL[$1]}"; then
		notok "relay $1 becomes healthy"
		tail -30 "$T/$1/log" | sed 's/^/#   /'
		summary
		exit 1
	fi
	wait_for 10 ctl "$1" show peers
}

stop() {
	kill -TERM "${PID[$1]}"
	wait "${PID[$1]}" 2>/dev/null
}

psql_a() {
	pg_psql -d relay_a -v ON_ERROR_STOP=1 "$@"
}

# agent ID PRICE LATENCY TRUST CAPS: one row of A's agents table
agent() {
	psql_a -c "INSERT INTO agents (motebit_id, public_key, capabilities,
	    price, latency_ms, trust_score) VALUES ('$1',
	    encode(sha256('$1'), 'hex'), '$5', $2, $3, $4)" >/dev/null
}

routes_json() {
	ctl a -j show routes "$@"
}

# jq_routes JQ [show routes args...]: A's routes as JSON satisfy JQ
jq_routes() {
	local f=$1
	shift
	routes_json "$@" | jq -e "$f" >/dev/null
}

# jq_peer JQ: A's row for B satisfies JQ
jq_peer() {
	ctl a -j show peer "$RB" | jq -e "$1" >/dev/null
}

# jq_graph JQ: A's graph as JSON satisfies JQ
jq_graph() {
	ctl a -j show graph | jq -e "$1" >/dev/null
}

routed_detail() {
	ctl a -j show status | jq -r '.processes[] |
	    select(.process == "routed") | .detail'
}

# near A B: |A - B| < 1e-9
near() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 1e-9 &&
	    d > -1e-9) }'
}

conf a
conf b
# the first start creates the schema (ledgerd's migrations)
start a
stop a
agent reader-fast 1500 40 0.7 '{read_url,summarize}'
agent reader-cheap 100 400 0.4 '{read_url}'
agent translator 0 5 0.9 '{translate}'
agent hidden 10 10 0.8 '{read_url}'
psql_a -c "UPDATE agents SET federation_visible = false
    WHERE motebit_id = 'hidden'" >/dev/null
start a
start b
RA=$(curl -s "${URL[a]}/federation/v1/identity" | jq -r .relay_motebit_id)
RB=$(curl -s "${URL[b]}/federation/v1/identity" | jq -r .relay_motebit_id)

# --- local agents ------------------------------------------------------------
four_agents() {
	routed_detail | grep -q '4 agents (4 local'
}
check "routed reports the agents loaded" wait_for 10 four_agents
routes_json >"$T/table.json"
check "show routes: one route to each agent" jq -e \
    '[.routes[].target] == ["hidden", "reader-cheap", "reader-fast",
    "translator"] and .normalisation == null' "$T/table.json"
check "show routes: local routes are one hop from this relay" jq -e \
    --arg a "$RA" 'all(.routes[]; .path[0] == $a and .hops == 1 and
    .relay == null and .kind == "agent")' "$T/table.json"
check "show routes: an agent hidden from federation routes locally" \
    jq -e '.routes[0].target == "hidden"' "$T/table.json"
ctl a show routes >"$T/table.txt"
check "show routes (text)" grep -q '^reader-fast ' "$T/table.txt"

routes_json capability read_url >"$T/read.json"
check "capability: three agents, ranked by the composite" jq -e \
    '[.routes[].target] == ["hidden", "reader-fast", "reader-cheap"] and
    .policy == "weighted" and .alternatives_considered == 3 and
    .targets == 3 and .excluded == 0' "$T/read.json"
check "capability: the scores decrease with the rank" jq -e \
    '[.routes[].composite] as $c | $c == ($c | sort | reverse) and
    [.routes[].rank] == [1, 2, 3]' "$T/read.json"
check "capability: cost and latency normalised over the alternatives" \
    jq -e '.normalisation.cost == [10, 1500] and
    .normalisation.latency_ms == [10, 400]' "$T/read.json"
check "capability: the weights of the routing block" jq -e \
    '.weights == {"trust": 0.3, "cost": 0.2, "latency": 0.15,
    "reliability": 0.15, "risk": 0.2}' "$T/read.json"
check "capability: reader-fast's path and exact weights" jq -e \
    --arg a "$RA" '.routes[1] | .path == [$a, "reader-fast"] and
    .trust == 0.7 and .cost == 1500 and .latency_ms == 40 and
    .reliability == 1 and .risk == 0' "$T/read.json"
# sub-scores by the formulas of relayd(8): cost (1500-10)/(1500-10) = 0,
# latency (400-40)/(400-10), composite the weighted mean
check "capability: sub-scores by the formulas" jq -e \
    '.routes[1].sub_scores | .trust == 0.7 and .cost == 0 and
    (.latency - 360/390 | fabs) < 1e-9 and .reliability == 1 and
    .risk == 1' "$T/read.json"
C=$(jq '.routes[1].composite' "$T/read.json")
W=$(awk 'BEGIN { printf "%.17g", 0.3*0.7 + 0.15*360/390 + 0.15 + 0.2 }')
check "capability: the composite is the weighted mean" near "$C" "$W"
check "capability: every candidate says what decided its place" jq -e \
    '[.routes[].decided_by] == ["composite", "composite", null]' \
    "$T/read.json"
ctl a show routes capability read_url >"$T/read.txt"
check "capability (text): ranks, sub-scores and normalisation" bash -c \
    "grep -q '^1 *hidden ' '$T/read.txt' &&
    grep -q '^2 *reader-fast ' '$T/read.txt' &&
    grep -q 'sub-scores: trust 0.700, cost 0.000' '$T/read.txt' &&
    grep -q 'Cost normalised over 10..1500' '$T/read.txt'"
check "an unknown capability has no route" jq -e \
    '.routes == [] and .targets == 0' <(routes_json capability nothing)
ctl a show routes capability 2>/dev/null
check "show routes capability without a name: usage error" test $? = 2

# --- the agent directory follows the database -----------------------------------
agent reader-new 50 20 0.95 '{read_url}'
check "an agent inserted while running is routed" wait_for 10 jq_routes \
    '.routes[0].target == "reader-new"' capability read_url
psql_a -c "UPDATE agents SET revoked = true WHERE motebit_id = 'hidden'" \
    >/dev/null
check "a revoked agent is no longer routed" wait_for 10 jq_routes \
    '[.routes[].target] | index("hidden") == null'
psql_a -c "UPDATE agents SET price = 5000 WHERE motebit_id = 'reader-new'" \
    >/dev/null
check "a new price changes the edge" wait_for 10 jq_routes \
    '.routes[] | select(.target == "reader-new") | .cost == 5000' \
    capability read_url

# --- ranking weights from relayd.conf ----------------------------------------------
conf a 'weight trust 0.1' 'weight cost 0.6' 'weight latency 0.1' \
    'weight reliability 0.1' 'weight risk 0.1'
check "reload with new weights" ctl a reload
check "cost-heavy weights put the cheapest agent first" wait_for 10 \
    jq_routes '.routes[0].target == "reader-cheap" and .weights.cost == 0.6' \
    capability read_url
conf a 'ranking lexicographic'
check "reload with lexicographic ranking" ctl a reload
check "lexicographic: trust first" wait_for 10 jq_routes \
    '.policy == "lexicographic" and .order[0] == "trust" and
    [.routes[].target] == ["reader-new", "reader-fast", "reader-cheap"]
    and .routes[0].decided_by == "trust"' capability read_url
conf a
check "reload back to the defaults" ctl a reload

# --- a peer relay in the graph ---------------------------------------------------------
check "relayctl peer add: A peers with B" ctl a peer add "${URL[b]}"
check "B is active at A" wait_for 10 jq_peer '.state == "active"'
check "B is a destination" wait_for 10 jq_routes \
    ".routes[0].target == \"$RB\" and .routes[0].kind == \"relay\""
# the edge's weights are the peer's trust, fee on 1 USDC and RTT, as the
# graph and the peer table say at the same moment
same_weights() {
	local peer graph route
	peer=$(ctl a -j show peer "$RB") || return 1
	graph=$(ctl a -j show graph) || return 1
	route=$(routes_json) || return 1
	jq -n --argjson p "$peer" --argjson g "$graph" --argjson r "$route" \
	    --arg a "$RA" --arg b "$RB" '
	    ($g.edges[] | select(.from == $a and .to == $b)) as $e |
	    ($r.routes[] | select(.target == $b)) as $x |
	    $e.trust == $p.trust and $e.cost == $p.fee_ppm and
	    $e.latency_ms == $p.rtt_ms and $x.path == [$a, $b] and
	    $x.trust == $e.trust and $x.cost == $e.cost and
	    $x.latency_ms == $e.latency_ms' >/dev/null
}
check "the peer edge: trust, fee and RTT of the peer table" \
    wait_for 10 same_weights

ctl a show graph >"$T/graph.dot"
check "show graph is a digraph" grep -q '^digraph relayd {$' "$T/graph.dot"
check "show graph: one node per graph node (self, B, 4 agents)" test \
    "$(grep -Ec '^	n[0-9]+ \[label=' "$T/graph.dot")" = 6
check "show graph: nodes by kind" bash -c "
    test \$(grep -c 'class=\"self\"' '$T/graph.dot') = 1 &&
    test \$(grep -c 'class=\"relay\"' '$T/graph.dot') = 1 &&
    test \$(grep -c 'class=\"agent\"' '$T/graph.dot') = 4"
check "show graph: one edge to B and one to each agent" test \
    "$(grep -c ' -> ' "$T/graph.dot")" = 5
check "show graph: B's node and edge label" bash -c "
    grep -q '$RB' '$T/graph.dot' &&
    grep -Eq 'label=\"t=0\\.50 c=[0-9]+ l=[0-9]+ms' '$T/graph.dot'"
check "show graph: the best path to each agent is highlighted" test \
    "$(grep -c 'class="chosen"' "$T/graph.dot")" = 4
ctl a show graph capability read_url >"$T/graph-read.dot"
check "show graph capability: one chosen path" bash -c "
    test \$(grep -c 'class=\"chosen\"' '$T/graph-read.dot') = 1 &&
    grep 'class=\"chosen\"' '$T/graph-read.dot' |
    grep -q 'c=1500 l=40ms'"
if command -v dot >/dev/null 2>&1; then
	check "dot(1) accepts the graph" dot -Tsvg -o "$T/graph.svg" \
	    "$T/graph.dot"
fi
ctl a -j show graph capability read_url >"$T/graph.json"
check "show graph -j: nodes, edges and the chosen path" jq -e \
    --arg a "$RA" --arg b "$RB" '(.nodes | length) == 6 and
    (.edges | length) == 5 and .self == $a and
    .chosen == [[$a, "reader-fast"]] and
    ([.edges[] | select(.chosen)] | length) == 1 and
    (.nodes[] | select(.id == $b) | .kind == "relay" and
    .state == "active")' "$T/graph.json"

# --- B stops: suspended, its edge goes; back; removed ------------------------------
stop b
check "A suspends the stopped B" wait_for 20 jq_peer '.state == "suspended"'
check "a suspended peer is not a destination" wait_for 5 jq_routes \
    "[.routes[].target] | index(\"$RB\") == null"
ctl a -j show graph >"$T/graph-susp.json"
check "the suspended peer stays in the graph without its edge" jq -e \
    --arg b "$RB" '(.nodes[] | select(.id == $b) | .state ==
    "suspended") and ([.edges[] | select(.to == $b)] | length) == 0' \
    "$T/graph-susp.json"
ctl a show graph >"$T/graph-susp.dot"
check "show graph draws it dashed" bash -c \
    "grep '(suspended)' '$T/graph-susp.dot' | grep -q dashed"
check "local routes are unchanged" jq -e \
    '.routes | length == 4' <(routes_json)
start b
check "B is active again at A" wait_for 20 jq_peer '.state == "active"'
check "B is a destination again" wait_for 5 jq_routes \
    ".routes[0].target == \"$RB\""
check "relayctl peer remove B" ctl a peer remove "$RB"
check "a removed peer leaves the graph" wait_for 5 jq_graph \
    "[.nodes[].id] | index(\"$RB\") == null"

# --- a graph larger than one control message ---------------------------------------
psql_a -c "INSERT INTO agents (motebit_id, public_key, capabilities, price)
    SELECT 'bulk-' || i, encode(sha256(('bulk-' || i)::bytea), 'hex'),
    '{bulk}', i FROM generate_series(1, 300) AS i" >/dev/null
many_agents() {
	routed_detail | grep -q '304 agents (304 local'
}
check "300 more agents are loaded" wait_for 10 many_agents
ctl a show graph >"$T/big.dot"
check "a graph of many chunks arrives whole (dot)" bash -c "
    test \$(wc -c <'$T/big.dot') -gt 20000 &&
    test \$(grep -c 'class=\"agent\"' '$T/big.dot') = 304 &&
    test \$(grep -c ' -> ' '$T/big.dot') = 304 && tail -1 '$T/big.dot' |
    grep -qx '}'"
check "a graph of many chunks arrives whole (JSON)" jq -e \
    '(.nodes | length) == 305 and (.edges | length) == 304' \
    <(ctl a -j show graph)
check "the cheapest bulk agent ranks first by cost" jq -e \
    '(.routes | length) == 100 and .routes[0].target == "bulk-1" and
    .alternatives_considered == 300' <(routes_json capability bulk)
check "routed is healthy" jq -e '.checks.routed == "ok"' \
    <(curl -s "${URL[a]}/health")

summary
