/*
 * resolver.c: TXT lookups through getdns stub contexts that validate DNSSEC themselves, and the discovery
 * policy of drafts/dns-discovery.md §9.
 *
 * RFC 4033 §5 and RFC 4035 §4.9.3 (a validating stub: the upstream's AD bit is never trusted; getdns fetches
 * DS and DNSKEY along the chain and validates against our own trust anchors), RFC 2308 §5 (negative TTL =
 * min(SOA TTL, SOA MINIMUM)), draft-sanz-openid-dns-discovery-01 §3 (the _openid name).
 *
 * getdns contexts are not thread-safe: a lookup borrows one from a mutex-protected free list and gives it
 * back; the list grows to the number of concurrent lookups (bounded by the worker threads) and keeps at most
 * RESOLVER_MAX_IDLE idle ones.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include "dns.h"
#include "log.h"
#include "util.h"

#define RESOLVER_MAX_IDLE 64                    /* idle getdns contexts kept for reuse */
#define RESOLVER_RESOLV_CONF "/etc/resolv.conf" /* the system's upstreams when none are configured */
#define RESOLVER_DNS_PORT 53
#define RESOLVER_MAX_CNAMES 8 /* CNAME links followed in one answer section; a real chain has one or two */

struct ctx_slot {
	getdns_context *ctx;
	struct ctx_slot *next;
};

struct dns_resolver {
	struct dns_config cfg;      /* strings point into the copies below */
	char *upstreams;            /* normalised "ADDR@PORT ..." as used */
	char *anchor_file;          /* the trust-anchor file read */
	getdns_list *upstream_list; /* getdns form of upstreams, given to every new context */
	getdns_list *anchors;       /* DNSKEY/DS RRs of the trust-anchor file */
	struct dns_cache *cache;    /* always present: with caching off it stores nothing but still counts */
	pthread_mutex_t mtx;        /* protects idle and n_idle */
	struct ctx_slot *idle;
	int n_idle;
};

static const char *const status_names[DNS_STATUS_COUNT] = { "secure", "insecure", "bogus", "indeterminate" };
static const char *const result_names[DNS_RESULT_COUNT] = { "answer", "nxdomain", "nodata", "error" };
static const char *const disc_names[DNS_DISC_ERR_COUNT] = { "ok", "bad_name", "not_found", "invalid_record", "insecure",
	"bogus", "error" };

/** dns_status_name(s): "secure", "insecure", "bogus", "indeterminate" (static storage, never NULL). */
const char *
dns_status_name(enum dns_status s)
{
	return ((unsigned)s < DNS_STATUS_COUNT ? status_names[s] : "indeterminate");
}

/** dns_result_name(r): "answer", "nxdomain", "nodata", "error" (static storage, never NULL). */
const char *
dns_result_name(enum dns_result r)
{
	return ((unsigned)r < DNS_RESULT_COUNT ? result_names[r] : "error");
}

/** dns_disc_name(e): the stable name of ${e}; static storage, never NULL. */
const char *
dns_disc_name(enum dns_disc_err e)
{
	return ((unsigned)e < DNS_DISC_ERR_COUNT ? disc_names[e] : "error");
}

/** dns_answer_free(a): free ${a}; NULL is a no-op. */
void
dns_answer_free(struct dns_answer *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_txt; i++)
		free(a->txt[i]);
	free(a->txt);
	free(a->error);
	free(a);
}

static char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* xasprintf(fmt, ...): a new formatted string, NULL on memory failure. */
static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return (n < 0 ? NULL : s);
}

/*
 * upstream_add(list, spec, norm, normlen): append the upstream "ADDR" or "ADDR@PORT" (IPv4 or IPv6) to the
 * getdns ${list} and its "ADDR@PORT" form to ${norm}; -1 with a logged reason when ${spec} is not one.
 */
