#!/usr/bin/env node
// tests/demo/rp.mjs: the small relying party of `make demo` ("Demo Shop"), an ID4me relying party built on
// openid-client (tests/e2e/node_modules) and jose.
//
//   node tests/demo/rp.mjs --port PORT --cert server.pem --key server.key --anchorid build/anchorid
//                          --upstream 127.0.0.1@PORT --trust-anchor root.key [--conf anchorid.conf]
//
// Trust for the authority's and the agent's certificates comes from NODE_EXTRA_CA_CERTS (run.sh sets it).
// Prints "rp: ready https://localhost:PORT/" once listening; SIGINT/SIGTERM close it (exit status 0).
//
//   GET  /          a form asking for the identifier
//   POST /start     _openid.<identifier> TXT, DNSSEC-validated (`anchorid discover`, whose "issuer:" line names
//                   the authority and "agent:" the identity agent), discovery, dynamic registration (once per
//                   issuer), then a redirect to the authority with scope "openid profile email", PKCE, state,
//                   nonce, login_hint and a claims parameter asking for the e-mail address as essential
//   GET  /callback  code exchange, ID token validation (signature against the authority's JWKS, iss, aud, exp,
//                   nonce), UserInfo at the authority, then each distributed claim source (_claim_names /
//                   _claim_sources, OIDC Core §5.6.2): its endpoint with the access_token as Bearer, the answer a
//                   JWT verified against the agent's JWKS (jwks_uri of <endpoint origin>/.well-known/
//                   openid-configuration), aud = our client_id, sub = the ID token's sub
//
// The result page lists the ID token's claims and each distributed claim with its source, and carries the same
// as JSON in <script type="application/json" id="result"> for tests/e2e/demo.test.mjs.

import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

// The npm packages are the end-to-end tests' (pinned in tests/e2e/package-lock.json).
const e2eRequire = createRequire(new URL('../e2e/package.json', import.meta.url));
const oc = await import(pathToFileURL(e2eRequire.resolve('openid-client')).href);
const jose = await import(pathToFileURL(e2eRequire.resolve('jose')).href);

const { values: opt } = parseArgs({
	options: {
		port: { type: 'string' },
		cert: { type: 'string' },
		key: { type: 'string' },
		anchorid: { type: 'string', default: 'build/anchorid' },
		conf: { type: 'string' },
		upstream: { type: 'string' },
		'trust-anchor': { type: 'string' },
	},
});
for (const k of ['port', 'cert', 'key', 'upstream', 'trust-anchor']) {
	if (!opt[k]) {
		process.stderr.write(`rp: --${k} is required\n`);
		process.exit(2);
	}
}

const PORT = Number(opt.port);
const BASE = `https://localhost:${PORT}`;
const CALLBACK = `${BASE}/callback`;
const CLIENT_NAME = 'Demo Shop';
const SCOPE = 'openid profile email';
const CLAIMS = { userinfo: { email: { essential: true, reason: 'To send you a receipt' } } };
const TX_TTL_MS = 10 * 60 * 1000;
const COOKIE = 'demo_rp_tx';

// ------------------------------------------------------------------------------------------------ helpers

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A failure worth a page of its own: a title, a sentence, and details (pre-formatted). */
class DemoError extends Error {
	constructor(title, message, details = '', status = 502) {
		super(message);
		this.title = title;
		this.details = details;
		this.status = status;
	}
}

/** explain(e): openid-client's and jose's errors as one readable text (status, OAuth error, description, cause). */
function explain(e) {
	const parts = [e.message];
	if (e.code) parts.push(`code: ${e.code}`);
	if (e.status) parts.push(`HTTP status: ${e.status}`);
	if (e.error) parts.push(`error: ${e.error}`);
	if (e.error_description) parts.push(`error_description: ${e.error_description}`);
	if (e.cause) {
		const c = e.cause;
		if (c instanceof Error) parts.push(`cause: ${c.message}${c.cause?.message ? ` (${c.cause.message})` : ''}${c.cause?.code ? ` [${c.cause.code}]` : ''}`);
		else if (c && typeof c === 'object' && c.status && typeof c.text === 'function') parts.push(`cause: HTTP ${c.status} from ${c.url}`);
		else {
			try { parts.push(`cause: ${JSON.stringify(c)}`); } catch { parts.push(`cause: ${String(c)}`); }
		}
	}
	return parts.join('\n');
}

