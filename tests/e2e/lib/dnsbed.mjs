// dnsbed.mjs: the DNSSEC test bed of tests/dns/testbed.sh (one knotd on a free loopback port serving a signed
// root, test., example.test. (secure, TSIG updates), insecure.test., bogus.test., expired.test.) for a test file.
//
//   const bed = await startDnsBed();
//   bed.dir, bed.port, bed.upstream ('127.0.0.1@PORT', the form of anchorid discover --upstream),
//   bed.trustAnchor (DNSKEY lines of the root KSK), bed.tsigKeyFile (knsupdate -k), bed.tsigName, bed.tsigSecret,
//   bed.pid, bed.env (every line of DIR/env)
//   await bed.update('add', '_acme-challenge.bob', 'TXT', '"token"')   throws when the server refuses
//   await bed.tryUpdate(op, name, type, value, {tsig: false | keyFile}) -> {ok, status ('NOERROR', 'NOTAUTH',
//                                                                         'BADSIG', ...), output}
//   await bed.query('_openid.alice.example.test', 'TXT'[, {trustAnchor}]) -> {status, statusName, dnssecStatus, dnssec, rcode,
//                                                            rcodeName, answers, txt, json, ms}
//   await bed.stop()
// Names given to update() are relative to example.test. unless they end in a dot or in "example.test".
// query() runs `getdns_query -s -j -f TRUST_ANCHOR @127.0.0.1@PORT +dnssec_return_all_statuses NAME TYPE`, so
// bogus answers come back with dnssec_status 401 instead of being dropped.  `txt` holds, per TXT record of the
// answer, its character-strings (decoded from the raw rdata, so a multi-string record gives several strings).
// The knotd is stopped when the process exits (also on SIGINT/SIGTERM), so a failing test leaves nothing behind.
// E2E_KEEP=1 keeps the temporary directory.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TESTBED = path.join(ROOT, 'tests/dns/testbed.sh');
export const UPDATE = path.join(ROOT, 'tests/dns/update.sh');
export const GETDNS_QUERY = process.env.GETDNS_QUERY || 'getdns_query';

export const STATUS = { 900: 'GOOD', 901: 'NO_NAME', 902: 'ALL_TIMEOUT', 903: 'NO_SECURE_ANSWERS', 904: 'ALL_BOGUS_ANSWERS' };
export const DNSSEC = { 400: 'secure', 401: 'bogus', 402: 'indeterminate', 403: 'insecure', 404: 'not_performed' };
export const RCODE = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
const TYPES = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 16: 'TXT', 28: 'AAAA', 43: 'DS', 46: 'RRSIG', 47: 'NSEC',
	48: 'DNSKEY', 50: 'NSEC3' };

const beds = new Set();

/** cleanupAll(): synchronous, for exit handlers: stop every bed still running, remove its directory. */
function cleanupAll() {
	for (const bed of beds) {
		try {
			spawnSync(TESTBED, ['stop', bed.dir], { stdio: 'ignore', timeout: 10000 });
		} catch {
			try { process.kill(bed.pid, 'SIGKILL'); } catch { /* gone */ }
		}
		if (!process.env.E2E_KEEP) fs.rmSync(bed.dir, { recursive: true, force: true });
	}
	beds.clear();
}
let hooked = false;
function hook() {
	if (hooked) return;
	hooked = true;
	process.on('exit', cleanupAll);
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.once(sig, () => {
			cleanupAll();
			// Let the default action (or other listeners) happen as if we had not been here.
			if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
		});
	}
}

/** run(cmd, args, opts): {code, stdout, stderr}; never rejects for a non-zero exit. */
function run(cmd, args, opts = {}) {
	return new Promise((resolve, reject) => {
		execFile(cmd, args, { maxBuffer: 16 << 20, timeout: 30000, ...opts }, (err, stdout, stderr) => {
			if (err && typeof err.code !== 'number' && err.code !== null && !err.killed) {
				reject(new Error(`${cmd}: ${err.message}`));
				return;
			}
			resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, killed: !!err?.killed });
		});
	});
}

/** parseEnv(text): the KEY=VALUE lines of DIR/env as an object. */
function parseEnv(text) {
	const env = {};
	for (const line of text.split('\n')) {
		const m = /^([A-Z_]+)=(.*)$/.exec(line);
		if (m) env[m[1]] = m[2];
	}
	return env;
}

/** bytes(v): a getdns JSON bindata (array of octets, or a printable string) as a Buffer. */
function bytes(v) {
	if (Array.isArray(v)) return Buffer.from(v);
	if (typeof v === 'string') return Buffer.from(v, 'latin1');
	return Buffer.alloc(0);
}

/** txtStrings(rdata): the character-strings of a TXT rdata, from rdata_raw (falling back to txt_strings). */
export function txtStrings(rdata) {
	if (rdata && Array.isArray(rdata.rdata_raw)) {
		const raw = bytes(rdata.rdata_raw);
		const out = [];
		for (let i = 0; i < raw.length;) {
			const n = raw[i];
			if (i + 1 + n > raw.length) throw new Error(`TXT rdata truncated at octet ${i}`);
			out.push(raw.subarray(i + 1, i + 1 + n).toString('utf8'));
			i += 1 + n;
		}
		return out;
	}
	if (rdata && Array.isArray(rdata.txt_strings)) return rdata.txt_strings.map((s) => (typeof s === 'string' ? s : bytes(s).toString('utf8')));
	return [];
}

