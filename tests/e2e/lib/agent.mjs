// agent.mjs: an identity agent by hand, for the provisioning API of drafts/agent-provisioning.md: keys (jose),
// nonces, flattened JWS requests (§3), the dns-01 key authorization (§4), and the reference agent binary.
//
//   const key = await makeKey('ES256');            {alg, publicKey, privateKey, publicJwk, privateJwk, thumbprint}
//   const one = new AgentClient(srv.issuer, {name: 'one', key});
//   await one.post(url, payload, opts) -> {status, headers, body, text, sent}      (body: parsed JSON or text)
//   await one.createAuthz(identifier, action), one.read(authz), one.finalize(authz), one.status(identifier),
//   one.setupUrl(identifier)
//   one.signed(url, payload, opts) -> the JWS body text (to send later, twice, or with another content type)
//   one.send(url, bodyText, {contentType}) -> the answer to a raw POST
//   manualJws(header, payloadBytes, sign) -> a flattened JWS built without jose's checks (alg none, crit, b64)
//   keyAuthorization(token, thumbprint) -> RFC 8555 §8.4 TXT value
//   runAgent(args, {env, timeoutMs}) -> {code, stdout, stderr}; spawnAgent(args, {env}) -> a tracked child
// Every answer's Replay-Nonce is kept (client.nonce) for the next request, as ACME clients do, and recorded in
// client.seen (every response, in order) so that a test can check that each one carried a fresh nonce.

import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import * as jose from 'jose';

import { ROOT, SLOW, track } from './server.mjs';

export const AGENT_BIN = path.resolve(ROOT, process.env.ANCHORID_AGENT || 'build/anchorid-agent');
export const HOOK = path.join(ROOT, 'src/agentd/dns-hook-rfc2136');
export const JOSE_JSON = 'application/jose+json';

const b64u = (x) => Buffer.from(x).toString('base64url');

/** makeKey(alg): a fresh key pair for ${alg} (ES256, ES384, RS256, PS256) with its JWKs and RFC 7638 thumbprint. */
export async function makeKey(alg = 'ES256') {
	const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
	const publicJwk = await jose.exportJWK(publicKey);
	const privateJwk = await jose.exportJWK(privateKey);
	const thumbprint = await jose.calculateJwkThumbprint(publicJwk, 'sha256');
	return { alg, publicKey, privateKey, publicJwk, privateJwk, thumbprint };
}

/** keyFromPrivateJwk(jwk, alg): the key record of makeKey for an existing private JWK (e.g. from keygen). */
export async function keyFromPrivateJwk(jwk, alg) {
	const { d, p, q, dp, dq, qi, ...pub } = jwk; // eslint-disable-line no-unused-vars
	const publicJwk = Object.fromEntries(Object.entries(pub).filter(([k]) => !['key_ops', 'ext'].includes(k)));
	const privateKey = await jose.importJWK(jwk, alg);
	const publicKey = await jose.importJWK(publicJwk, alg);
	const thumbprint = await jose.calculateJwkThumbprint(publicJwk, 'sha256');
	return { alg, publicKey, privateKey, publicJwk, privateJwk: jwk, thumbprint };
}

/** keyAuthorization(token, thumbprint): base64url(SHA-256(token "." thumbprint)), the dns-01 TXT value. */
export function keyAuthorization(token, thumbprint) {
	return crypto.createHash('sha256').update(`${token}.${thumbprint}`).digest('base64url');
}

/**
 * manualJws(header, payload, sign): a flattened JWS {protected, payload, signature} built by hand: ${payload} a
 * string (used as is) or an object (JSON), ${sign}(signingInputBuffer) returns the signature bytes (or a
 * Buffer.alloc(0)).  For what jose refuses to make: alg none, crit, b64.
 */
export function manualJws(header, payload, sign) {
	const p = b64u(JSON.stringify(header));
	const pl = typeof payload === 'string' ? b64u(payload) : b64u(JSON.stringify(payload));
	const sig = sign(Buffer.from(`${p}.${pl}`, 'ascii'));
	return { protected: p, payload: pl, signature: b64u(sig) };
}

/** es256Signer(key): a manualJws signer with ${key} (makeKey's record, EC P-256). */
export function es256Signer(key) {
	const ko = crypto.KeyObject.from(key.privateKey);
	return (input) => crypto.sign('sha256', input, { key: ko, dsaEncoding: 'ieee-p1363' });
}

/** parseBody(text): JSON when it parses, else the text. */
function parseBody(text) {
	try { return JSON.parse(text); } catch { return text; }
}

export class AgentClient {
	/** new AgentClient(issuer, {name, key}): an agent called ${name} (the kid) signing with ${key} (makeKey). */
	constructor(issuer, { name, key }) {
		this.issuer = issuer;
		this.name = name;
		this.key = key;
		this.nonce = null;
		this.seen = [];
	}

	get base() { return `${this.issuer}/agent/v1`; }
	get authzUrl() { return `${this.base}/authz`; }
	identifierUrl(identifier) { return `${this.base}/identifiers/${identifier}`; }

	/** record(res): remember the answer's Replay-Nonce for the next request. */
	record(method, url, res) {
		const n = res.headers.get('replay-nonce');
		this.seen.push({ method, url: String(url), status: res.status, nonce: n, cacheControl: res.headers.get('cache-control') });
		if (n) this.nonce = n;
	}

	/** newNonce(method): a fresh nonce from GET or HEAD /agent/v1/nonce (throws when there is none). */
	async newNonce(method = 'HEAD') {
		const res = await fetch(`${this.base}/nonce`, { method });
		this.seen.push({ method, url: `${this.base}/nonce`, status: res.status, nonce: res.headers.get('replay-nonce'),
			cacheControl: res.headers.get('cache-control') });
		const n = res.headers.get('replay-nonce');
		if (!n) throw new Error(`${method} ${this.base}/nonce: ${res.status}, no Replay-Nonce`);
		return n;
	}

