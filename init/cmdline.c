/* The kernel command line as cabind reads it: space-separated words, "key=value" or bare
 * "key", values optionally in double quotes. Pure: no I/O. */
#include <string.h>

#include "cabind.h"

/* Returns the end of the word starting at p (quotes may hide spaces). */
static const char *word_end(const char *p)
{
	int quoted = 0;
	for (; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
			break;
	}
	return p;
}

static void copy_value(const char *v, const char *end, char *out, size_t outlen)
{
	size_t n = 0;
	for (; v < end && outlen > 0 && n + 1 < outlen; v++)
		if (*v != '"')
			out[n++] = *v;
	if (outlen > 0)
		out[n] = '\0';
}

int cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	int found = 0;
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		const char *end = word_end(p);
		if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0) {
			if (p + klen == end) {
				copy_value(end, end, out, outlen);
				found = 1;
			} else if (p[klen] == '=') {
				copy_value(p + klen + 1, end, out, outlen);
				found = 1;
			}
		}
		p = end;
	}
	return found;
}

enum power_action power_parse(const char *word)
{
	if (strcmp(word, "poweroff") == 0)
		return POWER_OFF;
	if (strcmp(word, "reboot") == 0)
		return POWER_REBOOT;
	if (strcmp(word, "halt") == 0)
		return POWER_HALT;
	return POWER_NONE;
}

const char *power_name(enum power_action act)
{
	switch (act) {
	case POWER_OFF: return "poweroff";
	case POWER_REBOOT: return "reboot";
	case POWER_HALT: return "halt";
	case POWER_NONE: break;
	}
	return "none";
}

int hostname_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '-' || name[0] == '.' || name[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
		if (!ok || (ch == '.' && name[i + 1] == '.'))
			return 0;
	}
	return 1;
}
