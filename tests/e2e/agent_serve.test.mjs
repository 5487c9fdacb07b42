// agent_serve.test.mjs: `anchorid-agent serve`, the identity agent as claims provider (drafts/claims.md §5): its
// discovery document and JWK Set, and every rule of its UserInfo endpoint.  Two kinds of authority:
//   - a stand-in (a small Node HTTPS server publishing a discovery document and a JWK Set made with jose, whose
//     agent tokens the tests mint), to show each check of §5 in its order, the accepted answer carrying exactly
//     the clm claims, and the key cache (fetched once, again on an unknown kid at most once a minute);
//   - the real anchorid of lib/federation.mjs, for the refusals that need no cooperation from it (its real keys
//     fetched through its discovery document) and the whole path from its UserInfo (distributed claims) to ours.
// Each test is named after the rule it shows.  Env: those of lib/server.mjs and lib/agent.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import * as jose from 'jose';

import { ensureCerts, freePort, SLOW } from './lib/server.mjs';
import { runAgent, spawnAgent } from './lib/agent.mjs';
import { Browser } from './lib/browser.mjs';
import { register, authorizeUrl, pkce, random, redeem } from './lib/rp.mjs';
import { startFederation, walk } from './lib/federation.mjs';

const TYP = 'id4me-agent+jwt';
const PASSWORD = 'agent serve password 42';
const CB = 'https://rp-agent-serve.example/cb';
const LEEWAY = 60; // the agent's clock-skew allowance on exp and iat
const STANDARD = ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
	'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'email', 'email_verified',
	'address', 'phone_number', 'phone_number_verified'];
const HELD = { name: 'Ada Lovelace', email: 'ada@example.test', email_verified: true, phone_number: '+44 20 7946 0000',
	address: { country: 'GB', locality: 'London' } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

let fed; // the real authority, the bed, and an agent serving for it (lib/federation.mjs)
let fake; // the stand-in authority
let agent; // an agent serving for the stand-in
let strict; // the same agent's key, serving for the stand-in without --allow-private-authority
let seq = 0;

// ------------------------------------------------------------------------------------------------ the stand-in

/**
 * startFakeAuthority(certs): an HTTPS server at https://localhost:PORT with /.well-known/openid-configuration and
 * /jwks (the public halves of fake.keys), counting the fetches of each.  fake.addKey(alg) makes a key and publishes
 * it; fake.mint(key, claims, {typ, header}) signs an agent token with it.
 */
async function startFakeAuthority(certs) {
	const port = await freePort();
	const issuer = `https://localhost:${port}`;
	const fa = { issuer, host: `localhost:${port}`, port, keys: [], fetches: { discovery: 0, jwks: 0 } };
	const server = https.createServer({
		cert: fs.readFileSync(path.join(certs, 'server.pem')),
		key: fs.readFileSync(path.join(certs, 'server.key')),
	}, (req, res) => {
		const json = (o) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(o));
		};
		if (req.url === '/.well-known/openid-configuration') {
			fa.fetches.discovery++;
			json({ issuer, jwks_uri: `${issuer}/jwks`, userinfo_endpoint: `${issuer}/userinfo` });
		} else if (req.url === '/jwks') {
			fa.fetches.jwks++;
			json({ keys: fa.keys.filter((k) => k.published).map((k) => k.publicJwk) });
		} else {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', resolve);
	});
	fa.addKey = async (alg = 'ES256', { published = true } = {}) => {
		const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
		const jwk = await jose.exportJWK(publicKey);
		jwk.kid = await jose.calculateJwkThumbprint(jwk);
		jwk.alg = alg;
		jwk.use = 'sig';
		const key = { alg, kid: jwk.kid, privateKey, publicJwk: jwk, published };
		fa.keys.push(key);
		return key;
	};
	fa.mint = (key, claims, { typ = TYP, header = {} } = {}) =>
		new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ, ...header }).sign(key.privateKey);
	fa.stop = () => new Promise((resolve) => {
		server.closeAllConnections?.();
		server.close(() => resolve());
	});
	return fa;
}

/**
 * startAgent({authority, extra}): `anchorid-agent serve` at https://localhost:PORT for ${authority}, with a new key
 * and database; resolves when it prints "ready".  Handle: {issuer, host, port, db, keyFile, publicJwk, thumbprint,
 * proc, meta, claims(identifier, claims), stop()}; stop() asserts exit status 0 after SIGTERM.
 */
