/* libFuzzer driver for the network configuration parsers: the same bytes go to the
 * OpenStack network_data.json parser and to the NoCloud network-config parser. Each either
 * fails leaving an earlier network section byte for byte as it was, or yields links that
 * cabind can use: within the limits, matchable, with valid families, prefixes and routes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../init/config.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static int printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n == max)
		return 0;	/* not terminated */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int bits(int family)
{
	CHECK(family == AF_INET || family == AF_INET6);
	return family == AF_INET ? 32 : 128;
}

static void check_route(const struct netcfg_route *r)
{
	int n = bits(r->family);
	CHECK(r->prefix >= 0 && r->prefix <= n);
	for (int i = r->prefix; i < 128; i++)
		CHECK(!(r->dst[i / 8] & (0x80 >> (i % 8))));	/* no host bits, nothing past */
	for (int i = n / 8; r->has_gw && i < 16; i++)
		CHECK(r->gw[i] == 0);
}

static void check_link(const struct net_config *n, size_t k)
{
	const struct netcfg_link *l = &n->links[k];
	CHECK(printable(l->id, sizeof(l->id)) && l->id[0]);
	CHECK(printable(l->name, sizeof(l->name)) && printable(l->path, sizeof(l->path)));
	CHECK(l->has_mac || l->name[0]);	/* cabind must be able to find it */
	CHECK(l->mtu == 0 || (l->mtu >= 68 && l->mtu <= 65535));
	CHECK(l->line > 0);
	CHECK(l->n_addrs <= NETCFG_ADDRS_MAX && l->n_routes <= NETCFG_ROUTES_MAX);
	for (size_t i = 0; i < l->n_addrs; i++)
		CHECK(l->addrs[i].prefix >= 0 && l->addrs[i].prefix <= bits(l->addrs[i].family));
	for (size_t i = 0; i < l->n_routes; i++)
		check_route(&l->routes[i]);
	for (size_t i = 0; i < k; i++)
		CHECK(strcmp(n->links[i].id, l->id) != 0);
}

static void check_net(const struct net_config *n)
{
	CHECK(printable(n->source, sizeof(n->source)) && n->source[0]);
	CHECK(n->n_links <= NETCFG_LINKS_MAX && n->n_dns <= NETCFG_DNS_MAX);
	CHECK(n->n_search <= NETCFG_SEARCH_MAX);
	for (size_t i = 0; i < n->n_links; i++)
		check_link(n, i);
	for (size_t i = 0; i < n->n_dns; i++)
		bits(n->dns[i].family);
	for (size_t i = 0; i < n->n_search; i++)
		CHECK(printable(n->search[i], sizeof(n->search[i])) && n->search[i][0]);
}

typedef int (*parse_fn)(const char *, size_t, const char *, struct node_config *,
			struct cfg_diag *);

static void one(parse_fn parse, const uint8_t *data, size_t size)
{
	static const char before[] = "version: 2\nethernets: {pre0: {dhcp4: true}}\n";
	static struct node_config cfg;
	static struct net_config saved;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	CHECK(net_parse_nocloud(before, sizeof(before) - 1, "before", &cfg, &d) == 0);
	saved = cfg.net;
	int rc = parse((const char *)data, size, NULL, &cfg, &d);
	CHECK(rc == 0 || rc == CFG_ESYNTAX || rc == CFG_EINVALID || rc == CFG_ETOOBIG ||
	      rc == -ENOMEM);
	if (rc != 0) {
		CHECK(memcmp(&saved, &cfg.net, sizeof(saved)) == 0);
		CHECK(rc == -ENOMEM || d.errors > 0);
	} else {
		CHECK(d.errors == 0);
		check_net(&cfg.net);
	}
	for (size_t i = 0; i < d.n; i++)
		CHECK(printable(d.msg[i].text, sizeof(d.msg[i].text)) &&
		      printable(d.msg[i].path, sizeof(d.msg[i].path)));
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		node_config_dump(f, &cfg);
		fclose(f);
	}
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(net_parse_openstack, data, size);
	one(net_parse_nocloud, data, size);
	return 0;
}
