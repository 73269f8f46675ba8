/* JSON text to a document tree through cJSON. cJSON keeps no positions and gives no
 * problem text, so a small scanner bounds the nesting depth first, names the problem of a
 * malformed text, and gives each value of a well-formed one its line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "../lib/jsonscan.h"
#include "config_int.h"

/* Walks the values of a JSON text in document order, which is also the order of a
 * pre-order walk of cJSON's tree, handing out the line of each value's first byte. */
struct jpos {
	const char *p, *end;
	unsigned line;
	char stack[CFG_DEPTH_MAX + 1];
	int depth;
	int want_key;
};

static void skip_string(struct jpos *j)
{
	for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
		if (*j->p == '\\' && j->p + 1 < j->end)
			j->p++;
		else if (*j->p == '\n')
			j->line++;
	}
	if (j->p < j->end)
		j->p++;
}

static unsigned jpos_next(struct jpos *j)
{
	while (j->p < j->end) {
		char ch = *j->p;
		if (ch == '\n') {
			j->line++;
			j->p++;
		} else if ((unsigned char)ch <= ' ' || ch == ':') {
			j->p++;
		} else if (ch == ',') {
			j->want_key = j->depth > 0 && j->stack[j->depth - 1] == '{';
			j->p++;
		} else if (ch == '}' || ch == ']') {
			j->depth -= j->depth > 0;
			j->want_key = 0;
			j->p++;
		} else if (j->want_key && ch == '"') {
			skip_string(j);
			j->want_key = 0;
		} else {
			unsigned line = j->line;
			if (ch == '{' || ch == '[') {
				if (j->depth < CFG_DEPTH_MAX)
					j->stack[j->depth++] = ch;
				j->want_key = ch == '{';
				j->p++;
			} else if (ch == '"') {
				skip_string(j);
			} else {
				while (j->p < j->end && (unsigned char)*j->p > ' ' &&
				       !strchr(",]}:", *j->p))
					j->p++;
			}
			return line;
		}
	}
	return 0;
}

/* The deepest nesting of a text, stopping at the offset where it passes the limit. */
static int too_deep(const char *t, size_t len, size_t *where)
{
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		depth += json_bracket_step(t, len, &i, &in_str);
		if (depth > CFG_DEPTH_MAX) {
			*where = i;
			return 1;
		}
	}
	return 0;
}

struct jload {
	struct cfg_arena *a;
	struct jpos pos;
};

static struct cfg_node *convert(struct jload *j, const cJSON *item);

static int convert_kids(struct jload *j, const cJSON *item, struct cfg_node *n)
{
	struct cfg_entry **tail = &n->first;
	for (const cJSON *c = item->child; c; c = c->next) {
		struct cfg_entry *e = cfg_arena_alloc(j->a, sizeof(*e));
		if (!e || !(e->val = convert(j, c)))
			return -ENOMEM;
		e->line = e->val->line;
		if (n->type == CFG_T_MAP &&
		    !(e->key = cfg_arena_strndup(j->a, c->string ? c->string : "",
						 c->string ? strlen(c->string) : 0)))
			return -ENOMEM;
		*tail = e;
		tail = &e->next;
		n->n++;
	}
	return 0;
}

static int convert_number(struct jload *j, const cJSON *item, struct cfg_node *n)
{
	char buf[64];
	double v = item->valuedouble;
	/* range first: converting an out-of-range double to an integer is undefined */
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v) {
		n->type = CFG_T_INT;
		n->i = (int64_t)v;
		snprintf(buf, sizeof(buf), "%lld", (long long)n->i);
	} else {
		n->type = CFG_T_FLOAT;
		snprintf(buf, sizeof(buf), "%.17g", v);
	}
	n->len = strlen(buf);
	n->str = cfg_arena_strndup(j->a, buf, n->len);
	return n->str ? 0 : -ENOMEM;
}

