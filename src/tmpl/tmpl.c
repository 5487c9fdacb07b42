/*
 * tmpl.c: HTML pages and static assets from www/, read and parsed once at start-up.
 *
 * The syntax is the Mustache subset of include/tmpl.h ({{name}}, {{#name}}, {{^name}}, {{/name}}, and the one
 * raw slot {{{content}}} of layout.html), plus one loop:
 *
 *   {{*name}} ... {{/name}}  the block once per element of the JSON array that the variable holds (its value is
 *                            JSON text, e.g. from json_dumps; missing or "" is an empty list).  Inside, names are
 *                            looked up first in the current element (an object), then in the enclosing loops'
 *                            elements, then in the variables.  A member that is a string or an integer prints
 *                            (escaped, like every value); true, a non-empty string, a number, a non-empty array
 *                            and an object open {{#name}}; an array member is a nested {{*name}}.
 *
 * Lists are data, not markup: the pages' HTML stays in www/ and every value still goes through the escaping
 * below, so there is still no raw output.  Mustache's other tags (comments, partials, {{&raw}}, delimiter
 * changes) fail the load, as do unbalanced sections and unterminated tags, with file:line logged.  Each template
 * becomes a flat node list in which a section node records how many nodes its body spans: a false section is
 * skipped by jumping over its body, a true one simply continues into it, and the closing tag leaves no node at
 * all; a loop runs its body's nodes once per element (recursion as deep as loops nest, at most TMPL_MAX_DEPTH).
 * As in Mustache, a section tag alone on its line takes the whole line with it, so the pages come out without
 * blank lines where sections were.
 *
 * Lookup of pages and assets is by exact name in the loaded tables; nothing is read from disk after tmpl_load,
 * so a request cannot name a file (no path traversal, no subdirectories).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "tmpl.h"
#include "util.h"

#define TMPL_MAX_FILES 256   /* a www/ directory holds a dozen files; more is a deployment mistake */
#define TMPL_MAX_DEPTH 16    /* nested sections and loops; the pages use three */
#define TMPL_MAX_NAME 64     /* a variable or file name */
#define TMPL_LAYOUT "layout" /* the frame every page is rendered into */
#define TMPL_SLOT "content"  /* the layout's one pre-escaped slot */

enum tmpl_node_type {
	TMPL_TEXT,        /* literal bytes */
	TMPL_VAR,         /* {{name}}: the escaped value */
	TMPL_SECTION,     /* {{#name}}: the body when the value is present and non-empty */
	TMPL_INVERTED,    /* {{^name}}: the body when the value is missing or empty */
	TMPL_LOOP,        /* {{*name}}: the body once per element of the JSON array */
	TMPL_SLOT_CONTENT /* {{{content}}}: the rendered page (layout.html only) */
};

struct tmpl_node {
	enum tmpl_node_type type;
	const char *str; /* TEXT: the bytes; VAR, SECTION, INVERTED, LOOP: the name; both point into tmpl_page.src */
	size_t len;      /* length of ${str} */
	size_t body;     /* SECTION, INVERTED, LOOP: how many nodes after this one form the body */
};

struct tmpl_page {
	char *name; /* file name without ".html", e.g. "login" */
	char *src;  /* the file's bytes, NUL-terminated; the nodes point into them */
	struct tmpl_node *nodes;
	size_t n;   /* nodes in use */
	size_t cap; /* nodes allocated */
};

struct tmpl_file {
	char *name; /* file name, e.g. "style.css" */
	char *data; /* the bytes (NUL-terminated for convenience) */
	size_t len;
	const char *ctype; /* static string: the Content-Type */
};

struct tmpl_set {
	struct tmpl_page *pages;
	size_t npages;
	struct tmpl_file *assets;
	size_t nassets;
	const struct tmpl_page *layout; /* one of ${pages} */
};

/* The asset types served; any other file in the directory is ignored. */
static const struct {
	const char *ext;
	const char *ctype;
} tmpl_types[] = {
	{ ".css", "text/css" },
	{ ".svg", "image/svg+xml" },
	{ ".js", "text/javascript" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
};

/* Where a parse error is reported. */
struct tmpl_pos {
	const char *dir;
	const char *file;
};

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return (n > m && strcmp(s + n - m, suffix) == 0);
}

