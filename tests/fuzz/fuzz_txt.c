/*
 * fuzz_txt.c: libFuzzer harness for the _openid TXT record code (include/dns.h).  The whole input is one record
 * for openid_record_parse; split on '\n' it is a record set for openid_records_select and the character-strings
 * of one RR for dns_txt_concat; cut at its first NUL it is an identifier for dns_identifier_canonical and, when
 * it has an '@', an e-mail address for dns_email_names.  Invariants are checked; any breach aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define FUZZ_MAX_RECORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_record(r): what every parsed record must satisfy. */
static void
check_record(const struct openid_record *r)
{
	char *url;

	if (r == NULL || r->iss == NULL || r->iss[0] == '\0')
		abort();
	if (!openid_host_syntax_ok(r->iss) || !openid_host_equal(r->iss, r->iss))
		abort();
	if (r->clp != NULL && (!openid_host_syntax_ok(r->clp) || !openid_host_equal(r->clp, r->clp)))
		abort();
	if (strpbrk(r->iss, " \t;") != NULL || (r->clp != NULL && strpbrk(r->clp, " \t;") != NULL))
		abort();
	if ((url = openid_issuer_url(r)) == NULL)
		return;
	if (strncmp(url, "https://", 8) != 0 || strcmp(url + 8, r->iss) != 0 || url[strlen(url) - 1] == '/')
		abort();
	free(url);
}

static void
fuzz_parse(const char *txt, size_t len)
{
	struct openid_record *r = (struct openid_record *)1;
	enum dns_rec_err why = DNS_REC_ERR_COUNT;
	int rc;

	rc = openid_record_parse(txt, len, &r, &why);
	if (rc == 0) {
		if (why != DNS_REC_OK || !openid_record_is_candidate(txt, len))
			abort();
		check_record(r);
		openid_record_free(r);
	} else if (rc != -1 || r != NULL || why == DNS_REC_OK || why >= DNS_REC_ERR_COUNT ||
	    dns_rec_strerror(why) == NULL)
		abort();
}

static void
fuzz_select(const char *txt, size_t len)
{
	const char *recs[FUZZ_MAX_RECORDS];
	const unsigned char *strs[FUZZ_MAX_RECORDS];
	size_t lens[FUZZ_MAX_RECORDS], n = 0, start = 0, i, valid = 0, total = 0, outlen;
	struct openid_record *r = NULL;
	enum dns_rec_err why;
	char *cat = NULL;
	bool strings_ok = true;

	for (i = 0; i <= len && n < FUZZ_MAX_RECORDS; i++) {
		if (i == len || txt[i] == '\n') {
			recs[n] = txt + start;
			strs[n] = (const unsigned char *)txt + start;
			lens[n] = i - start;
			if (lens[n] > DNS_MAX_STRING || memchr(recs[n], '\0', lens[n]) != NULL)
				strings_ok = false;
			total += lens[n];
			n++;
			start = i + 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (openid_record_parse(recs[i], lens[i], &r, NULL) == 0)
			valid++;
		openid_record_free(r);
	}
	if (openid_records_select(recs, lens, n, &r, &why) == 0) {
		if (valid != 1)
			abort();
		check_record(r);
		openid_record_free(r);
	} else if (valid == 1 || r != NULL || why == DNS_REC_OK || (valid > 1 && why != DNS_REC_AMBIGUOUS))
		abort();

	/* The same pieces as the character-strings of one RR. */
	if (dns_txt_concat(strs, lens, n, &cat, &outlen) == 0) {
		if (!strings_ok || total > DNS_MAX_TXT || outlen != total || strlen(cat) != total)
			abort();
		free(cat);
	} else if (strings_ok && total <= DNS_MAX_TXT)
		abort();
}

static void
fuzz_names(const char *s)
{
	char *c = NULL, *c2 = NULL, **names = NULL;
	enum dns_rec_err why;
	size_t n = 0, i;

	if (dns_identifier_canonical(s, &c, &why) == 0) {
		/* Canonical names are short, lower case, without trailing dot, and canonicalisation is idempotent. */
		if (why != DNS_REC_OK || strlen(c) == 0 || strlen(c) > DNS_MAX_NAME || c[strlen(c) - 1] == '.')
			abort();
		for (i = 0; c[i] != '\0'; i++)
			if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '-' ||
			        c[i] == '.'))
				abort();
		if (dns_identifier_canonical(c, &c2, NULL) != 0 || strcmp(c, c2) != 0)
			abort();
		free(c2);
		free(c);
	} else if (c != NULL || why == DNS_REC_OK)
		abort();
	if (dns_openid_name(s, &c) == 0) {
		if (strncmp(c, "_openid.", 8) != 0 || strlen(c) > DNS_MAX_NAME)
			abort();
		free(c);
	}
	if (strchr(s, '@') != NULL && dns_email_names(s, &names, &n) == 0) {
		if (n < 1 || n > 2)
			abort();
		for (i = 0; i < n; i++)
			if (names[i] == NULL || strlen(names[i]) > DNS_MAX_NAME)
				abort();
		dns_names_free(names, n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_parse(s, size);
	fuzz_select(s, size);
	fuzz_names(s);
	free(s);
	return (0);
}
