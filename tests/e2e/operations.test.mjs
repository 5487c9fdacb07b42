// operations.test.mjs: anchorid as an operator meets it: the configuration check (-n), plain HTTP rules, the
// embedded defaults, graceful shutdown, the access log, the identity and keys commands, and the HTTP basics
// (404, 405 with Allow, HEAD, Content-Type, CORS).  README.md "Using it", "Configuration" and anchorid.conf.example
// are the specification.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { startServer, completeSetup, configText, freePort, track, ensureCerts, BIN, WRAP, SLOW, ROOT } from './lib/server.mjs';
import { Browser, findForm, describe } from './lib/browser.mjs';
import { discover, register, authorizeUrl, pkce, random, login, callbackCode, redeem } from './lib/rp.mjs';

const PASSWORD = 'correct horse battery staple';
const CB = 'https://rp.example/cb';

// Temporary directories made here; removed at the end unless E2E_KEEP is set.
const tmpDirs = [];
function tmpDir(tag) {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), `anchorid-ops-${tag}-`));
	tmpDirs.push(d);
	return d;
}
after(() => {
	if (process.env.E2E_KEEP) return;
	for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** run(args, {cwd}): the binary (wrapped) to completion: {code, stdout, stderr}. */
function run(args, { cwd = ROOT, timeoutMs = 30000 * SLOW } = {}) {
	const argv = [...WRAP, BIN, ...args];
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { cwd, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout, stderr, signal: err?.signal ?? null });
		});
	});
}

/**
 * spawnServer(args, {cwd}): a server process started by hand (for what startServer cannot do: another issuer, no
 * config file).  Resolves when it printed "anchorid: ready" or exited: {child, ready, out(), err(), exited, stop()}
 * where stop() sends SIGTERM and resolves the exit {code, signal} (SIGKILL after 10 s).
 */
async function spawnServer(args, { cwd = ROOT, readyMs = 20000 * SLOW } = {}) {
	const argv = [...WRAP, BIN, ...args];
	const child = track(spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => { out += d; });
	child.stderr.on('data', (d) => { err += d; });
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	let status = null;
	exited.then((s) => { status = s; });
	const ready = await new Promise((resolve) => {
		const timer = setTimeout(() => resolve(false), readyMs);
		const check = () => { if (/^anchorid: ready\s*$/m.test(out)) { clearTimeout(timer); resolve(true); } };
		child.stdout.on('data', check);
		exited.then(() => setImmediate(() => { clearTimeout(timer); resolve(/^anchorid: ready\s*$/m.test(out)); }));
	});
	const stop = async () => {
		if (status === null) child.kill('SIGTERM');
		const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 10000 * SLOW).unref())]);
		if (res === null) {
			child.kill('SIGKILL');
			await exited;
			throw new Error(`anchorid did not stop within 10 s of SIGTERM\n--- stderr:\n${err}`);
		}
		return res;
	};
	return { child, ready, out: () => out, err: () => err, exited, stop };
}

/** agentRequest(agent, url, {method, headers, body}): one https request through ${agent}; resolves
 * {status, headers, body} once the whole body has arrived, rejects on a reset or an incomplete response. */
function agentRequest(agent, url, { method = 'GET', headers = {}, body } = {}) {
	return new Promise((resolve, reject) => {
		const req = https.request(new URL(url), { method, headers, agent }, (res) => {
			const chunks = [];
			res.on('data', (d) => chunks.push(d));
			res.on('error', reject);
			res.on('aborted', () => reject(new Error('response aborted')));
			res.on('end', () => {
				if (!res.complete) reject(new Error('incomplete response'));
				else resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() });
			});
		});
		req.on('error', reject);
		req.end(body);
	});
}

/** portFree(port): whether 127.0.0.1:${port} can be bound right now. */
function portFree(port) {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.once('error', () => resolve(false));
		s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
	});
}

/** loginAttempt(meta, client, identifier, password, browser): one authorization request and, when the login form
 * comes, one submission.  Resolves {ok, code, page, sawLogin}: ok when the authority redirected to CB with a code. */
