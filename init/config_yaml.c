/* YAML text to a document tree, through libyaml's event parser so that nesting depth is
 * bounded while parsing. Aliases share the anchored node (no expansion, so no "billion
 * laughs"); an alias may only name a node that is complete, so the tree has no cycles. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"

#define ANCHOR_BUCKETS 256

struct anchor {
	const char *name;
	struct cfg_node *node;
	struct anchor *next;
};

struct frame {
	struct cfg_node *node;
	struct cfg_entry *last;
	const char *key;		/* MAP: a key waiting for its value */
	unsigned key_line;
	const char *anchor;		/* registered when the node is complete */
};

struct yload {
	struct cfg_arena *a;
	struct cfg_diag *d;
	const struct cfg_src *src;
	struct frame stack[CFG_DEPTH_MAX];
	int depth;
	int docs;
	struct cfg_node *root;
	struct anchor *anchors[ANCHOR_BUCKETS];
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ANCHOR_BUCKETS;
}

static int fail(struct yload *y, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct yload *y, const yaml_mark_t *m, const char *fmt, ...)
{
	char text[CFG_TEXT_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cfg_diag_add(y->d, CFG_ERROR, y->src->name, y->src->line_base + (unsigned)m->line + 1,
		     (unsigned)m->column + 1, "", "YAML: %s", text);
	return CFG_ESYNTAX;
}

static int anchor_add(struct yload *y, const char *name, struct cfg_node *n)
{
	struct anchor *an = cfg_arena_alloc(y->a, sizeof(*an));
	if (!an)
		return -ENOMEM;
	an->name = name;
	an->node = n;
	an->next = y->anchors[hash(name)];
	y->anchors[hash(name)] = an;	/* a redefined anchor shadows the older one */
	return 0;
}

static struct cfg_node *anchor_find(struct yload *y, const char *name)
{
	for (struct anchor *an = y->anchors[hash(name)]; an; an = an->next)
		if (strcmp(an->name, name) == 0)
			return an->node;
	return NULL;
}

/* Puts a complete node where the current position says: root, list item, key or value. */
static int place(struct yload *y, struct cfg_node *n, const yaml_mark_t *m)
{
	if (y->depth == 0) {
		y->root = n;
		return 0;
	}
	struct frame *f = &y->stack[y->depth - 1];
	if (f->node->type == CFG_T_MAP && !f->key) {
		if (n->type == CFG_T_SEQ || n->type == CFG_T_MAP)
			return fail(y, m, "a %s as a mapping key is not supported",
				    cfg_type_name(n->type));
		if (strlen(n->str) != n->len)
			return fail(y, m, "a mapping key holds a NUL byte");
		f->key = n->str;
		f->key_line = n->line;
		return 0;
	}
	struct cfg_entry *e = cfg_arena_alloc(y->a, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->val = n;
	if (f->node->type == CFG_T_MAP) {
		e->key = f->key;
		e->line = f->key_line;
		f->key = NULL;
	} else {
		e->line = n->line;
	}
	if (f->last)
		f->last->next = e;
	else
		f->node->first = e;
	f->last = e;
	f->node->n++;
	return 0;
}

static int is_tag(const yaml_char_t *tag, const char *name)
{
	return tag && strcmp((const char *)tag, name) == 0;
}

static int scalar(struct yload *y, const yaml_event_t *ev, struct cfg_node **out)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const yaml_char_t *tag = ev->data.scalar.tag;
	struct cfg_node *n = cfg_arena_alloc(y->a, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->line = (unsigned)ev->start_mark.line + 1;
	if (is_tag(tag, "tag:yaml.org,2002:binary")) {
		uint8_t *buf = cfg_arena_alloc(y->a, b64_decoded_max(len) + 1);
		size_t bad;
		if (!buf)
			return -ENOMEM;
		ssize_t r = b64_decode(v, len, buf, &bad);
		if (r < 0)
			return fail(y, &ev->start_mark, "!!binary value is not base64");
		buf[r] = 0;
		n->type = CFG_T_STR;
		n->str = (const char *)buf;
		n->len = (size_t)r;
		*out = n;
		return 0;
	}
	n->str = cfg_arena_strndup(y->a, v, len);
	if (!n->str)
		return -ENOMEM;
	n->len = len;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (is_tag(tag, "tag:yaml.org,2002:str") || is_tag(tag, "!"))
		n->type = CFG_T_STR;
	else if (plain || (tag && strncmp((const char *)tag, "tag:yaml.org,2002:", 18) == 0))
		cfg_resolve_plain(n);	/* explicit !!int etc. on a quoted value too */
	else
		n->type = CFG_T_STR;
	*out = n;
	return 0;
}

static int start(struct yload *y, const yaml_event_t *ev, enum cfg_type t,
		 const yaml_char_t *anchor)
{
	if (y->depth >= CFG_DEPTH_MAX)
		return fail(y, &ev->start_mark, "nesting deeper than %d levels", CFG_DEPTH_MAX);
	struct frame *parent = y->depth ? &y->stack[y->depth - 1] : NULL;
	if (parent && parent->node->type == CFG_T_MAP && !parent->key)
		return fail(y, &ev->start_mark, "a %s as a mapping key is not supported",
			    cfg_type_name(t));
	struct cfg_node *n = cfg_arena_alloc(y->a, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->type = t;
	n->line = (unsigned)ev->start_mark.line + 1;
	struct frame *f = &y->stack[y->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	if (anchor && !(f->anchor = cfg_arena_strndup(y->a, (const char *)anchor,
						       strlen((const char *)anchor))))
		return -ENOMEM;
	return 0;
}

static int end(struct yload *y, const yaml_event_t *ev)
{
	struct frame *f = &y->stack[--y->depth];
	if (f->anchor && anchor_add(y, f->anchor, f->node) < 0)
		return -ENOMEM;
	return place(y, f->node, &ev->start_mark);
}

static int event(struct yload *y, const yaml_event_t *ev)
{
	struct cfg_node *n = NULL;
	int rc;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++y->docs > 1)
			return fail(y, &ev->start_mark, "more than one document");
		return 0;
	case YAML_SCALAR_EVENT:
		if ((rc = scalar(y, ev, &n)) != 0)
			return rc;
		if (ev->data.scalar.anchor) {
			const char *an = (const char *)ev->data.scalar.anchor;
			const char *name = cfg_arena_strndup(y->a, an, strlen(an));
			if (!name || anchor_add(y, name, n) < 0)
				return -ENOMEM;
		}
		return place(y, n, &ev->start_mark);
	case YAML_ALIAS_EVENT:
		n = anchor_find(y, (const char *)ev->data.alias.anchor);
		if (!n)
			return fail(y, &ev->start_mark, "unknown or unfinished anchor *%s",
				    (const char *)ev->data.alias.anchor);
		return place(y, n, &ev->start_mark);
	case YAML_SEQUENCE_START_EVENT:
		return start(y, ev, CFG_T_SEQ, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return start(y, ev, CFG_T_MAP, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return end(y, ev);
	default:
		return 0;
	}
}

static int parser_error(struct yload *y, const yaml_parser_t *p, const char *text,
			size_t len)
{
	unsigned line, col;
	const char *ctx = p->context ? p->context : "";
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		cfg_offset_pos(text, len, p->problem_offset, &line, &col);
	} else {
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
	}
	if (*ctx)
		cfg_diag_add(y->d, CFG_ERROR, y->src->name, y->src->line_base + line, col, "",
			     "YAML: %s (%s at line %u)", p->problem ? p->problem : "syntax error",
			     ctx, y->src->line_base + (unsigned)p->context_mark.line + 1);
	else
		cfg_diag_add(y->d, CFG_ERROR, y->src->name, y->src->line_base + line, col, "",
			     "YAML: %s", p->problem ? p->problem : "syntax error");
	return CFG_ESYNTAX;
}

int cfg_yaml_load(const char *text, size_t len, const struct cfg_src *src,
		  struct cfg_arena *a, struct cfg_diag *d, struct cfg_node **root)
{
	struct yload y;
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0, done = 0;

	memset(&y, 0, sizeof(y));
	y.a = a;
	y.d = d;
	y.src = src;
	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&y, &p, text, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = event(&y, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc == 0)
		*root = y.root;
	return rc;
}
