// dnsbed.test.mjs: the DNSSEC test bed itself (tests/dns/testbed.sh, lib/dnsbed.mjs) gives every status the
// DNS discovery code must handle, as seen by a validating getdns stub (getdns_query) that trusts only the bed's
// root key: secure answer, secure NXDOMAIN, insecure, bogus (DS mismatch), bogus (expired signatures), a record
// added by a TSIG-signed dynamic update, an unsigned update refused, multi-string TXT records and a TXT set
// that only TCP delivers (TC over UDP).  Then the resolver of src/dns/resolver.c under load: 16 threads share
// one struct dns_resolver (tests/dns/resolver_stress.c, built beside ANCHORID or named by RESOLVER_STRESS).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startDnsBed } from './lib/dnsbed.mjs';
import { BIN, WRAP, ROOT, SLOW } from './lib/server.mjs';

const STRESS = path.resolve(ROOT, process.env.RESOLVER_STRESS || path.join(path.dirname(BIN), 'resolver_stress'));

const RECORD = 'v=OID1;iss=auth.example.net;clp=agent.example.org';

let bed;

/** run(argv, timeoutMs): {code, stdout, stderr, ms} of a command run to the end (code -1: killed or not run). */
function run(argv, timeoutMs = 30000) {
	const t0 = Date.now();
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout, stderr, ms: Date.now() - t0, out: `${stdout}\n--- stderr:\n${stderr}` });
		});
	});
}

/** kdig(name, ...opts): `kdig +dnssec +ignore` (no retry over TCP) against the bed: {flags, answers, text}. */
async function kdig(name, ...opts) {
	const r = await run(['kdig', '+dnssec', '+ignore', '+time=2', '+retry=0', ...opts, '@127.0.0.1', '-p', String(bed.port),
		name, 'TXT']);
	assert.equal(r.code, 0, r.out);
	const m = /;; Flags: ([a-z ]*); QUERY: \d+; ANSWER: (\d+)/.exec(r.stdout);
	assert.ok(m, `kdig printed no header:\n${r.stdout}`);
	return { flags: m[1].split(' '), answers: Number(m[2]), text: r.stdout };
}

/** running(b): the bed's knotd is still alive (a zombie, or a reused PID, counts as gone). */
function running(b) {
	try {
		const stat = fs.readFileSync(`/proc/${b.pid}/stat`, 'utf8');
		if (/\) [ZX] /.test(stat)) return false;
		return fs.readFileSync(`/proc/${b.pid}/cmdline`, 'utf8').includes(b.dir);
	} catch {
		return false;
	}
}

before(async () => {
	const t0 = Date.now();
	bed = await startDnsBed();
	const ms = Date.now() - t0;
	assert.ok(ms < 5000, `test bed took ${ms} ms to start`);
});

after(async () => {
	if (bed) await bed.stop();
});

test('the bed writes its env, trust anchor and TSIG key', () => {
	for (const k of ['PORT', 'TRUST_ANCHOR', 'TSIG_KEY_FILE', 'TSIG_NAME', 'TSIG_SECRET', 'PID']) {
		assert.ok(bed.env[k], `env has ${k}`);
	}
	assert.ok(bed.port >= 20000 && bed.port <= 60000, `port ${bed.port} in 20000-60000`);
	const ta = fs.readFileSync(bed.trustAnchor, 'utf8').trim().split('\n');
	assert.ok(ta.length >= 1 && ta.every((l) => /^\.\s+(\d+\s+)?(IN\s+)?DNSKEY\s+257\s+3\s+13\s/.test(l)), ta.join('\n'));
	assert.match(fs.readFileSync(bed.tsigKeyFile, 'utf8'), new RegExp(`^hmac-sha256:${bed.tsigName}:${bed.tsigSecret.replace(/[+/]/g, '\\$&')}\\n$`));
});

