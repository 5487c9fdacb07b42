/*
 * canon.c: identifier canonicalisation for DNS discovery (drafts/dns-discovery.md §6, §7): IDNA U-labels to
 * A-labels (RFC 5890/5891 via getdns_convert_ulabel_to_alabel, which uses libidn2), LDH label rules (RFC 1035
 * §2.3.1, RFC 1123 §2.1), the `_openid.` name, and the two e-mail mappings (draft-sanz-openid-dns-discovery-01's
 * `<local>._openidemail.<domain>` and the reference Python client's hashed form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <getdns/getdns.h>

#include "dns.h"
#include "util.h"

static bool
has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return (true);
	return (false);
}

/* has_alabel(s): true when a label of ${s} starts with the ACE prefix "xn--" (any case). */
static bool
has_alabel(const char *s)
{
	const char *p = s;

	for (;;) {
		if ((p[0] | 0x20) == 'x' && (p[1] | 0x20) == 'n' && p[2] == '-' && p[3] == '-')
			return (true);
		if ((p = strchr(p, '.')) == NULL)
			return (false);
		p++;
	}
}

/* ldh_check(s): the label rules on the lower-case A-label form ${s} (no trailing dot). */
static enum dns_rec_err
ldh_check(const char *s)
{
	size_t i, n = strlen(s), lablen = 0, labels = 0;
	bool alldigits = true;

	if (n == 0)
		return (DNS_REC_NAME_EMPTY);
	if (n > DNS_MAX_NAME)
		return (DNS_REC_NAME_TOO_LONG);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (lablen == 0)
				return (DNS_REC_NAME_EMPTY_LABEL);
			if (lablen > DNS_MAX_LABEL)
				return (DNS_REC_NAME_LABEL_TOO_LONG);
			if (s[i - 1] == '-' || s[i - lablen] == '-')
				return (DNS_REC_NAME_HYPHEN);
			labels++;
			if (i == n && alldigits)
				return (labels < 2 ? DNS_REC_NAME_SINGLE_LABEL : DNS_REC_NAME_NUMERIC_TLD);
			lablen = 0;
			alldigits = true;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return (DNS_REC_NAME_BAD_CHAR);
		if (s[i] < '0' || s[i] > '9')
			alldigits = false;
		lablen++;
	}
	return (labels < 2 ? DNS_REC_NAME_SINGLE_LABEL : DNS_REC_OK);
}

/** dns_identifier_canonical(in, out, why): the canonical DNS form of the identifier ${in}: IDN U-labels
 * converted to A-labels (IDNA via getdns/libidn2), ASCII lower case, one trailing dot removed, LDH labels of
 * 1..63 bytes, 1..253 bytes in all, at least two labels, last label not all digits.  0 and a new *${out}
 * (caller frees); -1, *${out} = NULL and *${why} otherwise.  ${why} may be NULL. */
int
dns_identifier_canonical(const char *in, char **out, enum dns_rec_err *why)
{
	enum dns_rec_err err = DNS_REC_OK;
	char *s = NULL, *a = NULL;
	size_t n;
	int ret = -1;

	*out = NULL;
	if (in == NULL || in[0] == '\0') {
		err = DNS_REC_NAME_EMPTY;
		goto out;
	}
	if (strlen(in) > DNS_MAX_NAME_INPUT) {
		err = DNS_REC_NAME_TOO_LONG;
		goto out;
	}
	if ((s = xstrdup(in)) == NULL) {
		err = DNS_REC_NOMEM;
		goto out;
	}
	/* Control bytes and spaces are never part of a name; refuse them before IDNA sees them. */
	if (strpbrk(s, " \t\r\n\x7f") != NULL) {
		err = DNS_REC_NAME_BAD_CHAR;
		goto out;
	}
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20) {
			err = DNS_REC_NAME_BAD_CHAR;
			goto out;
		}
	/*
	 * RFC 5891 §5: U-labels become A-labels before the lookup.  An ASCII name with an "xn--" label goes through
	 * the same conversion, which refuses an A-label that does not decode.  getdns returns NULL on failure.
	 */
	if (has_non_ascii(s) || has_alabel(s)) {
		if ((a = getdns_convert_ulabel_to_alabel(s)) == NULL) {
			err = DNS_REC_NAME_BAD_IDN;
			goto out;
		}
		free(s);
		s = a;
		a = NULL;
	}
	str_lower(s);
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		s[n - 1] = '\0';
	if ((err = ldh_check(s)) != DNS_REC_OK)
		goto out;
	*out = s;
	s = NULL;
	ret = 0;
