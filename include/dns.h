/*
 * dns.h: ID4me DNS discovery (draft-sanz-openid-dns-discovery-01 as profiled in drafts/dns-discovery.md).
 * src/dns/ is the only code that includes <getdns/getdns.h>; callers see plain owned structs.
 *
 * First part (record.c, canon.c): the `_openid` TXT record parser and selection rule, host comparison, the
 * issuer URL, identifier canonicalisation (IDN to A-labels) and the e-mail name mappings; no network.
 * Second part (resolver.c, cache.c): validating getdns stub lookups, the TTL cache and the discovery policy.
 */
#ifndef ANCHORID_DNS_H
#define ANCHORID_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------- limits */

#define DNS_MAX_TXT 4096        /* one concatenated TXT record; a real _openid record is under 300 bytes */
#define DNS_MAX_TAGS 32         /* tag=value pairs in one record; the draft defines three (v, iss, clp) */
#define DNS_MAX_STRING 255      /* one <character-string> of a TXT RR (RFC 1035 §3.3) */
#define DNS_MAX_NAME 253        /* a domain name in text form, without the trailing dot (RFC 1035 §2.3.4) */
#define DNS_MAX_LABEL 63        /* one label (RFC 1035 §2.3.4) */
#define DNS_MAX_NAME_INPUT 1024 /* bytes of an identifier accepted before IDN conversion (U-labels are longer) */
#define DNS_MAX_EMAIL_LOCAL 64  /* local part of an e-mail address (RFC 5321 §4.5.3.1.1) */
#define DNS_EMAIL_HASH_HEX 56   /* hex digits of sha256(local part) in the reference Python client's name */

/* ---------------------------------------------------------------------------------------- errors */

/* Why a record, a record set or an identifier was refused.  dns_rec_name() gives the stable name used in
 * drafts/dns-discovery.md (e.g. "duplicate_tag"), dns_rec_strerror() an English sentence. */
enum dns_rec_err {
	DNS_REC_OK = 0,
	/* one record: checked in this order */
	DNS_REC_TOO_LONG,      /* longer than DNS_MAX_TXT bytes */
	DNS_REC_EMPTY,         /* no tag at all */
	DNS_REC_EMPTY_TAG,     /* ";;", "; ;" or "=value": an element without a tag name */
	DNS_REC_BAD_TAG,       /* tag name not ALPHA *(ALPHA / DIGIT / "_") */
	DNS_REC_NO_EQUALS,     /* a tag without "=" */
	DNS_REC_BAD_VALUE,     /* a value byte outside %x21-3A / %x3C-7E (control, non-ASCII, NUL) */
	DNS_REC_TOO_MANY_TAGS, /* more than DNS_MAX_TAGS tags */
	DNS_REC_MISSING_V,     /* no "v" tag */
	DNS_REC_V_NOT_FIRST,   /* "v" present but not the first tag */
	DNS_REC_BAD_VERSION,   /* first tag is "v" but its value is not exactly "OID1" */
	DNS_REC_DUPLICATE_TAG, /* a tag twice, or iss with iau, or clp with iag */
	DNS_REC_MISSING_ISS,   /* neither "iss" nor legacy "iau" */
	DNS_REC_BAD_ISS,       /* iss/iau is not host[:port][/path] */
	DNS_REC_BAD_CLP,       /* clp/iag is not host[:port][/path] */
	/* a record set */
	DNS_REC_NO_RECORD, /* no TXT record starts with v=OID1 */
	DNS_REC_AMBIGUOUS, /* more than one valid v=OID1 record */
	/* identifiers and e-mail addresses */
	DNS_REC_NAME_EMPTY,          /* empty identifier */
	DNS_REC_NAME_TOO_LONG,       /* over DNS_MAX_NAME bytes in A-labels (or DNS_MAX_NAME_INPUT before) */
	DNS_REC_NAME_EMPTY_LABEL,    /* ".." or a leading dot */
	DNS_REC_NAME_LABEL_TOO_LONG, /* a label over DNS_MAX_LABEL bytes */
	DNS_REC_NAME_BAD_CHAR,       /* a byte other than a-z 0-9 "-" after conversion */
	DNS_REC_NAME_HYPHEN,         /* a label starts or ends with "-" */
	DNS_REC_NAME_SINGLE_LABEL,   /* fewer than two labels */
	DNS_REC_NAME_NUMERIC_TLD,    /* the last label is all digits (looks like an IPv4 address) */
	DNS_REC_NAME_BAD_IDN,        /* IDNA conversion refused the name (invalid U-label or A-label) */
	DNS_REC_BAD_EMAIL,           /* no "@", empty or over-long local part */
	DNS_REC_NOMEM,               /* out of memory (an internal error, not a property of the input) */
	DNS_REC_ERR_COUNT
};

