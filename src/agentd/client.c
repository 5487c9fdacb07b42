/*
 * client.c: the agent's side of the provisioning API (drafts/agent-provisioning.md §2, §3, §7): the directory,
 * nonces (RFC 8555 §7.2: one fetched from newNonce, then the Replay-Nonce of every answer), requests signed as
 * flattened JWS with kid = the agent's name and url = the exact request URL, one retry on badNonce, and the
 * problem documents (RFC 9457) of the answers.
 *
 * The HTTPS client runs with allow_private: an agent talks only to the authority its operator configured, which
 * is often on an internal network or the same machine, so the guard against requests to private addresses
 * (meant for URLs taken from untrusted input) does not apply.  The certificate is still verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agentd_int.h"
#include "keys.h"
#include "util.h"

static const char *const post_headers[] = {
	"Content-Type: application/jose+json",
	"Accept: application/json, application/problem+json",
	NULL,
};
static const char *const get_headers[] = {
	"Accept: application/json",
	NULL,
};

void
agentd_print_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?', f);
}

void
agentd_answer_release(struct agentd_answer *ans)
{
	json_decref(ans->body);
	free(ans->location);
	free(ans->retry_after);
	memset(ans, 0, sizeof(*ans));
}

/* answer_of(r, ans): the status, headers and JSON object body of ${r} in *${ans}; -1 on memory failure. */
static int
answer_of(const struct httpc_response *r, struct agentd_answer *ans)
{
	json_error_t jerr;
	const char *h;

	memset(ans, 0, sizeof(*ans));
	ans->status = r->status;
	if ((h = httpc_header(r, "Location")) != NULL && (ans->location = xstrdup(h)) == NULL)
		return (-1);
	if ((h = httpc_header(r, "Retry-After")) != NULL && (ans->retry_after = xstrdup(h)) == NULL)
		return (-1);
	if (r->body_len > 0 && json_depth_ok(r->body, r->body_len, AGENTD_MAX_JSON_DEPTH) &&
	    (ans->body = json_loadb(r->body, r->body_len, 0, &jerr)) != NULL && !json_is_object(ans->body)) {
		json_decref(ans->body);
		ans->body = NULL;
	}
	return (0);
}

/* take_nonce(c, r): keep the Replay-Nonce of ${r} (if any) as the next nonce. */
static void
take_nonce(struct agentd_client *c, const struct httpc_response *r)
{
	const char *n = httpc_header(r, "Replay-Nonce");

	if (n == NULL || *n == '\0')
		return;
	free(c->nonce);
	c->nonce = xstrdup(n);
}

/* fetch_nonce(c): a fresh nonce from newNonce (GET: 204) into c->nonce; -1 after a message. */
static int
fetch_nonce(struct agentd_client *c)
{
	struct httpc_response *r = NULL;
	char err[512];
	int ret = -1;

	if (httpc_request("GET", c->new_nonce, get_headers, NULL, 0, &c->http, &r, err, sizeof(err)) == -1) {
		agentd_errx("GET %s: %s", c->new_nonce, err);
		goto out;
	}
	free(c->nonce);
	c->nonce = NULL;
	take_nonce(c, r);
	if (r->status / 100 != 2 || c->nonce == NULL) {
		agentd_errx("GET %s: HTTP %d without a Replay-Nonce", c->new_nonce, r->status);
		goto out;
	}
	ret = 0;
out:
	httpc_response_free(r);
	return (ret);
}

const char *
agentd_problem_name(const struct agentd_answer *ans)
{
	const char *type;

	if (ans->body == NULL || (type = json_string_value(json_object_get(ans->body, "type"))) == NULL ||
	    !str_has_prefix(type, AGENTD_PROBLEM_PREFIX) || type[strlen(AGENTD_PROBLEM_PREFIX)] == '\0')
		return (NULL);
	return (type + strlen(AGENTD_PROBLEM_PREFIX));
}

/*
 * agentd_post(c, url, payload, ans): one signed request, retried once on badNonce (RFC 8555 §6.5: the error
 * answer carries the fresh nonce to use).
 */