static int
upstream_add(getdns_list *list, const char *spec, char *norm, size_t normlen)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];
	const char *at;
	getdns_bindata type, data;
	getdns_dict *d = NULL;
	size_t len, n;
	int64_t port = RESOLVER_DNS_PORT;
	int ret = -1;

	at = strrchr(spec, '@');
	len = at != NULL ? (size_t)(at - spec) : strlen(spec);
	if (len == 0 || len >= sizeof(host)) {
		log_warnx("dns: bad upstream \"%s\": expected ADDR or ADDR@PORT", spec);
		return (-1);
	}
	memcpy(host, spec, len);
	host[len] = '\0';
	if (at != NULL && str_parse_i64(at + 1, 1, 65535, &port) == -1) {
		log_warnx("dns: bad upstream \"%s\": port must be 1..65535", spec);
		return (-1);
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		type.data = (uint8_t *)"IPv4";
		data.size = 4;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		type.data = (uint8_t *)"IPv6";
		data.size = 16;
	} else {
		log_warnx("dns: bad upstream \"%s\": not an IPv4 or IPv6 address", spec);
		return (-1);
	}
	type.size = 4;
	data.data = addr;
	if ((d = getdns_dict_create()) == NULL || getdns_dict_set_bindata(d, "address_type", &type) != 0 ||
	    getdns_dict_set_bindata(d, "address_data", &data) != 0 ||
	    getdns_dict_set_int(d, "port", (uint32_t)port) != 0 || getdns_list_get_length(list, &n) != 0 ||
	    getdns_list_set_dict(list, n, d) != 0) {
		log_warnx("dns: out of memory");
		goto out;
	}
	n = strlen(norm);
	(void)snprintf(norm + n, normlen - n, "%s%s@%lld", n ? " " : "", host, (long long)port);
	ret = 0;
out:
	getdns_dict_destroy(d);
	return (ret);
}

/*
 * resolver_upstreams(r, spec): parse the space-separated ${spec}, or the nameserver lines of
 * /etc/resolv.conf when ${spec} is NULL or empty, into r->upstream_list and r->upstreams; -1 logged.
 */
static int
resolver_upstreams(struct dns_resolver *r, const char *spec)
{
	char norm[DNS_MAX_UPSTREAMS * (INET6_ADDRSTRLEN + 8)] = "", line[512], *copy = NULL, *w, *save = NULL;
	FILE *fp = NULL;
	int n = 0, ret = -1;

	if ((r->upstream_list = getdns_list_create()) == NULL)
		goto out;
	if (spec != NULL && *spec != '\0') {
		if ((copy = strdup(spec)) == NULL)
			goto out;
		for (w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
			if (++n > DNS_MAX_UPSTREAMS) {
				log_warnx("dns: more than %d upstreams", DNS_MAX_UPSTREAMS);
				goto out;
			}
			if (upstream_add(r->upstream_list, w, norm, sizeof(norm)) == -1)
				goto out;
		}
	} else {
		if ((fp = fopen(RESOLVER_RESOLV_CONF, "re")) == NULL) {
			log_warn("dns: no upstreams configured and cannot read %s", RESOLVER_RESOLV_CONF);
			goto out;
		}
		while (fgets(line, sizeof(line), fp) != NULL && n < DNS_MAX_UPSTREAMS) {
			w = strtok_r(line, " \t\r\n", &save);
			if (w == NULL || strcmp(w, "nameserver") != 0 || (w = strtok_r(NULL, " \t\r\n", &save)) == NULL)
				continue;
			/* A scoped IPv6 address ("fe80::1%eth0") cannot be given to getdns in this form: skip it. */
			if (strchr(w, '%') != NULL || strchr(w, '@') != NULL)
				continue;
			if (upstream_add(r->upstream_list, w, norm, sizeof(norm)) == 0)
				n++;
		}
	}
	if (n == 0) {
		log_warnx("dns: no upstream resolver (dns_upstreams is empty and %s names none)", RESOLVER_RESOLV_CONF);
		goto out;
	}
	if ((r->upstreams = strdup(norm)) == NULL)
		goto out;
	ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(copy);
	return (ret);
}

/* resolver_anchors(r, path): read the DNSKEY/DS lines of ${path} into r->anchors; -1 logged (loudly: without
 * them nothing validates). */
static int
resolver_anchors(struct dns_resolver *r, const char *path)
{
	FILE *fp;
	size_t n = 0;
	getdns_return_t rc;

	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("dns: cannot read the DNSSEC trust-anchor file %s", path);
		return (-1);
	}
	rc = getdns_fp2rr_list(fp, &r->anchors, NULL, 3600);
	fclose(fp);
	if (rc != GETDNS_RETURN_GOOD || r->anchors == NULL || getdns_list_get_length(r->anchors, &n) != 0 || n == 0) {
		log_warnx("dns: no DNSKEY or DS record in the trust-anchor file %s", path);
		return (-1);
	}
	return (0);
}

