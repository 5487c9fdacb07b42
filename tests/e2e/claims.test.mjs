// claims.test.mjs: per-claim consent and distributed claims (drafts/claims.md) across the whole federation: the
// DNSSEC test bed, the authority, and the reference identity agent `anchorid-agent serve` holding the user's
// claims (lib/federation.mjs).  Relying parties: openid-client v6 (starting from the identifier: DNSSEC discovery,
// dynamic registration, the claims parameter), Apache mod_auth_openidc (which resolves distributed claims itself),
// headless Chromium, and hand-made requests for the refusals.  Each test is named after the rule it shows.
//
// The tests share one federation and run in order: the consent decisions made by the first are what the later
// ones remember, revoke and check.  Env: those of lib/server.mjs and lib/agent.mjs; CHROMIUM, APACHE2.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import * as oc from 'openid-client';
import * as jose from 'jose';

import { ROOT, freePort } from './lib/server.mjs';
import { Browser, findForm, describe as describePage } from './lib/browser.mjs';
import { register, authorizeUrl, pkce, random, redeem } from './lib/rp.mjs';
import { startApache } from './lib/apache.mjs';
import { startFederation, walk, consentInfo, consentFields, jwtParts, launchChromium } from './lib/federation.mjs';

const IDENT = 'erin.example.test';
const PASSWORD = 'erin claims password 42';
const CLAIMS = { name: 'Erin Example', given_name: 'Erin', family_name: 'Example', email: 'erin@example.test', email_verified: true };
const CB = 'https://rp-claims.example/cb';
const REASON = 'To send receipts';
const CLAIMS_PARAM = { userinfo: { email: { essential: true, reason: REASON } } };
const SHOTS = path.join(ROOT, 'build/screenshots');
const DRAFT = path.join(ROOT, 'drafts/claims.md');

// drafts/claims.md §1: the standard claims each scope expands to.
const PROFILE = ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture',
	'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'];
const SCOPE_CLAIMS = { profile: PROFILE, email: ['email', 'email_verified'], address: ['address'], phone: ['phone_number', 'phone_number_verified'] };
const STANDARD = Object.values(SCOPE_CLAIMS).flat();
const KNOWN = new Set([...STANDARD, 'sub', 'iss', 'id4me.identifier']);
const GRANTED = ['email', 'email_verified'];
const JWT_MEMBERS = ['iss', 'sub', 'aud', 'iat', 'exp'];

const sorted = (a) => [...a].sort();
const re = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let fed;
let meta; // the authority's discovery document
/** Every secret seen in this file: none may reach a log (SECURITY.md, checked by the last test). */
const secrets = new Map();
const keep = (name, value) => { if (typeof value === 'string' && value.length >= 10) secrets.set(`${name}#${secrets.size}`, value); };

/** rpA: the openid-client relying party of the first test, reused by the later ones. */
const rpA = {};

before(async () => {
	fs.mkdirSync(SHOTS, { recursive: true });
	fed = await startFederation();
	meta = fed.meta;
	const p = await fed.provision(IDENT, { password: PASSWORD, claims: CLAIMS });
	keep('setup_token', p.setupUrl.searchParams.get('t'));
	keep('password', PASSWORD);
});

after(async () => {
	await fed?.stop();
});

// ------------------------------------------------------------------------------------------------ helpers

/** requested(scope, param): the claim names a request asks for (drafts/claims.md §1), the authority's own left out. */
function requested(scope, param = {}) {
	const names = new Set();
	for (const s of scope.split(' ')) for (const c of SCOPE_CLAIMS[s] ?? []) names.add(c);
	for (const where of ['userinfo', 'id_token']) for (const c of Object.keys(param[where] ?? {})) names.add(c);
	for (const own of ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'id4me.identifier']) names.delete(own);
	return names;
}

/** deliverable(names): those the agent lists in claims_supported (§2). */
const deliverable = (names) => [...names].filter((c) => fed.agent.meta.claims_supported.includes(c));

/** userinfo(token): the authority's UserInfo answer as JSON (asserts 200 and no-store). */
async function userinfo(token) {
	const res = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
	const text = await res.text();
	assert.equal(res.status, 200, `authority UserInfo: ${res.status} ${text}`);
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, 'UserInfo Cache-Control: no-store');
	return JSON.parse(text);
}

/** source(info): the one distributed claims source of a UserInfo answer: {name, endpoint, access_token}. */
function source(info) {
	const names = Object.keys(info._claim_sources ?? {});
	assert.equal(names.length, 1, `one claims source: ${JSON.stringify(info)}`);
	return { name: names[0], ...info._claim_sources[names[0]] };
}

/** agentGet(token, {method}): the agent's UserInfo answer: {status, headers, text}. */
async function agentGet(token, { method = 'GET', endpoint = fed.agent.meta.userinfo_endpoint } = {}) {
	const init = { method, headers: {} };
	if (token !== undefined) init.headers.authorization = `Bearer ${token}`;
	if (method === 'POST') {
		init.headers['content-type'] = 'application/x-www-form-urlencoded';
		init.body = '';
	}
	const res = await fetch(endpoint, init);
	return { status: res.status, headers: res.headers, text: await res.text() };
}

/** assertInvalidToken(r, what): §5 401 with WWW-Authenticate: Bearer error="invalid_token" and a description. */
function assertInvalidToken(r, what) {
	assert.equal(r.status, 401, `${what}: want 401 invalid_token, got ${r.status} ${r.text.slice(0, 300)}`);
	const wa = r.headers.get('www-authenticate') ?? '';
	assert.match(wa, /^Bearer\b.*error="invalid_token"/, `${what}: WWW-Authenticate: ${wa}`);
	assert.ok(/error_description="[^"]+"/.test(wa) || r.text.trim().length > 0, `${what}: a description (header or body): ${wa}`);
}

const agentJwks = new Map();
/**
 * verifyAgentAnswer(jwt, {audience, endpoint}): what an RP does with the agent's answer: find the agent's
 * configuration from the JWT's iss, check it serves ${endpoint}, verify the signature against its jwks_uri and
 * iss/aud/exp with jose.  Returns {payload, protectedHeader}.
 */
async function verifyAgentAnswer(jwt, { audience, endpoint = fed.agent.meta.userinfo_endpoint }) {
	const { payload: unverified } = jwtParts(jwt);
	const res = await fetch(`${unverified.iss}/.well-known/openid-configuration`);
	assert.equal(res.status, 200, `the agent's configuration from the answer's iss ${unverified.iss}`);
	const am = await res.json();
	assert.equal(am.issuer, unverified.iss, 'the agent configuration issuer equals the answer\'s iss');
	assert.equal(am.userinfo_endpoint, endpoint, 'the claims source endpoint is that agent\'s userinfo_endpoint');
	if (!agentJwks.has(am.jwks_uri)) agentJwks.set(am.jwks_uri, jose.createRemoteJWKSet(new URL(am.jwks_uri)));
	const out = await jose.jwtVerify(jwt, agentJwks.get(am.jwks_uri), {
		issuer: fed.agent.issuer, audience, algorithms: ['ES256', 'ES384', 'RS256'], requiredClaims: JWT_MEMBERS,
	});
	assert.ok(out.protectedHeader.kid, 'the agent\'s answer has a kid');
	return out;
}

