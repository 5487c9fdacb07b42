// drafts.test.mjs: the drafts in drafts/*.md are the specification, and their JSON examples must stay true.
// Every ```json block must parse.  A block whose info string names a kind (```json id_token) is compared with the
// real thing from a running server: the set of member names and each member's JSON type must equal the
// example's, except for the members the draft itself calls optional (listed below with the draft's words).
// Values differ per run and are not compared.  JWT payloads are decoded without verification here: signatures
// are checked by openid_client.test.mjs and lib/rp.mjs verifyIdToken (which loginFlow runs).
// Env: E2E_DRAFTS (directory of the drafts, default drafts/; to check that a changed example is caught).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, ROOT } from './lib/server.mjs';
import { discover, register, registerRaw, loginFlow, tokenRequest } from './lib/rp.mjs';

const DRAFTS = path.resolve(ROOT, process.env.E2E_DRAFTS || 'drafts');
const IDENTIFIER = 'alice.example.com';
const PASSWORD = 'correct horse battery staple';
const CB = 'https://rp.example.com/cb';

/**
 * OPTIONAL[kind]: members of the example that a real instance may lack, each with the draft's wording.  Nothing
 * else may be missing, and nothing may be added.
 */
const OPTIONAL = {
	id_token: {
		// drafts/tokens.md §2: "`nonce` appears only when the relying party sent one"
		nonce: 'appears only when the relying party sent one',
	},
	access_token: {},
	token_response: {
		// drafts/tokens.md §4: "`refresh_token` is present when the client registered the `refresh_token` grant type"
		refresh_token: 'present when the client registered the refresh_token grant type',
	},
	userinfo: {},
	registration_response: {
		// drafts/registration.md §1: "A public client (`none`) gets no `client_secret`"
		client_secret: 'a public client (none) gets no client_secret',
		// drafts/registration.md §1, table: `client_name` has no default ("-"): absent unless registered
		client_name: 'no default: absent unless the client sent one',
	},
};

/** jsonBlocks(file): every fenced block of ${file} whose info string starts with "json": {file, line, info, kind, text}. */
function jsonBlocks(file) {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const blocks = [];
	for (let i = 0; i < lines.length; i++) {
		const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*?)\s*$/);
		if (!open) continue;
		const fence = open[2];
		let j = i + 1;
		while (j < lines.length && !lines[j].trim().startsWith(fence)) j++;
		if (open[3].toLowerCase() === 'json') {
			blocks.push({ file: path.basename(file), line: i + 1, info: `${open[3]} ${open[4]}`.trim(), kind: open[4] || null,
				text: lines.slice(i + 1, j).join('\n') });
		}
		i = j;
	}
	return blocks;
}

// The examples of drafts/agent-provisioning.md are checked against the agent API by agent.test.mjs, those of
// drafts/claims.md (userinfo_distributed, agent_token, agent_userinfo) by claims.test.mjs.
const CHECKED_ELSEWHERE = new Set(['agent-provisioning.md', 'claims.md']);

function allBlocks() {
	return fs.readdirSync(DRAFTS).filter((f) => f.endsWith('.md') && !CHECKED_ELSEWHERE.has(f)).sort()
		.flatMap((f) => jsonBlocks(path.join(DRAFTS, f)));
}

/** jsonType(v): the JSON type of ${v}, integers told apart from other numbers. */
function jsonType(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
	return typeof v; // string, boolean, object
}

/**
 * assertShape(real, example, kind, what): ${real} has exactly the members of ${example} (less the optional ones of
 * ${kind} it may lack), each of the example's JSON type; array elements too when both arrays have some.
 */