/* ctx_new(r): a configured stub context, NULL logged. */
static getdns_context *
ctx_new(struct dns_resolver *r)
{
	getdns_transport_list_t transports[2] = { GETDNS_TRANSPORT_UDP, GETDNS_TRANSPORT_TCP };
	getdns_context *ctx = NULL;
	getdns_return_t rc;

	/* set_from_os = 0: no resolv.conf, no hosts file; the upstreams are ours. */
	if ((rc = getdns_context_create(&ctx, 0)) != GETDNS_RETURN_GOOD) {
		log_warnx("dns: getdns_context_create: %s", getdns_get_errorstr_by_id((uint16_t)rc));
		return (NULL);
	}
	if ((rc = getdns_context_set_resolution_type(ctx, GETDNS_RESOLUTION_STUB)) != 0 ||
	    (rc = getdns_context_set_upstream_recursive_servers(ctx, r->upstream_list)) != 0 ||
	    (rc = getdns_context_set_dns_transport_list(ctx, r->cfg.tcp_fallback ? 2 : 1, transports)) != 0 ||
	    (rc = getdns_context_set_timeout(ctx, (uint64_t)r->cfg.timeout_ms)) != 0 ||
	    (rc = getdns_context_set_append_name(ctx, GETDNS_APPEND_NAME_NEVER)) != 0 ||
	    (rc = getdns_context_set_dnssec_trust_anchors(ctx, r->anchors)) != 0) {
		log_warnx("dns: configuring the getdns context: %s", getdns_get_errorstr_by_id((uint16_t)rc));
		getdns_context_destroy(ctx);
		return (NULL);
	}
	return (ctx);
}

/* ctx_borrow(r): an idle context or a new one; NULL logged. */
static getdns_context *
ctx_borrow(struct dns_resolver *r)
{
	struct ctx_slot *s;
	getdns_context *ctx;

	pthread_mutex_lock(&r->mtx);
	if ((s = r->idle) != NULL) {
		r->idle = s->next;
		r->n_idle--;
	}
	pthread_mutex_unlock(&r->mtx);
	if (s == NULL)
		return (ctx_new(r));
	ctx = s->ctx;
	free(s);
	return (ctx);
}

/* ctx_return(r, ctx): give ${ctx} back to the free list (or destroy it when enough are idle). */
static void
ctx_return(struct dns_resolver *r, getdns_context *ctx)
{
	struct ctx_slot *s;

	if (ctx == NULL)
		return;
	if ((s = malloc(sizeof(*s))) == NULL) {
		getdns_context_destroy(ctx);
		return;
	}
	s->ctx = ctx;
	pthread_mutex_lock(&r->mtx);
	if (r->n_idle < RESOLVER_MAX_IDLE) {
		s->next = r->idle;
		r->idle = s;
		r->n_idle++;
		s = NULL;
	}
	pthread_mutex_unlock(&r->mtx);
	if (s != NULL) {
		getdns_context_destroy(ctx);
		free(s);
	}
}

/** dns_resolver_new(cfg): a resolver for ${cfg} (copied); NULL, logged once, when the trust anchors or the
 * upstreams cannot be read or a getdns context cannot be made.  Free with dns_resolver_free. */
struct dns_resolver *
dns_resolver_new(const struct dns_config *cfg)
{
	struct dns_resolver *r;
	const char *anchor;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if (pthread_mutex_init(&r->mtx, NULL) != 0) {
		free(r);
		return (NULL);
	}
	r->cfg = *cfg;
	if (r->cfg.timeout_ms <= 0)
		r->cfg.timeout_ms = 2000;
	anchor = cfg->trust_anchor_file != NULL && *cfg->trust_anchor_file != '\0' ? cfg->trust_anchor_file
	                                                                           : DNS_RESOLVER_DEFAULT_ANCHOR;
	if ((r->anchor_file = strdup(anchor)) == NULL)
		goto fail;
	r->cfg.trust_anchor_file = r->anchor_file;
	if (resolver_anchors(r, r->anchor_file) == -1 || resolver_upstreams(r, cfg->upstreams) == -1)
		goto fail;
	r->cfg.upstreams = r->upstreams;
	/* Caching off is a cache that stores nothing (max_ttl 0) but still counts. */
	if ((r->cache = dns_cache_new(cfg->cache_max_entries > 0 ? cfg->cache_max_entries : 1,
	         cfg->cache_max_entries > 0 ? cfg->cache_max_ttl : 0, NULL, NULL)) == NULL)
		goto fail;
	/* One context now, so that a configuration getdns refuses fails at start, not at the first login. */
	ctx_return(r, ctx_new(r));
	if (r->idle == NULL)
		goto fail;
	return (r);
fail:
	dns_resolver_free(r);
	return (NULL);
}

/** dns_resolver_free(r): free ${r} and its contexts; NULL is a no-op.  No lookup may be running. */
void
dns_resolver_free(struct dns_resolver *r)
{
	struct ctx_slot *s, *next;

	if (r == NULL)
		return;
	for (s = r->idle; s != NULL; s = next) {
		next = s->next;
		getdns_context_destroy(s->ctx);
		free(s);
	}
	dns_cache_free(r->cache);
	if (r->upstream_list != NULL)
		getdns_list_destroy(r->upstream_list);
	if (r->anchors != NULL)
		getdns_list_destroy(r->anchors);
	free(r->upstreams);
	free(r->anchor_file);
	pthread_mutex_destroy(&r->mtx);
	free(r);
}

