// agent.test.mjs: the agent provisioning API of drafts/agent-provisioning.md, from the spec, against a real
// anchorid, the DNSSEC test bed (tests/dns/testbed.sh) and the reference agent (anchorid-agent with the shipped
// RFC 2136 hook).  Each test is named after the rule it shows.  A DNS check that fails must leave nothing behind:
// the failure tests look at `anchorid identity list` and at the identifier's status afterwards.
//
// Env: ANCHORID, ANCHORID_AGENT (binaries), plus those of lib/server.mjs.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDnsBed } from './lib/dnsbed.mjs';
import { startServer, completeSetup, freePort, ROOT, SLOW } from './lib/server.mjs';
import { Browser, findForm, describe as describePage } from './lib/browser.mjs';
import { discover, register, loginFlow, authorizeUrl, random, pkce } from './lib/rp.mjs';
import * as jose from 'jose';

import {
	AgentClient, makeKey, keyFromPrivateJwk, keyAuthorization, manualJws, es256Signer, writeJwk, runAgent, spawnAgent,
	HOOK,
} from './lib/agent.mjs';

const PASSWORD = 'correct horse battery staple';
const CB = 'https://rp.example/cb';
const ONE_ISS = 'https://agent-one.example.org';
const TWO_ISS = 'https://agent-two.example.org';
const RACE_ISS = 'https://agent-race.example.org';
const BIN_ISS = 'https://agent-bin.example.org';
const KIB64 = 64 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);
const hostOf = (url) => new URL(url).host;
const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

let bed;
let srv;
let self; // the issuer as an _openid record names it: localhost:PORT
let tmp;
let meta;
let client;
let one; // agent "one", issuer agent-one.example.org (ES256)
let two; // agent "two", issuer agent-two.example.org (ES256)
const examples = {};
const DRAFT = path.join(ROOT, 'drafts/agent-provisioning.md');
const KINDS = ['directory', 'authorization', 'created', 'deletion', 'status', 'setup', 'problem'];

/** addAgent(server, name, issuer, key): `anchorid agent add NAME --issuer URL --jwk FILE` with ${key}'s public JWK. */
async function addAgent(server, name, issuer, key) {
	const file = writeJwk(tmp, `${name}-${crypto.randomBytes(4).toString('hex')}.pub.jwk`, key.publicJwk);
	await server.cli('agent', 'add', name, '--issuer', issuer, '--jwk', file);
	return new AgentClient(server.issuer, { name, key });
}

before(async () => {
	for (const b of jsonBlocks(DRAFT)) {
		if (b.kind) { try { examples[b.kind] = JSON.parse(b.text); } catch { /* reported by the drafts test */ } }
	}
	bed = await startDnsBed();
	srv = await startServer({
		config: {
			login_dns_check: 'on', dns_upstreams: bed.upstream, dns_trust_anchor: bed.trustAnchor, dns_cache_max_ttl: 1,
		},
	});
	self = hostOf(srv.issuer);
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-agent-e2e-'));
	one = await addAgent(srv, 'one', ONE_ISS, await makeKey('ES256'));
	two = await addAgent(srv, 'two', TWO_ISS, await makeKey('ES256'));
	meta = await discover(srv.issuer);
	client = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
});

after(async () => {
	await srv?.stop();
	await bed?.stop();
	if (tmp && !process.env.E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------ helpers

let seq = 0;
/** fresh(label): a new identifier under example.test (the bed's zone with TSIG updates). */
const fresh = (label) => `${label}-${++seq}.example.test`;

/** openidFor(agentIssuer): the _openid record naming this authority and that agent (drafts §4 example form). */
const openidFor = (agentIssuer) => `v=OID1;iss=${self};clp=${hostOf(agentIssuer)}`;

async function publishChallenge(identifier, ...values) {
	for (const v of values) await bed.update('add', `_acme-challenge.${identifier}`, 'TXT', `"${v}"`);
}
async function publishOpenid(identifier, value) {
	await bed.update('add', `_openid.${identifier}`, 'TXT', `"${value}"`);
}
async function replaceOpenid(identifier, value) {
	await bed.update('del', `_openid.${identifier}`, 'TXT');
	await publishOpenid(identifier, value);
}

/** common(res, what): §2 "Every answer carries Cache-Control: no-store and a fresh Replay-Nonce". */
function assertCommon(res, what) {
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control no-store`);
	assert.ok(res.headers.get('replay-nonce'), `${what}: a Replay-Nonce`);
}

/** assertAnswer(res, status, what): a success of ${status} with a JSON body. */
function assertAnswer(res, status, what) {
	assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
	assertCommon(res, what);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${what}: JSON`);
	assert.equal(typeof res.body, 'object', `${what}: a JSON object`);
}

/** assertProblem(res, name, status, what): §7 problem document urn:anchorid:agent:${name} with ${status}. */
function assertProblem(res, name, status, what = name) {
	const got = typeof res.body === 'object' ? res.body.type : res.text.slice(0, 300);
	assert.deepEqual({ status: res.status, type: got }, { status, type: `urn:anchorid:agent:${name}` },
		`${what}: want ${status} ${name}, got ${res.status} ${res.text.slice(0, 600)}`);
	assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: problem+json`);
	assert.equal(res.body.status, status, `${what}: the problem's status member`);
	assert.equal(typeof res.body.title, 'string', `${what}: title`);
	assert.equal(typeof res.body.detail, 'string', `${what}: detail`);
	assert.ok(res.body.detail.length > 0, `${what}: a detail sentence`);
	assertCommon(res, what);
}

/**
 * assertDnsProblem(res, name, {identifier, dnsName, dnssec}): a §5 DNS failure (422): the problem example's
 * members (expected and found "where they apply"), with the DNS name and its DNSSEC status.
 */
function assertDnsProblem(res, name, { identifier, dnsName, dnssec, status = 422 }) {
	assertProblem(res, name, status);
	const ex = examples.problem;
	const allowed = Object.keys(ex);
	const required = allowed.filter((k) => k !== 'expected' && k !== 'found');
	const keys = Object.keys(res.body);
	assert.deepEqual({ missing: required.filter((k) => !keys.includes(k)), added: keys.filter((k) => !allowed.includes(k)) },
		{ missing: [], added: [] }, `${name}: members of a DNS problem (the §7 example's): ${res.text}`);
	assert.equal(res.body.identifier, identifier, `${name}: identifier`);
	assert.equal(res.body.name, dnsName, `${name}: the DNS name`);
	if (dnssec !== undefined) assert.equal(res.body.dnssec, dnssec, `${name}: the DNSSEC status`);
}

/** newAuthz(agent, identifier, action): a created authorization (asserts 201 and the §4 basics). */
async function newAuthz(agent, identifier, action = 'create') {
	const r = await agent.createAuthz(identifier, action);
	assertAnswer(r, 201, `${agent.name}: new ${action} authorization for ${identifier}`);
	assert.equal(r.headers.get('location'), r.body.url, 'Location is the authorization URL');
	return r.body;
}

/** provision(agent, identifier): §4 + §5 create with correct records; {authz, created}. */
async function provision(agent, identifier) {
	const authz = await newAuthz(agent, identifier);
	await publishChallenge(identifier, agent.challengeValue(authz));
	await publishOpenid(identifier, authz.openid.value);
	const r = await agent.finalize(authz);
	assertAnswer(r, 201, `${agent.name}: finalize create ${identifier}`);
	return { authz, created: r.body };
}

/** identities(identifier): the rows of `anchorid identity list` with ${identifier}. */
async function identities(identifier) {
	return JSON.parse(await srv.cli('identity', 'list')).filter((i) => i.identifier === identifier);
}

/** assertNothingCreated(agent, identifier): no identity at all, and the agent's status request says notFound. */
async function assertNothingCreated(agent, identifier) {
	assert.deepEqual(await identities(identifier), [], `nothing created for ${identifier}`);
	assertProblem(await agent.status(identifier), 'notFound', 404, `status of ${identifier} after the failure`);
}

/** assertPending(agent, authz): §5 "DNS failures ... leave the authorization pending". */
async function assertPending(agent, authz) {
	const r = await agent.read(authz);
	assertAnswer(r, 200, 'read the authorization');
	assert.equal(r.body.status, 'pending', `authorization still pending: ${r.text}`);
}

/** loginAs(identifier, password, browser): the code flow at the test's RP; loginFlow's result. */
function loginAs(identifier, password = PASSWORD, browser = undefined) {
	return loginFlow(srv, { meta, client, identifier, password, redirectUri: CB, browser });
}

/** silentCode(browser): prompt=none with ${browser}'s session: the callback URL the authority sends back. */
async function silentCode(browser) {
	const p = pkce();
	const url = authorizeUrl(meta, {
		response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state: random(),
		prompt: 'none', code_challenge: p.challenge, code_challenge_method: 'S256',
	});
	const { stoppedAt } = await browser.follow(url, { stop: (u) => u.href.startsWith(CB) });
	assert.ok(stoppedAt, 'prompt=none answers the relying party');
	return stoppedAt;
}

/**
 * confirmDeletion(url, password, browser): open the confirm page, fill the password in its form posting to
 * /delete, submit as a browser would (the confirming button, when there are several); the answer page.
 */
async function confirmDeletion(url, password, browser = new Browser()) {
	const { page } = await browser.follow(url);
	assert.equal(page.status, 200, `confirm page: ${describePage(page)}`);
	const f = findForm(page.body, '/delete', page.url.href);
	assert.ok(f, `the confirm page has a form posting to /delete: ${describePage(page)}`);
	assert.ok(f.inputs.some((a) => a.name === 'password'), `the form asks for the password: ${describePage(page)}`);
	const button = f.buttons.length > 1 ? f.buttons.find((b) => /delete|confirm|yes/i.test(`${b.value} ${b.text}`)) : f.buttons[0];
	const posted = await browser.submit(page, f, { password }, button ? { button } : {});
	return (await browser.follow(posted)).page;
}

/** jsonBlocks(file): the fenced ```json blocks of ${file}: {line, kind, text} (as drafts.test.mjs reads them). */
function jsonBlocks(file) {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const blocks = [];
	for (let i = 0; i < lines.length; i++) {
		const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*?)\s*$/);
		if (!open) continue;
		let j = i + 1;
		while (j < lines.length && !lines[j].trim().startsWith(open[2])) j++;
		if (open[3].toLowerCase() === 'json') blocks.push({ line: i + 1, kind: open[4] || null, text: lines.slice(i + 1, j).join('\n') });
		i = j;
	}
	return blocks;
}

