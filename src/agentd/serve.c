/*
 * serve.c: `anchorid-agent serve`, the agent as claims provider (drafts/claims.md §5).  Three endpoints under
 * the agent's issuer URL: its discovery document (OpenID Connect Discovery 1.0 §3 and §4: the members the
 * authority reads, drafts/claims.md §2), its JWK Set (RFC 7517 §5), and UserInfo (OIDC Core §5.3 and §5.6.2)
 * for the authority's agent tokens (RFC 6750 §2.1, §2.2: a bearer token in the header or the form body).
 *
 * The UserInfo checks, in the order of §5: typ id4me-agent+jwt (RFC 8725 §3.11); iss the one authority this
 * agent works with (--authority); the signature, with the authority's JWK Set found through its discovery
 * document, cached, fetched again on an unknown kid at most every --keys-refetch seconds (default a minute); aud
 * this agent's issuer; exp in the future and iat not, within SERVE_LEEWAY_SEC; then the identifier's _openid
 * record, DNSSEC-validated (from the resolver's cache while live), naming the authority in iss and this agent in
 * clp.  A refusal is 401 with
 * WWW-Authenticate: Bearer error="invalid_token" and a precise error_description (RFC 6750 §3, §3.1); when the
 * agent cannot check a token at the moment (the authority's keys or the DNS unreachable) it answers 503, so
 * that the caller may try again, rather than calling a good token bad.  An accepted token gets a JWT signed
 * with the agent's key carrying iss, sub, aud (the token's client_id), iat, exp and only the claims of the
 * token's clm that the agent holds for the identifier.
 *
 * Handlers run concurrently on the server's workers: the store and the resolver are thread-safe, the agent's
 * key and documents are read-only, and the authority's JWK Set sits behind a mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "agentd_int.h"
#include "conf.h"
#include "dns.h"
#include "http.h"
#include "httpc.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define SERVE_TOKEN_TYP "id4me-agent+jwt" /* drafts/claims.md §4: the agent token's header typ */
#define SERVE_LEEWAY_SEC 60               /* clock skew allowed on exp and iat (at most a minute) */
#define SERVE_ANSWER_TTL 300              /* the signed UserInfo answer's lifetime (§5 example: iat + 300) */
#define SERVE_KEYS_RETRY_MS 10000         /* with no keys at all, a failed fetch is retried after 10 s */
#define SERVE_KEYS_MAX_AGE_MS 3600000     /* keys older than an hour are fetched again (a retired key goes) */
#define SERVE_FETCH_MAX (64 * 1024)       /* the authority's discovery document or JWK Set: a few KiB */
#define SERVE_WHY_LEN 320                 /* one error_description; longer reasons are cut */
#define SERVE_SHOWN_MAX 96                /* bytes of a token's value quoted in a reason */
#define SERVE_DISCOVERY_MAX_AGE "public, max-age=300"
#define SERVE_JWKS_MAX_AGE "public, max-age=60"
#define SERVE_WELL_KNOWN "/.well-known/openid-configuration"
#define SERVE_NROUTES 3

/* OIDC Core §5.1, drafts/claims.md §1: the standard claims the agent can hold and deliver. */
static const char *const serve_claims_supported[] = { "name", "family_name", "given_name", "middle_name", "nickname",
	"preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
	"updated_at", "email", "email_verified", "address", "phone_number", "phone_number_verified", NULL };

/* The algorithms an agent token may be signed with (the authority's access_token_alg: ES256 or RS256). */
static const char *const serve_token_algs[] = { "ES256", "ES384", "RS256", "PS256", NULL };

/* The server's state, shared by every handler. */
struct serve {
	char *issuer;                            /* --issuer without a trailing slash */
	const char *issuer_host;                 /* into issuer: host[:port][/path], as a clp tag names it */
	char *authority;                         /* --authority without a trailing slash: the only iss accepted */
	const char *authority_host;              /* into authority: as an iss tag names it */
	char *key;                               /* the agent's private JWK (zeroed when freed) */
	const char *alg;                         /* its JWS alg */
	char *jwks;                              /* the agent's JWK Set document */
	char *discovery;                         /* the agent's discovery document */
	char *paths[SERVE_NROUTES];              /* the routes' paths: the issuer's path + the endpoint */
	struct http_route routes[SERVE_NROUTES]; /* the table given to http_start */
	struct store *st;                        /* the claims */
	struct dns_resolver *dns;                /* validating, with its TTL cache */
	struct httpc_opts http;                  /* for the authority's discovery document and keys */