/** dns_resolver_upstreams(r): the upstreams in use as "ADDR@PORT ..." (owned by ${r}). */
const char *
dns_resolver_upstreams(const struct dns_resolver *r)
{
	return (r->upstreams);
}

/** dns_resolver_stats(r, out): a snapshot of ${r}'s counters into *${out}. */
void
dns_resolver_stats(struct dns_resolver *r, struct dns_stats *out)
{
	dns_cache_stats(r->cache, out);
}

/*
 * txt_add(a, raw): split the TXT rdata ${raw} (RFC 1035 §3.3.14: length-prefixed character-strings) and
 * append their concatenation to a->txt.  A malformed or over-long record is skipped: it cannot be a valid
 * _openid record.  -1 on memory failure.
 */
static int
txt_add(struct dns_answer *a, const getdns_bindata *raw)
{
	const unsigned char **strs = NULL;
	size_t *lens = NULL, n = 0, i, len;
	char *txt = NULL, **grown;
	int ret = -1;

	if (a->n_txt >= DNS_MAX_ANSWER_TXT)
		return (0);
	if ((strs = calloc(raw->size + 1, sizeof(*strs))) == NULL ||
	    (lens = calloc(raw->size + 1, sizeof(*lens))) == NULL)
		goto out;
	for (i = 0; i < raw->size; i += 1 + len) {
		len = raw->data[i];
		if (i + 1 + len > raw->size) {
			ret = 0; /* truncated rdata: skip */
			goto out;
		}
		strs[n] = raw->data + i + 1;
		lens[n++] = len;
	}
	if (dns_txt_concat(strs, lens, n, &txt, NULL) == -1) {
		ret = 0;
		goto out;
	}
	if ((grown = realloc(a->txt, (a->n_txt + 1) * sizeof(*a->txt))) == NULL)
		goto out;
	a->txt = grown;
	a->txt[a->n_txt++] = txt;
	txt = NULL;
	ret = 0;
out:
	free(txt);
	free(strs);
	free(lens);
	return (ret);
}

/* min_ttl(cur, ttl): the smaller of the two, where UINT32_MAX means "none yet"; RFC 2181 §8: a ${ttl} with the
 * most significant bit set counts as zero (so a real TTL never looks like "none"). */
static uint32_t
min_ttl(uint32_t cur, uint32_t ttl)
{
	if (ttl > INT32_MAX)
		ttl = 0;
	return (ttl < cur ? ttl : cur);
}

/* name_equal(a, b): the wire-format names ${a} and ${b} (uncompressed, as getdns gives them) are the same name:
 * ASCII letters compared without case (RFC 4343 §3; a length octet is at most 63, never a letter). */
static bool
name_equal(const getdns_bindata *a, const getdns_bindata *b)
{
	size_t i;
	uint8_t x, y;

	if (a->size != b->size)
		return (false);
	for (i = 0; i < a->size; i++) {
		x = a->data[i] >= 'A' && a->data[i] <= 'Z' ? a->data[i] + 32 : a->data[i];
		y = b->data[i] >= 'A' && b->data[i] <= 'Z' ? b->data[i] + 32 : b->data[i];
		if (x != y)
			return (false);
	}
	return (true);
}

/*
 * answer_owner(answer, n, qname): the name whose TXT RRs answer the question for ${qname}: ${qname} itself, or
 * the end of the CNAME chain from it in the ${n} RRs of the answer section (RFC 1034 §3.6.2), followed for at
 * most RESOLVER_MAX_CNAMES links (a loop ends there too).
 */
static getdns_bindata *
answer_owner(const getdns_list *answer, size_t n, getdns_bindata *qname)
{
	getdns_bindata *name = qname, *owner, *target = NULL;
	getdns_dict *rr;
	uint32_t type;
	size_t i;
	int links;

	for (links = 0; links < RESOLVER_MAX_CNAMES; links++) {
		for (i = 0; i < n; i++)
			if (getdns_list_get_dict(answer, i, &rr) == 0 && getdns_dict_get_int(rr, "type", &type) == 0 &&
			    type == GETDNS_RRTYPE_CNAME && getdns_dict_get_bindata(rr, "name", &owner) == 0 &&
			    name_equal(owner, name) && getdns_dict_get_bindata(rr, "/rdata/cname", &target) == 0)
				break;
		if (i == n)
			break;
		name = target;
	}
	return (name);
}