async function startAgent({ authority, extra = [], keyFile, publicJwk }) {
	const certs = ensureCerts();
	const dir = fs.mkdtempSync(path.join(fed.tmp, 'agent-'));
	if (!keyFile) {
		keyFile = path.join(dir, 'agent.jwk');
		const kg = await runAgent(['keygen', keyFile]);
		assert.equal(kg.code, 0, `keygen: ${kg.stderr}`);
		publicJwk = JSON.parse(kg.stdout);
	}
	const port = await freePort();
	const issuer = `https://localhost:${port}`;
	const db = path.join(dir, 'db', 'agent.db');
	const args = ['--issuer', `${issuer}/`, '--port', String(port), '--tls-cert', path.join(certs, 'server.pem'),
		'--tls-key', path.join(certs, 'server.key'), '--database', db, '--key', keyFile, '--authority', authority,
		'--ca-file', path.join(certs, 'dev-ca.pem'), '--upstream', fed.bed.upstream, '--trust-anchor', fed.bed.trustAnchor,
		...extra, 'serve'];
	const proc = spawnAgent(args);
	const ready = await proc.waitFor(/^anchorid-agent: ready$/m, 20000 * SLOW);
	if (!ready) {
		proc.child.kill('SIGKILL');
		throw new Error(`anchorid-agent ${args.join(' ')} did not become ready:\n${proc.out()}\n${proc.err()}`);
	}
	const a = {
		issuer, host: `localhost:${port}`, port, db, keyFile, publicJwk, proc,
		thumbprint: await jose.calculateJwkThumbprint(publicJwk),
		async claims(identifier, claims) {
			const pairs = Object.entries(claims).map(([k, v]) => (typeof v === 'string' ? `${k}=${v}` : `${k}:=${JSON.stringify(v)}`));
			const r = await runAgent(['--database', db, 'claims', 'set', identifier, ...pairs]);
			assert.equal(r.code, 0, `claims set: ${r.stderr}`);
			return JSON.parse(r.stdout);
		},
		async stop() {
			if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
			const res = await Promise.race([proc.exited, sleep(10000 * SLOW).then(() => null)]);
			if (res === null) {
				proc.child.kill('SIGKILL');
				throw new Error(`anchorid-agent serve did not stop within 10 s of SIGTERM\n${proc.err().slice(-3000)}`);
			}
			assert.equal(res.code, 0, `anchorid-agent serve exit status after SIGTERM\n${proc.err().slice(-3000)}`);
		},
	};
	a.meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
	return a;
}

// ------------------------------------------------------------------------------------------------ helpers

/** ident(label): a fresh identifier under example.test (the bed's zone with TSIG updates). */
const ident = (label) => `${label}-${++seq}-${crypto.randomBytes(3).toString('hex')}.example.test`;

/** publish(identifier, record): the _openid TXT record of ${identifier}. */
async function publish(identifier, record) {
	await fed.bed.update('add', `_openid.${identifier}`, 'TXT', `"${record}"`);
}

/** user(a, fa, {record}): a fresh identifier whose _openid record names ${fa} and ${a} (or ${record}), with HELD. */
async function user(a, fa, { record, claims = HELD } = {}) {
	const identifier = ident('u');
	await publish(identifier, record ?? `v=OID1;iss=${fa.host};clp=${a.host}`);
	if (claims) await a.claims(identifier, claims);
	return identifier;
}

/** claimsFor(a, fa, identifier, over): the members of an agent token of ${fa} for ${a}; ${over} replaces (undefined
 * removes). */
function claimsFor(a, fa, identifier, over = {}) {
	const t = now();
	const c = {
		iss: fa.issuer, sub: `sub-${identifier}`, aud: a.issuer, client_id: 'client-agent-serve', 'id4me.identifier': identifier,
		clm: ['email', 'email_verified'], scope: 'openid email', jti: random(), iat: t, exp: t + 600, ...over,
	};
	for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
	return c;
}

/** unsigned(header, payload, sig): a compact JWS built by hand (for what jose refuses to make). */
const unsigned = (header, payload, sig = '') => `${b64u(header)}.${b64u(payload)}.${sig}`;

