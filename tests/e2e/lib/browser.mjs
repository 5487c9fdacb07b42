// browser.mjs: a small cookie-jar HTTP client standing in for a browser that has no JavaScript.  It keeps
// cookies per host (RFC 6265 §5.3, simplified: host-only unless Domain is given; Secure cookies only over https;
// Path prefix match; Max-Age/Expires honoured), never follows redirects by itself, sends the headers of a
// top-level navigation, and parses the plain HTML forms of the authority so that tests can submit them the way
// a person would.  TLS trust comes from NODE_EXTRA_CA_CERTS (tests/e2e/run.sh sets it).

import http from 'node:http';
import https from 'node:https';

export const USER_AGENT = 'anchorid-e2e/1.0 (cookie jar)';

// ------------------------------------------------------------------------------------------------ cookies

function defaultPath(url) {
	const p = url.pathname;
	if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
	return p.slice(0, p.lastIndexOf('/'));
}

function domainMatch(host, domain) {
	return host === domain || (host.endsWith('.' + domain) && !/^[\d.]+$/.test(host));
}

function pathMatch(reqPath, cookiePath) {
	if (reqPath === cookiePath) return true;
	if (!reqPath.startsWith(cookiePath)) return false;
	return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

/** parseSetCookie(header, url): one Set-Cookie header as a cookie record, or null when it is malformed. */
export function parseSetCookie(header, url) {
	const parts = header.split(';');
	const first = parts.shift();
	const eq = first.indexOf('=');
	if (eq < 1) return null;
	const c = {
		name: first.slice(0, eq).trim(),
		value: first.slice(eq + 1).trim(),
		domain: url.hostname.toLowerCase(),
		hostOnly: true,
		path: defaultPath(url),
		secure: false,
		httpOnly: false,
		sameSite: null,
		expires: null, // ms since epoch; null = session cookie
		raw: header,
	};
	for (const part of parts) {
		const i = part.indexOf('=');
		const k = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
		const v = i < 0 ? '' : part.slice(i + 1).trim();
		if (k === 'secure') c.secure = true;
		else if (k === 'httponly') c.httpOnly = true;
		else if (k === 'samesite') c.sameSite = v.toLowerCase();
		else if (k === 'path' && v.startsWith('/')) c.path = v;
		else if (k === 'domain' && v) {
			const d = v.replace(/^\./, '').toLowerCase();
			if (!domainMatch(c.domain, d)) return null; // RFC 6265 §5.3 step 6
			c.domain = d;
			c.hostOnly = false;
		} else if (k === 'max-age' && /^-?\d+$/.test(v)) {
			c.expires = Date.now() + Number(v) * 1000;
			c.maxAge = Number(v);
		} else if (k === 'expires' && c.maxAge === undefined) {
			const t = Date.parse(v);
			if (!Number.isNaN(t)) c.expires = t;
		}
	}
	return c;
}

export class CookieJar {
	constructor() {
		this.cookies = [];
	}

	/** store(url, setCookieHeaders): remember the cookies a response at ${url} set (or deleted). */
	store(url, headers) {
		for (const h of headers) {
			const c = parseSetCookie(h, url);
			if (!c) continue;
			this.cookies = this.cookies.filter(
				(o) => !(o.name === c.name && o.domain === c.domain && o.path === c.path));
			if (c.expires === null || c.expires > Date.now()) this.cookies.push(c);
		}
	}

	/** matching(url): the live cookies a request to ${url} carries. */
	matching(url) {
		const now = Date.now();
		this.cookies = this.cookies.filter((c) => c.expires === null || c.expires > now);
		const host = url.hostname.toLowerCase();
		return this.cookies.filter((c) =>
			(c.hostOnly ? host === c.domain : domainMatch(host, c.domain)) &&
			pathMatch(url.pathname, c.path) &&
			(!c.secure || url.protocol === 'https:'));
	}

	/** header(url): the Cookie header value for ${url}, or null. */
	header(url) {
		const list = this.matching(url).sort((a, b) => b.path.length - a.path.length);
		return list.length ? list.map((c) => `${c.name}=${c.value}`).join('; ') : null;
	}

	/** get(name, host): the cookie record named ${name} (for host ${host} when given), or undefined. */
	get(name, host) {
		return this.cookies.find((c) => c.name === name && (!host || c.domain === host));
	}

	clear() {
		this.cookies = [];
	}
}

// --------------------------------------------------------------------------------------------------- HTML

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** decodeEntities(s): HTML character references in ${s} decoded. */
export function decodeEntities(s) {
	return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
		if (e[0] === '#') {
			const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
			return Number.isFinite(n) ? String.fromCodePoint(n) : m;
		}
		return ENTITIES[e.toLowerCase()] ?? m;
	});
}