async function loginAttempt(meta, client, identifier, password, browser = new Browser()) {
	const p = pkce();
	const state = random();
	const url = authorizeUrl(meta, {
		response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state,
		code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: identifier,
	});
	const stop = (u) => u.origin + u.pathname === CB;
	let { page, stoppedAt } = await browser.follow(url, { stop });
	let sawLogin = false;
	if (!stoppedAt) {
		const lf = findForm(page.body, '/login', page.url.href);
		if (page.status !== 200 || !lf) throw new Error(`no login form: ${describe(page)}`);
		sawLogin = true;
		({ page, stoppedAt } = await browser.follow(await browser.submit(page, lf, { identifier, password }), { stop }));
	}
	const code = stoppedAt?.searchParams.get('code') ?? null;
	if (stoppedAt) assert.equal(stoppedAt.searchParams.get('state'), state, 'state round trip');
	return { ok: Boolean(code), code, verifier: p.verifier, page, sawLogin, callback: stoppedAt };
}

// ---------------------------------------------------------------------------------------------- configuration

test('config check: anchorid -n reports file:line: message', async () => {
	const dir = tmpDir('conf');
	const cases = [
		{ name: 'unknown.conf', text: '# a comment\nport = 9000\n\nno_such_key = 1\n', line: 4, msg: /unknown key "no_such_key"/ },
		{ name: 'number.conf', text: 'port = 9000\nconn_timeout = 12x\n', line: 2, msg: /bad value for conn_timeout/ },
		{ name: 'range.conf', text: 'port = 70000\n', line: 1, msg: /bad value for port/ },
		{ name: 'duplicate.conf', text: 'port = 9000\n# again\nlog_level = info\nport = 9001\n', line: 4, msg: /duplicate key "port"/ },
	];
	for (const c of cases) {
		const file = path.join(dir, c.name);
		fs.writeFileSync(file, c.text);
		const r = await run(['-n', '-c', file]);
		assert.notEqual(r.code, 0, `${c.name}: -n must fail (stdout ${r.stdout})`);
		const first = r.stderr.split('\n')[0];
		assert.ok(first.startsWith(`${file}:${c.line}: `), `${c.name}: want the prefix "${file}:${c.line}: ", got: ${r.stderr}`);
		assert.match(first, c.msg, `${c.name}: message`);
		assert.doesNotMatch(r.stdout, /configuration OK/, `${c.name}: no OK on stdout`);
	}
	// The documented example (every line commented out) is a valid configuration.
	const example = path.join(ROOT, 'anchorid.conf.example');
	const ok = await run(['-n', '-c', example]);
	assert.equal(ok.code, 0, `anchorid -n -c anchorid.conf.example: ${ok.stderr}`);
	assert.match(ok.stdout, /configuration OK/);
	assert.equal(ok.stderr, '', 'no diagnostics for the example');
	// The example with every default uncommented is valid too: the documented defaults are accepted values.
	const uncommented = fs.readFileSync(example, 'utf8').split('\n')
		.filter((l) => /^#[a-z_0-9]+ = /.test(l)).map((l) => l.slice(1));
	assert.ok(uncommented.length >= 30, `expected every key in the example, found ${uncommented.length}`);
	const all = path.join(dir, 'defaults.conf');
	fs.writeFileSync(all, uncommented.join('\n') + '\n');
	const r2 = await run(['-n', '-c', all]);
	assert.equal(r2.code, 0, `the example's defaults, uncommented, must be valid: ${r2.stderr}`);
});

test('config: plain HTTP refused on a non-loopback listen address without a trusted proxy', async () => {
	const dir = tmpDir('plain');
	const check = async (name, values) => {
		const file = path.join(dir, name);
		fs.writeFileSync(file, configText(values));
		return { file, ...(await run(['-n', '-c', file])) };
	};
	const refused = await check('wide.conf', { issuer: 'https://auth.example.net', tls: false, listen: '0.0.0.0' });
	assert.notEqual(refused.code, 0, `tls = no on 0.0.0.0 without trusted_proxies must be refused: ${refused.stdout}`);
	assert.match(refused.stderr, /plain HTTP/i);
	assert.ok(refused.stderr.startsWith(`${refused.file}:`), `error names the file: ${refused.stderr}`);
	const v6 = await check('wide6.conf', { issuer: 'https://auth.example.net', tls: false, listen: '::' });
	assert.notEqual(v6.code, 0, `tls = no on :: must be refused: ${v6.stdout}`);
	const httpIssuer = await check('wide-http.conf', { issuer: 'http://auth.example.net', tls: false, listen: '0.0.0.0' });
	assert.notEqual(httpIssuer.code, 0, 'http issuer on 0.0.0.0 must be refused');

	for (const [name, values] of [
		['loopback.conf', { issuer: 'http://127.0.0.1:8080', tls: false, listen: '127.0.0.1' }],
		['loopback6.conf', { issuer: 'http://[::1]:8080', tls: false, listen: '::1' }],
		['proxy.conf', { issuer: 'https://auth.example.net', tls: false, listen: '0.0.0.0', trusted_proxies: '10.0.0.1' }],
	]) {
		const r = await check(name, values);
		assert.equal(r.code, 0, `${name} must be accepted: ${r.stderr}`);
		assert.match(r.stdout, /configuration OK/);
	}
});

test('plain HTTP on loopback serves discovery', async () => {
	const dir = tmpDir('http');
	const port = await freePort();
	const issuer = `http://127.0.0.1:${port}`;
	const conf = path.join(dir, 'anchorid.conf');
	fs.writeFileSync(conf, configText({
		issuer, listen: '127.0.0.1', port, tls: false, database: path.join(dir, 'anchorid.db'),
		www_dir: path.join(ROOT, 'www'), access_log: path.join(dir, 'access.log'), argon2_m_cost: 1024, argon2_t_cost: 1,
	}));
	const s = await spawnServer(['-c', conf]);
	try {
		assert.ok(s.ready, `server did not start:\n${s.out()}\n${s.err()}`);
		assert.match(s.out(), new RegExp(`^anchorid: issuer ${issuer.replace(/[.[\]]/g, '\\$&')}$`, 'm'));
		const res = await fetch(`${issuer}/.well-known/openid-configuration`);
		const text = await res.text();
		assert.equal(res.status, 200, text);
		assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
		const meta = JSON.parse(text);
		assert.equal(meta.issuer, issuer);
		for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'registration_endpoint', 'userinfo_endpoint']) {
			assert.ok(meta[k].startsWith(`${issuer}/`), `${k} is under the http issuer: ${meta[k]}`);
		}
		assert.equal(res.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
		const jwks = await fetch(meta.jwks_uri);
		assert.equal(jwks.status, 200);
		assert.ok((await jwks.json()).keys.length >= 2);
	} finally {
		const st = await s.stop();
		assert.equal(st.code, 0, `exit after SIGTERM: ${JSON.stringify(st)}\n${s.err()}`);
	}
});

