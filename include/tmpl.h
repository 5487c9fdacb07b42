/*
 * tmpl.h: HTML pages from www/, read once at start-up (no per-request file reads), escaped by default.
 *
 * Template syntax (a strict Mustache subset, no logic):
 *   {{name}}              the variable, HTML-escaped (& < > " ' become entities); a missing variable is ""
 *   {{#name}} ... {{/name}}  the block when the variable is present and non-empty
 *   {{^name}} ... {{/name}}  the block when the variable is missing or empty
 *   {{*name}} ... {{/name}}  the block once per element of the JSON array text ${name}; inside, the element's
 *                         members are the variables (a value that is not an array fails the render, logged)
 * There is no raw output.  Each page is rendered inside www/layout.html, which receives the page's output as
 * the one pre-escaped slot {{{content}}} plus the page's variables (so "title" works there).
 */
#ifndef ANCHORID_TMPL_H
#define ANCHORID_TMPL_H

#include <stddef.h>

#include "util.h"

#define TMPL_MAX_FILE (64 * 1024)    /* templates and assets are small; a larger file is a deployment error */
#define TMPL_MAX_OUTPUT (256 * 1024) /* cap on a rendered page */

struct tmpl_var {
	const char *name;
	const char *value; /* NULL counts as missing */
};

struct tmpl_set;

/** tmpl_load(dir): read and parse every *.html template and the static assets (*.css, *.svg, *.png, *.ico)
 * of ${dir}; a template with a syntax error fails the load (logged with file and line).  NULL on failure. */
struct tmpl_set *tmpl_load(const char *dir);
/** tmpl_free(t): free the set ${t}; NULL is a no-op. */
void tmpl_free(struct tmpl_set *t);
/** tmpl_render(t, name, vars, n, out): render template ${name} (e.g. "login") inside layout.html into ${out};
 * -1 when ${name} is unknown or the output exceeds TMPL_MAX_OUTPUT. */
int tmpl_render(struct tmpl_set *t, const char *name, const struct tmpl_var *vars, size_t n, struct buf *out);
/** tmpl_asset(t, name, len, ctype): a static asset's bytes (e.g. "style.css"), or NULL. */
const char *tmpl_asset(struct tmpl_set *t, const char *name, size_t *len, const char **ctype);

#endif
