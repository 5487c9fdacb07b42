/*
 * flow.c: the commands of anchorid-agent (drafts/agent-provisioning.md §8) over the API of §4-§6:
 *
 *   provision  authz(create) -> publish the dns-01 challenge and the _openid record through the hook ->
 *              finalize, again with backoff while the DNS has not caught up -> remove the challenge -> setup URL
 *   transfer   the same with action transfer; prints the identity's status
 *   delete     authz(delete) -> challenge -> finalize -> remove the challenge; prints the confirm URL, or, when
 *              the identity was deleted at once, removes the _openid record too
 *   status, setup-url   §6, the JSON answers printed as they came
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agentd_int.h"
#include "dns.h"
#include "keys.h"
#include "util.h"

#define FLOW_BACKOFF_FIRST_MS 1000 /* first pause between finalize attempts; doubled after each */

volatile sig_atomic_t agentd_interrupted;

void
agentd_errx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", AGENTD_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A change of §4: the command, the authorization's action, and whether the _openid record is published. */
static const struct flow_action {
	const char *cmd;
	const char *action;
	bool publish_openid;
} flow_actions[] = {
	{ "provision", "create", true },
	{ "transfer", "transfer", true },
	{ "delete", "delete", false },
};

bool
agentd_command_ok(const char *cmd)
{
	for (size_t i = 0; i < sizeof(flow_actions) / sizeof(flow_actions[0]); i++)
		if (strcmp(cmd, flow_actions[i].cmd) == 0)
			return (true);
	return (strcmp(cmd, "status") == 0 || strcmp(cmd, "setup-url") == 0);
}

static void
on_signal(int sig)
{
	(void)sig;
	if (agentd_interrupted < 2)
		agentd_interrupted = agentd_interrupted + 1;
}

/* print_field(body, key): "key: value" on stdout for a string or integer member; null and absent print "none". */
static void
print_field(json_t *body, const char *key)
{
	json_t *v = json_object_get(body, key);

	printf("%s: ", key);
	if (json_is_string(v))
		agentd_print_text(stdout, json_string_value(v));
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else
		printf("none");
	putchar('\n');
}

/* print_json(body): ${body} pretty-printed on stdout; -1 on memory failure. */
static int
print_json(json_t *body)
{
	char *s;

	if ((s = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		agentd_errx("out of memory");
		return (-1);
	}
	printf("%s\n", s);
	free(s);
	return (0);
}

/* get_string(obj, path...): the string at member ${a} (and then ${b} when not NULL) of ${obj}, or NULL. */
static const char *
get_string(json_t *obj, const char *a, const char *b)
{
	json_t *v = json_object_get(obj, a);

	if (b != NULL)
		v = json_object_get(v, b);
	return (json_string_value(v));
}

/* b64url_ok(s): a non-empty base64url text (what a dns-01 value and a token are). */
static bool
b64url_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return (false);
	return (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(s));
}

/* The records an authorization asks for, checked against what we expect before anything goes into the zone. */
struct flow_records {
	char *challenge_name;  /* "_acme-challenge.<identifier>" */
	char *challenge_value; /* RFC 8555 §8.4 with our key's thumbprint */
	char *openid_name;     /* "_openid.<identifier>" */
	const char *openid_value;
	const char *finalize;
};

static void
flow_records_release(struct flow_records *fr)
{
	free(fr->challenge_name);
	free(fr->challenge_value);
	free(fr->openid_name);
	memset(fr, 0, sizeof(*fr));
}

/*
 * check_authz(c, fa, canon, authz, fr): the authorization ${authz} is for ${canon} and ${fa}, and names exactly
 * the records we would derive ourselves: the authority chooses the _openid text, but never which names the
 * hook writes, and the challenge value must be the key authorization of our own key.  0 and *${fr} filled
 * (pointing into ${authz}); -1 after a message.
 */
static int
check_authz(const struct agentd_client *c, const struct flow_action *fa, const char *canon, json_t *authz,
    struct flow_records *fr)
{
	struct openid_record *rec = NULL;
	struct buf b;
	const char *s, *token, *value;
	enum dns_rec_err why = DNS_REC_OK;
	int ret = -1;