test('embedded defaults: the binary starts with no config file', async (t) => {
	if (!(await portFree(8443))) {
		t.skip('port 8443 (the default) is in use on this machine');
		return;
	}
	const certs = ensureCerts();
	const dir = tmpDir('defaults');
	fs.mkdirSync(path.join(dir, 'certs'));
	fs.copyFileSync(path.join(certs, 'server.pem'), path.join(dir, 'certs/server.pem'));
	fs.copyFileSync(path.join(certs, 'server.key'), path.join(dir, 'certs/server.key'));
	fs.symlinkSync(path.join(ROOT, 'www'), path.join(dir, 'www'));
	assert.ok(!fs.existsSync(path.join(dir, 'var')), 'var/ does not exist before the first start');

	const check = await run(['-n'], { cwd: dir });
	assert.equal(check.code, 0, `anchorid -n with no file: ${check.stderr}`);
	assert.match(check.stdout, /\(defaults\): configuration OK/);

	const s = await spawnServer([], { cwd: dir, readyMs: 60000 * SLOW });
	try {
		if (!s.ready && /cannot listen|in use/i.test(s.err())) {
			t.skip(`port 8443 was taken meanwhile: ${s.err().trim().split('\n').pop()}`);
			return;
		}
		assert.ok(s.ready, `not ready:\n--- stdout:\n${s.out()}\n--- stderr:\n${s.err()}`);
		const issuer = 'https://localhost:8443';
		const lines = s.out().split('\n');
		assert.ok(lines.includes(`anchorid: issuer ${issuer}`), `prints the issuer:\n${s.out()}`);
		for (const [name, p] of [['discovery', '/.well-known/openid-configuration'], ['jwks', '/jwks.json'],
			['registration', '/register'], ['authorization', '/authorize'], ['token', '/token'],
			['userinfo', '/userinfo'], ['revocation', '/revoke'], ['end_session', '/logout']]) {
			assert.ok(lines.some((l) => new RegExp(`^\\s+${name}\\s+${issuer}${p.replace(/\./g, '\\.')}$`).test(l)),
				`prints the ${name} endpoint ${issuer}${p}:\n${s.out()}`);
		}
		assert.ok(lines.includes('anchorid: ready'));
		assert.ok(fs.statSync(path.join(dir, 'var/anchorid.db')).size > 0, 'var/anchorid.db created');
		const meta = await discover(issuer);
		assert.equal(meta.jwks_uri, `${issuer}/jwks.json`);
	} finally {
		const st = await s.stop();
		if (s.ready) assert.equal(st.code, 0, `exit status after SIGTERM: ${JSON.stringify(st)}\n${s.err()}`);
	}
});

