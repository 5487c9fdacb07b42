/*
 * fuzz_jwt_jwks.c: libFuzzer harness for jwt_verify_jwks (src/keys/jwt_jwk.c): a token from an untrusted party
 * verified against a JWK Set fetched from another, both untrusted.  The input's last line is the token (cut at a
 * NUL, as a C string), everything before that newline the JWK Set (a C string as well; without a newline there
 * is no JWK Set, NULL).  Each input is verified four times: with the agent algs {ES256, ES384, RS256, PS256} and
 * typ "id4me-agent+jwt", with the same algs and no typ, with a hostile allow-list (none, NONE, HS256, ES512 and the
 * agent algs) and no typ, and with {ES256} alone and no typ.
 *
 * Invariants (abort on breach; leaks are LeakSanitizer's):
 *   - an answer is one of enum jws_rc; on failure the payload is NULL, and unknown_kid is set only with
 *     JWS_BAD_SIGNATURE when no member of the set's keys has the header's kid;
 *   - JWS_OK comes with unknown_kid false and a payload object equal to the token's payload segment, for a header
 *     (as read here, duplicate members refused) whose alg is in the allow-list and one of the agent algs (never
 *     none, in any case), with no crit, a typ naming the one asked for, and a kid naming a public key of the set
 *     whose alg, when present, is the header's;
 *   - with a typ asked for, JWS_OK only when it is also JWS_OK without, with the same payload; without a typ,
 *     JWS_OK and a header typ of exactly "id4me-agent+jwt" mean JWS_OK with it;
 *   - the hostile allow-list answers exactly as the agent algs do (none and the algs we lack never count), and
 *     {ES256} alone does too for a header alg ES256, and never JWS_OK for another.
 *
 *   make fuzz-bins && build/fuzz/bin/fuzz_jwt_jwks tests/fuzz/corpus/fuzz_jwt_jwks
 *   FUZZ_JWT_JWKS_WRITE_SEEDS=dir build/fuzz/bin/fuzz_jwt_jwks -runs=0 $(mktemp -d)   writes the seeds to dir:
 *   JWK Sets of keys made for that run and tokens they signed (valid ones, and malformed ones made from them); the
 *   private keys are dropped, so the seeds keep verifying and no private key is ever written.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "keys.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TYP "id4me-agent+jwt" /* drafts/claims.md §5: the agent token */

static const char *const agent_algs[] = { "ES256", "ES384", "RS256", "PS256", NULL };
static const char *const hostile_algs[] = { "none", "NONE", "HS256", "ES512", "ES256", "ES384", "RS256", "PS256",
	NULL };
static const char *const es256_algs[] = { "ES256", NULL };
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL };

/* ------------------------------------------------------------------------------------------ seeds */

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define KEEP_MAX 1024

/* What write_seeds allocates, freed at its end: strings and JSON values. */
static char *kept[KEEP_MAX];
static json_t *kept_json[KEEP_MAX];
static size_t nkept, nkept_json;
static const char *seed_dir;

/* keep(s): ${s}, freed at the end of write_seeds; abort on NULL (a seed could not be made). */
static char *
keep(char *s)
{
	if (s == NULL || nkept == KEEP_MAX) {
		fprintf(stderr, "fuzz_jwt_jwks: cannot make a seed\n");
		abort();
	}
	return (kept[nkept++] = s);
}

/* jkeep(o): the same for a JSON value (a reference the caller hands over). */
static json_t *
jkeep(json_t *o)
{
	if (o == NULL || nkept_json == KEEP_MAX) {
		fprintf(stderr, "fuzz_jwt_jwks: cannot make a seed\n");
		abort();
	}
	return (kept_json[nkept_json++] = o);
}

/* seed_bytes(name, jwks, jwks_len, token): write "${jwks}\n${token}" as the seed ${name}. */
static void
seed_bytes(const char *name, const char *jwks, size_t jwks_len, const char *token)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	if ((f = fopen(path, "w")) == NULL || fwrite(jwks, 1, jwks_len, f) != jwks_len || fputc('\n', f) == EOF ||
	    fputs(token, f) == EOF || fclose(f) == EOF) {
		fprintf(stderr, "fuzz_jwt_jwks: cannot write %s\n", path);
		abort();
	}
}

static void
seed(const char *name, const char *jwks, const char *token)
{
	seed_bytes(name, jwks, strlen(jwks), token);
}

/* seed_raw(name, text): write ${text} alone (no newline: no JWK Set) as the seed ${name}. */
static void
seed_raw(const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) == EOF) {
		fprintf(stderr, "fuzz_jwt_jwks: cannot write %s\n", path);
		abort();
	}
}

/* One key made for the seeds: the private JWK (never written) and its JWK Set member {public, kid, alg, use}. */
struct gkey {
	char *priv;
	json_t *pub;
	const char *kid;
};

static void
gkey_make(struct gkey *k, const char *alg)
{
	json_t *set;

	if ((k->priv = jwk_generate(alg)) == NULL)
		abort();
	set = jkeep(json_loads(keep(jwks_of_jwk(k->priv)), 0, NULL));
	k->pub = json_array_get(json_object_get(set, "keys"), 0);
	k->kid = json_string_value(json_object_get(k->pub, "kid"));
	if (k->pub == NULL || k->kid == NULL)
		abort();
}