/** userinfo(a, token, {form, method, headers}): the agent's UserInfo answer {status, headers, text, body}. */
async function userinfo(a, token, { form = false, method = 'GET', headers = {} } = {}) {
	const init = { method, headers: { ...headers } };
	if (form) {
		init.method = 'POST';
		init.headers['content-type'] = 'application/x-www-form-urlencoded';
		init.body = new URLSearchParams({ access_token: token }).toString();
	} else if (token !== undefined) {
		init.headers.authorization = `Bearer ${token}`;
	}
	const res = await fetch(`${a.issuer}/userinfo`, init);
	const text = await res.text();
	let body;
	try { body = JSON.parse(text); } catch { body = text; }
	return { status: res.status, headers: res.headers, text, body };
}

/** assertRefused(res, re, what): RFC 6750 §3: 401 invalid_token, the reason matching ${re} in the body and in
 * WWW-Authenticate's error_description. */
function assertRefused(res, re, what) {
	assert.equal(res.status, 401, `${what}: want 401, got ${res.status} ${res.text.slice(0, 500)}`);
	const www = res.headers.get('www-authenticate') ?? '';
	assert.match(www, /^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/,
		`${what}: WWW-Authenticate: ${www}`);
	assert.equal(res.body.error, 'invalid_token', `${what}: error`);
	assert.match(res.body.error_description, re, `${what}: error_description`);
	assert.ok(www.includes(`error_description="${res.body.error_description}"`), `${what}: the same reason in the header`);
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${what}: no-store`);
}

/** assertUnavailable(res, re, what): 503 temporarily_unavailable: the token cannot be checked now. */
function assertUnavailable(res, re, what) {
	assert.equal(res.status, 503, `${what}: want 503, got ${res.status} ${res.text.slice(0, 500)}`);
	assert.equal(res.body.error, 'temporarily_unavailable', `${what}: error`);
	assert.match(res.body.error_description, re, `${what}: error_description`);
	assert.ok(res.headers.get('retry-after'), `${what}: Retry-After`);
}

/**
 * assertAnswer(res, a, {sub, clientId, claims}): §5: 200 application/jwt signed by the agent's key (its jwks_uri),
 * iss the agent, aud the client, exp = iat + 300, and besides those exactly ${claims}.
 */
async function assertAnswer(res, a, { sub, clientId, claims }, what) {
	assert.equal(res.status, 200, `${what}: ${res.status} ${res.text.slice(0, 500)}`);
	assert.match(res.headers.get('content-type') ?? '', /^application\/jwt/, `${what}: application/jwt`);
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${what}: no-store`);
	const set = jose.createLocalJWKSet(await (await fetch(a.meta.jwks_uri)).json());
	const { payload, protectedHeader } = await jose.jwtVerify(res.text, set, {
		issuer: a.issuer, audience: clientId, algorithms: a.meta.userinfo_signing_alg_values_supported,
	});
	assert.equal(protectedHeader.kid, a.thumbprint, `${what}: kid is the agent key's thumbprint`);
	assert.equal(payload.exp - payload.iat, 300, `${what}: exp = iat + 300`);
	assert.ok(Math.abs(payload.iat - now()) <= 30, `${what}: iat is now`);
	const { iss, aud, iat, exp, ...rest } = payload; // eslint-disable-line no-unused-vars
	assert.deepEqual(rest, { sub, ...claims }, `${what}: sub and only the clm claims held`);
	return payload;
}

// ------------------------------------------------------------------------------------------------ set-up

before(async () => {
	fed = await startFederation({ agentName: 'serve-fed' });
	fake = await startFakeAuthority(ensureCerts());
	agent = await startAgent({ authority: `${fake.issuer}/`, extra: ['--allow-private-authority'] });
	strict = await startAgent({ authority: fake.issuer, keyFile: agent.keyFile, publicJwk: agent.publicJwk });
	await fake.addKey('ES256');
	await fake.addKey('RS256');
});

after(async () => {
	const errors = [];
	for (const f of [() => agent?.stop(), () => strict?.stop(), () => fake?.stop(), () => fed?.stop()]) {
		try { await f(); } catch (e) { errors.push(e); }
	}
	if (errors.length) throw errors[0];
});

// ------------------------------------------------------------------------------------------------ documents