/* File names: letters, digits, '-', '_', '.', not starting with '.' (no hidden files, no "..", no '/'). */
static bool
name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.' || strlen(s) > TMPL_MAX_NAME)
		return (false);
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		        s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return (false);
	}
	return (true);
}

static bool
var_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
}

/* Read the regular file ${name} of the directory ${dfd} (at most TMPL_MAX_FILE bytes) into a NUL-terminated
 * heap copy. */
static char *
file_read(int dfd, const char *dir, const char *name, size_t *lenp)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	ssize_t r;
	int fd = -1;

	/* O_NONBLOCK: a FIFO planted in www/ must not hang start-up; it fails the S_ISREG check below. */
	if ((fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		log_warn("%s/%s", dir, name);
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s/%s", dir, name);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s/%s: not a regular file", dir, name);
		goto fail;
	}
	if (st.st_size > TMPL_MAX_FILE) {
		log_warnx("%s/%s: larger than %d bytes", dir, name, TMPL_MAX_FILE);
		goto fail;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warn("%s/%s", dir, name);
		goto fail;
	}
	/* Read until EOF, not st_size bytes: the file may change under us; never beyond the limit. */
	for (;;) {
		if (len == (size_t)st.st_size) {
			char extra;

			if ((r = read(fd, &extra, 1)) == -1 && errno == EINTR)
				continue;
			if (r != 0) {
				log_warnx("%s/%s: changed while being read", dir, name);
				goto fail;
			}
			break;
		}
		if ((r = read(fd, data + len, (size_t)st.st_size - len)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s/%s", dir, name);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	close(fd);
	*lenp = len;
	return (data);
fail:
	free(data);
	if (fd != -1)
		close(fd);
	return (NULL);
}

static int
page_add_node(struct tmpl_page *p, enum tmpl_node_type type, const char *str, size_t len)
{
	struct tmpl_node *nodes;
	size_t cap;

	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 32;
		if ((nodes = realloc(p->nodes, cap * sizeof(*nodes))) == NULL) {
			log_warn("tmpl");
			return (-1);
		}
		p->nodes = nodes;
		p->cap = cap;
	}
	p->nodes[p->n].type = type;
	p->nodes[p->n].str = str;
	p->nodes[p->n].len = len;
	p->nodes[p->n].body = 0;
	p->n++;
	return (0);
}

/* Mustache's standalone rule, so that section tags on lines of their own leave no blank lines: when the tag
 * from ${tag} to ${end} is alone on its line (only blanks around it, and no other tag before it on the line,
 * which ${text} marks), return where the line starts and set *${next} past the line's newline. */
static const char *
standalone(const char *src, const char *text, const char *tag, const char *end, const char **next)
{
	const char *ls = tag, *e = end;

	while (ls > text && (ls[-1] == ' ' || ls[-1] == '\t'))
		ls--;
	if (ls != src && ls[-1] != '\n')
		return (NULL);
	while (*e == ' ' || *e == '\t')
		e++;
	if (e[0] == '\r' && e[1] == '\n')
		e++;
	if (*e == '\n')
		e++;
	else if (*e != '\0')
		return (NULL);
	*next = e;
	return (ls);
}

/* The node that the sigil ${c} (# ^ *) opens. */
static enum tmpl_node_type
sigil_type(char c)
{
	return (c == '#' ? TMPL_SECTION : c == '^' ? TMPL_INVERTED : TMPL_LOOP);
}

/* The sigil that opened the section or loop ${o}, for messages. */
static char
node_sigil(const struct tmpl_node *o)
{
	return (o->type == TMPL_SECTION ? '#' : o->type == TMPL_LOOP ? '*' : '^');
}

/*
 * Parse ${p->src} into ${p->nodes}.  A tag is "{{", an optional sigil (# ^ * /), a name of [A-Za-z0-9_] with
 * optional spaces around it, and "}}", all on one line; in layout.html also "{{{content}}}".
 */
static int
page_parse(struct tmpl_page *p, const struct tmpl_pos *pos, bool layout)
{
	struct {
		size_t node; /* index of the section node */
		size_t line; /* where it was opened */
	} open[TMPL_MAX_DEPTH];
	const char *s = p->src, *text, *name, *tag, *text_end, *next;
	const struct tmpl_node *o;
	size_t depth = 0, line = 1, namelen, taglen, slots = 0;
	char sigil;

	text = s;
	while (*s != '\0') {
		if (s[0] != '{' || s[1] != '{') {
			if (*s++ == '\n')
				line++;
			continue;
		}
		tag = s;
		s += 2;
		sigil = '\0';
		if (*s == '#' || *s == '^' || *s == '*' || *s == '/' || *s == '{')
			sigil = *s++;
		while (*s == ' ')
			s++;
		name = s;
		while (var_char(*s))
			s++;
		namelen = (size_t)(s - name);
		while (*s == ' ')
			s++;
		if (namelen == 0 || namelen > TMPL_MAX_NAME || s[0] != '}' || s[1] != '}' ||
		    (sigil == '{' && s[2] != '}')) {
			taglen = strcspn(tag, "\n");
			log_warnx("%s/%s:%zu: bad tag \"%.*s\": only {{name}}, {{#name}}, {{^name}}, {{*name}} and "
			          "{{/name}} are allowed",
			    pos->dir, pos->file, line, (int)(taglen > 40 ? 40 : taglen), tag);
			return (-1);
		}
		next = s + (sigil == '{' ? 3 : 2);
		text_end = tag;
		if (sigil == '#' || sigil == '^' || sigil == '*' || sigil == '/')
			if ((text_end = standalone(p->src, text, tag, next, &next)) == NULL)
				text_end = tag;
		if (text_end > text && page_add_node(p, TMPL_TEXT, text, (size_t)(text_end - text)) == -1)
			return (-1);

		switch (sigil) {
		case '\0':
			if (page_add_node(p, TMPL_VAR, name, namelen) == -1)
				return (-1);
			break;
		case '{':
			/* tmpl.h: there is no raw output except the layout's slot for the rendered page. */
			if (!layout || namelen != strlen(TMPL_SLOT) || memcmp(name, TMPL_SLOT, namelen) != 0) {
				log_warnx("%s/%s:%zu: raw output {{{%.*s}}} is not allowed (only {{{" TMPL_SLOT
				          "}}} in " TMPL_LAYOUT ".html)",
				    pos->dir, pos->file, line, (int)namelen, name);
				return (-1);
			}
			if (page_add_node(p, TMPL_SLOT_CONTENT, name, namelen) == -1)
				return (-1);
			slots++;
			break;
		case '#':
		case '^':
		case '*':
			if (depth == TMPL_MAX_DEPTH) {
				log_warnx("%s/%s:%zu: sections nested deeper than %d", pos->dir, pos->file, line,
				    TMPL_MAX_DEPTH);
				return (-1);
			}
			open[depth].node = p->n;
			open[depth].line = line;
			depth++;
			if (page_add_node(p, sigil_type(sigil), name, namelen) == -1)
				return (-1);
			break;
		case '/':
			if (depth == 0) {
				log_warnx("%s/%s:%zu: {{/%.*s}} closes no section", pos->dir, pos->file, line,
				    (int)namelen, name);
				return (-1);
			}
			depth--;
			o = &p->nodes[open[depth].node];
			if (o->len != namelen || memcmp(o->str, name, namelen) != 0) {
				log_warnx("%s/%s:%zu: {{/%.*s}} does not match {{%c%.*s}} of line %zu", pos->dir,
				    pos->file, line, (int)namelen, name, node_sigil(o), (int)o->len, o->str,
				    open[depth].line);
				return (-1);
			}
			p->nodes[open[depth].node].body = p->n - open[depth].node - 1;
			break;
		}
		/* A standalone tag took its line's newline with it. */
		if (next > s && next[-1] == '\n')
			line++;
		s = text = next;
	}
	if (depth > 0) {
		o = &p->nodes[open[depth - 1].node];
		log_warnx("%s/%s:%zu: {{%c%.*s}} of line %zu is never closed", pos->dir, pos->file, line, node_sigil(o),
		    (int)o->len, o->str, open[depth - 1].line);
		return (-1);
	}
	if (s > text && page_add_node(p, TMPL_TEXT, text, (size_t)(s - text)) == -1)
		return (-1);
	if (layout && slots != 1) {
		log_warnx("%s/%s: needs exactly one {{{" TMPL_SLOT "}}}, has %zu", pos->dir, pos->file, slots);
		return (-1);
	}
	return (0);
}

static void
page_release(struct tmpl_page *p)
{
	free(p->name);
	free(p->src);
	free(p->nodes);
	memset(p, 0, sizeof(*p));
}

static void
file_release(struct tmpl_file *f)
{
	free(f->name);
	free(f->data);
	memset(f, 0, sizeof(*f));
}

/* Load the template ${name} ("x.html") of ${dfd} into a new slot of ${t->pages}. */
static int
set_add_page(struct tmpl_set *t, int dfd, const char *dir, const char *name)
{
	struct tmpl_page *pages, *p;
	struct tmpl_pos pos = { dir, name };
	size_t len;

	if ((pages = realloc(t->pages, (t->npages + 1) * sizeof(*pages))) == NULL) {
		log_warn("tmpl");
		return (-1);
	}
	t->pages = pages;
	p = &t->pages[t->npages];
	memset(p, 0, sizeof(*p));
	t->npages++; /* from here on tmpl_free releases it */
	if ((p->name = xstrndup(name, strlen(name) - strlen(".html"))) == NULL) {
		log_warn("tmpl");
		return (-1);
	}
	if ((p->src = file_read(dfd, dir, name, &len)) == NULL)
		return (-1);
	if (strlen(p->src) != len) {
		log_warnx("%s/%s: contains a NUL byte", dir, name);
		return (-1);
	}
	return (page_parse(p, &pos, strcmp(p->name, TMPL_LAYOUT) == 0));
}

static int
set_add_asset(struct tmpl_set *t, int dfd, const char *dir, const char *name, const char *ctype)
{
	struct tmpl_file *assets, *f;

	if ((assets = realloc(t->assets, (t->nassets + 1) * sizeof(*assets))) == NULL) {
		log_warn("tmpl");
		return (-1);
	}
	t->assets = assets;
	f = &t->assets[t->nassets];
	memset(f, 0, sizeof(*f));
	t->nassets++;
	f->ctype = ctype;
	if ((f->name = xstrdup(name)) == NULL) {
		log_warn("tmpl");
		return (-1);
	}
	if ((f->data = file_read(dfd, dir, name, &f->len)) == NULL)
		return (-1);
	return (0);
}

static const struct tmpl_page *
set_page(const struct tmpl_set *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->npages; i++)
		if (strcmp(t->pages[i].name, name) == 0)
			return (&t->pages[i]);
	return (NULL);
}