function assertShape(real, example, kind, what, { extra = {} } = {}) {
	assert.ok(example, `no valid \`\`\`json ${kind} example in drafts/*.md`);
	const optional = OPTIONAL[kind] ?? {};
	const want = { ...example, ...extra };
	assert.equal(jsonType(real), 'object', `${what}: an object`);
	const missing = Object.keys(want).filter((k) => !(k in real) && !(k in optional));
	const added = Object.keys(real).filter((k) => !(k in want));
	assert.deepEqual({ missing, added }, { missing: [], added: [] },
		`${what}: members differ from the ${kind} example\n real: ${JSON.stringify(real)}\n example: ${JSON.stringify(want)}`);
	for (const [k, v] of Object.entries(real)) {
		assert.equal(jsonType(v), jsonType(want[k]), `${what}: member ${k} is ${jsonType(v)}, the example has ${jsonType(want[k])}`);
		if (Array.isArray(v) && v.length && want[k].length) {
			const types = new Set(want[k].map(jsonType));
			for (const e of v) assert.ok(types.has(jsonType(e)), `${what}: ${k} holds a ${jsonType(e)}, the example's hold ${[...types]}`);
		}
	}
}

/** payload(jwt), header(jwt): the decoded parts of a compact JWS, unverified. */
function part(jwt, i) {
	const parts = jwt.split('.');
	assert.equal(parts.length, 3, `a compact JWS: ${jwt.slice(0, 40)}...`);
	return JSON.parse(Buffer.from(parts[i], 'base64url').toString('utf8'));
}
const header = (jwt) => part(jwt, 0);
const payload = (jwt) => part(jwt, 1);

// ------------------------------------------------------------------------------------------------- syntax

test('drafts: every ```json block is valid JSON', () => {
	const blocks = allBlocks();
	assert.ok(blocks.length >= 5, `expected the drafts' JSON examples, found ${blocks.length}`);
	for (const b of blocks) {
		try {
			JSON.parse(b.text);
		} catch (e) {
			assert.fail(`${b.file}:${b.line}: \`\`\`${b.info} is not valid JSON: ${e.message}`);
		}
	}
});

test('drafts: every named ```json block is one this test checks, and none is missing', () => {
	const blocks = allBlocks().filter((b) => b.kind);
	for (const b of blocks) {
		assert.ok(b.kind in OPTIONAL, `${b.file}:${b.line}: \`\`\`${b.info} names a kind this test does not know: add a check`);
	}
	const kinds = blocks.map((b) => b.kind);
	for (const k of Object.keys(OPTIONAL)) {
		assert.equal(kinds.filter((x) => x === k).length, 1, `exactly one \`\`\`json ${k} block in drafts/*.md`);
	}
	for (const [kind, opt] of Object.entries(OPTIONAL)) {
		const ex = examples[kind];
		assert.ok(ex, `the ${kind} example parses`);
		for (const m of Object.keys(opt)) assert.ok(m in ex, `optional member ${m} of ${kind} is in the example`);
	}
});

// ------------------------------------------------------------------------------------------ the real thing

let srv;
let meta;
const examples = {};

before(async () => {
	// An example that does not parse is reported by the first test; the comparisons then fail on its absence.
	for (const b of allBlocks()) {
		if (!b.kind) continue;
		try { examples[b.kind] = JSON.parse(b.text); } catch { /* reported above */ }
	}
	srv = await startServer();
	await srv.addIdentity(IDENTIFIER, PASSWORD);
	meta = await discover(srv.issuer);
});

after(async () => {
	await srv?.stop();
});

/** flow(client): the code flow for ${client} (registered here), returning loginFlow's result. */
function flow(client) {
	return loginFlow(srv, { meta, client, redirectUri: CB, identifier: IDENTIFIER, password: PASSWORD });
}

