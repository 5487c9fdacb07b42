// discover.test.mjs: `anchorid discover` against the DNSSEC test bed (tests/dns/testbed.sh): every status the
// resolver must tell apart, with the exit codes of README.md (0 ok, 2 bad identifier, 3 not found, 4 invalid
// record, 5 insecure refused, 6 bogus, 7 other error), drafts/dns-discovery.md §5 and §9, and dns_tcp_fallback
// (an answer too big for UDP).
// The cache is covered by tests/unit/test_dns_cache.c: one CLI run makes one lookup.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDnsBed } from './lib/dnsbed.mjs';
import { BIN, WRAP, ROOT, SLOW, configText } from './lib/server.mjs';

let bed;
let dir;

before(async () => {
	bed = await startDnsBed();
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-discover-'));
});

after(async () => {
	if (bed) await bed.stop();
	if (dir && !process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

/** conf(values): a config file holding ${values}; returns its path. */
function conf(name, values) {
	const p = path.join(dir, `${name}.conf`);
	fs.writeFileSync(p, configText(values));
	return p;
}

/** discover(identifier, {config, upstream, trustAnchor}): run `anchorid [-c config] discover ...` to the end. */
function discover(identifier, { config, upstream = bed.upstream, trustAnchor = bed.trustAnchor } = {}) {
	const args = [...(config ? ['-c', config] : []), 'discover'];
	if (upstream) args.push('--upstream', upstream);
	if (trustAnchor) args.push('--trust-anchor', trustAnchor);
	args.push(identifier);
	const argv = [...WRAP, BIN, ...args];
	const t0 = Date.now();
	return new Promise((resolve) => {
		execFile(argv[0], argv.slice(1), { cwd: ROOT, timeout: 30000 * SLOW }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout, stderr, ms: Date.now() - t0, out: `${stdout}\n--- stderr:\n${stderr}` });
		});
	});
}

/** udpTruncated(name): kdig over UDP only (+ignore: no retry over TCP), with the largest usual EDNS buffer, says
 * the reply to ${name} TXT has the TC bit and no answer: the premise of the TCP fallback tests. */
function udpTruncated(name) {
	return new Promise((resolve) => {
		execFile('kdig', ['+dnssec', '+ignore', '+bufsize=4096', '+time=2', '+retry=0', '@127.0.0.1', '-p', String(bed.port),
			name, 'TXT'], { timeout: 10000 }, (err, stdout) => {
			const m = /;; Flags: ([a-z ]*); QUERY: \d+; ANSWER: (\d+)/.exec(stdout);
			resolve(!err && !!m && m[1].split(' ').includes('tc') && m[2] === '0');
		});
	});
}

/** field(stdout, key): the value of the "key:   value" line. */
function field(stdout, key) {
	const m = new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(stdout);
	return m ? m[1] : undefined;
}

test('secure record: exit 0, prints the name, record, issuer URL, agent, status and time', async () => {
	const r = await discover('alice.example.test');
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'name'), '_openid.alice.example.test TXT');
	assert.equal(field(r.stdout, 'record'), 'v=OID1;iss=auth.example.net;clp=agent.example.org');
	assert.equal(field(r.stdout, 'issuer'), 'https://auth.example.net');
	assert.equal(field(r.stdout, 'agent'), 'agent.example.org');
	assert.equal(field(r.stdout, 'dnssec'), 'secure');
	assert.match(field(r.stdout, 'time'), /^\d+ ms$/);
	assert.equal(field(r.stdout, 'upstream'), bed.upstream);
});

test('identifier canonicalisation: upper case and a trailing dot query the same name', async () => {
	const r = await discover('Alice.EXAMPLE.test.');
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'name'), '_openid.alice.example.test TXT');
});

test('not found: a secure NXDOMAIN exits 3', async () => {
	const r = await discover('nobody.example.test');
	assert.equal(r.code, 3, r.out);
	assert.equal(field(r.stdout, 'dnssec'), 'secure');
	assert.match(r.stderr, /not_found: _openid\.nobody\.example\.test: no such name/);
});

test('invalid record: v=OID1 not the first tag exits 4 with the reason', async () => {
	const r = await discover('bad.example.test');
	assert.equal(r.code, 4, r.out);
	assert.match(r.stderr, /invalid_record/);
	assert.match(r.stderr, /no_record/);
	assert.match(r.stderr, /v_not_first/);
	assert.equal(field(r.stdout, 'txt'), 'iss=auth.example.net;v=OID1');
});

test('invalid record: two valid v=OID1 records are ambiguous, exit 4', async () => {
	const r = await discover('twice.example.test');
	assert.equal(r.code, 4, r.out);
	assert.match(r.stderr, /ambiguous/);
});

test('insecure zone: refused under dnssec = require (exit 5), accepted with allow-insecure', async () => {
	const r = await discover('alice.insecure.test');
	assert.equal(r.code, 5, r.out);
	assert.equal(field(r.stdout, 'dnssec'), 'insecure');
	assert.match(r.stderr, /insecure: .*not signed/);

	const ok = await discover('alice.insecure.test', { config: conf('allow', { dnssec: 'allow-insecure' }) });
	assert.equal(ok.code, 0, ok.out);
	assert.equal(field(ok.stdout, 'dnssec'), 'insecure');
	assert.equal(field(ok.stdout, 'issuer'), 'https://auth.example.net');
});

test('bogus zone (DS does not match): exit 6, also with allow-insecure', async () => {
	const r = await discover('alice.bogus.test');
	assert.equal(r.code, 6, r.out);
	assert.equal(field(r.stdout, 'dnssec'), 'bogus');
	assert.equal(field(r.stdout, 'record'), undefined, 'bogus data is not shown as a record');
	const r2 = await discover('alice.bogus.test', { config: conf('allow2', { dnssec: 'allow-insecure' }) });
	assert.equal(r2.code, 6, r2.out);
});

