/* Network configuration: OpenStack network_data.json and NoCloud network-config as golden
 * files (testdata/netopenstack, testdata/netnocloud, each also run with failing
 * allocations), the first error of bad inputs, the limits, and all-or-nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../../init/config.h"
#include "../testutil.h"
#include "cfgtest.h"

typedef int (*parse_fn)(const char *, size_t, const char *, struct node_config *,
			struct cfg_diag *);

static void test_golden_openstack(void)
{
	int cases;
	TU_EQ_INT(cfgtest_golden("tests/unit/init/testdata/netopenstack", "network_data.json",
				 net_parse_openstack, &cases), 0);
	TU_CHECK(cases >= 15);
}

static void test_golden_nocloud(void)
{
	int cases;
	TU_EQ_INT(cfgtest_golden("tests/unit/init/testdata/netnocloud", "network-config",
				 net_parse_nocloud, &cases), 0);
	TU_CHECK(cases >= 25);
}

/* Parses text and returns its first error as cfg_msg_format writes it ("" when none). */
static const char *first_error(parse_fn fn, const char *text, int *rc)
{
	static char buf[512];
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	*rc = fn(text, strlen(text), NULL, &cfg, &d);
	const struct cfg_msg *m = cfg_diag_first_error(&d);
	buf[0] = '\0';
	if (m)
		cfg_msg_format(m, buf, sizeof(buf));
	if (*rc != 0 && cfg.net.present)
		strcpy(buf, "net set on failure");
	node_config_free(&cfg);
	cfg_diag_free(&d);
	return buf;
}

static const struct {
	parse_fn fn;
	const char *text, *want;
	int rc;
} bad[] = {
	{ net_parse_openstack, "{\"links\": [\n{\"id\": \"a\", \"type\": \"phy\",\n"
	  "\"ethernet_mac_address\": \"52:54:00:zz:34:56\"}]}",
	  "network_data.json:3: links[0].ethernet_mac_address: \"52:54:00:zz:34:56\": not a "
	  "MAC address (like 52:54:00:12:34:56)", CFG_EINVALID },
	{ net_parse_openstack, "{\"links\": [{\"id\": \"a\", \"ethernet_mac_address\": "
	  "\"52:54:00:12:34:56\"}],\n \"networks\": [{\"link\": \"b\", \"type\": \"ipv4_dhcp\"}]}",
	  "network_data.json:2: networks[0].link: \"b\": no link has this id", CFG_EINVALID },
	{ net_parse_openstack, "{\"links\": [{\"id\": \"a\", \"ethernet_mac_address\": "
	  "\"52:54:00:12:34:56\"}],\n \"networks\": [{\"link\": \"a\", \"type\": \"ipv4\",\n"
	  "  \"ip_address\": \"10.0.0.300\", \"netmask\": \"255.255.255.0\"}]}",
	  "network_data.json:3: networks[0].ip_address: \"10.0.0.300\": not an IPv4 address",
	  CFG_EINVALID },
	{ net_parse_openstack, "{\"links\": [{\"id\": \"a\", \"ethernet_mac_address\": "
	  "\"52:54:00:12:34:56\"}],\n \"networks\": [{\"link\": \"a\", \"type\": \"ipv6\",\n"
	  "  \"ip_address\": \"2001:db8::5\", \"netmask\": \"ffff:0:ffff::\"}]}",
	  "network_data.json:3: networks[0].netmask: \"ffff:0:ffff::\": not a netmask or prefix "
	  "length (0-128)", CFG_EINVALID },
	{ net_parse_openstack, "{\"links\": [{\"id\": \"a\",\n \"ethernet_mac_address\": "
	  "\"52:54:00:12:34:56\"}],\n \"networks\": [{\"link\": \"a\", \"type\": \"ipv4\",\n"
	  "  \"ip_address\": \"10.0.0.5/33\"}]}",
	  "network_data.json:4: networks[0].ip_address: \"10.0.0.5/33\": prefix length is not "
	  "0-32", CFG_EINVALID },
	{ net_parse_openstack, "{\"links\": [\n{\"id\": \"a\", \"type\": \"phy\"\n \"mtu\": 1500}]}",
	  "network_data.json:3:2: JSON: unexpected '\"'", CFG_ESYNTAX },
	{ net_parse_nocloud, "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: "
	  "\"52-54-00-12-34-56\"\n",
	  "network-config:5: ethernets.eth0.match.macaddress: \"52-54-00-12-34-56\": not a MAC "
	  "address (like 52:54:00:12:34:56)", CFG_EINVALID },
	{ net_parse_nocloud, "version: 1\nconfig:\n  - type: physical\n    name: eth0\n"
	  "    subnets:\n      - type: static\n        address: 10.0.0.5/24\n"
	  "        gateway: 2001:db8::1\n",
	  "network-config:8: config[0].subnets[0].gateway: \"2001:db8::1\": not an IPv4 address",
	  CFG_EINVALID },
	{ net_parse_nocloud, "network:\n  version: 3\n  config: []\n",
	  "network-config:2: network.version: 3: not a version cabin knows (1 or 2)",
	  CFG_EINVALID },
	{ net_parse_nocloud, "ethernets:\n  eth0: {dhcp4: true}\n",
	  "network-config:1: version: missing (1 or 2)", CFG_EINVALID },
	{ net_parse_nocloud, "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n   mtu: 9000\n",
	  "network-config:5:4: YAML: did not find expected key (while parsing a block mapping "
	  "at line 3)", CFG_ESYNTAX },
	{ net_parse_nocloud, "version: 2\nethernets:\n  eth0:\n    routes:\n      - to: "
	  "10.1.0.0/16\n        via: 10.0.0.1\n      - to: 10.2.0.1/16\n        via: 10.0.0.1\n",
	  "network-config:7: ethernets.eth0.routes[1].to: 10.2.0.1/16: host bits set (the "
	  "network is 10.2.0.0/16)",
	  CFG_EINVALID },
};

