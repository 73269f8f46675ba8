/* The document tree shared by the YAML and JSON loaders: an arena that frees a whole
 * parse at once (so YAML aliases can share nodes), and YAML 1.1 typing of plain scalars. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "config_int.h"

#define CHUNK_SIZE 65536u

struct cfg_chunk {
	struct cfg_chunk *next;
	size_t used, cap;
	_Alignas(8) unsigned char data[];
};

void *cfg_arena_alloc(struct cfg_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	struct cfg_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		struct cfg_chunk *nc = cfg_malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		/* A big allocation gets a chunk of its own behind the current one, so the
		 * current one's free space stays in use. */
		if (c && cap != CHUNK_SIZE) {
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *cfg_arena_strndup(struct cfg_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = cfg_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void cfg_arena_free(struct cfg_arena *a)
{
	while (a->head) {
		struct cfg_chunk *next = a->head->next;
		cfg_free(a->head);
		a->head = next;
	}
}

const char *cfg_type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_T_NULL: return "null";
	case CFG_T_BOOL: return "boolean";
	case CFG_T_INT: return "integer";
	case CFG_T_FLOAT: return "number";
	case CFG_T_STR: return "string";
	case CFG_T_SEQ: return "list";
	case CFG_T_MAP: return "map";
	}
	return "?";
}

void cfg_offset_pos(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int digit_val(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return 99;
}

/* Digits of base b with '_' separators (at least one digit) into n->i. */
static int parse_digits(struct cfg_node *n, const char *p, int base, int neg)
{
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int any = 0;
	for (; *p; p++) {
		if (*p == '_')
			continue;
		int d = digit_val((unsigned char)*p);
		if (d >= base)
			return 0;
		any = 1;
		if (v > (lim - (uint64_t)d) / (uint64_t)base)
			n->overflow = true;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	if (!any)
		return 0;
	n->i = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return 1;
}

static int resolve_int(struct cfg_node *n)
{
	const char *p = n->str;
	int neg = 0;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] == 'b')
		return parse_digits(n, p + 2, 2, neg);
	if (p[0] == '0' && p[1] == 'x')
		return parse_digits(n, p + 2, 16, neg);
	if (p[0] == '0' && p[1])
		return parse_digits(n, p + 1, 8, neg);
	if (p[0] == '_')
		return 0;
	return parse_digits(n, p, 10, neg);
}

/* [-+]? digits '.' digits ([eE][-+]digits)?  |  [-+]? '.' digits ...  |  .inf / .nan */
static int is_float(const char *p)
{
	static const char *const special[] = { ".inf", ".Inf", ".INF", "-.inf", "-.Inf",
		"-.INF", "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN", NULL };
	if (in_list(p, special))
		return 1;
	if (*p == '-' || *p == '+')
		p++;
	int digits = 0;
	while (isdigit((unsigned char)*p) || *p == '_')
		digits |= *p++ != '_';
	if (*p != '.')
		return 0;
	p++;
	while (isdigit((unsigned char)*p) || *p == '_')
		digits |= *p++ != '_';
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

void cfg_resolve_plain(struct cfg_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const yes[] = { "yes", "Yes", "YES", "true", "True", "TRUE", "on",
					   "On", "ON", NULL };
	static const char *const no[] = { "no", "No", "NO", "false", "False", "FALSE", "off",
					  "Off", "OFF", NULL };
	n->type = CFG_T_STR;
	if (strlen(n->str) != n->len)
		return;
	if (in_list(n->str, nulls)) {
		n->type = CFG_T_NULL;
	} else if (in_list(n->str, yes) || in_list(n->str, no)) {
		n->type = CFG_T_BOOL;
		n->b = in_list(n->str, yes);
	} else if (resolve_int(n)) {
		n->type = CFG_T_INT;
	} else if (is_float(n->str)) {
		n->type = CFG_T_FLOAT;
	}
	if (n->type != CFG_T_INT)
		n->overflow = false;
}
