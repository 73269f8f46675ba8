/* The #cloud-config keys cabin honours (hostname, fqdn, resolv_conf, manage_resolv_conf,
 * ntp, timezone; write_files and cabin have files of their own), and the notice every
 * other key gets. Lenient where cloud-init is (unknown keys are notices, not errors), but a
 * key cabin acts on must have the right type. */
#include <errno.h>
#include <string.h>

#include "config_int.h"

struct cc_doc {
	struct node_config *cfg;
	char hostname[CFG_FQDN_MAX + 2], fqdn[CFG_FQDN_MAX + 2];	/* "" not given */
};

/* A host name, or a dotted name whose first label is one. 0 when valid, else 1. */
static int name_ok(struct cfg_walk *w, const struct cfg_node *v, const char *path, char *out,
		   size_t outsz, int fqdn)
{
	if (v->type == CFG_T_NULL) {
		cfg_wwarn(w, v->line, path, "no value; ignored");
		return 1;
	}
	if (cfg_get_str(w, v, path, out, outsz, 0))
		return 1;
	const char *dot = strchr(out, '.');
	const char *why = fqdn || dot ? cfg_check_fqdn(out) : cfg_check_hostname(out);
	if (!why && dot && (size_t)(dot - out) > CFG_HOSTNAME_MAX)
		why = "first label longer than 64";
	if (why) {
		cfg_werr(w, v->line, path, "\"%s\": %s", out, why);
		out[0] = '\0';
		return 1;
	}
	return 0;
}

static int cc_hostname(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct cc_doc *doc = t;
	name_ok(w, v, path, doc->hostname, sizeof(doc->hostname), 0);
	return 0;
}

static int cc_fqdn(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cc_doc *doc = t;
	name_ok(w, v, path, doc->fqdn, sizeof(doc->fqdn), 1);
	return 0;
}

/* As cloud-init: fqdn wins and names the host by its first label unless hostname is also
 * given; a dotted hostname without fqdn is both. Both were checked already. */
static void cc_names(struct cfg_walk *w, struct cc_doc *doc)
{
	struct node_config *cfg = doc->cfg;
	if (doc->hostname[0])
		cfg_set_hostname(w, 0, "hostname", doc->hostname, cfg);
	else if (doc->fqdn[0])
		cfg_set_hostname(w, 0, "fqdn", doc->fqdn, cfg);
	if (doc->fqdn[0]) {
		size_t n = strlen(doc->fqdn);
		n -= doc->fqdn[n - 1] == '.';
		memcpy(cfg->fqdn, doc->fqdn, n);
		cfg->fqdn[n] = '\0';
	}
}

static int cc_timezone(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	struct node_config *cfg = ((struct cc_doc *)t)->cfg;
	char tz[CFG_TZ_MAX + 1];
	if (v->type == CFG_T_NULL)
		cfg_wwarn(w, v->line, path, "no value; ignored");
	if (v->type == CFG_T_NULL || cfg_get_str(w, v, path, tz, sizeof(tz), 0))
		return 0;
	const char *why = cfg_check_timezone(tz);
	if (why)
		cfg_werr(w, v->line, path, "\"%s\": %s", tz, why);
	else
		strcpy(cfg->timezone, tz);
	return 0;
}

static int cc_manage_resolv(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			    void *t)
{
	int b;
	if (!cfg_get_bool(w, v, path, &b))
		((struct cc_doc *)t)->cfg->resolv.manage = b;
	return 0;
}

/* ---- resolv_conf ---- */

static int rc_nameservers(struct cfg_walk *w, const struct cfg_node *v, const char *path,
			  void *t)
{
	struct cfg_resolv *r = t;
	int rc = cfg_get_strlist(w, v, path, cfg_check_ip, &r->nameservers);
	if (rc == 0 && v->n > 3)
		cfg_wwarn(w, v->line, path, "%zu given; the resolver uses the first 3", v->n);
	return rc < 0 ? rc : 0;
}

static int rc_search(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	int rc = cfg_get_strlist(w, v, path, cfg_check_fqdn, &((struct cfg_resolv *)t)->search);
	return rc < 0 ? rc : 0;
}

static int rc_domain(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	char d[CFG_FQDN_MAX + 2];
	if (cfg_get_str(w, v, path, d, sizeof(d), 0))
		return 0;
	const char *why = cfg_check_fqdn(d);
	if (why)
		cfg_werr(w, v->line, path, "\"%s\": %s", d, why);
	else
		strcpy(((struct cfg_resolv *)t)->domain, d);
	return 0;
}

