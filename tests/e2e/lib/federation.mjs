// federation.mjs: the whole ID4me federation on loopback for a test file (drafts/claims.md): the DNSSEC test bed,
// an authority that re-checks _openid at login and fetches agents' configurations (outbound_allow_private, the
// e2e CA), and the reference identity agent `anchorid-agent serve` at https://localhost:PORT, registered at the
// authority, holding identifiers it provisioned with `anchorid-agent provision` and the RFC 2136 hook, and their
// claims set with `anchorid-agent claims set`.
//
//   const fed = await startFederation();
//   fed.bed, fed.srv (lib/server.mjs handle), fed.meta (the authority's discovery document)
//   fed.agent: {issuer, host (as clp names it), port, name, dir, db, keyFile, publicJwk, pid, meta (its discovery
//               document), out(), err(), stop()}
//   await fed.provision(identifier, {password, claims, ttl}) -> {identifier, sub, setupUrl}   (password set at
//               the authority's setup page; claims set at the agent; ttl: of the hook's records, default 60 s)
//   await fed.setClaims(identifier, {name: 'Alice', email_verified: true})  (`claims set ID k=v k:=json`)
//   await fed.agentCli(...args) -> {code, stdout, stderr}   (the agent binary with its --database and --key)
//   await fed.discover(identifier) -> {code, stdout, fields: {name, record, issuer, agent, dnssec, ...}}
//                                      (`anchorid discover --upstream BED --trust-anchor BED`)
//   await fed.stop()
// Consent page helpers (the cookie-jar Browser of lib/browser.mjs): consentInfo(page), walk(browser, url, opts).
// Chromium: launchChromium() with the e2e server key pinned (the authority and the agent share the certificate).
// JWT helpers: jwtParts(token) -> {header, payload}.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDnsBed } from './dnsbed.mjs';
import { startServer, completeSetup, freePort, ensureCerts, BIN, WRAP, ROOT, SLOW } from './server.mjs';
import { runAgent, spawnAgent, HOOK } from './agent.mjs';
import { findForm, describe, pageText } from './browser.mjs';
import { discover as discoverMeta } from './rp.mjs';
import { execFile } from 'node:child_process';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** jwtParts(token): the decoded header and payload of a compact JWS (not verified). */
export function jwtParts(token) {
	const parts = String(token).split('.');
	if (parts.length !== 3) throw new Error(`not a compact JWS: ${String(token).slice(0, 60)}`);
	const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
	return { header: dec(parts[0]), payload: dec(parts[1]), signature: parts[2] };
}

/** runAnchorid(args): the authority binary (no config) to completion; {code, stdout, stderr}. */
function runAnchorid(args) {
	const argv = [...WRAP, BIN, ...args];
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { cwd: ROOT, timeout: 30000 * SLOW }, (err, stdout, stderr) => {
			resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
		});
	});
}

/**
 * startAgentServe({issuer, port, db, keyFile, authority, certs, bed}): `anchorid-agent serve` with the options of
 * src/agent_main.c; resolves when its discovery document answers 200 (throws with its output otherwise).
 */
async function startAgentServe({ issuer, port, db, keyFile, authority, certs, bed, extra = [] }) {
	const args = ['--issuer', issuer, '--port', String(port),
		'--tls-cert', path.join(certs, 'server.pem'), '--tls-key', path.join(certs, 'server.key'),
		'--database', db, '--key', keyFile, '--authority', authority, '--ca-file', path.join(certs, 'dev-ca.pem'),
		'--upstream', bed.upstream, '--trust-anchor', bed.trustAnchor, '--allow-private-authority', ...extra, 'serve'];
	const proc = spawnAgent(args);
	const deadline = Date.now() + 20000 * SLOW;
	let last = '';
	for (;;) {
		if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
			throw new Error(`anchorid-agent serve exited (${proc.child.exitCode ?? proc.child.signalCode}):\n` +
				`anchorid-agent ${args.join(' ')}\n--- stdout:\n${proc.out()}\n--- stderr:\n${proc.err()}`);
		}
		try {
			const res = await fetch(`${issuer}/.well-known/openid-configuration`);
			const text = await res.text();
			if (res.status === 200) return { proc, args, meta: JSON.parse(text) };
			last = `${res.status} ${text.slice(0, 300)}`;
		} catch (e) {
			last = e.cause?.code ?? e.message;
		}
		if (Date.now() > deadline) {
			proc.child.kill('SIGKILL');
			throw new Error(`anchorid-agent serve did not answer ${issuer}/.well-known/openid-configuration (${last}):\n` +
				`--- stdout:\n${proc.out()}\n--- stderr:\n${proc.err()}`);
		}
		await sleep(100);
	}
}