function jsonType(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
	return typeof v;
}

/**
 * assertShape(real, example, what, {nullable}): exactly the example's member names, each of the example's JSON
 * type (recursively for objects, element-wise for arrays); ${nullable} members may also be null.
 */
function assertShape(real, example, what, { nullable = [] } = {}) {
	assert.ok(example, `${what}: no example`);
	assert.equal(jsonType(real), 'object', `${what}: an object`);
	const missing = Object.keys(example).filter((k) => !(k in real));
	const added = Object.keys(real).filter((k) => !(k in example));
	assert.deepEqual({ missing, added }, { missing: [], added: [] },
		`${what}: members differ from the example\n real: ${JSON.stringify(real)}\n example: ${JSON.stringify(example)}`);
	for (const [k, v] of Object.entries(real)) {
		if (v === null && nullable.includes(k)) continue;
		assert.equal(jsonType(v), jsonType(example[k]), `${what}: member ${k} is ${jsonType(v)}, the example has ${jsonType(example[k])}`);
		if (jsonType(v) === 'object') assertShape(v, example[k], `${what}.${k}`);
		if (Array.isArray(v) && example[k].length) {
			const types = new Set(example[k].map(jsonType));
			for (const e of v) assert.ok(types.has(jsonType(e)), `${what}: ${k} holds a ${jsonType(e)}`);
		}
	}
}

/** statusExample(variant): the §6 status example, as the prose varies it for inactive and deleted identities. */
function statusExample(variant) {
	const { password_set_at: _p, ...base } = examples.status; // eslint-disable-line no-unused-vars
	if (variant === 'deleted') return { ...base, deleted_at: 1763719300 };
	if (variant === 'inactive') return base; // "no password yet": see the note in the inactive test
	return examples.status;
}

// ------------------------------------------------------------------------------------------ the endpoints

