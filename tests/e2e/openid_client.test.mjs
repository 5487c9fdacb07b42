// openid_client.test.mjs: anchorid against openid-client v6, a certified relying party.  Discovery, dynamic
// registration of public and confidential clients, the code flow with PKCE S256, state and nonce, the ID token
// checks openid-client makes (iss, aud, exp, iat, nonce, and with enableNonRepudiationChecks the JWS signature
// against the JWKS), UserInfo, refresh token rotation, single sign-on at a second client, ES256 ID tokens.
// The user's part (the login and consent pages) is played by the cookie-jar Browser of lib/browser.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as oc from 'openid-client';
import * as jose from 'jose';

import { startServer } from './lib/server.mjs';
import { Browser, findForm, describe } from './lib/browser.mjs';
import { login } from './lib/rp.mjs';

const IDENTIFIER = 'alice.example.com';
const HINT = 'Alice.Example.COM.'; // canonicalises to IDENTIFIER
const PASSWORD = 'correct horse battery staple';
const CB = 'https://rp.example/cb'; // never contacted: the walk stops at the redirect

let srv;
let issuer;

before(async () => {
	srv = await startServer();
	issuer = new URL(srv.issuer);
	await srv.addIdentity(IDENTIFIER, PASSWORD);
});

after(async () => {
	await srv?.stop();
});

/**
 * explained(what, promise): ${promise}, with openid-client's error (status, OAuth error code and description,
 * which its message leaves out) spelled out in the message when it rejects.
 */
async function explained(what, promise) {
	try {
		return await promise;
	} catch (e) {
		const parts = [e.status, e.error, e.error_description, e.cause && !e.error ? JSON.stringify(e.cause) : undefined];
		e.message = `${what}: ${e.message} [${parts.filter((x) => x !== undefined).join(' ')}]`;
		throw e;
	}
}

// openid-client with its network calls wrapped by explained(); everything else as it is.
const ASYNC = ['discovery', 'dynamicClientRegistration', 'authorizationCodeGrant', 'refreshTokenGrant', 'fetchUserInfo',
	'tokenRevocation'];
const client = Object.fromEntries(Object.entries(oc).map(([k, v]) =>
	[k, ASYNC.includes(k) ? (...a) => explained(k, v(...a)) : v]));

/** register(metadata, auth): dynamic registration through openid-client, with signature checks on. */
function register(metadata, auth) {
	return client.dynamicClientRegistration(issuer, {
		redirect_uris: [CB], response_types: ['code'], grant_types: ['authorization_code'], ...metadata,
	}, auth, { execute: [client.enableNonRepudiationChecks] });
}

/**
 * authorize(config, browser, params): build the authorization URL with openid-client, let the user log in, and
 * return {callback, result} where callback is the URL the authority redirected to.
 */
async function authorize(config, browser, params, { password = PASSWORD, identifier = HINT, fillIdentifier = false } = {}) {
	const url = client.buildAuthorizationUrl(config, { redirect_uri: CB, scope: 'openid', ...params });
	const result = await login(browser, url, { identifier, password, redirectUri: CB, fillIdentifier });
	return { callback: result.callback, result };
}

function assertIdClaims(claims, config, { before: t0 }) {
	const now = Math.floor(Date.now() / 1000);
	assert.equal(claims.iss, srv.issuer, 'iss');
	assert.ok(claims.aud === config.clientMetadata().client_id ||
		(Array.isArray(claims.aud) && claims.aud.includes(config.clientMetadata().client_id)), 'aud');
	assert.equal(typeof claims.sub, 'string');
	assert.ok(claims.sub.length > 0 && claims.sub.length <= 255, 'sub length (OIDC Core §2)');
	assert.equal(claims['id4me.identifier'], IDENTIFIER, 'id4me.identifier is the canonical identifier');
	assert.deepEqual(claims.amr, ['pwd'], 'amr');
	assert.equal(typeof claims.auth_time, 'number', 'auth_time present');
	assert.ok(claims.auth_time >= t0 - 5 && claims.auth_time <= now + 5, `auth_time ${claims.auth_time} within the test`);
	assert.ok(claims.exp > now && claims.exp <= now + 3600, 'exp in the near future');
	assert.ok(Math.abs(claims.iat - now) < 60, 'iat is now');
}

