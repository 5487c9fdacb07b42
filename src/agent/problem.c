/*
 * problem.c: the errors of the agent API (drafts/agent-provisioning.md §7) as data: one table of name, status
 * and title, and one writer of RFC 9457 application/problem+json.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#define PROBLEM_TYPE_PREFIX "urn:anchorid:agent:"
#define PROBLEM_MAX_DETAIL 512 /* a detail sentence; DNS names are at most 253 bytes */

struct problem_def {
	const char *name; /* the <name> of the type URN, and the access log's note */
	int status;       /* the HTTP status (malformed may be answered as 405, 413, 415 too) */
	const char *title;
};

/* §7, in the order of its table. */
static const struct problem_def problems[AP_COUNT] = {
	[AP_MALFORMED] = { "malformed", 400, "The request is malformed" },
	[AP_BAD_NONCE] = { "badNonce", 400, "The nonce is unknown, expired or used" },
	[AP_BAD_SIGNATURE_ALGORITHM] = { "badSignatureAlgorithm", 400, "The signature algorithm is not allowed" },
	[AP_UNAUTHORIZED] = { "unauthorized", 401, "The signed URL is not the request's URL" },
	[AP_UNKNOWN_AGENT] = { "unknownAgent", 401, "The agent is not registered" },
	[AP_BAD_SIGNATURE] = { "badSignature", 401, "The signature does not verify" },
	[AP_AGENT_DISABLED] = { "agentDisabled", 403, "The agent is disabled" },
	[AP_INVALID_IDENTIFIER] = { "invalidIdentifier", 400, "The identifier is not valid" },
	[AP_NOT_FOUND] = { "notFound", 404, "Not found" },
	[AP_IDENTIFIER_HELD] = { "identifierHeld", 409, "Another agent holds the identifier" },
	[AP_IDENTIFIER_EXISTS] = { "identifierExists", 409, "This agent already holds the identifier" },
	[AP_IDENTIFIER_DISABLED] = { "identifierDisabled", 409, "The identity is disabled" },
	[AP_ALREADY_FINALIZED] = { "alreadyFinalized", 409, "The authorization was already used" },
	[AP_CHALLENGE_EXPIRED] = { "challengeExpired", 410, "The authorization has expired" },
	[AP_CHALLENGE_RECORD_MISSING] = { "challengeRecordMissing", 422, "The dns-01 TXT record is missing" },
	[AP_CHALLENGE_VALUE_MISMATCH] = { "challengeValueMismatch", 422, "The dns-01 TXT record does not match" },
	[AP_OPENID_RECORD_MISSING] = { "openidRecordMissing", 422, "The _openid record is missing" },
	[AP_OPENID_RECORD_INVALID] = { "openidRecordInvalid", 422, "The _openid record is not valid" },
	[AP_WRONG_ISSUER] = { "wrongIssuer", 422, "The _openid record names another authority" },
	[AP_WRONG_AGENT] = { "wrongAgent", 422, "The _openid record does not name this agent" },
	[AP_ZONE_INSECURE] = { "zoneInsecure", 422, "The answer is not DNSSEC-signed" },
	[AP_ANSWER_BOGUS] = { "answerBogus", 422, "DNSSEC validation failed" },
	[AP_DNS_UNAVAILABLE] = { "dnsUnavailable", 503, "No usable DNS answer" },
	[AP_RATE_LIMITED] = { "rateLimited", 429, "Too many authorizations" },
	[AP_SERVER_INTERNAL] = { "serverInternal", 500, "Internal server error" },
};

/** agent_problem_name(p): the table's name of ${p}. */
const char *
agent_problem_name(enum agent_problem p)
{
	return ((unsigned)p < AP_COUNT ? problems[p].name : problems[AP_SERVER_INTERNAL].name);
}

/** agent_problem(resp, p, status, extra, fmt, ...): answer the problem ${p} with a detail and ${extra}. */
void
agent_problem(struct response *resp, enum agent_problem p, int status, json_t *extra, const char *fmt, ...)
{
	const struct problem_def *d = &problems[(unsigned)p < AP_COUNT ? p : AP_SERVER_INTERNAL];
	char type[64], detail[PROBLEM_MAX_DETAIL];
	json_t *o = NULL;
	va_list ap;

	if (status == 0)
		status = d->status;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(type, sizeof(type), "%s%s", PROBLEM_TYPE_PREFIX, d->name);
	if ((o = json_pack("{s:s,s:s,s:i,s:s}", "type", type, "title", d->title, "status", status, "detail", detail)) ==
	        NULL ||
	    (extra != NULL && json_object_update(o, extra) == -1)) {
		/* Out of memory: the bare problem still says what happened. */
		resp_problem(resp, status, type, d->title, NULL);
		goto out;
	}
	resp_json(resp, status, o);
	resp->kind = RESP_API;
	resp->content_type = "application/problem+json";
out:
	snprintf(resp->note, sizeof(resp->note), "%s", d->name);
	json_decref(extra);
	json_decref(o);
}

/** agent_internal(resp): serverInternal (500). */
void
agent_internal(struct response *resp)
{
	agent_problem(resp, AP_SERVER_INTERNAL, 0, NULL, "The authority could not complete the request; try again.");
}

/** agent_identifier_problem(resp, p, identifier): notFound, identifierHeld, identifierExists or
 * identifierDisabled for ${identifier}, with its sentence and the identifier member. */
void
agent_identifier_problem(struct response *resp, enum agent_problem p, const char *identifier)
{
	const char *what;

	switch (p) {
	case AP_NOT_FOUND:
		what = "is not an identifier of this authority (for this agent)";
		break;
	case AP_IDENTIFIER_HELD:
		what = "is held by another agent or by the operator";
		break;
	case AP_IDENTIFIER_EXISTS:
		what = "is already held by this agent";
		break;
	case AP_IDENTIFIER_DISABLED:
		what = "is disabled by the operator of this authority";
		break;
	default:
		what = "cannot be used";
		break;
	}
	agent_problem(resp, p, 0, agent_identifier_extra(identifier), "%s %s.", identifier, what);
}
