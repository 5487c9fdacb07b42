/*
 * record.c: the `_openid` TXT record of draft-sanz-openid-dns-discovery-01 as profiled in drafts/dns-discovery.md:
 * the DKIM-style tag list (RFC 6376 §3.2), the v=OID1 / iss / clp tags with the legacy iau / iag, the selection
 * rule over a record set, TXT character-string concatenation (RFC 1035 §3.3.14, RFC 7208 §3.3), host
 * comparison and the issuer URL.  Pure byte work: no getdns here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "util.h"

/* One tag=value element, pointing into the record text. */
struct tag {
	const char *name;
	size_t namelen;
	const char *val;
	size_t vallen;
};

static const struct {
	const char *name;
	const char *text;
} rec_errors[DNS_REC_ERR_COUNT] = {
	[DNS_REC_OK] = { "ok", "The record is valid." },
	[DNS_REC_TOO_LONG] = { "too_long", "The TXT record is longer than 4096 bytes." },
	[DNS_REC_EMPTY] = { "empty", "The TXT record is empty." },
	[DNS_REC_EMPTY_TAG] = { "empty_tag", "The record has an element without a tag name (\";;\" or \"=value\")." },
	[DNS_REC_BAD_TAG] = { "bad_tag", "A tag name is not a letter followed by letters, digits or underscores." },
	[DNS_REC_NO_EQUALS] = { "no_equals", "A tag has no \"=\" and no value." },
	[DNS_REC_BAD_VALUE] = { "bad_value", "A tag value contains a control, non-ASCII or NUL byte." },
	[DNS_REC_TOO_MANY_TAGS] = { "too_many_tags", "The record has more than 32 tags." },
	[DNS_REC_MISSING_V] = { "missing_v", "The record has no \"v=OID1\" tag." },
	[DNS_REC_V_NOT_FIRST] = { "v_not_first", "The \"v=OID1\" tag is not the first tag of the record." },
	[DNS_REC_BAD_VERSION] = { "bad_version", "The record's version is not \"OID1\"." },
	[DNS_REC_DUPLICATE_TAG] = { "duplicate_tag",
	    "A tag appears twice in the record (iss and iau, or clp and iag, count as the same tag)." },
	[DNS_REC_MISSING_ISS] = { "missing_iss", "The record names no identity authority (no \"iss\" tag)." },
	[DNS_REC_BAD_ISS] = { "bad_iss",
	    "The identity authority (\"iss\") is not a host name in A-labels with an optional port and path." },
	[DNS_REC_BAD_CLP] = { "bad_clp",
	    "The claims provider (\"clp\") is not a host name in A-labels with an optional port and path." },
	[DNS_REC_NO_RECORD] = { "no_record", "No TXT record at the name starts with \"v=OID1\"." },
	[DNS_REC_AMBIGUOUS] = { "ambiguous", "There is more than one valid \"v=OID1\" record at the name." },
	[DNS_REC_NAME_EMPTY] = { "name_empty", "The identifier is empty." },
	[DNS_REC_NAME_TOO_LONG] = { "name_too_long", "The identifier is longer than 253 bytes in A-labels." },
	[DNS_REC_NAME_EMPTY_LABEL] = { "name_empty_label",
	    "The identifier has an empty label (\"..\" or a leading dot)." },
	[DNS_REC_NAME_LABEL_TOO_LONG] = { "name_label_too_long", "A label of the identifier is longer than 63 bytes." },
	[DNS_REC_NAME_BAD_CHAR] = { "name_bad_char",
	    "The identifier contains a character other than letters, digits, hyphens and dots." },
	[DNS_REC_NAME_HYPHEN] = { "name_hyphen", "A label of the identifier starts or ends with a hyphen." },
	[DNS_REC_NAME_SINGLE_LABEL] = { "name_single_label", "The identifier must have at least two labels." },
	[DNS_REC_NAME_NUMERIC_TLD] = { "name_numeric_tld", "The last label of the identifier is all digits." },
	[DNS_REC_NAME_BAD_IDN] = { "name_bad_idn", "The identifier is not a valid internationalised domain name." },
	[DNS_REC_BAD_EMAIL] = { "bad_email", "The e-mail address has no \"@\" or an empty or over-long local part." },
	[DNS_REC_NOMEM] = { "nomem", "Out of memory." },
};