/*
 * reply_read(a, reply, upstreams, tcp_fallback): fill ${a} from the getdns reply dict: DNSSEC status, rcode,
 * the TXT RRs of the answer section owned by the name asked for (or the end of its CNAME chain), kept
 * only when not bogus, and the TTL (positive: the smallest of those TXT TTLs; negative: RFC 2308 §5 min(SOA
 * TTL, SOA MINIMUM) from the authority section, 0 when there is no SOA).  An error rcode or a truncated reply
 * (TC: the transport list had no TCP left, ${tcp_fallback} says why) is DNS_ERROR with an indeterminate
 * status and nothing kept.  -1 on memory failure.
 */
static int
reply_read(struct dns_answer *a, const getdns_dict *reply, const char *upstreams, bool tcp_fallback)
{
	getdns_list *answer = NULL, *authority = NULL;
	getdns_dict *rr;
	getdns_bindata *raw, *owner, *qname = NULL;
	uint32_t dnssec = GETDNS_DNSSEC_INDETERMINATE, rcode = 0, tc = 0, type, ttl, minimum, pos = UINT32_MAX,
	         neg = UINT32_MAX;
	size_t n = 0, i;
	const char *rname;

	(void)getdns_dict_get_int(reply, "dnssec_status", &dnssec);
	switch (dnssec) {
	case GETDNS_DNSSEC_SECURE:
		a->status = DNS_SECURE;
		break;
	case GETDNS_DNSSEC_INSECURE:
		a->status = DNS_INSECURE;
		break;
	case GETDNS_DNSSEC_BOGUS:
		a->status = DNS_BOGUS;
		break;
	default:
		a->status = DNS_INDETERMINATE;
		break;
	}
	if (getdns_dict_get_int(reply, "/header/rcode", &rcode) != 0) {
		a->result = DNS_ERROR;
		a->status = DNS_INDETERMINATE;
		return ((a->error = strdup("the reply has no header")) == NULL ? -1 : 0);
	}
	/* RFC 1035 §4.1.1, RFC 7766 §6.2.2: a truncated reply is not the answer; without TCP there is none.
	 * (getdns validates what it got, an empty answer without a denial: it would look like a bogus NODATA.) */
	if (getdns_dict_get_int(reply, "/header/tc", &tc) == 0 && tc != 0) {
		a->result = DNS_ERROR;
		a->status = DNS_INDETERMINATE;
		a->error = xasprintf("upstream %s sent a truncated answer (TC bit) %s", upstreams,
		    tcp_fallback ? "and it was not retried over TCP"
		                 : "and dns_tcp_fallback is off: the answer is too big for UDP, it needs TCP");
		return (a->error == NULL ? -1 : 0);
	}
	if (rcode != GETDNS_RCODE_NOERROR && rcode != GETDNS_RCODE_NXDOMAIN) {
		a->result = DNS_ERROR;
		a->status = DNS_INDETERMINATE;
		rname = rcode == GETDNS_RCODE_SERVFAIL ? "SERVFAIL"
		    : rcode == GETDNS_RCODE_REFUSED    ? "REFUSED"
		    : rcode == GETDNS_RCODE_FORMERR    ? "FORMERR"
		    : rcode == GETDNS_RCODE_NOTIMP     ? "NOTIMP"
		                                       : "an error";
		a->error = xasprintf("upstream %s answered %s (rcode %u)", upstreams, rname, rcode);
		return (a->error == NULL ? -1 : 0);
	}
	/* NXDOMAIN: whatever TXT the answer section holds, the name has none.  RFC 2181 §5.4.1: only the RRset
	 * of the name asked for is the answer; one of another name (even signed, spliced in from elsewhere) is
	 * not this name's record. */
	if (rcode == GETDNS_RCODE_NOERROR && getdns_dict_get_bindata(reply, "/question/qname", &qname) == 0 &&
	    getdns_dict_get_list(reply, "answer", &answer) == 0 && getdns_list_get_length(answer, &n) == 0) {
		qname = answer_owner(answer, n, qname);
		for (i = 0; i < n; i++) {
			if (getdns_list_get_dict(answer, i, &rr) != 0 || getdns_dict_get_int(rr, "type", &type) != 0 ||
			    type != GETDNS_RRTYPE_TXT || getdns_dict_get_bindata(rr, "name", &owner) != 0 ||
			    !name_equal(owner, qname))
				continue;
			if (getdns_dict_get_int(rr, "ttl", &ttl) == 0)
				pos = min_ttl(pos, ttl);
			if (a->status == DNS_BOGUS || getdns_dict_get_bindata(rr, "/rdata/rdata_raw", &raw) != 0)
				continue;
			if (txt_add(a, raw) == -1)
				return (-1);
		}
	}
	if (getdns_dict_get_list(reply, "authority", &authority) == 0 && getdns_list_get_length(authority, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (getdns_list_get_dict(authority, i, &rr) != 0 ||
			    getdns_dict_get_int(rr, "type", &type) != 0 || type != GETDNS_RRTYPE_SOA)
				continue;
			if (getdns_dict_get_int(rr, "ttl", &ttl) == 0 &&
			    getdns_dict_get_int(rr, "/rdata/minimum", &minimum) == 0)
				neg = min_ttl(min_ttl(neg, ttl), minimum);
		}
	}
	if (rcode == GETDNS_RCODE_NXDOMAIN) {
		a->result = DNS_NXDOMAIN;
		a->ttl = neg == UINT32_MAX ? 0 : neg;
	} else if (pos == UINT32_MAX) {
		a->result = DNS_NODATA;
		a->ttl = neg == UINT32_MAX ? 0 : neg;
	} else {
		a->result = DNS_ANSWER;
		a->ttl = pos;
	}
	if (a->status == DNS_BOGUS)
		a->error = xasprintf("DNSSEC validation failed: the answer is bogus (bad, missing or expired "
		                     "signatures, or a DS that does not match)");
	else if (a->status == DNS_INDETERMINATE)
		a->error = xasprintf("the DNSSEC status of the answer could not be determined");
	else
		return (0);
	return (a->error == NULL ? -1 : 0);
}