/* with(key, ...): a copy of the JWK Set member ${key} with each (name, value) pair of the NULL-terminated list
 * set (value a new reference), or removed (value NULL). */
static json_t *
with(json_t *key, ...)
{
	json_t *c = jkeep(json_deep_copy(key)), *v;
	const char *name;
	va_list ap;

	va_start(ap, key);
	while ((name = va_arg(ap, const char *)) != NULL) {
		if ((v = va_arg(ap, json_t *)) != NULL)
			json_object_set_new(c, name, v);
		else
			json_object_del(c, name);
	}
	va_end(ap);
	return (c);
}

/* set_of(flags, ...): the JWK Set text {"keys": [...]} of the NULL-terminated list of members, dumped with
 * ${flags}. */
static char *
set_of(size_t flags, ...)
{
	json_t *keys = json_array(), *set, *k;
	va_list ap;

	va_start(ap, flags);
	while ((k = va_arg(ap, json_t *)) != NULL)
		json_array_append(keys, k);
	va_end(ap);
	set = jkeep(json_pack("{s:o}", "keys", keys));
	return (keep(json_dumps(set, flags)));
}

/* b64(s): base64url of the string ${s}. */
static char *
b64(const char *s)
{
	return (keep(b64url_encode(s, strlen(s))));
}

/* join(a, b, c): "${a}.${b}.${c}". */
static char *
join(const char *a, const char *b, const char *c)
{
	struct buf t;

	buf_init(&t);
	buf_printf(&t, "%s.%s.%s", a, b, c);
	return (keep(buf_steal(&t)));
}

/* part(token, i): segment ${i} (0..2) of the compact JWS ${token}, as text. */
static char *
part(const char *token, int i)
{
	const char *s = token, *e;

	for (; i > 0; i--)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	return (keep(e != NULL ? xstrndup(s, (size_t)(e - s)) : xstrdup(s)));
}

/* sig_bytes(token, n): the decoded signature of ${token} in a new buffer, its length in *${n}. */
static unsigned char *
sig_bytes(const char *token, size_t *n)
{
	const char *s = part(token, 2);
	unsigned char *p = NULL;

	if (b64url_decode(s, strlen(s), &p, n) == -1)
		abort();
	return ((unsigned char *)keep((char *)p));
}

/* rehead(token, hdr): ${token} with its header replaced by the JSON text ${hdr}, payload and signature kept. */
static char *
rehead(const char *token, const char *hdr)
{
	return (join(b64(hdr), part(token, 1), part(token, 2)));
}

/* resig(token, sig, n): ${token} with the signature ${sig} of ${n} bytes. */
static char *
resig(const char *token, const unsigned char *sig, size_t n)
{
	return (join(part(token, 0), part(token, 1), keep(b64url_encode(sig, n))));
}

/* flat(k, alg, kid, payload): the compact form of jws_sign_flat's JWS of ${payload} (header {alg, kid, nonce,
 * url}): how the seeds get PS256 and payloads that are no JSON object, signed. */
static char *
flat(const struct gkey *k, const char *alg, const char *kid, const char *payload)
{
	json_t *o = jkeep(json_loads(
	    keep(jws_sign_flat(k->priv, alg, kid, "n0nce", "https://agent.example.org/userinfo", payload)), 0, NULL));

	return (join(json_string_value(json_object_get(o, "protected")),
	    json_string_value(json_object_get(o, "payload")), json_string_value(json_object_get(o, "signature"))));
}

/* der_token(token): ${token} with its ECDSA signature R || S re-encoded as ASN.1 DER (what OpenSSL makes, what
 * JWS does not use, RFC 7518 §3.4). */
static char *
der_token(const char *token)
{
	unsigned char out[80], *sig;
	size_t n, i, o = 2, half;
	int j;

	sig = sig_bytes(token, &n);
	half = n / 2;
	out[0] = 0x30;
	for (j = 0; j < 2; j++) {
		const unsigned char *p = sig + (size_t)j * half;
		size_t len = half;

		while (len > 1 && p[0] == 0) {
			p++;
			len--;
		}
		out[o++] = 0x02;
		out[o++] = (unsigned char)(len + (p[0] & 0x80 ? 1 : 0));
		if (p[0] & 0x80)
			out[o++] = 0;
		for (i = 0; i < len; i++)
			out[o++] = p[i];
	}
	out[1] = (unsigned char)(o - 2);
	return (resig(token, out, o));
}

/* claims(extra): the members of an agent token (drafts/claims.md §4), with the JSON object text ${extra}'s. */
static json_t *
claims(const char *extra)
{
	json_t *c = jkeep(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s, s], s:s, s:I, s:I}", "iss",
	    "https://auth.example.net", "sub", "sub-alice", "aud", "https://agent.example.org", "client_id", "client1",
	    "id4me.identifier", "alice.example.com", "scope", "openid email", "clm", "email", "email_verified", "jti",
	    "6Qx2nB0yT3vL9kR1wE5uJg", "iat", (json_int_t)1700000000, "exp", (json_int_t)1700000600));

	if (extra != NULL && json_object_update(c, jkeep(json_loads(extra, 0, NULL))) == -1)
		abort();
	return (c);
}