/** agentAnswer(token, audience): GET the agent with ${token}, assert 200 application/jwt, verify; the payload. */
async function agentAnswer(token, audience) {
	const r = await agentGet(token);
	assert.equal(r.status, 200, `agent UserInfo: ${r.status} ${r.headers.get('www-authenticate') ?? ''} ${r.text.slice(0, 300)}`);
	assert.match(r.headers.get('content-type') ?? '', /^application\/jwt/, 'the agent answers application/jwt');
	keep('agent_answer', r.text.trim());
	return (await verifyAgentAnswer(r.text.trim(), { audience })).payload;
}

/** claimsOf(payload): the personal claims of an agent answer (JWT members left out). */
const claimsOf = (payload) => Object.fromEntries(Object.entries(payload).filter(([k]) => !JWT_MEMBERS.includes(k)));

/** assertPageHeaders(headers, what): SECURITY.md 7 for an HTML page. */
function assertPageHeaders(h, what) {
	const csp = h.get('content-security-policy') ?? '';
	assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors 'none' (got ${csp})`);
	assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/, `${what}: CSP allows no inline script`);
	assert.equal((h.get('x-frame-options') ?? '').toUpperCase(), 'DENY', `${what}: X-Frame-Options`);
	assert.equal(h.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
	assert.equal(h.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
	assert.match(h.get('strict-transport-security') ?? '', /max-age=\d+/, `${what}: HSTS`);
}

/**
 * codeFlow(config, browser, opts): an authorization request built by openid-client (PKCE, state, nonce, login_hint,
 * the claims parameter) walked by the person in ${browser}; walk()'s result plus {verifier, state, nonce, url}.
 */
async function codeFlow(config, browser, { scope = 'openid email profile', claims = CLAIMS_PARAM, prompt, consent, password = PASSWORD, identifier = IDENT } = {}) {
	const verifier = oc.randomPKCECodeVerifier();
	const state = oc.randomState();
	const nonce = oc.randomNonce();
	const params = {
		redirect_uri: CB, scope, state, nonce, code_challenge: await oc.calculatePKCECodeChallenge(verifier),
		code_challenge_method: 'S256', login_hint: identifier,
	};
	if (claims) params.claims = JSON.stringify(claims);
	if (prompt) params.prompt = prompt;
	const url = oc.buildAuthorizationUrl(config, params);
	const res = await walk(browser, url, { identifier, password, redirectUri: CB, consent, known: KNOWN });
	return { ...res, verifier, state, nonce, url };
}

/** redeemOc(config, flow): openid-client's code exchange of a walk's callback; the tokens (secrets kept). */
async function redeemOc(config, flow) {
	const tokens = await oc.authorizationCodeGrant(config, flow.callback, {
		pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
	});
	keep('code', flow.params.get('code'));
	keep('access_token', tokens.access_token);
	keep('id_token', tokens.id_token);
	keep('refresh_token', tokens.refresh_token);
	return tokens;
}

/** loginAt(browser, url): open ${url} at the authority and log in when a login form shows; the page after. */
async function loginAt(browser, url) {
	let { page } = await browser.follow(url);
	const lf = page.forms.find((f) => f.method === 'POST' && f.inputs.some((a) => a.name === 'password'));
	if (lf) {
		const values = { password: PASSWORD };
		if (lf.inputs.some((a) => a.name === 'identifier')) values.identifier = IDENT;
		({ page } = await browser.follow(await browser.submit(page, lf, values, lf.buttons.length ? { button: lf.buttons[0] } : {})));
	}
	return page;
}

/** accountPage(browser): {issuer}/account, logging in when asked; asserts the page is there. */
async function accountPage(browser) {
	const page = await loginAt(browser, `${fed.srv.issuer}/account`);
	assert.equal(page.status, 200, `account page: ${describePage(page)}`);
	assert.equal(page.url.pathname, '/account', `the account page after the login: ${describePage(page)}`);
	return page;
}

/**
 * revokeForm(page, clientId, claim): the account page's POST form that revokes ${claim} of ${clientId} (or, with
 * claim null, the whole relying party): {form, button}.
 */
function revokeForm(page, clientId, claim) {
	for (const form of page.forms.filter((f) => f.method === 'POST')) {
		const values = form.fields.map(([, v]) => v);
		if (!values.includes(clientId) && !form.buttons.some((b) => b.value === clientId)) continue;
		const claimField = form.fields.some(([n, v]) => KNOWN.has(v) && /claim/i.test(n));
		if (claim) {
			const button = form.buttons.find((b) => b.value === claim);
			if (button) return { form, button };
			if (values.includes(claim)) return { form, button: form.buttons.find((b) => /revoke/i.test(`${b.value} ${b.text}`)) ?? form.buttons[0] };
		} else if (!claimField) {
			const button = form.buttons.find((b) => /revoke|remove|forget/i.test(`${b.value} ${b.text}`) && !KNOWN.has(b.value));
			if (button || form.buttons.length === 1) return { form, button: button ?? form.buttons[0] };
		}
	}
	return undefined;
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

/** assertShape(real, example, what): exactly the example's member names, each of its JSON type (recursively). */
function assertShape(real, example, what) {
	assert.equal(jsonType(real), 'object', `${what}: an object`);
	const missing = Object.keys(example).filter((k) => !(k in real));
	const added = Object.keys(real).filter((k) => !(k in example));
	assert.deepEqual({ missing, added }, { missing: [], added: [] },
		`${what}: members differ from the example\n real: ${JSON.stringify(real)}\n example: ${JSON.stringify(example)}`);
	for (const [k, v] of Object.entries(real)) {
		assert.equal(jsonType(v), jsonType(example[k]), `${what}: member ${k} is ${jsonType(v)}, the example has ${jsonType(example[k])}`);
		if (jsonType(v) === 'object') assertShape(v, example[k], `${what}.${k}`);
		if (Array.isArray(v) && v.length && example[k].length) {
			const types = new Set(example[k].map(jsonType));
			for (const e of v) assert.ok(types.has(jsonType(e)), `${what}: ${k} holds a ${jsonType(e)}`);
		}
	}
}

// ------------------------------------------------------------------------------------------------- discovery

test('§1 discovery advertises claims_parameter_supported and the standard claims; §2 the agent publishes its ' +
	'configuration (issuer, userinfo_endpoint, jwks_uri, claims_supported)', async () => {
	assert.equal(meta.claims_parameter_supported, true, 'claims_parameter_supported: true');
	const missing = [...KNOWN].filter((c) => !(meta.claims_supported ?? []).includes(c));
	assert.deepEqual(missing, [], `claims_supported lists the standard claims plus sub, iss, id4me.identifier: ${JSON.stringify(meta.claims_supported)}`);
	const am = fed.agent.meta;
	assert.equal(am.issuer, fed.agent.issuer, 'the agent\'s issuer');
	for (const k of ['userinfo_endpoint', 'jwks_uri']) {
		assert.equal(typeof am[k], 'string', k);
		assert.ok(am[k].startsWith('https://'), `${k} is https: ${am[k]}`);
	}
	assert.ok(Array.isArray(am.claims_supported) && am.claims_supported.every((c) => typeof c === 'string'), 'claims_supported: strings');
	for (const c of Object.keys(CLAIMS)) assert.ok(am.claims_supported.includes(c), `the agent supports ${c}`);
	const jwks = await (await fetch(am.jwks_uri)).json();
	assert.ok(jwks.keys?.length >= 1, 'the agent publishes a key');
	for (const k of jwks.keys) {
		assert.ok(k.kid, 'every agent JWK has a kid');
		assert.equal(k.d, undefined, 'no private parts in the agent\'s JWKS');
	}
});

// --------------------------------------------------------------------------------------- the whole flow

test('§3-§5 openid-client from the identifier: DNSSEC discovery, registration, per-claim consent (email granted, ' +
	'name refused), UserInfo with distributed claims, the agent\'s signed answer with exactly the granted claims', async (t) => {
	// 1. The RP knows only the identifier: _openid.<identifier> TXT, DNSSEC-validated, gives the issuer.
	const d = await fed.discover(IDENT);
	assert.equal(d.code, 0, `anchorid discover ${IDENT}: ${d.stdout}${d.stderr}`);
	assert.equal(d.fields.dnssec, 'secure', 'the record is DNSSEC-secure');
	assert.equal(d.fields.issuer, fed.srv.issuer, 'iss of the record');
	assert.equal(d.fields.agent, fed.agent.host, 'clp of the record names the agent');
	const q = await fed.bed.query(`_openid.${IDENT}`, 'TXT');
	assert.equal(q.dnssec, 'secure', 'getdns_query agrees: secure');

	// 2. Discovery and dynamic registration with openid-client.
	const issuer = new URL(d.fields.issuer);
	const config = await oc.dynamicClientRegistration(issuer, {
		client_name: 'Federation RP (openid-client)', redirect_uris: [CB], response_types: ['code'],
		grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
	}, oc.ClientSecretBasic(), { execute: [oc.enableNonRepudiationChecks] });
	const clientId = config.clientMetadata().client_id;
	keep('client_secret', config.clientMetadata().client_secret);
	assert.equal(config.serverMetadata().claims_parameter_supported, true);

	// 3. The person logs in and decides claim by claim: email and email_verified yes, the profile claims no.
	const browser = new Browser();
	const scope = 'openid email profile';
	const asked = requested(scope, CLAIMS_PARAM);
	let seen;
	const flow = await codeFlow(config, browser, {
		scope,
		consent: (page, info) => {
			seen = { page, info };
			return { grant: GRANTED };
		},
	});
	assert.ok(flow.sawLogin, 'the password was asked');
	assert.ok(seen, 'a first request for claims shows the consent page');
	const { info } = seen;
	t.diagnostic(`consent page: ${info.text.slice(0, 600)}`);
	// §3: client_name and redirect host, one checkbox per deliverable claim, essential flagged and pre-checked
	// with the reason, the undeliverable ones as unavailable.
	assert.match(info.text, /Federation RP \(openid-client\)/, 'the client_name is shown');
	assert.match(info.text, /rp-claims\.example/, 'the redirect host is shown');
	assert.deepEqual(sorted(info.checkboxes.map((c) => c.claim)), sorted(deliverable(asked)),
		`one checkbox per deliverable requested claim: ${JSON.stringify(info.checkboxes)}`);
	const email = info.checkboxes.find((c) => c.claim === 'email');
	assert.ok(email.checked, 'the essential claim is pre-checked');
	assert.match(info.text, /essential|required/i, 'the essential claim is flagged');
	assert.ok(info.text.includes(REASON), 'the relying party\'s reason is shown');
	assert.match(info.text, /E-mail address/, 'claims are named in words');
	for (const c of [...asked].filter((x) => !deliverable(asked).includes(x))) {
		assert.ok(info.text.includes(c) || /unavailable/i.test(info.text), `undeliverable ${c} listed as unavailable`);
	}
	t.diagnostic(`pre-checked: ${info.checkboxes.filter((c) => c.checked).map((c) => c.claim).join(' ')}`);
	assert.equal(flow.params.get('iss'), fed.srv.issuer, 'RFC 9207 iss');

	// 4. Tokens.
	const tokens = await redeemOc(config, flow);
	const idc = tokens.claims();
	assert.equal(idc['id4me.identifier'], IDENT);
	assert.ok(tokens.refresh_token, 'a refresh token (the client registered the grant)');
	const at = jwtParts(tokens.access_token).payload;
	assert.deepEqual(sorted(at.clm), sorted(GRANTED), `access token clm: the granted claims (${JSON.stringify(at.clm)})`);
	assert.equal(at['id4me.identifier'], IDENT, 'access token id4me.identifier');
	assert.equal(at.sub, idc.sub);

	// 5. UserInfo at the authority: distributed claims of exactly the granted claims, pointing at the agent.
	const ui = await oc.fetchUserInfo(config, tokens.access_token, idc.sub);
	assert.equal(ui.sub, idc.sub);
	assert.equal(ui['id4me.identifier'], IDENT);
	const src = source(ui);
	assert.deepEqual(sorted(Object.keys(ui._claim_names)), sorted(GRANTED), `_claim_names: ${JSON.stringify(ui._claim_names)}`);
	for (const c of GRANTED) assert.equal(ui._claim_names[c], src.name, `${c} names the source`);
	assert.equal(src.endpoint, fed.agent.meta.userinfo_endpoint, 'the source endpoint is the agent\'s userinfo_endpoint');
	assert.equal(typeof src.access_token, 'string');
	for (const c of STANDARD) assert.ok(!(c in ui), `no claim value at the authority (${c})`);
	keep('agent_token', src.access_token);

	// 6. The agent token: the agent_token example's members, about this user, client and grant.
	const ag = jwtParts(src.access_token);
	assert.equal(ag.header.typ, 'id4me-agent+jwt', 'agent token typ');
	assert.ok(ag.header.kid, 'agent token kid');
	const example = Object.fromEntries(jsonBlocks(DRAFT).filter((b) => b.kind).map((b) => [b.kind, JSON.parse(b.text)]));
	assert.deepEqual(sorted(Object.keys(ag.payload)), sorted(Object.keys(example.agent_token)),
		`agent token members: ${JSON.stringify(ag.payload)}`);
	assert.equal(ag.payload.iss, fed.srv.issuer);
	assert.equal(ag.payload.aud, fed.agent.issuer, 'audience: the agent\'s issuer');
	assert.equal(ag.payload.sub, idc.sub);
	assert.equal(ag.payload.client_id, clientId);
	assert.equal(ag.payload['id4me.identifier'], IDENT);
	assert.deepEqual(sorted(ag.payload.clm), sorted(GRANTED));
	// The authority signed it: its JWKS verifies it.
	await jose.jwtVerify(src.access_token, jose.createRemoteJWKSet(new URL(meta.jwks_uri)), { issuer: fed.srv.issuer, audience: fed.agent.issuer });

	// 7. The RP fetches the claims at the agent and verifies the answer against the agent's JWKS.
	const payload = await agentAnswer(src.access_token, clientId);
	assert.equal(payload.sub, idc.sub, 'sub: the ID token\'s');
	assert.equal(payload.aud, clientId, 'aud: the client');
	assert.deepEqual(claimsOf(payload), { email: CLAIMS.email, email_verified: true }, 'exactly the granted claims');
	assert.ok(!('name' in payload), 'no name');
	// §5: GET or POST.
	const post = await agentGet(src.access_token, { method: 'POST' });
	assert.equal(post.status, 200, `POST to the agent: ${post.status} ${post.text.slice(0, 200)}`);
	assert.deepEqual(claimsOf((await verifyAgentAnswer(post.text.trim(), { audience: clientId })).payload), claimsOf(payload));

	Object.assign(rpA, { config, clientId, browser, tokens, idc, userinfo: ui, agentToken: src.access_token, agentPayload: payload,
		refresh: tokens.refresh_token });
});

// ------------------------------------------------------------------------------------ consent remembered

test('§3 consent remembered: the same claims again -> no page; prompt=consent -> the page again; a new claim -> ' +
	'the page with every deliverable requested claim; prompt=none with a decision missing -> consent_required', async (t) => {
	assert.ok(rpA.config, 'needs the first test');
	const { config, browser } = rpA;

	// Same RP, same claims, live session: neither password nor consent.
	const again = await codeFlow(config, browser, {});
	assert.equal(again.sawLogin, false, 'SSO: no password');
	assert.equal(again.consents.length, 0, 'every requested claim decided: no consent page');
	const t2 = await redeemOc(config, again);
	assert.deepEqual(sorted(jwtParts(t2.access_token).payload.clm), sorted(GRANTED), 'the code carries the granted claims');

	// prompt=none with everything decided: a code, silently.
	const silent = await codeFlow(config, browser, { prompt: 'none' });
	assert.equal(silent.params.get('error'), null, `prompt=none with every decision made: ${silent.callback.href}`);
	await redeemOc(config, silent);

	// prompt=consent: the page again, with every deliverable requested claim.
	let shown;
	const forced = await codeFlow(config, browser, {
		prompt: 'consent',
		consent: (page, info) => { shown = info; return { grant: GRANTED }; },
	});
	assert.ok(shown, 'prompt=consent shows the consent page');
	assert.deepEqual(sorted(shown.checkboxes.map((c) => c.claim)), sorted(deliverable(requested('openid email profile', CLAIMS_PARAM))));
	t.diagnostic(`prompt=consent pre-checked: ${shown.checkboxes.filter((c) => c.checked).map((c) => c.claim).join(' ')}`);
	await redeemOc(config, forced);

	// A new claim (phone_number): the page again, listing every deliverable requested claim, not only the new one.
	const param = { userinfo: { ...CLAIMS_PARAM.userinfo, phone_number: null } };
	let more;
	const grown = await codeFlow(config, browser, {
		claims: param,
		consent: (page, info) => { more = info; return { grant: GRANTED }; }, // phone_number refused
	});
	assert.ok(more, 'a claim never decided shows the consent page again');
	const want = deliverable(requested('openid email profile', param));
	assert.ok(want.includes('phone_number'), 'the agent can deliver phone_number');
	assert.deepEqual(sorted(more.checkboxes.map((c) => c.claim)), sorted(want), 'the page lists every deliverable requested claim');
	t.diagnostic(`new-claim page pre-checked: ${more.checkboxes.filter((c) => c.checked).map((c) => c.claim).join(' ')} ` +
		'(§3 does not say whether earlier decisions are pre-filled)');
	const t3 = await redeemOc(config, grown);
	assert.deepEqual(sorted(jwtParts(t3.access_token).payload.clm), sorted(GRANTED), 'phone_number refused: not in clm');

	// prompt=none with a decision missing (address was never asked): consent_required, with state and iss.
	const missing = await codeFlow(config, browser, { prompt: 'none', scope: 'openid email address' });
	assert.equal(missing.params.get('error'), 'consent_required', `prompt=none, address undecided: ${missing.callback.href}`);
	assert.equal(missing.params.get('state'), missing.state);
	assert.equal(missing.params.get('iss'), fed.srv.issuer);
	assert.equal(missing.params.get('code'), null);
});

// ----------------------------------------------------------------------------------------- SECURITY.md

test('SECURITY 6 CSRF: a consent POST without (or with a wrong) CSRF token is 403 and stores nothing', async () => {
	assert.ok(rpA.config, 'needs the first test');
	const { config, browser } = rpA;
	const url = oc.buildAuthorizationUrl(config, {
		redirect_uri: CB, scope: 'openid email profile', state: random(), prompt: 'consent', claims: JSON.stringify(CLAIMS_PARAM),
		code_challenge: pkce().challenge, code_challenge_method: 'S256', login_hint: IDENT,
	});
	const { page } = await browser.follow(url, { stop: (u) => u.href.startsWith(CB) });
	const info = consentInfo(page, KNOWN);
	assert.ok(info, `prompt=consent shows the consent page: ${describePage(page)}`);
	assert.ok(info.csrfField, `the consent form carries a CSRF token: ${JSON.stringify(info.form.inputs)}`);
	keep('csrf', info.csrfField[1]);
	assertPageHeaders(page.headers, 'consent page');
	const action = new URL(info.form.action || page.url.href, page.url);
	// Refuse everything, without the token and with a wrong one: both must be refused and change nothing.
	for (const [what, fields] of [
		['no CSRF token', consentFields(info, [], { dropCsrf: true })],
		['a wrong CSRF token', consentFields(info, [], { csrf: crypto.randomBytes(24).toString('base64url') })],
	]) {
		const r = await browser.post(action, fields, { origin: page.url.origin });
		assert.equal(r.status, 403, `${what}: ${describePage(r)}`);
		assert.ok(!(r.location && r.location.href.startsWith(CB)), `${what}: no redirect to the RP`);
	}
	const silent = await codeFlow(config, browser, { prompt: 'none' });
	assert.equal(silent.params.get('error'), null, `decisions unchanged: prompt=none still gives a code: ${silent.callback.href}`);
	const tk = await redeemOc(config, silent);
	assert.deepEqual(sorted(jwtParts(tk.access_token).payload.clm), sorted(GRANTED), 'email still granted');
});

test('§1 reason is escaped and kept to 200 characters; §3 Deny stores nothing and returns access_denied', async () => {
	assert.ok(rpA.config, 'needs the first test');
	const { config, browser } = rpA;
	const evil = '<script>alert("pwned")</script> & <b>bold</b>';
	const long = 'ü'.repeat(250);
	for (const [reason, check] of [
		[evil, (page, info) => {
			assert.ok(!page.body.includes('<script>alert'), 'no script element from the reason');
			assert.ok(!page.body.includes('<b>bold</b>'), 'no markup from the reason');
			assert.ok(info.text.includes(evil), `the reason shows as text: ${info.text.slice(0, 800)}`);
		}],
		[long, (page, info) => {
			assert.ok(info.text.includes(`${'ü'.repeat(200)}…`), 'cut at 200 characters, then …');
			assert.ok(!info.text.includes('ü'.repeat(201)), 'nothing past 200 characters');
		}],
	]) {
		const flow = await codeFlow(config, browser, {
			prompt: 'consent', claims: { userinfo: { email: { essential: true, reason } } },
			consent: (page, info) => { check(page, info); return { grant: [], decision: 'deny' }; },
		});
		assert.equal(flow.consents.length, 1);
		assert.equal(flow.params.get('error'), 'access_denied', `Deny: ${flow.callback.href}`);
		assert.equal(flow.params.get('iss'), fed.srv.issuer);
	}
	// Deny stored nothing: the earlier decisions still hold.
	const silent = await codeFlow(config, browser, { prompt: 'none' });
	assert.equal(silent.params.get('error'), null, `after Deny, prompt=none: ${silent.callback.href}`);
	const tk = await redeemOc(config, silent);
	assert.deepEqual(sorted(jwtParts(tk.access_token).payload.clm), sorted(GRANTED), 'Deny changed no decision');
});

test('§2 §3 a claim the agent does not support is listed as unavailable and never granted, even when the form is ' +
	'tampered with', async () => {
	assert.ok(rpA.config, 'needs the first test');
	const odd = 'shoe_size';
	assert.ok(!fed.agent.meta.claims_supported.includes(odd), `the agent does not support ${odd}`);
	let seen;
	const flow = await codeFlow(rpA.config, rpA.browser, {
		prompt: 'consent', claims: { userinfo: { ...CLAIMS_PARAM.userinfo, [odd]: { essential: true } } },
		consent: (page, info) => {
			seen = info;
			return { grant: GRANTED };
		},
	});
	assert.ok(seen, 'prompt=consent shows the page');
	assert.ok(!seen.checkboxes.some((c) => c.claim === odd), `no checkbox for ${odd}: ${JSON.stringify(seen.checkboxes)}`);
	assert.match(seen.text, /not available|unavailable/i, 'the page says some claims are unavailable');
	assert.ok(seen.text.includes(odd), `${odd} is listed`);
	const tk = await redeemOc(rpA.config, flow);
	assert.deepEqual(sorted(jwtParts(tk.access_token).payload.clm), sorted(GRANTED));

	// The person's browser (or a proxy) adds a checkbox the page did not offer: it is not granted.
	const url = oc.buildAuthorizationUrl(rpA.config, {
		redirect_uri: CB, scope: 'openid email profile', state: random(), prompt: 'consent',
		claims: JSON.stringify({ userinfo: { ...CLAIMS_PARAM.userinfo, [odd]: { essential: true } } }),
		code_challenge: pkce().challenge, code_challenge_method: 'S256', login_hint: IDENT,
	});
	const { page } = await rpA.browser.follow(url, { stop: (u) => u.href.startsWith(CB) });
	const info = consentInfo(page, KNOWN);
	assert.ok(info, `consent page: ${describePage(page)}`);
	const box = info.checkboxes[0];
	const fields = consentFields(info, GRANTED);
	fields.splice(fields.length - 1, 0, [box.name, odd]);
	const posted = await rpA.browser.post(new URL(info.form.action || page.url.href, page.url), fields, { origin: page.url.origin });
	const { stoppedAt } = await rpA.browser.follow(posted, { stop: (u) => u.href.startsWith(CB) });
	assert.ok(stoppedAt, `back at the RP: ${describePage(posted)}`);
	// That code is not redeemed (its verifier was not kept): the stored decisions show in the next one.
	const silent = await codeFlow(rpA.config, rpA.browser, { prompt: 'none', claims: { userinfo: { ...CLAIMS_PARAM.userinfo, [odd]: null } } });
	const t2 = await redeemOc(rpA.config, silent);
	assert.deepEqual(sorted(jwtParts(t2.access_token).payload.clm), sorted(GRANTED), `${odd} never granted`);
});

test('§2 an identity without an agent (created by the operator) delegates nothing: empty clm, no distributed claims', async () => {
	assert.ok(rpA.config, 'needs the first test');
	const id = 'oscar.example.test';
	await fed.srv.addIdentity(id, PASSWORD);
	await fed.bed.update('add', `_openid.${id}`, 'TXT', `"v=OID1;iss=${new URL(fed.srv.issuer).host}"`);
	let seen;
	const flow = await codeFlow(rpA.config, new Browser(), {
		identifier: id,
		consent: (page, info) => {
			seen = info;
			return { grant: GRANTED };
		},
	});
	if (seen) assert.deepEqual(seen.checkboxes, [], 'nothing to choose: every claim is unavailable');
	const tk = await redeemOc(rpA.config, flow);
	assert.deepEqual(jwtParts(tk.access_token).payload.clm, [], 'clm is empty');
	const ui = await userinfo(tk.access_token);
	assert.ok(!('_claim_names' in ui) && !('_claim_sources' in ui), `no distributed claims: ${JSON.stringify(ui)}`);
	assert.equal(ui['id4me.identifier'], id);
});

// ------------------------------------------------------------------------------------ mod_auth_openidc

test('§4 mod_auth_openidc (Debian 2.4.12) resolves the distributed claims at the agent and passes email, not name', async (t) => {
	const port = await freePort();
	const redirectUri = `http://127.0.0.1:${port}/protected/redirect_uri`;
	const rp = await register(meta, {
		client_name: 'Apache claims RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic',
	});
	keep('client_secret', rp.client_secret);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-apache-'));
	const caCopy = path.join(dir, 'dev-ca.pem');
	fs.writeFileSync(caCopy, fed.srv.caPem, { mode: 0o644 });
	const apache = await startApache({
		port, dir,
		oidc: {
			OIDCProviderMetadataURL: `${fed.srv.issuer}/.well-known/openid-configuration`,
			OIDCSSLValidateServer: 'On',
			OIDCCABundlePath: caCopy,
			OIDCClientID: rp.client_id,
			OIDCClientSecret: rp.client_secret,
			OIDCProviderTokenEndpointAuth: 'client_secret_basic',
			OIDCRedirectURI: redirectUri,
			OIDCCryptoPassphrase: 'e2e crypto passphrase, not a secret',
			OIDCScope: 'openid email profile',
			OIDCPKCEMethod: 'S256',
			OIDCRemoteUserClaim: 'id4me.identifier',
			OIDCAuthRequestParams: `login_hint=${encodeURIComponent(IDENT)}&claims=${encodeURIComponent(JSON.stringify(CLAIMS_PARAM))}`,
			OIDCPassClaimsAs: 'environment',
		},
	});
	const browser = new Browser();
	try {
		const first = await browser.get(`${apache.url}/protected/whoami`);
		assert.equal(first.status, 302, `Apache: ${describePage(first)}\n${apache.errorLog()}`);
		assert.equal(first.location.searchParams.get('claims'), JSON.stringify(CLAIMS_PARAM), 'the claims parameter reaches the authority');
		const res = await walk(browser, first.location, {
			identifier: IDENT, password: PASSWORD, redirectUri, known: KNOWN,
			consent: (page, info) => {
				assert.match(info.text, /Apache claims RP/);
				return { grant: GRANTED };
			},
		});
		assert.equal(res.consents.length, 1, 'a new relying party: the consent page');
		assert.equal(res.params.get('error'), null, `authorization error: ${res.callback.href}`);
		const { page } = await browser.follow(res.callback);
		assert.equal(page.status, 200, `after the callback: ${describePage(page)}\n--- apache error log:\n${apache.errorLog()}`);
		t.diagnostic(page.body.replace(/^OIDC_(id_token|access_token|refresh_token)\S*$/gm, '').trim());
		assert.match(page.body, new RegExp(`^REMOTE_USER=${re(IDENT)}$`, 'm'));
		// The module's resolver (oidc_proto_resolve_composite_claims) GETs the source endpoint with its
		// access_token, parses the JWT and replaces _claim_names/_claim_sources by the values.
		assert.match(page.body, new RegExp(`^OIDC_CLAIM_email=${re(CLAIMS.email)}$`, 'm'), `email from the agent\n${apache.errorLog()}`);
		assert.doesNotMatch(page.body, /^OIDC_CLAIM_name=/m, 'name was refused: not passed');
		assert.doesNotMatch(page.body, /^OIDC_CLAIM_given_name=/m, 'given_name was refused: not passed');
		assert.doesNotMatch(page.body, /^OIDC_CLAIM__claim_(names|sources)/m, 'the distributed claims were resolved');
		const errors = apache.errorLog().split('\n').filter((l) => /:error\]|:crit\]|:alert\]/.test(l));
		assert.deepEqual(errors, [], 'Apache error log');
	} catch (e) {
		e.message += `\n--- browser history:\n${browser.history.map((h) => `${h.method} ${h.url} ${h.status} ${h.location ?? ''}`).join('\n')}`;
		throw e;
	} finally {
		await apache.stop();
	}
});

