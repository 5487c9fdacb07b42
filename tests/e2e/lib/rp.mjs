// rp.mjs: what a relying party does, by hand, with fetch: discovery, dynamic registration (RFC 7591), PKCE
// (RFC 7636), the user's trip through the authority's pages (driven by the cookie-jar Browser), code redemption
// and ID token verification with jose.  The openid-client tests use the real library instead; these helpers
// serve the other tests and keep the login walk in one place.

import crypto from 'node:crypto';
import assert from 'node:assert/strict';

import * as jose from 'jose';

import { Browser, findForm, fieldValue, describe } from './browser.mjs';

/** discover(issuer): the discovery document; asserts 200, JSON and an exact issuer match. */
export async function discover(issuer) {
	const res = await fetch(`${issuer}/.well-known/openid-configuration`);
	const text = await res.text();
	assert.equal(res.status, 200, `discovery: ${res.status} ${text}`);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json/, 'discovery content-type');
	const meta = JSON.parse(text);
	assert.equal(meta.issuer, issuer, 'discovery issuer must equal the issuer byte for byte');
	return meta;
}

/**
 * register(meta, client): POST ${client} metadata to the registration endpoint; returns {status, headers, body}
 * without judging it (tests of refusals use this).
 */
export async function registerRaw(meta, client, headers = {}) {
	const res = await fetch(meta.registration_endpoint, {
		method: 'POST',
		headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
		body: typeof client === 'string' ? client : JSON.stringify(client),
	});
	const text = await res.text();
	let body;
	try { body = JSON.parse(text); } catch { body = text; }
	return { status: res.status, headers: res.headers, body };
}

/** register(meta, client): register and return the client information response; asserts 201 (or 200). */
export async function register(meta, client) {
	const r = await registerRaw(meta, { response_types: ['code'], grant_types: ['authorization_code'], ...client });
	assert.ok(r.status === 201 || r.status === 200, `registration: ${r.status} ${JSON.stringify(r.body)}`);
	assert.equal(typeof r.body.client_id, 'string', 'registration returns client_id');
	return r.body;
}

/** pkce(): a fresh S256 pair {verifier, challenge, method}. */
export function pkce() {
	const verifier = crypto.randomBytes(32).toString('base64url');
	const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
	return { verifier, challenge, method: 'S256' };
}

/** random(): 128 random bits, base64url (state, nonce). */
export function random() {
	return crypto.randomBytes(16).toString('base64url');
}

/** authorizeUrl(meta, params): the authorization endpoint URL with ${params} (undefined values dropped). */
export function authorizeUrl(meta, params) {
	const u = new URL(meta.authorization_endpoint);
	for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
	return u;
}

function sameEndpoint(a, b) {
	const x = new URL(a);
	const y = new URL(b);
	return x.origin === y.origin && x.pathname === y.pathname;
}

/**
 * login(browser, url, {identifier, password, redirectUri, consent, fillIdentifier}): walk the user through the
 * authority from ${url} (the authorization request) until the authority redirects to ${redirectUri} (or, with
 * response_mode=form_post, shows the page whose form posts to it): fill and submit the login form when it is
 * shown (the identifier only when the field is empty, or always with fillIdentifier), answer the consent page
 * with ${consent} ('allow' or 'deny').  Returns
 *   {callback: URL, params: URLSearchParams, formPost: {page, form} | undefined, sawLogin, sawConsent,
 *    loginPrefill, pages}
 * where params are the redirect's query, or the fields of the form_post form.
 * Throws with the page text when the walk ends anywhere else.
 */
export async function login(browser, url, opts) {
	const { identifier, password, redirectUri, consent = 'allow', fillIdentifier = false, maxSteps = 12 } = opts;
	const stop = (u) => sameEndpoint(u, redirectUri);
	const pages = [];
	let sawLogin = false;
	let sawConsent = false;
	let loginPrefill;
	let step = await browser.follow(url, { stop });
	for (let i = 0; i < maxSteps; i++) {
		const { page, stoppedAt } = step;
		pages.push(page);
		if (stoppedAt) {
			return { callback: stoppedAt, params: stoppedAt.searchParams, sawLogin, sawConsent, loginPrefill, pages };
		}
		if (page.status !== 200) {
			// A failed login shows the login form again, possibly with a 4xx status.
			if (sawLogin && findForm(page.body, '/login', page.url.href)) {
				throw new Error(`login rejected (the login form came back, ${page.status}): ${describe(page)}`);
			}
			throw new Error(`login walk: unexpected answer: ${describe(page)}`);
		}
		// OAuth 2.0 Form Post Response Mode: a page whose form posts the result to the redirect URI.
		const fp = page.forms.find((f) => f.method === 'POST' && f.action && stop(new URL(f.action, page.url)));
		if (fp) {
			const callback = new URL(fp.action, page.url);
			return {
				callback, params: new URLSearchParams(fp.fields), formPost: { page, form: fp },
				sawLogin, sawConsent, loginPrefill, pages,
			};
		}
		const lf = findForm(page.body, '/login', page.url.href);
		const cf = findForm(page.body, '/consent', page.url.href);
		if (lf && lf.fields.some(([n]) => n === 'password')) {
			if (sawLogin) throw new Error(`login rejected (the login form came back): ${describe(page)}`);
			if (password === undefined) throw new Error(`login form shown but no password given: ${describe(page)}`);
			sawLogin = true;
			loginPrefill = fieldValue(lf, 'identifier');
			const values = { password };
			if (identifier !== undefined && (fillIdentifier || !loginPrefill)) values.identifier = identifier;
			const button = lf.buttons.length ? lf.buttons[0] : undefined;
			step = await browser.follow(await browser.submit(page, lf, values, { button }), { stop });
		} else if (cf) {
			if (sawConsent) throw new Error(`consent page shown twice: ${describe(page)}`);
			sawConsent = true;
			const button = (b) => b.name === 'decision' && b.value === consent;
			step = await browser.follow(await browser.submit(page, cf, {}, { button }), { stop });
		} else {
			throw new Error(`login walk: page with neither a login nor a consent form: ${describe(page)}`);
		}
	}
	throw new Error(`login walk: more than ${maxSteps} pages`);
}

