/* The write_files key: a list of files for cabind to write at boot, each with a path,
 * content in one of cloud-init's encodings (text/plain, b64, gzip, gz+b64), octal
 * permissions and an append flag. Content is decoded here, so cabind writes plain bytes. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "inflate.h"

enum wf_enc { ENC_PLAIN, ENC_B64, ENC_GZ, ENC_GZ_B64, ENC_BAD };

struct wf_item {
	struct cfg_file f;
	const struct cfg_node *content, *encoding, *path;
	int bad;
};

static enum wf_enc parse_encoding(const char *s)
{
	static const struct { const char *name; enum wf_enc e; } names[] = {
		{ "text/plain", ENC_PLAIN }, { "plain", ENC_PLAIN }, { "text", ENC_PLAIN },
		{ "b64", ENC_B64 }, { "base64", ENC_B64 },
		{ "gz", ENC_GZ }, { "gzip", ENC_GZ },
		{ "gz+b64", ENC_GZ_B64 }, { "gz+base64", ENC_GZ_B64 },
		{ "gzip+b64", ENC_GZ_B64 }, { "gzip+base64", ENC_GZ_B64 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].e;
	return ENC_BAD;
}

/* '0644', '644', '0o644' (cloud-init reads strings as octal); an unquoted 0644 is octal
 * already (YAML 1.1); an unquoted 420 is decimal, as in cloud-init (and JSON), with a
 * warning when the digits look like octal meant and would set special bits. */
static int parse_mode(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		      unsigned *mode)
{
	if (v->type == CFG_T_INT) {
		if (v->overflow || v->i < 0 || v->i > 07777) {
			cfg_werr(w, v->line, path, "%s is not a file mode (0-07777)", v->str);
			return 1;
		}
		/* 644 meant as octal is mode 01204: sticky, and not rw-r--r-- */
		if (v->str[0] >= '1' && v->str[0] <= '9' && v->len == 3 &&
		    strspn(v->str, "01234567") == 3 && v->i > 0777)
			cfg_wwarn(w, v->line, path, "%s is decimal, mode 0%llo; write '0%s' for "
				  "octal", v->str, (long long)v->i, v->str);
		*mode = (unsigned)v->i;
		return 0;
	}
	if (v->type != CFG_T_STR) {
		cfg_werr(w, v->line, path, "expected an octal string like '0644', got %s",
			 cfg_type_name(v->type));
		return 1;
	}
	const char *p = v->str;
	if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		p += 2;
	size_t n = strlen(p);
	unsigned m = 0;
	if (n == 0 || n > 5 || strspn(p, "01234567") != n || v->len != strlen(v->str)) {
		cfg_werr(w, v->line, path, "\"%s\" is not an octal mode like '0644'", v->str);
		return 1;
	}
	for (; *p; p++)
		m = m * 8 + (unsigned)(*p - '0');
	if (m > 07777) {
		cfg_werr(w, v->line, path, "%s is not a file mode (0-07777)", v->str);
		return 1;
	}
	*mode = m;
	return 0;
}

/* Decodes it->content into it->f.content. 0, 1 (error added) or -ENOMEM. */
static int decode(struct cfg_walk *w, struct wf_item *it, enum wf_enc enc, const char *path)
{
	const struct cfg_node *c = it->content;
	char cpath[CFG_PATH_MAX + 1];
	const uint8_t *src = (const uint8_t *)(c ? c->str : "");
	size_t len = c ? c->len : 0, bad;
	uint8_t *b64 = NULL;
	int rc = 0;

	cfg_path_key(cpath, path, "content");
	if (enc == ENC_B64 || enc == ENC_GZ_B64) {
		if (!(b64 = cfg_malloc(b64_decoded_max(len) + 1)))
			return -ENOMEM;
		ssize_t r = b64_decode((const char *)src, len, b64, &bad);
		if (r < 0) {
			cfg_werr(w, c->line, cpath, "not base64 (at byte %zu)", bad);
			cfg_free(b64);
			return 1;
		}
		src = b64;
		len = (size_t)r;
	}
	if (enc == ENC_GZ || enc == ENC_GZ_B64) {
		const char *why;
		size_t max = CFG_FILES_TOTAL_MAX - w->file_bytes;
		if (max > CFG_FILE_MAX)
			max = CFG_FILE_MAX;
		rc = inflate_gzip(src, len, max, &it->f.content, &it->f.len, &why);
		if (rc == -EFBIG)
			cfg_werr(w, c ? c->line : 0, cpath, "decompressed content too large "
				 "(%u MiB per file, %u MiB in all)", CFG_FILE_MAX >> 20,
				 CFG_FILES_TOTAL_MAX >> 20);
		else if (rc == -EBADMSG)
			cfg_werr(w, c ? c->line : 0, cpath, "gzip: %s", why);
		rc = rc == -ENOMEM ? rc : rc ? 1 : 0;
	} else if (!(it->f.content = cfg_malloc(len + 1))) {
		rc = -ENOMEM;
	} else {
		memcpy(it->f.content, src, len);
		it->f.content[len] = 0;
		it->f.len = len;
	}
	cfg_free(b64);
	return rc;
}