/** dns_rec_strerror(e): an English sentence for ${e}; never NULL (static storage). */
const char *dns_rec_strerror(enum dns_rec_err e);
/** dns_rec_name(e): the stable lower-case name of ${e} ("duplicate_tag"); never NULL (static storage). */
const char *dns_rec_name(enum dns_rec_err e);

/* ---------------------------------------------------------------------------------------- records */

/* A valid v=OID1 record.  Owned: free with openid_record_free(). */
struct openid_record {
	char *iss;   /* issuer: host[:port][/path] exactly as in the record (never NULL, never empty) */
	char *clp;   /* claims provider (agent), same syntax; NULL when absent */
	bool legacy; /* the record used the legacy tag iau and/or iag */
};

/** openid_record_free(r): free ${r}; NULL is a no-op. */
void openid_record_free(struct openid_record *r);

/** openid_record_parse(txt, len, out, why): parse the ${len} bytes of one TXT record (its character-strings
 * already concatenated) strictly per drafts/dns-discovery.md §3.  0 and a new *${out} (the caller frees it with
 * openid_record_free) when valid; -1, *${out} = NULL and the reason in *${why} otherwise.  ${why} may be NULL. */
int openid_record_parse(const char *txt, size_t len, struct openid_record **out, enum dns_rec_err *why);

/** openid_record_is_candidate(txt, len): true when the record's first tag is exactly "v=OID1" (surrounding
 * whitespace allowed): only such records take part in selection. */
bool openid_record_is_candidate(const char *txt, size_t len);

/** openid_records_select(txts, lens, n, out, why): the selection rule over all ${n} TXT records found at one
 * name: exactly one valid v=OID1 record gives 0 and a new *${out} (caller frees).  Otherwise -1, *${out} = NULL
 * and *${why}: DNS_REC_AMBIGUOUS for several valid ones, the first candidate's parse error when candidates
 * exist but none is valid, DNS_REC_NO_RECORD when no record starts with v=OID1.  ${why} may be NULL. */
int openid_records_select(
    const char *const *txts, const size_t *lens, size_t n, struct openid_record **out, enum dns_rec_err *why);

/** dns_txt_concat(strings, lens, n, out, outlen): concatenate the ${n} character-strings of one TXT RR into a
 * new NUL-terminated *${out} (caller frees) of *${outlen} bytes (${outlen} may be NULL).  -1 (and *${out} =
 * NULL) when a string is longer than DNS_MAX_STRING, contains a NUL byte, the total exceeds DNS_MAX_TXT, or
 * on memory failure. */
int dns_txt_concat(const unsigned char *const *strings, const size_t *lens, size_t n, char **out, size_t *outlen);

/** openid_host_syntax_ok(s): true when ${s} is host[:port][/path] as allowed for iss and clp. */
bool openid_host_syntax_ok(const char *s);

/** openid_host_equal(a, b): true when the iss/clp values ${a} and ${b} name the same place: host compared
 * ASCII case-insensitively with one trailing dot ignored, port and path compared byte for byte.  NULL never
 * equals. */
bool openid_host_equal(const char *a, const char *b);

/** openid_issuer_url(r): "https://" + r->iss, no trailing slash; caller frees; NULL for NULL or no memory. */
char *openid_issuer_url(const struct openid_record *r);

/* ---------------------------------------------------------------------------------------- names */

/** dns_identifier_canonical(in, out, why): the canonical DNS form of the identifier ${in}: IDN U-labels
 * converted to A-labels (IDNA via getdns/libidn2), ASCII lower case, one trailing dot removed, LDH labels of
 * 1..63 bytes, 1..253 bytes in all, at least two labels, last label not all digits.  0 and a new *${out}
 * (caller frees); -1, *${out} = NULL and *${why} otherwise.  ${why} may be NULL. */
int dns_identifier_canonical(const char *in, char **out, enum dns_rec_err *why);