/**
 * claimArgs(claims): `claims set` arguments for ${claims}: strings as name=value, anything else as name:=JSON.
 */
export function claimArgs(claims) {
	return Object.entries(claims).map(([k, v]) => (typeof v === 'string' ? `${k}=${v}` : `${k}:=${JSON.stringify(v)}`));
}

/**
 * startFederation({agentName, config, agentArgs}): the bed, the authority (${config} adds settings), the agent
 * serving at https://localhost:PORT and registered at the authority as ${agentName}.  Every process is stopped
 * by fed.stop() (by its PID) and killed at exit in any case.
 */
export async function startFederation(opts = {}) {
	const certs = ensureCerts();
	const agentName = opts.agentName ?? 'fed';
	const fed = { stopped: false };
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-federation-'));
	fed.tmp = tmp;
	try {
		fed.bed = await startDnsBed();
		fed.srv = await startServer({
			config: {
				login_dns_check: 'on', dns_upstreams: fed.bed.upstream, dns_trust_anchor: fed.bed.trustAnchor,
				dns_cache_max_ttl: 1, outbound_allow_private: true, outbound_ca_file: path.join(certs, 'dev-ca.pem'),
				...(opts.config ?? {}),
			},
		});
		fed.meta = await discoverMeta(fed.srv.issuer);

		// The agent's key: the same key signs its provisioning requests and its UserInfo answers.
		const keyFile = path.join(tmp, 'agent.key.jwk');
		const kg = await runAgent(['--alg', 'ES256', 'keygen', keyFile]);
		if (kg.code !== 0) throw new Error(`anchorid-agent keygen: ${kg.code} ${kg.stderr}${kg.stdout}`);
		const publicJwk = JSON.parse(kg.stdout);
		const pubFile = path.join(tmp, 'agent.pub.jwk');
		fs.writeFileSync(pubFile, JSON.stringify(publicJwk));

		const port = await freePort();
		const issuer = `https://localhost:${port}`;
		await fed.srv.cli('agent', 'add', agentName, '--issuer', issuer, '--jwk', pubFile);
		const db = path.join(tmp, 'agent.db');
		const serve = await startAgentServe({ issuer, port, db, keyFile, authority: fed.srv.issuer, certs, bed: fed.bed,
			extra: opts.agentArgs ?? [] });
		let stopping = null;
		fed.agent = {
			issuer, host: `localhost:${port}`, port, name: agentName, dir: tmp, db, keyFile, publicJwk,
			pid: serve.proc.child.pid, meta: serve.meta, args: serve.args,
			out: serve.proc.out, err: serve.proc.err,
			/** stop(): SIGTERM, wait up to 10 s, throw unless it exits 0. */
			stop() {
				stopping ??= (async () => {
					const c = serve.proc.child;
					if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
					const res = await Promise.race([serve.proc.exited, sleep(10000 * SLOW).then(() => null)]);
					if (res === null) {
						c.kill('SIGKILL');
						throw new Error(`anchorid-agent serve (pid ${c.pid}) did not stop within 10 s of SIGTERM`);
					}
					if (res.code !== 0) {
						throw new Error(`anchorid-agent serve exited with ${res.code ?? res.signal} after SIGTERM (want 0)\n` +
							`--- stderr:\n${serve.proc.err().slice(-4000)}`);
					}
				})();
				return stopping;
			},
		};

		const hookEnv = { DNS_HOOK_SERVER: `127.0.0.1@${fed.bed.port}`, DNS_HOOK_ZONE: 'example.test', DNS_HOOK_TSIG: fed.bed.tsigKeyFile };
		const provOpts = ['--authority', fed.srv.issuer, '--name', agentName, '--key', keyFile, '--ca-file', fed.srv.ca,
			'--hook', HOOK, '--wait', '15'];

		fed.agentCli = (...args) => runAgent(['--database', db, '--key', keyFile, ...args]);

		fed.setClaims = async (identifier, claims) => {
			const r = await fed.agentCli('claims', 'set', identifier, ...claimArgs(claims));
			if (r.code !== 0) {
				throw new Error(`anchorid-agent claims set ${identifier} ${claimArgs(claims).join(' ')}: ${r.code}\n${r.stderr}${r.stdout}`);
			}
			return r;
		};

		fed.provision = async (identifier, { password, claims, ttl } = {}) => {
			const env = ttl === undefined ? hookEnv : { ...hookEnv, DNS_HOOK_TTL: String(ttl) };
			const prov = await runAgent([...provOpts, 'provision', identifier], { env });
			if (prov.code !== 0) throw new Error(`anchorid-agent provision ${identifier}: ${prov.code}\n${prov.stderr}${prov.stdout}`);
			const setupUrl = fed.srv.setupUrl(prov.stdout);
			if (password !== undefined) await completeSetup(setupUrl, password);
			const st = await runAgent([...provOpts, 'status', identifier], { env: hookEnv });
			let sub;
			try { sub = JSON.parse(st.stdout).sub; } catch { /* reported by the caller's checks */ }
			if (claims) await fed.setClaims(identifier, claims);
			return { identifier, sub, setupUrl };
		};

		fed.discover = async (identifier) => {
			const r = await runAnchorid(['discover', '--upstream', fed.bed.upstream, '--trust-anchor', fed.bed.trustAnchor, identifier]);
			const fields = {};
			for (const line of r.stdout.split('\n')) {
				const m = /^([a-z_]+):\s+(.*)$/.exec(line);
				if (m) fields[m[1]] = m[2];
			}
			return { ...r, fields };
		};

		fed.stop = async () => {
			if (fed.stopped) return;
			fed.stopped = true;
			const errors = [];
			for (const f of [() => fed.agent?.stop(), () => fed.srv?.stop(), () => fed.bed?.stop()]) {
				try { await f(); } catch (e) { errors.push(e); }
			}
			if (!process.env.E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
			if (errors.length) throw errors[0];
		};
		return fed;
	} catch (e) {
		try { await fed.agent?.stop(); } catch { /* the first error matters */ }
		try { await fed.srv?.stop(); } catch { /* idem */ }
		try { await fed.bed?.stop(); } catch { /* idem */ }
		if (!process.env.E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
		throw e;
	}
}

// --------------------------------------------------------------------------------------------- consent page

/**
 * claimOfCheckbox(attrs, known): the claim a consent checkbox stands for: its value when that is a claim name,
 * else its name without a "claim_"/"claims[...]"-style wrapper.
 */
function claimOfCheckbox(a, known) {
	if (a.value !== undefined && known.has(a.value)) return a.value;
	if (a.name !== undefined && known.has(a.name)) return a.name;
	const m = /^(?:claims?|consent|grant)(?:[_.:-]|\[)([A-Za-z0-9_.:-]+)\]?$/.exec(a.name ?? '');
	if (m) return m[1];
	if (a.value && a.value !== 'on' && /^[A-Za-z0-9_.:-]+$/.test(a.value)) return a.value;
	return a.name;
}

/**
 * consentInfo(page, known): the consent form of ${page} and what it offers: {form, checkboxes: [{claim, name,
 * value, checked, disabled, hasValue}], csrfField ([name, value] of the hidden CSRF field or undefined), text}; undefined when the
 * page has no form posting to /consent.  ${known} is a set of claim names (helps map checkboxes to claims).
 */
export function consentInfo(page, known = new Set()) {
	const form = findForm(page.body, '/consent', page.url.href);
	if (!form) return undefined;
	const checkboxes = form.inputs.filter((a) => (a.type ?? '').toLowerCase() === 'checkbox' && a.name !== undefined)
		.map((a) => ({ claim: claimOfCheckbox(a, known), name: a.name, value: a.value ?? 'on', checked: a.checked !== undefined,
			disabled: a.disabled !== undefined, hasValue: a.value !== undefined }));
	const hidden = form.inputs.filter((a) => (a.type ?? '').toLowerCase() === 'hidden' && /csrf/i.test(a.name ?? ''));
	return { form, checkboxes, csrfField: hidden.length ? [hidden[0].name, hidden[0].value ?? ''] : undefined, text: pageText(page.body) };
}

/**
 * consentFields(info, grant, {decision, dropCsrf, csrf}): the fields a browser posts when the person checks exactly
 * the claims in ${grant} and presses the ${decision} button ('allow' or 'deny').
 */
export function consentFields(info, grant, { decision = 'allow', dropCsrf = false, csrf } = {}) {
	const boxNames = new Set(info.checkboxes.map((c) => c.name));
	const fields = info.form.fields.filter(([n]) => !boxNames.has(n)).map(([n, v]) => [n, v]);
	for (const c of info.checkboxes) if (grant.includes(c.claim) && !c.disabled) fields.push([c.name, c.value]);
	const button = info.form.buttons.find((b) => b.name === 'decision' && b.value === decision) ??
		info.form.buttons.find((b) => new RegExp(decision, 'i').test(`${b.value} ${b.text}`));
	if (!button) throw new Error(`the consent form has no ${decision} button: ${JSON.stringify(info.form.buttons)}`);
	if (button.name) fields.push([button.name, button.value]);
	const out = dropCsrf && info.csrfField ? fields.filter(([n]) => n !== info.csrfField[0]) : fields;
	if (csrf !== undefined && info.csrfField) {
		for (const f of out) if (f[0] === info.csrfField[0]) f[1] = csrf;
	}
	return out;
}

/**
 * walk(browser, url, {identifier, password, redirectUri, consent, known}): a person's trip through the authority
 * from the authorization request ${url} to ${redirectUri}: the login form is filled when shown; on a consent page
 * consent(page, info) returns {grant: [claims], decision} (or throws).  Returns {callback, params, sawLogin,
 * consents: [{page, info}]}.  Throws with the page when the walk ends anywhere else.
 */
export async function walk(browser, url, { identifier, password, redirectUri, consent, known = new Set(), maxSteps = 8 }) {
	const stop = (u) => u.href.startsWith(redirectUri);
	let step = await browser.follow(url, { stop });
	let sawLogin = false;
	const consents = [];
	for (let i = 0; i < maxSteps; i++) {
		const { page, stoppedAt } = step;
		if (stoppedAt) return { callback: stoppedAt, params: stoppedAt.searchParams, sawLogin, consents };
		if (page.status !== 200) throw new Error(`walk: unexpected answer: ${describe(page)}`);
		const lf = findForm(page.body, '/login', page.url.href);
		const info = consentInfo(page, known);
		if (lf && lf.inputs.some((a) => a.name === 'password')) {
			if (sawLogin) throw new Error(`login rejected (the login form came back): ${describe(page)}`);
			if (password === undefined) throw new Error(`walk: login form shown, no password given: ${describe(page)}`);
			sawLogin = true;
			const values = { password };
			if (identifier !== undefined) values.identifier = identifier;
			step = await browser.follow(await browser.submit(page, lf, values, lf.buttons.length ? { button: lf.buttons[0] } : {}), { stop });
		} else if (info) {
			consents.push({ page, info });
			if (!consent) throw new Error(`walk: a consent page where none was expected: ${describe(page)}`);
			const { grant = [], decision = 'allow' } = await consent(page, info);
			const fields = consentFields(info, grant, { decision });
			const action = new URL(info.form.action || page.url.href, page.url);
			step = await browser.follow(await browser.post(action, fields, { origin: page.url.origin }), { stop });
		} else {
			throw new Error(`walk: neither a login nor a consent form: ${describe(page)}`);
		}
	}
	throw new Error(`walk: more than ${maxSteps} pages`);
}

// -------------------------------------------------------------------------------------------------- Chromium

/** spkiHash(pem): base64 SHA-256 of the first certificate's SubjectPublicKeyInfo (Chromium's pin format). */
export function spkiHash(pem) {
	const cert = new crypto.X509Certificate(pem);
	return crypto.createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** launchChromium(): headless Chromium (playwright-core) trusting the e2e server key by its pin only. */
export async function launchChromium() {
	const { chromium } = await import('playwright-core');
	const certs = ensureCerts();
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			`--ignore-certificate-errors-spki-list=${spkiHash(fs.readFileSync(path.join(certs, 'server.pem'), 'utf8'))}`],
	});
}
