/* NoCloud network-config: finds the configuration (at the top, or under "network:"),
 * checks its version, and walks version 1 here (a list of physical interfaces with their
 * subnets, name servers and routes); version 2 is in netconfig_v2.c. Unknown keys get a
 * notice: this file is written by hand, and a misspelt key should not pass unseen. */
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

/* ---- routes: in subnets, and as config entries of their own ---- */

enum { R_TYPE, R_DEST, R_NET, R_MASK, R_PREFIX, R_GW, R_METRIC, R_N };
static const char *const route_keys[R_N] = { "type", "destination", "network", "netmask",
	"prefix", "gateway", "metric" };

/* Of two keys that mean the same, the one given; both is an error. */
static int one_of(struct cfg_walk *w, const struct cfg_node **k, int a, int b,
		  const char *const *names, const char *path, int *which)
{
	char kpath[CFG_PATH_MAX + 1];
	*which = k[b] && !k[a] ? b : a;
	if (k[a] && k[b]) {
		cfg_path_key(kpath, path, names[b]);
		cfg_werr(w, k[b]->line, kpath, "%s is given too; give one of them", names[a]);
		return 1;
	}
	return 0;
}

static int v1_route(struct net_parse *p, const struct cfg_node *v, const char *path,
		    struct netcfg_route *r)
{
	const struct cfg_node *k[R_N];
	int dst, mask;
	if (net_keys(&p->w, v, path, route_keys, R_N, k, cfg_ignore_unknown) ||
	    one_of(&p->w, k, R_DEST, R_NET, route_keys, path, &dst) ||
	    one_of(&p->w, k, R_MASK, R_PREFIX, route_keys, path, &mask))
		return 1;
	struct net_route_keys rk = { k[dst], k[mask], k[R_GW], k[R_METRIC], route_keys[dst],
				     route_keys[mask], "gateway", "metric" };
	return net_get_route(&p->w, path, v->line, &rk, 0, r);
}

