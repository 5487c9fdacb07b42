// protocol.test.mjs: protocol rules not covered elsewhere, each named after its rule: max_age forcing
// re-authentication (OIDC Core §3.1.2.1), prompt=none with a live session, RFC 7592 update and delete, the
// registration 200 quirk of ID4ME.md, and the findings of the code review (each kept as a rule with its test).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { completeSetup, restartServer, startServer } from './lib/server.mjs';
import { Browser, findForm } from './lib/browser.mjs';
import {
	authorizeUrl, callbackCode, discover, login, random, redeem, register, registerRaw, tokenRequest, verifyIdToken,
} from './lib/rp.mjs';

const IDENT = 'maxage.example.org';
const PASSWORD = 'correct horse battery';
const REDIRECT = 'https://rp.example/cb';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('authorization rules', () => {
	let srv;
	let meta;
	let client;

	before(async () => {
		srv = await startServer();
		await srv.addIdentity(IDENT, PASSWORD);
		meta = await discover(srv.issuer);
		client = await register(meta, { redirect_uris: [REDIRECT], client_name: 'protocol RP' });
	});
	after(async () => { await srv?.stop(); });

	const url = (extra) => authorizeUrl(meta, {
		response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state: random(),
		...extra,
	});

	test('OIDC max_age: a session older than max_age asks for the password again; a younger one does not', async () => {
		const b = new Browser();
		const first = await login(b, url({ login_hint: IDENT }), { password: PASSWORD, redirectUri: REDIRECT });
		assert.ok(first.sawLogin, 'the first login asks for the password');
		await sleep(2100);
		// Young enough: no page at all, straight back with a code whose ID token keeps the first auth_time.
		const fresh = await login(b, url({ max_age: '600' }), { redirectUri: REDIRECT });
		assert.equal(fresh.sawLogin, false, 'max_age=600 reuses the session');
		const tokens = await redeem(meta, client, { code: callbackCode(fresh, {}), redirectUri: REDIRECT });
		const { payload } = await verifyIdToken(meta, tokens.id_token, { audience: client.client_id });
		assert.ok(Math.floor(Date.now() / 1000) - payload.auth_time >= 2, 'auth_time is the first login');
		// Too old: the login page again, and the new ID token's auth_time is new.
		const again = await login(b, url({ max_age: '1' }), { password: PASSWORD, redirectUri: REDIRECT });
		assert.ok(again.sawLogin, 'max_age=1 after 2 s forces the password');
		const t2 = await redeem(meta, client, { code: callbackCode(again, {}), redirectUri: REDIRECT });
		const { payload: p2 } = await verifyIdToken(meta, t2.id_token, { audience: client.client_id });
		assert.ok(p2.auth_time > payload.auth_time, 'a new auth_time after re-authentication');
	});

	test('OIDC prompt=none: with a live session the code comes back without any page', async () => {
		const b = new Browser();
		await login(b, url({ login_hint: IDENT }), { password: PASSWORD, redirectUri: REDIRECT });
		const state = random();
		const r = await login(b, url({ prompt: 'none', state }), { redirectUri: REDIRECT });
		assert.equal(r.sawLogin, false);
		assert.equal(r.pages.length, 1, 'one redirect, no page');
		callbackCode(r, { state, issuer: srv.issuer });
		// prompt=none with max_age=0 cannot be satisfied silently.
		const r2 = await login(b, url({ prompt: 'none', max_age: '0' }), { redirectUri: REDIRECT });
		assert.equal(r2.params.get('error'), 'login_required');
		assert.equal(r2.params.get('iss'), srv.issuer);
	});

	test('RFC 6749 §5.2: a grant type the client did not register is unauthorized_client; an unknown one unsupported_grant_type', async () => {
		// ${client} registered authorization_code only.
		const r = await tokenRequest(meta, client, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) });
		assert.equal(r.status, 400);
		assert.equal(r.body.error, 'unauthorized_client');
		const u = await tokenRequest(meta, client, { grant_type: 'client_credentials' });
		assert.equal(u.status, 400);
		assert.equal(u.body.error, 'unsupported_grant_type');
	});

	test('OIDC login_hint: a hint naming another identifier than the session asks for the password', async () => {
		const b = new Browser();
		await login(b, url({ login_hint: IDENT }), { password: PASSWORD, redirectUri: REDIRECT });
		const page = (await b.follow(url({ login_hint: 'someone-else.example.org' }), {})).page;
		const form = findForm(page.body, '/login', page.url.href);
		assert.ok(form, 'the login page is shown');
		assert.equal(form.fields.find(([n]) => n === 'identifier')?.[1], 'someone-else.example.org');
	});
});

