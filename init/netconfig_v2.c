/* NoCloud network-config version 2 (netplan's schema): the ethernets, each matched by MAC
 * address or interface name, with DHCP, addresses, gateways, routes and name servers.
 * Bonds, bridges, VLANs and Wi-Fi get a notice; unknown keys too. */
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

enum { R_TO, R_VIA, R_METRIC, R_ONLINK, R_N };
static const char *const route_keys[R_N] = { "to", "via", "metric", "on-link" };

static void v2_routes(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *v,
		      const char *path)
{
	char ipath[CFG_PATH_MAX + 1], kpath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[R_N];
	struct netcfg_route r;
	size_t i = 0;
	int onlink;
	if (cfg_want(&p->w, v, path, CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (net_keys(&p->w, e->val, ipath, route_keys, R_N, k, cfg_ignore_unknown))
			continue;
		cfg_path_key(kpath, ipath, "on-link");
		if (k[R_ONLINK] && !cfg_get_bool(&p->w, k[R_ONLINK], kpath, &onlink) && onlink)
			cfg_wignored(&p->w, k[R_ONLINK]->line, kpath, "the route is added without "
				     "the onlink flag");
		struct net_route_keys rk = { k[R_TO], NULL, k[R_VIA], k[R_METRIC], "to", NULL,
					     "via", "metric" };
		if (!net_get_route(&p->w, ipath, e->val->line, &rk, 0, &r))
			net_add_route(p, l, e->val->line, ipath, &r);
	}
}

static void v2_addresses(struct net_parse *p, struct netcfg_link *l,
			 const struct cfg_node *v, const char *path)
{
	char ipath[CFG_PATH_MAX + 1];
	struct netcfg_addr a;
	size_t i = 0;
	if (cfg_want(&p->w, v, path, CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (!net_get_addr(&p->w, e->val, ipath, NULL, NULL, 0, &a))
			net_add_addr(p, l, e->val->line, ipath, &a);
	}
}

enum { NS_ADDRS, NS_SEARCH, NS_N };
static const char *const ns_keys[NS_N] = { "addresses", "search" };

static void v2_nameservers(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	char kpath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[NS_N];
	if (net_keys(&p->w, v, path, ns_keys, NS_N, k, cfg_ignore_unknown))
		return;
	cfg_path_key(kpath, path, "addresses");
	if (k[NS_ADDRS] && !cfg_want(&p->w, k[NS_ADDRS], kpath, CFG_T_SEQ))
		net_each_str(p, k[NS_ADDRS], kpath, net_add_dns);
	cfg_path_key(kpath, path, "search");
	if (k[NS_SEARCH] && !cfg_want(&p->w, k[NS_SEARCH], kpath, CFG_T_SEQ))
		net_each_str(p, k[NS_SEARCH], kpath, net_add_search);
}

/* ---- which interface: match (macaddress, name), else the id is the name ---- */

struct v2_match {
	char name[16];
	uint8_t mac[6];
	int has_mac;
};

enum { M_MAC, M_NAME, M_DRIVER, M_N };
static const char *const match_keys[M_N] = { "macaddress", "name", "driver" };

/* 0 with m filled; 1 when the entry cannot be used (an error or a notice says why). */
static int v2_match(struct net_parse *p, const struct cfg_node *v, const char *path,
		    struct v2_match *m)
{
	char kpath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[M_N];
	if (net_keys(&p->w, v, path, match_keys, M_N, k, cfg_ignore_unknown))
		return 1;
	cfg_path_key(kpath, path, "driver");
	if (k[M_DRIVER])
		cfg_wignored(&p->w, k[M_DRIVER]->line, kpath, "cabin matches by macaddress or "
			     "name only");
	cfg_path_key(kpath, path, "macaddress");
	if (k[M_MAC] && net_get_mac(&p->w, k[M_MAC], kpath, m->mac))
		return 1;
	m->has_mac = k[M_MAC] != NULL;
	cfg_path_key(kpath, path, "name");
	const struct cfg_node *n = k[M_NAME];
	if (n && n->type == CFG_T_STR && strpbrk(n->str, "*?[")) {
		cfg_wignored(&p->w, n->line, kpath, "name patterns are not supported by cabin%s",
			     m->has_mac ? "; matched by macaddress" :
			     ": skipped (links not named get DHCPv4)");
		return !m->has_mac;
	}
	if (n && net_get_ifname(&p->w, n, kpath, m->name))
		return 1;
	if (!n && !m->has_mac) {
		cfg_wignored(&p->w, v->line, path, "neither macaddress nor name: not supported "
			     "by cabin; skipped");
		return 1;
	}
	return 0;
}

enum { E_MATCH, E_SETNAME, E_DHCP4, E_DHCP6, E_ADDRS, E_GW4, E_GW6, E_ROUTES, E_NS, E_MTU,
       E_N };
static const char *const eth_keys[E_N] = { "match", "set-name", "dhcp4", "dhcp6",
	"addresses", "gateway4", "gateway6", "routes", "nameservers", "mtu" };

/* The link of ethernets.ID, or NULL. */
static struct netcfg_link *v2_link(struct net_parse *p, const struct cfg_entry *e,
				   const struct cfg_node **k, const char *path)
{
	char kpath[CFG_PATH_MAX + 1], id[CFG_NAME_MAX + 1];
	struct v2_match m = { 0 };
	unsigned mtu = 0;
	/* the id as a node of its own, so that it is checked as a value is */
	struct cfg_node idn = { .type = CFG_T_STR, .line = e->line, .str = e->key,
				.len = strlen(e->key) };
	if (cfg_get_str(&p->w, &idn, path, id, sizeof(id), 0))
		return NULL;
	cfg_path_key(kpath, path, "match");
	if (k[E_MATCH] ? v2_match(p, k[E_MATCH], kpath, &m) :
			 net_get_ifname(&p->w, &idn, path, m.name))
		return NULL;
	cfg_path_key(kpath, path, "mtu");
	if (k[E_MTU])
		net_get_mtu(&p->w, k[E_MTU], kpath, &mtu);
	struct netcfg_link *l = net_add_link(p, e->line, path, id);
	if (l) {
		strcpy(l->name, m.name);
		memcpy(l->mac, m.mac, 6);
		l->has_mac = m.has_mac;
		l->mtu = mtu;
	}
	return l;
}

static void v2_ethernet(struct net_parse *p, const struct cfg_entry *e, const char *path)
{
	char kpath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[E_N];
	int b;
	if (net_keys(&p->w, e->val, path, eth_keys, E_N, k, cfg_ignore_unknown))
		return;
	struct netcfg_link *l = v2_link(p, e, k, path);
	if (!l)
		return;
	cfg_path_key(kpath, path, "set-name");
	if (k[E_SETNAME])
		cfg_wignored(&p->w, k[E_SETNAME]->line, kpath, "cabin does not rename "
			     "interfaces");
	cfg_path_key(kpath, path, "dhcp4");
	if (k[E_DHCP4] && !cfg_get_bool(&p->w, k[E_DHCP4], kpath, &b))
		l->dhcp4 = b;
	cfg_path_key(kpath, path, "dhcp6");
	if (k[E_DHCP6] && !cfg_get_bool(&p->w, k[E_DHCP6], kpath, &b))
		l->ipv6_auto = b;
	cfg_path_key(kpath, path, "addresses");
	if (k[E_ADDRS])
		v2_addresses(p, l, k[E_ADDRS], kpath);
	cfg_path_key(kpath, path, "gateway4");
	if (k[E_GW4])
		net_add_gateway(p, l, k[E_GW4], kpath, AF_INET);
	cfg_path_key(kpath, path, "gateway6");
	if (k[E_GW6])
		net_add_gateway(p, l, k[E_GW6], kpath, AF_INET6);
	cfg_path_key(kpath, path, "routes");
	if (k[E_ROUTES])
		v2_routes(p, l, k[E_ROUTES], kpath);
	cfg_path_key(kpath, path, "nameservers");
	if (k[E_NS])
		v2_nameservers(p, k[E_NS], kpath);
}

enum { T_VERSION, T_RENDERER, T_ETHERNETS, T_BONDS, T_BRIDGES, T_VLANS, T_WIFIS,
       T_TUNNELS, T_VRFS, T_MODEMS, T_N };
static const char *const top_keys[T_N] = { "version", "renderer", "ethernets", "bonds",
	"bridges", "vlans", "wifis", "tunnels", "vrfs", "modems" };

int net_nocloud_v2(struct net_parse *p, const struct cfg_node *root, const char *path)
{
	char kpath[CFG_PATH_MAX + 1], epath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[T_N];
	net_keys(&p->w, root, path, top_keys, T_N, k, cfg_ignore_unknown);
	for (int i = T_BONDS; i < T_N; i++) {
		cfg_path_key(kpath, path, top_keys[i]);
		if (k[i])
			cfg_wignored(&p->w, k[i]->line, kpath, "not supported by cabin; skipped");
	}
	cfg_path_key(kpath, path, "ethernets");
	if (!k[T_ETHERNETS] || cfg_want(&p->w, k[T_ETHERNETS], kpath, CFG_T_MAP))
		return 0;
	for (const struct cfg_entry *e = k[T_ETHERNETS]->first; e; e = e->next) {
		cfg_path_key(epath, kpath, e->key);
		v2_ethernet(p, e, epath);
	}
	return 0;
}
