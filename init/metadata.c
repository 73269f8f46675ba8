/* Instance metadata: OpenStack's meta_data.json (config drive or metadata service) and
 * NoCloud's meta-data. They name the instance and the host; a user's #cloud-config,
 * parsed after them, may override the host name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

#define NKEYS(t) (sizeof(t) / sizeof(*(t)))

/* Nova's rule for a host name from a display name: ' ', '_' and '.' become '-', other
 * characters outside [A-Za-z0-9-] go, lower case, no '-' at either end, at most 63. */
static void sanitize_hostname(const char *in, char *out)
{
	size_t n = 0;
	for (; *in && n < 63; in++) {
		char ch = *in;
		if (ch == ' ' || ch == '_' || ch == '.')
			ch = '-';
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch == '-' && n))
			out[n++] = ch;
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

struct os_meta {
	struct node_config *cfg;
	const struct cfg_node *hostname;	/* when a string */
	char host[CFG_FQDN_MAX + 2];
	int have_name;
};

static int os_uuid(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct os_meta *m = t;
	cfg_get_str(w, v, path, m->cfg->instance_id, sizeof(m->cfg->instance_id), 0);
	return 0;
}

static int os_name(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct os_meta *m = t;
	if (!cfg_get_str(w, v, path, m->cfg->instance_name, sizeof(m->cfg->instance_name),
			 CFG_S_EMPTY))
		m->have_name = 1;
	return 0;
}

static int os_hostname(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct os_meta *m = t;
	if (!cfg_get_str(w, v, path, m->host, sizeof(m->host), 0))
		m->hostname = v;
	return 0;
}

static int os_az(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct os_meta *m = t;
	if (v->type != CFG_T_NULL)
		cfg_get_str(w, v, path, m->cfg->availability_zone,
			    sizeof(m->cfg->availability_zone), CFG_S_EMPTY);
	return 0;
}

static int os_keys(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	(void)t;
	cfg_wignored(w, v->line, path, "cabin has no login users or ssh");
	return 0;
}

static int os_other(struct cfg_walk *w, const struct cfg_entry *e, const char *path,
		    void *t)
{
	(void)w, (void)e, (void)path, (void)t;
	return 0;	/* launch_index, devices, admin_pass, ...: not ours to report */
}

static const struct cfg_key os_table[] = {
	{ "uuid", os_uuid },
	{ "name", os_name },
	{ "hostname", os_hostname },
	{ "availability_zone", os_az },
	{ "public_keys", os_keys },
};

/* hostname as given when it is valid; else made from its first label, or from name, as
 * Nova would. */
static void os_names(struct cfg_walk *w, struct os_meta *m)
{
	char *h = m->host, made[64];
	const struct cfg_node *from = m->hostname;
	if (from) {
		const char *why = strchr(h, '.') ? cfg_check_fqdn(h) : cfg_check_hostname(h);
		if (!why) {
			cfg_set_hostname(w, from->line, "hostname", h, m->cfg);
			return;
		}
		char label[CFG_FQDN_MAX + 2];
		snprintf(label, sizeof(label), "%.*s", (int)strcspn(h, "."), h);
		sanitize_hostname(label, made);
		cfg_wwarn(w, from->line, "hostname", "\"%s\": %s; using \"%s\"", h, why, made);
	} else if (m->have_name && m->cfg->instance_name[0]) {
		sanitize_hostname(m->cfg->instance_name, made);
	} else {
		return;
	}
	if (made[0])
		strcpy(m->cfg->hostname, made);
}

/* Loads text (JSON, or YAML when yaml and it does not open with '{') and checks the size. */
static int load(const char *text, size_t len, int yaml, struct cfg_walk *w,
		struct cfg_arena *a, struct cfg_node **root)
{
	const char *p = text, *end = text + len;
	if (len > CFG_META_MAX) {
		cfg_diag_add(w->diag, CFG_ERROR, w->src.name, 0, 0, "",
			     "%zu bytes; the limit is %u MiB", len, CFG_META_MAX >> 20);
		return CFG_ETOOBIG;
	}
	while (p < end && strchr(" \t\r\n", *p) && *p)
		p++;
	if (p == end) {
		cfg_diag_add(w->diag, CFG_WARNING, w->src.name, 0, 0, "", "empty");
		return 0;
	}
	int rc = yaml && *p != '{' ? cfg_yaml_load(text, len, &w->src, a, w->diag, root) :
				     cfg_json_load(text, len, &w->src, a, w->diag, root);
	if (rc == 0 && (!*root || (*root)->type == CFG_T_NULL)) {
		cfg_diag_add(w->diag, CFG_WARNING, w->src.name, 0, 0, "", "no keys");
		*root = NULL;
	}
	return rc;
}