/* options: {rotate: true, timeout: 1} -> "rotate", "timeout:1"; false drops the option. */
static int rc_options(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cfg_resolv *r = t;
	char kpath[CFG_PATH_MAX + 1], word[160];
	if (cfg_want(w, v, path, CFG_T_MAP))
		return 0;
	for (const struct cfg_entry *e = v->first; e; e = e->next) {
		cfg_path_key(kpath, path, e->key);
		size_t kl = strlen(e->key);
		if (kl == 0 || kl > 64 || strspn(e->key, "abcdefghijklmnopqrstuvwxyz0123456789-_")
		    != kl) {
			cfg_werr(w, e->line, kpath, "not a resolv.conf option name");
			continue;
		}
		const struct cfg_node *val = e->val;
		if (val->type == CFG_T_BOOL && !val->b)
			continue;
		if (val->type == CFG_T_BOOL || val->type == CFG_T_NULL)
			snprintf(word, sizeof(word), "%s", e->key);
		else if (val->type == CFG_T_INT && !val->overflow && val->i >= 0)
			snprintf(word, sizeof(word), "%s:%lld", e->key, (long long)val->i);
		else {
			cfg_werr(w, val->line, kpath, "expected true, false or a number, got %s",
				 cfg_type_name(val->type));
			continue;
		}
		if (cfg_strlist_add(&r->options, word, strlen(word)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const struct cfg_key resolv_keys[] = {
	{ "nameservers", rc_nameservers },
	{ "searchdomains", rc_search },
	{ "domain", rc_domain },
	{ "options", rc_options },
};

static int cc_resolv(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	struct cfg_resolv *r = &((struct cc_doc *)t)->cfg->resolv;
	if (v->type == CFG_T_NULL)
		return 0;
	return cfg_walk_map(w, v, path, resolv_keys, sizeof(resolv_keys) / sizeof(*resolv_keys),
			    cfg_ignore_unknown, r);
}

/* ---- ntp ---- */

static int ntp_enabled(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	int b;
	if (!cfg_get_bool(w, v, path, &b))
		((struct cfg_ntp *)t)->enabled = b;
	return 0;
}

static int ntp_servers(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		       void *t)
{
	int rc = cfg_get_strlist(w, v, path, cfg_check_host, &((struct cfg_ntp *)t)->servers);
	return rc < 0 ? rc : 0;
}

static int ntp_pools(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	int rc = cfg_get_strlist(w, v, path, cfg_check_host, &((struct cfg_ntp *)t)->pools);
	return rc < 0 ? rc : 0;
}

static const struct cfg_key ntp_keys[] = {
	{ "enabled", ntp_enabled },
	{ "servers", ntp_servers },
	{ "pools", ntp_pools },
};

static int cc_ntp(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	if (v->type == CFG_T_NULL)
		return 0;
	return cfg_walk_map(w, v, path, ntp_keys, sizeof(ntp_keys) / sizeof(*ntp_keys),
			    cfg_ignore_unknown, &((struct cc_doc *)t)->cfg->ntp);
}

/* ---- the top level ---- */

static int cc_cabin(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	return cabin_apply(w, v, path, ((struct cc_doc *)t)->cfg);
}

static int cc_files(struct cfg_walk *w, const struct cfg_node *v, const char *path, void *t)
{
	return cc_write_files(w, v, path, ((struct cc_doc *)t)->cfg);
}

static const struct cfg_key top_keys[] = {
	{ "hostname", cc_hostname },
	{ "fqdn", cc_fqdn },
	{ "write_files", cc_files },
	{ "resolv_conf", cc_resolv },
	{ "manage_resolv_conf", cc_manage_resolv },
	{ "ntp", cc_ntp },
	{ "timezone", cc_timezone },
	{ "cabin", cc_cabin },
};

/* Why a well-known cloud-init key does nothing here. */
static const char *ignored_reason(const char *key)
{
	static const struct { const char *keys, *why; } reasons[] = {
		{ " runcmd bootcmd ", "cabin runs no commands" },
		{ " packages package_update package_upgrade package_reboot_if_required apt "
		  "yum_repos snap apk_repos zypper ", "cabin has no package manager" },
		{ " ssh_authorized_keys ssh_keys ssh_pwauth ssh_deletekeys ssh_genkeytypes "
		  "disable_root users groups user password chpasswd ssh ",
		  "cabin has no login users or ssh" },
		{ " manage_etc_hosts ", "cabind writes /etc/hosts itself" },
		{ " merge_how merge_type ",
		  "cabin merges parts itself: later values win, lists append" },
	};
	char pat[80];
	if (strlen(key) > 60)
		return "not supported by cabin";
	snprintf(pat, sizeof(pat), " %s ", key);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++)
		if (strstr(reasons[i].keys, pat))
			return reasons[i].why;
	return "not supported by cabin";
}

static int cc_unknown(struct cfg_walk *w, const struct cfg_entry *e, const char *path,
		      void *t)
{
	(void)path;
	(void)t;
	cfg_wignored(w, e->line, e->key, "%s", ignored_reason(e->key));
	return 0;
}

int cc_apply(struct cfg_walk *w, const struct cfg_node *root, struct node_config *cfg)
{
	struct cc_doc doc = { .cfg = cfg };
	if (root->type != CFG_T_MAP) {
		cfg_werr(w, root->line, "", "expected a map of keys at the top level, got %s",
			 cfg_type_name(root->type));
		return 0;
	}
	int rc = cfg_walk_map(w, root, "", top_keys, sizeof(top_keys) / sizeof(*top_keys),
			      cc_unknown, &doc);
	if (rc == 0)
		cc_names(w, &doc);
	return rc;
}
