// browser.test.mjs: a person in a real browser (Debian's headless Chromium driven by playwright-core).  The user
// opens the password-setup link, sets a password, then logs in at a relying party (a tiny Node server on a
// loopback port) through the authority's pages; the RP redeems the code.  TLS is checked by Chromium: the
// server's key is pinned with --ignore-certificate-errors-spki-list (Chromium does not read NODE_EXTRA_CA_CERTS),
// so a wrong certificate still fails.  Screenshots go to build/screenshots/.
//
// The per-claim consent page and the account page (drafts/claims.md §3, §6) are shown for an identity held by an
// identity agent; the agent here is only its configuration document (all the authority reads from it before a code
// is issued), served over https by this file, and the identity is attached to it in the database directly, so
// these pages need neither the DNS test bed nor the agent's provisioning (tests/e2e/claims.test.mjs does the whole
// federation).  Pages are shot in the light and the dark colour scheme.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { startServer, freePort, ROOT } from './lib/server.mjs';
import { discover, register, redeem, verifyIdToken, pkce, random, authorizeUrl } from './lib/rp.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'build/screenshots');
const IDENTIFIER = 'dave.example.net';
const PASSWORD = 'a long browser password';

let srv;
let browser;
let rp;
let agentConf;

/** spkiHash(pem): base64 SHA-256 of the first certificate's SubjectPublicKeyInfo (Chromium's pin format). */
function spkiHash(pem) {
	const cert = new crypto.X509Certificate(pem);
	return crypto.createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** startRp(): the relying party's redirect target; records every request and shows its query or form body. */
async function startRp() {
	const port = await freePort();
	const hits = [];
	const server = http.createServer(async (req, res) => {
		const u = new URL(req.url, `http://127.0.0.1:${port}`);
		let body = '';
		for await (const d of req) body += d;
		const params = req.method === 'POST' ? new URLSearchParams(body) : u.searchParams;
		hits.push({ method: req.method, url: u, params, headers: req.headers });
		if (u.pathname === '/start') {
			// A page of the RP with a link to the authority: the navigation a person makes (cross-site).
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
			res.end(`<!doctype html><title>RP</title><a id="go" href="${(u.searchParams.get('to') ?? '').replace(/[<&"]/g, (c) => `&#${c.charCodeAt(0)};`)}">Log in with ID4me</a>`);
			return;
		}
		const rows = [...params].map(([k, v]) =>
			`<tr><th>${k.replace(/[<&]/g, '')}</th><td id="${k.replace(/\W/g, '')}">${v.replace(/[<&]/g, (c) => `&#${c.charCodeAt(0)};`)}</td></tr>`);
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(`<!doctype html><title>RP callback</title><h1>Relying party callback</h1><table>${rows.join('')}</table>`);
	});
	await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
	return { port, hits, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The claims the agent of these tests can deliver (its claims_supported). */
const AGENT_CLAIMS = ['email', 'email_verified', 'given_name', 'family_name', 'name'];

/** startAgentConfig(certs, claims): an identity agent's configuration document (drafts/claims.md §2), over https with
 * the e2e certificate, listing ${claims}. */
async function startAgentConfig(certs, claims) {
	const server = https.createServer({
		key: fs.readFileSync(path.join(certs, 'server.key')), cert: fs.readFileSync(path.join(certs, 'server.pem')),
	}, (req, res) => {
		if (req.url !== '/.well-known/openid-configuration') { res.writeHead(404); res.end(); return; }
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify({
			issuer, userinfo_endpoint: `${issuer}/userinfo`, jwks_uri: `${issuer}/jwks.json`, claims_supported: claims,
		}));
	});
	const port = await freePort();
	const issuer = `https://localhost:${port}`;
	await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
	return { issuer, close: () => new Promise((r) => server.close(r)) };
}

/** heldByAgent(identifier, name): register the agent ${name} (agentConf's issuer) once and make it the holder of
 * ${identifier}, as provisioning would have. */
async function heldByAgent(identifier, name) {
	const jwkFile = path.join(srv.dir, `${name}.jwk`);
	if (!fs.existsSync(jwkFile)) {
		const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
		fs.writeFileSync(jwkFile, JSON.stringify(publicKey.export({ format: 'jwk' })));
		await srv.cli('agent', 'add', name, '--issuer', agentConf.issuer, '--jwk', jwkFile);
	}
	const q = `UPDATE identities SET agent_id = (SELECT id FROM agents WHERE name = '${name}') WHERE identifier = '${identifier}';`;
	execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(srv.dir, 'anchorid.db'), q]);
}

/** shoot(page, name): screenshots ${name}.png (light) and ${name}-dark.png. */
async function shoot(page, name) {
	await page.emulateMedia({ colorScheme: 'light' });
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: path.join(SHOTS, `${name}-dark.png`), fullPage: true });
	await page.emulateMedia({ colorScheme: 'light' });
}