test('discovery: openid-client accepts the metadata and it advertises what is implemented', async () => {
	const config = await client.discovery(issuer, 'not-registered');
	const m = config.serverMetadata();
	assert.equal(m.issuer, srv.issuer);
	for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'registration_endpoint', 'userinfo_endpoint']) {
		assert.equal(typeof m[k], 'string', k);
		assert.ok(m[k].startsWith(srv.issuer + '/'), `${k} lives under the issuer: ${m[k]}`);
	}
	assert.ok(m.response_types_supported.includes('code'));
	assert.ok(m.scopes_supported?.includes('openid'), 'scopes_supported has openid');
	assert.ok(m.subject_types_supported?.length > 0);
	assert.ok(m.id_token_signing_alg_values_supported.includes('RS256'), 'RS256 (the PHP RP accepts only RS256)');
	assert.ok(!m.id_token_signing_alg_values_supported.includes('none'), 'never alg none');
	assert.deepEqual(m.code_challenge_methods_supported, ['S256'], 'PKCE S256 only, no plain');
	assert.equal(m.authorization_response_iss_parameter_supported, true, 'RFC 9207');
	for (const k of Object.keys(m)) {
		if (/^(id_token|request_object|userinfo)_encryption_/.test(k)) assert.fail(`advertises encryption ${k}: not implemented`);
	}
	const jwks = await (await fetch(m.jwks_uri)).json();
	assert.ok(jwks.keys.length >= 1);
	for (const k of jwks.keys) {
		assert.ok(k.kid, 'every JWK has a kid');
		assert.equal(k.d, undefined, 'no private parts in the JWKS');
		assert.equal(k.p, undefined);
	}
});

test('public client: PKCE S256 + state + nonce, canonical identifier, UserInfo, refresh rotation, stable sub', async (t) => {
	const t0 = Math.floor(Date.now() / 1000);
	const config = await register({
		client_name: 'openid-client public', token_endpoint_auth_method: 'none',
		grant_types: ['authorization_code', 'refresh_token'],
	}, client.None());
	assert.equal(config.clientMetadata().token_endpoint_auth_method, 'none');

	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	const browser = new Browser();
	const { callback, result } = await authorize(config, browser, {
		scope: 'openid offline_access',
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
		state, nonce, login_hint: HINT,
	});
	assert.ok(result.sawLogin, 'the first login asks for the password');
	t.diagnostic(`login form identifier pre-filled with ${JSON.stringify(result.loginPrefill)}`);
	assert.equal(callback.searchParams.get('iss'), srv.issuer, 'RFC 9207 iss');

	const tokens = await client.authorizationCodeGrant(config, callback, {
		pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
	});
	const claims = tokens.claims();
	assertIdClaims(claims, config, { before: t0 });
	assert.equal(claims.nonce, nonce);
	assert.equal(tokens.token_type.toLowerCase(), 'bearer');
	assert.ok(tokens.expires_in > 0);

	// RFC 9068-style access token, when it is a JWT: signed by the authority and about this user and client.
	if (tokens.access_token.split('.').length === 3) {
		const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
		const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: srv.issuer });
		assert.equal(payload.sub, claims.sub, 'access token sub');
		assert.equal(payload.client_id, config.clientMetadata().client_id, 'access token client_id');
		assert.equal(payload['id4me.identifier'], IDENTIFIER);
	}

	const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
	assert.equal(info.sub, claims.sub);
	assert.equal(info['id4me.identifier'], IDENTIFIER, 'UserInfo names the identifier');

	if (!tokens.refresh_token) {
		t.diagnostic('no refresh_token for scope offline_access: refresh rotation not exercised');
	} else {
		const r1 = await client.refreshTokenGrant(config, tokens.refresh_token);
		assert.ok(r1.access_token);
		assert.ok(r1.refresh_token, 'a refresh returns a new refresh token');
		assert.notEqual(r1.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
		if (r1.id_token) assert.equal(r1.claims().sub, claims.sub);
		const info2 = await client.fetchUserInfo(config, r1.access_token, claims.sub);
		assert.equal(info2.sub, claims.sub);
		// Reuse of the rotated token fails and revokes the family (RFC 9700 §4.14.2).
		await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token),
			(e) => e.error === 'invalid_grant', 'reused refresh token is invalid_grant');
		await assert.rejects(client.refreshTokenGrant(config, r1.refresh_token),
			(e) => e.error === 'invalid_grant', 'the family is revoked after a reuse');
	}

	// A second, independent login (new browser, so the password again): same sub.
	const verifier2 = client.randomPKCECodeVerifier();
	const state2 = client.randomState();
	const second = await authorize(config, new Browser(), {
		scope: 'openid offline_access',
		code_challenge: await client.calculatePKCECodeChallenge(verifier2), code_challenge_method: 'S256',
		state: state2, login_hint: IDENTIFIER,
	});
	assert.ok(second.result.sawLogin);
	const tokens2 = await client.authorizationCodeGrant(config, second.callback, {
		pkceCodeVerifier: verifier2, expectedState: state2, idTokenExpected: true,
	});
	assert.equal(tokens2.claims().sub, claims.sub, 'sub is stable across logins');
	assert.equal(tokens2.claims()['id4me.identifier'], IDENTIFIER);
	assert.equal(tokens2.claims().nonce, undefined, 'no nonce in the ID token when none was sent');

	// The code is single use, and a replay revokes what it gave (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
	await assert.rejects(client.authorizationCodeGrant(config, second.callback, {
		pkceCodeVerifier: verifier2, expectedState: state2,
	}), (e) => e.error === 'invalid_grant', 'a replayed code is invalid_grant');
	if (tokens2.refresh_token) {
		await assert.rejects(client.refreshTokenGrant(config, tokens2.refresh_token),
			(e) => e.error === 'invalid_grant', 'the refresh token issued from a replayed code is revoked');
	}
	await assert.rejects(client.fetchUserInfo(config, tokens2.access_token, claims.sub),
		(e) => e.status === 401, 'the access token issued from a replayed code is revoked at UserInfo');
});

