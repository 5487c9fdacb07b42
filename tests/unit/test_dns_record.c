/*
 * test_dns_record.c: the _openid TXT record parser, selection rule, host comparison, identifier canonicalisation
 * and e-mail mappings (drafts/dns-discovery.md), one test per rule of draft-sanz-openid-dns-discovery-01 as
 * profiled there.  test_draft_examples checks every ```txt valid / ```txt invalid <reason> block of the draft.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "test.h"

/* parse_iss(txt): the iss of the record ${txt} in a static copy for CHECK_STR ("" when invalid). */
static const char *
parse_iss(const char *txt)
{
	static char iss[DNS_MAX_TXT + 1];
	struct openid_record *r = NULL;
	enum dns_rec_err why;

	iss[0] = '\0';
	if (openid_record_parse(txt, strlen(txt), &r, &why) == 0) {
		snprintf(iss, sizeof(iss), "%s", r->iss);
		openid_record_free(r);
	}
	return (iss);
}

/* reason(txt): the rejection reason of the record ${txt} (DNS_REC_OK when valid). */
static enum dns_rec_err
reason(const char *txt)
{
	struct openid_record *r = NULL;
	enum dns_rec_err why = DNS_REC_ERR_COUNT;
	int rc;

	rc = openid_record_parse(txt, strlen(txt), &r, &why);
	if ((rc == 0) != (r != NULL) || (rc == 0) != (why == DNS_REC_OK))
		return (DNS_REC_ERR_COUNT);
	openid_record_free(r);
	return (why);
}

static void
test_basic_record(void)
{
	struct openid_record *r = NULL;
	enum dns_rec_err why;
	const char *txt = "v=OID1;iss=auth.example.net;clp=agent.example.org";
	char *url;

	CHECK(openid_record_parse(txt, strlen(txt), &r, &why) == 0);
	CHECK(why == DNS_REC_OK);
	if (r == NULL)
		return;
	CHECK_STR(r->iss, "auth.example.net");
	CHECK_STR(r->clp, "agent.example.org");
	CHECK(!r->legacy);
	url = openid_issuer_url(r);
	CHECK_STR(url, "https://auth.example.net");
	free(url);
	openid_record_free(r);
	openid_record_free(NULL);
	CHECK(openid_issuer_url(NULL) == NULL);

	/* clp is optional; why may be NULL. */
	txt = "v=OID1;iss=auth.example.net";
	CHECK(openid_record_parse(txt, strlen(txt), &r, NULL) == 0);
	CHECK(r != NULL && r->clp == NULL);
	openid_record_free(r);
}

static void
test_v_must_be_first(void)
{
	CHECK(reason("iss=auth.example.net;v=OID1") == DNS_REC_V_NOT_FIRST);
	CHECK(reason("iss=auth.example.net") == DNS_REC_MISSING_V);
	CHECK(reason("v=OID2;iss=auth.example.net") == DNS_REC_BAD_VERSION);
	CHECK(reason("v=oid1;iss=auth.example.net") == DNS_REC_BAD_VERSION);
	CHECK(reason("V=OID1;iss=auth.example.net") == DNS_REC_MISSING_V);
	CHECK(reason("v=OID1;iss=auth.example.net") == DNS_REC_OK);
	CHECK(openid_record_is_candidate(" v = OID1 ;x", 12));
	CHECK(!openid_record_is_candidate("iss=a.example;v=OID1", 20));
	CHECK(!openid_record_is_candidate("v=OID1x", 7));
	CHECK(!openid_record_is_candidate(NULL, 0));
}