/**
 * callbackCode(result, {state, issuer}): the code of a successful authorization response, after checking state
 * and RFC 9207 iss.
 */
export function callbackCode(result, { state, issuer }) {
	const p = result.params;
	assert.equal(p.get('error'), null, `authorization error: ${result.callback.href}`);
	assert.ok(p.get('code'), `no code in ${result.callback.href}`);
	if (state !== undefined) assert.equal(p.get('state'), state, 'state round trip');
	if (issuer !== undefined) assert.equal(p.get('iss'), issuer, 'RFC 9207 iss in the authorization response');
	return p.get('code');
}

/**
 * tokenRequest(meta, client, params): POST ${params} to the token endpoint, authenticating as ${client}
 * (client_secret_basic when it has a secret and registered that, client_secret_post for that method, else
 * client_id in the body).  Returns {status, headers, body}.
 */
export async function tokenRequest(meta, client, params) {
	const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
	const body = new URLSearchParams(params);
	const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
	if (method === 'client_secret_basic') {
		const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
		headers.authorization = 'Basic ' + Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64');
	} else if (method === 'client_secret_post') {
		body.set('client_id', client.client_id);
		body.set('client_secret', client.client_secret);
	} else {
		body.set('client_id', client.client_id);
	}
	const res = await fetch(meta.token_endpoint, { method: 'POST', headers, body: body.toString() });
	const text = await res.text();
	let json;
	try { json = JSON.parse(text); } catch { json = text; }
	return { status: res.status, headers: res.headers, body: json };
}

/** redeem(meta, client, {code, redirectUri, verifier}): a successful code exchange's token response. */
export async function redeem(meta, client, { code, redirectUri, verifier }) {
	const r = await tokenRequest(meta, client, {
		grant_type: 'authorization_code', code, redirect_uri: redirectUri,
		...(verifier ? { code_verifier: verifier } : {}),
	});
	assert.equal(r.status, 200, `token endpoint: ${r.status} ${JSON.stringify(r.body)}`);
	assert.match(r.headers.get('cache-control') ?? '', /no-store/, 'token response Cache-Control: no-store');
	assert.equal(typeof r.body.id_token, 'string', 'token response has id_token');
	assert.equal(String(r.body.token_type).toLowerCase(), 'bearer');
	return r.body;
}

const jwksCache = new Map();

/**
 * verifyIdToken(meta, idToken, {audience, nonce, algorithms}): verify the signature against the authority's
 * jwks_uri and the standard claims with jose; returns {payload, protectedHeader}.
 */
export async function verifyIdToken(meta, idToken, { audience, nonce, algorithms = ['RS256', 'ES256'] } = {}) {
	if (!jwksCache.has(meta.jwks_uri)) jwksCache.set(meta.jwks_uri, jose.createRemoteJWKSet(new URL(meta.jwks_uri)));
	const res = await jose.jwtVerify(idToken, jwksCache.get(meta.jwks_uri), {
		issuer: meta.issuer, audience, algorithms, requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
	});
	assert.ok(res.protectedHeader.kid, 'ID token header has a kid');
	if (nonce !== undefined) assert.equal(res.payload.nonce, nonce, 'nonce');
	return res;
}

/**
 * loginFlow(srv, opts): the whole code flow by hand for tests that need a token and not the details: registers a
 * confidential client unless opts.client is given, logs in with a fresh Browser unless opts.browser is given.
 * Returns {meta, client, browser, tokens, claims, result}.
 */
export async function loginFlow(srv, opts) {
	const meta = opts.meta ?? await discover(srv.issuer);
	const redirectUri = opts.redirectUri ?? 'https://rp.example/cb';
	const client = opts.client ?? await register(meta, {
		redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic', client_name: 'e2e helper RP',
	});
	const browser = opts.browser ?? new Browser();
	const p = pkce();
	const state = random();
	const nonce = random();
	const url = authorizeUrl(meta, {
		response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: opts.scope ?? 'openid',
		state, nonce, code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: opts.identifier,
	});
	const result = await login(browser, url, { identifier: opts.identifier, password: opts.password, redirectUri });
	const code = callbackCode(result, { state, issuer: meta.issuer });
	const tokens = await redeem(meta, client, { code, redirectUri, verifier: p.verifier });
	const { payload } = await verifyIdToken(meta, tokens.id_token, { audience: client.client_id, nonce });
	return { meta, client, browser, tokens, claims: payload, result };
}
