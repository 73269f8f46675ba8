/* User data: finds what kind of payload it is (#cloud-config YAML, JSON, MIME multipart,
 * gzip, or something cabin does not run such as a shell script), parses the configuration
 * parts into a scratch config, and merges that into the caller's only when all is well. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "inflate.h"

#define UD_DEPTH_MAX 4

static void ud_error(struct ud_ctx *c, int code, const struct cfg_src *src, unsigned line,
		     const char *what, const char *detail)
{
	cfg_diag_add(c->diag, CFG_ERROR, src->name, line, 0, "", "%s%s", what, detail);
	c->errors++;
	if (!c->fail)
		c->fail = code;
}

static int starts_ci(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0;
}

/* Skips a byte order mark and white space; counts the lines skipped into *lines. */
static const char *skip_space(const char *p, const char *end, unsigned *lines)
{
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; p < end && strchr(" \t\r\n", *p) && *p; p++)
		*lines += *p == '\n';
	return p;
}

/* "#cloud-config" as a whole word: the next byte ends the line or is a space. */
static int is_cloud_config(const char *p, const char *end)
{
	const char *q = p + 13;
	return starts_ci(p, end, "#cloud-config") &&
	       (q == end || *q == '\n' || *q == '\r' || *q == ' ' || *q == '\t');
}

/* What a payload that configures nothing is, for the message. */
static const char *unused_kind(const char *p, const char *end)
{
	static const struct { const char *prefix, *what; } kinds[] = {
		{ "#!", "a script" },
		{ "#include", "an #include list (cabin fetches no URLs)" },
		{ "#cloud-boothook", "a boothook" },
		{ "#part-handler", "a part handler" },
		{ "#upstart-job", "an upstart job" },
		{ "#cloud-config-archive", "a cloud-config archive" },
		{ "#cloud-config-jsonp", "a JSON patch" },
		{ "## template: jinja", "a jinja template" },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (starts_ci(p, end, kinds[i].prefix))
			return kinds[i].what;
	return "not #cloud-config, a JSON object or MIME";
}

int ud_cloud_config(struct ud_ctx *c, const char *data, size_t len,
		    const struct cfg_src *src)
{
	struct cfg_arena a = { 0 };
	struct cfg_node *root = NULL;
	unsigned skipped = 0;
	const char *p = skip_space(data, data + len, &skipped);
	int rc;

	if (p < data + len && *p == '{')
		rc = cfg_json_load(data, len, src, &a, c->diag, &root);
	else
		rc = cfg_yaml_load(data, len, src, &a, c->diag, &root);
	if (rc == CFG_ESYNTAX) {
		c->errors++;
		if (!c->fail)
			c->fail = CFG_ESYNTAX;
		rc = 0;
	} else if (rc == 0 && (!root || root->type == CFG_T_NULL)) {
		cfg_diag_add(c->diag, CFG_WARNING, src->name, 0, 0, "",
			     "cloud-config without keys: nothing to configure");
	} else if (rc == 0) {
		struct cfg_walk w = { .diag = c->diag, .src = *src, .file_bytes = c->file_bytes };
		rc = cc_apply(&w, root, c->acc);
		c->errors += w.errors;
		c->file_bytes = w.file_bytes;
	}
	cfg_arena_free(&a);
	return rc;
}

static int ud_gzip(struct ud_ctx *c, const char *data, size_t len, const struct cfg_src *src,
		   const char *part)
{
	uint8_t *out;
	size_t n;
	const char *why;
	int rc = inflate_gzip((const uint8_t *)data, len, CFG_INPUT_MAX, &out, &n, &why);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EFBIG) {
		ud_error(c, CFG_ETOOBIG, src, src->line_base, "gzip: more than 16 MiB when "
			 "decompressed", "");
		return 0;
	}
	if (rc) {
		ud_error(c, CFG_ESYNTAX, src, src->line_base, "gzip: ", why);
		return 0;
	}
	/* Lines of the decompressed text are its own. */
	struct cfg_src inner = { src->name, 0 };
	c->depth++;
	rc = ud_dispatch(c, (const char *)out, n, &inner, part);
	c->depth--;
	cfg_free(out);
	return rc;
}

int ud_dispatch(struct ud_ctx *c, const char *data, size_t len, const struct cfg_src *src,
		const char *part)
{
	const char *end = data + len;
	unsigned skipped = 0;
	if (c->depth > UD_DEPTH_MAX) {
		ud_error(c, CFG_ESYNTAX, src, src->line_base, "MIME parts or gzip nested too "
			 "deeply", "");
		return 0;
	}
	if (inflate_is_gzip(data, len))
		return ud_gzip(c, data, len, src, part);
	const char *p = skip_space(data, end, &skipped);
	struct cfg_src here = { src->name, src->line_base + skipped };
	if (p == end) {
		if (part)
			cfg_diag_add(c->diag, CFG_IGNORED, src->name, src->line_base, 0, "",
				     "%s: empty", part);
		else
			cfg_diag_add(c->diag, CFG_WARNING, src->name, 0, 0, "",
				     "empty: nothing to configure");
		return 0;
	}
	if (starts_ci(p, end, "content-type:") || starts_ci(p, end, "mime-version:"))
		return ud_mime(c, p, (size_t)(end - p), &here);
	if (is_cloud_config(p, end) || *p == '{')
		return ud_cloud_config(c, data, len, src);
	if (part)
		cfg_diag_add(c->diag, CFG_IGNORED, src->name, here.line_base + 1, 0, "",
			     "%s: %s", part, unused_kind(p, end));
	else
		cfg_diag_add(c->diag, CFG_WARNING, src->name, 0, 0, "",
			     "%s: ignored; nothing to configure", unused_kind(p, end));
	return 0;
}

int ud_parse(const char *data, size_t len, const char *source, struct node_config *cfg,
	     struct cfg_diag *diag)
{
	struct node_config acc;
	struct ud_ctx c = { .diag = diag, .acc = &acc };
	struct cfg_src src = { source ? source : "user_data", 0 };

	if (len > CFG_INPUT_MAX) {
		cfg_diag_add(diag, CFG_ERROR, src.name, 0, 0, "", "%zu bytes; the limit is %u MiB",
			     len, CFG_INPUT_MAX >> 20);
		return CFG_ETOOBIG;
	}
	node_config_init(&acc);
	int rc = ud_dispatch(&c, data ? data : "", data ? len : 0, &src, NULL);
	if (rc == 0 && c.errors == 0 && acc.cabin.present) {
		struct cfg_walk w = { .diag = diag, .src = src };
		cabin_check(&w, &acc.cabin);
		c.errors += w.errors;
	}
	if (rc == 0 && c.errors)
		rc = c.fail ? c.fail : CFG_EINVALID;
	if (rc == 0)
		rc = node_config_merge(cfg, &acc);
	node_config_free(&acc);
	return rc;
}
