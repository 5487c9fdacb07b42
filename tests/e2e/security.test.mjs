// security.test.mjs: the security bar of ../shared/SECURITY.md, one test per behaviour of the authority core
// (items 1-11, 13, 15, 17), each named after its rule ("SECn ...").  Every test talks to a real anchorid over
// HTTPS: the user's side is the cookie-jar Browser of lib/browser.mjs, the relying party's side is plain HTTP
// requests built here (no RP library that could paper over a server mistake).  Items 12 and 14 (outbound
// fetches, DNSSEC) and 16 (memory safety: make check / make valgrind) are covered elsewhere.
//
// Servers: one shared server for the tests that do not disturb each other, and small dedicated servers where a
// test needs its own configuration (short code lifetime, expensive argon2, a trusted proxy to simulate several
// source addresses, a concurrency cap) or kills and restarts the server.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

import * as jose from 'jose';

import { startServer, restartServer, completeSetup } from './lib/server.mjs';
import { Browser, findForm, fieldValue, describe as describePage, rawRequest, parseForms } from './lib/browser.mjs';
import { discover, pkce, random, authorizeUrl, login, callbackCode, verifyIdToken } from './lib/rp.mjs';

const IDENT = 'sec.example.com';
const PASSWORD = 'security bar password';
const CB = 'https://rp.example/cb';
const CB2 = 'https://rp.example/other';

// The shared server may register many clients from 127.0.0.1: lift the per-source registration limits there.
const ROOMY = { registration_per_hour: 100000, max_clients_per_source: 1000000 };

// ------------------------------------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * api(url, {method, headers, json, form, body}): one HTTP exchange on a fresh connection (node:https, TLS
 * checked against NODE_EXTRA_CA_CERTS; no keep-alive pool that could outlive a restarted server).  Resolves
 * {status, headers, body (parsed JSON or text), text}.
 */
async function api(url, { method, headers = {}, json, form, body } = {}) {
	const h = { accept: 'application/json', ...headers };
	let b = body;
	if (json !== undefined) {
		b = typeof json === 'string' ? json : JSON.stringify(json);
		h['content-type'] ??= 'application/json';
	}
	if (form !== undefined) {
		b = new URLSearchParams(form).toString();
		h['content-type'] ??= 'application/x-www-form-urlencoded';
	}
	if (b !== undefined) h['content-length'] = Buffer.byteLength(b);
	const r = await rawRequest(url, { method: method ?? (b === undefined ? 'GET' : 'POST'), headers: h, body: b });
	let parsed;
	try { parsed = JSON.parse(r.body); } catch { parsed = r.body; }
	return { status: r.status, headers: r.headers, body: parsed, text: r.body };
}

const show = (r) => `${r.status} ${typeof r.body === 'string' ? r.body.slice(0, 400) : JSON.stringify(r.body)}`;

/** basic(client): RFC 6749 §2.3.1 Basic credentials of ${client}. */
function basic(id, secret) {
	const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
	return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
}

/** tokenReq(srv, client, params, {secret}): POST /token as ${client} (Basic for confidential, client_id for public). */
function tokenReq(srv, client, params, { secret = client.client_secret, headers = {} } = {}) {
	const form = { ...params };
	const h = { ...headers };
	if (client.token_endpoint_auth_method === 'none') form.client_id = client.client_id;
	else h.authorization = basic(client.client_id, secret);
	return api(`${srv.issuer}/token`, { form, headers: h });
}

