// demo.test.mjs: `make demo` (tests/demo/run.sh) as a person would use it: the script starts the whole federation
// on loopback (knotd test bed, authority, agent, demo relying party) and prints a machine-readable line
// (DEMO_NONINTERACTIVE=1); the cookie-jar Browser then types the identifier at the relying party, logs in at the
// authority, grants the e-mail claims and refuses the name on the consent page, and reads the relying party's
// page: exactly the e-mail claims, fetched from the agent and verified there.  SIGINT must then stop everything
// (no process of the demo left, the state directory gone).
//
// Env: ANCHORID, ANCHORID_AGENT (binaries), E2E_CERTS (the certificates this process trusts, passed to the demo as
// DEMO_CERTS).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ROOT, SLOW, ensureCerts } from './lib/server.mjs';
import { Browser, findForm, describe as describePage, pageText } from './lib/browser.mjs';
import { walk } from './lib/federation.mjs';

const RUN = path.join(ROOT, 'tests/demo/run.sh');
const EMAIL_CLAIMS = ['email', 'email_verified'];
const PROFILE_CLAIMS = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
	'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'];
const KNOWN = new Set([...EMAIL_CLAIMS, ...PROFILE_CLAIMS]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

let demo; // {child, out(), err(), exited}

/** startDemo(): run.sh with DEMO_NONINTERACTIVE=1; resolves with the fields of its DEMO READY line. */
async function startDemo() {
	const certs = ensureCerts();
	const child = spawn(RUN, [], {
		cwd: ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: {
			...process.env,
			DEMO_NONINTERACTIVE: '1',
			DEMO_CERTS: certs,
			DEMO_KEEP: '',
			ANCHORID: path.resolve(ROOT, process.env.ANCHORID || 'build/anchorid'),
			ANCHORID_AGENT: path.resolve(ROOT, process.env.ANCHORID_AGENT || 'build/anchorid-agent'),
		},
	});
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => { out += d; });
	child.stderr.on('data', (d) => { err += d; });
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	demo = { child, out: () => out, err: () => err, exited };
	const ready = await new Promise((resolve) => {
		const re = /^DEMO READY (.*)$/m;
		const timer = setTimeout(() => resolve(null), 120000 * SLOW);
		const check = () => {
			const m = out.match(re);
			if (m) { clearTimeout(timer); child.stdout.off('data', check); resolve(m[1]); }
		};
		child.stdout.on('data', check);
		exited.then(() => { clearTimeout(timer); setImmediate(() => resolve(out.match(re)?.[1] ?? null)); });
	});
	assert.ok(ready, `tests/demo/run.sh did not print DEMO READY:\n--- stdout:\n${out}\n--- stderr:\n${err}`);
	return Object.fromEntries(ready.trim().split(/\s+/).map((kv) => {
		const i = kv.indexOf('=');
		return [kv.slice(0, i), kv.slice(i + 1)];
	}));
}

/** stopDemo(signal): send ${signal} to run.sh and wait for it; {code, signal} or null after 60 s. */
async function stopDemo(signal = 'SIGINT') {
	if (!demo) return null;
	const c = demo.child;
	if (c.exitCode === null && c.signalCode === null) c.kill(signal);
	return Promise.race([demo.exited, sleep(60000 * SLOW).then(() => null)]);
}

after(async () => {
	// A failed test still stops the demo the way a person would (SIGINT), never by killing run.sh alone, which
	// would leave its servers behind.
	const res = await stopDemo('SIGINT');
	if (res === null) demo.child.kill('SIGKILL');
});

/** alive(pid): the process exists and is not a zombie. */
function alive(pid) {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		return st !== 'Z' && st !== 'X';
	} catch {
		return false;
	}
}

/** processesMentioning(text): live processes whose command line contains ${text}: [{pid, cmd}]. */
function processesMentioning(text) {
	const found = [];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
		let cmd;
		try { cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { continue; }
		if (cmd.includes(text) && alive(Number(d))) found.push({ pid: Number(d), cmd });
	}
	return found;
}

