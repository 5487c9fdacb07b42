/*
 * jwt.c: compact JWS signing and verification, and JWK thumbprints.  RFC 7515 §3.1, §4.1 (header), §5.2
 * (validation); RFC 7519 §7.2; RFC 8725 (JWT BCP: §3.1 algorithm verification, §3.11 explicit typing);
 * RFC 7638 §3 (thumbprints).  SECURITY.md 13: allow-list, never "none", kid always set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "keys.h"
#include "keys_int.h"
#include "log.h"
#include "util.h"

/* b64url_char(c): RFC 4648 §5 alphabet, no padding (RFC 7515 §2 "Base64url Encoding"). */
static bool
b64url_char(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/** jwt_split(token, p): RFC 7515 §7.1: exactly three base64url segments separated by two dots, header and
 * payload non-empty, the whole no longer than KEYS_MAX_JWT.  -1 otherwise. */
int
jwt_split(const char *token, struct jwt_parts *p)
{
	const char *dot[2];
	size_t i, ndots = 0;

	memset(p, 0, sizeof(*p));
	if (token == NULL || (p->len = strnlen(token, KEYS_MAX_JWT + 1)) > KEYS_MAX_JWT)
		return (-1);
	for (i = 0; i < p->len; i++) {
		if (token[i] == '.') {
			if (ndots == 2)
				return (-1);
			dot[ndots++] = token + i;
		} else if (!b64url_char((unsigned char)token[i]))
			return (-1);
	}
	if (ndots != 2)
		return (-1);
	p->hdr = token;
	p->hdr_len = (size_t)(dot[0] - token);
	p->payload = dot[0] + 1;
	p->payload_len = (size_t)(dot[1] - p->payload);
	p->sig = dot[1] + 1;
	p->sig_len = p->len - (size_t)(p->sig - token);
	if (p->hdr_len == 0 || p->payload_len == 0)
		return (-1);
	return (0);
}

/** keys_b64url_ok(s, n): true when the ${n} bytes of ${s} are all in the base64url alphabet (RFC 7515 §2: no
 * padding, no whitespace); true for n == 0. */
bool
keys_b64url_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!b64url_char((unsigned char)s[i]))
			return (false);
	return (true);
}

/** keys_json_load(p, n, max, why, whylen): jwt_json_load for texts of at most ${max} bytes; when it fails, the
 * end of a sentence ("has a duplicate member") in ${why} (when not NULL) for the caller to begin ("the protected
 * header "). */
json_t *
keys_json_load(const char *p, size_t n, size_t max, char *why, size_t whylen)
{
	const char *reason = NULL;
	json_error_t jerr;
	json_t *o = NULL;

	/* jansson's own depth limit is 2048: cap it before the recursive parser sees the text. */
	if (p == NULL)
		reason = "is missing";
	else if (n > max)
		reason = "is too long";
	else if (memchr(p, '\0', n) != NULL)
		reason = "contains a NUL byte";
	else if (!json_depth_ok(p, n, KEYS_MAX_JSON_DEPTH))
		reason = "nests arrays or objects too deeply";
	else if ((o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		reason =
		    json_error_code(&jerr) == json_error_duplicate_key ? "has a duplicate member" : "is not valid JSON";
	else if (!json_is_object(o))
		reason = "is not a JSON object";
	if (reason == NULL)
		return (o);
	json_decref(o);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", reason);
	return (NULL);
}

/** jwt_json_load(p, n): parse ${n} bytes as one JSON object, rejecting duplicate members, NUL bytes and nesting
 * deeper than KEYS_MAX_JSON_DEPTH; a new reference or NULL. */
json_t *
jwt_json_load(const char *p, size_t n)
{
	return (keys_json_load(p, n, KEYS_MAX_JWT, NULL, 0));
}

/** jwt_segment_json(s, n): base64url-decode one segment and parse it as a JSON object; NULL when malformed. */
json_t *
jwt_segment_json(const char *s, size_t n)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	json_t *o;

	if (b64url_decode(s, n, &raw, &rawlen) == -1)
		return (NULL);
	o = jwt_json_load((const char *)raw, rawlen);
	free(raw);
	return (o);
}

/** jwt_decode_unverified(token, header, payload): parse a compact JWS's header and payload as JSON objects
 * without checking anything else (for the fuzz harness and for peeking at "iss" before choosing keys).
 * The caller decrefs both; -1 on malformed input. */
int
jwt_decode_unverified(const char *token, json_t **header, json_t **payload)
{
	struct jwt_parts p;
	json_t *h = NULL, *pl = NULL;

	if (header != NULL)
		*header = NULL;
	if (payload != NULL)
		*payload = NULL;
	if (header == NULL || payload == NULL || jwt_split(token, &p) == -1 ||
	    (h = jwt_segment_json(p.hdr, p.hdr_len)) == NULL ||
	    (pl = jwt_segment_json(p.payload, p.payload_len)) == NULL) {
		json_decref(h);
		return (-1);
	}
	*header = h;
	*payload = pl;
	return (0);
}

/** jwt_sign_compact(jwk, alg, kid, typ, claims, fn): the compact JWS of ${claims} signed with the imported private
 * key ${jwk} under ${alg}, protected header {alg, kid, typ (omitted when NULL)}.  Caller frees; NULL on failure
 * (logged, prefixed with ${fn}). */
char *
jwt_sign_compact(
    const cjose_jwk_t *jwk, const char *alg, const char *kid, const char *typ, json_t *claims, const char *fn)
{
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *compact;
	char *payload = NULL, *ret = NULL;
	cjose_err err;

	if ((hdr = cjose_header_new(&err)) == NULL || !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err) ||
	    !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err) ||
	    (typ != NULL && !cjose_header_set(hdr, "typ", typ, &err))) {
		log_warnx("%s: header: %s", fn, err.message);
		goto out;
	}
	if ((payload = json_dumps(claims, JSON_COMPACT)) == NULL) {
		log_warnx("%s: cannot serialise the claims", fn);
		goto out;
	}
	if ((jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &err)) == NULL ||
	    !cjose_jws_export(jws, &compact, &err)) {
		log_warnx("%s: %s: %s", fn, alg, err.message);
		goto out;
	}
	if ((ret = strdup(compact)) == NULL)
		log_warn("%s: strdup", fn);