test('example.test: _openid.alice TXT is SECURE with the record', async () => {
	const r = await bed.query('_openid.alice.example.test', 'TXT');
	assert.equal(r.status, 900, r.statusName);
	assert.equal(r.dnssecStatus, 400);
	assert.equal(r.dnssec, 'secure');
	assert.equal(r.rcodeName, 'NOERROR');
	assert.deepEqual(r.txt, [[RECORD]]);
	assert.ok(r.answers.some((rr) => rr.type === 'RRSIG'), 'the answer carries its RRSIG');
});

test('example.test: a name that does not exist is a SECURE NXDOMAIN', async () => {
	const r = await bed.query('_openid.nobody.example.test', 'TXT');
	assert.equal(r.status, 901, r.statusName);
	assert.equal(r.rcodeName, 'NXDOMAIN');
	assert.equal(r.dnssec, 'secure');
	assert.deepEqual(r.txt, []);
});

test('example.test: an existing name without TXT is a SECURE NODATA', async () => {
	const r = await bed.query('www.example.test', 'TXT');
	assert.equal(r.rcodeName, 'NOERROR');
	assert.equal(r.dnssec, 'secure');
	assert.deepEqual(r.txt, []);
});

test('insecure.test: the record comes back INSECURE', async () => {
	const r = await bed.query('_openid.alice.insecure.test', 'TXT');
	assert.equal(r.status, 900, r.statusName);
	assert.equal(r.dnssecStatus, 403);
	assert.equal(r.dnssec, 'insecure');
	assert.deepEqual(r.txt, [[RECORD]]);
});

test('bogus.test (DS does not match): BOGUS', async () => {
	const r = await bed.query('_openid.alice.bogus.test', 'TXT');
	assert.equal(r.dnssecStatus, 401, `dnssec_status ${r.dnssecStatus}`);
	assert.equal(r.dnssec, 'bogus');
});

test('expired.test (signatures ended 2020-02-01): BOGUS', async () => {
	const r = await bed.query('_openid.alice.expired.test', 'TXT');
	assert.equal(r.dnssecStatus, 401, `dnssec_status ${r.dnssecStatus}`);
	assert.equal(r.dnssec, 'bogus');
	const sig = r.answers.find((rr) => rr.type === 'RRSIG');
	assert.ok(sig, 'expired.test serves its (old) RRSIG');
	assert.equal(sig.rdata.signature_expiration, Date.UTC(2020, 1, 1) / 1000);
});

test('a multi-string TXT comes back as several strings', async () => {
	const r = await bed.query('_openid.multi.example.test', 'TXT');
	assert.equal(r.dnssec, 'secure');
	assert.deepEqual(r.txt, [['v=OID1;', 'iss=auth.example.net;', 'clp=agent.example.org']]);
	assert.equal(r.txt[0].join(''), RECORD);
});

test('a TXT set too big for UDP is truncated (TC) over UDP and comes whole over TCP', async () => {
	// The largest EDNS buffer a client may offer still gets TC: the signed set is over 4096 bytes.
	const udp = await kdig('_openid.big.example.test', '+bufsize=4096');
	assert.ok(udp.flags.includes('tc'), `no TC bit over UDP:\n${udp.text}`);
	assert.equal(udp.answers, 0, udp.text);
	const tcp = await kdig('_openid.big.example.test', '+tcp');
	assert.ok(!tcp.flags.includes('tc'), tcp.text);
	assert.equal(tcp.answers, 22, `21 TXT and their RRSIG:\n${tcp.text}`);
	// A validating stub that may fall back to TCP (getdns_query's default) gets the whole secure set.
	const r = await bed.query('_openid.big.example.test', 'TXT');
	assert.equal(r.dnssec, 'secure');
	assert.equal(r.txt.length, 21);
	assert.deepEqual(r.txt.filter((t) => t.join('') === RECORD), [[RECORD]]);
	assert.ok(r.txt.every((t) => t.join('') === RECORD || /^pad-\d\d=x{200}$/.test(t.join(''))));
});