	/** takeNonce(): the kept nonce (cleared at once, so that parallel requests never share one) or a new one. */
	async takeNonce() {
		const n = this.nonce;
		this.nonce = null;
		return n ?? this.newNonce();
	}

	/**
	 * signed(url, payload, opts): the JWS text for a POST to ${url}; ${payload} an object, '' (POST-as-GET) or a
	 * raw string.  opts: nonce, headerUrl (the protected "url"), kid, alg, key (a makeKey record), extra (more
	 * protected header members), omit (header members to leave out), members (more top-level JWS members).
	 */
	async signed(url, payload, opts = {}) {
		const nonce = 'nonce' in opts ? opts.nonce : await this.takeNonce();
		const key = opts.key ?? this.key;
		const header = { alg: opts.alg ?? key.alg, kid: opts.kid ?? this.name, nonce, url: opts.headerUrl ?? String(url),
			...(opts.extra ?? {}) };
		for (const k of opts.omit ?? []) delete header[k];
		const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(JSON.stringify(payload), 'utf8');
		const jws = await new jose.FlattenedSign(bytes).setProtectedHeader(header).sign(key.privateKey);
		return JSON.stringify({ ...jws, ...(opts.members ?? {}) });
	}

	/** send(url, text, {contentType}): POST ${text} as is; {status, headers, body, text, sent}. */
	async send(url, text, { contentType = JOSE_JSON } = {}) {
		const headers = contentType === null ? {} : { 'content-type': contentType };
		const res = await fetch(url, { method: 'POST', headers, body: text });
		const body = await res.text();
		this.record('POST', url, res);
		return { status: res.status, headers: res.headers, body: parseBody(body), text: body, sent: text };
	}

	/** post(url, payload, opts): sign (see signed) and send; opts.contentType overrides the media type. */
	async post(url, payload, opts = {}) {
		return this.send(url, await this.signed(url, payload, opts), { contentType: opts.contentType ?? JOSE_JSON });
	}

	/** createAuthz(identifier, action): POST /agent/v1/authz. */
	createAuthz(identifier, action = 'create', opts = {}) {
		return this.post(this.authzUrl, { identifier, action }, opts);
	}

	/** read(authz): POST-as-GET its url. */
	read(authz, opts = {}) {
		return this.post(authz.url, '', opts);
	}

	/** finalize(authz): POST {} to its finalize URL. */
	finalize(authz, opts = {}) {
		return this.post(authz.finalize, {}, opts);
	}

	/** status(identifier): POST-as-GET /agent/v1/identifiers/{identifier}. */
	status(identifier, opts = {}) {
		return this.post(this.identifierUrl(identifier), '', opts);
	}

	/** setupUrl(identifier): POST {} to /agent/v1/identifiers/{identifier}/setup-url. */
	setupUrl(identifier, opts = {}) {
		return this.post(`${this.identifierUrl(identifier)}/setup-url`, {}, opts);
	}

	/** challengeValue(authz): what this agent's key makes of the authorization's token. */
	challengeValue(authz) {
		return keyAuthorization(authz.challenge.token, this.key.thumbprint);
	}
}

/** writeJwk(dir, file, jwk): write ${jwk} as JSON to ${dir}/${file} (mode 0600); returns the path. */
export function writeJwk(dir, file, jwk) {
	const p = path.join(dir, file);
	fs.writeFileSync(p, JSON.stringify(jwk) + '\n', { mode: 0o600 });
	return p;
}

/** runAgent(args, {env, timeoutMs}): run the reference agent to completion; {code, stdout, stderr, signal}. */
export function runAgent(args, { env = {}, timeoutMs = 60000 * SLOW } = {}) {
	if (!fs.existsSync(AGENT_BIN)) throw new Error(`no agent binary at ${AGENT_BIN}: run make all first (or set ANCHORID_AGENT)`);
	return new Promise((resolve) => {
		execFile(AGENT_BIN, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, ...env } },
			(err, stdout, stderr) => {
				const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
				resolve({ code, stdout, stderr, signal: err?.signal ?? null });
			});
	});
}

/**
 * spawnAgent(args, {env}): start the reference agent and return {child, out(), err(), exited (a promise of
 * {code, signal}), waitFor(regex, ms)}; the child is killed at process exit if still running.
 */
export function spawnAgent(args, { env = {} } = {}) {
	if (!fs.existsSync(AGENT_BIN)) throw new Error(`no agent binary at ${AGENT_BIN}: run make all first (or set ANCHORID_AGENT)`);
	const child = track(spawn(AGENT_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => { out += d; });
	child.stderr.on('data', (d) => { err += d; });
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	return {
		child,
		out: () => out,
		err: () => err,
		exited,
		/** waitFor(re, ms): resolves with the match of ${re} in stdout, or null when the agent exits or time runs out. */
		waitFor(re, ms = 30000 * SLOW) {
			return new Promise((resolve) => {
				const check = () => {
					const m = out.match(re);
					if (m) { cleanup(); resolve(m); }
				};
				const timer = setTimeout(() => { cleanup(); resolve(null); }, ms);
				const onExit = () => setImmediate(() => { cleanup(); resolve(out.match(re)); });
				const cleanup = () => { clearTimeout(timer); child.stdout.off('data', check); child.off('exit', onExit); };
				child.stdout.on('data', check);
				child.on('exit', onExit);
				if (child.exitCode !== null || child.signalCode !== null) onExit();
				else check();
			});
		},
	};
}
