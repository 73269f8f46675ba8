/* OpenStack network_data.json (config drive or metadata service): links, the networks on
 * them, DNS services. Clouds add keys freely, so keys cabin does not use are skipped
 * without a notice; the values it does use are checked strictly. */
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

#define NKEYS(t) (sizeof(t) / sizeof(*(t)))

/* Entries of links[], VLANs and bonds included: networks look their link up by id. */
#define OS_LINKS_MAX (4 * NETCFG_LINKS_MAX)

struct os_link {
	const char *id;
	struct netcfg_link *l;		/* NULL: skipped (bond, VLAN) or in error */
};

struct os_net {
	struct net_parse *p;
	struct os_link links[OS_LINKS_MAX];
	size_t n_links;
};

/* Types of links the guest sees as an Ethernet interface of its own. */
static const char *const plain_types[] = { "phy", "ovs", "bridge", "tap", "vif",
	"vhostuser", "hw_veb", "dvs", "ethernet", "hyperv", "" };

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

enum { L_ID, L_TYPE, L_MAC, L_MTU, L_N };
static const char *const link_keys[L_N] = { "id", "type", "ethernet_mac_address", "mtu" };

/* The link's type decides: a plain link (returned), skipped (notice), or NULL. */
static struct netcfg_link *os_link(struct os_net *o, const struct cfg_node *v,
				   const struct cfg_node **k, const char *path, const char *id)
{
	struct cfg_walk *w = &o->p->w;
	char kpath[CFG_PATH_MAX + 1], type[64] = "";
	uint8_t mac[6];
	unsigned mtu = 0;
	cfg_path_key(kpath, path, "type");
	if (k[L_TYPE] && cfg_get_str(w, k[L_TYPE], kpath, type, sizeof(type), CFG_S_EMPTY))
		return NULL;
	if (!strcmp(type, "bond") || !strcmp(type, "vlan")) {
		cfg_wignored(w, v->line, kpath, "%s links are not supported by cabin; the link "
			     "and its networks are skipped", type);
		return NULL;
	}
	if (!in_list(type, plain_types, NKEYS(plain_types)))
		cfg_wwarn(w, k[L_TYPE]->line, kpath, "\"%s\": unknown; configured as an Ethernet "
			  "link", type);
	/* A link with a wrong value is still made: the parse fails, but the errors in its
	 * networks are found too. */
	cfg_path_key(kpath, path, "ethernet_mac_address");
	if (!k[L_MAC])
		cfg_werr(w, v->line, kpath, "missing");
	int has_mac = k[L_MAC] && !net_get_mac(w, k[L_MAC], kpath, mac);
	cfg_path_key(kpath, path, "mtu");
	if (k[L_MTU])
		net_get_mtu(w, k[L_MTU], kpath, &mtu);
	struct netcfg_link *l = net_add_link(o->p, v->line, path, id);
	if (l && has_mac) {
		memcpy(l->mac, mac, 6);
		l->has_mac = 1;
	}
	if (l)
		l->mtu = mtu;
	return l;
}

/* A link's id: a string, unique among links[]. NULL after an error. */
static const char *os_link_id(struct os_net *o, const struct cfg_node *v,
			      const struct cfg_node *idv, const char *path)
{
	struct cfg_walk *w = &o->p->w;
	char kpath[CFG_PATH_MAX + 1], id[CFG_NAME_MAX + 1];
	cfg_path_key(kpath, path, "id");
	if (!idv) {
		cfg_werr(w, v->line, kpath, "missing");
		return NULL;
	}
	if (cfg_get_str(w, idv, kpath, id, sizeof(id), 0))
		return NULL;
	for (size_t i = 0; i < o->n_links; i++) {
		if (strcmp(o->links[i].id, id) == 0) {
			cfg_werr(w, idv->line, kpath, "\"%s\" is the id of an earlier link too", id);
			return NULL;
		}
	}
	return idv->str;
}