test('§2 nonce endpoint: GET answers 204 and HEAD 200, each with a new Replay-Nonce and Cache-Control: no-store', async () => {
	const seen = new Set();
	for (const [method, status] of [['GET', 204], ['HEAD', 200], ['GET', 204], ['HEAD', 200]]) {
		const res = await fetch(`${srv.issuer}/agent/v1/nonce`, { method });
		assert.equal(res.status, status, `${method} /agent/v1/nonce`);
		const n = res.headers.get('replay-nonce');
		assert.match(n ?? '', /^[A-Za-z0-9_-]{16,}$/, `${method}: a base64url Replay-Nonce`);
		assert.ok(!seen.has(n), `${method}: a nonce never given before`);
		seen.add(n);
		assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${method}: no-store`);
		assert.equal((await res.text()).length, 0, `${method}: no body`);
	}
});

test('§2 directory: the endpoints under the issuer, with {id} and {identifier} templates', async () => {
	const res = await fetch(`${srv.issuer}/agent/v1/directory`);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, 'no-store');
	assert.ok(res.headers.get('replay-nonce'), 'Replay-Nonce on the directory too (§2 "every answer")');
	const b = `${srv.issuer}/agent/v1`;
	assert.deepEqual(await res.json(), {
		newNonce: `${b}/nonce`, newAuthz: `${b}/authz`, authz: `${b}/authz/{id}`, finalize: `${b}/authz/{id}/finalize`,
		identifier: `${b}/identifiers/{identifier}`, setupUrl: `${b}/identifiers/{identifier}/setup-url`,
	});
});

test('§2 every answer, errors included, carries Cache-Control: no-store and a fresh Replay-Nonce that works', async () => {
	// Every request here takes its nonce from the nonce endpoint, so that the answers' nonces stay unused.
	const c = new AgentClient(srv.issuer, { name: 'one', key: one.key });
	const n = () => c.newNonce();
	const id = fresh('fresh-nonce');
	const answers = [];
	answers.push(await c.createAuthz(id, 'create', { nonce: await n() })); // 201
	const authz = answers[0].body;
	answers.push(await c.read(authz, { nonce: await n() })); // 200
	answers.push(await c.status(fresh('never'), { nonce: await n() })); // 404 notFound
	answers.push(await c.finalize(authz, { nonce: await n() })); // 422 challengeRecordMissing
	answers.push(await c.post(c.authzUrl, { identifier: 'not an identifier', action: 'create' }, { nonce: await n() })); // 400
	answers.push(await c.send(c.authzUrl, 'not json')); // 400 malformed
	answers.push(await c.send(c.authzUrl, await c.signed(c.authzUrl, { identifier: id, action: 'create' }, { nonce: await n() }),
		{ contentType: 'application/json' })); // 415
	answers.push(await c.post(c.authzUrl, { identifier: id, action: 'create' }, { nonce: await n(), headerUrl: `${c.authzUrl}/x` })); // 401
	answers.push(await c.post(c.authzUrl, { identifier: id, action: 'create' }, { nonce: 'AAAAAAAAAAAAAAAAAAAAAA' })); // badNonce
	answers.push(await c.send(c.authzUrl, 'x'.repeat(KIB64 + 1))); // 413
	const codes = answers.map((a) => a.status);
	assert.deepEqual(codes, [201, 200, 404, 422, 400, 400, 415, 401, 400, 413], `the statuses: ${answers.map((a) => a.text).join('\n')}`);
	const nonces = answers.map((a) => a.headers.get('replay-nonce'));
	for (const [i, a] of answers.entries()) assertCommon(a, `answer ${i} (${a.status})`);
	assert.equal(new Set(nonces).size, nonces.length, 'each answer has a nonce of its own');
	// Each answer's nonce, errors included, is good for the next request (§7 "retry with the fresh Replay-Nonce").
	for (const [i, nonce] of nonces.entries()) {
		const r = await c.read(authz, { nonce });
		assertAnswer(r, 200, `the nonce from answer ${i} (${codes[i]}) is accepted`);
	}
});

// -------------------------------------------------------------------------------- the reference agent (§8)

describe('the reference agent anchorid-agent with the RFC 2136 hook', () => {
	let keyFile;
	let opts;
	let env;
	let binKey;

	before(async () => {
		keyFile = path.join(tmp, 'bin.key.jwk');
		const kg = await runAgent(['keygen', '--alg', 'ES256', keyFile]);
		assert.equal(kg.code, 0, `keygen: ${kg.stderr}${kg.stdout}`);
		assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'keygen writes the private key with mode 0600');
		const pub = JSON.parse(kg.stdout);
		const priv = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
		assert.ok('d' in priv, 'the key file holds the private key');
		assert.ok(!('d' in pub), 'keygen prints the public JWK (no d)');
		binKey = await keyFromPrivateJwk(priv, 'ES256');
		await srv.cli('agent', 'add', 'bin', '--issuer', BIN_ISS, '--jwk', writeJwk(tmp, 'bin.pub.jwk', pub));
		env = { DNS_HOOK_SERVER: `127.0.0.1@${bed.port}`, DNS_HOOK_ZONE: 'example.test', DNS_HOOK_TSIG: bed.tsigKeyFile };
		opts = ['--authority', srv.issuer, '--name', 'bin', '--key', keyFile, '--ca-file', srv.ca, '--hook', HOOK, '--wait', '15'];
	});

	async function agentStatus(identifier) {
		const r = await runAgent([...opts, 'status', identifier], { env });
		assert.equal(r.code, 0, `anchorid-agent status ${identifier}: ${r.code} ${r.stderr}`);
		try {
			return JSON.parse(r.stdout);
		} catch (e) {
			assert.fail(`anchorid-agent status prints §6's answer as JSON: ${e.message}\n${r.stdout}`);
		}
	}

	test('lifecycle: provision -> inactive; the password is set at the authority; login gives sub and id4me.identifier; ' +
		'delete is confirmed by the user with the password; then deleted, no login; re-provision gets a NEW sub', async () => {
		const id = 'carol.example.test';
		const prov = await runAgent([...opts, 'provision', id], { env });
		assert.equal(prov.code, 0, `anchorid-agent provision: ${prov.code}\n${prov.stderr}${prov.stdout}`);
		const setup = srv.setupUrl(prov.stdout);

		// The hook published the _openid record the authorization asked for, and the challenge is gone again.
		const oq = await bed.query(`_openid.${id}`, 'TXT');
		assert.deepEqual(oq.txt.map((s) => s.join('')), [openidFor(BIN_ISS)], '_openid record published by the hook');
		const cq = await bed.query(`_acme-challenge.${id}`, 'TXT');
		assert.deepEqual(cq.txt, [], `provision removes the challenge record: ${JSON.stringify(cq.txt)}`);

		const st1 = await agentStatus(id);
		assert.equal(st1.identifier, id);
		assert.equal(st1.status, 'inactive', 'inactive until the user sets a password at the authority');
		assert.equal(st1.agent, 'bin');
		assert.equal(typeof st1.sub, 'string');
		await assert.rejects(loginAs(id), /login rejected/, 'an inactive identity cannot log in');

		await completeSetup(setup, PASSWORD);
		const st2 = await agentStatus(id);
		assert.equal(st2.status, 'active');
		assert.equal(st2.sub, st1.sub);
		assert.equal(typeof st2.password_set_at, 'number');

		const { claims } = await loginAs(id);
		assert.equal(claims.sub, st1.sub, 'the ID token sub is the status sub');
		assert.equal(claims['id4me.identifier'], id);

		// delete: the agent gets a confirm URL for the user; nothing is deleted until the user confirms.
		const del = spawnAgent([...opts, 'delete', id], { env });
		const m = await del.waitFor(new RegExp(`^${reEscape(srv.issuer)}/delete\\?\\S+$`, 'm'));
		assert.ok(m, `anchorid-agent delete prints the confirm URL: ${del.out()}${del.err()}`);
		const binClient = new AgentClient(srv.issuer, { name: 'bin', key: binKey });
		const mid = await binClient.status(id);
		assertAnswer(mid, 200, 'status before the confirmation');
		assert.equal(mid.body.status, 'active', 'nothing deleted before the user confirms');
		const done = await confirmDeletion(new URL(m[0]), PASSWORD);
		assert.equal(done.status, 200, `confirmation accepted: ${describePage(done)}`);
		const ex = await Promise.race([del.exited, sleep(30000 * SLOW).then(() => null)]);
		if (ex === null) del.child.kill('SIGKILL');
		assert.deepEqual(ex, { code: 0, signal: null }, `anchorid-agent delete exits 0: ${del.err()}`);

		const st3 = await agentStatus(id);
		assert.equal(st3.status, 'deleted');
		assert.equal(st3.sub, st1.sub, 'the tombstone keeps the old sub');
		assert.equal(typeof st3.deleted_at, 'number', 'deleted_at');
		assert.ok(!('password_set_at' in st3), 'deleted_at replaces password_set_at');
		await assert.rejects(loginAs(id), /login rejected/, 'a deleted identity cannot log in');

		const again = await runAgent([...opts, 'provision', id], { env });
		assert.equal(again.code, 0, `re-provision: ${again.stderr}`);
		srv.setupUrl(again.stdout);
		const st4 = await agentStatus(id);
		assert.equal(st4.status, 'inactive');
		assert.notEqual(st4.sub, st1.sub, 'a deleted identifier created again gets a new sub');
		const rows = await identities(id);
		assert.deepEqual(rows.map((r) => [r.sub, r.state]).sort(), [[st1.sub, 'deleted'], [st4.sub, 'inactive']].sort(),
			`identity list: ${JSON.stringify(rows)}`);
	});

	test('§8 anchorid-agent exits 1 with the problem type and detail on stderr', async () => {
		const r = await runAgent([...opts, 'status', 'never-provisioned.example.test'], { env });
		assert.equal(r.code, 1, `exit status: ${r.stderr}`);
		assert.match(r.stderr, /urn:anchorid:agent:notFound/, 'the problem type on stderr');
	});
});

// --------------------------------------------------------------------------------------- authorizations