/** dns_openid_name(identifier, out): "_openid." + the canonical ${identifier} in a new *${out} (caller
 * frees).  -1 when the identifier is not valid or the name would exceed DNS_MAX_NAME bytes. */
int dns_openid_name(const char *identifier, char **out);

/** dns_email_names(email, names, n): the candidate discovery names for the e-mail address ${email}, in the
 * order to try: "<local>._openidemail.<domain>" (the draft's form; only when the local part is a single
 * dot-free label of RFC 5322 atext) and "_openid.<first 56 hex of sha256(local)>.<domain>" (the reference
 * Python client's form).  The local part is used exactly as given (case kept, RFC 5321 §2.4); the domain is
 * canonicalised as an identifier.  0 and a new array *${names} of *${n} new strings (free with
 * dns_names_free); -1 and NULL / 0 on an invalid address or memory failure. */
int dns_email_names(const char *email, char ***names, size_t *n);

/** dns_names_free(names, n): free an array from dns_email_names; NULL is a no-op. */
void dns_names_free(char **names, size_t n);

/* ---------------------------------------------------------------------------------------- resolver */

/*
 * The resolver: a pool of getdns stub contexts that validate DNSSEC themselves against a trust-anchor file
 * (never trusting an upstream's AD bit), a bounded TTL cache in front of them, and the discovery policy of
 * drafts/dns-discovery.md §9.  All of it is thread-safe: one struct dns_resolver serves every worker.
 */

#define DNS_RESOLVER_DEFAULT_ANCHOR "/usr/share/dns/root.key" /* Debian's dns-root-data */
#define DNS_MAX_UPSTREAMS 8   /* upstream servers in dns_config.upstreams (or read from /etc/resolv.conf) */
#define DNS_MAX_ANSWER_TXT 64 /* TXT RRs kept from one answer: an _openid name holds one or two */
#define DNS_CACHE_BAD_TTL 5   /* seconds a bogus or indeterminate result may stay cached */
#define DNS_CACHE_MAX_KEY 260 /* "type/" + name: a name is at most DNS_MAX_NAME bytes */

/* The DNSSEC status of a lookup, as validated by getdns in the stub itself. */
enum dns_status {
	DNS_SECURE = 0,    /* the answer (or the denial) is signed along a chain from the trust anchor */
	DNS_INSECURE,      /* a proven unsigned delegation: the data may be forged */
	DNS_BOGUS,         /* validation failed (bad or expired signatures, DS mismatch): never use the data */
	DNS_INDETERMINATE, /* no status could be established (no answer, transport error) */
	DNS_STATUS_COUNT
};

/* What the lookup found. */
enum dns_result {
	DNS_ANSWER = 0, /* TXT records in txt[] */
	DNS_NXDOMAIN,   /* the name does not exist */
	DNS_NODATA,     /* the name exists without a TXT record */
	DNS_ERROR,      /* no usable answer (timeout, SERVFAIL, REFUSED, ...): see error */
	DNS_RESULT_COUNT
};

/* The resolver's settings; the strings are copied by dns_resolver_new. */
struct dns_config {
	const char *upstreams;         /* "ADDR" or "ADDR@PORT" separated by spaces; NULL or "": /etc/resolv.conf */
	const char *trust_anchor_file; /* DNSKEY or DS lines; NULL: DNS_RESOLVER_DEFAULT_ANCHOR; missing: error */
	int timeout_ms;                /* per lookup, the whole validation chain included */
	bool tcp_fallback;             /* UDP then TCP (truncated answers); false: UDP only */
	int cache_max_entries;         /* 0: no cache */
	int cache_max_ttl;             /* seconds: no entry lives longer, whatever its TTL */
	bool allow_insecure;           /* dnssec = allow-insecure: discovery accepts DNS_INSECURE answers */
};

/* One TXT lookup.  Owned: free with dns_answer_free(). */
struct dns_answer {
	enum dns_status status; /* always set, also for errors (then DNS_INDETERMINATE) */
	enum dns_result result;
	char **txt;      /* each TXT RR concatenated (dns_txt_concat); none for a DNS_BOGUS answer */
	size_t n_txt;    /* entries in txt */
	uint32_t ttl;    /* seconds the result may be reused (remaining TTL when from_cache) */
	bool from_cache; /* served by the cache without a query */
	char *error;     /* NULL, or a sentence: "upstream 127.0.0.1@5353 did not answer within 2000 ms" */
};

