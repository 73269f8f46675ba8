/* The schema walker: typed getters that turn a document node into a C value or an error
 * naming the key path and line ("cabin.kv.listen: expected string, got list"), and the
 * table-driven walk over a map's keys. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

unsigned cfg_wline(const struct cfg_walk *w, unsigned line)
{
	return line ? w->src.line_base + line : 0;
}

static void wadd(struct cfg_walk *w, enum cfg_severity sev, unsigned line, const char *path,
		 const char *fmt, va_list ap)
{
	char text[CFG_TEXT_MAX + 1];
	vsnprintf(text, sizeof(text), fmt, ap);
	if (sev == CFG_ERROR)
		w->errors++;
	cfg_diag_add(w->diag, sev, w->src.name, cfg_wline(w, line), 0, path, "%s", text);
}

#define WADD(sev)                                           \
	va_list ap;                                         \
	va_start(ap, fmt);                                  \
	wadd(w, sev, line, path, fmt, ap);                  \
	va_end(ap)

void cfg_werr(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
{
	WADD(CFG_ERROR);
}

void cfg_wwarn(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
{
	WADD(CFG_WARNING);
}

void cfg_wignored(struct cfg_walk *w, unsigned line, const char *path, const char *fmt, ...)
{
	WADD(CFG_IGNORED);
}

void cfg_path_key(char *out, const char *path, const char *key)
{
	snprintf(out, CFG_PATH_MAX + 1, "%s%s%s", path, *path ? "." : "", key);
}

void cfg_path_index(char *out, const char *path, size_t i)
{
	snprintf(out, CFG_PATH_MAX + 1, "%s[%zu]", path, i);
}

static int wrong_type(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		      const char *want)
{
	if (n->type == CFG_T_BOOL && strcmp(want, "string") == 0)
		cfg_werr(w, n->line, path, "expected string, got boolean %s (quote it)", n->str);
	else
		cfg_werr(w, n->line, path, "expected %s, got %s", want, cfg_type_name(n->type));
	return 1;
}

int cfg_want(struct cfg_walk *w, const struct cfg_node *n, const char *path, enum cfg_type t)
{
	if (n->type == t || (n->type == CFG_T_NULL && (t == CFG_T_SEQ || t == CFG_T_MAP)))
		return 0;
	return wrong_type(w, n, path, cfg_type_name(t));
}

/* A string-like scalar (string, or a number as written) that passes the flags. */
static int check_str(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		     size_t max, unsigned flags)
{
	if (n->type != CFG_T_STR && n->type != CFG_T_INT && n->type != CFG_T_FLOAT)
		return wrong_type(w, n, path, "string");
	if (n->len > max) {
		cfg_werr(w, n->line, path, "longer than %zu bytes", max);
		return 1;
	}
	if (n->len == 0 && !(flags & CFG_S_EMPTY)) {
		cfg_werr(w, n->line, path, "empty");
		return 1;
	}
	for (size_t i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char)n->str[i];
		int ok = ch >= 0x20 && ch != 0x7f;
		if (!ok && (flags & CFG_S_MULTILINE))
			ok = ch == '\n' || ch == '\r' || ch == '\t';
		if (!ok) {
			cfg_werr(w, n->line, path, "contains control character 0x%02x", ch);
			return 1;
		}
	}
	return 0;
}

int cfg_get_str(struct cfg_walk *w, const struct cfg_node *n, const char *path, char *out,
		size_t outsz, unsigned flags)
{
	if (check_str(w, n, path, outsz - 1, flags))
		return 1;
	memcpy(out, n->str, n->len);
	out[n->len] = '\0';
	return 0;
}

int cfg_get_strdup(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		   size_t max, unsigned flags, char **out)
{
	if (check_str(w, n, path, max, flags))
		return 1;
	char *s = cfg_strndup(n->str, n->len);
	if (!s)
		return -ENOMEM;
	cfg_free(*out);
	*out = s;
	return 0;
}