static int wf_path(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct wf_item *it = t;
	int rc = cfg_get_strdup(w, v, path, 4095, 0, &it->f.path);
	if (rc < 0)
		return rc;
	it->path = v;
	if (rc) {
		it->bad = 1;
	} else if (it->f.path[0] != '/') {
		cfg_werr(w, v->line, path, "\"%s\" is not an absolute path", it->f.path);
		it->bad = 1;
	}
	return 0;
}

static int wf_content(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		      void *t)
{
	struct wf_item *it = t;
	if (v->type == CFG_T_NULL)
		return 0;
	if (v->type != CFG_T_STR && v->type != CFG_T_INT && v->type != CFG_T_FLOAT) {
		cfg_werr(w, v->line, path, "expected string, got %s", cfg_type_name(v->type));
		it->bad = 1;
	}
	it->content = v;
	return 0;
}

static int wf_encoding(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	char buf[32];
	struct wf_item *it = t;
	if (cfg_get_str(w, v, path, buf, sizeof(buf), 0) == 0 && parse_encoding(buf) == ENC_BAD)
		cfg_werr(w, v->line, path, "unknown encoding \"%s\" (text/plain, b64, gzip or "
			 "gz+b64)", buf);
	it->encoding = v;
	return 0;
}

static int wf_permissions(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			  void *t)
{
	struct wf_item *it = t;
	it->bad |= parse_mode(w, v, path, &it->f.mode);
	return 0;
}

static int wf_append(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct wf_item *it = t;
	it->bad |= cfg_get_bool(w, v, path, &it->f.append);
	return 0;
}

static int wf_owner(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	char o[64];
	(void)t;
	if (cfg_get_str(w, v, path, o, sizeof(o), 0) == 0 && strcmp(o, "root") != 0 &&
	    strcmp(o, "root:root") != 0)
		cfg_wignored(w, v->line, path, "cabind writes files as root");
	return 0;
}

static int wf_defer(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	(void)t;
	cfg_wignored(w, v->line, path, "files are written once, at boot");
	return 0;
}

static const struct cfg_key wf_keys[] = {
	{ "path", wf_path },
	{ "content", wf_content },
	{ "encoding", wf_encoding },
	{ "permissions", wf_permissions },
	{ "append", wf_append },
	{ "owner", wf_owner },
	{ "defer", wf_defer },
};

/* One entry: walked, decoded and appended to cfg->files, or freed. */
static int wf_item(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		   struct node_config *cfg)
{
	struct wf_item it = { .f = { .mode = 0644 } };
	size_t errors = w->errors;
	int rc = cfg_walk_map(w, v, path, wf_keys, sizeof(wf_keys) / sizeof(*wf_keys),
			      cfg_ignore_unknown, &it);
	int is_map = v->type == CFG_T_MAP || v->type == CFG_T_NULL;
	if (rc == 0 && is_map && !it.path) {
		char ppath[CFG_PATH_MAX + 1];
		cfg_path_key(ppath, path, "path");
		cfg_werr(w, v->line, ppath, "required");
	} else if (rc == 0 && is_map && w->errors == errors && !it.bad) {
		char buf[32] = "text/plain";
		if (it.encoding)
			cfg_get_str(w, it.encoding, "", buf, sizeof(buf), 0);
		rc = decode(w, &it, parse_encoding(buf), path);
		if (rc == 0 && it.f.len > CFG_FILES_TOTAL_MAX - w->file_bytes) {
			cfg_werr(w, v->line, path, "write_files over %u MiB in all",
				 CFG_FILES_TOTAL_MAX >> 20);
			rc = 1;
		}
		if (rc == 0 && !(rc = cfg_reserve((void **)&cfg->files, &cfg->cap_files,
						  cfg->n_files + 1, sizeof(*cfg->files)))) {
			w->file_bytes += it.f.len;
			cfg->files[cfg->n_files++] = it.f;
			return 0;
		}
	}
	cfg_free(it.f.path);
	cfg_free(it.f.content);
	return rc < 0 ? rc : 0;
}

int cc_write_files(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	char ipath[CFG_PATH_MAX + 1];
	size_t i = 0;
	if (cfg_want(w, v, path, CFG_T_SEQ))
		return 0;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		int rc = wf_item(w, e->val, ipath, t);
		if (rc < 0)
			return rc;
	}
	return 0;
}
