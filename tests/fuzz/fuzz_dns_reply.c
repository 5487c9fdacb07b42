/*
 * fuzz_dns_reply.c: libFuzzer harness for the resolver's reading of a reply (reply_read in src/dns/resolver.c,
 * reached through dns_answer_from_wire).  The first byte picks the DNSSEC status validation would have given
 * (byte % 5 - 1: none, secure, insecure, bogus, indeterminate); the rest is a DNS message in wire format, parsed
 * by getdns.  The answer is read twice and must come out the same; the contract of struct dns_answer in
 * include/dns.h is checked; any breach aborts.
 *
 * Seeds (tests/fuzz/corpus/fuzz_dns_reply/): replies of the test bed (tests/dns/testbed.sh) captured over UDP
 * and TCP with the DO bit: secure, insecure and bogus answers, multi-string and two-record TXT sets, the 21
 * records of _openid.big over TCP and its truncated (TC) UDP reply, NXDOMAIN and NODATA with SOA and NSEC; and
 * built ones: SERVFAIL, REFUSED, FORMERR, a TXT RRset of another name spliced into an answer, a CNAME to a TXT, a
 * CNAME loop and a chain too long, a TXT set in an NXDOMAIN, a character-string overrunning its RDATA, names
 * differing in case, 70 records, a record over DNS_MAX_TXT; crash_ttl_msb_set (a TTL of 2^32-1 made a record set
 * look like NODATA, fixed in resolver.c); getdns_oob_opt_option (an EDNS option overrunning its OPT RR: getdns
 * 1.6 reads past the message, so wellformed() must keep it from getdns).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define FUZZ_HEADER 12      /* RFC 1035 §4.1.1 */
#define FUZZ_RR_FIXED 10    /* TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3) */
#define FUZZ_NAME_MAX 255   /* octets of a name in wire format (RFC 1035 §3.1) */
#define FUZZ_RRSIG_FIXED 18 /* RRSIG RDATA before the signer's name (RFC 4034 §3.1) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* u16(p): the big-endian 16-bit number at ${p}. */
static size_t
u16(const uint8_t *p)
{
	return ((size_t)p[0] << 8 | p[1]);
}

/*
 * name_ok(p, n, off, lim, end): the name at ${off} of the ${n}-byte message is well formed: its own labels end
 * before ${lim}, every compression pointer points backwards to labels inside the message, at most
 * FUZZ_NAME_MAX octets in all.  *${end} is the offset after it in place (after its first pointer).
 */
static bool
name_ok(const uint8_t *p, size_t n, size_t off, size_t lim, size_t *end)
{
	size_t len = 0;
	bool jumped = false;

	while (off < lim) {
		if (p[off] == 0) {
			if (!jumped)
				*end = off + 1;
			return (true);
		}
		if ((p[off] & 0xc0) == 0xc0) {
			if (off + 2 > lim || u16(p + off) - 0xc000 >= off)
				return (false);
			if (!jumped)
				*end = off + 2;
			jumped = true;
			off = u16(p + off) - 0xc000;
			lim = n;
			continue;
		}
		if ((p[off] & 0xc0) != 0 || (len += 1 + p[off]) > FUZZ_NAME_MAX)
			return (false);
		off += 1 + p[off];
	}
	return (false);
}

/*
 * rdata_ok(p, n, type, rd, len): the ${len} bytes of RDATA at ${rd} are well formed for ${type}, one of the
 * types an _openid reply carries (TXT is left free: malformed character-strings are ours to handle).
 */
static bool
rdata_ok(const uint8_t *p, size_t n, unsigned type, size_t rd, size_t len)
{
	size_t e = rd + len, x, off;

	switch (type) {
	case 1: /* A */
		return (len == 4);
	case 28: /* AAAA */
		return (len == 16);
	case 2:  /* NS */
	case 5:  /* CNAME */
	case 39: /* DNAME */
		return (name_ok(p, n, rd, e, &x) && x == e);
	case 6: /* SOA: MNAME, RNAME, five 32-bit numbers */
		return (name_ok(p, n, rd, e, &x) && name_ok(p, n, x, e, &x) && x + 20 == e);
	case 16: /* TXT */
		return (true);
	case 43: /* DS */
	case 48: /* DNSKEY */
		return (len >= 4);
	case 46: /* RRSIG */
		return (len >= FUZZ_RRSIG_FIXED && name_ok(p, n, rd + FUZZ_RRSIG_FIXED, e, &x));
	case 47: /* NSEC: next name, type bitmaps */
		return (name_ok(p, n, rd, e, &x));
	case 50: /* NSEC3: algorithm, flags, iterations, salt, hash, type bitmaps (RFC 5155 §3.2) */
		return (len >= 5 && rd + 5 + p[rd + 4] < e && rd + 6 + p[rd + 4] + p[rd + 5 + p[rd + 4]] <= e);
	case 51: /* NSEC3PARAM */
		return (len >= 5 && rd + 5 + p[rd + 4] == e);
	case 41: /* OPT: RFC 6891 §6.1.2, OPTION-CODE, OPTION-LENGTH, OPTION-DATA */
		for (off = rd; off + 4 <= e; off += 4 + u16(p + off + 2))
			;
		return (off == e);
	default:
		return (false);
	}
}

