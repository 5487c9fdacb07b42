// lifecycle.test.mjs: what relying parties (openid-client) see when the operator changes things with the CLI:
// key rotation (a new key is published before it signs, the old one stays until its tokens expire), a restart
// (sessions, clients and refresh tokens survive), and an identity disabled, enabled, deleted and re-created (a
// new sub, never the old one).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as oc from 'openid-client';
import * as jose from 'jose';

import { startServer, SLOW } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';
import { login } from './lib/rp.mjs';

const PASSWORD = 'lifecycle password 42';
const CB = 'https://rp.example/cb';
const ACTIVATION = 5 * SLOW; // seconds between "keys rotate" and the new key's first signature

let srv;
let issuer;

before(async () => {
	srv = await startServer({ config: { key_activation_delay: ACTIVATION } });
	issuer = new URL(srv.issuer);
});

after(async () => {
	await srv?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function explained(what, promise) {
	try {
		return await promise;
	} catch (e) {
		e.message = `${what}: ${e.message} [${[e.status, e.error, e.error_description].filter((x) => x !== undefined).join(' ')}]`;
		throw e;
	}
}

async function registerClient(extra = {}) {
	return explained('registration', oc.dynamicClientRegistration(issuer, {
		redirect_uris: [CB], response_types: ['code'], grant_types: ['authorization_code', 'refresh_token'],
		token_endpoint_auth_method: 'client_secret_basic', client_name: 'lifecycle RP', ...extra,
	}, oc.ClientSecretBasic(), { execute: [oc.enableNonRepudiationChecks] }));
}

/** codeFlow(config, browser, opts): one authorization code flow; {tokens, result}. */
async function codeFlow(config, browser, { identifier, password = PASSWORD, params = {} } = {}) {
	const state = oc.randomState();
	const nonce = oc.randomNonce();
	const url = oc.buildAuthorizationUrl(config, {
		redirect_uri: CB, scope: 'openid offline_access', state, nonce, ...(identifier ? { login_hint: identifier } : {}), ...params,
	});
	const result = await login(browser, url, { identifier, password, redirectUri: CB });
	const tokens = await explained('authorizationCodeGrant', oc.authorizationCodeGrant(config, result.callback, {
		expectedState: state, expectedNonce: nonce, idTokenExpected: true,
	}));
	return { tokens, result };
}

async function jwksKids() {
	const res = await fetch(`${srv.issuer}/jwks.json`);
	assert.equal(res.status, 200);
	return new Set((await res.json()).keys.map((k) => k.kid));
}

test('key rotation: published before it signs, RPs verify across the switch; a restart loses nothing', async (t) => {
	const identifier = 'frank.example.com';
	await srv.addIdentity(identifier, PASSWORD);
	const config = await registerClient();
	const browser = new Browser();
	const first = await codeFlow(config, browser, { identifier });
	const kid1 = jose.decodeProtectedHeader(first.tokens.id_token).kid;
	const before = await jwksKids();
	assert.ok(before.has(kid1));

	const rotatedAt = Date.now();
	t.diagnostic((await srv.cli('keys', 'rotate')).trim());
	await srv.restart(); // the running server would reload within its refresh period; a restart is immediate

	// Published at once, next to the old keys.
	const after = await jwksKids();
	const added = [...after].filter((k) => !before.has(k));
	assert.ok(added.length >= 1, 'the new key is in the JWKS before it signs');
	for (const k of before) assert.ok(after.has(k), `old key ${k} still published`);

	// A second RP instance that fetched the JWKS now (after the rotation, before the activation)...
	const rp2 = await explained('discovery', oc.discovery(issuer, config.clientMetadata().client_id,
		{ ...config.clientMetadata() }, oc.ClientSecretBasic(), { execute: [oc.enableNonRepudiationChecks] }));
	// ...and the session, the client and the refresh token all survived the restart.
	const sso = await codeFlow(rp2, browser);
	assert.equal(sso.result.sawLogin, false, 'the session survived the restart');
	const kid2 = jose.decodeProtectedHeader(sso.tokens.id_token).kid;
	if (Date.now() < rotatedAt + (ACTIVATION - 1) * 1000) {
		assert.equal(kid2, kid1, 'before the activation time the old key still signs');
	} else {
		t.diagnostic('too slow to observe the old key signing after the rotation');
	}
	const refreshed = await explained('refreshTokenGrant', oc.refreshTokenGrant(config, first.tokens.refresh_token));
	assert.ok(refreshed.access_token, 'refresh tokens survive a restart');

	// After the activation time the new key signs, and rp2 verifies with the JWKS it already had (no refetch:
	// openid-client refetches only after 60 s).
	await sleep(Math.max(0, rotatedAt + (ACTIVATION + 1) * 1000 - Date.now()));
	const later = await codeFlow(rp2, browser);
	const kid3 = jose.decodeProtectedHeader(later.tokens.id_token).kid;
	assert.ok(added.includes(kid3), `the new key signs after activation (kid ${kid3}, new ${added})`);
	assert.notEqual(kid3, kid1);

	// Tokens signed by the old key still verify: it stays published until they expire.
	const jwks = jose.createRemoteJWKSet(new URL(`${srv.issuer}/jwks.json`));
	await jose.jwtVerify(first.tokens.id_token, jwks, { issuer: srv.issuer });
	assert.ok((await jwksKids()).has(kid1), 'the old key stays published while its tokens live');
});

test('identity disabled, enabled, deleted and re-created, as a relying party sees it', async () => {
	const identifier = 'grace.example.com';
	await srv.addIdentity(identifier, PASSWORD);
	const config = await registerClient({ client_name: 'lifecycle RP 2' });
	const browser = new Browser();
	const first = await codeFlow(config, browser, { identifier });
	const sub1 = first.tokens.claims().sub;
	assert.ok(first.tokens.refresh_token);

	await srv.cli('identity', 'disable', identifier);
	{
		// The session no longer logs in silently...
		const state = oc.randomState();
		const res = await login(browser, oc.buildAuthorizationUrl(config, {
			redirect_uri: CB, scope: 'openid', state, prompt: 'none',
		}), { redirectUri: CB });
		assert.equal(res.params.get('code'), null, 'no code for a disabled identity');
		assert.equal(res.params.get('error'), 'login_required', res.callback.href);
		// ...the password no longer works (the same page as a wrong password)...
		await assert.rejects(codeFlow(config, new Browser(), { identifier }), /login rejected/);
		// ...and its refresh tokens are refused.
		await assert.rejects(oc.refreshTokenGrant(config, first.tokens.refresh_token), (e) => e.error === 'invalid_grant');
		const ui = await fetch(config.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${first.tokens.access_token}` } });
		assert.equal(ui.status, 401, 'UserInfo refuses the access token of a disabled identity');
	}

	await srv.cli('identity', 'enable', identifier);
	const again = await codeFlow(config, new Browser(), { identifier });
	assert.equal(again.tokens.claims().sub, sub1, 'enabled again: same sub');

	await srv.cli('identity', 'delete', identifier);
	await assert.rejects(codeFlow(config, new Browser(), { identifier }), /login rejected/);
	await assert.rejects(oc.refreshTokenGrant(config, again.tokens.refresh_token), (e) => e.error === 'invalid_grant',
		'refresh tokens of a deleted identity are refused');

	// The same identifier, provisioned again (the domain changed hands): a new sub, never the old one.
	await srv.addIdentity(identifier, 'the new owner password');
	const reborn = await codeFlow(config, new Browser(), { identifier, password: 'the new owner password' });
	assert.equal(reborn.tokens.claims()['id4me.identifier'], identifier);
	assert.notEqual(reborn.tokens.claims().sub, sub1, 'a re-created identity never gets the old sub');
});