test('§2: the discovery document names the issuer, userinfo_endpoint, jwks_uri, the standard claims and the alg', async () => {
	const res = await fetch(`${agent.issuer}/.well-known/openid-configuration`);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
	assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/, 'cacheable');
	const meta = await res.json();
	assert.deepEqual(meta, {
		issuer: agent.issuer,
		userinfo_endpoint: `${agent.issuer}/userinfo`,
		jwks_uri: `${agent.issuer}/jwks.json`,
		claims_supported: STANDARD,
		userinfo_signing_alg_values_supported: ['ES256'],
	}, 'the issuer without the trailing slash it was given with; the members of §2');
	// The federation's agent is the one the real authority registered and fetches (drafts/claims.md §2).
	assert.equal(fed.agent.meta.issuer, fed.agent.issuer);
	assert.equal(fed.agent.meta.userinfo_endpoint, `${fed.agent.issuer}/userinfo`);
});

test('the JWK Set publishes the agent key (the public half keygen printed) with kid = its thumbprint, alg, use sig', async () => {
	const res = await fetch(agent.meta.jwks_uri);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
	const set = await res.json();
	assert.equal(set.keys.length, 1);
	const { kid, alg, use, ...pub } = set.keys[0];
	assert.deepEqual({ kid, alg, use }, { kid: agent.thumbprint, alg: 'ES256', use: 'sig' });
	const { alg: _a, ...printed } = agent.publicJwk; // eslint-disable-line no-unused-vars
	assert.deepEqual(pub, printed, 'the public members keygen printed, nothing private');
	for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(m in set.keys[0]), `no private member ${m}`);
});

// ------------------------------------------------------------------------------------------------ accepted

test('§5: an agent token passing every check gets a JWT of the agent with only the clm claims it holds', async () => {
	const id = await user(agent, fake);
	const c = claimsFor(agent, fake, id, { clm: ['email', 'email_verified', 'given_name'] });
	const res = await userinfo(agent, await fake.mint(fake.keys[0], c));
	await assertAnswer(res, agent, { sub: c.sub, clientId: c.client_id, claims: { email: HELD.email, email_verified: true } },
		'ES256 token; given_name asked but not held');
	assert.deepEqual(fake.fetches, { discovery: 1, jwks: 1 }, 'the authority\'s keys fetched once, through its discovery document');

	// RS256 (the other alg an authority signs access tokens with), by POST in the form body (RFC 6750 §2.2).
	const c2 = claimsFor(agent, fake, id, { clm: ['address', 'name', 'phone_number'] });
	await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[1], c2), { form: true }), agent,
		{ sub: c2.sub, clientId: c2.client_id, claims: { address: HELD.address, name: HELD.name, phone_number: HELD.phone_number } },
		'RS256 token in the form body');
	// An empty clm: the subject only.  A clm naming the answer's own members changes nothing.
	const c3 = claimsFor(agent, fake, id, { clm: [] });
	await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[0], c3)), agent, { sub: c3.sub, clientId: c3.client_id, claims: {} }, 'empty clm');
	const c4 = claimsFor(agent, fake, id, { clm: ['sub', 'iss', 'aud', 'exp', 'email'] });
	const p4 = await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[0], c4)), agent,
		{ sub: c4.sub, clientId: c4.client_id, claims: { email: HELD.email } }, 'clm naming iss/sub/aud/exp');
	assert.equal(p4.iss, agent.issuer);
	// aud as an array holding the agent (RFC 7519 §4.1.3), and an exp inside the leeway.
	const c5 = claimsFor(agent, fake, id, { aud: ['https://other.example', agent.issuer], exp: now() - LEEWAY / 2 });
	await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[0], c5)), agent,
		{ sub: c5.sub, clientId: c5.client_id, claims: { email: HELD.email, email_verified: true } }, 'aud array, exp within the leeway');
	// "application/" may prefix the typ (RFC 7515 §4.1.9).
	await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[0], c, { typ: `application/${TYP}` })), agent,
		{ sub: c.sub, clientId: c.client_id, claims: { email: HELD.email, email_verified: true } }, 'typ with application/');
	// A claim removed at the agent is no longer released.
	await agent.claims(id, { email: null });
	await assertAnswer(await userinfo(agent, await fake.mint(fake.keys[0], c)), agent,
		{ sub: c.sub, clientId: c.client_id, claims: { email_verified: true } }, 'after claims set email:=null');
	assert.deepEqual(fake.fetches, { discovery: 1, jwks: 1 }, 'the keys stay cached');
});

// ------------------------------------------------------------------------------------------------ refusals

