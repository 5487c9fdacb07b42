#!/usr/bin/env node
// tests/demo/setup-password.mjs URL: set the password DEMO_PASSWORD through the authority's real one-time setup
// page at URL, as a person would (tests/e2e/lib/server.mjs completeSetup: the form, password twice, submit).
// Trust for the authority's certificate comes from NODE_EXTRA_CA_CERTS.  Exit status 0 when the page accepted it.

import { completeSetup } from '../e2e/lib/server.mjs';

const [url] = process.argv.slice(2);
const password = process.env.DEMO_PASSWORD;
if (!url || !password) {
	process.stderr.write('usage: DEMO_PASSWORD=... setup-password.mjs SETUP_URL\n');
	process.exit(2);
}
try {
	await completeSetup(new URL(url), password);
} catch (e) {
	process.stderr.write(`setup-password: ${e.message}\n`);
	process.exit(1);
}
