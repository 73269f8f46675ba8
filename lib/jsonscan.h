/* The bracket structure of JSON text without parsing it: what a config loader needs to
 * bound nesting before cJSON recurses, and a streaming body to find where an object ends
 * before all of it has arrived. */
#ifndef CABIN_JSONSCAN_H
#define CABIN_JSONSCAN_H

#include <stddef.h>

/* One step of a scan of t (len bytes) at t[*i], *in_str saying whether the scan is inside
 * a string: returns +1 for an opening bracket, -1 for a closing one, 0 otherwise
 * (brackets inside strings do not count; an escape inside a string moves *i past the
 * escaped byte). The caller advances *i by one after each step. */
static inline int json_bracket_step(const char *t, size_t len, size_t *i, int *in_str)
{
	char ch = t[*i];
	if (*in_str) {
		if (ch == '\\' && *i + 1 < len)
			++*i;
		else if (ch == '"')
			*in_str = 0;
		return 0;
	}
	if (ch == '"')
		*in_str = 1;
	return ch == '{' || ch == '[' ? 1 : ch == '}' || ch == ']' ? -1 : 0;
}

#endif