test('RFC 6750: no token, a malformed header, a non-JWT, and two ways at once are refused', async () => {
	assertRefused(await userinfo(agent, undefined), /no access token/, 'no token');
	assertRefused(await userinfo(agent, undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), /not Bearer/, 'Basic');
	assertRefused(await userinfo(agent, 'not-a-jwt'), /not a JWT/, 'one segment');
	assertRefused(await userinfo(agent, 'a.b.c'), /not a JWT/, 'not base64url JSON');
	assertRefused(await userinfo(agent, 'x', { form: true }), /not a JWT/, 'form body');
	const both = await fetch(`${agent.issuer}/userinfo`, {
		method: 'POST', headers: { authorization: 'Bearer a.b.c', 'content-type': 'application/x-www-form-urlencoded' },
		body: 'access_token=a.b.c',
	});
	assert.equal(both.status, 400, 'RFC 6750 §2: one method only');
	assert.equal((await both.json()).error, 'invalid_request');
});

test('§5 typ: the token must be typed id4me-agent+jwt (before anything else is looked at)', async () => {
	const id = await user(agent, fake);
	const c = claimsFor(agent, fake, id);
	assertRefused(await userinfo(agent, await fake.mint(fake.keys[0], c, { typ: 'JWT' })), /typ is JWT, not id4me-agent\+jwt/, 'typ JWT');
	assertRefused(await userinfo(agent, await fake.mint(fake.keys[0], c, { typ: 'at+jwt' })), /typ is at\+jwt/, 'an access token');
	const noTyp = await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: fake.keys[0].kid }).sign(fake.keys[0].privateKey);
	assertRefused(await userinfo(agent, noTyp), /no typ/, 'no typ');
	// typ first: a wrong typ and a wrong iss give the typ reason.
	assertRefused(await userinfo(agent, await fake.mint(fake.keys[0], { ...c, iss: 'https://evil.example' }, { typ: 'JWT' })), /typ/, 'typ before iss');
});

test('§5 iss: only the authority the agent works with (checked before any key is fetched)', async () => {
	const id = await user(agent, fake);
	const before = { ...fake.fetches };
	const other = await fake.addKey('ES256', { published: false });
	assertRefused(await userinfo(agent, await fake.mint(other, claimsFor(agent, fake, id, { iss: 'https://evil.example' }))),
		/iss https:\/\/evil\.example is not the authority this agent works with/, 'another issuer');
	assertRefused(await userinfo(agent, await fake.mint(other, claimsFor(agent, fake, id, { iss: `${fake.issuer}/` }))),
		/is not the authority/, 'the authority with a trailing slash is another string');
	assertRefused(await userinfo(agent, await fake.mint(other, claimsFor(agent, fake, id, { iss: undefined }))), /no iss/, 'no iss');
	assert.deepEqual(fake.fetches, before, 'no fetch for a foreign token');
});

test('§5 signature: alg none, algs outside the list, a key of another alg, a forged signature, an unknown kid', async () => {
	const id = await user(agent, fake);
	const c = claimsFor(agent, fake, id);
	const es = fake.keys[0];
	assertRefused(await userinfo(agent, unsigned({ alg: 'none', typ: TYP }, c)), /alg none is not accepted/, 'alg none');
	assertRefused(await userinfo(agent, unsigned({ alg: 'none', kid: es.kid, typ: TYP }, c, 'AAAA')), /alg none/, 'alg none with a signature');
	const hs = await new jose.SignJWT(c).setProtectedHeader({ alg: 'HS256', kid: es.kid, typ: TYP }).sign(crypto.randomBytes(32));
	assertRefused(await userinfo(agent, hs), /alg HS256 is not accepted/, 'HS256 with the kid of a published key');
	// ES384 named on the published P-256 key: the key fixes the alg (RFC 8725 §3.1).
	const p384 = await fake.addKey('ES384', { published: false });
	const confused = await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES384', kid: es.kid, typ: TYP }).sign(p384.privateKey);
	assertRefused(await userinfo(agent, confused), /alg ES384 is not accepted/, 'ES384 on an ES256 key');
	// Signed by another key under the kid of a published one.
	const forger = await fake.addKey('ES256', { published: false });
	const forged = await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: es.kid, typ: TYP }).sign(forger.privateKey);
	assertRefused(await userinfo(agent, forged), new RegExp(`signature does not verify with the authority's key ${es.kid}`), 'forged');
	// The payload changed under a good signature.
	const good = await fake.mint(es, c);
	const [h, , s] = good.split('.');
	assertRefused(await userinfo(agent, `${h}.${b64u({ ...c, clm: ['email', 'address', 'phone_number'] })}.${s}`),
		/signature does not verify/, 'payload changed');
	const nokid = await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', typ: TYP }).sign(es.privateKey);
	assertRefused(await userinfo(agent, nokid), /no kid/, 'no kid');
	const fetched = { ...fake.fetches };
	assertRefused(await userinfo(agent, await fake.mint(forger, c)), new RegExp(`no key of the authority ${fake.issuer} has the kid ${forger.kid}`), 'unknown kid');
	assertRefused(await userinfo(agent, await fake.mint(forger, c)), /has the kid/, 'unknown kid again');
	assert.deepEqual(fake.fetches, fetched, '§5: an unknown kid fetches the keys again at most once a minute');
});

