// mod_auth_openidc.test.mjs: anchorid as the provider of Apache httpd with mod_auth_openidc (Debian), a
// certified C relying party.  Apache uses discovery, validates the authority's TLS certificate against the dev
// CA, sends PKCE S256, redeems the code with client_secret_basic, verifies the ID token with the JWKS and calls
// UserInfo.  The user is the cookie-jar Browser: GET /protected -> authority -> login form -> back to Apache ->
// the protected page, which shows REMOTE_USER and the claims Apache passes on.  A second Apache registers itself
// dynamically (OIDCMetadataDir, as it would for an issuer learnt at run time) and uses response_mode=form_post.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startServer, freePort } from './lib/server.mjs';
import { startApache } from './lib/apache.mjs';
import { Browser, describe } from './lib/browser.mjs';
import { discover, register, login } from './lib/rp.mjs';

const IDENTIFIER = 'carol.example.org';
const PASSWORD = 'apache rp password 123';

let srv;
let meta;
const apaches = [];

before(async () => {
	srv = await startServer();
	await srv.addIdentity(IDENTIFIER, PASSWORD);
	meta = await discover(srv.issuer);
});

after(async () => {
	try {
		for (const a of apaches) await a.stop();
	} finally {
		await srv?.stop();
	}
});

/** apacheDir(): a server root for Apache with a copy of the dev CA that its www-data children can read. */
function apacheDir() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-apache-'));
	const caCopy = path.join(dir, 'dev-ca.pem');
	fs.writeFileSync(caCopy, srv.caPem, { mode: 0o644 });
	return { dir, caCopy };
}

const re = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('Apache mod_auth_openidc logs a user in with a code flow and sees id4me.identifier', async (t) => {
	const port = await freePort();
	const redirectUri = `http://127.0.0.1:${port}/protected/redirect_uri`;
	// The authority permits http redirect URIs on loopback only.
	const rp = await register(meta, {
		client_name: 'Apache mod_auth_openidc', redirect_uris: [redirectUri],
		token_endpoint_auth_method: 'client_secret_basic',
	});
	const { dir, caCopy } = apacheDir();
	const apache = await startApache({
		port,
		dir,
		oidc: {
			OIDCProviderMetadataURL: `${srv.issuer}/.well-known/openid-configuration`,
			OIDCSSLValidateServer: 'On',
			OIDCCABundlePath: caCopy,
			OIDCClientID: rp.client_id,
			OIDCClientSecret: rp.client_secret,
			OIDCProviderTokenEndpointAuth: 'client_secret_basic',
			OIDCRedirectURI: redirectUri,
			OIDCCryptoPassphrase: 'e2e crypto passphrase, not a secret',
			OIDCScope: 'openid',
			OIDCPKCEMethod: 'S256',
			OIDCRemoteUserClaim: 'id4me.identifier',
			OIDCAuthRequestParams: `login_hint=${encodeURIComponent(IDENTIFIER)}`,
			OIDCPassClaimsAs: 'environment',
		},
	});
	apaches.push(apache);

	const browser = new Browser();
	try {
		// 1. The protected page sends the browser to the authority.
		const first = await browser.get(`${apache.url}/protected/whoami`);
		assert.equal(first.status, 302, `Apache: ${describe(first)}\n${apache.errorLog()}`);
		const authz = first.location;
		assert.equal(`${authz.origin}${authz.pathname}`, meta.authorization_endpoint);
		assert.equal(authz.searchParams.get('client_id'), rp.client_id);
		assert.equal(authz.searchParams.get('redirect_uri'), redirectUri);
		assert.equal(authz.searchParams.get('response_type'), 'code');
		assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
		assert.ok(authz.searchParams.get('state'));
		assert.ok(authz.searchParams.get('nonce'));

		// 2. The user logs in; the authority sends the browser back to Apache's redirect URI.
		const res = await login(browser, authz, { identifier: IDENTIFIER, password: PASSWORD, redirectUri });
		assert.ok(res.sawLogin);
		assert.equal(res.params.get('error'), null, `authorization error: ${res.callback.href}`);
		assert.ok(res.params.get('code'));
		assert.equal(res.params.get('iss'), srv.issuer);

		// 3. Apache redeems the code, checks the ID token, and sends the browser back to the protected page.
		const { page } = await browser.follow(res.callback);
		assert.equal(page.status, 200, `after the callback: ${describe(page)}\n--- apache error log:\n${apache.errorLog()}`);
		assert.equal(page.url.pathname, '/protected/whoami');
		t.diagnostic(page.body.replace(/^OIDC_(id_token|access_token|refresh_token)\S*$/gm, '').trim());
		assert.match(page.body, new RegExp(`^REMOTE_USER=${re(IDENTIFIER)}$`, 'm'),
			'REMOTE_USER from OIDCRemoteUserClaim id4me.identifier');
		assert.match(page.body, new RegExp(`^OIDC_CLAIM_id4me[._]identifier=${re(IDENTIFIER)}$`, 'm'));
		assert.match(page.body, new RegExp(`^OIDC_CLAIM_iss=${re(srv.issuer)}$`, 'm'));
		assert.match(page.body, /^OIDC_CLAIM_sub=\S+$/m);
		assert.match(page.body, /^OIDC_CLAIM_amr=pwd$/m);

		// 4. Apache's own session now serves the page directly.
		const again = await browser.get(`${apache.url}/protected/whoami`);
		assert.equal(again.status, 200, describe(again));
		assert.match(again.body, new RegExp(`^REMOTE_USER=${re(IDENTIFIER)}$`, 'm'));

		// The module saw no errors talking to the authority (TLS, token, JWKS, UserInfo).
		const errors = apache.errorLog().split('\n').filter((l) => /:error\]|:crit\]|:alert\]/.test(l));
		assert.deepEqual(errors, [], 'Apache error log');
		assert.match(apache.accessLog(), new RegExp(` ${re(IDENTIFIER)} "GET /protected/whoami`), 'access log user');
	} catch (e) {
		e.message += `\n--- browser history:\n${browser.history.map((h) => `${h.method} ${h.url} ${h.status} ${h.location ?? ''}`).join('\n')}`;
		throw e;
	}
});