static void test_first_error(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc;
		const char *got = first_error(bad[i].fn, bad[i].text, &rc);
		if (strcmp(got, bad[i].want) != 0 || rc != bad[i].rc)
			fprintf(stderr, "case %zu: rc %d, first error\n  got:  %s\n  want: %s\n", i,
				rc, got, bad[i].want);
		TU_EQ_STR(got, bad[i].want);
		TU_EQ_INT(rc, bad[i].rc);
	}
}

/* A document with n entries made by fmt (which takes the index twice). */
static char *repeat(const char *head, const char *fmt, const char *sep, int n,
		    const char *tail)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fputs(head, f);
	for (int i = 0; i < n; i++) {
		fputs(i ? sep : "", f);
		fprintf(f, fmt, i, i);
	}
	fputs(tail, f);
	fclose(f);
	return buf;
}

/* One past each limit is an error naming the limit; at the limit all is kept. */
static void test_limits(void)
{
	static const struct {
		parse_fn fn;
		const char *head, *fmt, *sep, *tail, *want;
		int max;
	} cases[] = {
		{ net_parse_openstack, "{\"links\": [\n",
		  "{\"id\": \"l%d\", \"ethernet_mac_address\": \"52:54:00:00:00:%02x\"}", ",\n",
		  "]}", "network_data.json:18: links[16]: more than 16 links", NETCFG_LINKS_MAX },
		{ net_parse_nocloud, "version: 2\nethernets:\n  eth0:\n    addresses:\n",
		  "      - 10.0.%d.%d/24\n", "", "", "network-config:13: "
		  "ethernets.eth0.addresses[8]: more than 8 addresses on eth0", NETCFG_ADDRS_MAX },
		{ net_parse_nocloud, "version: 2\nethernets:\n  eth0:\n    routes:\n",
		  "      - {to: 10.%d.%d.0/24, via: 192.168.0.1}\n", "", "", "network-config:21: "
		  "ethernets.eth0.routes[16]: more than 16 routes on eth0", NETCFG_ROUTES_MAX },
		{ net_parse_nocloud, "version: 1\nconfig:\n  - type: nameserver\n    address:\n",
		  "      - 10.0.%d.%d\n", "", "", "network-config:13: config[0].address[8]: "
		  "more than 8 name servers", NETCFG_DNS_MAX },
		{ net_parse_nocloud, "{\"version\": 2, \"ethernets\": {\"eth0\": {\"nameservers\":\n"
		  "{\"search\": [\n", "\"d%d.example%d.org\"", ",\n", "]}}}}", "network-config:9: "
		  "ethernets.eth0.nameservers.search[6]: more than 6 search domains",
		  NETCFG_SEARCH_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc;
		char *at = repeat(cases[i].head, cases[i].fmt, cases[i].sep, cases[i].max,
				  cases[i].tail);
		char *over = repeat(cases[i].head, cases[i].fmt, cases[i].sep, cases[i].max + 3,
				    cases[i].tail);
		TU_EQ_STR(first_error(cases[i].fn, at, &rc), "");
		TU_EQ_INT(rc, 0);
		TU_EQ_STR(first_error(cases[i].fn, over, &rc), cases[i].want);
		TU_EQ_INT(rc, CFG_EINVALID);
		struct cfg_diag d;
		struct node_config cfg;
		node_config_init(&cfg);
		cfg_diag_init(&d);
		cases[i].fn(over, strlen(over), NULL, &cfg, &d);
		TU_EQ_INT(d.errors, 1);	/* reported once, not for every entry past it */
		node_config_free(&cfg);
		cfg_diag_free(&d);
		free(at);
		free(over);
	}
}

static char *dump(const struct node_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	node_config_dump(f, cfg);
	fclose(f);
	return buf;
}

/* A failed parse leaves the earlier network configuration exactly as it was; a good one
 * replaces it whole, not link by link. */
static void test_all_or_nothing(void)
{
	static const char good[] = "{\"links\": [{\"id\": \"tap0\", \"ethernet_mac_address\": "
		"\"fa:16:3e:00:00:01\"}], \"networks\": [{\"link\": \"tap0\", \"type\": "
		"\"ipv4_dhcp\"}], \"services\": [{\"type\": \"dns\", \"address\": \"10.0.0.2\"}]}";
	static const char late_error[] = "version: 1\nconfig:\n  - type: physical\n"
		"    name: eth0\n    subnets: [{type: dhcp}]\n  - type: nameserver\n"
		"    address: [10.9.9.9]\n  - type: physical\n    name: eth1\n    mtu: 9\n";
	static const char other[] = "version: 2\nethernets: {eth7: {dhcp6: true}}\n";
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(net_parse_openstack(good, sizeof(good) - 1, NULL, &cfg, &d), 0);
	char *before = dump(&cfg);
	TU_CHECK(strstr(before, "net.links[0]: id=\"tap0\"") != NULL);
	TU_EQ_INT(net_parse_nocloud(late_error, sizeof(late_error) - 1, NULL, &cfg, &d),
		  CFG_EINVALID);
	char *after = dump(&cfg);
	TU_EQ_STR(after, before);
	TU_EQ_INT(net_parse_nocloud("", 0, NULL, &cfg, &d), 0);	/* empty: nothing said */
	free(after);
	after = dump(&cfg);
	TU_EQ_STR(after, before);
	TU_EQ_INT(net_parse_nocloud(other, sizeof(other) - 1, "seed", &cfg, &d), 0);
	TU_EQ_STR(cfg.net.source, "seed");
	TU_EQ_INT(cfg.net.n_links, 1);
	TU_EQ_STR(cfg.net.links[0].name, "eth7");
	TU_EQ_INT(cfg.net.n_dns, 0);
	TU_EQ_INT(cfg.net.links[0].ipv6_auto, 1);
	TU_EQ_INT(cfg.net.links[0].dhcp4, 0);
	free(before);
	free(after);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

/* Fields the consumer relies on, read directly rather than through the dump. */
static void test_fields(void)
{
	static const char v2[] = "network:\n  version: 2\n  ethernets:\n    lan:\n"
		"      match: {macaddress: 'AA:bb:0C:dd:EE:0f'}\n      addresses: [192.0.2.7/24]\n"
		"      gateway6: 'fe80::1'\n      routes: [{to: 198.51.100.0/24, via: 192.0.2.1, "
		"metric: 4294967295}]\n";
	static const uint8_t mac[6] = { 0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f };
	static const uint8_t a4[4] = { 192, 0, 2, 7 }, dst[4] = { 198, 51, 100, 0 };
	static const uint8_t ll[16] = { 0xfe, 0x80, [15] = 1 };
	struct node_config cfg;
	struct cfg_diag d;
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(net_parse_nocloud(v2, sizeof(v2) - 1, NULL, &cfg, &d), 0);
	const struct netcfg_link *l = &cfg.net.links[0];
	TU_EQ_INT(cfg.net.present, 1);
	TU_EQ_STR(cfg.net.source, "network-config");
	TU_EQ_STR(l->id, "lan");
	TU_EQ_STR(l->name, "");
	TU_EQ_STR(l->path, "network.ethernets.lan");
	TU_EQ_INT(l->line, 4);
	TU_CHECK(l->has_mac && memcmp(l->mac, mac, 6) == 0);
	TU_EQ_INT(l->n_addrs, 1);
	TU_EQ_INT(l->addrs[0].family, AF_INET);
	TU_CHECK(memcmp(l->addrs[0].addr, a4, 4) == 0);
	TU_EQ_INT(l->addrs[0].prefix, 24);
	TU_EQ_INT(l->n_routes, 2);
	TU_EQ_INT(l->routes[0].family, AF_INET6);
	TU_EQ_INT(l->routes[0].prefix, 0);
	TU_CHECK(l->routes[0].has_gw && memcmp(l->routes[0].gw, ll, 16) == 0);
	TU_CHECK(memcmp(l->routes[1].dst, dst, 4) == 0);
	TU_EQ_INT(l->routes[1].prefix, 24);
	TU_EQ_INT(l->routes[1].metric, 4294967295u);
	node_config_free(&cfg);
	cfg_diag_free(&d);
}

static void test_too_big(void)
{
	size_t n = CFG_META_MAX + 1;
	char *big = malloc(n);
	struct node_config cfg;
	struct cfg_diag d;
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	node_config_init(&cfg);
	cfg_diag_init(&d);
	TU_EQ_INT(net_parse_openstack(big, n, NULL, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_INT(net_parse_nocloud(big, n, NULL, &cfg, &d), CFG_ETOOBIG);
	TU_EQ_INT(d.errors, 2);
	TU_EQ_INT(cfg.net.present, 0);
	node_config_free(&cfg);
	cfg_diag_free(&d);
	free(big);
}

int main(void)
{
	TU_RUN(test_golden_openstack);
	TU_RUN(test_golden_nocloud);
	TU_RUN(test_first_error);
	TU_RUN(test_limits);
	TU_RUN(test_all_or_nothing);
	TU_RUN(test_fields);
	TU_RUN(test_too_big);
	return TU_EXIT();
}