/*
 * wellformed(p, n): every question and RR the header counts lies inside the ${n} bytes, with well-formed
 * names and RDATA of a type rdata_ok knows.  getdns 1.6 reads past the end of a message whose counts, names,
 * RDLENGTH, EDNS options or RDATA fields overrun it (getdnsapi/getdns#549; not ours to fix, and the resolver
 * cannot check a reply before getdns parses it): such inputs are not given to it.  The target is our reading
 * of what getdns parsed.
 */
static bool
wellformed(const uint8_t *p, size_t n)
{
	size_t off = FUZZ_HEADER, i, count, rdlen;

	if (n < FUZZ_HEADER)
		return (false);
	for (i = 0; i < u16(p + 4); i++)
		if (!name_ok(p, n, off, n, &off) || (off += 4) > n)
			return (false);
	count = u16(p + 6) + u16(p + 8) + u16(p + 10);
	for (i = 0; i < count; i++) {
		if (!name_ok(p, n, off, n, &off) || off + FUZZ_RR_FIXED > n)
			return (false);
		rdlen = u16(p + off + 8);
		if (off + FUZZ_RR_FIXED + rdlen > n ||
		    !rdata_ok(p, n, (unsigned)u16(p + off), off + FUZZ_RR_FIXED, rdlen))
			return (false);
		off += FUZZ_RR_FIXED + rdlen;
	}
	return (true);
}

/* check(a): what include/dns.h promises about every answer. */
static void
check(const struct dns_answer *a)
{
	size_t i;
	bool want_error;

	if ((unsigned)a->status >= DNS_STATUS_COUNT || (unsigned)a->result >= DNS_RESULT_COUNT || a->from_cache)
		abort();
	if (dns_status_name(a->status) == NULL || dns_result_name(a->result) == NULL)
		abort();
	/* "status: always set, also for errors (then DNS_INDETERMINATE)" */
	if (a->result == DNS_ERROR && a->status != DNS_INDETERMINATE)
		abort();
	/* An error sentence exactly when the answer cannot be used: an error, a bogus or an unknown status. */
	want_error = a->result == DNS_ERROR || a->status == DNS_BOGUS || a->status == DNS_INDETERMINATE;
	if ((a->error != NULL) != want_error || (a->error != NULL && a->error[0] == '\0'))
		abort();
	/* Records only in an answer, never for a bogus one, at most DNS_MAX_ANSWER_TXT. */
	if (a->n_txt > 0 && (a->result != DNS_ANSWER || a->status == DNS_BOGUS || a->txt == NULL))
		abort();
	if (a->n_txt > DNS_MAX_ANSWER_TXT)
		abort();
	for (i = 0; i < a->n_txt; i++)
		if (a->txt[i] == NULL || strnlen(a->txt[i], DNS_MAX_TXT + 1) > DNS_MAX_TXT)
			abort();
}

/* same(a, b): two readings of one message agree. */
static void
same(const struct dns_answer *a, const struct dns_answer *b)
{
	size_t i;

	if (a->status != b->status || a->result != b->result || a->n_txt != b->n_txt || a->ttl != b->ttl ||
	    (a->error == NULL) != (b->error == NULL) || (a->error != NULL && strcmp(a->error, b->error) != 0))
		abort();
	for (i = 0; i < a->n_txt; i++)
		if (strcmp(a->txt[i], b->txt[i]) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer *a = (struct dns_answer *)1, *b = NULL;
	int status;

	if (size < 1 || !wellformed(data + 1, size - 1))
		return (0);
	status = data[0] % 5 - 1;
	if (dns_answer_from_wire(data + 1, size - 1, status, &a) == -1) {
		if (a != NULL)
			abort();
		return (0);
	}
	if (a == NULL)
		abort();
	check(a);
	/* The status is the one given (none: indeterminate) unless the reply is an error. */
	if (a->result != DNS_ERROR && a->status != (status == -1 ? DNS_INDETERMINATE : (enum dns_status)status))
		abort();
	if (dns_answer_from_wire(data + 1, size - 1, status, &b) == 0) {
		same(a, b);
		dns_answer_free(b);
	}
	dns_answer_free(a);
	/* Out-of-range statuses are refused, not read. */
	if (dns_answer_from_wire(data + 1, size - 1, DNS_STATUS_COUNT, &b) != -1 || b != NULL)
		abort();
	return (0);
}
