-- relayd schema, version 2: what the peer engine keeps about each peer
-- relay besides the columns of version 1 (ledgerd/peers.c reads and
-- writes them; relayd(8) describes the state machine).

-- PEER_F_* bits of common/relayd_imsg.h: inbound, confirmed, awaiting
-- our operator, awaiting theirs, blocked.
ALTER TABLE peers ADD COLUMN flags integer NOT NULL DEFAULT 0
    CHECK (flags >= 0);
-- PEER_EXT_* bits the peer listed in its identity; NULL: not known yet.
ALTER TABLE peers ADD COLUMN extensions integer CHECK (extensions >= 0);
-- Round trip of the last good outbound heartbeat, milliseconds.
ALTER TABLE peers ADD COLUMN rtt_ms integer NOT NULL DEFAULT 0
    CHECK (rtt_ms >= 0);
-- The fee rate the peer advertises in its signed metadata, parts per
-- million (5% is 50000).
ALTER TABLE peers ADD COLUMN fee_ppm integer NOT NULL DEFAULT 0
    CHECK (fee_ppm >= 0 AND fee_ppm <= 1000000);
-- When the peer entered its current state, and why.
ALTER TABLE peers ADD COLUMN state_since timestamptz;
ALTER TABLE peers ADD COLUMN state_reason text NOT NULL DEFAULT '';
-- After a removal by either operator, re-peering is refused until then.
ALTER TABLE peers ADD COLUMN cooldown_until timestamptz;