/** dns_rec_strerror(e): an English sentence for ${e}; never NULL (static storage). */
const char *
dns_rec_strerror(enum dns_rec_err e)
{
	if ((unsigned)e >= DNS_REC_ERR_COUNT || rec_errors[e].text == NULL)
		return ("Unknown DNS record error.");
	return (rec_errors[e].text);
}

/** dns_rec_name(e): the stable lower-case name of ${e} ("duplicate_tag"); never NULL (static storage). */
const char *
dns_rec_name(enum dns_rec_err e)
{
	if ((unsigned)e >= DNS_REC_ERR_COUNT || rec_errors[e].name == NULL)
		return ("unknown");
	return (rec_errors[e].name);
}

/** openid_record_free(r): free ${r}; NULL is a no-op. */
void
openid_record_free(struct openid_record *r)
{
	if (r == NULL)
		return;
	free(r->iss);
	free(r->clp);
	free(r);
}

static bool
is_wsp(char c)
{
	return (c == ' ' || c == '\t');
}

static bool
is_alpha(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static bool
is_digit(char c)
{
	return (c >= '0' && c <= '9');
}

/* RFC 6376 §3.2: VALCHAR = %x21-3A / %x3C-7E. */
static bool
is_valchar(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 0x21 && u <= 0x7e && u != ';');
}

/*
 * next_tag(txt, len, pos, t): read the tag-spec at *${pos} (RFC 6376 §3.2, FWS limited to SP and HTAB) into ${t}
 * and move *${pos} past its ';' (or to ${len}).  DNS_REC_OK with t->name == NULL when only whitespace is left.
 */
static enum dns_rec_err
next_tag(const char *txt, size_t len, size_t *pos, struct tag *t)
{
	size_t i = *pos, end;

	memset(t, 0, sizeof(*t));
	while (i < len && is_wsp(txt[i]))
		i++;
	if (i == len) {
		*pos = i;
		return (DNS_REC_OK);
	}
	if (txt[i] == ';' || txt[i] == '=')
		return (DNS_REC_EMPTY_TAG);
	/* tag-name = ALPHA *ALNUMPUNC */
	if (!is_alpha(txt[i]))
		return (DNS_REC_BAD_TAG);
	t->name = txt + i;
	while (i < len && (is_alpha(txt[i]) || is_digit(txt[i]) || txt[i] == '_'))
		i++;
	t->namelen = (size_t)(txt + i - t->name);
	while (i < len && is_wsp(txt[i]))
		i++;
	if (i == len || txt[i] == ';')
		return (DNS_REC_NO_EQUALS);
	if (txt[i] != '=')
		return (DNS_REC_BAD_TAG);
	i++;
	while (i < len && is_wsp(txt[i]))
		i++;
	/* tag-value = [ tval *( 1*WSP tval ) ]: inner whitespace kept, trailing whitespace dropped. */
	t->val = txt + i;
	end = i;
	while (i < len && txt[i] != ';') {
		if (!is_valchar(txt[i]) && !is_wsp(txt[i]))
			return (DNS_REC_BAD_VALUE);
		if (!is_wsp(txt[i]))
			end = i + 1;
		i++;
	}
	t->vallen = (size_t)(txt + end - t->val);
	if (i < len)
		i++; /* the ';' */
	*pos = i;
	return (DNS_REC_OK);
}

static bool
tag_is(const struct tag *t, const char *name)
{
	return (t->namelen == strlen(name) && memcmp(t->name, name, t->namelen) == 0);
}