out:
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return (ret);
}

/** jwt_sign(kr, alg, typ, claims): compact JWS of ${claims} signed with the active ${alg} key, protected header
 * {alg, kid, typ (omitted when NULL)}.  Caller frees.  NULL on failure. */
char *
jwt_sign(struct keyring *kr, const char *alg, const char *typ, json_t *claims)
{
	struct kr_snap *s;
	const struct kr_key *k;
	char *ret = NULL;

	if (kr == NULL || alg == NULL || !json_is_object(claims)) {
		log_warnx("jwt_sign: bad arguments");
		return (NULL);
	}
	/* The key was imported once (keyring.c): per token only the JSON, a SHA-256 and the signature. */
	s = keyring_snap_get(kr);
	if ((k = keyring_snap_signer(s, alg, time_now())) == NULL)
		log_warnx("jwt_sign: no %s key signs now", alg);
	else
		ret = jwt_sign_compact(k->jwk, k->alg->alg, k->kid, typ, claims, "jwt_sign");
	keyring_snap_put(s);
	return (ret);
}

/* typ_norm(t): RFC 7515 §4.1.9: "application/" may be omitted from typ; compare what follows it. */
static const char *
typ_norm(const char *t)
{
	if (strncasecmp(t, "application/", 12) == 0 && strchr(t + 12, '/') == NULL)
		return (t + 12);
	return (t);
}

/** jwt_typ_equal(htyp, typ): the header typ ${htyp} (NULL: absent) names the media type ${typ} (RFC 7515 §4.1.9:
 * case-insensitive, "application/" optional). */
bool
jwt_typ_equal(const char *htyp, const char *typ)
{
	return (htyp != NULL && typ != NULL && strcasecmp(typ_norm(htyp), typ_norm(typ)) == 0);
}

/** jwt_alg_allowed(alg, allowed): ${alg} is one of the NULL-terminated ${allowed}, and never "none". */
bool
jwt_alg_allowed(const char *alg, const char *const *allowed)
{
	size_t i;

	if (strcasecmp(alg, "none") == 0)
		return (false);
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(allowed[i], alg) == 0)
			return (true);
	return (false);
}

/** jwt_verify(kr, token, allowed_algs, typ): verify a compact JWS against the published keys: header alg in the
 * NULL-terminated ${allowed_algs} (never "none"), kid present and known, signature valid, and the header typ
 * equal to ${typ} when not NULL.  Returns the payload object (caller decrefs) or NULL.  Does NOT check claims. */