enum agentd_rc
agentd_post(struct agentd_client *c, const char *url, const char *payload, struct agentd_answer *ans)
{
	struct httpc_response *r = NULL;
	char *jws = NULL;
	char err[512];
	const char *pname;
	enum agentd_rc rc = AGENTD_FAIL;

	memset(ans, 0, sizeof(*ans));
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->nonce == NULL && fetch_nonce(c) == -1)
			goto out;
		if ((jws = jws_sign_flat(c->key, c->alg, c->name, c->nonce, url, payload)) == NULL) {
			agentd_errx("cannot sign the request to %s with the %s key", url, c->alg);
			goto out;
		}
		/* A nonce is single-use whatever the answer. */
		free(c->nonce);
		c->nonce = NULL;
		if (httpc_request("POST", url, post_headers, jws, strlen(jws), &c->http, &r, err, sizeof(err)) == -1) {
			agentd_errx("POST %s: %s", url, err);
			goto out;
		}
		free(jws);
		jws = NULL;
		take_nonce(c, r);
		if (answer_of(r, ans) == -1) {
			agentd_errx("out of memory");
			goto out;
		}
		if (r->status / 100 == 2) {
			if (ans->body == NULL) {
				agentd_errx("POST %s: HTTP %d without a JSON object", url, r->status);
				goto out;
			}
			rc = AGENTD_OK;
			goto out;
		}
		pname = agentd_problem_name(ans);
		if (attempt == 0 && pname != NULL && strcmp(pname, "badNonce") == 0) {
			agentd_answer_release(ans);
			httpc_response_free(r);
			r = NULL;
			continue;
		}
		rc = AGENTD_PROBLEM;
		goto out;
	}
out:
	if (rc == AGENTD_FAIL)
		agentd_answer_release(ans);
	free(jws);
	httpc_response_free(r);
	return (rc);
}

