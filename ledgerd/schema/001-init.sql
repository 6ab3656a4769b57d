-- relayd schema, version 1: identity, agents, peers and the double-entry
-- ledger foundation.  Applied by ledgerd inside the migration transaction
-- (see ledgerd/db.c); never edit a released migration, add a new file.
--
-- Money is BIGINT micro-units (1 000 000 = 1 USDC), never floating point.

-- The relay's own identity: exactly one row, created by ledgerd on first
-- start and never changed afterwards.
CREATE TABLE relay_identity (
	singleton	boolean PRIMARY KEY DEFAULT true
			    CONSTRAINT relay_identity_singleton
			    CHECK (singleton),
	relay_id	text NOT NULL
			    CHECK (relay_id <> '' AND length(relay_id) < 64),
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- Agents hosted by this relay.
CREATE TABLE agents (
	motebit_id		text PRIMARY KEY CHECK (motebit_id <> ''),
	public_key		text NOT NULL
				    CHECK (public_key ~ '^[0-9a-f]{64}$'),
	did			text,
	device_id		text,
	endpoint_url		text NOT NULL DEFAULT '',
	capabilities		text[] NOT NULL DEFAULT '{}',
	metadata		jsonb,
	display_name		text CHECK (length(display_name) <= 64),
	description		text CHECK (length(description) <= 200),
	settlement_address	text,
	settlement_modes	text,
	sweep_threshold		bigint CHECK (sweep_threshold >= 0),
	federation_visible	boolean NOT NULL DEFAULT true,
	revoked			boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	last_seen_at		timestamptz,
	expires_at		timestamptz
);
CREATE INDEX agents_capabilities_idx ON agents USING gin (capabilities);

-- Peer relays and their federation state machine.
CREATE TABLE peers (
	peer_relay_id		text PRIMARY KEY
				    CHECK (peer_relay_id <> ''
				    AND length(peer_relay_id) < 64),
	public_key		text NOT NULL
				    CHECK (public_key ~ '^[0-9a-f]{64}$'),
	endpoint_url		text NOT NULL,
	display_name		text,
	state			text NOT NULL DEFAULT 'pending'
				    CHECK (state IN ('pending', 'active',
				    'suspended', 'removed')),
	nonce			text,
	peered_at		timestamptz,
	last_heartbeat_at	timestamptz,
	missed_heartbeats	integer NOT NULL DEFAULT 0
				    CHECK (missed_heartbeats >= 0),
	agent_count		bigint NOT NULL DEFAULT 0
				    CHECK (agent_count >= 0),
	trust_score		double precision NOT NULL DEFAULT 0.5
				    CHECK (trust_score >= 0 AND trust_score <= 1),
	trust_level		text NOT NULL DEFAULT 'unknown',
	successful_forwards	bigint NOT NULL DEFAULT 0
				    CHECK (successful_forwards >= 0),
	failed_forwards		bigint NOT NULL DEFAULT 0
				    CHECK (failed_forwards >= 0),
	removed_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX peers_state_idx ON peers (state);

-- Double-entry ledger.  Every movement of money is one journal entry whose
-- postings sum to zero; the database enforces it with deferred constraint
-- triggers, checked at commit, so a multi-statement transaction may insert
-- the entry and its postings in any order.  Entries and postings are
-- append-only: a correction is a new, reversing entry.
CREATE TABLE accounts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text NOT NULL
			    CHECK (kind IN ('agent', 'submitter', 'relay_fee',
			    'escrow', 'peer')),
	owner		text NOT NULL,
	currency	text NOT NULL DEFAULT 'USDC',
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (kind, owner, currency)
);

CREATE TABLE journal_entries (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at	timestamptz NOT NULL DEFAULT now(),
	memo		text NOT NULL DEFAULT '',
	idempotency_key	text UNIQUE
);

CREATE TABLE postings (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	entry_id	bigint NOT NULL REFERENCES journal_entries (id),
	account_id	bigint NOT NULL REFERENCES accounts (id),
	amount		bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_entry_idx ON postings (entry_id);
CREATE INDEX postings_account_idx ON postings (account_id);

-- Checks one journal entry: at least two postings, summing to zero.
CREATE FUNCTION ledger_check_entry(e bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n	bigint;
	total	numeric;
BEGIN
	SELECT count(*), coalesce(sum(amount), 0) INTO n, total
	    FROM postings WHERE entry_id = e;
	IF n < 2 OR total <> 0 THEN
		RAISE EXCEPTION
		    'journal entry % is unbalanced: % postings, sum %',
		    e, n, total
		    USING ERRCODE = 'check_violation';
	END IF;
END;
$$;

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'journal_entries' THEN
		PERFORM ledger_check_entry(NEW.id);
	ELSE
		PERFORM ledger_check_entry(NEW.entry_id);
	END IF;
	RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER journal_entries_balanced
    AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE CONSTRAINT TRIGGER postings_balanced
    AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
	    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER postings_no_truncate
    BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER journal_entries_no_truncate
    BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Balances are derived from postings, never stored.
CREATE VIEW balances AS
SELECT a.id AS account_id, a.kind, a.owner, a.currency,
    coalesce(sum(p.amount), 0)::bigint AS balance
    FROM accounts a LEFT JOIN postings p ON p.account_id = a.id
    GROUP BY a.id, a.kind, a.owner, a.currency;
