/*
 * test_tmpl.c: the template engine (include/tmpl.h): escaping, sections, loops, syntax errors with file:line, the output
 * cap, assets, and the real www/ directory (every page loads, renders, and stays within the CSP: no script, no
 * inline style).  Run from the repository root (as `make unit` does) so that "www" is found.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"
#include "tmpl.h"
#include "util.h"

#define LAYOUT_MIN "<t>{{title}}</t>{{{content}}}</b>"

static char tdir[64];

/* A fresh empty temporary directory in ${tdir}. */
static void
dir_new(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/test_tmpl.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void
file_put(const char *name, const char *data, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static void
file_puts(const char *name, const char *data)
{
	file_put(name, data, strlen(data));
}

/* Remove ${tdir} with its files and one level of subdirectories. */
static void
dir_remove(void)
{
	char path[512], sub[768];
	struct dirent *de, *se;
	DIR *d, *s;

	if ((d = opendir(tdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tdir, de->d_name);
		if (unlink(path) == 0)
			continue;
		if ((s = opendir(path)) != NULL) {
			while ((se = readdir(s)) != NULL) {
				snprintf(sub, sizeof(sub), "%s/%s", path, se->d_name);
				(void)unlink(sub);
			}
			closedir(s);
		}
		(void)rmdir(path);
	}
	closedir(d);
	(void)rmdir(tdir);
}

/* Load a directory holding the minimal layout and one page "p" with ${src}. */
static struct tmpl_set *
load_page(const char *src)
{
	struct tmpl_set *t;

	dir_new();
	file_puts("layout.html", LAYOUT_MIN);
	file_puts("p.html", src);
	t = tmpl_load(tdir);
	dir_remove();
	return (t);
}

/* Render page "p" of ${src} with ${vars}; returns the output (caller frees) or NULL. */
static char *
render(const char *src, const struct tmpl_var *vars, size_t n)
{
	struct tmpl_set *t;
	struct buf b;
	char *s = NULL;

	buf_init(&b);
	if ((t = load_page(src)) == NULL)
		return (NULL);
	if (tmpl_render(t, "p", vars, n, &b) == 0)
		s = buf_steal(&b);
	buf_release(&b);
	tmpl_free(t);
	return (s);
}

static void
check_render(const char *src, const struct tmpl_var *vars, size_t n, const char *expect)
{
	char *s = render(src, vars, n);

	CHECK_STR(s, expect);
	free(s);
}

/* Whether the template ${src} fails to load, and the log then names ${where} (e.g. "p.html:2:"). */
static bool
load_fails(const char *src, const char *where)
{
	char logpath[] = "/tmp/test_tmpl_log.XXXXXX", logbuf[4096];
	struct tmpl_set *t;
	ssize_t r;
	int fd, saved;
	bool ok;

	if ((fd = mkstemp(logpath)) == -1 || (saved = dup(STDERR_FILENO)) == -1) {
		perror("mkstemp");
		exit(1);
	}
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	t = load_page(src);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	r = pread(fd, logbuf, sizeof(logbuf) - 1, 0);
	logbuf[r > 0 ? r : 0] = '\0';
	close(fd);
	unlink(logpath);
	ok = t == NULL && (where == NULL || strstr(logbuf, where) != NULL);
	if (!ok)
		fprintf(stderr, "template \"%s\": loaded=%d, log: %s\n", src, t != NULL, logbuf);
	tmpl_free(t);
	return (ok);
}

static void
test_escape(void)
{
	struct tmpl_var v[] = {
		{ "title", "<b>\"T\" & 'U'</b>" },
		{ "x", "<script>alert(\"1\")</script>" },
		{ "q", "\" onmouseover='evil()' a=\"" },
	};

	check_render("{{x}}", v, 3,
	    "<t>&lt;b&gt;&quot;T&quot; &amp; &#39;U&#39;&lt;/b&gt;</t>"
	    "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;</b>");
	check_render("<a title=\"{{q}}\">", v, 3,
	    "<t>&lt;b&gt;&quot;T&quot; &amp; &#39;U&#39;&lt;/b&gt;</t>"
	    "<a title=\"&quot; onmouseover=&#39;evil()&#39; a=&quot;\"></b>");
	/* Text outside tags is copied as is, braces included. */
	check_render("a { b } c}} {d", NULL, 0, "<t></t>a { b } c}} {d</b>");
	/* Spaces inside a tag are allowed. */
	check_render("[{{ x }}]", v + 1, 1, "<t></t>[&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;]</b>");
}

static void
test_missing(void)
{
	struct tmpl_var v[] = { { "a", NULL }, { "b", "" }, { "c", "C" }, { NULL, "x" } };

	check_render("[{{a}}|{{b}}|{{c}}|{{d}}]", v, 4, "<t></t>[||C|]</b>");
	check_render("[{{a}}]", NULL, 0, "<t></t>[]</b>");
	/* The first of two equal names wins. */
	struct tmpl_var dup[] = { { "a", "1" }, { "a", "2" } };
	check_render("{{a}}", dup, 2, "<t></t>1</b>");
}

static void
test_sections(void)
{
	const char *src = "{{#a}}yes {{a}}{{/a}}{{^a}}no{{/a}}";
	struct tmpl_var set[] = { { "a", "A" } }, empty[] = { { "a", "" } }, null[] = { { "a", NULL } };

	check_render(src, set, 1, "<t></t>yes A</b>");
	check_render(src, empty, 1, "<t></t>no</b>");
	check_render(src, null, 1, "<t></t>no</b>");
	check_render(src, NULL, 0, "<t></t>no</b>");
	/* Empty sections and sections at the very start and end. */
	check_render("{{#a}}{{/a}}{{^a}}{{/a}}", set, 1, "<t></t></b>");
	/* Section tags alone on their lines take the line with them (Mustache's standalone rule)... */
	const char *lines = "<p>\n  {{#a}}  \n  <i>{{a}}</i>\n\t{{/a}}\r\n{{^a}}\nnone\n{{/a}}\n</p>\n";
	check_render(lines, set, 1, "<t></t><p>\n  <i>A</i>\n</p>\n</b>");
	check_render(lines, NULL, 0, "<t></t><p>\nnone\n</p>\n</b>");
	check_render("{{#a}}\nx\n{{/a}}", set, 1, "<t></t>x\n</b>");
	/* ...but not when they share the line with text or another tag, and variables never do. */
	check_render("x {{#a}}\ny{{/a}} z\n", set, 1, "<t></t>x \ny z\n</b>");
	check_render("{{a}}{{#a}}\n{{/a}}\n", set, 1, "<t></t>A\n</b>");
	check_render("{{a}}\n", set, 1, "<t></t>A\n</b>");
	check_render("\n{{#a}}\n{{/a}}\n{{a}}\n", set, 1, "<t></t>\nA\n</b>");
}

static void
test_nesting(void)
{
	const char *src = "<{{#a}}[{{#b}}ab{{/b}}{{^b}}a-{{/b}}{{#c}}c{{/c}}]{{/a}}{{^a}}{{#b}}b-only{{/b}}{{/a}}>";
	struct tmpl_var ab[] = { { "a", "1" }, { "b", "1" } }, a[] = { { "a", "1" } }, b[] = { { "b", "1" } };
	struct tmpl_var abc[] = { { "a", "1" }, { "b", "1" }, { "c", "1" } };

	check_render(src, ab, 2, "<t></t><[ab]></b>");
	check_render(src, a, 1, "<t></t><[a-]></b>");
	check_render(src, b, 1, "<t></t><b-only></b>");
	check_render(src, abc, 3, "<t></t><[abc]></b>");
	check_render(src, NULL, 0, "<t></t><></b>");
	/* The same name nested in itself. */
	check_render("{{#a}}1{{#a}}2{{/a}}3{{/a}}", a, 1, "<t></t>123</b>");
	/* Sections in the layout see the page's variables. */
	struct tmpl_set *t;
	struct buf out;
	dir_new();
	file_puts("layout.html", "{{#title}}{{title}} - {{/title}}site|{{{content}}}");
	file_puts("p.html", "body");
	t = tmpl_load(tdir);
	dir_remove();
	CHECK(t != NULL);
	buf_init(&out);
	CHECK(tmpl_render(t, "p", a, 1, &out) == 0);
	CHECK_STR(out.data, "site|body");
	struct tmpl_var title[] = { { "title", "Hi" } };
	CHECK(tmpl_render(t, "p", title, 1, &out) == 0);
	CHECK_STR(out.data, "site|bodyHi - site|body");
	buf_release(&out);
	tmpl_free(t);
}

static void
test_loops(void)
{
	const char *src = "{{*rows}}[{{name}}{{#on}}+{{/on}}{{^on}}-{{/on}}{{*tags}}<{{t}}|{{name}}>{{/tags}}]{{/rows}}";
	struct tmpl_var v[] = { { "rows", "[{\"name\":\"a<b\",\"on\":true,\"tags\":[{\"t\":\"x\"},{\"t\":1}]},"
		                          "{\"name\":\"c\",\"on\":false,\"tags\":[]},{\"on\":\"\"}]" },
		{ "name", "outer" } };

	/* Members escaped, sections on members, nested lists, and names missing in an element found outside. */
	check_render(src, v, 2, "<t></t>[a&lt;b+<x|a&lt;b><1|a&lt;b>][c-][outer-]</b>");
	/* Missing, "" and [] are empty lists (as are null and false members). */
	struct tmpl_var empty[] = { { "rows", "" } }, null[] = { { "rows", "null" } }, none[] = { { "rows", "[]" } };
	check_render(src, NULL, 0, "<t></t></b>");
	check_render(src, empty, 1, "<t></t></b>");
	check_render(src, none, 1, "<t></t></b>");
	CHECK(render(src, null, 1) == NULL); /* a variable's JSON text must be an array */
	/* A value that is not a JSON array is the caller's bug: the render fails. */
	struct tmpl_var bad[] = { { "rows", "{\"a\":1}" } }, junk[] = { { "rows", "[1," } };
	struct tmpl_var notlist[] = { { "rows", "[{\"tags\":\"x\"}]" } };
	CHECK(render(src, bad, 1) == NULL);
	CHECK(render(src, junk, 1) == NULL);
	CHECK(render(src, notlist, 1) == NULL);
	/* Elements that are not objects still repeat the body; a list section is true when not empty. */
	struct tmpl_var nums[] = { { "rows", "[1,2,3]" }, { "name", "n" } };
	check_render("{{*rows}}{{name}}{{/rows}}{{#rows}}!{{/rows}}", nums, 2, "<t></t>nnn!</b>");
	check_render("{{#rows}}!{{/rows}}{{^rows}}none{{/rows}}", none, 1, "<t></t>!</b>");
	/* Standalone loop tags take their lines. */
	struct tmpl_var two[] = { { "rows", "[{\"name\":\"a\"},{\"name\":\"b\"}]" } };
	check_render("<ul>\n{{*rows}}\n<li>{{name}}</li>\n{{/rows}}\n</ul>\n", two, 1,
	    "<t></t><ul>\n<li>a</li>\n<li>b</li>\n</ul>\n</b>");
	/* Syntax: loops close like sections and count toward the nesting limit. */
	CHECK(load_fails("{{*a}}x", "p.html:1: {{*a}} of line 1 is never closed"));
	CHECK(load_fails("{{*a}}\n{{/b}}", "p.html:2: {{/b}} does not match {{*a}} of line 1"));
	CHECK(load_fails("{{*}}{{/}}", "p.html:1: bad tag"));
	/* Deep JSON is refused before parsing. */
	struct tmpl_var deep[] = { { "rows", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]" } };
	CHECK(render(src, deep, 1) == NULL);
}

static void
test_syntax(void)
{
	char deep[512];
	size_t i, off = 0;

	CHECK(load_fails("{{#a}}x", "p.html:1: {{#a}} of line 1 is never closed"));
	CHECK(load_fails("line1\nline2\n{{#a}}\n\n", "p.html:5: {{#a}} of line 3 is never closed"));
	CHECK(load_fails("x\n{{/a}}", "p.html:2: {{/a}} closes no section"));
	CHECK(load_fails("{{#a}}\n{{/b}}", "p.html:2: {{/b}} does not match {{#a}} of line 1"));
	CHECK(load_fails("{{#a}}{{^b}}{{/a}}{{/b}}", "p.html:1:"));
	CHECK(load_fails("{{^a}}{{/a}}{{/a}}", "p.html:1:"));
	CHECK(load_fails("\n\n{{!comment}}", "p.html:3: bad tag"));
	CHECK(load_fails("{{>partial}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{&raw}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{=<% %>=}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{{raw}}}", "p.html:1: raw output"));
	CHECK(load_fails("{{{content}}}", "p.html:1: raw output"));
	CHECK(load_fails("{{{content}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{ }}", "p.html:1: bad tag"));
	CHECK(load_fails("{{#}}{{/}}", "p.html:1: bad tag"));
	CHECK(load_fails("x {{a", "p.html:1: bad tag"));
	CHECK(load_fails("{{a}", "p.html:1: bad tag"));
	CHECK(load_fails("{{a\n}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{a-b}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{a.b}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{a b}}", "p.html:1: bad tag"));
	CHECK(load_fails("{{", "p.html:1: bad tag"));
	CHECK(load_fails("{{#a}}{{/a }", "p.html:1: bad tag"));
	/* A NUL byte in a template. */
	dir_new();
	file_puts("layout.html", LAYOUT_MIN);
	file_put("p.html", "a\0b", 3);
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	/* Nesting: 16 levels load, 17 do not. */
	for (i = 0; i < 16; i++)
		off += (size_t)snprintf(deep + off, sizeof(deep) - off, "{{#a}}");
	for (i = 0; i < 16; i++)
		off += (size_t)snprintf(deep + off, sizeof(deep) - off, "{{/a}}");
	struct tmpl_set *t = load_page(deep);
	CHECK(t != NULL);
	tmpl_free(t);
	snprintf(deep, sizeof(deep), "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
	    "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}");
	CHECK(load_fails(deep, "p.html:1: sections nested deeper"));
}

static void
test_layout_rules(void)
{
	struct tmpl_set *t;

	/* No layout at all. */
	dir_new();
	file_puts("p.html", "x");
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	/* A layout without its slot, or with two. */
	dir_new();
	file_puts("layout.html", "<html></html>");
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	dir_new();
	file_puts("layout.html", "{{{content}}}{{{content}}}");
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	/* A syntax error in the layout. */
	dir_new();
	file_puts("layout.html", "{{#title}}{{{content}}}");
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	/* A missing directory. */
	CHECK(tmpl_load("/nonexistent/anchorid-www") == NULL);
	/* An oversized template. */
	char *big = malloc(TMPL_MAX_FILE + 2);
	CHECK(big != NULL);
	memset(big, 'x', TMPL_MAX_FILE + 1);
	big[TMPL_MAX_FILE + 1] = '\0';
	dir_new();
	file_puts("layout.html", LAYOUT_MIN);
	file_put("p.html", big, TMPL_MAX_FILE);
	t = tmpl_load(tdir);
	CHECK(t != NULL);
	tmpl_free(t);
	file_put("p.html", big, TMPL_MAX_FILE + 1);
	CHECK(tmpl_load(tdir) == NULL);
	dir_remove();
	free(big);
	tmpl_free(NULL);
}

static void
test_render_errors(void)
{
	struct tmpl_set *t;
	struct buf out;

	t = load_page("x");
	CHECK(t != NULL);
	buf_init(&out);
	CHECK(tmpl_render(t, "nope", NULL, 0, &out) == -1);
	CHECK(tmpl_render(t, "layout", NULL, 0, &out) == -1);
	CHECK(tmpl_render(t, "p.html", NULL, 0, &out) == -1);
	CHECK(tmpl_render(t, "../p", NULL, 0, &out) == -1);
	CHECK(tmpl_render(NULL, "p", NULL, 0, &out) == -1);
	CHECK(out.len == 0);
	buf_release(&out);
	tmpl_free(t);
}

static void
test_output_cap(void)
{
	struct tmpl_set *t;
	struct buf out;
	char *v;
	size_t n = 100 * 1024;

	t = load_page("{{v}}{{v}}{{#v}}{{v}}{{/v}}");
	CHECK(t != NULL);
	if ((v = malloc(TMPL_MAX_OUTPUT + 1)) == NULL)
		exit(1);
	memset(v, 'a', n);
	v[n] = '\0';
	struct tmpl_var vars[] = { { "v", v } };
	buf_init(&out);
	/* 300 KiB > TMPL_MAX_OUTPUT: refused, nothing appended. */
	CHECK(tmpl_render(t, "p", vars, 1, &out) == -1);
	CHECK(out.len == 0 && !out.err);
	/* 3 x 80 KiB plus the layout fits. */
	v[80 * 1024] = '\0';
	CHECK(tmpl_render(t, "p", vars, 1, &out) == 0);
	CHECK(out.len == 3 * 80 * 1024 + strlen("<t></t></b>"));
	buf_release(&out);
	/* Escaping counts: 60 Ki '&' become 300 KiB. */
	memset(v, '&', 60 * 1024);
	v[60 * 1024] = '\0';
	tmpl_free(t);
	t = load_page("{{v}}");
	CHECK(tmpl_render(t, "p", vars, 1, &out) == -1);
	CHECK(out.len == 0);
	/* The layout's share counts too: a page just under the cap overflows with the layout around it. */
	memset(v, 'b', TMPL_MAX_OUTPUT - 3);
	v[TMPL_MAX_OUTPUT - 3] = '\0';
	CHECK(tmpl_render(t, "p", vars, 1, &out) == -1);
	CHECK(out.len == 0);
	/* And the caller's own limit on ${out} is respected. */
	v[10] = '\0';
	out.max = 5;
	CHECK(tmpl_render(t, "p", vars, 1, &out) == -1);
	out.max = 0;
	buf_release(&out);
	free(v);
	tmpl_free(t);
}

static void
test_assets(void)
{
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0 };
	struct tmpl_set *t;
	const char *ctype, *p;
	char sub[128];
	size_t len;

	dir_new();
	file_puts("layout.html", LAYOUT_MIN);
	file_puts("a.css", "body{}");
	file_puts("i.svg", "<svg/>");
	file_put("p.png", (const char *)png, sizeof(png));
	file_puts("favicon.ico", "ico");
	file_puts("x.js", "alert(1)");
	file_puts("notes.txt", "secret");
	file_puts(".hidden.css", "h{}");
	file_puts("a.css~", "backup");
	snprintf(sub, sizeof(sub), "%s/sub", tdir);
	CHECK(mkdir(sub, 0700) == 0);
	file_puts("sub/s.css", "s{}");
	t = tmpl_load(tdir);
	dir_remove();
	CHECK(t != NULL);

	p = tmpl_asset(t, "a.css", &len, &ctype);
	CHECK(p != NULL && len == 6 && memcmp(p, "body{}", 6) == 0);
	CHECK_STR(ctype, "text/css");
	p = tmpl_asset(t, "i.svg", &len, &ctype);
	CHECK(p != NULL && len == 6);
	CHECK_STR(ctype, "image/svg+xml");
	p = tmpl_asset(t, "p.png", &len, &ctype);
	CHECK(p != NULL && len == sizeof(png) && memcmp(p, png, sizeof(png)) == 0);
	CHECK_STR(ctype, "image/png");
	p = tmpl_asset(t, "favicon.ico", NULL, &ctype);
	CHECK(p != NULL);
	CHECK_STR(ctype, "image/x-icon");
	CHECK(tmpl_asset(t, "favicon.ico", &len, NULL) != NULL && len == 3);

	/* Scripts are served (the form_post page's one static script), as text/javascript. */
	p = tmpl_asset(t, "x.js", &len, &ctype);
	CHECK(p != NULL && len == 8);
	CHECK_STR(ctype, "text/javascript");
	/* Only exact top-level names of served types. */
	CHECK(tmpl_asset(t, "notes.txt", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, ".hidden.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "a.css~", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "sub/s.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "s.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "../a.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "./a.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "/a.css", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "A.CSS", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "", &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, NULL, &len, &ctype) == NULL);
	CHECK(tmpl_asset(t, "layout.html", &len, &ctype) == NULL);
	CHECK(tmpl_asset(NULL, "a.css", &len, &ctype) == NULL);
	tmpl_free(t);
}

/* ------------------------------------------------------------------------------------- the real www/ */

#define WWW "www"

/* Every variable any page uses, with hostile values where a value reaches HTML. */
static const struct tmpl_var www_vars[] = {
	{ "title", "Title<script>" },
	{ "identifier", "alice.example.org\"><script>x</script>" },
	{ "csrf", "CSRF-TOKEN" },
	{ "req", "REQ-ID" },
	{ "error", "Wrong <password>" },
	{ "client_name", "Example \"RP\"" },
	{ "client_host", "rp.example" },
	{ "token", "SETUP-TOKEN" },
	{ "min_length", "12" },
	{ "message", "Something <b>bad</b>" },
	{ "post_logout_redirect_uri", "https://rp.example/bye?a=1&b=2" },
	{ "state", "STATE'1" },
	{ "client_id", "CLIENT-ID" },
	{ "action", "https://rp.example/cb" },
	{ "code", "CODE-1" },
	{ "iss", "https://id.example" },
	{ "error_description", "The user said no" },
};
#define WWW_NVARS (sizeof(www_vars) / sizeof(www_vars[0]))

static char *
www_render(struct tmpl_set *t, const char *name, const struct tmpl_var *vars, size_t n)
{
	struct buf b;
	char *s = NULL;

	buf_init(&b);
	if (tmpl_render(t, name, vars, n, &b) == 0)
		s = buf_steal(&b);
	buf_release(&b);
	if (s == NULL)
		fprintf(stderr, "www/%s.html does not render\n", name);
	return (s);
}

/* What every rendered page must satisfy: a complete document, no template syntax left, no script, no inline
 * style (the CSP forbids both), no unescaped value. */
static void
www_check_page(const char *name, const char *s)
{
	int before = test_failures;

	if (s == NULL) {
		CHECK(s != NULL);
		return;
	}
	CHECK(strncmp(s, "<!DOCTYPE html>", 15) == 0);
	CHECK(strstr(s, "<html lang=\"en\">") != NULL);
	CHECK(strstr(s, "<link rel=\"stylesheet\" href=\"/static/style.css\">") != NULL);
	CHECK(strstr(s, "<title>Title&lt;script&gt; · anchorid</title>") != NULL);
	CHECK(strstr(s, "{{") == NULL && strstr(s, "}}") == NULL);
	/* No inline script anywhere; the form_post page may load the one static script (CSP script-src 'self'). */
	if (strcmp(name, "form_post") == 0)
		CHECK(strstr(s, "<script src=\"/static/autosubmit.js\"></script>") != NULL);
	else
		CHECK(strstr(s, "<script") == NULL);
	CHECK(strstr(s, "<script>") == NULL);
	CHECK(strstr(s, "<style") == NULL && strstr(s, " style=") == NULL);
	CHECK(strstr(s, "<main") != NULL && strstr(s, "</html>") != NULL);
	if (test_failures != before)
		fprintf(stderr, "in www/%s.html\n", name);
}

static void
test_www_every_page(void)
{
	struct tmpl_set *t;
	struct dirent *de;
	DIR *d;
	char name[128], *s;
	size_t len, pages = 0;

	CHECK((t = tmpl_load(WWW)) != NULL);
	CHECK((d = opendir(WWW)) != NULL);
	if (t == NULL || d == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".html") != 0 || strcmp(de->d_name, "layout.html") == 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
		/* With every variable set, and with none. */
		s = www_render(t, name, www_vars, WWW_NVARS);
		www_check_page(name, s);
		free(s);
		s = www_render(t, name, NULL, 0);
		CHECK(s != NULL && strstr(s, "{{") == NULL && strstr(s, "<title>anchorid</title>") != NULL);
		free(s);
		pages++;
	}
	CHECK(pages >= 8);
	const char *css, *ctype;
	CHECK((css = tmpl_asset(t, "style.css", &len, &ctype)) != NULL);
	CHECK_STR(ctype, "text/css");
	CHECK(css != NULL && strstr(css, "prefers-color-scheme: dark") != NULL && strstr(css, ":focus-visible"));
out:
	if (d != NULL)
		closedir(d);
	tmpl_free(t);
}

static bool
has(const char *s, const char *needle)
{
	if (s != NULL && strstr(s, needle) != NULL)
		return (true);
	fprintf(stderr, "missing: %s\n", needle);
	return (false);
}

static void
test_www_pages(void)
{
	struct tmpl_set *t;
	char *s;

	CHECK((t = tmpl_load(WWW)) != NULL);
	if (t == NULL)
		return;

	s = www_render(t, "login", www_vars, WWW_NVARS);
	CHECK(has(s, "<form method=\"post\" action=\"/login\">"));
	CHECK(has(s, "name=\"identifier\" type=\"text\" value=\"alice.example.org&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
	CHECK(has(s, "autocomplete=\"username\""));
	CHECK(has(s, "name=\"password\" type=\"password\" autocomplete=\"current-password\""));
	CHECK(has(s, "<input type=\"hidden\" name=\"csrf\" value=\"CSRF-TOKEN\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"req\" value=\"REQ-ID\">"));
	CHECK(has(s, "<p class=\"error\" role=\"alert\">Wrong &lt;password&gt;</p>"));
	CHECK(has(s, "to continue to Example &quot;RP&quot; (rp.example)"));
	CHECK(has(s, "<label for=\"identifier\">") && has(s, "<label for=\"password\">"));
	CHECK(has(s, ">Log in</button>"));
	free(s);
	s = www_render(t, "login", www_vars + 2, 2);
	CHECK(s != NULL && strstr(s, "class=\"error\"") == NULL && strstr(s, "to continue to") == NULL);
	free(s);

	s = www_render(t, "setup", www_vars, WWW_NVARS);
	CHECK(has(s, "<form method=\"post\" action=\"/setup\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"t\" value=\"SETUP-TOKEN\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"csrf\" value=\"CSRF-TOKEN\">"));
	CHECK(has(s, "name=\"password\" type=\"password\" autocomplete=\"new-password\""));
	CHECK(has(s, "name=\"password2\" type=\"password\" autocomplete=\"new-password\""));
	CHECK(has(s, "at least 12 characters"));
	CHECK(has(s, "alice.example.org&quot;&gt;&lt;script&gt;"));
	CHECK(has(s, "role=\"alert\">Wrong &lt;password&gt;"));
	CHECK(has(s, ">Set password</button>"));
	free(s);

	s = www_render(t, "setup_done", www_vars, WWW_NVARS);
	CHECK(has(s, "Your password is set") && has(s, "alice.example.org&quot;"));
	free(s);

	s = www_render(t, "consent", www_vars, WWW_NVARS);
	CHECK(has(s, "Example &quot;RP&quot;") && has(s, "rp.example"));
	CHECK(has(s, "<form method=\"post\" action=\"/consent\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"csrf\" value=\"CSRF-TOKEN\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"req\" value=\"REQ-ID\">"));
	CHECK(has(s, "name=\"decision\" value=\"allow\">Allow</button>"));
	CHECK(has(s, "name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>"));
	CHECK(has(s, "will receive your identifier"));
	free(s);

	/* The per-claim consent page (drafts/claims.md §3): the lists come as JSON, every value escaped. */
	struct tmpl_var cv[] = { { "title", "T" }, { "csrf", "CSRF-TOKEN" }, { "req", "REQ-ID" },
		{ "client_host", "rp.example" }, { "unnamed", "A website that did not give its name" },
		{ "claims", "[{\"name\":\"email\",\"label\":\"E-mail address\",\"essential\":true,\"checked\":true,"
		            "\"reason\":\"<script>x</script>\"},{\"name\":\"x\\\"y\",\"label\":\"x\\\"y\",\"essential\":false,"
		            "\"checked\":false}]" },
		{ "unavailable", "[{\"label\":\"Telephone <number>\"}]" }, { "unavailable_why", "Not offered." } };
	s = www_render(t, "consent", cv, sizeof(cv) / sizeof(cv[0]));
	CHECK(has(s, "<h1 class=\"client unnamed\">A website that did not give its name</h1>"));
	CHECK(has(s, "<input type=\"checkbox\" id=\"claim-email\" name=\"claim\" value=\"email\" checked>"));
	CHECK(has(s, "<input type=\"checkbox\" id=\"claim-x&quot;y\" name=\"claim\" value=\"x&quot;y\">"));
	CHECK(has(s, "E-mail address <span class=\"badge\">required by the website</span></label>"));
	CHECK(has(s, "<p class=\"reason\">“&lt;script&gt;x&lt;/script&gt;”</p>"));
	CHECK(has(s, "<li>Telephone &lt;number&gt;</li>") && has(s, "Not offered."));
	CHECK(has(s, "name=\"decision\" value=\"allow\">Allow selected</button>"));
	CHECK(s != NULL && strstr(s, "<script>") == NULL);
	free(s);

	/* The account page (drafts/claims.md §6). */
	struct tmpl_var av[] = { { "title", "T" }, { "csrf", "CSRF-TOKEN" }, { "identifier", "alice.example" },
		{ "notice", "Done <b>" }, { "unnamed", "Unnamed" },
		{ "rps", "[{\"client_id\":\"C1\",\"rp_name\":\"Shop <i>\",\"host\":\"shop.example\",\"claims\":"
		         "[{\"name\":\"email\",\"label\":\"E-mail address\",\"granted\":true},"
		         "{\"name\":\"name\",\"label\":\"Full name\",\"granted\":false}]},"
		         "{\"client_id\":\"C2\",\"rp_name\":null,\"host\":\"x.example\",\"claims\":[]}]" },
		{ "sessions", "[{\"id\":\"H1\",\"auth_time\":\"2026-01-01 10:00 UTC\",\"expires\":\"E1\",\"current\":true},"
		              "{\"id\":\"H2\",\"auth_time\":\"A2\",\"expires\":\"E2\",\"current\":false}]" } };
	s = www_render(t, "account", av, sizeof(av) / sizeof(av[0]));
	CHECK(has(s, "<p class=\"notice\" role=\"status\">Done &lt;b&gt;</p>"));
	CHECK(has(s, "<h3 class=\"client\">Shop &lt;i&gt;</h3>") && has(s, "<h3 class=\"client unnamed\">Unnamed</h3>"));
	CHECK(has(s, "<input type=\"hidden\" name=\"client_id\" value=\"C1\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"client_id\" value=\"C2\">"));
	CHECK(has(s, "name=\"revoke\" value=\"email\""));
	CHECK(s != NULL && strstr(s, "name=\"revoke\" value=\"name\"") == NULL);
	CHECK(has(s, "<span class=\"state refused\">not shared</span>"));
	CHECK(has(s, "name=\"end\" value=\"H1\"") && has(s, "name=\"end\" value=\"H2\""));
	CHECK(has(s, "<strong class=\"badge\">this session</strong>"));
	/* Every form of the page carries the CSRF token: two relying parties and the sessions. */
	size_t forms = 0, tokens = 0;
	for (const char *q = s; q != NULL && (q = strstr(q, "<form method=\"post\" action=\"/account\">")) != NULL; q++)
		forms++;
	for (const char *q = s; q != NULL && (q = strstr(q, "name=\"csrf\" value=\"CSRF-TOKEN\"")) != NULL; q++)
		tokens++;
	CHECK(forms == 3 && tokens == 3);
	free(s);

	s = www_render(t, "error", www_vars, WWW_NVARS);
	CHECK(has(s, "<h1>Title&lt;script&gt;</h1>") && has(s, "Something &lt;b&gt;bad&lt;/b&gt;"));
	CHECK(s != NULL && strstr(s, "<a ") == NULL && strstr(s, "rp.example") == NULL);
	free(s);

	s = www_render(t, "logout", www_vars, WWW_NVARS);
	CHECK(has(s, "Log out of anchorid?") && has(s, "<form method=\"post\" action=\"/logout\">"));
	/* The validated return address travels signed, in one field. */
	CHECK(has(s, "name=\"req\" value=\"REQ-ID\""));
	CHECK(strstr(s, "post_logout_redirect_uri") == NULL && strstr(s, "name=\"client_id\"") == NULL);
	CHECK(has(s, "name=\"csrf\" value=\"CSRF-TOKEN\"") && has(s, ">Log out</button>"));
	CHECK(has(s, "Example &quot;RP&quot;"));
	free(s);
	s = www_render(t, "logout", www_vars + 2, 1);
	CHECK(s != NULL && strstr(s, "name=\"req\"") == NULL);
	free(s);

	s = www_render(t, "logged_out", www_vars, WWW_NVARS);
	CHECK(has(s, "You are logged out."));
	free(s);

	s = www_render(t, "form_post", www_vars, WWW_NVARS);
	CHECK(has(s, "<form method=\"post\" action=\"https://rp.example/cb\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"code\" value=\"CODE-1\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"state\" value=\"STATE&#39;1\">"));
	CHECK(has(s, "<input type=\"hidden\" name=\"iss\" value=\"https://id.example\">"));
	CHECK(has(s, ">Continue</button>"));
	free(s);
	/* A success without state; an error response. */
	struct tmpl_var ok[] = { { "action", "https://rp/cb" }, { "code", "C" }, { "iss", "https://id" } };
	s = www_render(t, "form_post", ok, 3);
	CHECK(s != NULL && strstr(s, "name=\"state\"") == NULL && strstr(s, "name=\"error") == NULL);
	free(s);
	struct tmpl_var err[] = { { "action", "https://rp/cb" }, { "error", "access_denied" }, { "state", "S" },
	    { "iss", "https://id" } };
	s = www_render(t, "form_post", err, 4);
	CHECK(has(s, "name=\"error\" value=\"access_denied\"") && has(s, "name=\"state\" value=\"S\""));
	CHECK(s != NULL && strstr(s, "name=\"code\"") == NULL && strstr(s, "error_description") == NULL);
	free(s);
	tmpl_free(t);
}

int
main(void)
{
	TEST_RUN(test_escape);
	TEST_RUN(test_missing);
	TEST_RUN(test_sections);
	TEST_RUN(test_nesting);
	TEST_RUN(test_loops);
	TEST_RUN(test_syntax);
	TEST_RUN(test_layout_rules);
	TEST_RUN(test_render_errors);
	TEST_RUN(test_output_cap);
	TEST_RUN(test_assets);
	TEST_RUN(test_www_every_page);
	TEST_RUN(test_www_pages);
	return (TEST_EXIT());
}
