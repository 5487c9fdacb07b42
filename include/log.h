/*
 * log.h: the tiny logging API (after OpenBSD's log.c).  One line per event to
 * stderr (or the configured file).  Never pass a secret, password, code or full
 * token to these functions; use log_redact() for token prefixes.
 */
#ifndef ANCHORID_LOG_H
#define ANCHORID_LOG_H

#include <stdio.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/** log_init(level, access_path): set the level; open ${access_path} for the access log (NULL or "-": stderr).
 * Returns -1 if the file cannot be opened. */
int log_init(enum log_level level, const char *access_path);
/** log_close(): close the access log file if one was opened. */
void log_close(void);
/** log_level_parse(s, out): "error", "warn", "info", "debug"; -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);

/** log_warn(fmt, ...): warning followed by ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** log_warnx(fmt, ...): warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** log_info(fmt, ...): informational line, shown at level info and above. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** log_debug(fmt, ...): debugging line, shown only at level debug. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** fatal(fmt, ...) / fatalx(fmt, ...): log and exit(1); fatal appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/** log_access(line): write one already-formatted access-log line (no newline needed), thread-safe. */
void log_access(const char *line);

#endif