static bool
tag_same(const struct tag *a, const struct tag *b)
{
	return (a->namelen == b->namelen && memcmp(a->name, b->name, a->namelen) == 0);
}

/*
 * host_ok(s, n): ${n} bytes of LDH labels of 1..63 bytes, no leading or trailing hyphen, at most 253 bytes, one
 * optional trailing dot, last label not all digits.  One label is allowed ("localhost" test issuers).
 */
static bool
host_ok(const char *s, size_t n)
{
	size_t i, lablen = 0;
	bool alldigits = true;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_MAX_NAME)
		return (false);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (lablen == 0 || lablen > DNS_MAX_LABEL || s[i - 1] == '-')
				return (false);
			if (i == n && alldigits)
				return (false);
			lablen = 0;
			alldigits = true;
			continue;
		}
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return (false);
		if (lablen == 0 && s[i] == '-')
			return (false);
		if (!is_digit(s[i]))
			alldigits = false;
		lablen++;
	}
	return (true);
}

static bool
is_hex(char c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@" (";" cannot occur in a value). */
static bool
is_pchar(char c)
{
	return (is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

/* path_ok(s, n): "/" segment *( "/" segment ) with non-empty segments and no trailing "/". */
static bool
path_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || s[0] != '/' || s[n - 1] == '/')
		return (false);
	for (i = 1; i < n; i++) {
		if (s[i] == '/') {
			if (s[i - 1] == '/')
				return (false);
		} else if (s[i] == '%') {
			if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return (false);
			i += 2;
		} else if (s[i] == '\0' || !is_pchar(s[i]))
			return (false);
	}
	return (true);
}

/* port_ok(s, n): 1..65535 in decimal without leading zeros. */
static bool
port_ok(const char *s, size_t n)
{
	char digits[6];
	int64_t v;
	size_t i;

	if (n == 0 || n > 5 || s[0] == '0')
		return (false);
	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return (false);
	memcpy(digits, s, n);
	digits[n] = '\0';
	return (str_parse_i64(digits, 1, 65535, &v) == 0);
}

/* hostport_ok(s, n): host[:port][/path]. */
static bool
hostport_ok(const char *s, size_t n)
{
	size_t h, p;

	for (h = 0; h < n && s[h] != ':' && s[h] != '/'; h++)
		;
	if (!host_ok(s, h))
		return (false);
	p = h;
	if (p < n && s[p] == ':') {
		for (p = h + 1; p < n && s[p] != '/'; p++)
			;
		if (!port_ok(s + h + 1, p - h - 1))
			return (false);
	}
	return (p == n || path_ok(s + p, n - p));
}

/** openid_host_syntax_ok(s): true when ${s} is host[:port][/path] as allowed for iss and clp. */
bool
openid_host_syntax_ok(const char *s)
{
	return (s != NULL && hostport_ok(s, strlen(s)));
}

/** openid_record_is_candidate(txt, len): true when the record's first tag is exactly "v=OID1" (surrounding
 * whitespace allowed): only such records take part in selection. */
bool
openid_record_is_candidate(const char *txt, size_t len)
{
	struct tag t;
	size_t pos = 0;

	if (txt == NULL || len > DNS_MAX_TXT)
		return (false);
	if (next_tag(txt, len, &pos, &t) != DNS_REC_OK || t.name == NULL)
		return (false);
	return (tag_is(&t, "v") && t.vallen == 4 && memcmp(t.val, "OID1", 4) == 0);
}

/** openid_record_parse(txt, len, out, why): parse the ${len} bytes of one TXT record (its character-strings
 * already concatenated) strictly per drafts/dns-discovery.md §3.  0 and a new *${out} (the caller frees it with
 * openid_record_free) when valid; -1, *${out} = NULL and the reason in *${why} otherwise.  ${why} may be NULL. */
int
openid_record_parse(const char *txt, size_t len, struct openid_record **out, enum dns_rec_err *why)
{
	struct tag tags[DNS_MAX_TAGS], t;
	const struct tag *iss = NULL, *clp = NULL;
	struct openid_record *r = NULL;
	enum dns_rec_err err = DNS_REC_OK;
	size_t ntags = 0, pos = 0, i, j;
	bool legacy = false, have_v = false;
	int ret = -1;

	*out = NULL;
	/* 1. Size, then the tag-list syntax in the order of the text. */
	if (len > DNS_MAX_TXT) {
		err = DNS_REC_TOO_LONG;
		goto out;
	}
	if (txt == NULL)
		len = 0;
	while (pos < len) {
		if ((err = next_tag(txt, len, &pos, &t)) != DNS_REC_OK)
			goto out;
		if (t.name == NULL)
			break; /* whitespace after the final ';' */
		if (ntags == DNS_MAX_TAGS) {
			err = DNS_REC_TOO_MANY_TAGS;
			goto out;
		}
		tags[ntags++] = t;
	}
	if (ntags == 0) {
		err = DNS_REC_EMPTY;
		goto out;
	}
	/* 2. v=OID1 must be the first tag. */
	for (i = 0; i < ntags; i++)
		if (tag_is(&tags[i], "v"))
			have_v = true;
	if (!tag_is(&tags[0], "v")) {
		err = have_v ? DNS_REC_V_NOT_FIRST : DNS_REC_MISSING_V;
		goto out;
	}
	if (tags[0].vallen != 4 || memcmp(tags[0].val, "OID1", 4) != 0) {
		err = DNS_REC_BAD_VERSION;
		goto out;
	}
	/* 3. Any tag twice invalidates the record; the legacy names are the same tags as the new ones. */
	for (i = 0; i < ntags; i++) {
		for (j = 0; j < i; j++)
			if (tag_same(&tags[i], &tags[j])) {
				err = DNS_REC_DUPLICATE_TAG;
				goto out;
			}
		if (tag_is(&tags[i], "iss") || tag_is(&tags[i], "iau")) {
			if (iss != NULL) {
				err = DNS_REC_DUPLICATE_TAG;
				goto out;
			}
			iss = &tags[i];
			legacy = legacy || tag_is(&tags[i], "iau");
		} else if (tag_is(&tags[i], "clp") || tag_is(&tags[i], "iag")) {
			if (clp != NULL) {
				err = DNS_REC_DUPLICATE_TAG;
				goto out;
			}
			clp = &tags[i];
			legacy = legacy || tag_is(&tags[i], "iag");
		}
		/* Unknown tags are ignored. */
	}
	/* 4. iss is required; iss and clp are host[:port][/path]. */
	if (iss == NULL) {
		err = DNS_REC_MISSING_ISS;
		goto out;
	}
	if (!hostport_ok(iss->val, iss->vallen)) {
		err = DNS_REC_BAD_ISS;
		goto out;
	}
	if (clp != NULL && !hostport_ok(clp->val, clp->vallen)) {
		err = DNS_REC_BAD_CLP;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->iss = xstrndup(iss->val, iss->vallen)) == NULL ||
	    (clp != NULL && (r->clp = xstrndup(clp->val, clp->vallen)) == NULL)) {
		err = DNS_REC_NOMEM;
		goto out;
	}
	r->legacy = legacy;
	*out = r;
	r = NULL;
	ret = 0;
out:
	openid_record_free(r);
	if (why != NULL)
		*why = err;
	return (ret);
}