test('Apache mod_auth_openidc registers itself dynamically (OIDCMetadataDir) and uses response_mode=form_post', async (t) => {
	const port = await freePort();
	const redirectUri = `http://127.0.0.1:${port}/protected/redirect_uri`;
	const { dir, caCopy } = apacheDir();
	// The module writes the discovered provider and its registration here, as the Apache user.
	const mdDir = path.join(dir, 'metadata');
	fs.mkdirSync(mdDir, { mode: 0o777 });
	fs.chmodSync(mdDir, 0o777);
	// The provider is known (an ID4me RP learns the issuer from DNS and fetches its discovery document); the
	// module refuses to discover an issuer named in a login request by itself.  No .client file: it registers.
	const issuerKey = encodeURIComponent(srv.issuer.replace(/^https:\/\//, ''));
	fs.writeFileSync(path.join(mdDir, `${issuerKey}.provider`), JSON.stringify(meta), { mode: 0o644 });
	const apache = await startApache({
		port,
		dir,
		oidc: {
			OIDCMetadataDir: mdDir,
			OIDCSSLValidateServer: 'On',
			OIDCCABundlePath: caCopy,
			OIDCProviderTokenEndpointAuth: 'client_secret_basic',
			OIDCRedirectURI: redirectUri,
			OIDCCryptoPassphrase: 'e2e crypto passphrase, not a secret',
			OIDCScope: 'openid',
			OIDCResponseMode: 'form_post',
			OIDCPKCEMethod: 'S256',
			OIDCRemoteUserClaim: 'id4me.identifier',
			OIDCPassClaimsAs: 'environment',
		},
	});
	apaches.push(apache);
	const browser = new Browser();
	try {
		// Third-party initiated login (OIDC Core §4): the RP is told the issuer, discovers it and registers.
		const start = new URL(`${redirectUri}`);
		start.searchParams.set('iss', srv.issuer);
		start.searchParams.set('target_link_uri', `${apache.url}/protected/whoami`);
		start.searchParams.set('login_hint', IDENTIFIER);
		const first = await browser.get(start);
		assert.equal(first.status, 302, `Apache: ${describe(first)}\n${apache.errorLog()}`);
		const authz = first.location;
		assert.equal(`${authz.origin}${authz.pathname}`, meta.authorization_endpoint, `${authz.href}\n${apache.errorLog()}`);
		assert.equal(authz.searchParams.get('response_mode'), 'form_post');
		assert.equal(authz.searchParams.get('login_hint'), IDENTIFIER);
		const files = fs.readdirSync(mdDir);
		t.diagnostic(`metadata dir: ${files.join(' ')}`);
		const clientFile = files.find((f) => f.endsWith('.client'));
		assert.ok(clientFile, 'the module stored its dynamic registration');
		const reg = JSON.parse(fs.readFileSync(path.join(mdDir, clientFile), 'utf8'));
		assert.equal(authz.searchParams.get('client_id'), reg.client_id);
		assert.deepEqual(reg.redirect_uris, [redirectUri]);

		const res = await login(browser, authz, { identifier: IDENTIFIER, password: PASSWORD, redirectUri });
		assert.ok(res.formPost, `form_post page expected, got a redirect to ${res.callback.href}`);
		assert.ok(res.params.get('code'));
		// The user's browser posts the form to Apache (no JavaScript here: press Continue).
		const posted = await browser.submit(res.formPost.page, res.formPost.form, {}, { button: res.formPost.form.buttons[0] });
		const { page } = await browser.follow(posted);
		assert.equal(page.status, 200, `after the form post: ${describe(page)}\n--- apache error log:\n${apache.errorLog()}`);
		assert.match(page.body, new RegExp(`^REMOTE_USER=${re(IDENTIFIER)}$`, 'm'));
		assert.match(page.body, new RegExp(`^OIDC_CLAIM_iss=${re(srv.issuer)}$`, 'm'));
		const errors = apache.errorLog().split('\n').filter((l) => /:error\]|:crit\]|:alert\]/.test(l));
		assert.deepEqual(errors, [], 'Apache error log');
	} catch (e) {
		e.message += `\n--- browser history:\n${browser.history.map((h) => `${h.method} ${h.url} ${h.status} ${h.location ?? ''}`).join('\n')}`;
		throw e;
	}
});
