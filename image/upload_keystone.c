/* Keystone v3 and the JSON around it, pure: the body that asks for a token (password,
 * application credential or token method, with the project scope), the endpoint of a
 * service in the catalog that comes back, and the one-line reason of an error body. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../init/config_int.h"
#include "upload.h"

#define ADD(b, lit) upl_buf_add(b, lit, sizeof(lit) - 1)

/* ---- a text buffer ------------------------------------------------------------------- */

void upl_buf_add(struct upl_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len <= n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void upl_buf_addf(struct upl_buf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		upl_buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	upl_buf_add(b, big, (size_t)n);
	free(big);
}

void upl_buf_json(struct upl_buf *b, const char *s)
{
	ADD(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			upl_buf_addf(b, "\\%c", ch);
		else if (ch < 0x20)
			upl_buf_addf(b, "\\u%04x", ch);
		else
			upl_buf_add(b, s, 1);
	}
	ADD(b, "\"");
}

void upl_buf_free(struct upl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the token request ------------------------------------------------------------------ */

/* "domain": {"id": ...} or {"name": ...} */
static void domain(struct upl_buf *b, const char *id, const char *name)
{
	ADD(b, ",\"domain\":{");
	if (id[0])
		ADD(b, "\"id\":");
	else
		ADD(b, "\"name\":");
	upl_buf_json(b, id[0] ? id : name);
	ADD(b, "}");
}

static void user(struct upl_buf *b, const struct upl_cred *c)
{
	ADD(b, "\"user\":{");
	if (c->user_id[0]) {
		ADD(b, "\"id\":");
		upl_buf_json(b, c->user_id);
	} else {
		ADD(b, "\"name\":");
		upl_buf_json(b, c->username);
		domain(b, c->user_domain_id, c->user_domain_name);
	}
}

int upl_auth_body(const struct upl_cred *c, struct upl_buf *b, char *err, size_t errlen)
{
	ADD(b, "{\"auth\":{\"identity\":{");
	switch (c->auth) {
	case UPL_AUTH_PASSWORD:
		ADD(b, "\"methods\":[\"password\"],\"password\":{");
		user(b, c);
		ADD(b, ",\"password\":");
		upl_buf_json(b, c->password);
		ADD(b, "}}}");
		break;
	case UPL_AUTH_APPCRED:
		ADD(b, "\"methods\":[\"application_credential\"],\"application_credential\":{");
		if (c->app_cred_id[0]) {
			ADD(b, "\"id\":");
			upl_buf_json(b, c->app_cred_id);
		} else {
			ADD(b, "\"name\":");
			upl_buf_json(b, c->app_cred_name);
			ADD(b, ",");
			user(b, c);
			ADD(b, "}");
		}
		ADD(b, ",\"secret\":");
		upl_buf_json(b, c->app_cred_secret);
		ADD(b, "}}");
		break;
	case UPL_AUTH_TOKEN:
		ADD(b, "\"methods\":[\"token\"],\"token\":{\"id\":");
		upl_buf_json(b, c->token);
		ADD(b, "}}");
		break;
	}
	/* an application credential carries its own project; the others ask for one */
	if (c->auth != UPL_AUTH_APPCRED && (c->project_id[0] || c->project_name[0])) {
		ADD(b, ",\"scope\":{\"project\":{");
		if (c->project_id[0]) {
			ADD(b, "\"id\":");
			upl_buf_json(b, c->project_id);
		} else {
			ADD(b, "\"name\":");
			upl_buf_json(b, c->project_name);
			domain(b, c->project_domain_id, c->project_domain_name);
		}
		ADD(b, "}}");
	}
	ADD(b, "}}");
	if (b->oom) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- responses ---------------------------------------------------------------------------- */

const struct cfg_node *upl_key(const struct cfg_node *map, const char *k)
{
	const struct cfg_node *v = NULL;

	if (!map || map->type != CFG_T_MAP)
		return NULL;
	for (const struct cfg_entry *e = map->first; e; e = e->next)
		if (strcmp(e->key, k) == 0)
			v = e->val;	/* the last occurrence, as YAML and JSON loaders keep */
	return v;
}
const char *upl_str(const struct cfg_node *map, const char *k)
{
	const struct cfg_node *v = upl_key(map, k);
	return v && v->type == CFG_T_STR ? v->str : "";
}
struct cfg_node *upl_parse(const char *body, size_t len, struct cfg_arena *a)
{
	struct cfg_src src = { "response", 0 };
	struct cfg_diag d;
	struct cfg_node *root = NULL;

	cfg_diag_init(&d);
	if (!body || cfg_json_load(body, len, &src, a, &d, &root) < 0)
		root = NULL;
	cfg_diag_free(&d);
	return root;
}
int upl_catalog_url(const char *body, size_t len, const char *type, const char *interface,
		    const char *region, char *url, size_t urllen, char *err, size_t errlen)
{
	struct cfg_arena a = { 0 };
	const struct cfg_node *cat = upl_key(upl_key(upl_parse(body, len, &a), "token"), "catalog");
	struct upl_buf seen = { 0 };
	bool service = false;
	int rc = -ENOENT;

	if (!cat || cat->type != CFG_T_SEQ) {
		cfg_arena_free(&a);
		snprintf(err, errlen, "the token has no service catalog (is it scoped to a project?)");
		return -EINVAL;
	}
	for (const struct cfg_entry *s = cat->first; s && rc; s = s->next) {
		const struct cfg_node *eps = upl_key(s->val, "endpoints");
		if (strcmp(upl_str(s->val, "type"), type) != 0 || !eps || eps->type != CFG_T_SEQ)
			continue;
		service = true;
		for (const struct cfg_entry *e = eps->first; e && rc; e = e->next) {
			const char *ifc = upl_str(e->val, "interface"), *rid = upl_str(e->val, "region_id"),
				   *reg = upl_str(e->val, "region");
			upl_buf_addf(&seen, "%s%s in %s", seen.len ? ", " : "", ifc,
				     rid[0] ? rid : reg[0] ? reg : "no region");
			if (strcmp(ifc, interface) != 0 ||
			    (region[0] && strcmp(rid, region) != 0 && strcmp(reg, region) != 0))
				continue;
			snprintf(url, urllen, "%s", upl_str(e->val, "url"));
			rc = url[0] ? 0 : -ENOENT;
		}
	}
	if (rc && !service)
		snprintf(err, errlen, "the service catalog has no %s service", type);
	else if (rc)
		snprintf(err, errlen, "the service catalog has no %s endpoint for interface %s%s%s "
			 "(it has: %s)", type, interface, region[0] ? " in region " : "", region,
			 seen.p ? seen.p : "none");
	upl_buf_free(&seen);
	cfg_arena_free(&a);
	return rc;
}

/* Copies text without tags, whitespace runs made one space. */
static void untag(const char *p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;
	bool tag = false, space = true;

	for (; p < end && n + 1 < outlen; p++) {
		if (*p == '<')
			tag = true;
		else if (*p == '>')
			tag = false;
		else if (!tag && isspace((unsigned char)*p)) {
			if (!space)
				out[n++] = ' ';
			space = true;
		} else if (!tag && (unsigned char)*p >= 0x20) {
			out[n++] = *p;
			space = false;
		}
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

void upl_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	struct cfg_arena a = { 0 };
	const struct cfg_node *root;
	const char *h1;

	out[0] = 0;
	if (!body || !len)
		return;
	if ((root = upl_parse(body, len, &a))) {
		const char *m = upl_str(upl_key(root, "error"), "message");
		if (!m[0])
			m = upl_str(root, "message");
		if (!m[0] && upl_key(root, "errors"))
			m = upl_str(upl_key(root, "errors")->first ? upl_key(root, "errors")->first->val : NULL,
				"detail");
		untag(m, m + strlen(m), out, outlen);
		cfg_arena_free(&a);
		if (out[0])
			return;
	}
	cfg_arena_free(&a);
	/* Glance's webob pages: "<h1>413 Request Entity Too Large</h1> the reason" */
	if ((h1 = strstr(body, "</h1>")))
		untag(h1 + 5, body + len, out, outlen);
	if (!out[0])
		untag(body, body + len, out, outlen);
}
