// login_dns.test.mjs: the login re-check of drafts/dns-discovery.md §12 against the DNSSEC test bed.  An
// identifier logs in only while _openid.<identifier> is DNSSEC-secure and names this issuer; otherwise the login
// page says why in words a person understands, and a live session stops yielding codes.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';

import { startDnsBed } from './lib/dnsbed.mjs';
import { startServer } from './lib/server.mjs';
import { Browser, findForm, pageText, describe as describePage } from './lib/browser.mjs';
import { authorizeUrl, discover, register, login, random, pkce } from './lib/rp.mjs';

const CB = 'https://rp.example/cb';
const PASSWORD = 'correct horse battery staple';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let bed;
let srv;
let meta;
let client;
let self; // the issuer as an _openid record names it: localhost:PORT

before(async () => {
	bed = await startDnsBed();
	srv = await startServer({
		config: {
			login_dns_check: 'on', dns_upstreams: bed.upstream, dns_trust_anchor: bed.trustAnchor,
			dns_cache_max_ttl: 1,
		},
	});
	self = new URL(srv.issuer).host;
	// carol and dave name this authority; other.example.test (in the bed) names other-issuer.example.com.
	await bed.update('add', '_openid.carol', 'TXT', `"v=OID1;iss=${self};clp=agent.example.org"`);
	await bed.update('add', '_openid.dave', 'TXT', `"v=OID1;" "iss=${self.toUpperCase()}"`);
	for (const id of ['carol.example.test', 'dave.example.test', 'other.example.test', 'nobody.example.test',
		'bad.example.test', 'alice.insecure.test', 'alice.bogus.test', 'alice.expired.test']) {
		await srv.addIdentity(id, PASSWORD);
	}
	meta = await discover(srv.issuer);
	client = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
});

after(async () => {
	await srv?.stop();
	await bed?.stop();
});

function authz(params = {}) {
	const p = pkce();
	return authorizeUrl(meta, {
		response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state: random(),
		code_challenge: p.challenge, code_challenge_method: 'S256', ...params,
	});
}

/** tryLogin(identifier, browser): submit the login form with the right password; the answer to the form. */
async function tryLogin(identifier, browser = new Browser()) {
	const page = await browser.get(authz());
	assert.equal(page.status, 200, describePage(page));
	const form = findForm(page.body, '/login', page.url.href);
	assert.ok(form, `a login form: ${describePage(page)}`);
	return browser.submit(page, form, { identifier, password: PASSWORD });
}

/** refused(page, status, sentence): the login form again, with ${status} and a sentence for the person. */
function assertRefused(page, status, sentence) {
	assert.equal(page.status, status, describePage(page));
	assert.equal(page.headers.get('location'), null, 'no redirect to the relying party');
	assert.ok(findForm(page.body, '/login', page.url.href), 'the login form again, to try another identifier');
	assert.match(pageText(page.body), sentence, describePage(page));
}

test('login re-check: a secure record naming this issuer lets the identifier log in', async () => {
	for (const identifier of ['carol.example.test', 'dave.example.test']) {
		const r = await login(new Browser(), authz(), { identifier, password: PASSWORD, redirectUri: CB });
		assert.ok(r.params.get('code'), `${identifier} got a code`);
	}
});

test('login re-check refuses an identifier whose record names another issuer, and says which', async () => {
	const page = await tryLogin('other.example.test');
	assertRefused(page, 403, /other\.example\.test belongs to another identity authority \(https:\/\/other-issuer\.example\.com\)/);
	assert.doesNotMatch(page.headers.get('set-cookie') ?? '', /session/i, 'no session was started');
});

test('login re-check refuses an identifier without a record', async () => {
	assertRefused(await tryLogin('nobody.example.test'), 403, /nobody\.example\.test has no ID4me record in DNS \(_openid\.nobody\.example\.test\)/);
});

test('login re-check refuses an invalid record and names the rule it breaks', async () => {
	assertRefused(await tryLogin('bad.example.test'), 403, /The ID4me record of bad\.example\.test in DNS is not valid \(.*v=OID1.*\)/i);
});

test('login re-check refuses an unsigned zone under dnssec = require', async () => {
	assertRefused(await tryLogin('alice.insecure.test'), 403, /not protected by DNSSEC/);
});

test('login re-check refuses bogus and expired answers', async () => {
	for (const identifier of ['alice.bogus.test', 'alice.expired.test']) {
		assertRefused(await tryLogin(identifier), 403, /failed its DNSSEC security check/);
	}
});

test('login re-check: the password is checked first (a wrong one says so, not the DNS)', async () => {
	const b = new Browser();
	const page = await b.get(authz());
	const form = findForm(page.body, '/login', page.url.href);
	const res = await b.submit(page, form, { identifier: 'other.example.test', password: 'wrong password!' });
	assert.equal(res.status, 401, describePage(res));
	assert.doesNotMatch(pageText(res.body), /another identity authority/, 'no DNS verdict without the password');
});

test('login re-check applies to a live session: a moved record stops codes, moving back restores them', async () => {
	const b = new Browser();
	const first = await login(b, authz(), { identifier: 'carol.example.test', password: PASSWORD, redirectUri: CB });
	assert.ok(first.params.get('code'), 'logged in');
	const silent = async () => (await b.follow(authz({ prompt: 'none' }), { stop: (u) => u.href.startsWith(CB) }));
	assert.ok((await silent()).stoppedAt?.searchParams.get('code'), 'the session yields a code without a password');

	// The user moves carol to another authority: once the cached answer expires (dns_cache_max_ttl = 1), the
	// session no longer yields codes here.
	await bed.update('del', '_openid.carol', 'TXT');
	await bed.update('add', '_openid.carol', 'TXT', '"v=OID1;iss=elsewhere.example.net"');
	await sleep(1500);
	const none = (await silent()).stoppedAt;
	assert.ok(none, 'prompt=none answers the relying party');
	assert.equal(none.searchParams.get('error'), 'access_denied', none.href);
	assert.equal(none.searchParams.get('code'), null);
	const { page } = await b.follow(authz(), { stop: (u) => u.href.startsWith(CB) });
	assertRefused(page, 403, /carol\.example\.test belongs to another identity authority \(https:\/\/elsewhere\.example\.net\)/);

	await bed.update('del', '_openid.carol', 'TXT');
	await bed.update('add', '_openid.carol', 'TXT', `"v=OID1;iss=${self};clp=agent.example.org"`);
	await sleep(1500);
	assert.ok((await silent()).stoppedAt?.searchParams.get('code'), 'the same session works again');
});

describe('login_dns_check = auto', () => {
	let local;
	after(async () => { await local?.stop(); });

	test('login re-check is off for a loopback issuer (make run), and the server says so at start', async () => {
		local = await startServer({ config: { login_dns_check: 'auto' } });
		assert.match(local.stderr(), /login_dns_check is off/);
		await local.addIdentity('nobody.example.test', PASSWORD);
		const m = await discover(local.issuer);
		const c = await register(m, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
		const p = pkce();
		const url = authorizeUrl(m, {
			response_type: 'code', client_id: c.client_id, redirect_uri: CB, scope: 'openid', state: random(),
			code_challenge: p.challenge, code_challenge_method: 'S256',
		});
		const r = await login(new Browser(), url, { identifier: 'nobody.example.test', password: PASSWORD, redirectUri: CB });
		assert.ok(r.params.get('code'), 'no DNS record needed on loopback');
	});
});