/** parseQuery(stdout): getdns_query -j output as the summary query() returns. */
export function parseQuery(stdout) {
	const text = stdout.trim();
	const start = text.indexOf('{');
	if (start < 0) throw new Error(`getdns_query printed no JSON: ${JSON.stringify(text.slice(0, 500))}`);
	let json;
	try {
		json = JSON.parse(text.slice(start));
	} catch (e) {
		throw new Error(`getdns_query output is not JSON (${e.message}): ${text.slice(0, 1000)}`);
	}
	const reply = (json.replies_tree || [])[0] || {};
	const answers = (reply.answer || []).map((rr) => ({
		name: rr.name,
		type: TYPES[rr.type] || String(rr.type),
		ttl: rr.ttl,
		rdata: rr.rdata,
	}));
	const txt = answers.filter((rr) => rr.type === 'TXT').map((rr) => txtStrings(rr.rdata));
	const rcode = reply.header ? reply.header.rcode : undefined;
	return {
		status: json.status,
		statusName: STATUS[json.status] || String(json.status),
		dnssecStatus: reply.dnssec_status,
		dnssec: reply.dnssec_status === undefined ? undefined : DNSSEC[reply.dnssec_status] || String(reply.dnssec_status),
		rcode,
		rcodeName: rcode === undefined ? undefined : RCODE[rcode] || String(rcode),
		answers,
		txt,
		json,
	};
}

/**
 * startDnsBed({timeoutMs}): start a test bed in a fresh temporary directory; resolves to the handle described at
 * the top of this file.  Throws (with knotd's log) when it does not come up.
 */
export async function startDnsBed(opts = {}) {
	hook();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-dnsbed-'));
	const r = await run(TESTBED, ['start', dir]);
	const env = r.code === 0 && fs.existsSync(path.join(dir, 'env')) ? parseEnv(fs.readFileSync(path.join(dir, 'env'), 'utf8')) : {};
	if (r.code !== 0 || !env.PORT || !env.PID) {
		let log = '';
		try { log = fs.readFileSync(path.join(dir, 'knotd.log'), 'utf8').slice(-3000); } catch { /* none */ }
		spawnSync(TESTBED, ['stop', dir], { stdio: 'ignore', timeout: 10000 });
		if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
		throw new Error(`testbed.sh start failed (${r.code}): ${r.stderr}${r.stdout}\n${log}`);
	}
	const queryTimeout = opts.timeoutMs || 5000;
	const bed = {
		dir,
		env,
		port: Number(env.PORT),
		pid: Number(env.PID),
		upstream: `127.0.0.1@${env.PORT}`,
		trustAnchor: env.TRUST_ANCHOR,
		tsigKeyFile: env.TSIG_KEY_FILE,
		tsigName: env.TSIG_NAME,
		tsigSecret: env.TSIG_SECRET,
		stopped: false,

		/** tryUpdate(op, name, type, value, {tsig}): {ok, status, output}; tsig false = unsigned, a string = key file. */
		async tryUpdate(op, name, type, value = '', { tsig = true } = {}) {
			const pre = tsig === false ? ['--no-tsig'] : typeof tsig === 'string' ? ['--key', tsig] : [];
			const args = [...pre, dir, op, name, type, ...(value === '' ? [] : [String(value)])];
			const u = await run(UPDATE, args);
			const output = u.stdout + u.stderr;
			const m = [...output.matchAll(/status: ([A-Z]+)/g)].pop();
			return { ok: u.code === 0, status: u.code === 0 ? 'NOERROR' : m ? m[1] : undefined, output };
		},
		/** update(op, name, type, value): tryUpdate with the bed's TSIG key; throws when refused. */
		async update(op, name, type, value = '') {
			const res = await bed.tryUpdate(op, name, type, value);
			if (!res.ok) throw new Error(`update ${op} ${name} ${type} ${value}: ${res.status || 'failed'}\n${res.output}`);
			return res;
		},
		/** query(name, type, {trustAnchor}): a validated stub lookup against the bed (fields: see parseQuery). */
		async query(name, type = 'TXT', { trustAnchor = bed.trustAnchor } = {}) {
			const t0 = process.hrtime.bigint();
			const q = await run(GETDNS_QUERY, ['-s', '-j', '-t', String(queryTimeout), '-f', trustAnchor,
				`@127.0.0.1@${bed.port}`, '+dnssec_return_all_statuses', name, type], { timeout: queryTimeout + 5000 });
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			if (q.killed) throw new Error(`getdns_query ${name} ${type}: killed after ${queryTimeout + 5000} ms`);
			return { ...parseQuery(q.stdout), ms };
		},
		/** stop(): stop knotd (by its PID), remove the directory unless E2E_KEEP=1; idempotent. */
		async stop() {
			if (bed.stopped) return;
			bed.stopped = true;
			beds.delete(bed);
			const s = await run(TESTBED, ['stop', dir]);
			if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
			if (s.code !== 0) throw new Error(`testbed.sh stop failed (${s.code}): ${s.stderr}`);
		},
	};
	beds.add(bed);
	return bed;
}