int cfg_get_int(struct cfg_walk *w, const struct cfg_node *n, const char *path, int64_t min,
		int64_t max, int64_t *out)
{
	if (n->type != CFG_T_INT)
		return wrong_type(w, n, path, "integer");
	if (n->overflow || n->i < min || n->i > max) {
		if (max == INT64_MAX)
			cfg_werr(w, n->line, path, "%s is out of range (at least %lld)", n->str,
				 (long long)min);
		else
			cfg_werr(w, n->line, path, "%s is out of range (%lld-%lld)", n->str,
				 (long long)min, (long long)max);
		return 1;
	}
	*out = n->i;
	return 0;
}

int cfg_get_bool(struct cfg_walk *w, const struct cfg_node *n, const char *path, int *out)
{
	if (n->type != CFG_T_BOOL)
		return wrong_type(w, n, path, "boolean");
	*out = n->b;
	return 0;
}

int cfg_get_strlist(struct cfg_walk *w, const struct cfg_node *n, const char *path,
		    cfg_check_fn check, struct cfg_strlist *out)
{
	char ipath[CFG_PATH_MAX + 1];
	char buf[256];
	size_t i = 0;
	if (cfg_want(w, n, path, CFG_T_SEQ))
		return 1;
	int bad = 0;
	for (const struct cfg_entry *e = n->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (cfg_get_str(w, e->val, ipath, buf, sizeof(buf), 0)) {
			bad = 1;
			continue;
		}
		const char *why = check ? check(buf) : NULL;
		if (why) {
			cfg_werr(w, e->val->line, ipath, "\"%s\": %s", buf, why);
			bad = 1;
		} else if (cfg_strlist_add(out, buf, strlen(buf)) < 0) {
			return -ENOMEM;
		}
	}
	return bad;
}

static int key_index(const struct cfg_key *keys, size_t nkeys, const char *k)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i].name, k) == 0)
			return (int)i;
	return -1;
}

#define WALK_KEYS_MAX 32

int cfg_walk_map(struct cfg_walk *w, const struct cfg_node *map, const char *path,
		 const struct cfg_key *keys, size_t nkeys, cfg_unknown_fn unknown,
		 void *target)
{
	const struct cfg_entry *last[WALK_KEYS_MAX] = { 0 };
	char kpath[CFG_PATH_MAX + 1];
	int rc;

	if (nkeys > WALK_KEYS_MAX)
		return -EINVAL;
	if (cfg_want(w, map, *path ? path : "top level", CFG_T_MAP))
		return 0;
	for (const struct cfg_entry *e = map->first; e; e = e->next) {
		int k = key_index(keys, nkeys, e->key);
		if (k >= 0)
			last[k] = e;
	}
	for (const struct cfg_entry *e = map->first; e; e = e->next) {
		int k = key_index(keys, nkeys, e->key);
		cfg_path_key(kpath, path, e->key);
		if (k < 0)
			rc = unknown(w, e, path, target);
		else if (last[k] != e) {
			cfg_wwarn(w, e->line, kpath, "given again later; the later one wins");
			rc = 0;
		} else {
			rc = keys[k].fn(w, e->val, kpath, target);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int cfg_unknown_strict(struct cfg_walk *w, const struct cfg_entry *e, const char *path,
		       void *target)
{
	char kpath[CFG_PATH_MAX + 1];
	(void)target;
	cfg_path_key(kpath, path, e->key);
	cfg_werr(w, e->line, kpath, "unknown key");
	return 0;
}

int cfg_ignore_unknown(struct cfg_walk *w, const struct cfg_entry *e, const char *path, void *t)
{
	char kpath[CFG_PATH_MAX + 1];
	(void)t;
	cfg_path_key(kpath, path, e->key);
	cfg_wignored(w, e->line, kpath, "not supported by cabin");
	return 0;
}