// ------------------------------------------------------------------------------------------- graceful shutdown

test('graceful shutdown: an in-flight request finishes, then exit 0', async (t) => {
	// A slow password hash keeps the login POST in flight when SIGTERM comes 30 ms after it was sent.  Under a
	// wrapper (valgrind) everything is 10-50 times slower: a cheaper hash keeps it within http_stop's 10 s wait.
	const cost = WRAP.length ? { argon2_m_cost: 8192, argon2_t_cost: 2 } : { argon2_m_cost: 65536, argon2_t_cost: 4 };
	const srv = await startServer({ config: { ...cost, threads: 2 } });
	let stopped = false;
	try {
		await srv.addIdentity('alice.example.com', PASSWORD);
		const meta = await discover(srv.issuer);
		const client = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
		const browser = new Browser();
		const p = pkce();
		const state = random();
		const url = authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state,
			code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: 'alice.example.com',
		});
		const { page } = await browser.follow(url);
		const lf = findForm(page.body, '/login', page.url.href);
		assert.ok(lf, `login form: ${describe(page)}`);

		// The POST goes over a connection that is already open (TLS done, one request served), so 30 ms after
		// sending it the server has surely read it, also when wrapped.
		const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
		const warm = await agentRequest(agent, `${srv.issuer}/.well-known/openid-configuration`);
		assert.equal(warm.status, 200);
		const action = new URL(lf.action, page.url);
		const fields = new URLSearchParams(lf.fields);
		fields.set('password', PASSWORD);
		const body = fields.toString();
		const t0 = Date.now();
		const pending = agentRequest(agent, action, {
			method: 'POST', body,
			headers: {
				'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body),
				cookie: browser.jar.header(action), origin: page.url.origin,
			},
		}).then((res) => ({ res, at: Date.now() }), (error) => ({ error, at: Date.now() }));
		await new Promise((r) => setTimeout(r, 30));
		const killedAt = Date.now();
		srv.child.kill('SIGTERM');
		const { res, error, at } = await pending;
		agent.destroy();
		assert.ok(!error, `the in-flight login POST failed instead of finishing: ${error?.message}`);
		t.diagnostic(`login POST answered ${at - t0} ms after sending; SIGTERM at ${killedAt - t0} ms`);
		assert.ok(at > killedAt, `the response came ${at - t0} ms after sending, before SIGTERM at ${killedAt - t0} ms: ` +
			'the request was not in flight (make the password hash slower)');
		assert.ok(res.status === 303 || res.status === 200, `login answer: ${res.status} ${res.body.slice(0, 300)}`);
		const location = new URL(res.headers.location ?? 'x:', action);
		assert.equal(location.origin + location.pathname, CB, `redirect to the client: ${res.status} ${res.headers.location}`);
		const code = location.searchParams.get('code');
		assert.ok(code, 'a code in the redirect');
		assert.equal(location.searchParams.get('state'), state);

		await srv.stop({ keepDir: true }); // asserts exit status 0
		stopped = true;
		const db = path.join(srv.dir, 'anchorid.db');
		let check = null;
		try {
			check = execFileSync('sqlite3', [db, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
		} catch (e) {
			if (e.code !== 'ENOENT') throw e;
			t.diagnostic('no sqlite3 command: integrity shown by the restart and the code redemption only');
		}
		if (check !== null) assert.equal(check, 'ok', `integrity_check: ${check}`);
		assert.match(srv.stderr(), /shutting down/);

		// The code the finished request handed out was committed: redeem it at the restarted server.
		await srv.restart();
		stopped = false;
		const tokens = await redeem(meta, client, { code, redirectUri: CB, verifier: p.verifier });
		assert.equal(typeof tokens.access_token, 'string');
	} finally {
		if (!stopped) await srv.stop();
		else if (!process.env.E2E_KEEP) fs.rmSync(srv.dir, { recursive: true, force: true });
	}
});

// ---------------------------------------------------------------------------------------------------- logging

