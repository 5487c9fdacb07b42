/*
 * dns.h: ID4me DNS discovery (draft-sanz-openid-dns-discovery-01 as profiled in drafts/dns-discovery.md).
 * src/dns/ is the only code that includes <getdns/getdns.h>; callers see plain owned structs.
 *
 * This part: the `_openid` TXT record parser and selection rule, host comparison, the issuer URL, identifier
 * canonicalisation (IDN to A-labels) and the e-mail name mappings.  None of it touches the network.
 */
#ifndef ANCHORID_DNS_H
#define ANCHORID_DNS_H

#include <stdbool.h>
#include <stddef.h>

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
 * RESERVED for the resolver (issue 3, second part): getdns stub context, DNSSEC status
 * (secure / insecure / bogus / indeterminate), lookup result, cache and policy go here.
 */

#endif