test('confidential client_secret_basic without PKCE or nonce (as ID4me RP libraries), then SSO at a second client', async (t) => {
	const t0 = Math.floor(Date.now() / 1000);
	const configA = await register({
		client_name: 'openid-client confidential A', token_endpoint_auth_method: 'client_secret_basic',
	}, client.ClientSecretBasic());
	const meta = configA.clientMetadata();
	assert.equal(typeof meta.client_secret, 'string', 'client_secret issued');
	assert.ok(meta.client_secret.length >= 22, 'client_secret has >= 128 bits');
	assert.equal(meta.client_secret_expires_at, 0, 'client_secret_expires_at present, 0 = never');

	// prompt=none without a session: login_required back at the RP, with state and iss.
	{
		const state = client.randomState();
		const url = client.buildAuthorizationUrl(configA, {
			redirect_uri: CB, scope: 'openid', state, prompt: 'none', login_hint: IDENTIFIER,
		});
		const res = await login(new Browser(), url, { redirectUri: CB });
		assert.equal(res.params.get('error'), 'login_required', `prompt=none without session: ${res.callback.href}`);
		assert.equal(res.params.get('state'), state);
		assert.equal(res.params.get('iss'), srv.issuer);
		await assert.rejects(client.authorizationCodeGrant(configA, res.callback, { expectedState: state }),
			(e) => e.error === 'login_required');
	}

	const browser = new Browser();
	const stateA = client.randomState();
	const a = await authorize(configA, browser, { state: stateA, login_hint: HINT });
	assert.ok(a.result.sawLogin);
	// No nonce sent: openid-client refuses an ID token that carries one (the Python RP raises too).
	const tokensA = await client.authorizationCodeGrant(configA, a.callback, { expectedState: stateA, idTokenExpected: true });
	const claimsA = tokensA.claims();
	assertIdClaims(claimsA, configA, { before: t0 });
	assert.equal(claimsA.nonce, undefined);

	// Wrong secret: the token endpoint refuses (invalid_client).
	{
		const stateX = client.randomState();
		const x = await authorize(configA, browser, { state: stateX });
		const bad = await client.discovery(issuer, meta.client_id, { redirect_uris: [CB] }, client.ClientSecretBasic('wrong-' + meta.client_secret));
		await assert.rejects(client.authorizationCodeGrant(bad, x.callback, { expectedState: stateX }),
			(e) => e.error === 'invalid_client' || e.status === 401, 'wrong client secret is invalid_client');
	}

	// Client B, same browser: the session cookie carries the login; no password asked.
	const configB = await register({
		client_name: 'openid-client confidential B', token_endpoint_auth_method: 'client_secret_basic',
	}, client.ClientSecretBasic());
	const verifier = client.randomPKCECodeVerifier();
	const stateB = client.randomState();
	const nonceB = client.randomNonce();
	const b = await authorize(configB, browser, {
		state: stateB, nonce: nonceB,
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	}, { password: undefined, identifier: undefined });
	assert.equal(b.result.sawLogin, false, 'single sign-on: no login form at the second client');
	t.diagnostic(`second client: consent page ${b.result.sawConsent ? 'shown' : 'not shown'}`);
	const tokensB = await client.authorizationCodeGrant(configB, b.callback, {
		pkceCodeVerifier: verifier, expectedState: stateB, expectedNonce: nonceB, idTokenExpected: true,
	});
	const claimsB = tokensB.claims();
	assert.equal(claimsB['id4me.identifier'], IDENTIFIER);
	assert.equal(claimsB.auth_time, claimsA.auth_time, 'auth_time is the time of the one real authentication');
	if (JSON.stringify(configB.serverMetadata().subject_types_supported) === '["public"]') {
		assert.equal(claimsB.sub, claimsA.sub, 'public subject: same sub at both clients');
	}
	const info = await client.fetchUserInfo(configB, tokensB.access_token, claimsB.sub);
	assert.equal(info['id4me.identifier'], IDENTIFIER);
});