function userinfo(srv, accessToken) {
	return api(`${srv.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
}

/** registerClient(srv, metadata, headers): register (asserting 201) and return the client information. */
async function registerClient(srv, metadata, headers = {}) {
	const r = await api(`${srv.issuer}/register`, {
		json: { redirect_uris: [CB], response_types: ['code'], grant_types: ['authorization_code'], ...metadata },
		headers,
	});
	assert.equal(r.status, 201, `registration: ${show(r)}`);
	return r.body;
}

function registerRaw(srv, metadata, headers = {}) {
	return api(`${srv.issuer}/register`, { json: metadata, headers });
}

/** authzUrl(srv, client, params): an authorization request URL (undefined values left out). */
function authzUrl(srv, client, params = {}) {
	return authorizeUrl({ authorization_endpoint: `${srv.issuer}/authorize` }, {
		response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state: random(),
		...params,
	});
}

/**
 * getCode(srv, browser, client, {redirectUri, pkce, nonce, extra, identifier, password}): run the code flow in
 * ${browser} (logging in when its session does not do) and return {code, state, params}.
 */
async function getCode(srv, browser, client, opts = {}) {
	const redirectUri = opts.redirectUri ?? CB;
	const state = random();
	const p = opts.pkce;
	const url = authzUrl(srv, client, {
		redirect_uri: redirectUri, state, nonce: opts.nonce,
		code_challenge: p?.challenge, code_challenge_method: p ? 'S256' : undefined, ...(opts.extra ?? {}),
	});
	const res = await login(browser, url, {
		identifier: opts.identifier ?? IDENT, password: opts.password ?? PASSWORD, redirectUri,
	});
	return { code: callbackCode(res, { state, issuer: srv.issuer }), state, params: res.params };
}

/** challengeOf(verifier): RFC 7636 S256. */
const challengeOf = (v) => crypto.createHash('sha256').update(v).digest('base64url');

/** jwtParts(token): {header, payload} decoded. */
function jwtParts(t) {
	const [h, p] = t.split('.');
	return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

const b64j = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** loginForm(browser, url, headers): GET the authorization URL and return {page, form} of the login page. */
async function loginForm(browser, url, headers = {}) {
	const page = await browser.get(url, { headers });
	assert.equal(page.status, 200, `login page: ${describePage(page)}`);
	const form = findForm(page.body, '/login', page.url.href);
	assert.ok(form, `no login form: ${describePage(page)}`);
	return { page, form };
}

/**
 * postForm(browser, {page, form}, values, {omit, headers}): submit ${form} with ${values}, leaving out the fields
 * named in ${omit}; sends the Origin a browser sends.
 */
function postForm(browser, { page, form }, values = {}, { omit = [], headers = {} } = {}) {
	const fields = form.fields.filter(([n]) => !omit.includes(n)).map(([n, v]) => [n, v]);
	for (const [n, v] of Object.entries(values)) {
		const i = fields.findIndex(([fn]) => fn === n);
		if (i >= 0) fields[i][1] = v;
		else fields.push([n, v]);
	}
	return browser.post(new URL(form.action || page.url.href, page.url), fields, { origin: page.url.origin, headers });
}

/** assertNoRedirectPage(page, what, status): an HTML error page that sends the user nowhere (no Location, no refresh, no form, no link to the redirect URI). */
function assertNoRedirectPage(page, what, status = 400) {
	assert.equal(page.status, status, `${what}: ${describePage(page)}`);
	assert.equal(page.headers.get('location'), null, `${what}: must not redirect`);
	assert.match(page.headers.get('content-type') ?? '', /^text\/html/, `${what}: an HTML page`);
	assert.doesNotMatch(page.body, /http-equiv\s*=\s*["']?refresh/i, `${what}: no meta refresh`);
	assert.doesNotMatch(page.body, /evil\.example|rp\.example/, `${what}: the page must not link to the redirect_uri`);
	assert.equal(parseForms(page.body).length, 0, `${what}: no form that could post anywhere`);
}

/** rawTls(port, text): write ${text} on a raw TLS connection, resolve with what came back (status line first). */
function rawTls(port, text) {
	return new Promise((resolve) => {
		let buf = '';
		let done = false;
		const finish = () => { if (!done) { done = true; resolve(buf); } };
		const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost' }, () => s.end(text));
		s.setTimeout(15000, () => { s.destroy(); finish(); });
		s.on('data', (d) => { buf += d; });
		s.on('error', finish); // MHD resets the connection after an early answer: keep what arrived
		s.on('close', finish);
	});
}

const statusOf = (raw) => Number((raw.match(/^HTTP\/1\.[01] (\d{3})/) || [])[1] ?? 0);

/** median(xs) */
function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** assertCookie(raw, what): SECURITY.md 6 attributes on one Set-Cookie header. */
function assertCookie(raw, what) {
	const attrs = raw.split(';').slice(1).map((a) => a.trim().toLowerCase());
	assert.ok(attrs.includes('httponly'), `${what}: HttpOnly in ${raw}`);
	assert.ok(attrs.includes('secure'), `${what}: Secure in ${raw}`);
	assert.ok(attrs.some((a) => a === 'samesite=lax' || a === 'samesite=strict'), `${what}: SameSite Lax or Strict in ${raw}`);
	assert.ok(attrs.includes('path=/'), `${what}: Path=/ in ${raw}`);
	assert.ok(!attrs.some((a) => a.startsWith('domain=')), `${what}: host-only (no Domain) in ${raw}`);
	assert.match(raw, /^__Host-/, `${what}: __Host- prefix over TLS in ${raw}`);
}

/** assertPageHeaders(page, what): SECURITY.md 7 on an HTML page. */
function assertPageHeaders(page, what) {
	const h = page.headers;
	assert.match(h.get('content-type') ?? '', /^text\/html/, `${what}: HTML (${describePage(page)})`);
	assert.equal(h.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options DENY`);
	const csp = h.get('content-security-policy') ?? '';
	const dirs = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
		const [k, ...v] = d.split(/\s+/);
		return [k.toLowerCase(), v];
	}));
	assert.deepEqual(dirs['frame-ancestors'], ["'none'"], `${what}: CSP frame-ancestors 'none' (${csp})`);
	const scripts = dirs['script-src'] ?? dirs['default-src'];
	assert.ok(scripts, `${what}: CSP restricts scripts (${csp})`);
	for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", '*', 'data:', 'http:', 'https:']) {
		assert.ok(!scripts.includes(bad), `${what}: CSP script sources must not include ${bad} (${csp})`);
	}
	assert.ok(!scripts.some((s) => /^'(nonce|sha\d+)-/.test(s)), `${what}: no nonce or hash: no inline script at all (${csp})`);
	assert.equal(h.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
	assert.equal(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
	const hsts = h.get('strict-transport-security') ?? '';
	const age = Number((hsts.match(/max-age=(\d+)/i) || [])[1] ?? 0);
	assert.ok(age >= 31536000, `${what}: HSTS max-age of a year or more (got "${hsts}")`);
	// No inline script in the document itself.
	for (const m of page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
		assert.match(m[1], /\bsrc\s*=/i, `${what}: <script> without src: ${m[0].slice(0, 200)}`);
		assert.equal(m[2].trim(), '', `${what}: <script src> with inline content`);
	}
	assert.doesNotMatch(page.body, /<[^>]+\son[a-z]+\s*=/i, `${what}: inline event handler attribute`);
	assert.doesNotMatch(page.body, /(href|src|action)\s*=\s*["']?\s*javascript:/i, `${what}: javascript: URL`);
}

// ========================================================================================= the shared server

describe('shared server', () => {
	let srv;
	let meta;
	let sso; // a browser with a live session of IDENT
	let conf; // a confidential client with the refresh_token grant, redirect URIs CB and CB2
	let pub; // a public client (PKCE)

	before(async () => {
		srv = await startServer({ config: ROOMY });
		meta = await discover(srv.issuer);
		await srv.addIdentity(IDENT, PASSWORD);
		conf = await registerClient(srv, {
			redirect_uris: [CB, CB2], grant_types: ['authorization_code', 'refresh_token'],
			token_endpoint_auth_method: 'client_secret_basic', client_name: 'security RP',
		});
		pub = await registerClient(srv, { token_endpoint_auth_method: 'none', application_type: 'native' });
		sso = new Browser();
		await getCode(srv, sso, conf); // logs in: later flows in ${sso} are single sign-on
	});

	after(async () => {
		await srv?.stop();
	});

	/** flow(client, opts): a code and its token response (asserting 200). */
	async function flow(client, opts = {}) {
		const p = opts.pkce === undefined ? pkce() : opts.pkce;
		const nonce = random();
		const { code } = await getCode(srv, opts.browser ?? sso, client, { ...opts, pkce: p ?? undefined, nonce });
		const r = await tokenReq(srv, client, {
			grant_type: 'authorization_code', code, redirect_uri: opts.redirectUri ?? CB,
			...(p ? { code_verifier: p.verifier } : {}),
		});
		assert.equal(r.status, 200, `token: ${show(r)}`);
		return { code, tokens: r.body, nonce, verifier: p?.verifier };
	}

	// ------------------------------------------------------------------------------------------------ SEC1

	test('SEC1 redirect_uri: exact string match only', async () => {
		const b = new Browser();
		const ok = await b.get(authzUrl(srv, conf, { redirect_uri: CB }));
		assert.equal(ok.status, 200, `the registered URI itself: ${describePage(ok)}`);
		assert.ok(findForm(ok.body, '/login'), 'login form for the registered URI');
		const variants = [
			`${CB}/`, `${CB}?x=1`, `${CB}#`, `${CB}%20`, `${CB}/../cb`, 'https://rp.example/CB', 'https://RP.example/cb',
			'HTTPS://rp.example/cb', 'https://rp.example:443/cb', 'https://rp.example/%63b', 'http://rp.example/cb',
			'https://rp.example.evil.example/cb', 'https://rp.example/c', 'https://rp.example/cbx', 'https://rp.example',
			'https://evil.example/cb', ' https://rp.example/cb', 'https://rp.example//cb', 'https://rp.example/cb;x',
		];
		for (const ru of variants) {
			const page = await b.get(authzUrl(srv, conf, { redirect_uri: ru }));
			assertNoRedirectPage(page, `redirect_uri ${JSON.stringify(ru)}`);
		}
	});

	test('SEC1 redirect_uri: javascript: and data: rejected in any letter case at registration', async () => {
		const bad = [
			'javascript:alert(1)', 'JavaScript:alert(1)', 'JAVASCRIPT://rp.example/%0aalert(1)', 'jAvAsCrIpT:void(0)',
			'data:text/html,<script>alert(1)</script>', 'data:text/html;base64,PHNjcmlwdD4=', 'DATA:text/html,x',
			'Data:,x', 'vbscript:msgbox(1)', 'VBScript:x', 'file:///etc/passwd', 'FILE://localhost/etc/passwd',
		];
		for (const application_type of ['web', 'native']) {
			for (const uri of bad) {
				const r = await registerRaw(srv, { redirect_uris: [uri], application_type });
				assert.equal(r.status, 400, `${application_type} ${uri}: ${show(r)}`);
				assert.equal(r.body.error, 'invalid_redirect_uri', `${application_type} ${uri}: ${show(r)}`);
				assert.match(r.headers.get('cache-control') ?? '', /no-store/);
			}
			// One bad URI among good ones spoils the registration.
			const r = await registerRaw(srv, { redirect_uris: [CB, 'JaVaScRiPt:alert(document.cookie)'], application_type });
			assert.equal(r.status, 400, `mixed list: ${show(r)}`);
			assert.equal(r.body.error, 'invalid_redirect_uri');
		}
		const r = await registerRaw(srv, { redirect_uris: [CB], post_logout_redirect_uris: ['JavaScript:alert(1)'] });
		assert.equal(r.status, 400, `post_logout_redirect_uris javascript: ${show(r)}`);
	});

	test('SEC1 redirect_uri: fragment rejected', async () => {
		for (const uri of [`${CB}#`, `${CB}#frag`, `${CB}?a=b#c`, 'https://rp.example/#/cb', 'http://127.0.0.1:8080/cb#x']) {
			const r = await registerRaw(srv, { redirect_uris: [uri] });
			assert.equal(r.status, 400, `${uri}: ${show(r)}`);
			assert.equal(r.body.error, 'invalid_redirect_uri', `${uri}: ${show(r)}`);
		}
		// And a fragment never gets past the exact match at the authorization endpoint either.
		const page = await new Browser().get(authzUrl(srv, conf, { redirect_uri: `${CB}#x` }));
		assertNoRedirectPage(page, 'fragment at /authorize');
	});

	test('SEC1 redirect_uri: userinfo trick http://good%25@evil rejected', async () => {
		const bad = [
			'http://good%25@evil', 'https://good%25@evil.example/cb', 'https://good@evil.example/cb',
			'https://good%40evil.example/cb', 'https://rp.example:443@evil.example/cb', 'https://user:pw@rp.example/cb',
			'https://rp.example%2F@evil.example/cb', 'https://evil.example\\@rp.example/cb', 'https://rp.example%2eevil.example/cb',
			'http://good%25@127.0.0.1/cb', 'https://@rp.example/cb',
		];
		for (const application_type of ['web', 'native']) {
			for (const uri of bad) {
				const r = await registerRaw(srv, { redirect_uris: [uri], application_type });
				assert.equal(r.status, 400, `${application_type} ${uri}: ${show(r)}`);
				assert.equal(r.body.error, 'invalid_redirect_uri', `${application_type} ${uri}: ${show(r)}`);
			}
		}
	});

	test('SEC1 registration: non-https redirect refused except loopback', async () => {
		for (const application_type of ['web', 'native']) {
			for (const uri of ['http://rp.example/cb', 'http://127.0.0.1.nip.io/cb', 'http://localhost.evil.example/cb',
				'http://evil.example/127.0.0.1', 'http://0.0.0.0/cb', 'ftp://rp.example/cb', 'ws://rp.example/cb']) {
				const r = await registerRaw(srv, { redirect_uris: [uri], application_type });
				assert.equal(r.status, 400, `${application_type} ${uri}: ${show(r)}`);
				assert.equal(r.body.error, 'invalid_redirect_uri', `${application_type} ${uri}: ${show(r)}`);
			}
		}
		// Loopback for native apps (RFC 8252 §7.3), and private-use reverse-domain schemes for native apps only.
		for (const uri of ['http://127.0.0.1:51234/cb', 'http://[::1]:8080/cb', 'http://localhost/cb', 'com.example.app:/cb']) {
			const r = await registerRaw(srv, { redirect_uris: [uri], application_type: 'native', token_endpoint_auth_method: 'none' });
			assert.equal(r.status, 201, `native ${uri}: ${show(r)}`);
			assert.deepEqual(r.body.redirect_uris, [uri], 'registered byte for byte');
		}
		const r = await registerRaw(srv, { redirect_uris: ['com.example.app:/cb'], application_type: 'web' });
		assert.equal(r.status, 400, `custom scheme for a web client: ${show(r)}`);
	});

	// ------------------------------------------------------------------------------------------------ SEC2

	test('SEC2 unknown client_id shows an error page and never redirects', async () => {
		const b = new Browser();
		const base = { response_type: 'code', redirect_uri: 'https://evil.example/cb', scope: 'openid', state: 's' };
		const cases = {
			'unknown client_id': { ...base, client_id: 'no-such-client-AAAAAAAAAAAA' },
			'empty client_id': { ...base, client_id: '' },
			'missing client_id': { ...base },
			'deleted-looking long client_id': { ...base, client_id: 'x'.repeat(300) },
			'unknown client_id with the registered redirect_uri': { ...base, client_id: 'nope', redirect_uri: CB },
			'unknown client_id with other errors too': { ...base, client_id: 'nope', response_type: 'token', prompt: 'none' },
		};
		for (const [what, params] of Object.entries(cases)) {
			const u = new URL(`${srv.issuer}/authorize`);
			for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
			assertNoRedirectPage(await b.get(u), what);
		}
		// client_id twice (RFC 6749 §3.1), once valid: still no redirect.
		const u = authzUrl(srv, conf, { redirect_uri: CB });
		u.searchParams.append('client_id', conf.client_id);
		assertNoRedirectPage(await b.get(u), 'repeated client_id');
		// The same through POST /authorize.
		const posted = await b.post(`${srv.issuer}/authorize`, { ...base, client_id: 'no-such-client' });
		assertNoRedirectPage(posted, 'POST /authorize with an unknown client');
	});

	test('SEC2 unregistered redirect_uri shows an error page and never redirects', async () => {
		const b = new Browser();
		for (const [what, extra] of Object.entries({
			'foreign redirect_uri': { redirect_uri: 'https://evil.example/cb' },
			'foreign redirect_uri with a bad response_type': { redirect_uri: 'https://evil.example/cb', response_type: 'token' },
			'foreign redirect_uri with prompt=none': { redirect_uri: 'https://evil.example/cb', prompt: 'none' },
			'foreign redirect_uri with PKCE plain': { redirect_uri: 'https://evil.example/cb', code_challenge: 'x', code_challenge_method: 'plain' },
			'missing redirect_uri': { redirect_uri: undefined },
			'empty redirect_uri': { redirect_uri: '' },
		})) {
			const u = authzUrl(srv, conf, {});
			for (const [k, v] of Object.entries(extra)) {
				if (v === undefined) u.searchParams.delete(k);
				else u.searchParams.set(k, v);
			}
			assertNoRedirectPage(await b.get(u), what);
		}
		const u = authzUrl(srv, conf, { redirect_uri: CB });
		u.searchParams.append('redirect_uri', CB);
		assertNoRedirectPage(await b.get(u), 'repeated redirect_uri');
		// A public client's redirect_uri is checked the same way.
		assertNoRedirectPage(await b.get(authzUrl(srv, pub, { redirect_uri: CB2 })), 'public client, unregistered URI');
	});

	test('SEC2 after client and redirect_uri are valid, errors redirect with error, state and iss', async () => {
		const b = new Browser();
		const cases = [
			['unsupported_response_type', { response_type: 'token' }],
			['invalid_request', { response_type: undefined }],
			['invalid_scope', { scope: 'profile' }],
			['invalid_request', { code_challenge: pkce().challenge, code_challenge_method: 'plain' }],
			['login_required', { prompt: 'none' }],
			['request_not_supported', { request: 'eyJhbGciOiJub25lIn0.e30.' }],
			['request_uri_not_supported', { request_uri: 'https://evil.example/req' }],
			['invalid_request', { max_age: '-1' }],
		];
		for (const [error, extra] of cases) {
			const state = random();
			const u = authzUrl(srv, conf, { state });
			for (const [k, v] of Object.entries(extra)) {
				if (v === undefined) u.searchParams.delete(k);
				else u.searchParams.set(k, v);
			}
			const page = await b.get(u);
			const what = `${error} for ${JSON.stringify(extra)}`;
			assert.equal(page.status, 303, `${what}: ${describePage(page)}`);
			const loc = page.location;
			assert.equal(loc.origin + loc.pathname, CB, `${what}: back to the registered redirect_uri`);
			assert.equal(loc.searchParams.get('error'), error, `${what}: ${loc.href}`);
			assert.equal(loc.searchParams.get('state'), state, `${what}: state`);
			assert.equal(loc.searchParams.get('iss'), srv.issuer, `${what}: RFC 9207 iss`);
			assert.equal(loc.searchParams.get('code'), null, `${what}: no code`);
		}
		// response_mode=form_post carries the same parameters in the auto-posting form.
		const state = random();
		const page = await b.get(authzUrl(srv, conf, { state, response_type: 'token', response_mode: 'form_post' }));
		assert.equal(page.status, 200, describePage(page));
		const f = page.forms.find((x) => x.action === CB);
		assert.ok(f, `form_post form to ${CB}: ${describePage(page)}`);
		assert.equal(fieldValue(f, 'error'), 'unsupported_response_type');
		assert.equal(fieldValue(f, 'state'), state);
		assert.equal(fieldValue(f, 'iss'), srv.issuer);
		// The user's "deny" on the consent page goes back the same way.
		const st2 = random();
		const consent = await sso.get(authzUrl(srv, conf, { state: st2, prompt: 'consent' }));
		const cf = findForm(consent.body, '/consent');
		assert.ok(cf, `consent page: ${describePage(consent)}`);
		const denied = await sso.submit(consent, cf, {}, { button: (x) => x.value === 'deny' });
		assert.equal(denied.status, 303, describePage(denied));
		assert.equal(denied.location.searchParams.get('error'), 'access_denied');
		assert.equal(denied.location.searchParams.get('state'), st2);
		assert.equal(denied.location.searchParams.get('iss'), srv.issuer);
	});

	// ------------------------------------------------------------------------------------------------ SEC3

	test('SEC3 PKCE plain rejected', async () => {
		const v = pkce().verifier;
		for (const extra of [
			{ code_challenge: v, code_challenge_method: 'plain' },
			{ code_challenge: v, code_challenge_method: 'PLAIN' },
			{ code_challenge: challengeOf(v) }, // no method: RFC 7636 would default to plain
			{ code_challenge: challengeOf(v), code_challenge_method: 's256' },
		]) {
			for (const client of [conf, pub]) {
				const state = random();
				const page = await sso.get(authzUrl(srv, client, { state, ...extra }));
				const what = `${client === pub ? 'public' : 'confidential'} ${JSON.stringify(extra)}`;
				assert.equal(page.status, 303, `${what}: ${describePage(page)}`);
				assert.equal(page.location.searchParams.get('error'), 'invalid_request', `${what}: ${page.location.href}`);
				assert.equal(page.location.searchParams.get('code'), null, `${what}: no code`);
				assert.equal(page.location.searchParams.get('state'), state);
			}
		}
		assert.deepEqual(meta.code_challenge_methods_supported, ['S256'], 'discovery advertises S256 only');
	});

	test('SEC3 PKCE required for public clients', async () => {
		const page = await sso.get(authzUrl(srv, pub, {}));
		assert.equal(page.status, 303, describePage(page));
		assert.equal(page.location.searchParams.get('error'), 'invalid_request', page.location.href);
		assert.equal(page.location.searchParams.get('code'), null);
		// With S256 the same public client gets a code, and the token endpoint insists on the verifier.
		const p = pkce();
		const { code } = await getCode(srv, sso, pub, { pkce: p });
		const none = await tokenReq(srv, pub, { grant_type: 'authorization_code', code, redirect_uri: CB });
		assert.equal(none.status, 400, `public client without code_verifier: ${show(none)}`);
		assert.equal(none.body.error, 'invalid_grant');
		const { code: code2 } = await getCode(srv, sso, pub, { pkce: p });
		const ok = await tokenReq(srv, pub, { grant_type: 'authorization_code', code: code2, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(ok.status, 200, show(ok));
	});

	test('SEC3 code_verifier without stored challenge rejected (downgrade)', async () => {
		const { code } = await getCode(srv, sso, conf, {}); // confidential client, no PKCE (as ID4me RP libraries)
		const r = await tokenReq(srv, conf, {
			grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: pkce().verifier,
		});
		assert.equal(r.status, 400, `verifier without a stored challenge: ${show(r)}`);
		assert.equal(r.body.error, 'invalid_grant');
		// The attempt burnt the code: it cannot be retried without the verifier.
		const again = await tokenReq(srv, conf, { grant_type: 'authorization_code', code, redirect_uri: CB });
		assert.equal(again.status, 400, show(again));
		assert.equal(again.body.error, 'invalid_grant');
		// Control: without PKCE on both sides the confidential client is served.
		const { code: c2 } = await getCode(srv, sso, conf, {});
		const ok = await tokenReq(srv, conf, { grant_type: 'authorization_code', code: c2, redirect_uri: CB });
		assert.equal(ok.status, 200, show(ok));
	});

	test('SEC3 verifier length and charset enforced', async () => {
		const unreserved = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
		const good = {
			'43 characters': 'a'.repeat(40) + '-._',
			'128 characters': (unreserved + unreserved).slice(0, 128),
			'every unreserved character': unreserved.slice(0, 66),
		};
		const bad = {
			'42 characters': 'b'.repeat(42),
			'129 characters': 'c'.repeat(129),
			'standard base64 "+"': 'd'.repeat(42) + '+',
			'standard base64 "/"': 'e'.repeat(42) + '/',
			'padding "="': 'f'.repeat(42) + '=',
			'space': 'g'.repeat(21) + ' ' + 'g'.repeat(21),
			'non-ASCII': 'h'.repeat(42) + 'é',
			'empty': '',
		};
		for (const [what, verifier] of Object.entries(good)) {
			const { code } = await getCode(srv, sso, conf, { pkce: { challenge: challengeOf(verifier) } });
			const r = await tokenReq(srv, conf, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: verifier });
			assert.equal(r.status, 200, `${what}: ${show(r)}`);
		}
		for (const [what, verifier] of Object.entries(bad)) {
			// The challenge is the S256 of this very verifier: only its syntax is wrong.
			const { code } = await getCode(srv, sso, conf, { pkce: { challenge: challengeOf(verifier) } });
			const r = await tokenReq(srv, conf, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: verifier });
			assert.equal(r.status, 400, `${what}: ${show(r)}`);
			assert.ok(['invalid_grant', 'invalid_request'].includes(r.body.error), `${what}: ${show(r)}`);
		}
		// A well-formed verifier of another challenge.
		const { code } = await getCode(srv, sso, conf, { pkce: pkce() });
		const r = await tokenReq(srv, conf, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: pkce().verifier });
		assert.equal(r.status, 400, `wrong verifier: ${show(r)}`);
		assert.equal(r.body.error, 'invalid_grant');
		// A challenge that is not a S256 value is refused at the authorization endpoint.
		for (const cc of ['short', 'x'.repeat(44), 'a'.repeat(42) + '+']) {
			const page = await sso.get(authzUrl(srv, conf, { code_challenge: cc, code_challenge_method: 'S256' }));
			assert.equal(page.status, 303, describePage(page));
			assert.equal(page.location.searchParams.get('error'), 'invalid_request', `challenge ${cc}: ${page.location.href}`);
		}
	});

	// ------------------------------------------------------------------------------------------------ SEC4

	test('SEC4 code bound to client and redirect_uri', async () => {
		const other = await registerClient(srv, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
		const p = pkce();
		const { code } = await getCode(srv, sso, conf, { pkce: p });
		const stolen = await tokenReq(srv, other, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(stolen.status, 400, `another client redeeming the code: ${show(stolen)}`);
		assert.equal(stolen.body.error, 'invalid_grant');
		const pubTry = await tokenReq(srv, pub, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(pubTry.status, 400, `a public client redeeming the code: ${show(pubTry)}`);
		// The rightful client still can.
		const ok = await tokenReq(srv, conf, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(ok.status, 200, `the rightful client after the failed theft: ${show(ok)}`);

		// redirect_uri: the code was issued for CB2; CB is also registered but is not the one of this code.
		const p2 = pkce();
		const { code: c2 } = await getCode(srv, sso, conf, { pkce: p2, redirectUri: CB2 });
		for (const ru of [CB, undefined, `${CB2}/`]) {
			const r = await tokenReq(srv, conf, {
				grant_type: 'authorization_code', code: c2, code_verifier: p2.verifier, ...(ru ? { redirect_uri: ru } : {}),
			});
			assert.equal(r.status, 400, `redirect_uri ${ru}: ${show(r)}`);
			assert.equal(r.body.error, 'invalid_grant', `redirect_uri ${ru}`);
		}
		// And the nonce: the ID token carries the nonce of the request that made the code.
		const { tokens, nonce } = await flow(conf);
		await verifyIdToken(meta, tokens.id_token, { audience: conf.client_id, nonce });
	});

	test('SEC4 parallel redemption: exactly one success', async () => {
		const p = pkce();
		const { code } = await getCode(srv, sso, conf, { pkce: p });
		const params = { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier };
		const results = await Promise.all(Array.from({ length: 20 }, () => tokenReq(srv, conf, params)));
		const ok = results.filter((r) => r.status === 200);
		assert.equal(ok.length, 1, `exactly one success, got ${results.map((r) => r.status).join(',')}`);
		for (const r of results.filter((x) => x.status !== 200)) {
			assert.equal(r.status, 400, show(r));
			assert.equal(r.body.error, 'invalid_grant', show(r));
		}
		assert.equal(typeof ok[0].body.access_token, 'string');
		assert.ok(srv.running(), 'server still up');
	});

	test('SEC4 code replay revokes the tokens already issued', async () => {
		const p = pkce();
		const { code } = await getCode(srv, sso, conf, { pkce: p });
		const params = { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier };
		const first = await tokenReq(srv, conf, params);
		assert.equal(first.status, 200, show(first));
		const { access_token: at, refresh_token: rt } = first.body;
		assert.equal(typeof rt, 'string', 'the client has the refresh_token grant');
		const ui = await userinfo(srv, at);
		assert.equal(ui.status, 200, `userinfo before the replay: ${show(ui)}`);

		const replay = await tokenReq(srv, conf, params);
		assert.equal(replay.status, 400, show(replay));
		assert.equal(replay.body.error, 'invalid_grant');

		const ui2 = await userinfo(srv, at);
		assert.equal(ui2.status, 401, `access token after the replay: ${show(ui2)}`);
		assert.match(ui2.headers.get('www-authenticate') ?? '', /^Bearer .*invalid_token/);
		const rr = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: rt });
		assert.equal(rr.status, 400, `refresh token after the replay: ${show(rr)}`);
		assert.equal(rr.body.error, 'invalid_grant');
	});

	// ------------------------------------------------------------------------------------------------ SEC5

	test('SEC5 refresh token rotates; reuse revokes the family', async () => {
		const { tokens } = await flow(conf);
		const rt1 = tokens.refresh_token;
		const r2 = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: rt1 });
		assert.equal(r2.status, 200, show(r2));
		const rt2 = r2.body.refresh_token;
		assert.equal(typeof rt2, 'string', 'a new refresh token');
		assert.notEqual(rt2, rt1, 'the refresh token rotates');
		assert.notEqual(r2.body.access_token, tokens.access_token);
		assert.equal((await userinfo(srv, r2.body.access_token)).status, 200);

		// Another client cannot use it (and does not burn it).
		const other = await registerClient(srv, { grant_types: ['authorization_code', 'refresh_token'] });
		const stolen = await tokenReq(srv, other, { grant_type: 'refresh_token', refresh_token: rt2 });
		assert.equal(stolen.status, 400, show(stolen));
		assert.equal(stolen.body.error, 'invalid_grant');

		const r3 = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: rt2 });
		assert.equal(r3.status, 200, `the current token still works: ${show(r3)}`);
		const rt3 = r3.body.refresh_token;

		// rt1 comes back: the family dies.
		const reuse = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: rt1 });
		assert.equal(reuse.status, 400, show(reuse));
		assert.equal(reuse.body.error, 'invalid_grant');
		const after3 = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: rt3 });
		assert.equal(after3.status, 400, `the newest refresh token of the family: ${show(after3)}`);
		assert.equal(after3.body.error, 'invalid_grant');
		for (const at of [tokens.access_token, r2.body.access_token, r3.body.access_token]) {
			const ui = await userinfo(srv, at);
			assert.equal(ui.status, 401, `access token of the revoked family: ${show(ui)}`);
		}
	});

	// ------------------------------------------------------------------------------------------------ SEC6

	test('SEC6 login/setup/consent/logout POST without CSRF token -> 403', async () => {
		const foreign = new Browser();
		const foreignForm = await loginForm(foreign, authzUrl(srv, conf));
		const foreignCsrf = fieldValue(foreignForm.form, 'csrf');
		assert.ok(foreignCsrf, 'login form carries a csrf field');

		const assert403 = (page, what) => {
			assert.equal(page.status, 403, `${what}: ${describePage(page)}`);
			assert.equal(page.headers.get('location'), null, `${what}: no redirect`);
			assert.ok(!page.setCookies.some((c) => /anchorid_sid=/.test(c) && !/Max-Age=0/i.test(c)), `${what}: no session`);
		};

		// /login
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, conf));
		const creds = { identifier: IDENT, password: PASSWORD };
		assert403(await postForm(b, lf, creds, { omit: ['csrf'] }), 'login without csrf');
		assert403(await postForm(b, lf, { ...creds, csrf: '' }), 'login with an empty csrf');
		assert403(await postForm(b, lf, { ...creds, csrf: foreignCsrf }), "login with another browser's csrf");
		const noCookie = new Browser();
		assert403(await postForm(noCookie, lf, creds), 'login with the csrf but without the browser cookie');
		const good = await postForm(b, lf, creds);
		assert.equal(good.status, 303, `control: login with the csrf: ${describePage(good)}`);

		// /consent (b is now logged in)
		const consent = await b.get(authzUrl(srv, conf, { prompt: 'consent' }));
		const cf = findForm(consent.body, '/consent');
		assert.ok(cf, `consent page: ${describePage(consent)}`);
		const cpage = { page: consent, form: cf };
		assert403(await postForm(b, cpage, { decision: 'allow' }, { omit: ['csrf'] }), 'consent without csrf');
		assert403(await postForm(b, cpage, { decision: 'allow', csrf: foreignCsrf }), "consent with another browser's csrf");
		const allowed = await postForm(b, cpage, { decision: 'allow' });
		assert.equal(allowed.status, 303, `control: consent with the csrf: ${describePage(allowed)}`);
		assert.ok(allowed.location.searchParams.get('code'));

		// /setup
		const sident = 'csrf-setup.example.com';
		const url = srv.setupUrl(await srv.cli('identity', 'add', sident));
		const sb = new Browser();
		const sp = await sb.get(url);
		const sf = findForm(sp.body, '/setup');
		assert.ok(sf, `setup page: ${describePage(sp)}`);
		const pw = { password: 'a fine new password', password2: 'a fine new password' };
		assert403(await postForm(sb, { page: sp, form: sf }, pw, { omit: ['csrf'] }), 'setup without csrf');
		assert403(await postForm(sb, { page: sp, form: sf }, { ...pw, csrf: foreignCsrf }), "setup with another browser's csrf");
		const done = await postForm(sb, { page: sp, form: sf }, pw);
		assert.equal(done.status, 200, `control: setup with the csrf (the token survived the refusals): ${describePage(done)}`);
		assert.equal(findForm(done.body, '/setup'), undefined, 'setup accepted');

		// /logout: a session of its own.
		const lb = new Browser();
		await getCode(srv, lb, conf, {});
		const lo = await lb.get(`${srv.issuer}/logout`);
		const lof = findForm(lo.body, '/logout');
		assert.ok(lof, `logout page: ${describePage(lo)}`);
		const lpage = { page: lo, form: lof };
		assert403(await postForm(lb, lpage, { csrf: '' }), 'logout with an empty csrf');
		assert403(await postForm(lb, lpage, { csrf: foreignCsrf }), "logout with another browser's csrf");
		// RP-Initiated Logout 1.0 lets a relying party POST to the end-session endpoint: without a csrf field the
		// answer is the confirmation page, and the session must survive it.
		const rpPost = await postForm(lb, lpage, {}, { omit: ['csrf'] });
		assert.ok(rpPost.status === 403 || (rpPost.status === 200 && findForm(rpPost.body, '/logout')),
			`logout POST without csrf: 403 or the confirmation page: ${describePage(rpPost)}`);
		const still = await lb.get(authzUrl(srv, conf, { prompt: 'none' }));
		assert.equal(still.status, 303, describePage(still));
		assert.ok(still.location.searchParams.get('code'), `session survived the refused logouts: ${still.location.href}`);
		const out = await postForm(lb, lpage, {});
		assert.equal(out.status, 200, `control: logout with the csrf: ${describePage(out)}`);
		const gone = await lb.get(authzUrl(srv, conf, { prompt: 'none' }));
		assert.equal(gone.location?.searchParams.get('error'), 'login_required', 'logged out');
	});

	test('SEC6 cookies are HttpOnly, Secure, SameSite', async () => {
		const b = new Browser();
		const { page, form } = await loginForm(b, authzUrl(srv, conf));
		assert.ok(page.setCookies.length >= 1, 'the login page sets the browser (CSRF) cookie');
		for (const c of page.setCookies) assertCookie(c, 'login page cookie');
		const posted = await postForm(b, { page, form }, { identifier: IDENT, password: PASSWORD });
		assert.equal(posted.status, 303, describePage(posted));
		const sid = posted.setCookies.filter((c) => /sid=/.test(c));
		assert.equal(sid.length, 1, `one session cookie: ${posted.setCookies}`);
		for (const c of posted.setCookies) assertCookie(c, 'login response cookie');
		const sidCookie = b.jar.cookies.find((c) => /sid$/.test(c.name));
		assert.ok(sidCookie && sidCookie.value.length >= 22, 'session id of 128 bits or more');
		// Logout deletes it with the same attributes.
		const lo = await b.get(`${srv.issuer}/logout`);
		const out = await b.submit(lo, findForm(lo.body, '/logout'));
		assert.ok(out.setCookies.some((c) => /sid=;/.test(c) || /Max-Age=0/i.test(c)), `logout deletes the session cookie: ${out.setCookies}`);
		for (const c of out.setCookies) assertCookie(c, 'logout cookie');
		// A new session id after each login (no fixation).
		const again = await loginForm(b, authzUrl(srv, conf));
		const p2 = await postForm(b, again, { identifier: IDENT, password: PASSWORD });
		assert.equal(p2.status, 303);
		assert.notEqual(b.jar.cookies.find((c) => /sid$/.test(c.name))?.value, sidCookie.value, 'fresh session id');
	});

	// ------------------------------------------------------------------------------------------------ SEC7

	test("SEC7 HTML pages carry X-Frame-Options DENY, CSP frame-ancestors 'none' without inline script, Referrer-Policy no-referrer, nosniff, HSTS", async () => {
		const b = new Browser();
		const pages = {};
		pages.login = await b.get(authzUrl(srv, conf));
		pages['error (unknown client)'] = await b.get(`${srv.issuer}/authorize?client_id=nope&redirect_uri=x`);
		pages['error (bad redirect_uri)'] = await b.get(authzUrl(srv, conf, { redirect_uri: 'https://evil.example/' }));
		const lf = findForm(pages.login.body, '/login');
		pages['403 (csrf)'] = await postForm(b, { page: pages.login, form: lf }, { identifier: IDENT, password: 'x' }, { omit: ['csrf'] });
		pages['login failed (401)'] = await postForm(b, { page: pages.login, form: lf }, { identifier: IDENT, password: 'wrong password' });
		pages['login bad input (400)'] = await postForm(b, { page: pages.login, form: lf }, { identifier: 'not an identifier', password: 'x' });
		pages.consent = await sso.get(authzUrl(srv, conf, { prompt: 'consent' }));
		pages.form_post = await sso.get(authzUrl(srv, conf, { response_mode: 'form_post' }));
		const url = srv.setupUrl(await srv.cli('identity', 'add', 'headers.example.com'));
		pages.setup = await b.get(url);
		pages['setup gone (410)'] = await b.get(`${srv.issuer}/setup?t=nope`);
		pages.logout = await b.get(`${srv.issuer}/logout`);
		pages.logged_out = await b.submit(pages.logout, findForm(pages.logout.body, '/logout'));
		const expected = {
			login: 200, 'error (unknown client)': 400, 'error (bad redirect_uri)': 400, '403 (csrf)': 403,
			'login failed (401)': 401, 'login bad input (400)': 400, consent: 200, form_post: 200, setup: 200,
			'setup gone (410)': 410, logout: 200, logged_out: 200,
		};
		for (const [name, page] of Object.entries(pages)) {
			assert.equal(page.status, expected[name], `${name}: ${describePage(page)}`);
			assertPageHeaders(page, name);
		}
		// Redirects and JSON answers are over TLS too: HSTS there as well.
		const redirect = await sso.get(authzUrl(srv, conf));
		assert.equal(redirect.status, 303);
		assert.match(redirect.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
		const disc = await api(`${srv.issuer}/.well-known/openid-configuration`);
		assert.match(disc.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
		assert.equal(disc.headers.get('x-content-type-options'), 'nosniff');
	});

	test('SEC7 token, userinfo and registration responses are Cache-Control no-store', async () => {
		const noStore = (r, what) => assert.match(r.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control (${show(r)})`);
		const reg = await registerRaw(srv, { redirect_uris: [CB], grant_types: ['authorization_code', 'refresh_token'] });
		assert.equal(reg.status, 201, show(reg));
		noStore(reg, 'registration 201');
		const regBad = await registerRaw(srv, { redirect_uris: ['javascript:x'] });
		assert.equal(regBad.status, 400);
		noStore(regBad, 'registration 400');
		const read = await api(reg.body.registration_client_uri, { headers: { authorization: `Bearer ${reg.body.registration_access_token}` } });
		assert.equal(read.status, 200, show(read));
		noStore(read, 'RFC 7592 read');
		const client = reg.body;
		client.client_secret = read.body.client_secret; // the read rotated it (drafts/registration.md §4)

		const { tokens } = await flow(client);
		const { code } = await getCode(srv, sso, client, {});
		const tok = await tokenReq(srv, client, { grant_type: 'authorization_code', code, redirect_uri: CB });
		assert.equal(tok.status, 200, show(tok));
		noStore(tok, 'token 200');
		const tokErr = await tokenReq(srv, client, { grant_type: 'authorization_code', code: 'nope', redirect_uri: CB });
		assert.equal(tokErr.status, 400);
		noStore(tokErr, 'token 400');
		const tok401 = await tokenReq(srv, client, { grant_type: 'authorization_code', code: 'nope' }, { secret: 'wrong' });
		assert.equal(tok401.status, 401);
		noStore(tok401, 'token 401');
		const ref = await tokenReq(srv, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
		assert.equal(ref.status, 200);
		noStore(ref, 'refresh 200');
		const ui = await userinfo(srv, tokens.access_token);
		assert.equal(ui.status, 200, show(ui));
		noStore(ui, 'userinfo 200');
		const uiPost = await api(`${srv.issuer}/userinfo`, { form: { access_token: tokens.access_token } });
		assert.equal(uiPost.status, 200, show(uiPost));
		noStore(uiPost, 'userinfo POST 200');
		const ui401 = await userinfo(srv, 'nope');
		assert.equal(ui401.status, 401);
		noStore(ui401, 'userinfo 401');
	});

	// ------------------------------------------------------------------------------------------------ SEC8

	test('SEC8 client secret compared by hash (wrong secret of same length -> invalid_client)', async () => {
		const client = await registerClient(srv, { token_endpoint_auth_method: 'client_secret_basic' });
		const s = client.client_secret;
		assert.ok(s.length >= 43, 'secret of 256 bits');
		const flip = (str, i) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
		const params = { grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: CB };
		// Control: the right secret authenticates (the bad code is then invalid_grant, not invalid_client).
		const right = await tokenReq(srv, client, params);
		assert.equal(right.status, 400, show(right));
		assert.equal(right.body.error, 'invalid_grant', `right secret: ${show(right)}`);
		const wrongs = {
			'last character changed': flip(s, s.length - 1),
			'first character changed': flip(s, 0),
			'middle character changed': flip(s, s.length >> 1),
			'same length, all different': 'A'.repeat(s.length),
			'prefix': s.slice(0, -1),
			'longer': s + 'A',
			'letter case changed': (() => {
				const i = s.search(/[A-Za-z]/);
				const c = s[i];
				return s.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + s.slice(i + 1);
			})(),
			'empty': '',
		};
		for (const [what, secret] of Object.entries(wrongs)) {
			if (secret === s) continue;
			const basicR = await tokenReq(srv, client, params, { secret });
			assert.equal(basicR.status, 401, `Basic, ${what}: ${show(basicR)}`);
			assert.equal(basicR.body.error, 'invalid_client', `Basic, ${what}`);
			assert.match(basicR.headers.get('www-authenticate') ?? '', /^Basic/i);
			const post = await api(`${srv.issuer}/token`, { form: { ...params, client_id: client.client_id, client_secret: secret } });
			assert.equal(post.status, 401, `client_secret_post, ${what}: ${show(post)}`);
			assert.equal(post.body.error, 'invalid_client');
		}
		// Another client's valid secret does not work either, and an unknown client_id gets the same answer.
		const other = await registerClient(srv, {});
		const cross = await tokenReq(srv, client, params, { secret: other.client_secret });
		assert.equal(cross.status, 401, show(cross));
		const unknown = await tokenReq(srv, { client_id: 'no-such-client-id-AAAAAA' }, params, { secret: s });
		assert.equal(unknown.status, 401, show(unknown));
		assert.deepEqual(unknown.body, cross.body, 'unknown client and wrong secret answer alike');
		// The registration access token (RFC 7592) as well.
		const rat = client.registration_access_token;
		const bad = await api(client.registration_client_uri, { headers: { authorization: `Bearer ${flip(rat, rat.length - 1)}` } });
		assert.equal(bad.status, 401, `wrong registration access token of the same length: ${show(bad)}`);
		assert.equal(bad.body.error, 'invalid_token');
		const otherRat = await api(client.registration_client_uri, { headers: { authorization: `Bearer ${other.registration_access_token}` } });
		assert.equal(otherRat.status, 401, `another client's registration access token: ${show(otherRat)}`);
		const good = await api(client.registration_client_uri, { headers: { authorization: `Bearer ${rat}` } });
		assert.equal(good.status, 200, `control: the right registration access token: ${show(good)}`);
	});

	test('SEC8 secrets, tokens and codes are stored only as hashes', async () => {
		const client = await registerClient(srv, { grant_types: ['authorization_code', 'refresh_token'] });
		const p = pkce();
		const b = new Browser();
		const { code } = await getCode(srv, b, client, { pkce: p });
		const tok = await tokenReq(srv, client, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(tok.status, 200, show(tok));
		const setupUrl = srv.setupUrl(await srv.cli('identity', 'add', 'hashed.example.com'));
		const secrets = {
			client_secret: client.client_secret,
			registration_access_token: client.registration_access_token,
			code,
			refresh_token: tok.body.refresh_token,
			'session cookie': b.jar.cookies.find((c) => /sid$/.test(c.name)).value,
			'setup token': setupUrl.searchParams.get('t'),
			password: PASSWORD,
		};
		const files = fs.readdirSync(srv.dir).filter((f) => f.startsWith('anchorid.db')).map((f) => path.join(srv.dir, f));
		assert.ok(files.length >= 1, `database files in ${srv.dir}`);
		const data = Buffer.concat(files.map((f) => fs.readFileSync(f)));
		for (const [what, value] of Object.entries(secrets)) {
			assert.ok(value && value.length >= 16, `${what} present`);
			assert.equal(data.indexOf(Buffer.from(value)), -1, `${what} must not be stored in clear in ${files.join(', ')}`);
		}
		// Control: the things that are not secret are there (the search does look at the right bytes).
		assert.notEqual(data.indexOf(Buffer.from(client.client_id)), -1, 'client_id is stored');
	});

	// ----------------------------------------------------------------------------------------------- SEC13

	test('SEC13 JWKS: kid on every key, no private members; tokens signed with a published kid; alg none / HS256 forged tokens refused at userinfo', async () => {
		const jw = await api(`${srv.issuer}/jwks.json`);
		assert.equal(jw.status, 200);
		const keys = jw.body.keys;
		assert.ok(Array.isArray(keys) && keys.length >= 2, `keys: ${jw.text}`);
		const kids = new Set();
		for (const k of keys) {
			assert.equal(typeof k.kid, 'string', `kid on ${JSON.stringify(k)}`);
			assert.ok(k.kid.length > 0);
			assert.ok(!kids.has(k.kid), 'kids are unique');
			kids.add(k.kid);
			assert.ok(['RS256', 'ES256'].includes(k.alg), `alg allow-list: ${k.alg}`);
			assert.equal(k.use, 'sig');
			for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
				assert.equal(k[priv], undefined, `private member ${priv} published in ${k.kid}`);
			}
		}
		for (const key of ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported']) {
			for (const alg of meta[key] ?? []) assert.ok(['RS256', 'ES256'].includes(alg), `${key}: ${alg}`);
		}

		const { tokens, nonce } = await flow(conf);
		for (const [what, t] of [['id_token', tokens.id_token], ['access_token', tokens.access_token]]) {
			const { header } = jwtParts(t);
			const k = keys.find((x) => x.kid === header.kid);
			assert.ok(k, `${what} kid ${header.kid} is published`);
			assert.equal(header.alg, k.alg, `${what} alg matches its key`);
			await jose.compactVerify(t, await jose.importJWK(k, k.alg));
		}
		await verifyIdToken(meta, tokens.id_token, { audience: conf.client_id, nonce });
		const at = tokens.access_token;
		assert.equal((await userinfo(srv, at)).status, 200, 'control: the genuine access token');

		const { header, payload } = jwtParts(at);
		assert.equal(header.typ, 'at+jwt');
		const ecKey = keys.find((k) => k.kid === header.kid);
		const forged = {
			'alg none': `${b64j({ ...header, alg: 'none' })}.${b64j(payload)}.`,
			'alg none without kid': `${b64j({ alg: 'none', typ: 'at+jwt' })}.${b64j(payload)}.`,
			'alg None, genuine signature kept': `${b64j({ ...header, alg: 'None' })}.${b64j(payload)}.${at.split('.')[2]}`,
			'payload changed, signature kept': `${at.split('.')[0]}.${b64j({ ...payload, scope: 'openid admin', exp: payload.exp + 3600 })}.${at.split('.')[2]}`,
			'signature stripped': `${at.split('.')[0]}.${at.split('.')[1]}.`,
			'the ID token as an access token': tokens.id_token,
		};
		const hsSecrets = {
			'HS256 keyed with the public JWK': Buffer.from(JSON.stringify(ecKey)),
			'HS256 keyed with the public PEM': Buffer.from(crypto.createPublicKey({ key: ecKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })),
			'HS256 keyed with the kid': Buffer.from(ecKey.kid),
		};
		for (const [what, secret] of Object.entries(hsSecrets)) {
			forged[what] = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: ecKey.kid, typ: 'at+jwt' }).sign(secret);
		}
		const rsaKey = keys.find((k) => k.alg === 'RS256');
		forged['HS256 keyed with the RSA public PEM'] = await new jose.SignJWT(payload)
			.setProtectedHeader({ alg: 'HS256', kid: rsaKey.kid, typ: 'at+jwt' })
			.sign(Buffer.from(crypto.createPublicKey({ key: rsaKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })));
		const attacker = await jose.generateKeyPair('ES256');
		forged["an attacker's ES256 key under the published kid"] = await new jose.SignJWT(payload)
			.setProtectedHeader({ alg: 'ES256', kid: ecKey.kid, typ: 'at+jwt' }).sign(attacker.privateKey);
		forged["an attacker's key with no kid"] = await new jose.SignJWT(payload)
			.setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(attacker.privateKey);
		for (const [what, t] of Object.entries(forged)) {
			const r = await userinfo(srv, t);
			assert.equal(r.status, 401, `${what}: ${show(r)}`);
			assert.equal(r.body.error, 'invalid_token', what);
		}
	});

	// ----------------------------------------------------------------------------------------------- SEC15

	test('SEC15 oversized body -> 413, oversized headers -> 431 (or 413/400), too many form pairs -> 400, bad JSON -> 400, no crash', async () => {
		const tokenUrl = `${srv.issuer}/token`;
		// Bodies: announced, and chunked without a length.
		const bigBody = `grant_type=authorization_code&code=${'x'.repeat(70 * 1024)}`;
		const big = await rawTls(srv.port, 'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
			`Content-Length: ${bigBody.length}\r\nConnection: close\r\n\r\n${bigBody}`);
		assert.equal(statusOf(big), 413, `70 KiB token request: ${big.slice(0, 200)}`);
		assert.match(big, /"error":"invalid_request"/, 'a JSON error with a clear message');
		const lying = await rawTls(srv.port, 'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
			'Content-Length: 99999999999\r\nConnection: close\r\n\r\ngrant_type=x');
		assert.equal(statusOf(lying), 413, `an announced 100 GB body: ${lying.slice(0, 200)}`);
		const chunk = `${(16 * 1024).toString(16)}\r\n${'a'.repeat(16 * 1024)}\r\n`;
		const chunked = await rawTls(srv.port, 'POST /token HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n' +
			'Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n' + chunk.repeat(6) + '0\r\n\r\n');
		assert.equal(statusOf(chunked), 413, `96 KiB chunked body: ${chunked.slice(0, 200)}`);
		const reg = await registerRaw(srv, { redirect_uris: [CB], client_name: 'n', extra: 'y'.repeat(20000) });
		assert.equal(reg.status, 413, `20 KB registration metadata: ${show(reg)}`);
		// Headers.
		for (const [what, text] of [
			['one 40 KB header', `GET /jwks.json HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40000)}\r\nConnection: close\r\n\r\n`],
			['300 headers', `GET /jwks.json HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'b'.repeat(100)}`).join('\r\n')}\r\nConnection: close\r\n\r\n`],
			['40 KB request target', `GET /authorize?x=${'c'.repeat(40000)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`],
			['40 KB cookie', `GET /jwks.json HTTP/1.1\r\nHost: localhost\r\nCookie: a=${'d'.repeat(40000)}\r\nConnection: close\r\n\r\n`],
		]) {
			const raw = await rawTls(srv.port, text);
			assert.ok([431, 413, 414, 400].includes(statusOf(raw)), `${what}: got ${raw.slice(0, 200) || '(nothing: connection dropped)'}`);
		}
		// Pairs.
		const pairs = (n) => Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&');
		const tooMany = await api(tokenUrl, { body: pairs(65), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		assert.equal(tooMany.status, 400, `65 form pairs: ${show(tooMany)}`);
		assert.equal(tooMany.body.error, 'invalid_request');
		const enough = await api(tokenUrl, { body: pairs(64), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		assert.equal(enough.status, 401, `control: 64 pairs get as far as client authentication: ${show(enough)}`);
		const q = await api(`${srv.issuer}/authorize?${pairs(65)}`);
		assert.equal(q.status, 400, `65 query pairs: ${show(q)}`);
		const cookies = await api(`${srv.issuer}/authorize`, { headers: { cookie: Array.from({ length: 65 }, (_, i) => `c${i}=1`).join('; ') } });
		assert.equal(cookies.status, 400, `65 cookies: ${show(cookies)}`);
		for (const [what, body] of [['bad %-escape', 'grant_type=%zz'], ['NUL byte', 'grant_type=a%00b']]) {
			const r = await api(tokenUrl, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
			assert.equal(r.status, 400, `${what}: ${show(r)}`);
		}
		// JSON.
		for (const [what, body] of [
			['truncated', '{"redirect_uris":["https://rp.example/cb"'], ['not JSON', 'redirect_uris=x'], ['an array', '[]'],
			['a string', '"x"'], ['duplicate members', `{"redirect_uris":["${CB}"],"redirect_uris":["https://evil.example/"]}`],
			['nested 8000 deep', '['.repeat(8000) + ']'.repeat(8000)], ['nested 20 deep', `{"redirect_uris":["${CB}"],"x":${'['.repeat(20)}${']'.repeat(20)}}`],
			['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])], ['empty', ''],
		]) {
			const r = await rawRequest(`${srv.issuer}/register`, {
				method: 'POST', body, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
			});
			assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
			assert.equal(JSON.parse(r.body).error, 'invalid_client_metadata', what);
		}
		// Long parameters in the pages.
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, conf));
		const longPw = await postForm(b, lf, { identifier: IDENT, password: 'p'.repeat(5000) });
		assert.equal(longPw.status, 400, `5000-character password: ${describePage(longPw)}`);
		const longState = await b.get(authzUrl(srv, conf, { state: 's'.repeat(5000) }));
		assert.equal(longState.status, 303, describePage(longState));
		assert.equal(longState.location.searchParams.get('error'), 'invalid_request');
		assert.equal(longState.location.searchParams.get('state'), null, 'an oversized state is not echoed');
		// Still alive, still answering.
		assert.ok(srv.running(), 'the server is still running');
		const disc = await api(`${srv.issuer}/.well-known/openid-configuration`);
		assert.equal(disc.status, 200);
		const { tokens } = await flow(conf);
		assert.equal((await userinfo(srv, tokens.access_token)).status, 200, 'a whole flow still works');
	});

	// ------------------------------------------------------------------------------------------- identity

	test('identity: setup URL is one-time', async () => {
		const ident = 'onetime.example.com';
		const url = srv.setupUrl(await srv.cli('identity', 'add', ident));
		const b = new Browser();
		await completeSetup(url, 'the first password', b);
		const again = await b.get(url);
		assert.equal(again.status, 410, `the used setup URL: ${describePage(again)}`);
		assert.equal(findForm(again.body, '/setup'), undefined, 'no form behind a used URL');
		// Posting with it again (with a valid csrf of this browser) must not reset the password.
		const fresh = await b.get(`${srv.issuer}/logout`); // any page: gives the csrf of this browser
		const csrf = fieldValue(findForm(fresh.body, '/logout'), 'csrf');
		const post = await b.post(`${srv.issuer}/setup`, { t: url.searchParams.get('t'), csrf, password: 'a hijacked password', password2: 'a hijacked password' });
		assert.equal(post.status, 410, `POST with the used token: ${describePage(post)}`);
		const res = await login(new Browser(), authzUrl(srv, conf, { state: 's' }), { identifier: ident, password: 'the first password', redirectUri: CB });
		assert.ok(res.params.get('code'), 'the first password still works');
		await assert.rejects(login(new Browser(), authzUrl(srv, conf), { identifier: ident, password: 'a hijacked password', redirectUri: CB }),
			/login rejected/, 'the second password was not set');
		// A new URL kills the previous unused one.
		const ident2 = 'reissue.example.com';
		const u1 = srv.setupUrl(await srv.cli('identity', 'add', ident2));
		const u2 = srv.setupUrl(await srv.cli('identity', 'setup-url', ident2));
		assert.notEqual(u1.href, u2.href);
		assert.equal((await new Browser().get(u1)).status, 410, 'the superseded setup URL');
		assert.equal((await new Browser().get(u2)).status, 200, 'the new setup URL');
		// A made-up token.
		assert.equal((await new Browser().get(`${srv.issuer}/setup?t=${'A'.repeat(43)}`)).status, 410);
	});

	test('identity: deleted identity cannot log in and its sub is never reused', async () => {
		const ident = 'deleted.example.com';
		const pw = 'password before deletion';
		await srv.addIdentity(ident, pw);
		const b1 = new Browser();
		const first = await flow(conf, { browser: b1, identifier: ident, password: pw });
		const sub1 = jwtParts(first.tokens.id_token).payload.sub;
		assert.equal((await userinfo(srv, first.tokens.access_token)).body.sub, sub1);

		await srv.cli('identity', 'delete', ident);
		// Every credential of the identity is dead.
		const ui = await userinfo(srv, first.tokens.access_token);
		assert.equal(ui.status, 401, `access token of the deleted identity: ${show(ui)}`);
		const rr = await tokenReq(srv, conf, { grant_type: 'refresh_token', refresh_token: first.tokens.refresh_token });
		assert.equal(rr.status, 400, `refresh token of the deleted identity: ${show(rr)}`);
		const sess = await b1.get(authzUrl(srv, conf, { prompt: 'none' }));
		assert.equal(sess.location?.searchParams.get('error'), 'login_required', `session of the deleted identity: ${describePage(sess)}`);
		// The password no longer logs in, with the page of a wrong password.
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, conf));
		const r = await postForm(b, lf, { identifier: ident, password: pw });
		assert.equal(r.status, 401, `login of the deleted identity: ${describePage(r)}`);
		assert.ok(findForm(r.body, '/login'), 'the login form again');

		// Re-created: a new identity with a new sub.
		await srv.addIdentity(ident, 'password after re-creation');
		const second = await flow(conf, { browser: new Browser(), identifier: ident, password: 'password after re-creation' });
		const sub2 = jwtParts(second.tokens.id_token).payload.sub;
		assert.notEqual(sub2, sub1, 'a re-created identifier gets a new sub');
		assert.equal(jwtParts(second.tokens.id_token).payload['id4me.identifier'], ident);
		await assert.rejects(login(new Browser(), authzUrl(srv, conf), { identifier: ident, password: pw, redirectUri: CB }),
			/login rejected/, 'the old password does not carry over');
	});
});

// ======================================================================================= code lifetime

describe('code lifetime', () => {
	let srv;
	let client;
	let b;

	before(async () => {
		// code_ttl 2 s: long enough that an immediate redemption is never on the edge, short enough to wait out.
		srv = await startServer({ config: { code_ttl: 2 } });
		await srv.addIdentity(IDENT, PASSWORD);
		client = await registerClient(srv, {});
		b = new Browser();
	});

	after(async () => {
		await srv?.stop();
	});

	test('SEC4 code has >= 128 bits and expires', async () => {
		const codes = new Set();
		for (let i = 0; i < 5; i++) {
			const p = pkce();
			const { code } = await getCode(srv, b, client, { pkce: p });
			assert.match(code, /^[A-Za-z0-9_-]+$/, `code is base64url: ${code}`);
			assert.ok(code.length >= 22, `a code carries at least 128 bits (22 base64url characters): ${code}`);
			assert.ok(!codes.has(code), 'codes are unique');
			codes.add(code);
		}
		const p1 = pkce();
		const { code: fresh } = await getCode(srv, b, client, { pkce: p1 });
		const ok = await tokenReq(srv, client, { grant_type: 'authorization_code', code: fresh, redirect_uri: CB, code_verifier: p1.verifier });
		assert.equal(ok.status, 200, `control: a code redeemed at once: ${show(ok)}`);
		const p2 = pkce();
		const { code } = await getCode(srv, b, client, { pkce: p2 });
		await sleep(3100);
		const late = await tokenReq(srv, client, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p2.verifier });
		assert.equal(late.status, 400, `a code redeemed after its lifetime: ${show(late)}`);
		assert.equal(late.body.error, 'invalid_grant');
	});
});

// ================================================================================ SEC9: no enumeration

describe('login answers (argon2 at a realistic cost)', () => {
	let srv;
	let client;

	before(async () => {
		srv = await startServer({ config: { argon2_m_cost: 8192, argon2_t_cost: 2, login_max_failures: 1000 } });
		client = await registerClient(srv, {});
		await srv.addIdentity('active.example.com', PASSWORD);
		await srv.cli('identity', 'add', 'inactive.example.com'); // no password set
		await srv.addIdentity('disabled.example.com', PASSWORD);
		await srv.cli('identity', 'disable', 'disabled.example.com');
	});

	after(async () => {
		await srv?.stop();
	});

	/** normalise(html): the page without what legitimately differs per request: csrf, req and the identifier. */
	function normalise(html, identifier) {
		return html
			.replace(/(<input[^>]*name="(csrf|req)"[^>]*value=")[^"]*"/g, '$1"')
			.replace(/(<input[^>]*value=")[^"]*("[^>]*name="(csrf|req)")/g, '$1$2')
			.split(identifier).join('IDENTIFIER');
	}

	test('SEC9 unknown identifier, wrong password, inactive and disabled identity give the same page', async () => {
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, client));
		const cases = {
			'unknown identifier': ['unknown.example.com', PASSWORD],
			'wrong password': ['active.example.com', 'not the password'],
			'inactive identity': ['inactive.example.com', PASSWORD],
			'disabled identity (right password)': ['disabled.example.com', PASSWORD],
		};
		const answers = {};
		for (const [what, [identifier, password]] of Object.entries(cases)) {
			const page = await postForm(b, lf, { identifier, password });
			answers[what] = {
				status: page.status,
				type: page.headers.get('content-type'),
				location: page.headers.get('location'),
				body: normalise(page.body, identifier),
				cookies: page.setCookies.map((c) => c.replace(/=[^;]*/, '=')),
			};
		}
		const ref = answers['wrong password'];
		assert.equal(ref.status, 401, 'a wrong password is 401');
		assert.match(ref.body, /wrong/i, 'the page says the identifier or password is wrong');
		for (const [what, a] of Object.entries(answers)) {
			assert.deepEqual(a, ref, `${what} answers exactly like a wrong password`);
		}
		// Control: the right password of the active identity does log in (the comparison is not vacuous).
		const good = await postForm(b, lf, { identifier: 'active.example.com', password: PASSWORD });
		assert.equal(good.status, 303, describePage(good));
	});

	test('SEC9 timing: unknown identifier costs the same as a wrong password', async () => {
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, client));
		const time = async (identifier, password) => {
			const t0 = process.hrtime.bigint();
			const page = await postForm(b, lf, { identifier, password });
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			assert.equal(page.status, 401, describePage(page));
			return ms;
		};
		await time('warmup.example.com', 'x'); // TLS, caches
		const unknown = [];
		const wrong = [];
		const inactive = [];
		for (let i = 0; i < 5; i++) {
			unknown.push(await time(`nobody${i}.example.com`, 'guess password'));
			wrong.push(await time('active.example.com', `guess password ${i}`));
			inactive.push(await time('inactive.example.com', `guess password ${i}`));
		}
		const mu = median(unknown);
		const mw = median(wrong);
		const mi = median(inactive);
		const detail = `medians: unknown ${mu.toFixed(1)} ms, wrong password ${mw.toFixed(1)} ms, inactive ${mi.toFixed(1)} ms`;
		assert.ok(mu <= 3 * mw && mw <= 3 * mu, `unknown vs wrong password within a factor of 3: ${detail}`);
		assert.ok(mi <= 3 * mw && mw <= 3 * mi, `inactive vs wrong password within a factor of 3: ${detail}`);
	});
});

// ================================================================ SEC10, SEC11: sources behind a trusted proxy

describe('behind a trusted proxy (several sources)', () => {
	let srv;
	let client;
	const src = (ip) => ({ 'x-forwarded-for': `192.0.2.99, ${ip}` }); // the right-most entry is the client

	before(async () => {
		srv = await startServer({
			config: {
				trusted_proxies: '127.0.0.1', login_max_failures: 2, login_max_delay: 60, registration_per_hour: 3,
				max_clients_per_source: 1000,
			},
		});
		await srv.addIdentity(IDENT, PASSWORD);
		client = await registerClient(srv, {}, src('198.51.100.200'));
	});

	after(async () => {
		await srv?.stop();
	});

	test('SEC10 progressive delay after repeated failures (429 with Retry-After), other source unaffected', async () => {
		const A = src('198.51.100.1');
		const B = src('198.51.100.2');
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, client), A);
		const attempt = (headers, password, identifier = IDENT) => postForm(b, lf, { identifier, password }, { headers });
		// RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds (digits only).  A malformed value is
		// recorded and reported at the end, so that the delays themselves are still checked.
		const badRetryAfter = [];
		const retryAfter = (page) => {
			const v = page.headers.get('retry-after');
			if (!/^\d+$/.test(v ?? '')) badRetryAfter.push(v);
			const n = Number((String(v).match(/^\s*(\d+)/) || [])[1]);
			assert.ok(Number.isFinite(n), `Retry-After carries a number of seconds: ${v}`);
			return n;
		};
		/** failUntil429(headers): wrong passwords until the answer is 429; returns it. */
		const failUntil429 = async (headers, max) => {
			for (let i = 0; i < max; i++) {
				const page = await attempt(headers, `wrong ${i}`);
				if (page.status === 429) return page;
				assert.equal(page.status, 401, `a failed login: ${describePage(page)}`);
			}
			assert.fail(`no 429 after ${max} failures`);
		};
		// login_max_failures = 2: the third failure starts the delays (1 s, then 2 s, 4 s ...).
		const first = await failUntil429(A, 6);
		const r1 = retryAfter(first);
		assert.ok(r1 >= 1 && r1 <= 2, `first delay about 1 s: ${r1}`);
		assert.match(first.text, /Too many failed attempts/);
		assert.ok(findForm(first.body, '/login'), 'the 429 is the login page, not a dead end');
		// Progressive: wait the delay out, fail again: the next delay is longer.
		await sleep(r1 * 1000 + 150);
		const second = await failUntil429(A, 3);
		const r2 = retryAfter(second);
		await sleep(r2 * 1000 + 150);
		const third = await failUntil429(A, 3);
		const r3 = retryAfter(third);
		assert.ok(r3 > r1 && r3 >= 3, `the delay grows (1 s, 2 s, 4 s ...): ${r1}, ${r2}, ${r3}`);
		// During the delay (at least 2 s left) even the right password from A is refused.
		const blocked = await attempt(A, PASSWORD);
		assert.equal(blocked.status, 429, `right password from A during the delay: ${describePage(blocked)}`);
		assert.ok(!blocked.setCookies.some((c) => /sid=/.test(c)), 'no session during the delay');
		// The real user elsewhere is not locked out.
		const elsewhere = await attempt(B, PASSWORD);
		assert.equal(elsewhere.status, 303, `right password from another source: ${describePage(elsewhere)}`);
		assert.ok(elsewhere.location.searchParams.get('code'), 'logged in from B');

		// Per source: one failure each for many identifiers from C ends in 429, for an identifier C never tried
		// before, while D with a never-tried identifier is unaffected.
		const C = src('198.51.100.3');
		const D = src('198.51.100.4');
		let last;
		let tries = 0;
		for (; tries < 14; tries++) {
			last = await attempt(C, 'guess', `victim${tries}.example.com`);
			if (last.status === 429) break;
			assert.equal(last.status, 401, describePage(last));
		}
		assert.equal(last.status, 429, 'a source spraying many identifiers is slowed down');
		assert.ok(tries >= 8, `not before the per-source threshold (4 x login_max_failures): ${tries}`);
		const d = await attempt(D, 'guess', 'never-tried.example.com');
		assert.equal(d.status, 401, `another source: ${describePage(d)}`);
		assert.deepEqual(badRetryAfter, [], 'Retry-After must be delay-seconds, digits only (RFC 9110 §10.2.3)');
	});

	test('SEC11 registration limits: metadata size, redirect URI count, per-source rate (429)', async () => {
		const S = src('203.0.113.10');
		const uris = (n) => Array.from({ length: n }, (_, i) => `https://rp.example/cb${i}`);
		// Refused registrations do not count towards the rate.
		const tooBig = await registerRaw(srv, { redirect_uris: [CB], client_name: 'x', software_id: 'y'.repeat(17000) }, S);
		assert.equal(tooBig.status, 413, `metadata over 16 KiB: ${show(tooBig)}`);
		assert.equal(tooBig.body.error, 'invalid_client_metadata');
		const eleven = await registerRaw(srv, { redirect_uris: uris(11) }, S);
		assert.equal(eleven.status, 400, `11 redirect URIs: ${show(eleven)}`);
		assert.equal(eleven.body.error, 'invalid_redirect_uri');
		for (const [what, meta] of Object.entries({
			'client_name over 256 bytes': { redirect_uris: [CB], client_name: 'n'.repeat(257) },
			'11 contacts': { redirect_uris: [CB], contacts: Array.from({ length: 11 }, (_, i) => `a${i}@rp.example`) },
			'11 post_logout_redirect_uris': { redirect_uris: [CB], post_logout_redirect_uris: uris(11) },
			'redirect URI over 2048 bytes': { redirect_uris: [`https://rp.example/${'p'.repeat(2100)}`] },
			'client_name with a bidi override': { redirect_uris: [CB], client_name: 'evil\u202egnp.exe' },
		})) {
			const r = await registerRaw(srv, meta, S);
			assert.equal(r.status, 400, `${what}: ${show(r)}`);
		}
		const ten = await registerRaw(srv, { redirect_uris: uris(10) }, S);
		assert.equal(ten.status, 201, `10 redirect URIs: ${show(ten)}`);
		for (let i = 0; i < 2; i++) {
			const r = await registerRaw(srv, { redirect_uris: [CB] }, S);
			assert.equal(r.status, 201, `registration ${i + 2} of 3: ${show(r)}`);
		}
		const over = await registerRaw(srv, { redirect_uris: [CB] }, S);
		assert.equal(over.status, 429, `fourth registration in the hour: ${show(over)}`);
		assert.equal(over.body.error, 'temporarily_unavailable');
		assert.match(over.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After');
		assert.ok(Number(over.headers.get('retry-after')) > 0);
		assert.match(over.headers.get('cache-control') ?? '', /no-store/);
		// The spoofable left-most X-Forwarded-For entries do not help: only the proxy's own entry counts.
		const spoof = await registerRaw(srv, { redirect_uris: [CB] }, { 'x-forwarded-for': '10.9.9.9, 203.0.113.10' });
		assert.equal(spoof.status, 429, `a forged left-most entry: ${show(spoof)}`);
		// Another source is unaffected.
		const other = await registerRaw(srv, { redirect_uris: [CB] }, src('203.0.113.11'));
		assert.equal(other.status, 201, `another source: ${show(other)}`);
	});
});

// ================================================================================ SEC10: argon2 concurrency cap

describe('argon2 concurrency cap', () => {
	let srv;
	let client;

	before(async () => {
		srv = await startServer({
			config: {
				threads: 40, argon2_max_concurrent: 1, argon2_m_cost: 16384, argon2_t_cost: 12, login_max_failures: 1000,
			},
		});
		await srv.addIdentity(IDENT, PASSWORD);
		client = await registerClient(srv, {});
	});

	after(async () => {
		await srv?.stop();
	});

	test('SEC10 concurrent argon2 hashes capped', async (t) => {
		const b = new Browser();
		const lf = await loginForm(b, authzUrl(srv, client));
		const attempt = (identifier) => postForm(b, lf, { identifier, password: 'flood' });
		// One hash, alone: the unit of cost.
		const one = [];
		for (let i = 0; i < 3; i++) {
			const t0 = Date.now();
			const p = await attempt(`calib${i}.example.com`);
			one.push(Date.now() - t0);
			assert.equal(p.status, 401, describePage(p));
		}
		const h = Math.max(30, median(one));
		// A flood of logins arriving over a short time (15 ms apart, so that each lands on a worker of its own):
		// with one hash at a time, those that cannot start within the 2 s queue limit must get the busy page.
		// The flood is sized from the measured hash so that the work queued behind the cap (n x (h - gap)) exceeds
		// the 2 s limit by at least 3 s on any machine, fast or slow.  Without a cap all would hash at once
		// (n x argon2_m_cost of memory) and none would be busy.
		const gap = 15;
		const n = Math.min(160, Math.max(32, Math.ceil(5000 / Math.max(h - gap, 10))));
		const t0 = Date.now();
		const pending = [];
		for (let i = 0; i < n; i++) {
			pending.push(attempt(`flood${i}.example.com`).then((page) => ({ page }), (err) => ({ err })));
			await sleep(gap);
		}
		const results = await Promise.all(pending);
		const elapsed = Date.now() - t0;
		const errs = results.filter((r) => r.err);
		assert.equal(errs.length, 0, `every request is answered: ${errs.map((r) => r.err.message).join('; ')}`);
		for (const { page } of results) {
			assert.ok([401, 503].includes(page.status), `a refused login (401) or busy (503): ${describePage(page)}`);
			if (page.status === 503) {
				assert.match(page.text, /busy/i, 'the busy page says so');
				assert.ok(findForm(page.body, '/login'), 'the busy page keeps the login form');
			}
		}
		const statuses = results.map((r) => r.page.status);
		const busy = statuses.filter((s) => s === 503).length;
		const served = statuses.filter((s) => s === 401).length;
		const detail = `${n} logins ${gap} ms apart, one hash about ${h} ms, ${served} served, ${busy} busy, ${elapsed} ms in all`;
		t.diagnostic(detail);
		assert.ok(served >= 1, `some are served: ${detail}`);
		assert.ok(busy >= 1, `hashing is capped: the requests that wait more than 2 s get 503: ${detail}`);
		// The busy ones were answered after about 2 s of waiting, not left hanging.
		assert.ok(elapsed < n * gap + 2000 + 8 * h + 5000, `answered in bounded time: ${detail}`);
		// Still up, and the real user can log in once the flood is over.
		assert.ok(srv.running(), 'the server survived the flood');
		const res = await login(new Browser(), authzUrl(srv, client, { state: 'z' }), { identifier: IDENT, password: PASSWORD, redirectUri: CB });
		assert.ok(res.params.get('code'), 'a login after the flood');
	});
});

// ================================================================================= SEC13: key rotation

describe('key rotation', () => {
	let srv;
	let srvNow;

	before(async () => {
		[srv, srvNow] = await Promise.all([startServer(), startServer({ config: { key_activation_delay: 0 } })]);
		await Promise.all([srv.addIdentity(IDENT, PASSWORD), srvNow.addIdentity(IDENT, PASSWORD)]);
	});

	after(async () => {
		await Promise.all([srv?.stop(), srvNow?.stop()]);
	});

	async function jwks(s) {
		const r = await api(`${s.issuer}/jwks.json`);
		assert.equal(r.status, 200);
		return r.body.keys;
	}

	/** rotate(s): "anchorid keys rotate", then SIGHUP so that the running server reloads its key set now. */
	async function rotate(s) {
		const before = (await jwks(s)).length;
		await s.cli('keys', 'rotate');
		s.child.kill('SIGHUP');
		for (let i = 0; i < 50; i++) {
			const keys = await jwks(s);
			if (keys.length > before) return keys;
			await sleep(100);
		}
		assert.fail(`the JWKS did not grow after keys rotate and SIGHUP: ${JSON.stringify(await jwks(s))}`);
	}

	async function tokensOf(s, client, browser) {
		const p = pkce();
		const { code } = await getCode(s, browser, client, { pkce: p });
		const r = await tokenReq(s, client, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier });
		assert.equal(r.status, 200, show(r));
		return r.body;
	}

	test('SEC13 key rotation publishes the next key before use', async () => {
		const client = await registerClient(srv, {});
		const b = new Browser();
		const old = await jwks(srv);
		assert.equal(old.filter((k) => k.kty === 'RSA').length, 1, 'one RSA key before the rotation');
		const t1 = await tokensOf(srv, client, b);
		const oldIdKid = jwtParts(t1.id_token).header.kid;
		const oldAtKid = jwtParts(t1.access_token).header.kid;

		const keys = await rotate(srv);
		assert.equal(keys.filter((k) => k.kty === 'RSA').length, 2, `two RSA keys published: ${JSON.stringify(keys.map((k) => k.kid))}`);
		assert.equal(keys.filter((k) => k.kty === 'EC').length, 2, 'two EC keys published');
		for (const k of old) assert.ok(keys.some((x) => x.kid === k.kid), `old key ${k.kid} still published`);
		for (const k of keys) assert.ok(k.kid && k.alg && k.d === undefined, `kid, alg, no private part: ${k.kid}`);

		// The new keys are published but do not sign yet (key_activation_delay, 1 h by default).
		const t2 = await tokensOf(srv, client, b);
		assert.equal(jwtParts(t2.id_token).header.kid, oldIdKid, 'ID tokens still signed with the old RSA key');
		assert.equal(jwtParts(t2.access_token).header.kid, oldAtKid, 'access tokens still signed with the old EC key');
		assert.equal((await userinfo(srv, t1.access_token)).status, 200, 'tokens from before the rotation still work');
		const listed = await srv.cli('keys', 'list');
		assert.equal(listed.split('\n').filter((l) => /RS256|ES256/.test(l)).length, 4, `keys list: ${listed}`);

		// With no activation delay the new key signs at once, and the old one stays published for its tokens.
		const c2 = await registerClient(srvNow, {});
		const b2 = new Browser();
		const before = await tokensOf(srvNow, c2, b2);
		const beforeKid = jwtParts(before.id_token).header.kid;
		const keys2 = await rotate(srvNow);
		const after = await tokensOf(srvNow, c2, b2);
		const afterKid = jwtParts(after.id_token).header.kid;
		assert.notEqual(afterKid, beforeKid, 'the new key signs after activation');
		assert.ok(keys2.some((k) => k.kid === afterKid), 'the signing key was published');
		const keys3 = await jwks(srvNow);
		assert.ok(keys3.some((k) => k.kid === beforeKid), 'the retired key stays published while its tokens live');
		assert.equal((await userinfo(srvNow, before.access_token)).status, 200, 'an access token of the retired key still works');
		const rsa = keys3.find((k) => k.kid === beforeKid);
		await jose.compactVerify(before.id_token, await jose.importJWK(rsa, 'RS256'));
	});
});

// ==================================================================================== SEC17: nothing lost

describe('restart on the same database', () => {
	test('SEC17 code redemption is committed before the response', async () => {
		let srv = await startServer();
		try {
			await srv.addIdentity(IDENT, PASSWORD);
			const client = await registerClient(srv, { grant_types: ['authorization_code', 'refresh_token'] });
			const b = new Browser();
			const p = pkce();
			const { code } = await getCode(srv, b, client, { pkce: p });
			const params = { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier };
			const first = await tokenReq(srv, client, params);
			assert.equal(first.status, 200, show(first));

			srv = await restartServer(srv, { signal: 'SIGTERM' });
			const rt = await tokenReq(srv, client, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
			assert.equal(rt.status, 200, `the grant survived the restart: ${show(rt)}`);
			const replay = await tokenReq(srv, client, params);
			assert.equal(replay.status, 400, `the code is still consumed after the restart: ${show(replay)}`);
			assert.equal(replay.body.error, 'invalid_grant');
			const dead = await tokenReq(srv, client, { grant_type: 'refresh_token', refresh_token: rt.body.refresh_token });
			assert.equal(dead.status, 400, `the replay revoked the grant: ${show(dead)}`);
		} finally {
			await srv.stop();
		}
	});

	test('SEC17 a crash (SIGKILL) right after the responses loses nothing', async () => {
		let srv = await startServer();
		try {
			// Identity created and password set, client registered, session started, code redeemed: then a crash.
			await srv.addIdentity(IDENT, PASSWORD);
			const client = await registerClient(srv, { grant_types: ['authorization_code', 'refresh_token'] });
			const b = new Browser();
			const p = pkce();
			const { code } = await getCode(srv, b, client, { pkce: p });
			const params = { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier };
			const first = await tokenReq(srv, client, params);
			assert.equal(first.status, 200, show(first));

			srv = await restartServer(srv, { signal: 'SIGKILL' });
			assert.equal((await userinfo(srv, first.body.access_token)).status, 200, 'the access token survived');
			const sso = await b.get(authzUrl(srv, client, { prompt: 'none', code_challenge: pkce().challenge, code_challenge_method: 'S256' }));
			assert.equal(sso.status, 303, describePage(sso));
			assert.ok(sso.location.searchParams.get('code'), `the session survived: ${sso.location.href}`);
			const rt = await tokenReq(srv, client, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
			assert.equal(rt.status, 200, `the grant survived: ${show(rt)}`);
			const replay = await tokenReq(srv, client, params);
			assert.equal(replay.status, 400, `the code stayed consumed: ${show(replay)}`);
			const res = await login(new Browser(), authzUrl(srv, client, { state: 'k' }), { identifier: IDENT, password: PASSWORD, redirectUri: CB });
			assert.ok(res.params.get('code'), 'the password set before the crash still logs in');
		} finally {
			await srv.stop();
		}
	});
});
