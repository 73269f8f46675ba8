/* Diagnostics of the configuration parsers: a bounded list of messages, each naming the
 * source, line, column and key path of a problem, and their one-line rendering. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

#define CFG_ERR_TEXT(name, value, text) case name: return text;
const char *cfg_strerror(int code)
{
	switch (code) {
	CFG_ERRORS(CFG_ERR_TEXT)
	case 0: return "success";
	case -ENOMEM: return "out of memory";
	}
	return "unknown error";
}
#undef CFG_ERR_TEXT

void cfg_diag_init(struct cfg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void cfg_diag_free(struct cfg_diag *d)
{
	cfg_free(d->msg);
	cfg_diag_init(d);
}

/* Copies s into out (size outsz), control characters turned into '?'. */
static void copy_clean(char *out, size_t outsz, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < outsz; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[i] = '\0';
}

/* True when an "ignored" notice with the same source and text is already kept: a key met
 * in several parts or documents is reported once. */
static int ignored_seen(const struct cfg_diag *d, const struct cfg_msg *m)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->msg[i].severity == CFG_IGNORED && strcmp(d->msg[i].text, m->text) == 0)
			return 1;
	return 0;
}

void cfg_diag_add(struct cfg_diag *d, enum cfg_severity sev, const char *source,
		  unsigned line, unsigned col, const char *path, const char *fmt, ...)
{
	struct cfg_msg m;
	char text[CFG_TEXT_MAX + 1];
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.severity = sev;
	m.line = line;
	m.col = col;
	copy_clean(m.source, sizeof(m.source), source);
	copy_clean(m.path, sizeof(m.path), path);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (path && *path) {
		char full[CFG_PATH_MAX + CFG_TEXT_MAX + 4];
		snprintf(full, sizeof(full), "%s: %s", path, text);
		copy_clean(m.text, sizeof(m.text), full);
	} else {
		copy_clean(m.text, sizeof(m.text), text);
	}
	if (sev == CFG_IGNORED && ignored_seen(d, &m))
		return;
	if (sev == CFG_ERROR)
		d->errors++;
	else if (sev == CFG_WARNING)
		d->warnings++;
	else
		d->ignored++;
	if (d->n >= CFG_DIAG_MAX || cfg_reserve((void **)&d->msg, &d->cap, d->n + 1,
						 sizeof(*d->msg)) < 0) {
		d->dropped++;
		return;
	}
	d->msg[d->n++] = m;
}

int cfg_msg_format(const struct cfg_msg *m, char *buf, size_t len)
{
	char where[CFG_SOURCE_MAX + 32];
	const char *sev = m->severity == CFG_WARNING ? "warning: " :
			  m->severity == CFG_IGNORED ? "ignored: " : "";
	if (m->line && m->col)
		snprintf(where, sizeof(where), "%s:%u:%u", m->source, m->line, m->col);
	else if (m->line)
		snprintf(where, sizeof(where), "%s:%u", m->source, m->line);
	else
		snprintf(where, sizeof(where), "%s", m->source);
	return snprintf(buf, len, "%s: %s%s", where, sev, m->text);
}

const struct cfg_msg *cfg_diag_first_error(const struct cfg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->msg[i].severity == CFG_ERROR)
			return &d->msg[i];
	return NULL;
}

void cfg_diag_dump(FILE *out, const struct cfg_diag *d)
{
	char line[CFG_SOURCE_MAX + CFG_TEXT_MAX + 64];
	for (size_t i = 0; i < d->n; i++) {
		cfg_msg_format(&d->msg[i], line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	if (d->dropped)
		fprintf(out, "(%zu more messages not kept)\n", d->dropped);
}