static void os_links(struct os_net *o, const struct cfg_node *v)
{
	char ipath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[L_N];
	size_t i = 0;
	if (cfg_want(&o->p->w, v, "links", CFG_T_SEQ))
		return;
	if (v->n > OS_LINKS_MAX) {
		cfg_werr(&o->p->w, v->line, "links", "more than %d entries", OS_LINKS_MAX);
		return;
	}
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, "links", i);
		if (net_keys(&o->p->w, e->val, ipath, link_keys, L_N, k, NULL))
			continue;
		const char *id = os_link_id(o, e->val, k[L_ID], ipath);
		if (!id)
			continue;
		o->links[o->n_links].id = id;
		o->links[o->n_links++].l = os_link(o, e->val, k, ipath, id);
	}
}

/* ---- networks ---- */

enum { N_TYPE, N_LINK, N_IP, N_MASK, N_GW, N_ROUTES, N_SERVICES, N_N };
static const char *const net_keys_os[N_N] = { "type", "link", "ip_address", "netmask",
	"gateway", "routes", "services" };

enum { R_NET, R_MASK, R_GW, R_N };
static const char *const route_keys[R_N] = { "network", "netmask", "gateway" };

static void os_routes(struct net_parse *p, struct netcfg_link *l, const struct cfg_node *v,
		      const char *path, int family)
{
	char ipath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[R_N];
	struct netcfg_route r;
	size_t i = 0;
	if (cfg_want(&p->w, v, path, CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (net_keys(&p->w, e->val, ipath, route_keys, R_N, k, NULL))
			continue;
		struct net_route_keys rk = { k[R_NET], k[R_MASK], k[R_GW], NULL, "network",
					     "netmask", "gateway", NULL };
		if (!net_get_route(&p->w, ipath, e->val->line, &rk, family, &r))
			net_add_route(p, l, e->val->line, ipath, &r);
	}
}

enum { S_TYPE, S_ADDR, S_N };
static const char *const service_keys[S_N] = { "type", "address" };

/* services[]: the dns ones; other types are not ours. */
static void os_services(struct net_parse *p, const struct cfg_node *v, const char *path)
{
	char ipath[CFG_PATH_MAX + 1], kpath[CFG_PATH_MAX + 1];
	const struct cfg_node *k[S_N];
	size_t i = 0;
	if (cfg_want(&p->w, v, path, CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, path, i);
		if (net_keys(&p->w, e->val, ipath, service_keys, S_N, k, NULL) || !k[S_TYPE] ||
		    k[S_TYPE]->type != CFG_T_STR || strcmp(k[S_TYPE]->str, "dns") != 0)
			continue;
		cfg_path_key(kpath, ipath, "address");
		if (!k[S_ADDR])
			cfg_werr(&p->w, e->val->line, kpath, "missing");
		else
			net_add_dns(p, k[S_ADDR], kpath);
	}
}

static void os_static(struct net_parse *p, struct netcfg_link *l, const struct cfg_node **k,
		      const char *path, unsigned line, int family)
{
	char kpath[CFG_PATH_MAX + 1], mpath[CFG_PATH_MAX + 1];
	struct netcfg_addr a;
	cfg_path_key(kpath, path, "ip_address");
	cfg_path_key(mpath, path, "netmask");
	if (!k[N_IP])
		cfg_werr(&p->w, line, kpath, "missing");
	else if (!net_get_addr(&p->w, k[N_IP], kpath, k[N_MASK], mpath, family, &a))
		net_add_addr(p, l, k[N_IP]->line, kpath, &a);
	cfg_path_key(kpath, path, "gateway");
	if (k[N_GW])
		net_add_gateway(p, l, k[N_GW], kpath, family);
	cfg_path_key(kpath, path, "routes");
	if (k[N_ROUTES])
		os_routes(p, l, k[N_ROUTES], kpath, family);
}

static const char *const auto6_types[] = { "ipv6_dhcp", "ipv6_dhcpv6-stateful",
	"ipv6_dhcpv6-stateless", "ipv6_slaac" };

/* The link a network names: its entry, or NULL (an unknown id is an error). */
static const struct os_link *os_find(struct os_net *o, const struct cfg_node *v,
				     const char *path, unsigned line)
{
	char id[CFG_NAME_MAX + 1];
	if (!v) {
		cfg_werr(&o->p->w, line, path, "missing");
		return NULL;
	}
	if (cfg_get_str(&o->p->w, v, path, id, sizeof(id), 0))
		return NULL;
	for (size_t i = 0; i < o->n_links; i++)
		if (strcmp(o->links[i].id, id) == 0)
			return &o->links[i];
	cfg_werr(&o->p->w, v->line, path, "\"%s\": no link has this id", id);
	return NULL;
}

static void os_network(struct os_net *o, const struct cfg_node *v, const char *path)
{
	struct net_parse *p = o->p;
	const struct cfg_node *k[N_N];
	char kpath[CFG_PATH_MAX + 1], type[64];
	if (net_keys(&p->w, v, path, net_keys_os, N_N, k, NULL))
		return;
	cfg_path_key(kpath, path, "services");
	if (k[N_SERVICES])
		os_services(p, k[N_SERVICES], kpath);
	cfg_path_key(kpath, path, "link");
	const struct os_link *ol = os_find(o, k[N_LINK], kpath, v->line);
	cfg_path_key(kpath, path, "type");
	if (!k[N_TYPE]) {
		cfg_werr(&p->w, v->line, kpath, "missing");
		return;
	}
	if (cfg_get_str(&p->w, k[N_TYPE], kpath, type, sizeof(type), 0) || !ol || !ol->l)
		return;
	if (strcmp(type, "ipv4_dhcp") == 0)
		ol->l->dhcp4 = 1;
	else if (in_list(type, auto6_types, NKEYS(auto6_types)))
		ol->l->ipv6_auto = 1;
	else if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0)
		os_static(p, ol->l, k, path, v->line, type[3] == '4' ? AF_INET : AF_INET6);
	else
		cfg_werr(&p->w, k[N_TYPE]->line, kpath, "\"%s\": not a network type cabin knows "
			 "(ipv4, ipv6, ipv4_dhcp, ipv6_dhcp, ipv6_slaac, ...)", type);
}