describe('registration management (RFC 7592)', () => {
	let srv;
	let meta;

	before(async () => {
		srv = await startServer({ config: { registration_200: 'yes' } });
		meta = await discover(srv.issuer);
	});
	after(async () => { await srv?.stop(); });

	test('ID4ME quirk registration_200: registration answers 200 when configured', async () => {
		const r = await registerRaw(meta, { redirect_uris: [REDIRECT] });
		assert.equal(r.status, 200);
		assert.equal(typeof r.body.client_secret, 'string');
		assert.equal(r.body.client_secret_expires_at, 0);
	});

	test('RFC 7592: update replaces the metadata, delete removes the client, a wrong token is refused', async () => {
		const c = (await registerRaw(meta, { redirect_uris: [REDIRECT], client_name: 'before' })).body;
		const auth = { authorization: `Bearer ${c.registration_access_token}` };
		const wrong = await fetch(c.registration_client_uri, { headers: { authorization: 'Bearer x'.padEnd(45, 'x') } });
		assert.equal(wrong.status, 401);
		assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer/);

		const put = await fetch(c.registration_client_uri, {
			method: 'PUT',
			headers: { ...auth, 'content-type': 'application/json' },
			body: JSON.stringify({ client_id: c.client_id, redirect_uris: ['https://rp.example/other'], client_name: 'after' }),
		});
		const updated = await put.json();
		assert.equal(put.status, 200, JSON.stringify(updated));
		assert.equal(updated.client_name, 'after');
		assert.deepEqual(updated.redirect_uris, ['https://rp.example/other']);
		// The old redirect URI is gone: the authorization endpoint refuses it with a page, never a redirect.
		const b = new Browser();
		const old = (await b.follow(authorizeUrl(meta, {
			response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope: 'openid',
		}), {})).page;
		assert.equal(old.status, 400);
		assert.equal(old.headers.get('location'), null);

		const del = await fetch(c.registration_client_uri, { method: 'DELETE', headers: auth });
		assert.equal(del.status, 204);
		const gone = await fetch(c.registration_client_uri, { headers: auth });
		assert.equal(gone.status, 401, 'a deleted client cannot be read');
		const page = (await b.follow(authorizeUrl(meta, {
			response_type: 'code', client_id: c.client_id, redirect_uri: 'https://rp.example/other', scope: 'openid',
		}), {})).page;
		assert.equal(page.status, 400, 'a deleted client is unknown at the authorization endpoint');
		assert.match(page.body, /not registered/);
	});
});

