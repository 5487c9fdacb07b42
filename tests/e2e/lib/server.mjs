// server.mjs: start a real anchorid for one test file.
//
// startServer(opts) makes a temporary directory with a config file and a fresh database, picks a free loopback
// port, runs the binary (env ANCHORID, default build/anchorid, optionally under the command prefix in
// ANCHORID_WRAP, e.g. valgrind), waits for "anchorid: ready" and returns a handle:
//   {issuer, port, dir, conf, ca, caPem, certs, pid, stop(), restart(), running(), cli(...args),
//    cliRaw(...args), setupUrl(output), addIdentity(identifier, password), accessLog(), stderr(), stdout()}
// stop() sends SIGTERM and asserts a clean exit (status 0); restart() does that and starts again on the same
// database.  Every process started here is also killed when the test process exits, so a failing test never
// leaves a server behind.  E2E_KEEP=1 keeps the temporary directories; E2E_LOG_LEVEL sets log_level.

import { spawn, spawnSync, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Browser, findForm, describe } from './browser.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.resolve(ROOT, process.env.ANCHORID || 'build/anchorid');
export const WRAP = (process.env.ANCHORID_WRAP || '').split(/\s+/).filter(Boolean);
/** Time scale for waits: a wrapped server (valgrind) is 10-50 times slower. */
export const SLOW = WRAP.length ? 8 : 1;
export const CERTS = path.resolve(ROOT, process.env.E2E_CERTS || 'build/e2e-certs');

const live = new Set();
process.on('exit', () => {
	for (const child of live) {
		try { child.kill('SIGKILL'); } catch { /* already gone */ }
	}
});

/** freePort(): a TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/** track(child): kill ${child} at process exit if it is still running; returns ${child}. */
export function track(child) {
	live.add(child);
	child.on('exit', () => live.delete(child));
	return child;
}

/** ensureCerts(): the e2e certificate directory, made once per run (run.sh normally does it first). */
export function ensureCerts() {
	const need = ['dev-ca.pem', 'server.pem', 'server.key'];
	if (need.every((f) => fs.existsSync(path.join(CERTS, f)))) return CERTS;
	fs.mkdirSync(path.dirname(CERTS), { recursive: true });
	// Make into a private directory, then rename: two test files starting together must not see half a set.
	const tmp = fs.mkdtempSync(path.join(path.dirname(CERTS), '.e2e-certs-'));
	try {
		// certs/mkdev.sh is the project's; the fallback only covers a tree where it is missing or broken.
		const mkdev = path.join(ROOT, 'certs/mkdev.sh');
		const fallback = path.join(ROOT, 'tests/e2e/lib/mkcerts-fallback.sh');
		let r = fs.existsSync(mkdev) ? spawnSync(mkdev, [tmp], { encoding: 'utf8' }) : null;
		if (!r || r.status !== 0 || !need.every((f) => fs.existsSync(path.join(tmp, f)))) {
			if (r) process.stderr.write(`warning: certs/mkdev.sh ${tmp} failed (${r.status}): ${r.stderr}\n`);
			r = spawnSync(fallback, [tmp], { encoding: 'utf8' });
			if (r.status !== 0) throw new Error(`${fallback} ${tmp} failed (${r.status}): ${r.stderr}`);
		}
		try {
			fs.renameSync(tmp, CERTS);
		} catch (e) {
			if (!need.every((f) => fs.existsSync(path.join(CERTS, f)))) throw e;
		}
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	return CERTS;
}

/** runBinary(args, {env, timeoutMs}): run the binary (wrapped) to completion; resolves {code, stdout, stderr}. */
function runBinary(args, { timeoutMs = 30000 * SLOW, env } = {}) {
	const argv = [...WRAP, BIN, ...args];
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, ...env } },
			(err, stdout, stderr) => {
				const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
				resolve({ code, stdout, stderr, signal: err?.signal ?? null });
			});
	});
}

/**
 * configText(values): the "key = value" text of a config; values quoted when they hold spaces, '#' or quotes.
 */
