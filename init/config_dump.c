/* A deterministic text form of struct node_config, one "key: value" line per setting, for
 * golden tests and cabind's debug log. Strings are escaped: nothing from user data reaches
 * a console or log as a control character. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"
#include "inflate.h"

#define CONTENT_SHOWN 256

static void put_escaped(FILE *f, const void *data, size_t len)
{
	const unsigned char *p = data;
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = p[i];
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_str(FILE *f, const char *key, const char *s)
{
	if (s && *s) {
		fprintf(f, "%s: ", key);
		put_escaped(f, s, strlen(s));
		fputc('\n', f);
	}
}

static void put_list(FILE *f, const char *key, const struct cfg_strlist *l)
{
	if (!l->n)
		return;
	fprintf(f, "%s:", key);
	for (size_t i = 0; i < l->n; i++) {
		fputc(' ', f);
		put_escaped(f, l->v[i], strlen(l->v[i]));
	}
	fputc('\n', f);
}

static void put_tristate(FILE *f, const char *key, int v)
{
	if (v >= 0)
		fprintf(f, "%s: %s\n", key, v ? "true" : "false");
}

static void dump_files(FILE *f, const struct node_config *cfg)
{
	for (size_t i = 0; i < cfg->n_files; i++) {
		const struct cfg_file *wf = &cfg->files[i];
		fprintf(f, "write_files[%zu]: path=", i);
		put_escaped(f, wf->path, strlen(wf->path));
		fprintf(f, " mode=%#o append=%s bytes=%zu crc32=%08x\n", wf->mode,
			wf->append ? "true" : "false", wf->len,
			(unsigned)inflate_crc32(0, wf->content, wf->len));
		if (wf->len) {
			fprintf(f, "write_files[%zu].content: ", i);
			put_escaped(f, wf->content, wf->len < CONTENT_SHOWN ? wf->len : CONTENT_SHOWN);
			fputs(wf->len > CONTENT_SHOWN ? "...\n" : "\n", f);
		}
	}
}

static const char *backend_name(enum cabin_backend b)
{
	switch (b) {
	case CABIN_BACKEND_VXLAN: return "vxlan";
	case CABIN_BACKEND_HOST_GW: return "host-gw";
	case CABIN_BACKEND_UDP: return "udp";
	case CABIN_BACKEND_UNSET: break;
	}
	return "";
}

static void put_pem(FILE *f, const char *key, const char *pem)
{
	if (pem)
		fprintf(f, "%s: %zu bytes crc32=%08x\n", key, strlen(pem),
			(unsigned)inflate_crc32(0, pem, strlen(pem)));
}

static void dump_cabin(FILE *f, const struct cabin_config *c)
{
	if (!c->present)
		return;
	fputs("cabin: present\n", f);
	put_str(f, "cabin.cluster", c->cluster);
	for (size_t i = 0; i < c->n_members; i++) {
		const struct cabin_member *m = &c->members[i];
		fprintf(f, "cabin.members[%zu]: name=%s peer_url=%s", i, m->name, m->peer_url);
		if (m->client_url[0])
			fprintf(f, " client_url=%s", m->client_url);
		fputc('\n', f);
	}
	put_str(f, "cabin.kv.listen", c->kv.listen);
	if (c->kv.client_port)
		fprintf(f, "cabin.kv.client_port: %d\n", c->kv.client_port);
	if (c->kv.peer_port)
		fprintf(f, "cabin.kv.peer_port: %d\n", c->kv.peer_port);
	put_list(f, "cabin.kv.external", &c->kv.external);
	if (c->kv.snapshot_count)
		fprintf(f, "cabin.kv.snapshot_count: %lld\n", (long long)c->kv.snapshot_count);
	if (c->kv.quota_backend_bytes >= 0)
		fprintf(f, "cabin.kv.quota_backend_bytes: %lld\n",
			(long long)c->kv.quota_backend_bytes);
	if (c->overlay.prefix_len >= 0)
		fprintf(f, "cabin.overlay.network: %s (%08x/%d)\n", c->overlay.network,
			(unsigned)c->overlay.addr, c->overlay.prefix_len);
	if (c->overlay.subnet_len)
		fprintf(f, "cabin.overlay.subnet_len: %d\n", c->overlay.subnet_len);
	put_str(f, "cabin.overlay.backend", backend_name(c->overlay.backend));
	put_str(f, "cabin.docker.endpoint", c->docker.endpoint);
	put_pem(f, "cabin.docker.tls_ca", c->docker.tls_ca);
	put_pem(f, "cabin.docker.tls_cert", c->docker.tls_cert);
	put_pem(f, "cabin.docker.tls_key", c->docker.tls_key);
	for (size_t i = 0; i < c->n_labels; i++) {
		fputs("cabin.labels: ", f);
		put_escaped(f, c->labels[i].key, strlen(c->labels[i].key));
		fputs(" = ", f);
		put_escaped(f, c->labels[i].value, strlen(c->labels[i].value));
		fputc('\n', f);
	}
}

static void put_ip(FILE *f, int family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];
	if (family != AF_INET && family != AF_INET6)
		fprintf(f, "family-%d", family);
	else if (inet_ntop(family, addr, buf, sizeof(buf)))
		fputs(buf, f);
}

static void put_route(FILE *f, const struct netcfg_route *r)
{
	put_ip(f, r->family, r->dst);
	fprintf(f, "/%d", r->prefix);
	if (r->has_gw) {
		fputs(" via ", f);
		put_ip(f, r->family, r->gw);
	}
	if (r->metric)
		fprintf(f, " metric %u", (unsigned)r->metric);
	fputc('\n', f);
}

static void dump_link(FILE *f, size_t i, const struct netcfg_link *l)
{
	fprintf(f, "net.links[%zu]: id=", i);
	put_escaped(f, l->id, strlen(l->id));
	fputs(" at=", f);
	put_escaped(f, l->path, strlen(l->path));
	fprintf(f, ":%u", l->line);
	if (l->name[0]) {
		fputs(" name=", f);
		put_escaped(f, l->name, strlen(l->name));
	}
	if (l->has_mac)
		fprintf(f, " mac=%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2],
			l->mac[3], l->mac[4], l->mac[5]);
	if (l->mtu)
		fprintf(f, " mtu=%u", l->mtu);
	if (l->dhcp4)
		fputs(" dhcp4", f);
	if (l->ipv6_auto)
		fputs(" ipv6_auto", f);
	fputc('\n', f);
	for (size_t j = 0; j < l->n_addrs; j++) {
		fprintf(f, "net.links[%zu].addrs[%zu]: ", i, j);
		put_ip(f, l->addrs[j].family, l->addrs[j].addr);
		fprintf(f, "/%d\n", l->addrs[j].prefix);
	}
	for (size_t j = 0; j < l->n_routes; j++) {
		fprintf(f, "net.links[%zu].routes[%zu]: ", i, j);
		put_route(f, &l->routes[j]);
	}
}

/* The network section when a source gave one: links in order, then name servers and
 * search domains. */
