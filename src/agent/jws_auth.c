/*
 * jws_auth.c: authentication of agent requests (drafts/agent-provisioning.md §3): the checks of a signed request,
 * in the draft's order: media type, size, JWS syntax, alg, url, kid, agent enabled, signature, nonce (RFC 8555
 * §6.5, nonce.c), payload.  A request refused before the signature check consumes no nonce, so nobody can burn an
 * agent's nonces with unsigned requests.
 */
#include <string.h>

#include "keys.h"
#include "internal.h"

#define JWS_MEDIA_TYPE "application/jose+json"

/** agent_name_ok(s): 1..AGENT_MAX_NAME of a-z 0-9 - _ . */
bool
agent_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.");

	return (n > 0 && n <= AGENT_MAX_NAME && s[n] == '\0');
}

/*
 * url_matches(issuer, path, url): §3: the signed ${url} is this request's URL: ${issuer} followed by the
 * request ${path}.  The HTTP layer hands handlers the %-decoded path, so the signed URL's path is %-decoded the
 * same way before the comparison (an agent may percent-encode a path segment); a malformed escape never matches.
 * A query or fragment in the signed URL never matches: no request of the API has one.
 */
static bool
url_matches(const char *issuer, const char *path, const char *url)
{
	size_t n = strlen(issuer);
	const unsigned char *u;
	int hi, lo;

	if (strncmp(url, issuer, n) != 0)
		return (false);
	for (u = (const unsigned char *)url + n; *u != '\0'; u++, path++) {
		if (*u == '?' || *u == '#')
			return (false);
		if (*u == '%') {
			if ((hi = hex_digit(u[1])) == -1 || (lo = hex_digit(u[2])) == -1 || hi * 16 + lo == 0)
				return (false);
			if ((unsigned char)*path != hi * 16 + lo)
				return (false);
			u += 2;
		} else if (*u != (unsigned char)*path)
			return (false);
	}
	return (*path == '\0');
}

/* payload_check(c, jws, want): the last check of §3: the payload the endpoint wants.  -1 with malformed. */
static int
payload_check(struct agent_call *c, const struct jws_request *jws, enum agent_payload want)
{
	json_error_t jerr;

	if (want == AGENT_PAYLOAD_EMPTY) {
		if (jws->payload_len != 0) {
			agent_problem(c->resp, AP_MALFORMED, 0, NULL,
			    "This is a POST-as-GET request: the payload must be empty.");
			return (-1);
		}
		return (0);
	}
	if (!json_depth_ok(jws->payload, jws->payload_len, AGENT_MAX_DEPTH) ||
	    (c->payload = json_loadb(jws->payload, jws->payload_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(c->payload)) {
		json_decref(c->payload);
		c->payload = NULL;
		agent_problem(
		    c->resp, AP_MALFORMED, 0, NULL, "The payload must be one JSON object without duplicate members.");
		return (-1);
	}
	return (0);
}

/** agent_authenticate(c, want): §3, in order. */
int
agent_authenticate(struct agent_call *c, enum agent_payload want)
{
	const struct request *req = c->req;
	struct response *resp = c->resp;
	struct jws_request *jws = NULL;
	char why[160];
	enum store_rc rc;
	int ret = -1;

	why[0] = '\0';
	if (strcmp(req->content_type, JWS_MEDIA_TYPE) != 0) {
		agent_problem(resp, AP_MALFORMED, 415, NULL, "The Content-Type must be " JWS_MEDIA_TYPE ".");
		goto out;
	}
	if (req->too_large || req->body_len > KEYS_MAX_JWS) {
		agent_problem(resp, AP_MALFORMED, 413, NULL, "The body is larger than %d bytes.", KEYS_MAX_JWS);
		goto out;
	}
	switch (jws_parse(req->body, req->body_len, &jws, why, sizeof(why))) {
	case JWS_OK:
		break;
	case JWS_BAD_ALG:
		agent_problem(resp, AP_BAD_SIGNATURE_ALGORITHM, 0, NULL, "%s", why[0] ? why : "alg is not allowed.");
		goto out;
	case JWS_MALFORMED:
		agent_problem(resp, AP_MALFORMED, 0, NULL, "%s", why[0] ? why : "The body is not a flattened JWS.");
		goto out;
	default:
		log_warnx("agent: cannot parse a request JWS");
		agent_internal(resp);
		goto out;
	}
	if (!url_matches(c->app->conf->issuer, req->path, jws->url)) {
		agent_problem(resp, AP_UNAUTHORIZED, 0, NULL, "The protected header's url must be %s%s.",
		    c->app->conf->issuer, req->path);
		goto out;
	}
	rc = agent_name_ok(jws->kid) ? store_agent_get(c->app->st, jws->kid, &c->agent) : STORE_NOTFOUND;
	if (rc == STORE_NOTFOUND) {
		agent_problem(resp, AP_UNKNOWN_AGENT, 0, NULL, "No agent is registered under this kid.");
		goto out;
	} else if (rc != STORE_OK) {
		agent_internal(resp);
		goto out;
	}
	if (c->agent->state != AGENT_ACTIVE) {
		agent_problem(resp, AP_AGENT_DISABLED, 0, NULL, "The operator has disabled agent %s.", c->agent->name);
		goto out;
	}
	switch (jws_verify(jws, c->agent->jwk)) {
	case JWS_OK:
		break;
	case JWS_BAD_ALG:
		agent_problem(resp, AP_BAD_SIGNATURE_ALGORITHM, 0, NULL, "alg %s does not fit the key of agent %s.",
		    jws->alg, c->agent->name);
		goto out;
	case JWS_BAD_SIGNATURE:
	case JWS_MALFORMED:
		agent_problem(resp, AP_BAD_SIGNATURE, 0, NULL,
		    "The signature does not verify with the key of agent %s.", c->agent->name);
		goto out;
	default:
		log_warnx("agent %s: cannot verify with its key", c->agent->name);
		agent_internal(resp);
		goto out;
	}
	/* RFC 8555 §6.5.2: consumed atomically, so a replayed request always fails here. */
	if (!agent_nonces_use(c->app->agent_nonces, jws->nonce, c->now)) {
		agent_problem(resp, AP_BAD_NONCE, 0, NULL,
		    "The nonce is unknown, expired or already used; retry with the Replay-Nonce of this answer.");
		goto out;
	}
	if (payload_check(c, jws, want) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		agent_free(c->agent);
		c->agent = NULL;
	}
	jws_request_free(jws);
	return (ret);
}