test('§5 aud, exp, iat: the token is for this agent and current; then sub, client_id, clm and the identifier', async () => {
	const id = await user(agent, fake);
	const es = fake.keys[0];
	const tok = (over) => fake.mint(es, claimsFor(agent, fake, id, over));
	assertRefused(await userinfo(agent, await tok({ aud: 'https://agent.example.org' })), /aud is not this agent/, 'another aud');
	assertRefused(await userinfo(agent, await tok({ aud: `${agent.issuer}/userinfo` })), /aud is not this agent/, 'the endpoint is not the issuer');
	assertRefused(await userinfo(agent, await tok({ aud: undefined })), /aud is not this agent/, 'no aud');
	// aud before exp: a token failing both gets the aud reason.
	assertRefused(await userinfo(agent, await tok({ aud: 'https://x.example', exp: now() - 3600 })), /aud/, 'aud before exp');
	assertRefused(await userinfo(agent, await tok({ exp: now() - LEEWAY - 30 })), /expired/, 'expired beyond the leeway');
	assertRefused(await userinfo(agent, await tok({ exp: undefined })), /no exp/, 'no exp');
	assertRefused(await userinfo(agent, await tok({ exp: 'soon' })), /no exp/, 'exp not a number');
	assertRefused(await userinfo(agent, await tok({ iat: now() + LEEWAY + 240 })), /iat .* is in the future/, 'iat in the future');
	assertRefused(await userinfo(agent, await tok({ iat: undefined })), /no iat/, 'no iat');
	assertRefused(await userinfo(agent, await tok({ sub: undefined })), /no sub/, 'no sub');
	assertRefused(await userinfo(agent, await tok({ client_id: undefined })), /no client_id/, 'no client_id');
	assertRefused(await userinfo(agent, await tok({ clm: undefined })), /no clm/, 'no clm');
	assertRefused(await userinfo(agent, await tok({ clm: 'email' })), /no clm/, 'clm a string');
	assertRefused(await userinfo(agent, await tok({ clm: ['email', 7] })), /clm holds/, 'clm with a number');
	assertRefused(await userinfo(agent, await tok({ 'id4me.identifier': undefined })), /no id4me\.identifier/, 'no identifier');
	assertRefused(await userinfo(agent, await tok({ 'id4me.identifier': 'bad..example.test' })), /id4me\.identifier is not valid/, 'bad identifier');
});

test('§5 DNS: _openid.<identifier> must exist, be DNSSEC-valid and name the authority in iss and this agent in clp', async () => {
	const es = fake.keys[0];
	const ask = async (identifier) => userinfo(agent, await fake.mint(es, claimsFor(agent, fake, identifier)));

	const missing = ident('nodns');
	assertRefused(await ask(missing), new RegExp(`_openid\\.${missing.replace(/\./g, '\\.')}`), 'no record');
	const otherAuth = await user(agent, fake, { record: `v=OID1;iss=auth.example.net;clp=${agent.host}` });
	assertRefused(await ask(otherAuth), /names the authority auth\.example\.net, not localhost:/, 'another authority');
	const otherAgent = await user(agent, fake, { record: `v=OID1;iss=${fake.host};clp=agent.example.org` });
	assertRefused(await ask(otherAgent), /names the agent agent\.example\.org, not this one/, 'another agent');
	const noClp = await user(agent, fake, { record: `v=OID1;iss=${fake.host}` });
	assertRefused(await ask(noClp), /names no agent/, 'no clp');
	const samePortOtherPath = await user(agent, fake, { record: `v=OID1;iss=${fake.host};clp=${agent.host}/other` });
	assertRefused(await ask(samePortOtherPath), /names the agent/, 'clp with another path');
	// Host names compare case-insensitively (drafts/dns-discovery.md), and a canonical identifier is looked up.
	const upper = await user(agent, fake, { record: `v=OID1;iss=${fake.host.toUpperCase()};clp=${agent.host.toUpperCase()}` });
	const c = claimsFor(agent, fake, upper.toUpperCase());
	await assertAnswer(await userinfo(agent, await fake.mint(es, c)), agent,
		{ sub: c.sub, clientId: c.client_id, claims: { email: HELD.email, email_verified: true } }, 'case-insensitive hosts and identifier');
});