test('drafts/tokens.md: id_token, access_token, token_response and userinfo examples match real ones', async () => {
	const client = await register(meta, {
		redirect_uris: [CB], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
	});
	const { tokens } = await flow(client);

	// §4 token response, with a refresh token (the client registered the grant).
	assertShape(tokens, examples.token_response, 'token_response', 'token response (refresh_token grant registered)');
	assert.ok('refresh_token' in tokens, 'refresh_token present: the client registered the refresh_token grant');

	// §2 ID token, with a nonce (loginFlow sends one); §3 access token.
	assertShape(payload(tokens.id_token), examples.id_token, 'id_token', 'ID token payload');
	assert.ok('nonce' in payload(tokens.id_token), 'nonce present: the relying party sent one');
	assertShape(payload(tokens.access_token), examples.access_token, 'access_token', 'access token payload');

	// §5 UserInfo as JSON.
	const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
	assert.equal(ui.status, 200);
	assert.match(ui.headers.get('content-type') ?? '', /^application\/json/);
	assertShape(await ui.json(), examples.userinfo, 'userinfo', 'UserInfo response');

	// After a refresh: the token response, the new ID token (no nonce: none was sent with the refresh) and
	// access token keep the shape.
	const r = await tokenRequest(meta, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
	assert.equal(r.status, 200, JSON.stringify(r.body));
	assertShape(r.body, examples.token_response, 'token_response', 'token response to a refresh');
	if (r.body.id_token) assertShape(payload(r.body.id_token), examples.id_token, 'id_token', 'ID token from a refresh');
	assertShape(payload(r.body.access_token), examples.access_token, 'access_token', 'access token from a refresh');
});

test('drafts/tokens.md: token response without refresh_token for a client without that grant', async () => {
	const client = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_post' });
	const { tokens } = await flow(client);
	assertShape(tokens, examples.token_response, 'token_response', 'token response (no refresh_token grant)');
	assert.ok(!('refresh_token' in tokens), 'no refresh_token: the client did not register the grant');
});

test('drafts/tokens.md: JWT headers and signed UserInfo as the prose describes them', async () => {
	const text = fs.readFileSync(path.join(DRAFTS, 'tokens.md'), 'utf8');
	const section = (title) => text.split(/^## /m).find((s) => s.startsWith(title)) ?? '';
	const inlineHeader = (s) => {
		const m = s.match(/[Hh]eader:? `(\{[^`]*\})`/);
		assert.ok(m, 'the section shows the JWT header');
		return JSON.parse(m[1]);
	};
	const idHeader = inlineHeader(section('2. ID token'));
	const atHeader = inlineHeader(section('3. Access token'));

	const client = await register(meta, {
		redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic', userinfo_signed_response_alg: 'RS256',
	});
	const { tokens } = await flow(client);
	const sameHeader = (real, ex, what) => {
		assert.deepEqual(Object.keys(real).sort(), Object.keys(ex).sort(), `${what} header members: ${JSON.stringify(real)}`);
		for (const [k, v] of Object.entries(ex)) {
			if (v === '...') assert.equal(typeof real[k], 'string', `${what} header ${k}`);
			else assert.equal(real[k], v, `${what} header ${k}`);
		}
	};
	sameHeader(header(tokens.id_token), idHeader, 'ID token (default RS256)');
	sameHeader(header(tokens.access_token), atHeader, 'access token (default access_token_alg ES256)');

	// §5: "a JWT (`application/jwt`, with `iss` and `aud` added) when the client registered
	// `userinfo_signed_response_alg`".
	const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
	assert.equal(ui.status, 200);
	assert.match(ui.headers.get('content-type') ?? '', /^application\/jwt/);
	const jwt = await ui.text();
	assert.equal(header(jwt).alg, 'RS256');
	assertShape(payload(jwt), examples.userinfo, 'userinfo', 'signed UserInfo payload', {
		extra: { iss: 'https://issuer.example', aud: 'client-id' },
	});
	assert.equal(payload(jwt).iss, srv.issuer);
	assert.equal(payload(jwt).aud, client.client_id);
});

test('drafts/registration.md: registration_response example matches a real registration', async () => {
	// The example's own metadata: a web client with one redirect URI and client_name "RP".
	const r = await registerRaw(meta, { redirect_uris: [CB], client_name: 'RP' });
	assert.equal(r.status, 201, JSON.stringify(r.body));
	assertShape(r.body, examples.registration_response, 'registration_response', 'registration response (confidential)');
	assert.ok('client_secret' in r.body && 'client_name' in r.body, 'a confidential client with a name gets both');

	// A public client without a name: no client_secret, no client_name, client_secret_expires_at still there.
	const p = await registerRaw(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'none' });
	assert.equal(p.status, 201, JSON.stringify(p.body));
	assertShape(p.body, examples.registration_response, 'registration_response', 'registration response (public)');
	assert.ok(!('client_secret' in p.body), 'a public client gets no client_secret');
	assert.equal(p.body.client_secret_expires_at, 0, 'client_secret_expires_at is always present');
});
