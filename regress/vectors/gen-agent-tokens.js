#!/usr/bin/env node
// Generates regress/vectors/agent-tokens.json, the known answers of
// regress/unit/test_agents.c, with Node's own crypto (OpenSSL Ed25519,
// RFC 8032) and JavaScript's own JSON.stringify, Number() and Math.round,
// as the reference client and relay use them:
//
//   node regress/vectors/gen-agent-tokens.js > regress/vectors/agent-tokens.json
//
// The output is deterministic (fixed seeds, times and jti values; Ed25519
// signatures are deterministic), so running it again gives the same file.
// The unit test reads the JSON only; it never needs Node.
'use strict';
const crypto = require('crypto');

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
function key(seedByte) {
	const seed = Buffer.alloc(32, seedByte);
	const priv = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519,
	    seed]), format: 'der', type: 'pkcs8' });
	const pub = crypto.createPublicKey(priv).export({ format: 'der',
	    type: 'spki' }).subarray(12);
	return { seed: seed.toString('hex'), priv, pub: pub.toString('hex') };
}
const b64url = (b) => Buffer.from(b).toString('base64url');
const sign = (k, bytes) => crypto.sign(null, Buffer.from(bytes), k.priv);
// the reference's token encoder: base64url(payload) "." base64url(sig)
function token(k, payloadText) {
	return b64url(payloadText) + '.' + b64url(sign(k, payloadText));
}

const A = key(0x11), B = key(0x22);
const NOW = 1760000000000;
const MID = '019dc3f3-0000-7000-8000-00000000000a';
const DID = 'b3a4c1d2-0000-4000-8000-000000000001';
// the reference client's key order: mid, did, iat, exp, jti, aud, suite
function payload(over) {
	const p = { mid: MID, did: DID, iat: NOW - 1000, exp: NOW + 300000,
	    jti: '6f1c2b7e-8f00-4a00-9000-000000000001', aud: 'admin:query',
	    suite: 'motebit-jwt-ed25519-v1' };
	for (const [k, v] of Object.entries(over || {})) {
		if (v === undefined)
			delete p[k];
		else
			p[k] = v;
	}
	return JSON.stringify(p);
}

const tokens = [];
function tc(name, tok, expect, aud, devKey) {
	tokens.push({ name, token: tok, device_key: devKey || A.pub,
	    now: NOW, aud: aud || 'admin:query', expect });
}
const good = payload();
tc('valid, the reference key order', token(A, good), 'ok');
tc('valid, keys in another order and spaces: the exact bytes are signed',
    token(A, '{ "suite": "motebit-jwt-ed25519-v1", "aud": "admin:query", ' +
    '"jti": "j-2", "exp": ' + (NOW + 60000) + ', "did": "' + DID +
    '", "mid": "' + MID + '" }'), 'ok');
tc('valid, market:listing audience', token(A, payload({ aud:
    'market:listing' })), 'ok', 'market:listing');
tc('expired one millisecond ago', token(A, payload({ exp: NOW - 1 })),
    'token_expired');
tc('expires now', token(A, payload({ exp: NOW })), 'token_expired');
tc('lifetime over 24 hours and 5 minutes', token(A, payload({ exp: NOW +
    86700001 })), 'token_lifetime');
tc('lifetime of 24 hours and 5 minutes', token(A, payload({ exp: NOW +
    86700000 })), 'ok');
tc('audience market:listing on an admin:query route',
    token(A, payload({ aud: 'market:listing' })), 'wrong_audience');
tc('audience task:submit on a market:listing route',
    token(A, payload({ aud: 'task:submit' })), 'wrong_audience',
    'market:listing');
tc('signed by another key', token(B, good), 'bad_signature');
tc('payload changed after signing (exp)',
    b64url(payload({ exp: NOW + 300001 })) + '.' + b64url(sign(A, good)),
    'bad_signature');
tc('signature of the device key B checked against B', token(B, good), 'ok',
    'admin:query', B.pub);
