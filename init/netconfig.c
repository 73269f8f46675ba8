/* What the network configuration parsers (OpenStack network_data.json, NoCloud
 * network-config v1 and v2) share: loading, key lookup, and the adders that hold struct
 * net_config to its fixed limits (the value getters are in netconfig_value.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

void net_parse_init(struct net_parse *p, struct cfg_diag *d, const char *source,
		    const char *dflt)
{
	memset(p, 0, sizeof(*p));
	p->w.diag = d;
	p->w.src.name = source ? source : dflt;
}

int net_load(struct net_parse *p, const char *text, size_t len, int yaml,
	     struct cfg_arena *a, struct cfg_node **root)
{
	const char *s = text ? text : "", *q = s, *end = s + (text ? len : 0);
	*root = NULL;
	if (text && len > CFG_META_MAX) {
		cfg_diag_add(p->w.diag, CFG_ERROR, p->w.src.name, 0, 0, "",
			     "%zu bytes; the limit is %u MiB", len, CFG_META_MAX >> 20);
		return CFG_ETOOBIG;
	}
	while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
		q++;
	if (q == end) {
		cfg_diag_add(p->w.diag, CFG_WARNING, p->w.src.name, 0, 0, "", "empty");
		return 0;
	}
	size_t n = (size_t)(end - s);
	int rc = yaml && *q != '{' ? cfg_yaml_load(s, n, &p->w.src, a, p->w.diag, root) :
				     cfg_json_load(s, n, &p->w.src, a, p->w.diag, root);
	if (rc == 0 && (!*root || (*root)->type == CFG_T_NULL)) {
		cfg_diag_add(p->w.diag, CFG_WARNING, p->w.src.name, 0, 0, "", "no keys");
		*root = NULL;
	}
	return rc;
}

int net_parse_done(struct net_parse *p, int rc, struct node_config *cfg)
{
	if (rc == 0 && p->w.errors)
		rc = CFG_EINVALID;
	if (rc == 0 && p->net.present) {
		snprintf(p->net.source, sizeof(p->net.source), "%s", p->w.src.name);
		cfg->net = p->net;
	}
	return rc;
}

int net_keys(struct cfg_walk *w, const struct cfg_node *map, const char *path,
	     const char *const *names, size_t n, const struct cfg_node **v,
	     cfg_unknown_fn unknown)
{
	char kpath[CFG_PATH_MAX + 1];
	const struct cfg_entry *found[32] = { 0 };
	for (size_t i = 0; i < n; i++)
		v[i] = NULL;
	if (n > 32 || cfg_want(w, map, *path ? path : "top level", CFG_T_MAP))
		return 1;
	for (const struct cfg_entry *e = map->first; e; e = e->next) {
		size_t i = 0;
		while (i < n && strcmp(names[i], e->key) != 0)
			i++;
		if (i == n) {
			if (unknown)
				unknown(w, e, path, NULL);
			continue;
		}
		if (found[i]) {
			cfg_path_key(kpath, path, e->key);
			cfg_wwarn(w, found[i]->line, kpath, "given again later; the later one wins");
		}
		found[i] = e;
		v[i] = e->val;
	}
	return 0;
}

const struct cfg_node *net_key(const struct cfg_node *map, const char *name)
{
	const struct cfg_node *v = NULL;
	if (map->type == CFG_T_MAP)
		for (const struct cfg_entry *e = map->first; e; e = e->next)
			if (strcmp(e->key, name) == 0)
				v = e->val;
	return v;
}

/* ---- adders ---- */

struct netcfg_link *net_add_link(struct net_parse *p, unsigned line, const char *path,
				 const char *id)
{
	struct net_config *n = &p->net;
	if (strlen(id) > CFG_NAME_MAX) {
		cfg_werr(&p->w, line, path, "name longer than %d bytes", CFG_NAME_MAX);
		return NULL;
	}
	for (size_t i = 0; i < n->n_links; i++) {
		if (strcmp(n->links[i].id, id) == 0) {
			cfg_werr(&p->w, line, path, "\"%s\" is defined twice (first at line %u)",
				 id, n->links[i].line);
			return NULL;
		}
	}
	if (n->n_links == NETCFG_LINKS_MAX) {
		if (!p->full_links)
			cfg_werr(&p->w, line, path, "more than %d links", NETCFG_LINKS_MAX);
		p->full_links = true;
		return NULL;
	}
	struct netcfg_link *l = &n->links[n->n_links++];
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->line = cfg_wline(&p->w, line);
	return l;
}