/* fake_b64(n, first, last): base64url of ${n} bytes 0x5a, the first ${first} and the last ${last}. */
static char *
fake_b64(size_t n, unsigned char first, unsigned char last)
{
	unsigned char *p = calloc(1, n);
	char *s;

	if (p == NULL)
		abort();
	memset(p, 0x5a, n);
	p[0] = first;
	p[n - 1] = last;
	s = keep(b64url_encode(p, n));
	free(p);
	return (s);
}

/* flip(s, i): a copy of the base64url text ${s} with its character ${i} changed to another of the alphabet. */
static char *
flip(const char *s, size_t i)
{
	char *c = keep(xstrdup(s));

	c[i] = c[i] == 'A' ? 'B' : 'A';
	return (c);
}

static void
write_seeds(void)
{
	struct gkey e256, e256b, e384, rsa;
	const char *t256, *t384, *trs, *tps, *j256, *j384, *jrs, *jps, *hdr, *s;
	unsigned char *sig, *ext, mac[UTIL_SHA256_LEN];
	char *big, *t, *pub_text;
	size_t n, i;
	struct buf b;

	gkey_make(&e256, "ES256");
	gkey_make(&e256b, "ES256");
	gkey_make(&e384, "ES384");
	gkey_make(&rsa, "RS256");
	t256 = keep(jwt_sign_jwk(e256.priv, TYP, claims(NULL)));
	t384 = keep(jwt_sign_jwk(e384.priv, TYP, claims(NULL)));
	trs = keep(jwt_sign_jwk(rsa.priv, TYP, claims(NULL)));
	tps = flat(&rsa, "PS256", rsa.kid, keep(json_dumps(claims(NULL), JSON_COMPACT)));
	j256 = set_of(JSON_COMPACT, e256.pub, NULL);
	j384 = set_of(JSON_COMPACT, e384.pub, NULL);
	jrs = set_of(JSON_COMPACT, rsa.pub, NULL);
	jps = set_of(JSON_COMPACT, with(rsa.pub, "alg", json_string("PS256"), NULL), NULL);

	/* Tokens that verify. */
	seed("ok_es256", j256, t256);
	seed("ok_es384", j384, t384);
	seed("ok_rs256", jrs, trs);
	seed("ok_ps256", jps, tps);
	seed(
	    "ok_ps256_key_without_alg", set_of(JSON_COMPACT, with(rsa.pub, "alg", NULL, "use", NULL, NULL), NULL), tps);
	seed("ok_es256_no_typ", j256, keep(jwt_sign_jwk(e256.priv, NULL, claims(NULL))));
	seed("ok_typ_application", j256, keep(jwt_sign_jwk(e256.priv, "application/" TYP, claims(NULL))));
	seed("ok_typ_case", j256, keep(jwt_sign_jwk(e256.priv, "ID4ME-Agent+JWT", claims(NULL))));
	seed("typ_jwt", j256, keep(jwt_sign_jwk(e256.priv, "JWT", claims(NULL))));
	seed(
	    "typ_application_twice", j256, keep(jwt_sign_jwk(e256.priv, "application/application/" TYP, claims(NULL))));
	seed("ok_set_of_three", set_of(JSON_COMPACT, e256.pub, e384.pub, rsa.pub, NULL), t384);
	seed("ok_set_pretty", set_of(JSON_INDENT(2), e256.pub, rsa.pub, NULL), trs);
	seed("ok_set_extra_members",
	    keep(json_dumps(jkeep(json_pack("{s:[O, o], s:s, s:{s:[i]}}", "keys",
	                        with(e256.pub, "key_ops", json_pack("[s]", "verify"), "x5t", json_string("abc"), NULL),
	                        json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", "hmac"), "issuer",
	                        "https://agent.example.org", "meta", "n", 1)),
	        JSON_COMPACT)),
	    t256);
	seed("ok_claims_unicode", j256,
	    keep(jwt_sign_jwk(
	        e256.priv, TYP, claims("{\"name\":\"J\\u00fcrgen \\ud83d\\ude00\",\"x\":[1.5,null,{}]}"))));
	/* A token just under KEYS_MAX_JWT, and one just over it. */
	big = keep(calloc(1, 12401));
	memset(big, 'a', 12400);
	seed("ok_token_16k", j256,
	    keep(jwt_sign_jwk(e256.priv, TYP, jkeep(json_pack("{s:s, s:s}", "sub", "sub-alice", "pad", big + 700)))));
	seed("token_over_16k", j256,
	    keep(jwt_sign_jwk(e256.priv, TYP, jkeep(json_pack("{s:s, s:s}", "sub", "sub-alice", "pad", big)))));

	/* Signed payloads that are no JSON object of ours (verified first, then refused). */
	seed("payload_not_json", j256, flat(&e256, "ES256", e256.kid, "not json"));
	seed("payload_array", j256, flat(&e256, "ES256", e256.kid, "[1,2]"));
	seed("payload_string", j256, flat(&e256, "ES256", e256.kid, "\"sub\""));
	seed("payload_dup", j256, flat(&e256, "ES256", e256.kid, "{\"sub\":\"a\",\"sub\":\"b\"}"));
	seed("payload_deep", j256,
	    flat(&e256, "ES256", e256.kid,
	        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"));
	seed("payload_huge_real", j256, flat(&e256, "ES256", e256.kid, "{\"exp\":1e999}"));
	seed("payload_huge_integer", j256, flat(&e256, "ES256", e256.kid, "{\"exp\":123456789012345678901234567890}"));
	seed("payload_nul_escape", j256, flat(&e256, "ES256", e256.kid, "{\"sub\":\"a\\u0000b\"}"));
	seed("payload_trailing", j256, flat(&e256, "ES256", e256.kid, "{\"sub\":\"a\"} {}"));
	seed("payload_bad_utf8", j256, flat(&e256, "ES256", e256.kid, "{\"sub\":\"\xc3\x28\"}"));
	seed("payload_empty", j256, flat(&e256, "ES256", e256.kid, ""));

	/* kid: unknown, colliding, malformed. */
	seed("kid_unknown", set_of(JSON_COMPACT, with(e256.pub, "kid", json_string("other"), NULL), NULL), t256);
	seed("kid_collision_other_alg_first",
	    set_of(JSON_COMPACT, with(e384.pub, "kid", json_string(e256.kid), NULL), e256.pub, NULL), t256);
	seed("kid_collision_other_curve_first",
	    set_of(JSON_COMPACT, with(e384.pub, "kid", json_string(e256.kid), "alg", NULL, NULL), e256.pub, NULL),
	    t256);
	seed("kid_collision_rsa_first",
	    set_of(JSON_COMPACT, with(rsa.pub, "kid", json_string(e256.kid), "alg", NULL, NULL), e256.pub, NULL), t256);
	seed("kid_collision_other_key_first",
	    set_of(JSON_COMPACT, with(e256b.pub, "kid", json_string(e256.kid), NULL), e256.pub, NULL), t256);
	seed("kid_collision_other_key_last",
	    set_of(JSON_COMPACT, e256.pub, with(e256b.pub, "kid", json_string(e256.kid), NULL), NULL), t256);
	seed("kid_collision_bad_first",
	    set_of(JSON_COMPACT, jkeep(json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", e256.kid)),
	        with(e256.pub, "x", json_string("AAAA"), NULL), e256.pub, NULL),
	    t256);
	seed("kid_collision_only_unusable",
	    set_of(JSON_COMPACT, with(e256.pub, "use", json_string("enc"), NULL),
	        with(e256.pub, "d", json_string("AAAA"), NULL), NULL),
	    t256);
	seed("kid_number", set_of(JSON_COMPACT, with(e256.pub, "kid", json_integer(1), NULL), NULL), t256);
	seed("kid_case",
	    set_of(JSON_COMPACT, with(e256.pub, "kid", json_string(str_lower(keep(xstrdup(e256.kid)))), NULL), NULL),
	    t256);
	seed("kid_missing_in_set", set_of(JSON_COMPACT, with(e256.pub, "kid", NULL, NULL), NULL), t256);
	hdr = keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "ES256", "typ", TYP)), JSON_COMPACT));
	seed("hdr_kid_missing", j256, rehead(t256, hdr));
	seed("hdr_kid_empty", set_of(JSON_COMPACT, with(e256.pub, "kid", json_string(""), NULL), NULL),
	    rehead(t256, "{\"alg\":\"ES256\",\"kid\":\"\",\"typ\":\"" TYP "\"}"));
	seed("hdr_kid_number", j256, rehead(t256, "{\"alg\":\"ES256\",\"kid\":7,\"typ\":\"" TYP "\"}"));
	seed("hdr_kid_nul", j256, rehead(t256, "{\"alg\":\"ES256\",\"kid\":\"a\\u0000b\",\"typ\":\"" TYP "\"}"));

	/* alg: none, confusion, keys that do not fit. */
	hdr = keep(
	    json_dumps(jkeep(json_pack("{s:s, s:s, s:s}", "alg", "none", "kid", e256.kid, "typ", TYP)), JSON_COMPACT));
	seed("alg_none", j256, join(b64(hdr), part(t256, 1), ""));
	seed("alg_none_signed", j256, rehead(t256, hdr));
	seed("alg_none_case", j256, rehead(t256, "{\"alg\":\"nOnE\",\"kid\":\"x\"}"));
	pub_text = keep(json_dumps(e256.pub, JSON_COMPACT));
	t = keep(
	    json_dumps(jkeep(json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", e256.kid, "typ", TYP)), JSON_COMPACT));
	buf_init(&b);
	buf_printf(&b, "%s.%s", b64(t), part(t256, 1));
	hmac_sha256(pub_text, strlen(pub_text), b.data, b.len, mac);
	seed(
	    "alg_hs256_public_key_as_secret", j256, join(b64(t), part(t256, 1), keep(b64url_encode(mac, sizeof(mac)))));
	buf_release(&b);
	seed("alg_hs256_oct_key",
	    set_of(JSON_COMPACT, jkeep(json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", e256.kid)),
	        NULL),
	    rehead(t256, t));
	seed("alg_es512", j256, rehead(t256, "{\"alg\":\"ES512\",\"kid\":\"x\"}"));
	seed("alg_missing", j256, rehead(t256, keep(json_dumps(jkeep(json_pack("{s:s}", "kid", e256.kid)), 0))));
	seed("alg_number", j256, rehead(t256, "{\"alg\":256,\"kid\":\"x\"}"));
	seed("alg_es256_on_rsa_key", jrs,
	    rehead(trs, keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "ES256", "kid", rsa.kid)), 0))));
	seed("alg_rs256_on_ec_key", j256,
	    rehead(t256, keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "RS256", "kid", e256.kid)), 0))));
	seed("alg_es384_on_p256_key", set_of(JSON_COMPACT, with(e256.pub, "alg", NULL, NULL), NULL),
	    rehead(t256, keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "ES384", "kid", e256.kid)), 0))));
	seed("alg_ps256_key_says_rs256", jrs, tps);
	seed("alg_rs256_key_says_ps256", jps, trs);
	seed("alg_key_says_none", set_of(JSON_COMPACT, with(e256.pub, "alg", json_string("none"), NULL), NULL), t256);
	seed("alg_key_says_number", set_of(JSON_COMPACT, with(e256.pub, "alg", json_integer(1), NULL), NULL), t256);

	/* Other header members. */
	seed("hdr_crit", j256,
	    rehead(t256,
	        keep(json_dumps(jkeep(json_pack("{s:s, s:s, s:[s], s:b}", "alg", "ES256", "kid", e256.kid, "crit",
	                            "exp", "exp", 1)),
	            0))));
	buf_init(&b);
	buf_printf(&b, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"alg\":\"none\"}", e256.kid);
	seed("hdr_dup_alg", j256, rehead(t256, keep(buf_steal(&b))));
	t = keep(json_dumps(jkeep(json_pack("{s:s, s:s, s:O, s:s}", "alg", "ES256", "kid", e256.kid, "jwk", e256b.pub,
	                        "jku", "https://evil.example/jwks")),
	    JSON_COMPACT));
	seed("hdr_jwk_jku_ignored", j256, rehead(t256, t));
	seed("hdr_not_object", j256, rehead(t256, "[\"ES256\"]"));
	seed("hdr_deep", j256,
	    rehead(t256,
	        "{\"alg\":\"ES256\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]"
	        "]]]]]]]]]]]]]]]]]]]]}"));
	seed("hdr_typ_number", j256, rehead(t256, "{\"alg\":\"ES256\",\"kid\":\"x\",\"typ\":1}"));
	seed("hdr_b64_false", j256, rehead(t256, "{\"alg\":\"ES256\",\"kid\":\"x\",\"b64\":false}"));

	/* Signatures. */
	sig = sig_bytes(t256, &n);
	seed("sig_truncated", j256, resig(t256, sig, n - 1));
	ext = (unsigned char *)keep(calloc(1, n + 1));
	memcpy(ext, sig, n);
	seed("sig_extended", j256, resig(t256, ext, n + 1));
	seed("sig_zero", j256, resig(t256, (unsigned char *)keep(calloc(1, n)), n));
	seed("sig_der", j256, der_token(t256));
	seed("sig_empty", j256, join(part(t256, 0), part(t256, 1), ""));
	/* The last character of an ES256 signature carries 4 bits that decode to nothing (RFC 4648 §3.5): one set. */
	t = keep(xstrdup(t256));
	s = strchr(b64url_alphabet, t[strlen(t) - 1]);
	t[strlen(t) - 1] = b64url_alphabet[(s - b64url_alphabet) | 1];
	seed("sig_nonzero_padding_bits", j256, t);
	buf_init(&b);
	buf_printf(&b, "%s==", t256);
	seed("sig_padding", j256, keep(buf_steal(&b)));
	sig = sig_bytes(trs, &n);
	sig[0] ^= 1;
	seed("sig_rsa_flipped", jrs, resig(trs, sig, n));
	seed("sig_rsa_short", jrs, resig(trs, sig, n - 1));
	seed("sig_ps256_as_rs256", jrs,
	    rehead(tps, keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "RS256", "kid", rsa.kid)), 0))));
	seed("payload_changed", j256,
	    join(part(t256, 0), b64(keep(json_dumps(claims("{\"sub\":\"sub-mallory\"}"), JSON_COMPACT))),
	        part(t256, 2)));

	/* Token shapes. */
	seed("parts_two", j256, keep(xstrndup(t256, strlen(t256) - strlen(part(t256, 2)) - 1)));
	buf_init(&b);
	buf_printf(&b, "%s.%s", t256, part(t256, 2));
	seed("parts_four", j256, keep(buf_steal(&b)));
	buf_init(&b);
	buf_printf(
	    &b, "%s.%s.%s.AAAA.BBBB", b64("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"x\"}"), "CCCC", "DDDD");
	seed("parts_jwe", j256, keep(buf_steal(&b)));
	buf_init(&b);
	buf_printf(&b, "%s ", t256);
	seed("token_trailing_space", j256, keep(buf_steal(&b)));
	buf_init(&b);
	buf_printf(&b, "%s\r", t256);
	seed("token_trailing_cr", j256, keep(buf_steal(&b)));
	/* RFC 7515 §2: base64url; the standard alphabet's + and / are refused (an RSA signature almost surely has a
	 * - or a _ to change). */
	t = keep(xstrdup(trs));
	for (i = 0; t[i] != '\0'; i++)
		t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	seed("token_standard_base64", jrs, t);
	seed("token_empty", j256, "");
	seed("token_dots", j256, "..");
	seed_raw("no_newline", t256);
	buf_init(&b);
	buf_printf(&b, "Bearer %s", t256);
	seed("token_bearer_prefix", j256, keep(buf_steal(&b)));

	/* JWK Sets that are malformed or hold unusable keys. */
	seed("set_empty_object", "{}", t256);
	seed("set_keys_object", keep(json_dumps(jkeep(json_pack("{s:O}", "keys", e256.pub)), 0)), t256);
	seed("set_keys_empty", "{\"keys\":[]}", t256);
	seed("set_keys_null", "{\"keys\":null}", t256);
	seed("set_nested_arrays", keep(json_dumps(jkeep(json_pack("{s:[[[O]]]}", "keys", e256.pub)), 0)), t256);
	seed("set_keys_scalars",
	    keep(json_dumps(jkeep(json_pack("{s:[i, s, n, b, {}, [], O]}", "keys", 1, "a", 1, e256.pub)), 0)), t256);
	t = keep(json_dumps(e256.pub, JSON_COMPACT));
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[],\"keys\":[%s]}", t);
	seed("set_dup_keys", keep(buf_steal(&b)), t256);
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[{\"kid\":\"other\",%s]}", t + 1);
	seed("set_dup_kid_member", keep(buf_steal(&b)), t256);
	buf_init(&b);
	buf_printf(&b, "[%s]", t);
	seed("set_top_array", keep(buf_steal(&b)), t256);
	seed("set_single_jwk", t, t256);
	seed("set_deep", "{\"keys\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	    t256);
	seed("set_not_json", "<html>502 Bad Gateway</html>", t256);
	seed("set_huge_numbers",
	    "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\",\"x\":1e999,\"y\":123456789012345678901234567890}]}", t256);
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[%s],\"n\":-1e999}", t);
	seed("set_huge_real_elsewhere", keep(buf_steal(&b)), t256);
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[%s],\"n\":123456789012345678901234567890}", t);
	seed("set_huge_integer_elsewhere", keep(buf_steal(&b)), t256);
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[%s]}", t);
	n = b.len;
	big = keep(buf_steal(&b));
	big[9] = '\0'; /* a C string, so the set is "{"keys":[" */
	seed_bytes("set_nul_byte", big, n, t256);
	buf_init(&b);
	buf_printf(&b, "{\"keys\":[%s],\"x\":\"\xff\xfe\"}", t);
	seed("set_bad_utf8", keep(buf_steal(&b)), t256);
	seed("set_private_member", set_of(JSON_COMPACT, with(e256.pub, "d", json_string("AAAA"), NULL), NULL), t256);
	seed("set_use_enc", set_of(JSON_COMPACT, with(e256.pub, "use", json_string("enc"), NULL), NULL), t256);
	seed("set_key_ops_encrypt",
	    set_of(JSON_COMPACT, with(e256.pub, "key_ops", json_pack("[s]", "encrypt"), NULL), NULL), t256);
	seed("set_key_ops_not_array",
	    set_of(JSON_COMPACT, with(e256.pub, "key_ops", json_string("verify"), NULL), NULL), t256);
	s = json_string_value(json_object_get(e256.pub, "y"));
	seed("set_ec_off_curve", set_of(JSON_COMPACT, with(e256.pub, "y", json_string(flip(s, 10)), NULL), NULL), t256);
	seed("set_ec_short_x", set_of(JSON_COMPACT, with(e256.pub, "x", json_string(fake_b64(31, 1, 1)), NULL), NULL),
	    t256);
	buf_init(&b);
	buf_printf(&b, "%s=", json_string_value(json_object_get(e256.pub, "x")));
	seed("set_ec_x_padded", set_of(JSON_COMPACT, with(e256.pub, "x", json_string(keep(buf_steal(&b))), NULL), NULL),
	    t256);
	seed("set_ec_p521", set_of(JSON_COMPACT, with(e256.pub, "crv", json_string("P-521"), NULL), NULL), t256);
	seed("set_ec_crv_p384_of_p256", set_of(JSON_COMPACT, with(e256.pub, "crv", json_string("P-384"), NULL), NULL),
	    t256);
	seed("set_okp",
	    set_of(JSON_COMPACT,
	        jkeep(json_pack("{s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid", e256.kid)),
	        NULL),
	    t256);
	seed("set_okp_eddsa",
	    set_of(JSON_COMPACT,
	        jkeep(json_pack("{s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid", e256.kid)),
	        NULL),
	    rehead(t256, keep(json_dumps(jkeep(json_pack("{s:s, s:s}", "alg", "EdDSA", "kid", e256.kid)), 0))));
	seed("set_rsa_1024",
	    set_of(JSON_COMPACT, with(rsa.pub, "n", json_string(fake_b64(128, 0xc1, 0x01)), NULL), NULL), trs);
	seed("set_rsa_8200",
	    set_of(JSON_COMPACT, with(rsa.pub, "n", json_string(fake_b64(1025, 0xff, 0x01)), NULL), NULL), trs);
	seed("set_rsa_8192_bogus",
	    set_of(JSON_COMPACT, with(rsa.pub, "n", json_string(fake_b64(1024, 0xff, 0x01)), NULL), NULL), trs);
	seed("set_rsa_even_n",
	    set_of(JSON_COMPACT, with(rsa.pub, "n", json_string(fake_b64(256, 0xc1, 0x02)), NULL), NULL), trs);
	seed("set_rsa_leading_zero",
	    set_of(JSON_COMPACT, with(rsa.pub, "n", json_string(fake_b64(257, 0x00, 0x01)), NULL), NULL), trs);
	seed("set_rsa_e_even", set_of(JSON_COMPACT, with(rsa.pub, "e", json_string("AQAA"), NULL), NULL), trs);
	seed("set_rsa_e_one", set_of(JSON_COMPACT, with(rsa.pub, "e", json_string("AQ"), NULL), NULL), trs);
	seed("set_rsa_e_9_bytes", set_of(JSON_COMPACT, with(rsa.pub, "e", json_string(fake_b64(9, 1, 1)), NULL), NULL),
	    trs);
	seed("set_rsa_e_8_bytes",
	    set_of(JSON_COMPACT, with(rsa.pub, "e", json_string(fake_b64(8, 0xff, 0xff)), NULL), NULL), trs);
	seed("set_rsa_n_flipped",
	    set_of(JSON_COMPACT,
	        with(rsa.pub, "n", json_string(flip(json_string_value(json_object_get(rsa.pub, "n")), 100)), NULL),
	        NULL),
	    trs);
	seed("set_kty_number", set_of(JSON_COMPACT, with(e256.pub, "kty", json_integer(2), NULL), NULL), t256);
	seed(
	    "set_jwks_in_jwks", keep(json_dumps(jkeep(json_pack("{s:[{s:[O]}]}", "keys", "keys", e256.pub)), 0)), t256);
	seed("set_empty_line", "", t256);

	for (i = nkept_json; i > 0; i--)
		json_decref(kept_json[i - 1]);
	for (i = nkept; i > 0; i--)
		free(kept[i - 1]);
	nkept = nkept_json = 0;
	str_secure_free(e256.priv);
	str_secure_free(e256b.priv);
	str_secure_free(e384.priv);
	str_secure_free(rsa.priv);
}