test('the agent cannot check a token now: 503, not a verdict on the token (keys refused on loopback without the flag)', async () => {
	const id = await user(strict, fake);
	const res = await userinfo(strict, await fake.mint(fake.keys[0], claimsFor(strict, fake, id)));
	assertUnavailable(res, /the authority's keys cannot be fetched: .*addresses are not allowed/, 'no --allow-private-authority');
	// The refusals that need no key still come first.
	assertRefused(await userinfo(strict, unsigned({ alg: 'none', typ: TYP }, claimsFor(strict, fake, id))), /alg none/, 'alg none');
});

// ------------------------------------------------------------------------------------------------ the real authority

test('with anchorid: refusals of tokens it did not issue, checked against its real keys (fetched through its discovery)', async () => {
	const a = fed.agent;
	const authJwks = await (await fetch(fed.meta.jwks_uri)).json();
	const realKid = authJwks.keys.find((k) => k.alg === 'ES256')?.kid ?? authJwks.keys[0].kid;
	const id = 'serve-real.example.test';
	const t = now();
	const c = {
		iss: fed.srv.issuer, sub: 'q6Zb0cFvN9pEbfQkW0m3Lg', aud: a.issuer, client_id: 'hN8m1PZ2Q3Kz7aQbYfVw5g', 'id4me.identifier': id,
		clm: ['email'], scope: 'openid email', jti: random(), iat: t, exp: t + 600,
	};
	const mallory = await jose.generateKeyPair('ES256');
	const ua = (tok) => userinfo(a, tok);
	assertRefused(await ua(undefined), /no access token/, 'no token');
	assertRefused(await ua('eyJhbGciOiJFUzI1NiJ9.not-json.sig'), /not a JWT/, 'malformed');
	assertRefused(await ua(unsigned({ alg: 'none', typ: TYP }, c)), /alg none is not accepted/, 'alg none');
	assertRefused(await ua(await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: realKid, typ: 'JWT' }).sign(mallory.privateKey)),
		/typ is JWT/, 'wrong typ');
	assertRefused(await ua(await new jose.SignJWT({ ...c, iss: 'https://evil.example' }).setProtectedHeader({ alg: 'ES256', kid: realKid, typ: TYP }).sign(mallory.privateKey)),
		/iss https:\/\/evil\.example is not the authority/, 'unknown iss');
	assertRefused(await ua(await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: realKid, typ: TYP }).sign(mallory.privateKey)),
		new RegExp(`signature does not verify with the authority's key ${realKid}`), 'bad signature under the authority\'s real kid');
	assertRefused(await ua(await new jose.SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: 'no-such-kid', typ: TYP }).sign(mallory.privateKey)),
		/no key of the authority .* has the kid no-such-kid/, 'unknown kid');
	// The authority's own access token is no agent token (typ at+jwt or none, and aud the client).
});