/* Walks root with table into a scratch config, merged into cfg when nothing was wrong. */
static int apply(struct cfg_walk *w, const struct cfg_node *root, const struct cfg_key *table,
		 size_t n, cfg_unknown_fn unknown, void *target, struct node_config *scratch,
		 struct node_config *cfg, void (*finish)(struct cfg_walk *, void *))
{
	int rc = 0;
	if (root->type != CFG_T_MAP)
		cfg_werr(w, root->line, "", "expected a map at the top level, got %s",
			 cfg_type_name(root->type));
	else
		rc = cfg_walk_map(w, root, "", table, n, unknown, target);
	if (rc == 0 && w->errors == 0)
		finish(w, target);
	if (rc == 0 && w->errors)
		rc = CFG_EINVALID;
	if (rc == 0)
		rc = node_config_merge(cfg, scratch);
	return rc;
}

static void os_finish(struct cfg_walk *w, void *t)
{
	struct os_meta *m = t;
	os_names(w, m);
	if (!m->cfg->instance_id[0])
		cfg_wwarn(w, 0, "uuid", "missing: the instance has no id");
}

int meta_parse_openstack(const char *json, size_t len, const char *source,
			 struct node_config *cfg, struct cfg_diag *diag)
{
	struct cfg_walk w = { .diag = diag, .src = { source ? source : "meta_data.json", 0 } };
	struct cfg_arena a = { 0 };
	struct cfg_node *root = NULL;
	struct node_config scratch;
	struct os_meta m = { .cfg = &scratch };
	node_config_init(&scratch);
	int rc = load(json ? json : "", json ? len : 0, 0, &w, &a, &root);
	if (rc == 0 && root)
		rc = apply(&w, root, os_table, NKEYS(os_table), os_other, &m, &scratch, cfg,
			   os_finish);
	node_config_free(&scratch);
	cfg_arena_free(&a);
	return rc;
}

/* ---- NoCloud ---- */

static int nc_id(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct node_config *cfg = t;
	cfg_get_str(w, v, path, cfg->instance_id, sizeof(cfg->instance_id), 0);
	return 0;
}

static int nc_hostname(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	char h[CFG_FQDN_MAX + 2];
	if (!cfg_get_str(w, v, path, h, sizeof(h), 0))
		cfg_set_hostname(w, v->line, path, h, t);
	return 0;
}

static int nc_ignored(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		      void *t)
{
	(void)t;
	if (strcmp(path, "network-interfaces") == 0)
		cfg_wignored(w, v->line, path, "give the network in network-config");
	else
		cfg_wignored(w, v->line, path, "cabin has no login users or ssh");
	return 0;
}

static const struct cfg_key nc_table[] = {
	{ "instance-id", nc_id },
	{ "local-hostname", nc_hostname },
	{ "public-keys", nc_ignored },
	{ "network-interfaces", nc_ignored },
};

static int nc_unknown(struct cfg_walk *w, const struct cfg_entry *e, const char *path,
		      void *t)
{
	(void)path, (void)t;
	cfg_wignored(w, e->line, e->key, "not used by cabin");
	return 0;
}

static void nc_finish(struct cfg_walk *w, void *t)
{
	struct node_config *cfg = t;
	if (!cfg->instance_id[0])
		cfg_wwarn(w, 0, "instance-id", "missing: the instance has no id");
}

int meta_parse_nocloud(const char *data, size_t len, const char *source,
		       struct node_config *cfg, struct cfg_diag *diag)
{
	struct cfg_walk w = { .diag = diag, .src = { source ? source : "meta-data", 0 } };
	struct cfg_arena a = { 0 };
	struct cfg_node *root = NULL;
	struct node_config scratch;
	node_config_init(&scratch);
	int rc = load(data ? data : "", data ? len : 0, 1, &w, &a, &root);
	if (rc == 0 && root)
		rc = apply(&w, root, nc_table, NKEYS(nc_table), nc_unknown, &scratch, &scratch,
			   cfg, nc_finish);
	node_config_free(&scratch);
	cfg_arena_free(&a);
	return rc;
}
