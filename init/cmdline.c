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

/* One "key=value" field of a ds= value, between p and the next ';'. */
static int ds_field(const char *p, const char *end, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key);
	if ((size_t)(end - p) <= k || strncmp(p, key, k) != 0 || p[k] != '=')
		return 0;
	copy_value(p + k + 1, end, out, outlen);
	return 1;
}

int ds_nocloud_url(const char *ds, char *url, size_t urllen)
{
	const char *semi = strchr(ds, ';');
	size_t n = semi ? (size_t)(semi - ds) : strlen(ds);
	if (!((n == 7 && strncmp(ds, "nocloud", 7) == 0) ||
	      (n == 11 && strncmp(ds, "nocloud-net", 11) == 0)))
		return 0;
	url[0] = '\0';
	for (const char *p = semi; p && *p; p = strchr(p, ';')) {
		p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if (!ds_field(p, end, "s", url, urllen))
			ds_field(p, end, "seedfrom", url, urllen);
	}
	return 1;
}