static void v1_routes(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *v,
		      const char *path)
{
	char ipath[CFG_PATH_MAX + 1];
	struct netcfg_route r;
	size_t i = 0;
	if (cfg_want(&p->w, v, path, CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (!v1_route(p, e->val, ipath, &r))
			net_add_route(p, l, e->val->line, ipath, &r);
	}
}

static int same_prefix(const uint8_t *a, const uint8_t *b, int prefix)
{
	int whole = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return !rest || !((a[whole] ^ b[whole]) & (0xff00 >> rest));
}

/* A route entry of config belongs to the link whose static subnet holds its gateway, or
 * else to the first physical link: the kernel would send it that way too. */
static struct netcfg_link *route_link(struct net_config *n, const struct netcfg_route *r)
{
	for (size_t i = 0; r->has_gw && i < n->n_links; i++)
		for (size_t j = 0; j < n->links[i].n_addrs; j++)
			if (n->links[i].addrs[j].family == r->family &&
			    same_prefix(n->links[i].addrs[j].addr, r->gw, n->links[i].addrs[j].prefix))
				return &n->links[i];
	return n->n_links ? &n->links[0] : NULL;
}

static void v1_global_route(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	struct netcfg_route r;
	if (v1_route(p, v, path, &r))
		return;
	struct netcfg_link *l = route_link(&p->net, &r);
	if (l)
		net_add_route(p, l, v->line, path, &r);
	else
		cfg_werr(&p->w, v->line, path, "no physical interface to carry the route");
}

/* ---- subnets ---- */

enum { S_TYPE, S_ADDR, S_MASK, S_PREFIX, S_GW, S_DNS, S_SEARCH, S_ROUTES, S_N };
static const char *const subnet_keys[S_N] = { "type", "address", "netmask", "prefix",
	"gateway", "dns_nameservers", "dns_search", "routes" };

static const char *const auto6_types[] = { "dhcp6", "ipv6_slaac", "ipv6_dhcpv6-stateless",
	"ipv6_dhcpv6-stateful" };

static void v1_static(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *v,
		      const struct cfg_node **k, const char *path, int family)
{
	char kpath[CFG_PATH_MAX + 1], mpath[CFG_PATH_MAX + 1];
	struct netcfg_addr a;
	int mask;
	cfg_path_key(kpath, path, "address");
	if (!k[S_ADDR]) {
		cfg_werr(&p->w, v->line, kpath, "missing");
		return;
	}
	if (one_of(&p->w, k, S_MASK, S_PREFIX, subnet_keys, path, &mask))
		return;
	cfg_path_key(mpath, path, subnet_keys[mask]);
	if (net_get_addr(&p->w, k[S_ADDR], kpath, k[mask], mpath, family, &a) ||
	    net_add_addr(p, l, k[S_ADDR]->line, kpath, &a))
		return;
	cfg_path_key(kpath, path, "gateway");
	if (k[S_GW])
		net_add_gateway(p, l, k[S_GW], kpath, a.family);
}

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static void v1_subnet(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *v,
		      const char *path)
{
	const struct cfg_node *k[S_N];
	char kpath[CFG_PATH_MAX + 1], type[32];
	if (net_keys(&p->w, v, path, subnet_keys, S_N, k, cfg_ignore_unknown))
		return;
	cfg_path_key(kpath, path, "type");
	if (!k[S_TYPE])
		cfg_werr(&p->w, v->line, kpath, "missing");
	if (k[S_TYPE] && !cfg_get_str(&p->w, k[S_TYPE], kpath, type, sizeof(type), 0)) {
		int is_static = !strcmp(type, "static") || !strcmp(type, "static6");
		if (is_static)
			v1_static(p, l, v, k, path, type[6] == '6' ? AF_INET6 : 0);
		else if (!strcmp(type, "dhcp") || !strcmp(type, "dhcp4"))
			l->dhcp4 = 1;
		else if (in_list(type, auto6_types, sizeof(auto6_types) / sizeof(*auto6_types)))
			l->ipv6_auto = 1;
		else if (strcmp(type, "manual") != 0)
			cfg_werr(&p->w, k[S_TYPE]->line, kpath, "\"%s\": not a subnet type cabin "
				 "knows (dhcp, dhcp6, ipv6_slaac, static, static6, manual, ...)", type);
		if (!is_static && (k[S_ADDR] || k[S_GW]))
			cfg_wignored(&p->w, v->line, path, "address and gateway are used by static "
				     "subnets only");
	}
	cfg_path_key(kpath, path, "dns_nameservers");
	if (k[S_DNS])
		net_each_str(p, k[S_DNS], kpath, net_add_dns);
	cfg_path_key(kpath, path, "dns_search");
	if (k[S_SEARCH])
		net_each_str(p, k[S_SEARCH], kpath, net_add_search);
	cfg_path_key(kpath, path, "routes");
	if (k[S_ROUTES])
		v1_routes(p, l, k[S_ROUTES], kpath);
}

/* ---- config entries ---- */

enum { P_TYPE, P_NAME, P_MAC, P_MTU, P_SUBNETS, P_N };
static const char *const phys_keys[P_N] = { "type", "name", "mac_address", "mtu",
	"subnets" };

static void v1_physical(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	const struct cfg_node *k[P_N];
	char kpath[CFG_PATH_MAX + 1], name[16];
	uint8_t mac[6];
	unsigned mtu = 0;
	net_keys(&p->w, v, path, phys_keys, P_N, k, cfg_ignore_unknown);
	cfg_path_key(kpath, path, "name");
	if (!k[P_NAME])
		cfg_werr(&p->w, v->line, kpath, "missing");
	int bad = !k[P_NAME] || net_get_ifname(&p->w, k[P_NAME], kpath, name);
	cfg_path_key(kpath, path, "mac_address");
	int has_mac = k[P_MAC] && !net_get_mac(&p->w, k[P_MAC], kpath, mac);
	cfg_path_key(kpath, path, "mtu");
	if (k[P_MTU])
		net_get_mtu(&p->w, k[P_MTU], kpath, &mtu);
	/* made despite a wrong mac or mtu, so that errors in its subnets are found too */
	struct netcfg_link *l = bad ? NULL : net_add_link(p, v->line, path, name);
	if (!l)
		return;
	strcpy(l->name, name);
	l->has_mac = has_mac;
	if (has_mac)
		memcpy(l->mac, mac, 6);
	l->mtu = mtu;
	cfg_path_key(kpath, path, "subnets");
	if (!k[P_SUBNETS] || cfg_want(&p->w, k[P_SUBNETS], kpath, CFG_T_SEQ))
		return;
	char spath[CFG_PATH_MAX + 1];
	size_t i = 0;
	for (const struct cfg_entry *e = k[P_SUBNETS]->first; e; e = e->next, i++) {
		cfg_path_index(spath, kpath, i);
		v1_subnet(p, l, e->val, spath);
	}
}

enum { NS_TYPE, NS_ADDR, NS_SEARCH, NS_N };
static const char *const ns_keys[NS_N] = { "type", "address", "search" };

static void v1_nameserver(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	const struct cfg_node *k[NS_N];
	char kpath[CFG_PATH_MAX + 1];
	net_keys(&p->w, v, path, ns_keys, NS_N, k, cfg_ignore_unknown);
	cfg_path_key(kpath, path, "address");
	if (k[NS_ADDR])
		net_each_str(p, k[NS_ADDR], kpath, net_add_dns);
	cfg_path_key(kpath, path, "search");
	if (k[NS_SEARCH])
		net_each_str(p, k[NS_SEARCH], kpath, net_add_search);
}

static const char *const skipped_types[] = { "bond", "bridge", "vlan", "infiniband" };

/* One entry of config, routes excepted (they come after every link is known). */
static void v1_entry(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	char tpath[CFG_PATH_MAX + 1], type[32];
	cfg_path_key(tpath, path, "type");
	if (cfg_want(&p->w, v, path, CFG_T_MAP))
		return;
	const struct cfg_node *t = net_key(v, "type");
	if (!t)
		cfg_werr(&p->w, v->line, tpath, "missing");
	if (!t || cfg_get_str(&p->w, t, tpath, type, sizeof(type), 0))
		return;
	if (strcmp(type, "physical") == 0)
		v1_physical(p, v, path);
	else if (strcmp(type, "nameserver") == 0)
		v1_nameserver(p, v, path);
	else if (in_list(type, skipped_types, sizeof(skipped_types) / sizeof(*skipped_types)))
		cfg_wignored(&p->w, t->line, tpath, "%s interfaces are not supported by cabin; "
			     "skipped", type);
	else if (strcmp(type, "route") != 0)
		cfg_werr(&p->w, t->line, tpath, "\"%s\": not a type cabin knows (physical, "
			 "nameserver, route, ...)", type);
}

static int is_route(const struct cfg_node *v)
{
	const struct cfg_node *t = net_key(v, "type");
	return t && t->type == CFG_T_STR && strcmp(t->str, "route") == 0;
}

enum { V_VERSION, V_CONFIG, V_N };
static const char *const v1_keys[V_N] = { "version", "config" };

int net_nocloud_v1(struct net_parse *p, const struct cfg_node *root, const char *path)
{
	const struct cfg_node *k[V_N];
	char cpath[CFG_PATH_MAX + 1], ipath[CFG_PATH_MAX + 1];
	size_t i = 0;
	net_keys(&p->w, root, path, v1_keys, V_N, k, cfg_ignore_unknown);
	cfg_path_key(cpath, path, "config");
	if (!k[V_CONFIG] || cfg_want(&p->w, k[V_CONFIG], cpath, CFG_T_SEQ))
		return 0;
	for (const struct cfg_entry *e = k[V_CONFIG]->first; e; e = e->next, i++) {
		cfg_path_index(ipath, cpath, i);
		v1_entry(p, e->val, ipath);
	}
	i = 0;
	for (const struct cfg_entry *e = k[V_CONFIG]->first; e; e = e->next, i++) {
		cfg_path_index(ipath, cpath, i);
		if (is_route(e->val))
			v1_global_route(p, e->val, ipath);
	}
	return 0;
}

/* ---- the entry point ---- */

/* The configuration proper: root, or what its network key holds. NULL when there is
 * none (a warning says so). */
static const struct cfg_node *nc_unwrap(struct net_parse *p, const struct cfg_node *root,
					const char **path)
{
	static const char *const wrap_keys[] = { "network" };
	const struct cfg_node *v;
	*path = "";
	if (root->type != CFG_T_MAP) {
		cfg_werr(&p->w, root->line, "", "expected a map at the top level, got %s",
			 cfg_type_name(root->type));
		return NULL;
	}
	if (!net_key(root, "network"))
		return root;
	net_keys(&p->w, root, "", wrap_keys, 1, &v, cfg_ignore_unknown);
	*path = "network";
	if (cfg_want(&p->w, v, "network", CFG_T_MAP))
		return NULL;
	if (v->type == CFG_T_NULL) {
		cfg_wwarn(&p->w, v->line, "network", "empty");
		return NULL;
	}
	return v;
}

static void nc_apply(struct net_parse *p, const struct cfg_node *root)
{
	char kpath[CFG_PATH_MAX + 1];
	const char *path;
	const struct cfg_node *cfg = nc_unwrap(p, root, &path), *v, *c;
	if (!cfg)
		return;
	if ((c = net_key(cfg, "config")) && c->type == CFG_T_STR &&
	    strcmp(c->str, "disabled") == 0) {
		cfg_path_key(kpath, path, "config");
		cfg_wignored(&p->w, c->line, kpath, "\"disabled\": links get DHCPv4 as without "
			     "a network-config");
		return;
	}
	cfg_path_key(kpath, path, "version");
	if (!(v = net_key(cfg, "version"))) {
		cfg_werr(&p->w, cfg->line, kpath, "missing (1 or 2)");
	} else if (v->type == CFG_T_INT && (v->i == 1 || v->i == 2) && !v->overflow) {
		p->net.present = 1;
		(v->i == 1 ? net_nocloud_v1 : net_nocloud_v2)(p, cfg, path);
	} else {
		int q = v->type == CFG_T_STR, scalar = q || v->type == CFG_T_INT ||
			v->type == CFG_T_FLOAT || v->type == CFG_T_BOOL;
		cfg_werr(&p->w, v->line, kpath, "%s%s%s: not a version cabin knows (1 or 2)",
			 q ? "\"" : "", scalar ? v->str : cfg_type_name(v->type), q ? "\"" : "");
	}
}

int net_parse_nocloud(const char *data, size_t len, const char *source,
		      struct node_config *cfg, struct cfg_diag *diag)
{
	struct net_parse p;
	struct cfg_arena a = { 0 };
	struct cfg_node *root;
	net_parse_init(&p, diag, source, "network-config");
	int rc = net_load(&p, data, len, 1, &a, &root);
	if (rc == 0 && root)
		nc_apply(&p, root);
	rc = net_parse_done(&p, rc, cfg);
	cfg_arena_free(&a);
	return rc;
}