test('ES256 ID tokens (a typed, non-canonical identifier): id_token_signed_response_alg ES256 is honoured and verified', async () => {
	const t0 = Math.floor(Date.now() / 1000);
	const discovered = await client.discovery(issuer, 'not-registered');
	assert.ok(discovered.serverMetadata().id_token_signing_alg_values_supported.includes('ES256'), 'ES256 advertised');
	const config = await register({
		client_name: 'openid-client ES256', token_endpoint_auth_method: 'client_secret_basic',
		id_token_signed_response_alg: 'ES256',
	}, client.ClientSecretBasic());
	assert.equal(config.clientMetadata().id_token_signed_response_alg, 'ES256', 'registration echoes the alg');
	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	// No login_hint: the user types the identifier, in a non-canonical form.
	const { callback, result } = await authorize(config, new Browser(), {
		state, nonce,
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	}, { identifier: HINT, fillIdentifier: true });
	assert.ok(result.sawLogin);
	assert.ok(!result.loginPrefill, `no login_hint, empty identifier field (got ${JSON.stringify(result.loginPrefill)})`);
	// openid-client rejects an ID token whose alg differs from the registered one, and (non-repudiation checks
	// on) verifies the signature with the JWKS.
	const tokens = await client.authorizationCodeGrant(config, callback, {
		pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
	});
	const header = jose.decodeProtectedHeader(tokens.id_token);
	assert.equal(header.alg, 'ES256');
	assert.ok(header.kid, 'kid set');
	const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
	const key = jwks.keys.find((k) => k.kid === header.kid);
	assert.ok(key, 'the signing key is in the JWKS');
	assert.equal(key.kty, 'EC');
	assert.equal(key.crv, 'P-256');
	assertIdClaims(tokens.claims(), config, { before: t0 });
});

test('client_secret_post, response_mode=form_post, signed UserInfo (application/jwt) and token revocation', async () => {
	const config = await register({
		client_name: 'openid-client post', token_endpoint_auth_method: 'client_secret_post',
		grant_types: ['authorization_code', 'refresh_token'], userinfo_signed_response_alg: 'RS256',
	}, client.ClientSecretPost());
	assert.equal(config.clientMetadata().token_endpoint_auth_method, 'client_secret_post');
	assert.ok(config.serverMetadata().response_modes_supported?.includes('form_post'), 'form_post advertised');

	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	const { result } = await authorize(config, new Browser(), {
		scope: 'openid offline_access', response_mode: 'form_post', state, nonce, login_hint: IDENTIFIER,
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	});
	assert.ok(result.formPost, 'form_post: a page whose form posts the result to the redirect URI');
	const fp = result.formPost;
	assert.match(fp.page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
	assert.match(fp.page.headers.get('cache-control') ?? '', /no-store/, 'the form_post page is not cached');
	assert.doesNotMatch(fp.page.headers.get('content-security-policy') ?? '', /'unsafe-inline'/, 'no inline script');
	// The RP receives a POST; openid-client reads the response from the Request.
	const request = new Request(CB, {
		method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fp.form.fields).toString(),
	});
	const tokens = await client.authorizationCodeGrant(config, request, {
		pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
	});
	const claims = tokens.claims();
	assert.equal(claims['id4me.identifier'], IDENTIFIER);

	// Signed UserInfo: openid-client verifies the JWT (non-repudiation checks on); check the wire format too.
	const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
	assert.equal(info.sub, claims.sub);
	const raw = await fetch(config.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
	assert.equal(raw.status, 200);
	assert.match(raw.headers.get('content-type') ?? '', /^application\/jwt/, 'UserInfo as application/jwt');
	const { payload, protectedHeader } = await jose.jwtVerify(await raw.text(),
		jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri)), { issuer: srv.issuer, audience: config.clientMetadata().client_id });
	assert.equal(protectedHeader.alg, 'RS256');
	assert.equal(payload.sub, claims.sub);

	// RFC 7009: a revoked refresh token no longer refreshes.
	assert.ok(tokens.refresh_token, 'refresh token for grant_types refresh_token + offline_access');
	await client.tokenRevocation(config, tokens.refresh_token);
	await assert.rejects(oc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant',
		'revoked refresh token');
	// Revoking an unknown token is not an error (RFC 7009 §2.2).
	await client.tokenRevocation(config, 'no-such-token');
});