// ---------------------------------------------------------------------------------------------- Chromium

test('§3 Chromium: login and consent pages (screenshots login-federation.png, consent-federation.png) show the ' +
	'client_name, the redirect host, the reason and the essential flag', async (t) => {
	// The relying party's redirect target: a loopback http server (the authority allows http on loopback only).
	const hits = [];
	const rpServer = http.createServer((req, res) => {
		hits.push(req.url);
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end('<!doctype html><title>RP</title><p>ok');
	});
	await new Promise((resolve) => rpServer.listen(0, '127.0.0.1', resolve));
	const cb = `http://127.0.0.1:${rpServer.address().port}/cb`;
	const client = await register(meta, {
		client_name: 'Chromium Claims RP', redirect_uris: [cb], token_endpoint_auth_method: 'client_secret_basic',
	});
	keep('client_secret', client.client_secret);
	const chromium = await launchChromium();
	const problems = [];
	try {
		const context = await chromium.newContext({ viewport: { width: 900, height: 900 } });
		const page = await context.newPage();
		// A missing /favicon.ico (the browser asks for it by itself) is no page's fault.
		page.on('console', (m) => {
			if (m.type() === 'error' && !/\/favicon\.ico$/.test(m.location()?.url ?? '')) problems.push(`console: ${m.text()} (${m.location()?.url})`);
		});
		page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
		page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
		const p = pkce();
		const state = random();
		const url = authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: cb, scope: 'openid email profile', state,
			code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: IDENT, claims: JSON.stringify(CLAIMS_PARAM),
		});
		const loginResp = await page.goto(url.href);
		assert.equal(loginResp.status(), 200);
		await page.screenshot({ path: path.join(SHOTS, 'login-federation.png'), fullPage: true });
		if (await page.locator('input[name=identifier]').count()) await page.fill('input[name=identifier]', IDENT);
		await page.fill('input[name=password]', PASSWORD);
		const consentResp = page.waitForResponse((r) => r.request().isNavigationRequest() && r.status() === 200, { timeout: 30000 })
			.catch((e) => e);
		await Promise.all([
			page.waitForEvent('load', { timeout: 30000 }),
			page.locator('form[action$="/login"] [type=submit]').first().click(),
		]);
		assert.ok(!page.url().startsWith(cb), `a new relying party asking for claims gets the consent page, not ${page.url()}`);
		await page.screenshot({ path: path.join(SHOTS, 'consent-federation.png'), fullPage: true });
		const text = await page.innerText('body');
		t.diagnostic(`consent page: ${text.replace(/\s+/g, ' ').slice(0, 500)}`);
		assert.match(text, /Chromium Claims RP/, 'client_name');
		assert.ok(text.includes(new URL(cb).host), 'redirect host');
		assert.ok(text.includes(REASON), 'the reason');
		assert.match(text, /essential|required/i, 'the essential flag');
		const resp = await consentResp;
		assert.ok(!(resp instanceof Error), `the consent page's response: ${resp.message ?? ''}`);
		assertPageHeaders(new Headers(await resp.allHeaders()), 'consent page (Chromium)');
		// The boxes as the person sees them: email pre-checked; check email_verified too, then Allow.
		const info = consentInfo({ body: await page.content(), url: new URL(page.url()) }, KNOWN);
		assert.ok(info, 'a consent form');
		const box = (claim) => {
			const c = info.checkboxes.find((x) => x.claim === claim);
			assert.ok(c, `a checkbox for ${claim}`);
			const value = c.hasValue ? `[value="${c.value}"]` : '';
			return page.locator(`form[action$="/consent"] input[type=checkbox][name="${c.name}"]${value}`);
		};
		assert.equal(await box('email').isChecked(), true, 'email (essential) pre-checked');
		await box('email_verified').check();
		const allow = page.locator('form[action$="/consent"] button[name=decision][value=allow], form[action$="/consent"] [type=submit]').first();
		await Promise.all([page.waitForURL((u) => u.href.startsWith(cb), { timeout: 30000 }), allow.click()]);
		const back = new URL(page.url());
		assert.equal(back.searchParams.get('state'), state);
		const tokens = await redeem(meta, client, { code: back.searchParams.get('code'), redirectUri: cb, verifier: p.verifier });
		keep('access_token', tokens.access_token);
		assert.deepEqual(sorted(jwtParts(tokens.access_token).payload.clm), sorted(GRANTED), 'the boxes checked in Chromium');
		assert.deepEqual(problems, [], 'no console errors (CSP violations) on the login and consent pages');
		await context.close();
	} finally {
		await chromium.close();
		await new Promise((r) => rpServer.close(r));
	}
});