/** tmpl_load(dir): read and parse every *.html template and the static assets (*.css, *.svg, *.png, *.ico)
 * of ${dir}; a template with a syntax error fails the load (logged with file and line).  NULL on failure;
 * the caller frees the set with tmpl_free. */
struct tmpl_set *
tmpl_load(const char *dir)
{
	struct tmpl_set *t = NULL;
	struct dirent *de;
	DIR *d = NULL;
	const char *ctype;
	size_t i, files = 0;
	int ret = -1;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("tmpl");
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		log_warn("%s", dir);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_warn("%s", dir);
				goto out;
			}
			break;
		}
		/* Hidden files, editor backups and anything with an odd name are not ours to serve. */
		if (de->d_name[0] == '.')
			continue;
		if (!name_ok(de->d_name)) {
			log_warnx("%s/%s: ignored (unexpected characters in the name)", dir, de->d_name);
			continue;
		}
		ctype = NULL;
		for (i = 0; i < sizeof(tmpl_types) / sizeof(tmpl_types[0]); i++)
			if (has_suffix(de->d_name, tmpl_types[i].ext))
				ctype = tmpl_types[i].ctype;
		if (ctype == NULL && !has_suffix(de->d_name, ".html"))
			continue;
		if (++files > TMPL_MAX_FILES) {
			log_warnx("%s: more than %d templates and assets", dir, TMPL_MAX_FILES);
			goto out;
		}
		if (ctype != NULL) {
			if (set_add_asset(t, dirfd(d), dir, de->d_name, ctype) == -1)
				goto out;
		} else if (set_add_page(t, dirfd(d), dir, de->d_name) == -1)
			goto out;
	}
	if ((t->layout = set_page(t, TMPL_LAYOUT)) == NULL) {
		log_warnx("%s/" TMPL_LAYOUT ".html: missing", dir);
		goto out;
	}
	log_debug("%s: %zu templates, %zu assets", dir, t->npages, t->nassets);
	ret = 0;