// Findings of the code review, each kept as a rule with its test.
describe('review findings', () => {
	let srv;
	let meta;
	let client;
	const IDR = 'review.example.org';

	before(async () => {
		srv = await startServer({ config: { trusted_proxies: '127.0.0.1', login_max_failures: 2, login_max_delay: 60 } });
		await srv.addIdentity(IDR, PASSWORD);
		meta = await discover(srv.issuer);
		client = await register(meta, {
			redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
			post_logout_redirect_uris: ['https://rp.example/bye'], client_name: 'review RP',
		});
	});
	after(async () => { await srv?.stop(); });

	const flow = async (b = new Browser()) => {
		const state = random();
		const r = await login(b, authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state,
			login_hint: IDR,
		}), { password: PASSWORD, redirectUri: REDIRECT });
		return { b, tokens: await redeem(meta, client, { code: callbackCode(r, { state }), redirectUri: REDIRECT }) };
	};
	const refresh = (rt, extra = {}) => tokenRequest(meta, client, { grant_type: 'refresh_token', refresh_token: rt, ...extra });

	test('RFC 6749 §6: a refresh asking for a wider scope is refused and the refresh token stays valid', async () => {
		const { tokens } = await flow();
		const wide = await refresh(tokens.refresh_token, { scope: 'openid profile' });
		assert.equal(wide.status, 400);
		assert.equal(wide.body.error, 'invalid_scope');
		const ok = await refresh(tokens.refresh_token);
		assert.equal(ok.status, 200, JSON.stringify(ok.body));
	});

	test('RFC 6749 §3.2: a repeated token parameter is invalid_request', async () => {
		const { tokens } = await flow();
		const body = new URLSearchParams([['grant_type', 'refresh_token'], ['refresh_token', tokens.refresh_token],
			['refresh_token', tokens.refresh_token]]);
		const auth = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
		const res = await fetch(meta.token_endpoint, {
			method: 'POST', body, headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
		});
		assert.equal(res.status, 400);
		assert.equal((await res.json()).error, 'invalid_request');
	});

	test('a new password (setup URL) revokes the refresh and access tokens the old one opened', async () => {
		const { tokens } = await flow();
		const url = (await srv.cli('identity', 'setup-url', IDR)).split('\n').find((l) => l.startsWith(srv.issuer));
		await completeSetup(url, PASSWORD);
		assert.equal((await refresh(tokens.refresh_token)).status, 400);
		const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
		assert.equal(ui.status, 401);
	});

	test('RP-Initiated Logout §2: post_logout_redirect_uri needs an id_token_hint naming the client; client_id alone is no open redirect', async () => {
		const { b, tokens } = await flow();
		const logout = async (params) => {
			const page = (await b.follow(`${meta.end_session_endpoint}?${new URLSearchParams(params)}`, {})).page;
			const form = findForm(page.body, '/logout', page.url.href);
			assert.ok(form, 'a confirmation page');
			return b.submit(page, form);
		};
		// client_id alone: the user is logged out but not sent anywhere.
		const alone = await logout({ client_id: client.client_id, post_logout_redirect_uri: 'https://rp.example/bye', state: 's' });
		assert.equal(alone.status, 200);
		assert.equal(alone.headers.get('location'), null);
		// A hint whose audience is another client than client_id: the same.
		await flow(b);
		const mismatch = await logout({ id_token_hint: tokens.id_token, client_id: 'other', post_logout_redirect_uri: 'https://rp.example/bye' });
		assert.equal(mismatch.headers.get('location'), null);
		// The hint of this client: back to its registered address, with state.
		await flow(b);
		const ok = await logout({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://rp.example/bye', state: 'st8' });
		assert.equal(ok.status, 303);
		assert.equal(ok.headers.get('location'), 'https://rp.example/bye?state=st8');
	});

	test('a POST to the authorization endpoint continues as a GET, so the session cookie (SameSite=Lax) is used', async () => {
		const { b } = await flow();
		const state = random();
		const posted = await b.post(meta.authorization_endpoint, {
			response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state,
		});
		assert.equal(posted.status, 303);
		assert.match(posted.headers.get('location'), /^\/authorize\?/);
		const r = await login(b, new URL(posted.headers.get('location'), meta.issuer), { redirectUri: REDIRECT });
		assert.equal(r.sawLogin, false, 'the session is used');
		callbackCode(r, { state });
	});

	test('SEC10 IPv6: the delays count per /64, so rotating addresses within it does not help', async () => {
		const b = new Browser();
		const page = (await b.follow(authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid',
		}), {})).page;
		const lf = findForm(page.body, '/login', page.url.href);
		let last;
		for (let i = 1; i <= 4; i++) {
			const headers = { 'x-forwarded-for': `2001:db8:1:2::${i}` };
			last = await b.post(new URL(lf.action, page.url), [...lf.fields.filter(([n]) => n !== 'identifier' && n !== 'password'),
				['identifier', IDR], ['password', `wrong ${i}`]], { headers, origin: page.url.origin });
		}
		assert.equal(last.status, 429, 'four addresses of one /64 share their failures');
	});
});

test('SEC9 password hashes follow the configured argon2 cost: a login under a new cost rehashes', async () => {
	let srv = await startServer();
	try {
		const ident = 'rehash.example.org';
		await srv.addIdentity(ident, PASSWORD);
		const db = path.join(srv.dir, 'anchorid.db');
		const stored = () => execFileSync('sqlite3', [db, `SELECT password_hash FROM identities WHERE identifier = '${ident}'`]).toString().trim();
		assert.match(stored(), /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
		fs.writeFileSync(srv.conf, fs.readFileSync(srv.conf, 'utf8').replace(/^argon2_m_cost = 1024$/m, 'argon2_m_cost = 2048'));
		srv = await restartServer(srv);
		const meta = await discover(srv.issuer);
		const c = await register(meta, { redirect_uris: [REDIRECT] });
		const r = await login(new Browser(), authorizeUrl(meta, {
			response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope: 'openid', login_hint: ident,
		}), { password: PASSWORD, redirectUri: REDIRECT });
		callbackCode(r, {});
		assert.match(stored(), /^\$argon2id\$v=19\$m=2048,t=1,p=1\$/, 'rehashed under the new cost');
	} finally {
		await srv.stop();
	}
});