/** dns_answer_free(a): free ${a}; NULL is a no-op. */
void dns_answer_free(struct dns_answer *a);

/** dns_status_name(s): "secure", "insecure", "bogus", "indeterminate" (static storage, never NULL). */
const char *dns_status_name(enum dns_status s);
/** dns_result_name(r): "answer", "nxdomain", "nodata", "error" (static storage, never NULL). */
const char *dns_result_name(enum dns_result r);

/* Counters since dns_resolver_new (or dns_cache_new), read with dns_resolver_stats / dns_cache_stats. */
struct dns_stats {
	uint64_t hits;                        /* lookups answered from the cache */
	uint64_t misses;                      /* lookups that went to the network */
	uint64_t inserts;                     /* results stored */
	uint64_t evictions;                   /* live entries dropped to make room (expired ones are not counted) */
	uint64_t by_status[DNS_STATUS_COUNT]; /* results returned, by DNSSEC status (hits included) */
	uint64_t errors;                      /* results returned with DNS_ERROR */
	size_t entries;                       /* entries held now */
};

struct dns_resolver;

/** dns_resolver_new(cfg): a resolver for ${cfg} (copied).  Reads the trust anchors and the upstreams (from
 * /etc/resolv.conf when cfg->upstreams is NULL or empty) and creates a first getdns context, so that a
 * missing anchor file or a bad upstream fails here: NULL, logged once.  Free with dns_resolver_free. */
struct dns_resolver *dns_resolver_new(const struct dns_config *cfg);

/** dns_resolver_free(r): free ${r} and its contexts; NULL is a no-op.  No lookup may be running. */
void dns_resolver_free(struct dns_resolver *r);

/** dns_lookup_txt(r, name, out): the TXT records at ${name} (a DNS name in text form, no trailing dot
 * needed), validated, from the cache when a live entry exists.  Thread-safe.  0 and a new *${out} (caller
 * frees with dns_answer_free) whatever the DNS said, errors included (result DNS_ERROR, error set); -1 and
 * *${out} = NULL only on memory failure or a name longer than DNS_MAX_NAME. */
int dns_lookup_txt(struct dns_resolver *r, const char *name, struct dns_answer **out);

/** dns_answer_from_wire(wire, len, status, out): for tests and fuzzing: parse the DNS message of ${len} bytes at
 * ${wire} with getdns (getdns_wire2msg_dict) and read it as dns_lookup_txt reads a reply, as if validation had
 * given it the enum dns_status ${status} (-1: a reply without a DNSSEC status).  0 and a new *${out} (caller
 * frees with dns_answer_free); -1 and *${out} = NULL when getdns cannot parse ${wire}, ${status} is out of
 * range, or on memory failure. */
int dns_answer_from_wire(const uint8_t *wire, size_t len, int status, struct dns_answer **out);

/** dns_resolver_stats(r, out): a snapshot of ${r}'s counters into *${out}. */
void dns_resolver_stats(struct dns_resolver *r, struct dns_stats *out);

/** dns_resolver_upstreams(r): the upstreams in use as "ADDR@PORT ..." (owned by ${r}). */
const char *dns_resolver_upstreams(const struct dns_resolver *r);

/* ---------------------------------------------------------------------------------------- cache */

/*
 * The cache behind dns_lookup_txt, exposed for tests: a hash map of at most max_entries answers keyed by
 * name and type, evicting the least recently used, one mutex.  Positive answers live min(ttl, max_ttl),
 * negative ones the SOA minimum (the lookup passes it as ttl) capped by max_ttl, bogus and indeterminate
 * ones at most DNS_CACHE_BAD_TTL seconds; DNS_ERROR results and ttl 0 are not stored.
 */
struct dns_cache;

/** dns_cache_new(max_entries, max_ttl, now_ms, arg): an empty cache; ${now_ms}(${arg}) is the clock in
 * milliseconds (NULL: the monotonic clock).  NULL on memory failure or max_entries < 1. */
struct dns_cache *dns_cache_new(int max_entries, int max_ttl, uint64_t (*now_ms)(void *), void *arg);
/** dns_cache_free(c): free ${c} and its entries; NULL is a no-op. */
void dns_cache_free(struct dns_cache *c);
/** dns_cache_get(c, name, type, out): a live entry as a new *${out} (from_cache set, ttl = seconds left,
 * caller frees): 1; 0 and *${out} = NULL on a miss (counted); -1 on memory failure. */