test('logging: one access-log line per request, no secrets', async () => {
	const srv = await startServer();
	try {
		const made = []; // [method, path, status] of every request this test sends
		const call = async (method, url, init = {}) => {
			const res = await fetch(url, { method, ...init });
			const text = await res.text();
			made.push([method, new URL(url).pathname, res.status]);
			let body;
			try { body = JSON.parse(text); } catch { body = text; }
			return { status: res.status, headers: res.headers, body };
		};
		const browser = new Browser();
		const secrets = { password: PASSWORD };

		// Identity and password setup through the one-time URL.
		const setupUrl = srv.setupUrl(await srv.cli('identity', 'add', 'alice.example.com'));
		secrets.setup_token = setupUrl.searchParams.get('t');
		await completeSetup(setupUrl, PASSWORD, browser);

		// Discovery, registration with refresh tokens, RFC 7592 read (rotates the secret).
		const d = await call('GET', `${srv.issuer}/.well-known/openid-configuration`);
		const meta = d.body;
		const reg = await call('POST', meta.registration_endpoint, {
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ redirect_uris: [CB], grant_types: ['authorization_code', 'refresh_token'], client_name: 'log RP' }),
		});
		assert.equal(reg.status, 201, JSON.stringify(reg.body));
		const client = reg.body;
		secrets.client_secret = client.client_secret;
		secrets.registration_access_token = client.registration_access_token;
		const read = await call('GET', client.registration_client_uri, {
			headers: { authorization: `Bearer ${client.registration_access_token}` },
		});
		assert.equal(read.status, 200, JSON.stringify(read.body));
		secrets.client_secret2 = read.body.client_secret;
		client.client_secret = read.body.client_secret;

		// Login, code, tokens.
		const p = pkce();
		const state = random();
		const nonce = random();
		const result = await login(browser, authorizeUrl(meta, {
			response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid', state, nonce,
			code_challenge: p.challenge, code_challenge_method: 'S256', login_hint: 'alice.example.com',
		}), { identifier: 'alice.example.com', password: PASSWORD, redirectUri: CB });
		const code = callbackCode(result, { state, issuer: srv.issuer });
		secrets.code = code;
		secrets.code_verifier = p.verifier;
		const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
		const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
		const tok = await call('POST', meta.token_endpoint, {
			headers: form,
			body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: p.verifier }).toString(),
		});
		assert.equal(tok.status, 200, JSON.stringify(tok.body));
		Object.assign(secrets, { access_token: tok.body.access_token, id_token: tok.body.id_token, refresh_token: tok.body.refresh_token });
		assert.ok(secrets.refresh_token, 'a refresh token (the client registered the grant)');

		const ui = await call('GET', meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.body.access_token}` } });
		assert.equal(ui.status, 200);
		const ref = await call('POST', meta.token_endpoint, {
			headers: form,
			body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token }).toString(),
		});
		assert.equal(ref.status, 200, JSON.stringify(ref.body));
		Object.assign(secrets, { access_token2: ref.body.access_token, id_token2: ref.body.id_token, refresh_token2: ref.body.refresh_token });
		const ui2 = await call('POST', meta.userinfo_endpoint, {
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ access_token: ref.body.access_token }).toString(),
		});
		assert.equal(ui2.status, 200);
		const rev = await call('POST', meta.revocation_endpoint, {
			headers: form, body: new URLSearchParams({ token: ref.body.refresh_token, token_type_hint: 'refresh_token' }).toString(),
		});
		assert.equal(rev.status, 200);
		// Secrets in a query string (as a careless RP sends them) must not reach the log either.
		const q = await call('GET', `${meta.userinfo_endpoint}?access_token=${encodeURIComponent(ref.body.access_token)}`);
		assert.equal(q.status, 401, 'a revoked grant\'s access token');

		// Every request, in order: the browser's and the test's own.
		const browserReqs = browser.history.map((h) => [h.method, new URL(h.url).pathname, h.status]);
		const setupCount = 2; // GET and POST /setup come first, then the test's own calls interleave with the walk
		const expected = [...browserReqs.slice(0, setupCount), ...made.slice(0, 3), ...browserReqs.slice(setupCount), ...made.slice(3)];
		const want = expected.length;
		let log = '';
		for (let i = 0; i < 50; i++) {
			log = srv.accessLog();
			if (log.split('\n').filter(Boolean).length >= want) break;
			await new Promise((r) => setTimeout(r, 50));
		}
		await new Promise((r) => setTimeout(r, 200));
		log = srv.accessLog();
		const lines = log.split('\n').filter(Boolean);
		const got = lines.map((l) => {
			const m = l.match(/^\S+ "(\S+) (\S+)" (\d{3}) /);
			assert.ok(m, `access-log line in an unexpected form: ${l}`);
			return [m[1], m[2], Number(m[3])];
		});
		assert.deepEqual(got, expected, `one access-log line per request, in order:\n${log}`);

		// No secret anywhere, no query string.
		const outputs = { 'access log': log, stderr: srv.stderr(), stdout: srv.stdout() };
		for (const [where, text] of Object.entries(outputs)) {
			for (const [name, value] of Object.entries(secrets)) {
				assert.ok(value && value.length >= 10, `secret ${name} is known`);
				assert.ok(!text.includes(value), `${where} contains the ${name}`);
				for (const part of value.split('.')) {
					if (part.length >= 16) assert.ok(!text.includes(part), `${where} contains a part of the ${name}`);
				}
			}
		}
		assert.ok(!log.includes('?'), `the access log holds a query string (or a '?'):\n${log}`);
		for (const l of srv.stderr().split('\n')) {
			assert.doesNotMatch(l, /\?|[&?](t|code|access_token|refresh_token|client_secret|token)=/, `stderr line with a query: ${l}`);
		}
	} finally {
		await srv.stop();
	}
});

// ----------------------------------------------------------------------------------------------- identity CLI

test('identity CLI: add prints a one-time setup URL on its own line; list shows state; disable blocks login; ' +
	'enable restores; delete frees the identifier and a re-add gets a new sub; setup-url kills the previous URL', async () => {
	const srv = await startServer();
	try {
		const ID = 'alice.example.com';
		const list = async () => JSON.parse(await srv.cli('identity', 'list'));
		const live = async () => (await list()).filter((i) => i.identifier === ID && i.state !== 'deleted');
		const stateOf = async () => {
			const l = await live();
			assert.equal(l.length, 1, `one live identity ${ID}: ${JSON.stringify(l)}`);
			return l[0];
		};

		// add: the URL stands alone on its line.
		const out = await srv.cli('identity', 'add', ID);
		const urlLines = out.split('\n').filter((l) => l.includes('/setup?'));
		assert.equal(urlLines.length, 1, `one line with the URL:\n${out}`);
		assert.match(urlLines[0], new RegExp(`^${srv.issuer.replace(/\./g, '\\.')}/setup\\?t=[A-Za-z0-9_-]{43}$`),
			`the setup URL alone on its line:\n${out}`);
		const url1 = new URL(urlLines[0]);
		const first = await stateOf();
		assert.equal(first.state, 'inactive', 'a new identity is inactive');
		assert.equal(typeof first.sub, 'string');
		const again = await srv.cliRaw('identity', 'add', ID);
		assert.notEqual(again.code, 0, 'adding an existing identifier fails');

		// setup-url: a new URL, and the old one dies.
		const out2 = await srv.cli('identity', 'setup-url', ID);
		const url2 = srv.setupUrl(out2);
		assert.notEqual(url2.href, url1.href);
		const old = await new Browser().get(url1);
		assert.equal(old.status, 410, `the previous setup URL must be dead: ${describe(old)}`);
		await completeSetup(url2, PASSWORD);
		const used = await new Browser().get(url2);
		assert.equal(used.status, 410, `a setup URL is one-time: ${describe(used)}`);
		assert.equal((await stateOf()).state, 'active', 'setting the password activates');

		const meta = await discover(srv.issuer);
		const client = await register(meta, { redirect_uris: [CB], token_endpoint_auth_method: 'client_secret_basic' });
		const sso = new Browser();
		const ok1 = await loginAttempt(meta, client, ID, PASSWORD, sso);
		assert.ok(ok1.ok, `login of an active identity: ${describe(ok1.page)}`);
		const tokens = await redeem(meta, client, { code: ok1.code, redirectUri: CB, verifier: ok1.verifier });
		const userinfo = () => fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
		assert.equal((await userinfo()).status, 200);

		// disable: no login, no single sign-on through the existing session, no userinfo with earlier tokens.
		assert.match(await srv.cli('identity', 'disable', ID), /done/);
		assert.equal((await stateOf()).state, 'disabled');
		const d1 = await loginAttempt(meta, client, ID, PASSWORD);
		assert.ok(!d1.ok, `a disabled identity must not log in: ${d1.callback}`);
		assert.ok(d1.sawLogin && findForm(d1.page.body, '/login', d1.page.url.href), `login form comes back: ${describe(d1.page)}`);
		const d2 = await loginAttempt(meta, client, ID, PASSWORD, sso);
		assert.ok(!d2.ok, 'the session of a disabled identity must not yield a code');
		assert.equal((await userinfo()).status, 401, 'access tokens of a disabled identity stop working');

		// enable: login again.
		assert.match(await srv.cli('identity', 'enable', ID), /done/);
		assert.equal((await stateOf()).state, 'active', 'enable restores the active state (the password is kept)');
		const e1 = await loginAttempt(meta, client, ID, PASSWORD);
		assert.ok(e1.ok, `login after enable: ${describe(e1.page)}`);

		// delete: the identifier is free again, the sub never comes back.
		assert.match(await srv.cli('identity', 'delete', ID), /done/);
		assert.equal((await live()).length, 0, 'no live identity after delete');
		const all = await list();
		const tomb = all.find((i) => i.sub === first.sub);
		assert.ok(tomb && tomb.state === 'deleted', `the deleted identity stays listed with its sub: ${JSON.stringify(all)}`);
		const x1 = await loginAttempt(meta, client, ID, PASSWORD);
		assert.ok(!x1.ok, 'a deleted identity must not log in');
		const again2 = srv.setupUrl(await srv.cli('identity', 'add', ID));
		const fresh = await stateOf();
		assert.notEqual(fresh.sub, first.sub, 're-adding gets a new sub');
		assert.equal(fresh.state, 'inactive');
		assert.equal(new Set((await list()).map((i) => i.sub)).size, (await list()).length, 'subs are unique');
		const x2 = await loginAttempt(meta, client, ID, PASSWORD);
		assert.ok(!x2.ok, 'the re-added identity has no password until its setup');
		await completeSetup(again2, 'another long password');
		const n1 = await loginAttempt(meta, client, ID, 'another long password');
		assert.ok(n1.ok, `the re-added identity logs in: ${describe(n1.page)}`);
		const t2 = await redeem(meta, client, { code: n1.code, redirectUri: CB, verifier: n1.verifier });
		const claims = JSON.parse(Buffer.from(t2.id_token.split('.')[1], 'base64url').toString());
		assert.equal(claims.sub, fresh.sub, 'the new sub is in the ID token');

		// Errors: unknown identity, invalid identifier.
		assert.notEqual((await srv.cliRaw('identity', 'disable', 'nobody.example.com')).code, 0);
		assert.notEqual((await srv.cliRaw('identity', 'add', 'not an identifier')).code, 0);
	} finally {
		await srv.stop();
	}
});

// --------------------------------------------------------------------------------------------------- keys CLI

/** keyRows(output): the rows of "keys list" as {kid, alg, activate_at, retire_at, expire_at}. */
function keyRows(output) {
	const lines = output.split('\n').filter(Boolean);
	assert.match(lines[0], /^kid\s+alg\s+activate_at\s+retire_at\s+expire_at\s*$/, `keys list header:\n${output}`);
	return lines.slice(1).map((l) => {
		const [kid, alg, a, r, e] = l.trim().split(/\s+/);
		return { kid, alg, activate_at: Number(a), retire_at: Number(r), expire_at: Number(e) };
	});
}

test('keys CLI: keys list shows the RS256 and ES256 keys; keys rotate adds new ones published in the JWKS', async () => {
	const srv = await startServer();
	try {
		const jwksKids = async () => {
			const res = await fetch(`${srv.issuer}/jwks.json`);
			assert.equal(res.status, 200);
			return (await res.json()).keys.map((k) => k.kid).sort();
		};
		const before = keyRows(await srv.cli('keys', 'list'));
		assert.deepEqual(before.map((k) => k.alg).sort(), ['ES256', 'RS256'], `one key per algorithm:\n${JSON.stringify(before)}`);
		assert.deepEqual(await jwksKids(), before.map((k) => k.kid).sort(), 'keys list and the JWKS agree');

		const out = await srv.cli('keys', 'rotate');
		const after = keyRows(await srv.cli('keys', 'list'));
		assert.equal(after.length, 4, `two new keys:\n${JSON.stringify(after)}`);
		const added = after.filter((k) => !before.some((b) => b.kid === k.kid));
		assert.deepEqual(added.map((k) => k.alg).sort(), ['ES256', 'RS256']);
		const now = Math.floor(Date.now() / 1000);
		for (const k of added) {
			assert.ok(out.includes(k.kid), `rotate names the new key ${k.kid}:\n${out}`);
			// Default key_activation_delay: 3600 s.
			assert.ok(Math.abs(k.activate_at - (now + 3600)) <= 60, `new key signs after key_activation_delay: ${JSON.stringify(k)}`);
		}
		for (const b of before) {
			const o = after.find((k) => k.kid === b.kid);
			assert.ok(o, `old key ${b.kid} still listed`);
			assert.equal(o.retire_at, added[0].activate_at, 'the old keys retire when the new ones start signing');
		}

		// The running server reloads its keyring every MAIN_TICK_SEC (30 s): too long here, restart instead.
		await srv.restart();
		assert.deepEqual(await jwksKids(), after.map((k) => k.kid).sort(), 'new keys published at once, old ones kept');
		// Not signing yet: an ID token is still signed with the old RS256 key.
		await srv.addIdentity('alice.example.com', PASSWORD);
		const meta = await discover(srv.issuer);
		const client = await register(meta, { redirect_uris: [CB] });
		const a = await loginAttempt(meta, client, 'alice.example.com', PASSWORD);
		assert.ok(a.ok, describe(a.page));
		const tokens = await redeem(meta, client, { code: a.code, redirectUri: CB, verifier: a.verifier });
		const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
		assert.equal(header.kid, before.find((k) => k.alg === 'RS256').kid, 'the new key does not sign before its activation');
	} finally {
		await srv.stop();
	}
});

// ------------------------------------------------------------------------------------------------------- HTTP

test('HTTP: unknown path 404, wrong method 405 with Allow, HEAD/GET on discovery, Content-Type application/json, ' +
	'CORS header on discovery and JWKS', async () => {
	const srv = await startServer();
	try {
		const u = (p) => `${srv.issuer}${p}`;
		for (const p of ['/nope', '/.well-known/nope', '/jwks.json/x', '/tokens', '/static/no-such-file.css']) {
			const r = await fetch(u(p));
			await r.text();
			assert.equal(r.status, 404, `GET ${p}`);
		}
		const post404 = await fetch(u('/nope'), { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		await post404.text();
		assert.equal(post404.status, 404);

		const allowOf = (h) => (h ?? '').split(',').map((s) => s.trim()).filter(Boolean).sort();
		for (const [method, p, allow] of [
			['POST', '/.well-known/openid-configuration', ['GET', 'HEAD']],
			['PUT', '/jwks.json', ['GET', 'HEAD']],
			['GET', '/token', ['POST']],
			['GET', '/revoke', ['POST']],
			['GET', '/register', ['POST']],
			['DELETE', '/authorize', ['GET', 'HEAD', 'POST']],
			['PATCH', '/userinfo', ['GET', 'HEAD', 'POST']],
			['POST', '/register/some-client', ['DELETE', 'GET', 'HEAD', 'PUT']],
		]) {
			const r = await fetch(u(p), { method });
			const text = await r.text();
			assert.equal(r.status, 405, `${method} ${p}: ${text}`);
			assert.deepEqual(allowOf(r.headers.get('allow')), allow, `${method} ${p}: Allow ${r.headers.get('allow')}`);
		}

		for (const p of ['/.well-known/openid-configuration', '/jwks.json']) {
			const get = await fetch(u(p));
			const body = await get.text();
			assert.equal(get.status, 200);
			assert.match(get.headers.get('content-type') ?? '', /^application\/json(;|$)/, `${p} Content-Type`);
			JSON.parse(body);
			assert.equal(get.headers.get('access-control-allow-origin'), '*', `${p} CORS`);
			const head = await fetch(u(p), { method: 'HEAD' });
			assert.equal(head.status, 200, `HEAD ${p}`);
			assert.equal(await head.text(), '', `HEAD ${p} has no body`);
			assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), `HEAD ${p} Content-Type`);
			assert.equal(head.headers.get('access-control-allow-origin'), '*', `HEAD ${p} CORS`);
			const len = head.headers.get('content-length');
			if (len !== null) assert.equal(Number(len), Buffer.byteLength(body), `HEAD ${p} Content-Length`);
		}
		// The API endpoints answer JSON too, even their errors.
		const tok = await fetch(u('/token'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' });
		assert.match(tok.headers.get('content-type') ?? '', /^application\/json/);
		assert.equal(typeof (await tok.json()).error, 'string');
	} finally {
		await srv.stop();
	}
});
