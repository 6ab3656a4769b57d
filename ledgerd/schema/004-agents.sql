-- relayd schema, version 4: agent identities, devices, registrations,
-- listings, single-use token ids and the revocations owed to peers
-- (relayd(8) AGENTS; ledgerd/agent_reg.c calls the functions below).
--
-- The frontend authenticates and validates every request; these
-- functions apply one request atomically (each call is its own
-- transaction) and answer (status, body): the HTTP status and either the
-- response body or {"error": "..."}.  The token's jti is consumed in the
-- same transaction as the change it authorises, so a replayed token
-- changes nothing.

-- An identity: the motebit_id and the key pinned at bootstrap.  Only a
-- key-succession record signed by the old key and the new one changes
-- the key; an operator revocation is final.
CREATE TABLE agent_identities (
	motebit_id	text PRIMARY KEY
			    CHECK (motebit_id <> ''
			    AND length(motebit_id) < 128),
	public_key	text NOT NULL
			    CHECK (public_key ~ '^[0-9a-f]{64}$'),
	revoked		boolean NOT NULL DEFAULT false,
	revoked_at	timestamptz,
	revoked_reason	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Agents inserted before this version (by hand) get their identity.
INSERT INTO agent_identities (motebit_id, public_key)
    SELECT motebit_id, public_key FROM agents
    WHERE length(motebit_id) < 128;
DELETE FROM agents WHERE length(motebit_id) >= 128;
ALTER TABLE agents ADD CONSTRAINT agents_identity_fk
    FOREIGN KEY (motebit_id) REFERENCES agent_identities (motebit_id)
    ON DELETE CASCADE;
-- A row inserted by hand (tests, operator scripts) brings its identity.
CREATE FUNCTION agents_identity_implied() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO agent_identities (motebit_id, public_key)
	    VALUES (NEW.motebit_id, NEW.public_key) ON CONFLICT DO NOTHING;
	RETURN NEW;
END;
$$;
CREATE TRIGGER agents_identity
    BEFORE INSERT ON agents
    FOR EACH ROW EXECUTE FUNCTION agents_identity_implied();
ALTER TABLE agents ADD COLUMN guardian_public_key text
    CHECK (guardian_public_key ~ '^[0-9a-f]{64}$');

-- The devices of an identity; an agent token names one by (did, mid).
CREATE TABLE agent_devices (
	motebit_id	text NOT NULL REFERENCES agent_identities (motebit_id)
			    ON DELETE CASCADE,
	device_id	text NOT NULL
			    CHECK (device_id <> '' AND length(device_id) < 128),
	public_key	text NOT NULL
			    CHECK (public_key ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	PRIMARY KEY (motebit_id, device_id)
);
INSERT INTO agent_devices (motebit_id, device_id, public_key)
    SELECT a.motebit_id, a.device_id, a.public_key FROM agents a
    WHERE a.device_id IS NOT NULL AND a.device_id <> ''
    AND length(a.device_id) < 128;

-- Key-succession records accepted (both signatures checked by the
-- frontend over JCS of the record without its signatures).
CREATE TABLE agent_key_successions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	motebit_id	text NOT NULL REFERENCES agent_identities (motebit_id)
			    ON DELETE CASCADE,
	old_public_key	text NOT NULL CHECK (old_public_key ~ '^[0-9a-f]{64}$'),
	new_public_key	text NOT NULL CHECK (new_public_key ~ '^[0-9a-f]{64}$'),
	timestamp_ms	bigint NOT NULL,
	reason		text,
	old_key_signature text NOT NULL,
	new_key_signature text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_key_successions_idx ON agent_key_successions (motebit_id);

-- Revocations this relay owes its peers for its own agents (section
-- 4.16 of the wire notes): a key rotation, a deregistration or an
-- operator revocation adds a row; the heartbeat sender will piggyback
-- them and set acked_at (later work: nothing sends them yet).
CREATE TABLE agent_revocations (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	type		text NOT NULL
			    CHECK (type IN ('agent_revoked', 'key_rotated')),
	motebit_id	text NOT NULL,
	new_public_key	text CHECK (new_public_key ~ '^[0-9a-f]{64}$'),
	timestamp_ms	bigint NOT NULL,
	reason		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	acked_at	timestamptz
);
CREATE INDEX agent_revocations_pending_idx ON agent_revocations (id)
    WHERE acked_at IS NULL;

-- An agent's service listing (POST /api/v1/agents/{id}/listing) and its
-- prices per capability in micro-units (1 000 000 = 1 USDC), converted
-- from the dollars on the wire as the reference does (relayd(8)).
CREATE TABLE agent_listings (
	motebit_id	text PRIMARY KEY REFERENCES agents (motebit_id)
			    ON DELETE CASCADE,
	listing_id	text NOT NULL UNIQUE,
	description	text CHECK (length(description) <= 200),
	max_latency_ms	integer CHECK (max_latency_ms >= 0),
	availability	double precision
			    CHECK (availability >= 0 AND availability <= 1),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_pricing (
	motebit_id	text NOT NULL REFERENCES agent_listings (motebit_id)
			    ON DELETE CASCADE,
	capability	text NOT NULL CHECK (capability <> ''),
	unit_cost	bigint NOT NULL
			    CHECK (unit_cost >= 0
			    AND unit_cost <= 9007199254740991),
	currency	text NOT NULL DEFAULT 'USDC' CHECK (currency = 'USDC'),
	per		text NOT NULL DEFAULT 'task',
	PRIMARY KEY (motebit_id, capability)
);

-- Token ids seen, until the token expires: a jti is good once.
CREATE TABLE agent_token_jti (
	jti		text PRIMARY KEY,
	motebit_id	text NOT NULL,
	expires_at	timestamptz NOT NULL
);
CREATE INDEX agent_token_jti_expires_idx ON agent_token_jti (expires_at);

CREATE FUNCTION agent_ms(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
	SELECT (extract(epoch FROM t) * 1000)::bigint
$$;

CREATE FUNCTION agent_err(status integer, msg text,
    OUT o_status integer, OUT o_body jsonb)
LANGUAGE sql IMMUTABLE AS $$
	SELECT status, jsonb_build_object('error', msg)
$$;

-- Consumes a jti; false when it was already used.  Expired ids are
-- dropped on the way, a few at a time.
CREATE FUNCTION agent_jti_use(p_jti text, p_mid text, p_exp bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	n	integer;
BEGIN
	DELETE FROM agent_token_jti WHERE jti IN (SELECT jti
	    FROM agent_token_jti WHERE expires_at < now() LIMIT 64);
	INSERT INTO agent_token_jti (jti, motebit_id, expires_at)
	    VALUES (p_jti, p_mid, to_timestamp(p_exp / 1000.0))
	    ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n = 1;
END;
$$;

-- Bootstrap: doc = {device_id, public_key}.  201 new identity, 200 the
-- same key again (a new device of it is added), 409 another key.
CREATE FUNCTION agent_api_bootstrap(p_mid text, p_did text, p_jti text,
    p_exp bigint, doc jsonb, OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	ident	agent_identities%ROWTYPE;
	dkey	text;
	pub	text := doc->>'public_key';
BEGIN
	SELECT * INTO ident FROM agent_identities WHERE motebit_id = p_mid
	    FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO agent_identities (motebit_id, public_key)
		    VALUES (p_mid, pub);
		INSERT INTO agent_devices (motebit_id, device_id, public_key)
		    VALUES (p_mid, p_did, pub);
		o_status := 201;
		o_body := jsonb_build_object('motebit_id', p_mid,
		    'device_id', p_did, 'registered', true);
		RETURN;
	END IF;
	IF ident.revoked THEN
		SELECT * INTO o_status, o_body FROM agent_err(403,
		    'identity_revoked: revoked by the operator of this relay');
		RETURN;
	END IF;
	IF ident.public_key <> pub THEN
		SELECT * INTO o_status, o_body FROM agent_err(409,
		    'identity exists with a different public key');
		RETURN;
	END IF;
	SELECT public_key INTO dkey FROM agent_devices
	    WHERE motebit_id = p_mid AND device_id = p_did;
	IF NOT FOUND THEN
		INSERT INTO agent_devices (motebit_id, device_id, public_key)
		    VALUES (p_mid, p_did, pub);
	ELSIF dkey <> pub THEN
		SELECT * INTO o_status, o_body FROM agent_err(409,
		    'device exists with a different public key');
		RETURN;
	END IF;
	o_status := 200;
	o_body := jsonb_build_object('motebit_id', p_mid, 'device_id', p_did,
	    'registered', false);
END;
$$;

-- The keys a token of (did, mid) is checked against.
CREATE FUNCTION agent_device_key(p_mid text, p_did text,
    OUT device_key text, OUT identity_key text, OUT revoked boolean,
    OUT registered boolean)
LANGUAGE sql STABLE AS $$
	SELECT d.public_key, i.public_key, i.revoked,
	    EXISTS (SELECT 1 FROM agents a WHERE a.motebit_id = i.motebit_id
	    AND NOT a.revoked)
	    FROM agent_devices d JOIN agent_identities i USING (motebit_id)
	    WHERE d.motebit_id = p_mid AND d.device_id = p_did
$$;

-- Common head of the authenticated calls: the identity must be usable
-- and the jti new.  NULL when the call may go on.
CREATE FUNCTION agent_auth(p_mid text, p_did text, p_jti text, p_exp bigint,
    OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	rev	boolean;
BEGIN
	SELECT revoked INTO rev FROM agent_identities
	    WHERE motebit_id = p_mid FOR UPDATE;
	IF NOT FOUND THEN
		SELECT * INTO o_status, o_body FROM agent_err(401,
		    'unknown_device: no such identity');
		RETURN;
	END IF;
	IF rev THEN
		SELECT * INTO o_status, o_body FROM agent_err(403,
		    'identity_revoked: revoked by the operator of this relay');
		RETURN;
	END IF;
	IF NOT agent_jti_use(p_jti, p_mid, p_exp) THEN
		SELECT * INTO o_status, o_body FROM agent_err(401,
		    'token_replayed: this jti was used already');
		RETURN;
	END IF;
	UPDATE agent_devices SET last_used_at = now()
	    WHERE motebit_id = p_mid AND device_id = p_did;
END;
$$;

-- Register: doc is the validated body (fe_agents.c) with "device_id"
-- set and, for a key change, "succession" checked against "old_key".
CREATE FUNCTION agent_api_register(p_mid text, p_did text, p_jti text,
    p_exp bigint, doc jsonb, OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	cur	text;
	newkey	text := doc->>'public_key';
	s	jsonb := doc->'succession';
	ts	bigint := (extract(epoch FROM now()) * 1000)::bigint;
	exp	timestamptz := now() + interval '90 days';
	caps	text[];
BEGIN
	SELECT * INTO o_status, o_body FROM agent_auth(p_mid, p_did, p_jti,
	    p_exp);
	IF o_status IS NOT NULL THEN
		RETURN;
	END IF;
	SELECT public_key INTO cur FROM agent_identities
	    WHERE motebit_id = p_mid;
	IF newkey IS NOT NULL AND newkey <> cur THEN
		IF s IS NULL OR s->>'old_public_key' <> cur OR
		    s->>'new_public_key' <> newkey THEN
			SELECT * INTO o_status, o_body FROM agent_err(400,
			    'a key change needs a succession record signed '
			    'by the current key');
			RETURN;
		END IF;
		INSERT INTO agent_key_successions (motebit_id, old_public_key,
		    new_public_key, timestamp_ms, reason, old_key_signature,
		    new_key_signature)
		    VALUES (p_mid, cur, newkey, (s->>'timestamp')::bigint,
		    s->>'reason', s->>'old_key_signature',
		    s->>'new_key_signature');
		UPDATE agent_identities SET public_key = newkey,
		    updated_at = now() WHERE motebit_id = p_mid;
		UPDATE agent_devices SET public_key = newkey
		    WHERE motebit_id = p_mid AND public_key = cur;
		INSERT INTO agent_revocations (type, motebit_id,
		    new_public_key, timestamp_ms, reason)
		    VALUES ('key_rotated', p_mid, newkey, ts,
		    coalesce(s->>'reason', ''));
		cur := newkey;
	END IF;
	SELECT coalesce(array_agg(c), '{}') INTO caps
	    FROM jsonb_array_elements_text(doc->'capabilities') AS c;
	INSERT INTO agents (motebit_id, public_key, did, device_id,
	    endpoint_url, capabilities, metadata, display_name, description,
	    settlement_address, settlement_modes, sweep_threshold,
	    federation_visible, guardian_public_key, revoked, last_seen_at,
	    expires_at, updated_at)
	VALUES (p_mid, cur, doc->>'did', p_did, doc->>'endpoint_url', caps,
	    doc->'metadata', doc->>'display_name', doc->>'description',
	    doc->>'settlement_address', doc->>'settlement_modes',
	    (doc->>'sweep_threshold')::bigint,
	    coalesce((doc->>'federation_visible')::boolean, true),
	    doc->>'guardian_public_key', false, now(), exp, now())
	ON CONFLICT (motebit_id) DO UPDATE SET
	    public_key = EXCLUDED.public_key, did = EXCLUDED.did,
	    device_id = EXCLUDED.device_id,
	    endpoint_url = EXCLUDED.endpoint_url,
	    capabilities = EXCLUDED.capabilities,
	    metadata = EXCLUDED.metadata,
	    display_name = EXCLUDED.display_name,
	    description = EXCLUDED.description,
	    settlement_address = EXCLUDED.settlement_address,
	    settlement_modes = EXCLUDED.settlement_modes,
	    sweep_threshold = EXCLUDED.sweep_threshold,
	    federation_visible = EXCLUDED.federation_visible,
	    guardian_public_key = EXCLUDED.guardian_public_key,
	    revoked = false, last_seen_at = now(),
	    expires_at = EXCLUDED.expires_at, updated_at = now();
	o_status := 200;
	o_body := jsonb_build_object('registered', true, 'motebit_id', p_mid,
	    'expires_at', agent_ms(exp));
END;
$$;

CREATE FUNCTION agent_api_heartbeat(p_mid text, p_did text, p_jti text,
    p_exp bigint, doc jsonb, OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT * INTO o_status, o_body FROM agent_auth(p_mid, p_did, p_jti,
	    p_exp);
	IF o_status IS NOT NULL THEN
		RETURN;
	END IF;
	UPDATE agents SET last_seen_at = now()
	    WHERE motebit_id = p_mid AND NOT revoked;
	IF NOT FOUND THEN
		SELECT * INTO o_status, o_body FROM agent_err(404,
		    'agent not registered');
		RETURN;
	END IF;
	o_status := 200;
	o_body := jsonb_build_object('ok', true);
END;
$$;

CREATE FUNCTION agent_api_deregister(p_mid text, p_did text, p_jti text,
    p_exp bigint, doc jsonb, OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT * INTO o_status, o_body FROM agent_auth(p_mid, p_did, p_jti,
	    p_exp);
	IF o_status IS NOT NULL THEN
		RETURN;
	END IF;
	DELETE FROM agents WHERE motebit_id = p_mid AND NOT revoked;
	IF NOT FOUND THEN
		SELECT * INTO o_status, o_body FROM agent_err(404,
		    'agent not registered');
		RETURN;
	END IF;
	INSERT INTO agent_revocations (type, motebit_id, timestamp_ms, reason)
	    VALUES ('agent_revoked', p_mid,
	    (extract(epoch FROM now()) * 1000)::bigint, 'deregistered');
	o_status := 200;
	o_body := jsonb_build_object('ok', true, 'deregistered', true,
	    'motebit_id', p_mid);
END;
$$;

-- Listing: doc = {description?, max_latency_ms?, availability?,
-- pricing: [{capability, unit_cost (micro-units), currency, per}]}.  The
-- agent's routing price becomes the lowest unit cost (0 without prices),
-- its latency the listed max_latency_ms when given.
CREATE FUNCTION agent_api_listing(p_mid text, p_did text, p_jti text,
    p_exp bigint, doc jsonb, OUT o_status integer, OUT o_body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	lid	text;
	lowest	bigint;
BEGIN
	SELECT * INTO o_status, o_body FROM agent_auth(p_mid, p_did, p_jti,
	    p_exp);
	IF o_status IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM 1 FROM agents WHERE motebit_id = p_mid AND NOT revoked
	    FOR UPDATE;
	IF NOT FOUND THEN
		SELECT * INTO o_status, o_body FROM agent_err(404,
		    'agent not registered');
		RETURN;
	END IF;
	INSERT INTO agent_listings (motebit_id, listing_id, description,
	    max_latency_ms, availability)
	VALUES (p_mid, doc->>'listing_id', doc->>'description',
	    (doc->>'max_latency_ms')::integer,
	    (doc->>'availability')::double precision)
	ON CONFLICT (motebit_id) DO UPDATE SET
	    description = EXCLUDED.description,
	    max_latency_ms = EXCLUDED.max_latency_ms,
	    availability = EXCLUDED.availability, updated_at = now()
	RETURNING listing_id INTO lid;
	DELETE FROM agent_pricing WHERE motebit_id = p_mid;
	INSERT INTO agent_pricing (motebit_id, capability, unit_cost,
	    currency, per)
	    SELECT p_mid, e->>'capability', (e->>'unit_cost')::bigint,
	    e->>'currency', e->>'per'
	    FROM jsonb_array_elements(doc->'pricing') AS e;
	SELECT min(unit_cost) INTO lowest FROM agent_pricing
	    WHERE motebit_id = p_mid;
	UPDATE agents SET price = coalesce(lowest, 0),
	    latency_ms = coalesce((doc->>'max_latency_ms')::integer,
	    latency_ms), updated_at = now()
	    WHERE motebit_id = p_mid;
	o_status := 200;
	o_body := jsonb_build_object('ok', true, 'listing_id', lid,
	    'motebit_id', p_mid, 'price', coalesce(lowest, 0));
END;
$$;

-- relayctl agent revoke: the registration is revoked, the identity
-- refused from then on, and peers are owed an agent_revoked.
CREATE FUNCTION agent_revoke(p_mid text, p_reason text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE agent_identities SET revoked = true, revoked_at = now(),
	    revoked_reason = p_reason, updated_at = now()
	    WHERE motebit_id = p_mid AND NOT revoked;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE agents SET revoked = true, updated_at = now()
	    WHERE motebit_id = p_mid;
	INSERT INTO agent_revocations (type, motebit_id, timestamp_ms, reason)
	    VALUES ('agent_revoked', p_mid,
	    (extract(epoch FROM now()) * 1000)::bigint, p_reason);
	RETURN true;
END;
$$;
