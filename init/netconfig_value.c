/* Values of the network configuration parsers: MAC addresses, interface names, MTUs, IP
 * addresses with their prefix length or netmask, and routes, each checked and turned into
 * the binary form of struct net_config, or an error naming the key path. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int net_get_mac(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		uint8_t mac[6])
{
	char s[CFG_TEXT_MAX + 1];
	if (cfg_get_str(w, v, path, s, sizeof(s), 0))
		return 1;
	for (int i = 0; i < 6; i++) {
		const char *h = s + 3 * i;
		int hi = hexval((unsigned char)h[0]), lo = hi < 0 ? -1 : hexval((unsigned char)h[1]);
		if (lo < 0 || h[2] != (i < 5 ? ':' : '\0')) {
			cfg_werr(w, v->line, path, "\"%s\": not a MAC address (like "
				 "52:54:00:12:34:56)", s);
			return 1;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int net_get_ifname(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		   char name[16])
{
	char s[64];
	if (cfg_get_str(w, v, path, s, sizeof(s), 0))
		return 1;
	if (strlen(s) > 15 || strpbrk(s, "/: ") || !strcmp(s, ".") || !strcmp(s, "..")) {
		cfg_werr(w, v->line, path, "\"%s\": not an interface name (1-15 characters, "
			 "no '/', ':' or spaces)", s);
		return 1;
	}
	strcpy(name, s);
	return 0;
}

int net_get_mtu(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		unsigned *mtu)
{
	int64_t m = 0;
	if (v->type != CFG_T_NULL && cfg_get_int(w, v, path, 68, 65535, &m))
		return 1;
	*mtu = (unsigned)m;
	return 0;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "an IPv4 address" : family == AF_INET6 ?
	       "an IPv6 address" : "an IP address";
}

/* s as an address literal of family (0: either); the family found, or 0. */
static int parse_ip(const char *s, int family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (family != AF_INET6 && inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (family != AF_INET && inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

int net_get_ip(struct cfg_walk *w, const struct cfg_node *v, const char *path, int family,
	       int *fam, uint8_t addr[16])
{
	char s[64];
	if (cfg_get_str(w, v, path, s, sizeof(s), 0))
		return 1;
	if (!(*fam = parse_ip(s, family, addr))) {
		cfg_werr(w, v->line, path, "\"%s\": not %s", s, family_name(family));
		return 1;
	}
	return 0;
}

/* A prefix length 0-max in decimal without sign or leading zeros; -1 when it is not. */
static int parse_prefix(const char *s, int max)
{
	int v = 0;
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= max ? v : -1;
}

static int bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The prefix length of a contiguous mask, or -1. */
static int mask_prefix(const uint8_t *m, int nbytes)
{
	int n = 0, i = 0;
	for (; i < nbytes && m[i] == 0xff; i++)
		n += 8;
	if (i < nbytes) {
		uint8_t b = m[i++];
		for (; b & 0x80; b = (uint8_t)(b << 1))
			n++;
		if (b)
			return -1;
	}
	for (; i < nbytes; i++)
		if (m[i])
			return -1;
	return n;
}

/* A netmask (dotted, or an IPv6 mask), or a prefix length as string or integer. */
static int get_mask(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		    int family, int *prefix)
{
	char s[64];
	uint8_t m[16];
	int max = bits(family), n = -1;
	if (v->type == CFG_T_INT) {
		if (!v->overflow && v->i >= 0 && v->i <= max)
			n = (int)v->i;
		else
			cfg_werr(w, v->line, path, "%s: not a prefix length (0-%d)", v->str, max);
		*prefix = n;
		return n < 0;
	}
	if (cfg_get_str(w, v, path, s, sizeof(s), 0))
		return 1;
	const char *digits = s[0] == '/' ? s + 1 : s;
	if (strspn(digits, "0123456789") == strlen(digits))
		n = parse_prefix(digits, max);
	else if (parse_ip(s, family, m))
		n = mask_prefix(m, max / 8);
	if (n < 0) {
		cfg_werr(w, v->line, path, "\"%s\": not a netmask or prefix length (0-%d)", s, max);
		return 1;
	}
	*prefix = n;
	return 0;
}

/* "addr[/prefix]" of family (0: either) into out; prefix -1 when not given. */
static int get_cidr(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		    int family, struct netcfg_addr *out)
{
	char s[64];
	if (cfg_get_str(w, v, path, s, sizeof(s), 0))
		return 1;
	char *slash = strchr(s, '/');
	if (slash)
		*slash = '\0';
	out->family = parse_ip(s, family, out->addr);
	out->prefix = -1;
	if (!out->family) {
		cfg_werr(w, v->line, path, "\"%s\": not %s", s, family_name(family));
		return 1;
	}
	if (slash && (out->prefix = parse_prefix(slash + 1, bits(out->family))) < 0) {
		cfg_werr(w, v->line, path, "\"%s/%s\": prefix length is not 0-%d", s, slash + 1,
			 bits(out->family));
		return 1;
	}
	return 0;
}

/* Combines the prefix of an address with a mask node; -1 when neither gives one. */
static int with_mask(struct cfg_walk *w, struct netcfg_addr *a, const struct cfg_node *mask,
		     const char *mask_path)
{
	int m;
	if (!mask || mask->type == CFG_T_NULL)
		return 0;
	if (get_mask(w, mask, mask_path, a->family, &m))
		return 1;
	if (a->prefix >= 0 && a->prefix != m) {
		int q = mask->type == CFG_T_STR;
		cfg_werr(w, mask->line, mask_path, "%s%s%s is /%d, but the address says /%d",
			 q ? "\"" : "", mask->str, q ? "\"" : "", m, a->prefix);
		return 1;
	}
	a->prefix = m;
	return 0;
}

int net_get_addr(struct cfg_walk *w, const struct cfg_node *v, const char *path,
		 const struct cfg_node *mask, const char *mask_path, int family,
		 struct netcfg_addr *out)
{
	if (get_cidr(w, v, path, family, out) || with_mask(w, out, mask, mask_path))
		return 1;
	if (out->prefix < 0) {
		cfg_werr(w, v->line, path, "\"%s\": no prefix length (give address/prefix%s)",
			 v->str, mask_path ? " or a netmask" : "");
		return 1;
	}
	return 0;
}

static int host_bits_set(const struct netcfg_addr *a)
{
	for (int i = a->prefix; i < bits(a->family); i++)
		if (a->addr[i / 8] & (0x80 >> (i % 8)))
			return 1;
	return 0;
}

static int route_dst(struct cfg_walk *w, const char *path, const struct net_route_keys *k,
		     int family, struct netcfg_addr *d)
{
	char dpath[CFG_PATH_MAX + 1], mpath[CFG_PATH_MAX + 1];
	cfg_path_key(dpath, path, k->dst_key);
	cfg_path_key(mpath, path, k->mask_key ? k->mask_key : "");
	if (k->dst->type == CFG_T_STR && strcmp(k->dst->str, "default") == 0) {
		memset(d, 0, sizeof(*d));
		d->family = family;
		return 0;
	}
	if (get_cidr(w, k->dst, dpath, family, d) || with_mask(w, d, k->mask, mpath))
		return 1;
	if (d->prefix < 0)
		d->prefix = bits(d->family);
	if (host_bits_set(d)) {
		char given[INET6_ADDRSTRLEN], meant[INET6_ADDRSTRLEN];
		inet_ntop(d->family, d->addr, given, sizeof(given));
		for (int i = d->prefix; i < bits(d->family); i++)
			d->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		inet_ntop(d->family, d->addr, meant, sizeof(meant));
		cfg_werr(w, k->dst->line, dpath, "%s/%d: host bits set (the network is %s/%d)",
			 given, d->prefix, meant, d->prefix);
		return 1;
	}
	return 0;
}

int net_get_route(struct cfg_walk *w, const char *path, unsigned line,
		  const struct net_route_keys *k, int family, struct netcfg_route *out)
{
	char kpath[CFG_PATH_MAX + 1];
	struct netcfg_addr d;
	int fam = 0, bad = 0;
	uint8_t zero[16] = { 0 };
	memset(out, 0, sizeof(*out));
	if (!k->dst || k->dst->type == CFG_T_NULL) {
		cfg_path_key(kpath, path, k->dst_key);
		cfg_werr(w, line, kpath, "missing");
		return 1;
	}
	if (route_dst(w, path, k, family, &d))
		return 1;
	if (k->via && k->via->type != CFG_T_NULL) {
		cfg_path_key(kpath, path, k->via_key);
		if (net_get_ip(w, k->via, kpath, d.family, &fam, out->gw))
			return 1;
		out->has_gw = memcmp(out->gw, zero, 16) != 0;
	}
	if (!d.family && !(d.family = fam)) {
		cfg_path_key(kpath, path, k->dst_key);
		cfg_werr(w, k->dst->line, kpath, "\"default\" needs %s", k->via_key);
		return 1;
	}
	if (k->metric && k->metric->type != CFG_T_NULL) {
		int64_t m;
		cfg_path_key(kpath, path, k->metric_key);
		bad = cfg_get_int(w, k->metric, kpath, 0, UINT32_MAX, &m);
		out->metric = bad ? 0 : (uint32_t)m;
	}
	out->family = d.family;
	memcpy(out->dst, d.addr, 16);
	out->prefix = d.prefix;
	return bad;
}