test('with anchorid: the agent token from the authority\'s UserInfo (distributed claims) gets exactly the consented claims', async (t) => {
	const id = 'serve-flow.example.test';
	await fed.provision(id, { password: PASSWORD, claims: HELD });
	const client = await register(fed.meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
	const p = pkce();
	const url = authorizeUrl(fed.meta, {
		client_id: client.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid', state: random(), nonce: random(),
		code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: id, prompt: 'consent',
		claims: JSON.stringify({ userinfo: { email: { essential: true }, email_verified: null, phone_number: null } }),
	});
	const walked = await walk(new Browser(), url, {
		identifier: id, password: PASSWORD, redirectUri: CB, known: new Set(STANDARD),
		consent: () => ({ grant: ['email', 'email_verified'], decision: 'allow' }),
	});
	const code = walked.params.get('code');
	assert.ok(code, `an authorization code: ${walked.callback}`);
	const tokens = await redeem(fed.meta, client, { code, redirectUri: CB, verifier: p.verifier });
	const res = await fetch(fed.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
	const ui = await res.json();
	const sources = Object.values(ui._claim_sources ?? {});
	if (sources.length === 0) {
		t.skip(`the authority releases no distributed claims yet: ${JSON.stringify(ui)}`);
		return;
	}
	assert.equal(sources.length, 1);
	assert.equal(sources[0].endpoint, `${fed.agent.issuer}/userinfo`, 'the endpoint of the agent\'s discovery document');
	const agentRes = await userinfo(fed.agent, sources[0].access_token);
	const payload = await assertAnswer(agentRes, { ...fed.agent, thumbprint: await jose.calculateJwkThumbprint(fed.agent.publicJwk) },
		{ sub: ui.sub, clientId: client.client_id, claims: { email: HELD.email, email_verified: true } }, 'the authority\'s agent token');
	assert.equal(payload.iss, fed.agent.issuer);
	assert.deepEqual(Object.keys(ui._claim_names).sort(), ['email', 'email_verified'], '_claim_names: the consented claims');
	// The same token, sent to the agent by POST in the body, gets the same claims; its typ and signature were the
	// authority's (a real id4me-agent+jwt, verified with the authority's published keys).
	const again = await userinfo(fed.agent, sources[0].access_token, { form: true });
	assert.equal(again.status, 200, again.text);
});

// ------------------------------------------------------------------------------------------------ key rotation

test('§5: a new kid is fetched again only after the refetch window since the last fetch, and then accepted', async () => {
	// An agent of its own with a short window (--keys-refetch; one minute by default), so that the wait is short.
	const windowSec = 3 * SLOW;
	const rot = await startAgent({ authority: `${fake.issuer}/`, extra: ['--allow-private-authority', '--keys-refetch', String(windowSec)] });
	try {
		const id = await user(rot, fake);
		const c = claimsFor(rot, fake, id);
		const expect = { sub: c.sub, clientId: c.client_id, claims: { email: HELD.email, email_verified: true } };
		const start = { ...fake.fetches };
		const t0 = Date.now();
		await assertAnswer(await userinfo(rot, await fake.mint(fake.keys[0], c)), rot, expect, 'the first token fetches the keys');
		assert.deepEqual(fake.fetches, { discovery: start.discovery + 1, jwks: start.jwks + 1 }, 'one fetch');
		// Within the window: a new, published kid is refused without a fetch.
		const rotated = await fake.addKey('ES256');
		const before = { ...fake.fetches };
		assertRefused(await userinfo(rot, await fake.mint(rotated, c)), /has the kid/, 'a new key within the window');
		assert.ok(Date.now() - t0 < windowSec * 1000, 'still within the window (or this check showed nothing)');
		assert.deepEqual(fake.fetches, before, 'no fetch within the window');
		// After the window: the unknown kid fetches the keys once more and is accepted.
		await sleep(t0 + windowSec * 1000 + 300 - Date.now());
		await assertAnswer(await userinfo(rot, await fake.mint(rotated, c)), rot, expect, 'the rotated key after the window');
		assert.deepEqual(fake.fetches, { discovery: before.discovery + 1, jwks: before.jwks + 1 }, 'one more fetch');
		// The old key is still published: its tokens still pass, without another fetch.
		await assertAnswer(await userinfo(rot, await fake.mint(fake.keys[0], c)), rot, expect, 'the old key');
		assert.deepEqual(fake.fetches, { discovery: before.discovery + 1, jwks: before.jwks + 1 });
	} finally {
		await rot.stop();
	}
});

test('SIGTERM stops the agent gracefully (exit status 0), its log holding no token', async () => {
	const tok = await fake.mint(fake.keys[0], claimsFor(agent, fake, ident('log'), { aud: 'https://x.example' }));
	await userinfo(agent, tok);
	await agent.stop();
	const log = agent.proc.err();
	assert.ok(!log.includes(tok.split('.')[2]), 'no token signature in the log');
	assert.match(log, /userinfo: refused: /, 'refusals are logged with their reason');
	agent = null;
});