int net_add_addr(struct net_parse *p, struct netcfg_link *l, unsigned line,
		 const char *path, const struct netcfg_addr *a)
{
	bool *full = &p->full_addrs[l - p->net.links];
	if (l->n_addrs == NETCFG_ADDRS_MAX) {
		if (!*full)
			cfg_werr(&p->w, line, path, "more than %d addresses on %s", NETCFG_ADDRS_MAX,
				 l->id);
		*full = true;
		return 1;
	}
	l->addrs[l->n_addrs++] = *a;
	return 0;
}

int net_add_route(struct net_parse *p, struct netcfg_link *l, unsigned line,
		  const char *path, const struct netcfg_route *r)
{
	bool *full = &p->full_routes[l - p->net.links];
	if (l->n_routes == NETCFG_ROUTES_MAX) {
		if (!*full)
			cfg_werr(&p->w, line, path, "more than %d routes on %s", NETCFG_ROUTES_MAX,
				 l->id);
		*full = true;
		return 1;
	}
	l->routes[l->n_routes++] = *r;
	return 0;
}

int net_add_gateway(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *gw,
		    const char *path, int fam)
{
	struct netcfg_route r = { 0 };
	if (gw->type == CFG_T_NULL)
		return 0;
	if (net_get_ip(&p->w, gw, path, fam, &r.family, r.gw))
		return 1;
	r.has_gw = 1;
	return net_add_route(p, l, gw->line, path, &r);
}

int net_add_dns(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	struct netcfg_addr a = { 0 };
	struct net_config *n = &p->net;
	if (net_get_ip(&p->w, v, path, 0, &a.family, a.addr))
		return 1;
	for (size_t i = 0; i < n->n_dns; i++)
		if (n->dns[i].family == a.family && !memcmp(n->dns[i].addr, a.addr, 16))
			return 0;
	if (n->n_dns == NETCFG_DNS_MAX) {
		if (!p->full_dns)
			cfg_werr(&p->w, v->line, path, "more than %d name servers", NETCFG_DNS_MAX);
		p->full_dns = true;
		return 1;
	}
	n->dns[n->n_dns++] = a;
	return 0;
}

int net_add_search(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	char s[CFG_FQDN_MAX + 2];
	struct net_config *n = &p->net;
	if (cfg_get_str(&p->w, v, path, s, sizeof(s), 0))
		return 1;
	const char *why = cfg_check_fqdn(s);
	if (why) {
		cfg_werr(&p->w, v->line, path, "\"%s\": %s", s, why);
		return 1;
	}
	size_t len = strlen(s);
	s[len - (len > 1 && s[len - 1] == '.')] = '\0';
	for (size_t i = 0; i < n->n_search; i++)
		if (strcasecmp(n->search[i], s) == 0)
			return 0;
	if (n->n_search == NETCFG_SEARCH_MAX) {
		if (!p->full_search)
			cfg_werr(&p->w, v->line, path, "more than %d search domains",
				 NETCFG_SEARCH_MAX);
		p->full_search = true;
		return 1;
	}
	strcpy(n->search[n->n_search++], s);
	return 0;
}

int net_each_str(struct net_parse *p, const struct cfg_node *v, const char *path,
		 int (*fn)(struct net_parse *, const struct cfg_node *, const char *))
{
	char ipath[CFG_PATH_MAX + 1];
	size_t i = 0;
	if (v->type != CFG_T_SEQ && v->type != CFG_T_NULL)
		return fn(p, v, path);
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		fn(p, e->val, ipath);
	}
	return 0;
}