out:
	free(s);
	free(a);
	if (why != NULL)
		*why = err;
	return (ret);
}

/* join(prefix, canonical, out): ${prefix} + ${canonical} in a new *${out}; -1 when over DNS_MAX_NAME or no
 * memory. */
static int
join(const char *prefix, const char *name, char **out)
{
	struct buf b;

	*out = NULL;
	if (strlen(prefix) + strlen(name) > DNS_MAX_NAME)
		return (-1);
	buf_init(&b);
	if (buf_puts(&b, prefix) == -1 || buf_puts(&b, name) == -1) {
		buf_release(&b);
		return (-1);
	}
	return ((*out = buf_steal(&b)) == NULL ? -1 : 0);
}

/** dns_openid_name(identifier, out): "_openid." + the canonical ${identifier} in a new *${out} (caller
 * frees).  -1 when the identifier is not valid or the name would exceed DNS_MAX_NAME bytes. */
int
dns_openid_name(const char *identifier, char **out)
{
	char *canon = NULL;
	int ret;

	*out = NULL;
	if (dns_identifier_canonical(identifier, &canon, NULL) == -1)
		return (-1);
	ret = join("_openid.", canon, out);
	free(canon);
	return (ret);
}

/** dns_names_free(names, n): free an array from dns_email_names; NULL is a no-op. */
void
dns_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* RFC 5322 §3.2.3 atext, without the '.' of dot-atom: such a local part is one DNS label as it stands. */
static bool
local_is_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > DNS_MAX_LABEL)
		return (false);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)))
			return (false);
	}
	return (true);
}

/** dns_email_names(email, names, n): the candidate discovery names for the e-mail address ${email}, in the
 * order to try: "<local>._openidemail.<domain>" (the draft's form; only when the local part is a single
 * dot-free label of RFC 5322 atext) and "_openid.<first 56 hex of sha256(local)>.<domain>" (the reference
 * Python client's form).  The local part is used exactly as given (case kept, RFC 5321 §2.4); the domain is
 * canonicalised as an identifier.  0 and a new array *${names} of *${n} new strings (free with
 * dns_names_free); -1 and NULL / 0 on an invalid address or memory failure. */
int
dns_email_names(const char *email, char ***names, size_t *n)
{
	static const char hexdigits[] = "0123456789abcdef";
	unsigned char digest[UTIL_SHA256_LEN];
	char prefix[sizeof("_openid.") + DNS_EMAIL_HASH_HEX + 1];
	const char *at;
	char **v = NULL, *domain = NULL, *local = NULL;
	size_t nv = 0, llen, i, p;
	struct buf b;
	int ret = -1;

	*names = NULL;
	*n = 0;
	buf_init(&b);
	if (email == NULL || (at = strrchr(email, '@')) == NULL)
		goto out;
	llen = (size_t)(at - email);
	if (llen == 0 || llen > DNS_MAX_EMAIL_LOCAL)
		goto out;
	if (dns_identifier_canonical(at + 1, &domain, NULL) == -1)
		goto out;
	if ((v = calloc(2, sizeof(*v))) == NULL || (local = xstrndup(email, llen)) == NULL)
		goto out;
	/* draft-sanz-openid-dns-discovery-01: <local>._openidemail.<domain>, when the local part is one label. */
	if (local_is_label(local, llen) && llen + strlen("._openidemail.") + strlen(domain) <= DNS_MAX_NAME) {
		if (buf_puts(&b, local) == -1 || buf_puts(&b, "._openidemail.") == -1 || buf_puts(&b, domain) == -1 ||
		    (v[nv] = buf_steal(&b)) == NULL)
			goto out;
		nv++;
	}
	/* Reference Python client: _openid.<hex(sha256(local))[:56]>.<domain>. */
	sha256(local, llen, digest);
	memcpy(prefix, "_openid.", strlen("_openid."));
	p = strlen("_openid.");
	for (i = 0; i < DNS_EMAIL_HASH_HEX / 2; i++) {
		prefix[p++] = hexdigits[digest[i] >> 4];
		prefix[p++] = hexdigits[digest[i] & 0x0f];
	}
	prefix[p++] = '.';
	prefix[p] = '\0';
	if (join(prefix, domain, &v[nv]) == -1)
		goto out;
	nv++;
	*names = v;
	*n = nv;
	v = NULL;
	ret = 0;
out:
	dns_names_free(v, nv);
	buf_release(&b);
	free(local);
	free(domain);
	return (ret);
}