static void os_networks(struct os_net *o, const struct cfg_node *v)
{
	char ipath[CFG_PATH_MAX + 1];
	size_t i = 0;
	if (cfg_want(&o->p->w, v, "networks", CFG_T_SEQ))
		return;
	for (const struct cfg_entry *e = v->first; e; e = e->next, i++) {
		cfg_path_index(ipath, "networks", i);
		os_network(o, e->val, ipath);
	}
}

enum { T_LINKS, T_NETWORKS, T_SERVICES, T_N };
static const char *const top_keys[T_N] = { "links", "networks", "services" };

/* Links first (networks name them), then the global name servers, then the networks'. */
static void os_apply(struct os_net *o, const struct cfg_node *root)
{
	const struct cfg_node *k[T_N];
	if (root->type != CFG_T_MAP) {
		cfg_werr(&o->p->w, root->line, "", "expected a map at the top level, got %s",
			 cfg_type_name(root->type));
		return;
	}
	net_keys(&o->p->w, root, "", top_keys, T_N, k, NULL);
	o->p->net.present = 1;
	if (k[T_LINKS])
		os_links(o, k[T_LINKS]);
	if (k[T_SERVICES])
		os_services(o->p, k[T_SERVICES], "services");
	if (k[T_NETWORKS])
		os_networks(o, k[T_NETWORKS]);
}

int net_parse_openstack(const char *json, size_t len, const char *source,
			struct node_config *cfg, struct cfg_diag *diag)
{
	struct net_parse p;
	struct os_net o = { .p = &p };
	struct cfg_arena a = { 0 };
	struct cfg_node *root;
	net_parse_init(&p, diag, source, "network_data.json");
	int rc = net_load(&p, json, len, 0, &a, &root);
	if (rc == 0 && root)
		os_apply(&o, root);
	rc = net_parse_done(&p, rc, cfg);
	cfg_arena_free(&a);
	return rc;
}