	pthread_mutex_t mu;       /* guards the five members below; never held across a network call */
	char *auth_jwks;          /* the authority's JWK Set text; NULL until a fetch succeeded */
	uint64_t auth_jwks_ms;    /* when it was fetched (time_mono_ms) */
	uint64_t auth_try_ms;     /* when the last fetch began */
	bool auth_tried;          /* a fetch began at least once */
	int64_t keys_refetch_ms;  /* --keys-refetch */
	char auth_err[256];       /* why the last fetch failed; "" when it did not */
	pthread_mutex_t fetch_mu; /* one fetch at a time */
};

/* ------------------------------------------------------------------------------------------- answers */

static void deny(struct response *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void unavailable(struct response *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sanitise(s): RFC 6750 §3: error_description holds %x20-21 / %x23-5B / %x5D-7E only; others become '?'. */
static void
sanitise(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
			*s = '?';
}

/* error_answer(resp, status, error, why, challenge): the JSON error {error, error_description} with ${status};
 * with ${challenge}, WWW-Authenticate: Bearer error="${error}", error_description="${why}" (RFC 6750 §3). */
static void
error_answer(struct response *resp, int status, const char *error, const char *why, bool challenge)
{
	char hdr[SERVE_WHY_LEN + 96];
	json_t *o;

	o = json_pack("{s:s,s:s}", "error", error, "error_description", why);
	resp_json(resp, status, o);
	json_decref(o);
	resp->kind = RESP_API;
	snprintf(resp->note, sizeof(resp->note), "%s", error);
	if (challenge) {
		snprintf(hdr, sizeof(hdr), "Bearer error=\"%s\", error_description=\"%s\"", error, why);
		resp_header(resp, "WWW-Authenticate", hdr);
	}
}

/* deny(resp, fmt, ...): RFC 6750 §3.1 invalid_token, 401, with the reason; logged at info (no token in it). */
static void
deny(struct response *resp, const char *fmt, ...)
{
	char why[SERVE_WHY_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sanitise(why);
	log_info("userinfo: refused: %s", why);
	error_answer(resp, 401, "invalid_token", why, true);
}

/* unavailable(resp, fmt, ...): 503 temporarily_unavailable: the token cannot be checked now; logged. */
static void
unavailable(struct response *resp, const char *fmt, ...)
{
	char why[SERVE_WHY_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sanitise(why);
	log_warnx("userinfo: cannot check the token: %s", why);
	error_answer(resp, 503, "temporarily_unavailable", why, false);
	resp_header(resp, "Retry-After", "60");
}

/* server_error(resp): 500 for an internal failure, already logged. */
static void
server_error(struct response *resp)
{
	error_answer(resp, 500, "server_error", "internal error", false);
}

/* shown(s): ${s} as quoted in a reason: at most SERVE_SHOWN_MAX bytes (the rest is the caller's "..."). */
static int
shown(const char *s)
{
	size_t n = strlen(s);

	return ((int)(n > SERVE_SHOWN_MAX ? SERVE_SHOWN_MAX : n));
}

/* ------------------------------------------------------------------------------ the authority's keys */

/* fetch_json(s, url, out, err, errlen): GET ${url} from the authority: 200 with a JSON object of at most
 * SERVE_FETCH_MAX bytes in a new *${out}.  -1 and a sentence otherwise. */
static int
fetch_json(struct serve *s, const char *url, json_t **out, char *err, size_t errlen)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct httpc_response *r = NULL;
	json_error_t jerr;
	char herr[192];
	int ret = -1;

	*out = NULL;
	if (httpc_request("GET", url, headers, NULL, 0, &s->http, &r, herr, sizeof(herr)) == -1) {
		snprintf(err, errlen, "GET %s: %s", url, herr);
		goto out;
	}
	if (r->status != 200) {
		snprintf(err, errlen, "GET %s: HTTP %d", url, r->status);
		goto out;
	}
	if (!json_depth_ok(r->body, r->body_len, AGENTD_MAX_JSON_DEPTH) ||
	    (*out = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "GET %s: not a JSON object", url);
		goto out;
	}
	ret = 0;
out:
	httpc_response_free(r);
	return (ret);
}

/*
 * fetch_keys(s, out, err, errlen): the authority's JWK Set, found through its discovery document (OpenID
 * Connect Discovery 1.0 §4: whose issuer must be the authority exactly, §4.3), as JSON text in a new *${out}.
 * -1 and a sentence otherwise.
 */
static int
fetch_keys(struct serve *s, char **out, char *err, size_t errlen)
{
	json_t *doc = NULL, *set = NULL;
	const char *iss, *uri;
	struct buf url;
	int ret = -1;

	*out = NULL;
	buf_init(&url);
	buf_printf(&url, "%s%s", s->authority, SERVE_WELL_KNOWN);
	if (url.err) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fetch_json(s, url.data, &doc, err, errlen) == -1)
		goto out;
	if ((iss = json_string_value(json_object_get(doc, "issuer"))) == NULL || strcmp(iss, s->authority) != 0) {
		snprintf(err, errlen, "%s names the issuer %.*s, not %s", url.data, iss ? shown(iss) : 6,
		    iss ? iss : "(none)", s->authority);
		goto out;
	}
	if ((uri = json_string_value(json_object_get(doc, "jwks_uri"))) == NULL || !str_has_prefix(uri, "https://")) {
		snprintf(err, errlen, "%s has no https jwks_uri", url.data);
		goto out;
	}
	if (fetch_json(s, uri, &set, err, errlen) == -1)
		goto out;
	if (!json_is_array(json_object_get(set, "keys"))) {
		snprintf(err, errlen, "%.*s is no JWK Set (no keys array)", shown(uri), uri);
		goto out;
	}
	if ((*out = json_dumps(set, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(doc);
	json_decref(set);
	buf_release(&url);
	return (ret);
}

/* keys_due(s, force, now): whether the authority's keys are to be fetched at ${now}; called with s->mu held.
 * First use; after a failure with no keys, every SERVE_KEYS_RETRY_MS; an unknown kid (${force}) or keys older
 * than SERVE_KEYS_MAX_AGE_MS, at most every --keys-refetch seconds (default one minute, drafts/claims.md §5). */
static bool
keys_due(const struct serve *s, bool force, uint64_t now)
{
	uint64_t since = now - s->auth_try_ms;

	if (!s->auth_tried)
		return (true);
	if (s->auth_jwks == NULL)
		return (since >= SERVE_KEYS_RETRY_MS);
	if (force || now - s->auth_jwks_ms >= SERVE_KEYS_MAX_AGE_MS)
		return (since >= (uint64_t)s->keys_refetch_ms);
	return (false);
}

/*
 * authority_keys(s, force, err, errlen): a copy of the authority's JWK Set (the caller frees it), fetched first
 * when keys_due says so; ${force} after an unknown kid.  Keys already held stay in use when a later fetch
 * fails.  NULL and a sentence when there are none.
 */
static char *
authority_keys(struct serve *s, bool force, char *err, size_t errlen)
{
	char ferr[256], *text = NULL, *copy = NULL;
	uint64_t now;
	bool due;
	int rc;

	pthread_mutex_lock(&s->mu);
	due = keys_due(s, force, time_mono_ms());
	pthread_mutex_unlock(&s->mu);
	if (due) {
		pthread_mutex_lock(&s->fetch_mu);
		/* Another request may have fetched while this one waited for its turn. */
		pthread_mutex_lock(&s->mu);
		now = time_mono_ms();
		if ((due = keys_due(s, force, now))) {
			s->auth_tried = true;
			s->auth_try_ms = now;
		}
		pthread_mutex_unlock(&s->mu);
		if (due) {
			rc = fetch_keys(s, &text, ferr, sizeof(ferr));
			if (rc == -1)
				log_warnx("the authority's keys: %s", ferr);
			else
				log_info("the authority's keys fetched from %s", s->authority);
			pthread_mutex_lock(&s->mu);
			if (rc == 0) {
				free(s->auth_jwks);
				s->auth_jwks = text;
				text = NULL;
				s->auth_jwks_ms = time_mono_ms();
				s->auth_err[0] = '\0';
			} else
				snprintf(s->auth_err, sizeof(s->auth_err), "%s", ferr);
			pthread_mutex_unlock(&s->mu);
		}
		pthread_mutex_unlock(&s->fetch_mu);
	}
	pthread_mutex_lock(&s->mu);
	if (s->auth_jwks != NULL) {
		if ((copy = xstrdup(s->auth_jwks)) == NULL)
			snprintf(err, errlen, "out of memory");
	} else
		snprintf(err, errlen, "%s", s->auth_err[0] != '\0' ? s->auth_err : "not fetched");
	pthread_mutex_unlock(&s->mu);
	free(text);
	return (copy);
}

/* ------------------------------------------------------------------------------------------ handlers */

/* h_discovery(ctx, req, resp): GET {issuer}/.well-known/openid-configuration. */
static void
h_discovery(void *ctx, const struct request *req, struct response *resp)
{
	struct serve *s = ctx;

	(void)req;
	resp_text(resp, 200, "application/json", s->discovery);
	resp->kind = RESP_PUBLIC;
	resp_header(resp, "Cache-Control", SERVE_DISCOVERY_MAX_AGE);
}

/* h_jwks(ctx, req, resp): GET {issuer}/jwks.json: the agent's public key (RFC 7517 §5). */
static void
h_jwks(void *ctx, const struct request *req, struct response *resp)
{
	struct serve *s = ctx;

	(void)req;
	resp_text(resp, 200, "application/json", s->jwks);
	resp->kind = RESP_PUBLIC;
	resp_header(resp, "Cache-Control", SERVE_JWKS_MAX_AGE);
}

/* request_token(req, resp, out): RFC 6750 §2.1 and §2.2: the bearer token of the Authorization header or of the
 * form body (POST), never both (§2), in *${out} (caller frees).  -1 with the answer written otherwise. */
static int
request_token(const struct request *req, struct response *resp, char **out)
{
	const char *hdr, *form = NULL;
	char *bearer = NULL;

	*out = NULL;
	if ((hdr = req_header(req, "Authorization")) != NULL && (bearer = auth_parse_bearer(hdr)) == NULL) {
		deny(resp, "the Authorization header is not Bearer followed by a token");
		return (-1);
	}
	if (strcmp(req->method, "POST") == 0 && strcmp(req->content_type, "application/x-www-form-urlencoded") == 0) {
		if (form_count(&req->form, "access_token") > 1) {
			str_secure_free(bearer);
			error_answer(resp, 400, "invalid_request", "access_token repeated", true);
			return (-1);
		}
		form = form_get(&req->form, "access_token");
	}
	if (bearer != NULL && form != NULL) {
		str_secure_free(bearer);
		error_answer(resp, 400, "invalid_request", "more than one way of sending the access token", true);
		return (-1);
	}
	if (bearer == NULL && (form == NULL || form[0] == '\0')) {
		deny(resp, "no access token: send the agent token as Authorization: Bearer");
		return (-1);
	}
	if (bearer == NULL && (bearer = xstrdup(form)) == NULL) {
		log_warnx("userinfo: out of memory");
		server_error(resp);
		return (-1);
	}
	*out = bearer;
	return (0);
}

/* typ_ok(typ): RFC 7515 §4.1.9: the typ of an agent token, compared case-insensitively, "application/" optional. */
static bool
typ_ok(const char *typ)
{
	if (typ != NULL && strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return (typ != NULL && strcasecmp(typ, SERVE_TOKEN_TYP) == 0);
}

/* aud_ok(aud, issuer): RFC 7519 §4.1.3: the audience ${issuer}, as the string or one of an array of strings. */
static bool
aud_ok(json_t *aud, const char *issuer)
{
	json_t *v;
	size_t i;

	if (json_is_string(aud))
		return (strcmp(json_string_value(aud), issuer) == 0);
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), issuer) == 0)
			return (true);
	}
	return (false);
}

/*
 * check_signature(s, token, resp, hdr): §5 "its signature verifies with that authority's JWKS": the verified
 * payload (caller decrefs), or NULL with the answer written.  On an unknown kid the keys are fetched again (at
 * most once a minute) and the token checked once more.
 */
static json_t *
check_signature(struct serve *s, const char *token, struct response *resp, json_t *hdr)
{
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	char err[256], *keys = NULL, *again = NULL;
	json_t *payload = NULL;
	bool unknown = false;
	enum jws_rc rc;

	/* The reasons a look at the header gives, before any key is fetched. */
	if (alg == NULL) {
		deny(resp, "the token's header has no alg");
		goto out;
	}
	if (strcasecmp(alg, "none") == 0) {
		deny(resp, "alg none is not accepted: agent tokens are signed by the authority");
		goto out;
	}
	if (kid == NULL || kid[0] == '\0') {
		deny(resp, "the token's header has no kid");
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		deny(resp, "the token's header has crit: no extension is supported (RFC 7515 4.1.11)");
		goto out;
	}
	if ((keys = authority_keys(s, false, err, sizeof(err))) == NULL) {
		unavailable(resp, "the authority's keys cannot be fetched: %s", err);
		goto out;
	}
	rc = jwt_verify_jwks(keys, token, serve_token_algs, SERVE_TOKEN_TYP, &payload, &unknown);
	if (rc != JWS_OK && unknown) {
		/* RFC 7517 §4.5: a new kid is a rotated key; the set is fetched again (or another request just did). */
		if ((again = authority_keys(s, true, err, sizeof(err))) != NULL && strcmp(again, keys) != 0)
			rc = jwt_verify_jwks(again, token, serve_token_algs, SERVE_TOKEN_TYP, &payload, &unknown);
	}
	switch (rc) {
	case JWS_OK:
		break;
	case JWS_BAD_ALG:
		deny(resp, "alg %.*s is not accepted for the authority's key %.*s (ES256, ES384, RS256 and PS256 are)",
		    shown(alg), alg, shown(kid), kid);
		break;
	case JWS_BAD_SIGNATURE:
		if (unknown)
			deny(resp, "no key of the authority %s has the kid %.*s", s->authority, shown(kid), kid);
		else
			deny(resp, "the signature does not verify with the authority's key %.*s", shown(kid), kid);
		break;
	case JWS_MALFORMED:
		deny(resp, "the token is not a compact JWS of JSON objects");
		break;
	case JWS_ERROR:
		unavailable(resp, "the authority's key %.*s cannot be used (see the agent's log)", shown(kid), kid);
		break;
	}
out:
	free(keys);
	free(again);
	return (payload);
}

/*
 * check_claims(s, pl, resp, now, identifier): §5 aud, exp and iat, then the members the answer needs (sub,
 * client_id, id4me.identifier, clm).  The canonical identifier in a new *${identifier}; -1 with the answer
 * written otherwise.
 */
static int
check_claims(struct serve *s, json_t *pl, struct response *resp, int64_t now, char **identifier)
{
	json_t *exp = json_object_get(pl, "exp"), *iat = json_object_get(pl, "iat"), *clm, *v;
	const char *id;
	enum dns_rec_err why = DNS_REC_OK;
	size_t i;

	*identifier = NULL;
	if (!aud_ok(json_object_get(pl, "aud"), s->issuer)) {
		deny(resp, "the token's aud is not this agent (%s)", s->issuer);
		return (-1);
	}
	if (!json_is_number(exp)) {
		deny(resp, "the token has no exp");
		return (-1);
	}
	if (json_number_value(exp) + SERVE_LEEWAY_SEC <= (double)now) {
		deny(resp, "the token expired at %.0f (now %lld)", json_number_value(exp), (long long)now);
		return (-1);
	}
	if (!json_is_number(iat)) {
		deny(resp, "the token has no iat");
		return (-1);
	}
	if (json_number_value(iat) > (double)(now + SERVE_LEEWAY_SEC)) {
		deny(resp, "the token's iat %.0f is in the future (now %lld)", json_number_value(iat), (long long)now);
		return (-1);
	}
	if (json_string_length(json_object_get(pl, "sub")) == 0) {
		deny(resp, "the token has no sub");
		return (-1);
	}
	if (json_string_length(json_object_get(pl, "client_id")) == 0) {
		deny(resp, "the token has no client_id");
		return (-1);
	}
	if (!json_is_array(clm = json_object_get(pl, "clm"))) {
		deny(resp, "the token has no clm array");
		return (-1);
	}
	json_array_foreach(clm, i, v)
	{
		if (!json_is_string(v)) {
			deny(resp, "the token's clm holds something other than claim names");
			return (-1);
		}
	}
	if ((id = json_string_value(json_object_get(pl, "id4me.identifier"))) == NULL) {
		deny(resp, "the token has no id4me.identifier");
		return (-1);
	}
	if (dns_identifier_canonical(id, identifier, &why) == -1) {
		if (why == DNS_REC_NOMEM) {
			log_warnx("userinfo: out of memory");
			server_error(resp);
		} else
			deny(resp, "the token's id4me.identifier is not valid: %s", dns_rec_strerror(why));
		return (-1);
	}
	return (0);
}

/* check_dns(s, identifier, resp): §5: _openid.<identifier>, DNSSEC-validated, names the authority in iss and
 * this agent in clp.  -1 with the answer written otherwise. */
static int
check_dns(struct serve *s, const char *identifier, struct response *resp)
{
	struct dns_discovery *d = NULL;
	int ret = -1;

	if (dns_discover(s->dns, identifier, &d) == -1) {
		log_warnx("userinfo: out of memory");
		server_error(resp);
		goto out;
	}
	if (d->err == DNS_DISC_ERROR)
		unavailable(resp, "%s", d->error);
	else if (d->err != DNS_DISC_OK)
		deny(resp, "%s", d->error);
	else if (!openid_host_equal(d->record->iss, s->authority_host))
		deny(resp, "%s names the authority %.*s, not %s", d->name, shown(d->record->iss), d->record->iss,
		    s->authority_host);
	else if (d->record->clp == NULL)
		deny(resp, "%s names no agent (clp), so not this one (%s)", d->name, s->issuer_host);
	else if (!openid_host_equal(d->record->clp, s->issuer_host))
		deny(resp, "%s names the agent %.*s, not this one (%s)", d->name, shown(d->record->clp), d->record->clp,
		    s->issuer_host);
	else
		ret = 0;
out:
	dns_discovery_free(d);
	return (ret);
}

/*
 * h_userinfo(ctx, req, resp): GET or POST {issuer}/userinfo with an agent token (drafts/claims.md §5): the checks
 * in the order of §5, then a JWT signed with the agent's key: iss, sub, aud = client_id, iat, exp, and of the
 * claims held for the identifier only those the token's clm names.
 */
static void
h_userinfo(void *ctx, const struct request *req, struct response *resp)
{
	struct serve *s = ctx;
	json_t *hdr = NULL, *pl = NULL, *verified = NULL, *held = NULL, *answer = NULL, *v;
	const char *iss, *typ, *name;
	char *token = NULL, *identifier = NULL, *jwt = NULL;
	int64_t now = time_now();
	size_t i;

	if (request_token(req, resp, &token) == -1)
		goto out;
	if (jwt_decode_unverified(token, &hdr, &pl) == -1) {
		deny(resp, "the token is not a JWT (a compact JWS with a JSON header and payload)");
		goto out;
	}
	/* §5, in order: typ; iss; signature; aud, exp, iat; the _openid record. */
	if ((typ = json_string_value(json_object_get(hdr, "typ"))) == NULL) {
		deny(resp, "the token has no typ: an agent token's is " SERVE_TOKEN_TYP);
		goto out;
	}
	if (!typ_ok(typ)) {
		deny(resp, "the token's typ is %.*s, not " SERVE_TOKEN_TYP, shown(typ), typ);
		goto out;
	}
	if ((iss = json_string_value(json_object_get(pl, "iss"))) == NULL) {
		deny(resp, "the token has no iss");
		goto out;
	}
	if (strcmp(iss, s->authority) != 0) {
		deny(resp, "the token's iss %.*s is not the authority this agent works with (%s)", shown(iss), iss,
		    s->authority);
		goto out;
	}
	if ((verified = check_signature(s, token, resp, hdr)) == NULL)
		goto out;
	if (check_claims(s, verified, resp, now, &identifier) == -1 || check_dns(s, identifier, resp) == -1)
		goto out;
	if (store_claims_get(s->st, identifier, &held) != STORE_OK) {
		server_error(resp);
		goto out;
	}
	if ((answer = json_pack("{s:s,s:O,s:O,s:I,s:I}", "iss", s->issuer, "sub", json_object_get(verified, "sub"),
	         "aud", json_object_get(verified, "client_id"), "iat", (json_int_t)now, "exp",
	         (json_int_t)(now + SERVE_ANSWER_TTL))) == NULL) {
		log_warnx("userinfo: out of memory");
		server_error(resp);
		goto out;
	}
	/* Only the clm claims, and never one that would replace the answer's own members. */
	json_array_foreach(json_object_get(verified, "clm"), i, v)
	{
		name = json_string_value(v);
		if (json_object_get(answer, name) == NULL && json_object_get(held, name) != NULL &&
		    json_object_set(answer, name, json_object_get(held, name)) == -1) {
			log_warnx("userinfo: out of memory");
			server_error(resp);
			goto out;
		}
	}
	if ((jwt = jwt_sign_jwk(s->key, NULL, answer)) == NULL) {
		server_error(resp);
		goto out;
	}
	resp_text(resp, 200, "application/jwt", jwt);
	resp->kind = RESP_API;
out:
	str_secure_free(token);
	free(identifier);
	free(jwt);
	json_decref(hdr);
	json_decref(pl);
	json_decref(verified);
	json_decref(held);
	json_decref(answer);
}

/* ---------------------------------------------------------------------------------------------- set-up */

/*
 * https_url(flag, value, url, host): ${value} as an https URL without trailing slashes in a new *${url}, and in
 * *${host} (pointing into it) its host[:port][/path] as an _openid record's tags name it.  -1 after a message.
 */
static int
https_url(const char *flag, const char *value, char **url, const char **host)
{
	size_t len;

	*url = NULL;
	if (!str_has_prefix(value, "https://")) {
		agentd_errx("%s must be an https URL: %s", flag, value);
		return (-1);
	}
	if ((*url = xstrdup(value)) == NULL) {
		agentd_errx("out of memory");
		return (-1);
	}
	len = strlen(*url);
	while (len > strlen("https://") && (*url)[len - 1] == '/')
		(*url)[--len] = '\0';
	*host = *url + strlen("https://");
	if (!openid_host_syntax_ok(*host)) {
		agentd_errx("%s must be https://host[:port][/path]: %s", flag, value);
		free(*url);
		*url = NULL;
		return (-1);
	}
	return (0);
}

/* discovery_doc(s): the agent's discovery document (drafts/claims.md §2); caller frees; NULL on no memory. */
static char *
discovery_doc(const struct serve *s)
{
	json_t *o = NULL, *claims = NULL;
	char *ret = NULL;
	struct buf ui, jw;
	size_t i;

	buf_init(&ui);
	buf_init(&jw);
	buf_printf(&ui, "%s/userinfo", s->issuer);
	buf_printf(&jw, "%s/jwks.json", s->issuer);
	if (ui.err || jw.err || (claims = json_array()) == NULL)
		goto out;
	for (i = 0; serve_claims_supported[i] != NULL; i++)
		if (json_array_append_new(claims, json_string(serve_claims_supported[i])) == -1)
			goto out;
	if ((o = json_pack("{s:s,s:s,s:s,s:O,s:[s]}", "issuer", s->issuer, "userinfo_endpoint", ui.data, "jwks_uri",
	         jw.data, "claims_supported", claims, "userinfo_signing_alg_values_supported", s->alg)) == NULL)
		goto out;
	ret = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	json_decref(claims);
	buf_release(&ui);
	buf_release(&jw);
	return (ret);
}

/* serve_init(s, opts): everything but the store, the resolver and the server; -1 after a message. */
static int
serve_init(struct serve *s, const struct agentd_opts *opts)
{
	static const char *const endpoints[SERVE_NROUTES] = { SERVE_WELL_KNOWN, "/jwks.json", "/userinfo" };
	static const http_handler handlers[SERVE_NROUTES] = { h_discovery, h_jwks, h_userinfo };
	static const unsigned methods[SERVE_NROUTES] = { HTTP_GET, HTTP_GET, HTTP_GET | HTTP_POST };
	const char *path;
	struct buf b;
	int i;

	if (https_url("--issuer", opts->issuer, &s->issuer, &s->issuer_host) == -1 ||
	    https_url("--authority", opts->authority, &s->authority, &s->authority_host) == -1 ||
	    agentd_key_load(opts->key_file, &s->key, &s->alg) == -1)
		return (-1);
	if ((s->jwks = jwks_of_jwk(s->key)) == NULL) {
		agentd_errx(
		    "key %s: cannot make its JWK Set (an RSA key must say RS256; see the log above)", opts->key_file);
		return (-1);
	}
	if ((s->discovery = discovery_doc(s)) == NULL) {
		agentd_errx("out of memory");
		return (-1);
	}
	/* OpenID Connect Discovery 1.0 §4: the well-known path follows the issuer's own path. */
	path = strchr(s->issuer_host, '/');
	for (i = 0; i < SERVE_NROUTES; i++) {
		buf_init(&b);
		buf_printf(&b, "%s%s", path != NULL ? path : "", endpoints[i]);
		if ((s->paths[i] = buf_steal(&b)) == NULL) {
			agentd_errx("out of memory");
			return (-1);
		}
		s->routes[i].path = s->paths[i];
		s->routes[i].methods = methods[i];
		s->routes[i].fn = handlers[i];
		s->routes[i].flags = 0;
	}
	s->http.ca_file = opts->ca_file;
	s->http.timeout_ms = AGENTD_HTTP_TIMEOUT_MS;
	s->http.max_body = SERVE_FETCH_MAX;
	s->http.allow_private = opts->allow_private_authority;
	s->keys_refetch_ms = (int64_t)opts->keys_refetch_sec * 1000;
	return (0);
}

/* serve_release(s): free what serve_init and agentd_serve made; the server must be stopped. */
static void
serve_release(struct serve *s)
{
	dns_resolver_free(s->dns);
	store_close(s->st);
	free(s->issuer);
	free(s->authority);
	str_secure_free(s->key);
	free(s->jwks);
	free(s->discovery);
	for (int i = 0; i < SERVE_NROUTES; i++)
		free(s->paths[i]);
	free(s->auth_jwks);
}

/* conf_string(field, value): replace the conf string *${field} by a copy of ${value}; -1 on no memory. */
static int
conf_string(char **field, const char *value)
{
	char *v = xstrdup(value);

	if (v == NULL)
		return (-1);
	free(*field);
	*field = v;
	return (0);
}

/*
 * agentd_serve(opts): start the claims provider and serve until SIGTERM or SIGINT (src/main.c's serve(): the
 * signals are blocked in every thread and this one waits for them, so that in-flight requests finish).
 */
int
agentd_serve(const struct agentd_opts *opts)
{
	struct serve s;
	struct conf conf;
	struct dns_config dcfg;
	struct http_server *srv = NULL;
	sigset_t set;
	bool have_conf = false;
	int sig, ret = 1;

	if (!agentd_need(opts->issuer, "--issuer", "ANCHORID_AGENT_ISSUER") ||
	    !agentd_need(opts->authority, "--authority", "ANCHORID_AGENT_AUTHORITY") ||
	    !agentd_need(opts->key_file, "--key", "ANCHORID_AGENT_KEY"))
		return (2);
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pthread_mutex_init(&s.fetch_mu, NULL);
	log_init(LOG_LVL_INFO, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (serve_init(&s, opts) == -1)
		goto out;
	if (conf_init(&conf) == -1) {
		agentd_errx("out of memory");
		goto out;
	}
	have_conf = true;
	/* The server's settings are the authority's defaults but for these. */
	conf.port = opts->port;
	conf.tls = true;
	conf.argon2_max_concurrent = 1; /* no route hashes passwords: one idle slow-lane thread */
	if (conf_string(&conf.listen, opts->listen) == -1 || conf_string(&conf.tls_cert, opts->tls_cert) == -1 ||
	    conf_string(&conf.tls_key, opts->tls_key) == -1) {
		agentd_errx("out of memory");
		goto out;
	}
	if ((s.st = agentd_store_open(opts->database)) == NULL)
		goto out;
	memset(&dcfg, 0, sizeof(dcfg));
	dcfg.upstreams = opts->upstream;
	dcfg.trust_anchor_file = opts->trust_anchor;
	dcfg.timeout_ms = conf.dns_timeout_ms;
	dcfg.tcp_fallback = conf.dns_tcp_fallback;
	dcfg.cache_max_entries = conf.dns_cache_entries;
	dcfg.cache_max_ttl = conf.dns_cache_max_ttl;
	dcfg.allow_insecure = opts->allow_insecure;
	if ((s.dns = dns_resolver_new(&dcfg)) == NULL) {
		agentd_errx("cannot set up the DNS resolver (see above)");
		goto out;
	}
	if ((srv = http_start(&conf, s.routes, SERVE_NROUTES, &s)) == NULL) {
		agentd_errx("cannot serve on %s port %d (see above)", conf.listen, conf.port);
		goto out;
	}
	printf("%s: issuer %s\n%s: userinfo_endpoint %s/userinfo\n%s: authority %s\n%s: ready\n", AGENTD_PROG, s.issuer,
	    AGENTD_PROG, s.issuer, AGENTD_PROG, s.authority, AGENTD_PROG);
	fflush(stdout);
	for (;;) {
		if ((sig = sigwaitinfo(&set, NULL)) == -1 && errno != EINTR)
			break;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("shutting down");
	ret = 0;
out:
	http_stop(srv);
	if (have_conf)
		conf_release(&conf);
	serve_release(&s);
	pthread_mutex_destroy(&s.mu);
	pthread_mutex_destroy(&s.fetch_mu);
	return (ret);
}