export function configText(values) {
	const lines = ['# written by tests/e2e/lib/server.mjs'];
	for (const [k, v] of Object.entries(values)) {
		if (v === undefined || v === null) continue;
		let s = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
		if (/[\s#"\\]/.test(s) || s === '') s = '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
		lines.push(`${k} = ${s}`);
	}
	return lines.join('\n') + '\n';
}

/**
 * startServer({config, host, readyTimeoutMs, env}): a running anchorid; ${config} adds or overrides config keys
 * (set a key to null to leave it out); ${host} is the issuer's host name ("localhost").
 */
export async function startServer(opts = {}) {
	if (!fs.existsSync(BIN)) throw new Error(`no server binary at ${BIN}: run make all first (or set ANCHORID)`);
	const certs = ensureCerts();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-e2e-'));
	const conf = path.join(dir, 'anchorid.conf');
	const host = opts.host ?? 'localhost';
	let lastError;
	for (let attempt = 0; attempt < 3; attempt++) {
		const port = await freePort();
		const issuer = `https://${host}:${port}`;
		const values = {
			issuer,
			listen: '127.0.0.1',
			port,
			tls: true,
			tls_cert: path.join(certs, 'server.pem'),
			tls_key: path.join(certs, 'server.key'),
			database: path.join(dir, 'anchorid.db'),
			www_dir: path.join(ROOT, 'www'),
			access_log: path.join(dir, 'access.log'),
			log_level: process.env.E2E_LOG_LEVEL || 'info',
			argon2_m_cost: 1024,
			argon2_t_cost: 1,
			...(opts.config ?? {}),
		};
		fs.writeFileSync(conf, configText(values));
		try {
			const srv = await launch({ dir, conf, issuer, port, certs, opts });
			return srv;
		} catch (e) {
			lastError = e;
			// Only a lost race for the port is worth another try.
			if (!/address already in use|EADDRINUSE|bind/i.test(String(e.message))) break;
		}
	}
	if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
	throw lastError;
}

async function launch({ dir, conf, issuer, port, certs, opts }) {
	const argv = [...WRAP, BIN, '-c', conf];
	const child = track(spawn(argv[0], argv.slice(1), {
		cwd: ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, ...(opts.env ?? {}) },
	}));
	let out = '';
	let err = '';
	const outFile = fs.createWriteStream(path.join(dir, 'stdout.log'));
	const errFile = fs.createWriteStream(path.join(dir, 'stderr.log'));
	child.stdout.on('data', (d) => { out += d; outFile.write(d); });
	child.stderr.on('data', (d) => { err += d; errFile.write(d); });
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	let exitStatus = null;
	exited.then((s) => { exitStatus = s; });

	const timeoutMs = (opts.readyTimeoutMs ?? 20000) * SLOW;
	const ready = await new Promise((resolve) => {
		const timer = setTimeout(() => resolve('timeout'), timeoutMs);
		const check = () => {
			if (/^anchorid: ready\s*$/m.test(out)) { clearTimeout(timer); resolve('ready'); }
		};
		child.stdout.on('data', check);
		exited.then(() => { clearTimeout(timer); setImmediate(() => resolve(/^anchorid: ready\s*$/m.test(out) ? 'ready' : 'exited')); });
		check();
	});
	if (ready !== 'ready') {
		if (ready === 'timeout') {
			child.kill('SIGKILL');
			await exited;
		}
		const st = exitStatus ? `exit ${exitStatus.code ?? exitStatus.signal}` : 'no exit';
		throw new Error(`anchorid did not become ready (${ready}, ${st}) with ${conf}:\n${fs.readFileSync(conf, 'utf8')}\n` +
			`--- stdout:\n${out.slice(-4000)}\n--- stderr:\n${err.slice(-8000)}`);
	}
	const m = out.match(/^anchorid: issuer (\S+)\s*$/m);
	if (m && m[1] !== issuer) {
		child.kill('SIGKILL');
		throw new Error(`server announced issuer ${m[1]}, configured ${issuer}`);
	}

	let stopped = null;
	const srv = {
		issuer,
		port,
		dir,
		conf,
		certs,
		ca: path.join(certs, 'dev-ca.pem'),
		caPem: fs.readFileSync(path.join(certs, 'dev-ca.pem'), 'utf8'),
		pid: child.pid,
		child,
		stdout: () => out,
		stderr: () => err,
		accessLog: () => {
			try { return fs.readFileSync(path.join(dir, 'access.log'), 'utf8'); } catch { return ''; }
		},
		/** running(): the server has not exited. */
		running: () => exitStatus === null,
		/** stop(): SIGTERM, wait, and assert exit status 0; kills hard and throws on a hang or a bad status. */
		stop: async ({ keepDir = false } = {}) => {
			if (stopped) return stopped;
			stopped = (async () => {
				if (exitStatus === null) child.kill('SIGTERM');
				const limit = 10000 * SLOW;
				const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), limit).unref())]);
				outFile.end();
				errFile.end();
				if (res === null) {
					child.kill('SIGKILL');
					await exited;
					throw new Error(`anchorid (pid ${child.pid}) did not stop within ${limit} ms of SIGTERM\n--- stderr:\n${err.slice(-4000)}`);
				}
				if (res.code !== 0) {
					throw new Error(`anchorid exited with ${res.code ?? res.signal} after SIGTERM (want 0)\n--- stderr:\n${err.slice(-8000)}`);
				}
				if (!process.env.E2E_KEEP && !keepDir) fs.rmSync(dir, { recursive: true, force: true });
				return res;
			})();
			return stopped;
		},
		/**
		 * restart(): stop (asserting a clean exit) and start again on the same port, config and database; the
		 * handle is updated in place.
		 */
		async restart() {
			await this.stop({ keepDir: true });
			const fresh = await launch({ dir, conf, issuer, port, certs, opts });
			Object.assign(this, fresh);
			return this;
		},
		/** cli(...args): run "anchorid -c CONF args..." and return its stdout; throws with stderr on failure. */
		cli: async (...args) => {
			const r = await runBinary(['-c', conf, ...args]);
			if (r.code !== 0) {
				throw new Error(`anchorid -c ${conf} ${args.join(' ')} failed (${r.code ?? r.signal}):\n${r.stderr}${r.stdout}`);
			}
			return r.stdout;
		},
		/** cliRaw(...args): like cli but resolves {code, stdout, stderr} whatever the outcome. */
		cliRaw: (...args) => runBinary(['-c', conf, ...args]),
		/**
		 * setupUrl(output): the one-time setup URL in a CLI's output (a line of its own starting with the issuer).
		 */
		setupUrl: (output) => {
			const line = output.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`${issuer}/setup?`));
			if (!line) throw new Error(`no setup URL (${issuer}/setup?t=...) in output:\n${output}`);
			return new URL(line);
		},
		/**
		 * addIdentity(identifier, password): create the identity with the CLI and set its password through the
		 * real setup page.  Returns {setupUrl, page} (the answer to the form).
		 */
		addIdentity: async (identifier, password) => {
			const url = srv.setupUrl(await srv.cli('identity', 'add', identifier));
			return completeSetup(url, password);
		},
	};
	return srv;
}