out:
	if (d != NULL)
		closedir(d);
	if (ret == -1) {
		tmpl_free(t);
		t = NULL;
	}
	return (t);
}

/** tmpl_free(t): free the set ${t}; NULL is a no-op. */
void
tmpl_free(struct tmpl_set *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npages; i++)
		page_release(&t->pages[i]);
	for (i = 0; i < t->nassets; i++)
		file_release(&t->assets[i]);
	free(t->pages);
	free(t->assets);
	free(t);
}

/* The value of the variable named by ${node} (first match wins), or NULL when missing. */
static const char *
var_lookup(const struct tmpl_node *node, const struct tmpl_var *vars, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (vars[i].name != NULL && strlen(vars[i].name) == node->len &&
		    memcmp(vars[i].name, node->str, node->len) == 0)
			return (vars[i].value);
	}
	return (NULL);
}

/* One rendering: the caller's variables, the layout's slot, and the elements of the loops being run. */
struct tmpl_run {
	const struct tmpl_var *vars;
	size_t n;
	const char *content; /* the rendered page, for the layout's {{{content}}} */
	size_t clen;
	json_t *scope[TMPL_MAX_DEPTH]; /* the current element of each enclosing loop, innermost last (borrowed) */
	size_t depth;
	struct buf *b;
};