/** openid_records_select(txts, lens, n, out, why): the selection rule over all ${n} TXT records found at one
 * name: exactly one valid v=OID1 record gives 0 and a new *${out} (caller frees).  Otherwise -1, *${out} = NULL
 * and *${why}: DNS_REC_AMBIGUOUS for several valid ones, the first candidate's parse error when candidates
 * exist but none is valid, DNS_REC_NO_RECORD when no record starts with v=OID1.  ${why} may be NULL. */
int
openid_records_select(
    const char *const *txts, const size_t *lens, size_t n, struct openid_record **out, enum dns_rec_err *why)
{
	struct openid_record *found = NULL, *r = NULL;
	enum dns_rec_err err = DNS_REC_NO_RECORD, e;
	size_t i;
	int ret = -1;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (!openid_record_is_candidate(txts[i], lens[i]))
			continue;
		if (openid_record_parse(txts[i], lens[i], &r, &e) == -1) {
			if (e == DNS_REC_NOMEM) {
				err = e;
				goto out;
			}
			if (err == DNS_REC_NO_RECORD)
				err = e; /* the first invalid candidate explains the failure */
			continue;
		}
		if (found != NULL) {
			openid_record_free(r);
			r = NULL;
			err = DNS_REC_AMBIGUOUS;
			goto out;
		}
		found = r;
		r = NULL;
	}
	if (found == NULL)
		goto out;
	*out = found;
	found = NULL;
	err = DNS_REC_OK;
	ret = 0;