/**
 * completeSetup(url, password, browser): open the setup page at ${url} with a fresh (or the given) cookie-jar
 * browser, fill password and password2, submit; throws unless the server accepted it.  Returns {setupUrl, page}.
 */
export async function completeSetup(url, password, browser = new Browser()) {
	const { page: form } = await browser.follow(url);
	if (form.status !== 200) throw new Error(`setup page: ${describe(form)}`);
	const f = findForm(form.body, '/setup', form.url.href);
	if (!f) throw new Error(`setup page has no form posting to /setup: ${describe(form)}`);
	const posted = await browser.submit(form, f, { password, password2: password });
	const { page } = await browser.follow(posted);
	if (page.status !== 200 || findForm(page.body, '/setup', page.url.href)?.fields.some(([n]) => n === 'password2')) {
		throw new Error(`password setup not accepted: ${describe(page)}`);
	}
	return { setupUrl: url, page };
}

/**
 * restartServer(srv, {signal, env, timeoutMs}): stop ${srv} with ${signal} (default SIGTERM, which must end in
 * exit status 0; SIGKILL simulates a crash) WITHOUT removing its directory, then start a new anchorid on the same
 * directory, configuration file, port and database, and return the new handle (its stop() cleans up the directory
 * as usual).  The old handle must not be stopped or used afterwards.
 */
export async function restartServer(srv, { signal = 'SIGTERM', env, timeoutMs = 10000 * SLOW } = {}) {
	const child = srv.child;
	if (child.exitCode === null && child.signalCode === null) {
		const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
		child.kill(signal);
		const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), timeoutMs).unref())]);
		if (res === null) {
			child.kill('SIGKILL');
			await exited;
			throw new Error(`anchorid (pid ${child.pid}) did not stop within ${timeoutMs} ms of ${signal}\n--- stderr:\n${srv.stderr().slice(-4000)}`);
		}
		if (signal === 'SIGTERM' && res.code !== 0) {
			throw new Error(`anchorid exited with ${res.code ?? res.signal} after SIGTERM (want 0)\n--- stderr:\n${srv.stderr().slice(-8000)}`);
		}
	}
	return launch({ dir: srv.dir, conf: srv.conf, issuer: srv.issuer, port: srv.port, certs: srv.certs, opts: { env } });
}