/* A value as a page sees it: a member of a loop's element (${j}), else a variable (${s}); both NULL: missing. */
struct tmpl_val {
	json_t *j;
	const char *s;
};

static struct tmpl_val
val_lookup(const struct tmpl_run *run, const struct tmpl_node *node)
{
	struct tmpl_val v = { NULL, NULL };
	char name[TMPL_MAX_NAME + 1];
	size_t k;

	memcpy(name, node->str, node->len); /* node->len <= TMPL_MAX_NAME: checked by page_parse */
	name[node->len] = '\0';
	for (k = run->depth; k > 0; k--)
		if ((v.j = json_object_get(run->scope[k - 1], name)) != NULL)
			return (v);
	v.s = var_lookup(node, run->vars, run->n);
	return (v);
}

/* Does ${v} open a {{#section}}?  Missing, "", null, false and [] do not. */
static bool
val_true(struct tmpl_val v)
{
	if (v.j != NULL) {
		if (json_is_string(v.j))
			return (json_string_length(v.j) > 0);
		if (json_is_array(v.j))
			return (json_array_size(v.j) > 0);
		return (!json_is_false(v.j) && !json_is_null(v.j));
	}
	return (v.s != NULL && *v.s != '\0');
}

/* Print ${v}, escaped: a string or an integer; anything else prints nothing. */
static int
val_print(struct buf *b, struct tmpl_val v)
{
	if (v.j != NULL) {
		if (json_is_string(v.j))
			return (json_string_length(v.j) > 0 ? html_escape(b, json_string_value(v.j)) : 0);
		if (json_is_integer(v.j))
			return (buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v.j)));
		return (0);
	}
	return (v.s != NULL && *v.s != '\0' ? html_escape(b, v.s) : 0);
}

/* The list a {{*loop}} runs over, in *${owned} when it had to be parsed from a variable's JSON text (the caller
 * decrefs it).  NULL for an empty list; -1 (logged) when the value is not a list: a bug in the caller. */
static int
val_list(const struct tmpl_node *node, struct tmpl_val v, json_t **list, json_t **owned)
{
	json_error_t e;

	*list = *owned = NULL;
	if (v.j != NULL) {
		if (json_is_array(v.j))
			*list = v.j;
		else if (!json_is_null(v.j) && !json_is_false(v.j))
			goto bad;
		return (0);
	}
	if (v.s == NULL || *v.s == '\0')
		return (0);
	if (!json_depth_ok(v.s, strlen(v.s), TMPL_MAX_DEPTH) ||
	    (*owned = json_loads(v.s, JSON_REJECT_DUPLICATES, &e)) == NULL || !json_is_array(*owned))
		goto bad;
	*list = *owned;
	return (0);
bad:
	json_decref(*owned);
	*owned = NULL;
	log_warnx("tmpl: {{*%.*s}}: the value is not a JSON array: not rendered", (int)node->len, node->str);
	return (-1);
}

/* Render nodes [${from}, ${to}) of ${p} into run->b.  -1 when the output overflows its limit or a loop's value is
 * not a list. */