tc('no suite', token(A, payload({ suite: undefined })), 'token_suite');
tc('another suite', token(A, payload({ suite: 'motebit-jcs-ed25519-b64-v1' })),
    'token_suite');
tc('exp not an integer', token(A, payload({ exp: NOW + 0.5 })),
    'token_claims');
tc('exp a string', token(A, payload({ exp: String(NOW + 1000) })),
    'token_claims');
tc('no exp', token(A, payload({ exp: undefined })), 'token_claims');
tc('empty jti', token(A, payload({ jti: '' })), 'token_claims');
tc('no jti', token(A, payload({ jti: undefined })), 'token_claims');
tc('empty aud', token(A, payload({ aud: '' })), 'token_claims');
tc('no mid', token(A, payload({ mid: undefined })), 'token_claims');
tc('did with a space', token(A, payload({ did: 'a b' })), 'token_claims');
tc('mid an integer', token(A, payload({ mid: 7 })), 'token_claims');
tc('duplicate key (JSON.parse would take the last)',
    token(A, good.replace('"aud":"admin:query"',
    '"aud":"market:listing","aud":"admin:query"')), 'token_malformed');
tc('payload an array', token(A, '[1,2]'), 'token_malformed');
tc('payload not JSON', token(A, 'mid=x'), 'token_malformed');
const t0 = token(A, good);
tc('signature truncated', t0.slice(0, -2), 'token_malformed');
tc('padding', t0 + '==', 'token_malformed');
tc('three parts', t0 + '.x', 'token_malformed');
tc('one part', t0.split('.')[0], 'token_malformed');
tc('standard base64 characters', t0.replace(/-/g, '+').replace(/_/g, '/') +
    (t0.includes('-') || t0.includes('_') ? '' : '+'), 'token_malformed');

// dollars -> micro-units: the reference's Math.round(x * 1e6) on Number(text)
const dollars = [];
for (const text of ['0', '0.0', '-0', '1', '5', '0.05', '0.1', '0.3', '0.000001',
    '0.0000005', '0.0000015', '1.0000005', '1.005', '2.675', '0.0001245',
    '0.0001255', '0.0004915', '0.49999999999999994', '123.456789',
    '123.4567895', '1e-7', '5e-7', '1E2', '9007199254', '9007199254.740991',
    '19.99', '0.07', '1234567.891234']) {
	const micro = Math.round(Number(text) * 1e6);
	dollars.push({ text, micro, float_product: Number(text) * 1e6 });
}
const refused = ['-1', '-0.000001', '9007199254.740993', '1e300', '"1"',
    'null', 'true', '[]'];

// key succession: JCS of a flat object of strings and integers is
// JSON.stringify with the keys sorted by UTF-16 code units
function jcsFlat(o) {
	const r = {};
	for (const k of Object.keys(o).sort())
		r[k] = o[k];
	return JSON.stringify(r);
}
const C = key(0x33);
const rec = { old_public_key: A.pub, new_public_key: C.pub,
    timestamp: NOW, suite: 'motebit-jcs-ed25519-hex-v1', reason: 'rotated' };
const tbs = jcsFlat(rec);
const succession = {
	old_key: A.pub, new_key: C.pub, signed_bytes: tbs,
	record: Object.assign({}, rec, {
		old_key_signature: sign(A, tbs).toString('hex'),
		new_key_signature: sign(C, tbs).toString('hex') }),
};
const ga = jcsFlat({ action: 'guardian_attestation',
    guardian_public_key: B.pub, motebit_id: MID });
const guardian = { motebit_id: MID, guardian_public_key: B.pub,
    guardian_attestation: sign(B, ga).toString('hex') };

process.stdout.write(JSON.stringify({
	generator: 'regress/vectors/gen-agent-tokens.js (Node ' +
	    process.version + ')',
	keys: { A, B, C }, now: NOW, tokens, dollars, refused, succession,
	guardian,
}, (k, v) => (k === 'priv' ? undefined : v), 2) + '\n');
