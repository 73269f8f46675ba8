/* Line-at-a-time logging to one fd. Each message is formatted into a stack buffer and
 * written with a single write(2), so lines from one process never interleave. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "cabin";
static int log_fd = 2;
static enum log_level log_lvl = LOG_LVL_INFO;

void log_init(const char *prog, int fd)
{
	log_prog = prog;
	log_fd = fd;
}

void log_set_fd(int fd) { log_fd = fd; }
void log_set_level(enum log_level lvl) { log_lvl = lvl; }

int log_parse_level(const char *name, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_emit(const char *fmt, va_list ap, const char *suffix)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s: ", log_prog);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	if (suffix) {
		int k = snprintf(buf + len, sizeof(buf) - len, ": %s", suffix);
		if (k > 0)
			len += (size_t)k;
		if (len > sizeof(buf) - 2)
			len = sizeof(buf) - 2;
	}
	buf[len++] = '\n';
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(log_fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

#define LOG_BODY(lvl, suffix)                    \
	do {                                     \
		if (log_lvl < (lvl))             \
			return;                  \
		va_list ap;                      \
		va_start(ap, fmt);               \
		log_emit(fmt, ap, suffix);       \
		va_end(ap);                      \
	} while (0)

void log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LVL_WARN, e);
}

void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, NULL); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, NULL); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, NULL); }
void log_raw(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, NULL); }