static int
page_run_nodes(const struct tmpl_page *p, size_t from, size_t to, struct tmpl_run *run)
{
	const struct tmpl_node *node;
	json_t *list, *owned;
	size_t i, k;
	int r = 0;

	for (i = from; i < to && r == 0; i++) {
		node = &p->nodes[i];
		switch (node->type) {
		case TMPL_TEXT:
			r = buf_append(run->b, node->str, node->len);
			break;
		case TMPL_VAR:
			r = val_print(run->b, val_lookup(run, node));
			break;
		case TMPL_SECTION:
			if (!val_true(val_lookup(run, node)))
				i += node->body;
			break;
		case TMPL_INVERTED:
			if (val_true(val_lookup(run, node)))
				i += node->body;
			break;
		case TMPL_LOOP:
			if ((r = val_list(node, val_lookup(run, node), &list, &owned)) == -1)
				break;
			/* page_parse caps nesting at TMPL_MAX_DEPTH, so the scope never overflows. */
			for (k = 0; list != NULL && k < json_array_size(list) && r == 0; k++) {
				run->scope[run->depth++] = json_array_get(list, k);
				r = page_run_nodes(p, i + 1, i + 1 + node->body, run);
				run->depth--;
			}
			json_decref(owned);
			i += node->body;
			break;
		case TMPL_SLOT_CONTENT:
			if (run->clen > 0)
				r = buf_append(run->b, run->content, run->clen);
			break;
		}
	}
	return (r == 0 && !run->b->err ? 0 : -1);
}

/* Render ${p} into ${b}; ${content} fills {{{content}}}.  -1 when ${b} overflows its limit. */
static int
page_run(
    const struct tmpl_page *p, const struct tmpl_var *vars, size_t n, const char *content, size_t clen, struct buf *b)
{
	struct tmpl_run run = { .vars = vars, .n = n, .content = content, .clen = clen, .depth = 0, .b = b };

	return (page_run_nodes(p, 0, p->n, &run));
}

/** tmpl_render(t, name, vars, n, out): render template ${name} (e.g. "login") inside layout.html into ${out};
 * -1 when ${name} is unknown (or is the layout itself) or the output exceeds TMPL_MAX_OUTPUT; nothing is then
 * appended to ${out}. */
int
tmpl_render(struct tmpl_set *t, const char *name, const struct tmpl_var *vars, size_t n, struct buf *out)
{
	const struct tmpl_page *p;
	struct buf page, full;
	int ret = -1;

	buf_init(&page);
	buf_init(&full);
	page.max = TMPL_MAX_OUTPUT;
	full.max = TMPL_MAX_OUTPUT;
	if (t == NULL || name == NULL || strcmp(name, TMPL_LAYOUT) == 0 || (p = set_page(t, name)) == NULL) {
		log_warnx("tmpl: no template \"%s\"", name != NULL ? name : "(null)");
		goto out;
	}
	if (page_run(p, vars, n, NULL, 0, &page) == -1 ||
	    page_run(t->layout, vars, n, page.data, page.len, &full) == -1) {
		if (page.err || full.err) /* else a list that is not one, logged by val_list */
			log_warnx("tmpl: %s: page larger than %d bytes", name, TMPL_MAX_OUTPUT);
		goto out;
	}
	if (full.len > 0 && buf_append(out, full.data, full.len) == -1) {
		log_warnx("tmpl: %s: no room for the page", name);
		goto out;
	}
	ret = 0;
out:
	buf_release(&page);
	buf_release(&full);
	return (ret);
}

/** tmpl_asset(t, name, len, ctype): the bytes of the static asset ${name} (e.g. "style.css"), by exact name, with
 * their length in *${len} and Content-Type in *${ctype} (either pointer may be NULL); NULL when there is no such
 * asset.  The bytes belong to ${t}. */
const char *
tmpl_asset(struct tmpl_set *t, const char *name, size_t *len, const char **ctype)
{
	size_t i;

	if (t == NULL || name == NULL)
		return (NULL);
	for (i = 0; i < t->nassets; i++) {
		if (strcmp(t->assets[i].name, name) == 0) {
			if (len != NULL)
				*len = t->assets[i].len;
			if (ctype != NULL)
				*ctype = t->assets[i].ctype;
			return (t->assets[i].data);
		}
	}
	return (NULL);
}
