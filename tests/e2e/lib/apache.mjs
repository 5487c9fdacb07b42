// apache.mjs: a private Apache httpd with mod_auth_openidc (Debian's apache2 and libapache2-mod-auth-openidc)
// as a relying party of anchorid.  startApache({port, dir, oidc}) writes dir/httpd.conf, starts
// "apache2 -f conf -X" (one process, foreground), waits until the port answers and returns
// {url, port, dir, pid, stop(), errorLog(), accessLog()}.  /protected/whoami is a CGI that prints REMOTE_USER and
// every OIDC_* variable the module passes; /protected/redirect_uri is the module's redirect URI.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { freePort, track } from './server.mjs';

export const APACHE = process.env.APACHE2 || '/usr/sbin/apache2';
export const MODULES = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';

/** apacheConfig({dir, port, oidc}): the httpd.conf text; ${oidc} maps OIDC* directives to values. */
export function apacheConfig({ dir, port, oidc }) {
	const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	const q = (v) => `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
	const oidcLines = Object.entries(oidc).filter(([, v]) => v !== undefined && v !== null)
		.map(([k, v]) => `${k} ${Array.isArray(v) ? v.map(q).join(' ') : q(v)}`);
	return `# written by tests/e2e/lib/apache.mjs
ServerRoot ${q(dir)}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${q(path.join(dir, 'httpd.pid'))}
Mutex file:${dir}
DefaultRuntimeDir ${q(dir)}
${asRoot ? 'User www-data\nGroup www-data' : ''}
LoadModule mpm_prefork_module ${MODULES}/mod_mpm_prefork.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule alias_module ${MODULES}/mod_alias.so
LoadModule cgi_module ${MODULES}/mod_cgi.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
ErrorLog ${q(path.join(dir, 'error.log'))}
LogLevel warn auth_openidc:info
LogFormat "%h %u \\"%r\\" %>s" e2e
CustomLog ${q(path.join(dir, 'access.log'))} e2e
TypesConfig /dev/null
DocumentRoot ${q(path.join(dir, 'htdocs'))}
<Directory />
	Require all denied
	AllowOverride None
</Directory>
<Directory ${q(path.join(dir, 'htdocs'))}>
	Require all granted
</Directory>
ScriptAlias /protected/whoami ${q(path.join(dir, 'cgi', 'whoami.cgi'))}
<Directory ${q(path.join(dir, 'cgi'))}>
	Options +ExecCGI
	Require all granted
</Directory>

${oidcLines.join('\n')}

<Location /protected>
	AuthType openid-connect
	Require valid-user
</Location>
`;
}

const WHOAMI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'REMOTE_USER=%s\\n' "$REMOTE_USER"
env | grep '^OIDC_' | grep -v -e '^OIDC_access_token=' -e '^OIDC_refresh_token=' | sort
`;

/** check(confPath): "apache2 -t -f conf"; resolves {ok, output}. */
export function checkConfig(confPath) {
	const r = spawnSync(APACHE, ['-t', '-f', confPath], { encoding: 'utf8' });
	return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** prepare({port, oidc, dir}): write the server root (config, CGI, docroot); returns {dir, conf}. */
export function prepare({ port, oidc, dir }) {
	dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'anchorid-apache-'));
	// Apache's children run as www-data when started as root: they must read the CGI and the CA bundle.
	fs.chmodSync(dir, 0o755);
	fs.mkdirSync(path.join(dir, 'htdocs'), { recursive: true });
	fs.mkdirSync(path.join(dir, 'cgi'), { recursive: true });
	fs.writeFileSync(path.join(dir, 'htdocs', 'index.html'), '<!doctype html><title>rp</title><p>public\n');
	fs.writeFileSync(path.join(dir, 'cgi', 'whoami.cgi'), WHOAMI, { mode: 0o755 });
	const conf = path.join(dir, 'httpd.conf');
	fs.writeFileSync(conf, apacheConfig({ dir, port, oidc }));
	return { dir, conf };
}

function probe(port) {
	return new Promise((resolve) => {
		const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

/**
 * startApache({port, oidc}): a running Apache RP; ${oidc} are the OIDC* directives (see prepare).  Throws with
 * the error log when it does not come up within 15 s.
 */
export async function startApache({ port, oidc, dir }) {
	port ??= await freePort();
	const { dir: root, conf } = prepare({ port, oidc, dir });
	const t = checkConfig(conf);
	if (!t.ok) throw new Error(`apache2 -t -f ${conf}: ${t.output}`);
	const child = track(spawn(APACHE, ['-f', conf, '-X'], { stdio: ['ignore', 'pipe', 'pipe'] }));
	let output = '';
	child.stdout.on('data', (d) => { output += d; });
	child.stderr.on('data', (d) => { output += d; });
	let exit = null;
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => { exit = { code, signal }; resolve(exit); }));
	const errorLog = () => { try { return fs.readFileSync(path.join(root, 'error.log'), 'utf8'); } catch { return ''; } };
	const deadline = Date.now() + 15000;
	while (!(await probe(port))) {
		if (exit || Date.now() > deadline) {
			if (!exit) { child.kill('SIGKILL'); await exited; }
			throw new Error(`apache did not start (${JSON.stringify(exit)}):\n${output}\n${errorLog()}`);
		}
		await new Promise((r) => setTimeout(r, 50));
	}
	let stopping = null;
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		dir: root,
		conf,
		pid: child.pid,
		output: () => output,
		errorLog,
		accessLog: () => { try { return fs.readFileSync(path.join(root, 'access.log'), 'utf8'); } catch { return ''; } },
		/** stop(): SIGTERM to the PID we started, SIGKILL after 5 s; removes the server root. */
		stop: async () => {
			stopping ??= (async () => {
				if (!exit) child.kill('SIGTERM');
				const r = await Promise.race([exited, new Promise((res) => setTimeout(() => res(null), 5000).unref())]);
				if (r === null) { child.kill('SIGKILL'); await exited; }
				if (!process.env.E2E_KEEP) fs.rmSync(root, { recursive: true, force: true });
			})();
			return stopping;
		},
	};
}