/* resolver_query(r, name, a): ask the network; fills ${a} for every outcome; -1 on memory failure. */
static int
resolver_query(struct dns_resolver *r, const char *name, struct dns_answer *a)
{
	getdns_context *ctx = NULL;
	getdns_dict *ext = NULL, *resp = NULL, *reply = NULL;
	getdns_list *replies = NULL;
	getdns_return_t rc;
	uint32_t status = 0;
	size_t n = 0;
	int ret = -1;

	a->status = DNS_INDETERMINATE;
	a->result = DNS_ERROR;
	if ((ctx = ctx_borrow(r)) == NULL) {
		ret = (a->error = strdup("cannot create a getdns context")) == NULL ? -1 : 0;
		goto out;
	}
	/* All statuses: plain dnssec_return_status drops bogus replies and reports NO_NAME (TESTBED.md). */
	if ((ext = getdns_dict_create()) == NULL ||
	    getdns_dict_set_int(ext, "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE) != 0)
		goto out;
	if ((rc = getdns_general_sync(ctx, name, GETDNS_RRTYPE_TXT, ext, &resp)) != GETDNS_RETURN_GOOD) {
		a->error = xasprintf("lookup of %s failed: %s", name, getdns_get_errorstr_by_id((uint16_t)rc));
		ret = a->error == NULL ? -1 : 0;
		goto out;
	}
	(void)getdns_dict_get_int(resp, "status", &status);
	if (getdns_dict_get_list(resp, "replies_tree", &replies) == 0 && getdns_list_get_length(replies, &n) == 0 &&
	    n > 0 && getdns_list_get_dict(replies, 0, &reply) == 0) {
		ret = reply_read(a, reply, r->upstreams, r->cfg.tcp_fallback);
		goto out;
	}
	if (status == GETDNS_RESPSTATUS_ALL_TIMEOUT)
		a->error = xasprintf("upstream%s %s did not answer within %d ms", strchr(r->upstreams, ' ') ? "s" : "",
		    r->upstreams, r->cfg.timeout_ms);
	else if (status == GETDNS_RESPSTATUS_NO_NAME) {
		/* A denial without a reply to check: its status cannot be known. */
		a->result = DNS_NXDOMAIN;
		a->error = xasprintf("%s does not exist (no reply to validate)", name);
	} else
		a->error = xasprintf("lookup of %s failed: getdns status %u (%s)", name, status,
		    getdns_get_errorstr_by_id((uint16_t)status));
	ret = a->error == NULL ? -1 : 0;
out:
	if (resp != NULL)
		getdns_dict_destroy(resp);
	if (ext != NULL)
		getdns_dict_destroy(ext);
	ctx_return(r, ctx);
	return (ret);
}

/** dns_answer_from_wire(wire, len, status, out): for tests and fuzzing: parse the DNS message of ${len} bytes
 * at ${wire} with getdns (getdns_wire2msg_dict) and read it as dns_lookup_txt reads a reply, as if validation
 * had given it the enum dns_status ${status} (-1: no dnssec_status in the reply).  0 and a new *${out} (caller
 * frees with dns_answer_free); -1 and *${out} = NULL when getdns cannot parse ${wire}, ${status} is out of
 * range, or on memory failure. */
int
dns_answer_from_wire(const uint8_t *wire, size_t len, int status, struct dns_answer **out)
{
	static const uint32_t getdns_status[DNS_STATUS_COUNT] = {
		[DNS_SECURE] = GETDNS_DNSSEC_SECURE,
		[DNS_INSECURE] = GETDNS_DNSSEC_INSECURE,
		[DNS_BOGUS] = GETDNS_DNSSEC_BOGUS,
		[DNS_INDETERMINATE] = GETDNS_DNSSEC_INDETERMINATE,
	};
	getdns_dict *reply = NULL;
	struct dns_answer *a = NULL;
	int ret = -1;

	*out = NULL;
	if (status < -1 || status >= DNS_STATUS_COUNT)
		return (-1);
	if (getdns_wire2msg_dict(wire, len, &reply) != GETDNS_RETURN_GOOD || reply == NULL)
		goto out;
	if (status != -1 && getdns_dict_set_int(reply, "dnssec_status", getdns_status[status]) != 0)
		goto out;
	if ((a = calloc(1, sizeof(*a))) == NULL || reply_read(a, reply, "(wire)", true) == -1)
		goto out;
	*out = a;
	a = NULL;
	ret = 0;
out:
	dns_answer_free(a);
	if (reply != NULL)
		getdns_dict_destroy(reply);
	return (ret);
}

/* lookup_txt(r, name, fresh, out): dns_lookup_txt, or with ${fresh} its uncached form whose result replaces
 * the cached entry. */
static int
lookup_txt(struct dns_resolver *r, const char *name, bool fresh, struct dns_answer **out)
{
	struct dns_answer *a = NULL;
	int hit = 0;

	*out = NULL;
	if (strlen(name) > DNS_MAX_NAME + 1)
		return (-1);
	if (!fresh && (hit = dns_cache_get(r->cache, name, GETDNS_RRTYPE_TXT, &a)) == -1)
		return (-1);
	if (hit == 0) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return (-1);
		if (resolver_query(r, name, a) == -1 || dns_cache_put(r->cache, name, GETDNS_RRTYPE_TXT, a) == -1) {
			dns_answer_free(a);
			return (-1);
		}
	}
	dns_cache_count(r->cache, a);
	*out = a;
	return (0);
}

/** dns_lookup_txt(r, name, out): the validated TXT records at ${name}, from the cache when live.  0 and a new
 * *${out} (caller frees with dns_answer_free) for every DNS outcome; -1 and NULL on memory failure or a name
 * longer than DNS_MAX_NAME. */
int
dns_lookup_txt(struct dns_resolver *r, const char *name, struct dns_answer **out)
{
	return (lookup_txt(r, name, false, out));
}

/** dns_lookup_txt_fresh(r, name, out): dns_lookup_txt from the network; the result replaces the cached one. */
int
dns_lookup_txt_fresh(struct dns_resolver *r, const char *name, struct dns_answer **out)
{
	return (lookup_txt(r, name, true, out));
}

/** dns_discovery_free(d): free ${d}; NULL is a no-op. */
void
dns_discovery_free(struct dns_discovery *d)
{
	if (d == NULL)
		return;
	free(d->name);
	dns_answer_free(d->answer);
	openid_record_free(d->record);
	free(d->issuer);
	free(d->error);
	free(d);
}

/* disc_select(d): drafts/dns-discovery.md §5 over d->answer's records; sets record, txt, issuer or the error.
 * -1 on memory failure. */
static int
disc_select(struct dns_discovery *d)
{
	struct dns_answer *a = d->answer;
	struct openid_record *rec = NULL;
	enum dns_rec_err why = DNS_REC_OK, hint = DNS_REC_OK;
	size_t *lens = NULL, i;
	int ret = -1;

	if ((lens = calloc(a->n_txt + 1, sizeof(*lens))) == NULL)
		goto out;
	for (i = 0; i < a->n_txt; i++)
		lens[i] = strlen(a->txt[i]);
	if (openid_records_select((const char *const *)a->txt, lens, a->n_txt, &d->record, &d->rec_err) == -1) {
		if (d->rec_err == DNS_REC_NOMEM)
			goto out;
		d->err = DNS_DISC_INVALID_RECORD;
		/* No candidate: say so when a record has v=OID1 in the wrong place, the commonest mistake. */
		for (i = 0; i < a->n_txt && d->rec_err == DNS_REC_NO_RECORD && hint == DNS_REC_OK; i++)
			if (openid_record_parse(a->txt[i], lens[i], &rec, &why) == -1 && why == DNS_REC_V_NOT_FIRST)
				hint = why;
		d->error = xasprintf("%s has no usable ID4me record: %s (%s)%s%s%s", d->name,
		    dns_rec_strerror(d->rec_err), dns_rec_name(d->rec_err), hint ? " " : "",
		    hint ? dns_rec_strerror(hint) : "", hint ? " (v_not_first)" : "");
		ret = d->error == NULL ? -1 : 0;
		goto out;
	}
	/* The selected record is the one valid candidate: find its text for display. */
	for (i = 0; i < a->n_txt && d->txt == NULL; i++)
		if (openid_record_parse(a->txt[i], lens[i], &rec, NULL) == 0) {
			d->txt = a->txt[i];
			openid_record_free(rec);
			rec = NULL;
		}
	if ((d->issuer = openid_issuer_url(d->record)) == NULL)
		goto out;
	d->err = DNS_DISC_OK;
	ret = 0;
out:
	free(lens);
	return (ret);
}

/* discover(r, identifier, fresh, out): dns_discover, with uncached lookups when ${fresh}. */
static int
discover(struct dns_resolver *r, const char *identifier, bool fresh, struct dns_discovery **out)
{
	struct dns_discovery *d;
	char *canon = NULL;
	uint64_t t0 = time_mono_ms();
	int ret = -1;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (-1);
	d->status = DNS_INDETERMINATE;
	d->result = DNS_ERROR;
	d->err = DNS_DISC_ERROR;
	if (dns_identifier_canonical(identifier, &canon, &d->rec_err) == -1) {
		if (d->rec_err == DNS_REC_NOMEM)
			goto out;
		d->err = DNS_DISC_BAD_NAME;
		d->error = xasprintf(
		    "not a valid identifier: %s (%s)", dns_rec_strerror(d->rec_err), dns_rec_name(d->rec_err));
		goto done;
	}
	if ((d->name = xasprintf("_openid.%s", canon)) == NULL)
		goto out;
	if (strlen(d->name) > DNS_MAX_NAME) {
		d->err = DNS_DISC_BAD_NAME;
		d->rec_err = DNS_REC_NAME_TOO_LONG;
		d->error = xasprintf("not a valid identifier: %s is longer than %d bytes", d->name, DNS_MAX_NAME);
		goto done;
	}
	if (lookup_txt(r, d->name, fresh, &d->answer) == -1)
		goto out;
	d->status = d->answer->status;
	d->result = d->answer->result;
	/* §9: an error or a bogus answer fails whatever it says; indeterminate fails. */
	if (d->result == DNS_ERROR) {
		d->err = DNS_DISC_ERROR;
		d->error = xasprintf("lookup of %s failed: %s", d->name, d->answer->error ? d->answer->error : "error");
	} else if (d->status == DNS_BOGUS) {
		d->err = DNS_DISC_BOGUS;
		d->error = xasprintf("%s: DNSSEC validation failed (bogus): the record cannot be trusted", d->name);
	} else if (d->status == DNS_INDETERMINATE) {
		d->err = DNS_DISC_ERROR;
		d->error = xasprintf("%s: the DNSSEC status could not be determined", d->name);
	} else if (d->result == DNS_NXDOMAIN || d->result == DNS_NODATA) {
		d->err = DNS_DISC_NOT_FOUND;
		d->error = xasprintf("%s: %s (%s)", d->name,
		    d->result == DNS_NXDOMAIN ? "no such name" : "the name has no TXT record",
		    dns_status_name(d->status));
	} else if (d->status == DNS_INSECURE && !r->cfg.allow_insecure) {
		d->err = DNS_DISC_INSECURE;
		d->error = xasprintf("%s is not signed with DNSSEC (insecure) and dnssec = require", d->name);
	} else {
		if (disc_select(d) == -1)
			goto out;
		goto ok;
	}
done:
	if (d->error == NULL)
		goto out;
ok:
	d->elapsed_ms = time_mono_ms() - t0;
	*out = d;
	d = NULL;
	ret = 0;
out:
	free(canon);
	dns_discovery_free(d);
	return (ret);
}

/** dns_discover(r, identifier, out): look up and check the _openid record of ${identifier} under the policy
 * of drafts/dns-discovery.md §9.  0 and a new *${out} (free with dns_discovery_free) for every outcome; -1 and
 * NULL on memory failure. */
int
dns_discover(struct dns_resolver *r, const char *identifier, struct dns_discovery **out)
{
	return (discover(r, identifier, false, out));
}

/** dns_discover_fresh(r, identifier, out): dns_discover from the network; the answer refreshes the cache. */
int
dns_discover_fresh(struct dns_resolver *r, const char *identifier, struct dns_discovery **out)
{
	return (discover(r, identifier, true, out));
}