test('expired signatures: exit 6', async () => {
	const r = await discover('alice.expired.test');
	assert.equal(r.code, 6, r.out);
	assert.equal(field(r.stdout, 'dnssec'), 'bogus');
});

test('the trust anchor matters: another root key makes the secure zone bogus', async () => {
	const other = path.join(dir, 'other-root.key');
	// A well-formed root DNSKEY that did not sign the bed's root (the public root KSK 20326).
	fs.writeFileSync(other, fs.readFileSync('/usr/share/dns/root.key', 'utf8'));
	const r = await discover('alice.example.test', { trustAnchor: other });
	assert.equal(r.code, 6, r.out);
});

test('multi-string record: the character-strings are concatenated', async () => {
	const r = await discover('multi.example.test');
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'record'), 'v=OID1;iss=auth.example.net;clp=agent.example.org');
	assert.equal(field(r.stdout, 'issuer'), 'https://auth.example.net');
});

test('legacy iau/iag record with port and path records work', async () => {
	const r = await discover('legacy.example.test');
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'agent'), 'agent.example.org');
	const p = await discover('port.example.test');
	assert.equal(p.code, 0, p.out);
	assert.equal(field(p.stdout, 'issuer'), 'https://auth.example.net:8443/id4me');
});

test('a record added by dynamic update becomes visible', async () => {
	const label = `new${process.pid}`;
	const before = await discover(`${label}.example.test`);
	assert.equal(before.code, 3, before.out);
	await bed.update('add', `_openid.${label}`, 'TXT', '"v=OID1;iss=added.example.net;clp=agent.example.org"');
	const r = await discover(`${label}.example.test`);
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'issuer'), 'https://added.example.net');
	assert.equal(field(r.stdout, 'dnssec'), 'secure');
});

test('truncated answer is retried over TCP', async () => {
	// _openid.big holds the record among 20 others, over 4096 bytes: UDP only ever gets TC.
	assert.ok(await udpTruncated('_openid.big.example.test'), 'the UDP reply to _openid.big.example.test is truncated');
	const r = await discover('big.example.test'); // dns_tcp_fallback = on by default
	assert.equal(r.code, 0, r.out);
	assert.equal(field(r.stdout, 'dnssec'), 'secure');
	assert.equal(field(r.stdout, 'record'), 'v=OID1;iss=auth.example.net;clp=agent.example.org');
	assert.equal(field(r.stdout, 'issuer'), 'https://auth.example.net');
	assert.equal(field(r.stdout, 'result'), 'answer, ttl 300');
	const on = await discover('big.example.test', { config: conf('tcpon', { dns_tcp_fallback: true }) });
	assert.equal(on.code, 0, on.out);
});

test('truncated answer without TCP fallback: exit 7 with a clear error, well within the timeout', async () => {
	assert.ok(await udpTruncated('_openid.big.example.test'), 'the UDP reply to _openid.big.example.test is truncated');
	const timeout = 2000;
	const config = conf('notcp', { dns_tcp_fallback: false, dns_timeout_ms: timeout });
	const r = await discover('big.example.test', { config });
	assert.equal(r.code, 7, r.out);
	assert.equal(field(r.stdout, 'error'), 'error');
	assert.equal(field(r.stdout, 'dnssec'), 'indeterminate', 'not mistaken for a bogus or empty answer');
	assert.equal(field(r.stdout, 'record'), undefined);
	assert.match(r.stderr, new RegExp(`lookup of _openid\\.big\\.example\\.test failed: upstream ${bed.upstream.replace(/\./g, '\\.')} ` +
		'sent a truncated answer \\(TC bit\\) and dns_tcp_fallback is off'));
	assert.ok(r.ms < (timeout + 1000) * SLOW + (SLOW > 1 ? 5000 : 0), `took ${r.ms} ms`);
	// A small answer still comes over UDP alone.
	const small = await discover('alice.example.test', { config });
	assert.equal(small.code, 0, small.out);
});

test('upstream down: exit 7 with a clear error within the timeout + 1 s', async () => {
	const config = conf('t500', { dns_timeout_ms: 500 });
	// A closed port: bind nothing on 127.0.0.1:1 (privileged, unused on a test machine).
	const r = await discover('alice.example.test', { config, upstream: '127.0.0.1@1' });
	assert.equal(r.code, 7, r.out);
	assert.match(r.stderr, /upstream 127\.0\.0\.1@1 did not answer within 500 ms/);
	assert.ok(r.ms < (500 + 1000) * SLOW + (SLOW > 1 ? 5000 : 0), `took ${r.ms} ms`);
});

test('a missing trust-anchor file fails loudly: exit 7, the file named', async () => {
	const r = await discover('alice.example.test', { trustAnchor: path.join(dir, 'no-such-root.key') });
	assert.equal(r.code, 7, r.out);
	assert.match(r.stderr, /trust-anchor file .*no-such-root\.key/);
});

test('bad identifier: exit 2 with the reason, no query', async () => {
	const r = await discover('no..dots.example');
	assert.equal(r.code, 2, r.out);
	assert.match(r.stderr, /bad_name: .*name_empty_label/);
	assert.equal(field(r.stdout, 'name'), undefined);
});

test('bad upstream syntax is refused by the config check', async () => {
	const config = conf('badup', { dns_upstreams: 'dns.example.net' });
	const r = await discover('alice.example.test', { config });
	assert.notEqual(r.code, 0, r.out);
	assert.match(r.stderr, /bad value for dns_upstreams/);
});