test('§4 authorization: 201, Location, challenge value = base64url(SHA-256(token.thumbprint)), the _openid record ' +
	'to publish, expires after agent_authz_ttl; POST-as-GET returns the same object', async () => {
	const id = fresh('authz');
	const t0 = now();
	const r = await one.createAuthz(id, 'create');
	assertAnswer(r, 201, 'create authorization');
	const a = r.body;
	assertShape(a, examples.authorization, 'authorization');
	assert.match(a.url, new RegExp(`^${reEscape(srv.issuer)}/agent/v1/authz/[A-Za-z0-9_-]+$`));
	assert.equal(r.headers.get('location'), a.url);
	assert.equal(a.finalize, `${a.url}/finalize`);
	assert.deepEqual([a.identifier, a.action, a.status], [id, 'create', 'pending']);
	assert.equal(a.challenge.type, 'dns-01');
	assert.match(a.challenge.token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
	assert.equal(a.challenge.name, `_acme-challenge.${id}`);
	assert.equal(a.challenge.value, keyAuthorization(a.challenge.token, one.key.thumbprint));
	assert.deepEqual(a.openid, { name: `_openid.${id}`, value: openidFor(ONE_ISS) });
	assert.ok(a.expires >= t0 + 3600 - 5 && a.expires <= now() + 3600 + 5, `expires about an hour on: ${a.expires - t0}`);

	const read = await one.read(a);
	assertAnswer(read, 200, 'POST-as-GET the authorization');
	assert.deepEqual(read.body, a, 'the same object');
	const b = await one.createAuthz(id, 'create');
	assertAnswer(b, 201, 'a second authorization');
	assert.notEqual(b.body.challenge.token, a.challenge.token, 'a new token each time');
});

test('§4 the identifier is canonicalised (lower case, trailing dot) and an invalid one is invalidIdentifier', async () => {
	const label = `Canon-${++seq}`;
	const r = await one.createAuthz(`${label}.Example.TEST.`);
	assertAnswer(r, 201, 'create with a non-canonical identifier');
	assert.equal(r.body.identifier, `${label.toLowerCase()}.example.test`);
	assert.equal(r.body.challenge.name, `_acme-challenge.${label.toLowerCase()}.example.test`);
	for (const bad of ['localhost', 'with space.example.test', 'a..b.example.test', 'example.123', '-x.example.test']) {
		assertProblem(await one.createAuthz(bad), 'invalidIdentifier', 400, `identifier ${JSON.stringify(bad)}`);
	}
});

test('§4 another agent\'s authorization is notFound', async () => {
	const a = await newAuthz(one, fresh('mine'));
	assertProblem(await two.read(a), 'notFound', 404, 'read another agent\'s authorization');
	assertProblem(await two.finalize(a), 'notFound', 404, 'finalize another agent\'s authorization');
	await assertPending(one, a);
});

test('§4 create: identifierHeld for the operator\'s or another agent\'s identifier, identifierExists for one\'s own', async () => {
	const operators = fresh('operators');
	await srv.cli('identity', 'add', operators);
	assertProblem(await one.createAuthz(operators), 'identifierHeld', 409, 'create an identifier the operator holds');
	const twos = fresh('twos');
	await provision(two, twos);
	assertProblem(await one.createAuthz(twos), 'identifierHeld', 409, 'create an identifier agent two holds');
	assertProblem(await two.createAuthz(twos), 'identifierExists', 409, 'create an identifier this agent holds');
	assert.equal((await identities(twos)).length, 1);
});

test('§4 preconditions are checked again at finalize: a pending create loses to an identity created meanwhile', async () => {
	const id = fresh('again');
	const a1 = await newAuthz(one, id);
	const a2 = await newAuthz(two, id);
	await publishChallenge(id, one.challengeValue(a1), two.challengeValue(a2));
	await publishOpenid(id, openidFor(ONE_ISS));
	assertAnswer(await one.finalize(a1), 201, 'one creates');
	await replaceOpenid(id, openidFor(TWO_ISS));
	assertProblem(await two.finalize(a2), 'identifierHeld', 409, 'two finalizes after one created it');
	const rows = await identities(id);
	assert.equal(rows.length, 1, JSON.stringify(rows));
});

test('§4 delete and transfer preconditions: notFound, identifierHeld, identifierExists', async () => {
	const nobody = fresh('nobody');
	assertProblem(await one.createAuthz(nobody, 'delete'), 'notFound', 404, 'delete an identifier no identity has');
	const twos = fresh('held');
	await provision(two, twos);
	assertProblem(await one.createAuthz(twos, 'delete'), 'identifierHeld', 409, 'delete another agent\'s identifier');
	assertProblem(await two.createAuthz(twos, 'transfer'), 'identifierExists', 409, 'transfer to the agent holding it');
	// Not named by §4 (spec gap): a transfer of an identifier no live identity has; notFound as for delete.
	assertProblem(await one.createAuthz(nobody, 'transfer'), 'notFound', 404, 'transfer an identifier no identity has');
	const bad = await one.post(one.authzUrl, { identifier: fresh('x'), action: 'steal' });
	assertProblem(bad, 'malformed', 400, 'an unknown action');
});

// ----------------------------------------------------------------------------------------- finalize (§5)

test('§5 create: 201 with Location, an inactive identity held by the agent with a fresh sub and a one-time setup URL', async () => {
	const id = fresh('created');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	await publishOpenid(id, authz.openid.value);
	const t0 = now();
	const r = await one.finalize(authz);
	assertAnswer(r, 201, 'finalize');
	assertShape(r.body, examples.created, 'created');
	assert.equal(r.headers.get('location'), one.identifierUrl(id), 'Location: the identifier\'s URL');
	assert.deepEqual([r.body.identifier, r.body.status, r.body.agent], [id, 'inactive', 'one']);
	assert.ok(r.body.setup_url.startsWith(`${srv.issuer}/setup?`), r.body.setup_url);
	assert.ok(Math.abs(r.body.setup_expires - (t0 + 86400)) <= 5, 'setup_expires: setup_ttl (default 1 day) on');
	const read = await one.read(authz);
	assert.equal(read.body.status, 'valid', 'the authorization is valid once finalized');
	const rows = await identities(id);
	assert.deepEqual(rows.map((x) => [x.sub, x.state]), [[r.body.sub, 'inactive']]);

	// §6 status of an inactive identity.
	const st = await one.status(id);
	assertAnswer(st, 200, 'status');
	// "status is inactive (no password yet)": the draft does not say whether password_set_at is then absent or
	// null; both are accepted here.
	if ('password_set_at' in st.body) assert.equal(st.body.password_set_at, null, 'password_set_at of an inactive identity');
	const { password_set_at: _p, ...rest } = st.body; // eslint-disable-line no-unused-vars
	assertShape(rest, statusExample('inactive'), 'status (inactive)');
	assert.deepEqual([st.body.status, st.body.sub, st.body.agent], ['inactive', r.body.sub, 'one']);

	// The user sets the password at the authority; the record names this issuer, so the login works.
	await completeSetup(new URL(r.body.setup_url), PASSWORD);
	await assert.rejects(completeSetup(new URL(r.body.setup_url), 'a second password 99'), 'the setup URL is one-time');
	const { claims } = await loginAs(id);
	assert.equal(claims.sub, r.body.sub);
	const st2 = await one.status(id);
	assertShape(st2.body, examples.status, 'status (active)');
	assert.equal(st2.body.status, 'active');
});

test('§5 the _openid record is compared as dns-discovery §6 says (host case, one trailing dot)', async () => {
	const id = fresh('hostcase');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	await publishOpenid(id, `v=OID1;iss=${self.toUpperCase()};clp=Agent-One.Example.ORG.`);
	assertAnswer(await one.finalize(authz), 201, 'finalize with an equivalent record');
});

test('§5.2 an unsigned zone: zoneInsecure (the challenge check comes first), nothing created', async () => {
	// insecure.test takes no updates; _acme-challenge.alice.insecure.test does not exist there (an unsigned
	// NXDOMAIN).  §5 step 2 lists zoneInsecure before challengeRecordMissing.
	const id = 'alice.insecure.test';
	const authz = await newAuthz(one, id);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'zoneInsecure', { identifier: id, dnsName: `_acme-challenge.${id}`, dnssec: 'insecure' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.2 a bogus zone (wrong DS): answerBogus, nothing created', async () => {
	const id = 'alice.bogus.test';
	const authz = await newAuthz(one, id);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'answerBogus', { identifier: id, dnsName: `_acme-challenge.${id}`, dnssec: 'bogus' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.2 expired signatures: answerBogus, nothing created', async () => {
	const id = 'alice.expired.test';
	const authz = await newAuthz(one, id);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'answerBogus', { identifier: id, dnsName: `_acme-challenge.${id}`, dnssec: 'bogus' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.2 no challenge record: challengeRecordMissing (422), the authorization stays pending, fixed records finalize', async () => {
	const id = fresh('nochallenge');
	const authz = await newAuthz(one, id);
	await publishOpenid(id, authz.openid.value);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'challengeRecordMissing', { identifier: id, dnsName: `_acme-challenge.${id}`, dnssec: 'secure' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
	// "the agent fixes its records and finalizes again until it expires"
	await publishChallenge(id, one.challengeValue(authz));
	assertAnswer(await one.finalize(authz), 201, 'finalize after the fix');
});

test('§5.2 wrong TXT value: challengeValueMismatch with expected and found[], the §7 example\'s shape', async () => {
	const id = fresh('mismatch');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, 'stale-value');
	await publishOpenid(id, authz.openid.value);
	const r = await one.finalize(authz);
	assertProblem(r, 'challengeValueMismatch', 422);
	assertShape(r.body, examples.problem, 'problem (challengeValueMismatch)');
	assert.equal(r.body.identifier, id);
	assert.equal(r.body.name, `_acme-challenge.${id}`);
	assert.equal(r.body.dnssec, 'secure');
	assert.equal(r.body.expected, one.challengeValue(authz));
	assert.deepEqual(r.body.found, ['stale-value']);
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.3 no _openid record: openidRecordMissing, nothing created', async () => {
	const id = fresh('noopenid');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'openidRecordMissing', { identifier: id, dnsName: `_openid.${id}`, dnssec: 'secure' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.3 an invalid _openid record: openidRecordInvalid with the dns-discovery §10 reason in detail', async () => {
	const id = fresh('badopenid');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	await publishOpenid(id, `v=OID1;iss=${self};iss=${self}`);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'openidRecordInvalid', { identifier: id, dnsName: `_openid.${id}`, dnssec: 'secure' });
	assert.match(r.body.detail, /duplicate_tag/, 'the §10 reason in detail');
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.3 an _openid record naming another issuer: wrongIssuer, nothing created', async () => {
	const id = fresh('otheriss');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	await publishOpenid(id, `v=OID1;iss=other-issuer.example.com;clp=${hostOf(ONE_ISS)}`);
	const r = await one.finalize(authz);
	assertDnsProblem(r, 'wrongIssuer', { identifier: id, dnsName: `_openid.${id}`, dnssec: 'secure' });
	await assertPending(one, authz);
	await assertNothingCreated(one, id);
});

test('§5.3 an _openid record naming another agent, or none: wrongAgent, nothing created', async () => {
	const id = fresh('otheragent');
	const authz = await newAuthz(one, id);
	await publishChallenge(id, one.challengeValue(authz));
	for (const record of [openidFor(TWO_ISS), `v=OID1;iss=${self}`]) {
		await replaceOpenid(id, record);
		const r = await one.finalize(authz);
		assertDnsProblem(r, 'wrongAgent', { identifier: id, dnsName: `_openid.${id}`, dnssec: 'secure' });
		await assertPending(one, authz);
		await assertNothingCreated(one, id);
	}
});

test('§5.1 a second finalize: alreadyFinalized (409), nothing changes', async () => {
	const id = fresh('twice');
	const { authz, created } = await provision(one, id);
	assertProblem(await one.finalize(authz), 'alreadyFinalized', 409, 'second finalize');
	const rows = await identities(id);
	assert.deepEqual(rows.map((x) => x.sub), [created.sub]);
});

test('§5.4 the race: two agents finalize creates for one identifier at once; exactly one 201, the other ' +
	'identifierHeld, exactly one identity', async () => {
	const ra = await addAgent(srv, 'race-a', RACE_ISS, await makeKey('ES256'));
	const rb = await addAgent(srv, 'race-b', RACE_ISS, await makeKey('ES256'));
	for (let round = 0; round < 5; round++) {
		const id = fresh('race');
		const [a, b] = [await newAuthz(ra, id), await newAuthz(rb, id)];
		await publishChallenge(id, ra.challengeValue(a), rb.challengeValue(b));
		await publishOpenid(id, openidFor(RACE_ISS));
		const [x, y] = await Promise.all([ra.finalize(a), rb.finalize(b)]);
		const ok = [x, y].filter((r) => r.status === 201);
		const lost = [x, y].filter((r) => r.status !== 201);
		assert.equal(ok.length, 1, `round ${round}: exactly one 201: ${x.status} ${x.text} / ${y.status} ${y.text}`);
		assertProblem(lost[0], 'identifierHeld', 409, `round ${round}: the loser`);
		const rows = await identities(id);
		assert.deepEqual(rows.map((r) => r.sub), [ok[0].body.sub], `round ${round}: exactly one identity`);
	}
	// One agent racing itself: the other answer is identifierExists.
	for (let round = 0; round < 3; round++) {
		const id = fresh('selfrace');
		const [a, b] = [await newAuthz(ra, id), await newAuthz(ra, id)];
		await publishChallenge(id, ra.challengeValue(a), ra.challengeValue(b));
		await publishOpenid(id, openidFor(RACE_ISS));
		const [x, y] = await Promise.all([ra.finalize(a), ra.finalize(b)]);
		const ok = [x, y].filter((r) => r.status === 201);
		assert.equal(ok.length, 1, `self round ${round}: exactly one 201: ${x.status} ${x.text} / ${y.status} ${y.text}`);
		assertProblem([x, y].find((r) => r.status !== 201), 'identifierExists', 409, `self round ${round}: the loser`);
		assert.equal((await identities(id)).length, 1);
	}
});

// -------------------------------------------------------------------------------------- transfer, delete

test('§5 transfer: the gaining agent holds it, sub, password and sessions are kept; the losing agent gets ' +
	'identifierHeld and its unused setup URL dies', async () => {
	const id = fresh('dave');
	const { created } = await provision(one, id);
	await completeSetup(new URL(created.setup_url), PASSWORD);
	const browser = new Browser();
	const first = await loginAs(id, PASSWORD, browser);
	assert.equal(first.claims.sub, created.sub);
	const su = await one.setupUrl(id);
	assertAnswer(su, 200, 'agent one asks for a setup URL before the transfer');
	const del = await newAuthz(one, id, 'delete');
	await publishChallenge(id, one.challengeValue(del));
	const pending = await one.finalize(del);
	assertAnswer(pending, 202, 'agent one starts a deletion before the transfer');

	const authz = await newAuthz(two, id, 'transfer');
	assert.equal(authz.action, 'transfer');
	assert.deepEqual(authz.openid, { name: `_openid.${id}`, value: openidFor(TWO_ISS) });
	await publishChallenge(id, two.challengeValue(authz));
	await replaceOpenid(id, authz.openid.value);
	const r = await two.finalize(authz);
	assertAnswer(r, 200, 'finalize transfer');
	assertShape(r.body, { ...examples.status, previous_agent: 'registrar-one' }, 'transfer answer');
	assert.deepEqual([r.body.sub, r.body.agent, r.body.previous_agent, r.body.status], [created.sub, 'two', 'one', 'active']);

	const session = await loginAs(id, PASSWORD, browser);
	assert.equal(session.result.sawLogin, false, 'the session was kept');
	assert.equal(session.claims.sub, created.sub);
	const again = await loginAs(id);
	assert.equal(again.claims.sub, created.sub, 'the same password logs in, same sub');

	assertProblem(await one.status(id), 'identifierHeld', 409, 'the losing agent\'s status request');
	assertProblem(await one.setupUrl(id), 'identifierHeld', 409, 'the losing agent\'s setup-url request');
	await assert.rejects(completeSetup(new URL(su.body.setup_url), 'taken over password 1'), 'the losing agent\'s setup URL died');
	await confirmDeletion(new URL(pending.body.confirm_url), PASSWORD).catch(() => null);
	assert.equal((await two.status(id)).body.status, 'active', 'the losing agent\'s pending deletion died');
	const st = await two.status(id);
	assertAnswer(st, 200, 'the gaining agent\'s status');
	assert.equal(st.body.agent, 'two');
});

test('§5 transfer of an identity the operator holds: previous_agent is null', async () => {
	const id = fresh('opheld');
	await srv.addIdentity(id, PASSWORD);
	const authz = await newAuthz(one, id, 'transfer');
	await publishChallenge(id, one.challengeValue(authz));
	await publishOpenid(id, authz.openid.value);
	const r = await one.finalize(authz);
	assertAnswer(r, 200, 'transfer from the operator');
	assertShape(r.body, { ...examples.status, previous_agent: null }, 'transfer answer', { nullable: ['previous_agent'] });
	assert.equal(r.body.previous_agent, null);
	assert.equal(r.body.agent, 'one');
});

test('§5 delete of an inactive identity: 200, deleted at once (no _openid check), status deleted with deleted_at', async () => {
	const id = fresh('delinactive');
	const { created } = await provision(one, id);
	const authz = await newAuthz(one, id, 'delete');
	await publishChallenge(id, one.challengeValue(authz));
	await bed.update('del', `_openid.${id}`, 'TXT'); // "for delete ... it is not checked"
	const r = await one.finalize(authz);
	assertAnswer(r, 200, 'delete inactive');
	assertShape(r.body, statusExample('deleted'), 'delete answer (status object, deleted)');
	assert.deepEqual([r.body.status, r.body.sub], ['deleted', created.sub]);
	const st = await one.status(id);
	assertAnswer(st, 200, 'status of the deleted identity, by the agent that held it');
	assertShape(st.body, statusExample('deleted'), 'status (deleted)');
	assertProblem(await two.status(id), 'notFound', 404, 'another agent: it never existed for it');
	await assert.rejects(completeSetup(new URL(created.setup_url), PASSWORD), 'the setup URL died with the identity');
	assert.deepEqual((await identities(id)).map((x) => x.state), ['deleted']);
});

test('§5 delete of an active identity: 202 with a confirm URL; a wrong password deletes nothing; the right one ' +
	'wipes the identity and its sessions, the sub is never issued again', async () => {
	const id = fresh('eve');
	const { created } = await provision(one, id);
	await completeSetup(new URL(created.setup_url), PASSWORD);
	const browser = new Browser();
	await loginAs(id, PASSWORD, browser);
	const authz = await newAuthz(one, id, 'delete');
	await publishChallenge(id, one.challengeValue(authz));
	const t0 = now();
	const r = await one.finalize(authz);
	assertAnswer(r, 202, 'delete active');
	assertShape(r.body, examples.deletion, 'deletion');
	assert.deepEqual([r.body.identifier, r.body.status, r.body.deletion], [id, 'active', 'pending_confirmation']);
	assert.ok(r.body.confirm_url.startsWith(`${srv.issuer}/delete?`), r.body.confirm_url);
	assert.ok(Math.abs(r.body.confirm_expires - (t0 + 86400)) <= 5, 'confirm_expires: setup_ttl on');
	assert.equal((await one.status(id)).body.status, 'active', 'nothing deleted yet');

	await confirmDeletion(new URL(r.body.confirm_url), 'not the password');
	assert.equal((await one.status(id)).body.status, 'active', 'a wrong password deletes nothing');

	const ok = await confirmDeletion(new URL(r.body.confirm_url), PASSWORD);
	assert.equal(ok.status, 200, describePage(ok));
	const st = await one.status(id);
	assertShape(st.body, statusExample('deleted'), 'status (deleted)');
	assert.deepEqual([st.body.status, st.body.sub], ['deleted', created.sub]);
	const cb = await silentCode(browser);
	assert.equal(cb.searchParams.get('code'), null, `the session died: ${cb.href}`);
	await assert.rejects(loginAs(id), /login rejected/, 'no login after deletion');
	const again = await confirmDeletion(new URL(r.body.confirm_url), PASSWORD).catch((e) => e);
	assert.ok(again instanceof Error || again.status !== 200, 'the confirm URL is one-time');

	const re = await provision(one, id);
	assert.notEqual(re.created.sub, created.sub, 'a new sub for the re-created identifier');
});

test('§5 delete confirm page: wrong passwords at the login count there too (SECURITY.md 10: one throttle per ' +
	'identifier and source)', async () => {
	const id = fresh('delthrottle');
	const { created } = await provision(one, id);
	await completeSetup(new URL(created.setup_url), PASSWORD);
	const authz = await newAuthz(one, id, 'delete');
	await publishChallenge(id, one.challengeValue(authz));
	const r = await one.finalize(authz);
	assertAnswer(r, 202, 'delete active');
	// login_max_failures (5) free guesses, then delays of 1 s and 2 s, waited out; the 8th starts a 4 s delay.
	for (const pause of [0, 0, 0, 0, 0, 0, 1100, 2100]) {
		await sleep(pause);
		await assert.rejects(loginAs(id, 'not the password'), /login rejected/);
	}
	const page = await confirmDeletion(new URL(r.body.confirm_url), PASSWORD);
	assert.equal(page.status, 429, `the confirm page shares the login's delay: ${describePage(page)}`);
	assert.equal((await one.status(id)).body.status, 'active', 'nothing deleted while throttled');
});

// ------------------------------------------------------------------------------------- identifiers (§6)

test('§6 status of an identifier that never existed for this agent: notFound', async () => {
	assertProblem(await one.status(fresh('never')), 'notFound', 404);
});

test('§6 setup-url: a new one-time URL, every earlier one dies; a password set through it revokes the sessions', async () => {
	const id = fresh('recover');
	const { created } = await provision(one, id);
	const s1 = await one.setupUrl(id);
	assertAnswer(s1, 200, 'setup-url');
	assertShape(s1.body, examples.setup, 'setup');
	assert.equal(s1.body.identifier, id);
	await assert.rejects(completeSetup(new URL(created.setup_url), PASSWORD), 'the first URL died');
	await completeSetup(new URL(s1.body.setup_url), PASSWORD);
	const browser = new Browser();
	await loginAs(id, PASSWORD, browser);
	assert.ok((await silentCode(browser)).searchParams.get('code'), 'a live session');

	const s2 = await one.setupUrl(id);
	assertAnswer(s2, 200, 'setup-url (recovery)');
	const NEW = 'a brand new password 77';
	await completeSetup(new URL(s2.body.setup_url), NEW);
	const cb = await silentCode(browser);
	assert.equal(cb.searchParams.get('code'), null, `the session was revoked: ${cb.href}`);
	await assert.rejects(loginAs(id, PASSWORD), /login rejected/, 'the old password no longer works');
	assert.equal((await loginAs(id, NEW)).claims.sub, created.sub, 'same sub with the new password');
});

test('§6 setup-url for a disabled identity: identifierDisabled (409)', async () => {
	const id = fresh('frank');
	await provision(one, id);
	await srv.cli('identity', 'disable', id);
	const st = await one.status(id);
	assert.equal(st.body.status, 'disabled');
	assertProblem(await one.setupUrl(id), 'identifierDisabled', 409);
});

// ------------------------------------------------------------------------------------ signed requests (§3)

describe('§3 signed requests, all aimed at one pending finalize whose DNS records are right', () => {
	let target;
	let id;
	const other = {};

	before(async () => {
		id = fresh('jws');
		target = await newAuthz(one, id);
		await publishChallenge(id, one.challengeValue(target));
		await publishOpenid(id, target.openid.value);
		other.p256 = await makeKey('ES256');
		other.p384 = await makeKey('ES384');
	});

	/** refused(res, name, status, what): the problem, and the finalize did not happen. */
	async function refused(res, name, status, what) {
		assertProblem(res, name, status, what);
		assert.deepEqual(await identities(id), [], `${what}: nothing created`);
	}

	test('§3 a media type other than application/jose+json: 415 malformed', async () => {
		const body = await one.signed(target.finalize, {});
		for (const ct of ['application/json', 'text/plain', null]) {
			await refused(await one.send(target.finalize, body, { contentType: ct }), 'malformed', 415, `Content-Type ${ct}`);
		}
	});

	test('§3 a body over 64 KiB: 413 malformed; exactly 64 KiB is read and judged as a JWS', async () => {
		await refused(await one.send(target.finalize, 'x'.repeat(KIB64 + 1)), 'malformed', 413, '64 KiB + 1');
		await refused(await one.send(target.finalize, 'x'.repeat(KIB64)), 'malformed', 400, '64 KiB of junk');
	});

	test('§3 not one flattened JWS with exactly protected, payload, signature: malformed', async () => {
		const good = JSON.parse(await one.signed(target.finalize, {}));
		const compact = `${good.protected}.${good.payload}.${good.signature}`;
		const cases = {
			'not JSON': 'not json',
			'compact serialization': compact,
			'a JSON string': JSON.stringify(compact),
			'general serialization': JSON.stringify({ payload: good.payload, signatures: [{ protected: good.protected, signature: good.signature }] }),
			'no signature': JSON.stringify({ protected: good.protected, payload: good.payload }),
			'an extra member': JSON.stringify({ ...good, extra: 1 }),
			'an unprotected header': JSON.stringify({ ...good, header: { kid: 'one' } }),
			'protected not base64url': JSON.stringify({ ...good, protected: '!!!' }),
		};
		for (const [what, body] of Object.entries(cases)) {
			await refused(await one.send(target.finalize, body), 'malformed', 400, what);
		}
	});

	test('§3 jwk, crit or b64 in the protected header: malformed', async () => {
		await refused(await one.post(target.finalize, {}, { extra: { jwk: one.key.publicJwk } }), 'malformed', 400, 'jwk in header');
		const sign = es256Signer(one.key);
		for (const extra of [{ crit: ['exp'], exp: 1 }, { b64: false, crit: ['b64'] }, { b64: true }]) {
			const header = { alg: 'ES256', kid: 'one', nonce: await one.newNonce(), url: target.finalize, ...extra };
			const body = JSON.stringify(manualJws(header, {}, sign));
			await refused(await one.send(target.finalize, body), 'malformed', 400, JSON.stringify(extra));
		}
	});

	test('§3 alg none, HS256, or an alg that is not the key\'s: badSignatureAlgorithm', async () => {
		const header = async (alg) => ({ alg, kid: 'one', nonce: await one.newNonce(), url: target.finalize });
		const none = manualJws(await header('none'), {}, () => crypto.randomBytes(64));
		await refused(await one.send(target.finalize, JSON.stringify(none)), 'badSignatureAlgorithm', 400, 'alg none');
		const hs = manualJws(await header('HS256'), {}, (input) => crypto.createHmac('sha256', 'secret').update(input).digest());
		await refused(await one.send(target.finalize, JSON.stringify(hs)), 'badSignatureAlgorithm', 400, 'alg HS256');
		await refused(await one.post(target.finalize, {}, { alg: 'ES384', key: other.p384 }), 'badSignatureAlgorithm', 400,
			'ES384 for an agent whose key is P-256');
		const es512 = manualJws(await header('ES512'), {}, () => crypto.randomBytes(132));
		await refused(await one.send(target.finalize, JSON.stringify(es512)), 'badSignatureAlgorithm', 400, 'ES512 (not in the list)');
	});

	test('§3 url other than the request\'s: unauthorized', async () => {
		const variants = [target.url, target.finalize.replace('https://', 'http://'), `${target.finalize}/`,
			`${target.finalize}?x=1`, target.finalize.replace(self, `127.0.0.1:${srv.port}`)];
		for (const u of variants) {
			await refused(await one.post(target.finalize, {}, { headerUrl: u }), 'unauthorized', 401, `url ${u}`);
		}
	});

	test('§3 a kid that is no registered agent: unknownAgent', async () => {
		await refused(await one.post(target.finalize, {}, { kid: 'nobody', key: other.p256 }), 'unknownAgent', 401, 'kid nobody');
	});

	test('§3 a valid kid with a signature by another key, or a changed payload: badSignature', async () => {
		await refused(await one.post(target.finalize, {}, { key: other.p256 }), 'badSignature', 401, 'another key');
		const jws = JSON.parse(await one.signed(target.finalize, {}));
		jws.payload = Buffer.from('{"x":1}').toString('base64url');
		await refused(await one.send(target.finalize, JSON.stringify(jws)), 'badSignature', 401, 'payload changed after signing');
	});

	test('§3 a nonce the server never issued: badNonce', async () => {
		await refused(await one.post(target.finalize, {}, { nonce: crypto.randomBytes(16).toString('base64url') }), 'badNonce', 400, 'made-up nonce');
	});

	test('§3 a request that fails before the signature check consumes no nonce; one that fails after it does', async () => {
		const cases = [
			['415', (n) => one.signed(target.url, '', { nonce: n }).then((b) => one.send(target.url, b, { contentType: 'application/json' })), 'malformed', 415],
			['unauthorized', (n) => one.post(target.url, '', { nonce: n, headerUrl: target.finalize }), 'unauthorized', 401],
			['unknownAgent', (n) => one.post(target.url, '', { nonce: n, kid: 'nobody' }), 'unknownAgent', 401],
			['badSignature', (n) => one.post(target.url, '', { nonce: n, key: other.p256 }), 'badSignature', 401],
		];
		for (const [what, bad, name, status] of cases) {
			const n = await one.newNonce();
			assertProblem(await bad(n), name, status, what);
			assertAnswer(await one.read(target, { nonce: n }), 200, `the nonce of the refused request (${what}) still works`);
		}
		// The payload is checked after the nonce: a malformed payload uses the nonce up.
		const n = await one.newNonce();
		assertProblem(await one.post(target.finalize, '[1, 2]', { nonce: n }), 'malformed', 400, 'finalize payload not an object');
		assertProblem(await one.read(target, { nonce: n }), 'badNonce', 400, 'that nonce is used');
		assertProblem(await one.post(one.authzUrl, ''), 'malformed', 400, 'empty payload where an object is needed');
	});

	test('§3 a disabled agent: agentDisabled (403) on every request; enabled again, it works', async () => {
		const off = await addAgent(srv, 'off', ONE_ISS, await makeKey('ES256'));
		const held = fresh('offheld');
		const { created } = await provision(off, held);
		await completeSetup(new URL(created.setup_url), PASSWORD);
		const a = await newAuthz(off, fresh('off'));
		await srv.cli('agent', 'disable', 'off');
		assert.equal((await loginAs(held)).claims.sub, created.sub, 'the identifiers it holds stay as they are');
		assertProblem(await off.createAuthz(fresh('off')), 'agentDisabled', 403, 'create');
		assertProblem(await off.read(a), 'agentDisabled', 403, 'read');
		assertProblem(await off.finalize(a), 'agentDisabled', 403, 'finalize');
		assertProblem(await off.status(a.identifier), 'agentDisabled', 403, 'status');
		await srv.cli('agent', 'enable', 'off');
		assertAnswer(await off.read(a), 200, 'enabled again');
	});

	test('§3 after all the refusals the authorization is pending and finalizes; the same body sent again is badNonce', async () => {
		await assertPending(one, target);
		await assertNothingCreated(one, id);
		const body = await one.signed(target.finalize, {});
		assertAnswer(await one.send(target.finalize, body), 201, 'finalize');
		assertProblem(await one.send(target.finalize, body), 'badNonce', 400, 'the exact same JWS again');
		assertProblem(await one.finalize(target), 'alreadyFinalized', 409, 'a new finalize');
		assert.equal((await identities(id)).length, 1);
	});
});

// ------------------------------------------------------------------------------------------ keys (§1, §3)

test('§1 agent add refuses a private key, a short RSA key and a bad name', async () => {
	const k = await makeKey('ES256');
	const priv = writeJwk(tmp, 'private.jwk', k.privateJwk);
	const r1 = await srv.cliRaw('agent', 'add', 'private-one', '--issuer', ONE_ISS, '--jwk', priv);
	assert.notEqual(r1.code, 0, `a file with d is refused: ${r1.stdout}`);
	const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
	const short = writeJwk(tmp, 'short.jwk', publicKey.export({ format: 'jwk' }));
	const r2 = await srv.cliRaw('agent', 'add', 'short-rsa', '--issuer', ONE_ISS, '--jwk', short);
	assert.notEqual(r2.code, 0, `RSA 1024 is refused: ${r2.stdout}`);
	const pub = writeJwk(tmp, 'ok.jwk', k.publicJwk);
	for (const name of ['Upper', 'has space', 'x'.repeat(65), '']) {
		const r = await srv.cliRaw('agent', 'add', name, '--issuer', ONE_ISS, '--jwk', pub);
		assert.notEqual(r.code, 0, `name ${JSON.stringify(name)} is refused`);
	}
	const list = await srv.cli('agent', 'list');
	assert.doesNotMatch(list, /private-one|short-rsa|Upper/, list);
});

test('§3 ES384, RS256 and PS256 agents sign with their algorithms', async () => {
	const es = await addAgent(srv, 'es384', ONE_ISS, await makeKey('ES384'));
	assertAnswer(await es.createAuthz(fresh('es384')), 201, 'ES384');
	const rsaKey = await makeKey('RS256');
	const rs = await addAgent(srv, 'rsa', ONE_ISS, rsaKey);
	assertAnswer(await rs.createAuthz(fresh('rs256')), 201, 'RS256');
	const ps = new AgentClient(srv.issuer, { name: 'rsa', key: { ...rsaKey, alg: 'PS256', privateKey: await jose.importJWK(rsaKey.privateJwk, 'PS256') } });
	assertAnswer(await ps.createAuthz(fresh('ps256')), 201, 'PS256 with the same RSA key');
	assertProblem(await rs.createAuthz(fresh('x'), 'create', { alg: 'ES256', key: one.key }), 'badSignatureAlgorithm', 400,
		'ES256 for an RSA agent');
});

test('§1 rotate-key: the old key fails at once; an authorization keeps the challenge value of the old thumbprint', async () => {
	const k1 = await makeKey('ES256');
	const k2 = await makeKey('ES256');
	const rot = await addAgent(srv, 'rot', ONE_ISS, k1);
	const id = fresh('rot');
	const a = await newAuthz(rot, id);
	assert.equal(a.challenge.value, keyAuthorization(a.challenge.token, k1.thumbprint));
	await srv.cli('agent', 'rotate-key', 'rot', '--jwk', writeJwk(tmp, 'rot2.jwk', k2.publicJwk));
	assertProblem(await rot.read(a), 'badSignature', 401, 'signed with the old key');
	const rot2 = new AgentClient(srv.issuer, { name: 'rot', key: k2 });
	const read = await rot2.read(a);
	assertAnswer(read, 200, 'the new key');
	assert.equal(read.body.challenge.value, keyAuthorization(a.challenge.token, k1.thumbprint), 'the old value is kept');
	await publishChallenge(id, a.challenge.value);
	await publishOpenid(id, a.openid.value);
	assertAnswer(await rot2.finalize(a), 201, 'finalize with the old challenge value under the new key');
	const b = await newAuthz(rot2, fresh('rot'));
	assert.equal(b.challenge.value, keyAuthorization(b.challenge.token, k2.thumbprint), 'new authorizations use the new key');
});

// ------------------------------------------------------------------- limits: a server with short settings

describe('limits (a second server: agent_authz_ttl = 1, agent_authz_per_hour = 2)', () => {
	let lim;
	let slow;
	let busy;

	before(async () => {
		lim = await startServer({
			config: {
				login_dns_check: 'on', dns_upstreams: bed.upstream, dns_trust_anchor: bed.trustAnchor, dns_cache_max_ttl: 1,
				agent_authz_ttl: 1, agent_authz_per_hour: 2,
			},
		});
		slow = await addAgent(lim, 'slow', ONE_ISS, await makeKey('ES256'));
		busy = await addAgent(lim, 'busy', ONE_ISS, await makeKey('ES256'));
	});

	after(async () => {
		await lim?.stop();
	});

	test('§5.1 an expired authorization: challengeExpired (410), status expired, nothing created', async () => {
		const id = fresh('late');
		const r = await slow.createAuthz(id);
		assertAnswer(r, 201, 'create');
		assert.ok(r.body.expires <= now() + 2, `expires after agent_authz_ttl = 1 s: ${r.body.expires - now()}`);
		await sleep(2200);
		const read = await slow.read(r.body);
		assertAnswer(read, 200, 'read the expired authorization');
		assert.equal(read.body.status, 'expired');
		assertProblem(await slow.finalize(r.body), 'challengeExpired', 410);
		const rows = JSON.parse(await lim.cli('identity', 'list')).filter((i) => i.identifier === id);
		assert.deepEqual(rows, [], 'nothing created');
	});

	test('§4 agent_authz_per_hour: the third authorization in an hour is rateLimited (429) with Retry-After', async () => {
		assertAnswer(await busy.createAuthz(fresh('busy')), 201, 'first');
		assertAnswer(await busy.createAuthz(fresh('busy')), 201, 'second');
		const r = await busy.createAuthz(fresh('busy'));
		assertProblem(r, 'rateLimited', 429, 'third');
		const ra = r.headers.get('retry-after');
		assert.match(ra ?? '', /^\d+$/, `Retry-After in seconds: ${ra}`);
		assert.ok(Number(ra) >= 1 && Number(ra) <= 3600, `Retry-After within the hour: ${ra}`);
		assertAnswer(await slow.createAuthz(fresh('other')), 201, 'the limit is per agent');
	});
});

describe('no usable DNS answer (a third server whose DNS upstream is a port nobody answers on)', () => {
	let dead;
	let agent;

	before(async () => {
		dead = await startServer({
			config: {
				login_dns_check: 'on', dns_upstreams: `127.0.0.1@${await freePort()}`, dns_trust_anchor: bed.trustAnchor,
				dns_timeout_ms: 300,
			},
		});
		agent = await addAgent(dead, 'one', ONE_ISS, await makeKey('ES256'));
	});

	after(async () => {
		await dead?.stop();
	});

	test('§5.2 no usable DNS answer: dnsUnavailable (503), the authorization stays pending, nothing created', async () => {
		const id = fresh('nodns');
		const a = await newAuthz(agent, id);
		const r = await agent.finalize(a);
		assertDnsProblem(r, 'dnsUnavailable', { identifier: id, dnsName: `_acme-challenge.${id}`, status: 503 });
		const read = await agent.read(a);
		assert.equal(read.body.status, 'pending', 'the authorization stays pending');
		const rows = JSON.parse(await dead.cli('identity', 'list')).filter((i) => i.identifier === id);
		assert.deepEqual(rows, [], 'nothing created');
	});
});

describe('the login re-check cache (a fourth server with the default dns_cache_max_ttl)', () => {
	let cached;
	let agent;
	let rp;

	before(async () => {
		cached = await startServer({
			config: { login_dns_check: 'on', dns_upstreams: bed.upstream, dns_trust_anchor: bed.trustAnchor },
		});
		agent = await addAgent(cached, 'one', ONE_ISS, await makeKey('ES256'));
		const m = await discover(cached.issuer);
		rp = { meta: m, client: await register(m, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' }) };
	});

	after(async () => {
		await cached?.stop();
	});

	test('§5 a finalize resolves without the cache, and its answers refresh the cache the login re-check uses', async () => {
		const id = fresh('refresh');
		const login = () => loginFlow(cached, { ...rp, identifier: id, password: PASSWORD, redirectUri: CB });
		await cached.addIdentity(id, PASSWORD);
		await publishOpenid(id, `v=OID1;iss=other-issuer.example.com;clp=${hostOf(ONE_ISS)}`);
		await assert.rejects(login(), /login rejected/, 'the record names another issuer (and is now cached, TTL 60 s)');
		const authz = await newAuthz(agent, id, 'transfer');
		await publishChallenge(id, agent.challengeValue(authz));
		await replaceOpenid(id, `v=OID1;iss=${hostOf(cached.issuer)};clp=${hostOf(ONE_ISS)}`);
		assertAnswer(await agent.finalize(authz), 200, 'the transfer sees the new record at once');
		assert.ok((await login()).claims.sub, 'the login re-check sees it too: the finalize refreshed the cache');
	});
});

// ------------------------------------------------------------------------------------------- the draft

test('drafts/agent-provisioning.md: every ```json block parses, and the real answers have exactly the example\'s ' +
	'members and JSON types', async () => {
	const blocks = jsonBlocks(DRAFT);
	for (const b of blocks) {
		try { JSON.parse(b.text); } catch (e) { assert.fail(`agent-provisioning.md:${b.line}: \`\`\`json ${b.kind ?? ''} is not JSON: ${e.message}`); }
	}
	assert.deepEqual(blocks.map((b) => b.kind).sort(), [...KINDS].sort(), 'the named examples, each once');

	const dir = await (await fetch(`${srv.issuer}/agent/v1/directory`)).json();
	assertShape(dir, examples.directory, 'directory');

	const id = fresh('shapes');
	const a = await one.createAuthz(id);
	assertShape(a.body, examples.authorization, 'authorization');
	await publishChallenge(id, 'not-it');
	await publishOpenid(id, a.body.openid.value);
	const problem = await one.finalize(a.body);
	assertShape(problem.body, examples.problem, 'problem');
	await publishChallenge(id, one.challengeValue(a.body));
	const created = await one.finalize(a.body);
	assertShape(created.body, examples.created, 'created');
	const setup = await one.setupUrl(id);
	assertShape(setup.body, examples.setup, 'setup');
	await completeSetup(new URL(setup.body.setup_url), PASSWORD);
	const status = await one.status(id);
	assertShape(status.body, examples.status, 'status');
	const d = await newAuthz(one, id, 'delete');
	await publishChallenge(id, one.challengeValue(d));
	const deletion = await one.finalize(d);
	assertShape(deletion.body, examples.deletion, 'deletion');
});