test('RP-initiated logout ends the session; prompt=login asks for the password again', async () => {
	const LOGOUT_CB = 'https://rp.example/logged-out';
	const config = await register({
		client_name: 'openid-client logout', token_endpoint_auth_method: 'client_secret_basic',
		post_logout_redirect_uris: [LOGOUT_CB],
	}, client.ClientSecretBasic());
	const browser = new Browser();
	const s1 = client.randomState();
	const first = await authorize(config, browser, { state: s1, login_hint: IDENTIFIER });
	assert.ok(first.result.sawLogin);
	const t1 = await client.authorizationCodeGrant(config, first.callback, { expectedState: s1, idTokenExpected: true });

	// prompt=login: a session exists, but the user must authenticate again (OIDC Core §3.1.2.1).
	const s2 = client.randomState();
	const again = await authorize(config, browser, { state: s2, prompt: 'login' });
	assert.ok(again.result.sawLogin, 'prompt=login shows the login form despite the session');
	const t2 = await client.authorizationCodeGrant(config, again.callback, { expectedState: s2, idTokenExpected: true });
	assert.ok(t2.claims().auth_time >= t1.claims().auth_time);
	assert.equal(t2.claims().sub, t1.claims().sub);

	// Without prompt the session answers at once.
	const s3 = client.randomState();
	const sso = await authorize(config, browser, { state: s3 }, { password: undefined });
	assert.equal(sso.result.sawLogin, false);

	// Logout: the end-session URL shows a confirmation form (CSRF-protected), then returns to the RP with state.
	const ls = client.randomState();
	const endUrl = client.buildEndSessionUrl(config, {
		id_token_hint: t2.id_token, post_logout_redirect_uri: LOGOUT_CB, state: ls,
	});
	const page = await browser.get(endUrl);
	assert.equal(page.status, 200, describe(page));
	const form = findForm(page.body, '/logout', page.url.href);
	assert.ok(form, `logout page has a form: ${describe(page)}`);
	// A POST without a csrf field is an RP-initiated logout request (OIDC RP-Initiated Logout §2: GET or POST):
	// it only asks again.  A wrong csrf value is refused.
	const asked = await browser.post(new URL('/logout', srv.issuer), form.fields.filter(([n]) => n !== 'csrf'), { origin: srv.issuer });
	assert.equal(asked.status, 200, `logout POST without csrf: ${describe(asked)}`);
	assert.ok(findForm(asked.body, '/logout', asked.url.href), 'confirmation form again');
	const forged = await browser.post(new URL('/logout', srv.issuer),
		form.fields.map(([n, v]) => [n, n === 'csrf' ? 'A'.repeat(v.length || 43) : v]), { origin: srv.issuer });
	assert.equal(forged.status, 403, `logout with a wrong csrf: ${describe(forged)}`);
	const still = await authorize(config, browser, { state: client.randomState() }, { password: undefined });
	assert.equal(still.result.sawLogin, false, 'the refused logouts left the session alone');
	const done = await browser.submit(page, form, {}, { button: form.buttons[0] });
	assert.ok(done.status === 302 || done.status === 303, describe(done));
	assert.equal(`${done.location.origin}${done.location.pathname}`, LOGOUT_CB);
	assert.equal(done.location.searchParams.get('state'), ls);

	// The session is gone: the next authorization asks for the password, and prompt=none says login_required.
	const s4 = client.randomState();
	const none = await login(browser, client.buildAuthorizationUrl(config, {
		redirect_uri: CB, scope: 'openid', state: s4, prompt: 'none',
	}), { redirectUri: CB });
	assert.equal(none.params.get('error'), 'login_required');
	const s5 = client.randomState();
	const after = await authorize(config, browser, { state: s5 });
	assert.ok(after.result.sawLogin, 'after logout the password is asked again');
});

test('the access log and the server log record the requests above without secrets', () => {
	const log = srv.accessLog();
	assert.match(log, /"POST \/token" 200/, 'token requests are logged');
	assert.match(log, /"GET \/authorize"/);
	for (const text of [log, srv.stderr(), srv.stdout()]) {
		assert.ok(!text.includes(PASSWORD), 'no password in the logs');
		assert.doesNotMatch(text, /[?&](t|code|code_verifier|client_secret|refresh_token|state|nonce)=/, 'no query strings or form values');
		assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ/, 'no JWTs');
	}
});