// ---------------------------------------------------------------------------------------------- refusals

test('§5 the agent\'s answer is for the token\'s client only: its aud is client A, which client B\'s verification rejects', async () => {
	assert.ok(rpA.agentToken, 'needs the first test');
	const r = await agentGet(rpA.agentToken);
	assert.equal(r.status, 200);
	const jwt = r.text.trim();
	assert.equal(jwtParts(jwt).payload.aud, rpA.clientId);
	const clientB = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
	await assert.rejects(verifyAgentAnswer(jwt, { audience: clientB.client_id }),
		(e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud', 'client B refuses an answer made for client A');
});

test('§5 forged agent tokens: another key, alg none, HS256, a changed payload, the RP\'s access token, none at all -> ' +
	'401 invalid_token', async () => {
	assert.ok(rpA.agentToken, 'needs the first test');
	const real = jwtParts(rpA.agentToken);
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const [h64, p64, s64] = rpA.agentToken.split('.');
	const other = await jose.generateKeyPair('ES256', { extractable: true });
	const sign = (header, payload, key) => new jose.CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
	const jwks = await (await fetch(meta.jwks_uri)).json();
	const authorityKey = jwks.keys.find((k) => k.kid === real.header.kid) ?? jwks.keys[0];
	const hmac = (input) => crypto.createHmac('sha256', JSON.stringify(authorityKey)).update(input).digest('base64url');
	const more = { ...real.payload, clm: [...real.payload.clm, 'name'] };
	const cases = [
		['signed by another key, the authority\'s kid', await sign(real.header, real.payload, other.privateKey)],
		['signed by another key, an unknown kid', await sign({ ...real.header, kid: 'forged-kid' }, real.payload, other.privateKey)],
		['alg none', `${b64({ ...real.header, alg: 'none' })}.${p64}.`],
		['alg none, no kid', `${b64({ alg: 'none', typ: real.header.typ })}.${p64}.`],
		['HS256 keyed with the public key', `${b64({ ...real.header, alg: 'HS256' })}.${p64}.${hmac(`${b64({ ...real.header, alg: 'HS256' })}.${p64}`)}`],
		['payload changed (clm + name), signature kept', `${h64}.${b64(more)}.${s64}`],
		['signature of another token', `${h64}.${p64}.${rpA.tokens.access_token.split('.')[2]}`],
		['the RP\'s access token (typ at+jwt, aud the authority)', rpA.tokens.access_token],
		['not a JWT', 'not-a-token'],
	];
	for (const [what, token] of cases) assertInvalidToken(await agentGet(token), what);
	const none = await agentGet(undefined);
	assert.equal(none.status, 401, 'no token: 401');
	assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/, 'no token: WWW-Authenticate: Bearer');
	// The real one still works (none of the above broke the agent's key cache).
	assert.equal((await agentGet(rpA.agentToken)).status, 200);
});

test('§5 + dns-discovery §12: when _openid names another agent, the agent refuses the token (401) and the ' +
	'authority refuses the login ("names another identity agent")', async (t) => {
	assert.ok(rpA.config, 'needs the first test');
	const id = 'gina.example.test';
	// The agent caches the record for its TTL (serve.c: "from the resolver's cache while live"; §5 says nothing
	// about caching): records with a TTL of 1 s let the move show at once.
	await fed.provision(id, { password: PASSWORD, claims: { email: 'gina@example.test', name: 'Gina' }, ttl: 1 });
	const browser = new Browser();
	const flow = await codeFlow(rpA.config, browser, { identifier: id, consent: () => ({ grant: GRANTED }) });
	const tokens = await redeemOc(rpA.config, flow);
	const token = source(await userinfo(tokens.access_token)).access_token;
	keep('agent_token', token);
	assert.equal((await agentGet(token)).status, 200, 'while the record names this agent');

	await fed.bed.update('del', `_openid.${id}`, 'TXT');
	await fed.bed.update('add', `_openid.${id}`, 'TXT', `"v=OID1;iss=${new URL(fed.srv.issuer).host};clp=other-agent.example.org"`);
	// The agent re-checks the record (§5), through a cache that keeps it for its TTL (1 s here): up to 5 s.
	const t0 = Date.now();
	let r;
	do {
		r = await agentGet(token);
		if (r.status !== 200) break;
		await sleep(250);
	} while (Date.now() - t0 < 5000);
	t.diagnostic(`the agent refused after ${Date.now() - t0} ms`);
	assertInvalidToken(r, 'a token for an identifier whose clp names another agent');

	// The authority's login re-check (dns_cache_max_ttl = 1 here).
	await sleep(1100);
	const url = oc.buildAuthorizationUrl(rpA.config, {
		redirect_uri: CB, scope: 'openid', state: random(), code_challenge: pkce().challenge, code_challenge_method: 'S256', login_hint: id,
	});
	const fresh = new Browser();
	const { page } = await fresh.follow(url, { stop: (u) => u.href.startsWith(CB) });
	const lf = findForm(page.body, '/login', page.url.href);
	assert.ok(lf, `login form: ${describePage(page)}`);
	const answer = (await fresh.follow(await fresh.submit(page, lf, { identifier: id, password: PASSWORD }, lf.buttons.length ? { button: lf.buttons[0] } : {}),
		{ stop: (u) => u.href.startsWith(CB) })).page;
	assert.equal(answer.status, 403, `login refused: ${describePage(answer)}`);
	assert.match(answer.text, /names another identity agent/, 'the login page says why');
	// And the live session of the first browser yields no code either.
	const silent = await codeFlow(rpA.config, browser, { identifier: id, prompt: 'none' });
	assert.equal(silent.params.get('error'), 'access_denied', `prompt=none with the live session: ${silent.callback.href}`);
});

test('§3 a claim not consented never appears: not in _claim_names, clm or the agent\'s answer', async () => {
	assert.ok(rpA.userinfo, 'needs the first test');
	const refused = PROFILE;
	for (const c of refused) {
		assert.ok(!(c in rpA.userinfo._claim_names), `${c} not in _claim_names`);
		assert.ok(!jwtParts(rpA.tokens.access_token).payload.clm.includes(c), `${c} not in the access token clm`);
		assert.ok(!jwtParts(rpA.agentToken).payload.clm.includes(c), `${c} not in the agent token clm`);
		assert.ok(!(c in rpA.agentPayload), `${c} not in the agent's answer`);
	}
	// A request for name alone after it was refused: no page (decided), and still nothing about it.
	const flow = await codeFlow(rpA.config, rpA.browser, { scope: 'openid', claims: { userinfo: { name: { essential: true } } } });
	assert.equal(flow.consents.length, 0, 'name already refused: no page');
	const tk = await redeemOc(rpA.config, flow);
	assert.deepEqual(jwtParts(tk.access_token).payload.clm, [], 'clm is empty');
	const ui = await userinfo(tk.access_token);
	assert.ok(!('_claim_names' in ui) && !('_claim_sources' in ui), `no distributed claims for an empty clm: ${JSON.stringify(ui)}`);
});

// ------------------------------------------------------------------------------------------ account page

test('SECURITY 6-7 account page: the headers, and a Revoke POST without the CSRF token is 403 and changes nothing', async () => {
	assert.ok(rpA.clientId, 'needs the first test');
	const browser = new Browser();
	const page = await accountPage(browser);
	assertPageHeaders(page.headers, 'account page');
	assert.match(page.text, /Federation RP \(openid-client\)/, 'the relying party is listed by its client_name');
	const rf = revokeForm(page, rpA.clientId, 'email');
	assert.ok(rf, `a Revoke form for email at ${rpA.clientId}: ${JSON.stringify(page.forms.map((f) => [f.action, f.fields, f.buttons]))}`);
	const csrf = rf.form.inputs.find((a) => (a.type ?? '').toLowerCase() === 'hidden' && /csrf/i.test(a.name ?? ''));
	assert.ok(csrf, 'the Revoke form carries a CSRF token');
	keep('csrf', csrf.value);
	const action = new URL(rf.form.action || page.url.href, page.url);
	const fields = rf.form.fields.filter(([n]) => n !== csrf.name);
	if (rf.button?.name) fields.push([rf.button.name, rf.button.value]);
	const r = await browser.post(action, fields, { origin: page.url.origin });
	assert.equal(r.status, 403, `a Revoke without the CSRF token: ${describePage(r)}`);
	const wrong = [...fields, [csrf.name, crypto.randomBytes(24).toString('base64url')]];
	assert.equal((await browser.post(action, wrong, { origin: page.url.origin })).status, 403, 'a wrong CSRF token');
	// Nothing changed: a refresh still carries email.
	const t = await oc.refreshTokenGrant(rpA.config, rpA.refresh);
	keep('access_token', t.access_token);
	keep('refresh_token', t.refresh_token);
	rpA.refresh = t.refresh_token;
	assert.deepEqual(sorted(jwtParts(t.access_token).payload.clm), sorted(GRANTED), 'email still granted');
});

test('§4 §6 Revoke one claim on the account page: refresh and new logins carry no email, UserInfo names no email, ' +
	'the old agent token still lists it but the new ones do not', async (t) => {
	assert.ok(rpA.clientId, 'needs the first test');
	const browser = new Browser();
	const page = await accountPage(browser);
	const rf = revokeForm(page, rpA.clientId, 'email');
	assert.ok(rf, 'a Revoke form for email');
	const done = (await browser.follow(await browser.submit(page, rf.form, {}, rf.button ? { button: rf.button } : {}))).page;
	assert.equal(done.status, 200, `revoked: ${describePage(done)}`);
	const after = await accountPage(browser);
	assert.ok(!revokeForm(after, rpA.clientId, 'email'), 'email is no longer granted (no Revoke button for it)');
	assert.ok(revokeForm(after, rpA.clientId, 'email_verified'), 'email_verified still granted');

	// A refresh: clm is the grant's claims still granted now (§4).
	const r1 = await oc.refreshTokenGrant(rpA.config, rpA.refresh);
	keep('access_token', r1.access_token);
	keep('refresh_token', r1.refresh_token);
	rpA.refresh = r1.refresh_token;
	assert.deepEqual(jwtParts(r1.access_token).payload.clm, ['email_verified'], 'the refreshed access token has no email');
	const ui = await userinfo(r1.access_token);
	assert.deepEqual(Object.keys(ui._claim_names ?? {}), ['email_verified'], `UserInfo _claim_names: ${JSON.stringify(ui)}`);
	const fresh = source(ui).access_token;
	keep('agent_token', fresh);
	assert.deepEqual(jwtParts(fresh).payload.clm, ['email_verified'], 'the new agent token has no email');
	assert.deepEqual(sorted(jwtParts(rpA.agentToken).payload.clm), sorted(GRANTED), 'the old agent token (already issued) still lists email');
	const answer = await agentAnswer(fresh, rpA.clientId);
	assert.deepEqual(claimsOf(answer), { email_verified: true }, 'the agent releases email_verified only');

	// The first access token (issued before the revocation): UserInfo uses the claims still granted now.
	const old = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${rpA.tokens.access_token}` } });
	if (old.status === 200) {
		const oldUi = await old.json();
		assert.ok(!('email' in (oldUi._claim_names ?? {})), `UserInfo for an earlier token names no revoked claim: ${JSON.stringify(oldUi)}`);
	} else {
		t.diagnostic(`the first access token now gets ${old.status} at UserInfo`);
	}

	// A new login: email is now refused (a decision), so no page and no email.
	const flow = await codeFlow(rpA.config, rpA.browser, {});
	assert.equal(flow.consents.length, 0, 'a revoked claim counts as refused: no consent page (store_consent_revoke marks it refused)');
	const tk = await redeemOc(rpA.config, flow);
	assert.deepEqual(jwtParts(tk.access_token).payload.clm, ['email_verified'], 'the new login carries no email');
	rpA.refresh = tk.refresh_token;
	rpA.last = tk;
});

test('§6 Revoke a whole relying party: its decisions go, its refresh and access tokens stop working, consent is asked again', async () => {
	assert.ok(rpA.last, 'needs the previous test');
	const browser = new Browser();
	const page = await accountPage(browser);
	const rf = revokeForm(page, rpA.clientId, null);
	assert.ok(rf, `a Revoke form for the whole relying party: ${JSON.stringify(page.forms.map((f) => [f.action, f.fields, f.buttons]))}`);
	const done = (await browser.follow(await browser.submit(page, rf.form, {}, rf.button ? { button: rf.button } : {}))).page;
	assert.equal(done.status, 200, `revoked: ${describePage(done)}`);
	const after = await accountPage(browser);
	assert.doesNotMatch(after.text, /Federation RP \(openid-client\)/, 'the relying party is no longer listed');

	await assert.rejects(oc.refreshTokenGrant(rpA.config, rpA.refresh), (e) => e.error === 'invalid_grant', 'its refresh token is dead');
	const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${rpA.last.access_token}` } });
	assert.equal(ui.status, 401, 'its access token is dead at UserInfo');
	const silent = await codeFlow(rpA.config, rpA.browser, { prompt: 'none' });
	assert.equal(silent.params.get('error'), 'consent_required', `its decisions are gone: ${silent.callback.href}`);
});

