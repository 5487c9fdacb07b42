// bench/prepare.mjs: set up a running anchorid for bench/run.sh and pre-mint authorization codes.
//
//   node bench/prepare.mjs ISSUER CONF OUTDIR NCODES [MINT_SECONDS]
//
// Creates an identity with the CLI and sets its password through the real setup page, registers a confidential
// client (client_secret_basic, redirect http://127.0.0.1:9/cb, never contacted), logs in once through the real
// login form (the e2e helpers in tests/e2e/lib), redeems that first code for the access token used by the
// userinfo run, then calls /authorize with the session cookie (keep-alive, BENCH_MINT_CONCURRENCY connections) and
// collects the code from each Location header, until it has NCODES codes or MINT_SECONDS (default 30) have
// passed, whichever comes first (a slow /authorize must not blow the run's time budget).  Writes into OUTDIR:
//   codes.txt   one code per line (read by bench/token.lua)
//   env.sh      shell assignments: BENCH_BASIC (Authorization value), BENCH_AT (access token), BENCH_CODES,
//               BENCH_MINT_S (seconds spent minting), BENCH_MINT_RPS
// TLS trust comes from NODE_EXTRA_CA_CERTS (run.sh sets it to the dev CA).

import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import { execFileSync } from 'node:child_process';

import { Browser } from '../tests/e2e/lib/browser.mjs';
import { completeSetup } from '../tests/e2e/lib/server.mjs';
import { discover, register, authorizeUrl, login, callbackCode, redeem, random } from '../tests/e2e/lib/rp.mjs';

const [issuer, conf, outdir, ncodesArg, mintSecondsArg] = process.argv.slice(2);
if (!issuer || !conf || !outdir || !ncodesArg) {
	console.error('usage: node bench/prepare.mjs ISSUER CONF OUTDIR NCODES [MINT_SECONDS]');
	process.exit(2);
}
const NCODES = Number(ncodesArg);
const MINT_SECONDS = Number(mintSecondsArg || 30);
const CONCURRENCY = Number(process.env.BENCH_MINT_CONCURRENCY || 16);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.resolve(ROOT, process.env.ANCHORID || 'build/anchorid');
const IDENTIFIER = 'bench.example.com';
const PASSWORD = 'bench-password-' + random();
const REDIRECT = 'http://127.0.0.1:9/cb';

function shq(s) {
	return "'" + String(s).replace(/'/g, "'\\''") + "'";
}

// 1. Identity: the CLI prints the one-time setup URL; the setup page takes the password.
const out = execFileSync(BIN, ['-c', conf, 'identity', 'add', IDENTIFIER], { cwd: ROOT, encoding: 'utf8' });
const line = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`${issuer}/setup?`));
if (!line) throw new Error(`no setup URL in the CLI output:\n${out}`);
await completeSetup(new URL(line), PASSWORD);

// 2. A confidential client.
const meta = await discover(issuer);
const client = await register(meta, {
	redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic',
	grant_types: ['authorization_code'], response_types: ['code'], client_name: 'anchorid bench',
});

// 3. Log in once (the real login form), redeem that code: the access token for the userinfo run.
const browser = new Browser();
const state = random();
const url = authorizeUrl(meta, {
	response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state,
	login_hint: IDENTIFIER,
});
const result = await login(browser, url, { identifier: IDENTIFIER, password: PASSWORD, redirectUri: REDIRECT });
const first = callbackCode(result, { state, issuer: meta.issuer });
const tokens = await redeem(meta, client, { code: first, redirectUri: REDIRECT });
const cookie = browser.jar.header(new URL(meta.authorization_endpoint));
if (!cookie) throw new Error('no session cookie after login');

// 4. Pre-mint codes: GET /authorize with the session cookie, code from the Location header.
const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const mintUrl = authorizeUrl(meta, {
	response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 'bench',
});
function mintOne() {
	return new Promise((resolve, reject) => {
		const req = https.request(mintUrl, { agent, headers: { cookie, accept: 'text/html' }, timeout: 30000 }, (res) => {
			res.resume();
			res.on('end', () => {
				const loc = res.headers.location;
				const code = res.statusCode === 302 || res.statusCode === 303 ? new URL(loc).searchParams.get('code') : null;
				if (!code) reject(new Error(`/authorize answered ${res.statusCode} ${loc ?? ''}`));
				else resolve(code);
			});
			res.on('error', reject);
		});
		req.on('timeout', () => req.destroy(new Error('timeout on /authorize')));
		req.on('error', reject);
		req.end();
	});
}
const codes = [];
const t0 = process.hrtime.bigint();
const deadline = Date.now() + MINT_SECONDS * 1000;
let next = 0;
async function worker() {
	while (next < NCODES && Date.now() < deadline) {
		next++;
		codes.push(await mintOne());
	}
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const mintS = Number(process.hrtime.bigint() - t0) / 1e9;
agent.destroy();
if (new Set(codes).size !== codes.length) throw new Error('duplicate codes minted');

const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
const basic = 'Basic ' + Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64');
fs.writeFileSync(path.join(outdir, 'codes.txt'), codes.join('\n') + '\n');
fs.writeFileSync(path.join(outdir, 'env.sh'), [
	`BENCH_BASIC=${shq(basic)}`,
	`BENCH_AT=${shq(tokens.access_token)}`,
	`BENCH_CODES=${codes.length}`,
	`BENCH_MINT_S=${mintS.toFixed(2)}`,
	`BENCH_MINT_RPS=${(codes.length / mintS).toFixed(0)}`,
	'',
].join('\n'));
console.log(`prepare: identity ${IDENTIFIER}, client ${client.client_id}, ${codes.length} of ${NCODES} codes in ` +
	`${mintS.toFixed(1)} s (${(codes.length / mintS).toFixed(0)}/s, ${CONCURRENCY} connections)`);
