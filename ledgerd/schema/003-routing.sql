-- relayd schema, version 3: what routed needs to know about each local
-- agent to weigh the edge from this relay to it (relayd(8) ROUTING), and a
-- generation counter that tells routed when to reload the agents.

-- The agent's price per task in micro-units (1 000 000 = 1 USDC); 0 is
-- free, as an agent registers.
ALTER TABLE agents ADD COLUMN price bigint NOT NULL DEFAULT 0
    CHECK (price >= 0);
-- Its typical task latency in milliseconds; 0 when nothing is known.
ALTER TABLE agents ADD COLUMN latency_ms integer NOT NULL DEFAULT 0
    CHECK (latency_ms >= 0);
-- This relay's trust in the agent: the level of the trust state machine
-- and its score (first_contact scores 0.5 on a new row).
ALTER TABLE agents ADD COLUMN trust_level text NOT NULL
    DEFAULT 'first_contact';
ALTER TABLE agents ADD COLUMN trust_score double precision NOT NULL
    DEFAULT 0.5 CHECK (trust_score >= 0 AND trust_score <= 1);
-- Observed share of tasks that succeeded; 1 when nothing is known.
ALTER TABLE agents ADD COLUMN reliability double precision NOT NULL
    DEFAULT 1 CHECK (reliability >= 0 AND reliability <= 1);

-- Bumped by every statement that may change what routed holds: inserts,
-- deletes, truncation, and updates of the columns routing reads (not the
-- frequent last_seen_at heartbeats).
CREATE TABLE agents_generation (
	singleton	boolean PRIMARY KEY DEFAULT true
			    CONSTRAINT agents_generation_singleton
			    CHECK (singleton),
	generation	bigint NOT NULL DEFAULT 0
);
INSERT INTO agents_generation DEFAULT VALUES;

CREATE FUNCTION agents_bump_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE agents_generation SET generation = generation + 1;
	RETURN NULL;
END;
$$;

CREATE TRIGGER agents_changed
    AFTER INSERT OR DELETE OR TRUNCATE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION agents_bump_generation();

CREATE TRIGGER agents_updated
    AFTER UPDATE ON agents
    FOR EACH ROW
    WHEN (OLD.motebit_id IS DISTINCT FROM NEW.motebit_id
	OR OLD.capabilities IS DISTINCT FROM NEW.capabilities
	OR OLD.price IS DISTINCT FROM NEW.price
	OR OLD.latency_ms IS DISTINCT FROM NEW.latency_ms
	OR OLD.trust_score IS DISTINCT FROM NEW.trust_score
	OR OLD.reliability IS DISTINCT FROM NEW.reliability
	OR OLD.federation_visible IS DISTINCT FROM NEW.federation_visible
	OR OLD.revoked IS DISTINCT FROM NEW.revoked
	OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION agents_bump_generation();