/** click(page, locator): click and wait for the next document to load. */
async function click(page, locator) {
	await Promise.all([page.waitForEvent('load', { timeout: 30000 }), locator.click()]);
}

function assertPageHeaders(headers, what) {
	const csp = headers['content-security-policy'] ?? '';
	assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors 'none' (got ${csp})`);
	assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/, `${what}: CSP allows no inline script`);
	assert.equal((headers['x-frame-options'] ?? '').toUpperCase(), 'DENY', `${what}: X-Frame-Options`);
	assert.equal(headers['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
	assert.equal(headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
	assert.match(headers['strict-transport-security'] ?? '', /max-age=\d+/, `${what}: HSTS`);
}

before(async () => {
	fs.mkdirSync(SHOTS, { recursive: true });
	srv = await startServer({ config: { outbound_allow_private: true, outbound_ca_file: path.join(process.env.E2E_CERTS ?? path.join(ROOT, 'build/e2e-certs'), 'dev-ca.pem') } });
	rp = await startRp();
	agentConf = await startAgentConfig(srv.certs, AGENT_CLAIMS);
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			`--ignore-certificate-errors-spki-list=${spkiHash(fs.readFileSync(path.join(srv.certs, 'server.pem'), 'utf8'))}`],
	});
});

after(async () => {
	try {
		await browser?.close();
	} finally {
		try { await rp?.close(); await agentConf?.close(); } finally { await srv?.stop(); }
	}
});

test('Chromium: set the password from the setup link, log in at a relying party, then SSO at a second one', async (t) => {
	const context = await browser.newContext({ ignoreHTTPSErrors: false, viewport: { width: 900, height: 700 } });
	const problems = [];
	const page = await context.newPage();
	page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
	page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
	page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
	try {
		// 1. Setup link -> form -> done page.
		const setupUrl = srv.setupUrl(await srv.cli('identity', 'add', IDENTIFIER));
		const setupResp = await page.goto(setupUrl.href);
		assert.equal(setupResp.status(), 200);
		assertPageHeaders(setupResp.headers(), 'setup page');
		assert.equal(await page.locator('input[name=password]').getAttribute('type'), 'password');
		assert.equal(await page.locator('input[name=password2]').getAttribute('type'), 'password');
		await page.screenshot({ path: path.join(SHOTS, 'setup.png'), fullPage: true });
		// The username field for password managers is there but not shown; the only visible fields are the two
		// password fields.
		const visible = await page.locator('form input:visible').evaluateAll((els) => els.map((e) => `${e.type}:${e.name}`));
		assert.deepEqual(visible, ['password:password', 'password:password2'], 'visible inputs of the setup form');
		await page.fill('input[name=password]', PASSWORD);
		await page.fill('input[name=password2]', PASSWORD);
		await click(page, page.locator('form [type=submit]').first());
		assert.equal(await page.locator('input[name=password2]').count(), 0, `setup done page: ${await page.innerText('body')}`);
		await page.screenshot({ path: path.join(SHOTS, 'setup-done.png'), fullPage: true });
		t.diagnostic(`setup done page: ${(await page.innerText('body')).replace(/\s+/g, ' ').slice(0, 200)}`);

		// The setup link is one-time: a second visit shows no password form.
		const again = await page.goto(setupUrl.href);
		assert.ok(again.status() >= 400 || (await page.locator('input[name=password2]').count()) === 0,
			'a used setup link no longer offers the form');
		problems.length = 0; // the used link may legitimately answer 4xx

		// 2. A relying party sends the user to the authority.
		const meta = await discover(srv.issuer);
		const redirectUri = `${rp.url}/cb`;
		const client = await register(meta, {
			client_name: 'Browser test RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic',
		});
		const p = pkce();
		const state = random();
		const nonce = random();
		const authz = authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid',
			state, nonce, code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: IDENTIFIER,
		});
		const loginResp = await page.goto(authz.href);
		assert.equal(loginResp.status(), 200);
		assertPageHeaders(loginResp.headers(), 'login page');
		const idField = page.locator('input[name=identifier]');
		assert.equal(await idField.inputValue(), IDENTIFIER, 'identifier pre-filled from login_hint');
		assert.equal(await page.locator('input[name=password]').getAttribute('type'), 'password');
		await page.screenshot({ path: path.join(SHOTS, 'login.png'), fullPage: true });

		// A wrong password shows the login page again, with a message and without a redirect.
		await page.fill('input[name=password]', 'not the password at all');
		await click(page, page.locator('form[action$="/login"] [type=submit]').first());
		assert.ok(!page.url().startsWith(rp.url), 'a wrong password never reaches the RP');
		assert.equal(await page.locator('input[name=password]').count(), 1, 'login form shown again');
		await page.screenshot({ path: path.join(SHOTS, 'login-failed.png'), fullPage: true });
		problems.length = 0; // a failed login may answer 401/403

		await page.fill('input[name=identifier]', IDENTIFIER);
		await page.fill('input[name=password]', PASSWORD);
		await click(page, page.locator('form[action$="/login"] [type=submit]').first());
		if (!page.url().startsWith(rp.url)) {
			const allow = page.locator('form[action$="/consent"] [name=decision][value=allow]');
			assert.equal(await allow.count(), 1, `after login: neither the RP nor a consent page: ${page.url()}\n${await page.innerText('body')}`);
			await page.screenshot({ path: path.join(SHOTS, 'consent.png'), fullPage: true });
			await click(page, allow);
		}
		assert.ok(page.url().startsWith(`${redirectUri}?`), `landed on ${page.url()}`);
		await page.screenshot({ path: path.join(SHOTS, 'rp-callback.png'), fullPage: true });
		const cb = new URL(page.url());
		assert.equal(cb.searchParams.get('state'), state);
		assert.equal(cb.searchParams.get('iss'), srv.issuer);
		assert.equal(await page.locator('#code').innerText(), cb.searchParams.get('code'), 'the RP saw the code');

		// 3. The RP redeems the code.
		const tokens = await redeem(meta, client, { code: cb.searchParams.get('code'), redirectUri, verifier: p.verifier });
		const { payload } = await verifyIdToken(meta, tokens.id_token, { audience: client.client_id, nonce });
		assert.equal(payload['id4me.identifier'], IDENTIFIER);
		assert.deepEqual(payload.amr, ['pwd']);

		// 4. The authority's cookies are HttpOnly, Secure and SameSite.
		const cookies = await context.cookies(srv.issuer);
		assert.ok(cookies.length >= 1, 'the authority set cookies');
		for (const c of cookies) {
			assert.ok(c.httpOnly, `cookie ${c.name} HttpOnly`);
			assert.ok(c.secure, `cookie ${c.name} Secure`);
			assert.ok(c.sameSite === 'Lax' || c.sameSite === 'Strict', `cookie ${c.name} SameSite (${c.sameSite})`);
		}

		// 5. Single sign-on at a second RP, reached the way a person does: a link on the RP's page (a cross-site
		// navigation, so the session cookie must be SameSite=Lax, not Strict, for this to work).
		const redirect2 = `${rp.url}/cb2`;
		const client2 = await register(meta, {
			client_name: 'Second browser RP', redirect_uris: [redirect2], token_endpoint_auth_method: 'client_secret_basic',
		});
		const p2 = pkce();
		const state2 = random();
		const authz2 = authorizeUrl(meta, {
			response_type: 'code', client_id: client2.client_id, redirect_uri: redirect2, scope: 'openid',
			state: state2, code_challenge: p2.challenge, code_challenge_method: 'S256', login_hint: IDENTIFIER,
		});
		await page.goto(`${rp.url}/start?to=${encodeURIComponent(authz2.href)}`);
		await click(page, page.locator('#go'));
		assert.equal(await page.locator('input[name=password]').count(), 0,
			`SSO after a cross-site link: no password asked (at ${page.url()})`);
		if (!page.url().startsWith(redirect2)) {
			const allow = page.locator('form[action$="/consent"] [name=decision][value=allow]');
			assert.equal(await allow.count(), 1, `neither the RP nor a consent page: ${page.url()}`);
			await click(page, allow);
		}
		assert.ok(page.url().startsWith(`${redirect2}?`), `landed on ${page.url()}`);
		const cb2 = new URL(page.url());
		assert.equal(cb2.searchParams.get('state'), state2);
		const tokens2 = await redeem(meta, client2, { code: cb2.searchParams.get('code'), redirectUri: redirect2, verifier: p2.verifier });
		const { payload: payload2 } = await verifyIdToken(meta, tokens2.id_token, { audience: client2.client_id });
		assert.equal(payload2.sub, payload.sub);
		assert.equal(payload2.auth_time, payload.auth_time);

		assert.deepEqual(problems, [], 'no console errors (e.g. CSP violations), failed requests or HTTP errors');
	} finally {
		await context.close();
	}
});

test('Chromium refuses the authority when the pinned key does not match (TLS is really checked)', async () => {
	const other = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			`--ignore-certificate-errors-spki-list=${crypto.createHash('sha256').update('not the key').digest('base64')}`],
	});
	try {
		const page = await other.newPage();
		await assert.rejects(page.goto(`${srv.issuer}/.well-known/openid-configuration`), /ERR_CERT/);
	} finally {
		await other.close();
	}
});

test('Chromium: response_mode=form_post posts the code to the RP with the autosubmit script (CSP allows it)', async () => {
	const identifier = 'erin.example.net';
	await srv.addIdentity(identifier, PASSWORD);
	const meta = await discover(srv.issuer);
	const redirectUri = `${rp.url}/form-post-cb`;
	const client = await register(meta, {
		client_name: 'Browser form_post RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic',
	});
	const context = await browser.newContext();
	const problems = [];
	const page = await context.newPage();
	page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
	page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
	try {
		const p = pkce();
		const state = random();
		await page.goto(authorizeUrl(meta, {
			response_type: 'code', response_mode: 'form_post', client_id: client.client_id, redirect_uri: redirectUri,
			scope: 'openid', state, code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: identifier,
		}).href);
		await page.fill('input[name=password]', PASSWORD);
		// The login POST answers with the form_post page, whose script submits it to the RP at once.
		await Promise.all([
			page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 30000 }),
			page.locator('form[action$="/login"] [type=submit]').first().click(),
		]);
		if (!page.url().startsWith(redirectUri)) {
			const allow = page.locator('form[action$="/consent"] [name=decision][value=allow]');
			await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), allow.click()]);
		}
		await page.waitForLoadState('load');
		const hit = rp.hits.filter((h) => h.url.pathname === '/form-post-cb').at(-1);
		assert.ok(hit, 'the RP was reached');
		assert.equal(hit.method, 'POST', 'form_post delivers by POST');
		assert.equal(hit.params.get('state'), state);
		assert.equal(hit.params.get('iss'), srv.issuer);
		assert.equal(new URL(page.url()).search, '', 'nothing in the query');
		const tokens = await redeem(meta, client, { code: hit.params.get('code'), redirectUri, verifier: p.verifier });
		const { payload } = await verifyIdToken(meta, tokens.id_token, { audience: client.client_id });
		assert.equal(payload['id4me.identifier'], identifier);
		assert.deepEqual(problems, [], 'no CSP violations or errors');
	} finally {
		await context.close();
	}
});

test('Chromium: per-claim consent (essential, reason, unavailable claims), then the account page: revoke a claim, ' +
	'end the session, log in again there', async () => {
	const identifier = 'frank.example.net';
	await srv.addIdentity(identifier, PASSWORD);
	await heldByAgent(identifier, 'screenshot-agent');
	const meta = await discover(srv.issuer);
	const redirectUri = `${rp.url}/shop-cb`;
	const client = await register(meta, {
		client_name: 'Example Shop <b>&</b>', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic',
	});
	const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
	const problems = [];
	const page = await context.newPage();
	page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
	page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
	try {
		// 1. scope email + the claims parameter: email essential with a reason, given_name, phone_number (which
		// the agent does not offer).
		const p = pkce();
		const state = random();
		const claims = {
			userinfo: { email: { essential: true, reason: 'To send your receipts <script>alert(1)</script>' }, given_name: null },
			id_token: { phone_number: null },
		};
		await page.goto(authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid email', state,
			code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: identifier, claims: JSON.stringify(claims),
		}).href);
		await page.fill('input[name=password]', PASSWORD);
		await click(page, page.locator('form[action$="/login"] [type=submit]').first());
		const form = page.locator('form[action$="/consent"]');
		assert.equal(await form.count(), 1, `a consent page: ${page.url()}\n${await page.innerText('body')}`);
		assert.equal(await page.locator('h1.client').innerText(), 'Example Shop <b>&</b>', 'client_name, escaped');
		assert.equal(await page.locator('p.host').innerText(), new URL(rp.url).host, 'the redirect host');
		const boxes = await page.locator('input[type=checkbox][name=claim]').evaluateAll((els) =>
			els.map((e) => ({ claim: e.value, checked: e.checked, label: e.labels[0]?.innerText ?? '' })));
		assert.deepEqual(boxes.map((b) => b.claim), ['email', 'email_verified', 'given_name'], 'one box per deliverable claim');
		assert.deepEqual(boxes.map((b) => b.checked), [true, false, false], 'the essential claim is pre-checked');
		assert.match(boxes[0].label, /required by the website/);
		assert.match(await page.locator('.claim .reason').first().innerText(), /To send your receipts <script>alert\(1\)<\/script>/);
		assert.equal(await page.locator('script').count(), 0, 'the reason is text, not markup');
		assert.match(await page.locator('.unavailable').innerText(), /Telephone number|phone_number/);
		assert.match(await page.locator('form [name=decision][value=allow]').innerText(), /Allow selected/);
		await shoot(page, 'consent-claims');

		// 2. Allow with given_name added: the code carries the checked claims, and nothing else: boxes added to the
		// form for a claim not requested (family_name, which the agent offers) or not deliverable (phone_number)
		// are ignored.
		await page.locator('input[name=claim][value=given_name]').check();
		await page.locator('form[action$="/consent"]').evaluate((f) => {
			for (const v of ['family_name', 'phone_number']) {
				const i = document.createElement('input');
				Object.assign(i, { type: 'hidden', name: 'claim', value: v });
				f.append(i);
			}
		});
		await click(page, page.locator('form [name=decision][value=allow]'));
		assert.ok(page.url().startsWith(`${redirectUri}?`), `landed on ${page.url()}`);
		const cb = new URL(page.url());
		assert.equal(cb.searchParams.get('state'), state);
		const tokens = await redeem(meta, client, { code: cb.searchParams.get('code'), redirectUri, verifier: p.verifier });
		const at = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
		assert.deepEqual(at.clm, ['email', 'given_name'], 'clm: the checked claims, in the order of the request');

		// 3. The account page lists the decisions and the session.
		const acc = await page.goto(`${srv.issuer}/account`);
		assert.equal(acc.status(), 200);
		assertPageHeaders(acc.headers(), 'account page');
		const rpBox = page.locator('section.rp').filter({ hasText: 'Example Shop <b>&</b>' });
		assert.equal(await rpBox.count(), 1, `the shop is listed: ${await page.innerText('body')}`);
		assert.equal(await rpBox.locator('button[name=revoke]').count(), 2, 'a Revoke button per granted claim');
		assert.match(await rpBox.innerText(), /not shared/, 'the refused claim is listed as such');
		assert.equal(await page.locator('ul.sessions li').count(), 1);
		assert.match(await page.locator('ul.sessions li').innerText(), /this session/);
		await shoot(page, 'account');

		// 4. Revoke e-mail: a notice, and no Revoke button for it any more.
		await click(page, rpBox.locator('button[name=revoke][value=email]'));
		assert.equal(new URL(page.url()).pathname, '/account');
		assert.match(await page.locator('.notice').innerText(), /Revoked/);
		assert.equal(await rpBox.locator('button[name=revoke]').count(), 1);
		await shoot(page, 'account-revoked');

		// 5. prompt=consent without claims: the simple page, Allow and Deny.
		await page.goto(authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid', prompt: 'consent',
			state: 'simple', code_challenge: p.challenge, code_challenge_method: 'S256',
		}).href);
		assert.equal(await page.locator('input[type=checkbox]').count(), 0, 'no claims, no boxes');
		assert.equal(await page.locator('form [name=decision][value=allow]').innerText(), 'Allow');
		await shoot(page, 'consent-simple');
		await click(page, page.locator('form [name=decision][value=allow]'));
		assert.ok(new URL(page.url()).searchParams.get('code'), `a code: ${page.url()}`);

		// 6. A client without a name asks with prompt=consent: the page says so; Deny goes back as access_denied.
		const anon = await register(meta, { redirect_uris: [`${rp.url}/anon-cb`], token_endpoint_auth_method: 'client_secret_basic' });
		await page.goto(authorizeUrl(meta, {
			response_type: 'code', client_id: anon.client_id, redirect_uri: `${rp.url}/anon-cb`, scope: 'openid profile',
			prompt: 'consent', state: 'anon', code_challenge: p.challenge, code_challenge_method: 'S256',
		}).href);
		assert.equal(await page.locator('h1.client').innerText(), 'A website that did not give its name');
		await shoot(page, 'consent-unnamed');
		await click(page, page.locator('form [name=decision][value=deny]'));
		assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');

		// 7. End this session on the account page: the account login form, which comes back to the account page.
		await page.goto(`${srv.issuer}/account`);
		await click(page, page.locator('ul.sessions button[name=end]'));
		assert.equal(await page.locator('input[name=password]').count(), 1, `logged out: ${await page.innerText('body')}`);
		assert.match(await page.locator('.notice').innerText(), /logged out/);
		await shoot(page, 'account-login');
		await page.fill('input[name=identifier]', identifier);
		await page.fill('input[name=password]', PASSWORD);
		await click(page, page.locator('form[action$="/login"] [type=submit]').first());
		assert.equal(new URL(page.url()).pathname, '/account', 'back to the account page');
		assert.match(await page.innerText('body'), /Example Shop/);
		assert.deepEqual(problems, [], 'no console errors (e.g. CSP violations), failed requests or HTTP errors');
	} finally {
		await context.close();
	}
});