test('resolver: 16 threads share one resolver, every answer right', async (t) => {
	assert.ok(fs.existsSync(STRESS), `no ${STRESS}: make ${path.relative(ROOT, STRESS)} (make e2e and make check build it)`);
	// Under valgrind (ANCHORID_WRAP) the same 16 threads make fewer lookups each.
	const lookups = SLOW > 1 ? 4 : 50;
	const r = await run([...WRAP, STRESS, bed.upstream, bed.trustAnchor, '16', String(lookups)], 120000 * SLOW);
	for (const line of r.stdout.trim().split('\n')) t.diagnostic(line);
	assert.equal(r.code, 0, r.out);
	for (const round of ['small-cache', 'no-cache']) {
		assert.match(r.stdout, new RegExp(`^round ${round}: 16 threads x ${lookups} lookups in \\d+ ms: .*, 0 wrong$`, 'm'), r.out);
	}
});

test('a record added by a TSIG-signed update is SECURE on the next query, and can be deleted', async () => {
	const name = `_openid.u${process.pid}.example.test`;
	const value = 'v=OID1;iss=auth.example.net;clp=agent.example.org;x="q"';
	const before = await bed.query(name, 'TXT');
	assert.equal(before.rcodeName, 'NXDOMAIN');
	await bed.update('add', name, 'TXT', `"${value.replace(/["\\]/g, '\\$&')}"`);
	const r = await bed.query(name, 'TXT');
	assert.equal(r.status, 900, r.statusName);
	assert.equal(r.dnssec, 'secure');
	assert.deepEqual(r.txt, [[value]]);
	await bed.update('del', name, 'TXT');
	const gone = await bed.query(name, 'TXT');
	assert.equal(gone.rcodeName, 'NXDOMAIN');
	assert.equal(gone.dnssec, 'secure');
});

test('an _acme-challenge record (relative name) can be added', async () => {
	await bed.update('add', '_acme-challenge.bob', 'TXT', '"token-123"');
	const r = await bed.query('_acme-challenge.bob.example.test', 'TXT');
	assert.equal(r.dnssec, 'secure');
	assert.deepEqual(r.txt, [['token-123']]);
});

test('an update without TSIG is refused (NOTAUTH), one with a wrong secret too (BADSIG)', async (t) => {
	const name = `_openid.evil${process.pid}.example.test`;
	const unsigned = await bed.tryUpdate('add', name, 'TXT', '"v=OID1;iss=evil.example"', { tsig: false });
	assert.equal(unsigned.ok, false);
	assert.equal(unsigned.status, 'NOTAUTH', unsigned.output);

	const bad = `${bed.dir}/bad-tsig.key`;
	fs.writeFileSync(bad, `hmac-sha256:${bed.tsigName}:${Buffer.alloc(32, 7).toString('base64')}\n`);
	t.after(() => fs.rmSync(bad, { force: true }));
	const wrong = await bed.tryUpdate('add', name, 'TXT', '"v=OID1;iss=evil.example"', { tsig: bad });
	assert.equal(wrong.ok, false);
	assert.equal(wrong.status, 'BADSIG', wrong.output);

	const r = await bed.query(name, 'TXT');
	assert.equal(r.rcodeName, 'NXDOMAIN', 'nothing was added');
});

test('a second bed runs beside the first on another port, and stop() ends it', async () => {
	const t0 = Date.now();
	const other = await startDnsBed();
	try {
		assert.notEqual(other.port, bed.port);
		const r = await other.query('_openid.alice.example.test', 'TXT');
		assert.equal(r.dnssec, 'secure');
		// Each bed has its own root key: the first bed's anchor makes the second's answers BOGUS.
		const x = await other.query('_openid.alice.example.test', 'TXT', { trustAnchor: bed.trustAnchor });
		assert.equal(x.dnssec, 'bogus');
	} finally {
		await other.stop();
	}
	assert.ok(!running(other), `knotd ${other.pid} is gone`);
	assert.ok(!fs.existsSync(other.dir) || process.env.E2E_KEEP, 'directory removed');
	assert.ok(Date.now() - t0 < 5000, `second bed took ${Date.now() - t0} ms`);
});