test('make demo: identifier at the relying party, login and per-claim consent at the authority (grant e-mail, ' +
	'refuse name), the relying party shows exactly the e-mail claims from the agent; SIGINT stops everything', async () => {
	const ready = await startDemo();
	for (const k of ['rp', 'identifier', 'password', 'authority', 'agent', 'state', 'pids']) {
		assert.ok(ready[k], `DEMO READY has ${k}: ${JSON.stringify(ready)}`);
	}
	const pids = Object.fromEntries(ready.pids.split(',').map((p) => p.split(':')).map(([n, v]) => [n, Number(v)]));
	assert.deepEqual(Object.keys(pids).sort(), ['agent', 'anchorid', 'knotd', 'rp'], `pids: ${ready.pids}`);
	for (const [n, pid] of Object.entries(pids)) assert.ok(alive(pid), `${n} (${pid}) runs`);
	assert.ok(fs.existsSync(ready.state), `state directory ${ready.state}`);
	assert.ok(path.resolve(ready.state).startsWith(path.join(ROOT, 'build/demo') + path.sep), `state under build/demo: ${ready.state}`);
	for (const u of [ready.rp, ready.authority, ready.agent]) {
		assert.match(u, /^https:\/\/localhost:\d+\/?$/, `a loopback https URL: ${u}`);
	}
	assert.equal(ready.identifier, 'demo.example.test');

	// Page 1: the identifier.
	const browser = new Browser();
	const home = await browser.get(ready.rp);
	assert.equal(home.status, 200, `relying party home: ${describePage(home)}`);
	const form = findForm(home.body, '/start', home.url.href);
	assert.ok(form, `the relying party asks for the identifier: ${describePage(home)}`);
	const started = await browser.submit(home, form, { identifier: ready.identifier });
	assert.ok(started.status >= 300 && started.status < 400 && started.location,
		`the relying party redirects to the authority: ${describePage(started)}`);
	const authz = started.location;
	assert.equal(authz.origin, new URL(ready.authority).origin, `to the authority the DNS names: ${authz.href}`);
	assert.equal(authz.searchParams.get('scope'), 'openid profile email');
	const claimsParam = JSON.parse(authz.searchParams.get('claims'));
	assert.deepEqual(claimsParam, { userinfo: { email: { essential: true, reason: 'To send you a receipt' } } });

	// The authority: login, then the consent page: grant the e-mail claims, refuse the rest (the name).
	const callbackPrefix = new URL('/callback', ready.rp).href;
	let offered;
	const walked = await walk(browser, authz, {
		identifier: ready.identifier, password: ready.password, redirectUri: callbackPrefix, known: KNOWN,
		consent: (page, info) => {
			offered = info;
			return { grant: EMAIL_CLAIMS, decision: 'allow' };
		},
	});
	assert.ok(walked.sawLogin, 'the authority asked for the password');
	assert.equal(walked.consents.length, 1, 'one consent page');
	const boxes = Object.fromEntries(offered.checkboxes.map((c) => [c.claim, c]));
	for (const c of ['email', 'name']) assert.ok(boxes[c], `the consent page offers ${c}: ${JSON.stringify(offered.checkboxes)}`);
	assert.ok(boxes.email.checked, 'email (essential) is pre-checked');
	assert.ok(!boxes.name.checked, 'name (not essential) is not pre-checked');
	assert.match(offered.text, /To send you a receipt/, 'the relying party\'s reason is shown');
	assert.match(offered.text, /Demo Shop/, 'the relying party\'s client_name is shown');
	assert.equal(walked.params.get('error'), null, `authorization error: ${walked.callback.href}`);

	// The relying party's page.
	const done = await browser.get(walked.callback);
	assert.equal(done.status, 200, `relying party result: ${describePage(done)}`);
	const m = done.body.match(/<script type="application\/json" id="result">([\s\S]*?)<\/script>/);
	assert.ok(m, `the result page carries its JSON: ${describePage(done)}`);
	const result = JSON.parse(m[1]);
	assert.equal(result.identifier, ready.identifier);
	assert.equal(result.issuer, ready.authority.replace(/\/$/, ''));
	assert.equal(result.id_token['id4me.identifier'], ready.identifier, 'the ID token names the identifier');
	assert.equal(result.id_token.iss, result.issuer);
	assert.deepEqual(Object.keys(result.distributed).sort(), [...EMAIL_CLAIMS].sort(),
		`exactly the granted claims, from the agent: ${JSON.stringify(result.distributed)}`);
	assert.equal(result.distributed.email.value, 'demo@example.test');
	assert.equal(result.distributed.email_verified.value, true);
	for (const [c, d] of Object.entries(result.distributed)) {
		assert.equal(new URL(d.endpoint).origin, new URL(ready.agent).origin, `${c} comes from the agent: ${d.endpoint}`);
		assert.equal(d.iss.replace(/\/$/, ''), ready.agent.replace(/\/$/, ''), `${c}: a JWT issued by the agent`);
	}
	for (const c of PROFILE_CLAIMS) {
		assert.ok(!(c in result.distributed), `${c} was refused`);
		assert.ok(!(c in result.id_token), `${c} not in the ID token`);
		assert.ok(!(c in (result.userinfo._claim_names ?? {})), `${c} not among the authority's _claim_names`);
	}
	const text = pageText(done.body.replace(/<script[\s\S]*?<\/script>/g, ''));
	assert.match(text, /demo@example\.test/, 'the page shows the e-mail address');
	assert.doesNotMatch(text, /Demo User/, 'the page does not show the refused name');

	// Ctrl-C: everything stops, the state directory goes.
	const res = await stopDemo('SIGINT');
	assert.ok(res, `run.sh stopped within 60 s of SIGINT:\n${demo.err().slice(-3000)}`);
	for (const [n, pid] of Object.entries(pids)) assert.ok(!alive(pid), `${n} (${pid}) stopped`);
	assert.deepEqual(processesMentioning(ready.state), [], 'no process of the demo left');
	assert.ok(!fs.existsSync(ready.state), `state directory ${ready.state} removed`);
	assert.match(demo.err(), /demo: stopped/, 'run.sh says it stopped');
	assert.doesNotMatch(demo.err(), /exited with status|did not stop|failed/, `every server stopped cleanly:\n${demo.err().slice(-3000)}`);
});