static void dump_net(FILE *f, const struct net_config *n)
{
	if (!n->present)
		return;
	fputs("net.source: ", f);
	put_escaped(f, n->source, strlen(n->source));
	fputc('\n', f);
	for (size_t i = 0; i < n->n_links; i++)
		dump_link(f, i, &n->links[i]);
	if (n->n_dns) {
		fputs("net.dns:", f);
		for (size_t i = 0; i < n->n_dns; i++) {
			fputc(' ', f);
			put_ip(f, n->dns[i].family, n->dns[i].addr);
		}
		fputc('\n', f);
	}
	if (n->n_search) {
		fputs("net.search:", f);
		for (size_t i = 0; i < n->n_search; i++) {
			fputc(' ', f);
			put_escaped(f, n->search[i], strlen(n->search[i]));
		}
		fputc('\n', f);
	}
}

void node_config_dump(FILE *f, const struct node_config *cfg)
{
	put_str(f, "hostname", cfg->hostname);
	put_str(f, "fqdn", cfg->fqdn);
	put_str(f, "instance_id", cfg->instance_id);
	put_str(f, "instance_name", cfg->instance_name);
	put_str(f, "availability_zone", cfg->availability_zone);
	put_str(f, "timezone", cfg->timezone);
	dump_files(f, cfg);
	put_tristate(f, "manage_resolv_conf", cfg->resolv.manage);
	put_list(f, "resolv_conf.nameservers", &cfg->resolv.nameservers);
	put_list(f, "resolv_conf.searchdomains", &cfg->resolv.search);
	put_str(f, "resolv_conf.domain", cfg->resolv.domain);
	put_list(f, "resolv_conf.options", &cfg->resolv.options);
	put_tristate(f, "ntp.enabled", cfg->ntp.enabled);
	put_list(f, "ntp.servers", &cfg->ntp.servers);
	put_list(f, "ntp.pools", &cfg->ntp.pools);
	dump_cabin(f, &cfg->cabin);
	dump_net(f, &cfg->net);
}
