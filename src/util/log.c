/*
 * log.c: the tiny logging API (after OpenBSD's log.c).  Every event is one line on stderr:
 *
 *	2025-01-31T12:00:00Z anchorid: warning: getrandom: Function not implemented
 *
 * with an ISO 8601 UTC timestamp.  Access-log lines go to stderr or to a file opened by log_init.  Each line
 * is formatted into a local buffer first and written with one call under a mutex, so lines from concurrent
 * threads never interleave.  Control characters in messages are replaced by '?' so that text an attacker
 * chose (a client name, a request path) cannot forge extra log lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define LOG_MAX_LINE 2048 /* longer messages are truncated: a log line is for a human */

static atomic_int log_level = LOG_LVL_INFO;
static FILE *log_access_fp; /* NULL: stderr */
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

/** log_init(level, access_path): set the level; open ${access_path} for appending as the access log (NULL or
 * "-": stderr), line-buffered.  Returns -1 (logged) if the file cannot be opened; the level is set anyway and
 * the previous access log stays in use.  Call before starting threads. */
int
log_init(enum log_level level, const char *access_path)
{
	FILE *fp = NULL;

	if (access_path != NULL && strcmp(access_path, "-") != 0) {
		if ((fp = fopen(access_path, "ae")) == NULL) {
			log_warn("access log %s", access_path);
			atomic_store(&log_level, (int)level);
			return (-1);
		}
		setvbuf(fp, NULL, _IOLBF, 0);
	}
	atomic_store(&log_level, (int)level);
	pthread_mutex_lock(&log_mtx);
	if (log_access_fp != NULL)
		fclose(log_access_fp);
	log_access_fp = fp;
	pthread_mutex_unlock(&log_mtx);
	return (0);
}

/** log_close(): close the access log file if one was opened; later access lines go to stderr. */
void
log_close(void)
{
	pthread_mutex_lock(&log_mtx);
	if (log_access_fp != NULL)
		fclose(log_access_fp);
	log_access_fp = NULL;
	pthread_mutex_unlock(&log_mtx);
}

/** log_level_parse(s, out): "error", "warn", "info", "debug" into *${out}; -1 otherwise. */
int
log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "error", LOG_LVL_ERROR },
		{ "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};
	size_t i;

	if (s == NULL)
		return (-1);
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return (0);
		}
	return (-1);
}

/* log_sanitize(s): replace control characters (but tab) with '?' in place. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			*s = '?';
}

/* log_strerror(err, buf, len): thread-safe strerror. */
static const char *
log_strerror(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return (strerror_r(err, buf, len));
#else
	if (strerror_r(err, buf, len) != 0)
		snprintf(buf, len, "error %d", err);
	return (buf);
#endif
}

/* log_vwrite(level, label, err, fmt, ap): format and write one line if ${level} is enabled; ${err} >= 0
 * appends ": strerror(err)". */
static void __attribute__((format(printf, 4, 0)))
log_vwrite(enum log_level level, const char *label, int err, const char *fmt, va_list ap)
{
	char line[LOG_MAX_LINE], ebuf[128], ts[32];
	struct tm tm;
	time_t now;
	size_t n;
	int off;

	if ((int)level > atomic_load(&log_level))
		return;
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(ts, sizeof(ts), "-");
	if ((off = snprintf(line, sizeof(line), "%s anchorid: %s", ts, label)) < 0 || (size_t)off >= sizeof(line))
		return;
	(void)vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	log_sanitize(line + off);
	n = strlen(line);
	if (err >= 0 && n < sizeof(line))
		(void)snprintf(line + n, sizeof(line) - n, ": %s", log_strerror(err, ebuf, sizeof(ebuf)));
	/* A truncated line still ends in a newline. */
	if ((n = strlen(line)) > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n] = '\n';
	line[n + 1] = '\0';
	pthread_mutex_lock(&log_mtx);
	fputs(line, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mtx);
}

/** log_warn(fmt, ...): warning followed by ": strerror(errno)"; errno is preserved. */
void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, "warning: ", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/** log_warnx(fmt, ...): warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, "warning: ", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

/** log_info(fmt, ...): an informational line, shown at level info and above. */
void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, "", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

/** log_debug(fmt, ...): a debugging line, shown only at level debug. */
void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, "debug: ", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

/** fatal(fmt, ...): log "fatal: ...: strerror(errno)" at any level and exit(1). */
void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, "fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/** fatalx(fmt, ...): log "fatal: ..." at any level and exit(1). */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, "fatal: ", -1, fmt, ap);
	va_end(ap);
	exit(1);
}

/** log_access(line): write the already-formatted access-log ${line} plus a newline to the access log, as one
 * line under the log mutex; control characters in ${line} become '?'. */
void
log_access(const char *line)
{
	const unsigned char *p;
	FILE *fp;

	if (line == NULL)
		return;
	pthread_mutex_lock(&log_mtx);
	fp = log_access_fp != NULL ? log_access_fp : stderr;
	for (p = (const unsigned char *)line; *p != '\0'; p++)
		putc((*p < 0x20 && *p != '\t') || *p == 0x7f ? '?' : *p, fp);
	putc('\n', fp);
	fflush(fp);
	pthread_mutex_unlock(&log_mtx);
}