/* ------------------------------------------------------------------------------------------ checks */

/* What this harness reads of an input, independently of src/keys (duplicate members refused, nothing else). */
struct view {
	json_t *hdr, *payload, *set; /* the token's header and payload segments, the JWK Set; NULL when unreadable */
	const char *alg, *kid, *typ; /* strings of hdr, or NULL */
};

/* segment_json(token, i): segment ${i} of ${token} (split at dots) base64url-decoded as a JSON object, or NULL. */
static json_t *
segment_json(const char *token, int i)
{
	const char *s = token, *e;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	json_t *o = NULL;

	for (; i > 0; i--)
		if ((s = strchr(s, '.')) == NULL)
			return (NULL);
		else
			s++;
	if ((e = strchr(s, '.')) == NULL)
		e = s + strlen(s);
	if (b64url_decode(s, (size_t)(e - s), &raw, &rawlen) == 0)
		o = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return (o);
}

/* in_list(s, list): ${s} is byte for byte one of the NULL-terminated ${list}. */
static bool
in_list(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return (true);
	return (false);
}

/* typ_names(htyp, typ): RFC 7515 §4.1.9: the header typ names the media type ${typ} ("application/" optional,
 * case-insensitive). */
static bool
typ_names(const char *htyp, const char *typ)
{
	if (htyp == NULL)
		return (false);
	if (strncasecmp(htyp, "application/", 12) == 0 && strchr(htyp + 12, '/') == NULL)
		htyp += 12;
	return (strcasecmp(htyp, typ) == 0);
}