// ------------------------------------------------------------------------------------------------- the draft

test('drafts/claims.md: every ```json block parses; userinfo_distributed, agent_token and agent_userinfo have ' +
	'exactly the real objects\' members and JSON types', async (t) => {
	assert.ok(rpA.userinfo, 'needs the first test');
	const blocks = jsonBlocks(DRAFT);
	const examples = {};
	for (const b of blocks) {
		try {
			const v = JSON.parse(b.text);
			if (b.kind) examples[b.kind] = v;
		} catch (e) {
			assert.fail(`claims.md:${b.line}: \`\`\`json ${b.kind ?? ''} is not JSON: ${e.message}`);
		}
	}
	assert.deepEqual(blocks.map((b) => b.kind).sort(), ['agent_token', 'agent_userinfo', 'userinfo_distributed'], 'the named examples, each once');

	// UserInfo: the source name is the server's choice (OIDC Core §5.6.2); the rest must match.
	const real = structuredClone(rpA.userinfo);
	const exSrc = Object.keys(examples.userinfo_distributed._claim_sources)[0];
	const realSrc = source(real).name;
	t.diagnostic(`claims source name: ${realSrc} (example: ${exSrc})`);
	real._claim_sources = { [exSrc]: real._claim_sources[realSrc] };
	for (const k of Object.keys(real._claim_names)) real._claim_names[k] = exSrc;
	assertShape(real, examples.userinfo_distributed, 'userinfo_distributed');
	assertShape(jwtParts(rpA.agentToken).payload, examples.agent_token, 'agent_token');
	assertShape(rpA.agentPayload, examples.agent_userinfo, 'agent_userinfo');
});

test('SECURITY: no secret (password, setup token, client secrets, codes, tokens, CSRF tokens) in the authority\'s ' +
	'access log and output, nor in the agent\'s output', async () => {
	assert.ok(secrets.size >= 10, `secrets collected: ${secrets.size}`);
	const outputs = {
		'authority access log': fed.srv.accessLog(), 'authority stderr': fed.srv.stderr(), 'authority stdout': fed.srv.stdout(),
		'agent stdout': fed.agent.out(), 'agent stderr': fed.agent.err(),
	};
	for (const [where, text] of Object.entries(outputs)) {
		for (const [name, value] of secrets) {
			assert.ok(!text.includes(value), `${name.split('#')[0]} found in the ${where}`);
			// A JWT's signature alone is enough to replay it.
			const sig = value.split('.').length === 3 ? value.split('.')[2] : null;
			if (sig && sig.length >= 20) assert.ok(!text.includes(sig), `${name.split('#')[0]}'s signature found in the ${where}`);
		}
	}
});