/* print_member(ans, key): "  key: value" for a string or number member, or the strings of an array. */
static void
print_member(const struct agentd_answer *ans, const char *key)
{
	json_t *v = json_object_get(ans->body, key), *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return;
	fprintf(stderr, "  %s:", key);
	if (json_is_string(v)) {
		fputc(' ', stderr);
		agentd_print_text(stderr, json_string_value(v));
	} else if (json_is_integer(v)) {
		fprintf(stderr, " %lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fprintf(stderr, " (none)");
		json_array_foreach(v, i, e)
		{
			fputs(" \"", stderr);
			agentd_print_text(stderr, json_is_string(e) ? json_string_value(e) : "?");
			fputc('"', stderr);
		}
	}
	fputc('\n', stderr);
}

void
agentd_problem_print(const struct agentd_answer *ans, const char *url, const char *note)
{
	static const char *const members[] = { "name", "dnssec", "expected", "found" };
	const char *pname = agentd_problem_name(ans);
	const char *detail = json_string_value(json_object_get(ans->body, "detail"));

	fprintf(stderr, "%s: ", AGENTD_PROG);
	if (pname == NULL) {
		fprintf(stderr, "POST %s: HTTP %d (not a problem document of this API)", url, ans->status);
	} else {
		/* §8: the problem's type (urn:anchorid:agent:<name>) and detail. */
		agentd_print_text(stderr, json_string_value(json_object_get(ans->body, "type")));
		fputs(": ", stderr);
		agentd_print_text(stderr, detail != NULL ? detail : "(no detail)");
	}
	if (note != NULL)
		fprintf(stderr, " %s", note);
	fputc('\n', stderr);
	if (pname == NULL)
		return;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		print_member(ans, members[i]);
	if (ans->retry_after != NULL) {
		fputs("  retry after: ", stderr);
		agentd_print_text(stderr, ans->retry_after);
		fputs(" s\n", stderr);
	}
}

char *
agentd_url_for(const char *tpl, const char *identifier)
{
	static const char ph[] = "{identifier}";
	const char *at = strstr(tpl, ph);
	char *enc = NULL, *url = NULL;
	struct buf b;

	buf_init(&b);
	if (at == NULL) {
		agentd_errx("the authority's directory has no {identifier} in %s", tpl);
		goto out;
	}
	if ((enc = url_encode(identifier)) == NULL || buf_append(&b, tpl, (size_t)(at - tpl)) == -1 ||
	    buf_puts(&b, enc) == -1 || buf_puts(&b, at + strlen(ph)) == -1 || (url = buf_steal(&b)) == NULL)
		agentd_errx("out of memory");
out:
	free(enc);
	buf_release(&b);
	return (url);
}

/* dir_string(dir, key, out, url): the string member ${key} of the directory into a new *${out}; -1 after a
 * message. */
static int
dir_string(json_t *dir, const char *key, char **out, const char *url)
{
	const char *s = json_string_value(json_object_get(dir, key));

	if (s == NULL || !str_has_prefix(s, "https://")) {
		agentd_errx("GET %s: the directory has no https URL \"%s\"", url, key);
		return (-1);
	}
	if ((*out = xstrdup(s)) == NULL) {
		agentd_errx("out of memory");
		return (-1);
	}
	return (0);
}

/* fetch_directory(c): GET {authority}/agent/v1/directory into the client; -1 after a message. */
static int
fetch_directory(struct agentd_client *c)
{
	struct httpc_response *r = NULL;
	struct agentd_answer ans;
	char *url = NULL, err[512];
	struct buf b;
	int ret = -1;

	memset(&ans, 0, sizeof(ans));
	buf_init(&b);
	if (buf_printf(&b, "%s%s", c->authority, AGENTD_DIRECTORY_PATH) == -1 || (url = buf_steal(&b)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	if (httpc_request("GET", url, get_headers, NULL, 0, &c->http, &r, err, sizeof(err)) == -1) {
		agentd_errx("GET %s: %s", url, err);
		goto out;
	}
	if (answer_of(r, &ans) == -1) {
		agentd_errx("out of memory");
		goto out;
	}
	if (r->status != 200 || ans.body == NULL) {
		agentd_errx("GET %s: HTTP %d%s", url, r->status,
		    r->status == 404 ? " (is this an anchorid authority with the agent API?)" : "");
		goto out;
	}
	if (dir_string(ans.body, "newNonce", &c->new_nonce, url) == -1 ||
	    dir_string(ans.body, "newAuthz", &c->new_authz, url) == -1 ||
	    dir_string(ans.body, "identifier", &c->identifier_tpl, url) == -1 ||
	    dir_string(ans.body, "setupUrl", &c->setup_tpl, url) == -1)
		goto out;
	ret = 0;
out:
	agentd_answer_release(&ans);
	httpc_response_free(r);
	buf_release(&b);
	free(url);
	return (ret);
}

struct agentd_client *
agentd_client_new(const struct agentd_opts *opts)
{
	struct agentd_client *c = NULL;
	char *pub = NULL;
	size_t len;

	if (!str_has_prefix(opts->authority, "https://")) {
		agentd_errx("the authority must be an https URL: %s", opts->authority);
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->authority = xstrdup(opts->authority)) == NULL) {
		agentd_errx("out of memory");
		goto fail;
	}
	/* The issuer is given without a trailing slash (drafts/dns-discovery.md §6); tolerate one. */
	len = strlen(c->authority);
	while (len > strlen("https://") && c->authority[len - 1] == '/')
		c->authority[--len] = '\0';
	c->name = opts->name;
	c->http.ca_file = opts->ca_file;
	c->http.timeout_ms = AGENTD_HTTP_TIMEOUT_MS;
	c->http.allow_private = true; /* see the file's header */
	if (agentd_key_load(opts->key_file, &c->key, &c->alg) == -1)
		goto fail;
	if ((pub = jwk_public_of(c->key)) == NULL || (c->thumbprint = jwk_thumbprint(pub)) == NULL) {
		agentd_errx("key %s: not a usable %s key", opts->key_file, c->alg);
		goto fail;
	}
	if (fetch_directory(c) == -1)
		goto fail;
	free(pub);
	return (c);
fail:
	free(pub);
	agentd_client_free(c);
	return (NULL);
}

void
agentd_client_free(struct agentd_client *c)
{
	if (c == NULL)
		return;
	free(c->authority);
	str_secure_free(c->key);
	free(c->thumbprint);
	free(c->new_nonce);
	free(c->new_authz);
	free(c->identifier_tpl);
	free(c->setup_tpl);
	free(c->nonce);
	free(c);
}