function page(title, body, { status = 200, headers = {} } = {}) {
	const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · ${CLIENT_NAME}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
header { font-weight: 700; font-size: 1.25rem; margin-bottom: 1.5rem; }
header span { color: #0b7a4b; }
input[type=text] { font: inherit; padding: .5rem; width: 100%; max-width: 26rem; }
button { font: inherit; padding: .5rem 1.2rem; margin-top: .75rem; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; border-bottom: 1px solid #8884; padding: .35rem .5rem; vertical-align: top; word-break: break-all; }
th { width: 30%; word-break: normal; }
.error { border: 1px solid #e4a5a5; background: #fdecec; color: #8f1d1d; padding: 1rem; border-radius: .5rem; }
pre { white-space: pre-wrap; word-break: break-all; background: #8881; padding: .75rem; border-radius: .5rem; }
.muted { color: #667; font-size: .9rem; }
.ok { color: #0b7a4b; }
</style>
</head>
<body>
<header><span>&#x25C6;</span> ${CLIENT_NAME} <span class="muted">an ID4me relying party (anchorid demo)</span></header>
<main>
${body}
</main>
</body>
</html>
`;
	return { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }, body: html };
}

function errorPage(title, message, details = '', status = 502) {
	return page(title, `<h1>${esc(title)}</h1>
<div class="error" id="error"><p>${esc(message)}</p>${details ? `<pre>${esc(details)}</pre>` : ''}</div>
<p><a href="/">Try again</a></p>`, { status });
}

function table(rows) {
	return `<table>${rows.map(([k, v, attrs = '']) => `<tr${attrs}><th>${esc(k)}</th><td>${esc(show(v))}</td></tr>`).join('')}</table>`;
}

function readBody(req, limit = 8192) {
	return new Promise((resolve, reject) => {
		let size = 0;
		const chunks = [];
		req.on('data', (d) => {
			size += d.length;
			if (size > limit) {
				reject(new DemoError('Request too large', 'The form data is too large.', '', 413));
				req.destroy();
			} else chunks.push(d);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

function cookies(req) {
	const out = {};
	for (const part of (req.headers.cookie ?? '').split(';')) {
		const i = part.indexOf('=');
		if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
	}
	return out;
}

// ------------------------------------------------------------------------------------------------ ID4me

/**
 * canonical(input): the identifier as a DNS name (lower case, no trailing dot), or null when it cannot be one.
 * People sometimes type an e-mail-like or URL-like form; both are refused with a sentence rather than guessed.
 */
function canonical(input) {
	const s = String(input ?? '').trim().toLowerCase().replace(/\.$/, '');
	if (s.length === 0 || s.length > 253) return null;
	if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(s)) return null;
	if (s.split('.').some((l) => l.length > 63 || l.startsWith('-') || l.endsWith('-'))) return null;
	return s;
}

/**
 * lookup(identifier): `anchorid discover` (the authority's own DNSSEC-validating resolver against the test bed)
 * -> {issuer, agent, record, dnssec, output}.  Throws a DemoError naming the outcome when there is no usable,
 * secure record.
 */
function lookup(identifier) {
	const args = [...(opt.conf ? ['-c', opt.conf] : []), 'discover', '--upstream', opt.upstream,
		'--trust-anchor', opt['trust-anchor'], identifier];
	return new Promise((resolve, reject) => {
		execFile(opt.anchorid, args, { timeout: 20000 }, (err, stdout, stderr) => {
			const output = `$ ${opt.anchorid} ${args.join(' ')}\n${stdout}${stderr}`;
			const field = (name) => stdout.match(new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'm'))?.[1];
			if (err) {
				const reason = field('error') ?? (err.killed ? 'timeout' : `exit ${err.code}`);
				reject(new DemoError('No ID4me record', `_openid.${identifier} did not give a DNSSEC-validated ID4me record ` +
					`(${reason}).`, output, 400));
				return;
			}
			const issuer = field('issuer');
			if (!issuer || !/^https:\/\//.test(issuer)) {
				reject(new DemoError('No issuer', `anchorid discover found no issuer for ${identifier}.`, output, 400));
				return;
			}
			const agent = field('agent');
			resolve({ issuer, agent: agent && agent !== '(none)' ? agent : null, record: field('record'), dnssec: field('dnssec'), output });
		});
	});
}

// Registrations, one per issuer (the promise, so that two logins at once register once).
const registrations = new Map();

/** client(issuer): the openid-client Configuration of our registration at ${issuer}, registering on first use. */
function client(issuer) {
	if (!registrations.has(issuer)) {
		const p = oc.dynamicClientRegistration(new URL(issuer), {
			client_name: CLIENT_NAME,
			redirect_uris: [CALLBACK],
			response_types: ['code'],
			grant_types: ['authorization_code'],
			token_endpoint_auth_method: 'client_secret_post',
			id_token_signed_response_alg: 'RS256',
		}, undefined, { execute: [oc.enableNonRepudiationChecks] }).catch((e) => {
			registrations.delete(issuer);
			throw new DemoError('Registration failed', `Discovery or dynamic registration at ${issuer} failed.`, explain(e));
		});
		registrations.set(issuer, p);
	}
	return registrations.get(issuer);
}

// Agents' discovery documents and key sets, per origin.
const agents = new Map();

/** agentKeys(origin): {meta, jwks} of the identity agent at ${origin} (its discovery document and jwks_uri). */
function agentKeys(origin) {
	if (!agents.has(origin)) {
		const p = (async () => {
			const url = `${origin}/.well-known/openid-configuration`;
			let res;
			try {
				res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10000) });
			} catch (e) {
				throw new DemoError('Agent unreachable', `The identity agent's configuration ${url} could not be fetched.`, explain(e));
			}
			const text = await res.text();
			let meta;
			try { meta = JSON.parse(text); } catch { meta = null; }
			if (res.status !== 200 || !meta || typeof meta.jwks_uri !== 'string') {
				throw new DemoError('Agent configuration', `${url} answered ${res.status} without a jwks_uri.`, text.slice(0, 2000));
			}
			return { meta, jwks: jose.createRemoteJWKSet(new URL(meta.jwks_uri)) };
		})();
		p.catch(() => agents.delete(origin));
		agents.set(origin, p);
	}
	return agents.get(origin);
}

/** hostOf(clp): the host[:port] a clp tag names (it may carry a path or a scheme). */
function hostOf(clp) {
	try { return new URL(/^https?:\/\//.test(clp) ? clp : `https://${clp}`).host; } catch { return null; }
}

/**
 * distributed(userinfo, {clientId, sub, agent}): fetch and verify every claim source of ${userinfo}; returns
 * [{claim, value, source, endpoint, iss}] in _claim_names order.
 */
async function distributed(userinfo, { clientId, sub, agent }) {
	const names = userinfo._claim_names ?? {};
	const sources = userinfo._claim_sources ?? {};
	const out = [];
	for (const [src, desc] of Object.entries(sources)) {
		const claims = Object.entries(names).filter(([, s]) => s === src).map(([c]) => c);
		if (claims.length === 0) continue;
		if (!desc || typeof desc.endpoint !== 'string') {
			throw new DemoError('Distributed claims', `Claim source "${src}" has no endpoint (aggregated claims are not used here).`, JSON.stringify(desc));
		}
		const endpoint = new URL(desc.endpoint);
		if (endpoint.protocol !== 'https:') throw new DemoError('Distributed claims', `Claim source "${src}" is not https: ${endpoint}`);
		// The authority names the source; DNS names the agent: they must agree.
		if (agent && hostOf(agent) !== endpoint.host) {
			throw new DemoError('Distributed claims', `Claim source "${src}" is ${endpoint.host}, but the _openid record names the ` +
				`agent ${agent}.`);
		}
		let res;
		try {
			res = await fetch(endpoint, {
				headers: { authorization: `Bearer ${desc.access_token}`, accept: 'application/jwt' },
				redirect: 'error', signal: AbortSignal.timeout(10000),
			});
		} catch (e) {
			throw new DemoError('Distributed claims', `The claim source ${endpoint} could not be reached.`, explain(e));
		}
		const text = await res.text();
		if (res.status !== 200) {
			throw new DemoError('Distributed claims', `The claim source ${endpoint} answered ${res.status}.`,
				`${res.headers.get('www-authenticate') ?? ''}\n${text.slice(0, 2000)}`);
		}
		const { meta, jwks } = await agentKeys(endpoint.origin);
		let payload;
		try {
			({ payload } = await jose.jwtVerify(text.trim(), jwks, { audience: clientId, issuer: meta.issuer }));
		} catch (e) {
			throw new DemoError('Distributed claims', `The JWT from ${endpoint} did not verify against the agent's keys ` +
				`(${meta.jwks_uri}).`, explain(e));
		}
		if (payload.sub !== sub) {
			throw new DemoError('Distributed claims', `The JWT from ${endpoint} is about sub ${payload.sub}, not ${sub}.`);
		}
		for (const c of claims) {
			if (c in payload) out.push({ claim: c, value: payload[c], source: src, endpoint: endpoint.href, iss: payload.iss });
		}
	}
	return out;
}

// ------------------------------------------------------------------------------------------------ pages

const transactions = new Map(); // cookie value -> {identifier, issuer, agent, state, nonce, verifier, at}

function home(prefill = '') {
	return page('Log in', `<h1>Log in with your ID4me identifier</h1>
<p>Type the identifier you got from your identity agent (a DNS name such as <code>demo.example.test</code>).</p>
<form method="post" action="/start">
<label for="identifier">Identifier</label><br>
<input type="text" id="identifier" name="identifier" value="${esc(prefill)}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<br><button type="submit">Continue</button>
</form>
<p class="muted">We will look up <code>_openid.&lt;identifier&gt;</code> (DNSSEC-validated) to find your authority, which
asks for your password; your e-mail address comes from your identity agent, with your consent.</p>`);
}

async function start(req) {
	const form = new URLSearchParams(await readBody(req));
	const raw = form.get('identifier') ?? '';
	const identifier = canonical(raw);
	if (!identifier) return errorPage('Not an identifier', `"${raw}" is not an ID4me identifier (a DNS name like demo.example.test).`, '', 400);
	const dns = await lookup(identifier);
	const config = await client(dns.issuer);
	const state = oc.randomState();
	const nonce = oc.randomNonce();
	const verifier = oc.randomPKCECodeVerifier();
	const url = oc.buildAuthorizationUrl(config, {
		redirect_uri: CALLBACK,
		scope: SCOPE,
		state,
		nonce,
		code_challenge: await oc.calculatePKCECodeChallenge(verifier),
		code_challenge_method: 'S256',
		login_hint: identifier,
		claims: JSON.stringify(CLAIMS),
	});
	const tx = crypto.randomBytes(24).toString('base64url');
	transactions.set(tx, { identifier, issuer: dns.issuer, agent: dns.agent, dnssec: dns.dnssec, record: dns.record, state, nonce, verifier, at: Date.now() });
	return {
		status: 303,
		headers: {
			location: url.href,
			'set-cookie': `${COOKIE}=${tx}; Path=/; Max-Age=${TX_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Lax`,
			'cache-control': 'no-store',
		},
		body: '',
	};
}

async function callback(req, url) {
	const txId = cookies(req)[COOKIE];
	const tx = txId && transactions.get(txId);
	if (txId) transactions.delete(txId);
	const clear = { 'set-cookie': `${COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax` };
	if (!tx || Date.now() - tx.at > TX_TTL_MS) {
		return errorPage('No login in progress', 'This browser has no login in progress here (or it expired); start again.', '', 400);
	}
	if (url.searchParams.get('error')) {
		const e = url.searchParams.get('error');
		const d = url.searchParams.get('error_description');
		const r = errorPage(e === 'access_denied' ? 'Login cancelled' : 'Login failed',
			e === 'access_denied' ? 'You (or the authority) declined the request.' : `The authority answered ${e}.`,
			`error: ${e}${d ? `\nerror_description: ${d}` : ''}`, 400);
		Object.assign(r.headers, clear);
		return r;
	}
	const config = await client(tx.issuer);
	const clientId = config.clientMetadata().client_id;
	let tokens;
	try {
		tokens = await oc.authorizationCodeGrant(config, url, {
			pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true,
		});
	} catch (e) {
		throw new DemoError('Login failed', 'The code exchange or the ID token validation failed.', explain(e));
	}
	const idClaims = tokens.claims();
	if (idClaims['id4me.identifier'] !== undefined && idClaims['id4me.identifier'] !== tx.identifier) {
		throw new DemoError('Wrong identity', `The authority logged in ${idClaims['id4me.identifier']}, not ${tx.identifier}.`);
	}
	let userinfo;
	try {
		userinfo = await oc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
	} catch (e) {
		throw new DemoError('UserInfo failed', 'The authority\'s UserInfo endpoint failed.', explain(e));
	}
	const dist = await distributed(userinfo, { clientId, sub: idClaims.sub, agent: tx.agent });
	const result = {
		identifier: tx.identifier,
		issuer: tx.issuer,
		agent: tx.agent,
		client_id: clientId,
		id_token: idClaims,
		userinfo,
		distributed: Object.fromEntries(dist.map((d) => [d.claim, { value: d.value, source: d.source, endpoint: d.endpoint, iss: d.iss }])),
	};
	const json = JSON.stringify(result).replace(/</g, '\\u003c');
	const name = dist.find((d) => d.claim === 'name')?.value ?? dist.find((d) => d.claim === 'given_name')?.value;
	const r = page('Welcome', `<h1>Welcome${name ? `, ${esc(name)}` : ''}</h1>
<p class="ok">You are logged in as <strong id="identifier">${esc(tx.identifier)}</strong> by <code>${esc(tx.issuer)}</code>.</p>
<h2>From your identity agent</h2>
${dist.length ? `<table id="distributed"><tr><th>claim</th><td><strong>value</strong></td><td><strong>source</strong></td></tr>
${dist.map((d) => `<tr class="claim" data-claim="${esc(d.claim)}"><th>${esc(d.claim)}</th><td>${esc(show(d.value))}</td>` +
	`<td>${esc(d.endpoint)}<br><span class="muted">JWT from ${esc(d.iss)}, verified against its JWKS</span></td></tr>`).join('\n')}
</table>` : '<p id="distributed">No claims: you shared nothing with us (or your agent holds none of those we asked for).</p>'}
<h2>ID token (from your authority)</h2>
${table(Object.entries(idClaims))}
<h2>UserInfo (from your authority)</h2>
${table(Object.entries(userinfo).map(([k, v]) => [k, k === '_claim_sources' ? Object.fromEntries(Object.entries(v).map(([s, d]) =>
		[s, { ...d, access_token: d.access_token ? `${String(d.access_token).slice(0, 24)}...` : d.access_token }])) : v]))}
<h2>DNS</h2>
${table([['_openid record', tx.record ?? ''], ['DNSSEC', tx.dnssec ?? ''], ['issuer', tx.issuer], ['agent (clp)', tx.agent ?? '(none)']])}
<p><a href="/">Log in again</a></p>
<script type="application/json" id="result">${json}</script>`);
	Object.assign(r.headers, clear);
	return r;
}

async function route(req) {
	const url = new URL(req.url, BASE);
	if (req.method === 'GET' && url.pathname === '/') return home(url.searchParams.get('identifier') ?? '');
	if (req.method === 'POST' && url.pathname === '/start') return start(req);
	if (req.method === 'GET' && url.pathname === '/callback') return callback(req, url);
	if (url.pathname === '/favicon.ico') return { status: 404, headers: {}, body: '' };
	return errorPage('Not found', `Nothing at ${url.pathname}.`, '', 404);
}

const server = https.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key) }, async (req, res) => {
	let out;
	try {
		out = await route(req);
	} catch (e) {
		if (!(e instanceof DemoError)) process.stderr.write(`rp: ${e.stack ?? e}\n`);
		out = e instanceof DemoError ? errorPage(e.title, e.message, e.details, e.status)
			: errorPage('Something went wrong', 'The demo relying party failed unexpectedly.', explain(e), 500);
	}
	process.stdout.write(`rp: ${req.method} ${req.url.split('?')[0]} ${out.status}\n`);
	res.writeHead(out.status, { 'x-content-type-options': 'nosniff', ...out.headers });
	res.end(out.body);
});

setInterval(() => {
	const now = Date.now();
	for (const [k, t] of transactions) if (now - t.at > TX_TTL_MS) transactions.delete(k);
}, 60000).unref();

// Nothing to flush: close the listener and every connection, and exit at once.
function stop(sig) {
	process.stderr.write(`rp: ${sig}, stopping\n`);
	server.close();
	server.closeAllConnections?.();
	process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

server.on('error', (e) => {
	process.stderr.write(`rp: ${e.message}\n`);
	process.exit(1);
});
server.listen(PORT, '127.0.0.1', () => {
	process.stdout.write(`rp: ready ${BASE}/\n`);
});