/* set_has(v, usable): a member of the set's keys has the header's kid; with ${usable}, one that is also public
 * and whose alg, when present, is the header's. */
static bool
set_has(const struct view *v, bool usable)
{
	const char *const *m;
	json_t *k, *alg;
	size_t i;

	if (v->kid == NULL)
		return (false);
	json_array_foreach(json_object_get(v->set, "keys"), i, k)
	{
		if (!json_is_object(k) || !json_is_string(json_object_get(k, "kid")) ||
		    strcmp(json_string_value(json_object_get(k, "kid")), v->kid) != 0)
			continue;
		if (!usable)
			return (true);
		alg = json_object_get(k, "alg");
		if (alg != NULL && (!json_is_string(alg) || strcmp(json_string_value(alg), v->alg) != 0))
			continue;
		for (m = private_members; *m != NULL && json_object_get(k, *m) == NULL; m++)
			;
		if (*m == NULL)
			return (true);
	}
	return (false);
}

/* check_answer(v, rc, payload, unknown, algs, typ): the invariants of one answer of jwt_verify_jwks. */
static void
check_answer(
    const struct view *v, enum jws_rc rc, json_t *payload, bool unknown, const char *const *algs, const char *typ)
{
	if (rc != JWS_OK && rc != JWS_MALFORMED && rc != JWS_BAD_ALG && rc != JWS_BAD_SIGNATURE && rc != JWS_ERROR)
		abort();
	if ((rc == JWS_OK) != (payload != NULL) || (unknown && rc != JWS_BAD_SIGNATURE))
		abort();
	/* JWS_OK, JWS_BAD_SIGNATURE and JWS_ERROR come after the header's checks (the set is read after them). */
	if (rc == JWS_OK || rc == JWS_BAD_SIGNATURE || rc == JWS_ERROR) {
		if (v->hdr == NULL || v->alg == NULL || strcasecmp(v->alg, "none") == 0 || !in_list(v->alg, algs) ||
		    !in_list(v->alg, agent_algs))
			abort();
		if (json_object_get(v->hdr, "crit") != NULL || (typ != NULL && !typ_names(v->typ, typ)))
			abort();
		if (v->kid == NULL || v->kid[0] == '\0')
			abort();
	}
	/* The key that verified (or failed to) is one of the set's, public, for the header's alg; an unknown kid is
	 * one no member of the set has. */
	if (unknown && (v->set == NULL || set_has(v, false)))
		abort();
	if ((rc == JWS_OK || (rc == JWS_BAD_SIGNATURE && !unknown)) && (v->set == NULL || !set_has(v, true)))
		abort();
	if (rc == JWS_OK &&
	    (!json_is_object(payload) || unknown || v->payload == NULL || !json_equal(payload, v->payload)))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERROR, NULL);
	if ((seed_dir = getenv("FUZZ_JWT_JWKS_WRITE_SEEDS")) != NULL)
		write_seeds();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct view v;
	json_t *p_typ = NULL, *p_none = NULL, *p_hostile = NULL, *p_es256 = NULL;
	enum jws_rc rc_typ, rc_none, rc_hostile, rc_es256;
	bool u_typ, u_none, u_hostile, u_es256;
	char *jwks = NULL, *token;
	size_t nl;

	/* The last line is the token; what precedes its newline the JWK Set. */
	for (nl = size; nl > 0 && data[nl - 1] != '\n'; nl--)
		;
	if (nl > 0 && (jwks = malloc(nl)) == NULL)
		return (0);
	if ((token = malloc(size - nl + 1)) == NULL) {
		free(jwks);
		return (0);
	}
	if (jwks != NULL) {
		memcpy(jwks, data, nl - 1);
		jwks[nl - 1] = '\0';
	}
	memcpy(token, data + nl, size - nl);
	token[size - nl] = '\0';

	memset(&v, 0, sizeof(v));
	if ((v.hdr = segment_json(token, 0)) != NULL) {
		v.alg = json_string_value(json_object_get(v.hdr, "alg"));
		v.kid = json_string_value(json_object_get(v.hdr, "kid"));
		v.typ = json_string_value(json_object_get(v.hdr, "typ"));
	}
	v.payload = segment_json(token, 1);
	if (jwks != NULL && (v.set = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL)) != NULL &&
	    !json_is_object(v.set)) {
		json_decref(v.set);
		v.set = NULL;
	}

	rc_typ = jwt_verify_jwks(jwks, token, agent_algs, TYP, &p_typ, &u_typ);
	check_answer(&v, rc_typ, p_typ, u_typ, agent_algs, TYP);
	rc_none = jwt_verify_jwks(jwks, token, agent_algs, NULL, &p_none, &u_none);
	check_answer(&v, rc_none, p_none, u_none, agent_algs, NULL);
	if (rc_typ == JWS_OK && (rc_none != JWS_OK || !json_equal(p_typ, p_none)))
		abort();
	if (rc_none == JWS_OK && v.typ != NULL && strcmp(v.typ, TYP) == 0 && rc_typ != JWS_OK)
		abort();
	rc_hostile = jwt_verify_jwks(jwks, token, hostile_algs, NULL, &p_hostile, &u_hostile);
	check_answer(&v, rc_hostile, p_hostile, u_hostile, hostile_algs, NULL);
	if (rc_hostile != rc_none || u_hostile != u_none)
		abort();
	rc_es256 = jwt_verify_jwks(jwks, token, es256_algs, NULL, &p_es256, &u_es256);
	check_answer(&v, rc_es256, p_es256, u_es256, es256_algs, NULL);
	if (v.alg != NULL && strcmp(v.alg, "ES256") == 0 && (rc_es256 != rc_none || u_es256 != u_none))
		abort();

	json_decref(p_typ);
	json_decref(p_none);
	json_decref(p_hostile);
	json_decref(p_es256);
	json_decref(v.hdr);
	json_decref(v.payload);
	json_decref(v.set);
	free(jwks);
	free(token);
	return (0);
}