/* Returns the node, or NULL when out of memory. */
static struct cfg_node *convert(struct jload *j, const cJSON *item)
{
	struct cfg_node *n = cfg_arena_alloc(j->a, sizeof(*n));
	if (!n)
		return NULL;
	n->line = jpos_next(&j->pos);
	int rc = 0;
	if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
		n->type = cJSON_IsObject(item) ? CFG_T_MAP : CFG_T_SEQ;
		rc = convert_kids(j, item, n);
	} else if (cJSON_IsString(item)) {
		n->type = CFG_T_STR;
		n->len = strlen(item->valuestring);
		rc = (n->str = cfg_arena_strndup(j->a, item->valuestring, n->len)) ? 0 : -ENOMEM;
	} else if (cJSON_IsNumber(item)) {
		rc = convert_number(j, item, n);
	} else if (cJSON_IsBool(item)) {
		n->type = CFG_T_BOOL;
		n->b = cJSON_IsTrue(item);
		n->str = n->b ? "true" : "false";
		n->len = strlen(n->str);
	} else {
		n->type = CFG_T_NULL;
		n->str = "null";
		n->len = 4;
	}
	return rc ? NULL : n;
}

/* A string opening at off with no closing quote before the end. */
static int unterminated(const char *text, size_t len, size_t off)
{
	for (size_t i = off + 1; i < len; i++) {
		if (text[i] == '\\')
			i++;
		else if (text[i] == '"')
			return 0;
	}
	return 1;
}

static int syntax_error(const char *text, size_t len, size_t off, const struct cfg_src *src,
			struct cfg_diag *d, const char *problem)
{
	unsigned line, col;
	char what[64];
	size_t last = len;
	while (last > 0 && strchr(" \t\r\n", text[last - 1]))
		last--;
	cfg_offset_pos(text, len, off, &line, &col);
	/* cJSON points at the last byte it read: at the end, the text was cut short */
	if (problem)
		snprintf(what, sizeof(what), "%s", problem);
	else if (off + 1 >= last)
		snprintf(what, sizeof(what), "unexpected end of input");
	else if (off > 0 && text[off - 1] == '"' && unterminated(text, len, off - 1))
		snprintf(what, sizeof(what), "unterminated string");
	else if ((unsigned char)text[off] < 0x20 || (unsigned char)text[off] >= 0x7f)
		snprintf(what, sizeof(what), "unexpected byte 0x%02x", (unsigned char)text[off]);
	else
		snprintf(what, sizeof(what), "unexpected '%c'", text[off]);
	cfg_diag_add(d, CFG_ERROR, src->name, src->line_base + line, col, "", "JSON: %s", what);
	return CFG_ESYNTAX;
}

int cfg_json_load(const char *text, size_t len, const struct cfg_src *src,
		  struct cfg_arena *a, struct cfg_diag *d, struct cfg_node **root)
{
	size_t off;
	*root = NULL;
	if (too_deep(text, len, &off))
		return syntax_error(text, len, off, src, d, "nesting deeper than 64 levels");
	/* cJSON reads a NUL-terminated copy: the input buffer need not be one */
	char *copy = cfg_strndup(text, len);
	if (!copy)
		return -ENOMEM;
	const char *endp = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(copy, len, &endp, 0);
	if (!doc) {
		off = endp ? (size_t)(endp - copy) : len;
		cfg_free(copy);
		return syntax_error(text, len, off, src, d, NULL);
	}
	off = (size_t)(endp - copy);
	while (off < len && strchr(" \t\r\n", text[off]))
		off++;
	int rc = 0;
	if (off < len) {
		rc = syntax_error(text, len, off, src, d, "data after the JSON value");
	} else {
		struct jload j = { .a = a, .pos = { .p = text, .end = text + len, .line = 1 } };
		if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
			j.pos.p += 3;	/* cJSON skips a byte order mark too */
		*root = convert(&j, doc);
		rc = *root ? 0 : -ENOMEM;
	}
	cJSON_Delete(doc);
	cfg_free(copy);
	return rc;
}