/** parseAttrs(tag): the attributes of one start tag ("<input name=a value='b' disabled>") as an object. */
export function parseAttrs(tag) {
	const attrs = {};
	const body = tag.replace(/^<\s*[a-z0-9]+/i, '').replace(/\/?>$/, '');
	const re = /([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
	let m;
	while ((m = re.exec(body)) !== null) {
		const v = m[2] ?? m[3] ?? m[4];
		attrs[m[1].toLowerCase()] = v === undefined ? '' : decodeEntities(v);
	}
	return attrs;
}

/**
 * parseForms(html): every <form> in ${html} as {action, method, attrs, fields, buttons}: fields are the named
 * inputs that a browser submits without a click (text, hidden, password, email, checked boxes, textarea,
 * selected options), in document order as [name, value] pairs; buttons are the named submit buttons as
 * {name, value, text}.
 */
export function parseForms(html) {
	const forms = [];
	const formRe = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
	let fm;
	while ((fm = formRe.exec(html)) !== null) {
		const open = fm[0].match(/^<form\b[^>]*>/i)[0];
		const attrs = parseAttrs(open);
		const inner = fm[1];
		const fields = [];
		const buttons = [];
		const inputs = [];
		const elRe = /<(input|button|textarea|select)\b[^>]*>/gi;
		let em;
		while ((em = elRe.exec(inner)) !== null) {
			const kind = em[1].toLowerCase();
			const a = parseAttrs(em[0]);
			if (kind === 'input') {
				inputs.push(a);
				const type = (a.type || 'text').toLowerCase();
				if (a.name === undefined || a.disabled !== undefined) continue;
				if (type === 'submit' || type === 'image') buttons.push({ name: a.name, value: a.value ?? '', text: a.value ?? '' });
				else if (type === 'checkbox' || type === 'radio') {
					if (a.checked !== undefined) fields.push([a.name, a.value ?? 'on']);
				} else if (type !== 'button' && type !== 'reset' && type !== 'file') fields.push([a.name, a.value ?? '']);
			} else if (kind === 'button') {
				const close = inner.indexOf('</button', em.index);
				const text = close > 0 ? decodeEntities(inner.slice(em.index + em[0].length, close).replace(/<[^>]*>/g, '').trim()) : '';
				const type = (a.type || 'submit').toLowerCase();
				if (type === 'submit') buttons.push({ name: a.name, value: a.value ?? '', text });
			} else if (kind === 'textarea') {
				const close = inner.indexOf('</textarea', em.index);
				if (a.name !== undefined) fields.push([a.name, decodeEntities(inner.slice(em.index + em[0].length, close))]);
			} else if (kind === 'select') {
				const close = inner.indexOf('</select', em.index);
				const opts = [...inner.slice(em.index, close).matchAll(/<option\b[^>]*>/gi)].map((o) => parseAttrs(o[0]));
				const sel = opts.find((o) => o.selected !== undefined) ?? opts[0];
				if (a.name !== undefined && sel) fields.push([a.name, sel.value ?? '']);
			}
		}
		forms.push({ action: attrs.action ?? '', method: (attrs.method || 'get').toUpperCase(), attrs, fields, buttons, inputs });
	}
	return forms;
}

/** findForm(html, pathSuffix): the first form whose action path ends with ${pathSuffix}, or undefined. */
export function findForm(html, pathSuffix, base = 'https://x.invalid/') {
	return parseForms(html).find((f) => new URL(f.action || base, base).pathname.endsWith(pathSuffix));
}

/** fieldValue(form, name): the first value of ${name} in ${form}, or undefined. */
export function fieldValue(form, name) {
	const f = form.fields.find(([n]) => n === name);
	return f ? f[1] : undefined;
}

/** pageText(html): the visible text of a page, roughly (for error messages and assertions). */
export function pageText(html) {
	return decodeEntities(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' '))
		.replace(/\s+/g, ' ').trim();
}

// -------------------------------------------------------------------------------------------------- client

/**
 * rawRequest(url, {method, headers, body, timeoutMs}): one request with node:http or node:https (TLS trust from
 * NODE_EXTRA_CA_CERTS, as for fetch); resolves {status, headers (a Headers), setCookies, body (text)}.
 */
export function rawRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 30000 } = {}) {
	const u = new URL(url);
	const mod = u.protocol === 'https:' ? https : http;
	return new Promise((resolve, reject) => {
		// Node's parser is strict, which we want for the authority (a framing bug there is a bug).  Plain-http
		// peers are the test's relying parties: mod_auth_openidc's error pages carry more bytes than their
		// Content-Length says, and a strict parse would hide the error text.
		const lenient = u.protocol === 'http:';
		let response = null;
		const chunks = [];
		let done = false;
		const finish = () => {
			if (done) return;
			done = true;
			const res = response;
			const hs = new Headers();
			for (let i = 0; i < res.rawHeaders.length; i += 2) {
				if (res.rawHeaders[i].toLowerCase() !== 'set-cookie') hs.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
			}
			resolve({
				status: res.statusCode,
				headers: hs,
				setCookies: res.headers['set-cookie'] ?? [],
				body: Buffer.concat(chunks).toString('utf8'),
			});
		};
		const fail = (e) => {
			// Bytes after a complete response (see above) only matter on the strict side.
			if (lenient && response?.complete) setTimeout(finish, 200); // 'end' normally comes first
			else if (!done) { done = true; reject(e); }
		};
		const req = mod.request(u, { method, headers, agent: false, timeout: timeoutMs, insecureHTTPParser: lenient }, (res) => {
			response = res;
			res.on('data', (d) => chunks.push(d));
			res.on('error', fail);
			res.on('end', finish);
		});
		req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${u.href}`)));
		req.on('error', fail);
		req.end(body);
	});
}

/**
 * A browser without JavaScript: new Browser().get(url) -> Page {url, status, headers, body, location, cookies}.
 * Every request and response is recorded in this.history.
 */
export class Browser {
	constructor({ userAgent = USER_AGENT, timeoutMs = 30000 } = {}) {
		this.jar = new CookieJar();
		this.userAgent = userAgent;
		this.timeoutMs = timeoutMs;
		this.history = [];
	}

	/**
	 * request(url, {method, headers, body, origin}): one HTTP exchange, no redirect following.  Sends what a
	 * browser sends on a top-level navigation (Accept text/html, Sec-Fetch-Mode navigate, Sec-Fetch-Dest
	 * document): Node's fetch forces "Sec-Fetch-Mode: cors", which relying parties such as mod_auth_openidc
	 * rightly treat as an XHR and answer 401, so this uses node:http(s) directly.
	 */
	async request(url, { method = 'GET', headers = {}, body, origin } = {}) {
		const u = new URL(url);
		const h = {
			'user-agent': this.userAgent,
			accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
			'accept-language': 'en',
			'sec-fetch-mode': 'navigate',
			'sec-fetch-dest': 'document',
		};
		for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
		const cookie = this.jar.header(u);
		if (cookie) h.cookie = cookie;
		if (origin) h.origin = origin;
		if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
		const res = await rawRequest(u, { method, headers: h, body, timeoutMs: this.timeoutMs });
		const setCookies = res.setCookies;
		this.jar.store(u, setCookies);
		const text = res.body;
		const loc = res.headers.get('location');
		const page = {
			url: u,
			method,
			status: res.status,
			headers: res.headers,
			setCookies,
			body: text,
			location: loc === null ? null : new URL(loc, u),
			get forms() { return parseForms(text); },
			get text() { return pageText(text); },
		};
		this.history.push({ method, url: u.href, status: res.status, location: page.location?.href ?? null });
		return page;
	}

	get(url, opts = {}) {
		return this.request(url, { ...opts, method: 'GET' });
	}

	/** post(url, fields, opts): POST ${fields} ([[n, v]...] or an object) as application/x-www-form-urlencoded. */
	post(url, fields, opts = {}) {
		const body = new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields)).toString();
		return this.request(url, {
			...opts,
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', ...(opts.headers ?? {}) },
			body,
		});
	}

	/**
	 * follow(page, {stop, max}): follow redirects from ${page} (a Page, or a URL to GET) until a non-redirect
	 * answer or a Location for which stop(url) is true (the caller's redirect_uri, which may have no server);
	 * returns {page, stoppedAt} where stoppedAt is that URL or null.
	 */
	async follow(start, { stop = () => false, max = 10 } = {}) {
		let page = typeof start === 'string' || start instanceof URL ? await this.get(start) : start;
		for (let i = 0; i < max; i++) {
			if (page.status < 300 || page.status > 399 || !page.location) return { page, stoppedAt: null };
			if (stop(page.location)) return { page, stoppedAt: page.location };
			page = await this.get(page.location);
		}
		throw new Error(`too many redirects: ${JSON.stringify(this.history.slice(-max))}`);
	}

	/**
	 * submit(page, form, values, {button}): submit ${form} (from page.forms) as a browser would: the form's own
	 * fields, overridden by ${values}, plus the clicked ${button} ({name, value} or a predicate).  Sends an Origin
	 * header as browsers do on POST.
	 */
	async submit(page, form, values = {}, { button } = {}) {
		const action = new URL(form.action || page.url.href, page.url);
		const fields = form.fields.map(([n, v]) => [n, v]);
		for (const [n, v] of Object.entries(values)) {
			const i = fields.findIndex(([fn]) => fn === n);
			if (i >= 0) fields[i][1] = v;
			else fields.push([n, v]);
		}
		let b = button;
		if (typeof button === 'function') b = form.buttons.find(button);
		if (button !== undefined && !b) throw new Error(`form ${action.pathname} has no such button: ${JSON.stringify(form.buttons)}`);
		if (b && b.name) fields.push([b.name, b.value]);
		if (form.method === 'GET') {
			action.search = new URLSearchParams(fields).toString();
			return this.get(action);
		}
		return this.post(action, fields, { origin: page.url.origin });
	}
}

/** describe(page): a short description of a page for assertion messages. */
export function describe(page) {
	const loc = page.location ? ` -> ${page.location.href}` : '';
	return `${page.method} ${page.url.href} => ${page.status}${loc}: ${page.text.slice(0, 600)}`;
}