int dns_cache_get(struct dns_cache *c, const char *name, int type, struct dns_answer **out);
/** dns_cache_put(c, name, type, a): store a copy of ${a} under the rules above; 0 (also when the rules say
 * not to store), -1 on memory failure. */
int dns_cache_put(struct dns_cache *c, const char *name, int type, const struct dns_answer *a);
/** dns_cache_count(c, a): count the result ${a} returned to a caller in the per-status counters. */
void dns_cache_count(struct dns_cache *c, const struct dns_answer *a);
/** dns_cache_stats(c, out): a snapshot of ${c}'s counters. */
void dns_cache_stats(struct dns_cache *c, struct dns_stats *out);

/* ---------------------------------------------------------------------------------------- discovery */

/* Why discovery failed (drafts/dns-discovery.md §9, §10). */
enum dns_disc_err {
	DNS_DISC_OK = 0,
	DNS_DISC_BAD_NAME,       /* the identifier is not a valid domain name (rec_err says why) */
	DNS_DISC_NOT_FOUND,      /* NXDOMAIN or NODATA at _openid.<identifier> */
	DNS_DISC_INVALID_RECORD, /* TXT records, but no single valid v=OID1 record (rec_err says why) */
	DNS_DISC_INSECURE,       /* the answer is not signed and dnssec = require */
	DNS_DISC_BOGUS,          /* DNSSEC validation failed: always refused */
	DNS_DISC_ERROR,          /* no usable answer (timeout, SERVFAIL, indeterminate status) */
	DNS_DISC_ERR_COUNT
};

/* The outcome of dns_discover.  Owned: free with dns_discovery_free(). */
struct dns_discovery {
	enum dns_disc_err err;        /* DNS_DISC_OK when record and issuer are set */
	enum dns_rec_err rec_err;     /* DNS_DISC_BAD_NAME, DNS_DISC_INVALID_RECORD: the parser's reason */
	enum dns_status status;       /* DNSSEC status of the lookup (DNS_INDETERMINATE before one) */
	enum dns_result result;       /* what the lookup found (DNS_ERROR before one) */
	char *name;                   /* "_openid.<canonical identifier>", NULL for DNS_DISC_BAD_NAME */
	struct dns_answer *answer;    /* the lookup, NULL for DNS_DISC_BAD_NAME */
	struct openid_record *record; /* the selected record (DNS_DISC_OK only) */
	const char *txt;              /* its text, pointing into answer->txt (DNS_DISC_OK only) */
	char *issuer;                 /* "https://" + record->iss (DNS_DISC_OK only) */
	char *error;                  /* NULL for DNS_DISC_OK, else a sentence naming the name and the reason */
	uint64_t elapsed_ms;          /* wall time of dns_discover */
};

/** dns_disc_name(e): the stable name of ${e} ("ok", "bad_name", "not_found", "invalid_record", "insecure",
 * "bogus", "error"); static storage, never NULL. */
const char *dns_disc_name(enum dns_disc_err e);

/** dns_discover(r, identifier, out): canonicalise ${identifier}, look up _openid.<identifier> TXT with ${r}
 * and apply drafts/dns-discovery.md §5 and §9: bogus always fails, indeterminate fails, insecure fails unless
 * allow_insecure, then exactly one valid record.  0 and a new *${out} (caller frees with dns_discovery_free)
 * for every outcome: check (*out)->err.  -1 and *${out} = NULL on memory failure. */
int dns_discover(struct dns_resolver *r, const char *identifier, struct dns_discovery **out);

/** dns_lookup_txt_fresh(r, name, out) / dns_discover_fresh(r, identifier, out): as dns_lookup_txt and
 * dns_discover, but the lookup always goes to the network (records an agent has just published must be seen at
 * once), and its result replaces the cached entry, so that later cached lookups see it too. */
int dns_lookup_txt_fresh(struct dns_resolver *r, const char *name, struct dns_answer **out);
int dns_discover_fresh(struct dns_resolver *r, const char *identifier, struct dns_discovery **out);

/** dns_discovery_free(d): free ${d}; NULL is a no-op. */
void dns_discovery_free(struct dns_discovery *d);

#endif