json_t *
jwt_verify(struct keyring *kr, const char *token, const char *const *allowed_algs, const char *typ)
{
	struct jwt_parts p;
	struct kr_snap *s = NULL;
	const struct kr_key *k;
	const struct keys_alg *a;
	const char *alg, *kid, *why = "malformed";
	cjose_jws_t *jws = NULL;
	json_t *hdr = NULL, *ret = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	cjose_err err;

	if (kr == NULL || allowed_algs == NULL || jwt_split(token, &p) == -1 || p.sig_len == 0 ||
	    (hdr = jwt_segment_json(p.hdr, p.hdr_len)) == NULL)
		goto out;
	/* RFC 8725 §3.1: the algorithm comes from our allow-list, never from the token alone. */
	why = "alg not allowed";
	if ((alg = json_string_value(json_object_get(hdr, "alg"))) == NULL || !jwt_alg_allowed(alg, allowed_algs) ||
	    (a = keys_alg_find(alg)) == NULL)
		goto out;
	/* RFC 7515 §4.1.11: we implement no extension, so any "crit" must be rejected. */
	why = "crit";
	if (json_object_get(hdr, "crit") != NULL)
		goto out;
	why = "typ";
	if (typ != NULL && !jwt_typ_equal(json_string_value(json_object_get(hdr, "typ")), typ))
		goto out;
	/* SECURITY.md 13: kid always set; the key it names fixes kty and alg (no algorithm confusion). */
	why = "kid";
	s = keyring_snap_get(kr);
	if ((kid = json_string_value(json_object_get(hdr, "kid"))) == NULL || (k = keyring_snap_find(s, kid)) == NULL ||
	    k->alg != a)
		goto out;
	why = "signature";
	if ((jws = cjose_jws_import(token, p.len, &err)) == NULL)
		goto out;
	/* cjose parsed the same bytes; we rejected duplicate members, so it must see the same alg. */
	if ((alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &err)) == NULL ||
	    strcmp(alg, a->alg) != 0 || !cjose_jws_verify(jws, k->jwk, &err))
		goto out;
	why = "payload";
	if (!cjose_jws_get_plaintext(jws, &pt, &ptlen, &err) || (ret = jwt_json_load((const char *)pt, ptlen)) == NULL)
		goto out;
	why = NULL;
out:
	if (why != NULL)
		log_debug("jwt_verify: rejected: %s", why);
	cjose_jws_release(jws);
	keyring_snap_put(s);
	json_decref(hdr);
	return (ret);
}

/* member_ok(o, name): a non-empty string member: base64url, or for "crv" letters, digits and '-'. */
static const char *
member_ok(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));
	bool crv = strcmp(name, "crv") == 0;
	size_t i;

	if (v == NULL || v[0] == '\0')
		return (NULL);
	for (i = 0; v[i] != '\0'; i++)
		if (!b64url_char((unsigned char)v[i]) || (crv && v[i] == '_'))
			return (NULL);
	return (v);
}

/** jwk_thumbprint(jwk_json): RFC 7638 SHA-256 thumbprint of a public JWK (RSA, EC or OKP) as base64url;
 * caller frees; NULL when the JWK is malformed. */
char *
jwk_thumbprint(const char *jwk_json)
{
	/* RFC 7638 §3.2, §3.3: the required members of each kty, in lexicographic order. */
	static const struct {
		const char *kty;
		const char *members[5];
	} req[] = {
		{ "RSA", { "e", "kty", "n", NULL } },
		{ "EC", { "crv", "kty", "x", "y", NULL } },
		{ "OKP", { "crv", "kty", "x", NULL } },
	};
	unsigned char h[UTIL_SHA256_LEN];
	const char *kty, *v;
	json_t *o = NULL;
	struct buf b;
	char *ret = NULL;
	size_t i, j, len;

	buf_init(&b);
	if (jwk_json == NULL || (len = strnlen(jwk_json, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (o = jwt_json_load(jwk_json, len)) == NULL || (kty = json_string_value(json_object_get(o, "kty"))) == NULL)
		goto out;
	for (i = 0; i < sizeof(req) / sizeof(req[0]) && strcmp(req[i].kty, kty) != 0; i++)
		;
	if (i == sizeof(req) / sizeof(req[0]))
		goto out;
	/* RFC 7638 §3: no whitespace; member_ok() admits only values that need no escaping. */
	buf_puts(&b, "{");
	for (j = 0; req[i].members[j] != NULL; j++) {
		if ((v = strcmp(req[i].members[j], "kty") == 0 ? req[i].kty : member_ok(o, req[i].members[j])) == NULL)
			goto out;
		buf_printf(&b, "%s\"%s\":\"", j > 0 ? "," : "", req[i].members[j]);
		buf_puts(&b, v);
		buf_puts(&b, "\"");
	}
	buf_puts(&b, "}");
	if (b.err) {
		log_warnx("jwk_thumbprint: out of memory");
		goto out;
	}
	sha256(b.data, b.len, h);
	ret = b64url_encode(h, sizeof(h));
out:
	buf_release(&b);
	json_decref(o);
	return (ret);
}