static void
test_duplicate_tag_invalid(void)
{
	CHECK(reason("v=OID1;iss=a.example;iss=b.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iss=a.example;iss=a.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iss=a.example;x=1;x=2") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;v=OID1;iss=a.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iss=a.example;clp=c.example;clp=c.example") == DNS_REC_DUPLICATE_TAG);
	/* Tags are case-sensitive: X and x are two tags. */
	CHECK(reason("v=OID1;iss=a.example;x=1;X=2") == DNS_REC_OK);
}

static void
test_unknown_tags_ignored(void)
{
	CHECK_STR(parse_iss("v=OID1;foo=bar;iss=a.example;zz_9=anything goes: here"), "a.example");
	CHECK_STR(parse_iss("v=OID1;iss=a.example;empty="), "a.example");
	/* ISS is an unknown tag, not iss. */
	CHECK(reason("v=OID1;ISS=a.example") == DNS_REC_MISSING_ISS);
	/* Unknown tags are still held to the syntax. */
	CHECK(reason("v=OID1;iss=a.example;f-o=1") == DNS_REC_BAD_TAG);
	CHECK(reason("v=OID1;iss=a.example;foo=\x01") == DNS_REC_BAD_VALUE);
}

static void
test_legacy_iau_iag(void)
{
	struct openid_record *r = NULL;
	const char *txt = "v=OID1;iau=auth.example.net;iag=agent.example.org";

	CHECK(openid_record_parse(txt, strlen(txt), &r, NULL) == 0);
	if (r != NULL) {
		CHECK_STR(r->iss, "auth.example.net");
		CHECK_STR(r->clp, "agent.example.org");
		CHECK(r->legacy);
	}
	openid_record_free(r);
	txt = "v=OID1;iss=auth.example.net;iag=agent.example.org";
	CHECK(openid_record_parse(txt, strlen(txt), &r, NULL) == 0);
	CHECK(r != NULL && r->legacy && strcmp(r->clp, "agent.example.org") == 0);
	openid_record_free(r);
	/* Both forms present: the same tag twice. */
	CHECK(reason("v=OID1;iss=a.example;iau=a.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iau=a.example;iss=a.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iss=a.example;clp=c.example;iag=c.example") == DNS_REC_DUPLICATE_TAG);
	CHECK(reason("v=OID1;iau=a.example;iag=c..example") == DNS_REC_BAD_CLP);
}

static void
test_iss_with_port_and_path(void)
{
	struct openid_record *r = NULL;
	const char *txt = "v=OID1;iss=Auth.Example.net:8443/id4me/v1;clp=agent.example.org:1";
	char *url;

	CHECK(openid_record_parse(txt, strlen(txt), &r, NULL) == 0);
	if (r != NULL) {
		CHECK_STR(r->iss, "Auth.Example.net:8443/id4me/v1");
		CHECK_STR(r->clp, "agent.example.org:1");
		url = openid_issuer_url(r);
		CHECK_STR(url, "https://Auth.Example.net:8443/id4me/v1");
		free(url);
	}
	openid_record_free(r);
	CHECK(openid_host_syntax_ok("a.example:65535"));
	CHECK(openid_host_syntax_ok("a.example/p/%41~x"));
	CHECK(openid_host_syntax_ok("localhost:8443"));
	CHECK(!openid_host_syntax_ok("a.example:65536"));
	CHECK(!openid_host_syntax_ok("a.example:0"));
	CHECK(!openid_host_syntax_ok("a.example:-1"));
	CHECK(!openid_host_syntax_ok("a.example:/p"));
	CHECK(!openid_host_syntax_ok("a.example/"));
	CHECK(!openid_host_syntax_ok("a.example/p#f"));
	CHECK(!openid_host_syntax_ok("a.example/%4"));
	CHECK(!openid_host_syntax_ok(":443"));
	CHECK(!openid_host_syntax_ok("[::1]:443"));
	CHECK(!openid_host_syntax_ok("10.0.0.1"));
	CHECK(!openid_host_syntax_ok(NULL));
	CHECK(!openid_host_syntax_ok(""));
}

static void
test_whitespace_around_tags(void)
{
	CHECK_STR(parse_iss("  v = OID1 ;\tiss\t=\tauth.example.net\t;  "), "auth.example.net");
	CHECK_STR(parse_iss("v=OID1;iss=auth.example.net"), "auth.example.net");
	/* Whitespace inside a host value is not allowed. */
	CHECK(reason("v=OID1;iss=auth .example.net") == DNS_REC_BAD_ISS);
	/* Only SP and HTAB are whitespace. */
	CHECK(reason("v=OID1;\niss=a.example") == DNS_REC_BAD_TAG);
	CHECK(reason("v=OID1;iss=a.example\r\n") == DNS_REC_BAD_VALUE);
}

static void
test_trailing_semicolon_optional(void)
{
	CHECK_STR(parse_iss("v=OID1;iss=a.example;"), "a.example");
	CHECK_STR(parse_iss("v=OID1;iss=a.example"), "a.example");
	CHECK(reason("v=OID1;iss=a.example;;") == DNS_REC_EMPTY_TAG);
	CHECK(reason("") == DNS_REC_EMPTY);
	CHECK(reason(";") == DNS_REC_EMPTY_TAG);
}

static void
test_embedded_nul_rejected(void)
{
	struct openid_record *r = NULL;
	enum dns_rec_err why;
	static const char txt[] = "v=OID1;iss=a.example\0.evil.example";

	CHECK(openid_record_parse(txt, sizeof(txt) - 1, &r, &why) == -1);
	CHECK(r == NULL && why == DNS_REC_BAD_VALUE);
}

static void
test_limits(void)
{
	char big[DNS_MAX_TXT + 2], host[300];
	char *tags;
	size_t i, n;
	struct openid_record *r = NULL;
	enum dns_rec_err why;

	/* Exactly DNS_MAX_TXT bytes is fine, one more is too long. */
	memcpy(big, "v=OID1;iss=a.example;x=", 23);
	memset(big + 23, 'y', sizeof(big) - 23);
	CHECK(openid_record_parse(big, DNS_MAX_TXT, &r, &why) == 0);
	openid_record_free(r);
	CHECK(openid_record_parse(big, DNS_MAX_TXT + 1, &r, &why) == -1 && why == DNS_REC_TOO_LONG);

	/* DNS_MAX_TAGS tags are fine, one more is not. */
	if ((tags = malloc(DNS_MAX_TXT)) == NULL)
		return;
	n = (size_t)snprintf(tags, DNS_MAX_TXT, "v=OID1;iss=a.example");
	for (i = 2; i < DNS_MAX_TAGS; i++)
		n += (size_t)snprintf(tags + n, DNS_MAX_TXT - n, ";t%zu=1", i);
	CHECK(reason(tags) == DNS_REC_OK);
	snprintf(tags + n, DNS_MAX_TXT - n, ";t%d=1", DNS_MAX_TAGS);
	CHECK(reason(tags) == DNS_REC_TOO_MANY_TAGS);
	free(tags);

	/* Host: labels of 63 bytes, 253 bytes in all. */
	memset(host, 'a', 63);
	memcpy(host + 63, ".example", 9);
	CHECK(openid_host_syntax_ok(host));
	memset(host, 'a', 64);
	memcpy(host + 64, ".example", 9);
	CHECK(!openid_host_syntax_ok(host));
	for (i = 0; i < 252; i += 2)
		memcpy(host + i, "a.", 2);
	host[252] = 'a';
	host[253] = '\0';
	CHECK(strlen(host) == 253 && openid_host_syntax_ok(host));
	host[253] = 'a';
	host[254] = '\0';
	CHECK(!openid_host_syntax_ok(host));
}

static void
test_host_compare_case_insensitive(void)
{
	CHECK(openid_host_equal("Auth.Example.NET", "auth.example.net"));
	CHECK(openid_host_equal("auth.example.net.", "auth.example.net"));
	CHECK(openid_host_equal("Auth.Example.NET.:8443/id", "auth.example.net:8443/id"));
	CHECK(!openid_host_equal("auth.example.net:8443/ID", "auth.example.net:8443/id"));
	CHECK(!openid_host_equal("auth.example.net/id", "auth.example.net:8443/id"));
	CHECK(!openid_host_equal("auth.example.net", "auth.example.net:443"));
	CHECK(!openid_host_equal("auth.example.net", "auth.example.ne"));
	CHECK(!openid_host_equal("auth.example.net..", "auth.example.net"));
	CHECK(!openid_host_equal(NULL, "a.example"));
	CHECK(!openid_host_equal(NULL, NULL));
}

static void
test_exactly_one_valid_record(void)
{
	const char *set[4];
	size_t lens[4], i;
	struct openid_record *r = NULL;
	enum dns_rec_err why;

	/* One valid among unrelated records. */
	set[0] = "google-site-verification=abc";
	set[1] = "v=OID1;iss=auth.example.net";
	set[2] = "v=spf1 -all";
	set[3] = "iss=other.example;v=OID1";
	for (i = 0; i < 4; i++)
		lens[i] = strlen(set[i]);
	CHECK(openid_records_select(set, lens, 4, &r, &why) == 0 && why == DNS_REC_OK);
	CHECK(r != NULL && strcmp(r->iss, "auth.example.net") == 0);
	openid_record_free(r);

	/* Two valid ones: ambiguous, even when they agree. */
	set[2] = "v=OID1;iss=auth.example.net";
	lens[2] = strlen(set[2]);
	CHECK(openid_records_select(set, lens, 4, &r, &why) == -1 && r == NULL && why == DNS_REC_AMBIGUOUS);

	/* One valid and one invalid candidate: the valid one. */
	set[2] = "v=OID1;iss=a.example;iss=b.example";
	lens[2] = strlen(set[2]);
	CHECK(openid_records_select(set, lens, 4, &r, &why) == 0);
	openid_record_free(r);

	/* Only invalid candidates: the first one's reason. */
	set[1] = "v=OID1;clp=a.example";
	lens[1] = strlen(set[1]);
	CHECK(openid_records_select(set, lens, 4, &r, &why) == -1 && why == DNS_REC_MISSING_ISS);

	/* No candidate at all. */
	CHECK(openid_records_select(set, lens, 1, &r, &why) == -1 && why == DNS_REC_NO_RECORD);
	CHECK(openid_records_select(set, lens, 0, &r, &why) == -1 && why == DNS_REC_NO_RECORD);
	set[0] = "iss=a.example;v=OID1";
	lens[0] = strlen(set[0]);
	CHECK(openid_records_select(set, lens, 1, &r, NULL) == -1 && r == NULL);
}

static void
test_multi_string_concatenation(void)
{
	const unsigned char *strs[3];
	size_t lens[3];
	char *out = NULL, big[DNS_MAX_STRING + 1];
	size_t outlen = 0;
	struct openid_record *r = NULL;

	strs[0] = (const unsigned char *)"v=OID1;iss=auth.exa";
	strs[1] = (const unsigned char *)"mple.net";
	strs[2] = (const unsigned char *)"";
	lens[0] = strlen((const char *)strs[0]);
	lens[1] = strlen((const char *)strs[1]);
	lens[2] = 0;
	CHECK(dns_txt_concat(strs, lens, 3, &out, &outlen) == 0);
	CHECK_STR(out, "v=OID1;iss=auth.example.net");
	CHECK(outlen == strlen("v=OID1;iss=auth.example.net"));
	CHECK(out != NULL && openid_record_parse(out, outlen, &r, NULL) == 0);
	CHECK(r != NULL && strcmp(r->iss, "auth.example.net") == 0);
	openid_record_free(r);
	free(out);

	/* A NUL byte refuses the RR. */
	strs[1] = (const unsigned char *)"mple\0.net";
	lens[1] = 9;
	CHECK(dns_txt_concat(strs, lens, 2, &out, &outlen) == -1 && out == NULL);

	/* No strings: the empty text. */
	CHECK(dns_txt_concat(strs, lens, 0, &out, NULL) == 0);
	CHECK_STR(out, "");
	free(out);

	/* A character-string is at most 255 bytes. */
	memset(big, 'x', sizeof(big));
	strs[0] = (const unsigned char *)big;
	lens[0] = DNS_MAX_STRING;
	CHECK(dns_txt_concat(strs, lens, 1, &out, NULL) == 0);
	free(out);
	lens[0] = DNS_MAX_STRING + 1;
	CHECK(dns_txt_concat(strs, lens, 1, &out, NULL) == -1 && out == NULL);
}

/* canon(in): the canonical form of ${in} in a static copy, or "!<reason>" when refused. */
static const char *
canon(const char *in)
{
	static char res[DNS_MAX_NAME_INPUT + 2];
	enum dns_rec_err why;
	char *out = NULL;

	if (dns_identifier_canonical(in, &out, &why) == 0) {
		snprintf(res, sizeof(res), "%s", out);
		free(out);
	} else
		snprintf(res, sizeof(res), "!%s", dns_rec_name(why));
	return (res);
}

static void
test_identifier_canonical(void)
{
	char long_label[80], long_name[300];
	size_t i;

	CHECK_STR(canon("Alice.Example.COM."), "alice.example.com");
	CHECK_STR(canon("alice.example.com"), "alice.example.com");
	CHECK_STR(canon(""), "!name_empty");
	CHECK_STR(canon(NULL), "!name_empty");
	CHECK_STR(canon("example"), "!name_single_label");
	CHECK_STR(canon("example."), "!name_single_label");
	CHECK_STR(canon("a..example"), "!name_empty_label");
	CHECK_STR(canon(".a.example"), "!name_empty_label");
	CHECK_STR(canon("a.example.."), "!name_empty_label");
	CHECK_STR(canon("-a.example"), "!name_hyphen");
	CHECK_STR(canon("a-.example"), "!name_hyphen");
	CHECK_STR(canon("a_b.example"), "!name_bad_char");
	CHECK_STR(canon("a b.example"), "!name_bad_char");
	CHECK_STR(canon("a.example\n"), "!name_bad_char");
	CHECK_STR(canon("alice@example.com"), "!name_bad_char");
	CHECK_STR(canon("192.0.2.1"), "!name_numeric_tld");
	CHECK_STR(canon("1.example"), "1.example");
	memset(long_label, 'a', 64);
	memcpy(long_label + 64, ".example", 9);
	CHECK_STR(canon(long_label), "!name_label_too_long");
	long_label[1] = '.';
	CHECK(canon(long_label)[0] != '!');
	/* 253 bytes is the limit. */
	for (i = 0; i < 252; i += 2)
		memcpy(long_name + i, "a.", 2);
	memcpy(long_name + 252, "a", 2);
	CHECK(strcmp(canon(long_name), long_name) == 0);
	memcpy(long_name + 252, "ab", 3);
	CHECK_STR(canon(long_name), "!name_too_long");
}

static void
test_idn_to_alabels(void)
{
	char *name = NULL;

	CHECK_STR(canon("b\u00fccher.example"), "xn--bcher-kva.example");
	CHECK_STR(canon("B\u00dcCHER.Example."), "xn--bcher-kva.example");
	CHECK_STR(canon("xn--bcher-kva.example"), "xn--bcher-kva.example");
	CHECK_STR(canon("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
	CHECK_STR(canon("xn--zz.example"), "!name_bad_idn");
	CHECK_STR(canon("\xff\xfe.example"), "!name_bad_idn");
	CHECK(dns_openid_name("B\u00fccher.Example", &name) == 0);
	CHECK_STR(name, "_openid.xn--bcher-kva.example");
	free(name);
	CHECK(dns_openid_name("Alice.Example.com.", &name) == 0);
	CHECK_STR(name, "_openid.alice.example.com");
	free(name);
	CHECK(dns_openid_name("nope", &name) == -1 && name == NULL);
}

static void
test_openid_name_length(void)
{
	char n[300];
	char *name = NULL;
	size_t i;

	/* A 253-byte identifier is canonical, but "_openid." + it is not a DNS name. */
	for (i = 0; i < 252; i += 2)
		memcpy(n + i, "a.", 2);
	memcpy(n + 252, "a", 2);
	CHECK(dns_openid_name(n, &name) == -1 && name == NULL);
	/* 245 bytes fits exactly. */
	n[244] = 'a';
	n[245] = '\0';
	CHECK(dns_openid_name(n, &name) == 0 && name != NULL && strlen(name) == DNS_MAX_NAME);
	free(name);
}

static void
test_email_mappings(void)
{
	char **names = NULL;
	size_t n = 0;

	CHECK(dns_email_names("user@Example.COM", &names, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(names[0], "user._openidemail.example.com");
		CHECK_STR(names[1], "_openid.04f8996da763b7a969b1028ee3007569eaf3a635486ddab211d512c8.example.com");
	}
	dns_names_free(names, n);

	/* The local part is used as given: "User" hashes differently from "user". */
	CHECK(dns_email_names("User@example.com", &names, &n) == 0 && n == 2);
	if (n == 2) {
		CHECK_STR(names[0], "User._openidemail.example.com");
		CHECK(strncmp(names[1], "_openid.04f8996d", 16) != 0);
	}
	dns_names_free(names, n);

	/* A dotted local part is not one label: only the hashed form. */
	CHECK(dns_email_names("john.doe@b\u00fccher.example", &names, &n) == 0 && n == 1);
	if (n == 1)
		CHECK(strncmp(names[0], "_openid.", 8) == 0 && strstr(names[0], ".xn--bcher-kva.example") != NULL &&
		    strlen(names[0]) == 8 + DNS_EMAIL_HASH_HEX + 1 + strlen("xn--bcher-kva.example"));
	dns_names_free(names, n);

	/* The last '@' splits. */
	CHECK(dns_email_names("\"a@b\"@example.com", &names, &n) == 0 && n == 1);
	dns_names_free(names, n);

	CHECK(dns_email_names("user.example.com", &names, &n) == -1 && names == NULL && n == 0);
	CHECK(dns_email_names("@example.com", &names, &n) == -1);
	CHECK(dns_email_names("user@", &names, &n) == -1);
	CHECK(dns_email_names("user@localhost", &names, &n) == -1);
	CHECK(dns_email_names(NULL, &names, &n) == -1);
	CHECK(dns_email_names(
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", &names, &n) == -1);
	dns_names_free(NULL, 0);
}

static void
test_strerror(void)
{
	int e;

	for (e = 0; e < DNS_REC_ERR_COUNT; e++) {
		CHECK(strcmp(dns_rec_strerror((enum dns_rec_err)e), "Unknown DNS record error.") != 0);
		CHECK(strcmp(dns_rec_name((enum dns_rec_err)e), "unknown") != 0);
	}
	CHECK_STR(dns_rec_name(DNS_REC_DUPLICATE_TAG), "duplicate_tag");
	CHECK_STR(dns_rec_strerror(DNS_REC_ERR_COUNT), "Unknown DNS record error.");
}

/* check_example(info, line, len, lineno): one example line of the draft against its block's info string. */
static void
check_example(const char *info, const char *line, size_t len, int lineno)
{
	struct openid_record *r = NULL;
	enum dns_rec_err why;
	int rc;

	rc = openid_record_parse(line, len, &r, &why);
	openid_record_free(r);
	if (strcmp(info, "valid") == 0) {
		if (rc != 0)
			fprintf(stderr, "drafts/dns-discovery.md:%d: rejected (%s): %.*s\n", lineno, dns_rec_name(why),
			    (int)len, line);
		CHECK(rc == 0);
	} else {
		const char *want = info + strlen("invalid ");

		if (rc == 0 || strcmp(dns_rec_name(why), want) != 0)
			fprintf(stderr, "drafts/dns-discovery.md:%d: expected %s, got %s: %.*s\n", lineno, want,
			    rc == 0 ? "valid" : dns_rec_name(why), (int)len, line);
		CHECK(rc == -1 && strcmp(dns_rec_name(why), want) == 0);
	}
}

static void
test_draft_examples(void)
{
	FILE *fp;
	char line[DNS_MAX_TXT + 2], info[64] = "";
	size_t len;
	int lineno = 0, valid = 0, invalid = 0, blocks = 0;
	bool in_block = false;

	fp = fopen("drafts/dns-discovery.md", "r");
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!in_block) {
			if (strncmp(line, "```txt ", 7) == 0) {
				if (len - 7 >= sizeof(info))
					len = 7 + sizeof(info) - 1;
				memcpy(info, line + 7, len - 7);
				info[len - 7] = '\0';
				CHECK(strcmp(info, "valid") == 0 || strncmp(info, "invalid ", 8) == 0);
				in_block = true;
				blocks++;
			}
			continue;
		}
		if (strcmp(line, "```") == 0) {
			in_block = false;
			continue;
		}
		if (len == 0)
			continue;
		check_example(info, line, len, lineno);
		if (strcmp(info, "valid") == 0)
			valid++;
		else
			invalid++;
	}
	fclose(fp);
	CHECK(!in_block);
	/* The draft keeps an example per rule: guard against the blocks silently disappearing. */
	CHECK(blocks >= 12 && valid >= 10 && invalid >= 30);
	printf("     draft examples: %d blocks, %d valid, %d invalid\n", blocks, valid, invalid);
}

int
main(void)
{
	TEST_RUN(test_basic_record);
	TEST_RUN(test_v_must_be_first);
	TEST_RUN(test_duplicate_tag_invalid);
	TEST_RUN(test_unknown_tags_ignored);
	TEST_RUN(test_legacy_iau_iag);
	TEST_RUN(test_iss_with_port_and_path);
	TEST_RUN(test_whitespace_around_tags);
	TEST_RUN(test_trailing_semicolon_optional);
	TEST_RUN(test_embedded_nul_rejected);
	TEST_RUN(test_limits);
	TEST_RUN(test_host_compare_case_insensitive);
	TEST_RUN(test_exactly_one_valid_record);
	TEST_RUN(test_multi_string_concatenation);
	TEST_RUN(test_identifier_canonical);
	TEST_RUN(test_idn_to_alabels);
	TEST_RUN(test_openid_name_length);
	TEST_RUN(test_email_mappings);
	TEST_RUN(test_strerror);
	TEST_RUN(test_draft_examples);
	return (TEST_EXIT());
}