	buf_init(&b);
	memset(fr, 0, sizeof(*fr));
	if ((s = get_string(authz, "identifier", NULL)) == NULL || strcmp(s, canon) != 0 ||
	    (s = get_string(authz, "action", NULL)) == NULL || strcmp(s, fa->action) != 0) {
		agentd_errx("the authority answered with an authorization for another identifier or action");
		goto out;
	}
	if ((fr->finalize = get_string(authz, "finalize", NULL)) == NULL || !str_has_prefix(fr->finalize, "https://")) {
		agentd_errx("the authorization has no https finalize URL");
		goto out;
	}
	if (buf_printf(&b, "_acme-challenge.%s", canon) == -1 || (fr->challenge_name = buf_steal(&b)) == NULL ||
	    dns_openid_name(canon, &fr->openid_name) == -1) {
		agentd_errx("%s: the record names would be too long", canon);
		goto out;
	}
	token = get_string(authz, "challenge", "token");
	value = get_string(authz, "challenge", "value");
	if ((s = get_string(authz, "challenge", "type")) == NULL || strcmp(s, "dns-01") != 0 || !b64url_ok(token) ||
	    (s = get_string(authz, "challenge", "name")) == NULL || strcmp(s, fr->challenge_name) != 0) {
		agentd_errx("the authorization has no dns-01 challenge at %s", fr->challenge_name);
		goto out;
	}
	/* RFC 8555 §8.4: the value is ours to compute; the authority's copy must agree. */
	if ((fr->challenge_value = acme_dns01_value(token, c->thumbprint)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	if (value == NULL || strcmp(value, fr->challenge_value) != 0) {
		agentd_errx("the authority's challenge value is not the key authorization of our key (thumbprint %s): "
		            "is the key registered for agent %s another one?",
		    c->thumbprint, c->name);
		goto out;
	}
	if (!fa->publish_openid) {
		ret = 0;
		goto out;
	}
	fr->openid_value = get_string(authz, "openid", "value");
	if ((s = get_string(authz, "openid", "name")) == NULL || strcmp(s, fr->openid_name) != 0 ||
	    fr->openid_value == NULL) {
		agentd_errx("the authorization names no _openid record at %s", fr->openid_name);
		goto out;
	}
	if (openid_record_parse(fr->openid_value, strlen(fr->openid_value), &rec, &why) == -1) {
		agentd_errx("the authority's _openid record is not valid (%s): ", dns_rec_strerror(why));
		agentd_print_text(stderr, fr->openid_value);
		fputc('\n', stderr);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		flow_records_release(fr);
	openid_record_free(rec);
	buf_release(&b);
	return (ret);
}

/* retryable(ans): a DNS problem of §5 that records still propagating explain. */
static bool
retryable(const struct agentd_answer *ans)
{
	const char *n = agentd_problem_name(ans);

	if (n == NULL)
		return (false);
	if (ans->status == 422)
		return (strcmp(n, "challengeRecordMissing") == 0 || strcmp(n, "challengeValueMismatch") == 0 ||
		    strcmp(n, "openidRecordMissing") == 0);
	return (ans->status == 503 && strcmp(n, "dnsUnavailable") == 0);
}

/* pause_ms(ms): sleep, returning early on an interrupt. */
static void
pause_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (agentd_interrupted == 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * finalize(c, url, wait_sec, ans): POST ${url} until it succeeds, fails for a reason waiting cannot fix, or
 * ${wait_sec} are spent; pauses of 1, 2, 4, ... s, the last one shortened to end at the deadline.  AGENTD_OK
 * with the answer in *${ans}; otherwise the problem has been reported.
 */
static enum agentd_rc
finalize(struct agentd_client *c, const char *url, int wait_sec, struct agentd_answer *ans)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)wait_sec * 1000, now, delay = FLOW_BACKOFF_FIRST_MS, d;
	enum agentd_rc rc;
	char note[96];

	for (;;) {
		if ((rc = agentd_post(c, url, "{}", ans)) != AGENTD_PROBLEM)
			return (rc);
		now = time_mono_ms();
		if (!retryable(ans) || agentd_interrupted) {
			agentd_problem_print(ans, url, NULL);
			break;
		}
		if (now >= deadline) {
			snprintf(note, sizeof(note), "(gave up after --wait %d s)", wait_sec);
			agentd_problem_print(ans, url, note);
			break;
		}
		d = delay < deadline - now ? delay : deadline - now;
		agentd_errx("%s: not yet; finalizing again in %.1f s", agentd_problem_name(ans), (double)d / 1000);
		agentd_answer_release(ans);
		pause_ms(d);
		if (agentd_interrupted) {
			agentd_errx("interrupted");
			return (AGENTD_FAIL);
		}
		delay *= 2;
	}
	agentd_answer_release(ans);
	return (AGENTD_PROBLEM);
}

/* print_result(fa, body): what the change did, on stdout. */
static void
print_result(const struct flow_action *fa, json_t *body)
{
	const char *url;

	if (strcmp(fa->action, "create") == 0) {
		/* The one-time URL alone on the first line: the agent hands it to the user. */
		if ((url = get_string(body, "setup_url", NULL)) != NULL) {
			agentd_print_text(stdout, url);
			putchar('\n');
		}
		print_field(body, "identifier");
		print_field(body, "status");
		print_field(body, "sub");
		print_field(body, "setup_expires");
	} else if (strcmp(fa->action, "transfer") == 0) {
		print_field(body, "identifier");
		print_field(body, "status");
		print_field(body, "sub");
		print_field(body, "agent");
		print_field(body, "previous_agent");
	} else if ((url = get_string(body, "confirm_url", NULL)) != NULL) {
		/* §5: the user confirms with the password at the authority; nothing is deleted yet. */
		agentd_print_text(stdout, url);
		putchar('\n');
		print_field(body, "identifier");
		print_field(body, "status");
		print_field(body, "deletion");
		print_field(body, "confirm_expires");
	} else {
		printf("deleted\n");
		print_field(body, "identifier");
		print_field(body, "status");
		print_field(body, "sub");
	}
}

/*
 * cmd_change(c, opts, fa, canon): §4 and §5 for one action, the DNS written through the hook.  The challenge
 * record is removed whatever happened once its publication was attempted.  The exit status.
 */
static int
cmd_change(struct agentd_client *c, const struct agentd_opts *opts, const struct flow_action *fa, const char *canon)
{
	struct agentd_answer authz, done;
	struct flow_records fr;
	json_t *req = NULL;
	char *payload = NULL;
	const char *status;
	bool published = false;
	int ret = 1;

	memset(&authz, 0, sizeof(authz));
	memset(&done, 0, sizeof(done));
	memset(&fr, 0, sizeof(fr));
	if ((req = json_pack("{s:s, s:s}", "identifier", canon, "action", fa->action)) == NULL ||
	    (payload = json_dumps(req, JSON_COMPACT)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	switch (agentd_post(c, c->new_authz, payload, &authz)) {
	case AGENTD_OK:
		break;
	case AGENTD_PROBLEM:
		agentd_problem_print(&authz, c->new_authz, NULL);
		goto out;
	default:
		goto out;
	}
	if (check_authz(c, fa, canon, authz.body, &fr) == -1 || agentd_interrupted)
		goto out;

	/* Publish: the challenge, and for create/transfer exactly one _openid record (the RRset replaced). */
	published = true;
	if (agentd_hook(opts->hook, "add", fr.challenge_name, "TXT", fr.challenge_value) == -1)
		goto out;
	if (fa->publish_openid) {
		if (agentd_interrupted || agentd_hook(opts->hook, "del", fr.openid_name, "TXT", NULL) == -1)
			goto out;
		if (agentd_interrupted || agentd_hook(opts->hook, "add", fr.openid_name, "TXT", fr.openid_value) == -1)
			goto out;
	}
	if (agentd_interrupted)
		goto out;
	if (finalize(c, fr.finalize, opts->wait_sec, &done) != AGENTD_OK)
		goto out;
	ret = 0;
out:
	if (published && agentd_hook(opts->hook, "del", fr.challenge_name, "TXT", fr.challenge_value) == -1)
		agentd_errx("warning: the challenge record %s could not be removed; check the zone", fr.challenge_name);
	if (ret == 0) {
		print_result(fa, done.body);
		/* An identity deleted at once no longer needs its _openid record; the identity is gone either way. */
		status = get_string(done.body, "status", NULL);
		if (!fa->publish_openid && status != NULL && strcmp(status, "deleted") == 0 &&
		    agentd_hook(opts->hook, "del", fr.openid_name, "TXT", NULL) == -1)
			agentd_errx("warning: the record %s could not be removed; check the zone", fr.openid_name);
	}
	flow_records_release(&fr);
	agentd_answer_release(&authz);
	agentd_answer_release(&done);
	json_decref(req);
	free(payload);
	return (ret);
}

/* cmd_show(c, tpl, payload, canon): §6: POST ${payload} to ${tpl} for ${canon}, print the JSON answer. */
static int
cmd_show(struct agentd_client *c, const char *tpl, const char *payload, const char *canon)
{
	struct agentd_answer ans;
	char *url = NULL;
	int ret = 1;

	memset(&ans, 0, sizeof(ans));
	if ((url = agentd_url_for(tpl, canon)) == NULL)
		goto out;
	switch (agentd_post(c, url, payload, &ans)) {
	case AGENTD_OK:
		if (print_json(ans.body) == 0)
			ret = 0;
		break;
	case AGENTD_PROBLEM:
		agentd_problem_print(&ans, url, NULL);
		break;
	default:
		break;
	}
out:
	agentd_answer_release(&ans);
	free(url);
	return (ret);
}

/** agentd_need(value, flag, env): true when ${value} is set; otherwise a message naming how to set it. */
bool
agentd_need(const char *value, const char *flag, const char *env)
{
	if (value != NULL && *value != '\0')
		return (true);
	agentd_errx("missing %s (or %s in the environment)", flag, env);
	return (false);
}

int
agentd_run(const struct agentd_opts *opts, const char *cmd, const char *identifier)
{
	struct agentd_client *c = NULL;
	const struct flow_action *fa = NULL;
	struct sigaction sa;
	enum dns_rec_err why = DNS_REC_OK;
	char *canon = NULL;
	int ret = 1;

	for (size_t i = 0; i < sizeof(flow_actions) / sizeof(flow_actions[0]); i++)
		if (strcmp(cmd, flow_actions[i].cmd) == 0)
			fa = &flow_actions[i];
	if (!agentd_need(opts->authority, "--authority", "ANCHORID_AGENT_AUTHORITY") ||
	    !agentd_need(opts->name, "--name", "ANCHORID_AGENT_NAME") ||
	    !agentd_need(opts->key_file, "--key", "ANCHORID_AGENT_KEY") ||
	    (fa != NULL && !agentd_need(opts->hook, "--hook", "ANCHORID_AGENT_HOOK")))
		return (2);
	if (dns_identifier_canonical(identifier, &canon, &why) == -1) {
		agentd_errx("not a valid identifier: %s: %s", identifier, dns_rec_strerror(why));
		goto out;
	}
	/* An interrupt ends waits but lets the cleanup run; no SA_RESTART, so a sleep returns at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((c = agentd_client_new(opts)) == NULL)
		goto out;
	if (fa != NULL)
		ret = cmd_change(c, opts, fa, canon);
	else if (strcmp(cmd, "status") == 0)
		ret = cmd_show(c, c->identifier_tpl, "", canon);
	else
		ret = cmd_show(c, c->setup_tpl, "{}", canon);
out:
	if (fflush(stdout) == EOF && ret == 0) {
		agentd_errx("stdout: %s", strerror(errno));
		ret = 1;
	}
	agentd_client_free(c);
	free(canon);
	return (ret);
}
