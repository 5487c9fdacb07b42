// protocol.test.mjs: protocol rules not covered elsewhere, each named after its rule: max_age forcing
// re-authentication (OIDC Core §3.1.2.1), prompt=none with a live session, RFC 7592 update and delete, and the
// registration 200 quirk of ID4ME.md.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { Browser, findForm } from './lib/browser.mjs';
import {
	authorizeUrl, callbackCode, discover, login, random, redeem, register, registerRaw, verifyIdToken,
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