out:
	openid_record_free(found);
	if (why != NULL)
		*why = err;
	return (ret);
}

/** dns_txt_concat(strings, lens, n, out, outlen): concatenate the ${n} character-strings of one TXT RR into a
 * new NUL-terminated *${out} (caller frees) of *${outlen} bytes (${outlen} may be NULL).  -1 (and *${out} =
 * NULL) when a string is longer than DNS_MAX_STRING, contains a NUL byte, the total exceeds DNS_MAX_TXT, or
 * on memory failure. */
int
dns_txt_concat(const unsigned char *const *strings, const size_t *lens, size_t n, char **out, size_t *outlen)
{
	size_t i, total = 0;
	char *s;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (lens[i] > DNS_MAX_STRING || (lens[i] > 0 && memchr(strings[i], '\0', lens[i]) != NULL))
			return (-1);
		total += lens[i];
		if (total > DNS_MAX_TXT)
			return (-1);
	}
	if ((s = malloc(total + 1)) == NULL)
		return (-1);
	total = 0;
	for (i = 0; i < n; i++) {
		if (lens[i] > 0)
			memcpy(s + total, strings[i], lens[i]);
		total += lens[i];
	}
	s[total] = '\0';
	*out = s;
	if (outlen != NULL)
		*outlen = total;
	return (0);
}

/* split_host(s, hostlen): the length of the host part of ${s} (before ':' or '/'), one trailing dot not counted
 * in *${hostlen}; returns where the rest (port and path) starts. */
static size_t
split_host(const char *s, size_t *hostlen)
{
	size_t h = strcspn(s, ":/");

	*hostlen = (h > 0 && s[h - 1] == '.') ? h - 1 : h;
	return (h);
}

/** openid_host_equal(a, b): true when the iss/clp values ${a} and ${b} name the same place: host compared
 * ASCII case-insensitively with one trailing dot ignored, port and path compared byte for byte.  NULL never
 * equals. */
bool
openid_host_equal(const char *a, const char *b)
{
	size_t ah, bh, arest, brest;

	if (a == NULL || b == NULL)
		return (false);
	arest = split_host(a, &ah);
	brest = split_host(b, &bh);
	if (ah != bh || strncasecmp(a, b, ah) != 0)
		return (false);
	return (strcmp(a + arest, b + brest) == 0);
}

/** openid_issuer_url(r): "https://" + r->iss, no trailing slash; caller frees; NULL for NULL or no memory. */
char *
openid_issuer_url(const struct openid_record *r)
{
	struct buf b;

	if (r == NULL || r->iss == NULL)
		return (NULL);
	buf_init(&b);
	if (buf_puts(&b, "https://") == -1 || buf_puts(&b, r->iss) == -1) {
		buf_release(&b);
		return (NULL);
	}
	/* The syntax check forbids a trailing '/', so the URL has none unless the caller built r by hand. */
	while (b.len > strlen("https://") && b.data[b.len - 1] == '/')
		b.data[--b.len] = '\0';
	return (buf_steal(&b));
}
