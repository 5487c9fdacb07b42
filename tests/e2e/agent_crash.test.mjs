// agent_crash.test.mjs: drafts/agent-provisioning.md §5 step 4: a finalize commits the identity, its setup token
// and the authorization's use in ONE transaction, so a crash (SIGKILL) while many finalizes are in flight leaves
// each of them either wholly done or not at all, and the ones not done can be finalized after the restart.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDnsBed } from './lib/dnsbed.mjs';
import { startServer, restartServer } from './lib/server.mjs';
import { AgentClient, makeKey, writeJwk } from './lib/agent.mjs';

const AGENT_ISS = 'https://agent-crash.example.org';
const N = 12;
const ROUNDS = 4;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let bed;
let srv;
let tmp;
let key;

before(async () => {
	bed = await startDnsBed();
	srv = await startServer({
		config: { login_dns_check: 'on', dns_upstreams: bed.upstream, dns_trust_anchor: bed.trustAnchor },
	});
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-crash-'));
	key = await makeKey('ES256');
	await srv.cli('agent', 'add', 'crash', '--issuer', AGENT_ISS, '--jwk', writeJwk(tmp, 'crash.pub.jwk', key.publicJwk));
});

after(async () => {
	await srv?.stop();
	await bed?.stop();
	if (tmp && !process.env.E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

/** sql(query): one value per line from the server's database (the sqlite3 shell, read only). */
function sql(query) {
	return execFileSync('sqlite3', ['-readonly', path.join(srv.dir, 'anchorid.db'), query], { encoding: 'utf8' }).trim();
}

/** assertConsistent(what): every finalize is all or nothing. */
function assertConsistent(what) {
	assert.equal(sql('PRAGMA integrity_check'), 'ok', `${what}: integrity_check`);
	// An identity an agent created exists only with its authorization used ...
	assert.equal(sql(`SELECT count(*) FROM identities i WHERE i.agent_id IS NOT NULL AND NOT EXISTS
		(SELECT 1 FROM agent_authz a WHERE a.identifier = i.identifier AND COALESCE(a.finalized_at, 0) > 0)`), '0',
	`${what}: an identity without its used authorization`);
	// ... and with its setup token while inactive ...
	assert.equal(sql(`SELECT count(*) FROM identities i WHERE i.agent_id IS NOT NULL AND i.state = 'inactive' AND NOT EXISTS
		(SELECT 1 FROM setup_tokens s WHERE s.identity_id = i.id)`), '0', `${what}: an inactive identity without a setup token`);
	// ... and a used create authorization always has its identity.
	assert.equal(sql(`SELECT count(*) FROM agent_authz a WHERE a.action = 'create' AND COALESCE(a.finalized_at, 0) > 0
		AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.identifier = a.identifier)`), '0',
	`${what}: a used authorization without its identity`);
}

test('finalize is all or nothing: SIGKILL with finalizes in flight leaves no half-created identity', async (t) => {
	let committedBefore = 0;
	let interrupted = 0;
	for (let round = 0; round < ROUNDS; round++) {
		const agent = new AgentClient(srv.issuer, { name: 'crash', key });
		const self = new URL(srv.issuer).host;
		const authzs = [];
		for (let i = 0; i < N; i++) {
			const id = `crash-${round}-${i}.example.test`;
			const r = await agent.createAuthz(id, 'create');
			assert.equal(r.status, 201, r.text);
			await bed.update('add', `_acme-challenge.${id}`, 'TXT', `"${agent.challengeValue(r.body)}"`);
			await bed.update('add', `_openid.${id}`, 'TXT', `"v=OID1;iss=${self};clp=${new URL(AGENT_ISS).host}"`);
			authzs.push(r.body);
		}
		// Each finalize gets its own client (its own nonce), all at once; the server dies a moment later.
		const clients = await Promise.all(authzs.map(async () => {
			const c = new AgentClient(srv.issuer, { name: 'crash', key });
			c.nonce = await c.newNonce();
			return c;
		}));
		const inFlight = authzs.map((a, i) => clients[i].finalize(a).then((r) => r.status, () => 'lost'));
		await sleep([0, 15, 40, 80][round]); // from "before any arrives" to "most have committed"
		srv = await restartServer(srv, { signal: 'SIGKILL' });
		const outcomes = await Promise.all(inFlight);
		committedBefore += outcomes.filter((s) => s === 201).length;
		interrupted += outcomes.filter((s) => s === 'lost').length;
		assertConsistent(`round ${round} after the crash`);

		// What did not commit finalizes now; what did is alreadyFinalized.  Either way one identity each.
		const again = new AgentClient(srv.issuer, { name: 'crash', key });
		for (const a of authzs) {
			const r = await again.finalize(a);
			assert.ok([201, 409].includes(r.status), `${a.identifier} after restart: ${r.status} ${r.text}`);
			if (r.status === 409) assert.equal(r.body.type, 'urn:anchorid:agent:alreadyFinalized', r.text);
		}
		assertConsistent(`round ${round} after finalizing again`);
		assert.equal(sql(`SELECT count(*) FROM identities WHERE identifier LIKE 'crash-${round}-%' AND state = 'inactive'`),
			String(N), `round ${round}: every identifier exists exactly once`);
	}
	t.diagnostic(`${ROUNDS} rounds of ${N}: ${committedBefore} answered 201 before the crash, ${interrupted} cut off`);
	// The crash must have hit finalizes in flight at least once, or this test showed nothing.
	assert.ok(interrupted > 0, `some finalizes were cut off by the crash (${interrupted} lost, ${committedBefore} answered)`);
});
