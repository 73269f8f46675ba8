/* Logging for cabind and the cabin CLI, in the manner of OpenBSD's log.h: one line per
 * message, tagged with the subsystem, written to one fd (the console, or stderr). */
#ifndef CABIN_LOG_H
#define CABIN_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sends every later message to fd, prefixed "<prog>: ". fd stays owned by the caller. */
void log_init(const char *prog, int fd);
void log_set_fd(int fd);
void log_set_level(enum log_level lvl);
/* Parses "error|warn|info|debug"; returns 0, or -1 if name is none of those. */
int log_parse_level(const char *name, enum log_level *out);

/* log_warn appends ": strerror(errno)"; the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes the line unconditionally, without the level filter (ready lines, panics). */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
